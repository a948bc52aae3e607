//! Taints and tolerations, matched as the Kubernetes scheduler and Karpenter match them.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

impl std::str::FromStr for TaintEffect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "NoSchedule" => Ok(TaintEffect::NoSchedule),
            "PreferNoSchedule" => Ok(TaintEffect::PreferNoSchedule),
            "NoExecute" => Ok(TaintEffect::NoExecute),
            other => Err(format!("unknown effect {other:?}: use NoSchedule, PreferNoSchedule or NoExecute")),
        }
    }
}

impl fmt::Display for TaintEffect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A node taint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Taint {
    pub key: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    pub effect: TaintEffect,
}

impl fmt::Display for Taint {
    /// `gpu=true:NoSchedule`, or `dedicated:NoSchedule` without a value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() {
            write!(f, "{}:{}", self.key, self.effect)
        } else {
            write!(f, "{}={}:{}", self.key, self.value, self.effect)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub enum TolerationOperator {
    #[default]
    Equal,
    Exists,
}

/// A pod toleration. An empty key with `Exists` tolerates every taint; an absent effect
/// matches every effect.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Toleration {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    #[serde(default)]
    pub operator: TolerationOperator,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<TaintEffect>,
}

impl Toleration {
    /// Kubernetes' `ToleratesTaint`.
    pub fn tolerates(&self, taint: &Taint) -> bool {
        if self.effect.is_some_and(|e| e != taint.effect) {
            return false;
        }
        if !self.key.is_empty() && self.key != taint.key {
            return false;
        }
        match self.operator {
            TolerationOperator::Exists => true,
            TolerationOperator::Equal => self.value == taint.value,
        }
    }

    /// Tolerates every `PreferNoSchedule` taint: the last relaxation step of Karpenter.
    pub fn prefer_no_schedule() -> Self {
        Toleration {
            key: String::new(),
            operator: TolerationOperator::Exists,
            value: String::new(),
            effect: Some(TaintEffect::PreferNoSchedule),
        }
    }
}

/// The first taint that none of the tolerations tolerates. Like Karpenter, every effect
/// counts, `PreferNoSchedule` included (it is relaxed later by adding a toleration).
pub fn first_untolerated<'a>(taints: &'a [Taint], tolerations: &[Toleration]) -> Option<&'a Taint> {
    taints.iter().find(|taint| !tolerations.iter().any(|t| t.tolerates(taint)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint(key: &str, value: &str, effect: TaintEffect) -> Taint {
        Taint { key: key.into(), value: value.into(), effect }
    }

    fn tol(key: &str, op: TolerationOperator, value: &str, effect: Option<TaintEffect>) -> Toleration {
        Toleration { key: key.into(), operator: op, value: value.into(), effect }
    }

    #[test]
    fn matching_rules() {
        use TaintEffect::*;
        use TolerationOperator::*;
        let gpu = taint("gpu", "true", NoSchedule);
        assert!(tol("gpu", Equal, "true", Some(NoSchedule)).tolerates(&gpu));
        assert!(tol("gpu", Equal, "true", None).tolerates(&gpu));
        assert!(!tol("gpu", Equal, "false", None).tolerates(&gpu));
        assert!(tol("gpu", Exists, "", None).tolerates(&gpu));
        assert!(!tol("gpu", Exists, "", Some(NoExecute)).tolerates(&gpu));
        assert!(tol("", Exists, "", None).tolerates(&gpu));
        assert!(!tol("other", Exists, "", None).tolerates(&gpu));
        assert_eq!(gpu.to_string(), "gpu=true:NoSchedule");
        let soft = taint("spot", "", PreferNoSchedule);
        assert_eq!(first_untolerated(std::slice::from_ref(&soft), &[]), Some(&soft));
        assert_eq!(first_untolerated(std::slice::from_ref(&soft), &[Toleration::prefer_no_schedule()]), None);
    }
}

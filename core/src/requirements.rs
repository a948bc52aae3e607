//! The requirement algebra of Karpenter v1: `In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt`, `Lt`,
//! `Gte`, `Lte` and `minValues`, their intersection, and compatibility between a node side
//! (NodePool, instance type, node) and a pod side.
//!
//! A [`Requirement`] is a set of label values: either a finite set (`In`) or the complement of
//! one (`NotIn`, `Exists`), optionally cut down to an inclusive integer range. `Gt N` is held
//! as `Gte N+1` and `Lt N` as `Lte N-1`, so every range is inclusive.

use crate::labels;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A node-selector operator, as written in manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    Gt,
    Lt,
    Gte,
    Lte,
}

impl Operator {
    /// Every operator, in the order Kubernetes lists them.
    pub const ALL: [Operator; 8] = [
        Operator::In,
        Operator::NotIn,
        Operator::Exists,
        Operator::DoesNotExist,
        Operator::Gt,
        Operator::Lt,
        Operator::Gte,
        Operator::Lte,
    ];
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl std::str::FromStr for Operator {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            "Gt" => Operator::Gt,
            "Lt" => Operator::Lt,
            "Gte" => Operator::Gte,
            "Lte" => Operator::Lte,
            other => {
                return Err(format!(
                    "unknown operator {other:?}: use In, NotIn, Exists, DoesNotExist, Gt, Lt, Gte or Lte"
                ))
            }
        })
    }
}

/// A requirement as written in a manifest (`NodeSelectorRequirement` plus Karpenter's
/// `minValues`). [`Requirement::from_spec`] validates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequirementSpec {
    pub key: String,
    pub operator: Operator,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_values: Option<u32>,
}

/// One key's allowed values. See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requirement {
    key: String,
    /// When true, `values` are the excluded values; otherwise the allowed ones.
    complement: bool,
    values: BTreeSet<String>,
    /// Inclusive integer bounds; only ever set together with `complement`.
    gte: Option<i64>,
    lte: Option<i64>,
    min_values: Option<u32>,
}

/// Why a written requirement is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequirementError {
    #[error("operator {0} needs at least one value")]
    MissingValues(Operator),
    #[error("operator {0} takes no values")]
    UnexpectedValues(Operator),
    #[error("operator {0} takes exactly one non-negative integer value, got {1:?}")]
    NotAnInteger(Operator, Vec<String>),
    #[error("minValues must be between 1 and 50, got {0}")]
    MinValuesRange(u32),
    #[error("minValues {0} is more than the {1} values listed")]
    MinValuesAboveValues(u32, usize),
    #[error("empty key")]
    EmptyKey,
}

impl Requirement {
    /// Builds a requirement from an operator and values, normalising beta label aliases
    /// (`beta.kubernetes.io/arch` → `kubernetes.io/arch`, ...).
    pub fn new(key: &str, operator: Operator, values: &[String]) -> Result<Self, RequirementError> {
        if key.is_empty() {
            return Err(RequirementError::EmptyKey);
        }
        let key = labels::normalize(key).to_string();
        let set = || values.iter().cloned().collect::<BTreeSet<_>>();
        let bound = || -> Result<i64, RequirementError> {
            match values {
                [v] => v
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| RequirementError::NotAnInteger(operator, values.to_vec())),
                _ => Err(RequirementError::NotAnInteger(operator, values.to_vec())),
            }
        };
        let mut r =
            Requirement { key, complement: true, values: BTreeSet::new(), gte: None, lte: None, min_values: None };
        match operator {
            Operator::In => {
                if values.is_empty() {
                    return Err(RequirementError::MissingValues(operator));
                }
                r.complement = false;
                r.values = set();
            }
            Operator::NotIn => {
                if values.is_empty() {
                    return Err(RequirementError::MissingValues(operator));
                }
                r.values = set();
            }
            Operator::Exists => {
                if !values.is_empty() {
                    return Err(RequirementError::UnexpectedValues(operator));
                }
            }
            Operator::DoesNotExist => {
                if !values.is_empty() {
                    return Err(RequirementError::UnexpectedValues(operator));
                }
                r.complement = false;
            }
            Operator::Gt => r.gte = Some(bound()?.saturating_add(1)),
            Operator::Gte => r.gte = Some(bound()?),
            Operator::Lt => r = r.with_upper(bound()?.checked_sub(1)),
            Operator::Lte => r.lte = Some(bound()?),
        }
        Ok(r)
    }

    fn with_upper(mut self, lte: Option<i64>) -> Self {
        match lte {
            Some(v) => self.lte = Some(v),
            // `Lt 0` admits no non-negative integer.
            None => {
                self.complement = false;
            }
        }
        self
    }

    /// Validates a written requirement, including Karpenter's minValues rules.
    pub fn from_spec(spec: &RequirementSpec) -> Result<Self, RequirementError> {
        let mut r = Requirement::new(&spec.key, spec.operator, &spec.values)?;
        if let Some(mv) = spec.min_values {
            if !(1..=50).contains(&mv) {
                return Err(RequirementError::MinValuesRange(mv));
            }
            if spec.operator == Operator::In && mv as usize > spec.values.len() {
                return Err(RequirementError::MinValuesAboveValues(mv, spec.values.len()));
            }
            r.min_values = Some(mv);
        }
        Ok(r)
    }

    /// `key In [value]`.
    pub fn single(key: &str, value: impl Into<String>) -> Self {
        Requirement {
            key: labels::normalize(key).to_string(),
            complement: false,
            values: BTreeSet::from([value.into()]),
            gte: None,
            lte: None,
            min_values: None,
        }
    }

    /// `key In [values...]`.
    pub fn any_of<I: IntoIterator<Item = S>, S: Into<String>>(key: &str, values: I) -> Self {
        Requirement {
            key: labels::normalize(key).to_string(),
            complement: false,
            values: values.into_iter().map(Into::into).collect(),
            gte: None,
            lte: None,
            min_values: None,
        }
    }

    /// `key DoesNotExist`.
    pub fn does_not_exist(key: &str) -> Self {
        Requirement::any_of::<[&str; 0], &str>(key, [])
    }

    /// `key Exists`.
    pub fn exists(key: &str) -> Self {
        Requirement {
            key: labels::normalize(key).to_string(),
            complement: true,
            values: BTreeSet::new(),
            gte: None,
            lte: None,
            min_values: None,
        }
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn min_values(&self) -> Option<u32> {
        self.min_values
    }

    /// The allowed values of an `In` requirement (empty for complements).
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.values.iter().filter(|v| !self.complement && self.within_bounds(v)).map(String::as_str)
    }

    pub fn is_complement(&self) -> bool {
        self.complement
    }

    fn within_bounds(&self, value: &str) -> bool {
        if self.gte.is_none() && self.lte.is_none() {
            return true;
        }
        match value.parse::<i64>() {
            Ok(n) => self.gte.is_none_or(|g| n >= g) && self.lte.is_none_or(|l| n <= l),
            Err(_) => false,
        }
    }

    /// Whether a node whose label has this value satisfies the requirement.
    pub fn has(&self, value: &str) -> bool {
        if self.complement {
            !self.values.contains(value) && self.within_bounds(value)
        } else {
            self.values.contains(value) && self.within_bounds(value)
        }
    }

    /// The operator that best describes this requirement, as Karpenter reports it.
    pub fn operator(&self) -> Operator {
        match (self.complement, self.values.is_empty()) {
            (true, _) if self.gte.is_some() && self.values.is_empty() && self.lte.is_none() => Operator::Gte,
            (true, _) if self.lte.is_some() && self.values.is_empty() && self.gte.is_none() => Operator::Lte,
            (true, false) => Operator::NotIn,
            (true, true) => Operator::Exists,
            (false, false) => Operator::In,
            (false, true) => Operator::DoesNotExist,
        }
    }

    /// Number of allowed values; `None` when unbounded.
    pub fn len(&self) -> Option<usize> {
        if !self.complement {
            return Some(self.values.len());
        }
        match (self.gte, self.lte) {
            (Some(lo), Some(hi)) => {
                let span = (hi as i128 - lo as i128 + 1).max(0) as usize;
                let excluded =
                    self.values.iter().filter_map(|v| v.parse::<i64>().ok()).filter(|n| *n >= lo && *n <= hi).count();
                Some(span - excluded)
            }
            _ => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// Whether `operator()` is `NotIn` or `DoesNotExist`: the operators Karpenter lets pass
    /// when nothing is in common.
    fn is_negative(&self) -> bool {
        matches!(self.operator(), Operator::NotIn | Operator::DoesNotExist)
    }

    /// The values allowed by both (Karpenter's `Intersection`): complements union their
    /// exclusions, bounds tighten, minValues takes the larger.
    pub fn intersection(&self, other: &Requirement) -> Requirement {
        let gte = max_opt(self.gte, other.gte);
        let lte = min_opt(self.lte, other.lte);
        let min_values = self.min_values.max(other.min_values);
        if let (Some(lo), Some(hi)) = (gte, lte) {
            if lo > hi {
                return Requirement { min_values, ..Requirement::does_not_exist(&self.key) };
            }
        }
        let complement = self.complement && other.complement;
        let values: BTreeSet<String> = match (self.complement, other.complement) {
            (true, true) => self.values.union(&other.values).cloned().collect(),
            (true, false) => other.values.difference(&self.values).cloned().collect(),
            (false, true) => self.values.difference(&other.values).cloned().collect(),
            (false, false) => self.values.intersection(&other.values).cloned().collect(),
        };
        let mut out = Requirement { key: self.key.clone(), complement, values, gte, lte, min_values };
        if !complement {
            let kept: BTreeSet<String> = out.values.iter().filter(|v| out.within_bounds(v)).cloned().collect();
            out.values = kept;
            out.gte = None;
            out.lte = None;
        }
        out
    }

    /// Whether the intersection is non-empty, without building it.
    pub fn intersects(&self, other: &Requirement) -> bool {
        let gte = max_opt(self.gte, other.gte);
        let lte = min_opt(self.lte, other.lte);
        let in_range = |v: &str| -> bool {
            if gte.is_none() && lte.is_none() {
                return true;
            }
            v.parse::<i64>().is_ok_and(|n| gte.is_none_or(|g| n >= g) && lte.is_none_or(|l| n <= l))
        };
        match (self.complement, other.complement) {
            (false, false) => {
                let (small, big) = if self.values.len() <= other.values.len() { (self, other) } else { (other, self) };
                small.values.iter().any(|v| big.values.contains(v) && in_range(v))
            }
            (true, false) => other.values.iter().any(|v| !self.values.contains(v) && in_range(v)),
            (false, true) => self.values.iter().any(|v| !other.values.contains(v) && in_range(v)),
            (true, true) => self.intersection(other).len() != Some(0),
        }
    }

    /// Karpenter's per-key compatibility: a non-empty intersection, or both sides negative
    /// (`NotIn`/`DoesNotExist`), which agree that the label may be absent.
    pub fn compatible_with(&self, incoming: &Requirement) -> bool {
        self.intersects(incoming) || (incoming.is_negative() && self.is_negative())
    }
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) | (None, x) => x,
    }
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) | (None, x) => x,
    }
}

impl fmt::Display for Requirement {
    /// `In [m5 m6i]`, `NotIn [t2]`, `Exists`, `DoesNotExist`, `Gte 3`, `NotIn [4] Gte 3 Lte 9`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, values: &BTreeSet<String>| -> fmt::Result {
            let shown: Vec<&str> = values.iter().map(String::as_str).take(12).collect();
            write!(f, "[{}", shown.join(" "))?;
            if values.len() > shown.len() {
                write!(f, " … {} more", values.len() - shown.len())?;
            }
            f.write_str("]")
        };
        let mut parts = 0;
        if !self.complement {
            if self.values.is_empty() {
                f.write_str("DoesNotExist")?;
            } else {
                f.write_str("In ")?;
                list(f, &self.values)?;
            }
            parts += 1;
        } else if !self.values.is_empty() {
            f.write_str("NotIn ")?;
            list(f, &self.values)?;
            parts += 1;
        }
        for (name, bound) in [("Gte", self.gte), ("Lte", self.lte)] {
            if let Some(b) = bound {
                if parts > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{name} {b}")?;
                parts += 1;
            }
        }
        if parts == 0 {
            f.write_str("Exists")?;
        }
        if let Some(mv) = self.min_values {
            write!(f, " (minValues {mv})")?;
        }
        Ok(())
    }
}

impl Serialize for Requirement {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A conjunction of requirements, one per key (Karpenter's `Requirements`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Requirements {
    by_key: BTreeMap<String, Requirement>,
}

/// Why a node side and a pod side do not agree on one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// The pod constrains a custom label the node side never sets.
    UndefinedLabel { key: String, pod: Requirement },
    /// Both sides define the key but share no value.
    Disjoint { key: String, node: Requirement, pod: Requirement },
}

impl Conflict {
    pub fn key(&self) -> &str {
        match self {
            Conflict::UndefinedLabel { key, .. } | Conflict::Disjoint { key, .. } => key,
        }
    }
}

impl Requirements {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a requirement, intersecting with any existing one on the same key.
    pub fn add(&mut self, r: Requirement) {
        match self.by_key.get_mut(&r.key) {
            Some(existing) => *existing = existing.intersection(&r),
            None => {
                self.by_key.insert(r.key.clone(), r);
            }
        }
    }

    /// Builds from written specs; the error names the index of the first bad one.
    pub fn from_specs(specs: &[RequirementSpec]) -> Result<Self, (usize, RequirementError)> {
        let mut out = Requirements::new();
        for (i, spec) in specs.iter().enumerate() {
            out.add(Requirement::from_spec(spec).map_err(|e| (i, e))?);
        }
        Ok(out)
    }

    /// `key In [value]` for each pair (a nodeSelector, a node's labels).
    pub fn from_labels<'a>(labels: impl IntoIterator<Item = (&'a String, &'a String)>) -> Self {
        let mut out = Requirements::new();
        for (k, v) in labels {
            out.add(Requirement::single(k, v.clone()));
        }
        out
    }

    pub fn get(&self, key: &str) -> Option<&Requirement> {
        self.by_key.get(key)
    }

    pub fn has_key(&self, key: &str) -> bool {
        self.by_key.contains_key(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Requirement> {
        self.by_key.values()
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.by_key.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The conjunction of both.
    /// Whether [`Requirements::intersection`] with `other` leaves these as they are, by the
    /// quick test: every key of `other` is here with the same requirement (a requirement met
    /// with itself is itself).
    pub fn holds(&self, other: &Requirements) -> bool {
        other.iter().all(|r| self.by_key.get(&r.key).is_some_and(|mine| mine == r))
    }

    pub fn intersection(&self, other: &Requirements) -> Requirements {
        let mut out = self.clone();
        for r in other.iter() {
            out.add(r.clone());
        }
        out
    }

    /// Karpenter's `Intersects`: on every key both define, the values must meet (or both be
    /// negative). Returns the first conflict in key order.
    pub fn intersects(&self, incoming: &Requirements) -> Result<(), Box<Conflict>> {
        let (small, big, small_is_self) =
            if self.len() <= incoming.len() { (self, incoming, true) } else { (incoming, self, false) };
        for r in small.iter() {
            if let Some(other) = big.get(&r.key) {
                let (node, pod) = if small_is_self { (r, other) } else { (other, r) };
                if !node.compatible_with(pod) {
                    return Err(Box::new(Conflict::Disjoint {
                        key: r.key.clone(),
                        node: node.clone(),
                        pod: pod.clone(),
                    }));
                }
            }
        }
        Ok(())
    }

    /// Karpenter's `Compatible` with well-known labels allowed undefined: every key of the
    /// pod side must be defined here unless it is a well-known label or negative
    /// (`NotIn`/`DoesNotExist`), and [`Requirements::intersects`] must hold.
    pub fn compatible(&self, pod: &Requirements) -> Result<(), Box<Conflict>> {
        for r in pod.iter() {
            if !self.has_key(&r.key) && !labels::is_well_known(&r.key) && !r.is_negative() {
                return Err(Box::new(Conflict::UndefinedLabel { key: r.key.clone(), pod: r.clone() }));
            }
        }
        self.intersects(pod)
    }

    /// Every conflict rather than the first (for explanations).
    pub fn conflicts(&self, pod: &Requirements) -> Vec<Conflict> {
        let mut out = Vec::new();
        for r in pod.iter() {
            match self.get(&r.key) {
                None if !labels::is_well_known(&r.key) && !r.is_negative() => {
                    out.push(Conflict::UndefinedLabel { key: r.key.clone(), pod: r.clone() })
                }
                Some(node) if !node.compatible_with(r) => {
                    out.push(Conflict::Disjoint { key: r.key.clone(), node: node.clone(), pod: r.clone() })
                }
                _ => {}
            }
        }
        out
    }
}

impl FromIterator<Requirement> for Requirements {
    /// As [`Requirements::add`] of each in turn (requirements on one key intersect), built at
    /// once: sorted by key, then the map made from the sorted run (a catalog builds thousands).
    fn from_iter<I: IntoIterator<Item = Requirement>>(iter: I) -> Self {
        let mut all: Vec<Requirement> = iter.into_iter().collect();
        all.sort_by(|a, b| a.key.cmp(&b.key));
        let mut merged: Vec<Requirement> = Vec::with_capacity(all.len());
        for r in all {
            match merged.last_mut() {
                Some(last) if last.key == r.key => *last = last.intersection(&r),
                _ => merged.push(r),
            }
        }
        Requirements { by_key: merged.into_iter().map(|r| (r.key.clone(), r)).collect() }
    }
}

impl Serialize for Requirements {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.by_key.iter())
    }
}

impl fmt::Display for Requirements {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for r in self.iter() {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{} {}", r.key, r)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn req(key: &str, op: Operator, values: &[&str]) -> Requirement {
        Requirement::new(key, op, &values.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn operators_mean_what_karpenter_means() {
        let gt = req("karpenter.k8s.aws/instance-generation", Operator::Gt, &["2"]);
        assert!(!gt.has("2") && gt.has("3") && !gt.has("x"));
        let lt = req("k", Operator::Lt, &["5"]);
        assert!(lt.has("4") && !lt.has("5"));
        let gte = req("k", Operator::Gte, &["5"]);
        assert!(gte.has("5") && !gte.has("4"));
        let lte = req("k", Operator::Lte, &["5"]);
        assert!(lte.has("5") && !lte.has("6"));
        assert!(req("k", Operator::Exists, &[]).has("anything"));
        assert!(!req("k", Operator::DoesNotExist, &[]).has("anything"));
        assert!(req("k", Operator::NotIn, &["a"]).has("b"));
        assert!(!req("k", Operator::Lt, &["0"]).has("0"));
    }

    #[test]
    fn rejects_malformed_requirements() {
        let e = |op, vals: &[&str]| {
            Requirement::new("k", op, &vals.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap_err()
        };
        assert_eq!(e(Operator::In, &[]), RequirementError::MissingValues(Operator::In));
        assert!(matches!(e(Operator::Gt, &["a"]), RequirementError::NotAnInteger(..)));
        assert!(matches!(e(Operator::Gt, &["-1"]), RequirementError::NotAnInteger(..)));
        assert!(matches!(e(Operator::Gt, &["1", "2"]), RequirementError::NotAnInteger(..)));
        assert!(matches!(e(Operator::Exists, &["a"]), RequirementError::UnexpectedValues(..)));
        let spec =
            RequirementSpec { key: "k".into(), operator: Operator::In, values: vec!["a".into()], min_values: Some(2) };
        assert_eq!(Requirement::from_spec(&spec).unwrap_err(), RequirementError::MinValuesAboveValues(2, 1));
    }

    #[test]
    fn intersections() {
        let a = req("k", Operator::In, &["1", "2", "3"]);
        let b = req("k", Operator::NotIn, &["2"]);
        assert_eq!(a.intersection(&b).to_string(), "In [1 3]");
        let g = req("k", Operator::Gt, &["1"]);
        assert_eq!(a.intersection(&g).to_string(), "In [2 3]");
        let l = req("k", Operator::Lt, &["2"]);
        assert_eq!(g.intersection(&l).to_string(), "DoesNotExist");
        let n1 = req("k", Operator::NotIn, &["a"]);
        let n2 = req("k", Operator::NotIn, &["b"]);
        assert_eq!(n1.intersection(&n2).to_string(), "NotIn [a b]");
        let mv = Requirement::from_spec(&RequirementSpec {
            key: "k".into(),
            operator: Operator::Exists,
            values: vec![],
            min_values: Some(3),
        })
        .unwrap();
        assert_eq!(mv.intersection(&a).min_values(), Some(3));
    }

    #[test]
    fn beta_labels_are_normalised() {
        let r = req("beta.kubernetes.io/arch", Operator::In, &["arm64"]);
        assert_eq!(r.key(), "kubernetes.io/arch");
        let r = req("failure-domain.beta.kubernetes.io/zone", Operator::In, &["us-east-1a"]);
        assert_eq!(r.key(), "topology.kubernetes.io/zone");
    }

    #[test]
    fn compatibility_follows_karpenter() {
        let node: Requirements = [req("kubernetes.io/arch", Operator::In, &["amd64"])].into_iter().collect();
        // Well-known label undefined on the node side: allowed.
        let pod: Requirements =
            [req("topology.kubernetes.io/zone", Operator::In, &["us-east-1a"])].into_iter().collect();
        assert!(node.compatible(&pod).is_ok());
        // Custom label undefined: denied unless negative.
        let pod: Requirements = [req("team", Operator::In, &["a"])].into_iter().collect();
        assert!(matches!(node.compatible(&pod).map_err(|c| *c), Err(Conflict::UndefinedLabel { .. })));
        let pod: Requirements = [req("team", Operator::NotIn, &["a"])].into_iter().collect();
        assert!(node.compatible(&pod).is_ok());
        let pod: Requirements = [req("team", Operator::DoesNotExist, &[])].into_iter().collect();
        assert!(node.compatible(&pod).is_ok());
        // Disjoint values.
        let pod: Requirements = [req("kubernetes.io/arch", Operator::In, &["arm64"])].into_iter().collect();
        let err = node.compatible(&pod).unwrap_err();
        assert_eq!(err.key(), "kubernetes.io/arch");
        // Both negative with nothing in common: compatible.
        let node: Requirements = [req("gpu", Operator::DoesNotExist, &[])].into_iter().collect();
        let pod: Requirements = [req("gpu", Operator::NotIn, &["a"])].into_iter().collect();
        assert!(node.compatible(&pod).is_ok());
    }

    fn arb_requirement() -> impl Strategy<Value = Requirement> {
        let values = prop::collection::vec(prop::sample::select(vec!["a", "b", "1", "2", "3", "5", "8"]), 0..4);
        (0..8usize, values, 0i64..10).prop_map(|(op, vals, n)| {
            let op = [
                Operator::In,
                Operator::NotIn,
                Operator::Exists,
                Operator::DoesNotExist,
                Operator::Gt,
                Operator::Lt,
                Operator::Gte,
                Operator::Lte,
            ][op];
            let vals: Vec<String> = match op {
                Operator::Exists | Operator::DoesNotExist => vec![],
                Operator::Gt | Operator::Lt | Operator::Gte | Operator::Lte => vec![n.to_string()],
                _ if vals.is_empty() => vec!["a".into()],
                _ => vals.into_iter().map(String::from).collect(),
            };
            Requirement::new("k", op, &vals).unwrap()
        })
    }

    /// The values of a finite universe that a requirement admits: its meaning, for comparing.
    fn meaning(r: &Requirement) -> Vec<bool> {
        let universe = ["a", "b", "c", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "zz"];
        universe.iter().map(|v| r.has(v)).collect()
    }

    proptest! {
        #[test]
        fn intersection_is_commutative(a in arb_requirement(), b in arb_requirement()) {
            prop_assert_eq!(meaning(&a.intersection(&b)), meaning(&b.intersection(&a)));
        }

        #[test]
        fn intersection_is_associative(a in arb_requirement(), b in arb_requirement(), c in arb_requirement()) {
            prop_assert_eq!(
                meaning(&a.intersection(&b).intersection(&c)),
                meaning(&a.intersection(&b.intersection(&c)))
            );
        }

        #[test]
        fn intersection_means_both(a in arb_requirement(), b in arb_requirement()) {
            let both: Vec<bool> = meaning(&a).iter().zip(meaning(&b)).map(|(x, y)| *x && y).collect();
            prop_assert_eq!(meaning(&a.intersection(&b)), both);
        }

        #[test]
        fn intersects_agrees_with_a_non_empty_intersection(a in arb_requirement(), b in arb_requirement()) {
            prop_assert_eq!(a.intersects(&b), !a.intersection(&b).is_empty());
        }

        #[test]
        fn collecting_is_adding_each_in_turn(rs in proptest::collection::vec((any::<bool>(), arb_requirement()), 0..6)) {
            let rs: Vec<Requirement> = rs
                .into_iter()
                .map(|(other, mut r)| {
                    if other {
                        r.key = "j".to_string();
                    }
                    r
                })
                .collect();
            let mut added = Requirements::new();
            rs.iter().for_each(|r| added.add(r.clone()));
            let collected: Requirements = rs.into_iter().collect();
            prop_assert_eq!(collected, added);
        }

        #[test]
        fn what_holds_is_left_as_it_is(
            node in proptest::collection::vec((any::<bool>(), arb_requirement()), 0..5),
            pod in proptest::collection::vec((any::<bool>(), arb_requirement()), 0..3),
            copy in any::<bool>(),
        ) {
            let keyed = |rs: Vec<(bool, Requirement)>| -> Requirements {
                rs.into_iter().map(|(other, mut r)| { if other { r.key = "j".to_string(); } r }).collect()
            };
            let node = keyed(node);
            // Either another set, or the node's own (or an intersection's), which holds.
            let pod = if copy { node.clone() } else { keyed(pod) };
            if node.holds(&pod) {
                prop_assert_eq!(node.intersection(&pod), node.clone());
            }
            let met = node.intersection(&pod);
            prop_assert!(met.holds(&met));
            prop_assert_eq!(met.intersection(&met), met.clone());
        }

        #[test]
        fn compatibility_agrees_with_intersection(a in arb_requirement(), b in arb_requirement()) {
            let node: Requirements = [a.clone()].into_iter().collect();
            let pod: Requirements = [b.clone()].into_iter().collect();
            let both_negative = matches!(a.operator(), Operator::NotIn | Operator::DoesNotExist)
                && matches!(b.operator(), Operator::NotIn | Operator::DoesNotExist);
            prop_assert_eq!(node.compatible(&pod).is_ok(), !a.intersection(&b).is_empty() || both_negative);
        }
    }
}

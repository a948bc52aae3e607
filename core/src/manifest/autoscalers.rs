//! HorizontalPodAutoscalers: how many replicas the workloads they scale are counted at
//! ([`HpaReplicas`], chosen in [`super::ParseOptions`]).

use super::cursor::Cursor;
use super::workloads::MAX_REPLICAS;
use crate::model::ObjectRef;
use serde::{Deserialize, Serialize};

/// How a workload scaled by a HorizontalPodAutoscaler is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HpaReplicas {
    /// The replicas the workload states, clamped into the autoscaler's
    /// `[minReplicas, maxReplicas]` as its controller clamps them; `minReplicas` when the
    /// workload states none.
    #[default]
    Min,
    /// `maxReplicas`: the workload at the peak its autoscaler allows.
    Max,
}

impl std::str::FromStr for HpaReplicas {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "min" => Ok(HpaReplicas::Min),
            "max" => Ok(HpaReplicas::Max),
            other => Err(format!("unknown autoscaler rule {other:?}: use min or max")),
        }
    }
}

impl std::fmt::Display for HpaReplicas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HpaReplicas::Min => "min",
            HpaReplicas::Max => "max",
        })
    }
}

/// A HorizontalPodAutoscaler as read: what it scales, and within which bounds.
pub(super) struct Autoscaler {
    pub api_version: String,
    pub reference: ObjectRef,
    pub target: ObjectRef,
    pub min: u32,
    pub max: u32,
}

/// Reads an `autoscaling/v1` or `autoscaling/v2` HorizontalPodAutoscaler: `scaleTargetRef`
/// (kind and name, in the autoscaler's namespace), `minReplicas` (default 1) and
/// `maxReplicas` (required, at least `minReplicas`).
pub(super) fn hpa(api_version: &str, reference: ObjectRef, root: &Cursor) -> Option<Autoscaler> {
    let spec = root.get("spec");
    if !spec.is_present() {
        spec.error("required");
        return None;
    }
    let target = spec.get("scaleTargetRef");
    if !target.is_present() {
        target.error("required");
    }
    let kind = target.get("kind").required_str();
    let name = target.get("name").required_str();
    let min_field = spec.get("minReplicas");
    let min = min_field.int_in(0, MAX_REPLICAS);
    let max_field = spec.get("maxReplicas");
    let max = max_field.int_in(1, MAX_REPLICAS);
    if !max_field.is_present() {
        max_field.error("required");
    }
    let (min, max) = (min.unwrap_or(1), max?);
    if min > max {
        max_field.error(format!("{max} is less than minReplicas {min}"));
        return None;
    }
    let target = ObjectRef::new(kind?, &reference.namespace, name?);
    Some(Autoscaler { api_version: api_version.to_string(), reference, target, min: min as u32, max: max as u32 })
}

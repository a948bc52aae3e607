//! Status conditions, as Karpenter's objects carry them (operatorpkg's `status.Condition`, the
//! shape of `metav1.Condition`).
//!
//! NodePools and EC2NodeClasses require every field of a condition and a non-empty reason;
//! NodeClaims allow a condition without reason or message. Two types keep both schemas exact.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema;

/// Whether a condition holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

impl ConditionStatus {
    /// The status as written in the object: `True`, `False` or `Unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

/// One observation of an object's state: its type, whether it holds, since when and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The condition's type, in CamelCase or as `example.com/CamelCase`.
    #[serde(rename = "type")]
    #[schemars(length(max = 316), regex(pattern = schema::CONDITION_TYPE))]
    pub type_: String,
    /// Whether the condition holds: True, False or Unknown.
    pub status: ConditionStatus,
    /// The `metadata.generation` the condition was computed from.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub observed_generation: Option<i64>,
    /// When the status last changed.
    #[schemars(with = "schema::TimeSchema")]
    pub last_transition_time: Time,
    /// Why the status last changed, as a CamelCase identifier.
    #[schemars(length(min = 1, max = 1024), regex(pattern = schema::CONDITION_REASON))]
    pub reason: String,
    /// Why the status last changed, for people; may be empty.
    #[schemars(length(max = 32768))]
    pub message: String,
}

/// A NodeClaim's condition: as [`Condition`], but reason and message may be left out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeClaimCondition {
    /// The condition's type, in CamelCase or as `example.com/CamelCase`.
    #[serde(rename = "type")]
    #[schemars(length(max = 316), regex(pattern = schema::CONDITION_TYPE))]
    pub type_: String,
    /// Whether the condition holds: True, False or Unknown.
    pub status: ConditionStatus,
    /// The `metadata.generation` the condition was computed from.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub observed_generation: Option<i64>,
    /// When the status last changed.
    #[schemars(with = "schema::TimeSchema")]
    pub last_transition_time: Time,
    /// Why the status last changed, as a CamelCase identifier; may be empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024), regex(pattern = schema::CONDITION_REASON_OR_EMPTY))]
    pub reason: Option<String>,
    /// Why the status last changed, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32768))]
    pub message: Option<String>,
}

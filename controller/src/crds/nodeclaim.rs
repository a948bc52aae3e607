//! `karpenter.sh/v1` NodeClaim: one node, asked for and then tracked. A NodePool's template
//! makes NodeClaims; the controller launches an instance for each, and the instance's node
//! registers against it.
//!
//! The requirement, node class reference and taint types here are the NodePool template's too.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::condition::{ConditionStatus, NodeClaimCondition};
use super::schema;

/// The desired node: what it must satisfy, the node class it is launched with, the resources it
/// must hold, and how long it may live. Immutable once created.
// Clippy reads the repeated `printcolumn(name = ..., type_ = ...)` lists as duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "karpenter.sh",
    version = "v1",
    kind = "NodeClaim",
    plural = "nodeclaims",
    singular = "nodeclaim",
    category = "karpenter",
    status = "NodeClaimStatus",
    derive = "PartialEq",
    doc = "A request for one node, and the state of the instance and node that answer it.",
    printcolumn(name = "Type", type_ = "string", json_path = ".metadata.labels.node\\.kubernetes\\.io/instance-type"),
    printcolumn(name = "Capacity", type_ = "string", json_path = ".metadata.labels.karpenter\\.sh/capacity-type"),
    printcolumn(name = "Zone", type_ = "string", json_path = ".metadata.labels.topology\\.kubernetes\\.io/zone"),
    printcolumn(name = "Node", type_ = "string", json_path = ".status.nodeName"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "ImageID", type_ = "string", json_path = ".status.imageID", priority = 1),
    printcolumn(name = "ID", type_ = "string", json_path = ".status.providerID", priority = 1),
    printcolumn(
        name = "NodePool",
        type_ = "string",
        json_path = ".metadata.labels.karpenter\\.sh/nodepool",
        priority = 1
    ),
    printcolumn(name = "NodeClass", type_ = "string", json_path = ".spec.nodeClassRef.name", priority = 1),
    printcolumn(
        name = "Drifted",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Drifted\")].status",
        priority = 1
    )
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{"message": "spec is immutable", "rule": "self == oldSelf"}]))]
pub struct NodeClaimSpec {
    /// Taints the node carries for its whole life.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub taints: Option<Vec<Taint>>,
    /// Taints the node starts with and something else (typically a DaemonSet) removes once the
    /// node is ready. Pods need not tolerate them to be provisioned for.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub startup_taints: Option<Vec<Taint>>,
    /// What the node's labels must satisfy (instance type, zone, capacity type, ...).
    #[schemars(length(max = 100), extend(
        "x-kubernetes-list-type" = "atomic",
        "x-kubernetes-validations" = requirements_rules(),
    ))]
    pub requirements: Vec<NodeSelectorRequirementWithMinValues>,
    /// The resources the node must have room for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// The provider object (an EC2NodeClass) with the cloud settings to launch with.
    pub node_class_ref: NodeClassReference,
    /// How long after creation the node is replaced (`720h`), or `Never`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = schema::DURATION_OR_NEVER), extend("default" = DEFAULT_EXPIRE_AFTER))]
    pub expire_after: Option<String>,
    /// How long a draining node waits for its pods before deleting them regardless of
    /// disruption budgets and `karpenter.sh/do-not-disrupt`. Unset: it waits for ever.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = schema::DURATION))]
    pub termination_grace_period: Option<String>,
}

/// A NodeClaim's (and a NodePool template's) `expireAfter` when none is given.
pub const DEFAULT_EXPIRE_AFTER: &str = "720h";

/// The CEL rules on a list of requirements: operators and the values they need.
pub(crate) fn requirements_rules() -> serde_json::Value {
    serde_json::json!([
        {
            "message": "requirements with operator 'In' must have a value defined",
            "rule": "self.all(x, x.operator == 'In' ? x.values.size() != 0 : true)",
        },
        {
            "message": "requirements operator 'Gt', 'Lt', 'Gte', or 'Lte' must have a single positive integer value",
            "rule": "self.all(x, (x.operator == 'Gt' || x.operator == 'Lt' || x.operator == 'Gte' || x.operator == 'Lte') ? (x.values.size() == 1 && int(x.values[0]) >= 0) : true)",
        },
        {
            "message": "requirements with 'minValues' must have at least that many values specified in the 'values' field",
            "rule": "self.all(x, (x.operator == 'In' && has(x.minValues)) ? x.values.size() >= x.minValues : true)",
        },
    ])
}

/// The resources a NodeClaim asks for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRequirements {
    /// The least of each resource the node must offer (the pods' requests plus overhead).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<BTreeMap<String, schema::QuantitySchema>>")]
    pub requests: Option<BTreeMap<String, Quantity>>,
}

/// How a requirement's key relates to its values: the core's own operator.
pub use fleetfit::requirements::Operator as NodeSelectorOperator;

/// A condition on one node label: a key, an operator and values, and optionally how many
/// distinct values the launch must stay open to (`minValues`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeSelectorRequirementWithMinValues {
    /// The label the requirement is about.
    #[schemars(length(max = 316), regex(pattern = schema::QUALIFIED_NAME), extend(
        "x-kubernetes-validations" = [
            {
                "message": "label domain \"karpenter.sh\" is restricted",
                "rule": "self in [\"karpenter.sh/capacity-type\", \"karpenter.sh/nodepool\"] || !self.find(\"^([^/]+)\").endsWith(\"karpenter.sh\")",
            },
            {
                "message": "label \"kubernetes.io/hostname\" is restricted",
                "rule": "self != \"kubernetes.io/hostname\"",
            },
        ],
    ))]
    pub key: String,
    /// In, NotIn, Exists, DoesNotExist, Gt, Lt, Gte or Lte.
    #[schemars(with = "schema::OperatorSchema")]
    pub operator: NodeSelectorOperator,
    /// The values: one or more for In and NotIn, none for Exists and DoesNotExist, a single
    /// non-negative integer for Gt, Lt, Gte and Lte.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub values: Option<Vec<String>>,
    /// The fewest distinct values of this label the instance types a launch may choose from
    /// must cover (alpha in Karpenter).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 50), transform = schema::integer_without_format)]
    pub min_values: Option<i64>,
}

impl NodeSelectorRequirementWithMinValues {
    /// The values, empty when none are given.
    pub fn values(&self) -> &[String] {
        self.values.as_deref().unwrap_or_default()
    }
}

/// Which provider object a NodeClaim is launched with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeClassReference {
    /// The node class's kind (`EC2NodeClass`).
    #[schemars(extend("x-kubernetes-validations" = [{"message": "kind may not be empty", "rule": "self != ''"}]))]
    pub kind: String,
    /// The node class's name.
    #[schemars(extend("x-kubernetes-validations" = [{"message": "name may not be empty", "rule": "self != ''"}]))]
    pub name: String,
    /// The node class's API group (`karpenter.k8s.aws`), without version.
    #[schemars(regex(pattern = r"^[^/]*$"), extend(
        "x-kubernetes-validations" = [{"message": "group may not be empty", "rule": "self != ''"}],
    ))]
    pub group: String,
}

/// What a taint does to pods that do not tolerate it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

impl TaintEffect {
    /// The effect as written in the object (`NoSchedule`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            TaintEffect::NoSchedule => "NoSchedule",
            TaintEffect::PreferNoSchedule => "PreferNoSchedule",
            TaintEffect::NoExecute => "NoExecute",
        }
    }
}

/// A taint for the node: pods that do not tolerate it are kept off (or evicted).
///
/// The JSON of `core/v1` Taint, with Karpenter's validation of key, value and effect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Taint {
    /// The taint's key.
    #[schemars(length(min = 1), regex(pattern = schema::QUALIFIED_NAME))]
    pub key: String,
    /// The taint's value, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = schema::QUALIFIED_NAME))]
    pub value: Option<String>,
    /// NoSchedule, PreferNoSchedule or NoExecute.
    pub effect: TaintEffect,
    /// When the taint was added (NoExecute taints only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::TimeSchema>")]
    pub time_added: Option<Time>,
}

impl From<Taint> for k8s_openapi::api::core::v1::Taint {
    fn from(taint: Taint) -> Self {
        k8s_openapi::api::core::v1::Taint {
            key: taint.key,
            value: taint.value,
            effect: taint.effect.as_str().to_owned(),
            time_added: taint.time_added,
        }
    }
}

/// What the controller observed of a NodeClaim's instance and node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeClaimStatus {
    /// The name of the node that registered for this NodeClaim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// The cloud provider's ID of the instance (`aws:///us-east-1a/i-0123...`).
    #[serde(rename = "providerID", skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    /// The image the instance runs (an AMI ID on AWS).
    #[serde(rename = "imageID", skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    /// The instance's resources, estimated before the node reports them.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<BTreeMap<String, schema::QuantitySchema>>")]
    pub capacity: Option<BTreeMap<String, Quantity>>,
    /// What pods can use of the instance's resources, estimated before the node reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<BTreeMap<String, schema::QuantitySchema>>")]
    pub allocatable: Option<BTreeMap<String, Quantity>>,
    /// Launched, Registered, Initialized, Ready, Drifted, ... (see the `CONDITION_*` constants).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Option<Vec<NodeClaimCondition>>,
    /// When a pod last started or stopped being scheduled to the node (a pod terminating counts
    /// as stopping).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::TimeSchema>")]
    pub last_pod_event_time: Option<Time>,
}

impl NodeClaimStatus {
    /// The condition of type `type_` (one of the `CONDITION_*` constants), if there is one.
    pub fn condition(&self, type_: &str) -> Option<&NodeClaimCondition> {
        self.conditions.as_deref()?.iter().find(|c| c.type_ == type_)
    }

    /// Whether the condition of type `type_` is there and True.
    pub fn is_true(&self, type_: &str) -> bool {
        self.condition(type_).is_some_and(|c| c.status == ConditionStatus::True)
    }
}

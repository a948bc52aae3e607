//! `karpenter.sh/v1` NodePool: which nodes may be launched (a template for NodeClaims), how many
//! resources they may add up to, and when nodes may be disrupted.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::condition::{Condition, ConditionStatus};
use super::nodeclaim::{
    NodeClaimSpec, NodeClassReference, NodeSelectorRequirementWithMinValues, ResourceRequirements, Taint,
    DEFAULT_EXPIRE_AFTER,
};
use super::schema;

/// The nodes a NodePool may launch, their limits and how they may be disrupted.
// Clippy reads the repeated `printcolumn(name = ..., type_ = ...)` lists as duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "karpenter.sh",
    version = "v1",
    kind = "NodePool",
    plural = "nodepools",
    singular = "nodepool",
    category = "karpenter",
    status = "NodePoolStatus",
    derive = "PartialEq",
    doc = "A family of nodes that may be launched for pending pods: their template, limits and disruption rules.",
    scale(spec_replicas_path = ".spec.replicas", status_replicas_path = ".status.nodes"),
    printcolumn(name = "NodeClass", type_ = "string", json_path = ".spec.template.spec.nodeClassRef.name"),
    printcolumn(name = "Nodes", type_ = "string", json_path = ".status.nodes"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "Weight", type_ = "integer", json_path = ".spec.weight", priority = 1),
    printcolumn(name = "CPU", type_ = "string", json_path = ".status.resources.cpu", priority = 1),
    printcolumn(name = "Memory", type_ = "string", json_path = ".status.resources.memory", priority = 1)
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "message": "Cannot transition NodePool between static (replicas set) and dynamic (replicas unset) provisioning modes",
        "rule": "has(self.replicas) == has(oldSelf.replicas)",
    },
    {
        "message": "only 'limits.nodes' is supported on static NodePools",
        "rule": "!has(self.replicas) || (!has(self.limits) || size(self.limits) == 0 || (size(self.limits) == 1 && 'nodes' in self.limits))",
    },
    {
        "message": "'weight' is not supported on static NodePools",
        "rule": "!has(self.replicas) || !has(self.weight)",
    },
]))]
pub struct NodePoolSpec {
    /// The NodeClaims this NodePool makes: their labels, annotations and spec. A NodeClaim is
    /// often narrower than the template (one instance type, one zone).
    pub template: NodeClaimTemplate,
    /// When and how fast the NodePool's nodes may be disrupted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = {"consolidateAfter": "0s"}))]
    pub disruption: Option<Disruption>,
    /// The most of each resource (`cpu`, `memory`, `nodes`, ...) the NodePool's nodes may add up
    /// to. A static NodePool (with `replicas`) may limit `nodes` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<BTreeMap<String, schema::QuantitySchema>>")]
    pub limits: Option<BTreeMap<String, Quantity>>,
    /// The priority among NodePools, 1 to 100: higher is tried first; none counts as 0. Not
    /// allowed with `replicas`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub weight: Option<i32>,
    /// A fixed number of nodes (static capacity) instead of nodes for pending pods; alpha in
    /// Karpenter. Consolidation settings do not apply, and only `limits.nodes` may be set.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub replicas: Option<i64>,
}

/// The template of a NodePool's NodeClaims.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeClaimTemplate {
    /// Labels and annotations for the NodeClaims and their nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<NodeClaimTemplateMetadata>,
    /// The NodeClaims' spec, without resources (those come from the pods).
    pub spec: NodeClaimTemplateSpec,
}

/// Labels and annotations a NodePool puts on its NodeClaims and nodes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeClaimTemplateMetadata {
    /// Labels for the NodeClaims and nodes. Karpenter's own (`karpenter.sh/...`, except
    /// `karpenter.sh/capacity-type`) and `kubernetes.io/hostname` are not allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::label_values, extend(
        "maxProperties" = 100,
        "x-kubernetes-map-type" = "atomic",
        "x-kubernetes-validations" = [
            {
                "message": "label domain \"karpenter.sh\" is restricted",
                "rule": "self.all(x, x in [\"karpenter.sh/capacity-type\", \"karpenter.sh/nodepool\"] || !x.find(\"^([^/]+)\").endsWith(\"karpenter.sh\"))",
            },
            {
                "message": "label \"karpenter.sh/nodepool\" is restricted",
                "rule": "self.all(x, x != \"karpenter.sh/nodepool\")",
            },
            {
                "message": "label \"kubernetes.io/hostname\" is restricted",
                "rule": "self.all(x, x != \"kubernetes.io/hostname\")",
            },
        ],
    ))]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations for the NodeClaims and nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-map-type" = "granular"))]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// A NodeClaim's spec as a NodePool's template gives it: everything but resources.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeClaimTemplateSpec {
    /// Taints the nodes carry for their whole life.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub taints: Option<Vec<Taint>>,
    /// Taints the nodes start with and something else (typically a DaemonSet) removes once
    /// they are ready. Pods need not tolerate them to be provisioned for.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub startup_taints: Option<Vec<Taint>>,
    /// What the nodes' labels must satisfy (instance types, zones, capacity types, ...).
    /// `karpenter.sh/nodepool` is set by Karpenter and may not be required here.
    #[schemars(length(max = 100), transform = schema::nodepool_requirements, extend(
        "x-kubernetes-list-type" = "atomic",
        "x-kubernetes-validations" = super::nodeclaim::requirements_rules(),
    ))]
    pub requirements: Vec<NodeSelectorRequirementWithMinValues>,
    /// The provider object (an EC2NodeClass) with the cloud settings to launch with. Its group
    /// and kind cannot change.
    #[schemars(extend("x-kubernetes-validations" = [
        {"message": "nodeClassRef.group is immutable", "rule": "self.group == oldSelf.group"},
        {"message": "nodeClassRef.kind is immutable", "rule": "self.kind == oldSelf.kind"},
    ]))]
    pub node_class_ref: NodeClassReference,
    /// How long after creation a node is replaced (`720h`), or `Never`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = schema::DURATION_OR_NEVER), extend("default" = DEFAULT_EXPIRE_AFTER))]
    pub expire_after: Option<String>,
    /// How long a draining node waits for its pods before deleting them regardless of
    /// disruption budgets and `karpenter.sh/do-not-disrupt`. Unset: it waits for ever.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = schema::DURATION))]
    pub termination_grace_period: Option<String>,
}

impl NodeClaimTemplateSpec {
    /// The spec of a NodeClaim made from this template, asking for `requests` (`None`: no
    /// resource requests).
    pub fn to_nodeclaim_spec(&self, requests: Option<BTreeMap<String, Quantity>>) -> NodeClaimSpec {
        NodeClaimSpec {
            taints: self.taints.clone(),
            startup_taints: self.startup_taints.clone(),
            requirements: self.requirements.clone(),
            resources: requests.map(|requests| ResourceRequirements { requests: Some(requests) }),
            node_class_ref: self.node_class_ref.clone(),
            expire_after: self.expire_after.clone(),
            termination_grace_period: self.termination_grace_period.clone(),
        }
    }
}

/// Which nodes consolidation may remove or replace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ConsolidationPolicy {
    WhenEmpty,
    #[default]
    WhenEmptyOrUnderutilized,
    Balanced,
}

/// When and how fast a NodePool's nodes may be disrupted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Disruption {
    /// How long a node must have been empty or underused before consolidation considers it
    /// (`30s`, `5m`), or `Never`. Ignored with `replicas`.
    #[schemars(regex(pattern = schema::DURATION_OR_NEVER))]
    pub consolidate_after: String,
    /// WhenEmpty: only nodes without pods; WhenEmptyOrUnderutilized (the default): also nodes
    /// whose pods fit elsewhere or on a cheaper node; Balanced: as the latter, weighing the
    /// disruption against the saving. Ignored with `replicas`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "WhenEmptyOrUnderutilized"))]
    pub consolidation_policy: Option<ConsolidationPolicy>,
    /// How many nodes may be disrupted at once, and when. With several budgets active the
    /// smallest allowance wins; none means one budget of 10%.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50), extend(
        "default" = [{"nodes": DEFAULT_BUDGET_NODES}],
        "x-kubernetes-list-type" = "atomic",
        "x-kubernetes-validations" = [{
            "message": "'schedule' must be set with 'duration'",
            "rule": "self.all(x, has(x.schedule) == has(x.duration))",
        }],
    ))]
    pub budgets: Option<Vec<Budget>>,
}

/// A budget's `nodes` when none is given, and the one budget a NodePool has when it gives none.
pub const DEFAULT_BUDGET_NODES: &str = "10%";

fn default_budget_nodes() -> String {
    DEFAULT_BUDGET_NODES.to_owned()
}

/// Why a node is disrupted, as budgets name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DisruptionReason {
    Underutilized,
    Empty,
    Drifted,
}

/// How many of a NodePool's nodes may be disrupted at once, always or in a recurring window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Budget {
    /// The most nodes being disrupted at once: a count (`5`) or a share of the NodePool's nodes
    /// (`10%`). Nodes being deleted count.
    #[serde(default = "default_budget_nodes")]
    #[schemars(regex(pattern = schema::BUDGET_NODES))]
    pub nodes: String,
    /// When the budget starts to apply, in cron syntax (`0 9 * * mon-fri`, `@daily`; UTC). Set
    /// together with `duration`; without both the budget always applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = schema::CRON_SCHEDULE))]
    pub schedule: Option<String>,
    /// How long the budget applies from each time its schedule hits, in hours and minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = schema::BUDGET_DURATION))]
    pub duration: Option<String>,
    /// The disruption reasons the budget limits; none means all.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50), extend("x-kubernetes-list-type" = "set"))]
    pub reasons: Option<Vec<DisruptionReason>>,
}

/// What the controller observed of a NodePool.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolStatus {
    /// The resources of the NodePool's nodes, added up.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<BTreeMap<String, schema::QuantitySchema>>")]
    pub resources: Option<BTreeMap<String, Quantity>>,
    /// How many nodes the NodePool has.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 0))]
    pub nodes: Option<i64>,
    /// The generation of the node class last seen; when the node class changes, the
    /// NodeRegistrationHealthy condition is reset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_class_observed_generation: Option<i64>,
    /// ValidationSucceeded, NodeClassReady, NodeRegistrationHealthy and Ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Option<Vec<Condition>>,
}

impl NodePoolStatus {
    /// The condition of type `type_` (one of the `CONDITION_*` constants), if there is one.
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions.as_deref()?.iter().find(|c| c.type_ == type_)
    }

    /// Whether the condition of type `type_` is there and True.
    pub fn is_true(&self, type_: &str) -> bool {
        self.condition(type_).is_some_and(|c| c.status == ConditionStatus::True)
    }
}

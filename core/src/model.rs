//! The model every job works on: pods, workloads, DaemonSets, nodes, NodePools, EC2NodeClasses,
//! PodDisruptionBudgets and volume topology. [`crate::manifest`] builds it from Kubernetes
//! objects; it serialises to the same JSON everywhere.

use crate::labels;
use crate::quantity::Quantity;
use crate::requirements::{Requirement, RequirementSpec, Requirements};
use crate::resources::{Bytes, Resources};
use crate::taints::{Taint, Toleration};
use crate::time::{Duration, NillableDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub type Labels = BTreeMap<String, String>;

/// Which object something came from: `Deployment shop/web`, `NodePool default`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectRef {
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    pub name: String,
}

impl ObjectRef {
    pub fn new(kind: &str, namespace: &str, name: &str) -> Self {
        ObjectRef { kind: kind.into(), namespace: namespace.into(), name: name.into() }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// `matchLabels` + `matchExpressions` (operators In, NotIn, Exists, DoesNotExist).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
pub struct LabelSelector {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: Labels,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<Requirement>,
}

impl LabelSelector {
    /// Whether a set of labels is selected. An empty selector selects everything.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.match_labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| match labels.get(r.key()) {
                Some(v) => r.has(v),
                None => {
                    !matches!(r.operator(), crate::requirements::Operator::In | crate::requirements::Operator::Exists)
                }
            })
    }
}

/// Node affinity: required terms are ORed (each term's expressions ANDed); preferred terms
/// carry weights and are dropped, heaviest last, when relaxing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
pub struct NodeAffinity {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<Requirements>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub preferred: Vec<Weighted<Requirements>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Weighted<T> {
    pub weight: i32,
    #[serde(flatten)]
    pub term: T,
}

/// A pod (anti-)affinity term.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct PodAffinityTerm {
    pub selector: LabelSelector,
    pub topology_key: String,
    /// Namespaces the selector applies to; empty means the pod's own namespace unless a
    /// namespace selector is given.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub match_label_keys: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mismatch_label_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
pub struct PodAffinity {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<PodAffinityTerm>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub preferred: Vec<Weighted<PodAffinityTerm>>,
}

impl PodAffinity {
    pub fn is_empty(&self) -> bool {
        self.required.is_empty() && self.preferred.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum WhenUnsatisfiable {
    #[default]
    DoNotSchedule,
    ScheduleAnyway,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NodeInclusionPolicy {
    Honor,
    Ignore,
}

/// A topology spread constraint with Kubernetes' defaults filled in
/// (nodeAffinityPolicy Honor, nodeTaintsPolicy Ignore).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct TopologySpreadConstraint {
    pub max_skew: i32,
    pub topology_key: String,
    pub when_unsatisfiable: WhenUnsatisfiable,
    pub selector: LabelSelector,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_domains: Option<i32>,
    pub node_affinity_policy: NodeInclusionPolicy,
    pub node_taints_policy: NodeInclusionPolicy,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub match_label_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct HostPort {
    pub port: u16,
    pub protocol: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host_ip: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum PodPhase {
    #[default]
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
}

/// A pod as the scheduler sees it. Workload replicas that do not exist yet are pods too,
/// named `<workload>-<ordinal>`, with `owner` naming the workload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pod {
    pub namespace: String,
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: Labels,
    /// The workload this pod belongs to (Deployment, StatefulSet, ReplicaSet, Job, CronJob,
    /// DaemonSet), after following ownerReferences up (ReplicaSet → Deployment, Job → CronJob).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<ObjectRef>,
    /// Effective requests as Kubernetes computes them (init containers, sidecars, overhead,
    /// limits as defaults), plus `pods: 1`.
    pub requests: Resources,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: Labels,
    pub node_affinity: NodeAffinity,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    pub pod_affinity: PodAffinity,
    pub pod_anti_affinity: PodAffinity,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub topology_spread: Vec<TopologySpreadConstraint>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub host_ports: Vec<HostPort>,
    /// PersistentVolumeClaims (in the pod's namespace) the pod mounts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volume_claims: Vec<String>,
    pub priority: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<Timestamp>,
    /// The node the pod is bound to; `None` for pending pods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    pub phase: PodPhase,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub termination_grace_period: Option<Duration>,
    /// Marked for deletion (`metadata.deletionTimestamp`).
    pub deleting: bool,
}

impl Pod {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        // Built directly: plans name every pod, and the formatting machinery costs more than
        // the copy.
        let mut key = String::with_capacity(self.namespace.len() + 1 + self.name.len());
        key.push_str(&self.namespace);
        key.push('/');
        key.push_str(&self.name);
        key
    }

    /// The node requirements Karpenter starts from: the nodeSelector and the first required
    /// node-affinity term (later terms are tried by relaxation).
    pub fn strict_requirements(&self) -> Requirements {
        let mut reqs = Requirements::from_labels(&self.node_selector);
        if let Some(term) = self.node_affinity.required.first() {
            reqs = reqs.intersection(term);
        }
        reqs
    }

    /// Whether the pod is pending and wants a node (not bound, not finished, not deleting).
    pub fn is_pending(&self) -> bool {
        self.node_name.is_none() && matches!(self.phase, PodPhase::Pending) && !self.deleting
    }

    /// The workload's display name, or the pod's own (`Deployment shop/web`, `Pod shop/x`).
    pub fn workload(&self) -> ObjectRef {
        self.owner.clone().unwrap_or_else(|| ObjectRef::new("Pod", &self.namespace, &self.name))
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str)
    }
}

/// A workload the inventory expanded into pods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Workload {
    pub reference: ObjectRef,
    /// Desired replicas (parallelism for Jobs), after any HorizontalPodAutoscaler's rule.
    pub replicas: u32,
    /// Of those, how many already exist as Pod objects in the input.
    pub existing: u32,
    /// The HorizontalPodAutoscaler that scales it, if the input has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaler: Option<ObjectRef>,
}

/// A DaemonSet: one pod per matching node, counted as overhead on every new node it lands on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DaemonSet {
    pub namespace: String,
    pub name: String,
    pub template: Pod,
}

/// A `karpenter.sh/v1` NodeClaim: a node asked for. Once its Node exists (same providerID or
/// `status.nodeName`), the Node stands for it; until then it is capacity in flight.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeClaim {
    pub name: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: Labels,
    /// Its requirements as written (instance types, zones, capacity types, NodePool, ...).
    pub requirements: Vec<RequirementSpec>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<Taint>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub startup_taints: Vec<Taint>,
    /// `spec.resources.requests`: what its pods and DaemonSets asked of it.
    pub requests: Resources,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_class_ref: Option<NodeClassRef>,
    /// `status.providerID`, once launched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    /// `status.nodeName`, once registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// `status.capacity` and `status.allocatable`, once launched (`None` before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<Resources>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocatable: Option<Resources>,
    pub deleting: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<Timestamp>,
}

impl NodeClaim {
    /// The NodePool that made it (its `karpenter.sh/nodepool` label).
    pub fn nodepool(&self) -> Option<&str> {
        self.labels.get(labels::NODEPOOL).map(String::as_str)
    }
}

/// A node of an existing cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    pub name: String,
    pub labels: Labels,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: Labels,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<Taint>,
    pub capacity: Resources,
    pub allocatable: Resources,
    pub unschedulable: bool,
    pub ready: bool,
    pub deleting: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
}

impl Node {
    fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }
    pub fn instance_type(&self) -> Option<&str> {
        self.label(labels::INSTANCE_TYPE)
    }
    pub fn zone(&self) -> Option<&str> {
        self.label(labels::ZONE)
    }
    pub fn capacity_type(&self) -> Option<&str> {
        self.label(labels::CAPACITY_TYPE)
    }
    /// The NodePool that manages this node, if Karpenter launched it.
    pub fn nodepool(&self) -> Option<&str> {
        self.label(labels::NODEPOOL)
    }
    /// The node's labels as requirements (`key In [value]` each).
    pub fn requirements(&self) -> Requirements {
        Requirements::from_labels(&self.labels)
    }
}

/// `group`/`kind`/`name` of the node class a NodePool uses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeClassRef {
    pub group: String,
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum ConsolidationPolicy {
    WhenEmpty,
    #[default]
    WhenEmptyOrUnderutilized,
    /// Karpenter's newest policy: underutilized nodes too, but only moves whose share of the
    /// NodePool's savings is at least half their share of its disruption.
    Balanced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DisruptionReason {
    Underutilized,
    Empty,
    Drifted,
}

/// An integer or a percentage (`3`, `"10%"`), as budgets and PDBs write them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IntOrPercent {
    Int(u32),
    Percent(u32),
}

impl IntOrPercent {
    /// The absolute number out of `total`; percentages round up (Karpenter budgets, PDB
    /// `maxUnavailable`) or down when `round_up` is false (PDB `minAvailable` rounds up too in
    /// Kubernetes, so callers choose).
    pub fn resolve(self, total: u32, round_up: bool) -> u32 {
        match self {
            IntOrPercent::Int(n) => n,
            IntOrPercent::Percent(p) => {
                let scaled = total as u64 * p as u64;
                (if round_up { scaled.div_ceil(100) } else { scaled / 100 }) as u32
            }
        }
    }
}

impl fmt::Display for IntOrPercent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntOrPercent::Int(n) => write!(f, "{n}"),
            IntOrPercent::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// A disruption budget of a NodePool.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Budget {
    pub nodes: IntOrPercent,
    /// Cron schedule (UTC) during which the budget is active; always active when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<Duration>,
    /// The reasons the budget applies to; all reasons when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<DisruptionReason>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Disruption {
    pub consolidation_policy: ConsolidationPolicy,
    pub consolidate_after: NillableDuration,
    pub budgets: Vec<Budget>,
}

impl Default for Disruption {
    /// Karpenter's defaults: WhenEmptyOrUnderutilized, consolidateAfter 0s, one budget of 10%.
    fn default() -> Self {
        Disruption {
            consolidation_policy: ConsolidationPolicy::WhenEmptyOrUnderutilized,
            consolidate_after: NillableDuration::After(Duration(0)),
            budgets: vec![Budget { nodes: IntOrPercent::Percent(10), schedule: None, duration: None, reasons: vec![] }],
        }
    }
}

/// A hash written on an object for static drift ([`crate::labels::NODEPOOL_HASH`],
/// [`crate::labels::NODECLASS_HASH`]), with its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateHash {
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl TemplateHash {
    /// The hash in `annotations` under `key`, with its version under `version_key`.
    pub fn from_annotations(annotations: &Labels, key: &str, version_key: &str) -> Option<TemplateHash> {
        let value = annotations.get(key).filter(|v| !v.is_empty())?;
        Some(TemplateHash { value: value.clone(), version: annotations.get(version_key).cloned() })
    }

    /// Why an object stamped with `self` has drifted from `current`: both written by the same
    /// version of the hash function, and different. Hashes of different versions are not
    /// compared (the object is stamped again instead, as Karpenter does).
    pub fn drifted_from(&self, current: &TemplateHash) -> bool {
        self.version == current.version && self.value != current.value
    }
}

/// A `karpenter.sh/v1` NodePool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodePool {
    pub name: String,
    /// Higher weight is tried first; `None` counts as 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: Labels,
    /// The requirements as written, in order.
    pub requirement_specs: Vec<RequirementSpec>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<Taint>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub startup_taints: Vec<Taint>,
    pub expire_after: NillableDuration,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub termination_grace_period: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_class_ref: Option<NodeClassRef>,
    /// Resource limits; a resource not listed is unlimited.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, Quantity>,
    pub disruption: Disruption,
    /// The template's hash in the NodePool's own annotations ([`crate::labels::NODEPOOL_HASH`]),
    /// when a controller wrote one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<TemplateHash>,
}

impl NodePool {
    /// The requirements a node of this pool carries: the written requirements, the template
    /// labels, and `karpenter.sh/nodepool In [name]` (as Karpenter builds them).
    pub fn requirements(&self) -> Requirements {
        let mut reqs = Requirements::new();
        for spec in &self.requirement_specs {
            if let Ok(r) = Requirement::from_spec(spec) {
                reqs.add(r);
            }
        }
        for (k, v) in &self.labels {
            reqs.add(Requirement::single(k, v.clone()));
        }
        reqs.add(Requirement::single(labels::NODEPOOL, self.name.clone()));
        reqs
    }

    pub fn weight(&self) -> i32 {
        self.weight.unwrap_or(0)
    }

    /// The limit of one resource in its base unit (millicores for cpu); `None` if unlimited.
    pub fn limit(&self, resource: &str) -> Option<i64> {
        self.limits.get(resource).map(|q| if resource == crate::resources::CPU { q.milli() } else { q.units() })
    }

    /// NodePools in the order Karpenter tries them: weight descending, then name descending.
    pub fn sort_by_weight(pools: &mut [NodePool]) {
        pools.sort_by(|a, b| b.weight().cmp(&a.weight()).then_with(|| b.name.cmp(&a.name)));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum AmiFamily {
    AL2,
    #[default]
    AL2023,
    Bottlerocket,
    Windows2019,
    Windows2022,
    Custom,
}

impl AmiFamily {
    /// Whether max pods follow the ENI limit (else 110).
    pub fn eni_limited_pods(self) -> bool {
        matches!(self, AmiFamily::AL2 | AmiFamily::AL2023 | AmiFamily::Bottlerocket | AmiFamily::Custom)
    }
}

/// An eviction threshold: an absolute quantity or a percentage of capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Threshold {
    Quantity(Quantity),
    /// Percent of capacity, in hundredths of a percent for exactness (`7.5%` = 750).
    Percent(u32),
}

/// The kubelet settings of an EC2NodeClass that change a node's capacity.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct KubeletConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_pods: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pods_per_core: Option<u32>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub kube_reserved: BTreeMap<String, Quantity>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub system_reserved: BTreeMap<String, Quantity>,
    /// Keys are signals such as `memory.available`, `nodefs.available`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub eviction_hard: BTreeMap<String, Threshold>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub eviction_soft: BTreeMap<String, Threshold>,
}

/// A `karpenter.k8s.aws/v1` EC2NodeClass, reduced to what changes capacity.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct NodeClass {
    pub name: String,
    pub ami_family: AmiFamily,
    pub kubelet: KubeletConfig,
    /// Size of the volume that holds ephemeral storage (the root volume, or Bottlerocket's
    /// data volume); `None` for the AMI family's default (20Gi).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_volume_size: Option<Bytes>,
    /// `RAID0` puts ephemeral storage on the instance-store NVMe disks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_store_policy: Option<String>,
    /// The zones of the subnets Karpenter resolved (`status.subnets[].zone` of a `kubectl get
    /// ec2nodeclass -o json` snapshot), sorted and unique; empty when the input has no status.
    /// As in Karpenter, nodes of this class launch only in these zones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnet_zones: Vec<String>,
    /// The spec's hash in the EC2NodeClass's annotations ([`crate::labels::NODECLASS_HASH`]),
    /// when a controller wrote one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<TemplateHash>,
}

/// A PodDisruptionBudget.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PodDisruptionBudget {
    pub namespace: String,
    pub name: String,
    pub selector: LabelSelector,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_available: Option<IntOrPercent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrPercent>,
    /// `status.disruptionsAllowed` when the object came from a live cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disruptions_allowed: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersistentVolumeClaim {
    pub namespace: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_name: Option<String>,
    pub storage: Bytes,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersistentVolume {
    pub name: String,
    /// Required node-affinity terms (ORed); empty when the volume can attach anywhere.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub node_affinity: Vec<Requirements>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim: Option<ObjectRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum VolumeBindingMode {
    #[default]
    Immediate,
    WaitForFirstConsumer,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StorageClass {
    pub name: String,
    pub provisioner: String,
    pub volume_binding_mode: VolumeBindingMode,
    /// Allowed topologies (ORed terms); empty when unrestricted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_topologies: Vec<Requirements>,
    pub is_default: bool,
}

/// An object the input held that fleetfit does not model, reported rather than dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub reason: String,
    /// The object makes pods (it carries a pod template) that no plan counts: every answer
    /// built on this inventory is missing them, and says so in its warnings.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pods_not_counted: bool,
}

/// Everything read from a set of manifests or a cluster snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Inventory {
    /// Every pod: existing ones (bound or pending) and the not-yet-created replicas of
    /// workloads, in input order.
    pub pods: Vec<Pod>,
    pub workloads: Vec<Workload>,
    pub daemonsets: Vec<DaemonSet>,
    pub nodes: Vec<Node>,
    /// NodeClaims of the input (see [`NodeClaim`]; [`Inventory::in_flight`] are those without
    /// a Node yet).
    pub nodeclaims: Vec<NodeClaim>,
    pub nodepools: Vec<NodePool>,
    pub nodeclasses: Vec<NodeClass>,
    pub pdbs: Vec<PodDisruptionBudget>,
    pub pvcs: Vec<PersistentVolumeClaim>,
    pub pvs: Vec<PersistentVolume>,
    pub storage_classes: Vec<StorageClass>,
    pub skipped: Vec<Skipped>,
    /// What reading the input assumed or changed that the user should know: conversions of
    /// older API versions, fields ignored under `--validate warn`.
    pub notes: Vec<String>,
}

impl Inventory {
    /// Pods waiting for a node.
    pub fn pending_pods(&self) -> impl Iterator<Item = &Pod> {
        self.pods.iter().filter(|p| p.is_pending())
    }

    /// Adds another inventory's objects after this one's.
    pub fn extend(&mut self, other: Inventory) {
        self.pods.extend(other.pods);
        self.workloads.extend(other.workloads);
        self.daemonsets.extend(other.daemonsets);
        self.nodes.extend(other.nodes);
        self.nodeclaims.extend(other.nodeclaims);
        self.nodepools.extend(other.nodepools);
        self.nodeclasses.extend(other.nodeclasses);
        self.pdbs.extend(other.pdbs);
        self.pvcs.extend(other.pvcs);
        self.pvs.extend(other.pvs);
        self.storage_classes.extend(other.storage_classes);
        self.skipped.extend(other.skipped);
        self.notes.extend(other.notes);
    }

    /// What every answer built on this inventory must warn about: objects whose pods are not
    /// counted.
    pub fn warnings(&self) -> Vec<String> {
        self.skipped
            .iter()
            .filter(|s| s.pods_not_counted)
            .map(|s| format!("pods not counted: {} {} ({}): {}", s.kind, s.name, s.api_version, s.reason))
            .collect()
    }

    pub fn nodeclass(&self, name: &str) -> Option<&NodeClass> {
        self.nodeclasses.iter().find(|c| c.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requirements::Operator;

    #[test]
    fn selectors_match_labels() {
        let labels: Labels = [("app".to_string(), "web".to_string())].into();
        let mut sel = LabelSelector::default();
        assert!(sel.matches(&labels));
        sel.match_labels.insert("app".into(), "web".into());
        assert!(sel.matches(&labels));
        sel.match_expressions.push(Requirement::new("tier", Operator::NotIn, &["db".into()]).unwrap());
        assert!(sel.matches(&labels));
        sel.match_expressions.push(Requirement::new("tier", Operator::Exists, &[]).unwrap());
        assert!(!sel.matches(&labels));
    }

    #[test]
    fn budgets_round_up() {
        assert_eq!(IntOrPercent::Percent(10).resolve(11, true), 2);
        assert_eq!(IntOrPercent::Percent(10).resolve(11, false), 1);
        assert_eq!(IntOrPercent::Int(3).resolve(11, true), 3);
    }
}

//! Constraint filtering: for each shape class of pending pods, the (NodePool, instance type,
//! offerings) candidates that can host it — and for every rejected NodePool or instance type,
//! the reason in words a user can act on.
//!
//! The checks follow Karpenter's order when it adds a pod to a new NodeClaim: NodePool taints,
//! requirement compatibility (pod ∩ NodePool), then per instance type its requirements, its
//! allocatable against the pod's requests plus DaemonSet overhead, a compatible offering, the
//! NodePool's limits, and finally minValues over the surviving types.

use crate::catalog::{Catalog, InstanceType, Offering, SizedTypes};
use crate::labels;
use crate::model::{Inventory, NodeClass, NodePool, ObjectRef, Pod};
use crate::requirements::{Conflict, Operator, Requirement, RequirementSpec, Requirements};
use crate::resources::{describe_amount, format_amount, Resources, CPU};
use crate::taints::{Taint, TaintEffect, Toleration};
use crate::volumes::volume_requirements;
use crate::{Error, Result};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// Pods that are identical for scheduling purposes, filtered once.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeClass {
    /// Requests of one pod (including `pods: 1`).
    pub requests: Resources,
    /// Alternative node requirements (required node-affinity terms, each combined with the
    /// nodeSelector and the volumes' topology); the pod fits if any one is satisfied.
    pub terms: Vec<Requirements>,
    pub tolerations: Vec<Toleration>,
    /// Indices of the pods (in the slice given to [`shape_classes`]).
    pub pods: Vec<usize>,
    /// The workloads the pods belong to, in first-seen order.
    pub workloads: Vec<ObjectRef>,
    /// Set when the pods' volumes cannot be resolved; the class has no candidate.
    pub volume_error: Option<String>,
}

/// Groups pods into shape classes, in order of first appearance.
///
/// Pods share a class when nothing that decides where they may go tells them apart:
/// requests, node constraints, tolerations, volumes, and what topology sees of them
/// (namespace, affinities, spread, host ports, and the labels some selector reads). Labels no
/// selector reads — a standalone pod's own `run: <name>`, a StatefulSet pod's
/// `statefulset.kubernetes.io/pod-name` — do not split a class, so 20,000 standalone pods of
/// one shape are one class, as 20,000 replicas are.
pub fn shape_classes(pods: &[&Pod], inventory: &Inventory) -> Vec<ShapeClass> {
    /// Everything that decides where a pod may go (see above).
    type Key<'a> = (
        (&'a Resources, &'a BTreeMap<String, String>, &'a crate::model::NodeAffinity, &'a [Toleration]),
        Option<std::result::Result<Option<Requirements>, String>>,
        (&'a str, Vec<(&'a str, &'a str)>, &'a crate::model::PodAffinity, &'a crate::model::PodAffinity),
        (&'a [crate::model::TopologySpreadConstraint], &'a [crate::model::HostPort]),
    );
    let read = selected_label_keys(pods, inventory);
    // Keys hashed once each: as the index grows it rehashes the numbers, not the keys (with
    // thousands of classes, rehashing was a third of the work).
    let hasher = std::hash::RandomState::new();
    let mut index: HashMap<Prehashed<Key<'_>>, usize> = HashMap::new();
    let mut classes: Vec<ShapeClass> = Vec::new();
    // Per class, its workloads already listed (kind, namespace, name).
    let mut seen_workloads: Vec<HashSet<(&str, &str, &str)>> = Vec::new();
    for (i, pod) in pods.iter().enumerate() {
        let volumes = (!pod.volume_claims.is_empty()).then(|| volume_requirements(pod, inventory));
        let labels: Vec<(&str, &str)> = if read.is_empty() {
            Vec::new()
        } else {
            pod.labels
                .iter()
                .filter(|(k, _)| read.contains(k.as_str()))
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect()
        };
        let key: Key<'_> = (
            (&pod.requests, &pod.node_selector, &pod.node_affinity, &pod.tolerations),
            volumes.clone(),
            (&pod.namespace, labels, &pod.pod_affinity, &pod.pod_anti_affinity),
            (&pod.topology_spread, &pod.host_ports),
        );
        let key = Prehashed { hash: std::hash::BuildHasher::hash_one(&hasher, &key), key };
        let class = *index.entry(key).or_insert_with(|| {
            let (extra, volume_error) = match volumes {
                Some(Ok(reqs)) => (reqs, None),
                Some(Err(e)) => (None, Some(e)),
                None => (None, None),
            };
            classes.push(ShapeClass {
                requests: pod.requests.clone(),
                terms: node_terms(pod, extra.as_ref()),
                tolerations: pod.tolerations.clone(),
                pods: Vec::new(),
                workloads: Vec::new(),
                volume_error,
            });
            seen_workloads.push(HashSet::new());
            classes.len() - 1
        });
        let c = &mut classes[class];
        c.pods.push(i);
        let workload = match &pod.owner {
            Some(o) => (o.kind.as_str(), o.namespace.as_str(), o.name.as_str()),
            None => ("Pod", pod.namespace.as_str(), pod.name.as_str()),
        };
        if seen_workloads[class].insert(workload) {
            c.workloads.push(pod.workload());
        }
    }
    classes
}

/// A map key with its hash computed once (see [`shape_classes`]).
struct Prehashed<K> {
    hash: u64,
    key: K,
}

impl<K: PartialEq> PartialEq for Prehashed<K> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.key == other.key
    }
}

impl<K: Eq> Eq for Prehashed<K> {}

impl<K> std::hash::Hash for Prehashed<K> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The pod label keys some selector may read: those of the label selectors, `matchLabelKeys`
/// and `mismatchLabelKeys` of every topology spread constraint and pod (anti-)affinity term of
/// `pods`, of the inventory's pods and of its DaemonSets' pods. Pods whose labels agree on
/// these keys are selected alike by every group topology forms.
fn selected_label_keys<'a>(pods: &[&'a Pod], inventory: &'a Inventory) -> HashSet<&'a str> {
    fn selector_keys<'a>(selector: &'a crate::model::LabelSelector, out: &mut HashSet<&'a str>) {
        out.extend(selector.match_labels.keys().map(String::as_str));
        out.extend(selector.match_expressions.iter().map(|r| r.key()));
    }
    fn term_keys<'a>(term: &'a crate::model::PodAffinityTerm, out: &mut HashSet<&'a str>) {
        selector_keys(&term.selector, out);
        out.extend(term.match_label_keys.iter().chain(&term.mismatch_label_keys).map(String::as_str));
    }
    let mut out = HashSet::new();
    let templates = inventory.daemonsets.iter().map(|d| &d.template);
    for pod in pods.iter().copied().chain(&inventory.pods).chain(templates) {
        for c in &pod.topology_spread {
            selector_keys(&c.selector, &mut out);
            out.extend(c.match_label_keys.iter().map(String::as_str));
        }
        for affinity in [&pod.pod_affinity, &pod.pod_anti_affinity] {
            for term in affinity.required.iter().chain(affinity.preferred.iter().map(|w| &w.term)) {
                term_keys(term, &mut out);
            }
        }
    }
    out
}

/// The pod's alternative node requirements: nodeSelector ∩ each required term ∩ volumes.
pub(crate) fn node_terms(pod: &Pod, volumes: Option<&Requirements>) -> Vec<Requirements> {
    let mut base = Requirements::from_labels(&pod.node_selector);
    if let Some(v) = volumes {
        base = base.intersection(v);
    }
    if pod.node_affinity.required.is_empty() {
        vec![base]
    } else {
        pod.node_affinity.required.iter().map(|term| base.intersection(term)).collect()
    }
}

/// Karpenter's getting-started NodePool, used when the input has none: linux, amd64 and
/// arm64, on-demand and spot, families c/m/r of generation 3 and later.
pub fn default_nodepool() -> NodePool {
    let spec = |key: &str, operator, values: &[&str]| RequirementSpec {
        key: key.into(),
        operator,
        values: values.iter().map(|s| s.to_string()).collect(),
        min_values: None,
    };
    NodePool {
        name: "default".into(),
        weight: None,
        labels: Default::default(),
        annotations: Default::default(),
        requirement_specs: vec![
            spec(labels::OS, Operator::In, &["linux"]),
            spec(labels::ARCH, Operator::In, &["amd64", "arm64"]),
            spec(labels::CAPACITY_TYPE, Operator::In, &["on-demand", "spot"]),
            spec(labels::INSTANCE_CATEGORY, Operator::In, &["c", "m", "r"]),
            spec(labels::INSTANCE_GENERATION, Operator::Gt, &["2"]),
        ],
        taints: vec![],
        startup_taints: vec![],
        expire_after: crate::time::NillableDuration::After(crate::time::Duration::from_secs(720 * 3600)),
        termination_grace_period: None,
        node_class_ref: None,
        limits: Default::default(),
        disruption: Default::default(),
        hash: None,
    }
}

/// Checks the values a NodePool's `In`/`NotIn` requirements give instance-type labels
/// (`node.kubernetes.io/instance-type`, `karpenter.k8s.aws/instance-family`, zones, ...) against
/// the values the catalog's types have. A pattern (`t3.*`) is an error, as Karpenter v1 matches
/// values literally and the pool would silently allow nothing; so is a near miss of a known value
/// (`m5.larg`); a value no type has and nothing resembles is a note (a type newer than the catalog).
fn unmatched_values(pool: &NodePool, types: &[InstanceType], notes: &mut Vec<String>) -> Vec<Error> {
    fn labelled<'t>(t: &'t InstanceType, key: &str) -> Option<&'t crate::requirements::Requirement> {
        t.requirements.get(key).filter(|r| !r.is_complement())
    }
    let mut errors = Vec::new();
    for (i, spec) in pool.requirement_specs.iter().enumerate() {
        let key = labels::normalize(&spec.key);
        if !matches!(spec.operator, Operator::In | Operator::NotIn) || key == labels::NODEPOOL {
            continue;
        }
        // The usual case, every value some type has, is told without listing the values.
        if spec.values.iter().all(|v| types.iter().any(|t| labelled(t, key).is_some_and(|r| r.has(v)))) {
            continue;
        }
        let known: BTreeSet<&str> = types.iter().filter_map(|t| labelled(t, key)).flat_map(|r| r.values()).collect();
        if known.is_empty() {
            continue; // a label of the NodePool's own, not of instance types
        }
        for (j, value) in spec.values.iter().enumerate() {
            if known.contains(value.as_str()) {
                continue;
            }
            let field = format!("spec.template.spec.requirements[{i}].values[{j}]");
            let object = format!("NodePool {}", pool.name);
            if value.contains(['*', '?']) {
                errors.push(Error::field(object, field, pattern_message(key, value, &known)));
            } else if let Some(meant) =
                crate::suggest::closest(value, known.iter().copied()).filter(|_| key != labels::ZONE)
            {
                errors.push(Error::field(
                    object,
                    field,
                    format!("no instance type has {key} {value:?}; did you mean {meant:?}?"),
                ));
            } else {
                notes.push(format!("{object}: {field}: no instance type in this catalog has {key} {value:?}"));
            }
        }
    }
    errors
}

/// Why `t3.*` matches nothing, and the requirement that says what was meant.
fn pattern_message(key: &str, pattern: &str, known: &BTreeSet<&str>) -> String {
    let head =
        format!("{pattern:?} matches no {key}: Karpenter v1 compares In and NotIn values literally, not as patterns");
    let prefix = pattern.split(['*', '?']).next().unwrap_or("").trim_end_matches('.');
    let matching = known.iter().filter(|v| v.starts_with(prefix)).count();
    if key == labels::INSTANCE_TYPE && !prefix.is_empty() && !prefix.contains('.') {
        let family = format!("{prefix}.");
        if known.iter().any(|v| v.starts_with(&family)) {
            return format!("{head}; for every {prefix} type write {} In [{prefix}]", labels::INSTANCE_FAMILY);
        }
    }
    if matching > 0 && !prefix.is_empty() {
        format!("{head}; list the {matching} values it was meant to match, or constrain a broader label")
    } else {
        head
    }
}

/// The note every answer carries when the input has no NodePool: which stand-in was used, and
/// that it is fleetfit's, not Karpenter's (Karpenter launches nothing without a NodePool).
pub fn default_nodepool_note() -> String {
    let requirements: Vec<String> = default_nodepool()
        .requirement_specs
        .iter()
        .map(|r| format!("{} {} [{}]", r.key, r.operator, r.values.join(", ")))
        .collect();
    format!(
        "no NodePool given: planned with fleetfit's stand-in NodePool \"default\" (Karpenter has none and would \
         launch nothing; this is the NodePool of its getting-started guide): {}; give your NodePools to plan with them",
        requirements.join(", ")
    )
}

/// What filtering works against: each NodePool with its requirements, its instance types
/// (allocatable under its EC2NodeClass) and its DaemonSet overhead, prepared once.
pub struct FilterContext {
    pub region: String,
    pub currency: String,
    pub notes: Vec<String>,
    pub pools: Vec<PoolContext>,
    /// Filters already worked out (see [`FilterContext::filter_cached`]).
    cache: FilterCache,
}

/// What filtering reads of a shape class: requests, node terms, tolerations, volume error.
type FilterKey = (Resources, Vec<Requirements>, Vec<Toleration>, Option<String>);

/// Filters by the hash of their [`FilterKey`].
type FilterBuckets = HashMap<u64, Vec<(FilterKey, Arc<ClassFilter>)>>;

#[derive(Default)]
struct FilterCache(std::sync::Mutex<FilterBuckets>);

/// [`FilterContext::filter_cached`] forgets everything past this many classes.
const FILTER_CACHE_CLASSES: usize = 4096;

pub struct PoolContext {
    pub nodepool: NodePool,
    pub requirements: Requirements,
    pub instance_types: Arc<Vec<InstanceType>>,
    /// Requests of the DaemonSet pods that would run on a node of this pool.
    pub daemon_overhead: Resources,
    /// Per instance type: the pool-level verdict (its own requirements and limits).
    type_verdicts: Vec<TypeVerdict>,
    /// Per instance type: allocatable less the DaemonSet overhead.
    pub(crate) type_space: Vec<Resources>,
    /// Per instance type: its space's CPU, memory, pods and ephemeral storage, for quick fits.
    pub(crate) type_core: Vec<[i64; 4]>,
    /// Per instance type: offerings compatible with the pool (bit mask) and the cheapest price.
    pub(crate) type_offerings: Vec<(u64, f64)>,
    /// What the pool's instance types are, whatever the pool (shared by the pools of a class).
    pub(crate) facts: Arc<SizedTypes>,
    /// The pool's types laid out for packing, once a packing run asks (then shared by every
    /// run on this context, as consolidation's trials are).
    pub(crate) type_table: std::sync::OnceLock<Arc<crate::pack::TypeTable>>,
}

impl PoolContext {
    /// Whether the NodePool's own requirements, limits and offerings allow instance type `t`.
    pub fn allows(&self, t: usize) -> bool {
        matches!(self.type_verdicts[t], TypeVerdict::Ok)
    }

    /// How many instance types the NodePool's own requirements and limits allow.
    pub fn allowed_instance_types(&self) -> usize {
        self.type_verdicts.iter().filter(|v| matches!(v, TypeVerdict::Ok)).count()
    }
}

#[derive(Debug, Clone, Copy)]
enum TypeVerdict {
    Ok,
    /// The type's label on this key is outside the pool's requirement.
    Requirement(usize),
    /// Capacity of this resource exceeds the pool's limit.
    Limit(usize),
    /// No available offering in the pool's zones and capacity types.
    Offering,
}

impl FilterContext {
    /// Prepares NodePools (sorted by weight, as Karpenter tries them) against a catalog.
    /// NodePools whose EC2NodeClass is not given use the AL2023 defaults, with a note.
    pub fn new(
        nodepools: &[NodePool],
        nodeclasses: &[NodeClass],
        daemonsets: &[&Pod],
        catalog: &Catalog,
    ) -> Result<Self> {
        let mut pools_sorted = nodepools.to_vec();
        NodePool::sort_by_weight(&mut pools_sorted);
        let mut notes: Vec<String> = catalog.notes().to_vec();
        let mut errors = Vec::new();
        let mut by_class: BTreeMap<String, Arc<SizedTypes>> = BTreeMap::new();
        let mut pools = Vec::with_capacity(pools_sorted.len());
        for pool in pools_sorted {
            let class_name = pool.node_class_ref.as_ref().map(|r| r.name.clone());
            let nodeclass = match &class_name {
                Some(name) => match nodeclasses.iter().find(|c| &c.name == name) {
                    Some(c) => c.clone(),
                    None => {
                        notes.push(format!(
                            "NodePool {} uses EC2NodeClass {name}, which is not in the input; assuming AL2023 defaults",
                            pool.name
                        ));
                        NodeClass { name: name.clone(), ..NodeClass::default() }
                    }
                },
                None => NodeClass::default(),
            };
            let facts = by_class.entry(nodeclass.name.clone()).or_insert_with(|| catalog.sized(&nodeclass)).clone();
            let types = facts.types.clone();
            if let Some(t) = types.iter().find(|t| t.offerings.len() > 64) {
                return Err(Error::Usage(format!(
                    "instance type {} has {} offerings; at most 64 per type are supported",
                    t.name,
                    t.offerings.len()
                )));
            }
            errors.extend(unmatched_values(&pool, &types, &mut notes));
            let requirements = pool.requirements();
            if requirements.get(labels::CAPACITY_TYPE).is_none() {
                notes.push(format!(
                    "NodePool {} does not restrict {}: as in Karpenter, every capacity type is allowed and spot is \
                     launched wherever it is offered and cheaper; add {} In [on-demand] for on-demand only",
                    pool.name,
                    labels::CAPACITY_TYPE,
                    labels::CAPACITY_TYPE
                ));
            }
            let daemon_overhead = daemon_overhead(&pool, &requirements, daemonsets);
            let keys: Vec<&Requirement> = requirements.iter().collect();
            let limits: Vec<(&String, i64)> =
                pool.limits.keys().filter_map(|k| pool.limit(k).map(|v| (k, v))).collect();
            let (zone, capacity_type) = (requirements.get(labels::ZONE), requirements.get(labels::CAPACITY_TYPE));
            let type_verdicts = types
                .iter()
                .map(|t| {
                    for (i, r) in keys.iter().enumerate() {
                        if is_offering_key(r.key()) {
                            continue;
                        }
                        if let Some(tr) = t.requirements.get(r.key()) {
                            if !tr.compatible_with(r) {
                                return TypeVerdict::Requirement(i);
                            }
                        }
                    }
                    for (i, (res, limit)) in limits.iter().enumerate() {
                        if t.capacity.get(res) > *limit {
                            return TypeVerdict::Limit(i);
                        }
                    }
                    if matching_offerings(t, zone, capacity_type).0 == 0 {
                        return TypeVerdict::Offering;
                    }
                    TypeVerdict::Ok
                })
                .collect();
            let type_space: Vec<Resources> = types.iter().map(|t| t.allocatable.sub(&daemon_overhead)).collect();
            let type_core = type_space.iter().map(Resources::core).collect();
            let type_offerings = types.iter().map(|t| matching_offerings(t, zone, capacity_type)).collect();
            pools.push(PoolContext {
                nodepool: pool,
                requirements,
                instance_types: types,
                daemon_overhead,
                type_verdicts,
                type_space,
                type_core,
                type_offerings,
                facts,
                type_table: std::sync::OnceLock::new(),
            });
        }
        Error::collect(errors)?;
        Ok(FilterContext {
            region: catalog.region().to_string(),
            currency: catalog.currency().to_string(),
            notes,
            pools,
            cache: FilterCache::default(),
        })
    }
}

/// Requests of DaemonSet pods that tolerate the pool's taints and whose node requirements are
/// compatible with the pool's (Karpenter's daemon overhead per NodeClaim template).
pub(crate) fn daemon_overhead(pool: &NodePool, requirements: &Requirements, daemonsets: &[&Pod]) -> Resources {
    let mut total = Resources::default();
    for ds in daemonsets {
        if crate::taints::first_untolerated(&pool.taints, &ds.tolerations).is_some() {
            continue;
        }
        if node_terms(ds, None).iter().any(|t| requirements.compatible(t).is_ok()) {
            total.add_assign(&ds.requests);
        }
    }
    total
}

/// A place a shape class can go: a NodePool, an instance type, and its compatible offerings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// Index into [`FilterContext::pools`].
    pub pool: usize,
    /// Index into that pool's instance types.
    pub instance_type: usize,
    /// The class's required node-affinity term that this pool satisfies (the first that
    /// yields candidates, as Karpenter relaxes through them).
    pub term: usize,
    /// Bit `i` set when offering `i` of the type is compatible.
    pub offerings: u64,
    /// The cheapest compatible offering's price per hour.
    pub price: f64,
    /// How many pods of the class fit on an empty node of this type (after DaemonSets).
    pub pods_per_node: u64,
}

/// Why a NodePool or instance type cannot host a shape class.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// The pods' volumes cannot be resolved.
    Volume { message: String },
    /// A NodePool taint the pods do not tolerate.
    Taint { taint: Taint },
    /// The pods and the NodePool require disjoint values of a label.
    Requirement { key: String, pod: String, nodepool: String },
    /// The pods require a custom label the NodePool neither sets nor requires.
    UndefinedLabel { key: String, pod: String },
    /// The instance type's label is outside what the pods and NodePool allow.
    InstanceTypeLabel { key: String, allowed: String },
    /// The NodePool's own requirement on a label excludes types the pods ask for.
    NodePoolExcludes { key: String, nodepool: String },
    /// The type's allocatable, less DaemonSet overhead, is too small.
    /// With `some_fit`, larger types of the pool have enough of this resource and `largest`
    /// is the most these types have; otherwise `largest` is the most any allowed type has.
    Resources { resource: String, needed: i64, daemon_overhead: i64, largest: i64, some_fit: bool },
    /// No available offering matches the capacity types and zones allowed.
    Offering { capacity_types: Option<String>, zones: Option<String>, region: String },
    /// The type alone exceeds the NodePool's limits (`capacity`: the smallest such type's).
    Limit { resource: String, limit: i64, capacity: i64 },
    /// Fewer distinct values of a key remain than the NodePool's minValues.
    MinValues { key: String, required: u32, available: usize },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Volume { message } => write!(f, "volume: {message}"),
            Reason::Taint { taint } => write!(f, "taint {taint} not tolerated"),
            Reason::Requirement { key, pod, nodepool } => {
                write!(f, "{key}: pod requires {pod}, NodePool allows {nodepool}")
            }
            Reason::UndefinedLabel { key, pod } => {
                write!(f, "{key}: pod requires {pod}, but the NodePool neither sets this label nor requires it")
            }
            Reason::InstanceTypeLabel { key, allowed } => write!(f, "{key}: type's value is not in {allowed}"),
            Reason::NodePoolExcludes { key, nodepool } => {
                write!(f, "{key}: the NodePool allows only {nodepool}, which excludes these types the pod asks for")
            }
            Reason::Resources { resource, needed, daemon_overhead, largest, some_fit } => {
                write!(f, "needs {}", describe_amount(resource, *needed))?;
                if *daemon_overhead > 0 {
                    write!(f, " (incl. {} for DaemonSets)", format_amount(resource, *daemon_overhead))?;
                }
                if *some_fit {
                    write!(f, "; these smaller types have at most {} allocatable", format_amount(resource, *largest))
                } else {
                    write!(f, "; the largest allowed type has {} allocatable", format_amount(resource, *largest))
                }
            }
            Reason::Offering { capacity_types, zones, region } => {
                let ct = capacity_types.as_deref().map(|c| format!("{c} ")).unwrap_or_default();
                if capacity_types.as_deref() == Some("") {
                    return write!(f, "no offering: the {} requirements leave no capacity type", labels::CAPACITY_TYPE);
                }
                match zones {
                    Some(z) if z.is_empty() => write!(
                        f,
                        "no offering: the {} requirements (of the pod, its volumes and the NodePool) leave no zone",
                        labels::ZONE
                    ),
                    Some(z) => write!(f, "no {ct}offering in {z}"),
                    None => write!(f, "no {ct}offering in {region}"),
                }
            }
            Reason::Limit { resource, limit, capacity } => write!(
                f,
                "exceeds the NodePool's limits: {} or more per node > limit {}",
                describe_amount(resource, *capacity),
                describe_amount(resource, *limit)
            ),
            Reason::MinValues { key, required, available } => {
                write!(f, "minValues: the NodePool needs {required} distinct {key} values, only {available} fit")
            }
        }
    }
}

/// Rejections with the same NodePool and reason, counted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RejectionGroup {
    pub nodepool: String,
    pub reason: Reason,
    /// The rejection in words.
    pub message: String,
    /// Instance types rejected for this reason (0 when the whole NodePool is rejected).
    pub instance_types: usize,
    /// A few of them, alphabetically.
    pub examples: Vec<String>,
    /// True when the NodePool alone rules these types out (its requirements or limits),
    /// whatever the pod asks.
    pub nodepool_only: bool,
}

impl RejectionGroup {
    /// A rejection of a whole NodePool (not of particular instance types).
    fn whole_pool(nodepool: &str, reason: Reason) -> Self {
        RejectionGroup {
            nodepool: nodepool.to_string(),
            message: reason.to_string(),
            reason,
            instance_types: 0,
            examples: vec![],
            nodepool_only: false,
        }
    }
}

/// The outcome of filtering one shape class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassFilter {
    pub candidates: Vec<Candidate>,
    pub rejections: Vec<RejectionGroup>,
}

/// A per-type rejection, before grouping; references keep it cheap.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum TypeReject<'a> {
    /// Excluded by the NodePool's own requirements, whatever the pod.
    PoolLabel(&'a str),
    /// Excluded by the NodePool's own requirements although the pod's requirements want it.
    PoolLabelWanted(&'a str),
    Label(&'a str),
    Resource(&'a str),
    Offering,
    PoolOffering,
    Limit(&'a str),
}

impl FilterContext {
    /// Filters one shape class against every NodePool and instance type.
    pub fn filter(&self, class: &ShapeClass) -> ClassFilter {
        let mut candidates = Vec::new();
        let mut rejections = Vec::new();
        for (pool_index, pool) in self.pools.iter().enumerate() {
            self.filter_pool(class, pool_index, pool, &mut candidates, &mut rejections);
        }
        ClassFilter { candidates, rejections }
    }

    /// [`FilterContext::filter`], remembered: a class filtered before (the same requests,
    /// node terms, tolerations and volume error, whatever its pods) costs a lookup. For
    /// callers that pack the same pods many times (consolidation's trials, a simulated day).
    pub(crate) fn filter_cached(&self, class: &ShapeClass) -> Arc<ClassFilter> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (&class.requests, &class.terms, &class.tolerations, &class.volume_error).hash(&mut hasher);
        let hash = hasher.finish();
        let same = |k: &FilterKey| {
            k.0 == class.requests && k.1 == class.terms && k.2 == class.tolerations && k.3 == class.volume_error
        };
        // A poisoned lock only means another thread panicked mid-insert: filter afresh.
        if let Ok(cache) = self.cache.0.lock() {
            if let Some((_, found)) = cache.get(&hash).and_then(|v| v.iter().find(|(k, _)| same(k))) {
                return Arc::clone(found);
            }
        }
        let filter = Arc::new(self.filter(class));
        if let Ok(mut cache) = self.cache.0.lock() {
            if cache.len() >= FILTER_CACHE_CLASSES {
                cache.clear();
            }
            let key =
                (class.requests.clone(), class.terms.clone(), class.tolerations.clone(), class.volume_error.clone());
            cache.entry(hash).or_default().push((key, Arc::clone(&filter)));
        }
        filter
    }

    fn filter_pool<'p>(
        &self,
        class: &'p ShapeClass,
        pool_index: usize,
        pool: &'p PoolContext,
        candidates: &mut Vec<Candidate>,
        rejections: &mut Vec<RejectionGroup>,
    ) {
        let name = &pool.nodepool.name;
        let pool_rejection = |reason: Reason| RejectionGroup::whole_pool(name, reason);
        if let Some(message) = &class.volume_error {
            rejections.push(pool_rejection(Reason::Volume { message: message.clone() }));
            return;
        }
        // PreferNoSchedule taints are tolerated after relaxation, so they never reject here.
        let blocking = pool.nodepool.taints.iter().find(|taint| {
            taint.effect != TaintEffect::PreferNoSchedule && !class.tolerations.iter().any(|t| t.tolerates(taint))
        });
        if let Some(taint) = blocking {
            rejections.push(pool_rejection(Reason::Taint { taint: taint.clone() }));
            return;
        }
        // Required node-affinity terms are tried in order, as Karpenter relaxes through them:
        // the first term that yields candidates wins; if none does, the first term's
        // rejections explain why.
        let mut first_rejections: Option<Vec<RejectionGroup>> = None;
        for (term_index, term) in class.terms.iter().enumerate() {
            let mut term_rejections = Vec::new();
            match pool.requirements.compatible(term) {
                Err(conflict) => {
                    let reason = match *conflict {
                        Conflict::UndefinedLabel { key, pod } => Reason::UndefinedLabel { key, pod: pod.to_string() },
                        Conflict::Disjoint { key, node, pod } => {
                            Reason::Requirement { key, pod: pod.to_string(), nodepool: node.to_string() }
                        }
                    };
                    term_rejections.push(pool_rejection(reason));
                }
                Ok(()) => {
                    let before = candidates.len();
                    self.filter_term(class, term_index, pool_index, pool, candidates, &mut term_rejections);
                    if candidates.len() > before {
                        rejections.extend(term_rejections);
                        return;
                    }
                }
            }
            first_rejections.get_or_insert(term_rejections);
        }
        rejections.extend(first_rejections.unwrap_or_default());
    }

    /// Filters the pool's instance types for one required term the pool is compatible with.
    fn filter_term<'p>(
        &self,
        class: &'p ShapeClass,
        term_index: usize,
        pool_index: usize,
        pool: &'p PoolContext,
        candidates: &mut Vec<Candidate>,
        rejections: &mut Vec<RejectionGroup>,
    ) {
        let name = &pool.nodepool.name;
        let pool_rejection = |reason: Reason| RejectionGroup::whole_pool(name, reason);
        let term = &class.terms[term_index];
        let combined = pool.requirements.intersection(term);
        // Keys the pod constrains beyond the pool: checked per type against the combined set.
        // Zone and capacity type are properties of offerings, checked with them below.
        let pod_keys: Vec<(&'p str, &Requirement)> = term
            .iter()
            .filter(|r| !is_offering_key(r.key()))
            .filter_map(|r| combined.get(r.key()).map(|c| (r.key(), c)))
            .collect();
        let zone_req = combined.get(labels::ZONE);
        let ct_req = combined.get(labels::CAPACITY_TYPE);
        let needed = class.requests.add(&pool.daemon_overhead);
        // Offerings need re-checking only when the pod narrows zones or capacity types.
        let pod_narrows_offerings = term.keys().any(is_offering_key);
        let pool_keys: Vec<&Requirement> = pool.requirements.iter().collect();
        let limit_keys: Vec<&String> =
            pool.nodepool.limits.keys().filter(|k| pool.nodepool.limit(k).is_some()).collect();

        let mut rejected: BTreeMap<TypeReject<'p>, GroupStats<'p>> = BTreeMap::new();
        let mut reject = |kind: TypeReject<'p>, t: &'p InstanceType, amount: i64| {
            let e = rejected.entry(kind).or_insert(GroupStats {
                count: 0,
                examples: Vec::new(),
                max: i64::MIN,
                min: i64::MAX,
            });
            e.count += 1;
            if e.examples.len() < 3 {
                e.examples.push(t.name.as_str());
            }
            e.max = e.max.max(amount);
            e.min = e.min.min(amount);
        };
        let first_candidate = candidates.len();
        // Per requested resource, the most any type allowed by the labels offers.
        let mut largest: Vec<(&str, i64)> = needed.iter().map(|(n, _)| (n, i64::MIN)).collect();
        for (ti, t) in pool.instance_types.iter().enumerate() {
            match pool.type_verdicts[ti] {
                TypeVerdict::Requirement(k) => {
                    let wanted = !pod_keys.is_empty()
                        && pod_keys
                            .iter()
                            .all(|(key, r)| t.requirements.get(key).is_none_or(|tr| tr.compatible_with(r)));
                    let key = pool_keys[k].key();
                    reject(if wanted { TypeReject::PoolLabelWanted(key) } else { TypeReject::PoolLabel(key) }, t, 0);
                    continue;
                }
                TypeVerdict::Limit(k) => {
                    let resource = limit_keys[k].as_str();
                    reject(TypeReject::Limit(resource), t, t.capacity.get(resource));
                    continue;
                }
                TypeVerdict::Offering => {
                    reject(TypeReject::PoolOffering, t, 0);
                    continue;
                }
                TypeVerdict::Ok => {}
            }
            if let Some((key, _)) =
                pod_keys.iter().find(|(key, r)| t.requirements.get(key).is_some_and(|tr| !tr.compatible_with(r)))
            {
                reject(TypeReject::Label(key), t, 0);
                continue;
            }
            for (resource, most) in largest.iter_mut() {
                *most = (*most).max(t.allocatable.get(resource));
            }
            let space = &pool.type_space[ti];
            if !class.requests.fits(space) {
                let Err(short) = needed.fits_in(&t.allocatable) else { continue };
                let resource: &'p str = class
                    .requests
                    .iter()
                    .chain(pool.daemon_overhead.iter())
                    .map(|(n, _)| n)
                    .find(|n| *n == short.resource)
                    .unwrap_or(CPU);
                reject(TypeReject::Resource(resource), t, short.available);
                continue;
            }
            let (mask, price) =
                if pod_narrows_offerings { matching_offerings(t, zone_req, ct_req) } else { pool.type_offerings[ti] };
            if mask == 0 {
                reject(TypeReject::Offering, t, 0);
                continue;
            }
            candidates.push(Candidate {
                pool: pool_index,
                term: term_index,
                instance_type: ti,
                offerings: mask,
                price,
                pods_per_node: pods_per_node(&class.requests, space),
            });
        }

        // minValues: enough distinct values must survive among this pool's candidates.
        for r in combined.iter() {
            let Some(required) = r.min_values() else { continue };
            let distinct: BTreeSet<&str> = candidates[first_candidate..]
                .iter()
                .filter_map(|c| pool.instance_types[c.instance_type].requirements.get(r.key()))
                .flat_map(|tr| tr.values())
                .collect();
            if distinct.len() < required as usize {
                let dropped = candidates.len() - first_candidate;
                candidates.truncate(first_candidate);
                rejections.push(RejectionGroup {
                    instance_types: dropped,
                    ..pool_rejection(Reason::MinValues {
                        key: r.key().to_string(),
                        required,
                        available: distinct.len(),
                    })
                });
                break;
            }
        }

        // Types the pod wanted but the NodePool excludes matter only when nothing else fits.
        if candidates.len() > first_candidate {
            let wanted: Vec<TypeReject<'p>> =
                rejected.keys().filter(|k| matches!(k, TypeReject::PoolLabelWanted(_))).copied().collect();
            for kind in wanted {
                let TypeReject::PoolLabelWanted(key) = kind else { continue };
                let Some(stats) = rejected.remove(&kind) else { continue };
                let merged = rejected.entry(TypeReject::PoolLabel(key)).or_insert(GroupStats {
                    count: 0,
                    examples: Vec::new(),
                    max: i64::MIN,
                    min: i64::MAX,
                });
                merged.count += stats.count;
                merged.examples.extend(stats.examples);
                merged.examples.sort();
                merged.examples.truncate(3);
            }
        }
        for (kind, GroupStats { count, examples, max: group_largest, min: group_smallest }) in rejected {
            let reason = match kind {
                TypeReject::PoolLabelWanted(key) => Reason::NodePoolExcludes {
                    key: key.to_string(),
                    nodepool: pool.requirements.get(key).map(|r| r.to_string()).unwrap_or_default(),
                },
                TypeReject::PoolLabel(key) | TypeReject::Label(key) => Reason::InstanceTypeLabel {
                    key: key.to_string(),
                    allowed: combined.get(key).map(|r| r.to_string()).unwrap_or_default(),
                },
                TypeReject::Resource(resource) => {
                    let most = largest.iter().find(|(n, _)| *n == resource).map_or(0, |(_, m)| *m);
                    let some_fit = most >= needed.get(resource);
                    Reason::Resources {
                        resource: resource.to_string(),
                        needed: needed.get(resource),
                        daemon_overhead: pool.daemon_overhead.get(resource),
                        largest: if some_fit { group_largest } else { most },
                        some_fit,
                    }
                }
                TypeReject::Offering | TypeReject::PoolOffering => {
                    let (zones, cts) = if kind == TypeReject::Offering {
                        (zone_req, ct_req)
                    } else {
                        (pool.requirements.get(labels::ZONE), pool.requirements.get(labels::CAPACITY_TYPE))
                    };
                    Reason::Offering {
                        capacity_types: cts
                            .filter(|r| !r.is_complement())
                            .map(|r| r.values().collect::<Vec<_>>().join("/")),
                        zones: zones.filter(|r| !r.is_complement()).map(|r| r.values().collect::<Vec<_>>().join(", ")),
                        region: self.region.clone(),
                    }
                }
                TypeReject::Limit(resource) => Reason::Limit {
                    resource: resource.to_string(),
                    limit: pool.nodepool.limit(resource).unwrap_or(0),
                    capacity: group_smallest,
                },
            };
            rejections.push(RejectionGroup {
                nodepool: name.clone(),
                message: reason.to_string(),
                reason,
                instance_types: count,
                examples: examples.into_iter().map(String::from).collect(),
                nodepool_only: matches!(
                    kind,
                    TypeReject::PoolLabel(_) | TypeReject::Limit(_) | TypeReject::PoolOffering
                ),
            });
        }
    }
}

/// Rejections of one kind within a pool: how many, a few names, and the extremes of the
/// amount that matters (allocatable for resources, capacity for limits).
struct GroupStats<'a> {
    count: usize,
    examples: Vec<&'a str>,
    max: i64,
    min: i64,
}

/// Keys whose values come from an instance type's offerings rather than the type itself.
fn is_offering_key(key: &str) -> bool {
    key == labels::ZONE || key == labels::CAPACITY_TYPE
}

/// The offerings of a type compatible with zone and capacity-type requirements, as a bit mask,
/// and the cheapest one's price (infinite when none).
fn matching_offerings(t: &InstanceType, zone: Option<&Requirement>, capacity_type: Option<&Requirement>) -> (u64, f64) {
    let mut mask = 0u64;
    let mut price = f64::INFINITY;
    for (i, o) in t.offerings.iter().enumerate() {
        if offering_matches(o, zone, capacity_type) {
            mask |= 1 << i;
            price = price.min(o.price);
        }
    }
    (mask, price)
}

fn offering_matches(o: &Offering, zone: Option<&Requirement>, capacity_type: Option<&Requirement>) -> bool {
    o.available && zone.is_none_or(|z| z.has(&o.zone)) && capacity_type.is_none_or(|c| c.has(o.capacity_type.as_str()))
}

/// What limits [`pods_per_node`], in words: the resource that runs out first, the pod's request
/// of it and what the node has (`memory: 1 pod of 1Gi per t3.small, 1.38Gi allocatable`), with
/// the DaemonSets' share when they take some. `None` when the pod requests nothing.
pub fn pods_per_node_limit(
    requests: &Resources,
    instance_type: &InstanceType,
    daemon_overhead: &Resources,
) -> Option<String> {
    let space = instance_type.allocatable.sub(daemon_overhead);
    let (name, need) = requests
        .iter()
        .filter(|(_, need)| *need > 0)
        .min_by_key(|(name, need)| (space.get(name).max(0) / need, *name))?;
    let n = space.get(name).max(0) / need;
    let amount = |a: i64| if name == CPU { describe_amount(name, a) } else { format_amount(name, a) };
    let pods = if n == 1 { "pod" } else { "pods" };
    let allocatable = instance_type.allocatable.get(name);
    let daemons = daemon_overhead.get(name);
    let of_it = if daemons > 0 { format!(", {} of it taken by DaemonSets", amount(daemons)) } else { String::new() };
    Some(if name == crate::resources::PODS {
        format!("pods: at most {allocatable} pods per {} (its max pods){of_it}", instance_type.name)
    } else {
        format!(
            "{name}: {n} {pods} of {} per {}, {} allocatable{of_it}",
            amount(need),
            instance_type.name,
            amount(allocatable)
        )
    })
}

/// How many copies of `requests` fit in `space` (unbounded resources ignored).
pub fn pods_per_node(requests: &Resources, space: &Resources) -> u64 {
    let mut n = u64::MAX;
    for (name, need) in requests.iter() {
        if need > 0 {
            n = n.min((space.get(name).max(0) / need) as u64);
        }
    }
    if n == u64::MAX {
        0
    } else {
        n
    }
}

//! NodeClaims in flight: asked for, not yet a Node. Karpenter's scheduler counts them as nodes
//! (after the initialized ones), so the pods they were made for do not cause a second launch;
//! the plan does too, through [`with_in_flight`].

use crate::catalog::Catalog;
use crate::labels;
use crate::model::{Inventory, Node, NodeClaim};
use crate::requirements::{Operator, Requirement, RequirementSpec};
use crate::resources::Resources;
use std::borrow::Cow;

impl Inventory {
    /// NodeClaims no Node stands for yet (none has their providerID or `status.nodeName`),
    /// not being deleted.
    pub fn in_flight(&self) -> impl Iterator<Item = &NodeClaim> {
        self.nodeclaims.iter().filter(move |c| {
            !c.deleting
                && !self.nodes.iter().any(|n| {
                    c.node_name.as_deref() == Some(n.name.as_str())
                        || (c.provider_id.is_some() && n.provider_id == c.provider_id)
                })
        })
    }
}

/// The inventory with each NodeClaim in flight as a Node (not ready, so after the ready nodes
/// as in Karpenter): named as the claim; labelled with the claim's labels and each
/// requirement that allows one value; tainted with its taints (startup taints are tolerated
/// by scheduling, as Karpenter ignores them); and with the claim's allocatable once launched,
/// else the least every instance type it allows offers (the packing keeps the room of the
/// DaemonSets that will run there, as on any node without them).
/// Unchanged (borrowed) when no claim is in flight.
///
/// A claim's Node that is not initialized yet (no `karpenter.sh/initialized` label) is taken
/// without its ephemeral taints (not-ready, unreachable, uninitialized, unregistered) and the
/// claim's startup taints, as Karpenter takes it: they are about to go, and pods wait for them.
pub fn with_in_flight<'a>(inventory: &'a Inventory, catalog: &Catalog) -> Cow<'a, Inventory> {
    let startup = initializing(inventory);
    if inventory.in_flight().next().is_none() && startup.is_empty() {
        return Cow::Borrowed(inventory);
    }
    let nodes: Vec<Node> = inventory.in_flight().map(|c| as_node(c, inventory, catalog)).collect();
    let mut out = inventory.clone();
    for (i, claim) in startup {
        out.nodes[i]
            .taints
            .retain(|t| !EPHEMERAL_TAINTS.contains(&t.key.as_str()) && !claim.startup_taints.contains(t));
    }
    out.nodes.extend(nodes);
    Cow::Owned(out)
}

/// Taints a node has for a while after it starts (Karpenter's ephemeral taints).
pub const EPHEMERAL_TAINTS: &[&str] = &[
    "node.kubernetes.io/not-ready",
    "node.kubernetes.io/unreachable",
    "node.cloudprovider.kubernetes.io/uninitialized",
    labels::UNREGISTERED_TAINT,
];

/// The nodes (by index) that a live NodeClaim stands for and that are not initialized yet,
/// with that claim, when they have a taint to ignore.
fn initializing(inventory: &Inventory) -> Vec<(usize, &NodeClaim)> {
    let live: Vec<&NodeClaim> = inventory.nodeclaims.iter().filter(|c| !c.deleting).collect();
    if live.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, n) in inventory.nodes.iter().enumerate() {
        if n.taints.is_empty() || n.labels.get(labels::INITIALIZED).is_some_and(|v| v == "true") {
            continue;
        }
        let claim = live.iter().find(|c| {
            c.node_name.as_deref() == Some(n.name.as_str())
                || (c.provider_id.is_some() && n.provider_id == c.provider_id)
        });
        if let Some(claim) = claim {
            let ignorable = |t: &crate::taints::Taint| {
                EPHEMERAL_TAINTS.contains(&t.key.as_str()) || claim.startup_taints.contains(t)
            };
            if n.taints.iter().any(ignorable) {
                out.push((i, *claim));
            }
        }
    }
    out
}

/// What the plan says of the NodeClaims in flight, if any.
pub fn in_flight_note(inventory: &Inventory) -> Option<String> {
    let names: Vec<&str> = inventory.in_flight().map(|c| c.name.as_str()).collect();
    let shown = names.iter().take(5).copied().collect::<Vec<_>>().join(", ");
    let more = if names.len() > 5 { format!(" and {} more", names.len() - 5) } else { String::new() };
    (!names.is_empty()).then(|| {
        format!(
            "{} NodeClaim{} without a Node yet ({shown}{more}) counted as nodes to come, with the allocatable of              their launched type, or else the least of the types they allow",
            names.len(),
            if names.len() == 1 { "" } else { "s" }
        )
    })
}

fn as_node(claim: &NodeClaim, inventory: &Inventory, catalog: &Catalog) -> Node {
    let mut node_labels = claim.labels.clone();
    for spec in &claim.requirements {
        if spec.operator == Operator::In && spec.values.len() == 1 {
            node_labels.entry(labels::normalize(&spec.key).to_string()).or_insert_with(|| spec.values[0].clone());
        }
    }
    node_labels.entry(labels::HOSTNAME.to_string()).or_insert_with(|| claim.name.clone());
    let allocatable = claim.allocatable.clone().unwrap_or_else(|| least_allocatable(claim, inventory, catalog));
    Node {
        name: claim.name.clone(),
        labels: node_labels,
        annotations: claim.annotations.clone(),
        taints: claim.taints.clone(),
        capacity: claim.capacity.clone().unwrap_or_else(|| allocatable.clone()),
        allocatable,
        unschedulable: false,
        ready: false,
        deleting: false,
        created: claim.created,
        provider_id: claim.provider_id.clone(),
    }
}

/// What every instance type the claim allows offers at least (and at least what the claim
/// requests: its own pods fit whichever option launches); its requests when it names no type
/// the catalog has. The room its DaemonSets will take is kept by the packing, as on every node
/// that does not run them yet (`pack::nodes::daemon_reserve`).
fn least_allocatable(claim: &NodeClaim, inventory: &Inventory, catalog: &Catalog) -> Resources {
    let class = node_class(claim, inventory);
    let allowed: Vec<Requirement> = claim
        .requirements
        .iter()
        .filter(|s| labels::normalize(&s.key) == labels::INSTANCE_TYPE)
        .filter_map(|s| Requirement::from_spec(s).ok())
        .collect();
    let types = catalog.instance_types_shared(&class);
    let least = types
        .iter()
        .filter(|t| !allowed.is_empty() && allowed.iter().all(|r| r.has(&t.name)))
        .map(|t| &t.allocatable)
        .fold(None::<Resources>, |least, a| Some(least.map_or_else(|| a.clone(), |l| l.min(a))));
    // The claim holds at least what it was made for, whichever option launches.
    least.map_or_else(|| claim.requests.clone(), |l| l.max(&claim.requests))
}

/// The NodeClaim Karpenter would create for a new node of a plan, named `name`: its NodePool's
/// template (labels, annotations, taints, startup taints, node class, requirements as
/// written) with `karpenter.sh/nodepool` and the template labels as requirements, narrowed to
/// the node's instance-type options (at most 60, cheapest first), its zone and capacity type
/// (which the plan's topology decisions rely on), and requesting what its pods and DaemonSets
/// request. `None` when the plan names a NodePool the inventory lacks.
pub fn for_planned(name: &str, node: &crate::plan::PlannedNode, pools: &[crate::model::NodePool]) -> Option<NodeClaim> {
    let launch = Launch {
        nodepool: &node.nodepool,
        instance_types: &node.instance_types,
        zone: &node.zone,
        capacity_type: &node.capacity_type,
        requests: &node.requests,
    };
    claim_for(name, &launch, pools)
}

/// The NodeClaim of a consolidation command's replacement node, made as [`for_planned`]'s.
pub fn for_replacement(
    name: &str,
    node: &crate::consolidate::Replacement,
    pools: &[crate::model::NodePool],
) -> Option<NodeClaim> {
    let launch = Launch {
        nodepool: &node.nodepool,
        instance_types: &node.instance_types,
        zone: &node.zone,
        capacity_type: &node.capacity_type,
        requests: &node.requests,
    };
    claim_for(name, &launch, pools)
}

/// What a new node's NodeClaim is made of.
struct Launch<'a> {
    nodepool: &'a str,
    instance_types: &'a [String],
    zone: &'a str,
    capacity_type: &'a str,
    requests: &'a Resources,
}

fn claim_for(name: &str, node: &Launch<'_>, pools: &[crate::model::NodePool]) -> Option<NodeClaim> {
    let pool = pools.iter().find(|p| p.name == node.nodepool)?;
    let pinned = [labels::INSTANCE_TYPE, labels::ZONE, labels::CAPACITY_TYPE, labels::NODEPOOL];
    let mut requirements: Vec<RequirementSpec> = pool
        .requirement_specs
        .iter()
        .filter(|s| !pinned.contains(&labels::normalize(&s.key)) && !pool.labels.contains_key(&s.key))
        .cloned()
        .collect();
    let single = |key: &str, value: &str| RequirementSpec {
        key: key.to_string(),
        operator: Operator::In,
        values: vec![value.to_string()],
        min_values: None,
    };
    requirements.push(single(labels::NODEPOOL, &pool.name));
    for (key, value) in &pool.labels {
        requirements.push(single(key, value));
    }
    // minValues on the instance type stays with the options it counts.
    let type_min_values = pool
        .requirement_specs
        .iter()
        .filter(|s| labels::normalize(&s.key) == labels::INSTANCE_TYPE)
        .find_map(|s| s.min_values);
    requirements.push(RequirementSpec {
        key: labels::INSTANCE_TYPE.to_string(),
        operator: Operator::In,
        values: node.instance_types.to_vec(),
        min_values: type_min_values,
    });
    requirements.push(single(labels::ZONE, node.zone));
    requirements.push(single(labels::CAPACITY_TYPE, node.capacity_type));
    requirements.sort_by(|a, b| a.key.cmp(&b.key));
    let mut claim_labels = pool.labels.clone();
    claim_labels.insert(labels::NODEPOOL.to_string(), pool.name.clone());
    Some(NodeClaim {
        name: name.to_string(),
        labels: claim_labels,
        annotations: pool.annotations.clone(),
        requirements,
        taints: pool.taints.clone(),
        startup_taints: pool.startup_taints.clone(),
        requests: node.requests.clone(),
        node_class_ref: pool.node_class_ref.clone(),
        provider_id: None,
        node_name: None,
        capacity: None,
        allocatable: None,
        deleting: false,
        created: None,
    })
}

/// One way to launch a NodeClaim: an instance type offered in a zone at a capacity type.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LaunchOption {
    pub instance_type: String,
    pub zone: String,
    pub capacity_type: crate::catalog::CapacityType,
    pub price: f64,
    pub capacity: Resources,
    pub allocatable: Resources,
    /// The labels a node of this option carries: the type's well-known labels (those with one
    /// value: instance type, family, size, arch, os, region, ...), its zone and capacity type.
    pub labels: crate::model::Labels,
}

/// Every available offering the claim's requirements allow whose type's allocatable takes
/// its requests, in the order a launch tries them: reserved first, then the rest cheapest
/// first (spot only where it costs no more than the cheapest on-demand option, as Karpenter
/// launches spot), ties by type name then zone. Empty when nothing can be launched.
pub fn launch_options(claim: &NodeClaim, inventory: &Inventory, catalog: &Catalog) -> Vec<LaunchOption> {
    use crate::catalog::CapacityType;
    let class = node_class(claim, inventory);
    let requirements: Vec<Requirement> =
        claim.requirements.iter().filter_map(|s| Requirement::from_spec(s).ok()).collect();
    let allows = |key: &str, value: &str| {
        requirements.iter().filter(|r| labels::normalize(r.key()) == key).all(|r| r.has(value))
    };
    let types = catalog.instance_types_shared(&class);
    let mut options: Vec<LaunchOption> = Vec::new();
    for t in types.iter() {
        // Every label requirement of the claim on the type's own labels.
        let labels_ok = requirements.iter().all(|r| {
            let key = labels::normalize(r.key());
            key == labels::ZONE
                || key == labels::CAPACITY_TYPE
                || t.requirements.get(key).is_none_or(|tr| tr.compatible_with(r))
        });
        if !labels_ok || !claim.requests.fits(&t.allocatable) {
            continue;
        }
        let type_labels = t.node_labels();
        for o in t.offerings.iter().filter(|o| o.available) {
            if allows(labels::ZONE, &o.zone) && allows(labels::CAPACITY_TYPE, o.capacity_type.as_str()) {
                options.push(LaunchOption {
                    instance_type: t.name.clone(),
                    zone: o.zone.clone(),
                    capacity_type: o.capacity_type,
                    price: o.price,
                    capacity: t.capacity.clone(),
                    allocatable: t.allocatable.clone(),
                    labels: {
                        let mut l = type_labels.clone();
                        l.insert(labels::ZONE.to_string(), o.zone.clone());
                        l.insert(labels::CAPACITY_TYPE.to_string(), o.capacity_type.as_str().to_string());
                        l
                    },
                });
            }
        }
    }
    let cheapest_on_demand = options
        .iter()
        .filter(|o| o.capacity_type == CapacityType::OnDemand)
        .map(|o| o.price)
        .fold(f64::INFINITY, f64::min);
    options.retain(|o| o.capacity_type != CapacityType::Spot || o.price <= cheapest_on_demand);
    let rank = |o: &LaunchOption| u8::from(o.capacity_type != CapacityType::Reserved);
    options.sort_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then(a.price.total_cmp(&b.price))
            .then_with(|| a.instance_type.cmp(&b.instance_type))
            .then_with(|| a.zone.cmp(&b.zone))
    });
    options
}

/// The EC2NodeClass a claim names, or the defaults when the input lacks it.
fn node_class(claim: &NodeClaim, inventory: &Inventory) -> crate::model::NodeClass {
    claim
        .node_class_ref
        .as_ref()
        .and_then(|r| inventory.nodeclasses.iter().find(|c| c.name == r.name))
        .cloned()
        .unwrap_or_default()
}

//! A compact way to write clusters for tests (nodes by instance type, pods by node), turned
//! into real Node and Pod manifests; and the invariants every consolidation plan keeps.
#![allow(dead_code)]

use fleetfit::catalog::Catalog;
use fleetfit::consolidate::ConsolidationPlan;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub instance_type: String,
    pub zone: String,
    #[serde(default = "on_demand")]
    pub capacity: String,
    #[serde(default = "default_pool")]
    pub pool: String,
    #[serde(default = "long_ago")]
    pub created: String,
    #[serde(default = "yes")]
    pub ready: bool,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodSpec {
    pub name: String,
    #[serde(default = "default_namespace")]
    pub namespace: String,
    pub node: String,
    pub cpu: String,
    #[serde(default = "default_memory")]
    pub memory: String,
    /// `Kind/name` of the owner (default: a ReplicaSet named after the pod's prefix).
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default = "long_ago")]
    pub created: String,
    /// How many pods `name-0`, `name-1`, ... (default one, named `name`).
    #[serde(default)]
    pub count: Option<usize>,
}

fn on_demand() -> String {
    "on-demand".into()
}
fn default_pool() -> String {
    "default".into()
}
fn long_ago() -> String {
    "2026-11-30T00:00:00Z".into()
}
fn yes() -> bool {
    true
}
fn default_namespace() -> String {
    "default".into()
}
fn default_memory() -> String {
    "256Mi".into()
}

/// Real Node and Pod manifests for a compact cluster: each node with its type's capacity,
/// allocatable and the labels Karpenter puts on it; each pod Running on its node.
pub fn cluster_manifests(nodes: &[NodeSpec], pods: &[PodSpec], catalog: &Catalog) -> Result<String, String> {
    let mut out = String::new();
    for n in nodes {
        let it = catalog
            .instance_type(&n.instance_type, &fleetfit::NodeClass::default())
            .ok_or_else(|| format!("node {}: unknown instance type {}", n.name, n.instance_type))?;
        let mut labels = n.labels.clone();
        for (k, v) in [
            ("kubernetes.io/hostname", n.name.as_str()),
            ("kubernetes.io/os", "linux"),
            ("node.kubernetes.io/instance-type", n.instance_type.as_str()),
            ("topology.kubernetes.io/zone", n.zone.as_str()),
            ("karpenter.sh/capacity-type", n.capacity.as_str()),
        ] {
            labels.insert(k.into(), v.into());
        }
        // A node's own labels win (a Windows node's kubernetes.io/os).
        labels.extend(n.labels.clone());
        // The labels Karpenter puts on a node of the type: every single-valued one.
        for r in it.requirements.iter() {
            let mut values = r.values();
            if let (fleetfit::Operator::In, Some(v), None) = (r.operator(), values.next(), values.next()) {
                labels.entry(r.key().to_string()).or_insert_with(|| v.to_string());
            }
        }
        if !n.pool.is_empty() {
            labels.insert("karpenter.sh/nodepool".into(), n.pool.clone());
        }
        let a = &it.allocatable;
        let c = &it.capacity;
        let _ = write!(
            out,
            "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: {}\n  creationTimestamp: \"{}\"\n  labels: {}\n  annotations: {}\nstatus:\n  capacity: {{cpu: \"{}m\", memory: \"{}\", pods: \"{}\"}}\n  allocatable: {{cpu: \"{}m\", memory: \"{}\", pods: \"{}\"}}\n  conditions: [{{type: Ready, status: \"{}\"}}]\n",
            n.name,
            n.created,
            serde_json::to_string(&labels).unwrap(),
            serde_json::to_string(&n.annotations).unwrap(),
            c.cpu.0,
            c.memory.0,
            c.pods,
            a.cpu.0,
            a.memory.0,
            a.pods,
            if n.ready { "True" } else { "False" },
        );
    }
    for p in pods {
        let names: Vec<String> = match p.count {
            None => vec![p.name.clone()],
            Some(k) => (0..k).map(|i| format!("{}-{i}", p.name)).collect(),
        };
        for name in names {
            let (kind, owner) = match &p.owner {
                Some(o) => o.split_once('/').map(|(k, n)| (k.to_string(), n.to_string())).ok_or("owner: Kind/name")?,
                None => ("ReplicaSet".into(), format!("{}-rs", p.name)),
            };
            let _ = write!(
                out,
                "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {}\n  creationTimestamp: \"{}\"\n  labels: {}\n  annotations: {}\n  ownerReferences: [{{apiVersion: apps/v1, kind: {kind}, name: {owner}, controller: true}}]\nspec:\n  nodeName: {}\n  containers: [{{name: c, resources: {{requests: {{cpu: \"{}\", memory: \"{}\"}}}}}}]\nstatus: {{phase: Running}}\n",
                p.namespace,
                p.created,
                serde_json::to_string(&p.labels).unwrap(),
                serde_json::to_string(&p.annotations).unwrap(),
                p.node,
                p.cpu,
                p.memory,
            );
        }
    }
    out.push_str("---\n");
    Ok(out)
}

/// After the commands: every managed node is either disrupted once or kept; every moved pod
/// lands on a node that exists then (not disrupted), with room for everything on it; no
/// replacement costs as much as what it replaces.
pub fn invariants(plan: &ConsolidationPlan, inventory: &fleetfit::Inventory) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for c in &plan.commands {
        for n in &c.candidates {
            if !seen.insert(n.node.clone()) {
                return Err(format!("{} is disrupted twice", n.node));
            }
        }
        if c.savings_per_hour <= 0.0 && matches!(c.reason, fleetfit::consolidate::Reason::Underutilized) {
            return Err(format!("a command saves {} <= 0", c.savings_per_hour));
        }
    }
    for k in &plan.kept {
        if seen.contains(&k.node) {
            return Err(format!("{} is both kept and disrupted", k.node));
        }
    }
    let managed = inventory.nodes.iter().filter(|n| n.nodepool().is_some()).count();
    if seen.len() + plan.kept.len() != managed {
        return Err(format!("{} disrupted + {} kept != {managed} managed nodes", seen.len(), plan.kept.len()));
    }
    // Replay: requests per node after every command.
    let mut allocatable: BTreeMap<String, fleetfit::Resources> =
        inventory.nodes.iter().map(|n| (n.name.clone(), n.allocatable.clone())).collect();
    let mut pod_node: BTreeMap<String, String> =
        inventory.pods.iter().filter_map(|p| p.node_name.as_ref().map(|n| (p.key(), n.clone()))).collect();
    let requests: BTreeMap<String, fleetfit::Resources> =
        inventory.pods.iter().map(|p| (p.key(), p.requests.clone())).collect();
    for c in &plan.commands {
        for n in &c.candidates {
            allocatable.remove(&n.node);
        }
        for r in &c.replacements {
            if allocatable.contains_key(&r.name) {
                return Err(format!("replacement {} takes the name of a node that exists", r.name));
            }
            allocatable.insert(r.name.clone(), fleetfit::Resources::default());
        }
        for m in &c.moves {
            pod_node.insert(m.pod.clone(), m.to.clone());
        }
    }
    let mut used: BTreeMap<String, fleetfit::Resources> = BTreeMap::new();
    for (pod, node) in &pod_node {
        let moved = plan.commands.iter().any(|c| c.moves.iter().any(|m| &m.pod == pod));
        let Some(room) = allocatable.get(node) else {
            let daemon = inventory.pods.iter().any(|p| {
                &p.key() == pod && p.owner.as_ref().is_some_and(|o| o.kind == "DaemonSet" || o.kind == "Node")
            });
            if daemon {
                continue;
            }
            return Err(format!("pod {pod} is on {node}, which is gone (moved: {moved})"));
        };
        if room.is_zero() {
            continue; // a replacement: the packer sized it
        }
        used.entry(node.clone()).or_default().add_assign(&requests[pod]);
    }
    for (node, u) in &used {
        if !u.fits(&allocatable[node]) {
            return Err(format!("node {node} is over its allocatable: {u} > {}", allocatable[node]));
        }
    }
    Ok(())
}

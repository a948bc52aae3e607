//! Consolidation scenarios written as data: each file in `scenarios/consolidate/` holds a
//! cluster (nodes and pods in a compact form, turned into real Node and Pod manifests here),
//! NodePools and other manifests, the time, and what the consolidation plan must contain.
//! Every plan is also checked against the snapshot: after its commands, every moved pod is on
//! a node with room for it, no pod is lost, and no budget is exceeded.

use fleetfit::catalog::Catalog;
use fleetfit::consolidate::{consolidate, ConsolidateOptions, ConsolidationPlan};
use fleetfit::plan::Mode;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;

mod common;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    #[allow(dead_code)]
    description: String,
    now: String,
    /// Modes checked against `expect` (default: karpenter and optimize); `expect_<mode>`
    /// overrides parts per mode.
    #[serde(default)]
    modes: Option<Vec<String>>,
    #[serde(default)]
    spot_to_spot: bool,
    #[serde(default)]
    nodes: Vec<NodeSpec>,
    #[serde(default)]
    pods: Vec<PodSpec>,
    /// Further manifests: NodePools, PDBs, DaemonSets.
    #[serde(default)]
    manifests: String,
    expect: Expect,
    #[serde(default)]
    expect_karpenter: Option<Expect>,
    #[serde(default)]
    expect_optimize: Option<Expect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeSpec {
    name: String,
    #[serde(rename = "type")]
    instance_type: String,
    zone: String,
    #[serde(default = "on_demand")]
    capacity: String,
    #[serde(default = "default_pool")]
    pool: String,
    #[serde(default = "long_ago")]
    created: String,
    #[serde(default = "yes")]
    ready: bool,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PodSpec {
    name: String,
    #[serde(default = "default_namespace")]
    namespace: String,
    node: String,
    cpu: String,
    #[serde(default = "default_memory")]
    memory: String,
    /// `Kind/name` of the owner (default: a ReplicaSet named after the pod's prefix).
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default = "long_ago")]
    created: String,
    /// How many pods `name-0`, `name-1`, ... (default one, named `name`).
    #[serde(default)]
    count: Option<usize>,
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

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// Exactly this many commands.
    commands: Option<usize>,
    /// Exactly these nodes are disrupted, over all commands.
    disrupted: Option<BTreeSet<String>>,
    /// Node → a phrase one of its kept reasons contains.
    #[serde(default)]
    kept: BTreeMap<String, String>,
    /// The commands' reasons, in order (Empty, Underutilized, Drifted, Expired).
    reasons: Option<Vec<String>>,
    /// Replacement nodes per command, in order.
    replacements: Option<Vec<usize>>,
    /// Savings per hour, at least.
    min_savings: Option<f64>,
}

fn manifests(s: &Scenario, catalog: &Catalog) -> Result<String, String> {
    let mut out = String::new();
    for n in &s.nodes {
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
    for p in &s.pods {
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
    out.push_str(&s.manifests);
    Ok(out)
}

fn check(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let s: Scenario = serde_yaml::from_str(&text).map_err(|e| format!("bad scenario file: {e}"))?;
    let catalog = Catalog::aws("us-east-1").map_err(|e| e.to_string())?;
    let text = manifests(&s, &catalog)?;
    let inventory = fleetfit::manifest::parse("scenario", &text).map_err(|e| e.to_string())?;
    let now = s.now.parse().map_err(|e| format!("now: {e}"))?;
    let modes = s.modes.clone().unwrap_or_else(|| vec!["karpenter".into(), "optimize".into()]);
    for mode in modes {
        let mode: Mode = mode.parse()?;
        let options = ConsolidateOptions { mode, now, spot_to_spot: s.spot_to_spot };
        let plan = consolidate(&inventory, &catalog, &options).map_err(|e| e.to_string())?;
        let again = consolidate(&inventory, &catalog, &options).map_err(|e| e.to_string())?;
        if plan != again {
            return Err(format!("{mode} mode: the same input gave two different plans"));
        }
        let per_mode = match mode {
            Mode::Karpenter => &s.expect_karpenter,
            _ => &s.expect_optimize,
        };
        let expect = merge(&s.expect, per_mode.as_ref());
        check_plan(&plan, &expect, &inventory)
            .map_err(|e| format!("{mode} mode: {e}\nplan: {}", serde_json::to_string_pretty(&plan).unwrap()))?;
    }
    Ok(())
}

fn merge(base: &Expect, over: Option<&Expect>) -> Expect {
    let Some(o) = over else { return base.clone() };
    let mut e = base.clone();
    e.commands = o.commands.or(e.commands);
    e.disrupted = o.disrupted.clone().or(e.disrupted);
    e.kept.extend(o.kept.clone());
    e.reasons = o.reasons.clone().or(e.reasons);
    e.replacements = o.replacements.clone().or(e.replacements);
    e.min_savings = o.min_savings.or(e.min_savings);
    e
}

fn check_plan(plan: &ConsolidationPlan, e: &Expect, inventory: &fleetfit::Inventory) -> Result<(), String> {
    if let Some(n) = e.commands {
        if plan.commands.len() != n {
            return Err(format!("expected {n} commands, got {}", plan.commands.len()));
        }
    }
    let disrupted: BTreeSet<String> =
        plan.commands.iter().flat_map(|c| c.candidates.iter().map(|n| n.node.clone())).collect();
    if let Some(want) = &e.disrupted {
        if &disrupted != want {
            return Err(format!("expected {want:?} disrupted, got {disrupted:?}"));
        }
    }
    for (node, phrase) in &e.kept {
        let k = plan.kept.iter().find(|k| &k.node == node).ok_or_else(|| format!("{node} is not kept"))?;
        if !k.reasons.iter().any(|r| r.contains(phrase.as_str())) {
            return Err(format!("{node} kept for {:?}, expected a reason with {phrase:?}", k.reasons));
        }
    }
    if let Some(reasons) = &e.reasons {
        let got: Vec<String> = plan.commands.iter().map(|c| format!("{:?}", c.reason)).collect();
        if &got != reasons {
            return Err(format!("expected reasons {reasons:?}, got {got:?}"));
        }
    }
    if let Some(r) = &e.replacements {
        let got: Vec<usize> = plan.commands.iter().map(|c| c.replacements.len()).collect();
        if &got != r {
            return Err(format!("expected replacements {r:?}, got {got:?}"));
        }
    }
    if let Some(min) = e.min_savings {
        if plan.savings_per_hour < min - 1e-9 {
            return Err(format!("savings {} below {min}", plan.savings_per_hour));
        }
    }
    invariants(plan, inventory)
}

/// After the commands: every managed node is either disrupted once or kept; every moved pod
/// lands on a node that exists then (not disrupted), with room for everything on it; no
/// replacement costs as much as what it replaces.
fn invariants(plan: &ConsolidationPlan, inventory: &fleetfit::Inventory) -> Result<(), String> {
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

#[test]
fn consolidate_scenarios() {
    common::run_scenarios("consolidate", 8, check);
}

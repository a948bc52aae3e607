//! Packing scenarios written as data: each file in `scenarios/pack/` holds manifests and what
//! the plan must contain. A new case is a new file.

use fleetfit::catalog::Catalog;
use fleetfit::plan::{Mode, Plan, PlanOptions};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

mod common;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    #[allow(dead_code)]
    description: String,
    #[serde(default = "default_region")]
    region: String,
    /// The modes to plan in, each checked against `expect` (default: karpenter, optimize and,
    /// with the `milp` feature, exact).
    #[serde(default)]
    modes: Option<Vec<String>>,
    /// How workloads a HorizontalPodAutoscaler scales are counted: min (default) or max.
    #[serde(default)]
    hpa: Option<String>,
    /// The zones given (`--zones`); without, they are chosen from the input as the CLI does.
    #[serde(default)]
    zones: Vec<String>,
    /// `--spot-diversity`: at most this share of the spot nodes in one pool.
    #[serde(default)]
    spot_diversity: Option<f64>,
    manifests: String,
    expect: Expect,
}

fn default_region() -> String {
    "us-east-1".into()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// Exactly this many new nodes.
    nodes: Option<usize>,
    /// New nodes per NodePool, exactly.
    nodes_per_pool: Option<BTreeMap<String, usize>>,
    /// How many pods are unschedulable.
    unschedulable: Option<usize>,
    /// Each string appears in some unschedulable pod's reasons.
    #[serde(default)]
    reasons: Vec<String>,
    /// Pod (`namespace/name`) → the NodePool of its new node.
    #[serde(default)]
    pool_of: BTreeMap<String, String>,
    /// Pod → existing node it is placed on.
    #[serde(default)]
    existing: BTreeMap<String, String>,
    /// Every new node's chosen type has these label values.
    #[serde(default)]
    every_node: BTreeMap<String, String>,
    /// Capacity type of every new node.
    capacity_type: Option<String>,
    /// Cost per hour, at most.
    max_cost: Option<f64>,
    /// Lower bound per hour, at least.
    min_bound: Option<f64>,
    /// Pods sharing no node, new or existing, with each other (one per node).
    #[serde(default)]
    apart: Vec<String>,
    /// Pods on new nodes in pairwise different zones.
    #[serde(default)]
    distinct_zones: Vec<String>,
    /// Pods on new nodes all in one zone.
    #[serde(default)]
    same_zone: Vec<String>,
    /// Pods that must not be on this existing node.
    #[serde(default)]
    not_on: BTreeMap<String, String>,
    /// Pending pods planned (on new or existing nodes, or unschedulable), exactly.
    pods: Option<usize>,
    /// Each string appears in some note of the plan.
    #[serde(default)]
    notes: Vec<String>,
    /// Each string appears in some warning of the plan; without any, the plan has none.
    #[serde(default)]
    warnings: Vec<String>,
    /// Every new node is (or is not) marked as priced at Linux rates.
    linux_priced: Option<bool>,
    /// Every new node is in one of these zones.
    #[serde(default)]
    zones: Vec<String>,
    /// No spot capacity pool (instance type × zone) holds more than this share of the spot
    /// nodes, and `spot_pools` adds up to the plan's spot nodes.
    spot_pool_share_at_most: Option<f64>,
    /// The largest spot pool's share, at least (a concentration the plan reports).
    spot_pool_share_at_least: Option<f64>,
    /// With `spot_diversity`: whether the plan says it keeps to it, and the least and most
    /// it may cost over the plan without it.
    diversity_satisfied: Option<bool>,
    extra_cost_at_least: Option<f64>,
    extra_cost_at_most: Option<f64>,
}

fn node_of<'a>(plan: &'a Plan, pod: &str) -> Option<&'a fleetfit::plan::PlannedNode> {
    plan.nodes.iter().find(|n| n.pods.iter().any(|p| p == pod))
}

fn check(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let s: Scenario = serde_yaml::from_str(&text).map_err(|e| format!("bad scenario file: {e}"))?;
    let options =
        fleetfit::manifest::ParseOptions { hpa: s.hpa.as_deref().unwrap_or("min").parse()?, ..Default::default() };
    let inventory = fleetfit::manifest::parse_sources_with(&[("manifests".into(), s.manifests.clone())], &options)
        .map_err(|e| e.to_string())?;
    let catalog =
        Catalog::aws(&s.region).and_then(|c| c.for_inventory(&inventory, &s.zones)).map_err(|e| e.to_string())?;
    let default_modes = || {
        let mut modes = vec!["karpenter".to_string(), "optimize".to_string()];
        if cfg!(feature = "milp") {
            modes.push("exact".to_string());
        }
        modes
    };
    let modes = s.modes.clone().unwrap_or_else(default_modes);
    for mode in modes {
        let mode: Mode = mode.parse()?;
        check_mode(&s, &inventory, &catalog, mode).map_err(|e| format!("{mode} mode: {e}"))?;
    }
    Ok(())
}

fn check_mode(s: &Scenario, inventory: &fleetfit::Inventory, catalog: &Catalog, mode: Mode) -> Result<(), String> {
    let options = PlanOptions { mode, max_spot_pool_share: s.spot_diversity, ..Default::default() };
    let plan = fleetfit::pack::plan(inventory, catalog, &options).map_err(|e| e.to_string())?;
    let again = fleetfit::pack::plan(inventory, catalog, &options).map_err(|e| e.to_string())?;
    if plan != again {
        return Err("the same input gave two different plans".into());
    }
    let summary = || {
        let nodes: Vec<String> = plan
            .nodes
            .iter()
            .map(|n| {
                format!(
                    "{} {} {} {} ${:.4} {:?}",
                    n.name, n.instance_type, n.zone, n.capacity_type, n.price_per_hour, n.pods
                )
            })
            .collect();
        format!("\nnodes: {nodes:#?}\nexisting: {:?}\nunschedulable: {:#?}", plan.existing, plan.unschedulable)
    };
    let e = &s.expect;
    if let Some(n) = e.nodes {
        if plan.nodes.len() != n {
            return Err(format!("expected {n} new nodes, got {}{}", plan.nodes.len(), summary()));
        }
    }
    if let Some(per_pool) = &e.nodes_per_pool {
        let mut got: BTreeMap<String, usize> = BTreeMap::new();
        for n in &plan.nodes {
            *got.entry(n.nodepool.clone()).or_default() += 1;
        }
        if &got != per_pool {
            return Err(format!("nodes per pool: expected {per_pool:?}, got {got:?}{}", summary()));
        }
    }
    if let Some(u) = e.unschedulable {
        if plan.unschedulable.len() != u {
            return Err(format!("expected {u} unschedulable pods, got {}{}", plan.unschedulable.len(), summary()));
        }
    }
    for needle in &e.reasons {
        if !plan.unschedulable.iter().any(|u| u.reasons.iter().any(|r| r.contains(needle.as_str()))) {
            return Err(format!("no unschedulable reason mentions {needle:?}{}", summary()));
        }
    }
    for (pod, pool) in &e.pool_of {
        match node_of(&plan, pod) {
            Some(n) if &n.nodepool == pool => {}
            other => {
                return Err(format!(
                    "{pod}: expected on a {pool} node, got {:?}{}",
                    other.map(|n| &n.nodepool),
                    summary()
                ))
            }
        }
    }
    for (pod, node) in &e.existing {
        if !plan.existing.iter().any(|x| &x.pod == pod && &x.node == node) {
            return Err(format!("{pod}: expected on existing node {node}{}", summary()));
        }
    }
    if !e.every_node.is_empty() {
        for n in &plan.nodes {
            let it = catalog
                .instance_type(&n.instance_type, &fleetfit::NodeClass::default())
                .ok_or_else(|| format!("unknown type {}", n.instance_type))?;
            for (k, v) in &e.every_node {
                if !it.requirements.get(k).is_some_and(|r| r.has(v)) {
                    return Err(format!("node {} ({}) lacks {k}={v}{}", n.name, n.instance_type, summary()));
                }
            }
        }
    }
    if let Some(ct) = &e.capacity_type {
        if let Some(n) = plan.nodes.iter().find(|n| &n.capacity_type != ct) {
            return Err(format!("node {} is {}, expected {ct}{}", n.name, n.capacity_type, summary()));
        }
    }
    if let Some(max) = e.max_cost {
        if plan.cost_per_hour > max + 1e-9 {
            return Err(format!("cost {} above {max}{}", plan.cost_per_hour, summary()));
        }
    }
    if let Some(min) = e.min_bound {
        if plan.lower_bound_per_hour < min - 1e-9 {
            return Err(format!("lower bound {} below {min}{}", plan.lower_bound_per_hour, summary()));
        }
    }
    let mut seen = BTreeMap::new();
    for pod in &e.apart {
        let n = node_of(&plan, pod)
            .map(|n| n.name.clone())
            .or_else(|| plan.existing.iter().find(|x| &x.pod == pod).map(|x| x.node.clone()))
            .ok_or_else(|| format!("{pod} not placed{}", summary()))?;
        if let Some(other) = seen.insert(n.clone(), pod.clone()) {
            return Err(format!("{pod} and {other} share node {n}{}", summary()));
        }
    }
    let zone_of = |pod: &str| {
        node_of(&plan, pod).map(|n| n.zone.clone()).ok_or_else(|| format!("{pod} not on a new node{}", summary()))
    };
    let zones: Vec<String> = e.distinct_zones.iter().map(|p| zone_of(p)).collect::<Result<_, _>>()?;
    let unique: std::collections::BTreeSet<&String> = zones.iter().collect();
    if unique.len() != zones.len() {
        return Err(format!("expected distinct zones for {:?}, got {zones:?}{}", e.distinct_zones, summary()));
    }
    let zones: Vec<String> = e.same_zone.iter().map(|p| zone_of(p)).collect::<Result<_, _>>()?;
    if zones.windows(2).any(|w| w[0] != w[1]) {
        return Err(format!("expected one zone for {:?}, got {zones:?}{}", e.same_zone, summary()));
    }
    for (pod, node) in &e.not_on {
        if plan.existing.iter().any(|x| &x.pod == pod && &x.node == node) {
            return Err(format!("{pod} must not be on {node}{}", summary()));
        }
    }
    if let Some(n) = e.pods {
        let planned =
            plan.nodes.iter().map(|n| n.pods.len()).sum::<usize>() + plan.existing.len() + plan.unschedulable.len();
        if planned != n {
            return Err(format!("expected {n} pending pods, got {planned}{}", summary()));
        }
    }
    for needle in &e.notes {
        if !plan.notes.iter().any(|n| n.contains(needle.as_str())) {
            return Err(format!("no note mentions {needle:?}: {:#?}", plan.notes));
        }
    }
    if e.warnings.is_empty() && !plan.warnings.is_empty() {
        return Err(format!("unexpected warnings: {:#?}", plan.warnings));
    }
    for needle in &e.warnings {
        if !plan.warnings.iter().any(|w| w.contains(needle.as_str())) {
            return Err(format!("no warning mentions {needle:?}: {:#?}", plan.warnings));
        }
    }
    if let Some(marked) = e.linux_priced {
        if let Some(n) = plan.nodes.iter().find(|n| n.linux_priced != marked) {
            return Err(format!("node {} linux_priced is {}, expected {marked}{}", n.name, n.linux_priced, summary()));
        }
    }
    if let Some(n) = plan.nodes.iter().find(|n| !e.zones.is_empty() && !e.zones.contains(&n.zone)) {
        return Err(format!("node {} is in {}, not in {:?}{}", n.name, n.zone, e.zones, summary()));
    }
    let spot_nodes = plan.nodes.iter().filter(|n| n.capacity_type == "spot").count();
    if plan.spot_pools.iter().map(|p| p.nodes).sum::<usize>() != spot_nodes {
        return Err(format!("spot pools {:?} do not add up to {spot_nodes} spot nodes", plan.spot_pools));
    }
    let largest = plan.spot_pools.iter().map(|p| p.nodes).max().unwrap_or(0) as f64 / spot_nodes.max(1) as f64;
    if e.spot_pool_share_at_most.is_some_and(|most| largest > most + 1e-9) {
        return Err(format!("a spot pool holds {largest:.3} of the spot nodes: {:?}{}", plan.spot_pools, summary()));
    }
    if e.spot_pool_share_at_least.is_some_and(|least| largest < least - 1e-9) {
        return Err(format!("the largest spot pool holds only {largest:.3}: {:?}{}", plan.spot_pools, summary()));
    }
    match (&plan.spot_diversity, s.spot_diversity) {
        (None, None) => {}
        (Some(d), Some(share)) => {
            if d.max_pool_share != share {
                return Err(format!("diversity reports share {}, asked {share}", d.max_pool_share));
            }
            if e.diversity_satisfied.is_some_and(|want| want != d.satisfied) {
                return Err(format!("diversity satisfied is {}, expected otherwise{}", d.satisfied, summary()));
            }
            if d.satisfied && largest > share + 1e-9 {
                return Err(format!("diversity said satisfied, yet a pool holds {largest:.3}{}", summary()));
            }
            if (d.cost_per_hour_without + d.extra_cost_per_hour - plan.cost_per_hour).abs() > 1e-9 {
                return Err(format!(
                    "cost without {} + extra {} is not the cost {}",
                    d.cost_per_hour_without, d.extra_cost_per_hour, plan.cost_per_hour
                ));
            }
            let plain = fleetfit::pack::plan(inventory, catalog, &PlanOptions { mode, ..Default::default() })
                .map_err(|e| e.to_string())?;
            if (plain.cost_per_hour - d.cost_per_hour_without).abs() > 1e-9 {
                return Err(format!(
                    "cost without diversity {} but the plan without it costs {}",
                    d.cost_per_hour_without, plain.cost_per_hour
                ));
            }
            if e.extra_cost_at_least.is_some_and(|least| d.extra_cost_per_hour < least - 1e-9) {
                return Err(format!(
                    "diversity cost {} below the expected {:?}{}",
                    d.extra_cost_per_hour,
                    e.extra_cost_at_least,
                    summary()
                ));
            }
            if e.extra_cost_at_most.is_some_and(|most| d.extra_cost_per_hour > most + 1e-9) {
                return Err(format!(
                    "diversity cost {} above the expected {:?}{}",
                    d.extra_cost_per_hour,
                    e.extra_cost_at_most,
                    summary()
                ));
            }
        }
        (got, asked) => return Err(format!("spot diversity {got:?} for an option of {asked:?}")),
    }
    if let Some(at) = common::negative_zero(&serde_json::to_value(&plan).map_err(|e| e.to_string())?, "plan") {
        return Err(format!("negative zero at {at}"));
    }
    if plan.lower_bound_per_hour > plan.cost_per_hour + 1e-9 {
        return Err(format!("bound {} above cost {}", plan.lower_bound_per_hour, plan.cost_per_hour));
    }
    if let Some(karpenter) = plan.karpenter_cost_per_hour {
        if plan.cost_per_hour > karpenter + 1e-9 {
            return Err(format!("cost {} above karpenter mode's {karpenter}{}", plan.cost_per_hour, summary()));
        }
    }
    Ok(())
}

#[test]
fn pack_scenarios() {
    common::run_scenarios("pack", 6, check);
}

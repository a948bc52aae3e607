//! Consolidation scenarios written as data: each file in `scenarios/consolidate/` holds a
//! cluster (nodes and pods in a compact form, turned into real Node and Pod manifests here),
//! NodePools and other manifests, the time, and what the consolidation plan must contain.
//! Every plan is also checked against the snapshot: after its commands, every moved pod is on
//! a node with room for it, no pod is lost, and no budget is exceeded.

use fleetfit::catalog::Catalog;
use fleetfit::consolidate::{consolidate, ConsolidateOptions, ConsolidationMode, ConsolidationPlan};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

mod common;

use common::cluster::{cluster_manifests, invariants, NodeSpec, PodSpec};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    #[allow(dead_code)]
    description: String,
    now: String,
    /// Modes checked against `expect` (default: karpenter, optimize and global); `expect_<mode>`
    /// overrides parts per mode.
    #[serde(default)]
    modes: Option<Vec<String>>,
    #[serde(default)]
    spot_to_spot: bool,
    /// `global` mode's disruption weight (default: the library's).
    #[serde(default)]
    disruption_weight: Option<f64>,
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
    /// `global` mode's expectations, when they differ from `optimize` mode's.
    #[serde(default)]
    expect_global: Option<Expect>,
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
    /// The cluster's price per hour before the commands, at least.
    min_cost_before: Option<f64>,
    /// Each string appears in some warning of the plan; without any, the plan has none.
    #[serde(default)]
    warnings: Vec<String>,
}

fn check(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let s: Scenario = serde_yaml::from_str(&text).map_err(|e| format!("bad scenario file: {e}"))?;
    let catalog = Catalog::aws("us-east-1").map_err(|e| e.to_string())?;
    let text = cluster_manifests(&s.nodes, &s.pods, &catalog)? + &s.manifests;
    let inventory = fleetfit::manifest::parse("scenario", &text).map_err(|e| e.to_string())?;
    let now = s.now.parse().map_err(|e| format!("now: {e}"))?;
    let modes = s.modes.clone().unwrap_or_else(|| vec!["karpenter".into(), "optimize".into(), "global".into()]);
    for mode in modes {
        let mode: ConsolidationMode = mode.parse()?;
        let defaults = ConsolidateOptions::new(mode, now);
        let options = ConsolidateOptions {
            spot_to_spot: s.spot_to_spot,
            disruption_weight: s.disruption_weight.unwrap_or(defaults.disruption_weight),
            ..defaults
        };
        let plan = consolidate(&inventory, &catalog, &options).map_err(|e| e.to_string())?;
        let again = consolidate(&inventory, &catalog, &options).map_err(|e| e.to_string())?;
        if plan != again {
            return Err(format!("{mode} mode: the same input gave two different plans"));
        }
        let per_mode = match mode {
            ConsolidationMode::Karpenter => &s.expect_karpenter,
            ConsolidationMode::Global if s.expect_global.is_some() => &s.expect_global,
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
    e.min_cost_before = o.min_cost_before.or(e.min_cost_before);
    if !o.warnings.is_empty() {
        e.warnings = o.warnings.clone();
    }
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
    if let Some(min) = e.min_cost_before {
        if plan.cost_per_hour_before < min - 1e-9 {
            return Err(format!("cost before {} below {min}", plan.cost_per_hour_before));
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
    if let Some(at) = common::negative_zero(&serde_json::to_value(plan).map_err(|e| e.to_string())?, "plan") {
        return Err(format!("negative zero at {at}"));
    }
    invariants(plan, inventory)
}

#[test]
fn consolidate_scenarios() {
    common::run_scenarios("consolidate", 8, check);
}

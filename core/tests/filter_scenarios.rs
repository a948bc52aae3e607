//! Filtering scenarios written as data: each file in `scenarios/filter/` holds manifests
//! (workloads, NodePools, ...) and what `explain` must say about each workload.
//! A new case is a new file.

use fleetfit::catalog::Catalog;
use fleetfit::explain::{explain, ExplainOptions, WorkloadExplanation};
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
    manifests: String,
    /// Expectations per workload display name (`Deployment default/web`).
    expect: BTreeMap<String, Expect>,
    /// Expect the default NodePool to be used (no NodePool in the manifests).
    #[serde(default)]
    default_nodepool: Option<bool>,
}

fn default_region() -> String {
    "us-east-1".into()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Expect {
    schedulable: Option<bool>,
    /// Candidate instance types must include these.
    #[serde(default)]
    includes: Vec<String>,
    /// ... and must not include these.
    #[serde(default)]
    excludes: Vec<String>,
    /// Every candidate type has these label values.
    #[serde(default)]
    every_candidate: BTreeMap<String, String>,
    /// Each string appears in some rejection message.
    #[serde(default)]
    rejections: Vec<String>,
    /// The NodePools that have candidates, exactly.
    nodepools: Option<Vec<String>>,
    /// Number of pods of the workload.
    pods: Option<usize>,
    /// The cheapest candidate's instance type.
    cheapest: Option<String>,
}

fn check(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let scenario: Scenario = serde_yaml::from_str(&text).map_err(|e| format!("bad scenario file: {e}"))?;
    let inventory = fleetfit::manifest::parse("manifests", &scenario.manifests).map_err(|e| e.to_string())?;
    let catalog = Catalog::aws(&scenario.region).map_err(|e| e.to_string())?;
    let all = explain(&inventory, &catalog, &ExplainOptions { top: usize::MAX }).map_err(|e| e.to_string())?;
    if let Some(d) = scenario.default_nodepool {
        if all.default_nodepool != d {
            return Err(format!("default_nodepool: expected {d}, got {}", all.default_nodepool));
        }
    }
    for (name, expect) in &scenario.expect {
        let found: Vec<&WorkloadExplanation> = all.workloads.iter().filter(|w| &w.name == name).collect();
        let w = match found.as_slice() {
            [w] => *w,
            [] => {
                return Err(format!(
                    "{name}: not in the explanation (have: {:?})",
                    all.workloads.iter().map(|w| &w.name).collect::<Vec<_>>()
                ))
            }
            _ => return Err(format!("{name}: in several shape classes")),
        };
        let ctx = |msg: String| {
            format!(
                "{name}: {msg}\nrejections: {:#?}",
                w.rejections
                    .iter()
                    .map(|r| format!("{}: {} ({} types)", r.nodepool, r.message, r.instance_types))
                    .collect::<Vec<_>>()
            )
        };
        if let Some(s) = expect.schedulable {
            if w.schedulable != s {
                return Err(ctx(format!("schedulable: expected {s}, got {}", w.schedulable)));
            }
        }
        if let Some(p) = expect.pods {
            if w.pods != p {
                return Err(ctx(format!("pods: expected {p}, got {}", w.pods)));
            }
        }
        let types: Vec<&str> = w.cheapest.iter().map(|c| c.instance_type.as_str()).collect();
        for t in &expect.includes {
            if !types.contains(&t.as_str()) {
                return Err(ctx(format!("candidates lack {t}")));
            }
        }
        for t in &expect.excludes {
            if types.contains(&t.as_str()) {
                return Err(ctx(format!("candidates include {t}")));
            }
        }
        if let Some(c) = &expect.cheapest {
            if types.first().copied() != Some(c.as_str()) {
                return Err(ctx(format!("cheapest: expected {c}, got {:?}", types.first())));
            }
        }
        if !expect.every_candidate.is_empty() {
            let types_by_name: BTreeMap<String, fleetfit::catalog::InstanceType> = catalog
                .instance_types(&fleetfit::NodeClass::default())
                .into_iter()
                .map(|t| (t.name.clone(), t))
                .collect();
            for t in &types {
                let it = &types_by_name[*t];
                for (k, v) in &expect.every_candidate {
                    if !it.requirements.get(k).is_some_and(|r| r.has(v)) {
                        return Err(ctx(format!("candidate {t} does not have {k}={v}")));
                    }
                }
            }
        }
        for needle in &expect.rejections {
            if !w.rejections.iter().any(|r| r.message.contains(needle.as_str())) {
                return Err(ctx(format!("no rejection mentions {needle:?}")));
            }
        }
        if let Some(pools) = &expect.nodepools {
            if &w.nodepools != pools {
                return Err(ctx(format!("nodepools: expected {pools:?}, got {:?}", w.nodepools)));
            }
        }
    }
    Ok(())
}

#[test]
fn filter_scenarios() {
    common::run_scenarios("filter", 10, check);
}

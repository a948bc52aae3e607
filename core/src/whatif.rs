//! What-if scenarios: the same workloads with more or fewer replicas, larger or smaller
//! requests, a share of their pods on spot, the NodePools restricted to some instance
//! families — each planned by the packer, many at once.
//!
//! A scenario changes the *pending* pods (those a plan places) and the NodePools; pods bound
//! to nodes of a snapshot stay as they are.
//! - `replicas` multiplies each workload's pending pods, rounding up (so a workload keeps at
//!   least one pod unless the factor is 0); added pods are copies of the workload's first
//!   pending pod. Pods without an owner count as a workload of one.
//! - `requests` multiplies every pending pod's CPU and memory requests (rounding up).
//! - `spot_share` pins, per workload, that share of its pending pods (rounded to the nearest
//!   pod) to `karpenter.sh/capacity-type: spot` and the rest to `on-demand`, by
//!   `nodeSelector`; pods whose nodeSelector already names a capacity type keep it.
//! - `families` adds `karpenter.k8s.aws/instance-family In [...]` to every NodePool (to
//!   Karpenter's default NodePool when the input has none).

use crate::catalog::Catalog;
use crate::filter::default_nodepool;
use crate::labels;
use crate::model::{Inventory, ObjectRef, Pod};
use crate::pack::plan;
use crate::plan::{Mode, PlanOptions};
use crate::requirements::{Operator, RequirementSpec};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One what-if scenario. [`Scenario::default`] changes nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// Factor on each workload's pending pods (≥ 0).
    #[serde(default = "one")]
    pub replicas: f64,
    /// Factor on each pending pod's CPU and memory requests (> 0).
    #[serde(default = "one")]
    pub requests: f64,
    /// Share of each workload's pending pods pinned to spot (0–1); `None`: as written.
    #[serde(default)]
    pub spot_share: Option<f64>,
    /// Instance families every NodePool is restricted to; `None`: as written.
    #[serde(default)]
    pub families: Option<Vec<String>>,
}

fn one() -> f64 {
    1.0
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario { replicas: 1.0, requests: 1.0, spot_share: None, families: None }
    }
}

/// What one scenario's plan comes to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Priced {
    /// The new nodes' price per hour.
    pub cost_per_hour: f64,
    /// No plan of the scenario's pods launches new nodes for less.
    pub lower_bound_per_hour: f64,
    /// New nodes, and of them spot ones.
    pub nodes: usize,
    pub spot_nodes: usize,
    /// Pending pods of the scenario, and of them those no node can take.
    pub pods: usize,
    pub unschedulable: usize,
}

/// The inventory as `scenario` changes it.
pub fn apply(inventory: &Inventory, scenario: &Scenario) -> Result<Inventory> {
    let field = |name: &str, why: String| Error::field("scenario", name.to_string(), why);
    if !(scenario.replicas.is_finite() && scenario.replicas >= 0.0) {
        return Err(field("replicas", format!("must be a number ≥ 0, not {}", scenario.replicas)));
    }
    if !(scenario.requests.is_finite() && scenario.requests > 0.0) {
        return Err(field("requests", format!("must be a number > 0, not {}", scenario.requests)));
    }
    if let Some(share) = scenario.spot_share {
        if !(0.0..=1.0).contains(&share) {
            return Err(field("spot_share", format!("must be between 0 and 1, not {share}")));
        }
    }
    if scenario.families.as_ref().is_some_and(|f| f.is_empty()) {
        return Err(field("families", "must name at least one instance family".into()));
    }
    let mut out = inventory.clone();
    let (pending, bound): (Vec<Pod>, Vec<Pod>) =
        std::mem::take(&mut out.pods).into_iter().partition(|p| p.is_pending());
    out.pods = bound;
    // Pending pods by workload, in first-seen order.
    let mut groups: Vec<(Option<ObjectRef>, Vec<Pod>)> = Vec::new();
    let mut index: BTreeMap<ObjectRef, usize> = BTreeMap::new();
    for pod in pending {
        match &pod.owner {
            Some(owner) => match index.get(owner) {
                Some(&g) => groups[g].1.push(pod),
                None => {
                    index.insert(owner.clone(), groups.len());
                    groups.push((Some(owner.clone()), vec![pod]));
                }
            },
            None => groups.push((None, vec![pod])),
        }
    }
    for (_, mut pods) in groups {
        let want = (pods.len() as f64 * scenario.replicas - 1e-9).ceil().max(0.0) as usize;
        let template = pods[0].clone();
        for k in pods.len()..want {
            let mut pod = template.clone();
            pod.name = format!("{}-whatif-{k}", template.name);
            pod.uid = format!("whatif-{}-{}", pod.namespace, pod.name);
            pods.push(pod);
        }
        pods.truncate(want);
        let spot = scenario.spot_share.map(|share| (share * pods.len() as f64).round() as usize);
        for (k, pod) in pods.iter_mut().enumerate() {
            if scenario.requests != 1.0 {
                pod.requests.cpu.0 = scale(pod.requests.cpu.0, scenario.requests);
                pod.requests.memory.0 = scale(pod.requests.memory.0, scenario.requests);
            }
            if let Some(spot) = spot {
                let capacity = if k < spot { "spot" } else { "on-demand" };
                pod.node_selector.entry(labels::CAPACITY_TYPE.to_string()).or_insert_with(|| capacity.to_string());
            }
        }
        out.pods.extend(pods);
    }
    if let Some(families) = &scenario.families {
        if out.nodepools.is_empty() {
            out.nodepools.push(default_nodepool());
        }
        for pool in &mut out.nodepools {
            pool.requirement_specs.push(RequirementSpec {
                key: labels::INSTANCE_FAMILY.to_string(),
                operator: Operator::In,
                values: families.clone(),
                min_values: None,
            });
        }
    }
    Ok(out)
}

fn scale(amount: i64, factor: f64) -> i64 {
    let scaled = (amount as f64 * factor).ceil();
    if scaled >= i64::MAX as f64 {
        i64::MAX
    } else {
        scaled as i64
    }
}

/// Plans every scenario (`mode`, as [`crate::pack::plan`]) on up to `threads` threads (0: as
/// many as the machine has). The same input gives the same answers, whatever the threads.
pub fn sweep(
    inventory: &Inventory,
    catalog: &Catalog,
    scenarios: &[Scenario],
    mode: Mode,
    threads: usize,
) -> Result<Vec<Priced>> {
    let one = |s: &Scenario| -> Result<Priced> {
        let changed = apply(inventory, s)?;
        let planned = plan(&changed, catalog, &PlanOptions { mode, time_limit_seconds: None })?;
        Ok(Priced {
            cost_per_hour: planned.cost_per_hour,
            lower_bound_per_hour: planned.lower_bound_per_hour,
            nodes: planned.nodes.len(),
            spot_nodes: planned.nodes.iter().filter(|n| n.capacity_type == "spot").count(),
            pods: changed.pending_pods().count(),
            unschedulable: planned.unschedulable.len(),
        })
    };
    let threads = if cfg!(target_arch = "wasm32") {
        1
    } else if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    }
    .min(scenarios.len().max(1));
    if threads <= 1 {
        return scenarios.iter().map(one).collect();
    }
    // Scenario k goes to thread k % threads; answers are put back in scenario order.
    let mut answers: Vec<Option<Result<Priced>>> = (0..scenarios.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let one = &one;
                scope.spawn(move || {
                    scenarios.iter().enumerate().skip(t).step_by(threads).map(|(k, s)| (k, one(s))).collect::<Vec<_>>()
                })
            })
            .collect();
        for worker in workers {
            match worker.join() {
                Ok(done) => {
                    for (k, answer) in done {
                        answers[k] = Some(answer);
                    }
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    answers.into_iter().map(|a| a.expect("every scenario answered")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORKLOADS: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: web, resources: {requests: {cpu: 500m, memory: 1Gi}}}]
"#;

    fn inventory() -> Inventory {
        crate::manifest::parse("test", WORKLOADS).expect("valid")
    }

    #[test]
    fn scales_replicas_and_requests_and_pins_spot() {
        let s = Scenario { replicas: 1.5, requests: 2.0, spot_share: Some(0.5), families: Some(vec!["m5".into()]) };
        let out = apply(&inventory(), &s).expect("applies");
        assert_eq!(out.pods.len(), 6);
        assert!(out.pods.iter().all(|p| p.requests.cpu.0 == 1000 && p.requests.memory.0 == 2 << 30));
        let spot = out.pods.iter().filter(|p| p.node_selector.get(labels::CAPACITY_TYPE).is_some_and(|v| v == "spot"));
        assert_eq!(spot.count(), 3);
        let names: std::collections::BTreeSet<&str> = out.pods.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names.len(), 6, "pod names stay unique");
        assert_eq!(out.nodepools.len(), 1);
        assert!(out.nodepools[0].requirement_specs.iter().any(|r| r.key == labels::INSTANCE_FAMILY));
    }

    #[test]
    fn zero_replicas_leaves_nothing_to_place_and_bad_factors_name_the_field() {
        let out = apply(&inventory(), &Scenario { replicas: 0.0, ..Scenario::default() }).expect("applies");
        assert!(out.pods.is_empty());
        let err = apply(&inventory(), &Scenario { requests: 0.0, ..Scenario::default() }).unwrap_err();
        assert!(err.to_string().contains("requests"), "{err}");
        let err = apply(&inventory(), &Scenario { spot_share: Some(1.5), ..Scenario::default() }).unwrap_err();
        assert!(err.to_string().contains("spot_share"), "{err}");
    }

    #[test]
    fn a_sweep_answers_in_order_whatever_the_threads() {
        let catalog = Catalog::aws("us-east-1").expect("catalog");
        let scenarios: Vec<Scenario> =
            (1..=5).map(|r| Scenario { replicas: r as f64, ..Scenario::default() }).collect();
        let one = sweep(&inventory(), &catalog, &scenarios, Mode::Optimize, 1).expect("sweeps");
        let two = sweep(&inventory(), &catalog, &scenarios, Mode::Optimize, 2).expect("sweeps");
        assert_eq!(one, two);
        assert_eq!(one.iter().map(|p| p.pods).collect::<Vec<_>>(), vec![4, 8, 12, 16, 20]);
        assert!(one.windows(2).all(|w| w[0].cost_per_hour <= w[1].cost_per_hour + 1e-9));
    }
}

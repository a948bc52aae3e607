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
//!
//! Scaling is bounded as reading manifests is: a scenario may not grow a workload past
//! [`MAX_PODS_PER_WORKLOAD`] pending pods, nor the whole inventory past [`MAX_PENDING_PODS`];
//! such a scenario is an error naming it and the workload, refused before any pod is made.

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

/// The most pending pods a scenario may give one workload: the manifest reader's limit on a
/// workload's replicas, so that a factor cannot make what no manifest may ask for.
pub const MAX_PODS_PER_WORKLOAD: usize = crate::manifest::MAX_REPLICAS as usize;

/// The most pending pods a scenario may have in all: the manifest reader's limit on the pods
/// it expands workloads into.
pub const MAX_PENDING_PODS: usize = crate::manifest::MAX_EXPANDED_PODS;

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
    let groups = workloads(&inventory.pods);
    check(scenario, &groups).map_err(|(field, why)| Error::field("scenario", field, why))?;
    let mut out = inventory.clone();
    out.pods = inventory.pods.iter().filter(|p| !p.is_pending()).cloned().collect();
    for (_, pods) in groups {
        let want = scaled(pods.len(), scenario.replicas) as usize;
        let template = pods[0];
        let mut pods: Vec<Pod> = pods.into_iter().take(want).cloned().collect();
        for k in pods.len()..want {
            let mut pod = template.clone();
            pod.name = format!("{}-whatif-{k}", template.name);
            pod.uid = format!("whatif-{}-{}", pod.namespace, pod.name);
            pods.push(pod);
        }
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

/// Pending pods by workload (their owner; a pod without one is a workload of its own), in
/// first-seen order.
type Workloads<'a> = Vec<(Option<&'a ObjectRef>, Vec<&'a Pod>)>;

fn workloads(pods: &[Pod]) -> Workloads<'_> {
    let mut groups: Workloads<'_> = Vec::new();
    let mut index: BTreeMap<&ObjectRef, usize> = BTreeMap::new();
    for pod in pods.iter().filter(|p| p.is_pending()) {
        match &pod.owner {
            Some(owner) => match index.get(owner) {
                Some(&g) => groups[g].1.push(pod),
                None => {
                    index.insert(owner, groups.len());
                    groups.push((Some(owner), vec![pod]));
                }
            },
            None => groups.push((None, vec![pod])),
        }
    }
    groups
}

/// Pending pods of a workload of `pods` pending pods under a `replicas` factor: rounded up,
/// so a workload keeps at least one pod unless the factor is 0. A float, so that a huge
/// factor is compared with the limits, never cast to a count first.
fn scaled(pods: usize, replicas: f64) -> f64 {
    (pods as f64 * replicas - 1e-9).ceil().max(0.0)
}

/// Whether `scenario` can be applied to these workloads: its factors in range, and no
/// workload nor the whole grown past the limits. The error is (field, why).
fn check(scenario: &Scenario, groups: &Workloads<'_>) -> std::result::Result<(), (&'static str, String)> {
    let Scenario { replicas, requests, spot_share, families } = scenario;
    if !(replicas.is_finite() && *replicas >= 0.0) {
        return Err(("replicas", format!("must be a number ≥ 0, not {replicas}")));
    }
    if !(requests.is_finite() && *requests > 0.0) {
        return Err(("requests", format!("must be a number > 0, not {requests}")));
    }
    if let Some(share) = spot_share {
        if !(0.0..=1.0).contains(share) {
            return Err(("spot_share", format!("must be between 0 and 1, not {share}")));
        }
    }
    if families.as_ref().is_some_and(|f| f.is_empty()) {
        return Err(("families", "must name at least one instance family".into()));
    }
    let (mut before, mut after) = (0.0, 0.0);
    for (owner, pods) in groups {
        let want = scaled(pods.len(), *replicas);
        if want > pods.len() as f64 && want > MAX_PODS_PER_WORKLOAD as f64 {
            let workload =
                owner.map_or_else(|| format!("Pod {}/{}", pods[0].namespace, pods[0].name), |o| o.to_string());
            return Err((
                "replicas",
                format!(
                    "{} × {} pending pods would make {} pods of {workload}; at most {} per workload",
                    number(*replicas),
                    number(pods.len() as f64),
                    number(want),
                    number(MAX_PODS_PER_WORKLOAD as f64)
                ),
            ));
        }
        before += pods.len() as f64;
        after += want;
    }
    if after > before && after > MAX_PENDING_PODS as f64 {
        return Err((
            "replicas",
            format!(
                "{} × {} pending pods would make {} pods; at most {} in a scenario",
                number(*replicas),
                number(before),
                number(after),
                number(MAX_PENDING_PODS as f64)
            ),
        ));
    }
    Ok(())
}

/// `2,000,000`, `1.5`, or `1e300` for numbers too large to read digit by digit.
fn number(x: f64) -> String {
    if x.abs() >= 1e15 {
        return format!("{x:e}");
    }
    if x.fract() != 0.0 {
        return x.to_string();
    }
    let digits = format!("{}", x.abs() as u64);
    let mut out = String::new();
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 {
        out.insert(0, '-');
    }
    out
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
/// Every scenario is checked before any is planned; a bad one is an error naming it
/// (`scenarios[3]: replicas: ...`).
pub fn sweep(
    inventory: &Inventory,
    catalog: &Catalog,
    scenarios: &[Scenario],
    mode: Mode,
    threads: usize,
) -> Result<Vec<Priced>> {
    let groups = workloads(&inventory.pods);
    for (k, s) in scenarios.iter().enumerate() {
        check(s, &groups).map_err(|(field, why)| Error::field(format!("scenarios[{k}]"), field, why))?;
    }
    let one = |s: &Scenario| -> Result<Priced> {
        let changed = apply(inventory, s)?;
        let planned = plan(&changed, catalog, &PlanOptions { mode, ..Default::default() })?;
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
    fn factors_that_are_not_numbers_in_range_are_errors() {
        for replicas in [f64::NAN, f64::INFINITY, -1.0] {
            let err = apply(&inventory(), &Scenario { replicas, ..Scenario::default() }).unwrap_err();
            assert!(err.to_string().starts_with("scenario: replicas: must be a number ≥ 0"), "{err}");
        }
        for requests in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0] {
            let err = apply(&inventory(), &Scenario { requests, ..Scenario::default() }).unwrap_err();
            assert!(err.to_string().starts_with("scenario: requests: must be a number > 0"), "{err}");
        }
        for share in [f64::NAN, -0.1, f64::INFINITY] {
            let err = apply(&inventory(), &Scenario { spot_share: Some(share), ..Scenario::default() }).unwrap_err();
            assert!(err.to_string().starts_with("scenario: spot_share: must be between 0 and 1"), "{err}");
        }
        let err = apply(&inventory(), &Scenario { families: Some(vec![]), ..Scenario::default() }).unwrap_err();
        assert!(err.to_string().contains("families"), "{err}");
    }

    #[test]
    fn a_workload_may_not_grow_past_what_a_manifest_may_ask_for() {
        let err = apply(&inventory(), &Scenario { replicas: 1e6, ..Scenario::default() }).unwrap_err();
        assert_eq!(
            err.to_string(),
            "scenario: replicas: 1,000,000 × 4 pending pods would make 4,000,000 pods of Deployment shop/web; \
             at most 100,000 per workload"
        );
        // A factor too large to count is refused before any pod is made.
        let err = apply(&inventory(), &Scenario { replicas: 1e300, ..Scenario::default() }).unwrap_err();
        assert!(err.to_string().contains("1e300 × 4 pending pods would make 4e300 pods"), "{err}");
        // Up to the limit is fine.
        let exactly = Scenario { replicas: (MAX_PODS_PER_WORKLOAD / 4) as f64, ..Scenario::default() };
        assert_eq!(check(&exactly, &workloads(&inventory().pods)), Ok(()));
        let more = Scenario { replicas: exactly.replicas + 1.0, ..Scenario::default() };
        assert!(check(&more, &workloads(&inventory().pods)).is_err());
    }

    #[test]
    fn the_limit_per_workload_is_the_manifest_readers() {
        let too_many = WORKLOADS.replace("replicas: 4", &format!("replicas: {}", MAX_PODS_PER_WORKLOAD + 1));
        let err = crate::manifest::parse("test", &too_many).unwrap_err();
        assert!(err.to_string().contains(&format!("({MAX_PODS_PER_WORKLOAD})")), "{err}");
    }

    #[test]
    fn a_scenario_may_not_grow_past_the_pods_an_inventory_may_have() {
        // Ten workloads of 1,000 pods: 60 times each stays under the workload limit, not
        // under the total.
        let text: String = (0..10)
            .map(|k| {
                WORKLOADS.replace("name: web,", &format!("name: web{k},")).replace("replicas: 4", "replicas: 1000")
            })
            .collect::<Vec<_>>()
            .join("---\n");
        let many = crate::manifest::parse("test", &text).expect("valid");
        let err = apply(&many, &Scenario { replicas: 60.0, ..Scenario::default() }).unwrap_err();
        assert_eq!(
            err.to_string(),
            "scenario: replicas: 60 × 10,000 pending pods would make 600,000 pods; at most 500,000 in a scenario"
        );
        assert!(apply(&many, &Scenario { replicas: 50.0, ..Scenario::default() }).is_ok());
    }

    #[test]
    fn a_sweep_names_its_bad_scenario_before_planning_any() {
        let catalog = Catalog::aws("us-east-1").expect("catalog");
        let scenarios = [Scenario::default(), Scenario { replicas: 1e7, ..Scenario::default() }];
        let err = sweep(&inventory(), &catalog, &scenarios, Mode::Optimize, 1).unwrap_err();
        assert!(err.to_string().starts_with("scenarios[1]: replicas: 10,000,000 × 4 pending pods"), "{err}");
    }

    #[test]
    fn numbers_in_messages_read_easily() {
        assert_eq!(number(2_000_000.0), "2,000,000");
        assert_eq!(number(100.0), "100");
        assert_eq!(number(1.5), "1.5");
        assert_eq!(number(-1234.0), "-1,234");
        assert_eq!(number(1e300), "1e300");
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

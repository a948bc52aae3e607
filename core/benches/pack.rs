//! Packing benchmark on Karpenter's own scheduling benchmark workload
//! (`scheduling_benchmark_test.go`): 400 synthetic instance types (type i: cpu i+1, memory
//! 2(i+1) GiB, pods 10(i+1), overhead 100m / 10Mi, spot in zones 1–2 and on-demand in zones
//! 1–3, price 0.1·cpu + 0.1·memory GiB), one NodePool without limits, and pods with CPU from
//! {100, 250, 500, 1000, 1500}m and memory from {100, 256, 512, 1024, 2048, 4096}Mi in five
//! equal kinds: generic, zonal spread, hostname spread, zonal self-affinity, hostname
//! self-anti-affinity. Seeded (42) with this file's own generator.
//!
//! Run: `cargo bench -p fleetfit-core --bench pack [-- SIZES... MODES...]` (default sizes 1 100
//! 1000 5000 10000 20000, every mode).
//! Prints pods per second, nodes and cost; never fails on speed.

mod common;

use common::Lcg;
use fleetfit::catalog::Catalog;
use fleetfit::model::{Inventory, Pod};
use fleetfit::plan::{Mode, PlanOptions};
use fleetfit::{Quantity, Resources};
use std::fmt::Write;
use std::time::Instant;

fn catalog() -> Catalog {
    let mut types = String::new();
    for i in 0..400u32 {
        let cpu = i + 1;
        let mem_gib = 2 * (i + 1);
        let price = 0.1 * cpu as f64 + 0.1 * mem_gib as f64;
        if i > 0 {
            types.push(',');
        }
        let mut offerings = String::new();
        for (zone, spot) in [("test-zone-1", true), ("test-zone-2", true), ("test-zone-3", false)] {
            if spot {
                let _ = write!(offerings, r#"{{"zone":"{zone}","capacityType":"spot","price":{price}}},"#);
            }
            let _ = write!(offerings, r#"{{"zone":"{zone}","capacityType":"on-demand","price":{price}}},"#);
        }
        offerings.pop();
        let _ = write!(
            types,
            r#"{{"name":"fake-it-{i}","capacity":{{"cpu":"{cpu}","memory":"{mem_gib}Gi","pods":"{}"}},
                "allocatable":{{"cpu":"{}m","memory":"{}Mi","pods":"{}"}},"offerings":[{offerings}]}}"#,
            10 * (i + 1),
            cpu * 1000 - 100,
            mem_gib * 1024 - 10,
            10 * (i + 1),
        );
    }
    let json =
        format!(r#"{{"region":"test","zones":["test-zone-1","test-zone-2","test-zone-3"],"instanceTypes":[{types}]}}"#);
    Catalog::from_json("karpenter-benchmark", &json).unwrap_or_else(|e| panic!("{e}"))
}

const NODEPOOL: &str = r#"
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: default}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: kubernetes.io/os, operator: In, values: [linux]}
"#;

/// One pod of each kind, as templates.
const KINDS: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: generic, labels: {kind: generic}}
spec:
  containers: [{name: c, resources: {requests: {cpu: 100m}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: zonal-spread, labels: {kind: zonal-spread}}
spec:
  topologySpreadConstraints:
    - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {kind: zonal-spread}}}
  containers: [{name: c, resources: {requests: {cpu: 100m}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: hostname-spread, labels: {kind: hostname-spread}}
spec:
  topologySpreadConstraints:
    - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {kind: hostname-spread}}}
  containers: [{name: c, resources: {requests: {cpu: 100m}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: zonal-affinity, labels: {kind: zonal-affinity}}
spec:
  affinity:
    podAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        - {topologyKey: topology.kubernetes.io/zone, labelSelector: {matchLabels: {kind: zonal-affinity}}}
  containers: [{name: c, resources: {requests: {cpu: 100m}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: hostname-anti-affinity, labels: {kind: hostname-anti-affinity}}
spec:
  affinity:
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        - {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {kind: hostname-anti-affinity}}}
  containers: [{name: c, resources: {requests: {cpu: 100m}}}]
"#;

fn workload(count: usize, seed: u64) -> Inventory {
    let mut inventory = fleetfit::manifest::parse_sources(&[
        ("nodepool.yaml".into(), NODEPOOL.into()),
        ("kinds.yaml".into(), KINDS.into()),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    let kinds: Vec<Pod> = std::mem::take(&mut inventory.pods);
    let cpus = [100, 250, 500, 1000, 1500];
    let mems = [100, 256, 512, 1024, 2048, 4096];
    let mut rng = Lcg(seed);
    for i in 0..count {
        let mut pod = kinds[i * kinds.len() / count.max(1)].clone();
        pod.name = format!("{}-{i}", pod.name);
        pod.uid = format!("uid-{i:08}");
        let mut requests = Resources::default();
        requests.set("cpu", Quantity::from_milli(cpus[rng.next(cpus.len())])).unwrap();
        requests.set("memory", Quantity::from_bytes(mems[rng.next(mems.len())] * 1024 * 1024)).unwrap();
        requests.pods = 1;
        pod.requests = requests;
        inventory.pods.push(pod);
    }
    inventory
}

/// The modes measured (exact joins when built with the `milp` feature).
const MODES: &[Mode] = &[
    Mode::Karpenter,
    Mode::Optimize,
    #[cfg(feature = "milp")]
    Mode::Exact,
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![1, 100, 1000, 5000, 10000, 20000] } else { sizes };
    let modes: Vec<Mode> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let modes = if modes.is_empty() { MODES.to_vec() } else { modes };
    let catalog = catalog();
    println!(
        "{:>7}  {:<10} {:>10} {:>12} {:>7} {:>12} {:>12} {:>8}",
        "pods", "mode", "seconds", "pods/s", "nodes", "cost/h", "bound/h", "gap"
    );
    for &n in &sizes {
        let inventory = workload(n, 42);
        for &mode in &modes {
            let start = Instant::now();
            let plan = fleetfit::pack::plan(&inventory, &catalog, &PlanOptions { mode, ..Default::default() })
                .unwrap_or_else(|e| panic!("{e}"));
            let secs = start.elapsed().as_secs_f64();
            println!(
                "{n:>7}  {:<10} {secs:>10.3} {:>12.0} {:>7} {:>12.2} {:>12.2} {:>8}",
                mode.to_string(),
                n as f64 / secs,
                plan.nodes.len(),
                plan.cost_per_hour,
                plan.lower_bound_per_hour,
                plan.gap.map(|g| format!("{:.1}%", g * 100.0)).unwrap_or_else(|| "-".into()),
            );
            if !plan.unschedulable.is_empty() {
                println!("         {} unschedulable, e.g. {:?}", plan.unschedulable.len(), plan.unschedulable[0]);
            }
        }
    }
}

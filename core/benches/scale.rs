//! The real catalog at scale: every instance type of us-east-1 in one NodePool (linux, amd64
//! and arm64, spot and on-demand, no other requirement), a node agent DaemonSet, and 50,000
//! pending pods in 200 Deployments — CPU requests log-uniform 100m–8, 0.5–8 GiB per core,
//! replicas 50–450, one Deployment in ten with zonal spread, one in twenty pinned to
//! on-demand. Seeded (7) with the benches' own generator.
//!
//! Run: `cargo bench -p fleetfit-core --bench scale [-- PODS] [-- MODE] [--manifests]` (default
//! 50000 pods, optimize mode; `--manifests` prints the manifests, ready for `fleetfit plan`,
//! instead of planning them). Prints the time to parse the manifests and to plan, the plan's size and
//! cost, and the process's peak memory; never fails on speed.

mod common;

use common::{peak_memory_mib, Lcg};
use fleetfit::catalog::Catalog;
use fleetfit::plan::{Mode, PlanOptions};
use std::fmt::Write;
use std::time::Instant;

const CLUSTER: &str = r#"
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: everything}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: kubernetes.io/os, operator: In, values: [linux]}
        - {key: kubernetes.io/arch, operator: In, values: [amd64, arm64]}
        - {key: karpenter.sh/capacity-type, operator: In, values: [spot, on-demand]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-agent, namespace: kube-system}
spec:
  template:
    spec:
      tolerations: [{operator: Exists}]
      containers: [{name: agent, resources: {requests: {cpu: 100m, memory: 200Mi}}}]
"#;

const DEPLOYMENTS: usize = 200;

/// The manifests: 200 Deployments whose replicas add up to `pods`.
fn manifests(pods: usize, seed: u64) -> String {
    let mut rng = Lcg(seed);
    let weights: Vec<usize> = (0..DEPLOYMENTS).map(|_| rng.between((50, 450))).collect();
    let total: usize = weights.iter().sum();
    let mut out = CLUSTER.to_string();
    let mut left = pods;
    for (d, w) in weights.iter().enumerate() {
        let replicas = if d + 1 == DEPLOYMENTS { left } else { (pods * w / total).min(left) };
        left -= replicas;
        let cpu = ((rng.log_uniform((100.0, 8000.0)) / 50.0).round() * 50.0).max(50.0);
        let memory_mib = ((cpu / 1000.0 * rng.log_uniform((0.5, 8.0)) * 1024.0 / 64.0).round() * 64.0).max(64.0);
        let _ = write!(
            out,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d{d}}}\nspec:\n  replicas: {replicas}\n  template:\n    metadata: {{labels: {{app: d{d}}}}}\n    spec:\n"
        );
        if rng.chance(0.05) {
            out.push_str("      nodeSelector: {karpenter.sh/capacity-type: on-demand}\n");
        }
        if rng.chance(0.1) {
            let _ = writeln!(out, "      topologySpreadConstraints: [{{maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {{matchLabels: {{app: d{d}}}}}}}]");
        }
        let _ = writeln!(
            out,
            "      containers: [{{name: c, resources: {{requests: {{cpu: {cpu}m, memory: {memory_mib}Mi}}}}}}]"
        );
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let pods = args.iter().find_map(|a| a.parse().ok()).unwrap_or(50_000);
    let mode = args.iter().find_map(|a| a.parse().ok()).unwrap_or(Mode::Optimize);
    let catalog = Catalog::aws("us-east-1").unwrap_or_else(|e| panic!("{e}"));
    let text = manifests(pods, 7);
    if std::env::args().any(|a| a == "--manifests") {
        print!("{text}");
        return;
    }
    let start = Instant::now();
    let inventory = fleetfit::manifest::parse("scale.yaml", &text).unwrap_or_else(|e| panic!("{e}"));
    let parse = start.elapsed().as_secs_f64();
    let pending: Vec<&fleetfit::Pod> = inventory.pending_pods().collect();
    let classes = fleetfit::filter::shape_classes(&pending, &inventory).len();
    let start = Instant::now();
    let plan = fleetfit::pack::plan(&inventory, &catalog, &PlanOptions { mode, ..Default::default() })
        .unwrap_or_else(|e| panic!("{e}"));
    let seconds = start.elapsed().as_secs_f64();
    println!("catalog: us-east-1, {} instance types", catalog.len());
    println!("pods: {} pending in {classes} shape classes; parsed in {parse:.3} s", pending.len());
    println!(
        "{mode} mode: {seconds:.3} s ({:.0} pods/s), {} nodes, {} unschedulable",
        pending.len() as f64 / seconds,
        plan.nodes.len(),
        plan.unschedulable.len()
    );
    println!(
        "cost {:.2}/h, lower bound {:.2}/h, gap {}",
        plan.cost_per_hour,
        plan.lower_bound_per_hour,
        plan.gap.map_or("-".into(), |g| format!("{:.1}%", g * 100.0))
    );
    if let Some(k) = plan.karpenter_cost_per_hour {
        println!("karpenter mode: {k:.2}/h");
    }
    match peak_memory_mib() {
        Some(mib) => println!("peak memory: {mib:.0} MiB (the whole process: catalog, manifests and plan)"),
        None => println!("peak memory: not measured on this platform"),
    }
}

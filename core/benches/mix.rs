//! A Karpenter-benchmark-like mix on the real catalog: every instance type of us-east-1 in one
//! NodePool (linux, amd64 and arm64, spot and on-demand), and pending pods in groups of 50,
//! each group with its own label and, in turn, one of six shapes as in Karpenter's scheduling
//! benchmark: no constraint, zonal spread, hostname spread, hostname pod affinity, zonal pod
//! affinity, hostname pod anti-affinity (each selecting its own group, maxSkew 1,
//! DoNotSchedule). Each pod asks for one of 100m/250m/500m/1/1.5 CPU and one of
//! 100Mi/256Mi/512Mi/1Gi/2Gi/4Gi, drawn with the benches' seeded generator (seed 7), so the
//! shape classes are many (≈ 10,000 at 20,000 pods) and topology-heavy.
//!
//! Run: `cargo bench -p fleetfit-core --bench mix [-- SIZES...] [-- MODES...] [--manifests]`
//! (default 1000 5000 20000 40000 pods, karpenter and optimize modes). Per size and mode it
//! prints the time to parse the manifests and to plan (and the phases of the plan), pods per
//! second end to end, the plan's size, cost, lower bound and gap, and the peak memory of that
//! run (each size and mode in a process of its own). `--manifests` prints the first size's manifests instead (NodePool first), ready for
//! `fleetfit plan`. Never fails on speed.

mod common;

use common::{peak_memory_mib, reset_peak_memory, Lcg};
use fleetfit::catalog::Catalog;
use fleetfit::plan::{Mode, PlanOptions};
use std::fmt::Write;
use std::time::Instant;

const NODEPOOL: &str = r#"apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: default}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: kubernetes.io/os, operator: In, values: [linux]}
        - {key: kubernetes.io/arch, operator: In, values: [amd64, arm64]}
        - {key: karpenter.sh/capacity-type, operator: In, values: [spot, on-demand]}
"#;

/// Pods per group: each group shares a label and one topology rule.
const GROUP: usize = 50;
const CPU_MILLIS: [u32; 5] = [100, 250, 500, 1000, 1500];
const MEMORY_MIB: [u32; 6] = [100, 256, 512, 1024, 2048, 4096];

/// The topology rule of group `g` (selecting the group's own label), in the six shapes'
/// turn; `None` for the unconstrained groups.
fn rule(g: usize) -> Option<String> {
    let selector = format!("{{matchLabels: {{group: g{g}}}}}");
    let spread = |key: &str| {
        format!("  topologySpreadConstraints: [{{maxSkew: 1, topologyKey: {key}, whenUnsatisfiable: DoNotSchedule, labelSelector: {selector}}}]\n")
    };
    let affinity = |kind: &str, key: &str| {
        format!("  affinity: {{{kind}: {{requiredDuringSchedulingIgnoredDuringExecution: [{{labelSelector: {selector}, topologyKey: {key}}}]}}}}\n")
    };
    match g % 6 {
        0 => None,
        1 => Some(spread("topology.kubernetes.io/zone")),
        2 => Some(spread("kubernetes.io/hostname")),
        3 => Some(affinity("podAffinity", "kubernetes.io/hostname")),
        4 => Some(affinity("podAffinity", "topology.kubernetes.io/zone")),
        _ => Some(affinity("podAntiAffinity", "kubernetes.io/hostname")),
    }
}

/// The workload manifests: `pods` pending pods in groups of [`GROUP`].
fn workloads(pods: usize, seed: u64) -> String {
    let mut rng = Lcg(seed);
    let mut out = String::with_capacity(pods * 360);
    for i in 0..pods {
        let g = i / GROUP;
        let cpu = CPU_MILLIS[rng.next(CPU_MILLIS.len())];
        let memory = MEMORY_MIB[rng.next(MEMORY_MIB.len())];
        let _ = write!(
            out,
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: g{g}-{}, namespace: bench, labels: {{group: g{g}}}}}\nspec:\n",
            i % GROUP
        );
        if let Some(rule) = rule(g) {
            out.push_str(&rule);
        }
        let _ = writeln!(
            out,
            "  containers: [{{name: app, image: app, resources: {{requests: {{cpu: {cpu}m, memory: {memory}Mi}}}}}}]"
        );
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let mut sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if sizes.is_empty() {
        sizes = vec![1_000, 5_000, 20_000, 40_000];
    }
    let mut modes: Vec<Mode> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if modes.is_empty() {
        modes = vec![Mode::Karpenter, Mode::Optimize];
    }
    if std::env::args().any(|a| a == "--manifests") {
        print!("{NODEPOOL}{}", workloads(sizes[0], 7));
        return;
    }
    let catalog = Catalog::aws("us-east-1").unwrap_or_else(|e| panic!("{e}"));
    let child = std::env::args().any(|a| a == "--run");
    if !child {
        println!("catalog: us-east-1, {} instance types; one NodePool over all of them", catalog.len());
    }
    if sizes.len() * modes.len() > 1 {
        // Each run in a process of its own, so its peak memory is its own: an allocator keeps
        // what earlier runs freed.
        let me = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
        for &pods in &sizes {
            for &mode in &modes {
                let status = std::process::Command::new(&me)
                    .args([pods.to_string(), mode.to_string(), "--run".to_string()])
                    .status()
                    .unwrap_or_else(|e| panic!("{e}"));
                assert!(status.success(), "the run of {pods} pods in {mode} mode failed: {status}");
            }
        }
        return;
    }
    for &pods in &sizes {
        let text = format!("{NODEPOOL}{}", workloads(pods, 7));
        for &mode in &modes {
            reset_peak_memory();
            fleetfit::profile::start();
            let start = Instant::now();
            let inventory = fleetfit::manifest::parse("mix.yaml", &text).unwrap_or_else(|e| panic!("{e}"));
            let parse = start.elapsed().as_secs_f64();
            let parsed_peak = peak_memory_mib();
            let start = Instant::now();
            let plan = fleetfit::pack::plan(&inventory, &catalog, &PlanOptions { mode, ..Default::default() })
                .unwrap_or_else(|e| panic!("{e}"));
            let seconds = start.elapsed().as_secs_f64();
            let phases = fleetfit::profile::finish();
            let pending = inventory.pending_pods().count();
            let peak = match (parsed_peak, peak_memory_mib()) {
                (Some(parsed), Some(all)) => format!("{all:.0} MiB ({parsed:.0} MiB once parsed)"),
                _ => "-".to_string(),
            };
            println!(
                "\n{pending} pods, {mode} mode: parse {parse:.3} s + plan {seconds:.3} s = {:.3} s ({:.0} pods/s end to end); peak memory {peak}",
                parse + seconds,
                pending as f64 / (parse + seconds)
            );
            println!(
                "  {} nodes, {} unschedulable; cost {:.2}/h, lower bound {:.2}/h, gap {}{}",
                plan.nodes.len(),
                plan.unschedulable.len(),
                plan.cost_per_hour,
                plan.lower_bound_per_hour,
                plan.gap.map_or("-".into(), |g| format!("{:.1}%", g * 100.0)),
                plan.karpenter_cost_per_hour.map_or(String::new(), |k| format!("; karpenter mode {k:.2}/h"))
            );
            let phases: Vec<String> =
                phases.iter().map(|p| format!("{} {:.3} s ×{}", p.name, p.seconds, p.calls)).collect();
            println!("  phases: {}", phases.join(", "));
        }
    }
}

//! Consolidation of a large over-provisioned cluster: `NODES` nodes (default 5,000) of the
//! m6i, c6i and r6i families in one NodePool (spot and on-demand, budget 10%), each holding
//! up to 16 pods of 100 Deployments at 30–95% of its CPU, plus a DaemonSet pod; about 58,000
//! pods at the default size. Seeded (11) with the benches' own generator.
//!
//! Run: `cargo bench -p fleetfit-core --bench consolidate [-- NODES] [-- MODE...] [--phases]`
//! (default 5000 nodes, optimize, global and karpenter modes). Prints the time to parse the
//! snapshot and to decide, the commands, the nodes disrupted and launched, the savings, and the
//! process's peak memory; with `--phases`, where each mode's time went (see `fleetfit::profile`).
//! Never fails on speed.

mod common;

use common::{peak_memory_mib, Lcg};
use fleetfit::catalog::Catalog;
use fleetfit::consolidate::{consolidate, ConsolidateOptions, ConsolidationMode as Mode};
use std::fmt::Write;
use std::time::Instant;

const NOW: &str = "2026-12-01T12:00:00Z";
const DEPLOYMENTS: usize = 100;
const PODS_PER_NODE: usize = 16;
const TYPES: &[&str] = &[
    "m6i.large",
    "m6i.xlarge",
    "m6i.2xlarge",
    "m6i.4xlarge",
    "c6i.xlarge",
    "c6i.2xlarge",
    "r6i.xlarge",
    "r6i.2xlarge",
];
const ZONES: &[&str] = &["us-east-1a", "us-east-1b", "us-east-1c"];

const NODEPOOL: &str = r#"
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: general}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: karpenter.k8s.aws/instance-family, operator: In, values: [m6i, c6i, r6i]}
        - {key: karpenter.sh/capacity-type, operator: In, values: [spot, on-demand]}
  disruption:
    consolidationPolicy: WhenEmptyOrUnderutilized
    consolidateAfter: 0s
    budgets: [{nodes: "10%"}]
---
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata: {name: default}
spec:
  amiSelectorTerms: [{alias: al2023@latest}]
"#;

/// The snapshot: nodes, their pods, the NodePool.
fn snapshot(nodes: usize, catalog: &Catalog, seed: u64) -> String {
    let mut rng = Lcg(seed);
    let mut out = NODEPOOL.to_string();
    let shapes: Vec<(i64, i64)> = (0..DEPLOYMENTS)
        .map(|_| {
            let cpu = ((rng.log_uniform((50.0, 1000.0)) / 50.0).round() * 50.0).max(50.0) as i64;
            let mib =
                ((cpu as f64 / 1000.0 * rng.log_uniform((1.0, 8.0)) * 1024.0 / 64.0).round() * 64.0).max(64.0) as i64;
            (cpu, mib)
        })
        .collect();
    for n in 0..nodes {
        let name = format!("ip-10-{}-{}-{}.ec2.internal", n / 65536, (n / 256) % 256, n % 256);
        let ty = TYPES[rng.between((0, TYPES.len() - 1))];
        let zone = ZONES[n % ZONES.len()];
        let capacity = if rng.between((0, 3)) == 0 { "spot" } else { "on-demand" };
        let it = catalog.instance_type(ty, &fleetfit::NodeClass::default()).expect("a known type");
        let (cpu, mem) = (it.allocatable.cpu.0, it.allocatable.memory.0 / (1024 * 1024));
        let _ = write!(
            out,
            "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\n  creationTimestamp: \"2026-11-29T00:00:00Z\"\n  labels: {{kubernetes.io/hostname: {name}, kubernetes.io/os: linux, kubernetes.io/arch: amd64, node.kubernetes.io/instance-type: {ty}, topology.kubernetes.io/zone: {zone}, karpenter.sh/capacity-type: {capacity}, karpenter.sh/nodepool: general, karpenter.k8s.aws/instance-family: {}}}\nstatus:\n  capacity: {{cpu: \"{}\", memory: {}Ki, pods: \"{}\"}}\n  allocatable: {{cpu: {cpu}m, memory: {mem}Mi, pods: \"{}\"}}\n  conditions: [{{type: Ready, status: \"True\"}}]\n",
            ty.split('.').next().unwrap_or_default(),
            it.capacity.cpu.0 / 1000,
            it.capacity.memory.0 / 1024,
            it.capacity.pods,
            it.allocatable.pods,
        );
        let _ = write!(
            out,
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: agent-{n}\n  namespace: kube-system\n  ownerReferences: [{{apiVersion: apps/v1, kind: DaemonSet, name: agent}}]\nspec:\n  nodeName: {name}\n  containers: [{{name: c, resources: {{requests: {{cpu: 100m, memory: 128Mi}}}}}}]\nstatus: {{phase: Running}}\n"
        );
        let target = rng.between((30, 95)) as i64 * (cpu - 100) / 100;
        let (mut used_cpu, mut used_mem, mut placed) = (0, 0, 0);
        for k in 0..4 * PODS_PER_NODE {
            let d = rng.between((0, DEPLOYMENTS - 1));
            let (c, m) = shapes[d];
            if placed == PODS_PER_NODE || used_cpu + c > target || used_mem + m > mem - 128 {
                continue;
            }
            placed += 1;
            used_cpu += c;
            used_mem += m;
            let _ = write!(
                out,
                "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: d{d}-{n}-{k}\n  namespace: shop\n  creationTimestamp: \"2026-11-30T00:00:00Z\"\n  labels: {{app: d{d}}}\n  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: d{d}-rs}}]\nspec:\n  nodeName: {name}\n  containers: [{{name: c, resources: {{requests: {{cpu: {c}m, memory: {m}Mi}}}}}}]\nstatus: {{phase: Running}}\n"
            );
        }
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let nodes: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(5000);
    let mut modes: Vec<Mode> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if modes.is_empty() {
        modes = vec![Mode::Optimize, Mode::Global, Mode::Karpenter];
    }
    let catalog = Catalog::aws("us-east-1").expect("the embedded catalog");
    let text = snapshot(nodes, &catalog, 11);
    let started = Instant::now();
    let inventory = fleetfit::manifest::parse("snapshot", &text).expect("a valid snapshot");
    let pods = inventory.pods.iter().filter(|p| p.namespace == "shop").count();
    println!(
        "snapshot: {} nodes, {pods} pods (and a DaemonSet pod per node); parsed in {:.3} s",
        inventory.nodes.len(),
        started.elapsed().as_secs_f64()
    );
    for mode in modes {
        // Each mode alone: the savings of Karpenter's rules are its own line.
        let options =
            ConsolidateOptions { compare: false, ..ConsolidateOptions::new(mode, NOW.parse().expect("a timestamp")) };
        if std::env::args().any(|a| a == "--phases") {
            fleetfit::profile::start();
        }
        let started = Instant::now();
        let plan = consolidate(&inventory, &catalog, &options).expect("a plan");
        let seconds = started.elapsed().as_secs_f64();
        let phases: Vec<String> =
            fleetfit::profile::finish().iter().map(|p| format!("{} {:.3} s ×{}", p.name, p.seconds, p.calls)).collect();
        let disrupted: usize = plan.commands.iter().map(|c| c.candidates.len()).sum();
        let launched: usize = plan.commands.iter().map(|c| c.replacements.len()).sum();
        println!(
            "{mode:>9}: {seconds:.3} s, {} commands, {disrupted} nodes disrupted, {launched} launched, saves {:.2}/h of {:.2}/h{}",
            plan.commands.len(),
            plan.savings_per_hour,
            plan.cost_per_hour_before,
            plan.karpenter_savings_per_hour.map(|k| format!(" (karpenter rules: {k:.2}/h)")).unwrap_or_default()
        );
        if !phases.is_empty() {
            println!("           phases: {}", phases.join(", "));
        }
    }
    match peak_memory_mib() {
        Some(mib) => println!("peak memory: {mib:.0} MiB (the whole process: catalog, snapshot and plans)"),
        None => println!("peak memory: not measured on this platform"),
    }
}

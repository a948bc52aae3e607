//! A simulated day at 1-minute steps of a cluster peaking at about 1,000 nodes: 100
//! Deployments (CPU requests log-uniform 250m–2, 1–4 GiB per core, peak replicas 40–120; about
//! 8,000 pods at the 15:00 peak, 30% at the 03:00 trough) on a diurnal trace, in one NodePool of
//! the m6i, c6i and r6i families (spot and on-demand, budget 10%), with consolidation every
//! 5 minutes and a 60 s node start-up. Seeded (13) with the benches' own generator.
//!
//! Run: `cargo bench -p fleetfit-core --bench simulate [-- DEPLOYMENTS] [-- off|karpenter|optimize]
//! [--phases]` (default 100 Deployments, optimize consolidation). Prints the time to replay, the
//! peak nodes, the totals and a digest of the whole timeline (FNV-1a of its JSON: equal digests,
//! equal timelines); with `--phases`, where the time went (see `fleetfit::profile`). Never fails
//! on speed.

mod common;

use common::{peak_memory_mib, Lcg};
use fleetfit::catalog::Catalog;
use fleetfit::simulate::trace::Shape;
use fleetfit::simulate::{simulate, SimulateOptions, Trace};
use fleetfit::time::Duration;
use std::fmt::Write;
use std::time::Instant;

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
        - {key: karpenter.k8s.aws/instance-cpu, operator: Lt, values: ["17"]}
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

fn manifests(deployments: usize, seed: u64) -> String {
    let mut rng = Lcg(seed);
    let mut out = NODEPOOL.to_string();
    for d in 0..deployments {
        let replicas = rng.between((40, 120));
        let cpu = ((rng.log_uniform((250.0, 2000.0)) / 50.0).round() * 50.0) as i64;
        let mib = ((cpu as f64 / 1000.0 * rng.log_uniform((1.0, 4.0)) * 1024.0 / 64.0).round() * 64.0).max(64.0) as i64;
        let _ = write!(
            out,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d{d}, namespace: shop}}\nspec:\n  replicas: {replicas}\n  template:\n    metadata: {{labels: {{app: d{d}}}}}\n    spec:\n      containers: [{{name: c, resources: {{requests: {{cpu: {cpu}m, memory: {mib}Mi}}}}}}]\n"
        );
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let deployments: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(100);
    let consolidation = match args.iter().find(|a| a.parse::<usize>().is_err()).map(String::as_str) {
        Some("off") => None,
        Some(mode) => Some(mode.parse().expect("off, karpenter, optimize or global")),
        None => Some(fleetfit::consolidate::ConsolidationMode::Optimize),
    };
    let catalog = Catalog::aws("us-east-1").expect("the embedded catalog");
    let inventory = fleetfit::manifest::parse("bench", &manifests(deployments, 13)).expect("valid manifests");
    let peak: u32 = inventory.workloads.iter().map(|w| w.replicas).sum();
    let trace = Trace::generate(
        Shape::Diurnal,
        &inventory.workloads,
        "2026-12-01T00:00:00Z".parse().expect("a time"),
        1,
        Duration::from_secs(60),
    )
    .expect("one day");
    println!(
        "{deployments} Deployments, {peak} pods at the peak; {} steps, {} events",
        trace.steps(),
        trace.events.len()
    );
    let options = SimulateOptions { consolidation, ..SimulateOptions::default() };
    if std::env::args().any(|a| a == "--phases") {
        fleetfit::profile::start();
    }
    let started = Instant::now();
    let timeline = simulate(&inventory, &catalog, &trace, &options, &mut |_, _| {}).expect("a timeline");
    let seconds = started.elapsed().as_secs_f64();
    let t = &timeline.totals;
    println!(
        "consolidation {}: {seconds:.1} s; peak {} nodes ({:.2}/h); {:.2} for the day, {:.0} node-hours; {} launches, {} terminations, {} evictions; {:.0} pending pod-seconds",
        consolidation.map(|m| m.to_string()).unwrap_or_else(|| "off".into()),
        t.max_nodes,
        t.max_cost_per_hour,
        t.cost,
        t.node_hours,
        t.launches,
        t.terminations,
        t.evictions,
        t.pending_pod_seconds
    );
    // Every step of the timeline, to tell a change in the replay's decisions at a glance.
    let json = serde_json::to_string(&timeline).expect("a timeline serializes");
    let digest = json.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    println!("timeline digest: {digest:016x}");
    let phases: Vec<String> =
        fleetfit::profile::finish().iter().map(|p| format!("{} {:.3} s ×{}", p.name, p.seconds, p.calls)).collect();
    if !phases.is_empty() {
        println!("phases: {}", phases.join(", "));
    }
    match peak_memory_mib() {
        Some(mib) => println!("peak memory: {mib:.0} MiB"),
        None => println!("peak memory: not measured on this platform"),
    }
}

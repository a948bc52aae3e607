//! Standalone Pods against replicas: the same pending pods written once as N `kind: Pod`
//! documents (each with its own `run: <name>` label, as `kubectl run` gives them; four shapes
//! in three namespaces) and once as twelve Deployments. Both should cost about the same:
//! pods of one shape share a shape class whichever way they are written.
//!
//! Run: `cargo bench -p fleetfit-core --bench standalone [-- PODS]` (default 20000). Prints,
//! for each form, the input's size and the time to parse it, to group it into shape classes, to
//! plan it (optimize mode) and to explain it, and the process's peak memory; never fails on
//! speed.

mod common;

use common::peak_memory_mib;
use fleetfit::catalog::Catalog;
use fleetfit::plan::PlanOptions;
use std::fmt::Write;
use std::time::Instant;

const SHAPES: [(&str, &str); 4] = [("250m", "512Mi"), ("500m", "1Gi"), ("1", "2Gi"), ("2", "4Gi")];
const NAMESPACES: [&str; 3] = ["shop", "ops", "data"];

/// Pod `i`'s shape and namespace.
fn shape_of(i: usize) -> (usize, usize) {
    (i % SHAPES.len(), i % NAMESPACES.len())
}

fn standalone_pods(pods: usize) -> String {
    let mut out = String::new();
    for i in 0..pods {
        let (s, n) = shape_of(i);
        let (cpu, memory) = SHAPES[s];
        let _ = write!(
            out,
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p{i}\n  namespace: {}\n  labels: {{app: a{s}, run: p{i}}}\nspec:\n  containers:\n    - name: c\n      image: nginx:1.25\n      resources:\n        requests: {{cpu: {cpu}, memory: {memory}}}\n",
            NAMESPACES[n]
        );
    }
    out
}

fn deployments(pods: usize) -> String {
    let mut replicas = [[0usize; NAMESPACES.len()]; SHAPES.len()];
    for i in 0..pods {
        let (s, n) = shape_of(i);
        replicas[s][n] += 1;
    }
    let mut out = String::new();
    for (s, per_namespace) in replicas.iter().enumerate() {
        let (cpu, memory) = SHAPES[s];
        for (n, count) in per_namespace.iter().enumerate() {
            let _ = write!(
                out,
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d{s}, namespace: {}}}\nspec:\n  replicas: {count}\n  template:\n    metadata:\n      labels: {{app: a{s}}}\n    spec:\n      containers:\n        - name: c\n          image: nginx:1.25\n          resources:\n            requests: {{cpu: {cpu}, memory: {memory}}}\n",
                NAMESPACES[n]
            );
        }
    }
    out
}

fn measure(form: &str, text: &str, catalog: &Catalog) {
    let start = Instant::now();
    let inventory = fleetfit::manifest::parse("standalone.yaml", text).unwrap_or_else(|e| panic!("{e}"));
    let parse = start.elapsed().as_secs_f64();
    let pending: Vec<&fleetfit::Pod> = inventory.pending_pods().collect();
    let start = Instant::now();
    let classes = fleetfit::filter::shape_classes(&pending, &inventory).len();
    let group = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let plan = fleetfit::pack::plan(&inventory, catalog, &PlanOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let planned = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let explanation =
        fleetfit::explain(&inventory, catalog, &fleetfit::ExplainOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let explained = start.elapsed().as_secs_f64();
    println!(
        "{form:<16} {:>7.1} MB  parse {parse:>7.3} s  {classes:>3} classes in {group:.3} s  plan {planned:>7.3} s \
         ({} nodes, {:.2}/h)  explain {explained:>7.3} s ({} blocks)",
        text.len() as f64 / 1e6,
        plan.nodes.len(),
        plan.cost_per_hour,
        explanation.workloads.len()
    );
}

fn main() {
    let pods = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(20_000);
    let catalog = Catalog::aws("us-east-1").unwrap_or_else(|e| panic!("{e}"));
    println!("{pods} pending pods, {} shapes in {} namespaces", SHAPES.len(), NAMESPACES.len());
    measure("Deployments", &deployments(pods), &catalog);
    measure("standalone Pods", &standalone_pods(pods), &catalog);
    match peak_memory_mib() {
        Some(mib) => println!("peak memory: {mib:.0} MiB (the whole process)"),
        None => println!("peak memory: not measured on this platform"),
    }
}

//! Filtering benchmark: 10,000 pending pods in 50 shape classes × the full us-east-1 catalog
//! × 3 NodePools, on one core. Prints figures; never fails on speed.
//!
//! Run: `cargo bench -p fleetfit-core --bench filter`

use fleetfit::catalog::Catalog;
use fleetfit::filter::{shape_classes, FilterContext};
use fleetfit::{Inventory, Pod};
use std::fmt::Write;
use std::time::{Duration, Instant};

const NODEPOOLS: &str = r#"
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: general}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: kubernetes.io/arch, operator: In, values: [amd64, arm64]}
        - {key: karpenter.sh/capacity-type, operator: In, values: [spot, on-demand]}
        - {key: karpenter.k8s.aws/instance-category, operator: In, values: [c, m, r]}
        - {key: karpenter.k8s.aws/instance-generation, operator: Gt, values: ["4"]}
---
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: gpu}
spec:
  weight: 10
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: karpenter.k8s.aws/instance-gpu-manufacturer, operator: In, values: [nvidia]}
      taints:
        - {key: nvidia.com/gpu, value: "true", effect: NoSchedule}
---
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: batch}
spec:
  weight: 5
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: karpenter.sh/capacity-type, operator: In, values: [spot]}
        - {key: karpenter.k8s.aws/instance-family, operator: Exists, minValues: 3}
      taints:
        - {key: batch, value: "true", effect: NoSchedule}
"#;

/// 50 Deployments of 200 replicas: varied requests, some arm64-only, GPU, batch-tolerant or zonal.
fn workloads() -> String {
    let cpus = ["100m", "250m", "500m", "1", "2"];
    let mems = ["128Mi", "256Mi", "512Mi", "768Mi", "1Gi", "1536Mi", "2Gi", "3Gi", "4Gi", "6Gi"];
    let mut out = String::new();
    for i in 0..50 {
        let mut extra = String::new();
        let mut limits = String::new();
        match i % 10 {
            3 => extra.push_str("      nodeSelector: {kubernetes.io/arch: arm64}\n"),
            5 => {
                extra.push_str("      tolerations: [{key: nvidia.com/gpu, operator: Exists}]\n");
                limits.push_str(", nvidia.com/gpu: \"1\"");
            }
            7 => extra.push_str("      tolerations: [{key: batch, operator: Equal, value: \"true\"}]\n      nodeSelector: {karpenter.sh/capacity-type: spot}\n"),
            9 => extra.push_str("      nodeSelector: {topology.kubernetes.io/zone: us-east-1b}\n"),
            _ => {}
        }
        let _ = write!(
            out,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app-{i}, namespace: bench}}\nspec:\n  replicas: 200\n  template:\n    spec:\n{extra}      containers:\n        - name: app\n          resources: {{requests: {{cpu: {}, memory: {}{limits}}}}}\n",
            cpus[i % 5],
            mems[i / 5],
        );
    }
    out
}

fn measure<T>(name: &str, budget: Duration, mut f: impl FnMut() -> T) -> Duration {
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < 5 || (start.elapsed() < budget && samples.len() < 200) {
        let t = Instant::now();
        std::hint::black_box(f());
        samples.push(t.elapsed());
    }
    samples.sort();
    let median = samples[samples.len() / 2];
    println!(
        "{name:<44} median {:>9.3} ms   min {:>9.3} ms   ({} runs)",
        median.as_secs_f64() * 1e3,
        samples[0].as_secs_f64() * 1e3,
        samples.len()
    );
    median
}

fn main() {
    let sources =
        vec![("nodepools.yaml".to_string(), NODEPOOLS.to_string()), ("workloads.yaml".to_string(), workloads())];
    let budget = Duration::from_secs(3);
    measure("parse 50 Deployments + 3 NodePools", budget, || {
        fleetfit::manifest::parse_sources(&sources).unwrap_or_else(|e| panic!("{e}"))
    });
    let inventory: Inventory = fleetfit::manifest::parse_sources(&sources).unwrap_or_else(|e| panic!("{e}"));
    let pending: Vec<&Pod> = inventory.pending_pods().collect();
    measure("Catalog::aws(us-east-1)", budget, || Catalog::aws("us-east-1").unwrap());
    let catalog = Catalog::aws("us-east-1").unwrap();
    measure("size every type for a node class (uncached)", budget, || {
        catalog.instance_types(&fleetfit::NodeClass::default()).len()
    });
    let daemonsets: Vec<&Pod> = inventory.daemonsets.iter().map(|d| &d.template).collect();
    measure("FilterContext::new (3 pools x catalog)", budget, || {
        FilterContext::new(&inventory.nodepools, &inventory.nodeclasses, &daemonsets, &catalog).unwrap()
    });
    let ctx = FilterContext::new(&inventory.nodepools, &inventory.nodeclasses, &daemonsets, &catalog).unwrap();
    let classes = shape_classes(&pending, &inventory);
    let types: usize = ctx.pools.iter().map(|p| p.instance_types.len()).sum();
    println!(
        "{} pending pods, {} shape classes, {} NodePools, {} (pool, type) pairs",
        pending.len(),
        classes.len(),
        ctx.pools.len(),
        types
    );
    measure("shape classes of 10,000 pods", budget, || shape_classes(&pending, &inventory));
    let filter_all = measure("filter 50 classes x 3 pools x catalog", budget, || {
        classes.iter().map(|c| ctx.filter(c).candidates.len()).sum::<usize>()
    });
    let total = measure("end to end: context + classes + filter", budget, || {
        let ctx = FilterContext::new(&inventory.nodepools, &inventory.nodeclasses, &daemonsets, &catalog).unwrap();
        let classes = shape_classes(&pending, &inventory);
        classes.iter().map(|c| ctx.filter(c).candidates.len()).sum::<usize>()
    });
    let candidates: usize = classes.iter().map(|c| ctx.filter(c).candidates.len()).sum();
    println!(
        "{candidates} candidates in all; filter alone {:.1} ms, end to end {:.1} ms (target < 50 ms)",
        filter_all.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3
    );
}

//! The quality suite: seeded clusters on the embedded us-east-1 catalog, planned in every mode,
//! with each plan's cost against the lower bound. Two NodePools as a production cluster has
//! them — `general` (c, m and r families of generation 6 and later, amd64 and arm64, spot and
//! on-demand) and `gpu` (NVIDIA g types, tainted) — a node agent DaemonSet, and per instance a
//! workload profile: CPU-heavy, memory-heavy, GPU, many small pods, few large pods, mixed;
//! with or without existing nodes (partly filled), with or without zonal spread and hostname
//! anti-affinity. Seeded with this file's own generator.
//!
//! Run: `cargo bench -p fleetfit-core --bench quality [-- NAME...] [--manifests]` (instances
//! whose name contains one of the NAMEs; default all; `--manifests` prints their manifests,
//! ready for `fleetfit plan`, instead of planning them). Exact mode joins when built with the `milp`
//! feature. Prints one row per instance and a summary; exits non-zero only when `optimize`
//! costs more than `karpenter` somewhere, never on speed.

mod common;

use common::Lcg;
use fleetfit::catalog::Catalog;
use fleetfit::plan::{Mode, Plan, PlanOptions};
use fleetfit::{labels, NodeClass};
use std::fmt::Write;
use std::time::Instant;

const CLUSTER: &str = r#"
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata: {name: default}
spec:
  role: KarpenterNodeRole-quality
  amiSelectorTerms: [{alias: al2023@latest}]
---
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: general}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: kubernetes.io/os, operator: In, values: [linux]}
        - {key: kubernetes.io/arch, operator: In, values: [amd64, arm64]}
        - {key: karpenter.sh/capacity-type, operator: In, values: [spot, on-demand]}
        - {key: karpenter.k8s.aws/instance-category, operator: In, values: [c, m, r]}
        - {key: karpenter.k8s.aws/instance-generation, operator: Gt, values: ["5"]}
---
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: gpu}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: kubernetes.io/os, operator: In, values: [linux]}
        - {key: karpenter.sh/capacity-type, operator: In, values: [spot, on-demand]}
        - {key: karpenter.k8s.aws/instance-category, operator: In, values: [g]}
        - {key: karpenter.k8s.aws/instance-gpu-manufacturer, operator: In, values: [nvidia]}
      taints: [{key: nvidia.com/gpu, value: "true", effect: NoSchedule}]
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

/// Instance types of the existing nodes (all in the general NodePool).
const EXISTING_TYPES: [&str; 5] = ["m6i.2xlarge", "c6i.4xlarge", "r6i.2xlarge", "m7i.xlarge", "c7g.2xlarge"];
const ZONES: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];

/// What a workload looks like: its Deployments, their sizes and constraints.
struct Profile {
    name: &'static str,
    deployments: (usize, usize),
    replicas: (usize, usize),
    /// CPU request per pod (millicores, log-uniform) and memory per core (GiB, log-uniform).
    cpu_milli: (f64, f64),
    gib_per_core: (f64, f64),
    /// Shares of Deployments asking for GPUs, with zonal spread (maxSkew 1, DoNotSchedule),
    /// with hostname anti-affinity, and selecting on-demand capacity.
    gpu: f64,
    zonal_spread: f64,
    anti_affinity: f64,
    on_demand: f64,
    /// Existing nodes of the general NodePool, each 30–80% used.
    existing: usize,
}

const PROFILES: &[Profile] = &[
    Profile {
        name: "cpu-heavy",
        deployments: (4, 10),
        replicas: (2, 15),
        cpu_milli: (1000.0, 4000.0),
        gib_per_core: (0.5, 1.5),
        gpu: 0.0,
        zonal_spread: 0.0,
        anti_affinity: 0.0,
        on_demand: 0.0,
        existing: 0,
    },
    Profile {
        name: "memory-heavy",
        deployments: (4, 10),
        replicas: (2, 12),
        cpu_milli: (250.0, 2000.0),
        gib_per_core: (4.0, 16.0),
        gpu: 0.0,
        zonal_spread: 0.0,
        anti_affinity: 0.0,
        on_demand: 0.0,
        existing: 0,
    },
    Profile {
        name: "gpu",
        deployments: (3, 6),
        replicas: (1, 6),
        cpu_milli: (1000.0, 8000.0),
        gib_per_core: (2.0, 8.0),
        gpu: 0.5,
        zonal_spread: 0.0,
        anti_affinity: 0.0,
        on_demand: 0.0,
        existing: 0,
    },
    Profile {
        name: "many-small",
        deployments: (15, 30),
        replicas: (10, 40),
        cpu_milli: (50.0, 500.0),
        gib_per_core: (1.0, 4.0),
        gpu: 0.0,
        zonal_spread: 0.0,
        anti_affinity: 0.0,
        on_demand: 0.0,
        existing: 0,
    },
    Profile {
        name: "few-large",
        deployments: (2, 5),
        replicas: (1, 4),
        cpu_milli: (8000.0, 30000.0),
        gib_per_core: (2.0, 8.0),
        gpu: 0.0,
        zonal_spread: 0.0,
        anti_affinity: 0.0,
        on_demand: 0.0,
        existing: 0,
    },
    Profile {
        name: "mixed",
        deployments: (8, 16),
        replicas: (1, 20),
        cpu_milli: (100.0, 4000.0),
        gib_per_core: (0.5, 8.0),
        gpu: 0.1,
        zonal_spread: 0.0,
        anti_affinity: 0.0,
        on_demand: 0.2,
        existing: 0,
    },
    Profile {
        name: "spread",
        deployments: (6, 12),
        replicas: (2, 12),
        cpu_milli: (250.0, 2000.0),
        gib_per_core: (1.0, 4.0),
        gpu: 0.0,
        zonal_spread: 0.5,
        anti_affinity: 0.2,
        on_demand: 0.0,
        existing: 0,
    },
    Profile {
        name: "memory-heavy-spread",
        deployments: (4, 10),
        replicas: (3, 12),
        cpu_milli: (250.0, 2000.0),
        gib_per_core: (4.0, 16.0),
        gpu: 0.0,
        zonal_spread: 0.6,
        anti_affinity: 0.1,
        on_demand: 0.0,
        existing: 0,
    },
    Profile {
        name: "cpu-heavy-existing",
        deployments: (4, 10),
        replicas: (2, 15),
        cpu_milli: (1000.0, 4000.0),
        gib_per_core: (0.5, 1.5),
        gpu: 0.0,
        zonal_spread: 0.0,
        anti_affinity: 0.0,
        on_demand: 0.0,
        existing: 3,
    },
    Profile {
        name: "many-small-existing",
        deployments: (15, 30),
        replicas: (10, 40),
        cpu_milli: (50.0, 500.0),
        gib_per_core: (1.0, 4.0),
        gpu: 0.0,
        zonal_spread: 0.0,
        anti_affinity: 0.0,
        on_demand: 0.0,
        existing: 6,
    },
    Profile {
        name: "mixed-existing",
        deployments: (8, 16),
        replicas: (1, 20),
        cpu_milli: (100.0, 4000.0),
        gib_per_core: (0.5, 8.0),
        gpu: 0.1,
        zonal_spread: 0.0,
        anti_affinity: 0.0,
        on_demand: 0.2,
        existing: 5,
    },
    Profile {
        name: "spread-existing",
        deployments: (6, 12),
        replicas: (2, 12),
        cpu_milli: (250.0, 2000.0),
        gib_per_core: (1.0, 4.0),
        gpu: 0.0,
        zonal_spread: 0.5,
        anti_affinity: 0.2,
        on_demand: 0.0,
        existing: 4,
    },
];

/// Seeds each profile runs with.
const SEEDS: [u64; 2] = [1, 2];

/// The manifests of one instance: the cluster, the existing nodes with their bound pods, and
/// the Deployments.
fn manifests(profile: &Profile, seed: u64, catalog: &Catalog) -> String {
    let mut rng = Lcg(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ profile.name.len() as u64);
    let mut out = CLUSTER.to_string();
    for i in 0..profile.existing {
        let name = EXISTING_TYPES[rng.between((0, EXISTING_TYPES.len() - 1))];
        let it = catalog.instance_type(name, &NodeClass::default()).unwrap_or_else(|| panic!("{name} not in catalog"));
        let arch = it.requirements.get(labels::ARCH).and_then(|r| r.values().next().map(String::from));
        let zone = ZONES[i % ZONES.len()];
        let (cap, alloc) = (&it.capacity, &it.allocatable);
        let _ = write!(
            out,
            "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: existing-{i}\n  labels: {{kubernetes.io/hostname: existing-{i}, topology.kubernetes.io/zone: {zone}, kubernetes.io/arch: {}, kubernetes.io/os: linux, node.kubernetes.io/instance-type: {name}, karpenter.sh/capacity-type: on-demand, karpenter.sh/nodepool: general}}\nstatus:\n  capacity: {{cpu: {}m, memory: \"{}\", pods: \"{}\"}}\n  allocatable: {{cpu: {}m, memory: \"{}\", pods: \"{}\"}}\n  conditions: [{{type: Ready, status: \"True\"}}]\n",
            arch.as_deref().unwrap_or("amd64"),
            cap.cpu.0,
            cap.memory.0,
            cap.pods,
            alloc.cpu.0,
            alloc.memory.0,
            alloc.pods,
        );
        let used = 0.3 + 0.5 * rng.unit();
        let bound = rng.between((1, 4));
        for b in 0..bound {
            let share = used / bound as f64;
            let _ = write!(
                out,
                "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: running-{i}-{b}, namespace: default, labels: {{app: running}}}}\nspec:\n  nodeName: existing-{i}\n  containers: [{{name: c, resources: {{requests: {{cpu: {}m, memory: \"{}\"}}}}}}]\nstatus: {{phase: Running}}\n",
                (alloc.cpu.0 as f64 * share) as i64,
                (alloc.memory.0 as f64 * share) as i64,
            );
        }
    }
    for d in 0..rng.between(profile.deployments) {
        let replicas = rng.between(profile.replicas);
        let cpu = ((rng.log_uniform(profile.cpu_milli) / 50.0).round() * 50.0).max(50.0);
        let memory_mib =
            ((cpu / 1000.0 * rng.log_uniform(profile.gib_per_core) * 1024.0 / 64.0).round() * 64.0).max(64.0);
        let gpus = rng.chance(profile.gpu).then(|| [1, 1, 2, 4][rng.between((0, 3))]);
        let _ = write!(
            out,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d{d}}}\nspec:\n  replicas: {replicas}\n  template:\n    metadata: {{labels: {{app: d{d}}}}}\n    spec:\n"
        );
        if rng.chance(profile.on_demand) {
            out.push_str("      nodeSelector: {karpenter.sh/capacity-type: on-demand}\n");
        }
        if gpus.is_some() {
            out.push_str("      tolerations: [{key: nvidia.com/gpu, operator: Exists}]\n");
        }
        if rng.chance(profile.zonal_spread) {
            let _ = writeln!(out, "      topologySpreadConstraints: [{{maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {{matchLabels: {{app: d{d}}}}}}}]");
        }
        if rng.chance(profile.anti_affinity) {
            let _ = writeln!(out, "      affinity: {{podAntiAffinity: {{requiredDuringSchedulingIgnoredDuringExecution: [{{topologyKey: kubernetes.io/hostname, labelSelector: {{matchLabels: {{app: d{d}}}}}}}]}}}}");
        }
        let limits = gpus.map(|g| format!(", limits: {{nvidia.com/gpu: {g}}}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "      containers: [{{name: c, resources: {{requests: {{cpu: {cpu}m, memory: {memory_mib}Mi}}{limits}}}}}]"
        );
    }
    out
}

/// One mode's plan of one instance (or why there is none) and how long it took.
struct Outcome {
    plan: Option<Plan>,
    seconds: f64,
}

impl Outcome {
    fn cost(&self) -> String {
        self.plan.as_ref().map_or("-".into(), |p| format!("{:.4}", p.cost_per_hour))
    }
    fn gap(&self) -> String {
        match self.plan.as_ref().map(|p| p.gap) {
            Some(Some(g)) => format!("{:.1}%", g * 100.0),
            _ => "-".into(),
        }
    }
    fn time(&self) -> String {
        self.plan.as_ref().map_or("-".into(), |_| format!("{:.3}", self.seconds))
    }
    fn unschedulable(&self) -> String {
        self.plan.as_ref().map_or("-".into(), |p| p.unschedulable.len().to_string())
    }
}

fn run(inventory: &fleetfit::Inventory, catalog: &Catalog, mode: Mode) -> Outcome {
    let start = Instant::now();
    let plan = fleetfit::pack::plan(inventory, catalog, &PlanOptions { mode, ..Default::default() });
    let seconds = start.elapsed().as_secs_f64();
    match plan {
        Ok(plan) => Outcome { plan: Some(plan), seconds },
        Err(e) if mode == Mode::Exact => {
            eprintln!("exact mode: {e}");
            Outcome { plan: None, seconds }
        }
        Err(e) => panic!("{mode} mode: {e}"),
    }
}

/// The modes compared (exact joins when built with the `milp` feature).
fn modes() -> Vec<Mode> {
    #[allow(unused_mut)]
    let mut modes = vec![Mode::Karpenter, Mode::Optimize];
    #[cfg(feature = "milp")]
    modes.push(Mode::Exact);
    modes
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn percent(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{:.2}%", v * 100.0))
}

fn main() {
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let dump = std::env::args().any(|a| a == "--manifests");
    let catalog = Catalog::aws("us-east-1").unwrap_or_else(|e| panic!("{e}"));
    let modes = modes();
    if !dump {
        println!(
            "{:<24} {:>5} {:>7} {:>5} | {:>10} {:>10} {:>10} | {:>10} | {:>7} {:>7} {:>7} | {:>7} {:>7} {:>7} | {:>5} {:>5}",
            "instance",
            "pods",
            "classes",
            "nodes",
            "karpenter",
            "optimize",
            "exact",
            "bound",
            "gap k",
            "gap o",
            "gap e",
            "time k",
            "time o",
            "time e",
            "uns k",
            "uns o"
        );
    }
    let (mut gaps_k, mut gaps_o, mut gaps_e, mut savings) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut instances, mut worse, mut fewer_placed) = (0, Vec::new(), Vec::new());
    for profile in PROFILES {
        for seed in SEEDS {
            let name = format!("{}/{seed}", profile.name);
            if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
                continue;
            }
            let text = manifests(profile, seed, &catalog);
            if dump {
                println!("# {name}\n{text}");
                continue;
            }
            let inventory = fleetfit::manifest::parse(&name, &text).unwrap_or_else(|e| panic!("{e}"));
            let pending: Vec<&fleetfit::Pod> = inventory.pending_pods().collect();
            let classes = fleetfit::filter::shape_classes(&pending, &inventory).len();
            let outcomes: Vec<(Mode, Outcome)> = modes.iter().map(|&m| (m, run(&inventory, &catalog, m))).collect();
            let of = |mode: Mode| outcomes.iter().find(|(m, _)| *m == mode).map(|(_, o)| o);
            let none = Outcome { plan: None, seconds: 0.0 };
            let (k, o) = (of(Mode::Karpenter).unwrap_or(&none), of(Mode::Optimize).unwrap_or(&none));
            let e = of(Mode::Exact).unwrap_or(&none);
            let (Some(kp), Some(op)) = (&k.plan, &o.plan) else { unreachable!("karpenter and optimize always plan") };
            let bound = outcomes
                .iter()
                .filter_map(|(_, o)| o.plan.as_ref())
                .map(|p| p.lower_bound_per_hour)
                .fold(0.0, f64::max);
            println!(
                "{name:<24} {:>5} {classes:>7} {:>5} | {:>10} {:>10} {:>10} | {bound:>10.4} | {:>7} {:>7} {:>7} | {:>7} {:>7} {:>7} | {:>5} {:>5}",
                pending.len(),
                inventory.nodes.len(),
                k.cost(),
                o.cost(),
                e.cost(),
                k.gap(),
                o.gap(),
                e.gap(),
                k.time(),
                o.time(),
                e.time(),
                k.unschedulable(),
                o.unschedulable(),
            );
            instances += 1;
            gaps_k.extend(kp.gap);
            gaps_o.extend(op.gap);
            gaps_e.extend(e.plan.as_ref().and_then(|p| p.gap));
            if op.cost_per_hour > kp.cost_per_hour + 1e-9 {
                worse.push(name.clone());
            }
            if op.unschedulable.len() > kp.unschedulable.len() {
                fewer_placed.push(name.clone());
            }
            if kp.cost_per_hour > 0.0 {
                savings.push(1.0 - op.cost_per_hour / kp.cost_per_hour);
            }
        }
    }
    if dump {
        return;
    }
    println!();
    println!("instances: {instances}");
    println!(
        "mean gap to the lower bound: karpenter {}, optimize {}, exact {} ({} instances)",
        percent(mean(&gaps_k)),
        percent(mean(&gaps_o)),
        percent(mean(&gaps_e)),
        gaps_e.len()
    );
    println!("optimize costlier than karpenter: {} {:?}", worse.len(), worse);
    println!("optimize places fewer pods than karpenter: {} {:?}", fewer_placed.len(), fewer_placed);
    println!(
        "mean saving of optimize over karpenter: {} (max {})",
        percent(mean(&savings)),
        percent(savings.iter().copied().reduce(f64::max))
    );
    if !worse.is_empty() || !fewer_placed.is_empty() {
        std::process::exit(1);
    }
}

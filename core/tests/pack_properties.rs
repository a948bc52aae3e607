//! Invariants of the packer over random small clusters: a synthetic catalog of up to 12
//! instance types in three zones, a general NodePool and an optional tainted one (each maybe
//! limited), DaemonSets, optional existing nodes with bound pods, and up to 36 pending pods
//! with node selectors, tolerations, zonal spread and hostname anti-affinity. Every property
//! holds in `karpenter` and `optimize` mode.
//!
//! A failure prints the shrunk case, its manifests and catalog (ready for `fleetfit plan`) and
//! both plans.

use fleetfit::catalog::Catalog;
use fleetfit::plan::{Mode, Plan, PlanOptions, PlannedNode, Utilisation};
use fleetfit::{labels, InstanceType, Inventory, NodeClass, Pod, Resources};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

const ZONES: [&str; 3] = ["test-zone-a", "test-zone-b", "test-zone-c"];
const POD_CPUS: [u32; 8] = [100, 250, 500, 1000, 1500, 2000, 3500, 6000];
const POD_MEMORY_MIB: [u32; 7] = [128, 256, 512, 1024, 2048, 4096, 8192];
const GENERAL: &str = "general";
const DEDICATED: &str = "dedicated";

/// A synthetic instance type `syn<i>.large`.
#[derive(Debug, Clone)]
struct TypeSpec {
    cores: u32,
    gib_per_core: u32,
    pods: u32,
    arm64: bool,
    /// Per zone: bit 0 spot offered, bit 1 on-demand offered.
    offers: [u8; 3],
    /// Price as a percentage of a linear list price, and spot's as a percentage of that.
    price_percent: u32,
    spot_percent: u32,
    /// A zone whose spot offering is listed but not available.
    spot_unavailable: Option<usize>,
}

impl TypeSpec {
    fn memory_gib(&self) -> u32 {
        self.cores * self.gib_per_core
    }
    fn arch(&self) -> &'static str {
        if self.arm64 {
            "arm64"
        } else {
            "amd64"
        }
    }
    fn on_demand_price(&self) -> f64 {
        let list = 0.04 * self.cores as f64 + 0.005 * self.memory_gib() as f64;
        round4(list * self.price_percent as f64 / 100.0)
    }
    fn spot_price(&self) -> f64 {
        round4(self.on_demand_price() * self.spot_percent as f64 / 100.0).max(0.0001)
    }
    fn allocatable_cpu_milli(&self) -> u32 {
        self.cores * 1000 - 80
    }
    fn allocatable_memory_mib(&self) -> u32 {
        self.memory_gib() * 1024 - 300
    }
    /// Whether an available offering of this capacity type exists in zone `z`.
    fn offered(&self, z: usize, spot: bool) -> bool {
        let bit = if spot { 1 } else { 2 };
        self.offers[z] & bit != 0 && !(spot && self.spot_unavailable == Some(z))
    }
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

fn type_name(i: usize) -> String {
    format!("syn{i}.large")
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Selector {
    Zone(usize),
    Spot(bool),
    Arm64(bool),
    InstanceType(usize),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Spread {
    None,
    Zonal,
    HostnameAntiAffinity,
    /// Required pod affinity to the group on hostname: its pods share a node.
    HostnameAffinity,
}

/// A Deployment `g<i>` whose pods carry `app: g<i>`.
#[derive(Debug, Clone)]
struct GroupSpec {
    replicas: u32,
    cpu_milli: u32,
    memory_mib: u32,
    selector: Option<Selector>,
    /// Tolerates the dedicated NodePool's taint.
    tolerates: bool,
    spread: Spread,
}

/// The second NodePool: tainted `dedicated=batch:NoSchedule`.
#[derive(Debug, Clone)]
struct DedicatedSpec {
    /// 0: no weight.
    weight: u32,
    excluded_zone: Option<usize>,
    cpu_limit: Option<u32>,
}

/// A node of the cluster, of a catalog type, with one bound pod using part of it.
#[derive(Debug, Clone)]
struct ExistingSpec {
    instance_type: usize,
    zone: usize,
    spot: bool,
    /// Labelled as a node of the general NodePool (counts against its limits).
    in_general: bool,
    tainted: bool,
    /// `spec.unschedulable`: no pending pod may land on it.
    cordoned: bool,
    fill_percent: u32,
    /// The bound pod carries the label of this group (modulo the number of groups), so the
    /// group's anti-affinity and spread see it (unless cordoned); else `app: filler`.
    filler_group: Option<usize>,
}

#[derive(Debug, Clone)]
struct Case {
    types: Vec<TypeSpec>,
    /// The general NodePool's arch (`Some(true)`: arm64) and capacity-type (`Some(true)`:
    /// spot) requirements, and its cpu limit in cores.
    general_arm64: Option<bool>,
    general_spot: Option<bool>,
    general_cpu_limit: Option<u32>,
    dedicated: Option<DedicatedSpec>,
    /// DaemonSets: everywhere (tolerates all), untolerating, arm64 only (tolerates all).
    daemonsets: [bool; 3],
    existing: Vec<ExistingSpec>,
    groups: Vec<GroupSpec>,
}

/// DaemonSet (name, cpu milli, memory MiB).
const DAEMONSETS: [(&str, u32, u32); 3] = [("agent", 100, 128), ("logs", 50, 64), ("arm-agent", 200, 256)];

impl Case {
    fn catalog_json(&self) -> String {
        let mut types = Vec::new();
        for (i, t) in self.types.iter().enumerate() {
            let mut offerings = Vec::new();
            for (z, zone) in ZONES.iter().enumerate() {
                for spot in [true, false] {
                    if t.offers[z] & if spot { 1 } else { 2 } == 0 {
                        continue;
                    }
                    let (ct, price) = if spot { ("spot", t.spot_price()) } else { ("on-demand", t.on_demand_price()) };
                    let available = t.offered(z, spot);
                    offerings.push(format!(
                        r#"{{"zone":"{zone}","capacityType":"{ct}","price":{price},"available":{available}}}"#
                    ));
                }
            }
            types.push(format!(
                r#"{{"name":"{}","arch":"{}","capacity":{{"cpu":"{}","memory":"{}Gi","pods":"{}"}},"allocatable":{{"cpu":"{}m","memory":"{}Mi","pods":"{}"}},"offerings":[{}]}}"#,
                type_name(i),
                t.arch(),
                t.cores,
                t.memory_gib(),
                t.pods,
                t.allocatable_cpu_milli(),
                t.allocatable_memory_mib(),
                t.pods,
                offerings.join(",")
            ));
        }
        format!(r#"{{"region":"test","zones":["{}"],"instanceTypes":[{}]}}"#, ZONES.join(r#"",""#), types.join(",\n"))
    }

    /// The group whose label existing node `e`'s bound pod carries.
    fn filler_group(&self, e: &ExistingSpec) -> Option<usize> {
        e.filler_group.filter(|_| e.fill_percent > 0 && !e.cordoned).map(|g| g % self.groups.len())
    }

    fn manifests(&self) -> String {
        let mut out = String::new();
        let limits = |cpu: Option<u32>| cpu.map(|c| format!("  limits: {{cpu: \"{c}\"}}\n")).unwrap_or_default();
        let _ = write!(
            out,
            "apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata: {{name: {GENERAL}}}\nspec:\n{}  template:\n    spec:\n      nodeClassRef: {{group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}}\n      requirements:\n        - {{key: kubernetes.io/os, operator: In, values: [linux]}}\n",
            limits(self.general_cpu_limit)
        );
        if let Some(arm64) = self.general_arm64 {
            let arch = if arm64 { "arm64" } else { "amd64" };
            let _ = writeln!(out, "        - {{key: kubernetes.io/arch, operator: In, values: [{arch}]}}");
        }
        if let Some(spot) = self.general_spot {
            let ct = if spot { "spot" } else { "on-demand" };
            let _ = writeln!(out, "        - {{key: karpenter.sh/capacity-type, operator: In, values: [{ct}]}}");
        }
        if let Some(d) = &self.dedicated {
            let _ = write!(
                out,
                "---\napiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata: {{name: {DEDICATED}}}\nspec:\n{}{}  template:\n    spec:\n      nodeClassRef: {{group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}}\n      taints: [{{key: dedicated, value: batch, effect: NoSchedule}}]\n      requirements:\n        - {{key: kubernetes.io/os, operator: In, values: [linux]}}\n",
                if d.weight > 0 { format!("  weight: {}\n", d.weight) } else { String::new() },
                limits(d.cpu_limit)
            );
            if let Some(z) = d.excluded_zone {
                let _ = writeln!(
                    out,
                    "        - {{key: topology.kubernetes.io/zone, operator: NotIn, values: [{}]}}",
                    ZONES[z]
                );
            }
        }
        for (i, &(name, cpu, memory)) in DAEMONSETS.iter().enumerate() {
            if !self.daemonsets[i] {
                continue;
            }
            let tolerations = if i == 1 { "" } else { "      tolerations: [{operator: Exists}]\n" };
            let selector = if i == 2 { "      nodeSelector: {kubernetes.io/arch: arm64}\n" } else { "" };
            let _ = write!(
                out,
                "---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{name: {name}, namespace: kube-system}}\nspec:\n  template:\n    spec:\n{tolerations}{selector}      containers: [{{name: c, resources: {{requests: {{cpu: {cpu}m, memory: {memory}Mi}}}}}}]\n"
            );
        }
        for (i, e) in self.existing.iter().enumerate() {
            let t = &self.types[e.instance_type];
            let mut node_labels = format!(
                "kubernetes.io/hostname: existing-{i}, topology.kubernetes.io/zone: {}, kubernetes.io/arch: {}, kubernetes.io/os: linux, node.kubernetes.io/instance-type: {}, karpenter.sh/capacity-type: {}",
                ZONES[e.zone],
                t.arch(),
                type_name(e.instance_type),
                if e.spot { "spot" } else { "on-demand" }
            );
            if e.in_general {
                let _ = write!(node_labels, ", karpenter.sh/nodepool: {GENERAL}");
            }
            let mut spec = String::new();
            if e.tainted {
                spec.push_str("  taints: [{key: dedicated, value: batch, effect: NoSchedule}]\n");
            }
            if e.cordoned {
                spec.push_str("  unschedulable: true\n");
            }
            if !spec.is_empty() {
                spec.insert_str(0, "spec:\n");
            }
            let _ = write!(
                out,
                "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: existing-{i}\n  labels: {{{node_labels}}}\n{spec}status:\n  capacity: {{cpu: \"{}\", memory: {}Gi, pods: \"{}\"}}\n  allocatable: {{cpu: {}m, memory: {}Mi, pods: \"{}\"}}\n  conditions: [{{type: Ready, status: \"True\"}}]\n",
                t.cores,
                t.memory_gib(),
                t.pods,
                t.allocatable_cpu_milli(),
                t.allocatable_memory_mib(),
                t.pods
            );
            if e.fill_percent > 0 {
                let app = self.filler_group(e).map_or("filler".to_string(), |g| format!("g{g}"));
                let _ = write!(
                    out,
                    "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: filler-{i}, namespace: default, labels: {{app: {app}}}}}\nspec:\n  nodeName: existing-{i}\n  containers: [{{name: c, resources: {{requests: {{cpu: {}m, memory: {}Mi}}}}}}]\nstatus: {{phase: Running}}\n",
                    t.allocatable_cpu_milli() * e.fill_percent / 100,
                    t.allocatable_memory_mib() * e.fill_percent / 100
                );
            }
        }
        for (i, g) in self.groups.iter().enumerate() {
            let _ = write!(
                out,
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: g{i}}}\nspec:\n  replicas: {}\n  template:\n    metadata: {{labels: {{app: g{i}}}}}\n    spec:\n",
                g.replicas
            );
            if let Some(s) = g.selector {
                let (key, value) = selector_label(s);
                let _ = writeln!(out, "      nodeSelector: {{{key}: {value}}}");
            }
            if g.tolerates {
                out.push_str(
                    "      tolerations: [{key: dedicated, operator: Equal, value: batch, effect: NoSchedule}]\n",
                );
            }
            match g.spread {
                Spread::None => {}
                Spread::Zonal => {
                    let _ = writeln!(out, "      topologySpreadConstraints: [{{maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {{matchLabels: {{app: g{i}}}}}}}]");
                }
                Spread::HostnameAntiAffinity => {
                    let _ = writeln!(out, "      affinity: {{podAntiAffinity: {{requiredDuringSchedulingIgnoredDuringExecution: [{{topologyKey: kubernetes.io/hostname, labelSelector: {{matchLabels: {{app: g{i}}}}}}}]}}}}");
                }
                Spread::HostnameAffinity => {
                    let _ = writeln!(out, "      affinity: {{podAffinity: {{requiredDuringSchedulingIgnoredDuringExecution: [{{topologyKey: kubernetes.io/hostname, labelSelector: {{matchLabels: {{app: g{i}}}}}}}]}}}}");
                }
            }
            let _ = writeln!(
                out,
                "      containers: [{{name: c, resources: {{requests: {{cpu: {}m, memory: {}Mi}}}}}}]",
                g.cpu_milli, g.memory_mib
            );
        }
        out
    }

    /// The NodePools, as (name, tolerated only with the dedicated toleration).
    fn pools(&self) -> Vec<&'static str> {
        let mut pools = vec![GENERAL];
        if self.dedicated.is_some() {
            pools.push(DEDICATED);
        }
        pools
    }

    fn cpu_limit(&self, pool: &str) -> Option<u32> {
        match pool {
            GENERAL => self.general_cpu_limit,
            _ => self.dedicated.as_ref().and_then(|d| d.cpu_limit),
        }
    }

    /// Whether a pool's own requirements and static limits admit type `t`.
    fn pool_allows_type(&self, pool: &str, t: &TypeSpec) -> bool {
        if self.cpu_limit(pool).is_some_and(|limit| t.cores > limit) {
            return false;
        }
        pool != GENERAL || self.general_arm64.is_none_or(|arm64| t.arm64 == arm64)
    }

    /// Whether a pool's own requirements admit an offering in zone `z` of capacity type `spot`.
    fn pool_allows_offering(&self, pool: &str, z: usize, spot: bool) -> bool {
        match pool {
            GENERAL => self.general_spot.is_none_or(|s| s == spot),
            _ => self.dedicated.as_ref().is_some_and(|d| d.excluded_zone != Some(z)),
        }
    }

    /// The DaemonSet overhead on every node of a pool: the DaemonSets that tolerate its taints
    /// and whose node selector is compatible with its requirements.
    fn daemon_overhead(&self, pool: &str, inventory: &Inventory) -> Resources {
        let mut total = Resources::default();
        for (i, &(name, _, _)) in DAEMONSETS.iter().enumerate() {
            let applies = self.daemonsets[i]
                && match i {
                    1 => pool == GENERAL,
                    2 => pool != GENERAL || self.general_arm64 != Some(false),
                    _ => true,
                };
            if applies {
                let ds = inventory.daemonsets.iter().find(|d| d.name == name).expect("daemonset in the inventory");
                total.add_assign(&ds.template.requests);
            }
        }
        total
    }
}

fn selector_label(s: Selector) -> (&'static str, String) {
    match s {
        Selector::Zone(z) => (labels::ZONE, ZONES[z].to_string()),
        Selector::Spot(spot) => (labels::CAPACITY_TYPE, if spot { "spot" } else { "on-demand" }.to_string()),
        Selector::Arm64(arm64) => (labels::ARCH, if arm64 { "arm64" } else { "amd64" }.to_string()),
        Selector::InstanceType(t) => (labels::INSTANCE_TYPE, type_name(t)),
    }
}

fn type_spec() -> impl Strategy<Value = TypeSpec> {
    (
        prop::sample::select(vec![1u32, 2, 4, 8, 16, 32]),
        prop::sample::select(vec![1u32, 2, 4, 8]),
        8u32..=110,
        prop::bool::weighted(0.3),
        [0u8..4, 0u8..4, 0u8..4],
        80u32..=130,
        30u32..=95,
        prop::option::weighted(0.15, 0usize..3),
    )
        .prop_map(
            |(cores, gib_per_core, pods, arm64, mut offers, price_percent, spot_percent, spot_unavailable)| {
                if offers.iter().all(|&o| o == 0) {
                    offers[0] = 2;
                }
                TypeSpec { cores, gib_per_core, pods, arm64, offers, price_percent, spot_percent, spot_unavailable }
            },
        )
}

fn selector(types: usize) -> impl Strategy<Value = Selector> {
    prop_oneof![
        (0usize..3).prop_map(Selector::Zone),
        any::<bool>().prop_map(Selector::Spot),
        any::<bool>().prop_map(Selector::Arm64),
        (0..types).prop_map(Selector::InstanceType),
    ]
}

fn group_spec(types: usize) -> impl Strategy<Value = GroupSpec> {
    (
        1u32..=6,
        prop::sample::select(POD_CPUS.to_vec()),
        prop::sample::select(POD_MEMORY_MIB.to_vec()),
        prop::option::weighted(0.35, selector(types)),
        prop::bool::weighted(0.3),
        prop_oneof![
            3 => Just(Spread::None),
            1 => Just(Spread::Zonal),
            1 => Just(Spread::HostnameAntiAffinity),
            1 => Just(Spread::HostnameAffinity)
        ],
    )
        .prop_map(|(replicas, cpu_milli, memory_mib, selector, tolerates, spread)| GroupSpec {
            replicas,
            cpu_milli,
            memory_mib,
            selector,
            tolerates,
            spread,
        })
}

fn existing_spec(types: usize) -> impl Strategy<Value = ExistingSpec> {
    (
        0..types,
        0usize..3,
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.25),
        prop::bool::weighted(0.15),
        0u32..=90,
        prop::option::weighted(0.4, 0usize..6),
    )
        .prop_map(|(instance_type, zone, spot, in_general, tainted, cordoned, fill_percent, filler_group)| {
            ExistingSpec { instance_type, zone, spot, in_general, tainted, cordoned, fill_percent, filler_group }
        })
}

fn case() -> impl Strategy<Value = Case> {
    prop::collection::vec(type_spec(), 1..=12).prop_flat_map(|types| {
        let n = types.len();
        let dedicated = (0u32..=2, prop::option::of(0usize..3), prop::option::weighted(0.3, 4u32..=48)).prop_map(
            |(weight, excluded_zone, cpu_limit)| DedicatedSpec { weight: weight * 50, excluded_zone, cpu_limit },
        );
        (
            Just(types),
            prop::option::weighted(0.3, any::<bool>()),
            prop::option::weighted(0.3, any::<bool>()),
            prop::option::weighted(0.3, 4u32..=64),
            prop::option::of(dedicated),
            [any::<bool>(), any::<bool>(), any::<bool>()],
            prop_oneof![Just(Vec::new()), prop::collection::vec(existing_spec(n), 1..=3)],
            prop::collection::vec(group_spec(n), 1..=6),
        )
            .prop_map(
                |(types, general_arm64, general_spot, general_cpu_limit, dedicated, daemonsets, existing, groups)| {
                    Case {
                        types,
                        general_arm64,
                        general_spot,
                        general_cpu_limit,
                        dedicated,
                        daemonsets,
                        existing,
                        groups,
                    }
                },
            )
    })
}

/// A case with many pods under zone and hostname rules and no NodePool limits: `optimize`
/// places such pods apart from the others and packs them again when they are more than
/// 2,000 (a path small cases never take).
fn large_case() -> impl Strategy<Value = Case> {
    case().prop_map(|mut case| {
        case.general_cpu_limit = None;
        if let Some(d) = case.dedicated.as_mut() {
            d.cpu_limit = None;
        }
        for g in &mut case.groups {
            g.replicas *= match g.spread {
                Spread::None => 10,
                Spread::Zonal => 300,
                Spread::HostnameAntiAffinity => 20,
                Spread::HostnameAffinity => 1,
            };
        }
        let moving: u32 = case.groups.iter().filter(|g| g.spread != Spread::None).map(|g| g.replicas).sum();
        if moving <= 2_000 {
            case.groups[0].spread = Spread::Zonal;
            case.groups[0].replicas = 2_100;
        }
        case
    })
}

/// A case planned in both modes.
struct Run {
    case: Case,
    manifests: String,
    catalog_json: String,
    inventory: Inventory,
    catalog: Catalog,
    karpenter: Plan,
    optimize: Plan,
    /// Per pending pod (`namespace/name`): its group, read once.
    groups: BTreeMap<String, Option<usize>>,
}

fn plan(inventory: &Inventory, catalog: &Catalog, mode: Mode) -> Result<Plan, TestCaseError> {
    plan_with(inventory, catalog, mode, None)
}

fn plan_with(inventory: &Inventory, catalog: &Catalog, mode: Mode, spot: Option<f64>) -> Result<Plan, TestCaseError> {
    fleetfit::pack::plan(inventory, catalog, &PlanOptions { mode, max_spot_pool_share: spot, ..Default::default() })
        .map_err(|e| TestCaseError::fail(format!("{mode} mode failed: {e}")))
}

impl Run {
    fn new(case: Case) -> Result<Run, TestCaseError> {
        Run::with_spot_share(case, None)
    }

    /// Plans with at most `share` of the spot nodes in one pool.
    fn with_spot_share(case: Case, share: Option<f64>) -> Result<Run, TestCaseError> {
        let manifests = case.manifests();
        let catalog_json = case.catalog_json();
        let inventory = fleetfit::manifest::parse("case.yaml", &manifests)
            .map_err(|e| TestCaseError::fail(format!("bad generated manifests: {e}\n{manifests}")))?;
        let catalog = Catalog::from_json("case.json", &catalog_json)
            .map_err(|e| TestCaseError::fail(format!("bad generated catalog: {e}\n{catalog_json}")))?;
        let karpenter = plan_with(&inventory, &catalog, Mode::Karpenter, share)?;
        let optimize = plan_with(&inventory, &catalog, Mode::Optimize, share)?;
        let groups = inventory
            .pending_pods()
            .map(|p| (p.key(), p.labels.get("app").and_then(|a| a.strip_prefix('g')?.parse().ok())))
            .collect();
        Ok(Run { case, manifests, catalog_json, inventory, catalog, karpenter, optimize, groups })
    }

    fn plans(&self) -> [&Plan; 2] {
        [&self.karpenter, &self.optimize]
    }

    fn pending(&self) -> BTreeMap<String, &Pod> {
        self.inventory.pending_pods().map(|p| (p.key(), p)).collect()
    }

    fn group_of(&self, pod: &str) -> Option<usize> {
        self.groups.get(pod).copied().flatten()
    }

    fn instance_type(&self, name: &str) -> Result<InstanceType, String> {
        self.catalog.instance_type(name, &NodeClass::default()).ok_or_else(|| format!("unknown instance type {name}"))
    }

    fn type_spec(&self, name: &str) -> Option<&TypeSpec> {
        let index: usize = name.strip_prefix("syn")?.strip_suffix(".large")?.parse().ok()?;
        self.case.types.get(index)
    }

    /// Runs a check on both plans; a failure names the mode and shows the whole case.
    fn check(&self, check: impl Fn(&Run, &Plan) -> Result<(), String>) -> Result<(), TestCaseError> {
        for plan in self.plans() {
            if let Err(e) = check(self, plan) {
                return Err(self.fail(format!("{} mode: {e}", plan.mode)));
            }
        }
        Ok(())
    }

    fn fail(&self, message: String) -> TestCaseError {
        let describe = |plan: &Plan| {
            let mut s =
                format!("{} plan: cost {:.4}, bound {:.4}\n", plan.mode, plan.cost_per_hour, plan.lower_bound_per_hour);
            for n in &plan.nodes {
                let _ = writeln!(
                    s,
                    "  {} {} {} {} {:.4} {:?}",
                    n.name, n.instance_type, n.zone, n.capacity_type, n.price_per_hour, n.pods
                );
            }
            let _ =
                writeln!(s, "  existing: {:?}", plan.existing.iter().map(|e| (&e.pod, &e.node)).collect::<Vec<_>>());
            let _ = writeln!(s, "  unschedulable: {:?}", plan.unschedulable.iter().map(|u| &u.pod).collect::<Vec<_>>());
            s
        };
        TestCaseError::fail(format!(
            "{message}\n--- manifests\n{}--- catalog\n{}\n--- plans\n{}{}",
            self.manifests,
            self.catalog_json,
            describe(&self.karpenter),
            describe(&self.optimize)
        ))
    }
}

/// Requests stay within allocatable on every node; a new node's requests are its pods' plus
/// its pool's DaemonSets; an existing node's bound and placed pods fit its allocatable.
fn within_allocatable(run: &Run, plan: &Plan) -> Result<(), String> {
    let pending = run.pending();
    for node in &plan.nodes {
        if !node.requests.fits(&node.allocatable) {
            return Err(format!("{}: requests {:?} over allocatable {:?}", node.name, node.requests, node.allocatable));
        }
        let mut sum = run.case.daemon_overhead(&node.nodepool, &run.inventory);
        for pod in &node.pods {
            let p = pending.get(pod).ok_or_else(|| format!("{}: unknown pod {pod}", node.name))?;
            sum.add_assign(&p.requests);
        }
        if sum != node.requests {
            return Err(format!(
                "{}: requests {:?}, but its pods and DaemonSets ask {:?}",
                node.name, node.requests, sum
            ));
        }
        let it = run.instance_type(&node.instance_type)?;
        if it.allocatable != node.allocatable {
            return Err(format!(
                "{}: allocatable {:?}, {} has {:?}",
                node.name, node.allocatable, it.name, it.allocatable
            ));
        }
        if node.utilisation != Utilisation::of(&node.requests, &node.allocatable) {
            return Err(format!("{}: utilisation {:?} does not match its requests", node.name, node.utilisation));
        }
    }
    for node in &run.inventory.nodes {
        let mut used = Resources::default();
        for p in run.inventory.pods.iter().filter(|p| p.node_name.as_deref() == Some(node.name.as_str())) {
            used.add_assign(&p.requests);
        }
        for placed in plan.existing.iter().filter(|x| x.node == node.name) {
            used.add_assign(&pending.get(&placed.pod).ok_or_else(|| format!("unknown pod {}", placed.pod))?.requests);
        }
        if !used.fits(&node.allocatable) {
            return Err(format!("existing {}: requests {used:?} over allocatable {:?}", node.name, node.allocatable));
        }
        // The plan reports that use, node by node.
        let reported = plan.existing_nodes.iter().find(|u| u.name == node.name);
        let Some(reported) = reported else { return Err(format!("existing {} not in existing_nodes", node.name)) };
        let placed = plan.existing.iter().filter(|x| x.node == node.name).count();
        if reported.requests != used || reported.placed != placed || reported.allocatable != node.allocatable {
            return Err(format!(
                "existing {}: reported {reported:?}, but requests {used:?}, {placed} placed",
                node.name
            ));
        }
        if reported.utilisation != Utilisation::of(&used, &node.allocatable) {
            return Err(format!("existing {}: utilisation {:?} does not match", node.name, reported.utilisation));
        }
    }
    if plan.existing_nodes.len() != run.inventory.nodes.len() {
        return Err(format!("{} existing_nodes for {} nodes", plan.existing_nodes.len(), run.inventory.nodes.len()));
    }
    Ok(())
}

/// Every pending pod is in exactly one place: a new node, an existing node, or unschedulable
/// with reasons.
fn every_pod_once(run: &Run, plan: &Plan) -> Result<(), String> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for node in &plan.nodes {
        if node.pods.is_empty() {
            return Err(format!("{} launched without pods", node.name));
        }
        for pod in &node.pods {
            *seen.entry(pod).or_default() += 1;
        }
    }
    for placed in &plan.existing {
        if !run.inventory.nodes.iter().any(|n| n.name == placed.node) {
            return Err(format!("{} placed on unknown node {}", placed.pod, placed.node));
        }
        *seen.entry(&placed.pod).or_default() += 1;
    }
    for u in &plan.unschedulable {
        if u.reasons.is_empty() || u.reasons.iter().any(|r| r.trim().is_empty()) {
            return Err(format!("{} unschedulable without a reason: {:?}", u.pod, u.reasons));
        }
        *seen.entry(&u.pod).or_default() += 1;
    }
    let pending = run.pending();
    for pod in pending.keys() {
        match seen.get(pod.as_str()) {
            Some(1) => {}
            Some(n) => return Err(format!("{pod} appears {n} times")),
            None => return Err(format!("{pod} is nowhere in the plan")),
        }
    }
    if let Some(extra) = seen.keys().find(|p| !pending.contains_key(**p)) {
        return Err(format!("the plan places {extra}, which is not a pending pod"));
    }
    Ok(())
}

/// The label values a new node will carry for `key`: zone and capacity type from its offering,
/// the rest from its instance type.
fn node_has_label(run: &Run, node: &PlannedNode, key: &str, value: &str) -> Result<bool, String> {
    Ok(match key {
        labels::ZONE => node.zone == value,
        labels::CAPACITY_TYPE => node.capacity_type == value,
        labels::INSTANCE_TYPE => node.instance_type == value,
        _ => run.instance_type(&node.instance_type)?.requirements.get(key).is_some_and(|r| r.has(value)),
    })
}

/// Required constraints: node selectors, taints, hostname anti-affinity and affinity, zonal spread, and
/// each new node is an offering its NodePool allows, at that offering's price.
fn constraints_hold(run: &Run, plan: &Plan) -> Result<(), String> {
    let case = &run.case;
    let pools = case.pools();
    for node in &plan.nodes {
        let spec = run.type_spec(&node.instance_type).ok_or_else(|| format!("{}: unknown type", node.name))?;
        let z =
            ZONES.iter().position(|z| *z == node.zone).ok_or_else(|| format!("{}: zone {}", node.name, node.zone))?;
        let spot = match node.capacity_type.as_str() {
            "spot" => true,
            "on-demand" => false,
            other => return Err(format!("{}: capacity type {other}", node.name)),
        };
        if !pools.contains(&node.nodepool.as_str()) {
            return Err(format!("{}: unknown NodePool {}", node.name, node.nodepool));
        }
        if !case.pool_allows_type(&node.nodepool, spec) || !case.pool_allows_offering(&node.nodepool, z, spot) {
            return Err(format!(
                "{}: NodePool {} does not allow {} {} {}",
                node.name, node.nodepool, node.instance_type, node.zone, node.capacity_type
            ));
        }
        if !spec.offered(z, spot) {
            return Err(format!(
                "{}: {} has no available {} offering in {}",
                node.name, node.instance_type, node.capacity_type, node.zone
            ));
        }
        let price = if spot { spec.spot_price() } else { spec.on_demand_price() };
        if (price - node.price_per_hour).abs() > 1e-9 {
            return Err(format!("{}: priced {}, the offering costs {price}", node.name, node.price_per_hour));
        }
        if !node.instance_types.contains(&node.instance_type) {
            return Err(format!(
                "{}: {} is not among its options {:?}",
                node.name, node.instance_type, node.instance_types
            ));
        }
    }
    // Where each pod went: (node name, NodePool or None for an existing node).
    let mut hosts: BTreeMap<&str, (&str, Option<&PlannedNode>)> = BTreeMap::new();
    for node in &plan.nodes {
        for pod in &node.pods {
            hosts.insert(pod, (&node.name, Some(node)));
        }
    }
    for placed in &plan.existing {
        hosts.insert(&placed.pod, (&placed.node, None));
    }
    for (&pod, &(host, new)) in &hosts {
        let Some(g) = run.group_of(pod) else { continue };
        let group = &case.groups[g];
        if let Some(s) = group.selector {
            let (key, value) = selector_label(s);
            let ok = match new {
                Some(node) => node_has_label(run, node, key, &value)?,
                None => run.inventory.nodes.iter().any(|n| n.name == host && n.labels.get(key) == Some(&value)),
            };
            if !ok {
                return Err(format!("{pod} selects {key}={value} but landed on {host}"));
            }
        }
        if !group.tolerates {
            let tainted = match new {
                Some(node) => node.nodepool == DEDICATED,
                None => run.inventory.nodes.iter().any(|n| n.name == host && !n.taints.is_empty()),
            };
            if tainted {
                return Err(format!("{pod} does not tolerate dedicated=batch but landed on tainted {host}"));
            }
        }
    }
    for placed in &plan.existing {
        if run.inventory.nodes.iter().any(|n| n.name == placed.node && n.unschedulable) {
            return Err(format!("{} placed on cordoned {}", placed.pod, placed.node));
        }
    }
    for (g, group) in case.groups.iter().enumerate() {
        let members: Vec<(&str, &str, Option<&PlannedNode>)> = hosts
            .iter()
            .filter(|(pod, _)| run.group_of(pod) == Some(g))
            .map(|(pod, &(host, new))| (*pod, host, new))
            .collect();
        // Existing nodes whose bound pod is of this group.
        let bound: Vec<usize> =
            (0..case.existing.len()).filter(|&e| case.filler_group(&case.existing[e]) == Some(g)).collect();
        match group.spread {
            Spread::None => {}
            Spread::HostnameAffinity => {
                // With a pod of the group bound somewhere, each pod lands beside one; without,
                // the first lands anywhere and the others beside it: all on one node.
                let beside: BTreeSet<String> = bound.iter().map(|e| format!("existing-{e}")).collect();
                let hosts: BTreeSet<&str> = members.iter().map(|m| m.1).collect();
                let ok = if beside.is_empty() { hosts.len() <= 1 } else { hosts.iter().all(|h| beside.contains(*h)) };
                if !ok {
                    return Err(format!(
                        "group g{g}: hostname pod affinity broken, pods on {hosts:?} (bound beside {beside:?})"
                    ));
                }
            }
            Spread::HostnameAntiAffinity => {
                let mut used: BTreeMap<String, String> =
                    bound.iter().map(|e| (format!("existing-{e}"), format!("default/filler-{e}"))).collect();
                for &(pod, host, _) in &members {
                    if let Some(other) = used.insert(host.to_string(), pod.to_string()) {
                        return Err(format!("{pod} and {other} (hostname anti-affinity) share {host}"));
                    }
                }
            }
            Spread::Zonal => {
                // Pods of the group per zone, counting bound ones on nodes the pods' selector
                // matches (nodeAffinityPolicy Honor). A zone a pod was placed in had at most
                // the minimum + 1 at that moment, and the minimum only grows.
                let mut counts: BTreeMap<usize, usize> =
                    zonal_domains(case, group).into_iter().map(|z| (z, 0)).collect();
                for &e in &bound {
                    let matches = group.selector.is_none_or(|s| {
                        let (key, value) = selector_label(s);
                        run.inventory
                            .nodes
                            .iter()
                            .any(|n| n.name == format!("existing-{e}") && n.labels.get(key) == Some(&value))
                    });
                    if matches {
                        *counts.entry(case.existing[e].zone).or_default() += 1;
                    }
                }
                let mut landed = BTreeSet::new();
                for &(pod, host, new) in &members {
                    let zone = match new {
                        Some(node) => ZONES.iter().position(|z| *z == node.zone),
                        None => host
                            .strip_prefix("existing-")
                            .and_then(|e| e.parse::<usize>().ok())
                            .map(|e| case.existing[e].zone),
                    };
                    let z = zone.ok_or_else(|| format!("{pod}: no zone for {host}"))?;
                    *counts.entry(z).or_default() += 1;
                    landed.insert(z);
                }
                let min = counts.values().copied().min().unwrap_or(0);
                if landed.iter().any(|z| counts[z] > min + 1) {
                    return Err(format!("group g{g}: zonal spread maxSkew 1 broken, pods per zone {counts:?}"));
                }
            }
        }
    }
    Ok(())
}

/// The zones a pod of the group could be launched in: some NodePool it tolerates offers there
/// an instance type and capacity type that pool and the pod's selector allow. Each is a
/// topology domain, so maxSkew counts it even while empty.
fn zonal_domains(case: &Case, group: &GroupSpec) -> BTreeSet<usize> {
    let mut zones = BTreeSet::new();
    for pool in case.pools() {
        if pool == DEDICATED && !group.tolerates {
            continue;
        }
        for (i, t) in case.types.iter().enumerate() {
            if !case.pool_allows_type(pool, t) {
                continue;
            }
            match group.selector {
                Some(Selector::Arm64(arm64)) if t.arm64 != arm64 => continue,
                Some(Selector::InstanceType(it)) if it != i => continue,
                _ => {}
            }
            for z in 0..ZONES.len() {
                for spot in [true, false] {
                    let selected = match group.selector {
                        Some(Selector::Zone(sz)) => sz == z,
                        Some(Selector::Spot(s)) => s == spot,
                        _ => true,
                    };
                    if selected && t.offered(z, spot) && case.pool_allows_offering(pool, z, spot) {
                        zones.insert(z);
                    }
                }
            }
        }
    }
    zones
}

/// New nodes of a limited NodePool, counted at their launched type's capacity, fit in what
/// the limit leaves after the existing nodes of that pool.
fn limits_hold(run: &Run, plan: &Plan) -> Result<(), String> {
    for pool in run.case.pools() {
        let Some(limit) = run.case.cpu_limit(pool) else { continue };
        let existing: i64 = run
            .inventory
            .nodes
            .iter()
            .filter(|n| n.labels.get(labels::NODEPOOL).map(String::as_str) == Some(pool))
            .map(|n| n.capacity.cpu.0)
            .sum();
        let mut launched = 0;
        for node in plan.nodes.iter().filter(|n| n.nodepool == pool) {
            launched += run.instance_type(&node.instance_type)?.capacity.cpu.0;
        }
        let room = (limit as i64 * 1000 - existing).max(0);
        if launched > room {
            return Err(format!("NodePool {pool}: {launched}m launched, its cpu limit leaves {room}m"));
        }
    }
    Ok(())
}

/// The cost is the sum of the node prices, the bound is at most the cost of every plan that
/// places all pods, and the gap is `(cost − bound) / bound` (0 when the cost is 0, none when
/// only the bound is).
fn bound_and_gap(run: &Run, plan: &Plan) -> Result<(), String> {
    let (cost, bound) = (plan.cost_per_hour, plan.lower_bound_per_hour);
    let sum: f64 = plan.nodes.iter().map(|n| n.price_per_hour).sum();
    if (sum - cost).abs() > 1e-9 {
        return Err(format!("cost {cost}, but the nodes add up to {sum}"));
    }
    if !(bound >= 0.0 && bound <= cost + 1e-9) {
        return Err(format!("lower bound {bound} is not within [0, cost {cost}]"));
    }
    let consistent = match plan.gap {
        _ if cost <= 0.0 => plan.gap == Some(0.0),
        None => bound <= 0.0,
        Some(gap) => bound > 0.0 && gap >= 0.0 && (gap - (cost - bound) / bound).abs() <= 1e-9,
    };
    if !consistent {
        return Err(format!("gap {:?} inconsistent with cost {cost} and bound {bound}", plan.gap));
    }
    // A plan that places every pod is one the bound must not exceed, whichever mode found it.
    for other in run.plans().into_iter().filter(|p| p.unschedulable.is_empty()) {
        if bound > other.cost_per_hour + 1e-9 {
            return Err(format!("lower bound {bound} above the {} plan's cost {}", other.mode, other.cost_per_hour));
        }
    }
    Ok(())
}

/// 64 cases per property, or `PROPTEST_CASES`.
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(64);
    Config { cases, failure_persistence: None, ..Config::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn no_node_over_allocatable(case in case()) {
        Run::new(case)?.check(within_allocatable)?;
    }

    #[test]
    fn every_pending_pod_appears_once(case in case()) {
        Run::new(case)?.check(every_pod_once)?;
    }

    #[test]
    fn placements_satisfy_required_constraints(case in case()) {
        Run::new(case)?.check(constraints_hold)?;
    }

    #[test]
    fn nodepool_limits_hold(case in case()) {
        Run::new(case)?.check(limits_hold)?;
    }

    #[test]
    fn lower_bound_within_cost(case in case()) {
        Run::new(case)?.check(bound_and_gap)?;
    }

    #[test]
    fn optimize_never_worse_than_karpenter(case in case()) {
        let run = Run::new(case)?;
        let (k, o) = (&run.karpenter, &run.optimize);
        if o.unschedulable.len() > k.unschedulable.len() {
            return Err(run.fail(format!("optimize leaves {} pods unschedulable, karpenter {}", o.unschedulable.len(), k.unschedulable.len())));
        }
        // Placing more pods may cost more: the order is fewer unschedulable pods, then cost.
        if o.unschedulable.len() == k.unschedulable.len() && o.cost_per_hour > k.cost_per_hour + 1e-9 {
            return Err(run.fail(format!("optimize costs {}, karpenter {}", o.cost_per_hour, k.cost_per_hour)));
        }
        if o.karpenter_cost_per_hour.is_none_or(|c| (c - k.cost_per_hour).abs() > 1e-9) {
            return Err(run.fail(format!("optimize reports karpenter cost {:?}, karpenter's plan costs {}", o.karpenter_cost_per_hour, k.cost_per_hour)));
        }
        if k.karpenter_cost_per_hour.is_some() {
            return Err(run.fail("karpenter mode reports a karpenter cost of its own".into()));
        }
    }

    #[test]
    fn spot_diversity_keeps_every_constraint_and_prices_itself(case in case(), share in prop::sample::select(vec![0.34, 0.5, 0.75])) {
        let run = Run::with_spot_share(case, Some(share))?;
        run.check(within_allocatable)?;
        run.check(every_pod_once)?;
        run.check(constraints_hold)?;
        run.check(limits_hold)?;
        run.check(bound_and_gap)?;
        for diverse in run.plans() {
            let plain = plan(&run.inventory, &run.catalog, diverse.mode)?;
            let d = diverse.spot_diversity.as_ref().ok_or_else(|| run.fail(format!("{} mode: no diversity report", diverse.mode)))?;
            if (d.cost_per_hour_without - plain.cost_per_hour).abs() > 1e-9 || d.extra_cost_per_hour < 0.0
                || (d.cost_per_hour_without + d.extra_cost_per_hour - diverse.cost_per_hour).abs() > 1e-9
            {
                return Err(run.fail(format!("{} mode: {d:?} against cost {} and {} without", diverse.mode, diverse.cost_per_hour, plain.cost_per_hour)));
            }
            // Moving nodes never changes what is placed (the mode whose plan is returned may).
            if diverse.unschedulable.len() != plain.unschedulable.len() {
                return Err(run.fail(format!("{} mode: diversity changed how many pods are placed", diverse.mode)));
            }
            let spot = diverse.nodes.iter().filter(|n| n.capacity_type == "spot").count();
            let largest = diverse.spot_pools.iter().map(|p| p.nodes).max().unwrap_or(0);
            if diverse.spot_pools.iter().map(|p| p.nodes).sum::<usize>() != spot {
                return Err(run.fail(format!("{} mode: {spot} spot nodes, pools {:?}", diverse.mode, diverse.spot_pools)));
            }
            if d.satisfied != (largest as f64 <= share * spot as f64 + 1e-9) || d.satisfied != diverse.warnings.is_empty() {
                return Err(run.fail(format!("{} mode: satisfied {} with {largest} of {spot} in one pool, warnings {:?}", diverse.mode, d.satisfied, diverse.warnings)));
            }
        }
    }

    #[test]
    fn planning_is_deterministic(case in case()) {
        let run = Run::new(case)?;
        for first in run.plans() {
            let again = plan(&run.inventory, &run.catalog, first.mode)?;
            if &again != first {
                return Err(run.fail(format!("{} mode: two plans of the same input differ", first.mode)));
            }
            let bytes = |p: &Plan| serde_json::to_vec(p).map_err(|e| TestCaseError::fail(e.to_string()));
            if bytes(first)? != bytes(&again)? {
                return Err(run.fail(format!("{} mode: the same plan serialises to different JSON", first.mode)));
            }
        }
    }
}

proptest! {
    #![proptest_config(Config { cases: config().cases.div_ceil(16), ..config() })]

    #[test]
    fn many_pods_under_zone_and_hostname_rules_keep_every_rule(case in large_case()) {
        let run = Run::new(case)?;
        for check in [within_allocatable, every_pod_once, constraints_hold, limits_hold, bound_and_gap] {
            run.check(check)?;
        }
        if run.optimize.unschedulable.len() > run.karpenter.unschedulable.len() {
            return Err(run.fail("optimize leaves more pods unschedulable than karpenter".into()));
        }
    }
}

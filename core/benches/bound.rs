//! Lower-bound benchmark: the LP solver on random covering LPs, and both bounds on synthetic
//! but realistic clusters (200 pod classes × 1,400 node offerings, and 50 × 400). Prints
//! figures; never fails on speed.
//!
//! Run: `cargo bench -p fleetfit-core --bench bound`

use fleetfit::bound::{
    column_generation_bound, lower_bound, resource_volume_bound, Bound, BoundClass, BoundInput, BoundNodeType, Effort,
};
use fleetfit::lp::{Options, Problem, Relation, Status};
use std::time::{Duration, Instant};

/// A 64-bit linear congruential generator (Knuth's MMIX constants); the top bits are used.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        ((self.next() * n as f64) as usize).min(n - 1)
    }
    /// Log-uniform between `lo` and `hi`.
    fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo * (hi / lo).powf(self.next())
    }
}

const MI: f64 = 1024.0 * 1024.0;
const GI: f64 = 1024.0 * MI;

/// Pod classes and node offerings shaped like an EKS cluster: c/m/r families (2/4/8 GiB per
/// vCPU), 8 sizes, amd64 and arm64 (Graviton ~20% cheaper), three generations, on-demand and
/// spot in five zones, plus GPU offerings. Capacities are allocatable less DaemonSets; prices
/// per hour are linear in vCPU and memory with noise. Most pods are amd64-only, some accept
/// arm64, some refuse spot, a few need a GPU.
fn cluster(n_classes: usize, n_types: usize, seed: u64) -> BoundInput {
    let mut rng = Lcg(seed);
    let sizes = [2.0, 4.0, 8.0, 16.0, 32.0, 48.0, 64.0, 96.0];
    let max_pods = [29.0, 58.0, 58.0, 110.0, 110.0, 110.0, 110.0, 110.0];
    let families = [("c", 2.0, 0.0425), ("m", 4.0, 0.048), ("r", 8.0, 0.063)];
    // Classes first: their kind decides which offerings list them.
    #[derive(Clone, Copy, PartialEq)]
    enum Kind {
        Amd64,
        MultiArch,
        OnDemandOnly,
        Gpu,
    }
    let mut kinds = Vec::new();
    let mut classes = Vec::new();
    for _ in 0..n_classes {
        let roll = rng.next();
        let kind = if roll < 0.6 {
            Kind::Amd64
        } else if roll < 0.9 {
            Kind::MultiArch
        } else if roll < 0.95 {
            Kind::OnDemandOnly
        } else {
            Kind::Gpu
        };
        let cpu = (rng.log_uniform(100.0, 4000.0) / 50.0).round() * 50.0;
        let memory = (rng.log_uniform(128.0, 16384.0) / 64.0).round() * 64.0 * MI;
        let gpu = if kind == Kind::Gpu { 1.0 } else { 0.0 };
        let count = 1 + rng.log_uniform(1.0, 120.0) as u64;
        kinds.push(kind);
        classes.push(BoundClass { count, demand: vec![cpu, memory, 1.0, gpu], min_nodes: 0, max_per_node: None });
    }
    let hosts =
        |kind_ok: &dyn Fn(Kind) -> bool| -> Vec<usize> { (0..n_classes).filter(|&c| kind_ok(kinds[c])).collect() };
    let mut node_types = Vec::new();
    // GPU offerings: 1 GPU per 4 vCPU at 16 GiB per vCPU... priced at a premium.
    let gpu_types = (n_types / 35).max(4);
    'outer: for zone in 0..5 {
        for spot in [false, true] {
            for gen in 0..3 {
                for arm in [false, true] {
                    for (_, gib_per_cpu, per_cpu) in families {
                        for (s, &cpus) in sizes.iter().enumerate() {
                            if node_types.len() + gpu_types >= n_types {
                                break 'outer;
                            }
                            let memory = cpus * gib_per_cpu * GI;
                            let pods = max_pods[s];
                            let on_demand = cpus * per_cpu * [1.0, 0.98, 1.05][gen] * if arm { 0.8 } else { 1.0 };
                            let noise = 0.97 + 0.06 * rng.next();
                            let price = if spot { on_demand * (0.3 + 0.15 * rng.next()) } else { on_demand * noise };
                            // Allocatable: kube-reserved and eviction threshold, then DaemonSets
                            // (200m, 300Mi).
                            let cpu_alloc = cpus * 1000.0 - (60.0 + 10.0 * cpus.min(4.0)) - 200.0;
                            let mem_alloc = memory - (255.0 + 11.0 * pods) * MI - 100.0 * MI - 300.0 * MI;
                            let classes = hosts(&|k| match k {
                                Kind::Amd64 => !arm,
                                Kind::MultiArch => true,
                                Kind::OnDemandOnly => !spot && !arm,
                                Kind::Gpu => false,
                            });
                            let _ = zone;
                            node_types.push(BoundNodeType {
                                price: (price * 10_000.0).round() / 10_000.0,
                                capacity: vec![cpu_alloc, mem_alloc, pods, 0.0],
                                classes,
                                max_nodes: None,
                            });
                        }
                    }
                }
            }
        }
    }
    for g in 0..gpu_types {
        let gpus = [1.0, 1.0, 4.0, 8.0][g % 4];
        let cpus = gpus * 4.0 * [1.0, 2.0, 1.0, 1.0][g % 4];
        let spot = g % 2 == 1;
        let on_demand = 0.75 * gpus + cpus * 0.05;
        let price = if spot { on_demand * (0.35 + 0.2 * rng.next()) } else { on_demand };
        let memory = cpus * 16.0 * GI;
        node_types.push(BoundNodeType {
            price: (price * 10_000.0).round() / 10_000.0,
            capacity: vec![cpus * 1000.0 - 300.0, memory - 2.0 * GI, 110.0, gpus],
            // GPU nodes take GPU pods and, being amd64, anything amd64.
            classes: hosts(&|k| {
                k == Kind::Gpu || k == Kind::MultiArch || (k == Kind::Amd64) || (!spot && k == Kind::OnDemandOnly)
            }),
            max_nodes: None,
        });
    }
    BoundInput {
        dimensions: ["cpu", "memory", "pods", "nvidia.com/gpu"].iter().map(|s| s.to_string()).collect(),
        classes,
        node_types,
    }
}

/// A covering LP like a pattern master: `min cᵀx, Ax ≥ b`, sparse non-negative columns.
fn covering_lp(rows: usize, columns: usize, per_column: usize, seed: u64) -> Problem {
    let mut rng = Lcg(seed);
    let mut p = Problem::new();
    for _ in 0..rows {
        p.add_row(Relation::GreaterEqual, 1.0 + rng.below(100) as f64).expect("finite");
    }
    for _ in 0..columns {
        let mut entries = Vec::with_capacity(per_column);
        let mut size = 0.0;
        for _ in 0..per_column {
            let a = 1.0 + rng.below(8) as f64;
            size += a;
            entries.push((rng.below(rows), a));
        }
        let cost = size * (0.8 + 0.4 * rng.next()) / per_column as f64;
        p.add_column(cost, f64::INFINITY, &entries).expect("finite");
    }
    p
}

fn time<T>(f: impl Fn() -> T) -> (T, Duration) {
    // Best of a few runs, at least one.
    let mut best = Duration::MAX;
    let mut out = None;
    let runs = 3;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f();
        best = best.min(start.elapsed());
        out = Some(value);
    }
    (out.expect("ran"), best)
}

/// A simple feasible packing, for scale: classes largest first, first fit into open nodes that
/// may host them, else a new node of the type with the lowest price per pod of that class.
fn greedy_cost(input: &BoundInput) -> f64 {
    let dims = input.dimensions.len();
    let fits = |load: &[f64], d: &[f64], cap: &[f64]| (0..dims).all(|k| load[k] + d[k] <= cap[k]);
    let largest: Vec<f64> =
        (0..dims).map(|k| input.node_types.iter().map(|t| t.capacity[k]).fold(0.0, f64::max).max(1.0)).collect();
    let size = |c: usize| input.classes[c].demand.iter().zip(&largest).map(|(d, m)| d / m).sum::<f64>();
    let mut order: Vec<usize> = (0..input.classes.len()).collect();
    order.sort_by(|&a, &b| size(b).total_cmp(&size(a)).then(a.cmp(&b)));
    let mut open: Vec<(usize, Vec<f64>)> = Vec::new();
    let mut cost = 0.0;
    for c in order {
        let d = &input.classes[c].demand;
        let hosts: Vec<usize> = (0..input.node_types.len())
            .filter(|&t| {
                input.node_types[t].classes.contains(&c) && fits(&vec![0.0; dims], d, &input.node_types[t].capacity)
            })
            .collect();
        let mut left = input.classes[c].count;
        while left > 0 && !hosts.is_empty() {
            if let Some((_, load)) =
                open.iter_mut().find(|(t, load)| hosts.contains(t) && fits(load, d, &input.node_types[*t].capacity))
            {
                load.iter_mut().zip(d).for_each(|(l, x)| *l += x);
                left -= 1;
                continue;
            }
            let per_pod = |t: usize| {
                let cap = &input.node_types[t].capacity;
                let n = (0..dims).filter(|&k| d[k] > 0.0).map(|k| (cap[k] / d[k]).floor() as u64).min().unwrap_or(left);
                input.node_types[t].price / n.clamp(1, left) as f64
            };
            let t = *hosts.iter().min_by(|&&a, &&b| per_pod(a).total_cmp(&per_pod(b)).then(a.cmp(&b))).expect("hosts");
            cost += input.node_types[t].price;
            open.push((t, vec![0.0; dims]));
        }
    }
    cost
}

fn show(name: &str, bound: &Bound, elapsed: Duration, packing: f64) {
    println!(
        "  {name:<30} ${:>9.4}/h  {:>9.2} ms  {:>4} iterations  proven: {:<5}  packing/bound − 1: {:>5.2}%",
        bound.value,
        elapsed.as_secs_f64() * 1e3,
        bound.iterations,
        bound.proven,
        (packing / bound.value - 1.0) * 100.0
    );
}

fn main() {
    println!("LP solver (covering LPs, 8 non-zeros per column; best of 3):");
    for (rows, columns) in [(50, 5_000), (300, 20_000)] {
        let p = covering_lp(rows, columns, 8, 7);
        let (solution, elapsed) = time(|| p.solve(&Options::default()));
        assert_eq!(solution.status, Status::Optimal);
        println!(
            "  {rows:>4} rows × {columns:>6} columns: {:>9.2} ms, {:>5} pivots, objective {:.6}",
            elapsed.as_secs_f64() * 1e3,
            solution.iterations,
            solution.objective
        );
    }
    for (n_classes, n_types) in [(50, 400), (200, 1_400)] {
        let input = cluster(n_classes, n_types, 42);
        let pods: u64 = input.classes.iter().map(|c| c.count).sum();
        let packing = greedy_cost(&input);
        println!(
            "{n_classes} classes ({pods} pods) × {n_types} node types; a first-fit packing costs ${packing:.4}/h:"
        );
        let (volume, t) = time(|| resource_volume_bound(&input));
        show("resource volume", &volume, t, packing);
        for rounds in [10, 30, 100] {
            let (columns, t) = time(|| column_generation_bound(&input, rounds));
            show(&format!("column generation ≤{rounds} rounds"), &columns, t, packing);
        }
        let (best, t) = time(|| lower_bound(&input, Effort::default()));
        show("lower_bound, default effort", &best, t, packing);
    }
}

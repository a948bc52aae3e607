//! Pattern-MILP benchmark: seeded random clusters of 10, 50 and 200 pod classes on 50 and 400
//! node types, solved with and without a first-fit warm start. Prints time, cost, lower bound
//! and the gap between them; never fails on speed.
//!
//! Run: `cargo bench -p fleetfit-core --bench milp` (`MILP_TIME_LIMIT=<seconds>` per solve,
//! default 10; `MILP_ROUNDS=<n>` column-generation rounds).

use fleetfit::bound::{BoundClass, BoundInput, BoundNodeType};
use fleetfit::milp::{solve, MilpOptions};
use std::time::Instant;

/// A 64-bit linear congruential generator (Knuth's MMIX constants); the top bits are used.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Log-uniform between `lo` and `hi`.
    fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo * (hi / lo).powf(self.next())
    }
}

/// Classes of cpu (millicores), memory (MiB) and one pod slot; types from c/m/r-like families
/// (2/4/8 GiB per vCPU) in eight sizes, prices near-linear in vCPU and memory with noise and
/// rounded to four decimals like EC2's; each type hosts ~70% of the classes (architecture,
/// capacity type, zones), the largest of each family all of them.
fn cluster(n_classes: usize, n_types: usize, seed: u64) -> BoundInput {
    let mut rng = Lcg(seed);
    let classes: Vec<BoundClass> = (0..n_classes)
        .map(|_| {
            let cpu = (rng.log_uniform(100.0, 4000.0) / 50.0).round() * 50.0;
            let memory = (rng.log_uniform(128.0, 16384.0) / 64.0).round() * 64.0;
            BoundClass {
                count: 1 + rng.log_uniform(1.0, 60.0) as u64,
                demand: vec![cpu, memory, 1.0],
                min_nodes: 0,
                max_per_node: None,
            }
        })
        .collect();
    let sizes = [2.0, 4.0, 8.0, 16.0, 32.0, 48.0, 64.0, 96.0];
    let max_pods = [29.0, 58.0, 58.0, 110.0, 110.0, 110.0, 110.0, 110.0];
    let families = [(2.0, 0.0425), (4.0, 0.048), (8.0, 0.063)];
    let node_types = (0..n_types)
        .map(|t| {
            let (gib_per_cpu, per_cpu) = families[t % 3];
            let size = (t / 3) % sizes.len();
            let vcpu = sizes[size];
            let cpu = vcpu * 1000.0 - 200.0 - 20.0 * vcpu;
            let memory = vcpu * gib_per_cpu * 1024.0 * 0.92 - 600.0;
            let price = (vcpu * per_cpu * (0.85 + 0.3 * rng.next()) * 1e4).round() / 1e4;
            let classes = if size == sizes.len() - 1 {
                (0..n_classes).collect()
            } else {
                (0..n_classes).filter(|_| rng.next() < 0.7).collect()
            };
            BoundNodeType { price, capacity: vec![cpu, memory, max_pods[size]], classes, max_nodes: None }
        })
        .collect();
    BoundInput { dimensions: vec!["cpu".into(), "memory".into(), "pods".into()], classes, node_types }
}

/// An open node of the first fit: its type, room left and `(class, count)` pairs.
type OpenNode = (usize, Vec<f64>, Vec<(usize, u64)>);

/// First fit, classes largest first, new nodes of the type with the lowest price per pod of
/// the class being placed.
fn first_fit(input: &BoundInput) -> Vec<(usize, Vec<(usize, u64)>)> {
    let size = |c: usize| input.classes[c].demand[0] / 1000.0 + input.classes[c].demand[1] / 4096.0;
    let mut order: Vec<usize> = (0..input.classes.len()).collect();
    order.sort_by(|&a, &b| size(b).total_cmp(&size(a)));
    let mut open: Vec<OpenNode> = Vec::new();
    for c in order {
        let class = &input.classes[c];
        let fits = |room: &[f64]| class.demand.iter().zip(room).all(|(d, r)| d <= r);
        for _ in 0..class.count {
            let slot = open.iter().position(|(t, room, _)| input.node_types[*t].classes.contains(&c) && fits(room));
            let i = match slot {
                Some(i) => i,
                None => {
                    let per_pod = |t: usize| {
                        let ty = &input.node_types[t];
                        let copies = class
                            .demand
                            .iter()
                            .zip(&ty.capacity)
                            .map(|(d, cap)| (cap / d).floor())
                            .fold(f64::MAX, f64::min);
                        ty.price / copies.max(1e-9)
                    };
                    let t = (0..input.node_types.len())
                        .filter(|&t| input.node_types[t].classes.contains(&c) && fits(&input.node_types[t].capacity))
                        .min_by(|&a, &b| per_pod(a).total_cmp(&per_pod(b)))
                        .expect("the largest types host every class");
                    open.push((t, input.node_types[t].capacity.clone(), Vec::new()));
                    open.len() - 1
                }
            };
            let (_, room, counts) = &mut open[i];
            room.iter_mut().zip(&class.demand).for_each(|(r, d)| *r -= d);
            match counts.iter_mut().find(|(k, _)| *k == c) {
                Some((_, n)) => *n += 1,
                None => counts.push((c, 1)),
            }
        }
    }
    open.into_iter().map(|(t, _, counts)| (t, counts)).collect()
}

fn main() {
    let time_limit = std::env::var("MILP_TIME_LIMIT").ok().and_then(|v| v.parse().ok()).unwrap_or(10.0);
    let mut options = MilpOptions { time_limit_seconds: time_limit, ..MilpOptions::default() };
    if let Some(rounds) = std::env::var("MILP_ROUNDS").ok().and_then(|v| v.parse().ok()) {
        options.column_rounds = rounds;
    }
    println!("pattern MILP (HiGHS, 1 thread, time limit {time_limit} s, {} column rounds)", options.column_rounds);
    println!(
        "{:>7} {:>5} {:>5} {:>5} {:>9} {:>11} {:>11} {:>8}  status",
        "classes", "types", "pods", "warm", "time", "cost", "bound", "gap"
    );
    for (n_classes, n_types) in [(10, 50), (10, 400), (50, 50), (50, 400), (200, 50), (200, 400)] {
        let input = cluster(n_classes, n_types, 42 + n_classes as u64 * 1000 + n_types as u64);
        let pods: u64 = input.classes.iter().map(|c| c.count).sum();
        let warm = first_fit(&input);
        let warm_cost: f64 = warm.iter().map(|(t, _)| input.node_types[*t].price).sum();
        for with_warm in [false, true] {
            let start = Instant::now();
            let answer = solve(&input, &[], if with_warm { &warm } else { &[] }, &options);
            let seconds = start.elapsed().as_secs_f64();
            match answer {
                Ok(s) => println!(
                    "{n_classes:>7} {n_types:>5} {pods:>5} {:>5} {seconds:>8.2}s {:>11.4} {:>11.4} {:>7.3}%  {}",
                    if with_warm { "yes" } else { "no" },
                    s.cost,
                    s.lower_bound,
                    100.0 * (s.cost - s.lower_bound) / s.cost.max(f64::MIN_POSITIVE),
                    s.status
                ),
                Err(e) => println!("{n_classes:>7} {n_types:>5} {pods:>5} {with_warm:>5} {seconds:>8.2}s error: {e}"),
            }
        }
        println!("{:>25} first fit {warm_cost:.4}", "");
    }
}

//! The pattern MILP: optima worked out by hand, brute force on tiny random instances, bad
//! input, determinism, the lower bound and the warm start.
#![cfg(feature = "milp")]

use fleetfit::bound::{BoundClass, BoundInput, BoundInputError, BoundNodeType};
use fleetfit::milp::{solve, MilpError, MilpOptions, MilpSolution, NodeLimit, MAX_CLASS_COUNT};
use proptest::prelude::*;

type Node = (usize, Vec<(usize, u64)>);

/// `classes`: (count, demand); `types`: (price, capacity, hosted classes).
fn input(classes: &[(u64, Vec<f64>)], types: &[(f64, Vec<f64>, Vec<usize>)]) -> BoundInput {
    let dimensions = classes.first().map_or(1, |c| c.1.len());
    BoundInput {
        dimensions: (0..dimensions).map(|k| format!("d{k}")).collect(),
        classes: classes
            .iter()
            .map(|(count, demand)| BoundClass {
                count: *count,
                demand: demand.clone(),
                min_nodes: 0,
                max_per_node: None,
            })
            .collect(),
        node_types: types
            .iter()
            .map(|(price, capacity, classes)| BoundNodeType {
                price: *price,
                capacity: capacity.clone(),
                classes: classes.clone(),
                max_nodes: None,
            })
            .collect(),
    }
}

fn limit(coefficients: &[(usize, f64)], max: f64) -> NodeLimit {
    NodeLimit { coefficients: coefficients.to_vec(), max }
}

fn run(input: &BoundInput, limits: &[NodeLimit], warm: &[Node]) -> MilpSolution {
    let solution = solve(input, limits, warm, &MilpOptions::default()).expect("solvable");
    assert_valid(input, limits, &solution);
    solution
}

/// Every pod placed exactly once, every node within its type's capacity and list, every
/// limit kept, the cost the sum of prices, the bound below it, the order canonical.
fn assert_valid(input: &BoundInput, limits: &[NodeLimit], solution: &MilpSolution) {
    let mut held = vec![0u64; input.classes.len()];
    for (t, counts) in &solution.nodes {
        let ty = &input.node_types[*t];
        assert!(!counts.is_empty(), "empty node in {solution:?}");
        assert!(counts.windows(2).all(|w| w[0].0 < w[1].0), "pairs not by class: {counts:?}");
        for k in 0..input.dimensions.len() {
            let load: f64 = counts.iter().map(|&(c, a)| a as f64 * input.classes[c].demand[k]).sum();
            assert!(load <= ty.capacity[k] * (1.0 + 1e-12) + 1e-12, "node over capacity: {t} {counts:?}");
        }
        for &(c, a) in counts {
            assert!(ty.classes.contains(&c), "type {t} does not host class {c}");
            held[c] += a;
        }
    }
    let counts: Vec<u64> = input.classes.iter().map(|c| c.count).collect();
    assert_eq!(held, counts, "pods held per class");
    for l in limits {
        let used: f64 = solution
            .nodes
            .iter()
            .map(|(t, _)| l.coefficients.iter().filter(|(u, _)| u == t).map(|(_, a)| a).sum::<f64>())
            .sum();
        assert!(used <= l.max + 1e-9 * l.max.abs().max(1.0), "limit {l:?} broken: {used}");
    }
    let cost: f64 = solution.nodes.iter().map(|(t, _)| input.node_types[*t].price).sum();
    assert!((cost - solution.cost).abs() <= 1e-9 * cost.max(1.0), "cost {} vs {cost}", solution.cost);
    assert!(solution.lower_bound <= solution.cost, "bound above cost: {solution:?}");
    assert!(solution.lower_bound >= 0.0);
    let mut sorted = solution.nodes.clone();
    sorted.sort();
    assert_eq!(sorted, solution.nodes, "nodes not sorted");
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn big_and_small_nodes_mix() {
    // A big node holds 3 pods for 2.5, a small one 1 for 1: 4 pods → big + small (3.5),
    // 5 → big + 2 small (4.5), 6 → 2 big (5), 7 → 2 big + small (6).
    for (count, expected) in [(1, 1.0), (2, 2.0), (3, 2.5), (4, 3.5), (5, 4.5), (6, 5.0), (7, 6.0)] {
        let input = input(&[(count, vec![1.0])], &[(2.5, vec![3.0], vec![0]), (1.0, vec![1.0], vec![0])]);
        let solution = run(&input, &[], &[]);
        assert!(close(solution.cost, expected), "{count} pods: {solution:?}");
        assert!(solution.proven_optimal, "{count} pods: {solution:?}");
    }
    let input = input(&[(4, vec![1.0])], &[(2.5, vec![3.0], vec![0]), (1.0, vec![1.0], vec![0])]);
    assert_eq!(run(&input, &[], &[]).nodes, vec![(0, vec![(0, 3)]), (1, vec![(0, 1)])]);
}

#[test]
fn two_classes_must_share() {
    // A is cpu-heavy, B memory-heavy: one of each fills the cheap node exactly; two of a kind
    // do not fit it.
    let input = input(
        &[(2, vec![2.0, 1.0]), (2, vec![1.0, 2.0])],
        &[(1.0, vec![3.0, 3.0], vec![0, 1]), (3.0, vec![4.0, 4.0], vec![0, 1])],
    );
    let solution = run(&input, &[], &[]);
    assert_eq!(solution.nodes, vec![(0, vec![(0, 1), (1, 1)]), (0, vec![(0, 1), (1, 1)])]);
    assert!(close(solution.cost, 2.0) && solution.proven_optimal, "{solution:?}");
    assert!(close(solution.lower_bound, 2.0), "{solution:?}");
}

#[test]
fn limit_forces_a_dearer_type() {
    // 8 pods, 4 per node on either type; the cheap type's cpu limit allows one node.
    let input = input(&[(8, vec![1.0])], &[(1.0, vec![4.0], vec![0]), (3.0, vec![4.0], vec![0])]);
    let solution = run(&input, &[limit(&[(0, 4.0)], 4.0)], &[]);
    assert!(close(solution.cost, 4.0) && solution.proven_optimal, "{solution:?}");
    assert_eq!(solution.nodes, vec![(0, vec![(0, 4)]), (1, vec![(0, 4)])]);
    // Without it, two cheap nodes.
    assert!(close(run(&input, &[], &[]).cost, 2.0));
    // A limit of no room at all on the cheap type.
    let solution = run(&input, &[limit(&[(0, 1.0)], 0.0)], &[]);
    assert!(close(solution.cost, 6.0) && solution.proven_optimal, "{solution:?}");
    // +∞ is no limit.
    assert!(close(run(&input, &[limit(&[(0, 1.0)], f64::INFINITY)], &[]).cost, 2.0));
    // Both types limited: infeasible.
    let both = [limit(&[(0, 1.0), (1, 1.0)], 1.0)];
    assert!(matches!(solve(&input, &both, &[], &MilpOptions::default()), Err(MilpError::Infeasible { .. })));
}

#[test]
fn class_only_some_types_host() {
    // Class 1 only runs on the dear type; class 0 fills its spare room rather than a cheap node.
    let input = input(&[(2, vec![1.0]), (1, vec![2.0])], &[(1.0, vec![2.0], vec![0]), (2.0, vec![4.0], vec![0, 1])]);
    let solution = run(&input, &[], &[]);
    assert_eq!(solution.nodes, vec![(1, vec![(0, 2), (1, 1)])]);
    assert!(solution.proven_optimal);
}

#[test]
fn empty_and_zero_pods() {
    let empty = run(&BoundInput::default(), &[], &[]);
    assert!(empty.nodes.is_empty() && empty.cost == 0.0 && empty.proven_optimal);
    let none = input(&[(0, vec![5.0])], &[(1.0, vec![1.0], vec![])]);
    assert!(run(&none, &[], &[]).nodes.is_empty());
}

#[test]
fn bad_input_is_an_error() {
    let good = input(&[(3, vec![1.0])], &[(1.0, vec![2.0], vec![0])]);
    let options = MilpOptions::default();
    let err = |input: &BoundInput, limits: &[NodeLimit], warm: &[Node], options: &MilpOptions| {
        solve(input, limits, warm, options).expect_err("bad input")
    };
    let mut nan = good.clone();
    nan.classes[0].demand[0] = f64::NAN;
    assert!(matches!(err(&nan, &[], &[], &options), MilpError::Input(BoundInputError::Demand { class: 0, .. })));
    let mut price = good.clone();
    price.node_types[0].price = f64::INFINITY;
    assert!(matches!(err(&price, &[], &[], &options), MilpError::Input(BoundInputError::Price { .. })));
    let mut index = good.clone();
    index.node_types[0].classes.push(7);
    let message = err(&index, &[], &[], &options).to_string();
    assert!(message.contains("node_types[0].classes"), "{message}");
    let mut short = good.clone();
    short.node_types[0].capacity.clear();
    assert!(matches!(err(&short, &[], &[], &options), MilpError::Input(BoundInputError::CapacityLength { .. })));

    let mut huge = good.clone();
    huge.classes[0].count = 1_000_000_000_000;
    assert!(matches!(err(&huge, &[], &[], &options), MilpError::Count { class: 0, .. }));
    let mut uncovered = good.clone();
    uncovered.classes[0].demand[0] = 3.0;
    let message = err(&uncovered, &[], &[], &options).to_string();
    assert!(message.starts_with("classes[0]"), "{message}");

    for (l, field) in [
        (limit(&[(5, 1.0)], 1.0), "limits[0].coefficients names node type 5"),
        (limit(&[(0, f64::NAN)], 1.0), "limits[0].coefficients gives node type 0 NaN"),
        (limit(&[(0, -1.0)], 1.0), "limits[0].coefficients gives node type 0 -1"),
        (limit(&[(0, 1.0)], f64::NAN), "limits[0].max is NaN"),
    ] {
        let message = err(&good, &[l], &[], &options).to_string();
        assert!(message.starts_with(field), "{message}");
    }
    assert!(matches!(err(&good, &[limit(&[], -1.0)], &[], &options), MilpError::Infeasible { .. }));

    for (warm, field) in [
        (vec![(3, vec![(0, 1)])], "warm_start[0] has node type 3"),
        (vec![(0, vec![(0, 1)]), (0, vec![(4, 1)])], "warm_start[1] names class 4"),
        (vec![(0, vec![(0, 3)])], "warm_start[0] exceeds the capacity"),
    ] {
        let message = err(&good, &[], &warm, &options).to_string();
        assert!(message.starts_with(field), "{message}");
    }
    let mut unlisted = good.clone();
    unlisted.node_types.push(BoundNodeType { price: 1.0, capacity: vec![9.0], classes: vec![], max_nodes: None });
    let message = err(&unlisted, &[], &[(1, vec![(0, 1)])], &options).to_string();
    assert!(message.starts_with("warm_start[0] puts class 0 on node type 1"), "{message}");

    for (options, field) in [
        (MilpOptions { relative_gap: f64::NAN, ..MilpOptions::default() }, "options.relative_gap"),
        (MilpOptions { relative_gap: -1.0, ..MilpOptions::default() }, "options.relative_gap"),
        (MilpOptions { time_limit_seconds: f64::NAN, ..MilpOptions::default() }, "options.time_limit_seconds"),
    ] {
        let message = err(&good, &[], &[], &options).to_string();
        assert!(message.starts_with(field), "{message}");
    }
}

#[test]
fn huge_counts_are_graceful() {
    // Pods using nothing: a billion fit one node.
    let free = input(&[(MAX_CLASS_COUNT, vec![0.0])], &[(1.0, vec![1.0], vec![0])]);
    let solution = run(&free, &[], &[]);
    assert_eq!(solution.nodes, vec![(0, vec![(0, MAX_CLASS_COUNT)])]);
    // A billion nodes is more than a solution lists.
    let many = input(&[(MAX_CLASS_COUNT, vec![1.0])], &[(1.0, vec![1.0], vec![0])]);
    assert!(matches!(solve(&many, &[], &[], &MilpOptions::default()), Err(MilpError::TooManyNodes { .. })));
}

/// A seeded generator for instances bigger than the hand-made ones.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n_classes` classes of cpu and memory, `n_types` types of four sizes and three shapes, each
/// class hosted by most types.
fn random_input(n_classes: usize, n_types: usize, seed: u64) -> BoundInput {
    let mut rng = Lcg(seed);
    let classes: Vec<(u64, Vec<f64>)> = (0..n_classes)
        .map(|_| (1 + (rng.next() * 20.0) as u64, vec![0.25 + 3.0 * rng.next(), 0.5 + 8.0 * rng.next()]))
        .collect();
    let types: Vec<(f64, Vec<f64>, Vec<usize>)> = (0..n_types)
        .map(|t| {
            let cpu = [4.0, 8.0, 16.0, 32.0][t % 4];
            let ratio = [2.0, 4.0, 8.0][(t / 4) % 3];
            let price = ((0.04 * cpu + 0.005 * cpu * ratio) * (0.9 + 0.2 * rng.next()) * 1e4).round() / 1e4;
            let hosts = (0..n_classes).filter(|_| rng.next() < 0.8).collect();
            (price, vec![cpu, cpu * ratio], hosts)
        })
        .collect();
    let mut input = input(&classes, &types);
    // Every class hosted by the largest type at least.
    let last = input.node_types.len() - 1;
    input.node_types[last].classes = (0..n_classes).collect();
    input.node_types[last].capacity = vec![64.0, 512.0];
    input
}

/// One pod per node of the cheapest type hosting it: a poor but valid solution.
fn naive_solution(input: &BoundInput) -> Vec<Node> {
    let mut nodes = Vec::new();
    for (c, class) in input.classes.iter().enumerate() {
        let t = (0..input.node_types.len())
            .filter(|&t| {
                let ty = &input.node_types[t];
                ty.classes.contains(&c) && class.demand.iter().zip(&ty.capacity).all(|(d, cap)| d <= cap)
            })
            .min_by(|&a, &b| input.node_types[a].price.total_cmp(&input.node_types[b].price))
            .expect("hosted");
        for _ in 0..class.count {
            nodes.push((t, vec![(c, 1)]));
        }
    }
    nodes
}

#[test]
fn deterministic_and_bounded() {
    for seed in 1..=3 {
        let input = random_input(8, 12, seed);
        let options =
            MilpOptions { time_limit_seconds: f64::INFINITY, max_nodes: Some(2_000), ..MilpOptions::default() };
        let first = solve(&input, &[], &[], &options).expect("solvable");
        let second = solve(&input, &[], &[], &options).expect("solvable");
        assert_eq!(first, second, "seed {seed}");
        assert_valid(&input, &[], &first);
        // The pure-Rust bound is never above the MILP's cost either.
        let bound = fleetfit::bound::lower_bound(&input, fleetfit::bound::Effort::default());
        assert!(bound.value <= first.cost * (1.0 + 1e-9), "seed {seed}: {} > {}", bound.value, first.cost);
        assert!(first.lower_bound >= bound.value * (1.0 - 1e-9), "seed {seed}: {first:?} vs {bound:?}");
    }
}

#[test]
fn warm_start_is_honoured() {
    for seed in 1..=3 {
        let input = random_input(10, 16, seed);
        let warm = naive_solution(&input);
        let warm_cost: f64 = warm.iter().map(|(t, _)| input.node_types[*t].price).sum();
        // Even with no rounds and no branching, the answer is no worse than the warm start.
        let options = MilpOptions { column_rounds: 0, max_nodes: Some(0), ..MilpOptions::default() };
        let solution = solve(&input, &[], &warm, &options).expect("warm start");
        assert_valid(&input, &[], &solution);
        assert!(solution.cost <= warm_cost * (1.0 + 1e-12), "seed {seed}: {} > {warm_cost}", solution.cost);
        let full = solve(&input, &[], &warm, &MilpOptions::default()).expect("solvable");
        assert_valid(&input, &[], &full);
        assert!(full.cost <= warm_cost * (1.0 + 1e-12));
    }
    // A warm start with more pods than there are is trimmed.
    let input = input(&[(2, vec![1.0])], &[(1.0, vec![4.0], vec![0])]);
    let solution = run(&input, &[], &[(0, vec![(0, 4)])]);
    assert_eq!(solution.nodes, vec![(0, vec![(0, 2)])]);
}

#[test]
fn solves_in_parallel() {
    let handles: Vec<_> = (0..4)
        .map(|seed| {
            std::thread::spawn(move || {
                let input = random_input(6, 8, seed);
                let solution = solve(&input, &[], &[], &MilpOptions::default()).expect("solvable");
                assert_valid(&input, &[], &solution);
                solution.cost
            })
        })
        .collect();
    for handle in handles {
        assert!(handle.join().expect("no panic") > 0.0);
    }
}

/// The optimum by dynamic programming over the pods left and the limit used: at each step one
/// node of some type with some pods of what is left.
fn brute_force(input: &BoundInput, limit: Option<(&[u64], u64)>) -> Option<f64> {
    let counts: Vec<u64> = input.classes.iter().map(|c| c.count).collect();
    let max_used = limit.map_or(0, |(_, max)| max);
    let mut memo = std::collections::HashMap::new();
    fn best(
        input: &BoundInput,
        limit: Option<(&[u64], u64)>,
        left: Vec<u64>,
        used: u64,
        max_used: u64,
        memo: &mut std::collections::HashMap<(Vec<u64>, u64), Option<f64>>,
    ) -> Option<f64> {
        if left.iter().all(|&l| l == 0) {
            return Some(0.0);
        }
        if let Some(&known) = memo.get(&(left.clone(), used)) {
            return known;
        }
        let mut answer: Option<f64> = None;
        for (t, ty) in input.node_types.iter().enumerate() {
            let cost = limit.map_or(0, |(coefficients, _)| coefficients[t]);
            if used + cost > max_used && limit.is_some() {
                continue;
            }
            // Every non-empty pattern of at most what is left.
            let mut pattern = vec![0u64; left.len()];
            loop {
                let mut i = 0;
                while i < pattern.len() {
                    if pattern[i] < left[i] {
                        pattern[i] += 1;
                        break;
                    }
                    pattern[i] = 0;
                    i += 1;
                }
                if i == pattern.len() {
                    break;
                }
                let hosted = pattern.iter().enumerate().all(|(c, &a)| a == 0 || ty.classes.contains(&c));
                let fits = (0..ty.capacity.len()).all(|k| {
                    let load: f64 =
                        pattern.iter().enumerate().map(|(c, &a)| a as f64 * input.classes[c].demand[k]).sum();
                    load <= ty.capacity[k] * (1.0 + 1e-12)
                });
                if hosted && fits {
                    let rest: Vec<u64> = left.iter().zip(&pattern).map(|(l, a)| l - a).collect();
                    if let Some(v) = best(input, limit, rest, used + cost, max_used, memo) {
                        let total = v + ty.price;
                        if answer.is_none_or(|b| total < b) {
                            answer = Some(total);
                        }
                    }
                }
            }
        }
        memo.insert((left, used), answer);
        answer
    }
    best(input, limit, counts, 0, max_used, &mut memo)
}

fn tiny_instance() -> impl Strategy<Value = (BoundInput, Option<(Vec<u64>, u64)>)> {
    let class = (0u64..=4, prop::collection::vec(1u32..=4, 2));
    let node_type = (1u32..=20, prop::collection::vec(1u32..=8, 2), prop::collection::vec(any::<bool>(), 2));
    (
        prop::collection::vec(class, 1..=2),
        prop::collection::vec(node_type, 1..=3),
        prop::option::of((prop::collection::vec(0u64..=2, 3), 0u64..=3)),
    )
        .prop_map(|(classes, types, limit)| {
            let classes: Vec<(u64, Vec<f64>)> =
                classes.into_iter().map(|(n, d)| (n, d.into_iter().map(f64::from).collect())).collect();
            let n = classes.len();
            let types: Vec<(f64, Vec<f64>, Vec<usize>)> = types
                .into_iter()
                .map(|(p, cap, hosts)| {
                    let hosts = (0..n).filter(|&c| hosts[c]).collect();
                    (f64::from(p) / 4.0, cap.into_iter().map(f64::from).collect(), hosts)
                })
                .collect();
            let n_types = types.len();
            (input(&classes, &types), limit.map(|(coefficients, max)| (coefficients[..n_types].to_vec(), max)))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// On tiny instances the pool is complete: the MILP finds the brute-force optimum, proves
    /// it, and its bound never exceeds it.
    #[test]
    fn matches_brute_force((input, limit) in tiny_instance()) {
        let limits: Vec<NodeLimit> = limit
            .iter()
            .map(|(coefficients, max)| NodeLimit {
                coefficients: coefficients.iter().enumerate().map(|(t, &a)| (t, a as f64)).collect(),
                max: *max as f64,
            })
            .collect();
        let hosted = input.classes.iter().enumerate().all(|(c, class)| {
            class.count == 0
                || input.node_types.iter().any(|t| {
                    t.classes.contains(&c) && class.demand.iter().zip(&t.capacity).all(|(d, cap)| d <= cap)
                })
        });
        let optimum = brute_force(&input, limit.as_ref().map(|(c, m)| (c.as_slice(), *m)));
        let answer = solve(&input, &limits, &[], &MilpOptions::default());
        match (hosted, optimum) {
            (false, _) => prop_assert!(matches!(answer, Err(MilpError::Uncovered { .. })), "{answer:?}"),
            (true, None) => prop_assert!(matches!(answer, Err(MilpError::Infeasible { .. })), "{answer:?}"),
            (true, Some(optimum)) => {
                let solution = answer.expect("feasible");
                assert_valid(&input, &limits, &solution);
                prop_assert!(solution.lower_bound <= optimum + 1e-9, "bound {} above optimum {optimum}", solution.lower_bound);
                prop_assert!(close(solution.cost, optimum), "cost {} vs optimum {optimum}: {solution:?}", solution.cost);
                prop_assert!(solution.proven_optimal, "{solution:?}");
            }
        }
    }
}

//! Lower bounds on the cost of new nodes: hand-made instances with known optima, and
//! properties of random ones (never above an exact optimum or a greedy packing, column
//! generation at least the resource-volume bound, determinism, no panics).

use fleetfit::bound::{
    column_generation_bound, lower_bound, lower_bound_beyond, resource_volume_bound, Bound, BoundClass, BoundInput,
    BoundInputError, BoundMethod, BoundNodeType, Effort,
};
use proptest::prelude::*;

fn class(count: u64, demand: &[f64]) -> BoundClass {
    BoundClass { count, demand: demand.to_vec(), min_nodes: 0, max_per_node: None }
}

fn node(price: f64, capacity: &[f64], classes: &[usize]) -> BoundNodeType {
    BoundNodeType { price, capacity: capacity.to_vec(), classes: classes.to_vec(), max_nodes: None }
}

fn input(dimensions: &[&str], classes: Vec<BoundClass>, node_types: Vec<BoundNodeType>) -> BoundInput {
    BoundInput { dimensions: dimensions.iter().map(|d| d.to_string()).collect(), classes, node_types }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * (1.0 + a.abs().max(b.abs()))
}

fn all_bounds(input: &BoundInput) -> (Bound, Bound, Bound) {
    (resource_volume_bound(input), column_generation_bound(input, 200), lower_bound(input, Effort::default()))
}

#[test]
fn ten_one_cpu_pods_on_two_sizes() {
    // 4-cpu nodes at $1, 2-cpu nodes at $0.6. Integer optimum: two 4-cpu and one 2-cpu = $2.6.
    // Volume alone says $2.5; the node-count row (at least ⌈10/4⌉ = 3 nodes) lifts it to $2.6.
    let i = input(&["cpu"], vec![class(10, &[1.0])], vec![node(1.0, &[4.0], &[0]), node(0.6, &[2.0], &[0])]);
    let (volume, columns, best) = all_bounds(&i);
    assert!(close(volume.value, 2.6), "{volume:?}");
    assert!(volume.proven);
    assert!(close(columns.value, 2.6), "{columns:?}");
    assert!(columns.proven);
    assert!(best.value <= 2.6 + 1e-9 && close(best.value, 2.6));
}

#[test]
fn big_pods_need_a_node_each() {
    // 3-cpu pods on 4-cpu nodes: volume says 7.5 nodes, but no two share a node.
    let i = input(&["cpu"], vec![class(10, &[3.0])], vec![node(1.0, &[4.0], &[0])]);
    let (volume, columns, _) = all_bounds(&i);
    assert!(close(volume.value, 10.0), "{volume:?}");
    assert!(close(columns.value, 10.0), "{columns:?}");
}

#[test]
fn pods_that_need_distinct_nodes_pay_for_them() {
    // Four 1-cpu pods that repel each other (min_nodes 4) on 8-cpu nodes at $1: volume alone
    // says one node; they need four. A second class free to share brings no more nodes.
    let mut spread = class(4, &[1.0]);
    spread.min_nodes = 4;
    let i = input(&["cpu"], vec![spread, class(6, &[1.0])], vec![node(1.0, &[8.0], &[0, 1])]);
    let (volume, columns, best) = all_bounds(&i);
    assert!(close(volume.value, 4.0), "{volume:?}");
    assert!(close(columns.value, 4.0), "{columns:?}");
    assert!(close(best.value, 4.0), "{best:?}");
    // More than the pods is no more than one node per pod.
    let mut over = class(2, &[1.0]);
    over.min_nodes = 9;
    let i = input(&["cpu"], vec![over], vec![node(1.0, &[8.0], &[0])]);
    assert!(close(resource_volume_bound(&i).value, 2.0));
}

#[test]
fn one_small_pod_costs_a_whole_node() {
    let i = input(
        &["cpu", "memory"],
        vec![class(1, &[100.0, 128.0])],
        vec![node(0.2, &[2000.0, 4096.0], &[0]), node(0.1, &[1000.0, 2048.0], &[0])],
    );
    let (volume, columns, best) = all_bounds(&i);
    assert!(close(volume.value, 0.1) && close(columns.value, 0.1) && close(best.value, 0.1), "{best:?}");
}

#[test]
fn column_generation_sees_what_volume_cannot() {
    // Pods of 0.6 and 0.45 of a node, ten of each: 0.6s go alone (no 0.6 + 0.45 fits) and the
    // 0.45s go in pairs: optimum 15 nodes. Volume says 10.5, rounded up 11; big pods say 10.
    let i = input(&["cpu"], vec![class(10, &[60.0]), class(10, &[45.0])], vec![node(1.0, &[100.0], &[0, 1])]);
    let (volume, columns, best) = all_bounds(&i);
    assert!(close(volume.value, 11.0), "{volume:?}");
    assert!(close(columns.value, 15.0), "{columns:?}");
    assert!(columns.proven);
    assert_eq!(best.method, BoundMethod::ColumnGeneration);
    assert!(close(best.value, 15.0));
}

#[test]
fn compatibility_is_respected() {
    // GPU pods can only use the expensive GPU type; cpu pods may use both.
    let i = input(
        &["cpu", "gpu"],
        vec![class(4, &[1.0, 1.0]), class(8, &[1.0, 0.0])],
        vec![node(10.0, &[8.0, 4.0], &[0, 1]), node(1.0, &[4.0, 0.0], &[1])],
    );
    // Optimum: one GPU node holding the 4 GPU pods and 4 cpu pods, one cpu node for the other 4: $11.
    let (volume, columns, _) = all_bounds(&i);
    assert!(volume.value <= 11.0 + 1e-9 && columns.value <= 11.0 + 1e-9);
    assert!(close(columns.value, 11.0), "{columns:?}");
    // Without compatibility limits, the GPU pods alone would already need $10 of GPU capacity.
    assert!(volume.value >= 10.0 - 1e-9, "{volume:?}");
}

#[test]
fn mixed_dimensions_pair_up() {
    // Cpu-heavy and memory-heavy pods share nodes: (6,1) + (1,6) fit in (10,10).
    let i = input(
        &["cpu", "memory"],
        vec![class(5, &[6.0, 1.0]), class(5, &[1.0, 6.0])],
        vec![node(1.0, &[10.0, 10.0], &[0, 1])],
    );
    let (volume, columns, _) = all_bounds(&i);
    assert!(close(columns.value, 5.0), "{columns:?}");
    assert!(close(volume.value, 5.0), "{volume:?}");
}

#[test]
fn empty_input_is_free() {
    let empty = BoundInput::default();
    for bound in
        [resource_volume_bound(&empty), column_generation_bound(&empty, 10), lower_bound(&empty, Effort::default())]
    {
        assert_eq!(bound.value, 0.0);
        assert!(bound.proven);
        assert!(bound.uncovered_classes.is_empty() && bound.input_error.is_none());
    }
    // Classes with no pods, types with no classes.
    let i = input(&["cpu"], vec![class(0, &[1.0])], vec![node(1.0, &[4.0], &[])]);
    assert_eq!(lower_bound(&i, Effort::default()).value, 0.0);
}

#[test]
fn uncovered_classes_are_reported_and_left_out() {
    let i = input(
        &["cpu"],
        vec![class(3, &[1.0]), class(2, &[64.0]), class(1, &[1.0])],
        // Class 2 is listed by nobody; class 1 is listed but too big.
        vec![node(1.0, &[4.0], &[0, 1])],
    );
    for bound in [resource_volume_bound(&i), column_generation_bound(&i, 50), lower_bound(&i, Effort::default())] {
        assert_eq!(bound.uncovered_classes, vec![1, 2]);
        assert!(close(bound.value, 1.0), "{bound:?}");
    }
}

#[test]
fn invalid_input_is_reported_not_panicked() {
    let good = input(&["cpu"], vec![class(1, &[1.0])], vec![node(1.0, &[4.0], &[0])]);
    type Expect = fn(&BoundInputError) -> bool;
    let mut cases: Vec<(BoundInput, Expect)> = Vec::new();
    let mut i = good.clone();
    i.classes[0].demand = vec![];
    cases.push((i, |e| matches!(e, BoundInputError::DemandLength { .. })));
    let mut i = good.clone();
    i.classes[0].demand = vec![f64::NAN];
    cases.push((i, |e| matches!(e, BoundInputError::Demand { .. })));
    let mut i = good.clone();
    i.node_types[0].capacity = vec![-1.0];
    cases.push((i, |e| matches!(e, BoundInputError::Capacity { .. })));
    let mut i = good.clone();
    i.node_types[0].price = f64::INFINITY;
    cases.push((i, |e| matches!(e, BoundInputError::Price { .. })));
    let mut i = good.clone();
    i.node_types[0].classes = vec![7];
    cases.push((i, |e| matches!(e, BoundInputError::ClassIndex { .. })));
    let mut i = good;
    i.node_types[0].capacity = vec![1.0, 2.0];
    cases.push((i, |e| matches!(e, BoundInputError::CapacityLength { .. })));
    for (i, expected) in cases {
        let bound = lower_bound(&i, Effort::default());
        assert_eq!(bound.value, 0.0);
        let error = bound.input_error.expect("an input error");
        assert!(expected(&error), "{error}");
        // Compared as text: NaN ≠ NaN.
        assert_eq!(i.validate().unwrap_err().to_string(), error.to_string());
    }
}

#[test]
fn huge_counts_and_tiny_pods_terminate() {
    let i = input(
        &["cpu", "pods"],
        vec![class(u64::MAX, &[1.0, 1.0]), class(1_000_000_000, &[0.0, 0.0]), class(3, &[1e-9, 1.0])],
        vec![node(1.0, &[4.0, 110.0], &[0, 1, 2]), node(0.5, &[2.0, 110.0], &[0, 2])],
    );
    let bound = lower_bound(&i, Effort::default());
    // Every cpu costs at least $0.25.
    let pods = u64::MAX as f64;
    assert!(bound.value.is_finite() && bound.value >= 0.25 * pods * (1.0 - 1e-9), "{bound:?}");
    assert!(bound.value <= 0.25 * pods * (1.0 + 1e-9) + 1.0, "{bound:?}");
}

#[test]
fn free_node_types_make_their_pods_free() {
    let i = input(
        &["cpu"],
        vec![class(5, &[1.0]), class(5, &[1.0])],
        vec![node(0.0, &[2.0], &[0]), node(1.0, &[4.0], &[0, 1])],
    );
    let (volume, columns, _) = all_bounds(&i);
    // Class 0 can ride free; class 1 runs only on the paid type and needs ⌈5/4⌉ = 2 of them.
    assert!(close(volume.value, 2.0), "{volume:?}");
    assert!(close(columns.value, 2.0), "{columns:?}");
}

#[test]
fn existing_free_room_is_shared_not_counted_per_class() {
    // Two existing nodes with 4 CPUs free each, taking either class; 6 + 6 one-CPU pods. Each
    // class alone would fit the free room, but together they leave 4 pods for new nodes.
    let mut existing = node(0.0, &[4.0], &[0, 1]);
    existing.max_nodes = Some(2);
    let i = input(&["cpu"], vec![class(6, &[1.0]), class(6, &[1.0])], vec![existing, node(1.0, &[4.0], &[0, 1])]);
    let (volume, columns, best) = all_bounds(&i);
    assert!(close(volume.value, 1.0), "{volume:?}");
    assert!(close(columns.value, 1.0), "{columns:?}");
    assert!(close(best.value, 1.0), "{best:?}");
    // Room for all of them: nothing to pay.
    let mut roomy = i.clone();
    roomy.node_types[0].max_nodes = Some(3);
    assert!(lower_bound(&roomy, Effort::default()).value.abs() < 1e-9);
    // A limited type of positive price is paid for too, and dominates nothing.
    let mut paid = i.clone();
    paid.node_types[0].price = 0.5;
    let bound = lower_bound(&paid, Effort::default());
    assert!(close(bound.value, 2.0), "{bound:?}");
}

#[test]
fn pods_kept_apart_fill_no_node_beyond_their_share() {
    // Four pods of which a node may hold one (anti-affinity), without a distinct-node count:
    // only the patterns see it. A second class fills the rest of the nodes.
    let mut apart = class(4, &[1.0]);
    apart.max_per_node = Some(1);
    let i = input(&["cpu"], vec![apart, class(4, &[1.0])], vec![node(1.0, &[8.0], &[0, 1])]);
    let (volume, columns, _) = all_bounds(&i);
    assert!(close(volume.value, 1.0), "{volume:?}");
    assert!(close(columns.value, 4.0), "{columns:?}");
    assert!(columns.proven, "{columns:?}");
}

#[test]
fn effort_limits_still_give_valid_bounds() {
    let i = random_like_instance(40, 30, 7);
    let full = column_generation_bound(&i, 200);
    let cost = greedy_cost(&i);
    for rounds in [1, 2, 3, 5, 10] {
        let early = column_generation_bound(&i, rounds);
        assert!(early.value <= full.value + 1e-9 * full.value.max(1.0), "{rounds}: {} > {}", early.value, full.value);
        assert!(early.iterations <= rounds);
        assert!(early.value >= resource_volume_bound(&i).value * (1.0 - 1e-9));
    }
    let tight = lower_bound(&i, Effort { max_iterations: 50, max_columns: 60, knapsack_nodes: 3 });
    // Its column generation stops early; whole nodes may still say more than the full one.
    if tight.method == BoundMethod::ColumnGeneration {
        assert!(tight.value <= full.value + 1e-9 * full.value, "{tight:?} vs {full:?}");
    }
    assert!(tight.value <= cost + 1e-9 * cost, "{tight:?} vs a packing's {cost}");
    assert!(full.value <= cost);
    assert!(lower_bound(&i, Effort::quick()).method == BoundMethod::ResourceVolume);
}

#[test]
fn whole_nodes_see_what_fractions_cannot() {
    // A pod of 30 and two of 20 on nodes of 100 ($1) or 50 ($0.60): a 50 holds 30 + 20 or
    // 20 + 20, never all three, so the optimum is one 100 ($1; two 50s cost $1.20). Fractional
    // patterns of 50s (half of each) pay $0.90; no set of whole nodes holding 70 costs less than
    // $1.
    let i = input(
        &["cpu"],
        vec![class(1, &[30.0]), class(2, &[20.0])],
        vec![node(1.0, &[100.0], &[0, 1]), node(0.6, &[50.0], &[0, 1])],
    );
    let columns = column_generation_bound(&i, 200);
    assert!(close(columns.value, 0.9), "{columns:?}");
    let best = lower_bound(&i, Effort::default());
    assert_eq!(best.method, BoundMethod::WholeNodes);
    assert!(close(best.value, 1.0) && close(exact_cost(&i), 1.0), "{best:?}");
}

#[test]
fn whole_node_counts_see_what_whole_volumes_cannot() {
    // Four pods of (30 cpu, 30 memory). A ($1, 100 cpu / 200 memory) holds three, B ($0.45,
    // 50 / 50) one, C ($3, 200 / 60) two: the optimum is A + B ($1.45). The pattern LP buys 4/3
    // of an A ($1.33); whole nodes of the volume rows three Bs ($1.35: 150 of each resource,
    // but a B holds one pod). With whole node counts, the pattern LP needs two nodes: A + B.
    let i = input(
        &["cpu", "memory"],
        vec![class(4, &[30.0, 30.0])],
        vec![node(1.0, &[100.0, 200.0], &[0]), node(0.45, &[50.0, 50.0], &[0]), node(3.0, &[200.0, 60.0], &[0])],
    );
    let columns = column_generation_bound(&i, 200);
    assert!(close(columns.value, 4.0 / 3.0), "{columns:?}");
    let best = lower_bound(&i, Effort::default());
    assert_eq!(best.method, BoundMethod::BranchAndPrice, "{best:?}");
    assert!(close(best.value, 1.45) && close(exact_cost(&i), 1.45), "{best:?}");
}

#[test]
fn deterministic_to_the_bit() {
    let i = random_like_instance(30, 25, 3);
    let a = lower_bound(&i, Effort::default());
    let b = lower_bound(&i.clone(), Effort::default());
    assert_eq!(a.value.to_bits(), b.value.to_bits());
    assert_eq!(a, b);
    // Through JSON (serde_json's float parsing may move a value by an ulp, so compare values).
    let json = serde_json::to_string(&i).unwrap();
    let back: BoundInput = serde_json::from_str(&json).unwrap();
    assert!(close(lower_bound(&back, Effort::default()).value, a.value));
    let json = serde_json::to_string(&a).unwrap();
    assert!(close(serde_json::from_str::<Bound>(&json).unwrap().value, a.value));
}

#[test]
fn a_bound_to_beat_stops_early_and_changes_nothing_above_it() {
    let mut stopped_early = 0;
    for seed in 0..4 {
        // 60 classes × 40 types: past the whole-count branching, so column generation alone.
        let i = random_like_instance(60, 40, seed);
        let full = lower_bound(&i, Effort::default());
        let greedy = greedy_cost(&i);
        for beat in [0.0, 0.9, 1.0, 1.03, 1.2].map(|f| f * full.value) {
            let beyond = lower_bound_beyond(&i, Effort::default(), beat);
            assert!(beyond.value <= greedy * (1.0 + 1e-9), "seed {seed}: {} above a packing {greedy}", beyond.value);
            assert!(
                close(beyond.value.max(beat), full.value.max(beat)),
                "seed {seed}, beat {beat}: {} where the full bound is {}",
                beyond.value,
                full.value
            );
            assert!(beyond.iterations <= full.iterations, "seed {seed}: more rounds to beat {beat}");
            if beat >= full.value * 1.03 && beyond.iterations < full.iterations {
                stopped_early += 1;
            }
        }
        let none = lower_bound_beyond(&i, Effort::default(), f64::NEG_INFINITY);
        assert_eq!(none, full);
    }
    assert!(stopped_early > 0, "a bound to beat above the master never saved a round");
}

/// A deterministic mid-size instance (simple LCG): cpu/memory/pods, some classes restricted.
fn random_like_instance(n_classes: usize, n_types: usize, seed: u64) -> BoundInput {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) as f64 / (1u64 << 31) as f64
    };
    let classes: Vec<BoundClass> = (0..n_classes)
        .map(|_| {
            let cpu = (100.0 + next() * 3900.0).round();
            let mem = (128.0 + next() * 16000.0).round();
            class(1 + (next() * 40.0) as u64, &[cpu, mem, 1.0])
        })
        .collect();
    let node_types = (0..n_types)
        .map(|_| {
            let cpus = [2.0, 4.0, 8.0, 16.0, 32.0][(next() * 5.0) as usize];
            let ratio = [2.0, 4.0, 8.0][(next() * 3.0) as usize];
            let cpu = cpus * 1000.0 - 100.0;
            let mem = cpus * ratio * 1024.0 - 300.0;
            let price = (0.03 * cpus + 0.004 * cpus * ratio) * (0.9 + 0.2 * next());
            let hosts: Vec<usize> = (0..n_classes).filter(|_| next() < 0.85).collect();
            node(price, &[cpu, mem, 110.0], &hosts)
        })
        .collect();
    input(&["cpu", "memory", "pods"], classes, node_types)
}

/// A simple feasible packing: classes largest first, first fit into open nodes that may host
/// them, else a new node of the type with the lowest price per pod it would hold.
fn greedy_cost(i: &BoundInput) -> f64 {
    let dims = i.dimensions.len();
    let fits = |load: &[f64], d: &[f64], cap: &[f64]| (0..dims).all(|k| load[k] + d[k] <= cap[k]);
    let mut order: Vec<usize> = (0..i.classes.len()).collect();
    let size = |c: usize| i.classes[c].demand.iter().sum::<f64>();
    order.sort_by(|&a, &b| size(b).total_cmp(&size(a)).then(a.cmp(&b)));
    let mut open: Vec<(usize, Vec<f64>)> = Vec::new();
    let mut cost = 0.0;
    for c in order {
        let d = &i.classes[c].demand;
        let hosts: Vec<usize> = (0..i.node_types.len())
            .filter(|&t| i.node_types[t].classes.contains(&c) && fits(&vec![0.0; dims], d, &i.node_types[t].capacity))
            .collect();
        if hosts.is_empty() {
            continue;
        }
        let mut left = i.classes[c].count;
        while left > 0 {
            if let Some((_, load)) =
                open.iter_mut().find(|(t, load)| hosts.contains(t) && fits(load, d, &i.node_types[*t].capacity))
            {
                load.iter_mut().zip(d).for_each(|(l, x)| *l += x);
                left -= 1;
                continue;
            }
            let per_pod = |t: usize| {
                let cap = &i.node_types[t].capacity;
                let mut n = 0u64;
                let mut load = vec![0.0; dims];
                while n < left && fits(&load, d, cap) {
                    load.iter_mut().zip(d).for_each(|(l, x)| *l += x);
                    n += 1;
                }
                i.node_types[t].price / n as f64
            };
            let t = *hosts.iter().min_by(|&&a, &&b| per_pod(a).total_cmp(&per_pod(b)).then(a.cmp(&b))).unwrap();
            cost += i.node_types[t].price;
            open.push((t, vec![0.0; dims]));
        }
    }
    cost
}

/// The exact optimum of a tiny instance: every partition of the pods into nodes, each node a
/// type that may host all its pods and holds them (no more of a class than its per-node most),
/// the types chosen for the least cost within their node counts. Uncovered pods are left out;
/// infinite when the limited types cannot take what only they host.
fn exact_cost(i: &BoundInput) -> f64 {
    let dims = i.dimensions.len();
    let hostable = |c: usize, t: usize| {
        i.node_types[t].classes.contains(&c) && (0..dims).all(|k| i.classes[c].demand[k] <= i.node_types[t].capacity[k])
    };
    let pods: Vec<usize> = (0..i.classes.len())
        .filter(|&c| (0..i.node_types.len()).any(|t| hostable(c, t) && i.node_types[t].max_nodes != Some(0)))
        .flat_map(|c| std::iter::repeat_n(c, i.classes[c].count as usize))
        .collect();
    // The types a block of pods may go to.
    let block_types = |block: &[usize]| -> Vec<usize> {
        let within_share = (0..i.classes.len()).all(|c| {
            let n = block.iter().filter(|&&x| x == c).count() as u64;
            i.classes[c].max_per_node.is_none_or(|most| n <= most)
        });
        (0..i.node_types.len())
            .filter(|&t| {
                let ty = &i.node_types[t];
                within_share
                    && block.iter().all(|&c| hostable(c, t))
                    && (0..dims).all(|k| block.iter().map(|&c| i.classes[c].demand[k]).sum::<f64>() <= ty.capacity[k])
            })
            .collect()
    };
    // The cheapest choice of a type per block within the types' node counts.
    fn assign(options: &[Vec<usize>], i: &BoundInput, used: &mut Vec<u64>, k: usize) -> f64 {
        if k == options.len() {
            return 0.0;
        }
        let mut best = f64::INFINITY;
        for &t in &options[k] {
            if i.node_types[t].max_nodes.is_some_and(|most| used[t] >= most) {
                continue;
            }
            used[t] += 1;
            best = best.min(i.node_types[t].price + assign(options, i, used, k + 1));
            used[t] -= 1;
        }
        best
    }
    // Restricted growth strings enumerate set partitions.
    let n = pods.len();
    let mut best = f64::INFINITY;
    let mut labels = vec![0usize; n];
    fn walk(
        k: usize,
        used: usize,
        labels: &mut Vec<usize>,
        pods: &[usize],
        best: &mut f64,
        cost: &dyn Fn(&[Vec<usize>]) -> f64,
    ) {
        if k == pods.len() {
            let blocks: Vec<Vec<usize>> =
                (0..used).map(|b| (0..pods.len()).filter(|&p| labels[p] == b).map(|p| pods[p]).collect()).collect();
            *best = best.min(cost(&blocks));
            return;
        }
        for b in 0..=used {
            labels[k] = b;
            walk(k + 1, used.max(b + 1), labels, pods, best, cost);
        }
    }
    if n == 0 {
        return 0.0;
    }
    let cost = |blocks: &[Vec<usize>]| -> f64 {
        let options: Vec<Vec<usize>> = blocks.iter().map(|b| block_types(b)).collect();
        assign(&options, i, &mut vec![0; i.node_types.len()], 0)
    };
    walk(0, 0, &mut labels, &pods, &mut best, &cost);
    best
}

/// Small random instances: 1–3 dimensions, a few classes and types, random compatibility;
/// with `limited`, some types of at most a few nodes (mostly free, as existing nodes' room is)
/// and some classes of at most a few pods per node.
fn tiny_instance(max_pods: u64, limited: bool) -> impl Strategy<Value = BoundInput> {
    (1usize..=3, 1usize..=4, 1usize..=4).prop_flat_map(move |(dims, n_classes, n_types)| {
        let share = if limited {
            prop_oneof![3 => Just(None), 1 => (1u64..=2).prop_map(Some)].boxed()
        } else {
            Just(None).boxed()
        };
        let most = if limited {
            prop_oneof![2 => Just(None), 1 => (0u64..=2).prop_map(Some)].boxed()
        } else {
            Just(None).boxed()
        };
        (
            prop::collection::vec((1..=max_pods, prop::collection::vec(0u8..=9, dims), share), n_classes),
            prop::collection::vec(
                (
                    prop_oneof![1 => Just(0u32), 9 => 1u32..=50],
                    prop::collection::vec(1u8..=16, dims),
                    prop::collection::vec(any::<bool>(), n_classes),
                    most,
                ),
                n_types,
            ),
        )
            .prop_map(move |(classes, types)| BoundInput {
                dimensions: (0..dims).map(|k| format!("r{k}")).collect(),
                classes: classes
                    .into_iter()
                    .map(|(count, d, share)| BoundClass {
                        max_per_node: share,
                        ..class(count, &d.iter().map(|&x| f64::from(x)).collect::<Vec<_>>())
                    })
                    .collect(),
                node_types: types
                    .into_iter()
                    .map(|(price, cap, hosts, most)| {
                        let classes: Vec<usize> =
                            hosts.iter().enumerate().filter(|(_, &h)| h).map(|(c, _)| c).collect();
                        let price = if most.is_some() && price % 3 != 0 { 0 } else { price };
                        BoundNodeType {
                            max_nodes: most,
                            ..node(
                                f64::from(price) / 10.0,
                                &cap.iter().map(|&x| f64::from(x)).collect::<Vec<_>>(),
                                &classes,
                            )
                        }
                    })
                    .collect(),
            })
    })
}

/// The instance with class counts cut (last classes first) to `most` pods in all, so that the
/// exact optimum stays cheap to enumerate.
fn at_most_pods(mut i: BoundInput, most: u64) -> BoundInput {
    let mut left = most;
    for class in &mut i.classes {
        class.count = class.count.min(left);
        left -= class.count;
    }
    i
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn never_above_the_exact_optimum(i in tiny_instance(3, true)) {
        let i = at_most_pods(i, 7);
        let optimum = exact_cost(&i);
        let (volume, columns, best) = all_bounds(&i);
        let slack = 1e-9 * (1.0 + optimum);
        prop_assert!(volume.value <= optimum + slack, "volume {} > optimum {}", volume.value, optimum);
        prop_assert!(columns.value <= optimum + slack, "columns {} > optimum {}", columns.value, optimum);
        prop_assert!(best.value <= optimum + slack);
        prop_assert!(best.value >= volume.value);
        prop_assert!(columns.value >= volume.value * (1.0 - 1e-9), "columns {} < volume {}", columns.value, volume.value);
    }

    #[test]
    fn never_above_a_greedy_packing_and_columns_beat_volume(i in tiny_instance(25, false)) {
        let cost = greedy_cost(&i);
        let (volume, columns, best) = all_bounds(&i);
        let slack = 1e-9 * (1.0 + cost);
        prop_assert!(volume.value <= cost + slack, "volume {} > greedy {}", volume.value, cost);
        prop_assert!(columns.value <= cost + slack, "columns {} > greedy {}", columns.value, cost);
        prop_assert!(best.value <= cost + slack);
        // Column generation starts from the resource-volume prices: never below, even early.
        prop_assert!(columns.value >= volume.value * (1.0 - 1e-9), "columns {} < volume {}", columns.value, volume.value);
        let early = column_generation_bound(&i, 1);
        prop_assert!(early.value >= volume.value * (1.0 - 1e-9) && early.value <= columns.value * (1.0 + 1e-9) + 1e-12);
        prop_assert!(best.value >= volume.value);
        prop_assert_eq!(&volume.uncovered_classes, &columns.uncovered_classes);
        prop_assert_eq!(lower_bound(&i, Effort::default()), best);
    }

    #[test]
    fn any_input_gives_an_answer(
        dims in 0usize..3,
        classes in prop::collection::vec((0u64..5, prop::collection::vec(prop_oneof![Just(f64::NAN), Just(-1.0), 0.0f64..10.0, Just(1e300)], 0..4)), 0..4),
        types in prop::collection::vec((prop_oneof![Just(-1.0), 0.0f64..5.0, Just(f64::INFINITY)], prop::collection::vec(prop_oneof![0.0f64..20.0, Just(1e300), Just(f64::NAN)], 0..4), prop::collection::vec(0usize..5, 0..4)), 0..4),
    ) {
        let i = BoundInput {
            dimensions: (0..dims).map(|k| k.to_string()).collect(),
            classes: classes.into_iter().map(|(count, demand)| BoundClass { count, demand, min_nodes: 0, max_per_node: None }).collect(),
            node_types: types.into_iter().map(|(price, capacity, classes)| BoundNodeType { price, capacity, classes, max_nodes: None }).collect(),
        };
        let bound = lower_bound(&i, Effort::default());
        prop_assert!(bound.value.is_finite() && bound.value >= 0.0);
        prop_assert_eq!(bound.input_error.is_some(), i.validate().is_err());
    }
}

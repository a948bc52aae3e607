//! The instance both bounds work on: validated input, the classes that some type hosts, the
//! types no other type dominates, the type sets of the volume and node-count rows, the
//! big-pod cliques, and (for the pattern MILP) limit rows on the number of nodes per type.

use super::{BoundInput, BoundInputError};

/// Relative slack when deciding that pods fit a capacity. Erring towards "fits" only enlarges
/// the relaxations, so rounding can never make a bound invalid.
pub(super) const FIT_SLACK: f64 = 1e-12;

/// Whether a load fits a capacity, rounding in favour of fitting.
pub(crate) fn fits(load: f64, capacity: f64) -> bool {
    load <= capacity + FIT_SLACK * capacity.max(1.0)
}

/// `x.floor()`, without a call into the math library (the baseline x86-64 target has no
/// rounding instruction, and the packings floor in their innermost loops): exact for every
/// `f64`, as one of magnitude `2^52` or more is already whole.
pub(crate) fn floor(x: f64) -> f64 {
    const WHOLE_FROM: f64 = 4_503_599_627_370_496.0; // 2^52
    if x.abs() < WHOLE_FROM {
        let t = x as i64 as f64;
        if t > x {
            t - 1.0
        } else {
            t
        }
    } else {
        x
    }
}

/// The largest `a` with `a · demand` fitting `capacity` in every dimension, at most `limit`.
pub(super) fn copies_fitting(demand: &[f64], capacity: &[f64], limit: f64) -> f64 {
    let mut most = limit;
    for (&d, &cap) in demand.iter().zip(capacity) {
        if d > 0.0 {
            let mut a = floor((cap + FIT_SLACK * cap.max(1.0)) / d).min(most);
            // Division rounds: settle on the side of the test itself (while `a + 1` is exact).
            if a < 1e15 {
                for _ in 0..4 {
                    if a > 0.0 && !fits(a * d, cap) {
                        a -= 1.0;
                    } else if a + 1.0 <= most && fits((a + 1.0) * d, cap) {
                        a += 1.0;
                    } else {
                        break; // settled: the next rounds would change nothing
                    }
                }
            }
            most = most.min(a);
        }
    }
    most.max(0.0)
}

/// A class some kept type hosts.
#[derive(Debug, Clone)]
pub(super) struct Class {
    /// Its index in the input.
    pub input: usize,
    pub count: f64,
    pub demand: Vec<f64>,
    /// Distinct nodes its pods need at least.
    pub min_nodes: f64,
    /// Its pods on one node at most (`∞`: no such rule).
    pub per_node: f64,
    /// Kept types hosting it (indices into [`Instance::types`], ascending).
    pub types: Vec<usize>,
}

/// A node type no other dominates.
#[derive(Debug, Clone)]
pub(super) struct NodeType {
    /// Its index in the input.
    pub input: usize,
    pub price: f64,
    pub capacity: Vec<f64>,
    /// Classes it hosts (indices into [`Instance::classes`], ascending).
    pub hosts: Vec<usize>,
    /// Type sets containing it (indices into [`Instance::sets`]).
    pub sets: Vec<usize>,
    /// Its non-zero coefficients in the limit rows, as `(limit, coefficient)`.
    pub limits: Vec<(usize, f64)>,
    /// For a type of at most so many nodes ([`super::BoundNodeType::max_nodes`]): the limit
    /// row of its own that says so (coefficient 1, only this type in it).
    pub own_row: Option<usize>,
}

/// A limit on the nodes of a solution, over the input's types:
/// `Σ_t coefficients[t] · (nodes of type t) ≤ max`, coefficients finite and `≥ 0`, `max` finite.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LimitRow {
    /// One per input node type.
    pub coefficients: Vec<f64>,
    pub max: f64,
}

impl LimitRow {
    fn coefficient(&self, node_type: usize) -> f64 {
        self.coefficients.get(node_type).copied().unwrap_or(0.0)
    }
}

/// A set of types `T` with the classes `S(T)` confined to it.
#[derive(Debug, Clone)]
pub(super) struct TypeSet {
    pub types: Vec<usize>,
    /// `S(T)`: the classes hosted only by types of the set.
    pub classes: Vec<usize>,
    /// Total demand of `S(T)` per dimension.
    pub demand: Vec<f64>,
    /// `N(T)`: nodes of types in `T` any solution needs.
    pub nodes: f64,
}

/// Classes no two pods of which share a node, and the types hosting any of them.
#[derive(Debug, Clone)]
pub(super) struct Clique {
    pub types: Vec<usize>,
    pub classes: Vec<usize>,
    pub pods: f64,
}

#[derive(Debug, Clone)]
pub(super) struct Instance {
    pub dimensions: usize,
    pub classes: Vec<Class>,
    pub types: Vec<NodeType>,
    pub sets: Vec<TypeSet>,
    pub cliques: Vec<Clique>,
    /// Limit right-hand sides (the coefficients are on the types, [`NodeType::limits`]): the
    /// caller's (the bounds ignore NodePool limits), then one per type of at most so many
    /// nodes ([`NodeType::own_row`]).
    pub limits: Vec<f64>,
    /// Input indices of classes with pods that no type hosts.
    pub uncovered: Vec<usize>,
}

/// A fixed-size set of small integers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct BitSet(Vec<u64>);

impl BitSet {
    fn new(size: usize) -> Self {
        BitSet(vec![0; size.div_ceil(64)])
    }
    fn insert(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn is_subset(&self, other: &BitSet) -> bool {
        self.0.iter().zip(&other.0).all(|(a, b)| a & !b == 0)
    }
    fn union_with(&mut self, other: &BitSet) {
        self.0.iter_mut().zip(&other.0).for_each(|(a, b)| *a |= b);
    }
    fn members(&self) -> Vec<usize> {
        let mut out = Vec::new();
        for (w, &word) in self.0.iter().enumerate() {
            for b in 0..64 {
                if word & (1 << b) != 0 {
                    out.push(w * 64 + b);
                }
            }
        }
        out
    }
}

impl Instance {
    pub fn new(input: &BoundInput) -> Result<Instance, BoundInputError> {
        Instance::with_limits(input, &[])
    }

    /// The instance under limit rows (already checked by the caller: one finite coefficient
    /// `≥ 0` per input type, finite `max`). A type then only dominates another whose limit
    /// coefficients are all at least its own, so that swapping nodes keeps every limit; a type
    /// of at most so many nodes dominates none (swapping for it could pass its count).
    pub fn with_limits(input: &BoundInput, limit_rows: &[LimitRow]) -> Result<Instance, BoundInputError> {
        input.validate()?;
        let dimensions = input.dimensions.len();
        let n_classes = input.classes.len();
        // Which input classes each input type hosts (listed and one pod fits).
        let hosted: Vec<BitSet> = input
            .node_types
            .iter()
            .map(|t| {
                let mut set = BitSet::new(n_classes);
                for &c in &t.classes {
                    let class = &input.classes[c];
                    if class.count > 0 && class.demand.iter().zip(&t.capacity).all(|(&d, &cap)| fits(d, cap)) {
                        set.insert(c);
                    }
                }
                set
            })
            .collect();
        let empty = BitSet::new(n_classes);
        let hosts_some: Vec<bool> = hosted.iter().map(|h| *h != empty).collect();
        // Dominance: t is dropped when some t' hosts a superset, has at least its capacity and
        // costs no more; among identical types the lowest index stays. The cheap tests first.
        let dominates = |a: usize, b: usize| {
            let (ta, tb) = (&input.node_types[a], &input.node_types[b]);
            ta.max_nodes.is_none()
                && ta.price <= tb.price
                && ta.capacity.iter().zip(&tb.capacity).all(|(x, y)| x >= y)
                && hosted[b].is_subset(&hosted[a])
                && limit_rows.iter().all(|row| row.coefficient(a) <= row.coefficient(b))
        };
        // In an order where a type comes after every type that dominates it (and, among
        // identical ones, after those of lower index), a type is dominated exactly when a kept
        // type before it dominates it: dominance is transitive, so a dropped dominator's own
        // kept dominator serves. Kept types are few, so this is far from quadratic.
        let mut order: Vec<usize> = (0..input.node_types.len()).filter(|&t| hosts_some[t]).collect();
        let count = |t: usize| hosted[t].0.iter().map(|w| w.count_ones()).sum::<u32>();
        order.sort_by(|&a, &b| {
            let (ta, tb) = (&input.node_types[a], &input.node_types[b]);
            let larger = tb.capacity.iter().zip(&ta.capacity).map(|(x, y)| x.total_cmp(y)).find(|o| o.is_ne());
            let lighter =
                limit_rows.iter().map(|row| row.coefficient(a).total_cmp(&row.coefficient(b))).find(|o| o.is_ne());
            ta.price
                .total_cmp(&tb.price)
                .then(larger.unwrap_or(std::cmp::Ordering::Equal))
                .then(count(b).cmp(&count(a)))
                .then(lighter.unwrap_or(std::cmp::Ordering::Equal))
                .then(a.cmp(&b))
        });
        let mut dominators: Vec<usize> = Vec::new();
        let mut kept_inputs = Vec::new();
        for t in order {
            if dominators.iter().any(|&u| dominates(u, t)) {
                continue;
            }
            kept_inputs.push(t);
            if input.node_types[t].max_nodes.is_none() {
                dominators.push(t);
            }
        }
        kept_inputs.sort_unstable();
        // Classes with pods: covered when a kept type hosts them.
        let mut type_sets: Vec<BitSet> = Vec::new();
        let mut class_of_input = vec![usize::MAX; n_classes];
        let mut classes = Vec::new();
        let mut uncovered = Vec::new();
        for (c, class) in input.classes.iter().enumerate() {
            if class.count == 0 {
                continue;
            }
            let mut types = BitSet::new(kept_inputs.len());
            let mut list = Vec::new();
            for (k, &t) in kept_inputs.iter().enumerate() {
                if hosted[t].0[c / 64] & (1 << (c % 64)) != 0 {
                    types.insert(k);
                    list.push(k);
                }
            }
            if list.is_empty() {
                uncovered.push(c);
                continue;
            }
            class_of_input[c] = classes.len();
            type_sets.push(types);
            classes.push(Class {
                input: c,
                count: class.count as f64,
                demand: class.demand.clone(),
                min_nodes: class.min_nodes.min(class.count) as f64,
                per_node: class.max_per_node.map_or(f64::INFINITY, |m| m as f64),
                types: list,
            });
        }
        let mut limits: Vec<f64> = limit_rows.iter().map(|row| row.max).collect();
        let mut types: Vec<NodeType> = kept_inputs
            .iter()
            .map(|&t| {
                let source = &input.node_types[t];
                let hosts =
                    hosted[t].members().into_iter().map(|c| class_of_input[c]).filter(|&c| c != usize::MAX).collect();
                let mut coefficients: Vec<(usize, f64)> = limit_rows
                    .iter()
                    .enumerate()
                    .map(|(r, row)| (r, row.coefficient(t)))
                    .filter(|&(_, a)| a != 0.0)
                    .collect();
                let own_row = source.max_nodes.map(|most| {
                    limits.push(most as f64);
                    coefficients.push((limits.len() - 1, 1.0));
                    limits.len() - 1
                });
                NodeType {
                    input: t,
                    price: source.price,
                    capacity: source.capacity.clone(),
                    hosts,
                    sets: Vec::new(),
                    limits: coefficients,
                    own_row,
                }
            })
            .collect();

        // Type sets: every distinct T(c), then their union, in first-appearance order.
        let mut candidates: Vec<BitSet> = Vec::new();
        for set in &type_sets {
            if !candidates.contains(set) {
                candidates.push(set.clone());
            }
        }
        if let Some(first) = candidates.first() {
            let mut all = first.clone();
            for set in &candidates {
                all.union_with(set);
            }
            if !candidates.contains(&all) {
                candidates.push(all);
            }
        }
        let mut sets = Vec::with_capacity(candidates.len());
        for (s, candidate) in candidates.iter().enumerate() {
            let members = candidate.members();
            let mut demand = vec![0.0; dimensions];
            let mut confined = Vec::new();
            for (c, (class, set)) in classes.iter().zip(&type_sets).enumerate() {
                if set.is_subset(candidate) {
                    confined.push(c);
                    for (total, d) in demand.iter_mut().zip(&class.demand) {
                        *total += class.count * d;
                    }
                }
            }
            let mut nodes = confined.iter().map(|&c| classes[c].min_nodes).fold(1.0f64, f64::max);
            for (k, &total) in demand.iter().enumerate() {
                let largest = members.iter().map(|&t| types[t].capacity[k]).fold(0.0f64, f64::max);
                if largest > 0.0 && total > 0.0 {
                    nodes = nodes.max(integer_at_least(total / largest));
                }
            }
            for &t in &members {
                types[t].sets.push(s);
            }
            sets.push(TypeSet { types: members, classes: confined, demand, nodes });
        }
        let cliques = cliques(&classes, &types, &type_sets, dimensions);
        Ok(Instance { dimensions, classes, types, sets, cliques, limits, uncovered })
    }
}

impl Class {
    /// Its pods one node may hold at most: all of them, or its rule's.
    pub fn most_per_node(&self) -> f64 {
        self.count.min(self.per_node)
    }
}

impl Instance {
    /// Nodes of type `t` a solution may have: its own limit row's, else unlimited.
    pub fn most_nodes(&self, t: usize) -> f64 {
        self.types[t].own_row.map_or(f64::INFINITY, |r| self.limits[r])
    }
}

/// `⌈x⌉`, forgiving rounding noise just above an integer (so never more than the true ceiling).
fn integer_at_least(x: f64) -> f64 {
    (x - 1e-9 * x.max(1.0)).ceil().max(0.0)
}

/// Whether one pod of `a` and one of `b` (possibly the same class) cannot share a node of `t`.
fn conflict(a: &Class, b: &Class, t: &NodeType) -> bool {
    a.demand.iter().zip(&b.demand).zip(&t.capacity).any(|((x, y), &cap)| !fits(x + y, cap))
}

/// Whether pods of `a` and `b` can never share a node: they conflict on every type hosting both.
fn always_conflict(a: &Class, b: &Class, types: &[NodeType]) -> bool {
    let mut common = a.types.iter().filter(|t| b.types.binary_search(t).is_ok());
    common.all(|&t| conflict(a, b, &types[t]))
}

/// Big-pod cliques: per dimension, the classes taking more than half of it on every type that
/// hosts them; then one greedy clique over all classes whose pods cannot share a node with each
/// other, largest counts first.
fn cliques(classes: &[Class], types: &[NodeType], type_sets: &[BitSet], dimensions: usize) -> Vec<Clique> {
    let mut found: Vec<Vec<usize>> = Vec::new();
    for k in 0..dimensions {
        let members: Vec<usize> = (0..classes.len())
            .filter(|&c| classes[c].types.iter().all(|&t| !fits(2.0 * classes[c].demand[k], types[t].capacity[k])))
            .collect();
        if !members.is_empty() && !found.contains(&members) {
            found.push(members);
        }
    }
    let mut solitary: Vec<usize> =
        (0..classes.len()).filter(|&c| always_conflict(&classes[c], &classes[c], types)).collect();
    solitary.sort_by(|&a, &b| classes[b].count.total_cmp(&classes[a].count).then(a.cmp(&b)));
    let mut greedy: Vec<usize> = Vec::new();
    for c in solitary {
        if greedy.iter().all(|&g| always_conflict(&classes[c], &classes[g], types)) {
            greedy.push(c);
        }
    }
    greedy.sort_unstable();
    if !greedy.is_empty() && !found.contains(&greedy) {
        found.push(greedy);
    }
    found
        .into_iter()
        .map(|members| {
            let mut union = BitSet::new(types.len());
            for &c in &members {
                union.union_with(&type_sets[c]);
            }
            Clique { types: union.members(), pods: members.iter().map(|&c| classes[c].count).sum(), classes: members }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn floor_is_the_math_librarys(bits in proptest::prelude::any::<u64>(), small in -1e6f64..1e6) {
            for x in [f64::from_bits(bits), small, small.round(), small.round() - 0.5] {
                let (ours, theirs) = (floor(x), x.floor());
                proptest::prop_assert!(ours == theirs || (ours.is_nan() && theirs.is_nan()), "floor({x}) = {ours}, not {theirs}");
            }
        }
    }

    #[test]
    fn fitting_copies() {
        assert_eq!(copies_fitting(&[1.0, 2.0], &[4.0, 6.0], 100.0), 3.0);
        assert_eq!(copies_fitting(&[0.1, 0.0], &[0.3, 0.0], 100.0), 3.0);
        assert_eq!(copies_fitting(&[0.0, 0.0], &[1.0, 1.0], 7.0), 7.0);
        assert_eq!(copies_fitting(&[5.0], &[4.0], 7.0), 0.0);
        assert_eq!(integer_at_least(2.0 + 1e-15), 2.0);
        assert_eq!(integer_at_least(2.1), 3.0);
    }
}

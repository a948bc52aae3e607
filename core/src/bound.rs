//! Lower bounds on the hourly cost of the new nodes a set of pending pods needs, so every plan
//! can say how far from optimal it can at most be.
//!
//! # The problem being bounded
//! Pods come in classes `c` (`count_c` identical pods, demand `d_c` per dimension); node types
//! `t` have a price `p_t`, a usable capacity `C_t` per dimension, and a list of classes they may
//! host. A solution opens nodes, each of one type, and puts on each node pods of classes its type
//! may host, with the node's summed demand within its capacity in every dimension. The bounds
//! below are lower bounds on the cheapest such solution, `OPT`.
//!
//! Two refinements: a type may be limited to `u_t` nodes ([`BoundNodeType::max_nodes`]; the
//! existing nodes' free room is such a type, of price 0, one per distinct room), and a class
//! may hold at most `s_c` pods per node ([`BoundClass::max_per_node`]; anti-affinity among
//! its pods, hostname spread).
//!
//! # Preparation (shared, valid for both bounds)
//! - A type *hosts* a class when it lists it and one pod fits it. A class with pods that no type
//!   hosts is reported in [`Bound::uncovered_classes`] and left out: the bound covers the rest.
//! - Type `t` is dropped when another type `t'` hosts every class `t` hosts, has at least its
//!   capacity in every dimension and costs no more (ties keep the lower index). Swapping every
//!   `t` node of a solution for a `t'` node keeps it feasible and no dearer, so `OPT` is unchanged.
//!   A limited type dominates none (the swap could pass its limit).
//!
//! # Resource-volume bound ([`resource_volume_bound`])
//! An LP over fractional node counts `n_t ≥ 0`, minimising `Σ_t p_t n_t` subject to three kinds
//! of rows. Let `T(c)` be the (kept) types hosting `c`. For a set of types `T` let
//! `S(T) = {c : T(c) ⊆ T}` be the classes that can only run on types of `T`, `D_k(T)` their total
//! demand in dimension `k`, and `M_k(T)` the largest capacity of a type of `T` in dimension `k`.
//! The sets `T` used are every distinct `T(c)` and the union of all of them.
//! 1. *Volume*: `Σ_{t∈T} C_tk n_t ≥ D_k(T)` for each such `T` and dimension `k` — every pod of
//!    `S(T)` sits on a node whose type is in `T`, and those nodes hold their pods' demand.
//! 2. *Node count*: `Σ_{t∈T} n_t ≥ N(T) = max(1, max_k ⌈D_k(T) / M_k(T)⌉, max_{c∈S(T)} m_c)` —
//!    those nodes are at least that many, an integer (this is what makes one small pod cost a
//!    whole node), and at least the distinct nodes `m_c` a class of `S(T)` needs
//!    ([`BoundClass::min_nodes`]).
//! 3. *Big pods*: if no two pods of a set `B` of classes fit together on any type hosting both
//!    (per dimension `k`: each pod of `B` takes more than half of `C_tk` on every type hosting it;
//!    plus one greedy clique of such "conflicting" classes), then `Σ_{t∈∪T(c)} n_t ≥ Σ_{c∈B} count_c`.
//!
//! A limited type's variable is bounded, `n_t ≤ u_t`. Any solution, read as `n_t` = its number
//! of type-`t` nodes, satisfies every row, so the LP optimum is `≤ OPT`. It decouples dimensions (a pod's cpu may be served by one type and its
//! memory by another), which costs little when prices are close to linear in the resources, as
//! cloud prices are; the column-generation bound does not have this weakness.
//!
//! # Column-generation bound ([`column_generation_bound`], Gilmore–Gomory)
//! A *pattern* is a type `t` and integer counts `a_c ≤ min(count_c, s_c)` of classes it hosts
//! that fit one node together; a limited type's patterns share a row `Σ_{p: t(p)=t} λ_p ≤ u_t`
//! priced `μ_t ≥ 0`. The master LP is `min Σ_p p_{t(p)} λ_p` subject to `Σ_p a_cp λ_p ≥ count_c` for
//! each class and the node-count rows 2. above (`Σ_{p: t(p)∈T} λ_p ≥ N(T)`, valid for the same
//! reason). A solution's nodes are patterns, so the LP optimum is `≤ OPT`; every volume and big-pod
//! row is implied by the pattern rows, so it is also `≥` the resource-volume LP. New patterns come
//! from pricing: for each type a bounded multi-dimensional knapsack `max σ_t + Σ_c π_c a_c`
//! against the class prices `π` and `σ_t` (the node-count prices of the sets containing `t`),
//! solved by branch and bound with LP-relaxation and surrogate bounds.
//!
//! The reported value never relies on the master LP being solved exactly. With any prices
//! `π, σ ≥ 0` and any `V_t ≥` the best pattern value of type `t` (exact, or the knapsack's upper
//! bound when branch and bound stopped early), let `ρ = max_t V_t / p_t`. Then `(π, σ)/ρ` is
//! dual feasible for the master LP over *all* patterns, so
//! `Σ_c π_c count_c + Σ_T σ_T N(T)`, divided by `ρ`, is a lower bound (Farley's bound). The
//! limited types are left out of `ρ`: each is kept dual feasible by its own row's price instead,
//! `μ_t = max(0, V_t / ρ − p_t)`, which costs `u_t μ_t` (as the bound `n_t ≤ u_t` does in the
//! resource-volume LP's dual). At
//! the LP optimum `ρ = 1` and it equals the LP value; the best value over the rounds is kept, so
//! stopping early (effort limits) still gives a valid, if weaker, bound.
//!
//! The resource-volume LP's row prices, read as pattern prices (a class is worth its demand at
//! the volume prices plus its big-pod prices; a set its node-count price), are such a dual
//! feasible point with `ρ ≤ 1` and the resource-volume value: column generation starts from
//! them, so it never reports less than the resource-volume bound. They also serve as the
//! stability centre of the rounds (Wentges smoothing: pricing at a mix of the centre and the
//! master's prices, the centre moving to the best prices seen), and to value pods in a greedy
//! packing whose nodes seed the master. The value is *proven* when it reaches the master's
//! objective within `1e-6` (relative): it is then the LP optimum to that precision.
//!
//! The resource-volume value is made safe the same way as Farley's: its LP's row prices are
//! clipped at zero and divided by the largest ratio of a type's priced capacity to its price.
//!
//! # Whole nodes ([`lower_bound`], small inputs)
//! The resource-volume rows with every `n_t` an integer, by best-first branch and bound on the
//! counts (at most 200 LPs, each made safe as above with the branches' floors as rows and
//! ceilings as limits; a branch is dropped only when its ceilings leave a row short with every
//! type at its ceiling). Any solution's counts satisfy the rows, so this is `≤ OPT`; on small
//! inputs, where one node is much of the cost, it often says more than both LPs (the pods need
//! three quarters of the cheapest large node: the LPs pay for three quarters of it).
//!
//! # Whole node counts ([`lower_bound`], small inputs)
//! Column generation's master with the total node count and each type's node count an integer,
//! by best-first branch and price ([`branch`]): a subtree's floors are node-count rows over
//! the types they count, its ceilings limit rows; its column generation's Farley bound bounds
//! every solution within them, and the least over the open subtrees every solution. A child
//! starts from its parent's proving prices (new rows priced 0: still dual feasible, worth at
//! least the parent's value). On inputs of up to 2,000 classes × types, within a
//! budget of rounds; the pattern MILP's pool bound uses it too (with its limit rows). Where the
//! master buys 1.26 nodes of the type cheapest per GiB, a solution buys one and smaller nodes
//! for the rest, or two: the subtrees price both.
//!
//! Everything is deterministic: no clock, no hashing order, no randomness; effort is counted in
//! rounds, columns, knapsack nodes and LPs, never in time.

mod branch;
mod columns;
#[cfg(feature = "milp")]
mod enumerate;
mod knapsack;
mod prepare;
mod seed;
mod volume;
mod whole;

#[cfg(feature = "milp")]
pub(crate) use prepare::{fits, LimitRow};

use serde::{Deserialize, Serialize};

/// What to bound: classes of identical pods and the node types that may host them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BoundInput {
    /// Resource dimensions in a fixed order (e.g. cpu millicores, memory bytes, pods,
    /// nvidia.com/gpu); every demand and capacity vector follows it.
    pub dimensions: Vec<String>,
    pub classes: Vec<BoundClass>,
    pub node_types: Vec<BoundNodeType>,
}

/// A group of identical pods: how many, the demand of one pod per dimension, and how many
/// distinct nodes they need at least (0: no such rule).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BoundClass {
    pub count: u64,
    pub demand: Vec<f64>,
    /// The pods sit on at least this many distinct nodes (their topology: anti-affinity
    /// against each other, spread over hosts or zones).
    #[serde(default)]
    pub min_nodes: u64,
    /// At most this many of them share a node (anti-affinity against each other: 1; hostname
    /// spread with maxSkew `s`: `s`); `None`: no such rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_node: Option<u64>,
}

/// A node option: its price per hour, its usable capacity per dimension (allocatable minus
/// DaemonSet overhead), and the indices of the classes it may host.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BoundNodeType {
    pub price: f64,
    pub capacity: Vec<f64>,
    pub classes: Vec<usize>,
    /// At most this many nodes of the type (existing nodes' free room: price 0, as many as
    /// there are such nodes); `None`: as many as needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_nodes: Option<u64>,
}

/// Which relaxation produced a bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BoundMethod {
    ResourceVolume,
    ColumnGeneration,
    /// The resource-volume rows over whole nodes ([`whole`]).
    WholeNodes,
    /// Column generation over whole node counts, in all and per type ([`branch`]).
    BranchAndPrice,
}

/// A lower bound on the cost per hour of the new nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bound {
    /// No solution placing every covered pod costs less than this.
    pub value: f64,
    pub method: BoundMethod,
    /// Simplex pivots (resource volume), column-generation rounds or LPs (whole nodes).
    pub iterations: usize,
    /// `value` is the optimum of its relaxation (to the solver's tolerances), not an early stop.
    pub proven: bool,
    /// Classes with pods that no node type can host; the bound covers the other classes.
    pub uncovered_classes: Vec<usize>,
    /// Why the input could not be used (the bound is then 0).
    pub input_error: Option<BoundInputError>,
}

/// How much work a bound may do, counted in steps rather than time so that the result is the
/// same on every machine. The default (10 rounds, 500 knapsack nodes) takes a few milliseconds
/// on a dozen pod classes, ~50 ms on 50 classes × 400 node types and ~0.2 s on 200 × 1,400
/// (measured on one core); on such large, varied mixes the resource-volume bound is typically
/// within a fraction of a percent of the column-generation LP and column generation needs
/// ~100 rounds to add anything, while on small or fragmented instances a few rounds add
/// several percent. [`Effort::quick`] skips column generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Effort {
    /// Column-generation rounds (solve the master, price every type); 0 for the
    /// resource-volume bound alone.
    pub max_iterations: usize,
    /// Patterns the master LP may hold.
    pub max_columns: usize,
    /// Branch-and-bound nodes per knapsack (one per type and round); past it the knapsack's
    /// upper bound stands in for its optimum, which keeps the bound valid. When a round finds
    /// no new pattern but cannot prove the LP optimum, the next rounds search up to 16 times
    /// deeper (fourfold per round).
    pub knapsack_nodes: usize,
}

impl Default for Effort {
    fn default() -> Self {
        Effort { max_iterations: 10, max_columns: 10_000, knapsack_nodes: 500 }
    }
}

impl Effort {
    /// The resource-volume bound only.
    pub fn quick() -> Self {
        Effort { max_iterations: 0, ..Effort::default() }
    }
}

/// What is wrong with a [`BoundInput`].
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum BoundInputError {
    #[error("classes[{class}].demand has {found} entries for {expected} dimensions")]
    DemandLength { class: usize, expected: usize, found: usize },
    #[error("classes[{class}].demand[{dimension}] is {value}: must be finite and ≥ 0")]
    Demand { class: usize, dimension: usize, value: f64 },
    #[error("node_types[{node_type}].capacity has {found} entries for {expected} dimensions")]
    CapacityLength { node_type: usize, expected: usize, found: usize },
    #[error("node_types[{node_type}].capacity[{dimension}] is {value}: must be finite and ≥ 0")]
    Capacity { node_type: usize, dimension: usize, value: f64 },
    #[error("node_types[{node_type}].price is {value}: must be finite and ≥ 0")]
    Price { node_type: usize, value: f64 },
    #[error("node_types[{node_type}].classes names class {class}, but there are {classes} classes")]
    ClassIndex { node_type: usize, class: usize, classes: usize },
}

impl BoundInput {
    /// Checks lengths, indices and that every number is finite and non-negative.
    pub fn validate(&self) -> Result<(), BoundInputError> {
        let expected = self.dimensions.len();
        for (class, c) in self.classes.iter().enumerate() {
            if c.demand.len() != expected {
                return Err(BoundInputError::DemandLength { class, expected, found: c.demand.len() });
            }
            if let Some((dimension, &value)) = c.demand.iter().enumerate().find(|(_, v)| !(v.is_finite() && **v >= 0.0))
            {
                return Err(BoundInputError::Demand { class, dimension, value });
            }
        }
        for (node_type, t) in self.node_types.iter().enumerate() {
            if !(t.price.is_finite() && t.price >= 0.0) {
                return Err(BoundInputError::Price { node_type, value: t.price });
            }
            if t.capacity.len() != expected {
                return Err(BoundInputError::CapacityLength { node_type, expected, found: t.capacity.len() });
            }
            if let Some((dimension, &value)) =
                t.capacity.iter().enumerate().find(|(_, v)| !(v.is_finite() && **v >= 0.0))
            {
                return Err(BoundInputError::Capacity { node_type, dimension, value });
            }
            if let Some(&class) = t.classes.iter().find(|&&c| c >= self.classes.len()) {
                return Err(BoundInputError::ClassIndex { node_type, class, classes: self.classes.len() });
            }
        }
        Ok(())
    }
}

impl Bound {
    fn invalid(method: BoundMethod, error: BoundInputError) -> Bound {
        Bound {
            value: 0.0,
            method,
            iterations: 0,
            proven: false,
            uncovered_classes: Vec::new(),
            input_error: Some(error),
        }
    }
}

/// The resource-volume LP bound: fast (one small LP), always available.
pub fn resource_volume_bound(input: &BoundInput) -> Bound {
    match prepare::Instance::new(input) {
        Ok(instance) => volume::bound(&instance).0,
        Err(error) => Bound::invalid(BoundMethod::ResourceVolume, error),
    }
}

/// The indices of the node types the bounds keep (sorted): those hosting a class, less the
/// dominated ones (see the [module documentation](self)); every type when the input is invalid.
pub(crate) fn kept_types(input: &BoundInput) -> Vec<usize> {
    match prepare::Instance::new(input) {
        Ok(instance) => instance.types.iter().map(|t| t.input).collect(),
        Err(_) => (0..input.node_types.len()).collect(),
    }
}

/// The Gilmore–Gomory LP bound by column generation, stopped after `max_iterations` rounds
/// (still valid then, see the [module documentation](self)). It starts from the
/// resource-volume prices, so it is never below [`resource_volume_bound`].
pub fn column_generation_bound(input: &BoundInput, max_iterations: usize) -> Bound {
    let effort = Effort { max_iterations, ..Effort::default() };
    match prepare::Instance::new(input) {
        Ok(instance) => {
            let (volume, prices) = volume::bound(&instance);
            columns::bound(&instance, &effort, prices.map(|p| (volume.value, p)))
        }
        Err(error) => Bound::invalid(BoundMethod::ColumnGeneration, error),
    }
}

/// The better of the two bounds within the effort: the resource-volume bound, improved by
/// column generation when `effort.max_iterations > 0`.
pub fn lower_bound(input: &BoundInput, effort: Effort) -> Bound {
    lower_bound_beyond(input, effort, f64::NEG_INFINITY)
}

/// [`lower_bound`] for a caller who holds a valid bound `beat` already (of another relaxation
/// of the same problem): column generation stops as soon as its master LP, whose value no bound
/// of this input can pass, is at or below `beat`. The bound returned is then valid but may be
/// weaker than [`lower_bound`]'s (it does not matter: the caller's is better). Only where the
/// master's value caps every bound column generation gives: no limit rows (their master has
/// stand-in columns) and no branching on its node counts (which may pass the LP, from its
/// root). The whole-node rows do not need it (nor does it change them: they are the volume
/// rows', and what they pass the caller's bound by they pass it by either way).
pub fn lower_bound_beyond(input: &BoundInput, effort: Effort, beat: f64) -> Bound {
    let instance = match crate::profile::phase("column generation: prepare", || prepare::Instance::new(input)) {
        Ok(instance) => instance,
        Err(error) => return Bound::invalid(BoundMethod::ResourceVolume, error),
    };
    let (volume, prices) = crate::profile::phase("column generation: volume bound", || volume::bound(&instance));
    if effort.max_iterations == 0 || instance.classes.is_empty() {
        return volume;
    }
    let capped = instance.limits.is_empty() && !branches(&instance);
    let generated = columns::generate(
        &instance,
        &effort,
        prices.map(|p| (volume.value, p)),
        branches(&instance),
        knapsack::Aim::Bound,
        if capped { beat } else { f64::NEG_INFINITY },
    );
    let best = if generated.bound.value > volume.value { generated.bound.clone() } else { volume.clone() };
    let best = with_whole_nodes(&instance, volume.value, best, beat);
    with_whole_counts(&instance, &effort, &generated, best)
}

/// Whether the bounds branch on the node counts of column generation's master ([`branch`]):
/// on inputs of up to [`BRANCH_CELLS`] classes × types.
fn branches(instance: &prepare::Instance) -> bool {
    instance.classes.len() * instance.types.len() <= BRANCH_CELLS
}

/// `best`, or column generation over whole node counts ([`branch`], from `generated`, the
/// root's, with its usage) when it says more, beyond rounding (whole nodes often reach the
/// same value).
fn with_whole_counts(
    instance: &prepare::Instance,
    effort: &Effort,
    generated: &columns::Generated,
    best: Bound,
) -> Bound {
    if !branches(instance) {
        return best;
    }
    match branch::bound(instance, effort, generated) {
        Some((value, subtrees)) if value > best.value * (1.0 + 1e-9) => {
            Bound { value, method: BoundMethod::BranchAndPrice, iterations: subtrees, proven: false, ..best }
        }
        _ => best,
    }
}

/// Classes × kept types up to which the bounds also branch on the node counts of their
/// column generation ([`branch`]; small inputs, where whole nodes are much of the cost).
const BRANCH_CELLS: usize = 2_000;

/// `best`, or the resource-volume rows over whole nodes ([`whole`]) when they say more (tried
/// on inputs of up to [`WHOLE_NODES_CELLS`] rows × types; `lp` is the rows' LP value); not
/// searched when they cannot pass `best` or the caller's `beat` ([`lower_bound_beyond`]).
fn with_whole_nodes(instance: &prepare::Instance, lp: f64, best: Bound, beat: f64) -> Bound {
    if volume::rows(instance).len() * instance.types.len() > WHOLE_NODES_CELLS {
        return best;
    }
    match whole::bound(instance, lp, best.value.max(beat)) {
        Some((value, lps)) if value > best.value => {
            Bound { value, method: BoundMethod::WholeNodes, iterations: lps, proven: false, ..best }
        }
        _ => best,
    }
}

/// Rows × kept types up to which the bounds also try the volume rows over whole nodes (small
/// inputs, where it matters: a node is a large share of their cost).
const WHOLE_NODES_CELLS: usize = 20_000;

/// A pattern of a fractional packing: `(input type, [(input class, count)], nodes)`.
pub(crate) type LpPattern = (usize, Vec<(usize, u64)>, f64);

/// Column generation within `effort`, and the fractional packing its master LP ends with:
/// the patterns it uses (nodes above 0), most nodes first (then in the order they came in).
/// Rounded down, they are most of a packing whose cost is close to the LP's (the pods a
/// rounding leaves are few when the counts are large).
///
/// Also, per input class, the price of one of its pods in the best dual solution found (the
/// resource-volume LP's with no rounds; no pattern is worth more than its type's price at
/// them; 0 for a class no type hosts): what a pod is worth to a packing of the rest.
pub(crate) fn lp_packing(input: &BoundInput, effort: &Effort) -> Result<(Vec<LpPattern>, Vec<f64>), BoundInputError> {
    let instance = crate::profile::phase("column generation: prepare", || prepare::Instance::new(input))?;
    let (volume, prices) = crate::profile::phase("column generation: volume bound", || volume::bound(&instance));
    let mut worth = vec![0.0; input.classes.len()];
    let mut set_worth = |certificate: &volume::Prices| {
        for (class, &price) in instance.classes.iter().zip(&certificate.classes) {
            worth[class.input] = price;
        }
    };
    if let Some(prices) = &prices {
        set_worth(prices);
    }
    if instance.classes.is_empty() || effort.max_iterations == 0 {
        return Ok((Vec::new(), worth));
    }
    let generated = columns::generate(
        &instance,
        effort,
        prices.map(|p| (volume.value, p)),
        true,
        knapsack::Aim::Patterns,
        f64::NEG_INFINITY,
    );
    if let Some(certificate) = &generated.certificate {
        set_worth(certificate);
    }
    let mut patterns: Vec<LpPattern> = generated
        .patterns
        .into_iter()
        .zip(generated.usage)
        .filter(|((_, counts), nodes)| *nodes > 0.0 && !counts.is_empty())
        .map(|((t, counts), nodes)| {
            let counts = counts.into_iter().map(|(c, a)| (instance.classes[c].input, a)).collect();
            (instance.types[t].input, counts, nodes)
        })
        .collect();
    patterns.sort_by(|a, b| b.2.total_cmp(&a.2));
    Ok((patterns, worth))
}

/// The most valuable pods one node's `room` holds: of `(value of one pod, demand of one pod,
/// most pods)` per item, how many of each (items by index, counts ≥ 1), by the pricing
/// knapsack within `budget` search nodes (its LP rounded down at least).
pub(crate) fn best_fill(room: &[f64], items: &[(f64, Vec<f64>, f64)], budget: usize) -> Vec<(usize, u64)> {
    let items: Vec<knapsack::Item<'_>> = items
        .iter()
        .enumerate()
        .filter(|(_, (value, _, most))| *value > 0.0 && *most >= 1.0)
        .map(|(class, (value, demand, most))| knapsack::Item { class, value: *value, demand, limit: *most })
        .collect();
    let answer = knapsack::maximise(room, items, 0.0, budget, knapsack::Aim::Patterns);
    answer.patterns.into_iter().next().map_or_else(Vec::new, |(_, counts)| {
        counts.into_iter().filter(|&(_, a)| a >= 1.0).map(|(c, a)| (c, a as u64)).collect()
    })
}

/// A pattern in input indices: a node type and `(class, count)` pairs.
#[cfg(feature = "milp")]
pub(crate) type InputPattern = (usize, Vec<(usize, u64)>);

/// The patterns column generation leaves in its master, for the pattern MILP
/// ([`crate::milp`]).
#[cfg(feature = "milp")]
#[derive(Debug, Clone)]
pub(crate) struct PatternPool {
    /// A lower bound on the cheapest solution within the limit rows: the resource-volume bound
    /// (which ignores them) improved by Farley's bound of the master with them.
    pub bound: Bound,
    /// `(input type, [(input class, count)])`, pairs by class, counts ≥ 1, no pattern twice;
    /// in the order they came in (seeds, then pricing rounds), then the enumerated ones.
    pub patterns: Vec<InputPattern>,
    /// `patterns` holds every maximal pattern of every type that no other type dominates, so a
    /// covering MILP over them has the optimum of the whole problem.
    pub complete: bool,
    instance: prepare::Instance,
    /// Dual-feasible prices proving `bound`.
    certificate: Option<volume::Prices>,
}

/// Column generation under `limits` for `effort.max_iterations` rounds, then, if there are at
/// most `max_enumerated` of them, every maximal pattern.
#[cfg(feature = "milp")]
pub(crate) fn pattern_pool(
    input: &BoundInput,
    limits: &[LimitRow],
    effort: &Effort,
    max_enumerated: usize,
) -> Result<PatternPool, BoundInputError> {
    let instance = prepare::Instance::with_limits(input, limits)?;
    let (volume, prices) = volume::bound(&instance);
    let generated = if instance.classes.is_empty() || effort.max_iterations == 0 {
        columns::Generated {
            bound: volume.clone(),
            patterns: Vec::new(),
            usage: Vec::new(),
            certificate: prices.clone(),
        }
    } else {
        let start = prices.clone().map(|p| (volume.value, p));
        columns::generate(&instance, effort, start, branches(&instance), knapsack::Aim::Bound, f64::NEG_INFINITY)
    };
    let lp = volume.value;
    let (bound, certificate) = if generated.bound.value > volume.value {
        (generated.bound.clone(), generated.certificate.clone())
    } else {
        (volume, prices)
    };
    // Whole nodes hold without the limit rows, so with them too.
    let bound = with_whole_nodes(&instance, lp, bound, f64::NEG_INFINITY);
    // Branching keeps the limit rows (they are the instance's).
    let bound =
        if generated.usage.is_empty() { bound } else { with_whole_counts(&instance, effort, &generated, bound) };
    let enumerated = enumerate::maximal_patterns(
        &instance,
        enumerate::Filter::All,
        max_enumerated.saturating_mul(20),
        max_enumerated,
    );
    let complete = enumerated.is_some();
    let mut pool = PatternPool { bound, patterns: Vec::new(), complete, instance, certificate };
    let mut found = generated.patterns;
    found.extend(enumerated.unwrap_or_default());
    let mut seen = std::collections::BTreeSet::new();
    for pattern in pool.in_input_indices(found) {
        if seen.insert(pattern.clone()) {
            pool.patterns.push(pattern);
        }
    }
    Ok(pool)
}

#[cfg(feature = "milp")]
impl PatternPool {
    /// Every maximal pattern that may be part of a solution costing less than `cost`: those
    /// of reduced cost below `cost − z` at the prices proving the bound `z` (see
    /// [`enumerate`]), or `None` when they are more than `max_patterns` (or there are no such
    /// prices). A MILP over a pool holding them has, if its optimum is below `cost`, the
    /// optimum of the whole problem; its dual bound, capped at `cost`, is a lower bound.
    pub fn near_optimal(&self, cost: f64, max_patterns: usize) -> Option<Vec<InputPattern>> {
        let prices = self.certificate.as_ref()?;
        let value = columns::dual_value(&self.instance, prices);
        if !(value.is_finite() && cost.is_finite()) {
            return None;
        }
        // Listing a little too much is harmless; too little would not be.
        let gap = (cost - value).max(0.0) + 1e-9 * cost.abs().max(1.0);
        let filter = enumerate::Filter::Below { prices, gap };
        let found = enumerate::maximal_patterns(&self.instance, filter, max_patterns.saturating_mul(20), max_patterns)?;
        Some(self.in_input_indices(found))
    }

    fn in_input_indices(&self, patterns: Vec<columns::PoolPattern>) -> Vec<InputPattern> {
        patterns
            .into_iter()
            .filter(|(_, counts)| !counts.is_empty())
            .map(|(t, counts)| {
                let counts = counts.into_iter().map(|(c, a)| (self.instance.classes[c].input, a)).collect();
                (self.instance.types[t].input, counts)
            })
            .collect()
    }
}

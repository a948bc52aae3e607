//! An exact pattern MILP for the new-node problem of [`crate::bound`], solved by HiGHS (the
//! `milp` feature): the cheapest set of nodes that holds every pod, within optional limits
//! on the nodes of each type, with a lower bound that says how far from optimal it can be.
//!
//! # The problem
//! The one of [`crate::bound`] (classes of identical pods, node types with a price, a
//! capacity and the classes they may host), plus [`NodeLimit`] rows
//! `Σ_t coefficient_t · (nodes of type t) ≤ max` with coefficients `≥ 0` (a NodePool's cpu or
//! memory limit, a cap on one instance type). A solution opens nodes, each of one type, puts on
//! each node pods of classes its type hosts with the summed demand within the capacity in every
//! dimension (to the relative `1e-12` of the fit test), holds every pod, and keeps every limit;
//! its cost is the sum of its nodes' prices. `OPT` is the cheapest.
//!
//! # Method (Gilmore–Gomory, price-and-branch)
//! 1. Column generation ([`crate::bound`]'s, with the limit rows in its master) runs for
//!    [`MilpOptions::column_rounds`] rounds and leaves a pool of patterns (a type and the pods
//!    of one node). When every type has few *maximal* patterns (no further pod fits), all of
//!    them join the pool, which is then *complete*.
//! 2. The caller's warm start (a solution, typically a packing's) adds its nodes' patterns, so
//!    the MILP always has a solution at least as good; when it is feasible it is also handed to
//!    HiGHS as its starting incumbent.
//! 3. HiGHS solves `min Σ_p price_p λ_p` over integer `λ_p ≥ 0`, with `Σ_p a_cp λ_p ≥ count_c`
//!    per class and the limit rows. A pattern is never needed more than `max_c ⌈count_c / a_cp⌉`
//!    times (one copy fewer would still hold every pod), which bounds each `λ_p`.
//! 4. Unless the pool is complete or the solution already proven, *reduced-cost enumeration*:
//!    at the dual-feasible prices `π` that prove column generation's bound `z`, every pattern
//!    has a reduced cost `r_p ≥ 0` and every solution costs at least `z + Σ_nodes r_p`; so a
//!    solution cheaper than the incumbent's cost `U` can be built from maximal patterns with
//!    `r_p < U − z` alone. When those are few they all join the pool and HiGHS solves again
//!    from the incumbent (so at most two HiGHS runs, each within the time limit).
//! 5. Surplus pods (patterns may hold more than are left) are removed deterministically: whole
//!    nodes holding only surplus first (dearest, then last in order), then pods from the last
//!    nodes; nodes left empty are closed, which only lowers the cost.
//!
//! # What [`MilpSolution::lower_bound`] proves
//! No solution within the limits costs less than it. It is the largest of:
//! - Farley's bound of the column generation with the limit rows (see [`crate::bound`]): valid
//!   over *all* patterns, whatever the pool and however early the rounds stopped;
//! - when the pool is complete, HiGHS's dual bound of the MILP: over every maximal pattern, the
//!   MILP's optimum is `OPT` (any node's pods are a sub-pattern of a maximal pattern of its
//!   type, and types dropped as dominated are never needed), so its dual bound bounds `OPT`.
//!   Over an incomplete pool the MILP's optimum may exceed `OPT`, and its dual bound is not used,
//!   except
//! - after reduced-cost enumeration (step 4): `min(HiGHS's dual bound, U)`. A solution either
//!   uses only pool patterns (after making each node's pattern maximal), and then costs at
//!   least the dual bound, or uses one with `r_p ≥ U − z`, and then costs at least `U`;
//! - when every price is a whole multiple of a common unit `u` with at most six decimals (cents,
//!   or AWS's four-decimal hourly prices), every solution's cost is a multiple of `u`, so the
//!   bound is rounded up to one.
//!
//! It is then capped at the cost. [`MilpSolution::proven_optimal`] holds when
//! `cost ≤ lower_bound · (1 + relative_gap)` (with `1e-9` relative slack for rounding): the
//! solution is then optimal to within `relative_gap`. Both rest on HiGHS's and the LP solver's
//! tolerances (feasibility `1e-7`/`1e-9`), as every floating-point optimiser's proofs do.
//!
//! # Determinism
//! Column generation counts rounds, never time; HiGHS runs on one thread with a fixed random
//! seed. The same input and options give the same solution, unless HiGHS stops on
//! [`MilpOptions::time_limit_seconds`], the only stop that depends on the machine
//! ([`MilpOptions::max_nodes`] does not).

mod highs;
mod prepare;
mod repair;

use crate::bound::{BoundInput, BoundInputError};
use serde::{Deserialize, Serialize};

/// A limit on the nodes of a solution:
/// `Σ_t coefficient_t × (number of nodes of type t) ≤ max`. Coefficients are finite and `≥ 0`
/// (a type named twice counts twice); `max = +∞` is no limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeLimit {
    /// `(node type, coefficient)` pairs.
    pub coefficients: Vec<(usize, f64)>,
    pub max: f64,
}

/// How hard to search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MilpOptions {
    /// Wall-clock limit of each of HiGHS's (at most two) branch and bounds (`+∞` for none);
    /// column generation is bounded by [`MilpOptions::column_rounds`] instead.
    pub time_limit_seconds: f64,
    /// Branch-and-bound nodes HiGHS may explore (deterministic); `None` for no limit.
    pub max_nodes: Option<u64>,
    /// Stop once the solution is proven within this fraction of HiGHS's bound.
    pub relative_gap: f64,
    /// Column-generation rounds that build the pattern pool.
    pub column_rounds: usize,
}

impl Default for MilpOptions {
    fn default() -> Self {
        MilpOptions { time_limit_seconds: 10.0, max_nodes: None, relative_gap: 1e-4, column_rounds: 50 }
    }
}

/// The best solution found and what is proven about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MilpSolution {
    /// Nodes: each its node type index and (class, count) pairs, sorted deterministically
    /// (by type, then pairs; pairs by class); every class has exactly its count of pods.
    pub nodes: Vec<(usize, Vec<(usize, u64)>)>,
    /// Sum of the nodes' prices.
    pub cost: f64,
    /// No solution within the limits costs less (see the [module documentation](self)); never
    /// above `cost`.
    pub lower_bound: f64,
    /// `cost ≤ lower_bound · (1 + relative_gap)`.
    pub proven_optimal: bool,
    /// How the search ended, in words: the verdict, HiGHS's status, the pool's size.
    pub status: String,
}

/// Why no solution is returned.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum MilpError {
    #[error(transparent)]
    Input(#[from] BoundInputError),
    #[error("classes[{class}].count is {count}: at most {max} pods per class")]
    Count { class: usize, count: u64, max: u64 },
    #[error("classes[{class}] has {count} pods that no node type can host (none lists it, or one pod exceeds every capacity)")]
    Uncovered { class: usize, count: u64 },
    #[error("limits[{limit}].coefficients names node type {node_type}, but there are {node_types} node types")]
    LimitType { limit: usize, node_type: usize, node_types: usize },
    #[error("limits[{limit}].coefficients gives node type {node_type} {value}: must be finite and ≥ 0")]
    LimitCoefficient { limit: usize, node_type: usize, value: f64 },
    #[error("limits[{limit}].max is {value}: must be a number, +∞ for no limit")]
    LimitMax { limit: usize, value: f64 },
    #[error("warm_start[{node}] has node type {node_type}, but there are {node_types} node types")]
    WarmStartType { node: usize, node_type: usize, node_types: usize },
    #[error("warm_start[{node}] names class {class}, but there are {classes} classes")]
    WarmStartClass { node: usize, class: usize, classes: usize },
    #[error("warm_start[{node}] puts class {class} on node type {node_type}, which does not list it")]
    WarmStartHost { node: usize, class: usize, node_type: usize },
    #[error("warm_start[{node}] exceeds the capacity of node type {node_type} in dimension {dimension}")]
    WarmStartCapacity { node: usize, node_type: usize, dimension: usize },
    #[error("options.{field} is {value}: {expected}")]
    Options { field: String, value: f64, expected: String },
    #[error("no solution holds every pod within the limits ({reason})")]
    Infeasible { reason: String },
    #[error("HiGHS found no solution ({status}) and no complete warm start was given")]
    NoSolution { status: String },
    #[error("the solution has {nodes} nodes, more than the {max} a solution may list")]
    TooManyNodes { nodes: u64, max: u64 },
    #[error("HiGHS failed: {0}")]
    Solver(String),
}

/// Nodes a solution may list; past it [`MilpError::TooManyNodes`].
pub const MAX_NODES: u64 = 1_000_000;
/// Pods a class may have; past it [`MilpError::Count`] (HiGHS's integrality tolerance is
/// absolute, so larger counts would not be solved exactly).
pub const MAX_CLASS_COUNT: u64 = 1_000_000_000;
/// Maximal patterns enumerated at most for a complete pool.
const MAX_ENUMERATED: usize = 20_000;
/// Relative slack of the optimality test, for rounding in the cost and the bounds.
const PROOF_SLACK: f64 = 1e-9;

/// The cheapest nodes for `input` within `limits` that the search finds, starting from
/// `warm_start` (a solution's nodes as `(type, [(class, count)])`, or empty).
pub fn solve(
    input: &BoundInput,
    limits: &[NodeLimit],
    warm_start: &[(usize, Vec<(usize, u64)>)],
    options: &MilpOptions,
) -> Result<MilpSolution, MilpError> {
    let problem = prepare::Problem::new(input, limits, warm_start, options)?;
    if problem.is_empty() {
        return Ok(MilpSolution {
            nodes: Vec::new(),
            cost: 0.0,
            lower_bound: 0.0,
            proven_optimal: true,
            status: "optimal: no pods".to_string(),
        });
    }
    let mut pool = problem.pool(options)?;
    let warm = problem.warm_start_counts(&pool);
    let first = highs::solve(&problem, &pool, options, warm.as_deref())?;
    let found = Incumbent::new(&problem, &pool, first.counts)?;
    let mut best = Incumbent::better(found, Incumbent::new(&problem, &pool, warm)?);
    let mut outcome = (first.status, first.dual_bound);
    let mut lower_bound = pool.bound;
    let mut kind = "column generation";
    if pool.complete {
        kind = "every maximal pattern";
        lower_bound = lower_bound.max(outcome.1.unwrap_or(0.0));
    } else if let Some(incumbent) = best.as_ref().filter(|b| !proven(b.cost, lower_bound, options)) {
        // Reduced-cost enumeration: with every pattern that may beat the incumbent in the pool,
        // HiGHS's dual bound over the pool, capped at the incumbent's cost, holds for all.
        let cost = incumbent.cost;
        if let Some(listed) = pool.near_optimal(cost) {
            kind = "column generation and reduced-cost enumeration";
            if pool.extend(input, listed) > 0 {
                let mut start = incumbent.copies.clone();
                start.resize(pool.patterns.len(), 0);
                let second = highs::solve(&problem, &pool, options, Some(&start))?;
                let found = Incumbent::new(&problem, &pool, second.counts)?;
                best = Incumbent::better(found, best.map(|b| b.resized(pool.patterns.len())));
                outcome = (second.status, second.dual_bound);
            }
            if let Some(dual) = outcome.1 {
                lower_bound = lower_bound.max(dual.min(cost));
            }
        }
    }
    let Some(Incumbent { nodes, cost, .. }) = best else {
        return Err(MilpError::NoSolution { status: outcome.0 });
    };
    let lower_bound = problem.round_up_to_price_unit(lower_bound).min(cost).max(0.0);
    let proven_optimal = proven(cost, lower_bound, options);
    let verdict = if proven_optimal { "optimal" } else { "feasible" };
    let status = format!("{verdict}: HiGHS {} over {} patterns ({kind})", outcome.0, pool.patterns.len());
    Ok(MilpSolution { nodes, cost, lower_bound, proven_optimal, status })
}

/// `cost ≤ lower_bound · (1 + relative_gap)`, up to rounding.
fn proven(cost: f64, lower_bound: f64, options: &MilpOptions) -> bool {
    cost <= lower_bound * (1.0 + options.relative_gap) + PROOF_SLACK * cost.abs()
}

/// A solution: copies per pool pattern, and its nodes with the surplus removed.
struct Incumbent {
    copies: Vec<u64>,
    nodes: Vec<(usize, Vec<(usize, u64)>)>,
    cost: f64,
}

impl Incumbent {
    fn new(
        problem: &prepare::Problem<'_>,
        pool: &prepare::Pool,
        copies: Option<Vec<u64>>,
    ) -> Result<Option<Incumbent>, MilpError> {
        let Some(copies) = copies else { return Ok(None) };
        let nodes = repair::nodes(problem, pool, &copies)?;
        let cost = nodes.iter().map(|(t, _)| problem.input.node_types[*t].price).sum();
        Ok(Some(Incumbent { copies, nodes, cost }))
    }

    /// The cheaper of two (the first on a tie).
    fn better(a: Option<Incumbent>, b: Option<Incumbent>) -> Option<Incumbent> {
        match (a, b) {
            (Some(a), Some(b)) => Some(if b.cost < a.cost { b } else { a }),
            (a, b) => a.or(b),
        }
    }

    /// The same, over a pool grown to `patterns`.
    fn resized(mut self, patterns: usize) -> Incumbent {
        self.copies.resize(patterns, 0);
        self
    }
}

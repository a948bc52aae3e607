//! Gilmore–Gomory column generation with dual smoothing and a Farley bound every round.
//!
//! Each round solves the restricted master, then prices every type at a mix of the master's
//! row prices and the best prices seen so far (Wentges smoothing: the "stability centre",
//! starting from the resource-volume prices when given). Every pricing yields a valid bound
//! (see the [module documentation](super)); the best is kept and becomes the new centre. When
//! the mixed prices find no column that improves the master ("mispricing"), the round prices at
//! the master's own prices and the mix leans less on the centre from then on.
//!
//! The same loop serves the pattern MILP ([`crate::milp`]): there the master also has the
//! caller's limit rows `Σ_t L_rt n_t ≤ max_r` (`L ≥ 0`), priced by `μ_r ≥ 0` that count against
//! every pattern of a type by `Σ_r μ_r L_rt`; Farley's bound then reads
//! `(Σ_c π_c count_c + Σ_T σ_T N(T) − Σ_r μ_r max_r) / ρ`, a lower bound on the cheapest
//! solution within the limits. An artificial column per class (one pod for a high price) keeps
//! that master feasible whatever the limits, and the patterns it held are returned as the pool.

use super::knapsack::{self, Aim, Item};
use super::prepare::{copies_fitting, Instance, NodeType, FIT_SLACK};
use super::seed;
use super::volume::{Prices, ROUNDING_MARGIN};
use super::{Bound, BoundMethod, Effort};
use crate::lp::{Options, Problem, Relation, Simplex, Status};
use std::collections::BTreeSet;

/// A pattern prices out when its value exceeds its type's price by this fraction.
const PRICING_TOLERANCE: f64 = 1e-9;
/// The bound is proven (the LP optimum, to this relative precision) when it reaches the
/// master's objective within this fraction.
const PROOF_TOLERANCE: f64 = 1e-6;
/// When no pattern prices out but the knapsack bounds leave the LP unproven, the node budget
/// grows fourfold per round, up to this multiple of [`Effort::knapsack_nodes`].
const MAX_BUDGET_GROWTH: usize = 16;
/// Weight of the stability centre in the prices used for pricing.
const SMOOTHING: f64 = 0.5;

/// A pattern found by pricing: its type and `(class, count)` pairs.
struct Pattern {
    ratio: f64,
    node_type: usize,
    counts: Vec<(usize, f64)>,
}

/// The outcome of pricing every type at some prices.
struct Pricing {
    /// Largest (over-estimated) pattern value to price ratio, over the types of unlimited
    /// count.
    rho: f64,
    patterns: Vec<Pattern>,
    /// Per type of at most so many nodes: the type, and (an upper bound on) its best pattern's
    /// value before its own limit row's charge.
    own: Vec<(usize, f64)>,
}

impl Pricing {
    /// Farley's bound at `prices` and the dual-feasible prices proving it: everything divided
    /// by `ρ` (1 when no type is priced above 0), the own row of a type of at most `u` nodes
    /// priced at what its best pattern is then worth beyond its price. `None` when not positive.
    fn farley(&self, instance: &Instance, prices: &Prices) -> Option<(f64, Prices)> {
        let rho = if self.rho > 0.0 { self.rho } else { 1.0 };
        let mut certificate = prices.scaled(1.0 / rho);
        for &(t, value) in &self.own {
            let ty = &instance.types[t];
            certificate.limits[ty.own_row?] = (value / rho - ty.price).max(0.0);
        }
        let value = dual_value(instance, &certificate);
        (value.is_finite() && value > 0.0).then_some((value, certificate))
    }
}

/// A pattern of the master: a type and its `(class, count)` pairs (class ascending, counts > 0),
/// in [`Instance`] indices.
pub(super) type PoolPattern = (usize, Vec<(usize, u64)>);

/// What a column generation leaves.
pub(super) struct Generated {
    pub bound: Bound,
    /// Every pattern the master held, in the order they came in.
    pub patterns: Vec<PoolPattern>,
    /// Per pattern of `patterns`, its nodes in the master's last solution (solved once more
    /// after the last columns came in); empty unless asked for.
    pub usage: Vec<f64>,
    /// Dual-feasible prices over all patterns (no pattern is worth more than its type's price)
    /// whose [`dual_value`] is the bound before its rounding margin; `None` when the bound is 0
    /// for want of any.
    pub certificate: Option<Prices>,
}

/// Column generation from `start` (a valid bound and the dual-feasible prices that prove it),
/// if any.
pub(super) fn bound(instance: &Instance, effort: &Effort, start: Option<(f64, Prices)>) -> Bound {
    generate(instance, effort, start, false, Aim::Bound, f64::NEG_INFINITY).bound
}

/// Column generation from `start`, keeping its patterns and the prices of its best bound, and
/// with `usage` the master's solution; its knapsacks search with `aim`. It stops once the
/// master's optimum is at or below `beat` (no bound it could still find passes it; the
/// caller knows when that holds, [`super::lower_bound_beyond`]).
pub(super) fn generate(
    instance: &Instance,
    effort: &Effort,
    start: Option<(f64, Prices)>,
    usage: bool,
    aim: Aim,
    beat: f64,
) -> Generated {
    let mut out = Bound {
        value: 0.0,
        method: BoundMethod::ColumnGeneration,
        iterations: 0,
        proven: false,
        uncovered_classes: instance.uncovered.clone(),
        input_error: None,
    };
    if instance.classes.is_empty() {
        out.proven = true;
        return Generated { bound: out, patterns: Vec::new(), usage: Vec::new(), certificate: None };
    }
    let (mut best, mut centre) = match start {
        Some((value, prices)) => (value, Some(prices)),
        None => (0.0, None),
    };
    let mut certificate = centre.clone();
    out.value = best;
    let stop = |out: Bound, patterns: Vec<PoolPattern>, certificate: Option<Prices>| Generated {
        bound: out,
        patterns,
        usage: Vec::new(),
        certificate,
    };
    // Rows: one per class (its pods are covered), then one per type set (its node count), then
    // one per limit.
    let mut problem = Problem::new();
    let demands = instance.classes.iter().map(|c| c.count).chain(instance.sets.iter().map(|s| s.nodes));
    let rows = demands
        .map(|rhs| (Relation::GreaterEqual, rhs))
        .chain(instance.limits.iter().map(|&max| (Relation::LessEqual, max)));
    for (relation, rhs) in rows {
        if problem.add_row(relation, rhs).is_err() {
            return stop(out, Vec::new(), certificate);
        }
    }
    let mut master = Master { instance, seen: BTreeSet::new(), order: Vec::new(), column_of: Vec::new(), columns: 0 };
    // One pod of a class (when there are limits) or one node of a set that confines no class
    // (a branch's floor, [`super::branch`]) for more than any node costs: the master stays
    // feasible whatever the limits and floors, and these columns are no patterns.
    let n = instance.classes.len();
    let classes = if instance.limits.is_empty() { 0..0 } else { 0..n };
    let floors = instance.sets.iter().enumerate().filter(|(_, s)| s.classes.is_empty()).map(|(s, _)| n + s);
    let dearest = instance.types.iter().map(|t| t.price).fold(0.0f64, f64::max);
    for row in classes.chain(floors) {
        if problem.add_column(2.0 * dearest + 1.0, f64::INFINITY, &[(row, 1.0)]).is_err() {
            return stop(out, Vec::new(), certificate);
        }
    }
    let mut initial = initial_patterns(instance);
    // The nodes of a greedy packing, pods valued at the starting prices (or by size).
    let values: Vec<f64> = match &centre {
        Some(c) if c.classes.iter().any(|&v| v > 0.0) => c.classes.clone(),
        _ => instance.classes.iter().map(|c| c.demand.iter().sum::<f64>().max(f64::MIN_POSITIVE)).collect(),
    };
    initial.extend(crate::profile::phase("column generation: seed", || seed::patterns(instance, &values)));
    for (t, counts) in initial {
        if master.admit(t, &counts) {
            let (cost, entries) = master.column(t, &counts);
            match problem.add_column(cost, f64::INFINITY, &entries) {
                Ok(j) => master.column_of.push(Some(j)),
                Err(_) => return stop(out, master.order, certificate),
            }
        }
    }
    let mut simplex = Simplex::new(&problem, &Options::default());
    let fitting = Fitting::of(instance);
    let mut budget = effort.knapsack_nodes;
    let mut smoothing = if centre.is_some() { SMOOTHING } else { 0.0 };
    for round in 1..=effort.max_iterations {
        out.iterations = round;
        let solution = crate::profile::phase("column generation: master LP", || simplex.solve());
        let optimal = solution.status == Status::Optimal;
        let reached = |best: f64| best >= solution.objective - PROOF_TOLERANCE * solution.objective.abs().max(1.0);
        if optimal && reached(best) {
            out.proven = true;
            break;
        }
        if optimal && solution.objective <= beat {
            break;
        }
        let own = prices_from(instance, &solution.duals);
        let mut weight = smoothing;
        let mut added = 0;
        loop {
            let prices = match &centre {
                Some(c) if weight > 0.0 => mix(c, &own, weight),
                _ => own.clone(),
            };
            let pricing = crate::profile::phase("column generation: pricing", || {
                price(instance, &fitting, &prices, budget, 1.0 + PRICING_TOLERANCE, aim)
            });
            if let Some((value, proof)) = pricing.farley(instance, &prices).filter(|(value, _)| *value > best) {
                best = value;
                certificate = Some(proof);
                centre = Some(prices);
            }
            for pattern in pricing.patterns {
                if master.columns >= effort.max_columns {
                    break;
                }
                if master.reduced_cost(&own, pattern.node_type, &pattern.counts) >= -PRICING_TOLERANCE
                    || !master.admit(pattern.node_type, &pattern.counts)
                {
                    continue;
                }
                let (cost, entries) = master.column(pattern.node_type, &pattern.counts);
                let j = simplex.add_column(cost, f64::INFINITY, &entries).ok();
                master.column_of.push(j);
                added += usize::from(j.is_some());
            }
            if added > 0 || weight == 0.0 {
                break;
            }
            // Mispricing: nothing improves the master at the mixed prices.
            weight = 0.0;
            smoothing = if smoothing > 0.1 { smoothing / 2.0 } else { 0.0 };
        }
        if optimal && reached(best) {
            out.proven = true;
            break;
        }
        if added == 0 {
            // Nothing prices out even at the master's prices, yet the bound falls short: the
            // knapsacks were cut short, so search deeper (or stop).
            if budget >= effort.knapsack_nodes.saturating_mul(MAX_BUDGET_GROWTH) || master.columns >= effort.max_columns
            {
                break;
            }
            budget = budget.saturating_mul(4);
        }
    }
    out.value = best * (1.0 - ROUNDING_MARGIN);
    let used = if usage {
        let solution = simplex.solve();
        let x = |j: usize| solution.x.get(j).copied().filter(|v| solution.feasible && v.is_finite()).unwrap_or(0.0);
        master.column_of.iter().map(|j| j.map_or(0.0, x)).collect()
    } else {
        Vec::new()
    };
    Generated { usage: used, ..stop(out, master.order, certificate) }
}

/// Per class, the type with the lowest price per pod when filled with that class alone.
fn initial_patterns(instance: &Instance) -> Vec<(usize, Vec<(usize, f64)>)> {
    let mut initial = Vec::new();
    for (c, class) in instance.classes.iter().enumerate() {
        let mut best: Option<(f64, usize, f64)> = None;
        for &t in &class.types {
            let ty = &instance.types[t];
            let copies = copies_fitting(&class.demand, &ty.capacity, class.most_per_node());
            if copies >= 1.0 {
                let per_pod = ty.price / copies;
                if best.is_none_or(|(b, _, _)| per_pod < b) {
                    best = Some((per_pod, t, copies));
                }
            }
        }
        if let Some((_, t, copies)) = best {
            initial.push((t, vec![(c, copies)]));
        }
    }
    initial
}

/// The master's row prices, made non-negative (limit rows' negated), with the rows a free type
/// could serve worth nothing (so no type is priced above its cost by them).
fn prices_from(instance: &Instance, duals: &[f64]) -> Prices {
    let clean = |v: f64| if v.is_finite() { v.max(0.0) } else { 0.0 };
    let (n, m) = (instance.classes.len(), instance.sets.len());
    let mut prices = Prices {
        classes: duals.iter().take(n).map(|&v| clean(v)).collect(),
        sets: duals.iter().skip(n).take(m).map(|&v| clean(v)).collect(),
        limits: duals.iter().skip(n + m).take(instance.limits.len()).map(|&v| clean(-v)).collect(),
    };
    prices.classes.resize(n, 0.0);
    prices.sets.resize(m, 0.0);
    prices.limits.resize(instance.limits.len(), 0.0);
    for ty in instance.types.iter().filter(|t| t.price <= 0.0 && t.own_row.is_none()) {
        ty.hosts.iter().for_each(|&c| prices.classes[c] = 0.0);
        ty.sets.iter().for_each(|&s| prices.sets[s] = 0.0);
    }
    prices
}

/// `weight · centre + (1 − weight) · own`.
fn mix(centre: &Prices, own: &Prices, weight: f64) -> Prices {
    let blend = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| weight * x + (1.0 - weight) * y).collect();
    Prices {
        classes: blend(&centre.classes, &own.classes),
        sets: blend(&centre.sets, &own.sets),
        limits: blend(&centre.limits, &own.limits),
    }
}

/// `Σ_c π_c count_c + Σ_T σ_T N(T) − Σ_r μ_r max_r`.
pub(super) fn dual_value(instance: &Instance, prices: &Prices) -> f64 {
    instance.classes.iter().zip(&prices.classes).map(|(c, p)| c.count * p).sum::<f64>()
        + instance.sets.iter().zip(&prices.sets).map(|(s, p)| s.nodes * p).sum::<f64>()
        - instance.limits.iter().zip(&prices.limits).map(|(max, p)| max * p).sum::<f64>()
}

/// What a node of type `ty` is worth at `prices` before its pods: its sets' prices less its
/// limit rows' charges.
pub(super) fn fixed_value(ty: &NodeType, prices: &Prices) -> f64 {
    ty.sets.iter().map(|&s| prices.sets[s]).sum::<f64>()
        - ty.limits.iter().map(|&(r, a)| prices.limits[r] * a).sum::<f64>()
}

/// Per type, per class it hosts (in the order of [`NodeType::hosts`]): how many of the class's
/// pods one node of it holds at most. The same every round, so found once.
struct Fitting(Vec<Vec<f64>>);

impl Fitting {
    fn of(instance: &Instance) -> Self {
        let per_type = |ty: &NodeType| {
            let most = |c: usize| {
                let class = &instance.classes[c];
                copies_fitting(&class.demand, &ty.capacity, class.most_per_node())
            };
            ty.hosts.iter().map(|&c| most(c)).collect()
        };
        Fitting(instance.types.iter().map(per_type).collect())
    }
}

/// Prices every type: the best pattern of each worth more than `worth` times its price, and
/// `ρ`, the largest ratio of (an upper bound on) a pattern's value to its type's price.
fn price(instance: &Instance, fitting: &Fitting, prices: &Prices, budget: usize, worth: f64, aim: Aim) -> Pricing {
    let mut rho = 0.0f64;
    let mut patterns = Vec::new();
    let mut own = Vec::new();
    let mut density = vec![0.0f64; instance.dimensions];
    for (t, ty) in instance.types.iter().enumerate() {
        if ty.price <= 0.0 && ty.own_row.is_none() {
            continue;
        }
        let fixed = fixed_value(ty, prices);
        let threshold = worth * ty.price - fixed;
        // First a bound that needs no knapsack: per dimension, the room times the most value
        // per unit of it among the classes the type hosts. Most types stop here.
        let quick = quick_upper(instance, ty, prices, &mut density);
        if quick <= threshold {
            match ty.own_row {
                Some(row) => own.push((t, fixed + prices.limits[row] + quick.max(0.0))),
                None => rho = rho.max((fixed + quick.max(0.0)) / ty.price),
            }
            continue;
        }
        let items: Vec<Item> = ty
            .hosts
            .iter()
            .zip(&fitting.0[t])
            .filter(|&(&c, &limit)| prices.classes[c] > 0.0 && limit >= 1.0)
            .map(|(&c, &limit)| Item { class: c, value: prices.classes[c], demand: &instance.classes[c].demand, limit })
            .collect();
        let answer = knapsack::maximise(&ty.capacity, items, threshold, budget, aim);
        match ty.own_row {
            Some(row) => own.push((t, fixed + prices.limits[row] + answer.upper.max(0.0))),
            None => rho = rho.max((fixed + answer.upper.max(0.0)) / ty.price),
        }
        for (value, counts) in answer.patterns {
            let ratio = if ty.price > 0.0 { (fixed + value) / ty.price } else { f64::INFINITY };
            patterns.push(Pattern { ratio, node_type: t, counts });
        }
    }
    // Best ratio first; ties by type.
    patterns.sort_by(|a, b| b.ratio.total_cmp(&a.ratio).then(a.node_type.cmp(&b.node_type)));
    Pricing { rho, patterns, own }
}

/// An upper bound on the value of a pattern of `ty` at `prices`: the least, over the
/// dimensions, of the room (with the fit test's slack) times the most value per unit of it a
/// class the type hosts packs (infinite when some such class asks nothing of every dimension).
/// `density` is scratch space, one per dimension.
fn quick_upper(instance: &Instance, ty: &NodeType, prices: &Prices, density: &mut [f64]) -> f64 {
    density.iter_mut().for_each(|d| *d = 0.0);
    for &c in &ty.hosts {
        let value = prices.classes[c];
        if value <= 0.0 {
            continue;
        }
        for (d, &need) in density.iter_mut().zip(&instance.classes[c].demand) {
            *d = d.max(if need > 0.0 { value / need } else { f64::INFINITY });
        }
    }
    let room = |cap: f64| cap + FIT_SLACK * cap.max(1.0);
    ty.capacity
        .iter()
        .zip(density.iter())
        .map(|(&cap, &d)| if d > 0.0 { room(cap) * d } else { 0.0 })
        .fold(f64::INFINITY, f64::min)
}

/// Bookkeeping of the master's columns.
struct Master<'a> {
    instance: &'a Instance,
    /// Patterns already in, as (type, [(class, count)]) with counts as integers.
    seen: BTreeSet<PoolPattern>,
    /// The same, in the order they came in (pairs sorted by class, zero counts left out).
    order: Vec<PoolPattern>,
    /// Per pattern of `order`, its column in the master (`None` when the master refused it).
    column_of: Vec<Option<usize>>,
    columns: usize,
}

impl Master<'_> {
    /// Records a pattern; false when it is already in.
    fn admit(&mut self, t: usize, counts: &[(usize, f64)]) -> bool {
        let key = (t, counts.iter().map(|&(c, a)| (c, a as u64)).collect());
        let new = self.seen.insert(key);
        if new {
            self.columns += 1;
            let mut pattern: Vec<(usize, u64)> =
                counts.iter().filter(|&&(_, a)| a >= 1.0).map(|&(c, a)| (c, a as u64)).collect();
            pattern.sort_unstable();
            self.order.push((t, pattern));
        }
        new
    }

    /// Cost and master entries of a pattern: its counts on class rows, 1 on each set row of
    /// its type, its type's coefficients on the limit rows.
    fn column(&self, t: usize, counts: &[(usize, f64)]) -> (f64, Vec<(usize, f64)>) {
        let n_classes = self.instance.classes.len();
        let limit_row = n_classes + self.instance.sets.len();
        let ty = &self.instance.types[t];
        let mut entries: Vec<(usize, f64)> = counts.iter().copied().filter(|&(_, a)| a > 0.0).collect();
        entries.extend(ty.sets.iter().map(|&s| (n_classes + s, 1.0)));
        entries.extend(ty.limits.iter().map(|&(r, a)| (limit_row + r, a)));
        (ty.price, entries)
    }

    /// Price of a pattern minus its value at `prices`, relative to the price.
    fn reduced_cost(&self, prices: &Prices, t: usize, counts: &[(usize, f64)]) -> f64 {
        let ty = &self.instance.types[t];
        let value: f64 = counts.iter().map(|&(c, a)| prices.classes[c] * a).sum::<f64>() + fixed_value(ty, prices);
        (ty.price - value) / ty.price.max(f64::MIN_POSITIVE)
    }
}

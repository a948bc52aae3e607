//! The resource-volume LP: volume, node-count and big-pod rows over fractional node counts.

use super::prepare::Instance;
use super::{Bound, BoundMethod};
use crate::lp::{Options, Problem, Relation, Status};

/// Guards the final value against rounding in its own evaluation (sums of a few hundred terms).
pub(super) const ROUNDING_MARGIN: f64 = 1e-12;

/// A `≥` row over the node-count variables: what it stands for, `(type, coefficient)` pairs
/// and the right-hand side.
#[derive(Debug, Clone)]
pub(super) struct Row {
    kind: RowKind,
    pub entries: Vec<(usize, f64)>,
    pub rhs: f64,
}

#[derive(Debug, Clone, Copy)]
enum RowKind {
    /// Volume of a type set in one dimension.
    Volume {
        set: usize,
        dimension: usize,
    },
    /// Node count of a type set.
    Count {
        set: usize,
    },
    Clique {
        clique: usize,
    },
    /// A branch's floor on a node count ([`super::whole`]).
    Floor,
}

impl Row {
    /// `Σ_{t ∈ types} n_t ≥ floor`.
    pub fn floor(types: Vec<usize>, floor: f64) -> Row {
        Row { kind: RowKind::Floor, entries: types.into_iter().map(|t| (t, 1.0)).collect(), rhs: floor }
    }
}

/// Prices of the pattern master's rows (per class, per type set): the column-generation dual
/// that the resource-volume dual amounts to.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Prices {
    pub classes: Vec<f64>,
    pub sets: Vec<f64>,
    /// Per limit row, the negated price of its `≤` row (so `≥ 0`); the resource-volume LP has
    /// no limit rows and leaves them at 0.
    pub limits: Vec<f64>,
}

impl Prices {
    /// Every price times `factor`.
    pub fn scaled(&self, factor: f64) -> Prices {
        let times = |v: &[f64]| v.iter().map(|x| x * factor).collect();
        Prices { classes: times(&self.classes), sets: times(&self.sets), limits: times(&self.limits) }
    }
}

/// The resource-volume bound, with the (safe) row prices it rests on, translated to the
/// pattern master: a class is worth its demand at the volume rows' prices plus the prices of
/// the big-pod rows it is in, a type set its node-count row's price. Any pattern of a type
/// is then worth at most that type's price, so these prices are dual feasible for the
/// master too and give the same value.
pub(super) fn bound(instance: &Instance) -> (Bound, Option<Prices>) {
    let mut out = Bound {
        value: 0.0,
        method: BoundMethod::ResourceVolume,
        iterations: 0,
        proven: true,
        uncovered_classes: instance.uncovered.clone(),
        input_error: None,
    };
    if instance.classes.is_empty() {
        return (out, None);
    }
    let rows = rows(instance);
    let mut problem = Problem::new();
    let mut columns: Vec<Vec<(usize, f64)>> = vec![Vec::new(); instance.types.len()];
    for (i, row) in rows.iter().enumerate() {
        // Right-hand sides are finite sums of finite inputs; an overflow to ∞ has no usable row.
        if problem.add_row(Relation::GreaterEqual, row.rhs).is_err() {
            return (Bound { proven: false, ..out }, None);
        }
        for &(t, a) in &row.entries {
            columns[t].push((i, a));
        }
    }
    for (t, entries) in columns.iter().enumerate() {
        if problem.add_column(instance.types[t].price, instance.most_nodes(t), entries).is_err() {
            return (Bound { proven: false, ..out }, None);
        }
    }
    let solution = problem.solve(&Options::default());
    out.iterations = solution.iterations;
    out.proven = solution.status == Status::Optimal;
    let costs: Vec<f64> = instance.types.iter().map(|t| t.price).collect();
    let most: Vec<f64> = (0..instance.types.len()).map(|t| instance.most_nodes(t)).collect();
    let (value, y, excess) = safe_duals(&rows, &costs, &most, &solution.duals);
    out.value = value;
    let mut prices = Prices {
        classes: vec![0.0; instance.classes.len()],
        sets: vec![0.0; instance.sets.len()],
        limits: vec![0.0; instance.limits.len()],
    };
    for (ty, &z) in instance.types.iter().zip(&excess) {
        if let Some(r) = ty.own_row {
            prices.limits[r] = z;
        }
    }
    for (row, &yi) in rows.iter().zip(&y) {
        if yi <= 0.0 {
            continue;
        }
        match row.kind {
            RowKind::Volume { set, dimension } => {
                for &c in &instance.sets[set].classes {
                    prices.classes[c] += yi * instance.classes[c].demand[dimension];
                }
            }
            RowKind::Count { set } => prices.sets[set] += yi,
            RowKind::Clique { clique } => {
                for &c in &instance.cliques[clique].classes {
                    prices.classes[c] += yi;
                }
            }
            RowKind::Floor => {}
        }
    }
    (out, Some(prices))
}

/// The rows, in a fixed order: per type set its volume rows then its node-count row, then the
/// big-pod cliques.
pub(super) fn rows(instance: &Instance) -> Vec<Row> {
    let mut rows = Vec::new();
    for (s, set) in instance.sets.iter().enumerate() {
        for k in 0..instance.dimensions {
            if set.demand[k] > 0.0 {
                let entries = set
                    .types
                    .iter()
                    .map(|&t| (t, instance.types[t].capacity[k]))
                    .filter(|&(_, cap)| cap > 0.0)
                    .collect();
                rows.push(Row { kind: RowKind::Volume { set: s, dimension: k }, entries, rhs: set.demand[k] });
            }
        }
        let entries = set.types.iter().map(|&t| (t, 1.0)).collect();
        rows.push(Row { kind: RowKind::Count { set: s }, entries, rhs: set.nodes });
    }
    for (q, clique) in instance.cliques.iter().enumerate() {
        let entries = clique.types.iter().map(|&t| (t, 1.0)).collect();
        rows.push(Row { kind: RowKind::Clique { clique: q }, entries, rhs: clique.pods });
    }
    rows
}

/// `bᵀy / ρ − Σ_t u_t z_t` for the LP's row prices `y` made dual feasible: negative prices
/// clipped, rows touching a free type of unlimited count zeroed, then everything divided by
/// `ρ = max_t (Aᵀy)_t / p_t` over the types of unlimited count so that none is priced above its
/// cost; a type of at most `u_t` nodes may be, by `z_t = max(0, (Aᵀy)_t / ρ − p_t)` (the price
/// of its upper bound in the dual). Valid whatever the solver returned. Returns the value, the
/// feasible row prices and the `z_t`.
pub(super) fn safe_duals(rows: &[Row], costs: &[f64], most: &[f64], duals: &[f64]) -> (f64, Vec<f64>, Vec<f64>) {
    let mut y: Vec<f64> = duals.iter().map(|&v| if v.is_finite() { v.max(0.0) } else { 0.0 }).collect();
    y.resize(rows.len(), 0.0);
    let unlimited = |t: usize| most[t] == f64::INFINITY;
    for (i, row) in rows.iter().enumerate() {
        if row.entries.iter().any(|&(t, _)| costs[t] <= 0.0 && unlimited(t)) {
            y[i] = 0.0;
        }
    }
    let mut load = vec![0.0; costs.len()];
    let mut value = 0.0;
    for (row, &yi) in rows.iter().zip(&y) {
        if yi > 0.0 {
            value += yi * row.rhs;
            for &(t, a) in &row.entries {
                load[t] += yi * a;
            }
        }
    }
    let rho =
        (0..costs.len()).filter(|&t| unlimited(t) && costs[t] > 0.0).map(|t| load[t] / costs[t]).fold(0.0f64, f64::max);
    // Any ρ at least that largest ratio is valid; with no priced type loaded, 1.
    let rho = if rho > 0.0 { rho } else { 1.0 };
    let excess: Vec<f64> =
        (0..costs.len()).map(|t| if unlimited(t) { 0.0 } else { (load[t] / rho - costs[t]).max(0.0) }).collect();
    let value = value / rho - excess.iter().zip(most).filter(|(&z, _)| z > 0.0).map(|(z, u)| z * u).sum::<f64>();
    if value > 0.0 && value.is_finite() {
        y.iter_mut().for_each(|v| *v /= rho);
        (value * (1.0 - ROUNDING_MARGIN), y, excess)
    } else {
        (0.0, vec![0.0; rows.len()], vec![0.0; costs.len()])
    }
}

//! The resource-volume rows over whole nodes: the same rows as [`super::volume`], with every
//! node count an integer, bounded by best-first branch and bound on the counts.
//!
//! Any solution's node counts are integers satisfying every row, so the integer optimum is
//! `≤ OPT`, and at least the LP's: on small inputs, where a node is a large share of the cost,
//! it is often much more (the pods need 0.75 of a large node's memory: the LP pays for 0.75 of
//! it, any solution for a whole node of some type). The value returned is the least, over the
//! subtrees not yet ruled out, of each one's LP bound made safe ([`super::volume::safe_duals`],
//! with the branches' floors as rows and their ceilings as the types' limits), so stopping
//! early (after [`WHOLE_NODES_LPS`] LPs) still leaves a valid bound. A subtree is ruled out only
//! when its ceilings leave some row short even with every type at its ceiling (the rows have no
//! negative coefficient, so that is exactly infeasibility); the solver's word is never taken
//! for it. The best-first search ([`best_first`]) also serves column generation over whole
//! node counts ([`super::branch`]).

use super::prepare::Instance;
use super::volume::{rows, safe_duals, Row};
use crate::lp::{Options, Problem, Relation, Status};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// LPs solved at most (one per subtree looked at).
pub(super) const WHOLE_NODES_LPS: usize = 200;
/// A count within this of an integer is taken as one for branching (the value never relies
/// on it).
const INTEGRAL: f64 = 1e-6;

/// What a floor or a ceiling counts: the nodes of one type, or all nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Count {
    Type(usize),
    Total,
}

/// Floors or ceilings: what each counts and its value, one per [`Count`] at most.
pub(super) type Limits = Vec<(Count, f64)>;

/// A subtree of a branch and bound on node counts: its floors and ceilings (only those that
/// differ from `0` and the types' limits), its relaxation's valid value, the counts per type
/// its relaxation's solution uses (all `0` when there is none: it is then not branched on),
/// and what its children may start from.
pub(super) struct Subtree<P = ()> {
    pub value: f64,
    /// Order of creation, breaking ties (so the search is the same everywhere).
    order: usize,
    pub floors: Limits,
    pub ceilings: Limits,
    pub x: Vec<f64>,
    pub start: P,
}

impl<P> Subtree<P> {
    pub fn new(value: f64, floors: Limits, ceilings: Limits, x: Vec<f64>, start: P) -> Self {
        Subtree { value, order: 0, floors, ceilings, x, start }
    }
}

impl<P> PartialEq for Subtree<P> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<P> Eq for Subtree<P> {}
impl<P> PartialOrd for Subtree<P> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<P> Ord for Subtree<P> {
    /// The heap's top is the least value (then the first made).
    fn cmp(&self, other: &Self) -> Ordering {
        other.value.total_cmp(&self.value).then(other.order.cmp(&self.order))
    }
}

/// The integer resource-volume bound, starting from `lp` (the LP's own value, a valid bound
/// of the root), and the LPs it solved. `None` when it has nothing to say (no rows, no integer
/// solution at all), or nothing above `beat`: the root's counts rounded up meet every row
/// within the types' limits for at most `beat`, so the integer optimum is no more than that.
pub(super) fn bound(instance: &Instance, lp: f64, beat: f64) -> Option<(f64, usize)> {
    let base = tightened(rows(instance));
    if base.is_empty() || instance.types.is_empty() {
        return None;
    }
    let costs: Vec<f64> = instance.types.iter().map(|t| t.price).collect();
    let most: Vec<f64> = (0..instance.types.len()).map(|t| instance.most_nodes(t)).collect();
    let mut root = Some(solve(&base, &costs, &most, Vec::new(), Vec::new(), lp)?);
    if root.as_ref().and_then(|r| rounded_up(&base, &costs, &most, &r.x)).is_some_and(|cost| cost <= beat) {
        return None;
    }
    best_first(&costs, WHOLE_NODES_LPS, false, |floors, ceilings, parent| match parent {
        None => root.take(),
        Some(p) => solve(&base, &costs, &most, floors, ceilings, p.value),
    })
}

/// The cost of the counts `x` rounded up, when that is a solution: within the limits `most`
/// and meeting every row (checked here, not taken from the solver).
fn rounded_up(rows: &[Row], costs: &[f64], most: &[f64], x: &[f64]) -> Option<f64> {
    let counts: Vec<f64> = x.iter().map(|&v| (v - INTEGRAL).ceil().max(0.0)).collect();
    let within = counts.iter().zip(most).all(|(c, m)| c <= m);
    let meets = rows.iter().all(|row| row.entries.iter().map(|&(t, a)| a * counts[t]).sum::<f64>() >= row.rhs);
    (within && meets && counts.len() == costs.len()).then(|| counts.iter().zip(costs).map(|(c, p)| c * p).sum())
}

/// Best-first branch and bound on the node counts of the types (of prices `costs`): `solve`
/// bounds the subtree with these floors and ceilings (given its parent, `None` for the root),
/// or rules it out (`None`: no solution in it). Branches the open subtree of least value on
/// the total count of its solution when that is fractional and `total` allows, else on the
/// type count it makes most fractional, weighted by price, until that subtree's counts are
/// whole or `max_solves` subtrees were solved. Returns the least value
/// of the open subtrees (a lower bound over all of them, so over every solution) and the
/// subtrees solved; `None` when every subtree is ruled out.
pub(super) fn best_first<P>(
    costs: &[f64],
    max_solves: usize,
    total: bool,
    mut solve: impl FnMut(Limits, Limits, Option<&Subtree<P>>) -> Option<Subtree<P>>,
) -> Option<(f64, usize)> {
    let mut heap = BinaryHeap::new();
    let mut root = solve(Vec::new(), Vec::new(), None)?;
    root.order = 0;
    heap.push(root);
    let mut solved = 1;
    while let Some(top) = heap.peek() {
        let sum: f64 = top.x.iter().sum();
        let on = if total && (sum - sum.round()).abs() > INTEGRAL {
            Some((Count::Total, sum))
        } else {
            branching(&top.x, costs).map(|t| (Count::Type(t), top.x[t]))
        };
        let Some((on, v)) = on else {
            // Integral: no subtree left can do better than this one's value.
            return Some((top.value, solved));
        };
        if solved + 2 > max_solves {
            return Some((top.value, solved));
        }
        let node = heap.pop()?;
        let with = |limits: &Limits, value: f64| {
            let mut out = limits.clone();
            out.retain(|&(c, _)| c != on);
            out.push((on, value));
            out
        };
        let (ceiling, floor) = (|c: &Limits| with(c, v.floor()), |f: &Limits| with(f, v.ceil()));
        let children = [(node.floors.clone(), ceiling(&node.ceilings)), (floor(&node.floors), node.ceilings.clone())];
        for (floors, ceilings) in children {
            solved += 1;
            if let Some(mut child) = solve(floors, ceilings, Some(&node)) {
                child.value = child.value.max(node.value);
                child.order = solved;
                heap.push(child);
            }
        }
    }
    // Every subtree ruled out: no integer solution at all, so nothing is cheaper than ∞; the
    // caller keeps its own bound.
    None
}

/// The rows with every coefficient above its right-hand side lowered to it. Valid for whole
/// nodes: a node with such a coefficient meets its row alone, as before, and without one every
/// other coefficient is what it was (no coefficient is negative). The LPs over them say more:
/// pods needing a tenth of a large node's memory pay for a whole smaller node, not for a tenth
/// of the large one.
fn tightened(mut rows: Vec<Row>) -> Vec<Row> {
    for row in &mut rows {
        let rhs = row.rhs;
        row.entries.iter_mut().for_each(|(_, a)| *a = a.min(rhs));
    }
    rows
}

/// The type to branch on: the most fractional count weighted by price (ties to the lower
/// index); `None` when every count is an integer.
fn branching(x: &[f64], costs: &[f64]) -> Option<usize> {
    let mut best: Option<(f64, usize)> = None;
    for (t, (&v, &p)) in x.iter().zip(costs).enumerate() {
        let off = (v - v.round()).abs();
        if off <= INTEGRAL {
            continue;
        }
        let score = (v - v.floor()).min(v.ceil() - v) * p.max(f64::MIN_POSITIVE);
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, t));
        }
    }
    best.map(|(_, t)| t)
}

/// The subtree with these floors and ceilings: `None` when ruled out (some row short with every
/// type at its ceiling, or a floor above a ceiling); its value never below `parent`, the
/// parent's (valid for every subtree of it).
fn solve(base: &[Row], costs: &[f64], most: &[f64], floors: Limits, ceilings: Limits, parent: f64) -> Option<Subtree> {
    // (A ceiling on all nodes is left out: a relaxation. This search never makes one.)
    let mut upper = most.to_vec();
    for &(c, most) in &ceilings {
        if let Count::Type(t) = c {
            upper[t] = upper[t].min(most);
        }
    }
    let mut all: Vec<Row> = Vec::with_capacity(base.len() + floors.len());
    all.extend(base.iter().cloned());
    for &(c, floor) in &floors {
        match c {
            Count::Type(t) => all.push(Row::floor(vec![t], floor)),
            Count::Total => all.push(Row::floor((0..costs.len()).collect(), floor)),
        }
    }
    let short = |row: &Row| row.entries.iter().map(|&(t, a)| a * upper[t]).sum::<f64>() < row.rhs;
    if all.iter().any(short) {
        return None;
    }
    // Without an LP solution the subtree is bounded by its parent's value alone, and not
    // branched on (an all-zero count reads as integral).
    let unsolved = |floors, ceilings| Subtree::new(parent, floors, ceilings, vec![0.0; costs.len()], ());
    let mut problem = Problem::new();
    let mut columns: Vec<Vec<(usize, f64)>> = vec![Vec::new(); costs.len()];
    for (i, row) in all.iter().enumerate() {
        if problem.add_row(Relation::GreaterEqual, row.rhs).is_err() {
            return Some(unsolved(floors, ceilings));
        }
        for &(t, a) in &row.entries {
            columns[t].push((i, a));
        }
    }
    for (t, entries) in columns.iter().enumerate() {
        if problem.add_column(costs[t], upper[t], entries).is_err() {
            return Some(unsolved(floors, ceilings));
        }
    }
    let solution = problem.solve(&Options::default());
    if solution.status != Status::Optimal || solution.x.len() != costs.len() {
        return Some(unsolved(floors, ceilings));
    }
    let (value, _, _) = safe_duals(&all, costs, &upper, &solution.duals);
    Some(Subtree::new(value.max(parent), floors, ceilings, solution.x, ()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coefficients_above_the_right_hand_side_are_lowered_to_it() {
        // 50 GiB needed; a 256 GiB node meets it alone (50 counts), a 32 GiB one does not.
        let mut row = Row::floor(vec![0], 50.0);
        row.entries = vec![(0, 256.0), (1, 32.0), (2, 50.0)];
        let rows = tightened(vec![row]);
        assert_eq!(rows[0].entries, vec![(0, 50.0), (1, 32.0), (2, 50.0)]);
        assert_eq!(rows[0].rhs, 50.0);
    }

    #[test]
    fn counts_rounded_up_are_a_solution_only_within_limits_and_rows() {
        // 10 CPUs: 2.5 nodes of 4 CPUs (price 1) round up to 3 for 3.
        let mut row = Row::floor(vec![0], 10.0);
        row.entries = vec![(0, 4.0), (1, 8.0)];
        let rows = vec![row];
        assert_eq!(rounded_up(&rows, &[1.0, 3.0], &[f64::INFINITY; 2], &[2.5, 0.0]), Some(3.0));
        // Past a type's limit of 2 nodes, not a solution.
        assert_eq!(rounded_up(&rows, &[1.0, 3.0], &[2.0, f64::INFINITY], &[2.5, 0.0]), None);
        // Counts that fall short of a row even rounded up, not a solution.
        assert_eq!(rounded_up(&rows, &[1.0, 3.0], &[f64::INFINITY; 2], &[1.5, 0.0]), None);
    }
}

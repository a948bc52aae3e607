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
//! for it.

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

/// A subtree: per type, its floor and ceiling on the node count (only those that differ from
/// `0` and the type's limit), and its LP's safe value and solution.
struct Subtree {
    value: f64,
    /// Order of creation, breaking ties (so the search is the same everywhere).
    order: usize,
    floors: Vec<(usize, f64)>,
    ceilings: Vec<(usize, f64)>,
    x: Vec<f64>,
}

impl PartialEq for Subtree {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Subtree {}
impl PartialOrd for Subtree {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Subtree {
    /// The heap's top is the least value (then the first made).
    fn cmp(&self, other: &Self) -> Ordering {
        other.value.total_cmp(&self.value).then(other.order.cmp(&self.order))
    }
}

/// The integer resource-volume bound, starting from `lp` (the LP's own value, a valid bound
/// of the root), and the LPs it solved. `None` when it has nothing to say (no rows, no integer
/// solution at all).
pub(super) fn bound(instance: &Instance, lp: f64) -> Option<(f64, usize)> {
    let base = tightened(rows(instance));
    if base.is_empty() || instance.types.is_empty() {
        return None;
    }
    let costs: Vec<f64> = instance.types.iter().map(|t| t.price).collect();
    let most: Vec<f64> = (0..instance.types.len()).map(|t| instance.most_nodes(t)).collect();
    let mut heap = BinaryHeap::new();
    let mut made = 0;
    let root = solve(&base, &costs, &most, Vec::new(), Vec::new(), lp, &mut made)?;
    heap.push(root);
    let mut solved = 1;
    while let Some(top) = heap.peek() {
        let Some(t) = branching(&top.x, &costs) else {
            // Integral: no subtree left can do better than this one's value.
            return Some((top.value, solved));
        };
        if solved + 2 > WHOLE_NODES_LPS {
            return Some((top.value, solved));
        }
        let node = heap.pop()?;
        let v = node.x[t];
        let ceiling = |ceilings: &[(usize, f64)]| {
            let mut c = ceilings.to_vec();
            c.retain(|&(u, _)| u != t);
            c.push((t, v.floor()));
            c
        };
        let floor = |floors: &[(usize, f64)]| {
            let mut f = floors.to_vec();
            f.retain(|&(u, _)| u != t);
            f.push((t, v.ceil()));
            f
        };
        let children = [(node.floors.clone(), ceiling(&node.ceilings)), (floor(&node.floors), node.ceilings.clone())];
        for (floors, ceilings) in children {
            solved += 1;
            if let Some(child) = solve(&base, &costs, &most, floors, ceilings, node.value, &mut made) {
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
fn solve(
    base: &[Row],
    costs: &[f64],
    most: &[f64],
    floors: Vec<(usize, f64)>,
    ceilings: Vec<(usize, f64)>,
    parent: f64,
    made: &mut usize,
) -> Option<Subtree> {
    let mut upper = most.to_vec();
    for &(t, c) in &ceilings {
        upper[t] = upper[t].min(c);
    }
    if floors.iter().any(|&(t, f)| f > upper[t]) {
        return None;
    }
    let mut all: Vec<Row> = Vec::with_capacity(base.len() + floors.len());
    all.extend(base.iter().cloned());
    all.extend(floors.iter().map(|&(t, f)| Row::floor(t, f)));
    let short = |row: &Row| row.entries.iter().map(|&(t, a)| a * upper[t]).sum::<f64>() < row.rhs;
    if all.iter().any(short) {
        return None;
    }
    *made += 1;
    // Without an LP solution the subtree is bounded by its parent's value alone, and not
    // branched on (an all-zero count reads as integral).
    let unsolved =
        |floors, ceilings| Subtree { value: parent, order: *made, floors, ceilings, x: vec![0.0; costs.len()] };
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
    Some(Subtree { value: value.max(parent), order: *made, floors, ceilings, x: solution.x })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coefficients_above_the_right_hand_side_are_lowered_to_it() {
        // 50 GiB needed; a 256 GiB node meets it alone (50 counts), a 32 GiB one does not.
        let mut row = Row::floor(0, 50.0);
        row.entries = vec![(0, 256.0), (1, 32.0), (2, 50.0)];
        let rows = tightened(vec![row]);
        assert_eq!(rows[0].entries, vec![(0, 50.0), (1, 32.0), (2, 50.0)]);
        assert_eq!(rows[0].rhs, 50.0);
    }
}

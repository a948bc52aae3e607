//! From copies of patterns to the nodes of a solution, each class holding exactly its count.
//!
//! Patterns may hold more pods than are left, so some classes end up with a surplus. It is
//! removed deterministically: first whole nodes holding nothing but surplus (the dearest
//! first, then the last in order), then pods from the last nodes backwards; nodes left empty
//! are closed. Removing pods or nodes keeps every capacity and (coefficients being `≥ 0`)
//! every limit, and never raises the cost.

use super::prepare::{Pattern, Pool, Problem};
use super::{MilpError, MAX_NODES};

/// The nodes of `copies` of the pool's patterns, sorted by type then pairs.
pub(super) fn nodes(problem: &Problem<'_>, pool: &Pool, copies: &[u64]) -> Result<Vec<Pattern>, MilpError> {
    let total = copies.iter().fold(0u64, |sum, &n| sum.saturating_add(n));
    if total > MAX_NODES {
        return Err(MilpError::TooManyNodes { nodes: total, max: MAX_NODES });
    }
    let classes = &problem.input.classes;
    let mut nodes: Vec<Pattern> = Vec::new();
    for (pattern, &n) in pool.patterns.iter().zip(copies) {
        for _ in 0..n {
            nodes.push(pattern.clone());
        }
    }
    nodes.sort();
    let mut surplus: Vec<i128> = classes.iter().map(|c| -i128::from(c.count)).collect();
    for (_, counts) in &nodes {
        for &(c, a) in counts {
            surplus[c] += i128::from(a);
        }
    }
    if let Some(class) = surplus.iter().position(|&s| s < 0) {
        return Err(MilpError::Solver(format!("the solution leaves pods of classes[{class}] out")));
    }
    // Whole nodes of surplus, dearest first, then last first.
    let price = |t: usize| problem.input.node_types[t].price;
    let mut order: Vec<usize> = (0..nodes.len()).collect();
    order.sort_by(|&a, &b| price(nodes[b].0).total_cmp(&price(nodes[a].0)).then(b.cmp(&a)));
    let mut closed = vec![false; nodes.len()];
    for i in order {
        if nodes[i].1.iter().all(|&(c, a)| i128::from(a) <= surplus[c]) {
            for &(c, a) in &nodes[i].1 {
                surplus[c] -= i128::from(a);
            }
            closed[i] = true;
        }
    }
    // Then single pods, from the last node backwards.
    for i in (0..nodes.len()).rev() {
        if closed[i] {
            continue;
        }
        for (c, a) in nodes[i].1.iter_mut() {
            let take = surplus[*c].min(i128::from(*a));
            if take > 0 {
                *a -= take as u64;
                surplus[*c] -= take;
            }
        }
        nodes[i].1.retain(|&(_, a)| a > 0);
        closed[i] = nodes[i].1.is_empty();
    }
    let mut kept: Vec<Pattern> = nodes.into_iter().zip(closed).filter(|(_, gone)| !gone).map(|(n, _)| n).collect();
    kept.sort();
    Ok(kept)
}

//! `consolidationPolicy: Balanced` (Karpenter v1.14): a consolidation move is made only when,
//! for every Balanced NodePool it touches, its share of the NodePool's cost saved is at least
//! half its share of the NodePool's disruption: `(savings / pool cost) / (disruption / pool
//! disruption) ≥ 1/k` with k = 2. A node's disruption is 1 plus the positive eviction costs of
//! the pods it would move; a move's savings are split between NodePools by the price of their
//! candidates.

use super::guards::{eviction_cost, NodeFacts};
use crate::filter::FilterContext;
use crate::model::{ConsolidationPolicy, Pod};

/// Karpenter's `BalancedK`: a move passes at a score of 1/k.
const K: f64 = 2.0;

/// A node's disruption under Balanced scoring: 1, plus each movable pod's eviction cost when
/// positive (Karpenter's `RescheduleDisruptionCost`).
fn node_disruption(facts: &NodeFacts, pods: &[Pod]) -> f64 {
    1.0 + facts.movable.iter().map(|&p| eviction_cost(&pods[p]).max(0.0)).sum::<f64>()
}

/// Why the Balanced NodePools among `candidates` refuse a move saving `savings` per hour;
/// `None` when they allow it (or none of them is Balanced).
pub(super) fn refuses(
    ctx: &FilterContext,
    facts: &[NodeFacts],
    pods: &[Pod],
    candidates: &[usize],
    savings: f64,
) -> Option<String> {
    let source_cost: f64 = candidates.iter().filter_map(|&n| facts[n].price).sum();
    let mut pools: Vec<usize> = candidates.iter().filter_map(|&n| facts[n].pool).collect();
    pools.sort_unstable();
    pools.dedup();
    for &pool in &pools {
        let nodepool = &ctx.pools[pool].nodepool;
        if nodepool.disruption.consolidation_policy != ConsolidationPolicy::Balanced {
            continue;
        }
        let in_pool = |n: &usize| facts[*n].pool == Some(pool);
        let total_cost: f64 = (0..facts.len()).filter(in_pool).filter_map(|n| facts[n].price).sum();
        let total_disruption: f64 = (0..facts.len()).filter(in_pool).map(|n| node_disruption(&facts[n], pods)).sum();
        if total_cost <= 0.0 || total_disruption <= 0.0 {
            continue;
        }
        let pool_cost: f64 = candidates.iter().filter(|n| in_pool(n)).filter_map(|&n| facts[n].price).sum();
        let pool_savings =
            if pools.len() > 1 && source_cost > 0.0 { savings * pool_cost / source_cost } else { savings };
        let disruption: f64 = candidates.iter().filter(|n| in_pool(n)).map(|&n| node_disruption(&facts[n], pods)).sum();
        let (saved, disrupted) = (pool_savings / total_cost, disruption / total_disruption);
        let score = if saved <= 0.0 {
            0.0
        } else if disrupted == 0.0 {
            f64::INFINITY
        } else {
            saved / disrupted
        };
        if score < 1.0 / K {
            return Some(format!(
                "NodePool {} is Balanced: the move saves {:.1}% of its cost for {:.1}% of its disruption \
                 (score {score:.2}, below {:.2})",
                nodepool.name,
                saved * 100.0,
                disrupted * 100.0,
                1.0 / K
            ));
        }
    }
    None
}

//! Column generation over whole node counts: the pattern master's bound, branched on the number
//! of nodes of each type (branch and price, with the counts per type as the branching
//! variables).
//!
//! A subtree has floors `n_t ≥ f_t` and ceilings `n_t ≤ u_t` on some types' node counts; its
//! instance is the input's with a type set `{t}` of `N = f_t` nodes per floor (a node-count row
//! `Σ_{p: t(p)=t} λ_p ≥ f_t`) and a limit row of the type's own per ceiling (lowering the limit
//! of a type that has one). Every solution of the subtree satisfies those rows, so the
//! subtree's column-generation bound (Farley's, valid however early it stops) bounds every
//! solution in it; the least over the open subtrees bounds every solution ([`super::whole`]'s
//! best-first search). Where the master's node counts are fractional — the LP buys 1.4 nodes of
//! the type cheapest per GiB, any solution one or two — the two children cost more, and the
//! bound rises towards the cheapest packing into whole nodes.
//!
//! A child starts from its parent's proving prices, the new row priced 0: every pattern is worth
//! what it was, so they stay dual feasible, and they are worth at least the parent's value (a
//! floor only rises, a ceiling only falls, and their prices are `≥ 0`). So no child is below its
//! parent, and each starts where its parent's column generation ended.

use super::columns::{self, dual_value, Generated};
use super::knapsack::Aim;
use super::prepare::{Instance, TypeSet};
use super::volume::Prices;
use super::whole::{best_first, Count, Limits, Subtree};
use super::Effort;

/// Subtrees solved at most (each a column generation).
const MAX_SUBTREES: usize = 200;
/// Column-generation rounds of all subtrees together, times the instance's classes × types:
/// the search's effort, counted in rounds so that the bound is the same on every machine
/// (about 0.1–0.3 s on one core).
const ROUND_CELLS: usize = 300_000;

/// The bound over whole node counts, from the root's column generation (`root`, with its
/// usage) and the subtrees it solved; `None` when it has nothing to say (no proving prices).
pub(super) fn bound(instance: &Instance, effort: &Effort, root: &Generated) -> Option<(f64, usize)> {
    let costs: Vec<f64> = instance.types.iter().map(|t| t.price).collect();
    let mut root = Some(root);
    let mut rounds = ROUND_CELLS / (instance.classes.len() * instance.types.len()).max(1);
    best_first(&costs, MAX_SUBTREES, true, |floors, ceilings, parent| {
        let Some(parent) = parent else {
            let root = root.take()?;
            let x = per_type(instance, root);
            let certificate = root.certificate.clone()?;
            return Some(Subtree::new(root.bound.value, floors, ceilings, x, Some(certificate)));
        };
        let restricted = Restricted::new(instance, &floors, &ceilings);
        if restricted.empty() {
            return None;
        }
        if rounds == 0 {
            // Out of effort: bounded by its parent alone, and not branched on (which ends the
            // search when it comes to the top).
            let x = vec![0.0; costs.len()];
            return Some(Subtree::new(parent.value, floors, ceilings, x, None));
        }
        let start = parent.start.as_ref().map(|prices| {
            let prices = restricted.carried(&Restricted::new(instance, &parent.floors, &parent.ceilings), prices);
            (dual_value(&restricted.instance, &prices), prices)
        });
        let effort = Effort { max_iterations: effort.max_iterations.min(rounds), ..effort.clone() };
        let generated = columns::generate(&restricted.instance, &effort, start, true, Aim::Bound, f64::NEG_INFINITY);
        rounds -= generated.bound.iterations.min(rounds);
        let x = per_type(&restricted.instance, &generated);
        Some(Subtree::new(generated.bound.value, floors, ceilings, x, generated.certificate))
    })
}

/// Per type, its nodes in the master's last solution.
fn per_type(instance: &Instance, generated: &Generated) -> Vec<f64> {
    let mut x = vec![0.0; instance.types.len()];
    for ((t, _), &nodes) in generated.patterns.iter().zip(&generated.usage) {
        x[*t] += nodes;
    }
    x
}

/// The instance of a subtree, and where its floors' and ceilings' rows are.
struct Restricted {
    instance: Instance,
    /// Per floor, in order: what it counts and its set's index.
    floor_sets: Vec<(Count, usize)>,
    /// Per ceiling, in order: what it counts and its limit row's index.
    ceiling_rows: Vec<(Count, usize)>,
    /// The input instance's sets and limit rows (those come first, in the same order).
    base: (usize, usize),
}

impl Restricted {
    fn new(instance: &Instance, floors: &Limits, ceilings: &Limits) -> Restricted {
        let mut out = instance.clone();
        let base = (out.sets.len(), out.limits.len());
        let all: Vec<usize> = (0..out.types.len()).collect();
        let types = |count: Count| match count {
            Count::Type(t) => vec![t],
            Count::Total => all.clone(),
        };
        let mut floor_sets = Vec::with_capacity(floors.len());
        for &(count, nodes) in floors {
            let set = out.sets.len();
            let types = types(count);
            for &t in &types {
                out.types[t].sets.push(set);
            }
            out.sets.push(TypeSet { types, classes: Vec::new(), demand: vec![0.0; out.dimensions], nodes });
            floor_sets.push((count, set));
        }
        let mut ceiling_rows = Vec::with_capacity(ceilings.len());
        for &(count, most) in ceilings {
            let row = match count {
                Count::Type(t) if out.types[t].own_row.is_some() => {
                    let row = out.types[t].own_row.unwrap_or_default();
                    out.limits[row] = out.limits[row].min(most);
                    row
                }
                _ => {
                    let row = out.limits.len();
                    out.limits.push(most);
                    for t in types(count) {
                        out.types[t].limits.push((row, 1.0));
                        if count != Count::Total {
                            out.types[t].own_row = Some(row);
                        }
                    }
                    row
                }
            };
            ceiling_rows.push((count, row));
        }
        Restricted { instance: out, floor_sets, ceiling_rows, base }
    }

    /// Whether a floor is above the ceiling on the same count (no solution in the subtree).
    fn empty(&self) -> bool {
        self.floor_sets.iter().any(|&(count, set)| {
            let nodes = self.instance.sets[set].nodes;
            match count {
                Count::Type(t) => nodes > self.instance.most_nodes(t),
                Count::Total => {
                    self.ceiling_rows.iter().any(|&(c, row)| c == Count::Total && nodes > self.instance.limits[row])
                }
            }
        })
    }

    /// `prices`, proving `parent`'s bound, as prices of this instance's rows: the rows the two
    /// share (the input's, and the floor and ceiling rows on the same counts) keep their
    /// prices, new rows are priced 0.
    fn carried(&self, parent: &Restricted, prices: &Prices) -> Prices {
        let (sets, limits) = self.base;
        let mut out = Prices {
            classes: prices.classes.clone(),
            sets: prices.sets[..sets].to_vec(),
            limits: prices.limits[..limits].to_vec(),
        };
        out.sets.resize(self.instance.sets.len(), 0.0);
        out.limits.resize(self.instance.limits.len(), 0.0);
        for &(count, set) in &self.floor_sets {
            if let Some(&(_, was)) = parent.floor_sets.iter().find(|(c, _)| *c == count) {
                out.sets[set] = prices.sets[was];
            }
        }
        for &(count, row) in &self.ceiling_rows {
            if let Some(&(_, was)) = parent.ceiling_rows.iter().find(|(c, _)| *c == count) {
                out.limits[row] = prices.limits[was];
            }
        }
        out
    }
}

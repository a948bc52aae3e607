//! A greedy packing of every pod, whose nodes seed the column-generation master with good
//! patterns (and bound its objective from the first round by a real solution's cost).
//!
//! Classes go largest first; each pod goes to the first open node that may host it and has
//! room, else to a new node of the type whose greedy fill (this class, then the next ones it
//! hosts) holds the most value per unit of price, pods valued at the given prices.

use super::prepare::{copies_fitting, fits, Instance, FIT_SLACK};

/// How many classes after the current one a candidate type's trial fill looks at.
const LOOKAHEAD: usize = 40;
/// Nodes the packing opens at most; past that it stops (a seed need not cover every pod).
const MAX_NODES: usize = 5_000;
/// Types given a trial fill per new node at most, best upper bound first (a seed need not be
/// the best greedy packing; on the full catalog most types' bounds are loose).
const MAX_TRIALS: usize = 200;

/// The patterns `(type, [(class, count)])` of a greedy packing, valuing a pod of class `c` at
/// `values[c]`.
pub(super) fn patterns(instance: &Instance, values: &[f64]) -> Vec<(usize, Vec<(usize, f64)>)> {
    let dims = instance.dimensions;
    let largest: Vec<f64> =
        (0..dims).map(|k| instance.types.iter().map(|t| t.capacity[k]).fold(0.0f64, f64::max)).collect();
    let size = |c: usize| -> f64 {
        instance.classes[c].demand.iter().zip(&largest).map(|(d, m)| if *m > 0.0 { d / m } else { 0.0 }).sum()
    };
    let mut order: Vec<usize> = (0..instance.classes.len()).collect();
    order.sort_by(|&a, &b| size(b).total_cmp(&size(a)).then(a.cmp(&b)));
    let mut remaining: Vec<f64> = instance.classes.iter().map(|c| c.count).collect();
    let hosts = Hosts::of(instance);
    let mut open: Vec<OpenNode> = Vec::new();
    // Per type: nodes opened (a type of at most so many nodes opens no more).
    let mut opened = vec![0.0; instance.types.len()];
    // Per position of the order, per dimension: the least demand of the classes from there on.
    let mut least = vec![vec![f64::INFINITY; dims]; order.len() + 1];
    for p in (0..order.len()).rev() {
        let demand = &instance.classes[order[p]].demand;
        least[p] = least[p + 1].iter().zip(demand).map(|(a, b)| a.min(*b)).collect();
    }
    // The open nodes that may still take a pod: a node with less room in some dimension than
    // every class left asks never does.
    let mut active: Vec<usize> = Vec::new();
    for (position, &c) in order.iter().enumerate() {
        let class = &instance.classes[c];
        let floor = &least[position];
        active.retain(|&n| open[n].1.iter().zip(floor).all(|(&room, &f)| fits(f, room)));
        // Nodes already open, first fit.
        for &n in &active {
            let (t, room, counts) = &mut open[n];
            if remaining[c] <= 0.0 {
                break;
            }
            if !hosts.has(*t, c) {
                continue;
            }
            let there = counts.iter().find(|(k, _)| *k == c).map_or(0.0, |(_, n)| *n);
            let copies = copies_fitting(&class.demand, room, remaining[c].min(class.per_node - there));
            if copies >= 1.0 {
                take(room, counts, c, &class.demand, copies);
                remaining[c] -= copies;
            }
        }
        // New nodes, best value per price.
        // Per type of the class: its last trial, valid while the class's pods left are at
        // least the copies the trial took of it (only they change while this class opens nodes).
        let mut trials: Vec<Option<(f64, f64)>> = vec![None; class.types.len()];
        // Per type, a bound on its trial's score: its room times the most value a unit of each
        // dimension packs among the classes a trial looks at, over its price. Types are tried
        // best bound first, and the rest skipped once none can beat the best score.
        let upcoming = &order[position..(position + LOOKAHEAD).min(order.len())];
        let density: Vec<f64> = (0..dims)
            .map(|k| {
                let per_unit = |u: usize| {
                    let d = instance.classes[u].demand[k];
                    if d > 0.0 {
                        values[u] / d
                    } else {
                        f64::INFINITY
                    }
                };
                upcoming.iter().map(|&u| per_unit(u)).fold(0.0, f64::max)
            })
            .collect();
        let mut ranked: Vec<(f64, usize)> = class
            .types
            .iter()
            .enumerate()
            .map(|(k, &t)| {
                let ty = &instance.types[t];
                let worth = ty
                    .capacity
                    .iter()
                    .zip(&density)
                    .filter(|(_, d)| d.is_finite())
                    .map(|(&cap, &d)| (cap + FIT_SLACK * cap.max(1.0)) * d)
                    .fold(f64::INFINITY, f64::min);
                let bound = if ty.price > 0.0 { worth / ty.price * (1.0 + 1e-9) } else { f64::INFINITY };
                (bound, k)
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        while remaining[c] > 0.0 && open.len() < MAX_NODES {
            // The best score, the first type of the class's list among equals.
            let mut best: Option<(f64, usize, usize)> = None;
            for &(bound, k) in ranked.iter().take(MAX_TRIALS) {
                if best.is_some_and(|(s, _, _)| bound < s) {
                    break;
                }
                let t = class.types[k];
                if opened[t] >= instance.most_nodes(t) {
                    continue;
                }
                let score = match trials[k] {
                    Some((score, took)) if took <= remaining[c] => score,
                    _ => {
                        let fresh = trial(instance, &hosts, t, &order[position..], &remaining, values);
                        trials[k] = Some(fresh);
                        fresh.0
                    }
                };
                if best.is_none_or(|(s, first, _)| score > s || (score == s && k < first)) {
                    best = Some((score, k, t));
                }
            }
            let Some((_, _, t)) = best else { break };
            let mut room = instance.types[t].capacity.clone();
            let mut counts = Vec::new();
            let copies = copies_fitting(&class.demand, &room, remaining[c].min(class.per_node));
            if copies < 1.0 {
                break;
            }
            take(&mut room, &mut counts, c, &class.demand, copies);
            remaining[c] -= copies;
            opened[t] += 1.0;
            active.push(open.len());
            open.push((t, room, counts));
        }
    }
    open.into_iter()
        .map(|(t, _, mut counts)| {
            counts.sort_by_key(|&(c, _)| c);
            (t, counts)
        })
        .collect()
}

/// Which type hosts which class, a bit per pair (the packing asks for every open node and
/// every class of a trial).
struct Hosts {
    words: usize,
    bits: Vec<u64>,
}

impl Hosts {
    fn of(instance: &Instance) -> Self {
        let words = instance.classes.len().div_ceil(64);
        let mut bits = vec![0; words * instance.types.len()];
        for (t, ty) in instance.types.iter().enumerate() {
            for &c in &ty.hosts {
                bits[t * words + c / 64] |= 1 << (c % 64);
            }
        }
        Hosts { words, bits }
    }

    fn has(&self, t: usize, c: usize) -> bool {
        self.bits[t * self.words + c / 64] & (1 << (c % 64)) != 0
    }
}

/// A node of the packing: its type, remaining capacity and `(class, count)` pairs.
type OpenNode = (usize, Vec<f64>, Vec<(usize, f64)>);

fn take(room: &mut [f64], counts: &mut Vec<(usize, f64)>, class: usize, demand: &[f64], copies: f64) {
    for (r, d) in room.iter_mut().zip(demand) {
        *r -= copies * d;
    }
    match counts.iter_mut().find(|(c, _)| *c == class) {
        Some((_, n)) => *n += copies,
        None => counts.push((class, copies)),
    }
}

/// Value per unit of price of an empty node of type `t` filled greedily with the classes of
/// `upcoming` it hosts (the first one is the class being placed), and how many pods of that
/// class it took.
fn trial(
    instance: &Instance,
    hosts: &Hosts,
    t: usize,
    upcoming: &[usize],
    remaining: &[f64],
    values: &[f64],
) -> (f64, f64) {
    let ty = &instance.types[t];
    let mut room = ty.capacity.clone();
    let mut value = 0.0;
    let mut took = 0.0;
    for (position, &c) in upcoming.iter().take(LOOKAHEAD).enumerate() {
        if remaining[c] <= 0.0 || !hosts.has(t, c) {
            continue;
        }
        let class = &instance.classes[c];
        let copies = copies_fitting(&class.demand, &room, remaining[c].min(class.per_node));
        if copies >= 1.0 {
            for (r, d) in room.iter_mut().zip(&class.demand) {
                *r -= copies * d;
            }
            value += copies * values[c];
            if position == 0 {
                took = copies;
            }
        }
    }
    let score = if ty.price > 0.0 { value / ty.price } else { f64::INFINITY };
    (score, took)
}

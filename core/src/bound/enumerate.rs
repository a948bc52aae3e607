//! Maximal patterns, when there are few: a pattern is *maximal* when no pod of a class its
//! type hosts (with pods left over) fits in the room it leaves. Any node of a solution holds a
//! sub-pattern of some maximal pattern of its type, so:
//! - a covering MILP over *every* maximal pattern (rows `≥ count`) has the optimum of the
//!   problem; this is what lets the pattern MILP prove optimality on small instances;
//! - with dual-feasible prices of value `z` (every pattern's reduced cost `r_p ≥ 0`), any
//!   solution costs at least `z + Σ_nodes r_p`. Giving each node of a solution a maximal
//!   pattern of its type that contains its pods keeps the cost and lowers no reduced cost
//!   (prices are `≥ 0`), so a solution cheaper than `z + Δ` can be rebuilt from maximal
//!   patterns of reduced cost below `Δ` alone: listing just those (reduced-cost enumeration)
//!   makes a MILP over them exact below `z + Δ`.

use super::columns::{fixed_value, PoolPattern};
use super::prepare::{copies_fitting, fits, Instance};
use super::volume::Prices;

/// Which maximal patterns to list: all, or those of reduced cost below a gap.
#[derive(Clone, Copy)]
pub(super) enum Filter<'a> {
    All,
    /// Reduced cost `price − fixed − Σ_c π_c a_c < gap` at these dual-feasible prices.
    Below {
        prices: &'a Prices,
        gap: f64,
    },
}

/// The maximal patterns of every type of `instance` that pass `filter`, or `None` when the
/// search would visit more than `max_visits` partial patterns or find more than
/// `max_patterns`.
pub(super) fn maximal_patterns(
    instance: &Instance,
    filter: Filter<'_>,
    max_visits: usize,
    max_patterns: usize,
) -> Option<Vec<PoolPattern>> {
    let mut search = Search { instance, visits: 0, max_visits, max_patterns, found: Vec::new(), class_prices: None };
    for (t, ty) in instance.types.iter().enumerate() {
        // The least value of the pods of a listed pattern (none: every pattern is listed).
        let needed = match filter {
            Filter::All => None,
            Filter::Below { prices, gap } => {
                search.class_prices = Some(&prices.classes);
                Some(ty.price - fixed_value(ty, prices) - gap)
            }
        };
        let mut counts = Vec::new();
        let load = vec![0.0; instance.dimensions];
        if !search.extend(t, 0, &load, 0.0, needed, &mut counts) {
            return None;
        }
    }
    Some(search.found)
}

struct Search<'a> {
    instance: &'a Instance,
    visits: usize,
    max_visits: usize,
    max_patterns: usize,
    found: Vec<PoolPattern>,
    /// Pod prices when filtering by reduced cost.
    class_prices: Option<&'a [f64]>,
}

impl Search<'_> {
    /// Chooses the count of the `position`-th class type `t` hosts, most first, on top of
    /// `load` (pods worth `value`), listing patterns worth more than `needed`; false when a
    /// limit is hit.
    fn extend(
        &mut self,
        t: usize,
        position: usize,
        load: &[f64],
        value: f64,
        needed: Option<f64>,
        counts: &mut Vec<(usize, u64)>,
    ) -> bool {
        self.visits += 1;
        if self.visits > self.max_visits {
            return false;
        }
        if let Some(needed) = needed {
            if value + self.value_bound(t, position, load) <= needed {
                return true;
            }
        }
        let hosts = &self.instance.types[t].hosts;
        let Some(&c) = hosts.get(position) else {
            if !counts.is_empty() && self.maximal(t, load, counts) {
                if self.found.len() >= self.max_patterns {
                    return false;
                }
                self.found.push((t, counts.clone()));
            }
            return true;
        };
        let class = &self.instance.classes[c];
        let price = self.class_prices.map_or(0.0, |p| p[c]);
        let capacity = &self.instance.types[t].capacity;
        let with = |a: u64| -> Vec<f64> { load.iter().zip(&class.demand).map(|(l, d)| l + a as f64 * d).collect() };
        let fit = |a: u64| with(a).iter().zip(capacity).all(|(&l, &cap)| fits(l, cap));
        // The room's copies, adjusted so that the node's total passes the fit test.
        let room: Vec<f64> = capacity.iter().zip(load).map(|(cap, l)| (cap - l).max(0.0)).collect();
        let mut most = copies_fitting(&class.demand, &room, class.most_per_node()) as u64;
        while (most as f64) < class.most_per_node() && fit(most + 1) {
            most += 1;
        }
        while most > 0 && !fit(most) {
            most -= 1;
        }
        for a in (0..=most).rev() {
            let going = if a == 0 {
                self.extend(t, position + 1, load, value, needed, counts)
            } else {
                counts.push((c, a));
                let going = self.extend(t, position + 1, &with(a), value + a as f64 * price, needed, counts);
                counts.pop();
                going
            };
            if !going {
                return false;
            }
        }
        true
    }

    /// An upper bound on the value the classes from `position` on can add on top of `load`:
    /// per dimension, the fractional knapsack over that dimension alone (Dantzig's bound: pods
    /// by value per unit of demand, each class up to its count, the last one cut); the least
    /// of these.
    fn value_bound(&self, t: usize, position: usize, load: &[f64]) -> f64 {
        let Some(prices) = self.class_prices else { return f64::INFINITY };
        let ty = &self.instance.types[t];
        let rest: Vec<usize> =
            ty.hosts[position.min(ty.hosts.len())..].iter().copied().filter(|&c| prices[c] > 0.0).collect();
        let mut bound: f64 = rest.iter().map(|&c| prices[c] * self.instance.classes[c].count).sum();
        for (k, (&cap, &l)) in ty.capacity.iter().zip(load).enumerate() {
            let mut room = (cap - l).max(0.0) + super::prepare::FIT_SLACK * cap.max(1.0);
            let mut value = 0.0;
            let mut sized: Vec<(f64, usize)> = Vec::with_capacity(rest.len());
            for &c in &rest {
                let class = &self.instance.classes[c];
                match class.demand[k] {
                    d if d > 0.0 => sized.push((prices[c] / d, c)),
                    _ => value += prices[c] * class.count,
                }
            }
            sized.sort_by(|a, b| b.0.total_cmp(&a.0));
            for (density, c) in sized {
                let class = &self.instance.classes[c];
                let whole = class.count * class.demand[k];
                if whole <= room {
                    value += prices[c] * class.count;
                    room -= whole;
                } else {
                    value += density * room;
                    break;
                }
            }
            bound = bound.min(value);
        }
        bound * (1.0 + 1e-9) + 1e-12
    }

    /// Whether no pod of a class `t` hosts with pods to spare fits on top of `load`.
    fn maximal(&self, t: usize, load: &[f64], counts: &[(usize, u64)]) -> bool {
        let capacity = &self.instance.types[t].capacity;
        self.instance.types[t].hosts.iter().all(|&c| {
            let class = &self.instance.classes[c];
            let used = counts.iter().find(|&&(k, _)| k == c).map_or(0, |&(_, a)| a);
            used as f64 >= class.count
                || !class.demand.iter().zip(load).zip(capacity).all(|((&d, &l), &cap)| fits(l + d, cap))
        })
    }
}

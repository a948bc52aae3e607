//! Pricing for column generation: the most valuable set of pods one node holds, a bounded
//! multi-dimensional knapsack, by depth-first branch and bound (most copies first, items in
//! decreasing value per LP-weighted size).
//!
//! Every bound is a relaxation, so an upper bound is always valid:
//! - surrogates: a non-negative weighting `w` of the dimensions turns the capacity rows into one,
//!   `Σ_c a_c (w·d_c) ≤ w·C`, whose fractional optimum (with the per-class limits: Dantzig's
//!   bound) bounds the knapsack. The weightings are each dimension alone, their normalised sum,
//!   and the multipliers of the knapsack's LP relaxation (solved with [`crate::lp`]);
//! - the Lagrangian bound for those multipliers, `w·C + Σ_c limit_c · max(0, π_c − w·d_c)`,
//!   which is the LP bound at the root whatever the LP solver's accuracy;
//! - inside the tree the same, on the remaining items and capacity;
//! - for a bound ([`Aim::Bound`]) with large items (at most two copies fit), below each choice
//!   of their copies the Lagrangian bound of the small items for the multipliers of their LP
//!   relaxation within the room that choice leaves (valid for any non-negative multipliers).
//!
//! When the node budget runs out, the largest bound of the unexplored subtrees is returned as
//! the upper bound, so a caller always gets a valid over-estimate of the optimum. All
//! capacities get the slack of the fit test ([`super::prepare::fits`]), which errs towards
//! fitting.

use super::prepare::{floor, FIT_SLACK};
use crate::lp::{Options, Problem, Relation};

/// Patterns returned per knapsack: the best few incumbents, so that a pricing round can add
/// more than one column per type.
const PATTERNS: usize = 3;
/// Choices of the large items' copies enumerated at most (see `Search::large_first`): each costs
/// a bound of the root's kind; their LPs are solved only as the best bound needs.
const MAX_CHOICES: usize = 4096;
/// Children of one node searched at most (copy counts tried); the rest count as unexplored.
/// Keeps a node finite when copies run into the millions.
const MAX_BRANCHES: usize = 1_000;

/// A class as a knapsack item.
#[derive(Debug, Clone)]
pub(super) struct Item<'a> {
    /// The caller's class index, returned in patterns.
    pub class: usize,
    /// Value of one pod (its row price), > 0.
    pub value: f64,
    pub demand: &'a [f64],
    /// Most copies allowed (pods of the class, and what fits alone), ≥ 1.
    pub limit: f64,
}

/// What a caller of [`maximise`] wants most, which decides how it searches when some items
/// are large (at most two copies fit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Aim {
    /// Good patterns: depth first from the root.
    Patterns,
    /// Also a tight upper bound (Farley's bound divides by the loosest type's): every choice
    /// of the large items first, each bounded by the LP relaxation of the rest (see
    /// `Search::large_first`).
    Bound,
}

/// The outcome: the best pattern found and an upper bound on the optimum.
#[derive(Debug, Clone)]
pub(super) struct Answer {
    /// Value and `(class, count)` of the best patterns found that beat the threshold (up to
    /// [`PATTERNS`], the best first).
    pub patterns: Vec<(f64, Vec<(usize, f64)>)>,
    /// No pattern is worth more than this.
    pub upper: f64,
}

/// Maximises the pattern value over `items` within `capacity`. Only patterns worth more than
/// `threshold` are of interest: subtrees that cannot beat it are not searched (their bound
/// still counts in [`Answer::upper`]).
pub(super) fn maximise(capacity: &[f64], mut items: Vec<Item<'_>>, threshold: f64, budget: usize, aim: Aim) -> Answer {
    let dims = capacity.len();
    let scale: Vec<f64> = capacity.iter().map(|&c| if c > 0.0 { 1.0 / c } else { 0.0 }).collect();
    let size = |item: &Item<'_>| item.demand.iter().zip(&scale).map(|(d, s)| d * s).sum::<f64>();
    // Items using no capacity at all go in whole.
    let mut base_value = 0.0;
    let mut base: Vec<(usize, f64)> = Vec::new();
    items.retain(|item| {
        if size(item) > 0.0 {
            return true;
        }
        base_value += item.value * item.limit;
        base.push((item.class, item.limit));
        false
    });
    // Room per dimension as the fit test sees it (a little more than the capacity).
    let room: Vec<f64> = capacity.iter().map(|&c| c + FIT_SLACK * c.max(1.0)).collect();
    // Surrogate weightings: each dimension with capacity alone, all of them together, and
    // (below) the LP multipliers. The cheap ones first: they often settle it.
    let mut weights: Vec<Vec<f64>> = (0..dims)
        .filter(|&k| scale[k] > 0.0)
        .map(|k| (0..dims).map(|j| if j == k { scale[k] } else { 0.0 }).collect())
        .collect();
    if weights.len() > 1 {
        weights.push(scale.clone());
    }
    let cheap = base_value + root_bound(&items, &room, &weights);
    if cheap <= threshold {
        return Answer { patterns: Vec::new(), upper: cheap };
    }
    // Multipliers from the LP relaxation: they order the items and weigh the dimensions.
    let (multipliers, fractions) = lp_relaxation(&room, &items);
    let lagrangian_size = |item: &Item<'_>| item.demand.iter().zip(&multipliers).map(|(d, w)| d * w).sum::<f64>();
    // Most value per multiplier-weighted size first, then per normalised size; ties by class.
    let mut keyed: Vec<(f64, f64, Item<'_>, f64)> = items
        .into_iter()
        .zip(fractions)
        .map(|(item, x)| {
            let weighted = lagrangian_size(&item);
            let by_lp = if weighted > 0.0 { item.value / weighted } else { f64::INFINITY };
            (by_lp, item.value / size(&item), item, x)
        })
        .collect();
    // Items of which at most two copies fit come first: deciding them first leaves subtrees
    // whose bounds no longer count a fraction of a large item (the bound of a node holding
    // one large pod and many small ones is otherwise loose until the search runs out).
    let big = |item: &Item<'_>| item.demand.iter().zip(&room).any(|(d, r)| *d * 3.0 > *r);
    keyed.sort_by(|a, b| {
        big(&b.2).cmp(&big(&a.2)).then(b.0.total_cmp(&a.0)).then(b.1.total_cmp(&a.1)).then(a.2.class.cmp(&b.2.class))
    });
    let (items, fractions): (Vec<Item<'_>>, Vec<f64>) = keyed.into_iter().map(|(_, _, item, x)| (item, x)).unzip();
    let large = items.iter().take_while(|item| big(item)).count();
    if multipliers.iter().any(|&w| w > 0.0) {
        weights.push(multipliers.clone());
    }
    let n = items.len();
    // Lagrangian bound pieces: Σ_{j ≥ i} limit_j · max(0, value_j − w·d_j).
    let mut suffix_gain = vec![0.0; n + 1];
    for i in (0..n).rev() {
        suffix_gain[i] = suffix_gain[i + 1] + items[i].limit * (items[i].value - lagrangian_size(&items[i])).max(0.0);
    }
    let lagrangian = suffix_gain[0] + room.iter().zip(&multipliers).map(|(r, w)| r * w).sum::<f64>();
    let root = base_value + root_bound(&items, &room, &weights).min(lagrangian).min(cheap - base_value);
    if root <= threshold {
        return Answer { patterns: Vec::new(), upper: root };
    }
    let mut suffix_value = vec![0.0; n + 1];
    for i in (0..n).rev() {
        suffix_value[i] = suffix_value[i + 1] + items[i].value * items[i].limit;
    }
    let suffix_density: Vec<Vec<f64>> = weights
        .iter()
        .map(|w| {
            let mut out = vec![0.0f64; n + 1];
            for i in (0..n).rev() {
                let weighted: f64 = items[i].demand.iter().zip(w).map(|(d, w)| d * w).sum();
                let density = if weighted > 0.0 { items[i].value / weighted } else { f64::INFINITY };
                out[i] = out[i + 1].max(density);
            }
            out
        })
        .collect();
    let mut residual = vec![0.0; (n + 1) * dims];
    residual[..dims].copy_from_slice(capacity);
    let mut search = Search {
        items: &items,
        capacity,
        slack: room.iter().zip(capacity).map(|(r, c)| r - c).collect(),
        weights: &weights,
        multipliers: &multipliers,
        suffix_gain,
        weighted_size: items.iter().map(lagrangian_size).collect(),
        suffix_value,
        suffix_density,
        large,
        local: Vec::new(),
        local_gain: Vec::new(),
        residual,
        counts: vec![0.0; n],
        best_value: f64::NEG_INFINITY,
        found: Vec::new(),
        threshold,
        nodes: 0,
        budget,
        loose: f64::NEG_INFINITY,
    };
    // The LP's packing rounded down is the first incumbent: the search looks only for better.
    let (copies, value) = rounded_down(&items, &fractions, &room);
    if base_value + value > threshold {
        search.best_value = base_value + value;
        search.found.push((base_value + value, copies));
    }
    if aim == Aim::Patterns || search.large == 0 || !search.large_first(base_value) {
        search.dfs(0, base_value);
    }
    let upper = search.best_value.max(search.loose).min(root);
    let patterns = search
        .found
        .iter()
        .rev()
        .take(PATTERNS)
        .map(|(value, found)| {
            let mut counts = base.clone();
            counts.extend(items.iter().zip(found).filter(|(_, &a)| a > 0.0).map(|(item, &a)| (item.class, a)));
            counts.sort_by_key(|&(class, _)| class);
            (*value, counts)
        })
        .collect();
    Answer { patterns, upper }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The knapsack's LP relaxation (`max Σ value·a` over `0 ≤ a ≤ limit` within the room): the
/// non-negative multipliers of the capacity rows, and the copies of each item (zeros if it
/// cannot be solved). Any non-negative multipliers give valid bounds, so the LP's accuracy only
/// affects their strength; the copies only seed the search ([`rounded_down`]).
fn lp_relaxation(room: &[f64], items: &[Item<'_>]) -> (Vec<f64>, Vec<f64>) {
    let mut problem = Problem::new();
    let rows: Vec<usize> = (0..room.len()).filter(|&k| room[k] > 0.0).collect();
    let mut ok = rows.iter().all(|&k| problem.add_row(Relation::LessEqual, room[k]).is_ok());
    for item in items {
        let entries: Vec<(usize, f64)> = rows.iter().enumerate().map(|(r, &k)| (r, item.demand[k])).collect();
        ok &= problem.add_column(-item.value, item.limit, &entries).is_ok();
    }
    let mut multipliers = vec![0.0; room.len()];
    let mut copies = vec![0.0; items.len()];
    if ok {
        let solution = problem.solve(&Options::default());
        for (r, &k) in rows.iter().enumerate() {
            let w = -solution.duals[r];
            multipliers[k] = if w.is_finite() { w.max(0.0) } else { 0.0 };
        }
        if solution.feasible {
            for (a, &x) in copies.iter_mut().zip(&solution.x) {
                *a = if x.is_finite() { x.max(0.0) } else { 0.0 };
            }
        }
    }
    (multipliers, copies)
}

/// A packing near the LP's: its copies rounded down (clipped to what fits), then each item in
/// turn as many more times as fit. On a large node the LP leaves a few items fractional, so
/// this is close to the optimum where a depth-first search, deciding the first items' copies
/// first, would need many nodes to leave the greedy fill. Returns the copies and their value.
fn rounded_down(items: &[Item<'_>], fractions: &[f64], room: &[f64]) -> (Vec<f64>, f64) {
    let mut left = room.to_vec();
    let mut copies = vec![0.0; items.len()];
    let fit = |item: &Item<'_>, left: &[f64], want: f64| {
        item.demand.iter().zip(left).filter(|(d, _)| **d > 0.0).fold(want, |a, (d, l)| a.min(floor(l / d).max(0.0)))
    };
    for pass in 0..2 {
        for (j, item) in items.iter().enumerate() {
            let want = if pass == 0 { fractions[j].floor().min(item.limit) } else { item.limit - copies[j] };
            let a = fit(item, &left, want.max(0.0));
            if a > 0.0 {
                copies[j] += a;
                left.iter_mut().zip(item.demand).for_each(|(l, d)| *l -= a * d);
            }
        }
    }
    let value = items.iter().zip(&copies).map(|(item, a)| item.value * a).sum();
    (copies, value)
}

/// The smallest, over the weightings, of the fractional knapsack optimum with per-item limits;
/// never more than taking every item at its limit.
fn root_bound(items: &[Item<'_>], room: &[f64], weights: &[Vec<f64>]) -> f64 {
    let all: f64 = items.iter().map(|item| item.value * item.limit).sum();
    let mut bound = all;
    for w in weights {
        let room = dot(room, w);
        let mut free = 0.0;
        // (value per weighted size, weighted size of all copies, value of all copies)
        let mut keyed: Vec<(f64, f64, f64)> = Vec::with_capacity(items.len());
        for item in items {
            let weighted: f64 = item.demand.iter().zip(w).map(|(d, w)| d * w).sum();
            if weighted > 0.0 {
                keyed.push((item.value / weighted, weighted * item.limit, item.value * item.limit));
            } else {
                free += item.value * item.limit;
            }
        }
        // Any order of equal densities fills to the same value.
        keyed.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
        let mut left = room;
        let mut value = free;
        for (density, size, whole) in keyed {
            if size <= left {
                left -= size;
                value += whole;
            } else {
                value += density * left.max(0.0);
                break;
            }
        }
        bound = bound.min(value);
    }
    bound
}

/// The LP relaxation of the small items below a choice of the large ones: its multipliers,
/// their Lagrangian gains from each item on, and its copies of the small items.
struct Local {
    multipliers: Vec<f64>,
    gain: Vec<f64>,
    fractions: Vec<f64>,
}

struct Search<'a> {
    items: &'a [Item<'a>],
    capacity: &'a [f64],
    /// What the fit test allows beyond the capacity, per dimension.
    slack: Vec<f64>,
    weights: &'a [Vec<f64>],
    /// LP multipliers of the dimensions, and the Lagrangian gains of the items from `i` on.
    multipliers: &'a [f64],
    suffix_gain: Vec<f64>,
    /// `w·d` of one copy of each item, for the multipliers `w`.
    weighted_size: Vec<f64>,
    /// Value of every item from `i` on at its limit.
    suffix_value: Vec<f64>,
    /// Per weighting: the best value per weighted size among items from `i` on.
    suffix_density: Vec<Vec<f64>>,
    /// Items before this one are the large ones; each run is in decreasing value per
    /// multiplier-weighted size.
    large: usize,
    /// Below a choice of the large items: the multipliers of the LP relaxation of the rest
    /// within the room they leave, and their Lagrangian gains of the items from `i` on (empty
    /// above). The root's multipliers weigh a fraction of every large item, so once those are
    /// decided they misjudge which dimension binds.
    local: Vec<f64>,
    local_gain: Vec<f64>,
    /// Remaining capacity before deciding item `i`, at `i * dims`.
    residual: Vec<f64>,
    counts: Vec<f64>,
    best_value: f64,
    /// Every incumbent that beat the threshold, in the order found (so increasing value).
    found: Vec<(f64, Vec<f64>)>,
    threshold: f64,
    nodes: usize,
    budget: usize,
    /// The largest bound of a subtree left unsearched while it could beat the best found.
    loose: f64,
}

impl Search<'_> {
    /// What items from `i` on may still use, per dimension.
    fn room(&self, i: usize) -> Vec<f64> {
        let dims = self.capacity.len();
        self.room_of(&self.residual[i * dims..(i + 1) * dims])
    }

    /// What items may use of `residual` capacity, per dimension (the fit test's slack added).
    fn room_of(&self, residual: &[f64]) -> Vec<f64> {
        residual.iter().zip(&self.slack).map(|(r, s)| r.max(0.0) + s).collect()
    }

    /// The most copies of `item` that fit in `residual` capacity (with the fit test's slack),
    /// at most its limit.
    fn most_copies(&self, item: &Item<'_>, residual: &[f64]) -> f64 {
        let mut copies = item.limit;
        for ((&d, &r), &s) in item.demand.iter().zip(residual).zip(&self.slack) {
            if d > 0.0 {
                copies = copies.min(floor((r + s) / d).max(0.0));
            }
        }
        copies
    }

    fn bound(&self, i: usize, value: f64) -> f64 {
        let room = self.room(i);
        let mut bound = self.suffix_value[i];
        for (w, density) in self.weights.iter().zip(&self.suffix_density) {
            if density[i].is_finite() {
                bound = bound.min(density[i] * dot(&room, w));
            }
        }
        bound = bound.min(self.suffix_gain[i] + dot(&room, self.multipliers));
        if !self.local.is_empty() {
            bound = bound.min(self.local_gain[i] + dot(&room, &self.local));
        }
        value + bound.min(self.fractional_fill(i, dot(&room, self.multipliers)))
    }

    /// The multipliers of the LP relaxation of the small items within `room`, and their
    /// Lagrangian gains from each item on (see [`Search::local`]); `None` when they weigh
    /// nothing.
    fn local_multipliers(&self, room: &[f64]) -> Option<Local> {
        let (n, first) = (self.items.len(), self.large);
        if first == n {
            return None;
        }
        let (multipliers, fractions) = lp_relaxation(room, &self.items[first..]);
        if multipliers.iter().all(|&w| w <= 0.0) {
            return None;
        }
        let mut gain = vec![0.0; n + 1];
        for j in (first..n).rev() {
            let item = &self.items[j];
            gain[j] = gain[j + 1] + item.limit * (item.value - dot(item.demand, &multipliers)).max(0.0);
        }
        Some(Local { multipliers, gain, fractions })
    }

    /// The search when there are large items: every choice of their copies first (up to
    /// [`MAX_CHOICES`]; false, having searched nothing, past that), then the small items below
    /// the choices, best bound first. A choice's bound is the least of the root's bounds and
    /// the Lagrangian bounds of the small items within its room, for the multipliers of the
    /// small items' LP relaxation at the choices solved so far (the small items' term of such a
    /// bound is the same for every choice). The best choice is solved (its own LP) before it
    /// is searched or, once the budget runs out, counted in the upper bound: by nearly the
    /// small items' optimum there, rather than by the root's bound, which counts a fraction of
    /// every large item.
    fn large_first(&mut self, value: f64) -> bool {
        let (dims, first) = (self.capacity.len(), self.large);
        let mut choices: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::new();
        let mut counts = vec![0.0; first];
        let start = self.residual[..dims].to_vec();
        if !self.choices(0, value, start, &mut counts, &mut choices) {
            return false;
        }
        let rooms: Vec<Vec<f64>> = choices.iter().map(|(_, residual, _)| self.room_of(residual)).collect();
        let mut bounds: Vec<f64> = choices
            .iter()
            .map(|(_, residual, value)| {
                self.residual[first * dims..(first + 1) * dims].copy_from_slice(residual);
                self.bound(first, *value)
            })
            .collect();
        // Per choice: its own LP once solved (`Some(None)`: the small items all fit there).
        let mut solved: Vec<Option<Option<Local>>> = (0..choices.len()).map(|_| None).collect();
        let mut open = vec![true; choices.len()];
        loop {
            let best = (0..choices.len())
                .filter(|&k| open[k])
                .max_by(|&a, &b| bounds[a].total_cmp(&bounds[b]).then(b.cmp(&a)));
            let Some(k) = best else { break };
            let bound = bounds[k];
            if bound <= self.best_value.max(self.threshold) {
                // Every choice left is bounded by this one's bound.
                if bound > self.best_value {
                    self.loose = self.loose.max(bound);
                }
                break;
            }
            if solved[k].is_none() {
                let local = self.local_multipliers(&rooms[k]);
                if let Some(local) = &local {
                    let gain = local.gain[first];
                    for j in (0..choices.len()).filter(|&j| open[j]) {
                        bounds[j] = bounds[j].min(choices[j].2 + dot(&rooms[j], &local.multipliers) + gain);
                    }
                }
                solved[k] = Some(local);
                continue;
            }
            if self.nodes > self.budget {
                self.loose = self.loose.max(bound);
                break;
            }
            open[k] = false;
            let (counts, residual, value) = &choices[k];
            self.residual[first * dims..(first + 1) * dims].copy_from_slice(residual);
            self.counts[..first].copy_from_slice(counts);
            if let Some(Some(local)) = solved[k].take() {
                // The LP's packing of the small items here, rounded down, is an incumbent the
                // search below need only beat.
                let (copies, small) = rounded_down(&self.items[first..], &local.fractions, &rooms[k]);
                if value + small > self.best_value {
                    self.best_value = value + small;
                    if self.best_value > self.threshold {
                        let mut all = counts.clone();
                        all.extend(copies);
                        self.found.push((self.best_value, all));
                    }
                }
                self.local = local.multipliers;
                self.local_gain = local.gain;
            }
            self.dfs(first, *value);
            self.local.clear();
            self.local_gain.clear();
        }
        self.counts[..first].iter_mut().for_each(|a| *a = 0.0);
        true
    }

    /// Every choice of the copies of the large items from `i` on within `residual` (with the
    /// fit test's slack), as (copies of each large item, residual, value); false past
    /// [`MAX_CHOICES`].
    fn choices(
        &self,
        i: usize,
        value: f64,
        residual: Vec<f64>,
        counts: &mut Vec<f64>,
        out: &mut Vec<(Vec<f64>, Vec<f64>, f64)>,
    ) -> bool {
        if i == self.large {
            out.push((counts.clone(), residual, value));
            return out.len() <= MAX_CHOICES;
        }
        let item = &self.items[i];
        let mut copies = self.most_copies(item, &residual);
        loop {
            counts[i] = copies;
            let left: Vec<f64> = residual.iter().zip(item.demand).map(|(r, d)| r - copies * d).collect();
            if !self.choices(i + 1, value + copies * item.value, left, counts, out) {
                return false;
            }
            if copies <= 0.0 {
                break;
            }
            copies -= 1.0;
        }
        counts[i] = 0.0;
        true
    }

    /// The fractional optimum of the multiplier-weighted surrogate with per-item limits for the
    /// items from `i` on: filling them in decreasing order of value per weighted size is
    /// optimal, and the two runs (large items, the rest) are each in that order, so they are
    /// merged.
    fn fractional_fill(&self, i: usize, room: f64) -> f64 {
        let density = |j: usize| {
            let size = self.weighted_size[j];
            if size > 0.0 {
                self.items[j].value / size
            } else {
                f64::INFINITY
            }
        };
        let (mut a, mut b) = (i.min(self.large), i.max(self.large));
        let n = self.items.len();
        let mut left = room;
        let mut value = 0.0;
        while a < self.large || b < n {
            let j = if b >= n || (a < self.large && density(a) >= density(b)) {
                a += 1;
                a - 1
            } else {
                b += 1;
                b - 1
            };
            let (item, size) = (&self.items[j], self.weighted_size[j]);
            let whole = size * item.limit;
            if whole <= left {
                left -= whole;
                value += item.value * item.limit;
            } else {
                return value + item.value / size * left.max(0.0);
            }
        }
        value
    }

    fn dfs(&mut self, i: usize, value: f64) {
        self.nodes += 1;
        if value > self.best_value {
            self.best_value = value;
            if value > self.threshold {
                self.found.push((value, self.counts.clone()));
            }
        }
        if i == self.items.len() {
            return;
        }
        let bound = self.bound(i, value);
        if bound <= self.best_value.max(self.threshold) {
            if bound > self.best_value {
                self.loose = self.loose.max(bound);
            }
            return;
        }
        if self.nodes > self.budget {
            self.loose = self.loose.max(bound);
            return;
        }
        let dims = self.capacity.len();
        let item = &self.items[i];
        let mut copies = self.most_copies(item, &self.residual[i * dims..(i + 1) * dims]);
        for tried in 1.. {
            for k in 0..dims {
                self.residual[(i + 1) * dims + k] = self.residual[i * dims + k] - copies * item.demand[k];
            }
            self.counts[i] = copies;
            self.dfs(i + 1, value + copies * item.value);
            if copies <= 0.0 {
                break;
            }
            copies -= 1.0;
            if self.nodes > self.budget || tried >= MAX_BRANCHES {
                // The choices left (fewer copies) are bounded by this node's bound.
                self.loose = self.loose.max(bound);
                break;
            }
            let rest = self.bound_up_to(i, value, copies);
            if rest <= self.best_value.max(self.threshold) {
                if rest > self.best_value {
                    self.loose = self.loose.max(rest);
                }
                break;
            }
        }
        self.counts[i] = 0.0;
    }

    /// A bound on every child taking between 0 and `most` copies of item `i`: for each
    /// weighting the child bound is convex in the copies taken, so its largest value is at an
    /// end of the range.
    fn bound_up_to(&self, i: usize, value: f64, most: f64) -> f64 {
        let item = &self.items[i];
        let room = self.room(i);
        let mut bound = value + most * item.value + self.suffix_value[i + 1];
        for (w, density) in self.weights.iter().zip(&self.suffix_density) {
            let density = density[i + 1];
            if !density.is_finite() {
                continue;
            }
            let (room, size) = (dot(&room, w), dot(item.demand, w));
            let at = |a: f64| value + a * item.value + density * (room - a * size).max(0.0);
            bound = bound.min(at(0.0).max(at(most)));
        }
        for (w, gain) in [(self.multipliers, &self.suffix_gain), (&self.local[..], &self.local_gain)] {
            if w.is_empty() {
                continue;
            }
            let (room, size) = (dot(&room, w), dot(item.demand, w));
            let at = |a: f64| value + a * item.value + gain[i + 1] + room - a * size;
            bound = bound.min(at(0.0).max(at(most)));
        }
        bound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(class: usize, value: f64, demand: &[f64], limit: f64) -> Item<'_> {
        Item { class, value, demand, limit }
    }

    #[test]
    fn two_dimensions() {
        // Capacity (10 cpu, 10 mem): a = (6, 1) worth 5, b = (1, 6) worth 5, c = (4, 4) worth 4.5.
        // Best: a + b = 10 (c + a = 9.5, c + c = 9).
        let items =
            vec![item(0, 5.0, &[6.0, 1.0], 1.0), item(1, 5.0, &[1.0, 6.0], 1.0), item(2, 4.5, &[4.0, 4.0], 2.0)];
        let answer = maximise(&[10.0, 10.0], items, 0.0, 1000, Aim::Bound);
        let (value, counts) = answer.patterns[0].clone();
        assert_eq!(value, 10.0);
        assert_eq!(counts, vec![(0, 1.0), (1, 1.0)]);
        assert_eq!(answer.upper, 10.0);
    }

    #[test]
    fn threshold_and_budget_keep_the_upper_bound_valid() {
        let demands: Vec<[f64; 2]> = (0..12).map(|c| [1.0 + (c % 3) as f64, 1.0 + (c % 4) as f64]).collect();
        let items: Vec<Item> =
            demands.iter().enumerate().map(|(c, d)| item(c, 1.0 + (c % 5) as f64 * 0.3, d, 3.0)).collect();
        let exact = maximise(&[17.0, 19.0], items.clone(), 0.0, usize::MAX, Aim::Bound);
        let (best, _) = exact.patterns[0].clone();
        assert_eq!(exact.upper, best);
        for budget in [1, 5, 50, 500] {
            let partial = maximise(&[17.0, 19.0], items.clone(), 0.0, budget, Aim::Bound);
            assert!(partial.upper >= best - 1e-12, "budget {budget}: {} < {best}", partial.upper);
            assert!(partial.patterns[0].0 <= best);
        }
        let above = maximise(&[17.0, 19.0], items, best + 1.0, usize::MAX, Aim::Bound);
        assert!(above.patterns.is_empty());
        assert!(above.upper >= best);
    }

    #[test]
    fn a_large_node_is_filled_near_its_lp_even_on_a_tiny_budget() {
        // 64 cpu, 256 memory: cpu-heavy pods (1, 1) and memory-heavy ones (0.25, 8), worth
        // the same per LP-weighted size; the LP mixes them, the greedy alone would take one
        // kind until cpu runs out and leave memory idle.
        let demands = [[1.0, 1.0], [0.25, 8.0], [0.5, 2.0]];
        let items: Vec<Item> =
            demands.iter().enumerate().map(|(c, d)| item(c, 0.1 * d[0] + 0.01 * d[1], d, 500.0)).collect();
        let exact = maximise(&[64.0, 256.0], items.clone(), 0.0, usize::MAX, Aim::Bound);
        let (best, _) = exact.patterns[0].clone();
        let tiny = maximise(&[64.0, 256.0], items, 0.0, 1, Aim::Bound);
        let (found, counts) = tiny.patterns[0].clone();
        // At most one pod of each item short of the optimum.
        assert!(found >= best - 0.1 - 0.0825 - 0.07, "{found} vs {best}: {counts:?}");
        assert!(tiny.upper >= best - 1e-9);
    }

    #[test]
    fn free_items_and_large_limits() {
        let items = vec![item(3, 2.0, &[0.0], 5.0), item(1, 1.0, &[1e-9], 1e18)];
        let answer = maximise(&[1.0], items, 0.0, 100, Aim::Bound);
        let (value, counts) = answer.patterns[0].clone();
        assert!(value >= 10.0);
        assert_eq!(counts[0], (1, 1e9));
        assert_eq!(counts[1], (3, 5.0));
    }

    #[test]
    fn a_large_item_is_decided_first_so_a_small_budget_proves_the_optimum() {
        // Room (100, 100): a large pod (70, 40) worth 90, at most one fits, and small ones.
        // The best node holds it and 135.9 in all; with the large pod's copies decided before
        // the small ones', 20 search nodes prove it (deciding it last, the bound stays at
        // 142.9, a fraction of it counted).
        let (large, a, b, c) = ([70.0, 40.0], [1.0, 3.0], [3.0, 1.0], [7.0, 5.0]);
        let items =
            vec![item(0, 90.0, &large, 2.0), item(1, 2.1, &a, 200.0), item(2, 2.0, &b, 200.0), item(3, 6.1, &c, 200.0)];
        let answer = maximise(&[100.0, 100.0], items, 0.0, 20, Aim::Bound);
        assert!((answer.patterns[0].0 - 135.9).abs() < 1e-9, "{answer:?}");
        assert!((answer.upper - 135.9).abs() < 1e-9, "{answer:?}");
    }

    #[test]
    fn each_choice_of_the_large_items_is_bounded_by_its_own_lp() {
        // Room (64, 128): seven large pods (25 to 32 cpu: at most two fit) and two kinds of
        // small ones. From the root a fraction of every large pod counts, and 20 search nodes
        // leave the bound 5% above the optimum; bounding each choice of the large pods by the
        // LP of the small ones left proves the optimum within the same budget.
        let large = [[25.0, 78.0], [32.0, 38.0], [31.0, 59.0], [28.0, 47.0], [26.0, 50.0], [27.0, 77.0], [28.0, 58.0]];
        let worth = [4.06, 3.2, 4.29, 4.64, 3.1, 5.14, 3.96];
        let small = [([1.4, 2.3], 0.191), ([0.3, 1.7], 0.047)];
        let mut items: Vec<Item> = large.iter().zip(worth).enumerate().map(|(k, (d, v))| item(k, v, d, 1.0)).collect();
        items.extend(small.iter().enumerate().map(|(k, (d, v))| item(7 + k, *v, d, 500.0)));
        let room = [64.0, 128.0];
        let exact = maximise(&room, items.clone(), 0.0, usize::MAX, Aim::Patterns);
        let optimum = exact.patterns[0].0;
        assert!((exact.upper - optimum).abs() < 1e-9);
        let root = maximise(&room, items.clone(), 0.0, 20, Aim::Patterns);
        let choices = maximise(&room, items, 0.0, 20, Aim::Bound);
        assert!(root.upper > optimum * 1.04, "{} against {optimum}", root.upper);
        assert!((choices.upper - optimum).abs() < 1e-6, "{} against {optimum}", choices.upper);
        assert!((choices.patterns[0].0 - optimum).abs() < 1e-9);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]
        /// Whatever the budget, threshold and aim, the upper bound is at least the optimum and
        /// every pattern fits and is worth what it says, at most the optimum.
        #[test]
        fn bounds_hold_and_patterns_fit_under_any_budget_and_aim(
            specs in proptest::collection::vec((1u32..40, 1u32..40, 1u32..30, 1u32..12), 1..9),
            room in (20u32..100, 20u32..100),
            budget in 1usize..30,
            threshold in 0u32..30,
        ) {
            let demands: Vec<[f64; 2]> = specs.iter().map(|&(a, b, _, _)| [a as f64, b as f64]).collect();
            let items: Vec<Item> = specs
                .iter()
                .zip(&demands)
                .enumerate()
                .map(|(k, (&(_, _, v, l), d))| item(k, v as f64, d, l as f64))
                .collect();
            let room = [room.0 as f64, room.1 as f64];
            let optimum = maximise(&room, items.clone(), 0.0, usize::MAX, Aim::Patterns);
            let best = optimum.patterns.first().map_or(0.0, |p| p.0);
            proptest::prop_assert!((optimum.upper - best).abs() < 1e-9 || best == 0.0);
            for aim in [Aim::Patterns, Aim::Bound] {
                let answer = maximise(&room, items.clone(), threshold as f64, budget, aim);
                proptest::prop_assert!(answer.upper >= best - 1e-9, "{aim:?}: {} < {best}", answer.upper);
                for (value, counts) in &answer.patterns {
                    let mut used = [0.0, 0.0];
                    let mut worth = 0.0;
                    for &(c, a) in counts {
                        proptest::prop_assert!(a >= 1.0 && a <= items[c].limit);
                        used[0] += a * demands[c][0];
                        used[1] += a * demands[c][1];
                        worth += a * items[c].value;
                    }
                    proptest::prop_assert!(used[0] <= room[0] * (1.0 + 1e-6) && used[1] <= room[1] * (1.0 + 1e-6));
                    proptest::prop_assert!((worth - value).abs() < 1e-9 && *value <= best + 1e-9);
                }
            }
        }
    }
}

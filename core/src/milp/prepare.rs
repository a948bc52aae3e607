//! The checked problem: input, limits, warm start and options validated (errors name the
//! field), the warm start read as patterns, and the pattern pool the MILP runs over.

use super::{MilpError, MilpOptions, NodeLimit, MAX_CLASS_COUNT};
use crate::bound::{fits, pattern_pool, BoundInput, Effort, LimitRow, PatternPool};
use std::collections::BTreeMap;

/// A pattern: a node type and `(class, count)` pairs, by class, counts ≥ 1.
pub(super) type Pattern = crate::bound::InputPattern;

/// Limits are kept to within this fraction of their `max` (rounding in the sums).
const LIMIT_SLACK: f64 = 1e-9;
/// Decimals a common price unit may have.
const UNIT_DECIMALS: i32 = 6;

/// A valid problem.
pub(super) struct Problem<'a> {
    pub input: &'a BoundInput,
    /// The finite limits, one coefficient per node type.
    pub limits: Vec<LimitRow>,
    /// The warm start's nodes as patterns (counts capped at the class counts), in order.
    warm_start: Vec<Pattern>,
    /// Every price is a whole multiple of this.
    price_unit: Option<f64>,
}

/// The patterns the MILP chooses from; new ones only ever go at the end.
pub(super) struct Pool {
    pub patterns: Vec<Pattern>,
    /// Copies of each pattern a solution ever needs: `max_c ⌈count_c / a_c⌉`.
    pub most: Vec<u64>,
    /// Lower bound of the column generation (valid for every pattern).
    pub bound: f64,
    /// Every maximal pattern is in.
    pub complete: bool,
    /// Index of each pattern.
    index: BTreeMap<Pattern, usize>,
    /// Column generation's pool, for reduced-cost enumeration.
    source: PatternPool,
}

impl Pool {
    /// Appends the patterns not in yet; returns how many were new.
    pub fn extend(&mut self, input: &BoundInput, patterns: impl IntoIterator<Item = Pattern>) -> usize {
        let before = self.patterns.len();
        for pattern in patterns {
            self.add(input, pattern);
        }
        self.patterns.len() - before
    }

    /// Every maximal pattern of reduced cost low enough to be part of a solution cheaper than
    /// `cost`, if there are few (see [`PatternPool::near_optimal`]).
    pub fn near_optimal(&self, cost: f64) -> Option<Vec<Pattern>> {
        self.source.near_optimal(cost, super::MAX_ENUMERATED)
    }

    fn add(&mut self, input: &BoundInput, pattern: Pattern) -> usize {
        if let Some(&i) = self.index.get(&pattern) {
            return i;
        }
        let classes = &input.classes;
        let most = pattern.1.iter().map(|&(c, a)| classes[c].count.div_ceil(a.max(1))).max().unwrap_or(0);
        self.index.insert(pattern.clone(), self.patterns.len());
        self.patterns.push(pattern);
        self.most.push(most);
        self.patterns.len() - 1
    }
}

impl<'a> Problem<'a> {
    pub fn new(
        input: &'a BoundInput,
        limits: &[NodeLimit],
        warm_start: &[Pattern],
        options: &MilpOptions,
    ) -> Result<Problem<'a>, MilpError> {
        input.validate()?;
        check_options(options)?;
        for (class, c) in input.classes.iter().enumerate() {
            if c.count > MAX_CLASS_COUNT {
                return Err(MilpError::Count { class, count: c.count, max: MAX_CLASS_COUNT });
            }
            let hosted = |t: &crate::bound::BoundNodeType| {
                t.classes.contains(&class) && c.demand.iter().zip(&t.capacity).all(|(&d, &cap)| fits(d, cap))
            };
            if c.count > 0 && !input.node_types.iter().any(hosted) {
                return Err(MilpError::Uncovered { class, count: c.count });
            }
        }
        let node_types = input.node_types.len();
        let mut rows = Vec::new();
        for (limit, row) in limits.iter().enumerate() {
            if row.max.is_nan() || row.max == f64::NEG_INFINITY {
                return Err(MilpError::LimitMax { limit, value: row.max });
            }
            let mut coefficients = vec![0.0; node_types];
            for &(node_type, value) in &row.coefficients {
                if node_type >= node_types {
                    return Err(MilpError::LimitType { limit, node_type, node_types });
                }
                if !(value.is_finite() && value >= 0.0) {
                    return Err(MilpError::LimitCoefficient { limit, node_type, value });
                }
                coefficients[node_type] += value;
            }
            if row.max < 0.0 {
                return Err(MilpError::Infeasible { reason: format!("limits[{limit}].max is {} < 0", row.max) });
            }
            if row.max.is_finite() && coefficients.iter().all(|v| v.is_finite()) {
                rows.push(LimitRow { coefficients, max: row.max });
            }
        }
        let warm_start = warm_patterns(input, warm_start)?;
        let price_unit = price_unit(input.node_types.iter().map(|t| t.price));
        Ok(Problem { input, limits: rows, warm_start, price_unit })
    }

    /// No class has pods.
    pub fn is_empty(&self) -> bool {
        self.input.classes.iter().all(|c| c.count == 0)
    }

    /// Column generation's patterns, every maximal pattern when few, and the warm start's.
    pub fn pool(&self, options: &MilpOptions) -> Result<Pool, MilpError> {
        let effort = Effort { max_iterations: options.column_rounds, ..Effort::default() };
        let mut source = pattern_pool(self.input, &self.limits, &effort, super::MAX_ENUMERATED)?;
        let found = std::mem::take(&mut source.patterns);
        let mut pool = Pool {
            patterns: Vec::new(),
            most: Vec::new(),
            bound: source.bound.value,
            complete: source.complete,
            index: BTreeMap::new(),
            source,
        };
        pool.extend(self.input, found);
        pool.extend(self.input, self.warm_start.iter().cloned());
        for (class, c) in self.input.classes.iter().enumerate() {
            if c.count > 0 && !pool.patterns.iter().any(|(_, counts)| counts.iter().any(|&(k, _)| k == class)) {
                return Err(MilpError::Uncovered { class, count: c.count });
            }
        }
        Ok(pool)
    }

    /// The warm start as copies per pool pattern (capped at what is ever needed), if it holds
    /// every pod within the limits.
    pub fn warm_start_counts(&self, pool: &Pool) -> Option<Vec<u64>> {
        if self.warm_start.is_empty() {
            return None;
        }
        let mut copies = vec![0u64; pool.patterns.len()];
        for pattern in &self.warm_start {
            let i = *pool.index.get(pattern)?;
            copies[i] = (copies[i] + 1).min(pool.most[i]);
        }
        self.holds(pool, &copies).then_some(copies)
    }

    /// Whether `copies` of the pool's patterns hold every pod and keep every limit.
    pub fn holds(&self, pool: &Pool, copies: &[u64]) -> bool {
        let mut held = vec![0u64; self.input.classes.len()];
        for ((_, counts), &n) in pool.patterns.iter().zip(copies) {
            for &(c, a) in counts {
                held[c] = held[c].saturating_add(a.saturating_mul(n));
            }
        }
        if held.iter().zip(&self.input.classes).any(|(&h, c)| h < c.count) {
            return false;
        }
        self.limits.iter().all(|row| {
            let used: f64 = pool.patterns.iter().zip(copies).map(|((t, _), &n)| row.coefficients[*t] * n as f64).sum();
            used <= row.max + LIMIT_SLACK * row.max.abs().max(1.0)
        })
    }

    /// The smallest multiple of the common price unit at least `bound` (every solution costs a
    /// multiple of it), or `bound` when the prices have none.
    pub fn round_up_to_price_unit(&self, bound: f64) -> f64 {
        match self.price_unit {
            // Units well above the rounding noise of the bound only.
            Some(unit) if bound > 0.0 && bound / unit <= 1e6 => {
                let units = (bound / unit - 1e-6).ceil();
                (units * unit * (1.0 - 1e-12)).max(bound)
            }
            _ => bound,
        }
    }
}

fn check_options(options: &MilpOptions) -> Result<(), MilpError> {
    let bad = |field: &str, value: f64, expected: &str| {
        Err(MilpError::Options { field: field.to_string(), value, expected: expected.to_string() })
    };
    if options.time_limit_seconds.is_nan() || options.time_limit_seconds < 0.0 {
        return bad("time_limit_seconds", options.time_limit_seconds, "must be ≥ 0 (+∞ for none)");
    }
    if !(options.relative_gap.is_finite() && options.relative_gap >= 0.0) {
        return bad("relative_gap", options.relative_gap, "must be finite and ≥ 0");
    }
    Ok(())
}

/// The warm start's nodes as patterns, checked: type and classes exist, the type lists each
/// class, the pods fit. Counts above a class's count are capped at it; empty nodes dropped.
fn warm_patterns(input: &BoundInput, warm_start: &[Pattern]) -> Result<Vec<Pattern>, MilpError> {
    let (node_types, classes) = (input.node_types.len(), input.classes.len());
    let mut patterns = Vec::with_capacity(warm_start.len());
    for (node, (node_type, counts)) in warm_start.iter().enumerate() {
        let node_type = *node_type;
        let Some(ty) = input.node_types.get(node_type) else {
            return Err(MilpError::WarmStartType { node, node_type, node_types });
        };
        let mut merged: BTreeMap<usize, u64> = BTreeMap::new();
        for &(class, count) in counts {
            if class >= classes {
                return Err(MilpError::WarmStartClass { node, class, classes });
            }
            if count > 0 && !ty.classes.contains(&class) {
                return Err(MilpError::WarmStartHost { node, class, node_type });
            }
            let entry = merged.entry(class).or_insert(0);
            *entry = entry.saturating_add(count);
        }
        for (dimension, &cap) in ty.capacity.iter().enumerate() {
            let load: f64 = merged.iter().map(|(&c, &a)| a as f64 * input.classes[c].demand[dimension]).sum();
            if !fits(load, cap) {
                return Err(MilpError::WarmStartCapacity { node, node_type, dimension });
            }
        }
        let counts: Vec<(usize, u64)> =
            merged.into_iter().map(|(c, a)| (c, a.min(input.classes[c].count))).filter(|&(_, a)| a > 0).collect();
        if !counts.is_empty() {
            patterns.push((node_type, counts));
        }
    }
    Ok(patterns)
}

/// The largest `u = g / 10^k` (`k ≤ 6`) of which every price is a whole multiple, if any.
fn price_unit(prices: impl Iterator<Item = f64>) -> Option<f64> {
    let prices: Vec<f64> = prices.filter(|&p| p > 0.0).collect();
    if prices.is_empty() {
        return None;
    }
    for decimals in 0..=UNIT_DECIMALS {
        let scale = 10f64.powi(decimals);
        let mut gcd = 0u64;
        let mut whole = true;
        for &p in &prices {
            let scaled = p * scale;
            let nearest = scaled.round();
            if !((1.0..9e15).contains(&nearest) && (scaled - nearest).abs() <= 1e-9 * scaled) {
                whole = false;
                break;
            }
            gcd = greatest_common_divisor(gcd, nearest as u64);
        }
        if whole {
            return Some(gcd as f64 / scale);
        }
    }
    None
}

fn greatest_common_divisor(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_units() {
        assert_eq!(price_unit([3.0, 6.0, 9.0].into_iter()), Some(3.0));
        assert_eq!(price_unit([0.0416, 0.0832].into_iter()), Some(0.0416));
        assert_eq!(price_unit([0.0416, 0.096].into_iter()), Some(0.0032));
        assert_eq!(price_unit([1.0, std::f64::consts::PI].into_iter()), None);
        assert_eq!(price_unit([0.0].into_iter()), None);
    }
}

//! How much a NodeClaim's launch wastes, against the pool's best types: the test `optimize`
//! mode puts before growing a NodeClaim.
//!
//! A NodeClaim that takes pod after pod moves to ever larger instance types; past the sizes
//! priced alike per CPU and GiB, the only types left that hold its pods (and its pod count)
//! are premium ones — 224-core memory machines, on-demand only — at several times the price of
//! the same room in ordinary types. Karpenter grows it all the same; `optimize` asks first
//! what the growth wastes.
//!
//! The measure: the pods of a run have an average shape `u` (CPU, memory, one pod). A type `T`
//! holds `k(T) = min_d space(T)_d / u_d` average pods; the *fair* price of an average pod is
//! the least `price(T) / k(T)` over the pool's ordinary types a NodeClaim of this kind (capacity
//! types, architectures) may launch; and `T` *wastes* `price(T) − k(T) · fair`, what it costs
//! beyond the same room on the best type. Growing a NodeClaim from `T` to `T'` wastes
//! `waste(T') − waste(T)`; a fresh node for the pod wastes `waste` of the cheapest type that
//! holds it. A NodeClaim does not grow when that wastes more *and* costs more than a fresh
//! node for the pod (if topology lets it open one at all): the room a fresh node brings is
//! worth its fair price only if later pods fill it, so growth that costs less stays.

use super::nodes::Launch;
use crate::catalog::CapacityType;
use crate::filter::{ClassFilter, PoolContext};
use crate::labels;
use crate::model::Pod;
use crate::requirements::Requirements;
use crate::resources::Resources;

/// The resources the measure looks at.
const MEASURED: [&str; 3] = ["cpu", "memory", "pods"];

/// The measure for one pool.
#[derive(Debug, Clone, Default)]
pub(super) struct Efficiency {
    /// The run's average pod: CPU, memory, pods (1).
    unit: [f64; 3],
    /// (spot allowed, amd64 allowed, arm64 allowed) → the fair price of an average pod.
    fair: Vec<((bool, bool, bool), f64)>,
    /// Per class filter and requests: the price and waste of a fresh node for one pod, once
    /// asked (classes that differ only in labels share it).
    fresh: std::collections::HashMap<(usize, Resources), Option<(f64, f64)>>,
}

impl Efficiency {
    /// The measure for a run over `pods`.
    pub fn new(pods: &[&Pod]) -> Self {
        let mut unit = [0.0; 3];
        for p in pods {
            unit[0] += p.requests.get("cpu") as f64;
            unit[1] += p.requests.get("memory") as f64;
        }
        let n = pods.len().max(1) as f64;
        Efficiency { unit: [unit[0] / n, unit[1] / n, 1.0], fair: Vec::new(), fresh: Default::default() }
    }

    /// What `launch` wastes in `pool` for a NodeClaim with `reqs`; `None` when nothing compares.
    pub fn waste(&mut self, pool: &PoolContext, reqs: &Requirements, launch: &Launch) -> Option<f64> {
        let fair = self.fair(pool, kind(reqs))?;
        Some(launch.price - fair * self.holds(&pool.type_space[launch.instance_type as usize]))
    }

    /// What a fresh node for a pod (its requests `requests`; its class's filter `filter`, with
    /// its candidates in the pool `allowed` and their requirements `reqs`; `table` the pool's)
    /// costs and wastes: the cheapest type that holds it.
    pub fn fresh(
        &mut self,
        filter: &ClassFilter,
        pool: &PoolContext,
        table: &super::nodes::TypeTable,
        reqs: &Requirements,
        requests: &Resources,
        allowed: &[u64],
    ) -> Option<(f64, f64)> {
        let key = (filter as *const ClassFilter as usize, requests.clone());
        if let Some(known) = self.fresh.get(&key) {
            return *known;
        }
        let options: Vec<(u32, u64)> = allowed
            .iter()
            .enumerate()
            .filter(|(t, m)| **m != 0 && requests.fits(&pool.type_space[*t]))
            .map(|(t, m)| (t as u32, *m))
            .collect();
        let fresh = super::nodes::cheapest_launch(&options, reqs, pool, table)
            .and_then(|l| Some((l.price, self.waste(pool, reqs, &l)?)));
        self.fresh.insert(key, fresh);
        fresh
    }

    /// How many average pods a type's space holds.
    fn holds(&self, space: &Resources) -> f64 {
        MEASURED.iter().zip(&self.unit).map(|(d, u)| space.get(d) as f64 / u).fold(f64::INFINITY, f64::min)
    }

    fn fair(&mut self, pool: &PoolContext, key: (bool, bool, bool)) -> Option<f64> {
        if let Some((_, fair)) = self.fair.iter().find(|(k, _)| *k == key) {
            return fair.is_finite().then_some(*fair);
        }
        let fair = self.best(pool, key);
        self.fair.push((key, fair));
        fair.is_finite().then_some(fair)
    }

    /// The least price per average pod over the ordinary types of `pool` a NodeClaim of this
    /// kind may launch, each at its cheapest allowed offering.
    fn best(&self, pool: &PoolContext, (spot, amd64, arm64): (bool, bool, bool)) -> f64 {
        let mut best = f64::INFINITY;
        for (t, it) in pool.instance_types.iter().enumerate() {
            if pool.facts.exotic[t] || !pool.allows(t) {
                continue;
            }
            let arch = it.requirements.get(labels::ARCH);
            if !arch.is_none_or(|r| (amd64 && r.has("amd64")) || (arm64 && r.has("arm64"))) {
                continue;
            }
            let mask = pool.type_offerings[t].0;
            let price = it
                .offerings
                .iter()
                .enumerate()
                .filter(|(i, o)| {
                    mask & (1 << i) != 0
                        && o.available
                        && (o.capacity_type == CapacityType::OnDemand
                            || (spot && o.capacity_type == CapacityType::Spot))
                })
                .map(|(_, o)| o.price)
                .fold(f64::INFINITY, f64::min);
            let holds = self.holds(&pool.type_space[t]);
            if price.is_finite() && holds >= 1.0 {
                best = best.min(price / holds);
            }
        }
        best
    }
}

/// What a NodeClaim's requirements allow of capacity types and architectures.
fn kind(reqs: &Requirements) -> (bool, bool, bool) {
    let allows = |key: &str, value: &str| reqs.get(key).is_none_or(|r| r.has(value));
    (allows(labels::CAPACITY_TYPE, "spot"), allows(labels::ARCH, "amd64"), allows(labels::ARCH, "arm64"))
}

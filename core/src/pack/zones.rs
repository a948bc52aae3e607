//! Zones in the lower bound. A class whose pods spread over zones (a required
//! `topology.kubernetes.io/zone` spread that counts its pods alone) puts at least so many of
//! them in each zone, whatever the plan; those pods need nodes in that zone, and a node in one
//! zone cannot host another zone's share. The bound learns it by splitting the class into a
//! share per zone, each allowed only on that zone's copy of every node type (and on the
//! existing nodes in that zone), and the rest, free to go anywhere: a relaxation of every plan
//! that keeps the spread, much stronger than ignoring zones when the shares are small and the
//! nodes cheapest per resource are large (six zones of two memory-heavy pods each cannot share
//! one large node).
//!
//! A spread also caps each zone's share, and a node is in one zone: a node holds at most the
//! largest cap of the class's pods (both inputs use it), and at most the largest cap beyond a
//! zone's floor of the pods past the floors (the split one does).

use crate::bound::{BoundClass, BoundInput, BoundNodeType};
use std::collections::BTreeMap;

/// One required zone spread of a class, over its eligible zones (see
/// [`super::topology::Topology::zone_spreads`]).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ZoneSpread {
    /// The eligible zones, sorted.
    pub zones: Vec<String>,
    /// Per zone: the pods the group counts there already.
    pub counted: Vec<i64>,
    /// Per zone: whether the class's pods may land there (their node affinity).
    pub placeable: Vec<bool>,
    pub max_skew: i64,
    /// Whether the rule measures skew from the least count (false when minDomains is not met,
    /// or no zone is eligible: then from 0).
    pub least_counts: bool,
}

impl ZoneSpread {
    /// Per zone: the fewest and the most of `pods` new pods that any placement keeping the
    /// spread puts there.
    ///
    /// A pod joins zone `z` only while `count(z) + 1 ≤ min + maxSkew`, the minimum over the
    /// eligible zones (0 when [`ZoneSpread::least_counts`] is false), and the minimum never
    /// falls; so when all are placed, with `m` the final minimum, every zone that gained a pod
    /// ends at most at `m + maxSkew`, and every eligible zone at `m` or more. For each
    /// possible `m` that gives each zone a least and a most share; a zone's share is at least
    /// its least and at least what the other zones' mosts leave, at most its most and at most
    /// what the other zones' leasts leave; the floor is the smallest of that over the `m` that
    /// leave room for every pod, the ceiling the largest. None when no `m` does (not every pod
    /// can be placed).
    pub fn shares(&self, pods: u64) -> Option<(Vec<u64>, Vec<u64>)> {
        let n = i64::try_from(pods).ok()?;
        if self.max_skew < 1 || self.zones.is_empty() {
            return None;
        }
        let counted: i64 = self.counted.iter().sum();
        // The minimum is at most the mean.
        let highest = if self.least_counts { (n + counted) / self.zones.len() as i64 } else { 0 };
        let mut best: Option<(Vec<i64>, Vec<i64>)> = None;
        for m in 0..=highest {
            let (mut least, mut most) = (Vec::new(), Vec::new());
            for (z, &e) in self.counted.iter().enumerate() {
                let lo = if self.least_counts { (m - e).max(0) } else { 0 };
                let hi = if self.placeable[z] { (m + self.max_skew - e).max(0) } else { 0 };
                least.push(lo);
                most.push(hi);
            }
            let (sum_least, sum_most): (i64, i64) = (least.iter().sum(), most.iter().sum());
            if least.iter().zip(&most).any(|(lo, hi)| lo > hi) || sum_least > n || sum_most < n {
                continue;
            }
            let floors = least.iter().zip(&most).map(|(&lo, &hi)| lo.max(n - (sum_most - hi)));
            let ceilings = least.iter().zip(&most).map(|(&lo, &hi)| hi.min(n - (sum_least - lo)));
            best = Some(match best {
                None => (floors.collect(), ceilings.collect()),
                Some((f, c)) => (
                    f.into_iter().zip(floors).map(|(a, b)| a.min(b)).collect(),
                    c.into_iter().zip(ceilings).map(|(a, b)| a.max(b)).collect(),
                ),
            });
        }
        let whole = |v: Vec<i64>| v.into_iter().map(|x| x as u64).collect();
        best.map(|(f, c)| (whole(f), whole(c)))
    }
}

/// What a class's required zone spreads say of its pods' shares per zone, whatever the plan.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Shares {
    /// Per zone, the fewest of them there (the most over the spreads; zones with none left out).
    pub floors: BTreeMap<String, u64>,
    /// The most of them one zone holds, so one node: `None` without a spread.
    pub most: Option<u64>,
    /// The most beyond its floor one zone holds: how many of the pods past the floors one node
    /// may hold.
    pub beyond: Option<u64>,
}

/// The shares of a class's `pods` under all of `spreads` (see [`Shares`]): nothing when some
/// spread cannot place them all or the floors add up to more than the pods (no placement
/// keeps them, nothing to learn).
pub(super) fn shares(spreads: &[ZoneSpread], pods: u64) -> Shares {
    let mut floors: BTreeMap<String, u64> = BTreeMap::new();
    // The zones every spread lets the pods use, with the least of their ceilings there.
    let mut ceilings: Option<BTreeMap<String, u64>> = None;
    for spread in spreads {
        let Some((low, high)) = spread.shares(pods) else { return Shares::default() };
        for (zone, f) in spread.zones.iter().zip(low).filter(|(_, f)| *f > 0) {
            let at = floors.entry(zone.clone()).or_default();
            *at = (*at).max(f);
        }
        let mine: BTreeMap<String, u64> = spread.zones.iter().cloned().zip(high).collect();
        ceilings = Some(match ceilings {
            None => mine,
            Some(c) => c.into_iter().filter_map(|(z, u)| mine.get(&z).map(|&v| (z, u.min(v)))).collect(),
        });
    }
    if floors.values().sum::<u64>() > pods {
        return Shares::default();
    }
    let Some(ceilings) = ceilings else { return Shares::default() };
    let most = ceilings.values().copied().max();
    let beyond = ceilings.iter().map(|(z, u)| u.saturating_sub(floors.get(z).copied().unwrap_or(0))).max();
    Shares { floors, most, beyond }
}

/// How to split a bound input's classes by zone: per class index with a floor somewhere, its
/// [`Shares`]; node types before `first_room` are new nodes, the others existing nodes' rooms,
/// `room_zones` their zones in order.
#[derive(Debug, Clone)]
pub(super) struct Zoning {
    pub pinned: BTreeMap<usize, Shares>,
    pub first_room: usize,
    pub room_zones: Vec<Option<String>>,
}

impl Zoning {
    /// The input with the pinned classes split by zone (see the module documentation): each
    /// share only on its zone's nodes, the part beyond the floors at most [`Shares::beyond`]
    /// pods on a node. New node types are copied per zone where they host a pinned class
    /// (those the bounds would drop as dominated are left out first: a type no better than
    /// another in every respect stays so in every zone); a room without a zone hosts every
    /// zone's share (a relaxation). `None` when the result would have more than `max_cells`
    /// classes × node types (the input stands alone).
    pub fn split(&self, input: &BoundInput, max_cells: usize) -> Option<BoundInput> {
        pin(input, &self.pinned, self.first_room, &self.room_zones, max_cells)
    }
}

fn pin(
    input: &BoundInput,
    pinned: &BTreeMap<usize, Shares>,
    first_room: usize,
    room_zones: &[Option<String>],
    max_cells: usize,
) -> Option<BoundInput> {
    let zones: Vec<&String> = {
        let mut z: Vec<&String> =
            pinned.values().flat_map(|f| f.floors.iter().filter(|(_, n)| **n > 0).map(|(z, _)| z)).collect();
        z.sort();
        z.dedup();
        z
    };
    if zones.is_empty() {
        return None;
    }
    // Per class: the index of its free part and of its share in each zone.
    let mut classes: Vec<BoundClass> = Vec::new();
    let mut free: Vec<Option<usize>> = Vec::new();
    let mut shares: Vec<Vec<Option<usize>>> = Vec::new();
    for (c, class) in input.classes.iter().enumerate() {
        let mut share = vec![None; zones.len()];
        let Some(pins) = pinned.get(&c).filter(|s| !s.floors.is_empty()) else {
            free.push(Some(classes.len()));
            classes.push(class.clone());
            shares.push(share);
            continue;
        };
        let part = |count: u64, most: Option<u64>| {
            let max_per_node = tighter_cap(class.max_per_node, most);
            BoundClass {
                count,
                demand: class.demand.clone(),
                min_nodes: max_per_node.map_or(0, |k| count.div_ceil(k.max(1))),
                max_per_node,
            }
        };
        let rest = class.count - pins.floors.values().sum::<u64>().min(class.count);
        free.push((rest > 0).then(|| {
            classes.push(part(rest, pins.beyond));
            classes.len() - 1
        }));
        for (z, zone) in zones.iter().enumerate() {
            if let Some(&n) = pins.floors.get(*zone).filter(|n| **n > 0) {
                share[z] = Some(classes.len());
                classes.push(part(n, None));
            }
        }
        shares.push(share);
    }
    // The classes a node type hosts in zone `z` (`None`: in every zone).
    let hosts = |t: &BoundNodeType, zone: Option<usize>| -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        for &c in &t.classes {
            out.extend(free[c]);
            match zone {
                Some(z) => out.extend(shares[c][z]),
                None => out.extend(shares[c].iter().flatten()),
            }
        }
        out.sort_unstable();
        out
    };
    // Types every bound would drop (dominated ones) are left out before they are copied.
    let kept = crate::bound::kept_types(input);
    let mut node_types: Vec<BoundNodeType> = Vec::new();
    for (t, node_type) in input.node_types.iter().enumerate() {
        if t < first_room && kept.binary_search(&t).is_err() {
            continue;
        }
        let copy = |classes: Vec<usize>| BoundNodeType { classes, ..node_type.clone() };
        if t >= first_room {
            let classes = match &room_zones[t - first_room] {
                None => hosts(node_type, None),
                Some(zone) => match zones.binary_search(&zone) {
                    Ok(z) => hosts(node_type, Some(z)),
                    // No share is pinned there: only free parts.
                    Err(_) => node_type.classes.iter().filter_map(|&c| free[c]).collect(),
                },
            };
            node_types.push(copy(classes));
        } else if node_type.classes.iter().any(|&c| pinned.contains_key(&c)) {
            node_types.extend((0..zones.len()).map(|z| copy(hosts(node_type, Some(z)))));
        } else {
            node_types.push(copy(hosts(node_type, None)));
        }
    }
    (classes.len() * node_types.len() <= max_cells).then(|| BoundInput {
        dimensions: input.dimensions.clone(),
        classes,
        node_types,
    })
}

/// The tighter of two caps on a class's pods per node, either when the other is missing.
pub(crate) fn tighter_cap(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every final count vector sequential placement can reach, by the rule itself.
    fn reachable(spread: &ZoneSpread, pods: u64) -> Vec<Vec<i64>> {
        let mut states = vec![spread.counted.clone()];
        for _ in 0..pods {
            let mut next: Vec<Vec<i64>> = Vec::new();
            for s in &states {
                let least = if spread.least_counts { *s.iter().min().unwrap() } else { 0 };
                for z in 0..s.len() {
                    if spread.placeable[z] && s[z] < least + spread.max_skew {
                        let mut t = s.clone();
                        t[z] += 1;
                        if !next.contains(&t) {
                            next.push(t);
                        }
                    }
                }
            }
            states = next;
        }
        states
    }

    fn spread(counted: Vec<i64>, placeable: Vec<bool>, max_skew: i64, least_counts: bool) -> ZoneSpread {
        let zones = (0..counted.len()).map(|z| format!("z{z}")).collect();
        ZoneSpread { zones, counted, placeable, max_skew, least_counts }
    }

    #[test]
    fn even_spread_over_six_zones() {
        let s = spread(vec![0; 6], vec![true; 6], 1, true);
        assert_eq!(s.shares(11), Some((vec![1; 6], vec![2; 6])));
        assert_eq!(s.shares(5), Some((vec![0; 6], vec![1; 6])));
        assert_eq!(s.shares(13), Some((vec![2; 6], vec![3; 6])));
        let shares = shares(&[s], 11);
        assert_eq!((shares.floors.len(), shares.most, shares.beyond), (6, Some(2), Some(1)));
    }

    #[test]
    fn counted_pods_shift_the_shares() {
        // Two pods already in z0: the next four go to z1 and z2 first.
        let s = spread(vec![2, 0, 0], vec![true; 3], 1, true);
        assert_eq!(s.shares(4), Some((vec![0, 2, 2], vec![0, 2, 2])));
        // A zone the pods may not use still counts: none can be placed past its count + 1.
        let s = spread(vec![0, 0, 0], vec![true, true, false], 1, true);
        assert_eq!(s.shares(2), Some((vec![1, 1, 0], vec![1, 1, 0])));
        assert_eq!(s.shares(3), None);
    }

    proptest! {
        /// No placement the rule allows puts fewer pods in a zone than its floor or more than
        /// its ceiling, and when nothing is counted yet under maxSkew 1 both are reached.
        #[test]
        fn shares_hold_every_reachable_share(
            counted in proptest::collection::vec(0i64..4, 1..5),
            placeable_bits in 0u8..16,
            max_skew in 1i64..3,
            least_counts in any::<bool>(),
            pods in 0u64..9,
        ) {
            let placeable: Vec<bool> = (0..counted.len()).map(|z| placeable_bits & (1 << z) == 0).collect();
            let s = spread(counted.clone(), placeable, max_skew, least_counts);
            let states = reachable(&s, pods);
            match s.shares(pods) {
                None => prop_assert!(states.is_empty()),
                Some((floors, ceilings)) => {
                    for state in &states {
                        for z in 0..counted.len() {
                            let share = state[z] - counted[z];
                            prop_assert!(floors[z] as i64 <= share && share <= ceilings[z] as i64,
                                "{floors:?} / {ceilings:?} miss {state:?}");
                        }
                    }
                    if max_skew == 1 && least_counts && counted.iter().all(|&e| e == 0) && s.placeable.iter().all(|&p| p) {
                        for z in 0..counted.len() {
                            let least = states.iter().map(|st| st[z]).min().unwrap();
                            let most = states.iter().map(|st| st[z]).max().unwrap();
                            prop_assert_eq!((floors[z] as i64, ceilings[z] as i64), (least, most));
                        }
                    }
                }
            }
        }
    }
}

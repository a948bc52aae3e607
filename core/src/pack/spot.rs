//! Spot capacity pools (instance type × zone): how concentrated a plan's spot nodes are,
//! keeping them spread when asked ([`PlanOptions::max_spot_pool_share`]), and spot prices a
//! plan leans on that are unlikely to last.
//!
//! Diversity counts nodes: a pool may hold at most `⌊share × spot nodes⌋` of them. Nodes of an
//! over-full pool move whole, cheapest move first, to the cheapest spot offering among their
//! own NodeClaim's options in a pool with room: the options all hold the node's pods, with
//! their requirements, NodePool and limits, so only topology can object. A node whose pods
//! have zonal topology (spread, pod (anti-)affinity, counted or repelled by others') keeps its
//! zone; one whose pods have topology on any other label but hostname keeps its type. A node
//! never moves to on-demand, so the number of spot nodes, and the cap, stay put.

use super::nodes::NewNode;
use super::{Outcome, Simulation};
use crate::catalog::CapacityType;
use crate::filter::{FilterContext, PoolContext};
use crate::labels;
use crate::plan::{PlanOptions, PlannedNode, SpotDiversity, SpotPool};
use std::collections::{BTreeMap, BTreeSet};

/// Below this share of its own on-demand price, a spot price is flagged: AWS advertises spot
/// discounts of up to 90%, so a deeper one is unusual and unlikely to last.
const IMPLAUSIBLE_SPOT_SHARE: f64 = 0.10;

/// A capacity pool: instance type and zone.
type PoolKey = (String, String);

/// What [`Simulation::diversify_spot`] did.
pub(crate) struct Diversified {
    pub moved: usize,
    /// The new nodes' cost before any moved.
    pub cost_before: f64,
    /// Where the share is not met, and why.
    pub unmet: Vec<String>,
}

/// `max_spot_pool_share` must be a share above 0 and at most 1.
pub(super) fn check_share(share: f64) -> crate::Result<()> {
    if share.is_finite() && share > 0.0 && share <= 1.0 {
        return Ok(());
    }
    Err(crate::Error::Usage(format!(
        "max_spot_pool_share is {share}: must be above 0 and at most 1 (0.5: at most half of the spot nodes in one \
         instance type and zone)"
    )))
}

/// The pool a node launches in, and the price, when it launches spot.
fn spot_launch(node: &NewNode, pool: &PoolContext) -> Option<(PoolKey, f64)> {
    let launch = node.launch(pool)?;
    let it = &pool.instance_types[launch.instance_type as usize];
    let o = &it.offerings[launch.offering];
    (o.capacity_type == CapacityType::Spot).then(|| ((it.name.clone(), o.zone.clone()), launch.price))
}

fn percent(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// A node moved to another pool: its extra cost, the node, what it becomes, and where.
type Move = (f64, usize, NewNode, PoolKey);

impl Simulation<'_> {
    /// Moves spot nodes out of pools holding more than `share` of them (see the module's
    /// documentation).
    pub(super) fn diversify_spot(&mut self, share: f64) -> Diversified {
        let live: Vec<usize> = (0..self.new_nodes.len()).filter(|&n| !self.new_nodes[n].pods.is_empty()).collect();
        let price = |node: &NewNode| node.launch(&self.ctx.pools[node.pool]).map_or(0.0, |l| l.price);
        let cost_before = live.iter().map(|&n| price(&self.new_nodes[n])).sum();
        let mut members: BTreeMap<PoolKey, Vec<usize>> = BTreeMap::new();
        for &n in &live {
            let node = &self.new_nodes[n];
            if let Some((key, _)) = spot_launch(node, &self.ctx.pools[node.pool]) {
                members.entry(key).or_default().push(n);
            }
        }
        let spot: usize = members.values().map(Vec::len).sum();
        let cap = (share * spot as f64 + 1e-9).floor() as usize;
        let mut out = Diversified { moved: 0, cost_before, unmet: Vec::new() };
        if spot == 0 {
            return out;
        }
        if cap == 0 {
            out.unmet.push(format!(
                "spot diversity of at most {} per pool is not met: the plan has {spot} spot node{}, and one pool \
                 holds at least one, {} of them",
                percent(share),
                if spot == 1 { "" } else { "s" },
                percent(1.0 / spot as f64)
            ));
            return out;
        }
        let mut stuck: BTreeSet<PoolKey> = BTreeSet::new();
        loop {
            let over = members
                .iter()
                .filter(|(k, m)| m.len() > cap && !stuck.contains(*k))
                .max_by(|a, b| a.1.len().cmp(&b.1.len()).then_with(|| b.0.cmp(a.0)));
            let Some((from, nodes)) = over.map(|(k, m)| (k.clone(), m.clone())) else { break };
            let full = |members: &BTreeMap<PoolKey, Vec<usize>>| -> BTreeSet<PoolKey> {
                members.iter().filter(|(_, m)| m.len() >= cap).map(|(k, _)| k.clone()).collect()
            };
            let mut moves: Vec<Move> = nodes.iter().filter_map(|&n| self.spot_move(n, &full(&members))).collect();
            moves.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            moves.reverse(); // cheapest last, to pop
            while members[&from].len() > cap {
                let Some((_, n, node, to)) = moves.pop() else { break };
                if members.get(&to).is_some_and(|m| m.len() >= cap) {
                    // Its pool filled up meanwhile: the node's next choice, in its place.
                    if let Some(again) = self.spot_move(n, &full(&members)) {
                        let at = moves.partition_point(|m| m.0.total_cmp(&again.0).then(m.1.cmp(&n)).is_gt());
                        moves.insert(at, again);
                    }
                    continue;
                }
                self.new_nodes[n] = node;
                if let Some(m) = members.get_mut(&from) {
                    m.retain(|&x| x != n);
                }
                members.entry(to).or_default().push(n);
                out.moved += 1;
            }
            let left = members[&from].len();
            if left > cap {
                stuck.insert(from.clone());
                out.unmet.push(format!(
                    "spot diversity of at most {} per pool is not met: {left} of {spot} spot nodes ({}) stay in {} in \
                     {}: their pods' requirements, topology or NodePools leave them no other spot offering in a pool \
                     with room",
                    percent(share),
                    percent(left as f64 / spot as f64),
                    from.0,
                    from.1
                ));
            }
        }
        out
    }

    /// Node `n` narrowed to leave the `full` pools (and its zone or type kept where topology
    /// needs them), if it then still launches spot.
    fn spot_move(&self, n: usize, full: &BTreeSet<PoolKey>) -> Option<Move> {
        let node = &self.new_nodes[n];
        let pool = &self.ctx.pools[node.pool];
        let launch = node.launch(pool)?;
        let here = &pool.instance_types[launch.instance_type as usize].offerings[launch.offering].zone;
        let (mut keep_zone, mut keep_type) = (false, false);
        for &p in &node.pods {
            for key in self.topology.keys_of(self.pod_class[p]) {
                match key {
                    labels::HOSTNAME | labels::CAPACITY_TYPE => {}
                    labels::ZONE | labels::ZONE_ID => keep_zone = true,
                    _ => keep_type = true,
                }
            }
        }
        let mut moved = node.clone();
        moved.keep_offerings(pool, |t, o| {
            let name = &pool.instance_types[t as usize].name;
            (!keep_type || t == launch.instance_type)
                && (!keep_zone || &o.zone == here)
                && !(o.capacity_type == CapacityType::Spot && full.contains(&(name.clone(), o.zone.clone())))
        });
        let (to, price) = spot_launch(&moved, pool)?;
        Some((price - launch.price, n, moved, to))
    }
}

/// Of the runs that diversified, the cost before diversity of the one the plan would have
/// chosen without it: fewest unschedulable pods, then cheapest.
pub(super) fn cost_without(outcomes: &[&Outcome]) -> Option<f64> {
    outcomes
        .iter()
        .filter_map(|o| Some((o.unschedulable.len(), o.diversified.as_ref()?.cost_before)))
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)))
        .map(|(_, cost)| cost)
}

/// The new spot nodes per pool, most first, then by type and zone.
pub(super) fn pools(nodes: &[PlannedNode]) -> Vec<SpotPool> {
    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for n in nodes.iter().filter(|n| n.capacity_type == CapacityType::Spot.as_str()) {
        *counts.entry((&n.instance_type, &n.zone)).or_default() += 1;
    }
    let total: usize = counts.values().sum();
    let mut out: Vec<SpotPool> = counts
        .into_iter()
        .map(|((t, z), nodes)| SpotPool {
            instance_type: t.to_string(),
            zone: z.to_string(),
            nodes,
            share: nodes as f64 / total as f64,
        })
        .collect();
    out.sort_by_key(|p| std::cmp::Reverse(p.nodes));
    out
}

/// The plan's notes and warnings on spot: concentration, diversity and its cost, price
/// inversions; and its spot pools and diversity report.
pub(super) fn report(
    ctx: &FilterContext,
    outcome: &Outcome,
    options: &PlanOptions,
    cost_without: Option<f64>,
    notes: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> (Vec<SpotPool>, Option<SpotDiversity>) {
    let pools = pools(&outcome.nodes);
    let spot: usize = pools.iter().map(|p| p.nodes).sum();
    if let Some(top) = pools.first().filter(|p| spot >= 2 && p.share > 0.5) {
        let held = if top.nodes == spot {
            format!("all {spot} spot nodes are")
        } else {
            format!("{} of {spot} spot nodes ({}) are", top.nodes, percent(top.share))
        };
        let advice = if options.max_spot_pool_share.is_some() {
            ""
        } else {
            "; plan with a spot diversity share (--spot-diversity 0.5) to spread them and see what it costs"
        };
        notes.push(format!(
            "spot concentration: {held} in one capacity pool ({} in {}): one spot interruption there can take \
             them at once{advice}",
            top.instance_type, top.zone
        ));
    }
    let diversity = match (options.max_spot_pool_share, &outcome.diversified) {
        (Some(share), Some(d)) => {
            let without = cost_without.unwrap_or(d.cost_before);
            let extra = (outcome.cost - without).max(0.0) + 0.0;
            notes.push(format!(
                "spot diversity: at most {} of the spot nodes in one pool: {} node{} moved to other pools, {:.4}/h \
                 more ({:.4}/h without)",
                percent(share),
                d.moved,
                if d.moved == 1 { "" } else { "s" },
                extra,
                without
            ));
            warnings.extend(d.unmet.iter().cloned());
            Some(SpotDiversity {
                max_pool_share: share,
                satisfied: d.unmet.is_empty(),
                nodes_moved: d.moved,
                cost_per_hour_without: without + 0.0,
                extra_cost_per_hour: extra,
            })
        }
        _ => None,
    };
    notes.extend(inversions(ctx, &outcome.nodes));
    (pools, diversity)
}

/// Notes for the spot prices the plan depends on that are below a strictly smaller type's of
/// the same family in the same zone, or below [`IMPLAUSIBLE_SPOT_SHARE`] of the type's own
/// on-demand price there: spot prices move, and such a price is the first to.
fn inversions(ctx: &FilterContext, nodes: &[PlannedNode]) -> Vec<String> {
    let mut used: BTreeMap<(&str, &str), (usize, &str)> = BTreeMap::new();
    for n in nodes.iter().filter(|n| n.capacity_type == CapacityType::Spot.as_str()) {
        used.entry((&n.instance_type, &n.zone)).or_insert((0, &n.nodepool)).0 += 1;
    }
    // Per type, price and reason: the nodes and zones.
    let mut flagged: BTreeMap<(&str, String, String), (usize, Vec<&str>)> = BTreeMap::new();
    for ((name, zone), (count, nodepool)) in used {
        let Some(pool) = ctx.pools.iter().find(|p| p.nodepool.name == nodepool) else { continue };
        let types = &pool.instance_types;
        let Some(it) = types.iter().find(|t| t.name == name) else { continue };
        let price_in = |t: &crate::catalog::InstanceType, ct: CapacityType| {
            t.offerings.iter().filter(|o| o.zone == zone && o.capacity_type == ct).map(|o| o.price).reduce(f64::min)
        };
        let Some(spot) = price_in(it, CapacityType::Spot) else { continue };
        let family = |t: &crate::catalog::InstanceType| {
            t.requirements.get(labels::INSTANCE_FAMILY).and_then(|r| r.values().next().map(str::to_string))
        };
        let Some(fam) = family(it) else { continue };
        let (cpu, memory) = (it.capacity.cpu, it.capacity.memory);
        let smaller = types
            .iter()
            .filter(|t| {
                t.capacity.cpu <= cpu
                    && t.capacity.memory <= memory
                    && (t.capacity.cpu < cpu || t.capacity.memory < memory)
                    && family(t).as_deref() == Some(fam.as_str())
            })
            .filter_map(|t| Some((price_in(t, CapacityType::Spot)?, t.name.as_str())))
            .filter(|(p, _)| *p > spot)
            .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(a.1)));
        let on_demand = price_in(it, CapacityType::OnDemand);
        let deep = on_demand.filter(|od| spot < IMPLAUSIBLE_SPOT_SHARE * od);
        let why = match (smaller, deep) {
            (Some((p, s)), _) => format!("below the smaller {s}'s {p:.4}/h"),
            (None, Some(od)) => format!(
                "{} of its on-demand price {od:.4}/h, a deeper discount than spot usually gives (up to 90%)",
                percent(spot / od)
            ),
            (None, None) => continue,
        };
        let entry = flagged.entry((name, format!("{spot:.4}"), why)).or_default();
        entry.0 += count;
        entry.1.push(zone);
    }
    flagged
        .into_iter()
        .map(|((name, spot, why), (count, zones))| {
            format!(
                "spot price inversion: {count} node{} priced at {name}'s spot price, {spot}/h in {}, {why}; spot \
                 prices move, and this plan's cost depends on that one",
                if count == 1 { "" } else { "s" },
                zones.join(", ")
            )
        })
        .collect()
}

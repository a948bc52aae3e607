//! Packing: the scheduling simulation that places every pending pod on an existing node or a
//! new one, and prices the new nodes.
//!
//! `karpenter` mode follows Karpenter v1's scheduler pod by pod:
//! - pods in queue order (CPU desc, memory desc, creation, name);
//! - each pod tries existing nodes (ready first, then by name), first fit; then the new nodes
//!   of this run in ascending pod count, as Go's `sort.Slice` leaves Karpenter's slice of
//!   them ([`order`]); then a new NodeClaim from each NodePool by weight — the first that fits
//!   wins;
//! - adding a pod to a NodeClaim narrows its requirements and instance-type options: the
//!   options keep the types whose allocatable, less DaemonSet overhead, holds all its pods and
//!   that have a compatible offering; host ports must not clash; minValues must hold;
//! - a new NodeClaim sees only the types that fit under its NodePool's remaining limits, and
//!   is charged the largest of them;
//! - a NodeClaim launches its cheapest option, preferring reserved, then spot (no dearer than
//!   the cheapest on-demand offering, unless a requirement has minValues), then on-demand.
//!
//! Documented differences (see `core/tests/karpenter/README.md`): among equally good topology
//! domains the first in name order is taken (Karpenter's choice is random); a pod whose
//! required node-affinity terms are ORed uses, per NodePool, the first term that NodePool can
//! satisfy.

mod cluster;
mod efficiency;
mod go_sort;
mod nodes;
mod optimize;
mod order;
mod spot;
mod topology;
mod zones;

use crate::bound::{lower_bound_beyond, BoundClass, BoundInput, BoundNodeType, Effort};
use crate::catalog::Catalog;
use crate::filter::{default_nodepool, shape_classes, ClassFilter, FilterContext, ShapeClass};
use crate::model::{Inventory, NodePool, Pod};
use crate::plan::{positive_zero, ExistingPlacement, Mode, Plan, PlanOptions, PlannedNode, Unschedulable, Utilisation};
use crate::profile::phase;
use crate::resources::Resources;
use crate::Result;
pub(crate) use nodes::TypeTable;
use nodes::{ExistingNode, NewNode, PodTopology, Rejection};
use order::NodeOrder;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use topology::{Screen, Topology};

pub(crate) use cluster::{repack, Cluster};

/// Plans the pending pods of an inventory: existing nodes first, then new nodes.
///
/// `optimize` and `exact` plans also run `karpenter` mode on the same input: its cost is
/// reported for comparison, and should it ever place more pods or cost less, its placement
/// is returned (with a note), so those modes are never worse than Karpenter's.
pub fn plan(inventory: &Inventory, catalog: &Catalog, options: &PlanOptions) -> Result<Plan> {
    plan_with_progress(inventory, catalog, options, &mut |_, _| {})
}

/// [`plan`], telling `progress` (steps done, steps in all) as it goes: a step per shape class
/// filtered, per packing run (two in `optimize` and `exact` modes) and for the lower bound.
pub fn plan_with_progress(
    inventory: &Inventory,
    catalog: &Catalog,
    options: &PlanOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Plan> {
    plan_bounded(inventory, catalog, options, progress, true)
}

/// [`plan`] without its lower bound (0 unless `exact` mode proved one), for callers that
/// only act on the placement: a simulation provisions thousands of times.
pub(crate) fn plan_unbounded(inventory: &Inventory, catalog: &Catalog, options: &PlanOptions) -> Result<Plan> {
    plan_bounded(inventory, catalog, options, &mut |_, _| {}, false)
}

fn plan_bounded(
    inventory: &Inventory,
    catalog: &Catalog,
    options: &PlanOptions,
    progress: &mut dyn FnMut(usize, usize),
    bounded: bool,
) -> Result<Plan> {
    if let Some(t) = options.time_limit_seconds.filter(|t| t.is_nan() || *t <= 0.0) {
        return Err(crate::Error::Usage(format!("time_limit_seconds is {t}: must be a positive number of seconds")));
    }
    if let Some(share) = options.max_spot_pool_share {
        spot::check_share(share)?;
    }
    // NodeClaims in flight are nodes to come: the pods they were made for go there.
    let in_flight_note = crate::claims::in_flight_note(inventory);
    let inventory = &*crate::claims::with_in_flight(inventory, catalog);
    let pools: Vec<NodePool> =
        if inventory.nodepools.is_empty() { vec![default_nodepool()] } else { inventory.nodepools.clone() };
    let daemonsets: Vec<&Pod> = inventory.daemonsets.iter().map(|d| &d.template).collect();
    let ctx = phase("nodepool context", || FilterContext::new(&pools, &inventory.nodeclasses, &daemonsets, catalog))?;
    let pending: Vec<&Pod> = inventory.pending_pods().collect();
    let cluster = Cluster::new(inventory);
    let classes = phase("shape classes", || shape_classes(&pending, inventory));
    let runs = if options.mode == Mode::Karpenter { 1 } else { 2 };
    let steps = classes.len() + runs + 1;
    let mut done = 0;
    let mut step = |done: &mut usize| {
        *done += 1;
        progress(*done, steps);
    };
    // Classes that differ only in what topology sees of them share their filter.
    let filters: Vec<Arc<ClassFilter>> = phase("class filters", || {
        classes
            .iter()
            .map(|c| {
                let filter = ctx.filter_cached(c);
                step(&mut done);
                filter
            })
            .collect()
    });
    let mut notes = inventory.notes.clone();
    notes.extend(in_flight_note);
    notes.extend(ctx.notes.iter().cloned());
    if inventory.nodepools.is_empty() {
        notes.push(crate::filter::default_nodepool_note());
    }
    let topology = topology(&ctx, &cluster, &pending, &classes);
    // A bound the exact mode proves for the whole plan, if it does.
    #[cfg_attr(not(feature = "milp"), allow(unused_mut))]
    let mut exact_bound: Option<f64> = None;
    #[cfg_attr(not(feature = "milp"), allow(unused_mut))]
    let mut simulate = |mode: Mode, notes: &mut Vec<String>| -> Result<Outcome> {
        let mut sim = phase("simulation setup", || {
            Simulation::new(&ctx, &cluster, &pending, &classes, &filters, topology.clone())
        });
        match mode {
            Mode::Karpenter => phase("karpenter packing", || sim.run_karpenter()),
            Mode::Optimize => phase("optimize packing", || sim.run_optimize()),
            #[cfg(feature = "milp")]
            Mode::Exact => {
                let milp = crate::milp::MilpOptions {
                    time_limit_seconds: options.time_limit_seconds.unwrap_or(DEFAULT_TIME_LIMIT_SECONDS),
                    ..Default::default()
                };
                if let Some(report) = sim.run_exact(&milp) {
                    notes.push(report.note);
                    if report.covers_plan {
                        exact_bound = Some(report.lower_bound);
                    }
                }
            }
            #[cfg(not(feature = "milp"))]
            Mode::Exact => {
                let _ = notes; // exact mode's report goes there
                return Err(crate::Error::Usage(
                    "exact mode needs fleetfit built with the `milp` feature (HiGHS), on a native target".to_string(),
                ));
            }
        }
        let diversified = options.max_spot_pool_share.map(|share| sim.diversify_spot(share));
        step(&mut done);
        Ok(Outcome { diversified, ..sim.finish() })
    };
    let karpenter = simulate(Mode::Karpenter, &mut notes)?;
    let mut cost_without = spot::cost_without(&[&karpenter]);
    let (outcome, karpenter_cost) = match options.mode {
        Mode::Karpenter => (karpenter, None),
        Mode::Optimize | Mode::Exact => {
            let cost = karpenter.cost;
            let optimized = simulate(options.mode, &mut notes)?;
            cost_without = spot::cost_without(&[&karpenter, &optimized]);
            if karpenter.better_than(&optimized) {
                notes.push(format!(
                    "{} mode's own plan ({} unschedulable, {:.4}/h) was no better than karpenter mode's, which is returned",
                    options.mode,
                    optimized.unschedulable.len(),
                    optimized.cost
                ));
                (karpenter, Some(cost))
            } else {
                (optimized, Some(cost))
            }
        }
    };

    // Valid bounds: every pod, with the existing nodes' room shared; the classes no existing
    // node can take; and, when some pods must share a node, every pod with that rule left out
    // (a relaxation, but a small one, which column generation solves better within its
    // effort than one with a large pod per group); and the first with zones' shares split off
    // (stronger, but larger: it may lose the whole-node branching the first gets). The best
    // one stands.
    let mut lower = exact_bound.unwrap_or(0.0);
    if bounded {
        let input = |partial: bool, together: bool, merge: bool| {
            phase("bound input", || {
                bound_input(&ctx, &pending, &classes, &filters, &cluster, &topology, partial, together, merge)
            })
        };
        // Classes alike but for their topology merge past MERGE_CONSTRAINED_FROM classes, and
        // when the input would otherwise be too large for column generation (which the merged
        // one gets, where the other would get the resource-volume LP alone).
        let mut merge = classes.len() > MERGE_CONSTRAINED_FROM;
        let (mut whole, mut zoning) = input(true, true, merge);
        let cells = |i: &BoundInput| i.classes.len() * i.node_types.len();
        if !merge && cells(&whole) > COLUMN_GENERATION_CELLS {
            let merged = input(true, true, true);
            if cells(&merged.0) <= COLUMN_GENERATION_CELLS {
                merge = true;
                (whole, zoning) = merged;
            }
        }
        let zoned = zoning.and_then(|z| phase("bound input", || z.split(&whole, COLUMN_GENERATION_CELLS)));
        // Without existing room to share, the second is the first.
        let strict = whole.node_types.iter().any(|t| t.max_nodes.is_some()).then(|| input(false, true, merge).0);
        let apart = (0..classes.len()).any(|c| topology.shared_host(c).is_some()).then(|| input(true, false, merge).0);
        for input in std::iter::once(whole).chain(zoned).chain(strict).chain(apart) {
            lower = lower.max(phase("lower bound", || lower_bound_beyond(&input, bound_effort(&input), lower).value));
        }
    }
    step(&mut done);
    let lower = lower.min(outcome.cost);
    let mut outcome = outcome;
    let mut warnings = inventory.warnings();
    let windows: Vec<String> = outcome
        .nodes
        .iter_mut()
        .filter(|n| {
            catalog.prices_windows_as_linux()
                && ctx
                    .pools
                    .iter()
                    .find(|p| p.nodepool.name == n.nodepool)
                    .is_some_and(|p| crate::catalog::runs_windows(p, &n.instance_type))
        })
        .map(|n| {
            n.linux_priced = true;
            n.name.clone()
        })
        .collect();
    warnings.extend(crate::catalog::linux_priced_warning(&windows));
    let (spot_pools, spot_diversity) = spot::report(&ctx, &outcome, options, cost_without, &mut notes, &mut warnings);
    let pending_requests: std::collections::HashMap<String, &Resources> =
        pending.iter().map(|p| (p.key(), &p.requests)).collect();
    let existing_nodes =
        crate::plan::ExistingNodeUse::of(&inventory.nodes, &inventory.pods, &outcome.existing, |key| {
            pending_requests.get(key).copied()
        });
    let (mut used, mut total) = (Resources::default(), Resources::default());
    for n in &outcome.nodes {
        used.add_assign(&n.requests);
        total.add_assign(&n.allocatable);
    }
    Ok(Plan {
        mode: options.mode,
        region: ctx.region.clone(),
        currency: ctx.currency.clone(),
        cost_per_hour: positive_zero(outcome.cost),
        karpenter_cost_per_hour: karpenter_cost.map(positive_zero),
        lower_bound_per_hour: positive_zero(lower),
        gap: Plan::gap_of(outcome.cost, lower),
        nodes: outcome.nodes,
        existing: outcome.existing,
        existing_nodes,
        unschedulable: outcome.unschedulable,
        utilisation: Utilisation::of(&used, &total),
        notes,
        warnings,
        spot_pools,
        spot_diversity,
    })
}

/// How hard the plan's lower bound works: column generation until it stalls (at most 200
/// rounds; knapsacks of up to 1,000 nodes, 200 past a fifth of the cells, deeper when a round
/// finds nothing) on problems of up to [`COLUMN_GENERATION_CELLS`] classes × node types,
/// where it lifts the bound over the resource-volume LP by tens of percent (the 20,000-pod
/// mix: 45.67 → 49.01/h in 0.08 s; the quality suite's mean gap 13.3% → 11.6%); the
/// resource-volume LP alone beyond (on
/// Karpenter's 400-type benchmark its knapsacks take seconds and lift nothing). Counted in
/// rounds and nodes, never time, so the bound is the same on every machine.
fn bound_effort(input: &BoundInput) -> Effort {
    let cells = input.classes.len() * input.node_types.len();
    if cells <= COLUMN_GENERATION_CELLS / 5 {
        Effort { max_iterations: 200, max_columns: 10_000, knapsack_nodes: 1_000 }
    } else if cells <= COLUMN_GENERATION_CELLS {
        Effort { max_iterations: 200, max_columns: 10_000, knapsack_nodes: 200 }
    } else {
        Effort::quick()
    }
}

/// See [`bound_effort`].
const COLUMN_GENERATION_CELLS: usize = 100_000;
/// Shape classes past which the bound merges classes with topology rules (see `bound_input`).
const MERGE_CONSTRAINED_FROM: usize = 500;

/// `exact` mode's time limit when [`PlanOptions::time_limit_seconds`] is not set.
#[cfg(feature = "milp")]
pub const DEFAULT_TIME_LIMIT_SECONDS: f64 = 10.0;

/// What one packing run decided.
pub(crate) struct Outcome {
    pub nodes: Vec<PlannedNode>,
    /// Per new node: the prices of its options (`instance_types`), cheapest first.
    pub option_prices: Vec<Vec<f64>>,
    pub existing: Vec<ExistingPlacement>,
    pub unschedulable: Vec<Unschedulable>,
    /// Of the new nodes, per hour.
    pub cost: f64,
    /// What keeping spot nodes spread did, when asked.
    pub diversified: Option<spot::Diversified>,
}

impl Outcome {
    /// Fewer unschedulable pods, then keeping to the spot diversity asked, then a lower cost
    /// (beyond rounding).
    fn better_than(&self, other: &Outcome) -> bool {
        let diverse = |o: &Outcome| o.diversified.as_ref().is_none_or(|d| d.unmet.is_empty());
        match self.unschedulable.len().cmp(&other.unschedulable.len()) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Greater => false,
            std::cmp::Ordering::Equal => match (diverse(self), diverse(other)) {
                (true, false) => true,
                (false, true) => false,
                _ => self.cost < other.cost - 1e-9,
            },
        }
    }
}

/// The topology of a run: the groups of the classes' pods (one representative each) and of
/// the pods bound to the cluster's nodes, over the domains the NodePools, instance types and
/// nodes give.
fn topology(ctx: &FilterContext, cluster: &Cluster<'_>, pods: &[&Pod], classes: &[ShapeClass]) -> Topology {
    phase("topology", || topology_of(ctx, cluster, pods, classes))
}

fn topology_of(ctx: &FilterContext, cluster: &Cluster<'_>, pods: &[&Pod], classes: &[ShapeClass]) -> Topology {
    let representatives: Vec<&Pod> = classes.iter().map(|c| pods[c.pods[0]]).collect();
    // Groups come from the representatives' constraints and the bound pods' required
    // anti-affinity; every bound pod is counted in the groups that select it.
    let bound: Vec<(&Pod, &crate::model::Labels)> =
        cluster.nodes().flat_map(|(node, pods)| pods.iter().map(move |p| (*p, &node.labels))).collect();
    let mut topology = Topology::new(&representatives, &bound);
    let keys = topology.keys();
    if !keys.is_empty() {
        topology.set_universe(domains(ctx, cluster.inventory, &keys));
    }
    topology
}

/// The lower-bound problem: every pending pod, in classes, against every (NodePool, instance
/// type) that can host them at its cheapest compatible price and, with `partial`, the
/// existing nodes' free room as nodes of price 0 (as many as there are nodes with that room
/// and those classes it could take), with the distinct nodes their required topology asks
/// for and the most of them a node may hold. Limits are relaxed away, so the bound is valid
/// for every plan. With `partial` false, only the classes no existing node can take at all,
/// on new nodes (a smaller problem, whose bound the column generation sometimes gets closer
/// to within its effort). With `together` false, pods that must share a node are classed as
/// if they need not. With `merge_constrained`, classes alike but for their topology are one (a
/// relaxation, for inputs too large otherwise). With it, when some class spreads over zones,
/// how to split each zone's share of those classes off (see [`zones`]).
#[allow(clippy::too_many_arguments)]
fn bound_input(
    ctx: &FilterContext,
    pending: &[&Pod],
    classes: &[ShapeClass],
    filters: &[Arc<ClassFilter>],
    cluster: &Cluster<'_>,
    topology: &Topology,
    partial: bool,
    together: bool,
    merge_constrained: bool,
) -> (BoundInput, Option<zones::Zoning>) {
    let dimensions: Vec<String> = {
        let mut names: BTreeSet<String> = BTreeSet::new();
        for c in classes {
            names.extend(c.requests.iter().map(|(n, _)| n.to_string()));
        }
        names.into_iter().collect()
    };
    let existing: Vec<ExistingNode> = cluster.existing();
    let mut out = BoundInput { dimensions: dimensions.clone(), classes: Vec::new(), node_types: Vec::new() };
    // Per pool, per instance type: the cheapest compatible prices of the classes it may host
    // (ascending, distinct); a node type for each. A class may use those priced at or above its
    // own cheapest on the type: a real node launches an offering every class on it allows, so
    // it costs at least the dearest of their cheapest prices, and that node type holds them all
    // (a class pinned to on-demand is not priced at spot).
    let mut prices: Vec<Vec<Vec<f64>>> = ctx.pools.iter().map(|p| vec![Vec::new(); p.instance_types.len()]).collect();
    // The filters of the bound classes, each once, with the bound classes using it.
    let mut uses: Vec<(&ClassFilter, Vec<usize>)> = Vec::new();
    let mut filter_index: std::collections::HashMap<*const ClassFilter, usize> = Default::default();
    // Per existing node: the bound classes it could take a pod of.
    let mut takes: Vec<Vec<usize>> = vec![Vec::new(); existing.len()];
    // Classes alike to the bound (the same candidates, the same demand, no topology rule) are
    // one: the relaxation cannot tell them apart, and it stays small. An existing node may
    // take the merged class when it could take one of them (more room only lowers a bound).
    // With `merge_constrained`, classes with topology merge too, as a relaxation:
    // the merged pods need at least the most distinct nodes any of them needs, and a node
    // holds at most the sum of their caps (none when one has none).
    let mut alike: std::collections::HashMap<(*const ClassFilter, Vec<u64>), usize> = Default::default();
    // Pods that must all share one node are one pod of their summed demand (see
    // `one_node_groups`): per group, its member classes' filters and the summed demand.
    let one_node =
        if together { one_node_groups(classes, filters, &existing, topology) } else { vec![None; classes.len()] };
    let mut together: BTreeMap<usize, (Vec<&ClassFilter>, Vec<f64>)> = BTreeMap::new();
    // Per bound class: its pods' shares per zone, when some zone gets at least one (see `zones`).
    let mut pinned: BTreeMap<usize, zones::Shares> = BTreeMap::new();
    for (ci, class) in classes.iter().enumerate() {
        let room: Vec<bool> = existing.iter().map(|n| n.room_for(class) > 0).collect();
        let on_existing = room.iter().any(|&r| r);
        let count = class.pods.len() as u64;
        if (on_existing && !partial) || filters[ci].candidates.is_empty() {
            continue;
        }
        if let Some(g) = one_node[ci] {
            for cand in &filters[ci].candidates {
                let known = &mut prices[cand.pool][cand.instance_type];
                if !known.contains(&cand.price) {
                    known.push(cand.price);
                }
            }
            let (members, demand) = together.entry(g).or_insert_with(|| (Vec::new(), vec![0.0; dimensions.len()]));
            if !members.iter().any(|f| std::ptr::eq(*f, &*filters[ci])) {
                members.push(&filters[ci]);
            }
            for (total, d) in demand.iter_mut().zip(&dimensions) {
                *total += count as f64 * class.requests.get(d) as f64;
            }
            continue;
        }
        let pod = pending[class.pods[0]];
        let min_nodes = topology.min_nodes(ci, count, pod, &class.terms[0]);
        // What its zone spreads say of each zone's share (one node-affinity term only: with
        // several, the zones it may use are theirs together): a zone, so a node, holds at most
        // so many of its pods.
        let shares = if merge_constrained || class.terms.len() != 1 {
            zones::Shares::default()
        } else {
            zones::shares(&topology.zone_spreads(ci, pod, &class.terms[0]), count)
        };
        let max_per_node = zones::tighter_cap(topology.max_per_node(ci, pod), shares.most);
        let demand: Vec<f64> = dimensions.iter().map(|d| class.requests.get(d) as f64).collect();
        let index = if merge_constrained || (min_nodes == 0 && max_per_node.is_none()) {
            let key = (Arc::as_ptr(&filters[ci]), demand.iter().map(|d| d.to_bits()).collect());
            match alike.entry(key) {
                std::collections::hash_map::Entry::Occupied(e) => {
                    let merged = &mut out.classes[*e.get()];
                    merged.count += count;
                    merged.min_nodes = merged.min_nodes.max(min_nodes);
                    merged.max_per_node = merged.max_per_node.zip(max_per_node).map(|(a, b)| a + b);
                    Some(*e.get())
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(out.classes.len());
                    None
                }
            }
        } else {
            None
        };
        let index = index.unwrap_or_else(|| {
            out.classes.push(BoundClass { count, demand, min_nodes, max_per_node });
            let class_index = out.classes.len() - 1;
            let f = *filter_index.entry(Arc::as_ptr(&filters[ci])).or_insert_with(|| {
                for cand in &filters[ci].candidates {
                    let known = &mut prices[cand.pool][cand.instance_type];
                    if !known.contains(&cand.price) {
                        known.push(cand.price);
                    }
                }
                uses.push((&filters[ci], Vec::new()));
                uses.len() - 1
            });
            uses[f].1.push(class_index);
            class_index
        });
        if !shares.floors.is_empty() {
            pinned.insert(index, shares);
        }
        for (n, _) in room.iter().enumerate().filter(|(_, &r)| r) {
            if !takes[n].contains(&index) {
                takes[n].push(index);
            }
        }
    }
    // The node types, by pool, instance type and price; then the classes each may host.
    let mut first: Vec<Vec<usize>> = ctx.pools.iter().map(|p| vec![usize::MAX; p.instance_types.len()]).collect();
    for (pool_index, pool) in ctx.pools.iter().enumerate() {
        for (t, known) in prices[pool_index].iter_mut().enumerate() {
            if known.is_empty() {
                continue;
            }
            known.sort_by(f64::total_cmp);
            first[pool_index][t] = out.node_types.len();
            let capacity: Vec<f64> = dimensions.iter().map(|d| pool.type_space[t].get(d) as f64).collect();
            for &price in known.iter() {
                out.node_types.push(BoundNodeType {
                    price,
                    capacity: capacity.clone(),
                    classes: Vec::new(),
                    max_nodes: None,
                });
            }
        }
    }
    for (filter, users) in &uses {
        for cand in &filter.candidates {
            let known = &prices[cand.pool][cand.instance_type];
            let start = first[cand.pool][cand.instance_type];
            for (k, &price) in known.iter().enumerate() {
                if price >= cand.price {
                    out.node_types[start + k].classes.extend_from_slice(users);
                }
            }
        }
    }
    // Groups alike to the bound (the same node types, the same demand rounded down to a
    // power of 2^(1/8)) are one class of as many pods of that rounded demand: a relaxation
    // (each needs at least that), and a class of several pods is what column generation
    // prices well (one pod per group, each different, it does not). A group alike to no other
    // keeps its demand.
    let mut alike_groups: BTreeMap<(Vec<usize>, Vec<u64>), usize> = BTreeMap::new();
    for (members, demand) in together.into_values() {
        // Per pool, per type every member may use: the dearest of their cheapest prices there.
        // (Counted once per member: `last` is the last member seen there.)
        let mut need: Vec<Vec<(f64, usize, usize)>> =
            prices.iter().map(|p| vec![(0.0, 0, usize::MAX); p.len()]).collect();
        for (m, filter) in members.iter().enumerate() {
            for cand in &filter.candidates {
                let (price, seen, last) = &mut need[cand.pool][cand.instance_type];
                *price = price.max(cand.price);
                if *last != m {
                    *seen += 1;
                    *last = m;
                }
            }
        }
        let mut hosts: Vec<usize> = Vec::new();
        for (pool, types) in need.into_iter().enumerate() {
            for (t, (price, seen, _)) in types.into_iter().enumerate() {
                if seen < members.len() {
                    continue;
                }
                let start = first[pool][t];
                for (k, &p) in prices[pool][t].iter().enumerate() {
                    if p >= price {
                        hosts.push(start + k);
                    }
                }
            }
        }
        let rounded: Vec<f64> = demand.iter().map(|&d| rounded_down(d)).collect();
        let key = (hosts, rounded.iter().map(|d| d.to_bits()).collect());
        if let Some(&index) = alike_groups.get(&key) {
            let merged = &mut out.classes[index];
            merged.count += 1;
            merged.demand = rounded;
            continue;
        }
        let index = out.classes.len();
        for &t in &key.0 {
            out.node_types[t].classes.push(index);
        }
        alike_groups.insert(key, index);
        out.classes.push(BoundClass { count: 1, demand, min_nodes: 0, max_per_node: None });
    }
    for node_type in &mut out.node_types {
        node_type.classes.sort_unstable();
    }
    // The existing nodes' free room, alike nodes (in one zone, when zones matter) as one type
    // of as many nodes.
    // Keyed by room, classes taken and zone.
    type Room = (Vec<u64>, Vec<usize>, Option<String>);
    let mut rooms: BTreeMap<Room, u64> = Default::default();
    for (node, mut hosts) in existing.iter().zip(takes) {
        if hosts.is_empty() {
            continue;
        }
        hosts.sort_unstable();
        let room: Vec<u64> = dimensions.iter().map(|d| node.available().get(d).max(0) as u64).collect();
        let zone = if pinned.is_empty() { None } else { node.node.labels.get(crate::labels::ZONE).cloned() };
        *rooms.entry((room, hosts, zone)).or_default() += 1;
    }
    let first_room = out.node_types.len();
    let mut room_zones = Vec::new();
    for ((room, hosts, zone), nodes) in rooms {
        out.node_types.push(BoundNodeType {
            price: 0.0,
            capacity: room.into_iter().map(|v| v as f64).collect(),
            classes: hosts,
            max_nodes: Some(nodes),
        });
        room_zones.push(zone);
    }
    let zoning = (!pinned.is_empty()).then_some(zones::Zoning { pinned, first_room, room_zones });
    (out, zoning)
}

/// `v` rounded down to a power of 2^(1/8) (0 stays 0).
fn rounded_down(v: f64) -> f64 {
    if v <= 0.0 {
        return 0.0;
    }
    let step = (v.log2() * 8.0).floor();
    let mut out = (step / 8.0).exp2();
    while out > v {
        out = ((step - 1.0) / 8.0).exp2();
    }
    out
}

/// Per class: the group of pods that must all share one node it is in, if any — pods of a
/// required hostname affinity that selects only pods owning it, of which no pod is bound yet
/// and none fits an existing node: Karpenter's first pod of them fixes the node for all (a
/// node that cannot take them all leaves the rest pending), so a bound may count them as one
/// pod of their summed demand.
fn one_node_groups(
    classes: &[ShapeClass],
    filters: &[Arc<ClassFilter>],
    existing: &[ExistingNode],
    topology: &Topology,
) -> Vec<Option<usize>> {
    let mut owners: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for c in 0..classes.len() {
        if let Some(g) = topology.shared_host(c) {
            owners.entry(g).or_default().push(c);
        }
    }
    let mut out = vec![None; classes.len()];
    for (g, members) in owners {
        let alone = topology.is_empty(g) && topology.classes_selected(g) == members.len();
        let fresh = members
            .iter()
            .all(|&c| !filters[c].candidates.is_empty() && existing.iter().all(|n| n.room_for(&classes[c]) == 0));
        if alone && fresh {
            members.into_iter().for_each(|c| out[c] = Some(g));
        }
    }
    out
}

/// The state of one packing run.
#[derive(Clone)]
struct Simulation<'a> {
    ctx: &'a FilterContext,
    pods: &'a [&'a Pod],
    classes: &'a [ShapeClass],
    filters: &'a [Arc<ClassFilter>],
    pod_class: Vec<usize>,
    /// Per class, per pool: the class's candidates there (see [`Allowed`]).
    allowed: Vec<Arc<Vec<Option<Allowed>>>>,
    existing: Vec<ExistingNode<'a>>,
    new_nodes: Vec<NewNode>,
    /// New nodes in the order they are tried.
    order: NodeOrder,
    /// Per pool: remaining room under its limits (only limited resources are listed).
    remaining: Vec<Vec<(String, i64)>>,
    placement: Vec<Placement>,
    /// Per pod: its relaxation level (preferences dropped so far).
    level: Vec<usize>,
    /// Per pod: why the last attempt to open a node of each pool failed.
    failures: Vec<Vec<(usize, Rejection)>>,
    topology: Topology,
    /// Per class, per new node: the node can never take a pod of the class.
    dead: Vec<Marks>,
    /// Per class: its requests' index among the run's distinct requests (see `over_cap`).
    shape: Vec<usize>,
    /// Per distinct requests, per new node: the node keeps to a room ([`NewNode::cap`]) those
    /// requests do not fit beside its pods. Rooms only fill while the node keeps to one, so the
    /// mark stands until the node stops keeping to it (then its marks are cleared).
    over_cap: Vec<Marks>,
    /// Whether a new NodeClaim keeps only options no larger than its launched type in the
    /// resources its pool limits (`optimize`), or every option (`karpenter`, which charges
    /// the largest against the limits).
    trim_options: bool,
    /// `optimize`: whether the free pods are packed by column generation's LP first, and small
    /// packings parted anew (see [`optimize`]); a consolidation trial, run many times on few
    /// pods, packs greedily.
    pub(crate) lp_packing: bool,
    /// `optimize`: a NodeClaim grows in a way that wastes more than a fresh node would only
    /// when no other node, old or new, can take the pod (see [`efficiency`]); per pool.
    efficiency: Option<Vec<efficiency::Efficiency>>,
    /// The element-wise least requests of the run's pods: a new node without room for them
    /// (in its options, or within the room it keeps to) is taken out of [`Simulation::order`].
    smallest: Resources,
    /// New nodes taken out of the order so (tried last for a pod no other node can take).
    parked: BTreeSet<usize>,
    /// Per pod: what topology counted when it was placed (taken back if it moves).
    recorded: Vec<Vec<topology::Counted>>,
}

/// A set of node indices, a bit each.
#[derive(Debug, Clone, Default)]
struct Marks(Vec<u64>);

impl Marks {
    fn has(&self, n: usize) -> bool {
        self.0.get(n / 64).is_some_and(|w| w >> (n % 64) & 1 == 1)
    }

    fn set(&mut self, n: usize) {
        if self.0.len() <= n / 64 {
            self.0.resize(n / 64 + 1, 0);
        }
        self.0[n / 64] |= 1 << (n % 64);
    }

    fn clear(&mut self, n: usize) {
        if let Some(w) = self.0.get_mut(n / 64) {
            *w &= !(1 << (n % 64));
        }
    }
}

/// A class's candidates in one pool: the required node-affinity term used, and per instance
/// type the class's compatible offerings (0: not a candidate).
type Allowed = (usize, Vec<u64>);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Placement {
    Pending,
    Existing(usize),
    New(usize),
}

impl<'a> Simulation<'a> {
    fn new(
        ctx: &'a FilterContext,
        cluster: &Cluster<'a>,
        pods: &'a [&'a Pod],
        classes: &'a [ShapeClass],
        filters: &'a [Arc<ClassFilter>],
        topology: Topology,
    ) -> Self {
        let mut pod_class = vec![0; pods.len()];
        for (ci, c) in classes.iter().enumerate() {
            for &p in &c.pods {
                pod_class[p] = ci;
            }
        }
        // Classes sharing a filter share these too (classes differing only in labels are many).
        let mut shared: std::collections::HashMap<*const ClassFilter, Arc<Vec<Option<Allowed>>>> = Default::default();
        let allowed = filters
            .iter()
            .map(|f| {
                let per_pool = shared.entry(Arc::as_ptr(f)).or_insert_with(|| {
                    let mut per_pool: Vec<Option<Allowed>> = vec![None; ctx.pools.len()];
                    for cand in &f.candidates {
                        let entry = per_pool[cand.pool]
                            .get_or_insert_with(|| (cand.term, vec![0; ctx.pools[cand.pool].instance_types.len()]));
                        entry.1[cand.instance_type] = cand.offerings;
                    }
                    Arc::new(per_pool)
                });
                Arc::clone(per_pool)
            })
            .collect();
        let existing = cluster.existing();
        let order = NodeOrder::new(topology.universe());
        let shapes = {
            let mut index: HashMap<&Resources, usize> = HashMap::new();
            let of_class: Vec<usize> = classes
                .iter()
                .map(|c| {
                    let next = index.len();
                    *index.entry(&c.requests).or_insert(next)
                })
                .collect();
            (of_class, index.len())
        };
        let remaining = ctx
            .pools
            .iter()
            .map(|pool| {
                pool.nodepool
                    .limits
                    .keys()
                    .filter_map(|r| {
                        let limit = pool.nodepool.limit(r)?;
                        let used: i64 = cluster
                            .nodes()
                            .filter(|(n, _)| n.nodepool() == Some(pool.nodepool.name.as_str()))
                            .map(|(n, _)| n.capacity.get(r))
                            .sum();
                        Some((r.clone(), limit - used))
                    })
                    .collect()
            })
            .collect();
        Simulation {
            ctx,
            pods,
            classes,
            filters,
            pod_class,
            allowed,
            existing,
            new_nodes: Vec::new(),
            order,
            remaining,
            placement: vec![Placement::Pending; pods.len()],
            level: vec![0; pods.len()],
            recorded: vec![Vec::new(); pods.len()],
            failures: vec![Vec::new(); pods.len()],
            topology,
            dead: vec![Marks::default(); classes.len()],
            shape: shapes.0,
            over_cap: vec![Marks::default(); shapes.1],
            trim_options: false,
            lp_packing: true,
            efficiency: None,
            smallest: pods
                .iter()
                .map(|p| &p.requests)
                .fold(None, |m: Option<Resources>, r| Some(m.map_or_else(|| r.clone(), |m| m.min(r))))
                .unwrap_or_default(),
            parked: BTreeSet::new(),
        }
    }

    /// Pool `pool`'s [`TypeTable`].
    fn table(&self, pool: usize) -> Arc<TypeTable> {
        let pool = &self.ctx.pools[pool];
        Arc::clone(pool.type_table.get_or_init(|| Arc::new(TypeTable::new(pool))))
    }

    /// Karpenter's queue: CPU desc, memory desc, creation asc, then namespace/name.
    fn queue(&self) -> Vec<usize> {
        // (CPU and memory, descending; creation), then uid, namespace and name; the numbers come
        // first side by side, so that most comparisons never reach the names, and the names
        // compare by their first bytes before their text.
        type Keyed<'p> =
            ((std::cmp::Reverse<(i64, i64)>, Option<i64>), (Prefixed<'p>, Prefixed<'p>, Prefixed<'p>), usize);
        let mut keyed: Vec<Keyed> = (0..self.pods.len())
            .map(|p| {
                let pod = self.pods[p];
                (
                    (std::cmp::Reverse((pod.requests.cpu.0, pod.requests.memory.0)), pod.created.map(|t| t.0)),
                    (Prefixed::new(&pod.uid), Prefixed::new(&pod.namespace), Prefixed::new(&pod.name)),
                    p,
                )
            })
            .collect();
        keyed.sort_unstable();
        keyed.into_iter().map(|k| k.2).collect()
    }

    /// `karpenter` mode: every pod through Karpenter's solve loop, in queue order.
    fn run_karpenter(&mut self) {
        self.run_karpenter_on(self.queue());
    }

    /// Karpenter's solve loop over `queue`: a pod that fails is relaxed one step (if it can be)
    /// and requeued; the loop ends when a pass neither places nor relaxes any pod.
    fn run_karpenter_on(&mut self, mut queue: Vec<usize>) {
        if queue.is_empty() {
            return;
        }
        loop {
            let mut failed = Vec::new();
            let mut progress = false;
            for p in queue {
                if self.place(p) {
                    progress = true;
                } else {
                    if self.level[p] + 1 < self.topology.levels_of(self.pod_class[p]) {
                        self.level[p] += 1;
                        progress = true;
                    }
                    failed.push(p);
                }
            }
            if failed.is_empty() || !progress {
                break;
            }
            queue = failed;
        }
    }

    /// Puts new node `n` in its place in [`Simulation::order`] after a change.
    fn reorder(&mut self, n: usize) {
        let node = &self.new_nodes[n];
        let pool = &self.ctx.pools[node.pool];
        self.order.count(n, node.pods.len());
        if node.has_room_for(&self.smallest, pool) && node.within_cap(&self.smallest) {
            self.order.place(n, node.pods.len(), &node.requirements);
            self.parked.remove(&n);
        } else {
            self.order.remove(n);
            self.parked.insert(n);
        }
    }

    /// Tries existing nodes, then this run's new nodes, then a new NodeClaim per NodePool.
    fn place(&mut self, p: usize) -> bool {
        let c = self.pod_class[p];
        let class = &self.classes[c];
        let pod = self.pods[p];
        let level = self.level[p];
        let pod_topology = (self.topology.matters(c, level) || self.topology.preferred_node(c, level).is_some())
            .then(|| PodTopology { topology: &self.topology, class: c, level, pod_requirements: &class.terms[0] });
        if let Some(i) = self.existing.iter().position(|n| n.fits(pod, class, pod_topology.as_ref())) {
            self.existing[i].add(pod, p);
            self.placement[p] = Placement::Existing(i);
            let (reqs, host) = (self.existing[i].requirements().clone(), self.existing[i].hostname);
            self.recorded[p] = self.topology.record(c, level, &reqs, host);
            return true;
        }
        // This run's new nodes, fewest pods first. A node that can never take a pod of this
        // class (no room in its largest option, conflicting requirements, or any rejection
        // when topology is not involved: nodes only gain pods and lose options) is marked dead
        // for the class and skipped from then on.
        let final_level = level + 1 == self.topology.levels_of(c);
        let dead = &mut self.dead[c];
        let over_cap = &mut self.over_cap[self.shape[c]];
        let mut found = None;
        // Only nodes that may be in a domain the pod's topology admits today.
        let admitted =
            pod_topology.as_ref().and_then(|tp| self.topology.admitted_domains(c, level, pod, tp.pod_requirements));
        let candidates = match &admitted {
            Some((key, domains)) => self.order.iter_admitting(key, domains),
            None => self.order.iter(),
        };
        // Optimize: nodes that could take the pod only by growing wastefully (or past
        // the room they keep to since they could), tried again if no other node, old or new,
        // can take it; and the nodes that keep from now on to the room they launch with.
        let mut postponed: Vec<usize> = Vec::new();
        let mut capped: Vec<(usize, Resources)> = Vec::new();
        // Optimize: the first pod of a group that must share a host opens a node of its own
        // (sized for the group, which follows it), unless it cannot.
        let leads_host_group = self.efficiency.is_some()
            && level + 1 == self.topology.levels_of(c)
            && self.topology.shared_host(c).is_some_and(|g| self.topology.is_empty(g));
        for n in candidates {
            if dead.has(n) {
                continue;
            }
            if over_cap.has(n) && !leads_host_group {
                postponed.push(n);
                continue;
            }
            let node = &self.new_nodes[n];
            let Some((term, allowed)) = &self.allowed[c][node.pool] else {
                dead.set(n);
                continue;
            };
            if !node.has_room_for(&pod.requests, &self.ctx.pools[node.pool]) {
                dead.set(n);
                continue;
            }
            if leads_host_group || !node.within_cap(&pod.requests) {
                if !leads_host_group {
                    over_cap.set(n);
                }
                postponed.push(n);
                continue;
            }
            if node.requirements.compatible(&class.terms[*term]).is_err() {
                dead.set(n);
                continue;
            }
            if let Some(tp) = &pod_topology {
                match self.topology.screen(c, level, pod, &node.requirements, &node.hostname, tp.pod_requirements) {
                    Screen::Open => {}
                    Screen::NotNow => continue,
                    // A lower level honours all a higher one does: ruled out for good at the
                    // last level, the node is for every pod of the class.
                    Screen::Never => {
                        if final_level {
                            dead.set(n);
                        }
                        continue;
                    }
                }
            }
            let ctx_pool = &self.ctx.pools[node.pool];
            match node.try_add(pod, &class.terms[*term], allowed, ctx_pool, pod_topology.as_ref()) {
                Ok(next) => {
                    if let Some(efficiency) = self.efficiency.as_mut() {
                        let efficiency = &mut efficiency[node.pool];
                        let fresh = efficiency.fresh(
                            &self.filters[c],
                            ctx_pool,
                            &node.table,
                            &class.terms[*term],
                            &pod.requests,
                            allowed,
                        );
                        if let Some(cap) = grows_wastefully(efficiency, ctx_pool, node, &next, fresh) {
                            capped.push((n, cap));
                            postponed.push(n);
                            continue;
                        }
                    }
                    found = Some((n, next));
                    break;
                }
                Err(_) if pod_topology.is_none() => dead.set(n),
                Err(_) => {}
            }
        }
        for (n, cap) in capped {
            let node = &mut self.new_nodes[n];
            node.cap = Some(cap);
            if !node.within_cap(&self.smallest) {
                self.order.remove(n);
                self.parked.insert(n);
            }
        }
        if let Some((n, next)) = found {
            self.join(n, next, p);
            return true;
        }
        self.failures[p].clear();
        for pool in 0..self.ctx.pools.len() {
            let Some((term, allowed)) = &self.allowed[c][pool] else { continue };
            let ctx_pool = &self.ctx.pools[pool];
            let hostname = format!("{}-new-{}", ctx_pool.nodepool.name, self.new_nodes.len() + 1);
            let fresh = NewNode::open(pool, ctx_pool, self.table(pool), &self.remaining[pool], hostname);
            let added = fresh.and_then(|node| {
                node.try_add(pod, &class.terms[*term], allowed, ctx_pool, pod_topology.as_ref()).map(|n| (node, n))
            });
            match added {
                Ok((mut node, next)) => {
                    node.commit(next, pod, p);
                    if self.trim_options {
                        node.trim_to_launch(ctx_pool, &self.remaining[pool]);
                    }
                    node.charge(ctx_pool, &mut self.remaining[pool], 1);
                    let n = self.new_nodes.len();
                    self.new_nodes.push(node);
                    self.reorder(n);
                    self.placement[p] = Placement::New(n);
                    let node = &self.new_nodes[n];
                    self.recorded[p] = self.topology.record(c, level, &node.requirements, &node.hostname);
                    return true;
                }
                Err(why) => self.failures[p].push((pool, why)),
            }
        }
        let parked: Vec<usize> =
            if self.efficiency.is_some() { self.parked.iter().copied().collect() } else { Vec::new() };
        for n in postponed.into_iter().chain(parked) {
            let node = &self.new_nodes[n];
            if node.pods.is_empty() {
                continue;
            }
            let Some((term, allowed)) = self.allowed[c][node.pool].as_ref() else { continue };
            let ctx_pool = &self.ctx.pools[node.pool];
            if let Ok(next) = node.try_add(pod, &class.terms[*term], allowed, ctx_pool, pod_topology.as_ref()) {
                self.join(n, next, p);
                return true;
            }
        }
        false
    }

    /// Puts pod `p` on this run's new node `n`, which becomes `next`.
    fn join(&mut self, n: usize, next: nodes::Next, p: usize) {
        let node = &mut self.new_nodes[n];
        node.commit(next, self.pods[p], p);
        if node.cap.as_ref().is_some_and(|cap| !node.requests.fits(cap)) {
            node.cap = None;
            for marks in &mut self.over_cap {
                marks.clear(n);
            }
        }
        self.reorder(n);
        self.placement[p] = Placement::New(n);
        let node = &self.new_nodes[n];
        self.recorded[p] = self.topology.record(self.pod_class[p], self.level[p], &node.requirements, &node.hostname);
    }

    fn finish(self) -> Outcome {
        let mut per_pool_count = vec![0usize; self.ctx.pools.len()];
        // Per pool, ranked options by options list (an address: the nodes live until the end).
        let mut ranked = vec![HashMap::new(); self.ctx.pools.len()];
        let (nodes, option_prices): (Vec<PlannedNode>, Vec<Vec<f64>>) = self
            .new_nodes
            .iter()
            .filter(|n| !n.pods.is_empty())
            .map(|n| {
                per_pool_count[n.pool] += 1;
                n.finalize(&self.ctx.pools[n.pool], per_pool_count[n.pool], self.pods, &mut ranked[n.pool])
            })
            .unzip();
        let mut existing = Vec::new();
        let mut unschedulable = Vec::new();
        for (p, placement) in self.placement.iter().enumerate() {
            match placement {
                Placement::Existing(i) => existing
                    .push(ExistingPlacement { pod: self.pods[p].key(), node: self.existing[*i].node.name.clone() }),
                Placement::New(_) => {}
                Placement::Pending => {
                    unschedulable.push(Unschedulable { pod: self.pods[p].key(), reasons: self.reasons(p) })
                }
            }
        }
        let cost = nodes.iter().map(|n| n.price_per_hour).sum();
        Outcome { nodes, option_prices, existing, unschedulable, cost, diversified: None }
    }

    /// Why a pod found no place: per NodePool, the static rejections of its shape class or
    /// why a new node of that pool could not take it.
    fn reasons(&self, p: usize) -> Vec<String> {
        let c = self.pod_class[p];
        let mut out = Vec::new();
        if !self.existing.is_empty() {
            out.push(format!("no existing node fits ({} considered)", self.existing.len()));
        }
        for (pool, why) in &self.failures[p] {
            out.push(format!("NodePool {}: {why}", self.ctx.pools[*pool].nodepool.name));
        }
        for (pool_index, pool) in self.ctx.pools.iter().enumerate() {
            if self.allowed[c][pool_index].is_some() {
                continue;
            }
            let name = &pool.nodepool.name;
            let mut groups: Vec<_> = self.filters[c].rejections.iter().filter(|r| &r.nodepool == name).collect();
            groups.sort_by_key(|r| r.nodepool_only);
            for r in groups.iter().take(3) {
                let scope = if r.instance_types == 0 { String::new() } else { format!("{} types: ", r.instance_types) };
                out.push(format!("NodePool {name}: {scope}{}", r.message));
            }
        }
        out
    }
}

/// Whether adding a pod (making `node` into `next`) wastes more and costs more than a fresh node
/// for it would (`fresh`: its price and waste, see [`efficiency`]): then the room of the type
/// the node launches now, which it should keep to.
fn grows_wastefully(
    efficiency: &mut efficiency::Efficiency,
    pool: &crate::filter::PoolContext,
    node: &NewNode,
    next: &nodes::Next,
    fresh: Option<(f64, f64)>,
) -> Option<Resources> {
    let (fresh_price, fresh_waste) = fresh?;
    let before = node.launch(pool)?;
    if next.offers(before.instance_type, before.offering) {
        return None; // Its options only narrow: what it launched stays the cheapest.
    }
    let after = next.launch(node, pool)?;
    if after.instance_type == before.instance_type {
        return None;
    }
    let growth = efficiency.waste(pool, next.requirements(node), &after)?
        - efficiency.waste(pool, &node.requirements, &before)?;
    let wasteful = growth > fresh_waste + 1e-9 && after.price - before.price > fresh_price + 1e-9;
    wasteful.then(|| pool.type_space[before.instance_type as usize].clone())
}

/// The domains each topology key can take: from every NodePool's allowed instance types (zones
/// and capacity types of their offerings, other keys from their labels), the NodePools' own
/// requirements and labels, and the existing nodes' labels.
fn domains(ctx: &FilterContext, inventory: &Inventory, keys: &BTreeSet<String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for key in keys {
        if key == crate::labels::HOSTNAME {
            continue;
        }
        let set = out.entry(key.clone()).or_default();
        for pool in &ctx.pools {
            let pool_req = pool.requirements.get(key);
            let mut from_types = false;
            for (t, it) in pool.instance_types.iter().enumerate() {
                if !pool.allows(t) {
                    continue;
                }
                let mask = pool.type_offerings[t].0;
                let offered = it.offerings.iter().enumerate().filter(|(i, o)| mask & (1 << i) != 0 && o.available);
                if key == crate::labels::ZONE {
                    set.extend(offered.map(|(_, o)| o.zone.clone()));
                    from_types = true;
                } else if key == crate::labels::CAPACITY_TYPE {
                    set.extend(offered.map(|(_, o)| o.capacity_type.to_string()));
                    from_types = true;
                } else if let Some(r) = it.requirements.get(key) {
                    set.extend(r.values().filter(|v| pool_req.is_none_or(|p| p.has(v))).map(String::from));
                    from_types = true;
                }
            }
            if !from_types {
                if let Some(r) = pool_req {
                    set.extend(r.values().map(String::from));
                }
            }
        }
        for node in &inventory.nodes {
            if let Some(v) = node.labels.get(key) {
                set.insert(v.clone());
            }
        }
    }
    out
}

/// A string ordered as its bytes, compared first by its first eight bytes as one number (a
/// sort of many names then rarely reads their text).
#[derive(Debug, Clone, Copy)]
struct Prefixed<'a> {
    head: u64,
    text: &'a str,
}

impl<'a> Prefixed<'a> {
    fn new(text: &'a str) -> Self {
        let mut head = [0u8; 8];
        let n = text.len().min(8);
        head[..n].copy_from_slice(&text.as_bytes()[..n]);
        Prefixed { head: u64::from_be_bytes(head), text }
    }
}

impl Ord for Prefixed<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Heads zero-padded: when they differ, so do the texts, the same way (a shorter text
        // is a prefix, or differs earlier); equal heads of equal short lengths are equal texts.
        self.head.cmp(&other.head).then_with(|| {
            if self.text.len() == other.text.len() && self.text.len() <= 8 {
                std::cmp::Ordering::Equal
            } else {
                self.text.cmp(other.text)
            }
        })
    }
}

impl PartialOrd for Prefixed<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Prefixed<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Prefixed<'_> {}

#[cfg(test)]
mod tests {
    use super::{rounded_down, Prefixed};

    proptest::proptest! {
        #[test]
        fn prefixed_names_order_as_their_text(a in "[a\\x00b-]{0,12}", b in "[a\\x00b-]{0,12}") {
            proptest::prop_assert_eq!(Prefixed::new(&a).cmp(&Prefixed::new(&b)), a.cmp(&b));
        }
    }

    #[test]
    fn demand_rounds_down_to_a_power_of_the_eighth_root_of_two() {
        for v in [1.0, 2.0, 50.0, 33_000.0, 7.3e10, 0.37, 1e-9] {
            let r = rounded_down(v);
            assert!(r <= v && r > v / 2f64.powf(1.0 / 8.0) * (1.0 - 1e-12), "{v} -> {r}");
            let step = r.log2() * 8.0;
            assert!((step - step.round()).abs() < 1e-9, "{v} -> {r}");
        }
        assert_eq!(rounded_down(32.0), 32.0);
        assert_eq!(rounded_down(0.0), 0.0);
        // Two groups of 50 and 52 pods' demand share a step, 50 and 56 do not.
        assert_eq!(rounded_down(50.0), rounded_down(52.0));
        assert_ne!(rounded_down(50.0), rounded_down(56.0));
    }
}

//! `optimize` mode: the same rules as `karpenter` mode, with cost-aware decisions.
//!
//! 1. Pods with topology (spread, pod affinity or anti-affinity, host ports, preferred node
//!    affinity, or counted by another pod's group) are placed by Karpenter's rules and in its
//!    order (their constraints depend on the order of placement), with two differences: pods
//!    that must share a node (required hostname affinity to each other) come together where
//!    the first of them is, so their node is sized for them; and a NodeClaim does not grow
//!    into a type that wastes more and costs more than a fresh node for the pod would (see
//!    [`super::efficiency`]) unless no other node, old or new, can take the pod — Karpenter
//!    grows its first NodeClaims into the largest, dearest types.
//!
//!    A node of step 1 whose pods are bound by zone and hostname rules only then gives them
//!    back (`Packer::release`): they go through steps 2 to 4 with the free pods, each kept in
//!    its zone when a zone rule concerns it and apart from the pods of its hostname groups;
//!    pods that must share a node go as one item (a *group*) of their summed requests.
//!    Up to [`SPLIT_FROM`] such pods, steps 2 to 4 also run without giving them back and the
//!    cheaper plan is kept; past it, they are placed apart from the others by Karpenter's
//!    rules alone, as only their zones are kept.
//! 2. Every other pod (a *free* pod: its class alone decides where it may go) goes onto an
//!    existing node if one has room — each node in turn takes the pods worth most in its room
//!    (what they would cost on new nodes), then first fit, largest pods first, for the rest —
//!    then into the room a node of step 1 has left on the instance type it launches (no extra
//!    cost).
//! 3. Groups first: each opens the node where it costs least net of the pods that fill the
//!    rest of its room, a pod worth its price in the resource-volume LP of the other pods.
//!    The remaining free pods are packed by shape class. First by linear programming: column
//!    generation ([`crate::bound`]'s, over the items and the node types they may launch) ends
//!    with a fractional packing — nodes per pattern, a pattern being an instance type and
//!    pods per item — that costs about the LP bound of these pods; its patterns, rounded
//!    down, are opened (pods of one hostname group still apart). What is left is packed
//!    greedily: each new node is the pattern —
//!    instance type of the highest-weight NodePool with room, and how many pods of each class
//!    it holds — that packs the most value per unit of price, a pod being worth what it costs
//!    on the type that hosts its class most cheaply per pod. A pattern is repeated while its
//!    classes have pods left. The NodeClaim keeps every type that holds its pods, so it
//!    launches the cheapest (downsizing when a smaller type holds the pattern).
//! 4. Local improvement, until nothing changes: a node whose pods all fit into the room
//!    other nodes leave on their launched types is removed; two nodes whose pods one cheaper
//!    node holds are merged; and on packings of a few nodes, the pods of one node or two are
//!    parted anew over one node more when that costs less (every way of parting them, within
//!    an effort cap: a large type may cost more than two smaller ones, two nodes more than
//!    three).
//!
//! Everything is deterministic: orders are total and no clock or hash order is involved.

use super::nodes::{least_price, NewNode};
use super::topology::Movable;
use super::{Placement, Simulation};
use crate::profile::phase;
use crate::resources::Resources;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// Rounds of local improvement at most.
const IMPROVEMENT_ROUNDS: usize = 8;
/// Nodes considered for pairwise merges per round (the least efficient ones).
const MERGE_CANDIDATES: usize = 48;
/// Packings of at most so many nodes are parted anew (see `Packer::repart`): of one node or
/// two at most so many ways a time, within an effort of so many ways looked at, a node built
/// counting as [`REPART_BUILD_EFFORT`] of them.
const REPART_UP_TO_NODES: usize = 12;
const REPART_WAYS: usize = 4_096;
const REPART_EFFORT: usize = 10_000;
const REPART_BUILD_EFFORT: usize = 20;

/// `(item, pods)` pairs: what a node holds, or is to hold.
type Counts = Vec<(usize, usize)>;
/// Past this many pods to pack again, they are placed apart and packed again only (see
/// `run_optimize_then`); up to it, the packing runs both with and without them.
const SPLIT_FROM: usize = 2_000;
/// Column generation packs at most this many items (see `Packer::pack_by_columns`).
const COLUMN_ITEMS: usize = 2_000;
/// Rounds of column generation for the packing.
const COLUMN_ROUNDS: usize = 10;
/// Solves of the packing's LP at most, and the size (items × node types) past which it is
/// solved once only (see `Packer::pack_by_columns`).
const COLUMN_SOLVES: usize = 16;
const COLUMN_RESOLVE_CELLS: usize = 100_000;
/// A change must save more than this (per hour) to count.
const EPSILON: f64 = 1e-9;
/// Search nodes of the knapsack filling a node around a group moved as one.
const FILL_NODES: usize = 20;
/// Node types tried per group moved as one (the most promising by value per price).
const FILL_TRIES: usize = 8;

/// Resource amounts as a dense vector over a fixed list of resource names.
struct Dense {
    names: Vec<String>,
}

impl Dense {
    fn of(&self, r: &Resources) -> Vec<i64> {
        self.names.iter().map(|n| r.get(n)).collect()
    }
}

/// How many copies of `demand` fit in `room` (`cap` when the demand is zero).
fn copies(demand: &[i64], room: &[i64], cap: usize) -> usize {
    let mut n = cap;
    for (d, r) in demand.iter().zip(room) {
        if *d > 0 {
            n = n.min((*r).max(0).checked_div(*d).unwrap_or(0) as usize);
        }
    }
    n
}

fn take(room: &mut [i64], demand: &[i64], k: usize) {
    for (r, d) in room.iter_mut().zip(demand) {
        *r -= d * k as i64;
    }
}

/// Per resource, the least any of `demands` asks of it when every one asks some (`None` when
/// one asks none).
fn least_demand<'d>(demands: impl Iterator<Item = &'d Vec<i64>> + Clone, dims: usize) -> Vec<Option<i64>> {
    (0..dims)
        .map(|d| demands.clone().map(|v| v[d]).try_fold(i64::MAX, |least, x| (x > 0).then(|| least.min(x))))
        .collect()
}

/// How large a pod asking `demand` is: the sum of its shares of `largest`, the largest
/// capacity of any type (the packing takes pods largest first).
fn size(demand: &[i64], largest: &[i64]) -> f64 {
    demand.iter().zip(largest).map(|(d, l)| if *l > 0 { *d as f64 / *l as f64 } else { 0.0 }).sum()
}

/// A candidate new node: a pool, an instance type, and pods per class.
struct Pattern {
    pool: usize,
    counts: Vec<(usize, usize)>,
}

struct Packer<'s, 'a> {
    sim: &'s mut Simulation<'a>,
    dense: Dense,
    /// Per class: one pod's requests (dense).
    demand: Vec<Vec<i64>>,
    /// Per pool, per type: allocatable less DaemonSet overhead (dense).
    space: Vec<Vec<Vec<i64>>>,
    /// Per class: its pods not yet placed, in queue order (a free class alike to an earlier
    /// one holds none: see `rep`).
    left: Vec<Vec<usize>>,
    /// Per class: the class whose `left` holds its pods.
    rep: Vec<usize>,
    /// Per class: the cheapest price per pod of a node filled with the class alone.
    value: Vec<f64>,
    /// Free classes, largest first.
    order: Vec<usize>,
    /// Per class: whether it has a generic (not metal, GPU or accelerator) candidate.
    generic: Vec<bool>,
    /// Nodes opened by the packing (indices into the simulation's new nodes).
    packed: Vec<usize>,
    /// Per pool: the types it allows that have an offering, by their cheapest offering's
    /// price (then index).
    by_price: Vec<Vec<u32>>,
    /// Per resource: the largest capacity of any type (see [`Packer::size`]).
    largest: Vec<i64>,
    /// Per class: whether it is free (its class alone decides where its pods may go).
    free: Vec<bool>,
    /// Items past the classes: pods of constrained classes moved off their nodes (see
    /// [`Packer::release`]); item `classes.len() + i` is `moved[i]`.
    moved: Vec<Moved>,
    /// Per pod: its item when it was moved (else its class's representative).
    item_of: Vec<Option<usize>>,
    /// Per class: the hostname groups of which a node may hold one pod (see
    /// [`super::topology::Topology::movable`]); empty for the classes not moved.
    caps: Vec<Vec<usize>>,
    /// Per pod: whether it follows another pod of its group ([`Moved::unit`]) wherever that
    /// one goes, so it is not counted or queued on its own.
    follower: Vec<bool>,
}

/// Pods of classes alike to the packing (the same candidates and requests), moved off the
/// nodes Karpenter's rules gave them, to be packed again in the zone they were in.
struct Moved {
    /// The first class of them: its candidates, terms and requests stand for all.
    class: usize,
    /// Per pool: the class's candidates there, their offerings cut to the zone.
    allowed: Vec<Option<super::Allowed>>,
    /// Whether its pods are in hostname groups (see [`Packer::caps`]).
    capped: bool,
    /// The zone its pods stay in, if a zone rule concerns them.
    zone: Option<String>,
    /// A group whose pods must share a node (required hostname affinity), moved as one: its
    /// pods per class (the item has one pod in `left`, the first of `pods`, and stands for
    /// them all: its demand and value are theirs summed). Empty for an item of single pods.
    unit: Vec<(usize, usize)>,
    /// The pods of that group.
    pods: Vec<usize>,
}

impl Simulation<'_> {
    /// `optimize` mode (see the [module documentation](self)).
    pub(super) fn run_optimize(&mut self) {
        self.run_optimize_then(|_| ());
    }

    /// `exact` mode: `optimize`, with its packing re-solved by the MILP.
    #[cfg(feature = "milp")]
    pub(super) fn run_exact(&mut self, options: &crate::milp::MilpOptions) -> Option<ExactReport> {
        let mut report = None;
        self.run_optimize_then(|packer| report = packer.exact(options));
        report
    }

    /// `optimize`, with `then` run on the packing before the pods left go through
    /// Karpenter's loop.
    fn run_optimize_then(&mut self, then: impl FnOnce(&mut Packer<'_, '_>)) {
        self.trim_options = true;
        self.order.stable();
        let efficiency = super::efficiency::Efficiency::new(self.pods);
        self.efficiency = Some(vec![efficiency; self.ctx.pools.len()]);
        let queue = self.queue();
        let free: Vec<bool> = (0..self.classes.len())
            .map(|c| self.topology.is_free(c) && self.pods[self.classes[c].pods[0]].host_ports.is_empty())
            .collect();
        let (free_pods, constrained): (Vec<usize>, Vec<usize>) = queue.iter().partition(|&&p| free[self.pod_class[p]]);
        let constrained = self.hosts_together(self.most_nodes_first(constrained));
        // Groups moved as one are placed by step 1's rules first (see `Packer::release`).
        let movable: Vec<bool> = (0..self.classes.len())
            .map(|c| !free[c] && self.movable_class(c).is_some_and(|m| m.host.is_none()))
            .collect();
        let moving = constrained.iter().filter(|&&p| movable[self.pod_class[p]]).count();
        if moving > SPLIT_FROM && self.remaining.iter().all(Vec::is_empty) {
            // Many pods to pack again (see `Packer::release`): the others are placed first by
            // step 1's rules; then these, by Karpenter's rules alone (no efficiency rule, on
            // nodes of their own: they are packed again, only their zones are kept), and
            // packed with the free pods.
            let (moving, staying): (Vec<usize>, Vec<usize>) =
                constrained.into_iter().partition(|&p| movable[self.pod_class[p]]);
            phase("optimize: topology in Karpenter's order", || {
                self.run_karpenter_on(staying);
                let placed = self.new_nodes.len();
                for n in 0..placed {
                    self.order.remove(n);
                }
                let efficiency = self.efficiency.take();
                self.run_karpenter_on(moving);
                self.efficiency = efficiency;
                for n in 0..placed {
                    self.reorder(n);
                }
            });
            phase("optimize: packing with nodes given back", || self.pack_free(&free, &free_pods, &queue, true, then));
            return;
        }
        phase("optimize: topology in Karpenter's order", || self.run_karpenter_on(constrained));
        // Packed with the nodes of step 1 given back (see `Packer::release`), and as placed:
        // repacking them usually saves much, but on a few nodes a greedy packing can lose to
        // the order they were placed in; the cheaper plan (fewest pods left first) is kept.
        if self.movable_nodes(&free).0.is_empty() {
            self.pack_free(&free, &free_pods, &queue, false, then);
            return;
        }
        let mut moved = self.clone();
        phase("optimize: packing with nodes given back", || moved.pack_free(&free, &free_pods, &queue, true, |_| ()));
        self.pack_free(&free, &free_pods, &queue, false, then);
        let outcome = |sim: &Simulation<'_>| {
            let pending = sim.placement.iter().filter(|p| matches!(p, Placement::Pending)).count();
            let cost: f64 = sim
                .new_nodes
                .iter()
                .filter(|n| !n.pods.is_empty())
                .filter_map(|n| n.launch(&sim.ctx.pools[n.pool]))
                .map(|l| l.price)
                .sum();
            (pending, cost)
        };
        let (mine, theirs) = (outcome(self), outcome(&moved));
        if theirs.0 < mine.0 || (theirs.0 == mine.0 && theirs.1 < mine.1 - EPSILON) {
            *self = moved;
        }
    }

    /// The new nodes `Packer::release` gives back, with the zone each launches in, and per
    /// class (once asked) the hostname groups of a moved pod (`Some(None)`: it may not move).
    /// A NodePool with limits keeps its nodes: packed again, its pods could meet the limits in
    /// another order and leave others pending.
    #[allow(clippy::type_complexity)]
    fn movable_nodes(&self, free: &[bool]) -> (Vec<(usize, String)>, Vec<Option<Option<Movable>>>) {
        let mut movable: Vec<Option<Option<Movable>>> = vec![None; self.classes.len()];
        let mut nodes = Vec::new();
        for (n, node) in self.new_nodes.iter().enumerate() {
            let pool = &self.ctx.pools[node.pool];
            if !self.remaining[node.pool].is_empty() || node.pods.is_empty() {
                continue;
            }
            let Some(launch) = node.launch(pool) else { continue };
            let all = node.pods.iter().all(|&p| {
                let c = self.pod_class[p];
                free[c]
                    || match movable[c].get_or_insert_with(|| self.movable_class(c)) {
                        None => false,
                        Some(Movable { host: None, .. }) => true,
                        // A group moving as one: all of it here, and in no hostname group
                        // that would keep its pods apart.
                        Some(Movable { host: Some(g), groups, .. }) => {
                            groups.is_empty() && self.topology.only_on(*g, &node.hostname)
                        }
                    }
            });
            if all {
                let zone = &pool.instance_types[launch.instance_type as usize].offerings[launch.offering].zone;
                nodes.push((n, zone.clone()));
            }
        }
        (nodes, movable)
    }

    /// Whether a placed pod of class `c` may move, and what keeps its rules then (see
    /// [`super::topology::Topology::movable`]; a pod with host ports stays).
    fn movable_class(&self, c: usize) -> Option<Movable> {
        let pod = self.pods[self.classes[c].pods[0]];
        pod.host_ports.is_empty().then(|| self.topology.movable(c)).flatten()
    }

    /// Steps 2 to 4 (after `release` when `release`), then Karpenter's loop for the pods left.
    fn pack_free(
        &mut self,
        free: &[bool],
        free_pods: &[usize],
        queue: &[usize],
        release: bool,
        then: impl FnOnce(&mut Packer<'_, '_>),
    ) {
        let mut rest = vec![false; self.pods.len()];
        let mut packer = Packer::new(self, free, free_pods);
        packer.fill_existing();
        if release {
            packer.release();
        }
        packer.fill_new_nodes();
        phase("optimize: groups", || packer.place_units());
        phase("optimize: columns", || packer.pack_by_columns());
        phase("optimize: patterns", || packer.pack());
        phase("optimize: improvement", || packer.improve());
        then(&mut packer);
        packer.record_moved();
        for (i, pods) in packer.left.iter().enumerate() {
            match packer.unit(i) {
                Some(unit) if !pods.is_empty() => unit.pods.iter().for_each(|&p| rest[p] = true),
                _ => pods.iter().for_each(|&p| rest[p] = true),
            }
        }
        self.run_karpenter_on(queue.iter().copied().filter(|&p| rest[p]).collect());
    }
}

impl Simulation<'_> {
    /// `queue` (stable) with the pods of the classes that need the most distinct nodes first
    /// (anti-affinity among their pods or hostname spread: their pending pods over the most a
    /// node may hold), when there are existing nodes: their room, where a pod costs nothing,
    /// goes first to the pods that decide how many new nodes are needed. (Without existing
    /// nodes Karpenter's order is kept: it packs as well on average.)
    fn most_nodes_first(&self, mut queue: Vec<usize>) -> Vec<usize> {
        if self.existing.is_empty() {
            return queue;
        }
        let mut pending = vec![0u64; self.classes.len()];
        queue.iter().for_each(|&p| pending[self.pod_class[p]] += 1);
        let nodes: Vec<u64> = (0..self.classes.len())
            .map(|c| {
                let pod = self.pods[self.classes[c].pods[0]];
                self.topology.max_per_node(c, pod).map_or(0, |k| pending[c].div_ceil(k.max(1)))
            })
            .collect();
        queue.sort_by_key(|&p| std::cmp::Reverse(nodes[self.pod_class[p]]));
        queue
    }

    /// `queue` with the pods that must share a node (required hostname affinity to each other)
    /// brought together where the first of them is, so their node is sized for them before
    /// other pods fill it (which would then have to grow into premium types to take them).
    fn hosts_together(&self, queue: Vec<usize>) -> Vec<usize> {
        let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &p in &queue {
            if let Some(g) = self.topology.shared_host(self.pod_class[p]) {
                groups.entry(g).or_default().push(p);
            }
        }
        if groups.is_empty() {
            return queue;
        }
        let mut out = Vec::with_capacity(queue.len());
        for p in queue {
            match self.topology.shared_host(self.pod_class[p]) {
                None => out.push(p),
                Some(g) => out.extend(groups.remove(&g).unwrap_or_default()),
            }
        }
        out
    }
}

impl<'s, 'a> Packer<'s, 'a> {
    fn new(sim: &'s mut Simulation<'a>, free: &[bool], free_pods: &[usize]) -> Self {
        let mut names: Vec<String> = ["cpu", "memory", "pods", "ephemeral-storage"].map(String::from).to_vec();
        // Every class's resources: pods of constrained classes may be moved (see `release`).
        for class in sim.classes {
            for (name, _) in class.requests.iter() {
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_string());
                }
            }
        }
        let dense = Dense { names };
        let demand: Vec<Vec<i64>> = sim.classes.iter().map(|c| dense.of(&c.requests)).collect();
        // Free classes alike to the packing (the same candidates and requests: they differ only
        // in labels no group selects) are packed as one, the first of them.
        let mut rep: Vec<usize> = (0..sim.classes.len()).collect();
        let mut firsts: std::collections::HashMap<(*const crate::filter::ClassFilter, &Resources), usize> =
            Default::default();
        for (c, class) in sim.classes.iter().enumerate() {
            if free[c] {
                rep[c] = *firsts.entry((std::sync::Arc::as_ptr(&sim.filters[c]), &class.requests)).or_insert(c);
            }
        }
        let mut left = vec![Vec::new(); sim.classes.len()];
        for &p in free_pods {
            left[rep[sim.pod_class[p]]].push(p);
        }
        // Classes sharing a filter share its value (classes differing only in labels are many).
        let mut values: std::collections::HashMap<*const crate::filter::ClassFilter, f64> = Default::default();
        let value: Vec<f64> = sim
            .filters
            .iter()
            .map(|f| {
                *values.entry(std::sync::Arc::as_ptr(f)).or_insert_with(|| {
                    f.candidates
                        .iter()
                        .filter(|c| c.pods_per_node > 0)
                        .map(|c| c.price / c.pods_per_node as f64)
                        .fold(f64::INFINITY, f64::min)
                })
            })
            .map(|v| if v.is_finite() { v } else { 0.0 })
            .collect();
        let generic: Vec<bool> = sim
            .filters
            .iter()
            .map(|f| f.candidates.iter().any(|c| !sim.ctx.pools[c.pool].facts.exotic[c.instance_type]))
            .collect();
        // Largest first (see `size`).
        let mut largest = vec![0i64; dense.names.len()];
        for pool in &sim.ctx.pools {
            for space in &pool.type_space {
                for (l, v) in largest.iter_mut().zip(dense.of(space)) {
                    *l = (*l).max(v);
                }
            }
        }
        let mut order: Vec<usize> = (0..sim.classes.len()).filter(|&c| free[c] && !left[c].is_empty()).collect();
        order.sort_by(|&a, &b| size(&demand[b], &largest).total_cmp(&size(&demand[a], &largest)).then(a.cmp(&b)));
        let space = sim.ctx.pools.iter().map(|p| p.type_space.iter().map(|s| dense.of(s)).collect()).collect();
        let by_price = sim
            .ctx
            .pools
            .iter()
            .map(|pool| {
                let mut types: Vec<u32> = (0..pool.instance_types.len())
                    .filter(|&t| pool.allows(t) && pool.type_offerings[t].1.is_finite())
                    .map(|t| t as u32)
                    .collect();
                types.sort_by(|&a, &b| {
                    pool.type_offerings[a as usize].1.total_cmp(&pool.type_offerings[b as usize].1).then(a.cmp(&b))
                });
                types
            })
            .collect();
        let (pods, classes) = (sim.pods.len(), sim.classes.len());
        Packer {
            sim,
            dense,
            demand,
            space,
            left,
            rep,
            value,
            order,
            generic,
            packed: Vec::new(),
            by_price,
            largest,
            free: free.to_vec(),
            moved: Vec::new(),
            item_of: vec![None; pods],
            caps: vec![Vec::new(); classes],
            follower: vec![false; pods],
        }
    }

    /// The class an item stands for (see [`Packer::moved`]).
    fn class(&self, i: usize) -> usize {
        match i.checked_sub(self.sim.classes.len()) {
            Some(m) => self.moved[m].class,
            None => i,
        }
    }

    /// An item's candidates in `pool`.
    fn allowed(&self, i: usize, pool: usize) -> Option<&super::Allowed> {
        match i.checked_sub(self.sim.classes.len()) {
            Some(m) => self.moved[m].allowed[pool].as_ref(),
            None => self.sim.allowed[i][pool].as_ref(),
        }
    }

    /// Whether an item's pods are in hostname groups, of which a node holds one pod each.
    fn capped(&self, i: usize) -> bool {
        i.checked_sub(self.sim.classes.len()).is_some_and(|m| self.moved[m].capped)
    }

    /// A group moved as one ([`Moved::unit`]), if item `i` is one.
    fn unit(&self, i: usize) -> Option<&Moved> {
        i.checked_sub(self.sim.classes.len()).map(|m| &self.moved[m]).filter(|m| !m.unit.is_empty())
    }

    /// Whether item `i`'s pods stay on the node they were packed on in the improvement step:
    /// pods in hostname groups, and groups moved as one.
    fn stays(&self, i: usize) -> bool {
        self.capped(i) || self.unit(i).is_some()
    }

    /// The item pod `p` is packed as.
    fn item(&self, p: usize) -> usize {
        self.item_of[p].unwrap_or_else(|| self.rep[self.sim.pod_class[p]])
    }

    /// Moves the pods of each node Karpenter's rules opened, when every pod of it may move
    /// (free, or see [`super::topology::Topology::movable`]), back to be packed with the free
    /// pods: a node filled in the order pods come is rarely the cheapest way to hold them.
    /// A moved pod stays in the zone its node launched in, and shares a fresh node with no
    /// other pod of its hostname groups, so every rule holds as it did; topology takes back
    /// its counts while it moves and counts it again where it lands.
    fn release(&mut self) {
        let classes = self.sim.classes.len();
        let (nodes, movable) = self.sim.movable_nodes(&self.free);
        let mut items: HashMap<(usize, Resources, Option<String>, bool), usize> = HashMap::new();
        let mut zone_masks: HashMap<(usize, String), Vec<u64>> = HashMap::new();
        for (n, zone) in nodes {
            // Groups that must share a node, moved as one: their pods, in node order.
            let mut units: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
            for p in self.vacate(n) {
                let c = self.sim.pod_class[p];
                let counted = std::mem::take(&mut self.sim.recorded[p]);
                self.sim.topology.unrecord(&counted);
                if self.free[c] {
                    self.left[self.rep[c]].push(p);
                    continue;
                }
                let Some(Some(rules)) = &movable[c] else { continue };
                if let Some(g) = rules.host {
                    units.entry(g).or_default().push(p);
                    continue;
                }
                let capped = !rules.groups.is_empty();
                self.caps[c] = rules.groups.clone();
                let zone = rules.zonal.then(|| zone.clone());
                let key = (
                    Arc::as_ptr(&self.sim.filters[c]) as usize,
                    self.sim.classes[c].requests.clone(),
                    zone.clone(),
                    capped,
                );
                let next = classes + self.moved.len();
                let i = *items.entry(key).or_insert(next);
                if i == next {
                    let allowed = self.allowed_in_zone(&[c], zone.as_deref(), &mut zone_masks);
                    self.moved.push(Moved { class: c, allowed, capped, zone, unit: Vec::new(), pods: Vec::new() });
                    self.demand.push(self.demand[c].clone());
                    self.value.push(self.value[c]);
                    self.generic.push(self.generic[c]);
                    self.left.push(Vec::new());
                    self.order.push(i);
                }
                self.left[i].push(p);
                self.item_of[p] = Some(i);
            }
            for pods in units.into_values() {
                let mut unit: BTreeMap<usize, usize> = BTreeMap::new();
                for &p in &pods {
                    *unit.entry(self.sim.pod_class[p]).or_default() += 1;
                }
                let members: Vec<usize> = unit.keys().copied().collect();
                let zonal =
                    members.iter().any(|&c| movable[c].as_ref().is_some_and(|m| m.as_ref().is_some_and(|m| m.zonal)));
                let zone = zonal.then(|| zone.clone());
                let allowed = self.allowed_in_zone(&members, zone.as_deref(), &mut zone_masks);
                let mut demand = vec![0i64; self.dense.names.len()];
                let mut value = 0.0;
                for (&c, &k) in &unit {
                    for (total, d) in demand.iter_mut().zip(&self.demand[c]) {
                        *total += d * k as i64;
                    }
                    value += self.value[c] * k as f64;
                }
                let (first, i) = (self.sim.pod_class[pods[0]], classes + self.moved.len());
                self.demand.push(demand);
                self.value.push(value);
                self.generic.push(members.iter().all(|&c| self.generic[c]));
                self.left.push(vec![pods[0]]);
                self.order.push(i);
                for (at, &p) in pods.iter().enumerate() {
                    self.item_of[p] = Some(i);
                    self.follower[p] = at > 0;
                }
                let unit = unit.into_iter().collect();
                self.moved.push(Moved { class: first, allowed, capped: false, zone, unit, pods });
            }
        }
        if self.moved.is_empty() {
            return;
        }
        let mut order = std::mem::take(&mut self.order);
        let (demand, largest) = (&self.demand, &self.largest);
        order.sort_by(|&a, &b| size(&demand[b], largest).total_cmp(&size(&demand[a], largest)).then(a.cmp(&b)));
        self.order = order;
    }

    /// Per pool, the candidates pods of all of `classes` share (the first class's term), their
    /// offerings cut to `zone` when given; `None` where one of them has none.
    fn allowed_in_zone(
        &self,
        classes: &[usize],
        zone: Option<&str>,
        zone_masks: &mut HashMap<(usize, String), Vec<u64>>,
    ) -> Vec<Option<super::Allowed>> {
        (0..self.sim.ctx.pools.len())
            .map(|q| {
                let (term, mut masks) = self.sim.allowed[classes[0]][q].clone()?;
                for &c in &classes[1..] {
                    let (_, theirs) = self.sim.allowed[c][q].as_ref()?;
                    masks.iter_mut().zip(theirs).for_each(|(m, t)| *m &= t);
                }
                if let Some(zone) = zone {
                    let in_zone = zone_masks.entry((q, zone.to_string())).or_insert_with(|| {
                        self.sim.ctx.pools[q]
                            .instance_types
                            .iter()
                            .map(|it| {
                                let offerings = it.offerings.iter().take(64).enumerate();
                                offerings.filter(|(_, o)| o.zone == zone).fold(0u64, |m, (i, _)| m | 1 << i)
                            })
                            .collect()
                    });
                    masks.iter_mut().zip(in_zone.iter()).for_each(|(m, z)| *m &= z);
                }
                let cut = zone.is_some() || classes.len() > 1;
                (!cut || masks.iter().any(|&m| m != 0)).then_some((term, masks))
            })
            .collect()
    }

    /// Of `counts` (pods per item for one node), the pods the node takes: for capped items,
    /// pods of no hostname group another pod on the node is in, brought to the front of their
    /// item's queue; fewer than asked when too few are left.
    fn pick(&mut self, counts: &[(usize, usize)]) -> Vec<(usize, usize)> {
        let mut used: BTreeSet<usize> = BTreeSet::new();
        let mut out = Vec::with_capacity(counts.len());
        for &(i, k) in counts {
            let k = k.min(self.left[i].len());
            if !self.capped(i) {
                if k > 0 {
                    out.push((i, k));
                }
                continue;
            }
            let mut chosen: Vec<usize> = Vec::with_capacity(k);
            for (at, &p) in self.left[i].iter().enumerate() {
                if chosen.len() == k {
                    break;
                }
                let groups = &self.caps[self.sim.pod_class[p]];
                if groups.iter().all(|g| !used.contains(g)) {
                    used.extend(groups.iter().copied());
                    chosen.push(at);
                }
            }
            if chosen.is_empty() {
                continue;
            }
            if chosen.last() != Some(&(chosen.len() - 1)) {
                let queue = std::mem::take(&mut self.left[i]);
                let (mut front, mut back) = (Vec::with_capacity(queue.len()), Vec::new());
                let mut next = chosen.iter().peekable();
                for (at, p) in queue.into_iter().enumerate() {
                    if next.peek() == Some(&&at) {
                        next.next();
                        front.push(p);
                    } else {
                        back.push(p);
                    }
                }
                front.extend(back);
                self.left[i] = front;
            }
            out.push((i, chosen.len()));
        }
        out
    }

    /// Whether the pods of `nodes` could share one node: no two in one hostname group.
    fn caps_apart(&self, nodes: &[usize]) -> bool {
        let mut used: BTreeSet<usize> = BTreeSet::new();
        for &n in nodes {
            for &p in &self.sim.new_nodes[n].pods {
                for &g in &self.caps[self.sim.pod_class[p]] {
                    if self.item_of[p].is_some() && !used.insert(g) {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// Records the moved pods on the nodes they are on now, in their zones, for the pods
    /// Karpenter's loop places after the packing (they were taken out of topology's counts
    /// when they left their nodes).
    fn record_moved(&mut self) {
        let sim = &mut *self.sim;
        for node in &sim.new_nodes {
            for &p in &node.pods {
                let Some(i) = self.item_of[p] else { continue };
                let mut reqs = node.requirements.clone();
                if let Some(zone) = &self.moved[i - sim.classes.len()].zone {
                    reqs.add(crate::requirements::Requirement::any_of(crate::labels::ZONE, [zone.clone()]));
                }
                sim.recorded[p] = sim.topology.record(sim.pod_class[p], 0, &reqs, &node.hostname);
            }
        }
    }

    fn space(&self, pool: usize, t: usize) -> &[i64] {
        &self.space[pool][t]
    }

    /// Step 2a: existing nodes. In a plan, each in turn (in Karpenter's order) takes the pods
    /// worth most in its room (a knapsack, a pod worth what it saves there: its price in the
    /// resource-volume LP of the pods left, [`Packer::lp_worth`], or past that LP's size its
    /// class's price per pod on its cheapest node); then first fit, largest pods first, for
    /// what still fits. A consolidation trial (few pods, thousands of nodes, run many times)
    /// fits first only.
    fn fill_existing(&mut self) {
        if self.sim.existing.is_empty() {
            return;
        }
        let by_worth = if self.sim.lp_packing { self.sim.existing.len() } else { 0 };
        let worth = if by_worth > 0 { self.lp_worth() } else { None };
        for n in 0..by_worth {
            let node = &self.sim.existing[n];
            let room: Vec<i64> = self.dense.of(node.available());
            // The classes with pods that fit its room; when they all fit at once, first fit
            // below takes every one the node allows.
            let mut sized: Vec<(usize, usize)> = Vec::new();
            let mut all = vec![0i64; room.len()];
            for &c in &self.order {
                let most = copies(&self.demand[c], &room, self.left[c].len());
                if most > 0 {
                    sized.push((c, most));
                    all.iter_mut().zip(&self.demand[c]).for_each(|(a, d)| *a += d * most as i64);
                }
            }
            if all.iter().zip(&room).all(|(a, r)| a <= r) {
                continue;
            }
            let mut items: Vec<usize> = Vec::new();
            let mut knapsack: Vec<(f64, Vec<f64>, f64)> = Vec::new();
            for (c, most) in sized {
                if node.fits(self.sim.pods[self.left[c][0]], &self.sim.classes[self.class(c)], None) {
                    items.push(c);
                    knapsack.push((
                        worth.as_ref().map_or(self.value[c], |w| w[c]),
                        self.demand[c].iter().map(|&d| d.max(0) as f64).collect(),
                        most as f64,
                    ));
                }
            }
            let room: Vec<f64> = room.iter().map(|&r| r.max(0) as f64).collect();
            for (j, k) in crate::bound::best_fill(&room, &knapsack, FILL_NODES) {
                let c = items[j];
                let class = &self.sim.classes[self.class(c)];
                let mut kept = Vec::new();
                let mut placed = 0;
                for p in std::mem::take(&mut self.left[c]) {
                    let pod = self.sim.pods[p];
                    if placed < k && self.sim.existing[n].fits(pod, class, None) {
                        self.sim.existing[n].add(pod, p);
                        self.sim.placement[p] = Placement::Existing(n);
                        placed += 1;
                    } else {
                        kept.push(p);
                    }
                }
                self.left[c] = kept;
            }
        }
        for c in self.order.clone() {
            let class = &self.sim.classes[self.class(c)];
            let mut kept = Vec::new();
            for p in std::mem::take(&mut self.left[c]) {
                let pod = self.sim.pods[p];
                match self.sim.existing.iter().position(|n| n.fits(pod, class, None)) {
                    Some(i) => {
                        self.sim.existing[i].add(pod, p);
                        self.sim.placement[p] = Placement::Existing(i);
                    }
                    None => kept.push(p),
                }
            }
            self.left[c] = kept;
        }
    }

    /// Room left on the type a node launches, and the launched offering's bit, if any.
    fn launched_room(&self, n: usize) -> Option<(usize, u64, Vec<i64>)> {
        let pool = self.sim.new_nodes[n].pool;
        let launch = self.sim.new_nodes[n].launch(&self.sim.ctx.pools[pool])?;
        let used = self.dense.of(&self.sim.new_nodes[n].requests);
        let t = launch.instance_type as usize;
        let mut room = self.space(pool, t).to_vec();
        for (r, u) in room.iter_mut().zip(used) {
            *r -= u;
        }
        Some((t, 1u64 << launch.offering, room))
    }

    /// Adds up to `want` pods of class `c` to node `n` when they fit `launched`, the room of
    /// its launched type ([`Packer::launched_room`]); returns how many were added.
    fn absorb(&mut self, n: usize, c: usize, want: usize, launched: &(usize, u64, Vec<i64>)) -> usize {
        let pool = self.sim.new_nodes[n].pool;
        let (t, bit, room) = launched;
        let (t, bit) = (*t, *bit);
        let Some((term, allowed)) = self.allowed(c, pool).filter(|_| !self.stays(c)) else { return 0 };
        if allowed[t] & bit == 0 {
            return 0;
        }
        let k = copies(&self.demand[c], room, want.min(self.left[c].len()));
        if k == 0 {
            return 0;
        }
        let pod = self.sim.pods[self.left[c][0]];
        let ctx_pool = &self.sim.ctx.pools[pool];
        let terms = &self.sim.classes[self.class(c)].terms;
        match self.sim.new_nodes[n].try_add_copies(pod, k, &terms[*term], allowed, ctx_pool, None) {
            Ok(next) => {
                let pods: Vec<usize> = self.left[c].drain(..k).collect();
                self.commit(n, next, &pods);
                k
            }
            Err(_) => 0,
        }
    }

    fn commit(&mut self, n: usize, next: super::nodes::Next, pods: &[usize]) {
        let pod = self.sim.pods[pods[0]];
        self.sim.new_nodes[n].commit_copies(next, pod, pods);
        self.sim.reorder(n);
        for &p in pods {
            self.sim.placement[p] = Placement::New(n);
        }
    }

    /// Step 2b: the room this run's nodes leave on their launched types.
    fn fill_new_nodes(&mut self) {
        let classes = self.order.clone();
        for n in 0..self.sim.new_nodes.len() {
            let mut launched = self.launched_room(n);
            for &c in &classes {
                let Some(room) = &launched else { break };
                if !self.left[c].is_empty() && self.absorb(n, c, usize::MAX, room) > 0 {
                    launched = self.launched_room(n);
                }
            }
        }
    }

    /// The NodePools class `c` may open a node in now: those of the highest weight among the
    /// pools with a candidate type under their remaining limits.
    fn tier(&self, c: usize) -> Vec<usize> {
        let open = |pool: usize| {
            let remaining = &self.sim.remaining[pool];
            self.sim.filters[self.class(c)].candidates.iter().any(|cand| {
                cand.pool == pool
                    && remaining.iter().all(|(r, room)| {
                        self.sim.ctx.pools[pool].instance_types[cand.instance_type].capacity.get(r) <= *room
                    })
            })
        };
        let pools: Vec<usize> = (0..self.sim.ctx.pools.len()).filter(|&p| self.allowed(c, p).is_some()).collect();
        let best = pools.iter().filter(|&&p| open(p)).map(|&p| self.sim.ctx.pools[p].nodepool.weight()).max();
        match best {
            Some(w) => pools.into_iter().filter(|&p| open(p) && self.sim.ctx.pools[p].nodepool.weight() == w).collect(),
            None => Vec::new(),
        }
    }

    /// The best pattern anchored on class `anchor` (see the [module documentation](self)).
    ///
    /// With `worth` (a price per pod of each item), the pattern is the one that costs least net
    /// of what its other pods are worth, its room filled by a knapsack over those prices.
    fn best_pattern(&self, anchor: usize, worth: Option<&[f64]>) -> Option<Pattern> {
        let value = |c: usize| worth.map_or(self.value[c], |w| w[c]);
        let tier = self.tier(anchor);
        let mut best: Option<(f64, f64, Pattern)> = None;
        let candidates: Vec<(usize, usize, u64)> = self.sim.filters[self.class(anchor)]
            .candidates
            .iter()
            .filter(|cand| tier.contains(&cand.pool))
            .filter(|cand| !self.generic[anchor] || !self.sim.ctx.pools[cand.pool].facts.exotic[cand.instance_type])
            .filter(|cand| {
                self.sim.remaining[cand.pool].iter().all(|(r, room)| {
                    self.sim.ctx.pools[cand.pool].instance_types[cand.instance_type].capacity.get(r) <= *room
                })
            })
            .map(|cand| {
                let zone = self.allowed(anchor, cand.pool).map_or(0, |a| a.1[cand.instance_type]);
                (cand.pool, cand.instance_type, cand.offerings & zone)
            })
            .filter(|cand| cand.2 != 0)
            .collect();
        // The items with pods left, and per resource the most value a unit of it packs: a
        // type's room times that, over its least price, bounds the score of any pattern on it,
        // so types are tried best bound first and the rest skipped once none can do better.
        let active: Vec<usize> = self.order.iter().copied().filter(|&c| !self.left[c].is_empty()).collect();
        // (A resource some item does not ask for bounds nothing.)
        let mut density = vec![0.0f64; self.dense.names.len()];
        for &c in &active {
            for (r, &d) in density.iter_mut().zip(&self.demand[c]) {
                *r = if d > 0 { r.max(value(c) / d as f64) } else { f64::INFINITY };
            }
        }
        // A room with less of some resource than every item asks takes nothing more.
        let floor = least_demand(active.iter().map(|&c| &self.demand[c]), self.dense.names.len());
        let full = |room: &[i64]| room.iter().zip(&floor).any(|(r, f)| f.is_some_and(|f| *r < f));
        let mut candidates: Vec<(f64, usize, usize, u64)> = candidates
            .into_iter()
            .map(|(pool, t, mask)| {
                let least = least_price(&self.sim.ctx.pools[pool].instance_types[t], mask);
                let packs = self
                    .space(pool, t)
                    .iter()
                    .zip(&density)
                    .filter(|(_, r)| r.is_finite())
                    .map(|(&v, r)| v.max(0) as f64 * r)
                    .fold(f64::INFINITY, f64::min);
                let bound = if least > 0.0 { packs / least } else { f64::INFINITY };
                (bound, pool, t, mask)
            })
            .collect();
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
        // With `worth`, each try is a knapsack: the most promising few are tried.
        let mut tries = if worth.is_some() { FILL_TRIES } else { usize::MAX };
        for (bound, pool, t, mut mask) in candidates {
            if tries == 0 {
                break;
            }
            if worth.is_none() && best.as_ref().is_some_and(|(s, _, _)| bound < *s * (1.0 - EPSILON)) {
                break;
            }
            let mut room = self.space(pool, t).to_vec();
            let k = copies(&self.demand[anchor], &room, self.left[anchor].len());
            if k == 0 {
                continue;
            }
            take(&mut room, &self.demand[anchor], k);
            let mut packed = k as f64 * value(anchor);
            let mut counts = vec![(anchor, k)];
            if let Some(worth) = worth {
                tries -= 1;
                for (c, k) in self.fill(anchor, pool, t, mask, &room, &active, worth) {
                    take(&mut room, &self.demand[c], k);
                    packed += k as f64 * worth[c];
                    counts.push((c, k));
                }
            }
            for &c in active.iter().filter(|_| worth.is_none()) {
                if full(&room) {
                    break;
                }
                if c == anchor {
                    continue;
                }
                // Room first: it is at hand, an item's offerings are not.
                let k = copies(&self.demand[c], &room, self.left[c].len());
                if k == 0 {
                    continue;
                }
                let Some((term, allowed)) = self.allowed(c, pool) else { continue };
                let m = mask & allowed[t];
                if m == 0 {
                    continue;
                }
                let terms = &self.sim.classes;
                let compatible = counts.iter().all(|&(other, _)| {
                    let other_term = self.allowed(other, pool).map_or(0, |a| a.0);
                    terms[self.class(other)].terms[other_term].compatible(&terms[self.class(c)].terms[*term]).is_ok()
                });
                if !compatible {
                    continue;
                }
                take(&mut room, &self.demand[c], k);
                packed += k as f64 * self.value[c];
                counts.push((c, k));
                mask = m;
            }
            let price = least_price(&self.sim.ctx.pools[pool].instance_types[t], mask);
            if !price.is_finite() {
                continue;
            }
            let score = match worth {
                Some(_) => packed - price,
                None if price > 0.0 => packed / price,
                None => f64::INFINITY,
            };
            let better = match (&best, worth) {
                (None, _) => true,
                (Some((s, p, _)), Some(_)) => score > *s + EPSILON || (score >= *s - EPSILON && price < *p),
                (Some((s, p, _)), None) => {
                    score > *s * (1.0 + EPSILON) || (score >= *s * (1.0 - EPSILON) && price < *p)
                }
            };
            if better {
                best = Some((score, price, Pattern { pool, counts }));
            }
        }
        best.map(|(_, _, p)| p)
    }

    /// The pods of `active` items (not `anchor`, nor items that stay where they are packed)
    /// worth most at `worth` that `room` on type `t` of `pool` holds alongside the anchor:
    /// items allowing every offering of `mask`, with a term compatible with the anchor's.
    #[allow(clippy::too_many_arguments)]
    fn fill(
        &self,
        anchor: usize,
        pool: usize,
        t: usize,
        mask: u64,
        room: &[i64],
        active: &[usize],
        worth: &[f64],
    ) -> Vec<(usize, usize)> {
        let terms = &self.sim.classes;
        let anchor_term = &terms[self.class(anchor)].terms[self.allowed(anchor, pool).map_or(0, |a| a.0)];
        let mut items: Vec<usize> = Vec::new();
        let mut knapsack: Vec<(f64, Vec<f64>, f64)> = Vec::new();
        for &c in active {
            if c == anchor || self.stays(c) {
                continue;
            }
            let Some((term, allowed)) = self.allowed(c, pool) else { continue };
            if allowed[t] & mask != mask || anchor_term.compatible(&terms[self.class(c)].terms[*term]).is_err() {
                continue;
            }
            let most = copies(&self.demand[c], room, self.left[c].len());
            if most > 0 {
                items.push(c);
                knapsack.push((worth[c], self.demand[c].iter().map(|&d| d.max(0) as f64).collect(), most as f64));
            }
        }
        let room: Vec<f64> = room.iter().map(|&r| r.max(0) as f64).collect();
        crate::bound::best_fill(&room, &knapsack, FILL_NODES).into_iter().map(|(j, k)| (items[j], k as usize)).collect()
    }

    /// Opens a node holding `counts` pods per class in `pool`; `None` when it cannot (limits,
    /// requirements of one class excluding another's, or no type holding them all).
    fn build(&self, pool: usize, counts: &[(usize, usize)], remaining: &[(String, i64)]) -> Option<NewNode> {
        let ctx_pool = &self.sim.ctx.pools[pool];
        let mut node = NewNode::open(pool, ctx_pool, self.sim.table(pool), remaining, String::new()).ok()?;
        for &(c, k) in counts {
            let (term, allowed) = self.allowed(c, pool)?;
            // A group moved as one: its pods by class, each with its own term.
            let one = [(self.class(c), k)];
            let classes = match self.unit(c) {
                Some(unit) if k == 1 => &unit.unit[..],
                Some(_) => return None,
                None => &one[..],
            };
            for &(class_index, k) in classes {
                let class = &self.sim.classes[class_index];
                let term = if classes.len() == 1 && class_index == self.class(c) {
                    *term
                } else {
                    self.sim.allowed[class_index][pool].as_ref()?.0
                };
                let pod = self.sim.pods[class.pods[0]];
                let next = node.try_add_copies(pod, k, &class.terms[term], allowed, ctx_pool, None).ok()?;
                node.commit_copies(next, pod, &[]);
            }
        }
        Some(node)
    }

    /// Registers a built node with the simulation, giving it `k` pods per class from `left`.
    fn open(&mut self, mut node: NewNode, counts: &[(usize, usize)]) -> usize {
        let n = self.sim.new_nodes.len();
        let pool = node.pool;
        node.hostname = format!("{}-new-{}", self.sim.ctx.pools[pool].nodepool.name, n + 1);
        for &(c, k) in counts {
            let pods: Vec<usize> = self.left[c].drain(..k).collect();
            let pods = match self.unit(c) {
                Some(unit) => unit.pods.clone(),
                None => pods,
            };
            for p in pods {
                node.pods.push(p);
                self.sim.placement[p] = Placement::New(n);
            }
        }
        node.trim_to_launch(&self.sim.ctx.pools[pool], &self.sim.remaining[pool]);
        node.charge(&self.sim.ctx.pools[pool], &mut self.sim.remaining[pool], 1);
        self.sim.new_nodes.push(node);
        self.sim.reorder(n);
        self.packed.push(n);
        n
    }

    /// Step 3a: the packing of column generation's master LP, rounded down (see the [module
    /// documentation](self)). Node types are a pool, an instance type and the offerings its
    /// node may launch: each distinct mask of an item's offerings on the type, hosting the
    /// items that allow every offering of it. Skipped when a NodePool has limits (the greedy
    /// keeps to them node by node), in consolidation's trials, or when an effort cap would be
    /// passed.
    ///
    /// On small problems the LP is solved again for the pods the rounding left, a node of the
    /// most used pattern opened when none has a whole node (diving), up to [`COLUMN_SOLVES`]
    /// times; on large ones the rounding leaves few pods, and the greedy packing takes them.
    fn pack_by_columns(&mut self) {
        if !self.sim.lp_packing || self.sim.remaining.iter().any(|r| !r.is_empty()) {
            return;
        }
        for solve in 0..COLUMN_SOLVES {
            if !self.columns_once(solve > 0) {
                break;
            }
        }
    }

    /// One solve of [`Packer::pack_by_columns`]; false when it opened no node or, with
    /// `again`, the problem is too large to solve again.
    fn columns_once(&mut self, again: bool) -> bool {
        let items: Vec<usize> = self.order.iter().copied().filter(|&i| !self.left[i].is_empty()).collect();
        if items.is_empty() || items.len() > COLUMN_ITEMS {
            return false;
        }
        let (input, types) = self.lp_input(&items);
        if again && items.len() * types.len() > COLUMN_RESOLVE_CELLS {
            return false;
        }
        let effort = crate::bound::Effort { max_iterations: COLUMN_ROUNDS, max_columns: 4_000, knapsack_nodes: 200 };
        let Ok((patterns, _)) =
            crate::profile::phase("optimize: columns LP", || crate::bound::lp_packing(&input, &effort))
        else {
            return false;
        };
        let whole = |nodes: f64| (nodes + 1e-6).floor() as usize;
        // Rounded down; when that is nothing, one node of the most used pattern.
        let dive = patterns.iter().all(|p| whole(p.2) == 0);
        let mut opened = 0;
        for (nt, counts, nodes) in patterns.into_iter().take(if dive { 1 } else { usize::MAX }) {
            let pool = types[nt].0;
            let counts: Vec<(usize, usize)> = counts.iter().map(|&(k, a)| (items[k], a as usize)).collect();
            // Without limits a node is built from its pool and pods alone: nodes of one pattern
            // are alike (and share their options).
            let mut built: Option<(Vec<(usize, usize)>, NewNode)> = None;
            for _ in 0..whole(nodes).max(usize::from(dive)) {
                let picked = self.pick(&counts);
                if picked.is_empty() {
                    break;
                }
                let node = match &built {
                    Some((same, node)) if *same == picked => node.clone(),
                    _ => {
                        let Some(node) = self.build(pool, &picked, &[]) else { break };
                        // What it launches, found before it is copied: the copies share it.
                        node.launch(&self.sim.ctx.pools[pool]);
                        built = Some((picked.clone(), node.clone()));
                        node
                    }
                };
                self.open(node, &picked);
                opened += 1;
            }
        }
        opened > 0
    }

    /// Item `i`'s offers: each candidate of its tier (generic types only for a generic item)
    /// that holds one of its pods, with the offerings it may launch there.
    fn offers(&self, i: usize, mut each: impl FnMut(usize, usize, u64)) {
        let tier = self.tier(i);
        for cand in &self.sim.filters[self.class(i)].candidates {
            let (pool, t) = (cand.pool, cand.instance_type);
            if !tier.contains(&pool) || (self.generic[i] && self.sim.ctx.pools[pool].facts.exotic[t]) {
                continue;
            }
            let Some((_, allowed)) = self.allowed(i, pool) else { continue };
            let mask = cand.offerings & allowed[t];
            if mask != 0 && copies(&self.demand[i], self.space(pool, t), 1) > 0 {
                each(pool, t, mask);
            }
        }
    }

    /// The LP packing's input for `items` (see [`Packer::columns_once`]): their pods as
    /// classes, and a node type per pool, instance type and distinct offering mask of theirs
    /// (its `(pool, type, mask)` alongside).
    #[allow(clippy::type_complexity)]
    fn lp_input(&self, items: &[usize]) -> (crate::bound::BoundInput, Vec<(usize, usize, u64)>) {
        const NONE: usize = usize::MAX;
        // Per pool, per type: the distinct masks, each a node type.
        let mut masks: Vec<Vec<Vec<(u64, usize)>>> =
            self.sim.ctx.pools.iter().map(|p| vec![Vec::new(); p.instance_types.len()]).collect();
        let mut types: Vec<(usize, usize, u64)> = Vec::new();
        for &i in items {
            self.offers(i, |pool, t, mask| {
                // A mask of unavailable offerings only launches nothing: no node type (`NONE`).
                let known = &mut masks[pool][t];
                if !known.iter().any(|&(m, _)| m == mask) {
                    let price = least_price(&self.sim.ctx.pools[pool].instance_types[t], mask);
                    let nt = if price.is_finite() { types.len() } else { NONE };
                    known.push((mask, nt));
                    if nt != NONE {
                        types.push((pool, t, mask));
                    }
                }
            });
        }
        let mut input = crate::bound::BoundInput {
            dimensions: self.dense.names.clone(),
            classes: Vec::with_capacity(items.len()),
            node_types: types
                .iter()
                .map(|&(pool, t, mask)| crate::bound::BoundNodeType {
                    price: least_price(&self.sim.ctx.pools[pool].instance_types[t], mask),
                    capacity: self.space(pool, t).iter().map(|&v| v.max(0) as f64).collect(),
                    classes: Vec::new(),
                    max_nodes: None,
                })
                .collect(),
        };
        for (k, &i) in items.iter().enumerate() {
            // Pods of one hostname group never share a node: a node holds at most one pod
            // per distinct set of groups.
            let per_node = self.capped(i).then(|| {
                let sets: BTreeSet<&Vec<usize>> =
                    self.left[i].iter().map(|&p| &self.caps[self.sim.pod_class[p]]).collect();
                sets.len() as u64
            });
            input.classes.push(crate::bound::BoundClass {
                count: self.left[i].len() as u64,
                demand: self.demand[i].iter().map(|&d| d.max(0) as f64).collect(),
                min_nodes: 0,
                max_per_node: per_node,
            });
            // Every node type launching a part of the item's offerings hosts it (an item's
            // offerings are found again rather than kept: kept, they are the largest part of
            // the memory here).
            self.offers(i, |pool, t, mask| {
                for &(m, nt) in &masks[pool][t] {
                    if nt != NONE && m & !mask == 0 {
                        input.node_types[nt].classes.push(k);
                    }
                }
            });
        }
        for node_type in &mut input.node_types {
            node_type.classes.sort_unstable();
            node_type.classes.dedup();
        }
        (input, types)
    }

    /// Per item: what one of its pods is worth to a packing of the items with pods left on
    /// new nodes (groups moved as one aside), its price in the resource-volume LP of them
    /// (about what packing it elsewhere costs; 0 for the groups); `None` when there are no
    /// such items, or too many for the LP.
    fn lp_worth(&self) -> Option<Vec<f64>> {
        let items: Vec<usize> =
            self.order.iter().copied().filter(|&i| self.unit(i).is_none() && !self.left[i].is_empty()).collect();
        if items.is_empty() || items.len() > COLUMN_ITEMS {
            return None;
        }
        let (input, _) = self.lp_input(&items);
        let effort = crate::bound::Effort::quick();
        let (_, prices) =
            crate::profile::phase("optimize: pod prices", || crate::bound::lp_packing(&input, &effort)).ok()?;
        let mut worth = vec![0.0; self.demand.len()];
        items.iter().zip(prices).for_each(|(&i, price)| worth[i] = price);
        Some(worth)
    }

    /// Step 3a, first: each group moved as one (largest first) opens the node where it costs
    /// least net of the pods filling the rest of its room (a knapsack), a pod worth its price
    /// in the resource-volume LP of the other items (about what packing it elsewhere costs).
    /// Packed with the others, a group's one large node comes out of the LP fractional, and a
    /// greedy pattern around it, filled largest pods first, leaves much of it idle.
    fn place_units(&mut self) {
        let units: Vec<usize> =
            self.order.iter().copied().filter(|&i| self.unit(i).is_some() && !self.left[i].is_empty()).collect();
        if units.is_empty() {
            return;
        }
        let worth = self.lp_worth().unwrap_or_else(|| vec![0.0; self.demand.len()]);
        for anchor in units {
            let Some(pattern) = self.best_pattern(anchor, Some(&worth)) else { continue };
            let counts = self.pick(&pattern.counts);
            let remaining = self.sim.remaining[pattern.pool].clone();
            if let Some(node) = self.build(pattern.pool, &counts, &remaining) {
                self.open(node, &counts);
            }
        }
    }

    /// Step 3: pattern packing of the free pods left.
    fn pack(&mut self) {
        let mut stuck: Vec<usize> = Vec::new();
        while let Some(anchor) = self.order.iter().copied().find(|&c| !self.left[c].is_empty() && !stuck.contains(&c)) {
            let Some(pattern) = self.best_pattern(anchor, None) else {
                stuck.push(anchor);
                continue;
            };
            let repeat = pattern.counts.iter().map(|&(c, k)| self.left[c].len() / k).min().unwrap_or(0).max(1);
            let mut opened = 0;
            for _ in 0..repeat {
                let counts = self.pick(&pattern.counts);
                if counts.is_empty() {
                    break;
                }
                let remaining = self.sim.remaining[pattern.pool].clone();
                let Some(node) = self.build(pattern.pool, &counts, &remaining) else { break };
                self.open(node, &counts);
                opened += 1;
            }
            if opened == 0 {
                // The pattern's classes exclude each other: place the anchor's pods alone.
                let counts = self.pick(&pattern.counts[..1]);
                let remaining = self.sim.remaining[pattern.pool].clone();
                match self.build(pattern.pool, &counts, &remaining) {
                    Some(node) if !counts.is_empty() => {
                        self.open(node, &counts);
                    }
                    _ => stuck.push(anchor),
                }
            }
        }
    }

    /// Per class, how many of the node's pods belong to it.
    fn class_counts(&self, n: usize) -> Vec<(usize, usize)> {
        let mut items: Vec<usize> =
            self.sim.new_nodes[n].pods.iter().filter(|&&p| !self.follower[p]).map(|&p| self.item(p)).collect();
        items.sort_unstable();
        let mut counts: Vec<(usize, usize)> = Vec::new();
        for c in items {
            match counts.last_mut() {
                Some((last, k)) if *last == c => *k += 1,
                _ => counts.push((c, 1)),
            }
        }
        counts
    }

    fn price(&self, n: usize) -> f64 {
        let node = &self.sim.new_nodes[n];
        node.launch(&self.sim.ctx.pools[node.pool]).map_or(0.0, |l| l.price)
    }

    /// Value packed per unit of price (higher is better).
    fn efficiency(&self, n: usize) -> f64 {
        let worth: f64 = self.class_counts(n).iter().map(|&(c, k)| k as f64 * self.value[c]).sum();
        let price = self.price(n);
        if price > 0.0 {
            worth / price
        } else {
            f64::INFINITY
        }
    }

    /// Takes node `n` out: its pods go back to `left` (front, keeping queue order), its limit
    /// charge is returned.
    fn retire(&mut self, n: usize) {
        for p in self.vacate(n) {
            if !self.follower[p] {
                let c = self.item(p);
                self.left[c].insert(0, p);
            }
        }
    }

    /// Empties node `n`: returns its pods (pending again) and its limit charge.
    fn vacate(&mut self, n: usize) -> Vec<usize> {
        self.sim.order.remove(n);
        self.sim.parked.remove(&n);
        let node = &mut self.sim.new_nodes[n];
        let pods = std::mem::take(&mut node.pods);
        node.charge(&self.sim.ctx.pools[node.pool], &mut self.sim.remaining[node.pool], -1);
        node.clear_options();
        node.requests = Resources::default();
        for &p in &pods {
            self.sim.placement[p] = Placement::Pending;
        }
        self.packed.retain(|&m| m != n);
        pods
    }

    /// Step 4: remove nodes whose pods fit elsewhere for free; merge pairs into a cheaper node;
    /// on small packings, part one node's or two nodes' pods anew over one node more.
    fn improve(&mut self) {
        let mut effort = REPART_EFFORT;
        for _ in 0..IMPROVEMENT_ROUNDS {
            let removed = self.empty_weakest();
            let merged = self.merge_pairs();
            let small = self.sim.lp_packing && self.packed.len() <= REPART_UP_TO_NODES;
            let parted = small && self.repart(&mut effort);
            if !removed && !merged && !parted {
                break;
            }
        }
    }

    /// On small packings, where a node is much of the cost (not in consolidation's trials, run
    /// many times): the pods of one node, or of two, parted anew over one node more (a large
    /// type may cost more than two smaller ones, two nodes more than three), every way of
    /// parting them tried (by their counts per class, up to [`REPART_WAYS`] ways a time), the
    /// cheapest kept when it costs less; within `effort` (spent here: a way looked at counts
    /// one, a node built [`REPART_BUILD_EFFORT`]).
    fn repart(&mut self, effort: &mut usize) -> bool {
        let mut nodes: Vec<(f64, usize)> = self.packed.iter().map(|&n| (self.efficiency(n), n)).collect();
        nodes.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let nodes: Vec<usize> = nodes.into_iter().map(|(_, n)| n).collect();
        let mut sets: Vec<Vec<usize>> = nodes.iter().map(|&n| vec![n]).collect();
        for i in 0..nodes.len() {
            sets.extend(nodes[i + 1..].iter().map(|&m| vec![nodes[i], m]));
        }
        for set in sets {
            let pool = self.sim.new_nodes[set[0]].pool;
            if set.iter().any(|&n| !self.packed.contains(&n) || self.sim.new_nodes[n].pool != pool)
                || !self.caps_apart(&set)
            {
                continue;
            }
            let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
            for &n in &set {
                for (c, k) in self.class_counts(n) {
                    *counts.entry(c).or_default() += k;
                }
            }
            let counts: Vec<(usize, usize)> = counts.into_iter().collect();
            let parts = set.len() + 1;
            // Ways to deal each class's pods over the parts: C(k + parts − 1, parts − 1) each.
            let ways = counts.iter().try_fold(1usize, |w, &(_, k)| {
                let per: usize = (1..parts).map(|j| k + j).product::<usize>() / (1..parts).product::<usize>();
                w.checked_mul(per).filter(|&w| w <= REPART_WAYS)
            });
            if ways.is_none() || *effort < parts * REPART_BUILD_EFFORT {
                continue;
            }
            let ctx_pool = &self.sim.ctx.pools[pool];
            let mut remaining = self.sim.remaining[pool].clone();
            for &n in &set {
                self.sim.new_nodes[n].charge(ctx_pool, &mut remaining, -1);
            }
            let price: f64 = set.iter().map(|&n| self.price(n)).sum();
            let mut best: Option<(f64, Vec<(NewNode, Counts)>)> = None;
            let mut deal = vec![vec![0usize; counts.len()]; parts];
            // Without limits a part's node is the same in every deal: built once.
            let mut known: HashMap<Counts, Option<(NewNode, f64)>> = HashMap::new();
            self.each_deal(&counts, 0, &mut deal, &mut |packer, deal| {
                if *effort < 1 + parts * REPART_BUILD_EFFORT {
                    return false;
                }
                *effort -= 1;
                // Parts alike but for their order are tried once: non-empty, in descending order.
                if deal.iter().any(|d| d.iter().all(|&k| k == 0)) || deal.windows(2).any(|w| w[0] < w[1]) {
                    return true;
                }
                let mut left = remaining.clone();
                let mut built = Vec::with_capacity(parts);
                let mut cost = 0.0;
                for d in deal {
                    let part: Vec<(usize, usize)> =
                        counts.iter().zip(d).filter(|(_, &k)| k > 0).map(|(&(c, _), &k)| (c, k)).collect();
                    let mut build = || {
                        *effort -= REPART_BUILD_EFFORT;
                        let node = packer.build(pool, &part, &left)?;
                        let price = node.launch(ctx_pool).map_or(f64::INFINITY, |l| l.price);
                        Some((node, price))
                    };
                    let made =
                        if left.is_empty() { known.entry(part.clone()).or_insert_with(build).clone() } else { build() };
                    let Some((node, price)) = made else { return true };
                    node.charge(ctx_pool, &mut left, 1);
                    cost += price;
                    built.push((node, part));
                }
                if cost < price - EPSILON && best.as_ref().is_none_or(|(b, _)| cost < *b - EPSILON) {
                    best = Some((cost, built));
                }
                true
            });
            if let Some((_, built)) = best {
                for &n in &set {
                    self.retire(n);
                }
                for (node, part) in built {
                    self.open(node, &part);
                }
                return true;
            }
        }
        false
    }

    /// Calls `each` with every way to deal the pods of `counts` (from class `from` on) over
    /// the parts of `deal` (per part, per class, a count); stops when it returns false.
    fn each_deal(
        &self,
        counts: &[(usize, usize)],
        from: usize,
        deal: &mut Vec<Vec<usize>>,
        each: &mut dyn FnMut(&Self, &[Vec<usize>]) -> bool,
    ) -> bool {
        if from == counts.len() {
            return each(self, deal);
        }
        fn spread(
            k: usize,
            part: usize,
            class: usize,
            deal: &mut Vec<Vec<usize>>,
            go: &mut dyn FnMut(&mut Vec<Vec<usize>>) -> bool,
        ) -> bool {
            if part + 1 == deal.len() {
                deal[part][class] = k;
                return go(deal);
            }
            for here in (0..=k).rev() {
                deal[part][class] = here;
                if !spread(k - here, part + 1, class, deal, go) {
                    return false;
                }
            }
            true
        }
        spread(counts[from].1, 0, from, deal, &mut |deal| self.each_deal(counts, from + 1, deal, each))
    }

    /// Removes every packed node whose pods all fit into the room other nodes leave on their
    /// launched types; least efficient first.
    fn empty_weakest(&mut self) -> bool {
        let mut nodes: Vec<(f64, usize)> = self.packed.iter().map(|&n| (self.efficiency(n), n)).collect();
        nodes.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut changed = false;
        // The room each node with pods leaves on its launched type, kept current as pods move.
        let mut rooms: Vec<Option<(usize, u64, Vec<i64>)>> = (0..self.sim.new_nodes.len())
            .map(|m| if self.sim.new_nodes[m].pods.is_empty() { None } else { self.launched_room(m) })
            .collect();
        // The nodes whose room may take a pod of some class, in index order: a full node is
        // skipped without looking (with many nodes, most are full).
        let floor = self.least_demand();
        let takes_some = |room: &Option<(usize, u64, Vec<i64>)>| {
            room.as_ref().is_some_and(|(_, _, r)| r.iter().zip(&floor).all(|(r, f)| f.is_none_or(|f| *r >= f)))
        };
        let mut open: BTreeSet<usize> = (0..rooms.len()).filter(|&m| takes_some(&rooms[m])).collect();
        // Per item, once asked: the open nodes (in index order) whose room may take one of its
        // pods. A node leaves an item's list when its room cannot (rooms only shrink in a pass,
        // unless a node's launch moves to a larger type: it is looked at again next pass).
        let mut hosts: Vec<Option<Vec<usize>>> = vec![None; self.demand.len()];
        let mut live = vec![false; self.sim.new_nodes.len()];
        self.packed.iter().for_each(|&n| live[n] = true);
        for (_, n) in nodes {
            if !live[n] {
                continue;
            }
            let counts = self.class_counts(n);
            // Pods in hostname groups stay on the node they were packed on, as do groups
            // moved as one.
            if counts.iter().any(|&(c, _)| self.stays(c)) {
                continue;
            }
            // Dry run on the rooms of the other nodes (the rooms it changes, copied).
            let mut taken: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
            let mut moves: Vec<(usize, usize, usize)> = Vec::new();
            let mut fits = true;
            for &(c, k) in &counts {
                let mut want = k;
                let list = hosts[c].get_or_insert_with(|| open.iter().copied().collect());
                let mut kept = 0;
                for x in 0..list.len() {
                    let m = list[x];
                    if want > 0 {
                        let Some((t, bit, room)) = rooms[m].as_ref() else { continue };
                        let pool = self.sim.new_nodes[m].pool;
                        let Some((_, allowed)) = self.allowed(c, pool) else { continue };
                        if allowed[*t] & *bit == 0 || copies(&self.demand[c], room, 1) == 0 {
                            continue;
                        }
                        let got = if m == n { 0 } else { copies(&self.demand[c], taken.get(&m).unwrap_or(room), want) };
                        if got > 0 {
                            take(taken.entry(m).or_insert_with(|| room.clone()), &self.demand[c], got);
                            moves.push((m, c, got));
                            want -= got;
                        }
                    }
                    list[kept] = m;
                    kept += 1;
                }
                list.truncate(kept);
                if want > 0 {
                    fits = false;
                    break;
                }
            }
            if !fits {
                continue;
            }
            // Check the moves for real on copies of the receivers before committing.
            let mut trial: BTreeMap<usize, NewNode> = BTreeMap::new();
            let mut ok = true;
            for &(m, c, k) in &moves {
                let node = trial.entry(m).or_insert_with(|| self.sim.new_nodes[m].clone());
                let pool = node.pool;
                let Some((term, allowed)) = self.allowed(c, pool) else {
                    ok = false;
                    break;
                };
                let class = &self.sim.classes[self.class(c)];
                let pod = self.sim.pods[class.pods[0]];
                let ctx_pool = &self.sim.ctx.pools[pool];
                match node.try_add_copies(pod, k, &class.terms[*term], allowed, ctx_pool, None) {
                    Ok(next) => node.commit_copies(next, pod, &[]),
                    Err(_) => {
                        ok = false;
                        break;
                    }
                }
            }
            if !ok {
                continue;
            }
            self.retire(n);
            live[n] = false;
            rooms[n] = None;
            open.remove(&n);
            for (m, c, k) in moves {
                let pool = self.sim.new_nodes[m].pool;
                let Some((term, allowed)) = self.allowed(c, pool) else { continue };
                let pod = self.sim.pods[self.left[c][0]];
                let ctx_pool = &self.sim.ctx.pools[pool];
                let term = &self.sim.classes[self.class(c)].terms[*term];
                if let Ok(next) = self.sim.new_nodes[m].try_add_copies(pod, k, term, allowed, ctx_pool, None) {
                    let pods: Vec<usize> = self.left[c].drain(..k).collect();
                    self.commit(m, next, &pods);
                }
            }
            for &m in taken.keys() {
                rooms[m] = self.launched_room(m);
                if !takes_some(&rooms[m]) {
                    open.remove(&m);
                }
            }
            changed = true;
        }
        changed
    }

    /// Per resource, the least any class asks of it when every class asks some (`None` when
    /// one asks none): a room with less than that of any resource takes no pod of any class.
    fn least_demand(&self) -> Vec<Option<i64>> {
        least_demand(self.demand.iter(), self.dense.names.len())
    }

    /// Whether a node holding the pods of both `a` and `b` could cost less than `price`: an
    /// instance type the pool allows and every class of theirs allows, with an offering all of
    /// them allow under that price, whose space takes both nodes' requests (limits and node
    /// requirements left out, so it is a floor). Checked before a merge is built, as most
    /// pairs cannot merge for less.
    fn may_merge_under(&self, a: usize, b: usize, price: f64) -> bool {
        let (na, nb) = (&self.sim.new_nodes[a], &self.sim.new_nodes[b]);
        let pool_index = na.pool;
        let pool = &self.sim.ctx.pools[pool_index];
        let mut items: Vec<usize> = na.pods.iter().chain(&nb.pods).map(|&p| self.item(p)).collect();
        items.sort_unstable();
        items.dedup();
        let mut allowed = Vec::with_capacity(items.len());
        for c in items {
            match self.allowed(c, pool_index) {
                Some((_, masks)) => allowed.push(masks),
                None => return false,
            }
        }
        let requests = na.requests.add(&nb.requests);
        let want = requests.core();
        // Types by the least price of their offerings: none past `price` can do.
        for &t in &self.by_price[pool_index] {
            let t = t as usize;
            let (offered, least) = pool.type_offerings[t];
            if least >= price {
                break;
            }
            // The room first: most types cheaper than the pair are too small for it.
            let core = &pool.type_core[t];
            if (0..4).any(|i| want[i] > core[i]) {
                continue;
            }
            let mask = allowed.iter().fold(offered, |m, masks| m & masks[t]);
            if mask == 0 || !requests.fits(&pool.type_space[t]) {
                continue;
            }
            let offerings = &pool.instance_types[t].offerings;
            if offerings.iter().enumerate().any(|(i, o)| mask & (1 << i) != 0 && o.available && o.price < price) {
                return true;
            }
        }
        false
    }

    /// Merges pairs of packed nodes of the same pool into one node that costs less than both.
    fn merge_pairs(&mut self) -> bool {
        let mut nodes: Vec<(f64, usize)> = self.packed.iter().map(|&n| (self.efficiency(n), n)).collect();
        nodes.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        nodes.truncate(MERGE_CANDIDATES);
        let mut changed = false;
        for i in 0..nodes.len() {
            for j in i + 1..nodes.len() {
                let (a, b) = (nodes[i].1, nodes[j].1);
                if !self.packed.contains(&a) || !self.packed.contains(&b) {
                    continue;
                }
                let pool = self.sim.new_nodes[a].pool;
                if self.sim.new_nodes[b].pool != pool {
                    continue;
                }
                let (price_a, price_b) = (self.price(a), self.price(b));
                if !self.may_merge_under(a, b, price_a + price_b - EPSILON) || !self.caps_apart(&[a, b]) {
                    continue;
                }
                let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
                for (c, k) in self.class_counts(a).into_iter().chain(self.class_counts(b)) {
                    *counts.entry(c).or_default() += k;
                }
                let counts: Vec<(usize, usize)> = counts.into_iter().collect();
                let mut remaining = self.sim.remaining[pool].clone();
                for n in [a, b] {
                    self.sim.new_nodes[n].charge(&self.sim.ctx.pools[pool], &mut remaining, -1);
                }
                let Some(merged) = self.build(pool, &counts, &remaining) else { continue };
                let price = merged.launch(&self.sim.ctx.pools[pool]).map_or(f64::INFINITY, |l| l.price);
                if price < price_a + price_b - EPSILON {
                    self.retire(a);
                    self.retire(b);
                    self.open(merged, &counts);
                    changed = true;
                }
            }
        }
        changed
    }
}

/// What `exact` mode proved about the nodes it re-solved.
#[cfg(feature = "milp")]
pub(super) struct ExactReport {
    /// A lower bound on the cost of the re-solved nodes, valid for every plan when
    /// `covers_plan`.
    pub lower_bound: f64,
    /// The re-solved pods are every pending pod and the MILP saw every candidate of theirs, so
    /// `lower_bound` bounds the whole plan.
    pub covers_plan: bool,
    pub note: String,
}

#[cfg(feature = "milp")]
impl Packer<'_, '_> {
    /// `exact` mode: the packed nodes (free classes on new nodes) are re-solved as a pattern
    /// MILP over their shape classes and the NodePools they were packed in, warm-started from
    /// the packing; the MILP's nodes replace them when they cost less and every one of them
    /// can be opened as a NodeClaim.
    fn exact(&mut self, options: &crate::milp::MilpOptions) -> Option<ExactReport> {
        use crate::bound::{BoundClass, BoundInput, BoundNodeType};
        use crate::milp::{solve, NodeLimit};
        // Nodes holding moved pods (in hostname groups or kept to a zone) are kept as packed.
        let packed: Vec<usize> = self
            .packed
            .iter()
            .copied()
            .filter(|&n| self.sim.new_nodes[n].pods.iter().all(|&p| self.item_of[p].is_none()))
            .collect();
        if packed.is_empty() {
            return None;
        }
        // Classes and the pools they were packed in.
        let mut pools_of: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        let mut counts: BTreeMap<usize, u64> = BTreeMap::new();
        for &n in &packed {
            let pool = self.sim.new_nodes[n].pool;
            for (c, k) in self.class_counts(n) {
                *counts.entry(c).or_default() += k as u64;
                let pools = pools_of.entry(c).or_default();
                if !pools.contains(&pool) {
                    pools.push(pool);
                }
            }
        }
        let classes: Vec<usize> = counts.keys().copied().collect();
        let index_of = |c: usize| classes.iter().position(|&x| x == c);
        let dims = self.dense.names.clone();
        let mut input = BoundInput { dimensions: dims, classes: Vec::new(), node_types: Vec::new() };
        for &c in &classes {
            input.classes.push(BoundClass {
                count: counts[&c],
                demand: self.demand[c].iter().map(|&d| d as f64).collect(),
                min_nodes: 0,
                max_per_node: None,
            });
        }
        // Node types: (pool, type, offering mask), hosting the classes whose compatible
        // offerings include that mask's; priced at the mask's cheapest offering.
        let mut keys: Vec<(usize, usize, u64)> = Vec::new();
        let mut covers_plan = true;
        for &c in &classes {
            for cand in &self.sim.filters[c].candidates {
                let pool = cand.pool;
                if !pools_of[&c].contains(&pool) {
                    covers_plan = false;
                    continue;
                }
                if self.generic[c] && self.sim.ctx.pools[pool].facts.exotic[cand.instance_type] {
                    continue;
                }
                let key = (pool, cand.instance_type, cand.offerings);
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        keys.sort_unstable();
        for &(pool, t, mask) in &keys {
            let price = least_price(&self.sim.ctx.pools[pool].instance_types[t], mask);
            let hosts: Vec<usize> = classes
                .iter()
                .enumerate()
                .filter(|&(_, &c)| {
                    pools_of[&c].contains(&pool)
                        && self.sim.allowed[c][pool].as_ref().is_some_and(|(_, allowed)| allowed[t] & mask == mask)
                })
                .map(|(i, _)| i)
                .collect();
            input.node_types.push(BoundNodeType {
                price: if price.is_finite() { price } else { 0.0 },
                capacity: self.space(pool, t).iter().map(|&v| v.max(0) as f64).collect(),
                classes: hosts,
                max_nodes: None,
            });
        }
        // Limits: what each pool has left once the packed nodes are taken out.
        let mut remaining = self.sim.remaining.clone();
        for &n in &packed {
            let node = &self.sim.new_nodes[n];
            node.charge(&self.sim.ctx.pools[node.pool], &mut remaining[node.pool], -1);
        }
        let mut limits = Vec::new();
        for (pool, rows) in remaining.iter().enumerate() {
            for (resource, room) in rows {
                let coefficients: Vec<(usize, f64)> = keys
                    .iter()
                    .enumerate()
                    .filter(|(_, k)| k.0 == pool)
                    .map(|(i, k)| (i, self.sim.ctx.pools[pool].instance_types[k.1].capacity.get(resource) as f64))
                    .collect();
                if !coefficients.is_empty() {
                    limits.push(NodeLimit { coefficients, max: (*room).max(0) as f64 });
                }
            }
        }
        // The packing as the warm start: each node's launched type and offering.
        let mut warm = Vec::new();
        let mut packed_cost = 0.0;
        for &n in &packed {
            let node = &self.sim.new_nodes[n];
            let launch = node.launch(&self.sim.ctx.pools[node.pool])?;
            packed_cost += launch.price;
            let t = launch.instance_type as usize;
            let node_counts: Vec<(usize, u64)> =
                self.class_counts(n).into_iter().filter_map(|(c, k)| Some((index_of(c)?, k as u64))).collect();
            let fitting = keys.iter().enumerate().find(|(i, k)| {
                k.0 == node.pool
                    && k.1 == t
                    && k.2 & (1 << launch.offering) != 0
                    && node_counts.iter().all(|(c, _)| input.node_types[*i].classes.contains(c))
            });
            if let Some((i, _)) = fitting {
                warm.push((i, node_counts));
            }
        }
        let solution = match solve(&input, &limits, &warm, options) {
            Ok(s) => s,
            Err(e) => {
                return Some(ExactReport {
                    lower_bound: 0.0,
                    covers_plan: false,
                    note: format!("exact: the MILP gave no answer ({e}); the optimize packing is kept"),
                })
            }
        };
        let mut note = format!(
            "exact: {} pods in {} shape classes re-solved as a MILP: {:.4}/h (packing {:.4}/h), bound {:.4}/h{}",
            counts.values().sum::<u64>(),
            classes.len(),
            solution.cost,
            packed_cost,
            solution.lower_bound,
            if solution.proven_optimal { ", proven optimal" } else { "" }
        );
        if solution.cost < packed_cost - EPSILON {
            // Build every node first; replace the packing only if all of them open.
            let mut rooms = remaining.clone();
            let mut built = Vec::new();
            for (i, node_counts) in &solution.nodes {
                let (pool, _, _) = keys[*i];
                let counts: Vec<(usize, usize)> = node_counts.iter().map(|&(c, k)| (classes[c], k as usize)).collect();
                let Some(mut node) = self.build(pool, &counts, &rooms[pool]) else {
                    note.push_str("; a MILP node could not be opened as a NodeClaim, the packing is kept");
                    built.clear();
                    break;
                };
                node.trim_to_launch(&self.sim.ctx.pools[pool], &rooms[pool]);
                node.charge(&self.sim.ctx.pools[pool], &mut rooms[pool], 1);
                built.push((node, counts));
            }
            if !built.is_empty() {
                for n in packed.clone() {
                    self.retire(n);
                }
                for (node, counts) in built {
                    self.open(node, &counts);
                }
            }
        }
        let all_pending = self.sim.placement.iter().all(|p| !matches!(p, Placement::Existing(_)))
            && counts.values().sum::<u64>() as usize == self.sim.pods.len();
        Some(ExactReport { lower_bound: solution.lower_bound, covers_plan: covers_plan && all_pending, note })
    }
}

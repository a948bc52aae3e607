//! The two kinds of node a pod can land on during packing: nodes that exist, and NodeClaims
//! this run opens (whose requirements and instance-type options narrow with every pod).

use super::topology::Topology;
use crate::catalog::CapacityType;
use crate::filter::{PoolContext, ShapeClass};
use crate::labels;
use crate::model::{HostPort, Node, Pod};
use crate::plan::{PlannedNode, Utilisation};
use crate::requirements::{Operator, Requirements};
use crate::resources::{describe_amount, Resources};
use crate::taints::TaintEffect;
use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

/// The instance-type options a NodeClaim carries at most (Karpenter's limit).
const MAX_OPTIONS: usize = 60;

/// Why a NodeClaim cannot take a pod.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Rejection {
    /// The NodePool's limits leave room for no instance type.
    Limits {
        detail: String,
    },
    /// The pod's requirements conflict with the NodeClaim's.
    Requirements(String),
    /// No instance-type option holds all the pods with a compatible offering.
    NoInstanceType,
    HostPort(u16),
    MinValues {
        key: String,
        required: u32,
        available: usize,
    },
    Topology(std::sync::Arc<str>),
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Limits { detail } => {
                write!(f, "its limits leave room for no instance type that fits ({detail})")
            }
            Rejection::Requirements(m) => write!(f, "incompatible requirements: {m}"),
            Rejection::NoInstanceType => f.write_str("no instance type holds the pods with a compatible offering"),
            Rejection::HostPort(p) => write!(f, "host port {p} already in use"),
            Rejection::MinValues { key, required, available } => {
                write!(f, "minValues: needs {required} distinct {key} values, only {available} fit")
            }
            Rejection::Topology(m) => f.write_str(m),
        }
    }
}

/// The instance type and offering a NodeClaim launches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Launch {
    /// Index into the pool's types.
    pub instance_type: u32,
    /// Index into the type's offerings.
    pub offering: usize,
    pub price: f64,
}

/// A pool's instance types laid out for what packing asks on every pod: which offerings a
/// zone or capacity-type requirement keeps, and the cheapest offering among a mask's.
#[derive(Debug)]
pub(crate) struct TypeTable {
    /// Zones with an index ([`crate::catalog::SizedTypes::zones`], at most 64).
    zones: usize,
    /// Per type, per indexed zone: the type's offerings in that zone (bit mask); `zones`
    /// entries a type.
    zone_offerings: Vec<u64>,
    /// Per type: its offerings whose zone has no index (checked by name).
    unindexed: Vec<u64>,
    /// Per type, per capacity type (reserved, spot, on-demand): its offerings.
    capacity_offerings: Vec<[u64; 3]>,
    /// Per type, per capacity type: its available offerings, cheapest first (then by zone,
    /// then index), as a range of `cheap`.
    cheap_ranges: Vec<[(u32, u32); 3]>,
    cheap: Vec<Cheap>,
    /// Per type: the rank of its name among the pool's types (equal names, equal ranks).
    name_rank: Vec<u32>,
    /// Whether some type has an offering whose zone has no index.
    any_unindexed: bool,
    /// The options of an empty NodeClaim of the pool without limits: every type it allows, with
    /// all its offerings (shared by every claim that keeps them all).
    all_options: Arc<Vec<(u32, u64)>>,
}

/// A choice of zones (by index, when a zone requirement is present) and of capacity types
/// (reserved, spot, on-demand, when a capacity-type requirement is present): what decides
/// which offerings a type keeps, unless some offering's zone has no index.
type OfferingsKey = (Option<u64>, Option<[bool; 3]>);

/// An available offering, for [`TypeTable`]'s cheapest-first lists.
#[derive(Debug, Clone, Copy)]
struct Cheap {
    price: f64,
    /// The rank of its zone's name among the pool's offerings' zones.
    zone_rank: u32,
    offering: u32,
}

fn slot(ct: CapacityType) -> usize {
    match ct {
        CapacityType::Reserved => 0,
        CapacityType::Spot => 1,
        CapacityType::OnDemand => 2,
    }
}

impl TypeTable {
    pub fn new(pool: &PoolContext) -> TypeTable {
        let types = &pool.instance_types;
        let zones = pool.facts.zones.len().min(64);
        let mut zone_names: Vec<&str> = types.iter().flat_map(|t| &t.offerings).map(|o| o.zone.as_str()).collect();
        zone_names.sort_unstable();
        zone_names.dedup();
        let zone_rank = |z: &str| zone_names.binary_search(&z).map_or(u32::MAX, |i| i as u32);
        let mut by_name: Vec<usize> = (0..types.len()).collect();
        by_name.sort_by(|&a, &b| types[a].name.cmp(&types[b].name));
        let mut name_rank = vec![0u32; types.len()];
        let mut rank = 0u32;
        for (i, &t) in by_name.iter().enumerate() {
            if i > 0 && types[by_name[i - 1]].name != types[t].name {
                rank += 1;
            }
            name_rank[t] = rank;
        }
        let mut table = TypeTable {
            zones,
            zone_offerings: vec![0; types.len() * zones],
            unindexed: vec![0; types.len()],
            capacity_offerings: vec![[0; 3]; types.len()],
            cheap_ranges: Vec::with_capacity(types.len()),
            cheap: Vec::new(),
            name_rank,
            any_unindexed: false,
            all_options: Arc::new(
                (0..types.len()).filter(|&t| pool.allows(t)).map(|t| (t as u32, pool.type_offerings[t].0)).collect(),
            ),
        };
        let mut entries: Vec<(usize, Cheap)> = Vec::new();
        for (t, it) in types.iter().enumerate() {
            let indexes = &pool.facts.offering_zone[t];
            entries.clear();
            for (i, o) in it.offerings.iter().enumerate().take(64) {
                let bit = 1u64 << i;
                match indexes[i] {
                    z if (z as usize) < zones => table.zone_offerings[t * zones + z as usize] |= bit,
                    _ => table.unindexed[t] |= bit,
                }
                table.capacity_offerings[t][slot(o.capacity_type)] |= bit;
                if o.available {
                    let cheap = Cheap { price: o.price, zone_rank: zone_rank(&o.zone), offering: i as u32 };
                    entries.push((slot(o.capacity_type), cheap));
                }
            }
            // Stable: equal prices and zones keep the offerings' order.
            entries.sort_by(|a, b| {
                a.0.cmp(&b.0).then(a.1.price.total_cmp(&b.1.price)).then(a.1.zone_rank.cmp(&b.1.zone_rank))
            });
            let mut ranges = [(0u32, 0u32); 3];
            for (k, range) in ranges.iter_mut().enumerate() {
                let start = table.cheap.len() as u32;
                table.cheap.extend(entries.iter().filter(|e| e.0 == k).map(|e| e.1));
                *range = (start, table.cheap.len() as u32);
            }
            table.cheap_ranges.push(ranges);
        }
        table.any_unindexed = table.unindexed.iter().any(|&m| m != 0);
        table
    }

    /// Type `t`'s offerings in the zones `zone_bits` (indexed zones) and, for those without an
    /// index, in `zone`.
    fn in_zones(&self, t: usize, zone_bits: u64, zone: &crate::requirements::Requirement, pool: &PoolContext) -> u64 {
        let mut out = 0;
        let mut bits = zone_bits;
        while bits != 0 {
            let z = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if z < self.zones {
                out |= self.zone_offerings[t * self.zones + z];
            }
        }
        let mut odd = self.unindexed[t];
        while odd != 0 {
            let i = odd.trailing_zeros() as usize;
            odd &= odd - 1;
            if zone.has(&pool.instance_types[t].offerings[i].zone) {
                out |= 1 << i;
            }
        }
        out
    }

    /// Of capacity type `slot`, type `t`'s cheapest available offering in `mask`.
    fn cheapest(&self, t: usize, slot: usize, mask: u64) -> Option<&Cheap> {
        let (start, end) = self.cheap_ranges[t][slot];
        self.cheap[start as usize..end as usize].iter().find(|c| mask & (1u64 << c.offering) != 0)
    }
}

/// A NodeClaim opened during this run.
#[derive(Debug, Clone)]
pub(super) struct NewNode {
    pub pool: usize,
    /// Its pool's [`TypeTable`].
    pub table: Arc<TypeTable>,
    pub requirements: Requirements,
    /// Instance types still possible (index into the pool's types) and their compatible
    /// offerings (bit mask). Shared with a [`Next`] that leaves them as they are.
    options: Arc<Vec<(u32, u64)>>,
    /// Requests of its pods (DaemonSet overhead is accounted in the pool's type space).
    pub requests: Resources,
    /// The element-wise largest CPU, memory, pods and ephemeral storage (allocatable less
    /// DaemonSets) among the options, once asked ([`NewNode::has_room_for`]); cleared whenever
    /// the options change.
    largest_space: OnceCell<[i64; 4]>,
    /// The element-wise smallest CPU, memory, pods and ephemeral storage among the options,
    /// once known; cleared whenever the types change.
    smallest_space: OnceCell<[i64; 4]>,
    /// The `allowed` lists (by address and length: they belong to the packing run, as the
    /// node does) known to keep every offering among the options; as options only narrow,
    /// they keep them from then on.
    covered_by: RefCell<Vec<(usize, usize)>>,
    /// The zones and capacity types (see [`OfferingsKey`]) every option's offerings are known
    /// to be within.
    offerings_for: Option<OfferingsKey>,
    pub pods: Vec<usize>,
    pub ports: Vec<HostPort>,
    /// A placeholder hostname, unique in the run (its domain for hostname topology).
    pub hostname: String,
    /// [`NewNode::launch`], once asked; cleared whenever the options change.
    launched: OnceCell<Option<Launch>>,
    /// `optimize`: the room it keeps to, once growing further would waste more than a fresh
    /// node (see [`super::efficiency`]).
    pub cap: Option<Resources>,
}

/// The topology a pod brings to a placement: the run's state, the pod's class and its own
/// node requirement.
pub(super) struct PodTopology<'t> {
    pub topology: &'t Topology,
    pub class: usize,
    /// The pod's relaxation level (see [`Topology`]).
    pub level: usize,
    pub pod_requirements: &'t Requirements,
}

impl PodTopology<'_> {
    /// Requirements the pod adds to a node with `reqs` and `hostname`: its preferred node
    /// affinity (until relaxed) and the narrowing topology asks for.
    fn extra(&self, pod: &Pod, reqs: &Requirements, hostname: &str) -> Result<Requirements, Rejection> {
        let mut extra = Requirements::new();
        let mut reqs = std::borrow::Cow::Borrowed(reqs);
        if let Some(preferred) = self.topology.preferred_node(self.class, self.level) {
            if let Err(c) = reqs.compatible(preferred) {
                return Err(Rejection::Requirements(format!("preferred node affinity on {}", c.key())));
            }
            if !reqs.holds(preferred) {
                reqs = std::borrow::Cow::Owned(reqs.intersection(preferred));
            }
            extra = preferred.clone();
        }
        let narrowed = self
            .topology
            .narrow(self.class, self.level, pod, &reqs, hostname, self.pod_requirements)
            .map_err(|r| Rejection::Topology(r.0))?;
        Ok(if extra.is_empty() { narrowed } else { extra.intersection(&narrowed) })
    }
}

/// What a NodeClaim becomes if a pod is added.
pub(super) struct Next {
    /// `None` when the node's own hold (most pods add nothing to them).
    requirements: Option<Requirements>,
    options: Arc<Vec<(u32, u64)>>,
    pub requests: Resources,
    /// [`NewNode::largest_space`] of the options.
    largest_space: [i64; 4],
    /// [`NewNode::smallest_space`] of the options, when known.
    smallest_space: Option<[i64; 4]>,
    /// [`NewNode::offerings_for`] of the options.
    offerings_for: Option<OfferingsKey>,
    /// What it launches, once asked.
    launched: OnceCell<Option<Launch>>,
}

impl Next {
    /// What the NodeClaim `node` would launch (see [`NewNode::launch`]).
    pub fn launch(&self, node: &NewNode, pool: &PoolContext) -> Option<Launch> {
        *self.launched.get_or_init(|| cheapest_launch(&self.options, self.requirements(node), pool, &node.table))
    }

    /// The requirements `node` (the NodeClaim this was tried on) would have.
    pub fn requirements<'a>(&'a self, node: &'a NewNode) -> &'a Requirements {
        self.requirements.as_ref().unwrap_or(&node.requirements)
    }

    /// Whether offering `offering` of type `t` is still among its options.
    pub fn offers(&self, t: u32, offering: usize) -> bool {
        offers(&self.options, t, offering)
    }
}

/// Whether offering `offering` of type `t` is among `options` (sorted by type, as a
/// NodeClaim's options always are).
fn offers(options: &[(u32, u64)], t: u32, offering: usize) -> bool {
    options.binary_search_by_key(&t, |o| o.0).is_ok_and(|i| options[i].1 & (1u64 << offering) != 0)
}

/// Whether some requirement has minValues (which changes what a NodeClaim launches).
fn has_min_values(reqs: &Requirements) -> bool {
    reqs.iter().any(|r| r.min_values().is_some())
}

/// The element-wise largest CPU, memory, pods and ephemeral storage among some options of a
/// pool (extended resources are looked at only when asked for: see [`NewNode::has_room_for`]).
fn largest_space(pool: &PoolContext, options: &[(u32, u64)]) -> [i64; 4] {
    let mut out = [0i64; 4];
    for (t, _) in options {
        for (o, v) in out.iter_mut().zip(pool.type_core[*t as usize]) {
            *o = (*o).max(v);
        }
    }
    out
}

fn ports_clash(used: &[HostPort], wanted: &[HostPort]) -> Option<u16> {
    wanted.iter().find_map(|w| {
        used.iter()
            .any(|u| {
                u.port == w.port
                    && u.protocol == w.protocol
                    && (u.host_ip.is_empty()
                        || w.host_ip.is_empty()
                        || u.host_ip == w.host_ip
                        || u.host_ip == "0.0.0.0"
                        || w.host_ip == "0.0.0.0")
            })
            .then_some(w.port)
    })
}

impl NewNode {
    /// An empty NodeClaim of a pool: every type the pool allows that fits under its remaining
    /// limits.
    pub fn open(
        pool_index: usize,
        pool: &PoolContext,
        table: Arc<TypeTable>,
        remaining: &[(String, i64)],
        hostname: String,
    ) -> Result<NewNode, Rejection> {
        let options = if remaining.is_empty() {
            Arc::clone(&table.all_options)
        } else {
            let within = |&&(t, _): &&(u32, u64)| {
                remaining.iter().all(|(r, room)| pool.instance_types[t as usize].capacity.get(r) <= *room)
            };
            Arc::new(table.all_options.iter().filter(within).copied().collect())
        };
        if options.is_empty() {
            let detail = remaining
                .iter()
                .map(|(r, room)| format!("{} left", describe_amount(r, (*room).max(0))))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Rejection::Limits { detail });
        }
        Ok(NewNode {
            pool: pool_index,
            table,
            requirements: pool.requirements.clone(),
            largest_space: OnceCell::new(),
            smallest_space: OnceCell::new(),
            covered_by: RefCell::new(Vec::new()),
            offerings_for: None,
            options,
            requests: Resources::default(),
            pods: Vec::new(),
            ports: Vec::new(),
            hostname,
            launched: OnceCell::new(),
            cap: None,
        })
    }

    /// Checks a pod against the NodeClaim: requirements, instance types, host ports, minValues.
    /// `allowed` holds, per type of the pool, the offerings compatible with the pod's class.
    pub fn try_add(
        &self,
        pod: &Pod,
        term: &Requirements,
        allowed: &[u64],
        pool: &PoolContext,
        topology: Option<&PodTopology<'_>>,
    ) -> Result<Next, Rejection> {
        self.try_add_copies(pod, 1, term, allowed, pool, topology)
    }

    /// [`NewNode::try_add`] for `copies` identical pods at once (their host ports would clash
    /// with each other, so a pod with host ports goes one at a time).
    pub fn try_add_copies(
        &self,
        pod: &Pod,
        copies: usize,
        term: &Requirements,
        allowed: &[u64],
        pool: &PoolContext,
        topology: Option<&PodTopology<'_>>,
    ) -> Result<Next, Rejection> {
        if copies > 1 {
            if let Some(port) = pod.host_ports.first() {
                return Err(Rejection::HostPort(port.port));
            }
        }
        if let Err(conflict) = self.requirements.compatible(term) {
            return Err(Rejection::Requirements(conflict.key().to_string()));
        }
        if let Some(port) = ports_clash(&self.ports, &pod.host_ports) {
            return Err(Rejection::HostPort(port));
        }
        // Borrowed while nothing narrows them (the node's requirements often hold the pod's).
        let mut requirements = Cow::Borrowed(&self.requirements);
        if !self.requirements.holds(term) {
            requirements = Cow::Owned(self.requirements.intersection(term));
        }
        let mut narrowed = Requirements::new();
        if let Some(tp) = topology {
            narrowed = tp.extra(pod, &requirements, &self.hostname)?;
            // As Karpenter: topology's requirements must be compatible with the node's before
            // any instance type is looked at.
            if let Some(r) =
                narrowed.iter().find(|r| requirements.get(r.key()).is_some_and(|have| !have.compatible_with(r)))
            {
                return Err(Rejection::Topology(format!("topology needs {} outside the node's", r.key()).into()));
            }
            if !requirements.holds(&narrowed) {
                requirements = Cow::Owned(requirements.intersection(&narrowed));
            }
        }
        let requests = self.requests.add(&pod.requests.scale(copies as i64));
        let want = requests.core();
        let types = &pool.instance_types;
        let zone = requirements.get(labels::ZONE);
        let capacity_type = requirements.get(labels::CAPACITY_TYPE);
        let mut recheck_offerings = narrowed.has_key(labels::ZONE) || narrowed.has_key(labels::CAPACITY_TYPE);
        // Zones (by index in the pool's list) and capacity types the requirements allow.
        let zone_bits: u64 = pool
            .facts
            .zones
            .iter()
            .take(64)
            .enumerate()
            .filter(|(_, z)| zone.is_none_or(|r| r.has(z)))
            .fold(0, |m, (i, _)| m | (1u64 << i));
        let capacity_bits = capacity_type
            .map(|c| [CapacityType::Reserved, CapacityType::Spot, CapacityType::OnDemand].map(|ct| c.has(ct.as_str())));
        let table = &*self.table;
        // Which offerings the zone and capacity-type requirements keep depends on this alone
        // (unless some offering's zone has no index): options already within it stay so.
        let key: Option<OfferingsKey> = (!table.any_unindexed).then_some((zone.map(|_| zone_bits), capacity_bits));
        let mut offerings_for = self.offerings_for;
        if recheck_offerings {
            if key.is_some() && self.offerings_for == key {
                recheck_offerings = false;
            } else {
                offerings_for = key;
            }
        }
        // Which of type `t`'s offerings the zone and capacity-type requirements keep.
        let offered = |t: usize| -> u64 {
            let in_zone = match zone {
                None => !0,
                Some(z) => table.in_zones(t, zone_bits, z, pool),
            };
            let of_capacity = match capacity_bits {
                None => !0,
                Some(bits) => (0..3).filter(|&k| bits[k]).fold(0, |m, k| m | table.capacity_offerings[t][k]),
            };
            in_zone & of_capacity
        };
        // Type labels only matter for the keys topology narrowed other than zone and capacity type.
        let label_checks: Vec<&crate::requirements::Requirement> =
            narrowed.iter().filter(|r| r.key() != labels::ZONE && r.key() != labels::CAPACITY_TYPE).collect();
        let mut largest = [0i64; 4];
        let mut smallest = None;
        let allowed_key = (allowed.as_ptr() as usize, allowed.len());
        let plain = label_checks.is_empty() && requests.extended.is_empty();
        let options: Arc<Vec<(u32, u64)>>;
        if plain
            && !recheck_offerings
            && self.covered_by.borrow().contains(&allowed_key)
            && self.smallest_space.get().is_some_and(|small| (0..4).all(|i| want[i] <= small[i]))
        {
            // Every option holds the pods and the class keeps all their offerings: nothing
            // narrows.
            options = Arc::clone(&self.options);
            largest = *self.largest_space.get_or_init(|| largest_space(pool, &self.options));
            smallest = self.smallest_space.get().copied();
        } else if plain {
            // Only the class's offerings, the zones and capacity types, and the core resources
            // narrow: one pass without branches on what is kept (most options are).
            let mut kept_options = vec![(0, 0); self.options.len()];
            let mut kept = 0;
            let mut covers = true;
            let mut unchanged = true;
            let mut small = [i64::MAX; 4];
            for &(t, mask) in self.options.iter() {
                let a = mask & allowed[t as usize];
                covers &= a == mask;
                let core = &pool.type_core[t as usize];
                let fits = (want[0] <= core[0]) & (want[1] <= core[1]) & (want[2] <= core[2]) & (want[3] <= core[3]);
                let m = if recheck_offerings && a != 0 && fits { a & offered(t as usize) } else { a };
                unchanged &= m == mask;
                let keep = (m != 0) & fits;
                kept_options[kept] = (t, m);
                for ((l, s), v) in largest.iter_mut().zip(small.iter_mut()).zip(core) {
                    *l = (*l).max(if keep { *v } else { i64::MIN });
                    *s = (*s).min(if keep { *v } else { i64::MAX });
                }
                kept += keep as usize;
            }
            if covers && !self.covered_by.borrow().contains(&allowed_key) {
                self.covered_by.borrow_mut().push(allowed_key);
            }
            if kept == self.options.len() && unchanged {
                options = Arc::clone(&self.options);
            } else {
                kept_options.truncate(kept);
                options = Arc::new(kept_options);
            }
            smallest = Some(small);
        } else {
            let mut kept_options = Vec::with_capacity(self.options.len());
            kept_options.extend(self.options.iter().filter_map(|&(t, mask)| {
                let ti = t as usize;
                let mut m = mask & allowed[ti];
                if m == 0 {
                    return None;
                }
                let core = &pool.type_core[ti];
                if !(want[0] <= core[0] && want[1] <= core[1] && want[2] <= core[2] && want[3] <= core[3]) {
                    return None;
                }
                if recheck_offerings {
                    m &= offered(ti);
                    if m == 0 {
                        return None;
                    }
                }
                if !label_checks.is_empty() {
                    let it = &types[ti];
                    if !label_checks.iter().all(|r| it.requirements.get(r.key()).is_none_or(|tr| tr.compatible_with(r)))
                    {
                        return None;
                    }
                }
                if !(requests.extended.is_empty() || requests.fits(&pool.type_space[ti])) {
                    return None;
                }
                for (l, v) in largest.iter_mut().zip(core) {
                    *l = (*l).max(*v);
                }
                Some((t, m))
            }));
            options = Arc::new(kept_options);
        }
        if options.is_empty() {
            return Err(Rejection::NoInstanceType);
        }
        for r in requirements.iter() {
            let Some(required) = r.min_values() else { continue };
            let distinct: BTreeSet<&str> = options
                .iter()
                .filter_map(|(t, _)| pool.instance_types[*t as usize].requirements.get(r.key()))
                .flat_map(|tr| tr.values())
                .collect();
            if distinct.len() < required as usize {
                return Err(Rejection::MinValues { key: r.key().to_string(), required, available: distinct.len() });
            }
        }
        Ok(Next {
            requirements: match requirements {
                Cow::Borrowed(_) => None,
                Cow::Owned(r) => Some(r),
            },
            options,
            requests,
            largest_space: largest,
            smallest_space: smallest,
            offerings_for,
            launched: OnceCell::new(),
        })
    }

    pub fn commit(&mut self, next: Next, pod: &Pod, index: usize) {
        self.commit_copies(next, pod, &[index]);
    }

    /// Commits a [`NewNode::try_add_copies`] of the pods `indices`.
    pub fn commit_copies(&mut self, next: Next, pod: &Pod, indices: &[usize]) {
        // Its options only narrow: what it launched, if still among them, stays the cheapest
        // (unless minValues comes or goes, which changes whether spot must be no dearer).
        let same_min_values = has_min_values(&self.requirements) == has_min_values(next.requirements(self));
        let launched = match (next.launched.into_inner(), self.launched.get()) {
            (Some(known), _) => Some(known),
            (None, Some(&Some(before)))
                if offers(&next.options, before.instance_type, before.offering) && same_min_values =>
            {
                Some(Some(before))
            }
            _ => None,
        };
        if let Some(requirements) = next.requirements {
            self.requirements = requirements;
        }
        self.options = next.options;
        self.largest_space = OnceCell::from(next.largest_space);
        self.smallest_space = next.smallest_space.map_or_else(OnceCell::new, OnceCell::from);
        self.offerings_for = next.offerings_for;
        self.launched = launched.map_or_else(OnceCell::new, OnceCell::from);
        self.requests = next.requests;
        self.ports.extend(pod.host_ports.iter().cloned());
        self.pods.extend_from_slice(indices);
    }

    /// Drops the options larger than the launched type in a resource the pool limits, so that
    /// charging the largest option against the limits charges what is launched.
    pub fn trim_to_launch(&mut self, pool: &PoolContext, limited: &[(String, i64)]) {
        if limited.is_empty() {
            return;
        }
        let Some(launch) = self.launch(pool) else { return };
        let launched = &pool.instance_types[launch.instance_type as usize].capacity;
        let types = &pool.instance_types;
        let kept = self
            .options
            .iter()
            .copied()
            .filter(|(t, _)| limited.iter().all(|(r, _)| types[*t as usize].capacity.get(r) <= launched.get(r)))
            .collect();
        self.set_options(kept);
        // The launched type stays, with all its offerings: it is still what launches.
        self.launched = OnceCell::from(Some(launch));
    }

    /// Keeps only the offerings `keep(type, offering)` accepts (types left without any are
    /// dropped): a narrower NodeClaim, so everything its pods need still holds.
    pub fn keep_offerings(&mut self, pool: &PoolContext, keep: impl Fn(u32, &crate::catalog::Offering) -> bool) {
        let types = &pool.instance_types;
        let kept = self
            .options
            .iter()
            .filter_map(|&(t, mask)| {
                let offerings = &types[t as usize].offerings;
                let narrowed = (0..offerings.len().min(64))
                    .filter(|&i| mask & (1u64 << i) != 0 && keep(t, &offerings[i]))
                    .fold(0u64, |m, i| m | (1u64 << i));
                (narrowed != 0).then_some((t, narrowed))
            })
            .collect();
        self.set_options(kept);
    }

    /// Leaves the node without options (it launches nothing).
    pub fn clear_options(&mut self) {
        self.set_options(Vec::new());
    }

    /// Replaces the options, forgetting what was derived from them (the largest space only
    /// when the types change, not just their offerings).
    fn set_options(&mut self, options: Vec<(u32, u64)>) {
        let same_types =
            options.len() == self.options.len() && options.iter().zip(self.options.iter()).all(|(a, b)| a.0 == b.0);
        if !same_types {
            self.largest_space.take();
            self.smallest_space.take();
        }
        self.options = Arc::new(options);
        self.launched.take();
    }

    /// Whether `requests` could ever join: they fit beside the node's pods in its largest
    /// option.
    pub fn has_room_for(&self, requests: &Resources, pool: &PoolContext) -> bool {
        let largest = self.largest_space.get_or_init(|| largest_space(pool, &self.options));
        let (have, more) = (self.requests.core(), requests.core());
        if (0..4).any(|i| have[i].saturating_add(more[i]) > largest[i]) {
            return false;
        }
        // Extended resources (GPUs, pod ENIs): each asked-for one must fit in some option.
        self.requests.extended.keys().chain(requests.extended.keys()).all(|k| {
            let need = self.requests.get(k).saturating_add(requests.get(k));
            need <= 0 || self.options.iter().any(|(t, _)| pool.type_space[*t as usize].get(k) >= need)
        })
    }

    /// Whether `requests` more stay within the room it keeps to, if it does ([`NewNode::cap`]).
    pub fn within_cap(&self, requests: &Resources) -> bool {
        self.cap.as_ref().is_none_or(|cap| self.requests.fits_with(requests, cap))
    }

    /// Charges the NodeClaim against what its pool's limits leave (`sign` 1), or gives the
    /// charge back (`sign` -1): per limited resource, the largest capacity among its options,
    /// as Karpenter charges a NodeClaim.
    pub fn charge(&self, pool: &PoolContext, remaining: &mut [(String, i64)], sign: i64) {
        for (resource, room) in remaining {
            let types = &pool.instance_types;
            let largest = self.options.iter().map(|(t, _)| types[*t as usize].capacity.get(resource)).max();
            *room -= sign * largest.unwrap_or(0);
        }
    }

    /// What the NodeClaim launches: among its options (generic types only, unless there are
    /// none: the AWS provider launches metal, GPU and accelerator types only then), the
    /// cheapest reserved offering, else the cheapest spot offering no dearer than on-demand,
    /// else the cheapest on-demand one; ties by type name, then zone.
    pub fn launch(&self, pool: &PoolContext) -> Option<Launch> {
        *self.launched.get_or_init(|| self.cheapest_launch(pool))
    }

    fn cheapest_launch(&self, pool: &PoolContext) -> Option<Launch> {
        cheapest_launch(&self.options, &self.requirements, pool, &self.table)
    }

    /// The options the AWS provider would launch (see [`launchable`]).
    fn launchable<'s>(&'s self, pool: &'s PoolContext) -> impl Iterator<Item = (u32, u64)> + 's {
        launchable(&self.options, pool)
    }

    /// The options a NodeClaim carries: at most 60 of the launchable ones, cheapest first (by
    /// the price of each one's cheapest compatible offering, then name).
    pub fn ranked_options<'p>(&self, pool: &'p PoolContext) -> Vec<(f64, &'p str)> {
        let types = &pool.instance_types;
        let mut ranked: Vec<(f64, u32, u32)> = self
            .launchable(pool)
            .map(|(t, mask)| (least_price(&types[t as usize], mask), self.table.name_rank[t as usize], t))
            .collect();
        // The 60 cheapest, by price then name (a total order: the same list however found).
        let cheapest_first =
            |a: &(f64, u32, u32), b: &(f64, u32, u32)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2));
        if ranked.len() > MAX_OPTIONS {
            ranked.select_nth_unstable_by(MAX_OPTIONS, cheapest_first);
            ranked.truncate(MAX_OPTIONS);
        }
        ranked.sort_unstable_by(cheapest_first);
        ranked.into_iter().map(|(price, _, t)| (price, types[t as usize].name.as_str())).collect()
    }

    /// The node as the plan reports it: the launch choice, the options, the pods; and the
    /// options' prices.
    /// `ranked` remembers [`NewNode::ranked_options`] per options list (nodes often share
    /// theirs).
    pub fn finalize<'p>(
        &self,
        pool: &'p PoolContext,
        ordinal: usize,
        pods: &[&Pod],
        ranked: &mut HashMap<usize, Rc<Vec<(f64, &'p str)>>>,
    ) -> (PlannedNode, Vec<f64>) {
        let types = &pool.instance_types;
        let chosen = self.launch(pool);
        let key = Arc::as_ptr(&self.options) as usize;
        let ranked = Rc::clone(ranked.entry(key).or_insert_with(|| Rc::new(self.ranked_options(pool))));
        let requests = self.requests.add(&pool.daemon_overhead);
        let (instance_type, zone, capacity_type, price, allocatable) = match chosen {
            Some(l) => {
                let it = &types[l.instance_type as usize];
                let o = &it.offerings[l.offering];
                (it.name.clone(), o.zone.clone(), o.capacity_type.to_string(), o.price, it.allocatable.clone())
            }
            None => (String::new(), String::new(), String::new(), 0.0, Resources::default()),
        };
        let planned = PlannedNode {
            name: format!("{}-{ordinal}", pool.nodepool.name),
            nodepool: pool.nodepool.name.clone(),
            instance_type,
            zone,
            capacity_type,
            price_per_hour: price,
            instance_types: ranked.iter().map(|(_, n)| n.to_string()).collect(),
            pods: self.pods.iter().map(|&p| pods[p].key()).collect(),
            linux_priced: false,
            utilisation: Utilisation::of(&requests, &allocatable),
            requests,
            allocatable,
        };
        (planned, ranked.iter().map(|(price, _)| *price).collect())
    }
}

/// The least price among `it`'s available offerings in `mask` (infinite when there are none).
pub(super) fn least_price(it: &crate::catalog::InstanceType, mask: u64) -> f64 {
    let offered = it.offerings.iter().enumerate().filter(|(i, o)| mask & (1 << i) != 0 && o.available);
    offered.map(|(_, o)| o.price).fold(f64::INFINITY, f64::min)
}

/// What a NodeClaim with `options` and requirements `reqs` launches (see [`NewNode::launch`]).
pub(super) fn cheapest_launch(
    options: &[(u32, u64)],
    reqs: &Requirements,
    pool: &PoolContext,
    table: &TypeTable,
) -> Option<Launch> {
    // One pass: per capacity type (reserved, spot, on-demand), the cheapest offering, ties
    // to the type's name and then the zone. Spot is taken only where it costs no more than
    // the cheapest on-demand offering — unless a requirement has minValues, as the AWS
    // provider skips that filter then — and as every spot offering at the cheapest spot
    // price is judged alike, the cheapest spot one stands for them all.
    let mut best: [Option<(u32, &Cheap)>; 3] = [None; 3];
    for (t, mask) in launchable(options, pool) {
        for (k, slot) in best.iter_mut().enumerate() {
            let Some(o) = table.cheapest(t as usize, k, mask) else { continue };
            let better = slot.is_none_or(|(bt, b)| {
                o.price
                    .total_cmp(&b.price)
                    .then_with(|| table.name_rank[t as usize].cmp(&table.name_rank[bt as usize]))
                    .then_with(|| o.zone_rank.cmp(&b.zone_rank))
                    .is_lt()
            });
            if better {
                *slot = Some((t, o));
            }
        }
    }
    let cheapest_on_demand = best[2].map_or(f64::INFINITY, |(_, o)| o.price);
    if !has_min_values(reqs) && best[1].is_some_and(|(_, o)| o.price > cheapest_on_demand) {
        best[1] = None;
    }
    best.into_iter().flatten().next().map(|(t, o)| Launch {
        instance_type: t,
        offering: o.offering as usize,
        price: o.price,
    })
}

/// The options the AWS provider would launch: the generic types, or every option when there is
/// no generic one.
fn launchable<'s>(options: &'s [(u32, u64)], pool: &'s PoolContext) -> impl Iterator<Item = (u32, u64)> + 's {
    let exotic = &pool.facts.exotic;
    let generic = options.iter().any(|(t, _)| !exotic[*t as usize]);
    options.iter().copied().filter(move |(t, _)| !generic || !exotic[*t as usize])
}

/// Whether `node`'s labels match one of `terms`: every key a term requires must be on the
/// node with an allowed value, or absent under a negative operator (the kube-scheduler's rule
/// for existing nodes).
fn labels_match(node: &Node, terms: &[Requirements]) -> bool {
    terms.iter().any(|term| {
        term.iter().all(|r| match node.labels.get(r.key()) {
            Some(v) => r.has(v),
            None => matches!(r.operator(), Operator::NotIn | Operator::DoesNotExist),
        })
    })
}

/// The room an existing node keeps for the DaemonSets that would run on it (every taint
/// tolerated, the labels matching) but whose pods it does not hold yet, as Karpenter keeps it
/// (`remainingDaemonResources`): what those DaemonSets' pods request, less what the node's
/// DaemonSet pods request, never below zero. A node that runs its DaemonSets keeps nothing; a
/// node that is starting, or written without them, keeps their room.
pub(super) fn daemon_reserve(node: &Node, pods: &[&Pod], daemonsets: &[&Pod]) -> Resources {
    let mut wanted = Resources::default();
    for ds in daemonsets {
        let tolerated = crate::taints::first_untolerated(&node.taints, &ds.tolerations).is_none();
        if tolerated && labels_match(node, &crate::filter::node_terms(ds, None)) {
            wanted.add_assign(&ds.requests);
        }
    }
    if wanted.is_zero() {
        return wanted;
    }
    let mut running = Resources::default();
    for pod in pods.iter().filter(|p| p.owner.as_ref().is_some_and(|o| o.kind == "DaemonSet")) {
        running.add_assign(&pod.requests);
    }
    let mut left = wanted.sub(&running).max(&Resources::default());
    left.extended.retain(|_, v| *v > 0);
    left
}

/// A node of the cluster, with the room its bound pods leave.
#[derive(Debug, Clone)]
pub(super) struct ExistingNode<'a> {
    pub node: &'a Node,
    available: Resources,
    ports: Vec<HostPort>,
    /// The node's labels as requirements (for topology), once asked.
    requirements: OnceCell<Requirements>,
    pub hostname: &'a str,
}

impl<'a> ExistingNode<'a> {
    /// The nodes pending pods may use (not cordoned, not deleting) of `nodes` (each with the
    /// pods bound to it), ready ones first, then by name, each with its index in `nodes` and
    /// the requests of its pods taken off, and the room kept for `daemonsets` (their pod
    /// templates) that would run there (see [`daemon_reserve`]).
    pub fn all(nodes: &[(&'a Node, Vec<&'a Pod>)], daemonsets: &[&Pod]) -> Vec<(usize, ExistingNode<'a>)> {
        let mut usable: Vec<usize> =
            (0..nodes.len()).filter(|&i| !nodes[i].0.unschedulable && !nodes[i].0.deleting).collect();
        usable.sort_by(|&a, &b| {
            let (a, b) = (nodes[a].0, nodes[b].0);
            b.ready.cmp(&a.ready).then(a.name.cmp(&b.name))
        });
        usable
            .into_iter()
            .map(|i| {
                let (node, pods) = &nodes[i];
                let node: &'a Node = node;
                let mut used = Resources::default();
                let mut ports = Vec::new();
                for pod in pods {
                    used.add_assign(&pod.requests);
                    ports.extend(pod.host_ports.iter().cloned());
                }
                let hostname = node.labels.get(labels::HOSTNAME).unwrap_or(&node.name).as_str();
                let reserved = daemon_reserve(node, pods, daemonsets);
                let existing = ExistingNode {
                    node,
                    available: node.allocatable.sub(&used).sub(&reserved),
                    ports,
                    requirements: OnceCell::new(),
                    hostname,
                };
                (i, existing)
            })
            .collect()
    }

    /// The node's labels as requirements.
    pub fn requirements(&self) -> &Requirements {
        self.requirements.get_or_init(|| self.node.requirements())
    }

    /// Taints (PreferNoSchedule tolerated, as after Karpenter's relaxation) and labels (see
    /// [`labels_match`]).
    fn admits(&self, class: &ShapeClass) -> bool {
        let tolerated = self.node.taints.iter().all(|taint| {
            taint.effect == TaintEffect::PreferNoSchedule || class.tolerations.iter().any(|t| t.tolerates(taint))
        });
        tolerated && class.volume_error.is_none() && labels_match(self.node, &class.terms)
    }

    /// Whether the pod fits now, topology included.
    pub fn fits(&self, pod: &Pod, class: &ShapeClass, topology: Option<&PodTopology<'_>>) -> bool {
        if !(pod.requests.fits(&self.available)
            && ports_clash(&self.ports, &pod.host_ports).is_none()
            && self.admits(class))
        {
            return false;
        }
        match topology {
            None => true,
            Some(tp) => match tp.extra(pod, self.requirements(), self.hostname) {
                Ok(extra) => extra.iter().all(|r| match self.node.labels.get(r.key()) {
                    Some(v) => r.has(v),
                    None => {
                        r.key() == labels::HOSTNAME || matches!(r.operator(), Operator::NotIn | Operator::DoesNotExist)
                    }
                }),
                Err(_) => false,
            },
        }
    }

    /// Whether a pod of the class could ever land here (ignoring what other pending pods take).
    /// Its free room: allocatable less its pods' requests.
    pub fn available(&self) -> &Resources {
        &self.available
    }

    pub fn could_host(&self, class: &ShapeClass) -> bool {
        class.requests.fits(&self.available) && self.admits(class)
    }

    /// How many pods of the class the node's free room could take if they had it to
    /// themselves (an upper bound: host ports and topology are not looked at).
    pub fn room_for(&self, class: &ShapeClass) -> u64 {
        if !self.could_host(class) {
            return 0;
        }
        let copies = class
            .requests
            .iter()
            .filter(|(_, demand)| *demand > 0)
            .map(|(resource, demand)| (self.available.get(resource) / demand).max(0) as u64);
        copies.min().unwrap_or(u64::MAX)
    }

    pub fn add(&mut self, pod: &Pod, _index: usize) {
        self.available = self.available.sub(&pod.requests);
        self.ports.extend(pod.host_ports.iter().cloned());
    }
}

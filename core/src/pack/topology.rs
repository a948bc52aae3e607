//! Topology during packing: topology spread constraints, required pod affinity and
//! anti-affinity (the pod's own and, inversely, other pods' anti-affinity against it), as
//! Karpenter's scheduler tracks them — per topology key, a count of matching pods in each
//! domain (zone, hostname, capacity type or any label).
//!
//! A pod on a node narrows the node's requirement on each key it cares about: spread picks
//! the least-populated allowed domain within maxSkew; affinity keeps the domains that already
//! hold a matching pod (or, for the first of a self-selecting group, one domain); anti-affinity
//! removes the domains that do. A placement is recorded in every group whose selector matches
//! the pod, in the node's domain when it is a single one (anti-affinity blocks every domain the
//! node may still land in).

use super::zones::ZoneSpread;
use crate::labels;
use crate::model::{LabelSelector, Labels, NodeInclusionPolicy, Pod, PodAffinityTerm, WhenUnsatisfiable};
use crate::requirements::{Requirement, Requirements};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    Spread { max_skew: i32, min_domains: Option<i32>, honor_affinity: bool },
    Affinity,
    AntiAffinity,
}

/// One topology group: pods selected by `selector` in `namespaces`, counted per domain of `key`.
#[derive(Debug, Clone)]
struct Group {
    kind: Kind,
    key: String,
    namespaces: BTreeSet<String>,
    /// `None`: every namespace (an empty namespace selector).
    all_namespaces: bool,
    selector: LabelSelector,
    /// Spread with nodeAffinityPolicy Honor: the owning pod's node requirements (ORed terms);
    /// only pods on nodes compatible with one of them count. Empty: every node counts.
    node_filter: Vec<Requirements>,
    counts: BTreeMap<String, i64>,
    /// Anti-affinity: domains holding a pod that owns this group (for the inverse rule), and
    /// domains blocked by an owner whose node may land in several.
    owners: BTreeMap<String, i64>,
    blocked: BTreeSet<String>,
    /// Why the group rejects a node, written once (rejections are frequent, read rarely).
    rules_out_node: Arc<str>,
    leaves_no_domain: Arc<str>,
}

impl Group {
    /// Matching pods counted in domain `d`.
    fn count(&self, d: &str) -> i64 {
        self.counts.get(d).copied().unwrap_or(0)
    }

    /// Anti-affinity owned by other pods: domain `d` holds one of them, or may.
    fn taken(&self, d: &str) -> bool {
        self.owners.get(d).is_some_and(|c| *c > 0) || self.blocked.contains(d)
    }

    fn selects(&self, pod: &Pod) -> bool {
        (self.all_namespaces || self.namespaces.contains(&pod.namespace)) && self.selector.matches(&pod.labels)
    }

    /// Whether pods on a node with requirements `reqs` count in the group.
    fn counts_on(&self, reqs: &Requirements) -> bool {
        self.node_filter.is_empty() || self.node_filter.iter().any(|term| reqs.compatible(term).is_ok())
    }

    /// What makes two groups one: everything but the counts.
    fn identity(&self) -> GroupIdentity {
        (
            self.kind.clone(),
            self.key.clone(),
            self.namespaces.clone(),
            self.all_namespaces,
            self.selector.clone(),
            self.node_filter.clone(),
        )
    }

    /// Whether `other` is the same group (see [`Group::identity`]), without building either.
    fn same(&self, other: &Group) -> bool {
        self.kind == other.kind
            && self.key == other.key
            && self.namespaces == other.namespaces
            && self.all_namespaces == other.all_namespaces
            && self.selector == other.selector
            && self.node_filter == other.node_filter
    }
}

type GroupIdentity = (Kind, String, BTreeSet<String>, bool, LabelSelector, Vec<Requirements>);

/// The topology state of a packing run.
#[derive(Debug, Clone, Default)]
pub(super) struct Topology {
    groups: Vec<Group>,
    /// Per class, per relaxation level: the groups its pods honour (spread, affinity,
    /// anti-affinity; preferred ones until relaxed away).
    owned: Vec<Vec<Vec<usize>>>,
    /// Per class, per relaxation level: the preferred node-affinity term still honoured.
    preferred_node: Vec<Vec<Option<Requirements>>>,
    /// Per class: anti-affinity groups of other pods whose selector matches this class.
    inverse: Vec<Vec<usize>>,
    /// Per class: groups whose selector matches the class (recorded on placement).
    selected_by: Vec<Vec<usize>>,
    /// Per group: how many classes it selects.
    selected_count: Vec<usize>,
    /// Known domains per key (from NodePools, instance types and existing nodes).
    universe: BTreeMap<String, BTreeSet<String>>,
    /// Each group's index by identity (see [`Topology::intern`]).
    index: HashMap<GroupIdentity, usize>,
}

/// What keeps a moved pod's rules (see [`Topology::movable`]).
#[derive(Debug, Clone)]
pub(super) struct Movable {
    /// The hostname groups it honours or is counted in: one pod of each per node.
    pub groups: Vec<usize>,
    /// Whether a zone rule concerns it: then it stays in its zone.
    pub zonal: bool,
    /// The required hostname-affinity group whose pods it shares a node with: they move
    /// together, as one.
    pub host: Option<usize>,
}

/// One count [`Topology::record`] made: in a group's counts, or its anti-affinity owners.
#[derive(Debug, Clone)]
pub(super) struct Counted {
    group: usize,
    domain: String,
    owner: bool,
}

/// What [`Topology::screen`] sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Screen {
    Open,
    NotNow,
    Never,
}

/// What a group asks of one domain of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DomainRule {
    /// Spread: at most this many matching pods already there.
    AtMost(i64),
    /// Affinity: a matching pod is there.
    Occupied,
    /// Affinity of the first pod of a self-selecting group: any one domain.
    Any,
    /// Affinity with no matching pod anywhere, for a pod it does not select.
    Nothing,
    /// Anti-affinity: no matching pod there, nor possibly there.
    Free,
}

impl DomainRule {
    fn admits(self, group: &Group, d: &str) -> bool {
        match self {
            DomainRule::AtMost(n) => group.count(d) <= n,
            DomainRule::Occupied => group.count(d) > 0,
            DomainRule::Any => true,
            DomainRule::Nothing => false,
            DomainRule::Free => group.count(d) == 0 && !group.blocked.contains(d),
        }
    }
}

/// Why topology rules a node out for a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TopologyRejection(pub Arc<str>);

impl Topology {
    /// Builds the groups of the classes' pods (one representative each) and of every bound pod
    /// with anti-affinity, and counts the bound pods.
    /// `bound` holds each bound pod with its node's labels.
    /// The known domains per key come later ([`Topology::set_universe`]).
    pub fn new(representatives: &[&Pod], bound: &[(&Pod, &Labels)]) -> Self {
        let mut t = Topology::default();
        // Only required anti-affinity repels other pods (the inverse rule).
        let mut required_anti: BTreeSet<usize> = BTreeSet::new();
        for pod in representatives {
            let (owned, preferred) = t.levels(pod);
            // The last level keeps only what is required.
            required_anti.extend(owned.last().into_iter().flatten().copied());
            t.owned.push(owned);
            t.preferred_node.push(preferred);
        }
        for (pod, _) in bound.iter().filter(|(p, _)| !p.pod_anti_affinity.required.is_empty()) {
            required_anti.extend(t.groups_of(pod, false));
        }
        required_anti.retain(|&g| t.groups[g].kind == Kind::AntiAffinity);
        let by_label = SelectorIndex::new(&t.groups);
        t.selected_count = vec![0; t.groups.len()];
        for pod in representatives {
            let selected = by_label.selecting(&t.groups, pod);
            for &g in &selected {
                t.selected_count[g] += 1;
            }
            let inverse: Vec<usize> = selected.iter().copied().filter(|g| required_anti.contains(g)).collect();
            t.selected_by.push(selected);
            t.inverse.push(inverse);
        }
        if t.groups.is_empty() {
            return t;
        }
        for (pod, node_labels) in bound {
            let node_reqs = std::cell::OnceCell::new();
            for g in 0..t.groups.len() {
                let group = &t.groups[g];
                let domain = node_labels.get(&group.key).cloned();
                let Some(domain) = domain else { continue };
                if group.selects(pod)
                    && group.counts_on(node_reqs.get_or_init(|| Requirements::from_labels(*node_labels)))
                {
                    *t.groups[g].counts.entry(domain.clone()).or_default() += 1;
                }
                if t.groups[g].kind == Kind::AntiAffinity && t.owns(pod, g) {
                    *t.groups[g].owners.entry(domain).or_default() += 1;
                }
            }
        }
        t
    }

    /// Whether `pod` carries the constraint of group `g`.
    fn owns(&self, pod: &Pod, g: usize) -> bool {
        let group = &self.groups[g];
        let terms = pod.pod_anti_affinity.required.iter();
        terms.map(|term| term_group(pod, term, Kind::AntiAffinity)).any(|mine| mine.same(group))
    }

    /// Registers (or finds) the groups of a pod's required constraints: DoNotSchedule spread
    /// and required affinity (only with `include_all`), and required anti-affinity.
    fn groups_of(&mut self, pod: &Pod, include_all: bool) -> Vec<usize> {
        let mut wanted: Vec<Group> = Vec::new();
        if include_all {
            for c in &pod.topology_spread {
                if c.when_unsatisfiable == WhenUnsatisfiable::DoNotSchedule {
                    wanted.push(spread_group(pod, c));
                }
            }
            for term in &pod.pod_affinity.required {
                wanted.push(term_group(pod, term, Kind::Affinity));
            }
        }
        for term in &pod.pod_anti_affinity.required {
            wanted.push(term_group(pod, term, Kind::AntiAffinity));
        }
        wanted.into_iter().map(|g| self.intern(g)).collect()
    }

    /// Karpenter's relaxation for one pod: level 0 honours every preference as if required;
    /// each next level drops one — preferred pod affinity terms (heaviest first), then
    /// preferred anti-affinity terms, then preferred node-affinity terms, then ScheduleAnyway
    /// spread constraints.
    fn levels(&mut self, pod: &Pod) -> (Vec<Vec<usize>>, Vec<Option<Requirements>>) {
        let required = self.groups_of(pod, true);
        let by_weight = |terms: &[crate::model::Weighted<PodAffinityTerm>]| {
            let mut v: Vec<(i32, usize)> = terms.iter().enumerate().map(|(i, t)| (t.weight, i)).collect();
            v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            v.into_iter().map(|(_, i)| terms[i].term.clone()).collect::<Vec<_>>()
        };
        let affinity = by_weight(&pod.pod_affinity.preferred);
        let anti = by_weight(&pod.pod_anti_affinity.preferred);
        let mut node_prefs: Vec<(i32, usize)> =
            pod.node_affinity.preferred.iter().enumerate().map(|(i, t)| (t.weight, i)).collect();
        node_prefs.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let node_prefs: Vec<Requirements> =
            node_prefs.into_iter().map(|(_, i)| pod.node_affinity.preferred[i].term.clone()).collect();
        let anyway: Vec<Group> = pod
            .topology_spread
            .iter()
            .filter(|c| c.when_unsatisfiable == WhenUnsatisfiable::ScheduleAnyway)
            .map(|c| spread_group(pod, c))
            .collect();
        let mut affinity_ids: Vec<usize> =
            affinity.iter().map(|t| self.intern(term_group(pod, t, Kind::Affinity))).collect();
        let mut anti_ids: Vec<usize> =
            anti.iter().map(|t| self.intern(term_group(pod, t, Kind::AntiAffinity))).collect();
        let mut anyway_ids: Vec<usize> = anyway.into_iter().map(|g| self.intern(g)).collect();
        let mut node_prefs = node_prefs;
        let mut owned = Vec::new();
        let mut preferred = Vec::new();
        loop {
            let mut level = required.clone();
            level.extend(&affinity_ids);
            level.extend(&anti_ids);
            level.extend(&anyway_ids);
            owned.push(level);
            preferred.push(node_prefs.first().cloned());
            if !affinity_ids.is_empty() {
                affinity_ids.remove(0);
            } else if !anti_ids.is_empty() {
                anti_ids.remove(0);
            } else if !node_prefs.is_empty() {
                node_prefs.remove(0);
            } else if !anyway_ids.is_empty() {
                anyway_ids.remove(0);
            } else {
                break;
            }
        }
        (owned, preferred)
    }

    fn intern(&mut self, mut g: Group) -> usize {
        let next = self.groups.len();
        let i = *self.index.entry(g.identity()).or_insert(next);
        if i == next {
            (g.rules_out_node, g.leaves_no_domain) = describe(&g);
            self.groups.push(g);
        }
        i
    }

    /// The required hostname pod-affinity group a pod of the class honours and is itself
    /// selected by (its pods must share one node), if any.
    pub fn shared_host(&self, class: usize) -> Option<usize> {
        let required = self.owned[class].last()?;
        required.iter().copied().find(|&g| {
            let group = &self.groups[g];
            group.kind == Kind::Affinity && group.key == labels::HOSTNAME && self.selected_by[class].contains(&g)
        })
    }

    /// How many classes group `g` selects.
    pub fn classes_selected(&self, g: usize) -> usize {
        self.selected_count[g]
    }

    /// Whether group `g` counts no pod anywhere yet.
    pub fn is_empty(&self, g: usize) -> bool {
        self.groups[g].counts.values().all(|c| *c == 0)
    }

    /// How many relaxation levels a class has (at least 1).
    pub fn levels_of(&self, class: usize) -> usize {
        self.owned[class].len()
    }

    /// The preferred node-affinity term a pod of the class honours at this level.
    pub fn preferred_node(&self, class: usize, level: usize) -> Option<&Requirements> {
        self.preferred_node[class][level].as_ref()
    }

    /// Whether the class is outside topology altogether: no constraint or preference of its
    /// own, no preferred node affinity, and no group counts its pods.
    pub fn is_free(&self, class: usize) -> bool {
        self.owned[class].iter().all(Vec::is_empty)
            && self.preferred_node[class].iter().all(Option::is_none)
            && self.selected_by[class].is_empty()
            && self.inverse[class].is_empty()
    }

    /// Whether the class has any topology to honour at this level.
    pub fn matters(&self, class: usize, level: usize) -> bool {
        !self.owned[class][level].is_empty() || !self.inverse[class].is_empty()
    }

    /// A quick look, without building anything, at whether topology rules a node with `reqs`
    /// and `hostname` out for a pod of the class: [`Screen::Never`] when hostname topology
    /// does (counts only grow during a run, so it stays ruled out), [`Screen::NotNow`] when no
    /// domain the node may still take is allowed today. [`Screen::Open`] promises nothing:
    /// [`Topology::narrow`] decides. `pod_reqs` as there.
    pub fn screen(
        &self,
        class: usize,
        level: usize,
        pod: &Pod,
        reqs: &Requirements,
        hostname: &str,
        pod_reqs: &Requirements,
    ) -> Screen {
        let mut verdict = Screen::Open;
        for &g in &self.owned[class][level] {
            let group = &self.groups[g];
            let key = group.key.as_str();
            if key == labels::HOSTNAME {
                if !self.host_admits(group, pod, hostname) {
                    // Affinity may yet be met here by a pod of another class.
                    if group.kind != Kind::Affinity {
                        return Screen::Never;
                    }
                    verdict = Screen::NotNow;
                }
                continue;
            }
            if verdict == Screen::Open {
                let rule = self.rule(group, pod, pod_reqs);
                if !self.domains(key, reqs.get(key)).any(|d| rule.admits(group, d)) {
                    verdict = Screen::NotNow;
                }
            }
        }
        for &g in &self.inverse[class] {
            let group = &self.groups[g];
            let key = group.key.as_str();
            if key == labels::HOSTNAME {
                if group.taken(hostname) {
                    return Screen::Never;
                }
            } else if verdict == Screen::Open && self.domains(key, reqs.get(key)).all(|d| group.taken(d)) {
                verdict = Screen::NotNow;
            }
        }
        verdict
    }

    /// A key other than hostname on which a pod of the class admits only some domains today,
    /// and those domains (sorted): [`Topology::screen`] rules out every node pinned to another
    /// domain of the key. `pod_reqs` as there.
    pub fn admitted_domains(
        &self,
        class: usize,
        level: usize,
        pod: &Pod,
        pod_reqs: &Requirements,
    ) -> Option<(&str, Vec<&str>)> {
        let owned = self.owned[class][level].iter().map(|&g| (&self.groups[g], true));
        let inverse = self.inverse[class].iter().map(|&g| (&self.groups[g], false));
        let (group, own) = owned.chain(inverse).find(|(g, _)| g.key != labels::HOSTNAME)?;
        let key = group.key.as_str();
        let admitted = if own {
            let rule = self.rule(group, pod, pod_reqs);
            self.domains(key, None).filter(|d| rule.admits(group, d)).map(String::as_str).collect()
        } else {
            self.domains(key, None).filter(|d| !group.taken(d)).map(String::as_str).collect()
        };
        Some((key, admitted))
    }

    /// Whether a group lets a pod join the node `hostname` (for groups on the hostname key).
    fn host_admits(&self, group: &Group, pod: &Pod, hostname: &str) -> bool {
        let here = group.count(hostname);
        match &group.kind {
            // A new node is always a possible domain, so the global minimum is 0.
            Kind::Spread { max_skew, .. } => here < *max_skew as i64,
            Kind::AntiAffinity => here == 0 && !group.blocked.contains(hostname),
            Kind::Affinity => here > 0 || (group.counts.values().all(|c| *c == 0) && group.selects(pod)),
        }
    }

    /// The known domains of `key` that `allowed` (if any) admits.
    fn domains<'s>(&'s self, key: &str, allowed: Option<&'s Requirement>) -> impl Iterator<Item = &'s String> + 's {
        self.universe.get(key).into_iter().flatten().filter(move |d| allowed.is_none_or(|r| r.has(d)))
    }

    /// What a group asks of each domain of its key today. `pod_reqs` is the pod's own node
    /// requirement (for spread's nodeAffinityPolicy: Honor).
    fn rule(&self, group: &Group, pod: &Pod, pod_reqs: &Requirements) -> DomainRule {
        let key = group.key.as_str();
        match &group.kind {
            Kind::Spread { max_skew, min_domains, honor_affinity } => {
                let eligible = self.domains(key, if *honor_affinity { pod_reqs.get(key) } else { None });
                let (mut global_min, mut domains) = (i64::MAX, 0);
                for d in eligible {
                    global_min = global_min.min(group.count(d));
                    domains += 1;
                }
                if domains == 0 || min_domains.is_some_and(|m| domains < m) {
                    global_min = 0;
                }
                DomainRule::AtMost(global_min + *max_skew as i64 - 1)
            }
            Kind::Affinity if group.counts.values().any(|c| *c > 0) => DomainRule::Occupied,
            Kind::Affinity if group.selects(pod) => DomainRule::Any,
            Kind::Affinity => DomainRule::Nothing,
            Kind::AntiAffinity => DomainRule::Free,
        }
    }

    /// The requirements a pod of `class` adds to a node with `reqs` and hostname `hostname`:
    /// narrowed domains per key, or why the node is ruled out. `pod_reqs` is the pod's own node
    /// requirement (for spread's nodeAffinityPolicy: Honor).
    pub fn narrow(
        &self,
        class: usize,
        level: usize,
        pod: &Pod,
        reqs: &Requirements,
        hostname: &str,
        pod_reqs: &Requirements,
    ) -> Result<Requirements, TopologyRejection> {
        let mut out = Requirements::new();
        let current = |key: &str, out: &Requirements| -> Option<Requirement> {
            match (reqs.get(key), out.get(key)) {
                (Some(a), Some(b)) => Some(a.intersection(b)),
                (Some(a), None) => Some(a.clone()),
                (None, Some(b)) => Some(b.clone()),
                (None, None) => None,
            }
        };
        for &g in &self.owned[class][level] {
            let group = &self.groups[g];
            let key = group.key.as_str();
            if key == labels::HOSTNAME {
                if !self.host_admits(group, pod, hostname) {
                    return Err(TopologyRejection(group.rules_out_node.clone()));
                }
                continue;
            }
            let allowed = current(key, &out);
            let rule = self.rule(group, pod, pod_reqs);
            let mut admitted = self.domains(key, allowed.as_ref()).filter(|d| rule.admits(group, d)).peekable();
            let narrowed = match (&group.kind, rule) {
                // Spread: the least-populated admitted domain.
                (Kind::Spread { .. }, _) => admitted
                    .min_by(|a, b| group.count(a).cmp(&group.count(b)).then(a.cmp(b)))
                    .map(|d| Requirement::single(key, d.to_string())),
                // The first pod of a self-selecting affinity group picks one domain.
                (_, DomainRule::Any) => admitted.next().map(|d| Requirement::single(key, d.to_string())),
                _ => admitted.peek().is_some().then(|| Requirement::any_of(key, admitted.map(|d| d.to_string()))),
            };
            match narrowed {
                Some(r) => out.add(r),
                None => return Err(TopologyRejection(group.leaves_no_domain.clone())),
            }
        }
        for &g in &self.inverse[class] {
            let group = &self.groups[g];
            let key = group.key.as_str();
            if key == labels::HOSTNAME {
                if group.taken(hostname) {
                    return Err(TopologyRejection(
                        format!("another pod's anti-affinity keeps it off {key}={hostname}").into(),
                    ));
                }
                continue;
            }
            let allowed = current(key, &out);
            let free: Vec<String> = self.domains(key, allowed.as_ref()).filter(|d| !group.taken(d)).cloned().collect();
            if free.is_empty() {
                return Err(TopologyRejection(format!("another pod's anti-affinity on {key} leaves no domain").into()));
            }
            out.add(Requirement::any_of(key, free));
        }
        Ok(out)
    }

    /// Records a pod placed on a node: counts in every group that selects it, in the node's
    /// domain for the group's key; anti-affinity owners block every domain still possible.
    /// Returns what it counted, for [`Topology::unrecord`].
    pub fn record(&mut self, class: usize, level: usize, reqs: &Requirements, hostname: &str) -> Vec<Counted> {
        let mut counted = Vec::new();
        for &g in &self.selected_by[class] {
            if !self.groups[g].counts_on(reqs) {
                continue;
            }
            let key = self.groups[g].key.clone();
            // As Karpenter: an anti-affinity counts the pod in every domain its node may still
            // land in, so no other pod's anti-affinity is satisfied by a zone not yet chosen;
            // other groups count it only once its domain is known.
            let domains = if self.groups[g].kind == Kind::AntiAffinity {
                self.possible_domains(&key, reqs, hostname)
            } else {
                domain_of(&key, reqs, hostname).into_iter().collect()
            };
            for d in domains {
                *self.groups[g].counts.entry(d.clone()).or_default() += 1;
                counted.push(Counted { group: g, domain: d, owner: false });
            }
        }
        for &g in &self.owned[class][level] {
            if self.groups[g].kind != Kind::AntiAffinity {
                continue;
            }
            let key = self.groups[g].key.clone();
            match domain_of(&key, reqs, hostname) {
                Some(domain) => {
                    *self.groups[g].owners.entry(domain.clone()).or_default() += 1;
                    counted.push(Counted { group: g, domain, owner: true });
                }
                None => {
                    let possible = self.possible_domains(&key, reqs, hostname);
                    self.groups[g].blocked.extend(possible);
                }
            }
        }
        counted
    }

    /// Takes back what [`Topology::record`] counted for a pod that leaves its node. Domains an
    /// anti-affinity owner blocked stay blocked (stricter for other pods, never looser).
    pub fn unrecord(&mut self, counted: &[Counted]) {
        for c in counted {
            let group = &mut self.groups[c.group];
            let counts = if c.owner { &mut group.owners } else { &mut group.counts };
            if let Some(n) = counts.get_mut(&c.domain) {
                *n -= 1;
            }
        }
    }

    /// Every domain of `key` a node with requirements `reqs` may still land in.
    fn possible_domains(&self, key: &str, reqs: &Requirements, hostname: &str) -> Vec<String> {
        if key == labels::HOSTNAME {
            return vec![hostname.to_string()];
        }
        self.universe
            .get(key)
            .map(|u| u.iter().filter(|d| reqs.get(key).is_none_or(|r| r.has(d))).cloned().collect())
            .unwrap_or_default()
    }

    /// Sets the known domains per topology key.
    pub fn set_universe(&mut self, universe: BTreeMap<String, BTreeSet<String>>) {
        self.universe = universe;
    }

    /// The known domains per topology key.
    pub fn universe(&self) -> &BTreeMap<String, BTreeSet<String>> {
        &self.universe
    }

    /// How many distinct nodes the `count` pods of a class need at least, by its required
    /// topology (with `pod` one of them, `pod_reqs` its node requirement):
    /// - anti-affinity against its own pods, on any key: one pod per domain, so per node;
    /// - hostname spread with maxSkew `s`: at most `s` of them per node;
    /// - spread with maxSkew `s` on another key, over `Z` eligible domains, when the class is
    ///   the only one its group counts and nothing is counted yet: every domain keeps within
    ///   `s` of the emptiest, so the pods use at least `min(Z, ⌈count / s⌉)` domains.
    pub fn min_nodes(&self, class: usize, count: u64, pod: &Pod, pod_reqs: &Requirements) -> u64 {
        let Some(required) = self.owned[class].last() else { return 0 };
        let mut out = 0;
        for &g in required {
            let group = &self.groups[g];
            if !group.selects(pod) {
                continue;
            }
            let hostname = group.key == labels::HOSTNAME;
            let nodes = match &group.kind {
                Kind::AntiAffinity => count,
                Kind::Spread { max_skew, .. } if hostname => count.div_ceil(*max_skew as u64),
                Kind::Spread { max_skew, honor_affinity, .. } => {
                    let mine = usize::from(self.selected_by[class].contains(&g));
                    let alone = self.selected_count[g] == mine;
                    if alone && group.counts.values().all(|n| *n == 0) {
                        let honored = if *honor_affinity { pod_reqs.get(&group.key) } else { None };
                        let domains = self.domains(&group.key, honored).count() as u64;
                        domains.min(count.div_ceil(*max_skew as u64))
                    } else {
                        0
                    }
                }
                Kind::Affinity => 0,
            };
            out = out.max(nodes);
        }
        out
    }

    /// The required zone spreads of a class that count its pods alone (no other pending class
    /// is selected by them): per such group, its eligible zones with the pods counted there,
    /// which of them the class's pods may land in, and its maxSkew. `pod` is one of the pods,
    /// `pod_reqs` its node requirement (as in [`Topology::min_nodes`]).
    pub fn zone_spreads(&self, class: usize, pod: &Pod, pod_reqs: &Requirements) -> Vec<ZoneSpread> {
        let Some(required) = self.owned[class].last() else { return Vec::new() };
        let mut out = Vec::new();
        for &g in required {
            let group = &self.groups[g];
            let Kind::Spread { max_skew, min_domains, honor_affinity } = &group.kind else { continue };
            if group.key != labels::ZONE || !group.selects(pod) || self.selected_count[g] != 1 {
                continue;
            }
            let allowed = pod_reqs.get(&group.key);
            let eligible: Vec<&String> =
                self.domains(&group.key, if *honor_affinity { allowed } else { None }).collect();
            out.push(ZoneSpread {
                zones: eligible.iter().map(|d| d.to_string()).collect(),
                counted: eligible.iter().map(|d| group.count(d)).collect(),
                placeable: eligible.iter().map(|d| allowed.is_none_or(|r| r.has(d))).collect(),
                max_skew: i64::from(*max_skew),
                least_counts: !eligible.is_empty() && min_domains.is_none_or(|m| eligible.len() >= m as usize),
            });
        }
        out
    }

    /// At most how many pods of `class` (represented by `pod`) one node may hold, by the
    /// topology they require of each other: 1 under anti-affinity against their own pods (on
    /// any key), `s` under hostname spread with maxSkew `s` (a new node is always a possible
    /// domain, so the global minimum is 0); `None` without such a rule.
    pub fn max_per_node(&self, class: usize, pod: &Pod) -> Option<u64> {
        let required = self.owned[class].last()?;
        let mut out: Option<u64> = None;
        for &g in required {
            let group = &self.groups[g];
            if !group.selects(pod) {
                continue;
            }
            let most = match &group.kind {
                Kind::AntiAffinity => 1,
                Kind::Spread { max_skew, .. } if group.key == labels::HOSTNAME => *max_skew as u64,
                _ => continue,
            };
            out = Some(out.map_or(most, |m| m.min(most)));
        }
        out
    }

    /// Whether a placed pod of the class may move to a fresh node in the zone it was placed
    /// in (in any zone when no zone rule concerns it), with pods of other nodes, and what it
    /// may not share that node with: `Some`, with the hostname groups it honours or is counted
    /// in, when at most one pod of each of them per node keeps every rule. That holds when its
    /// topology is required only (no preference to relax) and on zone or hostname alone: zone
    /// counts do not change when the zone does not; hostname spread never sees more than one
    /// pod of its group on a node, so never a skew above 1; hostname anti-affinity never meets
    /// a matching pod. Other keys (capacity type, instance type: what a fresh node may change)
    /// keep the pod where it is: `None`.
    ///
    /// Required hostname affinity (pods that must share a node) keeps it too, but for the
    /// group it shares its node with ([`Topology::shared_host`]): that group may move as one,
    /// to one fresh node, when every pod it counts is on the node it leaves
    /// ([`Topology::only_on`]); [`Movable::host`] names it.
    pub fn movable(&self, class: usize) -> Option<Movable> {
        if self.owned[class].len() != 1 || self.preferred_node[class].iter().any(Option::is_some) {
            return None;
        }
        let shared = self.shared_host(class);
        let mut groups: Vec<usize> = Vec::new();
        let mut zonal = false;
        let all = self.owned[class][0].iter().chain(&self.selected_by[class]).chain(&self.inverse[class]);
        for &g in all {
            let group = &self.groups[g];
            if group.key == labels::ZONE {
                zonal = true;
                continue;
            }
            if Some(g) == shared {
                continue;
            }
            if group.key != labels::HOSTNAME || group.kind == Kind::Affinity {
                return None;
            }
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
        groups.sort_unstable();
        Some(Movable { groups, zonal, host: shared })
    }

    /// Whether every pod group `g` counts is on the node named `hostname`.
    pub fn only_on(&self, g: usize, hostname: &str) -> bool {
        self.groups[g].counts.iter().all(|(d, &n)| n == 0 || d == hostname)
    }

    /// The keys of every group a pod of the class honours (at any relaxation level), is
    /// counted in, or is repelled by: the labels its node must keep for topology to hold.
    pub fn keys_of(&self, class: usize) -> BTreeSet<&str> {
        let owned = self.owned.get(class).into_iter().flatten().flatten();
        let counted = self.selected_by.get(class).into_iter().flatten();
        let repelled = self.inverse.get(class).into_iter().flatten();
        owned.chain(counted).chain(repelled).map(|&g| self.groups[g].key.as_str()).collect()
    }

    /// The topology keys some group counts on.
    pub fn keys(&self) -> BTreeSet<String> {
        self.groups.iter().map(|g| g.key.clone()).collect()
    }
}

/// The groups whose selector needs a label, by the first label of their `matchLabels`, so a
/// pod is matched only against the groups its labels may select (and those that need none).
struct SelectorIndex {
    by_label: HashMap<(String, String), Vec<usize>>,
    rest: Vec<usize>,
}

impl SelectorIndex {
    fn new(groups: &[Group]) -> Self {
        let mut out = SelectorIndex { by_label: HashMap::new(), rest: Vec::new() };
        for (g, group) in groups.iter().enumerate() {
            match group.selector.match_labels.iter().next() {
                Some((k, v)) => out.by_label.entry((k.clone(), v.clone())).or_default().push(g),
                None => out.rest.push(g),
            }
        }
        out
    }

    /// The groups that select `pod`, in ascending order.
    fn selecting(&self, groups: &[Group], pod: &Pod) -> Vec<usize> {
        let mut out: Vec<usize> = self.rest.clone();
        for (k, v) in &pod.labels {
            if let Some(gs) = self.by_label.get(&(k.clone(), v.clone())) {
                out.extend(gs);
            }
        }
        out.sort_unstable();
        out.retain(|&g| groups[g].selects(pod));
        out
    }
}

/// The one domain of `key` a node with requirements `reqs` is in, once it is known.
fn domain_of(key: &str, reqs: &Requirements, hostname: &str) -> Option<String> {
    if key == labels::HOSTNAME {
        return Some(hostname.to_string());
    }
    match reqs.get(key) {
        Some(r) if !r.is_complement() && r.values().count() == 1 => r.values().next().map(String::from),
        _ => None,
    }
}

fn spread_group(pod: &Pod, c: &crate::model::TopologySpreadConstraint) -> Group {
    let mut selector = c.selector.clone();
    for k in &c.match_label_keys {
        if let Some(v) = pod.labels.get(k) {
            selector.match_labels.insert(k.clone(), v.clone());
        }
    }
    let honor_affinity = c.node_affinity_policy == NodeInclusionPolicy::Honor;
    let mut node_filter = if honor_affinity { crate::filter::node_terms(pod, None) } else { Vec::new() };
    if node_filter.iter().any(Requirements::is_empty) {
        node_filter.clear();
    }
    Group {
        kind: Kind::Spread { max_skew: c.max_skew.max(1), min_domains: c.min_domains, honor_affinity },
        key: labels::normalize(&c.topology_key).to_string(),
        namespaces: BTreeSet::from([pod.namespace.clone()]),
        all_namespaces: false,
        selector,
        node_filter,
        counts: BTreeMap::new(),
        owners: BTreeMap::new(),
        blocked: BTreeSet::new(),
        rules_out_node: Arc::from(""),
        leaves_no_domain: Arc::from(""),
    }
}

fn term_group(pod: &Pod, term: &PodAffinityTerm, kind: Kind) -> Group {
    let mut selector = term.selector.clone();
    for k in &term.match_label_keys {
        if let Some(v) = pod.labels.get(k) {
            selector.match_labels.insert(k.clone(), v.clone());
        }
    }
    let namespaces: BTreeSet<String> = if term.namespaces.is_empty() {
        BTreeSet::from([pod.namespace.clone()])
    } else {
        term.namespaces.iter().cloned().collect()
    };
    let all_namespaces =
        term.namespace_selector.as_ref().is_some_and(|s| s.match_labels.is_empty() && s.match_expressions.is_empty());
    Group {
        kind,
        key: labels::normalize(&term.topology_key).to_string(),
        namespaces,
        all_namespaces,
        selector,
        node_filter: Vec::new(),
        counts: BTreeMap::new(),
        owners: BTreeMap::new(),
        blocked: BTreeSet::new(),
        rules_out_node: Arc::from(""),
        leaves_no_domain: Arc::from(""),
    }
}

/// What a group's rejections say: (a node is ruled out, no domain is left).
fn describe(group: &Group) -> (Arc<str>, Arc<str>) {
    let what = match &group.kind {
        Kind::Spread { max_skew, .. } => format!("topology spread on {} (maxSkew {max_skew})", group.key),
        Kind::Affinity => format!("pod affinity on {}", group.key),
        Kind::AntiAffinity => format!("pod anti-affinity on {}", group.key),
    };
    (format!("{what} rules out this node").into(), format!("{what} leaves no allowed domain").into())
}

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

use crate::labels;
use crate::model::{LabelSelector, Labels, NodeInclusionPolicy, Pod, PodAffinityTerm, WhenUnsatisfiable};
use crate::requirements::{Requirement, Requirements};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
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
    counts: BTreeMap<String, i64>,
    /// Anti-affinity: domains holding a pod that owns this group (for the inverse rule), and
    /// domains blocked by an owner whose node may land in several.
    owners: BTreeMap<String, i64>,
    blocked: BTreeSet<String>,
}

impl Group {
    fn selects(&self, pod: &Pod) -> bool {
        (self.all_namespaces || self.namespaces.contains(&pod.namespace)) && self.selector.matches(&pod.labels)
    }

    fn identity(&self) -> (Kind, String, BTreeSet<String>, bool, String) {
        (
            self.kind.clone(),
            self.key.clone(),
            self.namespaces.clone(),
            self.all_namespaces,
            format!("{:?}", self.selector),
        )
    }
}

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
    /// Known domains per key (from NodePools, instance types and existing nodes).
    universe: BTreeMap<String, BTreeSet<String>>,
}

/// Why topology rules a node out for a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TopologyRejection(pub String);

impl Topology {
    /// Builds the groups of the classes' pods (one representative each) and of every bound pod
    /// with anti-affinity, and counts the bound pods.
    /// `bound` holds each bound pod with its node's labels.
    pub fn new(
        representatives: &[&Pod],
        bound: &[(&Pod, &Labels)],
        universe: BTreeMap<String, BTreeSet<String>>,
    ) -> Self {
        let mut t = Topology { universe, ..Topology::default() };
        // Only required anti-affinity repels other pods (the inverse rule).
        let mut required_anti: BTreeSet<usize> = BTreeSet::new();
        for pod in representatives {
            let (owned, preferred) = t.levels(pod);
            // The last level keeps only what is required.
            required_anti.extend(owned.last().into_iter().flatten().copied());
            t.owned.push(owned);
            t.preferred_node.push(preferred);
        }
        for (pod, _) in bound {
            required_anti.extend(t.groups_of(pod, false));
        }
        required_anti.retain(|&g| t.groups[g].kind == Kind::AntiAffinity);
        for pod in representatives {
            let selected: Vec<usize> = (0..t.groups.len()).filter(|&g| t.groups[g].selects(pod)).collect();
            let inverse: Vec<usize> = selected.iter().copied().filter(|g| required_anti.contains(g)).collect();
            t.selected_by.push(selected);
            t.inverse.push(inverse);
        }
        for (pod, node_labels) in bound {
            let hostname = node_labels.get(labels::HOSTNAME).cloned();
            for g in 0..t.groups.len() {
                let group = &t.groups[g];
                let domain =
                    if group.key == labels::HOSTNAME { hostname.clone() } else { node_labels.get(&group.key).cloned() };
                let Some(domain) = domain else { continue };
                if group.selects(pod) {
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
        terms.map(|term| term_group(pod, term, Kind::AntiAffinity)).any(|mine| mine.identity() == group.identity())
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

    fn intern(&mut self, g: Group) -> usize {
        let id = g.identity();
        match self.groups.iter().position(|x| x.identity() == id) {
            Some(i) => i,
            None => {
                self.groups.push(g);
                self.groups.len() - 1
            }
        }
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

    /// Whether hostname topology rules the node out for good: its count in a hostname spread
    /// group is at maxSkew, or a hostname anti-affinity (its own or another pod's) takes it.
    /// Counts only grow during a run, so the answer never turns back to `false`.
    pub fn host_rejects(&self, class: usize, level: usize, hostname: &str) -> bool {
        let owned = self.owned[class][level].iter().map(|&g| &self.groups[g]).filter(|g| g.key == labels::HOSTNAME);
        for group in owned {
            let here = group.counts.get(hostname).copied().unwrap_or(0);
            let rejects = match &group.kind {
                Kind::Spread { max_skew, .. } => here >= *max_skew as i64,
                Kind::AntiAffinity => here > 0 || group.blocked.contains(hostname),
                Kind::Affinity => false,
            };
            if rejects {
                return true;
            }
        }
        self.inverse[class]
            .iter()
            .map(|&g| &self.groups[g])
            .filter(|g| g.key == labels::HOSTNAME)
            .any(|g| g.owners.get(hostname).is_some_and(|c| *c > 0) || g.blocked.contains(hostname))
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
                let here = group.counts.get(hostname).copied().unwrap_or(0);
                let ok = match &group.kind {
                    Kind::Spread { max_skew, .. } => here < *max_skew as i64,
                    Kind::AntiAffinity => here == 0 && !group.blocked.contains(hostname),
                    Kind::Affinity => here > 0 || (group.counts.values().all(|c| *c == 0) && group.selects(pod)),
                };
                if !ok {
                    return Err(TopologyRejection(describe(group, hostname)));
                }
                continue;
            }
            let allowed = current(key, &out);
            let universe: Vec<&String> = self
                .universe
                .get(key)
                .map(|u| u.iter().filter(|d| allowed.as_ref().is_none_or(|r| r.has(d))).collect())
                .unwrap_or_default();
            let narrowed = match &group.kind {
                Kind::Spread { max_skew, min_domains, honor_affinity } => {
                    let eligible: Vec<&String> = self
                        .universe
                        .get(key)
                        .map(|u| {
                            u.iter()
                                .filter(|d| !*honor_affinity || pod_reqs.get(key).is_none_or(|r| r.has(d)))
                                .collect()
                        })
                        .unwrap_or_default();
                    let count = |d: &str| group.counts.get(d).copied().unwrap_or(0);
                    let mut global_min = eligible.iter().map(|d| count(d)).min().unwrap_or(0);
                    if min_domains.is_some_and(|m| (eligible.len() as i32) < m) {
                        global_min = 0;
                    }
                    universe
                        .iter()
                        .filter(|d| count(d) + 1 - global_min <= *max_skew as i64)
                        .min_by(|a, b| count(a).cmp(&count(b)).then(a.cmp(b)))
                        .map(|d| Requirement::single(key, d.to_string()))
                }
                Kind::Affinity => {
                    let with: Vec<&&String> =
                        universe.iter().filter(|d| group.counts.get(d.as_str()).is_some_and(|c| *c > 0)).collect();
                    if !with.is_empty() {
                        Some(Requirement::any_of(key, with.into_iter().map(|d| d.to_string())))
                    } else if group.counts.values().all(|c| *c == 0) && group.selects(pod) {
                        universe.first().map(|d| Requirement::single(key, d.to_string()))
                    } else {
                        None
                    }
                }
                Kind::AntiAffinity => {
                    let free: Vec<&&String> = universe
                        .iter()
                        .filter(|d| {
                            group.counts.get(d.as_str()).is_none_or(|c| *c == 0) && !group.blocked.contains(d.as_str())
                        })
                        .collect();
                    (!free.is_empty()).then(|| Requirement::any_of(key, free.into_iter().map(|d| d.to_string())))
                }
            };
            match narrowed {
                Some(r) => out.add(r),
                None => return Err(TopologyRejection(describe(group, ""))),
            }
        }
        for &g in &self.inverse[class] {
            let group = &self.groups[g];
            let key = group.key.as_str();
            let taken = |d: &str| group.owners.get(d).is_some_and(|c| *c > 0) || group.blocked.contains(d);
            if key == labels::HOSTNAME {
                if taken(hostname) {
                    return Err(TopologyRejection(format!(
                        "another pod's anti-affinity keeps it off {key}={hostname}"
                    )));
                }
                continue;
            }
            let allowed = current(key, &out);
            let free: Vec<String> = self
                .universe
                .get(key)
                .map(|u| u.iter().filter(|d| allowed.as_ref().is_none_or(|r| r.has(d)) && !taken(d)).cloned().collect())
                .unwrap_or_default();
            if free.is_empty() {
                return Err(TopologyRejection(format!("another pod's anti-affinity on {key} leaves no domain")));
            }
            out.add(Requirement::any_of(key, free));
        }
        Ok(out)
    }

    /// Records a pod placed on a node: counts in every group that selects it, in the node's
    /// domain for the group's key; anti-affinity owners block every domain still possible.
    pub fn record(&mut self, class: usize, level: usize, reqs: &Requirements, hostname: &str) {
        for &g in &self.selected_by[class] {
            let key = self.groups[g].key.clone();
            for d in domains_of(&key, reqs, hostname, &self.universe) {
                *self.groups[g].counts.entry(d).or_default() += 1;
            }
        }
        for &g in &self.owned[class][level] {
            if self.groups[g].kind != Kind::AntiAffinity {
                continue;
            }
            let key = self.groups[g].key.clone();
            let domains = domains_of(&key, reqs, hostname, &self.universe);
            if domains.len() == 1 {
                *self.groups[g].owners.entry(domains[0].clone()).or_default() += 1;
            } else {
                let possible: Vec<String> = self
                    .universe
                    .get(&key)
                    .map(|u| u.iter().filter(|d| reqs.get(&key).is_none_or(|r| r.has(d))).cloned().collect())
                    .unwrap_or_default();
                self.groups[g].blocked.extend(possible);
            }
        }
    }

    /// The topology keys some group counts on.
    pub fn keys(&self) -> BTreeSet<String> {
        self.groups.iter().map(|g| g.key.clone()).collect()
    }
}

/// The single domain a node has on `key`, if it is known (hostname: always).
fn domains_of(
    key: &str,
    reqs: &Requirements,
    hostname: &str,
    universe: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    if key == labels::HOSTNAME {
        return vec![hostname.to_string()];
    }
    match reqs.get(key) {
        Some(r) if !r.is_complement() => {
            let values: Vec<String> = r.values().map(String::from).collect();
            if values.len() == 1 {
                values
            } else {
                Vec::new()
            }
        }
        _ => {
            let _ = universe;
            Vec::new()
        }
    }
}

fn spread_group(pod: &Pod, c: &crate::model::TopologySpreadConstraint) -> Group {
    let mut selector = c.selector.clone();
    for k in &c.match_label_keys {
        if let Some(v) = pod.labels.get(k) {
            selector.match_labels.insert(k.clone(), v.clone());
        }
    }
    Group {
        kind: Kind::Spread {
            max_skew: c.max_skew.max(1),
            min_domains: c.min_domains,
            honor_affinity: c.node_affinity_policy == NodeInclusionPolicy::Honor,
        },
        key: labels::normalize(&c.topology_key).to_string(),
        namespaces: BTreeSet::from([pod.namespace.clone()]),
        all_namespaces: false,
        selector,
        counts: BTreeMap::new(),
        owners: BTreeMap::new(),
        blocked: BTreeSet::new(),
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
        counts: BTreeMap::new(),
        owners: BTreeMap::new(),
        blocked: BTreeSet::new(),
    }
}

fn describe(group: &Group, hostname: &str) -> String {
    let what = match &group.kind {
        Kind::Spread { max_skew, .. } => format!("topology spread on {} (maxSkew {max_skew})", group.key),
        Kind::Affinity => format!("pod affinity on {}", group.key),
        Kind::AntiAffinity => format!("pod anti-affinity on {}", group.key),
    };
    if hostname.is_empty() {
        format!("{what} leaves no allowed domain")
    } else {
        format!("{what} rules out this node")
    }
}

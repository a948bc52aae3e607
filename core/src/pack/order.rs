//! The order this run's new nodes are tried in, Karpenter's: fewest pods first. Karpenter keeps
//! its NodeClaims in one slice, appends each new claim, and sorts the slice by pod count before
//! every pod with Go's `sort.Slice`, which is not stable: among equal counts, which claim comes
//! first is what that sort leaves. [`NodeOrder`] keeps the same slice and sorts it the same way
//! ([`super::go_sort`]), so a pod tries the claims in Karpenter's order exactly.
//!
//! Optimize mode does not follow Karpenter's ties, and hides and shows nodes as it repacks
//! them: there the order is kept in a sorted set ([`NodeOrder::stable`]): among equal counts the
//! node that reached the count last comes first and new nodes follow in creation order (what
//! Go's sort does for up to 12 claims, an insertion sort), which costs a logarithm per change
//! where sorting the whole slice costs its length.
//!
//! Either way the order is also kept per topology domain, so a pod whose topology admits only
//! some domains of a key walks only the nodes that may be in one of them.

use crate::requirements::Requirements;
use std::collections::{BTreeMap, BTreeSet};

/// A node's place in the order: (pod count, tie, node index). The tie is the node's index
/// (its creation order) while it has the pods it was created with, and minus the number of
/// pod counts reached before once it gains pods: the latest first.
type Place = (usize, i64, usize);

#[derive(Debug, Clone, Default)]
pub(super) struct NodeOrder {
    all: BTreeSet<Place>,
    /// Per node: its place while it is in the order.
    places: Vec<Option<Place>>,
    /// How many times a node has reached a new pod count.
    gains: i64,
    keys: Vec<KeyIndex>,
    /// Karpenter's NodeClaim slice, unless the order is [`NodeOrder::stable`].
    slice: Option<ClaimSlice>,
}

/// Every node placed so far, in the order Go's `sort.Slice` by pod count left them, hidden or not.
#[derive(Debug, Clone, Default)]
struct ClaimSlice {
    nodes: Vec<usize>,
    /// Per node: its pod count, and its index in `nodes`.
    count: Vec<usize>,
    at: Vec<usize>,
}

impl ClaimSlice {
    /// Node `n` now has `pods` pods (appended if new); sorts the slice as Karpenter does
    /// before its next pod. Sorting a sorted slice moves nothing in Go's sort, so the slice is
    /// sorted only when the change put `n` out of order.
    fn set(&mut self, n: usize, pods: usize) {
        if self.count.len() <= n {
            self.count.resize(n + 1, 0);
            self.at.resize(n + 1, usize::MAX);
        }
        if self.at[n] == usize::MAX {
            self.at[n] = self.nodes.len();
            self.nodes.push(n);
        }
        self.count[n] = pods;
        let i = self.at[n];
        let before = i > 0 && self.count[self.nodes[i - 1]] > pods;
        let after = self.nodes.get(i + 1).is_some_and(|&m| self.count[m] < pods);
        if before || after {
            let count = &self.count;
            super::go_sort::sort_slice(&mut self.nodes, |&a, &b| count[a] < count[b]);
            for (i, &m) in self.nodes.iter().enumerate() {
                self.at[m] = i;
            }
        }
    }
}

/// The order split by the domain a node is pinned to on one topology key.
#[derive(Debug, Clone)]
struct KeyIndex {
    key: String,
    /// The key's known domains, sorted.
    domains: Vec<String>,
    /// Per domain, then one for nodes not pinned to a single known domain.
    buckets: Vec<BTreeSet<Place>>,
    /// Per node: its bucket while it is in the order.
    bucket_of: Vec<usize>,
}

impl KeyIndex {
    /// The bucket of a node with `reqs`: its single domain on the key, if it is a known one.
    fn bucket(&self, reqs: &Requirements) -> usize {
        let unpinned = self.domains.len();
        let Some(r) = reqs.get(&self.key).filter(|r| !r.is_complement()) else { return unpinned };
        let mut values = r.values();
        match (values.next(), values.next()) {
            (Some(v), None) => self.domains.binary_search_by(|d| d.as_str().cmp(v)).unwrap_or(unpinned),
            _ => unpinned,
        }
    }
}

impl NodeOrder {
    /// An empty order indexed on every key of `universe` (topology keys and their domains).
    pub fn new(universe: &BTreeMap<String, BTreeSet<String>>) -> Self {
        let keys = universe
            .iter()
            .map(|(key, domains)| KeyIndex {
                key: key.clone(),
                domains: domains.iter().cloned().collect(),
                buckets: vec![BTreeSet::new(); domains.len() + 1],
                bucket_of: Vec::new(),
            })
            .collect();
        NodeOrder { keys, slice: Some(ClaimSlice::default()), ..NodeOrder::default() }
    }

    /// Keeps the order from now on in a sorted set, without Karpenter's tie-breaks among
    /// equal counts past 12 nodes (see the module's documentation); before any node is placed.
    pub fn stable(&mut self) {
        debug_assert!(self.places.is_empty(), "the order changes kind before any node is placed");
        self.slice = None;
    }

    /// Puts node `n`, now with `pods` pods and requirements `reqs`, in its place (moving it if
    /// it was in the order): a node new to the order after the nodes of its count, one whose
    /// count changed before them, one whose count did not where it was.
    pub fn place(&mut self, n: usize, pods: usize, reqs: &Requirements) {
        let before = self.places.get(n).copied().flatten();
        self.remove(n);
        let tie = match before {
            None => n as i64,
            Some((count, tie, _)) if count == pods => tie,
            Some(_) => {
                self.gains += 1;
                -self.gains
            }
        };
        let place = (pods, tie, n);
        self.places[n] = Some(place);
        self.all.insert(place);
        for k in &mut self.keys {
            let b = k.bucket(reqs);
            k.bucket_of[n] = b;
            k.buckets[b].insert(place);
        }
    }

    /// Node `n` has `pods` pods now, whether it is in the order or not: Karpenter's slice
    /// holds every claim, full or not, and where the full ones sit changes how its sort leaves
    /// the others. Called for every node made and after every change of its pods.
    pub fn count(&mut self, n: usize, pods: usize) {
        if let Some(slice) = &mut self.slice {
            slice.set(n, pods);
        }
    }

    /// Takes node `n` out of the order.
    pub fn remove(&mut self, n: usize) {
        if self.places.len() <= n {
            self.places.resize(n + 1, None);
            for k in &mut self.keys {
                k.bucket_of.resize(n + 1, 0);
            }
        }
        let Some(place) = self.places[n].take() else { return };
        self.all.remove(&place);
        for k in &mut self.keys {
            k.buckets[k.bucket_of[n]].remove(&place);
        }
    }

    /// Every node in the order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = usize> + '_> {
        match &self.slice {
            Some(slice) => Box::new(slice.nodes.iter().copied().filter(|&n| self.places[n].is_some())),
            None => Box::new(self.all.iter().map(|&(_, _, n)| n)),
        }
    }

    /// The nodes in the order that are pinned on `key` to a domain in `admitted` (sorted) or
    /// not pinned to a single known one; every node when the key is not indexed.
    pub fn iter_admitting<'s>(&'s self, key: &str, admitted: &[&str]) -> Box<dyn Iterator<Item = usize> + 's> {
        let Some(k) = self.keys.iter().find(|k| k.key == key) else { return self.iter() };
        let buckets: Vec<usize> = admitted
            .iter()
            .filter_map(|d| k.domains.binary_search_by(|x| x.as_str().cmp(d)).ok())
            .chain([k.domains.len()])
            .collect();
        // Karpenter's slice is walked whole. The sorted set: merging the buckets costs a look
        // at each of them per node; walking the whole order, a look at each node's bucket:
        // whichever looks less (the same nodes, in the same order).
        let in_buckets: usize = buckets.iter().map(|&b| k.buckets[b].len()).sum();
        if self.slice.is_some() || (buckets.len() > 1 && self.all.len() < in_buckets * buckets.len()) {
            let mut wanted = vec![false; k.buckets.len()];
            for &b in &buckets {
                wanted[b] = true;
            }
            return Box::new(self.iter().filter(move |&n| wanted[k.bucket_of[n]]));
        }
        let mut sources: Vec<_> = buckets.into_iter().map(|b| k.buckets[b].iter().copied().peekable()).collect();
        Box::new(std::iter::from_fn(move || {
            let (i, _) =
                sources.iter_mut().enumerate().filter_map(|(i, s)| s.peek().map(|p| (i, *p))).min_by_key(|x| x.1)?;
            sources[i].next().map(|(_, _, n)| n)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requirements::Requirement;

    fn zone(z: &str) -> Requirements {
        let mut r = Requirements::new();
        r.add(Requirement::single(crate::labels::ZONE, z.to_string()));
        r
    }

    #[test]
    fn walks_admitted_domains_and_unpinned_nodes_in_order() {
        let universe = BTreeMap::from([(
            crate::labels::ZONE.to_string(),
            BTreeSet::from(["a".to_string(), "b".to_string(), "c".to_string()]),
        )]);
        let mut order = NodeOrder::new(&universe);
        order.stable();
        order.place(0, 3, &zone("a"));
        order.place(1, 1, &zone("b"));
        order.place(2, 2, &Requirements::new());
        order.place(3, 1, &zone("c"));
        order.place(4, 5, &zone("zz"));
        assert_eq!(order.iter().collect::<Vec<_>>(), [1, 3, 2, 0, 4]);
        assert_eq!(order.iter_admitting(crate::labels::ZONE, &["a", "c"]).collect::<Vec<_>>(), [3, 2, 0, 4]);
        assert_eq!(order.iter_admitting("other", &[]).collect::<Vec<_>>(), [1, 3, 2, 0, 4]);
        // Moving a node re-buckets it.
        order.place(3, 4, &zone("b"));
        order.remove(0);
        assert_eq!(order.iter_admitting(crate::labels::ZONE, &["a", "c"]).collect::<Vec<_>>(), [2, 4]);
        assert_eq!(order.iter().collect::<Vec<_>>(), [1, 2, 3, 4]);
    }

    #[test]
    fn among_equal_counts_the_latest_to_reach_it_comes_first() {
        let none = Requirements::new();
        let mut order = NodeOrder::new(&BTreeMap::new());
        order.stable();
        for n in 0..4 {
            order.place(n, 1, &none);
        }
        // New nodes: creation order.
        assert_eq!(order.iter().collect::<Vec<_>>(), [0, 1, 2, 3]);
        order.place(2, 2, &none);
        order.place(0, 2, &none);
        // 0 reached two pods after 2 did: it comes first, as Karpenter's stable sort leaves it.
        assert_eq!(order.iter().collect::<Vec<_>>(), [1, 3, 0, 2]);
        // A change that keeps the count keeps the place; a new node follows the others of its count.
        order.place(2, 2, &none);
        order.place(4, 1, &none);
        assert_eq!(order.iter().collect::<Vec<_>>(), [1, 3, 4, 0, 2]);
        order.place(3, 2, &none);
        assert_eq!(order.iter().collect::<Vec<_>>(), [1, 4, 3, 0, 2]);
    }

    /// Places node `n` with `pods` pods as the simulation does.
    fn set(order: &mut NodeOrder, n: usize, pods: usize, reqs: &Requirements) {
        order.count(n, pods);
        order.place(n, pods, reqs);
    }

    #[test]
    fn karpenters_order_is_what_gos_sort_leaves() {
        let none = Requirements::new();
        // Up to 12 claims Go's sort is an insertion sort: the stable order.
        let mut order = NodeOrder::new(&BTreeMap::new());
        for n in 0..4 {
            set(&mut order, n, 1, &none);
        }
        set(&mut order, 2, 2, &none);
        set(&mut order, 0, 2, &none);
        assert_eq!(order.iter().collect::<Vec<_>>(), [1, 3, 0, 2]);
        // Thirteen claims of one pod (core/tests/karpenter/ties-pdqsort-13-claims): the first
        // gains a pod and the slice [2, 1, 1, …] is partitioned around its median claim, which
        // comes first; the stable order would put the second claim first.
        let mut order = NodeOrder::new(&BTreeMap::new());
        for n in 0..13 {
            set(&mut order, n, 1, &none);
        }
        set(&mut order, 0, 2, &none);
        let walked: Vec<usize> = order.iter().collect();
        assert_eq!(walked.len(), 13);
        assert_ne!(walked[0], 1);
        assert_eq!(walked[12], 0);
        // A node out of the order (full) stays in Karpenter's slice and still moves the others.
        let mut with_full = order.clone();
        set(&mut with_full, 5, 2, &none);
        with_full.remove(5);
        set(&mut order, 5, 2, &none);
        let walked: Vec<usize> = order.iter().filter(|&n| n != 5).collect();
        assert_eq!(with_full.iter().collect::<Vec<_>>(), walked);
    }
}

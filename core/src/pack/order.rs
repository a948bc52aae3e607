//! The order this run's new nodes are tried in, Karpenter's: fewest pods first; among equal
//! pod counts, the node that reached that count last comes first, and new nodes (one pod)
//! follow in creation order. Karpenter keeps its NodeClaims in one slice that it sorts by pod
//! count before every pod (`sort.Slice`, an insertion sort — stable — for up to 12 claims);
//! the claim that just gained a pod was before every claim of its new count, and a new claim
//! was appended after all. The same order is kept per topology domain, so a pod whose topology
//! admits only some domains of a key walks only the nodes that may be in one of them.

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
        NodeOrder { keys, ..NodeOrder::default() }
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
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.all.iter().map(|&(_, _, n)| n)
    }

    /// The nodes in the order that are pinned on `key` to a domain in `admitted` (sorted) or
    /// not pinned to a single known one; every node when the key is not indexed.
    pub fn iter_admitting<'s>(&'s self, key: &str, admitted: &[&str]) -> Box<dyn Iterator<Item = usize> + 's> {
        let Some(k) = self.keys.iter().find(|k| k.key == key) else { return Box::new(self.iter()) };
        let buckets: Vec<usize> = admitted
            .iter()
            .filter_map(|d| k.domains.binary_search_by(|x| x.as_str().cmp(d)).ok())
            .chain([k.domains.len()])
            .collect();
        // Merging the buckets costs a look at each of them per node; walking the whole order,
        // a look at each node's bucket: whichever looks less (the same nodes, in the same order).
        let in_buckets: usize = buckets.iter().map(|&b| k.buckets[b].len()).sum();
        if buckets.len() > 1 && self.all.len() < in_buckets * buckets.len() {
            let mut wanted = vec![false; k.buckets.len()];
            for &b in &buckets {
                wanted[b] = true;
            }
            return Box::new(self.all.iter().map(|&(_, _, n)| n).filter(move |&n| wanted[k.bucket_of[n]]));
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
}

//! What may be disrupted: per node, the facts consolidation decides on (its NodePool, price,
//! pods that would move, disruption cost) and the guards that keep it (readiness,
//! `karpenter.sh/do-not-disrupt`, PodDisruptionBudgets, consolidateAfter, expireAfter); per
//! NodePool, the disruption budgets.

use crate::cron::Schedule;
use crate::filter::FilterContext;
use crate::labels;
use crate::model::{ConsolidationPolicy, DisruptionReason, Inventory, Node, Pod, PodDisruptionBudget, PodPhase};
use crate::time::{Duration, NillableDuration, Timestamp};
use std::collections::HashMap;

/// Kubernetes' pod deletion cost annotation.
const POD_DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// A node of the snapshot as consolidation sees it.
#[derive(Debug, Clone)]
pub(super) struct NodeFacts {
    /// Index into the filter context's pools, when a known NodePool manages the node.
    pub pool: Option<usize>,
    /// Price per hour of its instance type's offering in its zone and capacity type.
    pub price: Option<f64>,
    /// Pods that would have to move (not DaemonSet or mirror pods, not finished, not deleting),
    /// as indices into the inventory's pods.
    pub movable: Vec<usize>,
    /// Why no voluntary method may touch it, if anything forbids it.
    pub blocked: Option<String>,
    /// The latest of its creation and its pods' creation.
    pub last_event: Option<Timestamp>,
    /// Karpenter's disruption cost: the pods' eviction costs, scaled by the share of the
    /// node's lifetime left under expireAfter.
    pub disruption_cost: f64,
    /// Whether the node has outlived its NodePool's expireAfter.
    pub expired: bool,
    /// When the node's labels no longer satisfy its NodePool: which label.
    pub drift: Option<String>,
    /// Launched by an earlier command of this plan (not a candidate again).
    pub fresh: bool,
}

/// Karpenter's eviction cost of a pod: 1, plus its deletion cost over 2^27, plus its priority
/// over 2^25, clamped to [-10, 10].
pub(super) fn eviction_cost(pod: &Pod) -> f64 {
    let deletion: f64 =
        pod.annotation(POD_DELETION_COST).and_then(|v| v.trim().parse::<i32>().ok()).unwrap_or(0).into();
    (1.0 + deletion / 2f64.powi(27) + f64::from(pod.priority) / 2f64.powi(25)).clamp(-10.0, 10.0)
}

/// Whether a pod goes with its node rather than being moved: DaemonSet and mirror pods,
/// finished and deleting pods.
fn stays(pod: &Pod) -> bool {
    matches!(pod.phase, PodPhase::Succeeded | PodPhase::Failed)
        || pod.deleting
        || pod.owner.as_ref().is_some_and(|o| o.kind == "DaemonSet" || o.kind == "Node")
}

/// The PodDisruptionBudgets of a snapshot and how many more evictions each allows.
#[derive(Debug, Clone)]
pub(super) struct Pdbs {
    /// Per PDB: evictions still allowed.
    allowed: Vec<i64>,
}

impl Pdbs {
    /// `status.disruptionsAllowed` where the snapshot has it; otherwise worked out from the
    /// matching pods: healthy (bound and running) ones less `minAvailable`, or `maxUnavailable`
    /// less the unhealthy ones.
    pub fn new(inventory: &Inventory) -> Pdbs {
        let allowed = inventory
            .pdbs
            .iter()
            .map(|pdb| {
                if let Some(n) = pdb.disruptions_allowed {
                    return i64::from(n);
                }
                let matching: Vec<&Pod> = inventory.pods.iter().filter(|p| selects(pdb, p)).collect();
                let expected = matching.len() as u32;
                let healthy =
                    matching.iter().filter(|p| p.node_name.is_some() && p.phase == PodPhase::Running).count() as i64;
                match (pdb.min_available, pdb.max_unavailable) {
                    (Some(min), _) => healthy - i64::from(min.resolve(expected, true)),
                    (None, Some(max)) => i64::from(max.resolve(expected, true)) - (i64::from(expected) - healthy),
                    (None, None) => i64::from(expected),
                }
            })
            .collect();
        Pdbs { allowed }
    }

    /// The first PDB that would not allow evicting `pods` (indices into the inventory's pods)
    /// together, with the pod it stops.
    pub fn blocking<'i>(&self, inventory: &'i Inventory, pods: &[usize]) -> Option<(&'i PodDisruptionBudget, &'i Pod)> {
        inventory.pdbs.iter().enumerate().find_map(|(i, pdb)| {
            let mut evicted = 0;
            pods.iter().map(|&p| &inventory.pods[p]).filter(|p| selects(pdb, p)).find_map(|pod| {
                evicted += 1;
                (evicted > self.allowed[i]).then_some((pdb, pod))
            })
        })
    }

    /// Per PDB that selects any of `pods`: its index, how many of them it selects, and how
    /// many evictions it still allows.
    pub fn usage(&self, inventory: &Inventory, pods: &[usize]) -> Vec<(usize, i64, i64)> {
        inventory
            .pdbs
            .iter()
            .enumerate()
            .filter_map(|(i, pdb)| {
                let n = pods.iter().filter(|&&p| selects(pdb, &inventory.pods[p])).count() as i64;
                (n > 0).then_some((i, n, self.allowed[i]))
            })
            .collect()
    }

    /// Takes the evictions of `pods` off the budgets that select them.
    pub fn evict(&mut self, inventory: &Inventory, pods: &[usize]) {
        for (i, pdb) in inventory.pdbs.iter().enumerate() {
            self.allowed[i] -= pods.iter().filter(|&&p| selects(pdb, &inventory.pods[p])).count() as i64;
        }
    }
}

fn selects(pdb: &PodDisruptionBudget, pod: &Pod) -> bool {
    pod.namespace == pdb.namespace && pdb.selector.matches(&pod.labels)
}

/// Works out every node's facts on a snapshot at `now`.
pub(super) fn facts(
    inventory: &Inventory,
    ctx: &FilterContext,
    pdbs: &Pdbs,
    now: Timestamp,
    fresh: &std::collections::BTreeSet<String>,
) -> Vec<NodeFacts> {
    let pool_index: HashMap<&str, usize> =
        ctx.pools.iter().enumerate().map(|(i, p)| (p.nodepool.name.as_str(), i)).collect();
    let node_index: HashMap<&str, usize> =
        inventory.nodes.iter().enumerate().map(|(i, n)| (n.name.as_str(), i)).collect();
    // Each node's NodeClaim: the one naming it, or with its provider ID.
    let claim_of = |node: &Node| {
        inventory.nodeclaims.iter().find(|c| {
            c.node_name.as_deref() == Some(node.name.as_str())
                || c.provider_id.is_some() && c.provider_id == node.provider_id
        })
    };
    let mut on_node: Vec<Vec<usize>> = vec![Vec::new(); inventory.nodes.len()];
    for (p, pod) in inventory.pods.iter().enumerate() {
        if let Some(&n) = pod.node_name.as_deref().and_then(|name| node_index.get(name)) {
            on_node[n].push(p);
        }
    }
    inventory
        .nodes
        .iter()
        .zip(on_node)
        .map(|(node, pods)| {
            let pool = node.nodepool().and_then(|name| pool_index.get(name).copied());
            let movable: Vec<usize> = pods.iter().copied().filter(|&p| !stays(&inventory.pods[p])).collect();
            let last_event = pods.iter().filter_map(|&p| inventory.pods[p].created).chain(node.created).max();
            let mut facts = NodeFacts {
                pool,
                price: None,
                blocked: None,
                last_event,
                disruption_cost: 0.0,
                expired: false,
                drift: None,
                fresh: fresh.contains(&node.name),
                movable,
            };
            let Some(pool) = pool else { return facts };
            let pool = &ctx.pools[pool];
            facts.price = node_price(node, &pool.instance_types);
            let lifetime = match pool.nodepool.expire_after {
                NillableDuration::Never => 1.0,
                NillableDuration::After(d) => match node.created {
                    Some(created) => {
                        let left = created.0.saturating_add(d.secs()).saturating_sub(now.0);
                        facts.expired = left <= 0;
                        (left as f64 / d.secs().max(1) as f64).clamp(0.0, 1.0)
                    }
                    None => 1.0,
                },
            };
            // (+ 0.0: an empty sum is -0.0)
            facts.disruption_cost =
                facts.movable.iter().map(|&p| eviction_cost(&inventory.pods[p])).sum::<f64>() * lifetime + 0.0;
            facts.drift = drift(node, &pool.requirements).or_else(|| {
                let class =
                    pool.nodepool.node_class_ref.as_ref().and_then(|r| {
                        inventory.nodeclasses.iter().find(|c| c.name == r.name && r.kind == "EC2NodeClass")
                    });
                static_drift(claim_of(node)?, &pool.nodepool, class)
            });
            facts.blocked = blocked(node, &facts, inventory, pdbs);
            facts
        })
        .collect()
}

/// The price of a node's offering: its instance type, zone and capacity type (on-demand when
/// unlabelled) among `types`.
pub(crate) fn node_price(node: &Node, types: &[crate::catalog::InstanceType]) -> Option<f64> {
    let name = node.instance_type()?;
    let it = types.iter().find(|t| t.name == name)?;
    let zone = node.zone();
    let capacity_type = node.capacity_type().unwrap_or("on-demand");
    it.offerings
        .iter()
        .filter(|o| zone.is_none_or(|z| o.zone == z) && o.capacity_type.as_str() == capacity_type)
        .map(|o| o.price)
        .reduce(f64::min)
}

/// A label of the node its NodePool's requirements no longer allow.
fn drift(node: &Node, requirements: &crate::requirements::Requirements) -> Option<String> {
    requirements.iter().filter(|r| r.key() != labels::NODEPOOL).find_map(|r| {
        let value = node.labels.get(r.key())?;
        (!r.has(value)).then(|| format!("its label {}={value} is no longer allowed by its NodePool ({r})", r.key()))
    })
}

/// Whether the node's NodeClaim was made from another version of its NodePool's template or
/// of its EC2NodeClass's spec: the hashes on the claim against those on the NodePool and the
/// class (Karpenter's static drift).
fn static_drift(
    claim: &crate::model::NodeClaim,
    pool: &crate::model::NodePool,
    class: Option<&crate::model::NodeClass>,
) -> Option<String> {
    use crate::model::TemplateHash;
    let stamped = |key, version| TemplateHash::from_annotations(&claim.annotations, key, version);
    if let (Some(current), Some(claim_hash)) =
        (&pool.hash, stamped(labels::NODEPOOL_HASH, labels::NODEPOOL_HASH_VERSION))
    {
        if claim_hash.drifted_from(current) {
            return Some(format!(
                "NodePool {}'s template changed since NodeClaim {} was made ({} {} -> {})",
                pool.name,
                claim.name,
                labels::NODEPOOL_HASH,
                claim_hash.value,
                current.value
            ));
        }
    }
    let class = class?;
    let current = class.hash.as_ref()?;
    let claim_hash = stamped(labels::NODECLASS_HASH, labels::NODECLASS_HASH_VERSION)?;
    claim_hash.drifted_from(current).then(|| {
        format!(
            "EC2NodeClass {}'s spec changed since NodeClaim {} was made ({} {} -> {})",
            class.name,
            claim.name,
            labels::NODECLASS_HASH,
            claim_hash.value,
            current.value
        )
    })
}

/// Why no voluntary disruption may take the node, if anything forbids it.
fn blocked(node: &Node, facts: &NodeFacts, inventory: &Inventory, pdbs: &Pdbs) -> Option<String> {
    if node.deleting {
        return Some("it is already being deleted".into());
    }
    if !node.ready {
        return Some("it is not Ready (not initialized)".into());
    }
    if node.annotations.get(labels::DO_NOT_DISRUPT).is_some_and(|v| v == "true") {
        return Some(format!("the node has the {} annotation", labels::DO_NOT_DISRUPT));
    }
    if let Some(&p) =
        facts.movable.iter().find(|&&p| inventory.pods[p].annotation(labels::DO_NOT_DISRUPT) == Some("true"))
    {
        return Some(format!("pod {} has the {} annotation", inventory.pods[p].key(), labels::DO_NOT_DISRUPT));
    }
    if let Some((pdb, pod)) = pdbs.blocking(inventory, &facts.movable) {
        return Some(format!(
            "PodDisruptionBudget {}/{} allows no more disruptions (pod {})",
            pdb.namespace,
            pdb.name,
            pod.key()
        ));
    }
    if facts.price.is_none() {
        return Some(format!(
            "its price is unknown: instance type {} in zone {} ({}) is not in the catalog",
            node.instance_type().unwrap_or("(no label)"),
            node.zone().unwrap_or("(no label)"),
            node.capacity_type().unwrap_or("on-demand"),
        ));
    }
    None
}

/// Why a NodePool's consolidation settings keep a node from `reason`'s methods at `now`.
pub(super) fn policy_keeps(
    facts: &NodeFacts,
    nodepool: &crate::model::NodePool,
    reason: DisruptionReason,
    now: Timestamp,
) -> Option<String> {
    let disruption = &nodepool.disruption;
    if reason == DisruptionReason::Underutilized
        && disruption.consolidation_policy == ConsolidationPolicy::WhenEmpty
        && !facts.movable.is_empty()
    {
        return Some(format!(
            "NodePool {}'s consolidationPolicy is WhenEmpty and the node has {} pods",
            nodepool.name,
            facts.movable.len()
        ));
    }
    if reason == DisruptionReason::Drifted {
        return None;
    }
    match disruption.consolidate_after {
        NillableDuration::Never => Some(format!("NodePool {}'s consolidateAfter is Never", nodepool.name)),
        NillableDuration::After(after) => {
            let since = now.0.saturating_sub(facts.last_event?.0);
            (since < after.secs()).then(|| {
                format!(
                    "NodePool {}'s consolidateAfter is {after}: its last pod event was {} ago",
                    nodepool.name,
                    Duration::from_secs(since)
                )
            })
        }
    }
}

/// The disruption budgets of every NodePool: how many of its nodes each reason may still take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Budgets {
    /// Per pool, per reason (Underutilized, Empty, Drifted): nodes still allowed.
    allowed: Vec<[i64; 3]>,
}

fn reason_index(reason: DisruptionReason) -> usize {
    match reason {
        DisruptionReason::Underutilized => 0,
        DisruptionReason::Empty => 1,
        DisruptionReason::Drifted => 2,
    }
}

impl Budgets {
    /// Per pool and reason: the most restrictive budget active at `now` (percentages of the
    /// pool's nodes rounding up), less the pool's nodes already deleting or not Ready.
    pub fn new(inventory: &Inventory, ctx: &FilterContext, now: Timestamp) -> crate::Result<Budgets> {
        let mut allowed = Vec::with_capacity(ctx.pools.len());
        for pool in &ctx.pools {
            let name = pool.nodepool.name.as_str();
            let nodes: Vec<&Node> = inventory.nodes.iter().filter(|n| n.nodepool() == Some(name)).collect();
            let total = nodes.len() as u32;
            let disrupting = nodes.iter().filter(|n| n.deleting || !n.ready).count() as i64;
            let mut per_reason = [i64::MAX; 3];
            for (b, budget) in pool.nodepool.disruption.budgets.iter().enumerate() {
                if let Some(schedule) = &budget.schedule {
                    let parsed = Schedule::parse(schedule).map_err(|message| {
                        crate::Error::field(
                            format!("NodePool {name}"),
                            format!("spec.disruption.budgets[{b}].schedule"),
                            message,
                        )
                    })?;
                    if !parsed.active(now, budget.duration.unwrap_or_default()) {
                        continue;
                    }
                }
                let nodes = i64::from(budget.nodes.resolve(total, true));
                for reason in [DisruptionReason::Underutilized, DisruptionReason::Empty, DisruptionReason::Drifted] {
                    if budget.reasons.is_empty() || budget.reasons.contains(&reason) {
                        let slot = &mut per_reason[reason_index(reason)];
                        *slot = (*slot).min(nodes);
                    }
                }
            }
            allowed.push(per_reason.map(|n| if n == i64::MAX { n } else { (n - disrupting).max(0) }));
        }
        Ok(Budgets { allowed })
    }

    /// How many more nodes of pool `pool` `reason` may disrupt.
    pub fn allowed(&self, pool: usize, reason: DisruptionReason) -> i64 {
        self.allowed[pool][reason_index(reason)]
    }

    /// Counts `n` more nodes of the pool as disrupting, for every reason.
    pub fn take(&mut self, pool: usize, n: i64) {
        for slot in &mut self.allowed[pool] {
            if *slot != i64::MAX {
                *slot = (*slot - n).max(0);
            }
        }
    }
}

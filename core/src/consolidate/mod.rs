//! Consolidation: which nodes of a cluster to delete or replace, within disruption budgets,
//! and why every other node stays.
//!
//! `karpenter` mode follows Karpenter v1's disruption controller, pass after pass:
//! 1. expiration: a node past its NodePool's `expireAfter` is replaced (forceful: budgets,
//!    `do-not-disrupt` and PDBs do not hold it);
//! 2. emptiness: the empty candidates, as many as the `Empty` budgets allow, are deleted;
//! 3. drift: a node whose labels its NodePool no longer allows is replaced;
//! 4. multi-node: the longest prefix (at least two, at most 100) of the candidates, in
//!    Karpenter's order, whose pods all fit elsewhere with at most one new, cheaper node;
//! 5. single-node: the first candidate whose pods fit elsewhere with at most one new node,
//!    cheaper than it.
//!
//! A NodePool with `consolidationPolicy: Balanced` also scores every consolidation move, as
//! Karpenter v1.14 does (see [`balanced`]): a move whose share of the NodePool's savings is less
//! than half its share of the NodePool's disruption is not made, and the node says why.
//!
//! A candidate is a node of a known NodePool, Ready, not deleting, without
//! `karpenter.sh/do-not-disrupt` on it or its pods, whose pods' PDBs allow their eviction,
//! whose NodePool's consolidationPolicy and consolidateAfter allow it now. Candidates are
//! ordered by price over (1 + disruption cost), most first. Each pass's command is applied to
//! the snapshot (nodes removed, replacements added, pods moved, budgets and PDBs charged), and
//! the next pass starts from there, so every command is valid after the ones before it and
//! all of them together stay within the budgets.
//!
//! `optimize` mode keeps every guard and adds what Karpenter cannot do: a command may replace
//! nodes with several cheaper ones (one big node into two small ones, three into two), the
//! pods are repacked by `optimize` packing, and multi-node looks at every candidate, not 100.
//!
//! Every command was checked by the packer: its pods all fit, every constraint holds.
//!
//! Every node of the snapshot is priced from its instance-type, zone and capacity-type labels,
//! those of NodePools not in the input and those Karpenter does not manage included; only the
//! nodes of the NodePools given are disrupted, and the warnings name the missing NodePools.
//!
//! Documented differences: a node's last pod event is the latest creation time among it and
//! its pods (a snapshot does not record deletions); pending pods are left to provisioning
//! (consolidation moves only the candidates' pods, where Karpenter schedules the pending pods
//! in the same simulation), and the warnings say how many were not considered.

mod balanced;
mod guards;
mod select;

pub(crate) use guards::node_price;

use crate::catalog::Catalog;
use crate::filter::{default_nodepool, FilterContext};
use crate::labels;
use crate::model::{DisruptionReason, Inventory, Node, Pod};
use crate::pack::{repack, Cluster, Outcome};
use crate::plan::{positive_zero, Mode};
use crate::profile::phase;
use crate::requirements::Operator;
use crate::resources::Resources;
use crate::time::Timestamp;
use crate::Result;
use guards::{Budgets, NodeFacts, Pdbs};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// How consolidation decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsolidationMode {
    /// Karpenter v1's methods and rules, pass after pass.
    Karpenter,
    /// Karpenter's passes with cost-aware repacking and N→M replacements.
    #[default]
    Optimize,
    /// Expiration, emptiness and drift as `optimize`; then, of every move found, the set with
    /// the most savings less weighted disruption cost within the budgets, PDBs and free room
    /// (HiGHS with the `milp` feature, greedy otherwise).
    Global,
}

impl ConsolidationMode {
    /// The packing mode that repacks the candidates' pods.
    fn packing(self) -> Mode {
        match self {
            ConsolidationMode::Karpenter => Mode::Karpenter,
            ConsolidationMode::Optimize | ConsolidationMode::Global => Mode::Optimize,
        }
    }
}

impl std::str::FromStr for ConsolidationMode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "karpenter" => Ok(ConsolidationMode::Karpenter),
            "optimize" => Ok(ConsolidationMode::Optimize),
            "global" => Ok(ConsolidationMode::Global),
            other => Err(format!("unknown consolidation mode {other:?}: expected karpenter, optimize or global")),
        }
    }
}

impl std::fmt::Display for ConsolidationMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConsolidationMode::Karpenter => "karpenter",
            ConsolidationMode::Optimize => "optimize",
            ConsolidationMode::Global => "global",
        })
    }
}

/// Options of [`consolidate`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConsolidateOptions {
    /// `karpenter`, `optimize` or `global`.
    pub mode: ConsolidationMode,
    /// The time the decision is made at (consolidateAfter, expireAfter, budget schedules).
    pub now: Timestamp,
    /// Allow replacing spot nodes with spot nodes (Karpenter's `SpotToSpotConsolidation`
    /// feature gate): a single node then needs at least 15 cheaper instance types.
    #[serde(default)]
    pub spot_to_spot: bool,
    /// `global` mode: what one unit of disruption cost (about one evicted pod) is worth, per
    /// hour. A move is worth its savings less this times its disruption cost.
    #[serde(default = "default_disruption_weight")]
    pub disruption_weight: f64,
    /// `optimize` and `global` modes: also work out what Karpenter's rules alone would save
    /// (a second run).
    #[serde(default = "default_compare")]
    pub compare: bool,
}

/// See [`ConsolidateOptions::disruption_weight`]: evicting one ordinary pod is worth 0.001
/// per hour of savings (about 0.73 a month).
pub const DEFAULT_DISRUPTION_WEIGHT: f64 = 0.001;

fn default_disruption_weight() -> f64 {
    DEFAULT_DISRUPTION_WEIGHT
}

fn default_compare() -> bool {
    true
}

impl ConsolidateOptions {
    /// `mode` at `now`, with every other option at its default.
    pub fn new(mode: ConsolidationMode, now: Timestamp) -> Self {
        ConsolidateOptions {
            mode,
            now,
            spot_to_spot: false,
            disruption_weight: DEFAULT_DISRUPTION_WEIGHT,
            compare: true,
        }
    }
}

/// Why a node is disrupted (Karpenter's reasons, plus expiration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Reason {
    Empty,
    Underutilized,
    Drifted,
    Expired,
}

/// The method that found a command, in the order Karpenter tries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    Expiration,
    Emptiness,
    Drift,
    MultiNode,
    SingleNode,
    /// `global` mode's choice among every move found.
    Global,
}

/// What happens to the candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The candidates go; their pods fit on other nodes.
    Delete,
    /// New nodes are launched first, then the candidates go.
    Replace,
}

/// A node a command disrupts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub node: String,
    pub nodepool: String,
    pub instance_type: String,
    pub zone: String,
    pub capacity_type: String,
    pub price_per_hour: f64,
    /// Pods that move (DaemonSet and mirror pods go with the node).
    pub pods: usize,
    pub disruption_cost: f64,
}

/// A node a command launches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replacement {
    /// A name for the plan only.
    pub name: String,
    pub nodepool: String,
    pub instance_type: String,
    /// The NodeClaim's instance-type options, cheapest first (only those cheaper than the
    /// candidates, as Karpenter filters them).
    pub instance_types: Vec<String>,
    pub zone: String,
    pub capacity_type: String,
    pub price_per_hour: f64,
    pub pods: Vec<String>,
    /// What its pods and DaemonSets request: what its NodeClaim asks for
    /// ([`crate::claims::for_replacement`]). Not part of the plan's JSON.
    #[serde(skip)]
    pub requests: Resources,
}

/// A pod that moves, and the node it moves to (an existing node or a replacement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move {
    pub pod: String,
    pub to: String,
}

/// One disruption decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    pub method: Method,
    pub reason: Reason,
    pub action: Action,
    pub candidates: Vec<Candidate>,
    pub replacements: Vec<Replacement>,
    pub moves: Vec<Move>,
    /// The candidates' price less the replacements', per hour.
    pub savings_per_hour: f64,
    /// Karpenter's disruption cost of the candidates (pods' eviction costs, scaled by the
    /// lifetime left).
    pub disruption_cost: f64,
}

/// A managed node no command touches, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptNode {
    pub node: String,
    pub nodepool: String,
    pub reasons: Vec<String>,
}

/// The answer of [`consolidate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsolidationPlan {
    pub mode: ConsolidationMode,
    /// RFC 3339.
    pub now: String,
    pub region: String,
    pub currency: String,
    /// In the order they are to be executed; each is valid after the ones before it.
    pub commands: Vec<Command>,
    /// Every managed node of the snapshot no command touches.
    pub kept: Vec<KeptNode>,
    /// The price per hour of every node of the snapshot that has one, before and after the
    /// commands (nodes no given NodePool manages are priced and kept).
    pub cost_per_hour_before: f64,
    pub cost_per_hour_after: f64,
    pub savings_per_hour: f64,
    /// What Karpenter's rules alone save on the same snapshot (`optimize` and `global` modes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub karpenter_savings_per_hour: Option<f64>,
    pub notes: Vec<String>,
    /// What makes the answer incomplete: NodePools the nodes name that are not in the input,
    /// unpriced nodes, Windows nodes priced at Linux rates, pending pods not considered, a
    /// decision time before the snapshot, pods the input makes that are not counted.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Karpenter's multi-node consolidation looks at this many candidates at most.
const MULTI_NODE_CANDIDATES: usize = 100;
/// Spot-to-spot consolidation of a single node needs this many cheaper instance types, and
/// launches from that many.
const SPOT_TO_SPOT_TYPES: usize = 15;
/// `global` mode packs at most this many moves per pass.
const GLOBAL_TRIALS: usize = 400;
/// A replacement must be cheaper by more than this (per hour).
const EPSILON: f64 = 1e-9;

/// Decides which nodes of a cluster snapshot to delete or replace at `options.now`.
pub fn consolidate(
    inventory: &Inventory,
    catalog: &Catalog,
    options: &ConsolidateOptions,
) -> Result<ConsolidationPlan> {
    consolidate_then(inventory, catalog, options, None).map(|(plan, _)| plan)
}

/// [`consolidate`], and the snapshot as its commands leave it: candidates gone with the pods
/// that stay with them, replacements Ready, moved pods bound to their new nodes. `prepared`:
/// the inventory's NodePools and DaemonSets against the catalog, when the caller has them.
pub(crate) fn consolidate_then(
    inventory: &Inventory,
    catalog: &Catalog,
    options: &ConsolidateOptions,
    prepared: Option<&FilterContext>,
) -> Result<(ConsolidationPlan, Inventory)> {
    if !(options.disruption_weight.is_finite() && options.disruption_weight >= 0.0) {
        return Err(crate::Error::Usage(format!(
            "the disruption weight must be a finite number, not negative: {}",
            options.disruption_weight
        )));
    }
    let built;
    let ctx = match prepared {
        Some(ctx) => ctx,
        None => {
            let pools =
                if inventory.nodepools.is_empty() { vec![default_nodepool()] } else { inventory.nodepools.clone() };
            let daemonsets: Vec<&Pod> = inventory.daemonsets.iter().map(|d| &d.template).collect();
            built = FilterContext::new(&pools, &inventory.nodeclasses, &daemonsets, catalog)?;
            &built
        }
    };
    let (mut plan, state) = Consolidator::new(inventory, ctx, options)?.run();
    let mut notes = inventory.notes.clone();
    notes.extend(catalog.zone_choice().map(|c| c.note.clone()));
    notes.append(&mut plan.notes);
    plan.notes = notes;
    if inventory.nodepools.is_empty() {
        plan.notes.push(crate::filter::default_nodepool_note());
    }
    if options.mode != ConsolidationMode::Karpenter && options.compare {
        let karpenter =
            Consolidator::new(inventory, ctx, &ConsolidateOptions { mode: ConsolidationMode::Karpenter, ..*options })?;
        plan.karpenter_savings_per_hour = Some(positive_zero(karpenter.run().0.savings_per_hour));
    }
    let unmanaged = snapshot_warnings(inventory, ctx, catalog, options.now, &mut plan);
    plan.cost_per_hour_before = positive_zero(plan.cost_per_hour_before + unmanaged);
    plan.cost_per_hour_after = positive_zero(plan.cost_per_hour_after + unmanaged);
    plan.savings_per_hour = positive_zero(plan.savings_per_hour);
    Ok((plan, state.into_owned()))
}

/// Prices the nodes no given NodePool manages (returning their price per hour), and warns
/// about what makes the answer incomplete: their missing NodePools, nodes without a price,
/// Windows nodes priced at Linux rates, pending pods consolidation does not consider, a
/// decision time before the snapshot's timestamps, and pods the input does not count.
fn snapshot_warnings(
    inventory: &Inventory,
    ctx: &FilterContext,
    catalog: &Catalog,
    now: Timestamp,
    plan: &mut ConsolidationPlan,
) -> f64 {
    let mut warnings = inventory.warnings();
    let types = catalog.instance_types_shared(&Default::default());
    let known: BTreeSet<&str> = ctx.pools.iter().map(|p| p.nodepool.name.as_str()).collect();
    let mut missing: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut unmanaged_cost, mut unmanaged, mut unpriced, mut windows) = (0.0, 0usize, Vec::new(), Vec::new());
    for node in &inventory.nodes {
        let price = node_price(node, &types);
        match price {
            None => unpriced.push(node.name.as_str()),
            Some(_) if node.labels.get(labels::OS).is_some_and(|os| os == "windows") => windows.push(node.name.clone()),
            Some(_) => {}
        }
        match node.nodepool() {
            Some(pool) if known.contains(pool) => continue,
            Some(pool) => *missing.entry(pool).or_default() += 1,
            None => unmanaged += 1,
        }
        unmanaged_cost += price.unwrap_or(0.0);
    }
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(|(pool, n)| format!("{pool} ({n} nodes)")).collect();
        warnings.push(format!(
            "NodePools not in the input: {}; their nodes are priced from their labels and kept, not consolidated: \
             give these NodePools to consolidate them",
            list.join(", ")
        ));
    }
    if unmanaged > 0 {
        plan.notes.push(format!(
            "{unmanaged} nodes have no karpenter.sh/nodepool label: priced, and kept (Karpenter does not manage them)"
        ));
    }
    if let Some((first, rest)) = unpriced.split_first() {
        let more = if rest.is_empty() { String::new() } else { format!(" and {} more", rest.len()) };
        warnings.push(format!(
            "{} nodes have no price ({first}{more}): no instance-type label, or a type, zone or capacity type the \
             catalog does not price; the cluster costs more than shown",
            unpriced.len()
        ));
    }
    if catalog.prices_windows_as_linux() {
        warnings.extend(crate::catalog::linux_priced_warning(&windows));
    }
    let pending = inventory.pending_pods().count();
    if pending > 0 {
        warnings.push(format!(
            "{pending} pending pods were not considered: consolidation moves only the disrupted nodes' pods and may \
             remove room a pending pod needs; plan them onto this cluster first"
        ));
    }
    let latest = inventory
        .nodes
        .iter()
        .filter_map(|n| n.created.map(|t| (t, format!("Node {}", n.name))))
        .chain(inventory.pods.iter().filter_map(|p| p.created.map(|t| (t, format!("Pod {}", p.key())))))
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)));
    if let Some((at, what)) = latest.filter(|(at, _)| *at > now) {
        warnings.push(format!(
            "the decision time {now} is before the snapshot ({what} was created at {at}): nodes look younger than \
             they are to consolidateAfter and expireAfter"
        ));
    }
    plan.warnings = warnings;
    unmanaged_cost
}

/// What a run of [`consolidate`] at `options.now` depends on besides the cluster itself: the
/// expired nodes, each reason's candidates in Karpenter's order (the guards and consolidateAfter
/// decide who is one; disruption costs, which shrink with a node's lifetime left, the order),
/// and the budgets left. On an unchanged cluster, equal keys give the same commands, so a
/// caller may skip a run that would repeat an empty one. `None` in `global` mode, whose choice
/// weighs the disruption costs themselves.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DecisionKey {
    expired: Vec<usize>,
    candidates: Vec<Vec<usize>>,
    budgets: Budgets,
}

/// See [`DecisionKey`].
pub(crate) fn decision_key(
    inventory: &Inventory,
    ctx: &FilterContext,
    options: &ConsolidateOptions,
) -> Result<Option<DecisionKey>> {
    if options.mode == ConsolidationMode::Global {
        return Ok(None);
    }
    let c = Consolidator::new(inventory, ctx, options)?;
    let facts = c.snapshot_facts.as_deref().expect("a new run has its snapshot's facts");
    let expired = c.managed(facts).filter(|(_, f, _)| f.expired).map(|(n, ..)| n).collect();
    let candidates = [DisruptionReason::Empty, DisruptionReason::Drifted, DisruptionReason::Underutilized]
        .into_iter()
        .map(|reason| c.candidates(facts, reason))
        .collect();
    Ok(Some(DecisionKey { expired, candidates, budgets: c.budgets }))
}

/// The state of one consolidation run: the snapshot as the commands so far leave it (the
/// caller's until the first command).
struct Consolidator<'c> {
    ctx: &'c FilterContext,
    options: ConsolidateOptions,
    state: Cow<'c, Inventory>,
    pdbs: Pdbs,
    budgets: Budgets,
    /// Nodes the commands launched.
    fresh: BTreeSet<String>,
    commands: Vec<Command>,
    /// The managed nodes' price before any command.
    cost_before: f64,
    /// The nodes' facts before any command, until the first pass takes them.
    snapshot_facts: Option<Vec<NodeFacts>>,
    notes: Vec<String>,
}

/// A command before it is applied: the candidates (indices into the state's nodes), the
/// packing of their pods, and the replacements' options kept.
struct Decision {
    candidates: Vec<usize>,
    outcome: Option<Outcome>,
    /// Per replacement: how many of its options to keep.
    keep_options: Vec<usize>,
}

impl<'c> Consolidator<'c> {
    fn new(inventory: &'c Inventory, ctx: &'c FilterContext, options: &ConsolidateOptions) -> Result<Self> {
        let pdbs = Pdbs::new(inventory);
        let budgets = Budgets::new(inventory, ctx, options.now)?;
        let facts = guards::facts(inventory, ctx, &pdbs, options.now, &BTreeSet::new());
        let cost_before = facts.iter().filter(|f| f.pool.is_some()).filter_map(|f| f.price).sum();
        let mut notes = Vec::new();
        let undated = inventory.nodes.iter().filter(|n| n.nodepool().is_some() && n.created.is_none()).count();
        if undated > 0 {
            notes.push(format!(
                "{undated} managed nodes have no creationTimestamp: consolidateAfter and expireAfter take them as old enough"
            ));
        }
        Ok(Consolidator {
            ctx,
            options: *options,
            state: Cow::Borrowed(inventory),
            pdbs,
            budgets,
            fresh: BTreeSet::new(),
            commands: Vec::new(),
            cost_before,
            snapshot_facts: Some(facts),
            notes,
        })
    }

    /// Runs the passes; the plan, and the snapshot as its commands leave it.
    fn run(mut self) -> (ConsolidationPlan, Cow<'c, Inventory>) {
        let kept = loop {
            let facts = match self.snapshot_facts.take() {
                Some(facts) => facts,
                None => {
                    phase("facts", || guards::facts(&self.state, self.ctx, &self.pdbs, self.options.now, &self.fresh))
                }
            };
            let found = {
                let mut cluster = phase("cluster view", || Cluster::new(&self.state));
                let forced = self
                    .expiration(&facts, &mut cluster)
                    .or_else(|| self.emptiness(&facts))
                    .or_else(|| self.drift(&facts, &mut cluster));
                match forced {
                    Some(found) => Some(Ok(found)),
                    None if self.options.mode == ConsolidationMode::Global => None,
                    None => Some(match phase("multi-node", || self.multi_node(&facts, &mut cluster)) {
                        Some(found) => Ok(found),
                        None => phase("single-node", || self.single_node(&facts, &mut cluster)),
                    }),
                }
            };
            let found = match found {
                Some(found) => found,
                None => match self.global(&facts) {
                    Ok(()) => continue,
                    Err(kept) => break kept,
                },
            };
            match found {
                Ok((method, reason, decision)) => self.apply(method, reason, decision, &facts),
                Err(kept) => break kept,
            }
        };
        let facts = guards::facts(&self.state, self.ctx, &self.pdbs, self.options.now, &self.fresh);
        let cost_after: f64 = facts.iter().filter(|f| f.pool.is_some()).filter_map(|f| f.price).sum();
        let plan = ConsolidationPlan {
            mode: self.options.mode,
            now: self.options.now.to_string(),
            region: self.ctx.region.clone(),
            currency: self.ctx.currency.clone(),
            commands: self.commands,
            kept,
            cost_per_hour_before: self.cost_before,
            cost_per_hour_after: cost_after,
            savings_per_hour: self.cost_before - cost_after,
            karpenter_savings_per_hour: None,
            notes: self.notes,
            warnings: Vec::new(),
        };
        (plan, self.state)
    }

    fn node(&self, n: usize) -> &Node {
        &self.state.nodes[n]
    }

    /// Managed snapshot nodes (not launched by this plan), by index.
    fn managed<'f>(&self, facts: &'f [NodeFacts]) -> impl Iterator<Item = (usize, &'f NodeFacts, usize)> + 'f {
        facts.iter().enumerate().filter(|(_, f)| !f.fresh).filter_map(|(n, f)| f.pool.map(|pool| (n, f, pool)))
    }

    /// Nodes past their NodePool's expireAfter: replaced one at a time, whatever it costs.
    fn expiration(&self, facts: &[NodeFacts], cluster: &mut Cluster<'_>) -> Option<(Method, Reason, Decision)> {
        self.managed(facts)
            .filter(|(_, f, _)| f.expired && f.price.is_some())
            .find_map(|(n, ..)| self.evaluate(&[n], facts, Reason::Expired, cluster).ok())
            .map(|d| (Method::Expiration, Reason::Expired, d))
    }

    /// Why a voluntary method may not take node `n` for `reason`, if anything forbids it.
    fn keeps(&self, n: usize, facts: &NodeFacts, pool: usize, reason: DisruptionReason) -> Option<String> {
        if let Some(why) = &facts.blocked {
            return Some(why.clone());
        }
        if let Some(why) = guards::policy_keeps(facts, &self.ctx.pools[pool].nodepool, reason, self.options.now) {
            return Some(why);
        }
        (self.budgets.allowed(pool, reason) <= 0).then(|| {
            format!(
                "NodePool {}'s disruption budget allows no more {reason:?} disruptions now (node {})",
                self.ctx.pools[pool].nodepool.name,
                self.node(n).name
            )
        })
    }

    /// The candidates for `reason`, in Karpenter's order: price over (1 + disruption cost),
    /// highest first, then by name.
    fn candidates(&self, facts: &[NodeFacts], reason: DisruptionReason) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .managed(facts)
            .filter(|(n, f, pool)| self.keeps(*n, f, *pool, reason).is_none())
            .map(|(n, ..)| n)
            .collect();
        let key = |n: usize| facts[n].price.unwrap_or(0.0) / (1.0 + facts[n].disruption_cost.max(0.0));
        out.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then_with(|| self.node(a).name.cmp(&self.node(b).name)));
        out
    }

    /// Keeps candidates, in order, while their NodePools' budgets for `reason` allow.
    fn within_budgets(&self, candidates: &[usize], facts: &[NodeFacts], reason: DisruptionReason) -> Vec<usize> {
        let mut taken: BTreeMap<usize, i64> = BTreeMap::new();
        candidates
            .iter()
            .copied()
            .filter(|&n| {
                let pool = facts[n].pool.expect("candidates are managed");
                let count = taken.entry(pool).or_insert(0);
                let ok = *count < self.budgets.allowed(pool, reason);
                if ok {
                    *count += 1;
                }
                ok
            })
            .collect()
    }

    /// Every empty candidate the `Empty` budgets allow, deleted at once.
    fn emptiness(&self, facts: &[NodeFacts]) -> Option<(Method, Reason, Decision)> {
        let empty: Vec<usize> = self
            .candidates(facts, DisruptionReason::Empty)
            .into_iter()
            .filter(|&n| facts[n].movable.is_empty())
            .collect();
        let candidates = self.within_budgets(&empty, facts, DisruptionReason::Empty);
        (!candidates.is_empty()).then(|| {
            (Method::Emptiness, Reason::Empty, Decision { candidates, outcome: None, keep_options: Vec::new() })
        })
    }

    /// The first drifted candidate whose pods can move, replaced whatever it costs.
    fn drift(&self, facts: &[NodeFacts], cluster: &mut Cluster<'_>) -> Option<(Method, Reason, Decision)> {
        let drifted: Vec<usize> = self
            .candidates(facts, DisruptionReason::Drifted)
            .into_iter()
            .filter(|&n| facts[n].drift.is_some())
            .collect();
        drifted
            .into_iter()
            .find_map(|n| self.evaluate(&[n], facts, Reason::Drifted, cluster).ok())
            .map(|d| (Method::Drift, Reason::Drifted, d))
    }

    /// The longest prefix (two nodes or more) of the candidates that consolidates, by binary
    /// search over its length, as Karpenter does.
    fn multi_node(&self, facts: &[NodeFacts], cluster: &mut Cluster<'_>) -> Option<(Method, Reason, Decision)> {
        let reason = DisruptionReason::Underutilized;
        let mut candidates = self.within_budgets(&self.candidates(facts, reason), facts, reason);
        if self.options.mode == ConsolidationMode::Karpenter {
            candidates.truncate(MULTI_NODE_CANDIDATES);
        }
        let (mut lo, mut hi) = (2, candidates.len());
        // Beyond Karpenter: all of them first, which an over-provisioned cluster often allows
        // (one packing instead of a search's dozen).
        if self.options.mode != ConsolidationMode::Karpenter && hi >= lo {
            if let Ok(d) = self.evaluate(&candidates, facts, Reason::Underutilized, cluster) {
                return Some((Method::MultiNode, Reason::Underutilized, d));
            }
            hi -= 1;
        }
        let mut best = None;
        while lo <= hi {
            let mid = (lo + hi) / 2;
            match self.evaluate(&candidates[..mid], facts, Reason::Underutilized, cluster) {
                Ok(d) => {
                    best = Some(d);
                    lo = mid + 1;
                }
                Err(_) => hi = mid - 1,
            }
        }
        best.map(|d| (Method::MultiNode, Reason::Underutilized, d))
    }

    /// The first candidate that consolidates on its own; when none does, why each managed node
    /// stays.
    fn single_node(
        &self,
        facts: &[NodeFacts],
        cluster: &mut Cluster<'_>,
    ) -> std::result::Result<(Method, Reason, Decision), Vec<KeptNode>> {
        let reason = DisruptionReason::Underutilized;
        let mut why = self.kept_by_guards(facts, reason);
        let (free, total_free) = self.free_room();
        for n in self.candidates(facts, reason) {
            if let Some(e) = self.cannot_save(n, facts, &free, &total_free) {
                why.insert(n, e);
                continue;
            }
            match self.evaluate(&[n], facts, Reason::Underutilized, cluster) {
                Ok(d) => return Ok((Method::SingleNode, Reason::Underutilized, d)),
                Err(e) => {
                    why.insert(n, e);
                }
            }
        }
        Err(self.kept(facts, why))
    }

    /// Why the guards keep managed nodes from `reason`, by node.
    fn kept_by_guards(&self, facts: &[NodeFacts], reason: DisruptionReason) -> BTreeMap<usize, String> {
        self.managed(facts).filter_map(|(n, f, pool)| Some((n, self.keeps(n, f, pool, reason)?))).collect()
    }

    /// Every managed node of the snapshot with why it stays (`why`, by node), by name; nodes
    /// of NodePools not in the input too.
    fn kept(&self, facts: &[NodeFacts], mut why: BTreeMap<usize, String>) -> Vec<KeptNode> {
        let mut kept: Vec<KeptNode> = self
            .managed(facts)
            .map(|(n, _, pool)| KeptNode {
                node: self.node(n).name.clone(),
                nodepool: self.ctx.pools[pool].nodepool.name.clone(),
                reasons: why.remove(&n).into_iter().collect(),
            })
            .collect();
        for (n, _) in facts.iter().enumerate().filter(|(_, f)| f.pool.is_none() && !f.fresh) {
            let node = self.node(n);
            if let Some(pool) = node.nodepool() {
                kept.push(KeptNode {
                    node: node.name.clone(),
                    nodepool: pool.to_string(),
                    reasons: vec![format!("its NodePool {pool} is not in the input")],
                });
            }
        }
        kept.sort_by(|a, b| a.node.cmp(&b.node));
        kept
    }

    /// `global` mode's pass over the underutilized candidates. Moves are found by packing
    /// every candidate alone and, per NodePool, its least-used candidates in growing groups
    /// (2, 3, 4, 6, 9, … nodes, within the budget), at most [`GLOBAL_TRIALS`] packings, and
    /// by multi-node consolidation's search over the candidates in Karpenter's order. Of
    /// those, the set worth the most — savings less [`ConsolidateOptions::disruption_weight`]
    /// times disruption cost — that keeps every node in one move, every NodePool's budget,
    /// every PDB, and the free room of every node the moves fill (which no chosen move may
    /// remove) is chosen, and applied move after move, each checked again by the packer.
    /// `Err`: nothing was applied, and why each managed node stays.
    fn global(&mut self, facts: &[NodeFacts]) -> std::result::Result<(), Vec<KeptNode>> {
        let reason = DisruptionReason::Underutilized;
        let mut why = self.kept_by_guards(facts, reason);
        let candidates = self.candidates(facts, reason);
        let (free, total_free) = self.free_room();
        let mut cluster = Cluster::new(&self.state);
        let mut found: Vec<Decision> = Vec::new();
        let mut trials = 0;
        for &n in &candidates {
            if let Some(e) = self.cannot_save(n, facts, &free, &total_free) {
                why.insert(n, e);
            } else if trials == GLOBAL_TRIALS {
                why.insert(n, format!("not packed: global mode packs at most {GLOBAL_TRIALS} moves per pass"));
            } else {
                trials += 1;
                match self.evaluate(&[n], facts, Reason::Underutilized, &mut cluster) {
                    Ok(d) => found.push(d),
                    Err(e) => {
                        why.insert(n, e);
                    }
                }
            }
        }
        let mut by_pool: BTreeMap<usize, Vec<(f64, usize)>> = BTreeMap::new();
        for &n in &candidates {
            by_pool
                .entry(facts[n].pool.expect("candidates are managed"))
                .or_default()
                .push((self.utilization(n, facts), n));
        }
        for (pool, mut nodes) in by_pool {
            nodes.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let nodes: Vec<usize> = nodes.into_iter().map(|(_, n)| n).collect();
            let most = usize::try_from(self.budgets.allowed(pool, reason)).unwrap_or(usize::MAX).min(nodes.len());
            let mut k = 2;
            while k <= most && trials < GLOBAL_TRIALS {
                trials += 1;
                if let Ok(d) = self.evaluate(&nodes[..k], facts, Reason::Underutilized, &mut cluster) {
                    found.push(d);
                }
                k = (k * 3 / 2).max(k + 1);
            }
        }
        // And the longest prefix of the candidates in Karpenter's order that consolidates.
        if let Some((.., d)) = self.multi_node(facts, &mut cluster) {
            trials += 1;
            found.push(d);
        }
        let weight = self.options.disruption_weight;
        let worth: Vec<(f64, f64)> =
            found.iter().map(|d| (self.savings(d, facts), self.disruption(d, facts))).collect();
        let choices = self.choices(&found, facts, &free, |k| worth[k].0 - weight * worth[k].1);
        let selection = select::select(&choices.0, &choices.1);
        for (d, &(saves, cost)) in found.iter().zip(&worth) {
            if saves - weight * cost <= 0.0 && d.candidates.len() == 1 {
                why.insert(
                    d.candidates[0],
                    format!("it would save {saves:.4}/h, not more than its disruption cost {cost:.2} × {weight}/h"),
                );
            }
        }
        let chosen: Vec<Vec<String>> = selection
            .chosen
            .iter()
            .map(|&k| found[k].candidates.iter().map(|&n| self.node(n).name.clone()).collect())
            .collect();
        let value: f64 = selection.chosen.iter().map(|&k| choices.0[k].value).sum();
        let mut applied = 0;
        for names in &chosen {
            let facts = guards::facts(&self.state, self.ctx, &self.pdbs, self.options.now, &self.fresh);
            let nodes: Vec<usize> =
                names.iter().filter_map(|name| self.state.nodes.iter().position(|n| &n.name == name)).collect();
            let allowed = nodes.len() == names.len()
                && self.within_budgets(&nodes, &facts, reason).len() == nodes.len()
                && nodes
                    .iter()
                    .all(|&n| facts[n].pool.is_some_and(|pool| self.keeps(n, &facts[n], pool, reason).is_none()));
            if !allowed {
                continue;
            }
            let outcome = self.evaluate(&nodes, &facts, Reason::Underutilized, &mut Cluster::new(&self.state));
            match outcome {
                Ok(d) if self.savings(&d, &facts) - weight * self.disruption(&d, &facts) > 0.0 => {
                    self.apply(Method::Global, Reason::Underutilized, d, &facts);
                    applied += 1;
                }
                Ok(_) => {}
                Err(e) => {
                    if let [n] = nodes[..] {
                        why.insert(n, e);
                    }
                }
            }
        }
        if chosen.is_empty() && !found.is_empty() {
            self.notes.push(format!(
                "global: {} moves found in {trials} packings; none saves more than its disruption cost is worth",
                found.len()
            ));
        } else if !found.is_empty() {
            self.notes.push(format!(
                "global: {} moves found in {trials} packings; {} chosen ({}, worth {value:.4}/h), {applied} applied",
                found.len(),
                chosen.len(),
                selection.method,
            ));
        }
        if applied > 0 {
            Ok(())
        } else {
            Err(self.kept(facts, why))
        }
    }

    /// How full node `n` is: the larger of its movable pods' CPU and memory requests over its
    /// allocatable.
    fn utilization(&self, n: usize, facts: &[NodeFacts]) -> f64 {
        let node = self.node(n);
        let used = facts[n].movable.iter().fold(Resources::default(), |acc, &p| acc.add(&self.state.pods[p].requests));
        let share = |used: i64, total: i64| if total > 0 { used as f64 / total as f64 } else { 0.0 };
        share(used.cpu.0, node.allocatable.cpu.0).max(share(used.memory.0, node.allocatable.memory.0))
    }

    /// What a decision saves per hour: its candidates' price less its new nodes'.
    fn savings(&self, d: &Decision, facts: &[NodeFacts]) -> f64 {
        let price: f64 = d.candidates.iter().filter_map(|&n| facts[n].price).sum();
        price - d.outcome.as_ref().map_or(0.0, |o| o.cost)
    }

    /// A decision's disruption cost: its candidates'.
    fn disruption(&self, d: &Decision, facts: &[NodeFacts]) -> f64 {
        d.candidates.iter().map(|&n| facts[n].disruption_cost).sum()
    }

    /// The decisions as choices for [`select::select`] (worth `value(k)` each), with the rows'
    /// capacities: one node per move; each NodePool's budget; each PDB's evictions; each
    /// filled node's free room per resource, and a row that lets no move remove a node
    /// another move fills.
    fn choices(
        &self,
        found: &[Decision],
        facts: &[NodeFacts],
        free: &[Resources],
        value: impl Fn(usize) -> f64,
    ) -> (Vec<select::Choice>, Vec<f64>) {
        #[derive(PartialEq, Eq, PartialOrd, Ord)]
        enum Row {
            Node(usize),
            Budget(usize),
            Pdb(usize),
            Room(usize, String),
            Removal(usize),
        }
        let index: std::collections::HashMap<&str, usize> =
            self.state.nodes.iter().enumerate().map(|(i, n)| (n.name.as_str(), i)).collect();
        let mut rows: BTreeMap<Row, (usize, f64)> = BTreeMap::new();
        let mut row = |key: Row, capacity: f64| {
            let next = rows.len();
            rows.entry(key).or_insert((next, capacity)).0
        };
        let mut fills: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        let mut removes: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        let mut choices = Vec::with_capacity(found.len());
        for (k, d) in found.iter().enumerate() {
            let mut uses = Vec::new();
            for &n in &d.candidates {
                uses.push((row(Row::Node(n), 1.0), 1.0));
                removes.entry(n).or_default().push(k);
                let pool = facts[n].pool.expect("candidates are managed");
                let allowed = self.budgets.allowed(pool, DisruptionReason::Underutilized);
                if allowed != i64::MAX {
                    uses.push((row(Row::Budget(pool), allowed as f64), 1.0));
                }
            }
            let moving: Vec<usize> = d.candidates.iter().flat_map(|&n| facts[n].movable.iter().copied()).collect();
            for (pdb, evicted, allowed) in self.pdbs.usage(&self.state, &moving) {
                uses.push((row(Row::Pdb(pdb), allowed as f64), evicted as f64));
            }
            if let Some(outcome) = &d.outcome {
                let pods: std::collections::HashMap<String, usize> =
                    moving.iter().map(|&p| (self.state.pods[p].key(), p)).collect();
                let mut filled: BTreeMap<usize, Resources> = BTreeMap::new();
                for e in &outcome.existing {
                    if let (Some(&node), Some(&pod)) = (index.get(e.node.as_str()), pods.get(&e.pod)) {
                        filled.entry(node).or_default().add_assign(&self.state.pods[pod].requests);
                    }
                }
                for (node, used) in filled {
                    fills.entry(node).or_default().push(k);
                    for (resource, amount) in used.iter() {
                        let capacity = free[node].get(resource) as f64;
                        uses.push((row(Row::Room(node, resource.to_string()), capacity), amount as f64));
                    }
                }
            }
            choices.push(select::Choice { value: value(k), uses });
        }
        for (node, fillers) in fills {
            if let Some(removers) = removes.get(&node) {
                let m = fillers.len() as f64;
                let r = row(Row::Removal(node), m);
                for &k in &fillers {
                    choices[k].uses.push((r, 1.0));
                }
                for &k in removers {
                    choices[k].uses.push((r, m));
                }
            }
        }
        let mut capacity = vec![0.0; rows.len()];
        for (i, c) in rows.into_values() {
            capacity[i] = c;
        }
        (choices, capacity)
    }

    /// Per node of the snapshot, the room pods could still use on it (Ready, schedulable, not
    /// deleting: allocatable less its pods' requests, never below zero), and their sum.
    fn free_room(&self) -> (Vec<Resources>, Resources) {
        let index: std::collections::HashMap<&str, usize> =
            self.state.nodes.iter().enumerate().map(|(i, n)| (n.name.as_str(), i)).collect();
        let mut used = vec![Resources::default(); self.state.nodes.len()];
        for pod in &self.state.pods {
            if matches!(pod.phase, crate::model::PodPhase::Succeeded | crate::model::PodPhase::Failed) {
                continue;
            }
            if let Some(&i) = pod.node_name.as_deref().and_then(|n| index.get(n)) {
                used[i].add_assign(&pod.requests);
            }
        }
        let zero = Resources::default();
        let free: Vec<Resources> = self
            .state
            .nodes
            .iter()
            .zip(&used)
            .map(|(n, u)| {
                if n.ready && !n.unschedulable && !n.deleting {
                    n.allocatable.sub(u).max(&zero)
                } else {
                    zero.clone()
                }
            })
            .collect();
        let total = free.iter().fold(Resources::default(), |acc, f| acc.add(f));
        (free, total)
    }

    /// Why node `n` cannot be consolidated on its own, when a quick count shows it without
    /// packing: its pods need more than the free room of every other node together, and even
    /// the cheapest nodes (of any NodePool, constraints aside) that hold the rest cost as much
    /// as it does. `None` when the packer must decide.
    fn cannot_save(&self, n: usize, facts: &[NodeFacts], free: &[Resources], total_free: &Resources) -> Option<String> {
        let price = facts[n].price?;
        let demand =
            facts[n].movable.iter().fold(Resources::default(), |acc, &p| acc.add(&self.state.pods[p].requests));
        let residual = demand.sub(&total_free.sub(&free[n])).max(&Resources::default());
        if residual.is_zero() {
            return None;
        }
        let types = self.ctx.pools.iter().flat_map(|pool| {
            (0..pool.instance_types.len())
                .filter(move |&t| pool.allows(t))
                .map(move |t| (&pool.type_space[t], pool.type_offerings[t].1))
        });
        let least = if self.options.mode == ConsolidationMode::Karpenter {
            // One new node at most: the cheapest that holds the rest.
            types.filter(|(space, _)| residual.fits(space)).map(|(_, p)| p).reduce(f64::min)
        } else {
            // Any number of new nodes: each resource at the lowest price per unit.
            let types: Vec<(&Resources, f64)> = types.collect();
            residual
                .iter()
                .map(|(name, amount)| {
                    let per_unit = types
                        .iter()
                        .filter(|(space, _)| space.get(name) > 0)
                        .map(|(space, p)| p / space.get(name) as f64)
                        .reduce(f64::min);
                    per_unit.map(|u| u * amount as f64)
                })
                .try_fold(0.0f64, |acc, cost| cost.map(|c| acc.max(c)))
        };
        match least {
            None => Some(format!(
                "its pods need {residual} beyond the free room of the other nodes, and no instance type holds that"
            )),
            Some(cost) if cost >= price - EPSILON => Some(format!(
                "its pods need {residual} beyond the free room of the other nodes; new nodes for that cost at least {cost:.4}/h, not less than its {price:.4}/h"
            )),
            Some(_) => None,
        }
    }

    /// Whether removing `candidates` works for `reason`: their pods all fit on the other nodes
    /// and on new ones, the PDBs allow the evictions, and (for consolidation) the new nodes
    /// cost less than the candidates — one new node at most in `karpenter` mode, and spot is
    /// replaced by spot only as the options allow. Otherwise, why not.
    fn evaluate(
        &self,
        candidates: &[usize],
        facts: &[NodeFacts],
        reason: Reason,
        cluster: &mut Cluster<'_>,
    ) -> std::result::Result<Decision, String> {
        let moving_idx: Vec<usize> = candidates.iter().flat_map(|&n| facts[n].movable.iter().copied()).collect();
        if reason != Reason::Expired {
            if let Some((pdb, pod)) = self.pdbs.blocking(&self.state, &moving_idx) {
                return Err(format!(
                    "PodDisruptionBudget {}/{} does not allow evicting pod {} too",
                    pdb.namespace,
                    pdb.name,
                    pod.key()
                ));
            }
        }
        if moving_idx.is_empty() {
            return Ok(Decision { candidates: candidates.to_vec(), outcome: None, keep_options: Vec::new() });
        }
        cluster.set_removed(candidates);
        let outcome = repack(self.ctx, cluster, &moving_idx, self.options.mode.packing());
        if let Some(u) = outcome.unschedulable.first() {
            return Err(format!("pod {} would have nowhere to go: {}", u.pod, u.reasons.join("; ")));
        }
        let total: f64 = candidates.iter().filter_map(|&n| facts[n].price).sum();
        let mut keep_options: Vec<usize> = outcome.nodes.iter().map(|n| n.instance_types.len()).collect();
        if matches!(reason, Reason::Underutilized | Reason::Empty) && !outcome.nodes.is_empty() {
            let new = outcome.nodes.len();
            if self.options.mode == ConsolidationMode::Karpenter && new > 1 {
                return Err(format!("can't remove without creating {new} nodes (Karpenter replaces with one at most)"));
            }
            if outcome.cost >= total - EPSILON {
                return Err(format!(
                    "its replacement{} would cost {:.4}/h, not less than the {:.4}/h it saves",
                    if new > 1 { "s" } else { "" },
                    outcome.cost,
                    total
                ));
            }
            let all_spot = candidates.iter().all(|&n| self.node(n).capacity_type() == Some("spot"));
            let spot_replacement = outcome.nodes.iter().any(|n| n.capacity_type == "spot");
            if all_spot && spot_replacement && !self.options.spot_to_spot {
                return Err("replacing spot with spot needs spot-to-spot consolidation, which is off".into());
            }
            // As Karpenter: only options cheaper than what the candidates cost.
            let budget = if new == 1 { total } else { f64::INFINITY };
            for (k, prices) in outcome.option_prices.iter().enumerate() {
                keep_options[k] = prices.iter().take_while(|p| **p < budget - EPSILON).count().max(1);
            }
            if all_spot && spot_replacement && candidates.len() == 1 {
                let cheaper = keep_options[0];
                if cheaper < SPOT_TO_SPOT_TYPES {
                    return Err(format!(
                        "spot-to-spot consolidation needs {SPOT_TO_SPOT_TYPES} cheaper instance types, {cheaper} are"
                    ));
                }
                keep_options[0] = SPOT_TO_SPOT_TYPES;
            }
        }
        if reason == Reason::Underutilized {
            if let Some(why) = balanced::refuses(self.ctx, facts, &self.state.pods, candidates, total - outcome.cost) {
                return Err(why);
            }
        }
        Ok(Decision { candidates: candidates.to_vec(), outcome: Some(outcome), keep_options })
    }

    /// Records a command and applies it to the snapshot: PDBs and budgets charged, pods moved,
    /// replacements added, candidates removed.
    fn apply(&mut self, method: Method, reason: Reason, decision: Decision, facts: &[NodeFacts]) {
        let Decision { candidates, outcome, keep_options } = decision;
        let moving_idx: Vec<usize> = candidates.iter().flat_map(|&n| facts[n].movable.iter().copied()).collect();
        self.pdbs.evict(&self.state, &moving_idx);
        for &n in &candidates {
            self.budgets.take(facts[n].pool.expect("candidates are managed"), 1);
        }
        let command_candidates: Vec<Candidate> = candidates
            .iter()
            .map(|&n| {
                let node = self.node(n);
                Candidate {
                    node: node.name.clone(),
                    nodepool: node.nodepool().unwrap_or_default().to_string(),
                    instance_type: node.instance_type().unwrap_or_default().to_string(),
                    zone: node.zone().unwrap_or_default().to_string(),
                    capacity_type: node.capacity_type().unwrap_or("on-demand").to_string(),
                    price_per_hour: facts[n].price.unwrap_or(0.0),
                    pods: facts[n].movable.len(),
                    disruption_cost: facts[n].disruption_cost,
                }
            })
            .collect();
        let mut replacements = Vec::new();
        let mut moves = Vec::new();
        let mut new_nodes = Vec::new();
        if let Some(outcome) = outcome {
            for (planned, keep) in outcome.nodes.into_iter().zip(keep_options) {
                let name = (self.fresh.len() + replacements.len() + 1..)
                    .map(|k| format!("{}-replacement-{k}", planned.nodepool))
                    .find(|name| {
                        !self.state.nodes.iter().any(|n| &n.name == name)
                            && !replacements.iter().any(|r: &Replacement| &r.name == name)
                    })
                    .expect("an unused name");
                new_nodes.push(launched_node(self.ctx, &name, &planned, self.options.now));
                moves.extend(planned.pods.iter().map(|p| Move { pod: p.clone(), to: name.clone() }));
                replacements.push(Replacement {
                    name,
                    nodepool: planned.nodepool,
                    instance_type: planned.instance_type,
                    instance_types: planned.instance_types.into_iter().take(keep).collect(),
                    zone: planned.zone,
                    capacity_type: planned.capacity_type,
                    price_per_hour: planned.price_per_hour,
                    pods: planned.pods,
                    requests: planned.requests,
                });
            }
            moves.extend(outcome.existing.into_iter().map(|e| Move { pod: e.pod, to: e.node }));
        }
        moves.sort_by(|a, b| a.pod.cmp(&b.pod));
        // Pods move to their new nodes.
        let destination: BTreeMap<&str, &str> = moves.iter().map(|m| (m.pod.as_str(), m.to.as_str())).collect();
        let gone: BTreeSet<String> = candidates.iter().map(|&n| self.node(n).name.clone()).collect();
        let state = self.state.to_mut();
        for &p in &moving_idx {
            let pod = &mut state.pods[p];
            pod.node_name = destination.get(pod.key().as_str()).map(|to| to.to_string());
        }
        // What stays on the removed nodes (DaemonSet and mirror pods) goes with them.
        state.pods.retain(|pod| !pod.node_name.as_ref().is_some_and(|n| gone.contains(n)));
        state.nodes.retain(|n| !gone.contains(&n.name));
        for node in new_nodes {
            self.fresh.insert(node.name.clone());
            state.nodes.push(node);
        }
        let price: f64 = command_candidates.iter().map(|c| c.price_per_hour).sum();
        let new_price: f64 = replacements.iter().map(|r| r.price_per_hour).sum();
        self.commands.push(Command {
            method,
            reason,
            action: if replacements.is_empty() { Action::Delete } else { Action::Replace },
            disruption_cost: command_candidates.iter().map(|c| c.disruption_cost).sum(),
            candidates: command_candidates,
            replacements,
            moves,
            savings_per_hour: price - new_price,
        });
    }
}

/// The Node a replacement becomes once launched: its type's capacity and labels, its
/// NodePool's labels and taints, Ready now.
pub(crate) fn launched_node(
    ctx: &FilterContext,
    name: &str,
    planned: &crate::plan::PlannedNode,
    now: Timestamp,
) -> Node {
    let pool = ctx.pools.iter().find(|p| p.nodepool.name == planned.nodepool).expect("the plan's own pool");
    let it = pool.instance_types.iter().find(|t| t.name == planned.instance_type);
    let mut labels = pool.nodepool.labels.clone();
    if let Some(it) = it {
        for r in it.requirements.iter() {
            let mut values = r.values();
            if let (Operator::In, Some(v), None) = (r.operator(), values.next(), values.next()) {
                labels.insert(r.key().to_string(), v.to_string());
            }
        }
    }
    for (k, v) in [
        (labels::NODEPOOL, &planned.nodepool),
        (labels::INSTANCE_TYPE, &planned.instance_type),
        (labels::ZONE, &planned.zone),
        (labels::CAPACITY_TYPE, &planned.capacity_type),
    ] {
        labels.insert(k.to_string(), v.clone());
    }
    labels.insert(labels::HOSTNAME.to_string(), name.to_string());
    Node {
        name: name.to_string(),
        labels,
        annotations: Default::default(),
        taints: pool.nodepool.taints.clone(),
        capacity: it.map(|t| t.capacity.clone()).unwrap_or_default(),
        allocatable: planned.allocatable.clone(),
        unschedulable: false,
        ready: true,
        deleting: false,
        created: Some(now),
        provider_id: None,
    }
}

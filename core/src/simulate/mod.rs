//! Simulation over time: a [`Trace`] of workload changes replayed through provisioning (the
//! packer, on every step with pending pods) and consolidation (on an interval), with a node
//! start-up delay. The answer is a timeline — cost, nodes by type and capacity type, pending
//! pods, launches, terminations and evictions per step — and its totals.
//!
//! Each step, in order: the trace's events due (replicas set, runs started), runs that end,
//! nodes whose start-up is over become Ready, provisioning places the pending pods (batched:
//! everything pending at the step), and, when due, consolidation runs and its commands are
//! applied. A pod counts as pending until it is on a Ready node. New nodes take pods from the
//! moment they are launched (as Karpenter nominates pods to in-flight NodeClaims) and are
//! billed from then. Scaling down removes pods as a ReplicaSet does: unscheduled ones first,
//! then those on nodes not yet Ready, then the newest. A consolidation run is skipped when the
//! cluster is as the last run that found nothing left it and nothing that run depended on has
//! changed with time (expiry, consolidateAfter, budget windows, the candidates' order): it would
//! find nothing again.
//!
//! Pure and deterministic: the same trace and options give the same timeline.

pub mod trace;

pub use trace::{Action, Event, Trace};

use crate::catalog::Catalog;
use crate::consolidate::{
    consolidate_then, decision_key, launched_node, node_price, ConsolidateOptions, ConsolidationMode, DecisionKey,
};
use crate::filter::{default_nodepool, FilterContext};
use crate::model::{Inventory, ObjectRef, Pod, PodPhase};
use crate::pack::plan_unbounded;
use crate::plan::{Mode, PlanOptions};
use crate::profile::phase;
use crate::time::{Duration, Timestamp};
use crate::Result;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How the replay provisions and consolidates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SimulateOptions {
    /// Packing mode of provisioning (`karpenter`, `optimize` or `exact`).
    pub mode: Mode,
    /// Consolidation's mode (`karpenter`, `optimize` or `global`), or none.
    pub consolidation: Option<ConsolidationMode>,
    /// How often consolidation runs.
    pub consolidation_interval: Duration,
    /// From launch to Ready.
    pub startup: Duration,
}

impl Default for SimulateOptions {
    fn default() -> Self {
        SimulateOptions {
            mode: Mode::Optimize,
            consolidation: Some(ConsolidationMode::Optimize),
            consolidation_interval: Duration::from_secs(300),
            startup: Duration::from_secs(60),
        }
    }
}

/// The cluster at the end of one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// RFC 3339.
    pub at: String,
    /// The nodes' price per hour (launched ones included).
    pub cost_per_hour: f64,
    pub nodes: usize,
    /// Nodes per instance type.
    pub instance_types: BTreeMap<String, usize>,
    pub spot_nodes: usize,
    pub on_demand_nodes: usize,
    /// Pods not yet on a Ready node (unschedulable ones included).
    pub pending_pods: usize,
    /// Pods no node can take.
    pub unschedulable_pods: usize,
    pub running_pods: usize,
    pub launches: usize,
    pub terminations: usize,
    pub evictions: usize,
}

/// Sums over the whole replay.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Totals {
    /// What the nodes cost over the replay (price per hour × hours).
    pub cost: f64,
    pub node_hours: f64,
    pub pending_pod_seconds: f64,
    pub launches: usize,
    pub terminations: usize,
    pub evictions: usize,
    pub max_nodes: usize,
    pub max_cost_per_hour: f64,
}

/// The answer of [`simulate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    pub options: SimulateOptions,
    pub currency: String,
    pub steps: Vec<Step>,
    pub totals: Totals,
    pub notes: Vec<String>,
    /// Pods the input makes that are not counted (see [`Inventory::warnings`]).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// A run of a workload's pods that ends at a time.
struct RunningJob {
    ends: Timestamp,
    pods: BTreeSet<String>,
}

/// Replays `trace` against the cluster of `inventory` (its workloads' replicas pending at the
/// start, its nodes and pods as they are). `progress` hears (steps done, steps in all).
pub fn simulate(
    inventory: &Inventory,
    catalog: &Catalog,
    trace: &Trace,
    options: &SimulateOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Timeline> {
    if options.consolidation_interval.0 <= 0 || options.startup.0 < 0 {
        return Err(crate::Error::Usage(
            "the consolidation interval must be positive and the start-up delay not negative".into(),
        ));
    }
    replay(inventory, catalog, trace, options, progress, true)
}

/// [`simulate`], with or without skipping consolidation runs that would repeat an empty one.
fn replay(
    inventory: &Inventory,
    catalog: &Catalog,
    trace: &Trace,
    options: &SimulateOptions,
    progress: &mut dyn FnMut(usize, usize),
    skip_idle: bool,
) -> Result<Timeline> {
    let mut sim = Replay::new(inventory, catalog, trace, options)?;
    sim.skip_idle = skip_idle;
    let steps = trace.steps();
    let mut timeline = Vec::with_capacity(steps);
    let mut next_event = 0;
    // Whether the cluster or its pods changed since provisioning last ran (if not, the pods
    // still pending are those no node can take, and would be again).
    let mut changed = true;
    for step in 0..steps {
        let now = Timestamp(trace.start.0 + (trace.step.0 * step as i64) / 1000);
        let mut counts = Counts::default();
        while next_event < trace.events.len() && trace.start.0 + trace.events[next_event].at.secs() <= now.0 {
            sim.event(&trace.events[next_event], now);
            next_event += 1;
            changed = true;
        }
        changed |= sim.finish_runs(now);
        changed |= sim.start_nodes(now);
        if changed {
            sim.provision(now, &mut counts)?;
            changed = false;
        }
        if let Some(mode) = options.consolidation {
            let due = (step as i64 * trace.step.0) % options.consolidation_interval.0 < trace.step.0;
            if due && step > 0 {
                changed |= sim.consolidate(now, mode, &mut counts)?;
            }
        }
        timeline.push(sim.record(now, counts));
        progress(step + 1, steps);
    }
    let hours = trace.step.0 as f64 / 3_600_000.0;
    let mut totals = Totals::default();
    for s in &timeline {
        totals.cost += s.cost_per_hour * hours;
        totals.node_hours += s.nodes as f64 * hours;
        totals.pending_pod_seconds += s.pending_pods as f64 * hours * 3600.0;
        totals.launches += s.launches;
        totals.terminations += s.terminations;
        totals.evictions += s.evictions;
        totals.max_nodes = totals.max_nodes.max(s.nodes);
        totals.max_cost_per_hour = totals.max_cost_per_hour.max(s.cost_per_hour);
    }
    Ok(Timeline {
        options: *options,
        currency: catalog.currency().to_string(),
        steps: timeline,
        totals,
        notes: inventory.notes.iter().chain(&sim.notes).cloned().collect(),
        warnings: inventory.warnings(),
    })
}

#[derive(Default)]
struct Counts {
    launches: usize,
    terminations: usize,
    evictions: usize,
}

/// The replay's state.
struct Replay<'a> {
    catalog: &'a Catalog,
    ctx: FilterContext,
    options: SimulateOptions,
    state: Inventory,
    /// Per workload: a pod to copy, and the next ordinal to name copies with.
    templates: BTreeMap<ObjectRef, (Pod, u64)>,
    /// Nodes launched and not yet Ready, with when they will be.
    starting: BTreeMap<String, Timestamp>,
    /// Per node: its price per hour.
    prices: BTreeMap<String, f64>,
    runs: Vec<RunningJob>,
    unschedulable: usize,
    launched: u64,
    notes: Vec<String>,
    /// The cluster and decision key of the last consolidation run that found nothing: a run on
    /// the same cluster with the same key would find nothing again, and is skipped.
    idle: Option<(Inventory, DecisionKey)>,
    skip_idle: bool,
}

impl<'a> Replay<'a> {
    fn new(inventory: &Inventory, catalog: &'a Catalog, trace: &Trace, options: &SimulateOptions) -> Result<Self> {
        let pools = if inventory.nodepools.is_empty() { vec![default_nodepool()] } else { inventory.nodepools.clone() };
        let daemonsets: Vec<&Pod> = inventory.daemonsets.iter().map(|d| &d.template).collect();
        let ctx = FilterContext::new(&pools, &inventory.nodeclasses, &daemonsets, catalog)?;
        let mut templates: BTreeMap<ObjectRef, (Pod, u64)> = BTreeMap::new();
        for pod in &inventory.pods {
            if let Some(owner) = &pod.owner {
                let entry = templates.entry(owner.clone()).or_insert_with(|| (pod.clone(), 0));
                entry.1 += 1;
            }
        }
        for (i, e) in trace.events.iter().enumerate() {
            let w = e.action.workload();
            if !templates.contains_key(w) {
                let known: Vec<String> = templates.keys().map(|k| k.to_string()).collect();
                return Err(crate::Error::field(
                    "trace",
                    format!("events[{i}]"),
                    format!("{w} is not among the workloads of the manifests ({})", known.join(", ")),
                ));
            }
        }
        let types = catalog.instance_types_shared(&Default::default());
        let prices = inventory.nodes.iter().filter_map(|n| Some((n.name.clone(), node_price(n, &types)?))).collect();
        let mut notes: Vec<String> = catalog.zone_choice().map(|c| c.note.clone()).into_iter().collect();
        let unpriced = inventory.nodes.iter().filter(|n| node_price(n, &types).is_none()).count();
        if unpriced > 0 {
            notes.push(format!("{unpriced} nodes of the snapshot have no catalog price and count as free"));
        }
        Ok(Replay {
            catalog,
            ctx,
            options: *options,
            state: inventory.clone(),
            templates,
            starting: BTreeMap::new(),
            prices,
            runs: Vec::new(),
            unschedulable: 0,
            launched: 0,
            notes,
            idle: None,
            skip_idle: true,
        })
    }

    /// A new pod of a workload, pending, created now.
    fn copy(&mut self, workload: &ObjectRef, now: Timestamp, prefix: &str) -> Pod {
        let (template, next) = self.templates.get_mut(workload).expect("checked against the manifests");
        let mut pod = template.clone();
        pod.name = format!("{prefix}-{next}");
        *next += 1;
        pod.uid = format!("sim-{}-{}", pod.namespace, pod.name);
        pod.node_name = None;
        pod.phase = PodPhase::Pending;
        pod.deleting = false;
        pod.created = Some(now);
        pod
    }

    fn event(&mut self, event: &Event, now: Timestamp) {
        match &event.action {
            Action::Scale { workload, replicas } => {
                let mine: Vec<usize> = (0..self.state.pods.len())
                    .filter(|&p| {
                        self.state.pods[p].owner.as_ref() == Some(workload) && !self.in_run(&self.state.pods[p])
                    })
                    .collect();
                let want = *replicas as usize;
                if mine.len() < want {
                    for _ in mine.len()..want {
                        let pod = self.copy(workload, now, &workload.name);
                        self.state.pods.push(pod);
                    }
                } else if mine.len() > want {
                    // Unscheduled first, then on nodes not yet Ready, then the newest.
                    let mut order = mine;
                    let rank = |p: &Pod| match &p.node_name {
                        None => 0,
                        Some(n) if self.starting.contains_key(n) => 1,
                        Some(_) => 2,
                    };
                    order.sort_by(|&a, &b| {
                        let (pa, pb) = (&self.state.pods[a], &self.state.pods[b]);
                        rank(pa).cmp(&rank(pb)).then(pb.created.cmp(&pa.created)).then(pb.name.cmp(&pa.name))
                    });
                    let remove = order.len() - want;
                    let gone: BTreeSet<usize> = order.into_iter().take(remove).collect();
                    let mut i = 0;
                    self.state.pods.retain(|_| {
                        let keep = !gone.contains(&i);
                        i += 1;
                        keep
                    });
                }
            }
            Action::Run { workload, pods, runs_for } => {
                let prefix = format!("{}-run{}", workload.name, self.runs.len());
                let mut names = BTreeSet::new();
                for _ in 0..*pods {
                    let pod = self.copy(workload, now, &prefix);
                    names.insert(pod.key());
                    self.state.pods.push(pod);
                }
                self.runs.push(RunningJob { ends: Timestamp(now.0 + runs_for.secs()), pods: names });
            }
        }
    }

    fn in_run(&self, pod: &Pod) -> bool {
        let key = pod.key();
        self.runs.iter().any(|r| r.pods.contains(&key))
    }

    /// Runs that end now take their pods with them; whether any did.
    fn finish_runs(&mut self, now: Timestamp) -> bool {
        let (done, running): (Vec<RunningJob>, Vec<RunningJob>) =
            std::mem::take(&mut self.runs).into_iter().partition(|r| r.ends.0 <= now.0);
        self.runs = running;
        let gone: BTreeSet<String> = done.into_iter().flat_map(|r| r.pods).collect();
        if !gone.is_empty() {
            self.state.pods.retain(|p| !gone.contains(&p.key()));
        }
        !gone.is_empty()
    }

    /// Nodes whose start-up is over become Ready; whether any did.
    fn start_nodes(&mut self, now: Timestamp) -> bool {
        let ready: Vec<String> = self.starting.iter().filter(|(_, at)| at.0 <= now.0).map(|(n, _)| n.clone()).collect();
        let any = !ready.is_empty();
        for name in ready {
            self.starting.remove(&name);
            if let Some(node) = self.state.nodes.iter_mut().find(|n| n.name == name) {
                node.ready = true;
            }
        }
        any
    }

    /// Places the pending pods: on existing nodes, or on nodes launched now.
    fn provision(&mut self, now: Timestamp, counts: &mut Counts) -> Result<()> {
        if self.state.pending_pods().next().is_none() {
            self.unschedulable = 0;
            return Ok(());
        }
        let planned = phase("provisioning", || {
            plan_unbounded(&self.state, self.catalog, &PlanOptions { mode: self.options.mode, ..Default::default() })
        })?;
        let mut bind: BTreeMap<String, String> = BTreeMap::new();
        for e in &planned.existing {
            bind.insert(e.pod.clone(), e.node.clone());
        }
        for node in &planned.nodes {
            self.launched += 1;
            let name = format!("{}-{}", node.nodepool, self.launched);
            let mut launched = launched_node(&self.ctx, &name, node, now);
            launched.ready = self.options.startup.0 == 0;
            if !launched.ready {
                self.starting.insert(name.clone(), Timestamp(now.0 + self.options.startup.secs()));
            }
            self.prices.insert(name.clone(), node.price_per_hour);
            self.state.nodes.push(launched);
            counts.launches += 1;
            for p in &node.pods {
                bind.insert(p.clone(), name.clone());
            }
        }
        for pod in &mut self.state.pods {
            if pod.node_name.is_none() {
                if let Some(node) = bind.get(&pod.key()) {
                    pod.node_name = Some(node.clone());
                    pod.phase = PodPhase::Running;
                }
            }
        }
        self.unschedulable = planned.unschedulable.len();
        Ok(())
    }

    /// Runs consolidation and applies its commands; whether there were any.
    fn consolidate(&mut self, now: Timestamp, mode: ConsolidationMode, counts: &mut Counts) -> Result<bool> {
        let options = ConsolidateOptions { compare: false, ..ConsolidateOptions::new(mode, now) };
        let key = if self.skip_idle {
            phase("consolidation key", || decision_key(&self.state, &self.ctx, &options))?
        } else {
            None
        };
        if let (Some(key), Some((state, idle))) = (&key, &self.idle) {
            if key == idle && *state == self.state {
                return Ok(false);
            }
        }
        let (plan, mut state) =
            phase("consolidation", || consolidate_then(&self.state, self.catalog, &options, Some(&self.ctx)))?;
        if plan.commands.is_empty() {
            // Without commands, the snapshot is left as it was.
            self.idle = key.map(|key| (state, key));
            return Ok(false);
        }
        self.idle = None;
        for c in &plan.commands {
            counts.terminations += c.candidates.len();
            counts.evictions += c.moves.len();
            for n in &c.candidates {
                self.prices.remove(&n.node);
                self.starting.remove(&n.node);
            }
            for r in &c.replacements {
                counts.launches += 1;
                self.prices.insert(r.name.clone(), r.price_per_hour);
                if self.options.startup.0 > 0 {
                    self.starting.insert(r.name.clone(), Timestamp(now.0 + self.options.startup.secs()));
                    if let Some(node) = state.nodes.iter_mut().find(|n| n.name == r.name) {
                        node.ready = false;
                    }
                }
            }
        }
        self.state = state;
        Ok(true)
    }

    fn record(&self, now: Timestamp, counts: Counts) -> Step {
        let mut instance_types: BTreeMap<String, usize> = BTreeMap::new();
        let (mut spot, mut on_demand) = (0, 0);
        for n in &self.state.nodes {
            *instance_types.entry(n.instance_type().unwrap_or("(unknown)").to_string()).or_default() += 1;
            match n.capacity_type() {
                Some("spot") => spot += 1,
                _ => on_demand += 1,
            }
        }
        let ready: BTreeSet<&str> = self.state.nodes.iter().filter(|n| n.ready).map(|n| n.name.as_str()).collect();
        let live = self.state.pods.iter().filter(|p| !matches!(p.phase, PodPhase::Succeeded | PodPhase::Failed));
        let (mut running, mut pending) = (0, 0);
        for p in live {
            if p.node_name.as_deref().is_some_and(|n| ready.contains(n)) {
                running += 1;
            } else {
                pending += 1;
            }
        }
        Step {
            at: now.to_string(),
            cost_per_hour: crate::plan::positive_zero(
                self.state.nodes.iter().filter_map(|n| self.prices.get(&n.name)).sum(),
            ),
            nodes: self.state.nodes.len(),
            instance_types,
            spot_nodes: spot,
            on_demand_nodes: on_demand,
            pending_pods: pending,
            unschedulable_pods: self.unschedulable,
            running_pods: running,
            launches: counts.launches,
            terminations: counts.terminations,
            evictions: counts.evictions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::trace::Shape;

    const CLUSTER: &str = r#"
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: general}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: karpenter.k8s.aws/instance-family, operator: In, values: [m6i, c6i, r6i]}
      expireAfter: 24h
  disruption:
    consolidationPolicy: WhenEmptyOrUnderutilized
    consolidateAfter: 10m
    budgets: [{nodes: "20%"}, {nodes: "0", schedule: "0 12 * * *", duration: 2h}]
---
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata: {name: default}
spec:
  amiSelectorTerms: [{alias: al2023@latest}]
"#;

    fn deployment(name: &str, replicas: u32, cpu: &str) -> String {
        format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: shop}}\nspec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      containers: [{{name: c, image: x, resources: {{requests: {{cpu: {cpu}, memory: 1Gi}}}}}}]\n"
        )
    }

    #[test]
    fn skipping_idle_consolidation_runs_changes_nothing() {
        let text = format!(
            "{CLUSTER}{}{}{}",
            deployment("web", 12, "700m"),
            deployment("api", 8, "1500m"),
            deployment("db", 3, "3")
        );
        let inventory = crate::manifest::parse("test", &text).expect("valid");
        let catalog = Catalog::aws("us-east-1").expect("catalog");
        let start = "2026-12-01T00:00:00Z".parse().expect("time");
        for shape in [Shape::Diurnal, Shape::Spike] {
            let trace =
                Trace::generate(shape, &inventory.workloads, start, 1, Duration::from_secs(60)).expect("one day");
            for mode in [ConsolidationMode::Karpenter, ConsolidationMode::Optimize] {
                let options = SimulateOptions { consolidation: Some(mode), ..SimulateOptions::default() };
                let skipping = replay(&inventory, &catalog, &trace, &options, &mut |_, _| {}, true).expect("runs");
                let every = replay(&inventory, &catalog, &trace, &options, &mut |_, _| {}, false).expect("runs");
                assert_eq!(skipping, every, "{shape:?}, {mode}");
                assert!(skipping.totals.terminations > 0, "{shape:?}, {mode}: consolidation did something");
            }
        }
    }
}

//! The disruption loop, as Karpenter's: every 10 seconds the core's `consolidate` decides on the
//! cluster as it is (expiration, emptiness, drift, multi-node and single-node consolidation,
//! within the NodePools' budgets, PDBs, do-not-disrupt, consolidateAfter and expireAfter,
//! exactly as the CLI's `consolidate` on a snapshot), and its first command is carried out:
//!
//! 1. after a wait (15 s), the decision is made again on the cluster as it is then; the
//!    command goes ahead only if the core still makes it (the same nodes, the same action);
//! 2. the candidates are tainted `karpenter.sh/disrupted:NoSchedule`, so nothing new lands there;
//! 3. the replacements' NodeClaims are created, and the loop waits until they are Initialized;
//!    if one fails (its launch found no capacity, or it timed out), the candidates are untainted,
//!    the replacements not yet initialized are deleted, and the command is given up;
//! 4. the candidates' NodeClaims are deleted: their termination drains them
//!    ([`crate::termination`]).
//!
//! Nothing is disrupted while the cluster is not settled: while pods the provisioner can place
//! are pending, or NodeClaims are still launching (the core's consolidation does not move
//! pending pods, Karpenter's simulation does: waiting keeps the two from racing).

use crate::cloud::Unavailable;
use crate::crds::CONDITION_INITIALIZED;
use crate::provision::Recent;
use crate::state::{self, karpenter_resource, Object, Stores};
use crate::Metrics;
use fleetfit::consolidate::{Action, Command, ConsolidateOptions, ConsolidationMode, ConsolidationPlan};
use fleetfit::labels::DISRUPTED_TAINT;
use fleetfit::Catalog;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Client, Resource, ResourceExt};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How the disruption loop runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DisruptionConfig {
    /// `karpenter`, `optimize` (the default) or `global`.
    pub mode: ConsolidationMode,
    /// How often a decision is made (Karpenter: 10 s).
    pub interval: Duration,
    /// How long after a decision it is checked again before it is carried out (Karpenter: 15 s).
    pub validation: Duration,
    /// How long replacements have to be Initialized.
    pub replacement_timeout: Duration,
    /// Spot nodes may be replaced by cheaper spot nodes (Karpenter's SpotToSpotConsolidation).
    pub spot_to_spot: bool,
}

impl Default for DisruptionConfig {
    fn default() -> Self {
        DisruptionConfig {
            mode: ConsolidationMode::Optimize,
            interval: Duration::from_secs(10),
            validation: Duration::from_secs(15),
            replacement_timeout: crate::lifecycle::LAUNCH_TIMEOUT + crate::lifecycle::REGISTRATION_TIMEOUT,
            spot_to_spot: false,
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Not settled (why), or nothing to do.
    Waited(String),
    Nothing,
    /// The decision did not hold after the wait.
    Invalidated,
    /// The command failed and was given up (why).
    Failed(String),
    /// The command was carried out: the candidates' NodeClaims are deleted.
    Done(Command),
}

/// The disruption loop's parts.
pub struct Disrupter {
    pub client: Client,
    pub stores: Stores,
    pub catalog: Catalog,
    pub unavailable: Arc<Unavailable>,
    pub config: DisruptionConfig,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    /// NodeClaims created lately that the cache may not show yet (shared with the provisioner).
    pub recent: Arc<Recent>,
    /// Pending pods the provisioner's last plan placed ([`crate::provision::Provisioner::placing`]).
    pub placing: Arc<AtomicUsize>,
    /// Writes go only while this replica leads.
    pub fencing: crate::leader::Fencing,
}

/// Whether a NodeClaim object is initialized.
fn initialized(claim: &DynamicObject) -> bool {
    claim.data["status"]["conditions"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["type"] == CONDITION_INITIALIZED && c["status"] == "True"))
}

fn candidate_set(command: &Command) -> BTreeSet<&str> {
    command.candidates.iter().map(|c| c.node.as_str()).collect()
}

impl Disrupter {
    /// Why the cluster is not settled enough to disrupt, if it is not.
    fn unsettled(&self) -> Option<String> {
        let placing = self.placing.load(Ordering::SeqCst);
        if placing > 0 {
            return Some(format!("{placing} pending pods are being provisioned for"));
        }
        let launching = self
            .stores
            .nodeclaims
            .state()
            .iter()
            .filter(|c| c.metadata.deletion_timestamp.is_none() && !initialized(c))
            .count();
        (launching > 0).then(|| format!("{launching} NodeClaims are launching"))
    }

    /// The core's decision on the cluster as it is now.
    pub fn decide(&self) -> Option<(ConsolidationPlan, fleetfit::Inventory)> {
        let objects: Vec<Object> = crate::drift::with_current_hashes(self.recent.complete(self.stores.objects()));
        let snapshot = state::read(objects);
        if snapshot.inventory.nodes.is_empty() {
            return None;
        }
        let options = ConsolidateOptions {
            spot_to_spot: self.config.spot_to_spot,
            compare: false,
            ..ConsolidateOptions::new(self.config.mode, fleetfit::time::Timestamp(now()))
        };
        let marks = self.unavailable.offerings();
        let catalog =
            if marks.is_empty() { self.catalog.clone() } else { self.catalog.clone().without_offerings(&marks) };
        match fleetfit::consolidate::consolidate(&snapshot.inventory, &catalog, &options) {
            Ok(plan) => {
                self.metrics.observe_consolidation(&plan);
                Some((plan, snapshot.inventory))
            }
            Err(e) => {
                tracing::warn!(error = %e, "consolidation could not be worked out");
                None
            }
        }
    }

    /// One pass: decide, wait, decide again, carry out.
    pub async fn pass(&self) -> Outcome {
        if self.fencing.check().is_err() {
            return Outcome::Waited("not leading".into());
        }
        self.untaint_stale().await;
        if let Some(why) = self.unsettled() {
            tracing::debug!(%why, "not disrupting: the cluster is not settled");
            return Outcome::Waited(why);
        }
        let Some((plan, _)) = self.decide() else { return Outcome::Nothing };
        let Some(first) = plan.commands.first().cloned() else { return Outcome::Nothing };
        tracing::info!(
            method = ?first.method, reason = ?first.reason, action = ?first.action,
            candidates = ?candidate_set(&first), replacements = first.replacements.len(),
            savings_per_hour = first.savings_per_hour, "disruption decided; validating"
        );
        tokio::time::sleep(self.config.validation).await;
        if let Some(why) = self.unsettled() {
            tracing::info!(%why, "disruption given up: the cluster changed");
            self.metrics.disruption_decision("invalidated", &first);
            return Outcome::Invalidated;
        }
        let Some((plan, inventory)) = self.decide() else { return Outcome::Invalidated };
        let Some(command) =
            plan.commands.into_iter().find(|c| c.action == first.action && candidate_set(c) == candidate_set(&first))
        else {
            tracing::info!(candidates = ?candidate_set(&first), "disruption no longer valid: given up");
            self.metrics.disruption_decision("invalidated", &first);
            return Outcome::Invalidated;
        };
        if self.fencing.check().is_err() {
            return Outcome::Waited("not leading".into());
        }
        match self.execute(&command, &inventory).await {
            Ok(()) => {
                self.metrics.disruption_decision(
                    match command.action {
                        Action::Delete => "delete",
                        Action::Replace => "replace",
                    },
                    &command,
                );
                Outcome::Done(command)
            }
            Err(why) => {
                tracing::warn!(candidates = ?candidate_set(&command), %why, "disruption failed: given up");
                self.metrics.disruption_decision("failed", &command);
                Outcome::Failed(why)
            }
        }
    }

    async fn execute(&self, command: &Command, inventory: &fleetfit::Inventory) -> Result<(), String> {
        // Each candidate's NodeClaim (the core only disrupts nodes of known NodePools).
        let claims = self.stores.nodeclaims.state();
        let mut targets: Vec<(Arc<Node>, String)> = Vec::new();
        for candidate in &command.candidates {
            let node = self
                .stores
                .nodes
                .find(|n| n.metadata.name.as_deref() == Some(candidate.node.as_str()))
                .ok_or_else(|| format!("node {} is gone", candidate.node))?;
            let provider_id = node.spec.as_ref().and_then(|s| s.provider_id.clone());
            let claim = claims
                .iter()
                .find(|c| {
                    c.data["status"]["nodeName"] == json!(candidate.node)
                        || provider_id.is_some() && c.data["status"]["providerID"] == json!(provider_id)
                })
                .and_then(|c| c.metadata.name.clone())
                .ok_or_else(|| format!("node {} has no NodeClaim", candidate.node))?;
            targets.push((node, claim));
        }
        let why = format!(
            "{:?} ({:?}){}",
            command.reason,
            command.method,
            if command.savings_per_hour > 0.0 {
                format!(", saves {:.4}/h", command.savings_per_hour)
            } else {
                String::new()
            }
        );
        for (node, _) in &targets {
            self.set_disrupted_taint(node, true).await.map_err(|e| format!("tainting: {e}"))?;
            let reason = if command.replacements.is_empty() { "DisruptionTerminating" } else { "DisruptionLaunching" };
            self.event(node, EventType::Normal, reason, "Taint", &format!("tainted {DISRUPTED_TAINT}: {why}")).await;
        }
        let created = match self.launch_replacements(command, inventory).await {
            Ok(names) => names,
            Err(e) => {
                self.untaint(&targets).await;
                return Err(e);
            }
        };
        if let Err(e) = self.wait_initialized(&created).await {
            self.untaint(&targets).await;
            let api = self.claims();
            for name in &created {
                let done = self
                    .stores
                    .nodeclaims
                    .find(|c| c.metadata.name.as_deref() == Some(name))
                    .is_some_and(|c| initialized(&c));
                if !done {
                    let _ = api.delete(name, &DeleteParams::default()).await;
                }
            }
            return Err(e);
        }
        let api = self.claims();
        for (node, claim) in &targets {
            self.fencing.check().map_err(|e| e.to_string())?;
            match api.delete(claim, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(format!("deleting NodeClaim {claim}: {e}")),
            }
            let pool = node.labels().get(fleetfit::labels::NODEPOOL).cloned().unwrap_or_default();
            self.metrics.nodeclaim_disrupted(&pool, &format!("{:?}", command.reason));
            self.event(
                node,
                EventType::Normal,
                "DisruptionTerminating",
                "Delete",
                &format!("NodeClaim {claim} deleted: {why}"),
            )
            .await;
            tracing::info!(node = %node.name_any(), nodeclaim = %claim, %why, "disrupting");
        }
        Ok(())
    }

    fn claims(&self) -> Api<DynamicObject> {
        Api::all_with(self.client.clone(), &karpenter_resource("NodeClaim"))
    }

    /// Creates the command's replacements' NodeClaims; their names.
    async fn launch_replacements(
        &self,
        command: &Command,
        inventory: &fleetfit::Inventory,
    ) -> Result<Vec<String>, String> {
        let as_json = |store: &kube::runtime::reflector::Store<DynamicObject>| -> BTreeMap<String, Value> {
            store
                .state()
                .iter()
                .filter_map(|o| Some((o.metadata.name.clone()?, serde_json::to_value(&**o).ok()?)))
                .collect()
        };
        let pools = as_json(&self.stores.nodepools);
        let classes = as_json(&self.stores.nodeclasses);
        let api = self.claims();
        let mut created = Vec::new();
        for r in &command.replacements {
            self.fencing.check().map_err(|e| e.to_string())?;
            let claim = fleetfit::claims::for_replacement("", r, &inventory.nodepools)
                .ok_or_else(|| format!("NodePool {} is gone", r.nodepool))?;
            let pool = pools.get(&r.nodepool).ok_or_else(|| format!("NodePool {} is gone", r.nodepool))?;
            let class = claim.node_class_ref.as_ref().and_then(|c| classes.get(&c.name));
            let object: DynamicObject = serde_json::from_value(crate::provision::claim_object(&claim, pool, class))
                .map_err(|e| format!("a replacement NodeClaim that does not serialize: {e}"))?;
            match api.create(&PostParams::default(), &object).await {
                Ok(o) => {
                    let name = o.metadata.name.clone().unwrap_or_default();
                    tracing::info!(nodeclaim = %name, instance_type = %r.instance_type, zone = %r.zone, "replacement created");
                    self.metrics.nodeclaim_created(&r.nodepool, "disruption");
                    let value = state::karpenter_value("NodeClaim", serde_json::to_value(&o).unwrap_or(Value::Null));
                    self.recent.add(Object { kind: "NodeClaim".into(), name: name.clone(), value });
                    created.push(name);
                }
                Err(e) => {
                    for name in &created {
                        let _ = api.delete(name, &DeleteParams::default()).await;
                    }
                    return Err(format!("creating a replacement NodeClaim: {e}"));
                }
            }
        }
        Ok(created)
    }

    /// Waits until every claim in `names` is Initialized; fails when one is deleted or the
    /// time is up.
    async fn wait_initialized(&self, names: &[String]) -> Result<(), String> {
        let started = Instant::now();
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        loop {
            let mut done = 0;
            for name in names {
                match self.stores.nodeclaims.find(|c| c.metadata.name.as_deref() == Some(name)) {
                    Some(c) if c.metadata.deletion_timestamp.is_some() => {
                        return Err(format!("replacement NodeClaim {name} is being deleted (its launch failed)"))
                    }
                    Some(c) => {
                        seen.insert(name);
                        done += usize::from(initialized(&c));
                    }
                    None if seen.contains(name.as_str()) => {
                        return Err(format!("replacement NodeClaim {name} was deleted (its launch failed)"))
                    }
                    None => {}
                }
            }
            if done == names.len() {
                return Ok(());
            }
            if started.elapsed() > self.config.replacement_timeout {
                return Err(format!("replacements not initialized in {:?}", self.config.replacement_timeout));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Commands run within one pass: a node tainted `karpenter.sh/disrupted` between passes
    /// whose NodeClaim is not being deleted is a command's left-over (a replica that stopped
    /// midway, a failed untaint), and is untainted.
    async fn untaint_stale(&self) {
        let claims = self.stores.nodeclaims.state();
        for node in self.stores.nodes.state() {
            let tainted = node
                .spec
                .as_ref()
                .and_then(|s| s.taints.as_ref())
                .is_some_and(|ts| ts.iter().any(|t| t.key == DISRUPTED_TAINT));
            if !tainted || node.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let name = node.name_any();
            let provider_id = node.spec.as_ref().and_then(|s| s.provider_id.clone());
            let claim_deleting = claims.iter().any(|c| {
                (c.data["status"]["nodeName"] == json!(name)
                    || provider_id.is_some() && c.data["status"]["providerID"] == json!(provider_id))
                    && c.metadata.deletion_timestamp.is_some()
            });
            if claim_deleting || self.fencing.check().is_err() {
                continue;
            }
            match self.set_disrupted_taint(&node, false).await {
                Ok(()) => tracing::info!(node = %name, "a disruption left over: untainted"),
                Err(e) => tracing::warn!(node = %name, error = %e, "could not remove a left-over disrupted taint"),
            }
        }
    }

    async fn untaint(&self, targets: &[(Arc<Node>, String)]) {
        for (node, _) in targets {
            let fresh =
                self.stores.nodes.find(|n| n.metadata.name == node.metadata.name).unwrap_or_else(|| node.clone());
            if let Err(e) = self.set_disrupted_taint(&fresh, false).await {
                tracing::warn!(node = %node.name_any(), error = %e, "could not remove the disrupted taint");
            }
        }
    }

    /// Adds (or removes) `karpenter.sh/disrupted:NoSchedule` on a node.
    async fn set_disrupted_taint(&self, node: &Node, on: bool) -> Result<(), kube::Error> {
        let mut taints: Vec<Value> = node
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_ref())
            .iter()
            .flat_map(|t| t.iter())
            .filter(|t| t.key != DISRUPTED_TAINT)
            .filter_map(|t| serde_json::to_value(t).ok())
            .collect();
        if on {
            taints.push(json!({"key": DISRUPTED_TAINT, "effect": "NoSchedule"}));
        }
        let api: Api<Node> = Api::all(self.client.clone());
        let patch = json!({"spec": {"taints": taints}});
        api.patch(&node.name_any(), &PatchParams::default(), &Patch::Merge(patch)).await.map(|_| ())
    }

    async fn event(&self, node: &Node, type_: EventType, reason: &str, action: &str, note: &str) {
        let event =
            Event { type_, reason: reason.into(), note: Some(note.into()), action: action.into(), secondary: None };
        if let Err(e) = self.recorder.publish(&event, &node.object_ref(&())).await {
            tracing::debug!(error = %e, "event not written");
        }
    }
}

fn now() -> i64 {
    k8s_openapi::jiff::Timestamp::now().as_second()
}

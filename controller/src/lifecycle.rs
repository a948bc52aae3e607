//! A NodeClaim's life, with Karpenter's conditions and timeouts: **Launched** (the cloud
//! created the instance: provider ID, capacity, allocatable and the offering's labels),
//! **Registered** (a Node with that provider ID appeared: it gets the claim's labels, the
//! termination finalizer, and loses the `karpenter.sh/unregistered` taint), **Initialized**
//! (the node is Ready and its startup taints and ephemeral taints — not-ready, unreachable,
//! uninitialized, unregistered — are gone, as Karpenter's; the claim is then Ready). A claim not
//! launched within 5 minutes, or not registered within 15, is deleted. A claim being deleted
//! has its instance terminated, then its finalizer removed.

use crate::cloud::{CloudProvider, LaunchError, LaunchRequest, Unavailable};
use crate::crds::{
    EC2NodeClass, CONDITION_INITIALIZED, CONDITION_LAUNCHED, CONDITION_READY, CONDITION_REGISTERED, INITIALIZED_LABEL,
    NODEPOOL_LABEL, REGISTERED_LABEL, TERMINATION_FINALIZER, UNREGISTERED_TAINT,
};
use crate::state::{karpenter_resource, karpenter_value, Stores};
use crate::Metrics;
use fleetfit::labels::DISRUPTED_TAINT;
use fleetfit::Catalog;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Client, Resource};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// A claim not launched within this is deleted (Karpenter's launch timeout).
pub const LAUNCH_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// A launched claim whose node has not registered within this is deleted.
pub const REGISTRATION_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// How long one claim's reconciling may take in a pass.
const CLAIM_TIMEOUT: Duration = Duration::from_secs(60);

/// How many claims one pass works on at once.
const CONCURRENT_CLAIMS: usize = 64;

/// The lifecycle loop's parts.
pub struct Lifecycle<P: CloudProvider> {
    pub client: Client,
    pub stores: Stores,
    pub catalog: Catalog,
    pub provider: Arc<P>,
    pub unavailable: Arc<Unavailable>,
    pub metrics: Arc<Metrics>,
    pub recorder: Recorder,
    /// Evictions refused lately, per pod.
    pub evictions: crate::termination::Backoff,
    /// Writes go only while this replica leads.
    pub fencing: crate::leader::Fencing,
    /// The claims created lately that the cache did not show yet (the provisioner's).
    pub recent: Arc<crate::provision::Recent>,
}

/// When a deleted claim's node goes whatever is left on it: its deletion time plus its
/// `spec.terminationGracePeriod` (seconds since the epoch); `None` without one.
fn termination_deadline(claim: &Value) -> Option<i64> {
    let deleted: Timestamp = claim["metadata"]["deletionTimestamp"].as_str()?.parse().ok()?;
    let period: fleetfit::time::Duration = claim["spec"]["terminationGracePeriod"].as_str()?.parse().ok()?;
    Some(deleted.as_second() + period.secs())
}

/// The state of one condition of a claim.
fn condition<'a>(claim: &'a Value, type_: &str) -> Option<&'a Value> {
    claim["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == type_)
}

fn holds(claim: &Value, type_: &str) -> bool {
    condition(claim, type_).is_some_and(|c| c["status"] == "True")
}

/// The claim's conditions with `updates` ((type, status, reason, message)) set; a condition
/// whose status does not change keeps its transition time.
pub(crate) fn with_conditions(claim: &Value, updates: &[(&str, bool, &str, &str)]) -> Value {
    let now = format!("{:.0}", Timestamp::now());
    let mut list: Vec<Value> = claim["status"]["conditions"].as_array().cloned().unwrap_or_default();
    for (type_, ok, reason, message) in updates {
        let status = if *ok { "True" } else { "False" };
        let generation = claim["metadata"]["generation"].clone();
        let fresh = json!({
            "type": type_, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": now, "observedGeneration": generation,
        });
        match list.iter_mut().find(|c| c["type"] == *type_) {
            Some(c) if c["status"] == status => {
                c["reason"] = json!(reason);
                c["message"] = json!(message);
            }
            Some(c) => *c = fresh,
            None => list.push(fresh),
        }
    }
    Value::Array(list)
}

fn age(object: &Value, field: &str) -> Option<Duration> {
    let at = object["metadata"][field].as_str().or_else(|| object[field].as_str())?;
    let at: Timestamp = at.parse().ok()?;
    let seconds = Timestamp::now().as_second() - at.as_second();
    u64::try_from(seconds).ok().map(Duration::from_secs)
}

impl<P: CloudProvider> Lifecycle<P> {
    fn claims(&self) -> Api<DynamicObject> {
        Api::all_with(self.client.clone(), &karpenter_resource("NodeClaim"))
    }

    /// One pass over every NodeClaim.
    pub async fn pass(&self) {
        use futures::StreamExt;
        let claims = self.stores.nodeclaims.state();
        tracing::debug!(nodeclaims = claims.len(), "lifecycle pass");
        self.recent.seen(claims.iter().filter_map(|c| c.metadata.name.as_deref()));
        // Claims are independent: many at once, so that a burst's launches share their cloud
        // calls' batches instead of waiting for each other.
        futures::stream::iter(claims)
            .for_each_concurrent(CONCURRENT_CLAIMS, |claim| async move {
                let Ok(value) = serde_json::to_value(&*claim) else { return };
                let name = value["metadata"]["name"].as_str().unwrap_or_default().to_string();
                // One claim's calls never hold up the pass (and with it every other claim).
                match tokio::time::timeout(CLAIM_TIMEOUT, self.reconcile(&name, &value)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::warn!(nodeclaim = %name, error = %e, "NodeClaim not reconciled; retried"),
                    Err(_) => {
                        tracing::warn!(nodeclaim = %name, "NodeClaim not reconciled in {CLAIM_TIMEOUT:?}; retried")
                    }
                }
            })
            .await;
    }

    async fn reconcile(&self, name: &str, claim: &Value) -> Result<(), kube::Error> {
        if self.fencing.check().is_err() {
            return Ok(());
        }
        let pool = claim["metadata"]["labels"][NODEPOOL_LABEL].as_str().unwrap_or_default().to_string();
        if !claim["metadata"]["deletionTimestamp"].is_null() {
            return self.terminate(name, claim, &pool).await;
        }
        let provider_id = claim["status"]["providerID"].as_str().filter(|s| !s.is_empty());
        let Some(provider_id) = provider_id else {
            if age(claim, "creationTimestamp").is_some_and(|a| a > LAUNCH_TIMEOUT) {
                tracing::warn!(nodeclaim = %name, "not launched in {LAUNCH_TIMEOUT:?}: deleted");
                self.metrics.nodeclaim_terminated(&pool, "liveness");
                return self.delete(name).await;
            }
            return self.launch(name, claim, &pool).await;
        };
        let node =
            self.stores.nodes.find(|n| n.spec.as_ref().and_then(|s| s.provider_id.as_deref()) == Some(provider_id));
        if !holds(claim, CONDITION_REGISTERED) {
            let Some(node) = node else {
                let launched = condition(claim, CONDITION_LAUNCHED).and_then(|c| age(c, "lastTransitionTime"));
                if launched.is_some_and(|a| a > REGISTRATION_TIMEOUT) {
                    tracing::warn!(nodeclaim = %name, "no node registered in {REGISTRATION_TIMEOUT:?}: deleted");
                    self.metrics.nodeclaim_terminated(&pool, "liveness");
                    return self.delete(name).await;
                }
                return Ok(());
            };
            return self.register(name, claim, &node, &pool).await;
        }
        // A node deleted by hand takes its claim along (whose termination then drains it).
        if node.as_ref().is_some_and(|n| n.metadata.deletion_timestamp.is_some()) {
            tracing::info!(nodeclaim = %name, "its node is being deleted: the NodeClaim goes too");
            return self.delete(name).await;
        }
        if !holds(claim, CONDITION_INITIALIZED) {
            if let Some(node) = node {
                self.initialize(name, claim, &node, &pool).await?;
            }
        }
        Ok(())
    }

    async fn launch(&self, name: &str, claim: &Value, pool: &str) -> Result<(), kube::Error> {
        // The claim as the core reads it, with the node classes it may name.
        let mut items = vec![karpenter_value("NodeClaim", claim.clone())];
        for class in self.stores.nodeclasses.state() {
            if let Ok(v) = serde_json::to_value(&*class) {
                items.push(karpenter_value("EC2NodeClass", v));
            }
        }
        let list = json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string();
        let options =
            fleetfit::manifest::ParseOptions { validation: fleetfit::manifest::Validation::Warn, ..Default::default() };
        let inventory = match fleetfit::manifest::parse_sources_with(&[("cluster".into(), list)], &options) {
            Ok(inventory) => inventory,
            Err(e) => {
                tracing::warn!(nodeclaim = %name, error = %e, "the NodeClaim or its node class cannot be read");
                let conditions =
                    with_conditions(claim, &[(CONDITION_LAUNCHED, false, "InvalidNodeClaim", &e.to_string())]);
                return self.patch_status(name, json!({"conditions": conditions})).await;
            }
        };
        let Some(core_claim) = inventory.nodeclaims.first() else { return Ok(()) };
        let all = fleetfit::claims::launch_options(core_claim, &inventory, &self.catalog);
        let launchable = all.len();
        let options = self.unavailable.filter(all);
        let class_name = core_claim.node_class_ref.as_ref().map(|r| r.name.clone());
        let nodeclass = match class_name
            .and_then(|n| self.stores.nodeclasses.find(|c| c.metadata.name.as_deref() == Some(&n)))
        {
            None => None,
            Some(object) => match serde_json::to_value(&*object).and_then(serde_json::from_value::<EC2NodeClass>) {
                Ok(class) => Some(class),
                Err(e) => {
                    let message = format!("EC2NodeClass {}: {e}", object.metadata.name.as_deref().unwrap_or_default());
                    let conditions =
                        with_conditions(claim, &[(CONDITION_LAUNCHED, false, "InvalidNodeClass", &message)]);
                    return self.patch_status(name, json!({"conditions": conditions})).await;
                }
            },
        };
        let uid = claim["metadata"]["uid"].as_str().unwrap_or_default();
        let request = LaunchRequest { claim: core_claim, uid, nodeclass: nodeclass.as_ref(), options: &options };
        if self.fencing.check().is_err() {
            return Ok(());
        }
        match self.provider.create(&request, &self.unavailable).await {
            Ok(launched) => {
                let o = &launched.option;
                tracing::info!(
                    nodeclaim = %name, provider_id = %launched.provider_id, instance_type = %o.instance_type,
                    zone = %o.zone, capacity_type = %o.capacity_type.as_str(), "launched"
                );
                let labels = o.labels.clone();
                self.claims()
                    .patch(name, &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": labels}})))
                    .await?;
                let conditions = with_conditions(claim, &[(CONDITION_LAUNCHED, true, "Launched", "")]);
                self.patch_status(
                    name,
                    json!({
                        "providerID": launched.provider_id,
                        "capacity": crate::cloud::resource_list(&o.capacity),
                        "allocatable": crate::cloud::resource_list(&o.allocatable),
                        "conditions": conditions,
                    }),
                )
                .await?;
                self.metrics.nodeclaim_launched(pool);
                Ok(())
            }
            // Out of capacity everywhere it may go: the claim goes, and the provisioner plans its
            // pods again around the offerings now marked (as Karpenter does).
            Err(LaunchError::InsufficientCapacity(why)) => {
                tracing::warn!(nodeclaim = %name, error = %why, "no capacity for any of its offerings: deleted, its pods planned again");
                self.metrics.nodeclaim_terminated(pool, "insufficient_capacity");
                self.delete(name).await
            }
            Err(LaunchError::NoOptions) if launchable > 0 => {
                tracing::warn!(nodeclaim = %name, "every offering it allows is out of capacity lately: deleted, its pods planned again");
                self.metrics.nodeclaim_terminated(pool, "insufficient_capacity");
                self.delete(name).await
            }
            Err(e) => {
                let reason = match e {
                    LaunchError::InsufficientCapacity(_) => "InsufficientCapacity",
                    LaunchError::NoOptions => "NoCompatibleInstanceTypes",
                    LaunchError::Api(_) => "LaunchFailed",
                };
                tracing::warn!(nodeclaim = %name, error = %e, "launch failed; retried");
                let conditions = with_conditions(claim, &[(CONDITION_LAUNCHED, false, reason, &e.to_string())]);
                self.patch_status(name, json!({"conditions": conditions})).await
            }
        }
    }

    async fn register(&self, name: &str, claim: &Value, node: &Node, pool: &str) -> Result<(), kube::Error> {
        let node_name = node.metadata.name.clone().unwrap_or_default();
        let mut labels = claim["metadata"]["labels"].clone();
        labels[REGISTERED_LABEL] = json!("true");
        let taints: Vec<Value> = node
            .spec
            .as_ref()
            .and_then(|s| s.taints.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|t| t.key != UNREGISTERED_TAINT)
            .filter_map(|t| serde_json::to_value(t).ok())
            .collect();
        let mut finalizers = node.metadata.finalizers.clone().unwrap_or_default();
        if !finalizers.iter().any(|f| f == TERMINATION_FINALIZER) {
            finalizers.push(TERMINATION_FINALIZER.to_string());
        }
        let nodes: Api<Node> = Api::all(self.client.clone());
        let patch = json!({
            "metadata": {"labels": labels, "finalizers": finalizers},
            "spec": {"taints": taints},
        });
        nodes.patch(&node_name, &PatchParams::default(), &Patch::Merge(patch)).await?;
        let conditions = with_conditions(claim, &[(CONDITION_REGISTERED, true, "Registered", "")]);
        self.patch_status(name, json!({"nodeName": node_name, "conditions": conditions})).await?;
        tracing::info!(nodeclaim = %name, node = %node_name, "registered");
        self.metrics.nodeclaim_registered(pool);
        Ok(())
    }

    async fn initialize(&self, name: &str, claim: &Value, node: &Node, pool: &str) -> Result<(), kube::Error> {
        let ready = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        let startup: Vec<&str> = claim["spec"]["startupTaints"]
            .as_array()
            .map(|a| a.iter().filter_map(|t| t["key"].as_str()).collect())
            .unwrap_or_default();
        let tainted = node.spec.as_ref().and_then(|s| s.taints.as_ref()).is_some_and(|ts| {
            ts.iter().any(|t| {
                fleetfit::claims::EPHEMERAL_TAINTS.contains(&t.key.as_str()) || startup.contains(&t.key.as_str())
            })
        });
        if !ready || tainted {
            return Ok(());
        }
        let node_name = node.metadata.name.clone().unwrap_or_default();
        let nodes: Api<Node> = Api::all(self.client.clone());
        let patch = json!({"metadata": {"labels": {INITIALIZED_LABEL: "true"}}});
        nodes.patch(&node_name, &PatchParams::default(), &Patch::Merge(patch)).await?;
        let conditions = with_conditions(
            claim,
            &[(CONDITION_INITIALIZED, true, "Initialized", ""), (CONDITION_READY, true, "Ready", "")],
        );
        self.patch_status(name, json!({"conditions": conditions})).await?;
        tracing::info!(nodeclaim = %name, node = %node_name, "initialized");
        self.metrics.nodeclaim_initialized(pool);
        Ok(())
    }

    /// A claim being deleted, as Karpenter's termination: its Node is deleted too (it keeps
    /// the termination finalizer meanwhile), tainted `karpenter.sh/disrupted:NoSchedule`,
    /// drained through the Eviction API ([`crate::termination`]), its volumes detached; then
    /// the instance is terminated and the node's and the claim's finalizers removed. Each
    /// pass takes the next step; nothing waits in between.
    async fn terminate(&self, name: &str, claim: &Value, pool: &str) -> Result<(), kube::Error> {
        let finalizers: Vec<String> = claim["metadata"]["finalizers"]
            .as_array()
            .map(|a| a.iter().filter_map(|f| f.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        if !finalizers.iter().any(|f| f == TERMINATION_FINALIZER) {
            return Ok(());
        }
        let deadline = termination_deadline(claim);
        if let Some(provider_id) = claim["status"]["providerID"].as_str().filter(|s| !s.is_empty()) {
            if let Some(node) =
                self.stores.nodes.find(|n| n.spec.as_ref().and_then(|s| s.provider_id.as_deref()) == Some(provider_id))
            {
                if !self.drain(name, &node, deadline, pool).await? {
                    return Ok(());
                }
            }
            if self.fencing.check().is_err() {
                return Ok(());
            }
            if let Err(e) = self.provider.delete(provider_id).await {
                tracing::warn!(nodeclaim = %name, error = %e, "terminating the instance failed; retried");
                return Ok(());
            }
            if let Some(node) =
                self.stores.nodes.find(|n| n.spec.as_ref().and_then(|s| s.provider_id.as_deref()) == Some(provider_id))
            {
                self.release_node(&node).await?;
                self.metrics.node_terminated(pool);
            }
        }
        let kept: Vec<&String> = finalizers.iter().filter(|f| *f != TERMINATION_FINALIZER).collect();
        let patch = json!({"metadata": {"finalizers": kept, "resourceVersion": claim["metadata"]["resourceVersion"]}});
        match self.claims().patch(name, &PatchParams::default(), &Patch::Merge(patch)).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e),
        }
        tracing::info!(nodeclaim = %name, "terminated");
        self.metrics.nodeclaim_terminated(pool, "deleted");
        Ok(())
    }

    /// The next step of draining `node`; `true` once it is drained and its volumes detached
    /// (or its deadline passed).
    async fn drain(&self, claim: &str, node: &Node, deadline: Option<i64>, pool: &str) -> Result<bool, kube::Error> {
        let node_name = node.metadata.name.clone().unwrap_or_default();
        let nodes: Api<Node> = Api::all(self.client.clone());
        if node.metadata.deletion_timestamp.is_none() {
            match nodes.delete(&node_name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => return Ok(true),
                Err(e) => return Err(e),
            }
        }
        let taints: Vec<Value> = node
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_ref())
            .iter()
            .flat_map(|t| t.iter())
            .filter_map(|t| serde_json::to_value(t).ok())
            .collect();
        if !taints.iter().any(|t| t["key"] == DISRUPTED_TAINT) {
            let mut taints = taints;
            taints.push(json!({"key": DISRUPTED_TAINT, "effect": "NoSchedule"}));
            let patch =
                json!({"spec": {"taints": taints}, "metadata": {"resourceVersion": node.metadata.resource_version}});
            match nodes.patch(&node_name, &PatchParams::default(), &Patch::Merge(patch)).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => return Ok(true),
                // Changed meanwhile: the next pass sees it as it is now.
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    tracing::debug!(node = %node_name, "tainting: the node changed meanwhile; retried");
                    return Ok(false);
                }
                Err(e) => return Err(e),
            }
            self.event(node, EventType::Normal, "Draining", &format!("draining for NodeClaim {claim}")).await;
        }
        let now = Timestamp::now().as_second();
        let past_deadline = deadline.is_some_and(|d| now >= d);
        let pods = self
            .stores
            .pods
            .state_filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node_name.as_str()));
        let step = crate::termination::next_step(&pods, now, deadline);
        if !step.done() && !past_deadline {
            tracing::debug!(
                node = %node_name,
                left = step.left,
                evict = ?step.evict.iter().map(|p| crate::termination::key(p)).collect::<Vec<_>>(),
                "draining"
            );
            for pod in &step.evict {
                self.evict(pod).await;
            }
            for (pod, grace) in &step.delete {
                let key = crate::termination::key(pod);
                let api: Api<Pod> =
                    Api::namespaced(self.client.clone(), pod.metadata.namespace.as_deref().unwrap_or("default"));
                let params = DeleteParams {
                    grace_period_seconds: Some(u32::try_from(*grace).unwrap_or(0)),
                    ..Default::default()
                };
                let deleted = api.delete(pod.metadata.name.as_deref().unwrap_or_default(), &params).await;
                match deleted.map(|_| ()).or_else(|e| match e {
                    kube::Error::Api(s) if s.code == 404 => Ok(()),
                    e => Err(e),
                }) {
                    Ok(()) => {
                        tracing::info!(pod = %key, node = %node_name, "deleted: the node's terminationGracePeriod ends");
                        self.metrics.pod_deleted_at_deadline();
                    }
                    Err(e) => tracing::warn!(pod = %key, error = %e, "deleting failed; retried"),
                }
            }
            if !step.do_not_disrupt.is_empty() {
                tracing::debug!(node = %node_name, pods = ?step.do_not_disrupt, "waiting for do-not-disrupt pods");
            }
            return Ok(false);
        }
        if !past_deadline {
            let attached = self.attached_volumes(&node_name, &pods);
            if attached > 0 {
                tracing::debug!(node = %node_name, attached, "drained; waiting for volumes to detach");
                return Ok(false);
            }
        }
        if !step.done() {
            tracing::warn!(node = %node_name, pods = step.left, "terminationGracePeriod ended: terminating with pods left");
        }
        self.metrics.node_drained(pool);
        self.event(node, EventType::Normal, "Drained", "drained; terminating its instance").await;
        Ok(true)
    }

    /// Asks the Eviction API to evict `pod` (unless a refusal lately says to wait).
    async fn evict(&self, pod: &Pod) {
        let key = crate::termination::key(pod);
        if !self.evictions.ready(&key) {
            return;
        }
        let api: Api<Pod> =
            Api::namespaced(self.client.clone(), pod.metadata.namespace.as_deref().unwrap_or("default"));
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        match api.evict(name, &kube::api::EvictParams::default()).await {
            Ok(_) => {
                self.evictions.forget(&key);
                self.metrics.eviction(200);
                tracing::info!(pod = %key, "evicted");
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {
                self.evictions.forget(&key);
                self.metrics.eviction(404);
                tracing::debug!(pod = %key, "eviction: the pod is gone");
            }
            // A PodDisruptionBudget allows no eviction now (429), or cannot say (500, a pod
            // two budgets select): asked again later, never forced.
            Err(kube::Error::Api(s)) => {
                self.evictions.refused(&key);
                self.metrics.eviction(s.code);
                tracing::info!(pod = %key, code = s.code, reason = %s.message, "eviction refused; asked again later");
            }
            Err(e) => {
                self.evictions.refused(&key);
                tracing::warn!(pod = %key, error = %e, "eviction failed; asked again later");
            }
        }
    }

    /// How many volumes are still attached to the node, those of pods that stay (not drained)
    /// left out.
    fn attached_volumes(&self, node: &str, pods: &[Arc<Pod>]) -> usize {
        let staying_claims: Vec<(String, String)> = pods
            .iter()
            .filter(|p| !crate::termination::drainable(p))
            .flat_map(|p| {
                let ns = p.metadata.namespace.clone().unwrap_or_default();
                p.spec
                    .iter()
                    .flat_map(|s| s.volumes.iter().flatten())
                    .filter_map(move |v| Some((ns.clone(), v.persistent_volume_claim.as_ref()?.claim_name.clone())))
            })
            .collect();
        let staying: Vec<String> = staying_claims
            .iter()
            .filter_map(|(ns, name)| {
                let pvc = self.stores.pvcs.find(|c| {
                    c.metadata.namespace.as_deref() == Some(ns.as_str())
                        && c.metadata.name.as_deref() == Some(name.as_str())
                })?;
                pvc.spec.as_ref()?.volume_name.clone()
            })
            .collect();
        self.stores
            .volume_attachments
            .state()
            .iter()
            .filter(|a| a.spec.node_name == node)
            .filter(|a| a.spec.source.persistent_volume_name.as_ref().is_none_or(|pv| !staying.contains(pv)))
            .count()
    }

    /// Removes the termination finalizer from a node being deleted (it then goes).
    async fn release_node(&self, node: &Node) -> Result<(), kube::Error> {
        let node_name = node.metadata.name.clone().unwrap_or_default();
        let kept: Vec<String> =
            node.metadata.finalizers.iter().flatten().filter(|f| *f != TERMINATION_FINALIZER).cloned().collect();
        let nodes: Api<Node> = Api::all(self.client.clone());
        let patch = json!({"metadata": {"finalizers": kept}});
        match nodes.patch(&node_name, &PatchParams::default(), &Patch::Merge(patch)).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn event(&self, node: &Node, type_: EventType, reason: &str, note: &str) {
        let event =
            Event { type_, reason: reason.into(), note: Some(note.into()), action: reason.into(), secondary: None };
        if let Err(e) = self.recorder.publish(&event, &node.object_ref(&())).await {
            tracing::debug!(error = %e, "event not written");
        }
    }

    async fn delete(&self, name: &str) -> Result<(), kube::Error> {
        match self.claims().delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn patch_status(&self, name: &str, status: Value) -> Result<(), kube::Error> {
        self.claims().patch_status(name, &PatchParams::default(), &Patch::Merge(json!({"status": status}))).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_condition_keeps_its_transition_time_while_its_status_holds() {
        let claim = json!({"metadata": {"generation": 1}, "status": {"conditions": [
            {"type": "Launched", "status": "True", "reason": "Launched", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"},
        ]}});
        let next = with_conditions(
            &claim,
            &[(CONDITION_LAUNCHED, true, "Launched", ""), (CONDITION_REGISTERED, true, "Registered", "")],
        );
        let list = next.as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["lastTransitionTime"], "2026-01-01T00:00:00Z");
        assert_eq!(list[1]["type"], "Registered");
        assert_eq!(list[1]["observedGeneration"], 1);
        let failed = with_conditions(&claim, &[(CONDITION_LAUNCHED, false, "LaunchFailed", "no")]);
        assert_ne!(failed[0]["lastTransitionTime"], "2026-01-01T00:00:00Z");
        assert_eq!(failed[0]["status"], "False");
    }
}

//! The provisioning loop, as Karpenter's: pending pods are batched (a batch closes after an idle
//! second, or ten seconds at most), the core plans on the whole cluster (NodeClaims in flight
//! count as nodes to come), and a NodeClaim is created for each new node of the plan. Pods get
//! an Event naming the NodeClaim they wait for, or the core's reasons why none can take them.

use crate::state::{self, Object, Stores};
use crate::Metrics;
use fleetfit::model::NodeClaim;
use fleetfit::plan::{Plan, PlanOptions};
use fleetfit::Catalog;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType, Recorder};
use kube::Client;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// When a batch of pending pods closes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchWindow {
    /// No new pod for this long.
    pub idle: Duration,
    /// At most this long after the batch opened.
    pub max: Duration,
}

impl Default for BatchWindow {
    fn default() -> Self {
        BatchWindow { idle: Duration::from_secs(1), max: Duration::from_secs(10) }
    }
}

impl BatchWindow {
    /// Waits for the first change, then until the batch closes.
    pub async fn wait(&self, changes: &tokio::sync::Notify) {
        changes.notified().await;
        let opened = tokio::time::Instant::now();
        loop {
            let left = self.max.saturating_sub(opened.elapsed());
            if left.is_zero() {
                return;
            }
            match tokio::time::timeout(self.idle.min(left), changes.notified()).await {
                Ok(()) => continue,
                Err(_) => return,
            }
        }
    }
}

/// NodeClaims this controller created that its cache may not show yet: they count in the next
/// snapshot all the same, so the same pods never cause two launches.
#[derive(Default)]
pub struct Recent(Mutex<Vec<(Instant, Object)>>);

impl Recent {
    /// How long a created claim is remembered at most (the cache shows it well before).
    const KEEP: Duration = Duration::from_secs(60);

    pub(crate) fn add(&self, object: Object) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push((Instant::now(), object));
    }

    /// Forgets the claims the cache has shown (`names`): from then on the cache says whether
    /// they exist, and a claim deleted at once is not counted for [`Recent::KEEP`] more.
    pub fn seen<'a>(&self, names: impl IntoIterator<Item = &'a str>) {
        let mut recent = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if recent.is_empty() {
            return;
        }
        let names: std::collections::HashSet<&str> = names.into_iter().collect();
        recent.retain(|(_, o)| !names.contains(o.name.as_str()));
    }

    /// Whether `name` is a claim created lately.
    pub fn contains(&self, name: &str) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).iter().any(|(_, o)| o.name == name)
    }

    /// `objects` with the recent claims the cache lacks.
    pub fn complete(&self, mut objects: Vec<Object>) -> Vec<Object> {
        let mut recent = self.0.lock().unwrap_or_else(|e| e.into_inner());
        recent.retain(|(at, o)| {
            at.elapsed() < Self::KEEP && !objects.iter().any(|x| x.kind == "NodeClaim" && x.name == o.name)
        });
        objects.extend(recent.iter().map(|(_, o)| o.clone()));
        objects
    }
}

/// What a provisioning pass did.
#[derive(Debug, Default)]
pub struct Pass {
    pub plan: Option<Plan>,
    /// Names of the NodeClaims created.
    pub created: Vec<String>,
    /// Objects the core refused, with its message.
    pub refused: Vec<(String, String)>,
}

/// The provisioner's parts.
pub struct Provisioner {
    pub client: Client,
    pub stores: Stores,
    pub catalog: Catalog,
    pub options: PlanOptions,
    pub recent: Arc<Recent>,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    /// Shadow mode: plan and report, write nothing ([`crate::shadow`]).
    pub shadow: bool,
    /// Pending pods the last plan placed (on new or existing nodes): the disruption loop waits
    /// while there are any.
    pub placing: Arc<std::sync::atomic::AtomicUsize>,
    /// Writes go only while this replica leads.
    pub fencing: crate::leader::Fencing,
    /// Offerings out of capacity lately (the providers mark them): plans avoid them.
    pub unavailable: Arc<crate::cloud::Unavailable>,
    /// The catalog with the last marks applied, and those marks.
    marked: Mutex<Option<(Vec<crate::cloud::OfferingKey>, Catalog)>>,
    /// A NodeClaim creation got no answer: the claims are listed before the next plan.
    unsure: std::sync::atomic::AtomicBool,
    /// When each pod was last told it cannot be placed (at most once in
    /// [`Provisioner::REPEAT_UNSCHEDULABLE`]).
    told: Mutex<HashMap<String, Instant>>,
    /// Pods placed by a plan and not yet bound: pod → (node or NodeClaim, when).
    nominations: Mutex<HashMap<String, (String, Instant)>>,
    /// The validation last reported per NodePool and EC2NodeClass (`Kind/name` → the core's
    /// message, empty when valid).
    validated: Mutex<HashMap<String, String>>,
}

impl Provisioner {
    /// How often a pod is told again why it cannot be placed.
    pub const REPEAT_UNSCHEDULABLE: Duration = Duration::from_secs(300);

    pub fn new(
        client: Client,
        stores: Stores,
        catalog: Catalog,
        options: PlanOptions,
        recorder: Recorder,
        metrics: Arc<Metrics>,
    ) -> Provisioner {
        Provisioner {
            client,
            stores,
            catalog,
            options,
            recent: Arc::new(Recent::default()),
            recorder,
            metrics,
            shadow: false,
            placing: Arc::default(),
            fencing: Default::default(),
            unavailable: Arc::default(),
            marked: Mutex::default(),
            unsure: Default::default(),
            told: Mutex::default(),
            nominations: Mutex::default(),
            validated: Mutex::default(),
        }
    }

    /// The catalog to plan with: offerings out of capacity lately unavailable.
    fn catalog_now(&self) -> Catalog {
        let marks = self.unavailable.offerings();
        if marks.is_empty() {
            return self.catalog.clone();
        }
        let mut marked = self.marked.lock().unwrap_or_else(|e| e.into_inner());
        match &*marked {
            Some((m, catalog)) if *m == marks => catalog.clone(),
            _ => {
                let catalog = self.catalog.clone().without_offerings(&marks);
                *marked = Some((marks, catalog.clone()));
                catalog
            }
        }
    }

    /// After a NodeClaim creation whose outcome is unknown, the claims as the API server has
    /// them (the cache may lag): those it lacks join the recent ones. `false` while the API
    /// server cannot say: planning then could launch the same pods twice.
    async fn settle(&self) -> bool {
        use std::sync::atomic::Ordering;
        if !self.unsure.load(Ordering::SeqCst) {
            return true;
        }
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &state::karpenter_resource("NodeClaim"));
        match api.list(&kube::api::ListParams::default()).await {
            Ok(list) => {
                for claim in list {
                    let name = claim.metadata.name.clone().unwrap_or_default();
                    let cached = self.stores.nodeclaims.find(|c| c.metadata.name.as_deref() == Some(&name)).is_some();
                    if !cached && !self.recent.contains(&name) {
                        let value =
                            state::karpenter_value("NodeClaim", serde_json::to_value(&claim).unwrap_or(Value::Null));
                        self.recent.add(Object { kind: "NodeClaim".into(), name, value });
                    }
                }
                self.unsure.store(false, Ordering::SeqCst);
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "a NodeClaim creation may have happened; not planning until the API server says");
                false
            }
        }
    }

    /// One pass: plan on the cluster as it is, and create the NodeClaims of the plan's new
    /// nodes. Does nothing when no pod is pending.
    pub async fn pass(&self) -> Pass {
        if !self.shadow && (self.fencing.check().is_err() || !self.settle().await) {
            return Pass::default();
        }
        let catalog = self.catalog_now();
        let started = Instant::now();
        let objects = self.nominated(self.recent.complete(self.stores.objects()));
        let snapshot = state::read(objects);
        let mut pass = Pass::default();
        for (object, why) in &snapshot.refused {
            tracing::warn!(kind = %object.kind, name = %object.name, error = %why, "left out of the plan");
        }
        let mut inventory = snapshot.inventory;
        let mut refused = snapshot.refused;
        let pending = inventory.pending_pods().count();
        self.metrics.set_pending(pending);
        // A NodePool (or node class) the core refuses against the catalog (a value no
        // instance type has, ...) is left out and reported; the others are still served.
        while !inventory.nodepools.is_empty() {
            let Err(e) =
                fleetfit::filter::FilterContext::new(&inventory.nodepools, &inventory.nodeclasses, &[], &catalog)
            else {
                break;
            };
            let mut faulty = Vec::new();
            for error in e.flatten() {
                if let fleetfit::Error::Field { object, .. } = error {
                    if let Some((kind @ ("NodePool" | "EC2NodeClass"), name)) = object.split_once(' ') {
                        faulty.push((kind.to_string(), name.to_string(), error.to_string()));
                    }
                }
            }
            if faulty.is_empty() {
                tracing::error!(error = %e, "the NodePools cannot be used");
                inventory.nodepools.clear();
            }
            for (kind, name, why) in faulty {
                inventory.nodepools.retain(|p| {
                    let class = p.node_class_ref.as_ref().map(|r| r.name.as_str());
                    !(kind == "NodePool" && p.name == name || kind == "EC2NodeClass" && class == Some(name.as_str()))
                });
                let value = json!({"metadata": {"name": name}});
                refused.push((Object { kind, name, value }, why));
            }
        }
        let plan = if pending == 0 || inventory.nodepools.is_empty() {
            None
        } else {
            match fleetfit::pack::plan(&inventory, &catalog, &self.options) {
                Ok(plan) => Some(plan),
                Err(e) => {
                    tracing::error!(error = %e, "the core could not plan");
                    None
                }
            }
        };
        let placing =
            plan.as_ref().map_or(0, |p| p.existing.len() + p.nodes.iter().map(|n| n.pods.len()).sum::<usize>());
        self.placing.store(placing, std::sync::atomic::Ordering::SeqCst);
        if !self.shadow {
            self.report_validation(&refused).await;
        }
        pass.refused = refused.iter().map(|(o, why)| (format!("{} {}", o.kind, o.name), why.clone())).collect();
        if pending == 0 {
            return pass;
        }
        if inventory.nodepools.is_empty() {
            tracing::info!(pending, "pending pods, but no NodePool to launch them with");
            return pass;
        }
        let Some(plan) = plan else { return pass };
        if self.shadow {
            tracing::info!(
                pending,
                new_nodes = plan.nodes.len(),
                cost_per_hour = plan.cost_per_hour,
                lower_bound_per_hour = plan.lower_bound_per_hour,
                unschedulable = plan.unschedulable.len(),
                "shadow: would launch"
            );
            self.metrics.observe_plan(&plan, started.elapsed());
            pass.plan = Some(plan);
            return pass;
        }
        tracing::info!(
            pending,
            nodes = inventory.nodes.len(),
            nodeclaims = inventory.nodeclaims.len(),
            nodepools = inventory.nodepools.len(),
            "planned"
        );
        self.metrics.observe_plan(&plan, started.elapsed());
        let pools: BTreeMap<String, Value> = self
            .stores
            .nodepools
            .state()
            .iter()
            .filter_map(|p| Some((p.metadata.name.clone()?, serde_json::to_value(&**p).ok()?)))
            .collect();
        let classes: BTreeMap<String, Value> = self
            .stores
            .nodeclasses
            .state()
            .iter()
            .filter_map(|c| Some((c.metadata.name.clone()?, serde_json::to_value(&**c).ok()?)))
            .collect();
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &state::karpenter_resource("NodeClaim"));
        let mut nominated: Vec<(String, String)> =
            plan.existing.iter().map(|e| (e.pod.clone(), e.node.clone())).collect();
        for node in &plan.nodes {
            let Some(claim) = fleetfit::claims::for_planned("", node, &inventory.nodepools) else { continue };
            let Some(pool) = pools.get(node.nodepool.as_str()) else { continue };
            let class = claim.node_class_ref.as_ref().and_then(|r| classes.get(r.name.as_str()));
            let object = match serde_json::from_value::<DynamicObject>(claim_object(&claim, pool, class)) {
                Ok(o) => o,
                Err(e) => {
                    tracing::error!(error = %e, "a NodeClaim that does not serialize");
                    continue;
                }
            };
            if self.fencing.check().is_err() {
                tracing::warn!("no longer leading: no more NodeClaims created");
                break;
            }
            match api.create(&PostParams::default(), &object).await {
                Ok(created) => {
                    let name = created.metadata.name.clone().unwrap_or_default();
                    tracing::info!(
                        nodeclaim = %name, nodepool = %node.nodepool, instance_type = %node.instance_type,
                        zone = %node.zone, capacity_type = %node.capacity_type, pods = node.pods.len(),
                        "created NodeClaim"
                    );
                    self.metrics.nodeclaim_created(&node.nodepool, "provisioning");
                    let value =
                        state::karpenter_value("NodeClaim", serde_json::to_value(&created).unwrap_or(Value::Null));
                    self.recent.add(Object { kind: "NodeClaim".into(), name: name.clone(), value });
                    nominated.extend(node.pods.iter().map(|p| (p.clone(), name.clone())));
                    pass.created.push(name);
                }
                Err(e) => {
                    // No answer (or the server's own failure): the claim may exist all the same.
                    let refused = matches!(&e, kube::Error::Api(s) if s.code < 500);
                    if !refused {
                        self.unsure.store(true, std::sync::atomic::Ordering::SeqCst);
                    }
                    tracing::error!(nodepool = %node.nodepool, error = %e, "creating a NodeClaim failed");
                }
            }
        }
        self.tell_pods(&plan, &nominated).await;
        pass.plan = Some(plan);
        pass
    }

    /// Events on pods: the node or NodeClaim each newly waits for, and for each pod no node can
    /// take, the core's reasons (again at most every five minutes). Records the nominations.
    async fn tell_pods(&self, plan: &Plan, nominated: &[(String, String)]) {
        let now = Instant::now();
        let fresh: Vec<(String, String)> = {
            let mut nominations = self.nominations.lock().unwrap_or_else(|e| e.into_inner());
            nominated
                .iter()
                .filter(|(pod, node)| {
                    let same = nominations.get(pod).is_some_and(|(n, _)| n == node);
                    nominations.insert(pod.clone(), (node.clone(), now));
                    !same
                })
                .cloned()
                .collect()
        };
        for (pod, node) in &fresh {
            let is_claim = self.recent.contains(node)
                || self.stores.nodeclaims.state().iter().any(|c| c.metadata.name.as_deref() == Some(node));
            let target = if is_claim { format!("nodeclaim/{node}") } else { format!("node/{node}") };
            self.event(pod, EventType::Normal, "Nominated", &format!("Pod should schedule on: {target}")).await;
        }
        for u in &plan.unschedulable {
            {
                let mut told = self.told.lock().unwrap_or_else(|e| e.into_inner());
                if told.get(&u.pod).is_some_and(|at| now.duration_since(*at) < Self::REPEAT_UNSCHEDULABLE) {
                    continue;
                }
                told.insert(u.pod.clone(), now);
            }
            let mut note = format!("Failed to schedule pod, {}", u.reasons.join("; "));
            note.truncate(1000);
            self.event(&u.pod, EventType::Warning, "FailedScheduling", &note).await;
        }
    }

    /// `objects` with each pending pod a plan placed on a NodeClaim, while that node starts,
    /// bound there: its room is kept for it. A nomination ends when the pod is bound or gone,
    /// or its NodeClaim is gone or initialized (kube-scheduler's turn: a pod it did not bind
    /// is planned again with the others, on the cluster as it is).
    fn nominated(&self, mut objects: Vec<Object>) -> Vec<Object> {
        let mut nominations = self.nominations.lock().unwrap_or_else(|e| e.into_inner());
        if nominations.is_empty() {
            return objects;
        }
        // Per live claim: its node (once registered; else the claim stands for it) and whether
        // it is initialized.
        let mut claim_node: HashMap<String, (String, bool)> = HashMap::new();
        for o in objects.iter().filter(|o| o.kind == "NodeClaim" && o.value["metadata"]["deletionTimestamp"].is_null())
        {
            let node = o.value["status"]["nodeName"].as_str().unwrap_or(&o.name).to_string();
            let initialized = o.value["status"]["conditions"].as_array().is_some_and(|cs| {
                cs.iter().any(|c| c["type"] == crate::crds::CONDITION_INITIALIZED && c["status"] == "True")
            });
            claim_node.insert(o.name.clone(), (node, initialized));
        }
        let mut pending: HashMap<String, usize> = HashMap::new();
        for (i, o) in objects.iter().enumerate() {
            if o.kind == "Pod" && o.value["spec"]["nodeName"].as_str().is_none_or(str::is_empty) {
                let namespace = o.value["metadata"]["namespace"].as_str().unwrap_or("default");
                pending.insert(format!("{namespace}/{}", o.name), i);
            }
        }
        // A pod waits on the claim it was planned for while that node starts; once it is
        // initialized (or for an existing node at once) the pod is kube-scheduler's, and
        // planned again with the others if it is still pending: the node's room may have gone
        // to other pods meanwhile.
        nominations.retain(|pod, (place, _)| {
            let Some(&i) = pending.get(pod) else { return false };
            let Some((node, false)) = claim_node.get(place.as_str()) else { return false };
            objects[i].value["spec"]["nodeName"] = json!(node);
            true
        });
        objects
    }

    /// Each NodePool and EC2NodeClass's `ValidationSucceeded` and `Ready` conditions, and a
    /// Warning Event naming the field when the core refuses one; written when that changes.
    async fn report_validation(&self, refused: &[(Object, String)]) {
        for (kind, store) in [("NodePool", &self.stores.nodepools), ("EC2NodeClass", &self.stores.nodeclasses)] {
            let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &state::karpenter_resource(kind));
            for object in store.state() {
                let Some(name) = object.metadata.name.clone() else { continue };
                let problem =
                    refused.iter().find(|(o, _)| o.kind == kind && o.name == name).map(|(_, why)| why.clone());
                let key = format!("{kind}/{name}");
                let verdict = problem.clone().unwrap_or_default();
                {
                    let mut reported = self.validated.lock().unwrap_or_else(|e| e.into_inner());
                    if reported.get(&key) == Some(&verdict) {
                        continue;
                    }
                    reported.insert(key.clone(), verdict);
                }
                let Ok(value) = serde_json::to_value(&*object) else { continue };
                let ok = problem.is_none();
                let message = problem.clone().unwrap_or_default();
                let reason = if ok { "ValidationSucceeded" } else { "ValidationFailed" };
                let ready_reason = if ok { "Ready" } else { "ValidationFailed" };
                let conditions = crate::lifecycle::with_conditions(
                    &value,
                    &[
                        (crate::crds::CONDITION_VALIDATION_SUCCEEDED, ok, reason, &message),
                        (crate::crds::CONDITION_READY, ok, ready_reason, &message),
                    ],
                );
                let patch = Patch::Merge(json!({"status": {"conditions": conditions}}));
                if let Err(e) = api.patch_status(&name, &PatchParams::default(), &patch).await {
                    tracing::warn!(kind, name, error = %e, "status not written");
                }
                if let Some(why) = problem {
                    let reference = kube::Resource::object_ref(&*object, &state::karpenter_resource(kind));
                    let event = Event {
                        type_: EventType::Warning,
                        reason: "FailedValidation".into(),
                        note: Some(why.chars().take(1000).collect()),
                        action: "Validating".into(),
                        secondary: None,
                    };
                    if let Err(e) = self.recorder.publish(&event, &reference).await {
                        tracing::debug!(kind, name, error = %e, "event not written");
                    }
                }
            }
        }
    }

    async fn event(&self, pod: &str, type_: EventType, reason: &str, note: &str) {
        let Some((namespace, name)) = pod.split_once('/') else { return };
        let Some(found) = self
            .stores
            .pods
            .find(|p| p.metadata.namespace.as_deref() == Some(namespace) && p.metadata.name.as_deref() == Some(name))
        else {
            return;
        };
        let reference = kube::Resource::object_ref(&*found, &());
        let event = Event {
            type_,
            reason: reason.to_string(),
            note: Some(note.to_string()),
            action: "Provisioning".to_string(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&event, &reference).await {
            tracing::debug!(pod, error = %e, "event not written");
        }
    }
}

/// The NodeClaim object for a planned node's claim, owned by its NodePool `pool` (as the API
/// server gave it): named by the server after the pool, with the termination finalizer and
/// the pool's template hash.
pub fn claim_object(claim: &NodeClaim, pool: &Value, class: Option<&Value>) -> Value {
    let pool_name = pool["metadata"]["name"].as_str().unwrap_or_default();
    let template_spec = &pool["spec"]["template"]["spec"];
    let taints = |list: &[fleetfit::taints::Taint]| -> Vec<Value> {
        list.iter()
            .map(|t| {
                let mut v = json!({"key": t.key, "effect": t.effect.to_string()});
                if !t.value.is_empty() {
                    v["value"] = json!(t.value);
                }
                v
            })
            .collect()
    };
    let requirements: Vec<Value> = claim
        .requirements
        .iter()
        .map(|r| {
            let mut v = json!({"key": r.key, "operator": r.operator.to_string()});
            if !r.values.is_empty() {
                v["values"] = json!(r.values);
            }
            if let Some(m) = r.min_values {
                v["minValues"] = json!(m);
            }
            v
        })
        .collect();
    let mut annotations = claim.annotations.clone();
    annotations.extend(crate::drift::stamps(pool, class));
    let mut spec = json!({
        "requirements": requirements,
        "resources": {"requests": crate::cloud::resource_list(&claim.requests)},
    });
    if let Some(r) = &claim.node_class_ref {
        spec["nodeClassRef"] = json!({"group": r.group, "kind": r.kind, "name": r.name});
    }
    if !claim.taints.is_empty() {
        spec["taints"] = json!(taints(&claim.taints));
    }
    if !claim.startup_taints.is_empty() {
        spec["startupTaints"] = json!(taints(&claim.startup_taints));
    }
    for field in ["expireAfter", "terminationGracePeriod"] {
        if let Some(v) = template_spec.get(field).filter(|v| !v.is_null()) {
            spec[field] = v.clone();
        }
    }
    json!({
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodeClaim",
        "metadata": {
            "generateName": format!("{pool_name}-"),
            "labels": claim.labels,
            "annotations": annotations,
            "finalizers": [crate::crds::TERMINATION_FINALIZER],
            "ownerReferences": [{
                "apiVersion": "karpenter.sh/v1",
                "kind": "NodePool",
                "name": pool_name,
                "uid": pool["metadata"]["uid"],
                "blockOwnerDeletion": true,
            }],
        },
        "spec": spec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> Value {
        json!({
            "apiVersion": "karpenter.sh/v1", "kind": "NodePool",
            "metadata": {"name": "general", "uid": "u-1"},
            "spec": {"template": {"metadata": {"labels": {"team": "web"}}, "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
                "expireAfter": "720h",
                "requirements": [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]}],
            }}},
        })
    }

    #[test]
    fn a_nodeclaim_is_owned_by_its_pool_and_carries_its_hash() {
        let yaml = serde_yaml::to_string(&pool()).unwrap();
        let inventory = fleetfit::manifest::parse("pool.yaml", &yaml).expect("a valid NodePool");
        let requests = fleetfit::resources::Resources { cpu: fleetfit::Millicores(1500), ..Default::default() };
        let node = fleetfit::plan::PlannedNode {
            name: "general-1".into(),
            nodepool: "general".into(),
            instance_type: "m5.large".into(),
            zone: "us-east-1a".into(),
            capacity_type: "on-demand".into(),
            price_per_hour: 0.096,
            instance_types: vec!["m5.large".into(), "m5.xlarge".into()],
            pods: vec![],
            linux_priced: false,
            requests: requests.clone(),
            allocatable: requests,
            utilisation: fleetfit::plan::Utilisation { cpu: 1.0, memory: 0.0 },
        };
        let claim = fleetfit::claims::for_planned("", &node, &inventory.nodepools).unwrap();
        let object = claim_object(&claim, &pool(), None);
        assert_eq!(object["metadata"]["generateName"], "general-");
        assert_eq!(object["metadata"]["ownerReferences"][0]["uid"], "u-1");
        assert_eq!(object["metadata"]["finalizers"][0], "karpenter.sh/termination");
        assert_eq!(object["metadata"]["labels"]["karpenter.sh/nodepool"], "general");
        assert_eq!(object["metadata"]["labels"]["team"], "web");
        assert_eq!(object["spec"]["expireAfter"], "720h");
        assert_eq!(object["spec"]["resources"]["requests"]["cpu"], "1500m");
        let types = object["spec"]["requirements"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == "node.kubernetes.io/instance-type")
            .unwrap();
        assert_eq!(types["values"], json!(["m5.large", "m5.xlarge"]));
        let hash = crate::drift::nodepool_hash(&pool());
        assert_eq!(object["metadata"]["annotations"]["karpenter.sh/nodepool-hash"], json!(hash));
        assert_eq!(object["metadata"]["annotations"]["karpenter.sh/nodepool-hash-version"], "fleetfit-v1");
    }

    #[test]
    fn a_recent_claim_counts_until_the_cache_has_shown_it() {
        let recent = Recent::default();
        let claim = |name: &str| Object { kind: "NodeClaim".into(), name: name.into(), value: json!({}) };
        recent.add(claim("a"));
        recent.add(claim("b"));
        // Not in the cache yet: both count.
        assert_eq!(recent.complete(Vec::new()).len(), 2);
        // The cache showed "a" (and then it was deleted): it no longer counts.
        recent.seen(["a"]);
        let names: Vec<String> = recent.complete(Vec::new()).into_iter().map(|o| o.name).collect();
        assert_eq!(names, ["b"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_closes_after_an_idle_second_or_ten_seconds() {
        let window = BatchWindow::default();
        let changes = Arc::new(tokio::sync::Notify::new());
        // One change, then quiet: closes a second later.
        changes.notify_one();
        let start = tokio::time::Instant::now();
        window.wait(&changes).await;
        assert_eq!(start.elapsed().as_millis(), 1000);
        // A change every half second: closes at ten seconds.
        let feeder = {
            let changes = changes.clone();
            tokio::spawn(async move {
                loop {
                    changes.notify_one();
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            })
        };
        let start = tokio::time::Instant::now();
        window.wait(&changes).await;
        feeder.abort();
        let waited = start.elapsed().as_millis();
        assert!((10_000..10_100).contains(&waited), "{waited} ms");
    }
}

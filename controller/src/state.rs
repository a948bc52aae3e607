//! The cluster as the controller sees it: a reflector (a watch and a local cache) per kind the
//! core reads, and the snapshot the core plans on. The snapshot is the objects as the API
//! server gave them, read by the core's own manifest reader, the reader the CLI uses on
//! `kubectl get -o json`: the controller has no parser and no scheduling logic of its own.

use futures::StreamExt;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::{StorageClass, VolumeAttachment};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::Notify;

/// The Karpenter kinds, watched as dynamic objects: the snapshot needs them as JSON anyway.
pub fn karpenter_resource(kind: &str) -> ApiResource {
    let (group, plural) = match kind {
        "NodePool" => ("karpenter.sh", "nodepools"),
        "NodeClaim" => ("karpenter.sh", "nodeclaims"),
        _ => ("karpenter.k8s.aws", "ec2nodeclasses"),
    };
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1", kind), plural)
}

/// The local caches, one per kind.
#[derive(Clone)]
pub struct Stores {
    pub pods: Store<Pod>,
    pub nodes: Store<Node>,
    pub daemonsets: Store<DaemonSet>,
    pub pdbs: Store<PodDisruptionBudget>,
    pub pvcs: Store<PersistentVolumeClaim>,
    pub pvs: Store<PersistentVolume>,
    pub storage_classes: Store<StorageClass>,
    /// Which volumes are attached to which node: a drained node waits for its volumes to detach.
    pub volume_attachments: Store<VolumeAttachment>,
    pub nodepools: Store<DynamicObject>,
    pub nodeclaims: Store<DynamicObject>,
    pub nodeclasses: Store<DynamicObject>,
}

/// What changed, for the loops that wait on it.
#[derive(Default)]
pub struct Changes {
    /// A pod was added or changed (the provisioner's batch may start).
    pub pods: Notify,
    /// A NodeClaim or a Node was added or changed (the lifecycle loop runs).
    pub claims: Notify,
}

impl Stores {
    /// Starts a reflector per kind on `client`; each change wakes the loops in `changes`.
    /// The watches resume by themselves (with backoff) when the API server goes away.
    pub fn start(client: &Client, changes: Arc<Changes>) -> Stores {
        fn watch<K, F>(api: Api<K>, changes: Arc<Changes>, wake: F) -> Store<K>
        where
            K: kube::Resource<DynamicType = ()>
                + Clone
                + std::fmt::Debug
                + serde::de::DeserializeOwned
                + Send
                + Sync
                + 'static,
            F: Fn(&Changes) + Send + 'static,
        {
            let (reader, writer) = reflector::store();
            let stream = watcher(api, watcher::Config::default())
                .default_backoff()
                .modify(forget_managed_fields)
                .reflect(writer)
                .applied_objects();
            tokio::spawn(async move {
                futures::pin_mut!(stream);
                while let Some(event) = stream.next().await {
                    match event {
                        Ok(_) => wake(&changes),
                        Err(e) => tracing::warn!(error = %e, "watch error; it resumes"),
                    }
                }
            });
            reader
        }
        fn watch_dynamic(
            client: &Client,
            kind: &str,
            changes: Arc<Changes>,
            wakes_claims: bool,
        ) -> Store<DynamicObject> {
            let resource = karpenter_resource(kind);
            let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
            let writer = reflector::store::Writer::new(resource);
            let reader = writer.as_reader();
            let stream = watcher(api, watcher::Config::default())
                .default_backoff()
                .modify(forget_managed_fields)
                .reflect(writer)
                .applied_objects();
            let kind = kind.to_string();
            tokio::spawn(async move {
                futures::pin_mut!(stream);
                while let Some(event) = stream.next().await {
                    match event {
                        Ok(_) if wakes_claims => changes.claims.notify_one(),
                        Ok(_) => changes.pods.notify_one(),
                        Err(e) => tracing::warn!(kind, error = %e, "watch error; it resumes"),
                    }
                }
            });
            reader
        }
        let all = |c: &Changes| {
            c.pods.notify_one();
            c.claims.notify_one();
        };
        let none = |_: &Changes| {};
        Stores {
            pods: watch(Api::all(client.clone()), changes.clone(), all),
            nodes: watch(Api::all(client.clone()), changes.clone(), |c: &Changes| c.claims.notify_one()),
            daemonsets: watch(Api::all(client.clone()), changes.clone(), none),
            pdbs: watch(Api::all(client.clone()), changes.clone(), none),
            pvcs: watch(Api::all(client.clone()), changes.clone(), none),
            pvs: watch(Api::all(client.clone()), changes.clone(), none),
            storage_classes: watch(Api::all(client.clone()), changes.clone(), none),
            volume_attachments: watch(Api::all(client.clone()), changes.clone(), |c: &Changes| c.claims.notify_one()),
            nodepools: watch_dynamic(client, "NodePool", changes.clone(), false),
            nodeclaims: watch_dynamic(client, "NodeClaim", changes.clone(), true),
            nodeclasses: watch_dynamic(client, "EC2NodeClass", changes, false),
        }
    }

    /// Waits until every cache has its first full list. Call it from one task at a time: a
    /// cache wakes only its last waiter.
    pub async fn ready(&self) -> Result<(), reflector::store::WriterDropped> {
        self.pods.wait_until_ready().await?;
        self.nodes.wait_until_ready().await?;
        self.daemonsets.wait_until_ready().await?;
        self.pdbs.wait_until_ready().await?;
        self.pvcs.wait_until_ready().await?;
        self.pvs.wait_until_ready().await?;
        self.storage_classes.wait_until_ready().await?;
        self.volume_attachments.wait_until_ready().await?;
        self.nodepools.wait_until_ready().await?;
        self.nodeclaims.wait_until_ready().await?;
        self.nodeclasses.wait_until_ready().await
    }

    /// The cluster as objects for the core: every node, NodeClaim, NodePool and node class,
    /// DaemonSet, PDB and volume object; the pods bound to nodes (not finished); and the
    /// pending pods Karpenter would provision for ([`provisionable`]).
    pub fn objects(&self) -> Vec<Object> {
        let mut out = Vec::new();
        fn typed<K: Serialize + kube::Resource<DynamicType = ()>>(out: &mut Vec<Object>, items: Vec<Arc<K>>) {
            for item in items {
                if let Ok(value) = serde_json::to_value(&*item) {
                    out.push(Object::new(
                        K::kind(&()).to_string(),
                        item.meta().name.clone().unwrap_or_default(),
                        value,
                    ));
                }
            }
        }
        fn dynamic(out: &mut Vec<Object>, items: Vec<Arc<DynamicObject>>, kind: &str) {
            for item in items {
                if let Ok(value) = serde_json::to_value(&*item) {
                    let value = karpenter_value(kind, value);
                    out.push(Object::new(kind.to_string(), item.metadata.name.clone().unwrap_or_default(), value));
                }
            }
        }
        typed(&mut out, self.nodes.state());
        dynamic(&mut out, self.nodeclaims.state(), "NodeClaim");
        dynamic(&mut out, self.nodepools.state(), "NodePool");
        dynamic(&mut out, self.nodeclasses.state(), "EC2NodeClass");
        typed(&mut out, self.daemonsets.state());
        typed(&mut out, self.pdbs.state());
        typed(&mut out, self.pvcs.state());
        typed(&mut out, self.pvs.state());
        typed(&mut out, self.storage_classes.state());
        let pods = self.pods.state_filter(|p| bound_and_running(p) || provisionable(p));
        typed(&mut out, pods);
        out
    }
}

/// The caches keep objects without `metadata.managedFields`: nothing here reads them, and
/// they are often half of an object.
fn forget_managed_fields<K: kube::Resource>(object: &mut K) {
    object.meta_mut().managed_fields = None;
}

/// A Karpenter object (`NodeClaim`, `NodePool`, `EC2NodeClass`) as JSON with its `apiVersion`
/// and `kind`, which the objects of a dynamic watch lack.
pub fn karpenter_value(kind: &str, mut value: Value) -> Value {
    value["apiVersion"] = Value::from(karpenter_resource(kind).api_version);
    value["kind"] = Value::from(kind);
    value
}

/// One object of the snapshot, as JSON with its kind and name.
#[derive(Debug, Clone)]
pub struct Object {
    pub kind: String,
    pub name: String,
    pub value: Value,
}

impl Object {
    fn new(kind: String, name: String, value: Value) -> Object {
        Object { kind, name, value }
    }
}

/// A pod bound to a node and not finished: it takes room there.
pub fn bound_and_running(pod: &Pod) -> bool {
    let bound = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).is_some_and(|n| !n.is_empty());
    bound && !finished(pod)
}

fn finished(pod: &Pod) -> bool {
    matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"))
}

/// Whether Karpenter would provision for a pod: the scheduler has tried it and found no node
/// (`PodScheduled=False`, reason `Unschedulable`), it is not bound, not being deleted, not
/// finished, and not a DaemonSet's (those follow nodes, they do not cause them).
pub fn provisionable(pod: &Pod) -> bool {
    let unschedulable = pod.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|conditions| {
        conditions
            .iter()
            .any(|c| c.type_ == "PodScheduled" && c.status == "False" && c.reason.as_deref() == Some("Unschedulable"))
    });
    let bound = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).is_some_and(|n| !n.is_empty());
    let daemon =
        pod.metadata.owner_references.iter().flatten().any(|o| o.kind == "DaemonSet" && o.controller == Some(true));
    unschedulable && !bound && !daemon && !finished(pod) && pod.metadata.deletion_timestamp.is_none()
}

/// What reading a snapshot gave: the inventory, and the objects the core refused (each with
/// the core's message), which were left out so that the rest is still served.
pub struct Snapshot {
    pub inventory: fleetfit::Inventory,
    pub refused: Vec<(Object, String)>,
}

/// Reads `objects` with the core's manifest reader (unknown fields are warnings: a live
/// cluster may run newer APIs). An object the core refuses is left out and reported, so one
/// bad NodePool does not stop the others.
pub fn read(objects: Vec<Object>) -> Snapshot {
    let options =
        fleetfit::manifest::ParseOptions { validation: fleetfit::manifest::Validation::Warn, ..Default::default() };
    let parse = |items: &[&Object]| {
        // The list's text written straight from the objects (no copy of them as a List value).
        let mut text = String::from(r#"{"apiVersion":"v1","kind":"List","items":["#);
        for (i, o) in items.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&o.value.to_string());
        }
        text.push_str("]}");
        fleetfit::manifest::parse_sources_with(&[("cluster".to_string(), text)], &options)
    };
    let all: Vec<&Object> = objects.iter().collect();
    if let Ok(inventory) = parse(&all) {
        return Snapshot { inventory, refused: Vec::new() };
    }
    // Find the objects at fault one by one; the rest are read together.
    let mut refused = Vec::new();
    let mut kept = Vec::new();
    for object in &objects {
        match parse(&[object]) {
            Ok(_) => kept.push(object),
            Err(e) => refused.push((object.clone(), e.to_string())),
        }
    }
    let inventory = parse(&kept).unwrap_or_default();
    Snapshot { inventory, refused }
}

//! Where nodes come from, behind one narrow trait: launch an instance for a NodeClaim, and
//! terminate it. The core decides which offerings a claim may launch on and in what order
//! ([`fleetfit::claims::launch_options`]); a provider launches the first one it can.
//!
//! - [`Kwok`] creates the Node object itself, with the instance type's labels, capacity and
//!   allocatable (as Karpenter's KWOK provider does), for clusters whose kubelets are KWOK's:
//!   demos, load tests and the end-to-end tests, no cloud account needed.
//! - `aws` (the `aws` cargo feature): EC2 `CreateFleet`, in [`crate::aws`].

use crate::crds::EC2NodeClass;
use fleetfit::catalog::CapacityType;
use fleetfit::claims::LaunchOption;
use fleetfit::model::NodeClaim;
use fleetfit::resources::Resources;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, DeleteParams, PostParams};
use kube::Client;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an offering that ran out of capacity is not tried again (Karpenter: 3 minutes).
pub const UNAVAILABLE_FOR: Duration = Duration::from_secs(180);

/// An instance launched for a NodeClaim.
#[derive(Debug, Clone, PartialEq)]
pub struct Launched {
    pub provider_id: String,
    pub option: LaunchOption,
}

/// Why a launch failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LaunchError {
    /// Every option the claim allows is out of capacity or marked unavailable.
    #[error("no capacity: {0}")]
    InsufficientCapacity(String),
    /// The claim allows no offering at all.
    #[error("no instance type and offering satisfies the NodeClaim's requirements and requests")]
    NoOptions,
    /// The cloud or the API server refused the call.
    #[error("{0}")]
    Api(String),
}

/// What a launch is asked: the claim, its node class and the offerings it may use.
#[derive(Debug, Clone, Copy)]
pub struct LaunchRequest<'a> {
    pub claim: &'a NodeClaim,
    /// The claim object's UID: launches derive their idempotency from it.
    pub uid: &'a str,
    /// The EC2NodeClass the claim names, if there is one.
    pub nodeclass: Option<&'a EC2NodeClass>,
    /// In the order to try, those marked unavailable already left out.
    pub options: &'a [LaunchOption],
}

/// A cloud that launches and terminates instances.
pub trait CloudProvider: Send + Sync + 'static {
    /// `kwok`, `aws`.
    fn name(&self) -> &'static str;
    /// Launches one instance for the request's claim on the first of its options that has
    /// capacity; offerings found out of capacity are marked in `unavailable`, and the rest
    /// tried. Asked again for the same claim, it finds the instance rather than making another.
    fn create(
        &self,
        request: &LaunchRequest<'_>,
        unavailable: &Unavailable,
    ) -> impl Future<Output = Result<Launched, LaunchError>> + Send;
    /// Terminates the instance `provider_id` (done when it is already gone).
    fn delete(&self, provider_id: &str) -> impl Future<Output = Result<(), LaunchError>> + Send;
    /// Every live instance this provider launched for this cluster (and nothing else), for
    /// garbage collection ([`crate::gc`]).
    fn list(&self) -> impl Future<Output = Result<Vec<Instance>, LaunchError>> + Send;
}

/// An instance a provider launched for this cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub provider_id: String,
    /// The NodeClaim it was launched for, as tagged.
    pub nodeclaim: Option<String>,
    /// When it was launched, seconds since the epoch.
    pub launched: Option<i64>,
}

/// An offering: (instance type, zone, capacity type).
pub type OfferingKey = (String, String, CapacityType);

/// Offerings that ran out of capacity lately, until when.
#[derive(Default)]
pub struct Unavailable(Mutex<HashMap<OfferingKey, Instant>>);

impl Unavailable {
    fn key(o: &LaunchOption) -> OfferingKey {
        (o.instance_type.clone(), o.zone.clone(), o.capacity_type)
    }

    /// The offerings marked and not yet expired, sorted: what plans must avoid
    /// ([`fleetfit::Catalog::without_offerings`]).
    pub fn offerings(&self) -> Vec<OfferingKey> {
        let now = Instant::now();
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, until| *until > now);
        let mut list: Vec<_> = map.keys().cloned().collect();
        list.sort();
        list
    }

    /// Marks an offering out of capacity for [`UNAVAILABLE_FOR`].
    pub fn mark(&self, o: &LaunchOption) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(Self::key(o), Instant::now() + UNAVAILABLE_FOR);
    }

    /// `options` without those marked and not yet expired.
    pub fn filter(&self, options: Vec<LaunchOption>) -> Vec<LaunchOption> {
        let now = Instant::now();
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, until| *until > now);
        options.into_iter().filter(|o| !map.contains_key(&Self::key(o))).collect()
    }
}

/// Resources as a Kubernetes resource list.
pub fn resource_list(r: &Resources) -> BTreeMap<String, String> {
    r.iter().map(|(name, _)| (name.to_string(), r.quantity(name).to_string())).collect()
}

/// The KWOK provider: a launch creates the Node (annotated for KWOK, which then plays its
/// kubelet), named as the claim, with provider ID `kwok://<name>`.
pub struct Kwok {
    client: Client,
}

/// The provider ID prefix of KWOK nodes.
pub const KWOK_PROVIDER_PREFIX: &str = "kwok://";

impl Kwok {
    pub fn new(client: Client) -> Kwok {
        Kwok { client }
    }
}

impl CloudProvider for Kwok {
    fn name(&self) -> &'static str {
        "kwok"
    }

    async fn create(&self, request: &LaunchRequest<'_>, _unavailable: &Unavailable) -> Result<Launched, LaunchError> {
        let claim = request.claim;
        let option = request.options.first().ok_or(LaunchError::NoOptions)?.clone();
        let name = claim.name.clone();
        let provider_id = format!("{KWOK_PROVIDER_PREFIX}{name}");
        let mut labels = option.labels.clone();
        labels.extend(claim.labels.clone());
        labels.insert(fleetfit::labels::HOSTNAME.to_string(), name.clone());
        let taints: Vec<serde_json::Value> = claim
            .taints
            .iter()
            .chain(&claim.startup_taints)
            .map(|t| json!({"key": t.key, "value": t.value, "effect": t.effect.to_string()}))
            .chain([json!({"key": crate::crds::UNREGISTERED_TAINT, "effect": "NoExecute"})])
            .collect();
        let node: Node = serde_json::from_value(json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": labels,
                "annotations": {"kwok.x-k8s.io/node": "fake"},
            },
            "spec": {"providerID": provider_id, "taints": taints},
            "status": {
                "capacity": resource_list(&option.capacity),
                "allocatable": resource_list(&option.allocatable),
                "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
            },
        }))
        .map_err(|e| LaunchError::Api(format!("Node {name}: {e}")))?;
        let api: Api<Node> = Api::all(self.client.clone());
        match api.create(&PostParams::default(), &node).await {
            Ok(_) => {}
            // A retry after a lost answer: the node is there already.
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(LaunchError::Api(format!("creating Node {name}: {e}"))),
        }
        Ok(Launched { provider_id, option })
    }

    async fn list(&self) -> Result<Vec<Instance>, LaunchError> {
        let api: Api<Node> = Api::all(self.client.clone());
        let params = kube::api::ListParams::default().labels(fleetfit::labels::NODEPOOL);
        let nodes = api.list(&params).await.map_err(|e| LaunchError::Api(format!("listing Nodes: {e}")))?;
        Ok(nodes
            .items
            .into_iter()
            .filter_map(|n| {
                let provider_id =
                    n.spec.as_ref()?.provider_id.clone().filter(|p| p.starts_with(KWOK_PROVIDER_PREFIX))?;
                Some(Instance {
                    provider_id,
                    nodeclaim: n.metadata.name.clone(),
                    launched: n.metadata.creation_timestamp.as_ref().map(|t| t.0.as_second()),
                })
            })
            .collect())
    }

    async fn delete(&self, provider_id: &str) -> Result<(), LaunchError> {
        let Some(name) = provider_id.strip_prefix(KWOK_PROVIDER_PREFIX) else {
            return Err(LaunchError::Api(format!("{provider_id:?} is not a KWOK provider ID")));
        };
        let api: Api<Node> = Api::all(self.client.clone());
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(LaunchError::Api(format!("deleting Node {name}: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option(t: &str) -> LaunchOption {
        LaunchOption {
            instance_type: t.into(),
            zone: "us-west-2a".into(),
            capacity_type: CapacityType::Spot,
            price: 0.1,
            capacity: Resources::default(),
            allocatable: Resources::default(),
            labels: BTreeMap::new(),
        }
    }

    #[test]
    fn an_offering_out_of_capacity_is_skipped_until_it_expires() {
        let unavailable = Unavailable::default();
        unavailable.mark(&option("m5.large"));
        let left = unavailable.filter(vec![option("m5.large"), option("m5.xlarge")]);
        assert_eq!(left, vec![option("m5.xlarge")]);
        assert_eq!(unavailable.offerings(), [("m5.large".to_string(), "us-west-2a".to_string(), CapacityType::Spot)]);
        // Expired entries go.
        unavailable.0.lock().unwrap().values_mut().for_each(|until| *until = Instant::now());
        assert_eq!(unavailable.filter(vec![option("m5.large")]).len(), 1);
    }

    #[test]
    fn resource_lists_use_kubernetes_quantities() {
        let r = Resources {
            cpu: fleetfit::Millicores(1930),
            memory: fleetfit::Bytes(7 * 1024 * 1024 * 1024),
            pods: 29,
            ..Default::default()
        };
        let list = resource_list(&r);
        assert_eq!(list["cpu"], "1930m");
        assert_eq!(list["memory"], "7Gi");
        assert_eq!(list["pods"], "29");
    }
}

//! Garbage collection, as Karpenter's: every two minutes, the instances the provider launched for
//! this cluster ([`CloudProvider::list`]: tagged for it, nothing else is ever seen) are matched
//! with the NodeClaims. An instance no NodeClaim knows — by provider ID or by the NodeClaim name
//! it was tagged with — and launched longer ago than the grace period (its claim may be a
//! moment from the cache) is terminated: a replica that died between a launch and recording it,
//! a claim deleted meanwhile. A NodeClaim launched longer ago than the grace period whose
//! instance is gone is deleted (its pods are then provisioned for again).

use crate::cloud::{CloudProvider, Instance};
use crate::crds::CONDITION_LAUNCHED;
use crate::leader::Fencing;
use crate::provision::Recent;
use crate::state::{karpenter_resource, Stores};
use crate::Metrics;
use kube::api::{Api, DeleteParams, DynamicObject};
use kube::Client;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// How often garbage is collected (Karpenter: 2 minutes).
pub const INTERVAL: Duration = Duration::from_secs(120);
/// How old an instance or a launch must be before it is judged.
pub const GRACE: Duration = Duration::from_secs(30);

/// The garbage collector's parts.
pub struct Collector<P: CloudProvider> {
    pub client: Client,
    pub stores: Stores,
    pub provider: Arc<P>,
    pub recent: Arc<Recent>,
    pub metrics: Arc<Metrics>,
    pub fencing: Fencing,
    pub grace: Duration,
}

/// What a pass found.
#[derive(Debug, Default, PartialEq)]
pub struct Collected {
    /// Instances terminated: no NodeClaim knows them.
    pub instances: Vec<String>,
    /// NodeClaims deleted: their instance is gone.
    pub nodeclaims: Vec<String>,
}

/// Which of `instances` no claim knows, and which launched claims have no instance, at `now`.
pub fn judge(instances: &[Instance], claims: &[Value], now: i64, grace: Duration) -> (Vec<String>, Vec<String>) {
    let grace = i64::try_from(grace.as_secs()).unwrap_or(i64::MAX);
    let ids: BTreeSet<&str> = claims.iter().filter_map(|c| c["status"]["providerID"].as_str()).collect();
    let names: BTreeSet<&str> = claims.iter().filter_map(|c| c["metadata"]["name"].as_str()).collect();
    let orphans = instances
        .iter()
        .filter(|i| !ids.contains(i.provider_id.as_str()))
        .filter(|i| i.nodeclaim.as_deref().is_none_or(|n| !names.contains(n)))
        .filter(|i| i.launched.is_some_and(|at| now - at > grace))
        .map(|i| i.provider_id.clone())
        .collect();
    let live: BTreeSet<&str> = instances.iter().map(|i| i.provider_id.as_str()).collect();
    let gone = claims
        .iter()
        .filter(|c| c["metadata"]["deletionTimestamp"].is_null())
        .filter(|c| c["status"]["providerID"].as_str().is_some_and(|p| !p.is_empty() && !live.contains(p)))
        .filter(|c| {
            let launched = c["status"]["conditions"]
                .as_array()
                .and_then(|cs| cs.iter().find(|x| x["type"] == CONDITION_LAUNCHED && x["status"] == "True"));
            let at = launched
                .and_then(|x| x["lastTransitionTime"].as_str())
                .and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok());
            at.is_some_and(|at| now - at.as_second() > grace)
        })
        .filter_map(|c| c["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    (orphans, gone)
}

impl<P: CloudProvider> Collector<P> {
    /// One pass.
    pub async fn pass(&self) -> Collected {
        let mut collected = Collected::default();
        if self.fencing.check().is_err() {
            return collected;
        }
        let instances = match self.provider.list().await {
            Ok(list) => list,
            Err(e) => {
                tracing::warn!(error = %e, "garbage collection: the instances could not be listed");
                return collected;
            }
        };
        // Read after the listing: a claim made since is seen.
        let mut claims: Vec<Value> =
            self.stores.nodeclaims.state().iter().filter_map(|c| serde_json::to_value(&**c).ok()).collect();
        claims.extend(self.recent.complete(Vec::new()).into_iter().map(|o| o.value));
        let now = k8s_openapi::jiff::Timestamp::now().as_second();
        let (orphans, gone) = judge(&instances, &claims, now, self.grace);
        for provider_id in orphans {
            if self.fencing.check().is_err() {
                return collected;
            }
            match self.provider.delete(&provider_id).await {
                Ok(()) => {
                    tracing::info!(%provider_id, "garbage collection: an instance no NodeClaim knows terminated");
                    self.metrics.garbage_collected("instance");
                    collected.instances.push(provider_id);
                }
                Err(e) => tracing::warn!(%provider_id, error = %e, "garbage collection: not terminated; retried"),
            }
        }
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &karpenter_resource("NodeClaim"));
        for name in gone {
            if self.fencing.check().is_err() {
                return collected;
            }
            match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => {
                    tracing::info!(nodeclaim = %name, "garbage collection: its instance is gone; deleted");
                    self.metrics.garbage_collected("nodeclaim");
                    collected.nodeclaims.push(name);
                }
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => tracing::warn!(nodeclaim = %name, error = %e, "garbage collection: not deleted; retried"),
            }
        }
        collected
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn instance(id: &str, claim: Option<&str>, launched: i64) -> Instance {
        Instance { provider_id: format!("kwok://{id}"), nodeclaim: claim.map(str::to_string), launched: Some(launched) }
    }

    fn claim(name: &str, provider_id: Option<&str>, launched_at: &str) -> Value {
        let mut c = json!({"metadata": {"name": name}, "status": {"conditions": [
            {"type": "Launched", "status": "True", "lastTransitionTime": launched_at}
        ]}});
        if let Some(p) = provider_id {
            c["status"]["providerID"] = json!(p);
        }
        c
    }

    #[test]
    fn only_old_instances_no_claim_knows_and_old_claims_without_instances_go() {
        let now: i64 = "2026-12-01T12:00:00Z".parse::<k8s_openapi::jiff::Timestamp>().unwrap().as_second();
        let instances = [
            instance("a", Some("a"), now - 600),         // its claim knows it by provider ID
            instance("b", Some("b"), now - 600),         // its claim has no provider ID yet: known by name
            instance("orphan", Some("gone"), now - 600), // its claim is gone
            instance("young", None, now - 5),            // too young to judge
        ];
        let claims = [
            claim("a", Some("kwok://a"), "2026-12-01T11:50:00Z"),
            claim("b", None, "2026-12-01T11:50:00Z"),
            claim("lost", Some("kwok://lost"), "2026-12-01T11:50:00Z"), // its instance is gone
            claim("fresh", Some("kwok://fresh"), "2026-12-01T11:59:50Z"), // launched 10 s ago
        ];
        let (orphans, gone) = judge(&instances, &claims, now, GRACE);
        assert_eq!(orphans, ["kwok://orphan"]);
        assert_eq!(gone, ["lost"]);
    }
}

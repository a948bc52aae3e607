//! Static drift's hashes, as Karpenter keeps them: each NodePool carries the hash of its
//! template (`karpenter.sh/nodepool-hash`) and each EC2NodeClass the hash of its spec
//! (`karpenter.k8s.aws/ec2nodeclass-hash`), both with the hash function's version; every
//! NodeClaim is stamped with both when it is made. The core compares them
//! ([`fleetfit::model::TemplateHash`]): a claim made from an older template has drifted.
//!
//! The NodePool hash covers what a node is made from — the template's labels, annotations,
//! taints, startup taints and node class — and not its requirements (a node whose labels the
//! requirements no longer allow drifts by that rule instead, so narrowing them does not
//! replace nodes that still fit), `expireAfter` or `terminationGracePeriod` (read from the
//! NodePool when they are needed), as Karpenter's. The EC2NodeClass hash covers its whole
//! spec: any change, selector terms included, drifts its nodes (Karpenter resolves selector
//! terms and drifts only nodes whose AMI, subnet or security groups differ from the resolved
//! ones).
//!
//! Hashes written by another version (Karpenter's own, `v3`) are not compared: those NodePools
//! and node classes get fleetfit's hash, and their NodeClaims are stamped again, without drift.

use crate::state::{karpenter_resource, Object, Stores};
use fleetfit::labels::{NODECLASS_HASH, NODECLASS_HASH_VERSION, NODEPOOL_HASH, NODEPOOL_HASH_VERSION};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::Client;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The version of fleetfit's hashes: Karpenter's (`v3`) are other functions of other fields.
pub const HASH_VERSION: &str = "fleetfit-v1";

/// FNV-1a 64 over canonical JSON (serde_json's maps are sorted: no preserve_order feature),
/// in decimal as Karpenter writes its own.
fn hash(value: &Value) -> String {
    crate::fnv64(value.to_string().as_bytes()).to_string()
}

/// The hash of a NodePool's template (the NodePool as JSON).
pub fn nodepool_hash(pool: &Value) -> String {
    let mut template = pool["spec"]["template"].clone();
    if let Some(spec) = template.get_mut("spec").and_then(Value::as_object_mut) {
        for field in ["requirements", "expireAfter", "terminationGracePeriod"] {
            spec.remove(field);
        }
    }
    hash(&template)
}

/// The hash of an EC2NodeClass's spec (the class as JSON).
pub fn nodeclass_hash(class: &Value) -> String {
    hash(&class["spec"])
}

/// The annotations a NodeClaim made now from `pool` (and `class`) is stamped with.
pub fn stamps(pool: &Value, class: Option<&Value>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::from([
        (NODEPOOL_HASH.to_string(), nodepool_hash(pool)),
        (NODEPOOL_HASH_VERSION.to_string(), HASH_VERSION.to_string()),
    ]);
    if let Some(class) = class {
        out.insert(NODECLASS_HASH.to_string(), nodeclass_hash(class));
        out.insert(NODECLASS_HASH_VERSION.to_string(), HASH_VERSION.to_string());
    }
    out
}

/// A hash annotation and its version annotation, with their values.
type Stamp = [(&'static str, String); 2];

/// The hash annotations `object` (a NodePool or an EC2NodeClass) should carry now.
fn current(kind: &str, object: &Value) -> Option<Stamp> {
    match kind {
        "NodePool" => Some([(NODEPOOL_HASH, nodepool_hash(object)), (NODEPOOL_HASH_VERSION, HASH_VERSION.into())]),
        "EC2NodeClass" => {
            Some([(NODECLASS_HASH, nodeclass_hash(object)), (NODECLASS_HASH_VERSION, HASH_VERSION.into())])
        }
        _ => None,
    }
}

/// The snapshot with every NodePool's and EC2NodeClass's current hash in its annotations,
/// whether or not they are written yet: a template changed a moment ago drifts its nodes now.
pub fn with_current_hashes(mut objects: Vec<Object>) -> Vec<Object> {
    for object in &mut objects {
        if let Some(annotations) = current(&object.kind, &object.value) {
            for (key, value) in annotations {
                object.value["metadata"]["annotations"][key] = json!(value);
            }
        }
    }
    objects
}

/// Writes the current hashes on the NodePools and EC2NodeClasses that lack them, and stamps
/// again the NodeClaims whose hashes are of another version (no drift is read from those).
pub async fn write(client: &Client, stores: &Stores) {
    let mut restamp: Vec<(&str, String, Stamp)> = Vec::new();
    for (kind, store, claim_label) in [
        ("NodePool", &stores.nodepools, fleetfit::labels::NODEPOOL),
        ("EC2NodeClass", &stores.nodeclasses, fleetfit::labels::EC2_NODECLASS),
    ] {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &karpenter_resource(kind));
        for object in store.state() {
            let Ok(value) = serde_json::to_value(&*object) else { continue };
            let Some(annotations) = current(kind, &value) else { continue };
            let written = &value["metadata"]["annotations"];
            if annotations.iter().all(|(k, v)| written[*k] == json!(v)) {
                continue;
            }
            let name = object.metadata.name.clone().unwrap_or_default();
            let version_key = annotations[1].0;
            if written[version_key] != json!(HASH_VERSION) {
                restamp.push((claim_label, name.clone(), annotations.clone()));
            }
            let patch = json!({"metadata": {"annotations": BTreeMap::from(annotations)}});
            match api.patch(&name, &PatchParams::default(), &Patch::Merge(patch)).await {
                Ok(_) => tracing::info!(kind, name, "hash written"),
                Err(e) => tracing::warn!(kind, name, error = %e, "hash not written; retried"),
            }
        }
    }
    if restamp.is_empty() {
        return;
    }
    let claims: Api<DynamicObject> = Api::all_with(client.clone(), &karpenter_resource("NodeClaim"));
    for claim in stores.nodeclaims.state() {
        let labels = claim.metadata.labels.clone().unwrap_or_default();
        let annotations = claim.metadata.annotations.clone().unwrap_or_default();
        let class = claim.data["spec"]["nodeClassRef"]["name"].as_str().unwrap_or_default().to_string();
        for (label, owner, stamp) in &restamp {
            let owned =
                if *label == fleetfit::labels::NODEPOOL { labels.get(*label) == Some(owner) } else { class == *owner };
            if !owned || annotations.get(stamp[1].0).map(String::as_str) == Some(HASH_VERSION) {
                continue;
            }
            let name = claim.metadata.name.clone().unwrap_or_default();
            let patch = json!({"metadata": {"annotations": BTreeMap::from(stamp.clone())}});
            match claims.patch(&name, &PatchParams::default(), &Patch::Merge(patch)).await {
                Ok(_) => {
                    tracing::info!(nodeclaim = %name, owner, "stamped with the current hash (another hash version)")
                }
                Err(e) => tracing::warn!(nodeclaim = %name, error = %e, "not stamped; retried"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> Value {
        json!({"metadata": {"name": "general", "uid": "u-1"}, "spec": {
            "template": {
                "metadata": {"labels": {"team": "web"}},
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
                    "requirements": [{"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": ["m5"]}],
                    "expireAfter": "720h",
                }
            },
            "limits": {"cpu": "100"},
        }})
    }

    #[test]
    fn the_nodepool_hash_follows_what_nodes_are_made_from() {
        let base = nodepool_hash(&pool());
        // Limits, requirements, expireAfter: no drift.
        let mut other = pool();
        other["spec"]["limits"] = json!({"cpu": "5"});
        other["spec"]["template"]["spec"]["requirements"][0]["values"] = json!(["m5", "m6i"]);
        other["spec"]["template"]["spec"]["expireAfter"] = json!("24h");
        assert_eq!(nodepool_hash(&other), base);
        // Labels, taints: drift.
        other["spec"]["template"]["metadata"]["labels"]["team"] = json!("api");
        assert_ne!(nodepool_hash(&other), base);
        let mut tainted = pool();
        tainted["spec"]["template"]["spec"]["taints"] = json!([{"key": "gpu", "effect": "NoSchedule"}]);
        assert_ne!(nodepool_hash(&tainted), base);
    }

    #[test]
    fn the_snapshot_carries_the_current_hashes() {
        let objects = vec![
            Object { kind: "NodePool".into(), name: "general".into(), value: pool() },
            Object {
                kind: "EC2NodeClass".into(),
                name: "default".into(),
                value: json!({"metadata": {"name": "default", "annotations": {NODECLASS_HASH: "1", NODECLASS_HASH_VERSION: "v3"}}, "spec": {"role": "r"}}),
            },
        ];
        let out = with_current_hashes(objects);
        assert_eq!(out[0].value["metadata"]["annotations"][NODEPOOL_HASH], json!(nodepool_hash(&pool())));
        assert_eq!(out[0].value["metadata"]["annotations"][NODEPOOL_HASH_VERSION], json!(HASH_VERSION));
        assert_eq!(out[1].value["metadata"]["annotations"][NODECLASS_HASH_VERSION], json!(HASH_VERSION));
        let stamped = stamps(&pool(), Some(&out[1].value));
        assert_eq!(stamped[NODECLASS_HASH], nodeclass_hash(&out[1].value));
        assert_eq!(stamped.len(), 4);
    }
}

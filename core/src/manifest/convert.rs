//! `karpenter.sh/v1beta1` NodePools and `karpenter.k8s.aws/v1beta1` EC2NodeClasses, the API of
//! Karpenter before v1 that many guides still show, converted to v1 as Karpenter v1.0's
//! conversion webhook did, each change listed in a note. Karpenter 1.1 and later no longer
//! serve v1beta1, so the note also says to convert the files themselves.

use serde_json::{json, Map, Value};

/// A NodePool's v1beta1 kubelet settings, which v1 reads from the EC2NodeClass: applied to
/// that class once every object has been read.
pub(super) struct MovedKubelet {
    pub nodepool: String,
    pub nodeclass: String,
    pub kubelet: Value,
}

/// A converted object and the changes made, in words.
pub(super) struct Converted {
    pub value: Value,
    pub changes: Vec<String>,
    pub kubelet: Option<MovedKubelet>,
}

fn take(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    map.remove(key).filter(|v| !v.is_null())
}

fn object_at<'a>(value: &'a mut Value, path: &[&str]) -> Option<&'a mut Map<String, Value>> {
    let mut at = value;
    for key in path {
        at = at.as_object_mut()?.get_mut(*key)?;
    }
    at.as_object_mut()
}

/// Converts a `karpenter.sh/v1beta1` NodePool.
pub(super) fn nodepool(name: &str, original: &Value) -> Converted {
    let mut value = original.clone();
    let mut changes = Vec::new();
    let mut kubelet = None;
    if let Some(root) = value.as_object_mut() {
        root.insert("apiVersion".into(), json!("karpenter.sh/v1"));
    }
    let mut expire_after = None;
    if let Some(disruption) = object_at(&mut value, &["spec", "disruption"]) {
        if disruption.get("consolidationPolicy").and_then(Value::as_str) == Some("WhenUnderutilized") {
            disruption.insert("consolidationPolicy".into(), json!("WhenEmptyOrUnderutilized"));
            changes
                .push("spec.disruption.consolidationPolicy WhenUnderutilized became WhenEmptyOrUnderutilized".into());
        }
        if !disruption.contains_key("consolidateAfter") {
            disruption.insert("consolidateAfter".into(), json!("0s"));
            changes.push("spec.disruption.consolidateAfter, unset, became 0s".into());
        }
        expire_after = take(disruption, "expireAfter");
    }
    if let Some(spec) = object_at(&mut value, &["spec", "template", "spec"]) {
        if let Some(expire) = expire_after {
            spec.insert("expireAfter".into(), expire);
            changes.push("spec.disruption.expireAfter moved to spec.template.spec.expireAfter".into());
        }
        if take(spec, "resources").is_some() {
            changes.push("spec.template.spec.resources, which Karpenter never read, was dropped".into());
        }
        if let Some(reference) = spec.get_mut("nodeClassRef").and_then(Value::as_object_mut) {
            let api_version = take(reference, "apiVersion");
            let group = api_version
                .as_ref()
                .and_then(Value::as_str)
                .map(|v| v.split_once('/').map_or(v, |(g, _)| g).to_string())
                .unwrap_or_else(|| "karpenter.k8s.aws".into());
            changes.push(format!("spec.template.spec.nodeClassRef: group {group} in place of apiVersion"));
            reference.insert("group".into(), json!(group));
            if !reference.contains_key("kind") {
                reference.insert("kind".into(), json!("EC2NodeClass"));
                changes.push("spec.template.spec.nodeClassRef.kind, unset, became EC2NodeClass".into());
            }
        }
        let class = spec.get("nodeClassRef").and_then(|r| r.get("name")).and_then(Value::as_str).map(str::to_string);
        if let Some(settings) = take(spec, "kubelet") {
            match class {
                Some(class) => {
                    changes.push(format!("spec.template.spec.kubelet moved to EC2NodeClass {class}'s spec.kubelet"));
                    kubelet = Some(MovedKubelet { nodepool: name.to_string(), nodeclass: class, kubelet: settings });
                }
                None => changes.push("spec.template.spec.kubelet was dropped: no nodeClassRef to move it to".into()),
            }
        }
    } else if expire_after.is_some() {
        changes.push("spec.disruption.expireAfter was dropped: there is no spec.template.spec to move it to".into());
    }
    Converted { value, changes, kubelet }
}

/// Converts a `karpenter.k8s.aws/v1beta1` EC2NodeClass.
pub(super) fn nodeclass(original: &Value) -> Converted {
    let mut value = original.clone();
    let mut changes = Vec::new();
    if let Some(root) = value.as_object_mut() {
        root.insert("apiVersion".into(), json!("karpenter.k8s.aws/v1"));
    }
    if let Some(spec) = object_at(&mut value, &["spec"]) {
        if spec.get("amiFamily").and_then(Value::as_str) == Some("Ubuntu") {
            spec.insert("amiFamily".into(), json!("AL2"));
            changes.push("spec.amiFamily Ubuntu, which v1 dropped, became AL2 (the same node bootstrap and capacity; pin the Ubuntu AMI with amiSelectorTerms)".into());
        }
        let family = spec.get("amiFamily").and_then(Value::as_str).map(str::to_string);
        let has_terms = spec.get("amiSelectorTerms").and_then(Value::as_array).is_some_and(|t| !t.is_empty());
        if let (Some(family), false) = (family, has_terms) {
            if family != "Custom" {
                changes.push(format!(
                    "spec.amiSelectorTerms, which v1 requires, would be [{{alias: {}@latest}}]",
                    family.to_lowercase()
                ));
            }
        }
    }
    Converted { value, changes, kubelet: None }
}

/// The note that tells what a conversion changed.
pub(super) fn note(kind: &str, name: &str, from: &str, changes: &[String]) -> String {
    let group = from.split_once('/').map_or(from, |(g, _)| g);
    let what = if changes.is_empty() { "nothing else changed".to_string() } else { changes.join("; ") };
    format!(
        "{kind} {name} was converted from {from} to {group}/v1 as Karpenter v1.0's conversion did: {what}. \
         Karpenter 1.1 and later no longer serve {from}: convert the file before applying it"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guide_nodepool() {
        let v1beta1 = json!({
            "apiVersion": "karpenter.sh/v1beta1", "kind": "NodePool", "metadata": {"name": "default"},
            "spec": {
                "template": {"spec": {
                    "nodeClassRef": {"apiVersion": "karpenter.k8s.aws/v1beta1", "kind": "EC2NodeClass", "name": "default"},
                    "kubelet": {"maxPods": 20},
                    "requirements": [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]}]
                }},
                "disruption": {"consolidationPolicy": "WhenUnderutilized", "expireAfter": "720h"}
            }
        });
        let c = nodepool("default", &v1beta1);
        assert_eq!(
            c.value,
            json!({
                "apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "default"},
                "spec": {
                    "template": {"spec": {
                        "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
                        "expireAfter": "720h",
                        "requirements": [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]}]
                    }},
                    "disruption": {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "0s"}
                }
            })
        );
        assert_eq!(c.changes.len(), 5, "{:?}", c.changes);
        let moved = c.kubelet.expect("kubelet moved");
        assert_eq!((moved.nodeclass.as_str(), moved.kubelet), ("default", json!({"maxPods": 20})));
    }

    #[test]
    fn ubuntu_nodeclasses_become_al2() {
        let c = nodeclass(&json!({"apiVersion": "karpenter.k8s.aws/v1beta1", "spec": {"amiFamily": "Ubuntu"}}));
        assert_eq!(c.value["spec"]["amiFamily"], "AL2");
        assert_eq!(c.value["apiVersion"], "karpenter.k8s.aws/v1");
    }
}

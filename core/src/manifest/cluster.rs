//! Cluster objects: Node, PodDisruptionBudget, PersistentVolumeClaim, PersistentVolume and
//! StorageClass.

use super::cursor::Cursor;
use super::meta::read_object_meta;
use super::requests::resource_list;
use super::selectors::{label_selector, node_selector_terms};
use super::taints::taints;
use crate::model::{
    IntOrPercent, Node, ObjectRef, PersistentVolume, PersistentVolumeClaim, PodDisruptionBudget, StorageClass,
    VolumeBindingMode,
};
use crate::resources::{Bytes, Resources};

/// A node's capacity or allocatable. Nodes report resources fleetfit does not model (such
/// as `attachable-volumes-aws-ebs`); those are left out rather than rejected.
pub(super) fn node_resources(c: &Cursor) -> Resources {
    let mut r = Resources::default();
    for (name, value) in c.entries() {
        if let Some(q) = value.non_negative_quantity() {
            let _ = r.set(name, q);
        }
    }
    r
}

pub(super) fn node(name: &str, doc: &Cursor) -> Node {
    let meta = read_object_meta(&doc.get("metadata"));
    let spec = doc.get("spec");
    let status = doc.get("status");
    let capacity = node_resources(&status.get("capacity"));
    let allocatable = if status.get("allocatable").is_present() {
        node_resources(&status.get("allocatable"))
    } else {
        capacity.clone()
    };
    let ready = status.get("conditions").items().iter().any(|c| {
        c.get("type").str() == Some("Ready") && c.get("status").one_of(&["True", "False", "Unknown"]) == Some("True")
    });
    Node {
        name: name.to_string(),
        labels: meta.labels,
        annotations: meta.annotations,
        taints: taints(&spec.get("taints")),
        capacity,
        allocatable,
        unschedulable: spec.get("unschedulable").bool().unwrap_or(false),
        ready,
        deleting: meta.deleting,
        created: meta.created,
        provider_id: spec.get("providerID").string().filter(|s| !s.is_empty()),
    }
}

/// `3` or `"10%"`.
pub(super) fn int_or_percent(c: &Cursor) -> Option<IntOrPercent> {
    match c.value()? {
        serde_json::Value::Number(_) => c.int_in(0, u32::MAX as i64).map(|n| IntOrPercent::Int(n as u32)),
        serde_json::Value::String(s) => {
            let parsed = match s.strip_suffix('%') {
                Some(p) => p.parse::<u32>().ok().filter(|p| *p <= 100).map(IntOrPercent::Percent),
                None => s.parse::<u32>().ok().map(IntOrPercent::Int),
            };
            if parsed.is_none() {
                c.error(format!("invalid value {s:?}: use a non-negative integer or a percentage from 0% to 100%"));
            }
            parsed
        }
        other => {
            c.error(format!("expected an integer or a percentage, found {}", json_kind(other)));
            None
        }
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a map",
        _ => "a value of another type",
    }
}

/// A PodDisruptionBudget; `None` (to be reported as skipped) when it selects no pod.
pub(super) fn pdb(reference: &ObjectRef, doc: &Cursor, beta: bool) -> Option<PodDisruptionBudget> {
    read_object_meta(&doc.get("metadata"));
    let spec = doc.get("spec");
    let min_available = int_or_percent(&spec.get("minAvailable"));
    let max_unavailable = int_or_percent(&spec.get("maxUnavailable"));
    if spec.get("minAvailable").is_present() && spec.get("maxUnavailable").is_present() {
        spec.get("maxUnavailable").error("minAvailable and maxUnavailable cannot both be set");
    }
    let disruptions_allowed = doc.get("status").get("disruptionsAllowed").int_in(0, i32::MAX as i64).map(|n| n as i32);
    let selector = label_selector(&spec.get("selector"))?;
    // policy/v1beta1 reads an empty selector as selecting nothing; policy/v1 as everything.
    if beta && selector.match_labels.is_empty() && selector.match_expressions.is_empty() {
        return None;
    }
    Some(PodDisruptionBudget {
        namespace: reference.namespace.clone(),
        name: reference.name.clone(),
        selector,
        min_available,
        max_unavailable,
        disruptions_allowed,
    })
}

/// The parts of a PersistentVolumeClaim spec that matter for placement.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct ClaimSpec {
    /// `None` when unset (the default class applies); `Some("")` asks for no class.
    pub storage_class: Option<String>,
    pub volume_name: Option<String>,
    pub storage: Bytes,
}

pub(super) fn claim_spec(spec: &Cursor) -> ClaimSpec {
    let storage = spec.get("resources").get("requests");
    let storage = resource_list(&storage)
        .into_iter()
        .find(|(name, _)| name == "storage")
        .map(|(_, q)| Bytes(q.units()))
        .unwrap_or_default();
    ClaimSpec {
        storage_class: spec.get("storageClassName").string(),
        volume_name: spec.get("volumeName").string().filter(|v| !v.is_empty()),
        storage,
    }
}

pub(super) fn claim(namespace: &str, name: &str, spec: ClaimSpec) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        namespace: namespace.to_string(),
        name: name.to_string(),
        storage_class: spec.storage_class,
        volume_name: spec.volume_name,
        storage: spec.storage,
    }
}

pub(super) fn pvc(reference: &ObjectRef, doc: &Cursor) -> PersistentVolumeClaim {
    read_object_meta(&doc.get("metadata"));
    claim(&reference.namespace, &reference.name, claim_spec(&doc.get("spec")))
}

pub(super) fn pv(name: &str, doc: &Cursor) -> PersistentVolume {
    read_object_meta(&doc.get("metadata"));
    let spec = doc.get("spec");
    let required = spec.get("nodeAffinity").get("required");
    let node_affinity = if required.is_present() { node_selector_terms(&required) } else { Vec::new() };
    let claim_ref = spec.get("claimRef");
    let claim = if claim_ref.is_present() {
        let name = claim_ref.get("name").required_str();
        let namespace = claim_ref.get("namespace").str().filter(|n| !n.is_empty()).unwrap_or("default");
        name.map(|n| ObjectRef::new("PersistentVolumeClaim", namespace, n))
    } else {
        None
    };
    PersistentVolume {
        name: name.to_string(),
        node_affinity,
        claim,
        storage_class: spec.get("storageClassName").string().filter(|s| !s.is_empty()),
    }
}

const DEFAULT_CLASS_ANNOTATIONS: &[&str] =
    &["storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class"];

pub(super) fn storage_class(name: &str, doc: &Cursor) -> StorageClass {
    let meta = read_object_meta(&doc.get("metadata"));
    let volume_binding_mode = match doc.get("volumeBindingMode").one_of(&["Immediate", "WaitForFirstConsumer"]) {
        Some("WaitForFirstConsumer") => VolumeBindingMode::WaitForFirstConsumer,
        _ => VolumeBindingMode::Immediate,
    };
    let allowed_topologies = doc
        .get("allowedTopologies")
        .items()
        .iter()
        .map(|term| {
            let mut reqs = crate::requirements::Requirements::new();
            for e in term.get("matchLabelExpressions").items() {
                let key = e.get("key").required_str();
                let values = e.get("values").string_list();
                if values.is_empty() {
                    e.get("values").error("at least one value is required");
                }
                if let Some(key) = key.filter(|_| !values.is_empty()) {
                    reqs.add(crate::requirements::Requirement::any_of(key, values));
                }
            }
            reqs
        })
        .collect();
    let is_default =
        DEFAULT_CLASS_ANNOTATIONS.iter().any(|a| meta.annotations.get(*a).map(String::as_str) == Some("true"));
    StorageClass {
        name: name.to_string(),
        provisioner: doc.get("provisioner").required_str().unwrap_or_default().to_string(),
        volume_binding_mode,
        allowed_topologies,
        is_default,
    }
}

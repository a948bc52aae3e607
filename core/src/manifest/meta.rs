//! `metadata` of any object: identity (kind, namespace, name), labels, annotations, owner
//! references and timestamps.

use super::cursor::Cursor;
use crate::model::{Labels, ObjectRef};
use crate::time::Timestamp;

/// Kinds that live outside namespaces; everything else defaults to namespace `default`.
pub(super) fn is_cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Node"
            | "PersistentVolume"
            | "StorageClass"
            | "NodePool"
            | "NodeClaim"
            | "EC2NodeClass"
            | "Provisioner"
            | "AWSNodeTemplate"
            | "Namespace"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "CustomResourceDefinition"
            | "PriorityClass"
            | "CSIDriver"
            | "CSINode"
            | "VolumeAttachment"
            | "RuntimeClass"
            | "IngressClass"
            | "APIService"
            | "MutatingWebhookConfiguration"
            | "ValidatingWebhookConfiguration"
            | "ValidatingAdmissionPolicy"
            | "ValidatingAdmissionPolicyBinding"
    )
}

/// The reference an object is known by, read without filing errors (they are filed when the
/// metadata is read properly), so that every later error can name the object.
pub(super) fn object_ref(kind: &str, doc: &serde_json::Value) -> ObjectRef {
    let meta = doc.get("metadata");
    let text = |key: &str| meta.and_then(|m| m.get(key)).and_then(|v| v.as_str()).unwrap_or("");
    let name = match text("name") {
        "" => match text("generateName") {
            "" => "<unnamed>".to_string(),
            prefix => format!("{prefix}<generated>"),
        },
        name => name.to_string(),
    };
    let namespace = if is_cluster_scoped(kind) {
        String::new()
    } else {
        match text("namespace") {
            "" => "default".to_string(),
            ns => ns.to_string(),
        }
    };
    ObjectRef { kind: kind.to_string(), namespace, name }
}

/// An `ownerReferences` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct OwnerRef {
    pub kind: String,
    pub name: String,
}

/// The metadata fields the model uses.
#[derive(Debug, Clone, Default)]
pub(super) struct Meta {
    pub uid: String,
    pub labels: Labels,
    pub annotations: Labels,
    /// The controlling owner (`controller: true`), else the first owner listed.
    pub owner: Option<OwnerRef>,
    pub created: Option<Timestamp>,
    pub deleting: bool,
}

/// Reads `metadata`, checking the name is there.
pub(super) fn read_object_meta(meta: &Cursor) -> Meta {
    meta.is_map();
    if meta.get("generateName").str().is_none() {
        meta.get("name").required_str();
    } else {
        meta.get("name").str();
    }
    meta.get("namespace").str();
    read_meta(meta)
}

/// Reads the metadata of an object or of a pod template (where no name is needed).
pub(super) fn read_meta(meta: &Cursor) -> Meta {
    let mut owners: Vec<(OwnerRef, bool)> = Vec::new();
    for entry in meta.get("ownerReferences").items() {
        let kind = entry.get("kind").required_str();
        let name = entry.get("name").required_str();
        let controller = entry.get("controller").bool().unwrap_or(false);
        if let (Some(kind), Some(name)) = (kind, name) {
            owners.push((OwnerRef { kind: kind.to_string(), name: name.to_string() }, controller));
        }
    }
    let owner = owners.iter().find(|(_, c)| *c).or(owners.first()).map(|(o, _)| o.clone());
    Meta {
        uid: meta.get("uid").string().unwrap_or_default(),
        labels: meta.get("labels").string_map(),
        annotations: meta.get("annotations").string_map(),
        owner,
        created: meta.get("creationTimestamp").parse(),
        deleting: meta.get("deletionTimestamp").parse::<Timestamp>().is_some(),
    }
}

//! Kubernetes objects (YAML or JSON, multi-document, `kind: List`, `kubectl get -o json`) into
//! the [`crate::model`].
//!
//! Reading happens in two passes. First every document of every source is read into typed
//! objects, each error filed with the object's name and the field's path. Then ownership is
//! resolved across all sources (a snapshot's Pods in one file, its Deployments in another)
//! and workloads are expanded into the pods they still need. Kinds fleetfit does not model
//! are listed in [`Inventory::skipped`], never dropped silently.
//!
//! | object | becomes |
//! |---|---|
//! | Pod | a [`Pod`](crate::model::Pod), its owner resolved up to the workload in the input |
//! | Deployment, StatefulSet, ReplicaSet, ReplicationController | a [`Workload`](crate::model::Workload) (`replicas`, default 1) and a pending pod `<name>-<ordinal>` per replica not already in the input |
//! | Job, CronJob | the same, wanting `parallelism` pods (at most the completions left; none when suspended or finished); a CronJob one run of its `jobTemplate` |
//! | DaemonSet | a [`DaemonSet`](crate::model::DaemonSet) whose template is the pod it puts on every node; a snapshot's DaemonSet pods without their DaemonSet object stand for it (the first one, less its pinned node) |
//! | StatefulSet volumeClaimTemplates, ephemeral volumes | [`PersistentVolumeClaim`](crate::model::PersistentVolumeClaim)s named as Kubernetes names them |
//! | Node, PersistentVolumeClaim, PersistentVolume, StorageClass, PodDisruptionBudget | their model types |
//! | PriorityClass | the priority of pods that name it |
//! | `karpenter.sh/v1` NodePool, `karpenter.k8s.aws/v1` EC2NodeClass | [`NodePool`](crate::model::NodePool), [`NodeClass`](crate::model::NodeClass), with Karpenter's defaults and validation; older API versions are errors |
//! | anything else | a [`Skipped`] entry with the reason |

mod cluster;
mod cursor;
mod documents;
mod expand;
mod meta;
mod nodeclass;
mod nodepool;
mod pod;
mod priority;
mod requests;
mod selectors;
mod taints;
mod workloads;

use crate::error::{Error, Result};
use crate::model::{Inventory, ObjectRef, Skipped};
use cursor::{Cursor, Report};
use documents::{for_each_document, Document};
use expand::{Entry, PodObject};
use serde_json::Value;
use std::collections::HashSet;

/// Parses one source (a file's text: YAML with `---` documents, or JSON; a single object, a
/// `kind: List` / `*List`, or `kubectl get -o json` output) and builds the inventory.
pub fn parse(source_name: &str, text: &str) -> Result<Inventory> {
    parse_all([(source_name, text)])
}

/// Reads a manifest path as (name, text) sources: a file, or a directory searched recursively
/// for `.yaml`, `.yml` and `.json` files in name order.
pub fn read_path(path: &std::path::Path) -> Result<Vec<(String, String)>> {
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).map_err(|e| crate::Error::Usage(format!("{}: {e}", path.display())))
    };
    if !path.is_dir() {
        return Ok(vec![(path.display().to_string(), read(path)?)]);
    }
    let mut files = Vec::new();
    collect_manifest_files(path, &mut files)?;
    if files.is_empty() {
        return Err(crate::Error::Usage(format!(
            "{}: no .yaml, .yml or .json files in this directory",
            path.display()
        )));
    }
    files.into_iter().map(|file| Ok((file.display().to_string(), read(&file)?))).collect()
}

fn collect_manifest_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| crate::Error::Usage(format!("{}: {e}", dir.display())))?;
    let mut paths: Vec<std::path::PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect_manifest_files(&path, out)?;
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")) {
            out.push(path);
        }
    }
    Ok(())
}

/// Parses several sources together: objects are read from all of them first, then ownership
/// is resolved and workloads expanded, so a snapshot's Pods in one file and Deployments in
/// another are counted once.
pub fn parse_sources(sources: &[(String, String)]) -> Result<Inventory> {
    parse_all(sources.iter().map(|(name, text)| (name.as_str(), text.as_str())))
}

fn parse_all<'a>(sources: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Inventory> {
    let mut reader = Reader::default();
    for (source_name, text) in sources {
        let syntax_errors = for_each_document(source_name, text, |doc| reader.document(source_name, doc));
        reader.errors.extend(syntax_errors);
    }
    let Reader { mut inventory, entries, mut errors, priorities, .. } = reader;
    expand::expand(entries, &mut inventory, &mut errors);
    workloads::infer_daemonsets(&mut inventory);
    priorities.apply(&mut inventory);
    Error::collect(errors)?;
    Ok(inventory)
}

/// The first pass: typed objects in input order, and every error met.
#[derive(Default)]
struct Reader {
    inventory: Inventory,
    entries: Vec<Entry>,
    errors: Vec<Error>,
    priorities: priority::PriorityClasses,
    /// (API group, object) of every object read so far.
    seen: HashSet<(String, ObjectRef)>,
}

/// `apps/v1` → (`apps`, `v1`); `v1` → (``, `v1`).
fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a plain string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

impl Reader {
    fn document(&mut self, source_name: &str, doc: Document) {
        match &doc.value {
            Value::Object(_) => self.object(source_name, doc.line, &doc.value, None),
            // A bare list of objects, as some tools write them.
            Value::Array(items) => {
                for item in items {
                    self.object(source_name, doc.line, item, None);
                }
            }
            other => self.errors.push(Error::Syntax {
                source_name: source_name.to_string(),
                message: format!(
                    "the document at line {} is {}, not a Kubernetes object (a map with apiVersion and kind)",
                    doc.line,
                    describe(other)
                ),
            }),
        }
    }

    /// One object; `list_type` is the (apiVersion, kind) a typed list (`PodList`) gives its
    /// items, which the API server leaves without their own.
    fn object(&mut self, source_name: &str, line: usize, value: &Value, list_type: Option<(&str, &str)>) {
        let text = |key: &str| value.get(key).and_then(Value::as_str);
        let kind = text("kind").or(list_type.map(|t| t.1)).unwrap_or("");
        let api_version = text("apiVersion").or(list_type.map(|t| t.0)).unwrap_or("");
        if !value.is_object() || kind.is_empty() {
            let report = Report::new(format!("{source_name}: object in the document at line {line}"));
            let root = Cursor::root(value, &report);
            if root.is_map() {
                root.get("kind").required_str();
            }
            self.errors.extend(report.into_errors());
            return;
        }
        if let Some(items) = value.get("items").and_then(Value::as_array).filter(|_| kind.ends_with("List")) {
            let item_type = kind.strip_suffix("List").filter(|k| !k.is_empty()).map(|k| (api_version, k));
            for item in items {
                self.object(source_name, line, item, item_type);
            }
            return;
        }
        let reference = meta::object_ref(kind, value);
        let report = Report::new(reference.to_string());
        let root = Cursor::root(value, &report);
        if api_version.is_empty() {
            root.get("apiVersion").error("required");
        }
        // The same object twice (overlapping files) would count its pods twice.
        let group = split_api_version(api_version).0;
        if self.seen.insert((group.to_string(), reference.clone())) {
            self.dispatch(api_version, reference, &root);
        } else {
            root.get("metadata").get("name").error("the object appears more than once in the input; keep one copy");
        }
        self.errors.extend(report.into_errors());
    }

    fn dispatch(&mut self, api_version: &str, reference: ObjectRef, root: &Cursor) {
        let (group, version) = split_api_version(api_version);
        let inv = &mut self.inventory;
        match (group, reference.kind.as_str()) {
            ("", "Pod") => {
                let meta = meta::read_object_meta(&root.get("metadata"));
                if !root.get("spec").is_present() {
                    root.get("spec").error("required");
                }
                let owner = meta.owner.clone();
                let parts =
                    pod::read_pod(&reference.namespace, &reference.name, meta, &root.get("spec"), &root.get("status"));
                self.entries.push(Entry::Pod(PodObject { parts, owner }));
            }
            ("apps" | "extensions", "Deployment" | "ReplicaSet")
            | ("apps", "StatefulSet")
            | ("", "ReplicationController")
            | ("batch", "Job" | "CronJob") => {
                self.entries.push(Entry::Workload(workloads::workload(reference, root)));
            }
            ("apps" | "extensions", "DaemonSet") => inv.daemonsets.push(workloads::daemonset(reference, root)),
            ("", "Node") => inv.nodes.push(cluster::node(&reference.name, root)),
            ("", "PersistentVolumeClaim") => inv.pvcs.push(cluster::pvc(&reference, root)),
            ("", "PersistentVolume") => inv.pvs.push(cluster::pv(&reference.name, root)),
            ("storage.k8s.io", "StorageClass") => {
                inv.storage_classes.push(cluster::storage_class(&reference.name, root))
            }
            ("policy", "PodDisruptionBudget") => match cluster::pdb(&reference, root, version != "v1") {
                Some(pdb) => inv.pdbs.push(pdb),
                None if !root.report().has_errors() => {
                    inv.skipped.push(skipped(api_version, &reference, "its selector selects no pod"))
                }
                None => {}
            },
            ("scheduling.k8s.io", "PriorityClass") => self.priorities.read(&reference.name, root),
            ("karpenter.sh", "NodePool") if version == "v1" => {
                inv.nodepools.push(nodepool::nodepool(&reference.name, root))
            }
            ("karpenter.k8s.aws", "EC2NodeClass") if version == "v1" => {
                inv.nodeclasses.push(nodeclass::nodeclass(&reference.name, root))
            }
            ("karpenter.sh", "NodePool") | ("karpenter.k8s.aws", "EC2NodeClass") => {
                root.get("apiVersion").error(format!(
                    "{api_version} is not supported: convert this {} to {group}/v1 (Karpenter v1's API)",
                    reference.kind
                ))
            }
            ("karpenter.sh", "Provisioner") | ("karpenter.k8s.aws", "AWSNodeTemplate") => {
                let replacement = if group == "karpenter.sh" {
                    "karpenter.sh/v1 NodePool"
                } else {
                    "karpenter.k8s.aws/v1 EC2NodeClass"
                };
                root.get("apiVersion")
                    .error(format!("{api_version} {} is not supported: rewrite it as a {replacement}", reference.kind))
            }
            (_, kind) => {
                let reason = skip_reason(group, kind);
                inv.skipped.push(skipped(api_version, &reference, &reason));
            }
        }
    }
}

fn skipped(api_version: &str, reference: &ObjectRef, reason: &str) -> Skipped {
    let name = if reference.namespace.is_empty() {
        reference.name.clone()
    } else {
        format!("{}/{}", reference.namespace, reference.name)
    };
    Skipped { api_version: api_version.to_string(), kind: reference.kind.clone(), name, reason: reason.to_string() }
}

/// Why an object is not modelled, in words that tell the user what it means for the answer.
fn skip_reason(group: &str, kind: &str) -> String {
    let known_core = matches!(
        (group, kind),
        ("", "Pod" | "Node" | "PersistentVolumeClaim" | "PersistentVolume" | "ReplicationController")
            | ("apps", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet")
            | ("batch", "Job" | "CronJob")
    );
    if known_core || matches!(kind, "StorageClass" | "PodDisruptionBudget" | "NodePool" | "EC2NodeClass") {
        let group = if group.is_empty() { "core" } else { group };
        return format!("not the Kubernetes {kind}: API group {group:?} is not the one fleetfit reads");
    }
    match (group, kind) {
        ("karpenter.sh", "NodeClaim") => "NodeClaims are read through the Nodes they become".into(),
        ("", "LimitRange") => {
            "LimitRange defaults are not applied: give containers explicit requests to count them".into()
        }
        ("", "ResourceQuota") => "resource quotas do not change which nodes are needed".into(),
        ("autoscaling", "HorizontalPodAutoscaler") => {
            "replica counts are taken from the workloads as written, not from autoscalers".into()
        }
        _ => format!("fleetfit does not model {kind}: it does not change which nodes are needed"),
    }
}

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
//! | Deployment, StatefulSet, ReplicaSet, ReplicationController, `argoproj.io` Rollout | a [`Workload`](crate::model::Workload) (`replicas`, default 1) and a pending pod `<name>-<ordinal>` per replica not already in the input |
//! | HorizontalPodAutoscaler | the replicas of the workload it scales: written replicas clamped into `[minReplicas, maxReplicas]`, `minReplicas` when none are written, or `maxReplicas` with [`HpaReplicas::Max`]; none when the workload is scaled to 0 (the autoscaler is then off); a note says which |
//! | Job, CronJob | the same, wanting `parallelism` pods (at most the completions left; none when suspended or finished); a CronJob one run of its `jobTemplate`, its peak when runs do not overlap (a note says so) |
//! | DaemonSet | a [`DaemonSet`](crate::model::DaemonSet) whose template is the pod it puts on every node; a snapshot's DaemonSet pods without their DaemonSet object stand for it (the first one, less its pinned node) |
//! | StatefulSet volumeClaimTemplates, ephemeral volumes | [`PersistentVolumeClaim`](crate::model::PersistentVolumeClaim)s named as Kubernetes names them |
//! | Node, PersistentVolumeClaim, PersistentVolume, StorageClass, PodDisruptionBudget | their model types |
//! | PriorityClass | the priority of pods that name it |
//! | `karpenter.sh/v1` NodePool, `karpenter.k8s.aws/v1` EC2NodeClass | [`NodePool`](crate::model::NodePool), [`NodeClass`](crate::model::NodeClass), with Karpenter's defaults and validation; older API versions are errors |
//! | anything else | a [`Skipped`] entry with the reason; when it carries pod containers (a CRD with `spec.template.spec.containers`, KEDA's ScaledJob) it is flagged [`pods_not_counted`](crate::model::Skipped::pods_not_counted) and every answer warns |

mod autoscalers;
mod checks;
mod cluster;
mod convert;
mod cursor;
mod documents;
mod expand;
mod locate;
mod meta;
mod nodeclass;
mod nodepool;
mod pod;
mod priority;
mod requests;
mod schema;
mod selectors;
mod simple_yaml;
mod taints;
mod workloads;

use crate::error::{Error, Result};
use crate::model::{Inventory, ObjectRef, Skipped};
use cursor::{Cursor, Report};
use documents::{for_each_document, Document};
use expand::{Entry, PodObjects};
use serde_json::Value;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::ControlFlow;

pub use autoscalers::HpaReplicas;
pub use checks::{require_nodes, require_workloads};
pub use expand::MAX_EXPANDED_PODS;
pub use locate::{locate, Location, Locator};
pub use schema::Validation;
pub use workloads::MAX_REPLICAS;

/// How to read manifests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// What an unknown field is: an error (the default) or a warning in the notes.
    pub validation: Validation,
    /// How a workload a HorizontalPodAutoscaler scales is counted: its replicas clamped into
    /// the autoscaler's range, `minReplicas` when it states none (the default); or
    /// `maxReplicas`.
    pub hpa: HpaReplicas,
}

/// Parses one source (a file's text: YAML with `---` documents, or JSON; a single object, a
/// `kind: List` / `*List`, or `kubectl get -o json` output) and builds the inventory.
pub fn parse(source_name: &str, text: &str) -> Result<Inventory> {
    parse_all([(source_name, text)], &ParseOptions::default())
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
    parse_sources_with(sources, &ParseOptions::default())
}

/// [`parse_sources`] with options.
pub fn parse_sources_with(sources: &[(String, String)], options: &ParseOptions) -> Result<Inventory> {
    parse_all(sources.iter().map(|(name, text)| (name.as_str(), text.as_str())), options)
}

fn parse_all<'a>(sources: impl IntoIterator<Item = (&'a str, &'a str)>, options: &ParseOptions) -> Result<Inventory> {
    parse_at_most(sources, options, MAX_EXPANDED_PODS)
}

/// [`parse_all`] holding at most `max_pods` pods.
fn parse_at_most<'a>(
    sources: impl IntoIterator<Item = (&'a str, &'a str)>,
    options: &ParseOptions,
    max_pods: usize,
) -> Result<Inventory> {
    let mut reader = Reader { options: *options, max_pods, ..Reader::default() };
    for (source_name, text) in sources {
        if reader.stopped {
            break;
        }
        let syntax_errors = for_each_document(source_name, text, |doc| {
            crate::profile::phase("objects", || reader.document(source_name, doc))
        });
        reader.errors.extend(syntax_errors);
    }
    reader.judge_label_doubts();
    let Reader { mut inventory, entries, pod_objects, mut errors, priorities, moved_kubelets, .. } = reader;
    nodeclass::apply_moved_kubelets(moved_kubelets, &mut inventory, &mut errors);
    crate::profile::phase("expand", || {
        expand::expand(entries, pod_objects, &mut inventory, &mut errors, options.hpa, max_pods)
    });
    workloads::infer_daemonsets(&mut inventory);
    priorities.apply(&mut inventory);
    Error::collect(errors)?;
    Ok(inventory)
}

/// The first pass: typed objects in input order, and every error met.
#[derive(Default)]
struct Reader {
    options: ParseOptions,
    inventory: Inventory,
    entries: Vec<Entry>,
    /// The Pod objects the entries point to.
    pod_objects: PodObjects,
    errors: Vec<Error>,
    priorities: priority::PriorityClasses,
    /// (API group, object) of every object read so far, as [`identity`] writes them.
    seen: HashSet<Vec<u8>, BuildHasherDefault<FastHasher>>,
    /// Unknown node label keys that pods, NodePools and volumes constrain (see
    /// [`Reader::judge_label_doubts`]).
    label_doubts: Vec<(String, Error)>,
    /// Kubelet settings of v1beta1 NodePools, for their EC2NodeClasses.
    moved_kubelets: Vec<convert::MovedKubelet>,
    /// The most pods the input may hold ([`MAX_EXPANDED_PODS`]).
    max_pods: usize,
    /// Pod objects read so far; past `max_pods` reading stops.
    pods_read: usize,
    /// Reading stopped at the pod limit: the rest of the input is not read.
    stopped: bool,
}

/// An object's API group, kind, namespace and name as one key: each part after its length, so
/// no two objects share a key.
fn identity(group: &str, reference: &ObjectRef) -> Vec<u8> {
    let parts = [group, &reference.kind, &reference.namespace, &reference.name];
    let mut key = Vec::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for part in parts {
        key.extend_from_slice(&(part.len() as u32).to_le_bytes());
        key.extend_from_slice(part.as_bytes());
    }
    key
}

/// A quick hash for the reader's own sets of names (std's SipHash guards against chosen
/// collisions, which a user's own manifests do not aim at): eight bytes at a time, then
/// mixed so every bit of the input reaches the low bits hash tables index with.
#[derive(Clone, Copy)]
struct FastHasher(u64);

impl Default for FastHasher {
    fn default() -> Self {
        FastHasher(0x243f_6a88_85a3_08d3)
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
            self.0 = (self.0.rotate_left(23) ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
        let rest = chunks.remainder();
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        self.0 =
            (self.0.rotate_left(23) ^ u64::from_le_bytes(last) ^ rest.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
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

/// The note a likely mistake becomes under `--validate warn`.
fn warning_note(error: &Error) -> String {
    format!("warning: {error} (ignored: --validate warn)")
}

impl Reader {
    /// An unknown label key in a domain Kubernetes or Karpenter owns is a likely typo, unless a
    /// NodePool's template or a Node of the input carries that label (custom labels under
    /// `node.kubernetes.io/` are allowed): then it is the user's own.
    fn judge_label_doubts(&mut self) {
        let defined: HashSet<&str> = self
            .inventory
            .nodepools
            .iter()
            .flat_map(|p| p.labels.keys())
            .chain(self.inventory.nodes.iter().flat_map(|n| n.labels.keys()))
            .map(String::as_str)
            .collect();
        for (key, error) in std::mem::take(&mut self.label_doubts) {
            if defined.contains(key.as_str()) {
                continue;
            }
            match self.options.validation {
                Validation::Strict => self.errors.push(error),
                Validation::Warn => self.inventory.notes.push(warning_note(&error)),
            }
        }
    }
    fn document(&mut self, source_name: &str, doc: Document) -> ControlFlow<()> {
        self.read_document(source_name, doc);
        if self.stopped {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    fn read_document(&mut self, source_name: &str, doc: Document) {
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
        if self.stopped {
            return;
        }
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
        let report = Report::with_validation(reference.to_string(), self.options.validation);
        let root = Cursor::root(value, &report);
        if api_version.is_empty() {
            root.get("apiVersion").error("required");
        }
        // The same object twice (overlapping files) would count its pods twice.
        let group = split_api_version(api_version).0;
        if self.seen.insert(identity(group, &reference)) {
            self.dispatch(api_version, &reference, &root);
            // After the reader, whose own message about a field it knows wins.
            schema::check(group, split_api_version(api_version).1, &reference.kind, &root);
        } else {
            root.get("metadata").get("name").error("the object appears more than once in the input; keep one copy");
        }
        for warning in report.take_warnings() {
            self.inventory.notes.push(warning_note(&warning));
        }
        self.label_doubts.extend(report.take_label_doubts());
        self.errors.extend(report.into_errors());
    }

    fn dispatch(&mut self, api_version: &str, reference: &ObjectRef, root: &Cursor) {
        let (group, version) = split_api_version(api_version);
        let inv = &mut self.inventory;
        match (group, reference.kind.as_str()) {
            ("", "Pod") => {
                self.pods_read += 1;
                if self.pods_read > self.max_pods {
                    root.error(format!(
                        "the input holds more than {} pods (Pod objects and workload replicas together), \
                         the most fleetfit plans at once; reading stopped here: split the input (by namespace, or by \
                         NodePool) and plan the parts separately",
                        self.max_pods
                    ));
                    self.stopped = true;
                    return;
                }
                let meta = meta::read_object_meta(&root.get("metadata"));
                if !root.get("spec").is_present() {
                    root.get("spec").error("required");
                }
                let owner = meta.owner.clone();
                let parts =
                    pod::read_pod(&reference.namespace, &reference.name, meta, &root.get("spec"), &root.get("status"));
                let index = self.pod_objects.push(parts, owner);
                self.entries.push(Entry::Pod(index));
            }
            ("apps" | "extensions", "Deployment" | "ReplicaSet")
            | ("apps", "StatefulSet")
            | ("", "ReplicationController")
            | ("batch", "Job" | "CronJob") => {
                self.entries.push(Entry::Workload(Box::new(workloads::workload(reference.clone(), root))));
            }
            ("argoproj.io", "Rollout") => match root.get("spec").get("workloadRef").value() {
                Some(_) if !root.get("spec").get("template").is_present() => inv.skipped.push(Skipped {
                    pods_not_counted: true,
                    ..skipped(
                        api_version,
                        reference,
                        "its pods come from the Deployment its spec.workloadRef names, which fleetfit does not follow: \
                         write the template into the Rollout, or give the Deployment the Rollout's replicas",
                    )
                }),
                _ => self.entries.push(Entry::Workload(Box::new(workloads::workload(reference.clone(), root)))),
            },
            ("autoscaling", "HorizontalPodAutoscaler") => {
                if let Some(hpa) = autoscalers::hpa(api_version, reference.clone(), root) {
                    self.entries.push(Entry::Autoscaler(hpa));
                }
            }
            ("apps" | "extensions", "DaemonSet") => inv.daemonsets.push(workloads::daemonset(reference.clone(), root)),
            ("", "Node") => inv.nodes.push(cluster::node(&reference.name, root)),
            ("", "PersistentVolumeClaim") => inv.pvcs.push(cluster::pvc(reference, root)),
            ("", "PersistentVolume") => inv.pvs.push(cluster::pv(&reference.name, root)),
            ("storage.k8s.io", "StorageClass") => {
                inv.storage_classes.push(cluster::storage_class(&reference.name, root))
            }
            ("policy", "PodDisruptionBudget") => match cluster::pdb(reference, root, version != "v1") {
                Some(pdb) => inv.pdbs.push(pdb),
                None if !root.report().has_errors() => {
                    inv.skipped.push(skipped(api_version, reference, "its selector selects no pod"))
                }
                None => {}
            },
            ("scheduling.k8s.io", "PriorityClass") => self.priorities.read(&reference.name, root),
            ("karpenter.sh", "NodePool") if version == "v1" => {
                inv.nodepools.push(nodepool::nodepool(&reference.name, root))
            }
            ("karpenter.sh", "NodeClaim") if version == "v1" => {
                inv.nodeclaims.push(nodepool::nodeclaim(&reference.name, root))
            }
            ("karpenter.k8s.aws", "EC2NodeClass") if version == "v1" => {
                inv.nodeclasses.push(nodeclass::nodeclass(&reference.name, root))
            }
            ("karpenter.sh", "NodePool") if version == "v1beta1" => {
                let Some(original) = root.value() else { return };
                let converted = convert::nodepool(&reference.name, original);
                let read = nodepool::nodepool(&reference.name, &Cursor::root(&converted.value, root.report()));
                inv.nodepools.push(read);
                inv.notes.push(convert::note("NodePool", &reference.name, api_version, &converted.changes));
                self.moved_kubelets.extend(converted.kubelet);
            }
            ("karpenter.k8s.aws", "EC2NodeClass") if version == "v1beta1" => {
                let Some(original) = root.value() else { return };
                let converted = convert::nodeclass(original);
                let read = nodeclass::nodeclass(&reference.name, &Cursor::root(&converted.value, root.report()));
                inv.nodeclasses.push(read);
                inv.notes.push(convert::note("EC2NodeClass", &reference.name, api_version, &converted.changes));
            }
            ("karpenter.sh", "NodePool") | ("karpenter.k8s.aws", "EC2NodeClass") => {
                root.get("apiVersion").error(format!(
                    "{api_version} is not supported: convert this {} to {group}/v1 (Karpenter v1's API)",
                    reference.kind
                ))
            }
            ("karpenter.sh", "Provisioner") => root.get("apiVersion").error(format!(
                "{api_version} Provisioner is not supported: Karpenter v0.32 replaced it with the NodePool. Rewrite it as \
                 a karpenter.sh/v1 NodePool: spec.requirements, taints, startupTaints and labels go under \
                 spec.template.spec (labels under spec.template.metadata); spec.limits.resources becomes spec.limits; \
                 providerRef becomes spec.template.spec.nodeClassRef (group karpenter.k8s.aws, kind EC2NodeClass); \
                 ttlSecondsUntilExpired becomes spec.template.spec.expireAfter; ttlSecondsAfterEmpty becomes \
                 spec.disruption consolidationPolicy WhenEmpty with consolidateAfter; consolidation.enabled becomes \
                 consolidationPolicy WhenEmptyOrUnderutilized; kubeletConfiguration goes to the EC2NodeClass's spec.kubelet"
            )),
            ("karpenter.k8s.aws", "AWSNodeTemplate") => root.get("apiVersion").error(format!(
                "{api_version} AWSNodeTemplate is not supported: Karpenter v0.32 replaced it with the EC2NodeClass. \
                 Rewrite it as a karpenter.k8s.aws/v1 EC2NodeClass: amiFamily, blockDeviceMappings, userData and tags \
                 keep their names; subnetSelector and securityGroupSelector become subnetSelectorTerms and \
                 securityGroupSelectorTerms ([{{tags: ...}}]); amiSelector becomes amiSelectorTerms"
            )),
            (_, kind) => {
                // A PodTemplate makes no pods of its own.
                let containers = root
                    .value()
                    .and_then(workloads::pod_containers_path)
                    .filter(|_| (group, kind) != ("", "PodTemplate"));
                let reason = skip_reason(group, kind, containers.as_deref());
                let pods_not_counted = containers.is_some();
                inv.skipped.push(Skipped { pods_not_counted, ..skipped(api_version, reference, &reason) });
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
    Skipped {
        api_version: api_version.to_string(),
        kind: reference.kind.clone(),
        name,
        reason: reason.to_string(),
        pods_not_counted: false,
    }
}

/// Why an object is not modelled, in words that tell the user what it means for the answer;
/// `containers`: where it holds the containers of pods it makes, if it does.
fn skip_reason(group: &str, kind: &str, containers: Option<&str>) -> String {
    let known_core = matches!(
        (group, kind),
        ("", "Pod" | "Node" | "PersistentVolumeClaim" | "PersistentVolume" | "ReplicationController")
            | ("apps", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet")
            | ("batch", "Job" | "CronJob")
    );
    if known_core || matches!(kind, "StorageClass" | "PodDisruptionBudget" | "NodePool" | "EC2NodeClass") {
        let group = if group.is_empty() { "core" } else { group };
        let reason = format!("not the Kubernetes {kind}: API group {group:?} is not the one fleetfit reads");
        return match containers {
            Some(path) => format!("{reason}, so the pods of its {path} are in no plan"),
            None => reason,
        };
    }
    if let Some(path) = containers {
        return format!(
            "fleetfit does not model {kind}: the pods of its {path} are in no plan; \
             write them as a Deployment, Job or Pods to count them"
        );
    }
    match (group, kind) {
        ("karpenter.sh", "NodeClaim") => "only karpenter.sh/v1 NodeClaims are read".into(),
        ("", "LimitRange") => {
            "LimitRange defaults are not applied: give containers explicit requests to count them".into()
        }
        ("", "ResourceQuota") => "resource quotas do not change which nodes are needed".into(),
        _ => format!("fleetfit does not model {kind}: it does not change which nodes are needed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pods(count: usize) -> String {
        (0..count)
            .map(|i| {
                format!(
                    "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\nspec: {{containers: [{{name: c}}]}}\n"
                )
            })
            .collect()
    }

    #[test]
    fn reading_stops_at_the_pod_limit() {
        // The pod past the limit is named; nothing after it is read (its syntax error neither).
        let text = pods(4) + "---\nkind: [\n";
        let error = parse_at_most([("pods.yaml", text.as_str())], &ParseOptions::default(), 3).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Pod default/p3: (document): the input holds more than 3 pods (Pod objects and workload replicas \
             together), the most fleetfit plans at once; reading stopped here: split the input (by namespace, or by \
             NodePool) and plan the parts separately"
        );
        let inventory = parse_at_most([("pods.yaml", pods(3).as_str())], &ParseOptions::default(), 3);
        assert_eq!(inventory.map(|i| i.pods.len()), Ok(3));
    }

    #[test]
    fn pod_objects_and_replicas_count_together() {
        let deployment = "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 2\n  \
                          template: {spec: {containers: [{name: c}]}}\n";
        let text = pods(2) + deployment;
        let error = parse_at_most([("in.yaml", text.as_str())], &ParseOptions::default(), 3).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Deployment default/web: spec: expanding 2 replicas would take the inventory past 3 pods (Pod objects and \
             workload replicas together), the most fleetfit plans at once: split the input and plan the parts \
             separately"
        );
    }
}

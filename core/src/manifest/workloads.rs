//! Workload objects (Deployment, StatefulSet, ReplicaSet, ReplicationController, Argo
//! Rollout, Job, CronJob, DaemonSet): their pod template and how many replicas they want; and
//! the pod templates of kinds fleetfit does not expand.

use super::cluster::claim_spec;
use super::cursor::Cursor;
use super::meta::{read_meta, read_object_meta, OwnerRef};
use super::pod::{read_pod, ClaimTemplate, PodParts};
use crate::model::{DaemonSet, ObjectRef};

/// The most replicas one workload may ask for: beyond this an input is a mistake (or an
/// attack on memory), not a cluster.
pub const MAX_REPLICAS: i64 = 100_000;

/// A workload that expands into pods.
pub(super) struct WorkloadObject {
    pub reference: ObjectRef,
    /// The object that controls this one (a Deployment for a ReplicaSet, a CronJob for a Job).
    pub owner: Option<OwnerRef>,
    /// The pod template, as a pod named after the workload.
    pub template: PodParts,
    /// Replicas wanted now (parallelism for Jobs).
    pub desired: u32,
    /// Whether `spec.replicas` is written (a HorizontalPodAutoscaler decides when it is not).
    pub replicas_written: bool,
    /// A StatefulSet's volumeClaimTemplates.
    pub claim_templates: Vec<ClaimTemplate>,
}

/// Reads `template` (a PodTemplateSpec) as a pod of the workload.
fn template_pod(reference: &ObjectRef, template: &Cursor) -> PodParts {
    if !template.is_present() {
        template.error("required");
    } else if !template.get("spec").is_present() {
        template.get("spec").error("required");
    }
    let meta = read_meta(&template.get("metadata"));
    read_pod(&reference.namespace, &reference.name, meta, &template.get("spec"), &template.get("status"))
}

/// Pods a Job (or a CronJob's job template) runs at once: parallelism (default 1), no more
/// than the completions still to go; none when suspended or finished.
fn job_pods(spec: &Cursor, status: Option<&Cursor>) -> u32 {
    let parallelism = replica_count(&spec.get("parallelism"));
    let completions = spec.get("completions").int_in(0, i32::MAX as i64);
    let suspended = spec.get("suspend").bool().unwrap_or(false);
    let succeeded = status.and_then(|s| s.get("succeeded").int_in(0, i32::MAX as i64)).unwrap_or(0);
    let finished = status.is_some_and(|s| {
        s.get("completionTime").is_present()
            || s.get("conditions").items().iter().any(|c| {
                matches!(c.get("type").str(), Some("Complete" | "Failed")) && c.get("status").str() == Some("True")
            })
    }) || (completions.is_none() && succeeded > 0);
    if suspended || finished {
        return 0;
    }
    match completions {
        Some(c) => parallelism.min(c.saturating_sub(succeeded).max(0) as u32),
        None => parallelism,
    }
}

/// A replica count (`replicas`, `parallelism`): default 1, at most [`MAX_REPLICAS`].
fn replica_count(field: &Cursor) -> u32 {
    match field.int_in(0, i32::MAX as i64) {
        Some(n) if n > MAX_REPLICAS => {
            field.error(format!("{n} is more pods than fleetfit models for one workload ({MAX_REPLICAS})"));
            0
        }
        Some(n) => n as u32,
        None => 1,
    }
}

/// Reads a Deployment, StatefulSet, ReplicaSet, ReplicationController, Argo Rollout, Job or
/// CronJob.
pub(super) fn workload(reference: ObjectRef, doc: &Cursor) -> WorkloadObject {
    let meta = read_object_meta(&doc.get("metadata"));
    let spec = doc.get("spec");
    if !spec.is_present() {
        spec.error("required");
    }
    let status = doc.get("status");
    let (template, desired) = match reference.kind.as_str() {
        "Job" => (template_pod(&reference, &spec.get("template")), job_pods(&spec, Some(&status))),
        "CronJob" => {
            let job = spec.get("jobTemplate");
            if spec.is_present() && !job.is_present() {
                job.error("required");
            }
            let job_spec = job.get("spec");
            let suspended = spec.get("suspend").bool().unwrap_or(false);
            // One run of the schedule; a run already in the input counts its pods.
            let pods = job_pods(&job_spec, None);
            (template_pod(&reference, &job_spec.get("template")), if suspended { 0 } else { pods })
        }
        _ => (template_pod(&reference, &spec.get("template")), replica_count(&spec.get("replicas"))),
    };
    let claim_templates = if reference.kind == "StatefulSet" {
        spec.get("volumeClaimTemplates")
            .items()
            .iter()
            .filter_map(|t| {
                let name = t.get("metadata").get("name").required_str()?;
                Some(ClaimTemplate { name: name.to_string(), spec: claim_spec(&t.get("spec")) })
            })
            .collect()
    } else {
        Vec::new()
    };
    let replicas_written = !matches!(reference.kind.as_str(), "Job" | "CronJob") && spec.get("replicas").is_present();
    WorkloadObject { reference, owner: meta.owner, template, desired, replicas_written, claim_templates }
}

/// Where an object of a kind fleetfit does not expand holds pod containers (a pod template
/// such as `spec.template.spec.containers`, KEDA ScaledJob's
/// `spec.jobTargetRef.template.spec.containers`, or a pod spec inlined in `spec`): the path
/// of the first `containers` list found under `spec`, depth first in key order.
pub(super) fn pod_containers_path(object: &serde_json::Value) -> Option<String> {
    fn find(value: &serde_json::Value, path: &str, depth: usize) -> Option<String> {
        let map = value.as_object()?;
        if map.get("containers").and_then(serde_json::Value::as_array).is_some_and(|c| !c.is_empty()) {
            return Some(format!("{path}.containers"));
        }
        if depth == 0 {
            return None;
        }
        let mut keys: Vec<&String> = map.keys().collect();
        keys.sort();
        keys.into_iter().find_map(|key| match &map[key] {
            serde_json::Value::Array(items) => {
                items.iter().enumerate().find_map(|(i, item)| find(item, &format!("{path}.{key}[{i}]"), depth - 1))
            }
            value => find(value, &format!("{path}.{key}"), depth - 1),
        })
    }
    find(object.get("spec")?, "spec", 8)
}

/// Reads a DaemonSet: its template is the pod it puts on every matching node.
pub(super) fn daemonset(reference: ObjectRef, doc: &Cursor) -> DaemonSet {
    read_object_meta(&doc.get("metadata"));
    let spec = doc.get("spec");
    if !spec.is_present() {
        spec.error("required");
    }
    let mut template = template_pod(&reference, &spec.get("template")).named(&reference.name).0;
    template.owner = Some(reference.clone());
    DaemonSet { namespace: reference.namespace, name: reference.name, template }
}

/// DaemonSets a snapshot shows only through their pods (`kubectl get nodes,pods` lists no
/// DaemonSet objects): each becomes a [`DaemonSet`] whose template is its first pod, less the
/// node the DaemonSet controller pinned it to, so new nodes are sized with its overhead.
pub(super) fn infer_daemonsets(inventory: &mut crate::model::Inventory) {
    let mut seen: std::collections::BTreeSet<(String, String)> =
        inventory.daemonsets.iter().map(|d| (d.namespace.clone(), d.name.clone())).collect();
    let mut inferred = Vec::new();
    for pod in &inventory.pods {
        let Some(owner) = pod.owner.as_ref().filter(|o| o.kind == "DaemonSet") else { continue };
        if !seen.insert((pod.namespace.clone(), owner.name.clone())) {
            continue;
        }
        let mut template = pod.clone();
        template.name = owner.name.clone();
        template.node_name = None;
        template.phase = crate::model::PodPhase::Pending;
        for term in &mut template.node_affinity.required {
            let mut kept = crate::requirements::Requirements::new();
            for r in term.iter().filter(|r| r.key() != crate::labels::HOSTNAME) {
                kept.add(r.clone());
            }
            *term = kept;
        }
        inferred.push(DaemonSet { namespace: pod.namespace.clone(), name: owner.name.clone(), template });
    }
    inventory.daemonsets.extend(inferred);
}

//! Ownership and expansion: attributes existing Pods to their workload by following
//! ownerReferences (Pod → ReplicaSet → Deployment or Rollout, Pod → Job → CronJob), applies
//! HorizontalPodAutoscalers to the replicas of the workloads they scale, then turns each
//! workload's missing replicas into pending pods named `<workload>-<ordinal>`.

use super::autoscalers::{Autoscaler, HpaReplicas};
use super::meta::{is_cluster_scoped, OwnerRef};
use super::pod::{ClaimTemplate, PodParts};
use super::workloads::WorkloadObject;
use crate::error::Error;
use crate::model::{Inventory, ObjectRef, Pod, PodPhase, Skipped, Workload};
use std::collections::{BTreeSet, HashMap, HashSet};

/// The most pods one inventory may hold: Pod objects and the replicas workloads expand into,
/// together. Past it the reader stops with an error saying so, rather than run unbounded.
pub const MAX_EXPANDED_PODS: usize = 500_000;

/// The Pod objects read, in input order: each pod as written, and its ephemeral volumes and
/// owner, which expansion turns into claims and the workload that owns it. Kept apart from
/// the entries so that an input of pods alone becomes the inventory's pods where they are.
#[derive(Default)]
pub(super) struct PodObjects {
    pods: Vec<Pod>,
    extras: Vec<PodExtra>,
}

struct PodExtra {
    ephemeral: Vec<ClaimTemplate>,
    owner: Option<OwnerRef>,
}

impl PodObjects {
    /// Adds a Pod object; its index.
    pub fn push(&mut self, parts: PodParts, owner: Option<OwnerRef>) -> usize {
        self.pods.push(parts.pod);
        self.extras.push(PodExtra { ephemeral: parts.ephemeral, owner });
        self.pods.len() - 1
    }
}

/// A pod, a workload or an autoscaler, kept in input order.
pub(super) enum Entry {
    /// A Pod object: its index in [`PodObjects`].
    Pod(usize),
    Workload(Box<WorkloadObject>),
    Autoscaler(Autoscaler),
}

struct Index<'a> {
    by_ref: HashMap<(&'a str, &'a str, &'a str), usize>,
    workloads: Vec<&'a WorkloadObject>,
}

impl<'a> Index<'a> {
    fn new(entries: &'a [Entry]) -> Self {
        let workloads: Vec<&WorkloadObject> = entries
            .iter()
            .filter_map(|e| match e {
                Entry::Workload(w) => Some(&**w),
                Entry::Pod(_) | Entry::Autoscaler(_) => None,
            })
            .collect();
        let mut by_ref = HashMap::new();
        for (i, w) in workloads.iter().enumerate() {
            let r = &w.reference;
            by_ref.entry((r.kind.as_str(), r.namespace.as_str(), r.name.as_str())).or_insert(i);
        }
        Index { by_ref, workloads }
    }

    fn find(&self, kind: &str, namespace: &str, name: &str) -> Option<usize> {
        self.by_ref.get(&(kind, namespace, name)).copied()
    }

    /// The workload an owner reference points at, if it is in the input. A ReplicaSet or Job
    /// missing from the input is matched to its Deployment or CronJob by name
    /// (`<deployment>-<pod-template-hash>`, `<cronjob>-<scheduled minute>`).
    fn owner(&self, namespace: &str, owner: &OwnerRef) -> Option<usize> {
        if let Some(i) = self.find(&owner.kind, namespace, &owner.name) {
            return Some(i);
        }
        let (prefix, suffix) = owner.name.rsplit_once('-')?;
        match owner.kind.as_str() {
            "ReplicaSet" => {
                self.find("Deployment", namespace, prefix).or_else(|| self.find("Rollout", namespace, prefix))
            }
            "Job" if suffix.bytes().all(|b| b.is_ascii_digit()) => self.find("CronJob", namespace, prefix),
            _ => None,
        }
    }

    /// The topmost workload in the input above `i` (itself when nothing owns it).
    fn top(&self, mut i: usize) -> usize {
        // Owner chains are short (Deployment → ReplicaSet); the bound guards against cycles.
        for _ in 0..4 {
            let w = self.workloads[i];
            match w.owner.as_ref().and_then(|o| self.owner(&w.reference.namespace, o)) {
                Some(up) if up != i => i = up,
                _ => break,
            }
        }
        i
    }
}

/// Whether a pod counts as an existing replica of its workload.
fn is_active(pod: &Pod) -> bool {
    !matches!(pod.phase, PodPhase::Succeeded | PodPhase::Failed) && !pod.deleting
}

/// The ordinal of a StatefulSet pod (`web-3` → 3).
fn ordinal(workload: &str, pod: &str) -> Option<u32> {
    pod.strip_prefix(workload)?.strip_prefix('-')?.parse().ok()
}

/// Resolves owners, counts existing replicas, expands missing ones, and fills
/// `inventory.pods`, `inventory.workloads` and the claims pods create for themselves.
/// At most `max_pods` pods ([`MAX_EXPANDED_PODS`]), Pod objects included.
pub(super) fn expand(
    entries: Vec<Entry>,
    objects: PodObjects,
    inventory: &mut Inventory,
    errors: &mut Vec<Error>,
    hpa: HpaReplicas,
    max_pods: usize,
) {
    let index = Index::new(&entries);
    let tops: Vec<usize> = (0..index.workloads.len()).map(|i| index.top(i)).collect();
    let (desired, autoscalers) = autoscale(&entries, &index, hpa, inventory, errors);
    let mut existing = vec![0u32; index.workloads.len()];
    let mut ordinals: Vec<BTreeSet<u32>> = vec![BTreeSet::new(); index.workloads.len()];

    // Each Pod object's owner, resolved.
    let PodObjects { mut pods, extras } = objects;
    for (pod, extra) in pods.iter_mut().zip(&extras) {
        let owner = extra.owner.as_ref().map(|o| match index.owner(&pod.namespace, o) {
            Some(i) => {
                let top = tops[i];
                if is_active(pod) {
                    existing[top] += 1;
                    if let Some(n) = ordinal(&index.workloads[top].reference.name, &pod.name) {
                        ordinals[top].insert(n);
                    }
                }
                index.workloads[top].reference.clone()
            }
            None => {
                let namespace = if is_cluster_scoped(&o.kind) { "" } else { pod.namespace.as_str() };
                ObjectRef::new(&o.kind, namespace, &o.name)
            }
        });
        pod.owner = owner;
    }

    let mut claims: HashSet<(String, String)> =
        inventory.pvcs.iter().map(|c| (c.namespace.clone(), c.name.clone())).collect();
    let mut add_claims = |inventory: &mut Inventory, namespace: &str, new: Vec<ClaimTemplate>| {
        for c in new {
            if claims.insert((namespace.to_string(), c.name.clone())) {
                inventory.pvcs.push(super::cluster::claim(namespace, &c.name, c.spec));
            }
        }
    };

    let mut expanded = pods.len();
    let mut extras = extras.into_iter();
    // Without workloads, the pods stay where they are; else they move, in input order, among
    // the workloads' pods.
    let mut moving = if index.workloads.is_empty() {
        None
    } else {
        inventory.pods.reserve(pods.len());
        Some(std::mem::take(&mut pods).into_iter())
    };
    let workload_owners: Vec<(String, String, String)> = index
        .workloads
        .iter()
        .filter_map(|w| {
            let o = w.owner.as_ref()?;
            Some((o.kind.clone(), w.reference.namespace.clone(), o.name.clone()))
        })
        .collect();
    let mut cronjobs = Vec::new();
    let mut workload_index = 0;
    for entry in entries {
        match entry {
            Entry::Pod(i) => {
                // The pod under its own name, mounting its ephemeral claims.
                let ephemeral = extras.next().map(|e| e.ephemeral).unwrap_or_default();
                match moving.as_mut().and_then(Iterator::next) {
                    Some(mut pod) => {
                        let new_claims = name_claims(&mut pod, ephemeral);
                        add_claims(inventory, &pod.namespace, new_claims);
                        inventory.pods.push(pod);
                    }
                    None => {
                        let new_claims = name_claims(&mut pods[i], ephemeral);
                        add_claims(inventory, &pods[i].namespace, new_claims);
                    }
                }
            }
            Entry::Autoscaler(_) => {}
            Entry::Workload(w) => {
                let i = workload_index;
                workload_index += 1;
                if tops[i] != i {
                    continue;
                }
                inventory.workloads.push(Workload {
                    reference: w.reference.clone(),
                    replicas: desired[i],
                    existing: existing[i],
                    autoscaler: autoscalers[i].clone(),
                });
                if w.reference.kind == "CronJob" && desired[i] > 0 {
                    cronjobs.push(format!("{} ({} pods)", w.reference, desired[i]));
                }
                let missing = desired[i].saturating_sub(existing[i]) as usize;
                if expanded + missing > max_pods {
                    errors.push(Error::field(
                        w.reference.to_string(),
                        "spec",
                        format!(
                            "expanding {missing} replicas would take the inventory past {max_pods} pods (Pod \
                             objects and workload replicas together), the most fleetfit plans at once: split the input \
                             and plan the parts separately"
                        ),
                    ));
                    continue;
                }
                expanded += missing;
                let is_statefulset = w.reference.kind == "StatefulSet";
                let new_ordinals: Vec<u32> = if is_statefulset {
                    (0u32..).filter(|n| !ordinals[i].contains(n)).take(missing).collect()
                } else {
                    (existing[i]..).take(missing).collect()
                };
                for &n in &new_ordinals {
                    let name = format!("{}-{n}", w.reference.name);
                    let (mut pod, mut new_claims) = w.template.named(&name);
                    pod.owner = Some(w.reference.clone());
                    if is_statefulset {
                        pod.labels.insert("statefulset.kubernetes.io/pod-name".into(), name.clone());
                        pod.labels.insert("apps.kubernetes.io/pod-index".into(), n.to_string());
                        for t in &w.claim_templates {
                            let claim = format!("{}-{name}", t.name);
                            if !pod.volume_claims.contains(&claim) {
                                pod.volume_claims.push(claim);
                            }
                        }
                    }
                    new_claims.extend(statefulset_claims(&w, n));
                    add_claims(inventory, &pod.namespace, new_claims);
                    inventory.pods.push(pod);
                }
                // Existing StatefulSet pods mount their claims too, even when the input
                // leaves the claims out.
                for &n in &ordinals[i] {
                    add_claims(inventory, &w.reference.namespace, statefulset_claims(&w, n));
                }
            }
        }
    }
    if inventory.pods.is_empty() {
        inventory.pods = pods;
    } else {
        inventory.pods.append(&mut pods);
    }
    if !cronjobs.is_empty() {
        inventory.notes.push(format!(
            "CronJobs are counted at one run's parallelism, their peak while runs do not overlap: {}",
            cronjobs.join(", ")
        ));
    }
    counted_through_owned(&workload_owners, inventory);
}

/// An object whose pods would not be counted, but whose pods or workloads are in the input
/// (an operator's StatefulSet, a Rollout's ReplicaSets in a snapshot), is counted through them.
/// `workload_owners`: the (kind, namespace, name) of the owner of each workload that has one.
fn counted_through_owned(workload_owners: &[(String, String, String)], inventory: &mut Inventory) {
    let mut owners: HashSet<(&str, &str, &str)> = HashSet::new();
    for pod in &inventory.pods {
        if let Some(o) = &pod.owner {
            owners.insert((o.kind.as_str(), o.namespace.as_str(), o.name.as_str()));
        }
    }
    for (kind, namespace, name) in workload_owners {
        owners.insert((kind.as_str(), namespace.as_str(), name.as_str()));
    }
    let counted: Vec<usize> = inventory
        .skipped
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            let (namespace, name) = s.name.split_once('/').unwrap_or(("", &s.name));
            s.pods_not_counted && owners.contains(&(s.kind.as_str(), namespace, name))
        })
        .map(|(i, _)| i)
        .collect();
    for i in counted {
        let s = &mut inventory.skipped[i];
        s.pods_not_counted = false;
        s.reason = format!(
            "fleetfit does not model {}: the pods it makes are counted through what it owns in the input",
            s.kind
        );
    }
}

/// Kinds a HorizontalPodAutoscaler can scale (those with a scale subresource fleetfit reads).
const SCALABLE: &[&str] = &["Deployment", "StatefulSet", "ReplicaSet", "ReplicationController", "Rollout"];

/// Every workload's desired replicas once the autoscalers that scale it are applied under
/// `rule`, and the autoscaler of each. An autoscaler whose target is not in the input, or
/// cannot be scaled, is skipped; two autoscalers of one workload are an error.
fn autoscale(
    entries: &[Entry],
    index: &Index<'_>,
    rule: HpaReplicas,
    inventory: &mut Inventory,
    errors: &mut Vec<Error>,
) -> (Vec<u32>, Vec<Option<ObjectRef>>) {
    let mut desired: Vec<u32> = index.workloads.iter().map(|w| w.desired).collect();
    let mut by: Vec<Option<ObjectRef>> = vec![None; desired.len()];
    for entry in entries {
        let Entry::Autoscaler(a) = entry else { continue };
        let (target, hpa) = (&a.target, &a.reference);
        let skip = |reason: String| Skipped {
            api_version: a.api_version.clone(),
            kind: hpa.kind.clone(),
            name: format!("{}/{}", hpa.namespace, hpa.name),
            reason,
            pods_not_counted: false,
        };
        let Some(i) = index.find(&target.kind, &target.namespace, &target.name) else {
            inventory
                .skipped
                .push(skip(format!("its scaleTargetRef {target} is not in the input; add it to count its pods")));
            continue;
        };
        if !SCALABLE.contains(&target.kind.as_str()) {
            inventory.skipped.push(skip(format!("{target} has no replicas to scale; it is counted as written")));
            continue;
        }
        if let Some(other) = &by[i] {
            errors.push(Error::field(
                hpa.to_string(),
                "spec.scaleTargetRef",
                format!("{target} is already scaled by {other}; Kubernetes scales no workload two autoscalers select"),
            ));
            continue;
        }
        by[i] = Some(hpa.clone());
        let w = index.workloads[i];
        let (min, max, written) = (a.min, a.max, w.desired);
        let (count, note) = if w.replicas_written && written == 0 {
            (0, format!("{target}: scaled to 0 replicas, which turns {hpa} off; none counted"))
        } else {
            match rule {
                HpaReplicas::Max => (max, format!("{target}: counted at {hpa}'s maxReplicas {max} (hpa rule max)")),
                HpaReplicas::Min if !w.replicas_written => (
                    min,
                    format!(
                        "{target}: no replicas written; counted at {hpa}'s minReplicas {min} \
                         (hpa rule max counts its maxReplicas {max})"
                    ),
                ),
                HpaReplicas::Min => {
                    let count = written.clamp(min, max);
                    let how = if count == written {
                        format!("{written} replicas as written, within {hpa}'s range {min}–{max}")
                    } else {
                        format!("{written} replicas clamped into {hpa}'s range {min}–{max}, as its controller would: {count}")
                    };
                    (count, format!("{target}: {how} (hpa rule max counts {max})"))
                }
            }
        };
        desired[i] = count;
        inventory.notes.push(note);
    }
    (desired, by)
}

/// Names a Pod object's ephemeral claims after it (`<pod>-<volume>`) and mounts them, as
/// [`PodParts::named`] does; the claims.
fn name_claims(pod: &mut Pod, ephemeral: Vec<ClaimTemplate>) -> Vec<ClaimTemplate> {
    let claims: Vec<ClaimTemplate> = ephemeral
        .into_iter()
        .map(|t| ClaimTemplate { name: format!("{}-{}", pod.name, t.name), spec: t.spec })
        .collect();
    pod.volume_claims.extend(claims.iter().map(|c| c.name.clone()));
    claims
}

/// The claims of a StatefulSet's pod `ordinal`: `<template>-<statefulset>-<ordinal>`.
fn statefulset_claims(w: &WorkloadObject, ordinal: u32) -> Vec<ClaimTemplate> {
    w.claim_templates
        .iter()
        .map(|t| ClaimTemplate { name: format!("{}-{}-{ordinal}", t.name, w.reference.name), spec: t.spec.clone() })
        .collect()
}

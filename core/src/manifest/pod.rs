//! A PodSpec (of a Pod or of a workload's template) into a [`model::Pod`](crate::model::Pod):
//! requests, node selection, tolerations, (anti-)affinity, topology spread, host ports,
//! volumes, priority and status.

use super::cluster::{claim_spec, ClaimSpec};
use super::cursor::Cursor;
use super::meta::Meta;
use super::requests::pod_requests;
use super::selectors::{
    label_selector, node_label_key, node_label_key_at, node_label_values, node_selector_term, node_selector_terms,
};
use super::taints::tolerations;
use crate::model::{
    HostPort, NodeAffinity, NodeInclusionPolicy, Pod, PodAffinity, PodAffinityTerm, PodPhase, TopologySpreadConstraint,
    Weighted, WhenUnsatisfiable,
};
use crate::time::Duration;

/// A claim a pod creates for itself: a generic ephemeral volume (`<pod>-<volume>`) or, for a
/// StatefulSet, a volumeClaimTemplate (`<template>-<statefulset>-<ordinal>`).
#[derive(Debug, Clone)]
pub(super) struct ClaimTemplate {
    pub name: String,
    pub spec: ClaimSpec,
}

/// A pod read from a spec, with the generic ephemeral volumes that become claims named after
/// the pod (`<pod>-<volume>`); [`PodParts::name`] adds those claims to the pod.
pub(super) struct PodParts {
    pub pod: Pod,
    pub ephemeral: Vec<ClaimTemplate>,
}

impl PodParts {
    /// The pod under `name`, mounting its ephemeral claims, and those claims.
    pub fn named(&self, name: &str) -> (Pod, Vec<ClaimTemplate>) {
        let mut pod = self.pod.clone();
        pod.name = name.to_string();
        let claims: Vec<ClaimTemplate> = self
            .ephemeral
            .iter()
            .map(|t| ClaimTemplate { name: format!("{name}-{}", t.name), spec: t.spec.clone() })
            .collect();
        pod.volume_claims.extend(claims.iter().map(|c| c.name.clone()));
        (pod, claims)
    }
}

/// Reads a pod. `spec` is the PodSpec (the caller checks it is there), `status` the Pod's
/// status (absent for templates).
pub(super) fn read_pod(namespace: &str, name: &str, meta: Meta, spec: &Cursor, status: &Cursor) -> PodParts {
    spec.is_map();
    let containers = spec.get("containers");
    if spec.is_present() && containers.items().is_empty() {
        containers.error("at least one container is required");
    }
    for container in containers.items().iter().chain(spec.get("initContainers").items().iter()) {
        container.get("name").required_str();
    }
    let affinity = spec.get("affinity");
    let mut claims = Vec::new();
    let mut ephemeral = Vec::new();
    for volume in spec.get("volumes").items() {
        let volume_name = volume.get("name").required_str();
        let claim = volume.get("persistentVolumeClaim");
        if claim.is_present() {
            if let Some(claim) = claim.get("claimName").required_str() {
                claims.push(claim.to_string());
            }
        }
        let template = volume.get("ephemeral").get("volumeClaimTemplate");
        if template.is_present() {
            let spec = claim_spec(&template.get("spec"));
            if let Some(volume) = volume_name {
                ephemeral.push(ClaimTemplate { name: volume.to_string(), spec });
            }
        }
    }
    let phase = match status.get("phase").one_of(&["Pending", "Running", "Succeeded", "Failed", "Unknown"]) {
        Some("Running") => PodPhase::Running,
        Some("Succeeded") => PodPhase::Succeeded,
        Some("Failed") => PodPhase::Failed,
        Some("Unknown") => PodPhase::Unknown,
        _ => PodPhase::Pending,
    };
    let pod = Pod {
        namespace: namespace.to_string(),
        name: name.to_string(),
        uid: meta.uid,
        labels: meta.labels,
        annotations: meta.annotations,
        owner: None,
        requests: pod_requests(spec),
        node_selector: node_selector(&spec.get("nodeSelector")),
        node_affinity: node_affinity(&affinity.get("nodeAffinity")),
        tolerations: tolerations(&spec.get("tolerations")),
        pod_affinity: pod_affinity(&affinity.get("podAffinity")),
        pod_anti_affinity: pod_affinity(&affinity.get("podAntiAffinity")),
        topology_spread: spec.get("topologySpreadConstraints").items().iter().filter_map(spread).collect(),
        host_ports: host_ports(spec),
        volume_claims: claims,
        priority: spec.get("priority").int_in(i32::MIN as i64, i32::MAX as i64).unwrap_or(0) as i32,
        priority_class_name: spec.get("priorityClassName").string(),
        created: meta.created,
        node_name: spec.get("nodeName").string().filter(|n| !n.is_empty()),
        phase,
        termination_grace_period: spec
            .get("terminationGracePeriodSeconds")
            .int_in(0, i64::MAX / 1000)
            .map(Duration::from_secs),
        deleting: meta.deleting,
    };
    PodParts { pod, ephemeral }
}

fn weight(c: &Cursor) -> Option<i32> {
    let w = c.get("weight");
    if !w.is_present() {
        w.error("required");
        return None;
    }
    w.int_in(1, 100).map(|w| w as i32)
}

fn node_affinity(c: &Cursor) -> NodeAffinity {
    let required = c.get("requiredDuringSchedulingIgnoredDuringExecution");
    let required = if required.is_present() { node_selector_terms(&required) } else { Vec::new() };
    let preferred = c
        .get("preferredDuringSchedulingIgnoredDuringExecution")
        .items()
        .iter()
        .filter_map(|p| {
            let term = node_selector_term(&p.get("preference"));
            Some(Weighted { weight: weight(p)?, term })
        })
        .collect();
    NodeAffinity { required, preferred }
}

/// A pod (anti-)affinity term. A term without a label selector selects no pod: as
/// anti-affinity it constrains nothing, and as affinity Kubernetes could never satisfy it,
/// so it is left out rather than stranding the pod.
fn affinity_term(c: &Cursor) -> Option<PodAffinityTerm> {
    let topology_key = c.get("topologyKey").required_str();
    node_label_key(&c.get("topologyKey"));
    let selector = label_selector(&c.get("labelSelector"));
    let namespace_selector = label_selector(&c.get("namespaceSelector"));
    let namespaces = c.get("namespaces").string_list();
    let match_label_keys = c.get("matchLabelKeys").string_list();
    let mismatch_label_keys = c.get("mismatchLabelKeys").string_list();
    Some(PodAffinityTerm {
        selector: selector?,
        topology_key: topology_key?.to_string(),
        namespaces,
        namespace_selector,
        match_label_keys,
        mismatch_label_keys,
    })
}

fn pod_affinity(c: &Cursor) -> PodAffinity {
    let required =
        c.get("requiredDuringSchedulingIgnoredDuringExecution").items().iter().filter_map(affinity_term).collect();
    let preferred = c
        .get("preferredDuringSchedulingIgnoredDuringExecution")
        .items()
        .iter()
        .filter_map(|p| {
            let w = weight(p);
            let term = p.get("podAffinityTerm");
            if !term.is_present() {
                term.error("required");
            }
            let term = affinity_term(&term);
            Some(Weighted { weight: w?, term: term? })
        })
        .collect();
    PodAffinity { required, preferred }
}

fn inclusion_policy(c: &Cursor, default: NodeInclusionPolicy) -> NodeInclusionPolicy {
    match c.one_of(&["Honor", "Ignore"]) {
        Some("Honor") => NodeInclusionPolicy::Honor,
        Some(_) => NodeInclusionPolicy::Ignore,
        None => default,
    }
}

/// A topology spread constraint with Kubernetes' defaults. One without a label selector
/// counts no pod, so it can never be violated, and is left out.
fn spread(c: &Cursor) -> Option<TopologySpreadConstraint> {
    let max_skew = c.get("maxSkew");
    let max_skew = if max_skew.is_present() {
        max_skew.int_in(1, i32::MAX as i64)
    } else {
        max_skew.error("required");
        None
    };
    let topology_key = c.get("topologyKey").required_str();
    node_label_key(&c.get("topologyKey"));
    let when = c.get("whenUnsatisfiable");
    let when_unsatisfiable = match when.one_of(&["DoNotSchedule", "ScheduleAnyway"]) {
        Some("DoNotSchedule") => Some(WhenUnsatisfiable::DoNotSchedule),
        Some(_) => Some(WhenUnsatisfiable::ScheduleAnyway),
        None => {
            if !when.is_present() {
                when.error("required");
            }
            None
        }
    };
    let min_domains = c.get("minDomains").int_in(1, i32::MAX as i64).map(|n| n as i32);
    if min_domains.is_some() && when_unsatisfiable == Some(WhenUnsatisfiable::ScheduleAnyway) {
        c.get("minDomains").error("may only be set with whenUnsatisfiable: DoNotSchedule");
    }
    let node_affinity_policy = inclusion_policy(&c.get("nodeAffinityPolicy"), NodeInclusionPolicy::Honor);
    let node_taints_policy = inclusion_policy(&c.get("nodeTaintsPolicy"), NodeInclusionPolicy::Ignore);
    let match_label_keys = c.get("matchLabelKeys").string_list();
    let selector = label_selector(&c.get("labelSelector"));
    Some(TopologySpreadConstraint {
        max_skew: max_skew? as i32,
        topology_key: topology_key?.to_string(),
        when_unsatisfiable: when_unsatisfiable?,
        selector: selector?,
        min_domains,
        node_affinity_policy,
        node_taints_policy,
        match_label_keys,
    })
}

/// Host ports of the app containers and sidecars. With `hostNetwork`, every container port
/// is a host port.
fn host_ports(spec: &Cursor) -> Vec<HostPort> {
    let host_network = spec.get("hostNetwork").bool().unwrap_or(false);
    let sidecars = spec
        .get("initContainers")
        .items()
        .into_iter()
        .filter(|c| c.get("restartPolicy").value().and_then(|v| v.as_str()) == Some("Always"));
    let mut out: Vec<HostPort> = Vec::new();
    for container in spec.get("containers").items().into_iter().chain(sidecars) {
        for port in container.get("ports").items() {
            let container_port = port.get("containerPort").int_in(1, 65535);
            let host_port = port.get("hostPort").int_in(0, 65535).filter(|p| *p > 0);
            let protocol = port.get("protocol").one_of(&["TCP", "UDP", "SCTP"]).unwrap_or("TCP");
            let host_ip = port.get("hostIP").string().unwrap_or_default();
            let port = match (host_port, host_network) {
                (Some(p), _) => p,
                (None, true) => match container_port {
                    Some(p) => p,
                    None => continue,
                },
                (None, false) => continue,
            };
            let hp = HostPort { port: port as u16, protocol: protocol.to_string(), host_ip };
            if !out.contains(&hp) {
                out.push(hp);
            }
        }
    }
    out
}

/// A pod's `nodeSelector`, its keys and values checked as node labels.
fn node_selector(c: &Cursor) -> crate::model::Labels {
    for (key, value) in c.entries() {
        node_label_key_at(key, &value);
        node_label_values(key, &value);
    }
    c.string_map()
}

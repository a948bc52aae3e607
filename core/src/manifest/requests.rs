//! Resource lists and a pod's effective requests, computed as Kubernetes computes them:
//! a missing request defaults to its limit; app containers and sidecars (init containers with
//! `restartPolicy: Always`) add up; each regular init container runs alone beside the sidecars
//! started before it; the pod needs the larger of the two phases, plus its overhead and one pod.

use super::cursor::Cursor;
use crate::quantity::Quantity;
use crate::resources::Resources;

/// Reads a resource list (`requests`, `limits`, `overhead`) as (name, quantity) pairs,
/// rejecting unknown names and negative amounts.
pub(super) fn resource_list(c: &Cursor) -> Vec<(String, Quantity)> {
    let mut out = Vec::new();
    for (name, value) in c.entries() {
        let Some(q) = value.non_negative_quantity() else { continue };
        if !Resources::is_valid_name(name) {
            value.error(format!(
                "unknown resource {name:?}: use cpu, memory, ephemeral-storage, hugepages-<size> or a \
                 domain-qualified extended resource such as nvidia.com/gpu"
            ));
            continue;
        }
        out.push((name.to_string(), q));
    }
    out
}

/// A resource list as a [`Resources`] vector.
pub(super) fn resources(c: &Cursor) -> Resources {
    let mut r = Resources::default();
    for (name, q) in resource_list(c) {
        // The name was validated by `resource_list`.
        let _ = r.set(&name, q);
    }
    r
}

/// What a container (or the pod, for pod-level resources) requests: its `requests`, with
/// each resource it only limits requested at its limit.
fn requested(resources: &Cursor) -> Vec<(String, Quantity)> {
    let mut requests = resource_list(&resources.get("requests"));
    for (name, q) in resource_list(&resources.get("limits")) {
        if !requests.iter().any(|(n, _)| *n == name) {
            requests.push((name, q));
        }
    }
    requests
}

fn container_requests(resources: &Cursor) -> Resources {
    let mut r = Resources::default();
    for (name, q) in requested(resources) {
        let _ = r.set(&name, q);
    }
    r
}

/// Effective requests of a pod spec, including `pods: 1`.
pub(super) fn pod_requests(spec: &Cursor) -> Resources {
    let mut app = Resources::default();
    for container in spec.get("containers").items() {
        app.add_assign(&container_requests(&container.get("resources")));
    }
    let mut sidecars = Resources::default();
    let mut init_phase = Resources::default();
    for init in spec.get("initContainers").items() {
        let requests = container_requests(&init.get("resources"));
        let is_sidecar = init.get("restartPolicy").one_of(&["Always"]).is_some();
        if is_sidecar {
            sidecars.add_assign(&requests);
            init_phase = init_phase.max(&sidecars);
        } else {
            init_phase = init_phase.max(&sidecars.add(&requests));
        }
    }
    let mut total = app.add(&sidecars).max(&init_phase);
    // Pod-level resources (`spec.resources`), where given, replace the containers' sum.
    let pod_level = spec.get("resources");
    if pod_level.is_present() {
        for (name, q) in requested(&pod_level) {
            let _ = total.set(&name, q);
        }
    }
    total.add_assign(&resources(&spec.get("overhead")));
    total.pods = 1;
    total
}

//! Draining a node before its instance goes, as Karpenter's terminator: the node is tainted
//! `karpenter.sh/disrupted:NoSchedule`, then its pods are evicted through the Eviction API
//! (so PodDisruptionBudgets hold: a refusal, HTTP 429, is retried with backoff, never forced)
//! group after group — ordinary pods, then DaemonSet pods, then critical pods, then critical
//! DaemonSet pods — each group gone before the next is asked.
//!
//! Not evicted: finished pods, mirror pods, pods that tolerate the disrupted taint (they would
//! come back), and pods with `karpenter.sh/do-not-disrupt: "true"`, which are waited for.
//! When the NodeClaim has a `terminationGracePeriod`, the node's deadline is its deletion time
//! plus that period: a pod whose own grace period would run past the deadline is deleted
//! (PDBs or do-not-disrupt notwithstanding) with what is left of it, so that every pod is gone
//! by then, and at the deadline the node goes whatever is left.
//!
//! This module decides; [`crate::lifecycle`] makes the calls.

use fleetfit::labels::{DISRUPTED_TAINT, DO_NOT_DISRUPT};
use k8s_openapi::api::core::v1::{Pod, Toleration};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The order pods are evicted in: each group is gone before the next is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    Ordinary,
    Daemon,
    Critical,
    CriticalDaemon,
}

/// Priority classes whose pods go last (Kubernetes' own).
const CRITICAL_PRIORITY_CLASSES: [&str; 2] = ["system-cluster-critical", "system-node-critical"];

/// A pod's grace period when its spec does not say (Kubernetes' default).
const DEFAULT_POD_GRACE_SECONDS: i64 = 30;

fn group(pod: &Pod) -> Group {
    let spec = pod.spec.as_ref();
    let critical =
        spec.and_then(|s| s.priority_class_name.as_deref()).is_some_and(|c| CRITICAL_PRIORITY_CLASSES.contains(&c));
    let daemon =
        pod.metadata.owner_references.iter().flatten().any(|o| o.kind == "DaemonSet" && o.controller == Some(true));
    match (critical, daemon) {
        (false, false) => Group::Ordinary,
        (false, true) => Group::Daemon,
        (true, false) => Group::Critical,
        (true, true) => Group::CriticalDaemon,
    }
}

fn finished(pod: &Pod) -> bool {
    matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"))
}

fn mirror(pod: &Pod) -> bool {
    pod.metadata.annotations.as_ref().is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"))
        || pod.metadata.owner_references.iter().flatten().any(|o| o.kind == "Node")
}

/// Whether a toleration tolerates `karpenter.sh/disrupted:NoSchedule` (no value).
fn tolerates_disrupted(t: &Toleration) -> bool {
    let key = t.key.as_deref().unwrap_or("");
    let exists = t.operator.as_deref() == Some("Exists");
    let key_ok = key == DISRUPTED_TAINT || key.is_empty() && exists;
    let value_ok = exists || t.value.as_deref().unwrap_or("").is_empty();
    let effect_ok = matches!(t.effect.as_deref(), None | Some("") | Some("NoSchedule"));
    key_ok && value_ok && effect_ok
}

/// Whether the node's drain waits for this pod: it is running there, and would not come back.
pub fn drainable(pod: &Pod) -> bool {
    let tolerates =
        pod.spec.as_ref().and_then(|s| s.tolerations.as_ref()).is_some_and(|ts| ts.iter().any(tolerates_disrupted));
    !finished(pod) && !mirror(pod) && !tolerates
}

fn do_not_disrupt(pod: &Pod) -> bool {
    pod.metadata.annotations.as_ref().and_then(|a| a.get(DO_NOT_DISRUPT)).is_some_and(|v| v == "true")
}

/// `namespace/name`.
pub fn key(pod: &Pod) -> String {
    format!("{}/{}", pod.metadata.namespace.as_deref().unwrap_or("default"), pod.metadata.name.as_deref().unwrap_or(""))
}

/// The next step of a node's drain.
#[derive(Debug, Default)]
pub struct Step {
    /// Pods to evict now (the first group with pods left).
    pub evict: Vec<Arc<Pod>>,
    /// Pods to delete now, with the grace period left to them (seconds): the node's deadline
    /// comes before their own grace period would end.
    pub delete: Vec<(Arc<Pod>, i64)>,
    /// Pods the drain still waits for (being deleted, to be evicted, or do-not-disrupt).
    pub left: usize,
    /// Pods kept by `karpenter.sh/do-not-disrupt` until the deadline.
    pub do_not_disrupt: Vec<String>,
}

impl Step {
    /// Whether the node is drained.
    pub fn done(&self) -> bool {
        self.left == 0
    }
}

/// What to do next to drain a node whose pods are `pods`, at `now` (seconds since the epoch),
/// with the node's deadline (seconds since the epoch) when it has one.
pub fn next_step(pods: &[Arc<Pod>], now: i64, deadline: Option<i64>) -> Step {
    let mut step = Step::default();
    let waiting: Vec<&Arc<Pod>> = pods.iter().filter(|p| drainable(p)).collect();
    step.left = waiting.len();
    let mut evictable = Vec::new();
    for pod in waiting {
        let deleting = pod.metadata.deletion_timestamp.is_some();
        if let Some(deadline) = deadline {
            let grace =
                pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(DEFAULT_POD_GRACE_SECONDS);
            if !deleting && now >= deadline - grace {
                step.delete.push((pod.clone(), (deadline - now).max(0)));
                continue;
            }
        }
        if deleting {
            continue;
        }
        if do_not_disrupt(pod) {
            step.do_not_disrupt.push(key(pod));
            continue;
        }
        evictable.push(pod);
    }
    // The first group with a pod left that is not do-not-disrupt (being deleted included: the
    // group is not gone yet).
    let first = pods.iter().filter(|p| drainable(p) && !do_not_disrupt(p)).map(|p| group(p)).min();
    if let Some(first) = first {
        step.evict = evictable.into_iter().filter(|p| group(p) == first).cloned().collect();
    }
    step
}

/// Per pod, when an eviction may be asked again after a refusal (429: a PDB allows none now),
/// with exponential backoff as Karpenter's eviction queue: 100 ms, doubling, at most 10 s. A
/// budget that opens again (a replacement Ready, a disrupted pod's entry expired) is asked
/// within 10 s.
#[derive(Default)]
pub struct Backoff(Mutex<HashMap<String, (Instant, Duration)>>);

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(10);

    /// Whether `pod` may be asked now.
    pub fn ready(&self, pod: &str) -> bool {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(pod).is_none_or(|(at, _)| Instant::now() >= *at)
    }

    /// `pod`'s eviction was refused: wait longer before the next ask.
    pub fn refused(&self, pod: &str) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let delay = map.get(pod).map(|(_, d)| (*d * 2).min(Self::MAX)).unwrap_or(Self::FIRST);
        map.insert(pod.to_string(), (Instant::now() + delay, delay));
    }

    /// How long until the next refused eviction may be asked again, if one waits: the
    /// lifecycle loop wakes then rather than at its next resync.
    pub fn next_wait(&self) -> Option<Duration> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        // Pods gone since their refusal are forgotten a while after it.
        map.retain(|_, (at, _)| *at + Self::MAX > now);
        map.values().filter(|(at, _)| *at > now).map(|(at, _)| *at - now).min()
    }

    /// `pod` is evicted or gone.
    pub fn forget(&self, pod: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(pod);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, extra: serde_json::Value) -> Arc<Pod> {
        let mut v = json!({
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {"containers": [{"name": "c"}], "nodeName": "n"},
            "status": {"phase": "Running"},
        });
        merge(&mut v, extra);
        Arc::new(serde_json::from_value(v).unwrap())
    }

    fn merge(a: &mut serde_json::Value, b: serde_json::Value) {
        match (a, b) {
            (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
                for (k, v) in b {
                    merge(a.entry(k).or_insert(serde_json::Value::Null), v);
                }
            }
            (a, b) => *a = b,
        }
    }

    fn daemon() -> serde_json::Value {
        json!({"metadata": {"ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "d", "uid": "u", "controller": true}]}})
    }

    fn names(pods: &[Arc<Pod>]) -> Vec<String> {
        pods.iter().map(|p| p.metadata.name.clone().unwrap()).collect()
    }

    #[test]
    fn groups_go_in_order_each_gone_before_the_next() {
        let critical = json!({"spec": {"priorityClassName": "system-cluster-critical"}});
        let pods = vec![
            pod("web", json!({})),
            pod("logs", daemon()),
            pod("dns", critical.clone()),
            pod("cni", {
                let mut d = daemon();
                merge(&mut d, json!({"spec": {"priorityClassName": "system-node-critical"}}));
                d
            }),
        ];
        let step = next_step(&pods, 1000, None);
        assert_eq!(names(&step.evict), ["web"]);
        assert_eq!(step.left, 4);
        // web is being deleted: its group is not gone, nothing else is asked.
        let mut deleting = pods.clone();
        deleting[0] = pod("web", json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}}));
        assert!(next_step(&deleting, 1000, None).evict.is_empty());
        assert_eq!(names(&next_step(&pods[1..], 1000, None).evict), ["logs"]);
        assert_eq!(names(&next_step(&pods[2..], 1000, None).evict), ["dns"]);
        assert_eq!(names(&next_step(&pods[3..], 1000, None).evict), ["cni"]);
        assert!(next_step(&[], 1000, None).done());
    }

    #[test]
    fn finished_mirror_and_tolerating_pods_are_not_waited_for() {
        let pods = vec![
            pod("done", json!({"status": {"phase": "Succeeded"}})),
            pod("static", json!({"metadata": {"annotations": {"kubernetes.io/config.mirror": "x"}}})),
            pod("everywhere", json!({"spec": {"tolerations": [{"operator": "Exists"}]}})),
            pod(
                "disrupted-ok",
                json!({"spec": {"tolerations": [{"key": "karpenter.sh/disrupted", "operator": "Exists", "effect": "NoSchedule"}]}}),
            ),
            pod("other-taint", json!({"spec": {"tolerations": [{"key": "gpu", "operator": "Exists"}]}})),
        ];
        let step = next_step(&pods, 1000, None);
        assert_eq!(step.left, 1);
        assert_eq!(names(&step.evict), ["other-taint"]);
    }

    #[test]
    fn do_not_disrupt_pods_wait_for_the_deadline_then_are_deleted() {
        let pinned = json!({"metadata": {"annotations": {"karpenter.sh/do-not-disrupt": "true"}}, "spec": {"terminationGracePeriodSeconds": 60}});
        let pods = vec![pod("batch", pinned), pod("web", json!({}))];
        // No deadline: kept, and not in the way of the other pods.
        let step = next_step(&pods, 1000, None);
        assert_eq!(step.do_not_disrupt, ["shop/batch"]);
        assert_eq!(names(&step.evict), ["web"]);
        assert!(step.delete.is_empty());
        // Deadline at 2000: at 1939 still kept; from 1940 (its 60 s would run past) deleted with
        // what is left.
        assert!(next_step(&pods, 1939, Some(2000)).delete.is_empty());
        let step = next_step(&pods, 1950, Some(2000));
        assert_eq!(step.delete.len(), 1);
        assert_eq!(step.delete[0].1, 50);
        // web (30 s default) is deleted too at 1970.
        let step = next_step(&pods, 1970, Some(2000));
        assert_eq!(
            step.delete.iter().map(|(p, g)| (key(p), *g)).collect::<Vec<_>>(),
            [("shop/batch".to_string(), 30), ("shop/web".to_string(), 30)]
        );
        assert!(step.evict.is_empty());
    }

    #[test]
    fn a_refused_eviction_backs_off_exponentially() {
        let b = Backoff::default();
        assert!(b.ready("shop/web"));
        b.refused("shop/web");
        assert!(!b.ready("shop/web"));
        b.refused("shop/web");
        assert_eq!(b.0.lock().unwrap()["shop/web"].1, Duration::from_millis(200));
        for _ in 0..10 {
            b.refused("shop/web");
        }
        assert_eq!(b.0.lock().unwrap()["shop/web"].1, Backoff::MAX);
        assert!(b.next_wait().is_some_and(|w| w <= Backoff::MAX));
        b.forget("shop/web");
        assert!(b.ready("shop/web"));
        assert_eq!(b.next_wait(), None);
    }
}

//! The controller's metrics, in Prometheus' text format: Karpenter's names and labels where
//! the meaning is the same (NodeClaims created, launched, registered, initialized; scheduling
//! duration; pods waiting), and fleetfit's own (the plan's cost, lower bound and gap).

use fleetfit::plan::Plan;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the scheduling duration histogram, in seconds.
const BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Default)]
struct Values {
    /// (metric, labels) → value.
    counters: BTreeMap<(&'static str, String), f64>,
    gauges: BTreeMap<(&'static str, String), f64>,
    /// Scheduling durations: per bucket count, sum, count.
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// Every metric the controller exposes.
#[derive(Default)]
pub struct Metrics(Mutex<Values>);

const HELP: &[(&str, &str, &str)] = &[
    ("karpenter_nodeclaims_created_total", "counter", "NodeClaims created, by NodePool and reason."),
    ("karpenter_nodeclaims_launched_total", "counter", "NodeClaims whose instance was launched, by NodePool."),
    ("karpenter_nodeclaims_registered_total", "counter", "NodeClaims whose node registered, by NodePool."),
    ("karpenter_nodeclaims_initialized_total", "counter", "NodeClaims whose node was initialized, by NodePool."),
    ("karpenter_nodeclaims_terminated_total", "counter", "NodeClaims deleted, by NodePool and reason."),
    ("karpenter_nodes_drained_total", "counter", "Nodes drained, by NodePool."),
    ("karpenter_nodes_terminated_total", "counter", "Nodes whose instance was terminated, by NodePool."),
    ("karpenter_nodes_eviction_requests_total", "counter", "Eviction API requests, by HTTP status code."),
    (
        "fleetfit_pods_deleted_at_deadline_total",
        "counter",
        "Pods deleted because their node's terminationGracePeriod ended.",
    ),
    (
        "karpenter_voluntary_disruption_decisions_total",
        "counter",
        "Disruption commands, by decision (delete, replace, invalidated, failed), reason and method.",
    ),
    (
        "karpenter_nodeclaims_disrupted_total",
        "counter",
        "NodeClaims deleted by the disruption loop, by NodePool and reason.",
    ),
    (
        "fleetfit_garbage_collected_total",
        "counter",
        "Instances no NodeClaim knows terminated, and NodeClaims whose instance is gone deleted, by kind.",
    ),
    ("karpenter_provisioner_scheduling_queue_depth", "gauge", "Pods waiting for a node in the last batch."),
    ("karpenter_scheduler_unschedulable_pods_count", "gauge", "Pods no node can take in the last plan."),
    ("fleetfit_plan_cost_per_hour", "gauge", "Price per hour of the new nodes of the last plan."),
    ("fleetfit_plan_lower_bound_per_hour", "gauge", "No plan for the same pods launches new nodes for less."),
    ("fleetfit_plan_gap", "gauge", "(cost - bound) / bound of the last plan."),
    ("fleetfit_plan_new_nodes", "gauge", "New nodes of the last plan."),
    ("fleetfit_cluster_cost_per_hour", "gauge", "Price per hour of the cluster's nodes (the consolidation's before)."),
    ("fleetfit_consolidation_savings_per_hour", "gauge", "What the core's consolidation would save per hour."),
    ("fleetfit_consolidation_commands", "gauge", "Consolidation commands the core would run."),
];

impl Metrics {
    fn with(&self, f: impl FnOnce(&mut Values)) {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn count(&self, metric: &'static str, labels: String) {
        self.with(|v| *v.counters.entry((metric, labels)).or_default() += 1.0);
    }

    /// A NodeClaim created, for `reason` (`provisioning`, `disruption`).
    pub fn nodeclaim_created(&self, nodepool: &str, reason: &str) {
        self.count("karpenter_nodeclaims_created_total", format!("nodepool=\"{nodepool}\",reason=\"{reason}\""));
    }
    pub fn nodeclaim_launched(&self, nodepool: &str) {
        self.count("karpenter_nodeclaims_launched_total", format!("nodepool=\"{nodepool}\""));
    }
    pub fn nodeclaim_registered(&self, nodepool: &str) {
        self.count("karpenter_nodeclaims_registered_total", format!("nodepool=\"{nodepool}\""));
    }
    pub fn nodeclaim_initialized(&self, nodepool: &str) {
        self.count("karpenter_nodeclaims_initialized_total", format!("nodepool=\"{nodepool}\""));
    }
    pub fn nodeclaim_terminated(&self, nodepool: &str, reason: &str) {
        self.count("karpenter_nodeclaims_terminated_total", format!("nodepool=\"{nodepool}\",reason=\"{reason}\""));
    }

    pub fn disruption_decision(&self, decision: &str, command: &fleetfit::consolidate::Command) {
        let labels = format!(
            "decision=\"{decision}\",reason=\"{:?}\",consolidation_type=\"{}\"",
            command.reason,
            serde_json::to_value(command.method).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
        );
        self.count("karpenter_voluntary_disruption_decisions_total", labels);
    }
    pub fn nodeclaim_disrupted(&self, nodepool: &str, reason: &str) {
        self.count("karpenter_nodeclaims_disrupted_total", format!("nodepool=\"{nodepool}\",reason=\"{reason}\""));
    }
    pub fn garbage_collected(&self, kind: &str) {
        self.count("fleetfit_garbage_collected_total", format!("kind=\"{kind}\""));
    }
    pub fn node_drained(&self, nodepool: &str) {
        self.count("karpenter_nodes_drained_total", format!("nodepool=\"{nodepool}\""));
    }
    pub fn node_terminated(&self, nodepool: &str) {
        self.count("karpenter_nodes_terminated_total", format!("nodepool=\"{nodepool}\""));
    }
    pub fn eviction(&self, code: u16) {
        self.count("karpenter_nodes_eviction_requests_total", format!("code=\"{code}\""));
    }
    pub fn pod_deleted_at_deadline(&self) {
        self.count("fleetfit_pods_deleted_at_deadline_total", String::new());
    }

    pub fn set_pending(&self, pods: usize) {
        self.with(|v| {
            v.gauges.insert(("karpenter_provisioner_scheduling_queue_depth", String::new()), pods as f64);
        });
    }

    /// A plan and how long it took.
    pub fn observe_plan(&self, plan: &Plan, took: Duration) {
        self.with(|v| {
            let secs = took.as_secs_f64();
            for (i, le) in BUCKETS.iter().enumerate() {
                if secs <= *le {
                    v.buckets[i] += 1;
                }
            }
            v.sum += secs;
            v.count += 1;
            let mut set = |name: &'static str, x: f64| {
                v.gauges.insert((name, String::new()), x);
            };
            set("karpenter_scheduler_unschedulable_pods_count", plan.unschedulable.len() as f64);
            set("fleetfit_plan_cost_per_hour", plan.cost_per_hour);
            set("fleetfit_plan_lower_bound_per_hour", plan.lower_bound_per_hour);
            set("fleetfit_plan_gap", plan.gap.unwrap_or(0.0));
            set("fleetfit_plan_new_nodes", plan.nodes.len() as f64);
        });
    }

    /// What consolidation would do.
    pub fn observe_consolidation(&self, plan: &fleetfit::consolidate::ConsolidationPlan) {
        self.with(|v| {
            v.gauges.insert(("fleetfit_cluster_cost_per_hour", String::new()), plan.cost_per_hour_before);
            v.gauges.insert(("fleetfit_consolidation_savings_per_hour", String::new()), plan.savings_per_hour);
            v.gauges.insert(("fleetfit_consolidation_commands", String::new()), plan.commands.len() as f64);
        });
    }

    /// Everything, in the Prometheus text format.
    pub fn render(&self) -> String {
        let v = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        for (name, kind, help) in HELP {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for ((metric, labels), value) in v.counters.iter().chain(v.gauges.iter()) {
                if metric == name {
                    let labels = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
                    let _ = writeln!(out, "{name}{labels} {value}");
                }
            }
        }
        let name = "karpenter_provisioner_scheduling_duration_seconds";
        let _ = writeln!(out, "# HELP {name} Time to plan a batch of pending pods.\n# TYPE {name} histogram");
        for (le, n) in BUCKETS.iter().zip(v.buckets) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {n}");
        }
        let _ =
            writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}\n{name}_sum {}\n{name}_count {}", v.count, v.sum, v.count);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_the_histogram_render_in_prometheus_text() {
        let m = Metrics::default();
        m.nodeclaim_created("general", "provisioning");
        m.nodeclaim_created("general", "provisioning");
        m.set_pending(7);
        let text = m.render();
        assert!(
            text.contains("karpenter_nodeclaims_created_total{nodepool=\"general\",reason=\"provisioning\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("karpenter_provisioner_scheduling_queue_depth 7\n"));
        assert!(text.contains("karpenter_provisioner_scheduling_duration_seconds_count 0\n"));
        assert!(text.contains("# TYPE karpenter_nodeclaims_launched_total counter"));
    }
}

//! Human-readable tables.

use fleetfit::explain::Explanation;
use fleetfit::Inventory;
use std::fmt::Write;

fn money(currency: &str, amount: f64) -> String {
    let symbol = match currency {
        "USD" => "$",
        "CNY" => "¥",
        _ => "",
    };
    if amount >= 1.0 {
        format!("{symbol}{amount:.3}")
    } else {
        format!("{symbol}{amount:.4}")
    }
}

/// The `explain` table: NodePools first, then one block per workload.
pub fn explanation(e: &Explanation, inventory: &Inventory) -> String {
    let mut out = String::new();
    let blocked = e.workloads.iter().filter(|w| !w.schedulable).count();
    let _ = writeln!(
        out,
        "{} pending pods in {} workloads; region {} ({}); {} workload(s) cannot be scheduled",
        e.pending_pods,
        e.workloads.len(),
        e.region,
        e.currency,
        blocked
    );
    for s in &inventory.skipped {
        let _ = writeln!(out, "skipped {} {}: {}", s.kind, s.name, s.reason);
    }
    for n in &e.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let _ = writeln!(out);
    if e.default_nodepool {
        let _ = writeln!(out, "No NodePool given; using Karpenter's default NodePool:");
    } else {
        let _ = writeln!(out, "NodePools, in the order Karpenter tries them:");
    }
    for p in &e.nodepools {
        let _ = writeln!(
            out,
            "  {} (weight {}): allows {} of {} instance types",
            p.name, p.weight, p.instance_types_allowed, p.instance_types_total
        );
        for r in &p.requirements {
            let _ = writeln!(out, "      {r}");
        }
        if !p.taints.is_empty() {
            let _ = writeln!(out, "      taints: {}", p.taints.join(", "));
        }
        if !p.daemon_overhead.is_zero() {
            let _ = writeln!(out, "      DaemonSets per node: {}", p.daemon_overhead);
        }
    }
    for w in &e.workloads {
        let _ = writeln!(out);
        let _ = writeln!(out, "{}  x{}  {}", w.name, w.pods, w.requests);
        if w.schedulable {
            let _ = writeln!(
                out,
                "  ok: {} candidates ({} instance types) in NodePool {}",
                w.candidates,
                w.instance_types,
                w.nodepools.join(", ")
            );
            let width = w.cheapest.iter().map(|c| c.instance_type.len()).max().unwrap_or(0);
            for (i, c) in w.cheapest.iter().enumerate() {
                let label = if i == 0 { "cheapest:" } else { "" };
                let zones = if c.zones.len() > 2 { format!("{} zones", c.zones.len()) } else { c.zones.join(",") };
                let _ = writeln!(
                    out,
                    "    {label:<9} {:<width$}  {:<9} {:>9}/h  {:>3} pods/node  {:>9}/pod/h  {}  [{}]",
                    c.instance_type,
                    c.capacity_type,
                    money(&e.currency, c.price_per_hour),
                    c.pods_per_node,
                    money(&e.currency, c.price_per_pod_hour),
                    zones,
                    c.nodepool,
                );
            }
        } else {
            let _ = writeln!(out, "  NO candidate: these pods cannot be scheduled on any NodePool");
        }
        // Types a NodePool excludes whatever the pod asks are summarised in the NodePool
        // section; here only what this workload's own constraints rule out.
        // For pods that fit nowhere the NodePools' own exclusions follow, after the rest.
        let mut own: Vec<_> = w.rejections.iter().filter(|r| !r.nodepool_only).collect();
        if !w.schedulable {
            own.extend(w.rejections.iter().filter(|r| r.nodepool_only));
        }
        if !own.is_empty() {
            let _ = writeln!(out, "  rejected:");
            for r in own {
                let scope = if r.instance_types == 0 {
                    format!("NodePool {}", r.nodepool)
                } else {
                    let plural = if r.instance_types == 1 { "" } else { "s" };
                    format!("{}: {} type{plural}", r.nodepool, r.instance_types)
                };
                let examples =
                    if r.examples.is_empty() { String::new() } else { format!(" (e.g. {})", r.examples.join(", ")) };
                let _ = writeln!(out, "    {scope}: {}{examples}", r.message);
            }
        }
    }
    out
}

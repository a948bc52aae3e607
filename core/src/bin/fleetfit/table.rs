//! Human-readable tables.

use fleetfit::consolidate::ConsolidationPlan;
use fleetfit::explain::Explanation;
use fleetfit::plan::Plan;
use fleetfit::Inventory;
use std::collections::BTreeMap;
use std::fmt::Write;

fn money(currency: &str, amount: f64) -> String {
    let amount = fleetfit::plan::positive_zero(amount);
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

/// The objects skipped (those whose pods are not counted are warnings instead), then the
/// answer's warnings.
fn skipped_and_warnings(out: &mut String, inventory: &Inventory, warnings: &[String]) {
    for s in inventory.skipped.iter().filter(|s| !s.pods_not_counted) {
        let _ = writeln!(out, "skipped {} {}: {}", s.kind, s.name, s.reason);
    }
    for w in warnings {
        let _ = writeln!(out, "warning: {w}");
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
    skipped_and_warnings(&mut out, inventory, &e.warnings);
    for n in &e.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let _ = writeln!(out);
    if e.default_nodepool {
        let _ = writeln!(out, "No NodePool given; using fleetfit's stand-in NodePool (Karpenter has none; this is its getting-started guide's):");
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
                if let Some(limit) = &c.limited_by {
                    let _ = writeln!(out, "    {:<9} {:<width$}  limited by {limit}", "", "");
                }
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

const HOURS_PER_MONTH: f64 = 730.0;

/// New nodes alike for the table: NodePool, instance type, capacity type, zone.
type NodeGroup<'a> = (&'a str, &'a str, &'a str, &'a str);

fn percent(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// The `plan` table: new nodes grouped by type, costs, the bound and gap, then pods that fit
/// nowhere.
pub fn plan(p: &Plan, inventory: &Inventory) -> String {
    let mut out = String::new();
    let placed: usize = p.nodes.iter().map(|n| n.pods.len()).sum();
    let _ = writeln!(
        out,
        "{} pending pods: {} on {} new nodes, {} on existing nodes, {} unschedulable  (mode {}, region {})",
        placed + p.existing.len() + p.unschedulable.len(),
        placed,
        p.nodes.len(),
        p.existing.len(),
        p.unschedulable.len(),
        p.mode,
        p.region
    );
    skipped_and_warnings(&mut out, inventory, &p.warnings);
    for n in &p.notes {
        let _ = writeln!(out, "note: {n}");
    }
    if !p.nodes.is_empty() {
        // (nodepool, type, capacity type, zone) -> (count, price, summed cpu and memory shares)
        let mut groups: BTreeMap<NodeGroup<'_>, (usize, f64, f64, f64)> = BTreeMap::new();
        for n in &p.nodes {
            let g = groups
                .entry((n.nodepool.as_str(), n.instance_type.as_str(), n.capacity_type.as_str(), n.zone.as_str()))
                .or_insert((0, n.price_per_hour, 0.0, 0.0));
            g.0 += 1;
            g.2 += n.utilisation.cpu;
            g.3 += n.utilisation.memory;
        }
        let width = groups.keys().map(|k| k.1.len()).max().unwrap_or(4).max(13);
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "  {:>5}  {:<width$}  {:<10} {:<12} {:<12} {:>10} {:>11}  {:>4} {:>4}",
            "COUNT", "INSTANCE TYPE", "CAPACITY", "ZONE", "NODEPOOL", "EACH/H", "TOTAL/H", "CPU", "MEM"
        );
        for ((pool, it, ct, zone), (count, price, cpu, mem)) in &groups {
            let _ = writeln!(
                out,
                "  {count:>5}  {it:<width$}  {ct:<10} {zone:<12} {pool:<12} {:>10} {:>11}  {:>4} {:>4}",
                money(&p.currency, *price),
                money(&p.currency, price * *count as f64),
                percent(cpu / *count as f64),
                percent(mem / *count as f64),
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "cost:        {}/h  ({}/month)",
        money(&p.currency, p.cost_per_hour),
        money(&p.currency, p.cost_per_hour * HOURS_PER_MONTH)
    );
    let gap = match p.gap {
        Some(g) => format!("{:.1}%", g * 100.0),
        None => "unknown (no bound)".to_string(),
    };
    let _ = writeln!(out, "lower bound: {}/h  gap {gap}", money(&p.currency, p.lower_bound_per_hour));
    if let Some(k) = p.karpenter_cost_per_hour {
        let saving = if k > 0.0 { format!("  ({} less)", percent((k - p.cost_per_hour) / k)) } else { String::new() };
        let _ = writeln!(
            out,
            "karpenter:   {}/h  ({}/month) for the same pods in karpenter mode{saving}",
            money(&p.currency, k),
            money(&p.currency, k * HOURS_PER_MONTH)
        );
    }
    let _ = writeln!(
        out,
        "utilisation of new nodes: cpu {}, memory {}",
        percent(p.utilisation.cpu),
        percent(p.utilisation.memory)
    );
    if !p.unschedulable.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "unschedulable:");
        for u in &p.unschedulable {
            let _ = writeln!(out, "  {}", u.pod);
            for r in &u.reasons {
                let _ = writeln!(out, "      {r}");
            }
        }
    }
    out
}

/// The `consolidate` table: the commands in order, the savings, then why every other node
/// stays.
pub fn consolidation(p: &ConsolidationPlan, inventory: &Inventory) -> String {
    let mut out = String::new();
    let disrupted: usize = p.commands.iter().map(|c| c.candidates.len()).sum();
    let launched: usize = p.commands.iter().map(|c| c.replacements.len()).sum();
    let _ = writeln!(
        out,
        "{} commands: {} nodes disrupted, {} launched, {} kept  (mode {}, at {}, region {})",
        p.commands.len(),
        disrupted,
        launched,
        p.kept.len(),
        p.mode,
        p.now,
        p.region
    );
    skipped_and_warnings(&mut out, inventory, &p.warnings);
    for n in &p.notes {
        let _ = writeln!(out, "note: {n}");
    }
    for (i, c) in p.commands.iter().enumerate() {
        let _ = writeln!(out);
        let method = serde_json::to_value(c.method).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        let _ = writeln!(
            out,
            "{}. {:?} ({method}): {:?} {} node{}, saves {}/h, disruption cost {:.2}",
            i + 1,
            c.reason,
            c.action,
            c.candidates.len(),
            if c.candidates.len() == 1 { "" } else { "s" },
            money(&p.currency, c.savings_per_hour),
            c.disruption_cost
        );
        for n in &c.candidates {
            let _ = writeln!(
                out,
                "     - {}  {} {} {}  {}/h  {} pods",
                n.node,
                n.instance_type,
                n.capacity_type,
                n.zone,
                money(&p.currency, n.price_per_hour),
                n.pods
            );
        }
        for r in &c.replacements {
            let _ = writeln!(
                out,
                "     + {}  {} {} {}  {}/h  {} pods  ({} options)",
                r.name,
                r.instance_type,
                r.capacity_type,
                r.zone,
                money(&p.currency, r.price_per_hour),
                r.pods.len(),
                r.instance_types.len()
            );
        }
        let elsewhere = c.moves.len() - c.replacements.iter().map(|r| r.pods.len()).sum::<usize>();
        if elsewhere > 0 {
            let _ = writeln!(out, "     {elsewhere} pods move to other existing nodes");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "cost:    {}/h before, {}/h after  (saves {}/h, {}/month)",
        money(&p.currency, p.cost_per_hour_before),
        money(&p.currency, p.cost_per_hour_after),
        money(&p.currency, p.savings_per_hour),
        money(&p.currency, p.savings_per_hour * HOURS_PER_MONTH)
    );
    if let Some(k) = p.karpenter_savings_per_hour {
        let _ = writeln!(
            out,
            "karpenter: its rules alone save {}/h ({}/month) on the same snapshot",
            money(&p.currency, k),
            money(&p.currency, k * HOURS_PER_MONTH)
        );
    }
    if !p.kept.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "kept:");
        for k in &p.kept {
            let why = if k.reasons.is_empty() { "no command was needed".to_string() } else { k.reasons.join("; ") };
            let _ = writeln!(out, "  {} [{}]: {why}", k.node, k.nodepool);
        }
    }
    out
}

/// The `simulate` table: one row per hour (the cluster at the hour's end, churn summed over
/// it), then the totals.
pub fn timeline(t: &fleetfit::simulate::Timeline) -> String {
    let mut out = String::new();
    for w in &t.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    for n in &t.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let _ = writeln!(
        out,
        "{:<21} {:>6} {:>6} {:>6} {:>11} {:>8} {:>8} {:>8} {:>9}",
        "TIME", "NODES", "SPOT", "OD", "COST/H", "PENDING", "LAUNCH", "TERMIN", "EVICTED"
    );
    // Steps of the same hour: the same "YYYY-MM-DDTHH" prefix.
    let hourly = t.steps.chunk_by(|a, b| a.at.get(..13) == b.at.get(..13));
    for hour in hourly {
        let last = &hour[hour.len() - 1];
        let _ = writeln!(
            out,
            "{:<21} {:>6} {:>6} {:>6} {:>11} {:>8} {:>8} {:>8} {:>9}",
            last.at,
            last.nodes,
            last.spot_nodes,
            last.on_demand_nodes,
            money(&t.currency, last.cost_per_hour),
            last.pending_pods,
            hour.iter().map(|s| s.launches).sum::<usize>(),
            hour.iter().map(|s| s.terminations).sum::<usize>(),
            hour.iter().map(|s| s.evictions).sum::<usize>(),
        );
    }
    let x = &t.totals;
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "total: {} for {:.1} node-hours (peak {} nodes, {}/h); {:.0} pending pod-seconds; {} launches, {} terminations, {} evictions",
        money(&t.currency, x.cost),
        x.node_hours,
        x.max_nodes,
        money(&t.currency, x.max_cost_per_hour),
        x.pending_pod_seconds,
        x.launches,
        x.terminations,
        x.evictions
    );
    out
}

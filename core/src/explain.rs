//! `explain`: for each workload with pending pods, how many (NodePool, instance type)
//! candidates can host it, the cheapest few, and every rejection grouped by reason.

use crate::catalog::Catalog;
use crate::filter::{default_nodepool, shape_classes, FilterContext, RejectionGroup};
use crate::model::{Inventory, NodePool, ObjectRef, Pod};
use crate::resources::Resources;
use crate::Result;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

/// Options of [`explain`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExplainOptions {
    /// How many of the cheapest candidates to list per workload.
    pub top: usize,
}

impl Default for ExplainOptions {
    fn default() -> Self {
        ExplainOptions { top: 3 }
    }
}

/// The answer of [`explain`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub region: String,
    pub currency: String,
    /// Facts about the input and the data used (autoscaled replicas, price fallbacks, assumed
    /// node classes, ...).
    pub notes: Vec<String>,
    /// Pods the input makes that are not counted (see [`Inventory::warnings`]).
    pub warnings: Vec<String>,
    /// True when the input had no NodePool and [`default_nodepool`] was used.
    pub default_nodepool: bool,
    /// The NodePools considered, in the order Karpenter tries them.
    pub nodepools: Vec<NodePoolSummary>,
    pub pending_pods: usize,
    pub workloads: Vec<WorkloadExplanation>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodePoolSummary {
    pub name: String,
    pub weight: i32,
    /// The NodePool's requirements, one `key Operator [values]` string each.
    pub requirements: Vec<String>,
    pub taints: Vec<String>,
    /// DaemonSet requests counted on each of its nodes.
    pub daemon_overhead: Resources,
    /// Instance types its own requirements and limits allow, of all in the catalog.
    pub instance_types_allowed: usize,
    pub instance_types_total: usize,
}

/// Where one workload's pending pods (of one shape) can go, and where not. Standalone Pods
/// (of no workload) of one shape share one explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkloadExplanation {
    /// The workload; for standalone Pods, the first of them.
    pub workload: ObjectRef,
    /// `Deployment shop/web`; `Pod shop/web-0` for one standalone Pod, `Pods shop/a, b, c and
    /// 17 more` for several of one shape.
    pub name: String,
    pub pods: usize,
    /// For standalone Pods: the first few of their names, in input order (empty for a
    /// workload's pods).
    pub pod_names: Vec<String>,
    /// Requests of one pod.
    pub requests: Resources,
    pub schedulable: bool,
    /// (NodePool, instance type) pairs that can host a pod.
    pub candidates: usize,
    /// Distinct instance types among them.
    pub instance_types: usize,
    /// NodePools with at least one candidate.
    pub nodepools: Vec<String>,
    pub cheapest: Vec<CheapOption>,
    pub rejections: Vec<RejectionGroup>,
}

/// How many standalone Pods' names an explanation lists.
const POD_NAMES_SHOWN: usize = 3;

/// The display name of standalone Pods of one shape: `Pod shop/web-0`, or `Pods shop/a, b, c
/// and 17 more`.
fn standalone_name(first: &Pod, shown: &[String], count: usize) -> String {
    if count == 1 {
        return first.workload().to_string();
    }
    let more = count - shown.len();
    let rest = if more > 0 { format!(" and {more} more") } else { String::new() };
    format!("Pods {}/{}{rest}", first.namespace, shown.join(", "))
}

/// One of the cheapest places for a workload's pods.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheapOption {
    pub nodepool: String,
    pub instance_type: String,
    pub capacity_type: String,
    /// Zones offering this price.
    pub zones: Vec<String>,
    pub price_per_hour: f64,
    /// Pods of this shape an empty node holds, after DaemonSets.
    pub pods_per_node: u64,
    /// The resource that limits `pods_per_node`, in words (`memory: 1 pod of 1Gi per t3.small,
    /// 1.38Gi allocatable`).
    pub limited_by: Option<String>,
    pub price_per_pod_hour: f64,
}

/// Explains every pending pod of the inventory against its NodePools (or the default one)
/// and the catalog.
pub fn explain(inventory: &Inventory, catalog: &Catalog, options: &ExplainOptions) -> Result<Explanation> {
    let default_used = inventory.nodepools.is_empty();
    let pools: Vec<NodePool> = if default_used { vec![default_nodepool()] } else { inventory.nodepools.clone() };
    let daemonsets: Vec<&Pod> = inventory.daemonsets.iter().map(|d| &d.template).collect();
    let context = FilterContext::new(&pools, &inventory.nodeclasses, &daemonsets, catalog)?;
    let pending: Vec<&Pod> = inventory.pending_pods().collect();
    let classes = shape_classes(&pending, inventory);

    let mut workloads = Vec::new();
    for class in &classes {
        let result = context.filter(class);
        let mut ranked: Vec<&crate::filter::Candidate> = result.candidates.iter().collect();
        ranked.sort_by(|a, b| {
            a.price.total_cmp(&b.price).then_with(|| {
                let ta = &context.pools[a.pool].instance_types[a.instance_type].name;
                let tb = &context.pools[b.pool].instance_types[b.instance_type].name;
                ta.cmp(tb).then(a.pool.cmp(&b.pool))
            })
        });
        let cheapest: Vec<CheapOption> = ranked
            .iter()
            .take(options.top)
            .map(|c| {
                let pool = &context.pools[c.pool];
                let t = &pool.instance_types[c.instance_type];
                let offers: Vec<&crate::catalog::Offering> = t
                    .offerings
                    .iter()
                    .enumerate()
                    .filter(|(i, o)| c.offerings & (1 << i) != 0 && o.price == c.price)
                    .map(|(_, o)| o)
                    .collect();
                let capacity_type = offers.first().map(|o| o.capacity_type.to_string()).unwrap_or_default();
                let zones: BTreeSet<String> = offers
                    .iter()
                    .filter(|o| o.capacity_type.to_string() == capacity_type)
                    .map(|o| o.zone.clone())
                    .collect();
                CheapOption {
                    nodepool: pool.nodepool.name.clone(),
                    instance_type: t.name.clone(),
                    capacity_type,
                    zones: zones.into_iter().collect(),
                    price_per_hour: c.price,
                    pods_per_node: c.pods_per_node,
                    limited_by: crate::filter::pods_per_node_limit(&class.requests, t, &pool.daemon_overhead),
                    price_per_pod_hour: if c.pods_per_node > 0 { c.price / c.pods_per_node as f64 } else { c.price },
                }
            })
            .collect();
        let types: BTreeSet<&str> = result
            .candidates
            .iter()
            .map(|c| context.pools[c.pool].instance_types[c.instance_type].name.as_str())
            .collect();
        let pools_with: BTreeSet<usize> = result.candidates.iter().map(|c| c.pool).collect();
        let block = |workload: ObjectRef, name: String, pods: usize, pod_names: Vec<String>| WorkloadExplanation {
            workload,
            name,
            pods,
            pod_names,
            requests: class.requests.clone(),
            schedulable: !result.candidates.is_empty(),
            candidates: result.candidates.len(),
            instance_types: types.len(),
            nodepools: pools_with.iter().map(|&p| context.pools[p].nodepool.name.clone()).collect(),
            cheapest: cheapest.clone(),
            rejections: result.rejections.clone(),
        };
        // A workload's pods get a block per workload; standalone Pods one block for the class.
        let mut per_workload: HashMap<(&str, &str, &str), usize> = HashMap::new();
        let mut standalone: Vec<&Pod> = Vec::new();
        for &i in &class.pods {
            match &pending[i].owner {
                Some(o) => *per_workload.entry((&o.kind, &o.namespace, &o.name)).or_default() += 1,
                None => standalone.push(pending[i]),
            }
        }
        for workload in &class.workloads {
            let key = (workload.kind.as_str(), workload.namespace.as_str(), workload.name.as_str());
            if let Some(&pods) = per_workload.get(&key) {
                workloads.push(block(workload.clone(), workload.to_string(), pods, Vec::new()));
            }
        }
        if let Some(first) = standalone.first() {
            let pod_names: Vec<String> = standalone.iter().take(POD_NAMES_SHOWN).map(|p| p.name.clone()).collect();
            workloads.push(block(
                first.workload(),
                standalone_name(first, &pod_names, standalone.len()),
                standalone.len(),
                pod_names,
            ));
        }
    }
    workloads.sort_by(|a, b| a.name.cmp(&b.name).then(b.pods.cmp(&a.pods)));

    Ok(Explanation {
        region: context.region.clone(),
        currency: context.currency.clone(),
        notes: inventory.notes.iter().chain(&context.notes).cloned().collect(),
        warnings: inventory.warnings(),
        default_nodepool: default_used,
        nodepools: context
            .pools
            .iter()
            .map(|p| NodePoolSummary {
                name: p.nodepool.name.clone(),
                weight: p.nodepool.weight(),
                requirements: p.requirements.iter().map(|r| format!("{} {}", r.key(), r)).collect(),
                taints: p.nodepool.taints.iter().map(|t| t.to_string()).collect(),
                daemon_overhead: p.daemon_overhead.clone(),
                instance_types_allowed: p.allowed_instance_types(),
                instance_types_total: p.instance_types.len(),
            })
            .collect(),
        pending_pods: pending.len(),
        workloads,
    })
}

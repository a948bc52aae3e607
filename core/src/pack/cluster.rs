//! The cluster a packing run starts from, and packing for consolidation: the pods of nodes
//! taken away placed on the rest of the cluster and on new nodes.

use super::nodes::ExistingNode;
use super::{topology, Outcome, Simulation};
use crate::filter::{shape_classes, ClassFilter, FilterContext};
use crate::model::{Inventory, Node, Pod};
use crate::plan::Mode;
use crate::profile::phase;
use std::sync::Arc;

/// Places `moving` pods (bound to nodes the cluster view has taken away) on the rest of the
/// cluster and on new nodes, for consolidation: `karpenter` as Karpenter's scheduling
/// simulation, `optimize` (or `exact`, which is `optimize` here) never worse than it.
pub(crate) fn repack(ctx: &FilterContext, cluster: &Cluster<'_>, moving: &[&Pod], mode: Mode) -> Outcome {
    let classes = phase("trial classes", || shape_classes(moving, cluster.inventory));
    let filters: Vec<Arc<ClassFilter>> = classes.iter().map(|c| ctx.filter_cached(c)).collect();
    let topology = topology(ctx, cluster, moving, &classes);
    let run = |mode: Mode| {
        let mut sim =
            phase("trial setup", || Simulation::new(ctx, cluster, moving, &classes, &filters, topology.clone()));
        match mode {
            Mode::Karpenter => phase("trial karpenter", || sim.run_karpenter()),
            Mode::Optimize | Mode::Exact => phase("trial optimize", || sim.run_optimize()),
        }
        phase("trial finish", || sim.finish())
    };
    let karpenter = run(Mode::Karpenter);
    if mode == Mode::Karpenter {
        return karpenter;
    }
    let optimized = run(mode);
    if karpenter.better_than(&optimized) {
        karpenter
    } else {
        optimized
    }
}

/// The cluster a packing run starts from: the inventory's nodes with the pods bound to them
/// (running or pending on them, not finished), in the inventory's order, less the nodes taken
/// away for now (consolidation's candidates, while a move is tried: the rest is built once).
pub(crate) struct Cluster<'a> {
    pub inventory: &'a Inventory,
    /// Per node of the inventory: its pods (a name given twice holds its pods on the first).
    nodes: Vec<(&'a Node, Vec<&'a Pod>)>,
    /// Per node: taken away.
    removed: Vec<bool>,
    /// The nodes pods may use, with their index in `nodes` (see [`ExistingNode::all`]).
    existing: Vec<(usize, ExistingNode<'a>)>,
}

impl<'a> Cluster<'a> {
    /// Every node of the inventory, none taken away.
    pub fn new(inventory: &'a Inventory) -> Self {
        let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        let mut nodes: Vec<(&Node, Vec<&Pod>)> = Vec::with_capacity(inventory.nodes.len());
        for node in &inventory.nodes {
            index.entry(node.name.as_str()).or_insert(nodes.len());
            nodes.push((node, Vec::new()));
        }
        for pod in &inventory.pods {
            if matches!(pod.phase, crate::model::PodPhase::Succeeded | crate::model::PodPhase::Failed) {
                continue;
            }
            if let Some(&i) = pod.node_name.as_deref().and_then(|name| index.get(name)) {
                nodes[i].1.push(pod);
            }
        }
        let existing = ExistingNode::all(&nodes);
        Cluster { inventory, removed: vec![false; nodes.len()], nodes, existing }
    }

    /// Takes away exactly the inventory's nodes at `indices` (the others come back).
    pub fn set_removed(&mut self, indices: &[usize]) {
        self.removed.iter_mut().for_each(|r| *r = false);
        for &i in indices {
            self.removed[i] = true;
        }
    }

    /// The nodes not taken away, with their pods, in the inventory's order.
    pub fn nodes(&self) -> impl Iterator<Item = (&'a Node, &[&'a Pod])> + '_ {
        self.nodes.iter().zip(&self.removed).filter(|(_, r)| !**r).map(|((n, pods), _)| (*n, pods.as_slice()))
    }

    /// The nodes pods may use, not taken away (see [`ExistingNode::all`]).
    pub(super) fn existing(&self) -> Vec<ExistingNode<'a>> {
        self.existing.iter().filter(|(i, _)| !self.removed[*i]).map(|(_, e)| e.clone()).collect()
    }
}

//! The cluster a packing run starts from, and packing for consolidation: the pods of nodes
//! taken away placed on the rest of the cluster and on new nodes.
//!
//! Consolidation packs the pods of a few nodes many times over on one cluster view (one trial
//! per candidate or group of candidates). What does not depend on the trial is worked out once
//! per view: the existing nodes with the room their pods leave, the shape classes of every
//! bound pod, and whether any bound pod repels others (required pod anti-affinity). A trial
//! then costs in proportion to the pods it moves and the nodes that could take them.

use super::nodes::ExistingNode;
use super::topology::Topology;
use super::{topology, Outcome, Simulation};
use crate::filter::{shape_classes, ClassFilter, FilterContext, ShapeClass};
use crate::model::{Inventory, Node, Pod, PodPhase};
use crate::plan::Mode;
use crate::profile::phase;
use crate::resources::{Bytes, Millicores, Resources};
use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};

/// Places the pods at `pods` (indices into the cluster's inventory pods, bound to nodes the
/// cluster view has taken away) on the rest of the cluster and on new nodes, for
/// consolidation: `karpenter` as Karpenter's scheduling simulation, `optimize` (or `exact`,
/// which is `optimize` here) never worse than it.
pub(crate) fn repack(ctx: &FilterContext, cluster: &mut Cluster<'_>, pods: &[usize], mode: Mode) -> Outcome {
    let inventory = cluster.inventory;
    let moving: Vec<&Pod> = pods.iter().map(|&p| &inventory.pods[p]).collect();
    cluster.trials += 1;
    let classes = phase("trial classes", || cluster.classes_of(pods, &moving));
    let filters: Vec<Arc<ClassFilter>> = classes.iter().map(|c| ctx.filter_cached(c)).collect();
    let topology = phase("trial topology", || cluster.topology_of(ctx, &moving, &classes));
    // Only the nodes that could take a moving pod: the same placements, unless a pod has
    // nowhere to go, whose reasons count every node (then packed again with all of them).
    let hosts = phase("trial hosts", || cluster.hosts(&classes));
    cluster.trial = Some(Trial { hosts, all: false });
    let mut outcome = pack_moving(ctx, cluster, &moving, &classes, &filters, &topology, mode);
    if !outcome.unschedulable.is_empty() {
        cluster.trial.as_mut().expect("set above").all = true;
        outcome = pack_moving(ctx, cluster, &moving, &classes, &filters, &topology, mode);
    }
    cluster.trial = None;
    outcome
}

/// [`repack`]'s packing runs.
fn pack_moving(
    ctx: &FilterContext,
    cluster: &Cluster<'_>,
    moving: &[&Pod],
    classes: &[ShapeClass],
    filters: &[Arc<ClassFilter>],
    topology: &Topology,
    mode: Mode,
) -> Outcome {
    let run = |mode: Mode| {
        let mut sim =
            phase("trial setup", || Simulation::new(ctx, cluster, moving, classes, filters, topology.clone()));
        sim.lp_packing = false;
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
    /// The pods bound to the nodes, as indices into the inventory's pods, in its order.
    bound: Vec<usize>,
    /// Per node: taken away.
    removed: Vec<bool>,
    /// The nodes pods may use, with their index in `nodes` (see [`ExistingNode::all`]).
    existing: Vec<(usize, ExistingNode<'a>)>,
    /// While [`repack`] places pods: which existing nodes could take them.
    trial: Option<Trial>,
    /// A node no pod fits on (see [`PLACEHOLDER`]).
    placeholder: ExistingNode<'a>,
    /// The shape classes of the bound pods, once a second trial asks (a view a single trial
    /// uses, as when consolidation applies a move, classes only that trial's pods).
    classes: OnceCell<BoundClasses>,
    /// Trials run on this view so far.
    trials: usize,
    /// Whether a bound pod has required pod anti-affinity, once a trial asks.
    repels: OnceCell<bool>,
}

/// The existing nodes of a trial (see [`Cluster::existing`]).
struct Trial {
    /// Per node of [`Cluster::existing`], whether it could take a moving pod (see
    /// [`Cluster::hosts`]).
    hosts: Vec<bool>,
    /// Whether the others are there too, as placeholders.
    all: bool,
}

/// The shape classes of a cluster's bound pods, found together: pods of one class here are of
/// one class among any of them (the label keys selectors read come from the whole inventory,
/// whichever pods are classed), so a trial's classes are these, restricted to its pods.
struct BoundClasses {
    /// Per pod of the inventory: its class, if it is bound.
    class_of: Vec<Option<usize>>,
    /// Each class as [`shape_classes`] describes it, without pods or workloads.
    classes: Vec<ShapeClass>,
}

/// The node a [`Cluster::placeholder`] stands for: less than no room, so no pod fits on it.
static PLACEHOLDER: LazyLock<Node> = LazyLock::new(|| {
    let none = Resources {
        cpu: Millicores(i64::MIN),
        memory: Bytes(i64::MIN),
        pods: i64::MIN,
        ephemeral_storage: Bytes(i64::MIN),
        extended: BTreeMap::new(),
    };
    Node {
        name: String::new(),
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
        taints: Vec::new(),
        capacity: none.clone(),
        allocatable: none,
        unschedulable: false,
        ready: true,
        deleting: false,
        created: None,
        provider_id: None,
    }
});

impl<'a> Cluster<'a> {
    /// Every node of the inventory, none taken away.
    pub fn new(inventory: &'a Inventory) -> Self {
        let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        let mut nodes: Vec<(&Node, Vec<&Pod>)> = Vec::with_capacity(inventory.nodes.len());
        for node in &inventory.nodes {
            index.entry(node.name.as_str()).or_insert(nodes.len());
            nodes.push((node, Vec::new()));
        }
        let mut bound = Vec::new();
        for (p, pod) in inventory.pods.iter().enumerate() {
            if matches!(pod.phase, PodPhase::Succeeded | PodPhase::Failed) {
                continue;
            }
            if let Some(&i) = pod.node_name.as_deref().and_then(|name| index.get(name)) {
                nodes[i].1.push(pod);
                bound.push(p);
            }
        }
        let daemonsets: Vec<&Pod> = inventory.daemonsets.iter().map(|d| &d.template).collect();
        let existing = ExistingNode::all(&nodes, &daemonsets);
        let placeholder = ExistingNode::all(&[(&*PLACEHOLDER, Vec::new())], &[]).pop().expect("a usable node").1;
        Cluster {
            inventory,
            removed: vec![false; nodes.len()],
            nodes,
            bound,
            existing,
            trial: None,
            placeholder,
            classes: OnceCell::new(),
            trials: 0,
            repels: OnceCell::new(),
        }
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

    /// The nodes pods may use, not taken away (see [`ExistingNode::all`]). While [`repack`]
    /// places pods, only those that could take one of them (the first node a pod fits on is
    /// the same), or, if asked, the others too as placeholders no pod fits on (the nodes are
    /// then as many).
    pub(super) fn existing(&self) -> Vec<ExistingNode<'a>> {
        let kept = self.existing.iter().enumerate().filter(|(_, (i, _))| !self.removed[*i]);
        match &self.trial {
            None => kept.map(|(_, (_, e))| e.clone()).collect(),
            Some(Trial { hosts, all: false }) => kept.filter(|(k, _)| hosts[*k]).map(|(_, (_, e))| e.clone()).collect(),
            Some(Trial { hosts, all: true }) => {
                kept.map(|(k, (_, e))| if hosts[k] { e } else { &self.placeholder }.clone()).collect()
            }
        }
    }

    /// Per node of `existing`: whether it is not taken away and a pod of one of `classes`
    /// could land on it now (room and node constraints; host ports and topology aside). A pod
    /// fits on a node only if its class could land there, and a node's room only shrinks while
    /// pods are placed, so the other nodes take none of these pods.
    fn hosts(&self, classes: &[ShapeClass]) -> Vec<bool> {
        self.existing.iter().map(|(i, e)| !self.removed[*i] && classes.iter().any(|c| e.could_host(c))).collect()
    }

    /// The shape classes of `moving`, the inventory's pods at `pods`: as [`shape_classes`]
    /// finds them, from the classes of the bound pods.
    fn classes_of(&self, pods: &[usize], moving: &[&Pod]) -> Vec<ShapeClass> {
        if self.trials < 2 {
            return shape_classes(moving, self.inventory);
        }
        let bound = self.classes.get_or_init(|| self.bound_classes());
        let mut index: BTreeMap<usize, usize> = BTreeMap::new();
        let mut classes: Vec<ShapeClass> = Vec::new();
        let mut workloads: Vec<BTreeSet<(&str, &str, &str)>> = Vec::new();
        for (k, (&p, pod)) in pods.iter().zip(moving).enumerate() {
            let Some(class) = bound.class_of.get(p).copied().flatten() else {
                // Not bound to a node of the cluster: classed on its own.
                return shape_classes(moving, self.inventory);
            };
            let c = *index.entry(class).or_insert_with(|| {
                classes.push(bound.classes[class].clone());
                workloads.push(BTreeSet::new());
                classes.len() - 1
            });
            classes[c].pods.push(k);
            let workload = match &pod.owner {
                Some(o) => (o.kind.as_str(), o.namespace.as_str(), o.name.as_str()),
                None => ("Pod", pod.namespace.as_str(), pod.name.as_str()),
            };
            if workloads[c].insert(workload) {
                classes[c].workloads.push(pod.workload());
            }
        }
        debug_assert!(
            classes == shape_classes(moving, self.inventory),
            "a trial's classes as shape_classes finds them"
        );
        classes
    }

    fn bound_classes(&self) -> BoundClasses {
        let pods: Vec<&Pod> = self.bound.iter().map(|&p| &self.inventory.pods[p]).collect();
        let mut classes = shape_classes(&pods, self.inventory);
        let mut class_of = vec![None; self.inventory.pods.len()];
        for (c, class) in classes.iter_mut().enumerate() {
            for &k in &class.pods {
                class_of[self.bound[k]] = Some(c);
            }
            class.pods = Vec::new();
            class.workloads = Vec::new();
        }
        BoundClasses { class_of, classes }
    }

    /// The topology of a trial (see [`super::topology`]). When no bound pod has required
    /// anti-affinity (which makes groups of its own) and the moving pods' classes make no
    /// group, there is nothing to count the bound pods in: they are not looked at.
    fn topology_of(&self, ctx: &FilterContext, moving: &[&Pod], classes: &[ShapeClass]) -> Topology {
        let repels = *self.repels.get_or_init(|| {
            self.nodes.iter().flat_map(|(_, pods)| pods).any(|p| !p.pod_anti_affinity.required.is_empty())
        });
        if !repels {
            let representatives: Vec<&Pod> = classes.iter().map(|c| moving[c.pods[0]]).collect();
            let alone = Topology::new(&representatives, &[]);
            if alone.keys().is_empty() {
                return alone;
            }
        }
        topology(ctx, self, moving, classes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use std::fmt::Write;

    const NODEPOOL: &str = r#"
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: general}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: karpenter.k8s.aws/instance-family, operator: In, values: [m6i, c6i, r6i]}
        - {key: karpenter.sh/capacity-type, operator: In, values: [spot, on-demand]}
  LIMITS
---
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata: {name: default}
spec:
  amiSelectorTerms: [{alias: al2023@latest}]
"#;

    /// A cluster of `nodes` nodes of mixed types, zones and capacity types (some tainted, one
    /// cordoned) holding pods of a few kinds: plain, pinned to a zone, tolerating the taint,
    /// with a host port, too large for any type, and (`topology`) spread over zones or kept
    /// apart by required anti-affinity.
    fn cluster(nodes: usize, topology: bool, limits: &str, seed: u64) -> String {
        let mut state = seed;
        let mut next = |n: usize| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 33) % n as u64) as usize
        };
        let types = [("m6i.large", 1930, 6900, 29), ("c6i.xlarge", 3920, 6500, 58), ("r6i.xlarge", 3920, 29000, 58)];
        let zones = ["us-east-1a", "us-east-1b", "us-east-1c"];
        let mut out = NODEPOOL.replace("LIMITS", limits);
        let kinds = if topology { 7 } else { 5 };
        for n in 0..nodes {
            let (ty, cpu, mib, pods) = types[next(types.len())];
            let zone = zones[n % zones.len()];
            let capacity = if next(3) == 0 { "spot" } else { "on-demand" };
            let taints = if n % 7 == 3 { "taints: [{key: dedicated, value: batch, effect: NoSchedule}]" } else { "" };
            let cordoned = if n == 5 { "unschedulable: true" } else { "" };
            let _ = write!(
                out,
                "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: n{n}\n  labels: {{kubernetes.io/hostname: n{n}, kubernetes.io/os: linux, kubernetes.io/arch: amd64, node.kubernetes.io/instance-type: {ty}, topology.kubernetes.io/zone: {zone}, karpenter.sh/capacity-type: {capacity}, karpenter.sh/nodepool: general, karpenter.k8s.aws/instance-family: {}}}\nspec: {{{taints}{}{cordoned}}}\nstatus:\n  capacity: {{cpu: \"{}\", memory: {}Mi, pods: \"{pods}\"}}\n  allocatable: {{cpu: {cpu}m, memory: {mib}Mi, pods: \"{pods}\"}}\n  conditions: [{{type: Ready, status: \"True\"}}]\n",
                &ty[..3],
                if !taints.is_empty() && !cordoned.is_empty() { ", " } else { "" },
                cpu / 1000 + 1,
                mib + 512,
            );
            for k in 0..next(6) {
                let kind = next(kinds);
                let cpu = [100, 250, 500, 900][next(4)];
                let mut spec = String::new();
                let cpu = match kind {
                    1 => {
                        let _ = writeln!(spec, "  nodeSelector: {{topology.kubernetes.io/zone: {}}}", zones[next(3)]);
                        cpu
                    }
                    2 => {
                        spec.push_str(
                            "  tolerations: [{key: dedicated, operator: Equal, value: batch, effect: NoSchedule}]\n",
                        );
                        cpu
                    }
                    3 => cpu,
                    4 if next(4) == 0 => 200_000,
                    5 => {
                        spec.push_str("  topologySpreadConstraints: [{maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: k5}}}]\n");
                        cpu
                    }
                    6 => {
                        spec.push_str("  affinity: {podAntiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: [{labelSelector: {matchLabels: {app: k6}}, topologyKey: kubernetes.io/hostname}]}}\n");
                        cpu
                    }
                    _ => cpu,
                };
                let port = if kind == 3 { ", ports: [{containerPort: 80, hostPort: 8080}]" } else { "" };
                let _ = write!(
                    out,
                    "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{n}-{k}, namespace: shop, labels: {{app: k{kind}}}}}\nspec:\n  nodeName: n{n}\n{spec}  containers: [{{name: c, resources: {{requests: {{cpu: {cpu}m, memory: {}Mi}}}}{port}}}]\nstatus: {{phase: Running}}\n",
                    cpu.min(4000) * 2,
                );
            }
        }
        out
    }

    /// [`repack`] as it was before a cluster view kept anything for its trials: the moving
    /// pods classed and their topology built on their own, every existing node copied.
    fn repack_afresh(ctx: &FilterContext, cluster: &Cluster<'_>, pods: &[usize], mode: Mode) -> Outcome {
        let moving: Vec<&Pod> = pods.iter().map(|&p| &cluster.inventory.pods[p]).collect();
        let classes = shape_classes(&moving, cluster.inventory);
        let filters: Vec<Arc<ClassFilter>> = classes.iter().map(|c| ctx.filter_cached(c)).collect();
        let topology = topology(ctx, cluster, &moving, &classes);
        pack_moving(ctx, cluster, &moving, &classes, &filters, &topology, mode)
    }

    fn same(a: &Outcome, b: &Outcome) -> bool {
        a.nodes == b.nodes
            && a.option_prices == b.option_prices
            && a.existing == b.existing
            && a.unschedulable == b.unschedulable
            && a.cost.to_bits() == b.cost.to_bits()
    }

    #[test]
    fn trials_pack_as_a_fresh_cluster_view_does() {
        let catalog = Catalog::aws("us-east-1").expect("catalog");
        let mut unschedulable = 0;
        for (topology, limits, seed) in
            [(false, "", 1), (true, "", 2), (true, "limits: {cpu: \"60\"}", 3), (false, "limits: {cpu: \"40\"}", 4)]
        {
            let text = cluster(40, topology, limits, seed);
            let inventory = crate::manifest::parse("test", &text).expect("valid");
            let daemonsets: Vec<&Pod> = inventory.daemonsets.iter().map(|d| &d.template).collect();
            let ctx =
                FilterContext::new(&inventory.nodepools, &inventory.nodeclasses, &daemonsets, &catalog).expect("ctx");
            let on = |n: usize| -> Vec<usize> {
                let name = &inventory.nodes[n].name;
                (0..inventory.pods.len()).filter(|&p| inventory.pods[p].node_name.as_ref() == Some(name)).collect()
            };
            let mut trials: Vec<Vec<usize>> = (0..inventory.nodes.len()).map(|n| vec![n]).collect();
            trials.extend([2, 5, 11, 40].map(|k| (0..k).collect::<Vec<usize>>()));
            trials.push((0..inventory.nodes.len()).step_by(3).collect());
            for mode in [Mode::Karpenter, Mode::Optimize] {
                let mut cluster = Cluster::new(&inventory);
                let mut afresh = Cluster::new(&inventory);
                for removed in &trials {
                    let pods: Vec<usize> = removed.iter().flat_map(|&n| on(n)).collect();
                    cluster.set_removed(removed);
                    afresh.set_removed(removed);
                    let kept = repack(&ctx, &mut cluster, &pods, mode);
                    let fresh = repack_afresh(&ctx, &afresh, &pods, mode);
                    assert!(same(&kept, &fresh), "{mode} trial {removed:?} (topology {topology}, limits {limits:?})");
                    unschedulable += usize::from(!fresh.unschedulable.is_empty());
                }
            }
        }
        assert!(unschedulable > 0, "some trials leave pods with nowhere to go");
    }
}

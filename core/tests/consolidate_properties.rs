//! Property tests of consolidation on random small clusters of real instance types: NodePools
//! with random budgets, policies and capacity types; nodes partly filled, some not Ready or
//! annotated do-not-disrupt; pods with PDBs and do-not-disrupt. In both modes the plan must
//! leave no pod unplaced and no node over its allocatable, stay within the budgets and PDBs,
//! never touch a do-not-disrupt node, save money with every consolidation, and be the same
//! every time. A failure prints the case's manifests, ready for `fleetfit consolidate`.

use fleetfit::catalog::Catalog;
use fleetfit::consolidate::{consolidate, ConsolidateOptions, ConsolidationMode as Mode, ConsolidationPlan, Reason};
use proptest::prelude::*;
use proptest::test_runner::Config;
use std::collections::BTreeMap;
use std::sync::OnceLock;

mod common;

use common::cluster::{cluster_manifests, invariants, NodeSpec, PodSpec};

const TYPES: &[&str] = &["m5.large", "m5.xlarge", "m5.2xlarge", "c5.large", "c5.xlarge", "r5.large"];
const CPUS: &[i64] = &[100, 250, 500, 1000];
const MEMORY_MIB: &[i64] = &[128, 512, 1024];
const BUDGETS: &[&str] = &["0", "1", "50%", "100%"];
const NOW: &str = "2026-12-01T12:00:00Z";

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::aws("us-east-1").expect("the embedded catalog"))
}

#[derive(Debug, Clone)]
struct NodeCase {
    instance_type: usize,
    zone: usize,
    spot: bool,
    ready: bool,
    do_not_disrupt: bool,
    /// (cpu index, memory index, app, do-not-disrupt, minutes old)
    pods: Vec<(usize, usize, usize, bool, i64)>,
}

#[derive(Debug, Clone)]
struct Case {
    families: Vec<&'static str>,
    spot_allowed: bool,
    when_empty: bool,
    consolidate_after_hour: bool,
    budget: usize,
    /// A PDB on app "a": (minAvailable 1) when true, (maxUnavailable 1) when false.
    pdb: Option<bool>,
    nodes: Vec<NodeCase>,
}

fn node_case() -> impl Strategy<Value = NodeCase> {
    (
        0..TYPES.len(),
        0..3usize,
        any::<bool>(),
        prop::bool::weighted(0.9),
        prop::bool::weighted(0.1),
        prop::collection::vec(
            (0..CPUS.len(), 0..MEMORY_MIB.len(), 0..3usize, prop::bool::weighted(0.05), 5..600i64),
            0..5,
        ),
    )
        .prop_map(|(instance_type, zone, spot, ready, do_not_disrupt, pods)| NodeCase {
            instance_type,
            zone,
            spot,
            ready,
            do_not_disrupt,
            pods,
        })
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::sample::subsequence(vec!["m5", "c5", "r5"], 1..=3),
        any::<bool>(),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.2),
        0..BUDGETS.len(),
        prop::option::of(any::<bool>()),
        prop::collection::vec(node_case(), 1..8),
    )
        .prop_map(|(families, spot_allowed, when_empty, consolidate_after_hour, budget, pdb, nodes)| Case {
            families,
            spot_allowed,
            when_empty,
            consolidate_after_hour,
            budget,
            pdb,
            nodes,
        })
}

impl Case {
    /// The case as manifests; pods that would not fit their node are left out.
    fn manifests(&self) -> String {
        let zones = ["us-east-1a", "us-east-1b", "us-east-1c"];
        let apps = ["a", "b", "c"];
        let mut nodes = Vec::new();
        let mut pods = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let name = format!("node-{i}");
            let it =
                catalog().instance_type(TYPES[n.instance_type], &fleetfit::NodeClass::default()).expect("known type");
            let mut annotations = BTreeMap::new();
            if n.do_not_disrupt {
                annotations.insert("karpenter.sh/do-not-disrupt".to_string(), "true".to_string());
            }
            nodes.push(NodeSpec {
                name: name.clone(),
                instance_type: TYPES[n.instance_type].into(),
                zone: zones[n.zone].into(),
                capacity: if n.spot { "spot" } else { "on-demand" }.into(),
                pool: "default".into(),
                created: "2026-11-30T00:00:00Z".into(),
                ready: n.ready,
                annotations,
                labels: BTreeMap::new(),
            });
            let (mut cpu, mut mem) = (0i64, 0i64);
            for (k, &(c, m, app, dnd, age)) in n.pods.iter().enumerate() {
                let (c, m) = (CPUS[c], MEMORY_MIB[m]);
                if cpu + c > it.allocatable.cpu.0 || (mem + m) * 1024 * 1024 > it.allocatable.memory.0 {
                    continue;
                }
                cpu += c;
                mem += m;
                let mut annotations = BTreeMap::new();
                if dnd {
                    annotations.insert("karpenter.sh/do-not-disrupt".to_string(), "true".to_string());
                }
                let created = fleetfit::time::Timestamp(NOW.parse::<fleetfit::time::Timestamp>().unwrap().0 - age * 60);
                pods.push(PodSpec {
                    name: format!("{}-{i}-{k}", apps[app]),
                    namespace: "default".into(),
                    node: name.clone(),
                    cpu: format!("{c}m"),
                    memory: format!("{m}Mi"),
                    owner: Some(format!("ReplicaSet/{}-rs", apps[app])),
                    labels: [("app".to_string(), apps[app].to_string())].into(),
                    annotations,
                    created: created.to_string(),
                    count: None,
                });
            }
        }
        let mut text = cluster_manifests(&nodes, &pods, catalog()).expect("known types");
        let capacity = if self.spot_allowed { "[spot, on-demand]" } else { "[on-demand]" };
        text.push_str(&format!(
            "apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata: {{name: default}}\nspec:\n  template:\n    spec:\n      nodeClassRef: {{group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}}\n      requirements:\n        - {{key: karpenter.k8s.aws/instance-family, operator: In, values: [{}]}}\n        - {{key: karpenter.sh/capacity-type, operator: In, values: {capacity}}}\n  disruption:\n    consolidationPolicy: {}\n    consolidateAfter: {}\n    budgets: [{{nodes: \"{}\"}}]\n---\napiVersion: karpenter.k8s.aws/v1\nkind: EC2NodeClass\nmetadata: {{name: default}}\nspec:\n  amiSelectorTerms: [{{alias: al2023@latest}}]\n",
            self.families.join(", "),
            if self.when_empty { "WhenEmpty" } else { "WhenEmptyOrUnderutilized" },
            if self.consolidate_after_hour { "1h" } else { "0s" },
            BUDGETS[self.budget],
        ));
        if let Some(min) = self.pdb {
            let rule = if min { "minAvailable: 1" } else { "maxUnavailable: 1" };
            text.push_str(&format!(
                "---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: a, namespace: default}}\nspec:\n  {rule}\n  selector: {{matchLabels: {{app: a}}}}\n"
            ));
        }
        text
    }
}

fn check(case: &Case, mode: Mode) -> Result<(), TestCaseError> {
    let text = case.manifests();
    let fail = |why: String| TestCaseError::fail(format!("{mode} mode: {why}\n--- manifests ---\n{text}"));
    let inventory = fleetfit::manifest::parse("case", &text).map_err(|e| fail(e.to_string()))?;
    let options = ConsolidateOptions::new(mode, NOW.parse().unwrap());
    let plan = consolidate(&inventory, catalog(), &options).map_err(|e| fail(e.to_string()))?;
    let again = consolidate(&inventory, catalog(), &options).map_err(|e| fail(e.to_string()))?;
    if plan != again {
        return Err(fail("two runs gave different plans".into()));
    }
    invariants(&plan, &inventory).map_err(fail)?;
    guards_hold(case, &plan, &inventory).map_err(fail)
}

/// Budgets, PDBs and do-not-disrupt, worked out here from the case itself.
fn guards_hold(case: &Case, plan: &ConsolidationPlan, inventory: &fleetfit::Inventory) -> Result<(), String> {
    let total = case.nodes.len() as i64;
    let not_ready = case.nodes.iter().filter(|n| !n.ready).count() as i64;
    let budget = match BUDGETS[case.budget] {
        "0" => 0,
        "1" => 1,
        "50%" => (total + 1) / 2,
        _ => total,
    };
    let allowed = (budget - not_ready).max(0);
    let voluntary: usize =
        plan.commands.iter().filter(|c| c.reason != Reason::Expired).map(|c| c.candidates.len()).sum();
    if voluntary as i64 > allowed {
        return Err(format!("{voluntary} nodes disrupted, the budget allows {allowed}"));
    }
    for c in &plan.commands {
        for n in &c.candidates {
            let i: usize =
                n.node.trim_start_matches("node-").parse().map_err(|_| format!("unknown node {}", n.node))?;
            let node = &case.nodes[i];
            if node.do_not_disrupt || !node.ready {
                return Err(format!("{} is do-not-disrupt or not Ready, yet disrupted", n.node));
            }
            if case.when_empty && n.pods > 0 && c.reason == Reason::Underutilized {
                return Err(format!("{} has pods and the policy is WhenEmpty", n.node));
            }
        }
        for m in &c.moves {
            let pod = inventory.pods.iter().find(|p| p.key() == m.pod).ok_or(format!("unknown pod {}", m.pod))?;
            if pod.annotation("karpenter.sh/do-not-disrupt") == Some("true") {
                return Err(format!("do-not-disrupt pod {} moved", m.pod));
            }
        }
    }
    if let Some(min) = case.pdb {
        let matching: Vec<&fleetfit::Pod> =
            inventory.pods.iter().filter(|p| p.labels.get("app").is_some_and(|a| a == "a")).collect();
        let allowed = if min { matching.len() as i64 - 1 } else { 1 };
        let evicted =
            plan.commands.iter().flat_map(|c| &c.moves).filter(|m| matching.iter().any(|p| p.key() == m.pod)).count()
                as i64;
        if evicted > allowed.max(0) {
            return Err(format!("{evicted} pods of the PDB evicted, it allows {allowed}"));
        }
    }
    // Replacements hold their pods.
    let requests: BTreeMap<String, fleetfit::Resources> =
        inventory.pods.iter().map(|p| (p.key(), p.requests.clone())).collect();
    for r in plan.commands.iter().flat_map(|c| &c.replacements) {
        let it = catalog().instance_type(&r.instance_type, &fleetfit::NodeClass::default()).ok_or("unknown type")?;
        let mut used = fleetfit::Resources::default();
        for p in &r.pods {
            used.add_assign(&requests[p]);
        }
        if !used.fits(&it.allocatable) {
            return Err(format!(
                "replacement {} ({}) holds {used}, more than {}",
                r.name, r.instance_type, it.allocatable
            ));
        }
    }
    Ok(())
}

/// 32 cases per property, or `PROPTEST_CASES`.
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(32);
    Config { cases, failure_persistence: None, ..Config::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn karpenter_mode_keeps_every_guard(case in case()) {
        check(&case, Mode::Karpenter)?;
    }

    #[test]
    fn optimize_mode_keeps_every_guard(case in case()) {
        check(&case, Mode::Optimize)?;
    }

    #[test]
    fn global_mode_keeps_every_guard(case in case()) {
        check(&case, Mode::Global)?;
    }
}

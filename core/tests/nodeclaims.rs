//! NodeClaims in flight count as nodes: planning again with the NodeClaims a plan asked for
//! launches nothing more, and a claim stops counting once its Node is there or it is deleted.

use fleetfit::claims::for_planned;
use fleetfit::model::NodeClaim;
use fleetfit::plan::Plan;
use fleetfit::plan::PlanOptions;
use fleetfit::Catalog;

const INFLATE: &str = include_str!("../../wasm/www/examples/inflate.yaml");

const NODEPOOL: &str = "apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: general}
spec:
  template:
    metadata: {labels: {team: web}}
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}
        - {key: karpenter.k8s.aws/instance-category, operator: In, values: [c, m, r]}
      taints: [{key: dedicated, value: web, effect: NoSchedule}]
";

fn inflate(replicas: u32) -> String {
    // Tolerate the pool's taint, so the pods can go there.
    INFLATE.replace("replicas: 10", &format!("replicas: {replicas}")).replace(
        "      containers:\n",
        "      tolerations: [{key: dedicated, operator: Equal, value: web, effect: NoSchedule}]\n      containers:\n",
    )
}

/// A NodeClaim as the API server would hold it (spec, and status when `launched`).
fn manifest(claim: &NodeClaim, status: &str) -> String {
    let requirements: Vec<String> = claim
        .requirements
        .iter()
        .map(|r| {
            let min = r.min_values.map(|m| format!(", minValues: {m}")).unwrap_or_default();
            format!("    - {{key: {}, operator: {}, values: {:?}{min}}}\n", r.key, r.operator, r.values)
        })
        .collect();
    let labels: Vec<String> = claim.labels.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    let requests: Vec<String> =
        claim.requests.iter().map(|(k, _)| format!("{k}: \"{}\"", claim.requests.quantity(k))).collect();
    format!(
        "---\napiVersion: karpenter.sh/v1\nkind: NodeClaim\nmetadata:\n  name: {}\n  labels: {{{}}}\nspec:\n  \
         nodeClassRef: {{group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}}\n  \
         taints: [{{key: dedicated, value: web, effect: NoSchedule}}]\n  requirements:\n{}  resources:\n    requests: {{{}}}\n{status}",
        claim.name,
        labels.join(", "),
        requirements.concat(),
        requests.join(", ")
    )
}

fn plan(text: &str) -> Plan {
    let inventory = fleetfit::manifest::parse("input.yaml", text).expect("valid input");
    let catalog = Catalog::aws("us-east-1").expect("catalog");
    fleetfit::pack::plan(&inventory, &catalog, &PlanOptions::default()).expect("plan")
}

fn claims_of(first: &Plan, pools: &str) -> Vec<NodeClaim> {
    let inventory = fleetfit::manifest::parse("pools.yaml", pools).expect("pools");
    first
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| for_planned(&format!("general-{i}"), n, &inventory.nodepools).expect("its NodePool"))
        .collect()
}

#[test]
fn the_claims_a_plan_asked_for_take_its_pods() {
    let input = format!("{NODEPOOL}---\n{}", inflate(10));
    let first = plan(&input);
    assert!(!first.nodes.is_empty() && first.unschedulable.is_empty(), "{first:?}");
    let claims = claims_of(&first, NODEPOOL);
    for (claim, node) in claims.iter().zip(&first.nodes) {
        assert_eq!(claim.nodepool(), Some("general"));
        assert_eq!(claim.labels.get("team").map(String::as_str), Some("web"));
        let types = claim.requirements.iter().find(|r| r.key == "node.kubernetes.io/instance-type").expect("types");
        assert_eq!(types.values, node.instance_types);
        assert!(types.values.len() <= 60);
        let zone = claim.requirements.iter().find(|r| r.key == "topology.kubernetes.io/zone").expect("zone");
        assert_eq!(zone.values, std::slice::from_ref(&node.zone));
        assert_eq!(claim.requests, node.requests);
    }
    // Launching a claim takes the offering the plan priced first.
    let inventory = fleetfit::manifest::parse("input.yaml", &input).expect("valid");
    let catalog = Catalog::aws("us-east-1").expect("catalog");
    for (claim, node) in claims.iter().zip(&first.nodes) {
        let options = fleetfit::claims::launch_options(claim, &inventory, &catalog);
        let first_option = options.first().expect("a claim the plan made can be launched");
        assert_eq!(
            (first_option.instance_type.as_str(), first_option.zone.as_str(), first_option.capacity_type.as_str()),
            (node.instance_type.as_str(), node.zone.as_str(), node.capacity_type.as_str())
        );
        assert!((first_option.price - node.price_per_hour).abs() < 1e-9);
        let label = |k: &str| first_option.labels.get(k).map(String::as_str);
        assert_eq!(label("node.kubernetes.io/instance-type"), Some(node.instance_type.as_str()));
        assert_eq!(label("topology.kubernetes.io/zone"), Some(node.zone.as_str()));
        assert!(matches!(label("kubernetes.io/arch"), Some("amd64" | "arm64")));
        assert!(
            label("karpenter.k8s.aws/instance-family").is_some()
                && label("topology.kubernetes.io/region") == Some("us-east-1")
        );
        assert!(options.iter().all(|o| node.instance_types.contains(&o.instance_type) && o.zone == node.zone));
        assert!(options.iter().all(|o| claim.requests.fits(&o.allocatable)));
    }
    // Not launched yet: the claims still take every pod, and nothing more is launched.
    let in_flight: String = claims.iter().map(|c| manifest(c, "")).collect();
    let again = plan(&format!("{input}{in_flight}"));
    assert!(again.nodes.is_empty(), "launched again: {:?}", again.nodes);
    assert_eq!(again.existing.len(), 10, "{again:?}");
    assert!(again.existing.iter().all(|e| e.node.starts_with("general-")));
    assert_eq!(again.existing_nodes.len(), claims.len());
    let count = claims.len();
    assert!(again.notes.iter().any(|n| n.starts_with(&format!("{count} NodeClaim"))), "{:?}", again.notes);

    // More replicas: only what the claims cannot hold is launched.
    let more = plan(&format!("{NODEPOOL}---\n{}{in_flight}", inflate(40)));
    let fresh = plan(&format!("{NODEPOOL}---\n{}", inflate(40)));
    assert!(!more.nodes.is_empty() && more.cost_per_hour < fresh.cost_per_hour, "{more:?}");
    assert_eq!(more.existing.len() + more.nodes.iter().map(|n| n.pods.len()).sum::<usize>(), 40);
}

#[test]
fn a_claim_stops_counting_once_its_node_is_there_or_it_is_deleted() {
    let input = format!("{NODEPOOL}---\n{}", inflate(10));
    let first = plan(&input);
    let claims = claims_of(&first, NODEPOOL);
    let launched: String = claims
        .iter()
        .map(|c| {
            manifest(
                c,
                &format!("status:\n  providerID: aws:///us-east-1a/i-{}\n  nodeName: node-{}\n", c.name, c.name),
            )
        })
        .collect();
    // Registered: a Node with its providerID stands for it (here a full one, so nothing fits).
    let nodes: String = claims
        .iter()
        .map(|c| {
            format!(
                "---\napiVersion: v1\nkind: Node\nmetadata: {{name: node-{0}, labels: {{karpenter.sh/nodepool: general}}}}\n\
                 spec: {{providerID: \"aws:///us-east-1a/i-{0}\"}}\nstatus:\n  allocatable: {{cpu: \"0\", memory: \"0\", pods: \"0\"}}\n  \
                 conditions: [{{type: Ready, status: \"True\"}}]\n",
                c.name
            )
        })
        .collect();
    let inventory = fleetfit::manifest::parse("input.yaml", &format!("{input}{launched}{nodes}")).expect("valid");
    assert_eq!(inventory.nodeclaims.len(), claims.len());
    assert_eq!(inventory.in_flight().count(), 0, "every claim has its Node");
    let registered = plan(&format!("{input}{launched}{nodes}"));
    assert_eq!(registered.nodes.len(), first.nodes.len(), "the full Nodes take nothing");

    // Deleted claims are no capacity either.
    let deleting: String = claims
        .iter()
        .map(|c| manifest(c, "").replace("  labels:", "  deletionTimestamp: \"2026-12-05T00:00:00Z\"\n  labels:"))
        .collect();
    let gone = plan(&format!("{input}{deleting}"));
    assert_eq!(gone.nodes.len(), first.nodes.len());
}

#[test]
fn a_node_that_is_starting_takes_its_pods_despite_its_passing_taints() {
    let input = format!("{NODEPOOL}---\n{}", inflate(10));
    let first = plan(&input);
    let claims = claims_of(&first, NODEPOOL);
    let launched: String = claims
        .iter()
        .map(|c| {
            manifest(c, &format!("status:\n  providerID: aws:///us-east-1a/i-{0}\n  nodeName: node-{0}\n", c.name))
                .replace(
                    "  requirements:",
                    "  startupTaints: [{key: example.com/agent, effect: NoSchedule}]\n  requirements:",
                )
        })
        .collect();
    // Registered, not ready: the taints of a starting node, the pool's own, and its size.
    let nodes = |initialized: bool| -> String {
        claims
            .iter()
            .zip(&first.nodes)
            .map(|(c, n)| {
                let label = if initialized { ", karpenter.sh/initialized: \"true\"" } else { "" };
                format!(
                    "---\napiVersion: v1\nkind: Node\nmetadata: {{name: node-{0}, labels: {{karpenter.sh/nodepool: general, team: web, \
                     node.kubernetes.io/instance-type: {1}, topology.kubernetes.io/zone: {2}, karpenter.sh/capacity-type: {3}{label}}}}}\n\
                     spec:\n  providerID: \"aws:///us-east-1a/i-{0}\"\n  taints:\n    - {{key: dedicated, value: web, effect: NoSchedule}}\n    \
                     - {{key: node.kubernetes.io/not-ready, effect: NoSchedule}}\n    - {{key: example.com/agent, effect: NoSchedule}}\n\
                     status:\n  allocatable: {{cpu: \"{4}\", memory: \"{5}\", pods: \"{6}\"}}\n  conditions: [{{type: Ready, status: \"False\"}}]\n",
                    c.name,
                    n.instance_type,
                    n.zone,
                    n.capacity_type,
                    n.allocatable.quantity("cpu"),
                    n.allocatable.quantity("memory"),
                    n.allocatable.quantity("pods"),
                )
            })
            .collect()
    };
    let starting = plan(&format!("{input}{launched}{}", nodes(false)));
    assert!(starting.nodes.is_empty(), "the starting nodes take their pods: {:?}", starting.nodes);
    assert!(starting.unschedulable.is_empty());
    // Once initialized, a taint is a taint: not-ready now means the node is in trouble.
    let troubled = plan(&format!("{input}{launched}{}", nodes(true)));
    assert_eq!(troubled.nodes.len(), first.nodes.len(), "nothing goes to a node marked initialized and not ready");
}

#[test]
fn a_nodeclaim_with_a_typo_is_an_error_and_karpenter_keys_are_allowed() {
    let claim = "apiVersion: karpenter.sh/v1\nkind: NodeClaim\nmetadata: {name: c}\nspec:\n  \
                 nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}\n  \
                 requirements:\n    - {key: karpenter.sh/nodepool, operator: In, values: [general]}\n  \
                 resources: {requests: {cpu: \"1\"}}\n";
    let inventory =
        fleetfit::manifest::parse("claim.yaml", claim).expect("karpenter.sh/nodepool is a NodeClaim's own key");
    assert_eq!(inventory.nodeclaims[0].requests.cpu.0, 1000);
    let typo = claim.replace("requirements:", "requirments:");
    let err = fleetfit::manifest::parse("claim.yaml", &typo).expect_err("a typo");
    assert!(err.to_string().contains("NodeClaim c: spec.requirments: unknown field"), "{err}");
}

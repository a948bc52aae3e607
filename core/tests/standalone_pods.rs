//! Standalone Pods of one shape are planned and explained as the replicas of a workload are:
//! one shape class, the same plan, one explanation for the class.

use fleetfit::catalog::Catalog;
use fleetfit::filter::shape_classes;
use fleetfit::plan::{Mode, PlanOptions};
use fleetfit::{Inventory, Pod};

fn read(name: &str) -> Inventory {
    let path = format!("{}/tests/manifests/standalone/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    fleetfit::manifest::parse(name, &text).unwrap_or_else(|e| panic!("{e}"))
}

fn classes(inventory: &Inventory) -> usize {
    let pending: Vec<&Pod> = inventory.pending_pods().collect();
    shape_classes(&pending, inventory).len()
}

#[test]
fn standalone_pods_plan_as_the_replicas_of_a_deployment() {
    let (pods, replicas) = (read("pods.yaml"), read("replicas.yaml"));
    assert_eq!((classes(&pods), classes(&replicas)), (1, 1));
    let catalog = Catalog::aws("us-east-1").unwrap();
    for mode in [Mode::Karpenter, Mode::Optimize] {
        let options = PlanOptions { mode, ..Default::default() };
        let (a, b) = (
            fleetfit::pack::plan(&pods, &catalog, &options).unwrap(),
            fleetfit::pack::plan(&replicas, &catalog, &options).unwrap(),
        );
        assert_eq!(a.nodes, b.nodes, "{mode}");
        assert_eq!((a.cost_per_hour, a.lower_bound_per_hour), (b.cost_per_hour, b.lower_bound_per_hour), "{mode}");
        // Spread over zones holds for the standalone pods too.
        let zones: std::collections::BTreeSet<&str> = a.nodes.iter().map(|n| n.zone.as_str()).collect();
        assert!(zones.len() >= 3, "{mode}: {zones:?}");
    }
}

#[test]
fn a_label_some_selector_reads_keeps_pods_apart() {
    // Another pod's anti-affinity reads `run`: the pods differ in what it selects.
    let text = std::fs::read_to_string(format!("{}/tests/manifests/standalone/pods.yaml", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
        + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: loner}\nspec:\n  affinity:\n    podAntiAffinity:\n      \
           requiredDuringSchedulingIgnoredDuringExecution:\n        - {topologyKey: kubernetes.io/hostname, \
           labelSelector: {matchLabels: {run: web-0}}}\n  containers: [{name: c, resources: {requests: {cpu: 100m}}}]\n";
    let inventory = fleetfit::manifest::parse("pods.yaml", &text).unwrap();
    // web-0 alone is selected, web-1..5 each carry another `run` value, and the loner.
    assert_eq!(classes(&inventory), 7);
}

#[test]
fn explain_gives_standalone_pods_of_one_shape_one_block() {
    let catalog = Catalog::aws("us-east-1").unwrap();
    let explanation = fleetfit::explain(&read("pods.yaml"), &catalog, &fleetfit::ExplainOptions::default()).unwrap();
    let blocks: Vec<(&str, usize, &[String])> =
        explanation.workloads.iter().map(|w| (w.name.as_str(), w.pods, w.pod_names.as_slice())).collect();
    let names = ["web-0".to_string(), "web-1".into(), "web-2".into()];
    assert_eq!(blocks, [("Pods default/web-0, web-1, web-2 and 3 more", 6, &names[..])]);
    let replicas = fleetfit::explain(&read("replicas.yaml"), &catalog, &fleetfit::ExplainOptions::default()).unwrap();
    let w = &replicas.workloads[0];
    assert_eq!((w.name.as_str(), w.pods, w.pod_names.len()), ("Deployment default/web", 6, 0));
    assert_eq!((&w.cheapest, w.candidates), (&explanation.workloads[0].cheapest, explanation.workloads[0].candidates));
}

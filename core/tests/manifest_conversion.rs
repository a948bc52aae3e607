//! Karpenter's getting-started YAML of the v1beta1 days: converted to v1 as Karpenter's
//! conversion did, with a note listing every change, and planned exactly as its v1 equivalent.

use fleetfit::manifest::parse;
use std::path::Path;

fn read(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/manifests/conversion").join(name);
    std::fs::read_to_string(path).expect("test manifest")
}

#[test]
fn v1beta1_nodepool_and_nodeclass_read_as_their_v1_equivalent() {
    let converted = parse("v1beta1-guide.yaml", &read("v1beta1-guide.yaml")).expect("converted");
    let v1 = parse("v1-equivalent.yaml", &read("v1-equivalent.yaml")).expect("v1");
    assert_eq!(converted.nodepools, v1.nodepools);
    assert_eq!(converted.nodeclasses, v1.nodeclasses);
    assert!(v1.notes.is_empty(), "{:?}", v1.notes);
    assert_eq!(converted.notes.len(), 2, "{:#?}", converted.notes);
    let nodepool = &converted.notes[0];
    for change in [
        "NodePool default was converted from karpenter.sh/v1beta1 to karpenter.sh/v1",
        "consolidationPolicy WhenUnderutilized became WhenEmptyOrUnderutilized",
        "spec.disruption.consolidateAfter, unset, became 0s",
        "spec.disruption.expireAfter moved to spec.template.spec.expireAfter",
        "nodeClassRef: group karpenter.k8s.aws in place of apiVersion",
        "spec.template.spec.kubelet moved to EC2NodeClass default's spec.kubelet",
        "Karpenter 1.1 and later no longer serve karpenter.sh/v1beta1",
    ] {
        assert!(nodepool.contains(change), "{change:?} not in {nodepool}");
    }
    assert!(converted.notes[1].contains("[{alias: al2@latest}]"), "{}", converted.notes[1]);
}

#[test]
fn v1beta1_kubelet_without_its_nodeclass_makes_one() {
    let text = read("v1beta1-guide.yaml");
    let nodepool_only = text.split("\n---\n").next().expect("first document");
    let inventory = parse("nodepool.yaml", nodepool_only).expect("converted");
    assert_eq!(inventory.nodeclasses.len(), 1);
    assert_eq!(inventory.nodeclasses[0].kubelet.max_pods, Some(20));
    assert!(
        inventory.notes.iter().any(|n| n.contains("EC2NodeClass default is not in the input")),
        "{:?}",
        inventory.notes
    );
}

#[test]
fn two_v1beta1_kubelets_cannot_share_a_nodeclass() {
    let text = read("v1beta1-guide.yaml");
    let second = text
        .split("\n---\n")
        .next()
        .expect("first")
        .replace("name: default\nspec:", "name: other\nspec:")
        .replace("maxPods: 20", "maxPods: 30");
    let err = parse("two.yaml", &format!("{text}\n---\n{second}")).expect_err("conflicting kubelets");
    assert_eq!(
        err.to_string(),
        "NodePool other: spec.template.spec.kubelet: EC2NodeClass default already has other kubelet settings (its own, or another v1beta1 NodePool's); karpenter.sh/v1 keeps kubelet on the EC2NodeClass: give this NodePool an EC2NodeClass of its own"
    );
}

#[test]
fn v1beta1_typos_are_found_against_v1beta1_fields() {
    let text = read("v1beta1-guide.yaml").replace("expireAfter: 720h", "expireAfterr: 720h");
    let err = parse("typo.yaml", &text).expect_err("typo");
    assert_eq!(
        err.to_string(),
        "NodePool default: spec.disruption.expireAfterr: unknown field; did you mean \"expireAfter\"?"
    );
}

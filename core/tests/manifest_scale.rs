//! Large and hostile input: a 10 MB manifest parses in reasonable time, and no text, however
//! odd, makes the parser panic.

use fleetfit::manifest::{parse, parse_sources};
use proptest::prelude::*;
use std::fmt::Write;
use std::time::Instant;

/// A realistic multi-document YAML of at least `bytes` bytes: Deployments with full pod
/// templates, bound Pods owned by them, and Nodes.
fn big_manifest(bytes: usize) -> (String, usize) {
    let mut out = String::with_capacity(bytes + 4096);
    let mut deployments = 0;
    while out.len() < bytes {
        let i = deployments;
        deployments += 1;
        write!(
            out,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: team-{ns}\n  labels:\n    app.kubernetes.io/name: app-{i}\n    app.kubernetes.io/part-of: shop\nspec:\n  replicas: 3\n  selector:\n    matchLabels:\n      app: app-{i}\n  template:\n    metadata:\n      labels:\n        app: app-{i}\n        tier: backend\n    spec:\n      affinity:\n        nodeAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n            nodeSelectorTerms:\n              - matchExpressions:\n                  - key: karpenter.sh/capacity-type\n                    operator: In\n                    values: [spot, on-demand]\n        podAntiAffinity:\n          preferredDuringSchedulingIgnoredDuringExecution:\n            - weight: 50\n              podAffinityTerm:\n                labelSelector:\n                  matchLabels:\n                    app: app-{i}\n                topologyKey: kubernetes.io/hostname\n      topologySpreadConstraints:\n        - maxSkew: 1\n          topologyKey: topology.kubernetes.io/zone\n          whenUnsatisfiable: ScheduleAnyway\n          labelSelector:\n            matchLabels:\n              app: app-{i}\n      tolerations:\n        - key: dedicated\n          operator: Equal\n          value: shop\n          effect: NoSchedule\n      containers:\n        - name: main\n          image: registry.example.com/app-{i}:1.0.{i}\n          env:\n            - name: LOG_LEVEL\n              value: info\n            - name: DESCRIPTION\n              value: \"{pad}\"\n          ports:\n            - containerPort: 8080\n          resources:\n            requests:\n              cpu: {cpu}m\n              memory: {mem}Mi\n            limits:\n              memory: {mem}Mi\n        - name: sidecar\n          image: registry.example.com/proxy:2\n          resources:\n            requests:\n              cpu: 50m\n              memory: 64Mi\n",
            ns = i % 40,
            pad = "x".repeat(200),
            cpu = 100 + (i % 20) * 50,
            mem = 128 + (i % 16) * 64,
        )
        .expect("writing to a String");
        write!(
            out,
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: app-{i}-abc123-x{i}\n  namespace: team-{ns}\n  uid: 5c0ffee0-{i:08}\n  creationTimestamp: \"2026-11-24T07:00:00Z\"\n  labels:\n    app: app-{i}\n  ownerReferences:\n    - apiVersion: apps/v1\n      kind: ReplicaSet\n      name: app-{i}-abc123\n      uid: 0ddba11-{i:08}\n      controller: true\nspec:\n  nodeName: node-{node}\n  containers:\n    - name: main\n      image: registry.example.com/app-{i}:1.0.{i}\n      resources:\n        requests:\n          cpu: 100m\n          memory: 128Mi\nstatus:\n  phase: Running\n",
            ns = i % 40,
            node = i % 200,
        )
        .expect("writing to a String");
        if i < 200 {
            write!(
                out,
                "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: node-{i}\n  labels:\n    node.kubernetes.io/instance-type: m5.2xlarge\n    topology.kubernetes.io/zone: us-east-1{zone}\nstatus:\n  capacity: {{cpu: \"8\", memory: 32329132Ki, pods: \"58\"}}\n  allocatable: {{cpu: 7910m, memory: 31312300Ki, pods: \"58\"}}\n  conditions: [{{type: Ready, status: \"True\"}}]\n",
                zone = ["a", "b", "c"][i % 3],
            )
            .expect("writing to a String");
        }
    }
    (out, deployments)
}

#[test]
fn ten_megabytes_parse_in_reasonable_time() {
    let (text, deployments) = big_manifest(10 * 1024 * 1024);
    let start = Instant::now();
    let inv = parse("big.yaml", &text).unwrap_or_else(|e| panic!("{e}"));
    let elapsed = start.elapsed();
    assert_eq!(inv.workloads.len(), deployments);
    assert_eq!(inv.nodes.len(), 200);
    // Each Deployment has one running pod and gets two new ones.
    assert_eq!(inv.pods.len(), deployments * 3);
    assert!(inv.workloads.iter().all(|w| w.replicas == 3 && w.existing == 1));
    eprintln!("parsed {} bytes ({} deployments) in {elapsed:?}", text.len(), deployments);
    // Generous: unoptimised test builds on a slow machine still finish well inside this.
    assert!(elapsed.as_secs() < 120, "took {elapsed:?}");
}

#[test]
fn ten_megabytes_of_json_parse_too() {
    let (yaml, _) = big_manifest(2 * 1024 * 1024);
    let yaml_inventory = parse("big.yaml", &yaml).expect("yaml");
    // The same objects as one `kind: List` in JSON.
    let items: Vec<serde_json::Value> = serde_yaml::Deserializer::from_str(&yaml)
        .map(|doc| serde::Deserialize::deserialize(doc).expect("valid yaml"))
        .collect();
    let json = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string();
    let json_inventory = parse_sources(&[("big.json".into(), json)]).expect("json");
    assert_eq!(json_inventory, yaml_inventory);
}

/// Text that looks a little like a manifest: keys, values and structure characters mixed.
fn yamlish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("apiVersion: v1\n".to_string()),
        Just("apiVersion: apps/v1\n".to_string()),
        Just("apiVersion: karpenter.sh/v1\n".to_string()),
        Just("kind: Pod\n".to_string()),
        Just("kind: Deployment\n".to_string()),
        Just("kind: NodePool\n".to_string()),
        Just("kind: List\n".to_string()),
        Just("metadata:\n  name: x\n".to_string()),
        Just("spec:\n".to_string()),
        Just("  replicas: 99999999999\n".to_string()),
        Just("  template:\n    spec:\n      containers:\n        - name: c\n".to_string()),
        Just("          resources: {requests: {cpu: 1e30, memory: -1}}\n".to_string()),
        Just("items: [".to_string()),
        Just("---\n".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(": ".to_string()),
        Just("- ".to_string()),
        Just("&a ".to_string()),
        Just("*a ".to_string()),
        Just("!!binary ".to_string()),
        Just("\"".to_string()),
        Just("\n".to_string()),
        Just("  ".to_string()),
        "[a-zA-Z0-9%./@-]{0,8}",
        any::<String>(),
    ];
    prop::collection::vec(token, 0..40).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parsing_never_panics(text in yamlish()) {
        let first = parse("fuzz.yaml", &text);
        // Deterministic, too: the same text gives the same answer.
        prop_assert_eq!(first, parse("fuzz.yaml", &text));
    }

    #[test]
    fn parsing_arbitrary_json_never_panics(value in arbitrary_json()) {
        let _ = parse("fuzz.json", &value.to_string());
    }
}

/// JSON trees whose keys are the ones fleetfit reads, so the typed readers see wrong types.
fn arbitrary_json() -> impl Strategy<Value = serde_json::Value> {
    let key = prop_oneof![
        Just("apiVersion"),
        Just("kind"),
        Just("metadata"),
        Just("name"),
        Just("spec"),
        Just("template"),
        Just("containers"),
        Just("resources"),
        Just("requests"),
        Just("cpu"),
        Just("items"),
        Just("replicas"),
        Just("affinity"),
        Just("nodeAffinity"),
        Just("ownerReferences"),
        Just("requirements"),
        Just("labels"),
    ];
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        prop_oneof![
            Just("v1".to_string()),
            Just("Pod".to_string()),
            Just("Deployment".to_string()),
            Just("List".to_string()),
            Just("karpenter.sh/v1".to_string()),
            Just("NodePool".to_string()),
            Just("100m".to_string()),
            ".{0,6}".prop_map(|s| s),
        ]
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::vec((key.clone(), inner), 0..6).prop_map(|entries| {
                serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

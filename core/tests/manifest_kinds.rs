//! Every kind fleetfit reads, parsed from realistic YAML in `tests/manifests/`.

use fleetfit::manifest::parse;
use fleetfit::model::*;
use fleetfit::requirements::Operator;
use fleetfit::taints::{TaintEffect, TolerationOperator};
use fleetfit::time::{Duration, NillableDuration};
use fleetfit::{Bytes, Inventory, Millicores, Quantity};

fn load(name: &str) -> Inventory {
    let path = format!("{}/tests/manifests/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse(name, &text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn pod<'a>(inv: &'a Inventory, name: &str) -> &'a Pod {
    inv.pods.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no pod {name}"))
}

fn gib(n: i64) -> Bytes {
    Bytes::gib(n)
}

#[test]
fn deployment_replicas_become_pending_pods_with_every_scheduling_field() {
    let inv = load("workloads.yaml");
    let web: Vec<&Pod> =
        inv.pods.iter().filter(|p| p.workload() == ObjectRef::new("Deployment", "shop", "web")).collect();
    assert_eq!(web.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["web-0", "web-1", "web-2"]);
    assert!(web.iter().all(|p| p.is_pending()));
    let p = web[0];
    assert_eq!(p.namespace, "shop");
    assert_eq!(p.labels.get("tier").map(String::as_str), Some("frontend"));
    assert_eq!(p.annotation("karpenter.sh/do-not-disrupt"), Some("false"));
    assert_eq!(p.requests.cpu, Millicores(500));
    assert_eq!(p.requests.memory, gib(1));
    assert_eq!(p.requests.extended.get("nvidia.com/gpu"), Some(&1));
    assert_eq!(p.requests.pods, 1);
    assert_eq!(p.node_selector.get("kubernetes.io/os").map(String::as_str), Some("linux"));

    // Required terms are ORed; matchFields on metadata.name constrain the hostname.
    let required = &p.node_affinity.required;
    assert_eq!(required.len(), 2);
    let generation = required[0].get("karpenter.k8s.aws/instance-generation").expect("Gt term");
    assert!(generation.has("6") && !generation.has("5"));
    assert!(required[0].get("karpenter.sh/capacity-type").expect("capacity").has("spot"));
    let host = required[1].get("kubernetes.io/hostname").expect("matchFields term");
    assert_eq!(host.operator(), Operator::NotIn);
    assert!(!host.has("ip-10-0-0-1.ec2.internal"));
    assert_eq!(p.node_affinity.preferred.len(), 1);
    assert_eq!(p.node_affinity.preferred[0].weight, 50);

    assert_eq!(p.tolerations.len(), 2);
    assert_eq!(p.tolerations[0].key, "dedicated");
    assert_eq!(p.tolerations[0].effect, Some(TaintEffect::NoSchedule));
    assert_eq!(p.tolerations[1].operator, TolerationOperator::Exists);

    let anti = &p.pod_anti_affinity;
    assert_eq!(anti.required.len(), 1);
    assert_eq!(anti.required[0].topology_key, "kubernetes.io/hostname");
    assert_eq!(anti.required[0].match_label_keys, ["pod-template-hash"]);
    assert_eq!(anti.preferred[0].weight, 10);
    assert_eq!(anti.preferred[0].term.namespaces, ["shop", "other"]);
    let affinity = &p.pod_affinity.preferred[0];
    assert_eq!(affinity.weight, 100);
    assert_eq!(affinity.term.namespace_selector, Some(LabelSelector::default()));
    assert_eq!(affinity.term.mismatch_label_keys, ["tenant"]);

    assert_eq!(p.topology_spread.len(), 2);
    let zone = &p.topology_spread[0];
    assert_eq!((zone.max_skew, zone.min_domains), (1, Some(3)));
    assert_eq!(zone.when_unsatisfiable, WhenUnsatisfiable::DoNotSchedule);
    assert_eq!(zone.node_affinity_policy, NodeInclusionPolicy::Honor);
    assert_eq!(zone.node_taints_policy, NodeInclusionPolicy::Ignore);
    assert_eq!(p.topology_spread[1].when_unsatisfiable, WhenUnsatisfiable::ScheduleAnyway);
    assert_eq!(p.topology_spread[1].node_taints_policy, NodeInclusionPolicy::Honor);

    assert_eq!(
        p.host_ports,
        [
            HostPort { port: 9100, protocol: "TCP".into(), host_ip: String::new() },
            HostPort { port: 5353, protocol: "UDP".into(), host_ip: String::new() },
        ]
    );
    // A named claim, and a generic ephemeral volume's claim named after the pod.
    assert_eq!(p.volume_claims, ["web-uploads", "web-0-scratch"]);
    let scratch = inv.pvcs.iter().find(|c| c.name == "web-0-scratch").expect("ephemeral claim");
    assert_eq!((scratch.storage_class.as_deref(), scratch.storage), (Some("gp3"), gib(10)));
    // The PriorityClass in the same file gives the priority.
    assert_eq!((p.priority, p.priority_class_name.as_deref()), (100_000, Some("shop-high")));
    assert_eq!(p.termination_grace_period, Some(Duration::from_secs(45)));
    assert_eq!(
        inv.workloads[0],
        Workload { reference: ObjectRef::new("Deployment", "shop", "web"), replicas: 3, existing: 0, autoscaler: None }
    );
}

#[test]
fn statefulset_claims_follow_the_ordinal() {
    let inv = load("workloads.yaml");
    let db1 = pod(&inv, "db-1");
    assert_eq!(db1.owner, Some(ObjectRef::new("StatefulSet", "shop", "db")));
    assert_eq!(db1.volume_claims, ["data-db-1", "wal-db-1"]);
    assert_eq!(db1.labels.get("statefulset.kubernetes.io/pod-name").map(String::as_str), Some("db-1"));
    let data = inv.pvcs.iter().find(|c| c.name == "data-db-1").expect("claim from template");
    assert_eq!((data.namespace.as_str(), data.storage_class.as_deref(), data.storage), ("shop", Some("gp3"), gib(100)));
    let wal = inv.pvcs.iter().find(|c| c.name == "wal-db-0").expect("claim without class");
    assert_eq!((wal.storage_class.as_deref(), wal.storage), (None, gib(20)));
}

#[test]
fn jobs_cronjobs_daemonsets_and_replication_controllers() {
    let inv = load("workloads.yaml");
    let find = |kind: &str, name: &str| {
        inv.workloads.iter().find(|w| w.reference.kind == kind && w.reference.name == name).cloned()
    };
    // parallelism 4, but only 10 - 8 = 2 completions to go.
    assert_eq!(find("Job", "reindex").map(|w| w.replicas), Some(2));
    assert_eq!(find("CronJob", "report").map(|w| w.replicas), Some(2));
    assert_eq!(pod(&inv, "report-1").requests.memory, gib(2));
    assert_eq!(find("ReplicationController", "legacy").map(|w| w.replicas), Some(1));
    assert_eq!(pod(&inv, "legacy-0").namespace, "default");

    assert_eq!(inv.daemonsets.len(), 1);
    let ds = &inv.daemonsets[0];
    assert_eq!((ds.namespace.as_str(), ds.name.as_str()), ("monitoring", "node-exporter"));
    assert_eq!(ds.template.owner, Some(ObjectRef::new("DaemonSet", "monitoring", "node-exporter")));
    assert_eq!(ds.template.requests.cpu, Millicores(50));
    assert_eq!(ds.template.requests.memory, Bytes::mib(64));
    // hostNetwork makes every container port a host port.
    assert_eq!(ds.template.host_ports[0].port, 9101);
    assert_eq!(ds.template.priority, 2_000_001_000);
    assert!(inv.pods.iter().all(|p| p.owner.as_ref().map(|o| o.kind.as_str()) != Some("DaemonSet")));
}

#[test]
fn nodepool_every_field() {
    let inv = load("karpenter.yaml");
    let pool = &inv.nodepools[0];
    assert_eq!(pool.name, "default");
    assert_eq!(pool.weight, Some(10));
    assert_eq!(pool.labels.get("team").map(String::as_str), Some("shop"));
    assert_eq!(pool.annotations.get("example.com/owner").map(String::as_str), Some("platform"));
    assert_eq!(pool.requirement_specs.len(), 5);
    assert_eq!(pool.requirement_specs[2].min_values, Some(2));
    assert_eq!(pool.requirement_specs[4].operator, Operator::Lte);
    let reqs = pool.requirements();
    assert!(reqs.get("karpenter.k8s.aws/instance-generation").expect("gen").has("5"));
    assert!(reqs.get("karpenter.sh/nodepool").expect("own name").has("default"));
    assert_eq!(pool.taints[0].to_string(), "dedicated=shop:NoSchedule");
    assert_eq!(pool.startup_taints[0].to_string(), "ebs.csi.aws.com/agent-not-ready:NoExecute");
    assert_eq!(pool.expire_after, NillableDuration::After(Duration::from_secs(336 * 3600)));
    assert_eq!(pool.termination_grace_period, Some(Duration::from_secs(48 * 3600)));
    let class = pool.node_class_ref.as_ref().expect("nodeClassRef");
    assert_eq!(
        (class.group.as_str(), class.kind.as_str(), class.name.as_str()),
        ("karpenter.k8s.aws", "EC2NodeClass", "default")
    );
    assert_eq!(pool.limit("cpu"), Some(1_000_000));
    assert_eq!(pool.limits.get("memory"), Some(&"4000Gi".parse::<Quantity>().expect("q")));
    assert_eq!(pool.limit("nvidia.com/gpu"), Some(8));
    let d = &pool.disruption;
    assert_eq!(d.consolidation_policy, ConsolidationPolicy::WhenEmpty);
    assert_eq!(d.consolidate_after, NillableDuration::After(Duration::from_secs(300)));
    assert_eq!(
        d.budgets,
        [
            Budget {
                nodes: IntOrPercent::Percent(20),
                schedule: None,
                duration: None,
                reasons: vec![DisruptionReason::Empty, DisruptionReason::Drifted]
            },
            Budget {
                nodes: IntOrPercent::Int(0),
                schedule: Some("0 9 * * mon-fri".into()),
                duration: Some(Duration::from_secs(8 * 3600)),
                reasons: vec![]
            },
            Budget { nodes: IntOrPercent::Int(5), schedule: None, duration: None, reasons: vec![] },
        ]
    );
}

#[test]
fn nodepool_defaults() {
    let inv = load("karpenter.yaml");
    let pool = &inv.nodepools[1];
    assert_eq!(pool.name, "minimal");
    assert_eq!(pool.weight, None);
    assert_eq!(pool.expire_after, NillableDuration::Never);
    assert_eq!(pool.disruption.consolidation_policy, ConsolidationPolicy::WhenEmptyOrUnderutilized);
    assert_eq!(pool.disruption.consolidate_after, NillableDuration::Never);
    assert_eq!(pool.disruption.budgets, Disruption::default().budgets);
    assert!(pool.limits.is_empty());

    let bare = parse(
        "bare.yaml",
        "apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata: {name: bare}\nspec:\n  template:\n    spec:\n      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}\n      requirements: []\n",
    )
    .expect("a minimal NodePool");
    let pool = &bare.nodepools[0];
    assert_eq!(pool.expire_after, NillableDuration::After(Duration::from_secs(720 * 3600)));
    assert_eq!(pool.disruption, Disruption::default());
}

#[test]
fn ec2nodeclasses() {
    let inv = load("karpenter.yaml");
    let class = |name: &str| inv.nodeclass(name).unwrap_or_else(|| panic!("no class {name}"));
    let default = class("default");
    assert_eq!(default.ami_family, AmiFamily::AL2023);
    assert_eq!(default.root_volume_size, Some(gib(100)));
    let k = &default.kubelet;
    assert_eq!((k.max_pods, k.pods_per_core), (Some(110), Some(8)));
    assert_eq!(k.kube_reserved.get("memory"), Some(&"500Mi".parse::<Quantity>().expect("q")));
    assert_eq!(k.system_reserved.get("cpu"), Some(&Quantity::from_milli(100)));
    assert_eq!(k.eviction_hard.get("memory.available"), Some(&Threshold::Percent(500)));
    assert_eq!(k.eviction_hard.get("nodefs.available"), Some(&Threshold::Percent(750)));
    assert_eq!(k.eviction_soft.get("memory.available"), Some(&Threshold::Quantity("500Mi".parse().expect("q"))));

    // Bottlerocket keeps ephemeral storage on its data volume, /dev/xvdb.
    let br = class("bottlerocket");
    assert_eq!(br.ami_family, AmiFamily::Bottlerocket);
    assert_eq!(br.root_volume_size, Some(gib(200)));
    assert_eq!(br.instance_store_policy.as_deref(), Some("RAID0"));

    let custom = class("custom");
    assert_eq!(custom.ami_family, AmiFamily::Custom);
    assert_eq!(custom.root_volume_size, Some(Bytes(80_000_000_000)));

    let windows = class("windows");
    assert_eq!(windows.ami_family, AmiFamily::Windows2022);
    assert_eq!(windows.root_volume_size, None);
}

#[test]
fn nodes_pdbs_volumes_and_storage_classes() {
    let inv = load("cluster.yaml");
    let node = &inv.nodes[0];
    assert_eq!(node.name, "ip-10-0-1-23.ec2.internal");
    assert_eq!(node.instance_type(), Some("m5.large"));
    assert_eq!(node.nodepool(), Some("default"));
    assert_eq!(node.taints.len(), 2);
    assert_eq!(node.capacity.cpu, Millicores(2000));
    assert_eq!(node.capacity.pods, 29);
    assert_eq!(node.allocatable.cpu, Millicores(1930));
    assert_eq!(node.allocatable.memory, Bytes(7_068_620 * 1024));
    assert!(node.unschedulable && node.ready && !node.deleting);
    assert_eq!(node.created.map(|t| t.to_string()).as_deref(), Some("2026-11-20T08:00:00Z"));
    assert_eq!(node.provider_id.as_deref(), Some("aws:///us-east-1a/i-0123456789abcdef0"));

    assert_eq!(inv.pdbs.len(), 2);
    assert_eq!(inv.pdbs[0].max_unavailable, Some(IntOrPercent::Percent(25)));
    assert_eq!(inv.pdbs[0].disruptions_allowed, Some(1));
    assert_eq!(inv.pdbs[1].min_available, Some(IntOrPercent::Int(1)));
    let db_labels: Labels = [("app".to_string(), "db".to_string())].into();
    assert!(inv.pdbs[1].selector.matches(&db_labels));
    assert!(inv.skipped.iter().any(|s| s.kind == "PodDisruptionBudget" && s.name == "shop/nothing"));

    let pvc = &inv.pvcs[0];
    assert_eq!(
        (pvc.name.as_str(), pvc.storage_class.as_deref(), pvc.volume_name.as_deref(), pvc.storage),
        ("web-uploads", Some("gp3"), Some("pvc-5f1c"), gib(50))
    );
    let pv = &inv.pvs[0];
    assert_eq!(pv.claim, Some(ObjectRef::new("PersistentVolumeClaim", "shop", "web-uploads")));
    assert_eq!(pv.node_affinity.len(), 2);
    // The EBS CSI zone label is read as the standard zone label.
    assert!(pv.node_affinity[0].get("topology.kubernetes.io/zone").expect("zone").has("us-east-1a"));

    let gp3 = &inv.storage_classes[0];
    assert!(gp3.is_default);
    assert_eq!(gp3.provisioner, "ebs.csi.aws.com");
    assert_eq!(gp3.volume_binding_mode, VolumeBindingMode::WaitForFirstConsumer);
    let zones = gp3.allowed_topologies[0].get("topology.kubernetes.io/zone").expect("zones");
    assert!(zones.has("us-east-1b") && !zones.has("us-east-1c"));
    assert!(!inv.storage_classes[1].is_default);
    assert_eq!(inv.storage_classes[1].volume_binding_mode, VolumeBindingMode::Immediate);
}

#[test]
fn unknown_kinds_are_reported_as_skipped() {
    let inv = load("cluster.yaml");
    let skipped: Vec<(&str, &str)> = inv.skipped.iter().map(|s| (s.kind.as_str(), s.name.as_str())).collect();
    assert_eq!(
        skipped,
        [
            ("PodDisruptionBudget", "shop/nothing"),
            ("Service", "shop/web"),
            ("ConfigMap", "shop/web-config"),
            ("Namespace", "shop"),
        ]
    );
    // A NodeClaim is read: in flight until a Node has its providerID.
    let claim = &inv.nodeclaims[0];
    assert_eq!((claim.name.as_str(), claim.nodepool()), ("default-abcde", Some("default")));
    assert_eq!(claim.requirements[1].min_values, Some(2));
    assert_eq!(claim.requests.cpu, Millicores(1150));
    assert_eq!(claim.allocatable.as_ref().map(|a| a.cpu), Some(Millicores(1930)));
    assert_eq!(claim.provider_id.as_deref(), Some("aws:///us-east-1a/i-0abcde"));
    assert!(inv.skipped.iter().all(|s| !s.reason.is_empty()));
    assert_eq!(inv.skipped[1].api_version, "v1");
}

#[test]
fn multi_document_yaml_json_and_lists_agree() {
    let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\nspec: {containers: [{name: c, resources: {requests: {cpu: 250m}}}]}\n---\n---\n# only a comment\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec: {containers: [{name: c}]}\n";
    let json = r#"{"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "x"},
         "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "250m"}}}]}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b"}, "spec": {"containers": [{"name": "c"}]}}]}"#;
    let concatenated = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "x"},
         "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "250m"}}}]}}
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b"}, "spec": {"containers": [{"name": "c"}]}}"#;
    let yaml_list = "apiVersion: v1\nkind: PodList\nitems:\n  - metadata: {name: a, namespace: x}\n    spec: {containers: [{name: c, resources: {requests: {cpu: 250m}}}]}\n  - metadata: {name: b}\n    spec: {containers: [{name: c}]}\n";
    let a = parse("a.yaml", yaml).expect("yaml");
    assert_eq!(a.pods.len(), 2);
    assert_eq!(a.pods[1].namespace, "default");
    assert_eq!(a.pods[0].requests.cpu, Millicores(250));
    for (name, text) in [("b.json", json), ("c.json", concatenated), ("d.yaml", yaml_list)] {
        assert_eq!(parse(name, text).unwrap_or_else(|e| panic!("{name}: {e}")), a, "{name}");
    }
    assert_eq!(parse("empty.yaml", "").expect("empty"), Inventory::default());
    assert_eq!(parse("comments.yaml", "# nothing\n---\n").expect("comments"), Inventory::default());
}

//! A cluster snapshot from `kubectl get -o json`: nodes, bound pods, and pods attributed to
//! their workloads through ownerReferences, whether read from one file or several.

use fleetfit::manifest::{parse, parse_sources};
use fleetfit::model::{Inventory, ObjectRef, PodPhase, Workload};
use fleetfit::Millicores;

fn read(name: &str) -> String {
    let path = format!("{}/tests/manifests/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn snapshot() -> Inventory {
    parse("snapshot.json", &read("snapshot.json")).unwrap_or_else(|e| panic!("{e}"))
}

fn owner_of(inv: &Inventory, pod: &str) -> Option<ObjectRef> {
    inv.pods.iter().find(|p| p.name == pod).unwrap_or_else(|| panic!("no pod {pod}")).owner.clone()
}

#[test]
fn nodes_and_bound_pods() {
    let inv = snapshot();
    assert_eq!(inv.nodes.len(), 2);
    assert!(inv.nodes.iter().all(|n| n.ready));
    assert_eq!(inv.nodes[1].allocatable.cpu, Millicores(3920));
    let on_first: Vec<&str> = inv
        .pods
        .iter()
        .filter(|p| p.node_name.as_deref() == Some("ip-10-0-1-10.ec2.internal"))
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        on_first,
        [
            "web-7c9d8f6b5-abcde",
            "aws-node-4x7kq",
            "kube-proxy-ip-10-0-1-10.ec2.internal",
            "backup-29400000-r8t2w",
            "debug"
        ]
    );
    let done = inv.pods.iter().find(|p| p.name == "backup-29400000-r8t2w").expect("job pod");
    assert_eq!(done.phase, PodPhase::Succeeded);
}

#[test]
fn pods_are_attributed_through_replicasets_to_their_deployment() {
    let inv = snapshot();
    let web = Some(ObjectRef::new("Deployment", "shop", "web"));
    for pod in ["web-7c9d8f6b5-abcde", "web-7c9d8f6b5-fghij", "web-7c9d8f6b5-klmno", "web-7c9d8f6b5-pqrst"] {
        assert_eq!(owner_of(&inv, pod), web, "{pod}");
    }
    // The ReplicaSet of `api` is not in the snapshot: its name leads to the Deployment.
    assert_eq!(owner_of(&inv, "api-6b8d9c7f4-zzzzz"), Some(ObjectRef::new("Deployment", "shop", "api")));
    // Job → CronJob, DaemonSet pods keep their DaemonSet, mirror pods their Node.
    assert_eq!(owner_of(&inv, "backup-29400000-r8t2w"), Some(ObjectRef::new("CronJob", "ops", "backup")));
    assert_eq!(owner_of(&inv, "aws-node-9mz2t"), Some(ObjectRef::new("DaemonSet", "kube-system", "aws-node")));
    assert_eq!(
        owner_of(&inv, "kube-proxy-ip-10-0-1-10.ec2.internal"),
        Some(ObjectRef::new("Node", "", "ip-10-0-1-10.ec2.internal"))
    );
    assert_eq!(owner_of(&inv, "debug"), None);
}

#[test]
fn only_missing_replicas_are_expanded() {
    let inv = snapshot();
    // web wants 4: two running, one pending, one terminating (which does not count) → one new.
    // api wants 2 and has 1. The finished backup Job does not count; the CronJob's next run does.
    // The ReplicaSets belong to `web` and are not expanded again.
    assert_eq!(
        inv.workloads,
        [
            Workload {
                reference: ObjectRef::new("Deployment", "shop", "web"),
                replicas: 4,
                existing: 3,
                autoscaler: None
            },
            Workload {
                reference: ObjectRef::new("Deployment", "shop", "api"),
                replicas: 2,
                existing: 1,
                autoscaler: None
            },
            Workload {
                reference: ObjectRef::new("CronJob", "ops", "backup"),
                replicas: 1,
                existing: 0,
                autoscaler: None
            },
        ]
    );
    let new: Vec<&str> =
        inv.pods.iter().filter(|p| p.is_pending() && p.uid.is_empty()).map(|p| p.name.as_str()).collect();
    assert_eq!(new, ["web-3", "api-1", "backup-0"]);
    let pending: Vec<&str> = inv.pending_pods().map(|p| p.name.as_str()).collect();
    assert_eq!(pending, ["web-3", "web-7c9d8f6b5-klmno", "api-1", "backup-0"]);
    assert_eq!(inv.daemonsets.len(), 1);
    assert_eq!(inv.pods.len(), 13);
}

#[test]
fn a_snapshot_split_across_files_is_counted_once() {
    let sources = vec![
        ("pods.json".to_string(), read("snapshot-pods.json")),
        ("rest.yaml".to_string(), read("snapshot-rest.yaml")),
    ];
    let split = parse_sources(&sources).unwrap_or_else(|e| panic!("{e}"));
    let whole = snapshot();
    assert_eq!(split.workloads, whole.workloads);
    assert_eq!(split.nodes, whole.nodes);
    assert_eq!(split.daemonsets, whole.daemonsets);
    let mut a: Vec<_> = split.pods.iter().map(|p| (p.name.clone(), p.owner.clone(), p.requests.clone())).collect();
    let mut b: Vec<_> = whole.pods.iter().map(|p| (p.name.clone(), p.owner.clone(), p.requests.clone())).collect();
    a.sort_by(|x, y| x.0.cmp(&y.0));
    b.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(a, b);

    // Read alone, the pods know their ReplicaSet but not that a Deployment wants more.
    let pods_only = parse("pods.json", &read("snapshot-pods.json")).expect("pods");
    assert!(pods_only.workloads.is_empty());
    assert_eq!(pods_only.pods[0].owner, Some(ObjectRef::new("ReplicaSet", "shop", "web-7c9d8f6b5")));
}

#[test]
fn statefulset_pods_keep_their_ordinals() {
    let text = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, namespace: data}\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers: [{name: db}]\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: db-1\n  namespace: data\n  ownerReferences: [{apiVersion: apps/v1, kind: StatefulSet, name: db, uid: u, controller: true}]\nspec:\n  nodeName: n1\n  containers: [{name: db}]\nstatus: {phase: Running}\n";
    let inv = parse("sts.yaml", text).expect("valid");
    let names: Vec<&str> = inv.pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["db-0", "db-2", "db-1"]);
    assert_eq!(inv.workloads[0].existing, 1);
}

#[test]
fn daemonset_pods_without_their_daemonset_stand_for_it() {
    let pods = r#"{"apiVersion": "v1", "kind": "List", "items": [
      {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "agent-x1", "namespace": "kube-system",
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "controller": true}]},
       "spec": {"nodeName": "n1",
                "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                  {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]}}},
                "containers": [{"name": "a", "resources": {"requests": {"cpu": "150m", "memory": "100Mi"}}}]},
       "status": {"phase": "Running"}},
      {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "agent-x2", "namespace": "kube-system",
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "controller": true}]},
       "spec": {"nodeName": "n2", "containers": [{"name": "a", "resources": {"requests": {"cpu": "150m"}}}]},
       "status": {"phase": "Running"}}
    ]}"#;
    let inv = fleetfit::manifest::parse("pods.json", pods).expect("parses");
    assert_eq!(inv.daemonsets.len(), 1);
    let ds = &inv.daemonsets[0];
    assert_eq!((ds.namespace.as_str(), ds.name.as_str()), ("kube-system", "agent"));
    assert_eq!(ds.template.requests.cpu.0, 150);
    assert!(ds.template.node_name.is_none());
    assert!(ds.template.node_affinity.required.iter().all(|t| t.get("kubernetes.io/hostname").is_none()));
    // With the DaemonSet object given too, nothing is inferred.
    let with = fleetfit::manifest::parse_sources(&[
        ("pods.json".to_string(), pods.to_string()),
        (
            "ds.yaml".to_string(),
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent, namespace: kube-system}\nspec:\n  template:\n    spec:\n      containers: [{name: a, resources: {requests: {cpu: 200m}}}]\n".to_string(),
        ),
    ])
    .expect("parses");
    assert_eq!(with.daemonsets.len(), 1);
    assert_eq!(with.daemonsets[0].template.requests.cpu.0, 200);
}

//! The provisioner end to end with the KWOK provider, on a real control plane: NodePools and
//! 50 pending pods (mixed requests, a zonal spread, a hostname anti-affinity) → the controller
//! creates NodeClaims → Nodes appear and turn Ready → the real kube-scheduler binds every pod
//! → all Running. The nodes launched are the core's plan for the same input; the same pending
//! pods seen in two batches launch once; scaling up launches only what is missing.

mod support;

use fleetfit_controller::cloud::Kwok;
use fleetfit_controller::disruption::DisruptionConfig;
use fleetfit_controller::provision::{BatchWindow, Provisioner};
use fleetfit_controller::run::{run, Config};
use fleetfit_controller::state::{karpenter_resource, Changes, Stores};
use fleetfit_controller::Metrics;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DynamicObject, ListParams};
use kube::runtime::events::{Recorder, Reporter};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{deployment, eventually, nodepool, TestEnv, NODECLASS};

const REGION: &str = "us-west-2";

fn nodepools() -> String {
    [nodepool("web", "on-demand"), nodepool("api", "on-demand"), nodepool("cache", "on-demand"), NODECLASS.to_string()]
        .join("---\n")
}

fn workloads(api_replicas: u32) -> String {
    let spread = "      topologySpreadConstraints:
        - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}}
";
    let apart = "      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app: cache}}}
";
    [
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n".to_string(),
        deployment("web", 30, "500m", "1Gi", spread),
        deployment("api", api_replicas, "1", "2Gi", ""),
        deployment("cache", 5, "250m", "512Mi", apart),
    ]
    .join("---\n")
}

/// The instance types (with zone and capacity type) of the core's plan for `manifests`.
fn planned(manifests: &str) -> BTreeMap<(String, String, String), usize> {
    let inventory = fleetfit::manifest::parse("input.yaml", manifests).expect("valid input");
    let catalog = fleetfit::Catalog::aws(REGION).expect("catalog");
    let plan = fleetfit::pack::plan(&inventory, &catalog, &fleetfit::plan::PlanOptions::default()).expect("plan");
    assert!(plan.unschedulable.is_empty(), "{:?}", plan.unschedulable);
    let mut types = BTreeMap::new();
    for n in &plan.nodes {
        *types.entry((n.instance_type.clone(), n.zone.clone(), n.capacity_type.clone())).or_default() += 1;
    }
    types
}

/// The launched NodeClaims' (instance type, zone, capacity type), counted.
async fn launched(claims: &Api<DynamicObject>) -> BTreeMap<(String, String, String), usize> {
    let mut types = BTreeMap::new();
    for c in claims.list(&ListParams::default()).await.expect("listing NodeClaims") {
        let label = |k: &str| c.metadata.labels.as_ref().and_then(|l| l.get(k)).cloned().unwrap_or_default();
        let key = (
            label("node.kubernetes.io/instance-type"),
            label("topology.kubernetes.io/zone"),
            label("karpenter.sh/capacity-type"),
        );
        *types.entry(key).or_default() += 1;
    }
    types
}

async fn all_running(pods: &Api<Pod>, expected: usize) -> Option<()> {
    let list = pods.list(&ListParams::default()).await.ok()?;
    let running =
        list.items.iter().filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")).count();
    (running == expected && list.items.len() == expected).then_some(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_pods_get_nodes_and_run() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("info,fleetfit_controller=debug,kube=warn")
        .try_init();
    let env = TestEnv::builder("provision-kwok").moto(false).start();
    let client = env.client().await;
    env.apply_karpenter_crds();
    env.apply_yaml(&nodepools());
    let expected = planned(&format!("{}---\n{}", nodepools(), workloads(15)));

    // All 50 pods pending before the controller starts, so that they are one batch and the
    // launch can be compared with one plan however slowly the pods come.
    let started = Instant::now();
    env.apply_yaml(&workloads(15));
    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    eventually("50 pods marked unschedulable", Duration::from_secs(120), || {
        let pods = pods.clone();
        async move {
            let list = pods.list(&ListParams::default()).await.ok()?;
            (list.items.iter().filter(|p| fleetfit_controller::state::provisionable(p)).count() == 50).then_some(())
        }
    })
    .await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = Config {
        region: REGION.into(),
        // A batch closes after 3 idle seconds (Karpenter's default is 1): on a loaded machine
        // the ReplicaSet controller has created a scale-up's pods more than a second apart,
        // and two batches each get nodes of their own, which the scale-up check below counts
        // as waste.
        batch: BatchWindow { idle: Duration::from_secs(3), max: Duration::from_secs(10) },
        http: "127.0.0.1:0".parse().unwrap(),
        resync: Duration::from_secs(2),
        // Provisioning alone: no consolidation while the launches are checked.
        disruption: DisruptionConfig { interval: Duration::from_secs(3600), ..Default::default() },
        ..Config::default()
    };
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let controller = tokio::spawn(run(client.clone(), Kwok::new(client.clone()), config, Some(bound_tx), async {
        let _ = stopped.await;
    }));
    let address = bound_rx.await.expect("the controller serves its endpoints");
    let controlled = Instant::now();
    eventually("all 50 pods Running", Duration::from_secs(120), || all_running(&pods, 50)).await;
    println!(
        "50 pods: applied to Running {:.1}s, of which from the controller's start {:.1}s",
        started.elapsed().as_secs_f64(),
        controlled.elapsed().as_secs_f64()
    );

    let claims: Api<DynamicObject> = Api::all_with(client.clone(), &karpenter_resource("NodeClaim"));
    assert_eq!(launched(&claims).await, expected, "the NodeClaims launched are the core's plan");
    // Every claim is Ready, its node registered and initialized, owned by its NodePool.
    let nodes: Api<Node> = Api::all(client.clone());
    for c in claims.list(&ListParams::default()).await.unwrap() {
        let value = serde_json::to_value(&c).unwrap();
        let ready = value["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        assert!(ready, "{value}");
        let node = nodes.get(value["status"]["nodeName"].as_str().unwrap()).await.unwrap();
        let labels = node.metadata.labels.unwrap();
        assert_eq!(labels.get("karpenter.sh/registered").map(String::as_str), Some("true"));
        assert_eq!(labels.get("karpenter.sh/initialized").map(String::as_str), Some("true"));
        assert!(labels.contains_key("workload"), "the NodePool's template labels");
        assert!(node.spec.unwrap().taints.unwrap_or_default().iter().all(|t| t.key != "karpenter.sh/unregistered"));
        assert_eq!(value["metadata"]["ownerReferences"][0]["kind"], "NodePool");
    }
    // The zonal spread holds: the web pods' zones differ by at most one pod.
    let mut per_zone: BTreeMap<String, usize> = BTreeMap::new();
    for p in pods.list(&ListParams::default().labels("app=web")).await.unwrap() {
        let node = nodes.get(p.spec.unwrap().node_name.as_deref().unwrap()).await.unwrap();
        *per_zone.entry(node.metadata.labels.unwrap()["topology.kubernetes.io/zone"].clone()).or_default() += 1;
    }
    let (least, most) = (per_zone.values().min().unwrap(), per_zone.values().max().unwrap());
    assert!(most - least <= 1, "web pods per zone: {per_zone:?}");

    // Scaling up launches only what the running nodes cannot hold.
    let before = claims.list(&ListParams::default()).await.unwrap().items.len();
    env.apply_yaml(&workloads(25));
    eventually("all 60 pods Running", Duration::from_secs(120), || all_running(&pods, 60)).await;
    let after = claims.list(&ListParams::default()).await.unwrap().items.len();
    let extra = planned(&format!(
        "{}---\n{}",
        nodepools(),
        deployment("api", 10, "1", "2Gi", "").replace("namespace: shop", "namespace: default")
    ));
    let extra: usize = extra.values().sum();
    assert!(
        after - before <= extra,
        "{} new NodeClaims for 10 pods; the plan for them alone has {extra}",
        after - before
    );

    // The endpoints answer.
    let metrics = http_get(address, "/metrics");
    assert!(
        metrics.contains("karpenter_nodeclaims_created_total{nodepool=\"web\",reason=\"provisioning\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("karpenter_nodeclaims_initialized_total{nodepool=\"cache\"}"), "{metrics}");
    assert!(http_get(address, "/readyz").starts_with("HTTP/1.1 200"));
    assert!(http_get(address, "/plan").contains("\"cost_per_hour\""));

    let _ = stop.send(());
    controller.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_same_pending_pods_in_two_batches_launch_once() {
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("info,kube=warn").try_init();
    let env = TestEnv::builder("provision-twice").moto(false).start();
    let client = env.client().await;
    env.apply_karpenter_crds();
    env.apply_yaml(&nodepools());
    env.apply_yaml(&workloads(15));
    // The caches, and no lifecycle: the claims stay unlaunched, the pods pending.
    let changes = Arc::new(Changes::default());
    let stores = Stores::start(&client, changes);
    stores.ready().await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    eventually("50 pods marked unschedulable", Duration::from_secs(60), || {
        let stores = stores.clone();
        async move {
            let n = stores.pods.state().iter().filter(|p| fleetfit_controller::state::provisionable(p)).count();
            (n == 50).then_some(())
        }
    })
    .await;
    let recorder = Recorder::new(client.clone(), Reporter { controller: "test".into(), instance: None });
    let catalog = fleetfit::Catalog::aws(REGION).unwrap();
    let provisioner = Provisioner::new(
        client.clone(),
        stores.clone(),
        catalog,
        Default::default(),
        recorder,
        Arc::new(Metrics::default()),
    );
    let first = provisioner.pass().await;
    let second = provisioner.pass().await;
    assert!(!first.created.is_empty());
    assert!(second.created.is_empty(), "launched again: {:?}", second.created);
    // Also once the cache shows the claims.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let third = provisioner.pass().await;
    assert!(third.created.is_empty(), "launched again: {:?}", third.created);
    assert_eq!(pods.list(&ListParams::default()).await.unwrap().items.len(), 50);
}

fn http_get(address: std::net::SocketAddr, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(address).expect("connect");
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_nodepool_is_reported_and_the_others_still_served() {
    let env = TestEnv::builder("provision-invalid").moto(false).start();
    let client = env.client().await;
    env.apply_karpenter_crds();
    // Tried first (weight 100) and valid for the API server, but no instance family is
    // called c7gg: the core refuses it, naming the field.
    let bad = nodepool("web", "on-demand")
        .replace("metadata: {name: web}", "metadata: {name: bad}")
        .replace("spec:\n  template:", "spec:\n  weight: 100\n  template:")
        .replace(
            "values: [c, m, r]}",
            "values: [c, m, r]}\n        - {key: karpenter.k8s.aws/instance-family, operator: In, values: [c7gg]}",
        );
    env.apply_yaml(&format!("{}---\n{bad}", nodepools()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = Config {
        region: REGION.into(),
        http: "127.0.0.1:0".parse().unwrap(),
        resync: Duration::from_secs(2),
        // Provisioning alone: no consolidation while the launches are checked.
        disruption: DisruptionConfig { interval: Duration::from_secs(3600), ..Default::default() },
        ..Config::default()
    };
    let controller = tokio::spawn(run(client.clone(), Kwok::new(client.clone()), config, None, async {
        let _ = stopped.await;
    }));
    env.apply_yaml(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: shop}}\n---\n{}",
        deployment("web", 6, "500m", "1Gi", "")
    ));
    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    eventually("the web pods Running on the valid pool's nodes", Duration::from_secs(90), || all_running(&pods, 6))
        .await;

    let pools: Api<DynamicObject> = Api::all_with(client.clone(), &karpenter_resource("NodePool"));
    let condition = |pool: &DynamicObject, type_: &str| {
        let value = serde_json::to_value(pool).unwrap();
        value["status"]["conditions"].as_array().and_then(|cs| cs.iter().find(|c| c["type"] == type_).cloned())
    };
    let bad = eventually("the bad NodePool's condition", Duration::from_secs(30), || {
        let pools = pools.clone();
        async move {
            let pool = pools.get("bad").await.ok()?;
            condition(&pool, "ValidationSucceeded").filter(|c| c["status"] == "False")
        }
    })
    .await;
    let message = bad["message"].as_str().unwrap();
    assert!(message.contains("spec.template.spec.requirements[2].values[0]") && message.contains("c7g"), "{message}");
    let web = pools.get("web").await.unwrap();
    assert_eq!(condition(&web, "ValidationSucceeded").map(|c| c["status"].clone()), Some("True".into()));
    let claims: Api<DynamicObject> = Api::all_with(client.clone(), &karpenter_resource("NodeClaim"));
    for c in claims.list(&ListParams::default()).await.unwrap() {
        assert_eq!(c.metadata.labels.as_ref().unwrap()["karpenter.sh/nodepool"], "web");
    }
    let events = env.kubectl_ok(&["get", "events", "-A", "--field-selector", "reason=FailedValidation", "-o", "name"]);
    assert!(!events.trim().is_empty(), "a FailedValidation Event on the NodePool");
    let _ = stop.send(());
    controller.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadow_mode_reports_and_writes_nothing() {
    let env = TestEnv::builder("provision-shadow").moto(false).start();
    let admin = env.client().await;
    env.apply_karpenter_crds();
    env.apply_yaml(&nodepools());
    // A node that runs, so consolidation has something to judge.
    env.apply_yaml(
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: running-1\n  annotations: {kwok.x-k8s.io/node: fake}\n  labels:\n    \
         kubernetes.io/hostname: running-1\n    node.kubernetes.io/instance-type: m5.2xlarge\n    topology.kubernetes.io/zone: us-west-2a\n    \
         karpenter.sh/capacity-type: on-demand\n    karpenter.sh/nodepool: web\n    workload: other\nstatus:\n  \
         capacity: {cpu: \"8\", memory: 32Gi, pods: \"58\"}\n  allocatable: {cpu: 7910m, memory: 29317Mi, pods: \"58\"}\n",
    );
    env.apply_yaml(&workloads(15));
    // It runs as the read-only ServiceAccount of controller/deploy/shadow-rbac.yaml: a
    // permission missing there would keep its caches from syncing.
    env.apply_yaml(&std::fs::read_to_string(support::repo_root().join("controller/deploy/shadow-rbac.yaml")).unwrap());
    let token = env.kubectl_ok(&["create", "token", "fleetfit-shadow", "-n", "fleetfit"]);
    let admin_token = std::fs::read_to_string(env.run_dir.join("token")).unwrap();
    let kubeconfig = std::fs::read_to_string(&env.kubeconfig).unwrap().replace(admin_token.trim(), token.trim());
    let kube_config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::from_yaml(&kubeconfig).unwrap(),
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    // The API server refuses its writes...
    let plain = kube::Client::try_from(kube_config.clone()).unwrap();
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(plain);
    let ns: k8s_openapi::api::core::v1::Namespace =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "written"}})).unwrap();
    match namespaces.create(&kube::api::PostParams::default(), &ns).await {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 403, "{s:?}"),
        other => panic!("the read-only role allowed a write: {other:?}"),
    }
    // ... and so does its client, before sending anything.
    let client = fleetfit_controller::shadow::read_only_client(kube_config).unwrap();
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let refused = namespaces.create(&kube::api::PostParams::default(), &ns).await.expect_err("a write");
    assert!(refused.to_string().contains("shadow mode: POST"), "{refused}");

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = Config {
        region: REGION.into(),
        http: "127.0.0.1:0".parse().unwrap(),
        resync: Duration::from_secs(2),
        shadow: true,
        // Provisioning alone: no consolidation while the launches are checked.
        disruption: DisruptionConfig { interval: Duration::from_secs(3600), ..Default::default() },
        ..Config::default()
    };
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let controller = tokio::spawn(run(client.clone(), Kwok::new(client), config, Some(bound_tx), async {
        let _ = stopped.await;
    }));
    let address = bound_rx.await.unwrap();
    let plan = eventually("a plan in /plan", Duration::from_secs(60), || async move {
        let body = http_get(address, "/plan");
        let json = body.split("\r\n\r\n").nth(1)?.to_string();
        let plan: serde_json::Value = serde_json::from_str(&json).ok()?;
        let has_nodes = plan.get("nodes").and_then(|n| n.as_array()).is_some_and(|a| !a.is_empty());
        has_nodes.then_some(plan)
    })
    .await;
    assert!(http_get(address, "/readyz").starts_with("HTTP/1.1 200"), "the read-only role lets every cache sync");
    let expected = planned(&format!("{}---\n{}", nodepools(), workloads(15)));
    assert_eq!(plan["nodes"].as_array().unwrap().len(), expected.values().sum::<usize>());
    let metrics = http_get(address, "/metrics");
    assert!(metrics.contains("fleetfit_plan_cost_per_hour "), "{metrics}");
    let consolidation = eventually("a consolidation in /consolidation", Duration::from_secs(30), || async move {
        let body = http_get(address, "/consolidation");
        serde_json::from_str::<serde_json::Value>(body.split("\r\n\r\n").nth(1)?).ok().filter(|v| !v.is_null())
    })
    .await;
    assert!(consolidation["cost_per_hour_before"].as_f64().unwrap() > 0.0, "{consolidation}");
    // Nothing was written: no NodeClaim, no Event from the controller, no status.
    let claims: Api<DynamicObject> = Api::all_with(admin.clone(), &karpenter_resource("NodeClaim"));
    assert!(claims.list(&ListParams::default()).await.unwrap().items.is_empty());
    let events = env.kubectl_ok(&["get", "events", "-A", "-o", "jsonpath={.items[*].reportingComponent}"]);
    assert!(!events.contains("fleetfit"), "events: {events}");
    let pools: Api<DynamicObject> = Api::all_with(admin, &karpenter_resource("NodePool"));
    assert!(pools.get("web").await.unwrap().data.get("status").is_none_or(|s| s.get("conditions").is_none()));
    let _ = stop.send(());
    controller.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_server_going_away_loses_nothing_and_launches_nothing_twice() {
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("info,kube=warn").try_init();
    let env = TestEnv::builder("provision-restart").moto(false).start();
    let client = env.client().await;
    env.apply_karpenter_crds();
    env.apply_yaml(&nodepools());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = Config {
        region: REGION.into(),
        batch: BatchWindow { idle: Duration::from_secs(2), max: Duration::from_secs(10) },
        http: "127.0.0.1:0".parse().unwrap(),
        resync: Duration::from_secs(2),
        // Provisioning alone: no consolidation while the launches are checked.
        disruption: DisruptionConfig { interval: Duration::from_secs(3600), ..Default::default() },
        ..Config::default()
    };
    let controller = tokio::spawn(run(client.clone(), Kwok::new(client.clone()), config, None, async {
        let _ = stopped.await;
    }));
    // The pods arrive, and while their batch is open the API server goes away for 5 s.
    env.apply_yaml(&workloads(15));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = Instant::now();
    tokio::task::block_in_place(|| env.restart_apiserver(Duration::from_secs(5)));
    println!("the API server was away {:.1}s", started.elapsed().as_secs_f64());
    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    eventually("all 50 pods Running after the restart", Duration::from_secs(180), || all_running(&pods, 50)).await;

    // Nothing twice: every claim has its node, and no more claims than the plan for all pods.
    let claims: Api<DynamicObject> = Api::all_with(client.clone(), &karpenter_resource("NodeClaim"));
    let claims = claims.list(&ListParams::default()).await.unwrap().items;
    let nodes: Api<Node> = Api::all(client.clone());
    let nodes = nodes.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(claims.len(), nodes.len(), "one node per NodeClaim");
    for c in &claims {
        let value = serde_json::to_value(c).unwrap();
        let node = value["status"]["nodeName"].as_str().unwrap_or_default();
        assert!(nodes.iter().any(|n| n.metadata.name.as_deref() == Some(node)), "{value}");
    }
    // A launch made twice would leave a node without pods: every node has some. (There may be
    // more nodes than one plan for all 50 pods has: they arrived in several batches around the
    // outage, each planned on what was there.)
    let placed = pods.list(&ListParams::default()).await.unwrap().items;
    for n in &nodes {
        let name = n.metadata.name.as_deref();
        assert!(
            placed.iter().any(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == name),
            "node {name:?} runs no pod: launched for nothing"
        );
    }
    let expected: usize = planned(&format!("{}---\n{}", nodepools(), workloads(15))).values().sum();
    println!("{} NodeClaims for 50 pods (one plan for all of them: {expected})", claims.len());
    let _ = stop.send(());
    controller.await.unwrap().unwrap();
}

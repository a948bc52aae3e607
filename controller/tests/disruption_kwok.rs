//! The disruption loop and the termination controller end to end with the KWOK provider, on a
//! real control plane (kube-apiserver, kube-controller-manager, kube-scheduler): a cluster
//! scaled down consolidates to what its pods need; a PodDisruptionBudget holds a drain (the
//! Eviction API refuses, the controller asks again, never forces) until it allows it; a
//! NodePool whose template changes has its nodes replaced (drift). No pod is lost: every
//! Deployment ends with all its pods Running.

mod support;

use fleetfit_controller::cloud::Kwok;
use fleetfit_controller::disruption::DisruptionConfig;
use fleetfit_controller::run::{run, Config};
use fleetfit_controller::state::karpenter_resource;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;
use support::{deployment, eventually, TestEnv, NODECLASS};

const REGION: &str = "us-west-2";

/// A NodePool for workload `name` that consolidates at once, every node at a time.
fn nodepool(name: &str) -> String {
    format!(
        "{}  disruption:
    consolidationPolicy: WhenEmptyOrUnderutilized
    consolidateAfter: 0s
    budgets: [{{nodes: \"100%\"}}]
",
        support::nodepool(name, "on-demand")
    )
}

struct Controller {
    address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<fleetfit_controller::Result<()>>,
}

impl Controller {
    async fn start(client: &kube::Client) -> Controller {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let config = Config {
            region: REGION.into(),
            http: "127.0.0.1:0".parse().unwrap(),
            resync: Duration::from_secs(2),
            gc_interval: Duration::from_secs(2),
            gc_grace: Duration::from_secs(3),
            disruption: DisruptionConfig {
                interval: Duration::from_secs(2),
                validation: Duration::from_secs(1),
                replacement_timeout: Duration::from_secs(120),
                ..Default::default()
            },
            ..Config::default()
        };
        let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(run(client.clone(), Kwok::new(client.clone()), config, Some(bound_tx), async {
            let _ = stopped.await;
        }));
        let address = bound_rx.await.expect("the controller serves its endpoints");
        Controller { address, stop: Some(stop), task }
    }

    fn metrics(&self) -> String {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(self.address).expect("connect");
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    async fn stop(mut self) {
        let _ = self.stop.take().map(|s| s.send(()));
        self.task.await.unwrap().unwrap();
    }
}

fn start_env(name: &str) -> TestEnv {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(std::env::var("TEST_LOG").unwrap_or("info,fleetfit_controller=debug,kube=warn".into()))
        .try_init();
    let env = TestEnv::builder(name).moto(false).start();
    env.apply_karpenter_crds();
    env.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n");
    env
}

/// `Some(())` when exactly `expected` pods of `app` exist and all are Running.
async fn running(pods: &Api<Pod>, app: &str, expected: usize) -> Option<()> {
    let list = pods.list(&ListParams::default().labels(&format!("app={app}"))).await.ok()?;
    let up = list
        .items
        .iter()
        .filter(|p| {
            p.metadata.deletion_timestamp.is_none()
                && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
        })
        .count();
    (up == expected && list.items.len() == expected).then_some(())
}

async fn claim_names(claims: &Api<DynamicObject>) -> Vec<String> {
    let list = claims.list(&ListParams::default()).await.expect("listing NodeClaims");
    list.items.iter().filter_map(|c| c.metadata.name.clone()).collect()
}

/// The price per hour of the cluster's nodes, from their labels.
async fn cluster_cost(nodes: &Api<Node>, catalog: &fleetfit::Catalog) -> f64 {
    let mut cost = 0.0;
    for n in nodes.list(&ListParams::default()).await.unwrap() {
        let labels = n.metadata.labels.unwrap_or_default();
        let t = &labels["node.kubernetes.io/instance-type"];
        let zone = &labels["topology.kubernetes.io/zone"];
        let types = catalog.instance_types(&fleetfit::NodeClass::default());
        let it = types.iter().find(|i| &i.name == t).expect("a known type");
        cost += it
            .offerings
            .iter()
            .filter(|o| &o.zone == zone && o.capacity_type.as_str() == "on-demand")
            .map(|o| o.price)
            .fold(f64::INFINITY, f64::min);
    }
    cost
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scaled_down_cluster_consolidates_to_what_its_pods_need() {
    let env = start_env("disruption-consolidate");
    let client = env.client().await;
    env.apply_yaml(&[nodepool("web"), NODECLASS.to_string()].join("---\n"));
    env.apply_yaml(&deployment("web", 8, "1", "1Gi", ""));
    let controller = Controller::start(&client).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    let nodes: Api<Node> = Api::all(client.clone());
    let claims: Api<DynamicObject> = Api::all_with(client.clone(), &karpenter_resource("NodeClaim"));
    eventually("8 web pods Running", Duration::from_secs(120), || running(&pods, "web", 8)).await;
    let catalog = fleetfit::Catalog::aws(REGION).unwrap();
    let before = cluster_cost(&nodes, &catalog).await;

    // Scaled down to one pod: the cluster should end as the core's plan for that pod alone.
    env.apply_yaml(&deployment("web", 1, "1", "1Gi", ""));
    let alone = {
        let input = [nodepool("web"), NODECLASS.to_string(), deployment("web", 1, "1", "1Gi", "")].join("---\n");
        let inventory = fleetfit::manifest::parse("input.yaml", &input).unwrap();
        fleetfit::pack::plan(&inventory, &catalog, &fleetfit::plan::PlanOptions::default()).unwrap().cost_per_hour
    };
    eventually("the cluster consolidated to one node as cheap as a fresh plan", Duration::from_secs(180), || {
        let (nodes, claims, catalog) = (nodes.clone(), claims.clone(), catalog.clone());
        async move {
            let n = nodes.list(&ListParams::default()).await.ok()?.items.len();
            let c = claim_names(&claims).await.len();
            let cost = cluster_cost(&nodes, &catalog).await;
            (n == 1 && c == 1 && (cost - alone).abs() < 1e-9).then_some(())
        }
    })
    .await;
    eventually("the web pod Running", Duration::from_secs(60), || running(&pods, "web", 1)).await;
    let after = cluster_cost(&nodes, &catalog).await;
    println!("consolidation: {before:.4}/h for 8 pods, {after:.4}/h after scaling to 1 (a fresh plan: {alone:.4}/h)");
    let metrics = controller.metrics();
    assert!(metrics.contains("karpenter_voluntary_disruption_decisions_total{decision="), "{metrics}");
    assert!(metrics.contains("karpenter_nodes_terminated_total{nodepool=\"web\"}"), "{metrics}");
    assert!(metrics.contains("karpenter_nodes_drained_total{nodepool=\"web\"}"), "{metrics}");
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pdb_holds_the_drain_until_it_allows_the_eviction() {
    let env = start_env("disruption-pdb");
    let client = env.client().await;
    env.apply_yaml(&[nodepool("db"), NODECLASS.to_string()].join("---\n"));
    env.apply_yaml(&deployment("db", 1, "1", "1Gi", ""));
    env.apply_yaml(
        "apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: db, namespace: shop}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: db}}
",
    );
    let controller = Controller::start(&client).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    let nodes: Api<Node> = Api::all(client.clone());
    let claims: Api<DynamicObject> = Api::all_with(client.clone(), &karpenter_resource("NodeClaim"));
    eventually("the db pod Running", Duration::from_secs(120), || running(&pods, "db", 1)).await;
    let first = claim_names(&claims).await;
    assert_eq!(first.len(), 1);
    let pod = pods.list(&ListParams::default().labels("app=db")).await.unwrap().items.remove(0);
    let node_name = pod.spec.as_ref().unwrap().node_name.clone().unwrap();

    // Its NodeClaim deleted by hand: the node is tainted and drained, but the PDB refuses.
    claims.delete(&first[0], &DeleteParams::default()).await.unwrap();
    eventually("the eviction refused by the PDB", Duration::from_secs(60), || {
        let metrics = controller.metrics();
        async move { metrics.contains("karpenter_nodes_eviction_requests_total{code=\"429\"}").then_some(()) }
    })
    .await;
    let node = nodes.get(&node_name).await.unwrap();
    assert!(node.spec.unwrap().taints.unwrap_or_default().iter().any(|t| t.key == "karpenter.sh/disrupted"));
    tokio::time::sleep(Duration::from_secs(5)).await;
    let still = pods.list(&ListParams::default().labels("app=db")).await.unwrap();
    assert_eq!(still.items.len(), 1, "nothing forced");
    assert_eq!(still.items[0].metadata.name, pod.metadata.name, "the pod was not evicted");
    assert!(nodes.get_opt(&node_name).await.unwrap().is_some(), "the node waits for its pod");

    // A second replica elsewhere: the PDB allows one disruption, the drain finishes.
    env.apply_yaml(&deployment("db", 2, "1", "1Gi", ""));
    eventually("the old node gone", Duration::from_secs(180), || {
        let nodes = nodes.clone();
        let name = node_name.clone();
        async move { nodes.get_opt(&name).await.ok()?.is_none().then_some(()) }
    })
    .await;
    eventually("both db pods Running", Duration::from_secs(120), || running(&pods, "db", 2)).await;
    assert!(!claim_names(&claims).await.contains(&first[0]));
    let metrics = controller.metrics();
    assert!(metrics.contains("karpenter_nodes_eviction_requests_total{code=\"200\"}"), "{metrics}");
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_nodepool_template_replaces_its_nodes() {
    let env = start_env("disruption-drift");
    let client = env.client().await;
    env.apply_yaml(&[nodepool("api"), NODECLASS.to_string()].join("---\n"));
    env.apply_yaml(&deployment("api", 2, "500m", "1Gi", ""));
    let controller = Controller::start(&client).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    let nodes: Api<Node> = Api::all(client.clone());
    let claims: Api<DynamicObject> = Api::all_with(client.clone(), &karpenter_resource("NodeClaim"));
    eventually("2 api pods Running", Duration::from_secs(120), || running(&pods, "api", 2)).await;
    let old = claim_names(&claims).await;
    let pools: Api<DynamicObject> = Api::all_with(client.clone(), &karpenter_resource("NodePool"));
    eventually("the NodePool's hash written", Duration::from_secs(30), || {
        let pools = pools.clone();
        async move {
            let p = pools.get("api").await.ok()?;
            p.metadata.annotations?.contains_key("karpenter.sh/nodepool-hash").then_some(())
        }
    })
    .await;

    let patch = json!({"spec": {"template": {"metadata": {"labels": {"tier": "v2"}}}}});
    pools.patch("api", &PatchParams::default(), &Patch::Merge(patch)).await.unwrap();
    eventually("every node replaced by one with the new label", Duration::from_secs(240), || {
        let (nodes, claims, old) = (nodes.clone(), claims.clone(), old.clone());
        async move {
            let names = claim_names(&claims).await;
            if names.iter().any(|n| old.contains(n)) {
                return None;
            }
            let list = nodes.list(&ListParams::default()).await.ok()?;
            let all_new = !list.items.is_empty()
                && list
                    .items
                    .iter()
                    .all(|n| n.metadata.labels.as_ref().and_then(|l| l.get("tier")).map(String::as_str) == Some("v2"));
            all_new.then_some(())
        }
    })
    .await;
    eventually("2 api pods Running", Duration::from_secs(120), || running(&pods, "api", 2)).await;
    let metrics = controller.metrics();
    assert!(metrics.contains("reason=\"Drifted\""), "{metrics}");
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_collection_terminates_instances_no_nodeclaim_knows_and_nothing_else() {
    let env = start_env("disruption-gc");
    let client = env.client().await;
    env.apply_yaml(&[nodepool("web"), NODECLASS.to_string()].join("---\n"));
    let node = |name: &str, labels: &str, provider_id: &str| {
        format!(
            "apiVersion: v1
kind: Node
metadata: {{name: {name}, labels: {{{labels}}}, annotations: {{kwok.x-k8s.io/node: fake}}}}
spec: {{providerID: \"{provider_id}\"}}
"
        )
    };
    // Launched for this cluster by a NodeClaim that is gone; a KWOK node no NodePool made; a
    // node of another provider.
    env.apply_yaml(&node("orphan", "karpenter.sh/nodepool: web", "kwok://orphan"));
    env.apply_yaml(&node("someone-else", "team: data", "kwok://someone-else"));
    env.apply_yaml(&node("on-ec2", "karpenter.sh/nodepool: web", "aws:///us-west-2a/i-0123456789abcdef0"));
    let controller = Controller::start(&client).await;
    let nodes: Api<Node> = Api::all(client.clone());
    eventually("the orphan terminated", Duration::from_secs(60), || {
        let nodes = nodes.clone();
        async move { nodes.get_opt("orphan").await.ok()?.is_none().then_some(()) }
    })
    .await;
    // Nothing else touched, a few passes later.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(nodes.get_opt("someone-else").await.unwrap().is_some());
    assert!(nodes.get_opt("on-ec2").await.unwrap().is_some());
    let metrics = controller.metrics();
    assert!(metrics.contains("fleetfit_garbage_collected_total{kind=\"instance\"} 1"), "{metrics}");
    controller.stop().await;
}

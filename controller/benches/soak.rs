//! A compressed day with the controller in charge (a benchmark that prints, not a timed test):
//! the core's trace generator makes a diurnal day for two Deployments (peak at 15:00, 30% at
//! 03:00) plus a nightly batch (01:00 to 03:00), peaking above 200 nodes of size `large`; the
//! bench replays it on a real control plane with KWOK, an hour of the trace every
//! `SOAK_HOUR_SECS` real seconds (30 by default: the day in 12 minutes), while the controller
//! provisions, consolidates and drains. It prints the day's cost, launches, terminations,
//! evictions and pod-pending time, measured on the cluster, beside the core's `simulate` of the
//! same trace with the controller's timings scaled the same way.
//!
//!     cargo bench -p fleetfit-controller --bench soak
//!     SOAK_HOUR_SECS=10 cargo bench -p fleetfit-controller --bench soak    # a quicker day
//!
//! Needs the test cluster's binaries (`scripts/kube-test-env build`).

#[path = "../tests/support/mod.rs"]
mod support;

use fleetfit::model::ObjectRef;
use fleetfit::simulate::{Action, Event, SimulateOptions, Trace};
use fleetfit::time::{Duration as TraceDuration, Timestamp};
use fleetfit_controller::cloud::Kwok;
use fleetfit_controller::disruption::DisruptionConfig;
use fleetfit_controller::run::{run, Config};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::TestEnv;

const REGION: &str = "us-west-2";

/// Peak replicas: web 500 × 500m, api 300 × 1 CPU, batch 200 × 1 CPU at night.
const MANIFESTS: &str = "apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: general}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}
        - {key: kubernetes.io/arch, operator: In, values: [amd64]}
        - {key: karpenter.k8s.aws/instance-size, operator: In, values: [large]}
        - {key: karpenter.k8s.aws/instance-category, operator: In, values: [c, m, r]}
  disruption:
    consolidationPolicy: WhenEmptyOrUnderutilized
    consolidateAfter: 0s
---
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata: {name: default}
spec:
  role: KarpenterNodeRole-soak
  amiSelectorTerms: [{alias: al2023@latest}]
  subnetSelectorTerms: [{tags: {karpenter.sh/discovery: soak}}]
  securityGroupSelectorTerms: [{tags: {karpenter.sh/discovery: soak}}]
---
apiVersion: v1
kind: Namespace
metadata: {name: soak}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: soak}
spec:
  replicas: 500
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: registry.example.com/web:1, resources: {requests: {cpu: 500m, memory: 1Gi}}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: soak}
spec:
  replicas: 300
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: app, image: registry.example.com/api:1, resources: {requests: {cpu: '1', memory: 2Gi}}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: batch, namespace: soak}
spec:
  replicas: 200
  selector: {matchLabels: {app: batch}}
  template:
    metadata: {labels: {app: batch}}
    spec:
      containers: [{name: app, image: registry.example.com/batch:1, resources: {requests: {cpu: '1', memory: 1Gi}}}]
";

/// The day: web and api diurnal; batch at its peak from 01:00 to 03:00, else none.
fn trace(inventory: &fleetfit::Inventory) -> Trace {
    let start: Timestamp = "2026-12-01T00:00:00Z".parse().expect("a time");
    let day: Vec<_> = inventory.workloads.iter().filter(|w| w.reference.name != "batch").cloned().collect();
    let mut trace = fleetfit::simulate::trace::Trace::generate(
        fleetfit::simulate::trace::Shape::Diurnal,
        &day,
        start,
        1,
        TraceDuration::from_secs(60),
    )
    .expect("a day");
    let batch = ObjectRef { kind: "Deployment".into(), namespace: "soak".into(), name: "batch".into() };
    for (hour, replicas) in [(0, 0), (1, 200), (3, 0)] {
        trace.events.push(Event {
            at: TraceDuration::from_secs(hour * 3600),
            action: Action::Scale { workload: batch.clone(), replicas },
        });
    }
    trace.events.sort_by_key(|e| e.at);
    trace
}

/// The controller's figures from its `/metrics`: the sum of a counter over its labels.
fn counter(metrics: &str, name: &str, filter: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(name) && l.contains(filter))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn http_get(address: std::net::SocketAddr, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(address) else { return String::new() };
    let _ = s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .try_init();
    let hour_secs: f64 = std::env::var("SOAK_HOUR_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(30.0);
    // Trace seconds per real second.
    let speed = 3600.0 / hour_secs;
    let inventory = fleetfit::manifest::parse("soak.yaml", MANIFESTS).expect("the soak's manifests");
    let catalog = fleetfit::Catalog::aws(REGION).expect("the catalog");
    let trace = trace(&inventory);

    // The controller's waits, and the same waits in trace time for the simulation.
    let disruption = DisruptionConfig {
        interval: Duration::from_secs(2),
        validation: Duration::from_secs(1),
        replacement_timeout: Duration::from_secs(120),
        ..Default::default()
    };
    let real_to_trace = |d: Duration| TraceDuration::from_secs((d.as_secs_f64() * speed).round() as i64);
    let options = SimulateOptions {
        consolidation_interval: real_to_trace(disruption.interval + disruption.validation),
        // KWOK nodes are Ready about two seconds after their claim is created.
        startup: real_to_trace(Duration::from_secs(2)),
        ..SimulateOptions::default()
    };
    let simulated =
        fleetfit::simulate::simulate(&inventory, &catalog, &trace, &options, &mut |_, _| {}).expect("the simulation");

    let env = TestEnv::builder("soak").moto(false).start();
    let client = env.client().await;
    env.apply_karpenter_crds();
    // Every Deployment starts empty: the trace's first events set the replicas.
    env.apply_yaml(
        &MANIFESTS
            .replace("replicas: 500", "replicas: 0")
            .replace("replicas: 300", "replicas: 0")
            .replace("replicas: 200", "replicas: 0"),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = Config {
        region: REGION.into(),
        http: "127.0.0.1:0".parse().expect("an address"),
        resync: Duration::from_secs(5),
        disruption,
        ..Config::default()
    };
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let controller = tokio::spawn(run(client.clone(), Kwok::new(client.clone()), config, Some(bound_tx), async {
        let _ = stopped.await;
    }));
    let address = bound_rx.await.expect("the controller's endpoints");

    // The replay: each event at its compressed time, sampled every second meanwhile.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "soak");
    let nodes: Api<Node> = Api::all(client.clone());
    let pods: Api<Pod> = Api::namespaced(client.clone(), "soak");
    let types: BTreeMap<String, f64> = catalog
        .instance_types(&fleetfit::NodeClass::default())
        .iter()
        .filter_map(|t| {
            let price = t
                .offerings
                .iter()
                .filter(|o| o.capacity_type.as_str() == "on-demand")
                .map(|o| o.price)
                .reduce(f64::min)?;
            Some((t.name.clone(), price))
        })
        .collect();
    let started = Instant::now();
    let end = Duration::from_secs_f64(trace.duration.secs() as f64 / speed);
    let mut events = trace.events.iter().peekable();
    let (mut cost, mut pending_seconds, mut max_nodes, mut max_cost) = (0.0, 0.0, 0usize, 0.0f64);
    let mut last = Instant::now();
    println!("the day in {:.0} s (an hour every {hour_secs} s)", end.as_secs_f64());
    while started.elapsed() < end {
        let now = started.elapsed();
        while let Some(e) = events.peek() {
            if Duration::from_secs_f64(e.at.secs() as f64 / speed) > now {
                break;
            }
            if let Action::Scale { workload, replicas } = &e.action {
                let patch = serde_json::json!({"spec": {"replicas": replicas}});
                if let Err(e) = deployments.patch(&workload.name, &PatchParams::default(), &Patch::Merge(patch)).await {
                    eprintln!("scaling {}: {e}", workload.name);
                }
            }
            events.next();
        }
        let list = nodes.list(&ListParams::default()).await.map(|l| l.items).unwrap_or_default();
        let per_hour: f64 = list
            .iter()
            .filter_map(|n| types.get(n.metadata.labels.as_ref()?.get("node.kubernetes.io/instance-type")?))
            .sum();
        let pending = pods
            .list(&ListParams::default())
            .await
            .map(|l| {
                l.items.iter().filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending")).count()
            })
            .unwrap_or(0);
        let dt = last.elapsed().as_secs_f64() * speed;
        last = Instant::now();
        cost += per_hour * dt / 3600.0;
        pending_seconds += pending as f64 * dt;
        max_nodes = max_nodes.max(list.len());
        max_cost = max_cost.max(per_hour);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let metrics = http_get(address, "/metrics");
    let launches = counter(&metrics, "karpenter_nodeclaims_created_total", "");
    let terminations = counter(&metrics, "karpenter_nodes_terminated_total", "");
    let evictions = counter(&metrics, "karpenter_nodes_eviction_requests_total", "code=\"200\"");
    let t = &simulated.totals;
    println!("{:<28} {:>12} {:>12}", "", "controller", "simulate");
    println!("{:<28} {:>12.2} {:>12.2}", "cost over the day ($)", cost, t.cost);
    println!("{:<28} {:>12.2} {:>12.2}", "highest cost per hour ($)", max_cost, t.max_cost_per_hour);
    println!("{:<28} {:>12} {:>12}", "most nodes", max_nodes, t.max_nodes);
    println!("{:<28} {:>12} {:>12}", "launches", launches, t.launches);
    println!("{:<28} {:>12} {:>12}", "terminations", terminations, t.terminations);
    println!("{:<28} {:>12} {:>12}", "evictions", evictions, t.evictions);
    println!("{:<28} {:>12.0} {:>12.0}", "pod-pending seconds", pending_seconds, t.pending_pod_seconds);
    let _ = stop.send(());
    let _ = controller.await;
}

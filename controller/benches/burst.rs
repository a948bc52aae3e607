//! The controller's figures on a real control plane with KWOK (a benchmark that prints, not a
//! timed test): for a burst of N pending pods (Deployments of four sizes), the time from the
//! Deployments' creation to every NodeClaim created, and to every pod Running; the
//! controller's CPU time and the process's peak memory.
//!
//!     cargo bench -p fleetfit-controller --bench burst              # 500 and 1,000 pods
//!     BURST_PODS=500,1000,5000 cargo bench -p fleetfit-controller --bench burst
//!
//! Needs the test cluster's binaries (`scripts/kube-test-env build`). Every size gets a fresh
//! control plane. CPU time is the whole bench process's (the controller runs in it; the API
//! server, scheduler and KWOK are other processes), measured from before the burst.

#[path = "../tests/support/mod.rs"]
mod support;

use fleetfit_controller::cloud::Kwok;
use fleetfit_controller::disruption::DisruptionConfig;
use fleetfit_controller::provision::BatchWindow;
use fleetfit_controller::run::{run, Config};
use fleetfit_controller::state::karpenter_resource;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject, ListParams};
use std::time::{Duration, Instant};
use support::TestEnv;

const NODEPOOL: &str = "apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: general}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}
        - {key: kubernetes.io/arch, operator: In, values: [amd64]}
  limits: {cpu: \"100000\"}
---
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata: {name: default}
spec:
  role: KarpenterNodeRole-bench
  amiSelectorTerms: [{alias: al2023@latest}]
  subnetSelectorTerms: [{tags: {karpenter.sh/discovery: bench}}]
  securityGroupSelectorTerms: [{tags: {karpenter.sh/discovery: bench}}]
";

/// Deployments of four sizes, 50 replicas each, `pods` in all.
fn burst(pods: usize) -> String {
    let sizes = [("250m", "512Mi"), ("500m", "1Gi"), ("1", "2Gi"), ("2", "4Gi")];
    let mut docs = vec!["apiVersion: v1\nkind: Namespace\nmetadata: {name: burst}\n".to_string()];
    for i in 0..pods.div_ceil(50) {
        let (cpu, memory) = sizes[i % sizes.len()];
        let replicas = 50.min(pods - i * 50);
        docs.push(format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app-{i}, namespace: burst}}\nspec:\n  replicas: {replicas}\n  \
             selector: {{matchLabels: {{app: app-{i}}}}}\n  template:\n    metadata: {{labels: {{app: app-{i}}}}}\n    spec:\n      \
             containers: [{{name: app, image: registry.example.com/app:1, resources: {{requests: {{cpu: \"{cpu}\", memory: {memory}}}}}}}]\n"
        ));
    }
    docs.join("---\n")
}

/// (user + system CPU seconds of this process, its peak resident memory in MiB).
fn usage() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the whole line (11 and 12 after the name).
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak_kib = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .unwrap_or(0.0);
    (cpu, peak_kib / 1024.0)
}

async fn measure(pods: usize) {
    let env = TestEnv::builder(&format!("burst-{pods}")).moto(false).start();
    let client = env.client().await;
    env.apply_karpenter_crds();
    env.apply_yaml(NODEPOOL);

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = Config {
        region: "us-west-2".into(),
        batch: BatchWindow::default(),
        http: "127.0.0.1:0".parse().expect("an address"),
        resync: Duration::from_secs(5),
        // Provisioning alone: no consolidation while the launches are checked.
        disruption: DisruptionConfig { interval: Duration::from_secs(3600), ..Default::default() },
        ..Config::default()
    };
    let controller = tokio::spawn(run(client.clone(), Kwok::new(client.clone()), config, None, async {
        let _ = stopped.await;
    }));
    let (cpu_before, _) = usage();
    let started = Instant::now();
    let start_wall = k8s_openapi::jiff::Timestamp::now();
    env.apply_yaml(&burst(pods));
    let pods_api: Api<Pod> = Api::namespaced(client.clone(), "burst");
    let claims: Api<DynamicObject> = Api::all_with(client.clone(), &karpenter_resource("NodeClaim"));
    // The NodeClaims are all created when their count reaches the count it ends with.
    let (mut last_count, mut last_change, mut running_done) = (0usize, None, None);
    let deadline = Instant::now() + Duration::from_secs(900);
    while running_done.is_none() && Instant::now() < deadline {
        // Once a second: the bench's own listing is CPU time of this process too.
        tokio::time::sleep(Duration::from_secs(1)).await;
        if let Ok(list) = claims.list(&ListParams::default()).await {
            if list.items.len() != last_count {
                last_count = list.items.len();
                last_change = Some(started.elapsed());
            }
        }
        let Ok(list) = pods_api.list(&ListParams::default()).await else { continue };
        let running =
            list.items.iter().filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")).count();
        if running == pods {
            running_done = Some(started.elapsed());
        }
    }
    let claims_done = last_change;
    // When kube-controller-manager had made the last pod (the controller cannot place a pod
    // before it exists), and when kube-scheduler bound the last one.
    let pod_list = pods_api.list(&ListParams::default()).await.map(|l| l.items).unwrap_or_default();
    let since_start = |t: Option<&k8s_openapi::jiff::Timestamp>| {
        t.map(|t| (t.as_millisecond() - start_wall.as_millisecond()) as f64 / 1000.0)
    };
    let created = pod_list
        .iter()
        .filter_map(|p| since_start(p.metadata.creation_timestamp.as_ref().map(|t| &t.0)))
        .fold(0.0, f64::max);
    let bound = pod_list
        .iter()
        .filter_map(|p| {
            let c = p.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "PodScheduled")?;
            since_start(c.last_transition_time.as_ref().map(|t| &t.0))
        })
        .fold(0.0, f64::max);
    let (cpu_after, peak) = usage();
    let nodeclaims = claims.list(&ListParams::default()).await.map(|l| l.items.len()).unwrap_or(0);
    let show =
        |d: Option<Duration>| d.map_or("not reached in 15 min".to_string(), |d| format!("{:.1} s", d.as_secs_f64()));
    println!(
        "{pods:>6} pods: last pod created {created:.1} s, last bound {bound:.1} s; NodeClaims created {:>8}, all Running {:>8}; {nodeclaims} NodeClaims; controller CPU {:.1} s; peak memory {:.0} MiB",
        show(claims_done),
        show(running_done),
        cpu_after - cpu_before,
        peak
    );
    let _ = stop.send(());
    let _ = controller.await;
}

fn main() {
    let sizes: Vec<usize> = std::env::var("BURST_PODS")
        .unwrap_or_else(|_| "500,1000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    // RUST_LOG=fleetfit_controller=debug shows the controller's passes.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    println!("fleetfit-controller on kube-apiserver + kube-scheduler + KWOK (127.0.0.1), kwok provider, one NodePool");
    for pods in sizes {
        runtime.block_on(measure(pods));
    }
}

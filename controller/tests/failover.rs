//! Failover on a real control plane: two replicas of the `fleetfit-controller` binary (real
//! processes, `--provider aws` against moto, leader election through a Lease with short
//! timings), and 20 runs that `kill -9` the leader at random moments of three kinds:
//!
//! - **batching**: right after new pending pods appear, before or while their batch closes;
//! - **launch**: between `CreateFleet` and the NodeClaim's status write — a tap in front of the
//!   EC2 endpoint holds the answer of the fleet (the instance exists, the leader does not know
//!   it yet) until the leader is dead;
//! - **drain**: a NodeClaim with pods is deleted, and the leader is killed once its node is
//!   tainted `karpenter.sh/disrupted` and being drained.
//!
//! After each kill a new replica is started so that two run again; one of them takes the Lease
//! over (the survivor, unless the new one's first look at the Lease came before the survivor's
//! look at the dead leader's last renewal: expiry is counted from when a candidate saw it) and
//! must finish the work: every Deployment's pods Running, every NodeClaim Initialized, nothing
//! left being deleted. Moto's instances have no kubelet: the joiner
//! ([`support::joiner`]) creates a KWOK Node for each running instance and deletes the Node of
//! a terminated one. One run also plants an instance tagged for a NodeClaim that does not
//! exist, for garbage collection to find. At the end, after a settle period longer than garbage
//! collection's grace: no instance without a NodeClaim (leaked), no NodeClaim with two
//! instances (duplicate), no Deployment short of Running pods (lost), no pod that never ran.
//! A table of the runs is printed: the kind of kill, its moment, what it interrupted, the
//! time from the kill to another replica holding the Lease, to every pod Running, and to
//! everything settled.
//!
//! `FAILOVER_SEED=<n>` replays a run's random choices (the seed is printed).
#![cfg(feature = "aws")]

mod support;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::ec2_faults::Ec2Faults;
use support::joiner::{self, Joiner, Tap};
use support::{deployment, TestEnv};

const REGION: &str = "us-west-2";
const CLUSTER: &str = "test";
const ZONES: [&str; 3] = ["us-west-2a", "us-west-2b", "us-west-2c"];
const NAMESPACE: &str = "shop";
const LEASE: &str = "fleetfit-failover";
const LEASE_NAMESPACE: &str = "default";
const RUNS: usize = 20;
/// Garbage collection's grace (`--gc-grace`) and interval (`--gc-interval`).
const GC_GRACE: Duration = Duration::from_secs(5);
const GC_INTERVAL: Duration = Duration::from_secs(2);
/// How long a run may take to finish its work before the test gives up on it. More than
/// Kubernetes' disruption controller may hold a PodDisruptionBudget shut on its own: when an
/// evicted pod vanishes at once (KWOK deletes it the moment it is marked) before the
/// controller's sync sees it gone, the pod stays in the budget's `disruptedPods` until that
/// entry's 2-minute `DeletionTimeout`, and every eviction the budget guards is refused
/// meanwhile (seen: a drain refused 429 for 125 s while every web pod was Ready).
const RUN_TIMEOUT: Duration = Duration::from_secs(240);

/// splitmix64: a small seeded generator, so that a run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.next() as usize % items.len()]
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.next() as usize % (i + 1));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The replicas: real processes of the binary.

struct Replica {
    name: String,
    child: Child,
    metrics_port: u16,
    log: PathBuf,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Replica {
    fn start(binary: &Path, env: &TestEnv, name: &str, ec2_endpoint: &str, logs: &Path) -> Replica {
        let metrics_port = free_port();
        let log = logs.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let err = file.try_clone().unwrap();
        let child = Command::new(binary)
            .args(["--provider", "aws", "--cluster-name", CLUSTER, "--region", REGION])
            .args(["--cluster-endpoint", &format!("https://127.0.0.1:{}", env.api_port)])
            .args(["--cluster-ca-bundle", "Q0E=", "--cluster-cidr", "10.100.0.0/16"])
            .args(["--leader-elect=true", "--lease-name", LEASE, "--lease-namespace", LEASE_NAMESPACE])
            .args(["--lease-duration", "3s", "--lease-renew-deadline", "2s", "--lease-retry-period", "500ms"])
            .args(["--gc-interval", "2s", "--gc-grace", "5s", "--disruption-validation", "1s"])
            .args(["--metrics-address", &format!("127.0.0.1:{metrics_port}")])
            .env("KUBECONFIG", &env.kubeconfig)
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env("POD_NAME", name)
            .env("AWS_ENDPOINT_URL", ec2_endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .env("AWS_CONFIG_FILE", logs.join("aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", logs.join("aws-config"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info,fleetfit_controller=debug,kube=warn,aws_config=warn,aws_smithy_runtime=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("the controller binary starts");
        Replica { name: name.to_string(), child, metrics_port, log }
    }

    /// `kill -9`, and reaped.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// `/readyz` answers 200: its caches are synced.
    fn ready(&self) -> bool {
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.metrics_port)) else { return false };
        let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
        if s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n").is_err() {
            return false;
        }
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer.starts_with("HTTP/1.1 200")
    }

    fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// Two replicas at a time; each one started gets a new name.
struct Replicas<'a> {
    env: &'a TestEnv,
    /// The test's own copy of the binary.
    binary: PathBuf,
    endpoint: String,
    logs: PathBuf,
    live: Vec<Replica>,
    started: usize,
    /// Replicas that ended without being killed by the test: (name, status, last log lines).
    unplanned: Vec<(String, String, String)>,
    /// Every log, for the counts at the end.
    all_logs: Vec<PathBuf>,
}

impl<'a> Replicas<'a> {
    fn start_one(&mut self) -> String {
        self.started += 1;
        let name = format!("replica-{}", self.started);
        let replica = Replica::start(&self.binary, self.env, &name, &self.endpoint, &self.logs);
        self.all_logs.push(replica.log.clone());
        self.live.push(replica);
        name
    }

    /// Replaces replicas that ended on their own (noted), so that two run.
    fn keep_two(&mut self) {
        let mut i = 0;
        while i < self.live.len() {
            if let Some(status) = self.live[i].exited() {
                let r = self.live.remove(i);
                eprintln!("!! {} ended on its own ({status}):\n{}", r.name, r.log_tail(20));
                self.unplanned.push((r.name.clone(), status.to_string(), r.log_tail(20)));
                if self.unplanned.len() > 5 {
                    self.fail(format!("{} replicas ended on their own: {:?}", self.unplanned.len(), self.unplanned));
                }
            } else {
                i += 1;
            }
        }
        while self.live.len() < 2 {
            self.start_one();
        }
    }

    fn names(&self) -> Vec<String> {
        self.live.iter().map(|r| r.name.clone()).collect()
    }

    fn kill(&mut self, name: &str) {
        let at = self.live.iter().position(|r| r.name == name).unwrap_or_else(|| panic!("{name} is not running"));
        let mut r = self.live.remove(at);
        r.kill();
    }

    fn all_ready(&self) -> bool {
        self.live.iter().all(Replica::ready)
    }

    /// Fails the test with `what` and the replicas' last log lines.
    fn fail(&self, what: String) -> ! {
        panic!("{what}\n{}\ncontroller logs in {}", self.tails(40), self.logs.display());
    }

    fn tails(&self, lines: usize) -> String {
        let mut text = String::new();
        for r in &self.live {
            let _ =
                writeln!(text, "--- last {lines} lines of {} ({}):\n{}", r.name, r.log.display(), r.log_tail(lines));
        }
        text
    }
}

/// A copy of the binary that a build in the shared target directory cannot swap under the test
/// (one without the `aws` feature would refuse `--provider aws`); checked to have the provider.
fn private_binary(dir: &Path) -> PathBuf {
    let copy = dir.join("fleetfit-controller");
    std::fs::copy(env!("CARGO_BIN_EXE_fleetfit-controller"), &copy).expect("copying the controller binary");
    let out = Command::new(&copy)
        .args(["--provider", "aws", "--metrics-address", "127.0.0.1:0"])
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .expect("the controller binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--cluster-endpoint"),
        "{} was not built with the aws feature (rebuilt meanwhile in the shared target directory?): {stderr}",
        env!("CARGO_BIN_EXE_fleetfit-controller")
    );
    copy
}

// ---------------------------------------------------------------------------------------------
// What moto and the cluster hold.

/// A subnet per zone, a security group and an AMI, tagged `karpenter.sh/discovery: test` (as
/// the aws provisioning test makes them); the AMI's ID.
async fn network(ec2: &aws_sdk_ec2::Client) -> String {
    support::moto::network(ec2, &ZONES, 20).await.ami
}

/// An instance tagged for the cluster and a NodeClaim that does not exist, as a replica that
/// died between a launch and its NodeClaim would leave one: garbage collection's to terminate.
async fn orphan(ec2: &aws_sdk_ec2::Client, ami: &str) -> String {
    let tag = |k: &str, v: &str| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build();
    let tags = aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(aws_sdk_ec2::types::ResourceType::Instance)
        .tags(tag(&format!("kubernetes.io/cluster/{CLUSTER}"), "owned"))
        .tags(tag("karpenter.sh/nodepool", "web"))
        .tags(tag("karpenter.sh/nodeclaim", "web-orphan"))
        .build();
    let out = ec2
        .run_instances()
        .image_id(ami)
        .instance_type(aws_sdk_ec2::types::InstanceType::M5Large)
        .placement(aws_sdk_ec2::types::Placement::builder().availability_zone(ZONES[0]).build())
        .min_count(1)
        .max_count(1)
        .tag_specifications(tags)
        .send()
        .await
        .unwrap();
    out.instances()[0].instance_id().unwrap().to_string()
}

async fn node_role(endpoint: &str) {
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .region(aws_sdk_iam::config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_iam::config::Credentials::new("testing", "testing", None, None, "tests"))
        .http_client(fleetfit_controller::aws::http_client())
        .build();
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    aws_sdk_iam::Client::from_conf(config)
        .create_role()
        .role_name("KarpenterNodeRole-test")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
}

const NODECLASS: &str = "apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata: {name: default}
spec:
  amiFamily: AL2023
  role: KarpenterNodeRole-test
  amiSelectorTerms: [{tags: {karpenter.sh/discovery: test}}]
  subnetSelectorTerms: [{tags: {karpenter.sh/discovery: test}}]
  securityGroupSelectorTerms: [{tags: {karpenter.sh/discovery: test}}]
";

/// A NodePool for workload `name` whose empty nodes go after 5 s.
fn nodepool(name: &str, capacity_type: &str) -> String {
    format!(
        "{}  disruption:
    consolidationPolicy: WhenEmpty
    consolidateAfter: 5s
    budgets: [{{nodes: \"100%\"}}]
",
        support::nodepool(name, capacity_type)
    )
}

/// The workloads: `web` (on-demand, a PodDisruptionBudget lets one pod go at a time), `batch`
/// (spot), `big` (on-demand, one pod per node: each new pod is a new NodeClaim).
fn workload(app: &str, replicas: i32) -> String {
    let replicas = u32::try_from(replicas).unwrap();
    match app {
        "web" => deployment("web", replicas, "500m", "1Gi", ""),
        "batch" => deployment("batch", replicas, "1", "2Gi", ""),
        "big" => deployment(
            "big",
            replicas,
            "1",
            "2Gi",
            "      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - labelSelector: {matchLabels: {app: big}}
              topologyKey: kubernetes.io/hostname
",
        ),
        _ => unreachable!(),
    }
}

fn claims_api(client: &kube::Client) -> Api<DynamicObject> {
    Api::all_with(client.clone(), &fleetfit_controller::state::karpenter_resource("NodeClaim"))
}

fn condition(claim: &Value, type_: &str) -> bool {
    claim["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == type_ && c["status"] == "True"))
}

/// The cluster as the test judges it.
struct Snapshot {
    pods: Vec<Pod>,
    claims: Vec<Value>,
    nodes: Vec<Node>,
}

impl Snapshot {
    async fn read(client: &kube::Client) -> Option<Snapshot> {
        let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
        let nodes: Api<Node> = Api::all(client.clone());
        let pods = pods.list(&ListParams::default()).await.ok()?.items;
        let claims = claims_api(client).list(&ListParams::default()).await.ok()?.items;
        let claims = claims.iter().filter_map(|c| serde_json::to_value(c).ok()).collect();
        let nodes = nodes.list(&ListParams::default()).await.ok()?.items;
        Some(Snapshot { pods, claims, nodes })
    }

    /// Running pods of `app` (not being deleted), and all its pods not being deleted.
    fn running(&self, app: &str) -> (usize, usize) {
        let mine = self.pods.iter().filter(|p| {
            p.metadata.deletion_timestamp.is_none()
                && p.metadata.labels.as_ref().and_then(|l| l.get("app")).map(String::as_str) == Some(app)
        });
        let (mut running, mut all) = (0, 0);
        for p in mine {
            all += 1;
            running += usize::from(p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"));
        }
        (running, all)
    }

    fn all_running(&self, replicas: &BTreeMap<&str, i32>) -> bool {
        replicas.iter().all(|(app, n)| {
            let (running, all) = self.running(app);
            running == *n as usize && all == *n as usize
        })
    }

    /// What keeps the cluster from being settled (empty when it is).
    fn unsettled(&self, replicas: &BTreeMap<&str, i32>) -> Vec<String> {
        let mut why = Vec::new();
        for (app, n) in replicas {
            let (running, all) = self.running(app);
            if running != *n as usize || all != *n as usize {
                why.push(format!("{app}: {running} Running of {all} pods, {n} wanted"));
            }
        }
        for c in &self.claims {
            let name = c["metadata"]["name"].as_str().unwrap_or_default();
            if !c["metadata"]["deletionTimestamp"].is_null() {
                why.push(format!("NodeClaim {name} being deleted"));
            } else if !condition(c, "Initialized") {
                why.push(format!("NodeClaim {name} not Initialized"));
            }
        }
        for n in self.nodes.iter().filter(|n| n.metadata.deletion_timestamp.is_some()) {
            let name = n.metadata.name.as_deref().unwrap_or_default();
            // What its drain may wait for: the pods still bound to it.
            let on_it: Vec<String> = self
                .pods
                .iter()
                .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(name))
                .map(|p| {
                    let phase = p.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("?");
                    let deleting = if p.metadata.deletion_timestamp.is_some() { ", being deleted" } else { "" };
                    format!("{} ({phase}{deleting})", p.metadata.name.as_deref().unwrap_or_default())
                })
                .collect();
            why.push(format!("Node {name} being deleted, pods on it: {on_it:?}"));
        }
        why
    }
}

async fn holder(client: &kube::Client) -> Option<String> {
    let lease = Api::<Lease>::namespaced(client.clone(), LEASE_NAMESPACE).get_opt(LEASE).await.ok()??;
    lease.spec?.holder_identity.filter(|h| !h.is_empty())
}

async fn scale(client: &kube::Client, app: &str, replicas: i32) {
    let api: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
    let patch = json!({"spec": {"replicas": replicas}});
    api.patch(app, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .unwrap_or_else(|e| panic!("scaling {app}: {e}"));
}

/// Every pod of the namespace seen, by UID: whether it ever ran.
#[derive(Debug, Clone)]
struct PodSeen {
    name: String,
    node: Option<String>,
    ran: bool,
    deleted: bool,
}

fn track_pods(client: &kube::Client) -> (Arc<Mutex<BTreeMap<String, PodSeen>>>, tokio::task::JoinHandle<()>) {
    use futures::StreamExt;
    use kube::runtime::watcher;
    let seen: Arc<Mutex<BTreeMap<String, PodSeen>>> = Arc::default();
    let shared = seen.clone();
    let api: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let task = tokio::spawn(async move {
        let mut stream = watcher(api, watcher::Config::default()).boxed();
        while let Some(event) = stream.next().await {
            let (pod, deleted) = match event {
                Ok(watcher::Event::Apply(p) | watcher::Event::InitApply(p)) => (p, false),
                Ok(watcher::Event::Delete(p)) => (p, true),
                _ => continue,
            };
            let Some(uid) = pod.metadata.uid.clone() else { continue };
            let mut seen = shared.lock().unwrap();
            let entry = seen.entry(uid).or_insert_with(|| PodSeen {
                name: pod.metadata.name.clone().unwrap_or_default(),
                node: None,
                ran: false,
                deleted: false,
            });
            entry.ran |= pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
            entry.node = pod.spec.as_ref().and_then(|s| s.node_name.clone()).or(entry.node.take());
            entry.deleted |= deleted;
        }
    });
    (seen, task)
}

// ---------------------------------------------------------------------------------------------
// The runs.

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Batching,
    Launch,
    Drain,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Batching => "batching",
            Kind::Launch => "launch",
            Kind::Drain => "drain",
        }
    }
}

struct Row {
    run: usize,
    kind: Kind,
    moment: String,
    killed: String,
    leader: String,
    takeover: Duration,
    running: Duration,
    settled: Duration,
    note: String,
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_leader_kills_leak_nothing_double_nothing_and_lose_no_pod() {
    let started = Instant::now();
    let seed = std::env::var("FAILOVER_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    println!("failover: seed {seed} (FAILOVER_SEED={seed} replays its choices)");
    let mut rng = Rng(seed);

    let env = TestEnv::start("failover");
    let client = env.client().await;
    let moto_endpoint = env.ec2_endpoint.clone().unwrap();
    let moto = joiner::ec2(&moto_endpoint, REGION);
    let ami = network(&moto).await;
    node_role(&moto_endpoint).await;
    // The controllers → the tap (holds a CreateFleet's answer) → the fault proxy → moto.
    let faults = Ec2Faults::start(env.require_moto()).await;
    let tap = Tap::start(&faults.endpoint).await;
    env.apply_karpenter_crds();
    env.apply_yaml(
        &[nodepool("web", "on-demand"), nodepool("batch", "spot"), nodepool("big", "on-demand"), NODECLASS.into()]
            .join("---\n"),
    );
    let mut replicas: BTreeMap<&str, i32> = BTreeMap::from([("web", 6), ("batch", 4), ("big", 2)]);
    env.apply_yaml(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {NAMESPACE}}}\n---\n{}---\n{}---\n{}---\n{}",
        workload("web", replicas["web"]),
        workload("batch", replicas["batch"]),
        workload("big", replicas["big"]),
        "apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: shop}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: web}}
"
    ));
    let (pods_seen, pod_tracker) = track_pods(&client);
    let joiner = Joiner::start(moto.clone(), client.clone(), CLUSTER, REGION);

    let logs = env.run_dir.join("controllers");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(logs.join("aws-config"), "").unwrap();
    let binary = private_binary(&env.run_dir);
    let mut fleet = Replicas {
        env: &env,
        binary,
        endpoint: tap.endpoint.clone(),
        logs: logs.clone(),
        live: Vec::new(),
        started: 0,
        unplanned: Vec::new(),
        all_logs: Vec::new(),
    };
    fleet.keep_two();

    // The workload comes up first.
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if let Some(s) = Snapshot::read(&client).await {
            if s.unsettled(&replicas).is_empty() {
                break;
            }
            if Instant::now() > deadline {
                fleet.fail(format!("the workload did not come up: {:?}", s.unsettled(&replicas)));
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    println!("failover: the workload is up after {} (nodes launched through moto)", secs(started.elapsed()));

    let mut kinds: Vec<Kind> = (0..RUNS).map(|i| [Kind::Batching, Kind::Launch, Kind::Drain][i % 3]).collect();
    rng.shuffle(&mut kinds);
    // One run also finds an instance no NodeClaim knows.
    let orphan_run = rng.between(0, RUNS as u64 - 1) as usize;
    let mut orphaned = None;
    let mut rows: Vec<Row> = Vec::new();
    let nodes_api: Api<Node> = Api::all(client.clone());

    for (run, kind) in kinds.iter().copied().enumerate() {
        // Two replicas, both synced, one leading.
        fleet.keep_two();
        let deadline = Instant::now() + Duration::from_secs(60);
        let leader = loop {
            let names = fleet.names();
            if fleet.all_ready() {
                if let Some(h) = holder(&client).await.filter(|h| names.contains(h)) {
                    break h;
                }
            }
            if Instant::now() > deadline {
                fleet.fail(format!("run {run}: no replica of {names:?} leads, or one is not ready"));
            }
            fleet.keep_two();
            tokio::time::sleep(Duration::from_millis(100)).await;
        };

        let mut note = String::new();
        // The NodeClaims before the run: those made after are the run's.
        let before: BTreeSet<String> = Snapshot::read(&client)
            .await
            .map(|s| s.claims.iter().filter_map(|c| c["metadata"]["name"].as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        // The held launch: its NodeClaim and instances, and what lets its answer go.
        let mut held: Option<(String, Vec<String>)> = None;
        let mut release = None;
        let mut drained: Option<(String, String)> = None; // (claim, node)
        if run == orphan_run {
            orphaned = Some(orphan(&moto, &ami).await);
            note += &format!("orphan {} made; ", orphaned.as_deref().unwrap_or_default());
        }
        let moment = match kind {
            Kind::Batching => {
                let app = *rng.pick(&["web", "batch"]);
                let more = rng.between(2, 4) as i32;
                let want = replicas[app] + more;
                replicas.insert(app, want);
                scale(&client, app, want).await;
                // Right after the new pods exist (pending).
                let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
                let mine = ListParams::default().labels(&format!("app={app}"));
                let t0 = Instant::now();
                loop {
                    let n = pods
                        .list(&mine)
                        .await
                        .map_or(0, |l| l.items.iter().filter(|p| p.metadata.deletion_timestamp.is_none()).count());
                    if n >= want as usize || t0.elapsed() > Duration::from_secs(10) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let delay = rng.between(0, 1500);
                tokio::time::sleep(Duration::from_millis(delay)).await;
                format!("{delay} ms after {more} new {app} pods")
            }
            Kind::Launch => {
                let more = rng.between(1, 2) as i32;
                let want = replicas["big"] + more;
                replicas.insert("big", want);
                let armed = tap.arm();
                scale(&client, "big", want).await;
                let h = match tokio::time::timeout(Duration::from_secs(60), armed).await {
                    Ok(Ok(h)) => h,
                    _ => fleet.fail(format!("run {run}: no CreateFleet within 60 s of {more} new big pods")),
                };
                let delay = rng.between(0, 200);
                tokio::time::sleep(Duration::from_millis(delay)).await;
                let m =
                    format!("CreateFleet for {} answered ({}), held {delay} ms", h.nodeclaim, h.instances.join(","));
                held = Some((h.nodeclaim, h.instances));
                release = Some(h.release);
                m
            }
            Kind::Drain => {
                let s = Snapshot::read(&client).await.expect("the cluster");
                let candidates: Vec<(String, String)> = s
                    .claims
                    .iter()
                    .filter(|c| c["metadata"]["deletionTimestamp"].is_null() && condition(c, "Initialized"))
                    .filter_map(|c| {
                        let node = c["status"]["nodeName"].as_str()?.to_string();
                        let used = s
                            .pods
                            .iter()
                            .any(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node.as_str()));
                        used.then(|| (c["metadata"]["name"].as_str().unwrap_or_default().to_string(), node))
                    })
                    .collect();
                if candidates.is_empty() {
                    fleet.fail(format!("run {run}: no Initialized NodeClaim with pods to delete"));
                }
                // Half the time (when there is one) a node with two or more web pods: their
                // PodDisruptionBudget lets one go at a time, so the drain takes seconds.
                let web_pods = |node: &str| {
                    s.pods
                        .iter()
                        .filter(|p| {
                            p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node)
                                && p.metadata.labels.as_ref().and_then(|l| l.get("app")).map(String::as_str)
                                    == Some("web")
                        })
                        .count()
                };
                let slow: Vec<(String, String)> =
                    candidates.iter().filter(|(_, node)| web_pods(node) >= 2).cloned().collect();
                let (claim, node, long) = if !slow.is_empty() && rng.next() % 2 == 0 {
                    let (c, n) = rng.pick(&slow).clone();
                    (c, n, true)
                } else {
                    let (c, n) = rng.pick(&candidates).clone();
                    (c, n, false)
                };
                claims_api(&client).delete(&claim, &DeleteParams::default()).await.unwrap();
                let t0 = Instant::now();
                let observed = loop {
                    match nodes_api.get_opt(&node).await {
                        Ok(Some(n)) => {
                            let tainted = n
                                .spec
                                .as_ref()
                                .and_then(|s| s.taints.as_ref())
                                .is_some_and(|ts| ts.iter().any(|t| t.key == "karpenter.sh/disrupted"));
                            if tainted {
                                break true;
                            }
                        }
                        Ok(None) => break false,
                        Err(_) => {}
                    }
                    if t0.elapsed() > Duration::from_secs(30) {
                        fleet.fail(format!("run {run}: node {node} of deleted NodeClaim {claim} not tainted in 30 s"));
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                };
                let delay = match (observed, long) {
                    (false, _) => 0,
                    (true, false) => rng.between(0, 300),
                    (true, true) => rng.between(0, 1500),
                };
                tokio::time::sleep(Duration::from_millis(delay)).await;
                drained = Some((claim.clone(), node.clone()));
                if observed {
                    format!("{delay} ms after {node} ({claim}) was tainted")
                } else {
                    format!("{node} ({claim}) gone before it was seen tainted")
                }
            }
        };

        // kill -9 the leader (the holder now: it may have changed meanwhile); a new replica
        // starts at once; a held CreateFleet answer goes to the dead connection.
        let names = fleet.names();
        let leader = holder(&client).await.filter(|h| names.contains(h)).unwrap_or(leader);
        let killed_at = Instant::now();
        fleet.kill(&leader);
        if let Some(release) = release.take() {
            let _ = release.send(());
        }
        let fresh = fleet.start_one();
        // What the dead leader left behind (nothing changes it until another leads).
        let s = Snapshot::read(&client).await;
        let instances = joiner::instances(&moto, CLUSTER).await.unwrap_or_default();
        if let (Some((claim, node)), Some(s)) = (&drained, &s) {
            let on_it = s
                .pods
                .iter()
                .filter(|p| {
                    p.metadata.deletion_timestamp.is_none()
                        && p.spec.as_ref().and_then(|x| x.node_name.as_deref()) == Some(node.as_str())
                })
                .count();
            let node_left = s.nodes.iter().any(|n| n.metadata.name.as_deref() == Some(node.as_str()));
            let instance_live = instances.iter().any(|i| i.id == *node && i.live());
            note += &if on_it > 0 {
                format!("killed mid-drain: {on_it} pods still on the node")
            } else if instance_live {
                "killed mid-drain: pods gone, instance not terminated yet".to_string()
            } else if node_left || s.claims.iter().any(|c| c["metadata"]["name"] == claim.as_str()) {
                "killed mid-drain: instance terminated, finalizers not removed yet".to_string()
            } else {
                "killed after the drain ended".to_string()
            };
        } else if let Some(s) = &s {
            // The run's NodeClaims: made, with an instance in moto, with the instance recorded.
            let new: Vec<&Value> =
                s.claims.iter().filter(|c| !before.contains(c["metadata"]["name"].as_str().unwrap_or(""))).collect();
            let with_instance = new
                .iter()
                .filter(|c| {
                    instances.iter().any(|i| i.live() && i.nodeclaim.as_deref() == c["metadata"]["name"].as_str())
                })
                .count();
            let recorded = new.iter().filter(|c| c["status"]["providerID"].as_str().is_some()).count();
            note += &format!(
                "at the kill: {} new NodeClaims, {with_instance} with an instance, {recorded} recorded; ",
                new.len()
            );
        }

        // The takeover.
        let takeover;
        let new_leader;
        loop {
            if let Some(h) = holder(&client).await.filter(|h| *h != leader) {
                takeover = killed_at.elapsed();
                new_leader = h;
                break;
            }
            if killed_at.elapsed() > Duration::from_secs(30) {
                fleet.fail(format!("run {run}: no replica took the Lease over from {leader} in 30 s"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let leader_note = if new_leader == fresh { format!("{new_leader} (the new one)") } else { new_leader.clone() };

        // The work finished: pods Running, then everything settled.
        let mut running = None;
        let settled;
        loop {
            if let Some(s) = Snapshot::read(&client).await {
                if running.is_none() && s.all_running(&replicas) {
                    running = Some(killed_at.elapsed());
                }
                let why = s.unsettled(&replicas);
                if why.is_empty() {
                    settled = killed_at.elapsed();
                    break;
                }
                if killed_at.elapsed() > RUN_TIMEOUT {
                    fleet.fail(format!(
                        "run {run} ({}): not settled {RUN_TIMEOUT:?} after the kill: {why:?}",
                        kind.label()
                    ));
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        if let Some((nodeclaim, instances)) = &held {
            // The held launch's instance is the claim's: adopted, not launched again.
            let claim = claims_api(&client).get_opt(nodeclaim).await.ok().flatten();
            let provider_id = claim
                .and_then(|c| serde_json::to_value(c).ok())
                .and_then(|c| c["status"]["providerID"].as_str().map(str::to_string));
            note += &match provider_id {
                Some(p) if instances.iter().any(|i| p.ends_with(&format!("/{i}"))) => {
                    format!("{nodeclaim} adopted {}", instances.join(","))
                }
                Some(p) => format!("{nodeclaim} has {p}, NOT the held {}", instances.join(",")),
                None => format!("{nodeclaim} gone before settling"),
            };
        }
        let row = Row {
            run,
            kind,
            moment,
            killed: leader,
            leader: leader_note,
            takeover,
            running: running.unwrap_or(settled),
            settled,
            note,
        };
        println!(
            "run {:>2} {:<8} killed {:<10} after {:<55} → {} leads after {}, pods Running after {}, settled after {}; {}",
            row.run,
            row.kind.label(),
            row.killed,
            row.moment,
            row.leader,
            secs(row.takeover),
            secs(row.running),
            secs(row.settled),
            row.note
        );
        rows.push(row);
    }

    // Settle for longer than garbage collection's grace (and an interval), then count.
    let settle = GC_GRACE + GC_INTERVAL * 2 + Duration::from_secs(4);
    tokio::time::sleep(settle).await;
    fleet.keep_two();
    let s = Snapshot::read(&client).await.expect("the cluster at the end");
    let all = joiner::instances(&moto, CLUSTER).await.expect("moto's instances at the end");
    let live: Vec<&joiner::Seen> = all.iter().filter(|i| i.live()).collect();
    let claim_ids: BTreeSet<String> =
        s.claims.iter().filter_map(|c| c["status"]["providerID"].as_str().map(str::to_string)).collect();
    let claim_names: BTreeSet<String> =
        s.claims.iter().filter_map(|c| c["metadata"]["name"].as_str().map(str::to_string)).collect();
    let leaked: Vec<String> = live
        .iter()
        .filter(|i| !claim_ids.contains(&i.provider_id()))
        .filter(|i| i.nodeclaim.as_ref().is_none_or(|n| !claim_names.contains(n)))
        .map(|i| format!("{} ({:?}, tagged {:?})", i.id, i.state, i.nodeclaim))
        .collect();
    // Two live instances for one NodeClaim, as the joiner saw them every 500 ms and now; and
    // claims that were ever given more than one instance at all.
    let mut duplicates = joiner.stats().duplicates;
    let mut now_by_claim: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut ever_by_claim: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for i in &all {
        if let Some(c) = &i.nodeclaim {
            ever_by_claim.entry(c.clone()).or_default().insert(i.id.clone());
            if i.live() {
                now_by_claim.entry(c.clone()).or_default().insert(i.id.clone());
            }
        }
    }
    for (c, ids) in now_by_claim.into_iter().filter(|(_, ids)| ids.len() > 1) {
        duplicates.entry(c).or_default().extend(ids);
    }
    let launched_twice: BTreeMap<String, BTreeSet<String>> =
        ever_by_claim.into_iter().filter(|(_, ids)| ids.len() > 1).collect();
    let lost: Vec<String> = replicas
        .iter()
        .filter_map(|(app, n)| {
            let (running, _) = s.running(app);
            (running < *n as usize).then(|| format!("{app}: {running} Running of {n}"))
        })
        .collect();
    let seen_pods = pods_seen.lock().unwrap().clone();
    pod_tracker.abort();
    let never_ran: Vec<String> = seen_pods
        .values()
        .filter(|p| !p.ran)
        .map(|p| format!("{} (node {:?}, deleted: {})", p.name, p.node, p.deleted))
        .collect();
    let unsettled = s.unsettled(&replicas);
    let claims_without_instance: Vec<String> = s
        .claims
        .iter()
        .filter_map(|c| {
            let p = c["status"]["providerID"].as_str()?;
            (!live.iter().any(|i| i.provider_id() == p))
                .then(|| c["metadata"]["name"].as_str().unwrap_or("").to_string())
        })
        .collect();
    let logged = |needle: &str| -> usize {
        fleet
            .all_logs
            .iter()
            .map(|l| std::fs::read_to_string(l).unwrap_or_default().lines().filter(|x| x.contains(needle)).count())
            .sum()
    };
    let collected = logged("garbage collection: an instance no NodeClaim knows terminated");
    let orphan_fate = orphaned.as_ref().map_or("none made".to_string(), |id| {
        let state = all.iter().find(|i| i.id == *id).map_or("unknown", |i| i.state.as_str());
        format!("{id} (run {orphan_run}) {state}")
    });
    let stats = joiner.stats();

    // The table.
    let mut table = String::new();
    let _ = writeln!(table, "\nfailover: {RUNS} runs, seed {seed}");
    let _ = writeln!(
        table,
        "{:>3}  {:<8}  {:<72}  {:<10}  {:<22}  {:>8}  {:>8}  {:>8}  note",
        "run", "kill", "moment", "killed", "new leader", "takeover", "running", "settled"
    );
    for r in &rows {
        let _ = writeln!(
            table,
            "{:>3}  {:<8}  {:<72}  {:<10}  {:<22}  {:>8}  {:>8}  {:>8}  {}",
            r.run,
            r.kind.label(),
            r.moment,
            r.killed,
            r.leader,
            secs(r.takeover),
            secs(r.running),
            secs(r.settled),
            r.note
        );
    }
    for kind in [Kind::Batching, Kind::Launch, Kind::Drain] {
        let of: Vec<&Row> = rows.iter().filter(|r| r.kind == kind).collect();
        if of.is_empty() {
            continue;
        }
        let max = |f: fn(&Row) -> Duration| of.iter().map(|r| f(r)).max().unwrap_or_default();
        let mean = |f: fn(&Row) -> Duration| of.iter().map(|r| f(r)).sum::<Duration>() / of.len() as u32;
        let _ = writeln!(
            table,
            "{:<8}: {} runs; takeover mean {} max {}; pods Running mean {} max {}; settled mean {} max {}",
            kind.label(),
            of.len(),
            secs(mean(|r| r.takeover)),
            secs(max(|r| r.takeover)),
            secs(mean(|r| r.running)),
            secs(max(|r| r.running)),
            secs(mean(|r| r.settled)),
            secs(max(|r| r.settled)),
        );
    }
    let _ = writeln!(
        table,
        "the surviving replica took the Lease over in {} of {RUNS} runs (in the others the one started after the \
         kill saw the last renewal first)",
        rows.iter().filter(|r| !r.leader.contains("(the new one)")).count()
    );
    let _ = writeln!(
        table,
        "counts after {} of settling: leaked instances {}, duplicate instances {} (claims launched twice {}), \
         pods lost {}, pods never Running {} (of {} pods seen)",
        secs(settle),
        leaked.len(),
        duplicates.len(),
        launched_twice.len(),
        lost.len(),
        never_ran.len(),
        seen_pods.len()
    );
    let _ = writeln!(
        table,
        "also: {} NodeClaims, {} live instances, {} CreateFleet answers, {} instances terminated by garbage \
         collection (the orphan made: {}), {} replicas ended on their own, {} Nodes registered / {} deleted by the \
         joiner ({} of {} polls failed{}), whole test {}",
        s.claims.len(),
        live.len(),
        tap.create_fleets(),
        collected,
        orphan_fate,
        fleet.unplanned.len(),
        stats.registered.len(),
        stats.deleted.len(),
        stats.failed_polls,
        stats.polls,
        stats.last_error.as_ref().map_or(String::new(), |e| format!(", last: {e}")),
        secs(started.elapsed())
    );
    println!("{table}");

    let mut problems = Vec::new();
    if !leaked.is_empty() {
        problems.push(format!("leaked instances: {leaked:?}"));
    }
    if !duplicates.is_empty() {
        problems.push(format!("duplicate instances: {duplicates:?}"));
    }
    if !launched_twice.is_empty() {
        problems.push(format!("NodeClaims given more than one instance: {launched_twice:?}"));
    }
    if !lost.is_empty() {
        problems.push(format!("pods lost: {lost:?}"));
    }
    if !never_ran.is_empty() {
        problems.push(format!("pods never Running: {never_ran:?}"));
    }
    if !unsettled.is_empty() {
        problems.push(format!("not settled at the end: {unsettled:?}"));
    }
    if !claims_without_instance.is_empty() {
        problems.push(format!("NodeClaims whose instance is gone: {claims_without_instance:?}"));
    }
    for r in rows.iter().filter(|r| r.kind == Kind::Launch && !r.note.contains("adopted")) {
        problems.push(format!("run {}: the held launch was not adopted: {}", r.run, r.note));
    }
    if !problems.is_empty() {
        fleet.fail(format!("failover found problems:\n{}", problems.join("\n")));
    }
    drop(fleet);
}

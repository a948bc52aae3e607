//! The Helm chart (`controller/chart`) and the image (`controller/Dockerfile`), as a platform
//! team installs them:
//!
//! - the chart's CRDs are the controller's (`controller/crds`), byte for byte;
//! - rendered with `shadow: true` it binds one read-only ClusterRole, the rules of
//!   `controller/deploy/shadow-rbac.yaml`;
//! - rendered for the kwok provider, every manifest applies to a real API server (RBAC on), and
//!   the controller binary started with exactly the rendered container's arguments and
//!   environment, as the chart's ServiceAccount, provisions nodes for pending pods: no request
//!   of it is refused, and (from the API server's audit log) every permission of its roles is
//!   used, or listed below with the reason this test does not reach it;
//! - the Dockerfile builds this binary and runs it as non-root on distroless.
//!
//! helm comes from `scripts/helm` (built by `scripts/setup --tests`); without it the tests that
//! render fail, saying so.

mod support;

use k8s_openapi::api::core::v1::{Node, Pod, Secret};
use kube::api::{Api, DynamicObject, ListParams};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::{deployment, eventually, nodepool, output_text, repo_root, TestEnv};

const NAMESPACE: &str = "fleetfit";
const RELEASE: &str = "fleetfit";
/// The chart's full name for release `fleetfit`: the ServiceAccount, the ClusterRole, ...
const NAME: &str = "fleetfit-controller";
const CRDS: [&str; 3] = ["nodepools.karpenter.sh", "nodeclaims.karpenter.sh", "ec2nodeclasses.karpenter.k8s.aws"];

const NODECLASS: &str = "apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata: {name: default}
spec:
  role: KarpenterNodeRole-test
  amiSelectorTerms: [{alias: al2023@latest}]
  subnetSelectorTerms: [{tags: {karpenter.sh/discovery: test}}]
  securityGroupSelectorTerms: [{tags: {karpenter.sh/discovery: test}}]
";

fn chart_dir() -> PathBuf {
    repo_root().join("controller/chart")
}

/// helm, built by `scripts/helm`; panics saying how to build it.
fn helm() -> PathBuf {
    let out = Command::new(repo_root().join("scripts/helm")).arg("--no-build").output().expect("running scripts/helm");
    assert!(out.status.success(), "no helm for the chart tests:\n{}", output_text(&out));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// `helm template` of the chart (release `fleetfit` in namespace `fleetfit`) with `--set`s.
fn render(sets: &[&str]) -> Result<String, String> {
    let mut cmd = Command::new(helm());
    cmd.args(["template", RELEASE]).arg(chart_dir()).args(["--namespace", NAMESPACE, "--include-crds"]);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let out = cmd.output().expect("running helm");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(output_text(&out))
    }
}

/// The documents of a multi-document YAML text, as JSON values (empty documents left out).
fn documents(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|d| serde_yaml::Value::deserialize(d).expect("valid YAML"))
        .filter(|v| !v.is_null())
        .map(|v| serde_json::to_value(v).expect("YAML that is JSON"))
        .collect()
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

fn one<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    let found = of_kind(docs, kind);
    assert_eq!(found.len(), 1, "one {kind} rendered, not {}", found.len());
    found[0]
}

/// A role's rules as (API group, resource, verb) triples, with the resource names if limited.
fn permissions(role: &Value) -> BTreeSet<(String, String, String, Vec<String>)> {
    let mut out = BTreeSet::new();
    for rule in role["rules"].as_array().expect("rules") {
        let strings = |key: &str| -> Vec<String> {
            rule[key]
                .as_array()
                .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
                .unwrap_or_default()
        };
        for group in strings("apiGroups") {
            for resource in strings("resources") {
                for verb in strings("verbs") {
                    out.insert((group.clone(), resource.clone(), verb, strings("resourceNames")));
                }
            }
        }
    }
    out
}

#[test]
fn the_charts_crds_are_the_controllers() {
    let list = |dir: &Path| -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
            .collect()
    };
    let ours = list(&repo_root().join("controller/crds"));
    let chart = list(&chart_dir().join("crds"));
    assert_eq!(ours.len(), 3);
    assert!(
        ours == chart,
        "controller/chart/crds/ differs from controller/crds/ (generated by fleetfit-crdgen): \
         run `cp controller/crds/*.yaml controller/chart/crds/`"
    );
}

#[test]
fn the_shadow_values_bind_only_the_read_only_role_of_shadow_rbac_yaml() {
    let docs = documents(&render(&["shadow=true", "provider=kwok"]).unwrap());
    let role = one(&docs, "ClusterRole");
    assert_eq!(role["metadata"]["name"], format!("{NAME}-shadow"));
    let granted = permissions(role);
    let verbs: BTreeSet<&str> = granted.iter().map(|(_, _, v, _)| v.as_str()).collect();
    assert_eq!(verbs, BTreeSet::from(["list", "watch"]), "the shadow role reads only");
    let binding = one(&docs, "ClusterRoleBinding");
    assert_eq!(binding["roleRef"]["name"], format!("{NAME}-shadow"));
    assert_eq!(binding["subjects"][0]["name"], NAME);
    // No Lease (taking one is a write), no other role.
    assert!(of_kind(&docs, "Role").is_empty() && of_kind(&docs, "RoleBinding").is_empty());
    let args = container(&docs)["args"].clone();
    let args: Vec<&str> = args.as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert!(args.contains(&"--shadow"), "{args:?}");
    assert!(args.contains(&"--leader-elect=false"), "{args:?}");
    // The binary takes them: it gets as far as looking for a cluster.
    let out = Command::new(env!("CARGO_BIN_EXE_fleetfit-controller"))
        .args(&args)
        .args(["--metrics-address", "127.0.0.1:0"])
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no Kubernetes API to talk to"), "{args:?}: {stderr}");

    // controller/deploy/shadow-rbac.yaml (for running it by hand) has the same rules.
    let file = std::fs::read_to_string(repo_root().join("controller/deploy/shadow-rbac.yaml")).unwrap();
    let by_hand = documents(&file);
    assert_eq!(
        permissions(one(&by_hand, "ClusterRole")),
        granted,
        "controller/deploy/shadow-rbac.yaml and the chart's shadow role (controller/chart/templates/_helpers.tpl, \
         fleetfit.readRules) must have the same rules"
    );

    // The full role has the shadow one's reads, and writes.
    let full = permissions(one(&documents(&render(&["provider=kwok"]).unwrap()), "ClusterRole"));
    assert!(granted.is_subset(&full));
}

#[test]
fn the_provider_decides_node_creation_and_aws_needs_its_settings() {
    let create_nodes = |docs: &[Value]| {
        permissions(one(docs, "ClusterRole")).contains(&("".into(), "nodes".into(), "create".into(), vec![]))
    };
    assert!(create_nodes(&documents(&render(&["provider=kwok"]).unwrap())));
    let err = render(&[]).unwrap_err();
    assert!(err.contains("settings.clusterName is required for provider=aws"), "{err}");
    let aws = render(&[
        "settings.clusterName=prod",
        "settings.clusterEndpoint=https://ABC.gr7.us-west-2.eks.amazonaws.com",
        "settings.clusterCABundle=Q0E=",
        "settings.clusterCIDR=172.20.0.0/16",
        "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::111122223333:role/fleetfit",
        "metrics.serviceMonitor.enabled=true",
    ])
    .unwrap();
    let docs = documents(&aws);
    assert!(!create_nodes(&docs), "an EC2 node registers itself: no create on nodes for provider=aws");
    assert_eq!(
        one(&docs, "ServiceAccount")["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::111122223333:role/fleetfit"
    );
    let env = resolved_env(container(&docs), "pod");
    assert_eq!(env["PROVIDER"], "aws");
    assert_eq!(env["CLUSTER_NAME"], "prod");
    assert_eq!(env["CLUSTER_CIDR"], "172.20.0.0/16");
    assert_eq!(one(&docs, "ServiceMonitor")["spec"]["endpoints"][0]["port"], "http-metrics");
    let err = render(&["provider=kwok", "settings.consolidationMode=cheap"]).unwrap_err();
    assert!(err.contains("karpenter, optimize or global"), "{err}");
}

/// The Deployment's one container.
fn container(docs: &[Value]) -> &Value {
    let deployment = one(docs, "Deployment");
    let containers = deployment["spec"]["template"]["spec"]["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    &containers[0]
}

/// The container's environment with the downward API resolved as for pod `pod` in `fleetfit`.
fn resolved_env(container: &Value, pod: &str) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for e in container["env"].as_array().unwrap() {
        let name = e["name"].as_str().unwrap().to_string();
        let value = match (&e["value"], e["valueFrom"]["fieldRef"]["fieldPath"].as_str()) {
            (Value::String(v), _) => v.clone(),
            (_, Some("metadata.name")) => pod.to_string(),
            (_, Some("metadata.namespace")) => NAMESPACE.to_string(),
            other => panic!("env {name}: cannot resolve {other:?}"),
        };
        env.insert(name, value);
    }
    env
}

/// The long flags `fleetfit-controller --help` lists.
fn accepted_flags() -> BTreeSet<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetfit-controller")).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    help.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(str::to_string)
        .collect()
}

/// The controller binary, stopped (SIGTERM, then SIGKILL) when dropped.
struct Controller {
    child: Child,
    log: PathBuf,
}

impl Controller {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
    fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
            for _ in 0..100 {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- last lines of the controller's log ({}):", self.log.display());
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// Permissions of the chart's roles that this test does not exercise, and why. Any other
/// permission the API server's audit log does not show the controller using fails the test
/// (an excess permission), as does any request of its that was refused (a missing one).
const NOT_EXERCISED: &[(&str, &str, &str, &str)] = &[
    ("", "pods", "delete", "termination: a pod still running when its node's terminationGracePeriod ends"),
    ("karpenter.sh", "nodeclaims", "delete", "consolidation, expiry, drift, a failed launch (the test deletes one)"),
    ("karpenter.sh", "nodepools", "patch", "drift: the karpenter.sh/nodepool-hash annotation"),
    ("karpenter.k8s.aws", "ec2nodeclasses", "patch", "drift: the karpenter.k8s.aws/ec2nodeclass-hash annotation"),
    ("events.k8s.io", "events", "patch", "an Event that repeats within the Recorder's window"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rendered_chart_applies_and_the_controller_provisions_under_its_roles() {
    let sets = [
        "provider=kwok",
        "replicaCount=2",
        "leaderElection.enabled=true",
        "settings.clusterName=chart-test",
        "settings.region=us-west-2",
        "settings.logFormat=text",
    ];
    let rendered = render(&sets).unwrap();
    let docs = documents(&rendered);
    let user = format!("system:serviceaccount:{NAMESPACE}:{NAME}");

    // The API server records every request of the chart's ServiceAccount.
    let audit_dir = std::env::temp_dir().join(format!("fleetfit-chart-audit-{}", std::process::id()));
    std::fs::create_dir_all(&audit_dir).unwrap();
    let audit_policy = audit_dir.join("policy.yaml");
    let audit_log = audit_dir.join("audit.log");
    std::fs::write(
        &audit_policy,
        format!(
            "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n  \
             - {{level: Metadata, users: [\"{user}\"]}}\n  - {{level: None}}\n"
        ),
    )
    .unwrap();
    let env = TestEnv::builder("chart")
        .moto(false)
        .env(
            "KTE_APISERVER_ARGS",
            &format!("--audit-policy-file={} --audit-log-path={}", audit_policy.display(), audit_log.display()),
        )
        .start();
    let admin = env.client().await;

    // Everything rendered is applied (not a dry run), CRDs first.
    env.kubectl_ok(&["create", "namespace", NAMESPACE]);
    env.apply_yaml(&rendered);
    env.wait_established(&CRDS);
    for object in ["deployment", "poddisruptionbudget", "service", "serviceaccount", "role", "rolebinding"] {
        let name = if object.starts_with("role") { format!("{NAME}-leader-election") } else { NAME.to_string() };
        env.kubectl_ok(&["get", "-n", NAMESPACE, object, &name]);
    }
    env.kubectl_ok(&["get", "clusterrole", NAME]);
    env.kubectl_ok(&["get", "clusterrolebinding", NAME]);
    let rendered_deployment = one(&docs, "Deployment");
    assert_eq!(rendered_deployment["spec"]["replicas"], 2);
    let pod_spec = &rendered_deployment["spec"]["template"]["spec"];
    let container = container(&docs);
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(container["securityContext"]["capabilities"]["drop"][0], "ALL");
    assert_eq!(pod_spec["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod_spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    let keys: BTreeSet<&str> = pod_spec["topologySpreadConstraints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["topologyKey"].as_str().unwrap())
        .collect();
    assert_eq!(keys, BTreeSet::from(["kubernetes.io/hostname", "topology.kubernetes.io/zone"]));
    assert_eq!(one(&docs, "PodDisruptionBudget")["spec"]["maxUnavailable"], 1);

    // RBAC is enforced: the ServiceAccount reads no Secret and makes no Pod.
    let token = env.kubectl_ok(&["create", "token", NAME, "-n", NAMESPACE, "--duration=1h"]);
    let admin_token = std::fs::read_to_string(env.run_dir.join("token")).unwrap();
    let kubeconfig_text = std::fs::read_to_string(&env.kubeconfig).unwrap().replace(admin_token.trim(), token.trim());
    let kubeconfig = audit_dir.join("controller.kubeconfig");
    std::fs::write(&kubeconfig, &kubeconfig_text).unwrap();
    let can_i = env.kubectl(&["auth", "can-i", "list", "secrets", "-A", "--as", &user]);
    assert!(!can_i.status.success(), "the controller's ServiceAccount may list Secrets: {}", output_text(&can_i));
    let as_controller = {
        let config = kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::from_yaml(&kubeconfig_text).unwrap(),
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .unwrap();
        kube::Client::try_from(config).unwrap()
    };
    match Api::<Secret>::all(as_controller.clone()).list(&ListParams::default()).await {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 403, "{s:?}"),
        other => panic!("the controller's ServiceAccount listed Secrets: {other:?}"),
    }

    // The binary, with exactly the rendered container's arguments and environment (the pod's
    // name and namespace resolved; only the metrics address moved to a free local port).
    let args: Vec<String> = container["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().into()).collect();
    // Every flag the chart passes is one the binary has (clap would refuse the others).
    let accepted = accepted_flags();
    for arg in &args {
        let flag = arg.split('=').next().unwrap();
        assert!(accepted.contains(flag), "the chart passes {arg}, and fleetfit-controller --help has no {flag}");
    }
    assert!(args.iter().any(|a| a == "--leader-elect=true"), "{args:?}");
    let mut vars = resolved_env(container, "fleetfit-controller-test-0");
    assert_eq!(vars["PROVIDER"], "kwok");
    assert_eq!(vars["POD_NAMESPACE"], NAMESPACE);
    let port = free_port();
    vars.insert("METRICS_ADDRESS".into(), format!("127.0.0.1:{port}"));
    let log = audit_dir.join("controller.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_fleetfit-controller"))
        .args(&args)
        .env_clear()
        .envs(&vars)
        .env("KUBECONFIG", &kubeconfig)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .expect("starting fleetfit-controller");
    let mut controller = Controller { child, log };
    eprintln!("chart test: fleetfit-controller {}", args.join(" "));
    let started = std::time::Instant::now();
    eprintln!("chart test: started at {:?}", std::time::SystemTime::now());
    eventually("the controller's /readyz", Duration::from_secs(60), || {
        let ready = http_get(port, "/readyz").is_some_and(|r| r.starts_with("HTTP/1.1 200"));
        async move { ready.then_some(()) }
    })
    .await;

    eprintln!("chart test: ready after {:.1}s", started.elapsed().as_secs_f64());
    // It provisions: pending pods get NodeClaims, the kwok provider makes their Nodes, and
    // kube-scheduler binds the pods there.
    env.apply_yaml(&format!("{}---\n{NODECLASS}", nodepool("web", "on-demand")));
    env.apply_yaml(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: shop}}\n---\n{}",
        deployment("web", 6, "500m", "1Gi", "")
    ));
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "shop");
    eventually("the 6 pods Running on the controller's nodes", Duration::from_secs(120), || {
        let pods = pods.clone();
        async move {
            let list = pods.list(&ListParams::default()).await.ok()?;
            let running =
                list.items.iter().filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"));
            (running.count() == 6).then_some(())
        }
    })
    .await;
    eprintln!("chart test: 6 pods Running after {:.1}s", started.elapsed().as_secs_f64());
    let claims: Api<DynamicObject> =
        Api::all_with(admin.clone(), &fleetfit_controller::state::karpenter_resource("NodeClaim"));
    let claims = claims.list(&ListParams::default()).await.unwrap().items;
    let nodes: Api<Node> = Api::all(admin.clone());
    let mut used_nodes = BTreeSet::new();
    for pod in pods.list(&ListParams::default()).await.unwrap() {
        let node = nodes.get(pod.spec.unwrap().node_name.as_deref().unwrap()).await.unwrap();
        let labels = node.metadata.labels.unwrap_or_default();
        assert_eq!(labels.get("karpenter.sh/nodepool").map(String::as_str), Some("web"));
        let name = node.metadata.name.unwrap();
        assert!(
            claims.iter().any(|c| serde_json::to_value(c).unwrap()["status"]["nodeName"] == name.as_str()),
            "node {name} has no NodeClaim"
        );
        used_nodes.insert(name);
    }
    // The chart's own replicas never run on a node it manages (their affinity): it launched
    // nothing for them, and they wait for a node of another kind.
    assert_eq!(claims.len(), used_nodes.len(), "a NodeClaim launched for no pod of the workload");
    let own: Api<Pod> = Api::namespaced(admin.clone(), NAMESPACE);
    let own = own.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(own.len(), 2, "the Deployment's two replicas");
    assert!(own.iter().all(|p| p.spec.as_ref().unwrap().node_name.is_none()));
    // A NodeClaim deleted: its node is drained through the Eviction API and deleted, and the
    // evicted pods run again on a node launched for them.
    let gone = claims[0].metadata.name.clone().unwrap();
    env.kubectl_ok(&["delete", "nodeclaim", &gone, "--wait=false"]);
    let claims_api: Api<DynamicObject> =
        Api::all_with(admin.clone(), &fleetfit_controller::state::karpenter_resource("NodeClaim"));
    eventually("the deleted NodeClaim's node drained and gone", Duration::from_secs(120), || {
        let claims_api = claims_api.clone();
        let gone = gone.clone();
        async move { claims_api.get_opt(&gone).await.ok()?.is_none().then_some(()) }
    })
    .await;
    eprintln!("chart test: the NodeClaim gone after {:.1}s", started.elapsed().as_secs_f64());
    eventually("the 6 pods Running again", Duration::from_secs(120), || {
        let pods = pods.clone();
        async move {
            // The evicted pods stay Terminating until the pod garbage collector removes them
            // (their node is gone): the Deployment's new ones are counted.
            let list = pods.list(&ListParams::default()).await.ok()?;
            let running = list.items.iter().filter(|p| {
                p.metadata.deletion_timestamp.is_none()
                    && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
            });
            (running.count() == 6).then_some(())
        }
    })
    .await;
    eprintln!("chart test: Running again after {:.1}s", started.elapsed().as_secs_f64());
    // It leads through the chart's Lease.
    let holder = env.kubectl_ok(&[
        "get",
        "lease",
        "-n",
        NAMESPACE,
        "fleetfit-controller-leader",
        "-o",
        "jsonpath={.spec.holderIdentity}",
    ]);
    assert_eq!(holder.trim(), "fleetfit-controller-test-0");
    // A moment more, so that periodic requests (a Lease's renewal) are in the audit log.
    tokio::time::sleep(Duration::from_secs(3)).await;
    controller.stop();
    let log_text = controller.log();
    assert!(!log_text.to_lowercase().contains("forbidden"), "a request was refused:\n{log_text}");

    // The audit log: nothing refused, and every permission granted was used (or is listed in
    // NOT_EXERCISED with the reason).
    let mut used: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut refused = Vec::new();
    let audit = std::fs::read_to_string(&audit_log).unwrap_or_else(|e| panic!("{}: {e}", audit_log.display()));
    for line in audit.lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        if event["user"]["username"] != user.as_str() || event["objectRef"].is_null() {
            continue;
        }
        let object = &event["objectRef"];
        let mut resource = object["resource"].as_str().unwrap_or_default().to_string();
        if let Some(sub) = object["subresource"].as_str() {
            resource = format!("{resource}/{sub}");
        }
        let group = object["apiGroup"].as_str().unwrap_or_default().to_string();
        let verb = event["verb"].as_str().unwrap_or_default().to_string();
        if event["responseStatus"]["code"] == 403 {
            refused.push(format!("{verb} {group}/{resource} {}", object["name"].as_str().unwrap_or_default()));
        }
        used.insert((group, resource, verb));
    }
    // The test's own calls with the token (the Secret list, can-i) aside.
    used.remove(&("".into(), "secrets".into(), "list".into()));
    refused.retain(|r| !r.starts_with("list /secrets"));
    assert!(refused.is_empty(), "requests of the controller refused by RBAC: {refused:#?}");
    assert!(!used.is_empty(), "no request of {user} in the audit log");
    let mut granted: BTreeSet<(String, String, String)> = BTreeSet::new();
    for role in of_kind(&docs, "ClusterRole").into_iter().chain(of_kind(&docs, "Role")) {
        granted.extend(permissions(role).into_iter().map(|(g, r, v, _)| (g, r, v)));
    }
    let mut excess = Vec::new();
    for (group, resource, verb) in &granted {
        if used.contains(&(group.clone(), resource.clone(), verb.clone())) {
            continue;
        }
        let why = NOT_EXERCISED.iter().find(|(g, r, v, _)| g == group && r == resource && v == verb).map(|e| e.3);
        match why {
            Some(why) => eprintln!("chart test: not exercised here: {verb} {group}/{resource} ({why})"),
            None => excess.push(format!("{verb} {group}/{resource}")),
        }
    }
    assert!(
        excess.is_empty(),
        "permissions of the chart's roles the controller never used (remove them, or list them in \
         NOT_EXERCISED with the reason): {excess:?}\nused: {used:#?}"
    );
    eprintln!("chart test: the controller used {} of {} permissions granted", used.len(), granted.len());
    drop(controller);
    drop(env);
    if std::env::var_os("KTE_KEEP").is_some_and(|v| v != "0") {
        eprintln!("chart test: kept {}", audit_dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&audit_dir);
    }
}

/// One Dockerfile stage: its base image, name and instructions (continuations joined).
#[derive(Debug)]
struct Stage {
    from: String,
    name: Option<String>,
    instructions: Vec<(String, String)>,
}

fn dockerfile_stages(text: &str) -> Vec<Stage> {
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            logical.push(std::mem::take(&mut current));
        }
    }
    let mut stages: Vec<Stage> = Vec::new();
    for line in logical {
        let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let word = word.to_uppercase();
        if word == "FROM" {
            let parts: Vec<&str> = rest.split_whitespace().filter(|p| !p.starts_with("--")).collect();
            let name = (parts.len() == 3 && parts[1].eq_ignore_ascii_case("as")).then(|| parts[2].to_string());
            stages.push(Stage { from: parts[0].to_string(), name, instructions: Vec::new() });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push((word, rest.trim().to_string()));
        }
    }
    stages
}

#[test]
fn the_dockerfile_builds_this_binary_and_runs_it_as_non_root_on_distroless() {
    let root = repo_root();
    let text = std::fs::read_to_string(root.join("controller/Dockerfile")).unwrap();
    let stages = dockerfile_stages(&text);
    assert!(stages.len() >= 2, "multi-stage: {stages:?}");
    let bin = Path::new(env!("CARGO_BIN_EXE_fleetfit-controller")).file_name().unwrap().to_str().unwrap();
    let builder = &stages[0];
    assert!(builder.from.starts_with("rust:"), "{builder:?}");
    let builder_name = builder.name.clone().expect("the builder stage is named");
    let build = builder
        .instructions
        .iter()
        .find(|(w, r)| w == "RUN" && r.contains("cargo build"))
        .map(|(_, r)| r.as_str())
        .expect("a cargo build");
    for part in ["--release", "--locked", "-p fleetfit-controller", &format!("--bin {bin}"), "--features aws"] {
        assert!(build.contains(part), "the build lacks {part}: {build}");
    }
    assert!(build.contains(&format!("target/release/{bin}")), "{build}");

    let last = stages.last().unwrap();
    assert!(last.from.starts_with("gcr.io/distroless/") && last.from.ends_with(":nonroot"), "{last:?}");
    let user = last.instructions.iter().rev().find(|(w, _)| w == "USER").map(|(_, r)| r.as_str()).expect("a USER");
    let uid = user.split(':').next().unwrap();
    assert!(uid.parse::<u32>().is_ok_and(|u| u != 0), "USER {user}: a numeric non-root uid (runAsNonRoot checks it)");
    assert_eq!(uid, "65532", "the chart's runAsUser");
    let entrypoint = last.instructions.iter().find(|(w, _)| w == "ENTRYPOINT").map(|(_, r)| r.as_str()).unwrap();
    let entrypoint: Vec<String> = serde_json::from_str(entrypoint).expect("ENTRYPOINT in exec form");
    assert_eq!(Path::new(&entrypoint[0]).file_name().unwrap(), bin);
    let copy = last
        .instructions
        .iter()
        .find(|(w, r)| w == "COPY" && r.contains(&format!("--from={builder_name}")))
        .map(|(_, r)| r.clone())
        .expect("the binary copied from the builder");
    assert!(copy.ends_with(&entrypoint[0]), "{copy} puts the binary where ENTRYPOINT runs it");

    // The context (the repository's root) has every workspace member's manifest and sources.
    let ignore = std::fs::read_to_string(root.join("controller/Dockerfile.dockerignore")).unwrap();
    let kept: BTreeSet<&str> = ignore.lines().filter_map(|l| l.trim().strip_prefix('!')).collect();
    let workspace = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let members = workspace.lines().find(|l| l.starts_with("members")).expect("workspace members");
    for member in members.split('"').skip(1).step_by(2) {
        for path in [format!("{member}/Cargo.toml"), format!("{member}/src")] {
            assert!(kept.contains(path.as_str()), "Dockerfile.dockerignore leaves out {path}");
        }
    }
    for path in ["Cargo.toml", "Cargo.lock", "core/data"] {
        assert!(kept.contains(path), "Dockerfile.dockerignore leaves out {path}");
    }
}

//! Support for fleetfit-controller's integration tests: a real Kubernetes control plane (etcd,
//! kube-apiserver, kube-controller-manager, kube-scheduler), KWOK standing in for kubelets, and
//! moto answering the EC2 API, all on 127.0.0.1, started by `scripts/kube-test-env`.
//!
//! ```ignore
//! mod support;
//! let env = support::TestEnv::start("my-test");              // blocking: a few seconds
//! let client = env.client().await;                            // kube::Client, admin
//! env.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n");
//! let zones = env.ec2_query("Action=DescribeAvailabilityZones&Version=2016-11-15");
//! // dropping `env` (also when the test panics) stops everything
//! ```
//!
//! Every [`TestEnv`] has its own state directory under the system's temporary directory and its
//! own free ports, so test binaries can run at the same time. The binaries must have been built
//! (`scripts/kube-test-env build`, which `scripts/setup` runs); a test does not build them (a cold
//! build takes 15-30 minutes) unless `KTE_BUILD=1` is set. When the environment cannot start, the
//! test panics with the script's message and the tail of each component's log: a test that needs
//! a cluster fails, it never skips. The run directory is removed after a test that passed; after
//! one that failed its logs are kept (etcd's data is not); `KTE_KEEP=1` keeps all of it.
#![allow(dead_code)]

pub mod ec2_faults;
pub mod iam_policy;
#[cfg(feature = "aws")]
pub mod joiner;
#[cfg(feature = "aws")]
pub mod moto;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

/// The EC2NodeClass `default` the KWOK tests' NodePools name (KWOK launches ignore its
/// selectors: they need no cloud).
pub const NODECLASS: &str = "apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata: {name: default}
spec:
  role: KarpenterNodeRole-test
  amiSelectorTerms: [{alias: al2023@latest}]
  subnetSelectorTerms: [{tags: {karpenter.sh/discovery: test}}]
  securityGroupSelectorTerms: [{tags: {karpenter.sh/discovery: test}}]
";

/// A NodePool per workload (its pods select it by the label `workload: <name>`, so
/// kube-scheduler cannot put one workload's pods where the plan put another's) of c, m and r
/// amd64 instances of `capacity_type`, on the EC2NodeClass `default`.
pub fn nodepool(name: &str, capacity_type: &str) -> String {
    format!(
        "apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {{name: {name}}}
spec:
  template:
    metadata: {{labels: {{workload: {name}}}}}
    spec:
      nodeClassRef: {{group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}}
      requirements:
        - {{key: karpenter.sh/capacity-type, operator: In, values: [{capacity_type}]}}
        - {{key: karpenter.k8s.aws/instance-category, operator: In, values: [c, m, r]}}
        - {{key: kubernetes.io/arch, operator: In, values: [amd64]}}
"
    )
}

/// A Deployment in namespace `shop` of `replicas` pods asking `cpu` and `memory`, on nodes
/// labelled `workload: <name>`, with `extra` pod spec lines (indented six spaces).
pub fn deployment(name: &str, replicas: u32, cpu: &str, memory: &str, extra: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: shop}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      nodeSelector: {{workload: {name}}}
{extra}      containers:
        - name: app
          image: registry.example.com/{name}:1
          resources: {{requests: {{cpu: \"{cpu}\", memory: {memory}}}}}
"
    )
}

/// A running test environment. Stopped (`kube-test-env down`) when dropped.
pub struct TestEnv {
    /// The name given to [`TestEnv::start`], used in the run directory's name and in messages.
    pub name: String,
    /// The state directory: certificates, etcd's data, `logs/*.log`, pid files.
    pub run_dir: PathBuf,
    /// The admin kubeconfig (bearer token, `https://127.0.0.1:<api_port>`).
    pub kubeconfig: PathBuf,
    /// kube-apiserver's port on 127.0.0.1.
    pub api_port: u16,
    /// moto's endpoint, `http://127.0.0.1:<port>`, or `None` when started without moto.
    pub ec2_endpoint: Option<String>,
    /// moto's port, or `None` when started without moto.
    pub moto_port: Option<u16>,
    /// How long `kube-test-env up` took.
    pub up_time: Duration,
    vars: Vec<(String, String)>,
}

/// How to start a [`TestEnv`]: [`TestEnv::builder`].
pub struct Builder {
    name: String,
    moto: bool,
    vars: Vec<(String, String)>,
}

impl Builder {
    /// Whether to start moto (default: yes). Tests that do not call EC2 save its start-up.
    pub fn moto(mut self, moto: bool) -> Self {
        self.moto = moto;
        self
    }

    /// An environment variable for the script and the components it starts, e.g.
    /// `MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION=true` or `KTE_APISERVER_ARGS`.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.vars.push((key.to_string(), value.to_string()));
        self
    }

    /// Starts the environment (blocking, a few seconds); panics, with the components' logs, if
    /// it cannot.
    pub fn start(self) -> TestEnv {
        let safe: String = self.name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        // Unique per process and per env, so tests of one binary may run at the same time.
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let run_dir = std::env::temp_dir().join(format!("fleetfit-kte-{safe}-{}-{n}", std::process::id()));
        let mut attempt = 1;
        loop {
            let ports = free_ports::<4>();
            let mut vars = vec![
                ("KUBE_TEST_ENV_RUN".to_string(), run_dir.display().to_string()),
                ("KTE_API_PORT".to_string(), ports[0].to_string()),
                ("KTE_ETCD_PORT".to_string(), ports[1].to_string()),
                ("KTE_ETCD_PEER_PORT".to_string(), ports[2].to_string()),
                ("KTE_MOTO_PORT".to_string(), ports[3].to_string()),
                ("KTE_MOTO".to_string(), if self.moto { "1" } else { "0" }.to_string()),
                // If this process dies without dropping the env, a watchdog stops it.
                ("KTE_OWNER_PID".to_string(), std::process::id().to_string()),
            ];
            if std::env::var_os("KTE_BUILD").is_none() {
                vars.push(("KTE_BUILD".to_string(), "0".to_string()));
            }
            vars.extend(self.vars.iter().cloned());
            let started = Instant::now();
            let out = script_command(&vars)
                .arg("up")
                .stdin(Stdio::null())
                .output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", script().display()));
            let up_time = started.elapsed();
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            if out.status.success() {
                let kubeconfig = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
                assert!(kubeconfig.is_file(), "kube-test-env up printed {kubeconfig:?}, which is not a file");
                eprintln!("kube-test-env {}: up in {:.1}s ({})", self.name, up_time.as_secs_f64(), run_dir.display());
                return TestEnv {
                    name: self.name,
                    run_dir,
                    kubeconfig,
                    api_port: ports[0],
                    ec2_endpoint: self.moto.then(|| format!("http://127.0.0.1:{}", ports[3])),
                    moto_port: self.moto.then_some(ports[3]),
                    up_time,
                    vars,
                };
            }
            // Another process may have taken a port between our probe and the component's bind.
            if stderr.to_lowercase().contains("address already in use") && attempt < 3 {
                eprintln!("kube-test-env {}: a port was taken, retrying with others", self.name);
                attempt += 1;
                continue;
            }
            drop_data(&run_dir);
            panic!(
                "kube-test-env up failed for test env {:?} ({}, after {:.1}s):\n{}\n{}",
                self.name,
                out.status,
                up_time.as_secs_f64(),
                stderr.trim_end(),
                log_tails(&run_dir, 15)
            );
        }
    }
}

impl TestEnv {
    /// Starts an environment with moto (blocking, a few seconds); see [`Builder::start`].
    pub fn start(name: &str) -> TestEnv {
        Self::builder(name).start()
    }

    /// Options: [`Builder::moto`] (`false` for tests that do not need EC2), [`Builder::env`].
    pub fn builder(name: &str) -> Builder {
        Builder { name: name.to_string(), moto: true, vars: Vec::new() }
    }

    /// An admin client for the API server. Installs rustls' ring CryptoProvider for the
    /// process first (once; kube's `ring` feature alone does not pick one).
    pub async fn client(&self) -> kube::Client {
        install_crypto_provider();
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig)
            .unwrap_or_else(|e| panic!("reading {}: {e}", self.kubeconfig.display()));
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
            .await
            .unwrap_or_else(|e| panic!("kubeconfig {}: {e}", self.kubeconfig.display()));
        // As the controller's own (no built-in retries).
        fleetfit_controller::client(config)
            .unwrap_or_else(|e| panic!("kube client for {}: {e}", self.kubeconfig.display()))
    }

    /// Runs kubectl (v1.37, bound to this env's kubeconfig) and returns what it did, whether it
    /// succeeded or not.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_with_stdin(args, None)
    }

    /// [`TestEnv::kubectl`] with `input` on its standard input.
    pub fn kubectl_with_stdin(&self, args: &[&str], input: Option<&[u8]>) -> Output {
        let mut cmd = script_command(&self.vars);
        cmd.arg("kubectl").args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() });
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot run {}: {e}", script().display()));
        if let Some(input) = input {
            let mut stdin = child.stdin.take().expect("kubectl's stdin");
            // kubectl may exit before reading everything (a bad flag): that is in its output.
            let _ = stdin.write_all(input);
        }
        child.wait_with_output().expect("waiting for kubectl")
    }

    /// Runs kubectl and returns its standard output; panics with its error output if it fails.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(out.status.success(), "kubectl {} failed ({}):\n{}", args.join(" "), out.status, output_text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `kubectl apply -f -` of `yaml` (one or more documents); panics if it fails.
    pub fn apply_yaml(&self, yaml: &str) -> String {
        let out = self.kubectl_with_stdin(&["apply", "-f", "-"], Some(yaml.as_bytes()));
        assert!(out.status.success(), "kubectl apply failed ({}):\n{}\nof:\n{yaml}", out.status, output_text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits (up to 60 s) until each CustomResourceDefinition (`nodepools.karpenter.sh`, ...)
    /// is Established and its resource is served; panics otherwise.
    pub fn wait_established(&self, crds: &[&str]) {
        if crds.is_empty() {
            return;
        }
        let mut args = vec!["wait", "--for=condition=Established", "--timeout=60s"];
        let names: Vec<String> = crds.iter().map(|c| format!("crd/{c}")).collect();
        args.extend(names.iter().map(String::as_str));
        self.kubectl_ok(&args);
        // Established comes a moment before the resource is served (and in kubectl's discovery).
        for crd in crds {
            poll_blocking(&format!("{crd} to be served"), Duration::from_secs(30), || {
                self.kubectl(&["get", crd, "-o", "name"]).status.success().then_some(())
            });
        }
    }

    /// moto's port; panics if the env was started without moto.
    pub fn require_moto(&self) -> u16 {
        self.moto_port.unwrap_or_else(|| panic!("test env {:?} was started without moto", self.name))
    }

    /// Forgets everything moto holds (instances, launch templates, fleets, tags).
    pub fn reset_moto(&self) {
        let resp = http_post(self.require_moto(), "/moto-api/reset", &[], b"")
            .unwrap_or_else(|e| panic!("moto reset on port {}: {e}", self.require_moto()));
        assert_eq!(resp.status, 200, "moto reset answered {}: {}", resp.status, resp.body);
    }

    /// One EC2 query-protocol call to moto in us-west-2 (`params`: `Action=...&Version=...`,
    /// URL-encoded). moto does not check signatures; the region comes from the credential scope.
    pub fn ec2_query(&self, params: &str) -> HttpResponse {
        let date = "20260101T000000Z";
        let auth = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-west-2/ec2/aws4_request, \
                    SignedHeaders=content-type;host;x-amz-date, Signature=00000000";
        let headers = [
            ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
            ("X-Amz-Date", date),
            ("Authorization", auth),
        ];
        http_post(self.require_moto(), "/", &headers, params.as_bytes())
            .unwrap_or_else(|e| panic!("EC2 call {params} to moto: {e}"))
    }

    /// Applies the controller's CRDs (`controller/crds`) and waits until they are served.
    pub fn apply_karpenter_crds(&self) {
        let dir = repo_root().join("controller/crds");
        let mut yaml = String::new();
        for file in
            ["karpenter.sh_nodepools.yaml", "karpenter.sh_nodeclaims.yaml", "karpenter.k8s.aws_ec2nodeclasses.yaml"]
        {
            yaml.push_str(&std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}")));
            yaml.push_str("\n---\n");
        }
        self.apply_yaml(&yaml);
        self.wait_established(&[
            "nodepools.karpenter.sh",
            "nodeclaims.karpenter.sh",
            "ec2nodeclasses.karpenter.k8s.aws",
        ]);
    }

    /// Stops kube-apiserver, waits `down`, starts it again on the same port and etcd (blocking);
    /// panics with the script's output if it does not come back.
    pub fn restart_apiserver(&self, down: Duration) {
        let out = script_command(&self.vars)
            .args(["restart-apiserver", &down.as_secs().to_string()])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script().display()));
        assert!(out.status.success(), "restart-apiserver failed:\n{}\n{}", output_text(&out), self.log_tails(15));
    }

    /// The last `lines` lines of each component's log.
    pub fn log_tails(&self, lines: usize) -> String {
        log_tails(&self.run_dir, lines)
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        let started = Instant::now();
        let out = script_command(&self.vars).arg("down").stdin(Stdio::null()).output();
        let panicking = std::thread::panicking();
        match out {
            Ok(out) if out.status.success() => {
                eprintln!("kube-test-env {}: down in {:.1}s", self.name, started.elapsed().as_secs_f64())
            }
            Ok(out) if !panicking => {
                panic!("kube-test-env down failed for {:?} ({}):\n{}", self.name, out.status, output_text(&out))
            }
            Err(e) if !panicking => panic!("cannot run kube-test-env down for {:?}: {e}", self.name),
            _ => eprintln!("kube-test-env {}: down failed too", self.name),
        }
        if std::env::var_os("KTE_KEEP").is_some_and(|v| v != "0") {
            eprintln!("kube-test-env {}: kept {}", self.name, self.run_dir.display());
        } else if panicking {
            drop_data(&self.run_dir);
            eprintln!("kube-test-env {}: logs kept in {}/logs", self.name, self.run_dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.run_dir);
        }
    }
}

/// Polls `check` every 100 ms until it gives a value; panics after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Calls `check` every 200 ms until it gives a value; panics after `timeout`. For blocking
/// checks (kubectl); async tests use [`eventually`].
pub fn poll_blocking<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The repository's root (the controller crate's parent).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("controller/ has a parent").to_path_buf()
}

fn script() -> PathBuf {
    repo_root().join("scripts/kube-test-env")
}

fn script_command(vars: &[(String, String)]) -> Command {
    let mut cmd = Command::new(script());
    cmd.envs(vars.iter().map(|(k, v)| (k, v)));
    cmd
}

/// Removes the bulk of a run directory (etcd's data, about 60 MB, and kubectl's cache), keeping
/// the logs, certificates and kubeconfig; all of it stays with `KTE_KEEP=1`.
fn drop_data(run_dir: &Path) {
    if std::env::var_os("KTE_KEEP").is_none_or(|v| v == "0") {
        let _ = std::fs::remove_dir_all(run_dir.join("etcd"));
        let _ = std::fs::remove_dir_all(run_dir.join("kubectl-cache"));
    }
}

/// `N` distinct free TCP ports on 127.0.0.1 (all held while probing, then released).
fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1:0 for a free port"))
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().expect("a bound listener's address").port())
}

fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err only if a provider is already installed, which is just as good. rustls 0.23.48
        // deprecates ring's provider (no post-quantum key exchange); kube's `ring` feature is what
        // this crate builds with, and the test cluster is on loopback.
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A command's exit status with its standard output and error, for failure messages.
pub fn output_text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)).trim_end().to_string()
}

fn log_tails(run_dir: &Path, lines: usize) -> String {
    let mut logs: Vec<PathBuf> = match std::fs::read_dir(run_dir.join("logs")) {
        Ok(dir) => dir.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => return format!("(no logs in {}: {e})", run_dir.join("logs").display()),
    };
    logs.sort();
    let mut text = String::new();
    for log in logs {
        let content = std::fs::read_to_string(&log).unwrap_or_default();
        let all: Vec<&str> = content.lines().collect();
        text += &format!("--- last {lines} lines of {}:\n", log.display());
        for line in &all[all.len().saturating_sub(lines)..] {
            text += line;
            text += "\n";
        }
    }
    text
}

/// An HTTP response's status and body.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub body: String,
}

/// A plain HTTP/1.0 POST to `127.0.0.1:port` (HTTP/1.0, so the body comes whole, not chunked).
/// Only loopback: there is no host parameter.
pub fn http_post(port: u16, path: &str, headers: &[(&str, &str)], body: &[u8]) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.set_write_timeout(Some(Duration::from_secs(60)))?;
    let mut request = format!("POST {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        request += &format!("{name}: {value}\r\n");
    }
    request += "\r\n";
    stream.write_all(request.as_bytes())?;
    stream.write_all(body)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {head:?}")))?;
    Ok(HttpResponse { status, body: body.to_string() })
}

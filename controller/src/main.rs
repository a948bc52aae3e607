//! The `fleetfit-controller` binary: flags and environment, logs, then [`run`] until SIGTERM or
//! Ctrl-C.

use clap::{Parser, ValueEnum};
use fleetfit_controller::cloud::Kwok;
use fleetfit_controller::provision::BatchWindow;
use fleetfit_controller::run::{run, Config};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

/// Provisions the nodes of a Kubernetes cluster at least cost with fleetfit's engine, from
/// Karpenter's own NodePools, NodeClaims and EC2NodeClasses.
#[derive(Parser, Debug)]
#[command(name = "fleetfit-controller", version, about, long_about = None)]
struct Args {
    /// The cluster's name (instance tags, logs).
    #[arg(long, env = "CLUSTER_NAME", default_value = "fleetfit")]
    cluster_name: String,
    /// The AWS region whose catalog prices the plans.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    region: String,
    /// Where nodes come from: `aws` launches EC2 instances (CreateFleet; credentials, and
    /// `AWS_ENDPOINT_URL` if set, from the standard AWS SDK chain); `kwok` creates Node objects
    /// for KWOK's fake kubelets.
    #[arg(long, env = "PROVIDER", value_enum, default_value_t = Provider::Kwok)]
    provider: Provider,
    /// The API server's URL as nodes reach it (aws: written into the nodes' user data).
    #[arg(long, env = "CLUSTER_ENDPOINT")]
    cluster_endpoint: Option<String>,
    /// The cluster's CA certificate, base64 as in a kubeconfig (aws).
    #[arg(long, env = "CLUSTER_CA_BUNDLE")]
    cluster_ca_bundle: Option<String>,
    /// The cluster's Service CIDR (aws: nodes derive the cluster DNS address from it).
    #[arg(long, env = "CLUSTER_CIDR")]
    cluster_cidr: Option<String>,
    /// A batch of pending pods closes after this long without a new one (Go duration).
    #[arg(long, env = "BATCH_IDLE_DURATION", default_value = "1s", value_parser = duration)]
    batch_idle_duration: Duration,
    /// ... or this long after it opened.
    #[arg(long, env = "BATCH_MAX_DURATION", default_value = "10s", value_parser = duration)]
    batch_max_duration: Duration,
    /// Packing: `karpenter` (Karpenter's own decisions) or `optimize` (cheaper, never worse).
    #[arg(long, value_enum, default_value_t = Mode::Optimize)]
    mode: Mode,
    /// Consolidation: `karpenter` (Karpenter v1's methods and rules), `optimize` (Karpenter's
    /// passes with cost-aware repacking and N→M replacements) or `global` (the best set of moves
    /// within the budgets).
    #[arg(long, env = "CONSOLIDATION_MODE", default_value = "optimize")]
    consolidation_mode: fleetfit::consolidate::ConsolidationMode,
    /// Let spot nodes be replaced by cheaper spot nodes (Karpenter's SpotToSpotConsolidation).
    #[arg(long, env = "SPOT_TO_SPOT_CONSOLIDATION")]
    spot_to_spot_consolidation: bool,
    /// How long a disruption decision waits before it is checked again and carried out.
    #[arg(long, env = "DISRUPTION_VALIDATION", default_value = "15s", value_parser = duration)]
    disruption_validation: Duration,
    /// Leader election: one replica (the holder of a coordination.k8s.io Lease) writes, the
    /// others wait to take over. `--leader-elect=false` only for a single replica.
    #[arg(long, env = "LEADER_ELECT", default_value_t = true, action = clap::ArgAction::Set)]
    leader_elect: bool,
    /// The Lease's name.
    #[arg(long, env = "LEASE_NAME", default_value = "fleetfit-controller-leader")]
    lease_name: String,
    /// The Lease's namespace: POD_NAMESPACE, else the service account's namespace, else
    /// `default`.
    #[arg(long, env = "POD_NAMESPACE")]
    lease_namespace: Option<String>,
    /// How long a Lease holds without renewal: a standby takes over this long after the leader
    /// stopped renewing.
    #[arg(long, env = "LEASE_DURATION", default_value = "15s", value_parser = duration)]
    lease_duration: Duration,
    /// How long the leader tries to renew before it stops writing (less than the duration).
    #[arg(long, env = "LEASE_RENEW_DEADLINE", default_value = "10s", value_parser = duration)]
    lease_renew_deadline: Duration,
    /// How often the Lease is renewed, or tried by a standby.
    #[arg(long, env = "LEASE_RETRY_PERIOD", default_value = "2s", value_parser = duration)]
    lease_retry_period: Duration,
    /// How often instances no NodeClaim knows are looked for.
    #[arg(long, env = "GC_INTERVAL", default_value = "2m", value_parser = duration)]
    gc_interval: Duration,
    /// How old an instance (or a launch) must be before garbage collection judges it.
    #[arg(long, env = "GC_GRACE", default_value = "30s", value_parser = duration)]
    gc_grace: Duration,
    /// Where `/metrics`, `/healthz`, `/readyz` and `/plan` are served.
    #[arg(long, env = "METRICS_ADDRESS", default_value = "0.0.0.0:8080")]
    metrics_address: SocketAddr,
    /// Watch and report what would be done (`/plan`, `/consolidation`, `/metrics`, a log line),
    /// launching nothing and writing nothing: the client refuses every write.
    #[arg(long, env = "SHADOW")]
    shadow: bool,
    /// Log lines as JSON objects instead of text.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Provider {
    Kwok,
    Aws,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mode {
    Karpenter,
    Optimize,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn duration(text: &str) -> Result<Duration, String> {
    let d: fleetfit::time::Duration = text.parse()?;
    u64::try_from(d.0).map(Duration::from_millis).map_err(|_| format!("{text}: must not be negative"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    match args.log_format {
        LogFormat::Json => tracing_subscriber::fmt().json().with_env_filter(filter).init(),
        LogFormat::Text => tracing_subscriber::fmt().with_env_filter(filter).init(),
    }
    // kube's TLS goes through rustls: one crypto provider, chosen here.
    #[allow(deprecated)] // ring is what kube is built with here; it has no post-quantum key exchange
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("fleetfit-controller: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(start(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "stopped");
            eprintln!("fleetfit-controller: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn start(args: Args) -> fleetfit_controller::Result<()> {
    // What a provider needs is checked before anything else is: a mistake is told at once.
    let join = match args.provider {
        Provider::Aws if !cfg!(feature = "aws") => return Err(no_aws()),
        Provider::Aws => Some(Join::from_flags(args.cluster_endpoint, args.cluster_ca_bundle, args.cluster_cidr)?),
        Provider::Kwok => None,
    };
    let config = Config {
        cluster_name: args.cluster_name,
        region: args.region,
        batch: BatchWindow { idle: args.batch_idle_duration, max: args.batch_max_duration },
        plan: fleetfit::plan::PlanOptions {
            mode: match args.mode {
                Mode::Karpenter => fleetfit::plan::Mode::Karpenter,
                Mode::Optimize => fleetfit::plan::Mode::Optimize,
            },
            ..Default::default()
        },
        http: args.metrics_address,
        shadow: args.shadow,
        disruption: fleetfit_controller::disruption::DisruptionConfig {
            mode: args.consolidation_mode,
            spot_to_spot: args.spot_to_spot_consolidation,
            validation: args.disruption_validation,
            ..Default::default()
        },
        gc_interval: args.gc_interval,
        gc_grace: args.gc_grace,
        leader_election: args.leader_elect.then(|| {
            let namespace = args.lease_namespace.clone().unwrap_or_else(|| {
                std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
                    .map(|s| s.trim().to_string())
                    .unwrap_or_else(|_| "default".into())
            });
            fleetfit_controller::leader::LeaseConfig {
                lease_duration: args.lease_duration,
                renew_deadline: args.lease_renew_deadline,
                retry_period: args.lease_retry_period,
                ..fleetfit_controller::leader::LeaseConfig::new(
                    namespace,
                    args.lease_name.clone(),
                    fleetfit_controller::leader::identity(),
                )
            }
        }),
        ..Config::default()
    };
    if let Some(lease) = &config.leader_election {
        lease.validate().map_err(|e| fleetfit_controller::Error::Config(format!("leader election: {e}")))?;
    }
    let no_api =
        |e: &dyn std::fmt::Display| fleetfit_controller::Error::Config(format!("no Kubernetes API to talk to: {e}"));
    let kube_config = kube::Config::infer().await.map_err(|e| no_api(&e))?;
    let client = if args.shadow {
        fleetfit_controller::shadow::read_only_client(kube_config).map_err(|e| no_api(&e))?
    } else {
        fleetfit_controller::client(kube_config).map_err(|e| no_api(&e))?
    };
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
        }
    };
    match args.provider {
        Provider::Kwok => run(client.clone(), Kwok::new(client), config, None, shutdown).await,
        Provider::Aws => start_aws(client, config, join.unwrap_or_default(), shutdown).await,
    }
}

fn no_aws() -> fleetfit_controller::Error {
    fleetfit_controller::Error::Config(
        "--provider aws: this build has no EC2 provider (build with `--features aws`); use --provider kwok".into(),
    )
}

/// What nodes need to join the cluster (`--provider aws`).
#[derive(Default)]
#[cfg_attr(not(feature = "aws"), allow(dead_code))]
struct Join {
    endpoint: String,
    ca_bundle: String,
    cidr: String,
}

impl Join {
    fn from_flags(
        endpoint: Option<String>,
        ca_bundle: Option<String>,
        cidr: Option<String>,
    ) -> fleetfit_controller::Result<Join> {
        let required = |value: Option<String>, flag: &str, env: &str| {
            value.filter(|v| !v.is_empty()).ok_or_else(|| {
                fleetfit_controller::Error::Config(format!(
                    "--provider aws needs {flag} (or {env}): nodes cannot join the cluster without it"
                ))
            })
        };
        Ok(Join {
            endpoint: required(endpoint, "--cluster-endpoint", "CLUSTER_ENDPOINT")?,
            ca_bundle: required(ca_bundle, "--cluster-ca-bundle", "CLUSTER_CA_BUNDLE")?,
            cidr: required(cidr, "--cluster-cidr", "CLUSTER_CIDR")?,
        })
    }
}

#[cfg(feature = "aws")]
async fn start_aws(
    client: kube::Client,
    config: Config,
    join: Join,
    shutdown: impl std::future::Future<Output = ()>,
) -> fleetfit_controller::Result<()> {
    use fleetfit_controller::aws::{sdk_clients, Aws, Cluster};
    let version = client
        .apiserver_version()
        .await
        .map_err(|e| fleetfit_controller::Error::Config(format!("cannot read the API server's version: {e}")))?;
    let cluster = Cluster {
        name: config.cluster_name.clone(),
        endpoint: join.endpoint,
        ca_bundle: join.ca_bundle,
        cidr: join.cidr,
        version: format!("{}.{}", version.major, version.minor.trim_end_matches('+')),
    };
    let (ec2, iam) = sdk_clients(&config.region).await;
    let provider = Aws::new(ec2, iam, cluster);
    run(client, provider, config, None, shutdown).await
}

#[cfg(not(feature = "aws"))]
async fn start_aws(
    _client: kube::Client,
    _config: Config,
    _join: Join,
    _shutdown: impl std::future::Future<Output = ()>,
) -> fleetfit_controller::Result<()> {
    Err(no_aws())
}

//! The controller running: the caches, the provisioning loop, the NodeClaim lifecycle loop and
//! the HTTP endpoints (`/metrics`, `/healthz`, `/readyz`, `/plan`), until shutdown.

use crate::cloud::CloudProvider;
use crate::disruption::{Disrupter, DisruptionConfig};
use crate::leader::{Fencing, LeaseConfig};
use crate::lifecycle::Lifecycle;
use crate::provision::{BatchWindow, Provisioner};
use crate::state::{Changes, Stores};
use crate::Metrics;
use fleetfit::plan::PlanOptions;
use fleetfit::Catalog;
use kube::runtime::events::{Recorder, Reporter};
use kube::Client;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the controller runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The cluster's name (tags, logs).
    pub cluster_name: String,
    /// The region whose catalog prices the plans.
    pub region: String,
    pub batch: BatchWindow,
    pub plan: PlanOptions,
    /// Where `/metrics`, `/healthz`, `/readyz` and `/plan` are served (port 0: any free one).
    pub http: SocketAddr,
    /// How often the lifecycle loop runs at least (it also runs on every NodeClaim or Node
    /// change).
    pub resync: Duration,
    /// Shadow mode: plan and report, launch nothing, write nothing. Give [`run`] a client from
    /// [`crate::shadow::read_only_client`] too, so that nothing can.
    pub shadow: bool,
    /// The disruption loop (consolidation, drift, expiration).
    pub disruption: DisruptionConfig,
    /// Leader election: only the replica holding this Lease writes; the others keep their
    /// caches warm and serve their endpoints, ready to take over. `None`: this replica writes
    /// alone (one replica, or tests). Not used in shadow mode, which writes nothing.
    pub leader_election: Option<LeaseConfig>,
    /// Garbage collection: how often, and how old an instance or a launch must be to be judged.
    pub gc_interval: Duration,
    pub gc_grace: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            cluster_name: "fleetfit".into(),
            region: "us-west-2".into(),
            batch: BatchWindow::default(),
            plan: PlanOptions::default(),
            http: SocketAddr::from(([127, 0, 0, 1], 8080)),
            resync: Duration::from_secs(10),
            shadow: false,
            disruption: DisruptionConfig::default(),
            leader_election: None,
            gc_interval: crate::gc::INTERVAL,
            gc_grace: crate::gc::GRACE,
        }
    }
}

/// What the HTTP endpoints show.
#[derive(Default)]
struct Shown {
    ready: AtomicBool,
    /// The last plan, as the CLI's JSON.
    plan: Mutex<String>,
    /// Shadow mode: the last consolidation decision, as the CLI's JSON.
    consolidation: Mutex<String>,
}

/// Runs the controller with `provider` until `shutdown` completes. Returns the address the
/// HTTP endpoints were served on once they are (through `bound`), for tests that pick port 0.
pub async fn run<P: CloudProvider>(
    client: Client,
    provider: P,
    config: Config,
    bound: Option<tokio::sync::oneshot::Sender<SocketAddr>>,
    shutdown: impl Future<Output = ()>,
) -> crate::Result<()> {
    let catalog = Catalog::aws(&config.region)?;
    let metrics = Arc::new(Metrics::default());
    let shown = Arc::new(Shown::default());
    let listener = TcpListener::bind(config.http)
        .await
        .map_err(|e| crate::Error::Config(format!("--metrics-address {}: {e}", config.http)))?;
    let address = listener.local_addr().map_err(|e| crate::Error::Config(e.to_string()))?;
    tracing::info!(%address, cluster = %config.cluster_name, provider = provider.name(), region = %config.region, "starting");
    if let Some(tx) = bound {
        let _ = tx.send(address);
    }
    let server = tokio::spawn(serve(listener, metrics.clone(), shown.clone()));

    let changes = Arc::new(Changes::default());
    let stores = Stores::start(&client, changes.clone());
    let mut tasks = Vec::new();
    // One task waits for the caches (a store wakes one waiter only); the loops wait on it.
    let (synced_tx, synced) = tokio::sync::watch::channel(false);
    {
        let stores = stores.clone();
        let shown = shown.clone();
        tasks.push(tokio::spawn(async move {
            if stores.ready().await.is_ok() {
                shown.ready.store(true, Ordering::SeqCst);
                let _ = synced_tx.send(true);
                tracing::info!("caches synced");
            }
        }));
    }
    // The loops that write start once this replica leads (at once without leader election).
    let (leading_tx, leading) = tokio::sync::watch::channel(false);
    let fencing = match (&config.leader_election, config.shadow) {
        (Some(lease), false) => {
            lease.validate().map_err(|e| crate::Error::Config(format!("leader election: {e}")))?;
            Fencing::elected()
        }
        _ => {
            let _ = leading_tx.send(true);
            Fencing::default()
        }
    };
    // The leadership, once held: kept here (dropping it would stop the renewals), released at
    // shutdown; its handle tells the end of `run` when it is lost.
    let held: Arc<Mutex<Option<crate::leader::Leadership>>> = Arc::default();
    let (led_tx, led) = tokio::sync::oneshot::channel::<crate::leader::LeaderHandle>();
    if let (Some(lease), false) = (config.leader_election.clone(), config.shadow) {
        let client = client.clone();
        let fencing = fencing.clone();
        let held = held.clone();
        tasks.push(tokio::spawn(async move {
            tracing::info!(lease = %lease.name, namespace = %lease.namespace, identity = %lease.identity, "waiting to lead");
            match crate::leader::acquire(client, lease).await {
                Ok(leadership) => {
                    tracing::info!("leading");
                    fencing.lead(leadership.handle());
                    let _ = led_tx.send(leadership.handle());
                    *held.lock().unwrap_or_else(|e| e.into_inner()) = Some(leadership);
                    let _ = leading_tx.send(true);
                }
                Err(e) => tracing::error!(error = %e, "leader election failed"),
            }
        }));
    }
    let reporter = Reporter { controller: "fleetfit-controller".into(), instance: std::env::var("POD_NAME").ok() };
    let recorder = Recorder::new(client.clone(), reporter.clone());
    let mut provisioner = Provisioner::new(
        client.clone(),
        stores.clone(),
        catalog.clone(),
        config.plan.clone(),
        recorder,
        metrics.clone(),
    );
    provisioner.shadow = config.shadow;
    provisioner.fencing = fencing.clone();
    let provisioner_recent = provisioner.recent.clone();
    let unavailable = provisioner.unavailable.clone();
    let disrupter = Arc::new(Disrupter {
        client: client.clone(),
        stores: stores.clone(),
        catalog: catalog.clone(),
        unavailable: unavailable.clone(),
        config: config.disruption,
        recorder: Recorder::new(client.clone(), reporter.clone()),
        metrics: metrics.clone(),
        recent: provisioner.recent.clone(),
        placing: provisioner.placing.clone(),
        fencing: fencing.clone(),
    });
    {
        let changes = changes.clone();
        let (mut synced, mut leading) = (synced.clone(), leading.clone());
        let window = config.batch;
        let resync = config.resync;
        let shown = shown.clone();
        let disrupter = disrupter.clone();
        tasks.push(tokio::spawn(async move {
            wait_to_write(&mut synced, &mut leading).await;
            tracing::debug!("provisioner started");
            loop {
                // A batch of pod changes, or every resync period all the same: a pod whose
                // nomination lapsed has nothing new to say.
                tokio::select! {
                    () = window.wait(&changes.pods) => tracing::debug!("batch closed"),
                    () = tokio::time::sleep(resync) => {}
                }
                let pass = provisioner.pass().await;
                if let Some(plan) = &pass.plan {
                    if let Ok(json) = serde_json::to_string(plan) {
                        *shown.plan.lock().unwrap_or_else(|e| e.into_inner()) = json;
                    }
                }
                if provisioner.shadow {
                    if let Some((c, _)) = disrupter.decide() {
                        tracing::info!(
                            cluster_cost_per_hour = c.cost_per_hour_before,
                            savings_per_hour = c.savings_per_hour,
                            commands = c.commands.len(),
                            "shadow: consolidation would"
                        );
                        if let Ok(json) = serde_json::to_string(&c) {
                            *shown.consolidation.lock().unwrap_or_else(|e| e.into_inner()) = json;
                        }
                    }
                }
                if !pass.created.is_empty() {
                    // The claims' launches, registrations and so on follow.
                    changes.claims.notify_one();
                }
            }
        }));
    }
    let provider = Arc::new(provider);
    if !config.shadow {
        let collector = crate::gc::Collector {
            client: client.clone(),
            stores: stores.clone(),
            provider: provider.clone(),
            recent: provisioner_recent.clone(),
            metrics: metrics.clone(),
            fencing: fencing.clone(),
            grace: config.gc_grace,
        };
        let (mut synced, mut leading) = (synced.clone(), leading.clone());
        let interval = config.gc_interval;
        tasks.push(tokio::spawn(async move {
            wait_to_write(&mut synced, &mut leading).await;
            loop {
                tokio::time::sleep(interval).await;
                let collected = collector.pass().await;
                tracing::debug!(?collected, "garbage collection pass");
            }
        }));
    }
    let lifecycle = Lifecycle {
        client: client.clone(),
        stores: stores.clone(),
        catalog,
        provider,
        unavailable,
        metrics,
        recorder: Recorder::new(client.clone(), reporter.clone()),
        evictions: Default::default(),
        fencing: fencing.clone(),
        recent: provisioner_recent,
    };
    if !config.shadow {
        let (mut synced, mut leading) = (synced.clone(), leading.clone());
        let interval = config.disruption.interval;
        let client = client.clone();
        let stores = stores.clone();
        let fencing = fencing.clone();
        tasks.push(tokio::spawn(async move {
            wait_to_write(&mut synced, &mut leading).await;
            loop {
                tokio::time::sleep(interval).await;
                if fencing.check().is_ok() {
                    crate::drift::write(&client, &stores).await;
                }
                let outcome = disrupter.pass().await;
                tracing::debug!(?outcome, "disruption pass");
            }
        }));
    }
    if !config.shadow {
        let changes = changes.clone();
        let (mut synced, mut leading) = (synced.clone(), leading.clone());
        let resync = config.resync;
        tasks.push(tokio::spawn(async move {
            wait_to_write(&mut synced, &mut leading).await;
            loop {
                lifecycle.pass().await;
                // Until a change, the resync, or a refused eviction may be asked again.
                let wait = lifecycle.evictions.next_wait().map_or(resync, |w| w.min(resync));
                let _ = tokio::time::timeout(wait, changes.claims.notified()).await;
                // Let a burst of changes settle into one pass.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }
    // Until shutdown, or until the leadership is lost: then every task stops at once (their
    // writes are fenced already) and the process ends with an error, as controller-runtime's.
    let lost = async {
        match led.await {
            Ok(handle) => handle.lost().await,
            Err(_) => std::future::pending().await,
        }
    };
    let lost_first = tokio::select! {
        () = shutdown => false,
        () = lost => true,
    };
    for task in tasks {
        task.abort();
    }
    server.abort();
    let leadership = held.lock().unwrap_or_else(|e| e.into_inner()).take();
    if lost_first {
        tracing::error!("leadership lost: stopping");
        return Err(crate::Error::LeadershipLost);
    }
    tracing::info!("shutting down");
    // A leadership held is handed over at once: a standby takes it without waiting for it to
    // expire.
    if let Some(leadership) = leadership {
        if let Err(e) = leadership.release().await {
            tracing::warn!(error = %e, "the Lease was not released; it expires");
        }
    }
    Ok(())
}

/// Waits until the caches are synced and this replica leads.
async fn wait_to_write(
    synced: &mut tokio::sync::watch::Receiver<bool>,
    leading: &mut tokio::sync::watch::Receiver<bool>,
) {
    let _ = synced.wait_for(|s| *s).await;
    let _ = leading.wait_for(|l| *l).await;
}

/// A small HTTP/1.1 server for the endpoints (one request per connection).
async fn serve(listener: TcpListener, metrics: Arc<Metrics>, shown: Arc<Shown>) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else { continue };
        let metrics = metrics.clone();
        let shown = shown.clone();
        tokio::spawn(async move {
            // The request's head, however it arrives (a client may write it in pieces); closing
            // with some of it unread would reset the connection under the answer.
            let mut head = Vec::with_capacity(512);
            let mut buffer = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                match socket.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buffer[..n]),
                }
            }
            let request = String::from_utf8_lossy(&head);
            let path = request.split_whitespace().nth(1).unwrap_or("/");
            let (status, kind, body) = match path {
                "/metrics" => ("200 OK", "text/plain; version=0.0.4", metrics.render()),
                "/healthz" => ("200 OK", "text/plain", "ok\n".to_string()),
                "/readyz" if shown.ready.load(Ordering::SeqCst) => ("200 OK", "text/plain", "ok\n".to_string()),
                "/readyz" => ("503 Service Unavailable", "text/plain", "caches not synced\n".to_string()),
                "/plan" => {
                    let plan = shown.plan.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    ("200 OK", "application/json", if plan.is_empty() { "null".into() } else { plan })
                }
                "/consolidation" => {
                    let c = shown.consolidation.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    ("200 OK", "application/json", if c.is_empty() { "null".into() } else { c })
                }
                _ => ("404 Not Found", "text/plain", "not found\n".to_string()),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(body.as_bytes()).await;
        });
    }
}

//! Leader election against a real API server: one leader among candidates, takeover after a
//! leader dies (within lease duration + retry period) or at once after it releases, the fence
//! failing before anyone else can lead when a leader is cut off from the API server, and racing
//! candidates (409s) of which exactly one wins. Short timings: 3 s lease, 2 s renew deadline,
//! 0.5 s retry period.

mod support;

use fleetfit_controller::leader::{acquire, Leadership, LeaseConfig};
use futures::future::{select, Either};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, PostParams};
use std::future::pending;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::TestEnv;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const NAMESPACE: &str = "default";
const LEASE_DURATION: Duration = Duration::from_secs(3);
const RENEW_DEADLINE: Duration = Duration::from_secs(2);
const RETRY_PERIOD: Duration = Duration::from_millis(500);
/// Request latency and scheduling on a loaded machine.
const SLACK: Duration = Duration::from_secs(1);

fn config(lease: &str, identity: &str) -> LeaseConfig {
    LeaseConfig {
        lease_duration: LEASE_DURATION,
        renew_deadline: RENEW_DEADLINE,
        retry_period: RETRY_PERIOD,
        ..LeaseConfig::new(NAMESPACE, lease, identity)
    }
}

/// The leader module's logs, as the tests print them (shown when one fails).
static LOGS: Mutex<String> = Mutex::new(String::new());

struct Tee;

impl std::io::Write for Tee {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(bytes);
        eprint!("{text}");
        LOGS.lock().unwrap_or_else(|e| e.into_inner()).push_str(&text);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_writer(|| Tee)
        .with_ansi(false)
        .with_env_filter("fleetfit_controller::leader=debug")
        .try_init();
}

/// How many of the leader module's log lines contain all of `parts`.
fn logged(parts: &[&str]) -> usize {
    LOGS.lock().unwrap_or_else(|e| e.into_inner()).lines().filter(|l| parts.iter().all(|p| l.contains(p))).count()
}

/// A candidate in its own task: when it acquired, and its leadership.
fn candidate(client: &kube::Client, lease: &str, identity: &str) -> JoinHandle<(Instant, Leadership)> {
    let (client, config) = (client.clone(), config(lease, identity));
    tokio::spawn(async move {
        let leadership = acquire(client, config).await.expect("acquire");
        (Instant::now(), leadership)
    })
}

async fn holder(client: &kube::Client, lease: &str) -> (Option<String>, i32) {
    let lease = Api::<Lease>::namespaced(client.clone(), NAMESPACE).get(lease).await.expect("reading the lease");
    let spec = lease.spec.unwrap_or_default();
    (spec.holder_identity, spec.lease_transitions.unwrap_or(0))
}

fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leader_then_takeover_after_a_kill_and_after_a_release() {
    logs();
    let env = TestEnv::builder("leader-takeover").moto(false).start();
    let client = env.client().await;
    const LEASE: &str = "takeover";

    // Two candidates for an absent lease: both try to create it, one does.
    let (a, b) = (candidate(&client, LEASE, "a"), candidate(&client, LEASE, "b"));
    let (winner, mut loser, winner_name, loser_name) = match select(a, b).await {
        Either::Left((a, b)) => (a.expect("a").1, b, "a", "b"),
        Either::Right((b, a)) => (b.expect("b").1, a, "b", "a"),
    };
    assert_eq!(holder(&client, LEASE).await, (Some(winner_name.to_string()), 0));
    // The other waits as long as the leader renews.
    for _ in 0..30 {
        tokio::time::sleep(LEASE_DURATION * 2 / 30).await;
        assert!(winner.is_valid(), "{winner_name} stopped leading");
        assert!(!loser.is_finished(), "{loser_name} acquired the lease {winner_name} holds");
    }

    // The leader dies: no more renewals, no release.
    let valid_until = winner.fence().expect("the leader's fence").valid_until;
    let killed = Instant::now();
    drop(winner);
    let (acquired, second) = (&mut loser).await.expect(loser_name);
    let took = acquired - killed;
    println!("after a kill: {loser_name} took over in {}", secs(took));
    assert!(acquired > valid_until, "{loser_name} took over while the dead leader's fence would still pass");
    assert!(took <= LEASE_DURATION + RETRY_PERIOD + SLACK, "{loser_name} took {} to take over", secs(took));
    assert_eq!(holder(&client, LEASE).await, (Some(loser_name.to_string()), 1));

    // A standby, then the leader's graceful shutdown: the standby takes over at once.
    let mut c = candidate(&client, LEASE, "c");
    tokio::time::sleep(LEASE_DURATION / 2).await;
    assert!(!c.is_finished(), "c acquired the lease {loser_name} holds");
    let handle = second.handle();
    let released = Instant::now();
    second.release().await.expect("release");
    assert!(!handle.is_valid(), "the fence passes after a release");
    let (acquired, third) = (&mut c).await.expect("c");
    let took = acquired - released;
    println!("after a release: c took over in {}", secs(took));
    assert!(took <= RETRY_PERIOD + SLACK, "c took {} to take a released lease", secs(took));
    assert_eq!(holder(&client, LEASE).await, (Some("c".to_string()), 2));
    assert!(third.is_valid());
    third.release().await.expect("release");
    assert_eq!(holder(&client, LEASE).await, (None, 2));
}

/// A TCP proxy to the API server that can be cut: it then swallows what it is sent and answers
/// nothing, on the connections it has and on new ones, like a network partition.
struct Proxy {
    port: u16,
    cut: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl Proxy {
    async fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding the proxy");
        let port = listener.local_addr().expect("the proxy's address").port();
        let cut = Arc::new(AtomicBool::new(false));
        let flag = cut.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { continue };
                let cut = flag.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(("127.0.0.1", target)).await else { return };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::join!(pump(client_read, server_write, &cut), pump(server_read, client_write, &cut));
                });
            }
        });
        Proxy { port, cut, task }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pump(mut from: tokio::net::tcp::OwnedReadHalf, mut to: tokio::net::tcp::OwnedWriteHalf, cut: &AtomicBool) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if cut.load(Ordering::SeqCst) {
            pending::<()>().await; // hold the connection open, answer nothing
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

/// A client for the API server through `proxy`.
async fn client_via(env: &TestEnv, proxy: &Proxy) -> kube::Client {
    let _ = env.client().await; // installs the TLS crypto provider
    let kubeconfig = kube::config::Kubeconfig::read_from(&env.kubeconfig).expect("kubeconfig");
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
        .await
        .expect("kubeconfig");
    config.cluster_url = format!("https://127.0.0.1:{}", proxy.port).parse().expect("the proxy's URL");
    kube::Client::try_from(config).expect("a client through the proxy")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_off_leader_fails_its_fence_before_another_acquires() {
    logs();
    let env = TestEnv::builder("leader-fence").moto(false).start();
    let client = env.client().await;
    const LEASE: &str = "fence";
    let proxy = Proxy::start(env.api_port).await;
    let a = acquire(client_via(&env, &proxy).await, config(LEASE, "a")).await.expect("a acquires");
    let handle = a.handle();
    let lost = tokio::spawn(async move {
        handle.lost().await;
        Instant::now()
    });
    let mut b = candidate(&client, LEASE, "b");
    tokio::time::sleep(LEASE_DURATION * 2).await;
    assert!(a.is_valid() && !b.is_finished(), "a should still lead, b wait");

    let cut = Instant::now();
    proxy.cut();
    let mut fence_failed = None;
    while !b.is_finished() {
        if fence_failed.is_none() && a.fence().is_err() {
            fence_failed = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (acquired, leader) = (&mut b).await.expect("b");
    let fence_failed = fence_failed.expect("a's fence still passed when b acquired the lease");
    let lost = lost.await.expect("a's loss");
    println!(
        "after the cut: a's fence failed at {}, a lost at {}, b acquired at {} ({} after the fence failed)",
        secs(fence_failed - cut),
        secs(lost - cut),
        secs(acquired - cut),
        secs(acquired - fence_failed)
    );
    assert!(fence_failed < acquired && lost < acquired, "a still led when b acquired the lease");
    assert!(
        fence_failed - cut <= RENEW_DEADLINE + SLACK,
        "a's fence passed {} after the cut",
        secs(fence_failed - cut)
    );
    assert!(acquired - cut <= LEASE_DURATION + RETRY_PERIOD + SLACK, "b took {}", secs(acquired - cut));
    assert_eq!(holder(&client, LEASE).await, (Some("b".to_string()), 1));
    assert!(leader.is_valid());
    drop(a);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_candidates_exactly_one_wins_and_a_taken_lease_is_lost() {
    logs();
    let env = TestEnv::builder("leader-race").moto(false).start();
    let client = env.client().await;
    const LEASE: &str = "race";
    let api: Api<Lease> = Api::namespaced(client.clone(), NAMESPACE);
    let mut last = None;
    let mut conflicts_total = 0;
    // Round 0 races to create the lease; odd rounds to take over an expired one (held by a
    // holder that never renews, for 1 s); even rounds to take a released one.
    for round in 0..6 {
        if round % 2 == 1 {
            let mut lease = api.get(LEASE).await.expect("the lease");
            let spec = lease.spec.as_mut().expect("a spec");
            spec.holder_identity = Some("ghost".into());
            spec.lease_duration_seconds = Some(1);
            api.replace(LEASE, &PostParams::default(), &lease).await.expect("a ghost holder");
        }
        let mut tasks: Vec<_> = (0..3).map(|k| candidate(&client, LEASE, &format!("r{round}-{k}"))).collect();
        let started = Instant::now();
        let first = loop {
            if let Some(k) = tasks.iter().position(|t| t.is_finished()) {
                break k;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "round {round}: nobody acquired the lease");
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        // A second winner would have come within moments of the first.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let finished = tasks.iter().filter(|t| t.is_finished()).count();
        assert_eq!(finished, 1, "round {round}: {finished} candidates acquired the lease");
        let (_, leader) = tasks.remove(first).await.expect("the winner");
        assert!(leader.is_valid());
        assert_eq!(holder(&client, LEASE).await, (Some(format!("r{round}-{first}")), round));
        let conflicts = logged(&["another candidate wrote the lease first", &format!("identity=r{round}-")]);
        conflicts_total += conflicts;
        println!(
            "round {round}: r{round}-{first} won in {}; {conflicts} 409s for the others",
            secs(started.elapsed() - Duration::from_secs(1))
        );
        for task in tasks {
            task.abort();
        }
        if round < 5 {
            leader.release().await.expect("release");
        } else {
            last = Some(leader);
        }
    }

    // The candidates did race: some lost on a 409 rather than finding the lease taken.
    assert!(conflicts_total > 0, "no candidate got a 409 in 6 rounds: the races were not races");

    // Someone else writes itself in as the holder: the leader notices at its next renewal.
    let leader = last.expect("the last round's leader");
    let mut lease = api.get(LEASE).await.expect("the lease");
    lease.spec.as_mut().expect("a spec").holder_identity = Some("intruder".into());
    let taken = Instant::now();
    api.replace(LEASE, &PostParams::default(), &lease).await.expect("an intruder");
    tokio::time::timeout(RETRY_PERIOD + SLACK, leader.lost()).await.expect("the leader to notice");
    println!("a taken lease was lost in {}", secs(taken.elapsed()));
    assert!(leader.fence().is_err());
}

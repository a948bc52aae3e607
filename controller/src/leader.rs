//! Leader election through a `coordination.k8s.io/v1` Lease, as client-go's (and so Karpenter's
//! and controller-runtime's), with fencing.
//!
//! - [`acquire`] waits until this replica holds the lease: it creates it, or takes it over once
//!   it is released or expired. A lease expires `leaseDurationSeconds` after this replica last
//!   saw it change, on this replica's monotonic clock: the holder's `renewTime` (another
//!   machine's clock) is never compared with ours. Every write carries the `resourceVersion` it
//!   read, so of two candidates racing for one lease only one wins (the other gets a 409).
//! - [`Leadership`] renews every `retry_period`. Its [`Leadership::fence`] passes only while
//!   `now < start of the last successful renewal + renew_deadline`. Others need
//!   `lease_duration` from when they saw that renewal, which happened after it was sent: with
//!   `renew_deadline < lease_duration` a replica that lost the lease stops passing the fence
//!   before any other can acquire it (the difference, 5 s by default, is the margin for a write
//!   that checked the fence just before it failed). A renewal that does not succeed before the
//!   fence would fail, or that finds the lease taken or deleted, loses the leadership:
//!   [`Leadership::lost`] completes, and the controller should stop writing and exit.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::Client;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Which lease, who we are, and client-go's timings.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    /// This replica's name in `holderIdentity`: [`identity`].
    pub identity: String,
    /// How long a lease lasts unrenewed, as others count it (written as `leaseDurationSeconds`,
    /// rounded up to a second). Default 15 s.
    pub lease_duration: Duration,
    /// How long the holder keeps leading without a successful renewal. Default 10 s; less than
    /// `lease_duration`.
    pub renew_deadline: Duration,
    /// How often the holder renews and candidates look. Default 2 s; less than `renew_deadline`.
    pub retry_period: Duration,
}

impl LeaseConfig {
    /// The lease `namespace/name` for `identity`, with client-go's timings (15 s, 10 s, 2 s).
    pub fn new(namespace: impl Into<String>, name: impl Into<String>, identity: impl Into<String>) -> Self {
        LeaseConfig {
            namespace: namespace.into(),
            name: name.into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }

    /// Whether the fencing argument holds: `0 < retry_period < renew_deadline < lease_duration`.
    pub fn validate(&self) -> Result<(), String> {
        if self.identity.is_empty() || self.name.is_empty() || self.namespace.is_empty() {
            return Err("the lease's namespace, name and identity must not be empty".into());
        }
        if self.retry_period.is_zero()
            || self.retry_period >= self.renew_deadline
            || self.renew_deadline >= self.lease_duration
        {
            return Err(format!(
                "need 0 < retry period ({:?}) < renew deadline ({:?}) < lease duration ({:?})",
                self.retry_period, self.renew_deadline, self.lease_duration
            ));
        }
        Ok(())
    }

    fn lease_seconds(&self) -> i32 {
        let seconds = self.lease_duration.as_secs() + u64::from(self.lease_duration.subsec_nanos() > 0);
        i32::try_from(seconds).unwrap_or(i32::MAX)
    }
}

/// This replica's identity: `POD_NAME`, else the host's name and the process id.
pub fn identity() -> String {
    if let Some(pod) = std::env::var("POD_NAME").ok().filter(|p| !p.is_empty()) {
        return pod;
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into());
    format!("{host}_{}", std::process::id())
}

/// The leadership is lost: not renewed in time, taken, released, or its [`Leadership`] dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("leadership lost")]
pub struct Lost;

/// Proof, when taken, that no other replica can acquire the lease before `valid_until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence {
    pub valid_until: Instant,
    /// The lease's `leaseTransitions` when this replica acquired it: a token that grows with
    /// every change of holder.
    pub term: i32,
}

impl Fence {
    /// How long the proof lasts from now (zero once it has lapsed).
    pub fn remaining(&self) -> Duration {
        self.valid_until.saturating_duration_since(Instant::now())
    }
}

#[derive(Debug, Clone, Copy)]
struct Status {
    valid_until: Instant,
    term: i32,
    lost: bool,
}

impl Status {
    fn fence(&self, now: Instant) -> Result<Fence, Lost> {
        if self.lost || now >= self.valid_until {
            return Err(Lost);
        }
        Ok(Fence { valid_until: self.valid_until, term: self.term })
    }
}

/// A cheap, cloneable view of a [`Leadership`] for the tasks that write.
#[derive(Debug, Clone)]
pub struct LeaderHandle {
    status: watch::Receiver<Status>,
}

impl LeaderHandle {
    /// `Ok` while this replica surely leads; check it just before every write.
    pub fn fence(&self) -> Result<Fence, Lost> {
        if self.status.has_changed().is_err() {
            return Err(Lost); // the Leadership is gone
        }
        self.status.borrow().fence(Instant::now())
    }

    pub fn is_valid(&self) -> bool {
        self.fence().is_ok()
    }

    /// Completes when the leadership is lost (the moment [`LeaderHandle::fence`] starts failing),
    /// released or dropped.
    pub async fn lost(&self) {
        let mut status = self.status.clone();
        loop {
            let until = match status.borrow_and_update().fence(Instant::now()) {
                Ok(fence) => fence.valid_until,
                Err(Lost) => return,
            };
            tokio::select! {
                changed = status.changed() => if changed.is_err() { return },
                () = tokio::time::sleep_until(until.into()) => {}
            }
        }
    }
}

/// What the tasks that write check just before each write: without leader election nothing,
/// with it the fence of the leadership this replica was given ([`Fencing::lead`]), and before
/// it has one, no write goes.
#[derive(Debug, Clone, Default)]
pub struct Fencing(Option<Arc<std::sync::OnceLock<LeaderHandle>>>);

impl Fencing {
    /// Leader election: writes go only once [`Fencing::lead`] is given a leadership, and while
    /// it holds.
    pub fn elected() -> Fencing {
        Fencing(Some(Arc::default()))
    }

    /// This replica leads.
    pub fn lead(&self, handle: LeaderHandle) {
        if let Some(cell) = &self.0 {
            let _ = cell.set(handle);
        }
    }

    /// `Ok` when a write may go now.
    pub fn check(&self) -> Result<(), Lost> {
        match &self.0 {
            None => Ok(()),
            Some(cell) => cell.get().ok_or(Lost)?.fence().map(|_| ()),
        }
    }
}

/// This replica holds the lease; a task renews it until it is lost, released or this is dropped
/// (which stops the renewals without releasing: the lease expires for the others).
pub struct Leadership {
    handle: LeaderHandle,
    status: Arc<watch::Sender<Status>>,
    renewer: JoinHandle<()>,
    api: Api<Lease>,
    config: LeaseConfig,
}

impl Leadership {
    pub fn handle(&self) -> LeaderHandle {
        self.handle.clone()
    }

    pub fn fence(&self) -> Result<Fence, Lost> {
        self.handle.fence()
    }

    pub fn is_valid(&self) -> bool {
        self.handle.is_valid()
    }

    pub async fn lost(&self) {
        self.handle.lost().await
    }

    /// Stops leading (the fence fails from now on) and clears `holderIdentity` so that a
    /// standby takes over at once, as client-go's ReleaseOnCancel. Stop the writers first.
    pub async fn release(mut self) -> Result<(), kube::Error> {
        self.status.send_modify(|s| s.lost = true);
        self.renewer.abort();
        let _ = (&mut self.renewer).await;
        for attempt in 1..=3 {
            let Some(mut lease) = self.api.get_opt(&self.config.name).await? else { return Ok(()) };
            let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
            if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
                return Ok(()); // no longer ours
            }
            let now = now_micro();
            spec.holder_identity = None;
            spec.lease_duration_seconds = Some(1);
            spec.acquire_time = Some(now.clone());
            spec.renew_time = Some(now);
            match self.api.replace(&self.config.name, &PostParams::default(), &lease).await {
                Ok(_) => {
                    tracing::info!(lease = %self.config.name, identity = %self.config.identity, "leadership released");
                    return Ok(());
                }
                // A renewal in flight when the renewer stopped landed first: read it again.
                Err(e) if code(&e) == Some(409) && attempt < 3 => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Drop for Leadership {
    fn drop(&mut self) {
        self.status.send_modify(|s| s.lost = true);
        self.renewer.abort();
    }
}

/// Waits until this replica holds the lease `config.namespace/config.name`. Fails only on
/// errors retrying cannot fix (400, 403, 422, and 404: no such namespace); logs and retries
/// others. Panics if `config` does not [`LeaseConfig::validate`].
pub async fn acquire(client: Client, config: LeaseConfig) -> Result<Leadership, kube::Error> {
    if let Err(e) = config.validate() {
        panic!("lease {}/{}: {e}", config.namespace, config.name);
    }
    let api: Api<Lease> = Api::namespaced(client, &config.namespace);
    tracing::info!(lease = %config.name, namespace = %config.namespace, identity = %config.identity, "acquiring leadership");
    let mut seen: Option<Observed> = None;
    loop {
        let sent = Instant::now();
        match try_acquire(&api, &config, &mut seen).await {
            Ok(Some(term)) => {
                tracing::info!(lease = %config.name, identity = %config.identity, term, "leadership acquired");
                return Ok(Leadership::start(api, config, sent, term));
            }
            Ok(None) => {}
            Err(e) if matches!(code(&e), Some(400 | 403 | 404 | 422)) => return Err(e),
            Err(e) => tracing::warn!(lease = %config.name, error = %e, "cannot acquire the lease; retrying"),
        }
        // Look again after a retry period, or when the lease expires if that is sooner.
        let now = Instant::now();
        let mut wake = now + config.retry_period;
        if let Some(expiry) = seen.as_ref().and_then(|s| s.expiry(config.lease_duration)).filter(|e| *e > now) {
            wake = wake.min(expiry);
        }
        tokio::time::sleep_until(wake.into()).await;
    }
}

/// One look at the lease and, if it is free, one write: `Some(term)` when it is ours.
async fn try_acquire(api: &Api<Lease>, config: &LeaseConfig, seen: &mut Option<Observed>) -> kube::Result<Option<i32>> {
    let written = |result: kube::Result<Lease>, term| match result {
        Ok(_) => Ok(Some(term)),
        // Another candidate wrote first (409: a conflict, or AlreadyExists): look again.
        Err(e) if matches!(code(&e), Some(409)) => {
            tracing::debug!(lease = %config.name, identity = %config.identity, "another candidate wrote the lease first");
            Ok(None)
        }
        Err(e) => Err(e),
    };
    let stamp = now_micro();
    let Some(mut lease) = api.get_opt(&config.name).await? else {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(config.name.clone()),
                namespace: Some(config.namespace.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(config.identity.clone()),
                lease_duration_seconds: Some(config.lease_seconds()),
                acquire_time: Some(stamp.clone()),
                renew_time: Some(stamp),
                lease_transitions: Some(0),
                ..LeaseSpec::default()
            }),
        };
        return written(api.create(&PostParams::default(), &lease).await, 0);
    };
    let spec = lease.spec.take().unwrap_or_default();
    let now = Instant::now();
    let observed = Observed::update(seen, &spec, now);
    let ours = spec.holder_identity.as_deref() == Some(config.identity.as_str());
    if !ours && !observed.free(config.lease_duration, now) {
        tracing::debug!(lease = %config.name, holder = ?spec.holder_identity, "lease held");
        return Ok(None);
    }
    // Ours already (this replica restarted under the same name): carry on with it.
    let term = spec.lease_transitions.unwrap_or(0) + i32::from(!ours);
    lease.spec = Some(LeaseSpec {
        holder_identity: Some(config.identity.clone()),
        lease_duration_seconds: Some(config.lease_seconds()),
        acquire_time: if ours { spec.acquire_time.clone() } else { Some(stamp.clone()) },
        renew_time: Some(stamp),
        lease_transitions: Some(term),
        ..spec
    });
    match api.replace(&config.name, &PostParams::default(), &lease).await {
        Err(e) if code(&e) == Some(404) => Ok(None),
        result => written(result, term),
    }
}

/// The lease as this replica last saw it change, and when, on this replica's clock.
#[derive(Debug)]
struct Observed {
    spec: LeaseSpec,
    at: Instant,
}

impl Observed {
    fn update<'a>(seen: &'a mut Option<Observed>, spec: &LeaseSpec, now: Instant) -> &'a Observed {
        if seen.as_ref().is_none_or(|s| s.spec != *spec) {
            *seen = Some(Observed { spec: spec.clone(), at: now });
        }
        seen.as_ref().expect("just set")
    }

    /// When the lease expires for us; `None` when it has no holder (released).
    fn expiry(&self, default: Duration) -> Option<Instant> {
        self.spec.holder_identity.as_deref().filter(|h| !h.is_empty())?;
        let seconds = self.spec.lease_duration_seconds.and_then(|s| u64::try_from(s).ok()).filter(|s| *s > 0);
        Some(self.at + seconds.map_or(default, Duration::from_secs))
    }

    fn free(&self, default: Duration, now: Instant) -> bool {
        self.expiry(default).is_none_or(|expiry| now >= expiry)
    }
}

impl Leadership {
    fn start(api: Api<Lease>, config: LeaseConfig, sent: Instant, term: i32) -> Leadership {
        let (tx, rx) = watch::channel(Status { valid_until: sent + config.renew_deadline, term, lost: false });
        let status = Arc::new(tx);
        let renewer = tokio::spawn(renew_loop(api.clone(), config.clone(), status.clone(), sent));
        Leadership { handle: LeaderHandle { status: rx }, status, renewer, api, config }
    }
}

async fn renew_loop(api: Api<Lease>, config: LeaseConfig, status: Arc<watch::Sender<Status>>, mut last: Instant) {
    let lose = |why: &str| {
        status.send_modify(|s| s.lost = true);
        tracing::error!(lease = %config.name, identity = %config.identity, "leadership lost: {why}");
    };
    loop {
        let valid_until = status.borrow().valid_until;
        tokio::time::sleep_until((last + config.retry_period).min(valid_until).into()).await;
        if Instant::now() >= valid_until {
            return lose("not renewed within the renew deadline");
        }
        last = Instant::now();
        match tokio::time::timeout_at(valid_until.into(), renew(&api, &config)).await {
            Err(_) => return lose("not renewed within the renew deadline"),
            Ok(Ok(true)) => {
                status.send_modify(|s| s.valid_until = last + config.renew_deadline);
                tracing::trace!(lease = %config.name, "lease renewed");
            }
            Ok(Ok(false)) => return lose("the lease was taken or deleted"),
            Ok(Err(e)) => tracing::warn!(lease = %config.name, error = %e, "cannot renew the lease; retrying"),
        }
    }
}

/// One renewal: `false` when the lease is gone or another holds it.
async fn renew(api: &Api<Lease>, config: &LeaseConfig) -> kube::Result<bool> {
    let Some(mut lease) = api.get_opt(&config.name).await? else { return Ok(false) };
    let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
    if spec.holder_identity.as_deref() != Some(config.identity.as_str()) {
        return Ok(false);
    }
    spec.renew_time = Some(now_micro());
    spec.lease_duration_seconds = Some(config.lease_seconds());
    match api.replace(&config.name, &PostParams::default(), &lease).await {
        Ok(_) => Ok(true),
        Err(e) if code(&e) == Some(404) => Ok(false),
        Err(e) => Err(e), // 409: changed since read; the next try reads it again
    }
}

fn code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// The wall clock as the Lease's times: informative only, never compared across machines.
fn now_micro() -> MicroTime {
    let micros = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_micros());
    let micros = i64::try_from(micros).unwrap_or(i64::MAX);
    MicroTime(Timestamp::from_microsecond(micros).unwrap_or(Timestamp::UNIX_EPOCH))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(holder: Option<&str>, seconds: Option<i32>, renewed: i64) -> LeaseSpec {
        LeaseSpec {
            holder_identity: holder.map(String::from),
            lease_duration_seconds: seconds,
            renew_time: Some(MicroTime(Timestamp::from_second(renewed).unwrap())),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn expiry_counts_from_our_observation_not_the_remote_renew_time() {
        let t0 = Instant::now();
        let default = Duration::from_secs(15);
        let mut seen = None;
        // renewTime a day old on the holder's clock: no matter, we only just saw it.
        let o = Observed::update(&mut seen, &held(Some("a"), Some(15), 1_000), t0);
        assert!(!o.free(default, t0 + Duration::from_secs(14)));
        assert!(o.free(default, t0 + Duration::from_secs(15)));
        // The same record seen again later does not restart the count ...
        let o = Observed::update(&mut seen, &held(Some("a"), Some(15), 1_000), t0 + Duration::from_secs(10));
        assert_eq!(o.expiry(default), Some(t0 + Duration::from_secs(15)));
        // ... a renewal does.
        let o = Observed::update(&mut seen, &held(Some("a"), Some(15), 1_002), t0 + Duration::from_secs(12));
        assert_eq!(o.expiry(default), Some(t0 + Duration::from_secs(27)));
    }

    #[test]
    fn the_lease_duration_comes_from_the_lease_and_a_released_lease_is_free() {
        let t0 = Instant::now();
        let default = Duration::from_secs(15);
        let mut seen = None;
        let o = Observed::update(&mut seen, &held(Some("a"), Some(3), 5), t0);
        assert_eq!(o.expiry(default), Some(t0 + Duration::from_secs(3)));
        let o = Observed::update(&mut seen, &held(Some("a"), None, 6), t0);
        assert_eq!(o.expiry(default), Some(t0 + default));
        let o = Observed::update(&mut seen, &held(None, Some(1), 7), t0);
        assert!(o.free(default, t0));
        let o = Observed::update(&mut seen, &held(Some(""), Some(15), 8), t0);
        assert!(o.free(default, t0));
    }

    #[test]
    fn the_fence_fails_at_the_renew_deadline_and_when_lost() {
        let t0 = Instant::now();
        let status = Status { valid_until: t0 + Duration::from_secs(10), term: 3, lost: false };
        assert_eq!(status.fence(t0), Ok(Fence { valid_until: t0 + Duration::from_secs(10), term: 3 }));
        assert!(status.fence(t0 + Duration::from_millis(9_999)).is_ok());
        assert_eq!(status.fence(t0 + Duration::from_secs(10)), Err(Lost));
        assert_eq!(Status { lost: true, ..status }.fence(t0), Err(Lost));
    }

    #[test]
    fn a_lapsed_leader_fails_its_fence_before_an_observer_can_take_over() {
        let config = LeaseConfig::new("ns", "lease", "a");
        let default = config.lease_duration;
        let sent = Instant::now();
        let leader = Status { valid_until: sent + config.renew_deadline, term: 0, lost: false };
        // The observer sees the renewal at the earliest as it is sent.
        for delay in [0, 1, 500, 5_000] {
            let mut seen = None;
            let spec = held(Some("a"), Some(config.lease_seconds()), 1);
            let o = Observed::update(&mut seen, &spec, sent + Duration::from_millis(delay));
            let takeover = o.expiry(default).unwrap();
            assert!(leader.fence(takeover).is_err());
            assert!(leader.fence(takeover - (config.lease_duration - config.renew_deadline)).is_err());
        }
    }

    #[test]
    fn configs_must_keep_the_fencing_margin() {
        let mut config = LeaseConfig::new("kube-system", "fleetfit", "a");
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.lease_seconds(), 15);
        config.lease_duration = Duration::from_millis(2_500);
        assert_eq!(config.lease_seconds(), 3);
        config.renew_deadline = Duration::from_millis(2_500);
        assert!(config.validate().is_err());
        config.renew_deadline = Duration::from_secs(2);
        config.retry_period = Duration::from_secs(2);
        assert!(config.validate().is_err());
        assert!(LeaseConfig::new("ns", "lease", "").validate().is_err());
    }

    #[tokio::test]
    async fn a_handle_reports_the_loss_when_the_deadline_passes_or_the_leadership_goes() {
        let valid_until = Instant::now() + Duration::from_millis(50);
        let (tx, rx) = watch::channel(Status { valid_until, term: 0, lost: false });
        let handle = LeaderHandle { status: rx };
        assert!(handle.is_valid());
        tokio::time::timeout(Duration::from_secs(5), handle.lost()).await.expect("lost at the deadline");
        assert!(Instant::now() >= valid_until && !handle.is_valid());

        tx.send_modify(|s| s.valid_until = Instant::now() + Duration::from_secs(60));
        assert!(handle.is_valid());
        drop(tx);
        assert_eq!(handle.fence(), Err(Lost));
        tokio::time::timeout(Duration::from_secs(5), handle.lost()).await.expect("lost when dropped");
    }
}

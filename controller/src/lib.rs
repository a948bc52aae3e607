//! `fleetfit-controller`: fleetfit's engine running a real cluster, as a Karpenter-compatible
//! node autoscaler. It serves Karpenter's own APIs ([`crds`]: `karpenter.sh/v1` NodePool and
//! NodeClaim, `karpenter.k8s.aws/v1` EC2NodeClass), so existing objects keep working.
//!
//! - [`state`]: a reflector per kind the core reads, and the snapshot the core plans on (the
//!   objects as the API server gives them, read by the core's own manifest reader).
//! - [`provision`]: pending pods batched (1 s idle, 10 s max), planned by the core with the
//!   NodeClaims in flight counted, a NodeClaim per new node; Events on pods; invalid NodePools
//!   reported in their status and left out.
//! - [`lifecycle`]: each NodeClaim Launched, Registered, Initialized, with Karpenter's timeouts,
//!   and terminated when deleted.
//! - [`cloud`]: the providers behind one trait: `kwok`, and `aws` ([`aws`], a cargo feature:
//!   the AWS SDK is large), whose EC2 calls are batched ([`batch`]).
//! - [`shadow`]: a client that refuses writes, for watching a live cluster.
//! - [`run`]: all of it with `/metrics` ([`metrics`]), `/healthz`, `/readyz`, `/plan`.
//!
//! Like the other bindings, it contains no scheduling logic: every decision is the core's.

#[cfg(feature = "aws")]
pub mod aws;
pub mod batch;
pub mod cloud;
pub mod crds;
pub mod disruption;
pub mod drift;
pub mod gc;
pub mod leader;
pub mod lifecycle;
pub mod metrics;
pub mod provision;
pub mod run;
pub mod shadow;
pub mod state;
pub mod termination;

pub use metrics::Metrics;

/// `Result` with the controller's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the controller.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The core rejected its input (a NodePool, a pod, the catalog); the message names the
    /// object and field.
    #[error(transparent)]
    Core(#[from] fleetfit::Error),
    /// The controller was started with arguments or configuration it cannot use.
    #[error("configuration: {0}")]
    Config(String),
    /// Another replica leads now: this one stopped writing and ends.
    #[error("leadership lost")]
    LeadershipLost,
}

/// FNV-1a, 64 bits: the stable hash of the names Karpenter derives from content (NodePool
/// hashes, launch template names, idempotency tokens).
pub fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash: u64, &b| (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The Kubernetes client the controller runs with: without kube's built-in retries. Its loops
/// retry on their own, and a retried 429 would hide what an eviction's refusal means (a
/// PodDisruptionBudget allows none now) behind minutes of backoff inside one call.
pub fn client(mut config: kube::Config) -> Result<kube::Client, kube::Error> {
    config.default_retry = false;
    kube::Client::try_from(config)
}

/// The controller's version, which is fleetfit's.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_keep_their_message() {
        let core = fleetfit::Error::field("NodePool default", "spec.limits.cpu", "invalid quantity \"x\"");
        let err = Error::from(core);
        assert_eq!(err.to_string(), "NodePool default: spec.limits.cpu: invalid quantity \"x\"");
    }
}

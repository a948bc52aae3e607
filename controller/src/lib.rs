//! `fleetfit-controller`: fleetfit's engine running a real cluster.
//!
//! What it will be: an event-driven node autoscaler in the manner of Karpenter. It watches
//! Pods, Nodes, NodePools and NodeClaims; batches pending pods (an idle window of about a
//! second, ten seconds at most); asks the core for the cheapest plan; creates NodeClaims and
//! launches them with EC2 CreateFleet; and runs a consolidation loop that carries out the
//! core's decisions (taint, launch a replacement, drain through the Eviction API respecting
//! PodDisruptionBudgets, terminate). A **shadow mode** watches a real cluster and reports what
//! it would do without changing anything.
//!
//! What it is today: this crate's error type and the command-line front. It does not talk to
//! a cluster or to EC2 yet; the watches, reconcilers and cloud calls come with their own
//! modules (`provisioner`, `disruption`, ...). Like the other bindings, it contains no
//! scheduling logic: every decision is the core's.

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

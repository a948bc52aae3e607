//! fleetfit's engine: which nodes should a Kubernetes cluster run, and at what cost.
//!
//! Pure functions, no I/O, no clock, no randomness without a seed. The layers, bottom up:
//! - [`quantity`], [`resources`]: Kubernetes quantities and resource vectors, exact.
//! - [`time`], [`cron`]: Go durations, RFC 3339 timestamps, disruption-budget schedules.
//! - [`requirements`], [`labels`], [`taints`]: Karpenter v1's constraint algebra.
//! - [`model`], [`manifest`]: pods, workloads, nodes, NodePools, EC2NodeClasses, read from
//!   Kubernetes YAML/JSON and `kubectl get -o json` snapshots.
//! - [`catalog`]: the embedded EC2 catalog and Karpenter's capacity math.
//! - [`filter`]: which NodePool × instance type × offering can host each shape of pod, and
//!   why every other cannot; [`explain`] reports it per workload.
//! - [`pack`]: the scheduling simulation — Karpenter's own decisions, a cheaper optimizing
//!   mode, and an exact MILP mode (`milp`, HiGHS, native only) — returning a [`plan::Plan`].
//! - [`lp`], [`bound`]: a pure-Rust simplex and the lower bounds every plan carries.
//! - [`consolidate`]: which nodes to delete or replace, within disruption budgets, and why
//!   every other node stays.
//! - [`simulate`]: a trace of workload changes replayed through provisioning and
//!   consolidation: cost, nodes, pending pods and churn over time.
//!
//! ```
//! let manifests = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n    - name: web\n      resources: {requests: {cpu: 500m, memory: 1Gi}}\n";
//! let inventory = fleetfit::manifest::parse("web.yaml", manifests)?;
//! let catalog = fleetfit::Catalog::aws("us-east-1")?;
//! let answer = fleetfit::explain(&inventory, &catalog, &fleetfit::ExplainOptions::default())?;
//! assert!(answer.default_nodepool && answer.workloads[0].schedulable);
//! # Ok::<(), fleetfit::Error>(())
//! ```

pub mod bound;
pub mod catalog;
pub mod claims;
pub mod consolidate;
pub mod cron;
pub mod error;
pub mod explain;
pub mod filter;
pub mod labels;
pub mod lp;
pub mod manifest;
#[cfg(feature = "milp")]
pub mod milp;
pub mod model;
pub mod pack;
pub mod plan;
pub mod profile;
pub mod quantity;
pub mod requirements;
pub mod resources;
pub mod simulate;
pub mod suggest;
pub mod taints;
pub mod time;
pub mod volumes;
pub mod whatif;

pub use catalog::{Catalog, InstanceType, Offering};
pub use error::{Error, Result};
pub use explain::{explain, ExplainOptions, Explanation};
pub use model::{Inventory, NodeClass, NodePool, Pod};
pub use quantity::Quantity;
pub use requirements::{Operator, Requirement, Requirements};
pub use resources::{Bytes, Millicores, Resources};

//! fleetfit's engine: which nodes should a Kubernetes cluster run, and at what cost.
//!
//! Pure functions, no I/O, no clock, no randomness without a seed. The layers, bottom up:
//! - [`quantity`], [`resources`]: Kubernetes quantities and resource vectors, exact.
//! - [`requirements`], [`labels`], [`taints`]: Karpenter v1's constraint algebra.
//! - [`model`], [`manifest`]: pods, workloads, nodes, NodePools, EC2NodeClasses, read from
//!   Kubernetes YAML/JSON and `kubectl get -o json` snapshots.
//! - [`catalog`]: the embedded EC2 catalog and Karpenter's capacity math.
//! - [`filter`]: which NodePool × instance type × offering can host each shape of pod, and
//!   why every other cannot.

pub mod catalog;
pub mod error;
pub mod explain;
pub mod filter;
pub mod labels;
pub mod manifest;
pub mod model;
pub mod quantity;
pub mod requirements;
pub mod resources;
pub mod taints;
pub mod time;
pub mod volumes;

pub use error::{Error, Result};
pub use model::{Inventory, NodeClass, NodePool, Pod};
pub use quantity::Quantity;
pub use requirements::{Operator, Requirement, Requirements};
pub use resources::{Bytes, Millicores, Resources};

//! The EC2 catalog (embedded from `core/data/`, see its README for provenance) and the
//! capacity math that turns an instance type into allocatable resources, exactly as
//! Karpenter's AWS provider computes them.

use crate::requirements::Requirements;
use crate::resources::Resources;
use serde::Serialize;

/// `karpenter.sh/capacity-type` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CapacityType {
    /// Capacity reservations (preferred first by Karpenter).
    Reserved,
    Spot,
    OnDemand,
}

impl CapacityType {
    pub fn as_str(self) -> &'static str {
        match self {
            CapacityType::Reserved => "reserved",
            CapacityType::Spot => "spot",
            CapacityType::OnDemand => "on-demand",
        }
    }
}

impl std::fmt::Display for CapacityType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where and how an instance type can be bought, and for how much per hour.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Offering {
    pub zone: String,
    pub capacity_type: CapacityType,
    /// Price per hour in the catalog's currency.
    pub price: f64,
    pub available: bool,
}

/// What the node's overhead is made of (subtracted from capacity to give allocatable).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Overhead {
    pub kube_reserved: Resources,
    pub system_reserved: Resources,
    pub eviction_threshold: Resources,
}

/// One instance type, with the capacity a node of it would have under a given node class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceType {
    pub name: String,
    /// Every label Karpenter puts on the type (instance-type, arch, os, region, category,
    /// family, generation, size, cpu, memory, gpu-*, ...), `zone` and `capacity-type` over
    /// its offerings; labels the type does not have are `DoesNotExist`.
    pub requirements: Requirements,
    pub capacity: Resources,
    pub overhead: Overhead,
    /// capacity − kube-reserved − system-reserved − eviction threshold.
    pub allocatable: Resources,
    pub offerings: Vec<Offering>,
}

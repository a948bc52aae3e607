//! Resource vectors: cpu, memory, pods, ephemeral-storage and any extended resource
//! (`nvidia.com/gpu`, `aws.amazon.com/neuron`, `vpc.amazonaws.com/pod-eni`, `hugepages-2Mi`, ...).

use crate::quantity::Quantity;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

pub const CPU: &str = "cpu";
pub const MEMORY: &str = "memory";
pub const PODS: &str = "pods";
pub const EPHEMERAL_STORAGE: &str = "ephemeral-storage";
pub const NVIDIA_GPU: &str = "nvidia.com/gpu";
pub const AMD_GPU: &str = "amd.com/gpu";
pub const NEURON: &str = "aws.amazon.com/neuron";
pub const NEURON_CORE: &str = "aws.amazon.com/neuroncore";
pub const POD_ENI: &str = "vpc.amazonaws.com/pod-eni";
pub const EFA: &str = "vpc.amazonaws.com/efa";
pub const HABANA_GAUDI: &str = "habana.ai/gaudi";

/// CPU in thousandths of a core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Millicores(pub i64);

/// Memory or storage in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Bytes(pub i64);

impl Millicores {
    pub fn cores(self) -> f64 {
        self.0 as f64 / 1000.0
    }
}

impl Bytes {
    pub const KI: i64 = 1024;
    pub const MI: i64 = 1024 * 1024;
    pub const GI: i64 = 1024 * 1024 * 1024;

    pub fn mib(mib: i64) -> Self {
        Bytes(mib * Self::MI)
    }
    pub fn gib(gib: i64) -> Self {
        Bytes(gib * Self::GI)
    }
    pub fn as_gib(self) -> f64 {
        self.0 as f64 / Self::GI as f64
    }
}

impl fmt::Display for Millicores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Quantity::from_milli(self.0).fmt(f)
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Quantity::from_bytes(self.0).fmt(f)
    }
}

/// Why a resource name is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown resource {0:?}: use cpu, memory, pods, ephemeral-storage, hugepages-<size> or a domain-qualified name such as nvidia.com/gpu")]
pub struct ResourceNameError(pub String);

/// A vector of resource amounts. The four standard resources are fields; everything else is
/// an extended resource counted in whole units (hugepages in bytes).
///
/// Used for pod requests (where `pods` is 1, as the scheduler counts it), for a node's
/// capacity and allocatable, and for NodePool limits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Resources {
    pub cpu: Millicores,
    pub memory: Bytes,
    pub pods: i64,
    pub ephemeral_storage: Bytes,
    pub extended: BTreeMap<String, i64>,
}

/// The first resource that does not fit, with how much was needed and how much there is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    pub resource: String,
    pub needed: i64,
    pub available: i64,
}

impl Shortfall {
    /// `6 CPU`, `12Gi memory`, `2 nvidia.com/gpu` — amounts as a person reads them.
    pub fn describe_amount(resource: &str, amount: i64) -> String {
        describe_amount(resource, amount)
    }
}

/// An amount of a resource as a person reads it: `3.92 CPU`, `6.74Gi memory`, `29 pods`.
pub fn describe_amount(resource: &str, amount: i64) -> String {
    match resource {
        CPU => format!("{} CPU", format_amount(resource, amount)),
        _ => format!("{} {resource}", format_amount(resource, amount)),
    }
}

/// The number alone, in the resource's natural unit: `3.92` (cores), `6.74Gi`, `29`.
pub fn format_amount(resource: &str, amount: i64) -> String {
    match resource {
        CPU => trim_float(amount as f64 / 1000.0),
        MEMORY | EPHEMERAL_STORAGE => human_bytes(amount),
        r if r.starts_with("hugepages-") => human_bytes(amount),
        _ => amount.to_string(),
    }
}

fn trim_float(x: f64) -> String {
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// Bytes with a binary suffix, at most two decimals: `6.74Gi`, `512Mi`.
pub fn human_bytes(bytes: i64) -> String {
    let units = [("Ei", 60), ("Pi", 50), ("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)];
    for (suffix, shift) in units {
        let unit = 1i64 << shift;
        if bytes.unsigned_abs() >= unit as u64 {
            let value = bytes as f64 / unit as f64;
            let text = format!("{value:.2}");
            let text = text.trim_end_matches('0').trim_end_matches('.');
            return format!("{text}{suffix}");
        }
    }
    bytes.to_string()
}

impl Resources {
    /// True when the name is one Kubernetes accepts in requests and capacities.
    pub fn is_valid_name(name: &str) -> bool {
        matches!(name, CPU | MEMORY | PODS | EPHEMERAL_STORAGE | "storage")
            || name.starts_with("hugepages-")
            || name.starts_with("requests.")
            || (name.contains('/') && !name.starts_with('/') && !name.ends_with('/'))
    }

    /// Sets one resource from a quantity: cpu in millicores, everything else in whole units.
    pub fn set(&mut self, name: &str, quantity: Quantity) -> Result<(), ResourceNameError> {
        match name {
            CPU => self.cpu = Millicores(quantity.milli()),
            MEMORY => self.memory = Bytes(quantity.units()),
            PODS => self.pods = quantity.units(),
            EPHEMERAL_STORAGE => self.ephemeral_storage = Bytes(quantity.units()),
            other if Self::is_valid_name(other) => {
                let units = quantity.units();
                if units == 0 {
                    self.extended.remove(other);
                } else {
                    self.extended.insert(other.to_string(), units);
                }
            }
            other => return Err(ResourceNameError(other.to_string())),
        }
        Ok(())
    }

    /// One resource's amount in its base unit (millicores for cpu); 0 when absent.
    pub fn get(&self, name: &str) -> i64 {
        match name {
            CPU => self.cpu.0,
            MEMORY => self.memory.0,
            PODS => self.pods,
            EPHEMERAL_STORAGE => self.ephemeral_storage.0,
            other => self.extended.get(other).copied().unwrap_or(0),
        }
    }

    /// One resource as a [`Quantity`].
    pub fn quantity(&self, name: &str) -> Quantity {
        match name {
            CPU => Quantity::from_milli(self.cpu.0),
            MEMORY | EPHEMERAL_STORAGE => Quantity::from_bytes(self.get(name)),
            n if n.starts_with("hugepages-") => Quantity::from_bytes(self.get(name)),
            _ => Quantity::from_units(self.get(name)),
        }
    }

    /// Every resource with a non-zero amount, standard ones first, as (name, amount).
    pub fn iter(&self) -> impl Iterator<Item = (&str, i64)> + '_ {
        [(CPU, self.cpu.0), (MEMORY, self.memory.0), (PODS, self.pods), (EPHEMERAL_STORAGE, self.ephemeral_storage.0)]
            .into_iter()
            .chain(self.extended.iter().map(|(k, v)| (k.as_str(), *v)))
            .filter(|(_, v)| *v != 0)
    }

    pub fn is_zero(&self) -> bool {
        self.iter().next().is_none()
    }

    /// Element-wise sum, saturating.
    pub fn add(&self, other: &Resources) -> Resources {
        let mut out = self.clone();
        out.add_assign(other);
        out
    }

    pub fn add_assign(&mut self, other: &Resources) {
        self.cpu.0 = self.cpu.0.saturating_add(other.cpu.0);
        self.memory.0 = self.memory.0.saturating_add(other.memory.0);
        self.pods = self.pods.saturating_add(other.pods);
        self.ephemeral_storage.0 = self.ephemeral_storage.0.saturating_add(other.ephemeral_storage.0);
        for (k, v) in &other.extended {
            let e = self.extended.entry(k.clone()).or_insert(0);
            *e = e.saturating_add(*v);
        }
        self.extended.retain(|_, v| *v != 0);
    }

    /// Element-wise difference, saturating (may go negative: a node over-committed by its
    /// existing pods has negative headroom).
    pub fn sub(&self, other: &Resources) -> Resources {
        let mut out = self.clone();
        out.cpu.0 = out.cpu.0.saturating_sub(other.cpu.0);
        out.memory.0 = out.memory.0.saturating_sub(other.memory.0);
        out.pods = out.pods.saturating_sub(other.pods);
        out.ephemeral_storage.0 = out.ephemeral_storage.0.saturating_sub(other.ephemeral_storage.0);
        for (k, v) in &other.extended {
            let e = out.extended.entry(k.clone()).or_insert(0);
            *e = e.saturating_sub(*v);
        }
        out.extended.retain(|_, v| *v != 0);
        out
    }

    /// Element-wise maximum.
    pub fn max(&self, other: &Resources) -> Resources {
        let mut out = self.clone();
        out.cpu = out.cpu.max(other.cpu);
        out.memory = out.memory.max(other.memory);
        out.pods = out.pods.max(other.pods);
        out.ephemeral_storage = out.ephemeral_storage.max(other.ephemeral_storage);
        for (k, v) in &other.extended {
            let e = out.extended.entry(k.clone()).or_insert(0);
            *e = (*e).max(*v);
        }
        out
    }

    /// Element-wise minimum (an extended resource only one side has is 0, so absent).
    pub fn min(&self, other: &Resources) -> Resources {
        Resources {
            cpu: self.cpu.min(other.cpu),
            memory: self.memory.min(other.memory),
            pods: self.pods.min(other.pods),
            ephemeral_storage: self.ephemeral_storage.min(other.ephemeral_storage),
            extended: self
                .extended
                .iter()
                .filter_map(|(k, v)| other.extended.get(k).map(|w| (k.clone(), (*v).min(*w))))
                .filter(|(_, v)| *v != 0)
                .collect(),
        }
    }

    /// Element-wise maximum, in place.
    pub fn max_assign(&mut self, other: &Resources) {
        self.cpu = self.cpu.max(other.cpu);
        self.memory = self.memory.max(other.memory);
        self.pods = self.pods.max(other.pods);
        self.ephemeral_storage = self.ephemeral_storage.max(other.ephemeral_storage);
        for (k, v) in &other.extended {
            match self.extended.get_mut(k) {
                Some(e) => *e = (*e).max(*v),
                None => {
                    self.extended.insert(k.clone(), *v);
                }
            }
        }
    }

    /// Whether `self + extra` fits in `capacity`, without building the sum.
    pub fn fits_with(&self, extra: &Resources, capacity: &Resources) -> bool {
        let ok = |a: i64, b: i64, cap: i64| a.saturating_add(b) <= cap;
        ok(self.cpu.0, extra.cpu.0, capacity.cpu.0)
            && ok(self.memory.0, extra.memory.0, capacity.memory.0)
            && ok(self.pods, extra.pods, capacity.pods)
            && ok(self.ephemeral_storage.0, extra.ephemeral_storage.0, capacity.ephemeral_storage.0)
            && self
                .extended
                .keys()
                .chain(extra.extended.keys())
                .all(|k| ok(self.get(k), extra.get(k), capacity.extended.get(k).copied().unwrap_or(0)))
    }

    /// Multiplies every amount by `n`, saturating.
    pub fn scale(&self, n: i64) -> Resources {
        Resources {
            cpu: Millicores(self.cpu.0.saturating_mul(n)),
            memory: Bytes(self.memory.0.saturating_mul(n)),
            pods: self.pods.saturating_mul(n),
            ephemeral_storage: Bytes(self.ephemeral_storage.0.saturating_mul(n)),
            extended: self.extended.iter().map(|(k, v)| (k.clone(), v.saturating_mul(n))).collect(),
        }
    }

    /// `Ok` when every requested amount fits in `capacity`; otherwise the first shortfall,
    /// checking cpu, memory, pods, ephemeral-storage, then extended resources by name.
    /// A resource the capacity does not list has capacity 0.
    pub fn fits_in(&self, capacity: &Resources) -> Result<(), Shortfall> {
        for (name, needed) in self.iter() {
            let available = capacity.get(name);
            if needed > available {
                return Err(Shortfall { resource: name.to_string(), needed, available });
            }
        }
        Ok(())
    }

    /// Fast check without building a [`Shortfall`].
    /// CPU (millicores), memory (bytes), pods and ephemeral storage (bytes), in that order.
    pub fn core(&self) -> [i64; 4] {
        [self.cpu.0, self.memory.0, self.pods, self.ephemeral_storage.0]
    }

    pub fn fits(&self, capacity: &Resources) -> bool {
        self.cpu <= capacity.cpu
            && self.memory <= capacity.memory
            && self.pods <= capacity.pods
            && self.ephemeral_storage <= capacity.ephemeral_storage
            && self.extended.iter().all(|(k, v)| *v <= capacity.extended.get(k).copied().unwrap_or(0))
    }
}

impl fmt::Display for Resources {
    /// `cpu=1930m memory=6903Mi pods=29`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (name, _) in self.iter() {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            write!(f, "{name}={}", self.quantity(name))?;
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

impl Serialize for Resources {
    /// As Kubernetes writes resource lists: `{"cpu": "1930m", "memory": "6903Mi", "pods": "29"}`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let entries: Vec<_> = self.iter().collect();
        let mut map = serializer.serialize_map(Some(entries.len()))?;
        for (name, _) in entries {
            map.serialize_entry(name, &self.quantity(name))?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Resources {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = BTreeMap::<String, Quantity>::deserialize(deserializer)?;
        let mut out = Resources::default();
        for (name, q) in raw {
            if q.is_negative() {
                return Err(serde::de::Error::custom(format!("{name}: negative quantity {q}")));
            }
            out.set(&name, q).map_err(serde::de::Error::custom)?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(pairs: &[(&str, &str)]) -> Resources {
        let mut r = Resources::default();
        for (k, v) in pairs {
            r.set(k, v.parse().unwrap()).unwrap();
        }
        r
    }

    #[test]
    fn sets_and_reads_units() {
        let r = res(&[("cpu", "1.5"), ("memory", "1Gi"), ("nvidia.com/gpu", "2"), ("pods", "1")]);
        assert_eq!(r.cpu, Millicores(1500));
        assert_eq!(r.memory, Bytes::gib(1));
        assert_eq!(r.get("nvidia.com/gpu"), 2);
        assert_eq!(r.to_string(), "cpu=1500m memory=1Gi pods=1 nvidia.com/gpu=2");
        assert!(Resources::default().set("gpu", Quantity::from_units(1)).is_err());
    }

    #[test]
    fn fit_reports_the_first_shortfall() {
        let need = res(&[("cpu", "6"), ("memory", "1Gi")]);
        let have = res(&[("cpu", "3920m"), ("memory", "8Gi")]);
        let short = need.fits_in(&have).unwrap_err();
        assert_eq!(short.resource, "cpu");
        assert_eq!(describe_amount("cpu", short.available), "3.92 CPU");
        assert!(!need.fits(&have));
        let gpu = res(&[("nvidia.com/gpu", "1")]);
        assert_eq!(gpu.fits_in(&have).unwrap_err().available, 0);
    }

    #[test]
    fn arithmetic() {
        let a = res(&[("cpu", "1"), ("nvidia.com/gpu", "1")]);
        let b = res(&[("cpu", "250m"), ("memory", "1Mi")]);
        assert_eq!(a.add(&b).sub(&b), a);
        assert_eq!(a.max(&b).cpu, Millicores(1000));
        assert_eq!(a.scale(3).get("nvidia.com/gpu"), 3);
    }

    #[test]
    fn serde_as_resource_list() {
        let r = res(&[("cpu", "1930m"), ("memory", "6903Mi"), ("pods", "29")]);
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, r#"{"cpu":"1930m","memory":"6903Mi","pods":"29"}"#);
        assert_eq!(serde_json::from_str::<Resources>(&json).unwrap(), r);
        assert!(serde_json::from_str::<Resources>(r#"{"cpu":"-1"}"#).is_err());
    }

    #[test]
    fn human_amounts() {
        assert_eq!(human_bytes(Bytes::mib(6903).0), "6.74Gi");
        assert_eq!(describe_amount("memory", Bytes::mib(512).0), "512Mi memory");
        assert_eq!(describe_amount("pods", 29), "29 pods");
    }
}

//! Karpenter's AWS capacity math (`pkg/providers/instancetype/types.go`, v1.14): capacity,
//! kube-reserved, system-reserved and eviction thresholds, hence allocatable, for one instance
//! type under one EC2NodeClass.

use super::spec::{Pods, Shape, TypeSpec, TypeTable};
use super::Overhead;
use crate::model::{AmiFamily, NodeClass, Threshold};
use crate::resources::{Bytes, Millicores, Resources};
use serde::{Deserialize, Serialize};

/// Karpenter controller settings that change capacity (`VM_MEMORY_OVERHEAD_PERCENT`,
/// `RESERVED_ENIS`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct CapacitySettings {
    /// Fraction of instance memory held back for the hypervisor and OS (0.075 = 7.5%).
    pub vm_memory_overhead_percent: f64,
    /// ENIs of the default network card kept out of the pod-density formula (1 with VPC CNI
    /// custom networking).
    pub reserved_enis: u32,
}

impl Default for CapacitySettings {
    fn default() -> Self {
        CapacitySettings { vm_memory_overhead_percent: 0.075, reserved_enis: 0 }
    }
}

impl CapacitySettings {
    pub(crate) fn validate(&self) -> Result<(), String> {
        let p = self.vm_memory_overhead_percent;
        if !p.is_finite() || !(0.0..1.0).contains(&p) {
            return Err(format!("vmMemoryOverheadPercent must be at least 0 and below 1, got {p}"));
        }
        Ok(())
    }
}

/// What an AMI family changes in the math (Karpenter's `FeatureFlags`).
struct FamilyFlags {
    /// kube-reserved memory uses the ENI-limited pod count (with no reserved ENIs), whatever
    /// maxPods says.
    eni_limited_memory_overhead: bool,
    pods_per_core: bool,
    /// Default max pods follow the ENI limit; otherwise 110.
    eni_limited_pods: bool,
}

fn flags(family: AmiFamily) -> FamilyFlags {
    match family {
        AmiFamily::AL2 | AmiFamily::AL2023 | AmiFamily::Custom => {
            FamilyFlags { eni_limited_memory_overhead: true, pods_per_core: true, eni_limited_pods: true }
        }
        AmiFamily::Bottlerocket => {
            FamilyFlags { eni_limited_memory_overhead: false, pods_per_core: false, eni_limited_pods: true }
        }
        AmiFamily::Windows2019 | AmiFamily::Windows2022 => {
            FamilyFlags { eni_limited_memory_overhead: false, pods_per_core: true, eni_limited_pods: false }
        }
    }
}

/// `node.kubernetes.io/windows-build` of the Windows AMI families.
pub(crate) fn windows_build(family: AmiFamily) -> Option<&'static str> {
    match family {
        AmiFamily::Windows2019 => Some("10.0.17763"),
        AmiFamily::Windows2022 => Some("10.0.20348"),
        _ => None,
    }
}

pub(crate) fn is_windows(family: AmiFamily) -> bool {
    windows_build(family).is_some()
}

/// The extended resource Windows nodes get for their secondary IPv4 addresses.
pub(crate) const PRIVATE_IPV4_ADDRESS: &str = "vpc.amazonaws.com/PrivateIPv4Address";

/// Default size of the volume that holds ephemeral storage: 50Gi for Windows, 20Gi otherwise.
fn default_volume(family: AmiFamily) -> Bytes {
    if is_windows(family) {
        Bytes::gib(50)
    } else {
        Bytes::gib(20)
    }
}

/// Capacity, overhead and allocatable of one type under one node class.
pub(crate) struct Sizing {
    pub capacity: Resources,
    pub overhead: Overhead,
    pub allocatable: Resources,
}

pub(crate) fn size(table: &TypeTable, spec: &TypeSpec, nodeclass: &NodeClass, settings: &CapacitySettings) -> Sizing {
    let family = nodeclass.ami_family;
    let f = flags(family);
    let kubelet = &nodeclass.kubelet;

    let (cpu, memory, default_pods, given_ephemeral, local_nvme_gb) = match &spec.shape {
        Shape::Aws { vcpu, memory_mib, pods, local_nvme_gb } => {
            let mib = if table.str(spec.arch) == "arm64" {
                // Gravitons hold back 64 MiB of CMA memory.
                memory_mib.saturating_sub(64)
            } else {
                *memory_mib
            };
            (
                Millicores(*vcpu as i64 * 1000),
                Bytes::mib(vm_adjusted_mib(mib, settings) as i64),
                *pods,
                None,
                *local_nvme_gb,
            )
        }
        Shape::Given { allocatable: Some(allocatable), capacity, .. } => {
            // Explicit allocatable: the node class does not apply.
            let capacity = (**capacity).clone();
            let kube_reserved = floor_zero(capacity.sub(allocatable));
            let allocatable = floor_zero(capacity.sub(&kube_reserved));
            return Sizing { capacity, overhead: Overhead { kube_reserved, ..Overhead::default() }, allocatable };
        }
        Shape::Given { capacity, pods, ephemeral_given, allocatable: None } => {
            (capacity.cpu, capacity.memory, *pods, ephemeral_given.then_some(capacity.ephemeral_storage), 0)
        }
    };

    let eni_limited = default_pods.eni_limited(settings.reserved_enis);
    let mut pods = match kubelet.max_pods {
        Some(max) => max as i64,
        None if f.eni_limited_pods => eni_limited,
        None => 110,
    };
    if let Some(per_core) = kubelet.pods_per_core.filter(|p| *p > 0 && f.pods_per_core) {
        // Karpenter multiplies by vCPUs; a fractional custom cpu counts whole cores.
        pods = pods.min((per_core as i64).saturating_mul(cpu.0 / 1000));
    }

    let ephemeral = given_ephemeral.unwrap_or_else(|| {
        if nodeclass.instance_store_policy.as_deref() == Some("RAID0") && local_nvme_gb > 0 {
            // Karpenter uses the instance store's TotalSizeInGB, in decimal gigabytes.
            Bytes(i64::try_from(local_nvme_gb).unwrap_or(i64::MAX).saturating_mul(1_000_000_000))
        } else {
            nodeclass.root_volume_size.unwrap_or_else(|| default_volume(family))
        }
    });

    let mut capacity = Resources { cpu, memory, pods, ephemeral_storage: ephemeral, ..Resources::default() };
    for (name, amount) in spec.extended.iter() {
        if *amount != 0 {
            capacity.extended.insert(table.str(*name).to_string(), *amount);
        }
    }
    if let (true, Pods::Eni { ipv4_per_eni, .. }) =
        (is_windows(family) && table.str(spec.arch) == "amd64", default_pods)
    {
        if ipv4_per_eni > 1 {
            capacity.extended.insert(PRIVATE_IPV4_ADDRESS.to_string(), ipv4_per_eni as i64 - 1);
        }
    }

    let reserved_pods = if f.eni_limited_memory_overhead { default_pods.eni_limited(0) } else { pods };
    let mut kube_reserved = Resources {
        cpu: kube_reserved_cpu(cpu),
        memory: Bytes(reserved_pods.saturating_mul(11).saturating_add(255).saturating_mul(Bytes::MI)),
        ephemeral_storage: Bytes::gib(1),
        ..Resources::default()
    };
    for (name, q) in &kubelet.kube_reserved {
        // Names other than resources (e.g. `pid`) do not change allocatable.
        let _ = kube_reserved.set(name, *q);
    }
    let mut system_reserved = Resources::default();
    for (name, q) in &kubelet.system_reserved {
        let _ = system_reserved.set(name, *q);
    }

    let eviction_threshold = Resources {
        memory: Bytes(eviction(kubelet.eviction_hard.get("memory.available"), memory.0, Bytes::mib(100).0)),
        ephemeral_storage: Bytes(eviction(
            kubelet.eviction_hard.get("nodefs.available"),
            ephemeral.0,
            percent_of(ephemeral.0, 10.0),
        )),
        ..Resources::default()
    };

    let allocatable = floor_zero(capacity.sub(&kube_reserved).sub(&system_reserved).sub(&eviction_threshold));
    Sizing { capacity, overhead: Overhead { kube_reserved, system_reserved, eviction_threshold }, allocatable }
}

/// Memory after the VM overhead, in MiB: `m − ceil(m × 2^20 × pct / 1024 / 1024)` in float64,
/// as Karpenter computes it.
fn vm_adjusted_mib(mib: u64, settings: &CapacitySettings) -> u64 {
    let bytes = (mib as f64) * (Bytes::MI as f64);
    let overhead = (bytes * settings.vm_memory_overhead_percent / 1024.0 / 1024.0).ceil();
    mib.saturating_sub(overhead.max(0.0) as u64)
}

/// kube-reserved CPU: 6% of the first core, 1% of the second, 0.5% of cores 3–4, 0.25% of the
/// rest, each range truncated to whole millicores.
pub(crate) fn kube_reserved_cpu(cpu: Millicores) -> Millicores {
    const RANGES: [(i64, i64, f64); 4] =
        [(0, 1000, 0.06), (1000, 2000, 0.01), (2000, 4000, 0.005), (4000, 1 << 31, 0.0025)];
    let mut total = 0;
    for (start, end, pct) in RANGES {
        if cpu.0 >= start {
            let span = if cpu.0 < end { cpu.0 - start } else { end - start };
            total += (span as f64 * pct) as i64;
        }
    }
    Millicores(total)
}

/// An eviction threshold for one signal: the `evictionHard` value if set, else the default.
/// `evictionSoft` does not reserve anything: since the fix for aws/karpenter-provider-aws#8407
/// only hard thresholds are taken off allocatable, as the kubelet does.
fn eviction(hard: Option<&Threshold>, capacity: i64, default: i64) -> i64 {
    match hard {
        Some(Threshold::Quantity(q)) => q.units().max(0),
        // Hundredths of a percent; 100% disables the threshold (kubelet semantics).
        Some(Threshold::Percent(hundredths)) => {
            let p = *hundredths as f64 / 100.0;
            if p >= 100.0 {
                0
            } else {
                percent_of(capacity, p)
            }
        }
        None => default,
    }
}

/// `ceil(capacity / 100 × p)` in float64.
fn percent_of(capacity: i64, p: f64) -> i64 {
    (capacity as f64 / 100.0 * p).ceil() as i64
}

fn floor_zero(mut r: Resources) -> Resources {
    r.cpu.0 = r.cpu.0.max(0);
    r.memory.0 = r.memory.0.max(0);
    r.pods = r.pods.max(0);
    r.ephemeral_storage.0 = r.ephemeral_storage.0.max(0);
    r.extended.retain(|_, v| *v > 0);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_reserved_cpu_steps() {
        assert_eq!(kube_reserved_cpu(Millicores(1000)), Millicores(60));
        assert_eq!(kube_reserved_cpu(Millicores(2000)), Millicores(70));
        assert_eq!(kube_reserved_cpu(Millicores(4000)), Millicores(80));
        assert_eq!(kube_reserved_cpu(Millicores(8000)), Millicores(90));
        assert_eq!(kube_reserved_cpu(Millicores(96000)), Millicores(310));
        assert_eq!(kube_reserved_cpu(Millicores(500)), Millicores(30));
    }

    #[test]
    fn vm_overhead_like_karpenter() {
        let s = CapacitySettings::default();
        assert_eq!(vm_adjusted_mib(8192, &s), 7577);
        assert_eq!(vm_adjusted_mib(4032, &s), 3729);
        let none = CapacitySettings { vm_memory_overhead_percent: 0.0, reserved_enis: 0 };
        assert_eq!(vm_adjusted_mib(8192, &none), 8192);
    }

    #[test]
    fn eviction_thresholds() {
        let gi20 = Bytes::gib(20).0;
        assert_eq!(eviction(None, gi20, percent_of(gi20, 10.0)), Bytes::gib(2).0);
        assert_eq!(eviction(Some(&Threshold::Percent(500)), 1000, 7), 50);
        assert_eq!(eviction(Some(&Threshold::Percent(10000)), 1000, 7), 0);
        let q = "1Gi".parse().unwrap();
        assert_eq!(eviction(Some(&Threshold::Quantity(q)), 1000, 7), Bytes::gib(1).0);
    }

    #[test]
    fn settings_are_validated() {
        assert!(CapacitySettings::default().validate().is_ok());
        assert!(CapacitySettings { vm_memory_overhead_percent: 1.0, reserved_enis: 0 }.validate().is_err());
        assert!(CapacitySettings { vm_memory_overhead_percent: f64::NAN, reserved_enis: 0 }.validate().is_err());
    }
}

//! Well-known node labels (Kubernetes, Karpenter and Karpenter's AWS provider) and the beta
//! aliases Karpenter normalises.

pub const INSTANCE_TYPE: &str = "node.kubernetes.io/instance-type";
pub const ARCH: &str = "kubernetes.io/arch";
pub const OS: &str = "kubernetes.io/os";
pub const HOSTNAME: &str = "kubernetes.io/hostname";
pub const ZONE: &str = "topology.kubernetes.io/zone";
pub const REGION: &str = "topology.kubernetes.io/region";
pub const WINDOWS_BUILD: &str = "node.kubernetes.io/windows-build";
pub const CAPACITY_TYPE: &str = "karpenter.sh/capacity-type";
pub const NODEPOOL: &str = "karpenter.sh/nodepool";
pub const ZONE_ID: &str = "topology.k8s.aws/zone-id";
pub const EC2_NODECLASS: &str = "karpenter.k8s.aws/ec2nodeclass";

pub const INSTANCE_CATEGORY: &str = "karpenter.k8s.aws/instance-category";
pub const INSTANCE_FAMILY: &str = "karpenter.k8s.aws/instance-family";
pub const INSTANCE_GENERATION: &str = "karpenter.k8s.aws/instance-generation";
pub const INSTANCE_SIZE: &str = "karpenter.k8s.aws/instance-size";
pub const INSTANCE_CPU: &str = "karpenter.k8s.aws/instance-cpu";
pub const INSTANCE_CPU_MANUFACTURER: &str = "karpenter.k8s.aws/instance-cpu-manufacturer";
pub const INSTANCE_CPU_SUSTAINED_CLOCK_SPEED_MHZ: &str = "karpenter.k8s.aws/instance-cpu-sustained-clock-speed-mhz";
pub const INSTANCE_MEMORY: &str = "karpenter.k8s.aws/instance-memory";
pub const INSTANCE_EBS_BANDWIDTH: &str = "karpenter.k8s.aws/instance-ebs-bandwidth";
pub const INSTANCE_NETWORK_BANDWIDTH: &str = "karpenter.k8s.aws/instance-network-bandwidth";
pub const INSTANCE_GPU_NAME: &str = "karpenter.k8s.aws/instance-gpu-name";
pub const INSTANCE_GPU_MANUFACTURER: &str = "karpenter.k8s.aws/instance-gpu-manufacturer";
pub const INSTANCE_GPU_COUNT: &str = "karpenter.k8s.aws/instance-gpu-count";
pub const INSTANCE_GPU_MEMORY: &str = "karpenter.k8s.aws/instance-gpu-memory";
pub const INSTANCE_ACCELERATOR_NAME: &str = "karpenter.k8s.aws/instance-accelerator-name";
pub const INSTANCE_ACCELERATOR_MANUFACTURER: &str = "karpenter.k8s.aws/instance-accelerator-manufacturer";
pub const INSTANCE_ACCELERATOR_COUNT: &str = "karpenter.k8s.aws/instance-accelerator-count";
pub const INSTANCE_LOCAL_NVME: &str = "karpenter.k8s.aws/instance-local-nvme";
pub const INSTANCE_HYPERVISOR: &str = "karpenter.k8s.aws/instance-hypervisor";
pub const INSTANCE_ENCRYPTION_IN_TRANSIT_SUPPORTED: &str = "karpenter.k8s.aws/instance-encryption-in-transit-supported";
pub const INSTANCE_CAPABILITY_FLEX: &str = "karpenter.k8s.aws/instance-capability-flex";

/// Node labels and taints Karpenter manages itself.
pub const DO_NOT_DISRUPT: &str = "karpenter.sh/do-not-disrupt";
pub const DISRUPTED_TAINT: &str = "karpenter.sh/disrupted";
pub const UNREGISTERED_TAINT: &str = "karpenter.sh/unregistered";
/// Set on a node once it is Ready with its startup taints gone.
pub const INITIALIZED: &str = "karpenter.sh/initialized";

/// Annotations for static drift: a hash of a NodePool's template (of an EC2NodeClass's spec) on
/// the NodePool (the EC2NodeClass) and on each NodeClaim made from it, with the version of the
/// hash function. A NodeClaim whose hash differs from its NodePool's, at the same version, has
/// drifted.
pub const NODEPOOL_HASH: &str = "karpenter.sh/nodepool-hash";
pub const NODEPOOL_HASH_VERSION: &str = "karpenter.sh/nodepool-hash-version";
pub const NODECLASS_HASH: &str = "karpenter.k8s.aws/ec2nodeclass-hash";
pub const NODECLASS_HASH_VERSION: &str = "karpenter.k8s.aws/ec2nodeclass-hash-version";

/// Labels a NodePool or instance type may leave undefined while a pod still constrains them
/// (Karpenter's `WellKnownLabels`, core and AWS provider).
pub const WELL_KNOWN: &[&str] = &[
    NODEPOOL,
    ZONE,
    REGION,
    INSTANCE_TYPE,
    ARCH,
    OS,
    WINDOWS_BUILD,
    CAPACITY_TYPE,
    ZONE_ID,
    EC2_NODECLASS,
    INSTANCE_CATEGORY,
    INSTANCE_FAMILY,
    INSTANCE_GENERATION,
    INSTANCE_SIZE,
    INSTANCE_CPU,
    INSTANCE_CPU_MANUFACTURER,
    INSTANCE_CPU_SUSTAINED_CLOCK_SPEED_MHZ,
    INSTANCE_MEMORY,
    INSTANCE_EBS_BANDWIDTH,
    INSTANCE_NETWORK_BANDWIDTH,
    INSTANCE_GPU_NAME,
    INSTANCE_GPU_MANUFACTURER,
    INSTANCE_GPU_COUNT,
    INSTANCE_GPU_MEMORY,
    INSTANCE_ACCELERATOR_NAME,
    INSTANCE_ACCELERATOR_MANUFACTURER,
    INSTANCE_ACCELERATOR_COUNT,
    INSTANCE_LOCAL_NVME,
    INSTANCE_HYPERVISOR,
    INSTANCE_ENCRYPTION_IN_TRANSIT_SUPPORTED,
    INSTANCE_CAPABILITY_FLEX,
];

/// Beta and provider aliases, rewritten to the stable key wherever a requirement is built
/// (Karpenter's `NormalizedLabels`).
pub const ALIASES: &[(&str, &str)] = &[
    ("failure-domain.beta.kubernetes.io/zone", ZONE),
    ("failure-domain.beta.kubernetes.io/region", REGION),
    ("beta.kubernetes.io/arch", ARCH),
    ("beta.kubernetes.io/os", OS),
    ("beta.kubernetes.io/instance-type", INSTANCE_TYPE),
    ("topology.ebs.csi.aws.com/zone", ZONE),
];

/// Label domains whose keys Kubernetes, Karpenter and Karpenter's AWS provider define: a key
/// in one of them that none of them defines is almost certainly a typo.
const OWNED_DOMAINS: &[&str] =
    &["kubernetes.io", "node.kubernetes.io", "topology.kubernetes.io", "karpenter.sh", "karpenter.k8s.aws"];

/// Node labels of the owned domains beyond [`WELL_KNOWN`]: set on nodes, or common enough
/// to select on.
const OTHER_OWNED: &[&str] = &[
    HOSTNAME,
    "kubernetes.io/role",
    "node.kubernetes.io/exclude-from-external-load-balancers",
    "node.kubernetes.io/exclude-disruption",
    "karpenter.sh/initialized",
    "karpenter.sh/registered",
    "karpenter.sh/do-not-sync-taints",
    "karpenter.k8s.aws/capacity-reservation-id",
    "karpenter.k8s.aws/capacity-reservation-type",
    "karpenter.k8s.aws/capacity-reservation-interruptible",
    "karpenter.k8s.aws/instance-tenancy",
    "karpenter.k8s.aws/placement-group-id",
    "karpenter.k8s.aws/placement-group-partition",
];

/// Why a node label key a pod or NodePool constrains is almost certainly a typo: it is in a
/// domain Kubernetes or Karpenter owns (`node.kubernetes.io/instance_type`) and none of them
/// defines it. `None` for defined keys and every other domain.
pub fn unknown_key(key: &str) -> Option<String> {
    let (domain, _) = key.split_once('/')?;
    if !OWNED_DOMAINS.contains(&domain) || is_well_known(key) || OTHER_OWNED.contains(&key) {
        return None;
    }
    let known = WELL_KNOWN.iter().chain(OTHER_OWNED).copied();
    Some(format!(
        "unknown label {key:?}: {domain} defines no such label{}",
        crate::suggest::hint(key, known.chain(ALIASES.iter().map(|(a, _)| *a)))
    ))
}

/// The only values a well-known label takes, for the labels whose values do not depend on
/// the catalog.
fn closed_values(key: &str) -> Option<&'static [&'static str]> {
    match normalize(key) {
        CAPACITY_TYPE => Some(&["spot", "on-demand", "reserved"]),
        ARCH => Some(&["amd64", "arm64"]),
        OS => Some(&["linux", "windows"]),
        "karpenter.k8s.aws/instance-tenancy" => Some(&["default", "dedicated"]),
        _ => None,
    }
}

/// Why `value` can never be a value of `key` (`karpenter.sh/capacity-type: ondemand`), with the
/// values it can take; `None` when it can be, or `key`'s values are open.
pub fn impossible_value(key: &str, value: &str) -> Option<String> {
    let values = closed_values(key)?;
    if values.contains(&value) {
        return None;
    }
    Some(format!(
        "{value:?} is not a value of {key} (its values are {}){}",
        values.join(", "),
        crate::suggest::hint(value, values.iter().copied())
    ))
}

/// The stable key for a label (itself when it has no alias).
pub fn normalize(key: &str) -> &str {
    ALIASES.iter().find(|(alias, _)| *alias == key).map(|(_, stable)| *stable).unwrap_or(key)
}

pub fn is_well_known(key: &str) -> bool {
    WELL_KNOWN.contains(&key)
}

/// Labels that may not appear in a NodePool's template labels or requirements because
/// Karpenter or the kubelet owns them.
pub fn is_restricted(key: &str) -> bool {
    key == HOSTNAME
        || key == EC2_NODECLASS
        || key.starts_with("karpenter.sh/") && key != CAPACITY_TYPE && key != NODEPOOL
        || (key.starts_with("kubernetes.io/") || key.contains(".kubernetes.io/"))
            && !is_well_known(key)
            && !key.starts_with("node-restriction.kubernetes.io/")
            && !key.starts_with("node.kubernetes.io/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_map_to_stable_keys() {
        assert_eq!(normalize("beta.kubernetes.io/instance-type"), INSTANCE_TYPE);
        assert_eq!(normalize("team"), "team");
        for (_, stable) in ALIASES {
            assert!(is_well_known(stable));
        }
    }

    #[test]
    fn typos_in_owned_domains() {
        assert_eq!(
            unknown_key("node.kubernetes.io/instance_type").as_deref(),
            Some("unknown label \"node.kubernetes.io/instance_type\": node.kubernetes.io defines no such label; did you mean \"node.kubernetes.io/instance-type\"?")
        );
        assert!(unknown_key("karpenter.k8s.aws/instance-familly")
            .is_some_and(|m| m.ends_with("\"karpenter.k8s.aws/instance-family\"?")));
        assert_eq!(unknown_key(INSTANCE_TYPE), None);
        assert_eq!(unknown_key("beta.kubernetes.io/arch"), None);
        assert_eq!(unknown_key("example.com/team"), None);
        assert_eq!(unknown_key("team"), None);
        assert_eq!(unknown_key(HOSTNAME), None);
    }

    #[test]
    fn closed_value_sets() {
        assert_eq!(
            impossible_value(CAPACITY_TYPE, "ondemand").as_deref(),
            Some("\"ondemand\" is not a value of karpenter.sh/capacity-type (its values are spot, on-demand, reserved); did you mean \"on-demand\"?")
        );
        assert_eq!(impossible_value(CAPACITY_TYPE, "spot"), None);
        assert!(impossible_value("beta.kubernetes.io/arch", "x86_64").is_some());
        assert_eq!(impossible_value(INSTANCE_TYPE, "m5.larg"), None, "catalog values are checked against the catalog");
    }

    #[test]
    fn restricted_labels() {
        assert!(is_restricted(HOSTNAME));
        assert!(is_restricted("karpenter.sh/initialized"));
        assert!(!is_restricted(CAPACITY_TYPE));
        assert!(!is_restricted("team"));
        assert!(!is_restricted(INSTANCE_FAMILY));
    }
}

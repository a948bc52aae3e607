//! How an EC2NodeClass and Karpenter's settings change capacity and allocatable, following
//! Karpenter's AWS provider (`pkg/providers/instancetype/types.go`, v1.14).

use fleetfit::catalog::{CapacitySettings, Catalog, InstanceType};
use fleetfit::model::{AmiFamily, KubeletConfig, NodeClass, Threshold};
use fleetfit::requirements::Operator;
use fleetfit::resources::Bytes;
use fleetfit::Quantity;

fn q(s: &str) -> Quantity {
    s.parse().unwrap()
}

fn sized(name: &str, nodeclass: &NodeClass) -> InstanceType {
    Catalog::aws("us-east-1").unwrap().instance_type(name, nodeclass).unwrap()
}

fn with_kubelet(kubelet: KubeletConfig) -> NodeClass {
    NodeClass { kubelet, ..NodeClass::default() }
}

#[test]
fn max_pods_overrides_the_eni_limit() {
    let m5 = sized("m5.large", &with_kubelet(KubeletConfig { max_pods: Some(110), ..Default::default() }));
    assert_eq!(m5.capacity.pods, 110);
    assert_eq!(m5.allocatable.pods, 110);
    // AL2023 sizes kube-reserved memory from the ENI-limited pods (29), whatever maxPods says.
    assert_eq!(m5.overhead.kube_reserved.memory, Bytes::mib(574));
    assert_eq!(m5.allocatable.memory, Bytes::mib(6903));
}

#[test]
fn bottlerocket_sizes_kube_reserved_from_max_pods_and_ignores_pods_per_core() {
    let kubelet = KubeletConfig { max_pods: Some(110), pods_per_core: Some(4), ..Default::default() };
    let nc = NodeClass { ami_family: AmiFamily::Bottlerocket, kubelet, ..NodeClass::default() };
    let m5 = sized("m5.large", &nc);
    assert_eq!(m5.allocatable.pods, 110);
    assert_eq!(m5.overhead.kube_reserved.memory, Bytes::mib(11 * 110 + 255));
    assert_eq!(m5.allocatable.memory, Bytes::mib(7577 - 1465 - 100));
    let default_bottlerocket =
        sized("m5.large", &NodeClass { ami_family: AmiFamily::Bottlerocket, ..NodeClass::default() });
    assert_eq!(default_bottlerocket.allocatable.pods, 29);
}

#[test]
fn pods_per_core_caps_pods() {
    let nc = with_kubelet(KubeletConfig { pods_per_core: Some(4), ..Default::default() });
    let m5 = sized("m5.large", &nc);
    assert_eq!(m5.allocatable.pods, 8);
    assert_eq!(m5.allocatable.memory, Bytes::mib(6903));
    // min(podsPerCore × vCPU, maxPods)
    let nc = with_kubelet(KubeletConfig { pods_per_core: Some(10), max_pods: Some(15), ..Default::default() });
    assert_eq!(sized("m5.large", &nc).allocatable.pods, 15);
    assert_eq!(sized("m5.4xlarge", &nc).allocatable.pods, 15);
    let nc = with_kubelet(KubeletConfig { pods_per_core: Some(0), ..Default::default() });
    assert_eq!(sized("m5.large", &nc).allocatable.pods, 29);
}

#[test]
fn kube_reserved_overrides_per_resource() {
    let kube_reserved =
        [("cpu".to_string(), q("200m")), ("memory".to_string(), q("1Gi")), ("pid".to_string(), q("100"))];
    let m5 =
        sized("m5.large", &with_kubelet(KubeletConfig { kube_reserved: kube_reserved.into(), ..Default::default() }));
    assert_eq!(m5.overhead.kube_reserved.cpu.0, 200);
    assert_eq!(m5.allocatable.cpu.0, 1800);
    assert_eq!(m5.allocatable.memory, Bytes::mib(7577 - 1024 - 100));
    // ephemeral-storage keeps its 1Gi default.
    assert_eq!(m5.allocatable.ephemeral_storage, Bytes::gib(17));
}

#[test]
fn system_reserved_is_subtracted() {
    let system_reserved = [
        ("cpu".to_string(), q("100m")),
        ("memory".to_string(), q("100Mi")),
        ("ephemeral-storage".to_string(), q("1Gi")),
    ];
    let m5 = sized(
        "m5.large",
        &with_kubelet(KubeletConfig { system_reserved: system_reserved.into(), ..Default::default() }),
    );
    assert_eq!(m5.overhead.system_reserved.cpu.0, 100);
    assert_eq!(m5.allocatable.cpu.0, 1830);
    assert_eq!(m5.allocatable.memory, Bytes::mib(6803));
    assert_eq!(m5.allocatable.ephemeral_storage, Bytes::gib(16));
}

#[test]
fn eviction_hard_percentages_and_quantities() {
    let hard = [
        ("memory.available".to_string(), Threshold::Percent(500)),
        ("nodefs.available".to_string(), Threshold::Percent(1500)),
    ];
    let m5 = sized("m5.large", &with_kubelet(KubeletConfig { eviction_hard: hard.into(), ..Default::default() }));
    // ceil(7577Mi / 100 × 5) bytes; 15% of 20Gi.
    let memory = Bytes::mib(7577).0;
    let five_percent = (memory as f64 / 100.0 * 5.0).ceil() as i64;
    assert_eq!(m5.overhead.eviction_threshold.memory, Bytes(five_percent));
    assert_eq!(m5.allocatable.memory, Bytes(memory - Bytes::mib(574).0 - five_percent));
    assert_eq!(m5.overhead.eviction_threshold.ephemeral_storage, Bytes::gib(3));
    assert_eq!(m5.allocatable.ephemeral_storage, Bytes::gib(16));

    let hard = [("memory.available".to_string(), Threshold::Quantity(q("500Mi")))];
    let m5 = sized("m5.large", &with_kubelet(KubeletConfig { eviction_hard: hard.into(), ..Default::default() }));
    assert_eq!(m5.allocatable.memory, Bytes::mib(7577 - 574 - 500));

    // 100% disables a threshold, as in the kubelet.
    let hard = [("memory.available".to_string(), Threshold::Percent(10000))];
    let m5 = sized("m5.large", &with_kubelet(KubeletConfig { eviction_hard: hard.into(), ..Default::default() }));
    assert_eq!(m5.allocatable.memory, Bytes::mib(7577 - 574));
}

#[test]
fn eviction_soft_does_not_reserve() {
    // Since aws/karpenter-provider-aws#8407, only evictionHard is taken off allocatable.
    let soft = [("memory.available".to_string(), Threshold::Quantity(q("1Gi")))];
    let m5 = sized("m5.large", &with_kubelet(KubeletConfig { eviction_soft: soft.into(), ..Default::default() }));
    assert_eq!(m5.allocatable.memory, Bytes::mib(6903));
}

#[test]
fn root_volume_size_sets_ephemeral_storage() {
    let nc = NodeClass { root_volume_size: Some(Bytes::gib(100)), ..NodeClass::default() };
    let m5 = sized("m5.large", &nc);
    assert_eq!(m5.capacity.ephemeral_storage, Bytes::gib(100));
    assert_eq!(m5.allocatable.ephemeral_storage, Bytes::gib(89));
}

#[test]
fn raid0_uses_the_instance_store() {
    let nc = NodeClass { instance_store_policy: Some("RAID0".into()), ..NodeClass::default() };
    let m5d = sized("m5d.large", &nc);
    // 75 GB of NVMe, in decimal gigabytes as Karpenter counts TotalSizeInGB.
    assert_eq!(m5d.capacity.ephemeral_storage, Bytes(75_000_000_000));
    assert_eq!(m5d.allocatable.ephemeral_storage, Bytes(75_000_000_000 - Bytes::GI - 7_500_000_000));
    // Types without an instance store keep the root volume.
    assert_eq!(sized("m5.large", &nc).capacity.ephemeral_storage, Bytes::gib(20));
}

#[test]
fn windows_has_110_pods_a_50gi_volume_and_the_windows_labels() {
    let nc = NodeClass { ami_family: AmiFamily::Windows2022, ..NodeClass::default() };
    let m5 = sized("m5.large", &nc);
    assert_eq!(m5.allocatable.pods, 110);
    assert_eq!(m5.overhead.kube_reserved.memory, Bytes::mib(1465));
    assert_eq!(m5.allocatable.memory, Bytes::mib(7577 - 1465 - 100));
    assert_eq!(m5.capacity.ephemeral_storage, Bytes::gib(50));
    assert_eq!(m5.allocatable.ephemeral_storage, Bytes::gib(44));
    assert_eq!(m5.capacity.get("vpc.amazonaws.com/PrivateIPv4Address"), 9);
    assert_eq!(m5.requirements.get("kubernetes.io/os").unwrap().values().collect::<Vec<_>>(), ["windows"]);
    assert_eq!(
        m5.requirements.get("node.kubernetes.io/windows-build").unwrap().values().collect::<Vec<_>>(),
        ["10.0.20348"]
    );
    // No Windows AMIs for arm64: the type cannot satisfy any os.
    let c6g = sized("c6g.large", &nc);
    assert_eq!(c6g.requirements.get("kubernetes.io/os").unwrap().operator(), Operator::DoesNotExist);
    // Linux classes: windows-build does not exist.
    let linux = sized("m5.large", &NodeClass::default());
    assert_eq!(linux.requirements.get("node.kubernetes.io/windows-build").unwrap().operator(), Operator::DoesNotExist);
    let nc = NodeClass {
        ami_family: AmiFamily::Windows2019,
        kubelet: KubeletConfig { max_pods: Some(20), ..Default::default() },
        ..NodeClass::default()
    };
    assert_eq!(sized("m5.large", &nc).allocatable.pods, 20);
}

#[test]
fn reserved_enis_reduce_pods_but_not_kube_reserved() {
    let settings = CapacitySettings { reserved_enis: 1, ..CapacitySettings::default() };
    let catalog = Catalog::aws_with("us-east-1", &settings).unwrap();
    let m5 = catalog.instance_type("m5.large", &NodeClass::default()).unwrap();
    assert_eq!(m5.allocatable.pods, 2 * 9 + 2);
    assert_eq!(m5.overhead.kube_reserved.memory, Bytes::mib(574));
    assert_eq!(m5.allocatable.memory, Bytes::mib(6903));
    // All ENIs reserved: no pods at all.
    let settings = CapacitySettings { reserved_enis: 3, ..CapacitySettings::default() };
    let catalog = Catalog::aws_with("us-east-1", &settings).unwrap();
    assert_eq!(catalog.instance_type("m5.large", &NodeClass::default()).unwrap().allocatable.pods, 0);
    // Types without ENI data keep the docs' figure.
    assert_eq!(catalog.instance_type("hpc7a.12xlarge", &NodeClass::default()).unwrap().allocatable.pods, 100);
}

#[test]
fn vm_memory_overhead_setting() {
    let settings = CapacitySettings { vm_memory_overhead_percent: 0.0, ..CapacitySettings::default() };
    let catalog = Catalog::aws_with("us-east-1", &settings).unwrap();
    let m5 = catalog.instance_type("m5.large", &NodeClass::default()).unwrap();
    assert_eq!(m5.capacity.memory, Bytes::mib(8192));
    assert_eq!(m5.allocatable.memory, Bytes::mib(8192 - 674));
    assert_eq!(catalog.settings().vm_memory_overhead_percent, 0.0);
}

#[test]
fn allocatable_never_goes_negative() {
    let kube_reserved = [("cpu".to_string(), q("64")), ("memory".to_string(), q("1Ti"))];
    let m5 =
        sized("m5.large", &with_kubelet(KubeletConfig { kube_reserved: kube_reserved.into(), ..Default::default() }));
    assert_eq!(m5.allocatable.cpu.0, 0);
    assert_eq!(m5.allocatable.memory, Bytes(0));
}

#[test]
fn bare_metal_hypervisor_label_is_empty() {
    let metal = sized("m5.metal", &NodeClass::default());
    let r = metal.requirements.get("karpenter.k8s.aws/instance-hypervisor").unwrap();
    assert_eq!(r.values().collect::<Vec<_>>(), [""]);
    assert_eq!(r.operator(), Operator::In);
}

#[test]
fn output_is_deterministic() {
    let nc = NodeClass::default();
    let a = Catalog::aws("eu-west-1").unwrap().instance_types(&nc);
    let b = Catalog::aws("eu-west-1").unwrap().instance_types(&nc);
    assert_eq!(a, b);
    assert!(a.windows(2).all(|w| w[0].name < w[1].name));
    assert_eq!(serde_json::to_string(&a[0]).unwrap(), serde_json::to_string(&b[0]).unwrap());
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn catalog() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| Catalog::aws("us-east-1").unwrap())
    }

    fn family() -> impl Strategy<Value = AmiFamily> {
        prop_oneof![
            Just(AmiFamily::AL2),
            Just(AmiFamily::AL2023),
            Just(AmiFamily::Bottlerocket),
            Just(AmiFamily::Windows2019),
            Just(AmiFamily::Windows2022),
            Just(AmiFamily::Custom),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn allocatable_stays_within_capacity(
            index in 0usize..1382,
            ami_family in family(),
            max_pods in proptest::option::of(0u32..=u32::MAX),
            pods_per_core in proptest::option::of(0u32..=u32::MAX),
            kube_cpu in proptest::option::of(0i64..200_000),
            system_memory_mib in proptest::option::of(0i64..4_000_000),
            memory_percent in proptest::option::of(0u32..=10_000),
            nodefs_percent in proptest::option::of(0u32..=10_000),
            root_gib in proptest::option::of(1i64..100_000),
            raid0 in any::<bool>(),
        ) {
            let mut kubelet = KubeletConfig { max_pods, pods_per_core, ..Default::default() };
            if let Some(m) = kube_cpu {
                kubelet.kube_reserved.insert("cpu".into(), Quantity::from_milli(m));
            }
            if let Some(m) = system_memory_mib {
                kubelet.system_reserved.insert("memory".into(), Quantity::from_bytes(m * Bytes::MI));
            }
            if let Some(p) = memory_percent {
                kubelet.eviction_hard.insert("memory.available".into(), Threshold::Percent(p));
            }
            if let Some(p) = nodefs_percent {
                kubelet.eviction_hard.insert("nodefs.available".into(), Threshold::Percent(p));
            }
            let nc = NodeClass {
                ami_family,
                kubelet,
                root_volume_size: root_gib.map(Bytes::gib),
                instance_store_policy: raid0.then(|| "RAID0".to_string()),
                ..NodeClass::default()
            };
            let name = catalog().names().nth(index).unwrap().to_string();
            let t = catalog().instance_type(&name, &nc).unwrap();
            let (a, c) = (&t.allocatable, &t.capacity);
            prop_assert!(a.cpu.0 >= 0 && a.cpu <= c.cpu);
            prop_assert!(a.memory.0 >= 0 && a.memory <= c.memory);
            prop_assert!(a.pods >= 0 && a.pods <= c.pods);
            prop_assert!(a.ephemeral_storage.0 >= 0 && a.ephemeral_storage <= c.ephemeral_storage);
            if let Some(m) = max_pods {
                prop_assert!(c.pods <= m as i64);
            }
            prop_assert_eq!(t.allocatable.clone(), c.sub(&t.overhead.total()).max(&Default::default()));
        }
    }
}

//! The compact, node-class-independent description of an instance type that every catalog
//! (embedded or user supplied) is parsed into. Strings are interned once per table; a type is
//! a handful of integers, so one region's catalog costs indices and prices, not copies.

use crate::labels;
use crate::resources::Resources;
use std::borrow::Cow;
use std::collections::HashMap;

/// An interned string: an index into [`TypeTable::strings`].
pub(crate) type Sym = u32;
/// "No value": the label does not exist on the type.
pub(crate) const NONE: Sym = u32::MAX;

/// The `karpenter.k8s.aws/instance-*` labels every AWS type carries, in slot order. A type
/// without a value for one gets `DoesNotExist` so that `NotIn` still matches it.
pub(crate) const AWS_LABELS: [&str; 21] = [
    labels::INSTANCE_CATEGORY,
    labels::INSTANCE_FAMILY,
    labels::INSTANCE_GENERATION,
    labels::INSTANCE_SIZE,
    labels::INSTANCE_CPU,
    labels::INSTANCE_CPU_MANUFACTURER,
    labels::INSTANCE_CPU_SUSTAINED_CLOCK_SPEED_MHZ,
    labels::INSTANCE_MEMORY,
    labels::INSTANCE_GPU_NAME,
    labels::INSTANCE_GPU_MANUFACTURER,
    labels::INSTANCE_GPU_COUNT,
    labels::INSTANCE_GPU_MEMORY,
    labels::INSTANCE_ACCELERATOR_NAME,
    labels::INSTANCE_ACCELERATOR_MANUFACTURER,
    labels::INSTANCE_ACCELERATOR_COUNT,
    labels::INSTANCE_LOCAL_NVME,
    labels::INSTANCE_NETWORK_BANDWIDTH,
    labels::INSTANCE_EBS_BANDWIDTH,
    labels::INSTANCE_HYPERVISOR,
    labels::INSTANCE_ENCRYPTION_IN_TRANSIT_SUPPORTED,
    labels::INSTANCE_CAPABILITY_FLEX,
];

pub(crate) mod slot {
    pub const CATEGORY: usize = 0;
    pub const FAMILY: usize = 1;
    pub const GENERATION: usize = 2;
    pub const SIZE: usize = 3;
    pub const CPU: usize = 4;
    pub const MEMORY: usize = 7;
    pub const CAPABILITY_FLEX: usize = 20;
}

/// The slot of a well-known AWS instance label.
pub(crate) fn aws_label_slot(key: &str) -> Option<usize> {
    AWS_LABELS.iter().position(|k| *k == key)
}

/// Where a type's default max pods come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pods {
    /// VPC CNI ENI limits: `(ENIs of the default card − reserved) × (IPv4 per ENI − 1) + 2`.
    Eni { enis: u32, ipv4_per_eni: u32 },
    /// A fixed number: the docs' figure for types with no ENI data, or a user type's `pods`.
    Fixed(u32),
}

impl Pods {
    /// The ENI-limited pods with `reserved_enis` ENIs kept for the node itself.
    pub fn eni_limited(self, reserved_enis: u32) -> i64 {
        match self {
            Pods::Eni { enis, ipv4_per_eni } => {
                let usable = enis.saturating_sub(reserved_enis) as i64;
                if usable == 0 {
                    0
                } else {
                    usable * (ipv4_per_eni as i64 - 1).max(0) + 2
                }
            }
            Pods::Fixed(n) => n as i64,
        }
    }
}

/// How a type's capacity is known.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Shape {
    /// As EC2 describes it: vCPUs and instance memory; capacity follows Karpenter's AWS provider
    /// (VM memory overhead, the Graviton 64 MiB, ENI-limited pods, root volume).
    Aws { vcpu: u32, memory_mib: u64, pods: Pods, local_nvme_gb: u64 },
    /// As the kubelet reports it: capacity given (pods and ephemeral-storage optional); the
    /// overhead is Karpenter's kube-reserved and eviction math unless allocatable is given.
    Given { capacity: Box<Resources>, pods: Pods, ephemeral_given: bool, allocatable: Option<Box<Resources>> },
}

/// One instance type, independent of node class, region and price.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TypeSpec {
    pub name: Sym,
    pub arch: Sym,
    pub os: Sym,
    /// Values for [`AWS_LABELS`]; [`NONE`] where the type has none.
    pub labels: [Sym; AWS_LABELS.len()],
    /// Further labels of user types, sorted by key.
    pub extra_labels: Box<[(Sym, Sym)]>,
    pub shape: Shape,
    /// Extended resources in capacity (GPUs, EFA, pod ENIs ...), sorted by name.
    pub extended: Box<[(Sym, i64)]>,
}

/// Interned strings and the types that use them.
#[derive(Debug, Default)]
pub(crate) struct TypeTable {
    pub strings: Vec<Cow<'static, str>>,
    /// Sorted by name; names are unique.
    pub types: Vec<TypeSpec>,
}

impl TypeTable {
    pub fn str(&self, sym: Sym) -> &str {
        self.strings.get(sym as usize).map(|s| s.as_ref()).unwrap_or("")
    }

    /// The value of an AWS label slot, if the type has one.
    pub fn label(&self, spec: &TypeSpec, slot: usize) -> Option<&str> {
        match spec.labels[slot] {
            NONE => None,
            sym => Some(self.str(sym)),
        }
    }

    pub fn name(&self, spec: &TypeSpec) -> &str {
        self.str(spec.name)
    }

    /// The family used for price adjustments: the instance-family label, else the name up to
    /// the first `.`.
    pub fn family(&self, spec: &TypeSpec) -> &str {
        self.label(spec, slot::FAMILY).unwrap_or_else(|| {
            let name = self.name(spec);
            name.split('.').next().unwrap_or(name)
        })
    }
}

/// Builds a [`TypeTable`], interning strings.
#[derive(Default)]
pub(crate) struct TableBuilder {
    table: TypeTable,
    index: HashMap<Cow<'static, str>, Sym>,
}

impl TableBuilder {
    pub fn intern(&mut self, s: Cow<'static, str>) -> Sym {
        if let Some(&sym) = self.index.get(&s) {
            return sym;
        }
        let sym = self.table.strings.len() as Sym;
        self.table.strings.push(s.clone());
        self.index.insert(s, sym);
        sym
    }

    pub fn intern_owned(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.index.get(s) {
            return sym;
        }
        self.intern(Cow::Owned(s.to_string()))
    }

    pub fn str(&self, sym: Sym) -> &str {
        self.table.str(sym)
    }

    pub fn push(&mut self, spec: TypeSpec) {
        self.table.types.push(spec);
    }

    /// Sorts types by name; returns the table, or the first duplicated name.
    pub fn finish(mut self) -> Result<TypeTable, String> {
        let strings = &self.table.strings;
        self.table.types.sort_by(|a, b| strings[a.name as usize].cmp(&strings[b.name as usize]));
        for w in self.table.types.windows(2) {
            if w[0].name == w[1].name {
                return Err(self.table.str(w[0].name).to_string());
            }
        }
        Ok(self.table)
    }
}

/// Fills in the labels Karpenter derives from the name when they are missing: category and
/// generation from `(^[a-z]+)(-[0-9]+tb)?([0-9]+).*\.`, family and size from `family.size`,
/// capability-flex from a `-flex` family.
pub(crate) fn derive_name_labels(builder: &mut TableBuilder, spec: &mut TypeSpec) {
    let name = builder.str(spec.name).to_string();
    let mut set = |builder: &mut TableBuilder, slot: usize, value: &str| {
        if spec.labels[slot] == NONE {
            spec.labels[slot] = builder.intern_owned(value);
        }
    };
    if let Some((category, generation)) = category_and_generation(&name) {
        set(builder, slot::CATEGORY, category);
        set(builder, slot::GENERATION, generation);
    }
    let parts: Vec<&str> = name.split('.').collect();
    if let [family, size] = parts[..] {
        set(builder, slot::FAMILY, family);
        set(builder, slot::SIZE, size);
        set(builder, slot::CAPABILITY_FLEX, if family.contains("-flex") { "true" } else { "false" });
    }
}

/// Karpenter's `(^[a-z]+)(\-[0-9]+tb)?([0-9]+).*\.` on an instance type name.
fn category_and_generation(name: &str) -> Option<(&str, &str)> {
    if !name.contains('.') {
        return None;
    }
    let bytes = name.as_bytes();
    let letters = bytes.iter().take_while(|b| b.is_ascii_lowercase()).count();
    if letters == 0 {
        return None;
    }
    let mut i = letters;
    // Optional `-<digits>tb`.
    if bytes.get(i) == Some(&b'-') {
        let digits = bytes[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 0 && name[i + 1 + digits..].starts_with("tb") {
            i += 1 + digits + 2;
        }
    }
    let digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    Some((&name[..letters], &name[i..i + digits]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_and_generation_like_karpenter() {
        assert_eq!(category_and_generation("m5.large"), Some(("m", "5")));
        assert_eq!(category_and_generation("c7i-flex.large"), Some(("c", "7")));
        assert_eq!(category_and_generation("u-12tb1.112xlarge"), Some(("u", "1")));
        assert_eq!(category_and_generation("u7i-12tb.224xlarge"), Some(("u", "7")));
        assert_eq!(category_and_generation("hpc7a.96xlarge"), Some(("hpc", "7")));
        assert_eq!(category_and_generation("custom"), None);
        assert_eq!(category_and_generation("x.large"), None);
    }

    #[test]
    fn eni_limited_pods() {
        let m5 = Pods::Eni { enis: 3, ipv4_per_eni: 10 };
        assert_eq!(m5.eni_limited(0), 29);
        assert_eq!(m5.eni_limited(1), 20);
        assert_eq!(m5.eni_limited(3), 0);
        assert_eq!(Pods::Fixed(100).eni_limited(1), 100);
    }

    #[test]
    fn derived_labels_fill_gaps_only() {
        let mut b = TableBuilder::default();
        let name = b.intern_owned("c7i-flex.large");
        let fam = b.intern_owned("mine");
        let mut labels = [NONE; AWS_LABELS.len()];
        labels[slot::FAMILY] = fam;
        let mut spec = TypeSpec {
            name,
            arch: NONE,
            os: NONE,
            labels,
            extra_labels: Box::new([]),
            shape: Shape::Aws { vcpu: 2, memory_mib: 4096, pods: Pods::Fixed(110), local_nvme_gb: 0 },
            extended: Box::new([]),
        };
        derive_name_labels(&mut b, &mut spec);
        assert_eq!(b.str(spec.labels[slot::FAMILY]), "mine");
        assert_eq!(b.str(spec.labels[slot::SIZE]), "large");
        assert_eq!(b.str(spec.labels[slot::CATEGORY]), "c");
        assert_eq!(b.str(spec.labels[slot::CAPABILITY_FLEX]), "true");
    }
}

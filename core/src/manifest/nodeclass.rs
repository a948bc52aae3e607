//! `karpenter.k8s.aws/v1` EC2NodeClass, reduced to what changes a node's capacity: the AMI
//! family, kubelet settings, the volume that holds ephemeral storage, and the instance-store
//! policy.

use super::cursor::Cursor;
use super::meta::read_object_meta;
use crate::model::{AmiFamily, KubeletConfig, NodeClass, Threshold};
use crate::quantity::Quantity;
use crate::resources::Bytes;
use std::collections::BTreeMap;

const AMI_FAMILIES: &[&str] = &["AL2", "AL2023", "Bottlerocket", "Windows2019", "Windows2022", "Custom"];
const RESERVED_RESOURCES: &[&str] = &["cpu", "memory", "ephemeral-storage", "pid"];
const EVICTION_SIGNALS: &[&str] = &[
    "memory.available",
    "nodefs.available",
    "nodefs.inodesFree",
    "imagefs.available",
    "imagefs.inodesFree",
    "pid.available",
];

fn family(name: &str) -> Option<AmiFamily> {
    Some(match name {
        "AL2" => AmiFamily::AL2,
        "AL2023" => AmiFamily::AL2023,
        "Bottlerocket" => AmiFamily::Bottlerocket,
        "Windows2019" => AmiFamily::Windows2019,
        "Windows2022" => AmiFamily::Windows2022,
        "Custom" => AmiFamily::Custom,
        _ => return None,
    })
}

/// The family an `amiSelectorTerms[].alias` names (`al2023@latest`, `bottlerocket@v1.20`).
fn alias_family(c: &Cursor) -> Option<AmiFamily> {
    let alias = c.str()?;
    let (name, version) = alias.split_once('@').unwrap_or((alias, ""));
    let family = match name {
        "al2" => AmiFamily::AL2,
        "al2023" => AmiFamily::AL2023,
        "bottlerocket" => AmiFamily::Bottlerocket,
        "windows2019" => AmiFamily::Windows2019,
        "windows2022" => AmiFamily::Windows2022,
        _ => {
            c.error(format!(
                "unknown alias family {name:?}: use al2, al2023, bottlerocket, windows2019 or windows2022, as in al2023@latest"
            ));
            return None;
        }
    };
    if version.is_empty() {
        c.error(format!("alias {alias:?} needs a version: {name}@latest or {name}@<version>"));
    }
    Some(family)
}

/// The device that holds a family's ephemeral storage when no mapping is marked
/// `rootVolume: true` (Bottlerocket keeps it on its data volume).
fn default_device(family: AmiFamily) -> Option<&'static str> {
    match family {
        AmiFamily::Bottlerocket => Some("/dev/xvdb"),
        AmiFamily::Custom => None,
        _ => Some("/dev/xvda"),
    }
}

pub(super) fn nodeclass(name: &str, doc: &Cursor) -> NodeClass {
    let meta = read_object_meta(&doc.get("metadata"));
    let spec = doc.get("spec");
    if !spec.is_present() {
        spec.error("required");
    }
    let ami_family = ami_family(&spec);
    NodeClass {
        name: name.to_string(),
        ami_family: ami_family.unwrap_or_default(),
        kubelet: kubelet(&spec.get("kubelet")),
        root_volume_size: ami_family.and_then(|f| root_volume_size(&spec.get("blockDeviceMappings"), f)),
        instance_store_policy: spec.get("instanceStorePolicy").one_of(&["RAID0"]).map(str::to_string),
        subnet_zones: subnet_zones(&doc.get("status").get("subnets")),
        hash: crate::model::TemplateHash::from_annotations(
            &meta.annotations,
            crate::labels::NODECLASS_HASH,
            crate::labels::NODECLASS_HASH_VERSION,
        ),
    }
}

/// The zones of `status.subnets` (what Karpenter resolved from spec.subnetSelectorTerms),
/// sorted and unique.
fn subnet_zones(subnets: &Cursor) -> Vec<String> {
    let mut zones: Vec<String> =
        subnets.items().iter().filter_map(|s| s.get("zone").str().map(str::to_string)).collect();
    zones.sort();
    zones.dedup();
    zones
}

/// Gives each v1beta1 NodePool's kubelet settings to its EC2NodeClass, where karpenter.sh/v1
/// reads them: a class not in the input is made with the default AMI family; a class whose
/// kubelet differs already is an error, as one class cannot carry two.
pub(super) fn apply_moved_kubelets(
    moved: Vec<super::convert::MovedKubelet>,
    inventory: &mut crate::model::Inventory,
    errors: &mut Vec<crate::Error>,
) {
    for m in moved {
        let report = super::cursor::Report::new(format!("NodePool {}", m.nodepool));
        let wrapped = serde_json::json!({"spec": {"template": {"spec": {"kubelet": m.kubelet}}}});
        let field = Cursor::root(&wrapped, &report).get("spec").get("template").get("spec").get("kubelet");
        let settings = kubelet(&field);
        match inventory.nodeclasses.iter_mut().find(|c| c.name == m.nodeclass) {
            Some(class) if class.kubelet == KubeletConfig::default() || class.kubelet == settings => {
                class.kubelet = settings
            }
            Some(_) => field.error(format!(
                "EC2NodeClass {} already has other kubelet settings (its own, or another v1beta1 NodePool's); \
                 karpenter.sh/v1 keeps kubelet on the EC2NodeClass: give this NodePool an EC2NodeClass of its own",
                m.nodeclass
            )),
            None => {
                inventory.notes.push(format!(
                    "EC2NodeClass {} is not in the input: assuming AL2023 defaults with NodePool {}'s kubelet settings",
                    m.nodeclass, m.nodepool
                ));
                inventory.nodeclasses.push(NodeClass { name: m.nodeclass, kubelet: settings, ..NodeClass::default() });
            }
        }
        errors.extend(report.into_errors());
    }
}

fn ami_family(spec: &Cursor) -> Option<AmiFamily> {
    let field = spec.get("amiFamily");
    let written = field.one_of(AMI_FAMILIES).and_then(family);
    let aliased = spec.get("amiSelectorTerms").items().iter().find_map(|t| {
        let alias = t.get("alias");
        alias.is_present().then(|| alias_family(&alias)).flatten()
    });
    match (written, aliased) {
        (Some(w), Some(a)) if w != a => {
            field.error(format!("{w:?} does not match the family of the amiSelectorTerms alias ({a:?})"));
            Some(a)
        }
        (Some(f), _) | (None, Some(f)) => Some(f),
        (None, None) => {
            if spec.is_present() && !field.is_present() {
                field.error("required when no amiSelectorTerms entry has an alias (such as al2023@latest)");
            }
            None
        }
    }
}

fn kubelet(c: &Cursor) -> KubeletConfig {
    KubeletConfig {
        max_pods: c.get("maxPods").int_in(0, i32::MAX as i64).map(|n| n as u32),
        pods_per_core: c.get("podsPerCore").int_in(0, i32::MAX as i64).map(|n| n as u32),
        kube_reserved: reserved(&c.get("kubeReserved")),
        system_reserved: reserved(&c.get("systemReserved")),
        eviction_hard: thresholds(&c.get("evictionHard")),
        eviction_soft: thresholds(&c.get("evictionSoft")),
    }
}

fn reserved(c: &Cursor) -> BTreeMap<String, Quantity> {
    let mut out = BTreeMap::new();
    for (name, value) in c.entries() {
        if !RESERVED_RESOURCES.contains(&name) {
            value.error(format!("unknown resource {name:?}: use cpu, memory, ephemeral-storage or pid"));
            continue;
        }
        if let Some(q) = value.non_negative_quantity() {
            out.insert(name.to_string(), q);
        }
    }
    out
}

fn thresholds(c: &Cursor) -> BTreeMap<String, Threshold> {
    let mut out = BTreeMap::new();
    for (signal, value) in c.entries() {
        if !EVICTION_SIGNALS.contains(&signal) {
            value.error(format!("unknown eviction signal {signal:?}: use {}", EVICTION_SIGNALS.join(", ")));
            continue;
        }
        let threshold = match value.str() {
            Some(s) if s.trim_end().ends_with('%') => percent(s).map(Threshold::Percent).or_else(|| {
                value
                    .error(format!("invalid percentage {s:?}: use 0% to 100% with at most two decimals, such as 7.5%"));
                None
            }),
            Some(_) => value.non_negative_quantity().map(Threshold::Quantity),
            None => {
                if value.is_present() {
                    value.non_negative_quantity().map(Threshold::Quantity)
                } else {
                    None
                }
            }
        };
        if let Some(t) = threshold {
            out.insert(signal.to_string(), t);
        }
    }
    out
}

/// `"7.5%"` → 750 (hundredths of a percent); `None` unless 0–100% with at most two decimals.
fn percent(s: &str) -> Option<u32> {
    let number = s.trim().strip_suffix('%')?.trim();
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() || int.len() > 3 || frac.len() > 2 || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let hundredths = int.parse::<u32>().ok()? * 100 + format!("{frac:0<2}").parse::<u32>().ok()?;
    (hundredths <= 10_000).then_some(hundredths)
}

/// The size of the volume that holds ephemeral storage: the mapping marked `rootVolume`,
/// else the family's default device.
fn root_volume_size(list: &Cursor, family: AmiFamily) -> Option<Bytes> {
    let mappings = list.items();
    let marked: Vec<&Cursor> = mappings.iter().filter(|m| m.get("rootVolume").bool() == Some(true)).collect();
    if marked.len() > 1 {
        list.error("at most one blockDeviceMappings entry may set rootVolume: true");
    }
    let chosen = marked.first().copied().or_else(|| {
        let device = default_device(family)?;
        mappings.iter().find(|m| m.get("deviceName").str() == Some(device))
    });
    for m in &mappings {
        m.get("ebs").get("volumeSize").non_negative_quantity();
    }
    let size = chosen?.get("ebs").get("volumeSize").non_negative_quantity()?;
    Some(Bytes(size.units()))
}

#[cfg(test)]
mod tests {
    use super::percent;

    #[test]
    fn percentages_in_hundredths() {
        assert_eq!(percent("5%"), Some(500));
        assert_eq!(percent("7.5%"), Some(750));
        assert_eq!(percent("0.25%"), Some(25));
        assert_eq!(percent("100%"), Some(10_000));
        for bad in ["101%", "1.234%", "%", "-1%", "x%", ".5%"] {
            assert_eq!(percent(bad), None, "{bad}");
        }
    }
}

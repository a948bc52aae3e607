//! Which zones of the region a cluster's new nodes may launch in, and where that came from:
//! the zones given (`--zones`), the subnets of its EC2NodeClasses, its NodePools'
//! requirements, the nodes it runs, or, with none of those, every zone of the region.

use super::Catalog;
use crate::labels;
use crate::model::Inventory;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Where the zones of a [`ZoneChoice`] came from, most authoritative first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ZoneSource {
    /// Given by the caller (`--zones`).
    Given,
    /// The zones of the EC2NodeClasses' `status.subnets`.
    Subnets,
    /// Every NodePool restricts `topology.kubernetes.io/zone`: the zones they allow.
    Nodepools,
    /// The zones of the cluster's nodes (`topology.kubernetes.io/zone` labels).
    Nodes,
    /// Nothing says: every zone of the catalog's region.
    Assumed,
}

/// The zones new nodes may launch in, and why these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneChoice {
    /// Sorted, unique, every one a zone of the catalog.
    pub zones: Vec<String>,
    pub source: ZoneSource,
    /// What every answer says about the zones (see [`ZoneChoice::note`]).
    pub note: String,
}

/// Chooses the zones for `inventory` against `catalog`: `given` when not empty (each must be
/// a zone of the catalog, or this is an error naming it and the region's zones); else the
/// zones of the EC2NodeClasses' `status.subnets`; else, when every NodePool restricts
/// `topology.kubernetes.io/zone`, the zones they allow; else the zones of the inventory's
/// nodes; else every zone of the catalog, said to be assumed. Zones of subnets, NodePools or
/// nodes that the catalog does not have are left out, and the note names them.
pub fn choose_zones(inventory: &Inventory, catalog: &Catalog, given: &[String]) -> Result<ZoneChoice> {
    let known = catalog.zones();
    let region = catalog.region();
    if !given.is_empty() {
        let mut zones: Vec<String> = given.iter().map(|z| z.trim().to_string()).collect();
        if let Some(bad) = zones.iter().find(|z| !known.contains(z)) {
            return Err(Error::Usage(format!(
                "--zones: {bad:?} is not a zone of {region}; {region}'s zones: {}",
                known.join(", ")
            )));
        }
        zones.sort();
        zones.dedup();
        let note = format!("zones: {} (given)", zones.join(", "));
        return Ok(ZoneChoice { zones, source: ZoneSource::Given, note });
    }
    let mut candidates: Vec<(ZoneSource, BTreeSet<String>, String)> = Vec::new();
    let with_subnets: Vec<&crate::model::NodeClass> =
        inventory.nodeclasses.iter().filter(|c| !c.subnet_zones.is_empty()).collect();
    if !with_subnets.is_empty() {
        let names: Vec<&str> = with_subnets.iter().map(|c| c.name.as_str()).collect();
        let zones = with_subnets.iter().flat_map(|c| c.subnet_zones.iter().cloned()).collect();
        candidates.push((
            ZoneSource::Subnets,
            zones,
            format!("the subnets of EC2NodeClass {} (status.subnets)", names.join(", ")),
        ));
    }
    let pool_zones: Option<BTreeSet<String>> = (!inventory.nodepools.is_empty())
        .then(|| {
            inventory.nodepools.iter().try_fold(BTreeSet::new(), |mut all, pool| {
                let r = pool.requirements();
                let zone = r.get(labels::ZONE).filter(|z| !z.is_complement())?;
                all.extend(zone.values().map(str::to_string));
                Some(all)
            })
        })
        .flatten();
    if let Some(zones) = pool_zones {
        candidates.push((ZoneSource::Nodepools, zones, "the NodePools' zone requirements".to_string()));
    }
    let node_zones: BTreeSet<String> = inventory.nodes.iter().filter_map(|n| n.zone()).map(str::to_string).collect();
    if !node_zones.is_empty() {
        let labelled = inventory.nodes.iter().filter(|n| n.zone().is_some()).count();
        let what = format!("the zones of the cluster's {labelled} node{}", if labelled == 1 { "" } else { "s" });
        candidates.push((ZoneSource::Nodes, node_zones, what));
    }
    let mut skipped = Vec::new();
    for (source, zones, what) in candidates {
        let (inside, outside): (Vec<String>, Vec<String>) = zones.into_iter().partition(|z| known.contains(z));
        if inside.is_empty() {
            skipped.push(format!("{what} ({}) are not zones of {region}", outside.join(", ")));
            continue;
        }
        let mut note = format!("zones: {} (from {what})", inside.join(", "));
        if !outside.is_empty() {
            note.push_str(&format!("; {} not zones of {region}, left out", outside.join(", ")));
        }
        if source == ZoneSource::Nodes {
            note.push_str("; give --zones if new nodes may launch in others");
        }
        if !skipped.is_empty() {
            note.push_str(&format!("; {}", skipped.join("; ")));
        }
        return Ok(ZoneChoice { zones: inside, source, note });
    }
    let mut choice = assumed(region, known);
    if !skipped.is_empty() {
        choice.note.push_str(&format!("; {}", skipped.join("; ")));
    }
    Ok(choice)
}

/// Every zone of the region, when nothing says which the cluster uses.
pub(super) fn assumed(region: &str, zones: &[String]) -> ZoneChoice {
    let note = format!(
        "zones assumed: all {} of {region} ({}); nothing in the input says which the cluster uses (most use 2 or 3): \
         give --zones, an EC2NodeClass with status.subnets, or the cluster's nodes",
        zones.len(),
        zones.join(", ")
    );
    ZoneChoice { zones: zones.to_vec(), source: ZoneSource::Assumed, note }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::CapacityType;
    use crate::model::NodeClass;

    fn inventory(yaml: &str) -> Inventory {
        crate::manifest::parse("zones.yaml", yaml).unwrap()
    }

    const NODE_IN_C: &str = "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n  labels: {topology.kubernetes.io/zone: us-east-1c}\nstatus:\n  allocatable: {cpu: '2', memory: 8Gi, pods: '29'}\n";

    const NODECLASS: &str = "apiVersion: karpenter.k8s.aws/v1\nkind: EC2NodeClass\nmetadata: {name: private}\nspec:\n  amiSelectorTerms: [{alias: al2023@latest}]\n  role: r\n  subnetSelectorTerms: [{tags: {a: b}}]\n  securityGroupSelectorTerms: [{tags: {a: b}}]\nstatus:\n  subnets:\n    - {id: subnet-1, zone: us-east-1b}\n    - {id: subnet-2, zone: us-east-1a}\n    - {id: subnet-3, zone: eu-west-1a}\n";

    #[test]
    fn given_zones_come_first_and_unknown_ones_are_errors() {
        let catalog = Catalog::aws("us-east-1").unwrap();
        let inv = inventory(NODE_IN_C);
        let given = ["us-east-1b".to_string(), "us-east-1a".to_string(), "us-east-1b".to_string()];
        let choice = choose_zones(&inv, &catalog, &given).unwrap();
        assert_eq!(choice.zones, ["us-east-1a", "us-east-1b"]);
        assert_eq!(choice.source, ZoneSource::Given);
        assert_eq!(choice.note, "zones: us-east-1a, us-east-1b (given)");
        let e = choose_zones(&inv, &catalog, &["us-east-1z".to_string()]).unwrap_err().to_string();
        assert_eq!(
            e,
            "--zones: \"us-east-1z\" is not a zone of us-east-1; us-east-1's zones: us-east-1a, us-east-1b, \
             us-east-1c, us-east-1d, us-east-1e, us-east-1f"
        );
    }

    #[test]
    fn subnets_then_nodes_then_the_region() {
        let catalog = Catalog::aws("us-east-1").unwrap();
        let both = inventory(&format!("{NODECLASS}---\n{NODE_IN_C}"));
        assert_eq!(both.nodeclasses[0].subnet_zones, ["eu-west-1a", "us-east-1a", "us-east-1b"]);
        let choice = choose_zones(&both, &catalog, &[]).unwrap();
        assert_eq!(
            (choice.source, choice.zones.as_slice()),
            (ZoneSource::Subnets, &["us-east-1a".to_string(), "us-east-1b".to_string()][..])
        );
        assert!(choice.note.contains("EC2NodeClass private (status.subnets)"), "{}", choice.note);
        assert!(choice.note.contains("eu-west-1a not zones of us-east-1, left out"), "{}", choice.note);
        let nodes = choose_zones(&inventory(NODE_IN_C), &catalog, &[]).unwrap();
        assert_eq!((nodes.source, nodes.zones.as_slice()), (ZoneSource::Nodes, &["us-east-1c".to_string()][..]));
        let nothing = choose_zones(&Inventory::default(), &catalog, &[]).unwrap();
        assert_eq!(nothing.source, ZoneSource::Assumed);
        assert_eq!(nothing.zones.len(), 6);
        assert!(nothing.note.starts_with("zones assumed: all 6 of us-east-1"), "{}", nothing.note);
        // Nodes of another region say so, and the region's zones are assumed.
        let eu = choose_zones(&inventory(&NODE_IN_C.replace("us-east-1c", "eu-west-1a")), &catalog, &[]).unwrap();
        assert_eq!(eu.source, ZoneSource::Assumed);
        assert!(
            eu.note.ends_with("the zones of the cluster's 1 node (eu-west-1a) are not zones of us-east-1"),
            "{}",
            eu.note
        );
    }

    #[test]
    fn chosen_zones_and_subnets_make_other_offerings_unavailable() {
        let catalog = Catalog::aws("us-east-1").unwrap();
        let choice =
            choose_zones(&Inventory::default(), &catalog, &["us-east-1b".into(), "us-east-1c".into()]).unwrap();
        let zoned = catalog.with_zones(&choice).unwrap();
        assert_eq!(zoned.launch_zones(), ["us-east-1b", "us-east-1c"]);
        assert_eq!(zoned.zones().len(), 6, "offerings elsewhere still price the nodes that run there");
        assert!(zoned.notes().contains(&choice.note));
        assert!(!zoned.notes().iter().any(|n| n.starts_with("zones assumed")), "{:?}", zoned.notes());
        let m5 = zoned.instance_type("m5.large", &NodeClass::default()).unwrap();
        let available: Vec<(&str, CapacityType)> =
            m5.offerings.iter().filter(|o| o.available).map(|o| (o.zone.as_str(), o.capacity_type)).collect();
        assert_eq!(available.len(), 4, "{available:?}");
        assert!(available.iter().all(|(z, _)| *z == "us-east-1b" || *z == "us-east-1c"));
        let class = NodeClass { subnet_zones: vec!["us-east-1c".into()], ..NodeClass::default() };
        let m5 = zoned.instance_type("m5.large", &class).unwrap();
        assert!(m5.offerings.iter().filter(|o| o.available).all(|o| o.zone == "us-east-1c"));
        assert_eq!(m5.offerings.iter().filter(|o| o.available).count(), 2);
    }
}

//! Volume topology: the zone (or other node) requirements a pod inherits from the volumes it
//! mounts — a bound PersistentVolume's node affinity, or for an unbound claim its
//! StorageClass's allowed topologies — as Karpenter's volume topology does.

use crate::model::{Inventory, Pod};
use crate::requirements::Requirements;

/// The node requirements a pod's volumes add; `Ok(None)` when they add none. An error says
/// which claim cannot be resolved (missing claim, missing volume).
pub fn volume_requirements(pod: &Pod, inventory: &Inventory) -> Result<Option<Requirements>, String> {
    let mut out: Option<Requirements> = None;
    for claim_name in &pod.volume_claims {
        let claim = inventory
            .pvcs
            .iter()
            .find(|c| c.namespace == pod.namespace && &c.name == claim_name)
            .ok_or_else(|| format!("PersistentVolumeClaim {}/{} not found", pod.namespace, claim_name))?;
        let term = match &claim.volume_name {
            Some(volume) => {
                let pv = inventory.pvs.iter().find(|v| &v.name == volume).ok_or_else(|| {
                    format!("PersistentVolume {volume} (bound to claim {}/{}) not found", claim.namespace, claim.name)
                })?;
                // Like Karpenter, the first node-selector term of the volume's affinity.
                pv.node_affinity.first().cloned()
            }
            None => {
                let class = match &claim.storage_class {
                    Some(name) => inventory.storage_classes.iter().find(|s| &s.name == name),
                    None => inventory.storage_classes.iter().find(|s| s.is_default),
                };
                class.and_then(|c| c.allowed_topologies.first().cloned())
            }
        };
        if let Some(term) = term {
            out = Some(match out {
                Some(acc) => acc.intersection(&term),
                None => term,
            });
        }
    }
    Ok(out)
}

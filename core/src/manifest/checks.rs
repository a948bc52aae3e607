//! Inputs that parse but hold nothing to answer about: most likely the wrong files.

use crate::error::{Error, Result};
use crate::model::Inventory;

/// What the input held instead, for an error message: the kinds of its skipped objects.
fn instead(inventory: &Inventory) -> String {
    let mut kinds: Vec<&str> = inventory.skipped.iter().map(|s| s.kind.as_str()).collect();
    kinds.extend(inventory.nodepools.iter().map(|_| "NodePool"));
    kinds.extend(inventory.nodes.iter().map(|_| "Node"));
    kinds.extend(inventory.daemonsets.iter().map(|_| "DaemonSet"));
    kinds.sort_unstable();
    kinds.dedup();
    if kinds.is_empty() {
        "it holds no Kubernetes objects".to_string()
    } else {
        format!("it holds only {}", kinds.join(", "))
    }
}

/// An error naming `sources` when the inventory has no pods and no workloads: a plan of
/// nothing costs nothing, which is never the answer a user asked for.
pub fn require_workloads(inventory: &Inventory, sources: &[String]) -> Result<()> {
    if !inventory.pods.is_empty() || !inventory.workloads.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "no workloads found in {}: no Pod, Deployment, StatefulSet, ReplicaSet, ReplicationController, Rollout, \
         Job or CronJob; {}",
        sources.join(", "),
        instead(inventory)
    )))
}

/// An error naming `sources` when the inventory has no nodes: there is no cluster to
/// consolidate.
pub fn require_nodes(inventory: &Inventory, sources: &[String]) -> Result<()> {
    if !inventory.nodes.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "no nodes found in {}: consolidation needs a cluster snapshot (kubectl get nodes,pods,pdb -A -o json); {}",
        sources.join(", "),
        instead(inventory)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_without_workloads_or_nodes_is_an_error_naming_the_sources() {
        let inventory = crate::manifest::parse("svc.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n")
            .expect("parses");
        let sources = ["svc.yaml".to_string()];
        let err = require_workloads(&inventory, &sources).unwrap_err().to_string();
        assert!(err.contains("no workloads found in svc.yaml") && err.ends_with("it holds only Service"), "{err}");
        let err = require_nodes(&inventory, &sources).unwrap_err().to_string();
        assert!(err.starts_with("no nodes found in svc.yaml"), "{err}");
        let empty = crate::manifest::parse("empty.yaml", "").expect("parses");
        let err = require_workloads(&empty, &["empty.yaml".into()]).unwrap_err().to_string();
        assert!(err.ends_with("it holds no Kubernetes objects"), "{err}");
    }
}

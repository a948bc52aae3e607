//! PriorityClasses: a pod template names a class, and admission turns it into the pod's
//! priority. fleetfit does the same for pods whose priority is not written out.

use super::cursor::Cursor;
use super::meta::read_object_meta;
use crate::model::{Inventory, Pod};
use std::collections::HashMap;

/// The classes every cluster has.
const BUILT_IN: &[(&str, i32)] = &[("system-node-critical", 2_000_001_000), ("system-cluster-critical", 2_000_000_000)];

#[derive(Default)]
pub(super) struct PriorityClasses {
    values: HashMap<String, i32>,
    /// The class marked `globalDefault`, for pods that name none.
    global_default: Option<(String, i32)>,
}

impl PriorityClasses {
    pub fn read(&mut self, name: &str, doc: &Cursor) {
        read_object_meta(&doc.get("metadata"));
        let value = doc.get("value");
        if !value.is_present() {
            value.error("required");
        }
        let Some(value) = value.int_in(i32::MIN as i64, 1_000_000_000).map(|v| v as i32) else { return };
        if doc.get("globalDefault").bool() == Some(true) {
            self.global_default = Some((name.to_string(), value));
        }
        self.values.insert(name.to_string(), value);
    }

    fn value(&self, name: &str) -> Option<i32> {
        self.values.get(name).copied().or_else(|| BUILT_IN.iter().find(|(n, _)| *n == name).map(|(_, v)| *v))
    }

    /// Fills in the priority of pods that name a class but carry no priority of their own,
    /// and gives pods that name no class the global default.
    pub fn apply(&self, inventory: &mut Inventory) {
        let pods = inventory.pods.iter_mut().chain(inventory.daemonsets.iter_mut().map(|d| &mut d.template));
        for pod in pods {
            self.apply_to(pod);
        }
    }

    fn apply_to(&self, pod: &mut Pod) {
        if pod.priority != 0 {
            return;
        }
        match &pod.priority_class_name {
            Some(name) => pod.priority = self.value(name).unwrap_or(0),
            None => {
                if let Some((name, value)) = &self.global_default {
                    pod.priority = *value;
                    pod.priority_class_name = Some(name.clone());
                }
            }
        }
    }
}

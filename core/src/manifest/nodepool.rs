//! `karpenter.sh/v1` NodePool, with Karpenter's defaults and validation rules.

use super::cluster::int_or_percent;
use super::cursor::Cursor;
use super::meta::{read_meta, read_object_meta};
use super::selectors::{node_label_key, node_label_values};
use super::taints::taints;
use crate::labels;
use crate::model::{
    Budget, ConsolidationPolicy, Disruption, DisruptionReason, NodeClaim, NodeClassRef, NodePool, TemplateHash,
};
use crate::requirements::{Operator, Requirement, RequirementError, RequirementSpec};
use crate::resources::Resources;
use crate::time::{Duration, NillableDuration};
use std::collections::BTreeMap;

const MAX_REQUIREMENTS: usize = 100;
const MAX_BUDGETS: usize = 50;
/// `expireAfter` when a NodePool does not say.
const DEFAULT_EXPIRE_AFTER: Duration = Duration(720 * 3600 * 1000);

/// Why Karpenter refuses a label key in a NodePool's template labels or requirements; `None`
/// when the key is allowed. Beta aliases are judged by their stable key.
fn restriction(key: &str) -> Option<String> {
    let key = labels::normalize(key);
    let domain = key.split_once('/').map(|(d, _)| d).unwrap_or("");
    if key == labels::NODEPOOL || key == labels::HOSTNAME {
        Some(format!("label {key:?} is restricted"))
    } else if labels::is_restricted(key) {
        Some(format!("label {key:?} is restricted: Karpenter or the kubelet sets it"))
    } else if domain.ends_with("karpenter.k8s.aws") && !labels::is_well_known(key) {
        Some(format!("label domain \"karpenter.k8s.aws\" is restricted: {key:?} is not one of its well-known labels"))
    } else {
        None
    }
}

pub(super) fn nodepool(name: &str, doc: &Cursor) -> NodePool {
    let meta = read_object_meta(&doc.get("metadata"));
    let spec = doc.get("spec");
    if !spec.is_present() {
        spec.error("required");
    }
    let template = spec.get("template");
    let template_meta = read_meta(&template.get("metadata"));
    for (key, value) in template.get("metadata").get("labels").entries() {
        if let Some(why) = restriction(key) {
            value.error(why);
        }
    }
    let node_spec = template.get("spec");
    if spec.is_present() && !node_spec.is_present() {
        node_spec.error("required");
    }
    // Fields older API versions kept elsewhere: not read there, so never silently ignored.
    for (parent, field) in
        [(&spec, "expireAfter"), (&spec, "terminationGracePeriod"), (&spec.get("disruption"), "expireAfter")]
    {
        let misplaced = parent.get(field);
        if misplaced.is_present() {
            misplaced.error(format!("karpenter.sh/v1 reads {field} from spec.template.spec, not here: move it there"));
        }
    }
    // Read in the order fields are usually written, so errors come out in that order too.
    let requirement_specs = requirements(&node_spec.get("requirements"), true);
    let taints_ = taints(&node_spec.get("taints"));
    let startup_taints = taints(&node_spec.get("startupTaints"));
    let expire_after = node_spec
        .get("expireAfter")
        .parse::<NillableDuration>()
        .unwrap_or(NillableDuration::After(DEFAULT_EXPIRE_AFTER));
    let termination_grace_period = node_spec.get("terminationGracePeriod").parse::<Duration>();
    let node_class_ref = node_class_ref(&node_spec.get("nodeClassRef"), node_spec.is_present());
    let limits = limits(&spec.get("limits"));
    let weight = spec.get("weight").int_in(1, 100).map(|w| w as i32);
    NodePool {
        name: name.to_string(),
        weight,
        labels: template_meta.labels,
        annotations: template_meta.annotations,
        requirement_specs,
        taints: taints_,
        startup_taints,
        expire_after,
        termination_grace_period,
        node_class_ref,
        limits,
        disruption: disruption(&spec.get("disruption")),
        hash: TemplateHash::from_annotations(&meta.annotations, labels::NODEPOOL_HASH, labels::NODEPOOL_HASH_VERSION),
    }
}

/// Requirements of a NodePool template (`restricted`: keys Karpenter keeps for itself are
/// refused) or of a NodeClaim (which carries them all).
fn requirements(list: &Cursor, restricted: bool) -> Vec<RequirementSpec> {
    let items = list.items();
    if items.len() > MAX_REQUIREMENTS {
        list.error(format!("at most {MAX_REQUIREMENTS} requirements are allowed, found {}", items.len()));
    }
    items.iter().filter_map(|c| requirement(c, restricted)).collect()
}

fn requirement(c: &Cursor, restricted: bool) -> Option<RequirementSpec> {
    let key_field = c.get("key");
    let key = key_field.required_str();
    if let Some(why) = key.filter(|_| restricted).and_then(restriction) {
        key_field.error(why);
    }
    node_label_key(&key_field);
    if let Some(key) = key {
        node_label_values(key, &c.get("values"));
    }
    let operator_field = c.get("operator");
    let operator = if operator_field.is_present() {
        operator_field.parse::<Operator>()
    } else {
        operator_field.error("required");
        None
    };
    let values = c.get("values").string_list();
    let min_values = c.get("minValues").int_in(1, 50).map(|n| n as u32);
    let spec = RequirementSpec { key: key?.to_string(), operator: operator?, values, min_values };
    match Requirement::from_spec(&spec) {
        Ok(_) => Some(spec),
        Err(e) => {
            let field = match e {
                RequirementError::MinValuesRange(_) | RequirementError::MinValuesAboveValues(..) => "minValues",
                RequirementError::EmptyKey => "key",
                _ => "values",
            };
            c.get(field).error(e.to_string());
            None
        }
    }
}

/// A `karpenter.sh/v1` NodeClaim (see [`NodeClaim`]).
pub(super) fn nodeclaim(name: &str, doc: &Cursor) -> NodeClaim {
    let meta = read_object_meta(&doc.get("metadata"));
    let spec = doc.get("spec");
    if !spec.is_present() {
        spec.error("required");
    }
    let requirements = requirements(&spec.get("requirements"), false);
    let taints_ = taints(&spec.get("taints"));
    let startup_taints = taints(&spec.get("startupTaints"));
    let requests = super::cluster::node_resources(&spec.get("resources").get("requests"));
    let node_class_ref = node_class_ref(&spec.get("nodeClassRef"), spec.is_present());
    let status = doc.get("status");
    let resources = |field: &str| {
        let c = status.get(field);
        c.is_present().then(|| super::cluster::node_resources(&c)).filter(|r| *r != Resources::default())
    };
    NodeClaim {
        name: name.to_string(),
        labels: meta.labels,
        annotations: meta.annotations,
        requirements,
        taints: taints_,
        startup_taints,
        requests,
        node_class_ref,
        provider_id: status.get("providerID").string().filter(|s| !s.is_empty()),
        node_name: status.get("nodeName").string().filter(|s| !s.is_empty()),
        capacity: resources("capacity"),
        allocatable: resources("allocatable"),
        deleting: meta.deleting,
        created: meta.created,
    }
}

fn node_class_ref(c: &Cursor, spec_present: bool) -> Option<NodeClassRef> {
    if !c.is_present() {
        if spec_present {
            c.error("required");
        }
        return None;
    }
    let group = c.get("group").required_str();
    let kind = c.get("kind").required_str();
    let name = c.get("name").required_str();
    Some(NodeClassRef { group: group?.to_string(), kind: kind?.to_string(), name: name?.to_string() })
}

fn limits(c: &Cursor) -> BTreeMap<String, crate::quantity::Quantity> {
    let mut out = BTreeMap::new();
    for (name, value) in c.entries() {
        let Some(q) = value.non_negative_quantity() else { continue };
        if Resources::is_valid_name(name) {
            out.insert(name.to_string(), q);
        } else {
            value.error(format!("unknown resource {name:?}"));
        }
    }
    out
}

fn disruption(c: &Cursor) -> Disruption {
    let defaults = Disruption::default();
    let policy = c.get("consolidationPolicy");
    if policy.str() == Some("WhenUnderutilized") {
        policy.error(
            "WhenUnderutilized is karpenter.sh/v1beta1's name: karpenter.sh/v1 calls it WhenEmptyOrUnderutilized",
        );
    }
    let consolidation_policy = match policy.one_of(&["WhenEmpty", "WhenEmptyOrUnderutilized", "Balanced"]) {
        Some("WhenEmpty") => ConsolidationPolicy::WhenEmpty,
        Some("Balanced") => ConsolidationPolicy::Balanced,
        Some(_) => ConsolidationPolicy::WhenEmptyOrUnderutilized,
        None => defaults.consolidation_policy,
    };
    let consolidate_after = c.get("consolidateAfter").parse::<NillableDuration>().unwrap_or(defaults.consolidate_after);
    let list = c.get("budgets");
    let budgets = if list.is_present() {
        let items = list.items();
        if items.len() > MAX_BUDGETS {
            list.error(format!("at most {MAX_BUDGETS} budgets are allowed, found {}", items.len()));
        }
        items.iter().filter_map(budget).collect()
    } else {
        defaults.budgets
    };
    Disruption { consolidation_policy, consolidate_after, budgets }
}

fn budget(c: &Cursor) -> Option<Budget> {
    let nodes_field = c.get("nodes");
    let nodes =
        if nodes_field.is_present() { int_or_percent(&nodes_field)? } else { crate::model::IntOrPercent::Percent(10) };
    let schedule_field = c.get("schedule");
    let schedule = schedule_field.string();
    if let Some(s) = &schedule {
        if let Err(why) = crate::cron::Schedule::parse(s) {
            schedule_field.error(why);
        }
    }
    let duration = c.get("duration").parse::<Duration>();
    if schedule.is_some() != c.get("duration").is_present() {
        c.get(if schedule.is_some() { "duration" } else { "schedule" })
            .error("schedule and duration must be set together");
    }
    let reasons = c
        .get("reasons")
        .items()
        .iter()
        .filter_map(|r| match r.one_of(&["Underutilized", "Empty", "Drifted"])? {
            "Underutilized" => Some(DisruptionReason::Underutilized),
            "Empty" => Some(DisruptionReason::Empty),
            _ => Some(DisruptionReason::Drifted),
        })
        .collect();
    Some(Budget { nodes, schedule, duration, reasons })
}

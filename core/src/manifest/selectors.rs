//! Selectors: label selectors (`matchLabels` + `matchExpressions`) and node selector terms
//! (`matchExpressions` + `matchFields`) turned into [`Requirements`].

use super::cursor::Cursor;
use crate::labels;
use crate::model::LabelSelector;
use crate::requirements::{Operator, Requirement, Requirements};

/// The operators a pod's node affinity and a PersistentVolume accept (NodePools also accept
/// `Gte`/`Lte`).
const NODE_SELECTOR_OPERATORS: &[&str] = &["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"];
const LABEL_SELECTOR_OPERATORS: &[&str] = &["In", "NotIn", "Exists", "DoesNotExist"];

/// One `{key, operator, values}` expression.
fn expression(c: &Cursor, allowed: &[&str]) -> Option<Requirement> {
    let key = c.get("key").required_str();
    let operator = c.get("operator");
    let op = match operator.str() {
        Some(s) if allowed.contains(&s) => s.parse::<Operator>().ok(),
        Some(s) => {
            operator.error(format!("unknown operator {s:?}: use {}", super::cursor::join_or(allowed)));
            None
        }
        None => {
            if !operator.is_present() {
                operator.error("required");
            }
            None
        }
    };
    let values = c.get("values").string_list();
    let (key, op) = (key?, op?);
    match Requirement::new(key, op, &values) {
        Ok(r) => Some(r),
        Err(e) => {
            c.get("values").error(e.to_string());
            None
        }
    }
}

/// Checks a node label key that a pod or NodePool constrains (see [`labels::unknown_key`]).
pub(super) fn node_label_key(c: &Cursor) {
    if let Some(key) = c.str() {
        node_label_key_at(key, c);
    }
}

/// Checks node label `key`, constrained at `at` (a map entry of a nodeSelector, say).
pub(super) fn node_label_key_at(key: &str, at: &Cursor) {
    if let Some(why) = labels::unknown_key(key) {
        at.doubt_label(key, why);
    }
}

/// Checks a value (or a list of values) of node label `key` (see [`labels::impossible_value`]).
pub(super) fn node_label_values(key: &str, c: &Cursor) {
    let check = |v: &Cursor| {
        if let Some(why) = v.value().and_then(|v| v.as_str()).and_then(|v| labels::impossible_value(key, v)) {
            v.doubt(why);
        }
    };
    match c.value() {
        Some(serde_json::Value::Array(_)) => c.items().iter().for_each(check),
        _ => check(c),
    }
}

/// A node label constraint `{key, operator, values}`: the key and values checked.
fn node_label_expression(c: &Cursor) {
    node_label_key(&c.get("key"));
    if let Some(key) = c.get("key").value().and_then(|k| k.as_str()) {
        node_label_values(key, &c.get("values"));
    }
}

/// A label selector. `None` when absent: Kubernetes reads a missing selector as selecting no
/// object, unlike an empty one (`{}`), which selects every object.
pub(super) fn label_selector(c: &Cursor) -> Option<LabelSelector> {
    if !c.is_map() {
        return None;
    }
    let match_labels = c.get("matchLabels").string_map();
    let match_expressions =
        c.get("matchExpressions").items().iter().filter_map(|e| expression(e, LABEL_SELECTOR_OPERATORS)).collect();
    Some(LabelSelector { match_labels, match_expressions })
}

/// A node selector term: its `matchExpressions` ANDed with its `matchFields` (only
/// `metadata.name` exists; it is the node's name, which is its `kubernetes.io/hostname`).
pub(super) fn node_selector_term(c: &Cursor) -> Requirements {
    let mut reqs = Requirements::new();
    for e in c.get("matchExpressions").items() {
        node_label_expression(&e);
        if let Some(r) = expression(&e, NODE_SELECTOR_OPERATORS) {
            reqs.add(r);
        }
    }
    for f in c.get("matchFields").items() {
        let key = f.get("key");
        match key.str() {
            Some("metadata.name") | None => {}
            Some(other) => {
                key.error(format!("unsupported field {other:?}: only metadata.name can be matched"));
                continue;
            }
        }
        if let Some(r) = expression(&f, &["In", "NotIn"]) {
            if let Ok(r) = Requirement::new(labels::HOSTNAME, r.operator(), &field_values(&f)) {
                reqs.add(r);
            }
        }
    }
    reqs
}

fn field_values(c: &Cursor) -> Vec<String> {
    c.get("values").items().iter().filter_map(|v| v.value().and_then(|v| v.as_str()).map(str::to_string)).collect()
}

/// `nodeSelectorTerms`, ORed.
pub(super) fn node_selector_terms(c: &Cursor) -> Vec<Requirements> {
    let terms = c.get("nodeSelectorTerms");
    if c.is_present() && !terms.is_present() {
        terms.error("required");
    }
    terms.items().iter().map(node_selector_term).collect()
}

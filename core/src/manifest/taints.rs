//! Taints (of nodes and NodePools) and tolerations (of pods).

use super::cursor::Cursor;
use crate::taints::{Taint, TaintEffect, Toleration, TolerationOperator};

const EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];

pub(super) fn taints(list: &Cursor) -> Vec<Taint> {
    list.items().iter().filter_map(taint).collect()
}

fn taint(c: &Cursor) -> Option<Taint> {
    let key = c.get("key").required_str();
    let value = c.get("value").string().unwrap_or_default();
    let effect = c.get("effect");
    let effect = if effect.is_present() { effect.one_of(EFFECTS) } else { effect.required_str() };
    let effect: TaintEffect = effect?.parse().ok()?;
    Some(Taint { key: key?.to_string(), value, effect })
}

pub(super) fn tolerations(list: &Cursor) -> Vec<Toleration> {
    list.items().iter().filter_map(toleration).collect()
}

fn toleration(c: &Cursor) -> Option<Toleration> {
    let key = c.get("key").string().unwrap_or_default();
    let operator = match c.get("operator").one_of(&["Equal", "Exists"]) {
        Some("Exists") => TolerationOperator::Exists,
        Some(_) => TolerationOperator::Equal,
        None if c.get("operator").is_present() => return None,
        None => TolerationOperator::Equal,
    };
    let value = c.get("value").string().unwrap_or_default();
    let effect = match c.get("effect").str() {
        None | Some("") => None,
        Some(_) => Some(c.get("effect").one_of(EFFECTS)?.parse::<TaintEffect>().ok()?),
    };
    if operator == TolerationOperator::Exists && !value.is_empty() {
        c.get("value").error("must be empty when operator is Exists");
        return None;
    }
    if key.is_empty() && operator == TolerationOperator::Equal {
        c.get("operator").error("must be Exists when key is empty");
        return None;
    }
    Some(Toleration { key, operator, value, effect })
}

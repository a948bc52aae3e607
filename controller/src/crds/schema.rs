//! What schemars' attributes cannot say on their own about Karpenter's schemas: the patterns
//! the CRDs share, and small transforms for the values of maps (schemars' `inner(...)` reaches
//! only the items of lists) and for the few fields whose JSON type differs from what their Rust
//! type would give.
//!
//! Each transform is named by what it makes true of the schema; none writes a field's schema
//! whole. Two stand-in types give the schemas of k8s-openapi's `Quantity` and `Time` (whose own
//! `JsonSchema` implementations are behind a k8s-openapi feature this crate does not enable);
//! fields of those types name them with `#[schemars(with = ...)]`.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Value};

/// A resource quantity, as the apiserver's own `resource.Quantity` pattern.
pub const QUANTITY: &str = r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";

/// A kubelet eviction threshold: a percentage (`5%`, `7.5%`) or a quantity (`500Mi`).
pub const EVICTION_THRESHOLD: &str = r"^((\d{1,2}(\.\d{1,2})?|100(\.0{1,2})?)%||(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?)$";

/// A duration in Go's notation limited to seconds, minutes and hours (`30s`, `1h30m`), or `Never`.
pub const DURATION_OR_NEVER: &str = r"^(([0-9]+(s|m|h))+|Never)$";

/// A duration in Go's notation limited to seconds, minutes and hours; `Never` is not allowed.
pub const DURATION: &str = r"^([0-9]+(s|m|h))+$";

/// A budget's duration: hours and minutes only (cron has no seconds), with the `0s` Go's
/// `Duration.String()` appends allowed at the end.
pub const BUDGET_DURATION: &str = r"^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$";

/// A budget's node count: a whole number or a percentage from 0% to 100%.
pub const BUDGET_NODES: &str = r"^((100|[0-9]{1,2})%|[0-9]+)$";

/// A budget's schedule: a cron macro (`@daily`) or five cron fields.
pub const CRON_SCHEDULE: &str =
    r"^(@(annually|yearly|monthly|weekly|daily|midnight|hourly))|((.+)\s(.+)\s(.+)\s(.+)\s(.+))$";

/// A label key or taint key: an optional DNS-subdomain prefix and `/`, then a name.
pub const QUALIFIED_NAME: &str =
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(\/))?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$";

/// A label value (empty allowed); at most 63 characters, see [`LABEL_VALUE_MAX`].
pub const LABEL_VALUE: &str = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$";

/// The longest label value.
pub const LABEL_VALUE_MAX: u32 = 63;

/// A condition's type: CamelCase, optionally prefixed by a DNS subdomain and `/`.
pub const CONDITION_TYPE: &str =
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$";

/// A condition's reason: a CamelCase identifier, never empty.
pub const CONDITION_REASON: &str = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$";

/// A NodeClaim condition's reason: as [`CONDITION_REASON`], or empty.
pub const CONDITION_REASON_OR_EMPTY: &str = r"^([A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?|)$";

/// The schema of a `resource.Quantity` (`k8s_openapi::apimachinery::pkg::api::resource::Quantity`):
/// an integer, or a string in quantity notation.
pub struct QuantitySchema;

impl JsonSchema for QuantitySchema {
    fn schema_name() -> Cow<'static, str> {
        "Quantity".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"x-kubernetes-int-or-string": true, "pattern": QUANTITY})
    }
}

/// The schema of a `metav1.Time` (`k8s_openapi::apimachinery::pkg::apis::meta::v1::Time`): an
/// RFC 3339 date and time.
pub struct TimeSchema;

impl JsonSchema for TimeSchema {
    fn schema_name() -> Cow<'static, str> {
        "Time".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "format": "date-time"})
    }
}

/// The schema of a node-selector operator ([`fleetfit::requirements::Operator`]): one of its
/// names.
pub struct OperatorSchema;

impl JsonSchema for OperatorSchema {
    fn schema_name() -> Cow<'static, str> {
        "NodeSelectorOperator".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<String> = fleetfit::requirements::Operator::ALL.iter().map(ToString::to_string).collect();
        json_schema!({"type": "string", "enum": names})
    }
}

/// The object a map's values are described by (`additionalProperties`), created if absent.
fn map_values(schema: &mut Schema) -> &mut serde_json::Map<String, Value> {
    let object = schema.ensure_object();
    let values = object.entry("additionalProperties").or_insert_with(|| json!({}));
    if !values.is_object() {
        *values = json!({});
    }
    values.as_object_mut().expect("made an object above")
}

/// A map whose string values are resource quantities (the kubelet's reserved resources).
pub fn quantity_strings(schema: &mut Schema) {
    map_values(schema).insert("pattern".into(), QUANTITY.into());
}

/// A map whose string values are eviction thresholds ([`EVICTION_THRESHOLD`]).
pub fn eviction_thresholds(schema: &mut Schema) {
    map_values(schema).insert("pattern".into(), EVICTION_THRESHOLD.into());
}

/// A map whose values are label values ([`LABEL_VALUE`], at most [`LABEL_VALUE_MAX`] long).
pub fn label_values(schema: &mut Schema) {
    let values = map_values(schema);
    values.insert("maxLength".into(), LABEL_VALUE_MAX.into());
    values.insert("pattern".into(), LABEL_VALUE.into());
}

/// An integer the API declares without a width (Go's `int`): drops schemars' `format`.
pub fn integer_without_format(schema: &mut Schema) {
    schema.ensure_object().remove("format");
}

/// Adds CEL rules to the rules an object's property already has.
fn add_property_rules(schema: &mut Schema, path: &[&str], rules: Value) {
    let mut node = schema.ensure_object();
    for key in path {
        node = node
            .entry(*key)
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .unwrap_or_else(|| panic!("schema node {key:?} is not an object"));
    }
    let list = node.entry("x-kubernetes-validations").or_insert_with(|| json!([]));
    match (list, rules) {
        (Value::Array(list), Value::Array(rules)) => list.extend(rules),
        _ => panic!("x-kubernetes-validations must be a list"),
    }
}

/// A NodePool's requirements: NodeClaim's, and a NodePool may not set its own label either
/// (Karpenter sets `karpenter.sh/nodepool` on every node it launches).
pub fn nodepool_requirements(schema: &mut Schema) {
    add_property_rules(
        schema,
        &["items", "properties", "key"],
        json!([{
            "message": "label \"karpenter.sh/nodepool\" is restricted",
            "rule": "self != \"karpenter.sh/nodepool\"",
        }]),
    );
}

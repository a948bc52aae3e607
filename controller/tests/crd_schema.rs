//! Our CRDs against Karpenter's, without a cluster.
//!
//! 1. Drift: what `fleetfit-crdgen` generates is what `controller/crds/` holds, byte for byte.
//! 2. Coverage: every property of Karpenter's schemas (`controller/tests/fixtures/karpenter-crds/`,
//!    see PROVENANCE.md there) is in ours with the same JSON type and the same validation
//!    (enum, pattern, format, bounds, default, required fields, list and map types, CEL rules),
//!    and ours has nothing Karpenter's lacks; the names, scope, printer columns and subresources
//!    are the same. The differences we keep are listed, each with its reason, in [`DEVIATIONS`];
//!    a listed difference that no longer occurs fails too, so the list stays true.
//! 3. Round trip: every `karpenter.sh/v1` NodePool and NodeClaim and `karpenter.k8s.aws/v1`
//!    EC2NodeClass in the repository's YAML and JSON files under `examples/`,
//!    `wasm/www/examples/` and `core/tests/` is checked against Karpenter's schema (types,
//!    enums, required fields, with the apiserver's defaults). One it accepts must deserialize
//!    into our types and serialize back to the same object; one it rejects must be rejected by
//!    our types too.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use fleetfit_controller::crds::{self, EC2NodeClass, NodeClaim, NodePool};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

const REGENERATE: &str = "cargo run -p fleetfit-controller --bin fleetfit-crdgen -- --out controller/crds";

/// Differences from Karpenter's schemas we keep on purpose: (CRD file, property path, what
/// differs, why). `what` is `property` (the path is missing from ours), `type`, `required`,
/// `x-kubernetes-validations` or a schema keyword. Paths are as [`schema_paths`] writes them;
/// `(root)` is the object itself.
const DEVIATIONS: &[(&str, &str, &str, &str)] = &[
    (
        "karpenter.sh_nodepools.yaml",
        "spec.template.spec.requirements[].values",
        "maxLength",
        "Karpenter puts a label value's maxLength on the values list itself, where the apiserver never applies it",
    ),
    (
        "karpenter.sh_nodepools.yaml",
        "spec.template.spec.requirements[].values",
        "pattern",
        "Karpenter puts a label value's pattern on the values list itself, where the apiserver never applies it",
    ),
    (
        "karpenter.sh_nodeclaims.yaml",
        "spec.requirements[].values",
        "maxLength",
        "Karpenter puts a label value's maxLength on the values list itself, where the apiserver never applies it",
    ),
    (
        "karpenter.sh_nodeclaims.yaml",
        "spec.requirements[].values",
        "pattern",
        "Karpenter puts a label value's pattern on the values list itself, where the apiserver never applies it",
    ),
    (
        "karpenter.k8s.aws_ec2nodeclasses.yaml",
        "(root)",
        "required",
        "kube's CustomResource derive makes spec a required field; an EC2NodeClass without one selects nothing to launch with",
    ),
];

/// Schema keywords compared value for value (`enum` as a set).
const COMPARED_KEYWORDS: &[&str] = &[
    "enum",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "default",
    "nullable",
    "title",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource",
];

/// Schema keywords compared otherwise (structure, type, required, CEL) or not at all
/// (descriptions, which are our own words).
const STRUCTURAL_KEYWORDS: &[&str] = &[
    "type",
    "description",
    "properties",
    "items",
    "additionalProperties",
    "required",
    "anyOf",
    "x-kubernetes-int-or-string",
    "x-kubernetes-validations",
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("controller/ is in the repository").to_path_buf()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Karpenter's CRD of the same file name, as JSON.
fn karpenter_crd(file_name: &str) -> Value {
    let path = repo_root().join("controller/tests/fixtures/karpenter-crds").join(file_name);
    let docs = yaml_documents(&read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let [crd]: [Value; 1] = docs
        .try_into()
        .unwrap_or_else(|d: Vec<Value>| panic!("{}: expected one YAML document, found {}", path.display(), d.len()));
    crd
}

/// The non-empty documents of a YAML stream, as JSON.
fn yaml_documents(text: &str) -> Result<Vec<Value>, serde_yaml::Error> {
    let mut docs = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let value = Value::deserialize(document)?;
        if !value.is_null() {
            docs.push(value);
        }
    }
    Ok(docs)
}

// ---------------------------------------------------------------------------------------------
// 1. Drift

#[test]
fn committed_crds_are_what_crdgen_generates() {
    let dir = repo_root().join("controller/crds");
    let mut problems = Vec::new();
    let generated = crds::crds();
    for file in &generated {
        let path = dir.join(file.file_name);
        let expected = crds::to_yaml(&file.crd).expect("a CRD serializes as YAML");
        match std::fs::read_to_string(&path) {
            Ok(committed) if committed == expected => {}
            Ok(committed) => {
                let line = committed.lines().zip(expected.lines()).position(|(a, b)| a != b).map_or_else(
                    || format!("lengths differ ({} and {} lines)", committed.lines().count(), expected.lines().count()),
                    |i| format!("first difference at line {}", i + 1),
                );
                problems.push(format!("{} is not what fleetfit-crdgen generates ({line})", path.display()));
            }
            Err(e) => problems.push(format!("cannot read {}: {e}", path.display())),
        }
    }
    // No stale CRD (a kind renamed or dropped) may stay behind.
    let expected_names: BTreeSet<&str> = generated.iter().map(|f| f.file_name).collect();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !expected_names.contains(name.as_str()) {
                problems.push(format!("{} is not generated by fleetfit-crdgen", dir.join(&name).display()));
            }
        }
    }
    assert!(problems.is_empty(), "{}\nRun `{REGENERATE}` and commit the result.", problems.join("\n"));
}

#[test]
fn crdgen_stream_holds_the_three_crds() {
    let stream = crds::all_yaml().expect("the CRDs serialize as YAML");
    let docs = yaml_documents(&stream).expect("fleetfit-crdgen prints valid YAML");
    let names: Vec<&str> = docs.iter().map(|d| d["metadata"]["name"].as_str().unwrap_or("?")).collect();
    assert_eq!(names, ["nodepools.karpenter.sh", "nodeclaims.karpenter.sh", "ec2nodeclasses.karpenter.k8s.aws"]);
    for (doc, file) in docs.iter().zip(crds::crds()) {
        let alone = yaml_documents(&crds::to_yaml(&file.crd).unwrap()).unwrap();
        assert_eq!(std::slice::from_ref(doc), alone, "{} differs in the stream", file.file_name);
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Coverage

/// Every schema node of a CRD's `openAPIV3Schema` by path: `spec.template.spec.requirements[]`
/// for a list's items, `spec.limits{}` for a map's values, `(root)` for the object.
fn schema_paths(schema: &Value) -> BTreeMap<String, &Value> {
    fn walk<'a>(schema: &'a Value, path: String, out: &mut BTreeMap<String, &'a Value>) {
        let child = |suffix: &str| {
            if path == "(root)" {
                suffix.to_owned()
            } else if suffix.starts_with('[') || suffix.starts_with('{') {
                format!("{path}{suffix}")
            } else {
                format!("{path}.{suffix}")
            }
        };
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                walk(property, child(name), out);
            }
        }
        if let Some(items) = schema.get("items") {
            walk(items, child("[]"), out);
        }
        if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
            walk(values, child("{}"), out);
        }
        out.insert(path, schema);
    }
    let mut out = BTreeMap::new();
    walk(schema, "(root)".to_owned(), &mut out);
    out
}

/// A schema node's JSON type: `string`, `integer`, `object`, `array`, `boolean`, `number`, or
/// `int-or-string` (`x-kubernetes-int-or-string`, how quantities are typed).
fn json_type(schema: &Value) -> String {
    if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        return "int-or-string".into();
    }
    schema.get("type").and_then(Value::as_str).unwrap_or("(none)").to_owned()
}

/// The required properties of an object node, leaving out those with a default: the apiserver
/// fills them in before it checks, so "required with a default" and "optional with the same
/// default" accept the same objects.
fn required_without_default(schema: &Value) -> BTreeSet<String> {
    let required = schema.get("required").and_then(Value::as_array).cloned().unwrap_or_default();
    required
        .iter()
        .filter_map(Value::as_str)
        .filter(|name| schema["properties"][*name].get("default").is_none())
        .map(str::to_owned)
        .collect()
}

/// A node's CEL rules, as a sorted list (their order does not matter).
fn cel_rules(schema: &Value) -> Vec<String> {
    let mut rules: Vec<String> = schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .map(|rules| rules.iter().map(|r| serde_json::to_string(r).unwrap()).collect())
        .unwrap_or_default();
    rules.sort();
    rules
}

/// A keyword's value, comparable: enums as sorted sets, numbers as numbers.
fn keyword(schema: &Value, name: &str) -> Option<Value> {
    let value = schema.get(name)?.clone();
    Some(match (name, value) {
        ("enum", Value::Array(mut values)) => {
            values.sort_by_key(|v| v.to_string());
            Value::Array(values)
        }
        (_, Value::Number(n)) => json!(n.as_f64()),
        (_, value) => value,
    })
}

/// Every difference between Karpenter's schema and ours, as (path, what, message).
fn schema_differences(theirs: &Value, ours: &Value) -> Vec<(String, String, String)> {
    let theirs = schema_paths(theirs);
    let ours = schema_paths(ours);
    let mut found = Vec::new();
    let mut differ = |path: &str, what: &str, message: String| found.push((path.to_owned(), what.to_owned(), message));
    for (whose, nodes) in [("Karpenter's", &theirs), ("our", &ours)] {
        for (path, node) in nodes {
            for key in node.as_object().into_iter().flat_map(|o| o.keys()) {
                if !COMPARED_KEYWORDS.contains(&key.as_str()) && !STRUCTURAL_KEYWORDS.contains(&key.as_str()) {
                    differ(path, key, format!("{whose} schema uses {key:?}, which this test does not compare"));
                }
            }
        }
    }
    for (path, their) in &theirs {
        let Some(our) = ours.get(path) else {
            differ(path, "property", "missing from ours".into());
            continue;
        };
        let (their_type, our_type) = (json_type(their), json_type(our));
        if their_type != our_type {
            differ(path, "type", format!("Karpenter's is {their_type}, ours {our_type}"));
        }
        for name in COMPARED_KEYWORDS {
            let (k, o) = (keyword(their, name), keyword(our, name));
            if k != o {
                let show = |v: &Option<Value>| v.as_ref().map_or("(none)".to_owned(), |v| v.to_string());
                differ(path, name, format!("Karpenter's {}, ours {}", show(&k), show(&o)));
            }
        }
        let (k, o) = (required_without_default(their), required_without_default(our));
        if k != o {
            differ(path, "required", format!("Karpenter's {k:?}, ours {o:?}"));
        }
        let (k, o) = (cel_rules(their), cel_rules(our));
        if k != o {
            let missing: Vec<_> = k.iter().filter(|r| !o.contains(r)).collect();
            let extra: Vec<_> = o.iter().filter(|r| !k.contains(r)).collect();
            differ(path, "x-kubernetes-validations", format!("ours lacks {missing:?} and adds {extra:?}"));
        }
    }
    for path in ours.keys().filter(|p| !theirs.contains_key(*p)) {
        differ(
            path,
            "property",
            "ours has it, Karpenter's does not (the apiserver would keep what Karpenter prunes)".into(),
        );
    }
    found
}

fn the_version(crd: &Value) -> &Value {
    let versions = crd["spec"]["versions"].as_array().expect("spec.versions");
    assert_eq!(versions.len(), 1, "{}: one version expected", crd["metadata"]["name"]);
    &versions[0]
}

#[test]
fn our_schemas_cover_karpenters() {
    let mut problems = Vec::new();
    let mut seen_deviations = BTreeSet::new();
    for file in crds::crds() {
        let theirs = karpenter_crd(file.file_name);
        let ours = serde_json::to_value(&file.crd).unwrap();
        let (their_version, our_version) = (the_version(&theirs), the_version(&ours));
        let schema = |version: &Value| version["schema"]["openAPIV3Schema"].clone();
        let differences = schema_differences(&schema(their_version), &schema(our_version));
        let paths = schema_paths(&schema(their_version)).len();
        println!("{}: {paths} properties compared, {} differences", file.file_name, differences.len());
        for (path, what, message) in differences {
            let listed = DEVIATIONS.iter().position(|d| d.0 == file.file_name && d.1 == path && d.2 == what);
            match listed {
                Some(index) => {
                    println!("  deviation (listed): {path}: {what}: {message}");
                    seen_deviations.insert(index);
                }
                None => problems.push(format!("{}: {path}: {what}: {message}", file.file_name)),
            }
        }
    }
    for (index, (file, path, what, why)) in DEVIATIONS.iter().enumerate() {
        if !seen_deviations.contains(&index) {
            problems.push(format!("{file}: {path}: {what}: listed in DEVIATIONS ({why}) but no longer differs"));
        }
    }
    assert!(problems.is_empty(), "our CRDs differ from Karpenter's:\n{}", problems.join("\n"));
}

#[test]
fn our_names_columns_scope_and_subresources_are_karpenters() {
    let mut problems = Vec::new();
    for file in crds::crds() {
        let theirs = karpenter_crd(file.file_name);
        let ours = serde_json::to_value(&file.crd).unwrap();
        let mut compare = |what: &str, k: &Value, o: &Value| {
            if k != o {
                problems.push(format!("{}: {what}: Karpenter's {k}, ours {o}", file.file_name));
            }
        };
        compare("metadata.name", &theirs["metadata"]["name"], &ours["metadata"]["name"]);
        compare("group", &theirs["spec"]["group"], &ours["spec"]["group"]);
        compare("scope", &theirs["spec"]["scope"], &ours["spec"]["scope"]);
        // kind, listKind, plural, singular, shortNames (ec2nc, ...) and categories (karpenter).
        compare("names", &theirs["spec"]["names"], &ours["spec"]["names"]);
        let (their_version, our_version) = (the_version(&theirs), the_version(&ours));
        for key in ["name", "served", "storage", "additionalPrinterColumns", "subresources", "deprecated"] {
            compare(&format!("versions[0].{key}"), &their_version[key], &our_version[key]);
        }
        // The apiserver refuses a CRD whose root metadata schema says more than its type.
        let metadata = |version: &Value| version["schema"]["openAPIV3Schema"]["properties"]["metadata"].clone();
        compare("the root's metadata schema", &metadata(their_version), &metadata(our_version));
    }
    assert_eq!(
        crds::crds().iter().filter(|f| f.crd.spec.scope == "Cluster").count(),
        3,
        "all three are cluster-scoped"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn coverage_check_finds_a_difference() {
    // The comparison must see a dropped property, a changed type, a changed enum and a lost
    // CEL rule: take Karpenter's NodePool schema and break it four ways.
    let theirs = the_version(&karpenter_crd("karpenter.sh_nodepools.yaml"))["schema"]["openAPIV3Schema"].clone();
    let mut broken = theirs.clone();
    let spec = &mut broken["properties"]["spec"]["properties"];
    spec.as_object_mut().unwrap().remove("weight");
    spec["replicas"]["type"] = json!("string");
    spec["disruption"]["properties"]["consolidationPolicy"]["enum"] = json!(["WhenEmpty"]);
    spec["template"]["properties"]["spec"]["properties"]["requirements"]
        .as_object_mut()
        .unwrap()
        .remove("x-kubernetes-validations");
    let found: BTreeSet<(String, String)> =
        schema_differences(&theirs, &broken).into_iter().map(|(path, what, _)| (path, what)).collect();
    let expect = |path: &str, what: &str| (path.to_owned(), what.to_owned());
    assert_eq!(
        found,
        BTreeSet::from([
            expect("spec.weight", "property"),
            expect("spec.replicas", "type"),
            expect("spec.disruption.consolidationPolicy", "enum"),
            expect("spec.template.spec.requirements", "x-kubernetes-validations"),
        ])
    );
    assert!(schema_differences(&theirs, &theirs).is_empty());
}

// ---------------------------------------------------------------------------------------------
// 3. Round trip

/// The directories searched for objects, and whether they hold examples: objects there must
/// all fit Karpenter's schema (an example Karpenter rejects is a wrong example).
const SEARCHED: &[(&str, bool)] = &[("examples", true), ("wasm/www/examples", true), ("core/tests", false)];

/// The directory in which at least one object must be found and read.
const MUST_HAVE_OBJECTS: &str = "examples";

/// Files that do not parse as YAML are skipped only in directories of this name: the core's
/// tests of malformed input (`core/tests/manifests/invalid/`). Elsewhere they fail the test.
const MALFORMED_INPUT_DIR: &str = "invalid";

/// A Karpenter object found in the repository.
struct Found {
    /// `path#document` (and `/manifests#document` inside a scenario).
    source: String,
    /// The CRD file of its kind.
    crd_file: &'static str,
    object: Value,
}

fn crd_file_of(object: &Value) -> Option<&'static str> {
    match (object.get("apiVersion")?.as_str()?, object.get("kind")?.as_str()?) {
        ("karpenter.sh/v1", "NodePool") => Some("karpenter.sh_nodepools.yaml"),
        ("karpenter.sh/v1", "NodeClaim") => Some("karpenter.sh_nodeclaims.yaml"),
        ("karpenter.k8s.aws/v1", "EC2NodeClass") => Some("karpenter.k8s.aws_ec2nodeclasses.yaml"),
        _ => None,
    }
}

/// The Karpenter objects of one YAML document: the document itself, the items of a `List`
/// (`kubectl get -o json`), and the documents of a scenario's `manifests` string (the format
/// of `core/tests/scenarios/`). Objects nested anywhere else (an owner reference) are not
/// objects.
fn objects_in(document: &Value, source: &str, out: &mut Vec<Found>) {
    if let Some(crd_file) = crd_file_of(document) {
        out.push(Found { source: source.to_owned(), crd_file, object: document.clone() });
    }
    if let Some(items) = document.get("items").and_then(Value::as_array) {
        for (i, item) in items.iter().enumerate() {
            objects_in(item, &format!("{source}/items[{i}]"), out);
        }
    }
    if let Some(manifests) = document.get("manifests").and_then(Value::as_str) {
        let docs = yaml_documents(manifests).unwrap_or_else(|e| panic!("{source}: manifests do not parse: {e}"));
        for (i, doc) in docs.iter().enumerate() {
            objects_in(doc, &format!("{source}/manifests#{i}"), out);
        }
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            yaml_files(&path, out);
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")) {
            out.push(path);
        }
    }
}

/// The Karpenter objects under `dir`, and the files skipped as malformed on purpose.
fn find_objects(root: &Path, dir: &str) -> (Vec<Found>, Vec<String>) {
    let mut files = Vec::new();
    yaml_files(&root.join(dir), &mut files);
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    for path in files {
        let relative = path.strip_prefix(root).unwrap().display().to_string();
        match yaml_documents(&read(&path)) {
            Ok(docs) => {
                for (i, doc) in docs.iter().enumerate() {
                    objects_in(doc, &format!("{relative}#{i}"), &mut found);
                }
            }
            Err(_) if path.parent().is_some_and(|p| p.ends_with(MALFORMED_INPUT_DIR)) => skipped.push(relative),
            Err(e) => panic!("{relative} does not parse as YAML: {e}"),
        }
    }
    (found, skipped)
}

/// Checks `value` against Karpenter's schema as the apiserver does, for what our types decide
/// on too: JSON types, enums and required fields (defaults filled in first; `null` counts as
/// absent). Patterns, bounds and CEL rules are left out: Rust types do not check them. Unknown
/// fields are not errors (the apiserver prunes them).
fn karpenter_rejects(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    let type_ok = match json_type(schema).as_str() {
        "int-or-string" => value.is_i64() || value.is_u64() || value.is_string(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        _ => true,
    };
    if !type_ok {
        errors.push(format!("{path}: {value} is not of type {}", json_type(schema)));
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            errors.push(format!("{path}: {value} is not one of {allowed:?}"));
        }
    }
    match value {
        Value::Object(fields) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            for name in required_without_default(schema) {
                if fields.get(&name).is_none_or(Value::is_null) {
                    errors.push(format!("{path}: missing required field {name:?}"));
                }
            }
            for (name, field) in fields.iter().filter(|(_, v)| !v.is_null()) {
                let child = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
                if let Some(property) = properties.and_then(|p| p.get(name)) {
                    karpenter_rejects(property, field, &child, errors);
                } else if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
                    karpenter_rejects(values, field, &child, errors);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    karpenter_rejects(item_schema, item, &format!("{path}[{i}]"), errors);
                }
            }
        }
        _ => {}
    }
}

/// An object as the apiserver would store it under Karpenter's schema, for comparing: unknown
/// fields and `null`s dropped, defaults filled in, quantities as strings (`1000` and `"1000"`
/// are the same quantity; our `Quantity` writes strings). `metadata` is kept whole.
fn as_stored(schema: &Value, value: &Value, root: bool) -> Value {
    match value {
        Value::Object(fields) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let values_schema = schema.get("additionalProperties").filter(|v| v.is_object());
            let mut out = Map::new();
            for (name, field) in fields.iter().filter(|(_, v)| !v.is_null()) {
                if root && name == "metadata" {
                    out.insert(name.clone(), field.clone());
                } else if let Some(property) = properties.and_then(|p| p.get(name)) {
                    out.insert(name.clone(), as_stored(property, field, false));
                } else if let Some(values) = values_schema {
                    out.insert(name.clone(), as_stored(values, field, false));
                }
            }
            for (name, property) in properties.into_iter().flatten() {
                if let (None, Some(default)) = (out.get(name), property.get("default")) {
                    let defaulted = as_stored(property, default, false);
                    out.insert(name.clone(), defaulted);
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let item_schema = schema.get("items").unwrap_or(&Value::Null);
            Value::Array(items.iter().map(|item| as_stored(item_schema, item, false)).collect())
        }
        Value::Number(n) if json_type(schema) == "int-or-string" => Value::String(n.to_string()),
        other => other.clone(),
    }
}

/// Deserializes an object into `T` and serializes it back; `Err` if it does not deserialize.
fn through<T: DeserializeOwned + Serialize>(object: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(object.clone()).map_err(|e| e.to_string())?;
    Ok(serde_json::to_value(&typed).expect("our types serialize"))
}

#[test]
fn repository_objects_deserialize_into_our_types() {
    let root = repo_root();
    let schemas: BTreeMap<&str, Value> = crds::crds()
        .iter()
        .map(|f| (f.file_name, the_version(&karpenter_crd(f.file_name))["schema"]["openAPIV3Schema"].clone()))
        .collect();
    let mut problems = Vec::new();
    let mut report = String::new();
    for (dir, examples) in SEARCHED {
        let (found, skipped) = find_objects(&root, dir);
        let (mut accepted, mut rejected) = (0, 0);
        let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
        for Found { source, crd_file, object } in &found {
            let schema = &schemas[crd_file];
            let kind = object["kind"].as_str().unwrap();
            *per_kind.entry(kind).or_default() += 1;
            let ours = match *crd_file {
                "karpenter.sh_nodepools.yaml" => through::<NodePool>(object),
                "karpenter.sh_nodeclaims.yaml" => through::<NodeClaim>(object),
                _ => through::<EC2NodeClass>(object),
            };
            let mut errors = Vec::new();
            karpenter_rejects(schema, object, "", &mut errors);
            match (errors.is_empty(), ours) {
                (true, Ok(back)) => {
                    accepted += 1;
                    let (expected, got) = (as_stored(schema, object, true), as_stored(schema, &back, true));
                    if expected != got {
                        problems.push(format!(
                            "{source}: {kind} changes on the way through our types:\n  in:  {expected}\n  out: {got}"
                        ));
                    }
                }
                (true, Err(e)) => {
                    problems.push(format!("{source}: {kind} fits Karpenter's schema but not our types: {e}"))
                }
                (false, Err(_)) if *examples => problems.push(format!(
                    "{source}: {kind} is an example, but Karpenter's schema rejects it: {}",
                    errors.join("; ")
                )),
                (false, Err(_)) => rejected += 1,
                (false, Ok(_)) => problems.push(format!(
                    "{source}: {kind} is rejected by Karpenter's schema ({}) but read by our types",
                    errors.join("; ")
                )),
            }
            if !errors.is_empty() {
                let _ =
                    writeln!(report, "  rejected, as by Karpenter's schema: {kind} {source}: {}", errors.join("; "));
            }
        }
        let _ = writeln!(
            report,
            "{dir}: {} objects {per_kind:?}: {accepted} read and written back unchanged, {rejected} rejected as Karpenter's schema rejects them{}",
            found.len(),
            if skipped.is_empty() { String::new() } else { format!("; files skipped as malformed on purpose: {skipped:?}") },
        );
        if *dir == MUST_HAVE_OBJECTS && accepted == 0 {
            problems.push(format!("no Karpenter v1 object found and read in {dir}/"));
        }
    }
    println!("{report}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn round_trip_checks_see_what_they_must() {
    let schema = the_version(&karpenter_crd("karpenter.sh_nodepools.yaml"))["schema"]["openAPIV3Schema"].clone();
    let pool = json!({
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": "default"},
        "spec": {
            "weight": 10,
            "limits": {"cpu": 1000},
            "template": {"spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
                "requirements": [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]}],
            }},
            "unknownField": true,
        },
    });
    let rejections = |object: &Value| {
        let mut errors = Vec::new();
        karpenter_rejects(&schema, object, "", &mut errors);
        errors
    };
    assert_eq!(rejections(&pool), Vec::<String>::new(), "unknown fields are pruned, not errors");

    // Stored: the unknown field pruned, the quantity a string, the defaults filled in.
    let stored = as_stored(&schema, &pool, true);
    assert!(stored["spec"].get("unknownField").is_none());
    assert_eq!(stored["spec"]["limits"]["cpu"], "1000");
    assert_eq!(stored["spec"]["template"]["spec"]["expireAfter"], "720h");
    assert_eq!(stored["spec"]["disruption"]["budgets"], json!([{"nodes": "10%"}]));
    let back = through::<NodePool>(&pool).expect("a valid NodePool");
    assert_eq!(as_stored(&schema, &back, true), stored);
    let mut lost = pool.clone();
    lost["spec"].as_object_mut().unwrap().remove("weight");
    assert_ne!(as_stored(&schema, &lost, true), stored, "a field lost on the way through is seen");

    // Rejected: a wrong type, an unknown enum value, a required field missing.
    let mut bad = pool.clone();
    bad["spec"]["weight"] = json!("10");
    bad["spec"]["template"]["spec"]["requirements"][0]["operator"] = json!("Like");
    bad["spec"]["template"]["spec"].as_object_mut().unwrap().remove("nodeClassRef");
    assert_eq!(rejections(&bad).len(), 3, "{:?}", rejections(&bad));
    assert!(through::<NodePool>(&bad).is_err());
}

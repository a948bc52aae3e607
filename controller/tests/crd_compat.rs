//! Karpenter compatibility of our CRDs, on a real API server: every Karpenter `v1` object in the
//! repository (NodePool, NodeClaim, EC2NodeClass in `examples/`, `wasm/www/examples/` and
//! `core/tests/`) is created with `kubectl create --dry-run=server --validate=strict`, first
//! against Karpenter v1.14.3's own CRDs (`controller/tests/fixtures/karpenter-crds/`), then
//! against ours (`controller/crds/`, written by `fleetfit-crdgen`). Ours must accept exactly what
//! Karpenter's accept, and both must accept every example.
//!
//! Objects are found in each YAML document (or JSON file), in the items of `*List` documents,
//! and in YAML embedded in strings (the scenarios' `manifests: |`); fields inside other objects
//! (a Node's ownerReferences to its NodeClaim) are not objects. Files that do not parse are
//! skipped. Metadata that only the server sets (uid, resourceVersion, creationTimestamp, ...) is
//! dropped first, as it would be for any `kubectl create` of a snapshot.

mod support;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Deserialize;
use serde_json::Value;
use support::{output_text, repo_root, TestEnv};

const KINDS: [&str; 3] = ["NodePool", "NodeClaim", "EC2NodeClass"];
const API_VERSIONS: [&str; 2] = ["karpenter.sh/v1", "karpenter.k8s.aws/v1"];
/// The CRDs both sets must define.
const CRDS: [&str; 3] = ["nodepools.karpenter.sh", "nodeclaims.karpenter.sh", "ec2nodeclasses.karpenter.k8s.aws"];
/// Objects from these directories are examples: both sets of CRDs must accept them.
const EXAMPLE_DIRS: [&str; 2] = ["examples", "wasm/www/examples"];
const SEARCHED_DIRS: [&str; 3] = ["examples", "wasm/www/examples", "core/tests"];
const SERVER_SET_METADATA: [&str; 8] = [
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "generation",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

struct Object {
    /// `path#document[/field...]`, relative to the repository.
    source: String,
    kind: String,
    name: String,
    json: Value,
    example: bool,
}

struct Verdict {
    accepted: bool,
    message: String,
}

#[test]
fn our_crds_accept_exactly_what_karpenters_accept() {
    let root = repo_root();
    let karpenter_dir = root.join("controller/tests/fixtures/karpenter-crds");
    let ours_dir = root.join("controller/crds");
    let karpenter = crd_files(&karpenter_dir);
    let ours = crd_files(&ours_dir);
    let karpenter_names = crd_names(&karpenter);
    let our_names = crd_names(&ours);
    for crd in CRDS {
        assert!(
            karpenter_names.iter().any(|n| n == crd),
            "{crd} is not among Karpenter's CRDs in {} ({karpenter_names:?})",
            karpenter_dir.display()
        );
        assert!(
            our_names.iter().any(|n| n == crd),
            "{crd} is not among our CRDs in {} ({our_names:?}; fleetfit-crdgen writes them)",
            ours_dir.display()
        );
    }

    let objects = collect_objects(&root);
    let examples = objects.iter().filter(|o| o.example).count();
    assert!(examples > 0, "no Karpenter v1 objects found in {EXAMPLE_DIRS:?}");
    println!("{} objects ({examples} in examples)", objects.len());

    let env = TestEnv::builder("crd-compat").moto(false).start();
    let theirs = run_phase(&env, "Karpenter v1.14.3", &karpenter, &karpenter_names, &objects);
    let ours = run_phase(&env, "fleetfit", &ours, &our_names, &objects);

    let mut problems = Vec::new();
    println!("\n{:<9} {:<9} object", "Karpenter", "fleetfit");
    for ((object, k), f) in objects.iter().zip(&theirs).zip(&ours) {
        let verdict = |v: &Verdict| if v.accepted { "accepted" } else { "rejected" };
        println!("{:<9} {:<9} {} {} ({})", verdict(k), verdict(f), object.kind, object.name, object.source);
        for (who, v) in [("Karpenter", k), ("fleetfit", f)] {
            if !v.accepted {
                println!("{:>20}: {}", who, v.message.chars().take(240).collect::<String>());
            }
        }
        let what = if k.accepted != f.accepted {
            "DISAGREE"
        } else if object.example && !k.accepted {
            "EXAMPLE REJECTED"
        } else {
            continue;
        };
        problems.push(format!(
            "{what}: {} {:?} from {}\n  Karpenter: {} {}\n  fleetfit:  {} {}",
            object.kind,
            object.name,
            object.source,
            verdict(k),
            k.message,
            verdict(f),
            f.message
        ));
    }
    assert!(
        problems.is_empty(),
        "{} of {} objects: our CRDs and Karpenter's disagree, or an example is rejected:\n\n{}",
        problems.len(),
        objects.len(),
        problems.join("\n\n")
    );
}

/// Installs `files` (CRDs), dry-run creates each object, then deletes the CRDs and waits until
/// they are gone.
fn run_phase(env: &TestEnv, label: &str, files: &[PathBuf], names: &[String], objects: &[Object]) -> Vec<Verdict> {
    let started = Instant::now();
    for file in files {
        env.kubectl_ok(&["apply", "--server-side", "--force-conflicts", "-f", &file.display().to_string()]);
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    env.wait_established(&names);
    let installed = started.elapsed();

    let started = Instant::now();
    let verdicts: Vec<Verdict> = objects
        .iter()
        .map(|object| {
            let json = serde_json::to_vec(&object.json).unwrap();
            let args = ["create", "--dry-run=server", "--validate=strict", "-o", "name", "-f", "-"];
            let out = env.kubectl_with_stdin(&args, Some(&json));
            Verdict { accepted: out.status.success(), message: output_text(&out).replace('\n', " ") }
        })
        .collect();
    let checked = started.elapsed();

    let started = Instant::now();
    for file in files {
        env.kubectl_ok(&["delete", "--wait=true", "--timeout=120s", "-f", &file.display().to_string()]);
    }
    let mut groups: Vec<&str> = names.iter().filter_map(|n| n.split_once('.').map(|(_, g)| g)).collect();
    groups.sort();
    groups.dedup();
    for group in groups {
        // Gone from the API as well as from the CRD list.
        let path = format!("/apis/{group}");
        support::poll_blocking(&format!("{path} to be gone"), std::time::Duration::from_secs(60), || {
            (!env.kubectl(&["get", "--raw", &path]).status.success()).then_some(())
        });
    }
    let accepted = verdicts.iter().filter(|v| v.accepted).count();
    println!(
        "{label}: CRDs Established in {:.1}s; {accepted} of {} objects accepted in {:.1}s; CRDs deleted in {:.1}s",
        installed.as_secs_f64(),
        verdicts.len(),
        checked.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    verdicts
}

/// The `*.yaml` files of `dir`, sorted; panics if there are none.
fn crd_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("no CRDs: cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no CRDs: {} has no *.yaml file", dir.display());
    files
}

/// The names of the CustomResourceDefinitions in `files`.
fn crd_names(files: &[PathBuf]) -> Vec<String> {
    let mut names = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let docs = yaml_documents(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for doc in docs {
            if doc["kind"] == "CustomResourceDefinition" {
                let name = doc["metadata"]["name"].as_str();
                names.push(name.unwrap_or_else(|| panic!("{}: a CRD without a name", file.display())).to_string());
            }
        }
    }
    names
}

fn collect_objects(root: &Path) -> Vec<Object> {
    let mut objects = Vec::new();
    for dir in SEARCHED_DIRS {
        let mut files = Vec::new();
        walk(&root.join(dir), &mut files);
        files.sort();
        for file in files {
            let rel = file.strip_prefix(root).unwrap().display().to_string();
            let Ok(text) = std::fs::read_to_string(&file) else { continue };
            let docs = if rel.ends_with(".json") {
                serde_json::from_str(&text).map(|v| vec![v]).map_err(|e| e.to_string())
            } else {
                yaml_documents(&text)
            };
            let Ok(docs) = docs else {
                println!("skipped (does not parse): {rel}");
                continue;
            };
            let example = EXAMPLE_DIRS.iter().any(|d| rel.starts_with(&format!("{d}/")));
            let mut found = Vec::new();
            for (i, doc) in docs.iter().enumerate() {
                find(doc, &format!("{rel}#{i}"), &mut found);
            }
            for (source, mut json) in found {
                if let Some(meta) = json.get_mut("metadata").and_then(Value::as_object_mut) {
                    for key in SERVER_SET_METADATA {
                        meta.remove(key);
                    }
                }
                let kind = json["kind"].as_str().unwrap_or_default().to_string();
                let name = json["metadata"]["name"].as_str().unwrap_or("(no name)").to_string();
                objects.push(Object { source, kind, name, json, example });
            }
        }
    }
    objects
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, files);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json") {
            files.push(path);
        }
    }
}

/// Karpenter v1 objects in `value`: itself, the items of a list, or YAML in a string of a
/// document that is not an object (a scenario); not inside other objects.
fn find(value: &Value, source: &str, found: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            let kind = map.get("kind").and_then(Value::as_str);
            let api_version = map.get("apiVersion").and_then(Value::as_str);
            if let (Some(kind), Some(api_version)) = (kind, api_version) {
                if KINDS.contains(&kind) && API_VERSIONS.contains(&api_version) {
                    found.push((source.to_string(), value.clone()));
                } else if kind.ends_with("List") {
                    if let Some(Value::Array(items)) = map.get("items") {
                        for (i, item) in items.iter().enumerate() {
                            find(item, &format!("{source}/items/{i}"), found);
                        }
                    }
                }
                return;
            }
            for (key, v) in map {
                find(v, &format!("{source}/{key}"), found);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                find(item, &format!("{source}/{i}"), found);
            }
        }
        Value::String(text) if text.contains("apiVersion") && text.contains("kind") => {
            if let Ok(docs) = yaml_documents(text) {
                for (i, doc) in docs.iter().enumerate() {
                    find(doc, &format!("{source}#{i}"), found);
                }
            }
        }
        _ => {}
    }
}

/// Every non-empty document of a YAML stream, as JSON.
fn yaml_documents(text: &str) -> Result<Vec<Value>, String> {
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let yaml = serde_yaml::Value::deserialize(doc).map_err(|e| e.to_string())?;
        if !yaml.is_null() {
            docs.push(serde_json::to_value(yaml).map_err(|e| e.to_string())?);
        }
    }
    Ok(docs)
}

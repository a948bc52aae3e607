//! Bad input: every file in `tests/manifests/invalid/` must fail with exactly the errors
//! listed in its `.errors` sibling (one per line), each naming the object and the field.
//! A new case is a new pair of files; `FLEETFIT_BLESS=1 cargo test` writes missing `.errors`.

use fleetfit::manifest::{parse, parse_sources};
use fleetfit::Error;
use std::path::{Path, PathBuf};

fn invalid_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/manifests/invalid")
}

fn messages(error: &Error) -> Vec<String> {
    error.flatten().iter().map(|e| e.to_string()).collect()
}

#[test]
fn invalid_manifests_fail_with_the_listed_errors() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(invalid_dir())
        .expect("invalid/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e != "errors"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "expected the invalid cases, found {cases:?}");
    let bless = std::env::var_os("FLEETFIT_BLESS").is_some();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().and_then(|n| n.to_str()).expect("utf-8 name");
        let text = std::fs::read_to_string(case).expect("readable case");
        let got = match parse(name, &text) {
            Ok(inventory) => {
                failures.push(format!("{name}: parsed without error: {inventory:?}"));
                continue;
            }
            Err(e) => messages(&e),
        };
        let expected_path = case.with_extension("errors");
        let expected = match std::fs::read_to_string(&expected_path) {
            Ok(text) => text.lines().map(str::to_string).collect::<Vec<_>>(),
            Err(_) if bless => {
                std::fs::write(&expected_path, got.join("\n") + "\n").expect("writable");
                continue;
            }
            Err(_) => {
                failures.push(format!("{name}: no {} (got:\n{})", expected_path.display(), got.join("\n")));
                continue;
            }
        };
        if got != expected {
            failures.push(format!("{name}:\n--- expected\n{}\n--- got\n{}", expected.join("\n"), got.join("\n")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_error_names_object_and_field_path() {
    let text = std::fs::read_to_string(invalid_dir().join("bad-quantity.yaml")).expect("case");
    let err = parse("bad-quantity.yaml", &text).expect_err("bad quantity");
    assert_eq!(
        err,
        Error::Field {
            object: "Deployment shop/web".into(),
            field: "spec.template.spec.containers[0].resources.requests.cpu".into(),
            message: "invalid quantity \"1.5x\": unknown suffix; use one of n u m k M G T P E Ki Mi Gi Ti Pi Ei or an exponent like e3".into(),
        }
    );
    assert!(err.to_string().starts_with(
        "Deployment shop/web: spec.template.spec.containers[0].resources.requests.cpu: invalid quantity \"1.5x\": unknown suffix;"
    ));
}

#[test]
fn errors_of_many_objects_are_collected_in_one_pass() {
    let text = std::fs::read_to_string(invalid_dir().join("negative-and-absurd.yaml")).expect("case");
    let err = parse("negative-and-absurd.yaml", &text).expect_err("bad amounts");
    let Error::Many(list) = &err else { panic!("expected several errors, got {err}") };
    assert!(list.len() >= 5, "{err}");
    let objects: Vec<&str> = list
        .iter()
        .filter_map(|e| match e {
            Error::Field { object, .. } => Some(object.as_str()),
            _ => None,
        })
        .collect();
    assert!(objects.contains(&"Deployment shop/api") && objects.contains(&"StatefulSet shop/big"), "{err}");
    assert!(err.to_string().starts_with(&format!("{} errors:\n  - Deployment shop/api: ", list.len())), "{err}");
}

#[test]
fn syntax_errors_name_source_and_line() {
    let err = parse("pods.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  labels: {app: web\nspec: {}\n")
        .expect_err("unterminated flow mapping");
    let Error::Syntax { source_name, message } = &err else { panic!("expected a syntax error, got {err}") };
    assert_eq!(source_name, "pods.yaml");
    assert!(message.contains("line 6") || message.contains("line 5"), "{message}");

    let err = parse("notes.txt", "just some words\n").expect_err("a plain string");
    assert_eq!(
        err.to_string(),
        "notes.txt: the document at line 1 is a plain string, not a Kubernetes object (a map with apiVersion and kind)"
    );

    let err = parse("binary.bin", "\u{0}\u{1}\u{2}garbage: [").expect_err("garbage");
    assert!(matches!(err, Error::Syntax { .. }), "{err}");
}

#[test]
fn errors_from_several_sources_are_reported_together() {
    let sources = vec![
        ("a.yaml".to_string(), "kind: Pod\napiVersion: v1\nmetadata: {name: a}\nspec: {containers: [{name: c, resources: {requests: {cpu: -1}}}]}\n".to_string()),
        ("b.yaml".to_string(), "key: [unclosed\n".to_string()),
    ];
    let err = parse_sources(&sources).expect_err("two bad sources");
    let all = messages(&err);
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[0], "Pod default/a: spec.containers[0].resources.requests.cpu: quantity -1 must not be negative");
    assert!(all[1].starts_with("b.yaml: invalid YAML"), "{}", all[1]);
}

#[test]
fn too_many_nodepool_requirements() {
    let mut text = String::from(
        "apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata: {name: wide}\nspec:\n  template:\n    spec:\n      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}\n      requirements:\n",
    );
    for i in 0..101 {
        text.push_str(&format!("        - {{key: example.com/label-{i}, operator: Exists}}\n"));
    }
    let err = parse("wide.yaml", &text).expect_err("101 requirements");
    assert_eq!(
        err.to_string(),
        "NodePool wide: spec.template.spec.requirements: at most 100 requirements are allowed, found 101"
    );
}

#[test]
fn validate_warn_turns_likely_mistakes_into_notes() {
    use fleetfit::manifest::{parse_sources_with, ParseOptions, Validation};
    let text = std::fs::read_to_string(invalid_dir().join("unknown-fields.yaml")).expect("case");
    let sources = [("unknown-fields.yaml".to_string(), text)];
    let inventory = parse_sources_with(&sources, &ParseOptions { validation: Validation::Warn, ..Default::default() })
        .expect("warnings only");
    assert_eq!(inventory.notes.len(), 12, "{:#?}", inventory.notes);
    assert!(inventory.notes[0]
        .starts_with("warning: NodePool on-demand: spec.limit: unknown field; did you mean \"limits\"?"));
    assert!(inventory.notes.iter().all(|n| n.ends_with("(ignored: --validate warn)")));
    // Ignored means read as if absent: the misspelt replicas leaves the default of one.
    assert_eq!(inventory.workloads[0].replicas, 1);
}

#[test]
fn a_label_the_input_defines_is_not_a_typo() {
    let text = "
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: general}
spec:
  template:
    metadata:
      labels: {node.kubernetes.io/role: general}
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  nodeSelector: {node.kubernetes.io/role: general}
  containers: [{name: a, image: a}]
";
    parse("custom-label.yaml", text).expect("a NodePool defines node.kubernetes.io/role");
    let without_pool = text.split("---").nth(1).expect("the pod");
    let err = parse("pod.yaml", without_pool).expect_err("nothing defines it");
    assert_eq!(
        err.to_string(),
        "Pod default/p: spec.nodeSelector[\"node.kubernetes.io/role\"]: unknown label \"node.kubernetes.io/role\": node.kubernetes.io defines no such label; did you mean \"kubernetes.io/role\"?"
    );
}

//! Shared by the scenario suites: every file of a folder under `tests/scenarios/` is one case.

pub mod cluster;

use std::path::{Path, PathBuf};

/// Runs `check` on every scenario file of `tests/scenarios/<folder>` (in name order) and fails
/// with every failing case at once. `at_least` guards against a folder gone missing.
#[allow(dead_code)]
pub fn run_scenarios(folder: &str, at_least: usize, check: impl Fn(&Path) -> Result<(), String>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios").join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= at_least, "scenario files missing in {}", dir.display());
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| check(f).err().map(|e| format!("{}: {e}", f.file_name().unwrap().to_string_lossy())))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

/// The path of the first negative zero in an answer's JSON (`-0.0` where a number should be
/// `0`), if any.
#[allow(dead_code)]
pub fn negative_zero(value: &serde_json::Value, path: &str) -> Option<String> {
    match value {
        serde_json::Value::Number(n) => {
            n.as_f64().filter(|x| *x == 0.0 && x.is_sign_negative()).map(|_| path.to_string())
        }
        serde_json::Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, v)| negative_zero(v, &format!("{path}[{i}]")))
        }
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| negative_zero(v, &format!("{path}.{k}"))),
        _ => None,
    }
}

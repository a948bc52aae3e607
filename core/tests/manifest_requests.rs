//! Effective pod requests, as Kubernetes computes them (cases in `manifests/requests.yaml`).

use fleetfit::manifest::parse;
use fleetfit::{Bytes, Inventory, Millicores, Resources};

fn inventory() -> Inventory {
    let path = format!("{}/tests/manifests/requests.yaml", env!("CARGO_MANIFEST_DIR"));
    parse("requests.yaml", &std::fs::read_to_string(path).expect("readable")).expect("valid")
}

fn requests(inv: &Inventory, name: &str) -> Resources {
    inv.pods.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no pod {name}")).requests.clone()
}

fn expect(cpu_milli: i64, memory_mib: i64) -> Resources {
    Resources { cpu: Millicores(cpu_milli), memory: Bytes::mib(memory_mib), pods: 1, ..Resources::default() }
}

#[test]
fn an_init_container_bigger_than_the_app_sets_the_requests() {
    assert_eq!(requests(&inventory(), "init-bigger-than-app"), expect(1000, 2048));
}

#[test]
fn sidecars_add_to_the_app_containers() {
    // app 1000m/1Gi + sidecars (200m/256Mi + 100m/64Mi); the init phase peaks at
    // 200m + 500m / 256Mi + 1Gi, which is less.
    assert_eq!(requests(&inventory(), "sidecars-add-up"), expect(1300, 1344));
}

#[test]
fn an_init_container_runs_beside_the_sidecars_started_before_it() {
    // init phase: proxy (200m/256Mi) + warmup (2/4Gi) beats app + proxy (700m/768Mi).
    assert_eq!(requests(&inventory(), "init-beside-sidecar-wins"), expect(2200, 4352));
}

#[test]
fn overhead_is_added() {
    assert_eq!(requests(&inventory(), "with-overhead"), expect(1250, 1144));
}

#[test]
fn limits_stand_in_for_missing_requests() {
    let mut want = expect(2100, 5120);
    want.extended.insert("nvidia.com/gpu".into(), 1);
    want.extended.insert("hugepages-2Mi".into(), 64 * 1024 * 1024);
    assert_eq!(requests(&inventory(), "limits-as-requests"), want);
}

#[test]
fn a_pod_without_requests_still_takes_a_pod_slot() {
    assert_eq!(requests(&inventory(), "no-requests"), Resources { pods: 1, ..Resources::default() });
}

#[test]
fn bare_numbers_are_quantities() {
    let mut want = expect(500, 1024);
    want.ephemeral_storage = Bytes(2_000_000_000);
    assert_eq!(requests(&inventory(), "numbers-as-quantities"), want);
}

#[test]
fn pod_level_resources_replace_the_container_sum() {
    let inv = parse(
        "pod-level.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  resources:\n    requests: {cpu: '3'}\n    limits: {memory: 6Gi}\n  containers:\n    - {name: a, resources: {requests: {cpu: '1', memory: 1Gi}}}\n",
    )
    .expect("valid");
    assert_eq!(inv.pods[0].requests, expect(3000, 6144));
}

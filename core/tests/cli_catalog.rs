//! `fleetfit catalog`: the list and its filters, the JSON rows, the export's shape, and bad
//! filter values.

use fleetfit::catalog::Catalog;
use fleetfit::quantity::Quantity;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo root").to_path_buf()
}

fn fleetfit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetfit")).args(args).current_dir(repo()).output().expect("run fleetfit")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `fleetfit catalog ARGS -o json`, which must succeed.
fn rows(args: &[&str]) -> (Value, Vec<Value>) {
    let mut all = vec!["catalog", "-o", "json"];
    all.extend_from_slice(args);
    let out = fleetfit(&all);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let rows = v["instance_types"].as_array().unwrap().clone();
    (v, rows)
}

/// A failing run's message, which must name `flag`. A value the catalog lacks, or input that
/// matches nothing, exits 1 as every failed answer does.
fn error(args: &[&str], flag: &str) -> String {
    failure(args, 1, flag)
}

/// A value that does not parse is a usage error: exit 2, as for every flag.
fn usage(args: &[&str], flag: &str) -> String {
    failure(args, 2, flag)
}

fn failure(args: &[&str], code: i32, flag: &str) -> String {
    let mut all = vec!["catalog"];
    all.extend_from_slice(args);
    let out = fleetfit(&all);
    assert_eq!(out.status.code(), Some(code), "{args:?} should fail: {}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(flag), "{args:?}: {err}");
    err
}

fn label(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

fn bytes(v: &Value) -> i64 {
    v.as_str().unwrap().parse::<Quantity>().unwrap().units()
}

fn price(row: &Value) -> f64 {
    [&row["on_demand_per_hour"], &row["spot_per_hour"]].iter().filter_map(|p| p.as_f64()).fold(f64::INFINITY, f64::min)
}

#[test]
fn the_table_lists_every_offered_type_cheapest_first() {
    let out = fleetfit(&["catalog"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let catalog = Catalog::aws("us-east-1").unwrap();
    let first = text.lines().next().unwrap();
    assert!(first.contains(&format!("of {} instance types in us-east-1 (aws)", catalog.len())), "{first}");
    assert!(first.contains("allocatable for AL2023 with Karpenter's defaults"), "{first}");
    assert!(text.contains("note: on-demand prices:"), "{text}");
    let header = text.lines().find(|l| l.starts_with("NAME")).unwrap();
    for column in ["VCPUS", "MEMORY", "ALLOC CPU", "ALLOC MEM", "PODS", "ARCH", "GPUS", "ON-DEMAND", "SPOT", "ZONES"] {
        assert!(header.contains(column), "{header}");
    }
    let m5 = text.lines().find(|l| l.starts_with("m5.large ")).expect("m5.large listed");
    let cells: Vec<&str> = m5.split_whitespace().collect();
    // name, vCPUs, memory, allocatable cpu, memory, pods, arch, GPUs, on-demand, spot, zones
    assert_eq!(cells[..8], ["m5.large", "2", "8Gi", "1.93", "6.74Gi", "29", "amd64", "-"], "{m5}");
    assert_eq!(cells[8..], ["0.0960", "0.0321", "a,b,c,d,e,f"], "{m5}");

    let (v, all) = rows(&[]);
    assert_eq!(v["instance_types_total"], catalog.len());
    let prices: Vec<f64> = all.iter().map(price).collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "sorted by the cheapest price");
    let (_, by_vcpus) = rows(&["--sort", "vcpus"]);
    let vcpus: Vec<f64> = by_vcpus.iter().map(|r| r["vcpus"].as_f64().unwrap()).collect();
    assert!(vcpus.windows(2).all(|w| w[0] >= w[1]), "the largest first");
    assert_eq!(by_vcpus.len(), all.len());
}

#[test]
fn filters_select_what_they_say() {
    let (_, found) = rows(&["--arch", "arm64", "--vcpus", "2-8", "--memory", "8Gi-16Gi", "--category", "c,m"]);
    assert!(!found.is_empty());
    for r in &found {
        assert_eq!(label(r, "arch"), "arm64");
        let vcpus = r["vcpus"].as_f64().unwrap();
        assert!((2.0..=8.0).contains(&vcpus), "{r}");
        let memory = bytes(&r["memory"]);
        assert!((8 << 30..=16 << 30).contains(&memory), "{r}");
        assert!(label(r, "name").starts_with('c') || label(r, "name").starts_with('m'), "{r}");
    }
    // A bare memory number is GiB; one vCPU count is exact.
    let (_, exact) = rows(&["--vcpus", "4", "--memory", "16", "--family", "m7g,m6i"]);
    let names: Vec<String> = exact.iter().map(|r| label(r, "name")).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"m7g.xlarge".to_string()) && names.contains(&"m6i.xlarge".to_string()), "{names:?}");

    let (_, gpus) = rows(&["--gpus", "4-", "--sort", "gpus"]);
    assert!(gpus.iter().all(|r| r["gpus"].as_i64().unwrap() >= 4 && r["gpu_name"].is_string()));
    let (_, no_gpus) = rows(&["--gpus", "0", "--family", "g6,m5"]);
    assert!(no_gpus.iter().all(|r| label(r, "name").starts_with("m5.")), "types without GPUs count as 0");

    let (_, spot) = rows(&["--capacity-type", "spot", "--zones", "us-east-1b,us-east-1a", "--family", "c7g"]);
    assert!(!spot.is_empty());
    for r in &spot {
        assert!(r["on_demand_per_hour"].is_null() && r["spot_per_hour"].is_f64(), "{r}");
        assert_eq!(r["zones"], serde_json::json!(["us-east-1a", "us-east-1b"]));
    }

    let (_, cheap) = rows(&["--max-price", "0.05", "--generation", "7-", "--category", "c"]);
    assert!(!cheap.is_empty());
    assert!(cheap.iter().all(|r| price(r) <= 0.05), "the cheapest offering left is within the price");
    let (_, newer) = rows(&["--requirement", "karpenter.k8s.aws/instance-generation=Gt:7", "--category", "c"]);
    let (_, newer_too) = rows(&["--generation", "8-", "--category", "c"]);
    assert_eq!(newer, newer_too, "a requirement and the flag for it select the same types");
    let (_, not_metal) = rows(&["--requirement", "karpenter.k8s.aws/instance-size=NotIn:metal", "--family", "m7g"]);
    assert!(not_metal.iter().all(|r| label(r, "name") != "m7g.metal") && !not_metal.is_empty());
    let (_, flex) = rows(&["--requirement", "karpenter.k8s.aws/instance-gpu-name=DoesNotExist", "--family", "g5,c7i"]);
    assert!(flex.iter().all(|r| label(r, "name").starts_with("c7i.")));
    let (_, spot_only) = rows(&["--requirement", "karpenter.sh/capacity-type=spot", "--family", "c7g"]);
    let names = |rows: &[Value]| rows.iter().map(|r| label(r, "name")).collect::<Vec<_>>();
    assert_eq!(names(&spot_only), names(&spot), "the requirement and --capacity-type select the same");
    assert!(spot_only.iter().all(|r| r["on_demand_per_hour"].is_null()));
}

#[test]
fn an_ec2nodeclass_and_a_nodepool_from_the_files() {
    // Two EC2NodeClasses: one must be chosen.
    let err = error(&["-f", "examples/nodepools.yaml"], "--nodeclass");
    assert!(err.contains("default, gpu"), "{err}");
    // The gpu class sets maxPods 58; the default class leaves the ENI limit.
    let (v, gpu_class) = rows(&["-f", "examples/nodepools.yaml", "--nodeclass", "gpu", "--vcpus", "96-"]);
    assert_eq!(v["nodeclass"], "EC2NodeClass gpu (AL2023)");
    assert!(gpu_class.iter().all(|r| r["allocatable"]["pods"] == "58"));
    let (_, default_class) = rows(&["--vcpus", "96-"]);
    assert!(default_class.iter().any(|r| r["allocatable"]["pods"] != "58"));
    // A NodePool: its requirements select, its EC2NodeClass sizes.
    let (_, pool) = rows(&["-f", "examples/nodepools.yaml", "--nodepool", "gpu"]);
    assert!(!pool.is_empty());
    assert!(pool.iter().all(|r| r["gpus"].as_i64().unwrap() >= 1 && r["allocatable"]["pods"] == "58"), "{pool:?}");
    assert!(pool.iter().all(|r| r["spot_per_hour"].is_null()), "the gpu pool is on-demand only");
    let err = error(&["-f", "examples/nodepools.yaml", "--nodepool", "genral"], "--nodepool genral");
    assert!(err.contains("did you mean \"general\"?"), "{err}");
    error(&["--nodeclass", "x"], "give the file that holds it with -f");
}

#[test]
fn the_export_is_the_whole_view_and_adds_up() {
    let out = fleetfit(&["catalog", "--export", "-"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let again = fleetfit(&["catalog", "--export", "-"]);
    assert_eq!(out.stdout, again.stdout, "the same bytes every time");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["instanceTypes", "region", "source", "zones"]);
    assert_eq!((v["source"].as_str(), v["region"].as_str()), (Some("aws"), Some("us-east-1")));
    let catalog = Catalog::aws("us-east-1").unwrap();
    assert_eq!(v["zones"], serde_json::json!(catalog.zones()));
    let types = v["instanceTypes"].as_array().unwrap();
    assert_eq!(types.len(), catalog.len());
    let names: Vec<&str> = types.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, catalog.names().collect::<Vec<_>>());
    let offerings: usize = types.iter().map(|t| t["offerings"].as_array().unwrap().len()).sum();
    let sized = catalog.instance_types(&fleetfit::NodeClass::default());
    assert_eq!(offerings, sized.iter().map(|t| t.offerings.len()).sum::<usize>());
    let amounts = |v: &Value| -> BTreeMap<String, Quantity> {
        v.as_object().unwrap().iter().map(|(k, q)| (k.clone(), q.as_str().unwrap().parse().unwrap())).collect()
    };
    for t in types {
        let name = t["name"].as_str().unwrap();
        let fields: Vec<&String> = t.as_object().unwrap().keys().collect();
        assert_eq!(fields, ["allocatable", "capacity", "name", "offerings", "overhead", "requirements"]);
        let overhead: Vec<&String> = t["overhead"].as_object().unwrap().keys().collect();
        assert_eq!(overhead, ["evictionThreshold", "kubeReserved", "systemReserved"]);
        // allocatable = capacity − overhead, per resource (never below zero).
        let capacity = amounts(&t["capacity"]);
        let allocatable = amounts(&t["allocatable"]);
        for (resource, cap) in &capacity {
            let used: i128 = ["kubeReserved", "systemReserved", "evictionThreshold"]
                .iter()
                .filter_map(|k| amounts(&t["overhead"][k]).get(resource).map(Quantity::nanos))
                .sum();
            let want = (cap.nanos() - used).max(0);
            let got = allocatable.get(resource).map_or(0, Quantity::nanos);
            assert_eq!(got, want, "{name}: {resource}");
        }
        assert!(allocatable.keys().all(|r| capacity.contains_key(r)), "{name}");
        let reqs = t["requirements"].as_array().unwrap();
        let keys: Vec<&str> = reqs.iter().map(|r| r["key"].as_str().unwrap()).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{name}: requirements by key");
        for r in reqs {
            match r["operator"].as_str().unwrap() {
                "In" => assert!(!r["values"].as_array().unwrap().is_empty()),
                "DoesNotExist" => assert_eq!(r["values"], serde_json::json!([])),
                other => panic!("{name}: operator {other}"),
            }
        }
        let instance_type = reqs.iter().find(|r| r["key"] == "node.kubernetes.io/instance-type").unwrap();
        assert_eq!(instance_type["values"], serde_json::json!([name]));
        let order: Vec<(String, String)> = t["offerings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                assert!(o["price"].is_f64() && o["available"].is_boolean(), "{name}: {o}");
                (label(o, "zone"), label(o, "capacityType"))
            })
            .collect();
        let mut sorted = order.clone();
        sorted.sort_by_key(|(z, ct)| (z.clone(), ct != "spot"));
        assert_eq!(order, sorted, "{name}: offerings by zone, spot first");
    }
    // The list's total is the export's count; zones given make other zones' offerings
    // unavailable but keep them.
    let (listed, _) = rows(&[]);
    assert_eq!(listed["instance_types_total"], types.len());
    let file = std::env::temp_dir().join(format!("fleetfit-catalog-{}.json", std::process::id()));
    let out = fleetfit(&["catalog", "--zones", "us-east-1a", "--export", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("exported {} instance types", types.len())));
    let zoned: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let _ = std::fs::remove_file(&file);
    for o in zoned["instanceTypes"].as_array().unwrap().iter().flat_map(|t| t["offerings"].as_array().unwrap()) {
        assert_eq!(o["available"].as_bool().unwrap(), o["zone"] == "us-east-1a", "{o}");
    }
}

#[test]
fn bad_filter_values_are_errors_that_name_the_flag() {
    let err = usage(&["--vcpus", "four"], "--vcpus <RANGE>");
    assert!(err.contains("\"four\" is not a number of vCPUs; write 4, 2-8 or 16-"), "{err}");
    let err = usage(&["--memory", "16GB"], "--memory <RANGE>");
    assert!(err.contains("Gi or G, not GB"), "{err}");
    usage(&["--memory", "32Gi-8Gi"], "the low end is above the high end");
    usage(&["--generation", "7.5"], "--generation");
    let err = usage(&["--gpus", "-1"], "--gpus");
    assert!(err.contains("for at most 1, write 0-1"), "{err}");
    usage(&["--capacity-type", "spott"], "--capacity-type");
    usage(&["--max-price", "-1"], "--max-price");
    usage(&["--sort", "cost"], "--sort");
    let err = usage(&["--requirement", "karpenter.k8s.aws/instance-family=Inn:m5"], "--requirement");
    assert!(err.contains("unknown operator \"Inn\""), "{err}");
    usage(&["--requirement", "karpenter.k8s.aws/instance-generation=Gt:new"], "non-negative integer");
    usage(&["--requirement", "no-equals-sign"], "write KEY=VALUE");
    usage(&["--export", "-", "--vcpus", "2"], "--vcpus");
    // Values the catalog does not have.
    let err = error(&["--arch", "x86_64"], "--arch x86_64");
    assert!(err.contains("known: amd64, arm64"), "{err}");
    let err = error(&["--family", "m7gg"], "--family m7gg");
    assert!(err.contains("did you mean \"m7g\"?"), "{err}");
    let err = error(&["--category", "zz"], "--category zz");
    assert!(err.contains("instance-category"), "{err}");
    error(&["--zones", "us-east-1z"], "--zones");
    let err = error(&["--requirement", "karpenter.k8s.aws/instance-familly=m5"], "--requirement");
    assert!(err.contains("did you mean \"karpenter.k8s.aws/instance-family\"?"), "{err}");
}

#[test]
fn no_match_says_which_filter_left_none() {
    let err = error(&["--arch", "arm64", "--vcpus", "1000-"], "no instance type matches");
    assert!(err.contains("instance types, "), "{err}");
    assert!(err.contains("after --arch arm64, 0 after --vcpus 1000-"), "{err}");
    let out = fleetfit(&["catalog", "-o", "json", "--gpus", "1-", "--family", "m5"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
}

#[test]
fn a_catalog_of_ones_own_is_listed_and_exported() {
    let dir = std::env::temp_dir().join(format!("fleetfit-catalog-own-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("catalog.json");
    std::fs::write(
        &file,
        r#"{"region": "lab", "currency": "EUR", "zones": ["lab-a", "lab-b"],
            "instanceTypes": [
              {"name": "small", "arch": "amd64", "capacity": {"cpu": "2", "memory": "4Gi", "pods": 30}, "prices": {"onDemand": 0.02}},
              {"name": "big", "arch": "arm64", "capacity": {"cpu": "16", "memory": "64Gi", "pods": 110}, "prices": {"onDemand": 0.30, "spot": 0.1}}
            ]}"#,
    )
    .unwrap();
    let (v, listed) = rows(&["--catalog", file.to_str().unwrap(), "--sort", "name"]);
    assert_eq!((v["region"].as_str(), v["currency"].as_str()), (Some("lab"), Some("EUR")));
    let names: Vec<String> = listed.iter().map(|r| label(r, "name")).collect();
    assert_eq!(names, ["big", "small"]);
    assert_eq!(listed[0]["spot_per_hour"], 0.1);
    let out = fleetfit(&["catalog", "--catalog", file.to_str().unwrap(), "--export", "-"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["region"], "lab");
    assert_eq!(e["instanceTypes"].as_array().unwrap().len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

//! The `fleetfit` command line, run as a user runs it: the bundled example, JSON output,
//! custom catalogs and prices, and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo root").to_path_buf()
}

fn fleetfit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetfit")).args(args).current_dir(repo()).output().expect("run fleetfit")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scratch(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fleetfit-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn explains_the_bundled_web_shop() {
    let out = fleetfit(&["explain", "-f", "examples/webshop", "--nodepools", "examples/nodepools.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("NodePools, in the order Karpenter tries them:"), "{text}");
    assert!(text.contains("Deployment shop/recommender-inference"), "{text}");
    assert!(text.contains("in NodePool gpu"), "GPU inference lands only on the gpu pool:\n{text}");
    assert!(text.contains("taint workload-class=batch:NoSchedule not tolerated"), "{text}");
    assert!(text.contains("kubernetes.io/arch: type's value is not in In [arm64]"), "{text}");
}

#[test]
fn json_output_is_machine_readable_and_complete() {
    let out = fleetfit(&["explain", "-f", "examples/webshop", "--nodepools", "examples/nodepools.yaml", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(v["region"], "us-east-1");
    assert_eq!(v["default_nodepool"], false);
    let workloads = v["workloads"].as_array().unwrap();
    assert!(workloads.len() >= 30, "about 30 workloads in the web shop, got {}", workloads.len());
    let pods: u64 = workloads.iter().map(|w| w["pods"].as_u64().unwrap()).sum();
    assert_eq!(pods, v["pending_pods"].as_u64().unwrap());
    let resizer = workloads.iter().find(|w| w["name"] == "Deployment shop/image-resizer").unwrap();
    assert_eq!(resizer["schedulable"], true);
    assert!(resizer["cheapest"][0]["instance_type"].as_str().unwrap().contains('g'), "Graviton first");
    assert!(resizer["cheapest"][0]["price_per_hour"].as_f64().unwrap() > 0.0);
}

#[test]
fn without_nodepools_the_default_is_used_and_printed() {
    let out = fleetfit(&["explain", "-f", "examples/webshop/20-backend.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("No NodePool given; using fleetfit's stand-in NodePool (Karpenter has none; this is its getting-started guide's):"), "{text}");
    assert!(text.contains("karpenter.k8s.aws/instance-category In [c m r]"), "{text}");
    assert!(text.contains("karpenter.k8s.aws/instance-generation Gte 3"), "{text}");
}

#[test]
fn bad_input_names_object_and_field_and_fails() {
    let bad = scratch(
        "bad.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          resources: {requests: {cpu: 1.5x}}\n",
    );
    let out = fleetfit(&["explain", "-f", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(
            "Deployment shop/web: spec.template.spec.containers[0].resources.requests.cpu: invalid quantity \"1.5x\""
        ),
        "{err}"
    );
    let out = fleetfit(&["explain", "-f", "no/such/file.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no/such/file.yaml"), "{}", stderr(&out));
    let out = fleetfit(&["explain", "-f", "examples/webshop", "--region", "mars-1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("mars-1"), "{}", stderr(&out));
}

#[test]
fn other_regions_fall_back_to_us_east_1_on_demand_prices_and_say_so() {
    let out = fleetfit(&["explain", "-f", "examples/webshop/10-frontend.yaml", "--region", "eu-west-1", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let notes = v["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert!(notes.iter().any(|n| n.contains("us-east-1")), "{notes:?}");
}

#[test]
fn prices_can_be_adjusted() {
    let base = fleetfit(&[
        "explain",
        "-f",
        "examples/webshop/40-ml.yaml",
        "--nodepools",
        "examples/nodepools.yaml",
        "-o",
        "json",
    ]);
    let prices = scratch("prices.yaml", "onDemandDiscountPercent: 50\n");
    let cheaper = fleetfit(&[
        "explain",
        "-f",
        "examples/webshop/40-ml.yaml",
        "--nodepools",
        "examples/nodepools.yaml",
        "--prices",
        prices.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert!(cheaper.status.success(), "{}", stderr(&cheaper));
    let price = |o: &Output| {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["workloads"][0]["cheapest"][0]["price_per_hour"].as_f64().unwrap()
    };
    let (full, half) = (price(&base), price(&cheaper));
    assert!((half - full / 2.0).abs() < 1e-9, "{full} -> {half}");
    let bad = scratch("bad-prices.yaml", "onDemandDiscountPercent: 150\n");
    let out = fleetfit(&["explain", "-f", "examples/webshop/40-ml.yaml", "--prices", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
}

#[test]
fn a_catalog_of_ones_own() {
    let catalog = scratch(
        "catalog.json",
        r#"{"region": "lab", "currency": "EUR", "zones": ["lab-a"],
            "instanceTypes": [
              {"name": "small", "arch": "amd64", "capacity": {"cpu": "2", "memory": "4Gi", "pods": 30}, "prices": {"onDemand": 0.02}},
              {"name": "big", "arch": "amd64", "capacity": {"cpu": "16", "memory": "64Gi", "pods": 110}, "prices": {"onDemand": 0.30}}
            ]}"#,
    );
    let pod = scratch(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: c\n      resources: {requests: {cpu: \"4\"}}\n",
    );
    // The default NodePool asks for AWS instance categories, which these types do not have.
    let out = fleetfit(&["explain", "-f", pod.to_str().unwrap(), "--catalog", catalog.to_str().unwrap()]);
    assert!(stdout(&out).contains("karpenter.k8s.aws/instance-category: type's value is not in In [c m r]"));
    let pool = scratch(
        "pool.yaml",
        "apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata: {name: lab}\nspec:\n  template:\n    spec:\n      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}\n      requirements:\n        - {key: kubernetes.io/arch, operator: In, values: [amd64]}\n",
    );
    let out = fleetfit(&[
        "explain",
        "-f",
        pod.to_str().unwrap(),
        "--nodepools",
        pool.to_str().unwrap(),
        "--catalog",
        catalog.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["currency"], "EUR");
    let w = &v["workloads"][0];
    assert_eq!(w["cheapest"][0]["instance_type"], "big");
    assert!(w["rejections"][0]["message"].as_str().unwrap().starts_with("needs 4 CPU"), "{w}");
}

#[test]
fn plans_the_bundled_web_shop_cheaper_than_karpenter() {
    let out = fleetfit(&["plan", "-f", "examples/webshop", "--nodepools", "examples/nodepools.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("(mode optimize, region us-east-1)"), "optimize is the default:\n{text}");
    for line in ["COUNT  INSTANCE TYPE", "cost:", "lower bound:", "karpenter:", "utilisation of new nodes:"] {
        assert!(text.contains(line), "missing {line:?}:\n{text}");
    }
    assert!(text.contains("shop/legacy-billing-0"), "the mis-pinned pods are reported:\n{text}");
}

#[test]
fn plan_json_has_every_field_in_every_mode() {
    let mut costs = Vec::new();
    for mode in ["karpenter", "optimize", "exact"] {
        let args = ["plan", "-f", "examples/webshop", "--nodepools", "examples/nodepools.yaml", "--mode", mode];
        let out = fleetfit(&[&args[..], &["-o", "json"]].concat());
        assert!(out.status.success(), "{mode}: {}", stderr(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
        assert_eq!(v["mode"], mode);
        let nodes = v["nodes"].as_array().unwrap();
        assert!(!nodes.is_empty());
        for n in nodes {
            for field in
                ["nodepool", "instance_type", "zone", "capacity_type", "price_per_hour", "instance_types", "pods"]
            {
                assert!(!n[field].is_null(), "{mode}: node without {field}: {n}");
            }
            let options = n["instance_types"].as_array().unwrap();
            assert!(!options.is_empty() && options.len() <= 60, "{mode}: {} options", options.len());
        }
        let placed: usize = nodes.iter().map(|n| n["pods"].as_array().unwrap().len()).sum::<usize>()
            + v["existing"].as_array().unwrap().len()
            + v["unschedulable"].as_array().unwrap().len();
        assert_eq!(placed, 99, "{mode}: every pending pod is accounted for");
        let unschedulable = &v["unschedulable"][0];
        assert!(unschedulable["pod"].as_str().unwrap().starts_with("shop/legacy-billing-"));
        assert!(!unschedulable["reasons"].as_array().unwrap().is_empty());
        let cost = v["cost_per_hour"].as_f64().unwrap();
        assert!(v["lower_bound_per_hour"].as_f64().unwrap() <= cost + 1e-9);
        assert!(v["gap"].as_f64().is_some());
        costs.push(cost);
    }
    assert!(costs[1] <= costs[0] + 1e-9 && costs[2] <= costs[1] + 1e-9, "exact ≤ optimize ≤ karpenter: {costs:?}");
}

#[test]
fn plan_rejects_a_bad_time_limit() {
    let out = fleetfit(&["plan", "-f", "examples/webshop", "--mode", "exact", "--time-limit", "0"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("time_limit_seconds is 0: must be a positive number of seconds"), "{}", stderr(&out));
}

#[test]
fn consolidates_the_bundled_cluster_with_reasons_for_every_node() {
    let args = [
        "consolidate",
        "--cluster",
        "examples/cluster/snapshot.json",
        "--nodepools",
        "examples/nodepools.yaml",
        "--now",
        "2026-12-05T20:00:00Z",
    ];
    let table = fleetfit(&args);
    assert!(table.status.success(), "{}", stderr(&table));
    let out = stdout(&table);
    assert!(out.contains("Expired (expiration)") && out.contains("Empty (emptiness)"), "{out}");
    assert!(out.contains("karpenter.sh/do-not-disrupt") && out.contains("PodDisruptionBudget"), "{out}");
    let mut json_args = args.to_vec();
    json_args.extend(["-o", "json", "--mode", "karpenter"]);
    let json = fleetfit(&json_args);
    assert!(json.status.success(), "{}", stderr(&json));
    let plan: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("JSON");
    let managed = 15;
    let disrupted: usize = plan["commands"]
        .as_array()
        .expect("commands")
        .iter()
        .map(|c| c["candidates"].as_array().expect("candidates").len())
        .sum();
    assert_eq!(disrupted + plan["kept"].as_array().expect("kept").len(), managed);
    assert!(plan["savings_per_hour"].as_f64().expect("savings") > 0.0);
}

#[test]
fn consolidates_globally_and_checks_the_disruption_weight() {
    let args = [
        "consolidate",
        "--cluster",
        "examples/cluster/snapshot.json",
        "--nodepools",
        "examples/nodepools.yaml",
        "--now",
        "2026-12-05T20:00:00Z",
        "--mode",
        "global",
        "-o",
        "json",
    ];
    let o = fleetfit(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let plan: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(plan["mode"], "global");
    let saved = plan["savings_per_hour"].as_f64().expect("savings");
    let karpenter = plan["karpenter_savings_per_hour"].as_f64().expect("the karpenter comparison");
    assert!(saved > 0.0 && karpenter > 0.0, "{plan}");
    let mut bad = args.to_vec();
    bad.extend(["--disruption-weight", "-1"]);
    let o = fleetfit(&bad);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("disruption weight"), "{}", stderr(&o));
}

#[test]
fn consolidate_rejects_a_bad_time() {
    let o = fleetfit(&["consolidate", "--cluster", "examples/cluster/snapshot.json", "--now", "yesterday"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--now"), "{}", stderr(&o));
}

fn planned_pods(plan: &serde_json::Value) -> usize {
    plan["nodes"].as_array().expect("nodes").iter().map(|n| n["pods"].as_array().expect("pods").len()).sum::<usize>()
        + plan["existing"].as_array().expect("existing").len()
        + plan["unschedulable"].as_array().expect("unschedulable").len()
}

#[test]
fn autoscaled_workloads_count_min_or_max_replicas_and_uncounted_pods_are_warnings() {
    let file = "core/tests/cli/autoscaled.yaml";
    let o = fleetfit(&["plan", "-f", file, "-o", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(planned_pods(&plan), 3, "{plan}");
    let warnings = plan["warnings"].as_array().expect("warnings");
    assert!(
        warnings.iter().any(|w| w.as_str().unwrap().starts_with("pods not counted: ScaledJob shop/worker")),
        "{plan}"
    );
    assert!(stderr(&o).contains("warning: pods not counted: ScaledJob shop/worker"), "{}", stderr(&o));

    let o = fleetfit(&["plan", "-f", file, "--hpa", "max", "-o", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(planned_pods(&plan), 12, "{plan}");

    let o = fleetfit(&["plan", "-f", file]);
    let table = stdout(&o);
    assert!(table.contains("warning: pods not counted: ScaledJob shop/worker"), "{table}");
    assert!(!table.contains("skipped ScaledJob"), "a warning, not a soft skip:\n{table}");
    assert!(
        table.contains("note: Deployment shop/web: no replicas written; counted at HorizontalPodAutoscaler"),
        "{table}"
    );

    let o = fleetfit(&["plan", "-f", file, "--hpa", "peak"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("use min or max"), "{}", stderr(&o));
}

#[test]
fn an_input_without_workloads_is_an_error_naming_it() {
    let o = fleetfit(&["plan", "-f", "core/tests/cli/services-only.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("error: no workloads found in core/tests/cli/services-only.yaml: ")
            && stderr(&o).contains("it holds only Service"),
        "{}",
        stderr(&o)
    );
    let o = fleetfit(&["consolidate", "--cluster", "core/tests/cli/services-only.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("error: no nodes found in core/tests/cli/services-only.yaml"), "{}", stderr(&o));
}

#[test]
fn nodes_of_nodepools_not_given_are_priced_and_named() {
    // The bundled snapshot's nodes belong to NodePools general, batch and gpu; none is given.
    let args = ["consolidate", "--cluster", "examples/cluster/snapshot.json", "--now", "2026-12-05T20:00:00Z"];
    let o = fleetfit(&[&args[..], &["-o", "json"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let plan: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert!(plan["cost_per_hour_before"].as_f64().unwrap() > 1.0, "never a $0 cluster: {plan}");
    assert_eq!(plan["cost_per_hour_before"], plan["cost_per_hour_after"]);
    let warning = "NodePools not in the input: batch (1 nodes), general (13 nodes), gpu (1 nodes)";
    assert!(plan["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().starts_with(warning)), "{plan}");
    assert!(!text.contains("-0.0") && !text.contains(": -0"), "negative zero in\n{text}");
    let o = fleetfit(&args);
    assert!(stdout(&o).contains(&format!("warning: {warning}")), "{}", stdout(&o));
    assert!(!stdout(&o).contains("$-0"), "{}", stdout(&o));
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

fn notes(v: &serde_json::Value) -> Vec<String> {
    v["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_string()).collect()
}

const SHOP: [&str; 5] = ["-f", "examples/webshop", "--nodepools", "examples/nodepools.yaml", "-o"];

#[test]
fn zones_are_given_chosen_from_the_input_or_assumed_and_every_answer_says_which() {
    let assumed = json(&fleetfit(&[&["plan"][..], &SHOP, &["json"]].concat()));
    assert!(
        notes(&assumed).iter().any(|n| n.starts_with("zones assumed: all 6 of us-east-1 (us-east-1a, us-east-1b")
            && n.contains("most use 2 or 3): give --zones")),
        "{:?}",
        notes(&assumed)
    );
    let zones = ["--zones", "us-east-1b,us-east-1c"];
    let given = json(&fleetfit(&[&["plan"][..], &SHOP, &["json"], &zones].concat()));
    assert!(notes(&given).contains(&"zones: us-east-1b, us-east-1c (given)".to_string()), "{:?}", notes(&given));
    let nodes = given["nodes"].as_array().unwrap();
    assert!(nodes.iter().all(|n| n["zone"] == "us-east-1b" || n["zone"] == "us-east-1c"), "{nodes:?}");
    let explained = json(&fleetfit(&[&["explain"][..], &SHOP, &["json"], &zones].concat()));
    assert!(notes(&explained).contains(&"zones: us-east-1b, us-east-1c (given)".to_string()));
    // A snapshot's nodes give the zones; consolidation says so.
    let cluster = ["--cluster", "examples/cluster/snapshot.json", "--now", "2026-12-05T20:00:00Z", "-o", "json"];
    let consolidated =
        json(&fleetfit(&[&["consolidate", "--nodepools", "examples/nodepools.yaml"][..], &cluster].concat()));
    assert!(
        notes(&consolidated)
            .iter()
            .any(|n| n
                .starts_with("zones: us-east-1a, us-east-1b, us-east-1c (from the zones of the cluster's 16 nodes)")),
        "{:?}",
        notes(&consolidated)
    );
    let simulated = json(&fleetfit(&[
        "simulate",
        "-f",
        "examples/webshop/20-backend.yaml",
        "--generate",
        "spike",
        "--zones",
        "us-east-1d",
        "-o",
        "json",
    ]));
    assert!(notes(&simulated).contains(&"zones: us-east-1d (given)".to_string()), "{:?}", notes(&simulated));
}

#[test]
fn an_unknown_zone_is_an_error_naming_it_and_the_region_zones() {
    for command in ["plan", "explain", "simulate"] {
        let mut args = vec![command, "-f", "examples/webshop", "--zones", "us-east-1a,us-east-1g"];
        if command == "simulate" {
            args.extend(["--generate", "spike"]);
        }
        let out = fleetfit(&args);
        assert_eq!(out.status.code(), Some(1), "{command}");
        assert_eq!(
            stderr(&out),
            "error: --zones: \"us-east-1g\" is not a zone of us-east-1; us-east-1's zones: us-east-1a, us-east-1b, \
             us-east-1c, us-east-1d, us-east-1e, us-east-1f\n",
            "{command}"
        );
    }
    let out = fleetfit(&["consolidate", "--cluster", "examples/cluster/snapshot.json", "--zones", "eu-west-1a"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("\"eu-west-1a\" is not a zone of us-east-1"), "{}", stderr(&out));
}

#[test]
fn spot_diversity_spreads_spot_nodes_over_pools_and_says_what_it_costs() {
    let one_zone = ["--zones", "us-east-1a"];
    let plain = json(&fleetfit(&[&["plan"][..], &SHOP, &["json"], &one_zone].concat()));
    assert!(plain.get("spot_diversity").is_none());
    let pools = plain["spot_pools"].as_array().unwrap();
    assert!(pools[0]["share"].as_f64().unwrap() > 0.9, "{pools:?}");
    assert!(
        notes(&plain).iter().any(|n| n.starts_with(
            "spot concentration: 13 of 14 spot nodes (93%) are in one capacity pool (c6gd.2xlarge in us-east-1a)"
        )),
        "{:?}",
        notes(&plain)
    );
    let diverse = json(&fleetfit(&[&["plan"][..], &SHOP, &["json"], &one_zone, &["--spot-diversity", "0.5"]].concat()));
    let d = &diverse["spot_diversity"];
    assert_eq!(d["max_pool_share"], 0.5);
    assert_eq!(d["satisfied"], true);
    assert_eq!(d["nodes_moved"], 6);
    let (cost, without, extra) = (
        diverse["cost_per_hour"].as_f64().unwrap(),
        d["cost_per_hour_without"].as_f64().unwrap(),
        d["extra_cost_per_hour"].as_f64().unwrap(),
    );
    assert!((without - plain["cost_per_hour"].as_f64().unwrap()).abs() < 1e-9, "{without} vs {plain}");
    assert!(extra > 0.1 && (without + extra - cost).abs() < 1e-9, "{cost} {without} {extra}");
    for pool in diverse["spot_pools"].as_array().unwrap() {
        assert!(pool["share"].as_f64().unwrap() <= 0.5 + 1e-9, "{pool}");
    }
    assert_eq!(diverse["unschedulable"].as_array().unwrap().len(), 2, "the same pods are placed");
    let table = stdout(&fleetfit(&[
        "plan",
        "-f",
        "examples/webshop",
        "--nodepools",
        "examples/nodepools.yaml",
        "--zones",
        "us-east-1a",
        "--spot-diversity",
        "0.5",
    ]));
    assert!(
        table.contains("note: spot diversity: at most 50% of the spot nodes in one pool: 6 nodes moved to other pools"),
        "{table}"
    );
}

#[test]
fn spot_diversity_must_be_a_share() {
    for bad in ["0", "1.5", "-0.2", "half", "NaN"] {
        let out = fleetfit(&["plan", "-f", "examples/webshop", "--spot-diversity", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "invalid value '{bad}' for '--spot-diversity <SHARE>': \"{bad}\" is not a share above 0 and at most 1"
            )),
            "{err}"
        );
    }
}

#[test]
fn a_spot_price_far_below_on_demand_is_flagged() {
    let pods = scratch(
        "m5.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 1\n  template:\n    spec:\n      nodeSelector: {node.kubernetes.io/instance-type: m5.large}\n      containers:\n        - name: web\n          resources: {requests: {cpu: 500m}}\n",
    );
    let prices = scratch("spot.json", r#"{"overrides": [{"instanceType": "m5.large", "spot": 0.005}]}"#);
    let args = ["plan", "-f", pods.to_str().unwrap(), "--zones", "us-east-1a", "-o", "json"];
    let cheap = json(&fleetfit(&[&args[..], &["--prices", prices.to_str().unwrap()]].concat()));
    assert!(
        notes(&cheap).contains(&"spot price inversion: 1 node priced at m5.large's spot price, 0.0050/h in us-east-1a, 5% of its on-demand price 0.0960/h, a deeper discount than spot usually gives (up to 90%); spot prices move, and this plan's cost depends on that one".to_string()),
        "{:?}",
        notes(&cheap)
    );
    let usual = json(&fleetfit(&args));
    assert!(!notes(&usual).iter().any(|n| n.contains("inversion")), "{:?}", notes(&usual));
}

#[test]
fn timings_go_to_stderr_and_leave_the_answer_alone() {
    let args = ["plan", "-f", "examples/webshop", "--nodepools", "examples/nodepools.yaml", "-o", "json"];
    let plain = fleetfit(&args);
    let timed = fleetfit(&[&args[..], &["--timings"]].concat());
    assert!(plain.status.success() && timed.status.success(), "{}", stderr(&timed));
    assert_eq!(stdout(&plain), stdout(&timed), "the plan is the same with --timings");
    let err = stderr(&timed);
    for phase in [
        "timings (s):",
        "objects",
        "catalog",
        "class filters",
        "karpenter packing",
        "optimize packing",
        "lower bound",
        "whole command",
    ] {
        assert!(err.contains(phase), "{phase} missing from:\n{err}");
    }
    assert!(!stderr(&plain).contains("timings"), "{}", stderr(&plain));
}

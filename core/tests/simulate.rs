//! Simulation over time: the trace format (its errors name the field), the generated shapes,
//! and replays of a small cluster — every wanted pod accounted for at every step, the same
//! timeline every time, and consolidation cheaper than none.

use fleetfit::catalog::Catalog;
use fleetfit::consolidate::ConsolidationMode;
use fleetfit::simulate::trace::Shape;
use fleetfit::simulate::{simulate, SimulateOptions, Timeline, Trace};
use fleetfit::time::Duration;

const MANIFESTS: &str = r#"
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: default}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: karpenter.k8s.aws/instance-family, operator: In, values: [m5]}
        - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}
  disruption:
    consolidationPolicy: WhenEmptyOrUnderutilized
    consolidateAfter: 0s
    budgets: [{nodes: "100%"}]
---
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata: {name: default}
spec:
  amiSelectorTerms: [{alias: al2023@latest}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 4
  template:
    spec:
      containers: [{name: web, resources: {requests: {cpu: "1", memory: 1Gi}}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  replicas: 2
  template:
    spec:
      containers: [{name: api, resources: {requests: {cpu: 500m, memory: 512Mi}}}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: etl, namespace: shop}
spec:
  parallelism: 3
  template:
    spec:
      restartPolicy: Never
      containers: [{name: etl, resources: {requests: {cpu: "2", memory: 2Gi}}}]
"#;

const TRACE: &str = r#"
start: "2026-12-01T00:00:00Z"
duration: 3h
step: 5m
events:
  - {at: 0s, scale: {workload: Job/shop/etl, replicas: 0}}
  - {at: 1h, scale: {workload: Deployment/shop/web, replicas: 12}}
  - {at: 1h30m, run: {workload: Job/shop/etl, pods: 3, for: 30m}}
  - {at: 2h, scale: {workload: Deployment/shop/web, replicas: 2}}
"#;

fn replay(consolidation: Option<ConsolidationMode>) -> Timeline {
    let inventory = fleetfit::manifest::parse("manifests", MANIFESTS).expect("manifests");
    let catalog = Catalog::aws("us-east-1").expect("catalog");
    let trace = Trace::parse("trace", TRACE).expect("trace");
    let options = SimulateOptions { consolidation, ..SimulateOptions::default() };
    let mut calls = 0;
    let timeline = simulate(&inventory, &catalog, &trace, &options, &mut |done, total| {
        calls += 1;
        assert!(done <= total);
    })
    .expect("a timeline");
    assert_eq!(calls, trace.steps());
    timeline
}

#[test]
fn every_wanted_pod_is_running_or_pending_at_every_step() {
    let timeline = replay(Some(ConsolidationMode::Optimize));
    assert_eq!(timeline.steps.len(), 36);
    for (i, step) in timeline.steps.iter().enumerate() {
        let minutes = i * 5;
        let web = match minutes {
            m if m < 60 => 4,
            m if m < 120 => 12,
            _ => 2,
        };
        let etl = if (90..120).contains(&minutes) { 3 } else { 0 };
        assert_eq!(step.running_pods + step.pending_pods, web + 2 + etl, "step {i} at {}", step.at);
        assert_eq!(step.unschedulable_pods, 0);
    }
    // Pods wait for their node's start-up (60 s) only: at a 5-minute step they run by the next.
    assert!(timeline.steps.iter().skip(1).all(|s| s.pending_pods == 0 || s.launches > 0));
    assert!(timeline.totals.launches > 0 && timeline.totals.max_nodes > 0);
}

#[test]
fn the_same_trace_gives_the_same_timeline() {
    assert_eq!(replay(Some(ConsolidationMode::Optimize)), replay(Some(ConsolidationMode::Optimize)));
    assert_eq!(replay(Some(ConsolidationMode::Karpenter)), replay(Some(ConsolidationMode::Karpenter)));
}

#[test]
fn consolidation_costs_less_than_none_after_a_scale_down() {
    let off = replay(None);
    let on = replay(Some(ConsolidationMode::Optimize));
    let karpenter = replay(Some(ConsolidationMode::Karpenter));
    assert_eq!(off.totals.terminations, 0);
    assert!(on.totals.terminations > 0 && on.totals.evictions > 0, "{:?}", on.totals);
    assert!(on.totals.cost < off.totals.cost, "{} vs {}", on.totals.cost, off.totals.cost);
    assert!(karpenter.totals.cost < off.totals.cost);
    // After the scale-down the consolidated cluster is smaller.
    assert!(on.steps.last().unwrap().nodes < off.steps.last().unwrap().nodes);
}

#[test]
fn trace_errors_name_the_field() {
    let cases = [
        ("start: x\nduration: 1h\n", "start"),
        ("start: \"2026-12-01T00:00:00Z\"\nduration: 0s\n", "duration"),
        ("start: \"2026-12-01T00:00:00Z\"\nduration: 1h\nstep: 1ms\n", "step"),
        ("start: \"2026-12-01T00:00:00Z\"\nduration: 1h\nsteps: 1m\n", "steps"),
        (
            "start: \"2026-12-01T00:00:00Z\"\nduration: 1h\nevents:\n  - {at: 2h, scale: {workload: Deployment/a/b, replicas: 1}}\n",
            "events[0].at",
        ),
        (
            "start: \"2026-12-01T00:00:00Z\"\nduration: 1h\nevents:\n  - {at: 0s, scale: {workload: Deployment/a/b, replicas: -1}}\n",
            "events[0].scale.replicas",
        ),
        (
            "start: \"2026-12-01T00:00:00Z\"\nduration: 1h\nevents:\n  - {at: 0s, scale: {workload: web, replicas: 1}}\n",
            "events[0].scale.workload",
        ),
        (
            "start: \"2026-12-01T00:00:00Z\"\nduration: 1h\nevents:\n  - {at: 0s, run: {workload: Job/a/b, pods: 1}}\n",
            "events[0].run.for",
        ),
        (
            "start: \"2026-12-01T00:00:00Z\"\nduration: 1h\nevents:\n  - {at: 0s, scale: {workload: Job/a/b, replicas: 1}, run: {workload: Job/a/b, pods: 1, for: 1m}}\n",
            "events[0]",
        ),
    ];
    for (text, field) in cases {
        let err = Trace::parse("t.yaml", text).expect_err(text).to_string();
        assert!(err.contains(&format!(": {field}:")) || err.contains(field), "{text}\n-> {err}");
        assert!(err.starts_with("trace t.yaml") || err.starts_with("t.yaml"), "{err}");
    }
}

#[test]
fn a_trace_naming_an_unknown_workload_is_refused() {
    let inventory = fleetfit::manifest::parse("manifests", MANIFESTS).expect("manifests");
    let catalog = Catalog::aws("us-east-1").expect("catalog");
    let trace = Trace::parse(
        "t",
        "start: \"2026-12-01T00:00:00Z\"\nduration: 1h\nevents:\n  - {at: 0s, scale: {workload: Deployment/shop/nope, replicas: 1}}\n",
    )
    .expect("trace");
    let err = simulate(&inventory, &catalog, &trace, &SimulateOptions::default(), &mut |_, _| {}).expect_err("refused");
    assert!(err.to_string().contains("Deployment shop/nope"), "{err}");
}

#[test]
fn generated_traces_are_one_to_366_days() {
    let start = "2026-12-01T00:00:00Z".parse().unwrap();
    for days in [0, 367] {
        let err = Trace::generate(Shape::Diurnal, &[], start, days, Duration::from_secs(60)).expect_err("out of range");
        assert_eq!(err.to_string(), format!("days: {days} days: a generated trace is 1 to 366 days long"));
    }
}

#[test]
fn generated_traces_read_back_the_same() {
    let inventory = fleetfit::manifest::parse("manifests", MANIFESTS).expect("manifests");
    for shape in [Shape::Diurnal, Shape::NightlyBatch, Shape::Spike] {
        let trace = Trace::generate(
            shape,
            &inventory.workloads,
            "2026-12-01T00:00:00Z".parse().unwrap(),
            2,
            Duration::from_secs(60),
        )
        .expect("two days");
        assert_eq!(trace.duration, Duration::from_secs(2 * 86_400));
        assert!(!trace.events.is_empty());
        assert_eq!(Trace::parse("generated", &trace.to_yaml()).expect("reads back"), trace, "{shape:?}");
    }
    let batch = Trace::generate(
        Shape::NightlyBatch,
        &inventory.workloads,
        "2026-12-01T00:00:00Z".parse().unwrap(),
        2,
        Duration::from_secs(60),
    )
    .expect("two days");
    let runs: Vec<_> =
        batch.events.iter().filter(|e| matches!(e.action, fleetfit::simulate::Action::Run { .. })).collect();
    assert_eq!(runs.len(), 2, "one run of the Job each night");
    assert_eq!(runs[0].at, Duration::from_secs(3600));
}

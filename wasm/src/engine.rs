//! The calls the page makes, as plain Rust: read the input, call the core, and on failure say
//! where each error is written. No JS types here, so every call is tested natively.

use crate::options::{CatalogArgs, ConsolidateArgs, ExplainArgs, Input, PlanArgs, SimulateArgs, SweepArgs, TraceArgs};
use fleetfit::catalog::PriceAdjustments;
use fleetfit::manifest::{Location, Locator};
use fleetfit::simulate::Trace;
use fleetfit::{Catalog, Error, Inventory};
use serde::Serialize;

/// The source name price adjustments go by in errors.
pub const PRICES_NAME: &str = "prices";
/// The source name a simulation's trace goes by in errors.
pub const TRACE_NAME: &str = "trace";

/// A failed call: the core's error, and the sources to place its parts in.
#[derive(Debug)]
pub struct Failure {
    pub error: Error,
    pub sources: Vec<(String, String)>,
}

/// One error of a failure, with where it is written when it is in a source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    pub message: String,
    #[serde(flatten)]
    pub location: Option<Location>,
}

impl Failure {
    fn new(error: Error, input: &Input) -> Failure {
        Failure { error, sources: input.sources() }
    }

    /// Each error (several for [`Error::Many`]) with its location.
    pub fn problems(&self) -> Vec<Problem> {
        let mut locator = Locator::new(&self.sources);
        self.error
            .flatten()
            .into_iter()
            .map(|e| Problem { message: e.to_string(), location: locator.locate(e) })
            .collect()
    }
}

pub type Outcome<T> = Result<T, Failure>;

/// What a call needs: the manifests read together, and the catalog priced as asked.
fn load(input: &Input, needs_nodes: bool) -> Outcome<(Inventory, Catalog)> {
    let fail = |error| Failure::new(error, input);
    let sources = input.sources();
    let inventory = fleetfit::manifest::parse_sources_with(&sources, &input.parse_options()).map_err(fail)?;
    let names: Vec<String> = sources.into_iter().map(|(name, _)| name).collect();
    let present = if needs_nodes {
        fleetfit::manifest::require_nodes(&inventory, &names)
    } else {
        fleetfit::manifest::require_workloads(&inventory, &names)
    };
    present.map_err(fail)?;
    let zones = input.zones.as_deref().unwrap_or_default();
    let catalog = catalog_of(input.region(), input.prices.as_deref())
        .and_then(|catalog| catalog.for_inventory(&inventory, zones))
        .map_err(fail)?;
    Ok((inventory, catalog))
}

fn catalog_of(region: &str, prices: Option<&str>) -> fleetfit::Result<Catalog> {
    /// The last few catalogs asked for, by (region, prices): a clone shares its sized instance
    /// types, so a page asking again and again (every edit, every what-if) sizes them once.
    const KEEP: usize = 8;
    type Key = (String, Option<String>);
    thread_local! {
        static CATALOGS: std::cell::RefCell<Vec<(Key, Catalog)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let key = (region.to_string(), prices.map(str::to_string));
    if let Some(found) = CATALOGS.with(|c| c.borrow().iter().find(|(k, _)| *k == key).map(|(_, c)| c.clone())) {
        return Ok(found);
    }
    let catalog = Catalog::aws(region)?;
    let catalog = match prices {
        Some(text) => catalog.with_prices(&PriceAdjustments::parse(PRICES_NAME, text)?),
        None => catalog,
    };
    CATALOGS.with(|c| {
        let mut cached = c.borrow_mut();
        if cached.len() == KEEP {
            cached.remove(0);
        }
        cached.push((key, catalog.clone()));
    });
    Ok(catalog)
}

/// The manifests as fleetfit reads them (pods, workloads, NodePools, ...).
pub fn parse(input: &Input) -> Outcome<Inventory> {
    fleetfit::manifest::parse_sources_with(&input.sources(), &input.parse_options()).map_err(|e| Failure::new(e, input))
}

pub fn plan(input: &Input, args: &PlanArgs) -> Outcome<fleetfit::plan::Plan> {
    let (inventory, catalog) = load(input, false)?;
    fleetfit::pack::plan(&inventory, &catalog, &args.options()).map_err(|e| Failure::new(e, input))
}

pub fn explain(input: &Input, args: &ExplainArgs) -> Outcome<fleetfit::Explanation> {
    let (inventory, catalog) = load(input, false)?;
    fleetfit::explain(&inventory, &catalog, &args.options()).map_err(|e| Failure::new(e, input))
}

pub fn consolidate(input: &Input, args: &ConsolidateArgs) -> Outcome<fleetfit::consolidate::ConsolidationPlan> {
    let (inventory, catalog) = load(input, true)?;
    fleetfit::consolidate::consolidate(&inventory, &catalog, &args.options()).map_err(|e| Failure::new(e, input))
}

/// A trace of a shape for the input's workloads, as YAML text (the CLI's `--emit-trace`).
pub fn generate_trace(input: &Input, args: &TraceArgs) -> Outcome<String> {
    let inventory = parse(input)?;
    Ok(generated(&inventory, args).map_err(|e| Failure::new(e, input))?.to_yaml())
}

fn generated(inventory: &Inventory, args: &TraceArgs) -> fleetfit::Result<Trace> {
    let step = fleetfit::time::Duration::from_secs(60);
    Trace::generate(args.shape.0, &inventory.workloads, args.start(), args.days.unwrap_or(1), step)
}

pub fn simulate(input: &Input, args: &SimulateArgs) -> Outcome<fleetfit::simulate::Timeline> {
    let (inventory, catalog) = load(input, false)?;
    let trace = match (&args.trace, args.generate) {
        (Some(text), None) => Trace::parse(TRACE_NAME, text).map_err(|error| {
            let mut sources = input.sources();
            sources.push((TRACE_NAME.to_string(), text.clone()));
            Failure { error, sources }
        })?,
        (None, Some(shape)) => generated(&inventory, &TraceArgs { shape, start: args.start, days: args.days })
            .map_err(|e| Failure::new(e, input))?,
        (trace, _) => {
            let why =
                if trace.is_some() { "give trace or generate, not both" } else { "give a trace, or generate a shape" };
            return Err(Failure::new(Error::Usage(format!("simulate options: trace: {why}")), input));
        }
    };
    fleetfit::simulate::simulate(&inventory, &catalog, &trace, &args.options(), &mut |_, _| {})
        .map_err(|e| Failure::new(e, input))
}

pub fn sweep(input: &Input, args: &SweepArgs) -> Outcome<Vec<fleetfit::whatif::Priced>> {
    let (inventory, catalog) = load(input, false)?;
    let scenarios: Vec<_> = args.scenarios.iter().map(|s| s.scenario()).collect();
    let mode = args.mode.map_or(fleetfit::plan::Mode::Optimize, |m| m.0);
    fleetfit::whatif::sweep(&inventory, &catalog, &scenarios, mode, 1).map_err(|e| Failure::new(e, input))
}

/// What the page shows about a catalog: its region, currency, where its prices come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogInfo {
    pub region: String,
    pub currency: String,
    pub source: String,
    pub instance_types: usize,
    pub zones: Vec<String>,
    /// Facts about the prices (their sources and dates, fallbacks).
    pub notes: Vec<String>,
}

pub fn catalog(args: &CatalogArgs) -> Outcome<CatalogInfo> {
    let region = args.region.as_deref().unwrap_or("us-east-1");
    let catalog = catalog_of(region, args.prices.as_deref()).map_err(|error| {
        let sources = args.prices.iter().map(|text| (PRICES_NAME.to_string(), text.clone())).collect();
        Failure { error, sources }
    })?;
    Ok(CatalogInfo {
        region: catalog.region().to_string(),
        currency: catalog.currency().to_string(),
        source: catalog.source().to_string(),
        instance_types: catalog.len(),
        zones: catalog.zones().to_vec(),
        notes: catalog.notes().to_vec(),
    })
}

/// The NodePool plans use when the input has none: as a manifest to start editing from, and
/// the note every such answer carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DefaultNodePool {
    pub manifest: String,
    pub note: String,
}

pub fn default_nodepool() -> DefaultNodePool {
    let pool = fleetfit::filter::default_nodepool();
    let quote = |s: &str| serde_json::Value::from(s).to_string();
    let mut manifest = format!(
        "apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata:\n  name: {}\nspec:\n  template:\n    spec:\n      \
         nodeClassRef: {{group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}}\n      \
         expireAfter: {}\n      requirements:\n",
        quote(&pool.name),
        quote(&pool.expire_after.to_string())
    );
    for r in &pool.requirement_specs {
        let values: Vec<String> = r.values.iter().map(|v| quote(v)).collect();
        manifest += &format!(
            "        - key: {}\n          operator: {}\n          values: [{}]\n",
            quote(&r.key),
            r.operator,
            values.join(", ")
        );
    }
    DefaultNodePool { manifest, note: fleetfit::filter::default_nodepool_note() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{ScenarioArgs, Source};

    const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx
          resources:
            requests: {cpu: 250m, memory: 512Mi}
";

    fn input(texts: &[(&str, &str)]) -> Input {
        let sources = texts.iter().map(|(n, t)| Source { name: n.to_string(), text: t.to_string() }).collect();
        Input { sources, ..Input::default() }
    }

    #[test]
    fn a_plan_is_the_cores_plan() {
        let i = input(&[("web.yaml", DEPLOYMENT)]);
        let planned = plan(&i, &PlanArgs::default()).expect("plans");
        let inventory = fleetfit::manifest::parse("web.yaml", DEPLOYMENT).expect("parses");
        let catalog = Catalog::aws("us-east-1").and_then(|c| c.for_inventory(&inventory, &[])).expect("embedded");
        let direct = fleetfit::pack::plan(&inventory, &catalog, &Default::default()).expect("plans");
        assert_eq!(planned, direct);
        assert!(planned.cost_per_hour > 0.0 && planned.unschedulable.is_empty());
    }

    #[test]
    fn failures_locate_every_error() {
        let bad = DEPLOYMENT
            .replace("cpu: 250m", "cpu: 1.5x")
            .replace("image: nginx", "image: nginx\n          imagePull: x");
        let i =
            input(&[("other.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"), ("web.yaml", &bad)]);
        let failure = plan(&i, &PlanArgs::default()).expect_err("two bad fields");
        let problems = failure.problems();
        assert_eq!(problems.len(), 2, "{problems:?}");
        let cpu = problems.iter().find(|p| p.message.contains("requests.cpu")).expect("the quantity");
        assert_eq!(cpu.location, Some(Location { source: "web.yaml".into(), line: 15 }));
        assert!(cpu.message.starts_with("Deployment shop/web: spec.template.spec.containers[0]"), "{}", cpu.message);
        let json = serde_json::to_value(cpu).expect("serialisable");
        assert_eq!(json["source"], "web.yaml");
        assert_eq!(json["line"], 15);
    }

    #[test]
    fn no_workloads_is_an_error_without_a_line() {
        let i = input(&[("ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")]);
        let problems = plan(&i, &PlanArgs::default()).expect_err("nothing to plan").problems();
        assert!(problems[0].message.starts_with("no workloads found in ns.yaml"), "{problems:?}");
        assert_eq!(problems[0].location, None);
    }

    #[test]
    fn a_sweep_prices_each_scenario_in_order() {
        let i = input(&[("web.yaml", DEPLOYMENT)]);
        let scenarios = vec![ScenarioArgs::default(), ScenarioArgs { replicas: Some(3.0), ..ScenarioArgs::default() }];
        let priced = sweep(&i, &SweepArgs { scenarios, mode: None }).expect("sweeps");
        assert_eq!((priced[0].pods, priced[1].pods), (4, 12));
        assert_eq!(priced[0].cost_per_hour, plan(&i, &PlanArgs::default()).expect("plans").cost_per_hour);
        let bad = vec![ScenarioArgs { replicas: Some(-1.0), ..ScenarioArgs::default() }];
        let problems = sweep(&i, &SweepArgs { scenarios: bad, mode: None }).expect_err("negative").problems();
        assert!(problems[0].message.starts_with("scenarios[0]: replicas"), "{problems:?}");
    }

    #[test]
    fn simulate_names_the_trace_and_its_lines() {
        let i = input(&[("web.yaml", DEPLOYMENT)]);
        let args = SimulateArgs {
            generate: Some(crate::options::Parsed("spike".parse().expect("a shape"))),
            ..Default::default()
        };
        let timeline = simulate(&i, &args).expect("simulates");
        assert!(!timeline.steps.is_empty());
        let trace = "start: 2026-12-01T00:00:00Z\nduration: 1h\nevents:\n  - at: 10m\n    scale: {workload: Deployment/shop/web, replicas: lots}\n";
        let args = SimulateArgs { trace: Some(trace.into()), ..Default::default() };
        let problems = simulate(&i, &args).expect_err("bad replicas").problems();
        assert_eq!(problems[0].location.as_ref().map(|l| l.source.as_str()), Some(TRACE_NAME), "{problems:?}");
        let problems = simulate(&i, &SimulateArgs::default()).expect_err("no trace").problems();
        assert!(problems[0].message.contains("trace: give a trace"), "{problems:?}");
    }

    #[test]
    fn the_default_nodepool_manifest_reads_back_as_the_default_nodepool() {
        let default = default_nodepool();
        let inventory = fleetfit::manifest::parse("default.yaml", &default.manifest).expect("a valid NodePool");
        let mut read = inventory.nodepools[0].clone();
        assert!(read.node_class_ref.take().is_some(), "Karpenter needs one; the stand-in has none");
        assert_eq!([read], [fleetfit::filter::default_nodepool()]);
        // Planned with it, the same plan as with none.
        let with = input(&[("web.yaml", DEPLOYMENT), ("pools.yaml", &default.manifest)]);
        let without = input(&[("web.yaml", DEPLOYMENT)]);
        let (with, without) = (plan(&with, &PlanArgs::default()), plan(&without, &PlanArgs::default()));
        let (with, without) = (with.expect("plans"), without.expect("plans"));
        assert_eq!((with.nodes, with.cost_per_hour), (without.nodes, without.cost_per_hour));
        assert!(default.note.contains("stand-in NodePool"), "{}", default.note);
    }

    #[test]
    fn catalogs_by_region_and_their_notes() {
        let info = catalog(&CatalogArgs { region: Some("eu-west-1".into()), prices: None }).expect("embedded");
        assert_eq!(info.region, "eu-west-1");
        assert!(info.instance_types > 100 && !info.notes.is_empty() && !info.zones.is_empty(), "{info:?}");
        let err = catalog(&CatalogArgs { region: Some("mars-1".into()), prices: None }).expect_err("no such region");
        assert!(err.problems()[0].message.contains("mars-1"), "{:?}", err.problems());
    }
}

//! `fleetfit._native`: the extension module behind the `fleetfit` Python package.
//!
//! A translation layer only: arguments come in as Python objects, the core does the work with
//! the GIL released, results go back as JSON text (rich results, which the pure-Python layer
//! turns into typed objects) or numpy arrays (sweeps). Core errors become the package's
//! exceptions (`fleetfit.errors`), whose messages name the object and field at fault.

use fleetfit::catalog::PriceAdjustments;
use fleetfit::consolidate::{ConsolidateOptions, ConsolidationMode};
use fleetfit::plan::{Mode, PlanOptions};
use fleetfit::simulate::trace::Shape;
use fleetfit::simulate::{SimulateOptions, Trace};
use fleetfit::whatif::Scenario;
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// The package's exception for `err`: every core error is about the caller's input (a
/// manifest, a catalog, an argument), so each one is a `fleetfit.InputError`.
fn input_error(py: Python<'_>, err: fleetfit::Error) -> PyErr {
    raise(py, "InputError", err.to_string())
}

/// An exception of `fleetfit.errors` by name (a `RuntimeError` should that module be missing).
fn raise(py: Python<'_>, name: &str, message: String) -> PyErr {
    let class = py.import("fleetfit.errors").and_then(|m| m.getattr(name)).and_then(|c| Ok(c.cast_into::<PyType>()?));
    match class {
        Ok(class) => PyErr::from_type(class, message),
        Err(_) => PyRuntimeError::new_err(message),
    }
}

/// JSON text of a core result. The core's output types serialise infallibly in practice, so a
/// failure here is a bug in fleetfit, not in the caller's input.
fn to_json<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value)
        .map_err(|e| PyRuntimeError::new_err(format!("fleetfit bug: cannot serialise a result: {e}")))
}

/// Runs `work` without the GIL and turns its error into the package's exception.
fn detached<T: Send>(py: Python<'_>, work: impl FnOnce() -> fleetfit::Result<T> + Send) -> PyResult<T> {
    py.detach(work).map_err(|e| input_error(py, e))
}

fn parse<T: std::str::FromStr<Err = String>>(py: Python<'_>, argument: &str, value: &str) -> PyResult<T> {
    value.parse().map_err(|e: String| raise(py, "InputError", format!("{argument}: {e}")))
}

/// A core error about an option, which the core names as the CLI (`--zones`) or its own options
/// (`max_spot_pool_share`) do, naming the Python argument instead: `renames` are
/// `(core name, argument)` pairs.
fn named(err: fleetfit::Error, renames: &[(&str, &str)]) -> fleetfit::Error {
    match err {
        fleetfit::Error::Usage(message) => {
            let renamed = renames.iter().find_map(|(core_name, argument)| {
                message.strip_prefix(core_name).map(|rest| format!("{argument}{rest}"))
            });
            fleetfit::Error::Usage(renamed.unwrap_or(message))
        }
        other => other,
    }
}

/// A count argument (`top`, `threads`, `days`) as the core takes it: a negative or too large
/// one is an `InputError` naming the argument, not an `OverflowError` from the conversion.
fn count<T: TryFrom<i64>>(py: Python<'_>, argument: &str, value: i64) -> PyResult<T> {
    T::try_from(value).map_err(|_| {
        let why = if value < 0 { "must be ≥ 0" } else { "is too large" };
        raise(py, "InputError", format!("{argument}: {why}, not {value}"))
    })
}

/// Kubernetes objects parsed into fleetfit's inventory: pods (workloads expanded one per
/// replica), DaemonSets, nodes, NodePools, EC2NodeClasses, PDBs and volumes.
#[pyclass(frozen, module = "fleetfit._native")]
struct Inventory {
    inner: fleetfit::Inventory,
}

#[pymethods]
impl Inventory {
    /// Parses `(name, text)` sources of YAML or JSON (one or many documents, `kind: List`,
    /// `kubectl get -o json` output) together.
    /// `validate` is `"strict"` (an unknown field is an error) or `"warn"` (a note, and
    /// ignored); `hpa` is `"min"` or `"max"`: how a workload a HorizontalPodAutoscaler scales
    /// is counted.
    #[staticmethod]
    #[pyo3(signature = (sources, validate = "strict", hpa = "min"))]
    fn parse(py: Python<'_>, sources: Vec<(String, String)>, validate: &str, hpa: &str) -> PyResult<Inventory> {
        let options = fleetfit::manifest::ParseOptions {
            validation: parse(py, "validate", validate)?,
            hpa: parse(py, "hpa", hpa)?,
        };
        detached(py, || fleetfit::manifest::parse_sources_with(&sources, &options)).map(|inner| Inventory { inner })
    }

    /// The inventory as JSON text (the CLI's shape).
    fn to_json(&self) -> PyResult<String> {
        to_json(&self.inner)
    }

    /// Pods a plan would place (not bound to a node, not finished).
    #[getter]
    fn pending_pods(&self) -> usize {
        self.inner.pending_pods().count()
    }

    /// The inventory as `replicas`, `requests`, `spot_share` and `families` change it (see
    /// `fleetfit.whatif`).
    #[pyo3(signature = (replicas = 1.0, requests = 1.0, spot_share = None, families = None))]
    fn whatif(
        &self,
        py: Python<'_>,
        replicas: f64,
        requests: f64,
        spot_share: Option<f64>,
        families: Option<Vec<String>>,
    ) -> PyResult<Inventory> {
        let scenario = Scenario { replicas, requests, spot_share, families };
        detached(py, || fleetfit::whatif::apply(&self.inner, &scenario)).map(|inner| Inventory { inner })
    }

    fn __repr__(&self) -> String {
        let i = &self.inner;
        format!(
            "Inventory({} pods, {} pending; {} workloads; {} nodes; {} NodePools)",
            i.pods.len(),
            i.pending_pods().count(),
            i.workloads.len(),
            i.nodes.len(),
            i.nodepools.len()
        )
    }
}

/// Instance types with their capacity, overhead and offerings (zone, capacity type, price).
#[pyclass(frozen, module = "fleetfit._native")]
struct Catalog {
    inner: fleetfit::Catalog,
}

#[pymethods]
impl Catalog {
    /// The embedded AWS EC2 catalog of `region`.
    #[staticmethod]
    fn aws(py: Python<'_>, region: &str) -> PyResult<Catalog> {
        detached(py, || fleetfit::Catalog::aws(region)).map(|inner| Catalog { inner })
    }

    /// A catalog of one's own: `format` is `json` or `csv`; `source_name` is used in errors.
    #[staticmethod]
    fn parse(py: Python<'_>, source_name: &str, text: &str, format: &str) -> PyResult<Catalog> {
        let parsed = match format {
            "json" => detached(py, || fleetfit::Catalog::from_json(source_name, text)),
            "csv" => detached(py, || fleetfit::Catalog::from_csv(source_name, text)),
            other => Err(raise(py, "InputError", format!("catalog format {other:?}: expected json or csv"))),
        };
        parsed.map(|inner| Catalog { inner })
    }

    /// The AWS regions of the embedded catalog.
    #[staticmethod]
    fn regions() -> Vec<&'static str> {
        fleetfit::Catalog::regions()
    }

    /// This catalog with price adjustments (JSON or YAML text: discounts, per-type or
    /// per-family prices).
    fn with_prices(&self, py: Python<'_>, source_name: &str, text: &str) -> PyResult<Catalog> {
        detached(py, || {
            let adjustments = PriceAdjustments::parse(source_name, text)?;
            Ok(self.inner.clone().with_prices(&adjustments))
        })
        .map(|inner| Catalog { inner })
    }

    #[getter]
    fn region(&self) -> &str {
        self.inner.region()
    }

    #[getter]
    fn currency(&self) -> &str {
        self.inner.currency()
    }

    #[getter]
    fn source(&self) -> &str {
        self.inner.source()
    }

    /// Facts about the data (price fallbacks, ...).
    #[getter]
    fn notes(&self) -> Vec<String> {
        self.inner.notes().to_vec()
    }

    /// Every instance type as JSON text: name, capacity, overhead, requirements, offerings.
    fn instance_types_json(&self) -> PyResult<String> {
        to_json(&self.inner.instance_types_shared(&Default::default()).as_slice())
    }

    fn __repr__(&self) -> String {
        format!(
            "Catalog({}, {} instance types)",
            self.inner.region(),
            self.inner.instance_types_shared(&Default::default()).len()
        )
    }
}

/// The CLI's refusal of an input that holds nothing to answer about (most likely the wrong
/// files): no workload for `plan`, `explain` and `simulate`, no node for `consolidate`.
fn require(py: Python<'_>, inventory: &Inventory, nodes: bool) -> PyResult<()> {
    let sources = ["the inventory".to_string()];
    let checked = if nodes {
        fleetfit::manifest::require_nodes(&inventory.inner, &sources)
    } else {
        fleetfit::manifest::require_workloads(&inventory.inner, &sources)
    };
    checked.map_err(|e| input_error(py, e))
}

/// `zones=`: `None` for the zones the input implies, else at least one zone.
fn given_zones(py: Python<'_>, zones: Option<Vec<String>>) -> PyResult<Vec<String>> {
    match zones {
        Some(zones) if zones.is_empty() => Err(raise(
            py,
            "InputError",
            "zones: give at least one zone (such as ['us-east-1a', 'us-east-1b']), or None for the zones the input \
             implies"
                .to_string(),
        )),
        zones => Ok(zones.unwrap_or_default()),
    }
}

/// `catalog` with new nodes launching in the zones chosen for `inventory` as the CLI chooses
/// them (`given`, else the input's subnets, NodePools or nodes, else the region's; see
/// `Catalog::for_inventory`): the catalog every answer about `inventory` uses.
fn zoned(inventory: &Inventory, catalog: &Catalog, given: &[String]) -> fleetfit::Result<fleetfit::Catalog> {
    catalog.inner.clone().for_inventory(&inventory.inner, given).map_err(|e| named(e, &[("--zones", "zones")]))
}

/// Plans where the pending pods go: existing nodes first, then new ones; JSON text.
/// `spot_diversity`: at most this share of the new spot nodes in one capacity pool.
#[pyfunction]
#[pyo3(signature = (inventory, catalog, mode = "optimize", time_limit_seconds = None, spot_diversity = None, zones = None))]
fn plan(
    py: Python<'_>,
    inventory: &Inventory,
    catalog: &Catalog,
    mode: &str,
    time_limit_seconds: Option<f64>,
    spot_diversity: Option<f64>,
    zones: Option<Vec<String>>,
) -> PyResult<String> {
    require(py, inventory, false)?;
    let zones = given_zones(py, zones)?;
    let options =
        PlanOptions { mode: parse::<Mode>(py, "mode", mode)?, time_limit_seconds, max_spot_pool_share: spot_diversity };
    let planned = detached(py, || {
        fleetfit::pack::plan(&inventory.inner, &zoned(inventory, catalog, &zones)?, &options)
            .map_err(|e| named(e, &[("max_spot_pool_share", "spot_diversity"), ("time_limit_seconds", "time_limit")]))
    })?;
    to_json(&planned)
}

/// Why each workload's pending pods can or cannot go where; JSON text.
#[pyfunction]
#[pyo3(signature = (inventory, catalog, top = 3, zones = None))]
fn explain(
    py: Python<'_>,
    inventory: &Inventory,
    catalog: &Catalog,
    top: i64,
    zones: Option<Vec<String>>,
) -> PyResult<String> {
    require(py, inventory, false)?;
    let zones = given_zones(py, zones)?;
    let options = fleetfit::ExplainOptions { top: count(py, "top", top)? };
    let explanation =
        detached(py, || fleetfit::explain(&inventory.inner, &zoned(inventory, catalog, &zones)?, &options))?;
    to_json(&explanation)
}

/// Which nodes to delete or replace at `now` (RFC 3339); JSON text.
#[pyfunction]
#[pyo3(signature = (inventory, catalog, now, mode = "optimize", spot_to_spot = false, disruption_weight = fleetfit::consolidate::DEFAULT_DISRUPTION_WEIGHT, compare = true, zones = None))]
#[allow(clippy::too_many_arguments)]
fn consolidate(
    py: Python<'_>,
    inventory: &Inventory,
    catalog: &Catalog,
    now: &str,
    mode: &str,
    spot_to_spot: bool,
    disruption_weight: f64,
    compare: bool,
    zones: Option<Vec<String>>,
) -> PyResult<String> {
    require(py, inventory, true)?;
    let zones = given_zones(py, zones)?;
    let options = ConsolidateOptions {
        spot_to_spot,
        disruption_weight,
        compare,
        ..ConsolidateOptions::new(parse::<ConsolidationMode>(py, "mode", mode)?, parse(py, "now", now)?)
    };
    let decided = detached(py, || {
        fleetfit::consolidate::consolidate(&inventory.inner, &zoned(inventory, catalog, &zones)?, &options)
    })?;
    to_json(&decided)
}

/// A trace of the given shape (`diurnal`, `nightly-batch`, `spike`) for the inventory's
/// workloads, as YAML text.
#[pyfunction]
#[pyo3(signature = (inventory, shape, start = "2026-12-01T00:00:00Z", days = 1))]
fn generate_trace(py: Python<'_>, inventory: &Inventory, shape: &str, start: &str, days: i64) -> PyResult<String> {
    let days = count(py, "days", days)?;
    let shape = parse_shape(py, shape)?;
    let start = parse(py, "start", start)?;
    Trace::generate(shape, &inventory.inner.workloads, start, days, fleetfit::time::Duration::from_secs(60))
        .map(|trace| trace.to_yaml())
        .map_err(|e| input_error(py, e))
}

fn parse_shape(py: Python<'_>, shape: &str) -> PyResult<Shape> {
    match shape {
        "diurnal" => Ok(Shape::Diurnal),
        "nightly-batch" => Ok(Shape::NightlyBatch),
        "spike" => Ok(Shape::Spike),
        other => Err(raise(py, "InputError", format!("shape {other:?}: expected diurnal, nightly-batch or spike"))),
    }
}

/// Replays a trace (YAML or JSON text) through provisioning and consolidation; the timeline
/// as JSON text.
#[pyfunction]
#[pyo3(signature = (inventory, catalog, trace, trace_name = "trace", mode = "optimize", consolidation = Some("optimize"), consolidation_interval = "5m", startup = "60s", zones = None))]
#[allow(clippy::too_many_arguments)]
fn simulate(
    py: Python<'_>,
    inventory: &Inventory,
    catalog: &Catalog,
    trace: &str,
    trace_name: &str,
    mode: &str,
    consolidation: Option<&str>,
    consolidation_interval: &str,
    startup: &str,
    zones: Option<Vec<String>>,
) -> PyResult<String> {
    require(py, inventory, false)?;
    let zones = given_zones(py, zones)?;
    let options = SimulateOptions {
        mode: parse(py, "mode", mode)?,
        consolidation: consolidation.map(|c| parse(py, "consolidation", c)).transpose()?,
        consolidation_interval: parse(py, "consolidation_interval", consolidation_interval)?,
        startup: parse(py, "startup", startup)?,
    };
    let timeline = detached(py, || {
        let catalog = zoned(inventory, catalog, &zones)?;
        let trace = Trace::parse(trace_name, trace)?;
        fleetfit::simulate::simulate(&inventory.inner, &catalog, &trace, &options, &mut |_, _| {})
    })?;
    to_json(&timeline)
}

/// The arrays of a sweep, one value per scenario.
type Swept<'py> = (
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i64>>,
);

/// Plans one scenario per index of the (equally long) arrays: `replicas` and `requests`
/// factors, `spot_share` (NaN: as written), `family_set` (an index into `families`, or -1:
/// as written). Returns cost per hour, lower bound per hour, nodes, spot nodes, pods and
/// unschedulable pods per scenario.
#[pyfunction]
#[pyo3(signature = (inventory, catalog, replicas, requests, spot_share, family_set, families, mode = "optimize", threads = 1, zones = None))]
#[allow(clippy::too_many_arguments)]
fn sweep<'py>(
    py: Python<'py>,
    inventory: &Inventory,
    catalog: &Catalog,
    replicas: PyReadonlyArray1<'py, f64>,
    requests: PyReadonlyArray1<'py, f64>,
    spot_share: PyReadonlyArray1<'py, f64>,
    family_set: PyReadonlyArray1<'py, i64>,
    families: Vec<Vec<String>>,
    mode: &str,
    threads: i64,
    zones: Option<Vec<String>>,
) -> PyResult<Swept<'py>> {
    let mode: Mode = parse(py, "mode", mode)?;
    let zones = given_zones(py, zones)?;
    let (replicas, requests, spot_share, family_set) =
        (replicas.as_array(), requests.as_array(), spot_share.as_array(), family_set.as_array());
    let n = replicas.len();
    for (name, len) in
        [("requests", requests.len()), ("spot_share", spot_share.len()), ("family_set", family_set.len())]
    {
        if len != n {
            return Err(raise(py, "InputError", format!("{name}: {len} values, but replicas has {n}")));
        }
    }
    let mut scenarios = Vec::with_capacity(n);
    for k in 0..n {
        let families = match family_set[k] {
            -1 => None,
            f => match usize::try_from(f).ok().and_then(|f| families.get(f)) {
                Some(set) => Some(set.clone()),
                None => {
                    return Err(raise(
                        py,
                        "InputError",
                        format!("family_set[{k}]: {f} is not -1 nor an index of the {} family sets", families.len()),
                    ))
                }
            },
        };
        let share = spot_share[k];
        scenarios.push(Scenario {
            replicas: replicas[k],
            requests: requests[k],
            spot_share: (!share.is_nan()).then_some(share),
            families,
        });
    }
    let threads = count(py, "threads", threads)?;
    // The core checks every scenario before planning any, naming it (`scenarios[3]: ...`).
    let priced = detached(py, || {
        fleetfit::whatif::sweep(&inventory.inner, &zoned(inventory, catalog, &zones)?, &scenarios, mode, threads)
    })?;
    let column = |f: &dyn Fn(&fleetfit::whatif::Priced) -> f64| priced.iter().map(f).collect::<Vec<f64>>();
    let counts = |f: &dyn Fn(&fleetfit::whatif::Priced) -> usize| {
        priced.iter().map(|p| i64::try_from(f(p)).unwrap_or(i64::MAX)).collect::<Vec<i64>>()
    };
    Ok((
        column(&|p| p.cost_per_hour).into_pyarray(py),
        column(&|p| p.lower_bound_per_hour).into_pyarray(py),
        counts(&|p| p.nodes).into_pyarray(py),
        counts(&|p| p.spot_nodes).into_pyarray(py),
        counts(&|p| p.pods).into_pyarray(py),
        counts(&|p| p.unschedulable).into_pyarray(py),
    ))
}

/// A manifest path as `(name, text)` sources: a file, or a directory searched recursively
/// for `.yaml`, `.yml` and `.json` files in name order.
#[pyfunction]
fn read_path(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Vec<(String, String)>> {
    detached(py, || fleetfit::manifest::read_path(&path))
}

/// A Kubernetes quantity (`100m`, `1.5Gi`, `2e3`) as a number of base units (cores, bytes).
#[pyfunction]
fn parse_quantity(py: Python<'_>, text: &str) -> PyResult<f64> {
    let quantity: fleetfit::Quantity =
        text.parse().map_err(|e: fleetfit::quantity::QuantityError| raise(py, "InputError", e.to_string()))?;
    Ok(quantity.nanos() as f64 / 1e9)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<Inventory>()?;
    m.add_class::<Catalog>()?;
    m.add_function(wrap_pyfunction!(plan, m)?)?;
    m.add_function(wrap_pyfunction!(explain, m)?)?;
    m.add_function(wrap_pyfunction!(consolidate, m)?)?;
    m.add_function(wrap_pyfunction!(generate_trace, m)?)?;
    m.add_function(wrap_pyfunction!(simulate, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(parse_quantity, m)?)?;
    m.add_function(wrap_pyfunction!(read_path, m)?)?;
    Ok(())
}

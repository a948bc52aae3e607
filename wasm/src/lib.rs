//! `fleetfit-wasm`: fleetfit's engine in the browser, for the what-if cost playground.
//!
//! A thin layer: each exported function takes the input (manifest texts and catalog settings,
//! or one manifest text) and a plain options object, calls the core ([`engine`]) and returns
//! a plain JS object in the JSON shape of the CLI's `-o json`. Options are read strictly
//! ([`options`]): an unknown or malformed option is an error naming it. Every failure is a
//! JS `Error` whose message is the core's, with `source` and `line` properties where the
//! input has them and `errors`, one `{message, source, line}` per error (see `fleetfit.d.ts`).
//! A panic, which would be a bug, is reported on the console by the hook installed at start.

pub mod engine;
pub mod options;

use engine::{Failure, Outcome};
use options::{CatalogArgs, ConsolidateArgs, ExplainArgs, Input, PlanArgs, SimulateArgs, SweepArgs, TraceArgs};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = include_str!("fleetfit.d.ts");

/// Installs the panic hook when the module is instantiated.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// The fleetfit version this module was built from.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// The manifests as fleetfit reads them: `{pods, workloads, daemonsets, nodes, nodepools, ...}`.
#[wasm_bindgen(unchecked_return_type = "Inventory")]
pub fn parse_manifests(
    #[wasm_bindgen(unchecked_param_type = "Input | string")] input: JsValue,
) -> Result<JsValue, JsValue> {
    answer(engine::parse(&read_input(input)?))
}

/// Places every pending pod on existing or new nodes and prices the new ones, with a lower
/// bound on what any plan could cost.
#[wasm_bindgen(unchecked_return_type = "Plan")]
pub fn plan(
    #[wasm_bindgen(unchecked_param_type = "Input | string")] input: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PlanOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let args: PlanArgs = read_options("plan options", options)?;
    answer(engine::plan(&read_input(input)?, &args))
}

/// For each workload: the NodePool × instance type candidates, the cheapest few, and why
/// every other one cannot host it.
#[wasm_bindgen(unchecked_return_type = "Explanation")]
pub fn explain(
    #[wasm_bindgen(unchecked_param_type = "Input | string")] input: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ExplainOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let args: ExplainArgs = read_options("explain options", options)?;
    answer(engine::explain(&read_input(input)?, &args))
}

/// Which nodes of a cluster snapshot to delete or replace at `options.now`.
#[wasm_bindgen(unchecked_return_type = "ConsolidationPlan")]
pub fn consolidate(
    #[wasm_bindgen(unchecked_param_type = "Input | string")] input: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ConsolidateOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let args: ConsolidateArgs = read_required("consolidate options", options)?;
    answer(engine::consolidate(&read_input(input)?, &args))
}

/// Replays a trace (or a generated one) through provisioning and consolidation.
#[wasm_bindgen(unchecked_return_type = "Timeline")]
pub fn simulate(
    #[wasm_bindgen(unchecked_param_type = "Input | string")] input: JsValue,
    #[wasm_bindgen(unchecked_param_type = "SimulateOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let args: SimulateArgs = read_required("simulate options", options)?;
    answer(engine::simulate(&read_input(input)?, &args))
}

/// A trace of a shape for the input's workloads, as YAML text.
#[wasm_bindgen(unchecked_return_type = "string")]
pub fn generate_trace(
    #[wasm_bindgen(unchecked_param_type = "Input | string")] input: JsValue,
    #[wasm_bindgen(unchecked_param_type = "TraceOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let args: TraceArgs = read_required("trace options", options)?;
    answer(engine::generate_trace(&read_input(input)?, &args))
}

/// Plans each what-if scenario, in order: cost, bound and node counts per scenario.
#[wasm_bindgen(unchecked_return_type = "Priced[]")]
pub fn sweep(
    #[wasm_bindgen(unchecked_param_type = "Input | string")] input: JsValue,
    #[wasm_bindgen(unchecked_param_type = "SweepOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let args: SweepArgs = read_required("sweep options", options)?;
    answer(engine::sweep(&read_input(input)?, &args))
}

/// The AWS regions of the embedded catalog.
#[wasm_bindgen(unchecked_return_type = "string[]")]
pub fn regions() -> Result<JsValue, JsValue> {
    to_js(&fleetfit::Catalog::regions())
}

/// A catalog's region, currency, zones and notes on where its prices come from.
#[wasm_bindgen(unchecked_return_type = "CatalogInfo")]
pub fn catalog(#[wasm_bindgen(unchecked_param_type = "CatalogOptions")] options: JsValue) -> Result<JsValue, JsValue> {
    let args: CatalogArgs = read_options("catalog options", options)?;
    answer(engine::catalog(&args))
}

/// The NodePool plans use when the input has none, as a manifest, and the note saying so.
#[wasm_bindgen(unchecked_return_type = "DefaultNodePool")]
pub fn default_nodepool() -> Result<JsValue, JsValue> {
    to_js(&engine::default_nodepool())
}

/// The input: one manifest text (named `input` in errors), or an [`Input`] object.
fn read_input(value: JsValue) -> Result<Input, JsValue> {
    match value.as_string() {
        Some(text) => Ok(Input::text(&text)),
        None => read_required("input", value),
    }
}

/// Options that may be left out (`undefined` or `null`: every option at its default).
fn read_options<T: DeserializeOwned + Default>(what: &str, value: JsValue) -> Result<T, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    read_required(what, value)
}

/// A plain JS object read strictly (see [`options::read`]). It goes through JSON's data model
/// first: reading a struct straight from a JS object would only look up the names it knows,
/// and never see a misspelt one.
fn read_required<T: DeserializeOwned>(what: &str, value: JsValue) -> Result<T, JsValue> {
    let plain: serde_json::Value = serde_wasm_bindgen::from_value(value)
        .map_err(|e| js_sys::Error::new(&format!("{what}: expected a plain object: {e}")))?;
    options::read(what, plain).map_err(|message| js_sys::Error::new(&message).into())
}

/// A call's answer as a plain JS value, or its failure as a JS `Error`.
fn answer<T: Serialize>(outcome: Outcome<T>) -> Result<JsValue, JsValue> {
    match outcome {
        Ok(value) => to_js(&value),
        Err(failure) => Err(js_failure(&failure)),
    }
}

/// The one way failures leave this crate: an `Error` with the core's message, `errors` (each
/// error with its `source` and `line`) and, from the first error placed, `source` and `line`.
fn js_failure(failure: &Failure) -> JsValue {
    let error = js_sys::Error::new(&failure.error.to_string());
    let problems = failure.problems();
    let set = |key: &str, value: JsValue| {
        // Setting a property of a fresh Error cannot fail.
        let _ = js_sys::Reflect::set(&error, &JsValue::from_str(key), &value);
    };
    if let Some(location) = problems.iter().find_map(|p| p.location.as_ref()) {
        set("source", JsValue::from_str(&location.source));
        set("line", JsValue::from_f64(location.line as f64));
    }
    if let Ok(list) = to_js(&problems) {
        set("errors", list);
    }
    error.into()
}

/// A Rust value as a plain JS value: objects (not `Map`s) for maps, numbers for integers, so
/// the result looks exactly like the JSON the CLI prints.
fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_sys::Error::new(&format!("fleetfit bug: cannot convert a result: {e}")).into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_is_the_crate_version() {
        assert_eq!(super::version(), env!("CARGO_PKG_VERSION"));
    }
}

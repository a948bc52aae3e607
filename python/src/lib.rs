//! `fleetfit._native`: the extension module behind the `fleetfit` Python package.
//!
//! A translation layer only: arguments come in as Python objects, the core does the work with
//! the GIL released, results go back as JSON text that the pure-Python layer
//! (`python/fleetfit/__init__.py`) turns into dicts and lists. Core errors become
//! [`InputError`], a `ValueError` whose message names the object and field at fault.

use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

create_exception!(
    fleetfit,
    InputError,
    PyValueError,
    "The input cannot be used: the message names the object and field at fault."
);

/// Turns a core error into a Python exception. Every core error is about the caller's input
/// (a manifest, a catalog, an argument), so each one is an `InputError`.
fn input_error(err: fleetfit::Error) -> PyErr {
    InputError::new_err(err.to_string())
}

/// Parses Kubernetes YAML or JSON (one or many documents, `kind: List`, `kubectl get -o json`
/// output) into fleetfit's inventory, returned as JSON text.
#[pyfunction]
#[pyo3(signature = (text, source_name = "<string>"))]
fn parse_manifests_json(py: Python<'_>, text: &str, source_name: &str) -> PyResult<String> {
    py.detach(|| {
        let inventory = fleetfit::manifest::parse(source_name, text).map_err(input_error)?;
        to_json(&inventory)
    })
}

/// JSON text of a core result. The core's output types serialise infallibly in practice, so a
/// failure here is a bug in fleetfit, not in the caller's input.
fn to_json<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value)
        .map_err(|e| PyRuntimeError::new_err(format!("fleetfit bug: cannot serialise a result: {e}")))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("InputError", m.py().get_type::<InputError>())?;
    m.add_function(wrap_pyfunction!(parse_manifests_json, m)?)?;
    Ok(())
}

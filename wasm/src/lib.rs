//! `fleetfit-wasm`: fleetfit's engine in the browser, for the what-if cost playground.
//!
//! A thin layer: each exported function takes text or plain JS values, calls the core and
//! returns plain JS objects (via `serde-wasm-bindgen`, in the same JSON shape as the CLI and
//! the Python package). Core errors become JS `Error`s through [`js_error`]; a panic, which
//! would be a bug, is reported on the browser console by the hook installed at start.

use serde::Serialize;
use wasm_bindgen::prelude::*;

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

/// Parses Kubernetes YAML or JSON (one or many documents, `kind: List`, `kubectl get -o json`
/// output) into fleetfit's inventory: `{pods, workloads, daemonsets, nodes, nodepools, ...}`.
/// Throws an `Error` whose message names the object and field at fault.
#[wasm_bindgen]
pub fn parse_manifests(text: &str) -> Result<JsValue, JsError> {
    let inventory = parse(text).map_err(js_error)?;
    to_js(&inventory)
}

/// The name input text goes by in error messages.
const SOURCE_NAME: &str = "input";

fn parse(text: &str) -> fleetfit::Result<fleetfit::Inventory> {
    fleetfit::manifest::parse(SOURCE_NAME, text)
}

/// The one way errors leave this crate: a JS `Error` carrying the message.
fn js_error(err: impl std::fmt::Display) -> JsError {
    JsError::new(&err.to_string())
}

/// A Rust value as a plain JS value: objects (not `Map`s) for maps, numbers for integers, so
/// the result looks exactly like the JSON the CLI prints.
fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(js_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx
          resources: {requests: {cpu: 250m, memory: 512Mi}}
";

    #[test]
    fn a_deployment_becomes_one_pod_per_replica() {
        let inventory = parse(DEPLOYMENT).expect("valid manifest");
        assert_eq!(inventory.pods.len(), 2);
        let json = serde_json::to_value(&inventory.pods[0]).expect("serialisable");
        assert_eq!(json["requests"]["cpu"], "250m");
    }

    #[test]
    fn errors_name_the_object_and_field() {
        let err = parse(&DEPLOYMENT.replace("cpu: 250m", "cpu: 1.5x")).expect_err("bad quantity");
        let message = err.to_string();
        assert!(message.contains("Deployment shop/web"), "{message}");
        assert!(message.contains("spec.template.spec.containers[0].resources.requests.cpu"), "{message}");
    }

    #[test]
    fn version_is_the_crate_version() {
        assert_eq!(version(), env!("CARGO_PKG_VERSION"));
    }
}

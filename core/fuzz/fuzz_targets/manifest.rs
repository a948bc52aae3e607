//! Any bytes parsed as Kubernetes manifests, strictly and with unknown fields as warnings: an
//! inventory or an error, never a panic; an inventory's NodePools are then checked against the
//! catalog (requirement values, patterns), which must not panic either.
#![no_main]

use fleetfit::manifest::{parse_sources_with, ParseOptions, Validation};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn catalog() -> &'static fleetfit::Catalog {
    static CATALOG: OnceLock<fleetfit::Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| fleetfit::Catalog::aws("us-east-1").expect("embedded catalog"))
}

fuzz_target!(|data: &[u8]| {
    let sources = [("fuzz.yaml".to_string(), String::from_utf8_lossy(data).into_owned())];
    for validation in [Validation::Strict, Validation::Warn] {
        let options = ParseOptions { validation, ..ParseOptions::default() };
        if let Ok(inventory) = parse_sources_with(&sources, &options) {
            if !inventory.nodepools.is_empty() {
                let _ = fleetfit::filter::FilterContext::new(&inventory.nodepools, &inventory.nodeclasses, &[], catalog());
            }
        }
    }
});

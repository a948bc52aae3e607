//! Rough timings of the catalog, printed (run with `--release -- --nocapture`); never fails on
//! speed.

use fleetfit::catalog::Catalog;
use fleetfit::model::NodeClass;
use std::time::{Duration, Instant};

/// The fastest of `runs` calls, not counting the time to drop the result.
fn best_of<T>(runs: u32, mut f: impl FnMut() -> T) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            let out = std::hint::black_box(f());
            let elapsed = start.elapsed();
            drop(out);
            elapsed
        })
        .min()
        .unwrap_or_default()
}

#[test]
fn print_catalog_timings() {
    let first = Instant::now();
    let catalog = Catalog::aws("us-east-1").unwrap();
    let first = first.elapsed();
    let nc = NodeClass::default();
    let build = best_of(20, || Catalog::aws("eu-west-1").unwrap());
    let sized = best_of(10, || catalog.instance_types(&nc));
    let both = best_of(10, || Catalog::aws("us-west-2").unwrap().instance_types(&nc));
    let drop_time = (0..10)
        .map(|_| {
            let types = catalog.instance_types(&nc);
            let start = Instant::now();
            drop(types);
            start.elapsed()
        })
        .min()
        .unwrap_or_default();
    println!(
        "catalog: first use (parse embedded tables + us-east-1) {first:?}; Catalog::aws {build:?}; \
         instance_types ({} types) {sized:?}; aws + instance_types {both:?}; dropping them {drop_time:?}",
        catalog.len()
    );
}

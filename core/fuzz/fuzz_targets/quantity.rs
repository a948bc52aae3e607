//! Any string parsed as a Kubernetes quantity: no panic, and a parsed quantity's canonical
//! text parses back to the same value.
#![no_main]

use fleetfit::Quantity;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(quantity) = text.parse::<Quantity>() {
        let canonical = quantity.to_string();
        match canonical.parse::<Quantity>() {
            Ok(again) => assert_eq!(again, quantity, "{text:?} printed as {canonical:?}"),
            Err(e) => panic!("{text:?} printed as {canonical:?}, which does not parse: {e}"),
        }
    }
});

//! The examples in `core/docs/catalog.md` parse and mean what the page says.

use fleetfit::catalog::{CapacityType, Catalog, PriceAdjustments};
use fleetfit::model::NodeClass;
use fleetfit::resources::Bytes;

const DOC: &str = include_str!("../docs/catalog.md");

/// The fenced block after `<!-- example: NAME -->`.
fn example(name: &str) -> &'static str {
    let marker = format!("<!-- example: {name} -->");
    let start = DOC.find(&marker).unwrap_or_else(|| panic!("no example {name}")) + marker.len();
    let rest = &DOC[start..];
    let body = &rest[rest.find('\n').unwrap() + 1..];
    let body = &body[body.find('\n').unwrap() + 1..];
    &body[..body.find("```").unwrap()]
}

#[test]
fn json_catalog_example() {
    let c = Catalog::from_json("example.json", example("catalog-json")).unwrap();
    assert_eq!((c.region(), c.currency(), c.len()), ("fsn1", "EUR", 2));
    let nc = NodeClass::default();
    let cx = c.instance_type("cx32", &nc).unwrap();
    assert_eq!(cx.offerings.len(), 2);
    assert_eq!(cx.allocatable.cpu.0, 3920);
    assert_eq!(cx.allocatable.ephemeral_storage, Bytes::gib(71));
    let gpu = c.instance_type("gpu.a100", &nc).unwrap();
    assert_eq!(gpu.allocatable.memory, Bytes::gib(240));
    assert_eq!(gpu.allocatable.get("nvidia.com/gpu"), 4);
    assert!(!gpu.offerings.iter().find(|o| o.capacity_type == CapacityType::Spot).unwrap().available);
}

#[test]
fn csv_catalog_example() {
    let c = Catalog::from_csv("example.csv", example("catalog-csv")).unwrap();
    assert_eq!(c.region(), "eu-west-1");
    let nc = NodeClass::default();
    let m5 = c.instance_type("m5.large", &nc).unwrap();
    assert_eq!((m5.allocatable.cpu.0, m5.allocatable.memory, m5.allocatable.pods), (1930, Bytes::mib(6903), 29));
    assert_eq!(m5.offerings.len(), 4);
    assert_eq!(c.instance_type("c6g.large", &nc).unwrap().offerings.len(), 3);
    let metal = c.instance_type("m7i.metal-24xl", &nc).unwrap();
    assert_eq!(metal.allocatable.pods, 737);
}

#[test]
fn price_examples() {
    let json = PriceAdjustments::parse("prices.json", example("prices-json")).unwrap();
    assert_eq!(json.overrides.len(), 4);
    let yaml = PriceAdjustments::parse("prices.yaml", example("prices-yaml")).unwrap();
    assert_eq!(yaml.on_demand_discount_percent, 28.0);
    let c = Catalog::aws("us-east-1").unwrap().with_prices(&json);
    let p5e = c.instance_type("p5e.48xlarge", &NodeClass::default()).unwrap();
    assert_eq!(p5e.offerings.len(), 12);
}

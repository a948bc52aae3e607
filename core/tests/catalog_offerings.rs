//! Regions, zones, prices and offerings of the embedded catalog, and price adjustments.

use fleetfit::catalog::{CapacityType, Catalog, InstanceType, PriceAdjustments};
use fleetfit::model::NodeClass;
use fleetfit::requirements::Operator;

fn price(t: &InstanceType, ct: CapacityType) -> Option<f64> {
    t.offerings.iter().find(|o| o.capacity_type == ct).map(|o| o.price)
}

fn values<'a>(t: &'a InstanceType, key: &str) -> Vec<&'a str> {
    t.requirements.get(key).unwrap().values().collect()
}

#[test]
fn regions_are_the_priced_ones_without_local_zone_groups() {
    let regions = Catalog::regions();
    assert_eq!(regions.len(), 37, "{regions:?}");
    assert!(regions.windows(2).all(|w| w[0] < w[1]));
    for r in ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-7", "cn-north-1", "us-gov-east-1", "us-gov-west-1"] {
        assert!(regions.contains(&r), "{r}");
    }
    assert!(!regions.iter().any(|r| r.ends_with("-atl-1") || r.ends_with("-lax-1")));
    for r in regions {
        let c = Catalog::aws(r).unwrap();
        assert_eq!(c.len(), 1382, "{r}");
        assert!(!c.zones().is_empty());
    }
}

#[test]
fn us_east_1_offers_every_priced_type_in_six_zones() {
    let catalog = Catalog::aws("us-east-1").unwrap();
    assert_eq!(catalog.region(), "us-east-1");
    assert_eq!(catalog.zones(), ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"]);
    let nc = NodeClass::default();
    let m5 = catalog.instance_type("m5.large", &nc).unwrap();
    assert_eq!(m5.offerings.len(), 12);
    assert_eq!(price(&m5, CapacityType::OnDemand), Some(0.096));
    assert_eq!(price(&m5, CapacityType::Spot), Some(0.0321));
    assert_eq!(values(&m5, "topology.kubernetes.io/zone").len(), 6);
    assert_eq!(values(&m5, "karpenter.sh/capacity-type"), ["on-demand", "spot"]);
    assert_eq!(values(&m5, "topology.kubernetes.io/region"), ["us-east-1"]);
    let t3 = catalog.instance_type("t3.large", &nc).unwrap();
    assert_eq!((price(&t3, CapacityType::OnDemand), price(&t3, CapacityType::Spot)), (Some(0.0832), Some(0.0374)));
    let p3 = catalog.instance_type("p3.2xlarge", &nc).unwrap();
    assert_eq!(price(&p3, CapacityType::OnDemand), Some(3.06));
    assert!(catalog.notes().iter().any(|n| n.contains("2026-01-19")));
}

#[test]
fn unpriced_types_are_listed_without_offerings() {
    let catalog = Catalog::aws("us-east-1").unwrap();
    let dl2q = catalog.instance_type("dl2q.24xlarge", &NodeClass::default()).unwrap();
    assert!(dl2q.offerings.is_empty());
    assert!(dl2q.cheapest_offering().is_none());
    for key in ["topology.kubernetes.io/zone", "karpenter.sh/capacity-type"] {
        assert_eq!(dl2q.requirements.get(key).unwrap().operator(), Operator::DoesNotExist);
    }
    assert!(catalog.notes().iter().any(|n| n.contains("have no price in us-east-1")));
}

#[test]
fn regions_without_a_table_use_us_east_1_on_demand_prices() {
    let eu = Catalog::aws("eu-west-1").unwrap();
    assert_eq!(eu.currency(), "USD");
    assert_eq!(eu.zones().len(), 3);
    assert!(eu.notes().contains(
        &"no on-demand price table for eu-west-1; on-demand prices are us-east-1's (as Karpenter falls back to)"
            .to_string()
    ));
    let m5 = eu.instance_type("m5.large", &NodeClass::default()).unwrap();
    assert_eq!(price(&m5, CapacityType::OnDemand), Some(0.096));
    assert_eq!(price(&m5, CapacityType::Spot), Some(0.0618));
    assert_eq!(m5.offerings.len(), 6);
    assert!(m5.offerings.iter().all(|o| o.zone.starts_with("eu-west-1")));
}

#[test]
fn spot_pricier_than_on_demand_is_kept() {
    // Karpenter drops such spot offerings at launch time; the catalog keeps both.
    let af = Catalog::aws("af-south-1").unwrap();
    let r5 = af.instance_type("r5.2xlarge", &NodeClass::default()).unwrap();
    assert_eq!(price(&r5, CapacityType::Spot), Some(0.5375));
    assert_eq!(price(&r5, CapacityType::OnDemand), Some(0.504));
}

#[test]
fn china_is_priced_in_cny_and_govcloud_has_its_own_table() {
    let cn = Catalog::aws("cn-north-1").unwrap();
    assert_eq!(cn.currency(), "CNY");
    let m5 = cn.instance_type("m5.large", &NodeClass::default()).unwrap();
    assert_eq!(price(&m5, CapacityType::OnDemand), Some(1.013));
    assert_eq!(price(&m5, CapacityType::Spot), None);
    assert_eq!(values(&m5, "karpenter.sh/capacity-type"), ["on-demand"]);

    let gov = Catalog::aws("us-gov-west-1").unwrap();
    assert_eq!(gov.currency(), "USD");
    let m5 = gov.instance_type("m5.large", &NodeClass::default()).unwrap();
    assert_eq!(price(&m5, CapacityType::OnDemand), Some(0.121));
    assert_eq!(price(&m5, CapacityType::Spot), None);
}

#[test]
fn unknown_regions_are_usage_errors() {
    match Catalog::aws("us-east-1-atl-1") {
        Err(fleetfit::Error::Usage(m)) => assert!(m.contains("known regions: af-south-1"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn savings_plan_discount_and_overrides() {
    let adjustments = PriceAdjustments::parse(
        "prices.yaml",
        "onDemandDiscountPercent: 28\n\
         spotDiscountPercent: 0\n\
         overrides:\n\
         - instanceType: m5.large\n  onDemand: 0.05\n\
         - family: c7g\n  discountPercent: 40\n\
         - instanceType: hpc7a.12xlarge\n  onDemand: 7.2\n",
    )
    .unwrap();
    let base = Catalog::aws("us-east-1").unwrap();
    let adjusted = base.clone().with_prices(&adjustments);
    let nc = NodeClass::default();
    let get = |c: &Catalog, n: &str| c.instance_type(n, &nc).unwrap();

    assert_eq!(price(&get(&adjusted, "m5.large"), CapacityType::OnDemand), Some(0.05));
    assert_eq!(price(&get(&adjusted, "m5.large"), CapacityType::Spot), Some(0.0321));
    let r5 = price(&get(&adjusted, "r5.large"), CapacityType::OnDemand).unwrap();
    assert!((r5 - price(&get(&base, "r5.large"), CapacityType::OnDemand).unwrap() * 0.72).abs() < 1e-12);
    let c7g = price(&get(&adjusted, "c7g.xlarge"), CapacityType::Spot).unwrap();
    assert!((c7g - price(&get(&base, "c7g.xlarge"), CapacityType::Spot).unwrap() * 0.6).abs() < 1e-12);
    // A fixed price gives an unpriced type on-demand offerings in every zone.
    let hpc = get(&adjusted, "hpc7a.12xlarge");
    assert_eq!(hpc.offerings.len(), 6);
    assert_eq!(values(&hpc, "karpenter.sh/capacity-type"), ["on-demand"]);
    assert!(adjusted.notes().iter().any(|n| n.starts_with("prices adjusted: on-demand −28%")));
    // The original is untouched.
    assert_eq!(price(&get(&base, "m5.large"), CapacityType::OnDemand), Some(0.096));
}

#[test]
fn invalid_adjustments_built_in_code_are_ignored_with_a_note() {
    let adjustments = PriceAdjustments { on_demand_discount_percent: 150.0, ..PriceAdjustments::default() };
    let c = Catalog::aws("us-east-1").unwrap().with_prices(&adjustments);
    assert!(c.notes().iter().any(|n| n.starts_with("price adjustments ignored: onDemandDiscountPercent")));
    let m5 = c.instance_type("m5.large", &NodeClass::default()).unwrap();
    assert_eq!(price(&m5, CapacityType::OnDemand), Some(0.096));
}

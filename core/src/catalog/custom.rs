//! User-supplied catalogs: another cloud's instance types, on-premises machines, or AWS types
//! with negotiated prices. JSON describes types as the kubelet sees them (capacity, optional
//! allocatable); CSV uses the column layout of the embedded `ec2-instance-types.csv` and the
//! same AWS math. Formats with examples: `core/docs/catalog.md`.

use super::capacity::CapacitySettings;
use super::csv::{catalog_error, Table};
use super::rows::{parse_rows, Fields, TYPE_COLUMNS};
use super::spec::{aws_label_slot, derive_name_labels, slot, Pods, Shape, TableBuilder, TypeSpec, AWS_LABELS, NONE};
use super::{zones, CapacityType, Catalog, Entry, Offer, Offers};
use crate::error::Error;
use crate::labels;
use crate::quantity::Quantity;
use crate::resources::{self, Bytes, Resources};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const DEFAULT_REGION: &str = "custom";
const DEFAULT_CURRENCY: &str = "USD";

/// Columns a CSV catalog may have besides [`TYPE_COLUMNS`].
const EXTRA_COLUMNS: [&str; 7] =
    ["region", "currency", "zones", "on_demand_price", "spot_price", "default_card_max_enis", "ipv4_per_eni"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CatalogDoc {
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    zones: Option<Vec<String>>,
    instance_types: Vec<TypeDoc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TypeDoc {
    name: String,
    #[serde(default)]
    arch: Option<String>,
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, serde_json::Value>,
    capacity: BTreeMap<String, Quantity>,
    #[serde(default)]
    allocatable: Option<BTreeMap<String, Quantity>>,
    #[serde(default)]
    offerings: Option<Vec<OfferingDoc>>,
    #[serde(default)]
    prices: Option<PricesDoc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OfferingDoc {
    zone: String,
    capacity_type: CapacityType,
    price: f64,
    #[serde(default = "yes")]
    available: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PricesDoc {
    #[serde(default)]
    on_demand: Option<f64>,
    #[serde(default)]
    spot: Option<f64>,
}

/// A type's offerings before zones are numbered.
enum PendingOffers {
    /// In every default zone.
    Everywhere {
        on_demand: Option<f64>,
        spot: Option<f64>,
    },
    Listed(Vec<(String, CapacityType, f64, bool)>),
}

pub(super) fn from_json(source: &str, text: &str) -> Result<Catalog, Error> {
    let doc: CatalogDoc = serde_json::from_str(text).map_err(|e| catalog_error(source, e.to_string()))?;
    let region = non_empty(doc.region, DEFAULT_REGION);
    let currency = non_empty(doc.currency, DEFAULT_CURRENCY);
    let default_zones = match doc.zones {
        Some(z) => {
            check_zones(&z).map_err(|m| catalog_error(source, format!("zones: {m}")))?;
            z
        }
        None => default_zones(&region),
    };
    let mut builder = TableBuilder::default();
    let mut pending = Vec::with_capacity(doc.instance_types.len());
    let mut errors = Vec::new();
    for (i, t) in doc.instance_types.into_iter().enumerate() {
        let at = format!("instanceTypes[{i}] ({})", t.name);
        match json_type(&mut builder, t) {
            Ok(p) => pending.push(p),
            Err(m) => errors.push(catalog_error(source, format!("{at}: {m}"))),
        }
    }
    Error::collect(errors)?;
    assemble(source, builder, pending, region, currency, default_zones)
}

fn json_type(builder: &mut TableBuilder, t: TypeDoc) -> Result<(TypeSpec, PendingOffers), String> {
    let name = t.name.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(format!("name: {:?} must be non-empty without whitespace", t.name));
    }
    let name = builder.intern_owned(name);
    let arch = builder.intern_owned(t.arch.as_deref().unwrap_or("amd64"));
    let os = builder.intern_owned(t.os.as_deref().unwrap_or("linux"));

    let mut labels = [NONE; AWS_LABELS.len()];
    let mut extra = Vec::new();
    for (key, value) in &t.labels {
        let value = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            other => return Err(format!("labels.{key}: expected a string, number or boolean, got {other}")),
        };
        let key = labels::normalize(key);
        if key.is_empty() {
            return Err("labels: empty key".into());
        }
        if [labels::INSTANCE_TYPE, labels::ARCH, labels::OS, labels::REGION, labels::ZONE, labels::CAPACITY_TYPE]
            .contains(&key)
            || key == labels::WINDOWS_BUILD
            || key == labels::NODEPOOL
            || key == labels::HOSTNAME
        {
            return Err(format!(
                "labels.{key}: set by the catalog (use name, arch, os, offerings; the region and zones come from the catalog)"
            ));
        }
        let v = builder.intern_owned(&value);
        match aws_label_slot(key) {
            Some(s) => labels[s] = v,
            None => extra.push((builder.intern_owned(key), v)),
        }
    }
    extra.sort_by(|a, b| builder.str(a.0).cmp(builder.str(b.0)));

    let capacity_given = resource_list("capacity", &t.capacity)?;
    if capacity_given.cpu.0 <= 0 {
        return Err("capacity.cpu: required and positive".into());
    }
    if capacity_given.memory.0 <= 0 {
        return Err("capacity.memory: required and positive".into());
    }
    let pods_given = t.capacity.contains_key(resources::PODS);
    let ephemeral_given = t.capacity.contains_key(resources::EPHEMERAL_STORAGE);
    let pods = if pods_given {
        u32::try_from(capacity_given.pods).map_err(|_| "capacity.pods: out of range".to_string())?
    } else {
        110
    };
    let mut capacity = capacity_given;
    capacity.pods = pods as i64;
    if !ephemeral_given {
        capacity.ephemeral_storage = Bytes::gib(20);
    }
    if labels[slot::CPU] == NONE && capacity.cpu.0 % 1000 == 0 {
        labels[slot::CPU] = builder.intern_owned(&(capacity.cpu.0 / 1000).to_string());
    }
    if labels[slot::MEMORY] == NONE {
        labels[slot::MEMORY] = builder.intern_owned(&(capacity.memory.0 / Bytes::MI).to_string());
    }
    let allocatable = match &t.allocatable {
        None => None,
        Some(list) => {
            let given = resource_list("allocatable", list)?;
            // Resources left out of allocatable are all allocatable.
            let mut allocatable = capacity.clone();
            for name in list.keys() {
                let amount = given.get(name);
                if amount > capacity.get(name) {
                    return Err(format!(
                        "allocatable.{name}: {} is more than capacity {}",
                        given.quantity(name),
                        capacity.quantity(name)
                    ));
                }
                let _ = allocatable.set(name, given.quantity(name));
            }
            Some(Box::new(allocatable))
        }
    };
    let extended: Vec<(u32, i64)> = capacity.extended.iter().map(|(k, v)| (builder.intern_owned(k), *v)).collect();

    let offers = match (t.offerings, t.prices) {
        (Some(_), Some(_)) => return Err("give either offerings or prices, not both".into()),
        (Some(list), None) => {
            let mut seen = BTreeSet::new();
            let mut out = Vec::with_capacity(list.len());
            for (j, o) in list.into_iter().enumerate() {
                if o.zone.trim().is_empty() {
                    return Err(format!("offerings[{j}].zone: empty"));
                }
                check_price(o.price).map_err(|m| format!("offerings[{j}].price: {m}"))?;
                if !seen.insert((o.zone.clone(), o.capacity_type)) {
                    return Err(format!("offerings[{j}]: a second {} offering in {}", o.capacity_type, o.zone));
                }
                out.push((o.zone, o.capacity_type, o.price, o.available));
            }
            PendingOffers::Listed(out)
        }
        (None, Some(p)) => {
            for (field, price) in [("prices.onDemand", p.on_demand), ("prices.spot", p.spot)] {
                if let Some(price) = price {
                    check_price(price).map_err(|m| format!("{field}: {m}"))?;
                }
            }
            PendingOffers::Everywhere { on_demand: p.on_demand, spot: p.spot }
        }
        (None, None) => PendingOffers::Everywhere { on_demand: None, spot: None },
    };

    let mut spec = TypeSpec {
        name,
        arch,
        os,
        labels,
        extra_labels: extra.into_boxed_slice(),
        shape: Shape::Given { capacity: Box::new(capacity), pods: Pods::Fixed(pods), ephemeral_given, allocatable },
        extended: extended.into_boxed_slice(),
    };
    derive_name_labels(builder, &mut spec);
    Ok((spec, offers))
}

fn resource_list(field: &str, list: &BTreeMap<String, Quantity>) -> Result<Resources, String> {
    let mut out = Resources::default();
    for (name, q) in list {
        if q.is_negative() {
            return Err(format!("{field}.{name}: negative quantity {q}"));
        }
        out.set(name, *q).map_err(|e| format!("{field}.{name}: {e}"))?;
    }
    Ok(out)
}

pub(super) fn from_csv(source: &str, text: &str) -> Result<Catalog, Error> {
    let table = Table::parse(source, text)?;
    for column in &table.header {
        if !TYPE_COLUMNS.contains(&column.as_ref()) && !EXTRA_COLUMNS.contains(&column.as_ref()) {
            return Err(catalog_error(
                source,
                format!(
                    "line 1: unknown column {column:?}; expected the columns of ec2-instance-types.csv or {}",
                    EXTRA_COLUMNS.join(", ")
                ),
            ));
        }
    }
    let mut builder = TableBuilder::default();
    let keep = |c: &Cow<'_, str>| Cow::Owned(c.to_string());
    let parsed = parse_rows(source, &table, &mut builder, &keep)?;

    let mut region: Option<(String, usize)> = None;
    let mut currency: Option<(String, usize)> = None;
    let mut pending = Vec::with_capacity(parsed.len());
    for (mut row, raw) in parsed.into_iter().zip(&table.rows) {
        let f = Fields { source, table: &table, row: raw };
        for (column, slot) in [("region", &mut region), ("currency", &mut currency)] {
            if let Some(value) = f.text(column) {
                match slot {
                    None => *slot = Some((value.to_string(), row.line)),
                    Some((first, line)) if first != value => {
                        return Err(f.error(column, format_args!("{value:?} differs from {first:?} on line {line}")))
                    }
                    Some(_) => {}
                }
            }
        }
        let enis = f.integer("default_card_max_enis")?;
        let ipv4 = f.integer("ipv4_per_eni")?;
        let pods = match (enis, ipv4) {
            (Some(enis), Some(ipv4)) => Pods::Eni {
                enis: u32::try_from(enis).map_err(|_| f.error("default_card_max_enis", "too large"))?,
                ipv4_per_eni: u32::try_from(ipv4).map_err(|_| f.error("ipv4_per_eni", "too large"))?,
            },
            (None, None) => Pods::Fixed(row.pods_column.unwrap_or(110)),
            (Some(_), None) => return Err(f.error("ipv4_per_eni", "required with default_card_max_enis")),
            (None, Some(_)) => return Err(f.error("default_card_max_enis", "required with ipv4_per_eni")),
        };
        if let Shape::Aws { pods: p, .. } = &mut row.spec.shape {
            *p = pods;
        }
        let on_demand = f.price("on_demand_price")?;
        let spot = f.price("spot_price")?;
        let offers = match f.text("zones") {
            None => PendingOffers::Everywhere { on_demand, spot },
            Some(list) => {
                let zones: Vec<String> = list.split(';').map(|z| z.trim().to_string()).collect();
                check_zones(&zones).map_err(|m| f.error("zones", m))?;
                let mut out = Vec::new();
                for zone in zones {
                    for (ct, price) in [(CapacityType::OnDemand, on_demand), (CapacityType::Spot, spot)] {
                        if let Some(price) = price {
                            out.push((zone.clone(), ct, price, true));
                        }
                    }
                }
                PendingOffers::Listed(out)
            }
        };
        pending.push((row.spec, offers));
    }
    let region = region.map(|r| r.0).unwrap_or_else(|| DEFAULT_REGION.to_string());
    let currency = currency.map(|c| c.0).unwrap_or_else(|| DEFAULT_CURRENCY.to_string());
    let zones = default_zones(&region);
    assemble(source, builder, pending, region, currency, zones)
}

/// Numbers zones, sorts types by name and builds the catalog.
fn assemble(
    source: &str,
    mut builder: TableBuilder,
    pending: Vec<(TypeSpec, PendingOffers)>,
    region: String,
    currency: String,
    default_zones: Vec<String>,
) -> Result<Catalog, Error> {
    let mut all_zones: BTreeSet<String> = default_zones.iter().cloned().collect();
    for (_, offers) in &pending {
        if let PendingOffers::Listed(list) = offers {
            all_zones.extend(list.iter().map(|o| o.0.clone()));
        }
    }
    let zones: Vec<String> = all_zones.into_iter().collect();
    let zone_index = |z: &str| zones.binary_search_by(|x| x.as_str().cmp(z)).unwrap_or(0) as u32;
    let default_idx: Vec<u32> = default_zones.iter().map(|z| zone_index(z)).collect();

    let mut offers_by_name = BTreeMap::new();
    for (spec, offers) in pending {
        let offers = match offers {
            PendingOffers::Everywhere { on_demand, spot } => {
                let mut out = Vec::new();
                for &zone in &default_idx {
                    for (ct, price) in [(CapacityType::Spot, spot), (CapacityType::OnDemand, on_demand)] {
                        if let Some(price) = price {
                            out.push(Offer { zone, capacity_type: ct, price, available: true });
                        }
                    }
                }
                out
            }
            PendingOffers::Listed(list) => list
                .into_iter()
                .map(|(z, capacity_type, price, available)| Offer {
                    zone: zone_index(&z),
                    capacity_type,
                    price,
                    available,
                })
                .collect(),
        };
        let name = builder.str(spec.name).to_string();
        if offers_by_name.insert(name.clone(), offers).is_some() {
            return Err(catalog_error(source, format!("instance type {name} is defined twice")));
        }
        builder.push(spec);
    }
    let table =
        builder.finish().map_err(|dup| catalog_error(source, format!("instance type {dup} is defined twice")))?;
    let entries: Vec<Entry> = table
        .types
        .iter()
        .enumerate()
        .map(|(i, spec)| Entry {
            spec: i as u32,
            offers: Offers::Explicit(offers_by_name.remove(table.name(spec)).unwrap_or_default()),
        })
        .collect();
    let unpriced = entries.iter().filter(|e| matches!(&e.offers, Offers::Explicit(o) if o.is_empty())).count();
    let mut notes = Vec::new();
    if unpriced > 0 {
        notes.push(format!("{unpriced} instance types in {source} have no offerings"));
    }
    Ok(Catalog {
        source: source.to_string(),
        region,
        currency,
        zones,
        zone_choice: None,
        notes,
        settings: CapacitySettings::default(),
        table: Arc::new(table),
        sized: Default::default(),
        entries,
    })
}

fn non_empty(value: Option<String>, default: &str) -> String {
    value.filter(|v| !v.trim().is_empty()).unwrap_or_else(|| default.to_string())
}

/// The zones of a known AWS region, else `<region>-a`.
fn default_zones(region: &str) -> Vec<String> {
    if zones::is_listed(region) {
        zones::zones(region)
    } else {
        vec![format!("{region}-a")]
    }
}

fn check_zones(zones: &[String]) -> Result<(), String> {
    if zones.is_empty() {
        return Err("at least one zone is needed".into());
    }
    let mut seen = BTreeSet::new();
    for z in zones {
        if z.trim().is_empty() || z.contains(char::is_whitespace) {
            return Err(format!("{z:?} is not a zone name"));
        }
        if !seen.insert(z) {
            return Err(format!("{z} is listed twice"));
        }
    }
    Ok(())
}

fn check_price(price: f64) -> Result<(), String> {
    if price.is_finite() && price >= 0.0 {
        Ok(())
    } else {
        Err(format!("must be a non-negative number, got {price}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AmiFamily, NodeClass};
    use crate::requirements::Operator;

    const JSON: &str = r#"{
      "region": "hetzner-fsn1",
      "currency": "EUR",
      "zones": ["fsn1-dc14", "fsn1-dc15"],
      "instanceTypes": [
        {"name": "cx32", "arch": "amd64",
         "labels": {"karpenter.k8s.aws/instance-family": "cx", "example.com/tier": "shared", "example.com/gen": 3},
         "capacity": {"cpu": "4", "memory": "8Gi", "pods": 110, "ephemeral-storage": "80Gi"},
         "prices": {"onDemand": 0.0113}},
        {"name": "gpu.big", "capacity": {"cpu": 16, "memory": "64Gi", "nvidia.com/gpu": 2},
         "allocatable": {"cpu": "15", "memory": "60Gi"},
         "offerings": [{"zone": "fsn1-dc15", "capacityType": "spot", "price": 0.5},
                       {"zone": "fsn1-dc16", "capacityType": "on-demand", "price": 1.25, "available": false}]},
        {"name": "unpriced.small", "arch": "arm64", "capacity": {"cpu": "1500m", "memory": "2Gi"}}
      ]
    }"#;

    #[test]
    fn json_catalog() {
        let c = Catalog::from_json("mine.json", JSON).unwrap();
        assert_eq!(c.region(), "hetzner-fsn1");
        assert_eq!(c.currency(), "EUR");
        assert_eq!(c.zones(), ["fsn1-dc14", "fsn1-dc15", "fsn1-dc16"]);
        assert_eq!(c.names().collect::<Vec<_>>(), ["cx32", "gpu.big", "unpriced.small"]);
        assert_eq!(c.notes(), ["1 instance types in mine.json have no offerings"]);
        let types = c.instance_types(&NodeClass::default());

        let cx = &types[0];
        assert_eq!(cx.offerings.len(), 2);
        assert_eq!(cx.offerings[1].zone, "fsn1-dc15");
        // 4 cores: 80m kube-reserved; memory 11 × 110 + 255 MiB and 100Mi eviction.
        assert_eq!(cx.allocatable.cpu.0, 3920);
        assert_eq!(cx.allocatable.memory, Bytes::mib(8192 - 1465 - 100));
        assert_eq!(cx.allocatable.ephemeral_storage, Bytes::gib(80 - 1 - 8));
        let r = &cx.requirements;
        assert_eq!(r.get("example.com/gen").unwrap().values().collect::<Vec<_>>(), ["3"]);
        assert_eq!(r.get(labels::INSTANCE_FAMILY).unwrap().values().collect::<Vec<_>>(), ["cx"]);
        assert_eq!(r.get(labels::INSTANCE_CPU).unwrap().values().collect::<Vec<_>>(), ["4"]);
        assert_eq!(r.get(labels::INSTANCE_MEMORY).unwrap().values().collect::<Vec<_>>(), ["8192"]);
        assert_eq!(r.get(labels::INSTANCE_GPU_NAME).unwrap().operator(), Operator::DoesNotExist);
        assert_eq!(r.get(labels::REGION).unwrap().values().collect::<Vec<_>>(), ["hetzner-fsn1"]);

        let gpu = &types[1];
        assert_eq!(gpu.allocatable.cpu.0, 15000);
        assert_eq!(gpu.allocatable.memory, Bytes::gib(60));
        assert_eq!(gpu.allocatable.get(resources::NVIDIA_GPU), 2);
        assert_eq!(gpu.allocatable.pods, 110);
        assert_eq!(gpu.overhead.kube_reserved.cpu.0, 1000);
        assert!(!gpu.offerings[1].available);
        assert_eq!(gpu.requirements.get(labels::INSTANCE_FAMILY).unwrap().values().collect::<Vec<_>>(), ["gpu"]);
        // Explicit allocatable ignores the node class.
        let windows = NodeClass { ami_family: AmiFamily::Windows2022, ..NodeClass::default() };
        assert_eq!(c.instance_type("gpu.big", &windows).unwrap().allocatable, gpu.allocatable);

        let small = &types[2];
        assert!(small.offerings.is_empty());
        assert_eq!(small.requirements.get(labels::ZONE).unwrap().operator(), Operator::DoesNotExist);
        assert_eq!(small.allocatable.cpu.0, 1500 - 60 - 5);
        assert_eq!(small.requirements.get(labels::INSTANCE_CPU).unwrap().operator(), Operator::DoesNotExist);
    }

    #[test]
    fn json_errors_name_source_and_place() {
        let err = |text: &str| Catalog::from_json("c.json", text).unwrap_err().to_string();
        let e = err("{\"instanceTypes\": [\n {\"name\": \"a\", \"capacity\": {\"cpu\": \"lots\"}}]}");
        assert!(e.starts_with("catalog c.json: invalid quantity \"lots\"") && e.contains("line 2 column"), "{e}");
        let e = err(r#"{"instanceTypes": [{"name": "a", "capacity": {"cpu": 1}}]}"#);
        assert_eq!(e, "catalog c.json: instanceTypes[0] (a): capacity.memory: required and positive");
        let e = err(
            r#"{"instanceTypes": [{"name": "a", "capacity": {"cpu": 1, "memory": "1Gi"}, "labels": {"topology.kubernetes.io/zone": "x"}}]}"#,
        );
        assert!(e.contains("labels.topology.kubernetes.io/zone: set by the catalog"), "{e}");
        let e = err(
            r#"{"instanceTypes": [{"name": "a", "capacity": {"cpu": 1, "memory": "1Gi"}, "allocatable": {"cpu": 2}}]}"#,
        );
        assert!(e.contains("allocatable.cpu: 2 is more than capacity 1"), "{e}");
        let e = err(r#"{"instanceTypes": [{"name": "a", "capacity": {"cpu": 1, "memory": "1Gi", "gpu": 1}}]}"#);
        assert!(e.contains("capacity.gpu: unknown resource"), "{e}");
        let e = err(
            r#"{"instanceTypes": [{"name": "a", "capacity": {"cpu": 1, "memory": "1Gi"}, "prices": {"spot": -1}}]}"#,
        );
        assert!(e.contains("prices.spot: must be a non-negative number"), "{e}");
        let e = err(
            r#"{"instanceTypes": [{"name": "a", "capacity": {"cpu": 1, "memory": "1Gi"}}, {"name": "a", "capacity": {"cpu": 1, "memory": "1Gi"}}]}"#,
        );
        assert!(e.contains("instance type a is defined twice"), "{e}");
        let e = err(r#"{"instanceTypes": [], "zone": ["a"]}"#);
        assert!(e.contains("unknown field `zone`"), "{e}");
        let e = err(r#"{"instanceTypes": [{"name": "a", "capacity": {"cpu": 1, "memory": "1Gi"},
            "offerings": [{"zone": "z", "capacityType": "spot", "price": 1}, {"zone": "z", "capacityType": "spot", "price": 2}]}]}"#);
        assert!(e.contains("offerings[1]: a second spot offering in z"), "{e}");
        // Several bad types are reported together.
        let e = Catalog::from_json(
            "c.json",
            r#"{"instanceTypes": [{"name": "a", "capacity": {}}, {"name": "b b", "capacity": {}}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.flatten().len(), 2);
    }

    #[test]
    fn csv_catalog_uses_the_aws_math() {
        let text = "name,arch,vcpu,memory_mib,pods,on_demand_price,spot_price,zones,region\n\
                    m5.large,amd64,2,8192,29,0.096,0.03,eu-west-1a;eu-west-1b,eu-west-1\n\
                    c6g.large,arm64,2,4096,29,0.068,,,eu-west-1\n\
                    big.metal,amd64,8,32768,,,,,\n";
        let c = Catalog::from_csv("types.csv", text).unwrap();
        assert_eq!(c.region(), "eu-west-1");
        assert_eq!(c.zones(), ["eu-west-1a", "eu-west-1b", "eu-west-1c"]);
        let nc = NodeClass::default();
        let m5 = c.instance_type("m5.large", &nc).unwrap();
        assert_eq!((m5.allocatable.cpu.0, m5.allocatable.memory, m5.allocatable.pods), (1930, Bytes::mib(6903), 29));
        assert_eq!(m5.offerings.len(), 4);
        let c6g = c.instance_type("c6g.large", &nc).unwrap();
        assert_eq!(c6g.allocatable.memory, Bytes::mib(3055));
        assert_eq!(c6g.offerings.len(), 3);
        assert_eq!(c6g.requirements.get(labels::INSTANCE_FAMILY).unwrap().values().collect::<Vec<_>>(), ["c6g"]);
        let big = c.instance_type("big.metal", &nc).unwrap();
        assert_eq!(big.allocatable.pods, 110);
        assert!(big.offerings.is_empty());

        let eni = "name,arch,vcpu,memory_mib,default_card_max_enis,ipv4_per_eni\nm5.large,amd64,2,8192,3,10\n";
        let c = Catalog::from_csv("eni.csv", eni).unwrap();
        assert_eq!(c.instance_type("m5.large", &nc).unwrap().allocatable.pods, 29);
        let c = c.with_settings(&CapacitySettings { reserved_enis: 1, ..Default::default() }).unwrap();
        assert_eq!(c.instance_type("m5.large", &nc).unwrap().allocatable.pods, 20);
    }

    #[test]
    fn csv_errors_name_line_and_column() {
        let err = |text: &str| Catalog::from_csv("t.csv", text).unwrap_err().to_string();
        let e = err("name,arch,vcpu,memory_mib,on_demand_price\na.b,amd64,2,8192,free\n");
        assert_eq!(e, "catalog t.csv: line 2, column on_demand_price: expected a non-negative price, got \"free\"");
        let e = err("name,arch,vcpu,memory_mib,price\n");
        assert!(e.contains("unknown column \"price\""), "{e}");
        let e = err("name,arch,vcpu,memory_mib,region\na.b,amd64,2,8,x\nc.d,amd64,2,8,y\n");
        assert!(e.contains("line 3, column region: \"y\" differs from \"x\" on line 2"), "{e}");
        let e = err("name,arch,vcpu,memory_mib,zones\na.b,amd64,2,8,z1;z1\n");
        assert!(e.contains("line 2, column zones: z1 is listed twice"), "{e}");
        let e = err("name,arch,vcpu,memory_mib,ipv4_per_eni\na.b,amd64,2,8,10\n");
        assert!(e.contains("column default_card_max_enis: required with ipv4_per_eni"), "{e}");
        let e = err("name,arch,vcpu,memory_mib\na.b,amd64,2,8\na.b,amd64,2,8\n");
        assert!(e.contains("a.b is defined twice"), "{e}");
    }

    #[test]
    fn the_embedded_file_is_a_valid_user_catalog() {
        let text = include_str!("../../data/ec2-instance-types.csv");
        let c = Catalog::from_csv("ec2-instance-types.csv", text).unwrap();
        assert_eq!(c.len(), 1363);
    }
}

//! The embedded AWS tables (`core/data/*.csv`, verbatim; provenance in `core/data/README.md`),
//! parsed once per process and shared by every region's [`super::Catalog`].

use super::csv::{catalog_error, Table};
use super::rows::{parse_rows, Fields};
use super::spec::{Pods, Shape, TableBuilder, TypeTable};
use crate::error::Error;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

const INSTANCE_TYPES: &str = include_str!("../../data/ec2-instance-types.csv");
const INSTANCE_TYPES_LEGACY: &str = include_str!("../../data/ec2-instance-types-legacy.csv");
const ENI_LIMITS: &str = include_str!("../../data/ec2-eni-limits.csv");
const ON_DEMAND_PRICES: &str = include_str!("../../data/ec2-on-demand-prices.csv");
const ON_DEMAND_PRICES_CN: &str = include_str!("../../data/ec2-on-demand-prices-cn.csv");
const SPOT_PRICES: &str = include_str!("../../data/ec2-spot-prices.csv");

/// The region whose on-demand prices stand in for regions without a table (as Karpenter does).
pub(crate) const FALLBACK_PRICE_REGION: &str = "us-east-1";

/// One region's static on-demand prices, dense by type index.
pub(crate) struct OnDemandTable {
    pub currency: &'static str,
    /// What the table is, for notes.
    pub provenance: &'static str,
    pub prices: Vec<Option<f64>>,
}

/// Everything parsed from the embedded files.
pub(crate) struct AwsData {
    pub table: Arc<TypeTable>,
    pub on_demand: BTreeMap<String, OnDemandTable>,
    /// Region-wide spot prices, `(type index, USD per hour)` sorted by type index.
    pub spot: BTreeMap<String, Vec<(u32, f64)>>,
    pub spot_snapshot_date: String,
    /// Known regions, sorted.
    pub regions: Vec<String>,
    /// Types whose ENI-limited pods are the docs' figure (no ENI row in the data), sorted.
    pub pods_from_docs: Vec<String>,
}

static AWS: OnceLock<Result<AwsData, Error>> = OnceLock::new();

/// The embedded tables, parsed on first use.
pub(crate) fn aws() -> Result<&'static AwsData, Error> {
    AWS.get_or_init(parse).as_ref().map_err(Clone::clone)
}

fn parse() -> Result<AwsData, Error> {
    let eni = parse_eni_limits()?;
    let mut builder = TableBuilder::default();
    let mut pods_from_docs = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (source, text) in
        [("ec2-instance-types.csv", INSTANCE_TYPES), ("ec2-instance-types-legacy.csv", INSTANCE_TYPES_LEGACY)]
    {
        let table = Table::parse(source, text)?;
        let keep = |c: &Cow<'static, str>| c.clone();
        for mut row in parse_rows(source, &table, &mut builder, &keep)? {
            let name = builder.str(row.spec.name);
            // The legacy file only adds types the current docs no longer list.
            if !seen.insert(row.spec.name) {
                continue;
            }
            let pods = match eni.get(name) {
                Some(&(enis, ipv4_per_eni)) => Pods::Eni { enis, ipv4_per_eni },
                None => {
                    // hpc6a/6id/7a/8a, trn2.48xlarge and some retired types have no ENI row:
                    // their ENI-limited pods are the figure Karpenter's docs give.
                    let docs = row.pods_column.ok_or_else(|| {
                        catalog_error(source, format!("line {}: {name} has neither an ENI row nor pods", row.line))
                    })?;
                    pods_from_docs.push(name.to_string());
                    Pods::Fixed(docs)
                }
            };
            if let Shape::Aws { pods: p, .. } = &mut row.spec.shape {
                *p = pods;
            }
            builder.push(row.spec);
        }
    }
    let table =
        builder.finish().map_err(|dup| catalog_error("ec2-instance-types.csv", format!("duplicate type {dup}")))?;
    let index: HashMap<&str, u32> =
        table.types.iter().enumerate().map(|(i, t)| (table.str(t.name), i as u32)).collect();
    let by_name = |name: &str| index.get(name).copied();

    let mut on_demand = BTreeMap::new();
    for (source, text, currency, provenance) in [
        (
            "ec2-on-demand-prices.csv",
            ON_DEMAND_PRICES,
            "USD",
            "Karpenter's static on-demand table (generated 2026-07-20)",
        ),
        (
            "ec2-on-demand-prices-cn.csv",
            ON_DEMAND_PRICES_CN,
            "CNY",
            "Karpenter's static China on-demand table (CNY, generated 2024-11-06)",
        ),
    ] {
        let t = Table::parse(source, text)?;
        let price_column = if currency == "CNY" { "cny_per_hour" } else { "usd_per_hour" };
        let (Some(rc), Some(tc)) = (t.column("region"), t.column("instance_type")) else {
            return Err(catalog_error(source, "line 1: expected columns region, instance_type"));
        };
        for row in &t.rows {
            let f = Fields { source, table: &t, row };
            let Some(i) = by_name(&row.fields[tc]) else { continue };
            let price = f.price(price_column)?;
            let entry = on_demand.entry(row.fields[rc].to_string()).or_insert_with(|| OnDemandTable {
                currency,
                provenance,
                prices: vec![None; table.types.len()],
            });
            entry.prices[i as usize] = price;
        }
    }

    let source = "ec2-spot-prices.csv";
    let t = Table::parse(source, SPOT_PRICES)?;
    let (Some(rc), Some(tc), Some(dc)) = (t.column("region"), t.column("instance_type"), t.column("snapshot_date"))
    else {
        return Err(catalog_error(source, "line 1: expected columns region, instance_type, snapshot_date"));
    };
    let mut spot: BTreeMap<String, Vec<(u32, f64)>> = BTreeMap::new();
    let mut spot_snapshot_date = String::new();
    for row in &t.rows {
        let f = Fields { source, table: &t, row };
        if spot_snapshot_date != row.fields[dc] {
            spot_snapshot_date = row.fields[dc].to_string();
        }
        let Some(i) = by_name(&row.fields[tc]) else { continue };
        if let Some(price) = f.price("usd_per_hour")? {
            spot.entry(row.fields[rc].to_string()).or_default().push((i, price));
        }
    }
    // Local Zone groups (`us-east-1-atl-1`) are not regions: drop them.
    let groups: Vec<String> = spot.keys().cloned().collect();
    spot.retain(|region, _| {
        !groups.iter().any(|r| region.len() > r.len() && region.starts_with(r) && region.as_bytes()[r.len()] == b'-')
    });
    for prices in spot.values_mut() {
        prices.sort_by_key(|p| p.0);
        prices.dedup_by_key(|p| p.0);
    }

    let mut regions: Vec<String> = on_demand.keys().chain(spot.keys()).cloned().collect();
    regions.sort_unstable();
    regions.dedup();
    pods_from_docs.sort_unstable();
    drop(index);
    Ok(AwsData { table: Arc::new(table), on_demand, spot, spot_snapshot_date, regions, pods_from_docs })
}

/// `instance_type → (ENIs of the default card, IPv4 addresses per ENI)`.
fn parse_eni_limits() -> Result<HashMap<String, (u32, u32)>, Error> {
    let source = "ec2-eni-limits.csv";
    let t = Table::parse(source, ENI_LIMITS)?;
    let Some(tc) = t.column("instance_type") else {
        return Err(catalog_error(source, "line 1: expected column instance_type"));
    };
    let mut out = HashMap::with_capacity(t.rows.len());
    for row in &t.rows {
        let f = Fields { source, table: &t, row };
        let enis = f.integer("default_card_max_enis")?.ok_or_else(|| f.error("default_card_max_enis", "required"))?;
        let ipv4 = f.integer("ipv4_per_eni")?.ok_or_else(|| f.error("ipv4_per_eni", "required"))?;
        let (Ok(enis), Ok(ipv4)) = (u32::try_from(enis), u32::try_from(ipv4)) else {
            return Err(f.error("default_card_max_enis", "too large"));
        };
        out.insert(row.fields[tc].to_string(), (enis, ipv4));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_tables_parse() {
        let data = aws().unwrap();
        assert_eq!(data.table.types.len(), 1382);
        for r in ["us-east-1", "cn-north-1", "us-gov-west-1", "eu-west-1"] {
            assert!(data.regions.iter().any(|k| k == r), "{r}");
        }
        assert!(!data.regions.iter().any(|r| r.contains("-atl-")));
        assert_eq!(data.on_demand["cn-north-1"].currency, "CNY");
        assert_eq!(data.spot_snapshot_date, "2026-01-19");
        assert_eq!(data.pods_from_docs.len(), 19);
    }
}

//! `fleetfit catalog`: the catalog's instance types as Karpenter sizes them for an
//! EC2NodeClass — capacity, allocatable, prices per capacity type, zones — filtered and sorted;
//! or the whole view as JSON (`--export`).

use crate::{emit, input, write_out, CatalogArgs, Output};
use clap::{Args, ValueEnum};
use fleetfit::catalog::{CapacityType, Catalog, InstanceType, Offering};
use fleetfit::labels;
use fleetfit::model::{Inventory, NodeClass};
use fleetfit::requirements::{Operator, Requirement};
use fleetfit::resources::{format_amount, Bytes, Resources};
use fleetfit::suggest::hint;
use fleetfit::{Error, Quantity, Result};
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct CatalogCmdArgs {
    /// Manifests with EC2NodeClasses and NodePools (files, directories or - for stdin). The
    /// types are sized for the EC2NodeClass --nodeclass or --nodepool names, or the files' only
    /// one; without any, for AL2023 with Karpenter's defaults, as `fleetfit plan` does.
    #[arg(short = 'f', long = "filename", num_args = 1..)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    catalog: CatalogArgs,
    /// Size the types for this EC2NodeClass of the files.
    #[arg(long, value_name = "NAME")]
    nodeclass: Option<String>,
    /// Only the types this NodePool of the files allows (its requirements, zones and capacity
    /// types), sized for its EC2NodeClass.
    #[arg(long, value_name = "NAME")]
    nodepool: Option<String>,
    /// vCPUs: 4, a range 2-8, or 16- for 16 or more.
    #[arg(long, value_name = "RANGE", value_parser = |t: &str| span(t, Measure::Vcpus), allow_hyphen_values = true)]
    vcpus: Option<Span>,
    /// The type's memory (before overhead): 16Gi, a range 8Gi-32Gi, or 64Gi- for 64Gi or more;
    /// a number without a unit is GiB.
    #[arg(long, value_name = "RANGE", value_parser = |t: &str| span(t, Measure::Memory), allow_hyphen_values = true)]
    memory: Option<Span>,
    /// CPU architectures (kubernetes.io/arch): amd64, arm64.
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    arch: Vec<String>,
    /// Instance families (karpenter.k8s.aws/instance-family): m7g,c7g.
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    family: Vec<String>,
    /// Instance categories (karpenter.k8s.aws/instance-category): c,m,r.
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    category: Vec<String>,
    /// Instance generations (karpenter.k8s.aws/instance-generation): 6, 5-7, or 6- for 6 or
    /// newer.
    #[arg(long, value_name = "RANGE", value_parser = |t: &str| span(t, Measure::Generation), allow_hyphen_values = true)]
    generation: Option<Span>,
    /// GPUs per instance (karpenter.k8s.aws/instance-gpu-count; none counts as 0): 1, 1-4, 1-.
    #[arg(long, value_name = "RANGE", value_parser = |t: &str| span(t, Measure::Gpus), allow_hyphen_values = true)]
    gpus: Option<Span>,
    /// Only offerings of these capacity types (karpenter.sh/capacity-type).
    #[arg(long, value_delimiter = ',', num_args = 1.., value_parser = ["spot", "on-demand", "reserved"])]
    capacity_type: Vec<String>,
    /// At most this price per hour (the cheapest offering that passes the other filters).
    #[arg(long, value_name = "PRICE", value_parser = price, allow_negative_numbers = true)]
    max_price: Option<f64>,
    /// A requirement as a NodePool writes it: KEY=VALUE[,VALUE] (In), KEY=OPERATOR:VALUE[,VALUE]
    /// (karpenter.k8s.aws/instance-generation=Gt:5) or KEY=Exists|DoesNotExist. Repeatable.
    #[arg(long, value_name = "KEY=[OP:]VALUES", value_parser = requirement)]
    requirement: Vec<Written>,
    /// Sort by: price (the cheapest offering shown), on-demand, spot, name, vcpus, memory,
    /// pods, gpus.
    #[arg(long, value_enum, default_value = "price")]
    sort: SortKey,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
    output: Output,
    /// Write every instance type of the catalog, as sized for the EC2NodeClass, with its
    /// requirements, capacity, overhead, allocatable and offerings, as JSON to FILE (- for
    /// stdout) instead of the list. Filters do not apply.
    #[arg(long, value_name = "FILE", conflicts_with_all = [
        "nodepool", "vcpus", "memory", "arch", "family", "category", "generation", "gpus", "capacity_type",
        "max_price", "requirement", "sort", "output",
    ])]
    export: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum SortKey {
    Price,
    OnDemand,
    Spot,
    Name,
    Vcpus,
    Memory,
    Pods,
    Gpus,
}

/// `--max-price`: a price per hour, not negative.
fn price(text: &str) -> std::result::Result<f64, String> {
    match text.trim().trim_start_matches('$').parse::<f64>() {
        Ok(p) if p.is_finite() && p >= 0.0 => Ok(p),
        _ => Err(format!("{text:?} is not a price per hour (0.25 for $0.25/h)")),
    }
}

pub fn run(args: CatalogCmdArgs) -> Result<ExitCode> {
    let inventory = if args.files.is_empty() {
        Inventory::default()
    } else {
        input::load_inventory(&args.files, &[], &fleetfit::manifest::ParseOptions::default())?
    };
    let mut notes = Vec::new();
    let nodepool = match &args.nodepool {
        None => None,
        Some(name) => Some(inventory.nodepools.iter().find(|p| &p.name == name).ok_or_else(|| {
            let names: Vec<&str> = inventory.nodepools.iter().map(|p| p.name.as_str()).collect();
            missing("--nodepool", "NodePool", name, &names)
        })?),
    };
    let nodeclass = nodeclass(&args, &inventory, nodepool.map(|p| p.node_class_ref.as_ref()), &mut notes)?;
    let catalog = args.catalog.load(&inventory)?;
    let types = catalog.instance_types(&nodeclass);
    if let Some(path) = &args.export {
        return export(&catalog, &types, path);
    }
    let filters = filters(&args, nodepool, &types)?;
    let (candidates, steps) = select(&types, &filters);
    if candidates.is_empty() {
        return Err(Error::Usage(format!("no instance type matches: {}", steps.join(", "))));
    }
    let mut rows: Vec<Row> = candidates.iter().map(Row::of).collect();
    sort(&mut rows, args.sort);
    notes.extend(catalog.notes().iter().cloned());
    let listing = Listing {
        source: catalog.source().to_string(),
        region: catalog.region().to_string(),
        currency: catalog.currency().to_string(),
        nodeclass: describe_class(&nodeclass),
        instance_types_total: types.len(),
        notes,
        instance_types: rows,
    };
    emit(args.output, &listing, &[], || table(&listing))
}

fn missing(flag: &str, kind: &str, name: &str, names: &[&str]) -> Error {
    if names.is_empty() {
        return Error::Usage(format!("{flag} {name}: no {kind} in the input; give the file that holds it with -f"));
    }
    Error::Usage(format!(
        "{flag} {name}: no {kind} {name:?} in the input{}; the input's: {}",
        hint(name, names.iter().copied()),
        names.join(", ")
    ))
}

/// The EC2NodeClass to size the types for: --nodeclass, else the NodePool's, else the files'
/// only one, else Karpenter's defaults (as `plan` assumes for a NodePool whose class is absent).
fn nodeclass(
    args: &CatalogCmdArgs,
    inventory: &Inventory,
    pool_ref: Option<Option<&fleetfit::model::NodeClassRef>>,
    notes: &mut Vec<String>,
) -> Result<NodeClass> {
    let names: Vec<&str> = inventory.nodeclasses.iter().map(|c| c.name.as_str()).collect();
    if let Some(name) = &args.nodeclass {
        return inventory.nodeclass(name).cloned().ok_or_else(|| missing("--nodeclass", "EC2NodeClass", name, &names));
    }
    if let (Some(pool), Some(reference)) = (&args.nodepool, pool_ref.flatten()) {
        return Ok(match inventory.nodeclass(&reference.name) {
            Some(class) => class.clone(),
            None => {
                notes.push(format!(
                    "NodePool {pool} uses EC2NodeClass {}, which is not in the input; assuming AL2023 defaults",
                    reference.name
                ));
                NodeClass { name: reference.name.clone(), ..NodeClass::default() }
            }
        });
    }
    match inventory.nodeclasses.as_slice() {
        [] => Ok(NodeClass::default()),
        [only] => Ok(only.clone()),
        _ => Err(Error::Usage(format!(
            "the input has {} EC2NodeClasses ({}): choose one with --nodeclass",
            names.len(),
            names.join(", ")
        ))),
    }
}

fn describe_class(class: &NodeClass) -> String {
    if *class == NodeClass::default() {
        "AL2023 with Karpenter's defaults (no EC2NodeClass given)".to_string()
    } else {
        format!("EC2NodeClass {} ({:?})", class.name, class.ami_family)
    }
}

/// What a filter measures on a type, in base units.
#[derive(Clone, Copy)]
enum Measure {
    /// Millicores of capacity.
    Vcpus,
    /// Bytes: `karpenter.k8s.aws/instance-memory` (MiB), else the capacity.
    Memory,
    /// `karpenter.k8s.aws/instance-gpu-count`, 0 when the type has none.
    Gpus,
    /// `karpenter.k8s.aws/instance-generation`.
    Generation,
}

fn label_number(t: &InstanceType, key: &str) -> Option<i64> {
    let mut values = t.requirements.get(key)?.values();
    values.next()?.parse().ok()
}

fn measure(t: &InstanceType, m: Measure) -> Option<i64> {
    match m {
        Measure::Vcpus => Some(t.capacity.get("cpu")),
        Measure::Memory => {
            Some(label_number(t, labels::INSTANCE_MEMORY).map_or(t.capacity.get("memory"), |mib| mib * Bytes::MI))
        }
        Measure::Gpus => Some(label_number(t, labels::INSTANCE_GPU_COUNT).unwrap_or(0)),
        Measure::Generation => label_number(t, labels::INSTANCE_GENERATION),
    }
}

enum Check {
    /// Keeps the offerings whose zone or capacity type the requirement allows; passes if any.
    Offerings(Requirement),
    /// The type's requirement on the key is compatible, as Karpenter checks a NodePool's; a
    /// type without the key passes when `undefined_passes` (a NodePool may set the label).
    Label {
        requirement: Requirement,
        undefined_passes: bool,
    },
    Range {
        measure: Measure,
        low: i64,
        high: i64,
    },
    /// The cheapest offering left is at most this.
    MaxPrice(f64),
}

struct Filter {
    /// The flag and value, for the message when nothing matches.
    flag: String,
    check: Check,
}

/// A type and its offerings that pass the filters so far.
struct Candidate<'a> {
    t: &'a InstanceType,
    offerings: Vec<&'a Offering>,
}

impl Filter {
    fn passes(&self, c: &mut Candidate) -> bool {
        match &self.check {
            Check::Offerings(r) => {
                let zone = r.key() == labels::ZONE;
                c.offerings.retain(|o| r.has(if zone { &o.zone } else { o.capacity_type.as_str() }));
                !c.offerings.is_empty()
            }
            Check::Label { requirement, undefined_passes } => match c.t.requirements.get(requirement.key()) {
                Some(own) => own.compatible_with(requirement),
                None => *undefined_passes || matches!(requirement.operator(), Operator::NotIn | Operator::DoesNotExist),
            },
            Check::Range { measure: m, low, high } => measure(c.t, *m).is_some_and(|v| (*low..=*high).contains(&v)),
            Check::MaxPrice(most) => c.offerings.iter().any(|o| o.price <= *most),
        }
    }
}

/// The types with an available offering that pass every filter, in catalog order; and the
/// count left after each step, for the message when none is.
fn select<'a>(types: &'a [InstanceType], filters: &[Filter]) -> (Vec<Candidate<'a>>, Vec<String>) {
    let mut steps = vec![format!("{} instance types", types.len())];
    let mut left: Vec<Candidate> = types
        .iter()
        .map(|t| Candidate { t, offerings: t.offerings.iter().filter(|o| o.available).collect() })
        .filter(|c| !c.offerings.is_empty())
        .collect();
    steps.push(format!("{} with an available offering", left.len()));
    for f in filters {
        left.retain_mut(|c| f.passes(c));
        steps.push(format!("{} after {}", left.len(), f.flag));
        if left.is_empty() {
            break;
        }
    }
    (left, steps)
}

fn is_offering_key(key: &str) -> bool {
    key == labels::ZONE || key == labels::CAPACITY_TYPE
}

/// The filters the arguments ask for; a value no type has, or that does not parse, is an error
/// naming the flag.
fn filters(
    args: &CatalogCmdArgs,
    nodepool: Option<&fleetfit::NodePool>,
    types: &[InstanceType],
) -> Result<Vec<Filter>> {
    let mut out = Vec::new();
    if let Some(pool) = nodepool {
        for r in pool.requirements().iter() {
            let flag = format!("--nodepool {} ({} {r})", pool.name, r.key());
            let check = if is_offering_key(r.key()) {
                Check::Offerings(r.clone())
            } else {
                Check::Label { requirement: r.clone(), undefined_passes: true }
            };
            out.push(Filter { flag, check });
        }
    }
    if !args.capacity_type.is_empty() {
        out.push(Filter {
            flag: format!("--capacity-type {}", args.capacity_type.join(",")),
            check: Check::Offerings(Requirement::any_of(labels::CAPACITY_TYPE, args.capacity_type.iter().cloned())),
        });
    }
    for (flag, key, values) in [
        ("--arch", labels::ARCH, &args.arch),
        ("--family", labels::INSTANCE_FAMILY, &args.family),
        ("--category", labels::INSTANCE_CATEGORY, &args.category),
    ] {
        if values.is_empty() {
            continue;
        }
        let known: BTreeSet<&str> =
            types.iter().filter_map(|t| t.requirements.get(key)).flat_map(|r| r.values()).collect();
        if let Some(bad) = values.iter().find(|v| !known.contains(v.as_str())) {
            return Err(Error::Usage(format!(
                "{flag} {bad}: no instance type of the catalog has {key}={bad}{}",
                suggestion(bad, &known)
            )));
        }
        out.push(Filter {
            flag: format!("{flag} {}", values.join(",")),
            check: Check::Label {
                requirement: Requirement::any_of(key, values.iter().cloned()),
                undefined_passes: false,
            },
        });
    }
    for (flag, span) in [
        ("--vcpus", &args.vcpus),
        ("--memory", &args.memory),
        ("--generation", &args.generation),
        ("--gpus", &args.gpus),
    ] {
        let Some(span) = span else { continue };
        out.push(Filter {
            flag: format!("{flag} {}", span.text),
            check: Check::Range { measure: span.measure, low: span.low, high: span.high },
        });
    }
    let known_keys: BTreeSet<&str> = types.iter().flat_map(|t| t.requirements.keys()).collect();
    for Written { text, requirement: r } in &args.requirement {
        if !known_keys.contains(r.key()) {
            return Err(Error::Usage(format!(
                "--requirement {text}: no instance type of the catalog has the label {}{}",
                r.key(),
                suggestion(r.key(), &known_keys)
            )));
        }
        let check = if is_offering_key(r.key()) {
            Check::Offerings(r.clone())
        } else {
            Check::Label { requirement: r.clone(), undefined_passes: false }
        };
        out.push(Filter { flag: format!("--requirement {text}"), check });
    }
    if let Some(most) = args.max_price {
        out.push(Filter { flag: format!("--max-price {most}"), check: Check::MaxPrice(most) });
    }
    Ok(out)
}

/// `; did you mean "x"?` when a known name is close, else the known names (the first 20 of
/// more).
fn suggestion(name: &str, known: &BTreeSet<&str>) -> String {
    let close = hint(name, known.iter().copied());
    if !close.is_empty() {
        return close;
    }
    let shown: Vec<&str> = known.iter().copied().take(20).collect();
    let more =
        if known.len() > shown.len() { format!(" and {} more", known.len() - shown.len()) } else { String::new() };
    format!("; known: {}{more}", shown.join(", "))
}

/// A `--requirement` as written and as read.
#[derive(Clone)]
struct Written {
    text: String,
    requirement: Requirement,
}

/// `--requirement`: `KEY=VALUES`, `KEY=OP:VALUES` or `KEY=Exists|DoesNotExist`, read as a
/// NodePool's requirement is.
fn requirement(text: &str) -> std::result::Result<Written, String> {
    let usage = |why: String| {
        format!(
            "{why}; write KEY=VALUE[,VALUE], KEY=OPERATOR:VALUE[,VALUE] or KEY=Exists \
             (karpenter.k8s.aws/instance-generation=Gt:5)"
        )
    };
    let Some((key, rest)) = text.split_once('=') else { return Err(usage("no '='".into())) };
    let (operator, values) = match rest.split_once(':') {
        Some((op, values)) => (op.parse::<Operator>().map_err(usage)?, values),
        None => match rest.parse::<Operator>() {
            Ok(op) => (op, ""),
            Err(_) => (Operator::In, rest),
        },
    };
    let values: Vec<String> = values.split(',').map(str::trim).filter(|v| !v.is_empty()).map(String::from).collect();
    let requirement = Requirement::new(key.trim(), operator, &values).map_err(|e| usage(e.to_string()))?;
    Ok(Written { text: text.to_string(), requirement })
}

/// A range of a measure as written (`N`, `A-B` or `A-`), and its ends in the measure's base
/// unit.
#[derive(Clone)]
struct Span {
    text: String,
    measure: Measure,
    low: i64,
    high: i64,
}

fn span(text: &str, m: Measure) -> std::result::Result<Span, String> {
    let example = match m {
        Measure::Vcpus => "4, 2-8 or 16- (16 or more)",
        Measure::Memory => "16Gi, 8Gi-32Gi or 64Gi- (64Gi or more; a number without a unit is GiB)",
        Measure::Gpus => "1, 1-4 or 1- (1 or more)",
        Measure::Generation => "6, 5-7 or 6- (6 or newer)",
    };
    let bad = |why: String| format!("{text:?}: {why}; write {example}");
    let one = |part: &str| -> std::result::Result<i64, String> {
        let part = part.trim();
        match m {
            Measure::Vcpus => match part.parse::<Quantity>() {
                Ok(q) if !q.is_negative() => Ok(q.milli()),
                _ => Err(bad(format!("{part:?} is not a number of vCPUs"))),
            },
            Measure::Memory => {
                if let Ok(gib) = part.parse::<f64>() {
                    if gib.is_finite() && gib >= 0.0 {
                        return Ok((gib * Bytes::GI as f64).round() as i64);
                    }
                }
                match part.parse::<Quantity>() {
                    Ok(q) if !q.is_negative() => Ok(q.units()),
                    _ => {
                        let units = if part.ends_with('B') { " (Kubernetes units: Gi or G, not GB)" } else { "" };
                        Err(bad(format!("{part:?} is not an amount of memory{units}")))
                    }
                }
            }
            Measure::Gpus | Measure::Generation => {
                part.parse::<u32>().map(i64::from).map_err(|_| bad(format!("{part:?} is not a whole number")))
            }
        }
    };
    let (low, high) = match text.split_once('-') {
        None => (one(text)?, one(text)?),
        Some(("", high)) => return Err(bad(format!("no low end; for at most {high}, write 0-{high}"))),
        Some((low, "")) => (one(low)?, i64::MAX),
        Some((low, high)) => (one(low)?, one(high)?),
    };
    if low > high {
        return Err(bad("the low end is above the high end".into()));
    }
    Ok(Span { text: text.to_string(), measure: m, low, high })
}

#[derive(Serialize)]
struct Listing {
    source: String,
    region: String,
    currency: String,
    /// The EC2NodeClass the types are sized for.
    nodeclass: String,
    /// Instance types in the catalog, before the filters.
    instance_types_total: usize,
    notes: Vec<String>,
    instance_types: Vec<Row>,
}

/// One instance type as the list shows it; prices and zones over the offerings that passed.
#[derive(Serialize)]
struct Row {
    name: String,
    vcpus: f64,
    /// The type's memory, before overhead.
    memory: Quantity,
    allocatable: Resources,
    arch: String,
    gpus: i64,
    gpu_name: Option<String>,
    on_demand_per_hour: Option<f64>,
    spot_per_hour: Option<f64>,
    zones: Vec<String>,
}

impl Row {
    fn of(c: &Candidate) -> Row {
        let t = c.t;
        let label = |key: &str| t.requirements.get(key).and_then(|r| r.values().next().map(String::from));
        let cheapest = |ct: CapacityType| {
            c.offerings.iter().filter(|o| o.capacity_type == ct).map(|o| o.price).min_by(f64::total_cmp)
        };
        let zones: BTreeSet<&str> = c.offerings.iter().map(|o| o.zone.as_str()).collect();
        Row {
            name: t.name.clone(),
            vcpus: t.capacity.get("cpu") as f64 / 1000.0,
            memory: Quantity::from_bytes(measure(t, Measure::Memory).unwrap_or(0)),
            allocatable: t.allocatable.clone(),
            arch: label(labels::ARCH).unwrap_or_default(),
            gpus: measure(t, Measure::Gpus).unwrap_or(0),
            gpu_name: label(labels::INSTANCE_GPU_NAME),
            on_demand_per_hour: cheapest(CapacityType::OnDemand),
            spot_per_hour: cheapest(CapacityType::Spot),
            zones: zones.into_iter().map(String::from).collect(),
        }
    }

    /// The cheapest price shown.
    fn price(&self) -> Option<f64> {
        [self.on_demand_per_hour, self.spot_per_hour].into_iter().flatten().min_by(f64::total_cmp)
    }
}

fn sort(rows: &mut [Row], key: SortKey) {
    // Prices ascending with unpriced last; sizes descending (the largest first); ties by name.
    let price = |p: Option<f64>| p.unwrap_or(f64::INFINITY);
    rows.sort_by(|a, b| {
        let by = match key {
            SortKey::Price => price(a.price()).total_cmp(&price(b.price())),
            SortKey::OnDemand => price(a.on_demand_per_hour).total_cmp(&price(b.on_demand_per_hour)),
            SortKey::Spot => price(a.spot_per_hour).total_cmp(&price(b.spot_per_hour)),
            SortKey::Name => std::cmp::Ordering::Equal,
            SortKey::Vcpus => b.vcpus.total_cmp(&a.vcpus),
            SortKey::Memory => b.memory.units().cmp(&a.memory.units()),
            SortKey::Pods => b.allocatable.get("pods").cmp(&a.allocatable.get("pods")),
            SortKey::Gpus => b.gpus.cmp(&a.gpus),
        };
        by.then_with(|| a.name.cmp(&b.name))
    });
}

fn table(l: &Listing) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} of {} instance types in {} ({}); allocatable for {}; prices in {} per hour",
        l.instance_types.len(),
        l.instance_types_total,
        l.region,
        l.source,
        l.nodeclass,
        l.currency
    );
    for n in &l.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let _ = writeln!(out);
    let gpus = l.instance_types.iter().any(|r| r.gpus > 0);
    let money = |p: Option<f64>| p.map_or_else(|| "-".to_string(), |p| format!("{p:.4}"));
    // Zones are shown without the region's name when they all start with it (a,b,c).
    let prefix = if l.instance_types.iter().flat_map(|r| &r.zones).all(|z| z.starts_with(&l.region)) {
        l.region.as_str()
    } else {
        ""
    };
    // (header, left-aligned)
    let mut columns = vec![
        ("NAME", true),
        ("VCPUS", false),
        ("MEMORY", false),
        ("ALLOC CPU", false),
        ("ALLOC MEM", false),
        ("PODS", false),
        ("ARCH", true),
        ("GPUS", true),
        ("ON-DEMAND", false),
        ("SPOT", false),
        ("ZONES", true),
    ];
    let zones_header = if prefix.is_empty() { "ZONES".to_string() } else { format!("ZONES ({prefix}…)") };
    let mut cells: Vec<Vec<String>> = vec![columns.iter().map(|(h, _)| h.to_string()).collect()];
    cells[0][10] = zones_header;
    for r in &l.instance_types {
        let gpu = match (&r.gpu_name, r.gpus) {
            (_, 0) => "-".to_string(),
            (Some(name), n) => format!("{n} {name}"),
            (None, n) => n.to_string(),
        };
        cells.push(vec![
            r.name.clone(),
            format_amount("cpu", (r.vcpus * 1000.0).round() as i64),
            format_amount("memory", r.memory.units()),
            format_amount("cpu", r.allocatable.get("cpu")),
            format_amount("memory", r.allocatable.get("memory")),
            r.allocatable.get("pods").to_string(),
            r.arch.clone(),
            gpu,
            money(r.on_demand_per_hour),
            money(r.spot_per_hour),
            r.zones.iter().map(|z| &z[prefix.len()..]).collect::<Vec<_>>().join(","),
        ]);
    }
    if !gpus {
        columns.remove(7);
        for row in &mut cells {
            row.remove(7);
        }
    }
    let widths: Vec<usize> =
        (0..columns.len()).map(|i| cells.iter().map(|row| row[i].chars().count()).max().unwrap_or(0)).collect();
    for row in &cells {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let w = widths[i];
            let _ = if columns[i].1 { write!(line, "{cell:<w$}") } else { write!(line, "{cell:>w$}") };
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// The catalog view as the Karpenter scheduler takes instance types: per type its
/// requirements (node selector terms), capacity, overhead, allocatable and offerings. Types in
/// name order, requirements by key, offerings by zone then capacity type: the same input gives
/// the same bytes.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Export<'a> {
    source: &'a str,
    region: &'a str,
    zones: &'a [String],
    instance_types: Vec<ExportType<'a>>,
}

#[derive(Serialize)]
struct ExportType<'a> {
    name: &'a str,
    requirements: Vec<ExportRequirement<'a>>,
    capacity: &'a Resources,
    overhead: ExportOverhead<'a>,
    allocatable: &'a Resources,
    offerings: Vec<ExportOffering<'a>>,
}

#[derive(Serialize)]
struct ExportRequirement<'a> {
    key: &'a str,
    operator: Operator,
    values: Vec<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExportOverhead<'a> {
    kube_reserved: &'a Resources,
    system_reserved: &'a Resources,
    eviction_threshold: &'a Resources,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExportOffering<'a> {
    zone: &'a str,
    capacity_type: CapacityType,
    price: f64,
    available: bool,
}

fn export(catalog: &Catalog, types: &[InstanceType], path: &std::path::Path) -> Result<ExitCode> {
    let mut instance_types = Vec::with_capacity(types.len());
    for t in types {
        let mut requirements = Vec::new();
        for r in t.requirements.iter() {
            let operator = r.operator();
            if !matches!(operator, Operator::In | Operator::DoesNotExist | Operator::Exists) {
                return Err(Error::Usage(format!(
                    "instance type {}: label {} is {r}, which the export cannot write",
                    t.name,
                    r.key()
                )));
            }
            requirements.push(ExportRequirement { key: r.key(), operator, values: r.values().collect() });
        }
        instance_types.push(ExportType {
            name: &t.name,
            requirements,
            capacity: &t.capacity,
            overhead: ExportOverhead {
                kube_reserved: &t.overhead.kube_reserved,
                system_reserved: &t.overhead.system_reserved,
                eviction_threshold: &t.overhead.eviction_threshold,
            },
            allocatable: &t.allocatable,
            offerings: t
                .offerings
                .iter()
                .map(|o| ExportOffering {
                    zone: &o.zone,
                    capacity_type: o.capacity_type,
                    price: o.price,
                    available: o.available,
                })
                .collect(),
        });
    }
    let doc = Export { source: catalog.source(), region: catalog.region(), zones: catalog.zones(), instance_types };
    let json = serde_json::to_string(&doc).map_err(|e| Error::Usage(e.to_string()))? + "\n";
    if path.as_os_str() == "-" {
        write_out(&json)?;
    } else {
        std::fs::write(path, json).map_err(|e| Error::Usage(format!("--export {}: {e}", path.display())))?;
        write_out(&format!(
            "exported {} instance types of {} ({}) to {}\n",
            types.len(),
            catalog.region(),
            catalog.source(),
            path.display()
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

//! The EC2 catalog (embedded from `core/data/`, see its README for provenance) and the
//! capacity math that turns an instance type into allocatable resources, exactly as
//! Karpenter's AWS provider computes them.
//!
//! - [`Catalog::aws`]: one region's instance types and offerings from the embedded tables.
//! - [`Catalog::from_json`], [`Catalog::from_csv`]: user catalogs (format in `core/docs/catalog.md`).
//! - [`Catalog::with_prices`]: discounts and price overrides ([`PriceAdjustments`]).
//! - [`Catalog::instance_types`]: every type sized for one EC2NodeClass.
//! - [`choose_zones`], [`Catalog::with_zones`], [`Catalog::for_inventory`]: the zones a
//!   cluster's new nodes may launch in, and where they came from.

mod capacity;
mod csv;
mod custom;
mod data;
mod prices;
mod rows;
mod spec;
mod zone_choice;
mod zones;

pub use capacity::CapacitySettings;
pub use prices::{PriceAdjustments, PriceOverride};
pub use zone_choice::{choose_zones, ZoneChoice, ZoneSource};

use crate::labels;
use crate::model::NodeClass;
use crate::requirements::{Requirement, Requirements};
use crate::resources::Resources;
use serde::Serialize;
use spec::{TypeSpec, TypeTable, AWS_LABELS, NONE};
use std::fmt;
use std::sync::{Arc, Mutex};

/// `karpenter.sh/capacity-type` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CapacityType {
    /// Capacity reservations (preferred first by Karpenter).
    Reserved,
    Spot,
    OnDemand,
}

impl CapacityType {
    pub fn as_str(self) -> &'static str {
        match self {
            CapacityType::Reserved => "reserved",
            CapacityType::Spot => "spot",
            CapacityType::OnDemand => "on-demand",
        }
    }
}

impl std::fmt::Display for CapacityType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where and how an instance type can be bought, and for how much per hour.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Offering {
    pub zone: String,
    pub capacity_type: CapacityType,
    /// Price per hour in the catalog's currency.
    pub price: f64,
    pub available: bool,
}

/// What the node's overhead is made of (subtracted from capacity to give allocatable).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Overhead {
    pub kube_reserved: Resources,
    pub system_reserved: Resources,
    pub eviction_threshold: Resources,
}

impl Overhead {
    /// kube-reserved + system-reserved + eviction threshold.
    pub fn total(&self) -> Resources {
        self.kube_reserved.add(&self.system_reserved).add(&self.eviction_threshold)
    }
}

/// One instance type, with the capacity a node of it would have under a given node class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceType {
    pub name: String,
    /// Every label Karpenter puts on the type (instance-type, arch, os, region, category,
    /// family, generation, size, cpu, memory, gpu-*, ...), `zone` and `capacity-type` over
    /// its offerings; labels the type does not have are `DoesNotExist`.
    pub requirements: Requirements,
    pub capacity: Resources,
    pub overhead: Overhead,
    /// capacity − kube-reserved − system-reserved − eviction threshold.
    pub allocatable: Resources,
    /// Sorted by zone, then capacity type (spot before on-demand).
    pub offerings: Vec<Offering>,
}

impl InstanceType {
    /// The cheapest available offering, if any.
    pub fn cheapest_offering(&self) -> Option<&Offering> {
        self.offerings.iter().filter(|o| o.available).min_by(|a, b| a.price.total_cmp(&b.price))
    }

    /// The labels every node of this type carries: its requirements with one value
    /// (instance type, family, size, arch, os, region, ...), not zone or capacity type.
    pub fn node_labels(&self) -> crate::model::Labels {
        self.requirements
            .iter()
            .filter(|r| !r.is_complement())
            .filter_map(|r| {
                let mut values = r.values();
                match (values.next(), values.next()) {
                    (Some(v), None) => Some((r.key().to_string(), v.to_string())),
                    _ => None,
                }
            })
            .collect()
    }
}

/// One region's instance types and offerings (or a user catalog's). Cheap to clone: the type
/// table is shared; a catalog holds indices and prices.
#[derive(Clone)]
pub struct Catalog {
    source: String,
    region: String,
    currency: String,
    /// Sorted, unique.
    zones: Vec<String>,
    /// The zones new nodes may launch in, when chosen ([`Catalog::with_zones`]): offerings
    /// elsewhere are not available (they still price the nodes that run there).
    zone_choice: Option<ZoneChoice>,
    notes: Vec<String>,
    settings: CapacitySettings,
    table: Arc<TypeTable>,
    /// One per type of the table, in table (name) order.
    entries: Vec<Entry>,
    /// Instance types already sized per node class (see [`Catalog::instance_types_shared`]).
    sized: SizedCache,
}

/// Sized instance types per (launch zones, node class), shared between clones of a catalog,
/// whatever zones each clone chose; a catalog whose prices or settings change starts a new one.
type SizedCache = Arc<Mutex<Vec<((Vec<String>, NodeClass), Arc<SizedTypes>)>>>;

/// Instance types sized for one node class, with the facts of them that no NodePool changes,
/// worked out once ([`Catalog::sized`]).
pub struct SizedTypes {
    /// [`Catalog::instance_types`].
    pub types: Arc<Vec<InstanceType>>,
    /// Per type: metal, GPU or accelerator ([`is_exotic`]).
    pub exotic: Vec<bool>,
    /// The zones of the types' offerings, sorted; and per type, per offering, the index of its
    /// zone there (for offering checks without string comparisons; `u8::MAX` past 64 zones).
    pub zones: Vec<String>,
    pub offering_zone: Vec<Vec<u8>>,
}

impl SizedTypes {
    fn of(types: Vec<InstanceType>) -> SizedTypes {
        // A region has a handful of zones: a list beats a set here.
        let mut zones: Vec<&str> = Vec::new();
        for o in types.iter().flat_map(|t| &t.offerings) {
            if !zones.contains(&o.zone.as_str()) {
                zones.push(&o.zone);
            }
        }
        zones.sort_unstable();
        let index = |zone: &str| zones.iter().position(|z| *z == zone).filter(|&i| i < 64).map_or(u8::MAX, |i| i as u8);
        let offering_zone = types.iter().map(|t| t.offerings.iter().map(|o| index(&o.zone)).collect()).collect();
        let zones = zones.into_iter().map(str::to_string).collect();
        SizedTypes { exotic: types.iter().map(is_exotic).collect(), zones, offering_zone, types: Arc::new(types) }
    }
}

/// Metal, GPU and accelerator types: the AWS provider launches them only when no generic
/// type fits.
pub fn is_exotic(t: &InstanceType) -> bool {
    let has = |key: &str| t.requirements.get(key).is_some_and(|r| r.values().any(|v| v != "0"));
    has(labels::INSTANCE_GPU_COUNT)
        || has(labels::INSTANCE_ACCELERATOR_COUNT)
        || t.requirements.get(labels::INSTANCE_SIZE).is_some_and(|r| r.values().any(|v| v.starts_with("metal")))
}

/// A type of the table and how it is offered.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    spec: u32,
    offers: Offers,
}

#[derive(Debug, Clone, PartialEq)]
enum Offers {
    /// Offered in every zone of the catalog at region-wide prices.
    Regional { on_demand: Option<f64>, spot: Option<f64> },
    /// Offered where listed (zone is an index into the catalog's zones).
    Explicit(Vec<Offer>),
}

#[derive(Debug, Clone, PartialEq)]
struct Offer {
    zone: u32,
    capacity_type: CapacityType,
    price: f64,
    available: bool,
}

impl fmt::Debug for Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Catalog")
            .field("source", &self.source)
            .field("region", &self.region)
            .field("currency", &self.currency)
            .field("zones", &self.zones)
            .field("instance_types", &self.entries.len())
            .field("notes", &self.notes)
            .field("settings", &self.settings)
            .finish()
    }
}

/// Whether a node of instance type `name` of `pool` runs Windows (its node class is a Windows
/// AMI family).
pub(crate) fn runs_windows(pool: &crate::filter::PoolContext, name: &str) -> bool {
    let types = &pool.instance_types;
    // Sorted by name ([`Catalog::instance_types`]); looked through in full should that not hold.
    let found = match types.binary_search_by(|t| t.name.as_str().cmp(name)) {
        Ok(i) => types.get(i),
        Err(_) => types.iter().find(|t| t.name == name),
    };
    found.and_then(|t| t.requirements.get(labels::OS)).is_some_and(|r| r.has("windows"))
}

/// The warning for Windows nodes (`names`) priced at Linux rates (see
/// [`Catalog::prices_windows_as_linux`]); none when there are none.
pub(crate) fn linux_priced_warning(names: &[String]) -> Option<String> {
    let (first, rest) = names.split_first()?;
    let more = if rest.is_empty() { String::new() } else { format!(" and {} more", rest.len()) };
    Some(format!(
        "{} Windows node{} ({first}{more}) priced at Linux rates: the catalog has no Windows on-demand prices, \
         and Windows instances cost more; the real cost is higher than shown",
        names.len(),
        if names.len() == 1 { "" } else { "s" }
    ))
}

impl Catalog {
    /// Embedded AWS data for a region, with Karpenter's default settings.
    pub fn aws(region: &str) -> crate::Result<Catalog> {
        Catalog::aws_with(region, &CapacitySettings::default())
    }

    /// Embedded AWS data for a region. The tables are parsed once per process and shared.
    ///
    /// Every type is listed; each priced type is offered in every zone of the region (see
    /// `core/data/README.md` for the zone assumption): on-demand at the region's static price
    /// (us-east-1's where the region has no table, as Karpenter does), spot at the snapshot's
    /// region-wide price when it has one. Unpriced types have no offerings.
    pub fn aws_with(region: &str, settings: &CapacitySettings) -> crate::Result<Catalog> {
        settings.validate().map_err(crate::Error::Usage)?;
        let data = data::aws()?;
        if !data.regions.iter().any(|r| r == region) {
            return Err(crate::Error::Usage(format!(
                "unknown AWS region {region:?}; known regions: {}",
                data.regions.join(", ")
            )));
        }
        let mut notes = Vec::new();
        let on_demand = match data.on_demand.get(region) {
            Some(t) => {
                notes.push(format!("on-demand prices: {}", t.provenance));
                Some(t)
            }
            None => {
                let fallback = data.on_demand.get(data::FALLBACK_PRICE_REGION);
                notes.push(format!(
                    "no on-demand price table for {region}; on-demand prices are {}'s (as Karpenter falls back to)",
                    data::FALLBACK_PRICE_REGION
                ));
                fallback
            }
        };
        let spot = data.spot.get(region).map(Vec::as_slice).unwrap_or(&[]);
        if spot.is_empty() {
            notes.push(format!("no spot prices for {region}: on-demand offerings only"));
        } else {
            notes.push(format!(
                "spot prices: region-wide snapshot of {} (the same price in every zone; a planning estimate)",
                data.spot_snapshot_date
            ));
        }
        let zones = zones::zones(region);
        notes.push(format!(
            "the data has no per-zone availability: every priced type is assumed offered in every zone of {region}"
        ));
        let zone_choice = zone_choice::assumed(region, &zones);
        notes.push(zone_choice.note.clone());

        let mut spot_iter = spot.iter().peekable();
        let mut unpriced = 0;
        let entries: Vec<Entry> = (0..data.table.types.len() as u32)
            .map(|i| {
                let od = on_demand.and_then(|t| t.prices.get(i as usize).copied().flatten());
                let mut sp = None;
                while let Some(&&(j, price)) = spot_iter.peek() {
                    if j > i {
                        break;
                    }
                    if j == i {
                        sp = Some(price);
                    }
                    spot_iter.next();
                }
                if od.is_none() && sp.is_none() {
                    unpriced += 1;
                }
                Entry { spec: i, offers: Offers::Regional { on_demand: od, spot: sp } }
            })
            .collect();
        if unpriced > 0 {
            notes.push(format!("{unpriced} instance types have no price in {region} and no offerings"));
        }
        Ok(Catalog {
            source: "aws".to_string(),
            region: region.to_string(),
            currency: on_demand.map(|t| t.currency).unwrap_or("USD").to_string(),
            zones,
            zone_choice: Some(zone_choice),
            notes,
            settings: *settings,
            table: data.table.clone(),
            entries,
            sized: SizedCache::default(),
        })
    }

    /// The regions of the embedded data, sorted (Local Zone groups are not regions).
    pub fn regions() -> Vec<&'static str> {
        match data::aws() {
            Ok(data) => data.regions.iter().map(String::as_str).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Embedded types whose ENI-limited max pods are the figure Karpenter's docs give, because
    /// the ENI table has no row for them (hpc6a/6id/7a/8a, trn2.48xlarge, some retired types).
    /// `reservedENIs` cannot be applied to them. Sorted.
    pub fn aws_pods_from_docs() -> Vec<&'static str> {
        match data::aws() {
            Ok(data) => data.pods_from_docs.iter().map(String::as_str).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// A user-supplied catalog in JSON (format: `core/docs/catalog.md`).
    pub fn from_json(source_name: &str, text: &str) -> crate::Result<Catalog> {
        custom::from_json(source_name, text)
    }

    /// A user-supplied catalog in CSV: the columns of `ec2-instance-types.csv` plus
    /// `on_demand_price`, `spot_price`, `zones`, `region`, `currency` (format:
    /// `core/docs/catalog.md`).
    pub fn from_csv(source_name: &str, text: &str) -> crate::Result<Catalog> {
        custom::from_csv(source_name, text)
    }

    /// The same catalog with capacity settings changed (VM memory overhead, reserved ENIs).
    pub fn with_settings(mut self, settings: &CapacitySettings) -> crate::Result<Catalog> {
        settings.validate().map_err(crate::Error::Usage)?;
        self.settings = *settings;
        self.sized = SizedCache::default();
        Ok(self)
    }

    /// The same catalog with new nodes launching only in `choice`'s zones (from
    /// [`choose_zones`]): offerings in other zones become unavailable, and the notes say which
    /// zones were used and why, instead of any earlier choice's. Zones the catalog lacks are
    /// an error naming them.
    pub fn with_zones(mut self, choice: &ZoneChoice) -> crate::Result<Catalog> {
        if let Some(bad) = choice.zones.iter().find(|z| !self.zones.contains(z)) {
            return Err(crate::Error::Usage(format!(
                "zone {bad:?} is not a zone of {}; its zones: {}",
                self.region,
                self.zones.join(", ")
            )));
        }
        if choice.zones.is_empty() {
            return Err(crate::Error::Usage("no zones chosen: at least one zone is needed".to_string()));
        }
        if let Some(old) = self.zone_choice.take() {
            self.notes.retain(|n| *n != old.note);
        }
        self.notes.push(choice.note.clone());
        self.zone_choice = Some(choice.clone());
        Ok(self)
    }

    /// The same catalog with some offerings unavailable: `(instance type, zone, capacity type)`
    /// that ran out of capacity lately, as Karpenter's cache of them. Plans then avoid them;
    /// they still price nodes that run there. Names the catalog lacks are ignored.
    pub fn without_offerings(mut self, gone: &[(String, String, CapacityType)]) -> Catalog {
        if gone.is_empty() {
            return self;
        }
        self.sized = SizedCache::default();
        let table = self.table.clone();
        let mut marked = 0;
        for entry in &mut self.entries {
            let name = table.name(&table.types[entry.spec as usize]);
            let here: Vec<(u32, CapacityType)> = gone
                .iter()
                .filter(|(t, _, _)| t == name)
                .filter_map(|(_, zone, ct)| Some((self.zones.iter().position(|z| z == zone)? as u32, *ct)))
                .collect();
            if here.is_empty() {
                continue;
            }
            if let Offers::Regional { on_demand, spot } = entry.offers {
                // Per zone from now on, so that one zone can be marked.
                let zones = 0..self.zones.len() as u32;
                let offers = zones
                    .flat_map(|zone| {
                        [(CapacityType::Spot, spot), (CapacityType::OnDemand, on_demand)].into_iter().filter_map(
                            move |(capacity_type, price)| {
                                Some(Offer { zone, capacity_type, price: price?, available: true })
                            },
                        )
                    })
                    .collect();
                entry.offers = Offers::Explicit(offers);
            }
            if let Offers::Explicit(offers) = &mut entry.offers {
                for o in offers.iter_mut().filter(|o| here.contains(&(o.zone, o.capacity_type))) {
                    marked += usize::from(o.available);
                    o.available = false;
                }
            }
        }
        if marked > 0 {
            self.notes.push(format!(
                "{marked} offering{} out of capacity lately, not launched for now",
                if marked == 1 { "" } else { "s" }
            ));
        }
        self
    }

    /// The same catalog restricted to the zones [`choose_zones`] chooses for `inventory`
    /// (`given`, when not empty, first): the one call for every answer about that inventory.
    pub fn for_inventory(self, inventory: &crate::model::Inventory, given: &[String]) -> crate::Result<Catalog> {
        let choice = choose_zones(inventory, &self, given)?;
        self.with_zones(&choice)
    }

    /// The zones chosen by [`Catalog::with_zones`], if any.
    pub fn zone_choice(&self) -> Option<&ZoneChoice> {
        self.zone_choice.as_ref()
    }

    /// The zones new nodes may launch in: the chosen ones, else every zone.
    pub fn launch_zones(&self) -> &[String] {
        self.zone_choice.as_ref().map_or(&self.zones, |c| &c.zones)
    }

    /// The same catalog with discounts and price overrides applied. Adjustments that do not
    /// validate are ignored and said so in [`Catalog::notes`]; so are overrides naming a type
    /// or family the catalog lacks.
    pub fn with_prices(mut self, adjustments: &PriceAdjustments) -> Catalog {
        if adjustments.is_identity() {
            return self;
        }
        if let Err(e) = adjustments.validate() {
            self.notes.push(format!("price adjustments ignored: {e}"));
            return self;
        }
        self.sized = SizedCache::default();
        let rules = adjustments.rules();
        let table = self.table.clone();
        let all_zones: Vec<u32> = (0..self.zones.len() as u32).collect();
        for entry in &mut self.entries {
            let spec = &table.types[entry.spec as usize];
            let name = table.name(spec);
            let family = table.family(spec);
            match &mut entry.offers {
                Offers::Regional { on_demand, spot } => {
                    for (ct, price) in [(CapacityType::OnDemand, on_demand), (CapacityType::Spot, spot)] {
                        *price = match *price {
                            Some(base) => Some(rules.price(name, family, ct, base)),
                            None => rules.fixed(name, ct),
                        };
                    }
                }
                Offers::Explicit(offers) => {
                    for o in offers.iter_mut() {
                        o.price = rules.price(name, family, o.capacity_type, o.price);
                    }
                    for ct in [CapacityType::OnDemand, CapacityType::Spot] {
                        let Some(price) = rules.fixed(name, ct) else { continue };
                        if offers.iter().any(|o| o.capacity_type == ct) {
                            continue;
                        }
                        let mut zones: Vec<u32> = offers.iter().map(|o| o.zone).collect();
                        zones.sort_unstable();
                        zones.dedup();
                        if zones.is_empty() {
                            zones = all_zones.clone();
                        }
                        offers.extend(zones.into_iter().map(|zone| Offer {
                            zone,
                            capacity_type: ct,
                            price,
                            available: true,
                        }));
                    }
                }
            }
        }
        let (types, families) = rules.named();
        let missing_types: Vec<&str> =
            types.into_iter().filter(|t| !table.types.iter().any(|s| table.name(s) == *t)).collect();
        let missing_families: Vec<&str> =
            families.into_iter().filter(|f| !table.types.iter().any(|s| table.family(s) == *f)).collect();
        self.notes.push(adjustments.describe());
        if !missing_types.is_empty() {
            self.notes.push(format!("price overrides name unknown instance types: {}", missing_types.join(", ")));
        }
        if !missing_families.is_empty() {
            self.notes.push(format!("price overrides name unknown families: {}", missing_families.join(", ")));
        }
        self
    }

    /// Whether Windows nodes get Linux prices: the embedded AWS data has Windows prices for spot
    /// only, none for on-demand, so both are priced as Linux (pricing spot alone at Windows
    /// rates would make on-demand look cheaper than it is). A user catalog's prices are its own.
    pub fn prices_windows_as_linux(&self) -> bool {
        self.source == "aws"
    }

    /// `aws` for the embedded data, else the name the user catalog was read from.
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// `USD` (`CNY` for cn-north-1), or a user catalog's currency.
    pub fn currency(&self) -> &str {
        &self.currency
    }

    /// What a reader of a plan should know about the prices and zones (fallbacks, snapshot
    /// dates, assumptions).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Every zone offerings may be in, sorted (see [`Catalog::launch_zones`] for the zones new
    /// nodes may use).
    pub fn zones(&self) -> &[String] {
        &self.zones
    }

    pub fn settings(&self) -> &CapacitySettings {
        &self.settings
    }

    /// Number of instance types (priced or not).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Instance type names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries.iter().map(|e| self.table.name(&self.table.types[e.spec as usize]))
    }

    /// Every instance type with capacity and allocatable computed for that EC2NodeClass
    /// (`NodeClass::default()` is AL2023 with Karpenter's defaults). Sorted by name. Offerings
    /// outside the chosen zones ([`Catalog::with_zones`]) or the class's subnet zones are not
    /// available, as Karpenter offers a type only in the zones of the class's subnets.
    pub fn instance_types(&self, nodeclass: &NodeClass) -> Vec<InstanceType> {
        self.entries.iter().map(|e| self.build(e, nodeclass)).collect()
    }

    /// [`Catalog::instance_types`], computed once per node class and shared: repeated calls
    /// (every plan, every filter of the same catalog) cost a lookup.
    pub fn instance_types_shared(&self, nodeclass: &NodeClass) -> Arc<Vec<InstanceType>> {
        self.sized(nodeclass).types.clone()
    }

    /// [`Catalog::instance_types_shared`] with the facts of the types no NodePool changes.
    pub fn sized(&self, nodeclass: &NodeClass) -> Arc<SizedTypes> {
        let zones = self.launch_zones();
        let mut cache = self.sized.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, sized)) = cache.iter().find(|((z, class), _)| z == zones && class == nodeclass) {
            return sized.clone();
        }
        let sized = Arc::new(SizedTypes::of(self.instance_types(nodeclass)));
        cache.push(((zones.to_vec(), nodeclass.clone()), sized.clone()));
        sized
    }

    /// One instance type by name.
    pub fn instance_type(&self, name: &str, nodeclass: &NodeClass) -> Option<InstanceType> {
        let i =
            self.entries.binary_search_by(|e| self.table.name(&self.table.types[e.spec as usize]).cmp(name)).ok()?;
        Some(self.build(&self.entries[i], nodeclass))
    }

    fn build(&self, entry: &Entry, nodeclass: &NodeClass) -> InstanceType {
        let table = &*self.table;
        let spec = &table.types[entry.spec as usize];
        let sized = capacity::size(table, spec, nodeclass, &self.settings);
        let mut offerings = self.offerings(entry);
        let launch_zones = self.launch_zones();
        for o in &mut offerings {
            let in_subnets = nodeclass.subnet_zones.is_empty() || nodeclass.subnet_zones.contains(&o.zone);
            o.available &= in_subnets && launch_zones.contains(&o.zone);
        }
        InstanceType {
            name: table.name(spec).to_string(),
            requirements: self.requirements(spec, &offerings, nodeclass),
            capacity: sized.capacity,
            overhead: sized.overhead,
            allocatable: sized.allocatable,
            offerings,
        }
    }

    fn offerings(&self, entry: &Entry) -> Vec<Offering> {
        let mut out = Vec::new();
        match &entry.offers {
            Offers::Regional { on_demand, spot } => {
                for zone in &self.zones {
                    for (ct, price) in [(CapacityType::Spot, spot), (CapacityType::OnDemand, on_demand)] {
                        if let Some(price) = price {
                            out.push(Offering {
                                zone: zone.clone(),
                                capacity_type: ct,
                                price: *price,
                                available: true,
                            });
                        }
                    }
                }
            }
            Offers::Explicit(offers) => {
                let mut offers: Vec<&Offer> = offers.iter().collect();
                offers.sort_by_key(|o| (o.zone, o.capacity_type));
                for o in offers {
                    out.push(Offering {
                        zone: self.zones.get(o.zone as usize).cloned().unwrap_or_default(),
                        capacity_type: o.capacity_type,
                        price: o.price,
                        available: o.available,
                    });
                }
            }
        }
        out
    }

    fn requirements(&self, spec: &TypeSpec, offerings: &[Offering], nodeclass: &NodeClass) -> Requirements {
        let table = &*self.table;
        let mut reqs = Vec::with_capacity(AWS_LABELS.len() + spec.extra_labels.len() + 8);
        let arch = table.str(spec.arch);
        reqs.push(Requirement::single(labels::INSTANCE_TYPE, table.name(spec)));
        reqs.push(Requirement::single(labels::ARCH, arch));
        let family = nodeclass.ami_family;
        if capacity::is_windows(family) {
            // Windows AMIs exist for amd64 only; other architectures cannot run the class.
            reqs.push(if arch == "amd64" {
                Requirement::single(labels::OS, "windows")
            } else {
                Requirement::does_not_exist(labels::OS)
            });
        } else {
            reqs.push(Requirement::single(labels::OS, table.str(spec.os)));
        }
        reqs.push(match capacity::windows_build(family) {
            Some(build) => Requirement::single(labels::WINDOWS_BUILD, build),
            None => Requirement::does_not_exist(labels::WINDOWS_BUILD),
        });
        reqs.push(Requirement::single(labels::REGION, self.region.as_str()));
        let mut zones: Vec<&str> = offerings.iter().map(|o| o.zone.as_str()).collect();
        zones.sort_unstable();
        zones.dedup();
        reqs.push(Requirement::any_of(labels::ZONE, zones));
        let mut capacity_types: Vec<&str> = offerings.iter().map(|o| o.capacity_type.as_str()).collect();
        capacity_types.sort_unstable();
        capacity_types.dedup();
        reqs.push(Requirement::any_of(labels::CAPACITY_TYPE, capacity_types));
        for (slot, key) in AWS_LABELS.iter().enumerate() {
            reqs.push(match spec.labels[slot] {
                NONE => Requirement::does_not_exist(key),
                value => Requirement::single(key, table.str(value)),
            });
        }
        for (key, value) in spec.extra_labels.iter() {
            reqs.push(Requirement::single(table.str(*key), table.str(*value)));
        }
        reqs.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requirements::Operator;

    #[test]
    fn m5_large_in_us_east_1() {
        let catalog = Catalog::aws("us-east-1").unwrap();
        assert_eq!(catalog.currency(), "USD");
        assert_eq!(catalog.zones().len(), 6);
        let it = catalog.instance_type("m5.large", &NodeClass::default()).unwrap();
        assert_eq!(
            it.allocatable.to_string(),
            "cpu=1930m memory=6903Mi pods=29 ephemeral-storage=17Gi vpc.amazonaws.com/pod-eni=9"
        );
        assert_eq!(it.offerings.len(), 12);
        assert_eq!(it.offerings[0].zone, "us-east-1a");
        assert_eq!(it.offerings[0].capacity_type, CapacityType::Spot);
        assert_eq!(it.offerings[1].price, 0.096);
        let zone = it.requirements.get(labels::ZONE).unwrap();
        assert_eq!(zone.values().count(), 6);
        let gpu = it.requirements.get(labels::INSTANCE_GPU_NAME).unwrap();
        assert_eq!(gpu.operator(), Operator::DoesNotExist);
        assert_eq!(it.requirements.get(labels::INSTANCE_FAMILY).unwrap().values().collect::<Vec<_>>(), ["m5"]);
        assert_eq!(it.cheapest_offering().unwrap().price, 0.0321);
    }

    #[test]
    fn offerings_out_of_capacity_are_unavailable_and_keep_their_price() {
        let catalog = Catalog::aws("us-east-1").unwrap();
        let before = catalog.instance_type("m5.large", &NodeClass::default()).unwrap();
        let gone = [
            ("m5.large".to_string(), "us-east-1a".to_string(), CapacityType::Spot),
            ("no.such".to_string(), "us-east-1a".to_string(), CapacityType::Spot),
        ];
        let after = catalog.clone().without_offerings(&gone);
        let it = after.instance_type("m5.large", &NodeClass::default()).unwrap();
        assert_eq!(it.offerings.len(), before.offerings.len());
        for (a, b) in it.offerings.iter().zip(&before.offerings) {
            assert_eq!((&a.zone, a.capacity_type, a.price), (&b.zone, b.capacity_type, b.price));
            let gone = a.zone == "us-east-1a" && a.capacity_type == CapacityType::Spot;
            assert_eq!(a.available, !gone, "{a:?}");
        }
        assert!(after.notes().iter().any(|n| n == "1 offering out of capacity lately, not launched for now"));
        // Other types are as they were; the sized types are not those of the catalog before.
        assert_eq!(
            after.instance_type("m5.xlarge", &NodeClass::default()),
            catalog.instance_type("m5.xlarge", &NodeClass::default())
        );
        assert!(after
            .sized(&NodeClass::default())
            .types
            .iter()
            .any(|t| t.name == "m5.large" && t.offerings.iter().any(|o| !o.available)));
    }

    #[test]
    fn unknown_region_names_the_known_ones() {
        let e = Catalog::aws("mars-north-1").unwrap_err().to_string();
        assert!(e.starts_with("unknown AWS region \"mars-north-1\"; known regions: af-south-1,"), "{e}");
        assert!(Catalog::aws("us-east-1-atl-1").is_err());
        let bad = CapacitySettings { vm_memory_overhead_percent: 2.0, reserved_enis: 0 };
        assert!(matches!(Catalog::aws_with("us-east-1", &bad), Err(crate::Error::Usage(_))));
    }

    #[test]
    fn regions_and_currencies() {
        let regions = Catalog::regions();
        assert!(regions.windows(2).all(|w| w[0] < w[1]));
        assert!(regions.contains(&"eu-west-1") && regions.contains(&"us-gov-east-1"));
        let cn = Catalog::aws("cn-north-1").unwrap();
        assert_eq!(cn.currency(), "CNY");
        let eu = Catalog::aws("eu-west-1").unwrap();
        assert!(eu.notes().iter().any(|n| n.starts_with("no on-demand price table for eu-west-1")), "{:?}", eu.notes());
        let gov = Catalog::aws("us-gov-west-1").unwrap();
        assert!(gov.notes().iter().any(|n| n.starts_with("no spot prices")));
        assert_eq!(format!("{:?}", gov).lines().count(), 1);
    }

    #[test]
    fn price_adjustments_apply() {
        let adj = PriceAdjustments::parse(
            "p.json",
            r#"{"onDemandDiscountPercent": 28, "overrides": [
                {"instanceType": "m5.large", "onDemand": 0.05},
                {"instanceType": "dl2q.24xlarge", "onDemand": 9.5},
                {"instanceType": "nope.large", "spot": 1},
                {"family": "c7g", "discountPercent": 40}]}"#,
        )
        .unwrap();
        let catalog = Catalog::aws("us-east-1").unwrap().with_prices(&adj);
        let nc = NodeClass::default();
        let price = |name: &str, ct: CapacityType| {
            catalog.instance_type(name, &nc).unwrap().offerings.iter().find(|o| o.capacity_type == ct).map(|o| o.price)
        };
        assert_eq!(price("m5.large", CapacityType::OnDemand), Some(0.05));
        assert_eq!(price("m5.large", CapacityType::Spot), Some(0.0321));
        assert!((price("m5.xlarge", CapacityType::OnDemand).unwrap() - 0.192 * 0.72).abs() < 1e-12);
        let c7g = Catalog::aws("us-east-1").unwrap().instance_type("c7g.large", &nc).unwrap();
        let base = c7g.offerings.iter().find(|o| o.capacity_type == CapacityType::OnDemand).unwrap().price;
        assert!((price("c7g.large", CapacityType::OnDemand).unwrap() - base * 0.6).abs() < 1e-12);
        assert_eq!(price("dl2q.24xlarge", CapacityType::OnDemand), Some(9.5));
        assert!(catalog.notes().iter().any(|n| n.contains("unknown instance types: nope.large")));
    }
}

//! Price adjustments: what a buyer actually pays — a Savings Plan or EDP discount on
//! on-demand, a spot discount, and per-type prices or per-family discounts. Documented with
//! examples in `core/docs/catalog.md`.

use super::csv::catalog_error;
use super::CapacityType;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Discounts and overrides applied to a catalog's prices by [`super::Catalog::with_prices`].
///
/// For each offering the price is, first match wins: an `instanceType` override's fixed price
/// for that capacity type; an `instanceType` override's `discountPercent`; a `family`
/// override's `discountPercent`; the catalog-wide discount for the capacity type.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriceAdjustments {
    /// Percent off every on-demand price (e.g. a Compute Savings Plan: 28).
    #[serde(default)]
    pub on_demand_discount_percent: f64,
    /// Percent off every spot price.
    #[serde(default)]
    pub spot_discount_percent: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<PriceOverride>,
}

/// A price or discount for one instance type or one family.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriceOverride {
    /// The instance type this applies to (`m5.large`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    /// The family this applies to (`c7g`: the `karpenter.k8s.aws/instance-family` label, or the
    /// name before the first `.`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// Fixed on-demand price per hour (instance types only). Creates on-demand offerings in
    /// every zone if the type had none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_demand: Option<f64>,
    /// Fixed spot price per hour (instance types only). Creates spot offerings likewise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spot: Option<f64>,
    /// Percent off the catalog price, replacing the catalog-wide discount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_percent: Option<f64>,
    /// Limits `discountPercent` to one capacity type (`on-demand` or `spot`); both when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_type: Option<CapacityType>,
}

impl PriceAdjustments {
    /// Reads adjustments from JSON or YAML. Errors name the source and the line and column
    /// (syntax) or the override (meaning).
    pub fn parse(source_name: &str, text: &str) -> crate::Result<PriceAdjustments> {
        // A bad value names its field: `overrides[2].onDemand: invalid type: ...`.
        let at =
            |path: String, e: String| catalog_error(source_name, if path == "." { e } else { format!("{path}: {e}") });
        let parsed: PriceAdjustments = if text.trim_start().starts_with('{') {
            serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(text))
                .map_err(|e| at(e.path().to_string(), e.into_inner().to_string()))?
        } else if text.trim().is_empty() {
            PriceAdjustments::default()
        } else {
            serde_path_to_error::deserialize(serde_yaml::Deserializer::from_str(text))
                .map_err(|e| at(e.path().to_string(), e.into_inner().to_string()))?
        };
        parsed.validate().map_err(|m| catalog_error(source_name, m))?;
        Ok(parsed)
    }

    /// Checks ranges and that no two overrides say different things about the same offering.
    pub fn validate(&self) -> Result<(), String> {
        percent("onDemandDiscountPercent", self.on_demand_discount_percent)?;
        percent("spotDiscountPercent", self.spot_discount_percent)?;
        let mut seen: HashMap<(bool, &str, CapacityType, bool), usize> = HashMap::new();
        for (i, o) in self.overrides.iter().enumerate() {
            let at = |m: String| format!("overrides[{i}]: {m}");
            let (is_type, key) = match (&o.instance_type, &o.family) {
                (Some(t), None) if !t.trim().is_empty() => (true, t.as_str()),
                (None, Some(f)) if !f.trim().is_empty() => (false, f.as_str()),
                (Some(_), Some(_)) => return Err(at("give either instanceType or family, not both".into())),
                _ => return Err(at("needs a non-empty instanceType or family".into())),
            };
            if o.on_demand.is_none() && o.spot.is_none() && o.discount_percent.is_none() {
                return Err(at("gives no onDemand, spot or discountPercent".into()));
            }
            if !is_type && (o.on_demand.is_some() || o.spot.is_some()) {
                return Err(at(format!(
                    "family {key}: fixed prices apply to one instance type; use discountPercent for a family"
                )));
            }
            if o.discount_percent.is_some() && (o.on_demand.is_some() || o.spot.is_some()) {
                return Err(at("give either fixed prices (onDemand/spot) or discountPercent, not both".into()));
            }
            if o.capacity_type.is_some() && o.discount_percent.is_none() {
                return Err(at("capacityType only qualifies discountPercent".into()));
            }
            if o.capacity_type == Some(CapacityType::Reserved) {
                return Err(at("capacityType must be on-demand or spot".into()));
            }
            for (field, price) in [("onDemand", o.on_demand), ("spot", o.spot)] {
                if let Some(p) = price {
                    if !p.is_finite() || p < 0.0 {
                        return Err(at(format!("{field}: price must be a non-negative number, got {p}")));
                    }
                }
            }
            if let Some(d) = o.discount_percent {
                percent("discountPercent", d).map_err(at)?;
            }
            let mut claim = |ct: CapacityType, fixed: bool| match seen.insert((is_type, key, ct, fixed), i) {
                Some(j) => Err(at(format!(
                    "repeats overrides[{j}] for {} {key} ({ct})",
                    if is_type { "instanceType" } else { "family" }
                ))),
                None => Ok(()),
            };
            if o.on_demand.is_some() {
                claim(CapacityType::OnDemand, true)?;
            }
            if o.spot.is_some() {
                claim(CapacityType::Spot, true)?;
            }
            if o.discount_percent.is_some() {
                for ct in [CapacityType::OnDemand, CapacityType::Spot] {
                    if o.capacity_type.is_none_or(|c| c == ct) {
                        claim(ct, false)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether applying these changes nothing.
    pub fn is_identity(&self) -> bool {
        self.on_demand_discount_percent == 0.0 && self.spot_discount_percent == 0.0 && self.overrides.is_empty()
    }

    /// A one-line summary for catalog notes.
    pub(crate) fn describe(&self) -> String {
        format!(
            "prices adjusted: on-demand −{}%, spot −{}%, {} override(s)",
            trim(self.on_demand_discount_percent),
            trim(self.spot_discount_percent),
            self.overrides.len()
        )
    }

    /// The rules, indexed for lookup. Call only after [`PriceAdjustments::validate`].
    pub(crate) fn rules(&self) -> Rules<'_> {
        let mut rules = Rules {
            adjustments: self,
            fixed: HashMap::new(),
            type_discount: HashMap::new(),
            family_discount: HashMap::new(),
        };
        for o in &self.overrides {
            if let Some(t) = &o.instance_type {
                if let Some(p) = o.on_demand {
                    rules.fixed.insert((t.as_str(), CapacityType::OnDemand), p);
                }
                if let Some(p) = o.spot {
                    rules.fixed.insert((t.as_str(), CapacityType::Spot), p);
                }
            }
            if let Some(d) = o.discount_percent {
                for ct in [CapacityType::OnDemand, CapacityType::Spot] {
                    if o.capacity_type.is_none_or(|c| c == ct) {
                        match (&o.instance_type, &o.family) {
                            (Some(t), _) => rules.type_discount.insert((t.as_str(), ct), d),
                            (None, Some(f)) => rules.family_discount.insert((f.as_str(), ct), d),
                            (None, None) => None,
                        };
                    }
                }
            }
        }
        rules
    }
}

/// Validated adjustments, indexed.
pub(crate) struct Rules<'a> {
    adjustments: &'a PriceAdjustments,
    fixed: HashMap<(&'a str, CapacityType), f64>,
    type_discount: HashMap<(&'a str, CapacityType), f64>,
    family_discount: HashMap<(&'a str, CapacityType), f64>,
}

impl Rules<'_> {
    /// A fixed price for this type and capacity type, if an override sets one.
    pub fn fixed(&self, name: &str, ct: CapacityType) -> Option<f64> {
        self.fixed.get(&(name, ct)).copied()
    }

    /// The adjusted price of an offering priced `base` in the catalog.
    pub fn price(&self, name: &str, family: &str, ct: CapacityType, base: f64) -> f64 {
        if ct == CapacityType::Reserved {
            // Reservations are paid for on their own terms.
            return base;
        }
        if let Some(p) = self.fixed(name, ct) {
            return p;
        }
        let discount =
            self.type_discount.get(&(name, ct)).or_else(|| self.family_discount.get(&(family, ct))).copied().unwrap_or(
                if ct == CapacityType::Spot {
                    self.adjustments.spot_discount_percent
                } else {
                    self.adjustments.on_demand_discount_percent
                },
            );
        base * (1.0 - discount / 100.0)
    }

    /// Instance types and families the overrides name, for reporting those a catalog lacks.
    pub fn named(&self) -> (Vec<&str>, Vec<&str>) {
        let mut types: Vec<&str> =
            self.adjustments.overrides.iter().filter_map(|o| o.instance_type.as_deref()).collect();
        let mut families: Vec<&str> = self.adjustments.overrides.iter().filter_map(|o| o.family.as_deref()).collect();
        types.sort_unstable();
        types.dedup();
        families.sort_unstable();
        families.dedup();
        (types, families)
    }
}

fn percent(field: &str, value: f64) -> Result<(), String> {
    if value.is_finite() && (0.0..=100.0).contains(&value) {
        Ok(())
    } else {
        Err(format!("{field} must be between 0 and 100, got {value}"))
    }
}

fn trim(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_json_and_yaml() {
        let json = r#"{"onDemandDiscountPercent": 28, "spotDiscountPercent": 0,
            "overrides": [{"instanceType": "m5.large", "onDemand": 0.05}, {"family": "c7g", "discountPercent": 40}]}"#;
        let a = PriceAdjustments::parse("p.json", json).unwrap();
        assert_eq!(a.on_demand_discount_percent, 28.0);
        assert_eq!(a.overrides.len(), 2);
        let yaml = "onDemandDiscountPercent: 28\noverrides:\n  - instanceType: m5.large\n    onDemand: 0.05\n  - family: c7g\n    discountPercent: 40\n";
        assert_eq!(PriceAdjustments::parse("p.yaml", yaml).unwrap(), a);
        assert!(PriceAdjustments::parse("p", "").unwrap().is_identity());
    }

    #[test]
    fn rules_follow_precedence() {
        let a = PriceAdjustments::parse(
            "p",
            r#"{"onDemandDiscountPercent": 10, "spotDiscountPercent": 5, "overrides": [
                {"instanceType": "m5.large", "onDemand": 0.05},
                {"instanceType": "m5.xlarge", "discountPercent": 50, "capacityType": "spot"},
                {"family": "m5", "discountPercent": 20}]}"#,
        )
        .unwrap();
        let r = a.rules();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(r.price("m5.large", "m5", CapacityType::OnDemand, 0.096), 0.05));
        assert!(close(r.price("m5.large", "m5", CapacityType::Spot, 0.1), 0.08));
        assert!(close(r.price("m5.xlarge", "m5", CapacityType::Spot, 0.1), 0.05));
        assert!(close(r.price("m5.xlarge", "m5", CapacityType::OnDemand, 0.1), 0.08));
        assert!(close(r.price("c5.large", "c5", CapacityType::OnDemand, 0.1), 0.09));
        assert!(close(r.price("c5.large", "c5", CapacityType::Spot, 0.1), 0.095));
    }

    #[test]
    fn errors_say_where() {
        let err = |text: &str| PriceAdjustments::parse("prices.json", text).unwrap_err().to_string();
        let e = err(r#"{"onDemandDiscountPercent": 128}"#);
        assert_eq!(e, "catalog prices.json: onDemandDiscountPercent must be between 0 and 100, got 128");
        let e = err(r#"{"onDemandDiscount": 28}"#);
        assert!(
            e.starts_with("catalog prices.json: onDemandDiscount: unknown field `onDemandDiscount`")
                && e.contains("line 1 column"),
            "{e}"
        );
        let e = err("{\n  \"overrides\": [\n    {\"instanceType\": \"m5.large\", \"onDemand\": \"cheap\"}]}");
        assert!(e.contains("overrides[0].onDemand: invalid type") && e.contains("line 3"), "{e}");
        let e = err(r#"{"overrides": [{"family": "c7g", "onDemand": 0.1}]}"#);
        assert!(e.contains("overrides[0]: family c7g: fixed prices apply to one instance type"), "{e}");
        let e = err(r#"{"overrides": [{"instanceType": "a.b", "spot": 1}, {"instanceType": "a.b", "spot": 2}]}"#);
        assert!(e.contains("overrides[1]: repeats overrides[0] for instanceType a.b (spot)"), "{e}");
        let e = err(r#"{"overrides": [{"instanceType": "a.b"}]}"#);
        assert!(e.contains("gives no onDemand"), "{e}");
        let e = err(r#"{"overrides": [{"instanceType": "a.b", "family": "a", "spot": 1}]}"#);
        assert!(e.contains("not both"), "{e}");
        let e = err(r#"{"overrides": [{"instanceType": "a.b", "spot": -1}]}"#);
        assert!(e.contains("non-negative"), "{e}");
        let e = err(r#"{"overrides": [{"family": "a", "discountPercent": 5, "capacityType": "reserved"}]}"#);
        assert!(e.contains("on-demand or spot"), "{e}");
        let e = PriceAdjustments::parse("p.yaml", "overrides:\n  - family: [x]\n").unwrap_err().to_string();
        assert!(e.starts_with("catalog p.yaml: overrides[0].family: invalid type") || e.contains("line 2"), "{e}");
    }
}

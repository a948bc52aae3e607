//! What the page passes in: the input (manifests and catalog settings) and each call's
//! options, as plain objects. Every struct refuses names it does not know, so a typo in an
//! option is an error naming it, not a silent default; values are parsed by the core's own
//! parsers, so their messages are the CLI's.

use fleetfit::consolidate::{ConsolidateOptions, ConsolidationMode};
use fleetfit::manifest::{HpaReplicas, ParseOptions, Validation};
use fleetfit::plan::Mode;
use fleetfit::simulate::trace::Shape;
use fleetfit::simulate::SimulateOptions;
use fleetfit::time::{Duration, Timestamp};
use fleetfit::whatif::Scenario;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use std::str::FromStr;

/// Reads options strictly: an error names `what` and the path of the option at fault
/// (`sweep options: scenarios[2].replicas: invalid type: ...`), or the unknown name.
pub fn read<T: DeserializeOwned>(what: &str, value: serde_json::Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| match e.path().to_string().as_str() {
        "." => format!("{what}: {}", e.inner()),
        path => format!("{what}: {path}: {}", e.inner()),
    })
}

/// A value given as text and read by the core's parser for its type (`"optimize"`, `"5m"`,
/// `"2026-12-01T10:00:00Z"`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Parsed<T>(pub T);

impl<'de, T> Deserialize<'de> for Parsed<T>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map(Parsed).map_err(serde::de::Error::custom)
    }
}

fn parsed_or<T: Copy>(value: &Option<Parsed<T>>, default: T) -> T {
    value.map_or(default, |p| p.0)
}

/// One manifest file: its name (used in errors and their locations) and its text.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub name: String,
    pub text: String,
}

/// The world a call plans in: manifests, read together (workloads, NodePools, a snapshot),
/// and the catalog they are priced with.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub sources: Vec<Source>,
    /// AWS region of the embedded catalog (default `us-east-1`).
    #[serde(default)]
    pub region: Option<String>,
    /// Price adjustments (JSON or YAML text), as the CLI's `--prices` file.
    #[serde(default)]
    pub prices: Option<String>,
    /// The zones new nodes may launch in; default: the zones the input implies (its
    /// EC2NodeClasses' subnets, NodePools' zone requirements, nodes), else the region's.
    #[serde(default)]
    pub zones: Option<Vec<String>>,
    /// `strict` (default) or `warn`: what an unknown field in a manifest is.
    #[serde(default)]
    pub validate: Option<Parsed<Validation>>,
    /// `min` (default) or `max`: how workloads a HorizontalPodAutoscaler scales are counted.
    #[serde(default)]
    pub hpa: Option<Parsed<HpaReplicas>>,
}

/// The source name of input given as one text.
pub const INPUT_NAME: &str = "input";

impl Input {
    /// Input of one text, with every setting at its default.
    pub fn text(text: &str) -> Input {
        Input { sources: vec![Source { name: INPUT_NAME.into(), text: text.into() }], ..Input::default() }
    }

    pub fn region(&self) -> &str {
        self.region.as_deref().unwrap_or("us-east-1")
    }

    pub fn parse_options(&self) -> ParseOptions {
        ParseOptions {
            validation: parsed_or(&self.validate, Validation::default()),
            hpa: parsed_or(&self.hpa, HpaReplicas::default()),
        }
    }

    /// The sources as the core reads them: (name, text).
    pub fn sources(&self) -> Vec<(String, String)> {
        self.sources.iter().map(|s| (s.name.clone(), s.text.clone())).collect()
    }
}

/// Options of `plan`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanArgs {
    /// `optimize` (default) or `karpenter`.
    #[serde(default)]
    pub mode: Option<Parsed<Mode>>,
}

impl PlanArgs {
    pub fn options(&self) -> fleetfit::plan::PlanOptions {
        fleetfit::plan::PlanOptions { mode: parsed_or(&self.mode, Mode::Optimize), ..Default::default() }
    }
}

/// Options of `explain`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplainArgs {
    /// How many of the cheapest candidates to list per workload (default 3).
    #[serde(default)]
    pub top: Option<usize>,
}

impl ExplainArgs {
    pub fn options(&self) -> fleetfit::ExplainOptions {
        fleetfit::ExplainOptions { top: self.top.unwrap_or(3) }
    }
}

/// Options of `consolidate`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsolidateArgs {
    /// The time to decide at (RFC 3339); the page passes the clock's.
    pub now: Parsed<Timestamp>,
    /// `optimize` (default), `karpenter` or `global`.
    #[serde(default)]
    pub mode: Option<Parsed<ConsolidationMode>>,
    #[serde(default)]
    pub spot_to_spot: Option<bool>,
    #[serde(default)]
    pub disruption_weight: Option<f64>,
    /// Also work out what Karpenter's rules alone would save (default true).
    #[serde(default)]
    pub compare: Option<bool>,
}

impl ConsolidateArgs {
    pub fn options(&self) -> ConsolidateOptions {
        let defaults = ConsolidateOptions::new(parsed_or(&self.mode, ConsolidationMode::Optimize), self.now.0);
        ConsolidateOptions {
            spot_to_spot: self.spot_to_spot.unwrap_or(defaults.spot_to_spot),
            disruption_weight: self.disruption_weight.unwrap_or(defaults.disruption_weight),
            compare: self.compare.unwrap_or(defaults.compare),
            ..defaults
        }
    }
}

/// Options of `simulate`: a trace (text), or a shape to generate one from.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulateArgs {
    /// The trace to replay (YAML or JSON text, the CLI's `--trace` format).
    #[serde(default)]
    pub trace: Option<String>,
    /// Instead of a trace: `diurnal`, `nightly-batch` or `spike`, with `start` and `days`.
    #[serde(default)]
    pub generate: Option<Parsed<Shape>>,
    #[serde(default)]
    pub start: Option<Parsed<Timestamp>>,
    #[serde(default)]
    pub days: Option<u32>,
    /// Provisioning's packing mode: `optimize` (default) or `karpenter`.
    #[serde(default)]
    pub mode: Option<Parsed<Mode>>,
    /// Consolidation's mode: `optimize` (default), `karpenter`, `global` or `off`.
    #[serde(default)]
    pub consolidation: Option<Parsed<Consolidation>>,
    /// How often consolidation runs (default `5m`).
    #[serde(default)]
    pub consolidation_interval: Option<Parsed<Duration>>,
    /// From a node's launch to Ready (default `60s`).
    #[serde(default)]
    pub startup: Option<Parsed<Duration>>,
}

/// A consolidation mode, or `off`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Consolidation(pub Option<ConsolidationMode>);

impl FromStr for Consolidation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" => Ok(Consolidation(None)),
            other => other.parse().map(|m| Consolidation(Some(m))).map_err(|e| format!("{e}, or off")),
        }
    }
}

impl SimulateArgs {
    pub fn options(&self) -> SimulateOptions {
        let defaults = SimulateOptions::default();
        SimulateOptions {
            mode: parsed_or(&self.mode, defaults.mode),
            consolidation: self.consolidation.map_or(defaults.consolidation, |c| c.0 .0),
            consolidation_interval: parsed_or(&self.consolidation_interval, defaults.consolidation_interval),
            startup: parsed_or(&self.startup, defaults.startup),
        }
    }
}

/// Options of `generate_trace` (and of `simulate` with `generate`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceArgs {
    /// `diurnal`, `nightly-batch` or `spike`.
    pub shape: Parsed<Shape>,
    /// The first day's start (default `2026-12-01T00:00:00Z`).
    #[serde(default)]
    pub start: Option<Parsed<Timestamp>>,
    /// How many days (default 1).
    #[serde(default)]
    pub days: Option<u32>,
}

/// The start of generated traces when none is given (the CLI's default).
pub const DEFAULT_TRACE_START: &str = "2026-12-01T00:00:00Z";

impl TraceArgs {
    pub fn start(&self) -> Timestamp {
        match self.start {
            Some(start) => start.0,
            None => DEFAULT_TRACE_START.parse().expect("the default start is a valid time"),
        }
    }
}

/// Options of `sweep`: the scenarios, planned in order.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepArgs {
    pub scenarios: Vec<ScenarioArgs>,
    /// `optimize` (default) or `karpenter`.
    #[serde(default)]
    pub mode: Option<Parsed<Mode>>,
}

/// One what-if scenario; an option left out changes nothing.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioArgs {
    /// Factor on each workload's pending pods.
    #[serde(default)]
    pub replicas: Option<f64>,
    /// Factor on each pending pod's CPU and memory requests.
    #[serde(default)]
    pub requests: Option<f64>,
    /// Share of each workload's pending pods pinned to spot (0–1).
    #[serde(default)]
    pub spot_share: Option<f64>,
    /// Instance families every NodePool is restricted to.
    #[serde(default)]
    pub families: Option<Vec<String>>,
}

impl ScenarioArgs {
    pub fn scenario(&self) -> Scenario {
        let defaults = Scenario::default();
        Scenario {
            replicas: self.replicas.unwrap_or(defaults.replicas),
            requests: self.requests.unwrap_or(defaults.requests),
            spot_share: self.spot_share,
            families: self.families.clone(),
        }
    }
}

/// Options of `catalog`: which catalog, as an [`Input`] names it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogArgs {
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub prices: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read<T: DeserializeOwned>(json: &str) -> Result<T, String> {
        super::read("options", serde_json::from_str(json).expect("JSON"))
    }

    #[test]
    fn unknown_options_are_refused_by_name() {
        let err = read::<PlanArgs>(r#"{"mdoe": "karpenter"}"#).expect_err("a typo");
        assert_eq!(err, "options: mdoe: unknown field `mdoe`, expected `mode`");
        let err = read::<SweepArgs>(r#"{"scenarios": [{}, {"replica": 2}]}"#).expect_err("a typo");
        assert!(err.starts_with("options: scenarios[1].replica: unknown field `replica`"), "{err}");
    }

    #[test]
    fn values_are_read_by_the_core_parsers() {
        let err = read::<PlanArgs>(r#"{"mode": "fast"}"#).expect_err("bad mode");
        assert_eq!(err, "options: mode: unknown mode \"fast\": use karpenter, optimize or exact");
        let args: SimulateArgs = read(r#"{"consolidation": "off", "startup": "2m"}"#).expect("valid");
        let options = args.options();
        assert_eq!((options.consolidation, options.startup), (None, Duration::from_secs(120)));
        let err = read::<SimulateArgs>(r#"{"consolidation": "never"}"#).expect_err("bad mode");
        assert!(err.ends_with(", or off"), "{err}");
    }

    #[test]
    fn defaults_are_the_cli_defaults() {
        assert_eq!(PlanArgs::default().options(), fleetfit::plan::PlanOptions::default());
        assert_eq!(ExplainArgs::default().options().top, 3);
        assert_eq!(ScenarioArgs::default().scenario(), Scenario::default());
        let trace = TraceArgs { shape: Parsed(Shape::Spike), start: None, days: None };
        assert_eq!(trace.start().to_string(), DEFAULT_TRACE_START);
        let input = Input::text("x");
        assert_eq!((input.region(), input.parse_options()), ("us-east-1", ParseOptions::default()));
    }
}

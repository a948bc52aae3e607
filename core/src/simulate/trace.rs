//! Traces: what happens to a cluster's workloads over time, as YAML or JSON.
//!
//! ```yaml
//! start: "2026-12-01T00:00:00Z"   # RFC 3339
//! duration: 24h                   # how long to replay (Go duration)
//! step: 1m                        # the timeline's resolution (default 1m)
//! events:                         # any order; replayed by time, then in the order written
//!   - at: 0s                      # offset from start
//!     scale: {workload: Deployment/shop/frontend, replicas: 6}
//!   - at: 1h30m
//!     run: {workload: Job/batch/etl, pods: 20, for: 45m}
//! ```
//!
//! `scale` sets the replicas of a Deployment, StatefulSet, ReplicaSet or
//! ReplicationController; `run` starts `pods` pods of a workload's template (a Job's, usually)
//! that finish after `for`. Workloads are named `Kind/namespace/name` (or `Kind/name` in the
//! default namespace) and must be in the manifests the trace is replayed against.

use crate::model::ObjectRef;
use crate::time::{Duration, Timestamp};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// A trace of events over a span of time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub start: Timestamp,
    pub duration: Duration,
    /// The timeline's resolution: events, provisioning and records happen on steps.
    pub step: Duration,
    /// Sorted by time (stable: events at the same time keep their written order).
    pub events: Vec<Event>,
}

/// One event, at an offset from the trace's start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at: Duration,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The workload wants this many replicas from now on.
    Scale { workload: ObjectRef, replicas: u32 },
    /// `pods` pods of the workload's template start now and finish after `runs_for`.
    Run { workload: ObjectRef, pods: u32, runs_for: Duration },
}

impl Action {
    pub fn workload(&self) -> &ObjectRef {
        match self {
            Action::Scale { workload, .. } | Action::Run { workload, .. } => workload,
        }
    }
}

/// The longest trace replayed (a year), and the most steps.
const MAX_DURATION_SECS: i64 = 366 * 24 * 3600;
const MAX_STEPS: i64 = 1_000_000;
const MAX_PODS_PER_EVENT: u64 = 100_000;

impl Trace {
    /// Reads a trace from YAML or JSON text; errors name the field (`events[3].scale.replicas`).
    pub fn parse(source_name: &str, text: &str) -> Result<Trace> {
        let value: serde_yaml::Value = serde_yaml::from_str(text)
            .map_err(|e| Error::Syntax { source_name: source_name.to_string(), message: e.to_string() })?;
        let object = format!("trace {source_name}");
        let field = |path: &str, message: String| Error::field(object.clone(), path.to_string(), message);
        let map = value
            .as_mapping()
            .ok_or_else(|| field("(top level)", "expected a mapping with start, duration and events".into()))?;
        for key in map.keys() {
            let k = key.as_str().unwrap_or_default();
            if !["start", "duration", "step", "events"].contains(&k) {
                return Err(field(k, "unknown field: use start, duration, step and events".into()));
            }
        }
        let text_of = |v: Option<&serde_yaml::Value>, path: &str| -> Result<String> {
            match v {
                Some(serde_yaml::Value::String(s)) => Ok(s.clone()),
                Some(serde_yaml::Value::Number(n)) => Ok(n.to_string()),
                Some(_) => Err(field(path, "expected a string".into())),
                None => Err(field(path, "required".into())),
            }
        };
        let duration_of = |v: Option<&serde_yaml::Value>, path: &str| -> Result<Duration> {
            let s = text_of(v, path)?;
            let d: Duration = s.parse().map_err(|e: String| field(path, e))?;
            Ok(d)
        };
        let start: Timestamp = text_of(map.get("start"), "start")?.parse().map_err(|e: String| field("start", e))?;
        let duration = duration_of(map.get("duration"), "duration")?;
        if duration.0 <= 0 || duration.secs() > MAX_DURATION_SECS {
            return Err(field("duration", format!("{duration} is out of range: use more than 0s and at most 8784h")));
        }
        let step = match map.get("step") {
            None => Duration::from_secs(60),
            some => duration_of(some, "step")?,
        };
        if step.secs() < 1 {
            return Err(field("step", format!("{step} is too short: use 1s or more")));
        }
        if duration.0 / step.0 > MAX_STEPS {
            return Err(field("step", format!("{step} over {duration} is more than {MAX_STEPS} steps")));
        }
        let mut events = Vec::new();
        let items = match map.get("events") {
            None | Some(serde_yaml::Value::Null) => Vec::new(),
            Some(serde_yaml::Value::Sequence(items)) => items.clone(),
            Some(_) => return Err(field("events", "expected a list".into())),
        };
        for (i, item) in items.iter().enumerate() {
            let path = format!("events[{i}]");
            let m =
                item.as_mapping().ok_or_else(|| field(&path, "expected a mapping with at and scale or run".into()))?;
            let at = duration_of(m.get("at"), &format!("{path}.at"))?;
            if at.0 < 0 || at >= duration {
                return Err(field(&format!("{path}.at"), format!("{at} is outside the trace's {duration}")));
            }
            let kinds: Vec<&str> = m.keys().filter_map(|k| k.as_str()).filter(|k| *k != "at").collect();
            let action = match kinds.as_slice() {
                ["scale"] => {
                    let p = format!("{path}.scale");
                    let s = m
                        .get("scale")
                        .and_then(|v| v.as_mapping())
                        .ok_or_else(|| field(&p, "expected a mapping with workload and replicas".into()))?;
                    only(s, &["workload", "replicas"], &p, &field)?;
                    let workload = workload(&text_of(s.get("workload"), &format!("{p}.workload"))?)
                        .map_err(|e| field(&format!("{p}.workload"), e))?;
                    let replicas = count(s.get("replicas"), &format!("{p}.replicas"), &field)?;
                    Action::Scale { workload, replicas }
                }
                ["run"] => {
                    let p = format!("{path}.run");
                    let r = m
                        .get("run")
                        .and_then(|v| v.as_mapping())
                        .ok_or_else(|| field(&p, "expected a mapping with workload, pods and for".into()))?;
                    only(r, &["workload", "pods", "for"], &p, &field)?;
                    let workload = workload(&text_of(r.get("workload"), &format!("{p}.workload"))?)
                        .map_err(|e| field(&format!("{p}.workload"), e))?;
                    let pods = count(r.get("pods"), &format!("{p}.pods"), &field)?;
                    let runs_for = duration_of(r.get("for"), &format!("{p}.for"))?;
                    if runs_for.0 <= 0 {
                        return Err(field(&format!("{p}.for"), format!("{runs_for}: a run must last more than 0s")));
                    }
                    Action::Run { workload, pods, runs_for }
                }
                _ => return Err(field(&path, "expected exactly one of scale or run, besides at".into())),
            };
            events.push(Event { at, action });
        }
        events.sort_by_key(|e| e.at);
        Ok(Trace { start, duration, step, events })
    }

    /// The number of steps.
    pub fn steps(&self) -> usize {
        (self.duration.0 / self.step.0).max(1) as usize
    }
}

fn only(m: &serde_yaml::Mapping, allowed: &[&str], path: &str, field: &impl Fn(&str, String) -> Error) -> Result<()> {
    for k in m.keys() {
        let k = k.as_str().unwrap_or_default();
        if !allowed.contains(&k) {
            return Err(field(&format!("{path}.{k}"), format!("unknown field: use {}", allowed.join(", "))));
        }
    }
    Ok(())
}

fn count(v: Option<&serde_yaml::Value>, path: &str, field: &impl Fn(&str, String) -> Error) -> Result<u32> {
    let n = v.and_then(|v| v.as_u64()).ok_or_else(|| field(path, "expected a whole number, 0 or more".into()))?;
    if n > MAX_PODS_PER_EVENT {
        return Err(field(path, format!("{n} is more than {MAX_PODS_PER_EVENT}")));
    }
    Ok(n as u32)
}

/// `Kind/namespace/name` or `Kind/name` (namespace `default`).
fn workload(s: &str) -> std::result::Result<ObjectRef, String> {
    let parts: Vec<&str> = s.split('/').collect();
    let bad = || format!("{s:?}: name a workload as Kind/namespace/name, e.g. Deployment/shop/frontend");
    match parts.as_slice() {
        [kind, name] if !kind.is_empty() && !name.is_empty() => Ok(ObjectRef::new(kind, "default", name)),
        [kind, namespace, name] if !kind.is_empty() && !namespace.is_empty() && !name.is_empty() => {
            Ok(ObjectRef::new(kind, namespace, name))
        }
        _ => Err(bad()),
    }
}

/// Common shapes of a day, for [`Trace::generate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// Web traffic: every Deployment and StatefulSet follows a daily curve, its replicas in
    /// the manifests at the 15:00 peak, 30% of them (at least one) at the 03:00 trough,
    /// re-scaled every 30 minutes. Jobs are idle.
    Diurnal,
    /// The diurnal day, plus every Job and CronJob run nightly at 01:00 for two hours with
    /// its parallelism.
    NightlyBatch,
    /// Steady replicas, tripled from 12:00 to 12:30.
    Spike,
}

impl std::str::FromStr for Shape {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "diurnal" => Ok(Shape::Diurnal),
            "nightly-batch" => Ok(Shape::NightlyBatch),
            "spike" => Ok(Shape::Spike),
            other => Err(format!("unknown trace shape {other:?}: use diurnal, nightly-batch or spike")),
        }
    }
}

/// Re-scaling interval of the diurnal curve.
const DIURNAL_EVERY_SECS: i64 = 1800;

impl Trace {
    /// A trace of `days` days from `start` (`step` apart) in the given shape, for the workloads
    /// of an inventory (their replicas as the manifests give them).
    /// `days` must be 1 to 366, as long as a trace may be.
    pub fn generate(
        shape: Shape,
        workloads: &[crate::model::Workload],
        start: Timestamp,
        days: u32,
        step: Duration,
    ) -> crate::Result<Trace> {
        if days == 0 || i64::from(days) * 86_400 > MAX_DURATION_SECS {
            return Err(crate::Error::Usage(format!(
                "days: {days} days: a generated trace is 1 to {} days long",
                MAX_DURATION_SECS / 86_400
            )));
        }
        let duration = Duration::from_secs(i64::from(days) * 86_400);
        let mut events = Vec::new();
        let scalable = |w: &&crate::model::Workload| {
            matches!(w.reference.kind.as_str(), "Deployment" | "StatefulSet" | "ReplicaSet" | "ReplicationController")
        };
        let jobs = |w: &&crate::model::Workload| matches!(w.reference.kind.as_str(), "Job" | "CronJob");
        // Jobs are idle unless the shape runs them.
        for w in workloads.iter().filter(jobs) {
            events
                .push(Event { at: Duration(0), action: Action::Scale { workload: w.reference.clone(), replicas: 0 } });
        }
        match shape {
            Shape::Diurnal | Shape::NightlyBatch => {
                let mut at = 0;
                let mut last: std::collections::BTreeMap<&ObjectRef, u32> = Default::default();
                while at < duration.secs() {
                    let hour = ((start.0 + at).rem_euclid(86_400)) as f64 / 3600.0;
                    // 1 at 15:00, 0 at 03:00.
                    let level = (1.0 - (2.0 * std::f64::consts::PI * (hour - 3.0) / 24.0).cos()) / 2.0;
                    for w in workloads.iter().filter(scalable) {
                        let peak = f64::from(w.replicas);
                        let replicas = (peak * (0.3 + 0.7 * level)).round().max(1.0).min(peak) as u32;
                        if last.insert(&w.reference, replicas) == Some(replicas) {
                            continue;
                        }
                        events.push(Event {
                            at: Duration::from_secs(at),
                            action: Action::Scale { workload: w.reference.clone(), replicas },
                        });
                    }
                    at += DIURNAL_EVERY_SECS;
                }
                if shape == Shape::NightlyBatch {
                    for day in 0..i64::from(days) {
                        // 01:00 of each day, from the start's midnight.
                        let midnight = start.0.div_euclid(86_400) * 86_400 + day * 86_400;
                        let at = midnight + 3600 - start.0;
                        if at < 0 || at >= duration.secs() {
                            continue;
                        }
                        for w in workloads.iter().filter(jobs) {
                            events.push(Event {
                                at: Duration::from_secs(at),
                                action: Action::Run {
                                    workload: w.reference.clone(),
                                    pods: w.replicas.max(1),
                                    runs_for: Duration::from_secs(7200),
                                },
                            });
                        }
                    }
                }
            }
            Shape::Spike => {
                for day in 0..i64::from(days) {
                    let noon = start.0.div_euclid(86_400) * 86_400 + day * 86_400 + 12 * 3600 - start.0;
                    if noon < 0 || noon + 1800 >= duration.secs() {
                        continue;
                    }
                    for w in workloads.iter().filter(scalable) {
                        let workload = w.reference.clone();
                        events.push(Event {
                            at: Duration::from_secs(noon),
                            action: Action::Scale { workload: workload.clone(), replicas: w.replicas * 3 },
                        });
                        events.push(Event {
                            at: Duration::from_secs(noon + 1800),
                            action: Action::Scale { workload, replicas: w.replicas },
                        });
                    }
                }
            }
        }
        events.sort_by_key(|e| e.at);
        Ok(Trace { start, duration, step, events })
    }

    /// The trace in its documented YAML form ([`Trace::parse`] reads it back).
    pub fn to_yaml(&self) -> String {
        use std::fmt::Write;
        let name = |w: &ObjectRef| format!("{}/{}/{}", w.kind, w.namespace, w.name);
        let mut out = format!("start: \"{}\"\nduration: {}\nstep: {}\nevents:\n", self.start, self.duration, self.step);
        for e in &self.events {
            let _ = match &e.action {
                Action::Scale { workload, replicas } => {
                    writeln!(out, "  - {{at: {}, scale: {{workload: {}, replicas: {replicas}}}}}", e.at, name(workload))
                }
                Action::Run { workload, pods, runs_for } => writeln!(
                    out,
                    "  - {{at: {}, run: {{workload: {}, pods: {pods}, for: {runs_for}}}}}",
                    e.at,
                    name(workload)
                ),
            };
        }
        out
    }
}

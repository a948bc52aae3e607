//! A path-tracking view into one object's JSON tree: every accessor knows where it is
//! (`spec.template.spec.containers[0].resources.requests.cpu`) and files a field error naming
//! the object and that path instead of failing, so one pass reports every problem.

use super::schema::Validation;
use crate::error::Error;
use crate::model::Labels;
use crate::quantity::Quantity;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt::{Display, Write};
use std::str::FromStr;

/// The errors found in one object, each filed once per field path, and the warnings.
pub(super) struct Report {
    object: String,
    errors: RefCell<Vec<Error>>,
    seen: RefCell<HashSet<String>>,
    /// Whether a likely mistake (an unknown field or label) is an error or a warning.
    validation: Validation,
    warnings: RefCell<Vec<Error>>,
    /// Unknown label keys constrained here, with the error each would be: judged once every
    /// object is read, as a NodePool or Node of the input may define the label.
    label_doubts: RefCell<Vec<(String, Error)>>,
    /// The paths of the cursors made over this report, written out only for a message.
    paths: RefCell<Paths>,
}

/// Field paths as a tree of steps: a cursor holds the index of its last step, and the path
/// text is spelt out only when a message needs it.
#[derive(Default)]
struct Paths {
    steps: Vec<Step>,
    /// The map keys of the steps, one after another.
    keys: String,
}

/// One step: its parent's index ([`ROOT`] for a top-level one) and a map key (a range of
/// [`Paths::keys`]) or a list index.
#[derive(Clone, Copy)]
struct Step {
    parent: u32,
    segment: Segment,
}

#[derive(Clone, Copy)]
enum Segment {
    Key { start: u32, end: u32 },
    Index(u32),
}

/// The path of the document itself.
const ROOT: u32 = u32::MAX;

impl Paths {
    /// Empty paths, in the room a dropped report left if there is one.
    fn take() -> Paths {
        match SPARE_PATHS.with(|spare| spare.borrow_mut().take()) {
            Some(mut paths) => {
                paths.steps.clear();
                paths.keys.clear();
                paths
            }
            None => Paths { steps: Vec::with_capacity(256), keys: String::with_capacity(2048) },
        }
    }

    fn push(&mut self, parent: u32, segment: Segment) -> u32 {
        let index = self.steps.len() as u32;
        self.steps.push(Step { parent, segment });
        index
    }

    fn key(&mut self, parent: u32, key: &str) -> u32 {
        let start = self.keys.len() as u32;
        self.keys.push_str(key);
        self.push(parent, Segment::Key { start, end: self.keys.len() as u32 })
    }

    /// The path ending at step `at`, as messages write it:
    /// `spec.containers[0].resources.requests["nvidia.com/gpu"]` (empty for the document).
    fn text(&self, mut at: u32) -> String {
        let mut chain = Vec::new();
        while at != ROOT {
            let step = self.steps[at as usize];
            chain.push(step.segment);
            at = step.parent;
        }
        let mut out = String::new();
        for segment in chain.into_iter().rev() {
            match segment {
                Segment::Key { start, end } => {
                    let key = &self.keys[start as usize..end as usize];
                    if !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
                        if !out.is_empty() {
                            out.push('.');
                        }
                        out.push_str(key);
                    } else {
                        let _ = write!(out, "[{key:?}]");
                    }
                }
                Segment::Index(i) => {
                    let _ = write!(out, "[{i}]");
                }
            }
        }
        out
    }
}

impl Report {
    /// `object` is the display name, such as `Deployment shop/web`.
    pub fn new(object: impl Into<String>) -> Self {
        Report::with_validation(object, Validation::Strict)
    }

    pub fn with_validation(object: impl Into<String>, validation: Validation) -> Self {
        Report {
            object: object.into(),
            errors: RefCell::new(Vec::new()),
            seen: RefCell::new(HashSet::new()),
            validation,
            warnings: RefCell::new(Vec::new()),
            label_doubts: RefCell::new(Vec::new()),
            paths: RefCell::new(Paths::take()),
        }
    }

    /// The unknown label keys filed with [`Cursor::doubt_label`].
    pub fn take_label_doubts(&self) -> Vec<(String, Error)> {
        self.label_doubts.take()
    }

    /// Files a likely mistake about `field` (an unknown field or label key): an error under
    /// [`Validation::Strict`], a warning under [`Validation::Warn`].
    pub fn doubt(&self, field: &str, message: impl Into<String>) {
        match self.validation {
            Validation::Strict => self.error(field, message),
            Validation::Warn => {
                if self.seen.borrow_mut().insert(field.to_string()) {
                    self.warnings.borrow_mut().push(Error::field(self.object.clone(), field, message));
                }
            }
        }
    }

    /// The warnings filed with [`Report::doubt`].
    pub fn take_warnings(&self) -> Vec<Error> {
        self.warnings.take()
    }

    /// Files an error about `field`; a second error about the same field is dropped, as it
    /// would only repeat the first (a wrong type seen through several children).
    pub fn error(&self, field: &str, message: impl Into<String>) {
        if self.seen.borrow_mut().insert(field.to_string()) {
            self.errors.borrow_mut().push(Error::field(self.object.clone(), field, message));
        }
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.borrow().is_empty()
    }

    pub fn into_errors(self) -> Vec<Error> {
        self.errors.take()
    }
}

impl Drop for Report {
    /// Hands the paths' room to the next report.
    fn drop(&mut self) {
        let paths = std::mem::take(self.paths.get_mut());
        SPARE_PATHS.with(|spare| *spare.borrow_mut() = Some(paths));
    }
}

thread_local! {
    /// The room of the last report's paths: one object is read at a time, so its reports
    /// take turns with it instead of each allocating and growing its own.
    static SPARE_PATHS: RefCell<Option<Paths>> = const { RefCell::new(None) };
}

/// A position in the tree: the value there (if any) and the path that leads to it.
/// A `null` counts as absent, as Kubernetes reads it.
#[derive(Clone, Copy)]
pub(super) struct Cursor<'a> {
    value: Option<&'a Value>,
    /// The last step of the path in the report's [`Paths`].
    path: u32,
    report: &'a Report,
}

/// What a JSON value is, for "expected X, found Y" messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

impl<'a> Cursor<'a> {
    pub fn root(value: &'a Value, report: &'a Report) -> Self {
        Cursor { value: Some(value).filter(|v| !v.is_null()), path: ROOT, report }
    }

    pub fn report(&self) -> &'a Report {
        self.report
    }

    pub fn value(&self) -> Option<&'a Value> {
        self.value
    }

    pub fn is_present(&self) -> bool {
        self.value.is_some()
    }

    /// This field's path as messages name it (`(document)` for the object itself).
    fn field(&self) -> String {
        match self.path {
            ROOT => "(document)".to_string(),
            at => self.report.paths.borrow().text(at),
        }
    }

    /// Files an error about this field.
    pub fn error(&self, message: impl Into<String>) {
        self.report.error(&self.field(), message);
    }

    /// Files a likely mistake about this field (see [`Report::doubt`]).
    pub fn doubt(&self, message: impl Into<String>) {
        self.report.doubt(&self.field(), message);
    }

    /// Files an unknown node label key constrained here (see [`Report::take_label_doubts`]).
    pub fn doubt_label(&self, key: &str, message: impl Into<String>) {
        let error = Error::field(self.report.object.clone(), self.field(), message);
        self.report.label_doubts.borrow_mut().push((key.to_string(), error));
    }

    fn wrong_type(&self, expected: &str, found: &Value) {
        self.error(format!("expected {expected}, found {}", kind_of(found)));
    }

    fn key_child(&self, key: &str, value: Option<&'a Value>) -> Cursor<'a> {
        let path = self.report.paths.borrow_mut().key(self.path, key);
        Cursor { value: value.filter(|v| !v.is_null()), path, report: self.report }
    }

    fn index_child(&self, index: usize, value: &'a Value) -> Cursor<'a> {
        let path = self.report.paths.borrow_mut().push(self.path, Segment::Index(index as u32));
        Cursor { value: Some(value).filter(|v| !v.is_null()), path, report: self.report }
    }

    /// The entry `key` of this map, whose value is `value`.
    pub fn entry(&self, key: &str, value: &'a Value) -> Cursor<'a> {
        self.key_child(key, Some(value))
    }

    /// The item `index` of this list, which is `value`.
    pub fn item(&self, index: usize, value: &'a Value) -> Cursor<'a> {
        self.index_child(index, value)
    }

    /// The field `key` of a map. On anything but a map, files a type error here and returns
    /// an absent cursor.
    pub fn get(&self, key: &str) -> Cursor<'a> {
        let value = match self.value {
            None => None,
            Some(Value::Object(map)) => map.get(key),
            Some(other) => {
                self.wrong_type("a map", other);
                None
            }
        };
        self.key_child(key, value)
    }

    /// Whether this is a map, filing a type error if it is present and not one.
    pub fn is_map(&self) -> bool {
        match self.value {
            Some(Value::Object(_)) => true,
            Some(other) => {
                self.wrong_type("a map", other);
                false
            }
            None => false,
        }
    }

    /// The items of a list (none when absent), each with its `[i]` path.
    pub fn items(&self) -> Vec<Cursor<'a>> {
        match self.value {
            None => Vec::new(),
            Some(Value::Array(items)) => items.iter().enumerate().map(|(i, v)| self.index_child(i, v)).collect(),
            Some(other) => {
                self.wrong_type("a list", other);
                Vec::new()
            }
        }
    }

    /// The entries of a map (none when absent), in key order.
    pub fn entries(&self) -> Vec<(&'a str, Cursor<'a>)> {
        match self.value {
            None => Vec::new(),
            Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.as_str(), self.key_child(k, Some(v)))).collect(),
            Some(other) => {
                self.wrong_type("a map", other);
                Vec::new()
            }
        }
    }

    /// A string; `None` when absent or of another type (then with an error).
    pub fn str(&self) -> Option<&'a str> {
        match self.value {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                self.wrong_type("a string", other);
                None
            }
        }
    }

    pub fn string(&self) -> Option<String> {
        self.str().map(str::to_string)
    }

    /// A string that must be there and not be empty.
    pub fn required_str(&self) -> Option<&'a str> {
        match self.str() {
            Some("") => {
                self.error("must not be empty");
                None
            }
            Some(s) => Some(s),
            None => {
                if !self.is_present() {
                    self.error("required");
                }
                None
            }
        }
    }

    /// An integer; a string or a fraction is an error, as it is to the API server.
    pub fn int(&self) -> Option<i64> {
        match self.value {
            None => None,
            Some(Value::Number(n)) => {
                if let Some(i) = n.as_i64() {
                    Some(i)
                } else if n.as_u64().is_some() {
                    self.error(format!("{n} is out of range"));
                    None
                } else {
                    match n.as_f64() {
                        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
                        _ => {
                            self.error(format!("expected an integer, found {n}"));
                            None
                        }
                    }
                }
            }
            Some(other) => {
                self.wrong_type("an integer", other);
                None
            }
        }
    }

    /// An integer within `min..=max`.
    pub fn int_in(&self, min: i64, max: i64) -> Option<i64> {
        let n = self.int()?;
        if n < min || n > max {
            if min == 0 && n < 0 {
                self.error(format!("must not be negative, got {n}"));
            } else if max == i64::MAX {
                self.error(format!("must be at least {min}, got {n}"));
            } else {
                self.error(format!("must be between {min} and {max}, got {n}"));
            }
            return None;
        }
        Some(n)
    }

    pub fn bool(&self) -> Option<bool> {
        match self.value {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(other) => {
                self.wrong_type("true or false", other);
                None
            }
        }
    }

    /// A map of strings (labels, annotations, a nodeSelector).
    pub fn string_map(&self) -> Labels {
        self.entries().into_iter().filter_map(|(k, v)| Some((k.to_string(), v.string()?))).collect()
    }

    /// A list of strings.
    pub fn string_list(&self) -> Vec<String> {
        self.items().iter().filter_map(Cursor::string).collect()
    }

    /// Parses a string with `FromStr`, filing the parser's message on failure.
    pub fn parse<T>(&self) -> Option<T>
    where
        T: FromStr,
        T::Err: Display,
    {
        let s = self.str()?;
        match s.parse() {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(e.to_string());
                None
            }
        }
    }

    /// A string that must be one of `allowed`.
    pub fn one_of(&self, allowed: &[&str]) -> Option<&'a str> {
        let s = self.str()?;
        if allowed.contains(&s) {
            Some(s)
        } else {
            self.error(format!(
                "unknown value {s:?}: use {}{}",
                join_or(allowed),
                if allowed.len() > 1 { crate::suggest::hint(s, allowed.iter().copied()) } else { String::new() }
            ));
            None
        }
    }

    /// A quantity, written as a string (`"1.5Gi"`) or a bare number (`2`, `0.5`).
    pub fn quantity(&self) -> Option<Quantity> {
        let parsed = match self.value? {
            Value::String(s) => s.parse::<Quantity>(),
            Value::Number(n) => number_text(n).parse::<Quantity>(),
            other => {
                self.wrong_type("a quantity such as \"500m\" or \"1Gi\"", other);
                return None;
            }
        };
        match parsed {
            Ok(q) => Some(q),
            Err(e) => {
                self.error(e.to_string());
                None
            }
        }
    }

    /// A quantity that must not be negative.
    pub fn non_negative_quantity(&self) -> Option<Quantity> {
        let q = self.quantity()?;
        if q.is_negative() {
            self.error(format!("quantity {q} must not be negative"));
            return None;
        }
        Some(q)
    }
}

/// A JSON number as quantity text: integers as written, large or tiny floats in exponent
/// form (`1e30`), so the quantity parser sees what the user wrote.
fn number_text(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    match n.as_f64() {
        Some(f) if f != 0.0 && (f.abs() >= 1e15 || f.abs() < 1e-3) => format!("{f:e}"),
        Some(f) => format!("{f}"),
        None => n.to_string(),
    }
}

/// `a, b or c`.
pub(super) fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_and_errors() {
        let doc = json!({"spec": {"containers": [{"resources": {"requests": {"cpu": "1.5x", "nvidia.com/gpu": -1}}}]}});
        let report = Report::new("Pod default/x");
        let root = Cursor::root(&doc, &report);
        let requests = root.get("spec").get("containers").items()[0].get("resources").get("requests");
        assert!(requests.get("cpu").quantity().is_none());
        assert!(requests.get("nvidia.com/gpu").non_negative_quantity().is_none());
        let errors: Vec<String> = report.into_errors().iter().map(ToString::to_string).collect();
        assert_eq!(
            errors,
            [
                "Pod default/x: spec.containers[0].resources.requests.cpu: invalid quantity \"1.5x\": unknown suffix; use one of n u m k M G T P E Ki Mi Gi Ti Pi Ei or an exponent like e3",
                "Pod default/x: spec.containers[0].resources.requests[\"nvidia.com/gpu\"]: quantity -1 must not be negative",
            ]
        );
    }

    #[test]
    fn wrong_types_are_reported_once() {
        let doc = json!({"metadata": "oops", "n": "3", "f": 1.5});
        let report = Report::new("Pod default/x");
        let root = Cursor::root(&doc, &report);
        assert!(root.get("metadata").get("name").str().is_none());
        assert!(root.get("metadata").get("labels").string_map().is_empty());
        assert_eq!(root.get("n").int(), None);
        assert_eq!(root.get("f").int(), None);
        assert_eq!(report.into_errors().len(), 3);
    }

    #[test]
    fn numbers_keep_their_meaning() {
        let doc = json!({"a": 1e30, "b": 0.5, "c": 2});
        let report = Report::new("x");
        let root = Cursor::root(&doc, &report);
        assert!(root.get("a").quantity().is_none());
        assert_eq!(root.get("b").quantity(), Some(Quantity::from_milli(500)));
        assert_eq!(root.get("c").quantity(), Some(Quantity::from_units(2)));
        let errors = report.into_errors();
        assert!(errors[0].to_string().contains("\"1e30\""), "{}", errors[0]);
    }
}

//! Where an error is written: the source and line of the field an [`Error`] names, so an
//! editor can link a message to its line. Error messages themselves stay as they are; this
//! reads the sources again, with positions, only once something has gone wrong.
//!
//! A field error names its object as the reader does (`Deployment shop/web`, found among the
//! documents and `kind: List` items of every source) and its field as a path
//! (`spec.template.spec.containers[0].resources.requests.cpu`), which is walked through the
//! object as written, YAML block or flow style or JSON. A field that is not written (a
//! required one that is missing) is placed at the deepest part of its path that is. A syntax
//! error carries its line in its message already.

use super::meta;
use crate::error::Error;
use saphyr_parser::{Event, Parser};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A line of a source (1-based).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The source's name, as given with its text.
    pub source: String,
    pub line: usize,
}

/// Finds where `error` is written among `sources` ((name, text) pairs, as parsed); for
/// [`Error::Many`], where the first of its errors that can be placed is.
pub fn locate(sources: &[(String, String)], error: &Error) -> Option<Location> {
    Locator::new(sources).locate(error)
}

/// [`locate`] for many errors of the same sources: each source is read at most once.
pub struct Locator<'a> {
    sources: &'a [(String, String)],
    read: HashMap<usize, Vec<Node>>,
}

impl<'a> Locator<'a> {
    pub fn new(sources: &'a [(String, String)]) -> Self {
        Locator { sources, read: HashMap::new() }
    }

    /// Where `error` is written, if it is about one of the sources.
    pub fn locate(&mut self, error: &Error) -> Option<Location> {
        match error {
            Error::Field { object, field, .. } => self.field(object, field),
            Error::Syntax { source_name, message } => {
                let known = self.sources.iter().any(|(name, _)| name == source_name);
                let line = line_in_message(message)?;
                known.then(|| Location { source: source_name.clone(), line })
            }
            Error::Many(errors) => errors.iter().find_map(|e| self.locate(e)),
            Error::Catalog { .. } | Error::Usage(_) => None,
        }
    }

    fn documents(&mut self, index: usize) -> &[Node] {
        let sources = self.sources;
        self.read.entry(index).or_insert_with(|| read_documents(&sources[index].1))
    }

    fn field(&mut self, object: &str, field: &str) -> Option<Location> {
        let path = steps(field);
        for index in 0..self.sources.len() {
            let source = self.sources[index].0.clone();
            // An object without a kind is named by its document's line; a trace by its source.
            if let Some(line) = object.strip_prefix(&format!("{source}: object in the document at line ")) {
                let line: usize = line.parse().ok()?;
                let doc = self.documents(index).iter().find(|d| d.line() == line);
                return Some(Location { source, line: doc.map_or(line, |d| line_of(d, &path)) });
            }
            if object.strip_prefix("trace ") == Some(source.as_str()) {
                let line = self.documents(index).first().map(|d| line_of(d, &path))?;
                return Some(Location { source, line });
            }
            let mut found = None;
            for doc in self.documents(index) {
                objects(doc, None, &mut |name, node| {
                    if found.is_none() && name == object {
                        found = Some(line_of(node, &path));
                    }
                });
                if found.is_some() {
                    break;
                }
            }
            if let Some(line) = found {
                return Some(Location { source, line });
            }
        }
        None
    }
}

/// A YAML/JSON value with the line it starts on; map keys with theirs.
enum Node {
    Scalar { line: usize, text: String },
    Other { line: usize },
    Seq { line: usize, items: Vec<Node> },
    Map { line: usize, entries: Vec<Entry> },
}

struct Entry {
    key: String,
    line: usize,
    value: Node,
}

impl Node {
    fn line(&self) -> usize {
        match self {
            Node::Scalar { line, .. } | Node::Other { line } | Node::Seq { line, .. } | Node::Map { line, .. } => *line,
        }
    }

    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map { entries, .. } => entries.iter().find(|e| e.key == key).map(|e| &e.value),
            _ => None,
        }
    }

    fn text(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Node::Scalar { text, .. }) => Some(text),
            _ => None,
        }
    }
}

/// Deeper than any manifest the reader accepts; past it, reading stops.
const MAX_DEPTH: usize = 256;

/// A collection being read: its start line, and for a map the key waiting for its value.
enum Open {
    Seq { line: usize, items: Vec<Node> },
    Map { line: usize, entries: Vec<Entry>, key: Option<(String, usize)> },
}

/// The documents of `text` as far as it parses (a syntax error ends the reading; the
/// documents before it are kept).
fn read_documents(text: &str) -> Vec<Node> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut documents = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    for event in Parser::new_from_str(text) {
        let Ok((event, span)) = event else { break };
        let line = span.start.line();
        let done = match event {
            Event::Scalar(value, ..) => Node::Scalar { line, text: value.into_owned() },
            Event::Alias(_) => Node::Other { line },
            Event::SequenceStart(..) | Event::MappingStart(..) if open.len() >= MAX_DEPTH => break,
            Event::SequenceStart(..) => {
                open.push(Open::Seq { line, items: Vec::new() });
                continue;
            }
            Event::MappingStart(..) => {
                open.push(Open::Map { line, entries: Vec::new(), key: None });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match open.pop() {
                Some(Open::Seq { line, items }) => Node::Seq { line, items },
                Some(Open::Map { line, entries, .. }) => Node::Map { line, entries },
                None => break,
            },
            _ => continue,
        };
        match open.last_mut() {
            None => documents.push(done),
            Some(Open::Seq { items, .. }) => items.push(done),
            Some(Open::Map { entries, key, .. }) => match key.take() {
                None => {
                    let text = match &done {
                        Node::Scalar { text, .. } => text.clone(),
                        _ => String::new(),
                    };
                    *key = Some((text, done.line()));
                }
                Some((key, line)) => entries.push(Entry { key, line, value: done }),
            },
        }
    }
    documents
}

/// Calls `each` with every object of a document and the name the reader gives it: the
/// document itself, the items of a bare list, or the items of a `kind: List` (`PodList`
/// items take their kind from the list), as the reader finds them.
fn objects<'n>(node: &'n Node, list_kind: Option<&str>, each: &mut dyn FnMut(&str, &'n Node)) {
    match node {
        Node::Seq { items, .. } if list_kind.is_none() => {
            for item in items {
                objects(item, Some(""), each);
            }
        }
        Node::Map { .. } => {
            let kind = node.text("kind").or(list_kind.filter(|k| !k.is_empty())).unwrap_or("");
            if kind.is_empty() {
                return;
            }
            if let (Some(Node::Seq { items, .. }), Some(item_kind)) = (node.get("items"), kind.strip_suffix("List")) {
                for item in items {
                    objects(item, Some(item_kind), each);
                }
                return;
            }
            let mut metadata = serde_json::Map::new();
            for key in ["name", "namespace", "generateName"] {
                if let Some(text) = node.get("metadata").and_then(|m| m.text(key)) {
                    metadata.insert(key.to_string(), text.into());
                }
            }
            let value = serde_json::json!({ "metadata": metadata });
            each(&meta::object_ref(kind, &value).to_string(), node);
        }
        _ => {}
    }
}

/// One step of a field path: a map key or a list index.
#[derive(Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A field path as the reader writes it (`spec.containers[0].resources["nvidia.com/gpu"]`,
/// `(document)` for the object itself) as steps; as far as it can be read.
fn steps(path: &str) -> Vec<Step> {
    let mut out = Vec::new();
    let mut rest = if path == "(document)" { "" } else { path };
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix("[\"") {
            let Some((key, after)) = unquote(inner) else { break };
            out.push(Step::Key(key));
            rest = after.strip_prefix(']').unwrap_or(after);
        } else if let Some(inner) = rest.strip_prefix('[') {
            let end = inner.find(']').unwrap_or(inner.len());
            let Ok(index) = inner[..end].parse() else { break };
            out.push(Step::Index(index));
            rest = inner.get(end + 1..).unwrap_or("");
        } else {
            let key = rest.strip_prefix('.').unwrap_or(rest);
            let end = key.find(['.', '[']).unwrap_or(key.len());
            out.push(Step::Key(key[..end].to_string()));
            rest = &key[end..];
        }
    }
    out
}

/// A string quoted as Rust's `{:?}` quotes it, up to its closing quote: (the text, the rest).
fn unquote(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &s[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '0' => out.push('\0'),
                'u' => {
                    let hex: String = chars.by_ref().map(|(_, c)| c).skip(1).take_while(|&c| c != '}').collect();
                    out.push(u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32)?);
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// The line of the field at `path` in `node`, or of the deepest part of it that is written.
fn line_of(node: &Node, path: &[Step]) -> usize {
    let mut line = node.line();
    let mut node = node;
    for step in path {
        let next = match (step, node) {
            (Step::Key(key), Node::Map { entries, .. }) => {
                entries.iter().find(|e| &e.key == key).map(|e| (e.line, &e.value))
            }
            (Step::Index(i), Node::Seq { items, .. }) => items.get(*i).map(|n| (n.line(), n)),
            _ => None,
        };
        let Some((at, child)) = next else { break };
        line = at;
        node = child;
    }
    line
}

/// The first `line N` of a syntax error's message.
fn line_in_message(message: &str) -> Option<usize> {
    message.match_indices("line ").find_map(|(i, m)| {
        let digits: String = message[i + m.len()..].chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::parse_sources;

    const SHOP: &str = "\
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
# the web tier
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: web
          image: nginx
          resources:
            requests:
              cpu: 1.5x
              memory: 1Gi
";

    fn sources(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect()
    }

    /// Parses the sources, which must fail, and locates each error.
    fn located(list: &[(&str, &str)]) -> Vec<(String, Option<Location>)> {
        let sources = sources(list);
        let error = parse_sources(&sources).expect_err("bad input");
        let mut locator = Locator::new(&sources);
        error.flatten().into_iter().map(|e| (e.to_string(), locator.locate(e))).collect()
    }

    fn at(source: &str, line: usize) -> Option<Location> {
        Some(Location { source: source.to_string(), line })
    }

    #[test]
    fn a_field_in_block_yaml_after_other_documents() {
        let got =
            located(&[("ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n"), ("shop.yaml", SHOP)]);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].0.starts_with("Deployment shop/web: spec.template.spec.containers[0].resources.requests.cpu: "));
        assert_eq!(got[0].1, at("shop.yaml", 20));
    }

    #[test]
    fn flow_style_and_json() {
        let flow = SHOP.replace(
            "          resources:\n            requests:\n              cpu: 1.5x\n              memory: 1Gi\n",
            "          resources: {requests: {cpu: 1.5x}}\n",
        );
        assert_eq!(located(&[("flow.yaml", &flow)])[0].1, at("flow.yaml", 18));
        let json = r#"{
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ok"},
     "spec": {"containers": [{"name": "a", "resources": {"requests": {"cpu": "1"}}}]}},
    {
      "apiVersion": "v1",
      "kind": "Pod",
      "metadata": {"name": "bad", "namespace": "team"},
      "spec": {
        "containers": [
          {"name": "a",
           "resources": {"requests": {"memory": "lots"}}}
        ]
      }
    }
  ]
}"#;
        let got = located(&[("snapshot.json", json)]);
        assert!(got[0].0.starts_with("Pod team/bad: spec.containers[0].resources.requests.memory"), "{got:?}");
        assert_eq!(got[0].1, at("snapshot.json", 14));
    }

    #[test]
    fn a_missing_field_is_placed_at_its_parent_and_keys_with_dots_are_found() {
        let pool = "\
apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: gpu
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - key: karpenter.sh/capacity-type
          operator: In
          values: [spot]
      taints:
        - key: nvidia.com/gpu
          effect: NoSchedul
";
        let got = located(&[("pools.yaml", pool)]);
        let taint = got.iter().find(|(m, _)| m.contains("taints[0].effect")).expect("a taint error");
        assert_eq!(taint.1, at("pools.yaml", 15), "{got:?}");
        let mut locator = Locator::new(&[]);
        assert_eq!(locator.locate(&Error::field("NodePool gpu", "spec", "x")), None);
        let list = sources(&[("pools.yaml", pool)]);
        let limits = Error::field("NodePool gpu", "metadata.labels[\"example.com/team\"]", "x");
        assert_eq!(locate(&list, &limits), at("pools.yaml", 3));
        let doc = Error::field("NodePool gpu", "(document)", "x");
        assert_eq!(locate(&list, &doc), at("pools.yaml", 1));
    }

    #[test]
    fn syntax_errors_and_objects_without_a_kind() {
        let got = located(&[("a.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: a\n")]);
        assert_eq!(got[0].1, at("a.yaml", 4), "{got:?}");
        let got =
            located(&[("b.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n\nmetadata: {name: b}\n")]);
        let kindless = got.iter().find(|(m, _)| m.starts_with("b.yaml: object in the document at line 6"));
        assert_eq!(kindless.and_then(|k| k.1.clone()), at("b.yaml", 6), "{got:?}");
    }

    #[test]
    fn paths() {
        use Step::*;
        assert_eq!(
            steps(r#"spec.containers[0].resources.requests["nvidia.com/gpu"].x"#),
            [
                Key("spec".into()),
                Key("containers".into()),
                Index(0),
                Key("resources".into()),
                Key("requests".into()),
                Key("nvidia.com/gpu".into()),
                Key("x".into())
            ]
        );
        assert_eq!(steps("(document)"), []);
        assert_eq!(steps(r#"a["q\"\u{e9}"]"#), [Key("a".into()), Key("q\"é".into())]);
        assert_eq!(line_in_message("invalid YAML: did not find expected ',' at line 4 column 1"), Some(4));
    }
}

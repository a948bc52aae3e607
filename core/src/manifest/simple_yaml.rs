//! A fast reader for the plain YAML most manifests are written in: block mappings and
//! sequences, one-line flow collections (`{cpu: 100m}`, `[a, b]`), plain and simply quoted
//! scalars, comments. It reads a document into the same JSON value serde_yaml reads, or
//! declines ([`None`]) as soon as it meets anything else (anchors, tags, block scalars,
//! escapes, multi-line scalars or flow collections, floats, tabs, non-ASCII text, odd
//! indentation, duplicate keys...), and serde_yaml then reads the document, with its own
//! messages for what is wrong. So a document it accepts is one serde_yaml reads the same way,
//! and every syntax error still comes from serde_yaml.

use serde_json::{Map, Value};

/// Deeper than any manifest; past it, serde_yaml reads the document (and reports its limit).
const MAX_DEPTH: usize = 64;

/// Longest key read here (libyaml limits simple keys to 1024 characters).
const MAX_KEY: usize = 512;

/// Reads one document (a chunk of text holding at most one, optionally starting with a bare
/// `---` line) if it is in the subset; `None` when serde_yaml must read it.
pub(super) fn read(chunk: &str) -> Option<Value> {
    // Printable ASCII and newlines only: no tabs, carriage returns or other line breaks.
    // (Folded without an early exit, so the compiler checks many bytes at a time.)
    let other = chunk.bytes().fold(false, |other, b| other | ((b.wrapping_sub(0x20) >= 0x5f) & (b != b'\n')));
    if other {
        return None;
    }
    let mut lines: Vec<&str> = chunk.split('\n').collect();
    if lines.first() == Some(&"---") {
        lines[0] = "";
    }
    let mut reader = Reader { lines, line: 0, depth: 0 };
    let indent = reader.next_content()?;
    if indent != 0 {
        return None;
    }
    let value = reader.block_node(0)?;
    match reader.next_content() {
        None => Some(value),
        Some(_) => None,
    }
}

struct Reader<'a> {
    /// The lines, all of them printable ASCII (so any byte index is a character boundary).
    lines: Vec<&'a str>,
    /// The current line.
    line: usize,
    depth: usize,
}

/// Whether `b` may start a plain map key read here.
fn key_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

/// Whether `b` may be in a plain map key read here.
fn key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/')
}

/// The index of the first byte of `line` from `at` that is not a space.
fn skip_spaces(line: &[u8], mut at: usize) -> usize {
    while line.get(at) == Some(&b' ') {
        at += 1;
    }
    at
}

/// Whether the rest of `line` from `at` is blank or a comment (after a space, or at the start).
fn rest_is_empty(line: &[u8], at: usize) -> bool {
    let next = skip_spaces(line, at);
    match line.get(next) {
        None => true,
        Some(b'#') => next > at || at == 0 || line.get(at - 1) == Some(&b' '),
        Some(_) => false,
    }
}

/// A plain scalar's value as serde_yaml resolves it (null, booleans, decimal integers,
/// strings), or `None` for any other form it might take as a number.
fn resolve(text: &str) -> Option<Value> {
    let bytes = text.as_bytes();
    let first = *bytes.first()?;
    if first.is_ascii_digit() {
        if bytes.iter().all(u8::is_ascii_digit) {
            if text.len() > 1 && first == b'0' || text.len() > 19 {
                return None;
            }
            return text.parse::<u64>().ok().map(Value::from);
        }
        // Anything a number parser could read (hex, octal, binary, exponents) is left to
        // serde_yaml; a letter no number uses makes it a string (`500m`, `1Gi`).
        let numeric = |b: &u8| b.is_ascii_hexdigit() || matches!(b, b'.' | b'+' | b'-' | b'x' | b'X' | b'o' | b'O');
        if bytes.iter().all(numeric) {
            return None;
        }
    } else if !(first.is_ascii_alphabetic() || first == b'_' || first == b'/') {
        return None;
    }
    Some(match text {
        "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => Value::String(text.to_string()),
    })
}

/// Where a key (plain, or quoted without escapes) at `at` is, when it is followed by `:` and
/// a space or the end of the line: (its text's start and end, the index after the `:`).
fn key_span(line: &[u8], at: usize) -> Option<(usize, usize, usize)> {
    let (start, end, after) = match *line.get(at)? {
        quote @ (b'"' | b'\'') => {
            let len = line[at + 1..].iter().position(|&b| b == quote)?;
            if quote == b'"' && line[at + 1..at + 1 + len].contains(&b'\\') {
                return None;
            }
            (at + 1, at + 1 + len, at + len + 2)
        }
        b if key_start(b) => {
            let len = line[at..].iter().position(|&b| !key_byte(b)).unwrap_or(line.len() - at);
            let text = &line[at..at + len];
            if matches!(
                text,
                b"null" | b"Null" | b"NULL" | b"true" | b"True" | b"TRUE" | b"false" | b"False" | b"FALSE"
            ) {
                return None;
            }
            (at, at + len, at + len)
        }
        _ => return None,
    };
    if end - start > MAX_KEY || line.get(after) != Some(&b':') || !matches!(line.get(after + 1), None | Some(b' ')) {
        return None;
    }
    Some((start, end, after + 1))
}

/// The key at `at` (see [`key_span`]) and the index after its `:`.
fn key(line: &str, at: usize) -> Option<(String, usize)> {
    let (start, end, after) = key_span(line.as_bytes(), at)?;
    Some((line[start..end].to_string(), after))
}

/// Whether a block sequence entry (`- `, or a lone `-`) starts at `at`.
fn is_entry(line: &[u8], at: usize) -> bool {
    line.get(at) == Some(&b'-') && matches!(line.get(at + 1), None | Some(b' '))
}

impl<'a> Reader<'a> {
    /// Moves to the next line with content (from the current one) and returns its indent;
    /// `None` at the end.
    fn next_content(&mut self) -> Option<usize> {
        while let Some(line) = self.lines.get(self.line).map(|l| l.as_bytes()) {
            let indent = skip_spaces(line, 0);
            if indent < line.len() && line[indent] != b'#' {
                return Some(indent);
            }
            self.line += 1;
        }
        None
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// The block node whose first line (the current one) is indented by `indent`.
    fn block_node(&mut self, indent: usize) -> Option<Value> {
        let line = self.lines[self.line].as_bytes();
        if is_entry(line, indent) {
            self.block_sequence(indent)
        } else if key_span(line, indent).is_some() {
            self.block_mapping(indent, indent)
        } else {
            None
        }
    }

    /// The value after a key's `:` or an entry's `-` at `at` of the current line, the node
    /// holding it indented by `indent`: written on the same line, or on the lines below.
    fn block_value(&mut self, at: usize, indent: usize, in_sequence: bool) -> Option<Value> {
        let text = self.lines[self.line];
        let line = text.as_bytes();
        if rest_is_empty(line, at) {
            self.line += 1;
            return match self.next_content() {
                Some(next) if next > indent => self.block_node(next),
                // A sequence may sit at its key's indent.
                Some(next) if next == indent && !in_sequence && is_entry(self.lines[self.line].as_bytes(), next) => {
                    self.block_sequence(indent)
                }
                _ => Some(Value::Null),
            };
        }
        let start = skip_spaces(line, at);
        if start == at {
            return None;
        }
        if in_sequence && (is_entry(line, start) || key_span(line, start).is_some()) {
            if is_entry(line, start) {
                return None;
            }
            return self.block_mapping(start, start);
        }
        let (value, end) = self.inline(text, start)?;
        if !rest_is_empty(line, end) {
            return None;
        }
        self.line += 1;
        // A more indented line below would continue a scalar or be an error: serde_yaml says.
        match self.next_content() {
            Some(next) if next > indent => None,
            _ => Some(value),
        }
    }

    /// A block mapping indented by `indent`, its first key at `first` of the current line
    /// (further right than `indent` when it follows a sequence entry's `- `).
    fn block_mapping(&mut self, indent: usize, first: usize) -> Option<Value> {
        self.enter()?;
        let mut map = Map::new();
        let mut at = first;
        loop {
            let line = self.lines[self.line];
            let (name, after) = key(line, at)?;
            let value = self.block_value(after, indent, false)?;
            if map.insert(name, value).is_some() {
                return None;
            }
            match self.next_content() {
                Some(next) if next == indent => at = indent,
                Some(next) if next > indent => return None,
                _ => break,
            }
        }
        self.depth -= 1;
        Some(Value::Object(map))
    }

    /// A block sequence indented by `indent`, the current line its first entry.
    fn block_sequence(&mut self, indent: usize) -> Option<Value> {
        self.enter()?;
        let mut items = Vec::new();
        loop {
            if !is_entry(self.lines[self.line].as_bytes(), indent) {
                return None;
            }
            items.push(self.block_value(indent + 1, indent, true)?);
            match self.next_content() {
                Some(next) if next == indent && is_entry(self.lines[self.line].as_bytes(), indent) => {}
                Some(next) if next > indent => return None,
                _ => break,
            }
        }
        self.depth -= 1;
        Some(Value::Array(items))
    }

    /// A value written on one line from `at`: a flow collection, a quoted or a plain scalar;
    /// with the index after it.
    fn inline(&mut self, text: &str, at: usize) -> Option<(Value, usize)> {
        let line = text.as_bytes();
        match line[at] {
            b'{' | b'[' => self.flow(text, at),
            b'"' | b'\'' => quoted(text, at),
            _ => {
                // Up to a comment or the end of the line; `: ` would be a nested mapping or
                // an error, and `#` in a scalar is left to serde_yaml.
                let mut end = at;
                while end < line.len() {
                    match line[end] {
                        b'#' if line[end - 1] == b' ' => break,
                        b'#' => return None,
                        b':' if matches!(line.get(end + 1), None | Some(b' ')) => return None,
                        _ => end += 1,
                    }
                }
                let scalar = text[at..end].trim_end_matches(' ');
                Some((resolve(scalar)?, at + scalar.len()))
            }
        }
    }

    /// A flow collection at `at`, closed on the same line; with the index after it.
    fn flow(&mut self, text: &str, at: usize) -> Option<(Value, usize)> {
        self.enter()?;
        let line = text.as_bytes();
        let close = if line[at] == b'{' { b'}' } else { b']' };
        let mut map = Map::new();
        let mut items = Vec::new();
        let mut i = skip_spaces(line, at + 1);
        if line.get(i) != Some(&close) {
            loop {
                if close == b'}' {
                    let (name, after) = key(text, i)?;
                    let start = skip_spaces(line, after);
                    if start == after {
                        return None;
                    }
                    let (value, end) = self.flow_value(text, start)?;
                    if map.insert(name, value).is_some() {
                        return None;
                    }
                    i = end;
                } else {
                    let (value, end) = self.flow_value(text, i)?;
                    items.push(value);
                    i = end;
                }
                i = skip_spaces(line, i);
                match line.get(i) {
                    Some(b',') => {
                        i = skip_spaces(line, i + 1);
                        // A trailing comma, or an entry on the next line: serde_yaml reads it.
                        if matches!(line.get(i), None | Some(b']' | b'}' | b',')) {
                            return None;
                        }
                    }
                    Some(&b) if b == close => break,
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        let value = if close == b'}' { Value::Object(map) } else { Value::Array(items) };
        Some((value, i + 1))
    }

    /// A value inside a flow collection at `at`, with the index after it.
    fn flow_value(&mut self, text: &str, at: usize) -> Option<(Value, usize)> {
        let line = text.as_bytes();
        match *line.get(at)? {
            b'{' | b'[' => self.flow(text, at),
            b'"' | b'\'' => quoted(text, at),
            _ => {
                let mut end = at;
                while end < line.len() {
                    match line[end] {
                        b',' | b']' | b'}' => break,
                        b'#' | b':' | b'[' | b'{' => return None,
                        _ => end += 1,
                    }
                }
                let scalar = text[at..end].trim_end_matches(' ');
                Some((resolve(scalar)?, at + scalar.len()))
            }
        }
    }
}

/// A quoted scalar at `at` without escapes, on one line; with the index after it.
fn quoted(text: &str, at: usize) -> Option<(Value, usize)> {
    let line = text.as_bytes();
    let quote = line[at];
    let len = line[at + 1..].iter().position(|&b| b == quote)?;
    let content = &text[at + 1..at + 1 + len];
    if quote == b'"' && content.contains('\\') {
        return None;
    }
    // `'it''s'` is one scalar; leave it to serde_yaml.
    if quote == b'\'' && line.get(at + len + 2) == Some(&b'\'') {
        return None;
    }
    Some((Value::String(content.to_string()), at + len + 2))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde::Deserialize;

    /// What serde_yaml reads from `text`: the value of its only document, or `None` if it
    /// fails or holds another number of documents.
    fn serde_yaml_reads(text: &str) -> Option<Value> {
        let mut docs = Vec::new();
        for doc in serde_yaml::Deserializer::from_str(text) {
            docs.push(Value::deserialize(doc).ok()?);
        }
        (docs.len() == 1).then(|| docs.remove(0))
    }

    /// `text` is read here, as serde_yaml reads it.
    #[track_caller]
    fn same(text: &str) {
        let fast = read(text);
        assert!(fast.is_some(), "declined:\n{text}");
        assert_eq!(fast, serde_yaml_reads(text), "{text}");
    }

    /// Whatever is read here is what serde_yaml reads; whether it was read here.
    #[track_caller]
    pub(in crate::manifest) fn never_differs(text: &str) -> bool {
        match read(text) {
            Some(fast) => {
                assert_eq!(Some(fast), serde_yaml_reads(text), "{text}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn manifests_in_block_and_flow_style() {
        same("apiVersion: v1\nkind: Pod\nmetadata: {name: g0-0, namespace: bench, labels: {group: g0}}\nspec:\n  containers: [{name: app, image: app, resources: {requests: {cpu: 1000m, memory: 4096Mi}}}]\n");
        same("---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels:\n    app.kubernetes.io/name: web\n    \"example.com/x\": 'y'\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n      - name: a\n        image: repo/nginx:1.2\n        ports:\n          - containerPort: 80\n            hostPort: 0\n      -   name: b\n          args: [x, \"a b\", 'c']\n      nodeSelector: {}\n      tolerations: []\n");
        same("# comment\na: 1 # trailing\n\n  # indented comment\nb:\n  - x\n  -\n  - y z\nc:\nd: x~\ne: [true, false, null, True, NULL, 0, 9223372036854775807, 9999999999999999999]\nf: {g: h}\n");
        same("- a: 1\n  b: 2\n- c\n");
    }

    #[test]
    fn what_it_declines() {
        for text in [
            "a: 1.5\n",
            "a: 0x10\n",
            "a: 1e3\n",
            "a: 012\n",
            "a: -1\n",
            "a: 18446744073709551616\n",
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: |\n  text\n",
            "a: >\n  text\n",
            "a: \"x\\ny\"\n",
            "a: 'it''s'\n",
            "a: b\n  c\n",
            "a: b: c\n",
            "a: 1\na: 2\n",
            "a:\n\tb: 1\n",
            "a: 1\r\n",
            "a: é\n",
            "a: [1,\n  2]\n",
            "a: [1, 2,]\n",
            "{a: 1}\n",
            "  a: 1\n",
            "a: 1\n b: 2\n",
            "a:\n  b: 1\n c: 2\n",
            "a: 1\n- b\n",
            "? a\n: b\n",
            "a: b#c\n",
            "a: {b:c}\n",
            "a: [b: c]\n",
            "true: 1\n",
            "1: a\n",
            "a:\n  b\n",
            "---\n---\n",
            "...\n",
            "%YAML 1.2\n---\na: 1\n",
            "a: 1\n...\n",
            "a: \"x\"y\n",
            "a: [x] y\n",
        ] {
            assert_eq!(read(text), None, "{text:?}");
        }
    }

    #[test]
    fn accepted_text_reads_as_serde_yaml_reads_it() {
        // Pieces of manifests in many arrangements: any that is read here is read the same
        // way by serde_yaml (most of them are errors or other values there, and declined).
        let pieces = [
            "a:", " b", "- ", "-", ": ", ":", "\n", "\n  ", "\n    ", "  ", "#c", " #c", "{", "}", "[", "]", ", ", ",",
            "x", "1", "100m", "1Gi", "true", "null", "\"q\"", "'s'", "0", "07", "a b", "k: v", "---", "/p", "x:y", "~",
        ];
        let mut seed: u64 = 7;
        let mut next = |n: usize| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 33) as usize) % n
        };
        let mut read_here = 0;
        for _ in 0..50_000 {
            let len = 1 + next(12);
            let text: String = (0..len).map(|_| pieces[next(pieces.len())]).collect();
            for text in [text.clone(), format!("{text}\n"), format!("a:\n  {text}\n"), format!("- {text}\n")] {
                read_here += usize::from(never_differs(&text));
            }
        }
        assert!(read_here > 10_000, "{read_here}");
    }
}

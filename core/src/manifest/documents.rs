//! Splits a source's text into documents: YAML separated by `---`, or JSON (one value or
//! several in a row). A document that does not parse is a syntax error naming the source
//! and the line; the other documents are still read.

use crate::error::Error;
use serde::Deserialize;
use serde_json::Value;
use std::ops::ControlFlow;

/// One parsed document and the line it starts on (1-based).
pub(super) struct Document {
    pub line: usize,
    pub value: Value,
}

/// Calls `each` for every non-empty document of `text`, in order, until it breaks, and returns
/// the syntax errors met on the way.
pub(super) fn for_each_document(
    source_name: &str,
    text: &str,
    mut each: impl FnMut(Document) -> ControlFlow<()>,
) -> Vec<Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let looks_like_json = matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'['));
    if looks_like_json {
        match crate::profile::phase("json", || read_json(text)) {
            Ok(docs) => {
                let _ = docs.into_iter().try_for_each(each);
                return Vec::new();
            }
            // A flow-style YAML document (`{a: b}`) starts like JSON; give YAML a chance
            // before reporting the JSON error.
            Err(json_error) => {
                let mut docs = Vec::new();
                let yaml_errors = read_yaml(source_name, text, |d| {
                    docs.push(d);
                    ControlFlow::Continue(())
                });
                if yaml_errors.is_empty() {
                    let _ = docs.into_iter().try_for_each(each);
                    return Vec::new();
                }
                return vec![Error::Syntax { source_name: source_name.to_string(), message: json_error }];
            }
        }
    }
    read_yaml(source_name, text, &mut each)
}

fn read_json(text: &str) -> Result<Vec<Document>, String> {
    let mut docs = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut offset = 0;
    let mut line = 1;
    loop {
        let start = offset + leading_whitespace(&text[offset..]);
        match stream.next() {
            None => return Ok(docs),
            Some(Ok(value)) => {
                line += count_lines(&text[offset..start]);
                offset = stream.byte_offset();
                let doc_line = line;
                line += count_lines(&text[start..offset]);
                if !value.is_null() {
                    docs.push(Document { line: doc_line, value });
                }
            }
            Some(Err(e)) => return Err(format!("invalid JSON: {e}")),
        }
    }
}

fn leading_whitespace(s: &str) -> usize {
    s.len() - s.trim_start().len()
}

fn count_lines(s: &str) -> usize {
    s.bytes().filter(|&b| b == b'\n').count()
}

/// Whether a line is a YAML document marker (`---`, `--- !tag`, `--- # comment`).
fn is_document_marker(line: &str) -> bool {
    match line.strip_prefix("---") {
        Some(rest) => rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']),
        None => false,
    }
}

/// Reads YAML documents chunk by chunk (a chunk per `---`), so a broken document is reported
/// with its line while the others are still read, and only one document's tree is held at a
/// time.
fn read_yaml(source_name: &str, text: &str, mut each: impl FnMut(Document) -> ControlFlow<()>) -> Vec<Error> {
    let mut errors = Vec::new();
    for (first_line, chunk) in chunks(text) {
        if chunk.trim().is_empty() {
            continue;
        }
        let content_line = first_line + leading_blank_lines(chunk);
        // Most documents are plain YAML, read without serde_yaml; the others, and every
        // error, are serde_yaml's.
        if let Some(value) = crate::profile::phase("yaml", || super::simple_yaml::read(chunk)) {
            if each(Document { line: content_line, value }).is_break() {
                return errors;
            }
            continue;
        }
        for doc in serde_yaml::Deserializer::from_str(chunk) {
            match crate::profile::phase("yaml", || Value::deserialize(doc)) {
                Ok(Value::Null) => {}
                Ok(value) => {
                    if each(Document { line: content_line, value }).is_break() {
                        return errors;
                    }
                }
                Err(e) => {
                    errors.push(Error::Syntax {
                        source_name: source_name.to_string(),
                        message: yaml_message(&e, first_line),
                    });
                    break;
                }
            }
        }
    }
    errors
}

/// The text split before every `---` line but a first one: (first line, chunk) pairs.
fn chunks(text: &str) -> Vec<(usize, &str)> {
    let mut chunk_start = 0;
    let mut chunk_line = 1;
    let mut pos = 0;
    let mut chunks = Vec::new();
    for (line_no, line) in (1..).zip(text.split_inclusive('\n')) {
        if is_document_marker(line) && pos > chunk_start {
            chunks.push((chunk_line, &text[chunk_start..pos]));
            chunk_start = pos;
            chunk_line = line_no;
        }
        pos += line.len();
    }
    chunks.push((chunk_line, &text[chunk_start..]));
    chunks
}

/// Lines before a chunk's content: blank lines, comments and a bare `---`.
fn leading_blank_lines(chunk: &str) -> usize {
    let is_blank = |line: &str| {
        let rest = line.strip_prefix("---").filter(|_| is_document_marker(line)).unwrap_or(line).trim();
        rest.is_empty() || rest.starts_with('#')
    };
    chunk.lines().take_while(|l| is_blank(l)).count()
}

/// serde_yaml's message with its line numbers (relative to the chunk) made absolute.
fn yaml_message(e: &serde_yaml::Error, first_line: usize) -> String {
    let text = e.to_string();
    let adjusted = shift_line_numbers(&text, first_line - 1);
    if e.location().is_some() && adjusted.contains("line ") {
        format!("invalid YAML: {adjusted}")
    } else {
        format!("invalid YAML in the document at line {first_line}: {adjusted}")
    }
}

/// Adds `by` to every number that follows `line ` in `text`.
fn shift_line_numbers(text: &str, by: usize) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(i) = rest.find("line ") {
        out.push_str(&rest[..i + 5]);
        rest = &rest[i + 5..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + by).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> (Vec<usize>, Vec<String>) {
        let mut got = Vec::new();
        let errors = for_each_document("test.yaml", text, |d| {
            got.push(d.line);
            ControlFlow::Continue(())
        });
        (got, errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn yaml_documents_and_their_lines() {
        let (docs, errors) = lines("a: 1\n---\nb: 2\n--- # comment\n\n---\nc: [3]\n");
        assert_eq!(docs, [1, 3, 7]);
        assert!(errors.is_empty());
    }

    #[test]
    fn yaml_errors_name_the_absolute_line() {
        let (docs, errors) = lines("a: 1\n---\nb: 2\nc: [\n---\nd: 4\n");
        assert_eq!(docs, [1, 6]);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("test.yaml: invalid YAML: "), "{}", errors[0]);
        assert!(errors[0].contains("line 5") || errors[0].contains("line 4"), "{}", errors[0]);
    }

    /// Every YAML document of the tests' manifests that is read without serde_yaml is read as
    /// serde_yaml reads it, and most are. A scenario file's manifests are the text of its
    /// `manifests` field.
    #[test]
    fn test_manifests_read_as_serde_yaml_reads_them() {
        fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            let mut paths: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
            paths.sort();
            for path in paths {
                if path.is_dir() {
                    files(&path, out);
                } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                    out.push(path);
                }
            }
        }
        let mut paths = Vec::new();
        files(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests"), &mut paths);
        let (mut documents, mut read_here) = (0, 0);
        for path in paths {
            let mut text = std::fs::read_to_string(&path).unwrap();
            let embedded = serde_yaml::from_str::<serde_yaml::Value>(&text)
                .ok()
                .and_then(|v| v.get("manifests").and_then(|m| m.as_str()).map(str::to_string));
            if let Some(manifests) = embedded {
                text = manifests;
            }
            for (_, chunk) in chunks(text.strip_prefix('\u{feff}').unwrap_or(&text)) {
                documents += 1;
                read_here += usize::from(super::super::simple_yaml::tests::never_differs(chunk));
            }
        }
        assert!(read_here * 2 > documents, "{read_here} of {documents}");
    }

    #[test]
    fn json_streams() {
        let (docs, errors) = lines("{\"a\": 1}\n\n{\"b\":\n 2}\n{\"c\": 3}");
        assert_eq!(docs, [1, 3, 5]);
        assert!(errors.is_empty());
        let (_, errors) = lines("{\"a\": 1,,}");
        assert!(errors[0].starts_with("test.yaml: invalid JSON: "), "{}", errors[0]);
        let (docs, _) = lines("{a: b}");
        assert_eq!(docs, [1]);
    }
}

//! A small CSV reader for the embedded tables and user catalogs: a header row, `,` separators,
//! optional RFC 4180 quoting, and line numbers kept for error messages.

use crate::error::Error;
use std::borrow::Cow;

/// One parsed table: column names from the header, then rows of fields.
pub(crate) struct Table<'a> {
    pub header: Vec<Cow<'a, str>>,
    pub rows: Vec<Row<'a>>,
}

/// One data row and the 1-based line it started on.
pub(crate) struct Row<'a> {
    pub line: usize,
    pub fields: Vec<Cow<'a, str>>,
}

impl<'a> Table<'a> {
    /// Parses `text`. Blank lines are skipped; every row must have as many fields as the header.
    pub fn parse(source: &str, text: &'a str) -> Result<Table<'a>, Error> {
        let mut lines = Lines { text, pos: 0, line: 0 };
        let (_, header) = loop {
            match lines.next_record(source)? {
                Some((_, fields)) if fields.len() == 1 && fields[0].trim().is_empty() => continue,
                Some(record) => break record,
                None => return Err(catalog_error(source, "empty CSV: expected a header row")),
            }
        };
        let header: Vec<Cow<'a, str>> = header
            .into_iter()
            .map(|h| match h {
                Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
                Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
            })
            .collect();
        for (i, name) in header.iter().enumerate() {
            if name.is_empty() {
                return Err(catalog_error(source, format!("line 1: column {} has an empty name", i + 1)));
            }
            if header[..i].contains(name) {
                return Err(catalog_error(source, format!("line 1: column {name:?} appears twice")));
            }
        }
        let mut rows = Vec::new();
        while let Some((line, fields)) = lines.next_record(source)? {
            if fields.len() == 1 && fields[0].trim().is_empty() {
                continue;
            }
            if fields.len() != header.len() {
                return Err(catalog_error(
                    source,
                    format!("line {line}: {} fields, but the header has {} columns", fields.len(), header.len()),
                ));
            }
            rows.push(Row { line, fields });
        }
        Ok(Table { header, rows })
    }

    /// The index of a column, if the header has it.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }
}

pub(crate) fn catalog_error(source: &str, message: impl Into<String>) -> Error {
    Error::Catalog { source_name: source.to_string(), message: message.into() }
}

struct Lines<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    /// The next record (which may span lines inside quotes) and the line it started on.
    #[allow(clippy::type_complexity)]
    fn next_record(&mut self, source: &str) -> Result<Option<(usize, Vec<Cow<'a, str>>)>, Error> {
        if self.pos >= self.text.len() {
            return Ok(None);
        }
        self.line += 1;
        let start_line = self.line;
        let bytes = self.text.as_bytes();
        let mut fields = Vec::new();
        loop {
            // One field starting at self.pos.
            if bytes.get(self.pos) == Some(&b'"') {
                let mut value = String::new();
                let mut i = self.pos + 1;
                loop {
                    match bytes.get(i) {
                        None => {
                            return Err(catalog_error(source, format!("line {start_line}: unterminated quoted field")))
                        }
                        Some(b'"') if bytes.get(i + 1) == Some(&b'"') => {
                            value.push('"');
                            i += 2;
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(_) => {
                            // Copy up to the next quote in one go (keeps UTF-8 intact).
                            let rest = &self.text[i..];
                            let len = rest.find('"').unwrap_or(rest.len());
                            let chunk = &rest[..len];
                            self.line += chunk.matches('\n').count();
                            value.push_str(chunk);
                            i += len;
                        }
                    }
                }
                fields.push(Cow::Owned(value));
                self.pos = i;
                match bytes.get(self.pos) {
                    Some(b',') => {
                        self.pos += 1;
                        continue;
                    }
                    Some(b'\r') if bytes.get(self.pos + 1) == Some(&b'\n') => {
                        self.pos += 2;
                        break;
                    }
                    Some(b'\n') => {
                        self.pos += 1;
                        break;
                    }
                    None => break,
                    Some(_) => {
                        return Err(catalog_error(
                            source,
                            format!("line {}: unexpected text after a closing quote", self.line),
                        ))
                    }
                }
            } else {
                let rest = &self.text[self.pos..];
                let end = rest.find([',', '\n']).unwrap_or(rest.len());
                let field = rest[..end].strip_suffix('\r').unwrap_or(&rest[..end]);
                fields.push(Cow::Borrowed(field));
                self.pos += end;
                match bytes.get(self.pos) {
                    Some(b',') => self.pos += 1,
                    Some(_) => {
                        self.pos += 1;
                        break;
                    }
                    None => break,
                }
            }
        }
        Ok(Some((start_line, fields)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_quoted_fields() {
        let t = Table::parse("t", "a,b,c\n1,,3\r\n\"x,y\",\"say \"\"hi\"\"\",z\n\n").unwrap();
        assert_eq!(t.header, vec!["a", "b", "c"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].fields, vec!["1", "", "3"]);
        assert_eq!(t.rows[0].line, 2);
        assert_eq!(t.rows[1].fields, vec!["x,y", "say \"hi\"", "z"]);
        assert_eq!(t.rows[1].line, 3);
        assert_eq!(t.column("c"), Some(2));
    }

    #[test]
    fn multi_line_quotes_keep_line_numbers() {
        let t = Table::parse("t", "a,b\n\"1\n2\",x\n3,y\n").unwrap();
        assert_eq!(t.rows[0].fields[0], "1\n2");
        assert_eq!(t.rows[1].line, 4);
    }

    #[test]
    fn errors_name_the_line() {
        let e = Table::parse("f.csv", "a,b\n1,2\n3\n").err().unwrap().to_string();
        assert_eq!(e, "catalog f.csv: line 3: 1 fields, but the header has 2 columns");
        let e = Table::parse("f.csv", "a,b\n\"1,2\n").err().unwrap().to_string();
        assert!(e.contains("line 2: unterminated quoted field"), "{e}");
        let e = Table::parse("f.csv", "a,a\n").err().unwrap().to_string();
        assert!(e.contains("appears twice"), "{e}");
        assert!(Table::parse("f.csv", "").is_err());
        let e = Table::parse("f.csv", "a,b\n\"1\"x,2\n").err().unwrap().to_string();
        assert!(e.contains("after a closing quote"), "{e}");
    }
}

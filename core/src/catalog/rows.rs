//! Instance-type rows in the column layout of `ec2-instance-types.csv`, parsed into
//! [`TypeSpec`]s. The embedded tables and user CSV catalogs share this code.

use super::csv::{catalog_error, Row, Table};
use super::spec::{derive_name_labels, slot, Pods, Shape, TableBuilder, TypeSpec, AWS_LABELS, NONE};
use crate::error::Error;
use crate::resources;
use std::borrow::Cow;

/// The columns of `ec2-instance-types.csv`, in order.
pub(crate) const TYPE_COLUMNS: [&str; 36] = [
    "name",
    "family",
    "category",
    "generation",
    "size",
    "arch",
    "os",
    "vcpu",
    "memory_mib",
    "cpu_manufacturer",
    "cpu_sustained_clock_speed_mhz",
    "gpu_count",
    "gpu_name",
    "gpu_manufacturer",
    "gpu_memory_mib",
    "accelerator_count",
    "accelerator_name",
    "accelerator_manufacturer",
    "local_nvme_gib",
    "network_bandwidth_mbps",
    "ebs_bandwidth_mbps",
    "hypervisor",
    "encryption_in_transit",
    "capability_flex",
    "pods",
    "allocatable_cpu_millicores",
    "allocatable_memory_mib",
    "ephemeral_storage_gib",
    "pod_eni",
    "efa",
    "nvidia_gpu",
    "amd_gpu",
    "neuron",
    "neuroncore",
    "habana_gaudi",
    "docs_version",
];

/// Label columns: (column, label slot, kind).
const LABEL_COLUMNS: [(&str, usize, Kind); 19] = [
    ("category", 0, Kind::Text),
    ("family", 1, Kind::Text),
    ("generation", 2, Kind::Integer),
    ("size", 3, Kind::Text),
    ("cpu_manufacturer", 5, Kind::Text),
    ("cpu_sustained_clock_speed_mhz", 6, Kind::Integer),
    ("gpu_name", 8, Kind::Text),
    ("gpu_manufacturer", 9, Kind::Text),
    ("gpu_count", 10, Kind::Integer),
    ("gpu_memory_mib", 11, Kind::Integer),
    ("accelerator_name", 12, Kind::Text),
    ("accelerator_manufacturer", 13, Kind::Text),
    ("accelerator_count", 14, Kind::Integer),
    ("local_nvme_gib", 15, Kind::Integer),
    ("network_bandwidth_mbps", 16, Kind::Integer),
    ("ebs_bandwidth_mbps", 17, Kind::Integer),
    ("hypervisor", 18, Kind::Hypervisor),
    ("encryption_in_transit", 19, Kind::Bool),
    ("capability_flex", 20, Kind::Bool),
];

/// Extended-resource columns.
const RESOURCE_COLUMNS: [(&str, &str); 7] = [
    ("pod_eni", resources::POD_ENI),
    ("efa", resources::EFA),
    ("nvidia_gpu", resources::NVIDIA_GPU),
    ("amd_gpu", resources::AMD_GPU),
    ("neuron", resources::NEURON),
    ("neuroncore", resources::NEURON_CORE),
    ("habana_gaudi", resources::HABANA_GAUDI),
];

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Integer,
    Bool,
    /// Empty means bare metal: Karpenter labels it with the empty string (EC2 reports no
    /// hypervisor), so the label exists with value `""`.
    Hypervisor,
}

/// One row's type and the fields the caller resolves itself.
pub(crate) struct ParsedRow {
    pub line: usize,
    pub spec: TypeSpec,
    /// The `pods` column, when filled.
    pub pods_column: Option<u32>,
}

/// Reads typed fields of one row, with errors naming line and column.
pub(crate) struct Fields<'t, 'a> {
    pub source: &'t str,
    pub table: &'t Table<'a>,
    pub row: &'t Row<'a>,
}

impl<'t, 'a> Fields<'t, 'a> {
    /// The trimmed field, or `None` when the column is absent or the field empty.
    pub fn get(&self, column: &str) -> Option<&'t Cow<'a, str>> {
        let i = self.table.column(column)?;
        let f = self.row.fields.get(i)?;
        (!f.trim().is_empty()).then_some(f)
    }

    pub fn text(&self, column: &str) -> Option<&'t str> {
        self.get(column).map(|f| f.trim())
    }

    pub fn error(&self, column: &str, message: impl std::fmt::Display) -> Error {
        catalog_error(self.source, format!("line {}, column {column}: {message}", self.row.line))
    }

    pub fn integer(&self, column: &str) -> Result<Option<u64>, Error> {
        match self.text(column) {
            None => Ok(None),
            Some(t) => t
                .parse::<u64>()
                .map(Some)
                .map_err(|_| self.error(column, format_args!("expected a non-negative integer, got {t:?}"))),
        }
    }

    pub fn price(&self, column: &str) -> Result<Option<f64>, Error> {
        match self.text(column) {
            None => Ok(None),
            Some(t) => match t.parse::<f64>() {
                Ok(p) if p.is_finite() && p >= 0.0 => Ok(Some(p)),
                _ => Err(self.error(column, format_args!("expected a non-negative price, got {t:?}"))),
            },
        }
    }
}

/// Parses every row of an instance-type table. `keep` turns a borrowed field into an owned
/// or `'static` string for interning (the embedded tables borrow from the binary).
pub(crate) fn parse_rows<'a>(
    source: &str,
    table: &Table<'a>,
    builder: &mut TableBuilder,
    keep: &dyn Fn(&Cow<'a, str>) -> Cow<'static, str>,
) -> Result<Vec<ParsedRow>, Error> {
    for required in ["name", "arch", "vcpu", "memory_mib"] {
        if table.column(required).is_none() {
            return Err(catalog_error(source, format!("line 1: missing required column {required:?}")));
        }
    }
    let mut out = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let fields = Fields { source, table, row };
        out.push(parse_row(&fields, builder, keep)?);
    }
    Ok(out)
}

fn parse_row<'a>(
    f: &Fields<'_, 'a>,
    builder: &mut TableBuilder,
    keep: &dyn Fn(&Cow<'a, str>) -> Cow<'static, str>,
) -> Result<ParsedRow, Error> {
    let mut intern = |field: &Cow<'a, str>| {
        let trimmed = field.trim();
        if trimmed.len() == field.len() {
            builder.intern(keep(field))
        } else {
            builder.intern_owned(trimmed)
        }
    };
    let name = f.get("name").ok_or_else(|| f.error("name", "required"))?;
    if name.trim().contains(char::is_whitespace) {
        return Err(f.error("name", format_args!("{:?} contains whitespace", name.trim())));
    }
    let name = intern(name);
    let arch_field = f.get("arch").ok_or_else(|| f.error("arch", "required (amd64 or arm64)"))?;
    let arch = intern(arch_field);
    let os = match f.get("os") {
        Some(os) => intern(os),
        None => builder.intern(Cow::Borrowed("linux")),
    };
    let vcpu = f.integer("vcpu")?.ok_or_else(|| f.error("vcpu", "required"))?;
    let vcpu =
        u32::try_from(vcpu).ok().filter(|v| *v > 0).ok_or_else(|| f.error("vcpu", "must be between 1 and 2^32"))?;
    let memory_mib = f.integer("memory_mib")?.ok_or_else(|| f.error("memory_mib", "required"))?;
    if memory_mib == 0 || memory_mib > (1 << 40) {
        return Err(f.error("memory_mib", format_args!("{memory_mib} MiB is not a plausible memory size")));
    }

    let mut labels = [NONE; AWS_LABELS.len()];
    labels[slot::CPU] = builder.intern_owned(&vcpu.to_string());
    labels[slot::MEMORY] = builder.intern_owned(&memory_mib.to_string());
    for (column, slot, kind) in LABEL_COLUMNS {
        let field = match f.get(column) {
            Some(field) => field,
            None if matches!(kind, Kind::Hypervisor) && f.table.column(column).is_some() => {
                labels[slot] = builder.intern(Cow::Borrowed(""));
                continue;
            }
            None => continue,
        };
        let text = field.trim();
        match kind {
            Kind::Integer if text.parse::<u64>().is_err() => {
                return Err(f.error(column, format_args!("expected a non-negative integer, got {text:?}")))
            }
            Kind::Bool if text != "true" && text != "false" => {
                return Err(f.error(column, format_args!("expected true or false, got {text:?}")))
            }
            _ => {}
        }
        labels[slot] = if text.len() == field.len() { builder.intern(keep(field)) } else { builder.intern_owned(text) };
    }

    let mut extended = Vec::new();
    for (column, resource) in RESOURCE_COLUMNS {
        if let Some(n) = f.integer(column)? {
            let n = i64::try_from(n).map_err(|_| f.error(column, "too large"))?;
            if n > 0 {
                extended.push((builder.intern(Cow::Borrowed(resource)), n));
            }
        }
    }
    extended.sort_by(|a, b| builder.str(a.0).cmp(builder.str(b.0)));

    let pods_column = match f.integer("pods")? {
        Some(p) => Some(u32::try_from(p).map_err(|_| f.error("pods", "too large"))?),
        None => None,
    };
    let local_nvme_gb = f.integer("local_nvme_gib")?.unwrap_or(0);

    let mut spec = TypeSpec {
        name,
        arch,
        os,
        labels,
        extra_labels: Box::new([]),
        shape: Shape::Aws { vcpu, memory_mib, pods: Pods::Fixed(pods_column.unwrap_or(110)), local_nvme_gb },
        extended: extended.into_boxed_slice(),
    };
    derive_name_labels(builder, &mut spec);
    Ok(ParsedRow { line: f.row.line, spec, pods_column })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<ParsedRow>, Error> {
        let table = Table::parse("t.csv", text)?;
        let mut b = TableBuilder::default();
        parse_rows("t.csv", &table, &mut b, &|c| Cow::Owned(c.to_string()))
    }

    #[test]
    fn minimal_columns() {
        let rows = parse("name,arch,vcpu,memory_mib\nm5.large,amd64,2,8192\n").unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].line, 2);
        assert!(matches!(rows[0].spec.shape, Shape::Aws { vcpu: 2, memory_mib: 8192, .. }));
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse("name,arch,vcpu,memory_mib\nm5.large,amd64,two,8192\n").err().unwrap().to_string();
        assert_eq!(e, "catalog t.csv: line 2, column vcpu: expected a non-negative integer, got \"two\"");
        let e = parse("name,arch,vcpu\nm5.large,amd64,2\n").err().unwrap().to_string();
        assert!(e.contains("missing required column \"memory_mib\""), "{e}");
        let e = parse("name,arch,vcpu,memory_mib,gpu_count\na.b,amd64,2,8,x\n").err().unwrap().to_string();
        assert!(e.contains("line 2, column gpu_count"), "{e}");
        let e =
            parse("name,arch,vcpu,memory_mib,encryption_in_transit\na.b,amd64,2,8,yes\n").err().unwrap().to_string();
        assert!(e.contains("expected true or false"), "{e}");
        let e = parse("name,arch,vcpu,memory_mib\na.b,amd64,0,8\n").err().unwrap().to_string();
        assert!(e.contains("column vcpu"), "{e}");
        let e = parse("name,arch,vcpu,memory_mib\n,amd64,1,8\n").err().unwrap().to_string();
        assert!(e.contains("column name: required"), "{e}");
    }
}

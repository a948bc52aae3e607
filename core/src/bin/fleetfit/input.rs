//! Reading the CLI's inputs: manifest files, directories and stdin; catalogs and prices.

use fleetfit::catalog::{Catalog, PriceAdjustments};
use fleetfit::{Error, Inventory, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Reads every path (a file, a directory searched recursively for `.yaml`, `.yml` and
/// `.json` files in name order, or `-` for stdin) as (name, text) sources.
pub fn read_sources(paths: &[PathBuf]) -> Result<Vec<(String, String)>> {
    let mut sources = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|e| Error::Usage(format!("reading stdin: {e}")))?;
            sources.push(("<stdin>".to_string(), text));
        } else {
            sources.extend(fleetfit::manifest::read_path(path)?);
        }
    }
    Ok(sources)
}

fn read_file(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::Usage(format!("{}: {e}", path.display())))
}

/// Parses the workload files and the NodePool files together into one inventory.
pub fn load_inventory(
    files: &[PathBuf],
    nodepools: &[PathBuf],
    options: &fleetfit::manifest::ParseOptions,
) -> Result<Inventory> {
    let mut sources = read_sources(files)?;
    sources.extend(read_sources(nodepools)?);
    fleetfit::manifest::parse_sources_with(&sources, options)
}

/// The embedded AWS catalog for a region, or a user catalog (`.json` or `.csv`), with
/// optional price adjustments.
pub fn load_catalog(region: &str, catalog: Option<&Path>, prices: Option<&Path>) -> Result<Catalog> {
    let mut cat = match catalog {
        None => Catalog::aws(region)?,
        Some(path) => {
            let text = read_file(path)?;
            let name = path.display().to_string();
            if path.extension().and_then(|e| e.to_str()) == Some("csv") {
                Catalog::from_csv(&name, &text)?
            } else {
                Catalog::from_json(&name, &text)?
            }
        }
    };
    if let Some(path) = prices {
        let adjustments = PriceAdjustments::parse(&path.display().to_string(), &read_file(path)?)?;
        cat = cat.with_prices(&adjustments);
    }
    Ok(cat)
}

//! Availability-zone names per AWS region.
//!
//! The shipped data has no per-zone availability (the spot snapshot is region-wide and the
//! price tables are per region), so this table is an assumption: it lists the zone names most
//! accounts see, and every priced instance type is offered in every zone of its region. Zone
//! *names* map to different physical zones per account, and some accounts see fewer zones
//! (us-west-1 offers two of a/b/c, depending on the account). Regions not listed get a–c.

/// `(region, zone letters)`, sorted by region.
const ZONES: &[(&str, &str)] = &[
    ("af-south-1", "abc"),
    ("ap-east-1", "abc"),
    ("ap-east-2", "abc"),
    ("ap-northeast-1", "acd"),
    ("ap-northeast-2", "abcd"),
    ("ap-northeast-3", "abc"),
    ("ap-south-1", "abc"),
    ("ap-south-2", "abc"),
    ("ap-southeast-1", "abc"),
    ("ap-southeast-2", "abc"),
    ("ap-southeast-3", "abc"),
    ("ap-southeast-4", "abc"),
    ("ap-southeast-5", "abc"),
    ("ap-southeast-6", "abc"),
    ("ap-southeast-7", "abc"),
    ("ca-central-1", "abd"),
    ("ca-west-1", "abc"),
    ("cn-north-1", "abd"),
    ("cn-northwest-1", "abc"),
    ("eu-central-1", "abc"),
    ("eu-central-2", "abc"),
    ("eu-north-1", "abc"),
    ("eu-south-1", "abc"),
    ("eu-south-2", "abc"),
    ("eu-west-1", "abc"),
    ("eu-west-2", "abc"),
    ("eu-west-3", "abc"),
    ("il-central-1", "abc"),
    ("me-central-1", "abc"),
    ("me-south-1", "abc"),
    ("mx-central-1", "abc"),
    ("sa-east-1", "abc"),
    ("us-east-1", "abcdef"),
    ("us-east-2", "abc"),
    ("us-gov-east-1", "abc"),
    ("us-gov-west-1", "abc"),
    ("us-west-1", "ac"),
    ("us-west-2", "abcd"),
];

/// Whether the region is one this table knows by name.
pub(crate) fn is_listed(region: &str) -> bool {
    ZONES.binary_search_by(|(r, _)| r.cmp(&region)).is_ok()
}

/// The assumed zone names of a region, sorted: `us-east-1a` … `us-east-1f`.
pub(crate) fn zones(region: &str) -> Vec<String> {
    let letters = match ZONES.binary_search_by(|(r, _)| r.cmp(&region)) {
        Ok(i) => ZONES[i].1,
        Err(_) => "abc",
    };
    letters.chars().map(|c| format!("{region}{c}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(ZONES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn zone_names() {
        assert_eq!(zones("us-east-1").len(), 6);
        assert_eq!(zones("us-west-2"), ["us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"]);
        assert_eq!(zones("xx-new-1"), ["xx-new-1a", "xx-new-1b", "xx-new-1c"]);
        assert!(is_listed("eu-west-1"));
        assert!(!is_listed("us-east-1-atl-1"));
    }
}

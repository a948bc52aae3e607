//! "Did you mean …?": the known name closest to a misspelt one, for error messages about
//! unknown fields, label keys and label values.

/// Edit distance with adjacent transpositions counted as one edit (optimal string alignment),
/// ignoring ASCII case, so `replicsa` is one edit from `replicas` and `NodeSelector` none from
/// `nodeSelector`.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

/// The candidate closest to `name`, if it is close enough to be what was meant: at most one
/// edit in three characters (and at least one edit allowed), or `name` with a separator
/// dropped or changed (`instance_type` for `instance-type`, `ondemand` for `on-demand`). Ties
/// go to the first candidate.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let squash = |s: &str| s.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    let squashed = squash(name);
    let budget = (name.chars().count() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        if candidate == name {
            continue;
        }
        let d = if !squashed.is_empty() && squash(candidate) == squashed { 0 } else { distance(name, candidate) };
        if d <= budget && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// `; did you mean "x"?` for the closest candidate, or nothing.
pub fn hint<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match closest(name, candidates) {
        Some(c) => format!("; did you mean {c:?}?"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_the_field_meant() {
        let fields = ["requirements", "taints", "startupTaints", "nodeClassRef", "expireAfter"];
        assert_eq!(closest("requirments", fields), Some("requirements"));
        assert_eq!(closest("Taints", fields), Some("taints"));
        assert_eq!(closest("startuptaints", fields), Some("startupTaints"));
        assert_eq!(closest("kubelet", fields), None);
        assert_eq!(closest("replicsa", ["replicas", "selector"]), Some("replicas"));
        assert_eq!(closest("resourcse", ["resources", "restartPolicy"]), Some("resources"));
        assert_eq!(closest("limit", ["limits", "weight"]), Some("limits"));
    }

    #[test]
    fn separators_count_for_nothing() {
        assert_eq!(closest("ondemand", ["spot", "on-demand", "reserved"]), Some("on-demand"));
        assert_eq!(
            closest("node.kubernetes.io/instance_type", ["node.kubernetes.io/instance-type", "kubernetes.io/os"]),
            Some("node.kubernetes.io/instance-type")
        );
    }

    #[test]
    fn short_names_allow_one_edit() {
        assert_eq!(closest("os", ["arch", "os"]), None, "an exact match is not a suggestion");
        assert_eq!(closest("ox", ["os"]), Some("os"));
        assert_eq!(closest("xy", ["os"]), None);
        assert_eq!(hint("zz", ["os"]), "");
        assert_eq!(hint("oss", ["os"]), "; did you mean \"os\"?");
    }
}

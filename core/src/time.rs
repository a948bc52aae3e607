//! Durations (Go syntax: `720h`, `1h30m`, `30s`, `Never`) and RFC 3339 timestamps. The core
//! has no clock: "now" is always an argument.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A span of time in whole milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Duration(pub i64);

/// Seconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

/// A duration that may be switched off, as NodePool fields such as `expireAfter` and
/// `consolidateAfter` accept `Never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NillableDuration {
    Never,
    After(Duration),
}

impl Duration {
    pub fn from_secs(s: i64) -> Self {
        Duration(s.saturating_mul(1000))
    }
    pub fn secs(self) -> i64 {
        self.0.div_euclid(1000)
    }
}

impl std::str::FromStr for Duration {
    type Err = String;
    /// Go's `time.ParseDuration`: a sequence of decimal numbers with units
    /// `ns`, `us`, `µs`, `ms`, `s`, `m`, `h`; `0` alone is allowed. Sub-millisecond parts round up.
    fn from_str(input: &str) -> Result<Self, String> {
        let bad = || format!("invalid duration {input:?}: use Go syntax such as 30s, 15m, 1h30m or 720h");
        let s = input.trim();
        if s == "0" {
            return Ok(Duration(0));
        }
        if s.is_empty() || s.len() > 64 || s.starts_with('-') {
            return Err(bad());
        }
        let s = s.strip_prefix('+').unwrap_or(s);
        let mut nanos: i128 = 0;
        let mut rest = s;
        while !rest.is_empty() {
            let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
            if num_end == 0 {
                return Err(bad());
            }
            let (num, tail) = rest.split_at(num_end);
            let unit_end = tail.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(tail.len());
            let (unit, tail) = tail.split_at(unit_end);
            let unit_nanos: i128 = match unit {
                "ns" => 1,
                "us" | "µs" | "μs" => 1_000,
                "ms" => 1_000_000,
                "s" => 1_000_000_000,
                "m" => 60_000_000_000,
                "h" => 3_600_000_000_000,
                _ => return Err(bad()),
            };
            let (int, frac) = num.split_once('.').unwrap_or((num, ""));
            if (int.is_empty() && frac.is_empty()) || frac.contains('.') || int.len() > 12 {
                return Err(bad());
            }
            let int: i128 = if int.is_empty() { 0 } else { int.parse().map_err(|_| bad())? };
            let mut part = int * unit_nanos;
            let frac = &frac[..frac.len().min(18)];
            if !frac.is_empty() {
                let f: i128 = frac.parse().map_err(|_| bad())?;
                part += f * unit_nanos / 10i128.pow(frac.len() as u32);
            }
            nanos = nanos.checked_add(part).ok_or_else(bad)?;
            rest = tail;
        }
        let millis = (nanos + 999_999) / 1_000_000;
        i64::try_from(millis).map(Duration).map_err(|_| bad())
    }
}

impl fmt::Display for Duration {
    /// Go's style, shortest exact form: `720h`, `1h30m`, `30s`, `1.5s`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        if ms == 0 {
            return f.write_str("0s");
        }
        let (h, rem) = (ms / 3_600_000, ms % 3_600_000);
        let (m, rem) = (rem / 60_000, rem % 60_000);
        let (s, milli) = (rem / 1000, rem % 1000);
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if m > 0 {
            write!(f, "{m}m")?;
        }
        if s > 0 || milli > 0 {
            if milli > 0 {
                let frac = format!("{milli:03}");
                write!(f, "{s}.{}s", frac.trim_end_matches('0'))?;
            } else {
                write!(f, "{s}s")?;
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for NillableDuration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim() == "Never" {
            Ok(NillableDuration::Never)
        } else {
            s.parse().map(NillableDuration::After).map_err(|e| format!("{e}, or Never"))
        }
    }
}

impl fmt::Display for NillableDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NillableDuration::Never => f.write_str("Never"),
            NillableDuration::After(d) => d.fmt(f),
        }
    }
}

impl std::str::FromStr for Timestamp {
    type Err = String;
    /// RFC 3339 (`2026-11-25T09:30:00Z`, fractional seconds and offsets allowed).
    fn from_str(input: &str) -> Result<Self, String> {
        let bad = || format!("invalid timestamp {input:?}: use RFC 3339 such as 2026-11-25T09:30:00Z");
        let s = input.trim().as_bytes();
        if s.len() < 20 {
            return Err(bad());
        }
        let num = |range: std::ops::Range<usize>| -> Result<i64, String> {
            let part = std::str::from_utf8(&s[range]).map_err(|_| bad())?;
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            part.parse().map_err(|_| bad())
        };
        if s[4] != b'-' || s[7] != b'-' || !matches!(s[10], b'T' | b't' | b' ') || s[13] != b':' || s[16] != b':' {
            return Err(bad());
        }
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return Err(bad());
        }
        let mut i = 19;
        if s[i] == b'.' {
            i += 1;
            let start = i;
            while i < s.len() && s[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return Err(bad());
            }
        }
        let offset = match s.get(i) {
            Some(b'Z' | b'z') if i + 1 == s.len() => 0,
            Some(sign @ (b'+' | b'-')) if i + 6 == s.len() && s[i + 3] == b':' => {
                let mins = num(i + 1..i + 3)? * 60 + num(i + 4..i + 6)?;
                if *sign == b'+' {
                    mins
                } else {
                    -mins
                }
            }
            _ => return Err(bad()),
        };
        let days = days_from_civil(year, month, day);
        Ok(Timestamp(days * 86_400 + hour * 3600 + minute * 60 + second - offset * 60))
    }
}

impl fmt::Display for Timestamp {
    /// `2026-11-25T09:30:00Z`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(f, "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub(crate) fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let d = |s: &str| s.parse::<Duration>().unwrap();
        assert_eq!(d("720h"), Duration::from_secs(720 * 3600));
        assert_eq!(d("1h30m"), Duration::from_secs(5400));
        assert_eq!(d("30s"), Duration::from_secs(30));
        assert_eq!(d("1.5s"), Duration(1500));
        assert_eq!(d("0"), Duration(0));
        assert_eq!(d("500ms").to_string(), "0.5s");
        assert_eq!(d("1h30m").to_string(), "1h30m");
        for bad in ["", "1", "-1s", "1x", "h", "1..5s", "99999999999999h"] {
            assert!(bad.parse::<Duration>().is_err(), "{bad}");
        }
        assert_eq!("Never".parse::<NillableDuration>().unwrap(), NillableDuration::Never);
    }

    #[test]
    fn timestamps() {
        let t: Timestamp = "2026-11-25T09:30:00Z".parse().unwrap();
        assert_eq!(t.to_string(), "2026-11-25T09:30:00Z");
        assert_eq!("1970-01-01T00:00:00Z".parse::<Timestamp>().unwrap(), Timestamp(0));
        assert_eq!("1970-01-01T01:00:00.123+01:00".parse::<Timestamp>().unwrap(), Timestamp(0));
        for bad in ["2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "yesterday", "2026-11-25"] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad}");
        }
    }
}

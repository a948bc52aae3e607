//! Kubernetes resource quantities (`100m`, `1.5Gi`, `2e3`, `1E`): the full grammar, held exactly.
//!
//! A [`Quantity`] keeps its value as an integer count of nano-units, so every quantity a
//! manifest can sensibly hold (from `1n` to `7Ei`) is exact. Values finer than a nano-unit round
//! up, as Kubernetes does. Magnitudes above `i64::MAX` whole units are rejected as absurd.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

const NANO: i128 = 1_000_000_000;
/// The largest magnitude accepted, in whole units (Kubernetes' int64 `Value()`).
const MAX_UNITS: i128 = i64::MAX as i128;

/// How a quantity was written; kept so that formatting stays in the user's idiom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum QuantityFormat {
    /// Powers of 1024: `Ki`, `Mi`, `Gi`, `Ti`, `Pi`, `Ei`.
    BinarySI,
    /// Powers of 1000: `n`, `u`, `m`, ``, `k`, `M`, `G`, `T`, `P`, `E`.
    #[default]
    DecimalSI,
    /// Scientific notation: `2e3`, `5E-3`.
    DecimalExponent,
}

/// An exact Kubernetes quantity. Equality and order compare values only (`1Ki == 1024`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Quantity {
    nanos: i128,
    format: QuantityFormat,
}

/// Why a string is not a quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid quantity {input:?}: {reason}")]
pub struct QuantityError {
    pub input: String,
    pub reason: &'static str,
}

impl Quantity {
    pub const ZERO: Quantity = Quantity { nanos: 0, format: QuantityFormat::DecimalSI };

    /// A quantity of whole units (bytes, pods, GPUs, cores).
    pub fn from_units(units: i64) -> Self {
        Quantity { nanos: units as i128 * NANO, format: QuantityFormat::DecimalSI }
    }

    /// A quantity of milli-units (millicores).
    pub fn from_milli(milli: i64) -> Self {
        Quantity { nanos: milli as i128 * 1_000_000, format: QuantityFormat::DecimalSI }
    }

    /// Bytes, formatted with a binary suffix where one fits (`6903Mi`).
    pub fn from_bytes(bytes: i64) -> Self {
        Quantity { nanos: bytes as i128 * NANO, format: QuantityFormat::BinarySI }
    }

    /// The value in whole units, rounded up (Kubernetes' `Value()`).
    pub fn units(&self) -> i64 {
        div_ceil(self.nanos, NANO) as i64
    }

    /// The value in milli-units, rounded up (Kubernetes' `MilliValue()`).
    /// Saturates at `i64::MAX` for values above about 9.2 peta-units.
    pub fn milli(&self) -> i64 {
        div_ceil(self.nanos, 1_000_000).clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }

    /// The exact value in nano-units.
    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    pub fn format(&self) -> QuantityFormat {
        self.format
    }
}

fn div_ceil(a: i128, b: i128) -> i128 {
    let q = a.div_euclid(b);
    if a.rem_euclid(b) == 0 {
        q
    } else {
        q + 1
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}
impl Eq for Quantity {}
impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.nanos.cmp(&other.nanos)
    }
}
impl std::hash::Hash for Quantity {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.nanos.hash(state)
    }
}

enum Scale {
    /// × 10^exp
    Decimal(i32),
    /// × 2^exp
    Binary(u32),
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| QuantityError { input: input.to_string(), reason };
        let s = input.trim();
        if s.is_empty() {
            return Err(err("empty"));
        }
        if s.len() > 64 {
            return Err(err("too long"));
        }
        let bytes = s.as_bytes();
        let mut i = 0;
        let negative = match bytes[0] {
            b'-' => {
                i += 1;
                true
            }
            b'+' => {
                i += 1;
                false
            }
            _ => false,
        };
        let int_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let int_digits = &s[int_start..i];
        let mut frac_digits = "";
        if i < bytes.len() && bytes[i] == b'.' {
            i += 1;
            let frac_start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            frac_digits = &s[frac_start..i];
        }
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(err("expected a number such as 100m, 1.5Gi or 2e3"));
        }
        let suffix = &s[i..];
        let (scale, format) = match suffix {
            "" => (Scale::Decimal(0), QuantityFormat::DecimalSI),
            "n" => (Scale::Decimal(-9), QuantityFormat::DecimalSI),
            "u" => (Scale::Decimal(-6), QuantityFormat::DecimalSI),
            "m" => (Scale::Decimal(-3), QuantityFormat::DecimalSI),
            "k" => (Scale::Decimal(3), QuantityFormat::DecimalSI),
            "M" => (Scale::Decimal(6), QuantityFormat::DecimalSI),
            "G" => (Scale::Decimal(9), QuantityFormat::DecimalSI),
            "T" => (Scale::Decimal(12), QuantityFormat::DecimalSI),
            "P" => (Scale::Decimal(15), QuantityFormat::DecimalSI),
            "E" => (Scale::Decimal(18), QuantityFormat::DecimalSI),
            "Ki" => (Scale::Binary(10), QuantityFormat::BinarySI),
            "Mi" => (Scale::Binary(20), QuantityFormat::BinarySI),
            "Gi" => (Scale::Binary(30), QuantityFormat::BinarySI),
            "Ti" => (Scale::Binary(40), QuantityFormat::BinarySI),
            "Pi" => (Scale::Binary(50), QuantityFormat::BinarySI),
            "Ei" => (Scale::Binary(60), QuantityFormat::BinarySI),
            _ if suffix.starts_with(['e', 'E']) => {
                let exp: i32 = parse_exponent(&suffix[1..]).ok_or_else(|| {
                    err("unknown suffix; use one of n u m k M G T P E Ki Mi Gi Ti Pi Ei or an exponent like e3")
                })?;
                (Scale::Decimal(exp), QuantityFormat::DecimalExponent)
            }
            _ => {
                return Err(err(
                    "unknown suffix; use one of n u m k M G T P E Ki Mi Gi Ti Pi Ei or an exponent like e3",
                ))
            }
        };

        // mantissa × 10^(-frac_len) × scale, in nano-units.
        let frac_digits = frac_digits.trim_end_matches('0');
        let int_digits = int_digits.trim_start_matches('0');
        // The digits of int_digits then frac_digits, less leading zeros: at most 36 of them,
        // which an i128 holds.
        let significant = if int_digits.is_empty() { frac_digits.trim_start_matches('0') } else { frac_digits };
        if int_digits.len() + significant.len() > 36 {
            return Err(err("out of range"));
        }
        let mantissa = int_digits.bytes().chain(significant.bytes()).fold(0i128, |m, d| m * 10 + i128::from(d - b'0'));
        let frac_len = frac_digits.len() as i32;
        let too_big = || err("out of range (at most 9.2E whole units)");
        let nanos = match scale {
            Scale::Decimal(exp) => scale_pow10(mantissa, exp - frac_len + 9).ok_or_else(too_big)?,
            Scale::Binary(bits) => {
                let shifted = mantissa.checked_mul(1i128 << bits).ok_or_else(too_big)?;
                scale_pow10(shifted, 9 - frac_len).ok_or_else(too_big)?
            }
        };
        if nanos > MAX_UNITS * NANO {
            return Err(too_big());
        }
        Ok(Quantity { nanos: if negative { -nanos } else { nanos }, format })
    }
}

fn parse_exponent(s: &str) -> Option<i32> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `value × 10^exp` for a non-negative value, rounding up when `exp` is negative;
/// `None` on overflow.
fn scale_pow10(value: i128, exp: i32) -> Option<i128> {
    if value == 0 {
        return Some(0);
    }
    if exp >= 0 {
        if exp > 38 {
            return None;
        }
        value.checked_mul(10i128.checked_pow(exp as u32)?)
    } else if exp < -38 {
        Some(1) // below one nano-unit: rounds up to the smallest step
    } else {
        Some(div_ceil(value, 10i128.pow((-exp) as u32)))
    }
}

impl fmt::Display for Quantity {
    /// Canonical text: the largest suffix that keeps the value exact, in the quantity's own
    /// idiom (`6903Mi`, `1930m`, `2e3`). Parsing the text gives back the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.nanos < 0 { "-" } else { "" };
        let n = self.nanos.unsigned_abs();
        if n == 0 {
            return f.write_str("0");
        }
        let nano = NANO as u128;
        if self.format == QuantityFormat::BinarySI && n % nano == 0 {
            let units = n / nano;
            if units % 1024 == 0 {
                let mut v = units;
                let mut i = 0;
                while v % 1024 == 0 && i < 6 {
                    v /= 1024;
                    i += 1;
                }
                let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][i];
                return write!(f, "{sign}{v}{suffix}");
            }
        }
        // Decimal: the largest power of 1000 (from 10^-9) that divides the value.
        let mut v = n;
        let mut exp3 = -3i32; // in steps of 10^3, starting at nano
        while v % 1000 == 0 && exp3 < 6 {
            v /= 1000;
            exp3 += 1;
        }
        if self.format == QuantityFormat::DecimalExponent {
            let exp = exp3 * 3;
            return if exp == 0 { write!(f, "{sign}{v}") } else { write!(f, "{sign}{v}e{exp}") };
        }
        let suffix = ["n", "u", "m", "", "k", "M", "G", "T", "P", "E"][(exp3 + 3) as usize];
        write!(f, "{sign}{v}{suffix}")
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i64),
            Float(f64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Int(i) => Ok(Quantity::from_units(i)),
            Raw::Float(x) => format!("{x}").parse().map_err(serde::de::Error::custom),
            Raw::Text(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn q(s: &str) -> Quantity {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn parses_the_whole_grammar() {
        assert_eq!(q("100m").milli(), 100);
        assert_eq!(q("1.5Gi").units(), 1_610_612_736);
        assert_eq!(q("2e3").units(), 2000);
        assert_eq!(q("1k").units(), 1000);
        assert_eq!(q("0.5").milli(), 500);
        assert_eq!(q("512Mi").units(), 536_870_912);
        assert_eq!(q("1E").units(), 1_000_000_000_000_000_000);
        assert_eq!(q("1Ei").units(), 1 << 60);
        assert_eq!(q(".5").milli(), 500);
        assert_eq!(q("5.").units(), 5);
        assert_eq!(q("+3").units(), 3);
        assert_eq!(q("-3").units(), -3);
        assert_eq!(q("1e-3").milli(), 1);
        assert_eq!(q("5E2").units(), 500);
        assert_eq!(q("250u").milli(), 1, "sub-milli rounds up");
        assert_eq!(q("1n").nanos(), 1);
        assert_eq!(q("1e-12").nanos(), 1, "sub-nano rounds up");
        assert_eq!(q("0.1Ki").units(), 103, "102.4 rounds up");
        assert_eq!(q("000123.4500m").nanos(), 123_450_000);
        assert_eq!(q("0").units(), 0);
    }

    #[test]
    fn rejects_what_is_not_a_quantity() {
        for bad in [
            "", "1.5x", "abc", "1Gb", "1.2.3", "--1", "1 Gi", "Gi", "e3", "1e", "1e99999", "8Ei", "1e19", "1ki",
            "0x10", "1,5",
        ] {
            let err = bad.parse::<Quantity>().expect_err(bad);
            assert_eq!(err.input, bad);
        }
    }

    #[test]
    fn formats_in_the_quantitys_own_idiom() {
        assert_eq!(q("1930m").to_string(), "1930m");
        assert_eq!(q("6903Mi").to_string(), "6903Mi");
        assert_eq!(q("1Gi").to_string(), "1Gi");
        assert_eq!(q("1024Ki").to_string(), "1Mi");
        assert_eq!(q("1500m").to_string(), "1500m");
        assert_eq!(q("2000m").to_string(), "2");
        assert_eq!(q("2e3").to_string(), "2e3");
        assert_eq!(q("1.5Gi").to_string(), "1536Mi");
        assert_eq!(q("0.5Ki").to_string(), "512");
        assert_eq!(Quantity::from_bytes(7_238_000_000).to_string(), "7238M");
    }

    #[test]
    fn equality_is_by_value() {
        assert_eq!(q("1Ki"), q("1024"));
        assert_eq!(q("1"), q("1000m"));
        assert!(q("999m") < q("1"));
    }

    #[test]
    fn serde_accepts_strings_and_numbers() {
        let v: Vec<Quantity> = serde_json::from_str(r#"["100m", 2, 0.25]"#).unwrap();
        assert_eq!(v, vec![q("100m"), q("2"), q("250m")]);
        assert_eq!(serde_json::to_string(&q("1.5Gi")).unwrap(), r#""1536Mi""#);
    }

    proptest! {
        #[test]
        fn round_trips_through_text(nanos in -(MAX_UNITS * NANO)..=(MAX_UNITS * NANO), fmt in 0..3u8) {
            let format = [QuantityFormat::BinarySI, QuantityFormat::DecimalSI, QuantityFormat::DecimalExponent][fmt as usize];
            let original = Quantity { nanos, format };
            let text = original.to_string();
            let back: Quantity = text.parse().unwrap();
            prop_assert_eq!(back, original, "{}", text);
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,40}") {
            let _ = s.parse::<Quantity>();
        }

        #[test]
        fn parsed_numbers_match_integers(units in 0i64..i64::MAX / 1024, suffix in 0..4usize) {
            let (s, mul) = [("", 1i128), ("k", 1000), ("Ki", 1024), ("m", 0)][suffix];
            let q: Quantity = format!("{units}{s}").parse().unwrap();
            if mul == 0 {
                prop_assert_eq!(q.milli(), units);
            } else if units as i128 * mul <= MAX_UNITS {
                prop_assert_eq!(q.units() as i128, units as i128 * mul);
            }
        }
    }
}

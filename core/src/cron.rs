//! Cron schedules of NodePool disruption budgets, evaluated the way Karpenter v1 does (it parses
//! them with robfig/cron v3's standard parser).
//!
//! A budget with a `schedule` (a cron expression, always UTC) and a `duration` is active from
//! each time the schedule fires until `duration` later; outside those windows it does not
//! apply. [`Schedule::parse`] reads the standard five fields
//! (`minute hour day-of-month month day-of-week`) or one of the `@` shorthands, and
//! [`Schedule::active`] answers whether a budget is active at a given time.
//!
//! Syntax, per field: `*` or `?` (every value), a number, a range `a-b`, a step `*/n`, `a-b/n`
//! or `a/n` (from `a` to the end of the field), and comma-separated lists of these. Months
//! take the names `jan`..`dec` and weekdays `sun`..`sat`, case-insensitively, also in ranges
//! (`mon-fri`). Weekdays run 0-6 from Sunday; `7` is rejected, as robfig/cron rejects it.
//!
//! When both day-of-month and day-of-week are restricted, a day matches if either matches:
//! `0 0 13 * fri` fires on every 13th and on every Friday. As in robfig/cron, a day field is
//! unrestricted only if one of its items is `*` or `?` with no step or a step of 1 (`*/1`, also
//! inside a list: `*,5`); any other field is restricted, `*/2` included, so `0 0 */2 * fri`
//! fires on every odd day and on every Friday (Vixie cron would take only the odd Fridays).
//!
//! ```
//! use fleetfit::cron::Schedule;
//! use fleetfit::time::{Duration, Timestamp};
//!
//! let office_hours = Schedule::parse("0 9 * * mon-fri")?;
//! let friday_afternoon: Timestamp = "2024-03-01T16:59:00Z".parse()?;
//! let saturday: Timestamp = "2024-03-02T10:00:00Z".parse()?;
//! assert!(office_hours.active(friday_afternoon, Duration::from_secs(8 * 3600)));
//! assert!(!office_hours.active(saturday, Duration::from_secs(8 * 3600)));
//! # Ok::<(), String>(())
//! ```

use crate::time::{civil_from_days, days_in_month, Duration, Timestamp};

/// The `@` shorthands and the five fields each stands for.
const MACROS: &[(&str, &str)] = &[
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

const SECS_PER_DAY: i128 = 86_400;

/// The Gregorian calendar repeats, weekdays included, every 400 years: 146,097 days. A day
/// pattern that matches no day in that many consecutive days matches none at all.
const DAYS_PER_CYCLE: i128 = 146_097;

/// A parsed cron schedule: for each field, the set of values it fires at, as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Schedule {
    /// Bits 0-59.
    minutes: u64,
    /// Bits 0-23.
    hours: u64,
    /// Bits 1-31.
    days: u64,
    /// Bits 1-12.
    months: u64,
    /// Bits 0-6, Sunday = 0.
    weekdays: u64,
    /// Both day-of-month and day-of-week are restricted (neither has robfig's star bit): a day
    /// matches if either does.
    either_day: bool,
}

/// What one of the five fields accepts.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names of the values from `min` up, if the field has names.
    names: &'static [&'static str],
    kind: &'static str,
    /// The names of `min` and `max`, for range errors, if the field has names.
    name_range: &'static str,
}

const FIELDS: [Field; 5] = [
    Field { name: "minute", min: 0, max: 59, names: &[], kind: "", name_range: "" },
    Field { name: "hour", min: 0, max: 23, names: &[], kind: "", name_range: "" },
    Field { name: "day-of-month", min: 1, max: 31, names: &[], kind: "", name_range: "" },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
        kind: " or a month name (jan-dec)",
        name_range: " (jan-dec)",
    },
    Field {
        name: "day-of-week",
        min: 0,
        max: 6,
        names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
        kind: " or a day name (sun-sat)",
        name_range: " (sun-sat)",
    },
];

impl Schedule {
    /// Reads a cron expression: five whitespace-separated fields
    /// (`minute hour day-of-month month day-of-week`), or one of `@yearly`, `@annually`,
    /// `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`.
    ///
    /// Errors are messages for the user that name the bad field and value, such as
    /// `invalid cron schedule "0 25 * * *": hour 25 is out of range 0-23`.
    pub fn parse(input: &str) -> Result<Schedule, String> {
        let s = input.trim();
        let invalid = |why: String| format!("invalid cron schedule {s:?}: {why}");
        let expanded = if s.starts_with('@') {
            match MACROS.iter().find(|(name, _)| *name == s) {
                Some((_, fields)) => *fields,
                None => {
                    let names: Vec<&str> = MACROS.iter().map(|(name, _)| *name).collect();
                    return Err(invalid(format!("unknown shorthand; use {}, or five fields", names.join(", "))));
                }
            }
        } else {
            s
        };
        let texts: Vec<&str> = expanded.split_whitespace().collect();
        let [minute, hour, day, month, weekday] = texts[..] else {
            return Err(invalid(
                "use five fields (minute hour day-of-month month day-of-week), e.g. \"0 9 * * mon-fri\"".into(),
            ));
        };
        let [fm, fh, fd, fmo, fw] = &FIELDS;
        let (minutes, _) = parse_field(minute, fm).map_err(invalid)?;
        let (hours, _) = parse_field(hour, fh).map_err(invalid)?;
        let (days, day_star) = parse_field(day, fd).map_err(invalid)?;
        let (months, _) = parse_field(month, fmo).map_err(invalid)?;
        let (weekdays, weekday_star) = parse_field(weekday, fw).map_err(invalid)?;
        Ok(Schedule { minutes, hours, days, months, weekdays, either_day: !day_star && !weekday_star })
    }

    /// Whether the schedule fires at the start of the minute containing `t` (seconds since the
    /// Unix epoch, UTC).
    pub fn fires_at(&self, t: Timestamp) -> bool {
        let t = i128::from(t.0);
        let day = t.div_euclid(SECS_PER_DAY);
        let secs = t.rem_euclid(SECS_PER_DAY);
        let date = Date::of_day(day);
        self.month_matches(date.month)
            && self.day_matches(date.day, date.weekday)
            && bit(self.hours, secs / 3600)
            && bit(self.minutes, secs / 60 % 60)
    }

    /// The latest fire time at or before `now`, looking back at most `within`; `None` if the
    /// schedule does not fire in `[now - within, now]` (or `within` is negative).
    ///
    /// Walks back a day at a time, skipping months the schedule excludes, and finds the hour
    /// and minute within a matching day directly, so a window of a year costs a few hundred
    /// steps. It never looks back more than one 400-year cycle: the calendar repeats after it.
    pub fn last_fire(&self, now: Timestamp, within: Duration) -> Option<Timestamp> {
        if within.0 < 0 {
            return None;
        }
        // t qualifies when (now - t) * 1000 <= within, t in whole seconds.
        let earliest = i128::from(now.0) - i128::from(within.0.div_euclid(1000));
        self.last_fire_since(now, earliest)
    }

    /// Whether a budget with this schedule and `duration` is active at `now`: the schedule's
    /// latest fire time `t` at or before `now` satisfies `now < t + duration` (Karpenter's
    /// `Budget.IsActive`). Otherwise a zero or negative duration is never active.
    ///
    /// A schedule that can never fire (`0 0 30 2 *`) is always active, whatever the duration:
    /// Karpenter asks robfig/cron for the next fire after `now - duration`, gets the zero time
    /// when there is none, and counts a budget active whenever that is not after `now`.
    /// ([`Schedule::last_fire`] still finds no fire for such a schedule.)
    ///
    /// Not modelled: robfig's search also gives up, with the zero time, at the end of the fifth
    /// calendar year after the year of `now - duration`, so Karpenter also counts a budget active
    /// in a gap of more than five years between fires. Only February 29th with an unrestricted day-of-week
    /// has such gaps, around the years 2100, 2200 and 2300 that are not leap years.
    pub fn active(&self, now: Timestamp, duration: Duration) -> bool {
        if !self.can_fire() {
            return true;
        }
        if duration.0 <= 0 {
            return false;
        }
        // now < t + duration/1000 with whole seconds means now - t <= ceil(duration/1000) - 1.
        let span = (i128::from(duration.0) + 999).div_euclid(1000) - 1;
        self.last_fire_since(now, i128::from(now.0) - span).is_some()
    }

    /// The latest fire time `t` with `earliest <= t <= now`.
    fn last_fire_since(&self, now: Timestamp, earliest: i128) -> Option<Timestamp> {
        if !self.can_fire() {
            return None;
        }
        let now = i128::from(now.0);
        let today = now.div_euclid(SECS_PER_DAY);
        let secs = now.rem_euclid(SECS_PER_DAY);
        let (hour_now, minute_now) = ((secs / 3600) as u32, (secs / 60 % 60) as u32);
        let stop = earliest.div_euclid(SECS_PER_DAY).max(today - DAYS_PER_CYCLE);
        let mut day = today;
        let mut date = Date::of_day(day);
        while day >= stop {
            if !self.month_matches(date.month) {
                // Jump to the last day of the previous month.
                day -= i128::from(date.day);
                date = date.back(date.day);
                continue;
            }
            if self.day_matches(date.day, date.weekday) {
                let (hour_max, minute_max) = if day == today { (hour_now, minute_now) } else { (23, 59) };
                if let Some((hour, minute)) = self.latest_in_day(hour_max, minute_max) {
                    let t = day * SECS_PER_DAY + i128::from(hour) * 3600 + i128::from(minute) * 60;
                    // t <= now; it fails to fit an i64 only when it lies before i64::MIN.
                    return if t >= earliest { i64::try_from(t).ok().map(Timestamp) } else { None };
                }
            }
            day -= 1;
            date = date.back(1);
        }
        None
    }

    /// The latest (hour, minute) the schedule fires at, at or before `hour_max:minute_max`
    /// of a day that matches.
    fn latest_in_day(&self, hour_max: u32, minute_max: u32) -> Option<(u32, u32)> {
        if bit(self.hours, i128::from(hour_max)) {
            if let Some(minute) = highest(self.minutes, minute_max) {
                return Some((hour_max, minute));
            }
        }
        let hour = highest(self.hours, hour_max.checked_sub(1)?)?;
        Some((hour, highest(self.minutes, 59)?))
    }

    /// Whether any day ever matches. When both day fields are restricted, either one matching
    /// is enough, and every month has every weekday. Otherwise one of them is unrestricted (all
    /// of its values), and a day matches if the other field matches it: every weekday comes in
    /// every month, so only a date that no allowed month has can rule them all out
    /// (`0 0 30 2 *`). February 29th counts.
    fn can_fire(&self) -> bool {
        const LAST_DAY: [u32; 13] = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        self.either_day
            || (1..=12).any(|month| self.month_matches(month) && highest(self.days, LAST_DAY[month as usize]).is_some())
    }

    fn month_matches(&self, month: u32) -> bool {
        bit(self.months, i128::from(month))
    }

    /// The day rule: both fields must match, unless both are restricted, when either may.
    fn day_matches(&self, day: u32, weekday: u32) -> bool {
        let (by_date, by_weekday) = (bit(self.days, i128::from(day)), bit(self.weekdays, i128::from(weekday)));
        if self.either_day {
            by_date || by_weekday
        } else {
            by_date && by_weekday
        }
    }
}

impl std::str::FromStr for Schedule {
    type Err = String;
    /// Same as [`Schedule::parse`].
    fn from_str(s: &str) -> Result<Self, String> {
        Schedule::parse(s)
    }
}

/// A calendar day, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Date {
    year: i64,
    /// 1-12.
    month: u32,
    /// 1-31.
    day: u32,
    /// 0-6, Sunday = 0.
    weekday: u32,
}

impl Date {
    /// The date `days` days after 1970-01-01 (a Thursday). `days` comes from an `i64` of
    /// seconds (possibly minus one 400-year cycle), far inside the range the conversion handles.
    fn of_day(days: i128) -> Date {
        let days = i64::try_from(days).unwrap_or(if days < 0 { i64::MIN / 2 } else { i64::MAX / 2 });
        let (year, month, day) = civil_from_days(days);
        Date { year, month: month as u32, day: day as u32, weekday: (days.rem_euclid(7) as u32 + 4) % 7 }
    }

    /// The date `n` days earlier, for `1 <= n <= self.day`.
    fn back(self, n: u32) -> Date {
        let weekday = (self.weekday + 7 - n % 7) % 7;
        if n < self.day {
            return Date { day: self.day - n, weekday, ..self };
        }
        let (year, month) = if self.month == 1 { (self.year - 1, 12) } else { (self.year, self.month - 1) };
        let last = days_in_month(year, i64::from(month)) as u32;
        Date { year, month, day: last - (n - self.day), weekday }
    }
}

/// Whether bit `i` of `bits` is set.
fn bit(bits: u64, i: i128) -> bool {
    (0..64).contains(&i) && bits & 1 << i != 0
}

/// The highest set bit of `bits` at or below `max`.
fn highest(bits: u64, max: u32) -> Option<u32> {
    let mask = if max >= 63 { u64::MAX } else { (1 << (max + 1)) - 1 };
    let masked = bits & mask;
    (masked != 0).then(|| 63 - masked.leading_zeros())
}

/// One field's comma-separated list, as the set of values it allows, and whether it is
/// unrestricted the way robfig/cron's star bit says: some item is `*` or `?` with no step or a
/// step of 1. Errors name the field.
fn parse_field(text: &str, field: &Field) -> Result<(u64, bool), String> {
    let name = field.name;
    let mut bits = 0u64;
    let mut star = false;
    for item in text.split(',') {
        if item.is_empty() {
            return Err(format!("{name} {text:?} has an empty item in its list"));
        }
        let (range, step) = match item.split_once('/') {
            Some((_, step)) if step.contains('/') => {
                return Err(format!("{name} {item:?} has more than one step (/)"));
            }
            Some((range, step)) => (range, Some(step)),
            None => (item, None),
        };
        let any = range == "*" || range == "?";
        let (first, last) = if any {
            (field.min, field.max)
        } else if let Some((a, b)) = range.split_once('-') {
            if b.contains('-') {
                return Err(format!("{name} {item:?} has more than one range (-)"));
            }
            if a == "*" || a == "?" {
                return Err(format!("{name} {item:?} is not valid: use {a} or a range a-b, not both"));
            }
            if a.is_empty() || b.is_empty() {
                return Err(format!("{name} {item:?} is missing a number"));
            }
            let (first, last) = (value(a, field)?, value(b, field)?);
            if first > last {
                return Err(format!("{name} range {range} starts after it ends"));
            }
            (first, last)
        } else {
            if range.is_empty() {
                return Err(format!("{name} {item:?} is missing a number"));
            }
            let first = value(range, field)?;
            // `a/n` runs from a to the end of the field.
            (first, if step.is_some() { field.max } else { first })
        };
        let step = match step {
            None => 1,
            Some("") => return Err(format!("{name} {item:?} is missing its step")),
            Some(s) if s.bytes().all(|b| b.is_ascii_digit()) => match digits(s) {
                0 => return Err(format!("{name} step {s} must be at least 1")),
                n => n,
            },
            Some(s) => return Err(format!("{name} step {s:?} is not a number")),
        };
        star |= any && step == 1;
        for v in (first..=last).step_by(usize::try_from(step).unwrap_or(usize::MAX)) {
            bits |= 1 << v;
        }
    }
    Ok((bits, star))
}

/// One value of a field: a number in range, or a name the field accepts.
fn value(token: &str, field: &Field) -> Result<u32, String> {
    if token.bytes().all(|b| b.is_ascii_digit()) {
        let v = digits(token);
        if v < field.min || v > field.max {
            let (name, min, max, names) = (field.name, field.min, field.max, field.name_range);
            // crontab(5) takes 7 for Sunday; robfig/cron, and so Karpenter, does not.
            let hint = if name == "day-of-week" && v == 7 { "; for Sunday use 0 or sun" } else { "" };
            return Err(format!("{name} {token} is out of range {min}-{max}{names}{hint}"));
        }
        return Ok(v);
    }
    field
        .names
        .iter()
        .position(|name| name.eq_ignore_ascii_case(token))
        .map(|i| field.min + i as u32)
        .ok_or_else(|| format!("{} {token:?} is not a number{}", field.name, field.kind))
}

/// A non-empty string of ASCII digits as a number, saturating at `u32::MAX`.
fn digits(s: &str) -> u32 {
    s.bytes().fold(0u32, |n, b| n.saturating_mul(10).saturating_add(u32::from(b - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn sched(s: &str) -> Schedule {
        Schedule::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn err(s: &str) -> String {
        Schedule::parse(s).expect_err(s)
    }

    fn hours(n: i64) -> Duration {
        Duration::from_secs(n * 3600)
    }

    fn bits(values: &[u32]) -> u64 {
        values.iter().fold(0, |b, v| b | 1 << v)
    }

    #[test]
    fn parses_every_syntax() {
        let s = sched("*/15 9-17 1,15 jan-mar/2 mon-fri");
        assert_eq!(s.minutes, bits(&[0, 15, 30, 45]));
        assert_eq!(s.hours, bits(&[9, 10, 11, 12, 13, 14, 15, 16, 17]));
        assert_eq!(s.days, bits(&[1, 15]));
        assert_eq!(s.months, bits(&[1, 3]));
        assert_eq!(s.weekdays, bits(&[1, 2, 3, 4, 5]));
        assert!(s.either_day);

        let all = sched("* * * * *");
        assert_eq!(all.minutes, (1 << 60) - 1);
        assert_eq!(all.hours, (1 << 24) - 1);
        assert_eq!(all.days, ((1 << 32) - 1) & !1);
        assert_eq!(all.months, ((1 << 13) - 1) & !1);
        assert_eq!(all.weekdays, (1 << 7) - 1);
        assert!(!all.either_day);
        assert_eq!(sched("? ? ? ? ?"), all);
        assert_eq!(sched("\t* *  * * *\n"), all);
        assert_eq!(sched("0-59 0-23 1-31 1-12 0-6"), Schedule { either_day: true, ..all });

        // a/n runs to the end of the field; a-b/n stays inside the range.
        assert_eq!(sched("50/3 * * * *").minutes, bits(&[50, 53, 56, 59]));
        assert_eq!(sched("10-20/5 * * * *").minutes, bits(&[10, 15, 20]));
        assert_eq!(sched("* 3/4 * * *").hours, bits(&[3, 7, 11, 15, 19, 23]));
        assert_eq!(sched("*/100 * * * *").minutes, bits(&[0]));
        assert_eq!(sched("* * */10 * *").days, bits(&[1, 11, 21, 31]));
        assert_eq!(sched("1,2,5-7,*/20 * * * *").minutes, bits(&[0, 1, 2, 5, 6, 7, 20, 40]));

        // Names, case-insensitive, alone, in ranges, lists and with steps.
        assert_eq!(sched("* * * JAN,Dec *").months, bits(&[1, 12]));
        assert_eq!(sched("* * * * SUN").weekdays, bits(&[0]));
        assert_eq!(sched("* * * * 0").weekdays, bits(&[0]));
        assert_eq!(sched("* * * * 5-6").weekdays, bits(&[5, 6]));
        assert_eq!(sched("* * * * sat,sun").weekdays, bits(&[0, 6]));
        assert_eq!(sched("* * * * mon/2").weekdays, bits(&[1, 3, 5]));
        assert_eq!(sched("* * * * sat/2").weekdays, bits(&[6]));
        assert_eq!(sched("* * * * */2").weekdays, bits(&[0, 2, 4, 6]));
        assert_eq!(sched("* * * * */7").weekdays, bits(&[0]));
        assert_eq!(sched("* * * feb-apr *").months, bits(&[2, 3, 4]));

        // The day rule, robfig/cron's star bit: a day field is unrestricted only if some item is
        // * or ? with no step or a step of 1; OR only when neither is.
        assert!(sched("0 0 13 * fri").either_day);
        assert!(!sched("0 0 13 * *").either_day);
        assert!(!sched("0 0 * * fri").either_day);
        assert!(!sched("0 0 ? * fri").either_day);
        assert!(!sched("0 0 13 * ?").either_day);
        assert!(!sched("0 0 */1 * fri").either_day);
        assert!(!sched("0 0 13 * ?/01").either_day);
        assert!(!sched("0 0 13 * 1,*").either_day);
        assert!(!sched("0 0 */2,* * fri").either_day);
        assert!(sched("0 0 */2 * fri").either_day);
        assert!(sched("0 0 13 * */2").either_day);
        assert!(sched("0 0 13 * ?/3").either_day);
        assert!(sched("0 0 */2,5 * fri").either_day);
        assert!(sched("0 0 1-31 * fri").either_day);
        assert!(sched("0 0 1/1 * fri").either_day);
        assert!(sched("0 0 13 * 0-6").either_day);
        // The shorthands leave both day fields unrestricted but the one they fix.
        for name in ["@yearly", "@monthly", "@weekly", "@daily", "@hourly"] {
            assert!(!sched(name).either_day, "{name}");
        }
    }

    #[test]
    fn macros() {
        for (name, fields) in [
            ("@yearly", "0 0 1 1 *"),
            ("@annually", "0 0 1 1 *"),
            ("@monthly", "0 0 1 * *"),
            ("@weekly", "0 0 * * 0"),
            ("@daily", "0 0 * * *"),
            ("@midnight", "0 0 * * *"),
            ("@hourly", "0 * * * *"),
        ] {
            assert_eq!(sched(name), sched(fields), "{name}");
        }
        assert_eq!(sched(" @daily "), sched("@daily"));
        assert_eq!(
            err("@every 1h"),
            "invalid cron schedule \"@every 1h\": unknown shorthand; use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, or five fields"
        );
        assert!(Schedule::parse("@DAILY").is_err());
    }

    #[test]
    fn errors_name_the_field_and_value() {
        let five = "use five fields (minute hour day-of-month month day-of-week), e.g. \"0 9 * * mon-fri\"";
        assert_eq!(err("every day"), format!("invalid cron schedule \"every day\": {five}"));
        assert_eq!(err(""), format!("invalid cron schedule \"\": {five}"));
        assert_eq!(err("0 0 * * * *"), format!("invalid cron schedule \"0 0 * * * *\": {five}"));
        let cases = [
            ("0 25 * * *", "hour 25 is out of range 0-23"),
            ("60 * * * *", "minute 60 is out of range 0-59"),
            ("* * 0 * *", "day-of-month 0 is out of range 1-31"),
            ("* * 32 * *", "day-of-month 32 is out of range 1-31"),
            ("* * * 13 *", "month 13 is out of range 1-12 (jan-dec)"),
            ("* * * 0 *", "month 0 is out of range 1-12 (jan-dec)"),
            ("* * * * 8", "day-of-week 8 is out of range 0-6 (sun-sat)"),
            ("* * * * 7", "day-of-week 7 is out of range 0-6 (sun-sat); for Sunday use 0 or sun"),
            ("* * * * 5-7", "day-of-week 7 is out of range 0-6 (sun-sat); for Sunday use 0 or sun"),
            ("* * * * fri-7", "day-of-week 7 is out of range 0-6 (sun-sat); for Sunday use 0 or sun"),
            ("* * * * 7/1", "day-of-week 7 is out of range 0-6 (sun-sat); for Sunday use 0 or sun"),
            ("* * * * mon,7", "day-of-week 7 is out of range 0-6 (sun-sat); for Sunday use 0 or sun"),
            ("7 7 7 7 7", "day-of-week 7 is out of range 0-6 (sun-sat); for Sunday use 0 or sun"),
            ("* 1-99999999999999999999 * * *", "hour 99999999999999999999 is out of range 0-23"),
            ("*/0 * * * *", "minute step 0 must be at least 1"),
            ("*/x * * * *", "minute step \"x\" is not a number"),
            ("*/-1 * * * *", "minute step \"-1\" is not a number"),
            ("*/ * * * *", "minute \"*/\" is missing its step"),
            ("1/2/3 * * * *", "minute \"1/2/3\" has more than one step (/)"),
            ("1-2-3 * * * *", "minute \"1-2-3\" has more than one range (-)"),
            ("*-5 * * * *", "minute \"*-5\" is not valid: use * or a range a-b, not both"),
            ("5- * * * *", "minute \"5-\" is missing a number"),
            ("-5 * * * *", "minute \"-5\" is missing a number"),
            ("/5 * * * *", "minute \"/5\" is missing a number"),
            ("1,,2 * * * *", "minute \"1,,2\" has an empty item in its list"),
            ("1, * * * *", "minute \"1,\" has an empty item in its list"),
            ("* 17-9 * * *", "hour range 17-9 starts after it ends"),
            ("* * * * fri-mon", "day-of-week range fri-mon starts after it ends"),
            ("* * * janu *", "month \"janu\" is not a number or a month name (jan-dec)"),
            ("* * * * funday", "day-of-week \"funday\" is not a number or a day name (sun-sat)"),
            ("* * mon * *", "day-of-month \"mon\" is not a number"),
            ("x * * * *", "minute \"x\" is not a number"),
            ("* * * * møn", "day-of-week \"møn\" is not a number or a day name (sun-sat)"),
        ];
        for (input, why) in cases {
            assert_eq!(err(input), format!("invalid cron schedule {input:?}: {why}"));
        }
        assert_eq!("0 9 * * mon-fri".parse::<Schedule>(), Schedule::parse("0 9 * * mon-fri"));
    }

    #[test]
    fn fires_at_known_dates() {
        // 1970-01-01 was a Thursday; 2024-02-29 too.
        assert_eq!(ts("2024-02-29T00:00:00Z"), Timestamp(1_709_164_800));
        assert!(sched("0 0 * * thu").fires_at(Timestamp(0)));
        assert!(sched("0 0 1 1 *").fires_at(Timestamp(0)));
        assert!(!sched("0 0 * * wed").fires_at(Timestamp(0)));
        assert!(sched("0 0 29 2 thu").fires_at(Timestamp(1_709_164_800)));
        assert!(sched("0 0 29 2 *").fires_at(Timestamp(1_709_164_800)));
        assert!(sched("0 0 * * 4").fires_at(Timestamp(1_709_164_800)));
        assert!(!sched("0 0 * * fri").fires_at(Timestamp(1_709_164_800)));
        // Anywhere within the minute counts; the next minute does not.
        assert!(sched("0 0 * * thu").fires_at(Timestamp(59)));
        assert!(!sched("0 0 * * thu").fires_at(Timestamp(60)));
        // 1969-12-31T23:59:00Z, a Wednesday, before the epoch.
        assert!(sched("59 23 31 12 wed").fires_at(Timestamp(-60)));
        assert!(sched("59 23 31 dec *").fires_at(Timestamp(-1)));
        assert!(!sched("59 23 31 12 *").fires_at(Timestamp(-61)));
        // 2024-03-01T09:30Z, a Friday.
        assert_eq!(ts("2024-03-01T09:30:00Z"), Timestamp(1_709_285_400));
        assert!(sched("30 9 * * fri").fires_at(Timestamp(1_709_285_400)));
        assert!(sched("*/15 8-17 * mar mon-fri").fires_at(Timestamp(1_709_285_400)));
        assert!(!sched("*/15 8-17 * apr mon-fri").fires_at(Timestamp(1_709_285_400)));
        // 2000-02-29 was a Tuesday; 2100-03-01 will be a Monday (2100 is no leap year).
        assert!(sched("0 12 29 2 tue").fires_at(ts("2000-02-29T12:00:00Z")));
        assert!(sched("0 0 1 3 mon").fires_at(ts("2100-03-01T00:00:00Z")));
        assert!(sched("0 0 1 3 *").fires_at(Timestamp(4_107_542_400)));
        // Sunday is 0: 2024-10-13.
        assert!(sched("0 0 * * 0").fires_at(ts("2024-10-13T00:00:00Z")));
        assert!(sched("0 0 * * sun").fires_at(ts("2024-10-13T00:00:00Z")));
        assert!(sched("@weekly").fires_at(ts("2024-10-13T00:00:00Z")));
        assert!(!sched("@weekly").fires_at(ts("2024-10-14T00:00:00Z")));
        // Extremes do not panic.
        for t in [i64::MIN, i64::MIN + 1, -1, i64::MAX - 1, i64::MAX] {
            assert!(sched("* * * * *").fires_at(Timestamp(t)));
            let _ = sched("0 0 29 2 mon").fires_at(Timestamp(t));
        }
    }

    #[test]
    fn robfig_day_rule() {
        // Friday the 13th: both restricted, so the 13th OR a Friday.
        let either = sched("0 0 13 * fri");
        assert!(either.fires_at(ts("2024-09-13T00:00:00Z"))); // Friday the 13th
        assert!(either.fires_at(ts("2024-10-13T00:00:00Z"))); // Sunday the 13th
        assert!(either.fires_at(ts("2024-10-18T00:00:00Z"))); // Friday the 18th
        assert!(!either.fires_at(ts("2024-10-14T00:00:00Z"))); // Monday the 14th

        // A step above 1 restricts, even after *: odd days OR Fridays (not Vixie's odd Fridays).
        let odd_or_friday = sched("0 0 */2 * fri");
        assert!(odd_or_friday.fires_at(ts("2024-10-11T00:00:00Z"))); // Friday the 11th
        assert!(odd_or_friday.fires_at(ts("2024-10-18T00:00:00Z"))); // Friday the 18th
        assert!(odd_or_friday.fires_at(ts("2024-10-13T00:00:00Z"))); // Sunday the 13th
        assert!(!odd_or_friday.fires_at(ts("2024-10-14T00:00:00Z"))); // Monday the 14th
        let thirteenth_or_weekend = sched("0 0 13 * */6"); // Sunday and Saturday
        assert!(thirteenth_or_weekend.fires_at(ts("2024-10-05T00:00:00Z"))); // Saturday the 5th
        assert!(thirteenth_or_weekend.fires_at(ts("2024-10-13T00:00:00Z"))); // Sunday the 13th
        assert!(!thirteenth_or_weekend.fires_at(ts("2024-10-15T00:00:00Z"))); // Tuesday the 15th

        // One day field unrestricted (* or ?, step 1, maybe in a list): both must match.
        for fridays in ["0 0 ? * fri", "0 0 * * fri", "0 0 */1 * fri", "0 0 5,* * fri"] {
            let s = sched(fridays);
            assert!(s.fires_at(ts("2024-10-18T00:00:00Z")), "{fridays}");
            assert!(!s.fires_at(ts("2024-10-13T00:00:00Z")), "{fridays}");
            assert!(!s.fires_at(ts("2024-10-05T00:00:00Z")), "{fridays}");
        }
        for thirteenths in ["0 0 13 * ?", "0 0 13 * *", "0 0 13 * ?/1", "0 0 13 * fri,*"] {
            let s = sched(thirteenths);
            assert!(s.fires_at(ts("2024-10-13T00:00:00Z")), "{thirteenths}");
            assert!(!s.fires_at(ts("2024-10-18T00:00:00Z")), "{thirteenths}");
        }
    }

    #[test]
    fn office_hours_budget() {
        let s = sched("0 9 * * mon-fri");
        let d = hours(8);
        // 2024-03-01 is a Friday.
        assert!(!s.active(ts("2024-03-01T08:59:59Z"), d));
        assert!(s.active(ts("2024-03-01T09:00:00Z"), d));
        assert!(s.active(ts("2024-03-01T12:00:00Z"), d));
        assert!(s.active(ts("2024-03-01T16:59:00Z"), d));
        assert!(s.active(ts("2024-03-01T16:59:59Z"), d));
        assert!(!s.active(ts("2024-03-01T17:00:00Z"), d));
        assert!(!s.active(ts("2024-03-02T10:00:00Z"), d)); // Saturday
        assert!(!s.active(ts("2024-03-03T09:00:00Z"), d)); // Sunday
        assert!(s.active(ts("2024-03-04T09:00:00Z"), d)); // Monday

        // Sub-second durations: active only for the fire's first second(s).
        assert!(s.active(ts("2024-03-04T09:00:00Z"), Duration(1)));
        assert!(!s.active(ts("2024-03-04T09:00:01Z"), Duration(1000)));
        assert!(s.active(ts("2024-03-04T09:00:01Z"), Duration(1001)));
        // No duration, no window.
        assert!(!s.active(ts("2024-03-04T09:00:00Z"), Duration(0)));
        assert!(!s.active(ts("2024-03-04T09:00:00Z"), Duration(-5)));
    }

    #[test]
    fn budget_longer_than_a_day() {
        // Friday 22:00 for 60 hours: until Monday 10:00.
        let s = sched("0 22 * * fri");
        let d = hours(60);
        assert!(!s.active(ts("2024-03-01T21:59:00Z"), d));
        assert!(s.active(ts("2024-03-01T22:00:00Z"), d));
        assert!(s.active(ts("2024-03-03T12:00:00Z"), d));
        assert!(s.active(ts("2024-03-04T09:59:59Z"), d));
        assert!(!s.active(ts("2024-03-04T10:00:00Z"), d));
        assert!(!s.active(ts("2024-03-06T12:00:00Z"), d));
        // A duration longer than the period: always active once it has fired.
        assert!(sched("@hourly").active(ts("2024-03-04T10:30:00Z"), hours(2)));
        assert!(sched("@monthly").active(ts("2024-03-31T23:59:00Z"), hours(24 * 31)));
        assert!(!sched("@monthly").active(ts("2024-03-31T23:59:00Z"), hours(24 * 30)));
    }

    #[test]
    fn last_fire_across_boundaries() {
        let lf = |s: &str, now: &str, within: Duration| sched(s).last_fire(ts(now), within);
        let years = |n: i64| hours(24 * 366 * n);
        let year = years(1);
        // Year boundary.
        assert_eq!(lf("59 23 31 12 *", "2025-01-01T00:00:30Z", hours(1)), Some(ts("2024-12-31T23:59:00Z")));
        assert_eq!(lf("@yearly", "2024-12-31T23:59:59Z", year), Some(ts("2024-01-01T00:00:00Z")));
        assert_eq!(lf("@yearly", "2025-01-01T00:00:00Z", Duration(0)), Some(ts("2025-01-01T00:00:00Z")));
        // Month boundaries: April has no 31st.
        assert_eq!(lf("0 0 31 * *", "2024-05-15T00:00:00Z", year), Some(ts("2024-03-31T00:00:00Z")));
        assert_eq!(lf("@monthly", "2024-03-01T00:00:59Z", year), Some(ts("2024-03-01T00:00:00Z")));
        assert_eq!(lf("@monthly", "2024-02-29T23:59:59Z", year), Some(ts("2024-02-01T00:00:00Z")));
        assert_eq!(lf("0 0 30 * *", "2024-03-29T00:00:00Z", year), Some(ts("2024-01-30T00:00:00Z")));
        // Leap years: 2024, 2000; not 2100.
        let leap = "0 0 29 2 *";
        assert_eq!(lf(leap, "2025-06-01T00:00:00Z", years(2)), Some(ts("2024-02-29T00:00:00Z")));
        assert_eq!(lf(leap, "2025-06-01T00:00:00Z", year), None);
        assert_eq!(lf(leap, "2001-01-01T00:00:00Z", year), Some(ts("2000-02-29T00:00:00Z")));
        assert_eq!(lf(leap, "2100-03-01T00:00:00Z", years(10)), Some(ts("2096-02-29T00:00:00Z")));
        assert_eq!(lf("0 0 1 3 *", "2100-03-01T00:00:00Z", year), Some(ts("2100-03-01T00:00:00Z")));
        // `*/7` is Sunday alone, and restricted: February 29th or a Sunday in February.
        assert_eq!(lf("0 0 29 2 */7", "2127-12-31T00:00:00Z", years(100)), Some(ts("2127-02-23T00:00:00Z")));
        assert_eq!(lf("0 0 29 2 */1", "2127-12-31T00:00:00Z", years(100)), Some(ts("2124-02-29T00:00:00Z")));
        // The same minute, the same hour, earlier hours of the same day.
        assert_eq!(lf("*/15 * * * *", "2024-03-01T10:14:59Z", hours(1)), Some(ts("2024-03-01T10:00:00Z")));
        assert_eq!(lf("45 * * * *", "2024-03-01T10:14:59Z", hours(1)), Some(ts("2024-03-01T09:45:00Z")));
        assert_eq!(lf("45 3,9 * * *", "2024-03-01T09:44:00Z", hours(24)), Some(ts("2024-03-01T03:45:00Z")));
        assert_eq!(lf("45 9 * * *", "2024-03-01T09:44:00Z", hours(24)), Some(ts("2024-02-29T09:45:00Z")));
        // The window's edge is inclusive.
        assert_eq!(lf("0 0 * * *", "2024-03-01T06:00:00Z", hours(6)), Some(ts("2024-03-01T00:00:00Z")));
        assert_eq!(lf("0 0 * * *", "2024-03-01T06:00:00Z", Duration(hours(6).0 - 1)), None);
        assert_eq!(lf("0 0 * * *", "2024-03-01T06:00:00Z", Duration(-1)), None);
        // Before the epoch.
        assert_eq!(lf("@daily", "1969-12-31T12:00:00Z", hours(24)), Some(ts("1969-12-31T00:00:00Z")));
    }

    #[test]
    fn never_firing_and_extremes_terminate() {
        let never = sched("0 0 30 2 *");
        let far = Duration(i64::MAX);
        let march = ts("2024-03-01T00:00:00Z");
        assert_eq!(never.last_fire(march, far), None);
        // Karpenter counts a budget that never fires as active, whatever its duration.
        for d in [far, hours(1), Duration(1), Duration(0), Duration(-1)] {
            assert!(never.active(march, d), "{d:?}");
        }
        for text in ["0 0 31 apr,jun,sep,nov *", "0 0 31 2 */1", "0 0 30,31 feb ?", "0 0 30 2 sat,*"] {
            let s = sched(text);
            assert_eq!(s.last_fire(march, far), None, "{text}");
            assert!(s.active(march, hours(1)), "{text}");
        }
        // Both day fields restricted: the Mondays, the Sundays still fire.
        assert_eq!(sched("0 0 30 2 mon").last_fire(march, far), Some(ts("2024-02-26T00:00:00Z")));
        assert_eq!(sched("0 0 31 2 */7").last_fire(march, far), Some(ts("2024-02-25T00:00:00Z")));
        assert!(!sched("0 0 30 2 mon").active(march, hours(1)));
        // Rare but possible: inactive outside its windows.
        assert!(!sched("0 0 29 2 *").active(march, hours(1)));
        let every = sched("* * * * *");
        for t in [i64::MIN, i64::MIN + 59, -1, 0, i64::MAX - 1, i64::MAX] {
            let now = Timestamp(t);
            for d in [Duration(i64::MIN), Duration(0), Duration(1), Duration(i64::MAX)] {
                assert_eq!(never.last_fire(now, d), None);
                assert!(never.active(now, d));
                let _ = sched("0 0 29 2 mon").last_fire(now, d);
                if let Some(fire) = every.last_fire(now, d) {
                    assert!(fire <= now && fire.0.rem_euclid(60) == 0);
                }
                let _ = every.active(now, d);
            }
        }
        assert_eq!(every.last_fire(Timestamp(i64::MAX), Duration(0)), None);
        assert_eq!(every.last_fire(Timestamp(i64::MAX), Duration(60_000)), Some(Timestamp(i64::MAX - i64::MAX % 60)));
        // The minute containing i64::MIN starts before it, out of range: no fire to report.
        assert_eq!(every.last_fire(Timestamp(i64::MIN), far), None);
        assert!(every.active(Timestamp(i64::MAX), far));
    }

    /// Coarse field choices for random schedules, each either restricted or not.
    fn schedules() -> impl Strategy<Value = String> {
        let minute = prop::sample::select(vec!["*", "0", "*/15", "5,35", "10-20/5", "59", "?"]);
        let hour = prop::sample::select(vec!["*", "0", "9-17", "*/6", "23", "3/4"]);
        let day = prop::sample::select(vec!["*", "1", "15", "29-31", "*/10", "?", "31"]);
        let month = prop::sample::select(vec!["*", "jan", "2", "mar-oct/2", "dec", "*/3", "?"]);
        let weekday = prop::sample::select(vec!["*", "mon-fri", "0", "sat,sun", "*/1", "?", "*/2", "thu", "6,*"]);
        (minute, hour, day, month, weekday).prop_map(|(a, b, c, d, e)| format!("{a} {b} {c} {d} {e}"))
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,40}") {
            let _ = Schedule::parse(&s);
        }

        #[test]
        fn parse_never_panics_on_cron_like_text(
            s in "(@[a-z]{0,9})|([0-9a-zA-Z*?/,-]{1,8}( [0-9a-zA-Z*?/,-]{1,8}){0,6})"
        ) {
            let _ = Schedule::parse(&s);
        }

        #[test]
        fn last_fire_is_the_latest_fire_in_the_window(
            text in schedules(),
            now in -2_208_988_800i64..4_200_000_000,
            within in 0i64..3 * 86_400_000,
            duration in 0i64..3 * 86_400_000,
        ) {
            let s = Schedule::parse(&text).unwrap();
            let now_ts = Timestamp(now);
            let fire = |w: i64| {
                let earliest = now - w.div_euclid(1000);
                let mut t = now.div_euclid(60) * 60;
                while t >= earliest {
                    if s.fires_at(Timestamp(t)) {
                        return Some(Timestamp(t));
                    }
                    t -= 60;
                }
                None
            };
            let got = s.last_fire(now_ts, Duration(within));
            prop_assert_eq!(got, fire(within), "{} at {} within {}ms", text, now_ts, within);
            if let Some(t) = got {
                prop_assert!(s.fires_at(t) && t <= now_ts && (now - t.0) * 1000 <= within);
            }
            // The only pattern here that never fires: the 31st of February, and any weekday.
            let never = text.contains(" 31 2 ") && ["*", "?", "*/1", "6,*"].iter().any(|w| text.ends_with(&format!(" {w}")));
            let active = never || fire(duration).is_some_and(|t| (now - t.0) * 1000 < duration);
            prop_assert_eq!(s.active(now_ts, Duration(duration)), active, "{} at {} for {}ms", text, now_ts, duration);
        }
    }
}

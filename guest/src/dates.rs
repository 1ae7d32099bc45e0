//! Calendar days: strict `YYYY-MM-DD` parsing, formatting and the day
//! arithmetic of payment terms. Pure functions.

#[allow(unused_imports)]
use crate::prelude::*;

use chrono::{Datelike, Days, NaiveDate};

use crate::error::{Error, Field};

/// Parses `YYYY-MM-DD` exactly (zero-padded, 1970-01-01 ..= 9999-12-31).
///
/// ```
/// use credit_guest::dates::parse;
/// use credit_guest::error::Field;
/// assert!(parse("2028-02-29", Field::Date).is_ok());
/// assert!(parse("2027-02-29", Field::Date).is_err());
/// assert!(parse("2026-3-2", Field::Date).is_err());
/// ```
pub fn parse(text: &str, field: Field) -> Result<NaiveDate, Error> {
    let b = text.as_bytes();
    let digits = |r: core::ops::Range<usize>| -> Option<u32> {
        b.get(r.clone())?.iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
    };
    let parsed = (|| {
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let year = digits(0..4)?;
        if year < 1970 {
            return None;
        }
        NaiveDate::from_ymd_opt(year as i32, digits(5..7)?, digits(8..10)?)
    })();
    parsed.ok_or(Error::DateMalformed(field))
}

/// `YYYY-MM-DD`.
pub fn format(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// The UTC calendar day of a timestamp (already range-checked).
pub fn day_of(ms: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.date_naive()).unwrap_or(NaiveDate::MIN)
}

/// `d` + `n` days; saturates at the end of the calendar instead of failing
/// (dates are at most 9999-12-31 and terms at most 365 days).
pub fn add_days(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_days(Days::new(n.into())).unwrap_or(NaiveDate::MAX)
}

/// `d` + `n` days, `n` possibly negative.
pub fn offset_days(d: NaiveDate, n: i32) -> NaiveDate {
    if n >= 0 {
        add_days(d, n.unsigned_abs())
    } else {
        d.checked_sub_days(Days::new(n.unsigned_abs().into())).unwrap_or(NaiveDate::MIN)
    }
}

/// The last day of `d`'s month.
pub fn end_of_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 { (d.year() + 1, 1) } else { (d.year(), d.month() + 1) };
    NaiveDate::from_ymd_opt(y, m, 1).and_then(|first| first.pred_opt()).unwrap_or(NaiveDate::MAX)
}

/// The first day of the month `months` after `d`'s month.
pub fn first_of_month_after(d: NaiveDate, months: u32) -> NaiveDate {
    let index = d.year() * 12 + d.month0() as i32 + months as i32;
    NaiveDate::from_ymd_opt(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1).unwrap_or(NaiveDate::MAX)
}

/// Day `day` of `d`'s month, or the month's last day when it is shorter.
pub fn day_in_month(d: NaiveDate, day: u32) -> NaiveDate {
    let last = end_of_month(d);
    if day >= last.day() { last } else { NaiveDate::from_ymd_opt(d.year(), d.month(), day.max(1)).unwrap_or(last) }
}

/// `d` + `months` calendar months: the same day of the month, or the
/// target month's last day when it is shorter (31 January + 1 is 28 or
/// 29 February).
pub fn add_months(d: NaiveDate, months: u32) -> NaiveDate {
    day_in_month(first_of_month_after(d, months), d.day())
}

/// Whole days from `a` to `b` (negative when `b` is earlier).
pub fn days_between(a: NaiveDate, b: NaiveDate) -> i64 {
    (b - a).num_days()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse(s, Field::Date).unwrap()
    }

    #[test]
    fn parsing_is_strict() {
        for bad in ["", "2026-03-2", "2026/03/02", "26-03-02", "2026-13-01", "2026-02-30", "1969-12-31", "+2026-03-02", "2026-03-02T00"] {
            assert_eq!(parse(bad, Field::Date), Err(Error::DateMalformed(Field::Date)), "{bad:?}");
        }
        assert_eq!(format(d("9999-12-31")), "9999-12-31");
        assert_eq!(format(d("1970-01-01")), "1970-01-01");
    }

    #[test]
    fn month_ends_and_leap_years() {
        assert_eq!(end_of_month(d("2026-02-10")), d("2026-02-28"));
        assert_eq!(end_of_month(d("2028-02-10")), d("2028-02-29"));
        assert_eq!(end_of_month(d("2026-12-31")), d("2026-12-31"));
        assert_eq!(add_days(d("2028-02-28"), 1), d("2028-02-29"));
        assert_eq!(offset_days(d("2026-03-01"), -1), d("2026-02-28"));
        assert_eq!(days_between(d("2026-03-01"), d("2026-03-31")), 30);
        assert_eq!(day_of(1_772_409_600_000), d("2026-03-02"));
        assert_eq!(day_of(1_772_409_600_000 - 1), d("2026-03-01"));
    }

    #[test]
    fn months_clamp_to_the_last_day() {
        assert_eq!(add_months(d("2026-01-31"), 1), d("2026-02-28"));
        assert_eq!(add_months(d("2028-01-31"), 1), d("2028-02-29"));
        assert_eq!(add_months(d("2026-03-31"), 1), d("2026-04-30"));
        assert_eq!(add_months(d("2026-11-30"), 3), d("2027-02-28"));
        assert_eq!(add_months(d("2026-12-15"), 12), d("2027-12-15"));
        assert_eq!(first_of_month_after(d("2026-12-31"), 1), d("2027-01-01"));
        assert_eq!(day_in_month(d("2026-02-01"), 31), d("2026-02-28"));
        assert_eq!(day_in_month(d("2026-04-09"), 10), d("2026-04-10"));
    }
}

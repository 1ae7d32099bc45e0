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
}

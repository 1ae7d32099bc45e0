//! Exact money: ISO 4217 currencies with their minor units, parsing of
//! decimal text with the project's grammar, and formatting.
//!
//! Amounts are `rust_decimal::Decimal`. Parsing never rounds: an amount with
//! more significant decimals than its currency allows is refused. The only
//! rounding in the engine is stated where it happens (see `round_down`).

#[allow(unused_imports)]
use crate::prelude::*;

use rust_decimal::Decimal;

use crate::error::{Error, Field};
use crate::limits::{AMOUNT_MAX_MAJOR, AMOUNT_TEXT_LEN_MAX};

/// An ISO 4217 currency this engine knows, with its minor units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Currency {
    code: &'static str,
    minor_units: u32,
}

/// Active ISO 4217 codes and their minor units, sorted by code so lookups
/// can bisect. Funds codes and precious metals are left out on purpose:
/// nobody buys office supplies in XAU.
const CURRENCIES: &[(&str, u32)] = &[
    ("AED", 2), ("AFN", 2), ("ALL", 2), ("AMD", 2), ("ANG", 2), ("AOA", 2), ("ARS", 2),
    ("AUD", 2), ("AWG", 2), ("AZN", 2), ("BAM", 2), ("BBD", 2), ("BDT", 2), ("BGN", 2),
    ("BHD", 3), ("BIF", 0), ("BMD", 2), ("BND", 2), ("BOB", 2), ("BRL", 2), ("BSD", 2),
    ("BTN", 2), ("BWP", 2), ("BYN", 2), ("BZD", 2), ("CAD", 2), ("CDF", 2), ("CHF", 2),
    ("CLP", 0), ("CNY", 2), ("COP", 2), ("CRC", 2), ("CUP", 2), ("CVE", 2), ("CZK", 2),
    ("DJF", 0), ("DKK", 2), ("DOP", 2), ("DZD", 2), ("EGP", 2), ("ERN", 2), ("ETB", 2),
    ("EUR", 2), ("FJD", 2), ("FKP", 2), ("GBP", 2), ("GEL", 2), ("GHS", 2), ("GIP", 2),
    ("GMD", 2), ("GNF", 0), ("GTQ", 2), ("GYD", 2), ("HKD", 2), ("HNL", 2), ("HTG", 2),
    ("HUF", 2), ("IDR", 2), ("ILS", 2), ("INR", 2), ("IQD", 3), ("IRR", 2), ("ISK", 0),
    ("JMD", 2), ("JOD", 3), ("JPY", 0), ("KES", 2), ("KGS", 2), ("KHR", 2), ("KMF", 0),
    ("KPW", 2), ("KRW", 0), ("KWD", 3), ("KYD", 2), ("KZT", 2), ("LAK", 2), ("LBP", 2),
    ("LKR", 2), ("LRD", 2), ("LSL", 2), ("LYD", 3), ("MAD", 2), ("MDL", 2), ("MGA", 2),
    ("MKD", 2), ("MMK", 2), ("MNT", 2), ("MOP", 2), ("MRU", 2), ("MUR", 2), ("MVR", 2),
    ("MWK", 2), ("MXN", 2), ("MYR", 2), ("MZN", 2), ("NAD", 2), ("NGN", 2), ("NIO", 2),
    ("NOK", 2), ("NPR", 2), ("NZD", 2), ("OMR", 3), ("PAB", 2), ("PEN", 2), ("PGK", 2),
    ("PHP", 2), ("PKR", 2), ("PLN", 2), ("PYG", 0), ("QAR", 2), ("RON", 2), ("RSD", 2),
    ("RUB", 2), ("RWF", 0), ("SAR", 2), ("SBD", 2), ("SCR", 2), ("SDG", 2), ("SEK", 2),
    ("SGD", 2), ("SHP", 2), ("SLE", 2), ("SOS", 2), ("SRD", 2), ("SSP", 2), ("STN", 2),
    ("SVC", 2), ("SYP", 2), ("SZL", 2), ("THB", 2), ("TJS", 2), ("TMT", 2), ("TND", 3),
    ("TOP", 2), ("TRY", 2), ("TTD", 2), ("TWD", 2), ("TZS", 2), ("UAH", 2), ("UGX", 0),
    ("USD", 2), ("UYU", 2), ("UZS", 2), ("VES", 2), ("VND", 0), ("VUV", 0), ("WST", 2),
    ("XAF", 0), ("XCD", 2), ("XOF", 0), ("XPF", 0), ("YER", 2), ("ZAR", 2), ("ZMW", 2),
    ("ZWG", 2),
];

impl Currency {
    /// Looks up an upper-case ISO 4217 code.
    ///
    /// ```
    /// use credit_guest::money::Currency;
    /// assert_eq!(Currency::from_code("KWD").unwrap().minor_units(), 3);
    /// assert!(Currency::from_code("gbp").is_err());
    /// assert!(Currency::from_code("XXX").is_err());
    /// ```
    pub fn from_code(code: &str) -> Result<Currency, Error> {
        // Three ASCII letters as one number (big-endian keeps the table's
        // order): a lookup is a few integer comparisons, and every answer
        // makes several.
        fn key(code: &str) -> Option<u32> {
            match code.as_bytes() {
                &[a, b, c] => Some(u32::from_be_bytes([0, a, b, c])),
                _ => None,
            }
        }
        let wanted = key(code).ok_or_else(|| Error::CurrencyUnknown(truncate(code, 8)))?;
        CURRENCIES
            .binary_search_by(|(c, _)| key(c).cmp(&Some(wanted)))
            .map(|i| Currency { code: CURRENCIES[i].0, minor_units: CURRENCIES[i].1 })
            .map_err(|_| Error::CurrencyUnknown(truncate(code, 8)))
    }

    /// The three-letter code.
    pub fn code(self) -> &'static str {
        self.code
    }

    /// Decimals of the minor unit (GBP 2, JPY 0, KWD 3).
    pub fn minor_units(self) -> u32 {
        self.minor_units
    }

    /// Formats `amount` with exactly the currency's minor units. Amounts in
    /// the engine are always exact in those units, so this never rounds.
    pub fn format(self, amount: Decimal) -> String {
        let mut a = amount;
        a.rescale(self.minor_units);
        // Every answer formats a dozen figures, and rust_decimal's general
        // formatter led the engine's profile: amounts here fit in 64 bits
        // of minor units, so write the digits directly.
        let minor = a.mantissa();
        let Ok(units) = u64::try_from(minor.unsigned_abs()) else {
            return a.to_string();
        };
        let scale = self.minor_units as usize;
        let mut digits = [0u8; 20];
        let mut n = units;
        let mut len = 0;
        loop {
            digits[len] = b'0' + (n % 10) as u8;
            n /= 10;
            len += 1;
            if n == 0 && len > scale {
                break;
            }
        }
        // Never "-0.00": a zero that came from a subtraction keeps its sign bit.
        let mut out = String::with_capacity(len + 2);
        if minor < 0 && units != 0 {
            out.push('-');
        }
        for i in (0..len).rev() {
            out.push(digits[i] as char);
            if i == scale && scale > 0 {
                out.push('.');
            }
        }
        out
    }
}

/// Cuts a caller-supplied string for an error message, so errors stay small.
fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// The sign of an amount the caller supplied, checked after parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sign {
    /// Greater than zero.
    Positive,
    /// Zero or more.
    NonNegative,
}

/// Parses decimal text (grammar in `wit/types.wit`) without the currency
/// check: digits, optional `-`, optional `.` and fraction.
pub fn parse_decimal(text: &str, field: Field) -> Result<Decimal, Error> {
    if text.is_empty() || text.len() > AMOUNT_TEXT_LEN_MAX {
        return Err(Error::AmountMalformed(field));
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
        return Err(Error::AmountMalformed(field));
    }
    // Zeros that change nothing (leading ones, trailing decimals) do not
    // count against Decimal's 28-29 digits: "5.000...0" is 5.
    let int = int.trim_start_matches('0');
    let frac = frac.map(|f| f.trim_end_matches('0')).filter(|f| !f.is_empty());
    let mut significant = String::with_capacity(text.len());
    if text.starts_with('-') {
        significant.push('-');
    }
    significant.push_str(if int.is_empty() { "0" } else { int });
    if let Some(f) = frac {
        significant.push('.');
        significant.push_str(f);
    }
    // 40 characters can still hold more digits than a Decimal: that is an
    // amount too large (or too precise), never a wrap.
    Decimal::from_str_exact(&significant).map_err(|_| Error::AmountTooLarge(field))
}

/// The text of an amount as compared for idempotency: the same number
/// written another way (`"10.0"`, `"10.00"`, `"010"`) is the same request.
/// Text that is not a number is kept as it is (it is refused anyway).
pub fn canonical(text: &str) -> String {
    match parse_decimal(text, Field::Amount) {
        Ok(d) if d.is_zero() => "0".to_owned(),
        Ok(d) => d.normalize().to_string(),
        Err(_) => text.to_owned(),
    }
}

/// Parses an amount in `currency`, enforcing the sign, the minor units and
/// `AMOUNT_MAX_MAJOR`. The result has exactly the currency's scale.
///
/// ```
/// use credit_guest::money::{parse_amount, Currency, Sign};
/// use credit_guest::error::{Error, Field};
/// let gbp = Currency::from_code("GBP").unwrap();
/// assert_eq!(parse_amount("12.340", gbp, Sign::Positive, Field::Amount).unwrap().to_string(), "12.34");
/// assert_eq!(parse_amount("12.345", gbp, Sign::Positive, Field::Amount), Err(Error::AmountTooPrecise(Field::Amount)));
/// assert_eq!(parse_amount("0", gbp, Sign::Positive, Field::Amount), Err(Error::AmountMustBePositive(Field::Amount)));
/// assert_eq!(parse_amount("1e3", gbp, Sign::Positive, Field::Amount), Err(Error::AmountMalformed(Field::Amount)));
/// ```
pub fn parse_amount(text: &str, currency: Currency, sign: Sign, field: Field) -> Result<Decimal, Error> {
    let value = parse_decimal(text, field)?;
    match sign {
        Sign::Positive if value <= Decimal::ZERO => return Err(Error::AmountMustBePositive(field)),
        Sign::NonNegative if value < Decimal::ZERO => return Err(Error::AmountMustNotBeNegative(field)),
        _ => {}
    }
    if value.normalize().scale() > currency.minor_units() {
        return Err(Error::AmountTooPrecise(field));
    }
    if value > Decimal::from(AMOUNT_MAX_MAJOR) {
        return Err(Error::AmountTooLarge(field));
    }
    let mut exact = value;
    exact.rescale(currency.minor_units());
    Ok(exact)
}

/// Parses a percentage: 0 ..= `max`, at most `PERCENT_SCALE_MAX` decimals.
pub fn parse_percent(text: &str, max: i64, sign: Sign, field: Field) -> Result<Decimal, Error> {
    let value = parse_decimal(text, field)?;
    match sign {
        Sign::Positive if value <= Decimal::ZERO => return Err(Error::AmountMustBePositive(field)),
        Sign::NonNegative if value < Decimal::ZERO => return Err(Error::AmountMustNotBeNegative(field)),
        _ => {}
    }
    if value.normalize().scale() > crate::limits::PERCENT_SCALE_MAX {
        return Err(Error::AmountTooPrecise(field));
    }
    if value > Decimal::from(max) {
        return Err(Error::AmountTooLarge(field));
    }
    Ok(value.normalize())
}

/// A percent, 0 < p <= `max`, with at most `scale` decimals.
pub fn parse_percent_scaled(text: &str, max: i64, scale: u32, field: Field) -> Result<Decimal, Error> {
    let value = parse_decimal(text, field)?;
    if value <= Decimal::ZERO {
        return Err(Error::AmountMustBePositive(field));
    }
    if value.normalize().scale() > scale {
        return Err(Error::AmountTooPrecise(field));
    }
    if value > Decimal::from(max) {
        return Err(Error::AmountTooLarge(field));
    }
    Ok(value.normalize())
}

/// `percent`% of `base`, rounded down (toward zero) to the currency's minor
/// unit: the merchant never grants more than it configured.
pub fn percent_of_round_down(base: Decimal, percent: Decimal, currency: Currency) -> Result<Decimal, Error> {
    let raw = base
        .checked_mul(percent)
        .and_then(|v| v.checked_div(Decimal::ONE_HUNDRED))
        .ok_or(Error::AmountOverflow)?;
    let mut rounded = raw.round_dp_with_strategy(currency.minor_units(), rust_decimal::RoundingStrategy::ToZero);
    rounded.rescale(currency.minor_units());
    Ok(rounded)
}

/// Checked addition that reports `amount-overflow` instead of panicking.
/// A zero result is always +0.
pub fn add(a: Decimal, b: Decimal) -> Result<Decimal, Error> {
    a.checked_add(b).map(positive_zero).ok_or(Error::AmountOverflow)
}

/// Checked subtraction that reports `amount-overflow` instead of panicking.
/// A zero result is always +0.
pub fn sub(a: Decimal, b: Decimal) -> Result<Decimal, Error> {
    a.checked_sub(b).map(positive_zero).ok_or(Error::AmountOverflow)
}

fn positive_zero(mut d: Decimal) -> Decimal {
    if d.is_zero() {
        d.set_sign_positive(true);
    }
    d
}

#[cfg(test)]
mod tests {

    #[test]
    fn every_currency_in_the_table_is_found_and_nothing_else() {
        for (code, units) in CURRENCIES {
            let c = Currency::from_code(code).unwrap();
            assert_eq!((c.code(), c.minor_units()), (*code, *units));
        }
        for bad in ["", "GB", "GBPX", "gbp", "XAU", "ZZZ", "AAA"] {
            assert!(Currency::from_code(bad).is_err(), "{bad}");
        }
    }

    use super::*;

    #[test]
    fn currency_table_is_sorted_and_unique() {
        assert!(CURRENCIES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(CURRENCIES.iter().all(|(c, _)| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())));
    }

    #[test]
    fn minor_units_are_enforced_per_currency() {
        let cases = [
            ("JPY", "1200", Ok("1200")),
            ("JPY", "1200.00", Ok("1200")),
            ("JPY", "1200.5", Err(Error::AmountTooPrecise(Field::Amount))),
            ("GBP", "0.01", Ok("0.01")),
            ("GBP", "0.001", Err(Error::AmountTooPrecise(Field::Amount))),
            ("KWD", "1.250", Ok("1.250")),
            ("KWD", "1.2505", Err(Error::AmountTooPrecise(Field::Amount))),
            ("GBP", "-1", Err(Error::AmountMustBePositive(Field::Amount))),
            ("GBP", "", Err(Error::AmountMalformed(Field::Amount))),
            ("GBP", "1.", Err(Error::AmountMalformed(Field::Amount))),
            ("GBP", ".5", Err(Error::AmountMalformed(Field::Amount))),
            ("GBP", "+5", Err(Error::AmountMalformed(Field::Amount))),
            ("GBP", "1,000", Err(Error::AmountMalformed(Field::Amount))),
            ("GBP", " 5", Err(Error::AmountMalformed(Field::Amount))),
            ("GBP", "NaN", Err(Error::AmountMalformed(Field::Amount))),
            ("GBP", "1000000000000", Ok("1000000000000.00")),
            ("GBP", "1000000000000.01", Err(Error::AmountTooLarge(Field::Amount))),
            ("GBP", "99999999999999999999999999999999", Err(Error::AmountTooLarge(Field::Amount))),
            // Trailing decimals and leading zeros change nothing.
            ("GBP", "5.000000000000000000000000000000000000", Ok("5.00")),
            ("GBP", "0000000000000000000000000000000000005.5", Ok("5.50")),
            ("JPY", "1200.0000000000000000000000000000000000", Ok("1200")),
            ("GBP", "0.0000000000000000000000000000000000001", Err(Error::AmountTooLarge(Field::Amount))),
            ("GBP", "5.0000000000000000000000000000000000001", Err(Error::AmountTooLarge(Field::Amount))),
        ];
        for (code, text, want) in cases {
            let c = Currency::from_code(code).unwrap();
            let got = parse_amount(text, c, Sign::Positive, Field::Amount).map(|d| d.to_string());
            assert_eq!(got.as_deref().map_err(Clone::clone), want.map_err(|e: Error| e), "{code} {text:?}");
        }
    }

    #[test]
    fn formatting_has_exactly_the_minor_units() {
        let d = |s: &str| Decimal::from_str_exact(s).unwrap();
        let (gbp, jpy, kwd) = (Currency::from_code("GBP").unwrap(), Currency::from_code("JPY").unwrap(), Currency::from_code("KWD").unwrap());
        let cases = [
            (gbp, "0", "0.00"),
            (gbp, "0.5", "0.50"),
            (gbp, "-0.05", "-0.05"),
            (gbp, "12.3", "12.30"),
            (gbp, "-1234567.89", "-1234567.89"),
            (gbp, "1000000000000", "1000000000000.00"),
            (jpy, "0", "0"),
            (jpy, "-1200", "-1200"),
            (kwd, "1.25", "1.250"),
            (kwd, "0.001", "0.001"),
            (kwd, "-999999999999999.999", "-999999999999999.999"),
            (gbp, "92233720368547758.07", "92233720368547758.07"),
            (gbp, "92233720368547758.08", "92233720368547758.08"),
        ];
        for (c, input, want) in cases {
            assert_eq!(c.format(d(input)), want, "{input} in {}", c.code());
        }
    }

    #[test]
    fn the_same_number_written_differently_is_the_same_text() {
        for (a, b) in [("10.0", "10.00"), ("010", "10"), ("0.50", ".5x"), ("-0.00", "0"), ("1000000.000", "1000000")] {
            if b.ends_with('x') {
                assert_eq!(canonical(a), "0.5");
                assert_eq!(canonical(b), ".5x", "not a number: kept");
            } else {
                assert_eq!(canonical(a), canonical(b), "{a} vs {b}");
            }
        }
        assert_ne!(canonical("10.01"), canonical("10.1"));
    }

    #[test]
    fn zero_is_never_negative() {
        let gbp = Currency::from_code("GBP").unwrap();
        let d = |s: &str| Decimal::from_str_exact(s).unwrap();
        let z = add(d("45.50"), -d("45.50")).unwrap();
        assert!(z.is_sign_positive());
        assert_eq!(gbp.format(-Decimal::ZERO), "0.00");
        assert_eq!(gbp.format(sub(d("1.00"), d("1.00")).unwrap()), "0.00");
    }

    #[test]
    fn percent_rounds_toward_zero() {
        let gbp = Currency::from_code("GBP").unwrap();
        let jpy = Currency::from_code("JPY").unwrap();
        let d = |s: &str| Decimal::from_str_exact(s).unwrap();
        assert_eq!(percent_of_round_down(d("333.33"), d("10"), gbp).unwrap().to_string(), "33.33");
        assert_eq!(percent_of_round_down(d("999"), d("12.5"), jpy).unwrap().to_string(), "124");
        assert_eq!(percent_of_round_down(d("0.99"), d("50"), gbp).unwrap().to_string(), "0.49");
    }
}

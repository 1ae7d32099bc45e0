//! The arithmetic of invoices, terms, interest and credit review. Pure
//! functions over exact decimals; every rounding is named here and stated
//! in the WIT docs and the README.

#[allow(unused_imports)]
use crate::prelude::*;

use chrono::{Datelike, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::dates;
use crate::error::Error;
use crate::model::{Discount, DiscountBasis, DynamicOffer, Instalment, Portion, Share, TaxPart, TermBasis, Terms};
use crate::limits::AMOUNT_MAX_MAJOR;
use crate::money::Currency;

/// Rounds half away from zero to the currency's minor unit.
pub fn round_half_away(x: Decimal, c: Currency) -> Decimal {
    let mut r = x.round_dp_with_strategy(c.minor_units(), RoundingStrategy::MidpointAwayFromZero);
    r.rescale(c.minor_units());
    r
}

/// Rounds toward zero to the currency's minor unit.
pub fn round_down(x: Decimal, c: Currency) -> Decimal {
    let mut r = x.round_dp_with_strategy(c.minor_units(), RoundingStrategy::ToZero);
    r.rescale(c.minor_units());
    r
}

/// A line's net amount: quantity x unit price, rounded half away from zero.
/// Refused when above `AMOUNT_MAX_MAJOR` (checked before multiplying, so the
/// product is always exact).
pub fn line_net(quantity: Decimal, unit_price: Decimal, c: Currency) -> Result<Decimal, Error> {
    let max = Decimal::from(AMOUNT_MAX_MAJOR);
    if !unit_price.is_zero() && quantity > max.checked_div(unit_price).ok_or(Error::AmountOverflow)? {
        return Err(Error::AmountTooLarge(crate::error::Field::LineUnitPrice));
    }
    Ok(round_half_away(quantity.checked_mul(unit_price).ok_or(Error::AmountOverflow)?, c))
}

/// `x` in minor units of a currency with `scale` decimals (`x` has at
/// most that many).
fn units(x: Decimal, scale: u32) -> i128 {
    let mut x = x;
    x.rescale(scale);
    x.mantissa()
}

/// Splits `amount` over `weights` in proportion, in the currency's minor
/// units (largest remainder): each share is rounded down, and the units
/// left over go one each to the shares with the largest remainders, ties
/// to the earlier weight. The shares add up to `amount` exactly. With no
/// positive weight, all shares are zero. Amounts and weights are at most
/// `AMOUNT_MAX_MAJOR` each, so the products fit in 128 bits.
///
/// ```
/// # use credit_guest::rules::split_largest_remainder;
/// # use credit_guest::money::Currency;
/// # use rust_decimal::Decimal;
/// let gbp = Currency::from_code("GBP").unwrap();
/// let w = [Decimal::new(30000, 2), Decimal::new(20000, 2), Decimal::new(10001, 2)];
/// // 100.00 over 300.00 / 200.00 / 100.01
/// let shares = split_largest_remainder(Decimal::new(10000, 2), &w, gbp);
/// assert_eq!(shares, [Decimal::new(5000, 2), Decimal::new(3333, 2), Decimal::new(1667, 2)]);
/// ```
pub fn split_largest_remainder(amount: Decimal, weights: &[Decimal], c: Currency) -> Vec<Decimal> {
    let scale = c.minor_units();
    let total: i128 = weights.iter().map(|w| units(*w, scale).max(0)).sum();
    let amount_units = units(amount, scale);
    if total <= 0 {
        return weights.iter().map(|_| Decimal::new(0, scale)).collect();
    }
    let mut shares: Vec<(i128, i128)> = weights
        .iter()
        .map(|w| {
            let product = amount_units * units(*w, scale).max(0);
            (product / total, product % total)
        })
        .collect();
    let mut left = amount_units - shares.iter().map(|(q, _)| q).sum::<i128>();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    // Largest remainder first; the sort is stable, so ties keep the
    // earlier (older) item first.
    order.sort_by(|a, b| shares[*b].1.cmp(&shares[*a].1));
    for i in order {
        if left <= 0 {
            break;
        }
        if shares[i].1 > 0 {
            shares[i].0 += 1;
            left -= 1;
        }
    }
    shares.into_iter().map(|(q, _)| Decimal::from_i128_with_scale(q, scale)).collect()
}

/// The days payment terms give an invoice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TermDates {
    /// The day instalment days and the discount window count from.
    pub anchor: NaiveDate,
    /// When the invoice is due in full.
    pub due: NaiveDate,
    /// The last day of the early-payment discount window, if any: the
    /// anchor + the discount's days, never after the due date.
    pub discount_until: Option<NaiveDate>,
}

/// The anchor, due date and discount window of terms (already validated)
/// for an invoice dated `invoice_date`. See `types.term-basis`.
pub fn term_dates(t: &Terms, invoice_date: NaiveDate, delivery_date: Option<NaiveDate>) -> Result<TermDates, Error> {
    // The cut-off ("25th rule"): an invoice dated after day C counts as
    // dated in the next month.
    let month_of = match t.cut_off_day {
        Some(c) if invoice_date.day() > u32::from(c) => dates::first_of_month_after(invoice_date, 1),
        _ => invoice_date,
    };
    let months = u32::from(t.months.unwrap_or(1));
    let net = t.net_days;
    let (anchor, due) = match t.basis {
        TermBasis::InvoiceDate => (invoice_date, dates::add_days(invoice_date, net)),
        TermBasis::DeliveryDate => {
            let d = delivery_date.ok_or(Error::DeliveryDateRequired)?;
            (d, dates::add_days(d, net))
        }
        TermBasis::EndOfMonth => {
            let eom = dates::end_of_month(month_of);
            (eom, dates::add_days(eom, net))
        }
        TermBasis::EndOfMonthAfterDays => (invoice_date, dates::end_of_month(dates::add_days(invoice_date, net))),
        TermBasis::DayOfMonth => {
            let day = u32::from(t.day_of_month.unwrap_or(1));
            (invoice_date, dates::day_in_month(dates::first_of_month_after(month_of, months), day))
        }
        TermBasis::MonthsAfterInvoice => (invoice_date, dates::add_months(invoice_date, months)),
        TermBasis::MonthsAfterEndOfMonth => (invoice_date, dates::end_of_month(dates::first_of_month_after(month_of, months))),
    };
    let discount_until = t.discount.as_ref().map(|d| dates::add_days(anchor, d.days).min(due));
    Ok(TermDates { anchor, due, discount_until })
}

/// The portions an invoice asks for: one, due on `due`, or the
/// instalments, due their days after `anchor`, worked out in order: a
/// percent line is its share of `total` rounded down to the minor unit, a
/// fixed line its amount (at most what is left), a balance line what is
/// left. Without a balance line (all lines are percents adding up to 100)
/// the last line takes the remainder instead of its rounded share. Either
/// way the portions add up to `total` exactly.
pub fn schedule(total: Decimal, due: NaiveDate, instalments: &[Instalment], anchor: NaiveDate, c: Currency) -> Result<Vec<Portion>, Error> {
    if instalments.is_empty() {
        return Ok(vec![Portion { due: dates::format(due), amount: total }]);
    }
    let mut out = Vec::with_capacity(instalments.len());
    let mut left = total;
    for (i, line) in instalments.iter().enumerate() {
        let amount = match line.share {
            _ if i + 1 == instalments.len() => left,
            Share::Percent(p) => round_down(total.checked_mul(p).ok_or(Error::AmountOverflow)? / Decimal::ONE_HUNDRED, c).min(left),
            Share::Amount(a) => a.min(left),
            Share::Balance => left,
        };
        left -= amount;
        out.push(Portion { due: dates::format(dates::add_days(anchor, line.days)), amount });
    }
    Ok(out)
}

/// The early-payment discount an invoice offers: the percent of the basis
/// (the total for `gross`, the net total for `net`) rounded half away from
/// zero to the minor unit, or the fixed amount, at most the basis.
pub fn discount_amount(d: &Discount, net_total: Decimal, total: Decimal, c: Currency) -> Result<Decimal, Error> {
    let base = match d.basis {
        DiscountBasis::Gross => total,
        DiscountBasis::Net => net_total,
    };
    Ok(match d.off {
        Share::Percent(p) => round_half_away(base.checked_mul(p).ok_or(Error::AmountOverflow)? / Decimal::ONE_HUNDRED, c),
        Share::Amount(a) => a.min(base),
        Share::Balance => Decimal::ZERO,
    }
    .max(Decimal::ZERO))
}

/// The days in a year for dynamic discounts: always 365.
const DYNAMIC_DAYS_PER_YEAR: i64 = 365;

/// The dynamic discount on `open` for a payment `days_early` days before
/// the due date (`types.dynamic-discount`): `rate * days / 365` percent,
/// none when that is below the floor or the payment is not early, at most
/// the cap; rounded toward zero to the minor unit. The floor is compared
/// without dividing (`rate * days < floor * 365`), and an uncapped amount
/// is `open * rate * days / 36500` with one division, so the only rounding
/// is the last one.
pub fn dynamic_discount(offer: &DynamicOffer, open: Decimal, days_early: i64, c: Currency) -> Result<Decimal, Error> {
    // Nothing, with the currency's scale like every amount here.
    let none = round_down(Decimal::ZERO, c);
    if days_early < 1 || offer.annual_rate.is_zero() || open <= Decimal::ZERO {
        return Ok(none);
    }
    let days = Decimal::from(days_early);
    let year = Decimal::from(DYNAMIC_DAYS_PER_YEAR);
    let over = |a: Decimal, b: Decimal| a.checked_mul(b).ok_or(Error::AmountOverflow);
    let earned = over(offer.annual_rate, days)?;
    if earned < over(offer.floor, year)? {
        return Ok(none);
    }
    let raw = if earned > over(offer.cap, year)? {
        over(open, offer.cap)? / Decimal::ONE_HUNDRED
    } else {
        over(open, earned)? / (year * Decimal::ONE_HUNDRED)
    };
    Ok(round_down(raw, c).min(open))
}

/// One tax rate's part of a discount taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiscountPart {
    pub rate: Option<Decimal>,
    /// Booked to discounts allowed.
    pub net: Decimal,
    /// Booked back to tax (gross basis only).
    pub tax: Decimal,
}

/// Splits a discount of `amount` taken on an invoice across its tax rates.
/// Gross: in proportion to each rate's total, then each rate's part between
/// its net amount and its tax in proportion. Net: in proportion to each
/// rate's net amount, no tax. Every split is by largest remainder, so the
/// parts add up to `amount` exactly, to the minor unit.
pub fn discount_parts(parts: &[TaxPart], basis: DiscountBasis, amount: Decimal, c: Currency) -> Vec<DiscountPart> {
    let weights: Vec<Decimal> = match basis {
        DiscountBasis::Gross => parts.iter().map(|p| p.net + p.tax).collect(),
        DiscountBasis::Net => parts.iter().map(|p| p.net).collect(),
    };
    let per_rate = if weights.iter().all(|w| w.is_zero()) {
        // Nothing to weigh by (a zero-value invoice): all on the first.
        let mut v = vec![Decimal::ZERO; parts.len()];
        if let Some(first) = v.first_mut() {
            *first = amount;
        }
        v
    } else {
        split_largest_remainder(amount, &weights, c)
    };
    parts
        .iter()
        .zip(per_rate)
        .map(|(p, share)| match basis {
            DiscountBasis::Gross if !p.tax.is_zero() => {
                let split = split_largest_remainder(share, &[p.net, p.tax], c);
                DiscountPart { rate: p.rate, net: split[0], tax: split[1] }
            }
            _ => DiscountPart { rate: p.rate, net: share, tax: Decimal::ZERO },
        })
        .collect()
}

/// What has settled each portion (`total - outstanding`, earliest portions
/// first), as (paid, open) per portion.
pub fn portion_status(schedule: &[Portion], total: Decimal, outstanding: Decimal) -> Vec<(Decimal, Decimal)> {
    let mut settled = (total - outstanding).max(Decimal::ZERO);
    schedule
        .iter()
        .map(|p| {
            let paid = settled.min(p.amount).max(Decimal::ZERO);
            settled -= paid;
            (paid, p.amount - paid)
        })
        .collect()
}

fn due_of(p: &Portion) -> NaiveDate {
    // Portions are written by this crate from valid dates.
    dates::parse(&p.due, crate::error::Field::Date).unwrap_or(NaiveDate::MAX)
}

/// The part of an item past due on `day`: portions due before `day`, less
/// what has been paid (`total - outstanding`, applied to the earliest
/// portions first).
pub fn overdue_at(schedule: &[Portion], total: Decimal, outstanding: Decimal, day: NaiveDate) -> Decimal {
    let paid = total - outstanding;
    let due: Decimal = schedule.iter().filter(|p| due_of(p) < day).map(|p| p.amount).sum();
    (due - paid).max(Decimal::ZERO).min(outstanding)
}

/// The due date of the earliest portion not yet covered by what was paid.
pub fn effective_due(schedule: &[Portion], total: Decimal, outstanding: Decimal) -> Option<NaiveDate> {
    if outstanding <= Decimal::ZERO {
        return None;
    }
    let paid = total - outstanding;
    let mut cumulative = Decimal::ZERO;
    for p in schedule {
        cumulative += p.amount;
        if cumulative > paid {
            return Some(due_of(p));
        }
    }
    schedule.last().map(due_of)
}

/// What is still owed of each portion, by its due date: what was paid
/// (`total - outstanding`) covers the earliest portions first. Portions
/// fully paid are left out. Summed over the portions due before a day,
/// this is `overdue_at` that day.
pub fn unpaid_portions(schedule: &[Portion], total: Decimal, outstanding: Decimal) -> Vec<(&str, Decimal)> {
    let mut paid = (total - outstanding).max(Decimal::ZERO);
    let mut out = Vec::with_capacity(1);
    for p in schedule {
        let covered = paid.min(p.amount);
        paid -= covered;
        let unpaid = p.amount - covered;
        if unpaid > Decimal::ZERO {
            out.push((p.due.as_str(), unpaid));
        }
    }
    out
}

/// Days from the effective due date to `day` (negative before it; 0 when
/// nothing is owed).
pub fn days_overdue(schedule: &[Portion], total: Decimal, outstanding: Decimal, day: NaiveDate) -> i64 {
    effective_due(schedule, total, outstanding).map_or(0, |due| dates::days_between(due, day))
}

/// Simple interest accrued on the amount overdue for each day in
/// (`from`, `to`]: a day counts `overdue x rate / 100 / year_days`. The
/// overdue amount only changes on the day after a portion falls due, so the
/// sum is taken per stretch between those days. Not rounded: the caller
/// rounds the running total when it charges.
pub fn accrue_interest(
    schedule: &[Portion],
    total: Decimal,
    outstanding: Decimal,
    from: NaiveDate,
    to: NaiveDate,
    rate_percent: Decimal,
    year_days: u32,
) -> Result<Decimal, Error> {
    if to <= from {
        return Ok(Decimal::ZERO);
    }
    let mut breaks: Vec<NaiveDate> = schedule.iter().map(|p| dates::add_days(due_of(p), 1)).collect();
    breaks.sort();
    let mut start = dates::add_days(from, 1);
    let mut day_amounts = Decimal::ZERO; // sum of overdue x days
    let mut stretch = |start: NaiveDate, end_exclusive: NaiveDate| -> Result<(), Error> {
        let days = Decimal::from(dates::days_between(start, end_exclusive));
        let amount = overdue_at(schedule, total, outstanding, start);
        day_amounts = day_amounts.checked_add(amount.checked_mul(days).ok_or(Error::AmountOverflow)?).ok_or(Error::AmountOverflow)?;
        Ok(())
    };
    for b in breaks {
        if b > start && b <= to {
            stretch(start, b)?;
            start = b;
        }
    }
    stretch(start, dates::add_days(to, 1))?;
    day_amounts
        .checked_mul(rate_percent)
        .and_then(|x| x.checked_div(Decimal::from(100u32 * year_days)))
        .ok_or(Error::AmountOverflow)
}

/// The inputs of a credit-limit suggestion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewInput {
    pub current_limit: Decimal,
    pub settled: u32,
    pub on_time: u32,
    pub days_late_total: u64,
    pub highest_debt: Decimal,
    pub volume12m: Decimal,
}

/// A credit-limit suggestion and the numbers behind it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewOutput {
    pub suggested: Decimal,
    pub on_time_percent: Decimal,
    pub average_days_late: Decimal,
    pub factor: Decimal,
    pub base: Decimal,
}

/// base = max(highest debt, 2 x volume / 12); factor from the payment record;
/// suggestion = base x factor rounded down to a multiple of 100 major units.
/// With nothing settled, the current limit stands.
pub fn suggest_limit(i: &ReviewInput, c: Currency) -> ReviewOutput {
    let two = Decimal::TWO;
    let hundred = Decimal::ONE_HUNDRED;
    if i.settled == 0 {
        return ReviewOutput {
            suggested: i.current_limit,
            on_time_percent: Decimal::ZERO,
            average_days_late: Decimal::ZERO,
            factor: Decimal::new(100, 2),
            base: i.current_limit,
        };
    }
    let settled = Decimal::from(i.settled);
    let ratio = Decimal::from(i.on_time) / settled;
    let late = Decimal::from(i.days_late_total) / settled;
    let factor = if ratio >= Decimal::new(95, 2) && late <= two {
        Decimal::new(150, 2)
    } else if ratio >= Decimal::new(85, 2) && late <= Decimal::from(7) {
        Decimal::new(125, 2)
    } else if ratio >= Decimal::new(70, 2) && late <= Decimal::from(15) {
        Decimal::new(100, 2)
    } else {
        Decimal::new(75, 2)
    };
    let base = i.highest_debt.max(i.volume12m * two / Decimal::from(12));
    let mut suggested = ((base * factor) / hundred).floor() * hundred;
    suggested.rescale(c.minor_units());
    let mut base_r = round_half_away(base, c);
    base_r.rescale(c.minor_units());
    ReviewOutput {
        suggested,
        on_time_percent: (ratio * hundred).round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
        average_days_late: late.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
        factor,
        base: base_r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }
    fn day(s: &str) -> NaiveDate {
        dates::parse(s, crate::error::Field::Date).unwrap()
    }
    fn gbp() -> Currency {
        Currency::from_code("GBP").unwrap()
    }
    /// Percent instalment lines.
    fn pc(lines: &[(&str, u32)]) -> Vec<Instalment> {
        lines.iter().map(|(p, days)| Instalment { share: Share::Percent(d(p)), days: *days }).collect()
    }

    fn offer(rate: &str, floor: &str, cap: &str) -> DynamicOffer {
        DynamicOffer { account_id: "a".into(), invoice_id: None, annual_rate: d(rate), floor: d(floor), cap: d(cap) }
    }

    #[test]
    fn dynamic_discount_pro_rata_floor_and_cap() {
        let f = |o: &DynamicOffer, open: &str, days: i64| dynamic_discount(o, d(open), days, gbp()).unwrap().to_string();
        let o = offer("12", "0", "100");
        // 12% a year, 30 days early: 0.98630...% of 1,000.00 = 9.8630... -> 9.86.
        assert_eq!(f(&o, "1000.00", 30), "9.86");
        // 365 days early: exactly 12%.
        assert_eq!(f(&o, "1000.00", 365), "120.00");
        // 1 day: 1000 * 12 / 36500 = 0.32876... -> 0.32 (toward zero).
        assert_eq!(f(&o, "1000.00", 1), "0.32");
        // Not early, or late: nothing.
        assert_eq!(f(&o, "1000.00", 0), "0.00");
        assert_eq!(f(&o, "1000.00", -5), "0.00");
        // Floor 0.5%: 15 days earn 0.4931...% (none), 16 days 0.526...% (5.26).
        let o = offer("12", "0.5", "2");
        assert_eq!(f(&o, "1000.00", 15), "0.00");
        assert_eq!(f(&o, "1000.00", 16), "5.26");
        // Exactly on the floor counts: 365 * 0.5 / 12 is not whole, but
        // rate 36.5 for 5 days is exactly 0.5%.
        assert_eq!(f(&offer("36.5", "0.5", "2"), "1000.00", 5), "5.00");
        // The cap: 90 days earn 2.9589...%, capped at 2%.
        assert_eq!(f(&o, "1000.00", 90), "20.00");
        // A rate of zero offers nothing.
        assert_eq!(f(&offer("0", "0", "2"), "1000.00", 30), "0.00");
        // A currency without minor units rounds to whole yen.
        let jpy = Currency::from_code("JPY").unwrap();
        assert_eq!(dynamic_discount(&offer("12", "0", "5"), d("100000"), 30, jpy).unwrap().to_string(), "986");
    }

    #[test]
    fn instalments_that_do_not_divide_evenly() {
        // 100.01 in halves: 50.005 rounds down to 50.00; the last takes 50.01.
        let s = schedule(d("100.01"), day("2026-05-01"), &pc(&[("50", 30), ("50", 60)]), day("2026-03-02"), gbp()).unwrap();
        assert_eq!(s.iter().map(|p| (p.due.as_str(), p.amount.to_string())).collect::<Vec<_>>(), [
            ("2026-04-01", "50.00".to_string()),
            ("2026-05-01", "50.01".to_string())
        ]);
        // 100.00 in thirds 33.33 / 33.33 / 33.34.
        let s = schedule(d("100.00"), day("2026-05-01"), &pc(&[("33.33", 30), ("33.33", 60), ("33.34", 90)]), day("2026-01-31"), gbp()).unwrap();
        let amounts: Vec<_> = s.iter().map(|p| p.amount.to_string()).collect();
        assert_eq!(amounts, ["33.33", "33.33", "33.34"]);
        assert_eq!(s[0].due, "2026-03-02");
    }

    #[test]
    fn instalments_by_percent_fixed_and_balance_add_up() {
        use Share::*;
        let line = |share, days| Instalment { share, days };
        // 1,000.00: 33.333333% rounds down to 333.33, 250.00 fixed, two
        // lines on day 30, the balance 416.67 takes the rest.
        let lines = [line(Percent(d("33.333333")), 30), line(Amount(d("250.00")), 30), line(Balance, 60)];
        let s = schedule(d("1000.00"), day("2026-05-01"), &lines, day("2026-03-02"), gbp()).unwrap();
        let got: Vec<_> = s.iter().map(|p| (p.due.as_str(), p.amount.to_string())).collect();
        assert_eq!(got, [("2026-04-01", "333.33".into()), ("2026-04-01", "250.00".into()), ("2026-05-01", "416.67".to_string())]);
        // A fixed line larger than what is left takes only that; the
        // balance line is then zero. In yen (no minor unit) shares round
        // down to whole yen.
        let lines = [line(Percent(d("50.5")), 0), line(Amount(d("900")), 10), line(Balance, 20)];
        let s = schedule(d("1001"), day("2026-05-01"), &lines, day("2026-03-02"), Currency::from_code("JPY").unwrap()).unwrap();
        assert_eq!(s.iter().map(|p| p.amount).collect::<Vec<_>>(), [d("505"), d("496"), d("0")]);
        // Every split adds up, whatever the total.
        for total in ["0.01", "0.07", "99.99", "1000000.01"] {
            let lines = [line(Percent(d("12.345678")), 0), line(Amount(d("0.05")), 5), line(Percent(d("0.000001")), 5), line(Balance, 9)];
            let s = schedule(d(total), day("2026-05-01"), &lines, day("2026-03-02"), gbp()).unwrap();
            assert_eq!(s.iter().map(|p| p.amount).sum::<Decimal>(), d(total), "{total}");
            assert!(s.iter().all(|p| p.amount >= Decimal::ZERO), "{total}");
        }
    }

    #[test]
    fn a_discount_splits_across_tax_rates_without_residue() {
        let part = |rate: &str, net: &str, tax: &str| TaxPart { rate: Some(d(rate)), net: d(net), tax: d(tax) };
        // 100.00 at 20% (tax 20.00) and 50.00 at 5% (tax 2.50): total 172.50.
        let parts = [part("20", "100.00", "20.00"), part("5", "50.00", "2.50")];
        // Gross 2% of 172.50 = 3.45: 120.00/172.50 of it is 2.4000 -> 2.40,
        // 52.50/172.50 is 1.0500 -> 1.05; 2.40 splits 2.00 net, 0.40 tax;
        // 1.05 splits 1.00 net, 0.05 tax.
        let got = discount_parts(&parts, DiscountBasis::Gross, d("3.45"), gbp());
        assert_eq!(got.iter().map(|p| (p.net, p.tax)).collect::<Vec<_>>(), [(d("2.00"), d("0.40")), (d("1.00"), d("0.05"))]);
        // Net 2% of 150.00 = 3.00: 2.00 and 1.00, no tax.
        let got = discount_parts(&parts, DiscountBasis::Net, d("3.00"), gbp());
        assert_eq!(got.iter().map(|p| (p.net, p.tax)).collect::<Vec<_>>(), [(d("2.00"), d("0")), (d("1.00"), d("0"))]);
        // Odd amounts never leave a residue.
        let parts = [part("19", "33.33", "6.33"), part("7", "10.01", "0.70"), part("0", "5.00", "0.00")];
        for amount in ["0.01", "0.02", "0.03", "1.11", "55.37"] {
            for basis in [DiscountBasis::Gross, DiscountBasis::Net] {
                let got = discount_parts(&parts, basis, d(amount), gbp());
                assert_eq!(got.iter().map(|p| p.net + p.tax).sum::<Decimal>(), d(amount), "{amount} {basis:?}");
            }
        }
        // Fixed and percent amounts on each basis.
        let disc = |off, basis| Discount { off, days: 10, basis };
        assert_eq!(discount_amount(&disc(Share::Percent(d("2")), DiscountBasis::Gross), d("150.00"), d("172.50"), gbp()).unwrap(), d("3.45"));
        assert_eq!(discount_amount(&disc(Share::Percent(d("2")), DiscountBasis::Net), d("150.00"), d("172.50"), gbp()).unwrap(), d("3.00"));
        assert_eq!(discount_amount(&disc(Share::Amount(d("500.00")), DiscountBasis::Net), d("150.00"), d("172.50"), gbp()).unwrap(), d("150.00"));
    }

    #[test]
    fn portions_are_paid_earliest_first() {
        let s = schedule(d("100.00"), day("2026-04-30"), &pc(&[("40", 30), ("60", 60)]), day("2026-03-01"), gbp()).unwrap();
        assert_eq!(portion_status(&s, d("100.00"), d("100.00")), [(d("0"), d("40.00")), (d("0"), d("60.00"))]);
        assert_eq!(portion_status(&s, d("100.00"), d("45.00")), [(d("40.00"), d("0.00")), (d("15.00"), d("45.00"))]);
        assert_eq!(portion_status(&s, d("100.00"), d("0.00")), [(d("40.00"), d("0.00")), (d("60.00"), d("0.00"))]);
    }

    #[test]
    fn term_shapes_at_month_ends_february_and_leap_years() {
        use TermBasis::*;
        let terms = |basis, net_days, months, dom, cut| Terms {
            net_days,
            basis,
            discount: None,
            instalments: Vec::new(),
            months,
            day_of_month: dom,
            cut_off_day: cut,
        };
        // (terms, invoice date, due date)
        let table = [
            (terms(EndOfMonth, 10, None, None, None), "2026-03-25", "2026-04-10"),
            (terms(EndOfMonthAfterDays, 10, None, None, None), "2026-03-25", "2026-04-30"),
            (terms(EndOfMonthAfterDays, 10, None, None, None), "2026-03-02", "2026-03-31"),
            (terms(EndOfMonthAfterDays, 30, None, None, None), "2026-12-15", "2027-01-31"),
            (terms(EndOfMonthAfterDays, 0, None, None, None), "2028-02-01", "2028-02-29"),
            (terms(EndOfMonth, 30, None, None, Some(25)), "2026-03-25", "2026-04-30"),
            (terms(EndOfMonth, 30, None, None, Some(25)), "2026-03-26", "2026-05-30"),
            (terms(EndOfMonth, 0, None, None, Some(25)), "2026-12-31", "2027-01-31"),
            (terms(DayOfMonth, 0, None, Some(10), None), "2026-03-02", "2026-04-10"),
            (terms(DayOfMonth, 0, None, Some(10), None), "2026-03-31", "2026-04-10"),
            (terms(DayOfMonth, 0, None, Some(10), Some(25)), "2026-01-25", "2026-02-10"),
            (terms(DayOfMonth, 0, None, Some(10), Some(25)), "2026-01-26", "2026-03-10"),
            (terms(DayOfMonth, 0, None, Some(31), None), "2026-03-15", "2026-04-30"),
            (terms(DayOfMonth, 0, None, Some(30), None), "2026-01-31", "2026-02-28"),
            (terms(DayOfMonth, 0, None, Some(30), None), "2028-01-31", "2028-02-29"),
            (terms(DayOfMonth, 0, Some(2), Some(10), None), "2026-12-20", "2027-02-10"),
            (terms(DayOfMonth, 0, Some(1), Some(5), Some(20)), "2026-12-21", "2027-02-05"),
            (terms(MonthsAfterInvoice, 0, None, None, None), "2026-01-31", "2026-02-28"),
            (terms(MonthsAfterInvoice, 0, Some(1), None, None), "2028-01-31", "2028-02-29"),
            (terms(MonthsAfterInvoice, 0, Some(1), None, None), "2026-03-31", "2026-04-30"),
            (terms(MonthsAfterInvoice, 0, Some(12), None, None), "2028-02-29", "2029-02-28"),
            (terms(MonthsAfterInvoice, 0, Some(2), None, None), "2026-11-30", "2027-01-30"),
            (terms(MonthsAfterEndOfMonth, 0, None, None, None), "2026-01-15", "2026-02-28"),
            (terms(MonthsAfterEndOfMonth, 0, Some(1), None, None), "2028-01-01", "2028-02-29"),
            (terms(MonthsAfterEndOfMonth, 0, Some(2), None, None), "2026-12-31", "2027-02-28"),
            (terms(MonthsAfterEndOfMonth, 0, Some(1), None, Some(25)), "2026-01-26", "2026-03-31"),
        ];
        for (t, invoiced, due) in &table {
            let got = term_dates(t, day(invoiced), None).unwrap();
            assert_eq!(got.due, day(due), "{:?} on {invoiced}", t.basis);
        }
        // A discount on a calendar basis counts from the invoice date and
        // stops at the due date.
        let mut t = terms(DayOfMonth, 0, None, Some(10), None);
        t.discount = Some(crate::model::Discount { off: Share::Percent(d("2")), days: 14, basis: DiscountBasis::Gross });
        let got = term_dates(&t, day("2026-03-30"), None).unwrap();
        assert_eq!((got.discount_until, got.due), (Some(day("2026-04-10")), day("2026-04-10")));
        let got = term_dates(&t, day("2026-03-02"), None).unwrap();
        assert_eq!(got.discount_until, Some(day("2026-03-16")));
        // The delivery basis needs the delivery date.
        assert_eq!(term_dates(&terms(DeliveryDate, 30, None, None, None), day("2026-03-02"), None), Err(Error::DeliveryDateRequired));
    }

    #[test]
    fn splits_leave_no_residue() {
        let w = |xs: &[&str]| xs.iter().map(|x| d(x)).collect::<Vec<_>>();
        let shares = split_largest_remainder(d("100.00"), &w(&["300.00", "200.00", "100.01"]), gbp());
        assert_eq!(shares, w(&["50.00", "33.33", "16.67"]));
        // Equal remainders: the earlier item takes the unit.
        let shares = split_largest_remainder(d("0.01"), &w(&["5.00", "5.00"]), gbp());
        assert_eq!(shares, w(&["0.01", "0.00"]));
        let shares = split_largest_remainder(d("10.00"), &w(&["1.00", "1.00", "1.00"]), gbp());
        assert_eq!(shares, w(&["3.34", "3.33", "3.33"]));
        // JPY has no minor units, KWD three.
        let jpy = Currency::from_code("JPY").unwrap();
        assert_eq!(split_largest_remainder(d("100"), &w(&["1", "1", "1"]), jpy), w(&["34", "33", "33"]));
        let kwd = Currency::from_code("KWD").unwrap();
        assert_eq!(split_largest_remainder(d("1.000"), &w(&["2.000", "1.000"]), kwd), w(&["0.667", "0.333"]));
        // Every split adds up, at the largest amounts too.
        let big = w(&["999999999999.99", "1.00", "0.01", "333333333333.33"]);
        for amount in ["0.01", "0.99", "123456789.01", "999999999999.99"] {
            let shares = split_largest_remainder(d(amount), &big, gbp());
            assert_eq!(shares.iter().copied().sum::<Decimal>(), d(amount), "{amount}");
        }
        assert_eq!(split_largest_remainder(d("1.00"), &w(&["0.00"]), gbp()), w(&["0.00"]));
    }

    #[test]
    fn overdue_follows_the_portions() {
        let s = schedule(d("100.00"), day("2026-04-30"), &pc(&[("40", 30), ("60", 60)]), day("2026-03-01"), gbp()).unwrap();
        // due 2026-03-31 (40.00) and 2026-04-30 (60.00)
        assert_eq!(overdue_at(&s, d("100.00"), d("100.00"), day("2026-03-31")), d("0"));
        assert_eq!(overdue_at(&s, d("100.00"), d("100.00"), day("2026-04-01")), d("40.00"));
        assert_eq!(overdue_at(&s, d("100.00"), d("70.00"), day("2026-04-01")), d("10.00"));
        assert_eq!(overdue_at(&s, d("100.00"), d("70.00"), day("2026-05-01")), d("70.00"));
        assert_eq!(effective_due(&s, d("100.00"), d("60.00")), Some(day("2026-04-30")));
        assert_eq!(days_overdue(&s, d("100.00"), d("100.00"), day("2026-04-10")), 10);
    }

    #[test]
    fn interest_is_the_same_however_often_it_is_accrued() {
        let s = schedule(d("1000.00"), day("2026-04-01"), &[], day("2026-03-02"), gbp()).unwrap(); // due 2026-04-01
        let once = accrue_interest(&s, d("1000.00"), d("1000.00"), day("2026-03-02"), day("2026-05-01"), d("8"), 365).unwrap();
        // 30 days overdue: 1000 x 8% x 30 / 365 = 6.5753...
        assert_eq!(round_half_away(once, gbp()), d("6.58"));
        let mut daily = Decimal::ZERO;
        let mut from = day("2026-03-02");
        while from < day("2026-05-01") {
            let to = dates::add_days(from, 1);
            daily += accrue_interest(&s, d("1000.00"), d("1000.00"), from, to, d("8"), 365).unwrap();
            from = to;
        }
        assert_eq!(round_half_away(daily, gbp()), d("6.58"));
    }

    #[test]
    fn suggestions_follow_the_documented_formula() {
        let c = gbp();
        let out = suggest_limit(
            &ReviewInput {
                current_limit: d("5000.00"),
                settled: 10,
                on_time: 10,
                days_late_total: 0,
                highest_debt: d("4200.00"),
                volume12m: d("30000.00"),
            },
            c,
        );
        // base = max(4200, 2 x 30000 / 12 = 5000) = 5000; factor 1.5 -> 7500.
        assert_eq!((out.suggested, out.factor), (d("7500.00"), d("1.50")));
        let out = suggest_limit(
            &ReviewInput {
                current_limit: d("5000.00"),
                settled: 4,
                on_time: 2,
                days_late_total: 40,
                highest_debt: d("1234.56"),
                volume12m: d("6000.00"),
            },
            c,
        );
        // 50% on time, 10 days late: factor 0.75 x 1234.56 = 925.92 -> 900.
        assert_eq!((out.suggested, out.on_time_percent, out.average_days_late), (d("900.00"), d("50.00"), d("10.00")));
    }
}

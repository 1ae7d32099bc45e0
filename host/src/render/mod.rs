//! Documents people read: statements and invoices as self-contained HTML
//! pages (one stylesheet, inlined; A4 when printed), from templates askama
//! checks when the host is compiled (`host/templates/`). The figures come
//! from the component's answers as they are; this module only lays them
//! out.

use askama::Template;

pub mod charts;
mod my_account;
pub use my_account::{INVOICES_SHOWN, MyAccount, my_account_html};

use crate::api::{AccountStatement, CreditError, DiscountBasis, EntryKind, Invoice, ItemKind, PaymentTerms, TermBasis};
use crate::directory::Party;

/// `1234567.50` as `1,234,567.50`; signs and decimals kept.
pub fn grouped(amount: &str) -> String {
    let (sign, digits) = amount.strip_prefix('-').map_or(("", amount), |d| ("-", d));
    let (int, frac) = digits.split_once('.').map_or((digits, None), |(i, f)| (i, Some(f)));
    let mut out = String::with_capacity(amount.len() + int.len() / 3);
    out.push_str(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// An instant as people read it: `2026-12-02 16:05 UTC`.
pub fn utc_minute(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(|| ms.to_string(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

/// Whether a decimal as the component writes it (`"0.00"`, `"-0"`) is zero.
pub fn is_zero(amount: &str) -> bool {
    amount.trim_start_matches('-').chars().all(|c| c == '0' || c == '.')
}

/// A zero shown as an empty cell (charges and credits columns).
fn blank_zero(amount: &str) -> String {
    if is_zero(amount) { String::new() } else { grouped(amount) }
}

struct LineRow {
    date: String,
    description: String,
    reference: String,
    debit: String,
    credit: String,
    balance: String,
}

struct ItemRow {
    id: String,
    kind: String,
    date: String,
    due: String,
    total: String,
    outstanding: String,
    days: u32,
    overdue: bool,
    /// What paying it on the statement's last day saves (blank for none).
    saves: String,
}

#[derive(Template)]
#[template(path = "statement.html")]
struct StatementPage<'a> {
    merchant: &'a Party,
    customer: &'a Party,
    s: &'a AccountStatement,
    period: String,
    opening: String,
    debits: String,
    credits: String,
    closing: String,
    due: String,
    later: String,
    limit: String,
    available: String,
    stored: String,
    lines: Vec<LineRow>,
    more_lines: bool,
    more_lines_after: u64,
    items: Vec<ItemRow>,
    /// Some open item has an early-payment saving: show the column.
    savings: bool,
    more_items: u64,
    aging: Vec<(String, String)>,
    aging_total: String,
}

fn item_kind(k: ItemKind) -> &'static str {
    match k {
        ItemKind::Invoice => "",
        ItemKind::LateFee => "late fee",
        ItemKind::Interest => "interest",
        ItemKind::Adjustment => "adjustment",
    }
}

/// A statement as one HTML page, from `merchant` to `customer`.
pub fn statement_html(merchant: &Party, customer: &Party, s: &AccountStatement) -> anyhow::Result<String> {
    let page = StatementPage {
        merchant,
        customer,
        s,
        period: format!("{} to {}", s.period_from, s.period_to),
        opening: grouped(&s.opening_balance),
        debits: grouped(&s.total_debits),
        credits: grouped(&s.total_credits),
        closing: grouped(&s.closing_balance),
        due: grouped(&s.amount_due),
        later: grouped(&s.not_yet_due),
        limit: grouped(&s.credit_limit),
        available: grouped(&s.available_credit),
        stored: grouped(&s.stored_balance),
        lines: s
            .lines
            .iter()
            .map(|l| LineRow {
                date: l.date.clone(),
                description: l.description.clone(),
                reference: if l.kind == EntryKind::PaymentRecorded { String::new() } else { l.reference.clone().unwrap_or_default() },
                debit: blank_zero(&l.debit),
                credit: blank_zero(&l.credit),
                balance: grouped(&l.balance),
            })
            .collect(),
        more_lines: s.next_after_seq.is_some(),
        more_lines_after: s.next_after_seq.unwrap_or(0),
        items: s
            .open_items
            .iter()
            .map(|i| ItemRow {
                id: i.invoice_id.clone(),
                kind: item_kind(i.kind).to_owned(),
                date: i.date.clone(),
                due: i.due_date.clone(),
                total: grouped(&i.total),
                outstanding: grouped(&i.outstanding),
                days: i.days_overdue,
                overdue: i.days_overdue > 0,
                // One portion unless instalments, which carry no discount.
                saves: i.schedule.first().map(|p| blank_zero(&p.discount_available)).unwrap_or_default(),
            })
            .collect(),
        savings: s.open_items.iter().any(|i| i.schedule.iter().any(|p| !is_zero(&p.discount_available))),
        more_items: s.open_item_count.saturating_sub(s.open_items.len() as u64),
        aging: s.bucket_labels.iter().cloned().zip(s.aging.buckets.iter().map(|b| grouped(b))).collect(),
        aging_total: grouped(&s.aging.total),
    };
    Ok(page.render()?)
}

#[derive(Template)]
#[template(path = "invoice.html")]
struct InvoicePage<'a> {
    merchant: &'a Party,
    customer: &'a Party,
    i: &'a Invoice,
    title: &'static str,
    currency: &'a str,
    terms: String,
    total: String,
    net: String,
    tax: String,
    outstanding: String,
    discount: String,
    lines: Vec<(String, String, String, String, String, String)>,
    schedule: Vec<(String, String, String, String)>,
}

/// Payment terms in words, as an invoice prints them ("Net 30 end of
/// month", "Day 10 of next month, cut-off day 25").
pub fn terms_text(t: &PaymentTerms) -> String {
    let n = t.net_days;
    let months = t.months.unwrap_or(1);
    let later = |what: &str| {
        if months == 1 { format!("{what} next month") } else { format!("{what} the month {months} months after the invoice") }
    };
    let rule = match t.basis {
        TermBasis::InvoiceDate => format!("Net {n}"),
        TermBasis::DeliveryDate => format!("Net {n} from delivery"),
        TermBasis::EndOfMonth => format!("Net {n} end of month"),
        TermBasis::EndOfMonthAfterDays => format!("Net {n}, then end of month"),
        TermBasis::DayOfMonth => later(&format!("Day {} of", t.day_of_month.unwrap_or(1))),
        TermBasis::MonthsAfterInvoice if months == 1 => "1 month after the invoice date".to_owned(),
        TermBasis::MonthsAfterInvoice => format!("{months} months after the invoice date"),
        TermBasis::MonthsAfterEndOfMonth => later("End of"),
    };
    match t.cut_off_day {
        Some(c) => format!("{rule}, cut-off day {c}"),
        None => rule,
    }
}

/// An invoice (or a fee, interest or adjustment note) as one HTML page.
pub fn invoice_html(merchant: &Party, customer: &Party, currency: &str, i: &Invoice) -> anyhow::Result<String> {
    let page = InvoicePage {
        merchant,
        customer,
        i,
        title: match i.kind {
            ItemKind::Invoice => "Invoice",
            _ => "Debit note",
        },
        currency,
        terms: terms_text(&i.terms),
        total: grouped(&i.total),
        net: grouped(&i.net_total),
        tax: grouped(&i.tax_total),
        outstanding: grouped(&i.outstanding),
        discount: match (&i.discount_until, &i.terms.discount) {
            (Some(until), Some(d)) => {
                let off = match &d.percent {
                    Some(p) => format!("{p}% off ({} {currency})", grouped(&i.discount_amount)),
                    None => format!("{} {currency} off", grouped(&i.discount_amount)),
                };
                let basis = match d.basis {
                    Some(DiscountBasis::Net) => " on the amount before tax",
                    _ => "",
                };
                format!("{off}{basis} when paid by {until}.")
            }
            // A dynamic discount: what paying on the copy's day saves; it
            // shrinks each day to the due date.
            _ => match i.schedule.first() {
                Some(p) if i.schedule.len() == 1 && is_zero(&p.discount_available) => String::new(),
                Some(p) if i.schedule.len() == 1 => format!(
                    "Paying today saves {} {currency}: a discount for paying before {} that shrinks each day.",
                    grouped(&p.discount_available),
                    i.due_date
                ),
                _ => String::new(),
            },
        },
        lines: i
            .lines
            .iter()
            .map(|l| (l.description.clone(), l.quantity.clone(), l.unit_price.clone(), grouped(&l.net), grouped(&l.tax), grouped(&l.total)))
            .collect(),
        schedule: i.schedule.iter().map(|p| (p.due_date.clone(), grouped(&p.amount), grouped(&p.paid), grouped(&p.open))).collect(),
    };
    Ok(page.render()?)
}

/// The component's error case in words, with its payload:
/// `Error::DateInFuture("received-on")` as `date in future ("received-on")`.
pub fn refusal(e: &CreditError) -> String {
    let debug = format!("{e:?}");
    let case = debug.strip_prefix("Error::").unwrap_or(&debug);
    let (name, rest) = case.split_at(case.find(['(', ' ', '{']).unwrap_or(case.len()));
    let mut words = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            words.push(' ');
        }
        words.push(c.to_ascii_lowercase());
    }
    if rest.is_empty() { words } else { format!("{words} {}", rest.trim()) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn terms_read_as_words() {
        use crate::api::{PaymentTerms, TermBasis};
        let t = |basis, net_days, months, day_of_month, cut_off_day| PaymentTerms {
            net_days,
            basis,
            discount: None,
            instalments: vec![],
            months,
            day_of_month,
            cut_off_day,
        };
        assert_eq!(super::terms_text(&t(TermBasis::EndOfMonth, 30, None, None, None)), "Net 30 end of month");
        assert_eq!(super::terms_text(&t(TermBasis::DayOfMonth, 0, None, Some(10), Some(25))), "Day 10 of next month, cut-off day 25");
        assert_eq!(
            super::terms_text(&t(TermBasis::MonthsAfterEndOfMonth, 0, Some(2), None, None)),
            "End of the month 2 months after the invoice"
        );
        assert_eq!(super::terms_text(&t(TermBasis::EndOfMonthAfterDays, 10, None, None, None)), "Net 10, then end of month");
    }

    #[test]
    fn amounts_are_grouped_by_thousands() {
        assert_eq!(super::grouped("1234567.50"), "1,234,567.50");
        assert_eq!(super::grouped("-1000"), "-1,000");
        assert_eq!(super::grouped("999.99"), "999.99");
        assert_eq!(super::blank_zero("0.00"), "");
        assert_eq!(super::blank_zero("12.00"), "12.00");
    }
}

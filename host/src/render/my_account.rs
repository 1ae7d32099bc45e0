//! "My account": the page a customer reaches by the link the merchant
//! sends (`crate::http::links`), from the component's answers as they are.

use askama::Template;

use super::{grouped, is_zero};
use crate::api::{AccountStatus, AccountSummary, EntryKind, Invoice, LedgerEntry, Payment, StatementHeader};
use crate::directory::Party;

/// What the page shows, as the component answered it.
pub struct MyAccount<'a> {
    /// Who sells.
    pub merchant: &'a Party,
    /// Who buys.
    pub customer: &'a Party,
    /// The day the figures are for.
    pub today: &'a str,
    /// `get-account` on that day.
    pub account: &'a AccountSummary,
    /// The open invoices, by due date (the first `INVOICES_SHOWN` shown).
    pub invoices: &'a [Invoice],
    /// The latest entries, oldest first.
    pub entries: &'a [LedgerEntry],
    /// The latest payments, oldest first.
    pub payments: &'a [Payment],
    /// The statements, oldest first.
    pub statements: &'a [StatementHeader],
    /// Where this page is: statements are `{base}/statement/{seq}`.
    pub base: &'a str,
    /// When the link stops working, as a date.
    pub expires: String,
}

/// The most open invoices listed; the statement has them all.
pub const INVOICES_SHOWN: usize = 50;

struct InvoiceRow {
    id: String,
    date: String,
    due: String,
    total: String,
    outstanding: String,
    discount: String,
    days: u32,
    overdue: bool,
}

struct EntryRow {
    date: String,
    what: &'static str,
    reference: String,
    amount: String,
    balance: String,
}

struct PaymentRow {
    date: String,
    reference: String,
    method: String,
    amount: String,
    reversed: bool,
}

struct StatementRow {
    period: String,
    closing: String,
    due: String,
    href: String,
}

#[derive(Template)]
#[template(path = "my_account.html")]
struct Page<'a> {
    merchant: &'a Party,
    customer: &'a Party,
    today: &'a str,
    a: &'a AccountSummary,
    on_hold: bool,
    balance: String,
    overdue: String,
    overdue_shown: bool,
    available: String,
    limit: String,
    stored: String,
    stored_shown: bool,
    holds: String,
    holds_shown: bool,
    invoices: Vec<InvoiceRow>,
    more_invoices: usize,
    entries: Vec<EntryRow>,
    payments: Vec<PaymentRow>,
    statements: Vec<StatementRow>,
    expires: String,
}

/// An entry as the customer would say it (finance's words are in
/// `cli::tables::kind`). Only entries that move money are listed.
fn customer_words(k: EntryKind) -> &'static str {
    match k {
        EntryKind::AccountOpened => "account opened",
        EntryKind::CreditLimitChanged => "credit limit changed",
        EntryKind::StatusChanged => "account status changed",
        EntryKind::HoldPlaced => "order placed",
        EntryKind::HoldCaptured => "invoice",
        EntryKind::HoldVoided => "order cancelled",
        EntryKind::HoldExpired => "order lapsed",
        EntryKind::HoldAmended => "order changed",
        EntryKind::BalanceApplied => "credit used at checkout",
        EntryKind::CreditNoteIssued => "credit note",
        EntryKind::CreditNoteCancelled => "credit note cancelled",
        EntryKind::InvoiceBroughtIn => "invoice brought over",
        EntryKind::StoredBalanceBroughtIn => "credit brought over",
        EntryKind::PaymentRecorded => "payment, thank you",
        EntryKind::PaymentReversed => "payment returned unpaid",
        EntryKind::BalanceAllocated => "credit applied to an invoice",
        EntryKind::DiscountTaken => "early-payment discount",
        EntryKind::DynamicDiscountTaken => "discount for paying early",
        EntryKind::SmallDifferenceWrittenOff => "small difference written off",
        EntryKind::SmallDifferenceCarried => "small difference carried",
        EntryKind::LateFeeCharged => "late fee",
        EntryKind::InterestCharged => "interest",
        EntryKind::PolicyChanged => "billing terms changed",
        EntryKind::BalanceRefunded => "credit refunded to you",
        EntryKind::BadDebtWrittenOff => "written off",
    }
}

fn date_of(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(String::new, |t| t.format("%Y-%m-%d").to_string())
}

/// The page as HTML.
pub fn my_account_html(d: &MyAccount) -> anyhow::Result<String> {
    let f = &d.account.figures;
    let page = Page {
        merchant: d.merchant,
        customer: d.customer,
        today: d.today,
        a: d.account,
        on_hold: d.account.status != AccountStatus::Active,
        balance: grouped(&f.posted_debt),
        overdue: grouped(&d.account.overdue),
        overdue_shown: !is_zero(&d.account.overdue),
        available: grouped(&f.available_credit),
        limit: grouped(&f.credit_limit),
        stored: grouped(&f.stored_balance),
        stored_shown: !is_zero(&f.stored_balance),
        holds: grouped(&f.open_holds),
        holds_shown: !is_zero(&f.open_holds),
        invoices: d
            .invoices
            .iter()
            .take(INVOICES_SHOWN)
            .map(|i| InvoiceRow {
                id: i.invoice_id.clone(),
                date: i.invoice_date.clone(),
                due: i.due_date.clone(),
                total: grouped(&i.total),
                outstanding: grouped(&i.outstanding),
                // Dates are ISO 8601, so they compare as text.
                // The fixed discount names its last day; a dynamic one
                // (what `discount-available` holds otherwise) shrinks
                // every day, so it is what paying today saves.
                discount: match (&i.discount_until, i.schedule.first()) {
                    (Some(until), _) if until.as_str() >= d.today && !is_zero(&i.discount_amount) => {
                        format!("Pay by {until} to save {}", grouped(&i.discount_amount))
                    }
                    (_, Some(p)) if !is_zero(&p.discount_available) => format!("Pay today to save {}", grouped(&p.discount_available)),
                    _ => String::new(),
                },
                days: i.days_overdue,
                overdue: i.days_overdue > 0,
            })
            .collect(),
        more_invoices: d.invoices.len().saturating_sub(INVOICES_SHOWN),
        entries: d
            .entries
            .iter()
            .rev()
            .map(|e| EntryRow {
                date: date_of(e.at_ms),
                what: customer_words(e.kind),
                reference: e.document_id.clone().or_else(|| e.order_id.clone()).unwrap_or_default(),
                amount: if is_zero(&e.debt_delta) { format!("{} to your credit", grouped(&e.stored_delta)) } else { grouped(&e.debt_delta) },
                balance: grouped(&e.debt_after),
            })
            .collect(),
        payments: d
            .payments
            .iter()
            .rev()
            .map(|p| PaymentRow { date: p.received_on.clone(), reference: p.reference.clone(), method: p.method.clone(), amount: grouped(&p.amount), reversed: p.reversed })
            .collect(),
        statements: d
            .statements
            .iter()
            .rev()
            .map(|s| StatementRow {
                period: format!("{} to {}", s.period_from, s.period_to),
                closing: grouped(&s.closing_balance),
                due: grouped(&s.amount_due),
                href: format!("{}/statement/{}", d.base, s.seq),
            })
            .collect(),
        expires: d.expires.clone(),
    };
    Ok(page.render()?)
}

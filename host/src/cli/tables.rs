//! Readable tables for the terminal.

use crate::api::{
    AccountStatement, AccountStatus, AccountSummary, AgingPage, AgingRow, AgingTotal, DebtorRow, DeclineReason, Delivery, EntryKind, Invoice,
    ItemKind, LedgerEntry, Note, WarningRow, WarningSignal,
};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Table};

/// `1234567.50` as `1,234,567.50`; signs and decimals kept.
pub fn money(amount: &str) -> String {
    crate::render::grouped(amount)
}

pub fn status(s: AccountStatus) -> &'static str {
    match s {
        AccountStatus::Active => "active",
        AccountStatus::OnHold => "on hold",
        AccountStatus::Closed => "closed",
    }
}

/// An entry kind as finance would say it.
pub fn kind(k: EntryKind) -> &'static str {
    match k {
        EntryKind::AccountOpened => "account opened",
        EntryKind::CreditLimitChanged => "limit changed",
        EntryKind::StatusChanged => "status changed",
        EntryKind::HoldPlaced => "hold placed",
        EntryKind::HoldCaptured => "hold captured",
        EntryKind::HoldVoided => "hold voided",
        EntryKind::HoldExpired => "hold expired",
        EntryKind::BalanceApplied => "credit applied",
        EntryKind::CreditNoteIssued => "credit note",
        EntryKind::PaymentRecorded => "payment",
        EntryKind::PaymentReversed => "payment bounced",
        EntryKind::BalanceAllocated => "credit allocated",
        EntryKind::DiscountTaken => "discount",
        EntryKind::DynamicDiscountTaken => "dynamic discount",
        EntryKind::SmallDifferenceWrittenOff => "written off",
        EntryKind::SmallDifferenceCarried => "carried",
        EntryKind::LateFeeCharged => "late fee",
        EntryKind::InterestCharged => "interest",
        EntryKind::PolicyChanged => "policy changed",
        EntryKind::HoldAmended => "hold amended",
        EntryKind::BalanceRefunded => "refund",
        EntryKind::BadDebtWrittenOff => "bad debt",
        EntryKind::CreditNoteCancelled => "credit note cancelled",
        EntryKind::InvoiceBroughtIn => "invoice brought in",
        EntryKind::StoredBalanceBroughtIn => "credit brought in",
    }
}

/// A decline reason in words.
pub fn decline(r: DeclineReason) -> &'static str {
    match r {
        DeclineReason::InsufficientCredit => "insufficient credit",
        DeclineReason::AccountOnHold => "account on hold",
        DeclineReason::OverdueInvoices => "on hold for overdue invoices",
        DeclineReason::AccountClosed => "account closed",
        DeclineReason::CurrencyMismatch => "currency mismatch",
        DeclineReason::CompanyCreditInsufficient => "company credit insufficient",
        DeclineReason::CompanyOverdueInvoices => "company overdue invoices",
    }
}

fn right(s: String) -> Cell {
    Cell::new(s).set_alignment(CellAlignment::Right)
}

/// One row per account with its credit figures.
pub fn accounts(rows: &[AccountSummary]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["account", "status", "cur", "limit", "tolerance", "owed", "store credit", "reserved", "available"]);
    for a in rows {
        let f = &a.figures;
        t.add_row(vec![
            Cell::new(&a.account_id),
            Cell::new(status(a.status)),
            Cell::new(&a.currency),
            right(money(&f.credit_limit)),
            right(money(&f.tolerance)),
            right(money(&f.posted_debt)),
            right(money(&f.stored_balance)),
            right(money(&f.open_holds)),
            right(money(&f.available_credit)),
        ]);
    }
    t
}

/// An account's ledger with running balances.
pub fn entries(rows: &[LedgerEntry]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["#", "when (UTC)", "what", "amount", "owed after", "credit after", "memo"]);
    for e in rows {
        let when = chrono::DateTime::from_timestamp_millis(e.at_ms).map(|d| d.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default();
        t.add_row(vec![
            right(e.seq.to_string()),
            Cell::new(when),
            Cell::new(kind(e.kind)),
            right(money(&e.amount)),
            right(money(&e.debt_after)),
            right(money(&e.stored_after)),
            Cell::new(&e.memo),
        ]);
    }
    t
}

/// Open items with what they owe and how late they are.
pub fn invoices(rows: &[Invoice]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["item", "kind", "dated", "due", "total", "outstanding", "overdue", "days late"]);
    for i in rows {
        let kind = match i.kind {
            ItemKind::Invoice => "invoice",
            ItemKind::LateFee => "late fee",
            ItemKind::Interest => "interest",
            ItemKind::Adjustment => "adjustment",
        };
        t.add_row(vec![
            Cell::new(&i.invoice_id),
            Cell::new(kind),
            Cell::new(&i.invoice_date),
            Cell::new(&i.due_date),
            right(money(&i.total)),
            right(money(&i.outstanding)),
            right(money(&i.overdue)),
            right(i.days_overdue.to_string()),
        ]);
    }
    t
}

/// A statement's lines, opening and closing.
pub fn statement(s: &AccountStatement) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["date", "description", "reference", "charges", "credits", "balance"]);
    t.add_row(vec![
        Cell::new(&s.period_from),
        Cell::new("opening balance"),
        Cell::new(""),
        Cell::new(""),
        Cell::new(""),
        right(money(&s.opening_balance)),
    ]);
    for l in &s.lines {
        t.add_row(vec![
            Cell::new(&l.date),
            Cell::new(&l.description),
            Cell::new(l.reference.as_deref().unwrap_or("")),
            right(money(&l.debit)),
            right(money(&l.credit)),
            right(money(&l.balance)),
        ]);
    }
    t.add_row(vec![
        Cell::new(&s.period_to),
        Cell::new("closing balance"),
        Cell::new(""),
        right(money(&s.total_debits)),
        right(money(&s.total_credits)),
        right(money(&s.closing_balance)),
    ]);
    t
}

fn aging_cells(first: Vec<Cell>, buckets: &[String], total: &str, credit: &str, net: &str, written_off: &str) -> Vec<Cell> {
    let mut row = first;
    row.extend(buckets.iter().map(|b| right(money(b))));
    row.extend([right(money(total)), right(money(credit)), right(money(net)), right(money(written_off))]);
    row
}

/// Aged receivables: a row per account, then the totals per currency.
pub fn aging(page: &AgingPage, rows: &[AgingRow], totals: &[AgingTotal]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    let mut header = vec!["account".to_owned(), "cur".to_owned()];
    header.extend(page.bucket_labels.iter().cloned());
    header.extend(["total".to_owned(), "credit held".to_owned(), "net".to_owned(), "written off".to_owned()]);
    t.set_header(header);
    for r in rows {
        t.add_row(aging_cells(vec![Cell::new(&r.account_id), Cell::new(&r.currency)], &r.buckets, &r.total, &r.unapplied_credit, &r.net, &r.written_off));
    }
    for s in totals {
        let label = format!("total ({} accounts)", s.accounts);
        t.add_row(aging_cells(vec![Cell::new(label), Cell::new(&s.currency)], &s.buckets, &s.total, &s.unapplied_credit, &s.net, &s.written_off));
    }
    t
}

/// The debtor list.
pub fn debtors(rows: &[DebtorRow]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["account", "status", "cur", "limit", "balance", "store credit", "overdue", "as of", "oldest due", "days", "used %"]);
    for r in rows {
        t.add_row(vec![
            Cell::new(&r.account_id),
            Cell::new(status(r.status)),
            Cell::new(&r.currency),
            right(money(&r.credit_limit)),
            right(money(&r.balance)),
            right(money(&r.stored_balance)),
            right(money(&r.overdue)),
            Cell::new(r.overdue_as_of.as_deref().unwrap_or("")),
            Cell::new(r.oldest_due.as_deref().unwrap_or("")),
            right(r.days_overdue.to_string()),
            right(r.utilisation_percent.clone().unwrap_or_else(|| "no limit".into())),
        ]);
    }
    t
}

/// A warning signal in words, with its figures.
pub fn signal(s: &WarningSignal) -> String {
    match s {
        WarningSignal::PayingSlower(p) => format!(
            "paying slower: {} days on average over the last {} settled invoices, {} the {} before",
            p.recent_average_days, p.window, p.earlier_average_days, p.window
        ),
        WarningSignal::HighUtilisation(u) => match &u.utilisation_percent {
            Some(p) => format!("using {p}% of the limit (threshold {}%)", u.threshold_percent),
            None => "owes on a zero limit".to_owned(),
        },
        WarningSignal::RecentBounce(b) => format!("payment {} bounced on {}", b.payment_id, b.date),
        WarningSignal::FirstTimeOverdue(f) => format!("overdue for the first time since {} ({} overdue)", f.since, money(&f.overdue)),
        WarningSignal::PromiseMissed(p) => {
            format!("promised {} by {} (note {}), received {}", money(&p.amount), p.pay_by, p.note_seq, money(&p.paid))
        }
    }
}

/// Accounts with early warnings, a line per signal.
pub fn warnings(rows: &[WarningRow]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["account", "customer", "cur", "signal"]);
    for r in rows {
        for s in &r.signals {
            t.add_row(vec![Cell::new(&r.account_id), Cell::new(&r.customer_id), Cell::new(&r.currency), Cell::new(signal(s))]);
        }
    }
    t
}

/// An account's notes.
pub fn notes(rows: &[Note]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["#", "when (UTC)", "by", "note", "promise"]);
    for n in rows {
        let when = chrono::DateTime::from_timestamp_millis(n.at_ms).map(|d| d.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default();
        let promise = n.promise.as_ref().map(|p| format!("{} by {}", money(&p.amount), p.pay_by)).unwrap_or_default();
        t.add_row(vec![right(n.seq.to_string()), Cell::new(when), Cell::new(&n.by), Cell::new(&n.text), Cell::new(promise)]);
    }
    t
}

/// An account's deliveries.
pub fn deliveries(rows: &[Delivery]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["#", "order", "invoice", "delivered", "carrier", "tracking", "cost", "charged"]);
    for d in rows {
        t.add_row(vec![
            right(d.seq.to_string()),
            Cell::new(&d.order_id),
            Cell::new(&d.invoice_id),
            Cell::new(d.delivered_on.as_deref().unwrap_or("")),
            Cell::new(&d.carrier),
            Cell::new(&d.tracking_reference),
            right(money(&d.cost)),
            right(money(&d.charged)),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    #[test]
    fn money_groups_thousands() {
        assert_eq!(super::money("1234567.50"), "1,234,567.50");
        assert_eq!(super::money("-1000"), "-1,000");
        assert_eq!(super::money("999.00"), "999.00");
        assert_eq!(super::money("0.00"), "0.00");
    }
}

//! Readable tables for the terminal.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Table};
use crate::api::{AccountStatus, AccountSummary, DeclineReason, EntryKind, Invoice, ItemKind, LedgerEntry};

/// `1234567.50` as `1,234,567.50`; signs and decimals kept.
pub fn money(amount: &str) -> String {
    let (sign, digits) = amount.strip_prefix('-').map_or(("", amount), |d| ("-", d));
    let (int, frac) = digits.split_once('.').map_or((digits, None), |(i, f)| (i, Some(f)));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

fn status(s: AccountStatus) -> &'static str {
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
        EntryKind::SmallDifferenceWrittenOff => "written off",
        EntryKind::SmallDifferenceCarried => "carried",
        EntryKind::LateFeeCharged => "late fee",
        EntryKind::InterestCharged => "interest",
        EntryKind::PolicyChanged => "policy changed",
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
        let when = chrono::DateTime::from_timestamp_millis(e.at_ms)
            .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default();
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

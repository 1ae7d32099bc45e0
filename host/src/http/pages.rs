//! The pages people open in a browser: "My account" for a customer, by
//! the link the merchant sent (`links`). Built on the ledger's thread from
//! the component's answers, like any call; they only read.

use anyhow::Result;

use super::links;
use crate::directory::Directory;
use crate::render::{self, MyAccount, is_zero};
use crate::{Ledger, MerchantId};

/// The latest entries and payments a page lists.
const RECENT_MAX: usize = 15;

/// What a page request comes to.
pub(super) enum Page {
    /// Not there, or a link that is wrong, expired or revoked (not said which).
    NotFound,
    /// The page.
    Html(String),
}

/// "My account" for the link's account at `now_ms`, or with `statement`
/// one of its statements.
pub(super) fn my_account(ledger: &mut Ledger, names: &Directory, link: &str, statement: Option<u64>, now_ms: i64) -> Result<Page> {
    let Some(opened) = links::open(ledger.backend(), link, now_ms)? else { return Ok(Page::NotFound) };
    let (merchant, account_id) = (MerchantId::new(opened.merchant.as_str())?, opened.account_id.clone());
    let Ok(account) = ledger.get_account(&merchant, &account_id, now_ms)? else { return Ok(Page::NotFound) };
    let seller = names.merchant(merchant.as_str());
    let buyer = names.customer(merchant.as_str(), &account.customer_id);
    if let Some(seq) = statement {
        // The link's account only: another account's statement number is
        // simply not found on this one.
        return Ok(match ledger.get_statement(&merchant, &account_id, seq)? {
            Ok(s) => Page::Html(render::statement_html(&seller, &buyer, &s)?),
            Err(_) => Page::NotFound,
        });
    }
    let today = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default().format("%Y-%m-%d").to_string();
    let mut invoices = answered(ledger.open_invoices_all(&merchant, &account_id, &today))?;
    invoices.sort_by(|a, b| a.due_date.cmp(&b.due_date).then_with(|| a.invoice_id.cmp(&b.invoice_id)));
    let entries = recent_entries(ledger, &merchant, &account_id, account.entry_count)?;
    let payments = recent_payments(ledger, &merchant, &account_id)?;
    let statements = all_statements(ledger, &merchant, &account_id)?;
    let expires = render::utc_minute(opened.expires_ms);
    let html = render::my_account_html(&MyAccount {
        merchant: &seller,
        customer: &buyer,
        today: &today,
        account: &account,
        invoices: &invoices,
        entries: &entries,
        payments: &payments,
        statements: &statements,
        base: &format!("/my/{link}"),
        expires,
    })?;
    Ok(Page::Html(html))
}

/// The latest entries that moved money the customer owes or is owed
/// (holds are orders, not money), from the last 100 entries.
fn recent_entries(ledger: &mut Ledger, m: &MerchantId, account: &str, count: u64) -> Result<Vec<crate::api::LedgerEntry>> {
    let page = answered(ledger.ledger(m, account, count.checked_sub(100), 100))?;
    let moved: Vec<_> = page.entries.into_iter().filter(|e| !is_zero(&e.debt_delta) || !is_zero(&e.stored_delta)).collect();
    Ok(moved[moved.len().saturating_sub(RECENT_MAX)..].to_vec())
}

fn recent_payments(ledger: &mut Ledger, m: &MerchantId, account: &str) -> Result<Vec<crate::api::Payment>> {
    let mut all = Vec::new();
    loop {
        let page = answered(ledger.payments(m, account, (!all.is_empty()).then_some(all.len() as u64), 100))?;
        let done = page.len() < 100;
        all.extend(page);
        if done {
            break;
        }
    }
    Ok(all[all.len().saturating_sub(RECENT_MAX)..].to_vec())
}

fn all_statements(ledger: &mut Ledger, m: &MerchantId, account: &str) -> Result<Vec<crate::api::StatementHeader>> {
    let mut all: Vec<crate::api::StatementHeader> = Vec::new();
    loop {
        let page = answered(ledger.statements(m, account, all.last().map(|s| s.seq), 100))?;
        let done = page.len() < 100;
        all.extend(page);
        if done {
            break;
        }
    }
    Ok(all)
}

/// A read the page needs: the component refusing it is a failure here
/// (the account was found a moment before, in the same thread).
fn answered<T>(r: Result<std::result::Result<T, crate::api::CreditError>>) -> Result<T> {
    r?.map_err(|e| anyhow::anyhow!("the component refused a read for the page: {e:?}"))
}

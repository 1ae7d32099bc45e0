//! An independent check of stored data: recomputes every account's cached
//! figures from its ledger entries, straight from storage, without the
//! component. It decodes the stored records with the engine's record types
//! (layout in the README, "Storage layout") but does all the arithmetic
//! itself, so a bug in the engine's sums cannot hide itself here.

use anyhow::{Context, Result};
use credit_guest::codec::decode;
use std::collections::BTreeMap;

use credit_guest::model::{Account, Book, Entry, Hold, HoldState, Invoice, ItemKind, OpenHoldRef, OpenItemRef};
use credit_guest::{dates, rules};
use rust_decimal::Decimal;

/// An `owed/<account>/<ladder>/<date>` row: a bare decimal.
#[derive(serde::Deserialize)]
struct LadderRow(#[serde(with = "credit_guest::codec::dec")] Decimal);

use crate::backend::Backend;

/// One figure that does not add up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discrepancy {
    /// The merchant.
    pub merchant: String,
    /// The account.
    pub account_id: String,
    /// What is wrong, in words.
    pub what: String,
}

/// What an audit found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditReport {
    /// Merchants read.
    pub merchants: usize,
    /// Accounts checked.
    pub accounts: usize,
    /// Entries summed.
    pub entries: u64,
    /// All debits posted, over every entry read.
    pub debits: Decimal,
    /// All credits posted; equal to `debits` when the books balance.
    pub credits: Decimal,
    /// Every difference found; empty when everything adds up.
    pub discrepancies: Vec<Discrepancy>,
}

impl AuditReport {
    /// True when no discrepancy was found.
    pub fn is_clean(&self) -> bool {
        self.discrepancies.is_empty() && self.debits == self.credits
    }
}

const PAGE: u32 = 500;

/// Checks every account of every merchant in `backend`. Runs in its own
/// unit of work and writes nothing.
pub fn audit(backend: &mut dyn Backend) -> Result<AuditReport> {
    backend.begin()?;
    let result = audit_inner(backend);
    backend.rollback()?;
    result
}

fn audit_inner(backend: &mut dyn Backend) -> Result<AuditReport> {
    let mut report = AuditReport::default();
    for merchant in backend.merchants()? {
        report.merchants += 1;
        let mut after: Option<String> = None;
        loop {
            let accounts = backend.scan(&merchant, "acct/", after.as_deref(), PAGE)?;
            let Some((last, _)) = accounts.last() else { break };
            after = Some(last.clone());
            for (key, bytes) in accounts {
                let account: Account = decode(&bytes).with_context(|| format!("{merchant}/{key}"))?;
                report.accounts += 1;
                let problems = check_account(
                    backend,
                    &merchant,
                    &account,
                    &mut report.entries,
                    &mut report.debits,
                    &mut report.credits,
                )
                    .unwrap_or_else(|e| vec![format!("unreadable: {e:#}")]);
                let account_id = key["acct/".len()..].to_owned();
                report.discrepancies.extend(problems.into_iter().map(|what| Discrepancy {
                    merchant: merchant.clone(),
                    account_id: account_id.clone(),
                    what,
                }));
            }
        }
    }
    Ok(report)
}

fn check_account(
    backend: &mut dyn Backend,
    merchant: &str,
    account: &Account,
    entries_seen: &mut u64,
    debits_total: &mut Decimal,
    credits_total: &mut Decimal,
) -> Result<Vec<String>> {
    let id = &account.id;
    let mut problems = Vec::new();
    let (mut debt, mut stored, mut held) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    let mut expected_seq = 1u64;
    let prefix = format!("entry/{id}/");
    let mut after: Option<String> = None;
    loop {
        let page = backend.scan(merchant, &prefix, after.as_deref(), PAGE)?;
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        for (key, bytes) in page {
            let e: Entry = decode(&bytes).with_context(|| key.clone())?;
            let seq = e.seq;
            if seq != expected_seq {
                problems.push(format!("entry {seq} found where {expected_seq} was expected"));
            }
            expected_seq = seq + 1;
            debt += e.debt_delta;
            stored += e.stored_delta;
            held += e.held_delta;
            if e.debt_after != debt || e.stored_after != stored {
                problems.push(format!("entry {seq}: running balances do not match the deltas before it"));
            }
            // Double entry: debits equal credits, and the receivable and
            // customer-credit books move exactly as the cached figures do.
            let (mut debits, mut credits) = (Decimal::ZERO, Decimal::ZERO);
            let (mut receivable, mut customer_credit) = (Decimal::ZERO, Decimal::ZERO);
            for p in &e.postings {
                if p.debit < Decimal::ZERO || p.credit < Decimal::ZERO {
                    problems.push(format!("entry {seq}: negative posting"));
                }
                debits += p.debit;
                credits += p.credit;
                match p.book {
                    Book::Receivable => receivable += p.debit - p.credit,
                    Book::CustomerCredit => customer_credit += p.credit - p.debit,
                    _ => {}
                }
            }
            if debits != credits {
                problems.push(format!("entry {seq}: debits {debits} != credits {credits}"));
            }
            if receivable != e.debt_delta || customer_credit != e.stored_delta {
                problems.push(format!("entry {seq}: postings do not match its deltas"));
            }
            *debits_total += debits;
            *credits_total += credits;
            *entries_seen += 1;
        }
    }
    if expected_seq - 1 != account.entry_count {
        problems.push(format!("account says {} entries, ledger has {}", account.entry_count, expected_seq - 1));
    }
    for (field, cached, sum) in [
        ("posted_debt", account.posted_debt, debt),
        ("stored_balance", account.stored_balance, stored),
        ("held", account.held, held),
    ] {
        if cached != sum {
            problems.push(format!("{field} is {cached} but its entries add up to {sum}"));
        }
        if cached < Decimal::ZERO {
            problems.push(format!("{field} is negative: {cached}"));
        }
    }
    // The open list: one `ohold/` key per open hold, counted on the
    // account, none expiring before the account's `next_expiry_ms`.
    let open_list = backend.scan(merchant, &format!("ohold/{id}/"), None, 1000)?;
    if open_list.len() != account.open_hold_count as usize {
        problems.push(format!("account counts {} open holds, {} are listed", account.open_hold_count, open_list.len()));
    }
    let mut open_sum = Decimal::ZERO;
    for (key, bytes) in &open_list {
        let h: OpenHoldRef = decode(bytes).with_context(|| key.clone())?;
        if key != &format!("ohold/{id}/{:020}/{}", h.expires_at_ms, h.hold_id) {
            problems.push(format!("open hold {} is listed under {key}", h.hold_id));
        }
        if account.next_expiry_ms.is_none_or(|e| h.expires_at_ms < e) {
            problems.push(format!("open hold {} expires before the account's next expiry", h.hold_id));
        }
        open_sum += h.amount;
        match backend.get(merchant, &format!("hold/{}", h.hold_id))? {
            None => problems.push(format!("open hold {} has no hold record", h.hold_id)),
            Some(bytes) => {
                let hold: Hold = decode(&bytes)?;
                if hold.state != HoldState::Open || hold.reserved != h.amount {
                    problems.push(format!("open hold {} disagrees with its hold record", h.hold_id));
                }
            }
        }
    }
    if open_sum != held {
        problems.push(format!("open holds add up to {open_sum} but held is {held}"));
    }
    // Open-item accounting: posted debt is what the open items still owe;
    // each open item is listed once, where its earliest unpaid portion
    // puts it; the ladders hold exactly the items' unpaid portions.
    let mut items_sum = Decimal::ZERO;
    let mut items_seen = 0u64;
    let mut ladders: BTreeMap<(&'static str, String), Decimal> = BTreeMap::new();
    let prefix = format!("open/{id}/");
    let mut after: Option<String> = None;
    loop {
        let page = backend.scan(merchant, &prefix, after.as_deref(), PAGE)?;
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        for (key, bytes) in page {
            let item: OpenItemRef = decode(&bytes).with_context(|| key.clone())?;
            items_seen += 1;
            items_sum += item.outstanding;
            let due = rules::effective_due(&item.schedule, item.total, item.outstanding);
            let expected_key = due.map(|d| format!("open/{id}/{}/{:020}", dates::format(d), item.seq));
            if expected_key.as_deref() != Some(key.as_str()) {
                problems.push(format!("open item {} is listed under {key}", item.id));
            }
            if item.outstanding <= Decimal::ZERO {
                problems.push(format!("open item {} owes nothing but is listed as open", item.id));
            }
            let ladder = if item.kind == ItemKind::Invoice { "i" } else { "o" };
            for (date, unpaid) in rules::unpaid_portions(&item.schedule, item.total, item.outstanding) {
                *ladders.entry((ladder, date.to_owned())).or_default() += unpaid;
            }
            match backend.get(merchant, &format!("invoice/{}", item.id))? {
                None => problems.push(format!("open item {} has no record", item.id)),
                Some(bytes) => {
                    let inv: Invoice = decode(&bytes)?;
                    if inv.outstanding != item.outstanding || inv.total != item.total || inv.kind != item.kind || inv.account_id != *id {
                        problems.push(format!("open item {} disagrees with its record", item.id));
                    }
                }
            }
        }
    }
    if items_sum != debt {
        problems.push(format!("open items add up to {items_sum} but the entries give posted debt {debt}"));
    }
    if items_seen != account.open_item_count {
        problems.push(format!("account counts {} open items, {items_seen} are listed", account.open_item_count));
    }
    let mut stored_ladders: BTreeMap<(&'static str, String), Decimal> = BTreeMap::new();
    for ladder in ["i", "o"] {
        let prefix = format!("owed/{id}/{ladder}/");
        let mut after: Option<String> = None;
        loop {
            let page = backend.scan(merchant, &prefix, after.as_deref(), PAGE)?;
            let Some((last, _)) = page.last() else { break };
            after = Some(last.clone());
            for (key, bytes) in page {
                let LadderRow(amount) = decode(&bytes).with_context(|| key.clone())?;
                stored_ladders.insert((ladder, key[prefix.len()..].to_owned()), amount);
            }
        }
    }
    if stored_ladders != ladders {
        let differ = ladders
            .keys()
            .chain(stored_ladders.keys())
            .find(|k| ladders.get(*k) != stored_ladders.get(*k))
            .map(|(l, d)| format!("owed/{id}/{l}/{d}: stored {:?}, items owe {:?}", stored_ladders.get(&(*l, d.clone())), ladders.get(&(*l, d.clone()))))
            .unwrap_or_default();
        problems.push(format!("the owed-by-due-date rows disagree with the open items ({differ})"));
    }
    Ok(problems)
}

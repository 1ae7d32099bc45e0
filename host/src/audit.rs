//! An independent check of stored data: recomputes every account's cached
//! figures from its ledger entries, straight from storage, without the
//! component. It reads the stored records as plain JSON (layout in the
//! README, "Storage layout"), so a bug in the engine's arithmetic cannot
//! hide itself here.

use anyhow::{Context, Result, anyhow};
use rust_decimal::Decimal;
use serde_json::Value;

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

fn dec(v: &Value, field: &str) -> Result<Decimal> {
    let s = v.get(field).and_then(Value::as_str).ok_or_else(|| anyhow!("missing decimal field {field}"))?;
    Decimal::from_str_exact(s).with_context(|| format!("field {field} = {s:?}"))
}

fn u64_of(v: &Value, field: &str) -> Result<u64> {
    v.get(field).and_then(Value::as_u64).ok_or_else(|| anyhow!("missing integer field {field}"))
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
                let account: Value = serde_json::from_slice(&bytes).with_context(|| format!("{merchant}/{key}"))?;
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
    account: &Value,
    entries_seen: &mut u64,
    debits_total: &mut Decimal,
    credits_total: &mut Decimal,
) -> Result<Vec<String>> {
    let id = account.get("id").and_then(Value::as_str).context("missing id")?;
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
            let e: Value = serde_json::from_slice(&bytes).with_context(|| key.clone())?;
            let seq = u64_of(&e, "seq")?;
            if seq != expected_seq {
                problems.push(format!("entry {seq} found where {expected_seq} was expected"));
            }
            expected_seq = seq + 1;
            debt += dec(&e, "debt_delta")?;
            stored += dec(&e, "stored_delta")?;
            held += dec(&e, "held_delta")?;
            if dec(&e, "debt_after")? != debt || dec(&e, "stored_after")? != stored {
                problems.push(format!("entry {seq}: running balances do not match the deltas before it"));
            }
            // Double entry: debits equal credits, and the receivable and
            // customer-credit books move exactly as the cached figures do.
            let (mut debits, mut credits) = (Decimal::ZERO, Decimal::ZERO);
            let (mut receivable, mut customer_credit) = (Decimal::ZERO, Decimal::ZERO);
            for p in e.get("postings").and_then(Value::as_array).context("missing postings")? {
                let (dr, cr) = (dec(p, "debit")?, dec(p, "credit")?);
                if dr < Decimal::ZERO || cr < Decimal::ZERO {
                    problems.push(format!("entry {seq}: negative posting"));
                }
                debits += dr;
                credits += cr;
                match p.get("book").and_then(Value::as_str) {
                    Some("Receivable") => receivable += dr - cr,
                    Some("CustomerCredit") => customer_credit += cr - dr,
                    _ => {}
                }
            }
            if debits != credits {
                problems.push(format!("entry {seq}: debits {debits} != credits {credits}"));
            }
            if receivable != dec(&e, "debt_delta")? || customer_credit != dec(&e, "stored_delta")? {
                problems.push(format!("entry {seq}: postings do not match its deltas"));
            }
            *debits_total += debits;
            *credits_total += credits;
            *entries_seen += 1;
        }
    }
    let entry_count = u64_of(account, "entry_count")?;
    if expected_seq - 1 != entry_count {
        problems.push(format!("account says {entry_count} entries, ledger has {}", expected_seq - 1));
    }
    for (field, sum) in [("posted_debt", debt), ("stored_balance", stored), ("held", held)] {
        let cached = dec(account, field)?;
        if cached != sum {
            problems.push(format!("{field} is {cached} but its entries add up to {sum}"));
        }
        if cached < Decimal::ZERO {
            problems.push(format!("{field} is negative: {cached}"));
        }
    }
    let mut open_sum = Decimal::ZERO;
    for h in account.get("open_holds").and_then(Value::as_array).context("missing open_holds")? {
        let hold_id = h.get("hold_id").and_then(Value::as_str).context("open hold without id")?;
        let amount = dec(h, "amount")?;
        open_sum += amount;
        match backend.get(merchant, &format!("hold/{hold_id}"))? {
            None => problems.push(format!("open hold {hold_id} has no hold record")),
            Some(bytes) => {
                let hold: Value = serde_json::from_slice(&bytes)?;
                if hold.get("state").and_then(Value::as_str) != Some("Open") || dec(&hold, "amount")? != amount {
                    problems.push(format!("open hold {hold_id} disagrees with its hold record"));
                }
            }
        }
    }
    if open_sum != held {
        problems.push(format!("open holds add up to {open_sum} but held is {held}"));
    }
    // Open-item accounting: posted debt is what the open items still owe.
    let mut items_sum = Decimal::ZERO;
    for item in account.get("open_items").and_then(Value::as_array).context("missing open_items")? {
        let id = item.get("id").and_then(Value::as_str).context("open item without id")?;
        let outstanding = dec(item, "outstanding")?;
        items_sum += outstanding;
        if outstanding <= Decimal::ZERO {
            problems.push(format!("open item {id} owes nothing but is listed as open"));
        }
        match backend.get(merchant, &format!("invoice/{id}"))? {
            None => problems.push(format!("open item {id} has no record")),
            Some(bytes) => {
                let inv: Value = serde_json::from_slice(&bytes)?;
                if dec(&inv, "outstanding")? != outstanding {
                    problems.push(format!("open item {id} disagrees with its record"));
                }
            }
        }
    }
    if items_sum != debt {
        problems.push(format!("open items add up to {items_sum} but the entries give posted debt {debt}"));
    }
    Ok(problems)
}

//! An independent check of stored data, as `credit-host verify` runs it:
//!
//! 1. the storage's own integrity check (SQLite's `PRAGMA integrity_check`);
//! 2. every account's cached figures recomputed from its ledger entries,
//!    its open holds, open items and owed-by-due-date rows against their
//!    records;
//! 3. every other record decoded with the type its key says, and its key
//!    checked against what it holds and against the account it belongs to;
//! 4. every account's ledger hash chain recomputed (`credit_guest::chain`):
//!    the first entry changed, inserted or removed behind the component's
//!    back is named.
//!
//! It reads one consistent snapshot (`Backend::begin_read`), so a server
//! writing the same database goes on meanwhile, and writes nothing. It
//! decodes records with the engine's record types (layout in the README,
//! "Storage layout") but does all the arithmetic itself, so a bug in the
//! engine's sums cannot hide itself here. A record that cannot be read is
//! a discrepancy naming its key, never a reason to stop.

use std::collections::{BTreeMap, HashSet};

use anyhow::{Context, Result};
use credit_guest::codec::decode;
use credit_guest::engine::{Ix, index_key, utilisation_pct};
use credit_guest::model::{
    Account, AccountCfg, Allocation, BankRecord, Book, Company, CreditNoteRecord, DayCloseState, Delivery, Entry, Hold, HoldState, IdemRecord, IndexState, Invoice, ItemKind, LimitChange,
    Note, OpenHoldRef, OpenItemRef, Order, Payment, Profile, Reminder, StatementHeader, StatementView,
};
use credit_guest::money::Currency;
use credit_guest::{dates, rules};
use rust_decimal::Decimal;

use crate::store::Backend;

/// An `owed/<account>/<ladder>/<date>` row: a bare decimal.
#[derive(serde::Deserialize)]
struct LadderRow(#[serde(with = "credit_guest::codec::dec")] Decimal);

/// One thing that does not add up or cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discrepancy {
    /// The merchant (empty for the storage as a whole).
    pub merchant: String,
    /// The account, or the key of the record, it concerns.
    pub at: String,
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
    /// Records read and decoded, of every kind.
    pub records: u64,
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

    fn found(&mut self, merchant: &str, at: &str, what: String) {
        self.discrepancies.push(Discrepancy { merchant: merchant.to_owned(), at: at.to_owned(), what });
    }
}

const PAGE: u32 = 500;

/// Checks everything in `backend`. Runs in its own read-only unit of work
/// (a snapshot) and writes nothing.
pub fn audit(backend: &mut dyn Backend) -> Result<AuditReport> {
    audit_with_progress(backend, &mut |_| {})
}

/// `audit`, calling `progress` with the number of records read so far
/// (at most once per page).
pub fn audit_with_progress(backend: &mut dyn Backend, progress: &mut dyn FnMut(u64)) -> Result<AuditReport> {
    backend.begin_read()?;
    let result = audit_inner(backend, progress);
    backend.rollback()?;
    result
}

fn audit_inner(backend: &mut dyn Backend, progress: &mut dyn FnMut(u64)) -> Result<AuditReport> {
    let mut report = AuditReport::default();
    for problem in backend.integrity_check()? {
        report.found("", "storage", problem);
    }
    for merchant in backend.merchants()? {
        report.merchants += 1;
        let mut accounts = HashSet::new();
        let mut after: Option<String> = None;
        loop {
            let page = backend.scan(&merchant, "acct/", after.as_deref(), PAGE)?;
            let Some((last, _)) = page.last() else { break };
            after = Some(last.clone());
            for (key, bytes) in page {
                report.accounts += 1;
                report.records += 1;
                let id = &key["acct/".len()..];
                let account: Account = match decode(&bytes) {
                    Ok(a) => a,
                    Err(e) => {
                        report.found(&merchant, &key, format!("cannot be read as an account: {e}"));
                        continue;
                    }
                };
                if account.id != id {
                    report.found(&merchant, &key, format!("holds account {:?}", account.id));
                    continue;
                }
                accounts.insert(id.to_owned());
                let problems = check_account(backend, &merchant, &account, &mut report).unwrap_or_else(|e| vec![format!("unreadable: {e:#}")]);
                for what in problems {
                    report.found(&merchant, id, what);
                }
            }
            progress(report.records);
        }
        check_records(backend, &merchant, &accounts, &mut report, progress)?;
    }
    Ok(report)
}

/// Every record but the accounts: decoded as its key says, its key checked
/// against what it holds, and its account known.
fn check_records(
    backend: &mut dyn Backend,
    merchant: &str,
    accounts: &HashSet<String>,
    report: &mut AuditReport,
    progress: &mut dyn FnMut(u64),
) -> Result<()> {
    let mut after: Option<String> = None;
    loop {
        let page = backend.scan(merchant, "", after.as_deref(), PAGE)?;
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        for (key, bytes) in page {
            if key.starts_with("acct/") {
                continue;
            }
            report.records += 1;
            let checked = if key.starts_with("dx/") {
                check_index_row(backend, merchant, &key)?
            } else if key.starts_with("company/") {
                check_company(backend, merchant, &key, &bytes)?
            } else {
                check_record(&key, &bytes, accounts)
            };
            if let Err(what) = checked {
                report.found(merchant, &key, what);
            }
        }
        progress(report.records);
    }
    Ok(())
}

/// What an account is listed under, from its record: its figures and the
/// oldest due date it keeps.
fn listed(a: &Account) -> IndexState {
    IndexState {
        balance: a.posted_debt - a.stored_balance,
        overdue: a.overdue_close,
        stored: a.stored_balance,
        utilisation_pct: utilisation_pct(a.posted_debt + a.held, a.credit_limit),
        oldest_due: a.oldest_due.clone(),
        status: a.status,
    }
}

/// A debtor-index row must be where its account's values put it: a row
/// anywhere else is stale.
fn check_index_row(backend: &mut dyn Backend, merchant: &str, key: &str) -> Result<std::result::Result<(), String>> {
    let Some(which) = Ix::ALL.into_iter().find(|w| key.starts_with(w.prefix())) else {
        return Ok(Err("not a debtor index this component keeps".to_owned()));
    };
    let account_id = key.rsplit('/').next().unwrap_or_default();
    let Some(bytes) = backend.get(merchant, &format!("acct/{account_id}"))? else {
        return Ok(Err(format!("belongs to account {account_id:?}, which does not exist")));
    };
    let Ok(account) = decode::<Account>(&bytes) else { return Ok(Err(format!("its account {account_id:?} cannot be read"))) };
    let (true, Ok(currency)) = (account.indexed, Currency::from_code(&account.currency)) else {
        return Ok(Err(format!("its account {account_id:?} is not indexed")));
    };
    if index_key(which, account_id, currency, &listed(&account)) == key {
        Ok(Ok(()))
    } else {
        Ok(Err(format!("stale: account {account_id:?} is indexed elsewhere")))
    }
}

/// A company's figures are the sums of its buyers', and each buyer names it.
fn check_company(backend: &mut dyn Backend, merchant: &str, key: &str, bytes: &[u8]) -> Result<std::result::Result<(), String>> {
    let Ok(company) = decode::<Company>(bytes) else { return Ok(Err("cannot be read as a company".to_owned())) };
    if key != format!("company/{}", company.id) {
        return Ok(Err(format!("holds company {:?}", company.id)));
    }
    let (mut debt, mut stored, mut held, mut overdue) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, 0u32);
    for buyer in &company.buyers {
        let Some(bytes) = backend.get(merchant, &format!("acct/{buyer}"))? else {
            return Ok(Err(format!("lists buyer {buyer:?}, which does not exist")));
        };
        let Ok(a) = decode::<Account>(&bytes) else { return Ok(Err(format!("its buyer {buyer:?} cannot be read"))) };
        if a.company_id.as_deref() != Some(company.id.as_str()) || a.currency != company.currency {
            return Ok(Err(format!("lists buyer {buyer:?}, which buys on {:?} in {}", a.company_id, a.currency)));
        }
        debt += a.posted_debt;
        stored += a.stored_balance;
        held += a.held;
        overdue += u32::from(a.held_for_overdue);
    }
    let want = (debt, stored, held, overdue);
    let have = (company.posted_debt, company.stored_balance, company.held, company.buyers_held_for_overdue);
    if want != have {
        return Ok(Err(format!("keeps (debt, stored, held, buyers on hold) {have:?}, its buyers add up to {want:?}")));
    }
    Ok(Ok(()))
}

/// `Err(what is wrong)` for one record.
fn check_record(key: &str, bytes: &[u8], accounts: &HashSet<String>) -> std::result::Result<(), String> {
    let (kind, rest) = key.split_once('/').ok_or_else(|| "not a key this component writes".to_owned())?;
    let parts: Vec<&str> = rest.split('/').collect();
    fn read<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> std::result::Result<T, String> {
        decode(bytes).map_err(|e| format!("cannot be read as {what}: {e}"))
    }
    let owner = |account: &str| -> std::result::Result<(), String> {
        if accounts.contains(account) { Ok(()) } else { Err(format!("belongs to account {account:?}, which does not exist")) }
    };
    let number = |text: &str| -> std::result::Result<u64, String> {
        if text.len() == 20 && text.bytes().all(|b| b.is_ascii_digit()) {
            text.parse().map_err(|_| format!("{text:?} is not a position"))
        } else {
            Err(format!("{text:?} is not a 20-digit position"))
        }
    };
    let day = |text: &str| -> std::result::Result<(), String> {
        dates::parse(text, credit_guest::error::Field::Date).map(|_| ()).map_err(|_| format!("{text:?} is not a date"))
    };
    match (kind, parts.as_slice()) {
        ("cust", [_, _]) => {
            let account: String = read(bytes, "an account id")?;
            owner(&account)
        }
        ("entry", [account, seq]) => {
            let e: Entry = read(bytes, "a ledger entry")?;
            if e.seq != number(seq)? {
                return Err(format!("holds entry {}", e.seq));
            }
            owner(account)
        }
        ("limit", [account, seq]) => {
            let l: LimitChange = read(bytes, "a credit-limit change")?;
            if l.seq != number(seq)? {
                return Err(format!("holds change {}", l.seq));
            }
            owner(account)
        }
        ("ohold", [account, expiry, hold]) => {
            let h: OpenHoldRef = read(bytes, "an open hold")?;
            if h.hold_id != *hold || h.expires_at_ms.max(0) as u64 != number(expiry)? {
                return Err(format!("lists hold {} expiring at {}", h.hold_id, h.expires_at_ms));
            }
            owner(account)
        }
        ("hold", [hold]) => {
            let h: Hold = read(bytes, "a hold")?;
            if h.id != *hold {
                return Err(format!("holds hold {:?}", h.id));
            }
            if h.reserved > h.amount || h.reserved < Decimal::ZERO {
                return Err(format!("reserves {} of {}", h.reserved, h.amount));
            }
            owner(&h.account_id)
        }
        ("order", [_]) => {
            let o: Order = read(bytes, "an order")?;
            owner(&o.account_id)
        }
        ("open", [account, list, due, seq]) if matches!(*list, "i" | "o") => {
            let _: OpenItemRef = read(bytes, "an open item")?;
            day(due)?;
            number(seq)?;
            owner(account)
        }
        ("owed", [account, ladder, date]) if matches!(*ladder, "i" | "o" | "d") => {
            let _: LadderRow = read(bytes, "an amount owed")?;
            day(date)?;
            owner(account)
        }
        ("invoice", [id]) => {
            let inv: Invoice = read(bytes, "an invoice")?;
            if inv.id != *id {
                return Err(format!("holds item {:?}", inv.id));
            }
            owner(&inv.account_id)
        }
        ("lines", [_]) => read::<Vec<credit_guest::model::Line>>(bytes, "invoice lines").map(|_| ()),
        ("alloc", [_, n]) => {
            let _: Allocation = read(bytes, "an allocation")?;
            number(n).map(|_| ())
        }
        ("acctinv" | "acctpay", [account, seq]) => {
            let _: String = read(bytes, "a document id")?;
            number(seq)?;
            owner(account)
        }
        ("payment", [id]) => {
            let p: Payment = read(bytes, "a payment")?;
            if p.id != *id {
                return Err(format!("holds payment {:?}", p.id));
            }
            owner(&p.account_id)
        }
        ("cnote", [id]) => {
            let n: CreditNoteRecord = read(bytes, "a credit note")?;
            if n.to_debt + n.to_stored != n.amount || !id.starts_with(&format!("CN-{}-", n.account_id)) {
                return Err(format!("holds a credit note of {} on {:?} that does not add up", n.amount, n.account_id));
            }
            owner(&n.account_id)
        }
        ("notice", [account, seq]) => {
            let r: Reminder = read(bytes, "a reminder")?;
            if r.seq != number(seq)? || r.account_id != *account {
                return Err(format!("holds reminder {} of {:?}", r.seq, r.account_id));
            }
            owner(account)
        }
        ("close", [account, date]) => {
            let c: DayCloseState = read(bytes, "a day-close")?;
            day(date)?;
            if c.report.account_id != *account || c.report.date != *date {
                return Err(format!("holds the close of {:?} on {}", c.report.account_id, c.report.date));
            }
            owner(account)
        }
        ("acfg", [account]) => {
            let _: AccountCfg = read(bytes, "account settings")?;
            owner(account)
        }
        ("ddisc", [account, rest @ ..]) if rest.len() <= 1 => {
            let o: credit_guest::model::DynamicOffer = read(bytes, "a dynamic discount")?;
            if o.account_id != *account || o.invoice_id.as_deref() != rest.first().copied() {
                return Err(format!("holds the dynamic discount of {:?} {:?}", o.account_id, o.invoice_id));
            }
            if o.floor > o.cap || o.cap <= rust_decimal::Decimal::ZERO || o.annual_rate < rust_decimal::Decimal::ZERO {
                return Err(format!("holds a dynamic discount out of range ({}% a year, floor {}%, cap {}%)", o.annual_rate, o.floor, o.cap));
            }
            owner(account)
        }
        ("prof", [account]) => {
            let _: Profile = read(bytes, "a payment profile")?;
            owner(account)
        }
        ("note", [account, seq]) => {
            let n: Note = read(bytes, "a note")?;
            if n.seq != number(seq)? {
                return Err(format!("holds note {}", n.seq));
            }
            owner(account)
        }
        ("dlv", [account, seq]) => {
            let d: Delivery = read(bytes, "a delivery")?;
            if d.seq != number(seq)? {
                return Err(format!("holds delivery {}", d.seq));
            }
            owner(account)
        }
        ("stmt", [account, seq]) => {
            let (h, v): (StatementHeader, StatementView) = read(bytes, "a statement")?;
            if h.seq != number(seq)? || h.account_id != *account || v.account_id != *account {
                return Err(format!("holds statement {} of {:?}", h.seq, h.account_id));
            }
            owner(account)
        }
        ("idem", _) => read::<IdemRecord>(bytes, "an idempotency record").map(|_| ()),
        ("bank", _) => {
            let r: BankRecord = read(bytes, "a bank line")?;
            if r.line.entry_ref != rest {
                return Err(format!("holds bank line {:?}", r.line.entry_ref));
            }
            Ok(())
        }
        ("bankrev", _) => read::<()>(bytes, "a review mark"),
        ("opening", ["invoice", number]) => {
            let r: credit_guest::model::OpeningInvoice = read(bytes, "an invoice brought in")?;
            if r.number != *number {
                return Err(format!("holds invoice {:?} brought in", r.number));
            }
            owner(&r.account_id)
        }
        ("opening", ["balance", account]) => {
            let r: credit_guest::model::OpeningStoredBalance = read(bytes, "a stored balance brought in")?;
            if r.account_id != *account {
                return Err(format!("holds the stored balance brought in for {:?}", r.account_id));
            }
            owner(account)
        }
        ("payer", [_, _, ..]) => {
            let account: String = read(bytes, "an account id")?;
            owner(&account)
        }
        ("seq", [_]) => read::<u64>(bytes, "a counter").map(|_| ()),
        _ => Err("not a key this component writes".to_owned()),
    }
}

fn check_account(backend: &mut dyn Backend, merchant: &str, account: &Account, report: &mut AuditReport) -> Result<Vec<String>> {
    let id = &account.id;
    let mut problems = Vec::new();
    let (mut debt, mut stored, mut held) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    let mut expected_seq = 1u64;
    // The hash chain (`credit_guest::chain`): the first break is named,
    // the rest of the account's chain is not judged by it.
    let mut prev = credit_guest::chain::genesis(id);
    let mut chain_break: Option<String> = None;
    let prefix = format!("entry/{id}/");
    let mut after: Option<String> = None;
    loop {
        let page = backend.scan(merchant, &prefix, after.as_deref(), PAGE)?;
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        for (key, bytes) in page {
            let e: Entry = decode(&bytes).with_context(|| key.clone())?;
            let seq = e.seq;
            if chain_break.is_none() {
                let contents = credit_guest::chain::contents(&e).with_context(|| key.clone())?;
                chain_break = if seq > expected_seq {
                    Some(format!("ledger chain broken: entry {expected_seq} was removed (entry {seq} follows entry {})", expected_seq - 1))
                } else if seq < expected_seq {
                    Some(format!("ledger chain broken: entry {seq} was inserted (found after entry {})", expected_seq - 1))
                } else if credit_guest::chain::link(&prev, &contents) != e.hash {
                    Some(format!("ledger chain broken: entry {seq} was changed or inserted (its hash does not match its contents and entry {})", seq - 1))
                } else if seq > account.entry_count {
                    Some(format!("ledger chain broken: entry {seq} was inserted after the account's last entry {}", account.entry_count))
                } else {
                    None
                };
            }
            prev = e.hash;
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
            report.debits += debits;
            report.credits += credits;
            report.entries += 1;
        }
    }
    if chain_break.is_none() && prev != account.head_hash {
        chain_break = Some(format!(
            "ledger chain broken: the account's head is not the hash of its last entry {} (later entries were removed, or the head was changed)",
            expected_seq - 1
        ));
    }
    problems.extend(chain_break);
    if expected_seq - 1 != account.entry_count {
        problems.push(format!("account says {} entries, ledger has {}", account.entry_count, expected_seq - 1));
    }
    for (field, cached, sum) in
        [("posted_debt", account.posted_debt, debt), ("stored_balance", account.stored_balance, stored), ("held", account.held, held)]
    {
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
            let list = if item.kind == ItemKind::Invoice { "i" } else { "o" };
            let expected_key = due.map(|d| format!("open/{id}/{list}/{}/{:020}", dates::format(d), item.seq));
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
                    *ladders.entry(("d", inv.invoice_date.clone())).or_default() += inv.outstanding;
                }
            }
        }
    }
    if items_sum != debt {
        problems.push(format!("open items add up to {items_sum} but the entries give posted debt {debt}"));
    }
    let cfg: Option<AccountCfg> = match backend.get(merchant, &format!("acfg/{id}"))? {
        None => {
            problems.push("the account's settings (acfg) are missing".to_owned());
            None
        }
        Some(bytes) => Some(decode(&bytes).with_context(|| format!("acfg/{id}"))?),
    };
    if let Some(cfg) = &cfg
        && items_seen != cfg.open_item_count
    {
        problems.push(format!("account counts {} open items, {items_seen} are listed", cfg.open_item_count));
    }
    let mut stored_ladders: BTreeMap<(&'static str, String), Decimal> = BTreeMap::new();
    for ladder in ["i", "o", "d"] {
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
            .map(|(l, d)| {
                format!("owed/{id}/{l}/{d}: stored {:?}, items owe {:?}", stored_ladders.get(&(*l, d.clone())), ladders.get(&(*l, d.clone())))
            })
            .unwrap_or_default();
        problems.push(format!("the owed-by-date rows disagree with the open items ({differ})"));
    }
    // The debtor list: the values the account is indexed under follow
    // from its figures and items, and each index has its row.
    let due_ladder = |l: &'static str| stored_ladders.iter().filter(move |((ladder, _), _)| *ladder == l);
    let oldest_due = due_ladder("i").map(|((_, d), _)| d.clone()).next();
    let overdue = match &account.overdue_close_on {
        Some(close) => due_ladder("i").chain(due_ladder("o")).filter(|((_, d), _)| d < close).map(|(_, a)| *a).sum(),
        None => Decimal::ZERO,
    };
    if overdue != account.overdue_close {
        problems.push(format!("overdue as of the last close is {} but the items give {overdue}", account.overdue_close));
    }
    let expected = IndexState {
        balance: debt - stored,
        overdue,
        stored,
        utilisation_pct: utilisation_pct(debt + held, account.credit_limit),
        oldest_due,
        status: account.status,
    };
    let ix = listed(account);
    if !account.indexed {
        problems.push("the account is not in the debtor indexes".to_owned());
    } else if ix != expected {
        problems.push(format!("indexed as {ix:?} but its figures give {expected:?}"));
    } else {
        let currency = Currency::from_code(&account.currency).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        for which in Ix::ALL {
            let key = index_key(which, id, currency, &ix);
            if backend.get(merchant, &key)?.is_none() {
                problems.push(format!("debtor index row {key} is missing"));
            }
        }
    }
    Ok(problems)
}

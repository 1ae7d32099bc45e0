//! Bank statements in: the host reads the file formats (`camt`,
//! `columns`), the component matches each line (`bank.match-bank-line`).
//!
//! A file is read whole before anything is recorded: a file that cannot be
//! read is refused with its line and element or column named, and nothing
//! changes. Its lines then go to the component one call each, all in one
//! group of units of work made durable together.

pub mod camt;
pub mod columns;

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use rust_decimal::Decimal;

use crate::api::*;
use crate::{Ledger, MerchantId};

/// A line the file holds that is not a customer's money.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Where (`line 14`).
    pub at: String,
    /// Why it was left out.
    pub why: String,
}

/// What a statement file holds.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    /// The lines for the component, each with where it was read.
    pub lines: Vec<(String, BankLine)>,
    /// The lines left out.
    pub skipped: Vec<Skipped>,
}

/// Which format a statement file is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// ISO 20022 camt.053 (XML).
    Camt053,
    /// A CSV export, read through a column mapping.
    Csv,
}

impl Format {
    /// The format a file's name or first bytes suggest.
    pub fn guess(name: &str, text: &str) -> Format {
        if name.to_ascii_lowercase().ends_with(".xml") || text.trim_start().starts_with('<') { Format::Camt053 } else { Format::Csv }
    }
}

/// Where a file's lines start, to name the line of a byte offset in
/// O(log n) (counting from the start each time made a 4 MB statement take
/// 40 s to read).
pub(crate) struct LineIndex(Vec<usize>);

impl LineIndex {
    pub(crate) fn new(text: &str) -> LineIndex {
        LineIndex(text.bytes().enumerate().filter(|&(_, b)| b == b'\n').map(|(i, _)| i).collect())
    }
    /// The 1-based line of byte offset `at`.
    pub(crate) fn line(&self, at: usize) -> usize {
        self.0.partition_point(|&nl| nl < at) + 1
    }
}

/// Why an amount and currency as read cannot be a line's (the component
/// judges precision and size; this only keeps what is plainly not money
/// out of it, with the place in the file named).
pub(crate) fn check_amount(amount: &str, currency: &str) -> std::result::Result<(), String> {
    match amount.parse::<Decimal>() {
        Ok(d) if d > Decimal::ZERO => {}
        Ok(_) => return Err(format!("{amount:?} is not above zero")),
        Err(_) => return Err(format!("{amount:?} is not an amount")),
    }
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!("currency {currency:?} is not an ISO 4217 code"));
    }
    Ok(())
}

/// What importing a statement did, for the summary table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Lines handed to the component.
    pub lines: u64,
    /// Lines left out by the reader (money paid out, not booked).
    pub skipped: u64,
    /// Recorded as payments, per rule: count and amount per currency.
    pub recorded: BTreeMap<(String, String), (u64, Decimal)>,
    /// Returns that reversed a payment: count and amount per currency.
    pub reversed: BTreeMap<String, (u64, Decimal)>,
    /// Put in review, per reason: count and amount per currency.
    pub review: BTreeMap<(String, String), (u64, Decimal)>,
    /// Lines settled by an earlier import (nothing changed).
    pub repeated: u64,
    /// Lines the component refused, with where and why (nothing recorded
    /// for them).
    pub refused: Vec<(String, String, String)>,
}

/// The words for a rule.
pub fn rule_name(r: MatchRule) -> &'static str {
    match r {
        MatchRule::InvoiceNumber => "invoice number",
        MatchRule::CreditorReference => "creditor reference (RF)",
        MatchRule::CustomerAndAmount => "customer and amount",
        MatchRule::PayerAndAmount => "known payer and amount",
        MatchRule::OriginalCredit => "return of a credit",
        MatchRule::Person => "by a person",
    }
}

/// The words for a review reason.
pub fn reason_name(r: ReviewReason) -> &'static str {
    match r {
        ReviewReason::UnknownPayer => "unknown payer",
        ReviewReason::AmbiguousAmount => "ambiguous amount",
        ReviewReason::AmountMatchesNothing => "amount matches no open items",
        ReviewReason::InvoiceSettled => "invoice already settled",
        ReviewReason::SeveralAccounts => "invoices of several accounts",
        ReviewReason::AccountRefuses => "account closed or in another currency",
        ReviewReason::OriginalCreditUnknown => "return of an unknown credit",
    }
}

fn bump<K: Ord>(map: &mut BTreeMap<K, (u64, Decimal)>, key: K, amount: &str) {
    let e = map.entry(key).or_insert((0, Decimal::ZERO));
    e.0 += 1;
    e.1 += amount.parse::<Decimal>().unwrap_or_default();
}

/// The idempotency key of a line's call: each import run's keys are its
/// own (`run`: a random id), so a second import of a file reaches the
/// component, which answers `repeated` by the line's `entry-ref`; a retry
/// of a run with its own id gets that run's answers.
pub fn line_key(run: &str, entry_ref: &str) -> String {
    // The component checks the reference itself (printable, no spaces, at
    // most 64 bytes); one it would refuse is hashed here, so the refusal
    // names `entry-ref`, not the key.
    let safe = entry_ref.len() <= 64 && entry_ref.bytes().all(|b| b.is_ascii_graphic());
    format!("bank-{run}-{}", crate::import::key_part(entry_ref, safe))
}

/// A new run id: 16 random hex digits.
pub fn run_id() -> Result<String> {
    Ok(crate::http::secrets::hex(&crate::http::secrets::random::<8>()?))
}

/// Hands every line to the component, in the file's order, in one group
/// of units of work (durable together at the end). A line the component
/// refuses (a malformed amount, a day in the future) is counted with its
/// place and reason, and changes nothing.
pub fn import(ledger: &mut Ledger, merchant: &MerchantId, parsed: &Parsed, run: &str, now_ms: i64, mut progress: impl FnMut()) -> Result<ImportSummary> {
    let mut s = ImportSummary { skipped: parsed.skipped.len() as u64, ..ImportSummary::default() };
    ledger.backend().begin_group()?;
    for (at, line) in &parsed.lines {
        s.lines += 1;
        let ctx = CallContext { idempotency_key: line_key(run, &line.entry_ref), now_ms };
        match ledger.match_bank_line(merchant, &ctx, line, None)? {
            Ok(r) => count(&mut s, line, &r),
            Err(e) => s.refused.push((at.clone(), line.entry_ref.clone(), crate::render::refusal(&e))),
        }
        progress();
    }
    ledger.backend().commit_group()?;
    Ok(s)
}

/// Counts one answer in the summary.
pub fn count(s: &mut ImportSummary, line: &BankLine, r: &BankLineResult) {
    let c = line.amount.currency.clone();
    if r.repeated {
        s.repeated += 1;
        return;
    }
    match (&r.outcome, r.rule) {
        (BankOutcome::Recorded(_), Some(rule)) => bump(&mut s.recorded, (rule_name(rule).to_owned(), c), &line.amount.amount),
        (BankOutcome::Reversed(_), _) => bump(&mut s.reversed, c, &line.amount.amount),
        (BankOutcome::Review(item), _) => bump(&mut s.review, (reason_name(item.reason).to_owned(), c), &line.amount.amount),
        _ => {}
    }
}

/// The lines waiting for a person, in `entry-ref` order: every one, or
/// the first `max` and one more (so a caller can tell there are more).
pub fn review_all(ledger: &mut Ledger, merchant: &MerchantId, max: Option<usize>) -> Result<Vec<BankReviewItem>> {
    let mut out: Vec<BankReviewItem> = Vec::new();
    loop {
        let after = out.last().map(|i| i.line.entry_ref.clone());
        let page = ledger.bank_review(merchant, after.as_deref(), 100)?.map_err(|e| anyhow::anyhow!("bank-review refused: {e:?}"))?;
        let done = page.len() < 100;
        out.extend(page);
        if done || max.is_some_and(|m| out.len() > m) {
            return Ok(out);
        }
    }
}

/// Reads a statement file of the given format.
pub fn read(text: &str, format: Format, layout: Option<&columns::Layout>) -> Result<Parsed> {
    match (format, layout) {
        (Format::Camt053, _) => camt::read(text),
        (Format::Csv, Some(l)) => columns::read(text, l),
        (Format::Csv, None) => bail!("a CSV statement needs a column layout"),
    }
}

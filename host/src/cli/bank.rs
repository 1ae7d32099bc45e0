//! `credit-host bank-import` and `credit-host bank-review`: a bank's
//! statement matched by the component, and the lines left for a person.

use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Table};
use indicatif::{ProgressBar, ProgressStyle};

use super::tables::money;
use crate::api::*;
use crate::bank::{self, Format, ImportSummary, columns::Layout};
use crate::{Component, MerchantId};

/// Arguments of `bank-import`.
#[derive(clap::Args)]
pub struct ImportArgs {
    /// The statement: camt.053 XML or a CSV export.
    file: std::path::PathBuf,
    /// The database: a SQLite file, or a `postgres://` URL.
    #[arg(long, env = "CREDIT_DB")]
    db: crate::Database,
    /// The merchant whose bank account it is.
    #[arg(long)]
    merchant: String,
    /// The file's format (by its name or first byte when not given).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// CSV: which column holds which field, `field=Header;...` (README,
    /// "Bank statements"); the field names themselves when not given.
    #[arg(long)]
    columns: Option<String>,
    /// CSV: the cell separator.
    #[arg(long, default_value = ",")]
    delimiter: char,
    /// CSV: how days are written (strftime).
    #[arg(long, default_value = "%Y-%m-%d")]
    date_format: String,
    /// CSV: amounts are written 1.234,56.
    #[arg(long)]
    decimal_comma: bool,
    /// CSV: the currency when no column gives it.
    #[arg(long)]
    currency: Option<String>,
    /// Read and check the file, print what it holds, record nothing.
    #[arg(long)]
    dry_run: bool,
    /// The time the calls carry, RFC 3339 (default: now).
    #[arg(long)]
    at: Option<String>,
}

fn now_ms(at: Option<&str>) -> Result<i64> {
    Ok(match at {
        Some(t) => chrono::DateTime::parse_from_rfc3339(t).context("--at must be RFC 3339")?.timestamp_millis(),
        None => chrono::Utc::now().timestamp_millis(),
    })
}

/// Reads the statement whole (refused with its line named, nothing
/// recorded, when it cannot be read), hands its lines to the component and
/// prints the summary. Exit status 1 when the component refused a line.
pub fn import(component: &Component, a: &ImportArgs) -> Result<ExitCode> {
    let merchant = MerchantId::new(a.merchant.clone())?;
    let now_ms = now_ms(a.at.as_deref())?;
    let text = std::fs::read_to_string(&a.file).with_context(|| format!("reading {}", a.file.display()))?;
    let format = a.format.unwrap_or_else(|| Format::guess(&a.file.to_string_lossy(), &text));
    let layout = match format {
        Format::Csv => {
            let delimiter = u8::try_from(a.delimiter).map_err(|_| anyhow!("--delimiter must be one ASCII character"))?;
            Some(Layout::new(a.columns.as_deref(), delimiter, &a.date_format, a.decimal_comma, a.currency.clone())?)
        }
        Format::Camt053 => None,
    };
    let parsed = bank::read(&text, format, layout.as_ref()).with_context(|| format!("{} was not imported; nothing was recorded", a.file.display()))?;
    if a.dry_run {
        println!("{}: {} lines for the component, {} left out; nothing recorded (--dry-run).", a.file.display(), parsed.lines.len(), parsed.skipped.len());
        for s in &parsed.skipped {
            println!("  {}: left out: {}", s.at, s.why);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut ledger = super::open_existing(component, &a.db)?;
    let bar = ProgressBar::new(parsed.lines.len() as u64);
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} lines").expect("a valid template"));
    let summary = bank::import(&mut ledger, &merchant, &parsed, &bank::run_id()?, now_ms, || bar.inc(1))?;
    bar.finish_and_clear();
    println!("{}", summary_table(&summary));
    for (at, entry, why) in &summary.refused {
        eprintln!("{at} ({entry}): refused by the component, nothing recorded: {why}");
    }
    let open = review_count(&mut ledger, &merchant)?;
    println!("{}: {} lines; {open} waiting for a person (credit-host bank-review).", a.file.display(), summary.lines);
    Ok(if summary.refused.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The summary: lines read, recorded per rule, returns, review per reason.
pub fn summary_table(s: &ImportSummary) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_header(["", "lines", "currency", "amount"]);
    let mut row = |what: String, n: u64, c: &str, amount: Option<rust_decimal::Decimal>| {
        t.add_row(vec![
            Cell::new(what),
            Cell::new(n).set_alignment(CellAlignment::Right),
            Cell::new(c),
            Cell::new(amount.map(|a| money(&a.to_string())).unwrap_or_default()).set_alignment(CellAlignment::Right),
        ]);
    };
    row("lines read".into(), s.lines + s.skipped, "", None);
    row("left out (money paid out, not booked)".into(), s.skipped, "", None);
    for ((rule, c), (n, amount)) in &s.recorded {
        row(format!("recorded: {rule}"), *n, c, Some(*amount));
    }
    for (c, (n, amount)) in &s.reversed {
        row("returned: payment reversed".into(), *n, c, Some(*amount));
    }
    for ((reason, c), (n, amount)) in &s.review {
        row(format!("to review: {reason}"), *n, c, Some(*amount));
    }
    row("already imported (nothing changed)".into(), s.repeated, "", None);
    row("refused by the component".into(), s.refused.len() as u64, "", None);
    t
}

fn review_count(ledger: &mut crate::Ledger, merchant: &MerchantId) -> Result<usize> {
    Ok(bank::review_all(ledger, merchant, None)?.len())
}

/// Arguments of `bank-review`.
#[derive(clap::Args)]
pub struct ReviewArgs {
    /// The database: a SQLite file, or a `postgres://` URL.
    #[arg(long, env = "CREDIT_DB")]
    db: crate::Database,
    /// The merchant.
    #[arg(long)]
    merchant: String,
    /// Settle this line (its entry reference) with one of --account,
    /// --payment or --dismiss; lists the lines in review when not given.
    #[arg(long)]
    settle: Option<String>,
    /// The line's money is this account's (a return: that account's latest
    /// payment of the amount is reversed).
    #[arg(long, requires = "settle")]
    account: Option<String>,
    /// The line is this payment, recorded by hand (a return: this payment
    /// is reversed).
    #[arg(long, requires = "settle")]
    payment: Option<String>,
    /// The line is not a customer's money; the reason.
    #[arg(long, requires = "settle")]
    dismiss: Option<String>,
    /// The time the call carries, RFC 3339 (default: now).
    #[arg(long)]
    at: Option<String>,
}

/// Lists the lines in review, or settles one of them.
pub fn review(component: &Component, a: &ReviewArgs) -> Result<ExitCode> {
    let merchant = MerchantId::new(a.merchant.clone())?;
    let mut ledger = super::open_existing(component, &a.db)?;
    let items = bank::review_all(&mut ledger, &merchant, None)?;
    let Some(entry_ref) = &a.settle else {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED).set_header(["entry", "booked", "amount", "payer", "remittance", "why", "candidates"]);
        for i in &items {
            let candidates: Vec<String> = i
                .candidates
                .iter()
                .map(|c| if c.invoice_ids.is_empty() { format!("{} on account", c.account_id) } else { format!("{}: {}", c.account_id, c.invoice_ids.join(" + ")) })
                .collect();
            let kind = if i.line.kind == BankEntryKind::Returned { " (return)" } else { "" };
            t.add_row(vec![
                Cell::new(&i.line.entry_ref),
                Cell::new(&i.line.booked_on),
                Cell::new(format!("{} {}{kind}", money(&i.line.amount.amount), i.line.amount.currency)).set_alignment(CellAlignment::Right),
                Cell::new(&i.line.payer_name),
                Cell::new(&i.line.remittance),
                Cell::new(format!("{}: {}", bank::reason_name(i.reason), i.detail)),
                Cell::new(candidates.join("\n")),
            ]);
        }
        println!("{t}");
        println!("{} lines waiting for a person.", items.len());
        return Ok(ExitCode::SUCCESS);
    };
    let item = items.iter().find(|i| &i.line.entry_ref == entry_ref).ok_or_else(|| anyhow!("no line {entry_ref:?} is waiting for a person"))?;
    let decision = match (&a.account, &a.payment, &a.dismiss) {
        (Some(acct), None, None) => BankDecision::Account(acct.clone()),
        (None, Some(p), None) => BankDecision::Payment(p.clone()),
        (None, None, Some(why)) => BankDecision::Dismiss(why.clone()),
        _ => anyhow::bail!("give exactly one of --account, --payment, --dismiss"),
    };
    let now_ms = now_ms(a.at.as_deref())?;
    let ctx = CallContext { idempotency_key: format!("{}-settled", bank::line_key(&bank::run_id()?, entry_ref)), now_ms };
    let r = super::reports::refused(ledger.match_bank_line(&merchant, &ctx, &item.line, Some(&decision))?)?;
    match &r.outcome {
        BankOutcome::Recorded(p) => println!("{entry_ref}: recorded as payment {} on {}", p.payment_id, p.account_id),
        BankOutcome::Reversed(p) => println!("{entry_ref}: payment {} of {} reversed", p.payment_id, p.account_id),
        BankOutcome::Dismissed(why) => println!("{entry_ref}: dismissed ({why})"),
        BankOutcome::Review(_) => println!("{entry_ref}: still waiting"),
    }
    Ok(ExitCode::SUCCESS)
}

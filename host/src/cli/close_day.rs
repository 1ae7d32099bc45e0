//! `credit-host close-day`: the day's close for every account of a merchant
//! (or of every merchant), each in as many calls as it takes, with a
//! progress bar and a summary.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::str::FromStr;

use anyhow::{Context, Result};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Table};
use indicatif::{ProgressBar, ProgressStyle};
use rust_decimal::Decimal;

use super::tables::money;
use crate::api::*;
use crate::deliver::Outbox;
use crate::{Component, Ledger, MerchantId};

/// Arguments of `close-day`.
#[derive(clap::Args)]
pub struct Args {
    /// The database: a SQLite file, or a `postgres://` URL.
    #[arg(long, env = "CREDIT_DB")]
    db: crate::Database,
    /// Only this merchant (every merchant in the file when not given).
    #[arg(long)]
    merchant: Option<String>,
    /// The day to close (YYYY-MM-DD).
    #[arg(long)]
    date: String,
    /// The time the calls carry, RFC 3339 (default: the end of that day).
    #[arg(long)]
    at: Option<String>,
    /// Mail for the reminders and monthly statements.
    #[command(flatten)]
    mail: super::MailArgs,
}

/// What the close of every account added up to.
#[derive(Default)]
pub struct Summary {
    accounts: u64,
    already_closed: u64,
    calls: u64,
    skipped_closed: u64,
    fees: u64,
    interest: u64,
    reminders: u64,
    statements: u64,
    put_on_hold: u64,
    released: u64,
    holds_expired: u64,
    /// Per currency: fees and interest charged.
    amounts: BTreeMap<String, (Decimal, Decimal)>,
    failures: Vec<(String, String, String)>,
}

/// Closes the day for every account; exit status 1 when an account could
/// not be closed (each is named; the others were closed all the same).
/// Running it again for the same day changes nothing: the component closes
/// an account's day once, whatever the key, and answers a later call with
/// `already-closed` (counted apart, its mail written again). Each run's
/// keys are its own, so a rerun after a failure or a crash continues an
/// unfinished day where it stopped.
pub fn run(component: &Component, a: &Args) -> Result<ExitCode> {
    let date = chrono::NaiveDate::parse_from_str(&a.date, "%Y-%m-%d").context("--date must be YYYY-MM-DD")?;
    let now_ms = match &a.at {
        Some(t) => chrono::DateTime::parse_from_rfc3339(t).context("--at must be RFC 3339")?.timestamp_millis(),
        None => date.and_hms_milli_opt(23, 59, 59, 999).expect("a valid time").and_utc().timestamp_millis(),
    };
    let outbox = a.mail.outbox()?;
    let mut ledger = super::open_existing(component, &a.db)?;
    let merchants = match &a.merchant {
        Some(m) => vec![MerchantId::new(m.clone())?],
        None => ledger.backend().merchants()?.into_iter().map(MerchantId::new).collect::<Result<Vec<_>>>()?,
    };
    let mut work = Vec::new();
    for m in &merchants {
        let mut after: Option<String> = None;
        loop {
            let ids = ledger.list_accounts(m, after.as_deref(), 100)?.map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let Some(last) = ids.last().cloned() else {
                break;
            };
            work.extend(ids.into_iter().map(|id| (m.clone(), id)));
            after = Some(last);
        }
    }
    let bar = ProgressBar::new(work.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("closing {msg} {bar:40} {pos}/{len} accounts ({eta} left)").unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(a.date.clone());
    let mut summary = Summary::default();
    // The run's own keys: the machine's clock and process, read here by
    // the host (the component is given `now_ms` and never reads one).
    let run = Run { id: format!("{}-{}", chrono::Utc::now().timestamp_millis(), std::process::id()), date: &a.date, now_ms, outbox: outbox.as_ref() };
    for (m, account) in &work {
        if let Err(e) = run.close(&mut ledger, m, account, &mut summary) {
            summary.failures.push((m.as_str().to_owned(), account.clone(), format!("{e:#}")));
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!("Day-close of {} for {} merchant(s)", a.date, merchants.len());
    println!("{}", table(&summary));
    for (m, account, why) in &summary.failures {
        println!("  not closed: {m}/{account}: {why}");
    }
    Ok(if summary.failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// One run of `close-day`.
struct Run<'a> {
    /// Part of every key the run makes.
    id: String,
    date: &'a str,
    now_ms: i64,
    outbox: Option<&'a Outbox>,
}

impl Run<'_> {
    /// Closes one account's day, in as many parts as it takes.
    fn close(&self, ledger: &mut Ledger, m: &MerchantId, account: &str, summary: &mut Summary) -> Result<()> {
        let (date, now_ms, outbox) = (self.date, self.now_ms, self.outbox);
        let mut part = 1u32;
        loop {
            let ctx = CallContext { idempotency_key: format!("close-day/{}/{date}/{account}/{part}", self.id), now_ms };
            let report = match ledger.day_close(m, &ctx, account, date)? {
                Ok(r) => r,
                Err(CreditError::AccountClosed) => {
                    summary.skipped_closed += 1;
                    return Ok(());
                }
                Err(e) => anyhow::bail!("{e:?}"),
            };
            summary.calls += 1;
            if report.already_closed {
                if let Some(outbox) = outbox {
                    outbox.day_close(ledger, m, &report).context("the day was closed before; its mail was not written again")?;
                }
                summary.already_closed += 1;
                return Ok(());
            }
            summary.fees += report.late_fees.len() as u64;
            summary.interest += report.interest.len() as u64;
            summary.reminders += report.reminders.len() as u64;
            summary.statements += u64::from(report.statement.is_some());
            summary.put_on_hold += u64::from(report.put_on_hold);
            summary.released += u64::from(report.released_from_hold);
            summary.holds_expired += u64::from(report.holds_expired);
            if !report.late_fees.is_empty() || !report.interest.is_empty() {
                let currency = ledger.get_account(m, account, now_ms)?.map_err(|e| anyhow::anyhow!("{e:?}"))?.currency;
                let sum = |c: &[Charge]| c.iter().map(|x| Decimal::from_str(&x.amount).unwrap_or_default()).sum::<Decimal>();
                let e = summary.amounts.entry(currency).or_default();
                e.0 += sum(&report.late_fees);
                e.1 += sum(&report.interest);
            }
            if let Some(outbox) = outbox {
                outbox.day_close(ledger, m, &report).context("the day is closed but its mail was not written")?;
            }
            if report.complete {
                summary.accounts += 1;
                return Ok(());
            }
            part += 1;
        }
    }
}

fn table(s: &Summary) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["", "count"]);
    let mut row = |label: String, n: String| {
        t.add_row(vec![Cell::new(label), Cell::new(n).set_alignment(CellAlignment::Right)]);
    };
    row("accounts closed".into(), s.accounts.to_string());
    row("already closed (nothing done)".into(), s.already_closed.to_string());
    row("calls (parts)".into(), s.calls.to_string());
    row("closed accounts skipped".into(), s.skipped_closed.to_string());
    row("late fees charged".into(), s.fees.to_string());
    row("interest charges".into(), s.interest.to_string());
    for (c, (fees, interest)) in &s.amounts {
        row(format!("  fees, {c}"), money(&fees.to_string()));
        row(format!("  interest, {c}"), money(&interest.to_string()));
    }
    row("reminders sent".into(), s.reminders.to_string());
    row("statements made".into(), s.statements.to_string());
    row("accounts put on hold".into(), s.put_on_hold.to_string());
    row("holds lifted".into(), s.released.to_string());
    row("expired holds released".into(), s.holds_expired.to_string());
    row("accounts not closed".into(), s.failures.len().to_string());
    t
}

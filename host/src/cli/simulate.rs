//! `credit-host simulate`: a seeded year (or more) of trade through the
//! component (`crate::sim`), with a progress bar, a summary table and the
//! documents the customers were sent.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Table};
use indicatif::{ProgressBar, ProgressStyle};
use rust_decimal::Decimal;

use super::tables::money;
use crate::deliver::Outbox;
use crate::directory::Directory;
use crate::sim::{Config, Simulation, Summary};
use crate::store::Backend;
use crate::{Component, Ledger, audit};

/// Arguments of `simulate`.
#[derive(clap::Args)]
pub struct Args {
    /// Trade customers (the first seven have one habit each: big account,
    /// prompt, slow, discounter, returner, bouncing payer, over 90 days).
    #[arg(long, default_value_t = 50)]
    customers: u32,
    /// Months of trade.
    #[arg(long, default_value_t = 12)]
    months: u32,
    /// The seed: the same seed gives the same database and documents.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The first day of trade (YYYY-MM-DD).
    #[arg(long, default_value = "2026-01-01")]
    start: NaiveDate,
    /// The SQLite file to create (replaced if it exists), or a
    /// `postgres://` URL of a database with no data for the simulated
    /// merchant.
    #[arg(long, default_value = "credit-sim.sqlite")]
    db: crate::Database,
    /// The folder for the invoices, reminders and statements sent
    /// (replaced if it exists).
    #[arg(long, default_value = "credit-sim")]
    out: PathBuf,
    /// Write no documents (faster).
    #[arg(long)]
    no_documents: bool,
    /// Inject storefront faults: retried calls, captures and voids out of
    /// order, captures of expired holds, a host restart every month.
    #[arg(long)]
    faults: bool,
}

fn remove_sqlite(path: &Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", path.display()));
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
        }
    }
    Ok(())
}


/// Runs the simulation and prints its summary.
pub fn run(component: &Component, args: &Args) -> Result<ExitCode> {
    let config = Config { customers: args.customers, months: args.months, seed: args.seed, faults: args.faults, start: args.start };
    config.days()?;
    if let crate::Database::Sqlite(path) = &args.db {
        remove_sqlite(path)?;
    }
    let outbox = if args.no_documents {
        None
    } else {
        if args.out.exists() {
            std::fs::remove_dir_all(&args.out).with_context(|| format!("removing {}", args.out.display()))?;
        }
        Some(Outbox { dir: args.out.clone(), names: Directory::default() })
    };
    let started = Instant::now();
    let bar = ProgressBar::new(config.day_count()?);
    bar.set_style(ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} days, {elapsed}").expect("a valid template").progress_chars("=> "));
    bar.set_message(format!("{} customers", args.customers));
    let summary;
    let report = match &args.db {
        crate::Database::Sqlite(path) => {
            let mut backend;
            (summary, backend) = crate::sim::into_sqlite(component, config, path, outbox, &mut |n| {
                bar.inc(n);
                if bar.position() == bar.length().unwrap_or(0) {
                    bar.set_message(format!("writing {}", path.display()));
                }
            })?;
            let report = audit::audit(&mut backend)?;
            backend.close()?;
            report
        }
        crate::Database::Postgres(_) => {
            let mut ledger = Ledger::open(component, &args.db)?;
            if ledger.list_accounts(&sim_merchant()?, None, 1)?.is_ok_and(|a| !a.is_empty()) {
                bail!("the database already holds the simulated merchant's accounts; give a new database");
            }
            let mut restart = |l: &mut Ledger| -> Result<()> {
                *l = Ledger::open(component, &args.db)?;
                Ok(())
            };
            let mut ledger_after;
            (summary, ledger_after) = Simulation::new(config, ledger, &mut restart, outbox)?.run(&mut |n| bar.inc(n))?;
            let report = audit::audit(ledger_after.backend())?;
            ledger_after.backend().close()?;
            report
        }
    };
    bar.finish_and_clear();
    let took = started.elapsed();
    println!("{}", table(&summary));
    println!(
        "Audit: {} accounts, {} entries recomputed: {} discrepancies.",
        report.accounts,
        report.entries,
        report.discrepancies.len()
    );
    if !args.no_documents {
        println!("{} documents (invoices, reminders, statements) in {}.", summary.documents, args.out.display());
    }
    println!("{} customers, {} months, seed {}: {} calls in {:.1} s.", args.customers, args.months, args.seed, summary.calls, took.as_secs_f64());
    if !report.is_clean() {
        for d in &report.discrepancies {
            eprintln!("discrepancy: {d:?}");
        }
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn sim_merchant() -> Result<crate::MerchantId> {
    crate::MerchantId::new(crate::sim::MERCHANT)
}

fn amount(d: Decimal) -> String {
    money(&d.round_dp(2).to_string())
}

/// The summary as a two-column table.
pub fn table(s: &Summary) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec!["", "count", "GBP"]);
    let mut row = |what: String, count: String, gbp: String| {
        t.add_row(vec![Cell::new(what), Cell::new(count).set_alignment(CellAlignment::Right), Cell::new(gbp).set_alignment(CellAlignment::Right)]);
    };
    for (habit, n) in &s.habits {
        row(format!("customers: {habit}"), n.to_string(), String::new());
    }
    row("days simulated".into(), s.days.to_string(), String::new());
    row("calls to the component".into(), s.calls.to_string(), String::new());
    row("orders approved".into(), s.approved.to_string(), String::new());
    for (reason, n) in &s.declined {
        row(format!("orders declined: {reason}"), n.to_string(), String::new());
    }
    row("orders part-paid from stored balance".into(), s.balance_applied.0.to_string(), amount(s.balance_applied.1));
    row("invoiced (captures)".into(), s.invoiced.0.to_string(), amount(s.invoiced.1));
    row("orders shipped in two parts".into(), s.split_shipments.to_string(), String::new());
    row("orders cancelled".into(), s.cancelled.to_string(), String::new());
    row("holds expired".into(), s.holds_expired.to_string(), String::new());
    row("returns (credit notes)".into(), s.returns.0.to_string(), amount(s.returns.1));
    row("payments collected".into(), s.collected.0.to_string(), amount(s.collected.1));
    row("early-payment discounts taken".into(), String::new(), amount(s.discounts));
    row("payments bounced (reversed)".into(), s.bounced.0.to_string(), amount(s.bounced.1));
    row("late fees".into(), s.fees.0.to_string(), amount(s.fees.1));
    row("interest".into(), String::new(), amount(s.interest));
    row("reminders sent".into(), s.reminders.to_string(), String::new());
    row("monthly statements".into(), s.statements.to_string(), String::new());
    row("times put on hold for overdue invoices".into(), s.put_on_hold.to_string(), String::new());
    row("accounts on hold at the end".into(), s.on_hold_at_end.to_string(), String::new());
    for (label, amt) in &s.aging {
        row(format!("outstanding at the end: {label}"), String::new(), amount(*amt));
    }
    row("outstanding at the end: total".into(), String::new(), amount(s.outstanding));
    row("stored balance owed to customers".into(), String::new(), amount(s.stored_balance));
    let f = &s.faults;
    if f.retried + f.out_of_order + f.expired_captures + f.restarts > 0 {
        row("faults: calls retried (same answer)".into(), f.retried.to_string(), String::new());
        row("faults: captures/voids out of order (refused)".into(), f.out_of_order.to_string(), String::new());
        row("faults: captures of expired holds (refused)".into(), f.expired_captures.to_string(), String::new());
        row("faults: host restarts mid-day".into(), f.restarts.to_string(), String::new());
    }
    t
}

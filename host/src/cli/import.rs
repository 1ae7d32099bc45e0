//! `credit-host import`: a merchant's accounts and open invoices brought
//! in from CSV files of their previous system (`crate::import`).

use std::process::ExitCode;

use anyhow::{Context, Result};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Table};

use crate::import::{self, File, Problem, Summary};
use crate::{Component, MerchantId};

/// Arguments of `import`.
#[derive(clap::Args)]
pub struct Args {
    /// The database: a SQLite file, or a `postgres://` URL.
    #[arg(long, env = "CREDIT_DB")]
    db: crate::Database,
    /// The merchant the books are for.
    #[arg(long)]
    merchant: String,
    /// Accounts: account-id, customer-id, currency, credit-limit,
    /// net-days, tolerance-percent, stored-balance.
    #[arg(long)]
    accounts: Option<std::path::PathBuf>,
    /// Open invoices: account-id, number, invoice-date, due-date, amount,
    /// paid, order-id, currency.
    #[arg(long)]
    invoices: Option<std::path::PathBuf>,
    /// Every account's billing policy, as JSON in the WIT encoding
    /// (`types.billing-policy`); see README for the default.
    #[arg(long)]
    policy: Option<std::path::PathBuf>,
    /// Who opened the accounts, for their ledgers.
    #[arg(long, default_value = "import")]
    by: String,
    /// Check everything, print every problem and what would be brought
    /// in, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// The time the calls carry, RFC 3339 (default: now).
    #[arg(long)]
    at: Option<String>,
}

/// Runs `import`. Exit status 0 when everything was brought in (or, with
/// `--dry-run`, would be), 1 when there are problems (then nothing of the
/// files with problems is written), 2 when it could not run.
pub fn run(component: &Component, args: &Args) -> Result<ExitCode> {
    anyhow::ensure!(args.accounts.is_some() || args.invoices.is_some(), "nothing to import: give --accounts FILE and/or --invoices FILE");
    let merchant = MerchantId::new(args.merchant.as_str())?;
    let now_ms = match &args.at {
        Some(t) => chrono::DateTime::parse_from_rfc3339(t).context("--at must be RFC 3339")?.timestamp_millis(),
        None => chrono::Utc::now().timestamp_millis(),
    };
    let policy = match &args.policy {
        Some(p) => serde_json::from_str(&std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)
            .with_context(|| format!("{}: not JSON", p.display()))?,
        None => import::default_policy(),
    };
    let read = |p: &std::path::Path| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()));
    let mut ledger = crate::Ledger::open(component, &args.db)?;
    let mut problems: Vec<Problem> = Vec::new();
    let mut files: Vec<File> = Vec::new();
    let mut currencies: std::collections::HashMap<String, String> = Default::default();
    if let Some(p) = &args.accounts {
        let text = read(p)?;
        let f = import::read_accounts(&p.display().to_string(), &text, &policy, &args.by, &mut problems);
        currencies.extend(f.currencies());
        files.push(f);
    }
    if let Some(p) = &args.invoices {
        let text = read(p)?;
        let m = merchant.clone();
        let mut known = |a: &str| -> Option<String> {
            if let Some(c) = currencies.get(a) {
                return Some(c.clone());
            }
            let answer = ledger.call_json(&m, "queries.get-account", &serde_json::json!({"account-id": a, "now-ms": now_ms})).ok()?;
            answer.get("ok")?.get("currency")?.as_str().map(str::to_owned)
        };
        let cache: std::cell::RefCell<std::collections::HashMap<String, Option<String>>> = Default::default();
        let lookup = |a: &str| -> Option<String> { cache.borrow().get(a).cloned().unwrap_or(None) };
        // Accounts are looked up once each, before the rows are read.
        for a in import::account_ids(&text) {
            let c = known(&a);
            cache.borrow_mut().insert(a, c);
        }
        files.push(import::read_invoices(&p.display().to_string(), &text, &lookup, &mut problems));
    }
    // The whole import tried on a copy of the merchant's books.
    let (would, refused) = import::trial(component, ledger.backend(), &merchant, &files, now_ms)?;
    problems.extend(refused);
    // In the files' order, then by line: the component's refusals among
    // the file's own problems.
    let rank = |p: &Problem| files.iter().position(|f| f.name == p.file).unwrap_or(files.len());
    problems.sort_by_key(|p| (rank(p), p.line));
    if !problems.is_empty() {
        print_problems(&problems);
        eprintln!("{} problems; nothing was written.", problems.len());
        return Ok(ExitCode::from(1));
    }
    if args.dry_run {
        print_summary(&would);
        println!("Dry run: no problems; nothing was written.");
        return Ok(ExitCode::SUCCESS);
    }
    let mut done = Summary::default();
    for f in &files {
        let refused = import::apply(&mut ledger, &merchant, f, now_ms, &mut done)?;
        if !refused.is_empty() {
            print_problems(&refused);
            print_summary(&done);
            eprintln!("{}: {} rows refused; nothing of this file was written.", f.name, refused.len());
            return Ok(ExitCode::from(1));
        }
    }
    print_summary(&done);
    ledger.backend().close()?;
    Ok(ExitCode::SUCCESS)
}

fn print_problems(problems: &[Problem]) {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(["file", "line", "field", "problem"]);
    for p in problems {
        table.add_row(vec![Cell::new(&p.file), Cell::new(p.line).set_alignment(CellAlignment::Right), Cell::new(&p.field), Cell::new(&p.why)]);
    }
    eprintln!("{table}");
}

fn print_summary(s: &Summary) {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(["", "rows", "currency", "amount", "still owed"]);
    let right = |v: String| Cell::new(v).set_alignment(CellAlignment::Right);
    table.add_row(vec![Cell::new("accounts opened"), right(s.accounts.to_string()), Cell::new(""), Cell::new(""), Cell::new("")]);
    for (c, (n, a)) in &s.balances {
        table.add_row(vec![Cell::new("stored balances brought in"), right(n.to_string()), Cell::new(c), right(a.to_string()), Cell::new("")]);
    }
    for (c, (n, a, o)) in &s.invoices {
        table.add_row(vec![Cell::new("open invoices brought in"), right(n.to_string()), Cell::new(c), right(a.to_string()), right(o.to_string())]);
    }
    if s.invoices.is_empty() {
        table.add_row(vec![Cell::new("open invoices brought in"), right("0".into()), Cell::new(""), Cell::new(""), Cell::new("")]);
    }
    table.add_row(vec![Cell::new("brought in before (nothing changed)"), right(s.already.to_string()), Cell::new(""), Cell::new(""), Cell::new("")]);
    println!("{table}");
}

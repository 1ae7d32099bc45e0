//! The `credit-host` command line: a storefront simulator around the
//! credit-account component.

mod bench;
mod demo;
mod tables;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use crate::{Component, Ledger, MerchantId, audit, serve};

/// A storefront simulator for the credit-account WebAssembly component.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Keep the compiled component in this folder and reuse it (start-up
    /// in milliseconds instead of seconds).
    #[arg(long, global = true)]
    component_cache: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Plays a short B2B story (an office-supplies wholesaler and its trade
    /// customers) on a fresh SQLite file and prints the accounts.
    Demo {
        /// The SQLite file to create (replaced if it exists).
        #[arg(long, default_value = "credit-demo.sqlite")]
        db: PathBuf,
    },
    /// Prints every account of a merchant as of a time.
    Accounts {
        /// The SQLite file.
        #[arg(long)]
        db: PathBuf,
        /// The merchant.
        #[arg(long)]
        merchant: String,
        /// The time, RFC 3339 (default: now).
        #[arg(long)]
        at: Option<String>,
    },
    /// Prints an account's ledger.
    Ledger {
        /// The SQLite file.
        #[arg(long)]
        db: PathBuf,
        /// The merchant.
        #[arg(long)]
        merchant: String,
        /// The account.
        #[arg(long)]
        account: String,
    },
    /// Recomputes every account from its entries and reports differences;
    /// exits with status 1 when there is any.
    Verify {
        /// The SQLite file.
        #[arg(long)]
        db: PathBuf,
    },
    /// Measures what calls cost (build with --release): through the
    /// component and natively, warm and fresh, memory and SQLite, small and
    /// large histories. Prints Markdown tables.
    Bench {
        /// Calls per operation.
        #[arg(long, default_value_t = 20_000)]
        calls: usize,
        /// The largest history to measure (100, 10,000 and 1,000,000).
        #[arg(long, default_value_t = 1_000_000)]
        history: usize,
        /// Only these tables (repeatable): calls, fresh, stores, history.
        /// All of them when not given.
        #[arg(long, value_enum)]
        only: Vec<bench::Table>,
    },
    /// Serves calls as JSON lines on standard input, one answer line each on
    /// standard output, written only after the call is committed.
    Serve {
        /// The SQLite file (created if missing).
        #[arg(long)]
        db: PathBuf,
        /// Commit up to this many calls per transaction (group commit);
        /// calls may then be sent before earlier answers are read.
        #[arg(long)]
        group_commit: Option<usize>,
    },
}

/// Parses the command line and runs the command; exit status 0 on success,
/// 1 when `verify` finds a discrepancy, 2 on an error.
pub fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let component = || match &cli.component_cache {
        Some(dir) => Component::embedded_cached(dir),
        None => Component::embedded(),
    };
    let open_existing = |db: &PathBuf| -> Result<Ledger> {
        anyhow::ensure!(db.exists(), "no database at {}", db.display());
        Ledger::open_sqlite(&component()?, db)
    };
    match &cli.command {
        Command::Demo { db } => {
            demo::run(&component()?, db)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { calls, history, only } => {
            bench::run(&component()?, *calls, *history, only)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { db, group_commit } => {
            let stdout = std::io::stdout().lock();
            match group_commit {
                Some(max) => {
                    let group = serve::GroupCommit::sqlite(&component()?, db, *max)?;
                    serve::serve_grouped(&group, std::io::BufReader::new(std::io::stdin()), stdout)?;
                }
                None => {
                    let mut ledger = Ledger::open_sqlite(&component()?, db)?;
                    serve::serve(&mut ledger, std::io::stdin().lock(), stdout)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Accounts { db, merchant, at } => {
            let now_ms = match at {
                Some(t) => chrono::DateTime::parse_from_rfc3339(t).context("--at must be RFC 3339")?.timestamp_millis(),
                None => chrono::Utc::now().timestamp_millis(),
            };
            let mut ledger = open_existing(db)?;
            let m = MerchantId::new(merchant.clone())?;
            let mut rows = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let ids = ledger.list_accounts(&m, after.as_deref(), 100)?.map_err(|e| anyhow::anyhow!("{e:?}"))?;
                let Some(last) = ids.last().cloned() else { break };
                for id in ids {
                    rows.push(ledger.get_account(&m, &id, now_ms)?.map_err(|e| anyhow::anyhow!("{e:?}"))?);
                }
                after = Some(last);
            }
            println!("{}", tables::accounts(&rows));
            Ok(ExitCode::SUCCESS)
        }
        Command::Ledger { db, merchant, account } => {
            let mut ledger = open_existing(db)?;
            let m = MerchantId::new(merchant.clone())?;
            let entries = ledger.ledger_all(&m, account)?.map_err(|e| anyhow::anyhow!("{e:?}"))?;
            println!("{}", tables::entries(&entries));
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { db } => {
            let mut ledger = open_existing(db)?;
            let report = audit::audit(ledger.backend())?;
            println!(
                "verified {} merchants, {} accounts, {} entries: {} discrepancies",
                report.merchants,
                report.accounts,
                report.entries,
                report.discrepancies.len()
            );
            for d in &report.discrepancies {
                println!("  {}/{}: {}", d.merchant, d.account_id, d.what);
            }
            Ok(if report.is_clean() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
    }
}

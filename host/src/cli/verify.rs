//! `credit-host verify`: is this database whole, and does it add up?

use std::process::ExitCode;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};

use crate::audit::{self, AuditReport};
use crate::store::{Backend, PostgresBackend, SqliteBackend};

/// Arguments of `verify`.
#[derive(clap::Args)]
pub struct Args {
    /// The database: a SQLite file, or a `postgres://` URL.
    #[arg(long, env = "CREDIT_DB")]
    db: crate::Database,
}

/// Exit status 0 when clean, 1 when anything is damaged or does not add up
/// (a database SQLite cannot read at all included), 2 when it could not
/// run (no such file, or it cannot be opened).
pub fn run(args: &Args) -> Result<ExitCode> {
    let mut db: Box<dyn Backend> = match &args.db {
        crate::Database::Sqlite(path) => Box::new(SqliteBackend::open_read_only(path)?),
        // The audit reads one snapshot (REPEATABLE READ, READ ONLY): the
        // servers writing the database carry on.
        crate::Database::Postgres(url) => Box::new(PostgresBackend::connect(url)?),
    };
    let report = match check(db.as_mut()) {
        Ok(r) => r,
        Err(e) => {
            // SQLite refusing to read the file is damage, not a failure
            // to run: say what it said.
            println!("{}: cannot be read: {e:#}", args.db);
            return Ok(ExitCode::from(1));
        }
    };
    print(&report);
    Ok(if report.is_clean() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Runs the audit with a progress bar on standard error (shown only on a
/// terminal).
pub fn check(db: &mut dyn Backend) -> Result<AuditReport> {
    let total = db.key_count()?;
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("verifying {bar:40} {pos}/{len} records ({eta} left)").unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = audit::audit_with_progress(db, &mut |n| bar.set_position(n))?;
    bar.finish_and_clear();
    Ok(report)
}

/// The report, one line per problem.
pub fn print(report: &AuditReport) {
    println!(
        "verified {} merchants, {} accounts, {} entries, {} records: {} discrepancies",
        report.merchants,
        report.accounts,
        report.entries,
        report.records,
        report.discrepancies.len()
    );
    if report.debits != report.credits {
        println!("  debits {} != credits {}", report.debits, report.credits);
    }
    for d in &report.discrepancies {
        if d.merchant.is_empty() {
            println!("  {}: {}", d.at, d.what);
        } else {
            println!("  {}/{}: {}", d.merchant, d.at, d.what);
        }
    }
}

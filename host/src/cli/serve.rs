//! `credit-host serve`: calls as JSON lines on standard input.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use crate::serve::{self, GroupCommit};
use crate::{Component, Ledger};

/// Arguments of `serve`.
#[derive(clap::Args)]
pub struct Args {
    /// The database: a SQLite file (created if missing), or a
    /// `postgres://` URL (the schema is created or migrated).
    #[arg(long, env = "CREDIT_DB")]
    db: crate::Database,
    /// On a clean end, write how many calls were served and how they met
    /// other processes' calls (lock waits, retries) to this file as JSON.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Commit up to this many calls per transaction (group commit);
    /// calls may then be sent before earlier answers are read.
    #[arg(long)]
    group_commit: Option<usize>,
    /// The longest input line read, in bytes; a longer one is skipped and
    /// answered with a host error.
    #[arg(long, default_value_t = serve::LINE_BYTES_MAX_DEFAULT)]
    max_line_bytes: usize,
    /// Mail for each captured invoice and each day-close's reminders and
    /// monthly statement (not with --group-commit, whose answers are made
    /// on another thread).
    #[command(flatten)]
    mail: super::MailArgs,
}

/// Serves until standard input ends. On that clean end the database is
/// closed with its log checkpointed, so the .sqlite file alone holds every
/// acknowledged call. A database file deleted or replaced while serving
/// stops the server with an error (exit status 2).
pub fn run(component: &Component, args: &Args) -> Result<ExitCode> {
    let outbox = args.mail.outbox()?;
    anyhow::ensure!(outbox.is_none() || args.group_commit.is_none(), "--mail-dir cannot be used with --group-commit");
    let stdout = std::io::stdout().lock();
    match args.group_commit {
        Some(max) => {
            let crate::Database::Sqlite(path) = &args.db else {
                anyhow::bail!("--group-commit is for SQLite; PostgreSQL commits each call and lets many processes serve at once");
            };
            let group = GroupCommit::sqlite(component, path, max)?;
            let served = serve::serve_grouped(&group, std::io::BufReader::new(std::io::stdin()), stdout, args.max_line_bytes);
            let finished = group.finish();
            served?;
            finished?;
        }
        None => {
            let mut ledger = Ledger::open(component, &args.db)?;
            let served = serve::serve_mailing(&mut ledger, std::io::stdin().lock(), stdout, args.max_line_bytes, outbox.as_ref())?;
            ledger.backend().close()?;
            if let Some(path) = &args.report {
                let report = serde_json::json!({ "calls": served, "contention": ledger.contention() });
                std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

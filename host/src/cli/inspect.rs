//! `credit-host accounts` and `credit-host ledger`: a database as tables.

use std::process::ExitCode;

use anyhow::{Context, Result};

use super::tables;
use crate::{Component, Ledger, MerchantId};

/// Arguments of `accounts`.
#[derive(clap::Args)]
pub struct AccountsArgs {
    /// The database: a SQLite file, or a `postgres://` URL.
    #[arg(long, env = "CREDIT_DB")]
    db: crate::Database,
    /// The merchant.
    #[arg(long)]
    merchant: String,
    /// The time, RFC 3339 (default: now).
    #[arg(long)]
    at: Option<String>,
}

/// Arguments of `ledger`.
#[derive(clap::Args)]
pub struct LedgerArgs {
    /// The database: a SQLite file, or a `postgres://` URL.
    #[arg(long, env = "CREDIT_DB")]
    db: crate::Database,
    /// The merchant.
    #[arg(long)]
    merchant: String,
    /// The account.
    #[arg(long)]
    account: String,
}

fn open_existing(component: &Component, db: &crate::Database) -> Result<Ledger> {
    super::open_existing(component, db)
}

/// Every account of a merchant as of a time.
pub fn accounts(component: &Component, args: &AccountsArgs) -> Result<ExitCode> {
    let now_ms = match &args.at {
        Some(t) => chrono::DateTime::parse_from_rfc3339(t).context("--at must be RFC 3339")?.timestamp_millis(),
        None => chrono::Utc::now().timestamp_millis(),
    };
    let mut ledger = open_existing(component, &args.db)?;
    let m = MerchantId::new(args.merchant.clone())?;
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

/// An account's ledger.
pub fn ledger(component: &Component, args: &LedgerArgs) -> Result<ExitCode> {
    let mut ledger = open_existing(component, &args.db)?;
    let m = MerchantId::new(args.merchant.clone())?;
    let entries = ledger.ledger_all(&m, &args.account)?.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    println!("{}", tables::entries(&entries));
    Ok(ExitCode::SUCCESS)
}

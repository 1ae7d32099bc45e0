//! `credit-host customer-links`: the private links that open a customer's
//! "My account" page on `serve-http`.

use std::process::ExitCode;

use anyhow::Result;
use comfy_table::Table;
use comfy_table::presets::UTF8_FULL_CONDENSED;

use crate::render::utc_minute;

use crate::http::links;
use crate::{Component, MerchantId};

/// Arguments of `customer-links`.
#[derive(clap::Args)]
pub struct Args {
    /// The database: a SQLite file, or a `postgres://` URL.
    #[arg(long, env = "CREDIT_DB")]
    db: crate::Database,
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Issues a link to one account's page and prints it, once: only its
    /// hash is kept. Send it to the customer.
    Issue {
        /// The merchant.
        #[arg(long)]
        merchant: String,
        /// The account the link shows (it must exist).
        #[arg(long)]
        account: String,
        /// How many days it works (1 to 366).
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Where customers reach `serve-http` (the proxy in front of it).
        #[arg(long, default_value = "http://127.0.0.1:8787")]
        base_url: String,
    },
    /// Lists the links issued (ids, accounts, expiry; never a link).
    List,
    /// Revokes a link by its id (`cl_<id>` or the id).
    Revoke {
        /// The id `list` shows.
        id: String,
    },
}

/// Runs `customer-links`.
pub fn run(component: &Component, args: &Args) -> Result<ExitCode> {
    let mut ledger = super::open_existing(component, &args.db)?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    match &args.action {
        Action::Issue { merchant, account, days, base_url } => {
            let merchant = MerchantId::new(merchant.as_str())?;
            if let Err(e) = ledger.get_account(&merchant, account, now_ms)? {
                anyhow::bail!("merchant {merchant} has no account {account:?} to link to ({e:?})", merchant = merchant.as_str());
            }
            let (link, record) = links::issue(ledger.backend(), &merchant, account, now_ms, *days)?;
            eprintln!("link cl_{} to account {} of {}, valid until {}; it is shown only now:", record.id, record.account_id, record.merchant, utc_minute(record.expires_ms));
            println!("{}/my/{link}", base_url.trim_end_matches('/'));
        }
        Action::List => {
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED).set_header(["id", "merchant", "account", "issued", "expires", "revoked"]);
            for l in links::list(ledger.backend())? {
                table.add_row([format!("cl_{}", l.id), l.merchant, l.account_id, utc_minute(l.created_ms), utc_minute(l.expires_ms), l.revoked_ms.map_or_else(String::new, utc_minute)]);
            }
            println!("{table}");
        }
        Action::Revoke { id } => {
            let record = links::revoke(ledger.backend(), id, now_ms)?;
            println!("revoked cl_{} (account {} of {})", record.id, record.account_id, record.merchant);
        }
    }
    ledger.backend().close()?;
    Ok(ExitCode::SUCCESS)
}

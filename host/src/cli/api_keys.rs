//! `credit-host api-keys`: the keys storefronts call `serve-http` with.

use std::process::ExitCode;

use anyhow::Result;
use comfy_table::Table;
use comfy_table::presets::UTF8_FULL_CONDENSED;

use crate::render::utc_minute;

use crate::MerchantId;
use crate::http::keys;

/// Arguments of `api-keys`.
#[derive(clap::Args)]
pub struct Args {
    /// The database: a SQLite file (created if missing), or a
    /// `postgres://` URL.
    #[arg(long, env = "CREDIT_DB")]
    db: crate::Database,
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Issues a key for a merchant and prints it, once: only its hash is
    /// kept, so a lost key is revoked and another issued.
    Issue {
        /// The merchant whose data the key reaches.
        #[arg(long)]
        merchant: String,
        /// Which storefront uses it, for people reading `list`.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Lists the keys issued (their ids, never the keys).
    List,
    /// Revokes a key by its id (`ck_<id>` or the id): it is refused from
    /// the next request on.
    Revoke {
        /// The id `list` shows.
        id: String,
    },
}

/// Runs `api-keys`.
pub fn run(args: &Args) -> Result<ExitCode> {
    let mut store = super::open_store(&args.db)?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    match &args.action {
        Action::Issue { merchant, label } => {
            let merchant = MerchantId::new(merchant.as_str())?;
            let (key, record) = keys::issue(store.as_mut(), &merchant, label, now_ms)?;
            eprintln!("API key ck_{} for merchant {}; it is shown only now:", record.id, record.merchant);
            println!("{key}");
        }
        Action::List => {
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED).set_header(["id", "merchant", "label", "issued", "revoked"]);
            for k in keys::list(store.as_mut())? {
                table.add_row([format!("ck_{}", k.id), k.merchant, k.label, utc_minute(k.created_ms), k.revoked_ms.map_or_else(String::new, utc_minute)]);
            }
            println!("{table}");
        }
        Action::Revoke { id } => {
            let record = keys::revoke(store.as_mut(), id, now_ms)?;
            println!("revoked ck_{} (merchant {})", record.id, record.merchant);
        }
    }
    store.close()?;
    Ok(ExitCode::SUCCESS)
}

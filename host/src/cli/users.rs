//! `credit-host users`: the finance team's sign-ins for the staff pages.

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::Result;
use comfy_table::Table;
use comfy_table::presets::UTF8_FULL_CONDENSED;

use crate::MerchantId;
use crate::http::staff::{self, Role};

/// Arguments of `users`.
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
    /// Adds a user (the first administrator too). The password is read
    /// from the first line of standard input, never from the command line.
    Add {
        /// The merchant whose accounts the user works on.
        #[arg(long)]
        merchant: String,
        /// The e-mail address they sign in with.
        #[arg(long)]
        email: String,
        /// viewer, controller or admin.
        #[arg(long, value_enum)]
        role: Role,
    },
    /// Lists the users (never a password or its hash).
    List,
}

/// Runs `users`.
pub fn run(args: &Args) -> Result<ExitCode> {
    let mut store = super::open_store(&args.db)?;
    match &args.action {
        Action::Add { merchant, email, role } => {
            let merchant = MerchantId::new(merchant.as_str())?;
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            let user = staff::add_user(store.as_mut(), &merchant, email, *role, password)?;
            println!("added {} ({}) for {}", user.email, user.role.words(), user.merchant);
        }
        Action::List => {
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED).set_header(["merchant", "e-mail", "role", "locked until", "signs in"]);
            for u in staff::users(store.as_mut())? {
                let signs_in = if u.disabled { "no (turned off)" } else { "yes" };
                table.add_row([u.merchant, u.email, u.role.words().to_owned(), u.locked_until_ms.map_or_else(String::new, crate::render::utc_minute), signs_in.to_owned()]);
            }
            println!("{table}");
        }
    }
    store.close()?;
    Ok(ExitCode::SUCCESS)
}

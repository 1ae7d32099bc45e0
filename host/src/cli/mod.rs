//! The `credit-host` command line: a storefront simulator around the
//! credit-account component.

mod api_keys;
mod backup;
mod bank;
mod bench;
mod close_day;
mod customer_links;
mod demo;
mod events;
mod import;
mod inspect;
mod load;
mod platform;
mod replay;
mod reports;
mod serve;
mod serve_http;
mod simulate;
pub(crate) mod tables;
mod users;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::Component;

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
    Accounts(inspect::AccountsArgs),
    /// Prints an account's ledger.
    Ledger(inspect::LedgerArgs),
    /// Checks a database without stopping the shop: SQLite's integrity
    /// check, every account recomputed from its entries, every record
    /// decoded and its key checked. Exit status 0 when all is well, 1 when
    /// anything is damaged or does not add up (each named), 2 when it could
    /// not run.
    Verify(verify::Args),
    /// Copies a database, consistently, while a server may be writing it
    /// (SQLite's online backup), then checks the copy.
    Backup(backup::Args),
    /// Runs the journal of a database's mutating calls, in order, through
    /// another build of the component on an empty store, and reports each
    /// answer that differs (first divergence first, both answers side by
    /// side) and a summary per function. Exit status 1 when any differs.
    /// Run it on a copy of the database before upgrading.
    Replay(replay::ReplayArgs),
    /// Lists the journal of mutating calls.
    Journal(replay::JournalArgs),
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
        /// Only these tables (repeatable): calls, fresh, stores, history,
        /// items, reports, hosts, journal, processes, bank, events. All of them
        /// when not given.
        #[arg(long, value_enum)]
        only: Vec<bench::Table>,
        #[command(flatten)]
        processes: bench::Processes,
    },
    /// One host process driving authorize + void calls at a database, for
    /// measuring many processes at once (`bench --only processes` starts
    /// them): prints `ready`, waits for a line on standard input, runs,
    /// and prints a JSON report.
    Load(load::Args),
    /// A seeded, deterministic B2B store trading on account for months
    /// through the component (orders, shipments, returns, payments on each
    /// customer's habit, a day-close every day), with a summary table and
    /// the documents sent. Exit status 1 when the audit afterwards finds a
    /// discrepancy.
    Simulate(simulate::Args),
    /// Serves calls as JSON lines on standard input, one answer line each on
    /// standard output, written only after the call is committed.
    Serve(serve::Args),
    /// Serves every exported function as a JSON endpoint over HTTP on
    /// loopback (`POST /v1/<interface>/<function>`), each merchant by its
    /// API key; stops cleanly on SIGTERM or Ctrl-C.
    ServeHttp(serve_http::Args),
    /// Issues, lists and revokes the API keys of `serve-http`.
    ApiKeys(api_keys::Args),
    /// Issues, lists and revokes the private links that open a customer's
    /// "My account" page on `serve-http`.
    CustomerLinks(customer_links::Args),
    /// Adds and lists the finance team's users of the staff pages
    /// (`serve-http`, `/staff`); `users add --role admin` makes the first
    /// administrator.
    Users(users::Args),
    /// Reads a bank statement (camt.053 or CSV), has the component match
    /// each line to an account and its invoices, records the payments and
    /// reverses returned ones, and prints a summary; the rest waits for a
    /// person (`bank-review`). Exit status 1 when the component refused a
    /// line; a file that cannot be read records nothing.
    BankImport(bank::ImportArgs),
    /// Lists the bank lines waiting for a person, or settles one.
    BankReview(bank::ReviewArgs),
    /// Brings a merchant's books over from their previous system: accounts
    /// (limits, terms, stored balances) and open invoices from CSV files.
    /// Everything is checked first, through the component, on a copy: any
    /// problem is listed (file, line, field, why) and nothing is written
    /// (exit 1). Each file is then written whole or not at all; running it
    /// again changes nothing.
    Import(import::Args),
    /// The business events every committed call left in the outbox
    /// (JSON lines; `--follow` keeps printing new ones), their
    /// subscriptions, the dispatcher that POSTs them signed, and its
    /// delivery log.
    Events(events::Args),
    /// Runs the day's close for every account (in as many calls as each
    /// takes) and prints what it did; exit status 1 names the accounts it
    /// could not close.
    CloseDay(close_day::Args),
    /// A statement of account for a period (table, --json or --html).
    Statement(reports::StatementArgs),
    /// Aged receivables across a merchant's accounts.
    Aging(reports::AgingArgs),
    /// The debtor list: accounts filtered and sorted.
    Debtors(reports::DebtorsArgs),
    /// Early warnings: accounts whose payment behaviour is getting worse.
    Warnings(reports::WarningsArgs),
    /// An account's notes (and adds one with --add).
    Notes(reports::NotesArgs),
    /// An account's deliveries.
    Deliveries(reports::DeliveriesArgs),
    /// Writes the component (`.wasm`) to a file, for another platform to
    /// embed.
    Component(platform::ComponentArgs),
    /// Prints the WIT contract the component carries (its interfaces,
    /// types and functions; the comments are in wit/).
    Wit(platform::WitArgs),
    /// Prints the exported functions and their types as JSON (the
    /// conformance vectors' `contract.json`).
    Contract(platform::ContractArgs),
    /// Runs conformance vectors through the component and compares every
    /// answer; exit status 1 when any differs.
    Vectors(platform::VectorsArgs),
}

/// Parses the command line and runs the command. Exit status: 0 on
/// success; 1 when `verify` (or `backup`'s check of its copy) finds
/// damage or a discrepancy; 2 when the command could not run.
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
    match &cli.command {
        Command::Demo { db } => {
            demo::run(&component()?, db)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { calls, history, only, processes } => {
            bench::run(&component()?, *calls, *history, only, processes)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Load(args) => load::run(&component()?, args),
        Command::Serve(args) => serve::run(&component()?, args),
        Command::ServeHttp(args) => serve_http::run(&component()?, args),
        Command::ApiKeys(args) => api_keys::run(args),
        Command::CustomerLinks(args) => customer_links::run(&component()?, args),
        Command::Users(args) => users::run(args),
        Command::Simulate(args) => simulate::run(&component()?, args),
        Command::Accounts(args) => inspect::accounts(&component()?, args),
        Command::Ledger(args) => inspect::ledger(&component()?, args),
        Command::Verify(args) => verify::run(args),
        Command::CloseDay(args) => close_day::run(&component()?, args),
        Command::BankImport(args) => bank::import(&component()?, args),
        Command::BankReview(args) => bank::review(&component()?, args),
        Command::Events(args) => events::run(args),
        Command::Import(args) => import::run(&component()?, args),
        Command::Statement(args) => reports::statement(&component()?, args),
        Command::Aging(args) => reports::aging(&component()?, args),
        Command::Debtors(args) => reports::debtors(&component()?, args),
        Command::Warnings(args) => reports::warnings(&component()?, args),
        Command::Notes(args) => reports::notes(&component()?, args),
        Command::Deliveries(args) => reports::deliveries(&component()?, args),
        Command::Backup(args) => backup::run(args),
        Command::Replay(args) => replay::replay(component, args),
        Command::Journal(args) => replay::list(args),
        Command::Component(args) => platform::component(args),
        Command::Wit(args) => platform::wit(args),
        Command::Contract(args) => platform::contract(&component()?, args),
        Command::Vectors(args) => platform::vectors(component, args),
    }
}

/// Where the customers' mail goes and who it names (`serve`, `close-day`).
#[derive(clap::Args)]
struct MailArgs {
    /// Write what the customer is sent (invoices; reminders and monthly
    /// statements) as e-mail files, with their HTML, under this folder.
    #[arg(long)]
    mail_dir: Option<PathBuf>,
    /// The names and addresses printed on documents and used for mail (a
    /// JSON file; see `credit_host::directory`). Ids are shown without it.
    #[arg(long)]
    names: Option<PathBuf>,
}

impl MailArgs {
    fn outbox(&self) -> Result<Option<crate::deliver::Outbox>> {
        let Some(dir) = &self.mail_dir else {
            return Ok(None);
        };
        Ok(Some(crate::deliver::Outbox { dir: dir.clone(), names: names(self.names.as_deref())? }))
    }
}

/// A ledger on a database that must exist already (a SQLite file is not
/// created by commands that only read or close days).
fn open_existing(component: &Component, db: &crate::Database) -> Result<crate::Ledger> {
    if let crate::Database::Sqlite(path) = db {
        anyhow::ensure!(path.exists(), "no database at {}", path.display());
    }
    crate::Ledger::open(component, db)
}

/// The store alone, for commands that keep the host's own records (keys,
/// users) and never call the component; a SQLite file is created if missing.
fn open_store(db: &crate::Database) -> Result<Box<dyn crate::store::Backend>> {
    Ok(match db {
        crate::Database::Sqlite(path) => Box::new(crate::store::SqliteBackend::open(path)?),
        crate::Database::Postgres(url) => Box::new(crate::store::PostgresBackend::connect(url)?),
    })
}

/// The names file, or an empty directory (ids shown) without one.
fn names(path: Option<&std::path::Path>) -> Result<crate::directory::Directory> {
    path.map_or_else(|| Ok(Default::default()), crate::directory::Directory::load)
}

//! `credit-host serve-http`: the component as JSON endpoints over HTTP.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Result;

use crate::http::{self, BODY_BYTES_MAX_DEFAULT};
use crate::{Component, Ledger};

/// Arguments of `serve-http`.
#[derive(clap::Args)]
pub struct Args {
    /// The database: a SQLite file (created if missing), or a
    /// `postgres://` URL.
    #[arg(long, env = "CREDIT_DB")]
    db: crate::Database,
    /// The address to listen on: a loopback address (put a TLS proxy in
    /// front for anything else). Port 0 picks a free port; the address is
    /// printed on standard output once listening.
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// The largest request body read, in bytes; a larger one is refused
    /// with 413 unread.
    #[arg(long, default_value_t = BODY_BYTES_MAX_DEFAULT)]
    max_body_bytes: usize,
    /// Also log each request as it is received (to standard error).
    #[arg(long)]
    verbose: bool,
    /// The names and addresses printed on customers' pages (a JSON file;
    /// see `credit_host::directory`). Ids are shown without it.
    #[arg(long)]
    names: Option<std::path::PathBuf>,
}

/// Serves until SIGTERM or Ctrl-C; then finishes the requests in flight,
/// closes the database and exits 0.
pub fn run(component: &Component, args: &Args) -> Result<ExitCode> {
    anyhow::ensure!(
        args.listen.ip().is_loopback(),
        "--listen {}: serve-http speaks plain HTTP with API keys in headers, so it listens on loopback only (127.0.0.1 or ::1); put a TLS-terminating proxy in front of it",
        args.listen
    );
    anyhow::ensure!(args.max_body_bytes > 0, "--max-body-bytes must be at least 1");
    let ledger = Ledger::open(component, &args.db)?;
    let names = super::names(args.names.as_deref())?;
    let config = http::Config { listen: args.listen, body_bytes_max: args.max_body_bytes, verbose: args.verbose, names };
    let served = http::serve(component, ledger, &config, |addr| {
        println!("listening on http://{addr}");
    })?;
    eprintln!("stopped after {} requests; database closed", served.requests);
    Ok(ExitCode::SUCCESS)
}

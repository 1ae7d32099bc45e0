//! `credit-host events`: the outbox of business events, listed or
//! followed as JSON lines, its subscriptions, their dispatcher and its
//! delivery log.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Table};

use crate::render::utc_minute;
use crate::events::dispatch::{self, Backoff, Sender};
use crate::store::{Backend, EventRow};

/// Arguments of `events`.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    /// The database: a SQLite file, or a `postgres://` URL.
    #[arg(long, env = "CREDIT_DB", global = true)]
    db: Option<crate::Database>,
    #[command(subcommand)]
    action: Option<Action>,
    #[command(flatten)]
    list: ListArgs,
}

/// Which events to list.
#[derive(clap::Args)]
struct ListArgs {
    /// Only this merchant's.
    #[arg(long)]
    merchant: Option<String>,
    /// Only this account's.
    #[arg(long)]
    account: Option<String>,
    /// Only this type (repeatable).
    #[arg(long = "type")]
    types: Vec<String>,
    /// Only events after this position.
    #[arg(long, default_value_t = 0)]
    after: u64,
    /// At most this many (not with --follow).
    #[arg(long)]
    limit: Option<u64>,
    /// Keep running and print each new event as it is committed.
    #[arg(long)]
    follow: bool,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Adds a subscription: events are POSTed to its URL, signed with its
    /// secret (printed once when drawn here).
    Subscribe {
        /// Its name.
        name: String,
        /// Where events are sent (http:// or https://).
        #[arg(long)]
        url: String,
        /// The signing secret (drawn at random when not given).
        #[arg(long)]
        secret: Option<String>,
        /// Only this merchant's events.
        #[arg(long)]
        merchant: Option<String>,
        /// Only this type (repeatable).
        #[arg(long = "type")]
        types: Vec<String>,
    },
    /// Removes a subscription (its delivery log stays).
    Unsubscribe {
        /// Its name.
        name: String,
    },
    /// Lists the subscriptions and where each stands.
    Subscriptions,
    /// Delivers events to every subscription (or one), until stopped.
    Dispatch {
        /// Only this subscription.
        #[arg(long)]
        subscription: Option<String>,
        /// Stop once every event is delivered (exit 0), or after one pass
        /// that left some failing (exit 1).
        #[arg(long)]
        until_idle: bool,
        /// How often the outbox is read when nothing is due (ms).
        #[arg(long, default_value_t = 500)]
        poll_ms: u64,
        /// The wait after a first failure, doubled after each (ms).
        #[arg(long, default_value_t = 1_000)]
        backoff_ms: u64,
        /// The longest wait between attempts (ms).
        #[arg(long, default_value_t = 3_600_000)]
        backoff_max_ms: u64,
        /// How long a receiver may take to answer (ms).
        #[arg(long, default_value_t = 10_000)]
        timeout_ms: u64,
    },
    /// The delivery log: every attempt, or only the failed ones.
    Log {
        /// Only this subscription's.
        #[arg(long)]
        subscription: Option<String>,
        /// Only attempts that failed.
        #[arg(long)]
        failed: bool,
        /// As JSON lines.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `events`.
pub fn run(args: &Args) -> Result<ExitCode> {
    let db = args.db.as_ref().ok_or_else(|| anyhow::anyhow!("--db (or CREDIT_DB) names the database"))?;
    let mut store = super::open_store(db)?;
    let code = match &args.action {
        None => list(store.as_mut(), &args.list)?,
        Some(Action::Subscribe { name, url, secret, merchant, types }) => {
            let now_ms = chrono::Utc::now().timestamp_millis();
            let sub = dispatch::subscribe(store.as_mut(), name, url, secret.as_deref(), merchant.as_deref(), types, now_ms)?;
            if secret.is_none() {
                eprintln!("subscription {} to {}; its signing secret is shown only now:", sub.name, sub.url);
                println!("{}", sub.secret);
            } else {
                println!("subscription {} to {}", sub.name, sub.url);
            }
            ExitCode::SUCCESS
        }
        Some(Action::Unsubscribe { name }) => {
            dispatch::unsubscribe(store.as_mut(), name)?;
            println!("unsubscribed {name}");
            ExitCode::SUCCESS
        }
        Some(Action::Subscriptions) => {
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED).set_header(["name", "url", "merchant", "types", "since", "delivered", "all done up to", "failing"]);
            for s in dispatch::subscriptions(store.as_mut())? {
                let st = dispatch::standing(store.as_mut(), &s.name)?;
                let failing = st.failing.iter().map(|(seq, n, e)| format!("#{seq} ({n}x): {e}")).collect::<Vec<_>>().join("\n");
                table.add_row(vec![
                    Cell::new(&s.name),
                    Cell::new(&s.url),
                    Cell::new(s.merchant.as_deref().unwrap_or("(all)")),
                    Cell::new(if s.types.is_empty() { "(all)".to_owned() } else { s.types.join(", ") }),
                    Cell::new(utc_minute(s.created_ms)),
                    Cell::new(st.delivered).set_alignment(CellAlignment::Right),
                    Cell::new(st.floor).set_alignment(CellAlignment::Right),
                    Cell::new(failing),
                ]);
            }
            println!("{table}");
            ExitCode::SUCCESS
        }
        Some(Action::Dispatch { subscription, until_idle, poll_ms, backoff_ms, backoff_max_ms, timeout_ms }) => {
            let backoff = Backoff { first_ms: *backoff_ms, max_ms: *backoff_max_ms };
            let sender = Sender::new(Duration::from_millis(*timeout_ms));
            run_dispatch(store.as_mut(), &sender, subscription.as_deref(), *until_idle, Duration::from_millis(*poll_ms), backoff)?
        }
        Some(Action::Log { subscription, failed, json }) => {
            let attempts = dispatch::log(store.as_mut(), subscription.as_deref())?.into_iter().filter(|a| !failed || !a.error.is_empty());
            if *json {
                let mut out = std::io::stdout().lock();
                for a in attempts {
                    serde_json::to_writer(&mut out, &a)?;
                    writeln!(out)?;
                }
            } else {
                let mut table = Table::new();
                table.load_preset(UTF8_FULL_CONDENSED).set_header(["subscription", "#", "event", "type", "attempt", "sent (UTC)", "status", "ms", "error"]);
                for a in attempts {
                    table.add_row(vec![
                        Cell::new(&a.subscription),
                        Cell::new(a.seq).set_alignment(CellAlignment::Right),
                        Cell::new(&a.id),
                        Cell::new(&a.kind),
                        Cell::new(a.attempt).set_alignment(CellAlignment::Right),
                        Cell::new(utc_minute(a.at_ms)),
                        Cell::new(a.status.map_or_else(|| "-".to_owned(), |s| s.to_string())),
                        Cell::new(a.ms).set_alignment(CellAlignment::Right),
                        Cell::new(&a.error),
                    ]);
                }
                println!("{table}");
            }
            ExitCode::SUCCESS
        }
    };
    store.close()?;
    Ok(code)
}

fn list(store: &mut dyn Backend, args: &ListArgs) -> Result<ExitCode> {
    let wanted = |row: &EventRow| {
        args.merchant.as_ref().is_none_or(|m| *m == row.merchant)
            && args.account.as_ref().is_none_or(|a| row.stream == format!("account/{a}"))
            && (args.types.is_empty() || args.types.contains(&dispatch::kind_of(&row.body)))
    };
    let mut out = std::io::stdout().lock();
    let mut printed = 0u64;
    let mut after = args.after;
    loop {
        // Following, only positions that can no longer be filled in below
        // are printed, so the next read starts after them safely.
        let upto = if args.follow { store.outbox_settled()? } else { u64::MAX };
        let rows = store.outbox_scan(after, 1_000)?;
        let mut moved = false;
        for row in rows.iter().take_while(|r| r.seq <= upto) {
            after = row.seq;
            moved = true;
            if !wanted(row) {
                continue;
            }
            write_line(&mut out, row)?;
            printed += 1;
            if !args.follow && args.limit.is_some_and(|l| printed >= l) {
                return Ok(ExitCode::SUCCESS);
            }
        }
        if args.follow {
            out.flush()?;
            if !moved {
                std::thread::sleep(Duration::from_millis(250));
            }
        } else if rows.len() < 1_000 {
            return Ok(ExitCode::SUCCESS);
        }
    }
}

/// One event as a JSON line: its position, then the body's fields.
fn write_line(out: &mut impl Write, row: &EventRow) -> Result<()> {
    let body = row.body.strip_prefix(b"{").unwrap_or(&row.body);
    write!(out, "{{\"seq\":{},", row.seq)?;
    out.write_all(body)?;
    writeln!(out)?;
    Ok(())
}

fn run_dispatch(store: &mut dyn Backend, sender: &Sender, only: Option<&str>, until_idle: bool, poll: Duration, backoff: Backoff) -> Result<ExitCode> {
    let mut subs = dispatch::subscriptions(store)?;
    if let Some(name) = only {
        subs.retain(|s| s.name == name);
        anyhow::ensure!(!subs.is_empty(), "no subscription named {name:?}");
    }
    anyhow::ensure!(!subs.is_empty(), "no subscriptions (credit-host events subscribe NAME --url URL)");
    loop {
        let mut busy = false;
        let mut failing = false;
        for sub in &subs {
            let p = dispatch::pass(store, sender, sub, backoff, || chrono::Utc::now().timestamp_millis())?;
            if p.delivered + p.failed > 0 {
                eprintln!("{}: delivered {}, failed {}, waiting {}", sub.name, p.delivered, p.failed, p.waiting);
            }
            busy |= p.delivered > 0;
            failing |= p.failed + p.waiting > 0;
        }
        if until_idle && !busy {
            return Ok(if failing { ExitCode::from(1) } else { ExitCode::SUCCESS });
        }
        if !busy {
            std::thread::sleep(poll);
        }
    }
}

//! `credit-host replay` and `credit-host journal`: the journal of mutating
//! calls, listed, and run through another build of the component.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use comfy_table::Table;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value as Json;

use crate::Component;
use crate::journal::Record;
use crate::replay::{self, ReplayReport};
use crate::store::{Backend, PostgresBackend, SqliteBackend};

/// Arguments of `replay`.
#[derive(clap::Args)]
pub struct ReplayArgs {
    /// The database whose journal is replayed (a copy of the live one, or
    /// the live one: it is only read). A SQLite file or a `postgres://` URL.
    #[arg(long, env = "CREDIT_DB")]
    db: crate::Database,
    /// The build to try: a component `.wasm` file. The one this host
    /// embeds when not given.
    #[arg(long)]
    component: Option<PathBuf>,
    /// How many differences to print in full (all are counted).
    #[arg(long, default_value_t = 3)]
    show: usize,
}

/// Arguments of `journal`.
#[derive(clap::Args)]
pub struct JournalArgs {
    /// The database: a SQLite file, or a `postgres://` URL.
    #[arg(long, env = "CREDIT_DB")]
    db: crate::Database,
    /// Only this merchant's calls.
    #[arg(long)]
    merchant: Option<String>,
    /// Start after this position.
    #[arg(long, default_value_t = 0)]
    after: u64,
    /// At most this many records.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Print each record as a JSON line instead of a table.
    #[arg(long)]
    json: bool,
}

/// Opens `db` to read its journal.
fn source(db: &crate::Database) -> Result<Box<dyn Backend>> {
    Ok(match db {
        crate::Database::Sqlite(path) => Box::new(SqliteBackend::open_read_only(path)?),
        crate::Database::Postgres(url) => Box::new(PostgresBackend::connect(url)?),
    })
}

/// Exit status 0 when every answer is the recorded one, 1 when any differs.
pub fn replay(embedded: impl FnOnce() -> Result<Component>, args: &ReplayArgs) -> Result<ExitCode> {
    let (component, name) = match &args.component {
        Some(path) => {
            let wasm = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            (Component::from_bytes(&wasm).with_context(|| format!("loading {}", path.display()))?, path.display().to_string())
        }
        None => (embedded()?, "the embedded component".to_owned()),
    };
    let mut db = source(&args.db)?;
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("replaying {pos} calls ({per_sec})").unwrap_or_else(|_| ProgressStyle::default_spinner()));
    let started = std::time::Instant::now();
    let report = replay::replay(db.as_mut(), &component, args.show, &mut |n| bar.set_position(n))?;
    let took = started.elapsed();
    bar.finish_and_clear();
    print!("{}", render(&report, &args.db.to_string(), &name, took));
    Ok(if report.different() == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The replay's report as printed: the differences in full, first
/// divergence first, then the summary per function.
pub fn render(report: &ReplayReport, db: &str, component: &str, took: std::time::Duration) -> String {
    let mut out = format!("replayed the journal of {db} through {component}\n");
    for (i, d) in report.differences.iter().enumerate() {
        let first = if i == 0 { "first difference" } else { "difference" };
        out.push_str(&format!("\n{first}: call {} {} (merchant {})\n", d.seq, d.function, d.merchant));
        if let Some(key) = d.args.pointer("/ctx/idempotency-key").and_then(Json::as_str) {
            out.push_str(&format!("  idempotency key {key}\n"));
        }
        for p in &d.paths {
            out.push_str(&format!("  {p}\n"));
        }
        let mut side = Table::new();
        side.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
        side.set_header(["recorded", "replayed"]);
        side.add_row([pretty(&d.recorded), pretty(&d.replayed)]);
        out.push_str(&format!("{side}\n"));
    }
    let mut table = Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["function", "replayed", "identical", "different"]);
    for (f, c) in &report.per_function {
        table.add_row([f.clone(), c.replayed.to_string(), c.identical.to_string(), (c.replayed - c.identical).to_string()]);
    }
    table.add_row(["total".to_owned(), report.replayed.to_string(), report.identical.to_string(), report.different().to_string()]);
    let rate = report.replayed as f64 / took.as_secs_f64().max(1e-9);
    out.push_str(&format!("\n{table}\n{} calls replayed, {} identical, {} different ({:.1} s, {rate:.0} calls/s)\n", report.replayed, report.identical, report.different(), took.as_secs_f64()));
    out
}

/// JSON, indented, for the side-by-side table.
fn pretty(v: &Json) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// Lists journal records.
pub fn list(args: &JournalArgs) -> Result<ExitCode> {
    let mut db = source(&args.db)?;
    let mut table = Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["#", "merchant", "function", "now-ms", "idempotency key", "answer"]);
    let (mut after, mut shown) = (args.after, 0);
    'pages: loop {
        let page = db.journal_scan(after, 500)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for row in page {
            if args.merchant.as_ref().is_some_and(|m| *m != row.merchant) {
                continue;
            }
            if shown == args.limit {
                break 'pages;
            }
            shown += 1;
            let record = Record::parse(&row.record).with_context(|| format!("journal record {}", row.seq))?;
            if args.json {
                let mut line = serde_json::to_value(Json::Object(Default::default()))?;
                line["seq"] = row.seq.into();
                line["merchant"] = row.merchant.clone().into();
                line["record"] = serde_json::from_slice(&row.record)?;
                println!("{line}");
                continue;
            }
            // The context is the first argument in both encodings.
            let ctx = match &record.args {
                Json::Array(a) => a.first().cloned().unwrap_or_default(),
                Json::Object(o) => o.get("ctx").cloned().unwrap_or_default(),
                _ => Json::Null,
            };
            let field = |a: &str, b: &str| ctx.get(a).or_else(|| ctx.get(b)).map(|v| v.to_string().trim_matches('"').to_owned()).unwrap_or_default();
            let outcome = match &record.answer {
                Json::Object(o) if o.contains_key("Ok") || o.contains_key("ok") => "ok".to_owned(),
                Json::Object(o) => {
                    let err = o.get("Err").or_else(|| o.get("err")).cloned().unwrap_or_default();
                    let tag = err.get("tag").cloned().unwrap_or(err);
                    format!("err {}", tag.as_object().and_then(|o| o.keys().next().cloned()).unwrap_or_else(|| tag.to_string().trim_matches('"').to_owned()))
                }
                other => other.to_string(),
            };
            table.add_row([row.seq.to_string(), row.merchant, record.function, field("now_ms", "now-ms"), field("idempotency_key", "idempotency-key"), outcome]);
        }
    }
    if !args.json {
        println!("{table}");
    }
    Ok(ExitCode::SUCCESS)
}

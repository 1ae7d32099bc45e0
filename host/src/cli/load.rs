//! `credit-host load`: one host process driving checkout calls at a
//! database, and the benchmark table that runs 1, 2, 4 and 8 of them at
//! once on SQLite and on PostgreSQL (`bench --only processes`).
//!
//! A load process opens its database, prints `ready`, waits for a line on
//! standard input (so every process starts at once), then runs its
//! iterations: an `authorize` of `--amount`, and a `void-hold` of the hold
//! when approved (so the account's exposure and open holds stay flat), each
//! timed. It prints one JSON line: calls, elapsed time, every call's latency
//! in microseconds, and its contention (lock waits, retries).

use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use crate::api::*;
use crate::{Component, Contention, Database, Ledger, MerchantId};

/// Arguments of `load`.
#[derive(clap::Args)]
pub struct Args {
    /// The database: a SQLite file, or a `postgres://` URL.
    #[arg(long, env = "CREDIT_DB")]
    db: Database,
    /// The merchant.
    #[arg(long)]
    merchant: String,
    /// The account every call is made on (it must exist).
    #[arg(long)]
    account: String,
    /// Iterations: each an authorize, and a void when approved.
    #[arg(long, default_value_t = 1000)]
    iterations: usize,
    /// The amount of each order.
    #[arg(long, default_value = "1.00")]
    amount: String,
    /// Prefix of idempotency keys and order ids (unique per process).
    #[arg(long)]
    key_prefix: String,
    /// The time passed in with every call (ms since 1970).
    #[arg(long, default_value_t = 1_772_409_600_000)]
    now_ms: i64,
}

/// What a load process did.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct LoadReport {
    /// Calls made (authorizations and voids).
    pub calls: usize,
    /// Authorizations approved.
    pub approved: usize,
    /// From the start signal to the last answer.
    pub elapsed_us: u64,
    /// Every call's latency, in microseconds.
    pub latencies_us: Vec<u32>,
    /// How its calls met other processes'.
    pub contention: Contention,
}

/// Runs one load process (see the module documentation).
pub fn run(component: &Component, args: &Args) -> Result<std::process::ExitCode> {
    let mut ledger = Ledger::open(component, &args.db)?;
    let m = MerchantId::new(args.merchant.clone())?;
    let currency = match ledger.get_account(&m, &args.account, args.now_ms)? {
        Ok(s) => s.currency,
        Err(e) => bail!("account {}: {e:?}", args.account),
    };
    println!("ready");
    std::io::stdout().flush()?;
    let mut go = String::new();
    std::io::stdin().lock().read_line(&mut go)?;

    let mut latencies = Vec::with_capacity(args.iterations * 2);
    let mut approved = 0;
    let started = Instant::now();
    let mut timed = |f: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        let t = Instant::now();
        f()?;
        latencies.push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
        Ok(())
    };
    for i in 0..args.iterations {
        let ctx = CallContext { idempotency_key: format!("{}-a{i}", args.key_prefix), now_ms: args.now_ms };
        let req = AuthorizeRequest {
            account_id: args.account.clone(),
            order_id: format!("{}-{i}", args.key_prefix),
            amount: Money { amount: args.amount.clone(), currency: currency.clone() },
            hold_ttl_s: None,
            open_ended: None,
        };
        let mut answer = None;
        timed(&mut || {
            answer = Some(ledger.authorize(&m, &ctx, &req)?.map_err(|e| anyhow!("authorize: {e:?}"))?);
            Ok(())
        })?;
        if let Some(Authorization::Approved(a)) = answer {
            approved += 1;
            let ctx = CallContext { idempotency_key: format!("{}-v{i}", args.key_prefix), now_ms: args.now_ms };
            timed(&mut || {
                ledger.void_hold(&m, &ctx, &a.hold.hold_id)?.map_err(|e| anyhow!("void-hold: {e:?}"))?;
                Ok(())
            })?;
        }
    }
    let elapsed_us = started.elapsed().as_micros() as u64;
    let report = LoadReport { calls: latencies.len(), approved, elapsed_us, latencies_us: latencies, contention: ledger.contention() };
    println!("{}", serde_json::to_string(&report)?);
    Ok(std::process::ExitCode::SUCCESS)
}

/// One row of the processes table.
struct Row {
    store: &'static str,
    accounts: &'static str,
    processes: usize,
    calls: usize,
    per_sec: f64,
    p50_us: u32,
    p99_us: u32,
    contention: Contention,
    /// The share of the machine's CPU time that was busy during the run
    /// (every core; the database server's included when it is local).
    cpu_busy_pct: Option<f64>,
}

/// (busy, total) CPU time of the machine so far, in clock ticks, from
/// `/proc/stat` (Linux); `None` elsewhere.
fn cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat.lines().next()?.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    let total: u64 = fields.iter().sum();
    let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// Table 9: 1, 2, 4 and 8 host processes on one database, all on one
/// account or each on its own account of one merchant, on SQLite and (when
/// `postgres` names a server) on PostgreSQL. Each process runs
/// `iterations` authorize + void pairs; calls/s is every process's calls
/// over the time from the start signal to the last process's end.
pub fn processes_table(postgres: Option<&str>, iterations: usize) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("credit-processes-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let cache = dir.join("component-cache");
    // Compiled once here; every process loads it from the cache.
    Component::embedded_cached(&cache)?;
    let mut rows = Vec::new();
    // Per store kind: its name and how to make the database for N processes.
    type MakeStore = Box<dyn Fn(usize) -> Result<Database>>;
    let mut stores: Vec<(&'static str, MakeStore)> = Vec::new();
    {
        let dir = dir.clone();
        stores.push(("SQLite", Box::new(move |n| Ok(Database::Sqlite(dir.join(format!("processes-{n}.sqlite")))))));
    }
    if let Some(url) = postgres {
        let url = url.to_owned();
        stores.push(("PostgreSQL", Box::new(move |n| Ok(Database::Postgres(fresh_schema(&url, &format!("bench_processes_{n}"))?)))));
    }
    let mut run_no = 0;
    for (store, database) in &stores {
        for (accounts, shared) in [("one", true), ("different", false)] {
            for processes in [1, 2, 4, 8] {
                run_no += 1;
                let db = database(run_no)?;
                rows.push(one_run(&cache, &db, store, accounts, shared, processes, iterations)?);
            }
        }
    }
    println!("\n### Many host processes on one database\n");
    println!("Each process: {iterations} authorize + void-hold pairs on its account; one account shared by all, or one account each.\n");
    println!("| store | accounts | processes | calls | calls/s | p50 µs | p99 µs | lock waits | retries | vs 1 process | CPU busy |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let base = rows.iter().find(|b| b.store == r.store && b.accounts == r.accounts && b.processes == 1).map_or(r.per_sec, |b| b.per_sec);
        println!(
            "| {} | {} | {} | {} | {:.0} | {} | {} | {} | {} | {:.2}x | {} |",
            r.store,
            r.accounts,
            r.processes,
            r.calls,
            r.per_sec,
            r.p50_us,
            r.p99_us,
            r.contention.lock_waits,
            r.contention.retries,
            r.per_sec / base,
            r.cpu_busy_pct.map_or_else(|| "-".to_owned(), |p| format!("{p:.0}%"))
        );
    }
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// A URL for a fresh schema `schema` (dropped first if it exists) in the
/// database at `url`.
fn fresh_schema(url: &str, schema: &str) -> Result<String> {
    let mut admin = postgres::Client::connect(url, postgres::NoTls).context("connecting to PostgreSQL for the benchmark")?;
    admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"))?;
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{sep}options=-c%20search_path%3D{schema}"))
}

fn one_run(
    cache: &std::path::Path,
    db: &Database,
    store: &'static str,
    accounts: &'static str,
    shared: bool,
    processes: usize,
    iterations: usize,
) -> Result<Row> {
    let component = Component::embedded_cached(cache)?;
    let m = MerchantId::new("bench")?;
    let account = |p: usize| if shared { "shared".to_owned() } else { format!("own-{p}") };
    {
        let mut ledger = Ledger::open(&component, db)?;
        for p in 0..if shared { 1 } else { processes } {
            let req = OpenAccountRequest {
                account_id: account(p),
                customer_id: format!("c-{}", account(p)),
                currency: "GBP".into(),
                credit_limit: "1000000000.00".into(),
                tolerance: Tolerance::None,
                terms: PaymentTerms { net_days: 30, basis: TermBasis::InvoiceDate, discount: None, instalments: vec![], months: None, day_of_month: None, cut_off_day: None },
                policy: BillingPolicy {
                    grace_days: 0,
                    late_fee: None,
                    interest: None,
                    reminders: vec![],
                    hold_after_days_overdue: None,
                    small_difference_max: "0".into(),
                    small_difference_treatment: SmallDifferenceTreatment::WriteOff,
                    statement_day: None,
                    open_ended_holds: None,
                },
                opened_by: "bench".into(),
                company_id: None,
            };
            let ctx = CallContext { idempotency_key: format!("open-{p}"), now_ms: 1_772_409_600_000 };
            ledger.open_account(&m, &ctx, &req)?.map_err(|e| anyhow!("open-account: {e:?}"))?;
        }
        ledger.backend().close()?;
    }
    let exe = std::env::current_exe()?;
    let db_arg = match db {
        Database::Sqlite(p) => p.display().to_string(),
        Database::Postgres(u) => u.clone(),
    };
    let mut children = Vec::new();
    for p in 0..processes {
        let mut child = Command::new(&exe)
            .arg("--component-cache")
            .arg(cache)
            .args(["load", "--db", &db_arg, "--merchant", "bench", "--account", &account(p), "--key-prefix", &format!("p{p}")])
            .args(["--iterations", &iterations.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting a load process")?;
        let mut out = std::io::BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        out.read_line(&mut line)?;
        anyhow::ensure!(line.trim() == "ready", "a load process did not start: {line:?}");
        children.push((child, out));
    }
    let cpu_before = cpu_ticks();
    let started = Instant::now();
    for (child, _) in &mut children {
        writeln!(child.stdin.as_mut().expect("piped"), "go")?;
    }
    let mut reports = Vec::new();
    for (mut child, mut out) in children {
        let mut line = String::new();
        out.read_line(&mut line)?;
        anyhow::ensure!(child.wait()?.success(), "a load process failed");
        reports.push(serde_json::from_str::<LoadReport>(&line).with_context(|| format!("a load process's report: {line:?}"))?);
    }
    let wall = started.elapsed().max(Duration::from_micros(1));
    let cpu_busy_pct = match (cpu_before, cpu_ticks()) {
        (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => Some((b1 - b0) as f64 * 100.0 / (t1 - t0) as f64),
        _ => None,
    };
    let mut latencies: Vec<u32> = reports.iter().flat_map(|r| r.latencies_us.iter().copied()).collect();
    latencies.sort_unstable();
    let n = latencies.len().max(1);
    let contention = reports.iter().fold(Contention::default(), |a, r| Contention {
        lock_waits: a.lock_waits + r.contention.lock_waits,
        retries: a.retries + r.contention.retries,
    });
    Ok(Row {
        store,
        accounts,
        processes,
        calls: latencies.len(),
        per_sec: latencies.len() as f64 / wall.as_secs_f64(),
        p50_us: latencies.get(n / 2).copied().unwrap_or(0),
        p99_us: latencies.get((n * 99 / 100).min(n - 1)).copied().unwrap_or(0),
        contention,
        cpu_busy_pct,
    })
}

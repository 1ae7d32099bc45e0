//! `credit-host bench`: what a call costs, through the component and
//! natively, warm and fresh, in memory and on SQLite, with small and large
//! histories. Prints Markdown tables (pasted into BENCHMARKS.md).
//!
//! Timings are wall-clock per call (the host's clock, never the
//! component's); medians and p99s are over every call of a run.

mod bank;
mod events;

use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use credit_guest::engine::Engine;
use credit_guest::kv::MemKv;
use credit_guest::model as m;

use crate::api::*;
use crate::pool::LedgerPool;
use crate::{COMPONENT_WASM, Component, Ledger, MerchantId};

const T0: i64 = 1_772_409_600_000;
const ACCOUNTS: usize = 500;

/// Latency and throughput of one run.
struct Stats {
    name: String,
    calls: usize,
    median: Duration,
    p99: Duration,
    per_sec: f64,
    /// Median fuel per call, through the component.
    fuel: Option<u64>,
}

fn stats(name: impl Into<String>, mut samples: Vec<Duration>, wall: Duration) -> Stats {
    samples.sort();
    let n = samples.len().max(1);
    Stats {
        name: name.into(),
        calls: samples.len(),
        median: samples[n / 2],
        p99: samples[(n * 99 / 100).min(n - 1)],
        per_sec: samples.len() as f64 / wall.as_secs_f64(),
        fuel: None,
    }
}

/// `stats` with the median of the fuel each call used (none natively).
fn stats_fuel(name: impl Into<String>, samples: Vec<Duration>, wall: Duration, mut fuel: Vec<u64>) -> Stats {
    fuel.sort_unstable();
    Stats { fuel: fuel.get(fuel.len() / 2).copied(), ..stats(name, samples, wall) }
}

fn time(n: usize, mut f: impl FnMut(usize) -> Result<()>) -> Result<(Vec<Duration>, Duration)> {
    let mut samples = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        f(i)?;
        samples.push(t.elapsed());
    }
    Ok((samples, start.elapsed()))
}

fn us(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e6)
}

fn ok<T>(r: Result<std::result::Result<T, CreditError>>) -> Result<T> {
    r?.map_err(|e| anyhow!("refused: {e:?}"))
}

fn ctx(key: String) -> CallContext {
    CallContext { idempotency_key: key, now_ms: T0 }
}

fn nctx(key: String) -> m::Ctx {
    m::Ctx { idempotency_key: key, now_ms: T0 }
}

fn gbp(a: &str) -> Money {
    Money { amount: a.into(), currency: "GBP".into() }
}

fn ngbp(a: &str) -> m::MoneyInput {
    m::MoneyInput { amount: a.into(), currency: "GBP".into() }
}

fn policy() -> BillingPolicy {
    BillingPolicy {
        grace_days: 7,
        late_fee: Some("15.00".into()),
        interest: Some(InterestRule { annual_rate_percent: "8".into(), day_count: DayCount::Actual365Fixed }),
        reminders: vec![ReminderStep { offset_days: 0, level: 1 }, ReminderStep { offset_days: 7, level: 2 }],
        hold_after_days_overdue: Some(30),
        small_difference_max: "0.05".into(),
        small_difference_treatment: SmallDifferenceTreatment::WriteOff,
        statement_day: None,
        open_ended_holds: None,
    }
}

fn open_request(id: &str, limit: &str) -> OpenAccountRequest {
    OpenAccountRequest {
        account_id: id.into(),
        customer_id: format!("c-{id}"),
        currency: "GBP".into(),
        credit_limit: limit.into(),
        tolerance: Tolerance::None,
        terms: PaymentTerms { net_days: 30, basis: TermBasis::InvoiceDate, discount: None, instalments: vec![], months: None, day_of_month: None, cut_off_day: None },
        policy: policy(),
        opened_by: "bench".into(),
        company_id: None,
    }
}

fn native_open(id: &str, limit: &str) -> m::OpenAccount {
    m::OpenAccount {
        account_id: id.into(),
        customer_id: format!("c-{id}"),
        currency: "GBP".into(),
        credit_limit: limit.into(),
        tolerance: m::ToleranceInput::None,
        terms: m::TermsInput { net_days: 30, basis: m::TermBasis::InvoiceDate, discount: None, instalments: vec![], months: None, day_of_month: None, cut_off_day: None },
        policy: m::PolicyInput {
            grace_days: 7,
            late_fee: Some("15.00".into()),
            interest: Some(m::InterestInput { annual_rate_percent: "8".into(), day_count: m::DayCount::Actual365Fixed }),
            reminders: vec![m::ReminderStep { offset_days: 0, level: 1 }, m::ReminderStep { offset_days: 7, level: 2 }],
            hold_after_days_overdue: Some(30),
            small_difference_max: "0.05".into(),
            small_difference_treatment: m::SmallDifferenceTreatment::WriteOff,
            statement_day: None,
            open_ended_holds: None,
        },
        opened_by: "bench".into(),
        company_id: None,
    }
}

fn acct(i: usize) -> String {
    format!("a{:04}", i % ACCOUNTS)
}

/// The operations measured, on the component (`ledger`) or natively.
enum Target<'a> {
    Component(&'a mut Ledger, &'a MerchantId),
    Native(&'a mut Engine<MemKv>),
}

impl Target<'_> {
    /// The fuel of the last call, through the component.
    fn fuel(&self) -> Option<u64> {
        match self {
            Target::Component(l, _) => Some(l.last_call_fuel()),
            Target::Native(_) => None,
        }
    }

    fn open_all(&mut self, limit: &str) -> Result<()> {
        for i in 0..ACCOUNTS {
            let id = acct(i);
            match self {
                Target::Component(l, mm) => drop(ok(l.open_account(mm, &ctx(format!("open-{id}")), &open_request(&id, limit)))?),
                Target::Native(e) => drop(e.open_account(&nctx(format!("open-{id}")), &native_open(&id, limit)).map_err(|e| anyhow!("{e:?}"))?),
            }
        }
        Ok(())
    }

    fn authorize(&mut self, key: String, account: &str, order: String, amount: &str) -> Result<Option<String>> {
        Ok(match self {
            Target::Component(l, mm) => {
                let req = AuthorizeRequest { account_id: account.into(), order_id: order, amount: gbp(amount), hold_ttl_s: None, open_ended: None };
                match ok(l.authorize(mm, &ctx(key), &req))? {
                    Authorization::Approved(a) => Some(a.hold.hold_id),
                    Authorization::Declined(_) => None,
                }
            }
            Target::Native(e) => {
                let req = m::Authorize { account_id: account.into(), order_id: order, amount: ngbp(amount), hold_ttl_s: None, open_ended: None };
                match e.authorize(&nctx(key), &req).map_err(|e| anyhow!("{e:?}"))? {
                    m::Authorization::Approved { hold, .. } => Some(hold.hold_id),
                    m::Authorization::Declined { .. } => None,
                }
            }
        })
    }

    fn capture(&mut self, key: String, hold: &str, amount: &str) -> Result<()> {
        match self {
            Target::Component(l, mm) => {
                let req =
                    CaptureRequest { hold_id: hold.into(), amount: gbp(amount), lines: vec![], delivery_date: None, terms: None, delivery: None, rest: None };
                ok(l.capture(mm, &ctx(key), &req)).map(drop)
            }
            Target::Native(e) => {
                let req = m::Capture { hold_id: hold.into(), amount: ngbp(amount), lines: vec![], delivery_date: None, terms: None, delivery: None, rest: None };
                e.capture(&nctx(key), &req).map(drop).map_err(|e| anyhow!("{e:?}"))
            }
        }
    }

    fn void(&mut self, key: String, hold: &str) -> Result<()> {
        match self {
            Target::Component(l, mm) => ok(l.void_hold(mm, &ctx(key), hold)).map(drop),
            Target::Native(e) => e.void_hold(&nctx(key), hold).map(drop).map_err(|e| anyhow!("{e:?}")),
        }
    }

    fn apply_balance(&mut self, key: String, account: &str, order: String) -> Result<()> {
        match self {
            Target::Component(l, mm) => {
                let req = ApplyBalanceRequest { account_id: account.into(), order_id: order, amount: gbp("0.01"), mode: None };
                ok(l.apply_balance(mm, &ctx(key), &req)).map(drop)
            }
            Target::Native(e) => {
                let req = m::ApplyBalance { account_id: account.into(), order_id: order, amount: ngbp("0.01"), mode: None };
                e.apply_balance(&nctx(key), &req).map(drop).map_err(|e| anyhow!("{e:?}"))
            }
        }
    }

    fn pay(&mut self, key: String, account: &str, amount: &str) -> Result<()> {
        match self {
            Target::Component(l, mm) => {
                let req = RecordPaymentRequest {
                    account_id: account.into(),
                    amount: gbp(amount),
                    received_on: "2026-03-02".into(),
                    method: "card".into(),
                    reference: "bench".into(),
                    allocations: vec![],
                    spread: None,
                };
                ok(l.record_payment(mm, &ctx(key), &req)).map(drop)
            }
            Target::Native(e) => {
                let req = m::RecordPayment {
                    account_id: account.into(),
                    amount: ngbp(amount),
                    received_on: "2026-03-02".into(),
                    method: "card".into(),
                    reference: "bench".into(),
                    allocations: vec![],
                    spread: None,
                };
                e.record_payment(&nctx(key), &req).map(drop).map_err(|e| anyhow!("{e:?}"))
            }
        }
    }

    fn day_close(&mut self, key: String, account: &str, day: u32) -> Result<()> {
        let now_ms = T0 + i64::from(day) * 86_400_000;
        let date = credit_guest::dates::format(credit_guest::dates::day_of(now_ms));
        match self {
            Target::Component(l, mm) => ok(l.day_close(mm, &CallContext { idempotency_key: key, now_ms }, account, &date)).map(drop),
            Target::Native(e) => e.day_close(&m::Ctx { idempotency_key: key, now_ms }, account, &date).map(drop).map_err(|e| anyhow!("{e:?}")),
        }
    }
}

/// Runs the six operations on a fresh target; returns one `Stats` each.
fn suite(label: &str, mut t: Target<'_>, n: usize) -> Result<Vec<Stats>> {
    let mut out = Vec::new();
    t.open_all("1000000.00")?;
    let mut fuel = Vec::with_capacity(n);
    // Approvals, spread over the accounts (holds per account stay < 64).
    let mut holds = Vec::with_capacity(n);
    let (s, w) = time(n, |i| {
        let h = t.authorize(format!("ap-{i}"), &acct(i), format!("O{i}"), "1.00")?.ok_or_else(|| anyhow!("declined"))?;
        fuel.extend(t.fuel());
        holds.push(h);
        Ok(())
    })?;
    out.push(stats_fuel(format!("authorize (approve) [{label}]"), s, w, std::mem::take(&mut fuel)));
    let (s, w) = time(n, |i| {
        t.authorize(format!("de-{i}"), &acct(i), format!("D{i}"), "9999999.00")?.map_or(Ok(()), |_| Err(anyhow!("approved")))?;
        fuel.extend(t.fuel());
        Ok(())
    })?;
    out.push(stats_fuel(format!("authorize (decline) [{label}]"), s, w, std::mem::take(&mut fuel)));
    let (s, w) = time(n / 2, |i| {
        t.capture(format!("ca-{i}"), &holds[i], "1.00")?;
        fuel.extend(t.fuel());
        Ok(())
    })?;
    out.push(stats_fuel(format!("capture [{label}]"), s, w, std::mem::take(&mut fuel)));
    for (i, h) in holds.iter().enumerate().skip(n / 2) {
        t.void(format!("vo-{i}"), h)?;
    }
    let (s, w) = time(n, |i| {
        t.pay(format!("pa-{i}"), &acct(i), "2.00")?;
        fuel.extend(t.fuel());
        Ok(())
    })?;
    out.push(stats_fuel(format!("record-payment [{label}]"), s, w, std::mem::take(&mut fuel)));
    let (s, w) = time(n, |i| {
        t.apply_balance(format!("ab-{i}"), &acct(i), format!("B{i}"))?;
        fuel.extend(t.fuel());
        Ok(())
    })?;
    out.push(stats_fuel(format!("apply-balance [{label}]"), s, w, std::mem::take(&mut fuel)));
    let days = (n / ACCOUNTS).max(1);
    let (s, w) = time(ACCOUNTS * days, |i| {
        t.day_close(format!("dc-{i}"), &acct(i), (i / ACCOUNTS) as u32)?;
        fuel.extend(t.fuel());
        Ok(())
    })?;
    out.push(stats_fuel(format!("day-close [{label}]"), s, w, std::mem::take(&mut fuel)));
    Ok(out)
}

fn table(title: &str, rows: &[Stats]) {
    println!("\n### {title}\n");
    println!("| operation | calls | median µs | p99 µs | calls/s |");
    println!("|---|---:|---:|---:|---:|");
    for r in rows {
        println!("| {} | {} | {} | {} | {:.0} |", r.name, r.calls, us(r.median), us(r.p99), r.per_sec);
    }
}

/// The tables `bench` prints; `--only` picks some.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Table {
    /// Each operation through the component and natively, and fuel.
    Calls,
    /// Warm instance against a fresh instance per call.
    Fresh,
    /// Memory and SQLite, one and several threads, group commit.
    Stores,
    /// Growing histories and crowded accounts.
    History,
    /// Accounts with 10, 1,000 and 100,000 open items.
    Items,
    /// Aging and the debtor list over 1,000, 10,000 and 100,000 accounts.
    Reports,
    /// The same calls in wasmtime and in Node.js (jco), for both builds
    /// (needs `npm ci && npm run transpile` in host/node first).
    Hosts,
    /// The journal of mutating calls: authorize with it on and off (memory
    /// and SQLite), bytes per call by function, replay speed.
    Journal,
    /// 1, 2, 4 and 8 host processes on one database, on one account and on
    /// different accounts: SQLite, and PostgreSQL with `--postgres`.
    Processes,
    /// A 10,000-line bank statement read and matched, memory and SQLite.
    Bank,
    /// Business events: what writing them costs a call, and dispatching
    /// 10,000 to a receiver on 127.0.0.1.
    Events,
}

/// Runs the measurements (all of them when `only` is empty); `n` calls per
/// operation.
pub fn run(component: &Component, n: usize, history_max: usize, only: &[Table], processes: &Processes) -> Result<()> {
    let merchant = MerchantId::new("bench")?;
    let wanted = |t: Table| only.is_empty() || only.contains(&t);
    println!("## Results\n");
    println!("Component: {} bytes. Calls per operation: {n}.", COMPONENT_WASM.len());
    if wanted(Table::Calls) {
        calls_table(component, &merchant, n)?;
    }
    if wanted(Table::Fresh) {
        fresh_table(component, &merchant, n)?;
    }
    if wanted(Table::Stores) {
        stores_table(component, &merchant, n)?;
    }
    if wanted(Table::History) {
        history_table(component, &merchant, n, history_max)?;
    }
    if wanted(Table::Items) {
        items_table(component, &merchant, n)?;
    }
    if wanted(Table::Reports) {
        reports_table(component, &merchant, n)?;
    }
    if wanted(Table::Hosts) {
        hosts_table(n)?;
    }
    if wanted(Table::Journal) {
        journal_table(component, &merchant, n)?;
    }
    if wanted(Table::Bank) {
        bank::bank_table(component, &merchant)?;
    }
    if wanted(Table::Events) {
        events::events_table(component, &merchant, n)?;
    }
    if wanted(Table::Processes) {
        if processes.postgres.is_none() {
            println!("\n(PostgreSQL not measured: pass --postgres URL; `tests/postgres.sh start DIR` starts a throwaway server and prints its URL.)");
        }
        super::load::processes_table(processes.postgres.as_deref(), processes.process_iterations)?;
    }
    Ok(())
}

/// Settings of the processes table.
#[derive(clap::Args)]
pub struct Processes {
    /// The PostgreSQL server for the processes table (a schema is created
    /// in it for each run).
    #[arg(long, env = "CREDIT_BENCH_POSTGRES")]
    pub postgres: Option<String>,
    /// Authorize + void pairs per process in the processes table.
    #[arg(long, default_value_t = 500)]
    pub process_iterations: usize,
}

/// Table 8, one component in two hosts: wasmtime here and Node.js through
/// jco (`host/node/bench.mjs`, run from here so both are measured on the
/// same machine in one run), for the fast and the small build. Same
/// requests on both sides: 500 accounts, approvals of 1.00, declines of
/// 9,999,999.00, reads of an account.
fn hosts_table(n: usize) -> Result<()> {
    let node_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("node");
    let output = std::process::Command::new("node")
        .arg("bench.mjs")
        .arg(n.to_string())
        .current_dir(&node_dir)
        .output()
        .map_err(|e| anyhow!("running node in {}: {e}", node_dir.display()))?;
    if !output.status.success() {
        return Err(anyhow!(
            "node bench.mjs failed (run `npm ci && npm run transpile` in host/node first): {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let node: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout).lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    let merchant = MerchantId::new("bench")?;
    println!("\n### One component, two hosts (memory store, 1 thread)\n");
    println!(
        "Node {}; jco as pinned in host/node/package-lock.json. \"New instance\": wasmtime instantiates from its pre-linked component (pooling allocator) for every call; Node makes a new instance from the compiled core modules (what a trap costs) and calls once. \"Worker\": through `CreditWorker` (a message each way).\n",
        node.first().and_then(|v| v["node"].as_str()).unwrap_or("?")
    );
    println!(
        "| build | bytes | host | compile ms | new instance + a call µs | authorize (approve) median µs | p99 µs | authorize (decline) median µs | get-account median µs | approve fuel | via worker median µs |"
    );
    println!("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (build, bytes) in [("fast", COMPONENT_WASM), ("small", crate::SMALL_COMPONENT_WASM)] {
        let t = Instant::now();
        let component = Component::from_bytes(bytes)?;
        let compile = t.elapsed();
        let mut fresh = Ledger::open_in_memory(&component);
        fresh.set_fresh_instance_per_call(true);
        let (s, _) = time(2_000.min(n), |_| ok(fresh.list_accounts(&merchant, None, 1)).map(drop))?;
        let new_instance = stats("new", s, Duration::ZERO);
        let mut l = Ledger::open_in_memory(&component);
        for i in 0..ACCOUNTS {
            ok(l.open_account(&merchant, &ctx(format!("open-{i}")), &open_request(&acct(i), "1000000.00")))?;
        }
        let mut fuel = Vec::with_capacity(n);
        let (s, w) = time(n, |i| {
            let req = AuthorizeRequest { account_id: acct(i), order_id: format!("O1-{i}"), amount: gbp("1.00"), hold_ttl_s: None, open_ended: None };
            match ok(l.authorize(&merchant, &ctx(format!("ap-{i}")), &req))? {
                Authorization::Approved(_) => {}
                Authorization::Declined(_) => return Err(anyhow!("declined")),
            }
            fuel.push(l.last_call_fuel());
            Ok(())
        })?;
        let approve = stats_fuel("approve", s, w, fuel);
        let (s, w) = time(n, |i| {
            let req = AuthorizeRequest { account_id: acct(i), order_id: format!("O2-{i}"), amount: gbp("9999999.00"), hold_ttl_s: None, open_ended: None };
            ok(l.authorize(&merchant, &ctx(format!("de-{i}")), &req)).map(drop)
        })?;
        let decline = stats("decline", s, w);
        let (s, w) = time(n, |i| ok(l.get_account(&merchant, &acct(i), T0)).map(drop))?;
        let read = stats("read", s, w);
        println!(
            "| {build} | {} | wasmtime | {:.1} | {} | {} | {} | {} | {} | {} | |",
            bytes.len(),
            compile.as_secs_f64() * 1e3,
            us(new_instance.median),
            us(approve.median),
            us(approve.p99),
            us(decline.median),
            us(read.median),
            approve.fuel.unwrap_or(0)
        );
        if let Some(j) = node.iter().find(|v| v["build"] == build) {
            println!(
                "| {build} | {} | Node (jco) | {} | {} | {} | {} | {} | {} | | {} |",
                j["bytes"],
                j["compile_ms"],
                j["instantiate"]["median_us"],
                j["approve"]["median_us"],
                j["approve"]["p99_us"],
                j["decline"]["median_us"],
                j["read"]["median_us"],
                j["worker_approve"]["median_us"]
            );
        }
    }
    Ok(())
}

/// Table 7, reports over many accounts: an aging page and a debtor page
/// read each account's summary and the debtor index, never its entries,
/// so a page costs the same at 1,000 and 100,000 accounts; the whole
/// aging report grows with the accounts, not with their histories.
fn reports_table(component: &Component, merchant: &MerchantId, n: usize) -> Result<()> {
    let at = |date: &str| -> i64 {
        let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("a date");
        d.and_hms_opt(9, 0, 0).expect("09:00").and_utc().timestamp_millis()
    };
    let c = |key: String, date: &str| CallContext { idempotency_key: key, now_ms: at(date) };
    println!("\n### Reports over many accounts (component, memory store)\n");
    println!(
        "Each account: one invoice of £10-£970 on 2 March (due 1 April); every third has paid half, every seventh overpaid £25 (store credit). Pages as of 15 May.\n"
    );
    println!(
        "| accounts | setup s | aging page (100 rows) median µs | fuel | whole aging report: calls | ms | debtor page (50, by balance) median µs | fuel | the same page from the middle µs | sparse filter (utilisation ≥ 99%): rows | accounts read | µs | authorize (approve) fuel |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for size in [1_000usize, 10_000, 100_000] {
        let mut l = Ledger::open_in_memory(component);
        let setup = Instant::now();
        for i in 0..size {
            let id = format!("r{i:06}");
            let limit = format!("{}.00", 1_000 + (i % 50) * 100);
            ok(l.open_account(merchant, &c(format!("o{i}"), "2026-03-01"), &open_request(&id, &limit)))?;
            let amount = format!("{}.00", (i % 97 + 1) * 10);
            let req = AuthorizeRequest { account_id: id.clone(), order_id: format!("S{i}"), amount: gbp(&amount), hold_ttl_s: None, open_ended: None };
            let Authorization::Approved(a) = ok(l.authorize(merchant, &c(format!("a{i}"), "2026-03-02"), &req))? else {
                return Err(anyhow!("declined"));
            };
            let cap =
                CaptureRequest { hold_id: a.hold.hold_id, amount: gbp(&amount), lines: vec![], delivery_date: None, terms: None, delivery: None, rest: None };
            ok(l.capture(merchant, &c(format!("c{i}"), "2026-03-02"), &cap))?;
            let paid = if i % 7 == 0 {
                Some(format!("{}.00", (i % 97 + 1) * 10 + 25))
            } else if i % 3 == 0 {
                Some(format!("{}.00", (i % 97 + 1) * 5))
            } else {
                None
            };
            if let Some(p) = paid {
                let req = RecordPaymentRequest { account_id: id, amount: gbp(&p), received_on: "2026-03-20".into(), ..payment_request() };
                ok(l.record_payment(merchant, &c(format!("p{i}"), "2026-03-20"), &req))?;
            }
        }
        let setup = setup.elapsed();
        let calls = n.clamp(1, 200);
        let aging_req = |after: Option<String>| AgingRequest {
            as_of: "2026-05-15".into(),
            basis: AgingBasis::DueDate,
            edges: vec![],
            currency: None,
            company_id: None,
            after,
            limit: 100,
        };
        let mut fuel = 0;
        let (s, w) = time(calls, |_| {
            ok(l.aging(merchant, &aging_req(None)))?;
            fuel = l.last_call_fuel();
            Ok(())
        })?;
        let (aging_page, aging_fuel) = (stats("aging", s, w), fuel);
        let start = Instant::now();
        let (mut pages, mut after) = (0u64, None);
        loop {
            pages += 1;
            let page = ok(l.aging(merchant, &aging_req(after)))?;
            match page.next_after {
                Some(a) => after = Some(a),
                None => break,
            }
        }
        let whole = start.elapsed();
        let query = |sort, after: Option<String>, utilisation: Option<&str>| DebtorQuery {
            utilisation_min_percent: utilisation.map(str::to_owned),
            after,
            ..DebtorQuery::unfiltered("2026-05-15", sort, 50)
        };
        let (s, w) = time(calls, |_| {
            ok(l.debtors(merchant, &query(DebtorSort::Balance, None, None)))?;
            fuel = l.last_call_fuel();
            Ok(())
        })?;
        let (debtor_page, debtor_fuel) = (stats("debtors", s, w), fuel);
        // A cursor half-way down the list.
        let mut middle = None;
        for _ in 0..size / 100 {
            middle = ok(l.debtors(merchant, &query(DebtorSort::Balance, middle, None)))?.next_after;
        }
        let (s, w) = time(calls, |_| ok(l.debtors(merchant, &query(DebtorSort::Balance, middle.clone(), None))).map(drop))?;
        let middle_page = stats("middle", s, w);
        let (mut sparse_rows, mut sparse_read) = (0, 0);
        let (s, w) = time(calls, |_| {
            let p = ok(l.debtors(merchant, &query(DebtorSort::Utilisation, None, Some("99"))))?;
            (sparse_rows, sparse_read) = (p.rows.len(), p.examined);
            Ok(())
        })?;
        let sparse = stats("sparse", s, w);
        let req = AuthorizeRequest { account_id: "r000001".into(), order_id: "X1".into(), amount: gbp("1.00"), hold_ttl_s: None, open_ended: None };
        ok(l.authorize(merchant, &c("x1".into(), "2026-05-15"), &req))?;
        let authorize_fuel = l.last_call_fuel();
        println!(
            "| {size} | {:.1} | {} | {aging_fuel} | {pages} | {:.1} | {} | {debtor_fuel} | {} | {sparse_rows} | {sparse_read} | {} | {authorize_fuel} |",
            setup.as_secs_f64(),
            us(aging_page.median),
            whole.as_secs_f64() * 1e3,
            us(debtor_page.median),
            us(middle_page.median),
            us(sparse.median),
        );
    }
    Ok(())
}

/// Table 6, accounts with many open items: authorize reads totals only,
/// a payment reads the items it reaches, and day-close works through what
/// is due in parts.
fn items_table(component: &Component, merchant: &MerchantId, n: usize) -> Result<()> {
    let merchant = merchant.clone();
    let at = |date: &str| -> i64 {
        let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("a date");
        d.and_hms_opt(9, 0, 0).expect("09:00").and_utc().timestamp_millis()
    };
    let c = |key: String, date: &str| CallContext { idempotency_key: key, now_ms: at(date) };
    println!("\n### Accounts with many open items (component, memory store)\n");
    println!(
        "| open items | authorize (approve) median µs | fuel | record-payment (reaches 1 item) median µs | most fuel | day-close, nothing due, median µs | fuel | day-close, every open invoice overdue: calls | ms | µs per invoice | fuel per invoice |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for size in [10usize, 1_000, 100_000] {
        let mut l = Ledger::open_in_memory(component);
        ok(l.open_account(&merchant, &c("open".into(), "2026-03-02"), &open_request("big", "1000000000.00")))?;
        for i in 0..size {
            let req = AuthorizeRequest { account_id: "big".into(), order_id: format!("I{i}"), amount: gbp("1.00"), hold_ttl_s: None, open_ended: None };
            let Authorization::Approved(a) = ok(l.authorize(&merchant, &c(format!("ia{i}"), "2026-03-02"), &req))? else {
                return Err(anyhow!("declined"));
            };
            let cap =
                CaptureRequest { hold_id: a.hold.hold_id, amount: gbp("1.00"), lines: vec![], delivery_date: None, terms: None, delivery: None, rest: None };
            ok(l.capture(&merchant, &c(format!("ic{i}"), "2026-03-02"), &cap))?;
        }
        let calls = n.min(2_000);
        let mut fuel = 0;
        let (s, w) = time(calls, |i| {
            let req = AuthorizeRequest { account_id: "big".into(), order_id: format!("A{i}"), amount: gbp("1.00"), hold_ttl_s: None, open_ended: None };
            let Authorization::Approved(a) = ok(l.authorize(&merchant, &c(format!("a{i}"), "2026-03-03"), &req))? else {
                return Err(anyhow!("declined"));
            };
            fuel = l.last_call_fuel();
            ok(l.void_hold(&merchant, &c(format!("v{i}"), "2026-03-03"), &a.hold.hold_id)).map(drop)
        })?;
        let (authorize, authorize_fuel) = (stats("authorize", s, w), fuel);
        // Pennies, so that every payment reaches one item and never more
        // than half of what is owed is paid.
        let calls = calls.min(size * 50);
        fuel = 0;
        let (s, w) = time(calls, |i| {
            let req = RecordPaymentRequest { amount: gbp("0.01"), account_id: "big".into(), ..payment_request() };
            ok(l.record_payment(&merchant, &c(format!("p{i}"), "2026-03-03"), &req))?;
            fuel = fuel.max(l.last_call_fuel());
            Ok(())
        })?;
        let (pay, pay_fuel) = (stats("pay", s, w), fuel);
        // Closes before anything falls due: nothing to do, whatever the size.
        let days: Vec<String> = (4..=24).map(|d| format!("2026-03-{d:02}")).collect();
        let (s, w) = time(days.len(), |i| {
            ok(l.day_close(&merchant, &c(format!("q{i}"), &days[i]), "big", &days[i]))?;
            fuel = l.last_call_fuel();
            Ok(())
        })?;
        let (quiet, quiet_fuel) = (stats("quiet", s, w), fuel);
        // 2 May: every invoice 31 days overdue: fee, interest, reminder each.
        let start = Instant::now();
        let (mut parts, mut close_fuel, mut worked) = (0u64, 0u64, 0u64);
        loop {
            parts += 1;
            let r = ok(l.day_close(&merchant, &c(format!("busy{parts}"), "2026-05-02"), "big", "2026-05-02"))?;
            close_fuel += l.last_call_fuel();
            worked += r.late_fees.len() as u64;
            if r.complete {
                break;
            }
        }
        let busy = start.elapsed();
        println!(
            "| {size} | {} | {authorize_fuel} | {} | {pay_fuel} | {} | {quiet_fuel} | {parts} | {:.1} | {:.1} | {} |",
            us(authorize.median),
            us(pay.median),
            us(quiet.median),
            busy.as_secs_f64() * 1e3,
            busy.as_secs_f64() * 1e6 / worked.max(1) as f64,
            close_fuel / worked.max(1),
        );
    }
    Ok(())
}

/// 1. Through the component (warm instance, memory store) vs natively, and
/// 2. the fuel of one authorize.
fn calls_table(component: &Component, merchant: &MerchantId, n: usize) -> Result<()> {
    let merchant = merchant.clone();
    let mut ledger = Ledger::open_in_memory(component);
    let through = suite("component", Target::Component(&mut ledger, &merchant), n)?;
    let mut engine = Engine::new(MemKv::default());
    let native = suite("native", Target::Native(&mut engine), n)?;
    println!("\n### Component vs native (memory store, warm instance, 1 thread)\n");
    println!("| operation | component median µs | p99 µs | calls/s | median fuel | native median µs | p99 µs | calls/s | ratio (median) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (c, nat) in through.iter().zip(&native) {
        let name = c.name.split(" [").next().unwrap_or(&c.name);
        println!(
            "| {name} | {} | {} | {:.0} | {} | {} | {} | {:.0} | {:.2}x |",
            us(c.median),
            us(c.p99),
            c.per_sec,
            c.fuel.map_or_else(String::new, |f| f.to_string()),
            us(nat.median),
            us(nat.p99),
            nat.per_sec,
            c.median.as_secs_f64() / nat.median.as_secs_f64()
        );
    }

    // 2. Fuel of one authorize.
    let mut fuel_ledger = Ledger::open_in_memory(component);
    ok(fuel_ledger.open_account(&merchant, &ctx("f-open".into()), &open_request("f", "1000.00")))?;
    let req = AuthorizeRequest { account_id: "f".into(), order_id: "F1".into(), amount: gbp("1.00"), hold_ttl_s: None, open_ended: None };
    ok(fuel_ledger.authorize(&merchant, &ctx("f-1".into()), &req))?;
    let fuel_approve = fuel_ledger.last_call_fuel();
    let req = AuthorizeRequest { account_id: "f".into(), order_id: "F2".into(), amount: gbp("5000.00"), hold_ttl_s: None, open_ended: None };
    ok(fuel_ledger.authorize(&merchant, &ctx("f-2".into()), &req))?;
    let fuel_decline = fuel_ledger.last_call_fuel();
    // 1.00 of 1,000.00 leaves the utilisation at 0%; 100.00 more moves it
    // to 10%, and the account to another row of that debtor order.
    let req = AuthorizeRequest { account_id: "f".into(), order_id: "F3".into(), amount: gbp("100.00"), hold_ttl_s: None, open_ended: None };
    ok(fuel_ledger.authorize(&merchant, &ctx("f-3".into()), &req))?;
    let fuel_relisted = fuel_ledger.last_call_fuel();
    println!(
        "\nFuel: one approving `authorize` {fuel_approve}, one declining {fuel_decline}; one approving that moves the account's utilisation by a whole percent (re-listed in that debtor order) {fuel_relisted}."
    );
    Ok(())
}

/// What the journal costs (`crate::journal`): approving `authorize` with it
/// on and off, in memory and on SQLite (fsync per commit); the bytes it
/// keeps per call, by function, after the six operations of `suite`; and
/// how fast that journal replays through the component.
fn journal_table(component: &Component, merchant: &MerchantId, n: usize) -> Result<()> {
    let dir = tempfile_dir()?;
    let mut rows = Vec::new();
    for (store, calls) in [("memory", n), ("sqlite", (n / 10).max(100))] {
        for on in [false, true] {
            let mut ledger = match store {
                "memory" => Ledger::open_in_memory(component),
                _ => Ledger::open_sqlite(component, dir.join(format!("journal-{on}.sqlite")))?,
            };
            ledger.set_journal(on);
            Target::Component(&mut ledger, merchant).open_all("1000000.00")?;
            let mut fuel = Vec::with_capacity(calls);
            // Spread over the accounts, as in the calls table (open holds
            // per account are bounded).
            let (s, w) = time(calls, |i| {
                let req = AuthorizeRequest { account_id: acct(i), order_id: format!("O{i}"), amount: gbp("1.00"), hold_ttl_s: None, open_ended: None };
                ok(ledger.authorize(merchant, &ctx(format!("a{i}")), &req))?;
                fuel.push(ledger.last_call_fuel());
                Ok(())
            })?;
            rows.push(stats_fuel(format!("authorize (approve), {store}, journal {}", if on { "on" } else { "off" }), s, w, fuel));
        }
    }
    println!("\n### The journal: approving `authorize` with it off and on\n");
    println!("| operation | calls | median µs | p99 µs | calls/s | median fuel |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!("| {} | {} | {} | {} | {:.0} | {} |", r.name, r.calls, us(r.median), us(r.p99), r.per_sec, r.fuel.unwrap_or(0));
    }

    let mut ledger = Ledger::open_in_memory(component);
    suite("journal", Target::Component(&mut ledger, merchant), n)?;
    let mut by_function: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    let mut after = 0;
    loop {
        let page = ledger.backend().journal_scan(after, 1000)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for row in page {
            let r = crate::journal::Record::parse(&row.record)?;
            let e = by_function.entry(r.function).or_default();
            e.0 += 1;
            e.1 += row.record.len() as u64;
        }
    }
    println!("\n### Journal bytes per call (after the six operations of the calls table)\n");
    println!("| function | calls | bytes per call |\n|---|---:|---:|");
    let (mut calls, mut bytes) = (0, 0);
    for (f, (c, b)) in &by_function {
        println!("| {f} | {c} | {} |", b / c.max(&1));
        calls += c;
        bytes += b;
    }
    println!("| all | {calls} | {} |", bytes / calls.max(1));
    let start = Instant::now();
    let report = crate::replay::replay(ledger.backend(), component, 0, &mut |_| {})?;
    let took = start.elapsed();
    anyhow::ensure!(report.different() == 0, "the journal replays to the same answers");
    println!(
        "\nReplay of that journal through the same build, on an empty store in memory: {} calls in {:.2} s, {:.0} calls/s, {} different.",
        report.replayed,
        took.as_secs_f64(),
        report.replayed as f64 / took.as_secs_f64(),
        report.different()
    );
    Ok(())
}

/// 3. Warm instance vs a fresh instance per call.
fn fresh_table(component: &Component, merchant: &MerchantId, n: usize) -> Result<()> {
    let merchant = merchant.clone();
    let mut warm_ledger = Ledger::open_in_memory(component);
    ok(warm_ledger.open_account(&merchant, &ctx("open".into()), &open_request("x", "1000000.00")))?;
    let (s, w) = time(n, |i| {
        let req = AuthorizeRequest { account_id: "x".into(), order_id: format!("O{i}"), amount: gbp("9999999.00"), hold_ttl_s: None, open_ended: None };
        ok(warm_ledger.authorize(&merchant, &ctx(format!("k{i}")), &req)).map(drop)
    })?;
    let warm = stats("authorize (decline), warm instance", s, w);
    let mut fresh = Ledger::open_in_memory(component);
    fresh.set_fresh_instance_per_call(true);
    ok(fresh.open_account(&merchant, &ctx("open".into()), &open_request("x", "1000000.00")))?;
    let (s, w) = time(n, |i| {
        let req = AuthorizeRequest { account_id: "x".into(), order_id: format!("O{i}"), amount: gbp("9999999.00"), hold_ttl_s: None, open_ended: None };
        ok(fresh.authorize(&merchant, &ctx(format!("k{i}")), &req)).map(drop)
    })?;
    let fresh_stats = stats("authorize (decline), fresh instance per call", s, w);
    println!("\n### Warm instance vs fresh instance per call (pooling allocator, memory store)\n");
    println!("| mode | median µs | p99 µs | calls/s |\n|---|---:|---:|---:|");
    for r in [&warm, &fresh_stats] {
        println!("| {} | {} | {} | {:.0} |", r.name, us(r.median), us(r.p99), r.per_sec);
    }
    Ok(())
}

/// 4. Stores and threads: record-payment (a durable write each).
fn stores_table(component: &Component, merchant: &MerchantId, n: usize) -> Result<()> {
    let merchant = merchant.clone();
    let dir = tempfile_dir()?;
    let mut rows = Vec::new();
    for threads in [1usize, 4] {
        for store in ["memory", "sqlite"] {
            let pool = match store {
                "memory" => LedgerPool::in_memory(component, threads),
                _ => LedgerPool::sqlite(component, dir.join(format!("bench-{threads}.sqlite")), threads)?,
            };
            pool.with(|l| ok(l.open_account(&merchant, &ctx("open".into()), &open_request("p", "1000.00"))))?;
            let per_thread = (n / threads).max(1);
            let start = Instant::now();
            let samples: Vec<Duration> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let (pool, merchant) = (&pool, &merchant);
                        scope.spawn(move || {
                            time(per_thread, |i| {
                                let req = payment_request();
                                pool.with(|l| ok(l.record_payment(merchant, &ctx(format!("t{t}-{i}")), &req))).map(drop)
                            })
                            .map(|(s, _)| s)
                        })
                    })
                    .collect();
                handles.into_iter().flat_map(|h| h.join().expect("bench thread").expect("bench calls")).collect()
            });
            rows.push(stats(format!("record-payment, {store}, {threads} thread(s)"), samples, start.elapsed()));
        }
    }
    // A storefront has many checkouts in flight at once: callers that each
    // wait for their answer, 4 to 64 of them, share one committing thread.
    for threads in [4usize, 8, 32, 64] {
        let group = group_with_account(component, &dir.join(format!("group-{threads}.sqlite")))?;
        let per_thread = (n / threads).max(1);
        let start = Instant::now();
        let samples: Vec<Duration> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let group = group.clone();
                    scope.spawn(move || {
                        time(per_thread, |i| match group.call(payment_call(format!("t{t}-{i}"))) {
                            crate::serve::Reply::Ok(_) => Ok(()),
                            other => Err(anyhow!("{other:?}")),
                        })
                        .map(|(s, _)| s)
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("bench thread").expect("bench calls")).collect()
        });
        rows.push(stats(format!("record-payment, sqlite group commit, {threads} callers"), samples, start.elapsed()));
    }
    // Pipelined clients, as `serve --group-commit` allows: each keeps
    // `window` calls in flight and counts a call done when its answer (sent
    // only after its group committed) arrives.
    for (clients, window) in [(4usize, 16usize), (4, 64)] {
        let group = group_with_account(component, &dir.join(format!("pipe-{clients}-{window}.sqlite")))?;
        let per_client = (n / clients).max(1);
        let start = Instant::now();
        let samples: Vec<Duration> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..clients)
                .map(|t| {
                    let group = group.clone();
                    scope.spawn(move || -> Result<Vec<Duration>> {
                        let mut in_flight = std::collections::VecDeque::with_capacity(window);
                        let mut samples = Vec::with_capacity(per_client);
                        let wait = |(sent, pending): (Instant, crate::serve::Pending)| -> Result<Duration> {
                            match pending.wait() {
                                crate::serve::Reply::Ok(_) => Ok(sent.elapsed()),
                                other => Err(anyhow!("{other:?}")),
                            }
                        };
                        for i in 0..per_client {
                            if in_flight.len() == window {
                                samples.push(wait(in_flight.pop_front().expect("window is full"))?);
                            }
                            in_flight.push_back((Instant::now(), group.submit(payment_call(format!("c{t}-{i}")))));
                        }
                        while let Some(f) = in_flight.pop_front() {
                            samples.push(wait(f)?);
                        }
                        Ok(samples)
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("bench thread").expect("bench calls")).collect()
        });
        rows.push(stats(format!("record-payment, sqlite group commit, {clients} pipelined clients x {window} in flight"), samples, start.elapsed()));
    }
    table("Stores and threads (record-payment; durable: fsync per commit)", &rows);
    Ok(())
}

/// A group-committing host on a new SQLite file at `path`, with the
/// account `p` open.
fn group_with_account(component: &Component, path: &std::path::Path) -> Result<crate::serve::GroupCommit> {
    let group = crate::serve::GroupCommit::sqlite(component, path, 256)?;
    let open = crate::serve::Call::OpenAccount { merchant: "bench".into(), ctx: ctx("open".into()), req: open_request("p", "1000.00") };
    match group.call(open) {
        crate::serve::Reply::Ok(_) => Ok(group),
        other => Err(anyhow!("{other:?}")),
    }
}

/// A payment of 1.00 into account `p` under idempotency key `key`.
fn payment_call(key: String) -> crate::serve::Call {
    crate::serve::Call::RecordPayment { merchant: "bench".into(), ctx: ctx(key), req: payment_request() }
}

fn payment_request() -> RecordPaymentRequest {
    RecordPaymentRequest {
        account_id: "p".into(),
        amount: gbp("1.00"),
        received_on: "2026-03-02".into(),
        method: "card".into(),
        reference: "r".into(),
        allocations: vec![],
        spread: None,
    }
}

/// 5. History size and open items.
fn history_table(component: &Component, merchant: &MerchantId, n: usize, history_max: usize) -> Result<()> {
    let merchant = merchant.clone();
    let mut sizes = vec![100usize, 10_000];
    if history_max >= 1_000_000 {
        sizes.push(1_000_000);
    }
    // Every account's ledger first, then the measurements interleaved in
    // rounds, so that the machine's drift over a run (often 10-30% here)
    // falls on every row alike instead of on whichever ran last.
    let mut ledgers = Vec::new();
    for &size in &sizes {
        let mut l = Ledger::open_in_memory(component);
        ok(l.open_account(&merchant, &ctx("open".into()), &open_request("h", "1000000000.00")))?;
        // Each hold + void writes 2 entries.
        for i in 0..size / 2 {
            let req = AuthorizeRequest { account_id: "h".into(), order_id: format!("G{i}"), amount: gbp("1.00"), hold_ttl_s: None, open_ended: None };
            if let Authorization::Approved(a) = ok(l.authorize(&merchant, &ctx(format!("g{i}")), &req))? {
                ok(l.void_hold(&merchant, &ctx(format!("gv{i}")), &a.hold.hold_id))?;
            }
        }
        ledgers.push((format!("authorize (decline), {size} entries in history"), "h", l));
    }
    {
        let mut l = Ledger::open_in_memory(component);
        ok(l.open_account(&merchant, &ctx("open".into()), &open_request("big", "1000000000.00")))?;
        for i in 0..60 {
            let req = AuthorizeRequest { account_id: "big".into(), order_id: format!("H{i}"), amount: gbp("1.00"), hold_ttl_s: None, open_ended: None };
            ok(l.authorize(&merchant, &ctx(format!("bh{i}")), &req))?;
        }
        for i in 0..190 {
            let req = AuthorizeRequest { account_id: "big".into(), order_id: format!("I{i}"), amount: gbp("1.00"), hold_ttl_s: None, open_ended: None };
            if let Authorization::Approved(a) = ok(l.authorize(&merchant, &ctx(format!("bi{i}")), &req))? {
                let cap =
                    CaptureRequest { hold_id: a.hold.hold_id, amount: gbp("1.00"), lines: vec![], delivery_date: None, terms: None, delivery: None, rest: None };
                ok(l.capture(&merchant, &ctx(format!("bc{i}")), &cap))?;
            }
        }
        ledgers.push(("authorize (decline), 60 open holds and 190 open invoices".to_owned(), "big", l));
    }
    let calls = n.min(20_000);
    let rounds = 20.min(calls);
    let mut samples: Vec<Vec<Duration>> = ledgers.iter().map(|_| Vec::with_capacity(calls)).collect();
    let mut walls = vec![Duration::ZERO; ledgers.len()];
    for round in 0..rounds {
        for (k, (_, account, l)) in ledgers.iter_mut().enumerate() {
            let (s, w) = time(calls / rounds, |i| {
                let i = round * calls + i;
                let req =
                    AuthorizeRequest { account_id: (*account).into(), order_id: format!("M{i}"), amount: gbp("9999999999.00"), hold_ttl_s: None, open_ended: None };
                ok(l.authorize(&merchant, &ctx(format!("m{i}")), &req)).map(drop)
            })?;
            samples[k].extend(s);
            walls[k] += w;
        }
    }
    let rows: Vec<Stats> = ledgers.iter().zip(samples).zip(walls).map(|(((name, _, _), s), w)| stats(name.clone(), s, w)).collect();
    // The work the component does, which no drift or cache can blur.
    println!("\nFuel of one more decline on each account:");
    for (name, account, l) in ledgers.iter_mut() {
        let req = AuthorizeRequest { account_id: (*account).into(), order_id: "FUEL".into(), amount: gbp("9999999999.00"), hold_ttl_s: None, open_ended: None };
        ok(l.authorize(&merchant, &ctx("fuel".into()), &req))?;
        println!("- {name}: {}", l.last_call_fuel());
    }
    if let (Some(small), Some(large)) = (rows.first(), rows.iter().find(|r| r.name.contains("1000000 entries"))) {
        println!("\n1,000,000 entries against 100: median {:+.1}%.", (large.median.as_secs_f64() / small.median.as_secs_f64() - 1.0) * 100.0);
    }
    table("History size and open items (component, memory store)", &rows);
    Ok(())
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("credit-bench-{}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

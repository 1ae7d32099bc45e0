//! The events table: what writing a call's events costs, and dispatching
//! 10,000 events to a receiver on 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::{Target, acct, ctx, gbp, ok, open_request, stats_fuel, time, us};
use crate::api::*;
use crate::events::dispatch::{self, Backoff, Sender};
use crate::store::{Backend, SqliteBackend};
use crate::{Component, Ledger, MerchantId};

/// Accounts in the dispatch books; 5 events each.
const ACCOUNTS: usize = 2_000;

pub(super) fn events_table(component: &Component, merchant: &MerchantId, n: usize) -> Result<()> {
    println!("\n### Events out: writing them, and dispatching 10,000\n");
    println!("Approving `authorize` (one `hold.placed` event) with the outbox off and on, journal on, memory store:\n");
    println!("| operation | calls | median µs | p99 µs | calls/s | median fuel |");
    println!("|---|---:|---:|---:|---:|---:|");
    for on in [false, true] {
        let mut ledger = Ledger::open_in_memory(component);
        ledger.set_events(on);
        Target::Component(&mut ledger, merchant).open_all("1000000.00")?;
        let mut fuel = Vec::with_capacity(n);
        let (s, w) = time(n, |i| {
            let req = AuthorizeRequest { account_id: acct(i), order_id: format!("O{i}"), amount: gbp("1.00"), hold_ttl_s: None, open_ended: None };
            ok(ledger.authorize(merchant, &ctx(format!("a{i}")), &req))?;
            fuel.push(ledger.last_call_fuel());
            Ok(())
        })?;
        let r = stats_fuel(format!("authorize, events {}", if on { "on" } else { "off" }), s, w, fuel);
        println!("| {} | {} | {} | {} | {:.0} | {} |", r.name, r.calls, us(r.median), us(r.p99), r.per_sec, r.fuel.unwrap_or(0));
    }

    // Where the cost of the outbox goes, per approving `authorize`.
    {
        let mut ledger = Ledger::open_in_memory(component);
        Target::Component(&mut ledger, merchant).open_all("1000000.00")?;
        let c = ctx("probe".into());
        let req = AuthorizeRequest { account_id: acct(0), order_id: "P1".into(), amount: gbp("1.00"), hold_ttl_s: None, open_ended: None };
        let answer = ledger.authorize(merchant, &c, &req)?;
        let ty = &component.inner.types[crate::component::Export::Authorize as usize];
        let plan = crate::values::FuncPlan::of(ty);
        let k = 2_000u32;
        let start = Instant::now();
        for _ in 0..k {
            std::hint::black_box((serde_json::to_value((&c, &req))?, serde_json::to_value(&answer)?));
        }
        let to_value = start.elapsed() / k;
        let (args_rust, answer_rust) = (serde_json::to_value((&c, &req))?, serde_json::to_value(&answer)?);
        let start = Instant::now();
        for _ in 0..k {
            std::hint::black_box(plan.to_wit(&args_rust, &answer_rust)?);
        }
        let to_wit = start.elapsed() / k;
        let (args, answer) = plan.to_wit(&args_rust, &answer_rust)?;
        anyhow::ensure!((args.clone(), answer.clone()) == crate::journal::rust_to_wit(ty, &args_rust, &answer_rust)?, "the plan reads as to_wit does");
        let start = Instant::now();
        for _ in 0..k {
            std::hint::black_box(crate::events::of_call("bench", "checkout.authorize", &args, &answer));
        }
        let derive = start.elapsed() / k;
        println!("
Per call: the typed arguments and answer to JSON {:.1} µs, to the WIT encoding {:.1} µs, the events made {:.1} µs.", to_value.as_secs_f64() * 1e6, to_wit.as_secs_f64() * 1e6, derive.as_secs_f64() * 1e6);
    }

    let (url, received) = receiver()?;
    println!(
        "\n{ACCOUNTS} accounts, each opened, an order approved and captured, and a payment: 10,000 events. Dispatched to a receiver on 127.0.0.1 (axum, answers 200), one POST each, signed; progress written every 100 sends.\n"
    );
    println!("| store | events | dispatch s | events/s | a pass with nothing to send, ms |");
    println!("|---|---:|---:|---:|---:|");
    let path = std::env::temp_dir().join(format!("credit-bench-events-{}.sqlite", std::process::id()));
    for store in ["memory", "SQLite file"] {
        let mut l = books(component, merchant)?;
        let mut sqlite;
        let backend: &mut dyn Backend = if store == "memory" {
            l.backend()
        } else {
            let _ = std::fs::remove_file(&path);
            sqlite = SqliteBackend::open(&path)?;
            crate::store::copy_all(l.backend(), &mut sqlite)?;
            &mut sqlite
        };
        let events = backend.outbox_scan(0, u32::MAX)?.len();
        let sub = dispatch::subscribe(backend, "bench", &url, None, None, &[], 0)?;
        let sender = Sender::new(Duration::from_secs(10));
        let before = received.load(Ordering::Relaxed);
        let clock = || chrono::Utc::now().timestamp_millis();
        let start = Instant::now();
        loop {
            let p = dispatch::pass(backend, &sender, &sub, Backoff::default(), clock)?;
            anyhow::ensure!(p.failed == 0, "the receiver refused {} events", p.failed);
            if p.delivered == 0 {
                break;
            }
        }
        let took = start.elapsed().as_secs_f64();
        let got = received.load(Ordering::Relaxed) - before;
        anyhow::ensure!(got == events as u64, "the receiver got {got} of {events}");
        let start = Instant::now();
        dispatch::pass(backend, &sender, &sub, Backoff::default(), clock)?;
        let idle = start.elapsed();
        println!("| {store} | {events} | {took:.2} | {:.0} | {:.1} |", events as f64 / took, idle.as_secs_f64() * 1e3);
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(())
}

/// 2,000 accounts, each opened, an order approved and captured (invoice),
/// and a payment: 5 events each.
fn books(component: &Component, merchant: &MerchantId) -> Result<Ledger> {
    let mut l = Ledger::open_in_memory(component);
    let day = 1_772_442_000_000;
    let c = |key: String| CallContext { idempotency_key: key, now_ms: day };
    for i in 0..ACCOUNTS {
        let id = format!("e{i:05}");
        ok(l.open_account(merchant, &c(format!("o{i}")), &open_request(&id, "100000.00")))?;
        let req = AuthorizeRequest { account_id: id.clone(), order_id: format!("S{i}"), amount: gbp("120.00"), hold_ttl_s: None, open_ended: None };
        let Authorization::Approved(a) = ok(l.authorize(merchant, &c(format!("a{i}")), &req))? else {
            anyhow::bail!("declined");
        };
        let cap = CaptureRequest { hold_id: a.hold.hold_id, amount: gbp("120.00"), lines: vec![], delivery_date: None, terms: None, delivery: None, rest: None };
        ok(l.capture(merchant, &c(format!("c{i}")), &cap))?;
        let pay = RecordPaymentRequest {
            account_id: id,
            amount: gbp("50.00"),
            received_on: "2026-03-02".into(),
            method: "bank-transfer".into(),
            reference: format!("P{i}"),
            allocations: vec![],
            spread: None,
        };
        ok(l.record_payment(merchant, &c(format!("p{i}")), &pay))?;
    }
    Ok(l)
}

/// A receiver on 127.0.0.1 that answers every POST 200, and how many it got.
fn receiver() -> Result<(String, Arc<AtomicU64>)> {
    let count = Arc::new(AtomicU64::new(0));
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let counted = count.clone();
    std::thread::spawn(move || -> Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            let app = axum::Router::new().route(
                "/hook",
                axum::routing::post(move |_body: axum::body::Bytes| {
                    counted.fetch_add(1, Ordering::Relaxed);
                    async { "ok" }
                }),
            );
            axum::serve(listener, app).await?;
            Ok(())
        })
    });
    Ok((format!("http://{addr}/hook"), count))
}

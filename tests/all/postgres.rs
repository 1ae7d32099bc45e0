//! Many host processes on one PostgreSQL database.
//!
//! These need a server: `tests/run` starts a throwaway one and runs the
//! suite a second time on it with `CREDIT_TEST_POSTGRES` set and these
//! tests included. Without a server they are listed as ignored; with
//! `--include-ignored` and no server they fail, saying so.
//!
//! The rest of the suite runs on PostgreSQL in that pass too (`support::
//! ledger`), the kill-mid-call test (`crash`) and the thread races
//! (`concurrency`) included.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use credit_host::api::*;
use credit_host::serve::{Call, Reply};
use credit_host::{Contention, Ledger, MerchantId, audit};
use rust_decimal::Decimal;

use crate::support::*;

const NEEDS: &str = "needs PostgreSQL: run tests/run, or set CREDIT_TEST_POSTGRES and pass --include-ignored";
const MERCHANT: &str = "northwind";

/// A fresh schema's URL on the suite's server.
fn database() -> String {
    let url = postgres_url().unwrap_or_else(|| panic!("{NEEDS}"));
    fresh_postgres(&url)
}

fn ctx(key: impl Into<String>) -> CallContext {
    CallContext { idempotency_key: key.into(), now_ms: T0 }
}

fn authorize(key: String, account: &str, order: String, amount: &str) -> Call {
    Call::Authorize {
        merchant: MERCHANT.into(),
        ctx: ctx(key),
        req: AuthorizeRequest { account_id: account.into(), order_id: order, amount: gbp(amount), hold_ttl_s: None, open_ended: None },
    }
}

/// A `credit-host serve` process on `url`: calls in on standard input,
/// answers out, and at its clean end a report of its contention.
struct Server {
    child: Child,
    report: std::path::PathBuf,
}

impl Server {
    fn start(url: &str, dir: &std::path::Path, n: usize) -> Server {
        let report = dir.join(format!("server-{n}.json"));
        let child = Command::new(env!("CARGO_BIN_EXE_credit-host-cli"))
            .arg("--component-cache")
            .arg(component_cache())
            .args(["serve", "--db", url, "--report"])
            .arg(&report)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the host starts");
        Server { child, report }
    }

    /// Sends every call, closes standard input, and reads every answer
    /// (`before`: calls it answered earlier).
    fn run(mut self, calls: &[Call], before: usize) -> (Vec<Reply>, Contention) {
        let mut stdin = self.child.stdin.take().unwrap();
        let stdout = self.child.stdout.take().unwrap();
        let input: String = calls.iter().map(|c| serde_json::to_string(c).unwrap() + "\n").collect();
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
        let replies: Vec<Reply> = BufReader::new(stdout).lines().map(|l| serde_json::from_str(&l.unwrap()).unwrap()).collect();
        writer.join().unwrap();
        assert!(self.child.wait().unwrap().success());
        let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&self.report).unwrap()).unwrap();
        assert_eq!(report["calls"], before + calls.len(), "the report counts the calls served");
        (replies, serde_json::from_value(report["contention"].clone()).unwrap())
    }
}

/// Starts `n` servers on `url`, has each answer a first call (so all are
/// up, connected and compiled), then sends each its calls at once.
fn run_servers(url: &str, batches: Vec<Vec<Call>>) -> Vec<(Vec<Reply>, Contention)> {
    let dir = tempfile::tempdir().unwrap();
    let ready = Arc::new(Barrier::new(batches.len()));
    let threads: Vec<_> = batches
        .into_iter()
        .enumerate()
        .map(|(n, calls)| {
            let (url, dir, ready) = (url.to_owned(), dir.path().to_owned(), ready.clone());
            std::thread::spawn(move || {
                let mut server = Server::start(&url, &dir, n);
                let mut stdin = server.child.stdin.take().unwrap();
                let mut stdout = BufReader::new(server.child.stdout.take().unwrap());
                let hello = Call::GetAccount { merchant: MERCHANT.into(), account_id: "nobody".into(), now_ms: T0 };
                writeln!(stdin, "{}", serde_json::to_string(&hello).unwrap()).unwrap();
                let mut line = String::new();
                stdout.read_line(&mut line).unwrap();
                assert!(line.contains("account-not-found") || line.contains("AccountNotFound"), "{line}");
                ready.wait();
                server.child.stdin = Some(stdin);
                server.child.stdout = Some(stdout.into_inner());
                server.run(&calls, 1)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

fn open_accounts(url: &str, accounts: &[&str], limit: &str, tolerance: Tolerance) {
    let mut l = Ledger::open_postgres(component(), url).unwrap();
    let m = MerchantId::new(MERCHANT).unwrap();
    for a in accounts {
        l.open_account(&m, &ctx(format!("open-{a}")), &open_req(a, "GBP", limit, tolerance.clone())).unwrap().unwrap();
    }
}

fn approvals(replies: &[Reply]) -> Vec<Approval> {
    replies
        .iter()
        .filter_map(|r| match r {
            Reply::Ok(v) => match serde_json::from_value::<Authorization>(v.clone()).unwrap() {
                Authorization::Approved(a) => Some(a),
                Authorization::Declined(_) => None,
            },
            other => panic!("every authorization is answered: {other:?}"),
        })
        .collect()
}

#[test]
#[ignore = "needs PostgreSQL (tests/run)"]
fn four_processes_authorizing_on_one_account_never_exceed_limit_and_tolerance() {
    let url = database();
    // 50.00 and 10%: 55.00 of exposure at most, 55 orders of 1.00.
    open_accounts(&url, &["acme"], "50.00", Tolerance::Percent("10".into()));
    let batches: Vec<Vec<Call>> =
        (0..4).map(|p| (0..100).map(|i| authorize(format!("p{p}-{i}"), "acme", format!("SO-{p}-{i}"), "1.00")).collect()).collect();
    let results = run_servers(&url, batches);

    let approved: Vec<Approval> = results.iter().flat_map(|(r, _)| approvals(r)).collect();
    assert_eq!(approved.len(), 55, "400 orders of 1.00 on 55.00: exactly 55 fit, whoever sent them");
    let mut holds: Vec<&str> = approved.iter().map(|a| a.hold.hold_id.as_str()).collect();
    holds.sort();
    holds.dedup();
    assert_eq!(holds.len(), 55, "every approval has a hold of its own");
    let mut l = Ledger::open_postgres(component(), &url).unwrap();
    let s = l.get_account(&MerchantId::new(MERCHANT).unwrap(), "acme", T0).unwrap().unwrap();
    assert_eq!(s.figures.open_holds, "55.00");
    assert_eq!(s.figures.available_with_tolerance, "0.00");
    let report = audit::audit(l.backend()).unwrap();
    assert!(report.is_clean(), "{:#?}", report.discrepancies);
    // They took turns: the count of waits (and retries) says they met.
    let met: u64 = results.iter().map(|(_, c)| c.lock_waits + c.retries).sum();
    println!("one account, 4 processes: {:?}", results.iter().map(|(_, c)| *c).collect::<Vec<_>>());
    assert!(met > 0, "four processes on one account never waited for each other: the locking is not being exercised");
}

#[test]
#[ignore = "needs PostgreSQL (tests/run)"]
fn four_processes_on_four_accounts_of_one_merchant_never_wait_on_each_other() {
    let url = database();
    let accounts = ["acme", "birch", "cobalt", "delta"];
    open_accounts(&url, &accounts, "1000000.00", Tolerance::None);
    // Each process its own account: authorize, capture half, void the
    // other half's hold, pay: every kind of document numbered.
    let batches: Vec<Vec<Call>> = accounts
        .iter()
        .map(|a| {
            let mut calls = Vec::new();
            for i in 1..=60u32 {
                calls.push(authorize(format!("{a}-a{i}"), a, format!("{a}-SO-{i}"), "10.00"));
                let hold = format!("H-{a}-{i}");
                calls.push(if i % 2 == 0 {
                    Call::Capture {
                        merchant: MERCHANT.into(),
                        ctx: ctx(format!("{a}-c{i}")),
                        req: CaptureRequest { hold_id: hold, amount: gbp("10.00"), lines: vec![], delivery_date: None, terms: None, delivery: None, rest: None },
                    }
                } else {
                    Call::VoidHold { merchant: MERCHANT.into(), ctx: ctx(format!("{a}-v{i}")), hold_id: hold }
                });
                if i % 10 == 0 {
                    calls.push(Call::RecordPayment {
                        merchant: MERCHANT.into(),
                        ctx: ctx(format!("{a}-p{i}")),
                        req: RecordPaymentRequest {
                            account_id: (*a).into(),
                            amount: gbp("50.00"),
                            received_on: day_of(T0),
                            method: "bank-transfer".into(),
                            reference: format!("{a}-{i}"),
                            allocations: vec![],
                            spread: None,
                        },
                    });
                }
            }
            calls
        })
        .collect();
    let results = run_servers(&url, batches);
    for (replies, _) in &results {
        assert!(replies.iter().all(|r| matches!(r, Reply::Ok(_))), "every call succeeds: {:?}", replies.iter().find(|r| !matches!(r, Reply::Ok(_))));
    }
    let contention: Vec<Contention> = results.iter().map(|(_, c)| *c).collect();
    println!("four accounts, 4 processes: {contention:?}");
    assert!(contention.iter().all(|c| *c == Contention::default()), "a process waited for another's rows or ran a call again: {contention:?}");
    let mut l = Ledger::open_postgres(component(), &url).unwrap();
    let m = MerchantId::new(MERCHANT).unwrap();
    for a in accounts {
        let s = l.get_account(&m, a, T0).unwrap().unwrap();
        assert_eq!((s.figures.posted_debt.as_str(), s.figures.open_holds.as_str()), ("0.00", "0.00"), "{a}: 300.00 invoiced, 300.00 paid");
    }
    let report = audit::audit(l.backend()).unwrap();
    assert!(report.is_clean(), "{:#?}", report.discrepancies);
}

/// Holds the row of `key` locked from another connection until the
/// returned transaction's client is told to let go.
fn lock_row(url: &str, key: &str) -> postgres::Client {
    let mut other = postgres::Client::connect(url, postgres::NoTls).unwrap();
    other.batch_execute("BEGIN").unwrap();
    let n = other.execute("SELECT 1 FROM kv WHERE merchant = $1 AND key = $2 FOR UPDATE", &[&MERCHANT, &key]).unwrap();
    assert_eq!(n, 1, "{key} exists");
    other
}

#[test]
#[ignore = "needs PostgreSQL (tests/run)"]
fn a_call_waits_for_the_account_row_another_connection_holds_and_counts_the_wait() {
    let url = database();
    open_accounts(&url, &["acme", "birch"], "1000.00", Tolerance::None);
    let mut other = lock_row(&url, "acct/acme");
    let m = MerchantId::new(MERCHANT).unwrap();
    let waiting = {
        let url = url.clone();
        let m = m.clone();
        std::thread::spawn(move || {
            let mut l = Ledger::open_postgres(component(), &url).unwrap();
            let req = AuthorizeRequest { account_id: "acme".into(), order_id: "SO-1".into(), amount: gbp("10.00"), hold_ttl_s: None, open_ended: None };
            let answer = l.authorize(&m, &ctx("wait-1"), &req).unwrap().unwrap();
            (answer, l.contention())
        })
    };
    // Another account is not held up meanwhile.
    let mut l = Ledger::open_postgres(component(), &url).unwrap();
    let req = AuthorizeRequest { account_id: "birch".into(), order_id: "SO-2".into(), amount: gbp("10.00"), hold_ttl_s: None, open_ended: None };
    assert!(matches!(l.authorize(&m, &ctx("free-1"), &req).unwrap().unwrap(), Authorization::Approved(_)));
    assert_eq!(l.contention(), Contention::default());
    std::thread::sleep(Duration::from_millis(300));
    assert!(!waiting.is_finished(), "the call on acme waits while its row is held");
    other.batch_execute("COMMIT").unwrap();
    let (answer, contention) = waiting.join().unwrap();
    assert!(matches!(answer, Authorization::Approved(_)), "{answer:?}");
    assert_eq!(contention, Contention { lock_waits: 1, retries: 0 });
}

#[test]
#[ignore = "needs PostgreSQL (tests/run)"]
fn two_servers_taking_one_idempotency_key_at_once_make_one_hold_and_the_loser_retries_unseen() {
    let url = database();
    open_accounts(&url, &["acme"], "1000.00", Tolerance::None);
    let m = MerchantId::new(MERCHANT).unwrap();
    // Both read the key as new, then queue behind the account row; the
    // second to get it finds, at commit, that the first created the key.
    let mut other = lock_row(&url, "acct/acme");
    let same = |n: usize| {
        let (url, m) = (url.clone(), m.clone());
        std::thread::spawn(move || {
            let mut l = Ledger::open_postgres(component(), &url).unwrap();
            let req = AuthorizeRequest { account_id: "acme".into(), order_id: "SO-1".into(), amount: gbp("100.00"), hold_ttl_s: None, open_ended: None };
            let answer = l.authorize(&m, &ctx("double-click"), &req).unwrap().unwrap();
            (n, answer, l.contention())
        })
    };
    let (a, b) = (same(1), same(2));
    std::thread::sleep(Duration::from_millis(300));
    other.batch_execute("COMMIT").unwrap();
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    assert_eq!(a.1, b.1, "both callers get the one answer");
    assert_eq!(a.2.retries + b.2.retries, 1, "one of them ran again after the conflict: {:?} {:?}", a.2, b.2);
    let mut l = Ledger::open_postgres(component(), &url).unwrap();
    let s = l.get_account(&m, "acme", T0).unwrap().unwrap();
    assert_eq!(s.figures.open_holds, "100.00", "one hold, not two");
    assert_eq!(l.open_holds(&m, "acme", T0).unwrap().unwrap().len(), 1);
}

#[test]
#[ignore = "needs PostgreSQL (tests/run)"]
fn a_call_rolled_back_leaves_nothing_and_a_read_only_call_cannot_write() {
    let url = database();
    open_accounts(&url, &["acme"], "100.00", Tolerance::None);
    let mut l = Ledger::open_postgres(component(), &url).unwrap();
    let m = MerchantId::new(MERCHANT).unwrap();
    let before = dump(&mut l);
    // An error answer rolls back everything the call buffered.
    let req = AuthorizeRequest { account_id: "acme".into(), order_id: "SO-1".into(), amount: gbp("-1.00"), hold_ttl_s: None, open_ended: None };
    assert!(l.authorize(&m, &ctx("bad"), &req).unwrap().is_err());
    assert_eq!(dump(&mut l), before);
    // The backend itself: a read-only unit refuses a write; a write unit
    // sees its own writes in gets and scans, and a rollback drops them.
    let b = l.backend();
    b.begin_read().unwrap();
    assert!(b.put(MERCHANT, "x/1", b"1").is_err());
    b.rollback().unwrap();
    b.begin().unwrap();
    b.put(MERCHANT, "x/1", b"1").unwrap();
    b.put(MERCHANT, "x/2", b"2").unwrap();
    b.delete(MERCHANT, "acct/acme").unwrap();
    assert_eq!(b.get(MERCHANT, "x/2").unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(b.get(MERCHANT, "acct/acme").unwrap(), None);
    assert_eq!(b.scan(MERCHANT, "x/", None, 10).unwrap().len(), 2);
    b.rollback().unwrap();
    assert_eq!(dump(&mut l), before);
}

#[test]
#[ignore = "needs PostgreSQL (tests/run)"]
fn a_scan_merges_the_units_own_writes_with_the_database() {
    let url = database();
    let mut l = Ledger::open_postgres(component(), &url).unwrap();
    let b = l.backend();
    b.begin().unwrap();
    for i in 0..10 {
        b.put(MERCHANT, &format!("k/{i}"), &[i]).unwrap();
    }
    b.commit().unwrap();
    b.begin().unwrap();
    // Deletes hide rows, puts add and replace them, in key order, paged.
    for i in [0u8, 1, 2, 5] {
        b.delete(MERCHANT, &format!("k/{i}")).unwrap();
    }
    b.put(MERCHANT, "k/3", b"new").unwrap();
    b.put(MERCHANT, "k/35", b"added").unwrap();
    let keys = |v: Vec<(String, Vec<u8>)>| v.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
    assert_eq!(keys(b.scan(MERCHANT, "k/", None, 3).unwrap()), ["k/3", "k/35", "k/4"]);
    assert_eq!(keys(b.scan(MERCHANT, "k/", Some("k/4"), 3).unwrap()), ["k/6", "k/7", "k/8"]);
    assert_eq!(keys(b.scan(MERCHANT, "k/", Some("k/8"), 3).unwrap()), ["k/9"]);
    assert_eq!(b.scan(MERCHANT, "k/3", None, 1).unwrap(), vec![("k/3".to_owned(), b"new".to_vec())]);
    b.rollback().unwrap();
    assert_eq!(keys(b.scan(MERCHANT, "k/", None, 100).unwrap()).len(), 10);
}

#[test]
#[ignore = "needs PostgreSQL (tests/run)"]
fn verify_reads_a_postgres_database_and_names_a_damaged_record() {
    let url = database();
    open_accounts(&url, &["acme"], "100.00", Tolerance::None);
    let mut l = Ledger::open_postgres(component(), &url).unwrap();
    let m = MerchantId::new(MERCHANT).unwrap();
    let req = AuthorizeRequest { account_id: "acme".into(), order_id: "SO-1".into(), amount: gbp("10.00"), hold_ttl_s: None, open_ended: None };
    l.authorize(&m, &ctx("a1"), &req).unwrap().unwrap();
    let verify = || Command::new(env!("CARGO_BIN_EXE_credit-host-cli")).args(["verify", "--db", &url]).output().unwrap();
    let clean = verify();
    let out = String::from_utf8_lossy(&clean.stdout);
    assert!(clean.status.success(), "{out}{}", String::from_utf8_lossy(&clean.stderr));
    assert!(out.contains("1 accounts, 2 entries") && out.contains("0 discrepancies"), "{out}");
    // Behind the component's back: the hold's record says another amount.
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let hold: Vec<u8> = admin.query_one("SELECT value FROM kv WHERE merchant = $1 AND key = 'hold/H-acme-1'", &[&MERCHANT]).unwrap().get(0);
    let mut entry: Vec<u8> = admin.query_one("SELECT value FROM kv WHERE merchant = $1 AND key = 'acct/acme'", &[&MERCHANT]).unwrap().get(0);
    assert!(!hold.is_empty());
    entry.truncate(entry.len() / 2);
    admin.execute("UPDATE kv SET value = $2 WHERE merchant = $1 AND key = 'acct/acme'", &[&MERCHANT, &entry]).unwrap();
    let damaged = verify();
    let out = String::from_utf8_lossy(&damaged.stdout);
    assert_eq!(damaged.status.code(), Some(1), "{out}");
    assert!(out.contains("acct/acme"), "the damaged record is named: {out}");
}

#[test]
#[ignore = "needs PostgreSQL (tests/run)"]
fn a_newer_schema_is_refused_and_the_schema_is_made_once_by_many_hosts_starting_together() {
    let url = database();
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || Ledger::open_postgres(component(), &url).map(|_| ()).map_err(|e| format!("{e:#}")))
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let versions: Vec<i32> = admin.query("SELECT version FROM credit_schema", &[]).unwrap().iter().map(|r| r.get(0)).collect();
    // Each migration once, in order.
    assert_eq!(versions, (1..=credit_host::store::POSTGRES_SCHEMA_VERSION).collect::<Vec<_>>());
    admin.execute("INSERT INTO credit_schema (version) VALUES ($1)", &[&(credit_host::store::POSTGRES_SCHEMA_VERSION + 1)]).unwrap();
    let err = Ledger::open_postgres(component(), &url).map(|_| ()).unwrap_err();
    assert!(format!("{err:#}").contains("newer than this host"), "{err:#}");
}

#[test]
#[ignore = "needs PostgreSQL (tests/run)"]
fn money_adds_up_after_threads_race_on_one_account_across_connections() {
    // The thread races of `concurrency` run on PostgreSQL in this pass;
    // here, a mix of calls on one account from 8 connections at once
    // keeps every figure equal to its entries.
    let url = database();
    // At most 42 holds of 7.00 fit in 300.00 (64 may be open).
    open_accounts(&url, &["acme"], "300.00", Tolerance::None);
    let m = MerchantId::new(MERCHANT).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (url, m) = (url.clone(), m.clone());
            std::thread::spawn(move || {
                let mut l = Ledger::open_postgres(component(), &url).unwrap();
                let mut approved = Decimal::ZERO;
                for i in 0..25 {
                    let req = AuthorizeRequest { account_id: "acme".into(), order_id: format!("T{t}-{i}"), amount: gbp("7.00"), hold_ttl_s: None, open_ended: None };
                    if let Authorization::Approved(a) = l.authorize(&m, &ctx(format!("t{t}-{i}")), &req).unwrap().unwrap() {
                        approved += d(&a.hold.amount);
                        if i % 3 == 0 {
                            l.void_hold(&m, &ctx(format!("v{t}-{i}")), &a.hold.hold_id).unwrap().unwrap();
                            approved -= d(&a.hold.amount);
                        }
                    }
                }
                approved
            })
        })
        .collect();
    let held: Decimal = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let mut l = Ledger::open_postgres(component(), &url).unwrap();
    let s = l.get_account(&m, "acme", T0).unwrap().unwrap();
    assert_eq!(d(&s.figures.open_holds), held, "what the threads kept is what is held");
    assert!(d(&s.figures.open_holds) <= d("300.00"));
    let report = audit::audit(l.backend()).unwrap();
    assert!(report.is_clean(), "{:#?}", report.discrepancies);
}

#[test]
#[ignore = "needs PostgreSQL (tests/run)"]
fn the_outbox_is_not_settled_past_an_event_still_to_commit_at_a_lower_position() {
    use credit_host::store::{Backend, NewEvent, PostgresBackend};
    let url = database();
    let mut b = PostgresBackend::connect(&url).unwrap();
    let event = |id: &str| NewEvent { id: id.into(), stream: "account/a".into(), body: b"{}".to_vec() };
    // Another server's call draws position 1 and has not committed yet.
    let mut other = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut late = other.transaction().unwrap();
    late.execute("INSERT INTO outbox (id, merchant, stream, body) VALUES ('ev_late', 'm', 'account/b', '{}')", &[]).unwrap();
    // This one commits position 2.
    b.begin().unwrap();
    b.put("m", "k", b"v").unwrap();
    b.outbox_append("m", &[event("ev_next")]).unwrap();
    b.commit().unwrap();
    assert_eq!(b.outbox_scan(0, 10).unwrap().iter().map(|r| r.seq).collect::<Vec<_>>(), [2]);
    for _ in 0..5 {
        assert_eq!(b.outbox_settled().unwrap(), 0, "position 1 may still appear");
        std::thread::sleep(Duration::from_millis(20));
    }
    late.commit().unwrap();
    let started = std::time::Instant::now();
    while b.outbox_settled().unwrap() < 2 {
        assert!(started.elapsed() < Duration::from_secs(60), "settles once the late call committed");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(b.outbox_scan(0, 10).unwrap().iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["ev_late", "ev_next"]);
    // The same id again (a call answered again) is kept once.
    b.begin().unwrap();
    b.outbox_append("m", &[event("ev_next")]).unwrap();
    b.commit().unwrap();
    assert_eq!(b.outbox_scan(0, 10).unwrap().len(), 2);
}

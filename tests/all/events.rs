//! Events out: every committed call's business events in the outbox, in the
//! call's transaction; the dispatcher POSTing them, signed, to a receiver
//! on 127.0.0.1 that fails for a while or loses its dispatcher midway.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use credit_host::Fault;
use credit_host::api::*;
use credit_host::events::dispatch;
use serde_json::Value as Json;

use crate::support::*;

/// Every event in the store, as (position, type, stream, body).
fn outbox(h: &mut H) -> Vec<(u64, String, String, Json)> {
    let rows = h.ledger.backend().outbox_scan(0, 100_000).unwrap();
    rows.into_iter()
        .map(|r| {
            let body: Json = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(body["id"], r.id.as_str());
            (r.seq, body["type"].as_str().unwrap().to_owned(), r.stream, body)
        })
        .collect()
}

fn types(events: &[(u64, String, String, Json)]) -> Vec<&str> {
    events.iter().map(|(_, t, _, _)| t.as_str()).collect()
}

#[test]
fn each_committed_call_leaves_its_events_and_nothing_else_does() {
    let mut h = H::new();
    h.open("a1", "1000.00");
    let hold = h.approve("a1", "o1", "400.00").hold.hold_id;
    h.capture(&hold, "400.00").unwrap();
    h.decline("a1", "o2", gbp("5000.00"));
    h.now_ms += DAY_MS;
    let receipt = h.pay("a1", "150.00").unwrap();
    let c = h.ctx();
    h.ledger.reverse_payment(&h.m, &c, &receipt.payment.payment_id, "bounced").unwrap().unwrap();
    h.set_status("a1", AccountStatus::OnHold).unwrap();
    h.set_status("a1", AccountStatus::Active).unwrap();
    h.change_limit("a1", "800.00").unwrap();
    let events = outbox(&mut h);
    assert_eq!(
        types(&events),
        [
            "account.opened",
            "hold.placed",
            "hold.captured",
            "invoice.issued",
            "order.declined",
            "payment.recorded",
            "payment.reversed",
            "account.put-on-hold",
            "account.activated",
            "credit-limit.changed"
        ]
    );
    assert!(events.iter().all(|(_, _, s, b)| s == "account/a1" && b["account-id"] == "a1" && b["merchant"] == "merchant-a"));
    assert!(events.windows(2).all(|w| w[0].0 < w[1].0), "positions rise");
    let invoice = &events[3].3["data"]["invoice"];
    assert_eq!((invoice["total"].as_str(), invoice["account-id"].as_str()), (Some("400.00"), Some("a1")));
    assert_eq!(events[5].3["data"]["payment"]["amount"], "150.00");
    assert_eq!(events[5].3["at-ms"], T0 + DAY_MS);
    assert_eq!(events[5].3["function"], "billing.record-payment");

    // Refused (an error answer): journaled, but no event.
    let before = events.len();
    assert!(h.pay("nobody", "1.00").is_err());
    // Answered again for the same key: the same ids, kept once.
    let c = h.ctx();
    let req = SetStatusRequest { account_id: "a1".into(), status: AccountStatus::OnHold, changed_by: "f".into(), reason: "r".into() };
    h.ledger.set_status(&h.m, &c, &req).unwrap().unwrap();
    h.ledger.set_status(&h.m, &c, &req).unwrap().unwrap();
    // Trapped and rolled back: nothing.
    h.ledger.inject_fault(Fault::StoreFailsAfterWrites(0));
    let c = h.ctx();
    assert!(h.ledger.set_status(&h.m, &c, &SetStatusRequest { status: AccountStatus::Active, ..req.clone() }).is_err());
    let events = outbox(&mut h);
    assert_eq!(types(&events[before..]), ["account.put-on-hold"]);
}

/// Closes `n` days of a1 after `day`, each an hour into the day; `day`
/// ends on the last one.
fn close_days(h: &mut H, day: &mut i64, n: usize) {
    for _ in 0..n {
        *day += DAY_MS;
        h.now_ms = *day + HOUR_MS;
        h.day_close("a1", &day_of(*day)).unwrap();
    }
}

#[test]
fn a_day_close_tells_of_fees_reminders_the_hold_and_the_statement() {
    let mut h = H::new();
    let mut req = open_req("a1", "GBP", "1000.00", Tolerance::None);
    req.policy = BillingPolicy {
        late_fee: Some("10.00".into()),
        statement_day: Some(1),
        hold_after_days_overdue: Some(10),
        reminders: vec![ReminderStep { offset_days: 1, level: 1 }],
        ..quiet_policy()
    };
    h.open_with(&req).unwrap();
    h.invoice("a1", "o1", "200.00");
    let mut day = at(&h.today());
    close_days(&mut h, &mut day, 75);
    let events = outbox(&mut h);
    let closes: Vec<&str> = types(&events).into_iter().filter(|t| !matches!(*t, "account.opened" | "hold.placed" | "hold.captured" | "invoice.issued")).collect();
    // Due on day 30; a reminder the day after, the fee after no grace, the
    // hold once 10 days late; a statement on each 1st of the month.
    for want in ["late-fee.charged", "reminder.due", "account.put-on-hold", "statement.ready"] {
        assert!(closes.contains(&want), "{want} in {closes:?}");
    }
    assert_eq!(closes.iter().filter(|t| **t == "late-fee.charged").count(), 1, "the late fee once");
    assert_eq!(closes.iter().filter(|t| **t == "account.put-on-hold").count(), 1, "put on hold once");
    let fee = events.iter().find(|e| e.1 == "late-fee.charged").unwrap();
    assert_eq!(fee.3["data"]["charge"]["amount"], "10.00");
    assert_eq!(fee.3["function"], "billing.day-close");
    let statements = events.iter().filter(|e| e.1 == "statement.ready").count();
    assert_eq!(statements, h.ledger.statements(&h.m, "a1", None, 100).unwrap().unwrap().len());
    // The same day again with a new key: already closed, no event.
    let n = events.len();
    h.day_close("a1", &day_of(day)).unwrap();
    assert_eq!(outbox(&mut h).len(), n);
}

#[test]
fn money_that_pays_what_was_overdue_takes_the_account_off_hold() {
    let mut h = H::new();
    let mut req = open_req("a1", "GBP", "1000.00", Tolerance::None);
    req.policy = BillingPolicy { hold_after_days_overdue: Some(10), ..quiet_policy() };
    h.open_with(&req).unwrap();
    h.invoice("a1", "o1", "200.00");
    h.invoice("a1", "o2", "100.00");
    let mut day = at(&h.today());
    close_days(&mut h, &mut day, 45);
    assert_eq!(h.summary("a1").status, AccountStatus::OnHold);
    let n = outbox(&mut h).len();
    // Part of o1 paid: it is still overdue, so the account stays held and
    // nothing says otherwise.
    let part = h.pay("a1", "150.00").unwrap();
    assert!(!part.released_from_hold);
    assert_eq!(part.account.status, AccountStatus::OnHold);
    assert_eq!(types(&outbox(&mut h)[n..]), ["payment.recorded"]);
    // The rest: off hold, said by the answer and by an event right after
    // the payment's, on the payment's day.
    let owed = h.summary("a1").figures.posted_debt;
    assert_eq!(owed, "150.00");
    let c = h.ctx();
    let rest = RecordPaymentRequest {
        account_id: "a1".into(),
        amount: gbp(&owed),
        received_on: h.today(),
        method: "bank-transfer".into(),
        reference: "REF-2".into(),
        allocations: vec![],
        spread: None,
    };
    let paid = h.ledger.record_payment(&h.m, &c, &rest).unwrap().unwrap();
    assert!(paid.released_from_hold);
    assert_eq!((paid.account.status, paid.account.held_for_overdue), (AccountStatus::Active, false));
    let events = outbox(&mut h);
    assert_eq!(types(&events[n + 1..]), ["payment.recorded", "account.taken-off-hold"]);
    let off = &events.last().unwrap().3;
    assert_eq!(
        (off["account-id"].as_str(), off["data"]["date"].as_str(), off["data"]["reason"].as_str(), off["function"].as_str()),
        (Some("a1"), Some(h.today().as_str()), Some("overdue"), Some("billing.record-payment"))
    );
    // A retry of the call (a lost answer) gets the same answer, flag and
    // all, and the outbox keeps each event once.
    let again = h.ledger.record_payment(&h.m, &c, &rest).unwrap().unwrap();
    assert_eq!(again, paid);
    assert_eq!(outbox(&mut h).len(), events.len());
    // Held again later and paid by a return: the credit note says it too.
    h.invoice("a1", "o3", "80.00");
    close_days(&mut h, &mut day, 45);
    assert_eq!(h.summary("a1").status, AccountStatus::OnHold);
    let note = h.ret("a1", "o3", "80.00", CreditTarget::OwedFirst).unwrap();
    assert!(note.released_from_hold);
    let events = outbox(&mut h);
    let tail: Vec<&str> = types(&events).into_iter().rev().take(2).collect();
    assert_eq!(tail, ["account.taken-off-hold", "credit-note.issued"]);
}

/// A receiver on 127.0.0.1: answers 500 to the first `fail_first`
/// requests, waits `delay` before each answer, and keeps every request.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Got>>>,
}

#[derive(Clone, Debug)]
struct Got {
    id: String,
    kind: String,
    signature: String,
    body: Vec<u8>,
    status: u16,
}

impl Receiver {
    fn start(fail_first: usize, delay: Duration) -> Receiver {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hooks/credit", server.server_addr().to_ip().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let kept = got.clone();
        std::thread::spawn(move || {
            for mut request in server.incoming_requests() {
                let mut body = Vec::new();
                std::io::Read::read_to_end(request.as_reader(), &mut body).unwrap();
                let header = |name: &'static str| request.headers().iter().find(|h| h.field.equiv(name)).map(|h| h.value.as_str().to_owned()).unwrap_or_default();
                std::thread::sleep(delay);
                let mut got = kept.lock().unwrap();
                // A dispatcher killed while sending leaves a request cut
                // short: not an event, answered 400 as a receiver would.
                let whole = serde_json::from_slice::<Json>(&body).is_ok();
                let status = if !whole { 400 } else if got.len() < fail_first { 500 } else { 200 };
                got.push(Got { id: header("Credit-Event-Id"), kind: header("Credit-Event-Type"), signature: header("Credit-Signature"), body, status });
                drop(got);
                let _ = request.respond(tiny_http::Response::from_string("ok").with_status_code(status));
            }
        });
        Receiver { url, got }
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// The ids answered 200, first time each.
    fn delivered(&self) -> BTreeSet<String> {
        self.got().into_iter().filter(|g| g.status == 200).map(|g| g.id).collect()
    }
}

/// Books with many accounts' events: `n` accounts, each opened, with a
/// hold placed and captured and a payment (5 events each).
fn books(db: &str, n: usize) -> Vec<(u64, String, String, Json)> {
    let mut h = on(db);
    h.check_every = u64::MAX;
    for i in 0..n {
        let a = format!("a{i}");
        h.open(&a, "1000.00");
        h.invoice(&a, &format!("o{i}"), "100.00");
        h.pay(&a, "40.00").unwrap();
    }
    outbox(&mut h)
}

/// A harness on `db`: a SQLite file or a `postgres://` URL.
fn on(db: &str) -> H {
    if db.starts_with("postgres") {
        H::on(credit_host::Ledger::open_postgres(component(), db).unwrap())
    } else {
        H::sqlite(std::path::Path::new(db))
    }
}

fn sqlite_file(dir: &tempfile::TempDir) -> String {
    dir.path().join("books.sqlite").to_str().unwrap().to_owned()
}

fn cli(db: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_credit-host-cli"));
    c.arg("--component-cache").arg(component_cache()).args(args).args(["--db", db]);
    c
}

fn dispatcher(db: &str) -> Child {
    cli(db, &["events", "dispatch", "--poll-ms", "20", "--backoff-ms", "30", "--backoff-max-ms", "200"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(120), "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Each stream's ids in the order the receiver first accepted them.
fn first_deliveries(got: &[Got]) -> BTreeMap<String, Vec<String>> {
    let mut seen = BTreeSet::new();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for g in got.iter().filter(|g| g.status == 200) {
        if seen.insert(g.id.clone()) {
            let body: Json = serde_json::from_slice(&g.body).unwrap();
            out.entry(body["account-id"].as_str().unwrap_or_default().to_owned()).or_default().push(g.id.clone());
        }
    }
    out
}

fn expected_order(events: &[(u64, String, String, Json)]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (_, _, _, b) in events {
        out.entry(b["account-id"].as_str().unwrap_or_default().to_owned()).or_default().push(b["id"].as_str().unwrap().to_owned());
    }
    out
}

#[test]
fn a_receiver_that_fails_for_a_while_gets_everything_later_in_order_and_signed() {
    let dir = tempfile::tempdir().unwrap();
    fails_for_a_while(&sqlite_file(&dir));
}

#[test]
#[ignore = "needs PostgreSQL (tests/run)"]
fn on_postgresql_a_receiver_that_fails_for_a_while_gets_everything_later() {
    let url = postgres_url().expect("needs PostgreSQL: run tests/run, or set CREDIT_TEST_POSTGRES and pass --include-ignored");
    fails_for_a_while(&fresh_postgres(&url));
}

fn fails_for_a_while(db: &str) {
    let db = &db;
    let events = books(db, 6);
    assert_eq!(events.len(), 30);
    let receiver = Receiver::start(12, Duration::ZERO);
    let secret = "whsec_a_test_secret_of_some_length";
    let out = cli(db, &["events", "subscribe", "crm", "--url", &receiver.url, "--secret", secret]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut child = dispatcher(db);
    wait_for("every event delivered", || receiver.delivered().len() == events.len());
    child.kill().unwrap();
    child.wait().unwrap();
    // Killed, perhaps before it wrote down its last sends: a run to the
    // end sends those again (the receiver answers 200 now) and stops.
    let status = cli(db, &["events", "dispatch", "--until-idle"]).stderr(Stdio::null()).status().unwrap();
    assert!(status.success());

    let got = receiver.got();
    assert_eq!(got.iter().filter(|g| g.status == 500).count(), 12);
    assert_eq!(first_deliveries(&got), expected_order(&events), "each account's events in commit order");
    let now = chrono::Utc::now().timestamp_millis();
    for g in &got {
        let (t, v1) = g.signature.split_once(",v1=").unwrap();
        let t = t.strip_prefix("t=").unwrap();
        assert_eq!(v1, dispatch::sign(secret, t, &g.body), "signed with the subscription's secret");
        assert!((now - t.parse::<i64>().unwrap()).abs() < 300_000);
        let body: Json = serde_json::from_slice(&g.body).unwrap();
        assert_eq!((body["id"].as_str(), body["type"].as_str()), (Some(g.id.as_str()), Some(g.kind.as_str())));
    }
    // A retried event carries its id again, with the same body.
    let failed: BTreeSet<&str> = got.iter().filter(|g| g.status == 500).map(|g| g.id.as_str()).collect();
    for id in &failed {
        let bodies: BTreeSet<&Vec<u8>> = got.iter().filter(|g| g.id == *id).map(|g| &g.body).collect();
        assert_eq!(bodies.len(), 1);
        assert!(got.iter().any(|g| g.id == *id && g.status == 200));
    }
    // The delivery log shows what failed, and the standing is clean.
    let log = cli(db, &["events", "log", "--failed", "--json"]).output().unwrap();
    let failures: Vec<Json> = String::from_utf8_lossy(&log.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(failures.len(), 12);
    assert!(failures.iter().all(|f| f["status"] == 500 && f["error"].as_str().unwrap().starts_with("answered 500")));
    let subs = cli(db, &["events", "subscriptions"]).output().unwrap();
    let subs = String::from_utf8_lossy(&subs.stdout).into_owned();
    assert!(subs.contains("crm") && subs.contains(&receiver.url) && subs.contains(" 30 "), "{subs}");
}

#[test]
fn a_dispatcher_killed_midway_loses_nothing_and_repeats_with_the_same_ids() {
    let dir = tempfile::tempdir().unwrap();
    let db = &sqlite_file(&dir);
    let events = books(db, 60);
    assert_eq!(events.len(), 300);
    let receiver = Receiver::start(0, Duration::from_millis(3));
    let out = cli(db, &["events", "subscribe", "erp", "--url", &receiver.url]).output().unwrap();
    assert!(out.status.success());
    let mut child = dispatcher(db);
    wait_for("some events delivered", || receiver.got().len() >= 130);
    child.kill().unwrap();
    child.wait().unwrap();
    let before = receiver.got().len();
    assert!(before < events.len(), "killed midway ({before} of {})", events.len());

    let status = cli(db, &["events", "dispatch", "--until-idle"]).stderr(Stdio::null()).status().unwrap();
    assert!(status.success());
    let got = receiver.got();
    let ids: BTreeSet<String> = events.iter().map(|e| e.3["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(receiver.delivered(), ids, "nothing lost");
    assert_eq!(first_deliveries(&got), expected_order(&events));
    let mut bodies: BTreeMap<&str, BTreeSet<&Vec<u8>>> = BTreeMap::new();
    for g in got.iter().filter(|g| g.status == 200) {
        bodies.entry(g.id.as_str()).or_default().insert(&g.body);
    }
    assert!(bodies.values().all(|b| b.len() == 1), "a duplicate is the same event, same id and body");
    // Whatever was sent twice was sent after the last progress saved
    // before the kill: at most one batch.
    assert!(got.len() - ids.len() <= 100, "{} duplicates", got.len() - ids.len());
    eprintln!("killed after {before} sends; {} sends in all for {} events", got.len(), ids.len());
    // Nothing is left to send.
    let again = cli(db, &["events", "dispatch", "--until-idle"]).stderr(Stdio::null()).status().unwrap();
    assert!(again.success());
    assert_eq!(receiver.got().len(), got.len());
}

#[test]
fn events_are_listed_and_followed_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let db = &sqlite_file(&dir);
    let events = books(db, 2);
    let out = cli(db, &["events", "--account", "a1", "--type", "payment.recorded"]).output().unwrap();
    let lines: Vec<Json> = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1);
    assert_eq!((lines[0]["type"].as_str(), lines[0]["account-id"].as_str()), (Some("payment.recorded"), Some("a1")));
    let want = events.iter().find(|e| e.1 == "payment.recorded" && e.2 == "account/a1").unwrap();
    assert_eq!(lines[0]["seq"], want.0);

    let mut follow = cli(db, &["events", "--follow", "--after", &events.last().unwrap().0.to_string()]).stdout(Stdio::piped()).spawn().unwrap();
    let stdout = follow.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let _ = tx.send(line.unwrap());
        }
    });
    {
        let mut h = on(db);
        h.open("late", "10.00");
    }
    let line = rx.recv_timeout(Duration::from_secs(60)).expect("the new event is printed");
    follow.kill().unwrap();
    follow.wait().unwrap();
    let e: Json = serde_json::from_str(&line).unwrap();
    assert_eq!((e["type"].as_str(), e["account-id"].as_str()), (Some("account.opened"), Some("late")));
    assert_eq!(e["seq"], events.last().unwrap().0 + 1);
}

#[test]
fn bad_subscriptions_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = &sqlite_file(&dir);
    books(db, 1);
    for (args, says) in [
        (vec!["ftp://example.com/x"], "an http:// or https:// URL"),
        (vec!["not a url"], "is not a URL"),
        (vec!["http://127.0.0.1:9/x", "--type", "payment.made"], "is not an event type"),
        (vec!["http://127.0.0.1:9/x", "--secret", "short"], "at least 16 characters"),
    ] {
        let mut all = vec!["events", "subscribe", "crm", "--url"];
        all.extend(args);
        let out = cli(db, &all).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains(says), "{says}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let out = cli(db, &["events", "subscribe", "bad name", "--url", "http://127.0.0.1:9/x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let list = cli(db, &["events", "subscriptions"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&list.stdout).contains("127.0.0.1"), "no subscription was kept");
    let out = cli(db, &["events", "unsubscribe", "nobody"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

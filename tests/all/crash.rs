//! Crash safety: the host runs as a separate process on a SQLite file (on
//! PostgreSQL when the suite runs there) and is killed with SIGKILL at
//! random moments. After every restart, every call it
//! acknowledged is there, nothing is half-applied, and the call that was in
//! flight, retried with its key, has exactly one effect.
//!
//! `CREDIT_CRASH_ROUNDS` sets the number of kills (default 50; the README
//! shows a longer run).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use credit_host::api::*;
use credit_host::serve::{Call, Reply, execute};
use credit_host::{Component, Ledger, audit};

use crate::support::*;

const MERCHANT: &str = "crash-shop";

/// Makes a plausible stream of mutating calls, learning hold and payment
/// ids from the answers.
struct Storefront {
    rng: Rng,
    now_ms: i64,
    n: u64,
    holds: Vec<(String, String, String)>, // (hold, account, amount)
    shipped: Vec<(String, String)>,       // (account, order)
    payments: Vec<String>,
}

const ACCOUNTS: [&str; 3] = ["acme", "birch", "cobalt"];

impl Storefront {
    fn new(seed: u64) -> Self {
        Storefront { rng: Rng(seed), now_ms: T0, n: 0, holds: vec![], shipped: vec![], payments: vec![] }
    }

    fn ctx(&mut self) -> CallContext {
        self.n += 1;
        self.now_ms += (self.rng.below(6 * 60) as i64) * 60_000;
        CallContext { idempotency_key: format!("call-{}", self.n), now_ms: self.now_ms }
    }

    fn next_call(&mut self) -> Call {
        let merchant = MERCHANT.to_owned();
        if self.n < ACCOUNTS.len() as u64 {
            let account = ACCOUNTS[self.n as usize];
            let ctx = self.ctx();
            let mut req = open_req(account, "GBP", "5000.00", Tolerance::Percent("5".into()));
            req.policy.late_fee = Some("10.00".into());
            req.policy.grace_days = 3;
            req.policy.reminders = vec![ReminderStep { offset_days: 0, level: 1 }, ReminderStep { offset_days: 7, level: 2 }];
            return Call::OpenAccount { merchant, ctx, req };
        }
        let account = ACCOUNTS[self.rng.below(3) as usize].to_owned();
        let ctx = self.ctx();
        match self.rng.below(100) {
            0..35 => {
                let amount = self.rng.pennies(100, 90_000);
                Call::Authorize {
                    merchant,
                    req: AuthorizeRequest {
                        account_id: account,
                        order_id: format!("SO-{}", ctx.idempotency_key),
                        amount: gbp(&amount),
                        hold_ttl_s: None,
                        open_ended: None,
                    },
                    ctx,
                }
            }
            35..55 if !self.holds.is_empty() => {
                let (hold, _, amount) = self.holds.swap_remove(self.rng.below(self.holds.len() as u64) as usize);
                Call::Capture {
                    merchant,
                    ctx,
                    req: CaptureRequest { hold_id: hold, amount: gbp(&amount), lines: vec![], delivery_date: None, terms: None, delivery: None, rest: None },
                }
            }
            55..63 if !self.holds.is_empty() => {
                let (hold, _, _) = self.holds.swap_remove(self.rng.below(self.holds.len() as u64) as usize);
                Call::VoidHold { merchant, ctx, hold_id: hold }
            }
            63..80 => {
                let amount = self.rng.pennies(100, 200_000);
                Call::RecordPayment {
                    merchant,
                    req: RecordPaymentRequest {
                        account_id: account,
                        amount: gbp(&amount),
                        received_on: day_of(ctx.now_ms),
                        method: "bank-transfer".into(),
                        reference: ctx.idempotency_key.clone(),
                        allocations: vec![],
                        spread: None,
                    },
                    ctx,
                }
            }
            80..86 => {
                let amount = self.rng.pennies(100, 20_000);
                Call::ApplyBalance {
                    merchant,
                    req: ApplyBalanceRequest { account_id: account, order_id: format!("SB-{}", ctx.idempotency_key), amount: gbp(&amount), mode: None },
                    ctx,
                }
            }
            86..91 if !self.shipped.is_empty() => {
                let (account, order) = self.shipped[self.rng.below(self.shipped.len() as u64) as usize].clone();
                let amount = self.rng.pennies(1, 5_000);
                let credit_to = if self.rng.below(2) == 0 { CreditTarget::OwedFirst } else { CreditTarget::StoredBalance };
                Call::RecordReturn {
                    merchant,
                    ctx,
                    req: RecordReturnRequest { account_id: account, order_id: order, amount: gbp(&amount), credit_to, reason: "returned".into() },
                }
            }
            91..96 => {
                let date = day_of(ctx.now_ms);
                Call::DayClose { merchant, ctx, account_id: account, date }
            }
            96..98 if !self.payments.is_empty() => {
                let p = self.payments.swap_remove(self.rng.below(self.payments.len() as u64) as usize);
                Call::ReversePayment { merchant, ctx, payment_id: p, reason: "bounced".into() }
            }
            _ => Call::AllocateBalance { merchant, ctx, req: AllocateBalanceRequest { account_id: account, amount: None, allocations: vec![] } },
        }
    }

    /// Learns from an acknowledged answer.
    fn observe(&mut self, call: &Call, reply: &Reply) {
        let Reply::Ok(value) = reply else { return };
        match call {
            Call::Authorize { req, .. } => {
                if let Ok(Authorization::Approved(a)) = serde_json::from_value::<Authorization>(value.clone()) {
                    self.holds.push((a.hold.hold_id, req.account_id.clone(), a.hold.amount));
                }
            }
            Call::Capture { .. } => {
                if let Ok(r) = serde_json::from_value::<CaptureReceipt>(value.clone()) {
                    self.shipped.push((r.hold.account_id, r.hold.order_id));
                }
            }
            Call::RecordPayment { .. } => {
                if let Ok(r) = serde_json::from_value::<PaymentReceipt>(value.clone()) {
                    self.payments.push(r.payment.payment_id);
                }
            }
            _ => {}
        }
    }
}

#[test]
fn acknowledged_calls_survive_sigkill_and_retries_have_one_effect() {
    let rounds: u32 = std::env::var("CREDIT_CRASH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    crash_rounds(rounds, None, 1);
}

#[test]
fn with_group_commit_and_pipelined_calls_too() {
    let rounds: u32 = std::env::var("CREDIT_CRASH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(50) / 2;
    // Group commit is SQLite's; on PostgreSQL the calls are pipelined only.
    let group = if postgres_url().is_some() { None } else { Some(64) };
    crash_rounds(rounds, group, 16);
}

/// Kills the serving host `rounds` times. `group` turns on group commit;
/// `window` is how many calls the client sends before reading an answer.
fn crash_rounds(rounds: u32, group: Option<usize>, window: usize) {
    let dir = tempfile::tempdir().unwrap();
    let db = match postgres_url() {
        Some(url) => credit_host::Database::Postgres(fresh_postgres(&url)),
        None => credit_host::Database::Sqlite(dir.path().join("crash.sqlite")),
    };
    // On PostgreSQL the servers' sessions carry a name of their own, so the
    // test can wait until the server has ended a killed host's session: a
    // COMMIT the host sent just before it died still lands then, and the
    // checks below must not race it.
    let app = format!("crash_{}_{window}", std::process::id());
    let db_arg = match &db {
        credit_host::Database::Sqlite(path) => path.display().to_string(),
        credit_host::Database::Postgres(url) => format!("{url}&application_name={app}"),
    };
    let cache = dir.path().join("cache");
    let component = Component::embedded_cached(&cache).unwrap();
    let exe = env!("CARGO_BIN_EXE_credit-host-cli");
    let mut shop = Storefront::new(0x5EED_CAFE_F00D_0001 ^ window as u64);
    let mut kill_rng = Rng(0xBADC_0FFE_E0DD_F00D);
    let mut history: Vec<(Call, Reply)> = Vec::new();
    // Sent and not answered when the host died: retried first, in order.
    let mut unanswered: VecDeque<Call> = VecDeque::new();
    let (mut retried, mut killed_mid_call) = (0, 0);

    for round in 0..rounds {
        let mut command = Command::new(exe);
        command.arg("--component-cache").arg(&cache).arg("serve").arg("--db").arg(&db_arg);
        if let Some(max) = group {
            command.arg("--group-commit").arg(max.to_string());
        }
        let child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("the host starts");
        let child = Arc::new(Mutex::new(child));
        let (mut stdin, stdout) = {
            let mut c = child.lock().unwrap();
            (c.stdin.take().unwrap(), c.stdout.take().unwrap())
        };
        let mut stdout = BufReader::new(stdout);
        let delay = Duration::from_millis(30 + kill_rng.below(150));
        let killer = {
            let child = child.clone();
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                child.lock().unwrap().kill().expect("SIGKILL");
            })
        };
        let mut retries: VecDeque<Call> = std::mem::take(&mut unanswered);
        let retry_count = retries.len();
        let mut in_flight: VecDeque<Call> = VecDeque::new();
        let mut answered_this_round = 0;
        'serving: loop {
            while in_flight.len() < window {
                let call = retries.pop_front().unwrap_or_else(|| shop.next_call());
                let line = serde_json::to_string(&call).unwrap();
                in_flight.push_back(call);
                if writeln!(stdin, "{line}").and_then(|_| stdin.flush()).is_err() {
                    break 'serving;
                }
            }
            let mut answer = String::new();
            match stdout.read_line(&mut answer) {
                // A whole line is an acknowledgement; a cut one is not.
                Ok(n) if n > 0 && answer.ends_with('\n') => {
                    let call = in_flight.pop_front().expect("an answer to a call sent");
                    let reply: Reply = serde_json::from_str(&answer).expect("an answer line");
                    assert!(!matches!(reply, Reply::HostError(_)), "round {round}: {reply:?}");
                    answered_this_round += 1;
                    shop.observe(&call, &reply);
                    history.push((call, reply));
                }
                _ => break,
            }
        }
        // Killed: what was sent and not answered may or may not have
        // committed. Retry it first, in order, with the same keys.
        killed_mid_call += usize::from(!in_flight.is_empty());
        retried += retry_count.min(answered_this_round);
        unanswered = in_flight;
        unanswered.extend(retries);
        killer.join().unwrap();
        child.lock().unwrap().wait().unwrap();
        if let credit_host::Database::Postgres(url) = &db {
            wait_for_sessions_to_end(url, &app);
        }

        // After the restart: nothing half-applied, every figure adds up, and
        // the last acknowledged call is there: retried, it answers the same
        // and changes nothing.
        let mut ledger = Ledger::open(&component, &db).unwrap();
        let report = audit::audit(ledger.backend()).unwrap();
        assert!(report.is_clean(), "round {round}: {:#?}", report.discrepancies);
        if let Some((call, reply)) = history.last() {
            let before = dump(&mut ledger);
            assert_eq!(&execute(&mut ledger, call), reply, "round {round}: the acknowledged answer stands");
            assert_eq!(dump(&mut ledger), before, "round {round}: a retry changes nothing");
        }
    }

    // Exactly once: replaying every acknowledged call, once each and in
    // order, on a fresh store gives the same answers and the same data.
    let mut replay = Ledger::open_in_memory(&component);
    for (i, (call, reply)) in history.iter().enumerate() {
        assert_eq!(&execute(&mut replay, call), reply, "call {i} answered differently on replay");
    }
    // Calls never answered are retried here, once, on both.
    let mut durable = Ledger::open(&component, &db).unwrap();
    for call in &unanswered {
        assert_eq!(execute(&mut durable, call), execute(&mut replay, call));
    }
    assert!(dump(&mut durable) == dump(&mut replay), "the crashed store equals a clean replay");
    let ok = history.iter().filter(|(_, r)| matches!(r, Reply::Ok(_))).count();
    println!(
        "{}: window {window}, group {group:?}: {rounds} kills, {} acknowledged calls ({ok} ok), {killed_mid_call} killed with calls in flight, {retried} unanswered calls retried",
        if postgres_url().is_some() { "postgres" } else { "sqlite" },
        history.len()
    );
    assert!(history.len() as u32 > rounds * 3, "the host did work between kills");
    assert!(killed_mid_call > 0, "no kill found a call in flight: the test did not test that");
}

/// Waits until PostgreSQL has ended every session named `app` (a killed
/// host's; the server ends it when it finds the connection gone, after
/// finishing what it was doing, a COMMIT included).
fn wait_for_sessions_to_end(url: &str, app: &str) {
    let mut admin = postgres::Client::connect(url, postgres::NoTls).unwrap();
    for _ in 0..1000 {
        let n: i64 = admin.query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", &[&app]).unwrap().get(0);
        if n == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the killed host's PostgreSQL session did not end within 10 s");
}

//! Many threads, one account: no credit or balance is ever spent twice.
//! Each scenario runs on the in-memory store (PostgreSQL, a connection per
//! thread, when the suite runs there) and on SQLite.

use std::sync::{Arc, Barrier};

use credit_host::api::*;
use credit_host::pool::LedgerPool;
use credit_host::{MerchantId, audit};
use rust_decimal::Decimal;

use crate::support::*;

const THREADS: usize = 8;

fn pools() -> Vec<(&'static str, LedgerPool, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = LedgerPool::sqlite(component(), dir.path().join("pool.sqlite"), THREADS).unwrap();
    let first = match postgres_url() {
        Some(url) => ("postgres", LedgerPool::postgres(component(), &fresh_postgres(&url), THREADS).unwrap()),
        None => ("memory", LedgerPool::in_memory(component(), THREADS)),
    };
    vec![(first.0, first.1, None), ("sqlite", sqlite, Some(dir))]
}

fn ctx(key: String) -> CallContext {
    CallContext { idempotency_key: key, now_ms: T0 }
}

fn open(pool: &LedgerPool, m: &MerchantId, account: &str, limit: &str) {
    pool.with(|l| l.open_account(m, &ctx(format!("open-{account}")), &open_req(account, "GBP", limit, Tolerance::Amount("25.00".into()))))
        .unwrap()
        .unwrap();
}

fn assert_audit_clean(pool: &LedgerPool) {
    let report = pool.with(|l| audit::audit(l.backend())).unwrap();
    assert!(report.is_clean(), "{:#?}", report.discrepancies);
}

#[test]
fn ten_thousand_concurrent_authorizations_never_exceed_the_limit() {
    for (name, pool, _dir) in pools() {
        let m = MerchantId::new("merchant-a").unwrap();
        open(&pool, &m, "acme", "1000.00");
        let pool = Arc::new(pool);
        let per_thread = 10_000 / THREADS;
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (pool, m) = (pool.clone(), m.clone());
                std::thread::spawn(move || {
                    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (t as u64 + 1));
                    let (mut approved, mut declined) = (0u32, 0u32);
                    for i in 0..per_thread {
                        let req = AuthorizeRequest {
                            account_id: "acme".into(),
                            order_id: format!("T{t}-{i}"),
                            amount: gbp(&rng.pennies(100, 40_000)),
                            hold_ttl_s: None,
                            open_ended: None,
                        };
                        match pool.with(|l| l.authorize(&m, &ctx(format!("auth-{t}-{i}")), &req)).unwrap().unwrap() {
                            Authorization::Approved(a) => {
                                approved += 1;
                                assert!(d(&a.after.available_with_tolerance) >= Decimal::ZERO, "{a:?}");
                                // Cancel most orders so the limit keeps being contended.
                                if !rng.next().is_multiple_of(8) {
                                    pool.with(|l| l.void_hold(&m, &ctx(format!("void-{t}-{i}")), &a.hold.hold_id)).unwrap().unwrap();
                                }
                            }
                            Authorization::Declined(dcl) => {
                                declined += 1;
                                assert_eq!(dcl.reason, DeclineReason::InsufficientCredit);
                                assert!(d(&dcl.shortfall) > Decimal::ZERO);
                            }
                        }
                        if i % 50 == 49 {
                            // Release what is still held, so holds never reach their limit.
                            let open = pool.with(|l| l.open_holds(&m, "acme", T0)).unwrap().unwrap();
                            for h in open.iter().filter(|h| h.order_id.starts_with(&format!("T{t}-"))) {
                                let _ = pool.with(|l| l.void_hold(&m, &ctx(format!("sweep-{t}-{i}-{}", h.hold_id)), &h.hold_id)).unwrap();
                            }
                        }
                    }
                    (approved, declined)
                })
            })
            .collect();
        let (approved, declined) = threads.into_iter().map(|t| t.join().unwrap()).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        assert_eq!(approved + declined, 10_000, "{name}");
        assert!(approved > 100 && declined > 100, "{name}: both outcomes must occur ({approved} / {declined})");

        // Replay the serialized history: at no entry did reserved credit
        // exceed limit + tolerance.
        let entries = pool.with(|l| l.ledger_all(&m, "acme")).unwrap().unwrap();
        let mut held = Decimal::ZERO;
        let mut peak = Decimal::ZERO;
        for e in &entries {
            held += d(&e.held_delta);
            peak = peak.max(held);
            assert!(held <= d("1025.00"), "{name}: entry {} reserves {held}", e.seq);
        }
        let s = pool.with(|l| l.get_account(&m, "acme", T0)).unwrap().unwrap();
        assert_eq!(d(&s.figures.open_holds), held, "{name}");
        assert!(peak > d("900.00"), "{name}: the limit was contended (peak {peak})");
        assert_audit_clean(&pool);
        println!("{name}: {approved} approved, {declined} declined, peak reserved {peak}, {} entries", entries.len());
    }
}

#[test]
fn concurrent_apply_balance_never_spends_the_balance_twice() {
    for (name, pool, _dir) in pools() {
        let m = MerchantId::new("merchant-a").unwrap();
        open(&pool, &m, "acme", "0.00");
        let pay = RecordPaymentRequest {
            account_id: "acme".into(),
            amount: gbp("1000.00"),
            received_on: day_of(T0),
            method: "bank-transfer".into(),
            reference: "lodgment".into(),
            allocations: vec![],
            spread: None,
        };
        pool.with(|l| l.record_payment(&m, &ctx("lodge".into()), &pay)).unwrap().unwrap();
        let pool = Arc::new(pool);
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (pool, m) = (pool.clone(), m.clone());
                std::thread::spawn(move || {
                    let mut rng = Rng(0xD1B5_4A32_D192_ED03 ^ (t as u64 + 7));
                    let mut applied = Decimal::ZERO;
                    for i in 0..250 {
                        let req =
                            ApplyBalanceRequest { account_id: "acme".into(), order_id: format!("T{t}-{i}"), amount: gbp(&rng.pennies(1, 1_000)), mode: None };
                        let r = pool.with(|l| l.apply_balance(&m, &ctx(format!("apply-{t}-{i}")), &req)).unwrap().unwrap();
                        applied += d(&r.applied);
                        assert!(d(&r.stored_balance_after) >= Decimal::ZERO);
                    }
                    applied
                })
            })
            .collect();
        let applied: Decimal = threads.into_iter().map(|t| t.join().unwrap()).sum();
        let s = pool.with(|l| l.get_account(&m, "acme", T0)).unwrap().unwrap();
        assert_eq!(applied + d(&s.figures.stored_balance), d("1000.00"), "{name}: every penny spent once");
        assert_eq!(applied, d("1000.00"), "{name}: 2,000 requests averaging 5.00 use it all");
        assert_audit_clean(&pool);
    }
}

#[test]
fn authorizations_and_apply_balance_racing_never_take_exposure_over_limit_tolerance_and_stored() {
    // Half the threads authorize orders backed by a stored balance, half
    // spend that balance on other orders: whatever interleaving the pool
    // runs, no entry may leave exposure above limit + tolerance + stored.
    for (name, pool, _dir) in pools() {
        let m = MerchantId::new("merchant-a").unwrap();
        open(&pool, &m, "acme", "100.00"); // tolerance 25.00
        let lodge = RecordPaymentRequest {
            account_id: "acme".into(),
            amount: gbp("2000.00"),
            received_on: day_of(T0),
            method: "bank-transfer".into(),
            reference: "lodgment".into(),
            allocations: vec![],
            spread: None,
        };
        pool.with(|l| l.record_payment(&m, &ctx("lodge".into()), &lodge)).unwrap().unwrap();
        let pool = Arc::new(pool);
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (pool, m, lodge) = (pool.clone(), m.clone(), lodge.clone());
                std::thread::spawn(move || {
                    let mut rng = Rng(0xA076_1D64_78BD_642F ^ (t as u64 + 3));
                    let (mut approved, mut applied, mut lodged) = (0u32, Decimal::ZERO, Decimal::ZERO);
                    for i in 0..150 {
                        let order = format!("T{t}-{i}");
                        match t % 3 {
                            0 => {
                                let req = AuthorizeRequest {
                                    account_id: "acme".into(),
                                    order_id: order,
                                    amount: gbp(&rng.pennies(100, 30_000)),
                                    hold_ttl_s: None,
                                    open_ended: None,
                                };
                                // The cap on open holds is an answer too: when the
                                // lodgment threads run ahead, a quarter of the
                                // approvals left open can reach it.
                                let answer = pool.with(|l| l.authorize(&m, &ctx(format!("auth-{t}-{i}")), &req)).unwrap();
                                if answer == Err(CreditError::TooManyOpenHolds) {
                                    continue;
                                }
                                if let Authorization::Approved(a) = answer.unwrap() {
                                    approved += 1;
                                    // Cancel most orders so credit keeps being contended.
                                    if !rng.next().is_multiple_of(4) {
                                        pool.with(|l| l.void_hold(&m, &ctx(format!("void-{t}-{i}")), &a.hold.hold_id)).unwrap().unwrap();
                                    }
                                }
                            }
                            1 => {
                                let req = ApplyBalanceRequest { account_id: "acme".into(), order_id: order, amount: gbp(&rng.pennies(100, 20_000)), mode: None };
                                applied += d(&pool.with(|l| l.apply_balance(&m, &ctx(format!("apply-{t}-{i}")), &req)).unwrap().unwrap().applied);
                            }
                            _ => {
                                // Lodgments keep a balance coming.
                                let req = RecordPaymentRequest { amount: gbp(&rng.pennies(100, 10_000)), ..lodge.clone() };
                                lodged +=
                                    d(&pool.with(|l| l.record_payment(&m, &ctx(format!("pay-{t}-{i}")), &req)).unwrap().unwrap().payment.amount);
                            }
                        }
                    }
                    (approved, applied, lodged)
                })
            })
            .collect();
        let (approved, applied, lodged) =
            threads.into_iter().map(|t| t.join().unwrap()).fold((0, Decimal::ZERO, Decimal::ZERO), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
        assert!(approved > 0 && applied > Decimal::ZERO, "{name}: both kinds of call succeeded ({approved} approvals, {applied} applied)");

        // Replay every entry: exposure within limit + tolerance + stored.
        let entries = pool.with(|l| l.ledger_all(&m, "acme")).unwrap().unwrap();
        let (mut debt, mut stored, mut held) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        let ceiling = d("125.00");
        for e in &entries {
            debt += d(&e.debt_delta);
            stored += d(&e.stored_delta);
            held += d(&e.held_delta);
            assert!(debt + held <= ceiling + stored, "{name}: entry {} leaves exposure {} over {ceiling} + stored {stored}", e.seq, debt + held);
        }
        let s = pool.with(|l| l.get_account(&m, "acme", T0)).unwrap().unwrap();
        assert_eq!(d(&s.figures.stored_balance), d("2000.00") + lodged - applied, "{name}");
        assert_audit_clean(&pool);
        println!("{name}: {approved} approvals, {applied} applied from the balance, {} entries", entries.len());
    }
}

#[test]
fn a_capture_and_a_void_racing_on_one_hold_have_exactly_one_winner() {
    for (name, pool, _dir) in pools() {
        let m = MerchantId::new("merchant-a").unwrap();
        open(&pool, &m, "acme", "1000000.00");
        let pool = Arc::new(pool);
        let (mut captures, mut voids) = (0, 0);
        for round in 0..100 {
            let req = AuthorizeRequest { account_id: "acme".into(), order_id: format!("R{round}"), amount: gbp("10.00"), hold_ttl_s: None, open_ended: None };
            let Authorization::Approved(a) = pool.with(|l| l.authorize(&m, &ctx(format!("a{round}")), &req)).unwrap().unwrap() else {
                panic!("approval expected")
            };
            let barrier = Arc::new(Barrier::new(2));
            let hold = a.hold.hold_id.clone();
            let capture = {
                let (pool, m, barrier, hold) = (pool.clone(), m.clone(), barrier.clone(), hold.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let req = CaptureRequest { hold_id: hold, amount: gbp("10.00"), lines: vec![], delivery_date: None, terms: None, delivery: None, rest: None };
                    pool.with(|l| l.capture(&m, &ctx(format!("c{round}")), &req)).unwrap().map(|_| ())
                })
            };
            let void = {
                let (pool, m, barrier) = (pool.clone(), m.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    pool.with(|l| l.void_hold(&m, &ctx(format!("v{round}")), &hold)).unwrap().map(|_| ())
                })
            };
            match (capture.join().unwrap(), void.join().unwrap()) {
                (Ok(()), Err(CreditError::HoldAlreadyCaptured)) => captures += 1,
                (Err(CreditError::HoldAlreadyVoided), Ok(())) => voids += 1,
                other => panic!("{name} round {round}: not exactly one winner: {other:?}"),
            }
        }
        assert_eq!(captures + voids, 100);
        let s = pool.with(|l| l.get_account(&m, "acme", T0)).unwrap().unwrap();
        assert_eq!(d(&s.figures.posted_debt), Decimal::from(captures * 10), "{name}");
        assert_eq!(s.figures.open_holds, "0.00");
        assert_audit_clean(&pool);
    }
}

/// A memory store that notes every key each call reads or writes.
struct Recording {
    inner: credit_host::store::MemoryBackend,
    touched: Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
}

impl credit_host::store::Backend for Recording {
    fn begin(&mut self) -> anyhow::Result<()> {
        self.inner.begin()
    }
    fn commit(&mut self) -> anyhow::Result<()> {
        self.inner.commit()
    }
    fn rollback(&mut self) -> anyhow::Result<()> {
        self.inner.rollback()
    }
    fn get(&mut self, merchant: &str, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        self.touched.lock().unwrap().insert(key.to_owned());
        self.inner.get(merchant, key)
    }
    fn put(&mut self, merchant: &str, key: &str, value: &[u8]) -> anyhow::Result<()> {
        self.touched.lock().unwrap().insert(key.to_owned());
        self.inner.put(merchant, key, value)
    }
    fn delete(&mut self, merchant: &str, key: &str) -> anyhow::Result<()> {
        self.touched.lock().unwrap().insert(key.to_owned());
        self.inner.delete(merchant, key)
    }
    fn scan(&mut self, merchant: &str, prefix: &str, start_after: Option<&str>, limit: u32) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
        let rows = self.inner.scan(merchant, prefix, start_after, limit)?;
        self.touched.lock().unwrap().extend(rows.iter().map(|(k, _)| k.clone()));
        Ok(rows)
    }
    fn merchants(&mut self) -> anyhow::Result<Vec<String>> {
        self.inner.merchants()
    }
    fn journal_append(&mut self, merchant: &str, record: &[u8]) -> anyhow::Result<()> {
        self.inner.journal_append(merchant, record)
    }
    fn journal_scan(&mut self, after: u64, limit: u32) -> anyhow::Result<Vec<credit_host::store::JournalRow>> {
        self.inner.journal_scan(after, limit)
    }
    fn outbox_append(&mut self, merchant: &str, events: &[credit_host::store::NewEvent]) -> anyhow::Result<()> {
        self.inner.outbox_append(merchant, events)
    }
    fn outbox_scan(&mut self, after: u64, limit: u32) -> anyhow::Result<Vec<credit_host::store::EventRow>> {
        self.inner.outbox_scan(after, limit)
    }
    fn outbox_settled(&mut self) -> anyhow::Result<u64> {
        self.inner.outbox_settled()
    }
}

#[test]
fn calls_on_different_accounts_touch_no_common_key() {
    // What lets many servers work at once on one database (PostgreSQL locks
    // what a call reads): every mutating function, called on two accounts
    // of one merchant, reads and writes disjoint sets of keys. A
    // merchant-wide counter (as document numbers once were) fails this.
    let touched = Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let backend = Recording { inner: credit_host::store::MemoryBackend::new(), touched: touched.clone() };
    let mut h = H::on(credit_host::Ledger::with_backend(component(), Box::new(backend)));
    h.check_every = u64::MAX;
    let mut calls: Vec<(String, &str, std::collections::BTreeSet<String>)> = Vec::new();
    let mut record = |name: &str, account: &'static str, h: &mut H, f: &dyn Fn(&mut H, &str)| {
        touched.lock().unwrap().clear();
        f(h, account);
        calls.push((name.to_owned(), account, std::mem::take(&mut *touched.lock().unwrap())));
    };
    type Step = (&'static str, fn(&mut H, &str));
    let steps: [Step; 12] = [
        ("open-account", |h, a| {
            let mut req = open_req(a, "GBP", "1000.00", Tolerance::Percent("5".into()));
            req.policy.late_fee = Some("5.00".into());
            req.policy.reminders = vec![ReminderStep { offset_days: 0, level: 1 }];
            req.policy.statement_day = Some(2);
            h.open_with(&req).unwrap();
        }),
        ("authorize", |h, a| drop(h.approve(a, &format!("{a}-SO-1"), "100.00"))),
        ("capture", |h, a| drop(h.capture(&format!("H-{a}-1"), "100.00").unwrap())),
        ("authorize again", |h, a| drop(h.approve(a, &format!("{a}-SO-2"), "50.00"))),
        ("void-hold", |h, a| drop(h.void(&format!("H-{a}-2")).unwrap())),
        ("record-payment", |h, a| drop(h.pay(a, "150.00").unwrap())),
        ("record-return", |h, a| drop(h.ret(a, &format!("{a}-SO-1"), "10.00", CreditTarget::StoredBalance).unwrap())),
        ("apply-balance", |h, a| drop(h.apply_balance(a, &format!("{a}-SO-3"), "5.00").unwrap())),
        ("allocate-balance", |h, a| {
            let (c, m) = (h.ctx(), h.m.clone());
            let req = AllocateBalanceRequest { account_id: a.into(), amount: None, allocations: vec![] };
            // Nothing may be open to allocate to: any answer, no trap.
            let _ = h.ledger.allocate_balance(&m, &c, &req).unwrap();
        }),
        ("change-credit-limit", |h, a| drop(h.change_limit(a, "2000.00").unwrap())),
        ("reverse-payment", |h, a| {
            let (c, m) = (h.ctx(), h.m.clone());
            h.ledger.reverse_payment(&m, &c, &format!("P-{a}-1"), "bounced").unwrap().unwrap();
        }),
        ("day-close", |h, a| {
            let today = h.today();
            drop(h.day_close(a, &today).unwrap())
        }),
    ];
    for (name, f) in steps {
        for account in ["acme", "birch"] {
            record(name, account, &mut h, &|h, a| f(h, a));
        }
    }
    for (name, a, keys) in &calls {
        for (other_name, b, other_keys) in &calls {
            if a != b {
                let common: Vec<&String> = keys.intersection(other_keys).collect();
                assert!(common.is_empty(), "{name} on {a} and {other_name} on {b} both touch {common:?}");
            }
        }
    }
    assert!(calls.iter().all(|(_, _, keys)| !keys.is_empty()));
    h.check();
}

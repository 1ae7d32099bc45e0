//! `simulate`: a seeded store trading through the component. The same seed
//! gives the same bytes; every habit leaves its mark; faults change nothing
//! in the ledger; the audit and `verify` are clean afterwards.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use credit_host::api::AccountStatus;
use credit_host::deliver::Outbox;
use credit_host::directory::Directory;
use credit_host::sim::{Config, MERCHANT, Simulation, Summary};
use credit_host::store::Backend;
use credit_host::{Ledger, MerchantId, audit};

use crate::support::{component, component_cache};

fn config(customers: u32, months: u32, seed: u64, faults: bool) -> Config {
    Config { customers, months, seed, faults, start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() }
}

fn open(path: &Path) -> anyhow::Result<Ledger> {
    Ledger::open_sqlite(component(), path)
}

/// Runs a simulation into `dir/name.sqlite` (documents in `dir/name/`).
fn simulate(dir: &Path, name: &str, config: Config, documents: bool) -> (Summary, PathBuf) {
    let db = dir.join(format!("{name}.sqlite"));
    let outbox = documents.then(|| Outbox { dir: dir.join(name), names: Directory::default() });
    let (summary, mut file) = credit_host::sim::into_sqlite(component(), config, &db, outbox, &mut |_| {}).unwrap();
    let report = audit::audit(&mut file).unwrap();
    assert!(report.is_clean(), "the audit after the simulation: {:?}", report.discrepancies);
    file.close().unwrap();
    (summary, db)
}

/// The same run written call by call into the file (as on PostgreSQL), the
/// restart fault opening the file again.
fn simulate_on_file(dir: &Path, name: &str, config: Config) -> (Summary, PathBuf) {
    let db = dir.join(format!("{name}.sqlite"));
    let mut reopen = |l: &mut Ledger| -> anyhow::Result<()> {
        *l = open(&db)?;
        Ok(())
    };
    let sim = Simulation::new(config, open(&db).unwrap(), &mut reopen, None).unwrap();
    let (summary, mut ledger) = sim.run(&mut |_| {}).unwrap();
    ledger.backend().close().unwrap();
    (summary, db)
}

/// A merchant's records (key, value) and the journal's rows, in order.
type Contents = (Vec<(String, Vec<u8>)>, Vec<Vec<u8>>);

/// Every merchant record and journal row of a SQLite file, in order.
fn contents(db: &Path) -> Contents {
    let mut b = credit_host::store::SqliteBackend::open_read_only(db).unwrap();
    let records = b.scan(MERCHANT, "", None, u32::MAX).unwrap();
    let journal = b.journal_scan(0, u32::MAX).unwrap().into_iter().map(|r| r.record).collect();
    (records, journal)
}

/// Every file under `dir`, by relative path, with its bytes.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_same_seed_gives_the_same_database_and_documents_and_another_seed_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let (a, db_a) = simulate(dir.path(), "a", config(12, 2, 7, false), true);
    let (b, db_b) = simulate(dir.path(), "b", config(12, 2, 7, false), true);
    let (c, db_c) = simulate(dir.path(), "c", config(12, 2, 8, false), false);
    assert_eq!(a, b);
    assert!(std::fs::read(&db_a).unwrap() == std::fs::read(&db_b).unwrap(), "the two databases differ");
    let (docs_a, docs_b) = (tree(&dir.path().join("a")), tree(&dir.path().join("b")));
    assert_eq!(docs_a.len() as u64, a.documents);
    assert!(docs_a.len() > 100, "{} documents", docs_a.len());
    assert!(docs_a == docs_b, "the two document folders differ");
    assert_ne!(a.invoiced, c.invoiced, "another seed trades differently");
    assert!(std::fs::read(&db_a).unwrap() != std::fs::read(&db_c).unwrap());
}

#[test]
fn a_year_of_trade_shows_every_habit_and_ends_clean() {
    let dir = tempfile::tempdir().unwrap();
    let (s, db) = simulate(dir.path(), "year", config(14, 12, 1, false), false);
    assert_eq!(s.days, 365);
    assert_eq!(s.statements, 14 * 12, "one statement per account per month");
    assert!(s.approved > 500, "{s:?}");
    assert!(s.declined.values().sum::<u64>() > 0, "some orders declined: {s:?}");
    assert!(s.declined.contains_key("on hold for overdue invoices"), "{:?}", s.declined);
    for (what, n) in [
        ("split shipments", s.split_shipments),
        ("cancellations", s.cancelled),
        ("expired holds", s.holds_expired),
        ("returns", s.returns.0),
        ("orders part-paid from store credit", s.balance_applied.0),
        ("bounced payments", s.bounced.0),
        ("late fees", s.fees.0),
        ("reminders", s.reminders),
        ("holds for overdue invoices", s.put_on_hold),
        ("accounts on hold at the end", u64::from(s.on_hold_at_end)),
    ] {
        assert!(n > 0, "no {what}: {s:?}");
    }
    assert!(s.discounts > rust_decimal::Decimal::ZERO && s.interest > rust_decimal::Decimal::ZERO, "{s:?}");
    let over_90 = s.aging.last().unwrap();
    assert!(over_90.1 > rust_decimal::Decimal::ZERO, "the delinquent customer is over 90 days: {:?}", s.aging);
    let bucket_sum: rust_decimal::Decimal = s.aging.iter().map(|(_, a)| *a).sum();
    assert_eq!(bucket_sum, s.outstanding);
    // What the summary says is what the component answers afterwards.
    let mut ledger = Ledger::open_sqlite(component(), &db).unwrap();
    let m = MerchantId::new(MERCHANT).unwrap();
    let end = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap().and_hms_opt(23, 0, 0).unwrap().and_utc().timestamp_millis();
    let mut held = 0;
    let big = ledger.open_invoices_all(&m, "c0001", "2026-12-31").unwrap().unwrap();
    assert!(big.len() >= 100, "the big account has hundreds of open invoices: {}", big.len());
    for i in 1..=14 {
        let a = ledger.get_account(&m, &format!("c{i:04}"), end).unwrap().unwrap();
        held += u32::from(a.status == AccountStatus::OnHold || a.held_for_overdue);
    }
    assert_eq!(held, s.on_hold_at_end);
    // And `verify` in its own process agrees.
    let verify = Command::new(env!("CARGO_BIN_EXE_credit-host-cli")).arg("verify").arg("--db").arg(&db).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
}

#[test]
fn made_in_memory_and_copied_or_written_call_by_call_the_file_holds_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let (copied, db_copied) = simulate(dir.path(), "copied", config(9, 2, 5, true), false);
    let (direct, db_direct) = simulate_on_file(dir.path(), "direct", config(9, 2, 5, true));
    assert_eq!(copied, direct, "the same trade and faults (restarts included)");
    let (a, b) = (contents(&db_copied), contents(&db_direct));
    assert!(a.0.len() > 500 && a.1.len() > 1000, "{} records, {} journal rows", a.0.len(), a.1.len());
    assert!(a.0 == b.0, "the records differ");
    assert!(a.1 == b.1, "the journals differ");
}

#[test]
fn storefront_faults_end_with_the_same_ledger_as_a_run_without_them() {
    let dir = tempfile::tempdir().unwrap();
    let (clean, db_clean) = simulate(dir.path(), "clean", config(10, 4, 3, false), false);
    let (faulty, db_faulty) = simulate(dir.path(), "faulty", config(10, 4, 3, true), false);
    let f = &faulty.faults;
    assert!(f.retried > 10 && f.out_of_order > 0 && f.expired_captures > 0 && f.restarts == 4, "{f:?}");
    let m = MerchantId::new(MERCHANT).unwrap();
    let (mut a, mut b) = (Ledger::open_sqlite(component(), &db_clean).unwrap(), Ledger::open_sqlite(component(), &db_faulty).unwrap());
    let end = NaiveDate::from_ymd_opt(2026, 4, 30).unwrap().and_hms_opt(23, 0, 0).unwrap().and_utc().timestamp_millis();
    for i in 1..=10 {
        let id = format!("c{i:04}");
        let (ea, eb) = (a.ledger_all(&m, &id).unwrap().unwrap(), b.ledger_all(&m, &id).unwrap().unwrap());
        if let Some(i) = (0..ea.len().max(eb.len())).find(|&i| ea.get(i) != eb.get(i)) {
            panic!("the ledger of {id} differs first at entry {i}:\nwithout faults {:?}\nwith faults    {:?}", ea.get(i), eb.get(i));
        }
        assert_eq!(a.get_account(&m, &id, end).unwrap().unwrap(), b.get_account(&m, &id, end).unwrap().unwrap(), "account {id}");
    }
    assert_eq!(Summary { faults: Default::default(), ..faulty.clone() }, clean, "the same trade");
}

#[test]
fn the_command_prints_its_summary_and_refuses_bad_flags() {
    let dir = tempfile::tempdir().unwrap();
    let cli = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_credit-host-cli"));
        c.current_dir(dir.path()).arg("--component-cache").arg(component_cache());
        c
    };
    let run = cli().args(["simulate", "--customers", "8", "--months", "1", "--faults"]).output().unwrap();
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{out}\n{}", String::from_utf8_lossy(&run.stderr));
    for expected in ["orders approved", "monthly statements", "faults: host restarts mid-day", "0 discrepancies", "documents", "8 customers, 1 months, seed 1"] {
        assert!(out.contains(expected), "expected {expected:?} in:\n{out}");
    }
    assert!(dir.path().join("credit-sim.sqlite").exists() && dir.path().join("credit-sim/northwind-trade").is_dir());
    for (flags, message) in [(["--customers", "0"], "customers must be 1"), (["--months", "0"], "months must be 1")] {
        let bad = cli().arg("simulate").args(flags).args(["--db", "bad.sqlite"]).output().unwrap();
        assert_eq!(bad.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&bad.stderr).contains(message), "{}", String::from_utf8_lossy(&bad.stderr));
        assert!(!dir.path().join("bad.sqlite").exists(), "nothing created");
    }
}

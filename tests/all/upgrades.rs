//! Upgrades: yesterday's data keeps working, a new build is tried on real
//! history first, and changes made behind the component's back are found.
//!
//! `tests/fixtures/layout-N/` holds a database written by the release whose
//! records are of layout N (`store.sqlite`: the demo through the host's
//! typed calls, then every conformance vector that only calls (but the
//! bulky `day-close-in-parts`), each under its own merchants, through
//! `call_json`), and `answers.json`, the answers
//! of a fixed set of queries on it. Fixtures are added, never replaced:
//! when `credit_guest::codec::LAYOUT` moves, the test for a fixture of the
//! current layout fails until one is written
//! (`CREDIT_WRITE_FIXTURE=1 cargo test -p credit-tests upgrades`).

use std::path::{Path, PathBuf};
use std::process::Command;

use credit_host::api::*;
use credit_host::journal;
use credit_host::store::{Backend, SqliteBackend};
use credit_host::{Ledger, MerchantId, audit};
use serde_json::{Value as Json, json};

use crate::support::{component, component_cache};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Every fixture, oldest layout first.
fn fixture_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .map(|d| d.map(|e| e.unwrap().path()).filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("layout-"))).collect())
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// A copy of a fixture's database in a temporary folder: the committed
/// file is never opened for writing.
fn copy_of(dir: &Path) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("store.sqlite");
    std::fs::copy(dir.join("store.sqlite"), &path).unwrap();
    (tmp, path)
}

/// One query and its answer, as `answers.json` keeps them.
#[derive(serde::Serialize, serde::Deserialize)]
struct Asked {
    merchant: String,
    call: String,
    args: Json,
    answer: Json,
}


#[test]
fn there_is_a_fixture_for_the_layout_this_build_writes() {
    let dir = fixtures().join(format!("layout-{}", credit_guest::codec::LAYOUT));
    if !dir.join("store.sqlite").exists() && std::env::var_os("CREDIT_WRITE_FIXTURE").is_some() {
        write_fixture(&dir);
    }
    assert!(
        dir.join("store.sqlite").exists() && dir.join("answers.json").exists(),
        "no fixture for layout {}: write one with CREDIT_WRITE_FIXTURE=1 and commit it beside the older ones",
        credit_guest::codec::LAYOUT
    );
}

#[test]
fn every_fixture_opens_with_the_same_answers_takes_new_calls_and_stays_clean() {
    let dirs = fixture_dirs();
    assert!(!dirs.is_empty(), "no fixtures in {}", fixtures().display());
    for dir in dirs {
        let (_tmp, path) = copy_of(&dir);
        let asked: Vec<Asked> = serde_json::from_slice(&std::fs::read(dir.join("answers.json")).unwrap()).unwrap();
        assert!(asked.len() >= 100, "{}: a fixed set of queries", dir.display());
        let mut ledger = Ledger::open_sqlite(component(), &path).unwrap();
        let mut differ = Vec::new();
        for (i, q) in asked.iter().enumerate() {
            let answer = ledger.call_json(&MerchantId::new(&q.merchant).unwrap(), &q.call, &q.args).unwrap();
            if !credit_host::replay::covers(&q.answer, &answer) {
                differ.push(format!("query {i} {} ({}): recorded {} now {}", q.call, q.merchant, q.answer, answer));
            }
        }
        assert!(differ.is_empty(), "{}: {} of {} answers differ:\n{}", dir.display(), differ.len(), asked.len(), differ.join("\n"));
        assert!(asked.iter().any(|q| q.answer.get("ok").is_some()), "the answers are not all errors");

        // New calls on the old data: an order, its capture, a payment and
        // a day's close on an account the demo left owing.
        let m = MerchantId::new("northwind-office").unwrap();
        let now = 1_780_000_000_000; // 2026-05-28, after the fixture's history
        let ctx = |k: &str| CallContext { idempotency_key: format!("upgrade-{k}"), now_ms: now };
        let before: AccountSummary = ledger.get_account(&m, "acme-dental", now).unwrap().unwrap();
        let req = AuthorizeRequest {
            account_id: "acme-dental".into(),
            order_id: "SO-after-upgrade".into(),
            amount: Money { amount: "100.00".into(), currency: "GBP".into() },
            hold_ttl_s: None,
            open_ended: None,
        };
        let Authorization::Approved(a) = ledger.authorize(&m, &ctx("a"), &req).unwrap().unwrap() else { panic!("approved on the old data") };
        let capture = CaptureRequest {
            hold_id: a.hold.hold_id.clone(),
            amount: Money { amount: "100.00".into(), currency: "GBP".into() },
            lines: vec![],
            delivery_date: None,
            terms: None,
            delivery: None,
            rest: None,
        };
        let receipt = ledger.capture(&m, &ctx("c"), &capture).unwrap().unwrap();
        let pay = RecordPaymentRequest {
            account_id: "acme-dental".into(),
            amount: Money { amount: "100.00".into(), currency: "GBP".into() },
            received_on: "2026-05-28".into(),
            method: "bank-transfer".into(),
            reference: receipt.invoice.invoice_id.clone(),
            allocations: vec![],
            spread: None,
        };
        ledger.record_payment(&m, &ctx("p"), &pay).unwrap().unwrap();
        ledger.day_close(&m, &ctx("d"), "acme-dental", "2026-05-28").unwrap().unwrap();
        let after = ledger.get_account(&m, "acme-dental", now).unwrap().unwrap();
        assert_eq!(after.figures.posted_debt, before.figures.posted_debt, "invoiced 100.00 and paid 100.00");
        let report = audit::audit(ledger.backend()).unwrap();
        assert!(report.is_clean(), "{}: {:?}", dir.display(), report.discrepancies);
        assert!(report.entries > 30 && report.accounts > 20, "the audit read the fixture: {report:?}");
    }
}

#[test]
fn replaying_a_fixture_through_this_build_finds_no_difference() {
    for dir in fixture_dirs() {
        let (_tmp, path) = copy_of(&dir);
        let mut db = SqliteBackend::open_read_only(&path).unwrap();
        let report = credit_host::replay::replay(&mut db, component(), 5, &mut |_| {}).unwrap();
        assert!(report.replayed > 400, "{}: the whole journal: {report:?}", dir.display());
        assert_eq!(report.different(), 0, "{}: {:#?}", dir.display(), report.differences);
        // Both encodings and every function that writes were replayed.
        assert!(report.per_function.len() >= 18, "{:?}", report.per_function.keys());
    }
}

/// The journal position of the first call whose recorded answer charged a
/// late fee: where a build that charges them a day later must diverge.
fn first_late_fee(db: &mut dyn Backend) -> u64 {
    let mut after = 0;
    loop {
        let page = db.journal_scan(after, 500).unwrap();
        let last = page.last().expect("the fixture charges a late fee somewhere").seq;
        for row in page {
            let r = journal::Record::parse(&row.record).unwrap();
            let (_, answer) = r.to_wit(component()).unwrap();
            if r.function == "billing.day-close" && answer.pointer("/ok/late-fees").and_then(Json::as_array).is_some_and(|f| !f.is_empty()) {
                return row.seq;
            }
        }
        after = last;
    }
}

#[test]
fn replaying_through_a_build_with_a_rule_change_finds_it_at_the_right_call() {
    let changed = credit_host::Component::from_bytes(&std::fs::read(credit_host::FAULTY_COMPONENT_PATH).unwrap()).unwrap();
    for dir in fixture_dirs() {
        let (_tmp, path) = copy_of(&dir);
        let mut db = SqliteBackend::open_read_only(&path).unwrap();
        let expected = first_late_fee(&mut db);
        let report = credit_host::replay::replay(&mut db, &changed, 3, &mut |_| {}).unwrap();
        let first = report.differences.first().expect("the rule change is found");
        assert_eq!(first.seq, expected, "{}: first divergence at the first late fee: {first:#?}", dir.display());
        assert_eq!(first.function, "billing.day-close");
        assert!(first.paths.iter().any(|p| p.contains("late-fees")), "{:?}", first.paths);
        assert!(first.recorded.pointer("/ok/late-fees/0/amount").is_some() && first.replayed.pointer("/ok/late-fees/0").is_none());
        assert!(report.identical >= expected - 1, "every call before it answered alike");
        assert!(report.different() >= 1 && report.identical + report.different() == report.replayed);
    }
}

#[test]
fn the_replay_command_prints_the_first_divergence_and_a_summary() {
    let dir = fixture_dirs().pop().expect("a fixture");
    let (tmp, path) = copy_of(&dir);
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_credit-host-cli")).arg("--component-cache").arg(component_cache()).args(args).output().unwrap()
    };
    let same = cli(&["replay", "--db", path.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&same.stdout);
    assert_eq!(same.status.code(), Some(0), "{out}{}", String::from_utf8_lossy(&same.stderr));
    assert!(out.contains(" 0 different") && !out.contains("first difference"), "{out}");
    let changed = tmp.path().join("changed.wasm");
    std::fs::copy(credit_host::FAULTY_COMPONENT_PATH, &changed).unwrap();
    let diff = cli(&["replay", "--db", path.to_str().unwrap(), "--component", changed.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&diff.stdout);
    assert_eq!(diff.status.code(), Some(1), "{out}{}", String::from_utf8_lossy(&diff.stderr));
    assert!(out.contains("first difference: call ") && out.contains("billing.day-close") && out.contains("recorded") && out.contains("replayed"), "{out}");
    assert!(out.contains("│ billing.day-close"), "per function: {out}");
}

// ------------------------------------------------------------ tampering

/// A copy of the newest fixture, and the raw rows of one account's ledger.
fn tamper_target() -> (tempfile::TempDir, PathBuf, rusqlite::Connection) {
    let dir = fixture_dirs().pop().expect("a fixture");
    let (tmp, path) = copy_of(&dir);
    let conn = rusqlite::Connection::open(&path).unwrap();
    (tmp, path, conn)
}

const ACCOUNT: &str = "cobalt-print";

fn entry_key(seq: u64) -> String {
    format!("entry/{ACCOUNT}/{seq:020}")
}

fn raw(conn: &rusqlite::Connection, key: &str) -> Vec<u8> {
    conn.query_row("SELECT value FROM kv WHERE merchant = 'northwind-office' AND key = ?1", [key], |r| r.get(0)).unwrap()
}

fn write_raw(conn: &rusqlite::Connection, key: &str, value: &[u8]) {
    conn.execute("INSERT OR REPLACE INTO kv (merchant, key, value) VALUES ('northwind-office', ?1, ?2)", rusqlite::params![key, value]).unwrap();
}

fn entry_count(conn: &rusqlite::Connection) -> u64 {
    let account: credit_guest::model::Account = credit_guest::codec::decode(&raw(conn, &format!("acct/{ACCOUNT}"))).unwrap();
    account.entry_count
}

/// What `verify` says about the account's chain.
fn chain_findings(path: &Path) -> Vec<String> {
    let mut db = SqliteBackend::open_read_only(path).unwrap();
    let report = audit::audit(&mut db).unwrap();
    report.discrepancies.into_iter().filter(|d| d.at == ACCOUNT && d.what.starts_with("ledger chain broken")).map(|d| d.what).collect()
}

#[test]
fn the_fixture_chains_verify_before_any_tampering() {
    let (_tmp, path, conn) = tamper_target();
    assert!(entry_count(&conn) >= 6, "an account with a history to tamper with");
    let mut db = SqliteBackend::open_read_only(&path).unwrap();
    let report = audit::audit(&mut db).unwrap();
    assert!(report.is_clean(), "{:?}", report.discrepancies);
}

#[test]
fn an_entry_changed_in_the_sqlite_file_is_named() {
    let (_tmp, path, conn) = tamper_target();
    // Entry 3's memo edited, its stored hash kept (any field would do:
    // the memo leaves every sum as it was, so only the chain can tell).
    let seq = 3;
    let mut e: credit_guest::model::Entry = credit_guest::codec::decode(&raw(&conn, &entry_key(seq))).unwrap();
    e.memo.push_str(" (edited)");
    write_raw(&conn, &entry_key(seq), &credit_guest::codec::encode(&e).unwrap());
    drop(conn);
    assert_eq!(chain_findings(&path), [format!("ledger chain broken: entry {seq} was changed or inserted (its hash does not match its contents and entry {})", seq - 1)]);
}

#[test]
fn an_entry_removed_from_the_sqlite_file_is_named() {
    let (_tmp, path, conn) = tamper_target();
    conn.execute("DELETE FROM kv WHERE merchant = 'northwind-office' AND key = ?1", [entry_key(4)]).unwrap();
    drop(conn);
    assert_eq!(chain_findings(&path), ["ledger chain broken: entry 4 was removed (entry 5 follows entry 3)"]);

    // The last entry alone removed: only the account's head can tell.
    let (_tmp, path, conn) = tamper_target();
    let last = entry_count(&conn);
    conn.execute("DELETE FROM kv WHERE merchant = 'northwind-office' AND key = ?1", [entry_key(last)]).unwrap();
    drop(conn);
    assert_eq!(
        chain_findings(&path),
        [format!("ledger chain broken: the account's head is not the hash of its last entry {} (later entries were removed, or the head was changed)", last - 1)]
    );
}

#[test]
fn an_entry_inserted_in_the_sqlite_file_is_named_even_with_a_correct_hash() {
    let (_tmp, path, conn) = tamper_target();
    let last = entry_count(&conn);
    // A forged credit after the last entry, hashed as the component would.
    let prev: credit_guest::model::Entry = credit_guest::codec::decode(&raw(&conn, &entry_key(last))).unwrap();
    let mut forged = prev.clone();
    forged.seq = last + 1;
    forged.memo = "payment received".into();
    forged.hash = credit_guest::chain::link(&prev.hash, &credit_guest::chain::contents(&forged).unwrap());
    write_raw(&conn, &entry_key(last + 1), &credit_guest::codec::encode(&forged).unwrap());
    drop(conn);
    assert_eq!(chain_findings(&path), [format!("ledger chain broken: entry {} was inserted after the account's last entry {last}", last + 1)]);

    // One slipped in between two entries (the later ones renumbered) with
    // a made-up hash.
    let (_tmp, path, conn) = tamper_target();
    let last = entry_count(&conn);
    for seq in (5..=last).rev() {
        let mut e: credit_guest::model::Entry = credit_guest::codec::decode(&raw(&conn, &entry_key(seq))).unwrap();
        e.seq += 1;
        write_raw(&conn, &entry_key(seq + 1), &credit_guest::codec::encode(&e).unwrap());
    }
    let mut forged: credit_guest::model::Entry = credit_guest::codec::decode(&raw(&conn, &entry_key(4))).unwrap();
    forged.seq = 5;
    forged.memo = "inserted".into();
    write_raw(&conn, &entry_key(5), &credit_guest::codec::encode(&forged).unwrap());
    drop(conn);
    assert_eq!(chain_findings(&path), ["ledger chain broken: entry 5 was changed or inserted (its hash does not match its contents and entry 4)"]);
}

// ------------------------------------------------------ writing a fixture

/// Writes `dir`: the demo, the call-only conformance vectors, and the
/// answers of every query those vectors ask plus each query function on
/// every demo account.
fn write_fixture(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let db = dir.join("store.sqlite");
    let tmp = tempfile::tempdir().unwrap();
    let demo = Command::new(env!("CARGO_BIN_EXE_credit-host-cli"))
        .current_dir(tmp.path())
        .arg("--component-cache")
        .arg(component_cache())
        .args(["demo", "--db", db.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(demo.status.success(), "{}", String::from_utf8_lossy(&demo.stderr));
    let _ = std::fs::remove_dir_all(dir.join("store.mail"));
    let mut ledger = Ledger::open_sqlite(component(), &db).unwrap();
    let vectors_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let mut queries: Vec<(String, String, Json)> = Vec::new();
    let mut templates: std::collections::BTreeMap<String, Json> = Default::default();
    for path in credit_host::vectors::files(&vectors_dir).unwrap() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let v = credit_host::vectors::load(&path).unwrap();
        if v.steps.iter().any(|s| s.call.is_none()) {
            continue; // writes behind the component's back: not a history to keep
        }
        if name == "day-close-in-parts.json" {
            continue; // 400 closes of big invoices, 60% of the file: kept small
        }
        let stem = name.trim_end_matches(".json");
        for s in &v.steps {
            let merchant = format!("{}@{stem}", s.merchant.as_deref().unwrap_or(&v.merchant));
            let call = s.call.clone().unwrap();
            let args = s.args.clone().unwrap_or(json!({}));
            let m = MerchantId::new(&merchant).unwrap();
            let got = ledger.call_json(&m, &call, &args).unwrap();
            assert_eq!(Some(&got), s.expect.as_ref(), "{name}: {call}");
            if call.starts_with("queries.") || call.starts_with("reports.") {
                if args.get("account-id").is_some() {
                    templates.entry(call.clone()).or_insert_with(|| args.clone());
                }
                if !queries.iter().any(|(qm, qc, qa)| *qm == merchant && *qc == call && *qa == args) {
                    queries.push((merchant, call, args));
                }
            }
        }
    }
    for account in ["acme-dental", "birch-architects", "cobalt-print"] {
        for (call, template) in &templates {
            let mut args = template.clone();
            args["account-id"] = json!(account);
            queries.push(("northwind-office".into(), call.clone(), args));
        }
    }
    let asked: Vec<Asked> = queries
        .into_iter()
        .map(|(merchant, call, args)| {
            let answer = ledger.call_json(&MerchantId::new(&merchant).unwrap(), &call, &args).unwrap();
            Asked { merchant, call, args, answer }
        })
        .collect();
    ledger.backend().close().unwrap();
    drop(ledger);
    std::fs::write(dir.join("answers.json"), serde_json::to_string_pretty(&asked).unwrap() + "\n").unwrap();
}

//! The host as an attacker and an unlucky operator meet it: bytes that are
//! not calls, oversized requests, amounts written oddly, files deleted or
//! read-only under a running server, backups taken while it writes, and
//! `verify` on damaged databases and next to a busy server.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use credit_host::api::*;
use credit_host::serve::{Call, Reply};
use credit_host::store::SqliteBackend;
use credit_host::{Ledger, MerchantId, audit};

use crate::support::*;

fn cli(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_credit-host-cli"));
    c.current_dir(dir).arg("--component-cache").arg(component_cache());
    c
}

fn open_call(n: u64, account: &str) -> Call {
    Call::OpenAccount {
        merchant: "probe".into(),
        ctx: CallContext { idempotency_key: format!("k{n}"), now_ms: T0 },
        req: open_req(account, "GBP", "1000.00", Tolerance::None),
    }
}

fn pay_call(n: u64, account: &str, amount: &str) -> Call {
    Call::RecordPayment {
        merchant: "probe".into(),
        ctx: CallContext { idempotency_key: format!("k{n}"), now_ms: T0 },
        req: RecordPaymentRequest {
            account_id: account.into(),
            amount: gbp(amount),
            received_on: day_of(T0),
            method: "bank-transfer".into(),
            reference: format!("pay {n}"),
            allocations: vec![],
            spread: None,
        },
    }
}

fn line(call: &Call) -> Vec<u8> {
    let mut l = serde_json::to_vec(call).unwrap();
    l.push(b'\n');
    l
}

/// A `serve` process with its input and answers.
struct Server {
    child: Child,
    answers: BufReader<std::process::ChildStdout>,
}

impl Server {
    fn start(dir: &Path, db: &Path, extra: &[&str]) -> Server {
        let mut child = cli(dir)
            .arg("serve")
            .arg("--db")
            .arg(db)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let answers = BufReader::new(child.stdout.take().unwrap());
        Server { child, answers }
    }

    fn send(&mut self, bytes: &[u8]) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    fn answer(&mut self) -> Reply {
        let mut text = String::new();
        self.answers.read_line(&mut text).unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not an answer: {text:?}: {e}"))
    }

    fn call(&mut self, call: &Call) -> Reply {
        self.send(&line(call));
        self.answer()
    }

    /// Closes the input and waits; the exit status and what it said.
    fn finish(mut self) -> (Option<i32>, String) {
        drop(self.child.stdin.take());
        let status = self.child.wait().unwrap();
        let mut err = String::new();
        self.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        (status.code(), err)
    }
}

fn host_error(r: &Reply) -> &str {
    match r {
        Reply::HostError(e) => e,
        other => panic!("expected a host error, got {other:?}"),
    }
}

#[test]
fn serve_answers_every_line_whatever_its_bytes_and_goes_on() {
    for extra in [&[][..], &["--group-commit", "4"][..]] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("serve.sqlite");
        let mut args = vec!["--max-line-bytes", "4096"];
        args.extend_from_slice(extra);
        let mut s = Server::start(dir.path(), &db, &args);
        assert!(matches!(s.call(&open_call(1, "acme")), Reply::Ok(_)));
        // Everything at once, as a pipelining client would send it.
        let mut batch = Vec::new();
        batch.extend_from_slice(b"{\"op\":\"get-account\",\"merchant\":\"probe\",\xff\xfe}\n");
        batch.extend_from_slice(b"this is not json\n");
        let misspelt = String::from_utf8(line(&Call::Authorize {
            merchant: "probe".into(),
            ctx: CallContext { idempotency_key: "k2".into(), now_ms: T0 },
            req: AuthorizeRequest { account_id: "acme".into(), order_id: "SO-1".into(), amount: gbp("10.00"), hold_ttl_s: Some(60), open_ended: None },
        }))
        .unwrap()
        .replace("hold_ttl_s", "hold_ttl");
        batch.extend_from_slice(misspelt.as_bytes());
        batch.extend_from_slice(&vec![b'x'; 10_000]);
        batch.push(b'\n');
        batch.extend_from_slice(b"\n   \n");
        batch.extend_from_slice(&line(&pay_call(3, "acme", "5.00")));
        s.send(&batch);
        assert!(host_error(&s.answer()).contains("line 2: not valid UTF-8"), "{extra:?}");
        assert!(host_error(&s.answer()).contains("line 3: not a call"));
        assert!(host_error(&s.answer()).contains("unknown field `req.hold_ttl`"));
        assert!(host_error(&s.answer()).contains("line 5: 10000 bytes, over the 4096-byte limit"));
        assert!(matches!(s.answer(), Reply::Ok(_)), "the server goes on after all of it");
        let (code, err) = s.finish();
        assert_eq!(code, Some(0), "{err}");
    }
}

#[test]
fn strings_and_lists_far_over_their_limits_are_refused_not_trapped() {
    let mut h = H::new();
    h.open("acme", "1000.00");
    let hold = h.approve("acme", "SO-1", "10.00").hold.hold_id;
    let huge = "a".repeat(33 << 20);
    let before = h.dump();
    let c = h.ctx();
    let req = AuthorizeRequest { account_id: huge.clone(), order_id: "SO-2".into(), amount: gbp("1.00"), hold_ttl_s: None, open_ended: None };
    assert_eq!(h.ledger.authorize(&h.m, &c, &req).unwrap().map(|_| ()), Err(CreditError::IdTooLong("account-id".into())));
    let key = CallContext { idempotency_key: huge.clone(), now_ms: T0 };
    let req = AuthorizeRequest { account_id: "acme".into(), order_id: "SO-2".into(), amount: gbp("1.00"), hold_ttl_s: None, open_ended: None };
    assert_eq!(h.ledger.authorize(&h.m, &key, &req).unwrap().map(|_| ()), Err(CreditError::IdTooLong("idempotency-key".into())));
    let req = RecordReturnRequest { account_id: "acme".into(), order_id: "SO-1".into(), amount: gbp("1.00"), credit_to: CreditTarget::OwedFirst, reason: huge.clone() };
    assert_eq!(h.ledger.record_return(&h.m, &c, &req).unwrap().map(|_| ()), Err(CreditError::TextTooLong("reason".into())));
    let line = InvoiceLine { description: "box".into(), quantity: "1".into(), unit_price: "0.00".into(), tax: "0.00".into(), tax_rate: None };
    let req = CaptureRequest { hold_id: hold.clone(), amount: gbp("10.00"), lines: vec![line; 200_000], delivery_date: None, terms: None, delivery: None, rest: None };
    assert_eq!(h.ledger.capture(&h.m, &c, &req).unwrap().map(|_| ()), Err(CreditError::TooManyLines));
    assert_eq!(h.ledger.get_account(&h.m, &huge, T0).unwrap().map(|_| ()), Err(CreditError::IdTooLong("account-id".into())));
    assert_eq!(h.dump(), before, "nothing changed");
    // Just over the component's own limits, the component says the same.
    let req = AuthorizeRequest { account_id: "a".repeat(65), order_id: "SO-2".into(), amount: gbp("1.00"), hold_ttl_s: None, open_ended: None };
    assert_eq!(h.ledger.authorize(&h.m, &c, &req).unwrap().map(|_| ()), Err(CreditError::IdTooLong("account-id".into())));
    let line = InvoiceLine { description: "box".into(), quantity: "1".into(), unit_price: "0.10".into(), tax: "0.00".into(), tax_rate: None };
    let req = CaptureRequest { hold_id: hold, amount: gbp("10.10"), lines: vec![line; 101], delivery_date: None, terms: None, delivery: None, rest: None };
    assert_eq!(h.ledger.capture(&h.m, &c, &req).unwrap().map(|_| ()), Err(CreditError::TooManyLines));
    h.check();
}

#[test]
fn amounts_are_numbers_however_they_are_written() {
    let mut h = H::new();
    h.open("acme", "1000.00");
    // Trailing zeros beyond Decimal's 28 digits are still just zeros.
    let a = h.approve("acme", "SO-1", "5.000000000000000000000000000000000000");
    assert_eq!(a.hold.amount, "5.00");
    // A retry that writes the amount another way is the same request.
    let c = h.ctx();
    let req = |amount: &str| AuthorizeRequest { account_id: "acme".into(), order_id: "SO-2".into(), amount: gbp(amount), hold_ttl_s: None, open_ended: None };
    let first = h.authorize_with(&c, &req("10.00")).unwrap();
    assert_eq!(h.authorize_with(&c, &req("10.0")).unwrap(), first);
    assert_eq!(h.authorize_with(&c, &req("010")).unwrap(), first);
    assert_eq!(h.authorize_with(&c, &req("10.01")), Err(CreditError::IdempotencyKeyReused));
    assert_eq!(h.summary("acme").figures.open_holds, "15.00");
}

fn demo_db(dir: &Path) -> PathBuf {
    let out = cli(dir).args(["demo", "--db", "demo.sqlite"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    dir.join("demo.sqlite")
}

#[test]
fn a_clean_exit_leaves_every_call_in_the_database_file_itself() {
    for extra in [&[][..], &["--group-commit", "8"][..]] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("shop.sqlite");
        let mut s = Server::start(dir.path(), &db, extra);
        let mut batch = line(&open_call(1, "acme"));
        for n in 2..=20 {
            batch.extend_from_slice(&line(&pay_call(n, "acme", "1.00")));
        }
        s.send(&batch);
        for _ in 1..=20 {
            assert!(matches!(s.answer(), Reply::Ok(_)));
        }
        let (code, err) = s.finish();
        assert_eq!(code, Some(0), "{err}");
        // A copy of the .sqlite file alone (no -wal beside it) has it all.
        let wal = std::fs::metadata(dir.path().join("shop.sqlite-wal")).map(|m| m.len()).unwrap_or(0);
        assert_eq!(wal, 0, "{extra:?}: the log was checkpointed into the file");
        let copy_dir = tempfile::tempdir().unwrap();
        let copy = copy_dir.path().join("copy.sqlite");
        std::fs::copy(&db, &copy).unwrap();
        let mut ledger = Ledger::open_sqlite(component(), &copy).unwrap();
        let m = MerchantId::new("probe").unwrap();
        let acme = ledger.get_account(&m, "acme", T0).unwrap().unwrap();
        assert_eq!(acme.figures.stored_balance, "19.00", "{extra:?}");
        assert!(audit::audit(ledger.backend()).unwrap().is_clean());
    }
}

#[test]
fn a_backup_taken_while_a_server_writes_is_whole_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.sqlite");
    let mut s = Server::start(dir.path(), &db, &["--group-commit", "8"]);
    assert!(matches!(s.call(&open_call(1, "acme")), Reply::Ok(_)));
    // The server keeps writing from another thread while the backup runs.
    let writer = std::thread::spawn(move || {
        for n in 2..400 {
            assert!(matches!(s.call(&pay_call(n, "acme", "0.01")), Reply::Ok(_)), "call {n}");
        }
        s
    });
    std::thread::sleep(std::time::Duration::from_millis(200));
    let out = cli(dir.path()).args(["backup", "--db", "shop.sqlite", "--to", "copy.sqlite"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("0 discrepancies"), "{text}");
    let s = writer.join().unwrap();
    assert_eq!(s.finish().0, Some(0));
    // The copy stands alone and is a consistent moment of the shop.
    let mut copy = Ledger::open_sqlite(component(), dir.path().join("copy.sqlite")).unwrap();
    let acme = copy.get_account(&MerchantId::new("probe").unwrap(), "acme", T0).unwrap().unwrap();
    let pennies = (d(&acme.figures.stored_balance) * rust_decimal::Decimal::ONE_HUNDRED).to_string();
    assert!(acme.entry_count >= 1 && acme.entry_count <= 399, "{pennies} pennies in the copy");
    // A second backup to the same place is refused, not overwritten.
    let again = cli(dir.path()).args(["backup", "--db", "shop.sqlite", "--to", "copy.sqlite"]).output().unwrap();
    assert_eq!(again.status.code(), Some(2));
}

#[test]
fn a_database_deleted_under_a_running_server_stops_it() {
    for extra in [&[][..], &["--group-commit", "4"][..]] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("shop.sqlite");
        let mut s = Server::start(dir.path(), &db, extra);
        assert!(matches!(s.call(&open_call(1, "acme")), Reply::Ok(_)));
        assert!(matches!(s.call(&pay_call(2, "acme", "1.00")), Reply::Ok(_)));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.path().join(format!("shop.sqlite{suffix}")));
        }
        let r = s.call(&pay_call(3, "acme", "1.00"));
        assert!(host_error(&r).contains("was deleted while it was open"), "{extra:?}: {r:?}");
        let (code, err) = s.finish();
        assert_eq!(code, Some(2), "{extra:?}: the server stops: {err}");
        assert!(err.contains("deleted"), "{err}");
    }
}

#[test]
fn a_read_only_database_is_refused_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    std::fs::remove_dir_all(dir.path().join("demo.mail")).unwrap();
    // As root, permissions do not stop writes: run the server as nobody,
    // on a file (and folder) owned by root that nobody may not write.
    let root = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false);
    let mut cmd = if root {
        use std::os::unix::fs::PermissionsExt;
        for p in [dir.path(), db.as_path()] {
            let mode = if p.is_dir() { 0o755 } else { 0o644 };
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        // The shared cache holds the compiled component already (it is
        // compiled for this test binary first): nobody only reads it.
        component();
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_credit-host-cli")]);
        c.current_dir(dir.path()).arg("--component-cache").arg(component_cache());
        c
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
        cli(dir.path())
    };
    let out = cmd.args(["serve", "--db"]).arg(&db).stdin(Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("database is read-only"), "{err}");
    assert!(!err.contains("backtrace") && !err.contains("wasm"), "no trap: {err}");
}

#[test]
fn verify_reads_a_snapshot_while_writers_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let mut reader = SqliteBackend::open_read_only(&db).unwrap();
    let mut writer = Ledger::open_sqlite(component(), &db).unwrap();
    let m = MerchantId::new("northwind-office").unwrap();
    let mut wrote = 0;
    let report = audit::audit_with_progress(&mut reader, &mut |_| {
        // Midway through the audit's read transaction another connection
        // writes. Had verify taken the write lock, these would wait for it
        // (and it for them) until the 30 s busy timeout and then fail.
        if wrote == 0 {
            for n in 0..3 {
                let c = CallContext { idempotency_key: format!("during-verify-{n}"), now_ms: at("2026-03-16") };
                let req = RecordPaymentRequest {
                    account_id: "acme-dental".into(),
                    amount: gbp("1.00"),
                    received_on: "2026-03-16".into(),
                    method: "card".into(),
                    reference: "while verifying".into(),
                    allocations: vec![],
                    spread: None,
                };
                writer.record_payment(&m, &c, &req).unwrap().unwrap();
                wrote += 1;
            }
        }
    })
    .unwrap();
    assert_eq!(wrote, 3);
    assert!(report.is_clean(), "{:#?}", report.discrepancies);
    let entries_then = report.entries;
    let after = audit::audit(&mut reader).unwrap();
    assert!(after.is_clean());
    assert_eq!(after.entries, entries_then + 3, "the first audit read one snapshot; the next sees the writes");
}

fn verify(dir: &Path, db: &str) -> (Option<i32>, String) {
    let out = cli(dir).args(["verify", "--db", db]).output().unwrap();
    (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn verify_names_each_damaged_record() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let conn = rusqlite_conn(&db);
    // A key renamed behind the component's back, a record's bytes mangled,
    // an order that names no account, and a key nobody writes.
    conn.execute("UPDATE kv SET key = 'acct/birch-architectz' WHERE key = 'acct/birch-architects'", []).unwrap();
    let idem: String = conn.query_row("SELECT key FROM kv WHERE key LIKE 'idem/%' ORDER BY key LIMIT 1", [], |r| r.get(0)).unwrap();
    conn.execute("UPDATE kv SET value = x'ffffffff' WHERE key = ?1", [&idem]).unwrap();
    conn.execute("UPDATE kv SET value = x'00' WHERE key = 'seq/payment'", []).unwrap();
    conn.execute("INSERT INTO kv VALUES ('northwind-office', 'junk/1', x'00')", []).unwrap();
    drop(conn);
    let (code, out) = verify(dir.path(), "demo.sqlite");
    assert_eq!(code, Some(1), "{out}");
    for expected in [
        "northwind-office/acct/birch-architectz: holds account \"birch-architects\"".to_owned(),
        format!("northwind-office/{idem}: cannot be read as an idempotency record"),
        "northwind-office/junk/1: not a key this component writes".to_owned(),
        "northwind-office/entry/birch-architects/00000000000000000001: belongs to account \"birch-architects\", which does not exist".to_owned(),
    ] {
        assert!(out.contains(&expected), "verify should say {expected:?}:\n{out}");
    }
}

fn rusqlite_conn(db: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(db).unwrap()
}

#[test]
fn verify_finds_every_damaged_page() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    {
        // One file, no free pages: every page holds something.
        let conn = rusqlite_conn(&db);
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
        conn.execute_batch("VACUUM").unwrap();
    }
    let clean = std::fs::read(&db).unwrap();
    let page = 4096;
    assert_eq!(clean.len() % page, 0);
    let pages = clean.len() / page;
    assert!(pages >= 8, "{pages} pages");
    let mut rng = Rng(0x005E_ED0F_DA7A);
    for p in 0..pages {
        let mut bytes = clean.clone();
        for b in &mut bytes[p * page..(p + 1) * page] {
            *b = rng.next() as u8;
        }
        std::fs::write(dir.path().join("damaged.sqlite"), &bytes).unwrap();
        let (code, out) = verify(dir.path(), "damaged.sqlite");
        assert_eq!(code, Some(1), "page {} of {pages} overwritten: {out}", p + 1);
    }
}

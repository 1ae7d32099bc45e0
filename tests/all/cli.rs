//! The command line as a user runs it, in a separate process: the demo (the
//! project's main job) and `verify` on a database before and after damage.

use std::process::Command;

use credit_host::store::{Backend, SqliteBackend};

use crate::support::component_cache;

fn cli(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_credit-host-cli"));
    c.current_dir(dir).arg("--component-cache").arg(component_cache());
    c
}

#[test]
fn the_demo_runs_and_verify_finds_damage() {
    let dir = tempfile::tempdir().unwrap();
    let demo = cli(dir.path()).args(["demo", "--db", "demo.sqlite"]).output().unwrap();
    let out = String::from_utf8_lossy(&demo.stdout);
    assert!(demo.status.success(), "{out}\n{}", String::from_utf8_lossy(&demo.stderr));
    for expected in [
        "DECLINED (insufficient credit), short by £350.00",
        "INV-acme-dental-1 £1,078.00 + £22.00 discount (owes £0.00)",
        "late fee £15.00 on INV-cobalt-print-1",
        "PUT ON HOLD",
        "DECLINED (on hold for overdue invoices)",
        "0 discrepancies",
    ] {
        assert!(out.contains(expected), "the demo should say {expected:?}:\n{out}");
    }
    let cobalt = dir.path().join("demo.mail/northwind-office/cobalt-print");
    let mut mails: Vec<String> = std::fs::read_dir(&cobalt).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    mails.sort();
    assert_eq!(mails.iter().filter(|m| m.contains("-level")).count(), 5, "five reminders to Cobalt: {mails:?}");
    assert_eq!(mails.iter().filter(|m| m.starts_with("invoice-")).collect::<Vec<_>>(), ["invoice-INV-cobalt-print-1.eml"], "its invoice was sent");
    assert_eq!(mails.iter().filter(|m| m.starts_with("statement-")).collect::<Vec<_>>(), ["statement-0001.eml", "statement-0002.eml"], "March and April");
    let april = std::fs::read_to_string(cobalt.join("statement-0002.eml")).unwrap();
    for expected in [
        "To: \"Cobalt Print Ltd\" <finance@cobalt.example>",
        "Date: Thu, 30 Apr 2026 00:00:00 +0000",
        "closing balance 1373.58 GBP; amount due now 1373.58 GBP",
        "Content-Disposition: attachment; filename=\"statement-cobalt-print-2026-04-30.html\"",
    ] {
        assert!(april.contains(expected), "the April statement should say {expected:?}:\n{april}");
    }
    assert!(out.contains("monthly statement 2026-04-01 to 2026-04-30: closing £1,373.58, due now £1,373.58"), "{out}");

    let verify = cli(dir.path()).args(["verify", "--db", "demo.sqlite"]).output().unwrap();
    assert_eq!(verify.status.code(), Some(0), "{}", String::from_utf8_lossy(&verify.stdout));

    // Damage a cached figure behind the component's back.
    let mut db = SqliteBackend::open(dir.path().join("demo.sqlite")).unwrap();
    db.begin().unwrap();
    let raw = db.get("northwind-office", "acct/birch-architects").unwrap().unwrap();
    let mut account: credit_guest::model::Account = credit_guest::codec::decode(&raw).unwrap();
    assert_eq!(account.posted_debt.to_string(), "1150.00");
    account.posted_debt = "1149.00".parse().unwrap();
    db.put("northwind-office", "acct/birch-architects", &credit_guest::codec::encode(&account).unwrap()).unwrap();
    db.commit().unwrap();
    drop(db);

    let verify = cli(dir.path()).args(["verify", "--db", "demo.sqlite"]).output().unwrap();
    let out = String::from_utf8_lossy(&verify.stdout);
    assert_eq!(verify.status.code(), Some(1), "{out}");
    assert!(out.contains("birch-architects: posted_debt is 1149.00 but its entries add up to 1150.00"), "{out}");
}

/// Every row of a database but the idempotency records (which a call with a
/// new key adds even when it changes nothing).
fn rows_but_keys(path: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut db = SqliteBackend::open(path).unwrap();
    let mut rows = Vec::new();
    for m in db.merchants().unwrap() {
        let mut after: Option<String> = None;
        loop {
            let page = db.scan(&m, "", after.as_deref(), 1000).unwrap();
            let Some(last) = page.last().map(|(k, _)| k.clone()) else { break };
            rows.extend(page.into_iter().filter(|(k, _)| !k.starts_with("idem/")).map(|(k, v)| (format!("{m}/{k}"), v)));
            after = Some(last);
        }
    }
    rows
}

fn summary_count(out: &str, label: &str) -> u64 {
    let line = out.lines().find(|l| l.contains(label)).unwrap_or_else(|| panic!("no {label:?} in:\n{out}"));
    line.split(['│', '┆']).filter_map(|c| c.trim().parse().ok()).next().unwrap_or_else(|| panic!("no count in {line:?}"))
}

#[test]
fn close_day_closes_every_account_goes_on_past_a_failure_and_changes_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let demo = cli(dir.path()).args(["demo", "--db", "demo.sqlite"]).output().unwrap();
    assert!(demo.status.success(), "{}", String::from_utf8_lossy(&demo.stderr));
    let db_path = dir.path().join("demo.sqlite");

    // Birch's settings record is unreadable: its close fails, the others' do not.
    let mut db = SqliteBackend::open(&db_path).unwrap();
    let good = db.get("northwind-office", "acfg/birch-architects").unwrap().unwrap();
    db.begin().unwrap();
    db.put("northwind-office", "acfg/birch-architects", b"\xff\xff\xff").unwrap();
    db.commit().unwrap();
    drop(db);

    let close = |dir: &std::path::Path| {
        let out = cli(dir)
            .args(["close-day", "--db", "demo.sqlite", "--date", "2026-05-31", "--at", "2026-05-31T18:00:00Z", "--mail-dir", "mail"])
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, out, err) = close(dir.path());
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(out.contains("not closed: northwind-office/birch-architects"), "{out}");
    assert_eq!(summary_count(&out, "accounts closed"), 2, "{out}");
    assert_eq!(summary_count(&out, "statements made"), 2, "acme and cobalt, on their statement day (31st): {out}");
    assert_eq!(summary_count(&out, "accounts not closed"), 1, "{out}");
    for account in ["acme-dental", "cobalt-print"] {
        let may = dir.path().join("mail/northwind-office").join(account).join("statement-0003.eml");
        let text = std::fs::read_to_string(&may).unwrap_or_else(|e| panic!("{}: {e}", may.display()));
        assert!(text.contains("Subject: Statement of account ") && text.contains("2026-05-01 to 2026-05-31"), "{text}");
    }

    // Repaired, a second run closes Birch and leaves the other two as they were.
    let mut db = SqliteBackend::open(&db_path).unwrap();
    db.begin().unwrap();
    db.put("northwind-office", "acfg/birch-architects", &good).unwrap();
    db.commit().unwrap();
    drop(db);
    let (code, out, err) = close(dir.path());
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert_eq!(summary_count(&out, "accounts closed"), 1, "{out}");
    assert_eq!(summary_count(&out, "already closed"), 2, "{out}");
    assert_eq!(summary_count(&out, "statements made"), 1, "Birch's May statement: {out}");
    assert!(dir.path().join("mail/northwind-office/birch-architects/statement-0003.eml").exists());

    // A third run changes nothing at all.
    let before = rows_but_keys(&db_path);
    let (code, out, _) = close(dir.path());
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(summary_count(&out, "already closed"), 3, "{out}");
    assert_eq!(summary_count(&out, "statements made"), 0, "{out}");
    assert_eq!(summary_count(&out, "late fees charged"), 0, "{out}");
    assert!(rows_but_keys(&db_path) == before, "a repeated close-day changed the data");

    let verify = cli(dir.path()).args(["verify", "--db", "demo.sqlite"]).output().unwrap();
    assert_eq!(verify.status.code(), Some(0), "{}", String::from_utf8_lossy(&verify.stdout));
}

#[test]
fn the_report_commands_print_tables_and_json_from_the_component() {
    let dir = tempfile::tempdir().unwrap();
    let demo = cli(dir.path()).args(["demo", "--db", "demo.sqlite"]).output().unwrap();
    assert!(demo.status.success(), "{}", String::from_utf8_lossy(&demo.stderr));
    let run = |args: &[&str]| {
        let out = cli(dir.path()).args(args).args(["--db", "demo.sqlite", "--merchant", "northwind-office"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{args:?}: {text}\n{}", String::from_utf8_lossy(&out.stderr));
        text
    };
    let json = |args: &[&str]| -> serde_json::Value {
        let mut a = args.to_vec();
        a.push("--json");
        serde_json::from_str(&run(&a)).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    };

    // Aging on 4 May: only Birch owes, 1,150.00, four days past its 30 April due date.
    let aging = json(&["aging", "--as-of", "2026-05-04"]);
    assert_eq!(aging["rows"].as_array().unwrap().len(), 1, "{aging}");
    assert_eq!(aging["rows"][0]["account_id"], "birch-architects");
    assert_eq!(aging["totals"][0]["buckets"], serde_json::json!(["0.00", "1150.00", "0.00", "0.00", "0.00"]));
    assert_eq!(aging["totals"][0]["total"], "1150.00");
    let table = run(&["aging", "--as-of", "2026-05-04"]);
    assert!(table.contains("birch-architects") && table.contains("1,150.00"), "{table}");
    // By document date (3 March) the same amount is 62 days old.
    let by_doc = json(&["aging", "--as-of", "2026-05-04", "--by-document-date"]);
    assert_eq!(by_doc["totals"][0]["buckets"], serde_json::json!(["0.00", "0.00", "0.00", "1150.00", "0.00"]), "{by_doc}");

    // Debtors with a balance, and with cobalt's reserved order counted in its utilisation.
    let debtors = json(&["debtors", "--as-of", "2026-05-04", "--balance-min", "0.01"]);
    let ids: Vec<&str> = debtors["rows"].as_array().unwrap().iter().map(|r| r["account_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["birch-architects"], "{debtors}");
    let all = json(&["debtors", "--as-of", "2026-05-04", "--sort", "utilisation"]);
    let ids: Vec<&str> = all["rows"].as_array().unwrap().iter().map(|r| r["account_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["birch-architects", "cobalt-print", "acme-dental"], "{all}");

    // A statement as JSON and as a page.
    let st = json(&["statement", "--account", "cobalt-print", "--from", "2026-04-01", "--to", "2026-04-30", "--html", "cobalt.html"]);
    assert_eq!((st["opening_balance"].as_str(), st["closing_balance"].as_str()), (Some("1350.00"), Some("1373.58")), "{st}");
    let page = std::fs::read_to_string(dir.path().join("cobalt.html")).unwrap();
    assert!(page.contains("1,373.58") && page.contains("Statement of account"), "{page}");

    // A note with a promise, then the list.
    let notes = json(&["notes", "--account", "birch-architects", "--add", "Called Jo: paying Friday", "--by", "r.patel", "--promise-by", "2026-05-08", "--promise-amount", "1150.00"]);
    assert_eq!(notes.as_array().unwrap().len(), 1, "{notes}");
    assert_eq!(notes[0]["text"], "Called Jo: paying Friday");
    assert_eq!(notes[0]["promise"]["amount"], "1150.00");
    let table = run(&["notes", "--account", "birch-architects"]);
    assert!(table.contains("Called Jo: paying Friday") && table.contains("r.patel"), "{table}");

    // The deliveries the demo recorded.
    let deliveries = json(&["deliveries", "--account", "birch-architects"]);
    assert_eq!(deliveries[0]["carrier"], "Palletways", "{deliveries}");
    assert_eq!((deliveries[0]["cost"].as_str(), deliveries[0]["charged"].as_str()), (Some("68.00"), Some("45.00")));

    // A missed promise is a warning on 9 May.
    let warnings = json(&["warnings", "--as-of", "2026-05-09", "--account", "birch-architects"]);
    let missed = warnings[0]["signals"].as_array().unwrap().iter().find_map(|s| s.get("PromiseMissed")).unwrap_or_else(|| panic!("{warnings}"));
    assert_eq!((missed["pay_by"].as_str(), missed["paid"].as_str()), (Some("2026-05-08"), Some("0.00")));
    let healthy = json(&["warnings", "--as-of", "2026-05-09", "--account", "acme-dental"]);
    assert_eq!(healthy[0]["signals"], serde_json::json!([]), "{healthy}");

    // A refused query is an error of the command, naming the component's reason.
    let bad = cli(dir.path()).args(["aging", "--db", "demo.sqlite", "--merchant", "northwind-office", "--as-of", "2026-02-30"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("DateMalformed"), "{}", String::from_utf8_lossy(&bad.stderr));
}

#[test]
fn serve_with_a_mail_folder_sends_each_invoice_and_monthly_statement() {
    use credit_host::api::*;
    use credit_host::serve::{Call, Reply};
    use std::io::Write;

    use crate::support::{at, open_req, quiet_policy};
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("names.json"),
        r#"{"merchants":{"shop":{"name":"Shop & Sons","email":"ar@shop.example","customers":{"cust-acme":{"name":"Acme Ltd","address":["1 High St"],"email":"ap@acme.example"}}}}}"#,
    )
    .unwrap();
    let ctx = |key: &str, day: &str| CallContext { idempotency_key: key.into(), now_ms: at(day) };
    let m = || "shop".to_string();
    let mut open = open_req("acme", "GBP", "1000.00", Tolerance::None);
    open.policy = BillingPolicy { statement_day: Some(31), ..quiet_policy() };
    let calls = [
        Call::OpenAccount { merchant: m(), ctx: ctx("o", "2026-03-02"), req: open },
        Call::Authorize {
            merchant: m(),
            ctx: ctx("a", "2026-03-02"),
            req: AuthorizeRequest { account_id: "acme".into(), order_id: "SO-1".into(), amount: crate::support::gbp("120.00"), hold_ttl_s: None, open_ended: None },
        },
        Call::Capture {
            merchant: m(),
            ctx: ctx("c", "2026-03-03"),
            req: CaptureRequest { hold_id: "H-acme-1".into(), amount: crate::support::gbp("120.00"), lines: vec![], delivery_date: None, terms: None, delivery: None, rest: None },
        },
        Call::DayClose { merchant: m(), ctx: ctx("d", "2026-03-31"), account_id: "acme".into(), date: "2026-03-31".into() },
    ];
    let mut child = cli(dir.path())
        .args(["serve", "--db", "s.sqlite", "--mail-dir", "mail", "--names", "names.json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    for c in &calls {
        writeln!(input, "{}", serde_json::to_string(c).unwrap()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let answers: Vec<Reply> = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(answers.iter().all(|a| matches!(a, Reply::Ok(_))), "{answers:?}");

    let folder = dir.path().join("mail/shop/acme");
    let invoice = std::fs::read_to_string(folder.join("invoice-INV-acme-1.eml")).unwrap();
    for expected in ["From: \"Shop & Sons\" <ar@shop.example>", "To: \"Acme Ltd\" <ap@acme.example>", "Subject: Invoice INV-acme-1: 120.00 GBP, due 2026-04-02", "Dear Acme Ltd,"] {
        assert!(invoice.contains(expected), "{expected:?} in:\n{invoice}");
    }
    let statement = std::fs::read_to_string(folder.join("statement-0001.eml")).unwrap();
    assert!(statement.contains("closing balance 120.00 GBP; amount due now 0.00 GBP"), "{statement}");
    // The attached page names both parties.
    use base64::Engine as _;
    let b64: String = statement.split("base64\r\n\r\n").nth(1).unwrap().split("--credit-host-part--").next().unwrap().split("\r\n").collect();
    let html = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64).unwrap()).unwrap();
    assert!(html.contains("Shop &amp; Sons") || html.contains("Shop &#38; Sons"), "{html}");
    assert!(html.contains("Acme Ltd") && html.contains("1 High St") && html.contains("120.00"), "{html}");
}

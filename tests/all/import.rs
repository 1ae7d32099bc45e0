//! The old books brought in: accounts and open invoices from CSV files,
//! checked whole first, written per file whole or not at all, and then
//! treated as if they had been made here.

use std::process::Command;

use credit_host::api::*;
use credit_host::import;
use serde_json::json;

use crate::support::*;

const ACCOUNTS: &str = "\
account-id,customer-id,currency,credit-limit,net-days,tolerance-percent,stored-balance
acme,acme-ltd,GBP,5000.00,30,10,
birch,birch-co,GBP,2000.00,14,,75.50
cobalt,cobalt-sa,EUR,1000.00,,,
";

const INVOICES: &str = "\
account-id,number,invoice-date,due-date,amount,paid,order-id
acme,OLD-1001,2026-01-10,2026-02-09,1200.00,200.00,PO-77
acme,OLD-1002,2026-02-20,2026-03-22,300.00,,
birch,OLD-2001,2026-01-05,2026-01-19,450.00,0,
cobalt,OLD-3001,2026-02-01,2026-03-03,99.90,,
";

fn cli(db: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_credit-host-cli"))
        .arg("--component-cache")
        .arg(component_cache())
        .args(args)
        .args(["--db", db, "--merchant", "m1", "--at", "2026-03-01T09:00:00Z"])
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

fn merchant() -> credit_host::MerchantId {
    credit_host::MerchantId::new("m1").unwrap()
}

#[test]
fn the_books_come_in_whole_and_a_second_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("books.sqlite").to_str().unwrap().to_owned();
    let (a, i) = (write(&dir, "accounts.csv", ACCOUNTS), write(&dir, "invoices.csv", INVOICES));
    let (code, out, err) = cli(&db, &["import", "--accounts", &a, "--invoices", &i, "--dry-run"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("Dry run: no problems; nothing was written."), "{out}");
    assert!(!std::path::Path::new(&db).exists() || H::sqlite(std::path::Path::new(&db)).dump().is_empty(), "a dry run writes nothing");

    let (code, out, err) = cli(&db, &["import", "--accounts", &a, "--invoices", &i]);
    assert_eq!(code, Some(0), "{out}{err}");
    let row = |label: &str, currency: &str| out.lines().find(|l| l.contains(label) && l.contains(currency)).unwrap_or_default().to_owned();
    assert!(row("accounts opened", "").contains(" 3 "), "{out}");
    let gbp_row = row("open invoices brought in", "GBP");
    assert!(gbp_row.contains(" 3 ") && gbp_row.contains("1950.00") && gbp_row.contains("1750.00"), "{out}");
    assert!(row("open invoices brought in", "EUR").contains("99.90"), "{out}");
    assert!(row("stored balances brought in", "GBP").contains("75.50"), "{out}");

    let mut h = H::sqlite(std::path::Path::new(&db));
    h.m = merchant();
    h.now_ms = at("2026-03-01") + 9 * HOUR_MS;
    let before = h.dump();
    let inv = h.get_invoice("OLD-1001");
    assert_eq!((inv.account_id.as_str(), inv.total.as_str(), inv.outstanding.as_str()), ("acme", "1200.00", "1000.00"));
    assert_eq!((inv.invoice_date.as_str(), inv.due_date.as_str(), inv.order_id.as_deref()), ("2026-01-10", "2026-02-09", Some("PO-77")));
    assert_eq!(inv.days_overdue, 20);
    let acme = h.summary("acme");
    assert_eq!((acme.figures.posted_debt.as_str(), acme.figures.credit_limit.as_str(), acme.figures.tolerance.as_str()), ("1300.00", "5000.00", "500.00"));
    assert_eq!(acme.terms.net_days, 30);
    let birch = h.summary("birch");
    assert_eq!((birch.figures.posted_debt.as_str(), birch.figures.stored_balance.as_str()), ("450.00", "75.50"));
    let kinds: Vec<EntryKind> = h.entries("birch").iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EntryKind::AccountOpened, EntryKind::StoredBalanceBroughtIn, EntryKind::InvoiceBroughtIn]);
    let e = h.entries("acme").into_iter().find(|e| e.kind == EntryKind::InvoiceBroughtIn).unwrap();
    assert!(e.postings.iter().any(|p| p.book == Book::OpeningBalances && p.credit == "1000.00"), "{:?}", e.postings);
    h.check();
    drop(h);

    // Again: nothing is written.
    let (code, out, err) = cli(&db, &["import", "--accounts", &a, "--invoices", &i]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(row_of(&out, "brought in before").contains(" 7 "), "{out}");
    let mut h = H::sqlite(std::path::Path::new(&db));
    assert_eq!(h.dump(), before, "a second run changes nothing");
}

fn row_of(out: &str, label: &str) -> String {
    out.lines().find(|l| l.contains(label)).unwrap_or_default().to_owned()
}

#[test]
fn every_problem_is_listed_with_file_line_and_field_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("books.sqlite").to_str().unwrap().to_owned();
    let accounts = write(
        &dir,
        "accounts.csv",
        "account-id,customer-id,currency,credit-limit,stored-balance\n\
         acme,acme-ltd,GBP,5000.00,\n\
         acme,acme-2,GBP,10.00,\n\
         dove,dove-ltd,GBP,lots,\n\
         emu,emu-ltd,XYZ,100.00,\n\
         fox,fox ltd,GBP,100.00,\n",
    );
    let invoices = write(
        &dir,
        "invoices.csv",
        "account-id,number,invoice-date,due-date,amount,paid,colour\n\
         acme,A-1,2026-01-10,2026-02-09,100.00,,red\n\
         nobody,A-2,2026-01-10,2026-02-09,100.00,,\n\
         acme,A-3,10/01/2026,2026-02-09,100.00,,\n\
         acme,A-4,2026-02-10,2026-02-09,100.00,,\n\
         acme,A-5,2026-01-10,2026-02-09,100.00,100.00,\n\
         acme,A-1,2026-01-10,2026-02-09,5.00,,\n\
         acme,A-7,2026-04-10,2026-05-09,100.00,,\n\
         acme,A 8,2026-01-10,2026-02-09,100.00,,\n",
    );
    let (code, out, err) = cli(&db, &["import", "--accounts", &accounts, "--invoices", &invoices]);
    assert_eq!(code, Some(1), "{out}{err}");
    let cells = |l: &str| l.split(['│', '┆']).map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect::<Vec<_>>();
    let rows: Vec<Vec<String>> = err.lines().map(cells).filter(|c| c.len() == 4 && c[0].ends_with(".csv")).collect();
    let has = |file: &str, line: &str, field: &str, why: &str| {
        assert!(
            rows.iter().any(|r| r[0].ends_with(file) && r[1] == line && r[2] == field && r[3].contains(why)),
            "{file}:{line} {field} {why:?} in\n{err}"
        )
    };
    has("accounts.csv", "3", "account-id", "is on line 2 already");
    has("accounts.csv", "4", "credit-limit", "\"lots\" is not an amount");
    has("accounts.csv", "5", "currency", "refused by the component: currency-unknown");
    has("accounts.csv", "6", "customer-id", "refused by the component: id-has-invalid-character");
    has("invoices.csv", "1", "colour", "not a column this file has");
    has("invoices.csv", "3", "account-id", "\"nobody\" is neither in the accounts file nor in the books");
    has("invoices.csv", "4", "invoice-date", "\"10/01/2026\" is not a day");
    has("invoices.csv", "5", "due-date", "before the invoice date");
    has("invoices.csv", "6", "paid", "not less than the amount");
    has("invoices.csv", "7", "number", "\"A-1\" is on line 2 already");
    has("invoices.csv", "8", "invoice-date", "refused by the component: date-in-future");
    has("invoices.csv", "9", "number", "refused by the component: id-has-invalid-character");
    assert!(err.contains("nothing was written"), "{err}");
    if std::path::Path::new(&db).exists() {
        let mut h = H::sqlite(std::path::Path::new(&db));
        assert!(h.dump().is_empty(), "nothing written");
    }
}

/// An invoice file whose second row the component refuses when it is
/// written (the trial is skipped here to get there): nothing of the file
/// is kept, its first row included.
#[test]
fn a_file_refused_while_written_keeps_none_of_its_rows() {
    let mut h = H::new();
    h.m = merchant();
    h.now_ms = at("2026-03-01");
    h.open("acme", "1000.00");
    let before = h.dump();
    let text = "account-id,number,invoice-date,due-date,amount\nacme,B-1,2026-01-10,2026-02-09,100.00\nghost,B-2,2026-01-10,2026-02-09,100.00\n";
    let mut problems = Vec::new();
    let file = import::read_invoices("invoices.csv", text, &|_| Some("GBP".to_owned()), &mut problems);
    assert!(problems.is_empty());
    let mut summary = import::Summary::default();
    let refused = import::apply(&mut h.ledger, &h.m.clone(), &file, h.now_ms, &mut summary).unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!((refused[0].line, refused[0].why.as_str()), (3, "refused by the component: account-not-found (\"ghost\")"));
    assert_eq!(h.dump(), before, "the first row was undone with the second");
    assert_eq!(summary, import::Summary::default());
}

#[test]
fn brought_in_invoices_age_are_reminded_charged_paid_and_stated_as_native_ones() {
    let mut h = H::new();
    h.m = merchant();
    h.now_ms = at("2026-03-01") + 9 * HOUR_MS;
    let mut req = open_req("acme", "GBP", "5000.00", Tolerance::None);
    req.policy = BillingPolicy {
        late_fee: Some("25.00".into()),
        reminders: vec![ReminderStep { offset_days: 7, level: 1 }],
        statement_day: Some(31),
        ..quiet_policy()
    };
    h.open_with(&req).unwrap();
    let bring = |h: &mut H, number: &str, date: &str, due: &str, amount: &str, paid: &str| {
        let c = CallContext { idempotency_key: format!("import:invoice:{number}"), now_ms: h.now_ms };
        let req = OpeningInvoice {
            account_id: "acme".into(),
            number: number.into(),
            invoice_date: date.into(),
            due_date: due.into(),
            amount: gbp(amount),
            paid: paid.into(),
            order_id: None,
        };
        h.ledger.import_invoice(&h.m, &c, &req).unwrap()
    };
    let late = bring(&mut h, "OLD-1", "2026-01-10", "2026-02-25", "800.00", "300.00").unwrap();
    assert_eq!((late.outstanding.as_str(), late.overdue.as_str(), late.days_overdue), ("500.00", "500.00", 4));
    bring(&mut h, "OLD-2", "2026-02-20", "2026-03-20", "200.00", "0").unwrap();
    // The same again, with another key: the invoice as it stands; other
    // values: refused; a number another account has: refused.
    let c = CallContext { idempotency_key: "another-key".into(), now_ms: h.now_ms };
    let again = OpeningInvoice {
        account_id: "acme".into(),
        number: "OLD-2".into(),
        invoice_date: "2026-02-20".into(),
        due_date: "2026-03-20".into(),
        amount: gbp("200.00"),
        paid: "0".into(),
        order_id: None,
    };
    let n = h.dump().len();
    assert_eq!(h.ledger.import_invoice(&h.m, &c, &again).unwrap().unwrap().invoice_id, "OLD-2");
    assert_eq!(h.dump().len(), n, "nothing written");
    let c = CallContext { idempotency_key: "a-third-key".into(), now_ms: h.now_ms };
    let changed = OpeningInvoice { amount: gbp("201.00"), ..again.clone() };
    assert_eq!(h.ledger.import_invoice(&h.m, &c, &changed).unwrap(), Err(CreditError::IdempotencyKeyReused));
    h.open("birch", "100.00");
    let invoice = h.invoice("birch", "o1", "10.00");
    let c = CallContext { idempotency_key: "a-fourth-key".into(), now_ms: h.now_ms };
    let taken = OpeningInvoice { number: invoice.invoice_id.clone(), ..again.clone() };
    assert_eq!(h.ledger.import_invoice(&h.m, &c, &taken).unwrap(), Err(CreditError::InvoiceBelongsToAnotherAccount(invoice.invoice_id.clone())));

    // Aging as of 2026-03-01: OLD-1 4 days late, OLD-2 not yet due.
    let row = h.ledger.account_aging(&h.m, "acme", "2026-03-01", AgingBasis::DueDate, &[30, 60, 90]).unwrap().unwrap();
    assert_eq!((row.buckets[0].as_str(), row.buckets[1].as_str(), row.total.as_str()), ("200.00", "500.00", "700.00"));
    // Closing the days to 2026-03-31: OLD-1 is reminded and charged its fee
    // once; the month's statement opens with what was brought in.
    let mut reminded = Vec::new();
    let mut fees = Vec::new();
    let mut statement = None;
    for day in 2..=31 {
        h.now_ms = at(&format!("2026-03-{day:02}")) + 20 * HOUR_MS;
        let r = h.day_close("acme", &format!("2026-03-{day:02}")).unwrap();
        reminded.extend(r.reminders.iter().map(|x| x.invoice_id.clone()));
        fees.extend(r.late_fees.iter().map(|x| x.invoice_id.clone()));
        statement = statement.or(r.statement);
    }
    assert_eq!(reminded, ["OLD-1", "OLD-2"]);
    assert_eq!(fees, ["OLD-1", "OLD-2"]);
    let statement = statement.expect("a statement at the month's end");
    assert_eq!(statement.period_to, "2026-03-31");
    let full = h.ledger.statement(&h.m, "acme", "2026-03-02", "2026-03-31", None).unwrap().unwrap();
    assert_eq!(full.opening_balance, "700.00", "what was brought in opens the statement");
    // A payment naming the old number settles it.
    let pay = RecordPaymentRequest {
        account_id: "acme".into(),
        amount: gbp("525.00"),
        received_on: "2026-03-31".into(),
        method: "bank-transfer".into(),
        reference: "OLD-1".into(),
        allocations: vec![AllocationRequest { invoice_id: "OLD-1".into(), amount: "500.00".into() }],
        spread: None,
    };
    let c = h.ctx();
    h.ledger.record_payment(&h.m, &c, &pay).unwrap().unwrap();
    assert_eq!(h.get_invoice("OLD-1").outstanding, "0.00");
    // A stored balance once per account.
    let c = h.ctx();
    let bal = OpeningStoredBalance { account_id: "acme".into(), amount: gbp("40.00"), reference: "old system".into() };
    let s = h.ledger.import_stored_balance(&h.m, &c, &bal).unwrap().unwrap();
    let after = d(&s.figures.stored_balance);
    let c = h.ctx();
    assert_eq!(d(&h.ledger.import_stored_balance(&h.m, &c, &bal).unwrap().unwrap().figures.stored_balance), after);
    let c = h.ctx();
    let other = OpeningStoredBalance { amount: gbp("41.00"), ..bal };
    assert_eq!(h.ledger.import_stored_balance(&h.m, &c, &other).unwrap(), Err(CreditError::IdempotencyKeyReused));
    h.check();
    let _ = json!({});
}

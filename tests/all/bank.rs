//! Bank statements in: camt.053 and CSV files built here, read by the
//! host, matched by the component, recorded, reversed or kept for review.

use credit_host::api::*;
use credit_host::bank::{self, Parsed, camt, columns::Layout};

use crate::support::*;

/// One `Ntry` of a camt.053 statement.
#[derive(Clone, Default)]
pub struct Ntry {
    pub reference: &'static str,
    pub amount: &'static str,
    pub debit: bool,
    pub booked: &'static str,
    pub payer: &'static str,
    pub iban: &'static str,
    pub remittance: &'static str,
    pub creditor_ref: Option<String>,
    pub return_info: Option<&'static str>,
}

/// A camt.053.001.08 statement in the layout of one bank: status as
/// `Sts/Cd`, transactions' amounts under `TxDtls/Amt`.
pub fn camt_v8(entries: &[Ntry]) -> String {
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">\n\
         <BkToCstmrStmt>\n<GrpHdr><MsgId>STMT-1</MsgId><CreDtTm>2026-03-10T06:00:00</CreDtTm></GrpHdr>\n\
         <Stmt>\n<Id>S1</Id><Acct><Id><IBAN>GB33BUKB20201555555555</IBAN></Id><Ccy>GBP</Ccy></Acct>\n",
    );
    for e in entries {
        let indicator = if e.debit { "DBIT" } else { "CRDT" };
        let family = if e.return_info.is_some() { "RRTN" } else { "ESCT" };
        x.push_str(&format!(
            "<Ntry>\n  <Amt Ccy=\"GBP\">{}</Amt>\n  <CdtDbtInd>{indicator}</CdtDbtInd>\n  <Sts><Cd>BOOK</Cd></Sts>\n  \
             <BookgDt><Dt>{}</Dt></BookgDt>\n  <AcctSvcrRef>{}</AcctSvcrRef>\n  \
             <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>{family}</SubFmlyCd></Fmly></Domn></BkTxCd>\n  \
             <NtryDtls><TxDtls>\n    <Amt Ccy=\"GBP\">{}</Amt>\n    \
             <RltdPties><Dbtr><Pty><Nm>{}</Nm></Pty></Dbtr><DbtrAcct><Id><IBAN>{}</IBAN></Id></DbtrAcct></RltdPties>\n    \
             <RmtInf><Ustrd>{}</Ustrd>{}</RmtInf>\n{}  </TxDtls></NtryDtls>\n</Ntry>\n",
            e.amount,
            e.booked,
            e.reference,
            e.amount,
            e.payer,
            e.iban,
            e.remittance,
            e.creditor_ref.as_ref().map_or(String::new(), |r| format!("<Strd><CdtrRefInf><Ref>{r}</Ref></CdtrRefInf></Strd>")),
            e.return_info.map_or(String::new(), |r| format!("    <RtrInf><Rsn><Cd>AC04</Cd></Rsn><AddtlInf>{r}</AddtlInf></RtrInf>\n")),
        ));
    }
    x.push_str("</Stmt>\n</BkToCstmrStmt>\n</Document>\n");
    x
}

/// The RF creditor reference for `part` (ISO 11649), computed here apart
/// from the component's check.
fn rf(part: &str) -> String {
    let digits: String = format!("{part}RF00").chars().map(|c| c.to_digit(36).unwrap().to_string()).collect();
    let rest = digits.bytes().fold(0u32, |r, b| (r * 10 + u32::from(b - b'0')) % 97);
    format!("RF{:02}{part}", 98 - rest)
}

fn import(h: &mut H, parsed: &Parsed) -> bank::ImportSummary {
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let run = format!("t{}", RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let s = bank::import(&mut h.ledger, &h.m, parsed, &run, h.now_ms, || {}).expect("no trap");
    h.check();
    s
}

fn outstanding(h: &mut H, invoice: &str) -> String {
    h.get_invoice(invoice).outstanding
}

/// Three customers with open invoices on 2 March 2026 (net 30).
fn books() -> (H, Vec<String>) {
    let mut h = H::new();
    h.open("a1", "10000.00");
    h.open("a2", "10000.00");
    h.open("a3", "10000.00");
    h.open("a4", "10000.00");
    let mut ids = Vec::new();
    for (account, order, amount) in [
        ("a1", "o1", "100.00"),
        ("a1", "o2", "250.00"),
        ("a1", "o3", "75.50"),
        ("a2", "o4", "400.00"),
        ("a2", "o5", "300.00"),
        ("a3", "o6", "90.00"),
        ("a3", "o7", "90.00"),
        ("a4", "o8", "60.00"),
    ] {
        ids.push(h.invoice(account, order, amount).invoice_id);
    }
    h.now_ms = at("2026-03-10");
    (h, ids)
}

#[test]
fn a_camt_statement_is_matched_recorded_reversed_and_reviewed() {
    let (mut h, inv) = books();
    assert_eq!(inv[7], "INV-a4-1");
    let lines = [
        // One invoice named, paid exactly.
        Ntry { reference: "B-001", amount: "60.00", booked: "2026-03-05", payer: "Delta Ltd", iban: "GB11AAAA1", remittance: "Invoice INV-a4-1 thank you", ..Default::default() },
        // A partial payment of one named invoice.
        Ntry { reference: "B-002", amount: "100.00", booked: "2026-03-05", payer: "Beta plc", iban: "GB22BBBB2", remittance: "part payment inv-a2-1", ..Default::default() },
        // One payment for three invoices: the customer id and their sum.
        Ntry { reference: "B-003", amount: "425.50", booked: "2026-03-06", payer: "ALPHA LIMITED", iban: "GB99ZZZZ9", remittance: "cust-a1 March", ..Default::default() },
        // An overpayment of a named invoice: the rest is stored balance.
        Ntry { reference: "B-004", amount: "350.00", booked: "2026-03-06", payer: "Beta plc", iban: "GB22BBBB2", remittance: "INV-a2-2", ..Default::default() },
        // Nobody we know, nothing named.
        Ntry { reference: "B-005", amount: "12.34", booked: "2026-03-06", payer: "Stranger GmbH", iban: "DE00XXXX", remittance: "Rechnung 7", ..Default::default() },
        // The customer id, and two invoices of the same amount: ambiguous.
        Ntry { reference: "B-006", amount: "90.00", booked: "2026-03-07", payer: "Gamma", iban: "GB33CCCC3", remittance: "cust-a3", ..Default::default() },
        // The merchant's own money going out: left out.
        Ntry { reference: "B-007", amount: "55.00", debit: true, booked: "2026-03-07", payer: "Supplier", iban: "GB44", remittance: "rent", ..Default::default() },
        // The bank gives B-002 back.
        Ntry { reference: "B-008", amount: "100.00", debit: true, booked: "2026-03-08", payer: "Beta plc", iban: "GB22BBBB2", remittance: "", return_info: Some("Return of B-002 account closed"), ..Default::default() },
    ];
    let xml = camt_v8(&lines);
    let parsed = camt::read(&xml).unwrap();
    assert_eq!(parsed.lines.len(), 7);
    assert_eq!(parsed.skipped.len(), 1);
    let balance_a2 = h.summary("a2").balance;
    let s = import(&mut h, &parsed);

    assert_eq!(outstanding(&mut h, "INV-a4-1"), "0.00", "B-001 by its invoice number");
    for i in ["INV-a1-1", "INV-a1-2", "INV-a1-3"] {
        assert_eq!(outstanding(&mut h, i), "0.00", "B-003: 100.00 + 250.00 + 75.50 = 425.50");
    }
    assert_eq!(outstanding(&mut h, "INV-a2-1"), "400.00", "B-002 paid 100.00 of it, then came back");
    assert_eq!(outstanding(&mut h, "INV-a2-2"), "0.00", "B-004");
    let a2 = h.summary("a2");
    assert_eq!(a2.figures.stored_balance, "50.00", "B-004's 50.00 over INV-a2-2");
    assert_eq!(d(&a2.balance), d(&balance_a2) - d("300.00") - d("50.00"));
    assert_eq!(outstanding(&mut h, "INV-a3-1"), "90.00", "B-006 is ambiguous: nothing recorded");

    let recorded = |rule: &str| s.recorded.get(&(rule.to_owned(), "GBP".to_owned())).copied();
    assert_eq!(recorded("invoice number"), Some((3, d("510.00"))), "B-001, B-002, B-004: 60.00 + 100.00 + 350.00");
    assert_eq!(recorded("customer and amount"), Some((1, d("425.50"))));
    assert_eq!(s.reversed.get("GBP").copied(), Some((1, d("100.00"))));
    assert_eq!(s.review.get(&("unknown payer".to_owned(), "GBP".to_owned())).copied(), Some((1, d("12.34"))));
    assert_eq!(s.review.get(&("ambiguous amount".to_owned(), "GBP".to_owned())).copied(), Some((1, d("90.00"))));
    assert_eq!((s.lines, s.skipped, s.repeated, s.refused.len()), (7, 1, 0, 0));

    // The payments carry the bank's reference; the return reversed B-002's.
    let payments = h.ledger.payments(&h.m, "a2", None, 10).unwrap().unwrap();
    assert_eq!(payments.iter().map(|p| (p.reference.as_str(), p.reversed)).collect::<Vec<_>>(), [("B-002", true), ("B-004", false)]);

    // The review list: the stranger, and the two ways B-006 may be meant.
    let review = h.ledger.bank_review(&h.m, None, 100).unwrap().unwrap();
    assert_eq!(review.iter().map(|i| i.line.entry_ref.as_str()).collect::<Vec<_>>(), ["B-005", "B-006"]);
    assert_eq!(review[0].reason, ReviewReason::UnknownPayer);
    assert!(review[0].candidates.is_empty());
    assert_eq!(review[1].reason, ReviewReason::AmbiguousAmount);
    let sets: Vec<Vec<String>> = review[1].candidates.iter().map(|c| c.invoice_ids.clone()).collect();
    assert_eq!(sets, [vec!["INV-a3-1".to_owned()], vec!["INV-a3-2".to_owned()]]);

    // The same file again records nothing, and writes nothing at all.
    let before = h.dump();
    h.now_ms += HOUR_MS;
    let again = import(&mut h, &parsed);
    assert_eq!((again.repeated, again.recorded.len(), again.reversed.len(), again.review.len()), (7, 0, 0, 0), "every line seen before");
    assert_eq!(h.ledger.bank_review(&h.m, None, 100).unwrap().unwrap().len(), 2, "B-005 and B-006 still wait");
    assert_eq!(h.dump(), before, "a second import changes no stored byte");
}

#[test]
fn a_person_settles_review_lines_and_the_payer_is_known_next_time() {
    let (mut h, _) = books();
    let stranger = Ntry { reference: "R-1", amount: "12.34", booked: "2026-03-05", payer: "Delta &amp; Co", iban: "GB55 DDDD 5", remittance: "thanks", ..Default::default() };
    let parsed = camt::read(&camt_v8(std::slice::from_ref(&stranger))).unwrap();
    assert_eq!(parsed.lines[0].1.payer_name, "Delta & Co", "XML entities are read");
    import(&mut h, &parsed);
    let item = h.ledger.bank_review(&h.m, None, 10).unwrap().unwrap().remove(0);

    // A decision that does not fit changes nothing.
    let before = h.dump();
    let c = h.ctx();
    let wrong = h.ledger.match_bank_line(&h.m, &c, &item.line, Some(&BankDecision::Account("nobody".into()))).unwrap();
    assert_eq!(wrong.unwrap_err(), CreditError::AccountNotFound("nobody".into()));
    assert_eq!(h.dump(), before);

    let c = h.ctx();
    let r = h.ledger.match_bank_line(&h.m, &c, &item.line, Some(&BankDecision::Account("a2".into()))).unwrap().unwrap();
    assert_eq!(r.rule, Some(MatchRule::Person));
    let BankOutcome::Recorded(p) = &r.outcome else { panic!("{r:?}") };
    assert_eq!((p.account_id.as_str(), p.amount.as_str(), p.reference.as_str()), ("a2", "12.34", "R-1"));
    assert!(h.ledger.bank_review(&h.m, None, 10).unwrap().unwrap().is_empty());
    h.check();

    // Next month the same payer (its account written with other spaces)
    // pays exactly INV-a2-2 with nothing in the remittance.
    let again = Ntry { reference: "R-2", amount: "300.00", booked: "2026-03-09", iban: "gb55dddd5", payer: "", remittance: "", ..stranger.clone() };
    let s = import(&mut h, &camt::read(&camt_v8(&[again])).unwrap());
    assert_eq!(s.recorded.keys().map(|(r, _)| r.as_str()).collect::<Vec<_>>(), ["known payer and amount"]);
    assert_eq!(outstanding(&mut h, "INV-a2-2"), "0.00");
    assert_eq!(outstanding(&mut h, "INV-a2-1"), "387.66", "the exact amount, not the oldest item (paid 12.34 by R-1)");

    // A creditor reference naming an invoice by its letters and digits,
    // from the known payer; and a wrong check digit is no reference.
    let part = "INVA21";
    let bad = format!("RF{:02}{part}", (rf(part)[2..4].parse::<u32>().unwrap() + 1) % 100);
    let by_rf = Ntry { reference: "R-3", amount: "387.66", booked: "2026-03-09", iban: "GB55DDDD5", remittance: "", creditor_ref: Some(rf(part)), ..stranger.clone() };
    let by_bad = Ntry { reference: "R-4", amount: "1.00", booked: "2026-03-09", iban: "GB66", payer: "Nobody", remittance: "", creditor_ref: Some(bad), ..stranger };
    let s = import(&mut h, &camt::read(&camt_v8(&[by_rf, by_bad])).unwrap());
    assert_eq!(s.recorded.keys().map(|(r, _)| r.as_str()).collect::<Vec<_>>(), ["creditor reference (RF)"]);
    assert_eq!(outstanding(&mut h, "INV-a2-1"), "0.00");
    assert_eq!(s.review.keys().map(|(r, _)| r.as_str()).collect::<Vec<_>>(), ["unknown payer"]);

    // A payer the bank names without an account (a name with spaces and
    // letters beyond ASCII), settled by a person, is known by name next
    // time; the name written with other spaces is the same payer.
    let named = Ntry { reference: "R-5", amount: "5.00", booked: "2026-03-09", iban: "", payer: "Ölwerk  Müller GmbH", remittance: "", ..Default::default() };
    import(&mut h, &camt::read(&camt_v8(&[named])).unwrap());
    let c = h.ctx();
    let item = h.ledger.bank_review(&h.m, Some("R-4"), 10).unwrap().unwrap().remove(0);
    assert_eq!(item.line.entry_ref, "R-5");
    h.ledger.match_bank_line(&h.m, &c, &item.line, Some(&BankDecision::Account("a3".into()))).unwrap().unwrap();
    let by_name = Ntry { reference: "R-6", amount: "90.00", booked: "2026-03-09", iban: "", payer: "ölwerk müller gmbh", remittance: "", ..Default::default() };
    let s = import(&mut h, &camt::read(&camt_v8(&[by_name])).unwrap());
    assert_eq!(s.recorded.keys().map(|(r, _)| r.as_str()).collect::<Vec<_>>(), ["known payer and amount"]);
    assert_eq!(outstanding(&mut h, "INV-a3-1"), "85.00", "R-5's 5.00, oldest due first");
    assert_eq!(outstanding(&mut h, "INV-a3-2"), "0.00", "R-6: exactly this item");

    // Dismissed: out of the list, and a second decision changes nothing.
    let item = h.ledger.bank_review(&h.m, None, 10).unwrap().unwrap().remove(0);
    let c = h.ctx();
    let r = h.ledger.match_bank_line(&h.m, &c, &item.line, Some(&BankDecision::Dismiss("bank interest".into()))).unwrap().unwrap();
    assert_eq!(r.outcome, BankOutcome::Dismissed("bank interest".into()));
    let before = h.dump();
    let c = h.ctx();
    let later = h.ledger.match_bank_line(&h.m, &c, &item.line, Some(&BankDecision::Account("a1".into()))).unwrap().unwrap();
    assert!(later.repeated);
    assert_eq!(h.dump(), before);

    // The same reference with another amount is refused.
    let mut other = item.line.clone();
    other.amount = gbp("2.00");
    let c = h.ctx();
    assert_eq!(h.ledger.match_bank_line(&h.m, &c, &other, None).unwrap().unwrap_err(), CreditError::IdempotencyKeyReused);
}

#[test]
fn csv_exports_of_two_banks_layouts() {
    let (mut h, _) = books();
    // Bank one: separate money in / money out columns, days as 05/03/2026,
    // no reference column.
    let one = "Date,Type,Description,Paid out,Paid in,Balance\n\
               05/03/2026,FPI,ALPHA LTD INV-a1-1,,100.00,1100.00\n\
               06/03/2026,DD,ELECTRICITY,80.00,,1020.00\n\
               06/03/2026,FPI,GAMMA cust-a3,,\"1,000.00\",2020.00\n";
    let layout = Layout::new(Some("booked-on=Date;credit=Paid in;debit=Paid out;remittance=Description"), b',', "%d/%m/%Y", false, Some("GBP".into())).unwrap();
    let parsed = bank::columns::read(one, &layout).unwrap();
    assert_eq!((parsed.lines.len(), parsed.skipped.len()), (2, 1));
    assert!(parsed.lines[0].1.entry_ref.starts_with("csv-"));
    let s = import(&mut h, &parsed);
    assert_eq!(outstanding(&mut h, "INV-a1-1"), "0.00");
    assert_eq!(s.review.keys().map(|(r, _)| r.as_str()).collect::<Vec<_>>(), ["amount matches no open items"]);
    let again = import(&mut h, &bank::columns::read(one, &layout).unwrap());
    assert_eq!(again.repeated, 2, "the derived references are the same the second time");

    // Bank two: semicolons, 1.234,56, days as 06.03.2026, a reference and
    // a return that names the credit it gives back.
    let two = "Buchungstag;Referenz;Betrag;Waehrung;Name;IBAN;Verwendungszweck;Rueckgabe\n\
               06.03.2026;DE-77;400,00;GBP;Beta plc;DE1;INV-a2-1;\n\
               07.03.2026;DE-78;-400,00;GBP;Beta plc;DE1;Ruecklastschrift;DE-77\n";
    let layout = Layout::new(
        Some("booked-on=Buchungstag;entry-ref=Referenz;amount=Betrag;currency=Waehrung;payer-name=Name;payer-account=IBAN;remittance=Verwendungszweck;original-ref=Rueckgabe"),
        b';',
        "%d.%m.%Y",
        true,
        None,
    )
    .unwrap();
    let s = import(&mut h, &bank::columns::read(two, &layout).unwrap());
    assert_eq!(s.recorded.values().map(|v| v.0).sum::<u64>(), 1);
    assert_eq!(s.reversed.get("GBP").copied(), Some((1, d("400.00"))));
    assert_eq!(outstanding(&mut h, "INV-a2-1"), "400.00", "paid and returned");
}

#[test]
fn a_file_that_cannot_be_read_is_refused_with_its_place_named() {
    let good = Ntry { reference: "B-1", amount: "10.00", booked: "2026-03-05", payer: "A", iban: "X", remittance: "INV-a1-1", ..Default::default() };
    let xml = camt_v8(&[good.clone(), good.clone()]);
    let broken = xml.replacen("</Dbtr>", "</Dbtor>", 1);
    let e = camt::read(&broken).unwrap_err().to_string();
    assert!(e.starts_with("line 16: not well-formed XML"), "{e}");
    let comma = xml.replacen("<Amt Ccy=\"GBP\">10.00</Amt>\n  <CdtDbtInd>", "<Amt Ccy=\"GBP\">10,00</Amt>\n  <CdtDbtInd>", 1).replacen(">10.00</Amt>", ">10,00</Amt>", 1);
    let e = camt::read(&comma).unwrap_err().to_string();
    assert_eq!(e, "line 15: <Amt> \"10,00\" is not an amount");
    let no_ref = xml.replacen("<AcctSvcrRef>B-1</AcctSvcrRef>", "", 1);
    let e = camt::read(&no_ref).unwrap_err().to_string();
    assert!(e.contains("line 7: <Ntry> has no <AcctSvcrRef> or <NtryRef>"), "{e}");
    assert!(camt::read("<Document/>").unwrap_err().to_string().contains("no <Stmt>"));

    let layout = Layout::new(None, b',', "%Y-%m-%d", false, Some("GBP".into())).unwrap();
    let csv = "entry-ref,booked-on,amount,remittance\nC1,2026-03-05,10.00,x\nC2,5 March,10.00,y\n";
    let e = bank::columns::read(csv, &layout).unwrap_err().to_string();
    assert_eq!(e, "line 3, column booked-on: \"5 March\" is not a day in the format %Y-%m-%d");
    assert!(Layout::new(Some("booked-on=Date;amont=Amount"), b',', "%d", false, None).unwrap_err().to_string().contains("no field \"amont\""));
}

#[test]
fn the_command_imports_prints_the_summary_and_settles_review() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("books.sqlite");
    {
        let mut h = H::sqlite(&db);
        h.m = credit_host::MerchantId::new("m1").unwrap();
        h.open("a1", "1000.00");
        h.invoice("a1", "o1", "100.00");
        h.invoice("a1", "o2", "50.00");
    }
    let file = dir.path().join("statement.xml");
    let lines = [
        Ntry { reference: "K-1", amount: "150.00", booked: "2026-03-05", payer: "A", iban: "GB1", remittance: "INV-a1-1 INV-a1-2", ..Default::default() },
        Ntry { reference: "K-2", amount: "7.00", booked: "2026-03-05", payer: "Who", iban: "GB2", remittance: "?", ..Default::default() },
    ];
    std::fs::write(&file, camt_v8(&lines)).unwrap();
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_credit-host-cli"))
            .arg("--component-cache")
            .arg(component_cache())
            .args(args)
            .args(["--db", db.to_str().unwrap(), "--merchant", "m1", "--at", "2026-03-10T09:00:00Z"])
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
    };
    let (code, out) = cli(&["bank-import", file.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    for row in ["│ lines read ", "│ recorded: invoice number ", "150.00", "│ to review: unknown payer ", "7.00", "1 waiting for a person"] {
        assert!(out.contains(row), "{row:?} in:\n{out}");
    }
    let (_, again) = cli(&["bank-import", file.to_str().unwrap()]);
    let row = again.lines().find(|l| l.contains("already imported")).unwrap_or_default();
    assert!(row.contains(" 2 "), "both lines seen before:\n{again}");
    let (_, list) = cli(&["bank-review"]);
    assert!(list.contains("K-2") && list.contains("unknown payer") && list.contains("1 lines waiting"), "{list}");
    let (code, settled) = cli(&["bank-review", "--settle", "K-2", "--account", "a1"]);
    assert_eq!(code, Some(0), "{settled}");
    assert!(settled.contains("K-2: recorded as payment P-a1-2 on a1"), "{settled}");
    let (_, list) = cli(&["bank-review"]);
    assert!(list.contains("0 lines waiting"), "{list}");

    // A file that cannot be read records nothing.
    let before = crate::http::fingerprint(&db);
    std::fs::write(&file, "<Document><BkToCstmrStmt><Stmt><Ntry>").unwrap();
    let (code, out) = cli(&["bank-import", file.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("was not imported; nothing was recorded"), "{out}");
    assert!(crate::http::fingerprint(&db) == before, "an unreadable file changed the database");

    // A line the component refuses (booked after the run's day) is named,
    // the others are recorded, and the exit status says so.
    let lines = [
        Ntry { reference: "K-3", amount: "1.00", booked: "2026-03-11", payer: "A", iban: "GB1", remittance: "", ..Default::default() },
        Ntry { reference: "K-4", amount: "2.00", booked: "2026-03-09", payer: "A", iban: "GB1", remittance: "", ..Default::default() },
        // A reference with a space is the reference's fault, named so.
        Ntry { reference: "K 5", amount: "3.00", booked: "2026-03-09", payer: "A", iban: "GB1", remittance: "", ..Default::default() },
    ];
    std::fs::write(&file, camt_v8(&lines)).unwrap();
    let (code, out) = cli(&["bank-import", file.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("line 7 (K-3): refused by the component, nothing recorded: date in future (\"booked-on\")"), "{out}");
    assert!(out.contains("(K 5): refused by the component, nothing recorded: id has invalid character (\"entry-ref\")"), "{out}");
    let (_, list) = cli(&["bank-review"]);
    // K-4's payer (GB1) is known from K-1 as a1's, but a1 owes nothing
    // now: it waits, with a1 as the candidate.
    assert!(list.contains("K-4") && list.contains("amount matches no open items") && list.contains("a1 on account") && !list.contains("K-3"), "{list}");
}

/// camt.053.001.02 as another bank writes it: status as text, amounts of
/// a batch's transactions under `AmtDtls/TxAmt`, references per
/// transaction, a pending entry.
#[test]
fn a_camt_v2_batch_is_one_line_per_transaction() {
    let xml = r#"<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Id>X</Id>
<Ntry><Amt Ccy="EUR">150.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><DtTm>2026-03-05T10:11:12</DtTm></BookgDt><AcctSvcrRef>BATCH-9</AcctSvcrRef>
 <NtryDtls>
  <TxDtls><Refs><AcctSvcrRef>TX-1</AcctSvcrRef></Refs><AmtDtls><TxAmt><Amt Ccy="EUR">100.00</Amt></TxAmt></AmtDtls>
   <RltdPties><Dbtr><Nm>One</Nm></Dbtr><DbtrAcct><Id><Othr><Id>12345678</Id></Othr></Id></DbtrAcct></RltdPties>
   <RmtInf><Ustrd>first</Ustrd><Ustrd>part</Ustrd></RmtInf></TxDtls>
  <TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">50.00</Amt></TxAmt></AmtDtls><RmtInf><Strd><CdtrRefInf><Ref>RF18539007547034</Ref></CdtrRefInf></Strd></RmtInf></TxDtls>
 </NtryDtls></Ntry>
<Ntry><Amt Ccy="EUR">9.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>PDNG</Sts><BookgDt><Dt>2026-03-05</Dt></BookgDt><AcctSvcrRef>P-1</AcctSvcrRef></Ntry>
</Stmt></BkToCstmrStmt></Document>"#;
    let parsed = camt::read(xml).unwrap();
    let got: Vec<(String, String, String, String, String, String, String)> = parsed
        .lines
        .iter()
        .map(|(at, l)| (at.clone(), l.entry_ref.clone(), l.booked_on.clone(), format!("{} {}", l.amount.amount, l.amount.currency), l.payer_name.clone(), l.payer_account.clone(), l.remittance.clone()))
        .collect();
    let row = |a: &str, b: &str, c: &str, d: &str, e: &str, f: &str, g: &str| (a.to_owned(), b.to_owned(), c.to_owned(), d.to_owned(), e.to_owned(), f.to_owned(), g.to_owned());
    assert_eq!(
        got,
        [
            row("line 5", "TX-1", "2026-03-05", "100.00 EUR", "One", "12345678", "first part"),
            row("line 8", "BATCH-9/2", "2026-03-05", "50.00 EUR", "", "", "RF18539007547034"),
        ]
    );
    assert!(parsed.lines.iter().all(|(_, l)| l.kind == BankEntryKind::Credit && l.original_ref.is_none()));
    assert_eq!(parsed.skipped, [bank::Skipped { at: "line 10".into(), why: "status PDNG, not booked".into() }]);
}

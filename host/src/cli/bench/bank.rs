//! The bank table: a 10,000-line camt.053 statement read and matched.

use std::time::Instant;

use anyhow::Result;

use super::{gbp, ok, open_request};
use crate::api::*;
use crate::bank;
use crate::store::SqliteBackend;
use crate::{Component, Ledger, MerchantId};

/// Accounts, and open invoices on each: 10,000 invoices.
const ACCOUNTS: usize = 2_000;
const INVOICES_EACH: usize = 5;

fn at(date: &str) -> i64 {
    let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("a date");
    d.and_hms_opt(9, 0, 0).expect("09:00").and_utc().timestamp_millis()
}

/// The amount of invoice `k` of account `i`: distinct within an account.
fn amount(i: usize, k: usize) -> String {
    format!("{}.{:02}", 20 + (i % 89) * 10 + k * 3, (i + k) % 100)
}

/// 10,000 credits: 7,000 naming their invoice, 2,000 naming the customer
/// with the exact amount of one invoice, 1,000 from nobody known.
fn statement() -> String {
    let mut x = String::with_capacity(10_000 * 700);
    x.push_str("<?xml version=\"1.0\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\"><BkToCstmrStmt><Stmt><Id>B</Id>\n");
    for n in 0..10_000usize {
        let (i, k) = (n / INVOICES_EACH, n % INVOICES_EACH);
        let (amt, remittance) = match n % 10 {
            0..=6 => (amount(i, k), format!("Invoice INV-b{i:05}-{}", k + 1)),
            7 | 8 => (amount(i, k), format!("c-b{i:05} payment")),
            _ => ("12.34".to_owned(), "no reference".to_owned()),
        };
        x.push_str(&format!(
            "<Ntry><Amt Ccy=\"GBP\">{amt}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-03-10</Dt></BookgDt>\
             <AcctSvcrRef>BENCH-{n:05}</AcctSvcrRef><NtryDtls><TxDtls><Amt Ccy=\"GBP\">{amt}</Amt>\
             <RltdPties><Dbtr><Pty><Nm>Payer {n}</Nm></Pty></Dbtr><DbtrAcct><Id><IBAN>GB00BENCH{n:08}</IBAN></Id></DbtrAcct></RltdPties>\
             <RmtInf><Ustrd>{remittance}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n"
        ));
    }
    x.push_str("</Stmt></BkToCstmrStmt></Document>\n");
    x
}

/// The books the statement pays: 2,000 accounts with 5 open invoices each.
fn books(component: &Component, merchant: &MerchantId) -> Result<Ledger> {
    let mut l = Ledger::open_in_memory(component);
    l.set_journal(false);
    let c = |key: String, date: &str| CallContext { idempotency_key: key, now_ms: at(date) };
    l.backend().begin_group()?;
    for i in 0..ACCOUNTS {
        let id = format!("b{i:05}");
        ok(l.open_account(merchant, &c(format!("o{i}"), "2026-03-01"), &open_request(&id, "100000.00")))?;
        for k in 0..INVOICES_EACH {
            let req = AuthorizeRequest { account_id: id.clone(), order_id: format!("S{i}-{k}"), amount: gbp(&amount(i, k)), hold_ttl_s: None, open_ended: None };
            let Authorization::Approved(a) = ok(l.authorize(merchant, &c(format!("a{i}-{k}"), "2026-03-02"), &req))? else {
                anyhow::bail!("declined");
            };
            let cap = CaptureRequest { hold_id: a.hold.hold_id, amount: gbp(&amount(i, k)), lines: vec![], delivery_date: None, terms: None, delivery: None, rest: None };
            ok(l.capture(merchant, &c(format!("c{i}-{k}"), "2026-03-02"), &cap))?;
        }
    }
    l.backend().commit_group()?;
    Ok(l)
}

/// Reading the file, then matching and recording its lines on the memory
/// store and on a SQLite file (one group commit), then the same file again.
pub(super) fn bank_table(component: &Component, merchant: &MerchantId) -> Result<()> {
    println!("\n### A bank statement of 10,000 lines (camt.053)\n");
    println!(
        "{ACCOUNTS} accounts with {INVOICES_EACH} open invoices each; 7,000 credits name their invoice, 2,000 the customer and the exact amount of one invoice, 1,000 nobody known (review). Read whole, then one `match-bank-line` call per line in one group commit.\n"
    );
    let text = statement();
    let start = Instant::now();
    let parsed = bank::camt::read(&text)?;
    let read = start.elapsed();
    println!("File: {:.1} MB, read in {:.0} ms ({} lines).\n", text.len() as f64 / 1e6, read.as_secs_f64() * 1e3, parsed.lines.len());
    println!("| store | import s | lines/s | recorded | to review | again (all repeated) s | lines/s |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let path = std::env::temp_dir().join(format!("credit-bench-bank-{}.sqlite", std::process::id()));
    for store in ["memory", "SQLite file"] {
        let mut l = books(component, merchant)?;
        if store == "SQLite file" {
            let _ = std::fs::remove_file(&path);
            let mut to = SqliteBackend::open(&path)?;
            crate::store::copy_all(l.backend(), &mut to)?;
            drop(to);
            l = Ledger::open_sqlite(component, &path)?;
            l.set_journal(false);
        }
        let now = at("2026-03-11");
        let start = Instant::now();
        let first = bank::import(&mut l, merchant, &parsed, "bench-1", now, || {})?;
        let first_s = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let again = bank::import(&mut l, merchant, &parsed, "bench-2", now, || {})?;
        let again_s = start.elapsed().as_secs_f64();
        anyhow::ensure!(again.repeated == parsed.lines.len() as u64, "the second import repeated {} lines", again.repeated);
        let recorded: u64 = first.recorded.values().map(|v| v.0).sum();
        let review: u64 = first.review.values().map(|v| v.0).sum();
        let lines = parsed.lines.len() as f64;
        println!("| {store} | {first_s:.2} | {:.0} | {recorded} | {review} | {again_s:.2} | {:.0} |", lines / first_s, lines / again_s);
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(())
}

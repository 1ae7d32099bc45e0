//! The old books brought in (`credit-host import`): accounts with their
//! limits, terms and stored balances, and open invoices, from CSV files of
//! the merchant's previous system.
//!
//! `accounts.csv`: `account-id`, `customer-id`, `currency`, `credit-limit`
//! (required), `net-days` (payment terms, default 30),
//! `tolerance-percent` (default none), `stored-balance` (money owed to the
//! customer, default 0). `invoices.csv`: `account-id`, `number`,
//! `invoice-date`, `due-date`, `amount` (required), `paid` (before the
//! move, default 0), `order-id`, `currency` (the account's when empty).
//! Headers name the columns, in any order; a header this does not know is
//! refused (a typo would otherwise drop a column). Days are `YYYY-MM-DD`,
//! amounts `1234.56`.
//!
//! Every row becomes component calls: `accounts.open-account` and
//! `migration.import-stored-balance` for an account, `migration.
//! import-invoice` for an invoice, each with an idempotency key made from
//! the row's identity (`import:account:<id>`, `import:balance:<id>`,
//! `import:invoice:<number>`), so a file imported again changes nothing.
//! Before anything is written the whole import is tried on a copy of the
//! merchant's data in memory: every problem (the file's, and every call
//! the component would refuse) is listed with its file, line and field.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, Result};
use rust_decimal::Decimal;
use serde_json::{Value as Json, json};

use crate::store::{Backend, MemoryBackend};
use crate::{Component, Ledger, MerchantId};

/// One thing wrong, where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file's name as given.
    pub file: String,
    /// The line (the header is line 1).
    pub line: u64,
    /// The column, or `-` when the row as a whole is wrong.
    pub field: String,
    /// Why.
    pub why: String,
}

/// What a row is, for the summary.
#[derive(Clone, Debug, PartialEq, Eq)]
enum What {
    Account,
    StoredBalance { currency: String, amount: Decimal },
    Invoice { currency: String, amount: Decimal, owed: Decimal },
}

/// One component call a row makes.
#[derive(Clone, Debug)]
struct Call {
    line: u64,
    function: &'static str,
    args: Json,
    what: What,
    /// The id a query finds when the row was brought in before.
    id: String,
}

/// One file, read and checked: its calls in order.
pub struct File {
    /// The name as given.
    pub name: String,
    calls: Vec<Call>,
}

impl File {
    /// The accounts the file opens, with their currencies.
    pub fn currencies(&self) -> Vec<(String, String)> {
        self.calls
            .iter()
            .filter(|c| c.function == "accounts.open-account")
            .filter_map(|c| Some((c.id.clone(), c.args["req"]["currency"].as_str()?.to_owned())))
            .collect()
    }
}

/// The distinct `account-id` cells of a CSV file (to look them up once).
pub fn account_ids(text: &str) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let Some(i) = reader.headers().ok().and_then(|h| h.iter().position(|c| c == "account-id")) else { return Vec::new() };
    let mut out: Vec<String> = reader.records().filter_map(|r| r.ok()?.get(i).map(str::to_owned)).filter(|a| !a.is_empty()).collect();
    out.sort();
    out.dedup();
    out
}

/// What an import did (or, tried on the copy, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Accounts opened.
    pub accounts: u64,
    /// Stored balances brought in: count and sum per currency.
    pub balances: BTreeMap<String, (u64, Decimal)>,
    /// Invoices brought in: count, their amounts and what is still owed,
    /// per currency.
    pub invoices: BTreeMap<String, (u64, Decimal, Decimal)>,
    /// Rows brought in before: nothing changed.
    pub already: u64,
}

const ACCOUNT_COLUMNS: [&str; 7] = ["account-id", "customer-id", "currency", "credit-limit", "net-days", "tolerance-percent", "stored-balance"];
const INVOICE_COLUMNS: [&str; 8] = ["account-id", "number", "invoice-date", "due-date", "amount", "paid", "order-id", "currency"];

/// A CSV file's rows as (line, column -> cell), with problems for its
/// header; `known` the columns it may have, `required` those it must.
fn rows(name: &str, text: &str, known: &[&str], required: &[&str], problems: &mut Vec<Problem>) -> Vec<(u64, HashMap<String, String>)> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let problem = |line: u64, field: &str, why: String| Problem { file: name.to_owned(), line, field: field.to_owned(), why };
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_owned).collect(),
        Err(e) => {
            problems.push(problem(1, "-", format!("not CSV: {e}")));
            return Vec::new();
        }
    };
    for h in &headers {
        if !known.contains(&h.as_str()) {
            problems.push(problem(1, h, format!("not a column this file has (columns: {})", known.join(", "))));
        }
    }
    for r in required {
        if !headers.iter().any(|h| h == r) {
            problems.push(problem(1, r, "column missing".to_owned()));
        }
    }
    let mut out = Vec::new();
    for record in reader.records() {
        match record {
            Ok(r) => {
                let line = r.position().map_or(0, |p| p.line());
                out.push((line, headers.iter().cloned().zip(r.iter().map(str::to_owned)).collect()));
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(problem(line, "-", format!("not CSV: {e}")));
            }
        }
    }
    out
}

/// Checks of one row's cells.
struct Cells<'a> {
    file: &'a str,
    line: u64,
    cells: &'a HashMap<String, String>,
    problems: &'a mut Vec<Problem>,
}

impl Cells<'_> {
    fn get(&self, field: &str) -> &str {
        self.cells.get(field).map_or("", String::as_str)
    }

    fn problem(&mut self, field: &str, why: impl Into<String>) {
        self.problems.push(Problem { file: self.file.to_owned(), line: self.line, field: field.to_owned(), why: why.into() });
    }

    fn required(&mut self, field: &str) -> Option<String> {
        let v = self.get(field).to_owned();
        if v.is_empty() {
            self.problem(field, "empty");
            return None;
        }
        Some(v)
    }

    fn amount(&mut self, field: &str, default: Option<&str>) -> Option<Decimal> {
        let v = self.get(field).to_owned();
        let v = match (v.is_empty(), default) {
            (true, Some(d)) => d.to_owned(),
            (true, None) => {
                self.problem(field, "empty");
                return None;
            }
            (false, _) => v,
        };
        match v.parse::<Decimal>() {
            Ok(d) if d >= Decimal::ZERO && !v.starts_with('+') => Some(d),
            Ok(_) => {
                self.problem(field, format!("{v:?} is below zero"));
                None
            }
            Err(_) => {
                self.problem(field, format!("{v:?} is not an amount (1234.56)"));
                None
            }
        }
    }

    fn day(&mut self, field: &str) -> Option<String> {
        let v = self.required(field)?;
        match chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d") {
            Ok(d) => Some(d.format("%Y-%m-%d").to_string()),
            Err(_) => {
                self.problem(field, format!("{v:?} is not a day (YYYY-MM-DD)"));
                None
            }
        }
    }
}

/// Reads `accounts.csv`. `policy` is every account's billing policy (WIT
/// encoding), `by` who opened them.
pub fn read_accounts(name: &str, text: &str, policy: &Json, by: &str, problems: &mut Vec<Problem>) -> File {
    let mut calls = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (line, cells) in rows(name, text, &ACCOUNT_COLUMNS, &ACCOUNT_COLUMNS[..4], problems) {
        let mut c = Cells { file: name, line, cells: &cells, problems };
        let (id, customer, currency) = (c.required("account-id"), c.required("customer-id"), c.required("currency"));
        let limit = c.amount("credit-limit", None);
        let net_days = match c.get("net-days") {
            "" => Some(30),
            v => match v.parse::<u32>() {
                Ok(n) => Some(n),
                Err(_) => {
                    let v = v.to_owned();
                    c.problem("net-days", format!("{v:?} is not a number of days"));
                    None
                }
            },
        };
        let tolerance = match c.get("tolerance-percent") {
            "" => Some(json!({"tag": "none"})),
            _ => c.amount("tolerance-percent", None).map(|p| json!({"tag": "percent", "val": p.to_string()})),
        };
        let stored = c.amount("stored-balance", Some("0"));
        if let Some(id) = &id
            && let Some(first) = seen.insert(id.clone(), line)
        {
            c.problem("account-id", format!("{id:?} is on line {first} already"));
            continue;
        }
        let (Some(id), Some(customer), Some(currency), Some(limit), Some(net_days), Some(tolerance), Some(stored)) = (id, customer, currency, limit, net_days, tolerance, stored)
        else {
            continue;
        };
        let terms = json!({"net-days": net_days, "basis": "invoice-date", "discount": null, "instalments": [], "months": null, "day-of-month": null, "cut-off-day": null});
        let req = json!({"account-id": id, "customer-id": customer, "currency": currency, "credit-limit": limit.to_string(), "tolerance": tolerance,
            "terms": terms, "policy": policy, "opened-by": by, "company-id": null});
        calls.push(Call { line, function: "accounts.open-account", args: json!({"ctx": ctx("account", &id), "req": req}), what: What::Account, id: id.clone() });
        if stored > Decimal::ZERO {
            let req = json!({"account-id": id, "amount": {"amount": stored.to_string(), "currency": currency}, "reference": format!("{name} line {line}")});
            let what = What::StoredBalance { currency: currency.clone(), amount: stored };
            calls.push(Call { line, function: "migration.import-stored-balance", args: json!({"ctx": ctx("balance", &id), "req": req}), what, id: id.clone() });
        }
    }
    File { name: name.to_owned(), calls }
}

/// Reads `invoices.csv`; `currency_of` gives an account's currency (from
/// the accounts file or the store), `None` for an account unknown to both.
pub fn read_invoices(name: &str, text: &str, currency_of: &dyn Fn(&str) -> Option<String>, problems: &mut Vec<Problem>) -> File {
    let mut calls = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (line, cells) in rows(name, text, &INVOICE_COLUMNS, &INVOICE_COLUMNS[..5], problems) {
        let mut c = Cells { file: name, line, cells: &cells, problems };
        let (account, number) = (c.required("account-id"), c.required("number"));
        let (invoice_date, due_date) = (c.day("invoice-date"), c.day("due-date"));
        let (amount, paid) = (c.amount("amount", None), c.amount("paid", Some("0")));
        let order = Some(c.get("order-id").to_owned()).filter(|o| !o.is_empty());
        let currency = match &account {
            Some(a) => match (currency_of(a), c.get("currency")) {
                (None, _) => {
                    c.problem("account-id", format!("{a:?} is neither in the accounts file nor in the books"));
                    None
                }
                (Some(cur), "") => Some(cur),
                (Some(cur), given) if given == cur => Some(cur),
                (Some(cur), given) => {
                    let given = given.to_owned();
                    c.problem("currency", format!("{given:?}, but account {a:?} is in {cur}"));
                    None
                }
            },
            None => None,
        };
        if let (Some(i), Some(d)) = (&invoice_date, &due_date)
            && d < i
        {
            c.problem("due-date", format!("{d} is before the invoice date {i}"));
            continue;
        }
        if let (Some(a), Some(p)) = (amount, paid)
            && p >= a
        {
            c.problem("paid", format!("{p} is not less than the amount {a}: the invoice is not open"));
            continue;
        }
        if let Some(n) = &number
            && let Some(first) = seen.insert(n.clone(), line)
        {
            c.problem("number", format!("{n:?} is on line {first} already"));
            continue;
        }
        let (Some(account), Some(number), Some(invoice_date), Some(due_date), Some(amount), Some(paid), Some(currency)) =
            (account, number, invoice_date, due_date, amount, paid, currency)
        else {
            continue;
        };
        let req = json!({"account-id": account, "number": number, "invoice-date": invoice_date, "due-date": due_date,
            "amount": {"amount": amount.to_string(), "currency": currency}, "paid": paid.to_string(), "order-id": order});
        let what = What::Invoice { currency, amount, owed: amount - paid };
        calls.push(Call { line, function: "migration.import-invoice", args: json!({"ctx": ctx("invoice", &number), "req": req}), what, id: number });
    }
    File { name: name.to_owned(), calls }
}

/// A call's context for the row of `kind` and `id`; the time is set when
/// it is made. An id the component would refuse (its case names it) is
/// hashed into the key, so that the key is never what is refused.
fn ctx(kind: &str, id: &str) -> Json {
    let safe = id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:@-".contains(&b));
    json!({"idempotency-key": format!("import:{kind}:{}", key_part(id, safe)), "now-ms": 0})
}

/// `id` as part of an idempotency key: itself when `safe`, else `h` and
/// 32 hex digits of its SHA-256, so that a key built from text someone
/// else chose (a row's id, a bank's reference) is never what the
/// component refuses: the refusal names the field the text came in.
pub(crate) fn key_part(id: &str, safe: bool) -> String {
    if safe {
        id.to_owned()
    } else {
        use sha2::Digest;
        format!("h{}", &crate::http::secrets::hex(&sha2::Sha256::digest(id.as_bytes()))[..32])
    }
}

/// The column a refusal is about: the field its case names, or the one
/// the case is about.
fn field_of(function: &str, tag: &str, val: Option<&Json>) -> String {
    if let Some(f) = val.and_then(Json::as_str).filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c == '-' || c == '.')) {
        return f.to_owned();
    }
    match (function, tag) {
        (_, "currency-unknown" | "currency-mismatch") => "currency",
        ("migration.import-invoice", "idempotency-key-reused" | "invoice-belongs-to-another-account") => "number",
        (_, "account-not-found" | "account-closed" | "account-already-exists" | "idempotency-key-reused") => "account-id",
        (_, "customer-has-account-in-currency") => "customer-id",
        _ => "-",
    }
    .to_owned()
}

/// Whether the row's account or invoice is in the books already.
fn brought_in_before(ledger: &mut Ledger, m: &MerchantId, call: &Call, now_ms: i64) -> Result<bool> {
    let (function, args) = match call.what {
        What::Account | What::StoredBalance { .. } => ("queries.get-account", json!({"account-id": call.id, "now-ms": now_ms})),
        What::Invoice { .. } => ("queries.get-invoice", json!({"invoice-id": call.id, "today": "2000-01-01"})),
    };
    Ok(ledger.call_json(m, function, &args)?.get("ok").is_some())
}

/// Makes one file's calls on `ledger`, at `now_ms`, adding to `summary`;
/// every refusal is a problem (file, line, field the component named).
fn calls(ledger: &mut Ledger, m: &MerchantId, file: &File, now_ms: i64, summary: &mut Summary, problems: &mut Vec<Problem>) -> Result<()> {
    // A stored balance follows its account's row, and was brought in
    // before exactly when the account was.
    let mut account_before = false;
    for call in &file.calls {
        let before = match call.what {
            What::StoredBalance { .. } => account_before,
            _ => brought_in_before(ledger, m, call, now_ms)?,
        };
        if call.what == What::Account {
            account_before = before;
        }
        let mut args = call.args.clone();
        args["ctx"]["now-ms"] = json!(now_ms);
        let answer = ledger.call_json(m, call.function, &args)?;
        if let Some(err) = answer.get("err") {
            let tag = err.get("tag").and_then(Json::as_str).unwrap_or("error");
            let val = err.get("val");
            let field = field_of(call.function, tag, val);
            let detail = val.map(|v| format!(" ({v})")).unwrap_or_default();
            problems.push(Problem { file: file.name.clone(), line: call.line, field, why: format!("refused by the component: {tag}{detail}") });
            continue;
        }
        if before {
            if !matches!(call.what, What::StoredBalance { .. }) {
                summary.already += 1;
            }
            continue;
        }
        match &call.what {
            What::Account => summary.accounts += 1,
            What::StoredBalance { currency, amount } => {
                let e = summary.balances.entry(currency.clone()).or_default();
                e.0 += 1;
                e.1 += amount;
            }
            What::Invoice { currency, amount, owed } => {
                let e = summary.invoices.entry(currency.clone()).or_default();
                e.0 += 1;
                e.1 += amount;
                e.2 += owed;
            }
        }
    }
    Ok(())
}

/// Tries every file, in order, on a copy in memory of `merchant`'s data
/// in `backend`: what the import would do, and every problem it would meet.
pub fn trial(component: &Component, backend: &mut dyn Backend, m: &MerchantId, files: &[File], now_ms: i64) -> Result<(Summary, Vec<Problem>)> {
    let mut copy = MemoryBackend::new();
    copy.begin()?;
    let mut after: Option<String> = None;
    loop {
        let page = backend.scan(m.as_str(), "", after.as_deref(), 1_000)?;
        for (k, v) in &page {
            copy.put(m.as_str(), k, v)?;
        }
        match page.last() {
            Some((k, _)) if page.len() == 1_000 => after = Some(k.clone()),
            _ => break,
        }
    }
    copy.commit()?;
    let mut ledger = Ledger::with_backend(component, Box::new(copy));
    ledger.set_journal(false);
    let (mut summary, mut problems) = (Summary::default(), Vec::new());
    for f in files {
        calls(&mut ledger, m, f, now_ms, &mut summary, &mut problems)?;
    }
    Ok((summary, problems))
}

/// Makes one file's calls for real, all in one group of units of work:
/// kept together, or, when the component refuses any row (the books
/// changed since the trial), none of them. The problems are returned and
/// nothing of the file is kept.
pub fn apply(ledger: &mut Ledger, m: &MerchantId, file: &File, now_ms: i64, summary: &mut Summary) -> Result<Vec<Problem>> {
    let mut problems = Vec::new();
    let mut part = Summary::default();
    ledger.backend().begin_group()?;
    let made = calls(ledger, m, file, now_ms, &mut part, &mut problems);
    if made.is_err() || !problems.is_empty() {
        ledger.backend().rollback_group().context("undoing the file's rows")?;
        made?;
        return Ok(problems);
    }
    ledger.backend().commit_group()?;
    summary.accounts += part.accounts;
    summary.already += part.already;
    for (c, (n, a)) in part.balances {
        let e = summary.balances.entry(c).or_default();
        e.0 += n;
        e.1 += a;
    }
    for (c, (n, a, o)) in part.invoices {
        let e = summary.invoices.entry(c).or_default();
        e.0 += n;
        e.1 += a;
        e.2 += o;
    }
    Ok(problems)
}

/// The policy imported accounts get when no `--policy` file is given:
/// reminders 7, 14 and 30 days after the due date, a hold 30 days late,
/// statements at each month's end, no fees or interest.
pub fn default_policy() -> Json {
    json!({"grace-days": 0, "late-fee": null, "interest": null,
        "reminders": [{"offset-days": 7, "level": 1}, {"offset-days": 14, "level": 2}, {"offset-days": 30, "level": 3}],
        "hold-after-days-overdue": 30, "small-difference-max": "0", "small-difference-treatment": "write-off", "statement-day": 31, "open-ended-holds": null})
}

//! The harness: one compiled component per test binary, a ledger per test,
//! a clock the test sets, and a consistency check after every call.

use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use credit_host::api::*;
use credit_host::{Component, Ledger, MerchantId, audit};
use rust_decimal::Decimal;

/// 2026-03-02T00:00:00Z.
pub const T0: i64 = 1_772_409_600_000;
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// Compiling the component takes seconds in a debug build: do it once
/// per build of the component, shared by this test binary and every host
/// process the tests start (`--component-cache`). The cached file's name
/// carries a hash of the component and of the compiler settings.
pub fn component() -> &'static Component {
    static C: OnceLock<Component> = OnceLock::new();
    C.get_or_init(|| Component::embedded_cached(&component_cache()).expect("the embedded component compiles"))
}

/// Where compiled components are kept between test processes and runs.
pub fn component_cache() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache")
}

pub fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_else(|_| panic!("not a decimal: {s:?}"))
}

pub fn gbp(amount: &str) -> Money {
    Money { amount: amount.into(), currency: "GBP".into() }
}

pub fn net30() -> PaymentTerms {
    PaymentTerms { net_days: 30, basis: TermBasis::InvoiceDate, discount: None, instalments: vec![], months: None, day_of_month: None, cut_off_day: None }
}

/// No fees, no interest, no reminders, no automatic hold, no tolerance for
/// small differences.
pub fn quiet_policy() -> BillingPolicy {
    BillingPolicy {
        grace_days: 0,
        late_fee: None,
        interest: None,
        reminders: vec![],
        hold_after_days_overdue: None,
        small_difference_max: "0".into(),
        small_difference_treatment: SmallDifferenceTreatment::WriteOff,
        statement_day: None,
        open_ended_holds: None,
    }
}

/// The UTC calendar day of a timestamp, `YYYY-MM-DD`.
pub fn day_of(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap().format("%Y-%m-%d").to_string()
}

/// Milliseconds at 09:00 UTC on a `YYYY-MM-DD` day.
pub fn at(day: &str) -> i64 {
    let d = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
    d.and_hms_opt(9, 0, 0).unwrap().and_utc().timestamp_millis()
}

pub fn open_req(account: &str, currency: &str, limit: &str, tolerance: Tolerance) -> OpenAccountRequest {
    OpenAccountRequest {
        account_id: account.into(),
        customer_id: format!("cust-{account}"),
        currency: currency.into(),
        credit_limit: limit.into(),
        tolerance,
        terms: net30(),
        policy: quiet_policy(),
        opened_by: "tests".into(),
        company_id: None,
    }
}

type Answer<T> = Result<T, CreditError>;

/// The PostgreSQL database the suite runs on, when `CREDIT_TEST_POSTGRES`
/// names one (`tests/run` starts a server and sets it for its second pass
/// of the suite).
pub fn postgres_url() -> Option<String> {
    std::env::var("CREDIT_TEST_POSTGRES").ok().filter(|u| !u.is_empty())
}

/// A URL for a schema of its own in the suite's PostgreSQL database, so
/// tests running at once never see each other's data; the schema is
/// created here and the host creates its tables in it.
pub fn fresh_postgres(url: &str) -> String {
    static SCHEMAS: AtomicU64 = AtomicU64::new(0);
    let schema = format!("t_{}_{}", std::process::id(), SCHEMAS.fetch_add(1, Ordering::Relaxed));
    let mut admin = postgres::Client::connect(url, postgres::NoTls).expect("the test database (CREDIT_TEST_POSTGRES) accepts connections");
    admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")).expect("a schema for the test");
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

/// The store every logic test runs on: memory, or, when the suite runs on
/// PostgreSQL (`postgres_url`), a fresh schema there. One switch for the
/// whole suite, not a copy of each test per store.
pub fn ledger(component: &Component) -> Ledger {
    match postgres_url() {
        Some(url) => Ledger::open_postgres(component, &fresh_postgres(&url)).expect("PostgreSQL opens"),
        None => Ledger::open_in_memory(component),
    }
}

/// A ledger for one test, with its merchant and clock.
pub struct H {
    pub ledger: Ledger,
    pub m: MerchantId,
    pub now_ms: i64,
    /// Run the full check after every this many calls (1: after each). A
    /// long scripted history sets more and checks once more at its end.
    pub check_every: u64,
    harness: u64,
    next_key: u64,
    calls: u64,
}

impl H {
    /// A harness on a fresh store of the suite's kind (see `ledger`).
    pub fn new() -> H {
        H::on(ledger(component()))
    }

    pub fn sqlite(path: &std::path::Path) -> H {
        H::on(Ledger::open_sqlite(component(), path).expect("sqlite opens"))
    }

    pub fn on(ledger: Ledger) -> H {
        // Keys differ between harnesses, so a test that reopens a store
        // does not reuse its own keys by accident.
        static HARNESSES: AtomicU64 = AtomicU64::new(0);
        let harness = HARNESSES.fetch_add(1, Ordering::Relaxed);
        H { ledger, m: MerchantId::new("merchant-a").unwrap(), now_ms: T0, check_every: 1, harness, next_key: 0, calls: 0 }
    }

    /// A fresh idempotency key at the current time.
    pub fn ctx(&mut self) -> CallContext {
        self.next_key += 1;
        CallContext { idempotency_key: format!("key-{}-{}", self.harness, self.next_key), now_ms: self.now_ms }
    }

    /// Unwraps the host channel (a trap fails the test) and checks the
    /// store after the call.
    fn done<T>(&mut self, r: anyhow::Result<Answer<T>>) -> Answer<T> {
        let answer = r.expect("the call must not trap");
        self.calls += 1;
        if self.calls.is_multiple_of(self.check_every) {
            self.check();
        }
        answer
    }

    pub fn open(&mut self, account: &str, limit: &str) -> AccountSummary {
        self.open_with(&open_req(account, "GBP", limit, Tolerance::None)).expect("account opens")
    }

    pub fn open_with(&mut self, req: &OpenAccountRequest) -> Answer<AccountSummary> {
        let c = self.ctx();
        let r = self.ledger.open_account(&self.m, &c, req);
        self.done(r)
    }

    pub fn authorize(&mut self, account: &str, order: &str, amount: Money) -> Answer<Authorization> {
        let c = self.ctx();
        self.authorize_with(&c, &AuthorizeRequest { account_id: account.into(), order_id: order.into(), amount, hold_ttl_s: None, open_ended: None })
    }

    pub fn authorize_with(&mut self, c: &CallContext, req: &AuthorizeRequest) -> Answer<Authorization> {
        let r = self.ledger.authorize(&self.m, c, req);
        self.done(r)
    }

    /// Authorizes and insists on approval.
    pub fn approve(&mut self, account: &str, order: &str, amount: &str) -> Approval {
        match self.authorize(account, order, gbp(amount)) {
            Ok(Authorization::Approved(a)) => a,
            other => panic!("expected approval of {amount} on {account}, got {other:?}"),
        }
    }

    /// Authorizes and insists on a decline.
    pub fn decline(&mut self, account: &str, order: &str, amount: Money) -> Decline {
        match self.authorize(account, order, amount) {
            Ok(Authorization::Declined(d)) => d,
            other => panic!("expected a decline on {account}, got {other:?}"),
        }
    }

    pub fn capture(&mut self, hold: &str, amount: &str) -> Answer<CaptureReceipt> {
        self.capture_with(&CaptureRequest {
            hold_id: hold.into(),
            amount: gbp(amount),
            lines: vec![],
            delivery_date: None,
            terms: None,
            delivery: None,
            rest: None,
        })
    }

    pub fn capture_with(&mut self, req: &CaptureRequest) -> Answer<CaptureReceipt> {
        let c = self.ctx();
        let r = self.ledger.capture(&self.m, &c, req);
        self.done(r)
    }

    /// Authorizes and captures `amount` in one go: an invoice dated today.
    pub fn invoice(&mut self, account: &str, order: &str, amount: &str) -> Invoice {
        let hold = self.approve(account, order, amount).hold.hold_id;
        self.capture(&hold, amount).expect("capture").invoice
    }

    /// The current day, `YYYY-MM-DD`.
    pub fn today(&self) -> String {
        day_of(self.now_ms)
    }

    pub fn pay_with(&mut self, req: &RecordPaymentRequest) -> Answer<PaymentReceipt> {
        let c = self.ctx();
        let r = self.ledger.record_payment(&self.m, &c, req);
        self.done(r)
    }

    /// A payment received today, allocated oldest due first.
    pub fn pay_on(&mut self, account: &str, amount: &str, received_on: &str) -> Answer<PaymentReceipt> {
        self.pay_with(&RecordPaymentRequest {
            account_id: account.into(),
            amount: gbp(amount),
            received_on: received_on.into(),
            method: "bank-transfer".into(),
            reference: "REF".into(),
            allocations: vec![],
            spread: None,
        })
    }

    pub fn day_close(&mut self, account: &str, date: &str) -> Answer<DayCloseReport> {
        let c = self.ctx();
        let r = self.ledger.day_close(&self.m, &c, account, date);
        self.done(r)
    }

    pub fn get_invoice(&mut self, id: &str) -> Invoice {
        let today = self.today();
        self.ledger.get_invoice(&self.m, id, &today).expect("no trap").expect("invoice exists")
    }

    pub fn void(&mut self, hold: &str) -> Answer<VoidReceipt> {
        let c = self.ctx();
        let r = self.ledger.void_hold(&self.m, &c, hold);
        self.done(r)
    }

    pub fn apply_balance(&mut self, account: &str, order: &str, amount: &str) -> Answer<BalanceApplication> {
        let req = ApplyBalanceRequest { account_id: account.into(), order_id: order.into(), amount: gbp(amount), mode: None };
        self.apply_balance_with(&req)
    }

    pub fn apply_balance_with(&mut self, req: &ApplyBalanceRequest) -> Answer<BalanceApplication> {
        let c = self.ctx();
        let r = self.ledger.apply_balance(&self.m, &c, req);
        self.done(r)
    }

    pub fn ret(&mut self, account: &str, order: &str, amount: &str, to: CreditTarget) -> Answer<CreditNote> {
        let c = self.ctx();
        let req =
            RecordReturnRequest { account_id: account.into(), order_id: order.into(), amount: gbp(amount), credit_to: to, reason: "returned".into() };
        let r = self.ledger.record_return(&self.m, &c, &req);
        self.done(r)
    }

    pub fn pay(&mut self, account: &str, amount: &str) -> Answer<PaymentReceipt> {
        let today = self.today();
        self.pay_on(account, amount, &today)
    }

    pub fn set_status(&mut self, account: &str, status: AccountStatus) -> Answer<AccountSummary> {
        let c = self.ctx();
        let req = SetStatusRequest { account_id: account.into(), status, changed_by: "finance".into(), reason: "test".into() };
        let r = self.ledger.set_status(&self.m, &c, &req);
        self.done(r)
    }

    pub fn change_limit(&mut self, account: &str, limit: &str) -> Answer<AccountSummary> {
        let c = self.ctx();
        let req =
            ChangeCreditLimitRequest { account_id: account.into(), new_limit: gbp(limit), changed_by: "finance".into(), reason: "review".into() };
        let r = self.ledger.change_credit_limit(&self.m, &c, &req);
        self.done(r)
    }

    pub fn summary(&mut self, account: &str) -> AccountSummary {
        let now = self.now_ms;
        self.ledger.get_account(&self.m, account, now).expect("no trap").expect("account exists")
    }

    pub fn entries(&mut self, account: &str) -> Vec<LedgerEntry> {
        self.ledger.ledger_all(&self.m, account).expect("no trap").expect("account exists")
    }

    /// Every key and value of every merchant, to prove a refused call
    /// changed nothing.
    pub fn dump(&mut self) -> Vec<(String, String, Vec<u8>)> {
        dump(&mut self.ledger)
    }

    /// The invariants that hold after every call:
    /// - the host's independent audit finds every cached figure equal to
    ///   the sum of its entries, and every open hold matches its record;
    /// - through the component, posted debt and stored balance equal the
    ///   sums of the ledger's deltas, and the derived figures follow from
    ///   the base ones (exposure, available credit, balance).
    pub fn check(&mut self) {
        let report = audit::audit(self.ledger.backend()).expect("audit runs");
        assert!(report.is_clean(), "audit found: {:#?}", report.discrepancies);
        assert_eq!(report.debits, report.credits, "debits equal credits over every entry");
        let now = self.now_ms;
        let ids = self.ledger.list_accounts(&self.m, None, 100).expect("no trap").expect("list works");
        for id in ids {
            let s = self.ledger.get_account(&self.m, &id, now).expect("no trap").expect("account exists");
            let entries = self.entries(&id);
            assert_eq!(entries.len() as u64, s.entry_count, "{id}: entry count");
            for (i, e) in entries.iter().enumerate() {
                assert_eq!(e.seq, i as u64 + 1, "{id}: entries numbered without gaps");
            }
            let sum = |f: fn(&LedgerEntry) -> &str| entries.iter().map(|e| d(f(e))).sum::<Decimal>();
            let f = &s.figures;
            assert_eq!(sum(|e| &e.debt_delta), d(&f.posted_debt), "{id}: posted debt = sum of entries");
            assert_eq!(sum(|e| &e.stored_delta), d(&f.stored_balance), "{id}: stored balance = sum of entries");
            for e in &entries {
                let dr: Decimal = e.postings.iter().map(|p| d(&p.debit)).sum();
                let cr: Decimal = e.postings.iter().map(|p| d(&p.credit)).sum();
                assert_eq!(dr, cr, "{id}: entry {} balances", e.seq);
            }
            let today = day_of(now);
            let open = self.ledger.open_invoices_all(&self.m, &id, &today).expect("no trap").expect("account exists");
            for i in &open {
                // The portions add up to the total, and what is open on
                // them to what the item still owes.
                let amounts: Decimal = i.schedule.iter().map(|p| d(&p.amount)).sum();
                let open_parts: Decimal = i.schedule.iter().map(|p| d(&p.open)).sum();
                assert_eq!(amounts, d(&i.total), "{id}: {} portions add up to its total", i.invoice_id);
                assert_eq!(open_parts, d(&i.outstanding), "{id}: {} open portions add up to what it owes", i.invoice_id);
                assert!(i.schedule.iter().all(|p| d(&p.paid) + d(&p.open) == d(&p.amount)), "{id}: {} paid + open", i.invoice_id);
            }
            let owed: Decimal = open.iter().map(|i| d(&i.outstanding)).sum();
            assert_eq!(owed, d(&f.posted_debt), "{id}: posted debt = what open items owe");
            let overdue: Decimal = open.iter().map(|i| d(&i.overdue)).sum();
            assert_eq!(overdue, d(&s.overdue), "{id}: overdue = what open items have overdue");
            assert!(sum(|e| &e.held_delta) >= d(&f.open_holds), "{id}: live holds are within what is held");
            assert_eq!(d(&f.exposure), d(&f.posted_debt) + d(&f.open_holds), "{id}: exposure");
            assert_eq!(d(&f.available_credit), d(&f.credit_limit) + d(&f.stored_balance) - d(&f.exposure), "{id}: available credit");
            assert_eq!(d(&f.available_with_tolerance), d(&f.available_credit) + d(&f.tolerance), "{id}: with tolerance");
            assert_eq!(d(&s.balance), d(&f.posted_debt) - d(&f.stored_balance), "{id}: balance");
            for v in [&f.posted_debt, &f.stored_balance, &f.open_holds, &f.credit_limit, &f.tolerance] {
                assert!(d(v) >= Decimal::ZERO, "{id}: figure {v} must not be negative");
            }
        }
    }
}

/// Every key and value of every merchant in a ledger's store.
pub fn dump(ledger: &mut Ledger) -> Vec<(String, String, Vec<u8>)> {
    let backend = ledger.backend();
    let mut out = Vec::new();
    for m in backend.merchants().unwrap() {
        let mut after: Option<String> = None;
        loop {
            let page = backend.scan(&m, "", after.as_deref(), 1000).unwrap();
            let Some((last, _)) = page.last() else { break };
            after = Some(last.clone());
            out.extend(page.into_iter().map(|(k, v)| (m.clone(), k, v)));
        }
    }
    out
}

/// A small deterministic generator (xorshift64*): the same stream for the
/// same seed, so a failing run can be repeated.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// An amount of `lo ..= hi` pennies, as text.
    pub fn pennies(&mut self, lo: u64, hi: u64) -> String {
        let p = lo + self.below(hi - lo + 1);
        format!("{}.{:02}", p / 100, p % 100)
    }
}

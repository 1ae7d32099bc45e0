//! `simulate`: a seeded, deterministic B2B store trading on account for
//! months, every step a call through the real component.
//!
//! One merchant (a wholesaler) and `customers` trade customers, each with
//! a habit (`people::Habit`). Every working day customers order
//! (`authorize`, some declined); the next working day the goods ship
//! (`capture`, some in two shipments, some orders cancelled with
//! `void-hold`, a few left to expire); returners send goods back
//! (`record-return`); payments arrive on each customer's habit
//! (`record-payment`, discounts taken, some bounce: `reverse-payment`); and
//! every day ends with `day-close` for every account (fees, interest,
//! reminders, holds, month-end statements).
//!
//! Nothing reads a clock or an unseeded random source: the same seed gives
//! the same calls, the same database (byte for byte, for SQLite) and the
//! same documents. `--faults` adds what real storefronts do wrong, drawn
//! from a second random stream so the trade itself is unchanged: retried
//! calls, captures and voids out of order, captures of expired holds, and a
//! host restart mid-day. None of them is a business event, so a run with
//! faults ends with exactly the ledger of a run without (tests check it).

pub mod people;

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, Result, anyhow, bail};
use chrono::{Datelike, Days, Months, NaiveDate, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;

use crate::api::*;
use crate::deliver::Outbox;
use crate::store::SqliteBackend;
use crate::{Component, Ledger, MerchantId};
use people::{Customer, Habit};

/// The merchant every simulation trades as.
pub const MERCHANT: &str = "northwind-trade";

/// What to simulate.
#[derive(Clone, Debug)]
pub struct Config {
    /// Trade customers (1 ..= `CUSTOMERS_MAX`).
    pub customers: u32,
    /// Months of trade (1 ..= `MONTHS_MAX`).
    pub months: u32,
    /// The seed of every random draw.
    pub seed: u64,
    /// Inject storefront faults (see the module's documentation).
    pub faults: bool,
    /// The first day of trade.
    pub start: NaiveDate,
}

/// The most customers a simulation takes.
pub const CUSTOMERS_MAX: u32 = 100_000;
/// The most months a simulation runs.
pub const MONTHS_MAX: u32 = 120;

impl Config {
    /// The days simulated, first to last.
    pub fn days(&self) -> Result<(NaiveDate, NaiveDate)> {
        if !(1..=CUSTOMERS_MAX).contains(&self.customers) {
            bail!("customers must be 1 ..= {CUSTOMERS_MAX}, not {}", self.customers);
        }
        if !(1..=MONTHS_MAX).contains(&self.months) {
            bail!("months must be 1 ..= {MONTHS_MAX}, not {}", self.months);
        }
        let end = self.start.checked_add_months(Months::new(self.months)).ok_or_else(|| anyhow!("the simulation would end after 9999"))?;
        Ok((self.start, end.pred_opt().expect("after the start")))
    }

    /// How many days the run takes.
    pub fn day_count(&self) -> Result<u64> {
        let (first, last) = self.days()?;
        Ok((last - first).num_days() as u64 + 1)
    }
}

/// What a simulation did, all figures in the store's currency (GBP).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Customers by habit.
    pub habits: BTreeMap<&'static str, u32>,
    /// Days simulated.
    pub days: u32,
    /// Calls made to the component (queries included; fault repeats not).
    pub calls: u64,
    /// Orders approved by `authorize`.
    pub approved: u64,
    /// Orders declined, by reason.
    pub declined: BTreeMap<&'static str, u64>,
    /// Orders paid partly from stored balance (`apply-balance`), and how much.
    pub balance_applied: (u64, Decimal),
    /// Invoices issued by captures, and their total.
    pub invoiced: (u64, Decimal),
    /// Orders shipped in two parts.
    pub split_shipments: u64,
    /// Orders cancelled (`void-hold`).
    pub cancelled: u64,
    /// Holds left to expire and released by the day-close.
    pub holds_expired: u64,
    /// Returns (credit notes), and their total.
    pub returns: (u64, Decimal),
    /// Payments recorded, and the money collected.
    pub collected: (u64, Decimal),
    /// Early-payment discounts taken.
    pub discounts: Decimal,
    /// Payments that bounced (reversed), and their total.
    pub bounced: (u64, Decimal),
    /// Late fees charged, and their total.
    pub fees: (u64, Decimal),
    /// Interest charged.
    pub interest: Decimal,
    /// Reminders sent.
    pub reminders: u64,
    /// Monthly statements made.
    pub statements: u64,
    /// Times an account was put on hold for overdue invoices.
    pub put_on_hold: u64,
    /// Accounts on hold at the end.
    pub on_hold_at_end: u32,
    /// Outstanding at the end by aging bucket (label, amount), then the total.
    pub aging: Vec<(String, Decimal)>,
    /// Outstanding at the end.
    pub outstanding: Decimal,
    /// Stored balance (money owed to customers) at the end.
    pub stored_balance: Decimal,
    /// Documents written (invoices, reminders, statements).
    pub documents: u64,
    /// Faults injected and how each ended.
    pub faults: Faults,
}

/// The faults of a `--faults` run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Calls sent twice with the same idempotency key (double clicks,
    /// timeouts); each second answer was the first.
    pub retried: u64,
    /// Voids sent after the hold was captured, and captures sent after it
    /// was voided; each refused.
    pub out_of_order: u64,
    /// Captures of holds that had expired; each refused.
    pub expired_captures: u64,
    /// Times the host was stopped and started again mid-day.
    pub restarts: u64,
}

enum Task {
    /// Ship an order: all of it, or (split) 60% now and the rest later.
    Capture { c: usize, hold_id: String, amount: i64, split: bool },
    /// The second shipment of a split order.
    CaptureRest { c: usize, hold_id: String, amount: i64 },
    /// The customer cancels the order.
    Void { c: usize, hold_id: String },
    /// A fault: the storefront captures a hold that has expired.
    LateCapture { hold_id: String, amount: i64 },
    /// Goods sent back.
    Return { c: usize, order_id: String, amount: i64 },
    /// The customer pays one invoice.
    Pay { c: usize, invoice_id: String },
    /// The bank returns a payment.
    Bounce { c: usize, payment_id: String, invoice_id: String },
}

/// A simulation in progress.
pub struct Simulation<'a> {
    config: Config,
    ledger: Ledger,
    restart: &'a mut dyn FnMut(&mut Ledger) -> Result<()>,
    merchant: MerchantId,
    rng: ChaCha8Rng,
    faults: ChaCha8Rng,
    customers: Vec<Customer>,
    schedule: BTreeMap<NaiveDate, Vec<Task>>,
    today: NaiveDate,
    now_ms: i64,
    keys: u64,
    fault_keys: u64,
    orders: u64,
    outbox: Option<Outbox>,
    summary: Summary,
}

fn minor(amount: i64) -> String {
    format!("{}.{:02}", amount / 100, amount % 100)
}

fn dec(s: &str) -> Result<Decimal> {
    Decimal::from_str(s).with_context(|| format!("the component answered {s:?} for an amount"))
}

fn gbp(amount: &str) -> Money {
    Money { amount: amount.into(), currency: "GBP".into() }
}

fn ok<T>(r: Result<std::result::Result<T, CreditError>>, what: &str) -> Result<T> {
    r?.map_err(|e| anyhow!("the component refused {what}: {e:?}"))
}

/// A capture of `amount` pence, invoiced as one line "Order <id>".
fn capture_request(hold_id: &str, amount: i64, rest: Option<CaptureRest>) -> CaptureRequest {
    CaptureRequest { hold_id: hold_id.into(), amount: gbp(&minor(amount)), lines: vec![], delivery_date: None, terms: None, delivery: None, rest }
}

fn day_str(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn ms(d: NaiveDate, hour: u32) -> i64 {
    d.and_hms_opt(hour, 0, 0).expect("a valid hour").and_utc().timestamp_millis()
}

fn working(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

fn next_working(d: NaiveDate) -> NaiveDate {
    let mut n = d.succ_opt().expect("a later day");
    while !working(n) {
        n = n.succ_opt().expect("a later day");
    }
    n
}

/// The store's collections policy: a week's grace, then a £15 fee and 8%
/// a year; reminders 3 days before, on the day, and at 7, 14, 30 and 60
/// days late; accounts held when more than 30 days late; pennies short
/// written off; statements at each month's end.
fn policy() -> BillingPolicy {
    BillingPolicy {
        grace_days: 7,
        late_fee: Some("15.00".into()),
        interest: Some(InterestRule { annual_rate_percent: "8".into(), day_count: DayCount::Actual365Fixed }),
        reminders: [(-3, 1), (0, 1), (7, 2), (14, 3), (30, 4), (60, 4)]
            .into_iter()
            .map(|(offset_days, level)| ReminderStep { offset_days, level })
            .collect(),
        hold_after_days_overdue: Some(30),
        small_difference_max: "0.05".into(),
        small_difference_treatment: SmallDifferenceTreatment::WriteOff,
        statement_day: Some(31),
        open_ended_holds: None,
    }
}

fn terms(habit: Habit) -> PaymentTerms {
    let (net_days, discount) = match habit {
        Habit::Big => (60, None),
        // 2/10 net 30 for everyone else: the discounter takes it.
        _ => (30, Some(EarlyPaymentDiscount { percent: Some("2".into()), days: 10, amount: None, basis: None })),
    };
    PaymentTerms { net_days, basis: TermBasis::InvoiceDate, discount, instalments: vec![], months: None, day_of_month: None, cut_off_day: None }
}

/// Runs a simulation on the memory store and copies the result into a new
/// SQLite file at `path` (which must not exist) in one transaction: about
/// half the time of writing the file day by day (BENCHMARKS.md). The
/// restart fault starts the component again on the same store
/// (`Ledger::restart`). The file is removed again if the copy fails.
/// Returns the summary and the file, open.
pub fn into_sqlite(component: &Component, config: Config, path: &Path, outbox: Option<Outbox>, progress: &mut dyn FnMut(u64)) -> Result<(Summary, SqliteBackend)> {
    anyhow::ensure!(!path.exists(), "{} exists already: simulate into a new file", path.display());
    let mut restart = |l: &mut Ledger| -> Result<()> {
        l.restart();
        Ok(())
    };
    let (summary, ledger) = Simulation::new(config, Ledger::open_in_memory(component), &mut restart, outbox)?.run(progress)?;
    let mut from = ledger.into_backend();
    let written = SqliteBackend::open(path).and_then(|mut to| crate::store::copy_all(from.as_mut(), &mut to).map(|_| to));
    match written {
        Ok(to) => Ok((summary, to)),
        Err(e) => {
            let _ = std::fs::remove_file(path);
            for suffix in ["-wal", "-shm"] {
                let mut p = path.as_os_str().to_owned();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
            Err(e.context(format!("writing {}", path.display())))
        }
    }
}

impl<'a> Simulation<'a> {
    /// A simulation on `ledger`, which must hold no data for `MERCHANT`.
    /// `restart` stops and starts the host on the same data (the restart
    /// fault: `Ledger::restart`, or the database opened again); with
    /// `outbox`, invoices, reminders and statements are written as mail.
    pub fn new(config: Config, ledger: Ledger, restart: &'a mut dyn FnMut(&mut Ledger) -> Result<()>, outbox: Option<Outbox>) -> Result<Self> {
        let (first, _) = config.days()?;
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let faults = ChaCha8Rng::seed_from_u64(config.seed ^ 0x5eed_fa17);
        let customers = people::customers(config.customers, &mut rng);
        let outbox = outbox.map(|o| Outbox { dir: o.dir, names: people::directory(MERCHANT, &customers) });
        let mut summary = Summary::default();
        for c in &customers {
            *summary.habits.entry(c.habit.name()).or_default() += 1;
        }
        Ok(Simulation {
            config,
            ledger,
            restart,
            merchant: MerchantId::new(MERCHANT)?,
            rng,
            faults,
            customers,
            schedule: BTreeMap::new(),
            today: first,
            now_ms: ms(first, 8),
            keys: 0,
            fault_keys: 0,
            orders: 0,
            outbox,
            summary,
        })
    }

    /// The customers, in account order.
    pub fn customers(&self) -> &[Customer] {
        &self.customers
    }

    /// The ledger (for reading it afterwards).
    pub fn ledger(&mut self) -> &mut Ledger {
        &mut self.ledger
    }

    /// The days the run takes.
    pub fn day_count(&self) -> Result<u64> {
        self.config.day_count()
    }

    /// A new call: its own idempotency key, one second after the last.
    fn ctx(&mut self, what: &str) -> CallContext {
        self.keys += 1;
        self.now_ms += 1000;
        self.summary.calls += 1;
        CallContext { idempotency_key: format!("sim-{:08}-{what}", self.keys), now_ms: self.now_ms }
    }

    /// A call the fault stream adds: its own keys, and the clock left
    /// where it is, so the trade's calls carry the same keys and times as
    /// in a run without faults.
    fn fault_ctx(&mut self, what: &str) -> CallContext {
        self.fault_keys += 1;
        CallContext { idempotency_key: format!("fault-{:08}-{what}", self.fault_keys), now_ms: self.now_ms }
    }

    fn fault(&mut self, percent: u32) -> bool {
        self.config.faults && self.faults.random_range(0..100) < percent
    }

    /// Sends a call that succeeded once more, with the same key, when the
    /// fault stream says so: the answer must be the first one.
    fn maybe_retry<T: PartialEq + std::fmt::Debug>(
        &mut self,
        first: &T,
        again: impl FnOnce(&mut Ledger) -> Result<std::result::Result<T, CreditError>>,
    ) -> Result<()> {
        if !self.fault(4) {
            return Ok(());
        }
        let second = again(&mut self.ledger)?;
        match second {
            Ok(ref s) if s == first => {
                self.summary.faults.retried += 1;
                Ok(())
            }
            other => bail!("a retried call answered differently: first {first:?}, then {other:?}"),
        }
    }

    fn later(&mut self, day: NaiveDate, task: Task) {
        self.schedule.entry(day).or_default().push(task);
    }

    /// Runs every day; `progress` is told after each one.
    pub fn run(mut self, progress: &mut dyn FnMut(u64)) -> Result<(Summary, Ledger)> {
        let (first, last) = self.config.days()?;
        self.open_accounts()?;
        let mut day = first;
        let restart_day = 15;
        while day <= last {
            self.today = day;
            self.now_ms = self.now_ms.max(ms(day, 8));
            // One transaction per simulated day (each call a savepoint in
            // it, rolled back alone when refused): 365 commits a year
            // instead of one per call.
            self.ledger.backend().begin_group()?;
            for task in self.schedule.remove(&day).unwrap_or_default() {
                self.task(task).with_context(|| format!("on {day}"))?;
            }
            if self.config.faults && day.day() == restart_day {
                // The host process stops and starts between two calls.
                self.ledger.backend().commit_group()?;
                (self.restart)(&mut self.ledger).context("restarting the host")?;
                self.ledger.backend().begin_group()?;
                self.summary.faults.restarts += 1;
            }
            if working(day) {
                self.orders().with_context(|| format!("orders on {day}"))?;
            }
            self.close_day().with_context(|| format!("closing {day}"))?;
            self.ledger.backend().commit_group()?;
            self.summary.days += 1;
            progress(1);
            day = day.succ_opt().expect("a later day");
        }
        self.finish(last)?;
        Ok((self.summary, self.ledger))
    }

    fn open_accounts(&mut self) -> Result<()> {
        for i in 0..self.customers.len() {
            let c = self.customers[i].clone();
            let ctx = self.ctx("open");
            let req = OpenAccountRequest {
                account_id: c.account_id.clone(),
                customer_id: c.customer_id.clone(),
                currency: "GBP".into(),
                credit_limit: minor(c.limit_minor),
                tolerance: Tolerance::None,
                terms: terms(c.habit),
                policy: policy(),
                opened_by: "simulation".into(),
                company_id: None,
            };
            ok(self.ledger.open_account(&self.merchant, &ctx, &req), "opening an account")?;
        }
        Ok(())
    }

    fn orders(&mut self) -> Result<()> {
        for i in 0..self.customers.len() {
            let c = self.customers[i].clone();
            let count = match c.habit {
                Habit::Big => self.rng.random_range(3..=6),
                _ => u32::from(self.rng.random_range(0..100) < 12),
            };
            for _ in 0..count {
                let amount = match c.habit {
                    Habit::Big => self.rng.random_range(50_000..=250_000),
                    _ => self.rng.random_range(c.limit_minor / 50..=c.limit_minor * 3 / 10),
                };
                let fate = self.rng.random_range(0..100);
                self.order(i, &c, amount, fate)?;
            }
        }
        Ok(())
    }

    fn order(&mut self, i: usize, c: &Customer, mut amount: i64, fate: u32) -> Result<()> {
        self.orders += 1;
        let order_id = format!("SO-{:06}", self.orders);
        if c.habit == Habit::Returner {
            // Credit from earlier returns pays for part of the order first.
            let ctx = self.ctx("apply-balance");
            let req = ApplyBalanceRequest { account_id: c.account_id.clone(), order_id: order_id.clone(), amount: gbp(&minor(amount)), mode: None };
            let r = ok(self.ledger.apply_balance(&self.merchant, &ctx, &req), "apply-balance")?;
            let applied = dec(&r.applied)?;
            if !applied.is_zero() {
                self.summary.balance_applied.0 += 1;
                self.summary.balance_applied.1 += applied;
                amount = (dec(&r.remaining)? * Decimal::ONE_HUNDRED).trunc().try_into().context("remaining amount")?;
                if amount == 0 {
                    return Ok(());
                }
            }
        }
        let ctx = self.ctx("authorize");
        let req = AuthorizeRequest { account_id: c.account_id.clone(), order_id: order_id.clone(), amount: gbp(&minor(amount)), hold_ttl_s: None, open_ended: None };
        let answer = ok(self.ledger.authorize(&self.merchant, &ctx, &req), "authorize")?;
        let (m, r) = (self.merchant.clone(), req.clone());
        self.maybe_retry(&answer, |l| l.authorize(&m, &ctx, &r))?;
        let hold_id = match answer {
            Authorization::Approved(a) => a.hold.hold_id,
            Authorization::Declined(d) => {
                *self.summary.declined.entry(crate::cli::tables::decline(d.reason)).or_default() += 1;
                return Ok(());
            }
        };
        self.summary.approved += 1;
        let ship = next_working(self.today);
        match fate {
            0..80 => self.later(ship, Task::Capture { c: i, hold_id, amount, split: false }),
            80..90 => self.later(ship, Task::Capture { c: i, hold_id, amount, split: true }),
            90..95 => self.later(ship, Task::Void { c: i, hold_id }),
            _ => {
                // Never shipped: the hold expires after 7 days. With faults,
                // the storefront tries to capture it two days after that.
                self.later(self.today + Days::new(9), Task::LateCapture { hold_id, amount });
            }
        }
        if c.habit == Habit::Returner && fate < 80 && self.rng.random_range(0..4) == 0 {
            let back = amount * self.rng.random_range(10..=50) / 100;
            let day = ship + Days::new(self.rng.random_range(2..=10));
            self.later(day, Task::Return { c: i, order_id, amount: back });
        }
        Ok(())
    }

    fn task(&mut self, task: Task) -> Result<()> {
        match task {
            Task::Capture { c, hold_id, amount, split } => {
                let shipped = if split { amount * 6 / 10 } else { amount };
                let rest = if split { Some(CaptureRest::KeepOpen) } else { None };
                self.capture(c, &hold_id, shipped, rest)?;
                if split {
                    self.summary.split_shipments += 1;
                    let day = self.today + Days::new(3);
                    self.later(day, Task::CaptureRest { c, hold_id, amount: amount - shipped });
                } else if self.fault(3) {
                    // A void that arrives after the capture it raced.
                    let ctx = self.fault_ctx("late-void");
                    if self.ledger.void_hold(&self.merchant, &ctx, &hold_id)?.is_ok() {
                        bail!("a void after the capture of {hold_id} was accepted");
                    }
                    self.summary.faults.out_of_order += 1;
                }
            }
            Task::CaptureRest { c, hold_id, amount } => self.capture(c, &hold_id, amount, None)?,
            Task::Void { c, hold_id } => {
                let ctx = self.ctx("void");
                let v = ok(self.ledger.void_hold(&self.merchant, &ctx, &hold_id), "void-hold")?;
                let (m, h) = (self.merchant.clone(), hold_id.clone());
                self.maybe_retry(&v, |l| l.void_hold(&m, &ctx, &h))?;
                self.summary.cancelled += 1;
                if self.fault(50) {
                    // The shipment system had not heard of the cancellation.
                    let account = self.customers[c].account_id.clone();
                    if self.stray_capture("late-capture", &hold_id, 100)? {
                        bail!("a capture after the void of {hold_id} on {account} was accepted");
                    }
                    self.summary.faults.out_of_order += 1;
                }
            }
            Task::LateCapture { hold_id, amount } => {
                if self.config.faults {
                    if self.stray_capture("expired-capture", &hold_id, amount)? {
                        bail!("a capture of the expired hold {hold_id} was accepted");
                    }
                    self.summary.faults.expired_captures += 1;
                }
            }
            Task::Return { c, order_id, amount } => {
                let ctx = self.ctx("return");
                let req = RecordReturnRequest {
                    account_id: self.customers[c].account_id.clone(),
                    order_id,
                    amount: gbp(&minor(amount)),
                    // Every other return is kept as store credit, spent on a
                    // later order (`apply-balance`).
                    credit_to: if self.summary.returns.0.is_multiple_of(2) { CreditTarget::StoredBalance } else { CreditTarget::OwedFirst },
                    reason: "goods returned".into(),
                };
                let note = ok(self.ledger.record_return(&self.merchant, &ctx, &req), "record-return")?;
                self.summary.returns.0 += 1;
                self.summary.returns.1 += dec(&note.amount)?;
            }
            Task::Pay { c, invoice_id } => self.pay_invoice(c, &invoice_id)?,
            Task::Bounce { c, payment_id, invoice_id } => {
                let ctx = self.ctx("bounce");
                let r = ok(self.ledger.reverse_payment(&self.merchant, &ctx, &payment_id, "returned unpaid by the bank"), "reverse-payment")?;
                self.summary.bounced.0 += 1;
                self.summary.bounced.1 += dec(&r.payment.amount)?;
                // Paid again a week later.
                let day = self.today + Days::new(7);
                self.later(day, Task::Pay { c, invoice_id });
            }
        }
        Ok(())
    }

    /// A capture the fault stream sends (of a voided or expired hold);
    /// true when the component accepted it.
    fn stray_capture(&mut self, what: &str, hold_id: &str, amount: i64) -> Result<bool> {
        let ctx = self.fault_ctx(what);
        let req = capture_request(hold_id, amount, None);
        Ok(self.ledger.capture(&self.merchant, &ctx, &req)?.is_ok())
    }

    fn capture(&mut self, c: usize, hold_id: &str, amount: i64, rest: Option<CaptureRest>) -> Result<()> {
        let ctx = self.ctx("capture");
        let req = capture_request(hold_id, amount, rest);
        let r = ok(self.ledger.capture(&self.merchant, &ctx, &req), "capture")?;
        let (m, q) = (self.merchant.clone(), req.clone());
        self.maybe_retry(&r, |l| l.capture(&m, &ctx, &q))?;
        self.summary.invoiced.0 += 1;
        self.summary.invoiced.1 += dec(&r.invoice.total)?;
        if let Some(outbox) = &self.outbox {
            outbox.capture(&mut self.ledger, &self.merchant, &r)?;
            self.summary.documents += 1;
        }
        let customer = self.customers[c].clone();
        let invoice = &r.invoice;
        let issued = NaiveDate::parse_from_str(&invoice.invoice_date, "%Y-%m-%d")?;
        let due = NaiveDate::parse_from_str(&invoice.due_date, "%Y-%m-%d")?;
        let pay_on = match customer.habit {
            Habit::Big => return Ok(()),
            Habit::Prompt | Habit::Returner | Habit::Bouncer => due - Days::new(self.rng.random_range(0..=5)),
            Habit::Slow => due + Days::new(self.rng.random_range(3..=45)),
            Habit::Discounter => match &invoice.discount_until {
                Some(until) => NaiveDate::parse_from_str(until, "%Y-%m-%d")? - Days::new(self.rng.random_range(0..=3)),
                None => due,
            },
            Habit::Delinquent => {
                if issued >= self.config.start + Months::new(2) {
                    return Ok(());
                }
                due + Days::new(self.rng.random_range(0..=10))
            }
        };
        let pay_on = pay_on.max(issued + Days::new(1));
        self.later(pay_on, Task::Pay { c, invoice_id: invoice.invoice_id.clone() });
        Ok(())
    }

    fn pay_invoice(&mut self, c: usize, invoice_id: &str) -> Result<()> {
        let customer = self.customers[c].clone();
        let today = day_str(self.today);
        self.summary.calls += 1;
        let invoice = ok(self.ledger.get_invoice(&self.merchant, invoice_id, &today), "get-invoice")?;
        let mut cash = dec(&invoice.outstanding)?;
        let discounted = invoice.discount_until.as_deref().is_some_and(|until| today.as_str() <= until);
        if customer.habit == Habit::Discounter && discounted {
            cash -= dec(&invoice.discount_amount)?;
        }
        if cash <= Decimal::ZERO {
            return Ok(());
        }
        let ctx = self.ctx("pay");
        let req = RecordPaymentRequest {
            account_id: customer.account_id.clone(),
            amount: gbp(&cash.to_string()),
            received_on: today.clone(),
            method: "bank-transfer".into(),
            reference: invoice_id.into(),
            allocations: vec![AllocationRequest { invoice_id: invoice_id.into(), amount: cash.to_string() }],
            spread: None,
        };
        let r = ok(self.ledger.record_payment(&self.merchant, &ctx, &req), "record-payment")?;
        let (m, q) = (self.merchant.clone(), req.clone());
        self.maybe_retry(&r, |l| l.record_payment(&m, &ctx, &q))?;
        self.paid(&r)?;
        if customer.habit == Habit::Bouncer && self.rng.random_range(0..5) == 0 {
            let day = self.today + Days::new(3);
            self.later(day, Task::Bounce { c, payment_id: r.payment.payment_id.clone(), invoice_id: invoice_id.into() });
        }
        Ok(())
    }

    fn paid(&mut self, r: &PaymentReceipt) -> Result<()> {
        self.summary.collected.0 += 1;
        self.summary.collected.1 += dec(&r.payment.amount)?;
        for a in &r.payment.allocations {
            self.summary.discounts += dec(&a.discount)?;
        }
        Ok(())
    }

    fn pay_weekly(&mut self, c: usize) -> Result<()> {
        let account = self.customers[c].account_id.clone();
        let today = day_str(self.today);
        let horizon = day_str(self.today + Days::new(7));
        self.summary.calls += 1;
        let open = ok(self.ledger.open_invoices_all(&self.merchant, &account, &today), "open-invoices")?;
        let mut cash = Decimal::ZERO;
        for i in open.iter().filter(|i| i.due_date <= horizon) {
            cash += dec(&i.outstanding)?;
        }
        if cash <= Decimal::ZERO {
            return Ok(());
        }
        // One payment for many invoices: the component allocates it, oldest first.
        let ctx = self.ctx("pay-weekly");
        let req = RecordPaymentRequest {
            account_id: account,
            amount: gbp(&cash.to_string()),
            received_on: today,
            method: "bank-transfer".into(),
            reference: "weekly payment run".into(),
            allocations: vec![],
            spread: None,
        };
        let r = ok(self.ledger.record_payment(&self.merchant, &ctx, &req), "record-payment (weekly)")?;
        self.paid(&r)
    }

    fn close_day(&mut self) -> Result<()> {
        let date = day_str(self.today);
        self.now_ms = self.now_ms.max(ms(self.today, 22));
        for i in 0..self.customers.len() {
            let account = self.customers[i].account_id.clone();
            if self.customers[i].habit == Habit::Big && self.today.weekday() == Weekday::Fri {
                self.pay_weekly(i)?;
            }
            loop {
                let ctx = self.ctx("close");
                let r = ok(self.ledger.day_close(&self.merchant, &ctx, &account, &date), "day-close")?;
                let (m, a, d) = (self.merchant.clone(), account.clone(), date.clone());
                self.maybe_retry(&r, |l| l.day_close(&m, &ctx, &a, &d))?;
                for f in &r.late_fees {
                    self.summary.fees.0 += 1;
                    self.summary.fees.1 += dec(&f.amount)?;
                }
                for f in &r.interest {
                    self.summary.interest += dec(&f.amount)?;
                }
                self.summary.reminders += r.reminders.len() as u64;
                self.summary.statements += u64::from(r.statement.is_some());
                self.summary.put_on_hold += u64::from(r.put_on_hold);
                self.summary.holds_expired += u64::from(r.holds_expired);
                if let Some(outbox) = &self.outbox {
                    self.summary.documents += outbox.day_close(&mut self.ledger, &self.merchant, &r)?.len() as u64;
                }
                if r.complete {
                    break;
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, last: NaiveDate) -> Result<()> {
        let as_of = day_str(last);
        let mut after = None;
        loop {
            let req = AgingRequest {
                as_of: as_of.clone(),
                basis: AgingBasis::DueDate,
                edges: vec![],
                currency: None,
                company_id: None,
                after: after.clone(),
                limit: 100,
            };
            let page = ok(self.ledger.aging(&self.merchant, &req), "aging")?;
            if self.summary.aging.is_empty() {
                self.summary.aging = page.bucket_labels.iter().map(|l| (l.clone(), Decimal::ZERO)).collect();
            }
            for t in &page.totals {
                for (slot, b) in self.summary.aging.iter_mut().zip(&t.buckets) {
                    slot.1 += dec(b)?;
                }
                self.summary.outstanding += dec(&t.total)?;
                self.summary.stored_balance += dec(&t.unapplied_credit)?;
            }
            match page.next_after {
                Some(a) => after = Some(a),
                None => break,
            }
        }
        let end_ms = ms(last, 23);
        for i in 0..self.customers.len() {
            let id = self.customers[i].account_id.clone();
            let a = ok(self.ledger.get_account(&self.merchant, &id, end_ms), "get-account")?;
            self.summary.on_hold_at_end += u32::from(a.status == AccountStatus::OnHold || a.held_for_overdue);
        }
        Ok(())
    }
}

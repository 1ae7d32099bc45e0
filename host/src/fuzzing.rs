//! The fuzz target's logic (feature `fuzzing`), shared by `host/fuzz` and
//! the regression tests that replay the inputs it found.
//!
//! Arbitrary sequences of calls are made two ways: through the host into the
//! real component (which must never trap, and whose store must always pass
//! the audit), and to the same engine compiled natively (which gives the
//! fuzzer coverage of the engine's branches, and must agree on every
//! success or refusal).
#![allow(missing_docs)]

use std::sync::OnceLock;

use crate::api::*;
use crate::serve::{Call, Reply, execute};
use crate::{Component, Ledger, audit};
use arbitrary::Arbitrary;
use credit_guest::engine::Engine;
use credit_guest::kv::MemKv;
use credit_guest::model as m;

const T0: i64 = 1_772_409_600_000;

/// Mostly sensible values, sometimes anything at all.
#[derive(Arbitrary, Debug)]
enum Text {
    Known(u8),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Amount {
    Cents(u32),
    Big(u64),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Day {
    Offset(u16),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Op {
    Open {
        account: Text,
        currency: Text,
        limit: Amount,
        tolerance: Option<Amount>,
        percent: bool,
        net_days: u16,
        discount: Option<(Amount, u16)>,
        late_fee: Option<Amount>,
        grace: u16,
        small: Amount,
    },
    Authorize {
        account: Text,
        order: Text,
        amount: Amount,
        currency: Text,
        ttl: Option<u32>,
    },
    Capture {
        hold: Text,
        amount: Amount,
        lines: Vec<(Text, Amount, Amount, Amount)>,
        delivery: Option<Day>,
    },
    Void {
        hold: Text,
    },
    ApplyBalance {
        account: Text,
        order: Text,
        amount: Amount,
    },
    Return {
        account: Text,
        order: Text,
        amount: Amount,
        to_stored: bool,
        reason: Text,
    },
    Pay {
        account: Text,
        amount: Amount,
        received: Day,
        allocations: Vec<(Text, Amount)>,
    },
    Reverse {
        payment: Text,
    },
    Allocate {
        account: Text,
        amount: Option<Amount>,
    },
    DayClose {
        account: Text,
        date: Day,
    },
    Limit {
        account: Text,
        amount: Amount,
    },
    Status {
        account: Text,
        status: u8,
    },
    Advance {
        minutes: u32,
    },
}

fn text(t: &Text, prefix: &str) -> String {
    match t {
        Text::Known(n) => format!("{prefix}{}", n % 4),
        Text::Raw(s) => s.clone(),
    }
}

fn currency(t: &Text) -> String {
    match t {
        Text::Known(n) => ["GBP", "JPY", "KWD", "EUR"][usize::from(*n % 4)].to_owned(),
        Text::Raw(s) => s.clone(),
    }
}

fn amount(a: &Amount) -> String {
    match a {
        Amount::Cents(c) => format!("{}.{:02}", c / 100, c % 100),
        Amount::Big(b) => b.to_string(),
        Amount::Raw(s) => s.clone(),
    }
}

fn day(d: &Day, now_ms: i64) -> String {
    match d {
        Day::Offset(o) => chrono_day(now_ms - i64::from(*o % 400) * 86_400_000 + 86_400_000),
        Day::Raw(s) => s.clone(),
    }
}

fn chrono_day(ms: i64) -> String {
    credit_guest::dates::format(credit_guest::dates::day_of(ms))
}

fn policy(late_fee: Option<String>, grace: u16, small: String) -> BillingPolicy {
    BillingPolicy {
        grace_days: u32::from(grace % 400),
        late_fee,
        interest: Some(InterestRule { annual_rate_percent: "8".into(), day_count: DayCount::Actual365Fixed }),
        reminders: vec![ReminderStep { offset_days: 0, level: 1 }, ReminderStep { offset_days: 7, level: 2 }],
        hold_after_days_overdue: Some(30),
        small_difference_max: small,
        small_difference_treatment: SmallDifferenceTreatment::CarryOnBalance,
        statement_day: None,
        open_ended_holds: None,
    }
}

/// The same call, as the native engine takes it.
fn native(engine: &mut Engine<MemKv>, call: &Call) -> Option<bool> {
    let ctx = |c: &CallContext| m::Ctx { idempotency_key: c.idempotency_key.clone(), now_ms: c.now_ms };
    let money = |x: &Money| m::MoneyInput { amount: x.amount.clone(), currency: x.currency.clone() };
    Some(match call {
        Call::OpenAccount { ctx: c, req, .. } => engine
            .open_account(
                &ctx(c),
                &m::OpenAccount {
                    account_id: req.account_id.clone(),
                    customer_id: req.customer_id.clone(),
                    currency: req.currency.clone(),
                    credit_limit: req.credit_limit.clone(),
                    tolerance: match &req.tolerance {
                        Tolerance::None => m::ToleranceInput::None,
                        Tolerance::Amount(a) => m::ToleranceInput::Amount(a.clone()),
                        Tolerance::Percent(p) => m::ToleranceInput::Percent(p.clone()),
                    },
                    terms: m::TermsInput {
                        net_days: req.terms.net_days,
                        basis: m::TermBasis::InvoiceDate,
                        discount: req.terms.discount.as_ref().map(|d| m::DiscountInput {
                            percent: d.percent.clone(),
                            days: d.days,
                            amount: d.amount.clone(),
                            basis: None,
                        }),
                        instalments: vec![],
                        months: None,
                        day_of_month: None,
                        cut_off_day: None,
                    },
                    policy: m::PolicyInput {
                        grace_days: req.policy.grace_days,
                        late_fee: req.policy.late_fee.clone(),
                        interest: Some(m::InterestInput { annual_rate_percent: "8".into(), day_count: m::DayCount::Actual365Fixed }),
                        reminders: vec![m::ReminderStep { offset_days: 0, level: 1 }, m::ReminderStep { offset_days: 7, level: 2 }],
                        hold_after_days_overdue: Some(30),
                        small_difference_max: req.policy.small_difference_max.clone(),
                        small_difference_treatment: m::SmallDifferenceTreatment::CarryOnBalance,
                        statement_day: None,
                        open_ended_holds: None,
                    },
                    opened_by: req.opened_by.clone(),
                    company_id: None,
                },
            )
            .is_ok(),
        Call::Authorize { ctx: c, req, .. } => engine
            .authorize(
                &ctx(c),
                &m::Authorize {
                    account_id: req.account_id.clone(),
                    order_id: req.order_id.clone(),
                    amount: money(&req.amount),
                    hold_ttl_s: req.hold_ttl_s,
                    open_ended: None,
                },
            )
            .is_ok(),
        Call::Capture { ctx: c, req, .. } => engine
            .capture(
                &ctx(c),
                &m::Capture {
                    hold_id: req.hold_id.clone(),
                    amount: money(&req.amount),
                    lines: req
                        .lines
                        .iter()
                        .map(|l| m::LineInput {
                            description: l.description.clone(),
                            quantity: l.quantity.clone(),
                            unit_price: l.unit_price.clone(),
                            tax: l.tax.clone(),
                            tax_rate: l.tax_rate.clone(),
                        })
                        .collect(),
                    delivery_date: req.delivery_date.clone(),
                    terms: None,
                    delivery: None,
                    rest: None,
                },
            )
            .is_ok(),
        Call::VoidHold { ctx: c, hold_id, .. } => engine.void_hold(&ctx(c), hold_id).is_ok(),
        Call::ApplyBalance { ctx: c, req, .. } => engine
            .apply_balance(
                &ctx(c),
                &m::ApplyBalance { account_id: req.account_id.clone(), order_id: req.order_id.clone(), amount: money(&req.amount), mode: None },
            )
            .is_ok(),
        Call::RecordReturn { ctx: c, req, .. } => engine
            .record_return(
                &ctx(c),
                &m::RecordReturn {
                    account_id: req.account_id.clone(),
                    order_id: req.order_id.clone(),
                    amount: money(&req.amount),
                    credit_to: match req.credit_to {
                        CreditTarget::OwedFirst => m::CreditTarget::OwedFirst,
                        CreditTarget::StoredBalance => m::CreditTarget::StoredBalance,
                    },
                    reason: req.reason.clone(),
                },
            )
            .is_ok(),
        Call::RecordPayment { ctx: c, req, .. } => engine
            .record_payment(
                &ctx(c),
                &m::RecordPayment {
                    account_id: req.account_id.clone(),
                    amount: money(&req.amount),
                    received_on: req.received_on.clone(),
                    method: req.method.clone(),
                    reference: req.reference.clone(),
                    allocations: req
                        .allocations
                        .iter()
                        .map(|a| m::AllocationInput { invoice_id: a.invoice_id.clone(), amount: a.amount.clone() })
                        .collect(),
                    spread: None,
                },
            )
            .is_ok(),
        Call::ReversePayment { ctx: c, payment_id, reason, .. } => engine.reverse_payment(&ctx(c), payment_id, reason).is_ok(),
        Call::AllocateBalance { ctx: c, req, .. } => engine
            .allocate_balance(
                &ctx(c),
                &m::AllocateBalance { account_id: req.account_id.clone(), amount: req.amount.as_ref().map(money), allocations: vec![] },
            )
            .is_ok(),
        Call::DayClose { ctx: c, account_id, date, .. } => engine.day_close(&ctx(c), account_id, date).is_ok(),
        Call::ChangeCreditLimit { ctx: c, req, .. } => engine
            .change_credit_limit(
                &ctx(c),
                &m::ChangeCreditLimit {
                    account_id: req.account_id.clone(),
                    new_limit: money(&req.new_limit),
                    changed_by: req.changed_by.clone(),
                    reason: req.reason.clone(),
                },
            )
            .is_ok(),
        Call::SetStatus { ctx: c, req, .. } => engine
            .set_status(
                &ctx(c),
                &m::SetStatus {
                    account_id: req.account_id.clone(),
                    status: match req.status {
                        AccountStatus::Active => m::Status::Active,
                        AccountStatus::OnHold => m::Status::OnHold,
                        AccountStatus::Closed => m::Status::Closed,
                    },
                    changed_by: req.changed_by.clone(),
                    reason: req.reason.clone(),
                },
            )
            .is_ok(),
        _ => return None,
    })
}

fn component() -> &'static Component {
    static C: OnceLock<Component> = OnceLock::new();
    C.get_or_init(|| Component::embedded().expect("the component compiles"))
}

/// Runs one input; panics on a trap, a disagreement or a failed audit.
pub fn run(data: &[u8]) {
    run_with(component(), data);
}

/// `run` on a component the caller compiled.
pub fn run_with(component: &Component, data: &[u8]) {
    let Ok(ops) = Vec::<Op>::arbitrary(&mut arbitrary::Unstructured::new(data)) else { return };
    let mut ledger = Ledger::open_in_memory(component);
    // A failed native call may leave partial writes: like the host, keep a
    // copy and roll back to it.
    let mut engine = Engine::new(MemKv::default());
    let merchant = "fuzz".to_owned();
    let mut now_ms = T0;
    for (i, op) in ops.iter().take(64).enumerate() {
        let ctx = CallContext { idempotency_key: format!("k{i}"), now_ms };
        let call = match op {
            Op::Advance { minutes } => {
                now_ms += i64::from(*minutes % (60 * 24 * 90)) * 60_000;
                continue;
            }
            Op::Open { account, currency: cur, limit, tolerance, percent, net_days, discount, late_fee, grace, small } => Call::OpenAccount {
                merchant: merchant.clone(),
                ctx,
                req: OpenAccountRequest {
                    account_id: text(account, "a"),
                    customer_id: format!("c-{}", text(account, "a")),
                    currency: currency(cur),
                    credit_limit: amount(limit),
                    tolerance: match (tolerance, percent) {
                        (None, _) => Tolerance::None,
                        (Some(a), false) => Tolerance::Amount(amount(a)),
                        (Some(a), true) => Tolerance::Percent(amount(a)),
                    },
                    terms: PaymentTerms {
                        net_days: u32::from(*net_days % 400),
                        basis: TermBasis::InvoiceDate,
                        discount: discount.as_ref().map(|(p, d)| EarlyPaymentDiscount { percent: Some(amount(p)), days: u32::from(*d % 400), amount: None, basis: None }),
                        instalments: vec![],
                        months: None,
                        day_of_month: None,
                        cut_off_day: None,
                    },
                    policy: policy(late_fee.as_ref().map(amount), *grace, amount(small)),
                    opened_by: "fuzz".into(),
                    company_id: None,
                },
            },
            Op::Authorize { account, order, amount: a, currency: cur, ttl } => Call::Authorize {
                merchant: merchant.clone(),
                ctx,
                req: AuthorizeRequest {
                    account_id: text(account, "a"),
                    order_id: text(order, "o"),
                    amount: Money { amount: amount(a), currency: currency(cur) },
                    hold_ttl_s: *ttl,
                    open_ended: None,
                },
            },
            Op::Capture { hold, amount: a, lines, delivery } => Call::Capture {
                merchant: merchant.clone(),
                req: CaptureRequest {
                    hold_id: text(hold, "H"),
                    amount: Money { amount: amount(a), currency: "GBP".into() },
                    lines: lines
                        .iter()
                        .take(8)
                        .map(|(d, q, p, t)| InvoiceLine { description: text(d, "item"), quantity: amount(q), unit_price: amount(p), tax: amount(t), tax_rate: None })
                        .collect(),
                    delivery_date: delivery.as_ref().map(|d| day(d, now_ms)),
                    terms: None,
                    delivery: None,
                    rest: None,
                },
                ctx,
            },
            Op::Void { hold } => Call::VoidHold { merchant: merchant.clone(), ctx, hold_id: text(hold, "H") },
            Op::ApplyBalance { account, order, amount: a } => Call::ApplyBalance {
                merchant: merchant.clone(),
                ctx,
                req: ApplyBalanceRequest {
                    account_id: text(account, "a"),
                    order_id: text(order, "o"),
                    amount: Money { amount: amount(a), currency: "GBP".into() },
                    mode: None,
                },
            },
            Op::Return { account, order, amount: a, to_stored, reason } => Call::RecordReturn {
                merchant: merchant.clone(),
                ctx,
                req: RecordReturnRequest {
                    account_id: text(account, "a"),
                    order_id: text(order, "o"),
                    amount: Money { amount: amount(a), currency: "GBP".into() },
                    credit_to: if *to_stored { CreditTarget::StoredBalance } else { CreditTarget::OwedFirst },
                    reason: text(reason, "r"),
                },
            },
            Op::Pay { account, amount: a, received, allocations } => Call::RecordPayment {
                merchant: merchant.clone(),
                req: RecordPaymentRequest {
                    account_id: text(account, "a"),
                    amount: Money { amount: amount(a), currency: "GBP".into() },
                    received_on: day(received, now_ms),
                    method: "card".into(),
                    reference: "fuzz".into(),
                    allocations: allocations
                        .iter()
                        .take(8)
                        .map(|(inv, x)| AllocationRequest { invoice_id: text(inv, "INV"), amount: amount(x) })
                        .collect(),
                    spread: None,
                },
                ctx,
            },
            Op::Reverse { payment } => {
                Call::ReversePayment { merchant: merchant.clone(), ctx, payment_id: text(payment, "P"), reason: "fuzz".into() }
            }
            Op::Allocate { account, amount: a } => Call::AllocateBalance {
                merchant: merchant.clone(),
                ctx,
                req: AllocateBalanceRequest {
                    account_id: text(account, "a"),
                    amount: a.as_ref().map(|x| Money { amount: amount(x), currency: "GBP".into() }),
                    allocations: vec![],
                },
            },
            Op::DayClose { account, date } => {
                Call::DayClose { merchant: merchant.clone(), account_id: text(account, "a"), date: day(date, now_ms), ctx }
            }
            Op::Limit { account, amount: a } => Call::ChangeCreditLimit {
                merchant: merchant.clone(),
                ctx,
                req: ChangeCreditLimitRequest {
                    account_id: text(account, "a"),
                    new_limit: Money { amount: amount(a), currency: "GBP".into() },
                    changed_by: "fuzz".into(),
                    reason: "fuzz".into(),
                },
            },
            Op::Status { account, status } => Call::SetStatus {
                merchant: merchant.clone(),
                ctx,
                req: SetStatusRequest {
                    account_id: text(account, "a"),
                    status: [AccountStatus::Active, AccountStatus::OnHold, AccountStatus::Closed][usize::from(status % 3)],
                    changed_by: "fuzz".into(),
                    reason: "fuzz".into(),
                },
            },
        };
        let reply = execute(&mut ledger, &call);
        if let Reply::HostError(e) = &reply {
            panic!("the component trapped on {call:?}: {e}");
        }
        let saved = engine.kv().clone();
        let native_ok = native(&mut engine, &call);
        if native_ok == Some(false) {
            engine = Engine::new(saved);
        }
        if let Some(ok) = native_ok {
            assert_eq!(ok, matches!(reply, Reply::Ok(_)), "native and component disagree on {call:?}: {reply:?}");
        }
    }
    let report = audit::audit(ledger.backend()).expect("audit runs");
    assert!(report.is_clean(), "{:#?}", report.discrepancies);
}

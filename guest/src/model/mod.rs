//! The engine's data: requests as callers send them, records as stored, and
//! views as answered. Requests and views mirror the WIT records field for
//! field; stored records are the engine's own and documented in the README
//! ("Storage layout").

#[allow(unused_imports)]
use crate::prelude::*;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

mod bank;
mod migration;
pub use bank::*;
pub use migration::*;

// ---------------------------------------------------------------- requests

/// What every mutating call carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ctx {
    pub idempotency_key: String,
    pub now_ms: i64,
}

/// An amount as sent: decimal text and a currency code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoneyInput {
    pub amount: String,
    pub currency: String,
}

/// A tolerance as sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToleranceInput {
    None,
    Amount(String),
    Percent(String),
}

/// How payment terms give the due date (`types.term-basis`). New cases
/// go at the end: stored terms keep their numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TermBasis {
    InvoiceDate,
    DeliveryDate,
    EndOfMonth,
    EndOfMonthAfterDays,
    DayOfMonth,
    MonthsAfterInvoice,
    MonthsAfterEndOfMonth,
}

impl TermBasis {
    /// The bases that give the due date by a calendar rule instead of
    /// counting `net-days` from a day.
    pub fn is_calendar(self) -> bool {
        !matches!(self, TermBasis::InvoiceDate | TermBasis::DeliveryDate | TermBasis::EndOfMonth)
    }
}

/// An early-payment discount as sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountInput {
    pub percent: Option<String>,
    pub days: u32,
    pub amount: Option<String>,
    pub basis: Option<DiscountBasis>,
}

/// What an early-payment discount is measured on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiscountBasis {
    /// The total including tax; the tax part is posted back to tax.
    #[default]
    Gross,
    /// The net total; tax is not reduced.
    Net,
}

/// An instalment as sent: a percent line, a fixed line, or (neither) the
/// balance line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalmentInput {
    pub percent: Option<String>,
    pub days: u32,
    pub amount: Option<String>,
}

/// Payment terms as sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermsInput {
    pub net_days: u32,
    pub basis: TermBasis,
    pub discount: Option<DiscountInput>,
    pub instalments: Vec<InstalmentInput>,
    pub months: Option<u8>,
    pub day_of_month: Option<u8>,
    pub cut_off_day: Option<u8>,
}

/// How interest days are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DayCount {
    Actual365Fixed,
    Actual360,
}

impl DayCount {
    /// Days in the interest year.
    pub fn year_days(self) -> u32 {
        match self {
            DayCount::Actual365Fixed => 365,
            DayCount::Actual360 => 360,
        }
    }
}

/// An interest rule as sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterestInput {
    pub annual_rate_percent: String,
    pub day_count: DayCount,
}

/// A reminder step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderStep {
    pub offset_days: i32,
    pub level: u8,
}

/// What happens to a small shortfall.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SmallDifferenceTreatment {
    WriteOff,
    CarryOnBalance,
}

/// A billing policy as sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyInput {
    pub grace_days: u32,
    pub late_fee: Option<String>,
    pub interest: Option<InterestInput>,
    pub reminders: Vec<ReminderStep>,
    pub hold_after_days_overdue: Option<u32>,
    pub small_difference_max: String,
    pub small_difference_treatment: SmallDifferenceTreatment,
    pub statement_day: Option<u8>,
    pub open_ended_holds: Option<bool>,
}

/// `accounts.open-account`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenAccount {
    pub account_id: String,
    pub customer_id: String,
    pub currency: String,
    pub credit_limit: String,
    pub tolerance: ToleranceInput,
    pub terms: TermsInput,
    pub policy: PolicyInput,
    pub opened_by: String,
    pub company_id: Option<String>,
}

/// `accounts.open-company`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenCompany {
    pub company_id: String,
    pub currency: String,
    pub credit_limit: String,
    pub tolerance: ToleranceInput,
    pub opened_by: String,
}

/// `company/<id>`: a credit line shared by buyer accounts. Its figures are
/// the sums of its buyers', kept by every entry a buyer's ledger gets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Company {
    pub id: String,
    pub currency: String,
    #[serde(with = "crate::codec::dec")]
    pub credit_limit: Decimal,
    pub tolerance: ToleranceRule,
    #[serde(with = "crate::codec::dec")]
    pub posted_debt: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub stored_balance: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub held: Decimal,
    pub buyers: Vec<String>,
    /// How many buyers are on hold for overdue invoices.
    pub buyers_held_for_overdue: u32,
    pub opened_at_ms: i64,
}

/// `types.company-summary`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanySummary {
    pub company_id: String,
    pub currency: String,
    pub tolerance_rule: ToleranceView,
    pub figures: Figures,
    pub buyers_held_for_overdue: u32,
    pub buyers: Vec<String>,
    pub opened_at_ms: i64,
}

/// `accounts.set-billing-policy`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetBillingPolicy {
    pub account_id: String,
    pub terms: TermsInput,
    pub policy: PolicyInput,
    pub changed_by: String,
    pub reason: String,
}

/// `types.dynamic-discount` as sent and answered (percent text).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynamicDiscountInput {
    pub annual_rate: String,
    pub floor: String,
    pub cap: String,
}

/// `accounts.set-dynamic-discount`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetDynamicDiscount {
    pub account_id: String,
    pub invoice_id: Option<String>,
    pub offer: Option<DynamicDiscountInput>,
    pub changed_by: String,
    pub reason: String,
}

/// `accounts.dynamic-discount-setting`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynamicDiscountSetting {
    pub account_id: String,
    pub invoice_id: Option<String>,
    pub offer: Option<DynamicDiscountInput>,
    pub applies: Option<DynamicDiscountInput>,
}

/// `accounts.change-credit-limit`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeCreditLimit {
    pub account_id: String,
    pub new_limit: MoneyInput,
    pub changed_by: String,
    pub reason: String,
}

/// An account's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Active,
    OnHold,
    Closed,
}

/// `accounts.set-status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetStatus {
    pub account_id: String,
    pub status: Status,
    pub changed_by: String,
    pub reason: String,
}

/// Money to put against one item, as sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationInput {
    pub invoice_id: String,
    pub amount: String,
}

/// `billing.record-payment`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordPayment {
    pub account_id: String,
    pub amount: MoneyInput,
    pub received_on: String,
    pub method: String,
    pub reference: String,
    pub allocations: Vec<AllocationInput>,
    pub spread: Option<Spread>,
}

/// `billing.allocate-balance`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocateBalance {
    pub account_id: String,
    pub amount: Option<MoneyInput>,
    pub allocations: Vec<AllocationInput>,
}

/// An invoice line as sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineInput {
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub tax: String,
    pub tax_rate: Option<String>,
}

/// `checkout.authorize`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorize {
    pub account_id: String,
    pub order_id: String,
    pub amount: MoneyInput,
    pub hold_ttl_s: Option<u32>,
    pub open_ended: Option<bool>,
}

/// `checkout.capture`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    pub hold_id: String,
    pub amount: MoneyInput,
    pub lines: Vec<LineInput>,
    pub delivery_date: Option<String>,
    pub terms: Option<TermsInput>,
    pub delivery: Option<DeliveryInput>,
    pub rest: Option<CaptureRest>,
}

/// `billing.cancel-credit-note`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelCreditNote {
    pub credit_note_id: String,
    pub reason: String,
}

/// `billing.credit-note-cancellation`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditNoteCancellation {
    pub credit_note_id: String,
    pub order_id: String,
    pub amount: String,
    pub account: AccountSummary,
}

/// `cnote/<id>`: a credit note issued by `record-return`, kept so that it
/// can be cancelled while unused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditNoteRecord {
    pub account_id: String,
    pub order_id: String,
    #[serde(with = "crate::codec::dec")]
    pub amount: Decimal,
    /// What of it settled invoices.
    #[serde(with = "crate::codec::dec")]
    pub to_debt: Decimal,
    /// What of it went to the stored balance.
    #[serde(with = "crate::codec::dec")]
    pub to_stored: Decimal,
    pub cancelled: bool,
}

/// `billing.write-off`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteOff {
    pub invoice_id: String,
    pub reason: String,
}

/// `billing.write-off-receipt`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteOffReceipt {
    pub invoice_id: String,
    pub amount: String,
    pub account: AccountSummary,
    /// The call lifted a hold that day-close put on for overdue invoices.
    /// Not part of the record's bytes: an answer that lifted one is kept
    /// as `Response::Released` (see there), so stored records of layout 1
    /// read as they always did.
    #[serde(skip)]
    pub released_from_hold: bool,
}

/// `billing.refund-balance`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundBalance {
    pub account_id: String,
    pub amount: MoneyInput,
    pub method: String,
    pub reference: String,
}

/// `billing.refund-receipt`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundReceipt {
    pub refund_id: String,
    pub amount: String,
    pub method: String,
    pub reference: String,
    pub account: AccountSummary,
}

/// `checkout.capture-rest`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CaptureRest {
    Release,
    KeepOpen,
}

/// `checkout.amend-hold`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmendHold {
    pub hold_id: String,
    pub amount: MoneyInput,
}

/// How the goods of a capture travel, as sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryInput {
    pub carrier: String,
    pub tracking_reference: String,
    /// What the delivery cost the merchant.
    pub cost: String,
    /// What the customer was charged for it.
    pub charged: String,
}

/// `accounts.add-note`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddNote {
    pub account_id: String,
    pub by: String,
    pub text: String,
    pub promise: Option<PromiseInput>,
}

/// A customer's promise to pay, as sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromiseInput {
    pub pay_by: String,
    pub amount: String,
}

/// `checkout.apply-balance`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyBalance {
    pub account_id: String,
    pub order_id: String,
    pub amount: MoneyInput,
    pub mode: Option<ApplyMode>,
}

/// `checkout.apply-mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApplyMode {
    UpTo,
    AllOrNothing,
}

/// `billing.payment-spread`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Spread {
    OldestDueFirst,
    ProRata,
}

/// Where a credit note goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CreditTarget {
    OwedFirst,
    StoredBalance,
}

/// `checkout.record-return`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordReturn {
    pub account_id: String,
    pub order_id: String,
    pub amount: MoneyInput,
    pub credit_to: CreditTarget,
    pub reason: String,
}

// ------------------------------------------------------------ idempotency

/// A request as compared for idempotency: amounts by their value, not by
/// how they were written, so a retry that sends `"10.0"` where the first
/// call sent `"10.00"` is the same request.
pub trait Canonical {
    /// The request with every amount written one way.
    fn canonical(&self) -> Self;
}

fn c(text: &str) -> String {
    crate::money::canonical(text)
}

impl Canonical for MoneyInput {
    fn canonical(&self) -> Self {
        MoneyInput { amount: c(&self.amount), currency: self.currency.clone() }
    }
}

impl Canonical for TermsInput {
    fn canonical(&self) -> Self {
        TermsInput {
            net_days: self.net_days,
            basis: self.basis,
            discount: self.discount.as_ref().map(|d| DiscountInput {
                percent: d.percent.as_deref().map(c),
                amount: d.amount.as_deref().map(c),
                basis: Some(d.basis.unwrap_or_default()),
                days: d.days,
            }),
            instalments: self
                .instalments
                .iter()
                .map(|i| InstalmentInput { percent: i.percent.as_deref().map(c), amount: i.amount.as_deref().map(c), days: i.days })
                .collect(),
            ..*self
        }
    }
}

impl Canonical for PolicyInput {
    fn canonical(&self) -> Self {
        PolicyInput {
            late_fee: self.late_fee.as_deref().map(c),
            interest: self.interest.as_ref().map(|i| InterestInput { annual_rate_percent: c(&i.annual_rate_percent), day_count: i.day_count }),
            small_difference_max: c(&self.small_difference_max),
            reminders: self.reminders.clone(),
            open_ended_holds: Some(self.open_ended_holds == Some(true)),
            ..*self
        }
    }
}

impl Canonical for Vec<AllocationInput> {
    fn canonical(&self) -> Self {
        self.iter().map(|a| AllocationInput { invoice_id: a.invoice_id.clone(), amount: c(&a.amount) }).collect()
    }
}

impl Canonical for OpenAccount {
    fn canonical(&self) -> Self {
        OpenAccount {
            account_id: self.account_id.clone(),
            customer_id: self.customer_id.clone(),
            currency: self.currency.clone(),
            credit_limit: c(&self.credit_limit),
            tolerance: match &self.tolerance {
                ToleranceInput::None => ToleranceInput::None,
                ToleranceInput::Amount(a) => ToleranceInput::Amount(c(a)),
                ToleranceInput::Percent(p) => ToleranceInput::Percent(c(p)),
            },
            terms: self.terms.canonical(),
            policy: self.policy.canonical(),
            opened_by: self.opened_by.clone(),
            company_id: self.company_id.clone(),
        }
    }
}

impl Canonical for OpenCompany {
    fn canonical(&self) -> Self {
        OpenCompany {
            credit_limit: c(&self.credit_limit),
            tolerance: match &self.tolerance {
                ToleranceInput::None => ToleranceInput::None,
                ToleranceInput::Amount(a) => ToleranceInput::Amount(c(a)),
                ToleranceInput::Percent(p) => ToleranceInput::Percent(c(p)),
            },
            ..self.clone()
        }
    }
}

impl Canonical for DynamicDiscountInput {
    fn canonical(&self) -> Self {
        DynamicDiscountInput { annual_rate: c(&self.annual_rate), floor: c(&self.floor), cap: c(&self.cap) }
    }
}

impl Canonical for SetDynamicDiscount {
    fn canonical(&self) -> Self {
        SetDynamicDiscount { offer: self.offer.as_ref().map(Canonical::canonical), ..self.clone() }
    }
}

impl Canonical for SetBillingPolicy {
    fn canonical(&self) -> Self {
        SetBillingPolicy { terms: self.terms.canonical(), policy: self.policy.canonical(), ..self.clone() }
    }
}

impl Canonical for ChangeCreditLimit {
    fn canonical(&self) -> Self {
        ChangeCreditLimit { new_limit: self.new_limit.canonical(), ..self.clone() }
    }
}

impl Canonical for RecordPayment {
    fn canonical(&self) -> Self {
        // Leaving out the default is the same request as naming it.
        let spread = if self.allocations.is_empty() { Some(self.spread.unwrap_or(Spread::OldestDueFirst)) } else { self.spread };
        RecordPayment { amount: self.amount.canonical(), allocations: self.allocations.canonical(), spread, ..self.clone() }
    }
}

impl Canonical for AllocateBalance {
    fn canonical(&self) -> Self {
        AllocateBalance {
            account_id: self.account_id.clone(),
            amount: self.amount.as_ref().map(Canonical::canonical),
            allocations: self.allocations.canonical(),
        }
    }
}

impl Canonical for Capture {
    fn canonical(&self) -> Self {
        Capture {
            hold_id: self.hold_id.clone(),
            amount: self.amount.canonical(),
            lines: self
                .lines
                .iter()
                .map(|l| LineInput {
                    description: l.description.clone(),
                    quantity: c(&l.quantity),
                    unit_price: c(&l.unit_price),
                    tax: c(&l.tax),
                    tax_rate: l.tax_rate.as_deref().map(c),
                })
                .collect(),
            delivery_date: self.delivery_date.clone(),
            terms: self.terms.as_ref().map(Canonical::canonical),
            delivery: self.delivery.as_ref().map(|d| DeliveryInput {
                carrier: d.carrier.clone(),
                tracking_reference: d.tracking_reference.clone(),
                cost: c(&d.cost),
                charged: c(&d.charged),
            }),
            rest: Some(self.rest.unwrap_or(CaptureRest::Release)),
        }
    }
}

impl Canonical for RefundBalance {
    fn canonical(&self) -> Self {
        RefundBalance { amount: self.amount.canonical(), ..self.clone() }
    }
}

impl Canonical for AmendHold {
    fn canonical(&self) -> Self {
        AmendHold { hold_id: self.hold_id.clone(), amount: self.amount.canonical() }
    }
}

impl Canonical for AddNote {
    fn canonical(&self) -> Self {
        AddNote {
            promise: self.promise.as_ref().map(|p| PromiseInput { pay_by: p.pay_by.clone(), amount: c(&p.amount) }),
            ..self.clone()
        }
    }
}

impl Canonical for ApplyBalance {
    fn canonical(&self) -> Self {
        ApplyBalance { amount: self.amount.canonical(), mode: Some(self.mode.unwrap_or(ApplyMode::UpTo)), ..self.clone() }
    }
}

impl Canonical for RecordReturn {
    fn canonical(&self) -> Self {
        RecordReturn { amount: self.amount.canonical(), ..self.clone() }
    }
}

// ----------------------------------------------------------- stored records

/// A configured tolerance, validated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToleranceRule {
    None,
    Amount(#[serde(with = "crate::codec::dec")] Decimal),
    Percent(#[serde(with = "crate::codec::dec")] Decimal),
}

/// `ddisc/<account>` or `ddisc/<account>/<invoice>`: a validated dynamic
/// discount offered on an account or on one invoice (percents).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynamicOffer {
    pub account_id: String,
    pub invoice_id: Option<String>,
    #[serde(with = "crate::codec::dec")]
    pub annual_rate: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub floor: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub cap: Decimal,
}

/// A portion of an invoice's schedule (`rules::schedule` works them out).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Portion {
    pub due: String,
    #[serde(with = "crate::codec::dec")]
    pub amount: Decimal,
}

/// A validated early-payment discount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discount {
    pub off: Share,
    pub days: u32,
    pub basis: DiscountBasis,
}

/// How much of an amount a discount or an instalment line takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Share {
    /// A percent of it.
    Percent(#[serde(with = "crate::codec::dec")] Decimal),
    /// A fixed amount, at most all of it.
    Amount(#[serde(with = "crate::codec::dec")] Decimal),
    /// What the lines before it left (instalments only).
    Balance,
}

/// A validated instalment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instalment {
    pub share: Share,
    pub days: u32,
}

/// Validated payment terms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    pub net_days: u32,
    pub basis: TermBasis,
    pub discount: Option<Discount>,
    pub instalments: Vec<Instalment>,
    pub months: Option<u8>,
    pub day_of_month: Option<u8>,
    pub cut_off_day: Option<u8>,
}

/// A validated interest rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interest {
    #[serde(with = "crate::codec::dec")]
    pub annual_rate_percent: Decimal,
    pub day_count: DayCount,
}

/// A validated billing policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub grace_days: u32,
    #[serde(with = "crate::codec::dec_opt")]
    pub late_fee: Option<Decimal>,
    pub interest: Option<Interest>,
    pub reminders: Vec<ReminderStep>,
    pub hold_after_days_overdue: Option<u32>,
    #[serde(with = "crate::codec::dec")]
    pub small_difference_max: Decimal,
    pub small_difference_treatment: SmallDifferenceTreatment,
    /// The day of the month day-close produces the monthly statement on
    /// (1 ..= 31; past the month's end, its last day).
    pub statement_day: Option<u8>,
    /// Whether holds without expiry may be placed.
    pub open_ended_holds: bool,
}

/// What an open item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ItemKind {
    Invoice,
    LateFee,
    Interest,
    Adjustment,
}

/// `open/<account-id>/<effective due>/<seq>`: an open item as listed on its
/// account, in the order payments reach it (earliest unpaid portion, then
/// issue order): enough to order, age and total the account's debt without
/// reading the invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenItemRef {
    pub id: String,
    pub seq: u64,
    pub kind: ItemKind,
    #[serde(with = "crate::codec::dec")]
    pub total: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub outstanding: Decimal,
    pub schedule: Vec<Portion>,
}

/// A hold still reserving credit, as listed on its account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenHoldRef {
    pub hold_id: String,
    #[serde(with = "crate::codec::dec")]
    pub amount: Decimal,
    pub expires_at_ms: i64,
}

/// `acct/<account-id>`: an account's figures and what checkout needs, the
/// record every call reads and most write. Every cached figure equals the
/// sum of the matching delta over its entries. Its settings and counters
/// live apart (`AccountCfg`), read only by the calls that use them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub customer_id: String,
    pub currency: String,
    #[serde(with = "crate::codec::dec")]
    pub credit_limit: Decimal,
    pub tolerance: ToleranceRule,
    pub status: Status,
    pub held_for_overdue: bool,
    #[serde(with = "crate::codec::dec")]
    pub posted_debt: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub stored_balance: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub held: Decimal,
    pub entry_count: u64,
    /// How many holds are open (placed, not yet captured, voided or
    /// released); each is listed under `ohold/<account-id>/...`.
    pub open_hold_count: u32,
    /// No open hold expires before this instant (it may be earlier than the
    /// first expiry, never later); `None` when no hold is open. A call acts
    /// on expiries only once it is reached, so most calls read no list.
    pub next_expiry_ms: Option<i64>,
    #[serde(with = "crate::codec::dec")]
    pub highest_debt: Decimal,
    /// The time of the last entry: entries never go back in time, whatever
    /// clock a call brings, so a ledger in seq order is in time order.
    pub last_entry_at_ms: i64,
    /// What the items had unpaid from portions due before
    /// `overdue_close_on` (the last day-close), kept up to date by every
    /// change to the items: the debtor list's overdue figure.
    pub overdue_close_on: Option<String>,
    #[serde(with = "crate::codec::dec")]
    pub overdue_close: Decimal,
    /// Whether the account is listed in the debtor indexes (`dx/...`).
    /// Every save lists it under its figures then, so the figures read at
    /// the start of a call are the ones it is listed under (`loaded`).
    pub indexed: bool,
    /// The due date of the oldest unpaid invoice portion, as listed: the
    /// one index value that figures alone cannot tell.
    pub oldest_due: Option<String>,
    /// The last number of each of the account's document series.
    pub numbers: DocumentNumbers,
    /// The company whose credit line it buys on.
    pub company_id: Option<String>,
    /// The hash of its last ledger entry, or its chain's genesis before
    /// the first (`chain`).
    #[serde(with = "crate::codec::hash")]
    pub head_hash: [u8; 32],
    /// The figures as read, kept for the save to find the rows to move.
    #[serde(skip)]
    pub loaded: Option<Loaded>,
    /// `acfg/<account-id>`, read only by the calls that use it.
    #[serde(skip)]
    pub cfg: Option<AccountCfg>,
    #[serde(skip)]
    pub cfg_changed: bool,
    /// `prof/<account-id>`, read only by the calls that use it.
    #[serde(skip)]
    pub profile: Option<Profile>,
    #[serde(skip)]
    pub profile_changed: bool,
    /// Set when a call changed what invoices owe by due date, so the
    /// oldest unpaid due date is read again before the account is saved.
    #[serde(skip)]
    pub invoice_ladder_changed: bool,
}

/// `acfg/<account-id>`: an account's settings and counters. Checkout's
/// calls (authorize, void, apply-balance) never read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountCfg {
    pub terms: Terms,
    pub policy: Policy,
    pub opened_at_ms: i64,
    pub limit_change_count: u64,
    /// How many items (invoices, fees, interest, adjustments) are open.
    /// Each is listed on its own under `open/<account-id>/...`, and what
    /// they owe per date under `owed/<account-id>/...`, so no call reads
    /// them all.
    pub open_item_count: u64,
    pub item_count: u64,
    pub payment_count: u64,
    pub reminder_count: u64,
    /// A day-close date whose work is not finished (it needed more than one
    /// call): no later date may be closed until it is.
    pub close_pending: Option<String>,
    pub note_count: u64,
    pub delivery_count: u64,
    pub statement_count: u64,
    /// The last day a monthly statement covered.
    pub last_statement_to: Option<String>,
    /// The last entry it covered: the next one starts after it, so no
    /// entry falls between two statements (one made later on a statement
    /// day opens the next).
    pub last_statement_seq: u64,
}

/// The account's own numbering of the documents it issues, one series per
/// kind. Each id is `<PREFIX>-<account-id>-<n>` (see `Series`): numbers come
/// from the account's own record, which every call on the account writes
/// anyway, so calls on different accounts share no counter (no
/// merchant-wide row that every approval would contend for).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentNumbers {
    pub hold: u64,
    pub invoice: u64,
    pub debit_note: u64,
    pub credit_note: u64,
    pub payment: u64,
    pub refund: u64,
}

/// A series of document numbers within one account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Series {
    Hold,
    Invoice,
    DebitNote,
    CreditNote,
    Payment,
    Refund,
}

impl Series {
    /// The prefix of the series' ids.
    pub fn prefix(self) -> &'static str {
        match self {
            Series::Hold => "H",
            Series::Invoice => "INV",
            Series::DebitNote => "DN",
            Series::CreditNote => "CN",
            Series::Payment => "P",
            Series::Refund => "RF",
        }
    }
}

impl DocumentNumbers {
    /// Takes the next number of `series`.
    pub fn next(&mut self, series: Series) -> Option<u64> {
        let n = match series {
            Series::Hold => &mut self.hold,
            Series::Invoice => &mut self.invoice,
            Series::DebitNote => &mut self.debit_note,
            Series::CreditNote => &mut self.credit_note,
            Series::Payment => &mut self.payment,
            Series::Refund => &mut self.refund,
        };
        *n = n.checked_add(1)?;
        Some(*n)
    }
}

/// An account's listed figures as read at the start of a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    pub posted_debt: Decimal,
    pub stored_balance: Decimal,
    pub held: Decimal,
    pub credit_limit: Decimal,
    pub overdue_close: Decimal,
    pub status: Status,
}

/// The values an account is listed under in the debtor indexes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexState {
    #[serde(with = "crate::codec::dec")]
    pub balance: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub overdue: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub stored: Decimal,
    /// Exposure in whole percent of the limit, rounded down; 999,999 for
    /// exposure on a zero limit.
    pub utilisation_pct: u32,
    /// The due date of the oldest unpaid invoice portion.
    pub oldest_due: Option<String>,
    pub status: Status,
}

/// `prof/<account-id>`: how the customer pays, for the early warnings;
/// written only by the calls that change it (never by checkout).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Days from invoice date to settlement of the last invoices settled,
    /// oldest first (at most `SETTLEMENTS_KEPT`).
    pub days_to_pay: Vec<u32>,
    /// The last bounced payment: (day, payment id).
    pub last_bounce: Option<(String, String)>,
    /// The first day-close that found an invoice overdue.
    pub first_overdue_on: Option<String>,
    /// The latest promise to pay, and what was paid since it was made.
    pub promise: Option<Promise>,
    /// Bad debt written off on the account so far (`billing.write-off`).
    #[serde(with = "crate::codec::dec")]
    pub written_off: Decimal,
}

/// A promise to pay recorded with a note.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promise {
    pub note_seq: u64,
    pub made_on: String,
    pub pay_by: String,
    #[serde(with = "crate::codec::dec")]
    pub amount: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub paid: Decimal,
}

/// `note/<account-id>/<seq>`: a note about the customer; never changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub seq: u64,
    pub at_ms: i64,
    pub by: String,
    pub text: String,
    /// A promise to pay: (pay by, amount).
    pub promise: Option<(String, String)>,
}

/// `dlv/<account-id>/<seq>`: a delivery recorded with a capture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub seq: u64,
    pub at_ms: i64,
    pub order_id: String,
    pub hold_id: String,
    pub invoice_id: String,
    pub delivered_on: Option<String>,
    pub carrier: String,
    pub tracking_reference: String,
    #[serde(with = "crate::codec::dec")]
    pub cost: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub charged: Decimal,
}

/// A hold's state as stored. `Open` holds past their expiry are reported as
/// expired and released by the next mutating call on the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HoldState {
    Open,
    Captured,
    Voided,
    Expired,
}

/// `hold/<hold-id>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub id: String,
    pub account_id: String,
    pub order_id: String,
    /// The amount reserved when placed.
    #[serde(with = "crate::codec::dec")]
    pub amount: Decimal,
    /// What it reserves while open: `amount` less what the stored balance
    /// paid of the order (see `apply-balance`).
    #[serde(with = "crate::codec::dec")]
    pub reserved: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub captured: Decimal,
    pub state: HoldState,
    pub placed_at_ms: i64,
    pub expires_at_ms: i64,
    /// Captures (shipments) so far.
    pub captures: u32,
}

/// `order/<order-id>`: what happened to a storefront order on its account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub account_id: String,
    pub open_hold_id: Option<String>,
    pub invoices: Vec<String>,
    #[serde(with = "crate::codec::dec")]
    pub captured: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub balance_applied: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub credited: Decimal,
}

/// What an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryKind {
    AccountOpened,
    CreditLimitChanged,
    StatusChanged,
    HoldPlaced,
    HoldCaptured,
    HoldVoided,
    HoldExpired,
    BalanceApplied,
    CreditNoteIssued,
    PaymentRecorded,
    PaymentReversed,
    BalanceAllocated,
    DiscountTaken,
    SmallDifferenceWrittenOff,
    SmallDifferenceCarried,
    LateFeeCharged,
    InterestCharged,
    PolicyChanged,
    HoldAmended,
    BalanceRefunded,
    BadDebtWrittenOff,
    CreditNoteCancelled,
    InvoiceBroughtIn,
    StoredBalanceBroughtIn,
    DynamicDiscountTaken,
}

/// The books an entry posts to (see `types.book`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Book {
    Receivable,
    CustomerCredit,
    Cash,
    Sales,
    Tax,
    SalesReturns,
    DiscountsAllowed,
    SmallDifferences,
    FeeIncome,
    InterestIncome,
    StoreCreditRedeemed,
    BadDebts,
    OpeningBalances,
    DynamicDiscounts,
}

/// One side of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    pub book: Book,
    #[serde(with = "crate::codec::dec")]
    pub debit: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub credit: Decimal,
    /// The tax rate of the invoice lines it books, when they stated one.
    #[serde(with = "crate::codec::dec_opt")]
    pub tax_rate: Option<Decimal>,
}

/// Where money settling an item came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AllocationSource {
    Payment,
    CreditNote,
    StoredBalance,
    Discount,
    WriteOff,
    Carried,
    Reversal,
    BadDebt,
    DynamicDiscount,
}

/// `alloc/<item-id>/<n, 20 digits>`: one allocation recorded on an item,
/// the n-th from 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    pub entry_seq: u64,
    pub date: String,
    pub source: AllocationSource,
    pub document_id: Option<String>,
    #[serde(with = "crate::codec::dec")]
    pub amount: Decimal,
}

/// A stored invoice line; an item's lines are one record, `lines/<id>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub description: String,
    #[serde(with = "crate::codec::dec")]
    pub quantity: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub unit_price: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub net: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub tax: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub total: Decimal,
    #[serde(with = "crate::codec::dec_opt")]
    pub tax_rate: Option<Decimal>,
}

/// An invoice's lines of one tax rate, added up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxPart {
    #[serde(with = "crate::codec::dec_opt")]
    pub rate: Option<Decimal>,
    #[serde(with = "crate::codec::dec")]
    pub net: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub tax: Decimal,
}

/// `invoice/<id>`: an invoice or another item the customer owes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub id: String,
    pub account_id: String,
    pub seq: u64,
    pub kind: ItemKind,
    pub order_id: Option<String>,
    pub related_invoice_id: Option<String>,
    pub invoice_date: String,
    pub delivery_date: Option<String>,
    // The lines are stored apart (`lines/<id>`, written once): the calls
    // that change an item (payments, day-close) never read or rewrite them.
    #[serde(with = "crate::codec::dec")]
    pub net_total: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub tax_total: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub total: Decimal,
    /// The lines added up per tax rate (kept on the item so that payments,
    /// which split a discount across the rates, never read the lines).
    pub tax_parts: Vec<TaxPart>,
    pub terms: Terms,
    pub due_date: String,
    pub discount_until: Option<String>,
    #[serde(with = "crate::codec::dec")]
    pub discount_amount: Decimal,
    pub discount_taken: bool,
    pub schedule: Vec<Portion>,
    #[serde(with = "crate::codec::dec")]
    pub outstanding: Decimal,
    pub settled_on: Option<String>,
    /// How many allocations it has; each is stored on its own under
    /// `alloc/<id>/<n>`, so an item may have any number.
    pub allocation_count: u64,
    #[serde(with = "crate::codec::dec")]
    pub late_fees_charged: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub interest_accrued: Decimal,
    pub interest_accrued_to: Option<String>,
    #[serde(with = "crate::codec::dec")]
    pub interest_charged: Decimal,
    /// The due date and index of the last reminder step sent for it.
    pub reminded: Option<(String, usize)>,
    /// The interest item its interest is charged onto while that item is
    /// open: one open interest item per invoice, however often day-close
    /// charges, so daily closes never multiply items.
    pub interest_item: Option<String>,
}

/// What a payment did to one item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedAllocation {
    pub invoice_id: String,
    #[serde(with = "crate::codec::dec")]
    pub amount: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub discount: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub small_difference: Decimal,
    pub carried_to: Option<String>,
    #[serde(with = "crate::codec::dec")]
    pub outstanding_after: Decimal,
}

/// `payment/<id>`: a payment received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: String,
    pub account_id: String,
    pub received_on: String,
    pub recorded_at_ms: i64,
    #[serde(with = "crate::codec::dec")]
    pub amount: Decimal,
    pub method: String,
    pub reference: String,
    pub allocations: Vec<AppliedAllocation>,
    #[serde(with = "crate::codec::dec")]
    pub to_stored: Decimal,
    pub reversed: bool,
}

/// `notice/<account>/<seq>`: a reminder produced by day-close.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    pub seq: u64,
    pub date: String,
    pub account_id: String,
    pub customer_id: String,
    pub invoice_id: String,
    pub level: u8,
    pub offset_days: i32,
    pub due_date: String,
    pub outstanding: String,
    pub currency: String,
    pub subject: String,
    pub body: String,
}

/// `entry/<account-id>/<seq, 20 digits>`: one immutable ledger line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    pub at_ms: i64,
    pub kind: EntryKind,
    #[serde(with = "crate::codec::dec")]
    pub amount: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub debt_delta: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub stored_delta: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub held_delta: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub debt_after: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub stored_after: Decimal,
    pub hold_id: Option<String>,
    pub order_id: Option<String>,
    pub document_id: Option<String>,
    pub memo: String,
    pub idempotency_key: String,
    pub invoice_id: Option<String>,
    pub postings: Vec<Posting>,
    /// SHA-256 of the previous entry's hash and this entry's contents
    /// (`chain`). Last, so the contents are the bytes before it (it is
    /// stored as a length byte, 32, and the 32 bytes).
    #[serde(with = "crate::codec::hash")]
    pub hash: [u8; 32],
}

/// `limit/<account-id>/<seq, 20 digits>`: one credit-limit change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitChange {
    pub seq: u64,
    pub at_ms: i64,
    pub changed_by: String,
    pub reason: String,
    #[serde(with = "crate::codec::dec")]
    pub old_limit: Decimal,
    #[serde(with = "crate::codec::dec")]
    pub new_limit: Decimal,
}

/// `idem/<key>`: the first answer given for an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdemRecord {
    /// The operation and its request, encoded, as compared on a retry.
    pub request: Vec<u8>,
    pub response: Response,
}

/// Any successful answer of a mutating call, as remembered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Account(AccountSummary),
    Authorization(Authorization),
    Capture(CaptureReceipt),
    Void(VoidReceipt),
    Balance(BalanceApplication),
    CreditNote(CreditNote),
    Payment(PaymentReceipt),
    Reversal(ReversalReceipt),
    Allocation(BalanceAllocation),
    DayClose(DayCloseReport),
    Note(NoteView),
    Refund(RefundReceipt),
    WriteOff(WriteOffReceipt),
    CreditNoteCancellation(CreditNoteCancellation),
    Company(CompanySummary),
    BankLine(BankLineResult),
    Invoice(InvoiceView),
    DynamicDiscount(DynamicDiscountSetting),
    /// The answer inside, of a call that lifted a hold day-close put on
    /// for overdue invoices (`released_from_hold`, which the answer's own
    /// bytes leave out). Appended after the layout-1 variants, so the
    /// records written before it read unchanged.
    Released(alloc::boxed::Box<Response>),
}

/// `IdemRecord` by reference, for writing one without copying the answer.
/// Encodes to exactly the same bytes (same fields, same variants in the
/// same order; a test checks it).
#[derive(Serialize)]
pub struct IdemRecordRef<'a> {
    pub request: &'a [u8],
    pub response: ResponseRef<'a>,
}

/// `Response` by reference.
#[derive(Serialize)]
pub enum ResponseRef<'a> {
    Account(&'a AccountSummary),
    Authorization(&'a Authorization),
    Capture(&'a CaptureReceipt),
    Void(&'a VoidReceipt),
    Balance(&'a BalanceApplication),
    CreditNote(&'a CreditNote),
    Payment(&'a PaymentReceipt),
    Reversal(&'a ReversalReceipt),
    Allocation(&'a BalanceAllocation),
    DayClose(&'a DayCloseReport),
    Note(&'a NoteView),
    Refund(&'a RefundReceipt),
    WriteOff(&'a WriteOffReceipt),
    CreditNoteCancellation(&'a CreditNoteCancellation),
    Company(&'a CompanySummary),
    BankLine(&'a BankLineResult),
    Invoice(&'a InvoiceView),
    DynamicDiscount(&'a DynamicDiscountSetting),
    Released(alloc::boxed::Box<ResponseRef<'a>>),
}

// ------------------------------------------------------------------- views
// Amounts in views are decimal text with exactly the currency's minor units.

/// `types.tolerance` as configured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToleranceView {
    None,
    Amount(String),
    Percent(String),
}

/// `types.payment-terms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermsView {
    pub net_days: u32,
    pub basis: TermBasis,
    pub discount: Option<DiscountInput>,
    pub instalments: Vec<InstalmentInput>,
    pub months: Option<u8>,
    pub day_of_month: Option<u8>,
    pub cut_off_day: Option<u8>,
}

/// `types.billing-policy`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyView {
    pub grace_days: u32,
    pub late_fee: Option<String>,
    pub interest: Option<InterestInput>,
    pub reminders: Vec<ReminderStep>,
    pub hold_after_days_overdue: Option<u32>,
    pub small_difference_max: String,
    pub small_difference_treatment: SmallDifferenceTreatment,
    pub statement_day: Option<u8>,
    pub open_ended_holds: Option<bool>,
}

/// `types.credit-figures`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub credit_limit: String,
    pub tolerance: String,
    pub stored_balance: String,
    pub posted_debt: String,
    pub open_holds: String,
    pub exposure: String,
    pub available_credit: String,
    pub available_with_tolerance: String,
}

/// `types.account-summary`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub account_id: String,
    pub customer_id: String,
    pub currency: String,
    pub status: Status,
    pub tolerance_rule: ToleranceView,
    pub terms: TermsView,
    pub figures: Figures,
    pub balance: String,
    pub policy: PolicyView,
    pub held_for_overdue: bool,
    pub overdue: String,
    pub open_hold_count: u32,
    pub opened_at_ms: i64,
    pub entry_count: u64,
    pub company_id: Option<String>,
}

/// `types.hold`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldView {
    pub hold_id: String,
    pub account_id: String,
    pub order_id: String,
    pub amount: String,
    pub reserved: String,
    pub captured: String,
    pub capture_count: u32,
    pub state: HoldState,
    pub placed_at_ms: i64,
    pub expires_at_ms: Option<i64>,
}

/// `types.ledger-entry`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryView {
    pub seq: u64,
    pub at_ms: i64,
    pub kind: EntryKind,
    pub amount: String,
    pub debt_delta: String,
    pub stored_delta: String,
    pub held_delta: String,
    pub debt_after: String,
    pub stored_after: String,
    pub hold_id: Option<String>,
    pub order_id: Option<String>,
    pub document_id: Option<String>,
    pub memo: String,
    pub idempotency_key: String,
    pub invoice_id: Option<String>,
    pub postings: Vec<PostingView>,
}

/// `types.posting`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostingView {
    pub book: Book,
    pub debit: String,
    pub credit: String,
    pub tax_rate: Option<String>,
}

/// `types.ledger-page`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerPage {
    pub entries: Vec<EntryView>,
    pub next_after_seq: Option<u64>,
}

/// `types.credit-limit-change`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitChangeView {
    pub seq: u64,
    pub at_ms: i64,
    pub changed_by: String,
    pub reason: String,
    pub old_limit: String,
    pub new_limit: String,
}

/// `types.credit-limit-page`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitPage {
    pub changes: Vec<LimitChangeView>,
    pub next_after_seq: Option<u64>,
}

/// `checkout.decline-reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeclineReason {
    InsufficientCredit,
    AccountOnHold,
    OverdueInvoices,
    AccountClosed,
    CurrencyMismatch,
    CompanyCreditInsufficient,
    CompanyOverdueInvoices,
}

/// `checkout.authorization`. Answers are built once per call, so the
/// size difference between the cases costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Authorization {
    Approved { hold: HoldView, before: Figures, after: Figures },
    Declined { reason: DeclineReason, requested: String, shortfall: String, figures: Figures },
}

/// `checkout.capture-receipt`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureReceipt {
    pub hold: HoldView,
    pub captured: String,
    pub released: String,
    pub invoice: InvoiceView,
    pub after: Figures,
}

/// `checkout.void-receipt`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoidReceipt {
    pub hold: HoldView,
    pub released: String,
    pub after: Figures,
}

/// `checkout.balance-application`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceApplication {
    pub applied: String,
    pub remaining: String,
    pub stored_balance_after: String,
    pub hold_reduced: String,
}

/// `checkout.credit-note`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditNote {
    pub credit_note_id: String,
    pub order_id: String,
    pub amount: String,
    pub applied_to_debt: String,
    pub added_to_stored_balance: String,
    pub after: Figures,
    /// The call lifted a hold that day-close put on for overdue invoices.
    /// Not part of the record's bytes: an answer that lifted one is kept
    /// as `Response::Released` (see there), so stored records of layout 1
    /// read as they always did.
    #[serde(skip)]
    pub released_from_hold: bool,
}

/// `types.invoiced-line`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineView {
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub net: String,
    pub tax: String,
    pub total: String,
    pub tax_rate: Option<String>,
}

/// `types.tax-part`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxPartView {
    pub rate: Option<String>,
    pub net: String,
    pub tax: String,
}

/// `types.portion`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortionView {
    pub due_date: String,
    pub amount: String,
    pub paid: String,
    pub open: String,
    pub discount_available: String,
}

/// `types.allocation`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationView {
    pub seq: u64,
    pub entry_seq: u64,
    pub date: String,
    pub source: AllocationSource,
    pub document_id: Option<String>,
    pub amount: String,
}

/// `types.invoice`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceView {
    pub invoice_id: String,
    pub account_id: String,
    pub kind: ItemKind,
    pub order_id: Option<String>,
    pub related_invoice_id: Option<String>,
    pub invoice_date: String,
    pub delivery_date: Option<String>,
    pub lines: Vec<LineView>,
    pub net_total: String,
    pub tax_total: String,
    pub total: String,
    pub tax_parts: Vec<TaxPartView>,
    pub terms: TermsView,
    pub due_date: String,
    pub discount_until: Option<String>,
    pub discount_amount: String,
    pub schedule: Vec<PortionView>,
    pub outstanding: String,
    pub overdue: String,
    pub days_overdue: u32,
    pub settled_on: Option<String>,
    pub allocations: Vec<AllocationView>,
    pub allocation_count: u64,
    pub late_fees_charged: String,
    pub interest_charged: String,
}

/// `types.applied-allocation`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedView {
    pub invoice_id: String,
    pub amount: String,
    pub discount: String,
    pub small_difference: String,
    pub carried_to: Option<String>,
    pub outstanding_after: String,
}

/// `types.payment`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentView {
    pub payment_id: String,
    pub account_id: String,
    pub received_on: String,
    pub amount: String,
    pub method: String,
    pub reference: String,
    pub allocations: Vec<AppliedView>,
    pub added_to_stored_balance: String,
    pub reversed: bool,
}

/// `billing.payment-receipt`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentReceipt {
    pub payment: PaymentView,
    pub account: AccountSummary,
    /// The call lifted a hold that day-close put on for overdue invoices.
    /// Not part of the record's bytes: an answer that lifted one is kept
    /// as `Response::Released` (see there), so stored records of layout 1
    /// read as they always did.
    #[serde(skip)]
    pub released_from_hold: bool,
}

/// `billing.reversal-receipt`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReversalReceipt {
    pub payment: PaymentView,
    pub reopened: Vec<AppliedView>,
    pub taken_from_stored_balance: String,
    pub spent_balance_item: Option<String>,
    pub account: AccountSummary,
}

/// `billing.balance-allocation`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceAllocation {
    pub allocations: Vec<AppliedView>,
    pub used: String,
    pub account: AccountSummary,
    /// The call lifted a hold that day-close put on for overdue invoices.
    /// Not part of the record's bytes: an answer that lifted one is kept
    /// as `Response::Released` (see there), so stored records of layout 1
    /// read as they always did.
    #[serde(skip)]
    pub released_from_hold: bool,
}

/// `billing.charge`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    pub invoice_id: String,
    pub item_id: String,
    pub amount: String,
}

/// `billing.day-close-report`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCloseReport {
    pub account_id: String,
    pub date: String,
    pub part: u32,
    pub complete: bool,
    pub statement: Option<StatementHeader>,
    pub late_fees: Vec<Charge>,
    pub interest: Vec<Charge>,
    pub reminders: Vec<Reminder>,
    pub put_on_hold: bool,
    pub released_from_hold: bool,
    pub holds_expired: u32,
    /// Set only on the answer to a call made after the day was complete;
    /// stored false.
    pub already_closed: bool,
}

/// `close/<account-id>/<date>`: how far that day's close has got, and the
/// report of its latest part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCloseState {
    /// The open-item index position (`<due>/<seq>`) the next part starts
    /// after; `None` before the first item.
    pub after: Option<String>,
    pub report: DayCloseReport,
}

/// `types.invoice-page`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvoicePage {
    pub invoices: Vec<InvoiceView>,
    pub next_after: Option<String>,
}

/// `types.allocation-page`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllocationPage {
    pub allocations: Vec<AllocationView>,
    pub next_after_seq: Option<u64>,
}

// ----------------------------------------------------------------- reports

/// `reports.statement-header`: a monthly statement day-close kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementHeader {
    pub seq: u64,
    pub account_id: String,
    pub currency: String,
    pub period_from: String,
    pub period_to: String,
    pub opening_balance: String,
    pub closing_balance: String,
    pub amount_due: String,
}

/// `reports.statement-line`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLine {
    pub date: String,
    pub entry_seq: u64,
    pub kind: EntryKind,
    pub description: String,
    pub reference: Option<String>,
    pub debit: String,
    pub credit: String,
    pub balance: String,
}

/// `reports.statement-item`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementItem {
    pub invoice_id: String,
    pub kind: ItemKind,
    pub date: String,
    pub due_date: String,
    pub total: String,
    pub outstanding: String,
    pub overdue: String,
    pub days_overdue: u32,
    pub schedule: Vec<PortionView>,
}

/// `reports.aging-basis`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgingBasis {
    DueDate,
    DocumentDate,
}

/// `reports.account-aging`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountAging {
    pub account_id: String,
    pub customer_id: String,
    pub currency: String,
    pub buckets: Vec<String>,
    pub total: String,
    pub unapplied_credit: String,
    pub net: String,
    pub written_off: String,
}

/// `reports.buyer-balance`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyerBalance {
    pub account_id: String,
    pub opening_balance: String,
    pub closing_balance: String,
    pub amount_due: String,
    pub not_yet_due: String,
}

/// `reports.company-statement`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyStatement {
    pub company_id: String,
    pub currency: String,
    pub period_from: String,
    pub period_to: String,
    pub buyers: Vec<BuyerBalance>,
    pub opening_balance: String,
    pub closing_balance: String,
    pub amount_due: String,
    pub not_yet_due: String,
    pub bucket_labels: Vec<String>,
    pub aging: AccountAging,
    pub figures: Figures,
}

/// `reports.statement`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementView {
    pub account_id: String,
    pub customer_id: String,
    pub currency: String,
    pub period_from: String,
    pub period_to: String,
    pub opening_balance: String,
    pub lines: Vec<StatementLine>,
    pub total_debits: String,
    pub total_credits: String,
    pub closing_balance: String,
    pub next_after_seq: Option<u64>,
    pub open_items: Vec<StatementItem>,
    pub open_item_count: u64,
    pub bucket_labels: Vec<String>,
    pub aging: AccountAging,
    pub amount_due: String,
    pub not_yet_due: String,
    pub credit_limit: String,
    pub stored_balance: String,
    pub available_credit: String,
}

/// `reports.aging-request`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgingRequest {
    pub as_of: String,
    pub basis: AgingBasis,
    pub edges: Vec<u32>,
    pub currency: Option<String>,
    pub company_id: Option<String>,
    pub after: Option<String>,
    pub limit: u32,
}

/// `reports.aging-total`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgingTotal {
    pub currency: String,
    pub accounts: u32,
    pub buckets: Vec<String>,
    pub total: String,
    pub unapplied_credit: String,
    pub net: String,
    pub written_off: String,
}

/// `reports.aging-page`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgingPage {
    pub as_of: String,
    pub basis: AgingBasis,
    pub bucket_labels: Vec<String>,
    pub rows: Vec<AccountAging>,
    pub totals: Vec<AgingTotal>,
    pub next_after: Option<String>,
    pub examined: u32,
}

/// `reports.debtor-sort`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DebtorSort {
    Balance,
    Overdue,
    DaysOverdue,
    Utilisation,
    StoredBalance,
    Status,
    Currency,
}

/// `reports.debtor-query`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebtorQuery {
    pub as_of: String,
    pub currency: Option<String>,
    pub status: Option<Status>,
    pub balance_min: Option<String>,
    pub balance_max: Option<String>,
    pub overdue_min: Option<String>,
    pub days_overdue_min: Option<u32>,
    pub utilisation_min_percent: Option<String>,
    pub has_stored_balance: Option<bool>,
    pub sort: DebtorSort,
    pub after: Option<String>,
    pub limit: u32,
}

/// `reports.debtor-row`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebtorRow {
    pub account_id: String,
    pub customer_id: String,
    pub currency: String,
    pub status: Status,
    pub credit_limit: String,
    pub balance: String,
    pub posted_debt: String,
    pub stored_balance: String,
    pub exposure: String,
    /// None on a zero limit with exposure.
    pub utilisation_percent: Option<String>,
    pub overdue: String,
    pub overdue_as_of: Option<String>,
    pub oldest_due: Option<String>,
    pub days_overdue: u32,
}

/// `reports.debtor-page`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebtorPage {
    pub rows: Vec<DebtorRow>,
    pub next_after: Option<String>,
    pub examined: u32,
}

/// `reports.warning-rules`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WarningRules {
    pub window: u32,
    pub utilisation_percent: String,
    pub bounce_days: u32,
    pub first_overdue_days: u32,
}

/// `reports.warning-signal`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WarningSignal {
    PayingSlower { window: u32, recent_average_days: String, earlier_average_days: String },
    HighUtilisation { utilisation_percent: Option<String>, threshold_percent: String },
    RecentBounce { date: String, payment_id: String },
    FirstTimeOverdue { since: String, overdue: String },
    PromiseMissed { note_seq: u64, pay_by: String, amount: String, paid: String },
}

/// `reports.account-warnings`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountWarnings {
    pub account_id: String,
    pub customer_id: String,
    pub currency: String,
    pub signals: Vec<WarningSignal>,
}

/// `reports.warning-page`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WarningPage {
    pub rows: Vec<AccountWarnings>,
    pub next_after: Option<String>,
    pub examined: u32,
}

/// `types.promise`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromiseView {
    pub pay_by: String,
    pub amount: String,
}

/// `types.note`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteView {
    pub seq: u64,
    pub at_ms: i64,
    pub by: String,
    pub text: String,
    pub promise: Option<PromiseView>,
}

/// `types.note-page`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotePage {
    pub notes: Vec<NoteView>,
    pub next_after_seq: Option<u64>,
}

/// `types.delivery`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryView {
    pub seq: u64,
    pub at_ms: i64,
    pub order_id: String,
    pub hold_id: String,
    pub invoice_id: String,
    pub delivered_on: Option<String>,
    pub carrier: String,
    pub tracking_reference: String,
    pub cost: String,
    pub charged: String,
}

/// `types.delivery-page`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryPage {
    pub deliveries: Vec<DeliveryView>,
    pub next_after_seq: Option<u64>,
}

/// `queries.credit-limit-suggestion`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub account_id: String,
    pub as_of: String,
    pub current_limit: String,
    pub suggested_limit: String,
    pub settled_invoices: u32,
    pub on_time_percent: String,
    pub average_days_late: String,
    pub highest_debt: String,
    pub volume12m: String,
    pub factor: String,
    pub explanation: String,
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idempotency_record_encodes_the_same_by_reference() {
        let answer = VoidReceipt {
            hold: HoldView {
                hold_id: "H7".into(),
                account_id: "acme".into(),
                order_id: "SO-1".into(),
                amount: "12.50".into(),
                reserved: "0.00".into(),
                captured: "0.00".into(),
                capture_count: 0,
                state: HoldState::Voided,
                placed_at_ms: 1,
                expires_at_ms: Some(2),
            },
            released: "12.50".into(),
            after: Figures {
                credit_limit: "1000.00".into(),
                tolerance: "0.00".into(),
                stored_balance: "0.00".into(),
                posted_debt: "0.00".into(),
                open_holds: "0.00".into(),
                exposure: "0.00".into(),
                available_credit: "1000.00".into(),
                available_with_tolerance: "1000.00".into(),
            },
        };
        let request = vec![1u8, 2, 3, 200];
        let by_value = IdemRecord { request: request.clone(), response: Response::Void(answer.clone()) };
        let by_ref = IdemRecordRef { request: &request, response: ResponseRef::Void(&answer) };
        let bytes = crate::codec::encode(&by_ref).unwrap();
        assert_eq!(bytes, crate::codec::encode(&by_value).unwrap());
        assert_eq!(crate::codec::decode::<IdemRecord>(&bytes).unwrap(), by_value);

        // The wrapper for an answer that lifted an overdue hold: the same
        // both ways, and a variant index after every layout-1 one.
        let released = IdemRecord { request: request.clone(), response: Response::Released(alloc::boxed::Box::new(by_value.response)) };
        let released_ref =
            IdemRecordRef { request: &request, response: ResponseRef::Released(alloc::boxed::Box::new(ResponseRef::Void(&answer))) };
        let wrapped = crate::codec::encode(&released_ref).unwrap();
        assert_eq!(wrapped, crate::codec::encode(&released).unwrap());
        assert_eq!(crate::codec::decode::<IdemRecord>(&wrapped).unwrap(), released);
        // Layout byte, request (length + 4 bytes), then the variant: 18,
        // after all the answer kinds, and the answer's bytes unchanged.
        assert_eq!(wrapped[6], 18);
        assert_eq!(&wrapped[7..], &bytes[6..]);
    }
}

//! The engine's data: requests as callers send them, records as stored, and
//! views as answered. Requests and views mirror the WIT records field for
//! field; stored records are the engine's own and documented in the README
//! ("Storage layout").

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

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

/// From which day net days count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TermBasis {
    InvoiceDate,
    DeliveryDate,
    EndOfMonth,
}

/// An early-payment discount as sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountInput {
    pub percent: String,
    pub days: u32,
}

/// Payment terms as sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermsInput {
    pub net_days: u32,
    pub basis: TermBasis,
    pub discount: Option<DiscountInput>,
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
    pub opened_by: String,
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

/// `accounts.record-payment`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordPayment {
    pub account_id: String,
    pub amount: MoneyInput,
    pub method: String,
    pub reference: String,
}

/// `checkout.authorize`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorize {
    pub account_id: String,
    pub order_id: String,
    pub amount: MoneyInput,
    pub hold_ttl_s: Option<u32>,
}

/// `checkout.capture`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    pub hold_id: String,
    pub amount: MoneyInput,
}

/// `checkout.apply-balance`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyBalance {
    pub account_id: String,
    pub order_id: String,
    pub amount: MoneyInput,
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

// ----------------------------------------------------------- stored records

/// A configured tolerance, validated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToleranceRule {
    None,
    Amount(Decimal),
    Percent(Decimal),
}

/// A validated early-payment discount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discount {
    pub percent: Decimal,
    pub days: u32,
}

/// Validated payment terms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    pub net_days: u32,
    pub basis: TermBasis,
    pub discount: Option<Discount>,
}

/// A hold still reserving credit, as listed on its account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenHoldRef {
    pub hold_id: String,
    pub amount: Decimal,
    pub expires_at_ms: i64,
}

/// `acct/<account-id>`: an account with its cached figures. Every cached
/// figure equals the sum of the matching delta over its entries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub customer_id: String,
    pub currency: String,
    pub credit_limit: Decimal,
    pub tolerance: ToleranceRule,
    pub terms: Terms,
    pub status: Status,
    pub opened_at_ms: i64,
    pub posted_debt: Decimal,
    pub stored_balance: Decimal,
    pub held: Decimal,
    pub entry_count: u64,
    pub limit_change_count: u64,
    pub open_holds: Vec<OpenHoldRef>,
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
    pub amount: Decimal,
    pub captured: Decimal,
    pub state: HoldState,
    pub placed_at_ms: i64,
    pub expires_at_ms: i64,
}

/// `order/<order-id>`: what happened to a storefront order on its account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub account_id: String,
    pub open_hold_id: Option<String>,
    pub captured: Decimal,
    pub balance_applied: Decimal,
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
}

/// `entry/<account-id>/<seq, 20 digits>`: one immutable ledger line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    pub at_ms: i64,
    pub kind: EntryKind,
    pub amount: Decimal,
    pub debt_delta: Decimal,
    pub stored_delta: Decimal,
    pub held_delta: Decimal,
    pub debt_after: Decimal,
    pub stored_after: Decimal,
    pub hold_id: Option<String>,
    pub order_id: Option<String>,
    pub document_id: Option<String>,
    pub memo: String,
    pub idempotency_key: String,
}

/// `limit/<account-id>/<seq, 20 digits>`: one credit-limit change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitChange {
    pub seq: u64,
    pub at_ms: i64,
    pub changed_by: String,
    pub reason: String,
    pub old_limit: Decimal,
    pub new_limit: Decimal,
}

/// `idem/<key>`: the first answer given for an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdemRecord {
    /// The operation and its request, as compared on a retry.
    pub request: String,
    pub response: Response,
}

/// Any successful answer of a mutating call, as remembered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Account(AccountSummary),
    Payment(PaymentReceipt),
    Authorization(Authorization),
    Capture(CaptureReceipt),
    Void(VoidReceipt),
    Balance(BalanceApplication),
    CreditNote(CreditNote),
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

/// `types.early-payment-discount`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountView {
    pub percent: String,
    pub days: u32,
}

/// `types.payment-terms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermsView {
    pub net_days: u32,
    pub basis: TermBasis,
    pub discount: Option<DiscountView>,
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
    pub open_hold_count: u32,
    pub opened_at_ms: i64,
    pub entry_count: u64,
}

/// `types.hold`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldView {
    pub hold_id: String,
    pub account_id: String,
    pub order_id: String,
    pub amount: String,
    pub captured: String,
    pub state: HoldState,
    pub placed_at_ms: i64,
    pub expires_at_ms: i64,
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
    AccountClosed,
    CurrencyMismatch,
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
}

/// `accounts.payment-receipt`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentReceipt {
    pub payment_id: String,
    pub amount: String,
    pub applied_to_debt: String,
    pub added_to_stored_balance: String,
    pub account: AccountSummary,
}

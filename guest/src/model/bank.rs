//! `bank`: statement lines in, what became of them out, and what is kept
//! of them (`bank/<entry-ref>`, `bankrev/<entry-ref>`, `payer/...`).

use crate::prelude::*;

use serde::{Deserialize, Serialize};

use super::{Canonical, MoneyInput, PaymentView};

/// `bank.bank-entry-kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BankKind {
    Credit,
    Returned,
}

/// `bank.bank-line`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankLine {
    pub entry_ref: String,
    pub kind: BankKind,
    pub booked_on: String,
    pub amount: MoneyInput,
    pub payer_name: String,
    pub payer_account: String,
    pub remittance: String,
    pub original_ref: Option<String>,
}

impl Canonical for BankLine {
    fn canonical(&self) -> Self {
        BankLine { amount: self.amount.canonical(), ..self.clone() }
    }
}

/// `bank.bank-decision`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BankDecision {
    Account(String),
    Payment(String),
    Dismiss(String),
}

/// `bank.match-rule`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MatchRule {
    InvoiceNumber,
    CreditorReference,
    CustomerAndAmount,
    PayerAndAmount,
    OriginalCredit,
    Person,
}

/// `bank.review-reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReviewReason {
    UnknownPayer,
    AmbiguousAmount,
    AmountMatchesNothing,
    InvoiceSettled,
    SeveralAccounts,
    AccountRefuses,
    OriginalCreditUnknown,
}

/// `bank.bank-candidate` (the amount as decimal text in the currency's
/// minor units).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankCandidate {
    pub account_id: String,
    pub invoice_ids: Vec<String>,
    pub amount: String,
}

/// `bank.bank-review-item`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankReviewItem {
    pub line: BankLine,
    pub reason: ReviewReason,
    pub detail: String,
    pub candidates: Vec<BankCandidate>,
    pub parked_at_ms: i64,
}

/// `bank.bank-outcome`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BankOutcome {
    Recorded(PaymentView),
    Reversed(PaymentView),
    Review(BankReviewItem),
    Dismissed(String),
}

/// `bank.bank-line-result`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankLineResult {
    pub entry_ref: String,
    pub rule: Option<MatchRule>,
    pub outcome: BankOutcome,
    pub repeated: bool,
    /// The call lifted a hold that day-close put on for overdue invoices.
    /// Not part of the record's bytes: an answer that lifted one is kept
    /// as `Response::Released` (see there), so stored records of layout 1
    /// read as they always did.
    #[serde(skip)]
    pub released_from_hold: bool,
}

/// What became of a line, as kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BankState {
    /// Recorded as a payment (or, by a person, linked to one recorded
    /// before).
    Recorded { payment_id: String, rule: MatchRule },
    /// A return that reversed this payment.
    Reversed { payment_id: String, rule: MatchRule },
    /// Waiting for a person; also listed under `bankrev/<entry-ref>`.
    Review { reason: ReviewReason, detail: String, candidates: Vec<BankCandidate>, parked_at_ms: i64 },
    /// Dismissed by a person.
    Dismissed { reason: String },
}

/// `bank/<entry-ref>`: a statement line seen, canonical, and its fate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankRecord {
    pub line: BankLine,
    pub state: BankState,
}

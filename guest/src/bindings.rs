//! The component glue: WIT records in, engine call, WIT records out. No
//! logic lives here; every match is exhaustive so a new case in either the
//! WIT or the domain fails to compile until it is mapped.

wit_bindgen::generate!({
    path: "../wit",
    world: "credit-account",
});

use exports::storefront::credit::{accounts, checkout, queries};
use storefront::credit::store;
use storefront::credit::types as wit;

use crate::engine::Engine;
use crate::error::Error;
use crate::kv::Kv;
use crate::model as m;

/// The `store` import as the engine's `Kv`.
struct HostKv;

impl Kv for HostKv {
    fn get(&self, key: &str) -> Option<Vec<u8>> {
        store::get(key)
    }
    fn put(&mut self, key: &str, value: &[u8]) {
        store::put(key, value)
    }
    fn delete(&mut self, key: &str) {
        store::delete(key)
    }
    fn scan(&self, prefix: &str, start_after: Option<&str>, limit: u32) -> Vec<(String, Vec<u8>)> {
        store::scan(prefix, start_after, limit)
    }
}

fn engine() -> Engine<HostKv> {
    Engine::new(HostKv)
}

struct Component;
export!(Component);

// ------------------------------------------------------------------ in

fn ctx(c: wit::CallContext) -> m::Ctx {
    m::Ctx { idempotency_key: c.idempotency_key, now_ms: c.now_ms }
}

fn money(x: wit::Money) -> m::MoneyInput {
    m::MoneyInput { amount: x.amount, currency: x.currency }
}

fn status_in(s: wit::AccountStatus) -> m::Status {
    match s {
        wit::AccountStatus::Active => m::Status::Active,
        wit::AccountStatus::OnHold => m::Status::OnHold,
        wit::AccountStatus::Closed => m::Status::Closed,
    }
}

fn basis_in(b: wit::TermBasis) -> m::TermBasis {
    match b {
        wit::TermBasis::InvoiceDate => m::TermBasis::InvoiceDate,
        wit::TermBasis::DeliveryDate => m::TermBasis::DeliveryDate,
        wit::TermBasis::EndOfMonth => m::TermBasis::EndOfMonth,
    }
}

// ------------------------------------------------------------------ out

fn error(e: Error) -> wit::Error {
    use wit::Error as W;
    let f = |f: crate::error::Field| f.wit_name().to_owned();
    match e {
        Error::IdMustNotBeEmpty(x) => W::IdMustNotBeEmpty(f(x)),
        Error::IdTooLong(x) => W::IdTooLong(f(x)),
        Error::IdHasInvalidCharacter(x) => W::IdHasInvalidCharacter(f(x)),
        Error::TextTooLong(x) => W::TextTooLong(f(x)),
        Error::TextHasControlCharacter(x) => W::TextHasControlCharacter(f(x)),
        Error::AmountMalformed(x) => W::AmountMalformed(f(x)),
        Error::AmountMustBePositive(x) => W::AmountMustBePositive(f(x)),
        Error::AmountMustNotBeNegative(x) => W::AmountMustNotBeNegative(f(x)),
        Error::AmountTooPrecise(x) => W::AmountTooPrecise(f(x)),
        Error::AmountTooLarge(x) => W::AmountTooLarge(f(x)),
        Error::AmountOverflow => W::AmountOverflow,
        Error::CurrencyUnknown(c) => W::CurrencyUnknown(c),
        Error::CurrencyMismatch { expected, given } => W::CurrencyMismatch(wit::CurrencyMismatch { expected, given }),
        Error::TimestampOutOfRange(x) => W::TimestampOutOfRange(f(x)),
        Error::HoldTtlOutOfRange => W::HoldTtlOutOfRange,
        Error::PaymentTermsOutOfRange(x) => W::PaymentTermsOutOfRange(f(x)),
        Error::PageLimitOutOfRange => W::PageLimitOutOfRange,
        Error::IdempotencyKeyReused => W::IdempotencyKeyReused,
        Error::AccountNotFound(id) => W::AccountNotFound(id),
        Error::AccountAlreadyExists(id) => W::AccountAlreadyExists(id),
        Error::CustomerHasAccountInCurrency(id) => W::CustomerHasAccountInCurrency(id),
        Error::AccountClosed => W::AccountClosed,
        Error::AccountNotSettled => W::AccountNotSettled,
        Error::StatusUnchanged => W::StatusUnchanged,
        Error::CreditLimitUnchanged => W::CreditLimitUnchanged,
        Error::TooManyOpenHolds => W::TooManyOpenHolds,
        Error::HoldNotFound(id) => W::HoldNotFound(id),
        Error::HoldAlreadyCaptured => W::HoldAlreadyCaptured,
        Error::HoldAlreadyVoided => W::HoldAlreadyVoided,
        Error::HoldExpired => W::HoldExpired,
        Error::CaptureExceedsHold => W::CaptureExceedsHold,
        Error::OrderAlreadyAuthorized(id) => W::OrderAlreadyAuthorized(id),
        Error::OrderNotFound(id) => W::OrderNotFound(id),
        Error::OrderBelongsToAnotherAccount(id) => W::OrderBelongsToAnotherAccount(id),
        Error::ReturnExceedsOrder => W::ReturnExceedsOrder,
        Error::StoreCorrupt(msg) => W::StoreCorrupt(msg),
    }
}

fn status_out(s: m::Status) -> wit::AccountStatus {
    match s {
        m::Status::Active => wit::AccountStatus::Active,
        m::Status::OnHold => wit::AccountStatus::OnHold,
        m::Status::Closed => wit::AccountStatus::Closed,
    }
}

fn figures(x: m::Figures) -> wit::CreditFigures {
    wit::CreditFigures {
        credit_limit: x.credit_limit,
        tolerance: x.tolerance,
        stored_balance: x.stored_balance,
        posted_debt: x.posted_debt,
        open_holds: x.open_holds,
        exposure: x.exposure,
        available_credit: x.available_credit,
        available_with_tolerance: x.available_with_tolerance,
    }
}

fn summary(x: m::AccountSummary) -> wit::AccountSummary {
    wit::AccountSummary {
        account_id: x.account_id,
        customer_id: x.customer_id,
        currency: x.currency,
        status: status_out(x.status),
        tolerance_rule: match x.tolerance_rule {
            m::ToleranceView::None => wit::Tolerance::None,
            m::ToleranceView::Amount(a) => wit::Tolerance::Amount(a),
            m::ToleranceView::Percent(p) => wit::Tolerance::Percent(p),
        },
        terms: wit::PaymentTerms {
            net_days: x.terms.net_days,
            basis: match x.terms.basis {
                m::TermBasis::InvoiceDate => wit::TermBasis::InvoiceDate,
                m::TermBasis::DeliveryDate => wit::TermBasis::DeliveryDate,
                m::TermBasis::EndOfMonth => wit::TermBasis::EndOfMonth,
            },
            discount: x.terms.discount.map(|d| wit::EarlyPaymentDiscount { percent: d.percent, days: d.days }),
        },
        figures: figures(x.figures),
        balance: x.balance,
        open_hold_count: x.open_hold_count,
        opened_at_ms: x.opened_at_ms,
        entry_count: x.entry_count,
    }
}

fn hold(x: m::HoldView) -> wit::Hold {
    wit::Hold {
        hold_id: x.hold_id,
        account_id: x.account_id,
        order_id: x.order_id,
        amount: x.amount,
        captured: x.captured,
        state: match x.state {
            m::HoldState::Open => wit::HoldState::Open,
            m::HoldState::Captured => wit::HoldState::Captured,
            m::HoldState::Voided => wit::HoldState::Voided,
            m::HoldState::Expired => wit::HoldState::Expired,
        },
        placed_at_ms: x.placed_at_ms,
        expires_at_ms: x.expires_at_ms,
    }
}

fn entry_kind(k: m::EntryKind) -> wit::EntryKind {
    match k {
        m::EntryKind::AccountOpened => wit::EntryKind::AccountOpened,
        m::EntryKind::CreditLimitChanged => wit::EntryKind::CreditLimitChanged,
        m::EntryKind::StatusChanged => wit::EntryKind::StatusChanged,
        m::EntryKind::HoldPlaced => wit::EntryKind::HoldPlaced,
        m::EntryKind::HoldCaptured => wit::EntryKind::HoldCaptured,
        m::EntryKind::HoldVoided => wit::EntryKind::HoldVoided,
        m::EntryKind::HoldExpired => wit::EntryKind::HoldExpired,
        m::EntryKind::BalanceApplied => wit::EntryKind::BalanceApplied,
        m::EntryKind::CreditNoteIssued => wit::EntryKind::CreditNoteIssued,
        m::EntryKind::PaymentRecorded => wit::EntryKind::PaymentRecorded,
    }
}

fn decline_reason(r: m::DeclineReason) -> checkout::DeclineReason {
    match r {
        m::DeclineReason::InsufficientCredit => checkout::DeclineReason::InsufficientCredit,
        m::DeclineReason::AccountOnHold => checkout::DeclineReason::AccountOnHold,
        m::DeclineReason::AccountClosed => checkout::DeclineReason::AccountClosed,
        m::DeclineReason::CurrencyMismatch => checkout::DeclineReason::CurrencyMismatch,
    }
}

// -------------------------------------------------------------- exports

impl accounts::Guest for Component {
    fn open_account(c: wit::CallContext, req: accounts::OpenAccountRequest) -> Result<wit::AccountSummary, wit::Error> {
        let req = m::OpenAccount {
            account_id: req.account_id,
            customer_id: req.customer_id,
            currency: req.currency,
            credit_limit: req.credit_limit,
            tolerance: match req.tolerance {
                wit::Tolerance::None => m::ToleranceInput::None,
                wit::Tolerance::Amount(a) => m::ToleranceInput::Amount(a),
                wit::Tolerance::Percent(p) => m::ToleranceInput::Percent(p),
            },
            terms: m::TermsInput {
                net_days: req.terms.net_days,
                basis: basis_in(req.terms.basis),
                discount: req.terms.discount.map(|d| m::DiscountInput { percent: d.percent, days: d.days }),
            },
            opened_by: req.opened_by,
        };
        engine().open_account(&ctx(c), &req).map(summary).map_err(error)
    }

    fn change_credit_limit(
        c: wit::CallContext,
        req: accounts::ChangeCreditLimitRequest,
    ) -> Result<wit::AccountSummary, wit::Error> {
        let req = m::ChangeCreditLimit {
            account_id: req.account_id,
            new_limit: money(req.new_limit),
            changed_by: req.changed_by,
            reason: req.reason,
        };
        engine().change_credit_limit(&ctx(c), &req).map(summary).map_err(error)
    }

    fn set_status(c: wit::CallContext, req: accounts::SetStatusRequest) -> Result<wit::AccountSummary, wit::Error> {
        let req = m::SetStatus {
            account_id: req.account_id,
            status: status_in(req.status),
            changed_by: req.changed_by,
            reason: req.reason,
        };
        engine().set_status(&ctx(c), &req).map(summary).map_err(error)
    }

    fn record_payment(
        c: wit::CallContext,
        req: accounts::RecordPaymentRequest,
    ) -> Result<accounts::PaymentReceipt, wit::Error> {
        let req = m::RecordPayment {
            account_id: req.account_id,
            amount: money(req.amount),
            method: req.method,
            reference: req.reference,
        };
        engine()
            .record_payment(&ctx(c), &req)
            .map(|r| accounts::PaymentReceipt {
                payment_id: r.payment_id,
                amount: r.amount,
                applied_to_debt: r.applied_to_debt,
                added_to_stored_balance: r.added_to_stored_balance,
                account: summary(r.account),
            })
            .map_err(error)
    }
}

impl checkout::Guest for Component {
    fn authorize(c: wit::CallContext, req: checkout::AuthorizeRequest) -> Result<checkout::Authorization, wit::Error> {
        let req = m::Authorize {
            account_id: req.account_id,
            order_id: req.order_id,
            amount: money(req.amount),
            hold_ttl_s: req.hold_ttl_s,
        };
        engine()
            .authorize(&ctx(c), &req)
            .map(|a| match a {
                m::Authorization::Approved { hold: h, before, after } => checkout::Authorization::Approved(checkout::Approval {
                    hold: hold(h),
                    before: figures(before),
                    after: figures(after),
                }),
                m::Authorization::Declined { reason, requested, shortfall, figures: f } => {
                    checkout::Authorization::Declined(checkout::Decline {
                        reason: decline_reason(reason),
                        requested,
                        shortfall,
                        figures: figures(f),
                    })
                }
            })
            .map_err(error)
    }

    fn capture(c: wit::CallContext, req: checkout::CaptureRequest) -> Result<checkout::CaptureReceipt, wit::Error> {
        let req = m::Capture { hold_id: req.hold_id, amount: money(req.amount) };
        engine()
            .capture(&ctx(c), &req)
            .map(|r| checkout::CaptureReceipt {
                hold: hold(r.hold),
                captured: r.captured,
                released: r.released,
                after: figures(r.after),
            })
            .map_err(error)
    }

    fn void_hold(c: wit::CallContext, hold_id: String) -> Result<checkout::VoidReceipt, wit::Error> {
        engine()
            .void_hold(&ctx(c), &hold_id)
            .map(|r| checkout::VoidReceipt { hold: hold(r.hold), released: r.released, after: figures(r.after) })
            .map_err(error)
    }

    fn apply_balance(
        c: wit::CallContext,
        req: checkout::ApplyBalanceRequest,
    ) -> Result<checkout::BalanceApplication, wit::Error> {
        let req = m::ApplyBalance { account_id: req.account_id, order_id: req.order_id, amount: money(req.amount) };
        engine()
            .apply_balance(&ctx(c), &req)
            .map(|r| checkout::BalanceApplication {
                applied: r.applied,
                remaining: r.remaining,
                stored_balance_after: r.stored_balance_after,
            })
            .map_err(error)
    }

    fn record_return(c: wit::CallContext, req: checkout::RecordReturnRequest) -> Result<checkout::CreditNote, wit::Error> {
        let req = m::RecordReturn {
            account_id: req.account_id,
            order_id: req.order_id,
            amount: money(req.amount),
            credit_to: match req.credit_to {
                checkout::CreditTarget::OwedFirst => m::CreditTarget::OwedFirst,
                checkout::CreditTarget::StoredBalance => m::CreditTarget::StoredBalance,
            },
            reason: req.reason,
        };
        engine()
            .record_return(&ctx(c), &req)
            .map(|r| checkout::CreditNote {
                credit_note_id: r.credit_note_id,
                order_id: r.order_id,
                amount: r.amount,
                applied_to_debt: r.applied_to_debt,
                added_to_stored_balance: r.added_to_stored_balance,
                after: figures(r.after),
            })
            .map_err(error)
    }
}

impl queries::Guest for Component {
    fn get_account(account_id: String, now_ms: i64) -> Result<wit::AccountSummary, wit::Error> {
        engine().account_summary(&account_id, now_ms).map(summary).map_err(error)
    }

    fn list_accounts(after: Option<String>, limit: u32) -> Result<Vec<String>, wit::Error> {
        engine().list_accounts(after.as_deref(), limit).map_err(error)
    }

    fn ledger(account_id: String, after_seq: Option<u64>, limit: u32) -> Result<wit::LedgerPage, wit::Error> {
        engine()
            .ledger(&account_id, after_seq, limit)
            .map(|p| wit::LedgerPage {
                entries: p
                    .entries
                    .into_iter()
                    .map(|e| wit::LedgerEntry {
                        seq: e.seq,
                        at_ms: e.at_ms,
                        kind: entry_kind(e.kind),
                        amount: e.amount,
                        debt_delta: e.debt_delta,
                        stored_delta: e.stored_delta,
                        held_delta: e.held_delta,
                        debt_after: e.debt_after,
                        stored_after: e.stored_after,
                        hold_id: e.hold_id,
                        order_id: e.order_id,
                        document_id: e.document_id,
                        memo: e.memo,
                        idempotency_key: e.idempotency_key,
                    })
                    .collect(),
                next_after_seq: p.next_after_seq,
            })
            .map_err(error)
    }

    fn open_holds(account_id: String, now_ms: i64) -> Result<Vec<wit::Hold>, wit::Error> {
        engine().open_holds(&account_id, now_ms).map(|v| v.into_iter().map(hold).collect()).map_err(error)
    }

    fn get_hold(hold_id: String, now_ms: i64) -> Result<wit::Hold, wit::Error> {
        engine().get_hold(&hold_id, now_ms).map(hold).map_err(error)
    }

    fn credit_limit_history(
        account_id: String,
        after_seq: Option<u64>,
        limit: u32,
    ) -> Result<wit::CreditLimitPage, wit::Error> {
        engine()
            .credit_limit_history(&account_id, after_seq, limit)
            .map(|p| wit::CreditLimitPage {
                changes: p
                    .changes
                    .into_iter()
                    .map(|l| wit::CreditLimitChange {
                        seq: l.seq,
                        at_ms: l.at_ms,
                        changed_by: l.changed_by,
                        reason: l.reason,
                        old_limit: l.old_limit,
                        new_limit: l.new_limit,
                    })
                    .collect(),
                next_after_seq: p.next_after_seq,
            })
            .map_err(error)
    }
}

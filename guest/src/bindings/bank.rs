//! `bank` glue: WIT records in, engine call, WIT records out.

#[allow(unused_imports)]
use crate::prelude::*;

use super::exports::storefront::credit::bank;
use super::{Component, ctx, engine, error, money, payment, wit};
use crate::model as m;

fn line_in(l: bank::BankLine) -> m::BankLine {
    m::BankLine {
        entry_ref: l.entry_ref,
        kind: match l.kind {
            bank::BankEntryKind::Credit => m::BankKind::Credit,
            bank::BankEntryKind::Returned => m::BankKind::Returned,
        },
        booked_on: l.booked_on,
        amount: money(l.amount),
        payer_name: l.payer_name,
        payer_account: l.payer_account,
        remittance: l.remittance,
        original_ref: l.original_ref,
    }
}

fn line_out(l: m::BankLine) -> bank::BankLine {
    bank::BankLine {
        entry_ref: l.entry_ref,
        kind: match l.kind {
            m::BankKind::Credit => bank::BankEntryKind::Credit,
            m::BankKind::Returned => bank::BankEntryKind::Returned,
        },
        booked_on: l.booked_on,
        amount: wit::Money { amount: l.amount.amount, currency: l.amount.currency },
        payer_name: l.payer_name,
        payer_account: l.payer_account,
        remittance: l.remittance,
        original_ref: l.original_ref,
    }
}

fn rule(r: m::MatchRule) -> bank::MatchRule {
    match r {
        m::MatchRule::InvoiceNumber => bank::MatchRule::InvoiceNumber,
        m::MatchRule::CreditorReference => bank::MatchRule::CreditorReference,
        m::MatchRule::CustomerAndAmount => bank::MatchRule::CustomerAndAmount,
        m::MatchRule::PayerAndAmount => bank::MatchRule::PayerAndAmount,
        m::MatchRule::OriginalCredit => bank::MatchRule::OriginalCredit,
        m::MatchRule::Person => bank::MatchRule::Person,
    }
}

fn reason(r: m::ReviewReason) -> bank::ReviewReason {
    match r {
        m::ReviewReason::UnknownPayer => bank::ReviewReason::UnknownPayer,
        m::ReviewReason::AmbiguousAmount => bank::ReviewReason::AmbiguousAmount,
        m::ReviewReason::AmountMatchesNothing => bank::ReviewReason::AmountMatchesNothing,
        m::ReviewReason::InvoiceSettled => bank::ReviewReason::InvoiceSettled,
        m::ReviewReason::SeveralAccounts => bank::ReviewReason::SeveralAccounts,
        m::ReviewReason::AccountRefuses => bank::ReviewReason::AccountRefuses,
        m::ReviewReason::OriginalCreditUnknown => bank::ReviewReason::OriginalCreditUnknown,
    }
}

fn review_item(i: m::BankReviewItem) -> bank::BankReviewItem {
    bank::BankReviewItem {
        line: line_out(i.line),
        reason: reason(i.reason),
        detail: i.detail,
        candidates: i
            .candidates
            .into_iter()
            .map(|c| bank::BankCandidate { account_id: c.account_id, invoice_ids: c.invoice_ids, amount: c.amount })
            .collect(),
        parked_at_ms: i.parked_at_ms,
    }
}

impl bank::Guest for Component {
    fn match_bank_line(
        c: wit::CallContext,
        line: bank::BankLine,
        decision: Option<bank::BankDecision>,
    ) -> Result<bank::BankLineResult, wit::Error> {
        let decision = decision.map(|d| match d {
            bank::BankDecision::Account(id) => m::BankDecision::Account(id),
            bank::BankDecision::Payment(id) => m::BankDecision::Payment(id),
            bank::BankDecision::Dismiss(why) => m::BankDecision::Dismiss(why),
        });
        engine()
            .match_bank_line(&ctx(c), &line_in(line), decision.as_ref())
            .map(|r| bank::BankLineResult {
                entry_ref: r.entry_ref,
                rule: r.rule.map(rule),
                outcome: match r.outcome {
                    m::BankOutcome::Recorded(p) => bank::BankOutcome::Recorded(payment(p)),
                    m::BankOutcome::Reversed(p) => bank::BankOutcome::Reversed(payment(p)),
                    m::BankOutcome::Review(i) => bank::BankOutcome::Review(review_item(i)),
                    m::BankOutcome::Dismissed(why) => bank::BankOutcome::Dismissed(why),
                },
                repeated: r.repeated,
                released_from_hold: r.released_from_hold,
            })
            .map_err(error)
    }

    fn bank_review(after: Option<String>, limit: u32) -> Result<Vec<bank::BankReviewItem>, wit::Error> {
        engine().bank_review(after.as_deref(), limit).map(|v| v.into_iter().map(review_item).collect()).map_err(error)
    }
}

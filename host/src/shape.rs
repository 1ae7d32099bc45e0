//! Requests too large to hand to the component.
//!
//! The component checks every field against its limits (ids 64 bytes,
//! texts 256, 100 invoice lines, ...) and refuses what is over with a
//! typed error. But it can only check what reached its memory: a 33 MiB
//! string or 200,000 invoice lines do not fit the instance's memory, and
//! the call would trap. So the host refuses, before the call, any string
//! over `STRING_BYTES_MAX` and any list over `LIST_LEN_MAX`, with the error
//! the component gives for that field. Everything smaller is the
//! component's to judge; these bounds keep what is lowered into an
//! instance under 20 MiB (1,000 lines of four 4 KiB strings), well inside
//! its memory.

use crate::api::*;

/// The longest string the host hands to the component, in bytes. Every
/// limit of the contract is far below it.
pub const STRING_BYTES_MAX: usize = 4096;
/// The longest list the host hands to the component. Every limit of the
/// contract is far below it.
pub const LIST_LEN_MAX: usize = 1000;

/// The first oversized field of a request, as the component's error.
pub trait Oversized {
    /// `Some(error)` when a string or list is beyond the host's bounds.
    fn oversized(&self) -> Option<CreditError>;
}

type E = CreditError;

fn over(s: &str) -> bool {
    s.len() > STRING_BYTES_MAX
}

fn id(s: &str, field: &str) -> Option<E> {
    over(s).then(|| E::IdTooLong(field.into()))
}

fn text(s: &str, field: &str) -> Option<E> {
    over(s).then(|| E::TextTooLong(field.into()))
}

fn amount(s: &str, field: &str) -> Option<E> {
    over(s).then(|| E::AmountMalformed(field.into()))
}

fn currency(s: &str) -> Option<E> {
    // The component names at most 8 characters of an unknown code.
    over(s).then(|| E::CurrencyUnknown(s.chars().take(8).collect()))
}

fn date(s: &str, field: &str) -> Option<E> {
    over(s).then(|| E::DateMalformed(field.into()))
}

fn money(m: &Money, field: &str) -> Option<E> {
    currency(&m.currency).or_else(|| amount(&m.amount, field))
}

impl Oversized for CallContext {
    fn oversized(&self) -> Option<E> {
        id(&self.idempotency_key, "idempotency-key")
    }
}

impl Oversized for PaymentTerms {
    fn oversized(&self) -> Option<E> {
        if self.instalments.len() > LIST_LEN_MAX {
            return Some(E::PaymentTermsOutOfRange("instalments.days".into()));
        }
        let opt = |s: &Option<String>, field| s.as_deref().and_then(|s| amount(s, field));
        self.discount
            .as_ref()
            .and_then(|d| opt(&d.percent, "discount.percent").or_else(|| opt(&d.amount, "discount.amount")))
            .or_else(|| {
                self.instalments.iter().find_map(|i| opt(&i.percent, "instalments.percent").or_else(|| opt(&i.amount, "instalments.amount")))
            })
    }
}

impl Oversized for BillingPolicy {
    fn oversized(&self) -> Option<E> {
        if self.reminders.len() > LIST_LEN_MAX {
            return Some(E::PolicyOutOfRange("policy.reminders".into()));
        }
        self.late_fee
            .as_deref()
            .and_then(|f| amount(f, "policy.late-fee"))
            .or_else(|| self.interest.as_ref().and_then(|i| amount(&i.annual_rate_percent, "policy.interest.annual-rate-percent")))
            .or_else(|| amount(&self.small_difference_max, "policy.small-difference-max"))
    }
}

fn allocations(list: &[AllocationRequest]) -> Option<E> {
    if list.len() > LIST_LEN_MAX {
        return Some(E::TooManyAllocations);
    }
    list.iter().find_map(|a| id(&a.invoice_id, "invoice-id").or_else(|| amount(&a.amount, "allocations.amount")))
}

impl Oversized for OpenAccountRequest {
    fn oversized(&self) -> Option<E> {
        id(&self.account_id, "account-id")
            .or_else(|| id(&self.customer_id, "customer-id"))
            .or_else(|| text(&self.opened_by, "opened-by"))
            .or_else(|| currency(&self.currency))
            .or_else(|| amount(&self.credit_limit, "credit-limit"))
            .or_else(|| match &self.tolerance {
                Tolerance::None => None,
                Tolerance::Amount(a) | Tolerance::Percent(a) => amount(a, "tolerance"),
            })
            .or_else(|| self.terms.oversized())
            .or_else(|| self.policy.oversized())
            .or_else(|| self.company_id.as_deref().and_then(|c| id(c, "company-id")))
    }
}

impl Oversized for ChangeCreditLimitRequest {
    fn oversized(&self) -> Option<E> {
        id(&self.account_id, "account-id")
            .or_else(|| text(&self.changed_by, "changed-by"))
            .or_else(|| text(&self.reason, "reason"))
            .or_else(|| money(&self.new_limit, "new-limit"))
    }
}

impl Oversized for SetStatusRequest {
    fn oversized(&self) -> Option<E> {
        id(&self.account_id, "account-id").or_else(|| text(&self.changed_by, "changed-by")).or_else(|| text(&self.reason, "reason"))
    }
}

impl Oversized for SetBillingPolicyRequest {
    fn oversized(&self) -> Option<E> {
        id(&self.account_id, "account-id")
            .or_else(|| text(&self.changed_by, "changed-by"))
            .or_else(|| text(&self.reason, "reason"))
            .or_else(|| self.terms.oversized())
            .or_else(|| self.policy.oversized())
    }
}

impl Oversized for SetDynamicDiscountRequest {
    fn oversized(&self) -> Option<E> {
        id(&self.account_id, "account-id")
            .or_else(|| self.invoice_id.as_deref().and_then(|i| id(i, "invoice-id")))
            .or_else(|| text(&self.changed_by, "changed-by"))
            .or_else(|| text(&self.reason, "reason"))
            .or_else(|| {
                self.offer.as_ref().and_then(|o| {
                    amount(&o.annual_rate, "offer.annual-rate").or_else(|| amount(&o.floor, "offer.floor")).or_else(|| amount(&o.cap, "offer.cap"))
                })
            })
    }
}

impl Oversized for RecordPaymentRequest {
    fn oversized(&self) -> Option<E> {
        id(&self.account_id, "account-id")
            .or_else(|| text(&self.method, "method"))
            .or_else(|| text(&self.reference, "reference"))
            .or_else(|| money(&self.amount, "amount"))
            .or_else(|| date(&self.received_on, "received-on"))
            .or_else(|| allocations(&self.allocations))
    }
}

impl Oversized for BankLine {
    fn oversized(&self) -> Option<E> {
        id(&self.entry_ref, "entry-ref")
            .or_else(|| date(&self.booked_on, "booked-on"))
            .or_else(|| money(&self.amount, "amount"))
            .or_else(|| text(&self.payer_name, "payer-name"))
            .or_else(|| text(&self.payer_account, "payer-account"))
            .or_else(|| text(&self.remittance, "remittance"))
            .or_else(|| self.original_ref.as_deref().and_then(|r| id(r, "original-ref")))
    }
}

impl Oversized for OpeningInvoice {
    fn oversized(&self) -> Option<E> {
        id(&self.account_id, "account-id")
            .or_else(|| id(&self.number, "number"))
            .or_else(|| date(&self.invoice_date, "invoice-date"))
            .or_else(|| date(&self.due_date, "due-date"))
            .or_else(|| money(&self.amount, "amount"))
            .or_else(|| text(&self.paid, "paid"))
            .or_else(|| self.order_id.as_deref().and_then(|o| id(o, "order-id")))
    }
}

impl Oversized for OpeningStoredBalance {
    fn oversized(&self) -> Option<E> {
        id(&self.account_id, "account-id").or_else(|| money(&self.amount, "amount")).or_else(|| text(&self.reference, "reference"))
    }
}

impl Oversized for BankDecision {
    fn oversized(&self) -> Option<E> {
        match self {
            BankDecision::Account(a) => id(a, "account-id"),
            BankDecision::Payment(p) => id(p, "payment-id"),
            BankDecision::Dismiss(why) => text(why, "reason"),
        }
    }
}

impl Oversized for AllocateBalanceRequest {
    fn oversized(&self) -> Option<E> {
        id(&self.account_id, "account-id")
            .or_else(|| self.amount.as_ref().and_then(|m| money(m, "amount")))
            .or_else(|| allocations(&self.allocations))
    }
}

impl Oversized for AuthorizeRequest {
    fn oversized(&self) -> Option<E> {
        id(&self.account_id, "account-id").or_else(|| id(&self.order_id, "order-id")).or_else(|| money(&self.amount, "amount"))
    }
}

impl Oversized for WriteOffRequest {
    fn oversized(&self) -> Option<E> {
        id(&self.invoice_id, "invoice-id").or_else(|| text(&self.reason, "reason"))
    }
}

impl Oversized for CancelCreditNoteRequest {
    fn oversized(&self) -> Option<E> {
        id(&self.credit_note_id, "credit-note-id").or_else(|| text(&self.reason, "reason"))
    }
}

impl Oversized for RefundRequest {
    fn oversized(&self) -> Option<E> {
        id(&self.account_id, "account-id")
            .or_else(|| money(&self.amount, "amount"))
            .or_else(|| text(&self.method, "method"))
            .or_else(|| text(&self.reference, "reference"))
    }
}

impl Oversized for AmendHoldRequest {
    fn oversized(&self) -> Option<E> {
        id(&self.hold_id, "hold-id").or_else(|| money(&self.amount, "amount"))
    }
}

impl Oversized for CaptureRequest {
    fn oversized(&self) -> Option<E> {
        if self.lines.len() > LIST_LEN_MAX {
            return Some(E::TooManyLines);
        }
        id(&self.hold_id, "hold-id")
            .or_else(|| money(&self.amount, "amount"))
            .or_else(|| self.delivery_date.as_deref().and_then(|d| date(d, "delivery-date")))
            .or_else(|| self.terms.as_ref().and_then(Oversized::oversized))
            .or_else(|| {
                self.delivery.as_ref().and_then(|d| {
                    text(&d.carrier, "delivery.carrier")
                        .or_else(|| text(&d.tracking_reference, "delivery.tracking-reference"))
                        .or_else(|| amount(&d.cost, "delivery.cost"))
                        .or_else(|| amount(&d.charged, "delivery.charged"))
                })
            })
            .or_else(|| {
                self.lines.iter().find_map(|l| {
                    text(&l.description, "lines.description")
                        .or_else(|| amount(&l.quantity, "lines.quantity"))
                        .or_else(|| amount(&l.unit_price, "lines.unit-price"))
                        .or_else(|| amount(&l.tax, "lines.tax"))
                })
            })
    }
}

impl Oversized for ApplyBalanceRequest {
    fn oversized(&self) -> Option<E> {
        id(&self.account_id, "account-id").or_else(|| id(&self.order_id, "order-id")).or_else(|| money(&self.amount, "amount"))
    }
}

impl Oversized for RecordReturnRequest {
    fn oversized(&self) -> Option<E> {
        id(&self.account_id, "account-id")
            .or_else(|| id(&self.order_id, "order-id"))
            .or_else(|| text(&self.reason, "reason"))
            .or_else(|| money(&self.amount, "amount"))
    }
}

impl Oversized for AddNoteRequest {
    fn oversized(&self) -> Option<E> {
        id(&self.account_id, "account-id")
            .or_else(|| text(&self.by, "by"))
            .or_else(|| text(&self.text, "text"))
            .or_else(|| self.promise.as_ref().and_then(|p| date(&p.pay_by, "promise.pay-by").or_else(|| amount(&p.amount, "promise.amount"))))
    }
}

/// Aging edges: a list of numbers, refused past `LIST_LEN_MAX`.
pub fn edges(list: &[u32]) -> Option<E> {
    (list.len() > LIST_LEN_MAX).then(|| E::ReportQueryOutOfRange("edges".into()))
}

impl Oversized for AgingRequest {
    fn oversized(&self) -> Option<E> {
        date(&self.as_of, "as-of")
            .or_else(|| edges(&self.edges))
            .or_else(|| self.currency.as_deref().and_then(currency))
            .or_else(|| self.company_id.as_deref().and_then(|c| id(c, "company-id")))
            .or_else(|| self.after.as_deref().and_then(|a| id(a, "after")))
    }
}

impl Oversized for OpenCompanyRequest {
    fn oversized(&self) -> Option<E> {
        id(&self.company_id, "company-id")
            .or_else(|| text(&self.opened_by, "opened-by"))
            .or_else(|| currency(&self.currency))
            .or_else(|| amount(&self.credit_limit, "credit-limit"))
            .or_else(|| match &self.tolerance {
                Tolerance::None => None,
                Tolerance::Amount(a) | Tolerance::Percent(a) => amount(a, "tolerance"),
            })
    }
}

impl Oversized for DebtorQuery {
    fn oversized(&self) -> Option<E> {
        date(&self.as_of, "as-of")
            .or_else(|| self.currency.as_deref().and_then(currency))
            .or_else(|| self.balance_min.as_deref().and_then(|a| amount(a, "balance-min")))
            .or_else(|| self.balance_max.as_deref().and_then(|a| amount(a, "balance-max")))
            .or_else(|| self.overdue_min.as_deref().and_then(|a| amount(a, "overdue-min")))
            .or_else(|| self.utilisation_min_percent.as_deref().and_then(|a| amount(a, "utilisation-percent")))
            .or_else(|| self.after.as_deref().and_then(|a| id(a, "after")))
    }
}

impl Oversized for WarningRules {
    fn oversized(&self) -> Option<E> {
        amount(&self.utilisation_percent, "utilisation-percent")
    }
}

/// A bare id parameter (`hold-id`, `payment-id`, `account-id`, `invoice-id`).
pub fn id_param(value: &str, field: &str) -> Option<E> {
    id(value, field)
}

/// A bare text parameter (`reason`).
pub fn text_param(value: &str, field: &str) -> Option<E> {
    text(value, field)
}

/// A bare date parameter (`date`, `today`, `as-of`).
pub fn date_param(value: &str, field: &str) -> Option<E> {
    date(value, field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_is_far_over_every_limit_is_refused_here() {
        let req = AuthorizeRequest {
            account_id: "a".repeat(STRING_BYTES_MAX),
            order_id: "o".into(),
            amount: Money { amount: "1".into(), currency: "GBP".into() },
            hold_ttl_s: None,
            open_ended: None,
        };
        assert_eq!(req.oversized(), None, "the component judges this one");
        let req = AuthorizeRequest { account_id: "a".repeat(STRING_BYTES_MAX + 1), ..req };
        assert_eq!(req.oversized(), Some(E::IdTooLong("account-id".into())));
        let line = InvoiceLine { description: String::new(), quantity: "1".into(), unit_price: "1".into(), tax: "0".into(), tax_rate: None };
        let cap = CaptureRequest {
            hold_id: "H-acme-1".into(),
            amount: Money { amount: "1".into(), currency: "GBP".into() },
            lines: vec![line; LIST_LEN_MAX + 1],
            delivery_date: None,
            terms: None,
            delivery: None,
            rest: None,
        };
        assert_eq!(cap.oversized(), Some(E::TooManyLines));
    }
}

//! The component glue: WIT records in, engine call, WIT records out. No
//! logic lives here; every match is exhaustive so a new case in either the
//! WIT or the domain fails to compile until it is mapped.

#[allow(unused_imports)]
use crate::prelude::*;

wit_bindgen::generate!({
    path: "../wit",
    world: "credit-account",
});

mod bank;
mod migration;

use exports::storefront::credit::{accounts, billing, checkout, queries, reports};
use storefront::credit::store;
use storefront::credit::types as wit;

use crate::engine::Engine;
use crate::error::Error;
use crate::kv::Kv;
use crate::model as m;

/// Memory for the guest's allocations: talc over a fixed arena inside the
/// module's initial memory. Rust's default allocator on wasm grows the
/// memory on the first allocation of every new instance, and a pooled
/// instance slot whose memory grew has its protection reset (an `mprotect`
/// and a TLB flush on every core) when it is next instantiated: with the
/// arena, a fresh instance's memory never changes size. A call that needs
/// more than the arena fails its allocation, which traps the call and rolls
/// it back, as the host's 64 MiB memory limit did before.
const ARENA_BYTES: usize = 32 << 20;

#[global_allocator]
static ALLOCATOR: talc::wasm::WasmArenaTalc = {
    static mut ARENA: [core::mem::MaybeUninit<u8>; ARENA_BYTES] = [core::mem::MaybeUninit::uninit(); ARENA_BYTES];
    // SAFETY: nothing but the allocator ever names ARENA.
    unsafe { talc::wasm::new_wasm_arena_allocator(&raw mut ARENA) }
};

/// The canonical ABI's allocation entry point, through which the host
/// hands the component its arguments (strings, lists) and grows them. On
/// `wasm32-wasip2` wit-bindgen leaves it to std, and this guest has none.
/// A zero-sized request gets a dangling, aligned pointer; a request the
/// arena cannot meet traps the call.
///
/// # Safety
/// Called by the host per the canonical ABI: `align` is a power of two and
/// `old_ptr`/`old_len` describe an allocation this function returned.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cabi_realloc(old_ptr: *mut u8, old_len: usize, align: usize, new_len: usize) -> *mut u8 {
    use alloc::alloc::Layout;
    if new_len == 0 {
        return align as *mut u8;
    }
    // SAFETY: the canonical ABI passes a power-of-two alignment and sizes
    // that fit the 32-bit address space.
    let ptr = unsafe {
        if old_len == 0 {
            alloc::alloc::alloc(Layout::from_size_align_unchecked(new_len, align))
        } else {
            alloc::alloc::realloc(old_ptr, Layout::from_size_align_unchecked(old_len, align), new_len)
        }
    };
    if ptr.is_null() {
        core::arch::wasm32::unreachable()
    }
    ptr
}

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
        wit::TermBasis::EndOfMonthAfterDays => m::TermBasis::EndOfMonthAfterDays,
        wit::TermBasis::DayOfMonth => m::TermBasis::DayOfMonth,
        wit::TermBasis::MonthsAfterInvoice => m::TermBasis::MonthsAfterInvoice,
        wit::TermBasis::MonthsAfterEndOfMonth => m::TermBasis::MonthsAfterEndOfMonth,
    }
}

fn basis_out(b: m::TermBasis) -> wit::TermBasis {
    match b {
        m::TermBasis::InvoiceDate => wit::TermBasis::InvoiceDate,
        m::TermBasis::DeliveryDate => wit::TermBasis::DeliveryDate,
        m::TermBasis::EndOfMonth => wit::TermBasis::EndOfMonth,
        m::TermBasis::EndOfMonthAfterDays => wit::TermBasis::EndOfMonthAfterDays,
        m::TermBasis::DayOfMonth => wit::TermBasis::DayOfMonth,
        m::TermBasis::MonthsAfterInvoice => wit::TermBasis::MonthsAfterInvoice,
        m::TermBasis::MonthsAfterEndOfMonth => wit::TermBasis::MonthsAfterEndOfMonth,
    }
}

fn terms_in(t: wit::PaymentTerms) -> m::TermsInput {
    m::TermsInput {
        net_days: t.net_days,
        basis: basis_in(t.basis),
        discount: t.discount.map(|d| m::DiscountInput {
            percent: d.percent,
            days: d.days,
            amount: d.amount,
            basis: d.basis.map(|b| match b {
                wit::DiscountBasis::Gross => m::DiscountBasis::Gross,
                wit::DiscountBasis::Net => m::DiscountBasis::Net,
            }),
        }),
        instalments: t.instalments.into_iter().map(|i| m::InstalmentInput { percent: i.percent, days: i.days, amount: i.amount }).collect(),
        months: t.months,
        day_of_month: t.day_of_month,
        cut_off_day: t.cut_off_day,
    }
}

fn portion(p: m::PortionView) -> wit::Portion {
    wit::Portion { due_date: p.due_date, amount: p.amount, paid: p.paid, open: p.open, discount_available: p.discount_available }
}

fn terms_out(t: m::TermsView) -> wit::PaymentTerms {
    wit::PaymentTerms {
        net_days: t.net_days,
        basis: basis_out(t.basis),
        discount: t.discount.map(|d| wit::EarlyPaymentDiscount {
            percent: d.percent,
            days: d.days,
            amount: d.amount,
            basis: d.basis.map(|b| match b {
                m::DiscountBasis::Gross => wit::DiscountBasis::Gross,
                m::DiscountBasis::Net => wit::DiscountBasis::Net,
            }),
        }),
        instalments: t.instalments.into_iter().map(|i| wit::Instalment { percent: i.percent, days: i.days, amount: i.amount }).collect(),
        months: t.months,
        day_of_month: t.day_of_month,
        cut_off_day: t.cut_off_day,
    }
}

fn day_count_in(d: wit::DayCount) -> m::DayCount {
    match d {
        wit::DayCount::Actual365Fixed => m::DayCount::Actual365Fixed,
        wit::DayCount::Actual360 => m::DayCount::Actual360,
    }
}

fn day_count_out(d: m::DayCount) -> wit::DayCount {
    match d {
        m::DayCount::Actual365Fixed => wit::DayCount::Actual365Fixed,
        m::DayCount::Actual360 => wit::DayCount::Actual360,
    }
}

fn treatment_in(t: wit::SmallDifferenceTreatment) -> m::SmallDifferenceTreatment {
    match t {
        wit::SmallDifferenceTreatment::WriteOff => m::SmallDifferenceTreatment::WriteOff,
        wit::SmallDifferenceTreatment::CarryOnBalance => m::SmallDifferenceTreatment::CarryOnBalance,
    }
}

fn treatment_out(t: m::SmallDifferenceTreatment) -> wit::SmallDifferenceTreatment {
    match t {
        m::SmallDifferenceTreatment::WriteOff => wit::SmallDifferenceTreatment::WriteOff,
        m::SmallDifferenceTreatment::CarryOnBalance => wit::SmallDifferenceTreatment::CarryOnBalance,
    }
}

fn dynamic_in(d: wit::DynamicDiscount) -> m::DynamicDiscountInput {
    m::DynamicDiscountInput { annual_rate: d.annual_rate, floor: d.floor, cap: d.cap }
}

fn dynamic_out(d: m::DynamicDiscountInput) -> wit::DynamicDiscount {
    wit::DynamicDiscount { annual_rate: d.annual_rate, floor: d.floor, cap: d.cap }
}

fn dynamic_setting(s: m::DynamicDiscountSetting) -> wit::DynamicDiscountSetting {
    wit::DynamicDiscountSetting {
        account_id: s.account_id,
        invoice_id: s.invoice_id,
        offer: s.offer.map(dynamic_out),
        applies: s.applies.map(dynamic_out),
    }
}

fn policy_in(p: wit::BillingPolicy) -> m::PolicyInput {
    m::PolicyInput {
        grace_days: p.grace_days,
        late_fee: p.late_fee,
        interest: p.interest.map(|i| m::InterestInput {
            annual_rate_percent: i.annual_rate_percent,
            day_count: day_count_in(i.day_count),
        }),
        reminders: p.reminders.into_iter().map(|r| m::ReminderStep { offset_days: r.offset_days, level: r.level }).collect(),
        hold_after_days_overdue: p.hold_after_days_overdue,
        small_difference_max: p.small_difference_max,
        small_difference_treatment: treatment_in(p.small_difference_treatment),
        statement_day: p.statement_day,
        open_ended_holds: p.open_ended_holds,
    }
}

fn policy_out(p: m::PolicyView) -> wit::BillingPolicy {
    wit::BillingPolicy {
        grace_days: p.grace_days,
        late_fee: p.late_fee,
        interest: p.interest.map(|i| wit::InterestRule {
            annual_rate_percent: i.annual_rate_percent,
            day_count: day_count_out(i.day_count),
        }),
        reminders: p.reminders.into_iter().map(|r| wit::ReminderStep { offset_days: r.offset_days, level: r.level }).collect(),
        hold_after_days_overdue: p.hold_after_days_overdue,
        small_difference_max: p.small_difference_max,
        small_difference_treatment: treatment_out(p.small_difference_treatment),
        statement_day: p.statement_day,
        open_ended_holds: p.open_ended_holds,
    }
}

fn allocations_in(list: Vec<billing::AllocationRequest>) -> Vec<m::AllocationInput> {
    list.into_iter().map(|a| m::AllocationInput { invoice_id: a.invoice_id, amount: a.amount }).collect()
}

fn item_kind(k: m::ItemKind) -> wit::ItemKind {
    match k {
        m::ItemKind::Invoice => wit::ItemKind::Invoice,
        m::ItemKind::LateFee => wit::ItemKind::LateFee,
        m::ItemKind::Interest => wit::ItemKind::Interest,
        m::ItemKind::Adjustment => wit::ItemKind::Adjustment,
    }
}

fn allocation_source(s: m::AllocationSource) -> wit::AllocationSource {
    match s {
        m::AllocationSource::Payment => wit::AllocationSource::Payment,
        m::AllocationSource::CreditNote => wit::AllocationSource::CreditNote,
        m::AllocationSource::StoredBalance => wit::AllocationSource::StoredBalance,
        m::AllocationSource::Discount => wit::AllocationSource::Discount,
        m::AllocationSource::WriteOff => wit::AllocationSource::WriteOff,
        m::AllocationSource::Carried => wit::AllocationSource::Carried,
        m::AllocationSource::Reversal => wit::AllocationSource::Reversal,
        m::AllocationSource::BadDebt => wit::AllocationSource::BadDebt,
        m::AllocationSource::DynamicDiscount => wit::AllocationSource::DynamicDiscount,
    }
}

fn book(b: m::Book) -> wit::Book {
    match b {
        m::Book::Receivable => wit::Book::Receivable,
        m::Book::CustomerCredit => wit::Book::CustomerCredit,
        m::Book::Cash => wit::Book::Cash,
        m::Book::Sales => wit::Book::Sales,
        m::Book::Tax => wit::Book::Tax,
        m::Book::SalesReturns => wit::Book::SalesReturns,
        m::Book::DiscountsAllowed => wit::Book::DiscountsAllowed,
        m::Book::SmallDifferences => wit::Book::SmallDifferences,
        m::Book::FeeIncome => wit::Book::FeeIncome,
        m::Book::InterestIncome => wit::Book::InterestIncome,
        m::Book::StoreCreditRedeemed => wit::Book::StoreCreditRedeemed,
        m::Book::BadDebts => wit::Book::BadDebts,
        m::Book::OpeningBalances => wit::Book::OpeningBalances,
        m::Book::DynamicDiscounts => wit::Book::DynamicDiscounts,
    }
}

fn invoice(x: m::InvoiceView) -> wit::Invoice {
    wit::Invoice {
        invoice_id: x.invoice_id,
        account_id: x.account_id,
        kind: item_kind(x.kind),
        order_id: x.order_id,
        related_invoice_id: x.related_invoice_id,
        invoice_date: x.invoice_date,
        delivery_date: x.delivery_date,
        lines: x
            .lines
            .into_iter()
            .map(|l| wit::InvoicedLine {
                description: l.description,
                quantity: l.quantity,
                unit_price: l.unit_price,
                net: l.net,
                tax: l.tax,
                total: l.total,
                tax_rate: l.tax_rate,
            })
            .collect(),
        net_total: x.net_total,
        tax_total: x.tax_total,
        total: x.total,
        tax_parts: x.tax_parts.into_iter().map(|p| wit::TaxPart { rate: p.rate, net: p.net, tax: p.tax }).collect(),
        terms: terms_out(x.terms),
        due_date: x.due_date,
        discount_until: x.discount_until,
        discount_amount: x.discount_amount,
        schedule: x.schedule.into_iter().map(portion).collect(),
        outstanding: x.outstanding,
        overdue: x.overdue,
        days_overdue: x.days_overdue,
        settled_on: x.settled_on,
        allocations: x
            .allocations
            .into_iter()
            .map(allocation)
            .collect(),
        allocation_count: x.allocation_count,
        late_fees_charged: x.late_fees_charged,
        interest_charged: x.interest_charged,
    }
}

fn allocation(a: m::AllocationView) -> wit::Allocation {
    wit::Allocation {
        seq: a.seq,
        entry_seq: a.entry_seq,
        date: a.date,
        source: allocation_source(a.source),
        document_id: a.document_id,
        amount: a.amount,
    }
}

fn applied(a: m::AppliedView) -> wit::AppliedAllocation {
    wit::AppliedAllocation {
        invoice_id: a.invoice_id,
        amount: a.amount,
        discount: a.discount,
        small_difference: a.small_difference,
        carried_to: a.carried_to,
        outstanding_after: a.outstanding_after,
    }
}

fn payment(p: m::PaymentView) -> wit::Payment {
    wit::Payment {
        payment_id: p.payment_id,
        account_id: p.account_id,
        received_on: p.received_on,
        amount: p.amount,
        method: p.method,
        reference: p.reference,
        allocations: p.allocations.into_iter().map(applied).collect(),
        added_to_stored_balance: p.added_to_stored_balance,
        reversed: p.reversed,
    }
}

fn reminder(r: m::Reminder) -> wit::Reminder {
    wit::Reminder {
        seq: r.seq,
        date: r.date,
        account_id: r.account_id,
        customer_id: r.customer_id,
        invoice_id: r.invoice_id,
        level: r.level,
        offset_days: r.offset_days,
        due_date: r.due_date,
        outstanding: r.outstanding,
        currency: r.currency,
        subject: r.subject,
        body: r.body,
    }
}

fn statement_header(h: m::StatementHeader) -> wit::StatementHeader {
    wit::StatementHeader {
        seq: h.seq,
        account_id: h.account_id,
        currency: h.currency,
        period_from: h.period_from,
        period_to: h.period_to,
        opening_balance: h.opening_balance,
        closing_balance: h.closing_balance,
        amount_due: h.amount_due,
    }
}

fn note(n: m::NoteView) -> wit::Note {
    wit::Note {
        seq: n.seq,
        at_ms: n.at_ms,
        by: n.by,
        text: n.text,
        promise: n.promise.map(|p| wit::Promise { pay_by: p.pay_by, amount: p.amount }),
    }
}

fn status_in_opt(s: Option<wit::AccountStatus>) -> Option<m::Status> {
    s.map(status_in)
}

fn basis_aging_in(b: reports::AgingBasis) -> m::AgingBasis {
    match b {
        reports::AgingBasis::DueDate => m::AgingBasis::DueDate,
        reports::AgingBasis::DocumentDate => m::AgingBasis::DocumentDate,
    }
}

fn basis_aging_out(b: m::AgingBasis) -> reports::AgingBasis {
    match b {
        m::AgingBasis::DueDate => reports::AgingBasis::DueDate,
        m::AgingBasis::DocumentDate => reports::AgingBasis::DocumentDate,
    }
}

fn account_aging(a: m::AccountAging) -> reports::AgingRow {
    reports::AgingRow {
        account_id: a.account_id,
        customer_id: a.customer_id,
        currency: a.currency,
        buckets: a.buckets,
        total: a.total,
        unapplied_credit: a.unapplied_credit,
        written_off: a.written_off,
        net: a.net,
    }
}

fn statement(v: m::StatementView) -> reports::AccountStatement {
    reports::AccountStatement {
        account_id: v.account_id,
        customer_id: v.customer_id,
        currency: v.currency,
        period_from: v.period_from,
        period_to: v.period_to,
        opening_balance: v.opening_balance,
        lines: v
            .lines
            .into_iter()
            .map(|l| reports::StatementLine {
                date: l.date,
                entry_seq: l.entry_seq,
                kind: entry_kind(l.kind),
                description: l.description,
                reference: l.reference,
                debit: l.debit,
                credit: l.credit,
                balance: l.balance,
            })
            .collect(),
        total_debits: v.total_debits,
        total_credits: v.total_credits,
        closing_balance: v.closing_balance,
        next_after_seq: v.next_after_seq,
        open_items: v
            .open_items
            .into_iter()
            .map(|i| reports::StatementItem {
                invoice_id: i.invoice_id,
                kind: item_kind(i.kind),
                date: i.date,
                due_date: i.due_date,
                total: i.total,
                outstanding: i.outstanding,
                overdue: i.overdue,
                days_overdue: i.days_overdue,
                schedule: i.schedule.into_iter().map(portion).collect(),
            })
            .collect(),
        open_item_count: v.open_item_count,
        bucket_labels: v.bucket_labels,
        aging: account_aging(v.aging),
        amount_due: v.amount_due,
        not_yet_due: v.not_yet_due,
        credit_limit: v.credit_limit,
        stored_balance: v.stored_balance,
        available_credit: v.available_credit,
    }
}

fn warning_rules(r: reports::WarningRules) -> m::WarningRules {
    m::WarningRules {
        window: r.window,
        utilisation_percent: r.utilisation_percent,
        bounce_days: r.bounce_days,
        first_overdue_days: r.first_overdue_days,
    }
}

fn account_warnings(w: m::AccountWarnings) -> reports::WarningRow {
    reports::WarningRow {
        account_id: w.account_id,
        customer_id: w.customer_id,
        currency: w.currency,
        signals: w
            .signals
            .into_iter()
            .map(|s| match s {
                m::WarningSignal::PayingSlower { window, recent_average_days, earlier_average_days } => {
                    reports::WarningSignal::PayingSlower(reports::PayingSlower { window, recent_average_days, earlier_average_days })
                }
                m::WarningSignal::HighUtilisation { utilisation_percent, threshold_percent } => {
                    reports::WarningSignal::HighUtilisation(reports::HighUtilisation { utilisation_percent, threshold_percent })
                }
                m::WarningSignal::RecentBounce { date, payment_id } => {
                    reports::WarningSignal::RecentBounce(reports::RecentBounce { date, payment_id })
                }
                m::WarningSignal::FirstTimeOverdue { since, overdue } => {
                    reports::WarningSignal::FirstTimeOverdue(reports::FirstTimeOverdue { since, overdue })
                }
                m::WarningSignal::PromiseMissed { note_seq, pay_by, amount, paid } => {
                    reports::WarningSignal::PromiseMissed(reports::PromiseMissed { note_seq, pay_by, amount, paid })
                }
            })
            .collect(),
    }
}

fn charge(c: m::Charge) -> billing::Charge {
    billing::Charge { invoice_id: c.invoice_id, item_id: c.item_id, amount: c.amount }
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
        Error::DateMalformed(x) => W::DateMalformed(f(x)),
        Error::DateInFuture(x) => W::DateInFuture(f(x)),
        Error::PolicyOutOfRange(x) => W::PolicyOutOfRange(f(x)),
        Error::TooManyLines => W::TooManyLines,
        Error::InvoiceTotalMismatch => W::InvoiceTotalMismatch,
        Error::DeliveryDateRequired => W::DeliveryDateRequired,
        Error::InvoiceNotFound(id) => W::InvoiceNotFound(id),
        Error::InvoiceBelongsToAnotherAccount(id) => W::InvoiceBelongsToAnotherAccount(id),
        Error::AllocationExceedsOutstanding(id) => W::AllocationExceedsOutstanding(id),
        Error::AllocationExceedsAmount => W::AllocationExceedsAmount,
        Error::TooManyAllocations => W::TooManyAllocations,
        Error::DuplicateAllocation(id) => W::DuplicateAllocation(id),
        Error::PaymentNotFound(id) => W::PaymentNotFound(id),
        Error::PaymentAlreadyReversed => W::PaymentAlreadyReversed,
        Error::DayCloseOutOfOrder => W::DayCloseOutOfOrder,
        Error::DayCloseUnfinished(date) => W::DayCloseUnfinished(date),
        Error::StoredBalanceInsufficient { requested, available } => {
            W::StoredBalanceInsufficient(wit::BalanceShortfall { requested, available })
        }
        Error::AllocationSpreadConflict => W::AllocationSpreadConflict,
        Error::RefundExceedsBalance { requested, available } => W::RefundExceedsBalance(wit::BalanceShortfall { requested, available }),
        Error::InvoiceSettled(id) => W::InvoiceSettled(id),
        Error::CompanyAlreadyExists(id) => W::CompanyAlreadyExists(id),
        Error::CompanyNotFound(id) => W::CompanyNotFound(id),
        Error::TooManyBuyers => W::TooManyBuyers,
        Error::OpenEndedHoldNotAllowed => W::OpenEndedHoldNotAllowed,
        Error::CreditNoteNotFound(id) => W::CreditNoteNotFound(id),
        Error::CreditNoteAlreadyCancelled(id) => W::CreditNoteAlreadyCancelled(id),
        Error::CreditNoteUsed { requested, available } => W::CreditNoteUsed(wit::BalanceShortfall { requested, available }),
        Error::ReportQueryOutOfRange(x) => W::ReportQueryOutOfRange(f(x)),
        Error::StatementPeriodOutOfRange => W::StatementPeriodOutOfRange,
        Error::StatementNotFound(n) => W::StatementNotFound(n),
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
        terms: terms_out(x.terms),
        figures: figures(x.figures),
        balance: x.balance,
        policy: policy_out(x.policy),
        held_for_overdue: x.held_for_overdue,
        overdue: x.overdue,
        open_hold_count: x.open_hold_count,
        opened_at_ms: x.opened_at_ms,
        entry_count: x.entry_count,
        company_id: x.company_id,
    }
}

fn company(x: m::CompanySummary) -> wit::CompanySummary {
    wit::CompanySummary {
        company_id: x.company_id,
        currency: x.currency,
        tolerance_rule: match x.tolerance_rule {
            m::ToleranceView::None => wit::Tolerance::None,
            m::ToleranceView::Amount(a) => wit::Tolerance::Amount(a),
            m::ToleranceView::Percent(p) => wit::Tolerance::Percent(p),
        },
        figures: figures(x.figures),
        buyers_held_for_overdue: x.buyers_held_for_overdue,
        buyers: x.buyers,
        opened_at_ms: x.opened_at_ms,
    }
}

fn authorization(a: m::Authorization) -> checkout::Authorization {
    match a {
        m::Authorization::Approved { hold: h, before, after } => {
            checkout::Authorization::Approved(checkout::Approval { hold: hold(h), before: figures(before), after: figures(after) })
        }
        m::Authorization::Declined { reason, requested, shortfall, figures: f } => checkout::Authorization::Declined(checkout::Decline {
            reason: decline_reason(reason),
            requested,
            shortfall,
            figures: figures(f),
        }),
    }
}

fn hold(x: m::HoldView) -> wit::Hold {
    wit::Hold {
        hold_id: x.hold_id,
        account_id: x.account_id,
        order_id: x.order_id,
        amount: x.amount,
        reserved: x.reserved,
        captured: x.captured,
        capture_count: x.capture_count,
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
        m::EntryKind::PaymentReversed => wit::EntryKind::PaymentReversed,
        m::EntryKind::BalanceAllocated => wit::EntryKind::BalanceAllocated,
        m::EntryKind::DiscountTaken => wit::EntryKind::DiscountTaken,
        m::EntryKind::SmallDifferenceWrittenOff => wit::EntryKind::SmallDifferenceWrittenOff,
        m::EntryKind::SmallDifferenceCarried => wit::EntryKind::SmallDifferenceCarried,
        m::EntryKind::LateFeeCharged => wit::EntryKind::LateFeeCharged,
        m::EntryKind::InterestCharged => wit::EntryKind::InterestCharged,
        m::EntryKind::PolicyChanged => wit::EntryKind::PolicyChanged,
        m::EntryKind::HoldAmended => wit::EntryKind::HoldAmended,
        m::EntryKind::BalanceRefunded => wit::EntryKind::BalanceRefunded,
        m::EntryKind::CreditNoteCancelled => wit::EntryKind::CreditNoteCancelled,
        m::EntryKind::InvoiceBroughtIn => wit::EntryKind::InvoiceBroughtIn,
        m::EntryKind::StoredBalanceBroughtIn => wit::EntryKind::StoredBalanceBroughtIn,
        m::EntryKind::DynamicDiscountTaken => wit::EntryKind::DynamicDiscountTaken,
        m::EntryKind::BadDebtWrittenOff => wit::EntryKind::BadDebtWrittenOff,
    }
}

fn decline_reason(r: m::DeclineReason) -> checkout::DeclineReason {
    match r {
        m::DeclineReason::InsufficientCredit => checkout::DeclineReason::InsufficientCredit,
        m::DeclineReason::AccountOnHold => checkout::DeclineReason::AccountOnHold,
        m::DeclineReason::OverdueInvoices => checkout::DeclineReason::OverdueInvoices,
        m::DeclineReason::AccountClosed => checkout::DeclineReason::AccountClosed,
        m::DeclineReason::CurrencyMismatch => checkout::DeclineReason::CurrencyMismatch,
        m::DeclineReason::CompanyCreditInsufficient => checkout::DeclineReason::CompanyCreditInsufficient,
        m::DeclineReason::CompanyOverdueInvoices => checkout::DeclineReason::CompanyOverdueInvoices,
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
            terms: terms_in(req.terms),
            policy: policy_in(req.policy),
            opened_by: req.opened_by,
            company_id: req.company_id,
        };
        engine().open_account(&ctx(c), &req).map(summary).map_err(error)
    }

    fn open_company(c: wit::CallContext, req: accounts::OpenCompanyRequest) -> Result<wit::CompanySummary, wit::Error> {
        let req = m::OpenCompany {
            company_id: req.company_id,
            currency: req.currency,
            credit_limit: req.credit_limit,
            tolerance: match req.tolerance {
                wit::Tolerance::None => m::ToleranceInput::None,
                wit::Tolerance::Amount(a) => m::ToleranceInput::Amount(a),
                wit::Tolerance::Percent(p) => m::ToleranceInput::Percent(p),
            },
            opened_by: req.opened_by,
        };
        engine().open_company(&ctx(c), &req).map(company).map_err(error)
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

    fn set_billing_policy(
        c: wit::CallContext,
        req: accounts::SetBillingPolicyRequest,
    ) -> Result<wit::AccountSummary, wit::Error> {
        let req = m::SetBillingPolicy {
            account_id: req.account_id,
            terms: terms_in(req.terms),
            policy: policy_in(req.policy),
            changed_by: req.changed_by,
            reason: req.reason,
        };
        engine().set_billing_policy(&ctx(c), &req).map(summary).map_err(error)
    }

    fn set_dynamic_discount(
        c: wit::CallContext,
        req: accounts::SetDynamicDiscountRequest,
    ) -> Result<wit::DynamicDiscountSetting, wit::Error> {
        let req = m::SetDynamicDiscount {
            account_id: req.account_id,
            invoice_id: req.invoice_id,
            offer: req.offer.map(dynamic_in),
            changed_by: req.changed_by,
            reason: req.reason,
        };
        engine().set_dynamic_discount(&ctx(c), &req).map(dynamic_setting).map_err(error)
    }

    fn add_note(c: wit::CallContext, req: accounts::AddNoteRequest) -> Result<wit::Note, wit::Error> {
        let req = m::AddNote {
            account_id: req.account_id,
            by: req.by,
            text: req.text,
            promise: req.promise.map(|p| m::PromiseInput { pay_by: p.pay_by, amount: p.amount }),
        };
        engine().add_note(&ctx(c), &req).map(note).map_err(error)
    }
}

impl billing::Guest for Component {
    fn cancel_credit_note(c: wit::CallContext, req: billing::CancelCreditNoteRequest) -> Result<billing::CreditNoteCancellation, wit::Error> {
        let req = m::CancelCreditNote { credit_note_id: req.credit_note_id, reason: req.reason };
        engine()
            .cancel_credit_note(&ctx(c), &req)
            .map(|r| billing::CreditNoteCancellation {
                credit_note_id: r.credit_note_id,
                order_id: r.order_id,
                amount: r.amount,
                account: summary(r.account),
            })
            .map_err(error)
    }

    fn write_off(c: wit::CallContext, req: billing::WriteOffRequest) -> Result<billing::WriteOffReceipt, wit::Error> {
        let req = m::WriteOff { invoice_id: req.invoice_id, reason: req.reason };
        engine()
            .write_off(&ctx(c), &req)
            .map(|r| billing::WriteOffReceipt {
                invoice_id: r.invoice_id,
                amount: r.amount,
                account: summary(r.account),
                released_from_hold: r.released_from_hold,
            })
            .map_err(error)
    }

    fn refund_balance(c: wit::CallContext, req: billing::RefundRequest) -> Result<billing::RefundReceipt, wit::Error> {
        let req = m::RefundBalance { account_id: req.account_id, amount: money(req.amount), method: req.method, reference: req.reference };
        engine()
            .refund_balance(&ctx(c), &req)
            .map(|r| billing::RefundReceipt {
                refund_id: r.refund_id,
                amount: r.amount,
                method: r.method,
                reference: r.reference,
                account: summary(r.account),
            })
            .map_err(error)
    }

    fn record_payment(c: wit::CallContext, req: billing::RecordPaymentRequest) -> Result<billing::PaymentReceipt, wit::Error> {
        let req = m::RecordPayment {
            account_id: req.account_id,
            amount: money(req.amount),
            received_on: req.received_on,
            method: req.method,
            reference: req.reference,
            allocations: allocations_in(req.allocations),
            spread: req.spread.map(|s| match s {
                billing::PaymentSpread::OldestDueFirst => m::Spread::OldestDueFirst,
                billing::PaymentSpread::ProRata => m::Spread::ProRata,
            }),
        };
        engine()
            .record_payment(&ctx(c), &req)
            .map(|r| billing::PaymentReceipt {
                payment: payment(r.payment),
                account: summary(r.account),
                released_from_hold: r.released_from_hold,
            })
            .map_err(error)
    }

    fn reverse_payment(c: wit::CallContext, payment_id: String, reason: String) -> Result<billing::ReversalReceipt, wit::Error> {
        engine()
            .reverse_payment(&ctx(c), &payment_id, &reason)
            .map(|r| billing::ReversalReceipt {
                payment: payment(r.payment),
                reopened: r.reopened.into_iter().map(applied).collect(),
                taken_from_stored_balance: r.taken_from_stored_balance,
                spent_balance_item: r.spent_balance_item,
                account: summary(r.account),
            })
            .map_err(error)
    }

    fn allocate_balance(
        c: wit::CallContext,
        req: billing::AllocateBalanceRequest,
    ) -> Result<billing::BalanceAllocation, wit::Error> {
        let req = m::AllocateBalance {
            account_id: req.account_id,
            amount: req.amount.map(money),
            allocations: allocations_in(req.allocations),
        };
        engine()
            .allocate_balance(&ctx(c), &req)
            .map(|r| billing::BalanceAllocation {
                allocations: r.allocations.into_iter().map(applied).collect(),
                used: r.used,
                account: summary(r.account),
                released_from_hold: r.released_from_hold,
            })
            .map_err(error)
    }

    fn day_close(c: wit::CallContext, account_id: String, date: String) -> Result<billing::DayCloseReport, wit::Error> {
        engine()
            .day_close(&ctx(c), &account_id, &date)
            .map(|r| billing::DayCloseReport {
                account_id: r.account_id,
                date: r.date,
                part: r.part,
                complete: r.complete,
                statement: r.statement.map(statement_header),
                late_fees: r.late_fees.into_iter().map(charge).collect(),
                interest: r.interest.into_iter().map(charge).collect(),
                reminders: r.reminders.into_iter().map(reminder).collect(),
                put_on_hold: r.put_on_hold,
                released_from_hold: r.released_from_hold,
                holds_expired: r.holds_expired,
                already_closed: r.already_closed,
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
            open_ended: req.open_ended,
        };
        engine().authorize(&ctx(c), &req).map(authorization).map_err(error)
    }

    fn amend_hold(c: wit::CallContext, req: checkout::AmendHoldRequest) -> Result<checkout::Authorization, wit::Error> {
        let req = m::AmendHold { hold_id: req.hold_id, amount: money(req.amount) };
        engine().amend_hold(&ctx(c), &req).map(authorization).map_err(error)
    }

    fn capture(c: wit::CallContext, req: checkout::CaptureRequest) -> Result<checkout::CaptureReceipt, wit::Error> {
        let req = m::Capture {
            hold_id: req.hold_id,
            amount: money(req.amount),
            lines: req
                .lines
                .into_iter()
                .map(|l| m::LineInput {
                    description: l.description,
                    quantity: l.quantity,
                    unit_price: l.unit_price,
                    tax: l.tax,
                    tax_rate: l.tax_rate,
                })
                .collect(),
            delivery_date: req.delivery_date,
            terms: req.terms.map(terms_in),
            delivery: req.delivery.map(|d| m::DeliveryInput {
                carrier: d.carrier,
                tracking_reference: d.tracking_reference,
                cost: d.cost,
                charged: d.charged,
            }),
            rest: req.rest.map(|r| match r {
                checkout::CaptureRest::Release => m::CaptureRest::Release,
                checkout::CaptureRest::KeepOpen => m::CaptureRest::KeepOpen,
            }),
        };
        engine()
            .capture(&ctx(c), &req)
            .map(|r| checkout::CaptureReceipt {
                hold: hold(r.hold),
                captured: r.captured,
                released: r.released,
                invoice: invoice(r.invoice),
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
        let req = m::ApplyBalance {
            account_id: req.account_id,
            order_id: req.order_id,
            amount: money(req.amount),
            mode: req.mode.map(|m| match m {
                checkout::ApplyMode::UpTo => m::ApplyMode::UpTo,
                checkout::ApplyMode::AllOrNothing => m::ApplyMode::AllOrNothing,
            }),
        };
        engine()
            .apply_balance(&ctx(c), &req)
            .map(|r| checkout::BalanceApplication {
                applied: r.applied,
                remaining: r.remaining,
                stored_balance_after: r.stored_balance_after,
                hold_reduced: r.hold_reduced,
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
                released_from_hold: r.released_from_hold,
            })
            .map_err(error)
    }
}

impl queries::Guest for Component {
    fn get_account(account_id: String, now_ms: i64) -> Result<wit::AccountSummary, wit::Error> {
        engine().account_summary(&account_id, now_ms).map(summary).map_err(error)
    }

    fn get_company(company_id: String, now_ms: i64) -> Result<wit::CompanySummary, wit::Error> {
        engine().get_company(&company_id, now_ms).map(company).map_err(error)
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
                        invoice_id: e.invoice_id,
                        postings: e
                            .postings
                            .into_iter()
                            .map(|p| wit::Posting { book: book(p.book), debit: p.debit, credit: p.credit, tax_rate: p.tax_rate })
                            .collect(),
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

    fn open_invoices(account_id: String, today: String, after: Option<String>, limit: u32) -> Result<wit::InvoicePage, wit::Error> {
        engine()
            .open_invoices(&account_id, &today, after.as_deref(), limit)
            .map(|p| wit::InvoicePage { invoices: p.invoices.into_iter().map(invoice).collect(), next_after: p.next_after })
            .map_err(error)
    }

    fn invoice_allocations(invoice_id: String, after_seq: Option<u64>, limit: u32) -> Result<wit::AllocationPage, wit::Error> {
        engine()
            .invoice_allocations(&invoice_id, after_seq, limit)
            .map(|p| wit::AllocationPage { allocations: p.allocations.into_iter().map(allocation).collect(), next_after_seq: p.next_after_seq })
            .map_err(error)
    }

    fn get_invoice(invoice_id: String, today: String) -> Result<wit::Invoice, wit::Error> {
        engine().get_invoice(&invoice_id, &today).map(invoice).map_err(error)
    }

    fn dynamic_discount(account_id: String, invoice_id: Option<String>) -> Result<wit::DynamicDiscountSetting, wit::Error> {
        engine().dynamic_discount(&account_id, invoice_id.as_deref()).map(dynamic_setting).map_err(error)
    }

    fn notes(account_id: String, after_seq: Option<u64>, limit: u32) -> Result<wit::NotePage, wit::Error> {
        engine()
            .notes(&account_id, after_seq, limit)
            .map(|p| wit::NotePage { notes: p.notes.into_iter().map(note).collect(), next_after_seq: p.next_after_seq })
            .map_err(error)
    }

    fn deliveries(account_id: String, after_seq: Option<u64>, limit: u32) -> Result<wit::DeliveryPage, wit::Error> {
        engine()
            .deliveries(&account_id, after_seq, limit)
            .map(|p| wit::DeliveryPage {
                deliveries: p
                    .deliveries
                    .into_iter()
                    .map(|d| wit::Delivery {
                        seq: d.seq,
                        at_ms: d.at_ms,
                        order_id: d.order_id,
                        hold_id: d.hold_id,
                        invoice_id: d.invoice_id,
                        delivered_on: d.delivered_on,
                        carrier: d.carrier,
                        tracking_reference: d.tracking_reference,
                        cost: d.cost,
                        charged: d.charged,
                    })
                    .collect(),
                next_after_seq: p.next_after_seq,
            })
            .map_err(error)
    }

    fn payments(account_id: String, after: Option<u64>, limit: u32) -> Result<Vec<wit::Payment>, wit::Error> {
        engine().payments(&account_id, after, limit).map(|v| v.into_iter().map(payment).collect()).map_err(error)
    }

    fn reminders(account_id: String, after_seq: Option<u64>, limit: u32) -> Result<Vec<wit::Reminder>, wit::Error> {
        engine().reminders(&account_id, after_seq, limit).map(|v| v.into_iter().map(reminder).collect()).map_err(error)
    }

    fn suggest_credit_limit(account_id: String, as_of: String) -> Result<queries::CreditLimitSuggestion, wit::Error> {
        engine()
            .suggest_credit_limit(&account_id, &as_of)
            .map(|x| queries::CreditLimitSuggestion {
                account_id: x.account_id,
                as_of: x.as_of,
                current_limit: x.current_limit,
                suggested_limit: x.suggested_limit,
                settled_invoices: x.settled_invoices,
                on_time_percent: x.on_time_percent,
                average_days_late: x.average_days_late,
                highest_debt: x.highest_debt,
                volume12m: x.volume12m,
                factor: x.factor,
                explanation: x.explanation,
            })
            .map_err(error)
    }
}

impl reports::Guest for Component {
    fn statement(account_id: String, period_from: String, period_to: String, after_seq: Option<u64>) -> Result<reports::AccountStatement, wit::Error> {
        engine().statement(&account_id, &period_from, &period_to, after_seq).map(statement).map_err(error)
    }

    fn company_statement(company_id: String, period_from: String, period_to: String) -> Result<reports::CompanyAccountStatement, wit::Error> {
        engine()
            .company_statement(&company_id, &period_from, &period_to)
            .map(|x| reports::CompanyAccountStatement {
                company_id: x.company_id,
                currency: x.currency,
                period_from: x.period_from,
                period_to: x.period_to,
                buyers: x
                    .buyers
                    .into_iter()
                    .map(|b| reports::BuyerBalance {
                        account_id: b.account_id,
                        opening_balance: b.opening_balance,
                        closing_balance: b.closing_balance,
                        amount_due: b.amount_due,
                        not_yet_due: b.not_yet_due,
                    })
                    .collect(),
                opening_balance: x.opening_balance,
                closing_balance: x.closing_balance,
                amount_due: x.amount_due,
                not_yet_due: x.not_yet_due,
                bucket_labels: x.bucket_labels,
                aging: account_aging(x.aging),
                figures: figures(x.figures),
            })
            .map_err(error)
    }

    fn statements(account_id: String, after_seq: Option<u64>, limit: u32) -> Result<Vec<wit::StatementHeader>, wit::Error> {
        engine().statements(&account_id, after_seq, limit).map(|v| v.into_iter().map(statement_header).collect()).map_err(error)
    }

    fn get_statement(account_id: String, seq: u64) -> Result<reports::AccountStatement, wit::Error> {
        engine().get_statement(&account_id, seq).map(statement).map_err(error)
    }

    fn aging(req: reports::AgingRequest) -> Result<reports::AgingPage, wit::Error> {
        let req = m::AgingRequest {
            as_of: req.as_of,
            basis: basis_aging_in(req.basis),
            edges: req.edges,
            currency: req.currency,
            company_id: req.company_id,
            after: req.after,
            limit: req.limit,
        };
        engine()
            .aging(&req)
            .map(|p| reports::AgingPage {
                as_of: p.as_of,
                basis: basis_aging_out(p.basis),
                bucket_labels: p.bucket_labels,
                rows: p.rows.into_iter().map(account_aging).collect(),
                totals: p
                    .totals
                    .into_iter()
                    .map(|t| reports::AgingTotal {
                        currency: t.currency,
                        accounts: t.accounts,
                        buckets: t.buckets,
                        total: t.total,
                        unapplied_credit: t.unapplied_credit,
                        written_off: t.written_off,
                        net: t.net,
                    })
                    .collect(),
                next_after: p.next_after,
                examined: p.examined,
            })
            .map_err(error)
    }

    fn account_aging(account_id: String, as_of: String, basis: reports::AgingBasis, edges: Vec<u32>) -> Result<reports::AgingRow, wit::Error> {
        engine().account_aging(&account_id, &as_of, basis_aging_in(basis), &edges).map(account_aging).map_err(error)
    }

    fn debtors(q: reports::DebtorQuery) -> Result<reports::DebtorPage, wit::Error> {
        let q = m::DebtorQuery {
            as_of: q.as_of,
            currency: q.currency,
            status: status_in_opt(q.status),
            balance_min: q.balance_min,
            balance_max: q.balance_max,
            overdue_min: q.overdue_min,
            days_overdue_min: q.days_overdue_min,
            utilisation_min_percent: q.utilisation_min_percent,
            has_stored_balance: q.has_stored_balance,
            sort: match q.sort {
                reports::DebtorSort::Balance => m::DebtorSort::Balance,
                reports::DebtorSort::Overdue => m::DebtorSort::Overdue,
                reports::DebtorSort::DaysOverdue => m::DebtorSort::DaysOverdue,
                reports::DebtorSort::Utilisation => m::DebtorSort::Utilisation,
                reports::DebtorSort::StoredBalance => m::DebtorSort::StoredBalance,
                reports::DebtorSort::Status => m::DebtorSort::Status,
                reports::DebtorSort::Currency => m::DebtorSort::Currency,
            },
            after: q.after,
            limit: q.limit,
        };
        engine()
            .debtors(&q)
            .map(|p| reports::DebtorPage {
                rows: p
                    .rows
                    .into_iter()
                    .map(|r| reports::DebtorRow {
                        account_id: r.account_id,
                        customer_id: r.customer_id,
                        currency: r.currency,
                        status: status_out(r.status),
                        credit_limit: r.credit_limit,
                        balance: r.balance,
                        posted_debt: r.posted_debt,
                        stored_balance: r.stored_balance,
                        exposure: r.exposure,
                        utilisation_percent: r.utilisation_percent,
                        overdue: r.overdue,
                        overdue_as_of: r.overdue_as_of,
                        oldest_due: r.oldest_due,
                        days_overdue: r.days_overdue,
                    })
                    .collect(),
                next_after: p.next_after,
                examined: p.examined,
            })
            .map_err(error)
    }

    fn account_warnings(account_id: String, as_of: String, rules: reports::WarningRules) -> Result<reports::WarningRow, wit::Error> {
        engine().account_warnings(&account_id, &as_of, &warning_rules(rules)).map(account_warnings).map_err(error)
    }

    fn warnings(as_of: String, rules: reports::WarningRules, after: Option<String>, limit: u32) -> Result<reports::WarningPage, wit::Error> {
        engine()
            .warnings(&as_of, &warning_rules(rules), after.as_deref(), limit)
            .map(|p| reports::WarningPage {
                rows: p.rows.into_iter().map(account_warnings).collect(),
                next_after: p.next_after,
                examined: p.examined,
            })
            .map_err(error)
    }
}

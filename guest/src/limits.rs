//! Every input has a named maximum. The WIT docs (`wit/types.wit`) state the
//! same numbers; a test in `tests/` checks the boundaries through the
//! component.

#[allow(unused_imports)]
use crate::prelude::*;

/// Bytes in an id (account, customer, order).
pub const ID_LEN_MAX: usize = 64;
/// Bytes in a document id the component issues (hold, invoice, debit
/// note, credit note, payment): `<PREFIX>-<account-id>-<n>`, so an account
/// id of `ID_LEN_MAX` bytes, a prefix of up to 3 and a 20-digit number fit.
pub const DOCUMENT_ID_LEN_MAX: usize = 96;
/// Bytes in an idempotency key.
pub const IDEMPOTENCY_KEY_LEN_MAX: usize = 128;
/// Bytes of UTF-8 in a free text (reason, reference, method, ...).
pub const TEXT_LEN_MAX: usize = 256;
/// Characters in a decimal amount as written.
pub const AMOUNT_TEXT_LEN_MAX: usize = 40;
/// The largest single amount, in major units.
pub const AMOUNT_MAX_MAJOR: i64 = 1_000_000_000_000;
/// Open holds one account may have at once.
pub const HOLDS_PER_ACCOUNT_MAX: usize = 64;
/// Rows in one page of a query.
pub const PAGE_LIMIT_MAX: u32 = 100;
/// The longest a hold may last.
pub const HOLD_TTL_S_MAX: u32 = 90 * 24 * 60 * 60;
/// The expiry stored for an open-ended hold: after every valid call time,
/// so no sweep ever reaches it; answered as no expiry.
pub const OPEN_ENDED_EXPIRY_MS: i64 = i64::MAX;
/// How long a hold lasts when the request does not say.
pub const HOLD_TTL_S_DEFAULT: u32 = 7 * 24 * 60 * 60;
/// The largest tolerance, in percent of the credit limit.
pub const TOLERANCE_PERCENT_MAX: i64 = 100;
/// Buyer accounts one company may have.
pub const BUYERS_PER_COMPANY_MAX: usize = 100;
/// Decimals in a percentage.
pub const PERCENT_SCALE_MAX: u32 = 2;
/// Decimals in an instalment line's percent.
pub const INSTALMENT_PERCENT_SCALE_MAX: u32 = 6;
/// Decimals in a line's tax rate (percent).
pub const TAX_RATE_SCALE_MAX: u32 = 4;
/// The most net days (and discount days) payment terms may have.
pub const NET_DAYS_MAX: u32 = 365;
/// The most months calendar payment terms count on.
pub const TERM_MONTHS_MAX: u8 = 12;
/// The latest cut-off day of payment terms (an invoice dated after it
/// counts as dated in the next month).
pub const CUT_OFF_DAY_MAX: u8 = 30;
/// The latest timestamp accepted: 9999-12-31T23:59:59.999Z.
pub const TIMESTAMP_MS_MAX: i64 = 253_402_300_799_999;
/// Lines on one invoice.
pub const LINES_PER_INVOICE_MAX: usize = 100;
/// Decimals in a quantity.
pub const QUANTITY_SCALE_MAX: u32 = 4;
/// The largest quantity on a line.
pub const QUANTITY_MAX: i64 = 1_000_000_000;
/// Decimals in a unit price.
pub const UNIT_PRICE_SCALE_MAX: u32 = 4;
/// Allocations named in one request.
pub const ALLOCATIONS_PER_REQUEST_MAX: usize = 100;
/// Open items one call settles or reopens at most (a payment, a credit
/// note, an allocation of the stored balance, a reversal). It bounds the
/// work of one call, never an account: what a payment could not place on
/// items beyond it stays as stored balance for `allocate-balance`.
pub const ITEMS_PER_CALL_MAX: usize = 250;
/// Invoices one `day-close` call works through; a day with more is
/// finished by further calls for the same date (each continues where the
/// last stopped).
pub const CLOSE_INVOICES_PER_CALL_MAX: usize = 200;

/// Portions in an instalment schedule.
pub const INSTALMENTS_MAX: usize = 12;
/// Steps in a reminder schedule.
pub const REMINDER_STEPS_MAX: usize = 10;
/// The furthest a reminder step may be from the due date, in days.
pub const REMINDER_OFFSET_DAYS_MAX: i32 = 365;
/// The highest reminder level.
pub const REMINDER_LEVEL_MAX: u8 = 9;
/// The longest grace period, in days.
pub const GRACE_DAYS_MAX: u32 = 365;
/// The longest "hold after N days overdue", in days.
pub const HOLD_AFTER_DAYS_MAX: u32 = 365;
/// The highest annual interest rate, in percent.
pub const INTEREST_RATE_PERCENT_MAX: i64 = 100;
/// Decimals in an interest rate.
pub const INTEREST_RATE_SCALE_MAX: u32 = 4;
/// Invoices the credit-limit review reads, most recent first.
pub const REVIEW_INVOICES_MAX: u64 = 500;
/// Statement lines one call returns; a longer period continues with
/// `after-seq`.
pub const STATEMENT_LINES_MAX: usize = 1_000;
/// Open items a statement lists (it counts them all).
pub const STATEMENT_ITEMS_MAX: usize = 100;
/// Edges of an aging report (buckets = edges + 2).
pub const AGING_EDGES_MAX: usize = 6;
/// The largest aging edge, in days.
pub const AGING_EDGE_DAYS_MAX: u32 = 3_650;
/// Accounts one aging, debtor or warnings call reads at most; the report
/// continues from its `next-after`.
pub const REPORT_ACCOUNTS_PER_CALL_MAX: u32 = 1_000;
/// Settlements kept per account for the paying-slower warning.
pub const SETTLEMENTS_KEPT: usize = 20;
/// The largest warning window (settled invoices compared, each side).
pub const WARNING_WINDOW_MAX: u32 = 10;
/// Bytes of UTF-8 in a note's text.
pub const NOTE_TEXT_LEN_MAX: usize = 2_000;
/// The longest statement period, in days.
pub const STATEMENT_PERIOD_DAYS_MAX: i64 = 3_660;

//! Embeds the credit-account WebAssembly component and keeps its data.
//!
//! The component holds the logic and no state; this crate gives it storage
//! (SQLite in a file by default, PostgreSQL shared by many hosts, or memory),
//! the current time, and a budget per call, and turns each exported call
//! into one atomic unit of work.
//!
//! ```no_run
//! use credit_host::{Component, Ledger, MerchantId, api};
//!
//! # fn main() -> anyhow::Result<()> {
//! let component = Component::embedded()?;            // compile once, share
//! let mut ledger = Ledger::open_sqlite(&component, "shop.sqlite")?;
//! let shop = MerchantId::new("northwind")?;
//! let ctx = api::CallContext { idempotency_key: "order-1001-auth".into(), now_ms: 1_767_600_000_000 };
//! let req = api::AuthorizeRequest {
//!     account_id: "acme-gbp".into(),
//!     order_id: "SO-1001".into(),
//!     amount: api::Money { amount: "1240.00".into(), currency: "GBP".into() },
//!     hold_ttl_s: None,
//!     open_ended: None,
//! };
//! match ledger.authorize(&shop, &ctx, &req)? {
//!     Ok(api::Authorization::Approved(a)) => println!("hold {}", a.hold.hold_id),
//!     Ok(api::Authorization::Declined(d)) => println!("declined, short by {}", d.shortfall),
//!     Err(e) => println!("refused: {e:?}"),
//! }
//! # Ok(()) }
//! ```
//!
//! Two error channels, never mixed: the outer `anyhow::Result` is a host
//! failure or a trap (the call was rolled back); the inner
//! `Result<_, api::CreditError>` is the component's answer.
#![deny(missing_docs)]

/// The version of the `storefront:credit` WIT package (`wit/world.wit`).
macro_rules! wit_version {
    () => {
        "0.8.0"
    };
}

pub mod audit;
pub mod bank;
pub mod cli;
mod component;
pub mod contract;
pub mod deliver;
pub mod directory;
pub mod events;
pub mod import;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod http;
pub mod journal;
mod ledger;
pub mod mail;
pub mod pool;
pub mod render;
pub mod replay;
pub mod serve;
pub mod shape;
pub mod sim;
pub mod store;
pub mod values;
pub mod vectors;

pub use component::{
    COMPONENT_WASM, Component, FAULTY_COMPONENT_PATH, FUEL_PER_CALL_DEFAULT, Fault, INSTANCES_MAX, KEEP_RESIDENT_BYTES, KEY_LEN_MAX,
    MEMORY_BYTES_MAX, SMALL_COMPONENT_WASM, VALUE_LEN_MAX,
};
pub use ledger::{CONFLICT_RETRIES_MAX, CallRefused, Contention, Ledger, MerchantId};

/// Where a ledger's data lives, as the command line and `CREDIT_DB` name
/// it: a `postgres://` or `postgresql://` URL, or else a SQLite file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file (created if missing).
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL database, by its URL.
    Postgres(String),
}

impl Database {
    /// Reads a `--db` value.
    pub fn parse(s: &str) -> Database {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") { Database::Postgres(s.to_owned()) } else { Database::Sqlite(s.into()) }
    }
}

impl std::str::FromStr for Database {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(Database::parse(s))
    }
}

impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(p) => write!(f, "{}", p.display()),
            // The URL may carry a password: name the kind only.
            Database::Postgres(_) => f.write_str("PostgreSQL database"),
        }
    }
}
/// Prints WIT (for comparing `wit/` with what a component carries).
pub use wit_component::WitPrinter;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "credit-account",
        imports: { default: trappable },
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq, Eq],
    });
}

/// The contract's types, as generated from `wit/` (see the WIT docs there).
pub mod api {
    pub use crate::bindings::exports::storefront::credit::accounts::{
        AddNoteRequest, ChangeCreditLimitRequest, OpenAccountRequest, OpenCompanyRequest, SetBillingPolicyRequest, SetDynamicDiscountRequest, SetStatusRequest,
    };
    pub use crate::bindings::exports::storefront::credit::billing::{
        AllocateBalanceRequest, AllocationRequest, BalanceAllocation, Charge, DayCloseReport, PaymentReceipt, PaymentSpread, RecordPaymentRequest, RefundReceipt, RefundRequest, WriteOffReceipt, WriteOffRequest,
        CancelCreditNoteRequest, CreditNoteCancellation,
        ReversalReceipt,
    };
    pub use crate::bindings::exports::storefront::credit::checkout::{
        AmendHoldRequest, ApplyBalanceRequest, ApplyMode, Approval, Authorization, AuthorizeRequest, BalanceApplication, CaptureReceipt, CaptureRequest, CaptureRest, CreditNote, CreditTarget,
        Decline, DeclineReason, DeliveryDetails, RecordReturnRequest, VoidReceipt,
    };
    pub use crate::bindings::exports::storefront::credit::bank::{
        BankCandidate, BankDecision, BankEntryKind, BankLine, BankLineResult, BankOutcome, BankReviewItem, MatchRule, ReviewReason,
    };
    pub use crate::bindings::exports::storefront::credit::migration::{OpeningInvoice, OpeningStoredBalance};
    pub use crate::bindings::exports::storefront::credit::queries::CreditLimitSuggestion;
    pub use crate::bindings::exports::storefront::credit::reports::{
        AccountStatement, BuyerBalance, CompanyAccountStatement, AgingBasis, AgingPage, AgingRequest, AgingRow, AgingTotal, DebtorPage, DebtorQuery, DebtorRow, DebtorSort,
        FirstTimeOverdue, HighUtilisation, PayingSlower, PromiseMissed, RecentBounce, StatementItem, StatementLine, WarningPage, WarningRow,
        WarningRules, WarningSignal,
    };
    pub use crate::bindings::storefront::credit::types::{
        AccountStatus, AccountSummary, Allocation, AllocationPage, AllocationSource, AppliedAllocation, BalanceShortfall, BillingPolicy, Book, CallContext,
        CreditFigures, CreditLimitChange, CreditLimitPage, CurrencyMismatch, DayCount, Delivery, DeliveryPage, DiscountBasis, DynamicDiscount, DynamicDiscountSetting, EarlyPaymentDiscount, EntryKind,
        Error as CreditError, Hold, HoldState, Instalment, InterestRule, Invoice, InvoiceLine, InvoicePage, InvoicedLine, ItemKind, LedgerEntry,
        LedgerPage, Money, Note, NotePage, Payment, PaymentTerms, Portion, Posting, Promise, Reminder, ReminderStep, SmallDifferenceTreatment,
        StatementHeader, TaxPart, TermBasis, Tolerance, CompanySummary,
    };

    impl DebtorQuery {
        /// Every account in `sort` order as of `as_of`, no filter, the first
        /// `limit`; set the fields to filter.
        pub fn unfiltered(as_of: &str, sort: DebtorSort, limit: u32) -> DebtorQuery {
            DebtorQuery {
                as_of: as_of.to_owned(),
                currency: None,
                status: None,
                balance_min: None,
                balance_max: None,
                overdue_min: None,
                days_overdue_min: None,
                utilisation_min_percent: None,
                has_stored_balance: None,
                sort,
                after: None,
                limit,
            }
        }
    }
}

/// The version of the WIT package this host embeds and calls.
pub const WIT_VERSION: &str = wit_version!();

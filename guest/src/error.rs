//! The engine's errors: one case per broken rule, mirrored one-to-one by the
//! WIT `error` variant (`wit/types.wit`).

/// A request field, named as in the WIT contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    AccountId,
    CustomerId,
    OrderId,
    HoldId,
    IdempotencyKey,
    After,
    CreditLimit,
    NewLimit,
    Amount,
    Tolerance,
    DiscountPercent,
    DiscountDays,
    NetDays,
    OpenedBy,
    ChangedBy,
    Reason,
    Method,
    Reference,
    NowMs,
}

impl Field {
    /// The field's WIT name.
    pub fn wit_name(self) -> &'static str {
        match self {
            Field::AccountId => "account-id",
            Field::CustomerId => "customer-id",
            Field::OrderId => "order-id",
            Field::HoldId => "hold-id",
            Field::IdempotencyKey => "idempotency-key",
            Field::After => "after",
            Field::CreditLimit => "credit-limit",
            Field::NewLimit => "new-limit",
            Field::Amount => "amount",
            Field::Tolerance => "tolerance",
            Field::DiscountPercent => "discount.percent",
            Field::DiscountDays => "discount.days",
            Field::NetDays => "net-days",
            Field::OpenedBy => "opened-by",
            Field::ChangedBy => "changed-by",
            Field::Reason => "reason",
            Field::Method => "method",
            Field::Reference => "reference",
            Field::NowMs => "now-ms",
        }
    }
}

/// Why a call was refused. See the WIT `error` variant for each case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    IdMustNotBeEmpty(Field),
    IdTooLong(Field),
    IdHasInvalidCharacter(Field),
    TextTooLong(Field),
    TextHasControlCharacter(Field),
    AmountMalformed(Field),
    AmountMustBePositive(Field),
    AmountMustNotBeNegative(Field),
    AmountTooPrecise(Field),
    AmountTooLarge(Field),
    AmountOverflow,
    CurrencyUnknown(String),
    CurrencyMismatch { expected: String, given: String },
    TimestampOutOfRange(Field),
    HoldTtlOutOfRange,
    PaymentTermsOutOfRange(Field),
    PageLimitOutOfRange,
    IdempotencyKeyReused,
    AccountNotFound(String),
    AccountAlreadyExists(String),
    CustomerHasAccountInCurrency(String),
    AccountClosed,
    AccountNotSettled,
    StatusUnchanged,
    CreditLimitUnchanged,
    TooManyOpenHolds,
    HoldNotFound(String),
    HoldAlreadyCaptured,
    HoldAlreadyVoided,
    HoldExpired,
    CaptureExceedsHold,
    OrderAlreadyAuthorized(String),
    OrderNotFound(String),
    OrderBelongsToAnotherAccount(String),
    ReturnExceedsOrder,
    StoreCorrupt(String),
}

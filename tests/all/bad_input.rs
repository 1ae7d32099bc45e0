//! Every kind of bad input gets its typed error and changes nothing: the
//! whole store is byte-for-byte the same after the refused call.

use credit_host::api::*;
use credit_host::{Ledger, MerchantId};

use crate::support::*;

type Call = Box<dyn Fn(&mut Ledger, &MerchantId, &CallContext) -> anyhow::Result<Result<(), CreditError>>>;

/// Makes each call and checks it is refused with its error and leaves the
/// whole store byte-for-byte as it was.
fn assert_each_refused(h: &mut H, rows: Vec<(&str, Call, CreditError)>) {
    for (name, call, expected) in rows {
        let before = h.dump();
        let c = h.ctx();
        let got = call(&mut h.ledger, &h.m.clone(), &c).unwrap_or_else(|e| panic!("{name}: trapped: {e:#}"));
        assert_eq!(got, Err(expected), "{name}");
        assert_eq!(h.dump(), before, "{name}: the store changed");
    }
}

fn open(req: OpenAccountRequest) -> Call {
    Box::new(move |l, m, c| Ok(l.open_account(m, c, &req)?.map(|_| ())))
}
fn authorize(account: &str, order: &str, amount: Money, ttl: Option<u32>) -> Call {
    let req = AuthorizeRequest { account_id: account.into(), order_id: order.into(), amount, hold_ttl_s: ttl, open_ended: None };
    Box::new(move |l, m, c| Ok(l.authorize(m, c, &req)?.map(|_| ())))
}
fn capture(hold: &str, amount: Money) -> Call {
    let req = CaptureRequest { hold_id: hold.into(), amount, lines: vec![], delivery_date: None, terms: None, delivery: None, rest: None };
    Box::new(move |l, m, c| Ok(l.capture(m, c, &req)?.map(|_| ())))
}
fn amend(hold: &str, amount: Money) -> Call {
    let req = AmendHoldRequest { hold_id: hold.into(), amount };
    Box::new(move |l, m, c| Ok(l.amend_hold(m, c, &req)?.map(|_| ())))
}
fn void(hold: &str) -> Call {
    let hold = hold.to_owned();
    Box::new(move |l, m, c| Ok(l.void_hold(m, c, &hold)?.map(|_| ())))
}
fn apply(account: &str, order: &str, amount: Money) -> Call {
    let req = ApplyBalanceRequest { account_id: account.into(), order_id: order.into(), amount, mode: None };
    Box::new(move |l, m, c| Ok(l.apply_balance(m, c, &req)?.map(|_| ())))
}
fn ret(account: &str, order: &str, amount: Money, reason: &str) -> Call {
    let req = RecordReturnRequest {
        account_id: account.into(),
        order_id: order.into(),
        amount,
        credit_to: CreditTarget::OwedFirst,
        reason: reason.into(),
    };
    Box::new(move |l, m, c| Ok(l.record_return(m, c, &req)?.map(|_| ())))
}
fn pay(account: &str, amount: Money, method: &str) -> Call {
    let req = RecordPaymentRequest {
        account_id: account.into(),
        amount,
        received_on: day_of(T0),
        method: method.into(),
        reference: "r".into(),
        allocations: vec![],
        spread: None,
    };
    Box::new(move |l, m, c| Ok(l.record_payment(m, c, &req)?.map(|_| ())))
}
fn limit(account: &str, amount: Money) -> Call {
    let req = ChangeCreditLimitRequest { account_id: account.into(), new_limit: amount, changed_by: "f".into(), reason: "r".into() };
    Box::new(move |l, m, c| Ok(l.change_credit_limit(m, c, &req)?.map(|_| ())))
}
fn status(account: &str, s: AccountStatus) -> Call {
    let req = SetStatusRequest { account_id: account.into(), status: s, changed_by: "f".into(), reason: "r".into() };
    Box::new(move |l, m, c| Ok(l.set_status(m, c, &req)?.map(|_| ())))
}
fn money(amount: &str, currency: &str) -> Money {
    Money { amount: amount.into(), currency: currency.into() }
}
fn field(f: &str) -> String {
    f.into()
}

fn with_tolerance(t: Tolerance) -> OpenAccountRequest {
    open_req("new", "GBP", "100.00", t)
}
fn with_terms(net_days: u32, discount: Option<(&str, u32)>) -> OpenAccountRequest {
    let mut r = open_req("new", "GBP", "100.00", Tolerance::None);
    r.terms = PaymentTerms {
        net_days,
        basis: TermBasis::EndOfMonth,
        discount: discount.map(|(p, d)| EarlyPaymentDiscount { percent: Some(p.into()), days: d, amount: None, basis: None }),
        instalments: vec![],
        months: None,
        day_of_month: None,
        cut_off_day: None,
    };
    r
}

#[test]
fn each_bad_input_is_refused_with_its_error_and_changes_nothing() {
    use CreditError as E;
    let mut h = H::new();
    h.open("acme", "1000.00");
    h.open_with(&open_req("yen", "JPY", "1000", Tolerance::None)).unwrap();
    let shipped = h.approve("acme", "SO-0", "50.00").hold.hold_id;
    h.capture(&shipped, "50.00").unwrap();
    h.approve("acme", "SO-1", "100.00"); // H-acme-2, open
    h.open("closed", "0.00");
    h.set_status("closed", AccountStatus::Closed).unwrap();

    let long_id = "a".repeat(65);
    let long_text = "x".repeat(257);
    let rows: Vec<(&str, Call, CreditError)> = vec![
        // ids
        ("empty account id", authorize("", "SO-9", gbp("1.00"), None), E::IdMustNotBeEmpty(field("account-id"))),
        ("65-byte account id", authorize(&long_id, "SO-9", gbp("1.00"), None), E::IdTooLong(field("account-id"))),
        ("slash in account id", authorize("ac/me", "SO-9", gbp("1.00"), None), E::IdHasInvalidCharacter(field("account-id"))),
        ("space in order id", authorize("acme", "SO 9", gbp("1.00"), None), E::IdHasInvalidCharacter(field("order-id"))),
        ("empty order id", apply("acme", "", gbp("1.00")), E::IdMustNotBeEmpty(field("order-id"))),
        ("unicode customer id", open(OpenAccountRequest { customer_id: "café".into(), ..open_req("new", "GBP", "1", Tolerance::None) }), E::IdHasInvalidCharacter(field("customer-id"))),
        ("empty hold id", void(""), E::IdMustNotBeEmpty(field("hold-id"))),
        ("97-byte hold id", void(&"H".repeat(97)), E::IdTooLong(field("hold-id"))),
        ("96-byte hold id: looked up", void(&"H".repeat(96)), E::HoldNotFound("H".repeat(96))),
        // amounts
        ("zero amount", authorize("acme", "SO-9", gbp("0"), None), E::AmountMustBePositive(field("amount"))),
        ("zero with decimals", authorize("acme", "SO-9", gbp("0.00"), None), E::AmountMustBePositive(field("amount"))),
        ("negative amount", authorize("acme", "SO-9", gbp("-5.00"), None), E::AmountMustBePositive(field("amount"))),
        ("negative payment", pay("acme", gbp("-1"), "card"), E::AmountMustBePositive(field("amount"))),
        ("negative credit limit", limit("acme", gbp("-1.00")), E::AmountMustNotBeNegative(field("new-limit"))),
        ("letters", authorize("acme", "SO-9", gbp("ten"), None), E::AmountMalformed(field("amount"))),
        ("empty amount", capture("H-acme-2", gbp("")), E::AmountMalformed(field("amount"))),
        ("exponent", authorize("acme", "SO-9", gbp("1e3"), None), E::AmountMalformed(field("amount"))),
        ("thousands separator", pay("acme", gbp("1,000.00"), "card"), E::AmountMalformed(field("amount"))),
        ("leading plus", pay("acme", gbp("+1.00"), "card"), E::AmountMalformed(field("amount"))),
        ("trailing dot", pay("acme", gbp("1."), "card"), E::AmountMalformed(field("amount"))),
        ("41 characters", pay("acme", gbp(&"1".repeat(41)), "card"), E::AmountMalformed(field("amount"))),
        ("three decimals in GBP", authorize("acme", "SO-9", gbp("1.005"), None), E::AmountTooPrecise(field("amount"))),
        ("decimals in JPY", authorize("yen", "SO-9", money("10.5", "JPY"), None), E::AmountTooPrecise(field("amount"))),
        ("above the maximum", pay("acme", gbp("1000000000000.01"), "card"), E::AmountTooLarge(field("amount"))),
        ("beyond exact range", pay("acme", gbp("99999999999999999999999999999999"), "card"), E::AmountTooLarge(field("amount"))),
        ("credit limit too precise", open(open_req("new", "GBP", "10.001", Tolerance::None)), E::AmountTooPrecise(field("credit-limit"))),
        // currencies
        ("unknown currency", authorize("acme", "SO-9", money("1.00", "XXX"), None), E::CurrencyUnknown("XXX".into())),
        ("lower-case currency", open(open_req("new", "gbp", "1.00", Tolerance::None)), E::CurrencyUnknown("gbp".into())),
        ("payment in another currency", pay("acme", money("1.00", "EUR"), "card"), E::CurrencyMismatch(CurrencyMismatch { expected: "GBP".into(), given: "EUR".into() })),
        ("capture in another currency", capture("H-acme-2", money("1.00", "USD")), E::CurrencyMismatch(CurrencyMismatch { expected: "GBP".into(), given: "USD".into() })),
        ("balance in another currency", apply("acme", "SO-9", money("1", "JPY")), E::CurrencyMismatch(CurrencyMismatch { expected: "GBP".into(), given: "JPY".into() })),
        ("limit in another currency", limit("acme", money("1", "JPY")), E::CurrencyMismatch(CurrencyMismatch { expected: "GBP".into(), given: "JPY".into() })),
        // tolerance and terms
        ("tolerance over 100%", open(with_tolerance(Tolerance::Percent("100.01".into()))), E::AmountTooLarge(field("tolerance"))),
        ("tolerance with 3 decimals", open(with_tolerance(Tolerance::Percent("1.125".into()))), E::AmountTooPrecise(field("tolerance"))),
        ("negative tolerance", open(with_tolerance(Tolerance::Amount("-1.00".into()))), E::AmountMustNotBeNegative(field("tolerance"))),
        ("366 net days", open(with_terms(366, None)), E::PaymentTermsOutOfRange(field("net-days"))),
        ("discount window of 0 days", open(with_terms(30, Some(("2", 0)))), E::PaymentTermsOutOfRange(field("discount.days"))),
        ("discount window past net days", open(with_terms(30, Some(("2", 31)))), E::PaymentTermsOutOfRange(field("discount.days"))),
        ("zero discount", open(with_terms(30, Some(("0", 10)))), E::AmountMustBePositive(field("discount.percent"))),
        // texts
        ("257-byte method", pay("acme", gbp("1.00"), &long_text), E::TextTooLong(field("method"))),
        ("newline in reason", ret("acme", "SO-0", gbp("1.00"), "a\nb"), E::TextHasControlCharacter(field("reason"))),
        // hold time-to-live
        ("zero ttl", authorize("acme", "SO-9", gbp("1.00"), Some(0)), E::HoldTtlOutOfRange),
        ("ttl over 90 days", authorize("acme", "SO-9", gbp("1.00"), Some(90 * 86_400 + 1)), E::HoldTtlOutOfRange),
        ("open-ended with a ttl", open_ended("acme", Some(60)), E::HoldTtlOutOfRange),
        ("open-ended where the policy does not allow it", open_ended("acme", None), E::OpenEndedHoldNotAllowed),
        // unknown or closed things
        ("unknown account", authorize("nobody", "SO-9", gbp("1.00"), None), E::AccountNotFound("nobody".into())),
        ("payment to unknown account", pay("nobody", gbp("1.00"), "card"), E::AccountNotFound("nobody".into())),
        ("unknown hold", capture("H99", gbp("1.00")), E::HoldNotFound("H99".into())),
        ("void unknown hold", void("H99"), E::HoldNotFound("H99".into())),
        ("payment to closed account", pay("closed", gbp("1.00"), "card"), E::AccountClosed),
        ("limit on closed account", limit("closed", gbp("1.00")), E::AccountClosed),
        ("existing account", open(open_req("acme", "GBP", "1.00", Tolerance::None)), E::AccountAlreadyExists("acme".into())),
        ("second account in a currency", open(OpenAccountRequest { customer_id: "cust-acme".into(), ..open_req("acme2", "GBP", "1", Tolerance::None) }), E::CustomerHasAccountInCurrency("acme".into())),
        ("return on an order never shipped", ret("acme", "SO-1", gbp("1.00"), "x"), E::OrderNotFound("SO-1".into())),
        ("return above what shipped", ret("acme", "SO-0", gbp("50.01"), "x"), E::ReturnExceedsOrder),
        ("status unchanged", status("acme", AccountStatus::Active), E::StatusUnchanged),
        ("capture above the hold", capture("H-acme-2", gbp("100.01")), E::CaptureExceedsHold),
        // amending a hold
        ("amend to a negative amount", amend("H-acme-2", gbp("-1.00")), E::AmountMustNotBeNegative(field("amount"))),
        ("amend in tenths of a penny", amend("H-acme-2", gbp("1.001")), E::AmountTooPrecise(field("amount"))),
        ("amend above the largest amount", amend("H-acme-2", gbp("1000000000000.01")), E::AmountTooLarge(field("amount"))),
        ("amend in another currency", amend("H-acme-2", money("1", "JPY")), E::CurrencyMismatch(CurrencyMismatch { expected: "GBP".into(), given: "JPY".into() })),
        ("amend an unknown hold", amend("H99", gbp("1.00")), E::HoldNotFound("H99".into())),
        ("amend a captured hold", amend("H-acme-1", gbp("1.00")), E::HoldAlreadyCaptured),
        ("amend a 97-byte hold id", amend(&"H".repeat(97), gbp("1.00")), E::IdTooLong(field("hold-id"))),
    ];

    let count = rows.len();
    assert_each_refused(&mut h, rows);
    h.check();
    assert_eq!(count, 64);
}

#[test]
fn a_bad_context_is_refused_before_anything_else() {
    use CreditError as E;
    let mut h = H::new();
    h.open("acme", "1000.00");
    let before = h.dump();
    let req = AuthorizeRequest { account_id: "acme".into(), order_id: "SO-1".into(), amount: gbp("1.00"), hold_ttl_s: None, open_ended: None };
    let cases = [
        ("", T0, E::IdMustNotBeEmpty(field("idempotency-key"))),
        ("has space", T0, E::IdHasInvalidCharacter(field("idempotency-key"))),
        ("tab\t", T0, E::IdHasInvalidCharacter(field("idempotency-key"))),
        (&*"k".repeat(129), T0, E::IdTooLong(field("idempotency-key"))),
        ("ok", -1, E::TimestampOutOfRange(field("now-ms"))),
        ("ok", 253_402_300_800_000, E::TimestampOutOfRange(field("now-ms"))),
        ("ok", i64::MIN, E::TimestampOutOfRange(field("now-ms"))),
    ];
    for (key, now_ms, expected) in cases {
        let c = CallContext { idempotency_key: key.into(), now_ms };
        assert_eq!(h.ledger.authorize(&h.m, &c, &req).unwrap(), Err(expected), "{key:?} at {now_ms}");
    }
    // The longest key and the last valid instant are accepted.
    let c = CallContext { idempotency_key: "k".repeat(128), now_ms: 253_402_300_799_999 };
    assert!(h.ledger.authorize(&h.m, &c, &req).unwrap().is_ok());
    assert_ne!(h.dump(), before);
    h.check();
}

#[test]
fn queries_check_their_arguments() {
    use CreditError as E;
    let mut h = H::new();
    h.open("acme", "1000.00");
    let m = h.m.clone();
    assert_eq!(h.ledger.ledger(&m, "acme", None, 0).unwrap(), Err(E::PageLimitOutOfRange));
    assert_eq!(h.ledger.ledger(&m, "acme", None, 101).unwrap(), Err(E::PageLimitOutOfRange));
    assert!(h.ledger.ledger(&m, "acme", None, 100).unwrap().is_ok());
    assert_eq!(h.ledger.list_accounts(&m, None, 0).unwrap(), Err(E::PageLimitOutOfRange));
    assert_eq!(h.ledger.get_account(&m, "nobody", T0).unwrap(), Err(E::AccountNotFound("nobody".into())));
    assert_eq!(h.ledger.get_account(&m, "acme", -5).unwrap(), Err(E::TimestampOutOfRange(field("now-ms"))));
    assert_eq!(h.ledger.open_holds(&m, "", T0).unwrap(), Err(E::IdMustNotBeEmpty(field("account-id"))));
    assert_eq!(h.ledger.get_hold(&m, "H1", T0).unwrap(), Err(E::HoldNotFound("H1".into())));
    assert_eq!(h.ledger.credit_limit_history(&m, "nobody", None, 10).unwrap(), Err(E::AccountNotFound("nobody".into())));
}

#[test]
fn reports_check_their_arguments() {
    use CreditError as E;
    let mut h = H::new();
    h.open("acme", "1000.00");
    let m = h.m.clone();
    let before = h.dump();
    let l = &mut h.ledger;
    assert_eq!(l.statement(&m, "acme", "2026-13-01", "2026-12-31", None).unwrap().map(|_| ()), Err(E::DateMalformed(field("period-from"))));
    assert_eq!(l.statement(&m, "acme", "2026-01-01", "31/12/2026", None).unwrap().map(|_| ()), Err(E::DateMalformed(field("period-to"))));
    assert_eq!(l.statement(&m, "nobody", "2026-01-01", "2026-01-31", None).unwrap().map(|_| ()), Err(E::AccountNotFound("nobody".into())));
    assert_eq!(l.statements(&m, "acme", None, 0).unwrap().map(|_| ()), Err(E::PageLimitOutOfRange));
    assert_eq!(l.get_statement(&m, "acme", 1).unwrap().map(|_| ()), Err(E::StatementNotFound(1)));
    assert_eq!(l.account_aging(&m, "acme", "2026-02-30", AgingBasis::DueDate, &[]).unwrap().map(|_| ()), Err(E::DateMalformed(field("as-of"))));
    assert_eq!(l.account_aging(&m, "acme", "2026-02-28", AgingBasis::DueDate, &[60, 30]).unwrap().map(|_| ()), Err(E::ReportQueryOutOfRange(field("edges"))));
    let aging = AgingRequest { as_of: "2026-02-28".into(), basis: AgingBasis::DueDate, edges: vec![], currency: Some("gbp".into()), company_id: None, after: None, limit: 10 };
    assert_eq!(l.aging(&m, &aging).unwrap().map(|_| ()), Err(E::CurrencyUnknown("gbp".into())));
    let aging = AgingRequest { currency: None, limit: 101, ..aging };
    assert_eq!(l.aging(&m, &aging).unwrap().map(|_| ()), Err(E::PageLimitOutOfRange));
    let aging = AgingRequest { limit: 10, after: Some("a/b".into()), ..aging };
    assert_eq!(l.aging(&m, &aging).unwrap().map(|_| ()), Err(E::IdHasInvalidCharacter(field("after"))));
    let debtors = DebtorQuery {
        as_of: "2026-02-28".into(),
        currency: None,
        status: None,
        balance_min: Some("ten".into()),
        balance_max: None,
        overdue_min: None,
        days_overdue_min: None,
        utilisation_min_percent: None,
        has_stored_balance: None,
        sort: DebtorSort::Balance,
        after: None,
        limit: 10,
    };
    assert_eq!(l.debtors(&m, &debtors).unwrap().map(|_| ()), Err(E::AmountMalformed(field("balance-min"))));
    let debtors = DebtorQuery { balance_min: None, utilisation_min_percent: Some("-1".into()), ..debtors };
    assert_eq!(l.debtors(&m, &debtors).unwrap().map(|_| ()), Err(E::AmountMustNotBeNegative(field("utilisation-percent"))));
    let debtors = DebtorQuery { utilisation_min_percent: None, after: Some("x".repeat(161)), ..debtors };
    assert_eq!(l.debtors(&m, &debtors).unwrap().map(|_| ()), Err(E::IdTooLong(field("after"))));
    let rules = WarningRules { window: 11, utilisation_percent: "90".into(), bounce_days: 90, first_overdue_days: 30 };
    assert_eq!(l.warnings(&m, "2026-02-28", &rules, None, 10).unwrap().map(|_| ()), Err(E::ReportQueryOutOfRange(field("rules.window"))));
    let rules = WarningRules { window: 3, utilisation_percent: "0".into(), ..rules };
    assert_eq!(l.warnings(&m, "2026-02-28", &rules, None, 10).unwrap().map(|_| ()), Err(E::AmountMustBePositive(field("utilisation-percent"))));
    assert_eq!(l.notes(&m, "acme", None, 0).unwrap().map(|_| ()), Err(E::PageLimitOutOfRange));
    assert_eq!(l.deliveries(&m, "nobody", None, 10).unwrap().map(|_| ()), Err(E::AccountNotFound("nobody".into())));
    let c = h.ctx();
    let note = AddNoteRequest { account_id: "nobody".into(), by: "f".into(), text: "t".into(), promise: None };
    assert_eq!(h.ledger.add_note(&m, &c, &note).unwrap().map(|_| ()), Err(E::AccountNotFound("nobody".into())));
    let note = AddNoteRequest { account_id: "acme".into(), by: "x".repeat(257), text: "t".into(), promise: None };
    assert_eq!(h.ledger.add_note(&m, &c, &note).unwrap().map(|_| ()), Err(E::TextTooLong(field("by"))));
    let policy = SetBillingPolicyRequest {
        account_id: "acme".into(),
        terms: net30(),
        policy: BillingPolicy { statement_day: Some(32), ..quiet_policy() },
        changed_by: "f".into(),
        reason: "r".into(),
    };
    assert_eq!(h.ledger.set_billing_policy(&m, &c, &policy).unwrap().map(|_| ()), Err(E::PolicyOutOfRange(field("policy.statement-day"))));
    assert_eq!(h.dump(), before, "nothing changed");
}

#[test]
fn limits_hold_at_their_boundaries() {
    use CreditError as E;
    let mut h = H::new();
    // The longest id and text are accepted.
    let id64 = "a".repeat(64);
    let mut req = open_req(&id64, "GBP", "1000000000000", Tolerance::None);
    req.customer_id = "c".repeat(64);
    req.opened_by = "é".repeat(128); // 256 bytes
    h.open_with(&req).unwrap();
    // HOLDS_PER_ACCOUNT_MAX = 64 open holds; the 65th is refused.
    for i in 0..64 {
        h.approve(&id64, &format!("SO-{i}"), "1.00");
    }
    let before = h.dump();
    assert_eq!(h.authorize(&id64, "SO-64", gbp("1.00")), Err(E::TooManyOpenHolds));
    assert_eq!(h.dump(), before);
    // Releasing one makes room again.
    // Ids the component issues carry the account id: 96 bytes at most.
    let first = format!("H-{id64}-1");
    assert_eq!(first.len(), 68);
    h.void(&first).unwrap();
    h.approve(&id64, "SO-64", "1.00");
    // AMOUNT_MAX itself is accepted.
    h.pay(&id64, "1000000000000.00").unwrap();
}

fn pay_full(req: RecordPaymentRequest) -> Call {
    Box::new(move |l, m, c| Ok(l.record_payment(m, c, &req)?.map(|_| ())))
}
fn cancel_full(note: &str, reason: &str) -> Call {
    let req = CancelCreditNoteRequest { credit_note_id: note.into(), reason: reason.into() };
    Box::new(move |l, m, c| Ok(l.cancel_credit_note(m, c, &req)?.map(|_| ())))
}

fn open_ended(account: &str, ttl: Option<u32>) -> Call {
    let req = AuthorizeRequest { account_id: account.into(), order_id: "SO-9".into(), amount: gbp("1.00"), hold_ttl_s: ttl, open_ended: Some(true) };
    Box::new(move |l, m, c| Ok(l.authorize(m, c, &req)?.map(|_| ())))
}

fn write_off_full(invoice: &str, reason: &str) -> Call {
    let req = WriteOffRequest { invoice_id: invoice.into(), reason: reason.into() };
    Box::new(move |l, m, c| Ok(l.write_off(m, c, &req)?.map(|_| ())))
}
fn refund_of(account: &str, amount: &str, method: &str) -> RefundRequest {
    RefundRequest { account_id: account.into(), amount: gbp(amount), method: method.into(), reference: "r".into() }
}
fn refund_req(req: RefundRequest) -> Call {
    Box::new(move |l, m, c| Ok(l.refund_balance(m, c, &req)?.map(|_| ())))
}
fn refund_full(account: &str, amount: &str, method: &str) -> Call {
    refund_req(refund_of(account, amount, method))
}
fn apply_full(req: ApplyBalanceRequest) -> Call {
    Box::new(move |l, m, c| Ok(l.apply_balance(m, c, &req)?.map(|_| ())))
}
fn capture_full(req: CaptureRequest) -> Call {
    Box::new(move |l, m, c| Ok(l.capture(m, c, &req)?.map(|_| ())))
}
fn note(text: String, promise: Option<(&str, &str)>) -> Call {
    let req = AddNoteRequest {
        account_id: "acme".into(),
        by: "finance".into(),
        text,
        promise: promise.map(|(pay_by, amount)| Promise { pay_by: pay_by.into(), amount: amount.into() }),
    };
    Box::new(move |l, m, c| Ok(l.add_note(m, c, &req)?.map(|_| ())))
}
fn ship(cost: &str, charged: &str) -> DeliveryDetails {
    DeliveryDetails { carrier: "DPD".into(), tracking_reference: "T1".into(), cost: cost.into(), charged: charged.into() }
}
fn close(account: &str, date: &str) -> Call {
    let (account, date) = (account.to_owned(), date.to_owned());
    Box::new(move |l, m, c| Ok(l.day_close(m, c, &account, &date)?.map(|_| ())))
}
fn reverse(payment: &str) -> Call {
    let payment = payment.to_owned();
    Box::new(move |l, m, c| Ok(l.reverse_payment(m, c, &payment, "bounced")?.map(|_| ())))
}

#[test]
fn each_bad_billing_input_is_refused_with_its_error_and_changes_nothing() {
    use CreditError as E;
    let mut h = H::new();
    h.open("acme", "1000.00");
    h.open("other", "1000.00");
    let inv = h.invoice("acme", "SO-0", "100.00").invoice_id; // INV1, due 2026-04-01
    let foreign = h.invoice("other", "SO-9", "10.00").invoice_id;
    let open_hold = h.approve("acme", "SO-1", "100.00").hold.hold_id;

    let payment = |allocations: Vec<(&str, &str)>, amount: &str, received_on: &str| RecordPaymentRequest {
        account_id: "acme".into(),
        amount: gbp(amount),
        received_on: received_on.into(),
        method: "card".into(),
        reference: "r".into(),
        allocations: allocations.into_iter().map(|(i, a)| AllocationRequest { invoice_id: i.into(), amount: a.into() }).collect(),
        spread: None,
    };
    let line = |q: &str, p: &str, t: &str| InvoiceLine { description: "x".into(), quantity: q.into(), unit_price: p.into(), tax: t.into(), tax_rate: None };
    let cap = |lines: Vec<InvoiceLine>, delivery: Option<&str>, terms: Option<PaymentTerms>| CaptureRequest {
        hold_id: open_hold.clone(),
        amount: gbp("100.00"),
        lines,
        delivery_date: delivery.map(str::to_owned),
        terms,
        delivery: None,
        rest: None,
    };
    let parts = |net_days: u32, p: &[(&str, u32)], discount: bool| PaymentTerms {
        net_days,
        basis: TermBasis::InvoiceDate,
        discount: discount.then(|| EarlyPaymentDiscount { percent: Some("2".into()), days: 10, amount: None, basis: None }),
        instalments: p.iter().map(|(pc, d)| Instalment { percent: Some((*pc).into()), days: *d, amount: None }).collect(),
        months: None,
        day_of_month: None,
        cut_off_day: None,
    };
    let inst = |percent: Option<&str>, amount: Option<&str>, days: u32| Instalment { percent: percent.map(Into::into), days, amount: amount.map(Into::into) };
    let disc = |percent: Option<&str>, amount: Option<&str>| EarlyPaymentDiscount { percent: percent.map(Into::into), days: 10, amount: amount.map(Into::into), basis: None };
    let lines = |net_days: u32, instalments: Vec<Instalment>, discount: Option<EarlyPaymentDiscount>| PaymentTerms { instalments, discount, ..parts(net_days, &[], false) };
    let rated = |rate: &str| InvoiceLine { tax: "20.00".into(), unit_price: "80.00".into(), tax_rate: Some(rate.into()), ..line("1", "80.00", "20.00") };
    use TermBasis::*;
    let shape = |basis, net_days, months, day_of_month, cut_off_day| PaymentTerms {
        net_days,
        basis,
        discount: None,
        instalments: vec![],
        months,
        day_of_month,
        cut_off_day,
    };
    let policy = |f: &dyn Fn(&mut BillingPolicy)| {
        let mut p = quiet_policy();
        f(&mut p);
        OpenAccountRequest { policy: p, ..open_req("new", "GBP", "1.00", Tolerance::None) }
    };
    let today = day_of(T0);
    let many: Vec<(String, String)> = (0..101).map(|i| (format!("INV{}", 1000 + i), "1.00".to_owned())).collect();
    let too_many = RecordPaymentRequest {
        allocations: many.iter().map(|(i, a)| AllocationRequest { invoice_id: i.clone(), amount: a.clone() }).collect(),
        ..payment(vec![], "200.00", &today)
    };

    let rows: Vec<(&str, Call, CreditError)> = vec![
        // payments
        ("received date malformed", pay_full(payment(vec![], "1.00", "2026-3-2")), E::DateMalformed(field("received-on"))),
        ("received tomorrow", pay_full(payment(vec![], "1.00", "2026-03-03")), E::DateInFuture(field("received-on"))),
        ("allocation to an unknown invoice", pay_full(payment(vec![("INV99", "1.00")], "1.00", &today)), E::InvoiceNotFound("INV99".into())),
        ("allocation to another account's invoice", pay_full(payment(vec![(&foreign, "1.00")], "1.00", &today)), E::InvoiceBelongsToAnotherAccount(foreign.clone())),
        ("allocation above what is owed", pay_full(payment(vec![(&inv, "100.01")], "200.00", &today)), E::AllocationExceedsOutstanding(inv.clone())),
        ("allocations above the payment", pay_full(payment(vec![(&inv, "60.00")], "50.00", &today)), E::AllocationExceedsAmount),
        ("the same invoice twice", pay_full(payment(vec![(&inv, "1.00"), (&inv, "2.00")], "5.00", &today)), E::DuplicateAllocation(inv.clone())),
        ("zero allocation", pay_full(payment(vec![(&inv, "0")], "5.00", &today)), E::AmountMustBePositive(field("allocations.amount"))),
        ("101 allocations", pay_full(too_many), E::TooManyAllocations),
        ("unknown payment", reverse("P99"), E::PaymentNotFound("P99".into())),
        // day-close
        ("close date malformed", close("acme", "02/03/2026"), E::DateMalformed(field("date"))),
        ("close in the future", close("acme", "2026-03-03"), E::DateInFuture(field("date"))),
        ("close unknown account", close("nobody", "2026-03-02"), E::AccountNotFound("nobody".into())),
        // invoice lines and terms
        ("lines that do not add up", capture_full(cap(vec![line("1", "99.99", "0")], None, None)), E::InvoiceTotalMismatch),
        ("101 lines", capture_full(cap((0..101).map(|_| line("1", "1", "0")).collect(), None, None)), E::TooManyLines),
        ("zero quantity", capture_full(cap(vec![line("0", "100", "0")], None, None)), E::AmountMustBePositive(field("lines.quantity"))),
        ("unit price with 5 decimals", capture_full(cap(vec![line("1", "99.99999", "0")], None, None)), E::AmountTooPrecise(field("lines.unit-price"))),
        ("tax with 3 decimals", capture_full(cap(vec![line("1", "99", "1.001")], None, None)), E::AmountTooPrecise(field("lines.tax"))),
        ("delivery date malformed", capture_full(cap(vec![], Some("2026-02-30"), None)), E::DateMalformed(field("delivery-date"))),
        ("delivery cost negative", capture_full(CaptureRequest { delivery: Some(ship("-1.00", "0.00")), ..cap(vec![], None, None) }), E::AmountMustNotBeNegative(field("delivery.cost"))),
        ("delivery charged in tenths of a penny", capture_full(CaptureRequest { delivery: Some(ship("5.00", "4.999")), ..cap(vec![], None, None) }), E::AmountTooPrecise(field("delivery.charged"))),
        ("carrier with a control character", capture_full(CaptureRequest { delivery: Some(DeliveryDetails { carrier: "DPD\n".into(), ..ship("1", "1") }), ..cap(vec![], None, None) }), E::TextHasControlCharacter(field("delivery.carrier"))),
        ("tracking reference too long", capture_full(CaptureRequest { delivery: Some(DeliveryDetails { tracking_reference: "t".repeat(257), ..ship("1", "1") }), ..cap(vec![], None, None) }), E::TextTooLong(field("delivery.tracking-reference"))),
        // notes
        ("note of 2,001 bytes", note("x".repeat(2001), None), E::TextTooLong(field("text"))),
        ("note with a NUL", note("a\0b".into(), None), E::TextHasControlCharacter(field("text"))),
        ("promise on no date", note("n".into(), Some(("2026-02-30", "10.00"))), E::DateMalformed(field("promise.pay-by"))),
        ("promise of nothing", note("n".into(), Some(("2026-04-01", "0.00"))), E::AmountMustBePositive(field("promise.amount"))),
        ("promise in tenths of a penny", note("n".into(), Some(("2026-04-01", "1.001"))), E::AmountTooPrecise(field("promise.amount"))),
        ("instalments of 99%", capture_full(cap(vec![], None, Some(parts(60, &[("49", 30), ("50", 60)], false)))), E::PaymentTermsOutOfRange(field("instalments.percent"))),
        ("last instalment before net days", capture_full(cap(vec![], None, Some(parts(60, &[("50", 30), ("50", 45)], false)))), E::PaymentTermsOutOfRange(field("instalments.days"))),
        ("instalments out of order", capture_full(cap(vec![], None, Some(parts(60, &[("50", 60), ("50", 30)], false)))), E::PaymentTermsOutOfRange(field("instalments.days"))),
        ("instalments with a discount", capture_full(cap(vec![], None, Some(parts(60, &[("50", 30), ("50", 60)], true)))), E::PaymentTermsOutOfRange(field("instalments.days"))),
        // term shapes: a field the basis does not use is refused, and every
        // one it uses is bounded
        ("calendar terms with net days", capture_full(cap(vec![], None, Some(shape(DayOfMonth, 30, None, Some(10), None)))), E::PaymentTermsOutOfRange(field("net-days"))),
        ("day of month missing", capture_full(cap(vec![], None, Some(shape(DayOfMonth, 0, None, None, None)))), E::PaymentTermsOutOfRange(field("day-of-month"))),
        ("day of month 0", capture_full(cap(vec![], None, Some(shape(DayOfMonth, 0, None, Some(0), None)))), E::PaymentTermsOutOfRange(field("day-of-month"))),
        ("day of month 32", capture_full(cap(vec![], None, Some(shape(DayOfMonth, 0, None, Some(32), None)))), E::PaymentTermsOutOfRange(field("day-of-month"))),
        ("day of month on net days", capture_full(cap(vec![], None, Some(shape(InvoiceDate, 30, None, Some(10), None)))), E::PaymentTermsOutOfRange(field("day-of-month"))),
        ("0 months", capture_full(cap(vec![], None, Some(shape(MonthsAfterInvoice, 0, Some(0), None, None)))), E::PaymentTermsOutOfRange(field("months"))),
        ("13 months", capture_full(cap(vec![], None, Some(shape(MonthsAfterEndOfMonth, 0, Some(13), None, None)))), E::PaymentTermsOutOfRange(field("months"))),
        ("months on end of month", capture_full(cap(vec![], None, Some(shape(EndOfMonth, 30, Some(1), None, None)))), E::PaymentTermsOutOfRange(field("months"))),
        ("months on net then end of month", capture_full(cap(vec![], None, Some(shape(EndOfMonthAfterDays, 30, Some(1), None, None)))), E::PaymentTermsOutOfRange(field("months"))),
        ("cut-off day 0", capture_full(cap(vec![], None, Some(shape(EndOfMonth, 30, None, None, Some(0))))), E::PaymentTermsOutOfRange(field("cut-off-day"))),
        ("cut-off day 31", capture_full(cap(vec![], None, Some(shape(DayOfMonth, 0, None, Some(10), Some(31))))), E::PaymentTermsOutOfRange(field("cut-off-day"))),
        ("cut-off on the invoice date", capture_full(cap(vec![], None, Some(shape(InvoiceDate, 30, None, None, Some(25))))), E::PaymentTermsOutOfRange(field("cut-off-day"))),
        ("cut-off on months after invoice", capture_full(cap(vec![], None, Some(shape(MonthsAfterInvoice, 0, Some(1), None, Some(25))))), E::PaymentTermsOutOfRange(field("cut-off-day"))),
        ("instalments on a calendar basis", capture_full(cap(vec![], None, Some(PaymentTerms { instalments: vec![Instalment { percent: Some("100".into()), days: 0, amount: None }], ..shape(MonthsAfterInvoice, 0, None, None, None) }))), E::PaymentTermsOutOfRange(field("instalments"))),
        ("calendar discount of 366 days", capture_full(cap(vec![], None, Some(PaymentTerms { discount: Some(EarlyPaymentDiscount { percent: Some("2".into()), days: 366, amount: None, basis: None }), ..shape(DayOfMonth, 0, None, Some(10), None) }))), E::PaymentTermsOutOfRange(field("discount.days"))),
        ("discount past net days then end of month", capture_full(cap(vec![], None, Some(PaymentTerms { discount: Some(EarlyPaymentDiscount { percent: Some("2".into()), days: 11, amount: None, basis: None }), ..shape(EndOfMonthAfterDays, 10, None, None, None) }))), E::PaymentTermsOutOfRange(field("discount.days"))),
        // instalment lines and discount shapes
        ("instalment percent with 7 decimals", capture_full(cap(vec![], None, Some(lines(60, vec![inst(Some("33.3333333"), None, 30), inst(None, None, 60)], None)))), E::AmountTooPrecise(field("instalments.percent"))),
        ("instalment with a percent and an amount", capture_full(cap(vec![], None, Some(lines(60, vec![inst(Some("50"), Some("10.00"), 30), inst(None, None, 60)], None)))), E::PaymentTermsOutOfRange(field("instalments.amount"))),
        ("instalment amount of nothing", capture_full(cap(vec![], None, Some(lines(60, vec![inst(None, Some("0.00"), 30), inst(None, None, 60)], None)))), E::AmountMustBePositive(field("instalments.amount"))),
        ("instalment amount in tenths of a penny", capture_full(cap(vec![], None, Some(lines(60, vec![inst(None, Some("1.001"), 30), inst(None, None, 60)], None)))), E::AmountTooPrecise(field("instalments.amount"))),
        ("a balance line not last", capture_full(cap(vec![], None, Some(lines(60, vec![inst(None, None, 30), inst(Some("50"), None, 60)], None)))), E::PaymentTermsOutOfRange(field("instalments"))),
        ("fixed lines without a balance line", capture_full(cap(vec![], None, Some(lines(60, vec![inst(None, Some("10.00"), 30), inst(Some("100"), None, 60)], None)))), E::PaymentTermsOutOfRange(field("instalments.amount"))),
        ("shares above 100 before a balance line", capture_full(cap(vec![], None, Some(lines(60, vec![inst(Some("60"), None, 30), inst(Some("40.000001"), None, 30), inst(None, None, 60)], None)))), E::PaymentTermsOutOfRange(field("instalments.percent"))),
        ("discount with a percent and an amount", capture_full(cap(vec![], None, Some(lines(30, vec![], Some(disc(Some("2"), Some("1.00"))))))), E::PaymentTermsOutOfRange(field("discount.amount"))),
        ("discount of neither percent nor amount", capture_full(cap(vec![], None, Some(lines(30, vec![], Some(disc(None, None)))))), E::PaymentTermsOutOfRange(field("discount.percent"))),
        ("discount amount of nothing", capture_full(cap(vec![], None, Some(lines(30, vec![], Some(disc(None, Some("0"))))))), E::AmountMustBePositive(field("discount.amount"))),
        ("discount amount in tenths of a penny", capture_full(cap(vec![], None, Some(lines(30, vec![], Some(disc(None, Some("0.005"))))))), E::AmountTooPrecise(field("discount.amount"))),
        ("discount percent with 3 decimals", capture_full(cap(vec![], None, Some(lines(30, vec![], Some(disc(Some("2.125"), None)))))), E::AmountTooPrecise(field("discount.percent"))),
        ("account with a discount amount in yen decimals", open(OpenAccountRequest { terms: lines(30, vec![], Some(disc(None, Some("1.5")))), ..open_req("new", "JPY", "100", Tolerance::None) }), E::AmountTooPrecise(field("discount.amount"))),
        ("tax rate above 100", capture_full(cap(vec![rated("100.5")], None, None)), E::AmountTooLarge(field("lines.tax-rate"))),
        ("negative tax rate", capture_full(cap(vec![rated("-1")], None, None)), E::AmountMustNotBeNegative(field("lines.tax-rate"))),
        ("tax rate with 5 decimals", capture_full(cap(vec![rated("7.12345")], None, None)), E::AmountTooPrecise(field("lines.tax-rate"))),
        ("tax rate not a number", capture_full(cap(vec![rated("20%")], None, None)), E::AmountMalformed(field("lines.tax-rate"))),
        ("account opened on terms that say too much", open(OpenAccountRequest { terms: shape(MonthsAfterInvoice, 0, Some(2), Some(10), None), ..open_req("new", "GBP", "1.00", Tolerance::None) }), E::PaymentTermsOutOfRange(field("day-of-month"))),
        // write-offs
        ("write off an unknown item", write_off_full("INV99", "x"), E::InvoiceNotFound("INV99".into())),
        ("write off another item's 97-byte id", write_off_full(&"I".repeat(97), "x"), E::IdTooLong(field("invoice-id"))),
        ("write-off reason too long", write_off_full(&inv, &"r".repeat(257)), E::TextTooLong(field("reason"))),
        // credit notes
        ("cancel an unknown credit note", cancel_full("CN-acme-99", "x"), E::CreditNoteNotFound("CN-acme-99".into())),
        ("cancel a 97-byte credit note id", cancel_full(&"C".repeat(97), "x"), E::IdTooLong(field("credit-note-id"))),
        ("cancellation reason with a control character", cancel_full("CN-acme-1", "oops\u{1b}"), E::TextHasControlCharacter(field("reason"))),
        // refunds
        ("refund of nothing", refund_full("acme", "0.00", "card"), E::AmountMustBePositive(field("amount"))),
        ("refund in another currency", refund_req(RefundRequest { amount: Money { amount: "1".into(), currency: "JPY".into() }, ..refund_of("acme", "1.00", "card") }), E::CurrencyMismatch(CurrencyMismatch { expected: "GBP".into(), given: "JPY".into() })),
        ("refund method with a control character", refund_full("acme", "1.00", "card\u{7}"), E::TextHasControlCharacter(field("method"))),
        ("refund to an unknown account", refund_full("nobody", "1.00", "card"), E::AccountNotFound("nobody".into())),
        ("refund with no stored balance", refund_full("acme", "0.01", "card"), E::RefundExceedsBalance(BalanceShortfall { requested: "0.01".into(), available: "0.00".into() })),
        // strict or partial
        ("a spread and named allocations", pay_full(RecordPaymentRequest { spread: Some(PaymentSpread::ProRata), ..payment(vec![(&inv, "1.00")], "1.00", &today) }), E::AllocationSpreadConflict),
        ("all-or-nothing with no stored balance", apply_full(ApplyBalanceRequest { account_id: "acme".into(), order_id: "SO-7".into(), amount: gbp("0.01"), mode: Some(ApplyMode::AllOrNothing) }), E::StoredBalanceInsufficient(BalanceShortfall { requested: "0.01".into(), available: "0.00".into() })),
        // policy
        ("grace of 366 days", open(policy(&|p| p.grace_days = 366)), E::PolicyOutOfRange(field("policy.grace-days"))),
        ("reminders out of order", open(policy(&|p| p.reminders = vec![ReminderStep { offset_days: 7, level: 1 }, ReminderStep { offset_days: 0, level: 2 }])), E::PolicyOutOfRange(field("policy.reminders"))),
        ("reminder level 0", open(policy(&|p| p.reminders = vec![ReminderStep { offset_days: 0, level: 0 }])), E::PolicyOutOfRange(field("policy.reminders"))),
        ("interest of 0%", open(policy(&|p| p.interest = Some(InterestRule { annual_rate_percent: "0".into(), day_count: DayCount::Actual360 }))), E::AmountMustBePositive(field("policy.interest.annual-rate-percent"))),
        ("interest of 101%", open(policy(&|p| p.interest = Some(InterestRule { annual_rate_percent: "101".into(), day_count: DayCount::Actual360 }))), E::AmountTooLarge(field("policy.interest.annual-rate-percent"))),
        ("interest with 5 decimals", open(policy(&|p| p.interest = Some(InterestRule { annual_rate_percent: "8.00001".into(), day_count: DayCount::Actual360 }))), E::AmountTooPrecise(field("policy.interest.annual-rate-percent"))),
        ("negative late fee", open(policy(&|p| p.late_fee = Some("-5.00".into()))), E::AmountMustBePositive(field("policy.late-fee"))),
        ("hold after 366 days", open(policy(&|p| p.hold_after_days_overdue = Some(366))), E::PolicyOutOfRange(field("policy.hold-after-days-overdue"))),
        ("negative small difference", open(policy(&|p| p.small_difference_max = "-0.01".into())), E::AmountMustNotBeNegative(field("policy.small-difference-max"))),
    ];
    let count = rows.len();
    assert_each_refused(&mut h, rows);
    // A reversed payment cannot be reversed again.
    let p = h.pay("acme", "10.00").unwrap().payment.payment_id;
    let c = h.ctx();
    h.ledger.reverse_payment(&h.m, &c, &p, "bounced").unwrap().unwrap();
    let before = h.dump();
    let c = h.ctx();
    assert_eq!(h.ledger.reverse_payment(&h.m, &c, &p, "bounced").unwrap().map(|_| ()), Err(E::PaymentAlreadyReversed));
    assert_eq!(h.dump(), before);
    assert_eq!(h.ledger.open_invoices(&h.m, "acme", "tomorrow", None, 10).unwrap().map(|_| ()), Err(E::DateMalformed(field("today"))));
    assert_eq!(h.ledger.get_invoice(&h.m, "INV99", "2026-03-02").unwrap().map(|_| ()), Err(E::InvoiceNotFound("INV99".into())));
    // Paged queries of open items and of an item's allocations.
    let today = "2026-03-02";
    assert_eq!(h.ledger.open_invoices(&h.m, "acme", today, None, 0).unwrap().map(|_| ()), Err(E::PageLimitOutOfRange));
    assert_eq!(h.ledger.open_invoices(&h.m, "acme", today, None, 101).unwrap().map(|_| ()), Err(E::PageLimitOutOfRange));
    assert_eq!(h.ledger.open_invoices(&h.m, "acme", today, Some("2026-03-02 1"), 10).unwrap().map(|_| ()), Err(E::IdHasInvalidCharacter(field("after"))));
    assert_eq!(h.ledger.open_invoices(&h.m, "acme", today, Some(&"9".repeat(97)), 10).unwrap().map(|_| ()), Err(E::IdTooLong(field("after"))));
    assert_eq!(h.ledger.open_invoices(&h.m, "nobody", today, None, 10).unwrap().map(|_| ()), Err(E::AccountNotFound("nobody".into())));
    assert_eq!(h.ledger.invoice_allocations(&h.m, "INV99", None, 10).unwrap().map(|_| ()), Err(E::InvoiceNotFound("INV99".into())));
    assert_eq!(h.ledger.invoice_allocations(&h.m, "INV1", None, 0).unwrap().map(|_| ()), Err(E::PageLimitOutOfRange));
    // Any position is a place to continue from; past the end is empty.
    let page = h.ledger.open_invoices(&h.m, "acme", today, Some("9999-12-31/x"), 10).unwrap().unwrap();
    assert!(page.invoices.is_empty() && page.next_after.is_none());
    h.check();
    assert_eq!(count, 88);
}

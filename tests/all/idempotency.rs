//! Retries with an idempotency key have exactly one effect.

use credit_host::api::*;

use crate::support::*;

/// Runs `call` with one key, then again with the same key a day later, and
/// checks the second answer is the first and the store did not change.
fn retried<T: PartialEq + std::fmt::Debug>(
    h: &mut H,
    call: impl Fn(&mut H, &CallContext) -> anyhow::Result<Result<T, CreditError>>,
) -> T {
    let c = h.ctx();
    let first = call(h, &c).expect("no trap").expect("the first call succeeds");
    let before = h.dump();
    let later = CallContext { now_ms: c.now_ms + DAY_MS, ..c.clone() };
    let second = call(h, &later).expect("no trap").expect("the retry succeeds");
    assert_eq!(first, second, "a retry returns the first answer");
    assert_eq!(h.dump(), before, "a retry changes nothing");
    h.check();
    first
}

#[test]
fn every_mutating_call_has_one_effect_per_key() {
    let mut h = H::new();
    let m = h.m.clone();
    retried(&mut h, |h, c| h.ledger.open_account(&m, c, &open_req("acme", "GBP", "1000.00", Tolerance::None)));
    retried(&mut h, |h, c| {
        h.ledger.change_credit_limit(
            &m,
            c,
            &ChangeCreditLimitRequest { account_id: "acme".into(), new_limit: gbp("2000.00"), changed_by: "f".into(), reason: "r".into() },
        )
    });
    let approval = retried(&mut h, |h, c| {
        h.ledger.authorize(&m, c, &AuthorizeRequest { account_id: "acme".into(), order_id: "SO-1".into(), amount: gbp("500.00"), hold_ttl_s: None, open_ended: None })
    });
    let Authorization::Approved(a) = approval else { panic!("approval expected") };
    retried(&mut h, |h, c| {
        h.ledger.capture(&m, c, &CaptureRequest { hold_id: a.hold.hold_id.clone(), amount: gbp("400.00"), lines: vec![], delivery_date: None, terms: None, delivery: None, rest: None })
    });
    let second = h.approve("acme", "SO-2", "100.00").hold.hold_id;
    retried(&mut h, |h, c| h.ledger.void_hold(&m, c, &second));
    retried(&mut h, |h, c| {
        h.ledger.record_payment(
            &m,
            c,
            &RecordPaymentRequest {
                account_id: "acme".into(),
                amount: gbp("450.00"),
                received_on: day_of(T0),
                method: "card".into(),
                reference: "x".into(),
                allocations: vec![],
                spread: None,
            },
        )
    });
    retried(&mut h, |h, c| {
        h.ledger.record_return(
            &m,
            c,
            &RecordReturnRequest {
                account_id: "acme".into(),
                order_id: "SO-1".into(),
                amount: gbp("25.00"),
                credit_to: CreditTarget::StoredBalance,
                reason: "damaged".into(),
            },
        )
    });
    let applied = retried(&mut h, |h, c| {
        h.ledger.apply_balance(&m, c, &ApplyBalanceRequest { account_id: "acme".into(), order_id: "SO-3".into(), amount: gbp("60.00"), mode: None })
    });
    assert_eq!(applied.applied, "60.00", "50 overpaid + 25 credit note = 75 stored; 60 used once");
    assert_eq!(h.summary("acme").figures.stored_balance, "15.00");
    retried(&mut h, |h, c| {
        h.ledger.set_status(&m, c, &SetStatusRequest { account_id: "acme".into(), status: AccountStatus::OnHold, changed_by: "f".into(), reason: "r".into() })
    });
}

#[test]
fn the_same_key_with_another_request_is_refused() {
    let mut h = H::new();
    h.open("acme", "1000.00");
    let c = h.ctx();
    let req = AuthorizeRequest { account_id: "acme".into(), order_id: "SO-1".into(), amount: gbp("100.00"), hold_ttl_s: None, open_ended: None };
    h.authorize_with(&c, &req).unwrap();
    let before = h.dump();
    let other_amount = AuthorizeRequest { amount: gbp("100.01"), ..req.clone() };
    assert_eq!(h.authorize_with(&c, &other_amount), Err(CreditError::IdempotencyKeyReused));
    let other_ttl = AuthorizeRequest { hold_ttl_s: Some(60), ..req.clone() };
    assert_eq!(h.authorize_with(&c, &other_ttl), Err(CreditError::IdempotencyKeyReused));
    // The same key on another operation is another request too.
    let m = h.m.clone();
    let r = h.ledger.apply_balance(&m, &c, &ApplyBalanceRequest { account_id: "acme".into(), order_id: "SO-1".into(), amount: gbp("100.00"), mode: None });
    assert_eq!(r.unwrap(), Err(CreditError::IdempotencyKeyReused));
    assert_eq!(h.dump(), before);
}

#[test]
fn a_decline_is_remembered_and_an_error_is_not() {
    let mut h = H::new();
    h.open("acme", "100.00");
    let c = h.ctx();
    let req = AuthorizeRequest { account_id: "acme".into(), order_id: "SO-1".into(), amount: gbp("150.00"), hold_ttl_s: None, open_ended: None };
    let first = h.authorize_with(&c, &req).unwrap();
    assert!(matches!(first, Authorization::Declined(_)));
    h.change_limit("acme", "200.00").unwrap();
    assert_eq!(h.authorize_with(&c, &req).unwrap(), first, "the first answer stands for its key");
    // A fresh key is a new attempt.
    assert!(matches!(h.authorize("acme", "SO-1", gbp("150.00")), Ok(Authorization::Approved(_))));

    // An error changed nothing, so its key is still free.
    let c = h.ctx();
    let req = AuthorizeRequest { account_id: "later".into(), order_id: "SO-9".into(), amount: gbp("10.00"), hold_ttl_s: None, open_ended: None };
    assert_eq!(h.authorize_with(&c, &req), Err(CreditError::AccountNotFound("later".into())));
    h.open("later", "50.00");
    assert!(matches!(h.authorize_with(&c, &req), Ok(Authorization::Approved(_))));
}

#[test]
fn a_double_click_on_apply_balance_spends_the_balance_once() {
    let mut h = H::new();
    h.open("acme", "0.00");
    h.pay("acme", "80.00").unwrap();
    let c = h.ctx();
    let req = ApplyBalanceRequest { account_id: "acme".into(), order_id: "SO-1".into(), amount: gbp("80.00"), mode: None };
    let m = h.m.clone();
    let a = h.ledger.apply_balance(&m, &c, &req).unwrap().unwrap();
    let b = h.ledger.apply_balance(&m, &c, &req).unwrap().unwrap();
    assert_eq!(a, b);
    // A second order with its own key finds nothing left.
    let other = h.apply_balance("acme", "SO-2", "80.00").unwrap();
    assert_eq!(other.applied, "0.00");
    h.check();
}

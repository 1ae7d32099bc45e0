//! The checkout hooks, each figure computed by hand.

use credit_host::api::*;

use crate::support::*;

#[test]
fn approves_within_the_limit_and_reserves_the_amount() {
    let mut h = H::new();
    h.open("acme", "1000.00");
    let a = h.approve("acme", "SO-1", "400.00");
    assert_eq!(a.hold.hold_id, "H-acme-1");
    assert_eq!(a.hold.amount, "400.00");
    assert_eq!(a.hold.state, HoldState::Open);
    assert_eq!(a.hold.expires_at_ms, Some(T0 + 7 * DAY_MS), "default time-to-live is 7 days");
    assert_eq!(a.before.available_with_tolerance, "1000.00");
    assert_eq!(a.after.open_holds, "400.00");
    assert_eq!(a.after.available_credit, "600.00");
    // Exactly the rest still fits; one penny more does not.
    h.approve("acme", "SO-2", "600.00");
    let d = h.decline("acme", "SO-3", gbp("0.01"));
    assert_eq!(d.shortfall, "0.01");
}

#[test]
fn declines_over_the_limit_with_the_shortfall() {
    let mut h = H::new();
    h.open("acme", "1000.00");
    h.approve("acme", "SO-1", "250.00");
    let d = h.decline("acme", "SO-2", gbp("1000.00"));
    assert_eq!(d.reason, DeclineReason::InsufficientCredit);
    assert_eq!(d.requested, "1000.00");
    assert_eq!(d.shortfall, "250.00");
    assert_eq!(d.figures.available_with_tolerance, "750.00");
    assert_eq!(d.figures.open_holds, "250.00");
    // A decline reserves nothing and writes no entry.
    let s = h.summary("acme");
    assert_eq!(s.figures.open_holds, "250.00");
    assert_eq!(s.entry_count, 2);
    assert_eq!(s.open_hold_count, 1);
}

#[test]
fn tolerance_lets_chosen_accounts_go_over_by_an_amount_or_a_percentage() {
    let mut h = H::new();
    // 10% of 333.33 is 33.333, rounded down to 33.33.
    h.open_with(&open_req("pct", "GBP", "333.33", Tolerance::Percent("10".into()))).unwrap();
    h.open_with(&open_req("fixed", "GBP", "1000.00", Tolerance::Amount("50.00".into()))).unwrap();
    assert_eq!(h.summary("pct").figures.tolerance, "33.33");
    assert_eq!(h.summary("pct").figures.available_with_tolerance, "366.66");
    h.approve("pct", "P-1", "366.66");
    assert_eq!(h.decline("pct", "P-2", gbp("0.01")).shortfall, "0.01");
    let a = h.approve("fixed", "F-1", "1050.00");
    assert_eq!(a.after.available_credit, "-50.00", "over the limit, within tolerance");
    assert_eq!(a.after.available_with_tolerance, "0.00");
    assert_eq!(h.decline("fixed", "F-2", gbp("0.01")).shortfall, "0.01");
}

#[test]
fn accounts_on_hold_or_closed_are_declined_with_their_reason() {
    let mut h = H::new();
    h.open("held", "1000.00");
    h.open("shut", "1000.00");
    h.set_status("held", AccountStatus::OnHold).unwrap();
    let d = h.decline("held", "SO-1", gbp("10.00"));
    assert_eq!(d.reason, DeclineReason::AccountOnHold);
    assert_eq!(d.shortfall, "0.00");
    h.set_status("held", AccountStatus::Active).unwrap();
    h.approve("held", "SO-1", "10.00");

    h.set_status("shut", AccountStatus::Closed).unwrap();
    assert_eq!(h.decline("shut", "SO-2", gbp("10.00")).reason, DeclineReason::AccountClosed);
    assert_eq!(h.set_status("shut", AccountStatus::Active), Err(CreditError::AccountClosed), "closed is final");
}

#[test]
fn an_order_in_another_currency_is_declined() {
    let mut h = H::new();
    h.open("acme", "1000.00");
    let d = h.decline("acme", "SO-1", Money { amount: "10.00".into(), currency: "EUR".into() });
    assert_eq!(d.reason, DeclineReason::CurrencyMismatch);
    assert_eq!(h.summary("acme").entry_count, 1);
}

#[test]
fn a_partial_capture_posts_what_shipped_and_releases_the_rest() {
    let mut h = H::new();
    h.open("acme", "1000.00");
    let hold = h.approve("acme", "SO-1", "600.00").hold.hold_id;
    let r = h.capture(&hold, "450.00").unwrap();
    assert_eq!((r.captured.as_str(), r.released.as_str()), ("450.00", "150.00"));
    assert_eq!(r.hold.state, HoldState::Captured);
    assert_eq!(r.after.posted_debt, "450.00");
    assert_eq!(r.after.open_holds, "0.00");
    assert_eq!(r.after.available_credit, "550.00");
    // One capture per hold.
    assert_eq!(h.capture(&hold, "10.00"), Err(CreditError::HoldAlreadyCaptured));
    assert_eq!(h.void(&hold).map(|_| ()), Err(CreditError::HoldAlreadyCaptured));
    let kinds: Vec<_> = h.entries("acme").iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EntryKind::AccountOpened, EntryKind::HoldPlaced, EntryKind::HoldCaptured]);
}

#[test]
fn a_capture_cannot_exceed_the_hold() {
    let mut h = H::new();
    h.open("acme", "1000.00");
    let hold = h.approve("acme", "SO-1", "100.00").hold.hold_id;
    assert_eq!(h.capture(&hold, "100.01"), Err(CreditError::CaptureExceedsHold));
    assert_eq!(h.capture(&hold, "100.00").unwrap().released, "0.00");
}

#[test]
fn a_void_releases_the_whole_hold() {
    let mut h = H::new();
    h.open("acme", "1000.00");
    let hold = h.approve("acme", "SO-1", "700.00").hold.hold_id;
    let v = h.void(&hold).unwrap();
    assert_eq!(v.released, "700.00");
    assert_eq!(v.hold.state, HoldState::Voided);
    assert_eq!(v.after.available_credit, "1000.00");
    assert_eq!(h.void(&hold).map(|_| ()), Err(CreditError::HoldAlreadyVoided));
    assert_eq!(h.capture(&hold, "1.00").map(|_| ()), Err(CreditError::HoldAlreadyVoided));
    // The cancelled order can be placed again, and is counted once.
    h.approve("acme", "SO-1", "700.00");
    assert_eq!(h.summary("acme").figures.open_holds, "700.00");
}

#[test]
fn the_same_order_cannot_hold_credit_twice() {
    let mut h = H::new();
    h.open("acme", "1000.00");
    h.open("other", "1000.00");
    h.approve("acme", "SO-1", "100.00");
    assert_eq!(h.authorize("acme", "SO-1", gbp("100.00")), Err(CreditError::OrderAlreadyAuthorized("SO-1".into())));
    assert_eq!(
        h.authorize("other", "SO-1", gbp("100.00")),
        Err(CreditError::OrderBelongsToAnotherAccount("SO-1".into()))
    );
}

#[test]
fn a_hold_expires_at_the_exact_instant() {
    let mut h = H::new();
    h.open("acme", "1000.00");
    let c = h.ctx();
    let req = AuthorizeRequest { account_id: "acme".into(), order_id: "SO-1".into(), amount: gbp("800.00"), hold_ttl_s: Some(3600), open_ended: None };
    let Ok(Authorization::Approved(a)) = h.authorize_with(&c, &req) else { panic!("approval expected") };
    let hold = a.hold.hold_id;
    let expires = T0 + HOUR_MS;
    assert_eq!(a.hold.expires_at_ms, Some(expires));

    // One millisecond before: still reserving, still capturable.
    h.now_ms = expires - 1;
    assert_eq!(h.summary("acme").figures.open_holds, "800.00");
    assert_eq!(h.decline("acme", "SO-2", gbp("300.00")).shortfall, "100.00");

    // At the instant: no longer counts and cannot be captured.
    h.now_ms = expires;
    assert_eq!(h.summary("acme").figures.open_holds, "0.00");
    let now = h.now_ms;
    let view = h.ledger.get_hold(&h.m, &hold, now).unwrap().unwrap();
    assert_eq!(view.state, HoldState::Expired);
    assert_eq!(h.capture(&hold, "800.00"), Err(CreditError::HoldExpired));
    // The next mutating call releases it with an entry.
    h.approve("acme", "SO-2", "1000.00");
    let entries = h.entries("acme");
    let expired = entries.iter().find(|e| e.kind == EntryKind::HoldExpired).expect("an expiry entry");
    assert_eq!((expired.held_delta.as_str(), expired.at_ms), ("-800.00", expires));
    assert_eq!(h.void(&hold).map(|_| ()), Err(CreditError::HoldExpired));
}

#[test]
fn holds_expire_in_their_own_order_whatever_was_placed_or_voided_before() {
    // The account remembers only its earliest expiry; voiding the hold
    // that set it leaves it early. Nothing may be released, counted or
    // missed because of that.
    let mut h = H::new();
    h.open("acme", "1000.00");
    let c = h.ctx();
    let place = |h: &mut H, order: &str, amount: &str, ttl: u32| {
        let req = AuthorizeRequest { account_id: "acme".into(), order_id: order.into(), amount: gbp(amount), hold_ttl_s: Some(ttl), open_ended: None };
        let c = CallContext { idempotency_key: format!("{}-{order}", c.idempotency_key), now_ms: h.now_ms };
        match h.authorize_with(&c, &req) {
            Ok(Authorization::Approved(a)) => a.hold.hold_id,
            other => panic!("approval expected, got {other:?}"),
        }
    };
    let short = place(&mut h, "SO-1", "100.00", 60);
    let long = place(&mut h, "SO-2", "200.00", 3600);
    let middle = place(&mut h, "SO-3", "300.00", 600);
    h.void(&short).unwrap();
    // Past the voided hold's expiry: nothing expires, all 500.00 counts.
    h.now_ms = T0 + 120_000;
    assert_eq!(h.summary("acme").figures.open_holds, "500.00");
    assert_eq!(h.decline("acme", "SO-4", gbp("500.01")).shortfall, "0.01");
    assert!(!h.entries("acme").iter().any(|e| e.kind == EntryKind::HoldExpired));
    // Past the middle hold: a query already leaves it out; the next call
    // releases exactly it.
    h.now_ms = T0 + 600_000;
    assert_eq!(h.summary("acme").figures.open_holds, "200.00");
    let holds: Vec<String> = h.ledger.open_holds(&h.m, "acme", h.now_ms).unwrap().unwrap().into_iter().map(|x| x.hold_id).collect();
    assert_eq!(holds, vec![long.clone()]);
    h.approve("acme", "SO-5", "800.00");
    let expired: Vec<String> =
        h.entries("acme").into_iter().filter(|e| e.kind == EntryKind::HoldExpired).filter_map(|e| e.hold_id).collect();
    assert_eq!(expired, vec![middle]);
    // Oldest first: the long hold, then the new one.
    let holds: Vec<String> = h.ledger.open_holds(&h.m, "acme", h.now_ms).unwrap().unwrap().into_iter().map(|x| x.hold_id).collect();
    assert_eq!(holds.len(), 2);
    assert_eq!(holds[0], long);
    assert_eq!(h.summary("acme").open_hold_count, 2);
}

#[test]
fn apply_balance_uses_part_of_the_balance_and_never_more_than_it() {
    let mut h = H::new();
    h.open("acme", "1000.00");
    h.pay("acme", "120.00").unwrap(); // nothing owed: all of it is stored
    let a = h.apply_balance("acme", "SO-1", "50.00").unwrap();
    assert_eq!((a.applied.as_str(), a.remaining.as_str(), a.stored_balance_after.as_str()), ("50.00", "0.00", "70.00"));
    let b = h.apply_balance("acme", "SO-2", "100.00").unwrap();
    assert_eq!((b.applied.as_str(), b.remaining.as_str(), b.stored_balance_after.as_str()), ("70.00", "30.00", "0.00"));
    let c = h.apply_balance("acme", "SO-3", "10.00").unwrap();
    assert_eq!((c.applied.as_str(), c.remaining.as_str()), ("0.00", "10.00"));
    let s = h.summary("acme");
    assert_eq!(s.figures.stored_balance, "0.00");
    let applied: Vec<_> = h.entries("acme").into_iter().filter(|e| e.kind == EntryKind::BalanceApplied).map(|e| e.amount).collect();
    assert_eq!(applied, ["50.00", "70.00"], "an empty balance writes no entry");
}

#[test]
fn stored_balance_counts_as_available_credit() {
    let mut h = H::new();
    h.open("acme", "100.00");
    h.pay("acme", "30.00").unwrap();
    assert_eq!(h.summary("acme").figures.available_credit, "130.00");
    h.approve("acme", "SO-1", "130.00");
    assert_eq!(h.decline("acme", "SO-2", gbp("0.01")).shortfall, "0.01");
}

#[test]
fn stored_balance_backing_a_hold_cannot_be_spent_on_another_order() {
    // Issue 17's sequence: limit 0, a lodgment of 100.00, an order held
    // against it, then the same balance asked for on another order.
    let mut h = H::new();
    h.open("acme", "0.00");
    h.pay("acme", "100.00").unwrap();
    let a = h.approve("acme", "A", "100.00");
    assert_eq!(a.after.available_with_tolerance, "0.00");
    let b = h.apply_balance("acme", "B", "100.00").unwrap();
    assert_eq!((b.applied.as_str(), b.remaining.as_str(), b.hold_reduced.as_str()), ("0.00", "100.00", "0.00"));
    let f = h.summary("acme").figures;
    assert_eq!((f.exposure.as_str(), f.stored_balance.as_str(), f.available_credit.as_str()), ("100.00", "100.00", "0.00"));

    // Part of it is free once the limit leaves room.
    h.change_limit("acme", "30.00").unwrap();
    let b = h.apply_balance("acme", "B", "100.00").unwrap();
    assert_eq!((b.applied.as_str(), b.remaining.as_str()), ("30.00", "70.00"));
    let f = h.summary("acme").figures;
    assert_eq!((f.exposure.as_str(), f.stored_balance.as_str(), f.available_with_tolerance.as_str()), ("100.00", "70.00", "0.00"));

    // On the held order itself the balance replaces the credit: the hold
    // shrinks by what was paid, and exposure with it.
    let on_a = h.apply_balance("acme", "A", "100.00").unwrap();
    assert_eq!((on_a.applied.as_str(), on_a.hold_reduced.as_str(), on_a.stored_balance_after.as_str()), ("70.00", "70.00", "0.00"));
    let hold = h.ledger.get_hold(&h.m, &a.hold.hold_id, h.now_ms).unwrap().unwrap();
    assert_eq!((hold.amount.as_str(), hold.reserved.as_str(), hold.state), ("100.00", "30.00", HoldState::Open));
    let f = h.summary("acme").figures;
    assert_eq!((f.open_holds.as_str(), f.exposure.as_str(), f.available_with_tolerance.as_str()), ("30.00", "30.00", "0.00"));
    // What is left of the hold is what can be shipped on account.
    assert_eq!(h.capture(&a.hold.hold_id, "30.01").map(|_| ()), Err(CreditError::CaptureExceedsHold));
    let r = h.capture(&a.hold.hold_id, "30.00").unwrap();
    assert_eq!((r.captured.as_str(), r.released.as_str(), r.after.posted_debt.as_str()), ("30.00", "0.00", "30.00"));
    // The order was sold for 100.00: 70.00 from the balance, 30.00 on account.
    assert_eq!(h.ret("acme", "A", "100.01", CreditTarget::StoredBalance).map(|_| ()), Err(CreditError::ReturnExceedsOrder));
}

#[test]
fn a_returns_credit_note_is_used_on_the_next_order() {
    let mut h = H::new();
    h.open("acme", "1000.00");
    let hold = h.approve("acme", "SO-1", "300.00").hold.hold_id;
    h.capture(&hold, "300.00").unwrap();
    h.pay("acme", "300.00").unwrap();
    let cn = h.ret("acme", "SO-1", "45.50", CreditTarget::OwedFirst).unwrap();
    assert_eq!(cn.credit_note_id, "CN-acme-1");
    assert_eq!((cn.applied_to_debt.as_str(), cn.added_to_stored_balance.as_str()), ("0.00", "45.50"));
    assert_eq!(cn.after.stored_balance, "45.50");
    // The next order spends it, and the rest goes on account.
    let a = h.apply_balance("acme", "SO-2", "100.00").unwrap();
    assert_eq!((a.applied.as_str(), a.remaining.as_str()), ("45.50", "54.50"));
    h.approve("acme", "SO-2", "54.50");
    assert_eq!(h.summary("acme").figures.stored_balance, "0.00");
}

#[test]
fn a_return_reduces_what_is_owed_first_unless_told_otherwise() {
    let mut h = H::new();
    h.open("acme", "1000.00");
    let hold = h.approve("acme", "SO-1", "200.00").hold.hold_id;
    h.capture(&hold, "200.00").unwrap();
    h.pay("acme", "150.00").unwrap(); // owes 50
    let cn = h.ret("acme", "SO-1", "80.00", CreditTarget::OwedFirst).unwrap();
    assert_eq!((cn.applied_to_debt.as_str(), cn.added_to_stored_balance.as_str()), ("50.00", "30.00"));
    let cn2 = h.ret("acme", "SO-1", "20.00", CreditTarget::StoredBalance).unwrap();
    assert_eq!((cn2.credit_note_id.as_str(), cn2.added_to_stored_balance.as_str()), ("CN-acme-2", "20.00"));
    assert_eq!(h.summary("acme").figures.stored_balance, "50.00");
    // 200 captured, 100 credited: at most 100 more.
    assert_eq!(h.ret("acme", "SO-1", "100.01", CreditTarget::OwedFirst), Err(CreditError::ReturnExceedsOrder));
    assert_eq!(h.ret("acme", "SO-9", "1.00", CreditTarget::OwedFirst), Err(CreditError::OrderNotFound("SO-9".into())));
}

#[test]
fn a_payment_reduces_debt_and_the_overpayment_is_stored() {
    let mut h = H::new();
    h.open("acme", "1000.00");
    let hold = h.approve("acme", "SO-1", "500.00").hold.hold_id;
    h.capture(&hold, "500.00").unwrap();
    let p = h.pay("acme", "200.00").unwrap();
    assert_eq!((p.payment.payment_id.as_str(), p.payment.added_to_stored_balance.as_str()), ("P-acme-1", "0.00"));
    assert_eq!(p.payment.allocations[0].amount, "200.00");
    assert_eq!(p.account.figures.posted_debt, "300.00");
    assert_eq!(p.account.balance, "300.00");
    let p = h.pay("acme", "350.00").unwrap();
    assert_eq!((p.payment.allocations[0].amount.as_str(), p.payment.added_to_stored_balance.as_str()), ("300.00", "50.00"));
    assert_eq!(p.account.figures.posted_debt, "0.00");
    assert_eq!(p.account.figures.stored_balance, "50.00");
    assert_eq!(p.account.balance, "-50.00");
    assert_eq!(p.account.figures.available_credit, "1050.00");
}

#[test]
fn credit_limit_changes_keep_their_history() {
    let mut h = H::new();
    h.open("acme", "1000.00");
    h.now_ms += DAY_MS;
    h.change_limit("acme", "2500.00").unwrap();
    h.now_ms += DAY_MS;
    h.change_limit("acme", "500.00").unwrap();
    assert_eq!(h.change_limit("acme", "500.00"), Err(CreditError::CreditLimitUnchanged));
    let page = h.ledger.credit_limit_history(&h.m, "acme", None, 10).unwrap().unwrap();
    let rows: Vec<_> = page.changes.iter().map(|c| (c.seq, c.at_ms, c.old_limit.as_str(), c.new_limit.as_str())).collect();
    assert_eq!(
        rows,
        [(1, T0, "0.00", "1000.00"), (2, T0 + DAY_MS, "1000.00", "2500.00"), (3, T0 + 2 * DAY_MS, "2500.00", "500.00")]
    );
    assert_eq!(page.changes[1].changed_by, "finance");
    assert_eq!(page.changes[1].reason, "review");
    assert_eq!(page.next_after_seq, None);
    let first = h.ledger.credit_limit_history(&h.m, "acme", None, 2).unwrap().unwrap();
    assert_eq!(first.next_after_seq, Some(2));
    let rest = h.ledger.credit_limit_history(&h.m, "acme", Some(2), 2).unwrap().unwrap();
    assert_eq!(rest.changes.len(), 1);
}

#[test]
fn closing_needs_a_settled_account() {
    let mut h = H::new();
    h.open("acme", "1000.00");
    let hold = h.approve("acme", "SO-1", "100.00").hold.hold_id;
    assert_eq!(h.set_status("acme", AccountStatus::Closed), Err(CreditError::AccountNotSettled));
    h.capture(&hold, "100.00").unwrap();
    assert_eq!(h.set_status("acme", AccountStatus::Closed), Err(CreditError::AccountNotSettled));
    h.pay("acme", "100.00").unwrap();
    let s = h.set_status("acme", AccountStatus::Closed).unwrap();
    assert_eq!(s.status, AccountStatus::Closed);
    assert_eq!(h.pay("acme", "1.00"), Err(CreditError::AccountClosed));
    assert_eq!(h.apply_balance("acme", "SO-2", "1.00"), Err(CreditError::AccountClosed));
}

#[test]
fn the_ledger_pages_in_order() {
    let mut h = H::new();
    h.open("acme", "100000.00");
    for i in 0..25 {
        h.approve("acme", &format!("SO-{i}"), "1.00");
    }
    let mut seqs = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = h.ledger.ledger(&h.m, "acme", after, 10).unwrap().unwrap();
        pages += 1;
        seqs.extend(page.entries.iter().map(|e| e.seq));
        match page.next_after_seq {
            Some(s) => after = Some(s),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seqs, (1..=26).collect::<Vec<u64>>());
    let holds = h.ledger.open_holds(&h.m, "acme", T0).unwrap().unwrap();
    assert_eq!(holds.len(), 25);
    assert_eq!(holds[0].order_id, "SO-0");
}

#[test]
fn currencies_with_other_minor_units() {
    let mut h = H::new();
    h.open_with(&open_req("yen", "JPY", "100000", Tolerance::None)).unwrap();
    h.open_with(&open_req("dinar", "KWD", "1000.000", Tolerance::Percent("0.5".into()))).unwrap();
    let yen = |a: &str| Money { amount: a.into(), currency: "JPY".into() };
    let kwd = |a: &str| Money { amount: a.into(), currency: "KWD".into() };
    match h.authorize("yen", "J-1", yen("99999")).unwrap() {
        Authorization::Approved(a) => assert_eq!(a.after.available_credit, "1"),
        other => panic!("{other:?}"),
    }
    assert_eq!(h.authorize("yen", "J-2", yen("0.5")), Err(CreditError::AmountTooPrecise("amount".into())));
    assert_eq!(h.summary("dinar").figures.tolerance, "5.000");
    match h.authorize("dinar", "K-1", kwd("1005.000")).unwrap() {
        Authorization::Approved(a) => assert_eq!(a.after.available_with_tolerance, "0.000"),
        other => panic!("{other:?}"),
    }
    assert_eq!(h.decline("dinar", "K-2", kwd("0.001")).shortfall, "0.001");
}

#[test]
fn authorize_costs_no_more_on_an_account_crowded_with_holds_and_invoices() {
    // Open holds and open items live outside the account record, so a
    // checkout does not pay for them. Fuel is deterministic: this compares
    // work done, not time.
    use credit_host::{Ledger, MerchantId};
    let m = MerchantId::new("shop").unwrap();
    let mut l = ledger(component());
    let c = |k: String| CallContext { idempotency_key: k, now_ms: T0 };
    let auth = |order: String, amount: &str| AuthorizeRequest {
        account_id: String::new(),
        order_id: order,
        amount: gbp(amount),
        hold_ttl_s: None,
        open_ended: None,
    };
    let decline_fuel = |l: &mut Ledger, account: &str| {
        let req = AuthorizeRequest { account_id: account.into(), ..auth("TOO-BIG".into(), "99999999.00") };
        let Ok(Ok(Authorization::Declined(_))) = l.authorize(&m, &c(format!("d-{account}")), &req) else { panic!("decline expected") };
        l.last_call_fuel()
    };
    for id in ["quiet", "crowded"] {
        l.open_account(&m, &c(format!("open-{id}")), &open_req(id, "GBP", "1000000.00", Tolerance::None)).unwrap().unwrap();
    }
    for i in 0..40 {
        let req = AuthorizeRequest { account_id: "crowded".into(), ..auth(format!("H{i}"), "1.00") };
        l.authorize(&m, &c(format!("h{i}")), &req).unwrap().unwrap();
    }
    for i in 0..120 {
        let req = AuthorizeRequest { account_id: "crowded".into(), ..auth(format!("I{i}"), "1.00") };
        let Ok(Ok(Authorization::Approved(a))) = l.authorize(&m, &c(format!("i{i}")), &req) else { panic!("approval expected") };
        let cap = CaptureRequest { hold_id: a.hold.hold_id, amount: gbp("1.00"), lines: vec![], delivery_date: None, terms: None, delivery: None, rest: None };
        l.capture(&m, &c(format!("c{i}")), &cap).unwrap().unwrap();
    }
    let quiet = decline_fuel(&mut l, "quiet");
    let crowded = decline_fuel(&mut l, "crowded");
    // Only the figures' digits differ (posted debt 120.00, holds 40.00).
    assert!(crowded <= quiet + quiet / 20, "crowded {crowded} vs quiet {quiet}");
}

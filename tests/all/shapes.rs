//! Billing as wholesalers set it up: the calendar shapes of payment terms,
//! all-or-nothing use of the stored balance, and payments spread pro rata.
//! Each figure was worked out by hand; the working is in the comments.

use credit_host::api::*;

use crate::support::*;

fn shape(basis: TermBasis, net_days: u32, months: Option<u8>, day_of_month: Option<u8>, cut_off_day: Option<u8>) -> PaymentTerms {
    PaymentTerms { net_days, basis, discount: None, instalments: vec![], months, day_of_month, cut_off_day }
}

/// Ships `amount` on `day` (09:00 UTC) on `terms`.
fn ship(h: &mut H, day: &str, order: &str, amount: &str, terms: Option<PaymentTerms>) -> Invoice {
    h.now_ms = at(day);
    let hold = h.approve("acme", order, amount).hold.hold_id;
    let req = CaptureRequest { hold_id: hold, amount: gbp(amount), lines: vec![], delivery_date: None, terms, delivery: None, rest: None };
    h.capture_with(&req).unwrap_or_else(|e| panic!("{order}: {e:?}")).invoice
}

fn payment(account: &str, amount: &str, received_on: &str, spread: Option<PaymentSpread>) -> RecordPaymentRequest {
    RecordPaymentRequest {
        account_id: account.into(),
        amount: gbp(amount),
        received_on: received_on.into(),
        method: "bank-transfer".into(),
        reference: "r".into(),
        allocations: vec![],
        spread,
    }
}

#[test]
fn term_shapes_give_the_due_dates_of_their_rule_at_every_month_edge() {
    use TermBasis::*;
    // (invoice day, terms, due date)
    let rows: &[(&str, PaymentTerms, &str)] = &[
        // The two orders of "end of month" and "N days": 25 Mar EOM + 10 is
        // 31 Mar + 10 = 10 Apr; 25 Mar + 10 = 4 Apr, whose month ends 30 Apr.
        ("2026-03-25", shape(EndOfMonth, 10, None, None, None), "2026-04-10"),
        ("2026-03-25", shape(EndOfMonthAfterDays, 10, None, None, None), "2026-04-30"),
        ("2026-03-02", shape(EndOfMonthAfterDays, 10, None, None, None), "2026-03-31"),
        ("2026-12-15", shape(EndOfMonthAfterDays, 30, None, None, None), "2027-01-31"),
        ("2028-02-01", shape(EndOfMonthAfterDays, 28, None, None, None), "2028-02-29"),
        ("2026-02-01", shape(EndOfMonthAfterDays, 28, None, None, None), "2026-03-31"),
        // The 25th rule on end of month: the 26th counts as next month's.
        ("2026-03-25", shape(EndOfMonth, 30, None, None, Some(25)), "2026-04-30"),
        ("2026-03-26", shape(EndOfMonth, 30, None, None, Some(25)), "2026-05-30"),
        ("2026-12-31", shape(EndOfMonth, 0, None, None, Some(25)), "2027-01-31"),
        // Day D of the next month, clamped to the month's last day.
        ("2026-03-02", shape(DayOfMonth, 0, None, Some(10), None), "2026-04-10"),
        ("2026-03-31", shape(DayOfMonth, 0, None, Some(10), None), "2026-04-10"),
        ("2026-03-15", shape(DayOfMonth, 0, None, Some(31), None), "2026-04-30"),
        ("2026-01-31", shape(DayOfMonth, 0, None, Some(30), None), "2026-02-28"),
        ("2028-01-31", shape(DayOfMonth, 0, None, Some(30), None), "2028-02-29"),
        ("2026-05-20", shape(DayOfMonth, 0, None, Some(31), None), "2026-06-30"),
        ("2026-06-20", shape(DayOfMonth, 0, None, Some(31), None), "2026-07-31"),
        ("2026-12-20", shape(DayOfMonth, 0, Some(2), Some(10), None), "2027-02-10"),
        // With a cut-off of 25: the 25th is still this month's, the 26th not.
        ("2026-01-25", shape(DayOfMonth, 0, None, Some(10), Some(25)), "2026-02-10"),
        ("2026-01-26", shape(DayOfMonth, 0, None, Some(10), Some(25)), "2026-03-10"),
        ("2026-11-30", shape(DayOfMonth, 0, None, Some(10), Some(25)), "2027-01-10"),
        // Calendar months after the invoice date.
        ("2026-01-31", shape(MonthsAfterInvoice, 0, None, None, None), "2026-02-28"),
        ("2028-01-31", shape(MonthsAfterInvoice, 0, Some(1), None, None), "2028-02-29"),
        ("2026-03-31", shape(MonthsAfterInvoice, 0, Some(1), None, None), "2026-04-30"),
        ("2028-02-29", shape(MonthsAfterInvoice, 0, Some(12), None, None), "2029-02-28"),
        ("2026-11-30", shape(MonthsAfterInvoice, 0, Some(3), None, None), "2027-02-28"),
        // Months after the end of the invoice month.
        ("2026-01-15", shape(MonthsAfterEndOfMonth, 0, None, None, None), "2026-02-28"),
        ("2028-01-01", shape(MonthsAfterEndOfMonth, 0, Some(1), None, None), "2028-02-29"),
        ("2026-12-31", shape(MonthsAfterEndOfMonth, 0, Some(2), None, None), "2027-02-28"),
        ("2026-01-26", shape(MonthsAfterEndOfMonth, 0, Some(1), None, Some(25)), "2026-03-31"),
    ];
    let mut h = H::new();
    h.now_ms = at("2026-01-01");
    h.open("acme", "1000000.00");
    for (i, (day, terms, due)) in rows.iter().enumerate() {
        let inv = ship(&mut h, day, &format!("SO-{i}"), "100.00", Some(terms.clone()));
        assert_eq!((inv.invoice_date.as_str(), inv.due_date.as_str()), (*day, *due), "row {i}: {:?}", terms.basis);
        assert_eq!(inv.schedule.iter().map(|p| p.due_date.as_str()).collect::<Vec<_>>(), [*due], "row {i}");
        assert_eq!(inv.terms, *terms, "row {i}: the invoice keeps its terms as given");
        // The item falls overdue the day after its due date, not before.
        let on_due = h.ledger.get_invoice(&h.m, &inv.invoice_id, due).unwrap().unwrap();
        assert_eq!((on_due.overdue.as_str(), on_due.days_overdue), ("0.00", 0), "row {i}");
    }

    // Terms on the account are used by captures that give none, and the
    // account shows them as set.
    let mut req = open_req("tokyo", "GBP", "5000.00", Tolerance::None);
    req.terms = PaymentTerms { discount: Some(EarlyPaymentDiscount { percent: Some("1".into()), days: 14, amount: None, basis: None }), ..shape(DayOfMonth, 0, None, Some(10), Some(25)) };
    h.now_ms = at("2026-03-26");
    let summary = h.open_with(&req).unwrap();
    // The account shows its terms as set, the discount's basis named: none
    // means the default, gross.
    let mut shown = req.terms.clone();
    shown.discount.as_mut().unwrap().basis = Some(DiscountBasis::Gross);
    assert_eq!(summary.terms, shown);
    let hold = h.approve("tokyo", "T-1", "500.00").hold.hold_id;
    let inv = h.capture(&hold, "500.00").unwrap().invoice;
    // 26 March is past the cut-off: April's, so due 10 May. The discount
    // counts 14 days from the invoice date: 9 April, before the due date.
    assert_eq!((inv.due_date.as_str(), inv.discount_until.as_deref(), inv.discount_amount.as_str()), ("2026-05-10", Some("2026-04-09"), "5.00"));
    // On a calendar basis a window longer than the time to the due date
    // ends on the due date: 2 April, day 10 of next month, 1% for 60 days
    // (2 April + 60 is 1 June, after the due date of 10 May).
    let t = PaymentTerms { discount: Some(EarlyPaymentDiscount { percent: Some("1".into()), days: 60, amount: None, basis: None }), ..shape(DayOfMonth, 0, None, Some(10), None) };
    h.now_ms = at("2026-04-02");
    let hold = h.approve("tokyo", "T-2", "200.00").hold.hold_id;
    let req = CaptureRequest { hold_id: hold, amount: gbp("200.00"), lines: vec![], delivery_date: None, terms: Some(t), delivery: None, rest: None };
    let inv = h.capture_with(&req).unwrap().invoice;
    assert_eq!((inv.due_date.as_str(), inv.discount_until.as_deref()), ("2026-05-10", Some("2026-05-10")));
    // A payment on the due date itself still earns it: 200.00 - 2.00.
    h.now_ms = at("2026-05-10");
    let mut pay = payment("tokyo", "198.00", "2026-05-10", None);
    pay.allocations = vec![AllocationRequest { invoice_id: inv.invoice_id.clone(), amount: "198.00".into() }];
    let p = h.pay_with(&pay).unwrap().payment;
    assert_eq!((p.allocations[0].discount.as_str(), p.allocations[0].outstanding_after.as_str()), ("2.00", "0.00"));
    // The day after, the other invoice (500.00, window ended 9 April)
    // takes 198.00 with no discount.
    h.now_ms = at("2026-05-11");
    let p = h.pay_with(&payment("tokyo", "198.00", "2026-05-11", None)).unwrap().payment;
    assert_eq!((p.allocations[0].discount.as_str(), p.allocations[0].outstanding_after.as_str()), ("0.00", "302.00"));
}

#[test]
fn all_or_nothing_balance_is_spent_whole_or_not_at_all() {
    let mut h = H::new();
    h.open("acme", "0.00");
    // A lodgment of 100.00: stored balance, all of it free (nothing owed).
    h.pay("acme", "100.00").unwrap();
    let strict = |order: &str, amount: &str| ApplyBalanceRequest {
        account_id: "acme".into(),
        order_id: order.into(),
        amount: gbp(amount),
        mode: Some(ApplyMode::AllOrNothing),
    };
    let before = h.dump();
    let c = h.ctx();
    let refused = h.ledger.apply_balance(&h.m, &c, &strict("SO-1", "150.00")).unwrap();
    assert_eq!(refused, Err(CreditError::StoredBalanceInsufficient(BalanceShortfall { requested: "150.00".into(), available: "100.00".into() })));
    assert_eq!(h.dump(), before, "a refused all-or-nothing spends nothing");
    // The refused call's key is free: the same key with what fits goes through.
    let ok = h.ledger.apply_balance(&h.m, &c, &strict("SO-1", "100.00")).unwrap().unwrap();
    assert_eq!((ok.applied.as_str(), ok.remaining.as_str(), ok.stored_balance_after.as_str()), ("100.00", "0.00", "0.00"));
    h.check();
    // Up to (the default) spends what there is, here nothing, without error.
    let r = h.apply_balance("acme", "SO-2", "10.00").unwrap();
    assert_eq!((r.applied.as_str(), r.remaining.as_str()), ("0.00", "10.00"));
    // Stored balance that backs credit is not free for all-or-nothing
    // either: limit 0, stored 80.00, a hold of 50.00 leans on it, so only
    // 30.00 is free for another order, and the held order may use its own
    // 50.00 on top.
    h.pay("acme", "80.00").unwrap();
    h.approve("acme", "SO-3", "50.00");
    let before = h.dump();
    assert_eq!(
        h.apply_balance_with(&strict("SO-4", "30.01")),
        Err(CreditError::StoredBalanceInsufficient(BalanceShortfall { requested: "30.01".into(), available: "30.00".into() }))
    );
    assert_eq!(h.dump(), before);
    let r = h.apply_balance_with(&strict("SO-3", "80.00")).unwrap();
    assert_eq!((r.applied.as_str(), r.hold_reduced.as_str(), r.stored_balance_after.as_str()), ("80.00", "50.00", "0.00"));
    // Leaving the mode out is the same request as naming `up-to`; naming
    // `all-or-nothing` is another request.
    let c = h.ctx();
    let up_to = ApplyBalanceRequest { mode: None, ..strict("SO-5", "1.00") };
    let first = h.ledger.apply_balance(&h.m, &c, &up_to).unwrap().unwrap();
    let named = ApplyBalanceRequest { mode: Some(ApplyMode::UpTo), ..up_to.clone() };
    assert_eq!(h.ledger.apply_balance(&h.m, &c, &named).unwrap().unwrap(), first);
    assert_eq!(h.ledger.apply_balance(&h.m, &c, &strict("SO-5", "1.00")).unwrap(), Err(CreditError::IdempotencyKeyReused));
}

#[test]
fn payments_spread_pro_rata_add_up_exactly() {
    let mut h = H::new();
    h.open("acme", "100000.00");
    let a = h.invoice("acme", "SO-1", "300.00").invoice_id;
    let b = h.invoice("acme", "SO-2", "200.00").invoice_id;
    let c = h.invoice("acme", "SO-3", "100.01").invoice_id;
    let today = day_of(T0);
    let pro_rata = |amount: &str| payment("acme", amount, &today, Some(PaymentSpread::ProRata));
    // 100.00 over 300.00 / 200.00 / 100.01 (600.01): 49.9991..., 33.3327...,
    // 16.6680... -> 49.99 / 33.33 / 16.66 (99.98); the two pennies left go
    // to the largest remainders, .9991 and .6680: 50.00 / 33.33 / 16.67.
    let p = h.pay_with(&pro_rata("100.00")).unwrap().payment;
    let got: Vec<(&str, &str, &str)> =
        p.allocations.iter().map(|x| (x.invoice_id.as_str(), x.amount.as_str(), x.outstanding_after.as_str())).collect();
    assert_eq!(got, [(a.as_str(), "50.00", "250.00"), (b.as_str(), "33.33", "166.67"), (c.as_str(), "16.67", "83.34")]);
    assert_eq!(p.added_to_stored_balance, "0.00");
    // The same money oldest due first would all go to the first invoice.
    let mut other = H::new();
    other.open("acme", "100000.00");
    for (o, x) in [("SO-1", "300.00"), ("SO-2", "200.00"), ("SO-3", "100.01")] {
        other.invoice("acme", o, x);
    }
    let p = other.pay_with(&payment("acme", "100.00", &today, Some(PaymentSpread::OldestDueFirst))).unwrap().payment;
    assert_eq!(p.allocations.iter().map(|x| x.amount.as_str()).collect::<Vec<_>>(), ["100.00"]);
    // One penny over 250.00 / 166.67 / 83.34: the largest remainder takes it.
    let p = h.pay_with(&pro_rata("0.01")).unwrap().payment;
    assert_eq!(p.allocations.iter().map(|x| (x.invoice_id.as_str(), x.amount.as_str())).collect::<Vec<_>>(), [(a.as_str(), "0.01")]);
    // Money that covers everything settles everything; the rest is stored.
    // Owed now: 249.99 + 166.67 + 83.34 = 500.00.
    let p = h.pay_with(&pro_rata("510.00")).unwrap().payment;
    assert_eq!(p.allocations.iter().map(|x| x.outstanding_after.as_str()).collect::<Vec<_>>(), ["0.00", "0.00", "0.00"]);
    assert_eq!(p.added_to_stored_balance, "10.00");
    assert_eq!(h.summary("acme").figures.posted_debt, "0.00");

    // Within an early-payment window, each item asks for its total less
    // the discount: 1,000.00 at 2/10 asks 980.00, 500.00 asks 500.00
    // (1,480.00). 740.00 pro rata: 490.00 and 250.00 exactly; neither is
    // settled, so no discount is taken.
    let mut h = H::new();
    let mut req = open_req("acme", "GBP", "100000.00", Tolerance::None);
    req.terms.discount = Some(EarlyPaymentDiscount { percent: Some("2".into()), days: 10, amount: None, basis: None });
    h.open_with(&req).unwrap();
    h.invoice("acme", "SO-1", "1000.00");
    let hold = h.approve("acme", "SO-2", "500.00").hold.hold_id;
    let no_discount = CaptureRequest { hold_id: hold, amount: gbp("500.00"), lines: vec![], delivery_date: None, terms: Some(net30()), delivery: None, rest: None };
    h.capture_with(&no_discount).unwrap();
    let p = h.pay_with(&pro_rata("740.00")).unwrap().payment;
    let got: Vec<(&str, &str)> = p.allocations.iter().map(|x| (x.amount.as_str(), x.discount.as_str())).collect();
    assert_eq!(got, [("490.00", "0.00"), ("250.00", "0.00")]);
    // 740.00 more covers 490.00 + 250.00 (the 20.00 discount is taken).
    let p = h.pay_with(&pro_rata("740.00")).unwrap().payment;
    let got: Vec<(&str, &str, &str)> =
        p.allocations.iter().map(|x| (x.amount.as_str(), x.discount.as_str(), x.outstanding_after.as_str())).collect();
    assert_eq!(got, [("490.00", "20.00", "0.00"), ("250.00", "0.00", "0.00")]);
    assert_eq!(p.added_to_stored_balance, "0.00");

    // Leaving the spread out is the same request as naming the default.
    let c = h.ctx();
    let plain = payment("acme", "1.00", &today, None);
    let first = h.ledger.record_payment(&h.m, &c, &plain).unwrap().unwrap();
    let named = payment("acme", "1.00", &today, Some(PaymentSpread::OldestDueFirst));
    assert_eq!(h.ledger.record_payment(&h.m, &c, &named).unwrap().unwrap(), first);
    assert_eq!(h.ledger.record_payment(&h.m, &c, &pro_rata("1.00")).unwrap().map(|_| ()), Err(CreditError::IdempotencyKeyReused));
}

/// Captures `amount` of `hold`, keeping the rest open or releasing it.
fn ship_part(h: &mut H, hold: &str, amount: &str, rest: CaptureRest) -> Result<CaptureReceipt, CreditError> {
    let req = CaptureRequest { hold_id: hold.into(), amount: gbp(amount), lines: vec![], delivery_date: None, terms: None, delivery: None, rest: Some(rest) };
    h.capture_with(&req)
}

fn amend(h: &mut H, hold: &str, amount: &str) -> Result<Authorization, CreditError> {
    let c = h.ctx();
    let r = h.ledger.amend_hold(&h.m, &c, &AmendHoldRequest { hold_id: hold.into(), amount: gbp(amount) }).expect("no trap");
    h.check();
    r
}

#[test]
fn a_hold_is_shipped_in_parts_each_its_own_invoice_until_the_rest_is_released() {
    let mut h = H::new();
    h.open("acme", "1000.00");
    let hold = h.approve("acme", "SO-1", "600.00").hold.hold_id;
    // First shipment 200.00: invoiced; 400.00 stays reserved.
    let first = ship_part(&mut h, &hold, "200.00", CaptureRest::KeepOpen).unwrap();
    assert_eq!((first.captured.as_str(), first.released.as_str()), ("200.00", "0.00"));
    assert_eq!((first.hold.state, first.hold.reserved.as_str(), first.hold.captured.as_str(), first.hold.capture_count), (HoldState::Open, "400.00", "200.00", 1));
    assert_eq!((first.after.posted_debt.as_str(), first.after.open_holds.as_str(), first.after.available_credit.as_str()), ("200.00", "400.00", "400.00"));
    // Second shipment 150.00, its own invoice.
    let second = ship_part(&mut h, &hold, "150.00", CaptureRest::KeepOpen).unwrap();
    assert_ne!(second.invoice.invoice_id, first.invoice.invoice_id);
    assert_eq!((second.hold.reserved.as_str(), second.hold.captured.as_str(), second.hold.capture_count), ("250.00", "350.00", 2));
    // The same order cannot be authorized again while its hold is open.
    assert_eq!(h.authorize("acme", "SO-1", gbp("1.00")).map(|_| ()), Err(CreditError::OrderAlreadyAuthorized("SO-1".into())));
    // More than is still reserved is refused, and nothing changes.
    let before = h.dump();
    assert_eq!(ship_part(&mut h, &hold, "250.01", CaptureRest::KeepOpen).map(|_| ()), Err(CreditError::CaptureExceedsHold));
    assert_eq!(h.dump(), before);
    // The last shipment 100.00 releases the other 150.00 (the default).
    let last = h.capture(&hold, "100.00").unwrap();
    assert_eq!((last.released.as_str(), last.hold.state, last.hold.captured.as_str(), last.hold.capture_count), ("150.00", HoldState::Captured, "450.00", 3));
    assert_eq!((last.after.posted_debt.as_str(), last.after.open_holds.as_str()), ("450.00", "0.00"));
    assert_eq!(h.capture(&hold, "1.00").map(|_| ()), Err(CreditError::HoldAlreadyCaptured));
    // Three invoices on the order; a return may credit all 450.00 shipped.
    assert_eq!(h.ret("acme", "SO-1", "450.01", CreditTarget::OwedFirst).map(|_| ()), Err(CreditError::ReturnExceedsOrder));

    // A keep-open capture of everything left completes the hold too.
    let hold = h.approve("acme", "SO-2", "100.00").hold.hold_id;
    let all = ship_part(&mut h, &hold, "100.00", CaptureRest::KeepOpen).unwrap();
    assert_eq!((all.hold.state, all.released.as_str()), (HoldState::Captured, "0.00"));
    // Voiding a hold that shipped in part releases the rest and ends it
    // captured: what shipped stays invoiced.
    let hold = h.approve("acme", "SO-3", "300.00").hold.hold_id;
    ship_part(&mut h, &hold, "120.00", CaptureRest::KeepOpen).unwrap();
    let v = h.void(&hold).unwrap();
    assert_eq!((v.released.as_str(), v.hold.state, v.hold.captured.as_str()), ("180.00", HoldState::Captured, "120.00"));
    assert_eq!(h.summary("acme").figures.posted_debt, "670.00");
    // A kept-open hold still expires: the rest is released at its expiry.
    let hold = h.approve("acme", "SO-4", "50.00").hold.hold_id;
    ship_part(&mut h, &hold, "20.00", CaptureRest::KeepOpen).unwrap();
    h.now_ms += 7 * DAY_MS;
    assert_eq!(ship_part(&mut h, &hold, "10.00", CaptureRest::KeepOpen).map(|_| ()), Err(CreditError::HoldExpired));
    assert_eq!(h.summary("acme").figures.open_holds, "0.00");
}

#[test]
fn amending_a_hold_checks_an_increase_like_an_authorization_and_releases_a_decrease() {
    let mut h = H::new();
    let mut req = open_req("acme", "GBP", "1000.00", Tolerance::None);
    req.tolerance = Tolerance::Amount("0.00".into());
    h.open_with(&req).unwrap();
    let hold = h.approve("acme", "SO-1", "600.00").hold.hold_id;
    ship_part(&mut h, &hold, "200.00", CaptureRest::KeepOpen).unwrap();
    ship_part(&mut h, &hold, "150.00", CaptureRest::KeepOpen).unwrap();
    // Owed 350.00, reserved 250.00, available 400.00. Editing the order to
    // 700.00 still to ship asks 450.00 more: 50.00 short, declined, and
    // nothing changes.
    let before = h.dump();
    match amend(&mut h, &hold, "700.00").unwrap() {
        Authorization::Declined(d) => {
            assert_eq!((d.reason, d.requested.as_str(), d.shortfall.as_str()), (DeclineReason::InsufficientCredit, "450.00", "50.00"))
        }
        other => panic!("expected a decline, got {other:?}"),
    }
    // Only the idempotency record of the decline is new.
    let after = h.dump();
    assert_eq!(after.iter().filter(|r| !before.contains(r)).filter(|(_, k, _)| !k.starts_with("idem/")).count(), 0, "{after:?}");
    // 300.00: 50.00 more, approved.
    let Authorization::Approved(a) = amend(&mut h, &hold, "300.00").unwrap() else { panic!("approved") };
    assert_eq!((a.hold.reserved.as_str(), a.hold.amount.as_str(), a.before.open_holds.as_str(), a.after.open_holds.as_str()), ("300.00", "650.00", "250.00", "300.00"));
    // 100.00: 200.00 released at once.
    let Authorization::Approved(a) = amend(&mut h, &hold, "100.00").unwrap() else { panic!("approved") };
    assert_eq!((a.after.open_holds.as_str(), a.after.available_credit.as_str()), ("100.00", "550.00"));
    let kinds: Vec<EntryKind> = h.entries("acme").iter().map(|e| e.kind).collect();
    assert_eq!(kinds.iter().filter(|k| **k == EntryKind::HoldAmended).count(), 2);
    // An account on hold may shrink an order but not grow it.
    h.set_status("acme", AccountStatus::OnHold).unwrap();
    let Authorization::Declined(d) = amend(&mut h, &hold, "100.01").unwrap() else { panic!("declined") };
    assert_eq!((d.reason, d.requested.as_str(), d.shortfall.as_str()), (DeclineReason::AccountOnHold, "0.01", "0.00"));
    let Authorization::Approved(_) = amend(&mut h, &hold, "90.00").unwrap() else { panic!("approved") };
    // Zero ends it: captured, since part of it shipped.
    let Authorization::Approved(a) = amend(&mut h, &hold, "0.00").unwrap() else { panic!("approved") };
    assert_eq!((a.hold.state, a.hold.captured.as_str(), a.after.open_holds.as_str()), (HoldState::Captured, "350.00", "0.00"));
    assert_eq!(amend(&mut h, &hold, "1.00"), Err(CreditError::HoldAlreadyCaptured));
    h.set_status("acme", AccountStatus::Active).unwrap();
    // A hold nothing shipped from, amended to zero, ends voided; the order
    // may then be authorized again.
    let hold = h.approve("acme", "SO-2", "10.00").hold.hold_id;
    let Authorization::Approved(a) = amend(&mut h, &hold, "0").unwrap() else { panic!("approved") };
    assert_eq!(a.hold.state, HoldState::Voided);
    h.approve("acme", "SO-2", "10.00");
    // A retry with the same key gives the first answer and changes nothing.
    let hold = h.approve("acme", "SO-3", "10.00").hold.hold_id;
    let c = h.ctx();
    let req = AmendHoldRequest { hold_id: hold.clone(), amount: gbp("20.00") };
    let first = h.ledger.amend_hold(&h.m, &c, &req).unwrap().unwrap();
    let before = h.dump();
    assert_eq!(h.ledger.amend_hold(&h.m, &c, &req).unwrap().unwrap(), first);
    assert_eq!(h.dump(), before);
}

fn refund(h: &mut H, account: &str, amount: &str) -> Result<RefundReceipt, CreditError> {
    let c = h.ctx();
    let req = RefundRequest { account_id: account.into(), amount: gbp(amount), method: "bank-transfer".into(), reference: "payout".into() };
    let r = h.ledger.refund_balance(&h.m, &c, &req).expect("no trap");
    h.check();
    r
}

#[test]
fn stored_balance_is_refunded_only_as_far_as_it_is_free() {
    let mut h = H::new();
    h.open("acme", "0.00");
    // Lodgment 200.00; an order of 120.00 leans on it, so 80.00 is free.
    h.pay("acme", "200.00").unwrap();
    h.approve("acme", "SO-1", "120.00");
    let before = h.dump();
    assert_eq!(
        refund(&mut h, "acme", "80.01"),
        Err(CreditError::RefundExceedsBalance(BalanceShortfall { requested: "80.01".into(), available: "80.00".into() }))
    );
    assert_eq!(h.dump(), before);
    let r = refund(&mut h, "acme", "30.00").unwrap();
    assert_eq!((r.refund_id.as_str(), r.amount.as_str(), r.account.figures.stored_balance.as_str()), ("RF-acme-1", "30.00", "170.00"));
    // The ledger: customer credit down, cash down, by the refund's id.
    let e = h.entries("acme").pop().unwrap();
    assert_eq!((e.kind, e.amount.as_str(), e.document_id.as_deref()), (EntryKind::BalanceRefunded, "30.00", Some("RF-acme-1")));
    let sides: Vec<(Book, &str, &str)> = e.postings.iter().map(|p| (p.book, p.debit.as_str(), p.credit.as_str())).collect();
    assert_eq!(sides, [(Book::CustomerCredit, "30.00", "0.00"), (Book::Cash, "0.00", "30.00")]);
    // A retry with its key pays nothing more.
    let c = h.ctx();
    let req = RefundRequest { account_id: "acme".into(), amount: gbp("50.00"), method: "bank-transfer".into(), reference: "payout 2".into() };
    let first = h.ledger.refund_balance(&h.m, &c, &req).unwrap().unwrap();
    assert_eq!(h.ledger.refund_balance(&h.m, &c, &req).unwrap().unwrap(), first);
    assert_eq!(h.summary("acme").figures.stored_balance, "120.00");
    // Now all of it backs the order: nothing is free until it is voided.
    assert_eq!(
        refund(&mut h, "acme", "0.01"),
        Err(CreditError::RefundExceedsBalance(BalanceShortfall { requested: "0.01".into(), available: "0.00".into() }))
    );
    // An account on hold still gets its money back; a closed one has none.
    h.set_status("acme", AccountStatus::OnHold).unwrap();
    let hold = h.summary("acme");
    assert_eq!(hold.open_hold_count, 1);
    let holds = h.ledger.open_holds(&h.m, "acme", h.now_ms).unwrap().unwrap();
    h.void(&holds[0].hold_id).unwrap();
    let r = refund(&mut h, "acme", "120.00").unwrap();
    assert_eq!((r.refund_id.as_str(), r.account.figures.stored_balance.as_str()), ("RF-acme-3", "0.00"));
    h.set_status("acme", AccountStatus::Closed).unwrap();
    assert_eq!(refund(&mut h, "acme", "1.00"), Err(CreditError::AccountClosed));
}

fn write_off(h: &mut H, invoice: &str, reason: &str) -> Result<WriteOffReceipt, CreditError> {
    let c = h.ctx();
    let r = h.ledger.write_off(&h.m, &c, &WriteOffRequest { invoice_id: invoice.into(), reason: reason.into() }).expect("no trap");
    h.check();
    r
}

#[test]
fn bad_debt_is_written_off_to_its_own_book_and_stays_in_the_history() {
    let mut h = H::new();
    let mut req = open_req("acme", "GBP", "1000.00", Tolerance::None);
    req.policy.hold_after_days_overdue = Some(30);
    h.open_with(&req).unwrap();
    let inv = h.invoice("acme", "SO-1", "200.00").invoice_id; // due 2026-04-01
    h.pay("acme", "50.00").unwrap();
    // 31 days overdue: day-close holds the account.
    h.now_ms = at("2026-05-02");
    let today = h.today();
    assert!(h.day_close("acme", &today).unwrap().put_on_hold);
    // The remainder, 150.00, is written off: bad debts up, receivable down.
    let r = write_off(&mut h, &inv, "customer insolvent").unwrap();
    assert_eq!((r.amount.as_str(), r.account.figures.posted_debt.as_str(), r.account.status), ("150.00", "0.00", AccountStatus::Active));
    let e = h.entries("acme").into_iter().find(|e| e.kind == EntryKind::BadDebtWrittenOff).unwrap();
    assert_eq!((e.amount.as_str(), e.memo.as_str()), ("150.00", "INV-acme-1 written off as bad debt: customer insolvent"));
    let sides: Vec<(Book, &str, &str)> = e.postings.iter().map(|p| (p.book, p.debit.as_str(), p.credit.as_str())).collect();
    assert_eq!(sides, [(Book::BadDebts, "150.00", "0.00"), (Book::Receivable, "0.00", "150.00")]);
    // The invoice is kept, settled by a bad-debt allocation after the payment.
    let i = h.get_invoice(&inv);
    assert_eq!((i.outstanding.as_str(), i.settled_on.as_deref()), ("0.00", Some("2026-05-02")));
    let sources: Vec<(AllocationSource, &str)> = i.allocations.iter().map(|a| (a.source, a.amount.as_str())).collect();
    assert_eq!(sources, [(AllocationSource::Payment, "50.00"), (AllocationSource::BadDebt, "150.00")]);
    // Nothing is left to write off; a retry with its key changes nothing.
    let before = h.dump();
    assert_eq!(write_off(&mut h, &inv, "again"), Err(CreditError::InvoiceSettled(inv.clone())));
    assert_eq!(h.dump(), before);
    assert_eq!(write_off(&mut h, "INV-acme-99", "x"), Err(CreditError::InvoiceNotFound("INV-acme-99".into())));
    let c = h.ctx();
    let inv2 = h.invoice("acme", "SO-2", "10.00").invoice_id;
    let req = WriteOffRequest { invoice_id: inv2, reason: "small".into() };
    let first = h.ledger.write_off(&h.m, &c, &req).unwrap().unwrap();
    let before = h.dump();
    assert_eq!(h.ledger.write_off(&h.m, &c, &req).unwrap().unwrap(), first);
    assert_eq!(h.dump(), before);
    // The statement of the period shows it as a credit line.
    let st = h.ledger.statement(&h.m, "acme", "2026-03-01", "2026-05-31", None).unwrap().unwrap();
    assert!(st.lines.iter().any(|l| l.kind == EntryKind::BadDebtWrittenOff && l.credit == "150.00"), "{:?}", st.lines);
    assert_eq!(st.aging.written_off, "160.00", "the statement's aging shows what was written off");
    // Aging keeps the written-off debtor in sight although it owes nothing:
    // 150.00 + 10.00 in its own column, outside the buckets and the total.
    let req = AgingRequest { as_of: "2026-05-02".into(), basis: AgingBasis::DueDate, edges: vec![], currency: None, company_id: None, after: None, limit: 10 };
    let page = h.ledger.aging(&h.m, &req).unwrap().unwrap();
    let row = page.rows.iter().find(|r| r.account_id == "acme").expect("acme is listed");
    assert_eq!((row.total.as_str(), row.written_off.as_str()), ("0.00", "160.00"));
    assert_eq!(page.totals[0].written_off, "160.00");
    let one = h.ledger.account_aging(&h.m, "acme", "2026-05-02", AgingBasis::DueDate, &[]).unwrap().unwrap();
    assert_eq!(one.written_off, "160.00");
}

fn pc(percent: &str, days: u32) -> Instalment {
    Instalment { percent: Some(percent.into()), days, amount: None }
}
fn fixed(amount: &str, days: u32) -> Instalment {
    Instalment { percent: None, days, amount: Some(amount.into()) }
}
fn balance(days: u32) -> Instalment {
    Instalment { percent: None, days, amount: None }
}

/// (due date, amount, paid, open, discount still available) of each portion.
fn portions(p: &[Portion]) -> Vec<(&str, &str, &str, &str, &str)> {
    p.iter().map(|p| (p.due_date.as_str(), p.amount.as_str(), p.paid.as_str(), p.open.as_str(), p.discount_available.as_str())).collect()
}

#[test]
fn instalments_by_percent_fixed_amount_and_balance_line_add_up_and_show_one_by_one() {
    let mut h = H::new();
    h.now_ms = at("2026-03-02");
    h.open("acme", "100000.00");
    // 1,000.00 on 2 March: 33.333333% is 333.33333 rounded down to 333.33,
    // 250.00 fixed on the same day (both 1 April), the balance line takes
    // 1,000.00 - 333.33 - 250.00 = 416.67 on 1 May.
    let terms = PaymentTerms { instalments: vec![pc("33.333333", 30), fixed("250.00", 30), balance(60)], ..shape(TermBasis::InvoiceDate, 60, None, None, None) };
    let inv = ship(&mut h, "2026-03-02", "SO-1", "1000.00", Some(terms.clone()));
    assert_eq!(portions(&inv.schedule), [
        ("2026-04-01", "333.33", "0.00", "333.33", "0.00"),
        ("2026-04-01", "250.00", "0.00", "250.00", "0.00"),
        ("2026-05-01", "416.67", "0.00", "416.67", "0.00"),
    ]);
    assert_eq!(inv.due_date, "2026-05-01");
    assert_eq!(inv.terms, terms, "the invoice keeps its terms as given");
    // 400.00 paid on 20 March settles the first portion and 66.67 of the
    // second, earliest first.
    h.now_ms = at("2026-03-20");
    h.pay_on("acme", "400.00", "2026-03-20").unwrap();
    let inv = h.get_invoice(&inv.invoice_id);
    assert_eq!(portions(&inv.schedule), [
        ("2026-04-01", "333.33", "333.33", "0.00", "0.00"),
        ("2026-04-01", "250.00", "66.67", "183.33", "0.00"),
        ("2026-05-01", "416.67", "0.00", "416.67", "0.00"),
    ]);
    // On 2 April the two 1 April portions are past due: 583.33 - 400.00.
    h.now_ms = at("2026-04-02");
    let inv = h.get_invoice(&inv.invoice_id);
    assert_eq!((inv.overdue.as_str(), inv.days_overdue, inv.outstanding.as_str()), ("183.33", 1, "600.00"));
    // The statement lists the item with each instalment as of its last day.
    let st = h.ledger.statement(&h.m, "acme", "2026-03-01", "2026-04-02", None).unwrap().unwrap();
    assert_eq!(st.open_items.len(), 1);
    assert_eq!(portions(&st.open_items[0].schedule), portions(&inv.schedule));
    h.check();

    // Shares with 6 decimals in yen (no minor unit): 1,001 at 50.5% is
    // 505.505 rounded down to 505; a fixed 900 on a smaller rest takes the
    // 496 left; the balance line is then 0.
    let mut req = open_req("jp", "JPY", "1000000", Tolerance::None);
    req.terms = PaymentTerms { instalments: vec![pc("50.5", 0), fixed("900", 10), balance(20)], ..shape(TermBasis::InvoiceDate, 20, None, None, None) };
    h.open_with(&req).unwrap();
    let money = Money { amount: "1001".into(), currency: "JPY".into() };
    let Ok(Authorization::Approved(a)) = h.authorize("jp", "JO-1", money.clone()) else { panic!("JO-1 declined") };
    let hold = a.hold.hold_id;
    let req = CaptureRequest { hold_id: hold, amount: money, lines: vec![], delivery_date: None, terms: None, delivery: None, rest: None };
    let inv = h.capture_with(&req).unwrap().invoice;
    assert_eq!(inv.schedule.iter().map(|p| p.amount.as_str()).collect::<Vec<_>>(), ["505", "496", "0"]);
    h.check();

    // Without a balance line the shares add up to exactly 100 and the last
    // takes the rounding remainder: 100.01 at 33.333333% x 2 and
    // 33.333334%: 33.33, 33.33, then 33.35.
    let terms = PaymentTerms { instalments: vec![pc("33.333333", 10), pc("33.333333", 10), pc("33.333334", 30)], ..shape(TermBasis::InvoiceDate, 30, None, None, None) };
    let inv = ship(&mut h, "2026-04-02", "SO-2", "100.01", Some(terms));
    assert_eq!(inv.schedule.iter().map(|p| p.amount.as_str()).collect::<Vec<_>>(), ["33.33", "33.33", "33.35"]);
    h.check();
}

/// Two lines at 20% and 5%: 100.00 + 20.00 tax and 50.00 + 2.50 tax, 172.50.
fn two_rates() -> Vec<InvoiceLine> {
    let line = |d: &str, price: &str, tax: &str, rate: &str| InvoiceLine {
        description: d.into(),
        quantity: "1".into(),
        unit_price: price.into(),
        tax: tax.into(),
        tax_rate: Some(rate.into()),
    };
    vec![line("Paper", "100.00", "20.00", "20"), line("Books", "50.00", "2.50", "5")]
}

fn discounted(percent: Option<&str>, amount: Option<&str>, days: u32, basis: Option<DiscountBasis>) -> PaymentTerms {
    let discount = EarlyPaymentDiscount { percent: percent.map(Into::into), days, amount: amount.map(Into::into), basis };
    PaymentTerms { discount: Some(discount), ..shape(TermBasis::InvoiceDate, 30, None, None, None) }
}

fn ship_lines(h: &mut H, day: &str, order: &str, terms: PaymentTerms) -> Invoice {
    h.now_ms = at(day);
    let hold = h.approve("acme", order, "172.50").hold.hold_id;
    let req = CaptureRequest { hold_id: hold, amount: gbp("172.50"), lines: two_rates(), delivery_date: None, terms: Some(terms), delivery: None, rest: None };
    h.capture_with(&req).unwrap_or_else(|e| panic!("{order}: {e:?}")).invoice
}

/// (book, debit, credit, rate) of each posting of an entry.
fn postings(e: &LedgerEntry) -> Vec<(Book, &str, &str, Option<&str>)> {
    e.postings.iter().map(|p| (p.book, p.debit.as_str(), p.credit.as_str(), p.tax_rate.as_deref())).collect()
}

#[test]
fn an_early_payment_discount_on_either_basis_is_split_across_tax_rates_without_residue() {
    use Book::*;
    let mut h = H::new();
    h.now_ms = at("2026-03-02");
    h.open("acme", "100000.00");

    // Gross (the default): 2% of 172.50 = 3.45. Split by the rates'
    // totals, 120.00 : 52.50 -> 2.40 and 1.05; each between net and tax,
    // 100 : 20 -> 2.00 + 0.40, 50 : 2.50 -> 1.00 + 0.05.
    let inv = ship_lines(&mut h, "2026-03-02", "SO-G", discounted(Some("2"), None, 10, None));
    assert_eq!((inv.discount_amount.as_str(), inv.discount_until.as_deref()), ("3.45", Some("2026-03-12")));
    let parts: Vec<_> = inv.tax_parts.iter().map(|p| (p.rate.as_deref(), p.net.as_str(), p.tax.as_str())).collect();
    assert_eq!(parts, [(Some("20"), "100.00", "20.00"), (Some("5"), "50.00", "2.50")]);
    assert_eq!(inv.lines[1].tax_rate.as_deref(), Some("5"));
    assert_eq!(portions(&inv.schedule), [("2026-04-01", "172.50", "0.00", "172.50", "3.45")]);
    let issued = h.entries("acme").into_iter().find(|e| e.invoice_id.as_deref() == Some(inv.invoice_id.as_str())).unwrap();
    assert_eq!(postings(&issued), [
        (Receivable, "172.50", "0.00", None),
        (Sales, "0.00", "100.00", Some("20")),
        (Tax, "0.00", "20.00", Some("20")),
        (Sales, "0.00", "50.00", Some("5")),
        (Tax, "0.00", "2.50", Some("5")),
    ]);
    h.now_ms = at("2026-03-12");
    let paid = h.pay_on("acme", "169.05", "2026-03-12").unwrap();
    assert_eq!((paid.payment.allocations[0].discount.as_str(), paid.payment.allocations[0].outstanding_after.as_str()), ("3.45", "0.00"));
    let taken = h.entries("acme").into_iter().find(|e| e.kind == EntryKind::DiscountTaken).unwrap();
    assert_eq!(postings(&taken), [
        (DiscountsAllowed, "2.00", "0.00", Some("20")),
        (Tax, "0.40", "0.00", Some("20")),
        (DiscountsAllowed, "1.00", "0.00", Some("5")),
        (Tax, "0.05", "0.00", Some("5")),
        (Receivable, "0.00", "3.45", None),
    ]);
    assert_eq!(h.get_invoice(&inv.invoice_id).schedule[0].discount_available, "0.00", "taken");
    // The payment bounces: the same postings are credited back.
    let c = h.ctx();
    h.ledger.reverse_payment(&h.m, &c, &paid.payment.payment_id, "bounced").unwrap().unwrap();
    let reversed = h.entries("acme").into_iter().find(|e| e.kind == EntryKind::PaymentReversed).unwrap();
    assert_eq!(postings(&reversed), [
        (Receivable, "172.50", "0.00", None),
        (Cash, "0.00", "169.05", None),
        (DiscountsAllowed, "0.00", "2.00", Some("20")),
        (Tax, "0.00", "0.40", Some("20")),
        (DiscountsAllowed, "0.00", "1.00", Some("5")),
        (Tax, "0.00", "0.05", Some("5")),
    ]);
    h.check();

    // Net: 2% of the net 150.00 = 3.00, split 100 : 50 -> 2.00 and 1.00,
    // all to discounts allowed; the tax charged stays.
    let inv = ship_lines(&mut h, "2026-03-12", "SO-N", discounted(Some("2"), None, 10, Some(DiscountBasis::Net)));
    assert_eq!(inv.discount_amount, "3.00");
    let mut pay = payment("acme", "169.50", "2026-03-13", None);
    pay.allocations = vec![AllocationRequest { invoice_id: inv.invoice_id.clone(), amount: "169.50".into() }];
    h.now_ms = at("2026-03-13");
    h.pay_with(&pay).unwrap();
    let taken = h.entries("acme").into_iter().rfind(|e| e.kind == EntryKind::DiscountTaken).unwrap();
    assert_eq!(postings(&taken), [(DiscountsAllowed, "2.00", "0.00", Some("20")), (DiscountsAllowed, "1.00", "0.00", Some("5")), (Receivable, "0.00", "3.00", None)]);
    assert_eq!(h.get_invoice(&inv.invoice_id).outstanding, "0.00");

    // A fixed 5.00 off, gross: 120.00 : 52.50 gives 3.478 and 1.521, the
    // spare cent to the larger remainder: 3.48 and 1.52; 3.48 is 2.90 net
    // + 0.58 tax, 1.52 is 1.447 + 0.072 -> 1.45 + 0.07.
    // The window runs to the due date itself: 30 days on net 30.
    let inv = ship_lines(&mut h, "2026-03-13", "SO-F", discounted(None, Some("5.00"), 30, None));
    assert_eq!((inv.discount_amount.as_str(), inv.discount_until.as_deref(), inv.due_date.as_str()), ("5.00", Some("2026-04-12"), "2026-04-12"));
    let on_due = h.ledger.get_invoice(&h.m, &inv.invoice_id, "2026-04-12").unwrap().unwrap();
    assert_eq!(on_due.schedule[0].discount_available, "5.00", "still available on the due date");
    let after = h.ledger.get_invoice(&h.m, &inv.invoice_id, "2026-04-13").unwrap().unwrap();
    assert_eq!(after.schedule[0].discount_available, "0.00", "gone the day after");
    let mut pay = payment("acme", "167.50", "2026-04-12", None);
    pay.allocations = vec![AllocationRequest { invoice_id: inv.invoice_id.clone(), amount: "167.50".into() }];
    h.now_ms = at("2026-04-12");
    h.pay_with(&pay).unwrap();
    let taken = h.entries("acme").into_iter().rfind(|e| e.kind == EntryKind::DiscountTaken).unwrap();
    assert_eq!(postings(&taken), [
        (DiscountsAllowed, "2.90", "0.00", Some("20")),
        (Tax, "0.58", "0.00", Some("20")),
        (DiscountsAllowed, "1.45", "0.00", Some("5")),
        (Tax, "0.07", "0.00", Some("5")),
        (Receivable, "0.00", "5.00", None),
    ]);
    h.check();
}

fn cancel_note(h: &mut H, id: &str) -> Result<CreditNoteCancellation, CreditError> {
    let c = h.ctx();
    let r = h.ledger.cancel_credit_note(&h.m, &c, &CancelCreditNoteRequest { credit_note_id: id.into(), reason: "issued by mistake".into() }).expect("no trap");
    h.check();
    r
}

#[test]
fn an_unused_credit_note_is_cancelled_and_a_used_one_is_refused_with_the_figures() {
    use Book::*;
    let mut h = H::new();
    h.open("acme", "1000.00");
    h.invoice("acme", "SO-1", "200.00");
    h.pay("acme", "200.00").unwrap();
    // 50.00 back to the stored balance, by mistake: cancelled, the balance
    // is as before and the entry reverses the note's postings.
    let cn = h.ret("acme", "SO-1", "50.00", CreditTarget::StoredBalance).unwrap();
    assert_eq!(h.summary("acme").figures.stored_balance, "50.00");
    let done = cancel_note(&mut h, &cn.credit_note_id).unwrap();
    assert_eq!((done.amount.as_str(), done.order_id.as_str(), done.account.figures.stored_balance.as_str()), ("50.00", "SO-1", "0.00"));
    let e = h.entries("acme").into_iter().find(|e| e.kind == EntryKind::CreditNoteCancelled).unwrap();
    let sides: Vec<(Book, &str, &str)> = e.postings.iter().map(|p| (p.book, p.debit.as_str(), p.credit.as_str())).collect();
    assert_eq!(sides, [(CustomerCredit, "50.00", "0.00"), (SalesReturns, "0.00", "50.00")]);
    assert_eq!(e.document_id.as_deref(), Some(cn.credit_note_id.as_str()));
    // Cancelling again is refused; a retry with the first key answers as
    // before and changes nothing.
    assert_eq!(cancel_note(&mut h, &cn.credit_note_id), Err(CreditError::CreditNoteAlreadyCancelled(cn.credit_note_id.clone())));
    // The order may be returned in full again (200.00, not 150.00).
    let cn2 = h.ret("acme", "SO-1", "200.00", CreditTarget::StoredBalance).unwrap();
    // 150.00 of it spent on a new order: refused with the note's amount
    // and the 50.00 still unused; nothing changed.
    h.apply_balance("acme", "SO-2", "150.00").unwrap();
    let before = h.dump();
    let want = BalanceShortfall { requested: "200.00".into(), available: "50.00".into() };
    assert_eq!(cancel_note(&mut h, &cn2.credit_note_id), Err(CreditError::CreditNoteUsed(want)));
    assert_eq!(h.dump(), before);
    // A note that settled an invoice is used in full.
    h.invoice("acme", "SO-3", "100.00");
    let cn3 = h.ret("acme", "SO-3", "30.00", CreditTarget::OwedFirst).unwrap();
    assert_eq!(cn3.applied_to_debt, "30.00");
    let want = BalanceShortfall { requested: "30.00".into(), available: "0.00".into() };
    assert_eq!(cancel_note(&mut h, &cn3.credit_note_id), Err(CreditError::CreditNoteUsed(want)));
    assert_eq!(cancel_note(&mut h, "CN-acme-99"), Err(CreditError::CreditNoteNotFound("CN-acme-99".into())));
    // Idempotent: the same key gives the same answer and writes nothing.
    let cn4 = h.ret("acme", "SO-3", "10.00", CreditTarget::StoredBalance).unwrap();
    let c = h.ctx();
    let req = CancelCreditNoteRequest { credit_note_id: cn4.credit_note_id, reason: "r".into() };
    let first = h.ledger.cancel_credit_note(&h.m, &c, &req).unwrap().unwrap();
    let before = h.dump();
    assert_eq!(h.ledger.cancel_credit_note(&h.m, &c, &req).unwrap().unwrap(), first);
    assert_eq!(h.dump(), before);
    // The statement shows the note and its cancellation.
    let today = h.today();
    let st = h.ledger.statement(&h.m, "acme", "2026-03-01", &today, None).unwrap().unwrap();
    assert!(st.lines.iter().any(|l| l.kind == EntryKind::CreditNoteCancelled && l.debit == "50.00"), "{:?}", st.lines);
    h.check();
}

#[test]
fn an_open_ended_hold_lasts_until_shipped_where_the_policy_allows_it() {
    let mut h = H::new();
    h.open("plain", "1000.00");
    let mut req = open_req("bespoke", "GBP", "1000.00", Tolerance::None);
    req.policy.open_ended_holds = Some(true);
    h.open_with(&req).unwrap();
    assert_eq!(h.summary("bespoke").policy.open_ended_holds, Some(true));
    let ask = |account: &str, order: &str, amount: &str| AuthorizeRequest {
        account_id: account.into(),
        order_id: order.into(),
        amount: gbp(amount),
        hold_ttl_s: None,
        open_ended: Some(true),
    };
    // Refused where the policy does not allow it, nothing reserved.
    let before = h.dump();
    let c = h.ctx();
    assert_eq!(h.authorize_with(&c, &ask("plain", "P-1", "100.00")).map(|_| ()), Err(CreditError::OpenEndedHoldNotAllowed));
    assert_eq!(h.dump(), before);
    // A made-to-order hold of 600.00 and an ordinary one of 100.00.
    let c = h.ctx();
    let Ok(Authorization::Approved(made)) = h.authorize_with(&c, &ask("bespoke", "B-1", "600.00")) else { panic!("B-1 declined") };
    assert_eq!(made.hold.expires_at_ms, None);
    let plain = h.approve("bespoke", "B-2", "100.00").hold;
    assert!(plain.expires_at_ms.is_some());
    // 200 days later (past the 90-day longest time-to-live) the ordinary
    // hold has expired and the made-to-order one still reserves 600.00.
    h.now_ms += 200 * 86_400_000;
    let today = h.today();
    h.day_close("bespoke", &today).unwrap();
    let hold = h.ledger.get_hold(&h.m, &made.hold.hold_id, h.now_ms).unwrap().unwrap();
    assert_eq!((hold.state, hold.reserved.as_str(), hold.expires_at_ms), (HoldState::Open, "600.00", None));
    assert_eq!(h.summary("bespoke").figures.open_holds, "600.00");
    let gone = h.ledger.get_hold(&h.m, &plain.hold_id, h.now_ms).unwrap().unwrap();
    assert_eq!(gone.state, HoldState::Expired);
    // It ships in two parts like any hold.
    let part = CaptureRequest { hold_id: made.hold.hold_id.clone(), amount: gbp("250.00"), lines: vec![], delivery_date: None, terms: None, delivery: None, rest: Some(CaptureRest::KeepOpen) };
    h.capture_with(&part).unwrap();
    let hold = h.ledger.get_hold(&h.m, &made.hold.hold_id, h.now_ms).unwrap().unwrap();
    assert_eq!((hold.reserved.as_str(), hold.expires_at_ms), ("350.00", None));
    h.capture(&made.hold.hold_id, "350.00").unwrap();
    assert_eq!(h.summary("bespoke").figures.open_holds, "0.00");
    h.check();
}

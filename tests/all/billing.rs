//! Invoices, terms, payments and collections, as tables of worked examples.
//! Every expected figure below was computed by hand; the working is in the
//! comments.

use credit_host::api::*;

use crate::support::*;

fn terms(net_days: u32, basis: TermBasis, discount: Option<(&str, u32)>) -> PaymentTerms {
    PaymentTerms {
        net_days,
        basis,
        discount: discount.map(|(p, d)| EarlyPaymentDiscount { percent: Some(p.into()), days: d, amount: None, basis: None }),
        instalments: vec![],
        months: None,
        day_of_month: None,
        cut_off_day: None,
    }
}

fn instalments(net_days: u32, parts: &[(&str, u32)]) -> PaymentTerms {
    PaymentTerms {
        net_days,
        basis: TermBasis::InvoiceDate,
        discount: None,
        instalments: parts.iter().map(|(p, d)| Instalment { percent: Some((*p).into()), days: *d, amount: None }).collect(),
        months: None,
        day_of_month: None,
        cut_off_day: None,
    }
}

/// Ships `amount` on `day` (09:00 UTC) with optional terms and delivery date.
fn ship(h: &mut H, day: &str, account: &str, order: &str, amount: &str, t: Option<PaymentTerms>, delivery: Option<&str>) -> Result<Invoice, CreditError> {
    h.now_ms = at(day);
    let hold = h.approve(account, order, amount).hold.hold_id;
    let req = CaptureRequest {
        hold_id: hold,
        amount: gbp(amount),
        lines: vec![],
        delivery_date: delivery.map(str::to_owned),
        terms: t,
        delivery: None,
        rest: None,
    };
    h.capture_with(&req).map(|r| r.invoice)
}

fn with_policy(h: &mut H, account: &str, limit: &str, policy: BillingPolicy) {
    let mut req = open_req(account, "GBP", limit, Tolerance::None);
    req.policy = policy;
    h.open_with(&req).unwrap();
}

#[test]
fn due_dates_for_each_term_basis() {
    use TermBasis::*;
    // (invoice day, terms, delivery day, due date, last day of the discount window)
    type Row<'a> = (&'a str, PaymentTerms, Option<&'a str>, &'a str, Option<&'a str>);
    let rows: &[Row] = &[
        ("2026-03-02", terms(30, InvoiceDate, None), None, "2026-04-01", None),
        ("2026-12-28", terms(7, InvoiceDate, None), None, "2027-01-04", None),
        // 2028 is a leap year: 15 Jan + 60 = 16 days of Jan + 29 of Feb + 15 of Mar.
        ("2028-01-15", terms(60, InvoiceDate, None), None, "2028-03-15", None),
        ("2028-02-01", terms(30, InvoiceDate, None), None, "2028-03-02", None),
        ("2026-02-01", terms(30, InvoiceDate, None), None, "2026-03-03", None),
        ("2026-03-02", terms(15, DeliveryDate, None), Some("2026-03-05"), "2026-03-20", None),
        // End of month: 31 Jan + 30 = 2 Mar (28-day February).
        ("2026-01-15", terms(30, EndOfMonth, None), None, "2026-03-02", None),
        ("2028-02-10", terms(30, EndOfMonth, None), None, "2028-03-30", None),
        ("2026-12-05", terms(0, EndOfMonth, None), None, "2026-12-31", None),
        ("2026-11-30", terms(90, EndOfMonth, None), None, "2027-02-28", None),
        ("2026-04-30", terms(60, EndOfMonth, None), None, "2026-06-29", None),
        // 2/10 net 30: the discount window's last day is invoice day + 10.
        ("2026-03-02", terms(30, InvoiceDate, Some(("2", 10))), None, "2026-04-01", Some("2026-03-12")),
        ("2026-03-02", terms(30, DeliveryDate, Some(("2", 10))), Some("2026-03-05"), "2026-04-04", Some("2026-03-15")),
        ("2026-02-20", terms(30, EndOfMonth, Some(("1.5", 10))), None, "2026-03-30", Some("2026-03-10")),
    ];
    let mut h = H::new();
    h.now_ms = at("2026-01-01");
    h.open("acme", "1000000.00");
    for (i, (day, t, delivery, due, until)) in rows.iter().enumerate() {
        let inv = ship(&mut h, day, "acme", &format!("SO-{i}"), "100.00", Some(t.clone()), *delivery).unwrap();
        assert_eq!((inv.invoice_date.as_str(), inv.due_date.as_str()), (*day, *due), "row {i}");
        assert_eq!(inv.discount_until.as_deref(), *until, "row {i}");
        assert_eq!(inv.schedule.len(), 1);
        assert_eq!(inv.schedule[0].due_date, *due);
    }
    // Counting from the delivery date needs one.
    h.now_ms = at("2026-03-02");
    let hold = h.approve("acme", "SO-x", "1.00").hold.hold_id;
    let before = h.dump();
    let req = CaptureRequest {
        hold_id: hold,
        amount: gbp("1.00"),
        lines: vec![],
        delivery_date: None,
        terms: Some(terms(15, DeliveryDate, None)),
        delivery: None,
        rest: None,
    };
    assert_eq!(h.capture_with(&req).map(|_| ()), Err(CreditError::DeliveryDateRequired));
    assert_eq!(h.dump(), before);
}

#[test]
fn invoice_lines_are_priced_and_taxed_as_given() {
    let mut h = H::new();
    h.now_ms = at("2026-03-02");
    h.open("acme", "10000.00");
    let hold = h.approve("acme", "SO-1", "1100.00").hold.hold_id;
    let line = |d: &str, q: &str, p: &str, t: &str| InvoiceLine { description: d.into(), quantity: q.into(), unit_price: p.into(), tax: t.into(), tax_rate: None };
    // 40 x 18.75 = 750.00; 10 x 16.6667 = 166.667 -> 166.67 (half away from zero).
    let req = CaptureRequest {
        hold_id: hold,
        amount: gbp("1100.00"),
        lines: vec![line("Paper", "40", "18.75", "150.00"), line("Stapler", "10", "16.6667", "33.33")],
        delivery_date: None,
        terms: None,
        delivery: None,
        rest: None,
    };
    let inv = h.capture_with(&req).unwrap().invoice;
    let nets: Vec<_> = inv.lines.iter().map(|l| (l.net.as_str(), l.total.as_str())).collect();
    assert_eq!(nets, [("750.00", "900.00"), ("166.67", "200.00")]);
    assert_eq!((inv.net_total.as_str(), inv.tax_total.as_str(), inv.total.as_str()), ("916.67", "183.33", "1100.00"));
    // 0.005 rounds away from zero: 3 x 0.0050 = 0.0150 -> 0.02 (banker's rounding would give 0.02 too, so
    // also 1 x 0.0250 -> 0.03 where banker's would give 0.02).
    let hold = h.approve("acme", "SO-2", "0.05").hold.hold_id;
    let req = CaptureRequest {
        hold_id: hold,
        amount: gbp("0.05"),
        lines: vec![line("Clip", "3", "0.005", "0"), line("Pin", "1", "0.025", "0")],
        delivery_date: None,
        terms: None,
        delivery: None,
        rest: None,
    };
    let inv = h.capture_with(&req).unwrap().invoice;
    assert_eq!(inv.lines.iter().map(|l| l.net.as_str()).collect::<Vec<_>>(), ["0.02", "0.03"]);
}

#[test]
fn two_ten_net_thirty_paid_on_day_ten_and_on_day_eleven() {
    // Total 1,000.00 including tax; 2% of the tax-included total = 20.00.
    // Rows: (total, paid on, amount paid, outstanding after, discount taken, kept as stored balance)
    let rows = [
        ("1000.00", "2026-03-12", "980.00", "0.00", "20.00", "0.00"), // day 10: inside the window
        ("1000.00", "2026-03-13", "980.00", "20.00", "0.00", "0.00"), // day 11: too late, 20.00 still owed
        // Paying the full amount inside the window still earns the discount
        // the terms promise: the 20.00 is kept as stored balance.
        ("1000.00", "2026-03-05", "1000.00", "0.00", "20.00", "20.00"),
        // 2% of 1,234.57 = 24.6914 -> 24.69; 1,234.57 - 24.69 = 1,209.88 settles with nothing left.
        ("1234.57", "2026-03-12", "1209.88", "0.00", "24.69", "0.00"),
        // A penny short of the discounted amount: no discount, 24.70 left.
        ("1234.57", "2026-03-12", "1209.87", "24.70", "0.00", "0.00"),
    ];
    for (i, (total, paid_on, paid, left, discount, stored)) in rows.into_iter().enumerate() {
        let mut h = H::new();
        h.now_ms = at("2026-03-01");
        h.open("acme", "10000.00");
        let inv = ship(&mut h, "2026-03-02", "acme", "SO-1", total, Some(terms(30, TermBasis::InvoiceDate, Some(("2", 10)))), None).unwrap();
        assert_eq!(inv.discount_until.as_deref(), Some("2026-03-12"));
        h.now_ms = at(paid_on);
        let r = h.pay_on("acme", paid, paid_on).unwrap();
        let a = &r.payment.allocations[0];
        assert_eq!((a.outstanding_after.as_str(), a.discount.as_str()), (left, discount), "row {i}");
        assert_eq!(r.payment.added_to_stored_balance, stored, "row {i}");
        let inv = h.get_invoice(&inv.invoice_id);
        assert_eq!(inv.outstanding, left, "row {i}");
        assert_eq!(inv.settled_on.is_some(), left == "0.00", "row {i}");
    }
}

#[test]
fn instalments_that_do_not_divide_evenly() {
    let mut h = H::new();
    h.now_ms = at("2026-03-01");
    h.open("acme", "10000.00");
    // 100.01 in halves: 50.005 rounds down to 50.00, the last takes 50.01.
    let inv = ship(&mut h, "2026-03-02", "acme", "SO-1", "100.01", Some(instalments(60, &[("50", 30), ("50", 60)])), None).unwrap();
    let s: Vec<_> = inv.schedule.iter().map(|p| (p.due_date.as_str(), p.amount.as_str())).collect();
    assert_eq!(s, [("2026-04-01", "50.00"), ("2026-05-01", "50.01")]);
    assert_eq!(inv.due_date, "2026-05-01");
    // 100.00 in thirds: 33.33, 33.33 and the remainder 33.34.
    let inv2 = ship(&mut h, "2026-03-02", "acme", "SO-2", "100.00", Some(instalments(90, &[("33.33", 30), ("33.33", 60), ("33.34", 90)])), None).unwrap();
    let s: Vec<_> = inv2.schedule.iter().map(|p| p.amount.as_str()).collect();
    assert_eq!(s, ["33.33", "33.33", "33.34"]);
    // 0.10 in thirds (33.33% of 0.10 = 0.03333 -> 0.03): 0.03, 0.03, 0.04.
    let inv3 = ship(&mut h, "2026-03-02", "acme", "SO-3", "0.10", Some(instalments(90, &[("33.33", 30), ("33.33", 60), ("33.34", 90)])), None).unwrap();
    let s: Vec<_> = inv3.schedule.iter().map(|p| p.amount.as_str()).collect();
    assert_eq!(s, ["0.03", "0.03", "0.04"]);

    // The day after the first portion falls due, only it is overdue.
    h.now_ms = at("2026-04-02");
    let v = h.get_invoice(&inv.invoice_id);
    assert_eq!((v.overdue.as_str(), v.days_overdue), ("50.00", 1));
    // Paying the first portion leaves nothing overdue; the next counts from 1 May.
    h.pay_with(&RecordPaymentRequest {
        account_id: "acme".into(),
        amount: gbp("50.00"),
        received_on: "2026-04-02".into(),
        method: "bank-transfer".into(),
        reference: "1st".into(),
        allocations: vec![AllocationRequest { invoice_id: inv.invoice_id.clone(), amount: "50.00".into() }],
        spread: None,
    })
    .unwrap();
    let v = h.get_invoice(&inv.invoice_id);
    assert_eq!((v.outstanding.as_str(), v.overdue.as_str(), v.days_overdue), ("50.01", "0.00", 0));
    h.now_ms = at("2026-05-04");
    let v = h.get_invoice(&inv.invoice_id);
    assert_eq!((v.overdue.as_str(), v.days_overdue), ("50.01", 3));
}

#[test]
fn partial_payment_overpayment_and_oldest_due_first() {
    let mut h = H::new();
    h.now_ms = at("2026-03-01");
    h.open("acme", "10000.00");
    // Created in one order, due in another: C (net 7) falls due first.
    let a = ship(&mut h, "2026-03-02", "acme", "SO-A", "100.00", None, None).unwrap(); // due 2026-04-01
    let b = ship(&mut h, "2026-03-05", "acme", "SO-B", "200.00", None, None).unwrap(); // due 2026-04-04
    let c = ship(&mut h, "2026-03-10", "acme", "SO-C", "150.00", Some(terms(7, TermBasis::InvoiceDate, None)), None).unwrap(); // due 2026-03-17
    assert_eq!((a.due_date.as_str(), b.due_date.as_str(), c.due_date.as_str()), ("2026-04-01", "2026-04-04", "2026-03-17"));

    // 350 across three invoices, oldest due first: C 150, A 100, B 100 of 200.
    h.now_ms = at("2026-03-20");
    let p = h.pay("acme", "350.00").unwrap();
    let got: Vec<_> = p.payment.allocations.iter().map(|x| (x.invoice_id.as_str(), x.amount.as_str(), x.outstanding_after.as_str())).collect();
    let (ai, bi, ci) = (a.invoice_id.as_str(), b.invoice_id.as_str(), c.invoice_id.as_str());
    assert_eq!(got, [(ci, "150.00", "0.00"), (ai, "100.00", "0.00"), (bi, "100.00", "100.00")]);
    assert_eq!(p.account.figures.posted_debt, "100.00");

    // Partial: 30 of the 100 left on B.
    let p = h.pay("acme", "30.00").unwrap();
    assert_eq!(p.payment.allocations[0].outstanding_after, "70.00");
    // Overpayment: 100 settles B's 70; 30 is kept as stored balance.
    let p = h.pay("acme", "100.00").unwrap();
    assert_eq!((p.payment.allocations[0].amount.as_str(), p.payment.added_to_stored_balance.as_str()), ("70.00", "30.00"));
    assert_eq!((p.account.figures.posted_debt.as_str(), p.account.figures.stored_balance.as_str()), ("0.00", "30.00"));
    let history = h.ledger.payments(&h.m, "acme", None, 10).unwrap().unwrap();
    assert_eq!(history.iter().map(|p| p.amount.as_str()).collect::<Vec<_>>(), ["350.00", "30.00", "100.00"]);

    // The stored balance settles the next invoice when allocated.
    let d = ship(&mut h, "2026-03-21", "acme", "SO-D", "45.00", None, None).unwrap();
    let c2 = h.ctx();
    let r = h.ledger.allocate_balance(&h.m, &c2, &AllocateBalanceRequest { account_id: "acme".into(), amount: None, allocations: vec![] }).unwrap().unwrap();
    assert_eq!((r.used.as_str(), r.allocations[0].invoice_id.as_str(), r.allocations[0].outstanding_after.as_str()), ("30.00", d.invoice_id.as_str(), "15.00"));
    h.check();
}

#[test]
fn payments_go_where_the_customer_says() {
    let mut h = H::new();
    h.now_ms = at("2026-03-01");
    h.open("acme", "10000.00");
    let a = ship(&mut h, "2026-03-02", "acme", "SO-A", "100.00", None, None).unwrap();
    let b = ship(&mut h, "2026-03-05", "acme", "SO-B", "200.00", None, None).unwrap();
    let alloc = |id: &str, amount: &str| AllocationRequest { invoice_id: id.into(), amount: amount.into() };
    let req = RecordPaymentRequest {
        account_id: "acme".into(),
        amount: gbp("260.00"),
        received_on: "2026-03-05".into(),
        method: "bank-transfer".into(),
        reference: "remittance".into(),
        allocations: vec![alloc(&b.invoice_id, "200.00"), alloc(&a.invoice_id, "50.00")],
        spread: None,
    };
    let p = h.pay_with(&req).unwrap();
    let got: Vec<_> = p.payment.allocations.iter().map(|x| (x.invoice_id.clone(), x.outstanding_after.clone())).collect();
    assert_eq!(got, [(b.invoice_id.clone(), "0.00".to_string()), (a.invoice_id.clone(), "50.00".to_string())]);
    assert_eq!(p.payment.added_to_stored_balance, "10.00", "what the customer did not allocate is stored");
}

#[test]
fn small_differences_settle_within_the_tolerance() {
    // (treatment, paid, outstanding after, small difference, posted debt after)
    let rows = [
        (SmallDifferenceTreatment::WriteOff, "99.97", "0.00", "0.03", "0.00"),
        (SmallDifferenceTreatment::WriteOff, "99.95", "0.00", "0.05", "0.00"),
        (SmallDifferenceTreatment::WriteOff, "99.94", "0.06", "0.00", "0.06"), // 0.06 > 0.05: stays open
        (SmallDifferenceTreatment::CarryOnBalance, "99.97", "0.00", "0.03", "0.03"), // moved to an adjustment
    ];
    for (i, (treatment, paid, left, diff, debt)) in rows.into_iter().enumerate() {
        let mut h = H::new();
        h.now_ms = at("2026-03-01");
        let mut policy = quiet_policy();
        policy.small_difference_max = "0.05".into();
        policy.small_difference_treatment = treatment;
        with_policy(&mut h, "acme", "1000.00", policy);
        let inv = ship(&mut h, "2026-03-02", "acme", "SO-1", "100.00", None, None).unwrap();
        let p = h.pay("acme", paid).unwrap();
        let a = &p.payment.allocations[0];
        assert_eq!((a.outstanding_after.as_str(), a.small_difference.as_str()), (left, diff), "row {i}");
        assert_eq!(p.account.figures.posted_debt, debt, "row {i}");
        let kinds: Vec<_> = h.entries("acme").iter().map(|e| e.kind).collect();
        match (treatment, diff) {
            (_, "0.00") => assert!(!kinds.iter().any(|k| matches!(k, EntryKind::SmallDifferenceWrittenOff | EntryKind::SmallDifferenceCarried))),
            (SmallDifferenceTreatment::WriteOff, _) => assert!(kinds.contains(&EntryKind::SmallDifferenceWrittenOff), "row {i}"),
            (SmallDifferenceTreatment::CarryOnBalance, _) => {
                let carried = a.carried_to.clone().expect("an adjustment item");
                let adj = h.get_invoice(&carried);
                assert_eq!((adj.kind, adj.outstanding.as_str(), adj.related_invoice_id.as_deref()), (ItemKind::Adjustment, "0.03", Some(inv.invoice_id.as_str())));
                // The next payment picks the carried pennies up first.
                let p2 = h.pay("acme", "1.00").unwrap();
                assert_eq!((p2.payment.allocations[0].invoice_id.as_str(), p2.payment.allocations[0].amount.as_str()), (carried.as_str(), "0.03"));
                assert_eq!(p2.payment.added_to_stored_balance, "0.97");
            }
        }
    }
}

#[test]
fn a_bounced_payment_reopens_its_invoices() {
    let mut h = H::new();
    h.now_ms = at("2026-03-01");
    h.open("acme", "10000.00");
    let a = ship(&mut h, "2026-03-02", "acme", "SO-A", "100.00", None, None).unwrap();
    let b = ship(&mut h, "2026-03-03", "acme", "SO-B", "1000.00", Some(terms(30, TermBasis::InvoiceDate, Some(("2", 10)))), None).unwrap();
    // 1,100 - 20.00 discount on B = 1,080 settles both; 50 more is stored.
    h.now_ms = at("2026-03-06");
    let p = h.pay("acme", "1130.00").unwrap();
    assert_eq!(p.account.figures.posted_debt, "0.00");
    assert_eq!(p.account.figures.stored_balance, "50.00");
    assert_eq!(p.payment.allocations[1].discount, "20.00");
    // 30 of the stored 50 is spent before the payment bounces.
    h.apply_balance("acme", "SO-X", "30.00").unwrap();

    h.now_ms = at("2026-03-09");
    let c = h.ctx();
    let r = h.ledger.reverse_payment(&h.m, &c, &p.payment.payment_id, "returned unpaid by the bank").unwrap().unwrap();
    assert!(r.payment.reversed);
    let reopened: Vec<_> = r.reopened.iter().map(|x| (x.invoice_id.as_str(), x.outstanding_after.as_str())).collect();
    assert_eq!(reopened, [(a.invoice_id.as_str(), "100.00"), (b.invoice_id.as_str(), "1000.00")], "the discount is undone too");
    assert_eq!(r.taken_from_stored_balance, "20.00");
    let spent = r.spent_balance_item.clone().expect("the 30 already spent is owed again");
    assert_eq!(h.get_invoice(&spent).outstanding, "30.00");
    // Owed: 100 + 1,000 + 30 = 1,130; stored balance 0.
    assert_eq!((r.account.figures.posted_debt.as_str(), r.account.figures.stored_balance.as_str()), ("1130.00", "0.00"));
    assert!(h.get_invoice(&b.invoice_id).settled_on.is_none());
    h.check();
    let c = h.ctx();
    assert_eq!(h.ledger.reverse_payment(&h.m, &c, &p.payment.payment_id, "again").unwrap().map(|_| ()), Err(CreditError::PaymentAlreadyReversed));
    // Paying again inside the window earns the discount again.
    let p2 = h.pay_on("acme", "1110.00", "2026-03-09").unwrap();
    assert_eq!(p2.account.figures.posted_debt, "0.00");
    let discounts: Vec<_> = p2.payment.allocations.iter().map(|x| x.discount.as_str()).collect();
    assert!(discounts.contains(&"20.00"));
}

fn collections_policy(day_count: DayCount) -> BillingPolicy {
    BillingPolicy {
        grace_days: 7,
        late_fee: Some("25.00".into()),
        interest: Some(InterestRule { annual_rate_percent: "8".into(), day_count }),
        reminders: [(-3, 1), (0, 1), (7, 2), (14, 3), (30, 4)].into_iter().map(|(offset_days, level)| ReminderStep { offset_days, level }).collect(),
        hold_after_days_overdue: Some(30),
        small_difference_max: "0".into(),
        small_difference_treatment: SmallDifferenceTreatment::WriteOff,
        statement_day: None,
        open_ended_holds: None,
    }
}

#[test]
fn late_fee_and_interest_on_a_thirty_day_overdue_invoice() {
    // 1,000.00 dated 2 March, net 30: due 1 April. Grace 7 days, fee 25.00, 8% a year.
    // (day count, close on, fee, interest charged by that close)
    // 30 days overdue on 1 May: 1000 x 8% x 30/365 = 6.5753 -> 6.58; x 30/360 = 6.6667 -> 6.67.
    let rows = [(DayCount::Actual365Fixed, "6.58"), (DayCount::Actual360, "6.67")];
    for (day_count, interest) in rows {
        let mut h = H::new();
        h.now_ms = at("2026-03-01");
        with_policy(&mut h, "acme", "5000.00", collections_policy(day_count));
        let inv = ship(&mut h, "2026-03-02", "acme", "SO-1", "1000.00", None, None).unwrap();
        h.now_ms = at("2026-05-01");
        let r = h.day_close("acme", "2026-05-01").unwrap();
        assert_eq!(r.late_fees.iter().map(|c| c.amount.as_str()).collect::<Vec<_>>(), ["25.00"]);
        assert_eq!(r.interest.iter().map(|c| c.amount.as_str()).collect::<Vec<_>>(), [interest]);
        let v = h.get_invoice(&inv.invoice_id);
        assert_eq!((v.late_fees_charged.as_str(), v.interest_charged.as_str(), v.days_overdue), ("25.00", interest, 30));
        let fee = h.get_invoice(&r.late_fees[0].item_id);
        assert_eq!((fee.kind, fee.total.as_str()), (ItemKind::LateFee, "25.00"));
    }
}

#[test]
fn grace_then_fees_then_interest_in_steps_adds_up_to_the_same_total() {
    let mut h = H::new();
    h.now_ms = at("2026-03-01");
    with_policy(&mut h, "acme", "5000.00", collections_policy(DayCount::Actual365Fixed));
    let inv = ship(&mut h, "2026-03-02", "acme", "SO-1", "1000.00", None, None).unwrap();
    // (close on, fee charged, interest charged)
    let rows = [
        ("2026-04-01", None, None),           // due today
        ("2026-04-08", None, None),           // 7 days overdue: still within the grace period
        ("2026-04-09", Some("25.00"), Some("1.75")), // 8 days: 1000 x 8% x 8/365 = 1.7534 -> 1.75
        ("2026-04-20", None, Some("2.41")),   // 19 days: 4.1644 -> 4.16 total, 4.16 - 1.75 = 2.41
        ("2026-05-01", None, Some("2.42")),   // 30 days: 6.5753 -> 6.58 total, 6.58 - 4.16 = 2.42
    ];
    for (day, fee, interest) in rows {
        h.now_ms = at(day);
        let r = h.day_close("acme", day).unwrap();
        assert!(!r.already_closed, "{day}");
        assert_eq!(r.late_fees.first().map(|c| c.amount.as_str()), fee, "{day}");
        assert_eq!(r.interest.first().map(|c| c.amount.as_str()), interest, "{day}");
    }
    assert_eq!(h.get_invoice(&inv.invoice_id).interest_charged, "6.58", "the same as one charge on 1 May");
    // Running the same day again, with another key, returns the first report and changes nothing.
    let before = h.dump();
    let again = h.day_close("acme", "2026-05-01").unwrap();
    assert_eq!(again.interest.first().map(|c| c.amount.as_str()), Some("2.42"));
    assert!(again.already_closed, "the answer says nothing was done");
    let mut after = h.dump();
    after.retain(|(_, k, _)| !k.starts_with("idem/"));
    let mut before = before;
    before.retain(|(_, k, _)| !k.starts_with("idem/"));
    assert_eq!(after, before, "nothing but the new key's record was written");
    assert_eq!(h.day_close("acme", "2026-04-30"), Err(CreditError::DayCloseOutOfOrder));
    assert_eq!(h.day_close("acme", "2026-05-02"), Err(CreditError::DateInFuture("date".into())));
}

#[test]
fn reminders_on_each_step_and_never_twice() {
    let mut h = H::new();
    h.now_ms = at("2026-03-01");
    with_policy(&mut h, "acme", "5000.00", collections_policy(DayCount::Actual365Fixed));
    let inv = ship(&mut h, "2026-03-02", "acme", "SO-1", "1000.00", None, None).unwrap(); // due 2026-04-01
    let mail = tempfile::tempdir().unwrap();
    let mut sent = Vec::new();
    // Close every day from 20 March to 10 May.
    let mut day = chrono::NaiveDate::from_ymd_opt(2026, 3, 20).unwrap();
    while day <= chrono::NaiveDate::from_ymd_opt(2026, 5, 10).unwrap() {
        let d = day.format("%Y-%m-%d").to_string();
        h.now_ms = at(&d);
        let r = h.day_close("acme", &d).unwrap();
        for m in &r.reminders {
            credit_host::mail::write_reminder(mail.path(), &h.m, &Default::default(), m).unwrap();
            sent.push((m.date.clone(), m.level, m.offset_days));
        }
        day = day.succ_opt().unwrap();
    }
    // -3: 29 Mar; 0: 1 Apr; 7: 8 Apr; 14: 15 Apr; 30: 1 May. Once each.
    assert_eq!(sent, [
        ("2026-03-29".to_string(), 1, -3),
        ("2026-04-01".to_string(), 1, 0),
        ("2026-04-08".to_string(), 2, 7),
        ("2026-04-15".to_string(), 3, 14),
        ("2026-05-01".to_string(), 4, 30),
    ]);
    let list = h.ledger.reminders(&h.m, "acme", None, 100).unwrap().unwrap();
    assert_eq!(list.len(), 5);
    assert!(list.iter().all(|r| r.invoice_id == inv.invoice_id && r.customer_id == "cust-acme"));
    assert!(list[4].subject.contains("30 days overdue"), "{}", list[4].subject);
    let files = std::fs::read_dir(mail.path().join("merchant-a").join("acme")).unwrap().count();
    assert_eq!(files, 5);
}

#[test]
fn a_first_close_after_several_steps_sends_only_the_latest() {
    let mut h = H::new();
    h.now_ms = at("2026-03-01");
    with_policy(&mut h, "acme", "5000.00", collections_policy(DayCount::Actual365Fixed));
    ship(&mut h, "2026-03-02", "acme", "SO-1", "1000.00", None, None).unwrap();
    h.now_ms = at("2026-04-10");
    let r = h.day_close("acme", "2026-04-10").unwrap();
    assert_eq!(r.reminders.iter().map(|m| m.level).collect::<Vec<_>>(), [2], "the 7-day step, not the missed earlier ones");
    h.now_ms = at("2026-04-11");
    assert!(h.day_close("acme", "2026-04-11").unwrap().reminders.is_empty());
}

#[test]
fn an_account_is_held_when_an_invoice_is_over_thirty_days_late_and_released_by_payment() {
    let mut h = H::new();
    h.now_ms = at("2026-03-01");
    with_policy(&mut h, "acme", "5000.00", collections_policy(DayCount::Actual365Fixed));
    ship(&mut h, "2026-03-02", "acme", "SO-1", "1000.00", None, None).unwrap(); // due 2026-04-01
    h.now_ms = at("2026-05-01");
    assert!(!h.day_close("acme", "2026-05-01").unwrap().put_on_hold, "30 days is not more than 30");
    h.now_ms = at("2026-05-02");
    let r = h.day_close("acme", "2026-05-02").unwrap();
    assert!(r.put_on_hold);
    let s = h.summary("acme");
    assert_eq!((s.status, s.held_for_overdue), (AccountStatus::OnHold, true));
    let d = h.decline("acme", "SO-2", gbp("1.00"));
    assert_eq!(d.reason, DeclineReason::OverdueInvoices);
    // Owed: 1,000 + 25.00 fee + interest for 31 days (1000 x 8% x 31/365 = 6.7945 -> 6.79).
    assert_eq!(s.figures.posted_debt, "1031.79");
    let p = h.pay("acme", "1031.79").unwrap();
    assert_eq!((p.account.status, p.account.held_for_overdue), (AccountStatus::Active, false));
    assert!(matches!(h.authorize("acme", "SO-2", gbp("1.00")), Ok(Authorization::Approved(_))));
}

#[test]
fn credit_limit_suggestion_from_history() {
    let mut h = H::new();
    h.now_ms = at("2026-03-01");
    h.open("acme", "5000.00");
    // Net 30 invoices: 1,000 on 2 Mar, 1,000 on 1 Apr, 1,000 on 1 May, 2,000 on 1 Jun.
    let i1 = ship(&mut h, "2026-03-02", "acme", "S1", "1000.00", None, None).unwrap(); // due 1 Apr
    h.now_ms = at("2026-03-20");
    h.pay("acme", "1000.00").unwrap(); // on time
    let i2 = ship(&mut h, "2026-04-01", "acme", "S2", "1000.00", None, None).unwrap(); // due 1 May
    h.now_ms = at("2026-04-25");
    h.pay("acme", "1000.00").unwrap(); // on time
    let _i3 = ship(&mut h, "2026-05-01", "acme", "S3", "1000.00", None, None).unwrap(); // due 31 May
    let _i4 = ship(&mut h, "2026-06-01", "acme", "S4", "2000.00", None, None).unwrap(); // due 1 Jul; debt now 3,000
    h.now_ms = at("2026-06-10");
    h.pay("acme", "1000.00").unwrap(); // S3, 10 days late
    h.now_ms = at("2026-07-01");
    h.pay("acme", "2000.00").unwrap(); // S4 on its due date: on time
    assert_eq!((i1.due_date.as_str(), i2.due_date.as_str()), ("2026-04-01", "2026-05-01"));
    // 4 settled, 3 on time = 75%, 10 days late / 4 = 2.5 on average -> factor 1.0 (>= 70%, <= 15).
    // base = max(highest debt 3,000, 2 x 5,000 / 12 = 833.33) = 3,000 -> 3,000.00.
    let s = h.ledger.suggest_credit_limit(&h.m, "acme", "2026-07-15").unwrap().unwrap();
    assert_eq!(
        (s.settled_invoices, s.on_time_percent.as_str(), s.average_days_late.as_str(), s.factor.as_str()),
        (4, "75.00", "2.50", "1.00")
    );
    assert_eq!((s.highest_debt.as_str(), s.volume12m.as_str(), s.suggested_limit.as_str()), ("3000.00", "5000.00", "3000.00"));
    assert_eq!(s.current_limit, "5000.00", "advice only: the limit is unchanged");
    assert_eq!(h.summary("acme").figures.credit_limit, "5000.00");
}

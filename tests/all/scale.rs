//! A cap bounds one call's work, never an account's life: accounts with
//! many overdue invoices are still charged, reminded and held; an invoice
//! takes any number of payments; daily closes do not multiply items; and an
//! account with 100,000 open items still authorizes, takes payments and
//! closes its day (in parts).

use credit_host::api::*;
use credit_host::{Ledger, MerchantId, audit};

use crate::support::*;

fn collections_policy() -> BillingPolicy {
    BillingPolicy {
        grace_days: 7,
        late_fee: Some("25.00".into()),
        interest: Some(InterestRule { annual_rate_percent: "8".into(), day_count: DayCount::Actual365Fixed }),
        reminders: [(-3, 1), (0, 1), (7, 2), (14, 3), (30, 4)].into_iter().map(|(offset_days, level)| ReminderStep { offset_days, level }).collect(),
        hold_after_days_overdue: Some(30),
        small_difference_max: "0".into(),
        small_difference_treatment: SmallDifferenceTreatment::WriteOff,
        statement_day: None,
        open_ended_holds: None,
    }
}

fn open_with(h: &mut H, account: &str, limit: &str, policy: BillingPolicy) {
    let mut req = open_req(account, "GBP", limit, Tolerance::None);
    req.policy = policy;
    h.open_with(&req).unwrap();
}

#[test]
fn a_hundred_and_one_overdue_invoices_with_fees_are_charged_reminded_and_held() {
    // Issue 17: 101 invoices + 101 fees went over the 200-item cap, so the
    // close failed, nothing was charged and the account was never held.
    let mut h = H::new();
    h.now_ms = at("2026-03-02");
    open_with(&mut h, "acme", "100000.00", collections_policy());
    let ids: Vec<String> = (0..101).map(|i| h.invoice("acme", &format!("SO-{i}"), "10.00").invoice_id).collect();
    // Due 1 April; on 2 May they are 31 days overdue: past grace and past
    // the 30-day hold threshold.
    h.now_ms = at("2026-05-02");
    let r = h.day_close("acme", "2026-05-02").unwrap();
    assert!(r.complete && r.part == 1, "{r:?}");
    assert!(r.put_on_hold);
    assert_eq!(r.late_fees.len(), 101);
    assert_eq!(r.interest.len(), 101);
    assert_eq!(r.reminders.len(), 101);
    // 10.00 x 8% x 31 / 365 = 0.0679 -> 0.07 each.
    assert!(r.interest.iter().all(|c| c.amount == "0.07"), "{:?}", r.interest[0]);
    let s = h.summary("acme");
    // 101 x (10.00 + 25.00 + 0.07) = 3,542.07; the invoices are overdue,
    // the fees and interest charged today fall due today.
    assert_eq!((s.figures.posted_debt.as_str(), s.overdue.as_str()), ("3542.07", "1010.00"));
    let declined = h.decline("acme", "SO-next", gbp("1.00"));
    assert_eq!(declined.reason, DeclineReason::OverdueInvoices);
    // Paying them all lifts the hold at once. One payment settles at most
    // 250 items, oldest due first (the 101 invoices, then 149 of the
    // charges); what it could not place stays as stored balance, which
    // allocate-balance puts against the rest.
    let p = h.pay("acme", "3542.07").unwrap();
    assert_eq!(p.payment.allocations.len(), 250);
    assert_eq!(p.account.status, AccountStatus::Active);
    assert!(ids.iter().all(|id| h.get_invoice(id).outstanding == "0.00"));
    let left = d(&p.account.figures.posted_debt);
    assert_eq!(d(&p.payment.added_to_stored_balance), left);
    let c = h.ctx();
    let req = AllocateBalanceRequest { account_id: "acme".into(), amount: None, allocations: vec![] };
    let r = h.ledger.allocate_balance(&h.m, &c, &req).unwrap().unwrap();
    assert_eq!((r.allocations.len(), d(&r.used)), (303 - 250, left));
    assert_eq!((r.account.figures.posted_debt.as_str(), r.account.figures.stored_balance.as_str()), ("0.00", "0.00"));
}

#[test]
fn an_invoice_takes_any_number_of_partial_payments() {
    // Issue 17: after 98 partial payments an invoice could never be touched
    // again (too-many-allocations), so it could never be settled.
    let mut h = H::new();
    h.open("acme", "10000.00");
    let inv = h.invoice("acme", "SO-1", "1000.00");
    for i in 0..150 {
        let req = RecordPaymentRequest {
            account_id: "acme".into(),
            amount: gbp("1.00"),
            received_on: h.today(),
            method: "card".into(),
            reference: format!("part {i}"),
            allocations: vec![AllocationRequest { invoice_id: inv.invoice_id.clone(), amount: "1.00".into() }],
            spread: None,
        };
        let c = h.ctx();
        h.ledger.record_payment(&h.m, &c, &req).unwrap().unwrap();
    }
    h.check();
    let v = h.get_invoice(&inv.invoice_id);
    assert_eq!((v.outstanding.as_str(), v.allocation_count, v.allocations.len()), ("850.00", 150, 100));
    // Every allocation, page by page, oldest first.
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = h.ledger.invoice_allocations(&h.m, &inv.invoice_id, after, 64).unwrap().unwrap();
        all.extend(page.allocations);
        match page.next_after_seq {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(all.len(), 150);
    assert!(all.iter().enumerate().all(|(i, a)| a.seq == i as u64 + 1 && a.amount == "1.00"));
    // A return credited to what is owed, then a named payment, settle it.
    let cn = h.ret("acme", "SO-1", "50.00", CreditTarget::OwedFirst).unwrap();
    assert_eq!(cn.applied_to_debt, "50.00");
    let req = RecordPaymentRequest {
        account_id: "acme".into(),
        amount: gbp("800.00"),
        received_on: h.today(),
        method: "bank-transfer".into(),
        reference: "rest".into(),
        allocations: vec![AllocationRequest { invoice_id: inv.invoice_id.clone(), amount: "800.00".into() }],
        spread: None,
    };
    let p = h.pay_with(&req).unwrap();
    assert_eq!(p.payment.allocations[0].outstanding_after, "0.00");
    let v = h.get_invoice(&inv.invoice_id);
    assert_eq!((v.allocation_count, v.settled_on.as_deref()), (152, Some(h.today().as_str())));
}

#[test]
fn daily_closes_for_over_a_year_charge_interest_onto_one_item() {
    // Issue 17: each close added an interest item, and from day 230 every
    // close failed. Now interest goes onto one open item per invoice.
    let mut h = H::new();
    h.now_ms = at("2026-03-02");
    open_with(&mut h, "acme", "100000.00", collections_policy());
    let inv = h.invoice("acme", "SO-1", "1000.00"); // due 2026-04-01
    let mut day = chrono::NaiveDate::from_ymd_opt(2026, 4, 2).unwrap();
    let last = chrono::NaiveDate::from_ymd_opt(2027, 5, 6).unwrap(); // 400 days overdue
    let mut closes = 0;
    while day <= last {
        let date = day.format("%Y-%m-%d").to_string();
        h.now_ms = at(&date);
        let c = h.ctx();
        let r = h.ledger.day_close(&h.m, &c, "acme", &date).unwrap().unwrap();
        assert!(r.complete, "{date}");
        closes += 1;
        // The invoice, its fee and one interest item, whatever the day.
        assert!(h.summary("acme").entry_count > 0);
        day = day.succ_opt().unwrap();
    }
    assert_eq!(closes, 400);
    h.check();
    let open = h.ledger.open_invoices_all(&h.m, "acme", &h.today()).unwrap().unwrap();
    let kinds: Vec<ItemKind> = open.iter().map(|i| i.kind).collect();
    assert_eq!(kinds, [ItemKind::Invoice, ItemKind::LateFee, ItemKind::Interest]);
    // 1000 x 8% x 400 / 365 = 87.6712 -> 87.67: the same as one charge.
    let v = h.get_invoice(&inv.invoice_id);
    assert_eq!(v.interest_charged, "87.67");
    let interest = &open[2];
    assert_eq!((interest.total.as_str(), interest.lines.len()), ("87.67", 1));
    assert_eq!(interest.lines[0].description, format!("Interest on {} from 2026-04-09 to 2027-05-06", inv.invoice_id));
    // Once it is paid, the next charge opens a new interest item.
    let req = RecordPaymentRequest {
        account_id: "acme".into(),
        amount: gbp("87.67"),
        received_on: h.today(),
        method: "card".into(),
        reference: "interest".into(),
        allocations: vec![AllocationRequest { invoice_id: interest.invoice_id.clone(), amount: "87.67".into() }],
        spread: None,
    };
    h.pay_with(&req).unwrap();
    h.now_ms = at("2027-05-07");
    let r = h.day_close("acme", "2027-05-07").unwrap();
    assert_eq!(r.interest.len(), 1);
    assert_ne!(r.interest[0].item_id, interest.invoice_id);
}

/// Opens an account and gives it `n` open invoices of 1.00, dated
/// 2026-03-02 and due 2026-04-01, straight through the component.
fn account_with_invoices(l: &mut Ledger, m: &MerchantId, account: &str, n: usize, policy: BillingPolicy) {
    let ctx = |k: String| CallContext { idempotency_key: k, now_ms: at("2026-03-02") };
    let mut req = open_req(account, "GBP", "1000000000.00", Tolerance::None);
    req.policy = policy;
    l.open_account(m, &ctx(format!("{account}-open")), &req).unwrap().unwrap();
    for i in 0..n {
        let auth = AuthorizeRequest { account_id: account.into(), order_id: format!("{account}-{i}"), amount: gbp("1.00"), hold_ttl_s: None, open_ended: None };
        let Authorization::Approved(a) = l.authorize(m, &ctx(format!("{account}-a{i}")), &auth).unwrap().unwrap() else { panic!("approval expected") };
        let cap = CaptureRequest { hold_id: a.hold.hold_id, amount: gbp("1.00"), lines: vec![], delivery_date: None, terms: None, delivery: None, rest: None };
        l.capture(m, &ctx(format!("{account}-c{i}")), &cap).unwrap().unwrap();
    }
}

#[test]
fn an_account_with_a_hundred_thousand_open_items_authorizes_pays_and_closes_its_day() {
    let n: usize = std::env::var("CREDIT_SCALE_ITEMS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let m = MerchantId::new("chain-store").unwrap();
    let mut l = ledger(component());
    let policy = BillingPolicy {
        grace_days: 0,
        late_fee: Some("0.10".into()),
        interest: None,
        reminders: vec![],
        hold_after_days_overdue: Some(30),
        small_difference_max: "0".into(),
        small_difference_treatment: SmallDifferenceTreatment::WriteOff,
        statement_day: None,
        open_ended_holds: None,
    };
    account_with_invoices(&mut l, &m, "small", 10, policy.clone());
    account_with_invoices(&mut l, &m, "chain", n, policy);
    let chain = l.get_account(&m, "chain", at("2026-03-02")).unwrap().unwrap();
    assert_eq!(chain.figures.posted_debt, format!("{n}.00"));

    // Authorize reads totals, never items: the same work as on 10 items
    // (fuel is deterministic; only the figures' digits differ).
    let ctx = |k: &str, day: &str| CallContext { idempotency_key: k.into(), now_ms: at(day) };
    let fuel_of = |l: &mut Ledger, account: &str| {
        let req = AuthorizeRequest { account_id: account.into(), order_id: format!("{account}-next"), amount: gbp("5.00"), hold_ttl_s: None, open_ended: None };
        let Ok(Ok(Authorization::Approved(_))) = l.authorize(&m, &ctx(&format!("{account}-fuel"), "2026-03-03"), &req) else { panic!("approval expected") };
        l.last_call_fuel()
    };
    let small = fuel_of(&mut l, "small");
    let big = fuel_of(&mut l, "chain");
    assert!(big <= small + small / 20, "authorize on {n} items used {big} fuel, on 10 items {small}");

    // A payment reads only the items it reaches: the two oldest, and half
    // of the third.
    let pay = RecordPaymentRequest {
        account_id: "chain".into(),
        amount: gbp("2.50"),
        received_on: "2026-03-03".into(),
        method: "bank-transfer".into(),
        reference: "first".into(),
        allocations: vec![],
        spread: None,
    };
    let p = l.record_payment(&m, &ctx("chain-pay", "2026-03-03"), &pay).unwrap().unwrap();
    let got: Vec<_> = p.payment.allocations.iter().map(|a| (a.invoice_id.as_str(), a.amount.as_str(), a.outstanding_after.as_str())).collect();
    let (first, second) = (chain_invoice(&mut l, &m, 0), chain_invoice(&mut l, &m, 1));
    let third = chain_invoice(&mut l, &m, 2);
    assert_eq!(got, [(first.as_str(), "1.00", "0.00"), (second.as_str(), "1.00", "0.00"), (third.as_str(), "0.50", "0.50")]);

    // 31 days overdue on 2 May: the first call holds the account before any
    // invoice is worked on, and the day is finished by further calls.
    let c1 = l.day_close(&m, &ctx("close-1", "2026-05-02"), "chain", "2026-05-02").unwrap().unwrap();
    assert!(c1.put_on_hold && c1.part == 1);
    assert_eq!(c1.complete, n <= 200);
    let declined = l.authorize(&m, &ctx("held", "2026-05-02"), &AuthorizeRequest { account_id: "chain".into(), order_id: "after-hold".into(), amount: gbp("1.00"), hold_ttl_s: None, open_ended: None });
    assert!(matches!(declined, Ok(Ok(Authorization::Declined(Decline { reason: DeclineReason::OverdueInvoices, .. })))), "{declined:?}");
    if !c1.complete {
        let next_day = l.day_close(&m, &ctx("close-next", "2026-05-03"), "chain", "2026-05-03").unwrap();
        assert_eq!(next_day.map(|_| ()), Err(CreditError::DayCloseUnfinished("2026-05-02".into())));
    }
    let mut fees = c1.late_fees.len();
    let mut last = c1;
    let mut part = 1;
    while !last.complete {
        part += 1;
        last = l.day_close(&m, &ctx(&format!("close-{part}"), "2026-05-02"), "chain", "2026-05-02").unwrap().unwrap();
        assert_eq!(last.part, part);
        assert!(!last.put_on_hold, "the hold decision is the first part's");
        fees += last.late_fees.len();
    }
    // One fee per open invoice, none twice: the two paid ones owe none.
    assert_eq!(fees, n - 2);
    // Finished: the day answers its last part again, and the next day runs.
    let again = l.day_close(&m, &ctx("close-again", "2026-05-02"), "chain", "2026-05-02").unwrap().unwrap();
    assert_eq!(again, DayCloseReport { already_closed: true, ..last });
    let next = l.day_close(&m, &ctx("close-0503", "2026-05-03"), "chain", "2026-05-03").unwrap().unwrap();
    assert!(next.late_fees.is_empty());
    let s = l.get_account(&m, "chain", at("2026-05-03")).unwrap().unwrap();
    // n - 2.50 of invoices and (n - 2) x 0.10 of fees.
    let owed = rust_decimal::Decimal::from(n as u64) - d("2.50") + d("0.10") * rust_decimal::Decimal::from((n - 2) as u64);
    assert_eq!(d(&s.figures.posted_debt), owed);
    let report = audit::audit(l.backend()).unwrap();
    assert!(report.is_clean(), "{:#?}", report.discrepancies);
    println!("{n} open invoices: authorize fuel {big} (10 items: {small}); day closed in {part} parts");
}

/// The id of the chain's `i`-th invoice (its order is `chain-<i>`).
fn chain_invoice(l: &mut Ledger, m: &MerchantId, i: usize) -> String {
    // Invoices are numbered per account: "small"'s 10 do not count.
    let id = format!("INV-chain-{}", i + 1);
    assert_eq!(l.get_invoice(m, &id, "2026-03-03").unwrap().unwrap().order_id.as_deref(), Some(format!("chain-{i}").as_str()));
    id
}

#[test]
fn the_largest_part_of_a_close_and_the_largest_payment_stay_well_within_the_fuel_budget() {
    // The per-call caps are counts; the work behind them depends on the
    // items. With every invoice at 100 lines (the largest an invoice can
    // be), one day-close part (200 invoices, each charged a fee and
    // interest and reminded) and one payment reaching 250 items must still
    // use under a quarter of a call's fuel, so no part can run out and trap
    // (lines are stored apart from the item, so they cost nothing here).
    let m = MerchantId::new("heavy").unwrap();
    let mut l = ledger(component());
    let ctx = |k: String, day: &str| CallContext { idempotency_key: k, now_ms: at(day) };
    let mut req = open_req("big", "GBP", "100000000.00", Tolerance::None);
    req.policy = collections_policy();
    l.open_account(&m, &ctx("open".into(), "2026-03-02"), &req).unwrap().unwrap();
    let line = |i: usize| InvoiceLine {
        description: format!("{i:0>256}"),
        quantity: "1".into(),
        unit_price: "0.10".into(),
        tax: "0.00".into(),
        tax_rate: None,
    };
    for i in 0..250 {
        let auth = AuthorizeRequest { account_id: "big".into(), order_id: format!("O{i}"), amount: gbp("10.00"), hold_ttl_s: None, open_ended: None };
        let Authorization::Approved(a) = l.authorize(&m, &ctx(format!("a{i}"), "2026-03-02"), &auth).unwrap().unwrap() else { panic!() };
        let cap = CaptureRequest { hold_id: a.hold.hold_id, amount: gbp("10.00"), lines: (0..100).map(line).collect(), delivery_date: None, terms: None, delivery: None, rest: None };
        l.capture(&m, &ctx(format!("c{i}"), "2026-03-02"), &cap).unwrap().unwrap();
    }
    let r = l.day_close(&m, &ctx("close".into(), "2026-05-02"), "big", "2026-05-02").unwrap().unwrap();
    let close_fuel = l.last_call_fuel();
    assert_eq!((r.late_fees.len(), r.complete), (200, false));
    let pay = RecordPaymentRequest {
        account_id: "big".into(),
        amount: gbp("100000.00"),
        received_on: "2026-05-02".into(),
        method: "bank-transfer".into(),
        reference: "all".into(),
        allocations: vec![],
        spread: None,
    };
    let p = l.record_payment(&m, &ctx("pay".into(), "2026-05-02"), &pay).unwrap().unwrap();
    let pay_fuel = l.last_call_fuel();
    assert_eq!(p.payment.allocations.len(), 250);
    let budget = credit_host::FUEL_PER_CALL_DEFAULT;
    println!("day-close part of 200 heavy invoices: {close_fuel} fuel; payment over 250: {pay_fuel} (budget {budget})");
    assert!(close_fuel < budget / 4 && pay_fuel < budget / 4, "close {close_fuel}, payment {pay_fuel}, budget {budget}");
}

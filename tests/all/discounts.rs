//! Dynamic discounting through the component: an annual rate earned pro
//! rata for the days a payment arrives before the due date, per account or
//! invoice, with a floor and a cap; shown on invoices and statements, taken
//! by an early payment, posted to its own book, undone by a bounce.

use credit_host::api::*;
use rust_decimal::Decimal;

use crate::support::*;

type E = CreditError;

fn offer(rate: &str, floor: &str, cap: &str) -> Option<DynamicDiscount> {
    Some(DynamicDiscount { annual_rate: rate.into(), floor: floor.into(), cap: cap.into() })
}

fn set(h: &mut H, account: &str, invoice: Option<&str>, offer: Option<DynamicDiscount>) -> Result<DynamicDiscountSetting, E> {
    let c = h.ctx();
    let req = SetDynamicDiscountRequest {
        account_id: account.into(),
        invoice_id: invoice.map(str::to_owned),
        offer,
        changed_by: "finance@example.com".into(),
        reason: "early-payment programme".into(),
    };
    let r = h.ledger.set_dynamic_discount(&h.m, &c, &req).expect("no trap");
    h.check();
    r
}

/// What paying the invoice on the harness's day would save.
fn saves(h: &mut H, invoice: &str) -> String {
    h.get_invoice(invoice).schedule[0].discount_available.clone()
}

/// A 1,000.00 invoice dated 2026-03-02, net 30: due 2026-04-01.
fn invoice_of(h: &mut H, account: &str, order: &str, amount: &str) -> Invoice {
    h.now_ms = at("2026-03-02");
    h.invoice(account, order, amount)
}

#[test]
fn an_early_payment_takes_the_dynamic_discount_into_its_own_book_and_a_bounce_gives_it_back() {
    let mut h = H::new();
    h.now_ms = at("2026-03-01");
    h.open("acme", "10000.00");
    let inv = invoice_of(&mut h, "acme", "SO-1", "1000.00");
    assert_eq!(inv.due_date, "2026-04-01");
    assert_eq!(saves(&mut h, &inv.invoice_id), "0.00", "nothing offered yet");

    // 12% a year, no floor, cap 2%: the account's offer reaches the
    // invoice issued before it.
    let s = set(&mut h, "acme", None, offer("12", "0", "2")).unwrap();
    assert_eq!((s.offer.clone(), s.applies.clone(), s.invoice_id.clone()), (offer("12", "0", "2"), offer("12", "0", "2"), None));
    // (day, what paying that day saves): 30 days early 0.98630..% -> 9.86;
    // 1 day early 0.03287..% -> 0.32; on the due day and later nothing.
    for (day, want) in [("2026-03-02", "9.86"), ("2026-03-17", "4.93"), ("2026-03-31", "0.32"), ("2026-04-01", "0.00"), ("2026-04-20", "0.00")] {
        h.now_ms = at(day);
        assert_eq!(saves(&mut h, &inv.invoice_id), want, "{day}");
    }
    // The invoice as printed on 2 March says what paying that day saves.
    h.now_ms = at("2026-03-02");
    let printed = h.get_invoice(&inv.invoice_id);
    let html = credit_host::render::invoice_html(&Default::default(), &Default::default(), "GBP", &printed).unwrap();
    assert!(html.contains("Paying today saves 9.86 GBP: a discount for paying before 2026-04-01 that shrinks each day."), "{html}");
    // The statement's open items say the same, as of its last day.
    let st = h.ledger.statement(&h.m, "acme", "2026-03-01", "2026-03-02", None).unwrap().unwrap();
    assert_eq!(st.open_items[0].schedule[0].discount_available, "9.86");
    let html = credit_host::render::statement_html(&Default::default(), &Default::default(), &st).unwrap();
    assert!(html.contains("Paid by 2026-03-02, saves") && html.contains(">9.86<"), "{html}");

    // 990.14 on 2 March settles 1,000.00: 9.86 is the discount, no residue.
    h.now_ms = at("2026-03-02");
    let p = h.pay_on("acme", "990.14", "2026-03-02").unwrap();
    let a = &p.payment.allocations[0];
    assert_eq!((a.amount.as_str(), a.discount.as_str(), a.outstanding_after.as_str()), ("990.14", "9.86", "0.00"));
    assert_eq!((p.account.figures.posted_debt.as_str(), p.payment.added_to_stored_balance.as_str()), ("0.00", "0.00"));
    let entries = h.entries("acme");
    let e = entries.iter().find(|e| e.kind == EntryKind::DynamicDiscountTaken).expect("a dynamic-discount entry");
    let postings: Vec<_> = e.postings.iter().map(|p| (p.book, p.debit.as_str(), p.credit.as_str())).collect();
    assert_eq!(postings, [(Book::DynamicDiscounts, "9.86", "0.00"), (Book::Receivable, "0.00", "9.86")]);
    assert!(!entries.iter().any(|e| e.kind == EntryKind::DiscountTaken), "not the fixed discount's entry");
    let allocs = h.ledger.invoice_allocations(&h.m, &inv.invoice_id, None, 10).unwrap().unwrap();
    let sources: Vec<_> = allocs.allocations.iter().map(|a| (a.source, a.amount.as_str())).collect();
    assert_eq!(sources, [(AllocationSource::Payment, "990.14"), (AllocationSource::DynamicDiscount, "9.86")]);
    assert!(h.get_invoice(&inv.invoice_id).settled_on.is_some());

    // The payment bounces: the invoice owes 1,000.00 again and the book
    // gets its 9.86 back in the reversal entry.
    h.now_ms = at("2026-03-05");
    let c = h.ctx();
    let r = h.ledger.reverse_payment(&h.m, &c, &p.payment.payment_id, "returned").unwrap().unwrap();
    assert_eq!((r.reopened[0].outstanding_after.as_str(), r.reopened[0].discount.as_str()), ("1000.00", "9.86"));
    let back = h.entries("acme").into_iter().find(|e| e.kind == EntryKind::PaymentReversed).unwrap();
    assert!(back.postings.iter().any(|p| p.book == Book::DynamicDiscounts && p.credit == "9.86"), "{:?}", back.postings);
    let net: Decimal = h
        .entries("acme")
        .iter()
        .flat_map(|e| e.postings.iter().filter(|p| p.book == Book::DynamicDiscounts).map(|p| d(&p.debit) - d(&p.credit)))
        .sum();
    assert_eq!(net, d("0"), "the book is back to nothing");
    h.check();

    // A part payment earns nothing; paying the rest later earns the
    // discount on what is left, for the days left: 500.00, 20 days early
    // (12 x 20 / 365 = 0.65753..%) = 3.28.
    h.now_ms = at("2026-03-12");
    let part = h.pay_on("acme", "500.00", "2026-03-12").unwrap();
    assert_eq!((part.payment.allocations[0].discount.as_str(), part.payment.allocations[0].outstanding_after.as_str()), ("0.00", "500.00"));
    assert_eq!(saves(&mut h, &inv.invoice_id), "3.28");
    let rest = h.pay_on("acme", "496.72", "2026-03-12").unwrap();
    assert_eq!((rest.payment.allocations[0].discount.as_str(), rest.account.figures.posted_debt.as_str()), ("3.28", "0.00"));

    // The events tell of the offer.
    let rows = h.ledger.backend().outbox_scan(0, 1000).unwrap();
    let changed: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).unwrap())
        .filter(|b| b["type"] == "dynamic-discount.changed")
        .collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0]["data"]["setting"]["offer"]["annual-rate"], "12");
}

#[test]
fn the_floor_the_cap_an_invoice_of_its_own_and_the_fixed_discount_first() {
    let mut h = H::new();
    h.now_ms = at("2026-03-01");
    h.open("acme", "10000.00");
    let a = invoice_of(&mut h, "acme", "SO-A", "1000.00");
    let b = invoice_of(&mut h, "acme", "SO-B", "1000.00");
    // Floor 0.5%, cap 1%: 30 days early earns 0.986..% (9.86); 90 days
    // would earn 2.96% but the cap holds it to 1%.
    set(&mut h, "acme", None, offer("12", "0.5", "1")).unwrap();
    h.now_ms = at("2026-03-02");
    assert_eq!(saves(&mut h, &a.invoice_id), "9.86");
    // 15 days early: 0.4931..% is under the floor: nothing. 16: 0.526..% = 5.26.
    h.now_ms = at("2026-03-17");
    assert_eq!(saves(&mut h, &a.invoice_id), "0.00");
    h.now_ms = at("2026-03-16");
    assert_eq!(saves(&mut h, &a.invoice_id), "5.26");
    set(&mut h, "acme", None, offer("36.5", "0", "1")).unwrap();
    h.now_ms = at("2026-03-02");
    assert_eq!(saves(&mut h, &a.invoice_id), "10.00", "36.5% for 30 days is 3%, capped at 1%");

    // B gets an offer of its own; "0" takes B out of the account's offer.
    let s = set(&mut h, "acme", Some(&b.invoice_id), offer("24", "0", "5")).unwrap();
    assert_eq!(s.applies, offer("24", "0", "5"));
    assert_eq!(saves(&mut h, &b.invoice_id), "19.72", "24 x 30 / 365 = 1.9726%");
    set(&mut h, "acme", Some(&b.invoice_id), offer("0", "0", "1")).unwrap();
    assert_eq!(saves(&mut h, &b.invoice_id), "0.00");
    // Withdrawn, B follows the account again.
    let s = set(&mut h, "acme", Some(&b.invoice_id), None).unwrap();
    assert_eq!((s.offer.clone(), s.applies.clone()), (None, offer("36.5", "0", "1")));
    assert_eq!(saves(&mut h, &b.invoice_id), "10.00");
    // The account's offer withdrawn: nothing anywhere.
    set(&mut h, "acme", None, None).unwrap();
    assert_eq!((saves(&mut h, &a.invoice_id), saves(&mut h, &b.invoice_id)), ("0.00".to_string(), "0.00".to_string()));

    // An invoice on 2/10 net 30: in its window the fixed 2% applies (and
    // posts as the fixed discount); after it, the dynamic one.
    set(&mut h, "acme", None, offer("12", "0", "2")).unwrap();
    h.now_ms = at("2026-03-02");
    let hold = h.approve("acme", "SO-C", "1000.00").hold.hold_id;
    let mut req = CaptureRequest { hold_id: hold, amount: gbp("1000.00"), lines: vec![], delivery_date: None, terms: None, delivery: None, rest: None };
    let mut t = net30();
    t.discount = Some(EarlyPaymentDiscount { percent: Some("2".into()), days: 10, amount: None, basis: None });
    req.terms = Some(t);
    let c = h.capture_with(&req).unwrap().invoice;
    assert_eq!(saves(&mut h, &c.invoice_id), "20.00", "the fixed 2% while its window is open");
    h.now_ms = at("2026-03-13");
    assert_eq!(saves(&mut h, &c.invoice_id), "6.24", "then 12% x 19 / 365 = 0.6246%");
    let p = h.pay_with(&RecordPaymentRequest {
        account_id: "acme".into(),
        amount: gbp("993.76"),
        received_on: "2026-03-13".into(),
        method: "bank-transfer".into(),
        reference: "C".into(),
        allocations: vec![AllocationRequest { invoice_id: c.invoice_id.clone(), amount: "993.76".into() }],
        spread: None,
    });
    let p = p.unwrap();
    assert_eq!((p.payment.allocations[0].discount.as_str(), p.payment.allocations[0].outstanding_after.as_str()), ("6.24", "0.00"));
    h.check();
}

#[test]
fn bad_offers_are_refused_and_change_nothing() {
    let mut h = H::new();
    h.now_ms = at("2026-03-01");
    h.open("acme", "10000.00");
    h.open("other", "10000.00");
    let inv = invoice_of(&mut h, "acme", "SO-1", "100.00");
    let theirs = invoice_of(&mut h, "other", "SO-2", "100.00");
    let paid = invoice_of(&mut h, "acme", "SO-3", "50.00");
    h.pay_with(&RecordPaymentRequest {
        account_id: "acme".into(),
        amount: gbp("50.00"),
        received_on: "2026-03-02".into(),
        method: "cash".into(),
        reference: String::new(),
        allocations: vec![AllocationRequest { invoice_id: paid.invoice_id.clone(), amount: "50.00".into() }],
        spread: None,
    })
    .unwrap();
    // An invoice in two instalments (half on day 15, the rest on day 30).
    let hold = h.approve("acme", "SO-4", "80.00").hold.hold_id;
    let mut t = net30();
    t.instalments = vec![Instalment { percent: Some("50".into()), days: 15, amount: None }, Instalment { percent: None, days: 30, amount: None }];
    let req = CaptureRequest { hold_id: hold, amount: gbp("80.00"), lines: vec![], delivery_date: None, terms: Some(t), delivery: None, rest: None };
    let split = h.capture_with(&req).unwrap().invoice;
    assert_eq!(split.schedule.len(), 2);
    let before = h.dump();
    let f = |s: &str| s.to_owned();
    let rows: Vec<(&str, Option<&str>, Option<DynamicDiscount>, E)> = vec![
        ("acme", None, offer("twelve", "0", "2"), E::AmountMalformed(f("offer.annual-rate"))),
        ("acme", None, offer("-1", "0", "2"), E::AmountMustNotBeNegative(f("offer.annual-rate"))),
        ("acme", None, offer("12.345", "0", "2"), E::AmountTooPrecise(f("offer.annual-rate"))),
        ("acme", None, offer("101", "0", "2"), E::AmountTooLarge(f("offer.annual-rate"))),
        ("acme", None, offer("12", "-0.5", "2"), E::AmountMustNotBeNegative(f("offer.floor"))),
        ("acme", None, offer("12", "0", "0"), E::AmountMustBePositive(f("offer.cap"))),
        ("acme", None, offer("12", "0", "1e2"), E::AmountMalformed(f("offer.cap"))),
        ("acme", None, offer("12", "3", "2"), E::PolicyOutOfRange(f("offer.floor"))),
        ("nobody", None, offer("12", "0", "2"), E::AccountNotFound(f("nobody"))),
        ("acme", Some("INV-none"), offer("12", "0", "2"), E::InvoiceNotFound(f("INV-none"))),
        ("acme", Some(theirs.invoice_id.as_str()), offer("12", "0", "2"), E::InvoiceBelongsToAnotherAccount(theirs.invoice_id.clone())),
        ("acme", Some(paid.invoice_id.as_str()), offer("12", "0", "2"), E::InvoiceSettled(paid.invoice_id.clone())),
        ("acme", Some("bad id"), offer("12", "0", "2"), E::IdHasInvalidCharacter(f("invoice-id"))),
        ("acme", Some(split.invoice_id.as_str()), offer("12", "0", "2"), E::PolicyOutOfRange(f("invoice-id"))),
    ];
    for (i, (account, invoice, o, want)) in rows.into_iter().enumerate() {
        assert_eq!(set(&mut h, account, invoice, o).map(|_| ()), Err(want), "row {i}");
    }
    assert!(h.dump() == before, "a refused offer writes nothing");
    assert_eq!(saves(&mut h, &inv.invoice_id), "0.00");

    // The same key with another offer is refused; with the same one
    // (written another way) it is the same answer.
    let c = h.ctx();
    let req = |rate: &str| SetDynamicDiscountRequest {
        account_id: "acme".into(),
        invoice_id: None,
        offer: offer(rate, "0", "2"),
        changed_by: "f".into(),
        reason: "r".into(),
    };
    let first = h.ledger.set_dynamic_discount(&h.m, &c, &req("12")).unwrap().unwrap();
    assert_eq!(h.ledger.set_dynamic_discount(&h.m, &c, &req("12.00")).unwrap().unwrap(), first);
    // Instalment invoices carry no discount, whatever the account offers.
    assert_eq!(saves(&mut h, &inv.invoice_id), "0.98", "100.00 x 12 x 30 / 36,500");
    let split_saves: Vec<String> = h.get_invoice(&split.invoice_id).schedule.iter().map(|p| p.discount_available.clone()).collect();
    assert_eq!(split_saves, ["0.00", "0.00"]);
    assert_eq!(h.ledger.set_dynamic_discount(&h.m, &c, &req("13")).unwrap().map(|_| ()), Err(E::IdempotencyKeyReused));
    h.check();
}

//! What finance teams and customers read, through the component:
//! statements, aged receivables, the debtor list, early warnings, notes and
//! deliveries.

use credit_host::api::*;
use rust_decimal::Decimal;

use crate::support::*;

fn policy(statement_day: Option<u8>) -> BillingPolicy {
    BillingPolicy {
        grace_days: 5,
        late_fee: Some("10.00".into()),
        interest: Some(InterestRule { annual_rate_percent: "12".into(), day_count: DayCount::Actual365Fixed }),
        reminders: vec![ReminderStep { offset_days: 0, level: 1 }, ReminderStep { offset_days: 14, level: 2 }],
        hold_after_days_overdue: Some(45),
        small_difference_max: "0.05".into(),
        small_difference_treatment: SmallDifferenceTreatment::WriteOff,
        statement_day,
        open_ended_holds: None,
    }
}

fn open_with(h: &mut H, account: &str, currency: &str, limit: &str, terms: PaymentTerms, policy: BillingPolicy) {
    let mut req = open_req(account, currency, limit, Tolerance::None);
    req.terms = terms;
    req.policy = policy;
    h.open_with(&req).unwrap();
}

fn money_of(currency: &str, amount: &str) -> Money {
    Money { amount: amount.into(), currency: currency.into() }
}

/// Ships an order for `amount` today; returns the invoice.
fn ship(h: &mut H, account: &str, order: &str, amount: &str) -> Invoice {
    h.invoice(account, order, amount)
}

fn statement(h: &mut H, account: &str, from: &str, to: &str) -> AccountStatement {
    h.ledger.statement_all(&h.m, account, from, to).unwrap().unwrap()
}

fn month_bounds(year: i32, month: u32) -> (String, String) {
    let first = chrono::NaiveDate::from_ymd_opt(year, month, 1).unwrap();
    let next = if month == 12 { chrono::NaiveDate::from_ymd_opt(year + 1, 1, 1) } else { chrono::NaiveDate::from_ymd_opt(year, month + 1, 1) }.unwrap();
    (first.format("%Y-%m-%d").to_string(), next.pred_opt().unwrap().format("%Y-%m-%d").to_string())
}

#[test]
fn statements_add_up_for_every_account_and_month_of_a_long_history() {
    // Seven months of trade on three accounts: orders shipped, payments
    // (some early with a discount, some short by a small difference, one
    // that bounces), returns, store credit used, fees and interest from
    // daily closes. Every month's statement must add up, and follow on
    // from the one before.
    let mut h = H::new();
    h.check_every = 25;
    h.now_ms = at("2026-01-05");
    let two_ten = PaymentTerms {
        net_days: 30,
        basis: TermBasis::InvoiceDate,
        discount: Some(EarlyPaymentDiscount { percent: Some("2".into()), days: 10, amount: None, basis: None }),
        instalments: vec![],
        months: None,
        day_of_month: None,
        cut_off_day: None,
    };
    let accounts = ["acme", "birch", "cobalt"];
    open_with(&mut h, "acme", "GBP", "50000.00", two_ten, policy(Some(31)));
    open_with(&mut h, "birch", "GBP", "20000.00", net30(), policy(Some(15)));
    open_with(&mut h, "cobalt", "GBP", "8000.00", net30(), policy(None));
    let mut rng = Rng(0xC0FF_EE00_1234_5678);
    let mut day = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
    let end = chrono::NaiveDate::from_ymd_opt(2026, 7, 31).unwrap();
    let mut shipped: Vec<(usize, String)> = Vec::new();
    let mut n = 0;
    let mut bounced = false;
    while day <= end {
        let date = day.format("%Y-%m-%d").to_string();
        h.now_ms = at(&date);
        for (i, account) in accounts.iter().enumerate() {
            n += 1;
            match rng.below(10) {
                0..=2 => {
                    let amount = rng.pennies(5_000, 90_000);
                    if let Ok(Authorization::Approved(a)) = h.authorize(account, &format!("SO-{n}"), gbp(&amount)) {
                        h.capture(&a.hold.hold_id, &amount).unwrap();
                        shipped.push((i, format!("SO-{n}")));
                    }
                }
                3 => {
                    let amount = rng.pennies(1_000, 150_000);
                    let p = h.pay(account, &amount).unwrap();
                    if !bounced && i == 1 && d(&amount) > d("500") {
                        let c = h.ctx();
                        h.ledger.reverse_payment(&h.m, &c, &p.payment.payment_id, "returned unpaid").unwrap().unwrap();
                        bounced = true;
                    }
                }
                4 if !shipped.is_empty() => {
                    let (owner, order) = shipped[rng.below(shipped.len() as u64) as usize].clone();
                    let to = if rng.below(2) == 0 { CreditTarget::OwedFirst } else { CreditTarget::StoredBalance };
                    let _ = h.ret(accounts[owner], &order, &rng.pennies(100, 2_000), to);
                }
                5 => {
                    let _ = h.apply_balance(account, &format!("SB-{n}"), &rng.pennies(100, 3_000));
                }
                _ => {}
            }
            h.day_close(account, &date).unwrap();
        }
        day = day.succ_opt().unwrap();
    }
    h.check();
    for account in accounts {
        let mut previous_closing: Option<String> = None;
        for month in 1..=7 {
            let (from, to) = month_bounds(2026, month);
            let s = statement(&mut h, account, &from, &to);
            let debits: Decimal = s.lines.iter().map(|l| d(&l.debit)).sum();
            let credits: Decimal = s.lines.iter().map(|l| d(&l.credit)).sum();
            assert_eq!(d(&s.total_debits), debits, "{account} {from}");
            assert_eq!(d(&s.total_credits), credits, "{account} {from}");
            assert_eq!(d(&s.opening_balance) + debits - credits, d(&s.closing_balance), "{account} {from}: opening + movements = closing");
            if let Some(prev) = &previous_closing {
                assert_eq!(&s.opening_balance, prev, "{account} {from}: opens where the last month closed");
            }
            // Every line's running balance follows from the one before.
            let mut running = d(&s.opening_balance);
            for l in &s.lines {
                running += d(&l.debit) - d(&l.credit);
                assert_eq!(d(&l.balance), running, "{account} {from} line {}", l.entry_seq);
                assert!(l.date.as_str() >= from.as_str() && l.date.as_str() <= to.as_str());
            }
            previous_closing = Some(s.closing_balance.clone());
        }
        // The last month closes at the account's balance now.
        let summary = h.summary(account);
        assert_eq!(previous_closing.as_deref(), Some(summary.balance.as_str()), "{account}");
        // The whole period in one statement says the same.
        let all = statement(&mut h, account, "2026-01-01", "2026-07-31");
        assert_eq!((all.opening_balance.as_str(), all.closing_balance.as_str()), ("0.00", summary.balance.as_str()));
    }
    // What a finance team would see on a statement: the kinds of line.
    let acme = statement(&mut h, "acme", "2026-01-01", "2026-07-31");
    let kinds: std::collections::BTreeSet<String> = acme.lines.iter().map(|l| format!("{:?}", l.kind)).collect();
    for kind in ["EntryKind::HoldCaptured", "EntryKind::PaymentRecorded", "EntryKind::LateFeeCharged", "EntryKind::InterestCharged", "EntryKind::DiscountTaken"] {
        assert!(kinds.contains(kind), "acme's statement shows a {kind} line: {kinds:?}");
    }
    let payment = acme.lines.iter().find(|l| l.kind == EntryKind::PaymentRecorded).unwrap();
    assert!(payment.description.contains("by bank-transfer, reference REF"), "{}", payment.description);
    let birch = statement(&mut h, "birch", "2026-01-01", "2026-07-31");
    assert!(birch.lines.iter().any(|l| l.kind == EntryKind::PaymentReversed && l.description.contains("returned unpaid")));

    // Monthly statements made by day-close: acme on the last day of each
    // month (31 clamps to 30 and 28), birch on the 15th; once a month each.
    let acme_kept = h.ledger.statements(&h.m, "acme", None, 100).unwrap().unwrap();
    let ends: Vec<&str> = acme_kept.iter().map(|s| s.period_to.as_str()).collect();
    assert_eq!(ends, ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30", "2026-07-31"]);
    assert_eq!(acme_kept[0].period_from, "2026-01-05", "the first runs from the day the account opened");
    for pair in acme_kept.windows(2) {
        assert_eq!(pair[1].opening_balance, pair[0].closing_balance);
    }
    let birch_kept = h.ledger.statements(&h.m, "birch", None, 100).unwrap().unwrap();
    assert_eq!(birch_kept.iter().map(|s| s.period_to.as_str()).collect::<Vec<_>>(), ["2026-01-15", "2026-02-15", "2026-03-15", "2026-04-15", "2026-05-15", "2026-06-15", "2026-07-15"]);
    assert!(h.ledger.statements(&h.m, "cobalt", None, 100).unwrap().unwrap().is_empty());
    // A kept statement is whole as it was made: its lines add up, and it
    // starts right after the entry the one before ended with.
    let kept = h.ledger.get_statement(&h.m, "acme", 3).unwrap().unwrap();
    assert_eq!((kept.period_from.as_str(), kept.period_to.as_str()), ("2026-03-01", "2026-03-31"));
    assert_eq!((kept.opening_balance.as_str(), kept.closing_balance.as_str()), (acme_kept[2].opening_balance.as_str(), acme_kept[2].closing_balance.as_str()));
    let moved: Decimal = kept.lines.iter().map(|l| d(&l.debit) - d(&l.credit)).sum();
    assert_eq!(d(&kept.opening_balance) + moved, d(&kept.closing_balance));
    let february = h.ledger.get_statement(&h.m, "acme", 2).unwrap().unwrap();
    let (last_feb, first_mar) = (february.lines.last().unwrap().entry_seq, kept.lines.first().unwrap().entry_seq);
    assert!(first_mar > last_feb);
    assert_eq!(h.ledger.get_statement(&h.m, "acme", 99).unwrap().map(|_| ()), Err(CreditError::StatementNotFound(99)));
    // Running the statement day's close again makes no second statement.
    let c = h.ctx();
    let r = h.ledger.day_close(&h.m, &c, "acme", "2026-07-31").unwrap().unwrap();
    assert_eq!(r.statement.as_ref().map(|s| s.seq), Some(7));
    assert_eq!(h.ledger.statements(&h.m, "acme", None, 100).unwrap().unwrap().len(), 7);
}

#[test]
fn a_statement_shows_what_is_due_and_ages_it() {
    let mut h = H::new();
    h.now_ms = at("2026-03-02");
    open_with(&mut h, "acme", "GBP", "10000.00", net30(), policy(None));
    let a = ship(&mut h, "acme", "SO-1", "1000.00"); // due 2026-04-01
    h.now_ms = at("2026-03-20");
    let b = ship(&mut h, "acme", "SO-2", "250.00"); // due 2026-04-19
    h.now_ms = at("2026-04-10");
    h.pay("acme", "400.00").unwrap();
    let s = statement(&mut h, "acme", "2026-03-01", "2026-04-10");
    assert_eq!((s.opening_balance.as_str(), s.total_debits.as_str(), s.total_credits.as_str(), s.closing_balance.as_str()), ("0.00", "1250.00", "400.00", "850.00"));
    let items: Vec<(&str, &str, &str, u32)> = s.open_items.iter().map(|i| (i.invoice_id.as_str(), i.outstanding.as_str(), i.overdue.as_str(), i.days_overdue)).collect();
    assert_eq!(items, [(a.invoice_id.as_str(), "600.00", "600.00", 9), (b.invoice_id.as_str(), "250.00", "0.00", 0)]);
    // Due now: the 600.00 due on 1 April; the 250.00 falls due later.
    assert_eq!((s.amount_due.as_str(), s.not_yet_due.as_str()), ("600.00", "250.00"));
    assert_eq!(s.bucket_labels, ["current", "1-30", "31-60", "61-90", "over 90"]);
    assert_eq!(s.aging.buckets, ["250.00", "600.00", "0.00", "0.00", "0.00"]);
    assert_eq!(s.aging.total, "850.00");
    // The period must be a period.
    assert_eq!(h.ledger.statement(&h.m, "acme", "2026-04-10", "2026-03-01", None).unwrap().map(|_| ()), Err(CreditError::StatementPeriodOutOfRange));
    assert_eq!(h.ledger.statement(&h.m, "acme", "2016-01-01", "2026-03-01", None).unwrap().map(|_| ()), Err(CreditError::StatementPeriodOutOfRange));
}

#[test]
fn a_statement_page_carries_the_statements_figures() {
    use credit_host::directory::{Directory, Party};
    let mut h = H::new();
    h.now_ms = at("2026-03-02");
    open_with(&mut h, "acme", "GBP", "10000.00", net30(), policy(None));
    let a = ship(&mut h, "acme", "SO-1", "1234.50"); // due 2026-04-01
    h.now_ms = at("2026-03-20");
    let b = ship(&mut h, "acme", "SO-2", "250.00");
    h.now_ms = at("2026-04-10");
    h.pay_with(&RecordPaymentRequest {
        account_id: "acme".into(),
        amount: gbp("400.00"),
        received_on: "2026-04-10".into(),
        method: "cheque".into(),
        reference: "<b>R&D</b>".into(),
        allocations: vec![],
        spread: None,
    })
    .unwrap();
    let s = statement(&mut h, "acme", "2026-03-01", "2026-04-10");
    let names = Directory::default()
        .with_merchant(h.m.as_str(), Party { name: "Northwind Office Supplies Ltd".into(), address: vec!["1 Dock Road".into()], email: None })
        .with_customer(h.m.as_str(), &s.customer_id, Party { name: "Acme Dental Ltd".into(), address: vec!["12 Harley Mews".into()], email: None });
    let html = credit_host::render::statement_html(&names.merchant(h.m.as_str()), &names.customer(h.m.as_str(), &s.customer_id), &s).unwrap();

    let figure = |label: &str, value: &str| format!("<div class=\"label\">{label}</div><div class=\"value\">{value}</div>");
    for (label, value) in [
        ("Opening balance", "0.00"),
        ("Charges", "1,484.50"),
        ("Payments and credits", "400.00"),
        ("Closing balance", "1,084.50"),
        ("Amount due now", "834.50"),
        ("Due later", "250.00"),
        ("Credit limit", "10,000.00"),
    ] {
        assert!(html.contains(&figure(label, value)), "the page should show {label} {value}:\n{html}");
    }
    // The figures are the statement's, not recomputed: opening + movements = closing.
    assert_eq!((s.opening_balance.as_str(), s.total_debits.as_str(), s.total_credits.as_str(), s.closing_balance.as_str()), ("0.00", "1484.50", "400.00", "1084.50"));
    for text in ["Northwind Office Supplies Ltd", "1 Dock Road", "Acme Dental Ltd", "12 Harley Mews", "2026-03-01 to 2026-04-10", "Account acme"] {
        assert!(html.contains(text), "the page should name {text:?}");
    }
    // Every movement, with its running balance, in order.
    let mut at_ = 0;
    for l in &s.lines {
        let balance = credit_host::render::grouped(&l.balance);
        let row = html[at_..].find(&format!("<td class=\"num\">{balance}</td></tr>")).unwrap_or_else(|| panic!("line {} (balance {balance}) missing or out of order", l.entry_seq));
        at_ += row + 1;
    }
    assert_eq!(s.lines.len(), 3, "two invoices and a payment");
    // The open items with what is outstanding and how late.
    for (id, outstanding, days) in [(a.invoice_id.as_str(), "834.50", 9), (b.invoice_id.as_str(), "250.00", 0)] {
        assert!(html.contains(&format!("<td class=\"num\">{outstanding}</td><td class=\"num\">{days}</td></tr>")), "{id}: {outstanding}, {days} days");
        assert!(html.contains(&format!("<td>{id}")), "{id} listed");
    }
    // What the customer typed is text, never markup.
    assert!(!html.contains("<b>R&D</b>"), "a payment reference must be escaped");
    assert!(html.contains("&lt;b&gt;R&amp;D&lt;/b&gt;") || html.contains("&#60;b&#62;R&#38;D&#60;/b&#62;"), "{html}");
    // One self-contained page: no script, no outside stylesheet or image.
    for outside in ["<script", "<link", "src=", "@import", "url("] {
        assert!(!html.contains(outside), "the page must not load {outside}");
    }
    assert!(html.contains("@page { size: A4"), "printed on A4");
}

#[test]
fn aging_buckets_fall_at_their_edges_and_totals_equal_the_open_items() {
    // One invoice per edge day: due dates chosen so that on 2026-06-30
    // they are 0, 1, 30, 31, 60, 61, 90 and 91 days past due.
    let mut h = H::new();
    h.now_ms = at("2026-01-01");
    open_with(&mut h, "edges", "GBP", "1000000.00", net30(), policy(None));
    open_with(&mut h, "other", "GBP", "1000000.00", net30(), policy(None));
    open_with(&mut h, "euro", "EUR", "1000000.00", net30(), policy(None));
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
    let mut expected_bucket = Vec::new();
    for (i, days) in [0i64, 1, 30, 31, 60, 61, 90, 91].into_iter().enumerate() {
        let due = as_of - chrono::Duration::days(days);
        let invoice_day = due - chrono::Duration::days(30);
        h.now_ms = at(&invoice_day.format("%Y-%m-%d").to_string());
        let amount = format!("{}.00", 10u32.pow(i as u32 % 6) + i as u32);
        ship(&mut h, "edges", &format!("E{i}"), &amount);
        expected_bucket.push((days, amount));
    }
    h.now_ms = at("2026-06-01");
    ship(&mut h, "other", "O1", "77.00");
    let hold = match h.authorize("euro", "EU1", money_of("EUR", "55.00")).unwrap() {
        Authorization::Approved(a) => a.hold.hold_id,
        other => panic!("{other:?}"),
    };
    h.capture_with(&CaptureRequest { hold_id: hold, amount: money_of("EUR", "55.00"), lines: vec![], delivery_date: None, terms: None, delivery: None, rest: None }).unwrap();
    // Stored balance is its own column.
    let c = h.ctx();
    let pay = RecordPaymentRequest {
        account_id: "other".into(),
        amount: gbp("100.00"),
        received_on: "2026-06-01".into(),
        method: "card".into(),
        reference: "over".into(),
        allocations: vec![],
        spread: None,
    };
    h.ledger.record_payment(&h.m, &c, &pay).unwrap().unwrap(); // pays 77.00, keeps 23.00
    h.now_ms = at("2026-06-30");
    let row = h.ledger.account_aging(&h.m, "edges", "2026-06-30", AgingBasis::DueDate, &[]).unwrap().unwrap();
    // Days 0 current; 1 and 30 in 1-30; 31 and 60 in 31-60; 61 and 90 in 61-90; 91 over 90.
    let sum = |idx: &[usize]| -> Decimal { idx.iter().map(|&i| d(&expected_bucket[i].1)).sum() };
    let want = [sum(&[0]), sum(&[1, 2]), sum(&[3, 4]), sum(&[5, 6]), sum(&[7])];
    assert_eq!(row.buckets.iter().map(|b| d(b)).collect::<Vec<_>>(), want);
    assert_eq!(d(&row.total), want.iter().sum::<Decimal>());
    assert_eq!(d(&row.total), d(&h.summary("edges").figures.posted_debt), "total = the open items");
    // Edges of one's own: 45 and 75 days.
    let custom = h.ledger.account_aging(&h.m, "edges", "2026-06-30", AgingBasis::DueDate, &[45, 75]).unwrap().unwrap();
    assert_eq!(custom.buckets.iter().map(|b| d(b)).collect::<Vec<_>>(), [sum(&[0]), sum(&[1, 2, 3]), sum(&[4, 5]), sum(&[6, 7])]);
    // By document date every invoice is 30 days older.
    let by_doc = h.ledger.account_aging(&h.m, "edges", "2026-06-30", AgingBasis::DocumentDate, &[]).unwrap().unwrap();
    assert_eq!(by_doc.buckets.iter().map(|b| d(b)).collect::<Vec<_>>(), [Decimal::ZERO, sum(&[0]), sum(&[1, 2]), sum(&[3, 4]), sum(&[5, 6, 7])]);

    // The merchant's report, two accounts a page: rows and totals per
    // currency; the pages' totals add up to every open item.
    let mut rows = Vec::new();
    let mut totals: std::collections::BTreeMap<String, (Decimal, Decimal)> = Default::default();
    let mut after = None;
    loop {
        let req = AgingRequest { as_of: "2026-06-30".into(), basis: AgingBasis::DueDate, edges: vec![], currency: None, company_id: None, after: after.clone(), limit: 2 };
        let page = h.ledger.aging(&h.m, &req).unwrap().unwrap();
        assert_eq!(page.bucket_labels, ["current", "1-30", "31-60", "61-90", "over 90"]);
        for t in &page.totals {
            let e = totals.entry(t.currency.clone()).or_default();
            e.0 += d(&t.total);
            e.1 += d(&t.unapplied_credit);
            assert_eq!(d(&t.net), d(&t.total) - d(&t.unapplied_credit));
            assert_eq!(t.buckets.iter().map(|b| d(b)).sum::<Decimal>(), d(&t.total));
        }
        rows.extend(page.rows);
        match page.next_after {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    assert_eq!(rows.iter().map(|r| r.account_id.as_str()).collect::<Vec<_>>(), ["edges", "euro", "other"]);
    let other = rows.iter().find(|r| r.account_id == "other").unwrap();
    assert_eq!((other.total.as_str(), other.unapplied_credit.as_str(), other.net.as_str()), ("0.00", "23.00", "-23.00"));
    let open_gbp: Decimal = ["edges", "other"].iter().map(|a| d(&h.summary(a).figures.posted_debt)).sum();
    assert_eq!(totals["GBP"], (open_gbp, d("23.00")));
    assert_eq!(totals["EUR"], (d("55.00"), Decimal::ZERO));
    // One currency only.
    let req = AgingRequest { as_of: "2026-06-30".into(), basis: AgingBasis::DueDate, edges: vec![], currency: Some("EUR".into()), company_id: None, after: None, limit: 10 };
    let page = h.ledger.aging(&h.m, &req).unwrap().unwrap();
    assert_eq!(page.rows.iter().map(|r| r.account_id.as_str()).collect::<Vec<_>>(), ["euro"]);
    // Bad edges are refused.
    for edges in [vec![30, 30], vec![0, 10], vec![1, 2, 3, 4, 5, 6, 7], vec![4000]] {
        let req = AgingRequest { as_of: "2026-06-30".into(), basis: AgingBasis::DueDate, edges, currency: None, company_id: None, after: None, limit: 10 };
        assert_eq!(h.ledger.aging(&h.m, &req).unwrap().map(|_| ()), Err(CreditError::ReportQueryOutOfRange("edges".into())));
    }
}

fn debtor_query(sort: DebtorSort) -> DebtorQuery {
    DebtorQuery::unfiltered("2026-05-01", sort, 100)
}

fn ids(page: &DebtorPage) -> Vec<&str> {
    page.rows.iter().map(|r| r.account_id.as_str()).collect()
}

#[test]
fn the_debtor_list_filters_sorts_and_pages() {
    let mut h = H::new();
    h.now_ms = at("2026-03-02");
    // a: owes 900 of 1000, overdue; b: owes 100 of 5000; c: overpaid 50;
    // d: owes 2000 of 2000 (on hold); e: nothing; f: EUR, owes 300.
    for (id, limit) in [("a", "1000.00"), ("b", "5000.00"), ("c", "1000.00"), ("d", "2000.00"), ("e", "500.00")] {
        open_with(&mut h, id, "GBP", limit, net30(), policy(None));
    }
    open_with(&mut h, "f", "EUR", "1000.00", net30(), policy(None));
    ship(&mut h, "a", "A1", "900.00"); // due 2026-04-01
    h.now_ms = at("2026-04-15");
    ship(&mut h, "b", "B1", "100.00"); // due 2026-05-15
    h.pay("c", "50.00").unwrap();
    ship(&mut h, "d", "D1", "2000.00"); // due 2026-05-15
    h.set_status("d", AccountStatus::OnHold).unwrap();
    let hold = match h.authorize("f", "F1", money_of("EUR", "300.00")).unwrap() {
        Authorization::Approved(x) => x.hold.hold_id,
        other => panic!("{other:?}"),
    };
    h.capture_with(&CaptureRequest { hold_id: hold, amount: money_of("EUR", "300.00"), lines: vec![], delivery_date: None, terms: None, delivery: None, rest: None }).unwrap();
    h.now_ms = at("2026-05-01");
    for id in ["a", "b", "c", "d", "e", "f"] {
        h.day_close(id, "2026-05-01").unwrap();
    }
    let page = |h: &mut H, q: &DebtorQuery| h.ledger.debtors(&h.m, q).unwrap().unwrap();

    // Sorted by balance, per currency (EUR before GBP), largest first.
    let p = page(&mut h, &debtor_query(DebtorSort::Balance));
    assert_eq!(ids(&p), ["f", "d", "a", "b", "e", "c"]);
    // The close of 1 May charged a's fee (10.00) and interest (900 x 12% x
    // 30 / 365 = 8.88), due that day: in its balance, not yet overdue.
    let a = &p.rows[2];
    assert_eq!((a.balance.as_str(), a.overdue.as_str(), a.overdue_as_of.as_deref(), a.days_overdue), ("918.88", "900.00", Some("2026-05-01"), 30));
    assert_eq!(a.utilisation_percent.as_deref(), Some("91.88"));
    // Filters.
    let mut q = debtor_query(DebtorSort::Balance);
    q.currency = Some("GBP".into());
    q.balance_min = Some("100".into());
    q.balance_max = Some("1000".into());
    assert_eq!(ids(&page(&mut h, &q)), ["a", "b"]);
    let mut q = debtor_query(DebtorSort::Overdue);
    q.overdue_min = Some("0.01".into());
    assert_eq!(ids(&page(&mut h, &q)), ["a"]);
    let mut q = debtor_query(DebtorSort::DaysOverdue);
    q.days_overdue_min = Some(30);
    assert_eq!(ids(&page(&mut h, &q)), ["a"]);
    let p = page(&mut h, &debtor_query(DebtorSort::DaysOverdue));
    assert_eq!(ids(&p)[..3], ["a", "b", "d"], "oldest unpaid due date first; nothing unpaid last");
    let mut q = debtor_query(DebtorSort::Utilisation);
    q.utilisation_min_percent = Some("90".into());
    let p = page(&mut h, &q);
    assert_eq!(ids(&p), ["d", "a"]);
    // Sorted by what is filtered, the list ends at the first account below
    // the bound: three read, not six, and no page after.
    assert_eq!((p.examined, p.next_after.as_deref()), (3, None));
    // Days overdue and (within one currency) balance end the same way.
    let mut q = debtor_query(DebtorSort::DaysOverdue);
    q.days_overdue_min = Some(1);
    let p = page(&mut h, &q);
    assert_eq!((ids(&p), p.examined, p.next_after.as_deref()), (vec!["a"], 2, None));
    let mut q = debtor_query(DebtorSort::Balance);
    q.currency = Some("GBP".into());
    q.balance_min = Some("1000".into());
    let p = page(&mut h, &q);
    assert_eq!((ids(&p), p.examined, p.next_after.as_deref()), (vec!["d"], 2, None));
    // Across currencies the amount order starts again in each: no early end.
    q.currency = None;
    let p = page(&mut h, &q);
    assert_eq!((ids(&p), p.examined), (vec!["d"], 6));
    let mut q = debtor_query(DebtorSort::StoredBalance);
    q.has_stored_balance = Some(true);
    assert_eq!(ids(&page(&mut h, &q)), ["c"]);
    let mut q = debtor_query(DebtorSort::Status);
    q.status = Some(AccountStatus::OnHold);
    assert_eq!(ids(&page(&mut h, &q)), ["d"]);
    let p = page(&mut h, &debtor_query(DebtorSort::Status));
    assert_eq!(ids(&p), ["a", "b", "c", "e", "f", "d"], "active (by id), then on-hold");

    // Paging two at a time while accounts change between pages: no
    // account that did not change is repeated or skipped.
    let mut q = debtor_query(DebtorSort::Balance);
    q.currency = Some("GBP".into());
    q.limit = 2;
    let first = page(&mut h, &q);
    assert_eq!(ids(&first), ["d", "a"]);
    // Between pages: b pays everything (its balance falls from 100.00 to
    // 0.00) and e buys 400.00 (from 0.00 to 400.00). Both now sit behind
    // the cursor (918.88) in the order, each once.
    h.pay("b", "100.00").unwrap();
    ship(&mut h, "e", "E1", "400.00");
    q.after = first.next_after.clone();
    let mut rest = Vec::new();
    loop {
        let p = page(&mut h, &q);
        rest.extend(ids(&p).into_iter().map(str::to_owned));
        match p.next_after {
            Some(a) => q.after = Some(a),
            None => break,
        }
    }
    // e (400.00), then b (0.00, before e's old place by id), then c.
    assert_eq!(rest, ["e", "b", "c"]);
    // Amount filters follow the currency's minor units.
    let mut q = debtor_query(DebtorSort::Balance);
    q.currency = Some("GBP".into());
    q.balance_min = Some("1.001".into());
    assert_eq!(h.ledger.debtors(&h.m, &q).unwrap().map(|_| ()), Err(CreditError::AmountTooPrecise("balance-min".into())));
    let mut q = debtor_query(DebtorSort::Balance);
    q.currency = Some("XXX".into());
    assert!(matches!(h.ledger.debtors(&h.m, &q).unwrap(), Err(CreditError::CurrencyUnknown(_))));
}

fn rules() -> WarningRules {
    WarningRules { window: 3, utilisation_percent: "90".into(), bounce_days: 90, first_overdue_days: 30 }
}

fn signals(h: &mut H, account: &str, as_of: &str) -> Vec<WarningSignal> {
    h.ledger.account_warnings(&h.m, account, as_of, &rules()).unwrap().unwrap().signals
}

#[test]
fn each_early_warning_comes_from_its_history_and_a_healthy_account_shows_none() {
    let mut h = H::new();
    h.now_ms = at("2026-01-05");
    for id in ["healthy", "slower", "stretched", "bounced", "late", "promised"] {
        open_with(&mut h, id, "GBP", "10000.00", net30(), policy(None));
    }
    // Six invoices each for "healthy" and "slower", paid 10 days after
    // issue; "slower"'s last three take 25 days.
    for i in 0..6 {
        let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap() + chrono::Duration::days(i * 7);
        let issue = start.format("%Y-%m-%d").to_string();
        for id in ["healthy", "slower"] {
            h.now_ms = at(&issue);
            let inv = ship(&mut h, id, &format!("{id}-{i}"), "100.00");
            let wait = if id == "slower" && i >= 3 { 25 } else { 10 };
            let paid_on = (start + chrono::Duration::days(wait)).format("%Y-%m-%d").to_string();
            h.now_ms = at(&paid_on);
            let req = RecordPaymentRequest {
                account_id: id.into(),
                amount: gbp("100.00"),
                received_on: paid_on.clone(),
                method: "bank-transfer".into(),
                reference: inv.invoice_id.clone(),
                allocations: vec![AllocationRequest { invoice_id: inv.invoice_id.clone(), amount: "100.00".into() }],
                spread: None,
            };
            h.pay_with(&req).unwrap();
        }
    }
    h.now_ms = at("2026-03-20");
    // "stretched" uses 95% of its limit.
    ship(&mut h, "stretched", "S1", "9500.00");
    // "bounced" paid, and the payment came back.
    ship(&mut h, "bounced", "X1", "300.00");
    let p = h.pay("bounced", "300.00").unwrap();
    let c = h.ctx();
    h.ledger.reverse_payment(&h.m, &c, &p.payment.payment_id, "returned by the bank").unwrap().unwrap();
    // "late": an invoice from February, unpaid past its due date.
    h.now_ms = at("2026-02-10");
    ship(&mut h, "late", "L1", "200.00"); // due 2026-03-12
    h.now_ms = at("2026-03-20");
    h.day_close("late", "2026-03-20").unwrap();
    // "promised": promised 500.00 by 25 March, paid 200.00.
    ship(&mut h, "promised", "P1", "800.00");
    let c = h.ctx();
    let note = AddNoteRequest {
        account_id: "promised".into(),
        by: "r.patel".into(),
        text: "Called: they will pay 500 by the 25th".into(),
        promise: Some(Promise { pay_by: "2026-03-25".into(), amount: "500.00".into() }),
    };
    let n = h.ledger.add_note(&h.m, &c, &note).unwrap().unwrap();
    h.pay("promised", "200.00").unwrap();

    h.now_ms = at("2026-03-30");
    assert_eq!(signals(&mut h, "healthy", "2026-03-30"), []);
    match &signals(&mut h, "slower", "2026-03-30")[..] {
        [WarningSignal::PayingSlower(p)] => {
            assert_eq!((p.window, p.recent_average_days.as_str(), p.earlier_average_days.as_str()), (3, "25.00", "10.00"));
        }
        other => panic!("{other:?}"),
    }
    match &signals(&mut h, "stretched", "2026-03-30")[..] {
        [WarningSignal::HighUtilisation(u)] => assert_eq!((u.utilisation_percent.as_deref(), u.threshold_percent.as_str()), (Some("95.00"), "90.00")),
        other => panic!("{other:?}"),
    }
    match &signals(&mut h, "bounced", "2026-03-30")[..] {
        [WarningSignal::RecentBounce(b)] => assert_eq!((b.date.as_str(), b.payment_id.as_str()), ("2026-03-20", p.payment.payment_id.as_str())),
        other => panic!("{other:?}"),
    }
    // 90 days later the bounce is old news.
    assert_eq!(signals(&mut h, "bounced", "2026-06-19"), []);
    match &signals(&mut h, "late", "2026-03-30")[..] {
        // The invoice, its 10.00 fee and 200 x 12% x 8 / 365 = 0.53 interest
        // from the close of 20 March.
        [WarningSignal::FirstTimeOverdue(f)] => assert_eq!((f.since.as_str(), f.overdue.as_str()), ("2026-03-20", "210.53")),
        other => panic!("{other:?}"),
    }
    match &signals(&mut h, "promised", "2026-03-30")[..] {
        [WarningSignal::PromiseMissed(m)] => {
            assert_eq!((m.note_seq, m.pay_by.as_str(), m.amount.as_str(), m.paid.as_str()), (n.seq, "2026-03-25", "500.00", "200.00"));
        }
        other => panic!("{other:?}"),
    }
    // Before the promised day, nothing is missed yet.
    assert_eq!(signals(&mut h, "promised", "2026-03-24"), []);
    // The merchant's list: every account that signals, a page at a time.
    let mut listed = Vec::new();
    let mut after = None;
    loop {
        let page = h.ledger.warnings(&h.m, "2026-03-30", &rules(), after.as_deref(), 2).unwrap().unwrap();
        listed.extend(page.rows.into_iter().map(|r| r.account_id));
        match page.next_after {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    assert_eq!(listed, ["bounced", "late", "promised", "slower", "stretched"]);
    let bad = WarningRules { window: 0, ..rules() };
    assert_eq!(h.ledger.account_warnings(&h.m, "healthy", "2026-03-30", &bad).unwrap().map(|_| ()), Err(CreditError::ReportQueryOutOfRange("rules.window".into())));
}

#[test]
fn notes_and_deliveries_are_kept_and_paged() {
    let mut h = H::new();
    h.open("acme", "100000.00");
    for i in 0..7 {
        let c = h.ctx();
        let req = AddNoteRequest { account_id: "acme".into(), by: "finance".into(), text: format!("note {i}\nsecond line"), promise: None };
        let n = h.ledger.add_note(&h.m, &c, &req).unwrap().unwrap();
        assert_eq!(n.seq, i + 1);
    }
    let mut notes = Vec::new();
    let mut after = None;
    loop {
        let p = h.ledger.notes(&h.m, "acme", after, 3).unwrap().unwrap();
        notes.extend(p.notes);
        match p.next_after_seq {
            Some(s) => after = Some(s),
            None => break,
        }
    }
    assert_eq!(notes.iter().map(|n| n.text.lines().next().unwrap()).collect::<Vec<_>>(), (0..7).map(|i| format!("note {i}")).collect::<Vec<_>>());
    for i in 0..5 {
        let hold = h.approve("acme", &format!("SO-{i}"), "100.00").hold.hold_id;
        let req = CaptureRequest {
            hold_id: hold,
            amount: gbp("100.00"),
            lines: vec![],
            delivery_date: Some(h.today()),
            terms: None,
            delivery: Some(DeliveryDetails {
                carrier: "DPD".into(),
                tracking_reference: format!("DPD-{i}"),
                cost: "7.95".into(),
                charged: if i % 2 == 0 { "0.00".into() } else { "9.50".into() },
            }),
            rest: None,
        };
        h.capture_with(&req).unwrap();
    }
    let first = h.ledger.deliveries(&h.m, "acme", None, 2).unwrap().unwrap();
    assert_eq!(first.deliveries.iter().map(|d| d.tracking_reference.as_str()).collect::<Vec<_>>(), ["DPD-0", "DPD-1"]);
    assert_eq!((first.deliveries[1].cost.as_str(), first.deliveries[1].charged.as_str()), ("7.95", "9.50"));
    assert_eq!(first.deliveries[0].order_id, "SO-0");
    let rest = h.ledger.deliveries(&h.m, "acme", first.next_after_seq, 100).unwrap().unwrap();
    assert_eq!(rest.deliveries.len(), 3);
    assert_eq!(rest.next_after_seq, None);
    // Bad input changes nothing.
    let before = h.dump();
    let c = h.ctx();
    let long = AddNoteRequest { account_id: "acme".into(), by: "f".into(), text: "x".repeat(2001), promise: None };
    assert_eq!(h.ledger.add_note(&h.m, &c, &long).unwrap().map(|_| ()), Err(CreditError::TextTooLong("text".into())));
    let bell = AddNoteRequest { account_id: "acme".into(), by: "f".into(), text: "ding\u{7}".into(), promise: None };
    assert_eq!(h.ledger.add_note(&h.m, &c, &bell).unwrap().map(|_| ()), Err(CreditError::TextHasControlCharacter("text".into())));
    let promise = AddNoteRequest { account_id: "acme".into(), by: "f".into(), text: "x".into(), promise: Some(Promise { pay_by: "soon".into(), amount: "1".into() }) };
    assert_eq!(h.ledger.add_note(&h.m, &c, &promise).unwrap().map(|_| ()), Err(CreditError::DateMalformed("promise.pay-by".into())));
    let zero = AddNoteRequest { account_id: "acme".into(), by: "f".into(), text: "x".into(), promise: Some(Promise { pay_by: "2026-04-01".into(), amount: "0".into() }) };
    assert_eq!(h.ledger.add_note(&h.m, &c, &zero).unwrap().map(|_| ()), Err(CreditError::AmountMustBePositive("promise.amount".into())));
    let hold = h.approve("acme", "SO-X", "1.00").hold.hold_id;
    let before_capture = h.dump();
    let c = h.ctx();
    let req = CaptureRequest {
        hold_id: hold,
        amount: gbp("1.00"),
        lines: vec![],
        delivery_date: None,
        terms: None,
        delivery: Some(DeliveryDetails { carrier: "DPD".into(), tracking_reference: "t".into(), cost: "-1".into(), charged: "0".into() }),
        rest: None,
    };
    assert_eq!(h.ledger.capture(&h.m, &c, &req).unwrap().map(|_| ()), Err(CreditError::AmountMustNotBeNegative("delivery.cost".into())));
    assert_eq!(h.dump(), before_capture);
    drop(before);
    h.check();
}

//! Company credit: buyer accounts of one company share one credit line.
//! `authorize` on a buyer checks the buyer's own sub-limit and the
//! company's line; the overdue hold is the company's; aging works per
//! company. Many threads on different buyers never take the company over
//! its limit + tolerance.

use std::sync::{Arc, Barrier};

use credit_host::api::*;
use credit_host::audit;
use credit_host::pool::LedgerPool;
use credit_host::MerchantId;
use rust_decimal::Decimal;

use crate::support::*;

fn open_company(h: &mut H, id: &str, limit: &str, tolerance: Tolerance) -> Result<CompanySummary, CreditError> {
    let c = h.ctx();
    let req = OpenCompanyRequest { company_id: id.into(), currency: "GBP".into(), credit_limit: limit.into(), tolerance, opened_by: "finance".into() };
    h.ledger.open_company(&h.m, &c, &req).expect("no trap")
}

fn buyer(h: &mut H, account: &str, company: &str, sub_limit: &str) -> Result<AccountSummary, CreditError> {
    let mut req = open_req(account, "GBP", sub_limit, Tolerance::None);
    req.company_id = Some(company.into());
    req.policy.hold_after_days_overdue = Some(10);
    h.open_with(&req)
}

fn company(h: &mut H, id: &str) -> CompanySummary {
    let now = h.now_ms;
    h.ledger.get_company(&h.m, id, now).expect("no trap").expect("company exists")
}

#[test]
fn a_buyer_is_approved_only_within_its_sub_limit_and_the_company_line() {
    let mut h = H::new();
    let s = open_company(&mut h, "nw-group", "1000.00", Tolerance::None).unwrap();
    assert_eq!((s.figures.credit_limit.as_str(), s.figures.available_credit.as_str(), s.buyers.len()), ("1000.00", "1000.00", 0));
    let b1 = buyer(&mut h, "nw-leeds", "nw-group", "800.00").unwrap();
    assert_eq!(b1.company_id.as_deref(), Some("nw-group"));
    buyer(&mut h, "nw-york", "nw-group", "600.00").unwrap();
    assert_eq!(company(&mut h, "nw-group").buyers, ["nw-leeds", "nw-york"]);

    // Leeds reserves 700.00 of its 800.00; York's own 600.00 would hold
    // 400.00 but the company has 300.00 left: declined for the company,
    // short by 100.00.
    h.approve("nw-leeds", "L-1", "700.00");
    let d = h.decline("nw-york", "Y-1", gbp("400.00"));
    assert_eq!((d.reason, d.shortfall.as_str()), (DeclineReason::CompanyCreditInsufficient, "100.00"));
    h.approve("nw-york", "Y-2", "300.00");
    let s = company(&mut h, "nw-group");
    assert_eq!((s.figures.open_holds.as_str(), s.figures.exposure.as_str(), s.figures.available_credit.as_str()), ("1000.00", "1000.00", "0.00"));
    // Leeds's own line is the tighter one for 150.00: 100.00 left.
    let d = h.decline("nw-leeds", "L-2", gbp("150.00"));
    assert_eq!((d.reason, d.shortfall.as_str()), (DeclineReason::InsufficientCredit, "50.00"));

    // The company's figures follow its buyers' money: Leeds ships 700.00
    // and pays 200.00; York's order is cancelled.
    let hold = h.ledger.open_holds(&h.m, "nw-leeds", h.now_ms).unwrap().unwrap()[0].hold_id.clone();
    h.capture(&hold, "700.00").unwrap();
    h.pay("nw-leeds", "200.00").unwrap();
    let hold = h.ledger.open_holds(&h.m, "nw-york", h.now_ms).unwrap().unwrap()[0].hold_id.clone();
    h.void(&hold).unwrap();
    let s = company(&mut h, "nw-group");
    assert_eq!((s.figures.posted_debt.as_str(), s.figures.open_holds.as_str(), s.figures.available_credit.as_str()), ("500.00", "0.00", "500.00"));
    // An amendment that grows an order is checked against the company too.
    let a = h.approve("nw-york", "Y-3", "400.00").hold.hold_id;
    let c = h.ctx();
    let r = h.ledger.amend_hold(&h.m, &c, &AmendHoldRequest { hold_id: a, amount: gbp("550.00") }).unwrap().unwrap();
    let Authorization::Declined(d) = r else { panic!("approved past the company line: {r:?}") };
    assert_eq!((d.reason, d.shortfall.as_str()), (DeclineReason::CompanyCreditInsufficient, "50.00"));
    h.check();
}

#[test]
fn one_buyer_overdue_holds_the_whole_company_and_aging_adds_up_per_company() {
    let mut h = H::new();
    open_company(&mut h, "nw-group", "5000.00", Tolerance::Amount("100.00".into())).unwrap();
    buyer(&mut h, "nw-leeds", "nw-group", "3000.00").unwrap();
    buyer(&mut h, "nw-york", "nw-group", "3000.00").unwrap();
    h.open("solo", "1000.00");
    h.invoice("nw-leeds", "L-1", "1000.00"); // due 2026-04-01
    h.invoice("nw-york", "Y-1", "400.00");
    h.invoice("solo", "S-1", "50.00");
    // Leeds pays part of it; on 12 April it is 11 days late: day-close
    // holds Leeds, and York may not buy either.
    h.pay("nw-leeds", "100.00").unwrap();
    h.now_ms = at("2026-04-12");
    let today = h.today();
    assert!(h.day_close("nw-leeds", &today).unwrap().put_on_hold);
    assert_eq!(company(&mut h, "nw-group").buyers_held_for_overdue, 1);
    let d = h.decline("nw-york", "Y-2", gbp("10.00"));
    assert_eq!(d.reason, DeclineReason::CompanyOverdueInvoices);
    // Aging of the company: only its buyers, its totals.
    let req = AgingRequest {
        as_of: today.clone(),
        basis: AgingBasis::DueDate,
        edges: vec![],
        currency: None,
        company_id: Some("nw-group".into()),
        after: None,
        limit: 10,
    };
    let page = h.ledger.aging(&h.m, &req).unwrap().unwrap();
    assert_eq!(page.rows.iter().map(|r| r.account_id.as_str()).collect::<Vec<_>>(), ["nw-leeds", "nw-york"]);
    assert_eq!((page.totals[0].total.as_str(), page.totals[0].buckets[1].as_str()), ("1300.00", "1300.00"));
    assert_eq!(page.totals[0].total, company(&mut h, "nw-group").figures.posted_debt);
    // The company's statement for March and April to the 12th: each
    // buyer's balances, their sums, the company's aging.
    let st = h.ledger.company_statement(&h.m, "nw-group", "2026-03-01", &today).unwrap().unwrap();
    let rows: Vec<_> = st.buyers.iter().map(|b| (b.account_id.as_str(), b.opening_balance.as_str(), b.closing_balance.as_str(), b.amount_due.as_str())).collect();
    assert_eq!(rows, [("nw-leeds", "0.00", "900.00", "900.00"), ("nw-york", "0.00", "400.00", "400.00")]);
    assert_eq!((st.closing_balance.as_str(), st.amount_due.as_str(), st.not_yet_due.as_str()), ("1300.00", "1300.00", "0.00"));
    assert_eq!((st.aging.account_id.as_str(), st.aging.total.as_str(), st.aging.buckets[1].as_str()), ("nw-group", "1300.00", "1300.00"));
    assert_eq!(st.figures.posted_debt, "1300.00");
    // A period before anything happened opens and closes at 0.00.
    let early = h.ledger.company_statement(&h.m, "nw-group", "2026-01-01", "2026-02-28").unwrap().unwrap();
    assert_eq!((early.opening_balance.as_str(), early.closing_balance.as_str()), ("0.00", "0.00"));
    assert_eq!(h.ledger.company_statement(&h.m, "nobody", "2026-03-01", "2026-03-31").unwrap().map(|_| ()), Err(CreditError::CompanyNotFound("nobody".into())));
    assert_eq!(h.ledger.company_statement(&h.m, "nw-group", "2026-03-31", "2026-03-01").unwrap().map(|_| ()), Err(CreditError::StatementPeriodOutOfRange));
    // Leeds pays the rest: released, and York buys again.
    h.pay("nw-leeds", "900.00").unwrap();
    assert_eq!(company(&mut h, "nw-group").buyers_held_for_overdue, 0);
    h.approve("nw-york", "Y-3", "10.00");
    h.check();
}

#[test]
fn companies_refuse_what_does_not_fit() {
    let mut h = H::new();
    open_company(&mut h, "nw-group", "1000.00", Tolerance::None).unwrap();
    let before = h.dump();
    assert_eq!(open_company(&mut h, "nw-group", "5.00", Tolerance::None), Err(CreditError::CompanyAlreadyExists("nw-group".into())));
    assert_eq!(buyer(&mut h, "x", "nobody", "1.00").map(|_| ()), Err(CreditError::CompanyNotFound("nobody".into())));
    let mut req = open_req("eu", "EUR", "1.00", Tolerance::None);
    req.company_id = Some("nw-group".into());
    let want = CurrencyMismatch { expected: "GBP".into(), given: "EUR".into() };
    assert_eq!(h.open_with(&req).map(|_| ()), Err(CreditError::CurrencyMismatch(want)));
    assert_eq!(open_company(&mut h, "c2", "-1.00", Tolerance::None).map(|_| ()), Err(CreditError::AmountMustNotBeNegative("credit-limit".into())));
    assert_eq!(open_company(&mut h, "c2", "1.00", Tolerance::Percent("101".into())).map(|_| ()), Err(CreditError::AmountTooLarge("tolerance".into())));
    assert_eq!(open_company(&mut h, &"c".repeat(97), "1.00", Tolerance::None).map(|_| ()), Err(CreditError::IdTooLong("company-id".into())));
    assert_eq!(h.ledger.get_company(&h.m, "nobody", T0).unwrap().map(|_| ()), Err(CreditError::CompanyNotFound("nobody".into())));
    assert_eq!(h.dump(), before, "nothing changed");
    for i in 0..100 {
        buyer(&mut h, &format!("b{i}"), "nw-group", "1.00").unwrap();
    }
    assert_eq!(buyer(&mut h, "b100", "nw-group", "1.00").map(|_| ()), Err(CreditError::TooManyBuyers));
    h.check();
}

/// 8 threads, each authorizing on its own buyer of one company, never take
/// the company over its limit + tolerance. Nothing is voided, so what the
/// company holds only grows: its final figure is its peak.
#[test]
fn eight_threads_on_eight_buyers_never_take_the_company_over_its_line() {
    const THREADS: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let mut pools = vec![("sqlite", LedgerPool::sqlite(component(), dir.path().join("pool.sqlite"), THREADS).unwrap())];
    pools.push(match postgres_url() {
        Some(url) => ("postgres", LedgerPool::postgres(component(), &fresh_postgres(&url), THREADS).unwrap()),
        None => ("memory", LedgerPool::in_memory(component(), THREADS)),
    });
    for (name, pool) in pools {
        let m = MerchantId::new("merchant-a").unwrap();
        let ctx = |key: String| CallContext { idempotency_key: key, now_ms: T0 };
        let req = OpenCompanyRequest {
            company_id: "group".into(),
            currency: "GBP".into(),
            credit_limit: "1000.00".into(),
            tolerance: Tolerance::Amount("25.00".into()),
            opened_by: "t".into(),
        };
        pool.with(|l| l.open_company(&m, &ctx("company".into()), &req)).unwrap().unwrap();
        for t in 0..THREADS {
            let mut req = open_req(&format!("buyer-{t}"), "GBP", "5000.00", Tolerance::None);
            req.company_id = Some("group".into());
            pool.with(|l| l.open_account(&m, &ctx(format!("open-{t}")), &req)).unwrap().unwrap();
        }
        let pool = Arc::new(pool);
        let start = Arc::new(Barrier::new(THREADS));
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (pool, m, start) = (pool.clone(), m.clone(), start.clone());
                std::thread::spawn(move || {
                    let mut rng = Rng(0xC0FF_EE00 ^ (t as u64 + 1));
                    let mut approved = Decimal::ZERO;
                    start.wait();
                    for i in 0..60 {
                        let req = AuthorizeRequest {
                            account_id: format!("buyer-{t}"),
                            order_id: format!("T{t}-{i}"),
                            amount: gbp(&rng.pennies(500, 6_000)),
                            hold_ttl_s: None,
                            open_ended: None,
                        };
                        match pool.with(|l| l.authorize(&m, &ctx(format!("auth-{t}-{i}")), &req)).unwrap().unwrap() {
                            Authorization::Approved(_) => approved += d(&req.amount.amount),
                            Authorization::Declined(dcl) => {
                                assert_eq!(dcl.reason, DeclineReason::CompanyCreditInsufficient, "{dcl:?}");
                                assert!(d(&dcl.shortfall) > Decimal::ZERO);
                            }
                        }
                    }
                    approved
                })
            })
            .collect();
        let approved: Decimal = threads.into_iter().map(|t| t.join().unwrap()).sum();
        let s = pool.with(|l| l.get_company(&m, "group", T0)).unwrap().unwrap();
        assert_eq!(d(&s.figures.open_holds), approved, "{name}: the company holds what its buyers were approved");
        assert!(approved <= d("1025.00"), "{name}: {approved} approved over the limit + tolerance");
        assert!(approved > d("965.00"), "{name}: the line was contended to within the largest order ({approved})");
        let mut held = Decimal::ZERO;
        for t in 0..THREADS {
            let a = pool.with(|l| l.get_account(&m, &format!("buyer-{t}"), T0)).unwrap().unwrap();
            held += d(&a.figures.open_holds);
        }
        assert_eq!(held, approved, "{name}");
        let report = pool.with(|l| audit::audit(l.backend())).unwrap();
        assert!(report.is_clean(), "{name}: {:#?}", report.discrepancies);
        println!("{name}: {approved} approved on one company line of 1000.00 + 25.00");
    }
}

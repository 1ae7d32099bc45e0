//! The demo: Northwind Office Supplies, a wholesaler, sells on account to
//! three trade customers over two weeks. Every step goes through the real
//! component on a fresh SQLite file, with a clock the story moves.

use std::path::Path;

use anyhow::{Result, anyhow, bail};
use chrono::{DateTime, Duration, TimeZone, Utc};
use credit_host::api::*;
use credit_host::{Component, Ledger, MerchantId, audit};

use crate::tables;

/// The story's clock: set, never read from the machine.
struct Story {
    ledger: Ledger,
    merchant: MerchantId,
    now: DateTime<Utc>,
    step: u32,
}

fn gbp(amount: &str) -> Money {
    Money { amount: amount.into(), currency: "GBP".into() }
}

fn answer<T>(r: Result<std::result::Result<T, CreditError>>) -> Result<T> {
    r?.map_err(|e| anyhow!("the component refused a demo step: {e:?}"))
}

impl Story {
    fn at(&mut self, day: i64, hour: u32, minute: u32) {
        let start = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        self.now = start + Duration::days(day - 1) + Duration::hours(hour.into()) + Duration::minutes(minute.into());
    }

    fn ctx(&mut self, what: &str) -> CallContext {
        self.step += 1;
        CallContext { idempotency_key: format!("demo-{:03}-{what}", self.step), now_ms: self.now.timestamp_millis() }
    }

    fn say(&self, text: String) {
        println!("{}  {text}", self.now.format("%a %d %b %H:%M"));
    }

    fn open(&mut self, id: &str, customer: &str, limit: &str, tolerance: Tolerance, terms: PaymentTerms) -> Result<()> {
        let ctx = self.ctx("open");
        let req = OpenAccountRequest {
            account_id: id.into(),
            customer_id: customer.into(),
            currency: "GBP".into(),
            credit_limit: limit.into(),
            tolerance,
            terms,
            opened_by: "finance: r.patel".into(),
        };
        let a = answer(self.ledger.open_account(&self.merchant, &ctx, &req))?;
        self.say(format!(
            "open account {id:<17} limit £{} (tolerance £{}), net {} days",
            tables::money(&a.figures.credit_limit),
            tables::money(&a.figures.tolerance),
            a.terms.net_days
        ));
        Ok(())
    }

    fn authorize(&mut self, account: &str, order: &str, amount: &str) -> Result<Option<String>> {
        let ctx = self.ctx("authorize");
        let req = AuthorizeRequest { account_id: account.into(), order_id: order.into(), amount: gbp(amount), hold_ttl_s: None };
        match answer(self.ledger.authorize(&self.merchant, &ctx, &req))? {
            Authorization::Approved(a) => {
                self.say(format!(
                    "{account:<17} checkout {order} £{}: APPROVED, hold {} (available £{} -> £{})",
                    tables::money(amount),
                    a.hold.hold_id,
                    tables::money(&a.before.available_with_tolerance),
                    tables::money(&a.after.available_with_tolerance),
                ));
                Ok(Some(a.hold.hold_id))
            }
            Authorization::Declined(d) => {
                self.say(format!(
                    "{account:<17} checkout {order} £{}: DECLINED ({}), short by £{} of £{} available",
                    tables::money(amount),
                    tables::decline(d.reason),
                    tables::money(&d.shortfall),
                    tables::money(&d.figures.available_with_tolerance),
                ));
                Ok(None)
            }
        }
    }

    fn capture(&mut self, hold: &str, amount: &str, note: &str) -> Result<()> {
        let ctx = self.ctx("capture");
        let r = answer(self.ledger.capture(&self.merchant, &ctx, &CaptureRequest { hold_id: hold.into(), amount: gbp(amount) }))?;
        self.say(format!(
            "ship {} for hold {hold}: captured £{}, released £{}{note}",
            r.hold.order_id,
            tables::money(&r.captured),
            tables::money(&r.released)
        ));
        Ok(())
    }
}

/// Runs the story on a fresh database at `db` and prints the outcome.
pub fn run(db: &Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let p = format!("{}{suffix}", db.display());
        if Path::new(&p).exists() {
            std::fs::remove_file(&p)?;
        }
    }
    let component = Component::embedded()?;
    let mut s = Story {
        ledger: Ledger::open_sqlite(&component, db)?,
        merchant: MerchantId::new("northwind-office")?,
        now: DateTime::UNIX_EPOCH,
        step: 0,
    };
    println!("Northwind Office Supplies sells on account to three trade customers (database: {}).\n", db.display());

    let net = |days, basis| PaymentTerms { net_days: days, basis, discount: None };
    s.at(1, 9, 0);
    s.open(
        "acme-dental",
        "acme-dental-ltd",
        "5000.00",
        Tolerance::None,
        PaymentTerms {
            net_days: 30,
            basis: TermBasis::InvoiceDate,
            discount: Some(EarlyPaymentDiscount { percent: "2".into(), days: 10 }),
        },
    )?;
    s.open("birch-architects", "birch-and-co", "2000.00", Tolerance::Percent("10".into()), net(30, TermBasis::EndOfMonth))?;
    s.open("cobalt-print", "cobalt-print-ltd", "1000.00", Tolerance::None, net(15, TermBasis::InvoiceDate))?;

    s.at(1, 10, 15);
    let acme_hold = s.authorize("acme-dental", "SO-1001", "1240.00")?.ok_or_else(|| anyhow!("SO-1001 should fit"))?;
    s.at(1, 11, 30);
    if s.authorize("cobalt-print", "SO-1002", "1350.00")?.is_some() {
        bail!("SO-1002 is over Cobalt's limit and must be declined");
    }
    s.at(1, 14, 0);
    let birch_hold = s.authorize("birch-architects", "SO-1003", "2150.00")?.ok_or_else(|| anyhow!("SO-1003 fits the tolerance"))?;

    s.at(2, 8, 30);
    s.capture(&acme_hold, "1100.00", " (toner cartridges out of stock)")?;
    s.capture(&birch_hold, "2150.00", "")?;

    s.at(3, 16, 0);
    let cobalt_hold = s.authorize("cobalt-print", "SO-1004", "650.00")?.ok_or_else(|| anyhow!("SO-1004 should fit"))?;
    s.at(3, 17, 5);
    let ctx = s.ctx("void");
    let v = answer(s.ledger.void_hold(&s.merchant, &ctx, &cobalt_hold))?;
    s.say(format!("cobalt-print      cancels SO-1004: hold {cobalt_hold} voided, £{} released", tables::money(&v.released)));

    s.at(9, 10, 0);
    let ctx = s.ctx("return");
    let cn = answer(s.ledger.record_return(
        &s.merchant,
        &ctx,
        &RecordReturnRequest {
            account_id: "acme-dental".into(),
            order_id: "SO-1001".into(),
            amount: gbp("85.00"),
            credit_to: CreditTarget::StoredBalance,
            reason: "2 boxes of A4 paper arrived damaged".into(),
        },
    ))?;
    s.say(format!("acme-dental       returns damaged paper: credit note {} for £{} kept as store credit", cn.credit_note_id, cn.amount));

    s.at(10, 15, 20);
    let ctx = s.ctx("payment");
    let p = answer(s.ledger.record_payment(
        &s.merchant,
        &ctx,
        &RecordPaymentRequest {
            account_id: "acme-dental".into(),
            amount: gbp("1100.00"),
            method: "bank-transfer".into(),
            reference: "ACME INV SO-1001".into(),
        },
    ))?;
    s.say(format!("acme-dental       pays £{} by bank transfer ({}): £{} off what it owes", tables::money(&p.amount), p.payment_id, tables::money(&p.applied_to_debt)));

    s.at(12, 9, 45);
    let ctx = s.ctx("apply-balance");
    let req = ApplyBalanceRequest { account_id: "acme-dental".into(), order_id: "SO-1005".into(), amount: gbp("420.00") };
    let first = answer(s.ledger.apply_balance(&s.merchant, &ctx, &req))?;
    s.say(format!("acme-dental       checkout SO-1005 £420.00: store credit £{} applied, £{} left to pay", first.applied, first.remaining));
    let again = answer(s.ledger.apply_balance(&s.merchant, &ctx, &req))?;
    s.say(format!(
        "acme-dental       (double click: same request retried) -> same answer, store credit still £{}",
        again.stored_balance_after
    ));
    if again != first {
        bail!("an idempotent retry gave a different answer");
    }
    let rest = first.remaining.clone();
    s.authorize("acme-dental", "SO-1005", &rest)?.ok_or_else(|| anyhow!("the rest of SO-1005 should fit"))?;

    s.at(14, 11, 0);
    let ctx = s.ctx("payment");
    let p = answer(s.ledger.record_payment(
        &s.merchant,
        &ctx,
        &RecordPaymentRequest {
            account_id: "birch-architects".into(),
            amount: gbp("1000.00"),
            method: "card".into(),
            reference: "BIRCH-0314".into(),
        },
    ))?;
    s.say(format!("birch-architects  pays £{} by card ({}), part of what it owes", tables::money(&p.amount), p.payment_id));

    s.at(15, 9, 0);
    let ctx = s.ctx("limit");
    let a = answer(s.ledger.change_credit_limit(
        &s.merchant,
        &ctx,
        &ChangeCreditLimitRequest {
            account_id: "cobalt-print".into(),
            new_limit: gbp("1500.00"),
            changed_by: "finance: j.okafor".into(),
            reason: "12 months paid on time; asked for more room".into(),
        },
    ))?;
    s.say(format!("cobalt-print      credit limit raised to £{} by finance", tables::money(&a.figures.credit_limit)));
    s.at(15, 9, 30);
    s.authorize("cobalt-print", "SO-1002", "1350.00")?.ok_or_else(|| anyhow!("SO-1002 fits the new limit"))?;

    let now_ms = s.now.timestamp_millis();
    let mut rows = Vec::new();
    for id in ["acme-dental", "birch-architects", "cobalt-print"] {
        rows.push(answer(s.ledger.get_account(&s.merchant, id, now_ms))?);
    }
    println!("\nAccounts on {} (GBP):", s.now.format("%a %d %b %Y %H:%M"));
    println!("{}", tables::accounts(&rows));
    println!("\nLedger of acme-dental:");
    let entries = answer(s.ledger.ledger_all(&s.merchant, "acme-dental"))?;
    println!("{}", tables::entries(&entries));

    let report = audit::audit(s.ledger.backend())?;
    println!(
        "\nAudit: {} accounts, {} entries recomputed from the ledger: {} discrepancies.",
        report.accounts,
        report.entries,
        report.discrepancies.len()
    );
    if !report.is_clean() {
        bail!("the audit found discrepancies: {:?}", report.discrepancies);
    }
    println!("Data kept in {}; look again with `credit-host accounts --db {} --merchant northwind-office`.", db.display(), db.display());
    Ok(())
}

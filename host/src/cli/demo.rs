//! The demo: Northwind Office Supplies, a wholesaler, sells on account to
//! three trade customers over two weeks. Every step goes through the real
//! component on a fresh SQLite file, with a clock the story moves.

use std::path::Path;

use super::tables;
use crate::api::*;
use crate::deliver::Outbox;
use crate::directory::{Directory, Party};
use crate::{Component, Ledger, MerchantId, audit};
use anyhow::{Result, anyhow, bail};
use chrono::{DateTime, TimeZone, Utc};

/// Who Northwind and its customers are, as printed on their documents.
fn names() -> Directory {
    let party = |name: &str, address: &[&str], email: &str| Party {
        name: name.into(),
        address: address.iter().map(|a| (*a).to_owned()).collect(),
        email: Some(email.into()),
    };
    let m = "northwind-office";
    Directory::default()
        .with_merchant(
            m,
            party("Northwind Office Supplies Ltd", &["Unit 4, Dockside Trading Estate", "Leeds LS10 1AB"], "accounts@northwind.example"),
        )
        .with_customer(m, "acme-dental-ltd", party("Acme Dental Ltd", &["12 Harley Mews", "London W1G 9PL"], "payables@acme-dental.example"))
        .with_customer(m, "birch-and-co", party("Birch & Co Architects", &["3 Mill Lane", "York YO1 7HB"], "office@birch.example"))
        .with_customer(m, "cobalt-print-ltd", party("Cobalt Print Ltd", &["Arch 9, Canal Street", "Manchester M1 3HE"], "finance@cobalt.example"))
}

/// The story's clock: set, never read from the machine.
struct Story {
    ledger: Ledger,
    merchant: MerchantId,
    now: DateTime<Utc>,
    step: u32,
    /// Where the customers' mail goes (invoices, reminders, statements).
    outbox: Outbox,
}

fn gbp(amount: &str) -> Money {
    Money { amount: amount.into(), currency: "GBP".into() }
}

fn answer<T>(r: Result<std::result::Result<T, CreditError>>) -> Result<T> {
    r?.map_err(|e| anyhow!("the component refused a demo step: {e:?}"))
}

impl Story {
    /// Moves the story's clock to a day of 2026 at a time.
    fn at(&mut self, month: u32, day: u32, hour: u32, minute: u32) {
        self.now = Utc.with_ymd_and_hms(2026, month, day, hour, minute, 0).unwrap();
    }

    fn ctx(&mut self, what: &str) -> CallContext {
        self.step += 1;
        CallContext { idempotency_key: format!("demo-{:03}-{what}", self.step), now_ms: self.now.timestamp_millis() }
    }

    fn say(&self, text: String) {
        println!("{}  {text}", self.now.format("%a %d %b %H:%M"));
    }

    fn open(&mut self, id: &str, customer: &str, limit: &str, tolerance: Tolerance, terms: PaymentTerms, policy: BillingPolicy) -> Result<()> {
        let ctx = self.ctx("open");
        let req = OpenAccountRequest {
            account_id: id.into(),
            customer_id: customer.into(),
            currency: "GBP".into(),
            credit_limit: limit.into(),
            tolerance,
            terms,
            policy,
            opened_by: "finance: r.patel".into(),
            company_id: None,
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
        let req = AuthorizeRequest { account_id: account.into(), order_id: order.into(), amount: gbp(amount), hold_ttl_s: None, open_ended: None };
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
            Authorization::Declined(d) if d.reason == DeclineReason::InsufficientCredit => {
                self.say(format!(
                    "{account:<17} checkout {order} £{}: DECLINED (insufficient credit), short by £{} of £{} available",
                    tables::money(amount),
                    tables::money(&d.shortfall),
                    tables::money(&d.figures.available_with_tolerance),
                ));
                Ok(None)
            }
            Authorization::Declined(d) => {
                self.say(format!("{account:<17} checkout {order} £{}: DECLINED ({})", tables::money(amount), tables::decline(d.reason)));
                Ok(None)
            }
        }
    }

    fn capture(&mut self, hold: &str, amount: &str, lines: Vec<InvoiceLine>, note: &str, delivery: Option<DeliveryDetails>) -> Result<Invoice> {
        let ctx = self.ctx("capture");
        let req = CaptureRequest { hold_id: hold.into(), amount: gbp(amount), lines, delivery_date: None, terms: None, delivery: delivery.clone(), rest: None };
        let r = answer(self.ledger.capture(&self.merchant, &ctx, &req))?;
        let i = &r.invoice;
        self.say(format!(
            "ship {} (hold {hold}): captured £{}, released £{}{note}",
            r.hold.order_id,
            tables::money(&r.captured),
            tables::money(&r.released)
        ));
        let discount = match &i.discount_until {
            Some(until) => format!(", or £{} off if paid by {until}", tables::money(&i.discount_amount)),
            None => String::new(),
        };
        self.say(format!(
            "    invoice {} for £{} (tax £{}) due {}{discount}",
            i.invoice_id,
            tables::money(&i.total),
            tables::money(&i.tax_total),
            i.due_date
        ));
        if let Some(d) = &delivery {
            self.say(format!(
                "    delivered by {} ({}): costs Northwind £{}, charged £{}",
                d.carrier,
                d.tracking_reference,
                tables::money(&d.cost),
                tables::money(&d.charged)
            ));
        }
        let path = self.outbox.capture(&mut self.ledger, &self.merchant, &r)?;
        self.say(format!("    sent as {}", path.display()));
        Ok(r.invoice)
    }

    fn pay(&mut self, account: &str, amount: &str, method: &str, reference: &str) -> Result<PaymentReceipt> {
        let ctx = self.ctx("payment");
        let req = RecordPaymentRequest {
            account_id: account.into(),
            amount: gbp(amount),
            received_on: self.now.format("%Y-%m-%d").to_string(),
            method: method.into(),
            reference: reference.into(),
            allocations: vec![],
            spread: None,
        };
        let r = answer(self.ledger.record_payment(&self.merchant, &ctx, &req))?;
        let settled: Vec<String> = r
            .payment
            .allocations
            .iter()
            .map(|a| {
                let mut s = format!("{} £{}", a.invoice_id, tables::money(&a.amount));
                if a.discount != "0.00" {
                    s += &format!(" + £{} discount", a.discount);
                }
                s += &format!(" (owes £{})", tables::money(&a.outstanding_after));
                s
            })
            .collect();
        self.say(format!(
            "{account:<17} pays £{} by {method} ({}): {}",
            tables::money(amount),
            r.payment.payment_id,
            if settled.is_empty() { "kept as store credit".to_owned() } else { settled.join(", ") }
        ));
        Ok(r)
    }

    fn close_day(&mut self, accounts: &[&str]) -> Result<()> {
        let date = self.now.format("%Y-%m-%d").to_string();
        for account in accounts {
            let ctx = self.ctx("day-close");
            let r = answer(self.ledger.day_close(&self.merchant, &ctx, account, &date))?;
            for f in &r.late_fees {
                self.say(format!("{account:<17} late fee £{} on {} ({})", f.amount, f.invoice_id, f.item_id));
            }
            for f in &r.interest {
                self.say(format!("{account:<17} interest £{} on {} ({})", f.amount, f.invoice_id, f.item_id));
            }
            let sent = self.outbox.day_close(&mut self.ledger, &self.merchant, &r)?;
            for (m, path) in r.reminders.iter().zip(&sent) {
                self.say(format!("{account:<17} reminder: {}  -> {}", m.subject, path.display()));
            }
            if let (Some(st), Some(path)) = (&r.statement, sent.last().filter(|_| r.statement.is_some())) {
                self.say(format!(
                    "{account:<17} monthly statement {} to {}: closing £{}, due now £{}  -> {}",
                    st.period_from,
                    st.period_to,
                    tables::money(&st.closing_balance),
                    tables::money(&st.amount_due),
                    path.display()
                ));
            }
            if r.put_on_hold {
                self.say(format!("{account:<17} PUT ON HOLD: an invoice is more than 30 days overdue"));
            }
            if r.released_from_hold {
                self.say(format!("{account:<17} hold released"));
            }
        }
        Ok(())
    }
}

/// Runs the story on a fresh database at `db` and prints the outcome.
pub fn run(component: &Component, db: &Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let p = format!("{}{suffix}", db.display());
        if Path::new(&p).exists() {
            std::fs::remove_file(&p)?;
        }
    }
    let mail_dir = db.with_extension("mail");
    if mail_dir.exists() {
        std::fs::remove_dir_all(&mail_dir)?;
    }
    let mut s = Story {
        ledger: Ledger::open_sqlite(component, db)?,
        merchant: MerchantId::new("northwind-office")?,
        now: DateTime::UNIX_EPOCH,
        step: 0,
        outbox: Outbox { dir: mail_dir.clone(), names: names() },
    };
    println!("Northwind Office Supplies sells on account to three trade customers (database: {}).\n", db.display());

    let net = |days, basis| PaymentTerms { net_days: days, basis, discount: None, instalments: vec![], months: None, day_of_month: None, cut_off_day: None };
    // Northwind's collections policy: a week's grace, then a £15 fee and 8%
    // a year; reminders 3 days before, on the day, and at 7, 14 and 30 days
    // late; accounts held when more than 30 days late; pennies short are
    // written off.
    let policy = BillingPolicy {
        grace_days: 7,
        late_fee: Some("15.00".into()),
        interest: Some(InterestRule { annual_rate_percent: "8".into(), day_count: DayCount::Actual365Fixed }),
        reminders: [(-3, 1), (0, 1), (7, 2), (14, 3), (30, 4)].into_iter().map(|(offset_days, level)| ReminderStep { offset_days, level }).collect(),
        hold_after_days_overdue: Some(30),
        small_difference_max: "0.05".into(),
        small_difference_treatment: SmallDifferenceTreatment::WriteOff,
        statement_day: Some(31),
        open_ended_holds: None,
    };
    s.at(3, 2, 9, 0);
    let two_ten_net_30 = PaymentTerms {
        net_days: 30,
        basis: TermBasis::InvoiceDate,
        discount: Some(EarlyPaymentDiscount { percent: Some("2".into()), days: 10, amount: None, basis: None }),
        instalments: vec![],
        months: None,
        day_of_month: None,
        cut_off_day: None,
    };
    s.open("acme-dental", "acme-dental-ltd", "5000.00", Tolerance::None, two_ten_net_30, policy.clone())?;
    s.open("birch-architects", "birch-and-co", "2000.00", Tolerance::Percent("10".into()), net(30, TermBasis::EndOfMonth), policy.clone())?;
    s.open("cobalt-print", "cobalt-print-ltd", "1000.00", Tolerance::None, net(15, TermBasis::InvoiceDate), policy)?;

    s.at(3, 2, 10, 15);
    let acme_hold = s.authorize("acme-dental", "SO-1001", "1240.00")?.ok_or_else(|| anyhow!("SO-1001 should fit"))?;
    s.at(3, 2, 11, 30);
    if s.authorize("cobalt-print", "SO-1002", "1350.00")?.is_some() {
        bail!("SO-1002 is over Cobalt's limit and must be declined");
    }
    s.at(3, 2, 14, 0);
    let birch_hold = s.authorize("birch-architects", "SO-1003", "2150.00")?.ok_or_else(|| anyhow!("SO-1003 fits the tolerance"))?;

    s.at(3, 3, 8, 30);
    let line = |d: &str, q: &str, p: &str, t: &str| InvoiceLine { description: d.into(), quantity: q.into(), unit_price: p.into(), tax: t.into(), tax_rate: None };
    s.capture(
        &acme_hold,
        "1100.00",
        vec![line("A4 copier paper, box of 5 reams", "40", "18.75", "150.00"), line("Heavy-duty stapler", "10", "16.6667", "33.33")],
        " (toner cartridges out of stock)",
        Some(DeliveryDetails { carrier: "DPD".into(), tracking_reference: "15501234567".into(), cost: "14.20".into(), charged: "0.00".into() }),
    )?;
    let pallet =
        DeliveryDetails { carrier: "Palletways".into(), tracking_reference: "PW-88231".into(), cost: "68.00".into(), charged: "45.00".into() };
    s.capture(&birch_hold, "2150.00", vec![], "", Some(pallet))?;

    s.at(3, 4, 16, 0);
    let cobalt_hold = s.authorize("cobalt-print", "SO-1004", "650.00")?.ok_or_else(|| anyhow!("SO-1004 should fit"))?;
    s.at(3, 4, 17, 5);
    let ctx = s.ctx("void");
    let v = answer(s.ledger.void_hold(&s.merchant, &ctx, &cobalt_hold))?;
    s.say(format!("cobalt-print      cancels SO-1004: hold {cobalt_hold} voided, £{} released", tables::money(&v.released)));

    s.at(3, 10, 10, 0);
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

    // Day 10 of 2/10 net 30: the 2% discount still applies.
    s.at(3, 13, 15, 20);
    s.pay("acme-dental", "1078.00", "bank-transfer", "ACME INV-acme-dental-1")?;

    s.at(3, 14, 9, 45);
    let ctx = s.ctx("apply-balance");
    let req = ApplyBalanceRequest { account_id: "acme-dental".into(), order_id: "SO-1005".into(), amount: gbp("420.00"), mode: None };
    let first = answer(s.ledger.apply_balance(&s.merchant, &ctx, &req))?;
    s.say(format!("acme-dental       checkout SO-1005 £420.00: store credit £{} applied, £{} left to pay", first.applied, first.remaining));
    let again = answer(s.ledger.apply_balance(&s.merchant, &ctx, &req))?;
    s.say(format!("acme-dental       (double click: same request retried) -> same answer, store credit still £{}", again.stored_balance_after));
    if again != first {
        bail!("an idempotent retry gave a different answer");
    }
    let rest = first.remaining.clone();
    let acme_hold = s.authorize("acme-dental", "SO-1005", &rest)?.ok_or_else(|| anyhow!("the rest of SO-1005 should fit"))?;

    s.at(3, 15, 11, 0);
    s.pay("birch-architects", "1000.00", "card", "BIRCH-0315")?;

    s.at(3, 16, 9, 0);
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
    s.at(3, 16, 9, 30);
    let cobalt_hold = s.authorize("cobalt-print", "SO-1002", "1350.00")?.ok_or_else(|| anyhow!("SO-1002 fits the new limit"))?;
    s.at(3, 17, 8, 0);
    s.capture(&cobalt_hold, "1350.00", vec![], "", None)?;
    s.capture(&acme_hold, &rest, vec![], "", None)?;
    s.at(3, 20, 9, 0);
    s.pay("acme-dental", "328.30", "bank-transfer", "ACME SO-1005")?;

    println!("\nFinance runs the day-close on each account (reminders and month-end statements are written as e-mail files):");
    let all = ["acme-dental", "birch-architects", "cobalt-print"];
    for (month, day) in [(3, 29), (3, 31), (4, 1), (4, 9), (4, 15), (4, 30), (5, 2)] {
        s.at(month, day, 18, 0);
        s.close_day(&all)?;
    }

    s.at(5, 3, 10, 0);
    if s.authorize("cobalt-print", "SO-1010", "100.00")?.is_some() {
        bail!("Cobalt is on hold and must be declined");
    }
    let today = s.now.format("%Y-%m-%d").to_string();
    let open = answer(s.ledger.open_invoices_all(&s.merchant, "cobalt-print", &today))?;
    println!("\nWhat cobalt-print owes on {today}:");
    println!("{}", tables::invoices(&open));
    let owed = answer(s.ledger.get_account(&s.merchant, "cobalt-print", s.now.timestamp_millis()))?.figures.posted_debt;
    s.at(5, 4, 12, 0);
    s.pay("cobalt-print", &owed, "bank-transfer", "COBALT SETTLEMENT")?;
    s.at(5, 4, 12, 5);
    s.authorize("cobalt-print", "SO-1010", "100.00")?.ok_or_else(|| anyhow!("Cobalt was released"))?;

    let now_ms = s.now.timestamp_millis();
    let mut rows = Vec::new();
    for id in all {
        rows.push(answer(s.ledger.get_account(&s.merchant, id, now_ms))?);
    }
    println!("\nAccounts on {} (GBP):", s.now.format("%a %d %b %Y %H:%M"));
    println!("{}", tables::accounts(&rows));
    println!("\nLedger of acme-dental:");
    let entries = answer(s.ledger.ledger_all(&s.merchant, "acme-dental"))?;
    println!("{}", tables::entries(&entries));

    println!("\nStatement of acme-dental, March and April:");
    let st = answer(s.ledger.statement_all(&s.merchant, "acme-dental", "2026-03-01", "2026-04-30"))?;
    println!("{}", tables::statement(&st));
    println!("Amount due now £{}; due later £{}.", tables::money(&st.amount_due), tables::money(&st.not_yet_due));

    let today = s.now.format("%Y-%m-%d").to_string();
    let aging = answer(s.ledger.aging(
        &s.merchant,
        &AgingRequest { as_of: today.clone(), basis: AgingBasis::DueDate, edges: vec![], currency: None, company_id: None, after: None, limit: 100 },
    ))?;
    println!("\nAged receivables on {today}:");
    println!("{}", tables::aging(&aging, &aging.rows, &aging.totals));

    let suggestion = answer(s.ledger.suggest_credit_limit(&s.merchant, "acme-dental", &s.now.format("%Y-%m-%d").to_string()))?;
    println!(
        "\nSuggested credit limit for acme-dental: £{} (now £{}). {}",
        tables::money(&suggestion.suggested_limit),
        tables::money(&suggestion.current_limit),
        suggestion.explanation
    );

    let report = audit::audit(s.ledger.backend())?;
    println!(
        "\nAudit: {} accounts, {} entries recomputed from the ledger; debits £{} = credits £{}; {} discrepancies.",
        report.accounts,
        report.entries,
        tables::money(&report.debits.to_string()),
        tables::money(&report.credits.to_string()),
        report.discrepancies.len()
    );
    if !report.is_clean() {
        bail!("the audit found discrepancies: {:?}", report.discrepancies);
    }
    println!("Data kept in {}; invoices, reminders and statements in {}.", db.display(), mail_dir.display());
    Ok(())
}

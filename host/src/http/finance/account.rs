//! One account's page for the finance team: its figures and exposure, early
//! warnings, payments and days to pay, notes, credit-limit history with the
//! suggestion, terms, deliveries and the latest ledger entries, with the
//! forms of the user's role.

use std::collections::HashMap;

use anyhow::{Result, anyhow};
use askama::Template;
use rust_decimal::{Decimal, RoundingStrategy};

use super::pages::{dec, signal_words, today, warning_rules};
use super::staff::{Role, User};
use super::{Who, secrets, status_words};
use crate::api::{AccountStatus, CreditError};
use crate::render::charts::{self, Exposure};
use crate::render::{grouped, is_zero, utc_minute};
use crate::{Ledger, MerchantId};

/// Ledger entries, deliveries and payments shown.
const RECENT_SHOWN: usize = 30;
/// Payments in the days-to-pay chart.
const DAYS_TO_PAY_POINTS: usize = 24;

struct EntryLine {
    seq: u64,
    at: String,
    kind: &'static str,
    document: String,
    debt: String,
    stored: String,
    debt_after: String,
}

struct PaymentLine {
    id: String,
    received: String,
    amount: String,
    method: String,
    reference: String,
    reversed: bool,
}

#[derive(Template)]
#[template(path = "staff_account.html")]
pub(super) struct AccountView {
    who: Option<Who>,
    message: String,
    a: crate::api::AccountSummary,
    today: String,
    status: &'static str,
    on_hold: bool,
    balance: String,
    overdue: String,
    limit: String,
    available: String,
    held: String,
    notes: Vec<(String, String, String)>,
    signals: Vec<String>,
    exposure_chart: String,
    entries: Vec<EntryLine>,
    payments: Vec<PaymentLine>,
    days_chart: String,
    days: Vec<(String, String, String)>,
    deliveries: Vec<(String, String, String, String, String, String)>,
    limits: Vec<(String, String, String, String, String)>,
    suggestion: Option<crate::api::CreditLimitSuggestion>,
    suggested: String,
    terms: String,
    discount_percent: String,
    discount_days: String,
    /// The account's dynamic discount in words, and its three fields.
    dynamic: String,
    dynamic_rate: String,
    dynamic_floor: String,
    dynamic_cap: String,
    can_control: bool,
    can_admin: bool,
    csrf: String,
    nonce: String,
}

/// All pages of a paged query, keeping the last `keep`.
fn last_of<T>(keep: usize, mut next: impl FnMut(Option<u64>) -> Result<(Vec<T>, Option<u64>)>) -> Result<Vec<T>> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let (items, n) = next(after)?;
        all.extend(items);
        if all.len() > keep * 4 {
            all.drain(..all.len() - keep);
        }
        match n {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let skip = all.len().saturating_sub(keep);
    all.drain(..skip);
    Ok(all)
}

/// One account's page, or `None` when the merchant has no such account.
pub(super) fn view(ledger: &mut Ledger, m: &MerchantId, who: Who, user: &User, id: &str, now_ms: i64, message: &str) -> Result<Option<AccountView>> {
    let Ok(a) = ledger.get_account(m, id, now_ms)? else {
        return Ok(None);
    };
    // A fresh idempotency key for this page's forms: a form sent twice is
    // one action.
    let (_, nonce, _) = secrets::mint("nf")?;
    let day = today(now_ms);
    let fail = |what: &'static str| move |e: CreditError| anyhow!("{what}: {e:?}");
    let notes = ledger.notes(m, id, None, 100)?.map_err(fail("notes"))?;
    let signals = ledger.account_warnings(m, id, &day, &warning_rules())?.map_err(fail("account-warnings"))?.signals.iter().map(signal_words).collect();
    let after = a.entry_count.saturating_sub(RECENT_SHOWN as u64);
    let entries = ledger.ledger(m, id, (after > 0).then_some(after), RECENT_SHOWN as u32)?.map_err(fail("ledger"))?.entries;
    let payments = last_of(RECENT_SHOWN.max(DAYS_TO_PAY_POINTS), |after| {
        let p = ledger.payments(m, id, after, 100)?.map_err(fail("payments"))?;
        let next = (p.len() == 100).then(|| after.unwrap_or(0) + 100);
        Ok((p, next))
    })?;
    let deliveries = last_of(RECENT_SHOWN, |after| {
        let p = ledger.deliveries(m, id, after, 100)?.map_err(fail("deliveries"))?;
        Ok((p.deliveries, p.next_after_seq))
    })?;
    let limits = last_of(RECENT_SHOWN, |after| {
        let p = ledger.credit_limit_history(m, id, after, 100)?.map_err(fail("credit-limit-history"))?;
        Ok((p.changes, p.next_after_seq))
    })?;
    let suggestion = ledger.suggest_credit_limit(m, id, &day)?.ok();
    let dynamic = ledger.dynamic_discount(m, id, None)?.map_err(fail("dynamic-discount"))?.offer;

    // Days to pay: per payment, the invoices it settled, from their date to
    // the day the money came, averaged (1 decimal, half away from zero).
    let mut invoice_dates: HashMap<String, String> = HashMap::new();
    let mut days = Vec::new();
    let kept: Vec<&crate::api::Payment> = payments.iter().filter(|p| !p.reversed).collect();
    for p in &kept[kept.len().saturating_sub(DAYS_TO_PAY_POINTS)..] {
        let mut sum = 0i64;
        let mut n = 0i64;
        for al in p.allocations.iter().filter(|al| is_zero(&al.outstanding_after)) {
            if !invoice_dates.contains_key(&al.invoice_id)
                && let Ok(inv) = ledger.get_invoice(m, &al.invoice_id, &day)?
            {
                invoice_dates.insert(al.invoice_id.clone(), inv.invoice_date);
            }
            let Some(issued) = invoice_dates.get(&al.invoice_id) else { continue };
            let (Ok(from), Ok(to)) = (chrono::NaiveDate::parse_from_str(issued, "%Y-%m-%d"), chrono::NaiveDate::parse_from_str(&p.received_on, "%Y-%m-%d")) else { continue };
            sum += (to - from).num_days();
            n += 1;
        }
        if n > 0 {
            let avg = (Decimal::from(sum) / Decimal::from(n)).round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero);
            days.push((p.received_on.clone(), p.payment_id.clone(), avg, n));
        }
    }
    let desc = days.iter().map(|d| format!("{}: {} days", d.0, d.2)).collect::<Vec<_>>().join("; ");
    let days_chart = if days.is_empty() {
        String::new()
    } else {
        charts::line("days", "Days from invoice to payment", &desc, &days.iter().map(|d| (d.0.clone(), d.2)).collect::<Vec<_>>(), "days (average per payment)")
    };

    let f = &a.figures;
    let exposure_chart = charts::exposure(
        "exposure",
        "Exposure against limit",
        &format!("owed {}, held {}, limit {} {}", f.posted_debt, f.open_holds, f.credit_limit, a.currency),
        &[Exposure { label: a.account_id.clone(), debt: dec(&f.posted_debt), held: dec(&f.open_holds), limit: dec(&f.credit_limit) }],
    );
    let suggested = suggestion.as_ref().map(|s| grouped(&s.suggested_limit)).unwrap_or_default();
    let discount = a.terms.discount.as_ref();
    Ok(Some(AccountView {
        csrf: who.csrf.clone(),
        who: Some(who),
        message: message.to_owned(),
        today: day,
        status: status_words(a.status),
        on_hold: a.status == AccountStatus::OnHold,
        balance: grouped(&f.posted_debt),
        overdue: grouped(&a.overdue),
        limit: grouped(&f.credit_limit),
        available: grouped(&f.available_credit),
        held: grouped(&f.open_holds),
        notes: notes.notes.iter().map(|n| (utc_minute(n.at_ms), n.by.clone(), n.text.clone())).collect(),
        signals,
        exposure_chart,
        entries: entries
            .iter()
            .rev()
            .map(|e| EntryLine {
                seq: e.seq,
                at: utc_minute(e.at_ms),
                kind: crate::cli::tables::kind(e.kind),
                document: e.invoice_id.clone().or_else(|| e.document_id.clone()).or_else(|| e.hold_id.clone()).unwrap_or_default(),
                debt: if is_zero(&e.debt_delta) { String::new() } else { grouped(&e.debt_delta) },
                stored: if is_zero(&e.stored_delta) { String::new() } else { grouped(&e.stored_delta) },
                debt_after: grouped(&e.debt_after),
            })
            .collect(),
        payments: payments
            .iter()
            .rev()
            .take(RECENT_SHOWN)
            .map(|p| PaymentLine { id: p.payment_id.clone(), received: p.received_on.clone(), amount: grouped(&p.amount), method: p.method.clone(), reference: p.reference.clone(), reversed: p.reversed })
            .collect(),
        days_chart,
        days: days.iter().rev().map(|d| (d.0.clone(), d.1.clone(), format!("{} ({} invoice{})", d.2, d.3, if d.3 == 1 { "" } else { "s" }))).collect(),
        deliveries: deliveries
            .iter()
            .rev()
            .map(|d| (d.delivered_on.clone().unwrap_or_else(|| utc_minute(d.at_ms)), d.order_id.clone(), d.invoice_id.clone(), d.carrier.clone(), d.tracking_reference.clone(), grouped(&d.charged)))
            .collect(),
        limits: limits.iter().rev().map(|c| (utc_minute(c.at_ms), grouped(&c.old_limit), grouped(&c.new_limit), c.changed_by.clone(), c.reason.clone())).collect(),
        suggestion,
        suggested,
        terms: crate::render::terms_text(&a.terms),
        discount_percent: discount.and_then(|d| d.percent.clone()).unwrap_or_default(),
        discount_days: discount.map(|d| d.days.to_string()).unwrap_or_default(),
        dynamic: match &dynamic {
            Some(o) => format!(
                "{}% a year for each day paid before the due date; none under {}%, at most {}% of what is paid.",
                o.annual_rate, o.floor, o.cap
            ),
            None => "None offered.".to_owned(),
        },
        dynamic_rate: dynamic.as_ref().map(|o| o.annual_rate.clone()).unwrap_or_default(),
        dynamic_floor: dynamic.as_ref().map(|o| o.floor.clone()).unwrap_or_else(|| "0".to_owned()),
        dynamic_cap: dynamic.as_ref().map(|o| o.cap.clone()).unwrap_or_else(|| "2".to_owned()),
        can_control: user.role >= Role::Controller,
        can_admin: user.role >= Role::Admin,
        nonce: nonce[20..].to_owned(),
        a,
    }))
}

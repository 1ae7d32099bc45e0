//! The finance team's read pages across accounts: the debtor list with its
//! filters, aged receivables with the charts, early warnings (one account's
//! page is `account.rs`). Each figure is a component answer as it came; the
//! charts only draw them.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Result, anyhow};
use askama::Template;
use rust_decimal::Decimal;

use super::{Response, Who, page, status_words};
use crate::api::{AccountStatus, AgingBasis, AgingRequest, CreditError, DebtorQuery, DebtorSort, EntryKind, WarningRules, WarningSignal};
use crate::render::charts::{self, Exposure, Series};
use crate::render::{grouped, is_zero};
use crate::{Ledger, MerchantId};

/// Rows per page of the debtor list.
const DEBTORS_PER_PAGE: u32 = 100;
/// The most accounts the aging page and the monthly chart read.
const ACCOUNTS_READ_MAX: usize = 2_000;
/// Months in the collected-against-invoiced chart.
const MONTHS_SHOWN: usize = 12;
/// Accounts in the exposure chart (highest utilisation first).
const EXPOSURE_ROWS: u32 = 15;

/// The rules the warning pages use: the last 5 settled invoices against the
/// 5 before, 90% of the limit, a bounce in the last 30 days, first overdue
/// in the last 30 days.
pub(super) fn warning_rules() -> WarningRules {
    WarningRules { window: 5, utilisation_percent: "90".into(), bounce_days: 30, first_overdue_days: 30 }
}

/// The `as-of` day a page was asked for, or today; `Err` with the words
/// for a day that is not one.
fn as_of(q: &HashMap<String, String>, now_ms: i64) -> std::result::Result<String, String> {
    match given(q, "as-of") {
        None => Ok(today(now_ms)),
        Some(day) if chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").is_ok() && day.len() == 10 => Ok(day),
        Some(day) => Err(format!("\"{day}\" is not a day (YYYY-MM-DD); nothing was read.")),
    }
}

pub(super) fn today(now_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default().format("%Y-%m-%d").to_string()
}

pub(super) fn dec(s: &str) -> Decimal {
    s.parse().unwrap_or_default()
}

/// The component's error case in words (`crate::render::refusal`).
pub(super) fn refused(e: &CreditError) -> String {
    crate::render::refusal(e)
}

// ------------------------------------------------------------ debtor list

struct DebtorLine {
    id: String,
    customer: String,
    status: &'static str,
    balance: String,
    overdue: String,
    overdue_shown: bool,
    days: u32,
    limit: String,
    utilisation: String,
    stored: String,
}

/// The filters as the form shows them again.
struct Filters {
    sort: String,
    status: String,
    currency: String,
    balance_min: String,
    overdue_min: String,
    days_overdue_min: String,
    utilisation_min: String,
    stored: String,
    as_of: String,
}

#[derive(Template)]
#[template(path = "staff_accounts.html")]
struct AccountsPage {
    who: Option<Who>,
    message: String,
    rows: Vec<DebtorLine>,
    f: Filters,
    sorts: Vec<(&'static str, &'static str)>,
    next: Option<String>,
    examined: u32,
}

const SORTS: [(&str, &str, DebtorSort); 7] = [
    ("balance", "Balance", DebtorSort::Balance),
    ("overdue", "Overdue", DebtorSort::Overdue),
    ("days-overdue", "Days overdue", DebtorSort::DaysOverdue),
    ("utilisation", "Utilisation", DebtorSort::Utilisation),
    ("stored-balance", "Stored balance", DebtorSort::StoredBalance),
    ("status", "Status", DebtorSort::Status),
    ("currency", "Currency", DebtorSort::Currency),
];

/// A filter as the form sent it: none when blank.
fn given(q: &HashMap<String, String>, name: &str) -> Option<String> {
    q.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The debtor list, filtered and ordered as the query string says.
pub(super) fn accounts(ledger: &mut Ledger, m: &MerchantId, who: Who, q: &HashMap<String, String>, now_ms: i64) -> Result<Response> {
    let mut message = String::new();
    let sort = given(q, "sort").unwrap_or_else(|| "balance".into());
    let number = |name: &str, message: &mut String| -> Option<u32> {
        let v = given(q, name)?;
        v.parse().map_err(|_| message.push_str(&format!("\"{v}\" is not a whole number of days. "))).ok()
    };
    let days_overdue_min = number("days-overdue-min", &mut message);
    let status = match given(q, "status").as_deref() {
        None => None,
        Some("active") => Some(AccountStatus::Active),
        Some("on-hold") => Some(AccountStatus::OnHold),
        Some("closed") => Some(AccountStatus::Closed),
        Some(other) => {
            message.push_str(&format!("\"{other}\" is not a status. "));
            None
        }
    };
    let day = match as_of(q, now_ms) {
        Ok(day) => day,
        Err(why) => {
            message.push_str(&why);
            message.push(' ');
            String::new()
        }
    };
    let Some(order) = SORTS.iter().find(|s| s.0 == sort).map(|s| s.2) else {
        return render_accounts(who, format!("\"{sort}\" is not an order this list knows."), Vec::new(), q, None, 0, 400);
    };
    if !message.is_empty() {
        return render_accounts(who, format!("{message}Nothing was searched."), Vec::new(), q, None, 0, 400);
    }
    let query = DebtorQuery {
        as_of: day,
        currency: given(q, "currency").map(|c| c.to_uppercase()),
        status,
        balance_min: given(q, "balance-min"),
        balance_max: None,
        overdue_min: given(q, "overdue-min"),
        days_overdue_min,
        utilisation_min_percent: given(q, "utilisation-min"),
        has_stored_balance: match given(q, "stored").as_deref() {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => None,
        },
        sort: order,
        after: given(q, "after"),
        limit: DEBTORS_PER_PAGE,
    };
    let page = match ledger.debtors(m, &query)? {
        Ok(p) => p,
        Err(e) => return render_accounts(who, format!("The component refused this search: {}. Nothing was searched.", refused(&e)), Vec::new(), q, None, 0, 400),
    };
    let rows = page
        .rows
        .iter()
        .map(|r| DebtorLine {
            id: r.account_id.clone(),
            customer: r.customer_id.clone(),
            status: status_words(r.status),
            balance: grouped(&r.balance),
            overdue_shown: !is_zero(&r.overdue),
            overdue: grouped(&r.overdue),
            days: r.days_overdue,
            limit: grouped(&r.credit_limit),
            utilisation: r.utilisation_percent.as_ref().map_or_else(|| "no limit".into(), |u| format!("{u}%")),
            stored: grouped(&r.stored_balance),
        })
        .collect();
    render_accounts(who, String::new(), rows, q, page.next_after, page.examined, 200)
}

fn render_accounts(who: Who, message: String, rows: Vec<DebtorLine>, q: &HashMap<String, String>, next_after: Option<String>, examined: u32, status: u16) -> Result<Response> {
    let mut f: HashMap<String, String> = q.iter().filter(|(k, _)| k.as_str() != "after").map(|(k, v)| (k.clone(), v.clone())).collect();
    f.entry("sort".into()).or_insert_with(|| "balance".into());
    let next = next_after.map(|after| {
        let mut pairs: Vec<(&String, &String)> = f.iter().filter(|(_, v)| !v.is_empty()).collect();
        pairs.sort();
        let mut s = pairs.iter().map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v))).collect::<Vec<_>>().join("&");
        s.push_str(&format!("&after={}", query_escape(&after)));
        s
    });
    let v = |name: &str| f.get(name).cloned().unwrap_or_default();
    let f = Filters {
        sort: v("sort"),
        status: v("status"),
        currency: v("currency"),
        balance_min: v("balance-min"),
        overdue_min: v("overdue-min"),
        days_overdue_min: v("days-overdue-min"),
        utilisation_min: v("utilisation-min"),
        stored: v("stored"),
        as_of: v("as-of"),
    };
    let p = AccountsPage { who: Some(who), message, rows, f, sorts: SORTS.iter().map(|s| (s.0, s.1)).collect(), next, examined };
    Ok(page(status, p.render()?))
}

/// Percent-encodes everything but unreserved characters.
fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ------------------------------------------------------------------ aging

struct AgingLine {
    id: String,
    customer: String,
    currency: String,
    buckets: Vec<String>,
    total: String,
    stored: String,
}

struct TotalLine {
    currency: String,
    accounts: u32,
    buckets: Vec<String>,
    total: String,
    stored: String,
    net: String,
    written_off: String,
}

struct MonthLine {
    currency: String,
    month: String,
    invoiced: String,
    collected: String,
}

#[derive(Template)]
#[template(path = "staff_aging.html")]
struct AgingView {
    who: Option<Who>,
    message: String,
    as_of: String,
    labels: Vec<String>,
    rows: Vec<AgingLine>,
    totals: Vec<TotalLine>,
    aging_charts: Vec<String>,
    months: Vec<MonthLine>,
    months_charts: Vec<String>,
    months_accounts: usize,
    exposure_chart: String,
    exposure: Vec<(String, String, String, String, String)>,
}

/// Sums Decimal strings bucket by bucket.
fn add_into(into: &mut Vec<Decimal>, values: &[String]) {
    into.resize(into.len().max(values.len()), Decimal::ZERO);
    for (t, v) in into.iter_mut().zip(values) {
        *t += dec(v);
    }
}

/// Aged receivables as of today, with the charts.
pub(super) fn aging(ledger: &mut Ledger, m: &MerchantId, who: Who, q: &HashMap<String, String>, now_ms: i64) -> Result<Response> {
    let as_of = match as_of(q, now_ms) {
        Ok(day) => day,
        Err(why) => return Ok(page(400, AgingView::empty(who, why, today(now_ms)).render()?)),
    };
    let mut labels = Vec::new();
    let mut rows = Vec::new();
    // Per currency: accounts, buckets, total, stored, net, written off.
    let mut totals: BTreeMap<String, (u32, Vec<Decimal>, [Decimal; 4])> = BTreeMap::new();
    let mut after = None;
    let mut read = 0usize;
    loop {
        let req = AgingRequest { as_of: as_of.clone(), basis: AgingBasis::DueDate, edges: Vec::new(), currency: None, company_id: None, after: after.clone(), limit: 100 };
        let p = ledger.aging(m, &req)?.map_err(|e| anyhow!("aging: {e:?}"))?;
        labels.clone_from(&p.bucket_labels);
        read += p.examined as usize;
        for r in &p.rows {
            rows.push(AgingLine {
                id: r.account_id.clone(),
                customer: r.customer_id.clone(),
                currency: r.currency.clone(),
                buckets: r.buckets.iter().map(|b| grouped(b)).collect(),
                total: grouped(&r.total),
                stored: grouped(&r.unapplied_credit),
            });
        }
        for t in &p.totals {
            let e = totals.entry(t.currency.clone()).or_default();
            e.0 += t.accounts;
            add_into(&mut e.1, &t.buckets);
            for (i, v) in [&t.total, &t.unapplied_credit, &t.net, &t.written_off].into_iter().enumerate() {
                e.2[i] += dec(v);
            }
        }
        after = p.next_after;
        if after.is_none() || read >= ACCOUNTS_READ_MAX {
            break;
        }
    }
    let message = if after.is_some() { format!("The first {read} accounts are shown.") } else { String::new() };
    let aging_charts = totals
        .iter()
        .map(|(currency, (_, buckets, _))| {
            let desc = labels.iter().zip(buckets).map(|(l, b)| format!("{l}: {b} {currency}")).collect::<Vec<_>>().join("; ");
            charts::columns(&format!("aging-{currency}"), &format!("Owed by age, {currency}"), &desc, &labels, &[Series { name: currency, class: "a", values: buckets.clone() }])
        })
        .collect();
    let totals = totals
        .into_iter()
        .map(|(currency, (accounts, buckets, t))| TotalLine {
            currency,
            accounts,
            buckets: buckets.iter().map(|b| grouped(&b.to_string())).collect(),
            total: grouped(&t[0].to_string()),
            stored: grouped(&t[1].to_string()),
            net: grouped(&t[2].to_string()),
            written_off: grouped(&t[3].to_string()),
        })
        .collect();

    let (per_currency, months_accounts) = monthly(ledger, m, &as_of, now_ms)?;
    let mut months = Vec::new();
    let mut months_charts = Vec::new();
    for (currency, all) in &per_currency {
        let shown: Vec<&(String, Decimal, Decimal)> = all.iter().rev().take(MONTHS_SHOWN).rev().collect();
        let scale = shown.iter().map(|x| x.1.scale().max(x.2.scale())).max().unwrap_or(0);
        let fixed = |v: Decimal| {
            let mut v = v;
            v.rescale(scale);
            grouped(&v.to_string())
        };
        let labels: Vec<String> = shown.iter().map(|x| x.0.clone()).collect();
        let desc = shown.iter().map(|(mo, i, c)| format!("{mo}: invoiced {i}, collected {c} {currency}")).collect::<Vec<_>>().join("; ");
        months_charts.push(charts::columns(
            &format!("months-{currency}"),
            &format!("Invoiced and collected per month, {currency}"),
            &desc,
            &labels,
            &[Series { name: "invoiced", class: "b", values: shown.iter().map(|x| x.1).collect() }, Series { name: "collected", class: "a", values: shown.iter().map(|x| x.2).collect() }],
        ));
        months.extend(shown.iter().map(|(mo, i, c)| MonthLine { currency: currency.clone(), month: mo.clone(), invoiced: fixed(*i), collected: fixed(*c) }));
    }

    let q = DebtorQuery::unfiltered(&as_of, DebtorSort::Utilisation, EXPOSURE_ROWS);
    let top = ledger.debtors(m, &q)?.map_err(|e| anyhow!("debtors: {e:?}"))?;
    let bars: Vec<Exposure> = top
        .rows
        .iter()
        .map(|r| Exposure { label: r.account_id.clone(), debt: dec(&r.posted_debt), held: dec(&r.exposure) - dec(&r.posted_debt), limit: dec(&r.credit_limit) })
        .collect();
    let desc = top.rows.iter().map(|r| format!("{}: exposure {} of limit {} {}", r.account_id, r.exposure, r.credit_limit, r.currency)).collect::<Vec<_>>().join("; ");
    let exposure_chart = charts::exposure("exposure", "Exposure against limit, highest utilisation first", &desc, &bars);
    let exposure = top
        .rows
        .iter()
        .map(|r| (r.account_id.clone(), grouped(&r.posted_debt), grouped(&(dec(&r.exposure) - dec(&r.posted_debt)).to_string()), grouped(&r.credit_limit), r.utilisation_percent.clone().map_or_else(|| "no limit".into(), |u| format!("{u}%"))))
        .collect();
    let v = AgingView { who: Some(who), message, as_of, labels, rows, totals, aging_charts, months, months_charts, months_accounts, exposure_chart, exposure };
    Ok(page(200, v.render()?))
}

impl AgingView {
    /// The page with nothing on it but `message`.
    fn empty(who: Who, message: String, as_of: String) -> AgingView {
        AgingView {
            who: Some(who),
            message,
            as_of,
            labels: Vec::new(),
            rows: Vec::new(),
            totals: Vec::new(),
            aging_charts: Vec::new(),
            months: Vec::new(),
            months_charts: Vec::new(),
            months_accounts: 0,
            exposure_chart: String::new(),
            exposure: Vec::new(),
        }
    }
}

/// Per currency, per month (`YYYY-MM`, UTC) up to `as_of`, across the
/// accounts' ledgers: invoiced (the invoices captures issued) and collected
/// (payments recorded less those reversed), oldest first; and how many
/// accounts were read.
type Months = BTreeMap<String, Vec<(String, Decimal, Decimal)>>;
fn monthly(ledger: &mut Ledger, m: &MerchantId, as_of: &str, now_ms: i64) -> Result<(Months, usize)> {
    let mut ids: Vec<String> = Vec::new();
    while ids.len() < ACCOUNTS_READ_MAX {
        let page = ledger.list_accounts(m, ids.last().map(String::as_str), 100)?.map_err(|e| anyhow!("list-accounts: {e:?}"))?;
        let done = page.len() < 100;
        ids.extend(page);
        if done {
            break;
        }
    }
    let last = &as_of[..7];
    let mut months: BTreeMap<String, BTreeMap<String, (Decimal, Decimal)>> = BTreeMap::new();
    for id in &ids {
        let Ok(account) = ledger.get_account(m, id, now_ms)? else { continue };
        let per_month = months.entry(account.currency).or_default();
        let entries = ledger.ledger_all(m, id)?.map_err(|e| anyhow!("ledger: {e:?}"))?;
        for e in entries {
            let month = chrono::DateTime::from_timestamp_millis(e.at_ms).unwrap_or_default().format("%Y-%m").to_string();
            if month.as_str() > last {
                continue;
            }
            match e.kind {
                EntryKind::HoldCaptured => per_month.entry(month).or_default().0 += dec(&e.debt_delta),
                EntryKind::PaymentRecorded => per_month.entry(month).or_default().1 += dec(&e.amount),
                EntryKind::PaymentReversed => per_month.entry(month).or_default().1 -= dec(&e.amount),
                _ => {}
            }
        }
    }
    let months = months.into_iter().filter(|(_, v)| !v.is_empty()).map(|(c, v)| (c, v.into_iter().map(|(k, (i, c))| (k, i, c)).collect())).collect();
    Ok((months, ids.len()))
}

// --------------------------------------------------------------- warnings

#[derive(Template)]
#[template(path = "staff_warnings.html")]
struct WarningsView {
    who: Option<Who>,
    message: String,
    as_of: String,
    rows: Vec<(String, String, Vec<String>)>,
}

/// A signal in words, with its figures.
pub(super) fn signal_words(s: &WarningSignal) -> String {
    match s {
        WarningSignal::PayingSlower(p) => format!("Paying slower: {} days on average over the last {} invoices, {} before", p.recent_average_days, p.window, p.earlier_average_days),
        WarningSignal::HighUtilisation(h) => format!("High utilisation: {} of the limit (threshold {}%)", h.utilisation_percent.as_ref().map_or_else(|| "no limit".into(), |u| format!("{u}%")), h.threshold_percent),
        WarningSignal::RecentBounce(b) => format!("Payment {} bounced on {}", b.payment_id, b.date),
        WarningSignal::FirstTimeOverdue(f) => format!("Overdue for the first time since {}: {} now", f.since, grouped(&f.overdue)),
        WarningSignal::PromiseMissed(p) => format!("Promise missed: {} by {}, {} received", grouped(&p.amount), p.pay_by, grouped(&p.paid)),
    }
}

/// Early warnings across the accounts.
pub(super) fn warnings(ledger: &mut Ledger, m: &MerchantId, who: Who, q: &HashMap<String, String>, now_ms: i64) -> Result<Response> {
    let as_of = match as_of(q, now_ms) {
        Ok(day) => day,
        Err(why) => return Ok(page(400, WarningsView { who: Some(who), message: why, as_of: today(now_ms), rows: Vec::new() }.render()?)),
    };
    let rules = warning_rules();
    let mut rows = Vec::new();
    let mut after: Option<String> = None;
    let mut read = 0usize;
    loop {
        let p = ledger.warnings(m, &as_of, &rules, after.as_deref(), 100)?.map_err(|e| anyhow!("warnings: {e:?}"))?;
        read += p.examined as usize;
        rows.extend(p.rows.iter().map(|r| (r.account_id.clone(), r.customer_id.clone(), r.signals.iter().map(signal_words).collect())));
        after = p.next_after;
        if after.is_none() || read >= ACCOUNTS_READ_MAX {
            break;
        }
    }
    let message = if after.is_some() { format!("The first {read} accounts were read.") } else { String::new() };
    Ok(page(200, WarningsView { who: Some(who), message, as_of, rows }.render()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_as_words_with_their_payload() {
        assert_eq!(refused(&CreditError::DateInFuture("received-on".into())), r#"date in future ("received-on")"#);
        assert_eq!(refused(&CreditError::AccountNotFound("c9".into())), r#"account not found ("c9")"#);
    }

    #[test]
    fn query_strings_are_percent_encoded() {
        assert_eq!(query_escape("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(query_escape("c0001-x_y.z~"), "c0001-x_y.z~");
    }
}

//! `statement`, `aging`, `debtors`, `warnings`, `notes`, `deliveries`:
//! what finance reads, through the component, as tables or (`--json`) as
//! the component's answers.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use serde::Serialize;

use super::tables;
use crate::api::*;
use crate::{Component, Ledger, MerchantId, render};

/// The database and merchant every report reads.
#[derive(clap::Args)]
pub struct Source {
    /// The database: a SQLite file, or a `postgres://` URL.
    #[arg(long, env = "CREDIT_DB")]
    db: crate::Database,
    /// The merchant.
    #[arg(long)]
    merchant: String,
    /// Print the component's answer as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

impl Source {
    fn open(&self, component: &Component) -> Result<(Ledger, MerchantId)> {
        Ok((super::open_existing(component, &self.db)?, MerchantId::new(self.merchant.clone())?))
    }

    fn print<T: Serialize>(&self, answer: &T, table: impl FnOnce() -> String) -> Result<ExitCode> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(answer)?);
        } else {
            println!("{}", table());
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// The component's refusal as an error of the command.
pub(super) fn refused<T>(r: std::result::Result<T, CreditError>) -> Result<T> {
    r.map_err(|e| anyhow!("the component refused: {e:?}"))
}

/// Today's date (UTC), the default report day.
fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

/// Arguments of `statement`.
#[derive(clap::Args)]
pub struct StatementArgs {
    #[command(flatten)]
    source: Source,
    /// The account.
    #[arg(long)]
    account: String,
    /// The first day (YYYY-MM-DD).
    #[arg(long)]
    from: String,
    /// The last day (YYYY-MM-DD).
    #[arg(long)]
    to: String,
    /// Also write the statement as an HTML page to this file.
    #[arg(long)]
    html: Option<PathBuf>,
    /// The names and addresses the HTML page prints (see `serve --names`).
    #[arg(long, requires = "html")]
    names: Option<PathBuf>,
}

/// A statement of account.
pub fn statement(component: &Component, a: &StatementArgs) -> Result<ExitCode> {
    let (mut ledger, m) = a.source.open(component)?;
    let s = refused(ledger.statement_all(&m, &a.account, &a.from, &a.to)?)?;
    if let Some(path) = &a.html {
        let names = super::names(a.names.as_deref())?;
        let html = render::statement_html(&names.merchant(m.as_str()), &names.customer(m.as_str(), &s.customer_id), &s)?;
        std::fs::write(path, html).with_context(|| format!("writing {}", path.display()))?;
    }
    a.source.print(&s, || {
        format!(
            "Statement of account {} ({}), {} to {}, {}\n{}\nAmount due now {}; due later {}; credit limit {}; available {}.",
            s.account_id,
            s.customer_id,
            s.period_from,
            s.period_to,
            s.currency,
            tables::statement(&s),
            tables::money(&s.amount_due),
            tables::money(&s.not_yet_due),
            tables::money(&s.credit_limit),
            tables::money(&s.available_credit),
        )
    })
}

/// Arguments of `aging`.
#[derive(clap::Args)]
pub struct AgingArgs {
    #[command(flatten)]
    source: Source,
    /// The day amounts are aged to (default: today, UTC).
    #[arg(long)]
    as_of: Option<String>,
    /// Count ages from the document date instead of the due date.
    #[arg(long)]
    by_document_date: bool,
    /// Bucket edges in days, comma-separated (default 30,60,90).
    #[arg(long, value_delimiter = ',')]
    edges: Vec<u32>,
    /// Only this currency.
    #[arg(long)]
    currency: Option<String>,
    /// Only the buyer accounts of this company (its totals are the
    /// company's aging).
    #[arg(long)]
    company: Option<String>,
}

/// Aged receivables across the merchant's accounts, every page.
pub fn aging(component: &Component, a: &AgingArgs) -> Result<ExitCode> {
    let (mut ledger, m) = a.source.open(component)?;
    let mut req = AgingRequest {
        as_of: a.as_of.clone().unwrap_or_else(today),
        basis: if a.by_document_date { AgingBasis::DocumentDate } else { AgingBasis::DueDate },
        edges: a.edges.clone(),
        currency: a.currency.clone(),
        company_id: a.company.clone(),
        after: None,
        limit: 100,
    };
    let mut rows = Vec::new();
    let mut totals: Vec<AgingTotal> = Vec::new();
    let mut first: Option<AgingPage> = None;
    loop {
        let page = refused(ledger.aging(&m, &req)?)?;
        rows.extend(page.rows.iter().cloned());
        for t in &page.totals {
            match totals.iter_mut().find(|x| x.currency == t.currency) {
                Some(sum) => add_totals(sum, t),
                None => totals.push(t.clone()),
            }
        }
        let next = page.next_after.clone();
        first.get_or_insert(page);
        match next {
            Some(after) => req.after = Some(after),
            None => break,
        }
    }
    let page = first.ok_or_else(|| anyhow!("no answer"))?;
    #[derive(Serialize)]
    struct Report<'a> {
        as_of: &'a str,
        basis: AgingBasis,
        bucket_labels: &'a [String],
        rows: &'a [AgingRow],
        totals: &'a [AgingTotal],
    }
    let report = Report { as_of: &page.as_of, basis: page.basis, bucket_labels: &page.bucket_labels, rows: &rows, totals: &totals };
    a.source.print(&report, || {
        let basis = if a.by_document_date { "document date" } else { "due date" };
        format!("Aged receivables as of {} (by {basis})\n{}", page.as_of, tables::aging(&page, &rows, &totals))
    })
}

/// Adds one page's totals for a currency to the report's.
fn add_totals(sum: &mut AgingTotal, page: &AgingTotal) {
    use std::str::FromStr;
    let plus = |a: &str, b: &str| -> String {
        let x = rust_decimal::Decimal::from_str(a).unwrap_or_default() + rust_decimal::Decimal::from_str(b).unwrap_or_default();
        x.to_string()
    };
    sum.accounts += page.accounts;
    for (s, p) in sum.buckets.iter_mut().zip(&page.buckets) {
        *s = plus(s, p);
    }
    sum.total = plus(&sum.total, &page.total);
    sum.unapplied_credit = plus(&sum.unapplied_credit, &page.unapplied_credit);
    sum.net = plus(&sum.net, &page.net);
    sum.written_off = plus(&sum.written_off, &page.written_off);
}

/// The debtor list's orders, as the command line names them.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Sort {
    /// Balance, largest first (per currency).
    Balance,
    /// Overdue as of the last day-close, largest first.
    Overdue,
    /// Oldest unpaid due date first.
    DaysOverdue,
    /// Exposure / limit, highest first.
    Utilisation,
    /// Stored balance, largest first.
    StoredBalance,
    /// Status, then account.
    Status,
    /// Currency, then balance.
    Currency,
}

/// Arguments of `debtors`.
#[derive(clap::Args)]
pub struct DebtorsArgs {
    #[command(flatten)]
    source: Source,
    /// The day days overdue count to (default: today, UTC).
    #[arg(long)]
    as_of: Option<String>,
    /// The order.
    #[arg(long, value_enum, default_value = "balance")]
    sort: Sort,
    /// Only this currency.
    #[arg(long)]
    currency: Option<String>,
    /// Only this status: active, on-hold or closed.
    #[arg(long)]
    status: Option<String>,
    /// Balance at least.
    #[arg(long)]
    balance_min: Option<String>,
    /// Balance at most.
    #[arg(long)]
    balance_max: Option<String>,
    /// Overdue at least.
    #[arg(long)]
    overdue_min: Option<String>,
    /// Days overdue at least.
    #[arg(long)]
    days_overdue_min: Option<u32>,
    /// Utilisation at least, in percent.
    #[arg(long)]
    utilisation_min: Option<String>,
    /// Only accounts holding stored balance (overpaid), or (false) none.
    #[arg(long)]
    has_stored_balance: Option<bool>,
    /// Rows to show.
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Continue after this position (the `next` printed by a page).
    #[arg(long)]
    after: Option<String>,
}

/// One page (or more, up to `--limit` rows) of the debtor list.
pub fn debtors(component: &Component, a: &DebtorsArgs) -> Result<ExitCode> {
    let (mut ledger, m) = a.source.open(component)?;
    let status = match a.status.as_deref() {
        None => None,
        Some("active") => Some(AccountStatus::Active),
        Some("on-hold") => Some(AccountStatus::OnHold),
        Some("closed") => Some(AccountStatus::Closed),
        Some(other) => anyhow::bail!("--status {other:?}: expected active, on-hold or closed"),
    };
    let mut q = DebtorQuery {
        as_of: a.as_of.clone().unwrap_or_else(today),
        currency: a.currency.clone(),
        status,
        balance_min: a.balance_min.clone(),
        balance_max: a.balance_max.clone(),
        overdue_min: a.overdue_min.clone(),
        days_overdue_min: a.days_overdue_min,
        utilisation_min_percent: a.utilisation_min.clone(),
        has_stored_balance: a.has_stored_balance,
        sort: match a.sort {
            Sort::Balance => DebtorSort::Balance,
            Sort::Overdue => DebtorSort::Overdue,
            Sort::DaysOverdue => DebtorSort::DaysOverdue,
            Sort::Utilisation => DebtorSort::Utilisation,
            Sort::StoredBalance => DebtorSort::StoredBalance,
            Sort::Status => DebtorSort::Status,
            Sort::Currency => DebtorSort::Currency,
        },
        after: a.after.clone(),
        limit: a.limit.clamp(1, 100),
    };
    let mut rows = Vec::new();
    let mut next = None;
    while rows.len() < a.limit as usize {
        let page = refused(ledger.debtors(&m, &q)?)?;
        rows.extend(page.rows);
        next = page.next_after;
        match &next {
            Some(after) => q.after = Some(after.clone()),
            None => break,
        }
    }
    rows.truncate(a.limit as usize);
    #[derive(Serialize)]
    struct Page<'a> {
        rows: &'a [DebtorRow],
        next_after: Option<&'a str>,
    }
    a.source.print(&Page { rows: &rows, next_after: next.as_deref() }, || {
        let more = next.as_deref().map(|n| format!("\nmore: --after {n}")).unwrap_or_default();
        format!("{}{more}", tables::debtors(&rows))
    })
}

/// Arguments of `warnings`.
#[derive(clap::Args)]
pub struct WarningsArgs {
    #[command(flatten)]
    source: Source,
    /// The day (default: today, UTC).
    #[arg(long)]
    as_of: Option<String>,
    /// Only this account.
    #[arg(long)]
    account: Option<String>,
    /// Settled invoices compared on each side.
    #[arg(long, default_value_t = 5)]
    window: u32,
    /// Utilisation that signals, in percent.
    #[arg(long, default_value = "90")]
    utilisation: String,
    /// How far back a bounced payment signals, in days.
    #[arg(long, default_value_t = 90)]
    bounce_days: u32,
    /// How far back a first overdue signals, in days.
    #[arg(long, default_value_t = 30)]
    first_overdue_days: u32,
}

/// Early warnings, for one account or the merchant.
pub fn warnings(component: &Component, a: &WarningsArgs) -> Result<ExitCode> {
    let (mut ledger, m) = a.source.open(component)?;
    let rules = WarningRules {
        window: a.window,
        utilisation_percent: a.utilisation.clone(),
        bounce_days: a.bounce_days,
        first_overdue_days: a.first_overdue_days,
    };
    let as_of = a.as_of.clone().unwrap_or_else(today);
    let rows = match &a.account {
        Some(id) => vec![refused(ledger.account_warnings(&m, id, &as_of, &rules)?)?],
        None => {
            let mut rows = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = refused(ledger.warnings(&m, &as_of, &rules, after.as_deref(), 100)?)?;
                rows.extend(page.rows);
                match page.next_after {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
            rows
        }
    };
    a.source.print(&rows, || format!("Early warnings as of {as_of}\n{}", tables::warnings(&rows)))
}

/// Arguments of `notes`.
#[derive(clap::Args)]
pub struct NotesArgs {
    #[command(flatten)]
    source: Source,
    /// The account.
    #[arg(long)]
    account: String,
    /// Add this note first.
    #[arg(long)]
    add: Option<String>,
    /// Who writes it (with --add).
    #[arg(long, default_value = "finance")]
    by: String,
    /// A promise to pay: the day (with --add and --promise-amount).
    #[arg(long, requires = "promise_amount")]
    promise_by: Option<String>,
    /// A promise to pay: the amount.
    #[arg(long, requires = "promise_by")]
    promise_amount: Option<String>,
}

/// An account's notes (adding one first with `--add`).
pub fn notes(component: &Component, a: &NotesArgs) -> Result<ExitCode> {
    let (mut ledger, m) = a.source.open(component)?;
    if let Some(text) = &a.add {
        let now = chrono::Utc::now().timestamp_millis();
        let ctx = CallContext { idempotency_key: format!("cli-note-{now}"), now_ms: now };
        let promise = match (&a.promise_by, &a.promise_amount) {
            (Some(by), Some(amount)) => Some(Promise { pay_by: by.clone(), amount: amount.clone() }),
            _ => None,
        };
        let req = AddNoteRequest { account_id: a.account.clone(), by: a.by.clone(), text: text.clone(), promise };
        refused(ledger.add_note(&m, &ctx, &req)?)?;
    }
    let mut notes = Vec::new();
    let mut after = None;
    loop {
        let page = refused(ledger.notes(&m, &a.account, after, 100)?)?;
        notes.extend(page.notes);
        match page.next_after_seq {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    a.source.print(&notes, || tables::notes(&notes).to_string())
}

/// Arguments of `deliveries`.
#[derive(clap::Args)]
pub struct DeliveriesArgs {
    #[command(flatten)]
    source: Source,
    /// The account.
    #[arg(long)]
    account: String,
}

/// An account's deliveries.
pub fn deliveries(component: &Component, a: &DeliveriesArgs) -> Result<ExitCode> {
    let (mut ledger, m) = a.source.open(component)?;
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let page = refused(ledger.deliveries(&m, &a.account, after, 100)?)?;
        rows.extend(page.deliveries);
        match page.next_after_seq {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    a.source.print(&rows, || tables::deliveries(&rows).to_string())
}

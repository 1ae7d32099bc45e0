//! What finance teams and customers read: statements of account, aged
//! receivables, the debtor list and early warnings. Computed from the same
//! records the operations keep (entries, the open-item lists, the
//! owed-by-date ladders, the debtor indexes, the payment profile), so every
//! host gets the same figures; nothing here writes except the monthly
//! statement, which day-close asks for.

#[allow(unused_imports)]
use crate::prelude::*;

use super::*;
use crate::validate;

/// Where a statement's lines start.
pub(super) enum Start {
    /// At the first entry on or after its first day.
    Date,
    /// Continuing a statement after this entry (and not before its day).
    Continue(u64),
    /// Right after this entry (the last one the previous statement had).
    After(u64),
}

/// The default aging edges: current, 1-30, 31-60, 61-90, over 90.
pub const AGING_EDGES_DEFAULT: [u32; 3] = [30, 60, 90];

/// Longest debtor-list position (`next-after`).
const DEBTOR_CURSOR_LEN_MAX: usize = 160;

/// Checks aging edges: at most `AGING_EDGES_MAX`, each 1 ..=
/// `AGING_EDGE_DAYS_MAX`, strictly increasing; empty means the default.
fn aging_edges(edges: &[u32]) -> Result<Vec<u32>, Error> {
    if edges.is_empty() {
        return Ok(AGING_EDGES_DEFAULT.to_vec());
    }
    let increasing = edges.windows(2).all(|w| w[0] < w[1]);
    let in_range = edges.iter().all(|&e| (1..=AGING_EDGE_DAYS_MAX).contains(&e));
    if edges.len() > AGING_EDGES_MAX || !increasing || !in_range {
        return Err(Error::ReportQueryOutOfRange(Field::Edges));
    }
    Ok(edges.to_vec())
}

/// "current", "1-30", "31-60", "61-90", "over 90" for edges 30, 60, 90.
pub fn bucket_labels(edges: &[u32]) -> Vec<String> {
    let mut out = vec!["current".to_owned()];
    let mut from = 1;
    for &e in edges {
        out.push(format!("{from}-{e}"));
        from = e + 1;
    }
    out.push(format!("over {}", edges.last().copied().unwrap_or(0)));
    out
}

/// The bucket of an amount `days` past its date: 0 when not past it (or
/// dated today), then the first edge it does not exceed (day 30 falls in
/// 1-30), then the last bucket.
pub fn bucket_of(days: i64, edges: &[u32]) -> usize {
    if days <= 0 {
        return 0;
    }
    edges.iter().position(|&e| days <= i64::from(e)).map_or(edges.len() + 1, |i| i + 1)
}

/// What an account ages to, before formatting.
struct RawAging {
    buckets: Vec<Decimal>,
    total: Decimal,
}

/// A page of a report over a merchant's accounts: from after `after`, at
/// most `limit` rows and `REPORT_ACCOUNTS_PER_CALL_MAX` accounts read.
struct AccountWalk {
    rows: Pager,
    examined: u32,
    last: Option<String>,
}

impl AccountWalk {
    fn new(after: Option<&str>) -> AccountWalk {
        AccountWalk { rows: Pager::new("acct/".to_owned(), after.map(account_key)), examined: 0, last: None }
    }

    /// The next account, unless the call has read its share.
    fn next<K: Kv>(&mut self, kv: &K) -> Result<Option<Account>, Error> {
        if self.examined >= REPORT_ACCOUNTS_PER_CALL_MAX {
            return Ok(None);
        }
        let Some((key, bytes)) = self.rows.next(kv) else { return Ok(None) };
        self.examined += 1;
        self.last = Some(key["acct/".len()..].to_owned());
        decode(&key, &bytes).map(Some)
    }

    /// Where the next page starts, when accounts remain.
    fn next_after<K: Kv>(&mut self, kv: &K) -> Option<String> {
        self.rows.peek(kv).and(self.last.clone())
    }
}

fn percent_of(exposure: Decimal, limit: Decimal) -> Option<Decimal> {
    if limit <= Decimal::ZERO {
        return if exposure > Decimal::ZERO { None } else { Some(Decimal::ZERO) };
    }
    Some((exposure * Decimal::ONE_HUNDRED / limit).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero))
}

fn percent_text(p: Decimal) -> String {
    let mut p = p;
    p.rescale(2);
    p.to_string()
}

/// An amount given in a report query: in the currency's minor units when
/// the query names one, else up to 3 decimals.
fn query_amount(text: &str, currency: Option<Currency>, field: Field) -> Result<Decimal, Error> {
    let v = money::parse_decimal(text, field)?;
    let scale = currency.map_or(3, Currency::minor_units);
    if v.normalize().scale() > scale {
        return Err(Error::AmountTooPrecise(field));
    }
    if v.abs() > Decimal::from(AMOUNT_MAX_MAJOR) {
        return Err(Error::AmountTooLarge(field));
    }
    Ok(v)
}

fn describe(e: &Entry, payment: Option<&Payment>) -> String {
    let inv = e.invoice_id.as_deref().unwrap_or("");
    let doc = e.document_id.as_deref().unwrap_or("");
    let order = e.order_id.as_deref().unwrap_or("");
    match e.kind {
        EntryKind::HoldCaptured => format!("Invoice {inv} (order {order})"),
        EntryKind::BalanceApplied => format!("Store credit used on order {order}"),
        EntryKind::CreditNoteIssued => format!("Credit note {doc} (order {order})"),
        EntryKind::CreditNoteCancelled => format!("Credit note {doc} cancelled (order {order})"),
        EntryKind::BadDebtWrittenOff => format!("{inv} written off as bad debt"),
        EntryKind::InvoiceBroughtIn => format!("Invoice {inv} brought in (still owed)"),
        EntryKind::StoredBalanceBroughtIn => "Credit brought in".to_owned(),
        EntryKind::PaymentRecorded => match payment {
            Some(p) if p.reference.is_empty() => format!("Payment {doc} by {}", p.method),
            Some(p) => format!("Payment {doc} by {}, reference {}", p.method, p.reference),
            None => format!("Payment {doc}"),
        },
        EntryKind::PaymentReversed => format!("Payment {doc} returned unpaid"),
        EntryKind::DiscountTaken => format!("Early-payment discount on {inv}"),
        EntryKind::DynamicDiscountTaken => format!("Discount for paying {inv} early"),
        EntryKind::SmallDifferenceWrittenOff => format!("Small difference written off on {inv}"),
        EntryKind::LateFeeCharged => format!("Late fee on {doc} ({inv})"),
        EntryKind::InterestCharged => format!("Interest on {doc} ({inv})"),
        _ => e.memo.clone(),
    }
}

impl<K: Kv> Engine<K> {
    // ------------------------------------------------------------ aging

    /// An account's open amounts in buckets as of `as_of`: by the due date
    /// of each unpaid portion, or by the date on each item.
    fn raw_aging(&self, account: &Account, as_of: NaiveDate, basis: AgingBasis, edges: &[u32]) -> Result<RawAging, Error> {
        let mut buckets = vec![Decimal::ZERO; edges.len() + 2];
        let ladders: &[&str] = match basis {
            AgingBasis::DueDate => &LADDERS,
            AgingBasis::DocumentDate => &[DOCUMENT_LADDER],
        };
        let mut total = Decimal::ZERO;
        for ladder in ladders {
            let prefix = owed_prefix(&account.id, ladder);
            let mut rows = Pager::new(prefix.clone(), None);
            while let Some((key, bytes)) = rows.next(&self.kv) {
                let date = stored_date(&key[prefix.len()..])?;
                let amount = decode::<Dec>(&key, &bytes)?.0;
                let b = bucket_of(dates::days_between(date, as_of), edges);
                buckets[b] = add(buckets[b], amount)?;
                total = add(total, amount)?;
            }
        }
        Ok(RawAging { buckets, total })
    }

    fn aging_view(account: &Account, raw: &RawAging, written_off: Decimal) -> Result<AccountAging, Error> {
        let c = currency_of(account)?;
        Ok(AccountAging {
            account_id: account.id.clone(),
            customer_id: account.customer_id.clone(),
            currency: account.currency.clone(),
            buckets: raw.buckets.iter().map(|b| c.format(*b)).collect(),
            total: c.format(raw.total),
            unapplied_credit: c.format(account.stored_balance),
            net: c.format(sub(raw.total, account.stored_balance)?),
            written_off: c.format(written_off),
        })
    }

    /// Bad debt written off on the account so far.
    fn written_off(&self, account: &mut Account) -> Result<Decimal, Error> {
        Ok(self.profile(account)?.written_off)
    }

    /// `reports.account-aging`.
    pub fn account_aging(&self, account_id: &str, as_of: &str, basis: AgingBasis, edges: &[u32]) -> Result<AccountAging, Error> {
        validate::id(account_id, Field::AccountId)?;
        let as_of = parse_date(as_of, Field::AsOf)?;
        let edges = aging_edges(edges)?;
        let mut account = self.account(account_id)?;
        let written_off = self.written_off(&mut account)?;
        Self::aging_view(&account, &self.raw_aging(&account, as_of, basis, &edges)?, written_off)
    }

    /// `reports.aging`: one page of the aged-receivables report, with this
    /// page's totals per currency (the report's totals are the sum of its
    /// pages').
    pub fn aging(&self, req: &AgingRequest) -> Result<AgingPage, Error> {
        let as_of = parse_date(&req.as_of, Field::AsOf)?;
        let edges = aging_edges(&req.edges)?;
        let currency = req.currency.as_deref().map(Currency::from_code).transpose()?;
        if let Some(a) = &req.after {
            validate::id(a, Field::After)?;
        }
        validate::page_limit(req.limit)?;
        if let Some(id) = &req.company_id {
            validate::id(id, Field::CompanyId)?;
            self.company(id)?;
        }
        let mut walk = AccountWalk::new(req.after.as_deref());
        let mut rows = Vec::new();
        let mut totals: Vec<(Currency, u32, Vec<Decimal>, Decimal, Decimal, Decimal)> = Vec::new();
        while rows.len() < req.limit as usize {
            let Some(mut account) = walk.next(&self.kv)? else { break };
            let c = currency_of(&account)?;
            if currency.is_some_and(|want| want != c) || req.company_id.as_ref().is_some_and(|id| account.company_id.as_ref() != Some(id)) {
                continue;
            }
            let raw = self.raw_aging(&account, as_of, req.basis, &edges)?;
            let written_off = self.written_off(&mut account)?;
            if raw.total.is_zero() && account.stored_balance.is_zero() && written_off.is_zero() {
                continue;
            }
            let t = match totals.iter().position(|t| t.0 == c) {
                Some(i) => &mut totals[i],
                None => {
                    totals.push((c, 0, vec![Decimal::ZERO; edges.len() + 2], Decimal::ZERO, Decimal::ZERO, Decimal::ZERO));
                    totals.last_mut().expect("pushed")
                }
            };
            t.1 += 1;
            for (sum, b) in t.2.iter_mut().zip(&raw.buckets) {
                *sum = add(*sum, *b)?;
            }
            t.3 = add(t.3, raw.total)?;
            t.4 = add(t.4, account.stored_balance)?;
            t.5 = add(t.5, written_off)?;
            rows.push(Self::aging_view(&account, &raw, written_off)?);
        }
        totals.sort_by_key(|t| t.0.code());
        let totals = totals
            .into_iter()
            .map(|(c, accounts, buckets, total, credit, written_off)| {
                Ok(AgingTotal {
                    currency: c.code().to_owned(),
                    accounts,
                    buckets: buckets.iter().map(|b| c.format(*b)).collect(),
                    total: c.format(total),
                    unapplied_credit: c.format(credit),
                    net: c.format(sub(total, credit)?),
                    written_off: c.format(written_off),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(AgingPage {
            as_of: dates::format(as_of),
            basis: req.basis,
            bucket_labels: bucket_labels(&edges),
            rows,
            totals,
            next_after: walk.next_after(&self.kv),
            examined: walk.examined,
        })
    }

    // ------------------------------------------------------- statements

    /// The balance (posted debt less stored balance) after entry `seq`;
    /// zero before the first.
    fn balance_after(&self, account: &str, seq: u64) -> Result<Decimal, Error> {
        if seq == 0 {
            return Ok(Decimal::ZERO);
        }
        let key = entry_key(account, seq);
        let e: Entry = self.load(&key)?.ok_or_else(|| Error::StoreCorrupt(format!("{key} is missing")))?;
        sub(e.debt_after, e.stored_after)
    }

    /// The first entry on or after `day` (entries are in time order), or
    /// one past the last.
    fn first_entry_on_or_after(&self, account: &Account, day: NaiveDate) -> Result<u64, Error> {
        let (mut lo, mut hi) = (1u64, account.entry_count + 1);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let key = entry_key(&account.id, mid);
            let e: Entry = self.load(&key)?.ok_or_else(|| Error::StoreCorrupt(format!("{key} is missing")))?;
            if dates::day_of(e.at_ms) < day {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }

    /// A statement of `account` for `from ..= to`: the lines (at most
    /// `STATEMENT_LINES_MAX`), the open items now, and the aging and amount
    /// due as of `to`. The lines start at the first entry on or after
    /// `from`, or after `after_seq` when continuing; a monthly statement
    /// starts right after the entry the last one ended with (`Start::After`).
    pub(super) fn build_statement(&self, account: &mut Account, from: NaiveDate, to: NaiveDate, start: Start) -> Result<StatementView, Error> {
        let c = currency_of(account)?;
        let start = match start {
            Start::Date => self.first_entry_on_or_after(account, from)?,
            Start::Continue(after) => self.first_entry_on_or_after(account, from)?.max(after.saturating_add(1)),
            Start::After(seq) => seq + 1,
        };
        let opening = self.balance_after(&account.id, start - 1)?;
        let mut lines = Vec::new();
        let (mut debits, mut credits, mut closing) = (Decimal::ZERO, Decimal::ZERO, opening);
        let mut next_after_seq = None;
        let mut rows = Pager::new(entry_prefix(&account.id), (start > 1).then(|| entry_key(&account.id, start - 1)));
        while let Some((key, bytes)) = rows.next(&self.kv) {
            let e: Entry = decode(&key, &bytes)?;
            let day = dates::day_of(e.at_ms);
            if day > to {
                break;
            }
            let moved = sub(e.debt_delta, e.stored_delta)?;
            if moved.is_zero() {
                continue;
            }
            if lines.len() >= STATEMENT_LINES_MAX {
                next_after_seq = lines.last().map(|l: &StatementLine| l.entry_seq);
                break;
            }
            let payment = match (e.kind, &e.document_id) {
                (EntryKind::PaymentRecorded, Some(id)) => self.load::<Payment>(&payment_key(id))?,
                _ => None,
            };
            let (debit, credit) = if moved > Decimal::ZERO { (moved, Decimal::ZERO) } else { (Decimal::ZERO, -moved) };
            debits = add(debits, debit)?;
            credits = add(credits, credit)?;
            closing = sub(e.debt_after, e.stored_after)?;
            lines.push(StatementLine {
                date: dates::format(day),
                entry_seq: e.seq,
                kind: e.kind,
                description: describe(&e, payment.as_ref()),
                reference: e.invoice_id.clone().or_else(|| e.document_id.clone()),
                debit: c.format(debit),
                credit: c.format(credit),
                balance: c.format(closing),
            });
        }
        if add(opening, sub(debits, credits)?)? != closing {
            return Err(Error::StoreCorrupt(format!("statement of {}: opening + movements != closing", account.id)));
        }
        // Open items now, aged to `to`.
        let mut open_items = Vec::new();
        let mut items = OpenItems::new(&account.id, None);
        while open_items.len() < STATEMENT_ITEMS_MAX {
            let Some((_, item)) = items.next(&self.kv)? else { break };
            let inv = self.invoice(&item.id)?;
            open_items.push(StatementItem {
                invoice_id: inv.id.clone(),
                kind: inv.kind,
                date: inv.invoice_date.clone(),
                due_date: inv.due_date.clone(),
                total: c.format(inv.total),
                outstanding: c.format(inv.outstanding),
                overdue: c.format(rules::overdue_at(&inv.schedule, inv.total, inv.outstanding, to)),
                days_overdue: u32::try_from(rules::days_overdue(&inv.schedule, inv.total, inv.outstanding, to).max(0)).unwrap_or(u32::MAX),
                schedule: self.portion_views(&inv, c, to)?,
            });
        }
        let edges = AGING_EDGES_DEFAULT.to_vec();
        let raw = self.raw_aging(account, to, AgingBasis::DueDate, &edges)?;
        let written_off = self.written_off(account)?;
        // Due now: every unpaid portion due on or before `to`.
        let due_now = self.overdue_total(account, dates::add_days(to, 1))?;
        let available = sub(add(account.credit_limit, account.stored_balance)?, add(account.posted_debt, account.held)?)?;
        let open_item_count = self.cfg(account)?.open_item_count;
        Ok(StatementView {
            account_id: account.id.clone(),
            customer_id: account.customer_id.clone(),
            currency: account.currency.clone(),
            period_from: dates::format(from),
            period_to: dates::format(to),
            opening_balance: c.format(opening),
            lines,
            total_debits: c.format(debits),
            total_credits: c.format(credits),
            closing_balance: c.format(closing),
            next_after_seq,
            open_items,
            open_item_count,
            bucket_labels: bucket_labels(&edges),
            aging: Self::aging_view(account, &raw, written_off)?,
            amount_due: c.format(due_now),
            not_yet_due: c.format(sub(account.posted_debt, due_now)?),
            credit_limit: c.format(account.credit_limit),
            stored_balance: c.format(account.stored_balance),
            available_credit: c.format(available),
        })
    }

    /// `reports.company-statement`: a company's buyers' balances for a
    /// period, added up, with the company's aging and line.
    pub fn company_statement(&self, company_id: &str, from: &str, to: &str) -> Result<CompanyStatement, Error> {
        validate::id(company_id, Field::CompanyId)?;
        let from = parse_date(from, Field::From)?;
        let to = parse_date(to, Field::To)?;
        if from > to || dates::days_between(from, to) > STATEMENT_PERIOD_DAYS_MAX {
            return Err(Error::StatementPeriodOutOfRange);
        }
        let company = self.company(company_id)?;
        let c = Currency::from_code(&company.currency).map_err(|_| Error::StoreCorrupt(format!("company {company_id} currency")))?;
        let edges = AGING_EDGES_DEFAULT.to_vec();
        let mut buckets = vec![Decimal::ZERO; edges.len() + 2];
        let (mut opening, mut closing, mut due, mut later) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        let (mut owed, mut stored, mut written_off) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        let mut buyers = Vec::with_capacity(company.buyers.len());
        for id in &company.buyers {
            let mut account = self.account(id)?;
            let open = self.balance_after(id, self.first_entry_on_or_after(&account, from)? - 1)?;
            let close = self.balance_after(id, self.first_entry_on_or_after(&account, dates::add_days(to, 1))? - 1)?;
            let due_now = self.overdue_total(&account, dates::add_days(to, 1))?;
            let not_yet = sub(account.posted_debt, due_now)?;
            let raw = self.raw_aging(&account, to, AgingBasis::DueDate, &edges)?;
            for (sum, b) in buckets.iter_mut().zip(&raw.buckets) {
                *sum = add(*sum, *b)?;
            }
            owed = add(owed, raw.total)?;
            stored = add(stored, account.stored_balance)?;
            written_off = add(written_off, self.written_off(&mut account)?)?;
            opening = add(opening, open)?;
            closing = add(closing, close)?;
            due = add(due, due_now)?;
            later = add(later, not_yet)?;
            buyers.push(BuyerBalance {
                account_id: id.clone(),
                opening_balance: c.format(open),
                closing_balance: c.format(close),
                amount_due: c.format(due_now),
                not_yet_due: c.format(not_yet),
            });
        }
        let summary = Self::company_summary(&company)?;
        Ok(CompanyStatement {
            company_id: company.id.clone(),
            currency: company.currency.clone(),
            period_from: dates::format(from),
            period_to: dates::format(to),
            buyers,
            opening_balance: c.format(opening),
            closing_balance: c.format(closing),
            amount_due: c.format(due),
            not_yet_due: c.format(later),
            bucket_labels: bucket_labels(&edges),
            aging: AccountAging {
                account_id: company.id.clone(),
                customer_id: company.id.clone(),
                currency: company.currency.clone(),
                buckets: buckets.iter().map(|b| c.format(*b)).collect(),
                total: c.format(owed),
                unapplied_credit: c.format(stored),
                net: c.format(sub(owed, stored)?),
                written_off: c.format(written_off),
            },
            figures: summary.figures,
        })
    }

    /// `reports.statement`.
    pub fn statement(&self, account_id: &str, from: &str, to: &str, after_seq: Option<u64>) -> Result<StatementView, Error> {
        validate::id(account_id, Field::AccountId)?;
        let from = parse_date(from, Field::From)?;
        let to = parse_date(to, Field::To)?;
        if from > to || dates::days_between(from, to) > STATEMENT_PERIOD_DAYS_MAX {
            return Err(Error::StatementPeriodOutOfRange);
        }
        let mut account = self.account(account_id)?;
        let start = after_seq.map_or(Start::Date, Start::Continue);
        self.build_statement(&mut account, from, to, start)
    }

    /// Day-close's monthly statement: on the account's statement day (the
    /// last day of a month shorter than it), once per month, the period
    /// since the last one (or since the account opened).
    pub(super) fn monthly_statement(&mut self, account: &mut Account, day: NaiveDate) -> Result<Option<StatementHeader>, Error> {
        let Some(statement_day) = self.cfg(account)?.policy.statement_day else { return Ok(None) };
        let month_end = dates::end_of_month(day);
        let due_day = u32::from(statement_day).min(chrono::Datelike::day(&month_end));
        if chrono::Datelike::day(&day) != due_day {
            return Ok(None);
        }
        let month = &dates::format(day)[..7];
        let cfg = self.cfg(account)?;
        if cfg.last_statement_to.as_deref().is_some_and(|t| &t[..7] == month) {
            return Ok(None);
        }
        let from = match &cfg.last_statement_to {
            Some(t) => dates::add_days(stored_date(t)?, 1),
            None => dates::day_of(cfg.opened_at_ms),
        };
        let after = cfg.last_statement_seq;
        let view = self.build_statement(account, from.min(day), day, Start::After(after))?;
        let covered = view.next_after_seq.unwrap_or(account.entry_count);
        let seq = {
            let cfg = self.cfg_mut(account)?;
            cfg.statement_count += 1;
            cfg.statement_count
        };
        let header = StatementHeader {
            seq,
            account_id: account.id.clone(),
            currency: account.currency.clone(),
            period_from: view.period_from.clone(),
            period_to: view.period_to.clone(),
            opening_balance: view.opening_balance.clone(),
            closing_balance: view.closing_balance.clone(),
            amount_due: view.amount_due.clone(),
        };
        self.save(&statement_key(&account.id, header.seq), &(&header, &view))?;
        let cfg = self.cfg_mut(account)?;
        cfg.last_statement_to = Some(dates::format(day));
        cfg.last_statement_seq = covered;
        Ok(Some(header))
    }

    /// `reports.statements`: the monthly statements kept, oldest first.
    pub fn statements(&self, account_id: &str, after_seq: Option<u64>, limit: u32) -> Result<Vec<StatementHeader>, Error> {
        validate::id(account_id, Field::AccountId)?;
        validate::page_limit(limit)?;
        self.account(account_id)?;
        let start = after_seq.map(|s| statement_key(account_id, s));
        self.kv
            .scan(&statement_prefix(account_id), start.as_deref(), limit)
            .into_iter()
            .map(|(key, bytes)| decode::<(StatementHeader, StatementView)>(&key, &bytes).map(|(h, _)| h))
            .collect()
    }

    /// `reports.get-statement`: a kept monthly statement as it was made.
    pub fn get_statement(&self, account_id: &str, seq: u64) -> Result<StatementView, Error> {
        validate::id(account_id, Field::AccountId)?;
        self.account(account_id)?;
        let key = statement_key(account_id, seq);
        let (_, view): (StatementHeader, StatementView) = self.load(&key)?.ok_or(Error::StatementNotFound(seq))?;
        Ok(view)
    }

    // ---------------------------------------------------------- debtors

    fn debtor_row(&self, account: &Account, as_of: NaiveDate) -> Result<(DebtorRow, Option<Decimal>), Error> {
        let c = currency_of(account)?;
        let exposure = add(account.posted_debt, account.held)?;
        let utilisation = percent_of(exposure, account.credit_limit);
        let oldest_due = account.oldest_due.clone();
        let days_overdue = match &oldest_due {
            Some(d) => u32::try_from(dates::days_between(stored_date(d)?, as_of).max(0)).unwrap_or(u32::MAX),
            None => 0,
        };
        let row = DebtorRow {
            account_id: account.id.clone(),
            customer_id: account.customer_id.clone(),
            currency: account.currency.clone(),
            status: account.status,
            credit_limit: c.format(account.credit_limit),
            balance: c.format(sub(account.posted_debt, account.stored_balance)?),
            posted_debt: c.format(account.posted_debt),
            stored_balance: c.format(account.stored_balance),
            exposure: c.format(exposure),
            utilisation_percent: utilisation.map(percent_text),
            overdue: c.format(account.overdue_close),
            overdue_as_of: account.overdue_close_on.clone(),
            oldest_due,
            days_overdue,
        };
        Ok((row, utilisation))
    }

    /// `reports.debtors`: one page of the debtor list, read in the order of
    /// one index and filtered as asked.
    pub fn debtors(&self, q: &DebtorQuery) -> Result<DebtorPage, Error> {
        let as_of = parse_date(&q.as_of, Field::AsOf)?;
        let currency = q.currency.as_deref().map(Currency::from_code).transpose()?;
        let balance_min = q.balance_min.as_deref().map(|t| query_amount(t, currency, Field::BalanceMin)).transpose()?;
        let balance_max = q.balance_max.as_deref().map(|t| query_amount(t, currency, Field::BalanceMax)).transpose()?;
        let overdue_min = q.overdue_min.as_deref().map(|t| query_amount(t, currency, Field::OverdueMin)).transpose()?;
        let utilisation_min = q
            .utilisation_min_percent
            .as_deref()
            .map(|t| money::parse_percent(t, 100_000, Sign::NonNegative, Field::UtilisationPercent))
            .transpose()?;
        if let Some(a) = &q.after {
            validate::cursor_of(a, DEBTOR_CURSOR_LEN_MAX, Field::After)?;
        }
        validate::page_limit(q.limit)?;
        let which = match q.sort {
            DebtorSort::Balance | DebtorSort::Currency => Ix::Balance,
            DebtorSort::Overdue => Ix::Overdue,
            DebtorSort::DaysOverdue => Ix::OldestDue,
            DebtorSort::Utilisation => Ix::Utilisation,
            DebtorSort::StoredBalance => Ix::Stored,
            DebtorSort::Status => Ix::Status,
        };
        // Narrow the walk when the index is grouped by what is filtered.
        let mut prefix = which.prefix().to_owned();
        match (which, currency, q.status) {
            (Ix::Balance | Ix::Overdue | Ix::Stored, Some(c), _) => {
                prefix.push_str(c.code());
                prefix.push('/');
            }
            (Ix::Status, _, Some(s)) => {
                prefix.push_str(status_name(s));
                prefix.push('/');
            }
            _ => {}
        }
        let base = which.prefix().len();
        let start = q.after.as_ref().map(|a| key(&[which.prefix(), a], None));
        let narrowed = prefix.len() > base;
        let mut rows = Pager::new(prefix, start);
        let (mut out, mut examined, mut last, mut past_end) = (Vec::new(), 0u32, None, false);
        while out.len() < q.limit as usize && examined < REPORT_ACCOUNTS_PER_CALL_MAX {
            let Some((k, _)) = rows.next(&self.kv) else { break };
            examined += 1;
            last = Some(k[base..].to_owned());
            let id = k.rsplit('/').next().unwrap_or_default();
            let account = self.account(id)?;
            let (row, utilisation) = self.debtor_row(&account, as_of)?;
            let balance = sub(account.posted_debt, account.stored_balance)?;
            // When the walk is in the order of a filtered value, the first
            // account below the bound ends the list: every later one is
            // lower still. (The amount indexes are ordered within one
            // currency, so only when the walk is narrowed to it.)
            past_end = match which {
                Ix::Balance if narrowed => balance_min.is_some_and(|m| balance < m),
                Ix::Overdue if narrowed => overdue_min.is_some_and(|m| account.overdue_close < m),
                Ix::Stored if narrowed => q.has_stored_balance == Some(true) && account.stored_balance <= Decimal::ZERO,
                // Ordered by whole percent: below the bound when the next
                // whole percent up is not above it.
                Ix::Utilisation => utilisation_min.is_some_and(|m| {
                    let floor = utilisation_pct(add(account.posted_debt, account.held).unwrap_or(Decimal::MAX), account.credit_limit);
                    Decimal::from(floor) + Decimal::ONE <= m
                }),
                // Oldest due first, none last: days overdue only fall.
                Ix::OldestDue => q.days_overdue_min.is_some_and(|m| row.oldest_due.is_none() || row.days_overdue < m),
                _ => false,
            };
            if past_end {
                break;
            }
            let keep = currency.is_none_or(|c| c.code() == account.currency)
                && q.status.is_none_or(|s| s == account.status)
                && balance_min.is_none_or(|m| balance >= m)
                && balance_max.is_none_or(|m| balance <= m)
                && overdue_min.is_none_or(|m| account.overdue_close >= m)
                && q.days_overdue_min.is_none_or(|m| row.oldest_due.is_some() && row.days_overdue >= m)
                && utilisation_min.is_none_or(|m| utilisation.is_none_or(|u| u >= m))
                && q.has_stored_balance.is_none_or(|want| want == (account.stored_balance > Decimal::ZERO));
            if keep {
                out.push(row);
            }
        }
        let next_after = if !past_end && rows.peek(&self.kv).is_some() { last } else { None };
        Ok(DebtorPage { rows: out, next_after, examined })
    }

    // --------------------------------------------------------- warnings

    fn warning_rules(r: &WarningRules) -> Result<Decimal, Error> {
        if !(1..=WARNING_WINDOW_MAX).contains(&r.window) {
            return Err(Error::ReportQueryOutOfRange(Field::Window));
        }
        if r.bounce_days > 3_650 || r.first_overdue_days > 3_650 {
            return Err(Error::ReportQueryOutOfRange(Field::Window));
        }
        money::parse_percent(&r.utilisation_percent, 100_000, Sign::Positive, Field::UtilisationPercent)
    }

    /// The signals of one account on `as_of` (rules checked by the caller).
    fn signals(&self, account: &mut Account, as_of: NaiveDate, r: &WarningRules, threshold: Decimal) -> Result<Vec<WarningSignal>, Error> {
        let c = currency_of(account)?;
        let mut out = Vec::new();
        let within = |d: &str, days: u32| -> Result<bool, Error> {
            let d = stored_date(d)?;
            Ok(d <= as_of && dates::days_between(d, as_of) <= i64::from(days))
        };
        let overdue_now = self.overdue_total(account, as_of)?;
        let invoice_overdue = self.invoice_overdue_beyond(account, as_of, 0)?;
        let exposure = add(account.posted_debt, account.held)?;
        let utilisation = percent_of(exposure, account.credit_limit);
        let profile = self.profile(account)?.clone();
        let n = r.window as usize;
        if profile.days_to_pay.len() >= 2 * n {
            let recent = &profile.days_to_pay[profile.days_to_pay.len() - n..];
            let earlier = &profile.days_to_pay[profile.days_to_pay.len() - 2 * n..profile.days_to_pay.len() - n];
            let avg = |s: &[u32]| Decimal::from(s.iter().map(|&d| u64::from(d)).sum::<u64>()) / Decimal::from(n as u64);
            let (recent, earlier) = (avg(recent), avg(earlier));
            if recent > earlier {
                let two = |d: Decimal| {
                    let mut d = d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
                    d.rescale(2);
                    d.to_string()
                };
                out.push(WarningSignal::PayingSlower { window: r.window, recent_average_days: two(recent), earlier_average_days: two(earlier) });
            }
        }
        if utilisation.is_none_or(|u| u >= threshold) && exposure > Decimal::ZERO {
            out.push(WarningSignal::HighUtilisation { utilisation_percent: utilisation.map(percent_text), threshold_percent: percent_text(threshold) });
        }
        if let Some((date, payment_id)) = &profile.last_bounce
            && within(date, r.bounce_days)?
        {
            out.push(WarningSignal::RecentBounce { date: date.clone(), payment_id: payment_id.clone() });
        }
        if let Some(since) = &profile.first_overdue_on
            && invoice_overdue
            && within(since, r.first_overdue_days)?
        {
            out.push(WarningSignal::FirstTimeOverdue { since: since.clone(), overdue: c.format(overdue_now) });
        }
        if let Some(p) = &profile.promise
            && stored_date(&p.pay_by)? < as_of
            && p.paid < p.amount
        {
            out.push(WarningSignal::PromiseMissed { note_seq: p.note_seq, pay_by: p.pay_by.clone(), amount: c.format(p.amount), paid: c.format(p.paid) });
        }
        Ok(out)
    }

    /// `reports.account-warnings`.
    pub fn account_warnings(&self, account_id: &str, as_of: &str, rules: &WarningRules) -> Result<AccountWarnings, Error> {
        validate::id(account_id, Field::AccountId)?;
        let as_of = parse_date(as_of, Field::AsOf)?;
        let threshold = Self::warning_rules(rules)?;
        let mut account = self.account(account_id)?;
        let signals = self.signals(&mut account, as_of, rules, threshold)?;
        Ok(AccountWarnings { account_id: account.id, customer_id: account.customer_id, currency: account.currency, signals })
    }

    /// `reports.warnings`: a page of the accounts that show a signal.
    pub fn warnings(&self, as_of: &str, rules: &WarningRules, after: Option<&str>, limit: u32) -> Result<WarningPage, Error> {
        let as_of = parse_date(as_of, Field::AsOf)?;
        let threshold = Self::warning_rules(rules)?;
        if let Some(a) = after {
            validate::id(a, Field::After)?;
        }
        validate::page_limit(limit)?;
        let mut walk = AccountWalk::new(after);
        let mut rows = Vec::new();
        while rows.len() < limit as usize {
            let Some(mut account) = walk.next(&self.kv)? else { break };
            if account.status == Status::Closed {
                continue;
            }
            let signals = self.signals(&mut account, as_of, rules, threshold)?;
            if !signals.is_empty() {
                rows.push(AccountWarnings { account_id: account.id, customer_id: account.customer_id, currency: account.currency, signals });
            }
        }
        Ok(WarningPage { rows, next_after: walk.next_after(&self.kv), examined: walk.examined })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_edges_put_day_thirty_in_one_to_thirty() {
        let edges = AGING_EDGES_DEFAULT;
        let got: Vec<usize> = [-5, 0, 1, 30, 31, 60, 61, 90, 91, 400].iter().map(|&d| bucket_of(d, &edges)).collect();
        assert_eq!(got, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
        assert_eq!(bucket_labels(&edges), ["current", "1-30", "31-60", "61-90", "over 90"]);
        assert_eq!(bucket_labels(&[7, 14]), ["current", "1-7", "8-14", "over 14"]);
        assert!(aging_edges(&[30, 30]).is_err());
        assert!(aging_edges(&[0]).is_err());
        assert!(aging_edges(&[1, 2, 3, 4, 5, 6, 7]).is_err());
        assert_eq!(aging_edges(&[]).unwrap(), [30, 60, 90]);
    }

    #[test]
    fn index_positions_sort_largest_first() {
        let gbp = Currency::from_code("GBP").unwrap();
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let mut keys: Vec<String> = ["-5.00", "0", "1000.00", "999.99", "1000000.00"].iter().map(|a| descending(d(a), gbp)).collect();
        keys.sort();
        let back: Vec<Decimal> = keys.iter().map(|k| Decimal::from_i128_with_scale(10i128.pow(25) - k.parse::<i128>().unwrap(), 2)).collect();
        assert_eq!(back, [d("1000000.00"), d("1000.00"), d("999.99"), d("0"), d("-5.00")]);
        assert_eq!(utilisation_pct(d("50"), d("100")), 50);
        assert_eq!(utilisation_pct(d("99.99"), d("100")), 99);
        assert_eq!(utilisation_pct(d("1"), d("0")), UTILISATION_UNBOUNDED);
        assert_eq!(utilisation_pct(d("0"), d("0")), 0);
    }
}

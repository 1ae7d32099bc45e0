//! Read-only questions. Nothing here writes.

#[allow(unused_imports)]
use crate::prelude::*;

use super::billing::payment_view;
use super::*;
use crate::validate;

impl<K: Kv> Engine<K> {
    /// Up to `limit` allocations of an item after the `after`-th, oldest
    /// first, with their positions.
    fn allocations_after(&self, item: &str, after: Option<u64>, limit: u32) -> Result<Vec<(u64, Allocation)>, Error> {
        let start = after.map(|n| alloc_key(item, n));
        let prefix = alloc_prefix(item);
        self.kv
            .scan(&prefix, start.as_deref(), limit)
            .into_iter()
            .map(|(key, bytes)| {
                let n = key[prefix.len()..].parse::<u64>().map_err(|_| Error::StoreCorrupt(format!("{key}: not a position")))?;
                Ok((n, decode(&key, &bytes)?))
            })
            .collect()
    }

    fn allocation_view(n: u64, a: &Allocation, c: Currency) -> AllocationView {
        AllocationView {
            seq: n,
            entry_seq: a.entry_seq,
            date: a.date.clone(),
            source: a.source,
            document_id: a.document_id.clone(),
            amount: c.format(a.amount),
        }
    }

    /// An item as answered, with its first page of allocations.
    pub(super) fn invoice_view_full(&self, inv: &Invoice, c: Currency, today: NaiveDate) -> Result<InvoiceView, Error> {
        let allocations = if inv.allocation_count == 0 {
            Vec::new()
        } else {
            self.allocations_after(&inv.id, None, crate::limits::PAGE_LIMIT_MAX)?
        };
        let lines: Vec<Line> = self.load(&lines_key(&inv.id))?.ok_or_else(|| Error::StoreCorrupt(format!("item {} has no lines", inv.id)))?;
        let mut view = self.invoice_view(inv, &lines, c, today)?;
        view.allocations = allocations.iter().map(|(n, a)| Self::allocation_view(*n, a, c)).collect();
        Ok(view)
    }

    /// An item's portions as of `day`: each one's amount, what of it is
    /// paid and open, and what a payment that day would save (the fixed
    /// discount in its window, else the dynamic one; `discounts.rs`).
    pub(super) fn portion_views(&self, inv: &Invoice, c: Currency, day: NaiveDate) -> Result<Vec<PortionView>, Error> {
        let status = rules::portion_status(&inv.schedule, inv.total, inv.outstanding);
        let mut out = Vec::with_capacity(status.len());
        for (p, (paid, open)) in inv.schedule.iter().zip(status) {
            let saving = if open.is_zero() { Decimal::ZERO } else { self.early_saving(inv, open, day, c)?.0 };
            out.push(PortionView {
                due_date: p.due.clone(),
                amount: c.format(p.amount),
                paid: c.format(paid),
                open: c.format(open),
                discount_available: c.format(saving),
            });
        }
        Ok(out)
    }

    /// An item as answered, without its allocations (a new invoice has none).
    pub(super) fn invoice_view(&self, inv: &Invoice, lines: &[Line], c: Currency, today: NaiveDate) -> Result<InvoiceView, Error> {
        let overdue = rules::overdue_at(&inv.schedule, inv.total, inv.outstanding, today);
        let days = rules::days_overdue(&inv.schedule, inv.total, inv.outstanding, today).max(0);
        let q = |d: Decimal| d.normalize().to_string();
        let schedule = self.portion_views(inv, c, today)?;
        Ok(InvoiceView {
            invoice_id: inv.id.clone(),
            account_id: inv.account_id.clone(),
            kind: inv.kind,
            order_id: inv.order_id.clone(),
            related_invoice_id: inv.related_invoice_id.clone(),
            invoice_date: inv.invoice_date.clone(),
            delivery_date: inv.delivery_date.clone(),
            lines: lines
                .iter()
                .map(|l| LineView {
                    description: l.description.clone(),
                    quantity: q(l.quantity),
                    unit_price: q(l.unit_price),
                    net: c.format(l.net),
                    tax: c.format(l.tax),
                    total: c.format(l.total),
                    tax_rate: l.tax_rate.map(q),
                })
                .collect(),
            net_total: c.format(inv.net_total),
            tax_total: c.format(inv.tax_total),
            total: c.format(inv.total),
            tax_parts: item_tax_parts(inv)
                .iter()
                .map(|p| TaxPartView { rate: p.rate.map(q), net: c.format(p.net), tax: c.format(p.tax) })
                .collect(),
            terms: terms_view(&inv.terms, c),
            due_date: inv.due_date.clone(),
            discount_until: inv.discount_until.clone(),
            discount_amount: c.format(inv.discount_amount),
            schedule,
            outstanding: c.format(inv.outstanding),
            overdue: c.format(overdue),
            days_overdue: u32::try_from(days).unwrap_or(u32::MAX),
            settled_on: inv.settled_on.clone(),
            allocations: Vec::new(),
            allocation_count: inv.allocation_count,
            late_fees_charged: c.format(inv.late_fees_charged),
            interest_charged: c.format(inv.interest_charged),
        })
    }

    /// `queries.get-account`.
    pub fn account_summary(&self, account_id: &str, now_ms: i64) -> Result<AccountSummary, Error> {
        validate::id(account_id, Field::AccountId)?;
        validate::timestamp(now_ms, Field::NowMs)?;
        self.summary(&mut self.account(account_id)?, now_ms)
    }

    /// `queries.list-accounts`.
    pub fn list_accounts(&self, after: Option<&str>, limit: u32) -> Result<Vec<String>, Error> {
        if let Some(a) = after {
            validate::id(a, Field::After)?;
        }
        validate::page_limit(limit)?;
        let start = after.map(account_key);
        Ok(self.kv.scan("acct/", start.as_deref(), limit).into_iter().map(|(k, _)| k["acct/".len()..].to_owned()).collect())
    }

    /// `queries.ledger`.
    pub fn ledger(&self, account_id: &str, after_seq: Option<u64>, limit: u32) -> Result<LedgerPage, Error> {
        validate::id(account_id, Field::AccountId)?;
        validate::page_limit(limit)?;
        let account = self.account(account_id)?;
        let c = currency_of(&account)?;
        let start = after_seq.map(|s| entry_key(account_id, s));
        let mut entries = Vec::new();
        for (key, bytes) in self.kv.scan(&entry_prefix(account_id), start.as_deref(), limit) {
            let e: Entry = decode(&key, &bytes)?;
            entries.push(EntryView {
                seq: e.seq,
                at_ms: e.at_ms,
                kind: e.kind,
                amount: c.format(e.amount),
                debt_delta: c.format(e.debt_delta),
                stored_delta: c.format(e.stored_delta),
                held_delta: c.format(e.held_delta),
                debt_after: c.format(e.debt_after),
                stored_after: c.format(e.stored_after),
                hold_id: e.hold_id,
                order_id: e.order_id,
                document_id: e.document_id,
                memo: e.memo,
                idempotency_key: e.idempotency_key,
                invoice_id: e.invoice_id,
                postings: e
                    .postings
                    .iter()
                    .map(|p| PostingView {
                        book: p.book,
                        debit: c.format(p.debit),
                        credit: c.format(p.credit),
                        tax_rate: p.tax_rate.map(|r| r.normalize().to_string()),
                    })
                    .collect(),
            });
        }
        let next_after_seq = entries.last().map(|e| e.seq).filter(|&s| s < account.entry_count);
        Ok(LedgerPage { entries, next_after_seq })
    }

    /// `queries.open-holds`.
    pub fn open_holds(&self, account_id: &str, now_ms: i64) -> Result<Vec<HoldView>, Error> {
        validate::id(account_id, Field::AccountId)?;
        validate::timestamp(now_ms, Field::NowMs)?;
        let account = self.account(account_id)?;
        let c = currency_of(&account)?;
        let mut holds = Vec::new();
        for r in self.open_hold_refs(&account)?.iter().filter(|h| h.expires_at_ms > now_ms) {
            holds.push(self.hold(&r.hold_id)?);
        }
        // Oldest first: in the order they were placed (ids number them).
        holds.sort_by(|a, b| (a.placed_at_ms, a.id.len(), &a.id).cmp(&(b.placed_at_ms, b.id.len(), &b.id)));
        Ok(holds.iter().map(|h| Self::hold_view(h, c, now_ms)).collect())
    }

    /// `queries.get-hold`.
    pub fn get_hold(&self, hold_id: &str, now_ms: i64) -> Result<HoldView, Error> {
        validate::id(hold_id, Field::HoldId)?;
        validate::timestamp(now_ms, Field::NowMs)?;
        let hold = self.hold(hold_id)?;
        let account = self.account(&hold.account_id)?;
        Ok(Self::hold_view(&hold, currency_of(&account)?, now_ms))
    }

    /// `queries.credit-limit-history`.
    pub fn credit_limit_history(&self, account_id: &str, after_seq: Option<u64>, limit: u32) -> Result<LimitPage, Error> {
        validate::id(account_id, Field::AccountId)?;
        validate::page_limit(limit)?;
        let mut account = self.account(account_id)?;
        let c = currency_of(&account)?;
        let start = after_seq.map(|s| limit_key(account_id, s));
        let mut changes = Vec::new();
        for (key, bytes) in self.kv.scan(&limit_prefix(account_id), start.as_deref(), limit) {
            let l: LimitChange = decode(&key, &bytes)?;
            changes.push(LimitChangeView {
                seq: l.seq,
                at_ms: l.at_ms,
                changed_by: l.changed_by,
                reason: l.reason,
                old_limit: c.format(l.old_limit),
                new_limit: c.format(l.new_limit),
            });
        }
        let count = self.cfg(&mut account)?.limit_change_count;
        let next_after_seq = changes.last().map(|l| l.seq).filter(|&s| s < count);
        Ok(LimitPage { changes, next_after_seq })
    }

    /// `queries.open-invoices`: oldest due first, a page at a time.
    pub fn open_invoices(&self, account_id: &str, today: &str, after: Option<&str>, limit: u32) -> Result<InvoicePage, Error> {
        validate::id(account_id, Field::AccountId)?;
        let today = parse_date(today, Field::Today)?;
        if let Some(a) = after {
            validate::cursor(a, Field::After)?;
        }
        validate::page_limit(limit)?;
        let account = self.account(account_id)?;
        let c = currency_of(&account)?;
        let mut items = OpenItems::new(account_id, after);
        let mut invoices = Vec::new();
        let mut last = None;
        while invoices.len() < limit as usize {
            let Some((position, item)) = items.next(&self.kv)? else { break };
            invoices.push(self.invoice_view_full(&self.invoice(&item.id)?, c, today)?);
            last = Some(position);
        }
        // Another page only when something follows this one.
        let next_after = if items.next(&self.kv)?.is_some() { last } else { None };
        Ok(InvoicePage { invoices, next_after })
    }

    /// `queries.get-invoice`.
    pub fn get_invoice(&self, invoice_id: &str, today: &str) -> Result<InvoiceView, Error> {
        validate::id(invoice_id, Field::InvoiceId)?;
        let today = parse_date(today, Field::Today)?;
        let invoice = self.invoice(invoice_id)?;
        let account = self.account(&invoice.account_id)?;
        self.invoice_view_full(&invoice, currency_of(&account)?, today)
    }

    /// `queries.invoice-allocations`.
    pub fn invoice_allocations(&self, invoice_id: &str, after_seq: Option<u64>, limit: u32) -> Result<AllocationPage, Error> {
        validate::id(invoice_id, Field::InvoiceId)?;
        validate::page_limit(limit)?;
        let invoice = self.invoice(invoice_id)?;
        let c = currency_of(&self.account(&invoice.account_id)?)?;
        let rows = self.allocations_after(invoice_id, after_seq, limit)?;
        let next_after_seq = rows.last().map(|(n, _)| *n).filter(|&n| n < invoice.allocation_count);
        Ok(AllocationPage { allocations: rows.iter().map(|(n, a)| Self::allocation_view(*n, a, c)).collect(), next_after_seq })
    }

    /// `queries.payments`.
    pub fn payments(&self, account_id: &str, after: Option<u64>, limit: u32) -> Result<Vec<PaymentView>, Error> {
        validate::id(account_id, Field::AccountId)?;
        validate::page_limit(limit)?;
        let account = self.account(account_id)?;
        let c = currency_of(&account)?;
        let start = after.map(|s| account_payment_key(account_id, s));
        let mut out = Vec::new();
        for (key, bytes) in self.kv.scan(&account_payment_prefix(account_id), start.as_deref(), limit) {
            let id: String = decode(&key, &bytes)?;
            let p: Payment = self.load(&payment_key(&id))?.ok_or_else(|| Error::StoreCorrupt(format!("{key}: no payment {id}")))?;
            out.push(payment_view(&p, c));
        }
        Ok(out)
    }

    /// `queries.reminders`.
    pub fn reminders(&self, account_id: &str, after_seq: Option<u64>, limit: u32) -> Result<Vec<Reminder>, Error> {
        validate::id(account_id, Field::AccountId)?;
        validate::page_limit(limit)?;
        self.account(account_id)?;
        let start = after_seq.map(|s| reminder_key(account_id, s));
        self.kv
            .scan(&reminder_prefix(account_id), start.as_deref(), limit)
            .into_iter()
            .map(|(key, bytes)| decode(&key, &bytes))
            .collect()
    }

    /// `queries.suggest-credit-limit`.
    pub fn suggest_credit_limit(&self, account_id: &str, as_of: &str) -> Result<Suggestion, Error> {
        validate::id(account_id, Field::AccountId)?;
        let as_of_day = parse_date(as_of, Field::AsOf)?;
        let mut account = self.account(account_id)?;
        let c = currency_of(&account)?;
        let window_start = dates::offset_days(as_of_day, -365);
        let in_window = |d: NaiveDate| d > window_start && d <= as_of_day;
        let first = self.cfg(&mut account)?.item_count.saturating_sub(REVIEW_INVOICES_MAX);
        let start = (first > 0).then(|| account_invoice_key(account_id, first));
        let mut input = rules::ReviewInput {
            current_limit: account.credit_limit,
            settled: 0,
            on_time: 0,
            days_late_total: 0,
            highest_debt: account.highest_debt,
            volume12m: Decimal::ZERO,
        };
        for (key, bytes) in self.kv.scan(&account_invoice_prefix(account_id), start.as_deref(), REVIEW_INVOICES_MAX as u32) {
            let id: String = decode(&key, &bytes)?;
            let inv = self.invoice(&id)?;
            if inv.kind != ItemKind::Invoice {
                continue;
            }
            if in_window(stored_date(&inv.invoice_date)?) {
                input.volume12m = add(input.volume12m, inv.total)?;
            }
            if let Some(settled) = &inv.settled_on {
                let settled = stored_date(settled)?;
                if in_window(settled) {
                    input.settled += 1;
                    let late = dates::days_between(stored_date(&inv.due_date)?, settled);
                    if late <= 0 {
                        input.on_time += 1;
                    } else {
                        input.days_late_total += late as u64;
                    }
                }
            }
        }
        let out = rules::suggest_limit(&input, c);
        let explanation = if input.settled == 0 {
            "No invoice settled in the last 365 days: the current limit stands.".to_owned()
        } else {
            format!(
                "base = max(highest debt {hd}, 2 x 12-month volume {v} / 12) = {base}; {s} invoices settled, \
                 {ot}% on time, {late} days late on average: factor {f}; suggestion = base x factor, \
                 rounded down to a multiple of 100 = {sug}",
                hd = c.format(input.highest_debt),
                v = c.format(input.volume12m),
                base = c.format(out.base),
                s = input.settled,
                ot = out.on_time_percent,
                late = out.average_days_late,
                f = out.factor,
                sug = c.format(out.suggested),
            )
        };
        Ok(Suggestion {
            account_id: account.id.clone(),
            as_of: dates::format(as_of_day),
            current_limit: c.format(account.credit_limit),
            suggested_limit: c.format(out.suggested),
            settled_invoices: input.settled,
            on_time_percent: out.on_time_percent.to_string(),
            average_days_late: out.average_days_late.to_string(),
            highest_debt: c.format(input.highest_debt),
            volume12m: c.format(input.volume12m),
            factor: out.factor.to_string(),
            explanation,
        })
    }
}

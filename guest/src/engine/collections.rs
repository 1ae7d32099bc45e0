//! The daily close: fees, interest, reminders and holds for overdue invoices.

#[allow(unused_imports)]
use crate::prelude::*;

use super::*;
use crate::validate;

/// Days after the grace period before a late fee is charged: none. The
/// test build (`fault-injection`) charges it a day later, a deliberate rule
/// change for `credit-host replay` to find (tests/all/upgrades.rs).
#[cfg(not(feature = "fault-injection"))]
const LATE_FEE_EXTRA_DAYS: i64 = 0;
#[cfg(feature = "fault-injection")]
const LATE_FEE_EXTRA_DAYS: i64 = 1;

impl<K: Kv> Engine<K> {
    /// `billing.day-close`.
    pub fn day_close(&mut self, ctx: &Ctx, account_id: &str, date: &str) -> Result<DayCloseReport, Error> {
        validate::ctx(ctx)?;
        validate::id(account_id, Field::AccountId)?;
        let day = parse_date(date, Field::Date)?;
        if day > dates::day_of(ctx.now_ms) {
            return Err(Error::DateInFuture(Field::Date));
        }

        self.idempotent(
            ctx,
            "day-close",
            &(account_id, date),
            |eng| {
                let mut account = eng.account(account_id)?;
                if account.status == Status::Closed {
                    return Err(Error::AccountClosed);
                }
                // Once per account and day, whatever the key: a finished
                // day answers its last part again.
                let marker = close_key(account_id, date);
                let state = eng.load::<DayCloseState>(&marker)?;
                if let Some(s) = &state
                    && s.report.complete
                {
                    return Ok(DayCloseReport { already_closed: true, ..s.report.clone() });
                }
                if state.is_none() {
                    if let Some(pending) = &eng.cfg(&mut account)?.close_pending {
                        return Err(Error::DayCloseUnfinished(pending.clone()));
                    }
                    // The day of the last close is the overdue figure's day.
                    if let Some(last) = &account.overdue_close_on
                        && stored_date(last)? > day
                    {
                        return Err(Error::DayCloseOutOfOrder);
                    }
                }
                let state = eng.close_account_day(&mut account, ctx, day, state)?;
                // The settings record is written only when this changes (a
                // day of more than one part), not on every close.
                let pending = (!state.report.complete).then(|| dates::format(day));
                if eng.cfg(&mut account)?.close_pending != pending {
                    eng.cfg_mut(&mut account)?.close_pending = pending;
                }
                eng.save(&marker, &state)?;
                eng.save_account(&mut account)?;
                Ok(state.report)
            },
        )
    }

    /// One part of a day's close: the first part (no `state`) releases
    /// expired holds and decides the hold for overdue invoices before any
    /// item, so an account too large for one call is still held at once;
    /// every part then works through the invoices that can owe something
    /// on `day`, in due order, from where the last part stopped.
    fn close_account_day(
        &mut self,
        account: &mut Account,
        ctx: &Ctx,
        day: NaiveDate,
        state: Option<DayCloseState>,
    ) -> Result<DayCloseState, Error> {
        let c = currency_of(account)?;
        let first = state.is_none();
        let mut report = DayCloseReport {
            account_id: account.id.clone(),
            date: dates::format(day),
            part: state.as_ref().map_or(1, |s| s.report.part + 1),
            complete: false,
            statement: None,
            late_fees: Vec::new(),
            interest: Vec::new(),
            reminders: Vec::new(),
            put_on_hold: false,
            released_from_hold: false,
            holds_expired: 0,
            already_closed: false,
        };
        let mut after = state.and_then(|s| s.after);
        let policy = self.cfg(account)?.policy.clone();
        if first {
            report.holds_expired = self.release_expired(account, ctx)?;
            // The debtor list's overdue figure, as of this close; every
            // later change to the items keeps it up to date.
            account.overdue_close = self.overdue_total(account, day)?;
            account.overdue_close_on = Some(dates::format(day));
            if self.invoice_overdue_beyond(account, day, 0)? && self.profile(account)?.first_overdue_on.is_none() {
                self.profile_mut(account)?.first_overdue_on = Some(dates::format(day));
            }
            if let Some(limit) = policy.hold_after_days_overdue
                && account.status == Status::Active
                && self.invoice_overdue_beyond(account, day, limit)?
            {
                account.status = Status::OnHold;
                account.held_for_overdue = true;
                self.company_overdue(account, true)?;
                let memo = format!("Active -> OnHold: an invoice is more than {limit} days overdue");
                self.append(account, ctx, NewEntry::new(EntryKind::StatusChanged, Decimal::ZERO, memo))?;
                report.put_on_hold = true;
            }
            if !report.put_on_hold {
                report.released_from_hold = self.release_overdue_hold(account, ctx, day)?;
            }
        }

        // Day-close works through the account's invoice list (fees and
        // interest bear nothing more), and only through the invoices due on
        // or before `last_due`, the only ones that can be charged or
        // reminded today: fees and interest need more than `grace-days`
        // overdue, a reminder step its offset from the due date reached.
        let charges = policy.late_fee.is_some() || policy.interest.is_some();
        let mut last_due: Option<NaiveDate> =
            charges.then(|| dates::offset_days(day, -(i32::try_from(policy.grace_days).unwrap_or(i32::MAX)) - 1));
        if let Some(earliest) = policy.reminders.first() {
            let by_reminder = dates::offset_days(day, -earliest.offset_days);
            last_due = Some(last_due.map_or(by_reminder, |d| d.max(by_reminder)));
        }
        let Some(last_due) = last_due.map(dates::format) else {
            report.complete = true;
            report.statement = self.monthly_statement(account, day)?;
            return Ok(DayCloseState { after: None, report });
        };

        let prefix = open_item_prefix(&account.id, ladder(ItemKind::Invoice));
        let mut invoices = 0usize;
        let mut walk = Pager::new(prefix.clone(), after.as_ref().map(|a| key(&[&prefix, a], None)));
        loop {
            let Some((k, bytes)) = walk.next(&self.kv) else {
                report.complete = true;
                break;
            };
            let position = &k[prefix.len()..];
            if position.get(..10).is_none_or(|due| due > last_due.as_str()) {
                report.complete = true;
                break;
            }
            if invoices >= CLOSE_INVOICES_PER_CALL_MAX {
                break;
            }
            after = Some(position.to_owned());
            let item: OpenItemRef = decode(&k, &bytes)?;
            invoices += 1;
            self.close_invoice(account, ctx, day, &policy, c, &item.id, &mut report)?;
        }
        // The month's statement once the day's charges are all made.
        if report.complete {
            report.statement = self.monthly_statement(account, day)?;
        }
        Ok(DayCloseState { after, report })
    }

    /// Day-close's duties for one open invoice: interest accrued to `day`;
    /// once more than `grace-days` overdue, the late fee (once) and the
    /// interest not yet charged; the latest reminder step due, if not sent.
    #[allow(clippy::too_many_arguments)]
    fn close_invoice(
        &mut self,
        account: &mut Account,
        ctx: &Ctx,
        day: NaiveDate,
        policy: &Policy,
        c: Currency,
        id: &str,
        report: &mut DayCloseReport,
    ) -> Result<(), Error> {
        let mut invoice = self.invoice(id)?;
        let Some(due) = rules::effective_due(&invoice.schedule, invoice.total, invoice.outstanding) else { return Ok(()) };
        let days = dates::days_between(due, day);
        self.accrue(account, &mut invoice, day)?;
        if days > i64::from(policy.grace_days) {
            if let Some(fee) = policy.late_fee
                && invoice.late_fees_charged.is_zero()
                && days > i64::from(policy.grace_days) + LATE_FEE_EXTRA_DAYS
            {
                let item = self.create_debit_item(account, ItemKind::LateFee, Some(id), day, format!("Late fee on {id}"), fee)?;
                let e = NewEntry::new(EntryKind::LateFeeCharged, fee, format!("late fee on {id}: {}", item.id))
                    .dr(Book::Receivable, fee)
                    .cr(Book::FeeIncome, fee)
                    .invoice(&item.id)
                    .doc(id);
                self.append(account, ctx, e)?;
                invoice.late_fees_charged = fee;
                report.late_fees.push(Charge { invoice_id: id.to_owned(), item_id: item.id, amount: c.format(fee) });
            }
            if policy.interest.is_some() {
                let owed = sub(rules::round_half_away(invoice.interest_accrued, c), invoice.interest_charged)?;
                if owed > Decimal::ZERO {
                    let item_id = self.charge_interest(account, &mut invoice, day, owed)?;
                    let e = NewEntry::new(EntryKind::InterestCharged, owed, format!("interest on {id}: {item_id}"))
                        .dr(Book::Receivable, owed)
                        .cr(Book::InterestIncome, owed)
                        .invoice(&item_id)
                        .doc(id);
                    self.append(account, ctx, e)?;
                    invoice.interest_charged = add(invoice.interest_charged, owed)?;
                    report.interest.push(Charge { invoice_id: id.to_owned(), item_id, amount: c.format(owed) });
                }
            }
        }
        // The latest step that has come due for this due date, if it is
        // later than the last one sent for it.
        let due_text = dates::format(due);
        let reached = policy.reminders.iter().rposition(|s| dates::offset_days(due, s.offset_days) <= day);
        let sent = invoice.reminded.as_ref().filter(|(d, _)| *d == due_text).map(|(_, i)| *i);
        if let Some(step_index) = reached
            && sent.is_none_or(|s| step_index > s)
        {
            let step = policy.reminders[step_index];
            let cfg = self.cfg_mut(account)?;
            cfg.reminder_count += 1;
            let (seq, customer) = (cfg.reminder_count, account.customer_id.clone());
            let reminder = reminder_text(account, &customer, &invoice, step, seq, day, due, c);
            self.save(&reminder_key(&account.id, reminder.seq), &reminder)?;
            invoice.reminded = Some((due_text, step_index));
            report.reminders.push(reminder);
        }
        self.save(&invoice_key(id), &invoice)
    }

    /// Puts `owed` interest on the invoice's open interest item, or opens
    /// one (due on `day`) when it has none open: however often day-close
    /// runs, an invoice has at most one open interest item. Returns its id.
    fn charge_interest(&mut self, account: &mut Account, invoice: &mut Invoice, day: NaiveDate, owed: Decimal) -> Result<String, Error> {
        let description = |from: &str| format!("Interest on {} from {from} to {}", invoice.id, dates::format(day));
        if let Some(id) = &invoice.interest_item {
            let mut item = self.invoice(id)?;
            if item.outstanding > Decimal::ZERO {
                let before = item_ref(&item);
                let from = item.invoice_date.clone();
                item.total = add(item.total, owed)?;
                item.net_total = item.total;
                item.outstanding = add(item.outstanding, owed)?;
                let mut lines: Vec<Line> = self.load(&lines_key(id))?.unwrap_or_default();
                let line = lines.first_mut().ok_or_else(|| Error::StoreCorrupt(format!("interest item {id} has no line")))?;
                line.description = description(&from);
                line.unit_price = item.total;
                line.net = item.total;
                line.total = item.total;
                self.save(&lines_key(id), &lines)?;
                let portion = item.schedule.first_mut().ok_or_else(|| Error::StoreCorrupt(format!("interest item {id} has no portion")))?;
                portion.amount = item.total;
                self.save_item(account, &before, &item)?;
                return Ok(item.id);
            }
        }
        let text = description(&dates::format(day));
        let item = self.create_debit_item(account, ItemKind::Interest, Some(&invoice.id), day, text, owed)?;
        invoice.interest_item = Some(item.id.clone());
        Ok(item.id)
    }
}

#[allow(clippy::too_many_arguments)]
fn reminder_text(
    account: &Account,
    customer: &str,
    invoice: &Invoice,
    step: ReminderStep,
    seq: u64,
    day: NaiveDate,
    due: NaiveDate,
    c: Currency,
) -> Reminder {
    let days = dates::days_between(due, day);
    let when = match days {
        d if d < 0 => format!("due in {} days", -d),
        0 => "due today".to_owned(),
        1 => "1 day overdue".to_owned(),
        d => format!("{d} days overdue"),
    };
    let outstanding = c.format(invoice.outstanding);
    let subject = format!("Reminder (level {}): invoice {}, {} {}, {}", step.level, invoice.id, outstanding, c.code(), when);
    let body = format!(
        "Dear {customer},\n\nInvoice {id} dated {date} has {outstanding} {cur} outstanding, due on {due} ({when}).\n\
         Please pay quoting {id}. If you have paid already, thank you, and please ignore this message.\n",
        customer = customer,
        id = invoice.id,
        date = invoice.invoice_date,
        cur = c.code(),
        due = dates::format(due),
    );
    Reminder {
        seq,
        date: dates::format(day),
        account_id: account.id.clone(),
        customer_id: customer.to_owned(),
        invoice_id: invoice.id.clone(),
        level: step.level,
        offset_days: step.offset_days,
        due_date: dates::format(due),
        outstanding,
        currency: c.code().to_owned(),
        subject,
        body,
    }
}

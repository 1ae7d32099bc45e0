//! The daily close: fees, interest, reminders and holds for overdue invoices.

use super::*;
use crate::validate;

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
                // Once per account and day, whatever the key.
                let marker = close_key(account_id, date);
                if let Some(report) = eng.load::<DayCloseReport>(&marker)? {
                    return Ok(report);
                }
                if let Some(last) = &account.last_close
                    && stored_date(last)? > day
                {
                    return Err(Error::DayCloseOutOfOrder);
                }
                let report = eng.close_account_day(&mut account, ctx, day)?;
                account.last_close = Some(dates::format(day));
                eng.save(&marker, &report)?;
                eng.save_account(&account)?;
                Ok(report)
            },
        )
    }

    fn close_account_day(&mut self, account: &mut Account, ctx: &Ctx, day: NaiveDate) -> Result<DayCloseReport, Error> {
        let c = currency_of(account)?;
        let mut report = DayCloseReport {
            account_id: account.id.clone(),
            date: dates::format(day),
            late_fees: Vec::new(),
            interest: Vec::new(),
            reminders: Vec::new(),
            put_on_hold: false,
            released_from_hold: false,
            holds_expired: self.release_expired(account, ctx)?,
        };
        let mut invoices: Vec<&OpenItemRef> = items(account)?.iter().filter(|i| i.kind == ItemKind::Invoice).collect();
        invoices.sort_by_key(|i| i.seq);
        let ids: Vec<String> = invoices.into_iter().map(|i| i.id.clone()).collect();
        let policy = account.policy.clone();

        for id in ids {
            let mut invoice = self.invoice(&id)?;
            let Some(due) = rules::effective_due(&invoice.schedule, invoice.total, invoice.outstanding) else { continue };
            let days = dates::days_between(due, day);
            self.accrue(account, &mut invoice, day)?;
            if days > i64::from(policy.grace_days) {
                if let Some(fee) = policy.late_fee
                    && invoice.late_fees_charged.is_zero()
                {
                    let item = self.create_debit_item(account, ItemKind::LateFee, Some(&id), day, format!("Late fee on {id}"), fee)?;
                    let e = NewEntry::new(EntryKind::LateFeeCharged, fee, format!("late fee on {id}: {}", item.id))
                        .dr(Book::Receivable, fee)
                        .cr(Book::FeeIncome, fee)
                        .invoice(&item.id)
                        .doc(&id);
                    self.append(account, ctx, e)?;
                    invoice.late_fees_charged = fee;
                    report.late_fees.push(Charge { invoice_id: id.clone(), item_id: item.id, amount: c.format(fee) });
                }
                if policy.interest.is_some() {
                    let owed = sub(rules::round_half_away(invoice.interest_accrued, c), invoice.interest_charged)?;
                    if owed > Decimal::ZERO {
                        let item = self.create_debit_item(
                            account,
                            ItemKind::Interest,
                            Some(&id),
                            day,
                            format!("Interest on {id} to {}", dates::format(day)),
                            owed,
                        )?;
                        let e = NewEntry::new(EntryKind::InterestCharged, owed, format!("interest on {id}: {}", item.id))
                            .dr(Book::Receivable, owed)
                            .cr(Book::InterestIncome, owed)
                            .invoice(&item.id)
                            .doc(&id);
                        self.append(account, ctx, e)?;
                        invoice.interest_charged = add(invoice.interest_charged, owed)?;
                        report.interest.push(Charge { invoice_id: id.clone(), item_id: item.id, amount: c.format(owed) });
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
                account.reminder_count += 1;
                let reminder = reminder_text(account, &invoice, step, account.reminder_count, day, due, c);
                self.save(&reminder_key(&account.id, reminder.seq), &reminder)?;
                invoice.reminded = Some((due_text, step_index));
                report.reminders.push(reminder);
            }
            self.save(&invoice_key(&id), &invoice)?;
        }

        if let Some(limit) = policy.hold_after_days_overdue {
            let late = items(account)?
                .iter()
                .any(|i| i.kind == ItemKind::Invoice && item_days_overdue(i, day) > i64::from(limit));
            if late && account.status == Status::Active {
                account.status = Status::OnHold;
                account.held_for_overdue = true;
                let memo = format!("Active -> OnHold: an invoice is more than {limit} days overdue");
                self.append(account, ctx, NewEntry::new(EntryKind::StatusChanged, Decimal::ZERO, memo))?;
                report.put_on_hold = true;
            }
        }
        if !report.put_on_hold {
            report.released_from_hold = self.release_overdue_hold(account, ctx, day)?;
        }
        Ok(report)
    }
}

fn reminder_text(
    account: &Account,
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
        customer = account.customer_id,
        id = invoice.id,
        date = invoice.invoice_date,
        cur = c.code(),
        due = dates::format(due),
    );
    Reminder {
        seq,
        date: dates::format(day),
        account_id: account.id.clone(),
        customer_id: account.customer_id.clone(),
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

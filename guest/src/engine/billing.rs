//! Money against open items: payments, bounced payments, the stored balance.

#[allow(unused_imports)]
use crate::prelude::*;

use super::*;
use crate::model::Canonical;
use crate::validate;

/// Where money being allocated comes from.
pub(super) enum Source {
    /// A payment: earns discounts and small-difference settlement.
    Payment { small_max: Decimal, treatment: SmallDifferenceTreatment },
    /// A credit note.
    CreditNote,
    /// The stored balance.
    StoredBalance,
}

impl Source {
    fn allocation_source(&self) -> AllocationSource {
        match self {
            Source::Payment { .. } => AllocationSource::Payment,
            Source::CreditNote => AllocationSource::CreditNote,
            Source::StoredBalance => AllocationSource::StoredBalance,
        }
    }
}

/// What money will do to one item.
pub(super) struct PlanItem {
    invoice: Invoice,
    pub(super) cash: Decimal,
    discount: Decimal,
    /// The discount is the dynamic one (`discounts.rs`), not the fixed one.
    dynamic: bool,
    diff: Decimal,
}

/// What money from `source` on `date` must bring to settle an item.
struct Ask {
    /// Its outstanding amount less the discount (payments only).
    want: Decimal,
    /// The fixed discount still in its window, else the dynamic one.
    discount: Decimal,
    dynamic: bool,
    /// The small difference a payment may leave on it.
    small_max: Decimal,
}

/// Checks named allocations' shape: ids, amounts, count, duplicates.
fn allocation_inputs(list: &[AllocationInput], currency: Currency) -> Result<Vec<(String, Decimal)>, Error> {
    if list.len() > ALLOCATIONS_PER_REQUEST_MAX {
        return Err(Error::TooManyAllocations);
    }
    let mut out: Vec<(String, Decimal)> = Vec::with_capacity(list.len());
    for a in list {
        validate::id(&a.invoice_id, Field::InvoiceId)?;
        let amount = money::parse_amount(&a.amount, currency, Sign::Positive, Field::AllocationAmount)?;
        if out.iter().any(|(id, _)| *id == a.invoice_id) {
            return Err(Error::DuplicateAllocation(a.invoice_id.clone()));
        }
        out.push((a.invoice_id.clone(), amount));
    }
    Ok(out)
}

fn applied_view(a: &AppliedAllocation, c: Currency) -> AppliedView {
    AppliedView {
        invoice_id: a.invoice_id.clone(),
        amount: c.format(a.amount),
        discount: c.format(a.discount),
        small_difference: c.format(a.small_difference),
        carried_to: a.carried_to.clone(),
        outstanding_after: c.format(a.outstanding_after),
    }
}

pub(super) fn payment_view(p: &Payment, c: Currency) -> PaymentView {
    PaymentView {
        payment_id: p.id.clone(),
        account_id: p.account_id.clone(),
        received_on: p.received_on.clone(),
        amount: c.format(p.amount),
        method: p.method.clone(),
        reference: p.reference.clone(),
        allocations: p.allocations.iter().map(|a| applied_view(a, c)).collect(),
        added_to_stored_balance: c.format(p.to_stored),
        reversed: p.reversed,
    }
}

impl<K: Kv> Engine<K> {
    /// What money from `source` on `date` must bring to settle `invoice`.
    fn asks(&self, invoice: &Invoice, date: NaiveDate, source: &Source, c: Currency) -> Result<Ask, Error> {
        let o = invoice.outstanding;
        let (small_max, (discount, dynamic)) = match source {
            Source::Payment { small_max, .. } => (*small_max, self.early_saving(invoice, o, date, c)?),
            _ => (Decimal::ZERO, (Decimal::ZERO, false)),
        };
        Ok(Ask { want: o - discount, discount, dynamic, small_max })
    }

    /// Decides what `money` does to the account's open items on `date`:
    /// the items named in `explicit` with their amounts, or else the items
    /// in `preferred` and then the rest, oldest due first (the open-item
    /// index is in that order, so only the items the money reaches are
    /// read). At most `ITEMS_PER_CALL_MAX` items. Reads only.
    pub(super) fn plan_allocation(
        &self,
        account: &Account,
        date: NaiveDate,
        money: Decimal,
        source: &Source,
        explicit: &[(String, Decimal)],
        preferred: &[String],
    ) -> Result<Vec<PlanItem>, Error> {
        let mut plan = Vec::new();
        let mut left = money;
        if !explicit.is_empty() {
            let mut targets = Vec::with_capacity(explicit.len());
            let mut total = Decimal::ZERO;
            for (id, amount) in explicit {
                let invoice = self.invoice(id)?;
                if invoice.account_id != account.id {
                    return Err(Error::InvoiceBelongsToAnotherAccount(id.clone()));
                }
                if *amount > invoice.outstanding {
                    return Err(Error::AllocationExceedsOutstanding(id.clone()));
                }
                total = add(total, *amount)?;
                targets.push((invoice, *amount));
            }
            if total > money {
                return Err(Error::AllocationExceedsAmount);
            }
            for (invoice, cap) in targets {
                self.plan_item(&mut plan, &mut left, invoice, cap, date, source, currency_of(account)?)?;
            }
            return Ok(plan);
        }
        let mut first = Vec::new();
        for id in preferred {
            if let Some(invoice) = self.load::<Invoice>(&invoice_key(id))?
                && invoice.account_id == account.id
                && invoice.outstanding > Decimal::ZERO
                && !first.contains(id)
            {
                first.push(id.clone());
                if left <= Decimal::ZERO || plan.len() >= ITEMS_PER_CALL_MAX {
                    return Ok(plan);
                }
                self.plan_item(&mut plan, &mut left, invoice, Decimal::MAX, date, source, currency_of(account)?)?;
            }
        }
        let mut items = OpenItems::new(&account.id, None);
        while left > Decimal::ZERO && plan.len() < ITEMS_PER_CALL_MAX {
            let Some((_, item)) = items.next(&self.kv)? else { break };
            if !first.contains(&item.id) {
                self.plan_item(&mut plan, &mut left, self.invoice(&item.id)?, Decimal::MAX, date, source, currency_of(account)?)?;
            }
        }
        Ok(plan)
    }

    /// Plans `money` across the first `ITEMS_PER_CALL_MAX` open items, oldest
    /// due first, in proportion to what each asks for now (largest
    /// remainder, ties to the older item). Money that covers them all
    /// settles them all, as oldest-due-first would. Reads only.
    pub(super) fn plan_pro_rata(&self, account: &Account, date: NaiveDate, money: Decimal, source: &Source) -> Result<Vec<PlanItem>, Error> {
        let mut items = Vec::new();
        let mut open = OpenItems::new(&account.id, None);
        while items.len() < ITEMS_PER_CALL_MAX {
            let Some((_, item)) = open.next(&self.kv)? else { break };
            items.push(self.invoice(&item.id)?);
        }
        let mut wants = Vec::with_capacity(items.len());
        let mut total = Decimal::ZERO;
        for invoice in &items {
            let want = self.asks(invoice, date, source, currency_of(account)?)?.want;
            total = add(total, want)?;
            wants.push(want);
        }
        let caps = if money >= total {
            vec![Decimal::MAX; items.len()]
        } else {
            rules::split_largest_remainder(money, &wants, currency_of(account)?)
        };
        let mut plan = Vec::with_capacity(items.len());
        let mut left = money;
        for (invoice, cap) in items.into_iter().zip(caps) {
            if !cap.is_zero() {
                self.plan_item(&mut plan, &mut left, invoice, cap, date, source, currency_of(account)?)?;
            }
        }
        Ok(plan)
    }

    /// Plans what at most `cap` of the money `left` does to one item.
    #[allow(clippy::too_many_arguments)]
    fn plan_item(
        &self,
        plan: &mut Vec<PlanItem>,
        left: &mut Decimal,
        invoice: Invoice,
        cap: Decimal,
        date: NaiveDate,
        source: &Source,
        c: Currency,
    ) -> Result<(), Error> {
        if *left <= Decimal::ZERO {
            return Ok(());
        }
        let available = min(*left, cap);
        let Ask { want, discount, dynamic, small_max } = self.asks(&invoice, date, source, c)?;
        let (cash, discount, diff) = if available >= want {
            (want, discount, Decimal::ZERO)
        } else if !small_max.is_zero() && want - available <= small_max {
            (available, discount, want - available)
        } else {
            (available, Decimal::ZERO, Decimal::ZERO)
        };
        *left -= cash;
        plan.push(PlanItem { invoice, cash, discount, dynamic, diff });
        Ok(())
    }

    /// Carries out a plan: updates the items, records each allocation, and
    /// appends the entries for discounts and small differences. The entry
    /// for the money itself (`money_seq`) was appended by the caller.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn apply_plan(
        &mut self,
        account: &mut Account,
        ctx: &Ctx,
        date: NaiveDate,
        source: &Source,
        document_id: &str,
        money_seq: u64,
        plan: Vec<PlanItem>,
    ) -> Result<Vec<AppliedAllocation>, Error> {
        let day = dates::format(date);
        let mut applied = Vec::with_capacity(plan.len());
        for PlanItem { mut invoice, cash, discount, dynamic, diff } in plan {
            let before = item_ref(&invoice);
            self.accrue(account, &mut invoice, date)?;
            invoice.outstanding = sub(invoice.outstanding, add(add(cash, discount)?, diff)?)?;
            if invoice.outstanding.is_zero() {
                invoice.settled_on = Some(day.clone());
                if invoice.kind == ItemKind::Invoice {
                    // How long it took, for the paying-slower warning.
                    let days = u32::try_from(dates::days_between(stored_date(&invoice.invoice_date)?, date).max(0)).unwrap_or(u32::MAX);
                    let kept = &mut self.profile_mut(account)?.days_to_pay;
                    kept.push(days);
                    if kept.len() > SETTLEMENTS_KEPT {
                        kept.remove(0);
                    }
                }
            }
            if !cash.is_zero() {
                let a = Allocation {
                    entry_seq: money_seq,
                    date: day.clone(),
                    source: source.allocation_source(),
                    document_id: Some(document_id.to_owned()),
                    amount: cash,
                };
                self.add_allocation(&mut invoice, &a)?;
            }
            if !discount.is_zero() {
                // The fixed discount marks the invoice (one per invoice) and
                // splits across its tax rates; the dynamic one goes whole
                // to its own book.
                let (e, source) = if dynamic {
                    let early = (stored_date(&invoice.due_date)? - date).num_days();
                    let memo = format!("dynamic discount on {} with {document_id}, paid {early} days early", invoice.id);
                    (NewEntry::new(EntryKind::DynamicDiscountTaken, discount, memo).dr(Book::DynamicDiscounts, discount), AllocationSource::DynamicDiscount)
                } else {
                    invoice.discount_taken = true;
                    let memo = format!("early-payment discount on {} with {document_id}", invoice.id);
                    let e = NewEntry::new(EntryKind::DiscountTaken, discount, memo).discount(&invoice, discount, false, currency_of(account)?);
                    (e, AllocationSource::Discount)
                };
                let seq = self.append(account, ctx, e.cr(Book::Receivable, discount).invoice(&invoice.id).doc(document_id))?;
                let a = Allocation { entry_seq: seq, date: day.clone(), source, document_id: None, amount: discount };
                self.add_allocation(&mut invoice, &a)?;
            }
            let mut carried_to = None;
            if !diff.is_zero() {
                let treatment = match source {
                    Source::Payment { treatment, .. } => *treatment,
                    _ => SmallDifferenceTreatment::WriteOff,
                };
                let (seq, source, doc) = match treatment {
                    SmallDifferenceTreatment::WriteOff => {
                        let memo = format!("small difference on {} written off", invoice.id);
                        let e = NewEntry::new(EntryKind::SmallDifferenceWrittenOff, diff, memo)
                            .dr(Book::SmallDifferences, diff)
                            .cr(Book::Receivable, diff)
                            .invoice(&invoice.id)
                            .doc(document_id);
                        (self.append(account, ctx, e)?, AllocationSource::WriteOff, None)
                    }
                    SmallDifferenceTreatment::CarryOnBalance => {
                        let item = self.create_debit_item(
                            account,
                            ItemKind::Adjustment,
                            Some(&invoice.id),
                            date,
                            format!("Small difference carried from {}", invoice.id),
                            diff,
                        )?;
                        let memo = format!("small difference on {} carried to {}", invoice.id, item.id);
                        let e = NewEntry::new(EntryKind::SmallDifferenceCarried, diff, memo)
                            .dr(Book::Receivable, diff)
                            .cr(Book::Receivable, diff)
                            .invoice(&invoice.id)
                            .doc(&item.id);
                        carried_to = Some(item.id.clone());
                        (self.append(account, ctx, e)?, AllocationSource::Carried, Some(item.id))
                    }
                };
                let a = Allocation { entry_seq: seq, date: day.clone(), source, document_id: doc, amount: diff };
                self.add_allocation(&mut invoice, &a)?;
            }
            self.save_item(account, &before, &invoice)?;
            applied.push(AppliedAllocation {
                invoice_id: invoice.id.clone(),
                amount: cash,
                discount,
                small_difference: diff,
                carried_to,
                outstanding_after: invoice.outstanding,
            });
        }
        Ok(applied)
    }

    /// `billing.record-payment`.
    pub fn record_payment(&mut self, ctx: &Ctx, req: &RecordPayment) -> Result<PaymentReceipt, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.account_id, Field::AccountId)?;
        validate::text(&req.method, Field::Method)?;
        validate::text(&req.reference, Field::Reference)?;
        let (currency, amount) = money_input(&req.amount, Sign::Positive, Field::Amount)?;
        let received_on = parse_date(&req.received_on, Field::ReceivedOn)?;
        let today = dates::day_of(ctx.now_ms);
        if received_on > today {
            return Err(Error::DateInFuture(Field::ReceivedOn));
        }
        let explicit = allocation_inputs(&req.allocations, currency)?;
        if req.spread.is_some() && !explicit.is_empty() {
            return Err(Error::AllocationSpreadConflict);
        }

        self.idempotent(ctx, "record-payment", &req.canonical(), |eng| eng.pay(ctx, req, currency, amount, received_on, &explicit))
    }

    /// Records a validated payment: `record-payment` without its
    /// idempotency record (also how a bank line is recorded).
    pub(super) fn pay(
        &mut self,
        ctx: &Ctx,
        req: &RecordPayment,
        currency: Currency,
        amount: Decimal,
        received_on: NaiveDate,
        explicit: &[(String, Decimal)],
    ) -> Result<PaymentReceipt, Error> {
        let today = dates::day_of(ctx.now_ms);
        let mut account = self.account_for_money(&req.account_id, currency)?;
        self.release_expired(&mut account, ctx)?;
        let policy = &self.cfg(&mut account)?.policy;
        let source = Source::Payment { small_max: policy.small_difference_max, treatment: policy.small_difference_treatment };
        let plan = match req.spread {
            Some(Spread::ProRata) => self.plan_pro_rata(&account, received_on, amount, &source)?,
            Some(Spread::OldestDueFirst) | None => self.plan_allocation(&account, received_on, amount, &source, explicit, &[])?,
        };
        let to_debt: Decimal = plan.iter().map(|p| p.cash).sum();
        let to_stored = sub(amount, to_debt)?;
        let payment_id = next_document_id(&mut account, Series::Payment)?;
        let memo = format!("{} payment {} ref {}", req.method, currency.format(amount), req.reference);
        let e = NewEntry::new(EntryKind::PaymentRecorded, amount, memo)
            .dr(Book::Cash, amount)
            .cr(Book::Receivable, to_debt)
            .cr(Book::CustomerCredit, to_stored)
            .doc(&payment_id);
        let seq = self.append(&mut account, ctx, e)?;
        let allocations = self.apply_plan(&mut account, ctx, received_on, &source, &payment_id, seq, plan)?;
        // Money received on or after a promise counts toward it.
        if let Some(p) = self.profile(&mut account)?.promise.clone()
            && stored_date(&p.made_on)? <= received_on
            && p.paid < p.amount
        {
            let paid = add(p.paid, amount)?;
            if let Some(promise) = self.profile_mut(&mut account)?.promise.as_mut() {
                promise.paid = paid;
            }
        }
        let payment = Payment {
            id: payment_id.clone(),
            account_id: account.id.clone(),
            received_on: dates::format(received_on),
            recorded_at_ms: ctx.now_ms,
            amount,
            method: req.method.clone(),
            reference: req.reference.clone(),
            allocations,
            to_stored,
            reversed: false,
        };
        self.save(&payment_key(&payment_id), &payment)?;
        let n = {
            let cfg = self.cfg_mut(&mut account)?;
            cfg.payment_count += 1;
            cfg.payment_count
        };
        self.save(&account_payment_key(&account.id, n), &payment_id)?;
        let released_from_hold = self.release_overdue_hold(&mut account, ctx, today)?;
        self.save_account(&mut account)?;
        Ok(PaymentReceipt { payment: payment_view(&payment, currency), account: self.summary(&mut account, ctx.now_ms)?, released_from_hold })
    }

    /// `billing.write-off`: what an item still owes becomes bad debt.
    pub fn write_off(&mut self, ctx: &Ctx, req: &WriteOff) -> Result<WriteOffReceipt, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.invoice_id, Field::InvoiceId)?;
        validate::text(&req.reason, Field::Reason)?;

        self.idempotent(
            ctx,
            "write-off",
            req,
            |eng| {
                let mut invoice = eng.invoice(&req.invoice_id)?;
                let mut account = eng.account(&invoice.account_id)?;
                if account.status == Status::Closed {
                    return Err(Error::AccountClosed);
                }
                if invoice.outstanding <= Decimal::ZERO {
                    return Err(Error::InvoiceSettled(req.invoice_id.clone()));
                }
                let c = currency_of(&account)?;
                let today = dates::day_of(ctx.now_ms);
                eng.release_expired(&mut account, ctx)?;
                let before = item_ref(&invoice);
                eng.accrue(&mut account, &mut invoice, today)?;
                let amount = invoice.outstanding;
                let memo = format!("{} written off as bad debt: {}", invoice.id, req.reason);
                let e = NewEntry::new(EntryKind::BadDebtWrittenOff, amount, memo)
                    .dr(Book::BadDebts, amount)
                    .cr(Book::Receivable, amount)
                    .invoice(&invoice.id);
                let seq = eng.append(&mut account, ctx, e)?;
                invoice.outstanding = Decimal::ZERO;
                invoice.settled_on = Some(dates::format(today));
                let profile = eng.profile_mut(&mut account)?;
                profile.written_off = add(profile.written_off, amount)?;
                let a = Allocation { entry_seq: seq, date: dates::format(today), source: AllocationSource::BadDebt, document_id: None, amount };
                eng.add_allocation(&mut invoice, &a)?;
                eng.save_item(&mut account, &before, &invoice)?;
                let released_from_hold = eng.release_overdue_hold(&mut account, ctx, today)?;
                eng.save_account(&mut account)?;
                Ok(WriteOffReceipt {
                    invoice_id: invoice.id.clone(),
                    amount: c.format(amount),
                    account: eng.summary(&mut account, ctx.now_ms)?,
                    released_from_hold,
                })
            },
        )
    }

    /// `billing.cancel-credit-note`: takes back a credit note none of which
    /// is used.
    pub fn cancel_credit_note(&mut self, ctx: &Ctx, req: &CancelCreditNote) -> Result<CreditNoteCancellation, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.credit_note_id, Field::CreditNoteId)?;
        validate::text(&req.reason, Field::Reason)?;

        self.idempotent(
            ctx,
            "cancel-credit-note",
            req,
            |eng| {
                let id = &req.credit_note_id;
                let mut note: CreditNoteRecord =
                    eng.load(&credit_note_key(id))?.ok_or_else(|| Error::CreditNoteNotFound(id.clone()))?;
                if note.cancelled {
                    return Err(Error::CreditNoteAlreadyCancelled(id.clone()));
                }
                let mut account = eng.account(&note.account_id)?;
                if account.status == Status::Closed {
                    return Err(Error::AccountClosed);
                }
                let c = currency_of(&account)?;
                eng.release_expired(&mut account, ctx)?;
                // Unused: nothing settled invoices, and the stored balance
                // that backs no hold and no debt (what a refund could pay
                // out) still holds all of it.
                let figures = eng.raw_figures(&account, ctx.now_ms)?;
                let free = min(account.stored_balance.max(Decimal::ZERO), figures.available_with_tolerance.max(Decimal::ZERO));
                let unused = if note.to_debt.is_zero() { min(note.to_stored, free) } else { Decimal::ZERO };
                if unused < note.amount {
                    return Err(Error::CreditNoteUsed { requested: c.format(note.amount), available: c.format(unused) });
                }
                let memo = format!("credit note {id} on order {} cancelled: {}", note.order_id, req.reason);
                let e = NewEntry::new(EntryKind::CreditNoteCancelled, note.amount, memo)
                    .dr(Book::CustomerCredit, note.amount)
                    .cr(Book::SalesReturns, note.amount)
                    .order(&note.order_id)
                    .doc(id);
                eng.append(&mut account, ctx, e)?;
                let mut order: Order =
                    eng.load(&order_key(&note.order_id))?.ok_or_else(|| Error::StoreCorrupt(format!("credit note {id} without its order")))?;
                order.credited = sub(order.credited, note.amount)?;
                eng.save(&order_key(&note.order_id), &order)?;
                note.cancelled = true;
                eng.save(&credit_note_key(id), &note)?;
                eng.save_account(&mut account)?;
                Ok(CreditNoteCancellation {
                    credit_note_id: id.clone(),
                    order_id: note.order_id.clone(),
                    amount: c.format(note.amount),
                    account: eng.summary(&mut account, ctx.now_ms)?,
                })
            },
        )
    }

    /// `billing.refund-balance`: stored balance paid back to the customer.
    pub fn refund_balance(&mut self, ctx: &Ctx, req: &RefundBalance) -> Result<RefundReceipt, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.account_id, Field::AccountId)?;
        validate::text(&req.method, Field::Method)?;
        validate::text(&req.reference, Field::Reference)?;
        let (currency, amount) = money_input(&req.amount, Sign::Positive, Field::Amount)?;

        self.idempotent(
            ctx,
            "refund-balance",
            &req.canonical(),
            |eng| {
                let mut account = eng.account_for_money(&req.account_id, currency)?;
                eng.release_expired(&mut account, ctx)?;
                // Only what backs no hold and no debt may leave (the part
                // apply-balance may spend); the rest is credit in use.
                let figures = eng.raw_figures(&account, ctx.now_ms)?;
                let free = min(account.stored_balance.max(Decimal::ZERO), figures.available_with_tolerance.max(Decimal::ZERO));
                if amount > free {
                    return Err(Error::RefundExceedsBalance { requested: currency.format(amount), available: currency.format(free) });
                }
                let refund_id = next_document_id(&mut account, Series::Refund)?;
                let memo = format!("{} refund {} ref {}", req.method, currency.format(amount), req.reference);
                let e = NewEntry::new(EntryKind::BalanceRefunded, amount, memo)
                    .dr(Book::CustomerCredit, amount)
                    .cr(Book::Cash, amount)
                    .doc(&refund_id);
                eng.append(&mut account, ctx, e)?;
                eng.save_account(&mut account)?;
                Ok(RefundReceipt {
                    refund_id,
                    amount: currency.format(amount),
                    method: req.method.clone(),
                    reference: req.reference.clone(),
                    account: eng.summary(&mut account, ctx.now_ms)?,
                })
            },
        )
    }

    /// `billing.reverse-payment`.
    pub fn reverse_payment(&mut self, ctx: &Ctx, payment_id: &str, reason: &str) -> Result<ReversalReceipt, Error> {
        validate::ctx(ctx)?;
        validate::id(payment_id, Field::PaymentId)?;
        validate::text(reason, Field::Reason)?;

        self.idempotent(ctx, "reverse-payment", &(payment_id, reason), |eng| eng.reverse(ctx, payment_id, reason))
    }

    /// Reverses a payment: `reverse-payment` after validation, without its
    /// idempotency record (also how a returned bank line reverses one).
    pub(super) fn reverse(&mut self, ctx: &Ctx, payment_id: &str, reason: &str) -> Result<ReversalReceipt, Error> {
        let mut payment: Payment =
            self.load(&payment_key(payment_id))?.ok_or_else(|| Error::PaymentNotFound(payment_id.to_owned()))?;
        if payment.reversed {
            return Err(Error::PaymentAlreadyReversed);
        }
        let mut account = self.account(&payment.account_id)?;
        if account.status == Status::Closed {
            return Err(Error::AccountClosed);
        }
        let c = currency_of(&account)?;
        let today = dates::day_of(ctx.now_ms);
        self.release_expired(&mut account, ctx)?;

        let mut reopen = Vec::new();
        let (mut cash, mut discounts, mut written_off) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        for a in &payment.allocations {
            let back_off = if a.carried_to.is_some() { Decimal::ZERO } else { a.small_difference };
            cash = add(cash, a.amount)?;
            discounts = add(discounts, a.discount)?;
            written_off = add(written_off, back_off)?;
            reopen.push((self.invoice(&a.invoice_id)?, add(add(a.amount, a.discount)?, back_off)?, a.discount));
        }
        let taken = min(payment.to_stored, account.stored_balance.max(Decimal::ZERO));
        let spent = sub(payment.to_stored, taken)?;
        let spent_item = if spent.is_zero() {
            None
        } else {
            Some(self.create_debit_item(
                &mut account,
                ItemKind::Adjustment,
                None,
                today,
                format!("Stored balance from bounced payment {payment_id}, already spent"),
                spent,
            )?)
        };
        let memo = format!("payment {payment_id} reversed: {reason}");
        let mut e = NewEntry::new(EntryKind::PaymentReversed, payment.amount, memo)
            .dr(Book::Receivable, add(add(add(cash, spent)?, discounts)?, written_off)?)
            .dr(Book::CustomerCredit, taken)
            .cr(Book::Cash, payment.amount);
        for (invoice, _, discount) in &reopen {
            // A fixed discount marks the invoice; a dynamic one does not
            // (it settled the invoice, so nothing else was taken on it).
            e = if invoice.discount_taken { e.discount(invoice, *discount, true, c) } else { e.post(Book::DynamicDiscounts, None, *discount, true) };
        }
        let e = e.cr(Book::SmallDifferences, written_off).doc(payment_id);
        let seq = self.append(&mut account, ctx, e)?;

        let mut reopened = Vec::new();
        for (mut invoice, amount, discount) in reopen {
            let before = item_ref(&invoice);
            self.accrue(&mut account, &mut invoice, today)?;
            invoice.outstanding = add(invoice.outstanding, amount)?;
            invoice.settled_on = None;
            if !discount.is_zero() {
                invoice.discount_taken = false;
            }
            let a = Allocation {
                entry_seq: seq,
                date: dates::format(today),
                source: AllocationSource::Reversal,
                document_id: Some(payment_id.to_owned()),
                amount: -amount,
            };
            self.add_allocation(&mut invoice, &a)?;
            self.save_item(&mut account, &before, &invoice)?;
            reopened.push(AppliedView {
                invoice_id: invoice.id.clone(),
                amount: c.format(amount),
                discount: c.format(discount),
                small_difference: c.format(Decimal::ZERO),
                carried_to: None,
                outstanding_after: c.format(invoice.outstanding),
            });
        }
        payment.reversed = true;
        self.save(&payment_key(payment_id), &payment)?;
        self.profile_mut(&mut account)?.last_bounce = Some((dates::format(today), payment_id.to_owned()));
        self.save_account(&mut account)?;
        Ok(ReversalReceipt {
            payment: payment_view(&payment, c),
            reopened,
            taken_from_stored_balance: c.format(taken),
            spent_balance_item: spent_item.map(|i| i.id),
            account: self.summary(&mut account, ctx.now_ms)?,
        })
    }

    /// `billing.allocate-balance`.
    pub fn allocate_balance(&mut self, ctx: &Ctx, req: &AllocateBalance) -> Result<BalanceAllocation, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.account_id, Field::AccountId)?;
        let requested = req.amount.as_ref().map(|m| money_input(m, Sign::Positive, Field::Amount)).transpose()?;
        if req.allocations.len() > ALLOCATIONS_PER_REQUEST_MAX {
            return Err(Error::TooManyAllocations);
        }

        self.idempotent(
            ctx,
            "allocate-balance",
            &req.canonical(),
            |eng| {
                let mut account = eng.account(&req.account_id)?;
                let c = currency_of(&account)?;
                if let Some((currency, _)) = requested {
                    ensure_currency(&account, currency)?;
                }
                if account.status == Status::Closed {
                    return Err(Error::AccountClosed);
                }
                let explicit = allocation_inputs(&req.allocations, c)?;
                eng.release_expired(&mut account, ctx)?;
                let stored = account.stored_balance.max(Decimal::ZERO);
                let money = requested.map_or(stored, |(_, a)| min(a, stored));
                let today = dates::day_of(ctx.now_ms);
                let plan = eng.plan_allocation(&account, today, money, &Source::StoredBalance, &explicit, &[])?;
                let used: Decimal = plan.iter().map(|p| p.cash).sum();
                let mut applied = Vec::new();
                let mut released_from_hold = false;
                if !used.is_zero() {
                    let e = NewEntry::new(EntryKind::BalanceAllocated, used, format!("stored balance {} allocated", c.format(used)))
                        .dr(Book::CustomerCredit, used)
                        .cr(Book::Receivable, used);
                    let seq = eng.append(&mut account, ctx, e)?;
                    applied = eng.apply_plan(&mut account, ctx, today, &Source::StoredBalance, "stored-balance", seq, plan)?;
                    released_from_hold = eng.release_overdue_hold(&mut account, ctx, today)?;
                }
                eng.save_account(&mut account)?;
                Ok(BalanceAllocation {
                    allocations: applied.iter().map(|a| applied_view(a, c)).collect(),
                    used: c.format(used),
                    account: eng.summary(&mut account, ctx.now_ms)?,
                    released_from_hold,
                })
            },
        )
    }
}

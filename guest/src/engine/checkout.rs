//! The storefront's checkout hooks: authorize, capture (which invoices),
//! void, apply the stored balance, record a return.

#[allow(unused_imports)]
use crate::prelude::*;

use super::billing::Source;
use super::*;
use crate::model::Canonical;
use crate::validate;

/// A decimal with at most `scale` decimals, within `0 ..= max` (or
/// `0 < x` when `positive`).
fn parse_scaled(text: &str, field: Field, scale: u32, max: i64, positive: bool) -> Result<Decimal, Error> {
    let v = money::parse_decimal(text, field)?;
    if positive && v <= Decimal::ZERO {
        return Err(Error::AmountMustBePositive(field));
    }
    if v < Decimal::ZERO {
        return Err(Error::AmountMustNotBeNegative(field));
    }
    if v.normalize().scale() > scale {
        return Err(Error::AmountTooPrecise(field));
    }
    if v > Decimal::from(max) {
        return Err(Error::AmountTooLarge(field));
    }
    Ok(v.normalize())
}

/// Checks invoice lines and computes their amounts; an empty list becomes
/// one line for the whole amount.
fn invoice_lines(lines: &[LineInput], currency: Currency, amount: Decimal, order_id: &str) -> Result<Vec<Line>, Error> {
    if lines.len() > LINES_PER_INVOICE_MAX {
        return Err(Error::TooManyLines);
    }
    if lines.is_empty() {
        return Ok(vec![super::one_line(format!("Order {order_id}"), amount)]);
    }
    let mut out = Vec::with_capacity(lines.len());
    let mut total = Decimal::ZERO;
    for l in lines {
        validate::text(&l.description, Field::LineDescription)?;
        let quantity = parse_scaled(&l.quantity, Field::LineQuantity, QUANTITY_SCALE_MAX, QUANTITY_MAX, true)?;
        let unit_price = parse_scaled(&l.unit_price, Field::LineUnitPrice, UNIT_PRICE_SCALE_MAX, AMOUNT_MAX_MAJOR, false)?;
        let tax = money::parse_amount(&l.tax, currency, Sign::NonNegative, Field::LineTax)?;
        let tax_rate = l.tax_rate.as_deref().map(|r| parse_scaled(r, Field::LineTaxRate, TAX_RATE_SCALE_MAX, 100, false)).transpose()?;
        let net = rules::line_net(quantity, unit_price, currency)?;
        let line_total = add(net, tax)?;
        total = add(total, line_total)?;
        out.push(Line { description: l.description.clone(), quantity, unit_price, net, tax, total: line_total, tax_rate });
    }
    if total != amount {
        return Err(Error::InvoiceTotalMismatch);
    }
    Ok(out)
}

impl<K: Kv> Engine<K> {
    /// `checkout.authorize`.
    pub fn authorize(&mut self, ctx: &Ctx, req: &Authorize) -> Result<Authorization, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.account_id, Field::AccountId)?;
        validate::id(&req.order_id, Field::OrderId)?;
        let (currency, amount) = money_input(&req.amount, Sign::Positive, Field::Amount)?;
        let open_ended = req.open_ended == Some(true);
        let ttl_s = req.hold_ttl_s.unwrap_or(HOLD_TTL_S_DEFAULT);
        if ttl_s == 0 || ttl_s > HOLD_TTL_S_MAX || (open_ended && req.hold_ttl_s.is_some()) {
            return Err(Error::HoldTtlOutOfRange);
        }
        let expires_at_ms = if open_ended { OPEN_ENDED_EXPIRY_MS } else { ctx.now_ms + i64::from(ttl_s) * 1000 };

        // The request as compared for idempotency, from the parsed values:
        // the amount is already exact in the currency's minor units, so
        // "10.0" and "10.00" are one request (checkout's hot path: no
        // copies, no text).
        let fingerprint = (req.account_id.as_str(), req.order_id.as_str(), currency.code(), Dec(amount), req.hold_ttl_s, open_ended);
        self.idempotent(
            ctx,
            "authorize",
            &fingerprint,
            |eng| {
                let mut account = eng.account(&req.account_id)?;
                // The policy is read only for open-ended requests: the
                // common path stays as it was.
                if open_ended && !eng.cfg(&mut account)?.policy.open_ended_holds {
                    return Err(Error::OpenEndedHoldNotAllowed);
                }
                let order = eng.order_for(&account, &req.order_id)?;
                let released = eng.release_expired(&mut account, ctx)?;
                // Read again after a release, which may have freed this order.
                let mut order = if released > 0 { eng.order_for(&account, &req.order_id)? } else { order };
                if order.open_hold_id.is_some() {
                    return Err(Error::OrderAlreadyAuthorized(req.order_id.clone()));
                }
                let before = eng.raw_figures(&account, ctx.now_ms)?;
                let acct_currency = currency_of(&account)?;
                let decline = |reason, shortfall: Decimal| -> Result<Authorization, Error> {
                    Ok(Authorization::Declined {
                        reason,
                        requested: currency.format(amount),
                        shortfall: acct_currency.format(shortfall),
                        figures: Self::figures_view(&account, &before)?,
                    })
                };
                // Read only for buyers of a company.
                let company = account.company_id.as_deref().map(|id| eng.company(id)).transpose()?;
                let company_available =
                    company.as_ref().map(super::companies::company_figures).transpose()?.map(|f| f.available_with_tolerance);
                let answer = match account.status {
                    Status::Closed => decline(DeclineReason::AccountClosed, Decimal::ZERO),
                    Status::OnHold if account.held_for_overdue => decline(DeclineReason::OverdueInvoices, Decimal::ZERO),
                    Status::OnHold => decline(DeclineReason::AccountOnHold, Decimal::ZERO),
                    Status::Active if account.currency != currency.code() => {
                        decline(DeclineReason::CurrencyMismatch, Decimal::ZERO)
                    }
                    Status::Active if amount > before.available_with_tolerance => {
                        decline(DeclineReason::InsufficientCredit, sub(amount, before.available_with_tolerance)?)
                    }
                    // A buyer of a company: no buyer may be held for
                    // overdue invoices, and the company's line must hold
                    // the amount too.
                    Status::Active if company.as_ref().is_some_and(|c| c.buyers_held_for_overdue > 0) => {
                        decline(DeclineReason::CompanyOverdueInvoices, Decimal::ZERO)
                    }
                    Status::Active if company_available.is_some_and(|a| amount > a) => {
                        decline(DeclineReason::CompanyCreditInsufficient, sub(amount, company_available.unwrap_or_default())?)
                    }
                    Status::Active => {
                        if account.open_hold_count as usize >= HOLDS_PER_ACCOUNT_MAX {
                            return Err(Error::TooManyOpenHolds);
                        }
                        let hold = Hold {
                            id: next_document_id(&mut account, Series::Hold)?,
                            account_id: account.id.clone(),
                            order_id: req.order_id.clone(),
                            amount,
                            reserved: amount,
                            captured: Decimal::ZERO,
                            state: HoldState::Open,
                            placed_at_ms: ctx.now_ms,
                            expires_at_ms,
                            captures: 0,
                        };
                        eng.save(&hold_key(&hold.id), &hold)?;
                        // Test builds only: fail here, after a write, on request.
                        #[cfg(feature = "fault-injection")]
                        crate::faults::on_order(&req.order_id);
                        order.open_hold_id = Some(hold.id.clone());
                        eng.save(&order_key(&req.order_id), &order)?;
                        eng.add_open_hold(&mut account, OpenHoldRef { hold_id: hold.id.clone(), amount, expires_at_ms })?;
                        // By hand: `format!` was a few percent of an approval.
                        let mut memo = String::with_capacity(21 + hold.id.len() + req.order_id.len());
                        memo.push_str("hold ");
                        memo.push_str(&hold.id);
                        memo.push_str(" for order ");
                        memo.push_str(&req.order_id);
                        let e = NewEntry::new(EntryKind::HoldPlaced, amount, memo)
                            .held(amount)
                            .hold(&hold.id)
                            .order(&req.order_id);
                        eng.append(&mut account, ctx, e)?;
                        Ok(Authorization::Approved {
                            hold: Self::hold_view(&hold, currency, ctx.now_ms),
                            before: Self::figures_view(&account, &before)?,
                            after: eng.figures(&account, ctx.now_ms)?,
                        })
                    }
                }?;
                // A decline changes nothing unless expired holds were released.
                if released > 0 || matches!(answer, Authorization::Approved { .. }) {
                    eng.save_account(&mut account)?;
                }
                Ok(answer)
            },
        )
    }

    /// Loads an open hold with its account, releasing expired holds first.
    fn open_hold(&mut self, ctx: &Ctx, hold_id: &str) -> Result<(Hold, Account), Error> {
        let hold = self.hold(hold_id)?;
        // Capture reads the open items itself; void never needs them.
        let mut account = self.account(&hold.account_id)?;
        self.release_expired(&mut account, ctx)?;
        let hold = self.hold(hold_id)?;
        match hold.state {
            HoldState::Open => Ok((hold, account)),
            HoldState::Captured => Err(Error::HoldAlreadyCaptured),
            HoldState::Voided => Err(Error::HoldAlreadyVoided),
            HoldState::Expired => Err(Error::HoldExpired),
        }
    }

    /// `checkout.capture`: posts what shipped as an invoice.
    pub fn capture(&mut self, ctx: &Ctx, req: &Capture) -> Result<CaptureReceipt, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.hold_id, Field::HoldId)?;
        let (currency, amount) = money_input(&req.amount, Sign::Positive, Field::Amount)?;
        let delivery = req.delivery_date.as_deref().map(|d| parse_date(d, Field::DeliveryDate)).transpose()?;
        let terms_override = req.terms.as_ref().map(|t| validate_terms(t, currency)).transpose()?;
        let delivery_fields = req.delivery.as_ref().map(|d| super::notes::delivery_fields(d, currency)).transpose()?;
        // Lines are checked against the hold's order id below; their shape
        // (and the total) is checked here, before anything is read.
        let lines = invoice_lines(&req.lines, currency, amount, "")?;

        self.idempotent(
            ctx,
            "capture",
            &req.canonical(),
            |eng| {
                let (mut hold, mut account) = eng.open_hold(ctx, &req.hold_id)?;
                ensure_currency(&account, currency)?;
                if amount > hold.reserved {
                    return Err(Error::CaptureExceedsHold);
                }
                let mut lines = lines;
                if req.lines.is_empty() {
                    lines[0].description = format!("Order {}", hold.order_id);
                }
                let terms = match terms_override {
                    Some(t) => t,
                    None => eng.cfg(&mut account)?.terms.clone(),
                };
                let today = dates::day_of(ctx.now_ms);
                let (invoice, lines) = eng.create_item(
                    &mut account,
                    ItemKind::Invoice,
                    Some(&hold.order_id),
                    None,
                    today,
                    delivery,
                    lines,
                    terms,
                )?;
                // A split shipment keeps the rest reserved; otherwise (or
                // once nothing is left) the hold is done and the rest freed.
                let reserved_before = hold.reserved;
                let rest = sub(reserved_before, amount)?;
                let complete = req.rest != Some(CaptureRest::KeepOpen) || rest.is_zero();
                let released = if complete { rest } else { Decimal::ZERO };
                hold.captured = add(hold.captured, amount)?;
                hold.captures = hold.captures.saturating_add(1);
                if complete {
                    hold.state = HoldState::Captured;
                    eng.save(&hold_key(&hold.id), &hold)?;
                    eng.remove_open_hold(&mut account, &hold)?;
                } else {
                    hold.reserved = rest;
                    eng.save(&hold_key(&hold.id), &hold)?;
                    let r = OpenHoldRef { hold_id: hold.id.clone(), amount: rest, expires_at_ms: hold.expires_at_ms };
                    eng.save(&open_hold_key(&account.id, hold.expires_at_ms, &hold.id), &r)?;
                }
                let mut order = eng.order_for(&account, &hold.order_id)?;
                if complete {
                    order.open_hold_id = None;
                }
                order.captured = add(order.captured, amount)?;
                order.invoices.push(invoice.id.clone());
                eng.save(&order_key(&hold.order_id), &order)?;
                if let Some(d) = delivery_fields {
                    eng.record_delivery(&mut account, ctx, &hold.order_id, &hold.id, &invoice.id, delivery, d)?;
                }
                let kept = if complete { String::new() } else { format!(", kept {} open", currency.format(rest)) };
                let memo = format!(
                    "hold {} captured {}, released {}{kept}; invoice {} due {}",
                    hold.id,
                    currency.format(amount),
                    currency.format(released),
                    invoice.id,
                    invoice.due_date
                );
                let e = NewEntry::new(EntryKind::HoldCaptured, amount, memo)
                    .held(-(if complete { reserved_before } else { amount }))
                    .dr(Book::Receivable, invoice.total)
                    .sales(&invoice.tax_parts)
                    .hold(&hold.id)
                    .order(&hold.order_id)
                    .invoice(&invoice.id);
                eng.append(&mut account, ctx, e)?;
                eng.save_account(&mut account)?;
                Ok(CaptureReceipt {
                    hold: Self::hold_view(&hold, currency, ctx.now_ms),
                    captured: currency.format(amount),
                    released: currency.format(released),
                    invoice: eng.invoice_view(&invoice, &lines, currency, today)?,
                    after: eng.figures(&account, ctx.now_ms)?,
                })
            },
        )
    }

    /// `checkout.void-hold`.
    pub fn void_hold(&mut self, ctx: &Ctx, hold_id: &str) -> Result<VoidReceipt, Error> {
        validate::ctx(ctx)?;
        validate::id(hold_id, Field::HoldId)?;

        self.idempotent(
            ctx,
            "void-hold",
            &hold_id,
            |eng| {
                let (mut hold, mut account) = eng.open_hold(ctx, hold_id)?;
                let currency = currency_of(&account)?;
                // What shipped stays invoiced: a hold shipped in part ends captured.
                hold.state = if hold.captured.is_zero() { HoldState::Voided } else { HoldState::Captured };
                eng.save(&hold_key(&hold.id), &hold)?;
                eng.remove_open_hold(&mut account, &hold)?;
                eng.clear_open_hold(&hold.order_id, &hold.id)?;
                let e = NewEntry::new(EntryKind::HoldVoided, hold.reserved, format!("hold {} voided", hold.id))
                    .held(-hold.reserved)
                    .hold(&hold.id)
                    .order(&hold.order_id);
                eng.append(&mut account, ctx, e)?;
                eng.save_account(&mut account)?;
                Ok(VoidReceipt {
                    hold: Self::hold_view(&hold, currency, ctx.now_ms),
                    released: currency.format(hold.reserved),
                    after: eng.figures(&account, ctx.now_ms)?,
                })
            },
        )
    }

    /// `checkout.amend-hold`: the order was edited before it all shipped.
    pub fn amend_hold(&mut self, ctx: &Ctx, req: &AmendHold) -> Result<Authorization, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.hold_id, Field::HoldId)?;
        let (currency, amount) = money_input(&req.amount, Sign::NonNegative, Field::Amount)?;

        self.idempotent(
            ctx,
            "amend-hold",
            &req.canonical(),
            |eng| {
                let (mut hold, mut account) = eng.open_hold(ctx, &req.hold_id)?;
                ensure_currency(&account, currency)?;
                let before = eng.raw_figures(&account, ctx.now_ms)?;
                let change = sub(amount, hold.reserved)?;
                // An increase is a new authorization for the difference.
                if change > Decimal::ZERO {
                    let shortfall = sub(change, before.available_with_tolerance)?;
                    let company = account.company_id.as_deref().map(|id| eng.company(id)).transpose()?;
                    let company_shortfall = match &company {
                        Some(c) => sub(change, super::companies::company_figures(c)?.available_with_tolerance)?,
                        None => Decimal::ZERO,
                    };
                    let reason = match account.status {
                        Status::Closed => Some(DeclineReason::AccountClosed),
                        Status::OnHold if account.held_for_overdue => Some(DeclineReason::OverdueInvoices),
                        Status::OnHold => Some(DeclineReason::AccountOnHold),
                        Status::Active if shortfall > Decimal::ZERO => Some(DeclineReason::InsufficientCredit),
                        Status::Active if company.as_ref().is_some_and(|c| c.buyers_held_for_overdue > 0) => Some(DeclineReason::CompanyOverdueInvoices),
                        Status::Active if company_shortfall > Decimal::ZERO => Some(DeclineReason::CompanyCreditInsufficient),
                        Status::Active => None,
                    };
                    if let Some(reason) = reason {
                        let shortfall = match reason {
                            DeclineReason::InsufficientCredit => shortfall,
                            DeclineReason::CompanyCreditInsufficient => company_shortfall,
                            _ => Decimal::ZERO,
                        };
                        // Holds that expired may have been released on the way.
                        eng.save_account(&mut account)?;
                        return Ok(Authorization::Declined {
                            reason,
                            requested: currency.format(change),
                            shortfall: currency.format(shortfall),
                            figures: Self::figures_view(&account, &before)?,
                        });
                    }
                }
                // `amount` moves with `reserved`, so reserved <= amount holds.
                hold.amount = add(hold.amount, change)?;
                hold.reserved = amount;
                let ends = amount.is_zero();
                if ends {
                    hold.state = if hold.captured.is_zero() { HoldState::Voided } else { HoldState::Captured };
                    eng.save(&hold_key(&hold.id), &hold)?;
                    eng.remove_open_hold(&mut account, &hold)?;
                    eng.clear_open_hold(&hold.order_id, &hold.id)?;
                } else {
                    eng.save(&hold_key(&hold.id), &hold)?;
                    let r = OpenHoldRef { hold_id: hold.id.clone(), amount, expires_at_ms: hold.expires_at_ms };
                    eng.save(&open_hold_key(&account.id, hold.expires_at_ms, &hold.id), &r)?;
                }
                if ends || !change.is_zero() {
                    let memo = format!("hold {} amended to {} ({})", hold.id, currency.format(amount), currency.format(change));
                    let e = NewEntry::new(EntryKind::HoldAmended, change.abs(), memo).held(change).hold(&hold.id).order(&hold.order_id);
                    eng.append(&mut account, ctx, e)?;
                }
                eng.save_account(&mut account)?;
                Ok(Authorization::Approved {
                    hold: Self::hold_view(&hold, currency, ctx.now_ms),
                    before: Self::figures_view(&account, &before)?,
                    after: eng.figures(&account, ctx.now_ms)?,
                })
            },
        )
    }

    /// `checkout.apply-balance`.
    pub fn apply_balance(&mut self, ctx: &Ctx, req: &ApplyBalance) -> Result<BalanceApplication, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.account_id, Field::AccountId)?;
        validate::id(&req.order_id, Field::OrderId)?;
        let (currency, amount) = money_input(&req.amount, Sign::Positive, Field::Amount)?;

        self.idempotent(
            ctx,
            "apply-balance",
            &req.canonical(),
            |eng| {
                let mut account = eng.account_for_money(&req.account_id, currency)?;
                eng.order_for(&account, &req.order_id)?;
                eng.release_expired(&mut account, ctx)?;
                let mut order = eng.order_for(&account, &req.order_id)?;
                // The stored balance counts as available credit, so part of
                // it may back open holds and posted debt: only what no hold
                // or debt leans on may be spent (spending more would take
                // exposure above limit + tolerance + stored balance). What
                // pays for an order that holds credit replaces that credit:
                // the order's own hold shrinks by as much, so that part is
                // always spendable.
                let figures = eng.raw_figures(&account, ctx.now_ms)?;
                let mut hold = order.open_hold_id.as_deref().map(|id| eng.hold(id)).transpose()?;
                let hold_reserved = hold.as_ref().map_or(Decimal::ZERO, |h| h.reserved);
                let spendable = min(
                    account.stored_balance.max(Decimal::ZERO),
                    add(figures.available_with_tolerance.max(Decimal::ZERO), hold_reserved)?,
                );
                if req.mode == Some(ApplyMode::AllOrNothing) && spendable < amount {
                    return Err(Error::StoredBalanceInsufficient {
                        requested: currency.format(amount),
                        available: currency.format(spendable),
                    });
                }
                let applied = min(amount, spendable);
                let reduced = min(applied, hold_reserved);
                if applied > Decimal::ZERO {
                    order.balance_applied = add(order.balance_applied, applied)?;
                    eng.save(&order_key(&req.order_id), &order)?;
                    let memo = format!("stored balance {} applied to order {}", currency.format(applied), req.order_id);
                    let mut e = NewEntry::new(EntryKind::BalanceApplied, applied, memo)
                        .dr(Book::CustomerCredit, applied)
                        .cr(Book::StoreCreditRedeemed, applied)
                        .order(&req.order_id);
                    if let Some(h) = hold.as_mut().filter(|_| reduced > Decimal::ZERO) {
                        h.reserved = sub(h.reserved, reduced)?;
                        eng.save(&hold_key(&h.id), &*h)?;
                        let r = OpenHoldRef { hold_id: h.id.clone(), amount: h.reserved, expires_at_ms: h.expires_at_ms };
                        eng.save(&open_hold_key(&account.id, h.expires_at_ms, &h.id), &r)?;
                        e = e.held(-reduced).hold(&h.id);
                    }
                    eng.append(&mut account, ctx, e)?;
                }
                eng.save_account(&mut account)?;
                Ok(BalanceApplication {
                    applied: currency.format(applied),
                    remaining: currency.format(sub(amount, applied)?),
                    stored_balance_after: currency.format(account.stored_balance),
                    hold_reduced: currency.format(reduced),
                })
            },
        )
    }

    /// `checkout.record-return`.
    pub fn record_return(&mut self, ctx: &Ctx, req: &RecordReturn) -> Result<CreditNote, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.account_id, Field::AccountId)?;
        validate::id(&req.order_id, Field::OrderId)?;
        validate::text(&req.reason, Field::Reason)?;
        let (currency, amount) = money_input(&req.amount, Sign::Positive, Field::Amount)?;

        self.idempotent(
            ctx,
            "record-return",
            &req.canonical(),
            |eng| {
                let mut account = eng.account_for_money(&req.account_id, currency)?;
                let Some(mut order) = eng.load::<Order>(&order_key(&req.order_id))? else {
                    return Err(Error::OrderNotFound(req.order_id.clone()));
                };
                if order.account_id != account.id {
                    return Err(Error::OrderBelongsToAnotherAccount(req.order_id.clone()));
                }
                let sold = add(order.captured, order.balance_applied)?;
                if sold.is_zero() {
                    return Err(Error::OrderNotFound(req.order_id.clone()));
                }
                if amount > sub(sold, order.credited)? {
                    return Err(Error::ReturnExceedsOrder);
                }
                eng.release_expired(&mut account, ctx)?;
                let credit_note_id = next_document_id(&mut account, Series::CreditNote)?;
                let today = dates::day_of(ctx.now_ms);
                let plan = match req.credit_to {
                    CreditTarget::OwedFirst => eng.plan_allocation(
                        &account,
                        today,
                        amount,
                        &Source::CreditNote,
                        &[],
                        &order.invoices,
                    )?,
                    CreditTarget::StoredBalance => Vec::new(),
                };
                let to_debt: Decimal = plan.iter().map(|p| p.cash).sum();
                let to_stored = sub(amount, to_debt)?;
                order.credited = add(order.credited, amount)?;
                eng.save(&order_key(&req.order_id), &order)?;
                let memo = format!("credit note {} on order {}: {}", credit_note_id, req.order_id, req.reason);
                let e = NewEntry::new(EntryKind::CreditNoteIssued, amount, memo)
                    .dr(Book::SalesReturns, amount)
                    .cr(Book::Receivable, to_debt)
                    .cr(Book::CustomerCredit, to_stored)
                    .order(&req.order_id)
                    .doc(&credit_note_id);
                let seq = eng.append(&mut account, ctx, e)?;
                let record = CreditNoteRecord {
                    account_id: account.id.clone(),
                    order_id: req.order_id.clone(),
                    amount,
                    to_debt,
                    to_stored,
                    cancelled: false,
                };
                eng.save(&credit_note_key(&credit_note_id), &record)?;
                eng.apply_plan(&mut account, ctx, today, &Source::CreditNote, &credit_note_id, seq, plan)?;
                let released_from_hold = eng.release_overdue_hold(&mut account, ctx, today)?;
                eng.save_account(&mut account)?;
                Ok(CreditNote {
                    credit_note_id,
                    order_id: req.order_id.clone(),
                    amount: currency.format(amount),
                    applied_to_debt: currency.format(to_debt),
                    added_to_stored_balance: currency.format(to_stored),
                    after: eng.figures(&account, ctx.now_ms)?,
                    released_from_hold,
                })
            },
        )
    }
}

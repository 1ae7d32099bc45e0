//! `migration`: invoices and stored balances brought in from another
//! system as opening balances.

use crate::prelude::*;

use super::*;
use crate::limits::NET_DAYS_MAX;
use crate::model::Canonical;
use crate::validate;

fn opening_invoice_key(number: &str) -> String {
    key(&["opening/invoice/", number], None)
}

fn opening_balance_key(account_id: &str) -> String {
    key(&["opening/balance/", account_id], None)
}

impl<K: Kv> Engine<K> {
    /// `migration.import-invoice`.
    pub fn import_invoice(&mut self, ctx: &Ctx, req: &OpeningInvoice) -> Result<InvoiceView, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.account_id, Field::AccountId)?;
        validate::id(&req.number, Field::Number)?;
        if let Some(order) = &req.order_id {
            validate::id(order, Field::OrderId)?;
        }
        let (currency, amount) = money_input(&req.amount, Sign::Positive, Field::Amount)?;
        let paid = money::parse_amount(&req.paid, currency, Sign::NonNegative, Field::Paid)?;
        if paid >= amount {
            return Err(Error::AmountTooLarge(Field::Paid));
        }
        let invoice_date = parse_date(&req.invoice_date, Field::InvoiceDate)?;
        let due_date = parse_date(&req.due_date, Field::DueDate)?;
        let today = dates::day_of(ctx.now_ms);
        if invoice_date > today {
            return Err(Error::DateInFuture(Field::InvoiceDate));
        }
        let net_days = (due_date - invoice_date).num_days();
        if !(0..=i64::from(NET_DAYS_MAX)).contains(&net_days) {
            return Err(Error::PaymentTermsOutOfRange(Field::DueDate));
        }
        let req = req.canonical();
        // A number brought in before is answered as it stands, without
        // writing anything (not even the key's record), so a file imported
        // again changes nothing; a retry of the call that brought it in
        // still gets that call's answer from its key.
        if self.kv.get(&idem_key(&ctx.idempotency_key)).is_none()
            && let Some(seen) = self.load::<OpeningInvoice>(&opening_invoice_key(&req.number))?
        {
            if seen != req {
                return Err(Error::IdempotencyKeyReused);
            }
            return self.get_invoice(&req.number, &dates::format(today));
        }

        self.idempotent(ctx, "import-invoice", &req, |eng| {
            if let Some(existing) = eng.load::<Invoice>(&invoice_key(&req.number))? {
                // Another account's invoice, or one made here (or brought
                // in with other values) under that number.
                return Err(if existing.account_id != req.account_id {
                    Error::InvoiceBelongsToAnotherAccount(req.number.clone())
                } else {
                    Error::IdempotencyKeyReused
                });
            }
            let mut account = eng.account_for_money(&req.account_id, currency)?;
            let line = one_line(format!("Invoice {} (brought in)", req.number), amount);
            let terms = net_terms(net_days as u32);
            let (mut invoice, lines) =
                eng.new_item(&mut account, req.number.clone(), ItemKind::Invoice, req.order_id.as_deref(), None, invoice_date, None, vec![line], terms)?;
            let owed = sub(amount, paid)?;
            invoice.outstanding = owed;
            // Interest before the move is the old system's.
            invoice.interest_accrued_to = Some(dates::format(today.max(invoice_date)));
            eng.store_item(&mut account, &invoice, &lines)?;
            let memo = format!(
                "invoice {} of {} brought in: {} of {} still owed, due {}",
                invoice.id,
                invoice.invoice_date,
                currency.format(owed),
                currency.format(amount),
                invoice.due_date
            );
            let mut e = NewEntry::new(EntryKind::InvoiceBroughtIn, owed, memo).dr(Book::Receivable, owed).cr(Book::OpeningBalances, owed).invoice(&invoice.id);
            if let Some(order) = &req.order_id {
                e = e.order(order);
            }
            eng.append(&mut account, ctx, e)?;
            eng.save_account(&mut account)?;
            eng.save(&opening_invoice_key(&req.number), &req)?;
            eng.invoice_view(&invoice, &lines, currency, today)
        })
    }

    /// `migration.import-stored-balance`.
    pub fn import_stored_balance(&mut self, ctx: &Ctx, req: &OpeningStoredBalance) -> Result<AccountSummary, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.account_id, Field::AccountId)?;
        validate::text(&req.reference, Field::Reference)?;
        let (currency, amount) = money_input(&req.amount, Sign::Positive, Field::Amount)?;
        let req = req.canonical();
        if self.kv.get(&idem_key(&ctx.idempotency_key)).is_none()
            && let Some(seen) = self.load::<OpeningStoredBalance>(&opening_balance_key(&req.account_id))?
        {
            if seen != req {
                return Err(Error::IdempotencyKeyReused);
            }
            return self.account_summary(&req.account_id, ctx.now_ms);
        }

        self.idempotent(ctx, "import-stored-balance", &req, |eng| {
            if eng.load::<OpeningStoredBalance>(&opening_balance_key(&req.account_id))?.is_some() {
                return Err(Error::IdempotencyKeyReused);
            }
            let mut account = eng.account_for_money(&req.account_id, currency)?;
            let memo = format!("stored balance {} brought in ({})", currency.format(amount), req.reference);
            let e = NewEntry::new(EntryKind::StoredBalanceBroughtIn, amount, memo).dr(Book::OpeningBalances, amount).cr(Book::CustomerCredit, amount);
            eng.append(&mut account, ctx, e)?;
            eng.save_account(&mut account)?;
            eng.save(&opening_balance_key(&req.account_id), &req)?;
            eng.summary(&mut account, ctx.now_ms)
        })
    }
}

//! Dynamic discounting: a sliding early-payment discount offered on an
//! account or one invoice (`accounts.set-dynamic-discount`), earned by
//! payments (`billing`) and shown on invoices and statements (`queries`,
//! `reports`). The arithmetic is `rules::dynamic_discount`.

use crate::prelude::*;

use super::*;
use crate::model::Canonical;
use crate::validate;

fn account_offer_key(account: &str) -> String {
    key(&["ddisc/", account], None)
}

fn invoice_offer_key(account: &str, invoice: &str) -> String {
    key(&["ddisc/", account, "/", invoice], None)
}

fn offer_view(o: &DynamicOffer) -> DynamicDiscountInput {
    let p = |d: Decimal| d.normalize().to_string();
    DynamicDiscountInput { annual_rate: p(o.annual_rate), floor: p(o.floor), cap: p(o.cap) }
}

/// Checks an offer as sent: three percents, the floor not above the cap.
fn validate_offer(o: &DynamicDiscountInput, account_id: &str, invoice_id: Option<&str>) -> Result<DynamicOffer, Error> {
    let annual_rate = money::parse_percent(&o.annual_rate, 100, Sign::NonNegative, Field::AnnualRate)?;
    let floor = money::parse_percent(&o.floor, 100, Sign::NonNegative, Field::Floor)?;
    let cap = money::parse_percent(&o.cap, 100, Sign::Positive, Field::Cap)?;
    if floor > cap {
        return Err(Error::PolicyOutOfRange(Field::Floor));
    }
    Ok(DynamicOffer { account_id: account_id.to_owned(), invoice_id: invoice_id.map(str::to_owned), annual_rate, floor, cap })
}

impl<K: Kv> Engine<K> {
    /// The offer an item follows: its own, else its account's; none for
    /// items that are not invoices or have instalments.
    pub(super) fn dynamic_offer(&self, inv: &Invoice) -> Result<Option<DynamicOffer>, Error> {
        if inv.kind != ItemKind::Invoice || !inv.terms.instalments.is_empty() {
            return Ok(None);
        }
        if let Some(own) = self.load::<DynamicOffer>(&invoice_offer_key(&inv.account_id, &inv.id))? {
            return Ok(Some(own));
        }
        self.load(&account_offer_key(&inv.account_id))
    }

    /// What paying `open` of `inv` on `day` saves, and whether that is the
    /// dynamic discount: the fixed discount while its window is open and
    /// it is not taken, else the dynamic one.
    pub(super) fn early_saving(&self, inv: &Invoice, open: Decimal, day: NaiveDate, c: Currency) -> Result<(Decimal, bool), Error> {
        if let Some(until) = &inv.discount_until
            && !inv.discount_taken
            && day <= stored_date(until)?
        {
            return Ok((min(inv.discount_amount, open), false));
        }
        match self.dynamic_offer(inv)? {
            Some(offer) => {
                let early = (stored_date(&inv.due_date)? - day).num_days();
                Ok((rules::dynamic_discount(&offer, open, early, c)?, true))
            }
            None => Ok((Decimal::ZERO, false)),
        }
    }

    /// `queries.dynamic-discount`.
    pub fn dynamic_discount(&self, account_id: &str, invoice_id: Option<&str>) -> Result<DynamicDiscountSetting, Error> {
        validate::id(account_id, Field::AccountId)?;
        let account = self.account(account_id)?;
        let own = match invoice_id {
            None => self.load::<DynamicOffer>(&account_offer_key(&account.id))?,
            Some(id) => {
                validate::id(id, Field::InvoiceId)?;
                let inv = self.invoice(id)?;
                if inv.account_id != account.id {
                    return Err(Error::InvoiceBelongsToAnotherAccount(id.to_owned()));
                }
                self.load::<DynamicOffer>(&invoice_offer_key(&account.id, id))?
            }
        };
        let applies = match (&own, invoice_id) {
            (Some(o), _) => Some(offer_view(o)),
            (None, Some(_)) => self.load::<DynamicOffer>(&account_offer_key(&account.id))?.as_ref().map(offer_view),
            (None, None) => None,
        };
        Ok(DynamicDiscountSetting {
            account_id: account.id.clone(),
            invoice_id: invoice_id.map(str::to_owned),
            offer: own.as_ref().map(offer_view),
            applies,
        })
    }

    /// `accounts.set-dynamic-discount`.
    pub fn set_dynamic_discount(&mut self, ctx: &Ctx, req: &SetDynamicDiscount) -> Result<DynamicDiscountSetting, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.account_id, Field::AccountId)?;
        if let Some(invoice) = &req.invoice_id {
            validate::id(invoice, Field::InvoiceId)?;
        }
        validate::text(&req.changed_by, Field::ChangedBy)?;
        validate::text(&req.reason, Field::Reason)?;
        let offer = req.offer.as_ref().map(|o| validate_offer(o, &req.account_id, req.invoice_id.as_deref())).transpose()?;
        let req = req.canonical();

        self.idempotent(ctx, "set-dynamic-discount", &req, |eng| {
            let mut account = eng.account(&req.account_id)?;
            if account.status == Status::Closed {
                return Err(Error::AccountClosed);
            }
            let key = match &req.invoice_id {
                None => account_offer_key(&account.id),
                Some(id) => {
                    let inv = eng.invoice(id)?;
                    if inv.account_id != account.id {
                        return Err(Error::InvoiceBelongsToAnotherAccount(id.clone()));
                    }
                    if inv.outstanding.is_zero() {
                        return Err(Error::InvoiceSettled(id.clone()));
                    }
                    if inv.kind != ItemKind::Invoice || !inv.terms.instalments.is_empty() {
                        return Err(Error::PolicyOutOfRange(Field::InvoiceId));
                    }
                    invoice_offer_key(&account.id, id)
                }
            };
            eng.release_expired(&mut account, ctx)?;
            let what = match &offer {
                Some(o) => format!("{}% a year (floor {}%, cap {}%)", o.annual_rate, o.floor, o.cap),
                None => "withdrawn".to_owned(),
            };
            let on = req.invoice_id.as_deref().map(|i| format!(" on {i}")).unwrap_or_default();
            let memo = format!("dynamic discount{on} {what} by {}: {}", req.changed_by, req.reason);
            match &offer {
                Some(o) => eng.save(&key, o)?,
                None => eng.kv.delete(&key),
            }
            let mut e = NewEntry::new(EntryKind::PolicyChanged, Decimal::ZERO, memo);
            if let Some(id) = &req.invoice_id {
                e = e.invoice(id);
            }
            eng.append(&mut account, ctx, e)?;
            eng.save_account(&mut account)?;
            // Read back as `queries.dynamic-discount` answers it.
            eng.dynamic_discount(&account.id, req.invoice_id.as_deref())
        })
    }
}

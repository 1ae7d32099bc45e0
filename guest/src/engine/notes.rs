//! What finance writes down about a customer (notes, promises to pay) and
//! how goods travelled (deliveries recorded with captures).

#[allow(unused_imports)]
use crate::prelude::*;

use super::*;
use crate::model::Canonical;
use crate::validate;

/// A delivery as given with a capture, checked.
pub(super) struct DeliveryFields {
    pub carrier: String,
    pub tracking_reference: String,
    pub cost: Decimal,
    pub charged: Decimal,
}

/// Checks a capture's delivery in the capture's currency.
pub(super) fn delivery_fields(d: &DeliveryInput, currency: Currency) -> Result<DeliveryFields, Error> {
    validate::text(&d.carrier, Field::DeliveryCarrier)?;
    validate::text(&d.tracking_reference, Field::DeliveryTracking)?;
    Ok(DeliveryFields {
        carrier: d.carrier.clone(),
        tracking_reference: d.tracking_reference.clone(),
        cost: money::parse_amount(&d.cost, currency, Sign::NonNegative, Field::DeliveryCost)?,
        charged: money::parse_amount(&d.charged, currency, Sign::NonNegative, Field::DeliveryCharged)?,
    })
}

fn note_view(n: &Note) -> NoteView {
    NoteView {
        seq: n.seq,
        at_ms: n.at_ms,
        by: n.by.clone(),
        text: n.text.clone(),
        promise: n.promise.as_ref().map(|(pay_by, amount)| PromiseView { pay_by: pay_by.clone(), amount: amount.clone() }),
    }
}

impl<K: Kv> Engine<K> {
    /// Records the delivery of a capture on its account.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn record_delivery(
        &mut self,
        account: &mut Account,
        ctx: &Ctx,
        order_id: &str,
        hold_id: &str,
        invoice_id: &str,
        delivered_on: Option<NaiveDate>,
        d: DeliveryFields,
    ) -> Result<(), Error> {
        let seq = {
            let cfg = self.cfg_mut(account)?;
            cfg.delivery_count += 1;
            cfg.delivery_count
        };
        let delivery = Delivery {
            seq,
            at_ms: ctx.now_ms,
            order_id: order_id.to_owned(),
            hold_id: hold_id.to_owned(),
            invoice_id: invoice_id.to_owned(),
            delivered_on: delivered_on.map(dates::format),
            carrier: d.carrier,
            tracking_reference: d.tracking_reference,
            cost: d.cost,
            charged: d.charged,
        };
        self.save(&delivery_key(&account.id, delivery.seq), &delivery)
    }

    /// `accounts.add-note`.
    pub fn add_note(&mut self, ctx: &Ctx, req: &AddNote) -> Result<NoteView, Error> {
        validate::ctx(ctx)?;
        validate::id(&req.account_id, Field::AccountId)?;
        validate::text(&req.by, Field::By)?;
        validate::long_text(&req.text, NOTE_TEXT_LEN_MAX, Field::NoteText)?;
        let promise_date = req.promise.as_ref().map(|p| parse_date(&p.pay_by, Field::PayBy)).transpose()?;

        self.idempotent(
            ctx,
            "add-note",
            &req.canonical(),
            |eng| {
                let mut account = eng.account(&req.account_id)?;
                let c = currency_of(&account)?;
                let promise = match (&req.promise, promise_date) {
                    (Some(p), Some(pay_by)) => {
                        let amount = money::parse_amount(&p.amount, c, Sign::Positive, Field::PromiseAmount)?;
                        Some((pay_by, amount))
                    }
                    _ => None,
                };
                let seq = {
                    let cfg = eng.cfg_mut(&mut account)?;
                    cfg.note_count += 1;
                    cfg.note_count
                };
                let note = Note {
                    seq,
                    at_ms: ctx.now_ms,
                    by: req.by.clone(),
                    text: req.text.clone(),
                    promise: promise.map(|(d, a)| (dates::format(d), c.format(a))),
                };
                eng.save(&note_key(&account.id, note.seq), &note)?;
                if let Some((pay_by, amount)) = promise {
                    let made_on = dates::format(dates::day_of(ctx.now_ms));
                    eng.profile_mut(&mut account)?.promise =
                        Some(Promise { note_seq: note.seq, made_on, pay_by: dates::format(pay_by), amount, paid: Decimal::ZERO });
                }
                eng.save_account(&mut account)?;
                Ok(note_view(&note))
            },
        )
    }

    /// `queries.notes`.
    pub fn notes(&self, account_id: &str, after_seq: Option<u64>, limit: u32) -> Result<NotePage, Error> {
        validate::id(account_id, Field::AccountId)?;
        validate::page_limit(limit)?;
        let mut account = self.account(account_id)?;
        let count = self.cfg(&mut account)?.note_count;
        let start = after_seq.map(|s| note_key(account_id, s));
        let mut notes = Vec::new();
        for (key, bytes) in self.kv.scan(&note_prefix(account_id), start.as_deref(), limit) {
            notes.push(note_view(&decode::<Note>(&key, &bytes)?));
        }
        let next_after_seq = notes.last().map(|n| n.seq).filter(|&s| s < count);
        Ok(NotePage { notes, next_after_seq })
    }

    /// `queries.deliveries`.
    pub fn deliveries(&self, account_id: &str, after_seq: Option<u64>, limit: u32) -> Result<DeliveryPage, Error> {
        validate::id(account_id, Field::AccountId)?;
        validate::page_limit(limit)?;
        let mut account = self.account(account_id)?;
        let c = currency_of(&account)?;
        let count = self.cfg(&mut account)?.delivery_count;
        let start = after_seq.map(|s| delivery_key(account_id, s));
        let mut deliveries = Vec::new();
        for (key, bytes) in self.kv.scan(&delivery_prefix(account_id), start.as_deref(), limit) {
            let d: Delivery = decode(&key, &bytes)?;
            deliveries.push(DeliveryView {
                seq: d.seq,
                at_ms: d.at_ms,
                order_id: d.order_id,
                hold_id: d.hold_id,
                invoice_id: d.invoice_id,
                delivered_on: d.delivered_on,
                carrier: d.carrier,
                tracking_reference: d.tracking_reference,
                cost: c.format(d.cost),
                charged: c.format(d.charged),
            });
        }
        let next_after_seq = deliveries.last().map(|d| d.seq).filter(|&s| s < count);
        Ok(DeliveryPage { deliveries, next_after_seq })
    }
}

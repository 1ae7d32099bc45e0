//! `migration` glue: WIT records in, engine call, WIT records out.

#[allow(unused_imports)]
use crate::prelude::*;

use super::exports::storefront::credit::migration;
use super::{Component, ctx, engine, error, invoice, money, summary, wit};
use crate::model as m;

impl migration::Guest for Component {
    fn import_invoice(c: wit::CallContext, req: migration::OpeningInvoice) -> Result<wit::Invoice, wit::Error> {
        let req = m::OpeningInvoice {
            account_id: req.account_id,
            number: req.number,
            invoice_date: req.invoice_date,
            due_date: req.due_date,
            amount: money(req.amount),
            paid: req.paid,
            order_id: req.order_id,
        };
        engine().import_invoice(&ctx(c), &req).map(invoice).map_err(error)
    }

    fn import_stored_balance(c: wit::CallContext, req: migration::OpeningStoredBalance) -> Result<wit::AccountSummary, wit::Error> {
        let req = m::OpeningStoredBalance { account_id: req.account_id, amount: money(req.amount), reference: req.reference };
        engine().import_stored_balance(&ctx(c), &req).map(summary).map_err(error)
    }
}

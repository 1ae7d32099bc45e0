//! What a storefront sends its customers after a call: the invoice a
//! capture issued, and the reminders and monthly statement a day-close
//! produced, as e-mail files (`mail`) with their HTML (`render`), named
//! from a `Directory`. Used by `serve --mail-dir`, `close-day --mail-dir`
//! and the demo.

use std::path::PathBuf;

use anyhow::{Result, anyhow};

use crate::api::*;
use crate::directory::Directory;
use crate::{Ledger, MerchantId, mail, render};

/// Where mail goes and who it names.
pub struct Outbox {
    /// The folder (one subfolder per merchant and account).
    pub dir: PathBuf,
    /// Names and addresses.
    pub names: Directory,
}

impl Outbox {
    /// Sends the invoice of a capture; returns the file written.
    pub fn capture(&self, ledger: &mut Ledger, merchant: &MerchantId, receipt: &CaptureReceipt) -> Result<PathBuf> {
        let invoice = &receipt.invoice;
        let account = ledger
            .get_account(merchant, &invoice.account_id, receipt.hold.placed_at_ms)?
            .map_err(|e| anyhow!("reading account {}: {e:?}", invoice.account_id))?;
        let html = render::invoice_html(
            &self.names.merchant(merchant.as_str()),
            &self.names.customer(merchant.as_str(), &account.customer_id),
            &account.currency,
            invoice,
        )?;
        mail::write_invoice(&self.dir, merchant, &self.names, &account.customer_id, &account.currency, invoice, &html)
    }

    /// Sends what a day-close produced: its reminders, then its monthly
    /// statement with the HTML attached. Returns the files written, in
    /// that order.
    pub fn day_close(&self, ledger: &mut Ledger, merchant: &MerchantId, report: &DayCloseReport) -> Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        for r in &report.reminders {
            written.push(mail::write_reminder(&self.dir, merchant, &self.names, r)?);
        }
        if let Some(header) = &report.statement {
            let s = ledger
                .get_statement(merchant, &header.account_id, header.seq)?
                .map_err(|e| anyhow!("reading statement {} of {}: {e:?}", header.seq, header.account_id))?;
            let html = render::statement_html(&self.names.merchant(merchant.as_str()), &self.names.customer(merchant.as_str(), &s.customer_id), &s)?;
            written.push(mail::write_statement(&self.dir, merchant, &self.names, &s, header.seq, &html)?);
        }
        Ok(written)
    }
}

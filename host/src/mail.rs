//! Delivers reminders the way the simulated storefront does: as e-mail
//! files (RFC 5322 text) in a folder, one per reminder.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::MerchantId;
use crate::api::Reminder;

/// Writes `reminder` as `<dir>/<merchant>/<account>/<seq>-<invoice>-level<level>.eml`
/// and returns the path. Writing the same reminder again overwrites the same
/// file, so redelivery never makes a duplicate.
pub fn write_reminder(dir: &Path, merchant: &MerchantId, reminder: &Reminder) -> Result<PathBuf> {
    let folder = dir.join(merchant.as_str()).join(&reminder.account_id);
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    let path = folder.join(format!("{:06}-{}-level{}.eml", reminder.seq, reminder.invoice_id, reminder.level));
    let text = format!(
        "From: accounts@{merchant}\r\nTo: {customer}\r\nDate: {date}\r\nSubject: {subject}\r\n\
         X-Credit-Account: {account}\r\nX-Invoice: {invoice}\r\nX-Reminder-Level: {level}\r\n\r\n{body}",
        merchant = merchant.as_str(),
        customer = reminder.customer_id,
        date = reminder.date,
        subject = reminder.subject,
        account = reminder.account_id,
        invoice = reminder.invoice_id,
        level = reminder.level,
        body = reminder.body.replace('\n', "\r\n"),
    );
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

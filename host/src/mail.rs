//! Delivers what the customer is sent the way the simulated storefront
//! does: as e-mail files (RFC 5322 text) in a folder, one per reminder,
//! invoice and monthly statement (those two with their HTML attached).
//! Names and addresses come from the `Directory`; each file's name is
//! fixed by what it carries, so delivering the same thing again overwrites
//! the same file and never makes a duplicate.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::MerchantId;
use crate::api::{AccountStatement, Invoice, Reminder};
use crate::directory::{Directory, Party};

/// `"Name" <address>`, or the name alone as a local address at the
/// merchant's id when the directory has no e-mail for it. Names hold no
/// control characters (the directory refuses them); quotes and
/// backslashes are escaped.
fn mailbox(p: &Party, fallback: &str) -> String {
    let name = p.name.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{name}\" <{}>", p.email.as_deref().unwrap_or(fallback))
}

/// A day as an RFC 5322 date (midnight UTC); the day as given if it is
/// not one (the component only sends valid days).
fn rfc5322_date(day: &str) -> String {
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc().to_rfc2822())
        .unwrap_or_else(|_| day.to_owned())
}

/// From, To and Date headers for a message of `merchant` to `customer`.
fn envelope(names: &Directory, merchant: &MerchantId, customer: &str, day: &str) -> String {
    let m = merchant.as_str();
    format!(
        "From: {}\r\nTo: {}\r\nDate: {}\r\n",
        mailbox(&names.merchant(m), &format!("accounts@{m}")),
        mailbox(&names.customer(m, customer), &format!("{customer}@{m}")),
        rfc5322_date(day),
    )
}

fn folder(dir: &Path, merchant: &MerchantId, account: &str) -> Result<PathBuf> {
    let folder = dir.join(merchant.as_str()).join(account);
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    Ok(folder)
}

/// Writes `reminder` as `<dir>/<merchant>/<account>/<seq>-<invoice>-level<level>.eml`
/// and returns the path.
pub fn write_reminder(dir: &Path, merchant: &MerchantId, names: &Directory, reminder: &Reminder) -> Result<PathBuf> {
    let path = folder(dir, merchant, &reminder.account_id)?.join(format!("{:06}-{}-level{}.eml", reminder.seq, reminder.invoice_id, reminder.level));
    let text = format!(
        "{envelope}Subject: {subject}\r\nX-Credit-Account: {account}\r\nX-Invoice: {invoice}\r\nX-Reminder-Level: {level}\r\n\r\n{body}",
        envelope = envelope(names, merchant, &reminder.customer_id, &reminder.date),
        subject = reminder.subject,
        account = reminder.account_id,
        invoice = reminder.invoice_id,
        level = reminder.level,
        body = reminder.body.replace('\n', "\r\n"),
    );
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// A message with a plain-text body and one HTML document attached
/// (MIME multipart/mixed; the attachment base64-encoded in 76-character
/// lines, so its long lines travel intact).
fn with_attachment(headers: &str, body: &str, filename: &str, html: &str) -> String {
    use base64::Engine as _;
    let boundary = "credit-host-part";
    let encoded = base64::engine::general_purpose::STANDARD.encode(html.as_bytes());
    let mut wrapped = String::with_capacity(encoded.len() + encoded.len() / 76 * 2 + 2);
    let mut rest = encoded.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(76));
        wrapped.push_str(line);
        wrapped.push_str("\r\n");
        rest = tail;
    }
    format!(
        "{headers}MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n\
         --{boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Disposition: attachment; filename=\"{filename}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{wrapped}--{boundary}--\r\n",
        body = body.replace('\n', "\r\n"),
    )
}

/// Writes a monthly statement as `<dir>/<merchant>/<account>/statement-<seq>.eml`
/// with its HTML attached; returns the path.
pub fn write_statement(dir: &Path, merchant: &MerchantId, names: &Directory, s: &AccountStatement, seq: u64, html: &str) -> Result<PathBuf> {
    let path = folder(dir, merchant, &s.account_id)?.join(format!("statement-{seq:04}.eml"));
    let headers = format!(
        "{envelope}Subject: Statement of account {account}, {from} to {to}\r\nX-Credit-Account: {account}\r\nX-Statement: {seq}\r\n",
        envelope = envelope(names, merchant, &s.customer_id, &s.period_to),
        account = s.account_id,
        from = s.period_from,
        to = s.period_to,
    );
    let body = format!(
        "Dear {customer},\n\nYour statement of account {account} for {from} to {to} is attached.\n\
         Opening balance {opening} {c}; closing balance {closing} {c}; amount due now {due} {c}.\n",
        customer = names.customer(merchant.as_str(), &s.customer_id).name,
        account = s.account_id,
        from = s.period_from,
        to = s.period_to,
        opening = s.opening_balance,
        closing = s.closing_balance,
        due = s.amount_due,
        c = s.currency,
    );
    let file = format!("statement-{}-{}.html", s.account_id, s.period_to);
    std::fs::write(&path, with_attachment(&headers, &body, &file, html)).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Writes an invoice as `<dir>/<merchant>/<account>/invoice-<id>.eml` with
/// its HTML attached; returns the path.
pub fn write_invoice(
    dir: &Path,
    merchant: &MerchantId,
    names: &Directory,
    customer: &str,
    currency: &str,
    invoice: &Invoice,
    html: &str,
) -> Result<PathBuf> {
    let path = folder(dir, merchant, &invoice.account_id)?.join(format!("invoice-{}.eml", invoice.invoice_id));
    let headers = format!(
        "{envelope}Subject: Invoice {id}: {total} {currency}, due {due}\r\nX-Credit-Account: {account}\r\nX-Invoice: {id}\r\n",
        envelope = envelope(names, merchant, customer, &invoice.invoice_date),
        id = invoice.invoice_id,
        total = invoice.total,
        due = invoice.due_date,
        account = invoice.account_id,
    );
    let body = format!(
        "Dear {name},\n\nInvoice {id} for {total} {currency} is attached. Please pay by {due}, quoting {id}.\n",
        name = names.customer(merchant.as_str(), customer).name,
        id = invoice.invoice_id,
        total = invoice.total,
        due = invoice.due_date,
    );
    let file = format!("invoice-{}.html", invoice.invoice_id);
    std::fs::write(&path, with_attachment(&headers, &body, &file, html)).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_are_quoted_and_dates_are_rfc5322() {
        let p = Party { name: "Acme \"Dental\" Ltd".into(), address: vec![], email: Some("ap@acme.example".into()) };
        assert_eq!(mailbox(&p, "x@y"), "\"Acme \\\"Dental\\\" Ltd\" <ap@acme.example>");
        assert_eq!(rfc5322_date("2026-04-30"), "Thu, 30 Apr 2026 00:00:00 +0000");
    }

    #[test]
    fn attachments_are_base64_in_short_lines() {
        let html = "x".repeat(200);
        let m = with_attachment("Subject: s\r\n", "body", "a.html", &html);
        let b64 = m.split("base64\r\n\r\n").nth(1).unwrap().split("--credit-host-part--").next().unwrap();
        assert!(b64.split("\r\n").all(|l| l.len() <= 76));
        use base64::Engine as _;
        let joined: String = b64.split("\r\n").collect();
        assert_eq!(base64::engine::general_purpose::STANDARD.decode(joined).unwrap(), html.as_bytes());
    }
}

//! Banks' CSV exports, read through a column mapping.
//!
//! The mapping names, for each field of a bank line, the header of the
//! column that holds it (`field=Header`, separated by `;`). Fields:
//! `entry-ref`, `booked-on` (required), `amount` (signed: money in is
//! positive) or `credit` and `debit` (two unsigned columns), `currency`,
//! `payer-name`, `payer-account`, `remittance` (several columns may be
//! named, joined by spaces: `remittance=Details+Reference`),
//! `original-ref`, `kind` (a cell `return`, `returned`, `R` or `RT` marks a
//! return). Unmapped fields are empty; a currency column or `--currency`
//! is needed. The default mapping is the field names themselves.
//!
//! Without an `entry-ref` column (many banks' CSV has none), a line's
//! reference is `csv-` and 16 hex digits of SHA-256 over its day, amount,
//! currency, payer, remittance and how many identical lines came before it
//! in the file: the same export imported twice gives the same references.
//!
//! Money in is a credit. Money out is a return when `kind` says so or it
//! names an `original-ref`; other money out is skipped.

use std::collections::HashMap;

use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha256};

use super::{Parsed, Skipped};
use crate::api::{BankEntryKind, BankLine, Money};

/// How a bank's CSV is laid out.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Field name -> the headers of its columns.
    pub columns: Vec<(String, Vec<String>)>,
    /// The cell separator.
    pub delimiter: u8,
    /// How days are written (chrono's `strftime` syntax).
    pub date_format: String,
    /// Amounts written `1.234,56`.
    pub decimal_comma: bool,
    /// The currency when no column gives it.
    pub currency: Option<String>,
}

const FIELDS: [&str; 11] =
    ["entry-ref", "booked-on", "amount", "credit", "debit", "currency", "payer-name", "payer-account", "remittance", "original-ref", "kind"];

impl Layout {
    /// Reads a mapping `field=Header;field=Header+Header;...`; the default
    /// (`None`) maps every field to the header of its own name.
    pub fn new(mapping: Option<&str>, delimiter: u8, date_format: &str, decimal_comma: bool, currency: Option<String>) -> Result<Layout> {
        let columns = match mapping {
            None => FIELDS.iter().map(|f| ((*f).to_owned(), vec![(*f).to_owned()])).collect(),
            Some(m) => {
                let mut columns = Vec::new();
                for part in m.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                    let (field, headers) = part.split_once('=').ok_or_else(|| anyhow!("column mapping {part:?}: not field=Header"))?;
                    let field = field.trim();
                    if !FIELDS.contains(&field) {
                        bail!("column mapping {part:?}: no field {field:?} (fields: {})", FIELDS.join(", "));
                    }
                    columns.push((field.to_owned(), headers.split('+').map(|h| h.trim().to_owned()).collect()));
                }
                columns
            }
        };
        let layout = Layout { columns, delimiter, date_format: date_format.to_owned(), decimal_comma, currency };
        let has = |f: &str| layout.columns.iter().any(|(n, _)| n == f);
        if !has("booked-on") {
            bail!("column mapping: booked-on is not mapped");
        }
        if !(has("amount") || (has("credit") && has("debit"))) {
            bail!("column mapping: map amount, or both credit and debit");
        }
        if !has("currency") && layout.currency.is_none() {
            bail!("column mapping: map currency, or give --currency");
        }
        Ok(layout)
    }
}

/// Reads every row of a CSV export. A row that cannot be read is refused
/// with its line, column and why; nothing is returned then.
pub fn read(text: &str, layout: &Layout) -> Result<Parsed> {
    let mut reader = csv::ReaderBuilder::new().delimiter(layout.delimiter).flexible(false).from_reader(text.as_bytes());
    let headers = reader.headers().context("line 1: the header row")?.clone();
    let mut index: HashMap<&str, Vec<usize>> = HashMap::new();
    for (field, names) in &layout.columns {
        // Default mapping: a field whose column is absent is just unmapped.
        let default = names.len() == 1 && names[0] == *field;
        let mut found = Vec::new();
        for name in names {
            match headers.iter().position(|h| h.trim() == name) {
                Some(i) => found.push(i),
                None if default => {}
                None => bail!("line 1: no column {name:?} (for {field}); the columns are {:?}", headers.iter().collect::<Vec<_>>()),
            }
        }
        if !found.is_empty() {
            index.insert(field.as_str(), found);
        }
    }
    if !index.contains_key("booked-on") || !(index.contains_key("amount") || (index.contains_key("credit") && index.contains_key("debit"))) {
        bail!("line 1: the header row has no {} column", if index.contains_key("booked-on") { "amount" } else { "booked-on" });
    }
    let mut out = Parsed::default();
    let mut seen: HashMap<String, u32> = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| match e.position() {
            Some(p) => anyhow!("line {}: {e}", p.line()),
            None => anyhow!("{e}"),
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let at = format!("line {line}");
        let cell = |field: &str| -> String {
            index.get(field).map_or_else(String::new, |cols| {
                cols.iter().filter_map(|&i| record.get(i)).map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")
            })
        };
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let day_text = cell("booked-on");
        let day = chrono::NaiveDate::parse_from_str(&day_text, &layout.date_format)
            .map_err(|_| anyhow!("line {line}, column booked-on: {day_text:?} is not a day in the format {}", layout.date_format))?;
        let signed = if index.contains_key("amount") {
            number(&cell("amount"), layout.decimal_comma).map_err(|why| anyhow!("line {line}, column amount: {why}"))?
        } else {
            let (c, d) = (cell("credit"), cell("debit"));
            match (c.is_empty(), d.is_empty()) {
                (false, true) => number(&c, layout.decimal_comma).map_err(|why| anyhow!("line {line}, column credit: {why}"))?,
                (true, false) => -number(&d, layout.decimal_comma).map_err(|why| anyhow!("line {line}, column debit: {why}"))?.abs(),
                _ => bail!("line {line}: exactly one of the credit and debit columns must hold an amount"),
            }
        };
        let currency = match cell("currency") {
            c if c.is_empty() => layout.currency.clone().ok_or_else(|| anyhow!("line {line}, column currency: empty, and no --currency"))?,
            c => c.to_uppercase(),
        };
        let original_ref = Some(cell("original-ref")).filter(|r| !r.is_empty());
        let kind_cell = cell("kind").to_ascii_lowercase();
        let marked_return = matches!(kind_cell.as_str(), "return" | "returned" | "r" | "rt");
        let kind = if signed.is_sign_positive() && !signed.is_zero() && !marked_return {
            BankEntryKind::Credit
        } else if signed.is_zero() {
            bail!("line {line}, column amount: zero");
        } else if marked_return || original_ref.is_some() {
            BankEntryKind::Returned
        } else {
            out.skipped.push(Skipped { at, why: "money paid out".into() });
            continue;
        };
        let amount = signed.abs().to_string();
        super::check_amount(&amount, &currency).map_err(|why| anyhow!("line {line}, column amount: {why}"))?;
        let (payer_name, payer_account, remittance) = (cell("payer-name"), cell("payer-account"), cell("remittance"));
        let booked_on = day.format("%Y-%m-%d").to_string();
        let entry_ref = match cell("entry-ref") {
            r if !r.is_empty() => r,
            _ => {
                let identity = format!("{booked_on}\u{1f}{amount}\u{1f}{currency}\u{1f}{payer_name}\u{1f}{payer_account}\u{1f}{remittance}\u{1f}{kind:?}");
                let n = seen.entry(identity.clone()).or_insert(0);
                *n += 1;
                let digest = Sha256::digest(format!("{identity}\u{1f}{n}").as_bytes());
                format!("csv-{}", digest[..8].iter().map(|b| format!("{b:02x}")).collect::<String>())
            }
        };
        out.lines.push((
            at,
            BankLine { entry_ref, kind, booked_on, amount: Money { amount, currency }, payer_name, payer_account, remittance, original_ref },
        ));
    }
    Ok(out)
}

/// A signed amount as a bank writes it: `-1234.56`, `1,234.56`, or with
/// `decimal_comma` `1.234,56`; a currency sign or code around it is not
/// accepted.
fn number(text: &str, decimal_comma: bool) -> std::result::Result<rust_decimal::Decimal, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty".into());
    }
    let plain: String = if decimal_comma { t.replace('.', "").replace(',', ".") } else { t.replace(',', "") };
    let plain = plain.replace(' ', "");
    plain.parse::<rust_decimal::Decimal>().map_err(|_| format!("{t:?} is not an amount"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_in_either_notation() {
        assert_eq!(number("1,234.56", false).unwrap().to_string(), "1234.56");
        assert_eq!(number("-1.234,56", true).unwrap().to_string(), "-1234.56");
        assert!(number("£12", false).is_err());
        assert!(number("", false).is_err());
    }
}

//! ISO 20022 `camt.053` (bank to customer statement), any version from
//! `.001.02`: the entries (`Ntry`) of every statement (`Stmt`) in the file.
//!
//! Per entry, booked (`Sts` `BOOK`, or no status) only:
//! - `CdtDbtInd` `CRDT`, not a reversal (`RvslInd`): a credit; one line
//!   per transaction (`NtryDtls/TxDtls`), or one for the entry when it
//!   has none or one;
//! - `DBIT` with `RvslInd` `true`, or with return information
//!   (`TxDtls/RtrInf`), or with bank transaction code `RRTN` / `UPDD` /
//!   `RPCR` (return, unpaid direct debit, cancellation): a return;
//! - any other debit is the merchant's own money going out: skipped.
//!
//! A line's fields: `entry-ref` the transaction's `Refs/AcctSvcrRef`, else
//! the entry's `AcctSvcrRef`, else its `NtryRef` (with `/n` for the n-th
//! transaction of a batch); `booked-on` `BookgDt/Dt` (or the day of
//! `BookgDt/DtTm`); the amount `TxDtls/Amt` (or `AmtDtls/TxAmt/Amt`, else
//! the entry's `Amt`) with its `Ccy`; the payer `RltdPties/Dbtr/Nm` (or
//! `Dbtr/Pty/Nm`, `UltmtDbtr/Nm`) and `DbtrAcct/Id/IBAN` (or
//! `Id/Othr/Id`); the remittance every `RmtInf/Ustrd`, `CdtrRefInf/Ref`
//! and `RtrInf/AddtlInf`, joined by spaces; for a return, `original-ref`
//! none (the component finds the credit's reference in the remittance).

use anyhow::{Result, anyhow, bail};
use quick_xml::Reader;
use quick_xml::events::Event;

use super::{LineIndex, Parsed, Skipped};
use crate::api::{BankEntryKind, BankLine, Money};

/// What one `TxDtls` said.
#[derive(Default)]
struct Tx {
    at: usize,
    acct_svcr_ref: Option<String>,
    amount: Option<(String, String, usize)>,
    payer_name: Option<String>,
    payer_account: Option<String>,
    remittance: Vec<String>,
    returned: bool,
}

/// What one `Ntry` said.
#[derive(Default)]
struct Entry {
    at: usize,
    acct_svcr_ref: Option<String>,
    ntry_ref: Option<String>,
    amount: Option<(String, String, usize)>,
    credit: Option<bool>,
    reversal: bool,
    status: Option<String>,
    booked: Option<String>,
    family: Vec<String>,
    txs: Vec<Tx>,
}

/// Reads every entry of a camt.053 file. A file that is not well-formed
/// XML, or an entry without what a line needs, is refused with its line
/// and element named; nothing is returned then.
pub fn read(text: &str) -> Result<Parsed> {
    let ix = LineIndex::new(text);
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut path: Vec<String> = Vec::new();
    let mut entry: Option<Entry> = None;
    let mut tx: Option<Tx> = None;
    let mut pending_ccy: Option<String> = None;
    let mut out = Parsed::default();
    let mut saw_statement = false;
    loop {
        // Where the next event starts: past the whitespace the reader skips.
        let pos = reader.buffer_position() as usize;
        let at = pos + text[pos.min(text.len())..].len() - text[pos.min(text.len())..].trim_start().len();
        let event = reader.read_event().map_err(|e| {
            anyhow!("line {}: not well-formed XML: {e}", ix.line(reader.error_position() as usize))
        })?;
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                match name.as_str() {
                    "Stmt" => saw_statement = true,
                    "Ntry" if path.last().is_some_and(|p| p == "Stmt") => entry = Some(Entry { at, ..Entry::default() }),
                    "TxDtls" if entry.is_some() => tx = Some(Tx { at, ..Tx::default() }),
                    "Amt" => {
                        pending_ccy = e
                            .try_get_attribute("Ccy")
                            .map_err(|err| anyhow!("line {}: <Amt>: {err}", ix.line(at)))?
                            .map(|a| a.unescape_value().map(|v| v.into_owned()))
                            .transpose()
                            .map_err(|err| anyhow!("line {}: <Amt Ccy>: {err}", ix.line(at)))?;
                    }
                    _ => {}
                }
                path.push(name);
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                if name == "TxDtls"
                    && let (Some(t), Some(en)) = (tx.take(), entry.as_mut())
                {
                    en.txs.push(t);
                }
                if name == "Ntry"
                    && path.last().is_some_and(|p| p == "Stmt")
                    && let Some(en) = entry.take()
                {
                    lines_of(&ix, en, &mut out)?;
                }
            }
            Event::Text(t) => {
                let value = t.unescape().map_err(|err| anyhow!("line {}: {err}", ix.line(at)))?.trim().to_owned();
                if let Some(en) = entry.as_mut() {
                    take(&ix, at, &path, value, en, tx.as_mut(), pending_ccy.take())?;
                }
            }
            Event::CData(t) => {
                let value = String::from_utf8_lossy(&t).trim().to_owned();
                if let Some(en) = entry.as_mut() {
                    take(&ix, at, &path, value, en, tx.as_mut(), None)?;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !path.is_empty() {
        bail!("line {}: <{}> is not closed", ix.line(text.len()), path.last().map_or("", String::as_str));
    }
    if !saw_statement {
        bail!("line 1: no <Stmt>: not a camt.053 statement");
    }
    Ok(out)
}

/// Puts an element's text where it belongs.
fn take(ix: &LineIndex, at: usize, path: &[String], value: String, en: &mut Entry, tx: Option<&mut Tx>, ccy: Option<String>) -> Result<()> {
    let ends = |tail: &[&str]| path.len() >= tail.len() && path[path.len() - tail.len()..].iter().zip(tail).all(|(a, b)| a == b);
    let here = path.last().map_or("", String::as_str);
    if let Some(t) = tx {
        if here == "Amt" && (ends(&["TxDtls", "Amt"]) || ends(&["AmtDtls", "TxAmt", "Amt"])) {
            let ccy = ccy.ok_or_else(|| anyhow!("line {}: <Amt> without its Ccy attribute", ix.line(at)))?;
            if t.amount.is_none() {
                t.amount = Some((value, ccy, ix.line(at)));
            }
        } else if ends(&["Refs", "AcctSvcrRef"]) {
            t.acct_svcr_ref = Some(value);
        } else if here == "Nm" && (ends(&["Dbtr", "Nm"]) || ends(&["Dbtr", "Pty", "Nm"]) || ends(&["UltmtDbtr", "Nm"])) {
            if t.payer_name.is_none() {
                t.payer_name = Some(value);
            }
        } else if ends(&["DbtrAcct", "Id", "IBAN"]) || ends(&["DbtrAcct", "Id", "Othr", "Id"]) {
            t.payer_account = Some(value);
        } else if ends(&["RmtInf", "Ustrd"]) || ends(&["CdtrRefInf", "Ref"]) {
            t.remittance.push(value);
        } else if ends(&["RtrInf", "AddtlInf"]) {
            t.returned = true;
            t.remittance.push(value);
        } else if path.iter().any(|p| p == "RtrInf") {
            t.returned = true;
        } else if ends(&["Fmly", "SubFmlyCd"]) || ends(&["Prtry", "Cd"]) {
            en.family.push(value);
        }
        return Ok(());
    }
    match here {
        "Amt" if ends(&["Ntry", "Amt"]) => {
            let ccy = ccy.ok_or_else(|| anyhow!("line {}: <Amt> without its Ccy attribute", ix.line(at)))?;
            en.amount = Some((value, ccy, ix.line(at)));
        }
        "CdtDbtInd" if ends(&["Ntry", "CdtDbtInd"]) => {
            en.credit = Some(match value.as_str() {
                "CRDT" => true,
                "DBIT" => false,
                other => bail!("line {}: <CdtDbtInd> is {other:?}, not CRDT or DBIT", ix.line(at)),
            })
        }
        "RvslInd" => en.reversal = value == "true" || value == "1",
        "AcctSvcrRef" if ends(&["Ntry", "AcctSvcrRef"]) => en.acct_svcr_ref = Some(value),
        "NtryRef" => en.ntry_ref = Some(value),
        "Cd" if ends(&["Ntry", "Sts", "Cd"]) => en.status = Some(value),
        "Sts" => en.status = Some(value),
        "Dt" if ends(&["BookgDt", "Dt"]) => en.booked = Some(value),
        "DtTm" if ends(&["BookgDt", "DtTm"]) => en.booked = Some(value.chars().take(10).collect()),
        "SubFmlyCd" | "Cd" if path.iter().any(|p| p == "BkTxCd") => en.family.push(value),
        _ => {}
    }
    Ok(())
}

/// The lines of one entry, or why it cannot be read.
fn lines_of(ix: &LineIndex, en: Entry, out: &mut Parsed) -> Result<()> {
    let line = ix.line(en.at);
    let where_ = |what: &str| anyhow!("line {line}: <Ntry> {what}");
    if en.status.as_deref().is_some_and(|s| s != "BOOK") {
        out.skipped.push(Skipped { at: format!("line {line}"), why: format!("status {}, not booked", en.status.unwrap_or_default()) });
        return Ok(());
    }
    let credit = en.credit.ok_or_else(|| where_("has no <CdtDbtInd>"))?;
    let returned_code = en.family.iter().any(|c| matches!(c.as_str(), "RRTN" | "UPDD" | "RPCR"));
    let kind = match (credit, en.reversal) {
        (true, false) => BankEntryKind::Credit,
        (false, true) => BankEntryKind::Returned,
        (false, false) if returned_code || en.txs.iter().any(|t| t.returned) => BankEntryKind::Returned,
        (true, true) | (false, false) => {
            let why = if credit { "a reversed debit" } else { "money paid out" };
            out.skipped.push(Skipped { at: format!("line {line}"), why: why.into() });
            return Ok(());
        }
    };
    let booked = en.booked.ok_or_else(|| where_("has no <BookgDt>"))?;
    if chrono::NaiveDate::parse_from_str(&booked, "%Y-%m-%d").is_err() {
        bail!("line {line}: <BookgDt> {booked:?} is not a YYYY-MM-DD day");
    }
    let base = en.acct_svcr_ref.clone().or(en.ntry_ref.clone());
    let txs = if en.txs.is_empty() { vec![Tx { at: en.at, ..Tx::default() }] } else { en.txs };
    let single = txs.len() == 1;
    for (n, t) in txs.into_iter().enumerate() {
        let tline = ix.line(t.at);
        let entry_ref = match (t.acct_svcr_ref, &base) {
            (Some(r), _) => r,
            (None, Some(b)) if single => b.clone(),
            (None, Some(b)) => format!("{b}/{}", n + 1),
            (None, None) => bail!("line {line}: <Ntry> has no <AcctSvcrRef> or <NtryRef>: its lines could not be told apart on a second import"),
        };
        let (amount, currency, aline) = match (t.amount, &en.amount) {
            (Some(a), _) => a,
            (None, Some(a)) if single => a.clone(),
            (None, _) => bail!("line {tline}: <TxDtls> of a batch entry has no <Amt>"),
        };
        super::check_amount(&amount, &currency).map_err(|why| anyhow!("line {aline}: <Amt> {why}"))?;
        // Named by its entry, or by its transaction in a batch.
        out.lines.push((
            format!("line {}", if single { line } else { tline }),
            BankLine {
                entry_ref,
                kind,
                booked_on: booked.clone(),
                amount: Money { amount, currency },
                payer_name: t.payer_name.unwrap_or_default(),
                payer_account: t.payer_account.unwrap_or_default(),
                remittance: t.remittance.join(" "),
                original_ref: None,
            },
        ));
    }
    Ok(())
}

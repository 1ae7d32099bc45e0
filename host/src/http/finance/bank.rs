//! `/staff/bank`: the bank lines waiting for a person, with why and the
//! ways the money might be meant; a credit controller settles each (to an
//! account, as a payment typed in before, or dismissed), through the same
//! `bank.match-bank-line` call as `credit-host bank-review`.

use std::collections::HashMap;

use anyhow::Result;
use askama::Template;

use super::{Response, Who, page, redirect};
use crate::api::*;
use crate::http::secrets;
use crate::render::grouped;
use crate::{Ledger, MerchantId};

/// At most this many lines are shown.
const LINES_MAX: usize = 500;

struct Line {
    entry_ref: String,
    booked_on: String,
    amount: String,
    returned: bool,
    payer: String,
    remittance: String,
    why: String,
    candidates: Vec<(String, String)>,
    first_account: String,
}

#[derive(Template)]
#[template(path = "staff_bank.html")]
struct BankView {
    who: Option<Who>,
    message: String,
    csrf: String,
    nonce: String,
    controller: bool,
    lines: Vec<Line>,
    more: bool,
}

/// The page, with `message` above the list.
pub(super) fn view(ledger: &mut Ledger, m: &MerchantId, who: Who, controller: bool, message: &str) -> Result<Response> {
    let mut items = crate::bank::review_all(ledger, m, Some(LINES_MAX))?;
    let more = items.len() > LINES_MAX;
    items.truncate(LINES_MAX);
    let lines = items
        .into_iter()
        .map(|i| Line {
            first_account: i.candidates.first().map(|c| c.account_id.clone()).unwrap_or_default(),
            candidates: i
                .candidates
                .iter()
                .map(|c| {
                    let what = if c.invoice_ids.is_empty() { "on account".to_owned() } else { c.invoice_ids.join(" + ") };
                    (c.account_id.clone(), format!("{what}: {}", grouped(&c.amount)))
                })
                .collect(),
            entry_ref: i.line.entry_ref,
            booked_on: i.line.booked_on,
            amount: format!("{} {}", grouped(&i.line.amount.amount), i.line.amount.currency),
            returned: i.line.kind == BankEntryKind::Returned,
            payer: [i.line.payer_name, i.line.payer_account].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(", "),
            remittance: i.line.remittance,
            why: format!("{}: {}", crate::bank::reason_name(i.reason), i.detail),
        })
        .collect();
    let (_, nonce, _) = secrets::mint("nb")?;
    let status = if message.is_empty() { 200 } else { 422 };
    let csrf = who.csrf.clone();
    let v = BankView { who: Some(who), message: message.to_owned(), csrf, nonce: nonce[20..].to_owned(), controller, lines, more };
    Ok(page(status, v.render()?))
}

/// A controller's decision on one line: exactly one of an account, a
/// payment or a reason to dismiss.
pub(super) fn settle(ledger: &mut Ledger, m: &MerchantId, who: Who, form: &HashMap<String, String>, now_ms: i64) -> Result<Response> {
    let field = |name: &str| form.get(name).map(|s| s.trim().to_owned()).unwrap_or_default();
    let entry = field("entry");
    let decision = match (field("account"), field("payment"), field("dismiss")) {
        (a, p, d) if !a.is_empty() && p.is_empty() && d.is_empty() => BankDecision::Account(a),
        (a, p, d) if a.is_empty() && !p.is_empty() && d.is_empty() => BankDecision::Payment(p),
        (a, p, d) if a.is_empty() && p.is_empty() && !d.is_empty() => BankDecision::Dismiss(d),
        _ => return view(ledger, m, who, true, &format!("{entry}: give exactly one of an account, a payment or a reason to dismiss; nothing changed.")),
    };
    let waiting = crate::bank::review_all(ledger, m, None)?;
    let Some(item) = waiting.into_iter().find(|i| i.line.entry_ref == entry) else {
        return view(ledger, m, who, true, &format!("{entry} is not waiting (settled meanwhile?); nothing changed."));
    };
    if field("nonce").len() < 16 {
        return view(ledger, m, who, true, "The form is incomplete; reload the page.");
    }
    let ctx = CallContext { idempotency_key: format!("staff-{}-bank", field("nonce")), now_ms };
    match ledger.match_bank_line(m, &ctx, &item.line, Some(&decision))? {
        Ok(_) => Ok(redirect("/staff/bank")),
        Err(e) => view(ledger, m, who, true, &format!("{entry}: refused, nothing changed: {}.", crate::render::refusal(&e))),
    }
}

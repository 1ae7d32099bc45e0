//! `bank`: statement lines matched to accounts and invoices, recorded as
//! payments, reversed when returned, or kept for a person.

use crate::prelude::*;

use super::billing::payment_view;
use super::*;
use crate::model::Canonical;
use crate::validate;

/// How many of an account's oldest open items an amount is matched
/// against (2^16 sets at most).
pub const BANK_ITEMS_MAX: usize = 16;
/// How many candidates a review item offers at most.
const CANDIDATES_MAX: usize = 10;
/// How many of an account's latest payments a return assigned to the
/// account is looked for in.
const RETURN_LOOKBACK: u64 = 100;

fn bank_key(entry_ref: &str) -> String {
    key(&["bank/", entry_ref], None)
}
fn review_prefix() -> &'static str {
    "bankrev/"
}
fn review_key(entry_ref: &str) -> String {
    key(&[review_prefix(), entry_ref], None)
}
/// `payer/<currency>/<hash>`: the payer's identity (any text) as 32 hex
/// digits of its SHA-256, so that the key is printable ASCII of a fixed
/// length whatever the bank wrote.
fn payer_key(currency: &str, payer: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(payer.as_bytes());
    let mut hex = String::with_capacity(32);
    for b in &digest[..16] {
        for nibble in [b >> 4, b & 0xf] {
            hex.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
        }
    }
    key(&["payer/", currency, "/", &hex], None)
}

/// How a payer is known again: their bank account without spaces, else
/// their name with its spaces collapsed, both in upper case; none when the
/// bank gave neither.
fn payer_identity(line: &BankLine) -> Option<String> {
    let account: String = line.payer_account.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    if !account.is_empty() {
        return Some(alloc::format!("acct:{account}"));
    }
    let name = line.payer_name.split_whitespace().collect::<Vec<_>>().join(" ").to_uppercase();
    (!name.is_empty()).then(|| alloc::format!("name:{name}"))
}

/// The words of a remittance text that could be a reference: runs of id
/// characters (and `/`), without the dots and colons that end a sentence.
fn words(text: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for w in text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '@' | '-' | '/'))) {
        let w = w.trim_matches(|c| matches!(c, '.' | ':' | '-' | '/'));
        if !w.is_empty() && w.len() <= DOCUMENT_ID_LEN_MAX && !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

/// The reference part of a valid ISO 11649 creditor reference
/// (`RF` + two check digits + 1 to 21 letters and digits; the check is
/// ISO 7064 MOD 97-10 over the part, then `RF`, then the digits, letters
/// counted A = 10 .. Z = 35), upper case; none for anything else.
pub fn creditor_reference(word: &str) -> Option<String> {
    let w = word.to_ascii_uppercase();
    if !(5..=25).contains(&w.len()) || !w.starts_with("RF") || !w.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    if !w.as_bytes()[2].is_ascii_digit() || !w.as_bytes()[3].is_ascii_digit() {
        return None;
    }
    let rearranged = alloc::format!("{}{}", &w[4..], &w[..4]);
    let mut rest: u32 = 0;
    for b in rearranged.bytes() {
        let v = if b.is_ascii_digit() { u32::from(b - b'0') } else { u32::from(b - b'A') + 10 };
        rest = if v >= 10 { (rest * 100 + v) % 97 } else { (rest * 10 + v) % 97 };
    }
    (rest == 1).then(|| w[4..].to_owned())
}

/// The letters and digits of `id`, in upper case: how a creditor
/// reference's part is compared with invoice numbers and customer ids.
fn alnum_upper(id: &str) -> String {
    id.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_uppercase()
}

/// How an invoice number may have been meant: as written, in upper case,
/// and with only its series (the letters before the first `-`) in upper
/// case (`inv-a1-1` for `INV-a1-1`).
fn spellings(word: &str) -> Vec<String> {
    let mut out = vec![word.to_owned()];
    let mut push = |s: String| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    push(word.to_ascii_uppercase());
    if let Some((series, rest)) = word.split_once('-') {
        push(alloc::format!("{}-{rest}", series.to_ascii_uppercase()));
    }
    out
}

/// Whether `word` may be looked up as an id.
fn id_like(word: &str) -> bool {
    validate::id(word, Field::InvoiceId).is_ok()
}

/// Every set of `asks` (positive amounts) adding up to exactly `amount`,
/// as index lists, at most `max` of them, the sets of older items first.
fn exact_sets(asks: &[Decimal], amount: Decimal, max: usize) -> Vec<Vec<usize>> {
    fn walk(asks: &[Decimal], from: usize, left: Decimal, chosen: &mut Vec<usize>, out: &mut Vec<Vec<usize>>, max: usize) {
        if out.len() >= max {
            return;
        }
        if left.is_zero() && !chosen.is_empty() {
            out.push(chosen.clone());
            return;
        }
        for i in from..asks.len() {
            if asks[i] <= left {
                chosen.push(i);
                walk(asks, i + 1, left - asks[i], chosen, out, max);
                chosen.pop();
            }
        }
    }
    let mut out = Vec::new();
    walk(asks, 0, amount, &mut Vec::new(), &mut out, max);
    out
}

/// What the matching decided, before it is carried out.
enum Plan {
    /// Pay these items (each up to what it asks), the rest to stored
    /// balance; oldest due first when empty.
    Pay { account: String, items: Vec<(String, Decimal)>, rule: MatchRule },
    /// Reverse this payment.
    Reverse { payment_id: String, rule: MatchRule },
    /// Already recorded by hand as this payment (a person said so).
    Link { payment_id: String },
    /// Keep it for a person.
    Review { reason: ReviewReason, detail: String, candidates: Vec<BankCandidate> },
    /// A person dismissed it.
    Dismiss { reason: String },
}

fn review(reason: ReviewReason, detail: String, candidates: Vec<BankCandidate>) -> Plan {
    Plan::Review { reason, detail, candidates }
}

impl<K: Kv> Engine<K> {
    /// `bank.match-bank-line`.
    pub fn match_bank_line(&mut self, ctx: &Ctx, line: &BankLine, decision: Option<&BankDecision>) -> Result<BankLineResult, Error> {
        validate::ctx(ctx)?;
        validate_ref(&line.entry_ref, Field::EntryRef)?;
        if let Some(r) = &line.original_ref {
            validate_ref(r, Field::OriginalRef)?;
        }
        validate::text(&line.payer_name, Field::PayerName)?;
        validate::text(&line.payer_account, Field::PayerAccount)?;
        validate::text(&line.remittance, Field::Remittance)?;
        let (currency, amount) = money_input(&line.amount, Sign::Positive, Field::Amount)?;
        let booked_on = parse_date(&line.booked_on, Field::BookedOn)?;
        if booked_on > dates::day_of(ctx.now_ms) {
            return Err(Error::DateInFuture(Field::BookedOn));
        }
        match decision {
            Some(BankDecision::Account(id)) => validate::id(id, Field::AccountId)?,
            Some(BankDecision::Payment(id)) => validate::id(id, Field::PaymentId)?,
            Some(BankDecision::Dismiss(reason)) => validate::text(reason, Field::Reason)?,
            None => {}
        }
        let line = line.canonical();
        // A line settled before is answered without writing anything (not
        // even the key's record), so a statement imported again changes
        // nothing; a retry of the call that settled it still gets that
        // call's answer from its key.
        if self.kv.get(&idem_key(&ctx.idempotency_key)).is_none()
            && let Some(seen) = self.load::<BankRecord>(&bank_key(&line.entry_ref))?
            && !(matches!(seen.state, BankState::Review { .. }) && decision.is_some())
        {
            check_same(&seen.line, &line)?;
            return self.bank_result(seen, true);
        }
        self.idempotent(ctx, "match-bank-line", &(&line, decision), |eng| eng.bank_line(ctx, &line, currency, amount, booked_on, decision))
    }

    fn bank_line(
        &mut self,
        ctx: &Ctx,
        line: &BankLine,
        currency: Currency,
        amount: Decimal,
        booked_on: NaiveDate,
        decision: Option<&BankDecision>,
    ) -> Result<BankLineResult, Error> {
        let key = bank_key(&line.entry_ref);
        if let Some(seen) = self.load::<BankRecord>(&key)? {
            check_same(&seen.line, line)?;
            let in_review = matches!(seen.state, BankState::Review { .. });
            if !(in_review && decision.is_some()) {
                return self.bank_result(seen, true);
            }
        }
        let plan = match decision {
            Some(d) => self.decided(line, currency, amount, d)?,
            None if line.kind == BankKind::Returned => self.match_return(line)?,
            None => self.match_credit(line, currency, amount, booked_on)?,
        };
        let mut released_from_hold = false;
        let state = match plan {
            Plan::Pay { account, items, rule } => {
                let req = RecordPayment {
                    account_id: account.clone(),
                    amount: line.amount.clone(),
                    received_on: line.booked_on.clone(),
                    method: "bank-transfer".into(),
                    reference: line.entry_ref.clone(),
                    allocations: Vec::new(),
                    spread: None,
                };
                let receipt = self.pay(ctx, &req, currency, amount, booked_on, &items)?;
                released_from_hold = receipt.released_from_hold;
                if let Some(payer) = payer_identity(line) {
                    self.save(&payer_key(currency.code(), &payer), &account)?;
                }
                BankState::Recorded { payment_id: receipt.payment.payment_id, rule }
            }
            Plan::Reverse { payment_id, rule } => {
                let reason = alloc::format!("returned by the bank ({})", line.entry_ref);
                self.reverse(ctx, &payment_id, &reason)?;
                BankState::Reversed { payment_id, rule }
            }
            Plan::Link { payment_id } => BankState::Recorded { payment_id, rule: MatchRule::Person },
            Plan::Review { reason, detail, candidates } => {
                BankState::Review { reason, detail, candidates, parked_at_ms: ctx.now_ms }
            }
            Plan::Dismiss { reason } => BankState::Dismissed { reason },
        };
        if matches!(state, BankState::Review { .. }) {
            self.save(&review_key(&line.entry_ref), &())?;
        } else {
            self.kv.delete(&review_key(&line.entry_ref));
        }
        let record = BankRecord { line: line.clone(), state };
        self.save(&key, &record)?;
        Ok(BankLineResult { released_from_hold, ..self.bank_result(record, false)? })
    }

    /// What a person decided, as a plan; a decision that does not fit the
    /// line or the account is an error and changes nothing.
    fn decided(&self, line: &BankLine, currency: Currency, amount: Decimal, d: &BankDecision) -> Result<Plan, Error> {
        Ok(match (d, line.kind) {
            (BankDecision::Dismiss(reason), _) => Plan::Dismiss { reason: reason.clone() },
            (BankDecision::Account(id), BankKind::Credit) => {
                let account = self.account_for_money(id, currency)?;
                if account.status == Status::Closed {
                    return Err(Error::AccountClosed);
                }
                Plan::Pay { account: account.id, items: Vec::new(), rule: MatchRule::Person }
            }
            (BankDecision::Account(id), BankKind::Returned) => {
                // The latest payment of the account of exactly this amount.
                let mut account = self.account_for_money(id, currency)?;
                let count = self.cfg(&mut account)?.payment_count;
                let mut found = None;
                for n in (count.saturating_sub(RETURN_LOOKBACK) + 1..=count).rev() {
                    let Some(pid) = self.load::<String>(&account_payment_key(&account.id, n))? else { continue };
                    let Some(p) = self.load::<Payment>(&payment_key(&pid))? else { continue };
                    if !p.reversed && p.amount == amount {
                        found = Some(pid);
                        break;
                    }
                }
                let payment_id = found.ok_or_else(|| Error::PaymentNotFound(line.entry_ref.clone()))?;
                Plan::Reverse { payment_id, rule: MatchRule::Person }
            }
            (BankDecision::Payment(id), kind) => {
                let p: Payment = self.load(&payment_key(id))?.ok_or_else(|| Error::PaymentNotFound(id.clone()))?;
                let account = self.account(&p.account_id)?;
                ensure_currency(&account, currency)?;
                match kind {
                    BankKind::Returned if p.reversed => return Err(Error::PaymentAlreadyReversed),
                    BankKind::Returned => Plan::Reverse { payment_id: p.id, rule: MatchRule::Person },
                    BankKind::Credit => Plan::Link { payment_id: p.id },
                }
            }
        })
    }

    /// A return: the credit it names (its `original-ref`, else an
    /// `entry-ref` in its remittance) and the payment that credit made.
    fn match_return(&self, line: &BankLine) -> Result<Plan, Error> {
        let mut named: Vec<&str> = line.original_ref.iter().map(String::as_str).collect();
        named.extend(words(&line.remittance));
        for r in named {
            if validate_ref(r, Field::OriginalRef).is_err() || r == line.entry_ref {
                continue;
            }
            let Some(original) = self.load::<BankRecord>(&bank_key(r))? else { continue };
            return Ok(match original.state {
                BankState::Recorded { payment_id, .. } => {
                    let p: Payment = self.load(&payment_key(&payment_id))?.ok_or_else(|| Error::PaymentNotFound(payment_id.clone()))?;
                    if p.reversed {
                        review(ReviewReason::OriginalCreditUnknown, alloc::format!("credit {r} was paid in as {payment_id}, already reversed"), Vec::new())
                    } else {
                        Plan::Reverse { payment_id, rule: MatchRule::OriginalCredit }
                    }
                }
                _ => review(ReviewReason::OriginalCreditUnknown, alloc::format!("credit {r} was not recorded as a payment"), Vec::new()),
            });
        }
        Ok(review(ReviewReason::OriginalCreditUnknown, "the credit it gives back is not known here".into(), Vec::new()))
    }

    /// A credit: invoices named, creditor references, a customer id or a
    /// known payer with an exact amount; else review.
    fn match_credit(&self, line: &BankLine, currency: Currency, amount: Decimal, day: NaiveDate) -> Result<Plan, Error> {
        let words = words(&line.remittance);
        let payer = payer_identity(line);
        let known: Option<String> = match &payer {
            Some(p) => self.load::<String>(&payer_key(currency.code(), p))?,
            None => None,
        };

        // 1. Invoice numbers, then creditor references.
        let mut named: Vec<Invoice> = Vec::new();
        let mut rule = MatchRule::InvoiceNumber;
        for w in &words {
            for candidate in spellings(w) {
                if id_like(&candidate)
                    && let Some(inv) = self.load::<Invoice>(&invoice_key(&candidate))?
                    && !named.iter().any(|n| n.id == inv.id)
                {
                    named.push(inv);
                    break;
                }
            }
        }
        let mut customer: Option<String> = None;
        if named.is_empty() {
            for w in &words {
                let Some(part) = creditor_reference(w) else { continue };
                for candidate in [part.clone(), part.to_ascii_lowercase()] {
                    if let Some(inv) = self.load::<Invoice>(&invoice_key(&candidate))? {
                        named.push(inv);
                        break;
                    }
                    if customer.is_none()
                        && let Some(acct) = self.load::<String>(&customer_key(&candidate, currency.code()))?
                    {
                        customer = Some(acct);
                    }
                }
                if named.is_empty() && customer.is_none()
                    && let Some(acct) = &known
                {
                    // The payer's own items, compared on letters and digits.
                    for (_, item) in self.oldest_items(acct, ITEMS_PER_CALL_MAX)? {
                        if alnum_upper(&item.id) == part {
                            named.push(item);
                            break;
                        }
                    }
                }
                rule = MatchRule::CreditorReference;
            }
            if named.is_empty()
                && let Some(acct) = customer
            {
                return self.by_amount(&acct, currency, amount, day, MatchRule::CreditorReference);
            }
        }
        if !named.is_empty() {
            return self.pay_named(named, currency, amount, day, rule);
        }

        // 2. A customer id, else a known payer, and the exact amount.
        for w in &words {
            if id_like(w)
                && let Some(acct) = self.load::<String>(&customer_key(w, currency.code()))?
            {
                return self.by_amount(&acct, currency, amount, day, MatchRule::CustomerAndAmount);
            }
        }
        if let Some(acct) = known {
            return self.by_amount(&acct, currency, amount, day, MatchRule::PayerAndAmount);
        }
        Ok(review(ReviewReason::UnknownPayer, "no invoice, reference or customer named, and the payer is not known".into(), Vec::new()))
    }

    /// Money for the invoices named, in the order written, each up to what
    /// it asks on `day`; the rest is stored balance.
    fn pay_named(&self, named: Vec<Invoice>, currency: Currency, amount: Decimal, day: NaiveDate, rule: MatchRule) -> Result<Plan, Error> {
        let account_id = named[0].account_id.clone();
        if named.iter().any(|i| i.account_id != account_id) {
            let mut candidates: Vec<BankCandidate> = Vec::new();
            for inv in &named {
                match candidates.iter_mut().find(|c| c.account_id == inv.account_id) {
                    Some(c) => c.invoice_ids.push(inv.id.clone()),
                    None => candidates.push(BankCandidate { account_id: inv.account_id.clone(), invoice_ids: vec![inv.id.clone()], amount: String::new() }),
                }
            }
            for c in &mut candidates {
                let mut sum = Decimal::ZERO;
                for id in &c.invoice_ids {
                    sum = add(sum, self.ask(&self.invoice(id)?, day)?)?;
                }
                c.amount = currency.format(sum);
            }
            candidates.truncate(CANDIDATES_MAX);
            return Ok(review(ReviewReason::SeveralAccounts, "the invoices named belong to different accounts".into(), candidates));
        }
        if let Some(refused) = self.refuses(&account_id, currency)? {
            return Ok(refused);
        }
        let mut items = Vec::new();
        let mut left = amount;
        for inv in &named {
            let ask = self.ask(inv, day)?;
            if ask > Decimal::ZERO && left > Decimal::ZERO {
                let part = min(ask, left);
                left -= part;
                items.push((inv.id.clone(), part));
            }
        }
        if named.iter().all(|i| i.outstanding.is_zero()) {
            let ids: Vec<String> = named.iter().map(|i| i.id.clone()).collect();
            let detail = alloc::format!("{} already settled", ids.join(", "));
            let candidates = vec![BankCandidate { account_id, invoice_ids: Vec::new(), amount: currency.format(amount) }];
            return Ok(review(ReviewReason::InvoiceSettled, detail, candidates));
        }
        Ok(Plan::Pay { account: account_id, items, rule })
    }

    /// The account's items whose asks add up to exactly `amount`: one set
    /// pays them; none or several wait for a person.
    fn by_amount(&self, account_id: &str, currency: Currency, amount: Decimal, day: NaiveDate, rule: MatchRule) -> Result<Plan, Error> {
        if let Some(refused) = self.refuses(account_id, currency)? {
            return Ok(refused);
        }
        let mut items = Vec::new();
        for (_, inv) in self.oldest_items(account_id, BANK_ITEMS_MAX)? {
            let ask = self.ask(&inv, day)?;
            if ask > Decimal::ZERO {
                items.push((inv.id, ask));
            }
        }
        let asks: Vec<Decimal> = items.iter().map(|(_, a)| *a).collect();
        let sets = exact_sets(&asks, amount, CANDIDATES_MAX);
        let candidate = |set: &Vec<usize>| BankCandidate {
            account_id: account_id.to_owned(),
            invoice_ids: set.iter().map(|&i| items[i].0.clone()).collect(),
            amount: currency.format(amount),
        };
        match sets.len() {
            1 => Ok(Plan::Pay { account: account_id.to_owned(), items: sets[0].iter().map(|&i| items[i].clone()).collect(), rule }),
            0 => {
                let detail = alloc::format!("{} equals no set of the {} oldest open items of {account_id}", currency.format(amount), items.len());
                let on_account = BankCandidate { account_id: account_id.to_owned(), invoice_ids: Vec::new(), amount: currency.format(amount) };
                Ok(review(ReviewReason::AmountMatchesNothing, detail, vec![on_account]))
            }
            n => {
                let more = if n >= CANDIDATES_MAX { " or more" } else { "" };
                let detail = alloc::format!("{} equals {n}{more} different sets of open items of {account_id}", currency.format(amount));
                Ok(review(ReviewReason::AmbiguousAmount, detail, sets.iter().map(candidate).collect()))
            }
        }
    }

    /// A review plan when the account cannot take the money.
    fn refuses(&self, account_id: &str, currency: Currency) -> Result<Option<Plan>, Error> {
        let account = self.account(account_id)?;
        let detail = if account.status == Status::Closed {
            alloc::format!("account {account_id} is closed")
        } else if account.currency != currency.code() {
            alloc::format!("account {account_id} is in {}, the line in {}", account.currency, currency.code())
        } else {
            return Ok(None);
        };
        Ok(Some(review(ReviewReason::AccountRefuses, detail, Vec::new())))
    }

    /// What a payment on `day` must bring to settle the item.
    fn ask(&self, invoice: &Invoice, day: NaiveDate) -> Result<Decimal, Error> {
        if invoice.outstanding.is_zero() {
            return Ok(Decimal::ZERO);
        }
        let window = invoice.discount_until.as_deref().map(stored_date).transpose()?;
        let in_window = window.is_some_and(|until| day <= until) && !invoice.discount_taken;
        Ok(if in_window { invoice.outstanding - min(invoice.discount_amount, invoice.outstanding) } else { invoice.outstanding })
    }

    /// The account's open items, oldest due first, at most `max`.
    fn oldest_items(&self, account_id: &str, max: usize) -> Result<Vec<(String, Invoice)>, Error> {
        let mut out = Vec::new();
        let mut items = OpenItems::new(account_id, None);
        while out.len() < max {
            let Some((k, item)) = items.next(&self.kv)? else { break };
            out.push((k, self.invoice(&item.id)?));
        }
        Ok(out)
    }

    /// The answer for a kept line.
    fn bank_result(&self, record: BankRecord, repeated: bool) -> Result<BankLineResult, Error> {
        let payment = |id: &str| -> Result<PaymentView, Error> {
            let p: Payment = self.load(&payment_key(id))?.ok_or_else(|| Error::StoreCorrupt(alloc::format!("bank line pays missing payment {id}")))?;
            let account = self.account(&p.account_id)?;
            Ok(payment_view(&p, currency_of(&account)?))
        };
        let entry_ref = record.line.entry_ref.clone();
        let (rule, outcome) = match record.state {
            BankState::Recorded { payment_id, rule } => (Some(rule), BankOutcome::Recorded(payment(&payment_id)?)),
            BankState::Reversed { payment_id, rule } => (Some(rule), BankOutcome::Reversed(payment(&payment_id)?)),
            BankState::Review { reason, detail, candidates, parked_at_ms } => {
                (None, BankOutcome::Review(BankReviewItem { line: line_view(record.line)?, reason, detail, candidates, parked_at_ms }))
            }
            BankState::Dismissed { reason } => (None, BankOutcome::Dismissed(reason)),
        };
        Ok(BankLineResult { entry_ref, rule, outcome, repeated, released_from_hold: false })
    }

    /// `bank.bank-review`.
    pub fn bank_review(&self, after: Option<&str>, limit: u32) -> Result<Vec<BankReviewItem>, Error> {
        if let Some(a) = after {
            validate::text(a, Field::After)?;
        }
        if limit == 0 || limit > PAGE_LIMIT_MAX {
            return Err(Error::PageLimitOutOfRange);
        }
        let start = after.map(review_key);
        let rows = self.kv.scan(review_prefix(), start.as_deref(), limit);
        let mut out = Vec::with_capacity(rows.len());
        for (k, _) in rows {
            let entry_ref = &k[review_prefix().len()..];
            let record: BankRecord = self.load(&bank_key(entry_ref))?.ok_or_else(|| Error::StoreCorrupt(alloc::format!("{k} without its line")))?;
            if let BankState::Review { reason, detail, candidates, parked_at_ms } = record.state {
                out.push(BankReviewItem { line: line_view(record.line)?, reason, detail, candidates, parked_at_ms });
            }
        }
        Ok(out)
    }
}

/// A kept line as answered: its amount with the currency's minor units.
fn line_view(mut line: BankLine) -> Result<BankLine, Error> {
    let (currency, amount) = money_input(&line.amount, Sign::Positive, Field::Amount)?;
    line.amount.amount = currency.format(amount);
    Ok(line)
}

/// The same `entry-ref` must be the same entry: kind, day and amount.
fn check_same(seen: &BankLine, line: &BankLine) -> Result<(), Error> {
    if seen.kind != line.kind || seen.booked_on != line.booked_on || seen.amount != line.amount {
        return Err(Error::IdempotencyKeyReused);
    }
    Ok(())
}

/// A bank's reference: 1 ..= `ID_LEN_MAX` bytes of printable ASCII, no
/// spaces.
fn validate_ref(value: &str, field: Field) -> Result<(), Error> {
    validate::key(value, ID_LEN_MAX, field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creditor_references_are_checked_by_iso_11649() {
        // The standard's example.
        assert_eq!(creditor_reference("RF18539007547034").as_deref(), Some("539007547034"));
        assert_eq!(creditor_reference("rf18539007547034").as_deref(), Some("539007547034"));
        assert_eq!(creditor_reference("RF19539007547034"), None, "wrong check digits");
        assert_eq!(creditor_reference("RF18"), None);
        assert_eq!(creditor_reference("INV-1"), None);
    }

    #[test]
    fn exact_sets_finds_every_set_and_stops_at_the_cap() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let asks = [d("100"), d("50"), d("150"), d("25")];
        assert_eq!(exact_sets(&asks, d("150"), 10), vec![vec![0, 1], vec![2]]);
        assert_eq!(exact_sets(&asks, d("325"), 10), vec![vec![0, 1, 2, 3]]);
        assert!(exact_sets(&asks, d("1"), 10).is_empty());
        assert_eq!(exact_sets(&asks, d("150"), 1).len(), 1);
    }

    #[test]
    fn words_keep_references_and_drop_sentence_marks() {
        assert_eq!(words("Invoices INV-a1-1, INV-a1-2. Thanks: c0001"), vec!["Invoices", "INV-a1-1", "INV-a1-2", "Thanks", "c0001"]);
    }
}

//! Business events out: what each committed call did, for the merchant's
//! other systems (CRM, ERP, a data warehouse).
//!
//! Every call that changes data and is committed leaves its events in the
//! store's outbox (`Backend::outbox_append`), in the call's own unit of
//! work, right after its journal record: the events exist exactly when the
//! call's writes do. They are read off the call's answer (and its
//! arguments, for who and why), in the WIT encoding of `crate::values`,
//! so every host embedding the component can derive the same events from
//! the same answers. A refused call (an `err` answer) changes nothing and
//! has none.
//!
//! An event as delivered (`dispatch`) and listed (`credit-host events`):
//!
//! ```json
//! {"id": "ev_6f1c...", "type": "payment.recorded", "merchant": "northwind",
//!  "account-id": "acme-gbp", "at-ms": 1767600000000,
//!  "function": "billing.record-payment", "idempotency-key": "pay-17",
//!  "contract": "0.8.0", "data": {"payment": {...}, "account": {...}}}
//! ```
//!
//! `id` is stable: a hash of the merchant, the call's idempotency key, the
//! function and the event's place among the call's events. A call answered
//! again for the same key (a retry) gives the same ids, and the outbox
//! keeps the first; a receiver drops an id it has seen. `at-ms` is the
//! call's `now-ms` (the host's clock, as the component was told it).
//! Events of one account (`stream`: `account/<id>`; a company's own are
//! `company/<id>`, the bank review list's `bank`) are in the order their
//! calls committed.
//!
//! | type                     | from                                       |
//! |--------------------------|--------------------------------------------|
//! | `account.opened`         | `open-account`                             |
//! | `company.opened`         | `open-company`                             |
//! | `credit-limit.changed`   | `change-credit-limit`                      |
//! | `account.put-on-hold`    | `set-status` on-hold; `day-close` (overdue)|
//! | `account.taken-off-hold` | `day-close` (no invoice overdue any more); |
//! |                          | a payment, write-off, allocation, return   |
//! |                          | or bank line whose answer says             |
//! |                          | `released-from-hold`                       |
//! | `account.activated`      | `set-status` active                        |
//! | `account.closed`         | `set-status` closed                        |
//! | `billing-policy.changed` | `set-billing-policy`                       |
//! | `dynamic-discount.changed` | `set-dynamic-discount`                   |
//! | `note.added`             | `add-note`                                 |
//! | `hold.placed`            | `authorize` approved                       |
//! | `order.declined`         | `authorize` declined                       |
//! | `hold.amended`           | `amend-hold` approved                      |
//! | `hold.captured`          | `capture`                                  |
//! | `invoice.issued`         | `capture`                                  |
//! | `hold.released`          | `void-hold`                                |
//! | `holds.expired`          | `day-close`                                |
//! | `stored-balance.applied` | `apply-balance`                            |
//! | `credit-note.issued`     | `record-return`                            |
//! | `credit-note.cancelled`  | `cancel-credit-note`                       |
//! | `payment.recorded`       | `record-payment`; `match-bank-line`        |
//! | `payment.reversed`       | `reverse-payment`; `match-bank-line`       |
//! | `stored-balance.allocated` | `allocate-balance`                       |
//! | `stored-balance.refunded`| `refund-balance`                           |
//! | `invoice.written-off`    | `write-off`                                |
//! | `late-fee.charged`       | `day-close`                                |
//! | `interest.charged`       | `day-close`                                |
//! | `reminder.due`           | `day-close`                                |
//! | `statement.ready`        | `day-close`                                |
//! | `bank-line.to-review`    | `match-bank-line`                          |
//! | `bank-line.dismissed`    | `match-bank-line`                          |
//! | `invoice.brought-in`     | `import-invoice`                           |
//! | `stored-balance.brought-in` | `import-stored-balance`                 |
//!
//! A declined `amend-hold` changes nothing and has no event; a `day-close`
//! answered `already-closed` and a bank line answered `repeated` have none.

pub mod dispatch;

use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use crate::store::NewEvent;

/// The events of one committed call: `function` is `interface.function`,
/// `args` the arguments by parameter name and `answer` the result, both in
/// the WIT encoding (`crate::values`). An answer that is not `ok` has none.
pub fn of_call(merchant: &str, function: &str, args: &Json, answer: &Json) -> Vec<NewEvent> {
    let Some(ok) = answer.get("ok") else { return Vec::new() };
    let ctx = args.get("ctx");
    let key = ctx.and_then(|c| c.get("idempotency-key")).and_then(Json::as_str).unwrap_or("");
    let at_ms = ctx.and_then(|c| c.get("now-ms")).cloned().unwrap_or(Json::Null);
    let req = args.get("req").unwrap_or(&Json::Null);
    let mut out = Events { merchant, function, key, at_ms, list: Vec::new() };
    let account_of = |v: &Json| v.get("account-id").and_then(Json::as_str).map(str::to_owned);
    let req_account = account_of(req);
    match function {
        "accounts.open-account" => out.account("account.opened", account_of(ok), ok.clone()),
        "accounts.open-company" => {
            let company = ok.get("company-id").and_then(Json::as_str).unwrap_or("");
            out.push("company.opened", format!("company/{company}"), Some(("company-id", company)), ok.clone());
        }
        "accounts.change-credit-limit" => out.account("credit-limit.changed", account_of(ok), json!({"request": req, "account": ok})),
        "accounts.set-status" => {
            let kind = match req.get("status").and_then(Json::as_str) {
                Some("on-hold") => "account.put-on-hold",
                Some("closed") => "account.closed",
                _ => "account.activated",
            };
            out.account(kind, account_of(ok), json!({"request": req, "account": ok}));
        }
        "accounts.set-billing-policy" => out.account("billing-policy.changed", account_of(ok), json!({"request": req, "account": ok})),
        "accounts.set-dynamic-discount" => out.account("dynamic-discount.changed", req_account, json!({"request": req, "setting": ok})),
        "accounts.add-note" => out.account("note.added", req_account, ok.clone()),
        "billing.record-payment" => out.account("payment.recorded", ok.get("payment").and_then(account_of), ok.clone()),
        "billing.reverse-payment" => out.account("payment.reversed", ok.get("payment").and_then(account_of), ok.clone()),
        "billing.allocate-balance" => out.account("stored-balance.allocated", req_account, ok.clone()),
        "billing.refund-balance" => out.account("stored-balance.refunded", req_account, ok.clone()),
        "billing.write-off" => out.account("invoice.written-off", ok.get("account").and_then(account_of), json!({"request": req, "receipt": ok})),
        "billing.cancel-credit-note" => {
            out.account("credit-note.cancelled", ok.get("account").and_then(account_of), json!({"request": req, "cancellation": ok}))
        }
        "billing.day-close" => day_close(&mut out, ok),
        "bank.match-bank-line" => bank_line(&mut out, ok),
        "migration.import-invoice" => out.account("invoice.brought-in", account_of(ok), json!({"invoice": ok})),
        "migration.import-stored-balance" => out.account("stored-balance.brought-in", account_of(ok), json!({"request": req, "account": ok})),
        "checkout.authorize" => match (ok.get("tag").and_then(Json::as_str), ok.get("val")) {
            (Some("approved"), Some(a)) => out.account("hold.placed", a.get("hold").and_then(account_of), a.clone()),
            (_, Some(d)) => out.account("order.declined", req_account, json!({"request": req, "decline": d})),
            _ => {}
        },
        "checkout.amend-hold" => {
            if let (Some("approved"), Some(a)) = (ok.get("tag").and_then(Json::as_str), ok.get("val")) {
                out.account("hold.amended", a.get("hold").and_then(account_of), a.clone());
            }
        }
        "checkout.capture" => {
            let account = ok.get("hold").and_then(account_of);
            out.account("hold.captured", account.clone(), json!({"hold": ok.get("hold"), "captured": ok.get("captured"), "released": ok.get("released"), "after": ok.get("after")}));
            out.account("invoice.issued", account, json!({"invoice": ok.get("invoice")}));
        }
        "checkout.void-hold" => out.account("hold.released", ok.get("hold").and_then(account_of), ok.clone()),
        "checkout.apply-balance" => out.account("stored-balance.applied", req_account, json!({"request": req, "application": ok})),
        "checkout.record-return" => out.account("credit-note.issued", req_account, json!({"request": req, "credit-note": ok})),
        _ => {}
    }
    // Money in that lifted day-close's overdue hold says so in its answer
    // (day-close tells its own above): the account is the one the call's
    // event was about, the day the call's.
    if function != "billing.day-close"
        && ok.get("released-from-hold").and_then(Json::as_bool) == Some(true)
        && let Some(account) = out.list.last().and_then(|e| e.stream.strip_prefix("account/")).map(str::to_owned)
    {
        let date = out.at_ms.as_i64().and_then(chrono::DateTime::from_timestamp_millis).map(|t| t.date_naive().to_string());
        out.account("account.taken-off-hold", Some(account), json!({"date": date, "reason": "overdue"}));
    }
    out.list
}

fn day_close(out: &mut Events, report: &Json) {
    if report.get("already-closed").and_then(Json::as_bool) == Some(true) {
        return;
    }
    let account = report.get("account-id").and_then(Json::as_str).map(str::to_owned);
    let date = report.get("date").cloned().unwrap_or(Json::Null);
    let each = |v: &Json, field: &str| v.get(field).and_then(Json::as_array).cloned().unwrap_or_default();
    if report.get("holds-expired").and_then(Json::as_u64).is_some_and(|n| n > 0) {
        out.account("holds.expired", account.clone(), json!({"date": date, "count": report.get("holds-expired")}));
    }
    for charge in each(report, "late-fees") {
        out.account("late-fee.charged", account.clone(), json!({"date": date, "charge": charge}));
    }
    for charge in each(report, "interest") {
        out.account("interest.charged", account.clone(), json!({"date": date, "charge": charge}));
    }
    for reminder in each(report, "reminders") {
        out.account("reminder.due", account.clone(), reminder);
    }
    if report.get("put-on-hold").and_then(Json::as_bool) == Some(true) {
        out.account("account.put-on-hold", account.clone(), json!({"date": date, "reason": "overdue"}));
    }
    if report.get("released-from-hold").and_then(Json::as_bool) == Some(true) {
        out.account("account.taken-off-hold", account.clone(), json!({"date": date, "reason": "overdue"}));
    }
    if let Some(statement) = report.get("statement").filter(|s| !s.is_null()) {
        out.account("statement.ready", account, statement.clone());
    }
}

fn bank_line(out: &mut Events, result: &Json) {
    if result.get("repeated").and_then(Json::as_bool) == Some(true) {
        return;
    }
    let entry_ref = result.get("entry-ref").cloned().unwrap_or(Json::Null);
    let rule = result.get("rule").cloned().unwrap_or(Json::Null);
    let Some(outcome) = result.get("outcome") else { return };
    let val = outcome.get("val").cloned().unwrap_or(Json::Null);
    let account = val.get("account-id").and_then(Json::as_str).map(str::to_owned);
    let bank = json!({"entry-ref": entry_ref, "rule": rule});
    match outcome.get("tag").and_then(Json::as_str) {
        Some("recorded") => out.account("payment.recorded", account, json!({"payment": val, "bank-line": bank})),
        Some("reversed") => out.account("payment.reversed", account, json!({"payment": val, "bank-line": bank})),
        Some("review") => out.push("bank-line.to-review", "bank".to_owned(), None, json!({"item": val, "bank-line": bank})),
        Some("dismissed") => out.push("bank-line.dismissed", "bank".to_owned(), None, json!({"why": val, "bank-line": bank})),
        _ => {}
    }
}

/// The events of one call, as they are made.
struct Events<'a> {
    merchant: &'a str,
    function: &'a str,
    key: &'a str,
    at_ms: Json,
    list: Vec<NewEvent>,
}

impl Events<'_> {
    fn account(&mut self, kind: &str, account: Option<String>, data: Json) {
        let account = account.unwrap_or_default();
        self.push(kind, format!("account/{account}"), Some(("account-id", &account)), data);
    }

    /// Writes the body field by field, in a fixed order (no map of it is
    /// built: this runs in every committed call).
    fn push(&mut self, kind: &str, stream: String, subject: Option<(&str, &str)>, data: Json) {
        let id = id(self.merchant, self.key, self.function, self.list.len());
        let mut body = Vec::with_capacity(1024);
        let mut field = |name: &str, value: &dyn erased::Value| {
            body.push(if body.is_empty() { b'{' } else { b',' });
            body.push(b'"');
            body.extend_from_slice(name.as_bytes());
            body.extend_from_slice(b"\":");
            value.write(&mut body);
        };
        field("id", &id.as_str());
        field("type", &kind);
        field("merchant", &self.merchant);
        if let Some((name, value)) = subject {
            field(name, &value);
        }
        field("at-ms", &&self.at_ms);
        field("function", &self.function);
        field("idempotency-key", &self.key);
        field("contract", &crate::WIT_VERSION);
        field("data", &&data);
        body.push(b'}');
        self.list.push(NewEvent { id, stream, body });
    }
}

/// A value written as JSON into a body.
mod erased {
    pub trait Value {
        fn write(&self, out: &mut Vec<u8>);
    }

    impl Value for &str {
        fn write(&self, out: &mut Vec<u8>) {
            serde_json::to_writer(out, self).expect("a string always serializes");
        }
    }

    impl Value for &serde_json::Value {
        fn write(&self, out: &mut Vec<u8>) {
            serde_json::to_writer(out, self).expect("a JSON value always serializes");
        }
    }
}

/// The stable id of the `index`th event of a call (module docs).
fn id(merchant: &str, key: &str, function: &str, index: usize) -> String {
    let mut h = Sha256::new();
    for part in [merchant, key, function, &index.to_string()] {
        h.update(part.len().to_le_bytes());
        h.update(part.as_bytes());
    }
    format!("ev_{}", crate::http::secrets::hex(&h.finalize()[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(events: &[NewEvent]) -> Vec<String> {
        events.iter().map(|e| serde_json::from_slice::<Json>(&e.body).unwrap()["type"].as_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn a_refused_call_has_no_events_and_a_retry_has_the_same_ids() {
        let args = json!({"ctx": {"idempotency-key": "k1", "now-ms": 5}, "account-id": "a1", "date": "2026-01-02"});
        let report = json!({"account-id": "a1", "date": "2026-01-02", "part": 1, "complete": true, "late-fees": [{"invoice-id": "I1", "item-id": "F1", "amount": "5.00"}],
            "interest": [], "reminders": [{"invoice-id": "I1"}], "put-on-hold": true, "released-from-hold": false, "holds-expired": 0, "statement": null, "already-closed": false});
        assert!(of_call("m", "billing.day-close", &args, &json!({"err": {"tag": "account-not-found"}})).is_empty());
        let first = of_call("m", "billing.day-close", &args, &json!({"ok": report}));
        assert_eq!(types(&first), ["late-fee.charged", "reminder.due", "account.put-on-hold"]);
        assert!(first.iter().all(|e| e.stream == "account/a1"));
        let again = of_call("m", "billing.day-close", &args, &json!({"ok": report}));
        assert_eq!(first, again);
        let ids: std::collections::BTreeSet<_> = first.iter().map(|e| &e.id).collect();
        assert_eq!(ids.len(), 3);
        // Another merchant, another key: other ids.
        assert_ne!(of_call("m2", "billing.day-close", &args, &json!({"ok": report}))[0].id, first[0].id);
        let mut closed = report.clone();
        closed["already-closed"] = json!(true);
        assert!(of_call("m", "billing.day-close", &args, &json!({"ok": closed})).is_empty());
    }

    #[test]
    fn money_that_lifts_the_overdue_hold_takes_the_account_off_hold() {
        let args = json!({"ctx": {"idempotency-key": "pay-1", "now-ms": 1767600000000u64}, "req": {"account-id": "a1"}});
        let receipt = |released: bool| {
            json!({"ok": {"payment": {"payment-id": "P-a1-1", "account-id": "a1"}, "account": {"account-id": "a1"}, "released-from-hold": released}})
        };
        let events = of_call("m", "billing.record-payment", &args, &receipt(true));
        assert_eq!(types(&events), ["payment.recorded", "account.taken-off-hold"]);
        let off: Json = serde_json::from_slice(&events[1].body).unwrap();
        assert_eq!((off["account-id"].as_str(), off["data"]["date"].as_str()), (Some("a1"), Some("2026-01-05")));
        assert_eq!(events[1].stream, "account/a1");
        assert_eq!(types(&of_call("m", "billing.record-payment", &args, &receipt(false))), ["payment.recorded"]);
        let bank = json!({"ok": {"entry-ref": "E1", "rule": "invoice-number", "repeated": false, "released-from-hold": true,
            "outcome": {"tag": "recorded", "val": {"payment-id": "P-a1-2", "account-id": "a1"}}}});
        assert_eq!(types(&of_call("m", "bank.match-bank-line", &args, &bank)), ["payment.recorded", "account.taken-off-hold"]);
    }

    #[test]
    fn the_body_names_the_account_time_and_call() {
        let args = json!({"ctx": {"idempotency-key": "auth-1", "now-ms": 1767600000000u64}, "req": {"account-id": "a1", "order-id": "SO-1"}});
        let ok = json!({"tag": "declined", "val": {"reason": "over-limit", "requested": "10.00", "shortfall": "2.00"}});
        let events = of_call("shop", "checkout.authorize", &args, &json!({"ok": ok}));
        let body: Json = serde_json::from_slice(&events[0].body).unwrap();
        assert_eq!(body["type"], "order.declined");
        assert_eq!(body["account-id"], "a1");
        assert_eq!(body["at-ms"], 1767600000000u64);
        assert_eq!(body["idempotency-key"], "auth-1");
        assert_eq!(body["data"]["decline"]["shortfall"], "2.00");
        assert_eq!(body["id"], events[0].id.as_str());
        assert!(events[0].id.starts_with("ev_") && events[0].id.len() == 35);
    }
}

//! Delivering the outbox to subscribed URLs (`credit-host events
//! dispatch`).
//!
//! A subscription is a URL, a secret and optional filters (one merchant,
//! some event types), kept as a host record (`events/sub/<name>`). Each
//! event is `POST`ed on its own, the body exactly as the outbox holds it,
//! with these headers:
//!
//! - `Credit-Event-Id`, `Credit-Event-Type`: the body's `id` and `type`;
//! - `Credit-Signature: t=<ms>,v1=<hex>`: `<ms>` the time of sending (Unix
//!   milliseconds) and `<hex>` the HMAC-SHA256, keyed with the
//!   subscription's secret, of `<ms>.<body>`. A receiver recomputes it,
//!   compares in constant time, and refuses a `t` too far from its clock.
//!
//! An answer 200 to 299 delivers it; anything else (another status, no
//! answer within the timeout, a refused connection) is a failure, written
//! to the delivery log with what happened, and the event is tried again
//! after a wait that doubles with each failure (`Backoff`). Until it is
//! delivered, later events of the same stream (account) wait: receivers
//! see each account's events in order. Other accounts' events go on.
//!
//! Delivery is at least once: progress is written after every batch of
//! sends, so a dispatcher stopped in between sends a few events again on
//! its next start, with the same ids; a receiver drops ids it has seen.
//!
//! Progress (`events/progress/<name>`) is a floor (every event at or
//! below it is delivered or filtered out) and the positions above it that
//! are done. The floor never passes `Backend::outbox_settled`, so an event
//! committed late at a low position (PostgreSQL, many servers) is still
//! found. Run one dispatcher per database.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::http::secrets;
use crate::store::{Backend, EventRow};

const SUB: &str = "events/sub/";
const PROGRESS: &str = "events/progress/";
const LOG: &str = "events/log/";

/// Events read from the outbox per page.
const PAGE: u32 = 500;
/// Sends between two writes of progress and log.
const BATCH: usize = 100;
/// The longest error text kept in the log.
const ERROR_LEN_MAX: usize = 300;

/// A subscription (a host record).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Subscription {
    /// Its name, `A-Z a-z 0-9 . _ -`.
    pub name: String,
    /// Where events are `POST`ed: `http://` or `https://`.
    pub url: String,
    /// The HMAC key.
    pub secret: String,
    /// Only this merchant's events, when given.
    pub merchant: Option<String>,
    /// Only these types, when not empty.
    pub types: Vec<String>,
    /// When it was made (Unix ms).
    pub created_ms: i64,
}

impl Subscription {
    fn wants(&self, row: &EventRow, kind: &str) -> bool {
        self.merchant.as_ref().is_none_or(|m| *m == row.merchant) && (self.types.is_empty() || self.types.iter().any(|t| t == kind))
    }
}

/// What a subscription has delivered (a host record).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Progress {
    floor: u64,
    done: BTreeSet<u64>,
    failing: BTreeMap<u64, Failing>,
    delivered: u64,
}

/// An event that failed, and when it is tried again.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Failing {
    attempts: u32,
    next_ms: i64,
    error: String,
}

/// One attempt to deliver one event (a host record, the delivery log).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Attempt {
    /// The subscription.
    pub subscription: String,
    /// The event's position and id.
    pub seq: u64,
    /// The event's id.
    pub id: String,
    /// The event's type.
    pub kind: String,
    /// Which attempt, from 1.
    pub attempt: u32,
    /// When it was sent (Unix ms).
    pub at_ms: i64,
    /// The HTTP status answered, if any.
    pub status: Option<u16>,
    /// What went wrong; empty when delivered.
    pub error: String,
    /// How long the receiver took.
    pub ms: u64,
}

/// Waits between attempts: `first_ms`, doubled after each failure, at most
/// `max_ms`.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    /// The wait after the first failure.
    pub first_ms: u64,
    /// The longest wait.
    pub max_ms: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { first_ms: 1_000, max_ms: 3_600_000 }
    }
}

impl Backoff {
    fn wait_ms(&self, attempts: u32) -> i64 {
        let doubled = self.first_ms.saturating_mul(1u64 << attempts.saturating_sub(1).min(40));
        doubled.min(self.max_ms) as i64
    }
}

/// Adds a subscription; its secret is drawn when `secret` is `None`.
pub fn subscribe(store: &mut dyn Backend, name: &str, url: &str, secret: Option<&str>, merchant: Option<&str>, types: &[String], now_ms: i64) -> Result<Subscription> {
    if name.is_empty() || name.len() > 64 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
        bail!("subscription name {name:?}: 1 to 64 of A-Z a-z 0-9 . _ -");
    }
    let parsed: ureq::http::Uri = url.parse().with_context(|| format!("--url {url:?} is not a URL"))?;
    if !matches!(parsed.scheme_str(), Some("http" | "https")) || parsed.host().is_none() {
        bail!("--url {url:?}: an http:// or https:// URL with a host");
    }
    if let Some(s) = secret
        && s.len() < 16
    {
        bail!("--secret: at least 16 characters");
    }
    if let Some(t) = types.iter().find(|t| !TYPES.contains(&t.as_str())) {
        bail!("--type {t:?} is not an event type (one of: {})", TYPES.join(", "));
    }
    if store.host_get(&format!("{SUB}{name}"))?.is_some() {
        bail!("a subscription named {name:?} exists (unsubscribe it first)");
    }
    let secret = match secret {
        Some(s) => s.to_owned(),
        None => format!("whsec_{}", secrets::hex(&secrets::random::<24>()?)),
    };
    let sub = Subscription { name: name.to_owned(), url: url.to_owned(), secret, merchant: merchant.map(str::to_owned), types: types.to_vec(), created_ms: now_ms };
    secrets::save(store, &format!("{SUB}{name}"), &sub)?;
    Ok(sub)
}

/// The event types (`crate::events`), for checking filters.
pub const TYPES: &[&str] = &[
    "account.opened",
    "company.opened",
    "credit-limit.changed",
    "account.put-on-hold",
    "account.taken-off-hold",
    "account.activated",
    "account.closed",
    "billing-policy.changed",
    "dynamic-discount.changed",
    "note.added",
    "hold.placed",
    "order.declined",
    "hold.amended",
    "hold.captured",
    "invoice.issued",
    "hold.released",
    "holds.expired",
    "stored-balance.applied",
    "credit-note.issued",
    "credit-note.cancelled",
    "payment.recorded",
    "payment.reversed",
    "stored-balance.allocated",
    "stored-balance.refunded",
    "invoice.written-off",
    "late-fee.charged",
    "interest.charged",
    "reminder.due",
    "statement.ready",
    "bank-line.to-review",
    "bank-line.dismissed",
    "invoice.brought-in",
    "stored-balance.brought-in",
];

/// Removes a subscription with its progress (its log stays).
pub fn unsubscribe(store: &mut dyn Backend, name: &str) -> Result<()> {
    if store.host_get(&format!("{SUB}{name}"))?.is_none() {
        bail!("no subscription named {name:?}");
    }
    store.host_write(&[(format!("{SUB}{name}"), None), (format!("{PROGRESS}{name}"), None)])
}

/// Every subscription, by name.
pub fn subscriptions(store: &mut dyn Backend) -> Result<Vec<Subscription>> {
    secrets::load_all(store, SUB)
}

/// Where a subscription stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standing {
    /// Every event at or below this position is delivered (or not wanted).
    pub floor: u64,
    /// Events delivered so far.
    pub delivered: u64,
    /// Events failing now, with their attempts and last error.
    pub failing: Vec<(u64, u32, String)>,
}

/// Where `name` stands.
pub fn standing(store: &mut dyn Backend, name: &str) -> Result<Standing> {
    let p: Progress = secrets::load(store, &format!("{PROGRESS}{name}"))?.unwrap_or_default();
    Ok(Standing { floor: p.floor, delivered: p.delivered, failing: p.failing.iter().map(|(s, f)| (*s, f.attempts, f.error.clone())).collect() })
}

/// The delivery log of `name` (every subscription when `None`), oldest
/// first per subscription.
pub fn log(store: &mut dyn Backend, name: Option<&str>) -> Result<Vec<Attempt>> {
    let prefix = match name {
        Some(n) => format!("{LOG}{n}/"),
        None => LOG.to_owned(),
    };
    secrets::load_all(store, &prefix)
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Events delivered.
    pub delivered: u64,
    /// Attempts that failed.
    pub failed: u64,
    /// Events waiting: for their retry time, or behind one of their stream
    /// that is.
    pub waiting: u64,
}

/// Sends events to one subscription's URL.
pub struct Sender {
    agent: ureq::Agent,
}

impl Sender {
    /// A sender whose requests give up after `timeout`.
    pub fn new(timeout: Duration) -> Sender {
        let config = ureq::Agent::config_builder().timeout_global(Some(timeout)).http_status_as_error(false).build();
        Sender { agent: config.into() }
    }

    /// POSTs one event; the status answered, or what went wrong.
    fn send(&self, sub: &Subscription, row: &EventRow, kind: &str, now_ms: i64) -> (Option<u16>, String) {
        let t = now_ms.to_string();
        let signature = format!("t={t},v1={}", sign(&sub.secret, &t, &row.body));
        let sent = self
            .agent
            .post(&sub.url)
            .header("Content-Type", "application/json")
            .header("Credit-Event-Id", &row.id)
            .header("Credit-Event-Type", kind)
            .header("Credit-Signature", &signature)
            .send(&row.body[..]);
        match sent {
            Ok(mut answer) => {
                let status = answer.status().as_u16();
                if (200..300).contains(&status) {
                    (Some(status), String::new())
                } else {
                    let text = answer.body_mut().with_config().limit(4096).read_to_string().unwrap_or_default();
                    (Some(status), clip(&format!("answered {status}: {}", text.trim())))
                }
            }
            Err(e) => (None, clip(&e.to_string())),
        }
    }
}

fn clip(s: &str) -> String {
    match s.char_indices().nth(ERROR_LEN_MAX) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_owned(),
    }
}

/// The `v1` signature of a body sent at `t` (module docs).
pub fn sign(secret: &str, t: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    secrets::hex(&mac.finalize().into_bytes())
}

/// One pass for one subscription: every event not yet delivered, in
/// position order, that is due at `now_ms()` and not behind a failing event
/// of its stream, is sent once. Progress and log are written after every
/// `BATCH` sends and at the end.
pub fn pass(store: &mut dyn Backend, sender: &Sender, sub: &Subscription, backoff: Backoff, mut now_ms: impl FnMut() -> i64) -> Result<Pass> {
    let key = format!("{PROGRESS}{}", sub.name);
    let mut progress: Progress = secrets::load(store, &key)?.unwrap_or_default();
    let settled = store.outbox_settled()?;
    let mut out = Pass::default();
    let mut waiting_streams: HashSet<(String, String)> = HashSet::new();
    let mut first_open: Option<u64> = None;
    let mut log: Vec<(String, Option<Vec<u8>>)> = Vec::new();
    let mut sends = 0;
    let mut after = progress.floor;
    loop {
        let rows = store.outbox_scan(after, PAGE)?;
        for row in &rows {
            if progress.done.contains(&row.seq) {
                continue;
            }
            let stream = (row.merchant.clone(), row.stream.clone());
            let kind = kind_of(&row.body);
            if !sub.wants(row, &kind) {
                progress.done.insert(row.seq);
                continue;
            }
            let due = progress.failing.get(&row.seq).is_none_or(|f| f.next_ms <= now_ms());
            if waiting_streams.contains(&stream) || !due {
                out.waiting += 1;
                first_open.get_or_insert(row.seq);
                waiting_streams.insert(stream);
                continue;
            }
            let at_ms = now_ms();
            let started = Instant::now();
            let (status, error) = sender.send(sub, row, &kind, at_ms);
            let ms = started.elapsed().as_millis() as u64;
            let attempts = progress.failing.get(&row.seq).map_or(0, |f| f.attempts) + 1;
            let attempt = Attempt { subscription: sub.name.clone(), seq: row.seq, id: row.id.clone(), kind, attempt: attempts, at_ms, status, error: error.clone(), ms };
            log.push((format!("{LOG}{}/{:020}/{attempts:06}", sub.name, row.seq), Some(serde_json::to_vec(&attempt)?)));
            if error.is_empty() {
                progress.done.insert(row.seq);
                progress.failing.remove(&row.seq);
                progress.delivered += 1;
                out.delivered += 1;
            } else {
                let next_ms = at_ms.saturating_add(backoff.wait_ms(attempts));
                progress.failing.insert(row.seq, Failing { attempts, next_ms, error });
                out.failed += 1;
                first_open.get_or_insert(row.seq);
                waiting_streams.insert(stream);
            }
            sends += 1;
            if sends % BATCH == 0 {
                save(store, &key, &mut progress, &mut log, None)?;
            }
        }
        match rows.last() {
            Some(r) if rows.len() == PAGE as usize => after = r.seq,
            _ => break,
        }
    }
    // Everything below the first event still open (and below what is
    // settled) is done: the floor moves up and the done set shrinks.
    let floor = first_open.map_or(settled, |s| settled.min(s - 1)).max(progress.floor);
    save(store, &key, &mut progress, &mut log, Some(floor))?;
    Ok(out)
}

fn save(store: &mut dyn Backend, key: &str, progress: &mut Progress, log: &mut Vec<(String, Option<Vec<u8>>)>, floor: Option<u64>) -> Result<()> {
    if let Some(floor) = floor {
        progress.floor = floor;
        progress.done = progress.done.split_off(&(floor + 1));
    }
    log.push((key.to_owned(), Some(serde_json::to_vec(progress)?)));
    store.host_write(log)?;
    log.clear();
    Ok(())
}

/// The `type` of an event body.
pub fn kind_of(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Kind {
        #[serde(rename = "type")]
        kind: String,
    }
    serde_json::from_slice::<Kind>(body).map(|k| k.kind).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_time_dot_body() {
        // The expected value from Python's hmac module:
        // hmac.new(secret, b"1767600000000." + body, hashlib.sha256).hexdigest()
        let body = br#"{"id":"ev_1","type":"payment.recorded"}"#;
        assert_eq!(sign("whsec_test_secret_0123", "1767600000000", body), "17fa73029b053361d2314fa8fbe6472f5f24d2089fb8f374aba1172fdf1411fa");
        assert_ne!(sign("whsec_test_secret_0123", "1767600000001", body), sign("whsec_test_secret_0123", "1767600000000", body));
        assert_ne!(sign("whsec_test_secret_0124", "1767600000000", body), sign("whsec_test_secret_0123", "1767600000000", body));
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let b = Backoff { first_ms: 100, max_ms: 1_000 };
        assert_eq!([1, 2, 3, 4, 5, 60].map(|n| b.wait_ms(n)), [100, 200, 400, 800, 1_000, 1_000]);
    }
}

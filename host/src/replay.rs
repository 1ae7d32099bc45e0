//! Replaying a journal (`crate::journal`), in order, through a component on
//! an empty store in memory and comparing each answer with the recorded
//! one: what a merchant runs on a copy of their database before switching
//! builds (`credit-host replay`).

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde_json::Value as Json;

use crate::component::Component;
use crate::journal::Record;
use crate::ledger::{Ledger, MerchantId};
use crate::store::Backend;

/// One answer that differs.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    /// The record's position in the journal.
    pub seq: u64,
    /// The merchant.
    pub merchant: String,
    /// `interface.function`.
    pub function: String,
    /// The arguments, WIT-encoded.
    pub args: Json,
    /// The answer recorded when the call was made.
    pub recorded: Json,
    /// The answer of the build replayed.
    pub replayed: Json,
    /// Where they differ (JSON paths), at most `PATHS_MAX`.
    pub paths: Vec<String>,
}

/// Paths kept per difference.
pub const PATHS_MAX: usize = 12;

/// Calls replayed and how many answered alike, for one function.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count {
    /// Calls replayed.
    pub replayed: u64,
    /// Calls whose answer was the recorded one.
    pub identical: u64,
}

/// What a replay found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplayReport {
    /// Calls replayed.
    pub replayed: u64,
    /// Calls whose answer was the recorded one.
    pub identical: u64,
    /// Per function.
    pub per_function: BTreeMap<String, Count>,
    /// The differences, first divergence first (at most `keep`).
    pub differences: Vec<Difference>,
}

impl ReplayReport {
    /// Calls whose answer differed.
    pub fn different(&self) -> u64 {
        self.replayed - self.identical
    }
}

/// Runs every record of `source`'s journal, in order, through `component`
/// on an empty store in memory, and compares the answers. Keeps the first
/// `keep` differences; counts all of them. `progress` gets the number of
/// calls replayed (at most once per page).
pub fn replay(source: &mut dyn Backend, component: &Component, keep: usize, progress: &mut dyn FnMut(u64)) -> Result<ReplayReport> {
    let mut target = Ledger::open_in_memory(component);
    target.set_journal(false);
    let mut report = ReplayReport::default();
    let mut after = 0;
    loop {
        let page = source.journal_scan(after, 500)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for row in page {
            let record = Record::parse(&row.record).with_context(|| format!("journal record {}", row.seq))?;
            let (args, recorded) = record.to_wit(component).with_context(|| format!("journal record {} ({})", row.seq, record.function))?;
            let merchant = MerchantId::new(row.merchant.clone())?;
            // A call the build cannot take or that traps is a difference too.
            let replayed = target.call_json(&merchant, &record.function, &args).unwrap_or_else(|e| serde_json::json!({ "failed": format!("{e:#}") }));
            report.replayed += 1;
            let count = report.per_function.entry(record.function.clone()).or_default();
            count.replayed += 1;
            if covers(&recorded, &replayed) {
                report.identical += 1;
                count.identical += 1;
            } else if report.differences.len() < keep {
                let mut paths = Vec::new();
                differing_paths(&recorded, &replayed, "answer", &mut paths);
                report.differences.push(Difference { seq: row.seq, merchant: row.merchant, function: record.function, args, recorded, replayed, paths });
            }
        }
        progress(report.replayed);
    }
    Ok(report)
}

/// Whether `replayed` gives every value `recorded` has: a field a later
/// contract added to an answer (`payment-receipt.released-from-hold` in
/// 0.8.0, say) is not in an older recording and is not compared; every
/// recorded field, list item and case is.
pub fn covers(recorded: &Json, replayed: &Json) -> bool {
    match (recorded, replayed) {
        (Json::Object(r), Json::Object(n)) => r.iter().all(|(k, v)| n.get(k).is_some_and(|w| covers(v, w))),
        (Json::Array(r), Json::Array(n)) => r.len() == n.len() && r.iter().zip(n).all(|(v, w)| covers(v, w)),
        _ => recorded == replayed,
    }
}

/// The paths at which `a` and `b` differ, deepest first found, at most
/// `PATHS_MAX`.
pub fn differing_paths(a: &Json, b: &Json, path: &str, out: &mut Vec<String>) {
    if out.len() >= PATHS_MAX || a == b {
        return;
    }
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                differing_paths(x.get(k).unwrap_or(&Json::Null), y.get(k).unwrap_or(&Json::Null), &format!("{path}.{k}"), out);
            }
        }
        (Json::Array(x), Json::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                differing_paths(p, q, &format!("{path}[{i}]"), out);
            }
        }
        _ => out.push(format!("{path}: {a} -> {b}")),
    }
}

#[cfg(test)]
mod tests {
    use super::covers;
    use serde_json::json;

    #[test]
    fn a_field_added_since_is_not_compared_and_every_recorded_value_is() {
        let recorded = json!({"ok": {"payment": {"amount": "10.00"}, "items": [1, 2]}});
        let mut replayed = json!({"ok": {"payment": {"amount": "10.00"}, "items": [1, 2], "released-from-hold": true}});
        assert!(covers(&recorded, &replayed));
        replayed["ok"]["payment"]["amount"] = json!("10.01");
        assert!(!covers(&recorded, &replayed));
        assert!(!covers(&recorded, &json!({"ok": {"payment": {"amount": "10.00"}, "items": [1, 2, 3]}})));
        assert!(!covers(&recorded, &json!({"ok": {"items": [1, 2]}})), "a recorded field gone");
        assert!(!covers(&recorded, &json!({"err": {"tag": "account-not-found"}})));
    }
}

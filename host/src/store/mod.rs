//! Where the component's data lives: the host side of the WIT `store`
//! interface, one trait and one file per backend: SQLite in a file
//! (`sqlite`, durable, the default), PostgreSQL shared by many host
//! processes (`postgres`), and memory (`memory`, for tests).
//!
//! Every key belongs to a merchant. The component never sees the merchant:
//! the host fixes it for the duration of a call, so one merchant's call
//! cannot name another's keys.

mod memory;
mod postgres;
mod sqlite;

use anyhow::Result;

pub use memory::MemoryBackend;
pub use postgres::{PostgresBackend, SCHEMA_VERSION as POSTGRES_SCHEMA_VERSION};
pub use sqlite::{DatabaseGone, SqliteBackend};

/// Another unit of work on the same rows won a race (PostgreSQL broke a
/// deadlock, or two units created the same key at once). Nothing of the
/// unit was kept; the ledger runs the call again, a bounded number of
/// times, and the caller never sees it.
#[derive(Debug)]
pub struct Conflict(pub String);

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "conflict with another call: {}", self.0)
    }
}

impl std::error::Error for Conflict {}

/// Whether `e` (or anything it wraps) is a `Conflict`.
pub fn is_conflict(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<Conflict>())
}

/// One record of the journal of mutating calls (`crate::journal`), at its
/// position: positions rise with every record, over every merchant, in the
/// order the calls committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalRow {
    /// Its position, from 1.
    pub seq: u64,
    /// The merchant the call was made for.
    pub merchant: String,
    /// The record (JSON).
    pub record: Vec<u8>,
}

/// A business event as a call's unit of work appends it to the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// Its stable id (`crate::events`): the same call gives the same ids.
    pub id: String,
    /// What its order is kept within: `account/<id>` or `company/<id>`.
    pub stream: String,
    /// The event as delivered (JSON).
    pub body: Vec<u8>,
}

/// An event of the outbox at its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRow {
    /// Its position, from 1: rising in commit order within a stream.
    pub seq: u64,
    /// The merchant.
    pub merchant: String,
    /// See `NewEvent`.
    pub id: String,
    /// See `NewEvent`.
    pub stream: String,
    /// See `NewEvent`.
    pub body: Vec<u8>,
}

/// Storage with one unit of work at a time: `begin`, reads and writes, then
/// `commit` or `rollback`.
pub trait Backend: Send {
    /// Starts a unit of work.
    fn begin(&mut self) -> Result<()>;
    /// Makes the unit's writes durable and visible.
    fn commit(&mut self) -> Result<()>;
    /// Discards the unit's writes.
    fn rollback(&mut self) -> Result<()>;
    /// Before a unit that answered with an error is rolled back: whether
    /// what it read still stands. A `Conflict` when another unit changed
    /// it meanwhile (the call runs again, so its error is not a stale one).
    /// Stores with one writer at a time have nothing to check.
    fn validate(&mut self) -> Result<()> {
        Ok(())
    }
    /// Reads a value.
    fn get(&mut self, merchant: &str, key: &str) -> Result<Option<Vec<u8>>>;
    /// Writes a value.
    fn put(&mut self, merchant: &str, key: &str, value: &[u8]) -> Result<()>;
    /// Removes a value.
    fn delete(&mut self, merchant: &str, key: &str) -> Result<()>;
    /// Up to `limit` pairs under `prefix`, in key order, after `start_after`.
    fn scan(&mut self, merchant: &str, prefix: &str, start_after: Option<&str>, limit: u32) -> Result<Vec<(String, Vec<u8>)>>;
    /// The merchants that have data, in order.
    fn merchants(&mut self) -> Result<Vec<String>>;
    /// Appends a record to the journal of mutating calls, in the open
    /// unit of work: kept if and only if the unit commits.
    fn journal_append(&mut self, merchant: &str, record: &[u8]) -> Result<()>;
    /// Up to `limit` journal records after position `after`, in order.
    fn journal_scan(&mut self, after: u64, limit: u32) -> Result<Vec<JournalRow>>;
    /// Appends a call's business events to the outbox (`crate::events`),
    /// in the open unit of work: kept if and only if the unit commits. An
    /// event whose id is there already (the same call answered again) is
    /// left as it is.
    fn outbox_append(&mut self, merchant: &str, events: &[NewEvent]) -> Result<()>;
    /// Up to `limit` events after position `after`, in position order.
    fn outbox_scan(&mut self, after: u64, limit: u32) -> Result<Vec<EventRow>>;
    /// A position at or below which no event can still appear: every unit
    /// of work that could commit one there has ended. Stores with one
    /// writer at a time answer their last position; PostgreSQL (many
    /// writers, positions drawn before commit) answers a position that
    /// lags by one call of this method (see `PostgresBackend`).
    fn outbox_settled(&mut self) -> Result<u64>;
    /// Writes (`Some`) and removes (`None`) several of the host's records
    /// at once: all of them or, on an error, none.
    fn host_write(&mut self, rows: &[(String, Option<Vec<u8>>)]) -> Result<()> {
        let _ = rows;
        anyhow::bail!("this store keeps no host records")
    }
    /// The host's own records (API keys, ...), kept beside the merchants'
    /// data in the same database and never seen by the component, audit or
    /// replay. Each read and write stands alone, outside units of work.
    fn host_get(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        let _ = key;
        anyhow::bail!("this store keeps no host records")
    }
    /// Writes one of the host's own records (see `host_get`).
    fn host_put(&mut self, key: &str, value: &[u8]) -> Result<()> {
        let _ = (key, value);
        anyhow::bail!("this store keeps no host records")
    }
    /// Every host record under `prefix`, in key order (see `host_get`).
    fn host_scan(&mut self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let _ = prefix;
        anyhow::bail!("this store keeps no host records")
    }
    /// Starts a group of units of work made durable together by
    /// `commit_group` (group commit). Inside a group, each unit's `commit`
    /// only ends the unit; `rollback` still discards exactly that unit.
    /// Backends without groups make every unit durable on its own.
    fn begin_group(&mut self) -> Result<()> {
        Ok(())
    }
    /// Makes every unit committed since `begin_group` durable at once.
    fn commit_group(&mut self) -> Result<()> {
        Ok(())
    }
    /// Discards every unit committed since `begin_group`. Backends without
    /// groups made each unit durable on its own and say so.
    fn rollback_group(&mut self) -> Result<()> {
        anyhow::bail!("this store makes each unit of work durable on its own: the units before were kept")
    }
    /// Starts a unit of work that only reads: it sees one consistent
    /// snapshot and lets writers (other connections, other processes) go
    /// on meanwhile. End it with `rollback`.
    fn begin_read(&mut self) -> Result<()> {
        self.begin()
    }
    /// Whether the storage is still the one that was opened (a file
    /// deleted or replaced behind the host's back is not); an error that
    /// says what happened when it is not.
    fn check(&mut self) -> Result<()> {
        Ok(())
    }
    /// Problems the storage finds in itself (SQLite's integrity check);
    /// empty when it finds none or has no such check.
    fn integrity_check(&mut self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
    /// How many keys are stored, over every merchant (for progress).
    fn key_count(&mut self) -> Result<u64> {
        let mut n = 0;
        for m in self.merchants()? {
            let mut after: Option<String> = None;
            loop {
                let page = self.scan(&m, "", after.as_deref(), 1000)?;
                let Some((last, _)) = page.last() else { break };
                n += page.len() as u64;
                after = Some(last.clone());
            }
        }
        Ok(n)
    }
    /// How many times a read had to wait for a row another unit of work
    /// (another connection or process) held; 0 for stores with one writer.
    fn lock_waits(&self) -> u64 {
        0
    }
    /// Makes everything durable in the main storage and lets go of it: for
    /// SQLite, the write-ahead log is checkpointed into the database file,
    /// so a copy of that file alone holds every committed call.
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

/// The first key after every key that starts with `prefix` (prefixes are
/// ASCII), or `None` when there is no such bound.
/// What `copy_all` copied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Copied {
    /// Merchants' records.
    pub records: u64,
    /// Journal rows, in their order.
    pub journal: u64,
    /// The host's own records.
    pub host: u64,
    /// Outbox events, in their order.
    pub events: u64,
}

/// Copies every merchant's records (in key order), the journal (in its
/// order, so each row keeps its position) and the host's records from
/// `from` into `to`, in one unit of work on `to`: all of it or, on an
/// error, nothing. `to` should hold none of it yet: a key it has is
/// overwritten, and journal rows are appended after its own.
pub fn copy_all(from: &mut dyn Backend, to: &mut dyn Backend) -> Result<Copied> {
    const PAGE: u32 = 1_000;
    let mut n = Copied::default();
    to.begin()?;
    let copied = (|| -> Result<()> {
        for m in from.merchants()? {
            let mut after: Option<String> = None;
            loop {
                let page = from.scan(&m, "", after.as_deref(), PAGE)?;
                for (k, v) in &page {
                    to.put(&m, k, v)?;
                }
                n.records += page.len() as u64;
                match page.last() {
                    Some((k, _)) if page.len() == PAGE as usize => after = Some(k.clone()),
                    _ => break,
                }
            }
        }
        let mut after = 0;
        loop {
            let rows = from.journal_scan(after, PAGE)?;
            for r in &rows {
                to.journal_append(&r.merchant, &r.record)?;
            }
            n.journal += rows.len() as u64;
            match rows.last() {
                Some(r) if rows.len() == PAGE as usize => after = r.seq,
                _ => break,
            }
        }
        let mut after = 0;
        loop {
            let rows = from.outbox_scan(after, PAGE)?;
            let mut by_merchant: Vec<(&str, Vec<NewEvent>)> = Vec::new();
            for r in &rows {
                let event = NewEvent { id: r.id.clone(), stream: r.stream.clone(), body: r.body.clone() };
                match by_merchant.last_mut() {
                    Some((m, events)) if *m == r.merchant => events.push(event),
                    _ => by_merchant.push((&r.merchant, vec![event])),
                }
            }
            for (m, events) in &by_merchant {
                to.outbox_append(m, events)?;
            }
            n.events += rows.len() as u64;
            match rows.last() {
                Some(r) if rows.len() == PAGE as usize => after = r.seq,
                _ => break,
            }
        }
        for (k, v) in from.host_scan("")? {
            to.host_put(&k, &v)?;
            n.host += 1;
        }
        Ok(())
    })();
    match copied {
        Ok(()) => to.commit().map(|()| n),
        Err(e) => {
            let _ = to.rollback();
            Err(e)
        }
    }
}

pub(crate) fn prefix_end(prefix: &str) -> Option<String> {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        if last < 0x7f {
            bytes.push(last + 1);
            return String::from_utf8(bytes).ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(b: &mut dyn Backend) {
        b.begin().unwrap();
        b.put("m1", "entry/a/1", b"1").unwrap();
        b.put("m1", "entry/a/2", b"2").unwrap();
        b.put("m1", "entry/ab/1", b"x").unwrap();
        b.put("m2", "entry/a/3", b"other merchant").unwrap();
        b.commit().unwrap();

        b.begin().unwrap();
        let keys = |v: Vec<(String, Vec<u8>)>| v.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
        assert_eq!(keys(b.scan("m1", "entry/a/", None, 10).unwrap()), ["entry/a/1", "entry/a/2"]);
        assert_eq!(keys(b.scan("m1", "entry/a/", Some("entry/a/1"), 10).unwrap()), ["entry/a/2"]);
        assert_eq!(keys(b.scan("m1", "entry/a/", None, 1).unwrap()), ["entry/a/1"]);
        b.put("m1", "entry/a/1", b"changed").unwrap();
        b.delete("m1", "entry/a/2").unwrap();
        b.put("m1", "new", b"n").unwrap();
        assert_eq!(b.get("m1", "entry/a/1").unwrap().as_deref(), Some(&b"changed"[..]));
        b.rollback().unwrap();

        b.begin().unwrap();
        assert_eq!(b.get("m1", "entry/a/1").unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(b.get("m1", "entry/a/2").unwrap().as_deref(), Some(&b"2"[..]));
        assert_eq!(b.get("m1", "new").unwrap(), None);
        assert_eq!(b.get("m2", "entry/a/1").unwrap(), None);
        assert_eq!(b.merchants().unwrap(), ["m1", "m2"]);
        b.rollback().unwrap();
    }

    #[test]
    fn memory_backend_scans_and_rolls_back() {
        exercise(&mut MemoryBackend::new());
    }

    #[test]
    fn sqlite_backend_scans_and_rolls_back() {
        exercise(&mut SqliteBackend::open_in_memory().unwrap());
    }

    #[test]
    fn prefix_end_is_the_next_key() {
        assert_eq!(prefix_end("entry/a/").as_deref(), Some("entry/a0"));
        assert_eq!(prefix_end("").as_deref(), None);
    }
}

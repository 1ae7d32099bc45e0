//! Where the component's data lives: the host side of the WIT `store`
//! interface. Two implementations: SQLite in a file (durable, the default)
//! and memory (for tests).
//!
//! Every key belongs to a merchant. The component never sees the merchant:
//! the host fixes it for the duration of a call, so one merchant's call
//! cannot name another's keys.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OptionalExtension, params};

/// Storage with one unit of work at a time: `begin`, reads and writes, then
/// `commit` or `rollback`.
pub trait Backend: Send {
    /// Starts a unit of work.
    fn begin(&mut self) -> Result<()>;
    /// Makes the unit's writes durable and visible.
    fn commit(&mut self) -> Result<()>;
    /// Discards the unit's writes.
    fn rollback(&mut self) -> Result<()>;
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
}

/// The first key after every key that starts with `prefix` (prefixes are
/// ASCII), or `None` when there is no such bound.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        if last < 0x7f {
            bytes.push(last + 1);
            return String::from_utf8(bytes).ok();
        }
    }
    None
}

// ------------------------------------------------------------------ memory

/// Keeps everything in memory, per merchant: values in a hash map (a read
/// costs the same with a hundred keys or millions) and the keys again in
/// an ordered set for scans. Writes go straight in and an undo log
/// remembers what they replaced, so `rollback` restores it.
#[derive(Default)]
pub struct MemoryBackend {
    merchants: HashMap<String, Merchant>,
    /// What each write of the open unit replaced, oldest first.
    undo: Option<Vec<Undo>>,
}

/// (merchant, key, the value before the write).
type Undo = (String, String, Option<Vec<u8>>);

/// One merchant's data.
#[derive(Default)]
struct Merchant {
    values: HashMap<String, Vec<u8>>,
    keys: BTreeSet<String>,
}

impl Merchant {
    fn put(&mut self, key: &str, value: Vec<u8>) -> Option<Vec<u8>> {
        let old = self.values.insert(key.to_owned(), value);
        if old.is_none() {
            self.keys.insert(key.to_owned());
        }
        old
    }

    fn remove(&mut self, key: &str) -> Option<Vec<u8>> {
        let old = self.values.remove(key);
        if old.is_some() {
            self.keys.remove(key);
        }
        old
    }
}

impl MemoryBackend {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn log(&mut self, merchant: &str, key: &str, old: Option<Vec<u8>>) -> Result<()> {
        match &mut self.undo {
            Some(undo) => undo.push((merchant.to_owned(), key.to_owned(), old)),
            None => bail!("write outside a unit of work"),
        }
        Ok(())
    }

    fn merchant(&mut self, merchant: &str) -> &mut Merchant {
        if !self.merchants.contains_key(merchant) {
            self.merchants.insert(merchant.to_owned(), Merchant::default());
        }
        self.merchants.get_mut(merchant).expect("inserted above")
    }
}

impl Backend for MemoryBackend {
    fn begin(&mut self) -> Result<()> {
        if self.undo.is_some() {
            bail!("a unit of work is already open");
        }
        self.undo = Some(Vec::new());
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        self.undo.take().context("commit without a unit of work")?;
        Ok(())
    }

    fn rollback(&mut self) -> Result<()> {
        let undo = self.undo.take().context("rollback without a unit of work")?;
        for (m, k, old) in undo.into_iter().rev() {
            let merchant = self.merchant(&m);
            match old {
                Some(v) => merchant.put(&k, v),
                None => merchant.remove(&k),
            };
        }
        Ok(())
    }

    fn get(&mut self, merchant: &str, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.merchants.get(merchant).and_then(|m| m.values.get(key)).cloned())
    }

    fn put(&mut self, merchant: &str, key: &str, value: &[u8]) -> Result<()> {
        if self.undo.is_none() {
            bail!("write outside a unit of work");
        }
        let old = self.merchant(merchant).put(key, value.to_vec());
        self.log(merchant, key, old)
    }

    fn delete(&mut self, merchant: &str, key: &str) -> Result<()> {
        if self.undo.is_none() {
            bail!("write outside a unit of work");
        }
        let old = self.merchant(merchant).remove(key);
        self.log(merchant, key, old)
    }

    fn scan(&mut self, merchant: &str, prefix: &str, start_after: Option<&str>, limit: u32) -> Result<Vec<(String, Vec<u8>)>> {
        use std::ops::Bound;
        let Some(m) = self.merchants.get(merchant) else { return Ok(Vec::new()) };
        let lower = match start_after {
            Some(after) if after >= prefix => Bound::Excluded(after),
            _ => Bound::Included(prefix),
        };
        Ok(m.keys
            .range::<str, _>((lower, Bound::Unbounded))
            .take_while(|k| k.starts_with(prefix))
            .take(limit as usize)
            .map(|k| (k.clone(), m.values[k.as_str()].clone()))
            .collect())
    }

    fn merchants(&mut self) -> Result<Vec<String>> {
        // Merchants whose every write was rolled back leave an empty map.
        let mut out: Vec<String> = self.merchants.iter().filter(|(_, m)| !m.values.is_empty()).map(|(m, _)| m.clone()).collect();
        out.sort();
        Ok(out)
    }
}

// ------------------------------------------------------------------ sqlite

/// Keeps everything in one SQLite file: one table `kv(merchant, key, value)`.
/// Each unit of work is a transaction (`BEGIN IMMEDIATE` ... `COMMIT`), in
/// WAL mode with `synchronous = FULL`, so a call acknowledged to the
/// storefront survives a crash of the process or the machine.
pub struct SqliteBackend {
    conn: Connection,
    /// Inside a group, units are savepoints of one transaction.
    grouped: bool,
}

impl SqliteBackend {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let conn = Connection::open(path).with_context(|| format!("opening SQLite database {}", path.display()))?;
        Self::init(conn)
    }

    /// A private in-memory SQLite database (for tests of this backend).
    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS kv (
                 merchant TEXT NOT NULL,
                 key      TEXT NOT NULL,
                 value    BLOB NOT NULL,
                 PRIMARY KEY (merchant, key)
             ) WITHOUT ROWID;",
        )?;
        Ok(SqliteBackend { conn, grouped: false })
    }
}

impl Backend for SqliteBackend {
    fn begin(&mut self) -> Result<()> {
        // Prepared once: in a group these run twice per call.
        self.conn.prepare_cached(if self.grouped { "SAVEPOINT unit" } else { "BEGIN IMMEDIATE" })?.execute([])?;
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        self.conn.prepare_cached(if self.grouped { "RELEASE unit" } else { "COMMIT" })?.execute([])?;
        Ok(())
    }

    fn rollback(&mut self) -> Result<()> {
        self.conn.execute_batch(if self.grouped { "ROLLBACK TO unit; RELEASE unit" } else { "ROLLBACK" })?;
        Ok(())
    }

    fn begin_group(&mut self) -> Result<()> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        self.grouped = true;
        Ok(())
    }

    fn commit_group(&mut self) -> Result<()> {
        self.grouped = false;
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }

    fn get(&mut self, merchant: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let mut stmt = self.conn.prepare_cached("SELECT value FROM kv WHERE merchant = ?1 AND key = ?2")?;
        Ok(stmt.query_row(params![merchant, key], |r| r.get(0)).optional()?)
    }

    fn put(&mut self, merchant: &str, key: &str, value: &[u8]) -> Result<()> {
        let mut stmt = self.conn.prepare_cached("INSERT OR REPLACE INTO kv (merchant, key, value) VALUES (?1, ?2, ?3)")?;
        stmt.execute(params![merchant, key, value])?;
        Ok(())
    }

    fn delete(&mut self, merchant: &str, key: &str) -> Result<()> {
        let mut stmt = self.conn.prepare_cached("DELETE FROM kv WHERE merchant = ?1 AND key = ?2")?;
        stmt.execute(params![merchant, key])?;
        Ok(())
    }

    fn scan(&mut self, merchant: &str, prefix: &str, start_after: Option<&str>, limit: u32) -> Result<Vec<(String, Vec<u8>)>> {
        // Keys are compared with SQLite's BINARY collation: byte order, the
        // same order as Rust's `str`.
        let (lower, inclusive) = match start_after {
            Some(after) if after >= prefix => (after.to_owned(), false),
            _ => (prefix.to_owned(), true),
        };
        let upper = prefix_end(prefix).unwrap_or_else(|| "\u{7f}".repeat(300));
        let sql = if inclusive {
            "SELECT key, value FROM kv WHERE merchant = ?1 AND key >= ?2 AND key < ?3 ORDER BY key LIMIT ?4"
        } else {
            "SELECT key, value FROM kv WHERE merchant = ?1 AND key > ?2 AND key < ?3 ORDER BY key LIMIT ?4"
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params![merchant, lower, upper, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn merchants(&mut self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached("SELECT DISTINCT merchant FROM kv ORDER BY merchant")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
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

//! SQLite in one file: durable, the default.

use std::path::Path;

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Backend, prefix_end};

/// Keeps everything in one SQLite file: one table `kv(merchant, key, value)`
/// and the journal of mutating calls, `journal(seq, merchant, record)`.
/// Each unit of work is a transaction (`BEGIN IMMEDIATE` ... `COMMIT`), in
/// WAL mode with `synchronous = FULL`, so a call acknowledged to the
/// storefront survives a crash of the process or the machine.
///
/// Before every commit the backend checks that the file at its path is
/// still the one it opened: a database deleted or replaced while the host
/// runs would otherwise keep acknowledging calls into a file nobody can
/// open again. `close` checkpoints the write-ahead log into the file (as
/// SQLite does itself when the last connection to it closes).
pub struct SqliteBackend {
    conn: Connection,
    /// Inside a group, units are savepoints of one transaction.
    grouped: bool,
    /// The file and its identity (device, inode) when opened; `None` in
    /// memory.
    file: Option<(std::path::PathBuf, (u64, u64))>,
}

/// The database file was deleted or replaced while it was open: nothing
/// written since can be trusted to last.
#[derive(Debug)]
pub struct DatabaseGone(pub String);

impl std::fmt::Display for DatabaseGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DatabaseGone {}

fn file_identity(path: &Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path)?;
    Ok((m.dev(), m.ino()))
}

/// Whether a SQLite error says the database cannot be written.
fn is_read_only(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ReadOnly)
}

impl SqliteBackend {
    /// Opens (creating if needed) the database at `path`. A file the host
    /// may not write is refused here, with "database is read-only", rather
    /// than on the first call.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let conn = Connection::open(path).with_context(|| format!("opening SQLite database {}", path.display()))?;
        let read_only = |e: &anyhow::Error| e.downcast_ref::<rusqlite::Error>().is_some_and(is_read_only);
        let mut backend = match Self::init(conn) {
            Err(e) if read_only(&e) => return Err(Self::read_only_error(path)),
            other => other.with_context(|| format!("opening SQLite database {}", path.display()))?,
        };
        // Opening a file without write permission succeeds (read-only):
        // find out now, with a write lock taken and given back.
        if let Err(e) = backend.conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;") {
            if is_read_only(&e) {
                return Err(Self::read_only_error(path));
            }
            return Err(e).with_context(|| format!("opening SQLite database {}", path.display()));
        }
        let identity = file_identity(path).with_context(|| format!("reading {}", path.display()))?;
        backend.file = Some((path.to_path_buf(), identity));
        Ok(backend)
    }

    fn read_only_error(path: &Path) -> anyhow::Error {
        anyhow::anyhow!(
            "database is read-only: {} (the host needs to write the file and create its -wal and -shm files beside it; \
             check the permissions of the file and its folder)",
            path.display()
        )
    }

    /// Opens an existing database to read it only (`verify`, `backup`):
    /// nothing is written, not even the journal mode, and it never takes
    /// the write lock, so a server using the file goes on.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self> {
        use rusqlite::OpenFlags;
        let path = path.as_ref();
        anyhow::ensure!(path.exists(), "no database at {}", path.display());
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_context(|| format!("opening SQLite database {}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        Ok(SqliteBackend { conn, grouped: false, file: None })
    }

    /// A private in-memory SQLite database (for tests of this backend).
    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        // The bundled SQLite is built with STAT4, which re-prepares a
        // statement whenever a bound value could change its plan: every
        // range scan was compiled anew on each call (the scan's bounds
        // change every time). One plan per statement is what we want: the
        // primary-key range.
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS kv (
                 merchant TEXT NOT NULL,
                 key      TEXT NOT NULL,
                 value    BLOB NOT NULL,
                 PRIMARY KEY (merchant, key)
             ) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS journal (
                 seq      INTEGER PRIMARY KEY AUTOINCREMENT,
                 merchant TEXT NOT NULL,
                 record   BLOB NOT NULL
             );
             CREATE TABLE IF NOT EXISTS host_kv (
                 key   TEXT NOT NULL PRIMARY KEY,
                 value BLOB NOT NULL
             ) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS outbox (
                 seq      INTEGER PRIMARY KEY AUTOINCREMENT,
                 id       TEXT NOT NULL UNIQUE,
                 merchant TEXT NOT NULL,
                 stream   TEXT NOT NULL,
                 body     BLOB NOT NULL
             );",
        )?;
        Ok(SqliteBackend { conn, grouped: false, file: None })
    }

    /// The open connection, for tools that read the database as a whole
    /// (backup, integrity check).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    fn has_table(&self, name: &str) -> Result<bool> {
        Ok(self.conn.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", params![name], |r| r.get::<_, i64>(0))? > 0)
    }

    /// Refuses to commit into a file that is no longer at its path.
    fn ensure_file(&self) -> Result<()> {
        let Some((path, identity)) = &self.file else { return Ok(()) };
        match file_identity(path) {
            Ok(now) if now == *identity => Ok(()),
            Ok(_) => Err(DatabaseGone(format!("the database file {} was replaced while it was open; stopping", path.display())).into()),
            Err(_) => Err(DatabaseGone(format!("the database file {} was deleted while it was open; stopping", path.display())).into()),
        }
    }
}

impl Backend for SqliteBackend {
    fn begin(&mut self) -> Result<()> {
        // Prepared once: in a group these run twice per call.
        self.conn.prepare_cached(if self.grouped { "SAVEPOINT unit" } else { "BEGIN IMMEDIATE" })?.execute([])?;
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        if !self.grouped
            && let Err(e) = self.ensure_file()
        {
            self.conn.execute_batch("ROLLBACK")?;
            return Err(e);
        }
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

    fn rollback_group(&mut self) -> Result<()> {
        self.grouped = false;
        self.conn.execute_batch("ROLLBACK")?;
        Ok(())
    }

    fn commit_group(&mut self) -> Result<()> {
        self.grouped = false;
        if let Err(e) = self.ensure_file() {
            self.conn.execute_batch("ROLLBACK")?;
            return Err(e);
        }
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }

    fn begin_read(&mut self) -> Result<()> {
        // A deferred transaction takes its snapshot at the first read and
        // holds no write lock: in WAL mode writers carry on. Inside a group
        // the read is a unit of the group's transaction and sees its writes.
        self.conn.prepare_cached(if self.grouped { "SAVEPOINT unit" } else { "BEGIN DEFERRED" })?.execute([])?;
        Ok(())
    }

    fn check(&mut self) -> Result<()> {
        self.ensure_file()
    }

    fn integrity_check(&mut self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows.into_iter().filter(|r| r != "ok").collect())
    }

    fn key_count(&mut self) -> Result<u64> {
        Ok(self.conn.query_row("SELECT count(*) FROM kv", [], |r| r.get::<_, i64>(0))? as u64)
    }

    fn close(&mut self) -> Result<()> {
        if self.file.is_some() && self.conn.is_autocommit() {
            self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        }
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

    fn journal_append(&mut self, merchant: &str, record: &[u8]) -> Result<()> {
        let mut stmt = self.conn.prepare_cached("INSERT INTO journal (merchant, record) VALUES (?1, ?2)")?;
        stmt.execute(params![merchant, record])?;
        Ok(())
    }

    fn journal_scan(&mut self, after: u64, limit: u32) -> Result<Vec<super::JournalRow>> {
        // A file opened read-only may predate the journal.
        let has: bool = self.conn.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'journal'", [], |r| r.get::<_, i64>(0))? > 0;
        if !has {
            return Ok(Vec::new());
        }
        let mut stmt = self.conn.prepare_cached("SELECT seq, merchant, record FROM journal WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let rows = stmt.query_map(params![after as i64, limit], |r| {
            Ok(super::JournalRow { seq: r.get::<_, i64>(0)? as u64, merchant: r.get(1)?, record: r.get(2)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn outbox_append(&mut self, merchant: &str, events: &[super::NewEvent]) -> Result<()> {
        let mut stmt = self.conn.prepare_cached("INSERT OR IGNORE INTO outbox (id, merchant, stream, body) VALUES (?1, ?2, ?3, ?4)")?;
        for e in events {
            stmt.execute(params![e.id, merchant, e.stream, e.body])?;
        }
        Ok(())
    }

    fn outbox_scan(&mut self, after: u64, limit: u32) -> Result<Vec<super::EventRow>> {
        // A file opened read-only may predate the outbox.
        if !self.has_table("outbox")? {
            return Ok(Vec::new());
        }
        let mut stmt = self.conn.prepare_cached("SELECT seq, merchant, id, stream, body FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let rows = stmt.query_map(params![after as i64, limit], |r| {
            Ok(super::EventRow { seq: r.get::<_, i64>(0)? as u64, merchant: r.get(1)?, id: r.get(2)?, stream: r.get(3)?, body: r.get(4)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn outbox_settled(&mut self) -> Result<u64> {
        // One writer at a time: a unit still open draws positions above
        // every committed one.
        if !self.has_table("outbox")? {
            return Ok(0);
        }
        Ok(self.conn.query_row("SELECT coalesce(max(seq), 0) FROM outbox", [], |r| r.get::<_, i64>(0))? as u64)
    }

    fn host_write(&mut self, rows: &[(String, Option<Vec<u8>>)]) -> Result<()> {
        self.ensure_file()?;
        let tx = self.conn.unchecked_transaction()?;
        {
            let mut put = tx.prepare_cached("INSERT INTO host_kv (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")?;
            let mut delete = tx.prepare_cached("DELETE FROM host_kv WHERE key = ?1")?;
            for (k, v) in rows {
                match v {
                    Some(v) => put.execute(params![k, v])?,
                    None => delete.execute(params![k])?,
                };
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn host_get(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        // A file opened read-only may predate the table.
        if !self.has_table("host_kv")? {
            return Ok(None);
        }
        let mut stmt = self.conn.prepare_cached("SELECT value FROM host_kv WHERE key = ?1")?;
        Ok(stmt.query_row(params![key], |r| r.get(0)).optional()?)
    }

    fn host_put(&mut self, key: &str, value: &[u8]) -> Result<()> {
        self.ensure_file()?;
        let mut stmt = self.conn.prepare_cached("INSERT INTO host_kv (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")?;
        stmt.execute(params![key, value])?;
        Ok(())
    }

    fn host_scan(&mut self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        if !self.has_table("host_kv")? {
            return Ok(Vec::new());
        }
        let mut stmt = self.conn.prepare_cached("SELECT key, value FROM host_kv WHERE key >= ?1 ORDER BY key")?;
        let rows = stmt.query_map(params![prefix], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (k, v) = row?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k, v));
        }
        Ok(out)
    }
}

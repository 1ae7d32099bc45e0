//! PostgreSQL: one database shared by many host processes.
//!
//! # How calls on one database stay correct
//!
//! A unit of work that may write (a mutating call) runs at READ COMMITTED
//! and reads every key with `get` as `SELECT ... FOR UPDATE`: the row it
//! finds stays locked until the unit ends, and a row another unit holds is
//! waited for and then read as that unit committed it. The component reads
//! an account's record (`acct/<id>`) before anything else of the account,
//! so every call on one account takes turns at that row, in every process,
//! while calls on different accounts touch no common row (document numbers
//! are per account: see "Document ids" in `wit/types.wit`) and never wait
//! for each other.
//!
//! A key read as missing cannot be locked. If the unit then writes it, the
//! write is a plain `INSERT`: when another unit created the key meanwhile
//! (two servers taking the same idempotency key or order at once), the
//! insert fails with a unique violation. The keys it read as missing and
//! does not write are checked at the end, in the statement that sends the
//! writes (or before an error answer is given): any that exists now makes
//! the answer suspect. Either way the whole call is run again by the
//! ledger, and then reads what the other unit wrote (the double click gets
//! the first click's answer, not "order already authorized"). That, a
//! deadlock PostgreSQL broke, or a serialization failure, is a `Conflict`;
//! the ledger retries those a bounded number of times and the caller never
//! sees them.
//!
//! `scan` does not lock: its rows belong to an account whose record the
//! unit already holds. A unit that only reads (queries and reports) is
//! REPEATABLE READ, READ ONLY: one snapshot, no locks, no waiting.
//!
//! Writes are buffered in the unit and sent at commit in one statement
//! (deletes, inserts, upserts), then `COMMIT`; reads see the unit's own
//! writes. Nothing is sent for a unit that is rolled back.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail};
use postgres::error::SqlState;
use postgres::{Client, NoTls, Statement};

use super::{Backend, Conflict, prefix_end};

/// The layout this host writes; `migrate` brings older ones up to it.
pub const SCHEMA_VERSION: i32 = 4;

/// Each migration takes the schema from the version before it to its own.
/// Applied in order, each in its own transaction, under an advisory lock so
/// that hosts starting together migrate once.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        // Keys compare bytewise (`COLLATE "C"`), the order `scan` promises.
        "CREATE TABLE kv (
             merchant text COLLATE \"C\" NOT NULL,
             key      text COLLATE \"C\" NOT NULL,
             value    bytea NOT NULL,
             PRIMARY KEY (merchant, key)
         )",
    ),
    (
        2,
        // The journal of mutating calls (`crate::journal`): a record is
        // inserted last in its call's transaction, after every row the call
        // locks, so calls that touched the same rows are in commit order.
        "CREATE TABLE journal (
             seq      bigserial PRIMARY KEY,
             merchant text COLLATE \"C\" NOT NULL,
             record   bytea NOT NULL
         )",
    ),
    (
        3,
        // The host's own records (`Backend::host_get`): API keys, ...
        "CREATE TABLE host_kv (
             key   text COLLATE \"C\" PRIMARY KEY,
             value bytea NOT NULL
         )",
    ),
    (
        4,
        // The outbox of business events (`crate::events`): inserted last
        // in its call's transaction, like the journal, so events of one
        // account are in commit order.
        "CREATE TABLE outbox (
             seq      bigserial PRIMARY KEY,
             id       text COLLATE \"C\" NOT NULL UNIQUE,
             merchant text COLLATE \"C\" NOT NULL,
             stream   text COLLATE \"C\" NOT NULL,
             body     bytea NOT NULL
         )",
    ),
];

/// The advisory lock taken while migrating (any number; this one spells
/// "credit").
const MIGRATION_LOCK: i64 = 0x6372_6564_6974;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    None,
    Write,
    Read,
}

struct Prepared {
    get_locking: Statement,
    get_blocking: Statement,
    get: Statement,
    scan_from: Statement,
    scan_after: Statement,
    flush: Statement,
    appeared: Statement,
    journal: Statement,
    outbox: Statement,
}

/// A `Backend` on a PostgreSQL database, one connection per backend (per
/// ledger). See the module documentation for how units of work on many
/// connections stay correct.
pub struct PostgresBackend {
    client: Client,
    statements: Prepared,
    unit: Unit,
    /// The unit's writes, sent at commit: a value, or `None` for a delete.
    writes: BTreeMap<(String, String), Option<Vec<u8>>>,
    /// Keys the unit read and found missing: written, they are inserted
    /// (never upserted), so a key another unit created meanwhile conflicts.
    missing: BTreeSet<(String, String)>,
    /// The unit's journal records, inserted at commit after its writes.
    journal: Vec<(String, Vec<u8>)>,
    /// The unit's events, inserted at commit after its journal records.
    outbox: Vec<(String, super::NewEvent)>,
    /// `outbox_settled`: the position last found settled, and the one
    /// waiting to be (the last position drawn, and the first transaction
    /// id not yet begun, when that was read).
    settled: u64,
    settling: Option<(u64, u64)>,
    /// Inside a group (`begin_group`): one transaction, each unit a
    /// savepoint in it.
    grouped: bool,
    lock_waits: u64,
}

/// Whether a PostgreSQL error means another unit of work won a race the
/// call can simply run again.
fn conflict(e: &postgres::Error) -> bool {
    e.code().is_some_and(|c| *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::UNIQUE_VIOLATION)
}

/// A PostgreSQL error as the backend reports it: a `Conflict` when the call
/// should be run again, otherwise the error with what was being done.
fn pg_error(e: postgres::Error, doing: &str) -> anyhow::Error {
    if conflict(&e) {
        let why = e.as_db_error().map_or_else(|| e.to_string(), |d| d.message().to_owned());
        anyhow::Error::new(Conflict(format!("{doing}: {why}")))
    } else {
        anyhow::Error::new(e).context(format!("PostgreSQL: {doing}"))
    }
}

impl PostgresBackend {
    /// Connects to the database at `url` (a libpq URL or key=value string,
    /// such as `postgres://credit@localhost/shop` or
    /// `host=/run/postgresql dbname=shop`) and creates or migrates the
    /// schema. A schema newer than this host knows is refused.
    pub fn connect(url: &str) -> Result<Self> {
        let mut client = Client::connect(url, NoTls).with_context(|| format!("connecting to PostgreSQL at {}", redact(url)))?;
        migrate(&mut client)?;
        let prepare = |client: &mut Client, sql: &str| client.prepare(sql).with_context(|| format!("preparing {sql}"));
        let statements = Prepared {
            // The row if this unit could lock it at once; and whether it
            // exists at all (then another unit holds it).
            get_locking: prepare(
                &mut client,
                "WITH l AS (SELECT value FROM kv WHERE merchant = $1 AND key = $2 FOR UPDATE SKIP LOCKED)
                 SELECT (SELECT value FROM l), EXISTS (SELECT 1 FROM kv WHERE merchant = $1 AND key = $2)",
            )?,
            get_blocking: prepare(&mut client, "SELECT value FROM kv WHERE merchant = $1 AND key = $2 FOR UPDATE")?,
            get: prepare(&mut client, "SELECT value FROM kv WHERE merchant = $1 AND key = $2")?,
            scan_from: prepare(&mut client, "SELECT key, value FROM kv WHERE merchant = $1 AND key >= $2 AND key < $3 ORDER BY key LIMIT $4")?,
            scan_after: prepare(&mut client, "SELECT key, value FROM kv WHERE merchant = $1 AND key > $2 AND key < $3 ORDER BY key LIMIT $4")?,
            // The writes, and how many keys the unit read as missing (and
            // does not write) exist now.
            flush: prepare(
                &mut client,
                // Each key is found through the primary key on its own
                // (a scalar subquery per key, which the planner cannot turn
                // into a join): a join or `key = ANY(...)` was planned once,
                // generically, while the table was small, as a scan of the
                // merchant's rows, and stayed so as the table grew.
                "WITH d AS (DELETE FROM kv WHERE ctid = ANY (ARRAY(
                                SELECT (SELECT ctid FROM kv WHERE merchant = $1 AND key = t.k) FROM unnest($2::text[]) AS t(k)))),
                      i AS (INSERT INTO kv (merchant, key, value)
                            SELECT $1, k, v FROM unnest($3::text[], $4::bytea[]) AS t(k, v)),
                      u AS (INSERT INTO kv (merchant, key, value)
                            SELECT $1, k, v FROM unnest($5::text[], $6::bytea[]) AS t(k, v)
                            ON CONFLICT (merchant, key) DO UPDATE SET value = excluded.value)
                 SELECT count((SELECT 1 FROM kv WHERE merchant = $1 AND key = t.k)) FROM unnest($7::text[]) AS t(k)",
            )?,
            appeared: prepare(&mut client, "SELECT count((SELECT 1 FROM kv WHERE merchant = $1 AND key = t.k)) FROM unnest($2::text[]) AS t(k)")?,
            journal: prepare(&mut client, "INSERT INTO journal (merchant, record) VALUES ($1, $2)")?,
            outbox: prepare(
                &mut client,
                "INSERT INTO outbox (id, merchant, stream, body)
                 SELECT i, $1, s, b FROM unnest($2::text[], $3::text[], $4::bytea[]) WITH ORDINALITY AS t(i, s, b, n) ORDER BY n
                 ON CONFLICT (id) DO NOTHING",
            )?,
        };
        Ok(PostgresBackend {
            client,
            statements,
            unit: Unit::None,
            writes: BTreeMap::new(),
            missing: BTreeSet::new(),
            journal: Vec::new(),
            outbox: Vec::new(),
            settled: 0,
            settling: None,
            grouped: false,
            lock_waits: 0,
        })
    }

    /// The connection, for tools and tests that read the database as a
    /// whole.
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    fn start(&mut self, unit: Unit, sql: &str) -> Result<()> {
        anyhow::ensure!(self.unit == Unit::None, "a unit of work is already open");
        self.client.batch_execute(sql).map_err(|e| pg_error(e, "starting a transaction"))?;
        self.unit = unit;
        Ok(())
    }

    fn end(&mut self) {
        self.unit = Unit::None;
        self.writes.clear();
        self.missing.clear();
        self.journal.clear();
        self.outbox.clear();
    }

    fn write(&mut self, merchant: &str, key: &str, value: Option<&[u8]>) -> Result<()> {
        match self.unit {
            Unit::Write => {}
            Unit::Read => bail!("a call that only reads wrote {key:?}"),
            Unit::None => bail!("a write outside a unit of work"),
        }
        self.writes.insert((merchant.to_owned(), key.to_owned()), value.map(<[u8]>::to_vec));
        Ok(())
    }

    /// Sends the unit's writes, one statement per merchant, and checks that
    /// no key it read as missing was created by another unit meanwhile.
    fn flush(&mut self) -> Result<()> {
        let writes = std::mem::take(&mut self.writes);
        // Per merchant: the keys written (a value, or none to delete) and
        // the keys read as missing.
        type Unit<'a> = (Vec<(&'a str, &'a Option<Vec<u8>>)>, Vec<&'a str>);
        let mut by_merchant: BTreeMap<&str, Unit> = BTreeMap::new();
        for ((m, k), v) in &writes {
            by_merchant.entry(m).or_default().0.push((k, v));
        }
        for (m, k) in &self.missing {
            if !writes.contains_key(&(m.clone(), k.clone())) {
                by_merchant.entry(m).or_default().1.push(k);
            }
        }
        for (merchant, (rows, unwritten_missing)) in by_merchant {
            let mut deletes: Vec<&str> = Vec::new();
            let (mut insert_keys, mut insert_values): (Vec<&str>, Vec<&[u8]>) = (Vec::new(), Vec::new());
            let (mut upsert_keys, mut upsert_values): (Vec<&str>, Vec<&[u8]>) = (Vec::new(), Vec::new());
            for (key, value) in rows {
                match value {
                    None => deletes.push(key),
                    Some(v) if self.missing.contains(&(merchant.to_owned(), key.to_owned())) => {
                        insert_keys.push(key);
                        insert_values.push(v);
                    }
                    Some(v) => {
                        upsert_keys.push(key);
                        upsert_values.push(v);
                    }
                }
            }
            let row = self
                .client
                .query_one(
                    &self.statements.flush,
                    &[&merchant, &deletes, &insert_keys, &insert_values, &upsert_keys, &upsert_values, &unwritten_missing],
                )
                .map_err(|e| pg_error(e, "writing the call's changes"))?;
            let appeared: i64 = row.get(0);
            if appeared > 0 {
                return Err(Conflict(format!("{appeared} keys the call found missing were created by another call meanwhile")).into());
            }
        }
        for (merchant, record) in std::mem::take(&mut self.journal) {
            self.client.execute(&self.statements.journal, &[&merchant, &record]).map_err(|e| pg_error(e, "writing the journal"))?;
        }
        let events = std::mem::take(&mut self.outbox);
        // Per merchant: the events' ids, streams and bodies, in order.
        type Columns<'a> = (Vec<&'a str>, Vec<&'a str>, Vec<&'a [u8]>);
        let mut by_merchant: BTreeMap<&str, Columns> = BTreeMap::new();
        for (m, e) in &events {
            let (ids, streams, bodies) = by_merchant.entry(m).or_default();
            ids.push(&e.id);
            streams.push(&e.stream);
            bodies.push(&e.body);
        }
        for (merchant, (ids, streams, bodies)) in by_merchant {
            self.client.execute(&self.statements.outbox, &[&merchant, &ids, &streams, &bodies]).map_err(|e| pg_error(e, "writing the outbox"))?;
        }
        Ok(())
    }
}

/// `url` without its password, for messages.
fn redact(url: &str) -> String {
    match url.parse::<postgres::Config>() {
        Ok(c) => {
            let hosts: Vec<String> = c
                .get_hosts()
                .iter()
                .map(|h| match h {
                    postgres::config::Host::Tcp(name) => name.clone(),
                    postgres::config::Host::Unix(path) => path.display().to_string(),
                })
                .collect();
            format!("{} (database {:?}, user {:?})", hosts.join(","), c.get_dbname().unwrap_or(""), c.get_user().unwrap_or(""))
        }
        Err(_) => "(an unreadable URL)".to_owned(),
    }
}

/// Brings the schema to `SCHEMA_VERSION`, or refuses a newer one.
fn migrate(client: &mut Client) -> Result<()> {
    client.query("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).context("PostgreSQL: taking the migration lock")?;
    let result = (|| -> Result<()> {
        client
            .batch_execute("CREATE TABLE IF NOT EXISTS credit_schema (version integer NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
            .context("PostgreSQL: creating the schema version table")?;
        let current: i32 = client.query_one("SELECT coalesce(max(version), 0) FROM credit_schema", &[])?.get(0);
        if current > SCHEMA_VERSION {
            bail!(
                "the database's schema is version {current}, newer than this host's {SCHEMA_VERSION}: \
                 it was written by a later release; run that release (or later)"
            );
        }
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            let mut tx = client.transaction()?;
            tx.batch_execute(sql).with_context(|| format!("PostgreSQL: migrating the schema to version {version}"))?;
            tx.execute("INSERT INTO credit_schema (version) VALUES ($1)", &[version])?;
            tx.commit()?;
        }
        Ok(())
    })();
    let unlocked = client.query("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    result?;
    unlocked.context("PostgreSQL: giving back the migration lock")?;
    Ok(())
}

impl Backend for PostgresBackend {
    fn begin(&mut self) -> Result<()> {
        self.start(Unit::Write, if self.grouped { "SAVEPOINT unit" } else { "BEGIN ISOLATION LEVEL READ COMMITTED" })
    }

    fn begin_read(&mut self) -> Result<()> {
        // Inside a group a read is a unit of the group's transaction and
        // sees its writes.
        self.start(Unit::Read, if self.grouped { "SAVEPOINT unit" } else { "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY" })
    }

    fn begin_group(&mut self) -> Result<()> {
        anyhow::ensure!(self.unit == Unit::None && !self.grouped, "a unit of work is already open");
        self.client.batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED").map_err(|e| pg_error(e, "starting a group"))?;
        self.grouped = true;
        Ok(())
    }

    fn commit_group(&mut self) -> Result<()> {
        self.grouped = false;
        let committed = self.client.batch_execute("COMMIT").map_err(|e| pg_error(e, "committing the group"));
        if committed.is_err() {
            let _ = self.client.batch_execute("ROLLBACK");
        }
        committed
    }

    fn rollback_group(&mut self) -> Result<()> {
        self.grouped = false;
        self.end();
        self.client.batch_execute("ROLLBACK").map_err(|e| pg_error(e, "rolling back the group"))
    }

    fn commit(&mut self) -> Result<()> {
        if self.grouped {
            let flushed = self.flush().and_then(|()| self.client.batch_execute("RELEASE unit").map_err(|e| pg_error(e, "ending a unit")));
            if flushed.is_err() {
                let _ = self.client.batch_execute("ROLLBACK TO unit; RELEASE unit");
            }
            self.end();
            return flushed;
        }
        let flushed = self.flush();
        let committed = flushed.and_then(|()| self.client.batch_execute("COMMIT").map_err(|e| pg_error(e, "committing")));
        if committed.is_err() {
            // An error inside the transaction left it aborted: end it.
            let _ = self.client.batch_execute("ROLLBACK");
        }
        self.end();
        committed
    }

    fn validate(&mut self) -> Result<()> {
        // A call that answered with an error decided on what it read: if a
        // key it found missing exists now (another call created it after
        // the read), the answer may be stale, and the call runs again.
        let mut by_merchant: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (m, k) in &self.missing {
            by_merchant.entry(m).or_default().push(k);
        }
        for (merchant, keys) in by_merchant {
            let appeared: i64 =
                self.client.query_one(&self.statements.appeared, &[&merchant, &keys]).map_err(|e| pg_error(e, "checking what the call read"))?.get(0);
            if appeared > 0 {
                return Err(Conflict(format!("{appeared} keys the call found missing were created by another call meanwhile")).into());
            }
        }
        Ok(())
    }

    fn rollback(&mut self) -> Result<()> {
        self.end();
        let sql = if self.grouped { "ROLLBACK TO unit; RELEASE unit" } else { "ROLLBACK" };
        self.client.batch_execute(sql).map_err(|e| pg_error(e, "rolling back"))
    }

    fn get(&mut self, merchant: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let id = (merchant.to_owned(), key.to_owned());
        if let Some(v) = self.writes.get(&id) {
            return Ok(v.clone());
        }
        if self.unit != Unit::Write {
            let row = self.client.query_opt(&self.statements.get, &[&merchant, &key]).map_err(|e| pg_error(e, "reading"))?;
            return Ok(row.map(|r| r.get(0)));
        }
        let row = self.client.query_one(&self.statements.get_locking, &[&merchant, &key]).map_err(|e| pg_error(e, "reading"))?;
        let (value, exists): (Option<Vec<u8>>, bool) = (row.get(0), row.get(1));
        let value = match (value, exists) {
            (Some(v), _) => Some(v),
            (None, false) => None,
            // Another unit holds the row: wait for it, then read what it
            // left.
            (None, true) => {
                self.lock_waits += 1;
                let row = self.client.query_opt(&self.statements.get_blocking, &[&merchant, &key]).map_err(|e| pg_error(e, "reading"))?;
                row.map(|r| r.get(0))
            }
        };
        if value.is_none() {
            self.missing.insert(id);
        }
        Ok(value)
    }

    fn put(&mut self, merchant: &str, key: &str, value: &[u8]) -> Result<()> {
        self.write(merchant, key, Some(value))
    }

    fn delete(&mut self, merchant: &str, key: &str) -> Result<()> {
        self.write(merchant, key, None)
    }

    fn scan(&mut self, merchant: &str, prefix: &str, start_after: Option<&str>, limit: u32) -> Result<Vec<(String, Vec<u8>)>> {
        let (lower, inclusive) = match start_after {
            Some(after) if after >= prefix => (after.to_owned(), false),
            _ => (prefix.to_owned(), true),
        };
        let upper = prefix_end(prefix).unwrap_or_else(|| "\u{7f}".repeat(300));
        let in_range = |k: &str| if inclusive { k >= lower.as_str() } else { k > lower.as_str() } && k < upper.as_str();
        // The unit's own writes in the range: deletes hide rows, so ask the
        // database for as many more rows as there are deletes.
        let own: Vec<(&String, &Option<Vec<u8>>)> = self
            .writes
            .range((merchant.to_owned(), lower.clone())..)
            .take_while(|((m, _), _)| m == merchant)
            .filter(|((_, k), _)| in_range(k))
            .map(|((_, k), v)| (k, v))
            .collect();
        let deletes = own.iter().filter(|(_, v)| v.is_none()).count() as i64;
        let statement = if inclusive { &self.statements.scan_from } else { &self.statements.scan_after };
        let rows = self.client.query(statement, &[&merchant, &lower, &upper, &(i64::from(limit) + deletes)]).map_err(|e| pg_error(e, "scanning"))?;
        let complete = (rows.len() as i64) < i64::from(limit) + deletes;
        let mut merged: BTreeMap<String, Vec<u8>> = rows.into_iter().map(|r| (r.get(0), r.get(1))).collect();
        // When the database had more rows than it sent, only keys up to its
        // last one are known.
        let known_up_to = if complete { None } else { merged.keys().next_back().cloned() };
        for (k, v) in own {
            if known_up_to.as_ref().is_some_and(|last| k > last) {
                continue;
            }
            match v {
                Some(v) => merged.insert(k.clone(), v.clone()),
                None => merged.remove(k),
            };
        }
        Ok(merged.into_iter().take(limit as usize).collect())
    }

    fn merchants(&mut self) -> Result<Vec<String>> {
        let rows = self.client.query("SELECT DISTINCT merchant FROM kv ORDER BY merchant", &[]).map_err(|e| pg_error(e, "listing merchants"))?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    fn key_count(&mut self) -> Result<u64> {
        let n: i64 = self.client.query_one("SELECT count(*) FROM kv", &[]).map_err(|e| pg_error(e, "counting keys"))?.get(0);
        Ok(n as u64)
    }

    fn lock_waits(&self) -> u64 {
        self.lock_waits
    }

    fn journal_append(&mut self, merchant: &str, record: &[u8]) -> Result<()> {
        match self.unit {
            Unit::Write => {}
            Unit::Read => bail!("a call that only reads wrote the journal"),
            Unit::None => bail!("a journal write outside a unit of work"),
        }
        self.journal.push((merchant.to_owned(), record.to_vec()));
        Ok(())
    }

    fn outbox_append(&mut self, merchant: &str, events: &[super::NewEvent]) -> Result<()> {
        match self.unit {
            Unit::Write => {}
            Unit::Read => bail!("a call that only reads wrote the outbox"),
            Unit::None => bail!("an outbox write outside a unit of work"),
        }
        self.outbox.extend(events.iter().map(|e| (merchant.to_owned(), e.clone())));
        Ok(())
    }

    fn outbox_scan(&mut self, after: u64, limit: u32) -> Result<Vec<super::EventRow>> {
        let rows = self
            .client
            .query("SELECT seq, merchant, id, stream, body FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2", &[&(after as i64), &i64::from(limit)])
            .map_err(|e| pg_error(e, "reading the outbox"))?;
        Ok(rows
            .into_iter()
            .map(|r| super::EventRow { seq: r.get::<_, i64>(0) as u64, merchant: r.get(1), id: r.get(2), stream: r.get(3), body: r.get(4) })
            .collect())
    }

    /// Positions are drawn (`bigserial`) inside transactions that commit
    /// later, in any order: a position can appear below one already seen.
    /// Each call reads the last position drawn, then the first transaction
    /// id not yet begun; once every transaction below that id has ended
    /// (the oldest running one is at or above it, seen by a later call),
    /// every position drawn up to that read is committed or gone for good.
    /// A transaction has its id before it draws a position: it writes the
    /// call's rows first.
    fn outbox_settled(&mut self) -> Result<u64> {
        let xid = |client: &mut Client, sql: &str| -> Result<u64> {
            let text: String = client.query_one(sql, &[]).map_err(|e| pg_error(e, "reading the transaction horizon"))?.get(0);
            text.parse().with_context(|| format!("PostgreSQL answered {text:?} for a transaction id"))
        };
        let oldest_running = xid(&mut self.client, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text")?;
        if let Some((drawn, next_xid)) = self.settling
            && oldest_running >= next_xid
        {
            self.settled = self.settled.max(drawn);
            self.settling = None;
        }
        if self.settling.is_none() {
            let drawn: i64 = self
                .client
                .query_one("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM outbox_seq_seq", &[])
                .map_err(|e| pg_error(e, "reading the outbox's last position"))?
                .get(0);
            let next_xid = xid(&mut self.client, "SELECT pg_snapshot_xmax(pg_current_snapshot())::text")?;
            self.settling = Some((drawn as u64, next_xid));
        }
        Ok(self.settled)
    }

    fn host_write(&mut self, rows: &[(String, Option<Vec<u8>>)]) -> Result<()> {
        let mut tx = self.client.transaction().map_err(|e| pg_error(e, "starting a transaction"))?;
        for (k, v) in rows {
            match v {
                Some(v) => tx.execute("INSERT INTO host_kv (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", &[k, v]),
                None => tx.execute("DELETE FROM host_kv WHERE key = $1", &[k]),
            }
            .map_err(|e| pg_error(e, "writing host records"))?;
        }
        tx.commit().map_err(|e| pg_error(e, "writing host records"))?;
        Ok(())
    }

    fn host_get(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        let row = self.client.query_opt("SELECT value FROM host_kv WHERE key = $1", &[&key]).map_err(|e| pg_error(e, "reading a host record"))?;
        Ok(row.map(|r| r.get(0)))
    }

    fn host_put(&mut self, key: &str, value: &[u8]) -> Result<()> {
        self.client
            .execute("INSERT INTO host_kv (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", &[&key, &value])
            .map_err(|e| pg_error(e, "writing a host record"))?;
        Ok(())
    }

    fn host_scan(&mut self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let rows = self.client.query("SELECT key, value FROM host_kv WHERE key >= $1 ORDER BY key", &[&prefix]).map_err(|e| pg_error(e, "reading host records"))?;
        Ok(rows.into_iter().map(|r| (r.get::<_, String>(0), r.get::<_, Vec<u8>>(1))).take_while(|(k, _)| k.starts_with(prefix)).collect())
    }

    fn journal_scan(&mut self, after: u64, limit: u32) -> Result<Vec<super::JournalRow>> {
        let rows = self
            .client
            .query("SELECT seq, merchant, record FROM journal WHERE seq > $1 ORDER BY seq LIMIT $2", &[&(after as i64), &i64::from(limit)])
            .map_err(|e| pg_error(e, "reading the journal"))?;
        Ok(rows.into_iter().map(|r| super::JournalRow { seq: r.get::<_, i64>(0) as u64, merchant: r.get(1), record: r.get(2) }).collect())
    }
}

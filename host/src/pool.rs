//! Serving hook calls from many threads at once.
//!
//! A `LedgerPool` holds N ledgers, each with its own wasmtime store and
//! component instance, over one shared store of data (one SQLite file with a
//! connection per ledger, or one map in memory). A call borrows an idle
//! ledger, so up to N calls run their WebAssembly at the same time; their
//! units of work are serialized by one lock per pool, taken at `begin` and
//! released at `commit`/`rollback`, so each call sees every call before it
//! and none after it (on PostgreSQL the database's row locks do this, per
//! account, and the pool takes no lock). That is what makes "two checkouts spend the same
//! balance" impossible: the second one reads the first one's write.
//! Across processes, SQLite's own write lock (`BEGIN IMMEDIATE` with a busy
//! timeout) does the same.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use anyhow::Result;

use crate::store::{Backend, MemoryBackend, SqliteBackend};
use crate::{Component, Ledger};

/// One unit of work at a time across every backend that shares it.
#[derive(Default)]
pub struct TxLock {
    busy: Mutex<bool>,
    free: Condvar,
}

impl TxLock {
    fn acquire(&self) {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        while *busy {
            busy = self.free.wait(busy).unwrap_or_else(|p| p.into_inner());
        }
        *busy = true;
    }

    fn release(&self) {
        *self.busy.lock().unwrap_or_else(|p| p.into_inner()) = false;
        self.free.notify_one();
    }
}

/// A backend whose units of work take a shared `TxLock`.
pub struct Serialized<B: Backend> {
    lock: Arc<TxLock>,
    inner: B,
    held: bool,
}

impl<B: Backend> Serialized<B> {
    /// Wraps `inner`; every backend wrapped with the same lock takes turns.
    pub fn new(lock: Arc<TxLock>, inner: B) -> Self {
        Serialized { lock, inner, held: false }
    }

    fn release(&mut self) {
        if self.held {
            self.held = false;
            self.lock.release();
        }
    }
}

impl<B: Backend> Drop for Serialized<B> {
    fn drop(&mut self) {
        self.release();
    }
}

impl<B: Backend> Backend for Serialized<B> {
    fn begin(&mut self) -> Result<()> {
        self.lock.acquire();
        self.held = true;
        self.inner.begin().inspect_err(|_| self.release())
    }
    fn commit(&mut self) -> Result<()> {
        let r = self.inner.commit();
        self.release();
        r
    }
    fn rollback(&mut self) -> Result<()> {
        let r = self.inner.rollback();
        self.release();
        r
    }
    fn get(&mut self, merchant: &str, key: &str) -> Result<Option<Vec<u8>>> {
        self.inner.get(merchant, key)
    }
    fn put(&mut self, merchant: &str, key: &str, value: &[u8]) -> Result<()> {
        self.inner.put(merchant, key, value)
    }
    fn delete(&mut self, merchant: &str, key: &str) -> Result<()> {
        self.inner.delete(merchant, key)
    }
    fn scan(&mut self, merchant: &str, prefix: &str, start_after: Option<&str>, limit: u32) -> Result<Vec<(String, Vec<u8>)>> {
        self.inner.scan(merchant, prefix, start_after, limit)
    }
    fn merchants(&mut self) -> Result<Vec<String>> {
        self.inner.merchants()
    }
    fn journal_append(&mut self, merchant: &str, record: &[u8]) -> Result<()> {
        self.inner.journal_append(merchant, record)
    }
    fn journal_scan(&mut self, after: u64, limit: u32) -> Result<Vec<crate::store::JournalRow>> {
        self.inner.journal_scan(after, limit)
    }
    fn outbox_append(&mut self, merchant: &str, events: &[crate::store::NewEvent]) -> Result<()> {
        self.inner.outbox_append(merchant, events)
    }
    fn outbox_scan(&mut self, after: u64, limit: u32) -> Result<Vec<crate::store::EventRow>> {
        self.inner.outbox_scan(after, limit)
    }
    fn outbox_settled(&mut self) -> Result<u64> {
        self.inner.outbox_settled()
    }
    fn host_write(&mut self, rows: &[(String, Option<Vec<u8>>)]) -> Result<()> {
        self.inner.host_write(rows)
    }

    fn begin_read(&mut self) -> Result<()> {
        self.lock.acquire();
        self.held = true;
        self.inner.begin_read().inspect_err(|_| self.release())
    }
    fn check(&mut self) -> Result<()> {
        self.inner.check()
    }
    fn host_get(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        self.inner.host_get(key)
    }
    fn host_put(&mut self, key: &str, value: &[u8]) -> Result<()> {
        self.inner.host_put(key, value)
    }
    fn host_scan(&mut self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        self.inner.host_scan(prefix)
    }
    fn close(&mut self) -> Result<()> {
        self.inner.close()
    }
}

/// One in-memory map shared by several backends (behind a `Serialized`).
#[derive(Clone, Default)]
pub struct SharedMemory {
    map: Arc<Mutex<MemoryBackend>>,
}

impl SharedMemory {
    fn map(&self) -> MutexGuard<'_, MemoryBackend> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Backend for SharedMemory {
    fn begin(&mut self) -> Result<()> {
        self.map().begin()
    }
    fn commit(&mut self) -> Result<()> {
        self.map().commit()
    }
    fn rollback(&mut self) -> Result<()> {
        self.map().rollback()
    }
    fn get(&mut self, merchant: &str, key: &str) -> Result<Option<Vec<u8>>> {
        self.map().get(merchant, key)
    }
    fn put(&mut self, merchant: &str, key: &str, value: &[u8]) -> Result<()> {
        self.map().put(merchant, key, value)
    }
    fn delete(&mut self, merchant: &str, key: &str) -> Result<()> {
        self.map().delete(merchant, key)
    }
    fn scan(&mut self, merchant: &str, prefix: &str, start_after: Option<&str>, limit: u32) -> Result<Vec<(String, Vec<u8>)>> {
        self.map().scan(merchant, prefix, start_after, limit)
    }
    fn merchants(&mut self) -> Result<Vec<String>> {
        self.map().merchants()
    }
    fn journal_append(&mut self, merchant: &str, record: &[u8]) -> Result<()> {
        self.map().journal_append(merchant, record)
    }
    fn journal_scan(&mut self, after: u64, limit: u32) -> Result<Vec<crate::store::JournalRow>> {
        self.map().journal_scan(after, limit)
    }
    fn outbox_append(&mut self, merchant: &str, events: &[crate::store::NewEvent]) -> Result<()> {
        self.map().outbox_append(merchant, events)
    }
    fn outbox_scan(&mut self, after: u64, limit: u32) -> Result<Vec<crate::store::EventRow>> {
        self.map().outbox_scan(after, limit)
    }
    fn outbox_settled(&mut self) -> Result<u64> {
        self.map().outbox_settled()
    }
}

/// N ledgers over one store, for calls from many threads.
pub struct LedgerPool {
    idle: Mutex<Vec<Ledger>>,
    returned: Condvar,
}

impl LedgerPool {
    /// `size` ledgers over one SQLite file, a connection each.
    pub fn sqlite(component: &Component, path: impl AsRef<Path>, size: usize) -> Result<LedgerPool> {
        let lock = Arc::new(TxLock::default());
        let ledgers = (0..size.max(1))
            .map(|_| {
                let backend = Serialized::new(lock.clone(), SqliteBackend::open(path.as_ref())?);
                Ok(Ledger::with_backend(component, Box::new(backend)))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::of(ledgers))
    }

    /// `size` ledgers over one PostgreSQL database, a connection each. No
    /// lock in the pool: calls on different accounts run their units of
    /// work at once, and PostgreSQL's row locks make calls on one account
    /// take turns (see `store::PostgresBackend`), as they do across
    /// processes.
    pub fn postgres(component: &Component, url: &str, size: usize) -> Result<LedgerPool> {
        let ledgers = (0..size.max(1)).map(|_| Ledger::open_postgres(component, url)).collect::<Result<Vec<_>>>()?;
        Ok(Self::of(ledgers))
    }

    /// `size` ledgers over one in-memory map.
    pub fn in_memory(component: &Component, size: usize) -> LedgerPool {
        let lock = Arc::new(TxLock::default());
        let shared = SharedMemory::default();
        let ledgers = (0..size.max(1)).map(|_| Ledger::with_backend(component, Box::new(Serialized::new(lock.clone(), shared.clone())))).collect();
        Self::of(ledgers)
    }

    fn of(ledgers: Vec<Ledger>) -> LedgerPool {
        LedgerPool { idle: Mutex::new(ledgers), returned: Condvar::new() }
    }

    /// Runs `f` on an idle ledger, waiting for one if all are busy.
    pub fn with<R>(&self, f: impl FnOnce(&mut Ledger) -> R) -> R {
        let mut ledger = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(l) = idle.pop() {
                    break l;
                }
                idle = self.returned.wait(idle).unwrap_or_else(|p| p.into_inner());
            }
        };
        let out = f(&mut ledger);
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(ledger);
        self.returned.notify_one();
        out
    }
}

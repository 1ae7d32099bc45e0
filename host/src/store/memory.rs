//! Everything in memory, for tests and benchmarks.

use std::collections::{BTreeSet, HashMap, HashSet};

use anyhow::{Context, Result, bail};

use super::Backend;

/// Keeps everything in memory, per merchant: values in a hash map (a read
/// costs the same with a hundred keys or millions) and the keys again in
/// an ordered set for scans. Writes go straight in and an undo log
/// remembers what they replaced, so `rollback` restores it.
#[derive(Default)]
pub struct MemoryBackend {
    merchants: HashMap<String, Merchant>,
    /// What each write of the open unit replaced, oldest first.
    undo: Option<Vec<Undo>>,
    /// The journal of mutating calls, and its length when the open unit
    /// began (a rollback cuts it back).
    journal: Vec<(String, Vec<u8>)>,
    journal_mark: usize,
    /// The host's own records (`Backend::host_get`).
    host: std::collections::BTreeMap<String, Vec<u8>>,
    /// The outbox (`crate::events`), its ids, and its length when the open
    /// unit began.
    outbox: Vec<super::EventRow>,
    outbox_ids: HashSet<String>,
    outbox_mark: usize,
    /// Inside a group (`begin_group`): what the group's committed units
    /// replaced, and the journal's and outbox's lengths when it began.
    group: Option<(Vec<Undo>, usize, usize)>,
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
        self.journal_mark = self.journal.len();
        self.outbox_mark = self.outbox.len();
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        let undo = self.undo.take().context("commit without a unit of work")?;
        if let Some((group, _, _)) = &mut self.group {
            group.extend(undo);
        }
        Ok(())
    }

    fn begin_group(&mut self) -> Result<()> {
        if self.undo.is_some() || self.group.is_some() {
            bail!("a unit of work is already open");
        }
        self.group = Some((Vec::new(), self.journal.len(), self.outbox.len()));
        Ok(())
    }

    fn commit_group(&mut self) -> Result<()> {
        self.group.take().context("commit_group without a group")?;
        Ok(())
    }

    fn rollback_group(&mut self) -> Result<()> {
        let (undo, journal, outbox) = self.group.take().context("rollback_group without a group")?;
        self.undo = Some(undo);
        self.journal_mark = journal;
        self.outbox_mark = outbox;
        self.rollback()
    }

    fn rollback(&mut self) -> Result<()> {
        let undo = self.undo.take().context("rollback without a unit of work")?;
        self.journal.truncate(self.journal_mark);
        for e in self.outbox.drain(self.outbox_mark..) {
            self.outbox_ids.remove(&e.id);
        }
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

    fn journal_append(&mut self, merchant: &str, record: &[u8]) -> Result<()> {
        if self.undo.is_none() {
            bail!("write outside a unit of work");
        }
        self.journal.push((merchant.to_owned(), record.to_vec()));
        Ok(())
    }

    fn outbox_append(&mut self, merchant: &str, events: &[super::NewEvent]) -> Result<()> {
        if self.undo.is_none() {
            bail!("write outside a unit of work");
        }
        for e in events {
            if self.outbox_ids.insert(e.id.clone()) {
                let seq = self.outbox.len() as u64 + 1;
                let row = super::EventRow { seq, merchant: merchant.to_owned(), id: e.id.clone(), stream: e.stream.clone(), body: e.body.clone() };
                self.outbox.push(row);
            }
        }
        Ok(())
    }

    fn outbox_scan(&mut self, after: u64, limit: u32) -> Result<Vec<super::EventRow>> {
        let from = usize::try_from(after).unwrap_or(usize::MAX).min(self.outbox.len());
        Ok(self.outbox[from..].iter().take(limit as usize).cloned().collect())
    }

    fn outbox_settled(&mut self) -> Result<u64> {
        Ok(self.outbox.len() as u64)
    }

    fn host_write(&mut self, rows: &[(String, Option<Vec<u8>>)]) -> Result<()> {
        for (k, v) in rows {
            match v {
                Some(v) => self.host.insert(k.clone(), v.clone()),
                None => self.host.remove(k),
            };
        }
        Ok(())
    }

    fn host_get(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.host.get(key).cloned())
    }

    fn host_put(&mut self, key: &str, value: &[u8]) -> Result<()> {
        self.host.insert(key.to_owned(), value.to_vec());
        Ok(())
    }

    fn host_scan(&mut self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(self.host.range(prefix.to_owned()..).take_while(|(k, _)| k.starts_with(prefix)).map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    fn journal_scan(&mut self, after: u64, limit: u32) -> Result<Vec<super::JournalRow>> {
        let from = usize::try_from(after).unwrap_or(usize::MAX).min(self.journal.len());
        Ok(self.journal[from..]
            .iter()
            .take(limit as usize)
            .enumerate()
            .map(|(i, (m, r))| super::JournalRow { seq: (from + i + 1) as u64, merchant: m.clone(), record: r.clone() })
            .collect())
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

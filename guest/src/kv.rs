//! The storage the engine runs on: the WIT `store` import in the component,
//! a `BTreeMap` in native tests. Both give the same contract: reads see the
//! call's own writes; keys order by bytes.

#[allow(unused_imports)]
use crate::prelude::*;

use alloc::collections::BTreeMap;

/// Key-value storage for one merchant, within one unit of work.
pub trait Kv {
    /// The value under `key`, if any.
    fn get(&self, key: &str) -> Option<Vec<u8>>;
    /// Writes `value` under `key`.
    fn put(&mut self, key: &str, value: &[u8]);
    /// Removes `key`.
    fn delete(&mut self, key: &str);
    /// Up to `limit` pairs under `prefix`, in key order, after `start_after`.
    fn scan(&self, prefix: &str, start_after: Option<&str>, limit: u32) -> Vec<(String, Vec<u8>)>;
}

/// An in-memory `Kv` for running the engine natively.
#[derive(Default, Debug, Clone)]
pub struct MemKv {
    /// The data, visible so tests can inspect or damage it.
    pub map: BTreeMap<String, Vec<u8>>,
}

impl Kv for MemKv {
    fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.map.get(key).cloned()
    }

    fn put(&mut self, key: &str, value: &[u8]) {
        self.map.insert(key.to_owned(), value.to_vec());
    }

    fn delete(&mut self, key: &str) {
        self.map.remove(key);
    }

    fn scan(&self, prefix: &str, start_after: Option<&str>, limit: u32) -> Vec<(String, Vec<u8>)> {
        use core::ops::Bound;
        let lower = match start_after {
            Some(after) if after >= prefix => Bound::Excluded(after.to_owned()),
            _ => Bound::Included(prefix.to_owned()),
        };
        self.map
            .range::<String, _>((lower, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit as usize)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

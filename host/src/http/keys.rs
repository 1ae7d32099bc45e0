//! API keys: how a storefront proves which merchant it calls for.
//!
//! A key reads `ck_<id>_<secret>` (`super::secrets`). The database keeps
//! only its SHA-256, under the host record `api-key/<id>`, with the
//! merchant it belongs to; the key itself is shown once, when issued. The merchant of every call made with a key
//! is the key's merchant: no request names a merchant, so no key reaches
//! another merchant's data.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use super::secrets;

use crate::MerchantId;
use crate::store::Backend;

/// What the database keeps of a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// The public part of the key, `ck_<id>_...`.
    pub id: String,
    /// The merchant whose data the key reaches.
    pub merchant: String,
    /// A note for people: which storefront uses it.
    pub label: String,
    /// SHA-256 of the whole key, hex.
    pub sha256: String,
    /// When it was issued (the host's clock, ms since 1970).
    pub created_ms: i64,
    /// When it was revoked; a revoked key is refused.
    pub revoked_ms: Option<i64>,
}

const PREFIX: &str = "api-key/";

/// Issues a key for `merchant`: the key (shown once) and its record.
pub fn issue(backend: &mut dyn Backend, merchant: &MerchantId, label: &str, now_ms: i64) -> Result<(String, ApiKey)> {
    anyhow::ensure!(label.len() <= 200 && !label.chars().any(char::is_control), "the label must be at most 200 characters, without control characters");
    let (id, key, sha256) = secrets::mint("ck")?;
    let record = ApiKey { id: id.clone(), merchant: merchant.as_str().to_owned(), label: label.to_owned(), sha256, created_ms: now_ms, revoked_ms: None };
    secrets::save(backend, &format!("{PREFIX}{id}"), &record)?;
    Ok((key, record))
}

/// Every key issued, revoked ones too, by id.
pub fn list(backend: &mut dyn Backend) -> Result<Vec<ApiKey>> {
    secrets::load_all(backend, PREFIX)
}

/// Revokes the key with this id (its `ck_<id>` part or the id alone); the
/// record stays, to show when. An unknown or already revoked id is an error.
pub fn revoke(backend: &mut dyn Backend, id: &str, now_ms: i64) -> Result<ApiKey> {
    let id = id.strip_prefix("ck_").unwrap_or(id);
    let Some(mut record) = secrets::load::<ApiKey>(backend, &format!("{PREFIX}{id}"))? else { bail!("no API key {id:?}") };
    if let Some(at) = record.revoked_ms {
        bail!("the API key {id:?} was revoked already (at {at} ms)");
    }
    record.revoked_ms = Some(now_ms);
    secrets::save(backend, &format!("{PREFIX}{id}"), &record)?;
    Ok(record)
}

/// The merchant a presented key belongs to; `None` for a key that is
/// malformed, unknown, wrong or revoked (the caller cannot tell which).
pub fn authenticate(backend: &mut dyn Backend, presented: &str) -> Result<Option<MerchantId>> {
    let Some(id) = secrets::id_of("ck", presented) else { return Ok(None) };
    let Some(record) = secrets::load::<ApiKey>(backend, &format!("{PREFIX}{id}"))? else { return Ok(None) };
    if !secrets::matches(presented, &record.sha256) || record.revoked_ms.is_some() {
        return Ok(None);
    }
    MerchantId::new(record.merchant).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryBackend;

    #[test]
    fn a_key_opens_its_merchant_and_nothing_else_does() {
        let mut store = MemoryBackend::new();
        let shop = MerchantId::new("northwind").unwrap();
        let (key, record) = issue(&mut store, &shop, "web shop", 1).unwrap();
        assert!(key.starts_with(&format!("ck_{}_", record.id)) && key.len() == 3 + 16 + 1 + 43, "{key}");
        assert!(!record.sha256.contains(&key[20..]), "the secret is not stored");
        assert_eq!(authenticate(&mut store, &key).unwrap(), Some(shop.clone()));
        // One character changed, the secret cut short, another id, junk.
        let mut wrong = key.clone().into_bytes();
        let last = wrong.len() - 1;
        wrong[last] = if wrong[last] == b'A' { b'B' } else { b'A' };
        for bad in [String::from_utf8(wrong).unwrap(), key[..key.len() - 1].to_owned(), key.replace(&record.id, "0123456789abcdef"), "Bearer".into(), String::new()] {
            assert_eq!(authenticate(&mut store, &bad).unwrap(), None, "{bad}");
        }
        revoke(&mut store, &key[..19], 2).unwrap();
        assert_eq!(authenticate(&mut store, &key).unwrap(), None, "revoked");
        assert!(revoke(&mut store, &record.id, 3).is_err(), "twice");
        assert_eq!(list(&mut store).unwrap()[0].revoked_ms, Some(2));
    }
}

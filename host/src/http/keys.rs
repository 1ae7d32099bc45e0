//! API keys: how a storefront proves which merchant it calls for.
//!
//! A key reads `ck_<id>_<secret>`: `id` is 16 hex digits (8 random bytes)
//! that find the key's record, `secret` 43 characters of URL-safe base64
//! (32 random bytes from the operating system). The database keeps only
//! the SHA-256 of the whole key, under the host record `api-key/<id>`, with
//! the merchant it belongs to; the key itself is shown once, when issued.
//! A fast hash is enough for 256 random bits (passwords, which people
//! choose, are another matter). The merchant of every call made with a key
//! is the key's merchant: no request names a merchant, so no key reaches
//! another merchant's data.

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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
    let id = hex(&random::<8>()?);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random::<32>()?);
    let key = format!("ck_{id}_{secret}");
    let record = ApiKey { id: id.clone(), merchant: merchant.as_str().to_owned(), label: label.to_owned(), sha256: hex(&Sha256::digest(key.as_bytes())), created_ms: now_ms, revoked_ms: None };
    backend.host_put(&format!("{PREFIX}{id}"), &serde_json::to_vec(&record)?)?;
    Ok((key, record))
}

/// Every key issued, revoked ones too, by id.
pub fn list(backend: &mut dyn Backend) -> Result<Vec<ApiKey>> {
    backend.host_scan(PREFIX)?.into_iter().map(|(k, v)| serde_json::from_slice(&v).with_context(|| format!("host record {k}"))).collect()
}

/// Revokes the key with this id (its `ck_<id>` part or the id alone); the
/// record stays, to show when. An unknown or already revoked id is an error.
pub fn revoke(backend: &mut dyn Backend, id: &str, now_ms: i64) -> Result<ApiKey> {
    let id = id.strip_prefix("ck_").unwrap_or(id);
    let Some(mut record) = read(backend, id)? else { bail!("no API key {id:?}") };
    if let Some(at) = record.revoked_ms {
        bail!("the API key {id:?} was revoked already (at {at} ms)");
    }
    record.revoked_ms = Some(now_ms);
    backend.host_put(&format!("{PREFIX}{id}"), &serde_json::to_vec(&record)?)?;
    Ok(record)
}

/// The merchant a presented key belongs to; `None` for a key that is
/// malformed, unknown, wrong or revoked (the caller cannot tell which).
pub fn authenticate(backend: &mut dyn Backend, presented: &str) -> Result<Option<MerchantId>> {
    let Some(id) = presented.strip_prefix("ck_").and_then(|rest| rest.split_once('_')).map(|(id, _)| id) else { return Ok(None) };
    if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let Some(record) = read(backend, id)? else { return Ok(None) };
    // Compared in time that does not depend on where the digests differ.
    let presented = hex(&Sha256::digest(presented.as_bytes()));
    let same = presented.len() == record.sha256.len() && presented.bytes().zip(record.sha256.bytes()).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0;
    if !same || record.revoked_ms.is_some() {
        return Ok(None);
    }
    MerchantId::new(record.merchant).map(Some)
}

fn read(backend: &mut dyn Backend, id: &str) -> Result<Option<ApiKey>> {
    let Some(bytes) = backend.host_get(&format!("{PREFIX}{id}"))? else { return Ok(None) };
    Ok(Some(serde_json::from_slice(&bytes).with_context(|| format!("host record {PREFIX}{id}"))?))
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("the operating system gave no random bytes: {e}"))?;
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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

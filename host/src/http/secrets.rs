//! Bearer secrets of the form `<kind>_<id>_<secret>` (API keys `ck_`,
//! customer links `cl_`): `id` is 16 hex digits (8 random bytes) that find
//! the record, `secret` 43 characters of URL-safe base64 (32 random bytes
//! from the operating system). Only SHA-256 of the whole string is kept;
//! a fast hash is enough for 256 random bits (passwords, which people
//! choose, are another matter).

use anyhow::{Context, Result};
use base64::Engine as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::store::Backend;

/// A new secret of `kind`: (id, the whole secret to hand out once, its
/// SHA-256 in hex to keep).
pub fn mint(kind: &str) -> Result<(String, String, String)> {
    let id = hex(&random::<8>()?);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random::<32>()?);
    let whole = format!("{kind}_{id}_{secret}");
    let digest = hex(&Sha256::digest(whole.as_bytes()));
    Ok((id, whole, digest))
}

/// The id of a presented secret of `kind`, if it has the shape of one.
pub fn id_of<'a>(kind: &str, presented: &'a str) -> Option<&'a str> {
    let (id, secret) = presented.strip_prefix(kind)?.strip_prefix('_')?.split_once('_')?;
    let shaped = id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()) && secret.len() == 43;
    shaped.then_some(id)
}

/// Whether `presented` hashes to `sha256_hex`, compared in time that does
/// not depend on where the digests differ.
pub fn matches(presented: &str, sha256_hex: &str) -> bool {
    let digest = hex(&Sha256::digest(presented.as_bytes()));
    digest.len() == sha256_hex.len() && digest.bytes().zip(sha256_hex.bytes()).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0
}

/// Whether two secrets are equal, in time that depends on neither (their
/// SHA-256 digests are compared, so not even on their lengths).
pub fn same(presented: &str, kept: &str) -> bool {
    matches(presented, &hex(&Sha256::digest(kept.as_bytes())))
}

/// `N` random bytes from the operating system.
pub fn random<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("the operating system gave no random bytes: {e}"))?;
    Ok(bytes)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The host record `key` (JSON), if there is one.
pub fn load<T: DeserializeOwned>(backend: &mut dyn Backend, key: &str) -> Result<Option<T>> {
    let Some(bytes) = backend.host_get(key)? else { return Ok(None) };
    Ok(Some(serde_json::from_slice(&bytes).with_context(|| format!("host record {key}"))?))
}

/// Writes the host record `key` as JSON.
pub fn save<T: Serialize>(backend: &mut dyn Backend, key: &str, record: &T) -> Result<()> {
    backend.host_put(key, &serde_json::to_vec(record)?)
}

/// Every host record under `prefix`, in key order.
pub fn load_all<T: DeserializeOwned>(backend: &mut dyn Backend, prefix: &str) -> Result<Vec<T>> {
    backend.host_scan(prefix)?.into_iter().map(|(k, v)| serde_json::from_slice(&v).with_context(|| format!("host record {k}"))).collect()
}

//! Customer links: how a customer reaches "My account" without an
//! account of their own on this server. The merchant issues a link for one
//! account (`credit-host customer-links issue`) and sends it; whoever holds
//! it sees that account and nothing else, until it expires or is revoked.
//!
//! The link's secret reads `cl_<id>_<secret>` (`super::secrets`); the
//! database keeps its SHA-256 under the host record `customer-link/<id>`
//! with the merchant, the account and when it expires.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use super::secrets;
use crate::MerchantId;
use crate::store::Backend;

/// The longest a link may be valid, in days.
pub const VALID_DAYS_MAX: u32 = 366;

/// What the database keeps of a link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerLink {
    /// The public part, `cl_<id>_...`.
    pub id: String,
    /// The merchant and the one account the link shows.
    pub merchant: String,
    /// The account.
    pub account_id: String,
    /// SHA-256 of the whole secret, hex.
    pub sha256: String,
    /// When it was issued (the host's clock, ms since 1970).
    pub created_ms: i64,
    /// From this instant on it is refused.
    pub expires_ms: i64,
    /// When it was revoked; a revoked link is refused.
    pub revoked_ms: Option<i64>,
}

const PREFIX: &str = "customer-link/";

/// Issues a link to `account_id` valid for `valid_days` from `now_ms`: the
/// secret (shown once) and its record. The caller checks the account
/// exists.
pub fn issue(backend: &mut dyn Backend, merchant: &MerchantId, account_id: &str, now_ms: i64, valid_days: u32) -> Result<(String, CustomerLink)> {
    anyhow::ensure!((1..=VALID_DAYS_MAX).contains(&valid_days), "a link is valid for 1 to {VALID_DAYS_MAX} days, not {valid_days}");
    let (id, secret, sha256) = secrets::mint("cl")?;
    let record = CustomerLink {
        id: id.clone(),
        merchant: merchant.as_str().to_owned(),
        account_id: account_id.to_owned(),
        sha256,
        created_ms: now_ms,
        expires_ms: now_ms + i64::from(valid_days) * 86_400_000,
        revoked_ms: None,
    };
    secrets::save(backend, &format!("{PREFIX}{id}"), &record)?;
    Ok((secret, record))
}

/// Every link issued, expired and revoked ones too, by id.
pub fn list(backend: &mut dyn Backend) -> Result<Vec<CustomerLink>> {
    secrets::load_all(backend, PREFIX)
}

/// Revokes a link by id (`cl_<id>` or the id); the record stays.
pub fn revoke(backend: &mut dyn Backend, id: &str, now_ms: i64) -> Result<CustomerLink> {
    let id = id.strip_prefix("cl_").unwrap_or(id);
    let Some(mut record) = secrets::load::<CustomerLink>(backend, &format!("{PREFIX}{id}"))? else { bail!("no customer link {id:?}") };
    if record.revoked_ms.is_some() {
        bail!("the customer link {id:?} was revoked already");
    }
    record.revoked_ms = Some(now_ms);
    secrets::save(backend, &format!("{PREFIX}{id}"), &record)?;
    Ok(record)
}

/// The link presented, if it opens at `now_ms` (its merchant and account
/// say what it shows); `None` for one that is malformed, unknown, wrong,
/// expired or revoked (the holder is not told which).
pub fn open(backend: &mut dyn Backend, presented: &str, now_ms: i64) -> Result<Option<CustomerLink>> {
    let Some(id) = secrets::id_of("cl", presented) else { return Ok(None) };
    let Some(record) = secrets::load::<CustomerLink>(backend, &format!("{PREFIX}{id}"))? else { return Ok(None) };
    if !secrets::matches(presented, &record.sha256) || record.revoked_ms.is_some() || now_ms >= record.expires_ms {
        return Ok(None);
    }
    MerchantId::new(record.merchant.as_str())?;
    Ok(Some(record))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryBackend;

    #[test]
    fn a_link_shows_its_account_until_it_expires_or_is_revoked() {
        let mut store = MemoryBackend::new();
        let shop = MerchantId::new("northwind").unwrap();
        let (link, record) = issue(&mut store, &shop, "acme", 1_000, 2).unwrap();
        let (other, _) = issue(&mut store, &shop, "bolt", 1_000, 2).unwrap();
        let shows = |store: &mut MemoryBackend, link: &str| open(store, link, 1_000).unwrap().map(|r| (r.merchant, r.account_id));
        assert_eq!(shows(&mut store, &link), Some(("northwind".to_owned(), "acme".to_owned())));
        assert_eq!(shows(&mut store, &other), Some(("northwind".to_owned(), "bolt".to_owned())));
        let last_ms = record.expires_ms - 1;
        assert!(open(&mut store, &link, last_ms).unwrap().is_some(), "valid to its last millisecond");
        assert_eq!(open(&mut store, &link, record.expires_ms).unwrap(), None, "expired");
        // Another link's id with this one's secret, an API key's shape.
        let swapped = format!("cl_{}_{}", &other[3..19], &link[20..]);
        for bad in [swapped, link.replacen("cl_", "ck_", 1), link[..link.len() - 1].to_owned()] {
            assert_eq!(open(&mut store, &bad, 1_000).unwrap(), None, "{bad}");
        }
        revoke(&mut store, &record.id, 2_000).unwrap();
        assert_eq!(open(&mut store, &link, 2_000).unwrap(), None, "revoked");
        assert!(issue(&mut store, &shop, "acme", 0, 0).is_err() && issue(&mut store, &shop, "acme", 0, VALID_DAYS_MAX + 1).is_err());
        assert_eq!(list(&mut store).unwrap().len(), 2);
    }
}

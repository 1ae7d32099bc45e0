//! The ledger's hash chain: each entry carries the SHA-256 of the entry
//! before it on its account and of its own contents, and the account keeps
//! the hash of its last entry (its head). Changing, inserting or removing
//! an entry behind the component's back breaks the chain at that entry,
//! which `credit-host verify` recomputes and names.
//!
//! ```text
//! genesis(account) = SHA-256("storefront:credit/ledger-chain/1" || 0x00 || account id)
//! hash(entry n)    = SHA-256(hash(entry n-1) || contents(entry n))     (entry 0 is the genesis)
//! ```
//!
//! `contents` is the entry record of layout 1 without its `hash` field (the
//! record's last 33 bytes), in
//! the postcard 1.0 wire format: the fields of `model::Entry` in order,
//! unsigned integers as LEB128 varints, signed ones zigzag-encoded first,
//! strings as a varint length and UTF-8, an option as 0 or 1 and the value,
//! an enum as the varint index of its case, a list as a varint count and its
//! items, a decimal as its scale (one byte) and its 96-bit mantissa as a
//! zigzag varint. The encoding is frozen: a later layout still hashes the
//! layout-1 contents of an entry, so chains written by every release verify.
//!
//! What it protects: an edit of the stored data that does not also
//! recompute every later hash and the account's head is found. It cannot
//! prevent anything, and someone who can write the database can recompute
//! the whole chain too; publishing a head elsewhere (on a statement, in
//! another system) is what pins the history up to it.

#[allow(unused_imports)]
use crate::prelude::*;

use sha2::{Digest, Sha256};

use crate::model::Entry;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// How many bytes the entry record's last field, `hash`, takes: its length
/// (32, one byte) and the 32 bytes.
pub const HASH_FIELD_LEN: usize = 33;

/// What the chain of `account` starts from.
pub fn genesis(account: &str) -> Hash {
    let mut h = Sha256::new();
    h.update(b"storefront:credit/ledger-chain/1\0");
    h.update(account.as_bytes());
    h.finalize().into()
}

/// The hash of an entry whose `contents` follow an entry hashed `prev`.
pub fn link(prev: &Hash, contents: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(contents);
    h.finalize().into()
}

/// An entry's contents as the chain hashes them (see the module docs).
pub fn contents(entry: &Entry) -> Result<Vec<u8>, postcard::Error> {
    let mut bytes = postcard::to_allocvec(entry)?;
    bytes.truncate(bytes.len() - HASH_FIELD_LEN);
    Ok(bytes)
}

/// A hash as 64 lowercase hex digits.
pub fn hex(hash: &Hash) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for b in hash {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_is_the_standard_one() {
        // FIPS 180-2 test vector "abc".
        let h: Hash = Sha256::digest(b"abc").into();
        assert_eq!(hex(&h), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn every_account_starts_its_own_chain() {
        assert_ne!(genesis("a"), genesis("b"));
        assert_ne!(link(&genesis("a"), b"x"), link(&genesis("a"), b"y"));
        assert_ne!(link(&genesis("a"), b"x"), link(&genesis("b"), b"x"));
    }
}

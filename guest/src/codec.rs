//! How records are stored: postcard, a compact binary serde format (no
//! field names, varint integers). Decimals are stored as their exact text.
//! The host's audit decodes the same records with the same types.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Encodes a record.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, postcard::Error> {
    postcard::to_allocvec(value)
}

/// Decodes a record.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, postcard::Error> {
    postcard::from_bytes(bytes)
}

//! How records are stored: postcard, a compact binary serde format (no
//! field names, varint integers). Decimals in records are stored as
//! rust_decimal's exact 16-byte form (`dec`), so reading one costs a copy,
//! not a parse. The host's audit decodes the same records with the same
//! types.

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

/// `#[serde(with = "crate::codec::dec")]`: a `Decimal` as its 16 bytes.
pub mod dec {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes the 16 bytes.
    pub fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        d.serialize().serialize(s)
    }

    /// Reads the 16 bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        <[u8; 16]>::deserialize(d).map(Decimal::deserialize)
    }
}

/// `#[serde(with = "crate::codec::dec_opt")]`: an `Option<Decimal>` likewise.
pub mod dec_opt {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes the option of 16 bytes.
    pub fn serialize<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        d.map(|d| d.serialize()).serialize(s)
    }

    /// Reads the option of 16 bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        Option::<[u8; 16]>::deserialize(d).map(|o| o.map(Decimal::deserialize))
    }
}

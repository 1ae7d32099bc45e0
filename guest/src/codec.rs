//! How records are stored: one byte naming the record's layout version,
//! then the record in postcard, a compact binary serde format (no field
//! names, varint integers). Decimals in records are stored exactly as their
//! scale and integer mantissa (`dec`): an amount such as 1250.00 is three
//! bytes, and reading one is a varint, not a parse of text. The host's
//! audit decodes the same records with the same types.
//!
//! **Layouts.** `LAYOUT` is the layout this build writes. Every layout a
//! release ever wrote stays readable: when a record type changes, the old
//! type is kept (renamed, e.g. `AccountV1`), `decode` reads records of the
//! old version into it and converts them, and the next save writes the
//! current layout (upgrades are lazy, on read; README "Upgrades"). Key
//! formats belong to the layout too. Index rows (`dx/...`) are keys with
//! empty values and carry no version. Layout 1 is the first: records
//! written by development builds before it (no version byte) are not read.

#[allow(unused_imports)]
use crate::prelude::*;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The layout version of every record this build writes.
pub const LAYOUT: u8 = 1;

/// The layouts this build reads (each release's, oldest first).
pub const LAYOUTS_READ: &[u8] = &[1];

/// Why a stored record could not be read.
#[derive(Debug)]
pub enum DecodeError {
    /// The value is empty: no layout byte.
    Empty,
    /// A layout this build does not know (a newer release wrote it, or
    /// the value is not a record).
    Layout(u8),
    /// The bytes are not a record of the type asked for.
    Postcard(postcard::Error),
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DecodeError::Empty => f.write_str("empty value, no layout version"),
            DecodeError::Layout(v) => write!(f, "layout version {v} is not one this build reads (it reads {LAYOUTS_READ:?})"),
            DecodeError::Postcard(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for DecodeError {}

/// Encodes a record: its layout byte, then postcard.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, postcard::Error> {
    // Most records fit: one allocation instead of a vector grown by doubling.
    encode_into(value, Vec::with_capacity(256))
}

/// Encodes a record after whatever `buf` holds (callers pass it empty),
/// reusing its allocation.
pub fn encode_into<T: Serialize + ?Sized>(value: &T, mut buf: Vec<u8>) -> Result<Vec<u8>, postcard::Error> {
    buf.push(LAYOUT);
    postcard::to_extend(value, buf)
}

/// Decodes a record of any layout this build reads.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    match bytes.split_first() {
        None => Err(DecodeError::Empty),
        Some((&1, rest)) => postcard::from_bytes(rest).map_err(DecodeError::Postcard),
        Some((&v, _)) => Err(DecodeError::Layout(v)),
    }
}

/// A value's postcard bytes with no layout byte: what an idempotency key's
/// request is compared by (a stored fingerprint must not change when the
/// layout version does).
pub fn fingerprint<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, postcard::Error> {
    postcard::to_extend(value, Vec::with_capacity(256))
}

/// `#[serde(with = "crate::codec::dec")]`: a `Decimal` as `(scale,
/// mantissa)`, the scale a byte and the mantissa a zigzag varint. Exact:
/// `Decimal::from_i128_with_scale` gives back the same value and scale (a
/// negative zero comes back as zero).
pub mod dec {
    use rust_decimal::Decimal;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes the scale and the mantissa.
    pub fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        (d.scale() as u8, d.mantissa()).serialize(s)
    }

    /// Reads the scale and the mantissa, refusing what no `Decimal` can be.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let (scale, mantissa) = <(u8, i128)>::deserialize(d)?;
        Decimal::try_from_i128_with_scale(mantissa, u32::from(scale))
            .map_err(|_| D::Error::custom("decimal out of range"))
    }
}

/// `#[serde(with = "crate::codec::hash")]`: a 32-byte hash as postcard
/// bytes (a length byte, then the 32 bytes), read by one copy rather than
/// 32 one-byte elements (about 1,600 instructions fewer each way).
pub mod hash {
    use core::fmt;

    use serde::de::{Error, Visitor};
    use serde::{Deserializer, Serializer};

    /// Writes the bytes.
    pub fn serialize<S: Serializer>(h: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(h)
    }

    /// Reads exactly 32 bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        struct Bytes32;
        impl Visitor<'_> for Bytes32 {
            type Value = [u8; 32];
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("32 bytes")
            }
            fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<[u8; 32], E> {
                v.try_into().map_err(|_| E::invalid_length(v.len(), &self))
            }
        }
        d.deserialize_bytes(Bytes32)
    }
}

/// `#[serde(with = "crate::codec::dec_opt")]`: an `Option<Decimal>` likewise.
pub mod dec_opt {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Dec(#[serde(with = "super::dec")] Decimal);

    /// Writes the option of a decimal.
    pub fn serialize<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        d.map(Dec).serialize(s)
    }

    /// Reads the option of a decimal.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        Option::<Dec>::deserialize(d).map(|o| o.map(|Dec(x)| x))
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct R(#[serde(with = "super::dec")] Decimal, #[serde(with = "super::dec_opt")] Option<Decimal>);

    #[test]
    fn decimals_round_trip_exactly_with_their_scale() {
        for text in ["0", "0.00", "1250.00", "-0.01", "79228162514264337593543950335", "-7.9228162514264337593543950335", "0.0000000000000000000000000001"] {
            let d: Decimal = text.parse().unwrap();
            let r = R(d, Some(-d));
            let back: R = super::decode(&super::encode(&r).unwrap()).unwrap();
            assert_eq!(back.0.to_string(), d.to_string(), "{text}");
            assert_eq!(back.1.map(|x| x.scale()), Some(d.scale()));
            assert_eq!(back, r);
        }
        assert_eq!(super::encode(&R("1250.00".parse().unwrap(), None)).unwrap().len(), 1 + 1 + 3 + 1);
    }

    #[test]
    fn an_impossible_decimal_is_refused_not_trapped() {
        // Scale 29 is beyond what a Decimal can hold.
        let bytes = super::encode(&(29u8, 1i128, None::<u8>)).unwrap();
        assert!(super::decode::<R>(&bytes).is_err());
    }

    #[test]
    fn every_record_starts_with_its_layout_and_unknown_layouts_are_refused() {
        let bytes = super::encode(&R("1.00".parse().unwrap(), None)).unwrap();
        assert_eq!(bytes[0], super::LAYOUT);
        let mut newer = bytes.clone();
        newer[0] = super::LAYOUT + 1;
        assert!(matches!(super::decode::<R>(&newer), Err(super::DecodeError::Layout(v)) if v == super::LAYOUT + 1));
        assert!(matches!(super::decode::<R>(&[]), Err(super::DecodeError::Empty)));
        // Unversioned bytes (a development build's) are not taken for a record.
        assert!(super::decode::<R>(&bytes[1..]).is_err());
        assert_eq!(super::fingerprint(&R("1.00".parse().unwrap(), None)).unwrap(), bytes[1..]);
    }
}

//! How records are stored: postcard, a compact binary serde format (no
//! field names, varint integers). Decimals in records are stored exactly as
//! their scale and integer mantissa (`dec`): an amount such as 1250.00 is
//! three bytes, and reading one is a varint, not a parse of text. The
//! host's audit decodes the same records with the same types.

#[allow(unused_imports)]
use crate::prelude::*;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Encodes a record.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, postcard::Error> {
    // Most records fit: one allocation instead of a vector grown by doubling.
    encode_into(value, Vec::with_capacity(256))
}

/// Encodes a record after whatever `buf` holds (callers pass it empty),
/// reusing its allocation.
pub fn encode_into<T: Serialize + ?Sized>(value: &T, buf: Vec<u8>) -> Result<Vec<u8>, postcard::Error> {
    postcard::to_extend(value, buf)
}

/// Decodes a record.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, postcard::Error> {
    postcard::from_bytes(bytes)
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
        assert_eq!(super::encode(&R("1250.00".parse().unwrap(), None)).unwrap().len(), 1 + 3 + 1);
    }

    #[test]
    fn an_impossible_decimal_is_refused_not_trapped() {
        // Scale 29 is beyond what a Decimal can hold.
        let bytes = super::encode(&(29u8, 1i128, None::<u8>)).unwrap();
        assert!(super::decode::<R>(&bytes).is_err());
    }
}

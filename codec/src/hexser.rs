//! Serde helpers that write byte fields as lowercase hex strings (and read upper or lower case), so that the
//! JSON form of every value is readable and round-trips through `m2mcodec decode` / `encode`.
//!
//! Use with `#[serde(with = "crate::hexser")]` on `Vec<u8>`, `hexser::array` on `[u8; N]` and `hexser::opt`
//! on `Option<Vec<u8>>`.

use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

/// Serialises bytes as a hex string.
///
/// # Errors
/// Only the serializer's own errors.
pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(bytes))
}

/// Deserialises a hex string (spaces allowed) into bytes.
///
/// # Errors
/// When the string is not hex.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let s = std::borrow::Cow::<str>::deserialize(d)?;
    parse_hex(&s).map_err(D::Error::custom)
}

/// Parses hex text, ignoring ASCII whitespace, colons and an optional `0x` prefix.
///
/// # Errors
/// A one-line reason when the text is not an even number of hex digits.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, &'static str> {
    let s = s.trim();
    let s = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    let cleaned: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace() && *b != b':').collect();
    if !cleaned.len().is_multiple_of(2) {
        return Err("odd number of hex digits");
    }
    hex::decode(&cleaned).map_err(|_| "not a hex digit")
}

/// The same helpers for fixed-size arrays.
pub mod array {
    use super::{Deserialize, Deserializer, Serializer, parse_hex};
    use serde::de::Error as _;

    /// Serialises a byte array as hex.
    ///
    /// # Errors
    /// Only the serializer's own errors.
    pub fn serialize<S: Serializer, const N: usize>(bytes: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        super::serialize(bytes, s)
    }

    /// Deserialises exactly `N` bytes of hex.
    ///
    /// # Errors
    /// When the string is not hex or has the wrong length.
    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[u8; N], D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        let v = parse_hex(&s).map_err(D::Error::custom)?;
        <[u8; N]>::try_from(v.as_slice())
            .map_err(|_| D::Error::custom(format_args!("expected {N} bytes of hex, got {}", v.len())))
    }
}

/// The same helpers for optional byte strings.
pub mod opt {
    use super::{Deserialize, Deserializer, Serializer, parse_hex};
    use serde::de::Error as _;

    /// Serialises `Some(bytes)` as hex and `None` as null.
    ///
    /// # Errors
    /// Only the serializer's own errors.
    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => super::serialize(b, s),
            None => s.serialize_none(),
        }
    }

    /// Deserialises hex or null.
    ///
    /// # Errors
    /// When the string is not hex.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let s = Option::<std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.map(|s| parse_hex(&s).map_err(D::Error::custom)).transpose()
    }
}

/// The same helpers for a single byte (`u8` written as two hex digits, e.g. `"7f"`), for codes such as a
/// TP-PID or a KIc whose hex form is what people read.
pub mod byte {
    use super::{Deserialize, Deserializer, Serializer, parse_hex};
    use serde::de::Error as _;

    /// Serialises a byte as two hex digits.
    ///
    /// # Errors
    /// Only the serializer's own errors.
    pub fn serialize<S: Serializer>(b: &u8, s: S) -> Result<S::Ok, S::Error> {
        super::serialize(&[*b], s)
    }

    /// Deserialises exactly one byte of hex.
    ///
    /// # Errors
    /// When the string is not hex or not exactly one byte.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        match parse_hex(&s).map_err(D::Error::custom)?.as_slice() {
            [b] => Ok(*b),
            v => Err(D::Error::custom(format_args!("expected 1 byte of hex, got {}", v.len()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_hex;

    #[test]
    fn parses_spaced_and_prefixed_hex() {
        assert_eq!(parse_hex("0x02 70:00").unwrap(), vec![2, 0x70, 0]);
        assert_eq!(parse_hex("A0c0").unwrap(), vec![0xA0, 0xC0]);
        assert_eq!(parse_hex("abc"), Err("odd number of hex digits"));
        assert_eq!(parse_hex("zz"), Err("not a hex digit"));
    }
}

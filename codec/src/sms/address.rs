//! Addresses: the TP address of TS 23.040 §9.1.2.5 ([`Address`]: TP-OA, TP-DA, TP-RA) and the RP/CAT
//! address form of TS 24.011 §8.2.5 / TS 102 223 §8.1 ([`RpAddress`]: length in octets).
//!
//! Both keep the type-of-address octet raw (extension bit included) and the digit octets as read, so a
//! non-`F` filler nibble or a `F` inside the number survives a round trip. Digits are the semi-octets
//! `0`–`9`, `*` (A), `#` (B), `a` (C), `b` (D), `c` (E); `f` (F) is accepted as a character too, so that
//! whatever [`Address::digits`] shows can be built again.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::BuildError;
use super::gsm7;
use crate::error::DecodeResult;
use crate::reader::{Decode, Encode, Reader};

/// Type of number, TOA bits 7..5 (TS 23.040 §9.1.2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ton {
    /// `000`
    Unknown,
    /// `001`
    International,
    /// `010`
    National,
    /// `011`
    NetworkSpecific,
    /// `100`
    SubscriberNumber,
    /// `101`: GSM 7-bit alphanumeric address.
    Alphanumeric,
    /// `110`
    Abbreviated,
    /// `111` (reserved for extension).
    Reserved,
}

impl Ton {
    const fn from_bits(b: u8) -> Self {
        match b & 7 {
            0 => Self::Unknown,
            1 => Self::International,
            2 => Self::National,
            3 => Self::NetworkSpecific,
            4 => Self::SubscriberNumber,
            5 => Self::Alphanumeric,
            6 => Self::Abbreviated,
            _ => Self::Reserved,
        }
    }

    const fn bits(self) -> u8 {
        match self {
            Self::Unknown => 0,
            Self::International => 1,
            Self::National => 2,
            Self::NetworkSpecific => 3,
            Self::SubscriberNumber => 4,
            Self::Alphanumeric => 5,
            Self::Abbreviated => 6,
            Self::Reserved => 7,
        }
    }
}

/// Numbering plan identification, TOA bits 4..1 (TS 23.040 §9.1.2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Npi {
    /// `0000`
    Unknown,
    /// `0001`: ISDN/telephone (E.164/E.163).
    IsdnE164,
    /// `0011`: data (X.121).
    Data,
    /// `0100`: telex.
    Telex,
    /// `0101`: service-centre specific plan 1.
    ScSpecific1,
    /// `0110`: service-centre specific plan 2.
    ScSpecific2,
    /// `1000`: national.
    National,
    /// `1001`: private.
    Private,
    /// `1010`: ERMES.
    Ermes,
    /// Any other value (reserved), kept.
    Reserved(u8),
}

impl Npi {
    const fn from_bits(b: u8) -> Self {
        match b & 0x0F {
            0 => Self::Unknown,
            1 => Self::IsdnE164,
            3 => Self::Data,
            4 => Self::Telex,
            5 => Self::ScSpecific1,
            6 => Self::ScSpecific2,
            8 => Self::National,
            9 => Self::Private,
            10 => Self::Ermes,
            n => Self::Reserved(n),
        }
    }

    const fn bits(self) -> u8 {
        match self {
            Self::Unknown => 0,
            Self::IsdnE164 => 1,
            Self::Data => 3,
            Self::Telex => 4,
            Self::ScSpecific1 => 5,
            Self::ScSpecific2 => 6,
            Self::National => 8,
            Self::Private => 9,
            Self::Ermes => 10,
            Self::Reserved(n) => n & 0x0F,
        }
    }
}

/// The type-of-address octet for `ton`/`npi` with the extension bit (b8) set, as TS 23.040 requires.
#[must_use]
pub const fn toa(ton: Ton, npi: Npi) -> u8 {
    0x80 | (ton.bits() << 4) | npi.bits()
}

/// The semi-octet → character mapping of TS 23.040 §9.1.2.3 (A–E: `*#abc`; F shown as `f`).
const fn nibble_char(n: u8) -> char {
    match n & 0x0F {
        n @ 0..=9 => (b'0' + n) as char,
        0x0A => '*',
        0x0B => '#',
        0x0C => 'a',
        0x0D => 'b',
        0x0E => 'c',
        _ => 'f',
    }
}

fn char_nibble(c: char) -> Option<u8> {
    Some(match c {
        '0'..='9' => c as u8 - b'0',
        '*' => 0x0A,
        '#' => 0x0B,
        'a' | 'A' => 0x0C,
        'b' | 'B' => 0x0D,
        'c' | 'C' => 0x0E,
        'f' | 'F' => 0x0F,
        _ => return None,
    })
}

/// Most semi-octets a TP address holds (10 octets, TS 23.040 §9.1.2.5).
pub const MAX_ADDRESS_DIGITS: usize = 20;

/// A TP address (TS 23.040 §9.1.2.5): `length (useful semi-octets) | TOA | value`, lossless.
///
/// The value is `(length + 1) / 2` octets: swapped BCD digits (odd lengths keep their last digit in the low
/// nibble of the last octet, filler in the high nibble: "0123456" is `07 81 10 32 54 F6`), or, when the
/// TON is alphanumeric, GSM 7-bit packed characters with the length counting semi-octets.
/// Lengths above 20 are rejected. The value is stored in a fixed array (no allocation).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "AddressRepr", into = "AddressRepr")]
pub struct Address {
    len: u8,
    toa: u8,
    value: [u8; 10],
}

/// JSON form of [`Address`]: the raw fields, plus `digits` (or the text of an alphanumeric address) for
/// people, which is ignored when reading.
#[derive(Serialize, Deserialize)]
struct AddressRepr {
    length: u8,
    #[serde(with = "crate::hexser::byte")]
    toa: u8,
    #[serde(with = "crate::hexser")]
    value: Vec<u8>,
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    digits: Option<String>,
}

impl From<Address> for AddressRepr {
    fn from(a: Address) -> Self {
        Self { length: a.len, toa: a.toa, value: a.value().to_vec(), digits: Some(a.to_string()) }
    }
}

impl TryFrom<AddressRepr> for Address {
    type Error = BuildError;

    fn try_from(r: AddressRepr) -> Result<Self, BuildError> {
        Self::from_raw(r.length, r.toa, &r.value)
    }
}

impl Address {
    /// An address from its raw fields.
    ///
    /// # Errors
    /// [`BuildError::AddressTooLong`] above 20 semi-octets, [`BuildError::AddressValueLength`] when `value`
    /// is not `(length + 1) / 2` octets.
    pub fn from_raw(length: u8, toa: u8, value: &[u8]) -> Result<Self, BuildError> {
        if length as usize > MAX_ADDRESS_DIGITS {
            return Err(BuildError::AddressTooLong { len: length as usize, max: MAX_ADDRESS_DIGITS });
        }
        let n = (length as usize).div_ceil(2);
        if value.len() != n {
            return Err(BuildError::AddressValueLength { len: value.len(), expected: n });
        }
        let mut v = [0u8; 10];
        v[..n].copy_from_slice(value);
        Ok(Self { len: length, toa, value: v })
    }

    /// Builder: a numeric address with TOA `toa` and `digits` (`0-9*#abc`), F-filled when odd.
    ///
    /// # Errors
    /// [`BuildError::InvalidDigit`], or [`BuildError::AddressTooLong`] above 20 digits.
    pub fn from_digits(toa: u8, digits: &str) -> Result<Self, BuildError> {
        let mut v = [0u8; 10];
        let mut n = 0usize;
        for c in digits.chars() {
            let d = char_nibble(c).ok_or(BuildError::InvalidDigit { ch: c })?;
            if n >= MAX_ADDRESS_DIGITS {
                return Err(BuildError::AddressTooLong {
                    len: digits.chars().count(),
                    max: MAX_ADDRESS_DIGITS,
                });
            }
            v[n / 2] |= if n.is_multiple_of(2) { d } else { d << 4 };
            n += 1;
        }
        if !n.is_multiple_of(2) {
            v[n / 2] |= 0xF0;
        }
        // n <= 20
        Ok(Self { len: n as u8, toa, value: v })
    }

    /// Builder: an international E.164 number (TOA `91`).
    ///
    /// # Errors
    /// As [`Address::from_digits`].
    pub fn international(digits: &str) -> Result<Self, BuildError> {
        Self::from_digits(toa(Ton::International, Npi::IsdnE164), digits)
    }

    /// Builder: an alphanumeric address (TOA `D0`: TON 101, NPI 0000) holding `text` in the GSM 7-bit
    /// default alphabet; at most 11 septets fit.
    ///
    /// Decision: the length is the number of semi-octets the septets occupy, `ceil(7 × n / 4)` (7 for
    /// "ekit"); some senders count whole octets (8). Both decode to the same text, since the reader takes
    /// `length × 4 / 7` septets.
    ///
    /// # Errors
    /// [`BuildError::NotGsm7`] for characters outside the alphabet, [`BuildError::AddressTooLong`].
    pub fn alphanumeric(text: &str) -> Result<Self, BuildError> {
        let septets = gsm7::encode_text(text).map_err(|ch| BuildError::NotGsm7 { ch })?;
        let mut packed = Vec::with_capacity(10);
        gsm7::pack_septets(&septets, 0, &mut packed);
        let semi = (septets.len() * 7).div_ceil(4);
        if semi > MAX_ADDRESS_DIGITS {
            return Err(BuildError::AddressTooLong { len: semi, max: MAX_ADDRESS_DIGITS });
        }
        // semi <= 20
        Self::from_raw(semi as u8, toa(Ton::Alphanumeric, Npi::Unknown), &packed)
    }

    /// The address-length field: number of useful semi-octets.
    #[must_use]
    pub const fn length(&self) -> u8 {
        self.len
    }

    /// The type-of-address octet, raw.
    #[must_use]
    pub const fn toa(&self) -> u8 {
        self.toa
    }

    /// Type of number.
    #[must_use]
    pub const fn ton(&self) -> Ton {
        Ton::from_bits(self.toa >> 4)
    }

    /// Numbering plan.
    #[must_use]
    pub const fn npi(&self) -> Npi {
        Npi::from_bits(self.toa)
    }

    /// True when the TON is alphanumeric (the value is GSM 7-bit packed).
    #[must_use]
    pub const fn is_alphanumeric(&self) -> bool {
        matches!(self.ton(), Ton::Alphanumeric)
    }

    /// The address value octets, as read.
    #[must_use]
    pub fn value(&self) -> &[u8] {
        &self.value[..(self.len as usize).div_ceil(2)]
    }

    /// The BCD digits (`length` of them; meaningless for an alphanumeric address).
    pub fn digits(&self) -> impl Iterator<Item = char> + '_ {
        (0..self.len as usize).map(|i| {
            let b = self.value[i / 2];
            nibble_char(if i.is_multiple_of(2) { b } else { b >> 4 })
        })
    }

    /// The septets of an alphanumeric address (`length × 4 / 7` of them).
    #[must_use]
    pub fn septets(&self) -> Vec<u8> {
        let count = self.len as usize * 4 / 7;
        gsm7::unpack_septets(self.value(), 0, count).unwrap_or_default()
    }

    /// Encoded size (2 + value).
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        2 + self.value().len()
    }

    /// Reads an address, naming it `what` (e.g. "TP-OA") in errors.
    ///
    /// # Errors
    /// Truncation, or a length above 20 semi-octets.
    pub fn read(r: &mut Reader<'_>, what: &'static str) -> DecodeResult<Self> {
        let at = r.offset();
        let len = r.u8(what)?;
        if len as usize > MAX_ADDRESS_DIGITS {
            return Err(crate::DecodeError::invalid(what, "address length above 20 semi-octets", at));
        }
        let toa = r.u8(what)?;
        let n = (len as usize).div_ceil(2);
        let mut value = [0u8; 10];
        value[..n].copy_from_slice(r.take(n, what)?);
        Ok(Self { len, toa, value })
    }
}

impl Decode for Address {
    const NAME: &'static str = "TP address";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Self::read(r, Self::NAME)
    }
}

impl Encode for Address {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(self.len);
        out.push(self.toa);
        out.extend_from_slice(self.value());
    }
}

impl fmt::Display for Address {
    /// The digits, or the text of an alphanumeric address.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_alphanumeric() {
            f.write_str(&gsm7::decode_text(&self.septets()))
        } else {
            self.digits().try_for_each(|c| fmt::Write::write_char(f, c))
        }
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Address(len {}, toa {:02X}, value {}, \"{self}\")",
            self.len,
            self.toa,
            hex::encode(self.value())
        )
    }
}

/// Most octets of an RP/CAT address content (TOA + 10 digit octets, TS 24.011 §8.2.5.1).
pub const MAX_RP_ADDRESS_CONTENT: usize = 11;

/// An address whose length counts octets (TS 24.011 §8.2.5.1/2 RP-OA/RP-DA; TS 102 223 §8.1, the CAT
/// Address data object `06`/`86`): `[length] TOA digits…`, digits swapped BCD and F-filled.
///
/// The content (`TOA digits`) is stored raw in a fixed array, at most 11 octets; an empty content (length
/// 0, allowed for RP-OA in the MS→network direction) has no TOA. [`Decode`] reads the RP form with its
/// length octet; [`RpAddress::from_value`] / [`RpAddress::value`] handle the CAT TLV value (no length
/// octet). Decision: CAT addresses longer than 11 octets (possible for SET UP CALL with extension records)
/// are refused; this type is for the SMS context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RpAddressRepr", into = "RpAddressRepr")]
pub struct RpAddress {
    len: u8,
    content: [u8; MAX_RP_ADDRESS_CONTENT],
}

/// JSON form of [`RpAddress`]: the content octets, plus the digits for people (ignored when reading).
#[derive(Serialize, Deserialize)]
struct RpAddressRepr {
    #[serde(with = "crate::hexser")]
    value: Vec<u8>,
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    digits: Option<String>,
}

impl From<RpAddress> for RpAddressRepr {
    fn from(a: RpAddress) -> Self {
        Self { value: a.value().to_vec(), digits: Some(a.digits().collect()) }
    }
}

impl TryFrom<RpAddressRepr> for RpAddress {
    type Error = BuildError;

    fn try_from(r: RpAddressRepr) -> Result<Self, BuildError> {
        if r.value.len() > MAX_RP_ADDRESS_CONTENT {
            return Err(BuildError::AddressTooLong { len: r.value.len(), max: MAX_RP_ADDRESS_CONTENT });
        }
        let mut content = [0u8; MAX_RP_ADDRESS_CONTENT];
        content[..r.value.len()].copy_from_slice(&r.value);
        // <= 11
        Ok(Self { len: r.value.len() as u8, content })
    }
}

impl RpAddress {
    /// Builder: TOA `toa` and `digits`, F-filled when odd.
    ///
    /// # Errors
    /// [`BuildError::InvalidDigit`], or [`BuildError::AddressTooLong`] above 20 digits.
    pub fn from_digits(toa: u8, digits: &str) -> Result<Self, BuildError> {
        let a = Address::from_digits(toa, digits)?;
        let mut content = [0u8; MAX_RP_ADDRESS_CONTENT];
        content[0] = toa;
        let v = a.value();
        content[1..=v.len()].copy_from_slice(v);
        // <= 11
        Ok(Self { len: 1 + v.len() as u8, content })
    }

    /// The address from a CAT Address TLV value (`TOA digits…`, no length octet).
    ///
    /// # Errors
    /// More than 11 octets.
    pub fn from_value(value: &[u8]) -> DecodeResult<Self> {
        Self::from_value_at(value, 0)
    }

    /// As [`RpAddress::from_value`], with `base` the absolute offset of `value[0]` for errors.
    ///
    /// # Errors
    /// More than 11 octets.
    pub fn from_value_at(value: &[u8], base: usize) -> DecodeResult<Self> {
        if value.len() > MAX_RP_ADDRESS_CONTENT {
            return Err(crate::DecodeError::invalid(
                "address",
                "more than 11 octets (TOA + 10 digit octets)",
                base,
            ));
        }
        let mut content = [0u8; MAX_RP_ADDRESS_CONTENT];
        content[..value.len()].copy_from_slice(value);
        // <= 11
        Ok(Self { len: value.len() as u8, content })
    }

    /// The content octets (`TOA digits…`): the CAT TLV value.
    #[must_use]
    pub fn value(&self) -> &[u8] {
        &self.content[..self.len as usize]
    }

    /// The TOA octet, `None` for an empty address.
    #[must_use]
    pub fn toa(&self) -> Option<u8> {
        self.value().first().copied()
    }

    /// The digits: every semi-octet after the TOA, stopping at the first `F` filler.
    pub fn digits(&self) -> impl Iterator<Item = char> + '_ {
        self.value()
            .iter()
            .skip(1)
            .flat_map(|b| [b & 0x0F, b >> 4])
            .take_while(|n| *n != 0x0F)
            .map(nibble_char)
    }
}

impl Decode for RpAddress {
    const NAME: &'static str = "RP address";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let at = r.offset();
        let len = r.u8("RP address length")? as usize;
        if len > MAX_RP_ADDRESS_CONTENT {
            return Err(crate::DecodeError::invalid("RP address length", "above 11 octets", at));
        }
        let base = r.offset();
        Self::from_value_at(r.take_len(len, 1, "RP address")?, base)
    }
}

impl Encode for RpAddress {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(self.len);
        out.extend_from_slice(self.value());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_length_keeps_its_last_digit() {
        let a = Address::from_digits(0x81, "0123456").unwrap();
        assert_eq!(hex::encode(a.encode()), "07811032 54f6".replace(' ', ""));
        let b = Address::decode_exact(&a.encode()).unwrap();
        assert_eq!(b, a);
        assert_eq!(b.to_string(), "0123456");
        assert_eq!(b.ton(), Ton::Unknown);
        assert_eq!(b.npi(), Npi::IsdnE164);
        // A non-F filler nibble is kept.
        let raw = hex::decode("0781103254a6").unwrap();
        let c = Address::decode_exact(&raw).unwrap();
        assert_eq!(c.encode(), raw);
        assert_eq!(c.to_string(), "0123456");
        assert_ne!(c, a);
    }

    #[test]
    fn special_digits_and_limits() {
        let a = Address::from_digits(0x81, "*#abc1").unwrap();
        assert_eq!(hex::encode(a.value()), "badc1e");
        assert_eq!(a.to_string(), "*#abc1");
        assert_eq!(Address::from_digits(0x81, "12x"), Err(BuildError::InvalidDigit { ch: 'x' }));
        assert!(Address::from_digits(0x81, &"1".repeat(21)).is_err());
        assert!(Address::from_digits(0x81, &"1".repeat(20)).is_ok());
        let e = Address::decode_exact(&[21, 0x81]).unwrap_err();
        assert_eq!(e.offset, 0);
        let e = Address::decode_exact(&[5, 0x81, 0x21, 0x43]).unwrap_err();
        assert!(matches!(e.kind, crate::DecodeErrorKind::Truncated { needed: 1, .. }), "{e}");
        assert_eq!(e.offset, 2);
        let empty = Address::decode_exact(&[0, 0x80]).unwrap();
        assert_eq!(empty.to_string(), "");
        assert_eq!(Address::international("4912345").unwrap().toa(), 0x91);
    }

    #[test]
    fn alphanumeric_addresses() {
        // pySim's SMS-DELIVER originator: 08 D0 E5759A0E = "ekit" (4 septets in 8 semi-octets)
        let a = Address::decode_exact(&hex::decode("08d0e5759a0e").unwrap()).unwrap();
        assert!(a.is_alphanumeric());
        assert_eq!(a.to_string(), "ekit");
        // The builder counts the semi-octets the 28 bits use (7); that sender counted whole octets (8).
        let built = Address::alphanumeric("ekit").unwrap();
        assert_eq!((built.length(), built.value()), (7, a.value()));
        assert_eq!(Address::decode_exact(&built.encode()).unwrap().to_string(), "ekit");
        let b = Address::alphanumeric("Operator").unwrap();
        assert_eq!(b.length(), 14);
        assert_eq!(Address::decode_exact(&b.encode()).unwrap().to_string(), "Operator");
        assert!(Address::alphanumeric("ABCDEFGHIJKL").is_err());
        assert_eq!(Address::alphanumeric("日"), Err(BuildError::NotGsm7 { ch: '日' }));
    }

    #[test]
    fn json_keeps_raw_fields_and_ignores_digits() {
        let a = Address::from_digits(0x91, "12345").unwrap();
        let j = serde_json::to_string(&a).unwrap();
        assert_eq!(j, r#"{"length":5,"toa":"91","value":"2143f5","digits":"12345"}"#);
        assert_eq!(serde_json::from_str::<Address>(&j).unwrap(), a);
        // Lying digits are ignored; inconsistent raw fields are refused.
        let a2: Address =
            serde_json::from_str(r#"{"length":5,"toa":"91","value":"2143f5","digits":"9"}"#).unwrap();
        assert_eq!(a2, a);
        assert!(serde_json::from_str::<Address>(r#"{"length":4,"toa":"91","value":"2143f5"}"#).is_err());
    }

    #[test]
    fn rp_and_cat_form() {
        let a = RpAddress::from_digits(0x81, "0123456").unwrap();
        assert_eq!(hex::encode(a.value()), "81103254f6");
        assert_eq!(hex::encode(a.encode()), "0581103254f6");
        assert_eq!(a.digits().collect::<String>(), "0123456");
        assert_eq!(RpAddress::decode_exact(&a.encode()).unwrap(), a);
        // The smpp2sim envelope's SC address TLV value: 00 10 32 54 (pySim drops the 7th digit).
        let b = RpAddress::from_value(&hex::decode("00103254").unwrap()).unwrap();
        assert_eq!(b.toa(), Some(0));
        assert_eq!(b.digits().collect::<String>(), "012345");
        let empty = RpAddress::decode_exact(&[0]).unwrap();
        assert_eq!(empty.toa(), None);
        assert_eq!(RpAddress::decode_exact(&[12]).unwrap_err().offset, 0);
        let e = RpAddress::decode_exact(&[3, 0x81, 0x21]).unwrap_err();
        assert!(matches!(e.kind, crate::DecodeErrorKind::LengthOverflow { length: 3, remaining: 2, .. }));
        assert!(RpAddress::from_value(&[0; 12]).is_err());
        let j = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<RpAddress>(&j).unwrap(), a);
    }
}

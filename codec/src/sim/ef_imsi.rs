//! EF_IMSI (TS 31.102 §4.2.2, TS 51.011 §10.3.2), coded as the IMSI mobile identity of TS 24.008
//! §10.5.1.4.

use serde::{Deserialize, Serialize};

use super::{DigitsError, Imsi, bcd};
use crate::error::{DecodeError, DecodeResult};
use crate::reader::{Decode, Encode, Reader};

/// Size of EF_IMSI (TS 31.102 §4.2.2).
pub const EF_IMSI_SIZE: usize = 9;

/// The contents of EF_IMSI.
///
/// Byte 1 is the length L (1..=8) of the IMSI field that follows. Its first byte holds the type of identity
/// in b3–b1 (`001` = IMSI), the parity in b4 (`1` = odd number of digits) and digit 1 in the high nibble; the
/// other digits follow two per byte, low nibble first. The digit count is fixed by L and the parity
/// (2L − 1 when odd, 2L − 2 when even); with an even count the last high nibble is a filler, normally `F`.
///
/// Lossless: the type-of-identity bits, a non-`F` filler and the bytes after the L bytes (normally `FF`
/// padding up to the file's 9 bytes) are kept. A digit nibble above 9 is an error, and so is L = 0 or L > 8
/// (so a blank, all-`FF` EF_IMSI does not decode: decision, it holds no IMSI).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EfImsi {
    /// The IMSI digits.
    pub imsi: Imsi,
    /// Type of identity, b3–b1 of the first IMSI byte (`1` = IMSI); only the low three bits are written.
    #[serde(default = "imsi_type")]
    pub identity_type: u8,
    /// The filler nibble after an even number of digits (`0xF` when canonical); only the low four bits are
    /// written, and only for an even count.
    #[serde(default = "filler")]
    pub filler: u8,
    /// Bytes after the IMSI field (unused part of the file, `FF` when canonical).
    #[serde(default, with = "crate::hexser")]
    pub trailing: Vec<u8>,
}

const fn imsi_type() -> u8 {
    1
}

const fn filler() -> u8 {
    bcd::FILLER
}

impl EfImsi {
    /// The canonical 9-byte file for `imsi`: type `001`, filler `F`, padded with `FF`.
    #[must_use]
    pub fn new(imsi: Imsi) -> Self {
        let l = Self::field_len(imsi.as_str().len());
        Self {
            imsi,
            identity_type: imsi_type(),
            filler: filler(),
            trailing: vec![0xFF; EF_IMSI_SIZE - 1 - l],
        }
    }

    /// The canonical file for an IMSI given as digits.
    ///
    /// # Errors
    /// As [`Imsi::new`].
    pub fn from_digits(digits: &str) -> Result<Self, DigitsError> {
        Ok(Self::new(Imsi::new(digits)?))
    }

    /// L for `n` digits: the type/parity nibble and the digits, two nibbles per byte.
    const fn field_len(n: usize) -> usize {
        (n + 2) / 2
    }
}

impl Decode for EfImsi {
    const NAME: &'static str = "EF_IMSI";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let l = r.u8("EF_IMSI length")?;
        if !(1..=8).contains(&l) {
            return Err(r.invalid_at(1, "EF_IMSI length", "must be 1..=8"));
        }
        let start = r.offset();
        let field = r.take_len(usize::from(l), 1, "EF_IMSI IMSI field")?;
        let odd = field[0] & 0x08 != 0;
        let n = if odd { 2 * usize::from(l) - 1 } else { 2 * usize::from(l) - 2 };
        // Nibbles after the type/parity nibble: digit 1 (high nibble of byte 1), then low/high of each byte.
        let ns: Vec<u8> = std::iter::once(field[0] >> 4).chain(bcd::nibbles(&field[1..])).collect();
        let mut digits = String::with_capacity(n);
        for (i, &d) in ns.iter().take(n).enumerate() {
            if d > 9 {
                return Err(DecodeError::invalid("EF_IMSI digit", "nibble above 9", start + i.div_ceil(2)));
            }
            digits.push(char::from(b'0' + d));
        }
        let filler = ns.get(n).copied().unwrap_or(bcd::FILLER);
        let imsi =
            Imsi::new(&digits).map_err(|_| DecodeError::invalid("EF_IMSI", "more than 15 digits", start))?;
        Ok(Self { imsi, identity_type: field[0] & 0x07, filler, trailing: r.rest().to_vec() })
    }
}

impl Encode for EfImsi {
    fn encode_to(&self, out: &mut Vec<u8>) {
        let digits = self.imsi.as_str().as_bytes();
        let n = digits.len();
        let odd = n % 2 == 1;
        // At most 15 digits (Imsi), so L ≤ 8.
        out.push(Self::field_len(n) as u8);
        let first = digits.first().map_or(self.filler & 0x0F, |d| d - b'0');
        out.push((first << 4) | (u8::from(odd) << 3) | (self.identity_type & 0x07));
        let mut rest: Vec<u8> = digits.iter().skip(1).map(|d| d - b'0').collect();
        if !odd && n > 0 {
            rest.push(self.filler & 0x0F);
        }
        out.extend_from_slice(&bcd::pack(&rest));
        out.extend_from_slice(&self.trailing);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DecodeErrorKind;
    use proptest::prelude::*;

    fn rt(hex: &str) -> EfImsi {
        let b = hex::decode(hex).unwrap();
        let f = EfImsi::decode_exact(&b).unwrap();
        assert_eq!(f.encode(), b, "{hex}");
        f
    }

    #[test]
    fn odd_and_even_examples() {
        // m2m.md §4.3: 001010123456789 → 08 09 10 10 10 32 54 76 98.
        let f = EfImsi::from_digits("001010123456789").unwrap();
        assert_eq!(hex::encode(f.encode()), "080910101032547698");
        assert_eq!(rt("080910101032547698"), f);
        // Even: 00101012345678 → 08 01 10 10 10 32 54 76 F8.
        let f = EfImsi::from_digits("00101012345678").unwrap();
        assert_eq!(hex::encode(f.encode()), "0801101010325476f8");
        assert_eq!(rt("0801101010325476f8"), f);
        // A short IMSI is padded to 9 bytes.
        let f = EfImsi::from_digits("26201123").unwrap();
        assert_eq!(hex::encode(f.encode()), "0521261021f3ffffff");
    }

    #[test]
    fn non_canonical_content_is_kept() {
        // Filler 0 instead of F, type bits 010, no padding, extra byte after the file.
        let f = rt("080210101032547608");
        assert_eq!((f.imsi.as_str(), f.filler, f.identity_type), ("00101012345678", 0, 2));
        let f = rt("0809101010325476989999");
        assert_eq!(f.trailing, [0x99, 0x99]);
        // L = 1, even: no digits, the high nibble is the filler.
        let f = rt("01f1ffffffffffffff");
        assert_eq!((f.imsi.as_str(), f.filler), ("", 0xF));
    }

    #[test]
    fn errors() {
        let err = |h: &str| EfImsi::decode_exact(&hex::decode(h).unwrap()).unwrap_err();
        let e = err("ffffffffffffffffff");
        assert_eq!(
            (e.offset, e.kind.clone()),
            (0, DecodeErrorKind::Invalid { what: "EF_IMSI length", reason: "must be 1..=8" })
        );
        assert_eq!(err("000000").offset, 0);
        let e = err("0809101010");
        assert_eq!(
            e.kind,
            DecodeErrorKind::LengthOverflow { what: "EF_IMSI IMSI field", length: 8, remaining: 4 }
        );
        // A nibble above 9 inside the digits: byte 5 holds digits 8 and 9 of the IMSI.
        let e = err("08091010103a547698");
        assert_eq!(e.offset, 5);
        let b = hex::decode("080910101032547698").unwrap();
        for i in 0..b.len() {
            assert!(EfImsi::decode_exact(&b[..i]).is_err(), "prefix {i}");
        }
    }

    proptest! {
        #[test]
        fn typed_round_trip(
            d in "[0-9]{0,15}",
            t in 0u8..8,
            filler in 0u8..16,
            trailing in proptest::collection::vec(any::<u8>(), 0..4),
        ) {
            // The filler is only written after an even count (for zero digits it is the first nibble).
            let even = d.len() % 2 == 0;
            let filler = if even { filler } else { 0xF };
            let f = EfImsi { imsi: Imsi::new(&d).unwrap(), identity_type: t, filler, trailing };
            let b = f.encode();
            prop_assert_eq!(EfImsi::decode_exact(&b).unwrap(), f);
        }

        #[test]
        fn bytes_round_trip(b in proptest::collection::vec(any::<u8>(), 0..12)) {
            if let Ok(f) = EfImsi::decode_exact(&b) {
                prop_assert_eq!(f.encode(), b);
            }
        }
    }
}

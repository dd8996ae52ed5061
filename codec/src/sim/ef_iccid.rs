//! EF_ICCID (TS 102 221 §13.2): the card's identification number, swapped BCD.

use serde::{Deserialize, Serialize};

use super::{DigitsError, Iccid, bcd};
use crate::error::{DecodeError, DecodeResult};
use crate::reader::{Decode, Encode, Reader};

/// Size of EF_ICCID (TS 102 221 §13.2).
pub const EF_ICCID_SIZE: usize = 10;

/// The contents of EF_ICCID: the ICCID digits two per byte, low nibble first, filled with `F`
/// (`8988211000000467285` → `98 88 12 01 00 00 40 76 82 F5`).
///
/// The digits run up to the first `F` nibble; every nibble after it must be `F` too (anything else is an
/// error, since it could not be written back). `size` keeps the file length, normally 10 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EfIccid {
    /// The ICCID.
    pub iccid: Iccid,
    /// File size in bytes; the encoder never writes fewer bytes than the digits need.
    #[serde(default = "iccid_size")]
    pub size: usize,
}

const fn iccid_size() -> usize {
    EF_ICCID_SIZE
}

impl EfIccid {
    /// The canonical 10-byte file for `iccid`.
    #[must_use]
    pub const fn new(iccid: Iccid) -> Self {
        Self { iccid, size: EF_ICCID_SIZE }
    }

    /// The canonical file for an ICCID given as digits.
    ///
    /// # Errors
    /// As [`Iccid::new`].
    pub fn from_digits(digits: &str) -> Result<Self, DigitsError> {
        Ok(Self::new(Iccid::new(digits)?))
    }
}

impl Decode for EfIccid {
    const NAME: &'static str = "EF_ICCID";

    /// Takes everything left in the reader as the file.
    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let start = r.offset();
        let bytes = r.rest();
        let mut digits = String::new();
        let mut ended = false;
        for (i, n) in bcd::nibbles(bytes).enumerate() {
            match (n, ended) {
                (0..=9, false) => digits.push(char::from(b'0' + n)),
                (bcd::FILLER, _) => ended = true,
                _ => {
                    return Err(DecodeError::invalid(
                        "EF_ICCID digit",
                        "not a digit and not an F filler",
                        start + i / 2,
                    ));
                }
            }
        }
        let iccid = Iccid::new(&digits)
            .map_err(|_| DecodeError::invalid("EF_ICCID", "more than 20 digits", start))?;
        Ok(Self { iccid, size: bytes.len() })
    }
}

impl Encode for EfIccid {
    fn encode_to(&self, out: &mut Vec<u8>) {
        let mut ns: Vec<u8> = self.iccid.as_str().bytes().map(|d| d - b'0').collect();
        let bytes = self.size.max(ns.len().div_ceil(2));
        ns.resize(2 * bytes, bcd::FILLER);
        out.extend_from_slice(&bcd::pack(&ns));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn example() {
        let f = EfIccid::from_digits("8988211000000467285").unwrap();
        assert_eq!(hex::encode(f.encode()), "988812010000407682f5");
        let b = hex::decode("988812010000407682f5").unwrap();
        let back = EfIccid::decode_exact(&b).unwrap();
        assert_eq!(back, f);
        assert!(back.iccid.luhn_valid());
        // 20 digits fill the file; a blank file has none.
        let f = EfIccid::from_digits("89882110000004672851").unwrap();
        assert_eq!(f.encode().len(), 10);
        let blank = EfIccid::decode_exact(&[0xFF; 10]).unwrap();
        assert_eq!((blank.iccid.as_str(), blank.size), ("", 10));
        assert_eq!(blank.encode(), [0xFF; 10]);
    }

    #[test]
    fn errors() {
        // A digit after the filler cannot be written back.
        let e = EfIccid::decode_exact(&hex::decode("98881201000040768f25").unwrap()).unwrap_err();
        assert_eq!(e.offset, 8);
        let e = EfIccid::decode_exact(&hex::decode("9a88").unwrap()).unwrap_err();
        assert_eq!(e.offset, 0);
        let e = EfIccid::decode_exact(&[0x11; 11]).unwrap_err();
        assert_eq!(
            e.kind,
            crate::DecodeErrorKind::Invalid { what: "EF_ICCID", reason: "more than 20 digits" }
        );
    }

    proptest! {
        #[test]
        fn typed_round_trip(d in "[0-9]{0,20}", size in 0usize..12) {
            let f = EfIccid { iccid: Iccid::new(&d).unwrap(), size: size.max(d.len().div_ceil(2)) };
            prop_assert_eq!(EfIccid::decode_exact(&f.encode()).unwrap(), f);
        }

        #[test]
        fn bytes_round_trip(b in proptest::collection::vec(any::<u8>(), 0..12)) {
            if let Ok(f) = EfIccid::decode_exact(&b) {
                prop_assert_eq!(f.encode(), b);
            }
        }
    }
}

//! PLMN identity: MCC and MNC in three bytes (TS 24.008 §10.5.1.3, as stored in TS 31.102 files).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::DigitsError;
use super::digits::check_decimal;
use crate::error::DecodeResult;
use crate::reader::{Decode, Encode, Reader};

/// A PLMN identity as three bytes: `MCC2 MCC1 | MNC3 MCC3 | MNC2 MNC1` (high nibble first in each pair), with
/// `MNC3 = F` for a two-digit MNC (TS 24.008 §10.5.1.3, TS 31.102 §4.2.17).
///
/// The bytes are kept as read (a deleted or blank identity may be `FF FF FF`); [`PlmnId::mcc`] and
/// [`PlmnId::mnc`] read the digits when they are digits. Serialised as six hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PlmnId(#[serde(with = "crate::hexser::array")] pub [u8; 3]);

impl PlmnId {
    /// Encodes MCC (3 digits) and MNC (2 or 3 digits).
    ///
    /// # Errors
    /// Non-digits or wrong counts.
    pub fn new(mcc: &str, mnc: &str) -> Result<Self, DigitsError> {
        check_decimal(mcc, 3, 3)?;
        check_decimal(mnc, 2, 3)?;
        let d = |s: &str, i: usize| s.as_bytes().get(i).map_or(0xF, |c| c - b'0');
        Ok(Self([(d(mcc, 1) << 4) | d(mcc, 0), (d(mnc, 2) << 4) | d(mcc, 2), (d(mnc, 1) << 4) | d(mnc, 0)]))
    }

    fn digit(n: u8) -> Option<char> {
        (n <= 9).then(|| char::from(b'0' + n))
    }

    /// The MCC, when its three nibbles are digits.
    #[must_use]
    pub fn mcc(&self) -> Option<String> {
        let [a, b, _] = self.0;
        [a & 0x0F, a >> 4, b & 0x0F].into_iter().map(Self::digit).collect()
    }

    /// The MNC (two digits when the MNC3 nibble is `F`, else three), when its nibbles are digits.
    #[must_use]
    pub fn mnc(&self) -> Option<String> {
        let [_, b, c] = self.0;
        let mut ns = vec![c & 0x0F, c >> 4];
        if b >> 4 != 0xF {
            ns.push(b >> 4);
        }
        ns.into_iter().map(Self::digit).collect()
    }
}

impl fmt::Debug for PlmnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlmnId({self})")
    }
}

impl fmt::Display for PlmnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.mcc(), self.mnc()) {
            (Some(mcc), Some(mnc)) => write!(f, "{mcc}-{mnc}"),
            _ => write!(f, "{}", hex::encode(self.0)),
        }
    }
}

impl Decode for PlmnId {
    const NAME: &'static str = "PLMN identity";
    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(Self(r.array::<3>("PLMN identity")?))
    }
}

impl Encode for PlmnId {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_and_three_digit_mnc() {
        let p = PlmnId::new("001", "01").unwrap();
        assert_eq!(p.0, [0x00, 0xF1, 0x10]);
        assert_eq!((p.mcc().as_deref(), p.mnc().as_deref()), (Some("001"), Some("01")));
        assert_eq!(p.to_string(), "001-01");
        let p = PlmnId::new("310", "260").unwrap();
        assert_eq!(p.0, [0x13, 0x00, 0x62]);
        assert_eq!(p.mnc().as_deref(), Some("260"));
        let p = PlmnId::new("262", "01").unwrap();
        assert_eq!(p.0, [0x62, 0xF2, 0x10]);
        assert!(PlmnId::new("26", "01").is_err());
        assert!(PlmnId::new("262", "1").is_err());
        assert!(PlmnId::new("262", "0a").is_err());
    }

    #[test]
    fn blank_identity_is_kept() {
        let p = PlmnId::decode_exact(&[0xFF, 0xFF, 0xFF]).unwrap();
        assert_eq!((p.mcc(), p.mnc()), (None, None));
        assert_eq!(p.to_string(), "ffffff");
        assert_eq!(p.encode(), [0xFF, 0xFF, 0xFF]);
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"ffffff\"");
        assert_eq!(PlmnId::decode_exact(&[0xFF, 0xFF]).unwrap_err().offset, 0);
    }
}

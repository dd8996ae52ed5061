//! COMPREHENSION-TLV (TS 101 220 §7.1.1), the simple TLVs of the card application toolkit (TS 102 223 §8).
//!
//! Tag coding (TS 101 220 §7.1.1.1):
//! - single byte `CR | tag value` with tag values `01`–`7E` (`00`, `80` and `FF` are not tags; `7F` starts
//!   the three-byte format);
//! - three bytes `7F | CR tag-value(15 bits)`, tag values `0001`–`7FFF`.
//!
//! The CR ("comprehension required") bit and the tag format are kept, so a TLV decodes and re-encodes to the
//! same bytes. Lengths: `00`–`7F`, `81 80`–`81 FF`, `82 0100`–`82 FFFF` (TS 101 220 §7.1.2); a non-minimal
//! form such as `81 05` is accepted on input and written back as read.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{LenForm, ReadLen, len_size, read_len, write_len};
use crate::error::{DecodeError, DecodeResult};
use crate::reader::{Decode, Encode, Reader};

/// A COMPREHENSION-TLV tag: its value, the CR flag and the format it was written in.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CtlvTag {
    /// Tag value without the CR bit (`0x01`–`0x7E` single byte, `0x0001`–`0x7FFF` three byte).
    pub value: u16,
    /// Comprehension required.
    #[serde(default)]
    pub cr: bool,
    /// Written in the three-byte format `7F xx xx`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub three_byte: bool,
}

impl CtlvTag {
    /// A single-byte tag with the CR bit clear. `value` must be `0x01`–`0x7E`.
    #[must_use]
    pub const fn new(value: u8) -> Self {
        Self { value: value as u16, cr: false, three_byte: false }
    }

    /// The same tag with CR set.
    #[must_use]
    pub const fn with_cr(mut self) -> Self {
        self.cr = true;
        self
    }

    /// Parses a single tag byte as it appears on the wire (`0x82` → Device identities with CR).
    #[must_use]
    pub const fn from_byte(b: u8) -> Self {
        Self { value: (b & 0x7F) as u16, cr: b & 0x80 != 0, three_byte: false }
    }

    /// Reads a tag.
    ///
    /// # Errors
    /// `00`, `80` or `FF` as the first byte, a three-byte tag with value 0, or truncation.
    #[inline]
    pub fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let start = r.offset();
        let b = r.u8("COMPREHENSION-TLV tag")?;
        match b {
            0x7F => {
                let v = r.u16("COMPREHENSION-TLV three-byte tag")?;
                let value = v & 0x7FFF;
                if value == 0 {
                    return Err(DecodeError::invalid(
                        "COMPREHENSION-TLV tag",
                        "three-byte tag value 0",
                        start,
                    ));
                }
                Ok(Self { value, cr: v & 0x8000 != 0, three_byte: true })
            }
            0x00 | 0x80 | 0xFF => {
                Err(DecodeError::invalid("COMPREHENSION-TLV tag", "00, 80 and FF are not tags", start))
            }
            _ => Ok(Self::from_byte(b)),
        }
    }

    /// Writes the tag.
    pub fn write(&self, out: &mut Vec<u8>) {
        let cr = u16::from(self.cr);
        if self.three_byte || self.value > 0x7E {
            out.push(0x7F);
            out.extend_from_slice(&((cr << 15) | (self.value & 0x7FFF)).to_be_bytes());
        } else {
            out.push(((cr << 7) as u8) | (self.value as u8 & 0x7F));
        }
    }

    /// Encoded size.
    #[must_use]
    pub const fn encoded_len(&self) -> usize {
        if self.three_byte || self.value > 0x7E { 3 } else { 1 }
    }

    /// True when this tag has the tag value `v` (CR and format ignored).
    #[must_use]
    pub const fn is(&self, v: u8) -> bool {
        self.value == v as u16
    }
}

impl fmt::Debug for CtlvTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CtlvTag({:02X}{}{})",
            self.value,
            if self.cr { ",CR" } else { "" },
            if self.three_byte { ",3B" } else { "" }
        )
    }
}

/// One COMPREHENSION-TLV data object, lossless.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ctlv {
    /// The tag.
    pub tag: CtlvTag,
    /// How the length is written.
    #[serde(default, skip_serializing_if = "is_minimal")]
    pub len_form: LenForm,
    /// The value bytes.
    #[serde(with = "crate::hexser")]
    pub value: Vec<u8>,
}

fn is_minimal(f: &LenForm) -> bool {
    *f == LenForm::Minimal
}

impl Ctlv {
    /// An object with a minimal length.
    #[must_use]
    pub fn new(tag: CtlvTag, value: impl Into<Vec<u8>>) -> Self {
        Self { tag, len_form: LenForm::Minimal, value: value.into() }
    }

    /// Total encoded size.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        self.tag.encoded_len() + len_size(self.value.len(), self.len_form) + self.value.len()
    }

    /// Reads objects until `r` is exhausted.
    ///
    /// # Errors
    /// As [`Decode::decode_from`].
    pub fn read_list(r: &mut Reader<'_>) -> DecodeResult<Vec<Ctlv>> {
        let mut v = Vec::new();
        while !r.is_empty() {
            v.push(Self::decode_from(r)?);
        }
        Ok(v)
    }

    /// Writes a list of objects.
    pub fn encode_list(list: &[Ctlv], out: &mut Vec<u8>) {
        for t in list {
            t.encode_to(out);
        }
    }
}

impl Decode for Ctlv {
    const NAME: &'static str = "COMPREHENSION-TLV";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let tag = CtlvTag::read(r)?;
        let len_start = r.offset();
        let (n, len_form) = match read_len(r, "COMPREHENSION-TLV length", 2, false)? {
            ReadLen::Definite(n, f) => (n, f),
            ReadLen::Indefinite => {
                return Err(DecodeError::invalid("COMPREHENSION-TLV length", "indefinite length", len_start));
            }
        };
        let value = r.take_len(n, r.offset() - len_start, "COMPREHENSION-TLV value")?.to_vec();
        Ok(Self { tag, len_form, value })
    }
}

impl Encode for Ctlv {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.tag.write(out);
        let form = if self.len_form == LenForm::Indefinite { LenForm::Minimal } else { self.len_form };
        write_len(out, self.value.len(), form);
        out.extend_from_slice(&self.value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DecodeErrorKind;
    use proptest::prelude::*;

    fn rt(hex: &str) -> Ctlv {
        let b = hex::decode(hex).unwrap();
        let t = Ctlv::decode_exact(&b).unwrap();
        assert_eq!(t.encode(), b);
        assert_eq!(t.encoded_len(), b.len());
        t
    }

    #[test]
    fn single_and_three_byte_tags() {
        // Device identities, CR set (TS 102 223 §8.7): 82 02 83 81
        let t = rt("82028381");
        assert!(t.tag.cr && t.tag.is(0x02) && !t.tag.three_byte);
        let t = rt("02028381");
        assert!(!t.tag.cr);
        let t = rt("7f80620100");
        assert!(t.tag.three_byte && t.tag.cr && t.tag.value == 0x0062);
        let t = rt("7f00020100");
        assert!(t.tag.three_byte && !t.tag.cr && t.tag.is(0x02));
    }

    #[test]
    fn long_lengths() {
        let v = "00".repeat(0x90);
        let t = rt(&format!("8b8190{v}"));
        assert_eq!(t.value.len(), 0x90);
        let t = rt("0b81050000000000");
        assert_eq!(t.len_form, LenForm::Long(1));
    }

    #[test]
    fn reserved_tags_and_overflow() {
        for b in ["0000", "8000", "ff00"] {
            let e = Ctlv::decode_exact(&hex::decode(b).unwrap()).unwrap_err();
            assert_eq!(e.offset, 0);
        }
        let e = Ctlv::decode_exact(&hex::decode("7f000000").unwrap()).unwrap_err();
        assert_eq!(e.offset, 0);
        let e = Ctlv::decode_exact(&hex::decode("0b0501").unwrap()).unwrap_err();
        assert_eq!(
            e.kind,
            DecodeErrorKind::LengthOverflow { what: "COMPREHENSION-TLV value", length: 5, remaining: 1 }
        );
        assert_eq!(e.offset, 1);
        let e = Ctlv::decode_exact(&hex::decode("0b80").unwrap()).unwrap_err();
        assert_eq!(e.offset, 1);
        let e = Ctlv::decode_exact(&hex::decode("0b83000001").unwrap()).unwrap_err();
        assert_eq!(e.offset, 1);
    }

    fn arb_tag() -> impl Strategy<Value = CtlvTag> {
        prop_oneof![
            (1u16..=0x7E, any::<bool>()).prop_map(|(value, cr)| CtlvTag { value, cr, three_byte: false }),
            (1u16..=0x7FFF, any::<bool>()).prop_map(|(value, cr)| CtlvTag { value, cr, three_byte: true }),
        ]
    }

    proptest! {
        #[test]
        fn typed_round_trip(tag in arb_tag(), v in proptest::collection::vec(any::<u8>(), 0..300), long in any::<bool>()) {
            let t = Ctlv { tag, len_form: if long && v.len() < 0x80 { LenForm::Long(1) } else { LenForm::Minimal }, value: v };
            let b = t.encode();
            prop_assert_eq!(Ctlv::decode_exact(&b).unwrap(), t);
        }

        #[test]
        fn bytes_round_trip(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(t) = Ctlv::decode_exact(&b) {
                prop_assert_eq!(t.encode(), b);
            }
        }
    }
}

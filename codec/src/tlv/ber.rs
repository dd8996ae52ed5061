//! BER-TLV (ISO/IEC 8825-1 as profiled by ISO/IEC 7816-4 §5.2 and TS 101 220 §7.1.2).
//!
//! - Tags of 1 to 4 bytes (`xx`, `1F xx`, `1F 8x xx` …), kept exactly as read ([`Tag`]).
//! - Lengths of 1 to 5 bytes (`00`–`7F`, `81 xx` … `84 xx xx xx xx`), non-minimal forms kept ([`LenForm`]).
//! - The indefinite form `80 … 00 00` for constructed objects, used by the expanded remote command scripts of
//!   TS 102 226 §5.2 (`AE 80 … 00 00`).
//!
//! Constructed objects (tag bit b6 set) are decoded into their children; nesting is capped at [`MAX_DEPTH`].

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{LenForm, ReadLen, len_size, read_len, write_len};
use crate::error::{DecodeErrorKind, DecodeResult};
use crate::reader::{Decode, Encode, Reader};

/// Deepest nesting of constructed objects the decoder accepts.
pub const MAX_DEPTH: usize = 32;

/// A BER tag as its exact bytes (1..=4 of them), e.g. `AE`, `5F 20`, `BF 22`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag {
    raw: u32,
    len: u8,
}

/// ASN.1 tag class (bits b8 b7 of the first tag byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TagClass {
    /// `00`
    Universal,
    /// `01`
    Application,
    /// `10`
    ContextSpecific,
    /// `11`
    Private,
}

impl Tag {
    /// A one-byte tag.
    #[must_use]
    pub const fn one(b: u8) -> Self {
        Self { raw: b as u32, len: 1 }
    }

    /// A tag from its bytes (1..=4); `None` when the bytes are not a well-formed tag.
    #[must_use]
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let mut r = Reader::new(b);
        let t = Self::read(&mut r).ok()?;
        r.is_empty().then_some(t)
    }

    /// Reads a tag.
    ///
    /// # Errors
    /// Truncation inside a multi-byte tag, or a tag longer than 4 bytes.
    pub fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let start = r.offset();
        let first = r.u8("BER-TLV tag")?;
        let mut raw = u32::from(first);
        let mut len = 1u8;
        if first & 0x1F == 0x1F {
            loop {
                let b = r.u8("BER-TLV tag (subsequent byte)")?;
                if len == 4 {
                    return Err(crate::DecodeError::invalid("BER-TLV tag", "longer than 4 bytes", start));
                }
                raw = (raw << 8) | u32::from(b);
                len += 1;
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        Ok(Self { raw, len })
    }

    /// The tag bytes.
    #[must_use]
    pub fn bytes(&self) -> Vec<u8> {
        self.raw.to_be_bytes()[4 - self.len as usize..].to_vec()
    }

    /// Writes the tag bytes.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.raw.to_be_bytes()[4 - self.len as usize..]);
    }

    /// The tag as a big-endian integer of its bytes (`0x5F20` for `5F 20`).
    #[must_use]
    pub const fn value(&self) -> u32 {
        self.raw
    }

    /// Number of tag bytes.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Always false: a tag has at least one byte.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        false
    }

    fn first_byte(&self) -> u8 {
        (self.raw >> (8 * (self.len as u32 - 1))) as u8
    }

    /// True for a constructed object (bit b6 of the first byte).
    #[must_use]
    pub fn is_constructed(&self) -> bool {
        self.first_byte() & 0x20 != 0
    }

    /// The tag class.
    #[must_use]
    pub fn class(&self) -> TagClass {
        match self.first_byte() >> 6 {
            0 => TagClass::Universal,
            1 => TagClass::Application,
            2 => TagClass::ContextSpecific,
            _ => TagClass::Private,
        }
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({self})")
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:0w$X}", self.raw, w = 2 * self.len as usize)
    }
}

impl Serialize for Tag {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::hexser::serialize(&self.bytes(), s)
    }
}

impl<'de> Deserialize<'de> for Tag {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let b = crate::hexser::deserialize(d)?;
        Self::from_bytes(&b).ok_or_else(|| serde::de::Error::custom("not a well-formed BER tag"))
    }
}

/// The contents of a BER-TLV.
///
/// A constructed tag whose definite-length value does not parse as a list of BER-TLVs is kept as
/// [`Value::Primitive`] bytes: TS 102 226 uses constructed-looking tags (`22` C-APDU, `23` R-APDU) for raw
/// APDUs, and the bytes must come back unchanged either way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// The value's bytes (primitive objects, and constructed ones whose value is not a TLV list).
    #[serde(with = "crate::hexser")]
    Primitive(Vec<u8>),
    /// The children of a constructed object, in order.
    Constructed(Vec<BerTlv>),
}

/// One BER-TLV data object, lossless: tag bytes, length form and value as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BerTlv {
    /// The tag.
    pub tag: Tag,
    /// How the length is written.
    #[serde(default, skip_serializing_if = "is_minimal")]
    pub len_form: LenForm,
    /// The value.
    pub value: Value,
}

fn is_minimal(f: &LenForm) -> bool {
    *f == LenForm::Minimal
}

impl BerTlv {
    /// A primitive object with a minimal length.
    #[must_use]
    pub fn primitive(tag: Tag, value: impl Into<Vec<u8>>) -> Self {
        Self { tag, len_form: LenForm::Minimal, value: Value::Primitive(value.into()) }
    }

    /// A constructed object with a minimal definite length.
    #[must_use]
    pub fn constructed(tag: Tag, children: Vec<BerTlv>) -> Self {
        Self { tag, len_form: LenForm::Minimal, value: Value::Constructed(children) }
    }

    /// Length of the value as encoded (children included, end-of-contents excluded).
    #[must_use]
    pub fn value_len(&self) -> usize {
        match &self.value {
            Value::Primitive(v) => v.len(),
            Value::Constructed(c) => c.iter().map(BerTlv::encoded_len).sum(),
        }
    }

    /// Total encoded size.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        let vl = self.value_len();
        let eoc = if self.len_form == LenForm::Indefinite { 2 } else { 0 };
        self.tag.len() + len_size(vl, self.len_form) + vl + eoc
    }

    /// The primitive value bytes, if primitive.
    #[must_use]
    pub fn primitive_value(&self) -> Option<&[u8]> {
        match &self.value {
            Value::Primitive(v) => Some(v),
            Value::Constructed(_) => None,
        }
    }

    /// The children, if constructed.
    #[must_use]
    pub fn children(&self) -> Option<&[BerTlv]> {
        match &self.value {
            Value::Constructed(c) => Some(c),
            Value::Primitive(_) => None,
        }
    }

    /// The first child with `tag`.
    #[must_use]
    pub fn find(&self, tag: Tag) -> Option<&BerTlv> {
        self.children()?.iter().find(|c| c.tag == tag)
    }

    /// Reads one object; `depth` is the current nesting level.
    ///
    /// # Errors
    /// Malformed tag or length, a length beyond what remains, indefinite length on a primitive object,
    /// a missing end-of-contents, or nesting deeper than [`MAX_DEPTH`].
    pub fn read(r: &mut Reader<'_>, depth: usize) -> DecodeResult<Self> {
        if depth > MAX_DEPTH {
            return Err(r.error(DecodeErrorKind::TooDeep { max: MAX_DEPTH }));
        }
        let tag = Tag::read(r)?;
        let len_start = r.offset();
        let len = read_len(r, "BER-TLV length", 4, tag.is_constructed())?;
        match len {
            ReadLen::Definite(n, form) => {
                let mut sub = r.sub(n, r.offset() - len_start, "BER-TLV value")?;
                let value = if tag.is_constructed() {
                    let mut probe = sub.clone();
                    match Self::read_children(&mut probe, depth + 1) {
                        Ok(children) => Value::Constructed(children),
                        // Too deep is a real error, not a sign that the value is opaque bytes.
                        Err(e) if matches!(e.kind, DecodeErrorKind::TooDeep { .. }) => return Err(e),
                        Err(_) => Value::Primitive(sub.rest().to_vec()),
                    }
                } else {
                    Value::Primitive(sub.rest().to_vec())
                };
                Ok(Self { tag, len_form: form, value })
            }
            ReadLen::Indefinite => {
                let mut children = Vec::new();
                loop {
                    if r.peek_rest().starts_with(&[0, 0]) {
                        r.take(2, "end-of-contents")?;
                        break;
                    }
                    if r.is_empty() {
                        return Err(crate::DecodeError::new(
                            DecodeErrorKind::Truncated {
                                expected: "end-of-contents 00 00",
                                needed: 2,
                                remaining: 0,
                            },
                            r.offset(),
                        ));
                    }
                    if r.remaining() == 1 && r.peek() == Some(0) {
                        return Err(r.error(DecodeErrorKind::Truncated {
                            expected: "end-of-contents 00 00",
                            needed: 1,
                            remaining: 0,
                        }));
                    }
                    children.push(Self::read(r, depth + 1)?);
                }
                Ok(Self { tag, len_form: LenForm::Indefinite, value: Value::Constructed(children) })
            }
        }
    }

    fn read_children(r: &mut Reader<'_>, depth: usize) -> DecodeResult<Vec<BerTlv>> {
        let mut children = Vec::new();
        while !r.is_empty() {
            children.push(Self::read(r, depth)?);
        }
        Ok(children)
    }

    /// The value bytes as they are encoded (children re-encoded for a constructed object).
    #[must_use]
    pub fn value_bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        match &self.value {
            Value::Primitive(v) => std::borrow::Cow::Borrowed(v),
            Value::Constructed(c) => {
                let mut out = Vec::with_capacity(self.value_len());
                Self::encode_list(c, &mut out);
                std::borrow::Cow::Owned(out)
            }
        }
    }

    /// Reads a sequence of objects filling `bytes` exactly.
    ///
    /// # Errors
    /// As [`BerTlv::read`].
    pub fn decode_list(bytes: &[u8]) -> DecodeResult<Vec<BerTlv>> {
        let mut r = Reader::new(bytes);
        Self::read_list(&mut r)
    }

    /// Reads objects until `r` is exhausted.
    ///
    /// # Errors
    /// As [`BerTlv::read`].
    pub fn read_list(r: &mut Reader<'_>) -> DecodeResult<Vec<BerTlv>> {
        let mut v = Vec::new();
        while !r.is_empty() {
            v.push(Self::read(r, 0)?);
        }
        Ok(v)
    }

    /// Writes a sequence of objects.
    pub fn encode_list(list: &[BerTlv], out: &mut Vec<u8>) {
        for t in list {
            t.encode_to(out);
        }
    }
}

impl Decode for BerTlv {
    const NAME: &'static str = "BER-TLV";
    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Self::read(r, 0)
    }
}

impl Encode for BerTlv {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.tag.write(out);
        // An indefinite length on a primitive value cannot be represented; write it definite instead.
        let form = match (&self.value, self.len_form) {
            (Value::Primitive(_), LenForm::Indefinite) => LenForm::Minimal,
            (_, f) => f,
        };
        write_len(out, self.value_len(), form);
        match &self.value {
            Value::Primitive(v) => out.extend_from_slice(v),
            Value::Constructed(c) => Self::encode_list(c, out),
        }
        if form == LenForm::Indefinite {
            out.extend_from_slice(&[0, 0]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rt(hex: &str) -> BerTlv {
        let b = hex::decode(hex).unwrap();
        let t = BerTlv::decode_exact(&b).unwrap();
        assert_eq!(t.encode(), b, "round trip of {hex}");
        assert_eq!(t.encoded_len(), b.len());
        t
    }

    #[test]
    fn primitive_and_multibyte_tags() {
        let t = rt("5f2003616263");
        assert_eq!(t.tag.value(), 0x5F20);
        assert_eq!(t.tag.class(), TagClass::Application);
        assert_eq!(t.primitive_value(), Some(&b"abc"[..]));
        let t = rt("9f8f0101ff");
        assert_eq!(t.tag.len(), 3);
    }

    #[test]
    fn non_minimal_lengths_survive() {
        let t = rt("8081050102030405");
        assert_eq!(t.len_form, LenForm::Long(1));
        rt("80820003010203");
        rt("8084000000020102");
    }

    #[test]
    fn ts_102_226_expanded_script_definite_and_indefinite() {
        // TS 102 226 §5.2 example: AA07 2205 80E2900000
        let t = rt("aa07220580e2900000");
        assert_eq!(t.children().unwrap().len(), 1);
        // Tag 22 looks constructed but holds a raw C-APDU.
        assert_eq!(
            t.find(Tag::one(0x22)).unwrap().primitive_value().unwrap(),
            hex::decode("80e2900000").unwrap()
        );
        // A constructed value that does parse keeps its children; value_bytes gives them back.
        let t = rt("a0058003010203");
        assert_eq!(t.children().unwrap().len(), 1);
        assert_eq!(&*t.value_bytes(), &hex::decode("8003010203").unwrap()[..]);
        let t = rt("ae80220580e29000002203a0b0c00000");
        assert_eq!(t.len_form, LenForm::Indefinite);
        assert_eq!(t.children().unwrap().len(), 2);
        // nested indefinite inside indefinite
        rt("ae80ae8022010000000000");
    }

    #[test]
    fn errors_with_offsets() {
        let e = BerTlv::decode_exact(&hex::decode("8005010203").unwrap()).unwrap_err();
        assert_eq!(e.offset, 1);
        assert!(matches!(e.kind, DecodeErrorKind::LengthOverflow { length: 5, remaining: 3, .. }));
        let e = BerTlv::decode_exact(&hex::decode("ae8022010000").unwrap()).unwrap_err();
        assert!(matches!(e.kind, DecodeErrorKind::Truncated { .. }), "{e}");
        assert_eq!(e.offset, 5);
        let e = BerTlv::decode_exact(&hex::decode("0480").unwrap()).unwrap_err();
        assert_eq!(e.offset, 1);
        let e = BerTlv::decode_exact(&hex::decode("1f8181818101").unwrap()).unwrap_err();
        assert_eq!(e.offset, 0);
        let e = BerTlv::decode_exact(&hex::decode("800101ff").unwrap()).unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::TrailingBytes { what: "BER-TLV", count: 1 });
        // depth bomb
        let mut deep = Vec::new();
        for _ in 0..100 {
            deep.extend_from_slice(&[0xAE, 0x80]);
        }
        assert!(matches!(BerTlv::decode_exact(&deep).unwrap_err().kind, DecodeErrorKind::TooDeep { .. }));
    }

    #[test]
    fn truncation_at_every_byte_is_an_error() {
        let b = hex::decode("ae80aa0d220580e29000008104010203040000").unwrap();
        BerTlv::decode_exact(&b).unwrap();
        for i in 0..b.len() {
            assert!(BerTlv::decode_exact(&b[..i]).is_err(), "prefix {i}");
        }
    }

    fn arb_tag() -> impl Strategy<Value = Tag> {
        prop_oneof![
            any::<u8>().prop_filter("single", |b| b & 0x1F != 0x1F).prop_map(Tag::one),
            (0u8..8, 0u8..0x80).prop_map(|(c, n)| Tag::from_bytes(&[0x1F | (c << 5), n]).unwrap()),
            (0u8..8, 0x80u8.., 0u8..0x80)
                .prop_map(|(c, a, n)| Tag::from_bytes(&[0x1F | (c << 5), a, n]).unwrap()),
        ]
    }

    fn arb_tlv() -> impl Strategy<Value = BerTlv> {
        let form = prop_oneof![Just(LenForm::Minimal), (1u8..=4).prop_map(LenForm::Long)];
        // Tag 00 is excluded: `00 00` inside an indefinite value is the end-of-contents marker.
        let leaf = (
            arb_tag().prop_filter("primitive, not 00", |t| !t.is_constructed() && t.bytes()[0] != 0),
            form,
            proptest::collection::vec(any::<u8>(), 0..40),
        )
            .prop_map(|(tag, len_form, v)| BerTlv { tag, len_form, value: Value::Primitive(v) });
        leaf.prop_recursive(4, 32, 6, move |inner| {
            let form = prop_oneof![
                Just(LenForm::Minimal),
                (1u8..=4).prop_map(LenForm::Long),
                Just(LenForm::Indefinite)
            ];
            (
                prop_oneof![Just(0xAEu8), Just(0xAA), Just(0x30), Just(0xA0)],
                form,
                proptest::collection::vec(inner, 0..5),
            )
                .prop_map(|(t, f, c)| BerTlv {
                    tag: Tag::one(t),
                    len_form: f,
                    value: Value::Constructed(c),
                })
        })
    }

    proptest! {
        #[test]
        fn typed_round_trip(t in arb_tlv()) {
            let b = t.encode();
            let back = BerTlv::decode_exact(&b).unwrap();
            // A non-minimal Long form that equals the minimal one decodes as Minimal; compare by bytes.
            prop_assert_eq!(back.encode(), b);
        }

        #[test]
        fn bytes_round_trip(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(t) = BerTlv::decode_exact(&b) {
                prop_assert_eq!(t.encode(), b);
            }
        }
    }
}

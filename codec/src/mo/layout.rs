//! Lossless layout of the BER-TLV containers of this module (the protected MCIM package, its plaintext, the
//! validation data and the MCIM provisioning context): one constructed object whose known fields are
//! single-byte context-specific tags in ascending order, with anything else kept in place.
//!
//! The typed values keep what the bytes say beyond the field values in a [`Layout`]: length forms other than
//! the minimal one, and items with tags the format does not define ([`ExtraItem`], with the known field they
//! follow). Decoded values re-encode to the same bytes; built values have an empty (canonical) layout.
//!
//! Rules shared by every container (decided, since the formats are proposals): the known fields must appear
//! in the order the format defines (ascending tags, but for the validation data's `A5` before `86`), each at most once (a repeated or out-of-order field is an error, so that the
//! bytes an AAD or a signature covers are unambiguous); definite lengths only; at most [`MAX_ITEMS`] items.

use serde::{Deserialize, Serialize};

use crate::error::{DecodeError, DecodeErrorKind, DecodeResult};
use crate::reader::{Encode, Reader};
use crate::tlv::ber::BerTlv;
use crate::tlv::{LenForm, ReadLen, read_len, write_len, write_len_prefixed};

/// The most items (known and extra) a container may hold.
pub const MAX_ITEMS: usize = 64;

/// A length written in a form other than the minimal one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LengthForm {
    /// The tag of the field (or of the container itself) whose length this is.
    pub tag: u8,
    /// How its length is written.
    pub form: LenForm,
}

/// An item whose tag the format does not define, kept where it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraItem {
    /// The tag of the known field it follows (`None`: before every known field). Extras with the same
    /// `after` keep their order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u8>,
    /// The item, as read.
    pub tlv: BerTlv,
}

/// What the bytes of a container say beyond its field values (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Layout {
    /// Non-minimal length forms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lengths: Vec<LengthForm>,
    /// Unknown items in place.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<ExtraItem>,
}

impl Layout {
    /// True when there is nothing beyond the canonical encoding (serde skips it then).
    #[must_use]
    pub fn is_canonical(&self) -> bool {
        self.lengths.is_empty() && self.extra.is_empty()
    }

    /// The length form recorded for `tag` (minimal when none).
    #[must_use]
    pub fn len_form(&self, tag: u8) -> LenForm {
        self.lengths.iter().find(|l| l.tag == tag).map_or(LenForm::Minimal, |l| l.form)
    }

    fn record(&mut self, tag: u8, form: LenForm) {
        if form != LenForm::Minimal {
            self.lengths.push(LengthForm { tag, form });
        }
    }
}

/// A known field as read: its tag, where its TLV starts, and a reader over its value.
pub(crate) struct Field<'a> {
    pub tag: u8,
    pub value: Reader<'a>,
}

impl<'a> Field<'a> {
    /// The whole value.
    pub fn bytes(&mut self) -> &'a [u8] {
        self.value.rest()
    }

    /// Absolute offset of the value.
    pub fn offset(&self) -> usize {
        self.value.offset()
    }

    /// The value, which must be exactly `N` bytes.
    pub fn array<const N: usize>(
        &mut self,
        what: &'static str,
        reason: &'static str,
    ) -> DecodeResult<[u8; N]> {
        let at = self.offset();
        let v = self.bytes();
        <[u8; N]>::try_from(v).map_err(|_| DecodeError::invalid(what, reason, at))
    }

    /// The value, which must be one byte.
    pub fn byte(&mut self, what: &'static str) -> DecodeResult<u8> {
        let [b] = self.array::<1>(what, "must be 1 byte")?;
        Ok(b)
    }
}

/// A container as read.
pub(crate) struct Container<'a> {
    /// Known fields in order.
    fields: Vec<Field<'a>>,
    /// Absolute start offset of each known field's TLV (parallel to `fields` before any take).
    starts: Vec<(u8, usize)>,
    /// End of the container's value.
    end: usize,
    /// The layout read.
    pub layout: Layout,
}

impl<'a> Container<'a> {
    /// Reads a container with the one-byte tag `outer`; `known` names the defined field tags in their
    /// defined order (ascending in every format of this module except the validation data's `A5` before `86`).
    pub fn read(
        r: &mut Reader<'a>,
        outer: u8,
        what: &'static str,
        known: &[(u8, &'static str)],
    ) -> DecodeResult<Self> {
        let start = r.offset();
        let t = r.u8(what)?;
        if t != outer {
            return Err(DecodeError::new(
                DecodeErrorKind::UnexpectedTag { expected: what, found: u32::from(t) },
                start,
            ));
        }
        let len_start = r.offset();
        let ReadLen::Definite(n, form) = read_len(r, what, 4, false)? else {
            return Err(DecodeError::invalid(what, "indefinite length not allowed", len_start));
        };
        let mut body = r.sub(n, r.offset() - len_start, what)?;
        let mut layout = Layout::default();
        layout.record(outer, form);
        let mut fields = Vec::new();
        let mut starts = Vec::new();
        let mut last: Option<u8> = None;
        let mut last_idx: Option<usize> = None;
        let mut count = 0usize;
        while !body.is_empty() {
            count += 1;
            if count > MAX_ITEMS {
                return Err(
                    body.error(DecodeErrorKind::TooMany { what: "items in a container", max: MAX_ITEMS })
                );
            }
            let tlv_start = body.offset();
            let tag = body.peek().unwrap_or_default();
            let Some((idx, &(_, name))) = known.iter().enumerate().find(|(_, (k, _))| *k == tag) else {
                let tlv = BerTlv::read(&mut body, 1)?;
                layout.extra.push(ExtraItem { after: last, tlv });
                continue;
            };
            if let Some(prev) = last_idx
                && idx <= prev
            {
                let reason = if idx == prev { "field repeated" } else { "field out of the defined order" };
                return Err(DecodeError::invalid(name, reason, tlv_start));
            }
            body.u8(name)?;
            let len_start = body.offset();
            let ReadLen::Definite(n, form) = read_len(&mut body, name, 4, false)? else {
                return Err(DecodeError::invalid(name, "indefinite length not allowed", len_start));
            };
            let value = body.sub(n, body.offset() - len_start, name)?;
            layout.record(tag, form);
            fields.push(Field { tag, value });
            starts.push((tag, tlv_start));
            last = Some(tag);
            last_idx = Some(idx);
        }
        Ok(Self { fields, starts, end: body.offset(), layout })
    }

    /// Takes the field `tag`, if present.
    pub fn take(&mut self, tag: u8) -> Option<Field<'a>> {
        let i = self.fields.iter().position(|f| f.tag == tag)?;
        Some(self.fields.remove(i))
    }

    /// Takes the mandatory field `tag`; its absence is an error at the place it was expected (the start of
    /// the first field with a higher tag, or the end of the container).
    pub fn require(&mut self, tag: u8, what: &'static str) -> DecodeResult<Field<'a>> {
        match self.take(tag) {
            Some(f) => Ok(f),
            None => {
                let at = self.starts.iter().find(|(t, _)| *t > tag).map_or(self.end, |(_, s)| *s);
                Err(DecodeError::invalid(what, "mandatory field missing", at))
            }
        }
    }
}

/// One known field to write: its tag and value bytes.
pub(crate) type FieldOut<'v> = (u8, std::borrow::Cow<'v, [u8]>);

/// Writes the items of a container (no outer tag and length): the known `fields` (ascending, present ones)
/// interleaved with the layout's extras; `slots` lists every known tag of the format in order, so that
/// extras following an absent field stay in place. Stops before the slot `stop_before` when given (for the
/// bytes an AAD or a signature covers).
pub(crate) fn write_items(
    out: &mut Vec<u8>,
    slots: &[u8],
    fields: &[FieldOut<'_>],
    layout: &Layout,
    stop_before: Option<u8>,
) {
    let extras = |out: &mut Vec<u8>, after: Option<u8>| {
        for e in layout.extra.iter().filter(|e| e.after == after) {
            e.tlv.encode_to(out);
        }
    };
    extras(out, None);
    for &slot in slots {
        if stop_before == Some(slot) {
            return;
        }
        if let Some((tag, value)) = fields.iter().find(|(t, _)| *t == slot) {
            out.push(*tag);
            write_len(out, value.len(), layout.len_form(*tag));
            out.extend_from_slice(value);
        }
        extras(out, Some(slot));
    }
    if stop_before.is_none() {
        // Extras that follow a tag this format does not know (possible only in hand-written JSON).
        for e in layout.extra.iter().filter(|e| e.after.is_some_and(|a| !slots.contains(&a))) {
            e.tlv.encode_to(out);
        }
    }
}

/// Writes a whole container: the outer tag, its length (in the recorded form) and the items.
pub(crate) fn write_container(
    out: &mut Vec<u8>,
    outer: u8,
    slots: &[u8],
    fields: &[FieldOut<'_>],
    layout: &Layout,
) {
    out.push(outer);
    write_len_prefixed(out, layout.len_form(outer), |o| write_items(o, slots, fields, layout, None));
}

/// Serde for `Option<[u8; N]>` as hex (or null).
pub(crate) mod opt_array {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer, const N: usize>(v: &Option<[u8; N]>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => crate::hexser::serialize(b, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<Option<[u8; N]>, D::Error> {
        let Some(s) = Option::<std::borrow::Cow<'de, str>>::deserialize(d)? else { return Ok(None) };
        let v = crate::hexser::parse_hex(&s).map_err(D::Error::custom)?;
        <[u8; N]>::try_from(v.as_slice())
            .map(Some)
            .map_err(|_| D::Error::custom(format_args!("expected {N} bytes of hex, got {}", v.len())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlv::ber::Tag;

    const KNOWN: &[(u8, &str)] = &[(0x80, "a"), (0x81, "b"), (0x83, "d")];
    const SLOTS: &[u8] = &[0x80, 0x81, 0x83];

    fn round_trip(hex: &str) -> Layout {
        let b = hex::decode(hex).unwrap();
        let mut r = Reader::new(&b);
        let mut c = Container::read(&mut r, 0x30, "container", KNOWN).unwrap();
        let mut fields = Vec::new();
        for &t in SLOTS {
            if let Some(mut f) = c.take(t) {
                fields.push((t, std::borrow::Cow::Owned(f.bytes().to_vec())));
            }
        }
        let mut out = Vec::new();
        write_container(&mut out, 0x30, SLOTS, &fields, &c.layout);
        assert_eq!(hex::encode(out), hex, "round trip");
        c.layout
    }

    #[test]
    fn extras_and_long_forms_are_kept_in_place() {
        let l = round_trip("30119f01010080010182820002cc0083810107");
        assert_eq!(l.extra.len(), 2);
        assert_eq!(l.extra[0].after, None);
        assert_eq!(l.extra[0].tlv.tag, Tag::from_bytes(&[0x9f, 0x01]).unwrap());
        assert_eq!(l.extra[1].after, Some(0x80));
        assert_eq!(l.extra[1].tlv.len_form, LenForm::Long(2));
        assert_eq!(l.lengths, vec![LengthForm { tag: 0x83, form: LenForm::Long(1) }]);
        // The outer length's form is kept too.
        let l = round_trip("3081038001ff");
        assert_eq!(l.lengths, vec![LengthForm { tag: 0x30, form: LenForm::Long(1) }]);
    }

    #[test]
    fn order_and_repeats_are_errors_with_offsets() {
        for (hex, at, reason) in [
            ("3006810101800101", 5, "field out of the defined order"),
            ("3006800101800101", 5, "field repeated"),
        ] {
            let b = hex::decode(hex).unwrap();
            let e = Container::read(&mut Reader::new(&b), 0x30, "c", KNOWN).err().unwrap();
            assert_eq!(e.offset, at, "{hex}");
            assert!(matches!(e.kind, DecodeErrorKind::Invalid { reason: r, .. } if r == reason), "{e}");
        }
        let e = Container::read(&mut Reader::new(&[0x31, 0x00]), 0x30, "c", KNOWN).err().unwrap();
        assert_eq!((e.offset, e.kind), (0, DecodeErrorKind::UnexpectedTag { expected: "c", found: 0x31 }));
        let e = Container::read(&mut Reader::new(&[0x30, 0x80, 0x00, 0x00]), 0x30, "c", KNOWN).err().unwrap();
        assert_eq!(e.offset, 1);
    }

    #[test]
    fn missing_field_points_where_it_was_expected() {
        let b = hex::decode("3006800101830101").unwrap();
        let mut c = Container::read(&mut Reader::new(&b), 0x30, "c", KNOWN).unwrap();
        assert_eq!(c.require(0x81, "b").err().unwrap().offset, 5);
        c.require(0x80, "a").unwrap();
        let b = hex::decode("3003800101").unwrap();
        let mut c = Container::read(&mut Reader::new(&b), 0x30, "c", KNOWN).unwrap();
        assert_eq!(c.require(0x83, "d").err().unwrap().offset, 5);
    }

    #[test]
    fn too_many_items() {
        let mut b = vec![0x30, 0x81, 130];
        b.extend(std::iter::repeat_n([0x04, 0x00], 65).flatten());
        let e = Container::read(&mut Reader::new(&b), 0x30, "c", KNOWN).err().unwrap();
        assert!(matches!(e.kind, DecodeErrorKind::TooMany { .. }), "{e}");
        assert_eq!(e.offset, 3 + 64 * 2);
    }
}

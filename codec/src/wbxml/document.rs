//! The WBXML document: header, string table and token stream (WAP-192-WBXML §5).

use serde::{Deserialize, Serialize};

use super::codepage::Language;
use crate::error::{DecodeError, DecodeErrorKind, DecodeResult};
use crate::reader::{Decode, Encode, Reader};

/// Deepest element nesting the decoder accepts (SyncML messages nest about 10 deep, DDF trees about 30).
pub const MAX_DEPTH: usize = 256;

/// How many documents deep `OPAQUE`-nested documents are decoded (a SyncML message carrying a DDF is 2).
pub const MAX_NESTED_DOCUMENTS: usize = 4;

/// Most bytes that `STR_T` references of one document may expand to when its text is resolved: 8 times
/// the document's size plus 64 KiB. A reference costs two bytes and can name a string as long as the whole
/// table, so without a cap a 60 KB document could stand for gigabytes of text; real messages use a table for
/// a few repeated URIs.
#[must_use]
pub const fn str_t_expansion_limit(document_len: usize) -> usize {
    document_len.saturating_mul(8).saturating_add(64 * 1024)
}

/// The global tokens of WBXML §7.1 (the same on every code page).
pub mod global {
    /// Change the code page of the current token space.
    pub const SWITCH_PAGE: u8 = 0x00;
    /// End of an attribute list or of an element.
    pub const END: u8 = 0x01;
    /// A character entity (`mb_u_int32` UCS-4 code).
    pub const ENTITY: u8 = 0x02;
    /// An inline string, terminated by NUL.
    pub const STR_I: u8 = 0x03;
    /// An unknown tag or attribute name from the string table.
    pub const LITERAL: u8 = 0x04;
    /// Inline-string extension 0 (1 and 2 follow).
    pub const EXT_I_0: u8 = 0x40;
    /// Processing instruction.
    pub const PI: u8 = 0x43;
    /// Unknown tag with content.
    pub const LITERAL_C: u8 = 0x44;
    /// Inline-integer extension 0 (1 and 2 follow).
    pub const EXT_T_0: u8 = 0x80;
    /// A string-table reference.
    pub const STR_T: u8 = 0x83;
    /// Unknown tag with attributes.
    pub const LITERAL_A: u8 = 0x84;
    /// Single-byte extension 0 (1 and 2 follow).
    pub const EXT_0: u8 = 0xC0;
    /// Opaque data (`mb_u_int32` length and bytes).
    pub const OPAQUE: u8 = 0xC3;
    /// Unknown tag with content and attributes.
    pub const LITERAL_AC: u8 = 0xC4;
    /// Tag bit: the element has attributes.
    pub const HAS_ATTRS: u8 = 0x80;
    /// Tag bit: the element has content.
    pub const HAS_CONTENT: u8 = 0x40;
}
use global::*;

/// An `mb_u_int32` (WBXML §5.1): 7 bits per byte, most significant first, bit 8 set on all but the last.
///
/// `pad` counts redundant leading `0x80` bytes (a non-minimal encoding), so that it is written back as read.
/// Builders use 0. The decoder accepts at most 5 bytes and values up to `u32::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct MbUint32 {
    /// The value.
    pub value: u32,
    /// Redundant leading `0x80` bytes.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pad: u8,
}

fn is_zero(v: &u8) -> bool {
    *v == 0
}

impl MbUint32 {
    /// The minimal encoding of `value`.
    #[must_use]
    pub const fn new(value: u32) -> Self {
        Self { value, pad: 0 }
    }

    /// Number of bytes of the minimal encoding.
    #[must_use]
    pub const fn minimal_len(value: u32) -> usize {
        match value {
            0..=0x7F => 1,
            0x80..=0x3FFF => 2,
            0x4000..=0x1F_FFFF => 3,
            0x20_0000..=0xFFF_FFFF => 4,
            _ => 5,
        }
    }

    /// Encoded size in bytes.
    #[must_use]
    pub const fn encoded_len(&self) -> usize {
        self.pad as usize + Self::minimal_len(self.value)
    }

    /// Reads one `mb_u_int32` named `what`.
    ///
    /// # Errors
    /// Truncation, more than 5 bytes, or a value above 32 bits.
    pub fn read(r: &mut Reader<'_>, what: &'static str) -> DecodeResult<Self> {
        let start = r.offset();
        let mut value: u64 = 0;
        let mut pad = 0u8;
        let mut leading = true;
        for i in 0..5 {
            let b = r.u8(what)?;
            if leading && b == 0x80 {
                pad += 1;
            } else {
                leading = false;
            }
            value = (value << 7) | u64::from(b & 0x7F);
            if b & 0x80 == 0 {
                return u32::try_from(value)
                    .map(|value| Self { value, pad })
                    .map_err(|_| DecodeError::invalid(what, "mb_u_int32 value exceeds 32 bits", start));
            }
            if i == 4 {
                break;
            }
        }
        Err(DecodeError::invalid(what, "mb_u_int32 longer than 5 bytes", start))
    }

    /// Appends the encoding.
    pub fn write(&self, out: &mut Vec<u8>) {
        for _ in 0..self.pad {
            out.push(0x80);
        }
        let n = Self::minimal_len(self.value);
        for i in (0..n).rev() {
            // Truncation intended: 7-bit groups.
            let group = ((self.value >> (7 * i)) & 0x7F) as u8;
            out.push(if i == 0 { group } else { group | 0x80 });
        }
    }
}

impl From<u32> for MbUint32 {
    fn from(value: u32) -> Self {
        Self::new(value)
    }
}

/// The document's public identifier (WBXML §5.5): a registered number or an FPI in the string table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicId {
    /// A registered numeric identifier (never 0; 1 means "unknown").
    Numeric(MbUint32),
    /// `0` followed by the string-table offset of the FPI (`pad` keeps a non-minimal zero).
    StringTable {
        /// Redundant leading `0x80` bytes of the zero.
        #[serde(default, skip_serializing_if = "is_zero")]
        zero_pad: u8,
        /// Offset of the FPI in the string table.
        index: MbUint32,
    },
}

/// Opaque data: raw bytes, or a nested WBXML document (DDF/TNDS, DevInf) that re-encodes to the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpaqueData {
    /// Raw bytes.
    Bytes(#[serde(with = "crate::hexser")] Vec<u8>),
    /// A complete WBXML document.
    Document(Box<Document>),
}

impl OpaqueData {
    /// The bytes of the opaque (a nested document is encoded).
    #[must_use]
    pub fn to_bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        match self {
            Self::Bytes(b) => std::borrow::Cow::Borrowed(b),
            Self::Document(d) => std::borrow::Cow::Owned(d.encode()),
        }
    }

    fn encoded_len(&self) -> usize {
        match self {
            Self::Bytes(b) => b.len(),
            Self::Document(d) => d.encoded_len(),
        }
    }
}

/// One token of the body (WBXML §5.8), in the code space it was read in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "token", rename_all = "snake_case")]
pub enum Token {
    /// `SWITCH_PAGE` (tag page in content, attribute page in attribute lists).
    SwitchPage {
        /// The new page.
        page: u8,
    },
    /// `END` of an attribute list, an element or a PI.
    End,
    /// A tag from the code page; bits 0x80 (attributes) and 0x40 (content) included.
    Tag {
        /// The tag byte.
        byte: u8,
    },
    /// `LITERAL`, `LITERAL_C`, `LITERAL_A` or `LITERAL_AC` in tag position: a tag named in the string table.
    LiteralTag {
        /// 0x04, 0x44, 0x84 or 0xC4.
        byte: u8,
        /// String-table offset of the name.
        index: MbUint32,
    },
    /// An attribute start token (below 0x80) from the attribute code page.
    AttrStart {
        /// The token.
        byte: u8,
    },
    /// `LITERAL` in attribute-start position: an attribute named in the string table.
    LiteralAttr {
        /// String-table offset of the name.
        index: MbUint32,
    },
    /// An attribute value token (0x80 and above) from the attribute code page.
    AttrValue {
        /// The token.
        byte: u8,
    },
    /// `STR_I`: an inline string (the bytes, without the terminating NUL).
    StrI {
        /// The string bytes in the document charset.
        #[serde(with = "crate::hexser")]
        bytes: Vec<u8>,
    },
    /// `STR_T`: a reference into the string table.
    StrT {
        /// Offset in the string table.
        index: MbUint32,
    },
    /// `ENTITY`: a character by its UCS-4 code.
    Entity {
        /// The character code.
        code: MbUint32,
    },
    /// `EXT_I_0..2`: an inline-string extension.
    ExtI {
        /// 0, 1 or 2.
        ext: u8,
        /// The string bytes, without the NUL.
        #[serde(with = "crate::hexser")]
        bytes: Vec<u8>,
    },
    /// `EXT_T_0..2`: an inline-integer extension.
    ExtT {
        /// 0, 1 or 2.
        ext: u8,
        /// The integer (often a string-table offset).
        value: MbUint32,
    },
    /// `EXT_0..2`: a single-byte extension.
    Ext {
        /// 0, 1 or 2.
        ext: u8,
    },
    /// `OPAQUE`: length-prefixed data.
    Opaque {
        /// Redundant leading `0x80` bytes of the length.
        #[serde(default, skip_serializing_if = "is_zero")]
        len_pad: u8,
        /// The data.
        data: OpaqueData,
    },
    /// `PI`: a processing instruction (its target and value follow as attribute tokens, then `END`).
    Pi,
}

impl Token {
    /// An `OPAQUE` with a minimal length.
    #[must_use]
    pub fn opaque(bytes: impl Into<Vec<u8>>) -> Self {
        Self::Opaque { len_pad: 0, data: OpaqueData::Bytes(bytes.into()) }
    }

    /// A `STR_I`.
    #[must_use]
    pub fn str_i(bytes: impl Into<Vec<u8>>) -> Self {
        Self::StrI { bytes: bytes.into() }
    }

    /// Encoded size in bytes.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        match self {
            Self::SwitchPage { .. } => 2,
            Self::End | Self::Tag { .. } | Self::AttrStart { .. } | Self::AttrValue { .. } => 1,
            Self::Ext { .. } | Self::Pi => 1,
            Self::LiteralTag { index, .. } | Self::LiteralAttr { index } | Self::StrT { index } => {
                1 + index.encoded_len()
            }
            Self::Entity { code } => 1 + code.encoded_len(),
            Self::ExtT { value, .. } => 1 + value.encoded_len(),
            Self::StrI { bytes } | Self::ExtI { bytes, .. } => 2 + bytes.len(),
            Self::Opaque { len_pad, data } => {
                let n = data.encoded_len();
                1 + *len_pad as usize + MbUint32::minimal_len(u32::try_from(n).unwrap_or(u32::MAX)) + n
            }
        }
    }

    /// Appends the encoding.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Self::SwitchPage { page } => out.extend_from_slice(&[SWITCH_PAGE, *page]),
            Self::End => out.push(END),
            Self::Tag { byte } | Self::AttrStart { byte } | Self::AttrValue { byte } => out.push(*byte),
            Self::LiteralTag { byte, index } => {
                out.push(*byte);
                index.write(out);
            }
            Self::LiteralAttr { index } => {
                out.push(LITERAL);
                index.write(out);
            }
            Self::StrI { bytes } => {
                out.push(STR_I);
                out.extend_from_slice(bytes);
                out.push(0);
            }
            Self::StrT { index } => {
                out.push(STR_T);
                index.write(out);
            }
            Self::Entity { code } => {
                out.push(ENTITY);
                code.write(out);
            }
            Self::ExtI { ext, bytes } => {
                out.push(EXT_I_0 + ext);
                out.extend_from_slice(bytes);
                out.push(0);
            }
            Self::ExtT { ext, value } => {
                out.push(EXT_T_0 + ext);
                value.write(out);
            }
            Self::Ext { ext } => out.push(EXT_0 + ext),
            Self::Opaque { len_pad, data } => {
                out.push(OPAQUE);
                let len_at = out.len();
                match data {
                    OpaqueData::Bytes(b) => {
                        MbUint32 { value: u32::try_from(b.len()).unwrap_or(u32::MAX), pad: *len_pad }
                            .write(out);
                        out.extend_from_slice(b);
                    }
                    OpaqueData::Document(d) => {
                        let n = d.encoded_len();
                        MbUint32 { value: u32::try_from(n).unwrap_or(u32::MAX), pad: *len_pad }.write(out);
                        let before = out.len();
                        d.encode_to(out);
                        debug_assert_eq!(out.len() - before, n, "nested length at {len_at}");
                    }
                }
            }
            Self::Pi => out.push(PI),
        }
    }
}

/// A WBXML document: header, raw string table and body tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// Version byte: `0x00` = 1.0, `0x01` = 1.1, `0x02` = 1.2, `0x03` = 1.3 (`major - 1` << 4 | minor).
    pub version: u8,
    /// The public identifier.
    pub public_id: PublicId,
    /// The IANA MIBenum charset (`0x6A` = UTF-8); absent in WBXML 1.0.
    pub charset: Option<MbUint32>,
    /// Redundant leading `0x80` bytes of the string-table length.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub string_table_len_pad: u8,
    /// The string table, byte for byte (entries are NUL-terminated; the last one may not be).
    #[serde(with = "crate::hexser")]
    pub string_table: Vec<u8>,
    /// The body tokens.
    pub body: Vec<Token>,
}

/// A string table with `O(log n)` lookups (WBXML §5.7): offsets of every NUL are indexed once.
#[derive(Debug, Clone)]
pub struct StringTable<'a> {
    bytes: &'a [u8],
    nuls: Vec<usize>,
}

impl<'a> StringTable<'a> {
    /// Indexes `bytes`.
    #[must_use]
    pub fn new(bytes: &'a [u8]) -> Self {
        let nuls = bytes.iter().enumerate().filter(|&(_, b)| *b == 0).map(|(i, _)| i).collect();
        Self { bytes, nuls }
    }

    /// The string at `index`: up to the next NUL, or to the end of the table when the last string has no
    /// terminator (real RTK clients write the FPI that way). `None` when `index` is past the end.
    #[must_use]
    pub fn get(&self, index: usize) -> Option<&'a [u8]> {
        if index >= self.bytes.len() {
            return None;
        }
        let end = match self.nuls.binary_search(&index) {
            Ok(_) => index,
            Err(i) => self.nuls.get(i).copied().unwrap_or(self.bytes.len()),
        };
        self.bytes.get(index..end)
    }

    /// The raw table.
    #[must_use]
    pub const fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

impl Document {
    /// A document with a numeric public identifier, UTF-8 charset and an empty string table.
    #[must_use]
    pub fn new(version: u8, public_id: u32, body: Vec<Token>) -> Self {
        Self {
            version,
            public_id: PublicId::Numeric(MbUint32::new(public_id)),
            charset: Some(MbUint32::new(0x6A)),
            string_table_len_pad: 0,
            string_table: Vec::new(),
            body,
        }
    }

    /// The string table with fast lookups.
    #[must_use]
    pub fn strings(&self) -> StringTable<'_> {
        StringTable::new(&self.string_table)
    }

    /// The public identifier as an FPI string when it is in the string table.
    #[must_use]
    pub fn public_id_fpi(&self) -> Option<&[u8]> {
        match self.public_id {
            PublicId::StringTable { index, .. } => self.strings().get(index.value as usize),
            PublicId::Numeric(_) => None,
        }
    }

    /// The language of the document, from its numeric public identifier or FPI.
    #[must_use]
    pub fn language(&self) -> Option<Language> {
        match self.public_id {
            PublicId::Numeric(id) => Language::from_public_id(id.value),
            PublicId::StringTable { .. } => self.public_id_fpi().and_then(Language::from_fpi),
        }
    }

    /// Size of the header including the string table, i.e. the offset of the first body token.
    #[must_use]
    pub fn header_len(&self) -> usize {
        let pid = match self.public_id {
            PublicId::Numeric(id) => id.encoded_len(),
            PublicId::StringTable { zero_pad, index } => 1 + zero_pad as usize + index.encoded_len(),
        };
        let n = u32::try_from(self.string_table.len()).unwrap_or(u32::MAX);
        1 + pid
            + self.charset.map_or(0, |c| c.encoded_len())
            + self.string_table_len_pad as usize
            + MbUint32::minimal_len(n)
            + self.string_table.len()
    }

    /// Encoded size in bytes.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        self.header_len() + self.body.iter().map(Token::encoded_len).sum::<usize>()
    }

    fn decode_nested(r: &mut Reader<'_>, doc_depth: usize) -> DecodeResult<Self> {
        let header = Header::read(r)?;
        let mut body = Vec::new();
        read_body(r, &header, doc_depth, &mut body)?;
        Ok(Self {
            version: header.version,
            public_id: header.public_id,
            charset: header.charset,
            string_table_len_pad: header.string_table_len_pad,
            string_table: header.string_table.to_vec(),
            body,
        })
    }

    /// Decodes `bytes` (exactly one document) without building a [`Document`]: the header and then every
    /// body token, borrowed from `bytes`, go to `sink`. Checks are those of [`Decode::decode_exact`].
    ///
    /// # Errors
    /// As [`Decode::decode_exact`].
    pub fn visit(bytes: &[u8], sink: &mut impl TokenSink) -> DecodeResult<()> {
        let mut r = Reader::new(bytes);
        let header = Header::read(&mut r)?;
        sink.header(&header);
        read_body(&mut r, &header, 0, sink)?;
        r.expect_end(<Self as Decode>::NAME)
    }
}

/// The header of a document being visited (WBXML §5.4), borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// Version byte.
    pub version: u8,
    /// Public identifier.
    pub public_id: PublicId,
    /// Charset (absent in WBXML 1.0).
    pub charset: Option<MbUint32>,
    /// Redundant leading `0x80` bytes of the string-table length.
    pub string_table_len_pad: u8,
    /// The string table.
    pub string_table: &'a [u8],
    /// Absolute offset of the first body byte.
    pub body_offset: usize,
}

impl<'a> Header<'a> {
    /// Reads the header at the start of `bytes` (for the single-pass converters).
    pub(crate) fn parse(bytes: &'a [u8]) -> DecodeResult<Self> {
        Self::read(&mut Reader::new(bytes))
    }

    fn read(r: &mut Reader<'a>) -> DecodeResult<Self> {
        let version = r.u8("WBXML version")?;
        if version > 3 {
            return Err(r.invalid_at(1, "WBXML version", "only 1.0–1.3 (0x00–0x03) are defined"));
        }
        let pid_at = r.offset();
        let pid = MbUint32::read(r, "publicid")?;
        let public_id = if pid.value == 0 {
            PublicId::StringTable {
                zero_pad: pid.pad,
                index: MbUint32::read(r, "publicid string-table index")?,
            }
        } else {
            PublicId::Numeric(pid)
        };
        let charset = if version == 0 {
            None
        } else {
            let at = r.offset();
            let c = MbUint32::read(r, "charset")?;
            // UCS-2, UCS-4, UTF-16(BE/LE), UTF-32(BE/LE): strings would not be single-NUL terminated.
            if matches!(c.value, 1000 | 1001 | 1013..=1019) {
                return Err(DecodeError::invalid("charset", "16- and 32-bit charsets are not supported", at));
            }
            Some(c)
        };
        let len_at = r.offset();
        let len = MbUint32::read(r, "string table length")?;
        let table = r.take_len(len.value as usize, r.offset() - len_at, "string table")?;
        if let PublicId::StringTable { index, .. } = public_id
            && index.value as usize >= table.len()
        {
            return Err(DecodeError::invalid(
                "publicid string-table index",
                "points past the end of the string table",
                pid_at,
            ));
        }
        Ok(Self {
            version,
            public_id,
            charset,
            string_table_len_pad: len.pad,
            string_table: table,
            body_offset: r.offset(),
        })
    }

    /// The FPI when the public identifier is in the string table.
    #[must_use]
    pub fn public_id_fpi(&self) -> Option<&'a [u8]> {
        match self.public_id {
            PublicId::StringTable { index, .. } => {
                StringTable::new(self.string_table).get(index.value as usize)
            }
            PublicId::Numeric(_) => None,
        }
    }

    /// The document language.
    #[must_use]
    pub fn language(&self) -> Option<Language> {
        match self.public_id {
            PublicId::Numeric(id) => Language::from_public_id(id.value),
            PublicId::StringTable { .. } => self.public_id_fpi().and_then(Language::from_fpi),
        }
    }
}

/// A body token borrowed from the input (see [`Token`] for the meaning of each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum TokenRef<'a> {
    SwitchPage {
        page: u8,
    },
    End,
    Tag {
        byte: u8,
    },
    LiteralTag {
        byte: u8,
        index: MbUint32,
    },
    AttrStart {
        byte: u8,
    },
    LiteralAttr {
        index: MbUint32,
    },
    AttrValue {
        byte: u8,
    },
    StrI {
        bytes: &'a [u8],
    },
    StrT {
        index: MbUint32,
    },
    Entity {
        code: MbUint32,
    },
    ExtI {
        ext: u8,
        bytes: &'a [u8],
    },
    ExtT {
        ext: u8,
        value: MbUint32,
    },
    Ext {
        ext: u8,
    },
    /// `OPAQUE` with raw data (nested documents go to [`TokenSink::nested`]).
    Opaque {
        len_pad: u8,
        bytes: &'a [u8],
    },
    Pi,
}

impl TokenRef<'_> {
    /// The owned token.
    #[must_use]
    pub fn to_owned(self) -> Token {
        match self {
            Self::SwitchPage { page } => Token::SwitchPage { page },
            Self::End => Token::End,
            Self::Tag { byte } => Token::Tag { byte },
            Self::LiteralTag { byte, index } => Token::LiteralTag { byte, index },
            Self::AttrStart { byte } => Token::AttrStart { byte },
            Self::LiteralAttr { index } => Token::LiteralAttr { index },
            Self::AttrValue { byte } => Token::AttrValue { byte },
            Self::StrI { bytes } => Token::StrI { bytes: bytes.to_vec() },
            Self::StrT { index } => Token::StrT { index },
            Self::Entity { code } => Token::Entity { code },
            Self::ExtI { ext, bytes } => Token::ExtI { ext, bytes: bytes.to_vec() },
            Self::ExtT { ext, value } => Token::ExtT { ext, value },
            Self::Ext { ext } => Token::Ext { ext },
            Self::Opaque { len_pad, bytes } => {
                Token::Opaque { len_pad, data: OpaqueData::Bytes(bytes.to_vec()) }
            }
            Self::Pi => Token::Pi,
        }
    }
}

impl Token {
    /// The token as a [`TokenRef`]; `None` for an `OPAQUE` holding a nested document.
    #[must_use]
    pub fn as_ref(&self) -> Option<TokenRef<'_>> {
        Some(match self {
            Self::SwitchPage { page } => TokenRef::SwitchPage { page: *page },
            Self::End => TokenRef::End,
            Self::Tag { byte } => TokenRef::Tag { byte: *byte },
            Self::LiteralTag { byte, index } => TokenRef::LiteralTag { byte: *byte, index: *index },
            Self::AttrStart { byte } => TokenRef::AttrStart { byte: *byte },
            Self::LiteralAttr { index } => TokenRef::LiteralAttr { index: *index },
            Self::AttrValue { byte } => TokenRef::AttrValue { byte: *byte },
            Self::StrI { bytes } => TokenRef::StrI { bytes },
            Self::StrT { index } => TokenRef::StrT { index: *index },
            Self::Entity { code } => TokenRef::Entity { code: *code },
            Self::ExtI { ext, bytes } => TokenRef::ExtI { ext: *ext, bytes },
            Self::ExtT { ext, value } => TokenRef::ExtT { ext: *ext, value: *value },
            Self::Ext { ext } => TokenRef::Ext { ext: *ext },
            Self::Opaque { len_pad, data: OpaqueData::Bytes(b) } => {
                TokenRef::Opaque { len_pad: *len_pad, bytes: b }
            }
            Self::Opaque { data: OpaqueData::Document(_), .. } => return None,
            Self::Pi => TokenRef::Pi,
        })
    }
}

/// Receives what [`Document::visit`] reads, in order.
pub trait TokenSink {
    /// The header, before any token.
    fn header(&mut self, _header: &Header<'_>) {}
    /// One body token.
    fn token(&mut self, t: TokenRef<'_>);
    /// An `OPAQUE` holding a nested document (decoded as [`OpaqueData::Document`]).
    fn nested(&mut self, len_pad: u8, doc: Box<Document>);
}

impl TokenSink for Vec<Token> {
    fn token(&mut self, t: TokenRef<'_>) {
        self.push(t.to_owned());
    }

    fn nested(&mut self, len_pad: u8, doc: Box<Document>) {
        self.push(Token::Opaque { len_pad, data: OpaqueData::Document(doc) });
    }
}

fn read_body<S: TokenSink>(
    r: &mut Reader<'_>,
    header: &Header<'_>,
    doc_depth: usize,
    sink: &mut S,
) -> DecodeResult<()> {
    let is_syncml = header.language().is_some_and(Language::is_syncml);
    let mut p = BodyParser {
        r,
        table_len: header.string_table.len(),
        doc_depth,
        is_syncml,
        frames: Vec::new(),
        sink,
    };
    p.body()
}

/// What the body parser knows about one open element, for the `Meta`/`Type` nested-document hint.
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// `(page, token)` of a token tag, `None` for a literal.
    tag: Option<(u8, u8)>,
    /// A `Meta` child (or, for `Meta`, a `Type` child) said `…+wbxml`.
    wbxml_type: bool,
}

const DATA: (u8, u8) = (0, 0x0F);
const META: (u8, u8) = (0, 0x1A);
const TYPE: (u8, u8) = (1, 0x13);

/// Content types whose `Data` is a nested WBXML document (libwbxml `wbxml_tree_node_get_syncml_data_type`).
pub(crate) fn is_wbxml_type(t: &[u8]) -> bool {
    t == b"application/vnd.syncml-devinf+wbxml" || t == b"application/vnd.syncml.dmtnds+wbxml"
}

/// `termstr`: the bytes up to the terminating NUL (which is consumed).
fn termstr<'a>(r: &mut Reader<'a>, what: &'static str) -> DecodeResult<&'a [u8]> {
    let rest = r.peek_rest();
    match rest.iter().position(|&b| b == 0) {
        Some(n) => {
            let s = r.take(n, what)?;
            r.u8(what)?;
            Ok(s)
        }
        None => Err(DecodeError::new(
            DecodeErrorKind::Truncated { expected: what, needed: 1, remaining: 0 },
            r.offset() + rest.len(),
        )),
    }
}

struct BodyParser<'r, 'a, 's, S> {
    r: &'r mut Reader<'a>,
    table_len: usize,
    doc_depth: usize,
    is_syncml: bool,
    frames: Vec<Frame>,
    sink: &'s mut S,
}

impl<S: TokenSink> BodyParser<'_, '_, '_, S> {
    fn check_index(&self, index: MbUint32, at: usize, what: &'static str) -> DecodeResult<()> {
        if (index.value as usize) < self.table_len {
            Ok(())
        } else {
            Err(DecodeError::invalid(what, "string-table offset points past the end of the string table", at))
        }
    }

    /// `body = *pi element *pi`
    fn body(&mut self) -> DecodeResult<()> {
        while self.r.peek() == Some(PI) {
            self.pi()?;
        }
        self.element_tree()?;
        while self.r.peek() == Some(PI) {
            self.pi()?;
        }
        Ok(())
    }

    /// `pi = PI attrStart *attrValue END`
    fn pi(&mut self) -> DecodeResult<()> {
        self.r.u8("PI")?;
        self.sink.token(TokenRef::Pi);
        self.attributes("PI")
    }

    /// `1*attribute END` (also the tail of a PI): an attribute start, then values, until `END`.
    fn attributes(&mut self, what: &'static str) -> DecodeResult<()> {
        let mut seen_start = false;
        loop {
            let at = self.r.offset();
            let b = self.r.u8(what)?;
            match b {
                END => {
                    if !seen_start {
                        return Err(DecodeError::invalid(
                            what,
                            "attribute list without an attribute start",
                            at,
                        ));
                    }
                    self.sink.token(TokenRef::End);
                    return Ok(());
                }
                SWITCH_PAGE => {
                    let page = self.r.u8("SWITCH_PAGE page")?;
                    self.sink.token(TokenRef::SwitchPage { page });
                }
                LITERAL => {
                    let index = MbUint32::read(self.r, "LITERAL index")?;
                    self.check_index(index, at, "LITERAL attribute name")?;
                    self.sink.token(TokenRef::LiteralAttr { index });
                    seen_start = true;
                }
                0x05..=0x3F | 0x45..=0x7F => {
                    self.sink.token(TokenRef::AttrStart { byte: b });
                    seen_start = true;
                }
                _ if !seen_start => {
                    return Err(DecodeError::invalid(what, "expected an attribute start token", at));
                }
                LITERAL_C | LITERAL_A | LITERAL_AC | PI => {
                    return Err(DecodeError::invalid(what, "tag-only token in an attribute list", at));
                }
                _ => {
                    if !self.value_token(b, at, false)? {
                        self.sink.token(TokenRef::AttrValue { byte: b });
                    }
                }
            }
        }
    }

    /// STR_I, STR_T, ENTITY, EXT_*, OPAQUE: passes the token on and returns true; false for other bytes.
    fn value_token(&mut self, b: u8, at: usize, in_content: bool) -> DecodeResult<bool> {
        match b {
            STR_I => {
                let bytes = termstr(self.r, "STR_I")?;
                if in_content && self.is_syncml {
                    let n = self.frames.len();
                    if n >= 2 && self.frames[n - 1].tag == Some(TYPE) && is_wbxml_type(bytes) {
                        self.frames[n - 1].wbxml_type = true;
                    }
                }
                self.sink.token(TokenRef::StrI { bytes });
            }
            STR_T => {
                let index = MbUint32::read(self.r, "STR_T index")?;
                self.check_index(index, at, "STR_T")?;
                self.sink.token(TokenRef::StrT { index });
            }
            ENTITY => {
                let code = MbUint32::read(self.r, "ENTITY code")?;
                self.sink.token(TokenRef::Entity { code });
            }
            0x40..=0x42 => {
                let bytes = termstr(self.r, "EXT_I")?;
                self.sink.token(TokenRef::ExtI { ext: b - EXT_I_0, bytes });
            }
            0x80..=0x82 => {
                let value = MbUint32::read(self.r, "EXT_T value")?;
                self.sink.token(TokenRef::ExtT { ext: b - EXT_T_0, value });
            }
            0xC0..=0xC2 => self.sink.token(TokenRef::Ext { ext: b - EXT_0 }),
            OPAQUE => {
                let len_at = self.r.offset();
                let len = MbUint32::read(self.r, "OPAQUE length")?;
                let mut sub = self.r.sub(len.value as usize, self.r.offset() - len_at, "OPAQUE data")?;
                match if in_content { self.opaque_document(&mut sub) } else { None } {
                    Some(doc) => self.sink.nested(len.pad, Box::new(doc)),
                    None => self.sink.token(TokenRef::Opaque { len_pad: len.pad, bytes: sub.rest() }),
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Decides whether an `OPAQUE` in content is a nested document.
    fn opaque_document(&self, sub: &mut Reader<'_>) -> Option<Document> {
        if self.doc_depth + 1 >= MAX_NESTED_DOCUMENTS {
            return None;
        }
        let bytes = sub.peek_rest();
        let hinted = self.is_syncml && self.data_type_says_wbxml();
        // A WBXML document starts with a version byte 0x01..0x03 (1.0 documents are not nested in practice).
        if !hinted && !matches!(bytes.first(), Some(1..=3)) {
            return None;
        }
        let mut probe = sub.clone();
        let doc = Document::decode_nested(&mut probe, self.doc_depth + 1).ok()?;
        if !probe.is_empty() {
            return None;
        }
        let known =
            matches!(doc.language(), Some(Language::DmDdf12 | Language::DevInf11 | Language::DevInf12));
        if hinted || known {
            sub.rest();
            Some(doc)
        } else {
            None
        }
    }

    /// libwbxml's rule: in `Data`, a `Meta/Type` of the parent (`Item`) or grandparent (command) says +wbxml.
    fn data_type_says_wbxml(&self) -> bool {
        let n = self.frames.len();
        if n == 0 || self.frames[n - 1].tag != Some(DATA) {
            return false;
        }
        self.frames[..n - 1].iter().rev().take(2).any(|f| f.wbxml_type)
    }

    fn close_frame(&mut self) {
        if let Some(f) = self.frames.pop()
            && let Some(parent) = self.frames.last_mut()
        {
            // Type → its Meta; Meta → its Item or command.
            if f.wbxml_type && (f.tag == Some(TYPE) || f.tag == Some(META)) {
                parent.wbxml_type = true;
            }
        }
    }

    /// `element = ([switchPage] stag) [1*attribute END] [*content END]`, iteratively with a depth cap.
    fn element_tree(&mut self) -> DecodeResult<()> {
        let mut page = 0u8;
        // The root element, after any SWITCH_PAGE.
        loop {
            let at = self.r.offset();
            let b = self.r.u8("element tag")?;
            if b == SWITCH_PAGE {
                page = self.r.u8("SWITCH_PAGE page")?;
                self.sink.token(TokenRef::SwitchPage { page });
                continue;
            }
            self.element_start(b, at, page)?;
            break;
        }
        while !self.frames.is_empty() {
            let at = self.r.offset();
            let b = self.r.u8("element content or END")?;
            match b {
                END => {
                    self.sink.token(TokenRef::End);
                    self.close_frame();
                }
                SWITCH_PAGE => {
                    // libwbxml also accepts SWITCH_PAGE before non-tag content (Nokia 6600 bug).
                    page = self.r.u8("SWITCH_PAGE page")?;
                    self.sink.token(TokenRef::SwitchPage { page });
                }
                PI => {
                    self.sink.token(TokenRef::Pi);
                    self.attributes("PI")?;
                }
                _ => {
                    if !self.value_token(b, at, true)? {
                        self.element_start(b, at, page)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn element_start(&mut self, b: u8, at: usize, page: u8) -> DecodeResult<()> {
        let tag = match b {
            LITERAL | LITERAL_C | LITERAL_A | LITERAL_AC => {
                let index = MbUint32::read(self.r, "LITERAL index")?;
                self.check_index(index, at, "LITERAL tag name")?;
                self.sink.token(TokenRef::LiteralTag { byte: b, index });
                None
            }
            _ if b & 0x3F < 5 => {
                return Err(DecodeError::new(
                    DecodeErrorKind::UnexpectedTag { expected: "an element tag", found: b.into() },
                    at,
                ));
            }
            _ => {
                self.sink.token(TokenRef::Tag { byte: b });
                Some((page, b & 0x3F))
            }
        };
        if b & HAS_ATTRS != 0 {
            self.attributes("attribute list")?;
        }
        if b & HAS_CONTENT != 0 {
            if self.frames.len() >= MAX_DEPTH {
                return Err(DecodeError::new(DecodeErrorKind::TooDeep { max: MAX_DEPTH }, at));
            }
            self.frames.push(Frame { tag, wbxml_type: false });
        }
        Ok(())
    }
}

impl Decode for Document {
    const NAME: &'static str = "WBXML document";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Self::decode_nested(r, 0)
    }
}

impl Encode for Document {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        out.push(self.version);
        match self.public_id {
            PublicId::Numeric(id) => id.write(out),
            PublicId::StringTable { zero_pad, index } => {
                MbUint32 { value: 0, pad: zero_pad }.write(out);
                index.write(out);
            }
        }
        if let Some(c) = self.charset {
            c.write(out);
        }
        MbUint32 {
            value: u32::try_from(self.string_table.len()).unwrap_or(u32::MAX),
            pad: self.string_table_len_pad,
        }
        .write(out);
        out.extend_from_slice(&self.string_table);
        for t in &self.body {
            t.write(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Decode;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        crate::hexser::parse_hex(s).unwrap()
    }

    #[test]
    fn mb_uint32_examples() {
        // WBXML §5.1: 0xA0 → 81 20, 0x60 → 60.
        for (v, h) in
            [(0xA0u32, "8120"), (0x60, "60"), (0x1201, "a401"), (0x0FD3, "9f53"), (u32::MAX, "8fffffff7f")]
        {
            let mut out = Vec::new();
            MbUint32::new(v).write(&mut out);
            assert_eq!(out, hex(h));
            let mut r = Reader::new(&out);
            assert_eq!(MbUint32::read(&mut r, "x").unwrap(), MbUint32::new(v));
        }
        // Non-minimal zero and value kept with its padding.
        let b = hex("808001");
        let m = MbUint32::read(&mut Reader::new(&b), "x").unwrap();
        assert_eq!(m, MbUint32 { value: 1, pad: 2 });
        let mut out = Vec::new();
        m.write(&mut out);
        assert_eq!(out, b);
        // Too long / too big.
        let e = MbUint32::read(&mut Reader::new(&hex("8080808080")), "len").unwrap_err();
        assert_eq!(e.offset, 0);
        assert!(matches!(e.kind, DecodeErrorKind::Invalid { reason: "mb_u_int32 longer than 5 bytes", .. }));
        let e = MbUint32::read(&mut Reader::new(&hex("9fffffff7f")), "len").unwrap_err();
        assert!(matches!(
            e.kind,
            DecodeErrorKind::Invalid { reason: "mb_u_int32 value exceeds 32 bits", .. }
        ));
    }

    #[test]
    fn minimal_syncml_document() {
        // omadm.md §2.1: <SyncML></SyncML> → 02 A4 01 6A 00 2D.
        let b = hex("02a4016a002d");
        let d = Document::decode_exact(&b).unwrap();
        assert_eq!(d.version, 2);
        assert_eq!(d.public_id, PublicId::Numeric(MbUint32::new(0x1201)));
        assert_eq!(d.language(), Some(Language::SyncMl12));
        assert_eq!(d.body, vec![Token::Tag { byte: 0x2D }]);
        assert_eq!(d.encode(), b);
        assert_eq!(Document::new(2, 0x1201, vec![Token::Tag { byte: 0x2D }]).encode(), b);
    }

    #[test]
    fn rtk_unterminated_fpi_in_string_table() {
        // RTK: 02 00 00 6A 1D "-//SYNCML//DTD SyncML 1.2//EN" (29 bytes, no NUL), then <SyncML/>.
        let mut b = hex("0200006a1d");
        b.extend_from_slice(b"-//SYNCML//DTD SyncML 1.2//EN");
        b.push(0x2D);
        let d = Document::decode_exact(&b).unwrap();
        assert_eq!(d.public_id_fpi(), Some(&b"-//SYNCML//DTD SyncML 1.2//EN"[..]));
        assert_eq!(d.language(), Some(Language::SyncMl12));
        assert_eq!(d.header_len(), 34);
        assert_eq!(d.encode(), b);
    }

    #[test]
    fn version_and_charset_rules() {
        // WBXML 1.0 has no charset field.
        let b = hex("0001002d");
        let d = Document::decode_exact(&b).unwrap();
        assert_eq!((d.version, d.charset), (0, None));
        assert_eq!(d.encode(), b);
        // Version 1.4 does not exist.
        let e = Document::decode_exact(&hex("04a4016a002d")).unwrap_err();
        assert_eq!(e.offset, 0);
        // UTF-16 (MIBenum 1015 = 87 77) strings are not NUL-terminated bytes.
        let e = Document::decode_exact(&hex("02a401877700 2d")).unwrap_err();
        assert_eq!(e.offset, 3);
        assert!(matches!(e.kind, DecodeErrorKind::Invalid { what: "charset", .. }));
        // Non-minimal public id and string-table length are kept.
        let b = hex("028080a401 6a 8000 2d");
        assert_eq!(Document::decode_exact(&b).unwrap().encode(), b);
    }

    #[test]
    fn empty_data_forms_are_kept() {
        for body in ["6d0f01", "6d4f0101", "6d4f03000101"] {
            let b = hex(&format!("02a4016a00{body}"));
            let d = Document::decode_exact(&b).unwrap();
            assert_eq!(d.encode(), b, "{body}");
        }
    }

    #[test]
    fn str_t_past_table_end() {
        // Table of 4 bytes; STR_T 4 points past it.
        let b = hex("02a4016a04616263006d8304 01");
        let e = Document::decode_exact(&b).unwrap_err();
        assert_eq!(e.offset, 10);
        assert!(matches!(e.kind, DecodeErrorKind::Invalid { what: "STR_T", .. }), "{e}");
        let ok = hex("02a4016a04616263006d830001");
        assert_eq!(Document::decode_exact(&ok).unwrap().encode(), ok);
    }

    #[test]
    fn huge_lengths_are_rejected_before_allocating() {
        // String table length 0x0FFFFFFF with 1 byte left.
        let e = Document::decode_exact(&hex("02a4016affffff7f00")).unwrap_err();
        assert_eq!(e.offset, 4);
        assert!(matches!(e.kind, DecodeErrorKind::LengthOverflow { what: "string table", .. }));
        // OPAQUE length overflows.
        let e = Document::decode_exact(&hex("02a4016a004fc38f7f0101")).unwrap_err();
        assert_eq!(e.offset, 7);
        assert!(matches!(e.kind, DecodeErrorKind::LengthOverflow { what: "OPAQUE data", .. }));
    }

    #[test]
    fn deep_nesting_is_capped() {
        let mut b = hex("02a4016a00");
        b.extend(std::iter::repeat_n(0x6D, MAX_DEPTH + 1));
        let e = Document::decode_exact(&b).unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::TooDeep { max: MAX_DEPTH });
        assert_eq!(e.offset, 5 + MAX_DEPTH);
    }

    #[test]
    fn attributes_pi_extensions_literals() {
        // String table "ab\0"; <LITERAL_AC "ab" attr 0x05 value STR_I "x" value 0x85 END> PI 05 END
        //   content: EXT_I_0 "y", EXT_T_1 3, EXT_2, ENTITY 0xE9, LITERAL "ab" (empty) END; trailing PI.
        let b = hex(
            "03016a03616200 c4 00 05 03 7800 85 01 43 06 01 40 7900 81 03 c2 02 8169 04 00 01 43 05 83 00 01",
        );
        let d = Document::decode_exact(&b).unwrap();
        assert_eq!(d.encode(), b);
        assert!(d.body.contains(&Token::AttrValue { byte: 0x85 }));
        assert!(!d.body.iter().any(|t| matches!(t, Token::LiteralAttr { .. })));
        assert_eq!(d.body.last(), Some(&Token::End));
    }

    #[test]
    fn trailing_bytes_and_truncation() {
        let b = hex("02a4016a006d0101");
        let e = Document::decode_exact(&b).unwrap_err();
        assert_eq!(e.offset, 7);
        assert!(matches!(e.kind, DecodeErrorKind::TrailingBytes { .. }));
        let full = hex("02a4016a006d4f036100010101");
        for n in 0..full.len() - 1 {
            assert!(Document::decode_exact(&full[..n]).is_err(), "prefix {n}");
        }
    }

    #[test]
    fn unexpected_global_token_as_tag() {
        // END where the root tag is expected.
        let e = Document::decode_exact(&hex("02a4016a0001")).unwrap_err();
        assert_eq!(e.offset, 5);
        assert!(matches!(e.kind, DecodeErrorKind::UnexpectedTag { found: 1, .. }));
    }

    #[test]
    fn nested_ddf_document_in_opaque() {
        // <SyncML><Add><Item><Meta><Type>…dmtnds+wbxml</Type></Meta><Data>OPAQUE(DDF doc)</Data>…
        let mut ddf = hex("0200006a1b");
        ddf.extend_from_slice(b"-//OMA//DTD-DM-DDF 1.2//EN\0");
        ddf.extend_from_slice(&hex("000260770331 2e320001 01"));
        let mut b = hex("02a4016a006d45545a000153");
        b.push(STR_I);
        b.extend_from_slice(b"application/vnd.syncml.dmtnds+wbxml\0");
        b.extend_from_slice(&hex("01010000 4f c3"));
        b.push(u8::try_from(ddf.len()).unwrap());
        b.extend_from_slice(&ddf);
        b.extend_from_slice(&hex("01010101"));
        let d = Document::decode_exact(&b).unwrap();
        let nested = d.body.iter().find_map(|t| match t {
            Token::Opaque { data: OpaqueData::Document(n), .. } => Some(n),
            _ => None,
        });
        let nested = nested.expect("nested document");
        assert_eq!(nested.language(), Some(Language::DmDdf12));
        assert_eq!(d.encode(), b);
        assert_eq!(d.encoded_len(), b.len());
    }

    #[test]
    fn json_round_trip() {
        let b = hex("02a4016a8080046162630 06d8300c303010203 01");
        let d = Document::decode_exact(&b).unwrap();
        let j = serde_json::to_string(&d).unwrap();
        let back: Document = serde_json::from_str(&j).unwrap();
        assert_eq!(back, d);
        assert_eq!(serde_json::to_string(&back).unwrap(), j);
        assert_eq!(back.encode(), b);
    }

    fn arb_mb() -> impl Strategy<Value = MbUint32> {
        (any::<u32>(), 0u8..3).prop_map(|(v, p)| {
            let pad = p.min(u8::try_from(5 - MbUint32::minimal_len(v)).unwrap_or(0));
            MbUint32 { value: v, pad }
        })
    }

    proptest! {
        #[test]
        fn mb_round_trip(m in arb_mb()) {
            let mut out = Vec::new();
            m.write(&mut out);
            prop_assert_eq!(out.len(), m.encoded_len());
            let mut r = Reader::new(&out);
            prop_assert_eq!(MbUint32::read(&mut r, "x").unwrap(), m);
        }

        #[test]
        fn random_bytes_that_decode_re_encode(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(d) = Document::decode_exact(&b) {
                prop_assert_eq!(d.encode(), b.clone());
                prop_assert_eq!(d.encoded_len(), b.len());
            }
        }

        #[test]
        fn header_prefixed_random_bodies(body in proptest::collection::vec(any::<u8>(), 0..48)) {
            let mut b = hex("03016a0461626300");
            b.extend_from_slice(&body);
            if let Ok(d) = Document::decode_exact(&b) {
                prop_assert_eq!(d.encode(), b);
            }
        }
    }
}

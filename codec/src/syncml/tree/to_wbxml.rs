//! Element tree → WBXML, RTK flavour (and the header rules shared with libwbxml).

use super::{ConvertError, Document, Element, EmptyData, Language, MAX_NESTED_DOCUMENTS, Node, Profile};
use crate::wbxml::{self, MbUint32, OpaqueData, Token};

/// A string table under construction: entries NUL-terminated, offsets of each.
#[derive(Debug, Default)]
pub(super) struct TableBuilder {
    pub(super) bytes: Vec<u8>,
    entries: Vec<(usize, usize)>,
}

impl TableBuilder {
    /// The offset of `s`, adding it (NUL-terminated) if it is not there yet.
    pub(super) fn add(&mut self, s: &[u8]) -> u32 {
        for &(off, len) in &self.entries {
            if self.bytes.get(off..off + len) == Some(s) {
                return u32::try_from(off).unwrap_or(u32::MAX);
            }
        }
        let off = self.bytes.len();
        self.bytes.extend_from_slice(s);
        self.bytes.push(0);
        self.entries.push((off, s.len()));
        u32::try_from(off).unwrap_or(u32::MAX)
    }
}

fn is_space(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

fn str_i(s: &str) -> Result<Token, ConvertError> {
    if s.as_bytes().contains(&0) {
        return Err(ConvertError::NulInText);
    }
    Ok(Token::StrI { bytes: s.as_bytes().to_vec() })
}

struct Enc<'p> {
    lang: Language,
    profile: &'p Profile,
    page: u8,
    table: TableBuilder,
    body: Vec<Token>,
    depth: usize,
}

impl Enc<'_> {
    fn element(&mut self, el: &Element) -> Result<(), ConvertError> {
        let page = self.lang.page_of(el.ns).ok_or(ConvertError::NoPage { ns: el.ns, language: self.lang })?;
        let empty_data = el.name == "Data"
            && self.profile.empty_data == EmptyData::EmptyString
            && el.children.iter().all(|c| matches!(c, Node::Text(t) if t.is_empty()));
        let ignorable = el.children.iter().any(|c| matches!(c, Node::Element(_) | Node::Document(_)));
        let has_content = !el.children.is_empty() || empty_data;
        let content_bit = if has_content { wbxml::global::HAS_CONTENT } else { 0 };
        match self.lang.tag_token_on(page, &el.name) {
            Some(token) => {
                if page != self.page {
                    self.body.push(Token::SwitchPage { page });
                    self.page = page;
                }
                self.body.push(Token::Tag { byte: token | content_bit });
            }
            None if self.profile.string_table => {
                let index = MbUint32::new(self.table.add(el.name.as_bytes()));
                self.body.push(Token::LiteralTag { byte: wbxml::global::LITERAL | content_bit, index });
            }
            None => return Err(ConvertError::NoToken { name: el.name.to_string(), language: self.lang }),
        }
        if empty_data {
            self.body.push(Token::StrI { bytes: Vec::new() });
        } else {
            for c in &el.children {
                match c {
                    Node::Element(e) => self.element(e)?,
                    Node::Text(t) | Node::CData(t) => {
                        if !(ignorable && is_space(t) && !self.profile.keep_whitespace) {
                            self.body.push(str_i(t)?);
                        }
                    }
                    Node::Opaque(b) => self.body.push(Token::opaque(b.clone())),
                    Node::Document(d) => {
                        let nested = encode(d, self.profile, self.depth + 1)?;
                        self.body
                            .push(Token::Opaque { len_pad: 0, data: OpaqueData::Document(Box::new(nested)) });
                    }
                }
            }
        }
        if has_content {
            self.body.push(Token::End);
        }
        Ok(())
    }
}

/// Writes `doc` in the RTK flavour of `profile`.
pub(super) fn encode(
    doc: &Document,
    profile: &Profile,
    depth: usize,
) -> Result<wbxml::Document, ConvertError> {
    if depth >= MAX_NESTED_DOCUMENTS {
        return Err(ConvertError::TooDeep(MAX_NESTED_DOCUMENTS));
    }
    let mut enc = Enc {
        lang: doc.language,
        profile,
        page: 0,
        table: TableBuilder::default(),
        body: Vec::with_capacity(128),
        depth,
    };
    enc.element(&doc.root)?;
    // The FPI is the last string-table entry: without NUL it is bounded by the end of the table (the RTK
    // writes it as the whole table; literal names, if any, come before it).
    let (public_id, string_table) = super::libwbxml::header(doc.language, profile.public_id, Some(enc.table));
    Ok(wbxml::Document {
        version: profile.wbxml_version,
        public_id,
        charset: (profile.wbxml_version != 0).then_some(MbUint32::new(0x6A)),
        string_table_len_pad: 0,
        string_table,
        body: enc.body,
    })
}

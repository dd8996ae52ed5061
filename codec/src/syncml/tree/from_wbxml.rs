//! WBXML document → element tree.

use std::borrow::Cow;

use super::{ConvertError, Document, Element, MAX_NESTED_DOCUMENTS, Node};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::wbxml::{self, OpaqueData, Token, global};

/// Decodes string bytes in the document charset (IANA MIBenum) to UTF-8.
///
/// Supported: UTF-8 (106; also 0 "unknown", which WBXML §5.6 says defaults to UTF-8, and WBXML 1.0 without
/// a charset), US-ASCII (3) and ISO-8859-1 (4).
pub(super) fn decode_charset(
    charset: Option<u32>,
    bytes: &[u8],
    at: usize,
) -> Result<Cow<'_, str>, DecodeError> {
    match charset {
        None | Some(0 | 106) => std::str::from_utf8(bytes)
            .map(Cow::Borrowed)
            .map_err(|e| DecodeError::invalid("string", "not valid UTF-8", at + e.valid_up_to())),
        Some(3) => match bytes.iter().position(|b| !b.is_ascii()) {
            None => Ok(Cow::Borrowed(std::str::from_utf8(bytes).unwrap_or(""))),
            Some(i) => Err(DecodeError::invalid("string", "not US-ASCII", at + i)),
        },
        Some(4) => Ok(Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect())),
        Some(_) => {
            Err(DecodeError::invalid("charset", "only UTF-8, US-ASCII and ISO-8859-1 are supported", at))
        }
    }
}

/// `base` is the absolute offset of the document's first byte (non-zero for nested documents).
pub(super) fn build(doc: &wbxml::Document, base: usize, depth: usize) -> Result<Document, ConvertError> {
    if depth >= MAX_NESTED_DOCUMENTS {
        return Err(ConvertError::TooDeep(MAX_NESTED_DOCUMENTS));
    }
    let language = doc.language().ok_or_else(|| {
        DecodeError::invalid("publicid", "not a SyncML 1.1/1.2, DevInf or DM DDF document", base + 1)
    })?;
    let charset = doc.charset.map(|c| c.value);
    let strings = doc.strings();
    let table_at = doc.header_len() - doc.string_table.len();
    let mut at = base + doc.header_len();
    let limit = wbxml::str_t_expansion_limit(doc.encoded_len());
    let mut expanded = 0usize;
    let mut page = 0u8;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    // Inside an attribute list or PI: skip tokens until its END.
    let mut skipping = false;
    // After the attribute list: does the element have content?
    let mut pending: Option<(Element, bool)> = None;
    for tok in &doc.body {
        let len = tok.encoded_len();
        let tok_at = at;
        at += len;
        if skipping {
            if *tok == Token::End {
                skipping = false;
                if let Some((el, content)) = pending.take() {
                    open_element(el, content, &mut stack, &mut root);
                }
            }
            continue;
        }
        let text = |s: Cow<'_, str>| Node::Text(s.into_owned());
        let node = match tok {
            Token::SwitchPage { page: p } => {
                page = *p;
                continue;
            }
            Token::Tag { byte } => {
                let token = byte & 0x3F;
                let name = language.tag_name(page, token).ok_or_else(|| {
                    DecodeError::new(
                        DecodeErrorKind::UnexpectedTag {
                            expected: "a tag of the document's code pages",
                            found: (*byte).into(),
                        },
                        tok_at,
                    )
                })?;
                let ns = language.namespace(page).ok_or_else(|| {
                    DecodeError::invalid("SWITCH_PAGE", "code page not used by this document type", tok_at)
                })?;
                let el = Element::new(ns, name);
                start(el, *byte, &mut skipping, &mut pending, &mut stack, &mut root);
                continue;
            }
            Token::LiteralTag { byte, index } => {
                let raw = strings.get(index.value as usize).unwrap_or_default();
                let name = decode_charset(charset, raw, table_at + index.value as usize)?.into_owned();
                let ns = language.namespace(page).unwrap_or(super::Namespace::SyncMl);
                start(Element::new(ns, name), *byte, &mut skipping, &mut pending, &mut stack, &mut root);
                continue;
            }
            Token::Pi => {
                skipping = true;
                continue;
            }
            Token::End => {
                if let Some(mut el) = stack.pop() {
                    if el.children.is_empty() {
                        el.children.push(Node::Text(String::new()));
                    }
                    attach(Node::Element(el), &mut stack, &mut root);
                }
                continue;
            }
            Token::StrI { bytes } => text(decode_charset(charset, bytes, tok_at + 1)?),
            Token::StrT { index } => {
                let raw = strings.get(index.value as usize).unwrap_or_default();
                expanded += raw.len();
                if expanded > limit {
                    let kind = DecodeErrorKind::TooMany {
                        what: "bytes of string-table text (STR_T expansion)",
                        max: limit,
                    };
                    return Err(DecodeError::new(kind, tok_at).into());
                }
                text(decode_charset(charset, raw, table_at + index.value as usize)?)
            }
            Token::Entity { code } => match char::from_u32(code.value) {
                Some(c) => Node::Text(c.to_string()),
                None => {
                    return Err(DecodeError::invalid("ENTITY", "not a Unicode scalar value", tok_at).into());
                }
            },
            Token::Opaque { data: OpaqueData::Bytes(b), .. } => Node::Opaque(b.clone()),
            Token::Opaque { data: OpaqueData::Document(d), len_pad } => {
                let data_at = tok_at
                    + 1
                    + *len_pad as usize
                    + wbxml::MbUint32::minimal_len(u32::try_from(d.encoded_len()).unwrap_or(u32::MAX));
                Node::Document(Box::new(build(d, data_at, depth + 1)?))
            }
            Token::ExtI { .. } | Token::ExtT { .. } | Token::Ext { .. } => {
                return Err(
                    DecodeError::invalid("extension token", "SyncML defines no extensions", tok_at).into()
                );
            }
            Token::AttrStart { .. } | Token::AttrValue { .. } | Token::LiteralAttr { .. } => continue,
        };
        match stack.last_mut() {
            Some(el) => el.children.push(node),
            None => return Err(DecodeError::invalid("content", "outside the root element", tok_at).into()),
        }
    }
    let root = root.ok_or_else(|| DecodeError::invalid("WBXML body", "no root element", at))?;
    Ok(Document { language, root })
}

fn start(
    el: Element,
    byte: u8,
    skipping: &mut bool,
    pending: &mut Option<(Element, bool)>,
    stack: &mut Vec<Element>,
    root: &mut Option<Element>,
) {
    let content = byte & global::HAS_CONTENT != 0;
    if byte & global::HAS_ATTRS != 0 {
        // Attributes: SyncML, DevInf and DDF define none; they are skipped.
        *skipping = true;
        *pending = Some((el, content));
    } else {
        open_element(el, content, stack, root);
    }
}

fn open_element(el: Element, content: bool, stack: &mut Vec<Element>, root: &mut Option<Element>) {
    if content {
        stack.push(el);
    } else {
        attach(Node::Element(el), stack, root);
    }
}

fn attach(node: Node, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(node),
        None => {
            if let Node::Element(e) = node {
                *root = Some(e);
            }
        }
    }
}

//! XML 1.0 documents (W3C XML 1.0 5th ed., Namespaces in XML 1.0), lossless, on `quick-xml`.
//!
//! A [`Document`] keeps the source text and a list of [`Event`]s whose spans cover it exactly, so that
//! `encode(decode(s)) == s` for every document that parses: the XML declaration, the DOCTYPE (with its
//! internal subset, kept as text), comments, processing instructions, whitespace between elements,
//! attribute quote styles, entity and character references, CDATA sections and the three empty-element forms
//! (`<Final/>`, `<Final />`, `<Final></Final>`) all come back unchanged. Decoded views are computed on demand:
//! [`Document::text`] (references resolved, line ends normalised per §2.11), [`Document::attributes`],
//! [`Document::doctype`], [`Namespaces`] for prefix resolution.
//!
//! Entities: only the five predefined ones and character references are ever resolved; entity declarations
//! in the DOCTYPE are kept as text and never expanded, and nothing external is fetched, so an entity bomb
//! cannot grow. In [`Mode::Strict`] a reference to any other entity is an error; in [`Mode::Lenient`] it is
//! kept verbatim as text.
//!
//! [`Mode::Lenient`] is for what real devices send (decision, documented here and in `omadm.md` §10):
//! - a raw `&` that does not start a reference (the AOSP UI-alert scripts have `MAXDT=15&DR=1` in `Data`) is
//!   character data;
//! - references to undeclared entities are kept verbatim;
//! - character data may hold characters outside the XML `Char` production and `]]>`;
//! - at the SyncML layer, an element in an unknown namespace (the spec's own `xmlns='syncml :metinf'` typo)
//!   is looked up by name (see [`crate::syncml::tree`]).
//!
//! Both modes cap element nesting at [`MAX_DEPTH`] and accept UTF-8 input only.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event as QEvent};
use quick_xml::reader::Reader as QReader;
use serde::{Deserialize, Serialize};

use crate::error::{DecodeError, DecodeErrorKind, DecodeResult};
use crate::reader::Encode;

/// Deepest element nesting accepted.
pub const MAX_DEPTH: usize = 256;

/// How forgiving the parser is (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Well-formed XML 1.0 with namespaces; errors carry the byte offset.
    #[default]
    Strict,
    /// Also accepts the deviations real SyncML devices produce (raw `&`, undeclared entities).
    Lenient,
}

/// The kind of an [`Event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A UTF-8 byte-order mark at the start.
    Bom,
    /// The XML declaration `<?xml …?>`.
    Decl,
    /// `<!DOCTYPE …>` (with its internal subset, unparsed).
    Doctype,
    /// A processing instruction `<?target …?>`.
    Pi,
    /// A comment `<!-- … -->`.
    Comment,
    /// A start tag `<name …>`; `name_len` is the length of the qualified name.
    Start {
        /// Length of the qualified name after `<`.
        name_len: usize,
    },
    /// An empty-element tag `<name …/>`.
    Empty {
        /// Length of the qualified name after `<`.
        name_len: usize,
    },
    /// An end tag `</name>`.
    End,
    /// Character data with its references, raw (between two pieces of markup).
    Text,
    /// A CDATA section `<![CDATA[…]]>`.
    CData,
}

/// One piece of the document: its kind and its byte span in [`Document::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Event {
    /// What it is.
    pub kind: EventKind,
    /// Byte offset of its first character.
    pub start: usize,
    /// Byte offset after its last character.
    pub end: usize,
}

/// A parsed XML document that re-encodes to exactly its source text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "DocumentRepr", into = "DocumentRepr")]
pub struct Document {
    text: String,
    events: Vec<Event>,
    mode: Mode,
}

/// The serde form of a [`Document`]: its mode and text (deserialising parses it again).
#[derive(Serialize, Deserialize)]
struct DocumentRepr {
    #[serde(default)]
    mode: Mode,
    text: String,
}

impl TryFrom<DocumentRepr> for Document {
    type Error = DecodeError;
    fn try_from(r: DocumentRepr) -> Result<Self, DecodeError> {
        Document::parse(&r.text, r.mode)
    }
}

impl From<Document> for DocumentRepr {
    fn from(d: Document) -> Self {
        Self { mode: d.mode, text: d.text }
    }
}

/// One attribute of a start tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// Qualified name.
    pub name: &'a str,
    /// Raw value between the quotes (references unresolved).
    pub raw_value: &'a str,
    /// The quote character used (`'` or `"`).
    pub quote: char,
}

/// The parts of a DOCTYPE declaration (§2.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Doctype<'a> {
    /// The root element name.
    pub name: &'a str,
    /// The public identifier, if `PUBLIC`.
    pub public_id: Option<&'a str>,
    /// The system identifier (DTD URL), if any.
    pub system_id: Option<&'a str>,
    /// The internal subset between `[` and `]`, unparsed.
    pub internal_subset: Option<&'a str>,
}

/// The parts of the XML declaration (§2.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declaration<'a> {
    /// `version`.
    pub version: Option<&'a str>,
    /// `encoding`.
    pub encoding: Option<&'a str>,
    /// `standalone`.
    pub standalone: Option<&'a str>,
}

fn ill(what: &'static str, reason: &'static str, at: usize) -> DecodeError {
    DecodeError::invalid(what, reason, at)
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic()
        || c == '_'
        || c == ':'
        || matches!(c, '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}')
        || matches!(c, '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}')
        || matches!(c, '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}')
        || matches!(c, '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || c.is_ascii_digit()
        || c == '-'
        || c == '.'
        || c == '\u{B7}'
        || matches!(c, '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// True when `s` is an XML `Name` (§2.3).
#[must_use]
pub fn is_name(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_ascii() {
        return b.first().is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_' || c == b':')
            && b.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b':' | b'-' | b'.'));
    }
    let mut it = s.chars();
    it.next().is_some_and(is_name_start) && it.all(is_name_char)
}

/// True for the XML `Char` production (§2.2).
#[must_use]
pub const fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Resolves a reference body (between `&` and `;`): a predefined entity or a character reference.
fn resolve_ref(body: &str) -> Option<char> {
    match body {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let n = if let Some(h) = body.strip_prefix("#x") {
                if h.is_empty() || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                u32::from_str_radix(h, 16).ok()?
            } else if let Some(d) = body.strip_prefix('#') {
                if d.is_empty() || !d.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                d.parse::<u32>().ok()?
            } else {
                return None;
            };
            char::from_u32(n).filter(|&c| is_xml_char(c))
        }
    }
}

/// Resolves the references of raw character data and normalises line ends (`\r\n` and lone `\r` become
/// `\n`, §2.11); with `attr`, also normalises white space to spaces (§3.3.3).
///
/// A `&` that does not start a resolvable reference (only possible in documents parsed in
/// [`Mode::Lenient`]) is kept as it is.
#[must_use]
pub fn unescape(raw: &str, attr: bool) -> Cow<'_, str> {
    if !raw.bytes().any(|b| matches!(b, b'&' | b'\r') || (attr && matches!(b, b'\n' | b'\t'))) {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find(['&', '\r', '\n', '\t']) {
        out.push_str(&rest[..i]);
        let c = rest.as_bytes()[i];
        rest = &rest[i + 1..];
        match c {
            b'&' => {
                let resolved = rest
                    .find(';')
                    .filter(|&j| j <= 12)
                    .and_then(|j| resolve_ref(&rest[..j]).map(|ch| (j, ch)));
                match resolved {
                    Some((j, ch)) => {
                        out.push(ch);
                        rest = &rest[j + 1..];
                    }
                    None => out.push('&'),
                }
            }
            b'\r' => {
                rest = rest.strip_prefix('\n').unwrap_or(rest);
                out.push(if attr { ' ' } else { '\n' });
            }
            _ => out.push(if attr { ' ' } else { c as char }),
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Appends `s` escaped as XML character data: `&`, `<`, `>` (and `"`/`'` when `quotes`).
pub fn escape_into(out: &mut String, s: &str, quotes: bool) {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' if quotes => "&quot;",
            b'\'' if quotes => "&apos;",
            _ => continue,
        };
        out.push_str(&s[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&s[last..]);
}

/// Splits a qualified name into `(prefix, local)`.
#[must_use]
pub fn split_qname(q: &str) -> (Option<&str>, &str) {
    // A byte loop: names are short, a memchr call costs more.
    match q.bytes().position(|b| b == b':') {
        Some(i) => (q.get(..i), q.get(i + 1..).unwrap_or("")),
        None => (None, q),
    }
}

/// In-scope namespace declarations while walking a document (Namespaces in XML 1.0 §6).
#[derive(Debug, Default, Clone)]
pub struct Namespaces<'a> {
    /// `(prefix, uri)`; the prefix `""` is the default namespace.
    bindings: Vec<(&'a str, Cow<'a, str>)>,
    /// Number of bindings before each open element.
    marks: Vec<usize>,
}

impl<'a> Namespaces<'a> {
    /// An empty scope.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty scope with room for `depth` open elements (and a few declarations) before it allocates.
    #[must_use]
    pub fn with_capacity(depth: usize) -> Self {
        Self { bindings: Vec::with_capacity(8), marks: Vec::with_capacity(depth) }
    }

    /// Enters an element: records its `xmlns` / `xmlns:p` attributes. Call [`Namespaces::pop`] at its end
    /// (for an empty-element tag, right after resolving it).
    pub fn push(&mut self, doc: &'a Document, ev: &Event) {
        self.push_tag(doc.raw(ev), ev.kind);
    }

    /// [`Namespaces::push`] from the raw text of a start or empty-element tag.
    pub fn push_tag(&mut self, raw: &'a str, kind: EventKind) {
        self.marks.push(self.bindings.len());
        let name_len = match kind {
            EventKind::Start { name_len } | EventKind::Empty { name_len } => name_len,
            _ => return,
        };
        // `<Name>`, `<Name/>`, `<Name />`: no attributes.
        if raw.len() <= name_len + 4 && !raw.bytes().any(|b| b == b'=') {
            return;
        }
        for a in tag_attributes(raw, kind) {
            if a.name == "xmlns" {
                self.bindings.push(("", unescape(a.raw_value, true)));
            } else if let Some(p) = a.name.strip_prefix("xmlns:") {
                self.bindings.push((p, unescape(a.raw_value, true)));
            }
        }
    }

    /// Enters an element without attributes.
    pub fn push_none(&mut self) {
        self.marks.push(self.bindings.len());
    }

    /// Enters an element whose only attribute is `xmlns="uri"` with `uri` free of references and of the
    /// white space attribute-value normalisation would change (what [`Namespaces::push_tag`] would record).
    pub fn push_default(&mut self, uri: &'a str) {
        self.marks.push(self.bindings.len());
        self.bindings.push(("", Cow::Borrowed(uri)));
    }

    /// Leaves the innermost element.
    pub fn pop(&mut self) {
        if let Some(m) = self.marks.pop() {
            self.bindings.truncate(m);
        }
    }

    /// The URI bound to `prefix` (`None` = default namespace); `None` if unbound (or the default namespace
    /// is unset or undeclared with `xmlns=""`).
    #[must_use]
    pub fn resolve(&self, prefix: Option<&str>) -> Option<&str> {
        let p = prefix.unwrap_or("");
        if crate::wbxml::codepage::eq_bytes(p.as_bytes(), b"xml") {
            return Some("http://www.w3.org/XML/1998/namespace");
        }
        self.bindings
            .iter()
            .rev()
            .find(|(bp, _)| crate::wbxml::codepage::eq_bytes(bp.as_bytes(), p.as_bytes()))
            .map(|(_, u)| u.as_ref())
            .filter(|u| !u.is_empty())
    }

    /// Current nesting depth.
    #[must_use]
    pub fn depth(&self) -> usize {
        self.marks.len()
    }
}

fn quick_reason(e: &quick_xml::Error) -> &'static str {
    use quick_xml::errors::{IllFormedError as I, SyntaxError as S};
    match e {
        quick_xml::Error::Syntax(s) => match s {
            S::InvalidBangMarkup => "`<!` starts neither a comment, CDATA nor DOCTYPE",
            S::UnclosedPI => "unclosed processing instruction",
            S::UnclosedXmlDecl => "unclosed XML declaration",
            S::UnclosedComment => "unclosed comment",
            S::UnclosedDoctype => "unclosed DOCTYPE",
            S::UnclosedCData => "unclosed CDATA section",
            S::UnclosedTag => "unclosed tag",
            _ => "unclosed attribute value",
        },
        quick_xml::Error::IllFormed(i) => match i {
            I::MissingDeclVersion(_) => "XML declaration without version",
            I::MissingDoctypeName => "DOCTYPE without a name",
            I::MissingEndTag(_) => "element not closed",
            I::UnmatchedEndTag(_) => "end tag without a start tag",
            I::MismatchedEndTag { .. } => "end tag does not match the open element",
            I::DoubleHyphenInComment => "`--` inside a comment",
            I::UnclosedReference => "`&` not followed by a reference ending in `;`",
            _ => "ill-formed markup",
        },
        quick_xml::Error::InvalidAttr(_) => "malformed attribute",
        _ => "malformed document",
    }
}

impl Document {
    /// Parses `text`.
    ///
    /// # Errors
    /// A [`DecodeError`] with the byte offset of the first problem: ill-formed markup, unbalanced or
    /// mismatched tags, more than one root, text outside the root, a bad name, reference or attribute, an
    /// undeclared namespace prefix, a non-UTF-8 encoding declaration (strict), nesting beyond [`MAX_DEPTH`].
    pub fn parse(text: &str, mode: Mode) -> DecodeResult<Self> {
        let mut events = Vec::with_capacity(text.len() / 12);
        visit(text, mode, &mut events)?;
        Ok(Self { text: text.to_owned(), events, mode })
    }

    /// Parses UTF-8 bytes.
    ///
    /// # Errors
    /// Invalid UTF-8 (at the first bad byte) and everything [`Document::parse`] reports.
    pub fn parse_bytes(bytes: &[u8], mode: Mode) -> DecodeResult<Self> {
        let text =
            std::str::from_utf8(bytes).map_err(|e| ill("XML text", "not valid UTF-8", e.valid_up_to()))?;
        Self::parse(text, mode)
    }

    /// The source text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The mode it was parsed in.
    #[must_use]
    pub const fn mode(&self) -> Mode {
        self.mode
    }

    /// The events, in document order; their spans tile the text.
    #[must_use]
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The raw text of `ev`.
    #[must_use]
    pub fn raw(&self, ev: &Event) -> &str {
        self.text.get(ev.start..ev.end).unwrap_or("")
    }

    /// The qualified name of a start, empty-element or end tag (empty for other events).
    #[must_use]
    pub fn name(&self, ev: &Event) -> &str {
        let raw = self.raw(ev);
        match ev.kind {
            EventKind::Start { name_len } | EventKind::Empty { name_len } => {
                raw.get(1..1 + name_len).unwrap_or("")
            }
            EventKind::End => raw.get(2..raw.len().saturating_sub(1)).unwrap_or("").trim_end(),
            _ => "",
        }
    }

    /// The attributes of a start or empty-element tag, in order (validated at parse time).
    pub fn attributes<'d>(&'d self, ev: &Event) -> impl Iterator<Item = Attribute<'d>> + 'd {
        let raw = self.raw(ev);
        let (content, name_len) = match ev.kind {
            EventKind::Start { name_len } => {
                (raw.get(1..raw.len().saturating_sub(1)).unwrap_or(""), name_len)
            }
            EventKind::Empty { name_len } => {
                (raw.get(1..raw.len().saturating_sub(2)).unwrap_or(""), name_len)
            }
            _ => ("", 0),
        };
        AttrIter { rest: content.get(name_len..).unwrap_or("") }
    }

    /// The character data of a text or CDATA event: references resolved (text only) and line ends
    /// normalised.
    #[must_use]
    pub fn text(&self, ev: &Event) -> Cow<'_, str> {
        let raw = self.raw(ev);
        match ev.kind {
            EventKind::Text => unescape(raw, false),
            EventKind::CData => {
                let inner = raw.get(9..raw.len().saturating_sub(3)).unwrap_or("");
                if inner.contains('\r') {
                    Cow::Owned(inner.replace("\r\n", "\n").replace('\r', "\n"))
                } else {
                    Cow::Borrowed(inner)
                }
            }
            _ => Cow::Borrowed(""),
        }
    }

    /// The DOCTYPE declaration, if any.
    #[must_use]
    pub fn doctype(&self) -> Option<Doctype<'_>> {
        let ev = self.events.iter().find(|e| e.kind == EventKind::Doctype)?;
        doctype_of(self.raw(ev))
    }

    /// The XML declaration, if any.
    #[must_use]
    pub fn declaration(&self) -> Option<Declaration<'_>> {
        let ev = self.events.iter().find(|e| e.kind == EventKind::Decl)?;
        let raw = self.raw(ev);
        let body = raw.get(5..raw.len().saturating_sub(2))?;
        let mut d = Declaration { version: None, encoding: None, standalone: None };
        for a in (AttrIter { rest: body }) {
            match a.name {
                "version" => d.version = Some(a.raw_value),
                "encoding" => d.encoding = Some(a.raw_value),
                "standalone" => d.standalone = Some(a.raw_value),
                _ => {}
            }
        }
        Some(d)
    }
}

impl Encode for Document {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.text.as_bytes());
    }
}

impl std::fmt::Display for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// The attributes of the raw text of a start or empty-element tag (already validated by the parser).
pub fn tag_attributes(raw: &str, kind: EventKind) -> impl Iterator<Item = Attribute<'_>> {
    let (content, name_len) = match kind {
        EventKind::Start { name_len } => (raw.get(1..raw.len().saturating_sub(1)).unwrap_or(""), name_len),
        EventKind::Empty { name_len } => (raw.get(1..raw.len().saturating_sub(2)).unwrap_or(""), name_len),
        _ => ("", 0),
    };
    AttrIter { rest: content.get(name_len..).unwrap_or("") }
}

/// The qualified name of the raw text of a start, empty-element or end tag.
#[must_use]
pub fn tag_name(raw: &str, kind: EventKind) -> &str {
    match kind {
        EventKind::Start { name_len } | EventKind::Empty { name_len } => {
            raw.get(1..1 + name_len).unwrap_or("")
        }
        EventKind::End => raw.get(2..raw.len().saturating_sub(1)).unwrap_or("").trim_end(),
        _ => "",
    }
}

/// Iterates `name = "value"` pairs of already validated tag content.
struct AttrIter<'a> {
    rest: &'a str,
}

impl<'a> Iterator for AttrIter<'a> {
    type Item = Attribute<'a>;
    fn next(&mut self) -> Option<Attribute<'a>> {
        let s = self.rest.trim_start();
        let eq = s.find('=')?;
        let name = s[..eq].trim_end();
        let after = s[eq + 1..].trim_start();
        let quote = after.chars().next().filter(|&c| c == '"' || c == '\'')?;
        let body = &after[1..];
        let close = body.find(quote)?;
        self.rest = &body[close + 1..];
        Some(Attribute { name, raw_value: &body[..close], quote })
    }
}

/// The parts of the raw text of a DOCTYPE declaration (`<!DOCTYPE …>`).
#[must_use]
pub fn doctype_of(raw: &str) -> Option<Doctype<'_>> {
    parse_doctype(raw.get(9..raw.len().saturating_sub(1))?)
}

fn parse_doctype(body: &str) -> Option<Doctype<'_>> {
    let body = body.trim_start();
    let name_end = body.find(|c: char| c.is_ascii_whitespace() || c == '[').unwrap_or(body.len());
    let name = &body[..name_end];
    let mut rest = body[name_end..].trim_start();
    fn quoted<'s>(rest: &mut &'s str) -> Option<&'s str> {
        let s = rest.trim_start();
        let q = s.chars().next().filter(|&c| c == '"' || c == '\'')?;
        let end = s[1..].find(q)? + 1;
        *rest = &s[end + 1..];
        Some(&s[1..end])
    }
    let (mut public_id, mut system_id) = (None, None);
    if let Some(r) = rest.strip_prefix("PUBLIC") {
        rest = r;
        public_id = quoted(&mut rest);
        system_id = quoted(&mut rest);
    } else if let Some(r) = rest.strip_prefix("SYSTEM") {
        rest = r;
        system_id = quoted(&mut rest);
    }
    let rest = rest.trim_start();
    let internal_subset = rest.strip_prefix('[').and_then(|r| r.rfind(']').map(|e| &r[..e]));
    Some(Doctype { name, public_id, system_id, internal_subset })
}

/// Where the parser is relative to the root element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Prolog,
    InRoot,
    Epilog,
}

/// Receives the events of [`visit`], in document order (adjacent text and references already merged).
pub trait EventSink {
    /// One event; `text` is the whole document.
    fn event(&mut self, text: &str, ev: Event);
}

impl EventSink for Vec<Event> {
    fn event(&mut self, _text: &str, ev: Event) {
        self.push(ev);
    }
}

/// Parses `text` with the checks of [`Document::parse`] without keeping anything: every event goes to
/// `sink`.
///
/// # Errors
/// As [`Document::parse`].
pub fn visit(text: &str, mode: Mode, sink: &mut impl EventSink) -> DecodeResult<()> {
    Parser::new(text, mode, sink).run()
}

struct Parser<'a, 's, S> {
    text: &'a str,
    mode: Mode,
    sink: &'s mut S,
    /// Character data not yet passed on (merged with following text and references).
    pending: Option<Event>,
    /// Events other than a BOM passed on so far.
    count: usize,
    doctype: bool,
    phase: Phase,
    depth: usize,
    ns: Vec<Vec<&'a str>>,
}

impl<'a, 's, S: EventSink> Parser<'a, 's, S> {
    fn new(text: &'a str, mode: Mode, sink: &'s mut S) -> Self {
        Self {
            text,
            mode,
            sink,
            pending: None,
            count: 0,
            doctype: false,
            phase: Phase::Prolog,
            depth: 0,
            ns: Vec::new(),
        }
    }

    fn flush(&mut self) {
        if let Some(p) = self.pending.take() {
            self.count += 1;
            self.sink.event(self.text, p);
        }
    }

    fn push(&mut self, kind: EventKind, start: usize, end: usize) {
        self.flush();
        if kind != EventKind::Bom {
            self.count += 1;
        }
        self.sink.event(self.text, Event { kind, start, end });
    }

    /// Character data, merged with a preceding text event.
    fn push_text(&mut self, start: usize, end: usize) {
        if let Some(p) = self.pending.as_mut()
            && p.end == start
        {
            p.end = end;
            return;
        }
        self.flush();
        self.pending = Some(Event { kind: EventKind::Text, start, end });
    }

    fn run(mut self) -> DecodeResult<()> {
        let mut base = 0;
        if self.text.starts_with('\u{FEFF}') {
            self.push(EventKind::Bom, 0, 3);
            base = 3;
        }
        let body = &self.text[base..];
        // A (second) U+FEFF here is character data before the root. quick-xml would skip it as a BOM
        // without counting it in its positions, shifting every offset (found by the `xml` fuzz target).
        if body.starts_with('\u{FEFF}') {
            return Err(ill("XML", "character data outside the root element", base));
        }
        let mut r = QReader::from_str(body);
        {
            let c = r.config_mut();
            c.trim_text(false);
            c.check_end_names = true;
            c.check_comments = true;
            c.expand_empty_elements = false;
            c.allow_unmatched_ends = false;
            c.allow_dangling_amp = self.mode == Mode::Lenient;
        }
        loop {
            let start = base + usize::try_from(r.buffer_position()).unwrap_or(usize::MAX);
            let ev = match r.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    let at = base + usize::try_from(r.error_position()).unwrap_or(0);
                    return Err(ill("XML", quick_reason(&e), at.min(self.text.len())));
                }
            };
            let end = base + usize::try_from(r.buffer_position()).unwrap_or(usize::MAX);
            match ev {
                QEvent::Eof => break,
                QEvent::Decl(_) => {
                    if start != base || self.count > 0 || self.pending.is_some() {
                        return Err(ill("XML declaration", "allowed only at the very start", start));
                    }
                    self.check_decl(start, end)?;
                    self.push(EventKind::Decl, start, end);
                }
                QEvent::PI(pi) => {
                    let target = pi.target();
                    if target.eq_ignore_ascii_case("xml") {
                        return Err(ill("processing instruction", "target `xml` is reserved", start));
                    }
                    self.push(EventKind::Pi, start, end);
                }
                QEvent::DocType(_) => {
                    if self.phase != Phase::Prolog || self.doctype {
                        return Err(ill("DOCTYPE", "allowed once, before the root element", start));
                    }
                    self.doctype = true;
                    self.push(EventKind::Doctype, start, end);
                }
                QEvent::Comment(_) => self.push(EventKind::Comment, start, end),
                QEvent::Start(e) => {
                    self.start_tag(&e, start, end)?;
                    self.depth += 1;
                    if self.depth > MAX_DEPTH {
                        return Err(DecodeError::new(DecodeErrorKind::TooDeep { max: MAX_DEPTH }, start));
                    }
                    self.phase = Phase::InRoot;
                    self.push(EventKind::Start { name_len: e.name().as_ref().len() }, start, end);
                }
                QEvent::Empty(e) => {
                    self.start_tag(&e, start, end)?;
                    self.ns.pop();
                    self.push(EventKind::Empty { name_len: e.name().as_ref().len() }, start, end);
                    if self.depth == 0 {
                        self.phase = Phase::Epilog;
                    }
                }
                QEvent::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    self.ns.pop();
                    self.push(EventKind::End, start, end);
                    if self.depth == 0 {
                        self.phase = Phase::Epilog;
                    }
                }
                QEvent::Text(_) => {
                    self.check_text(start, end)?;
                    self.push_text(start, end);
                }
                QEvent::GeneralRef(g) => {
                    let body: &str = &g;
                    if self.phase != Phase::InRoot {
                        return Err(ill("reference", "outside the root element", start));
                    }
                    if resolve_ref(body).is_none() && (self.mode == Mode::Strict || body.starts_with('#')) {
                        return Err(ill(
                            "reference",
                            if body.starts_with('#') {
                                "character reference to a character outside XML `Char`"
                            } else {
                                "undeclared entity (only amp, lt, gt, quot, apos are defined)"
                            },
                            start,
                        ));
                    }
                    self.push_text(start, end);
                }
                QEvent::CData(_) => {
                    if self.phase != Phase::InRoot {
                        return Err(ill("CDATA section", "outside the root element", start));
                    }
                    self.push(EventKind::CData, start, end);
                }
            }
        }
        if self.depth != 0 {
            return Err(ill("XML", "element not closed at end of input", self.text.len()));
        }
        if self.phase != Phase::Epilog {
            return Err(ill("XML", "no root element", self.text.len()));
        }
        self.flush();
        Ok(())
    }

    fn check_decl(&self, start: usize, end: usize) -> DecodeResult<()> {
        let raw = &self.text[start..end];
        let body = raw.get(5..raw.len().saturating_sub(2)).unwrap_or("");
        let mut version = false;
        for a in (AttrIter { rest: body }) {
            match a.name {
                "version" => version = true,
                "encoding" => {
                    let enc = a.raw_value.to_ascii_lowercase();
                    if self.mode == Mode::Strict
                        && !matches!(enc.as_str(), "utf-8" | "utf8" | "us-ascii" | "ascii")
                    {
                        return Err(ill("XML declaration", "only UTF-8 documents are supported", start));
                    }
                }
                _ => {}
            }
        }
        if !version {
            return Err(ill("XML declaration", "no version", start));
        }
        Ok(())
    }

    fn check_text(&self, start: usize, end: usize) -> DecodeResult<()> {
        let raw = &self.text[start..end];
        if self.phase != Phase::InRoot {
            if let Some(i) = raw.find(|c: char| !matches!(c, ' ' | '\t' | '\r' | '\n')) {
                return Err(ill("XML", "character data outside the root element", start + i));
            }
            return Ok(());
        }
        if self.mode == Mode::Strict {
            // One pass over the bytes: C0 controls, `]]>`, `&` (references were split off by quick-xml), and
            // U+FFFE / U+FFFF (EF BF BE / EF BF BF; surrogates cannot occur in a `str`).
            let b = raw.as_bytes();
            for (i, &c) in b.iter().enumerate() {
                match c {
                    b'\t' | b'\n' | b'\r' => {}
                    0..=0x1F => return Err(ill("character data", "character outside XML `Char`", start + i)),
                    b']' if b.get(i + 1..i + 3) == Some(b"]>") => {
                        return Err(ill("character data", "`]]>` is not allowed in text", start + i));
                    }
                    b'&' => {
                        return Err(ill(
                            "reference",
                            "`&` not followed by a reference ending in `;`",
                            start + i,
                        ));
                    }
                    0xEF if matches!(b.get(i + 1..i + 3), Some([0xBF, 0xBE | 0xBF])) => {
                        return Err(ill("character data", "character outside XML `Char`", start + i));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn start_tag(&mut self, e: &BytesStart<'_>, start: usize, end: usize) -> DecodeResult<()> {
        if self.phase == Phase::Epilog {
            return Err(ill("XML", "more than one root element", start));
        }
        let raw = &self.text[start..end];
        let qname: &str = e.name().into_inner();
        if !is_name(qname) {
            return Err(ill("element name", "not an XML Name", start + 1));
        }
        let mut decls: Vec<&'a str> = Vec::new();
        let mut used: Vec<&str> = Vec::new();
        for a in e.attributes() {
            let a = a.map_err(|err| {
                let pos = match &err {
                    quick_xml::events::attributes::AttrError::ExpectedEq(p)
                    | quick_xml::events::attributes::AttrError::ExpectedValue(p)
                    | quick_xml::events::attributes::AttrError::UnquotedValue(p)
                    | quick_xml::events::attributes::AttrError::ExpectedQuote(p, _)
                    | quick_xml::events::attributes::AttrError::Duplicated(p, _) => *p,
                };
                let reason = match err {
                    quick_xml::events::attributes::AttrError::Duplicated(..) => "duplicate attribute",
                    quick_xml::events::attributes::AttrError::UnquotedValue(_) => "unquoted attribute value",
                    _ => "malformed attribute",
                };
                ill("attribute", reason, start + 1 + pos)
            })?;
            let key: &str = a.key.into_inner();
            // `key` borrows from the tag text: its offset is the pointer difference.
            let key_at = start + (key.as_ptr() as usize).saturating_sub(raw.as_ptr() as usize).min(raw.len());
            if !is_name(key) {
                return Err(ill("attribute name", "not an XML Name", key_at));
            }
            let v: &str = &a.value;
            if let Some(i) = v.find('<') {
                let _ = i;
                return Err(ill("attribute value", "`<` is not allowed in attribute values", key_at));
            }
            self.check_attr_refs(v, key_at)?;
            if key == "xmlns" {
                decls.push("");
            } else if let Some(p) = key.strip_prefix("xmlns:") {
                if v.is_empty() {
                    return Err(ill(
                        "namespace declaration",
                        "a prefix cannot be bound to the empty URI",
                        key_at,
                    ));
                }
                decls.push(self.text_slice(p));
            } else if let (Some(p), _) = split_qname(key) {
                used.push(p);
            }
        }
        self.ns.push(decls);
        if let (Some(p), _) = split_qname(qname) {
            used.push(p);
        }
        for p in used {
            if p != "xml" && p != "xmlns" && !self.ns.iter().rev().any(|d| d.contains(&p)) {
                return Err(ill("namespace prefix", "prefix is not declared", start + 1));
            }
        }
        Ok(())
    }

    /// A subslice of the source equal to `s` (prefixes are borrowed from the text for the scope stack).
    fn text_slice(&self, s: &str) -> &'a str {
        let base = self.text.as_ptr() as usize;
        let p = s.as_ptr() as usize;
        if p >= base && p + s.len() <= base + self.text.len() {
            &self.text[p - base..p - base + s.len()]
        } else {
            ""
        }
    }

    fn check_attr_refs(&self, v: &str, at: usize) -> DecodeResult<()> {
        let mut rest = v;
        while let Some(i) = rest.find('&') {
            rest = &rest[i + 1..];
            let ok = rest.find(';').filter(|&j| j <= 12).is_some_and(|j| resolve_ref(&rest[..j]).is_some());
            if !ok && self.mode == Mode::Strict {
                return Err(ill("attribute value", "`&` not followed by a known reference", at));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(s: &str, mode: Mode) -> Document {
        let d = Document::parse(s, mode).unwrap_or_else(|e| panic!("{e} in {s:?}"));
        assert_eq!(d.encode(), s.as_bytes());
        let mut at = 0;
        for e in d.events() {
            assert_eq!(e.start, at, "events tile the text");
            at = e.end;
        }
        assert_eq!(at, s.len());
        d
    }

    #[test]
    fn lossless_forms() {
        let s = "\u{FEFF}<?xml version='1.0' encoding=\"UTF-8\"?>\n<!DOCTYPE SyncML PUBLIC \"-//SYNCML//DTD SyncML 1.2//EN\" \
                 'http://x/y.dtd' [<!ENTITY a \"b\">]>\n<!-- c --><?pi x?>\n<SyncML xmlns='SYNCML:SYNCML1.2'>\r\n \
                 <Final/><Final /><Final></Final><Data>a &amp; &#65;&#x42;<![CDATA[<x>]]></Data></SyncML>\n<!-- t -->\n";
        let d = round_trip(s, Mode::Strict);
        let dt = d.doctype().unwrap();
        assert_eq!(dt.name, "SyncML");
        assert_eq!(dt.public_id, Some("-//SYNCML//DTD SyncML 1.2//EN"));
        assert_eq!(dt.system_id, Some("http://x/y.dtd"));
        assert_eq!(dt.internal_subset, Some("<!ENTITY a \"b\">"));
        assert_eq!(d.declaration().unwrap().encoding, Some("UTF-8"));
        let kinds: Vec<_> = d.events().iter().map(|e| e.kind).collect();
        assert_eq!(kinds.iter().filter(|k| matches!(k, EventKind::Empty { .. })).count(), 2);
        let data = d.events().iter().position(|e| d.name(e) == "Data").unwrap();
        assert_eq!(d.text(&d.events()[data + 1]), "a & AB");
        assert_eq!(d.text(&d.events()[data + 2]), "<x>");
        let root = d.events().iter().find(|e| d.name(e) == "SyncML").unwrap();
        let a: Vec<_> = d.attributes(root).collect();
        assert_eq!(a, vec![Attribute { name: "xmlns", raw_value: "SYNCML:SYNCML1.2", quote: '\'' }]);
    }

    #[test]
    fn raw_ampersand_strict_and_lenient() {
        let s = "<SyncML><Data>MAXDT=15&DR=1</Data></SyncML>";
        let e = Document::parse(s, Mode::Strict).unwrap_err();
        assert_eq!(e.offset, 22, "{e}");
        let d = round_trip(s, Mode::Lenient);
        let t = d.events().iter().find(|e| e.kind == EventKind::Text).unwrap();
        assert_eq!(d.text(t), "MAXDT=15&DR=1");
    }

    #[test]
    fn a_second_bom_is_text_before_the_root() {
        for mode in [Mode::Strict, Mode::Lenient] {
            let e = Document::parse("\u{FEFF}\u{FEFF}<>", mode).unwrap_err();
            assert_eq!(e.offset, 3);
            let e = Document::parse("\u{FEFF}\u{FEFF}<a/>", mode).unwrap_err();
            assert_eq!(e.offset, 3);
        }
    }

    #[test]
    fn entity_bomb_is_not_expanded() {
        let s = "<!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\
                 <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]><x>&c;&c;&c;</x>";
        let e = Document::parse(s, Mode::Strict).unwrap_err();
        assert!(matches!(e.kind, DecodeErrorKind::Invalid { what: "reference", .. }), "{e}");
        assert_eq!(e.offset, s.find("&c;").unwrap());
        let d = round_trip(s, Mode::Lenient);
        let t = d.events().iter().find(|e| e.kind == EventKind::Text).unwrap();
        assert_eq!(d.text(t), "&c;&c;&c;");
    }

    #[test]
    fn malformed_documents_have_offsets() {
        for (s, at) in [
            ("<a><b></a>", 6),
            ("<a>", 3),
            ("<a/><b/>", 4),
            ("x<a/>", 0),
            ("<a>]]></a>", 3),
            ("<a>&#0;</a>", 3),
            ("<a b='1' b='2'/>", 9),
            ("<a b=1/>", 5),
            ("<p:a/>", 1),
            ("<a>\u{1}</a>", 3),
            ("<a/><?xml version='1.0'?>", 4),
            ("<?xml version='1.0' encoding='ISO-8859-1'?><a/>", 0),
            ("<a b='<'/>", 3),
            ("<a><!-- x -- y --></a>", 10),
            ("", 0),
        ] {
            let e = Document::parse(s, Mode::Strict).expect_err(s);
            assert_eq!(e.offset, at, "{s:?}: {e}");
        }
    }

    #[test]
    fn deep_nesting_is_capped() {
        let s = "<a>".repeat(MAX_DEPTH + 1);
        let e = Document::parse(&s, Mode::Strict).unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::TooDeep { max: MAX_DEPTH });
        assert_eq!(e.offset, 3 * MAX_DEPTH);
    }

    #[test]
    fn namespaces_resolve() {
        let s = "<a xmlns='u1' xmlns:p='u2'><p:b/><c xmlns=''/></a>";
        let d = round_trip(s, Mode::Strict);
        let mut ns = Namespaces::new();
        let ev = d.events();
        ns.push(&d, &ev[0]);
        assert_eq!(ns.resolve(None), Some("u1"));
        assert_eq!(ns.resolve(Some("p")), Some("u2"));
        ns.push(&d, &ev[2]);
        assert_eq!(ns.resolve(None), None);
        ns.pop();
        assert_eq!(ns.resolve(None), Some("u1"));
    }

    #[test]
    fn unescape_and_escape() {
        assert_eq!(unescape("a\r\nb\rc&#13;&lt;", false), "a\nb\nc\r<");
        assert_eq!(unescape("a\tb\nc", true), "a b c");
        assert_eq!(unescape("x & y &bogus; &amp", false), "x & y &bogus; &amp");
        let mut s = String::new();
        escape_into(&mut s, "a<b>&\"'", true);
        assert_eq!(s, "a&lt;b&gt;&amp;&quot;&apos;");
    }

    #[test]
    fn json_round_trip() {
        let d = Document::parse("<a x=\"1\">t</a>", Mode::Lenient).unwrap();
        let j = serde_json::to_string(&d).unwrap();
        let back: Document = serde_json::from_str(&j).unwrap();
        assert_eq!(back, d);
        assert_eq!(serde_json::to_string(&back).unwrap(), j);
        assert!(serde_json::from_str::<Document>("{\"text\":\"<a>\"}").is_err());
    }

    proptest! {
        #[test]
        fn random_text_never_panics_and_round_trips(s in "[<>/a-c &;#x0-9'\"=!?\\[\\]\r\n-]{0,40}") {
            for mode in [Mode::Strict, Mode::Lenient] {
                if let Ok(d) = Document::parse(&s, mode) {
                    prop_assert_eq!(d.encode(), s.as_bytes().to_vec());
                }
            }
        }

        #[test]
        fn escaped_text_reads_back(t in "\\PC{0,30}") {
            let t: String = t.chars().filter(|&c| is_xml_char(c) && c != '\r').collect();
            let mut s = String::from("<a>");
            escape_into(&mut s, &t, false);
            s.push_str("</a>");
            let d = Document::parse(&s, Mode::Strict).unwrap();
            let text: String = d.events().iter().map(|e| d.text(e).into_owned()).collect();
            prop_assert_eq!(text, t);
        }
    }
}

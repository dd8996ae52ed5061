//! Emulation of libwbxml 0.11.8 (Debian `libwbxml2-utils`), byte for byte.
//!
//! libwbxml converts through its own tree (`WBXMLTree`), built by callbacks: from expat's character-data
//! chunks for XML and from each content token for WBXML. Its output depends on that tree's quirks, so this
//! module keeps an equivalent internal tree ([`LDoc`]) and rebuilds it with the same rules instead of
//! deriving the output from the semantic tree. Behaviour reproduced (each one checked against the tools):
//!
//! - text nodes merge when added next to each other; leading/trailing `isspace` blanks are stripped and
//!   whitespace-only text is dropped on output (unless `-k`); an element has the content bit as soon as it
//!   has any child node, even one that is dropped (`<Final> </Final>` → `52 01`);
//! - the SyncML "data type" of `Data` (libwbxml `wbxml_tree_node_get_syncml_data_type`): a `Meta/Type` among
//!   its siblings or its parent's siblings decides (`…+wbxml` nested document, `…+xml` plain,
//!   `text/clear` and vCard/vCalendar types CDATA), else `Data` under `Add`/`Replace` is a "vObject":
//!   character data goes into a CDATA node (→ `OPAQUE`), each LF chunk becoming CRLF — not what the DM spec
//!   asks, but what libwbxml does; read back, every content token of such `Data` opens one more nested
//!   `<![CDATA[`;
//! - text equal (ASCII case-insensitively) to `application/vnd.syncml-devinf+xml` or
//!   `application/vnd.syncml.dmtnds+xml` is written as `…+wbxml` anywhere in a SyncML document, and a `Type`'s
//!   `…+wbxml` is shown as `…+xml`;
//! - `MgmtTree`/`DevInf` below the root become nested documents in `OPAQUE` (DDF with its FPI in the string
//!   table, `02 00 00 6A 1B …`), surrounded by the whitespace opaque of the vObject rule when they sit in
//!   `Add`/`Replace` `Data` without an exact `Type`;
//! - `SWITCH_PAGE` before the first tag of another page; `xmlns` in XML where the page changes;
//! - text is cut at its first NUL (C strings), `ENTITY` codes above U+07FF are written with libwbxml's own
//!   (wrong) UTF-8 encoder, `OPAQUE` of `NextNonce` is shown as base64;
//! - the string table (`xml2wbxml` without `-n`): strings of more than 3 bytes seen twice, then words of the
//!   strings seen once, then literal names and the FPI, replaced by `STR_T` wherever they occur.
//!
//! The one liberty taken: libwbxml cannot read the non-well-formed AOSP scripts (raw `&`) at all; documents
//! parsed leniently are converted as if the `&` had been escaped.

use base64::Engine as _;

use super::from_xml::{detect_language, embedded_language};
use super::to_wbxml::TableBuilder;
use super::{
    ConvertError, Document, Flavor, Language, MAX_NESTED_DOCUMENTS, Node, Profile, PublicIdForm, XmlStyle,
};
use crate::wbxml::{self, Header, MbUint32, OpaqueData, PublicId, Token, TokenRef, TokenSink, global};
use crate::xml::{self as x, EventKind, Namespaces, split_qname};

const NONE: u32 = u32::MAX;

/// A tag of libwbxml's tree.
#[derive(Debug, Clone)]
enum Tag {
    /// A token from the code pages.
    Token { page: u8, token: u8, name: &'static str },
    /// A literal name (unknown to the tables).
    Literal(Box<str>),
}

impl Tag {
    fn name(&self) -> &str {
        match self {
            Self::Token { name, .. } => name,
            Self::Literal(n) => n,
        }
    }

    fn token(&self) -> Option<(u8, u8)> {
        match self {
            Self::Token { page, token, .. } => Some((*page, *token)),
            Self::Literal(_) => None,
        }
    }
}

#[derive(Debug, Clone)]
enum Kind {
    Element(Tag),
    /// Text: `start..start+len` in [`LDoc::bytes`].
    Text {
        start: u32,
        len: u32,
    },
    Cdata,
    Tree(Box<LDoc>),
}

#[derive(Debug, Clone)]
struct LNode {
    kind: Kind,
    parent: u32,
    first: u32,
    last: u32,
    next: u32,
}

/// libwbxml's `WBXMLTree`: nodes in an arena, text bytes in one buffer.
#[derive(Debug, Clone)]
struct LDoc {
    lang: Language,
    nodes: Vec<LNode>,
    bytes: Vec<u8>,
    root: u32,
}

fn err(what: &'static str) -> ConvertError {
    ConvertError::Libwbxml(what)
}

fn idx(i: u32) -> usize {
    i as usize
}

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

fn only_space(s: &[u8]) -> bool {
    s.iter().all(|&b| is_c_space(b))
}

fn strip(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_c_space(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_c_space(b)).map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or(&[])
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataType {
    Normal,
    Wbxml,
    Clear,
    /// vCard, vCalendar, `text/directory;profile=vCard`, and the Add/Replace "vObject" guess.
    VObject,
}

impl LDoc {
    fn new(lang: Language) -> Self {
        Self { lang, nodes: Vec::with_capacity(64), bytes: Vec::with_capacity(256), root: NONE }
    }

    fn node(&self, i: u32) -> Option<&LNode> {
        self.nodes.get(idx(i))
    }

    fn parent(&self, i: u32) -> u32 {
        self.node(i).map_or(NONE, |n| n.parent)
    }

    fn is_cdata(&self, i: u32) -> bool {
        self.node(i).is_some_and(|n| matches!(n.kind, Kind::Cdata))
    }

    fn text(&self, i: u32) -> Option<&[u8]> {
        match self.node(i)?.kind {
            Kind::Text { start, len } => self.bytes.get(idx(start)..idx(start) + idx(len)),
            _ => None,
        }
    }

    fn name(&self, i: u32) -> Option<&str> {
        match &self.node(i)?.kind {
            Kind::Element(t) => Some(t.name()),
            _ => None,
        }
    }

    fn children(&self, i: u32) -> Children<'_> {
        Children { doc: self, cur: self.node(i).map_or(NONE, |n| n.first) }
    }

    /// `wbxml_tree_add_node`: appends under `parent` (or sets the root); a text next to a text merges.
    fn add(&mut self, parent: u32, kind: Kind) -> Result<u32, ConvertError> {
        if parent == NONE {
            if self.root != NONE {
                return Err(err("a second root element"));
            }
        } else if let Kind::Text { start, len } = kind {
            let last = self.node(parent).map_or(NONE, |n| n.last);
            if let Some(LNode { kind: Kind::Text { start: ls, len: ll }, .. }) = self.nodes.get_mut(idx(last))
            {
                if *ls + *ll == start {
                    *ll += len;
                } else {
                    // Not adjacent in the buffer: copy the previous text to the end, then the new one follows.
                    let (s0, l0) = (idx(*ls), idx(*ll));
                    let new = self
                        .bytes
                        .get(idx(start)..idx(start) + idx(len))
                        .map(<[u8]>::to_vec)
                        .unwrap_or_default();
                    let old = self.bytes.get(s0..s0 + l0).map(<[u8]>::to_vec).unwrap_or_default();
                    let at = u32::try_from(self.bytes.len()).unwrap_or(NONE);
                    self.bytes.extend_from_slice(&old);
                    self.bytes.extend_from_slice(&new);
                    if let Some(LNode { kind: Kind::Text { start: ls, len: ll }, .. }) =
                        self.nodes.get_mut(idx(last))
                    {
                        *ls = at;
                        *ll = u32::try_from(old.len() + new.len()).unwrap_or(NONE);
                    }
                }
                return Ok(last);
            }
        }
        let i = u32::try_from(self.nodes.len()).map_err(|_| err("too many nodes"))?;
        self.nodes.push(LNode { kind, parent, first: NONE, last: NONE, next: NONE });
        if parent == NONE {
            self.root = i;
        } else if let Some(p) = self.nodes.get_mut(idx(parent)) {
            let last = p.last;
            p.last = i;
            if last == NONE {
                p.first = i;
            } else if let Some(l) = self.nodes.get_mut(idx(last)) {
                l.next = i;
            }
        }
        Ok(i)
    }

    fn add_text(&mut self, parent: u32, chunk: &[u8]) -> Result<u32, ConvertError> {
        let start = u32::try_from(self.bytes.len()).map_err(|_| err("text too long"))?;
        self.bytes.extend_from_slice(chunk);
        let len = u32::try_from(chunk.len()).map_err(|_| err("text too long"))?;
        self.add(parent, Kind::Text { start, len })
    }

    fn first_named(&self, first_of: u32, name: &str) -> u32 {
        self.children(first_of).find(|&c| self.name(c) == Some(name)).unwrap_or(NONE)
    }

    /// `wbxml_tree_node_get_syncml_data_type`.
    fn data_type(&self, node: u32) -> DataType {
        let mut n = node;
        if self.is_cdata(n) {
            n = self.parent(n);
        }
        if self.name(n) != Some("Data") {
            return DataType::Normal;
        }
        let parent = self.parent(n);
        let grand = self.parent(parent);
        let type_in = |container: u32| -> u32 {
            if container == NONE {
                return NONE;
            }
            let meta = self.first_named(container, "Meta");
            if meta == NONE { NONE } else { self.first_named(meta, "Type") }
        };
        let mut ty = type_in(parent);
        if ty == NONE {
            ty = type_in(grand);
        }
        if ty != NONE
            && let Some(t) = self.node(ty).and_then(|n| self.text(n.first))
        {
            match t {
                b"application/vnd.syncml-devinf+wbxml" | b"application/vnd.syncml.dmtnds+wbxml" => {
                    return DataType::Wbxml;
                }
                b"application/vnd.syncml-devinf+xml" | b"application/vnd.syncml.dmtnds+xml" => {
                    return DataType::Normal;
                }
                b"text/clear" => return DataType::Clear,
                b"text/directory;profile=vCard" | b"text/x-vcard" | b"text/x-vcalendar" => {
                    return DataType::VObject;
                }
                _ => {}
            }
        }
        if matches!(self.name(grand), Some("Add" | "Replace")) { DataType::VObject } else { DataType::Normal }
    }

    fn has_child_element(&self, i: u32) -> bool {
        self.children(i).any(|c| matches!(self.node(c).map(|n| &n.kind), Some(Kind::Element(_))))
    }
}

struct Children<'a> {
    doc: &'a LDoc,
    cur: u32,
}

impl Iterator for Children<'_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        if self.cur == NONE {
            return None;
        }
        let c = self.cur;
        self.cur = self.doc.node(c).map_or(NONE, |n| n.next);
        Some(c)
    }
}

/// The callback state of `wbxml_tree_clb_*`: the tree and its "current" node.
struct Builder {
    doc: LDoc,
    current: u32,
}

impl Builder {
    fn new(lang: Language) -> Self {
        Self { doc: LDoc::new(lang), current: NONE }
    }

    fn start_element(&mut self, tag: Tag) -> Result<(), ConvertError> {
        self.current = self.doc.add(self.current, Kind::Element(tag))?;
        Ok(())
    }

    /// `end_element` (both callbacks): leave an auto-added CDATA, then go up.
    fn end_element(&mut self) -> Result<(), ConvertError> {
        let c = self.current;
        if c == NONE {
            return Err(err("end of element without a current node"));
        }
        if self.doc.parent(c) == NONE {
            if c != self.doc.root {
                return Err(err("tree out of step at an end of element"));
            }
            return Ok(());
        }
        let c = if self.doc.is_cdata(c) { self.doc.parent(c) } else { c };
        self.current = self.doc.parent(c);
        Ok(())
    }

    /// XML side (`wbxml_tree_clb_xml_characters`).
    fn xml_chars(&mut self, chunk: &[u8]) -> Result<(), ConvertError> {
        if self.current == NONE {
            return Ok(());
        }
        let dt = self.doc.data_type(self.current);
        let chunk: &[u8] = if dt == DataType::VObject && chunk == b"\n" { b"\r\n" } else { chunk };
        if matches!(dt, DataType::VObject | DataType::Clear) {
            let c = self.current;
            let first_is_cdata = self.doc.node(c).is_some_and(|n| self.doc.is_cdata(n.first));
            if !self.doc.is_cdata(c) && !first_is_cdata {
                self.current = self.doc.add(c, Kind::Cdata)?;
            }
        }
        self.doc.add_text(self.current, chunk)?;
        Ok(())
    }

    fn start_cdata(&mut self) -> Result<(), ConvertError> {
        self.current = self.doc.add(self.current, Kind::Cdata)?;
        Ok(())
    }

    fn end_cdata(&mut self) {
        let p = self.doc.parent(self.current);
        if p != NONE {
            self.current = p;
        }
    }

    /// An embedded document (DDF, DevInf) parsed on its own, hung under the current node.
    fn embedded(&mut self, sub: LDoc) -> Result<(), ConvertError> {
        self.doc.add(self.current, Kind::Tree(Box::new(sub)))?;
        Ok(())
    }

    /// WBXML side (`wbxml_tree_clb_wbxml_characters`); `nested` parses the chunk as a WBXML document.
    fn wbxml_chars(
        &mut self,
        chunk: &[u8],
        nested: impl FnOnce() -> Option<LDoc>,
    ) -> Result<(), ConvertError> {
        if self.current == NONE {
            return Err(err("character data outside the root element"));
        }
        match self.doc.data_type(self.current) {
            DataType::Wbxml => {
                if let Some(sub) = nested() {
                    return self.embedded(sub);
                }
            }
            DataType::Clear | DataType::VObject => {
                self.current = self.doc.add(self.current, Kind::Cdata)?;
            }
            DataType::Normal => {}
        }
        self.doc.add_text(self.current, chunk)?;
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------------
// XML → libwbxml tree (expat callbacks)

/// The tag of an element named `local` in namespace `uri`.
fn xml_tag(lang: Language, uri: Option<&str>, local: &str) -> Tag {
    let (_, tok) = super::from_xml::resolve(lang, uri, local);
    match tok.and_then(|(p, t)| lang.tag_name(p, t).map(|n| (p, t, n))) {
        Some((page, token, name)) => Tag::Token { page, token, name },
        None => Tag::Literal(match uri {
            Some(u) => format!("{u}:{local}").into_boxed_str(),
            None => local.into(),
        }),
    }
}

/// Reports character data the way expat does: every line end is a chunk of its own ("\n", after CRLF/CR
/// normalisation), every reference is a chunk, runs of other characters are chunks.
fn chunks(
    raw: &str,
    refs: bool,
    mut f: impl FnMut(&[u8]) -> Result<(), ConvertError>,
) -> Result<(), ConvertError> {
    let b = raw.as_bytes();
    let mut i = 0;
    let mut run = 0;
    while i < b.len() {
        match b[i] {
            b'\r' | b'\n' => {
                if run < i {
                    f(&b[run..i])?;
                }
                f(b"\n")?;
                i += if b[i] == b'\r' && b.get(i + 1) == Some(&b'\n') { 2 } else { 1 };
                run = i;
            }
            b'&' if refs => {
                let body_end = raw[i + 1..].find(';').filter(|&j| j <= 12).map(|j| i + 1 + j);
                let decoded = body_end.and_then(|e| {
                    let t = &raw[i..=e];
                    let d = x::unescape(t, false);
                    (d.as_ref() != t).then(|| (e, d.into_owned()))
                });
                match decoded {
                    Some((e, d)) => {
                        if run < i {
                            f(&b[run..i])?;
                        }
                        f(d.as_bytes())?;
                        i = e + 1;
                        run = i;
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    if run < b.len() {
        f(&b[run..])?;
    }
    Ok(())
}

/// Reports decoded character data (line ends already normalised, a CR here came from `&#13;`) as expat
/// would: each LF a chunk of its own.
fn lines(s: &[u8], mut f: impl FnMut(&[u8]) -> Result<(), ConvertError>) -> Result<(), ConvertError> {
    for (n, line) in s.split(|&c| c == b'\n').enumerate() {
        if n > 0 {
            f(b"\n")?;
        }
        if !line.is_empty() {
            f(line)?;
        }
    }
    Ok(())
}

/// Builds libwbxml's tree from `events` (a whole document, or the subtree of an embedded one).
fn from_xml_events(
    doc: &x::Document,
    events: &[x::Event],
    lang: Language,
    depth: usize,
) -> Result<LDoc, ConvertError> {
    if depth >= MAX_NESTED_DOCUMENTS {
        return Err(ConvertError::TooDeep(MAX_NESTED_DOCUMENTS));
    }
    let mut b = Builder::new(lang);
    let mut ns = Namespaces::new();
    let mut i = 0;
    // Element depth: expat reports no character data outside the root.
    let mut level = 0usize;
    while let Some(ev) = events.get(i) {
        i += 1;
        match ev.kind {
            EventKind::Start { .. } | EventKind::Empty { .. } => {
                ns.push(doc, ev);
                let (prefix, local) = split_qname(doc.name(ev));
                let uri = ns.resolve(prefix);
                let empty = matches!(ev.kind, EventKind::Empty { .. });
                if b.current != NONE
                    && let Some(sub_lang) = embedded_language(lang, uri, local)
                {
                    if sub_lang == Language::DmDdf12 && lang != Language::SyncMl12 {
                        return Err(err("a DM DDF document embedded in anything but SyncML 1.2"));
                    }
                    // The subtree up to its end tag, parsed as a document of its own.
                    let mut end = i;
                    if !empty {
                        let mut level = 1usize;
                        while let Some(e) = events.get(end) {
                            end += 1;
                            match e.kind {
                                EventKind::Start { .. } => level += 1,
                                EventKind::End => {
                                    level -= 1;
                                    if level == 0 {
                                        break;
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                    let sub =
                        from_xml_events(doc, events.get(i - 1..end).unwrap_or(&[]), sub_lang, depth + 1)?;
                    b.embedded(sub)?;
                    ns.pop();
                    i = end;
                    continue;
                }
                b.start_element(xml_tag(lang, uri, local))?;
                if empty {
                    ns.pop();
                    b.end_element()?;
                } else {
                    level += 1;
                }
            }
            EventKind::End => {
                ns.pop();
                level = level.saturating_sub(1);
                b.end_element()?;
            }
            EventKind::Text if level > 0 => chunks(doc.raw(ev), true, |c| b.xml_chars(c))?,
            EventKind::CData => {
                if level == 0 {
                    continue;
                }
                b.start_cdata()?;
                let raw = doc.raw(ev);
                chunks(raw.get(9..raw.len().saturating_sub(3)).unwrap_or(""), false, |c| b.xml_chars(c))?;
                b.end_cdata();
            }
            _ => {}
        }
    }
    if b.doc.root == NONE {
        return Err(err("no root element"));
    }
    Ok(b.doc)
}

/// Builds libwbxml's tree from the element tree, reporting it as expat would have.
fn from_tree(d: &Document, depth: usize) -> Result<LDoc, ConvertError> {
    if depth >= MAX_NESTED_DOCUMENTS {
        return Err(ConvertError::TooDeep(MAX_NESTED_DOCUMENTS));
    }
    let mut b = Builder::new(d.language);
    tree_element(&mut b, d.language, &d.root, depth)?;
    Ok(b.doc)
}

fn tree_element(
    b: &mut Builder,
    lang: Language,
    el: &super::Element,
    depth: usize,
) -> Result<(), ConvertError> {
    let tag = match lang.page_of(el.ns).and_then(|p| lang.tag_token_on(p, &el.name).map(|t| (p, t))) {
        Some((page, token)) => match lang.tag_name(page, token) {
            Some(name) => Tag::Token { page, token, name },
            None => Tag::Literal(el.name.as_ref().into()),
        },
        None => Tag::Literal(el.name.as_ref().into()),
    };
    b.start_element(tag)?;
    for c in &el.children {
        match c {
            Node::Element(e) => tree_element(b, lang, e, depth)?,
            Node::Text(t) => lines(t.as_bytes(), |c| b.xml_chars(c))?,
            Node::Opaque(bytes) => lines(bytes, |c| b.xml_chars(c))?,
            Node::CData(t) => {
                b.start_cdata()?;
                lines(t.as_bytes(), |c| b.xml_chars(c))?;
                b.end_cdata();
            }
            Node::Document(sub) => b.embedded(from_tree(sub, depth + 1)?)?,
        }
    }
    b.end_element()
}

// ------------------------------------------------------------------------------------------------
// libwbxml tree → WBXML (wbxml_encoder.c, WBXML output)

struct WbxmlEnc<'o> {
    lang: Language,
    profile: &'o Profile,
    page: u8,
    in_cdata: bool,
    cdata: Option<Vec<u8>>,
    table: Option<StrTable>,
    /// The body, written as it goes.
    body: Vec<u8>,
    depth: usize,
}

fn write_mb(out: &mut Vec<u8>, v: usize) -> Result<(), ConvertError> {
    let v = u32::try_from(v).map_err(|_| err("length above 32 bits"))?;
    MbUint32::new(v).write(out);
    Ok(())
}

/// One string-table entry: the bytes it was added with (they fix its offset and the table layout), the bytes
/// libwbxml currently sees for it, and the text node it aliases.
#[derive(Debug)]
struct Entry {
    offset: u32,
    current: Vec<u8>,
    alias: u32,
}

/// libwbxml's string table: entries in insertion order with their offsets.
///
/// libwbxml bug reproduced for the body only: an entry added for a repeated text is not a copy but that
/// text's own buffer, which the encoder strips of blanks in place when it reaches the text; later searches
/// see the stripped string and libwbxml finally writes the stripped bytes under the unstripped table length,
/// a corrupt document. Here searches see what libwbxml sees (so the `STR_T`/`STR_I` choices are identical),
/// while the table is written as declared, keeping the document valid (see the corpus test).
#[derive(Debug, Default)]
struct StrTable {
    b: TableBuilder,
    list: Vec<Entry>,
}

impl StrTable {
    fn add_aliased(&mut self, s: &[u8], alias: u32) -> u32 {
        if let Some(e) = self.list.iter().find(|e| e.current == s) {
            return e.offset;
        }
        let offset = self.b.add(s);
        self.list.push(Entry { offset, current: s.to_vec(), alias });
        offset
    }

    fn add(&mut self, s: &[u8]) -> u32 {
        self.add_aliased(s, NONE)
    }

    /// `wbxml_strtbl_check_references`: adds strings seen more than once (and longer than 3 bytes) in
    /// first-seen order, returns the others.
    fn check_references<'s>(&mut self, strings: &[(&'s [u8], u32)]) -> Vec<&'s [u8]> {
        // First-seen order as libwbxml's list, counted through a map (libwbxml's own search is quadratic).
        let mut counted: Vec<(&[u8], u32, usize)> = Vec::new();
        let mut seen: std::collections::HashMap<&[u8], usize> = std::collections::HashMap::new();
        for &(s, node) in strings {
            match seen.get(s) {
                Some(&i) => {
                    if let Some(c) = counted.get_mut(i) {
                        c.2 += 1;
                    }
                }
                None => {
                    seen.insert(s, counted.len());
                    counted.push((s, node, 1));
                }
            }
        }
        let mut once = Vec::new();
        for (s, node, n) in counted {
            if n > 1 && s.len() > 3 {
                self.add_aliased(s, node);
            } else {
                once.push(s);
            }
        }
        once
    }
}

/// Most entries the libwbxml string-table emulation builds (real messages have a handful).
const MAX_STRING_TABLE_ENTRIES: usize = 1024;

fn collect_strings<'d>(doc: &'d LDoc, i: u32, out: &mut Vec<(&'d [u8], u32)>) {
    if let Some(t) = doc.text(i)
        && !only_space(t)
        && t.len() > 3
    {
        out.push((t, i));
    }
    for c in doc.children(i) {
        collect_strings(doc, c, out);
    }
}

impl WbxmlEnc<'_> {
    fn node(&mut self, doc: &LDoc, i: u32) -> Result<(), ConvertError> {
        let Some(n) = doc.node(i) else { return Ok(()) };
        match &n.kind {
            Kind::Element(tag) => {
                let content = n.first != NONE;
                let bit = if content { global::HAS_CONTENT } else { 0 };
                match tag {
                    Tag::Token { page, token, .. } => {
                        if *page != self.page {
                            self.body.extend_from_slice(&[global::SWITCH_PAGE, *page]);
                            self.page = *page;
                        }
                        self.body.push(token | bit);
                    }
                    Tag::Literal(name) => {
                        let t =
                            self.table.as_mut().ok_or(err("a literal tag needs the string table (-n)"))?;
                        let index = t.add(name.as_bytes());
                        self.body.push(global::LITERAL | bit);
                        MbUint32::new(index).write(&mut self.body);
                    }
                }
                for c in doc.children(i) {
                    self.node(doc, c)?;
                }
                if content {
                    self.body.push(global::END);
                }
            }
            Kind::Text { .. } => self.text(i, doc.text(i).unwrap_or_default())?,
            Kind::Cdata => {
                self.in_cdata = true;
                if self.cdata.is_some() {
                    return Err(err("a CDATA section inside a CDATA section"));
                }
                self.cdata = Some(Vec::new());
                for c in doc.children(i) {
                    self.node(doc, c)?;
                }
                self.in_cdata = false;
                if let Some(buf) = self.cdata.take()
                    && !buf.is_empty()
                {
                    self.body.push(global::OPAQUE);
                    write_mb(&mut self.body, buf.len())?;
                    self.body.extend_from_slice(&buf);
                }
            }
            Kind::Tree(sub) => {
                let nested = encode(sub, self.profile, self.depth + 1)?;
                self.body.push(global::OPAQUE);
                write_mb(&mut self.body, nested.len())?;
                self.body.extend_from_slice(&nested);
            }
        }
        Ok(())
    }

    fn text(&mut self, node: u32, content: &[u8]) -> Result<(), ConvertError> {
        let keep = self.profile.keep_whitespace;
        if self.in_cdata {
            let s: &[u8] = if self.lang.is_syncml() && content == b"\n" { b"\r\n" } else { content };
            if let Some(buf) = self.cdata.as_mut() {
                buf.extend_from_slice(s);
            }
            return Ok(());
        }
        if !keep && only_space(content) {
            return Ok(());
        }
        let s = if keep { content } else { strip(content) };
        if let Some(t) = self.table.as_mut()
            && let Some(e) = t.list.iter_mut().find(|e| e.alias == node)
        {
            e.current = s.to_vec();
        }
        // The value is handled as a C string from here on.
        let s = s.split(|&b| b == 0).next().unwrap_or_default();
        if s.is_empty() {
            return Ok(());
        }
        let s: &[u8] =
            if self.lang.is_syncml() && s.eq_ignore_ascii_case(b"application/vnd.syncml-devinf+xml") {
                b"application/vnd.syncml-devinf+wbxml"
            } else if self.lang.is_syncml() && s.eq_ignore_ascii_case(b"application/vnd.syncml.dmtnds+xml") {
                b"application/vnd.syncml.dmtnds+wbxml"
            } else {
                s
            };
        let Some(table) = self.table.as_ref() else {
            self.body.push(global::STR_I);
            self.body.extend_from_slice(s);
            self.body.push(0);
            return Ok(());
        };
        // Replace every table entry (in table order) by a reference, as wbxml_encode_value_element_buffer.
        enum Piece<'a> {
            Str(&'a [u8]),
            Ref(u32),
        }
        let mut pieces = vec![Piece::Str(s)];
        for Entry { current: entry, offset: off, .. } in &table.list {
            let mut j = 0;
            while j < pieces.len() {
                if let Piece::Str(p) = pieces[j]
                    && let Some(at) = find(p, entry)
                {
                    let after = &p[at + entry.len()..];
                    pieces[j] = Piece::Str(&p[..at]);
                    pieces.insert(j + 1, Piece::Ref(*off));
                    if !after.is_empty() {
                        pieces.insert(j + 2, Piece::Str(after));
                    }
                }
                j += 1;
            }
        }
        for p in pieces {
            match p {
                Piece::Str(b) if !b.is_empty() => {
                    self.body.push(global::STR_I);
                    self.body.extend_from_slice(b);
                    self.body.push(0);
                }
                Piece::Str(_) => {}
                Piece::Ref(o) => {
                    self.body.push(global::STR_T);
                    MbUint32::new(o).write(&mut self.body);
                }
            }
        }
        Ok(())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The public identifier and string table of a libwbxml-encoded document (`wbxml_fill_header`): numeric when
/// the language has one and the profile asks for it; else the FPI goes at the end of the string table
/// (NUL-terminated as libwbxml writes it, or without NUL for [`PublicIdForm::StringTableUnterminated`]).
pub(super) fn header(lang: Language, form: PublicIdForm, table: Option<TableBuilder>) -> (PublicId, Vec<u8>) {
    let mut t = table.unwrap_or_default();
    match (form, lang.public_id()) {
        (PublicIdForm::Numeric, Some(id)) => (PublicId::Numeric(MbUint32::new(id)), t.bytes),
        (PublicIdForm::StringTableUnterminated, _) => {
            let index = MbUint32::new(u32::try_from(t.bytes.len()).unwrap_or(u32::MAX));
            t.bytes.extend_from_slice(lang.fpi().as_bytes());
            (PublicId::StringTable { zero_pad: 0, index }, t.bytes)
        }
        _ => {
            let index = MbUint32::new(t.add(lang.fpi().as_bytes()));
            (PublicId::StringTable { zero_pad: 0, index }, t.bytes)
        }
    }
}

/// `wbxml_encoder_encode_tree_to_wbxml` with the profile's options: the document's bytes.
fn encode(doc: &LDoc, profile: &Profile, depth: usize) -> Result<Vec<u8>, ConvertError> {
    if depth >= MAX_NESTED_DOCUMENTS {
        return Err(ConvertError::TooDeep(MAX_NESTED_DOCUMENTS));
    }
    let mut table = profile.string_table.then(StrTable::default);
    if let Some(t) = table.as_mut() {
        let mut strings = Vec::new();
        collect_strings(doc, doc.root, &mut strings);
        let once = t.check_references(&strings);
        let words: Vec<(&[u8], u32)> = once
            .iter()
            .flat_map(|s| s.split(|&b| is_c_space(b)).filter(|w| !w.is_empty()))
            .map(|w| (w, NONE))
            .collect();
        t.check_references(&words);
        // Every text is searched for every entry (libwbxml's algorithm): cap the table so that a hostile
        // document cannot make that quadratic work large.
        if t.list.len() > MAX_STRING_TABLE_ENTRIES {
            return Err(ConvertError::TooMany {
                what: "string-table entries",
                max: MAX_STRING_TABLE_ENTRIES,
            });
        }
    }
    let mut enc = WbxmlEnc {
        lang: doc.lang,
        profile,
        page: 0,
        in_cdata: false,
        cdata: None,
        table,
        body: Vec::with_capacity(doc.bytes.len() + doc.nodes.len() * 2 + 16),
        depth,
    };
    enc.node(doc, doc.root)?;
    // The header is filled last: the FPI of a language without a public id (or with a textual public id
    // asked for, libwbxml's `textual_publicid`) joins the string table then.
    let (public_id, string_table) = header(doc.lang, profile.public_id, enc.table.map(|t| t.b));
    let mut out = Vec::with_capacity(enc.body.len() + string_table.len() + 12);
    out.push(profile.wbxml_version);
    match public_id {
        PublicId::Numeric(id) => id.write(&mut out),
        PublicId::StringTable { index, .. } => {
            out.push(0);
            index.write(&mut out);
        }
    }
    // libwbxml writes the charset even for WBXML 1.0 (`-v 1.0`), which is wrong; kept.
    out.push(0x6A);
    write_mb(&mut out, string_table.len())?;
    out.extend_from_slice(&string_table);
    out.extend_from_slice(&enc.body);
    Ok(out)
}

// ------------------------------------------------------------------------------------------------
// WBXML → libwbxml tree (parser callbacks)

/// libwbxml's UCS-4 → "UTF-8" of `ENTITY` (correct up to U+07FF, its own byte layout above).
pub(super) fn entity_bytes(code: u32) -> Result<Vec<u8>, ConvertError> {
    if code >= 0x8000_0000 {
        return Err(err("ENTITY code of 2^31 or more (libwbxml asserts)"));
    }
    if code < 0x80 {
        // Kept as a C string: NUL gives nothing.
        return Ok(if code == 0 { Vec::new() } else { vec![code as u8] });
    }
    let masks = [0xFCu8, 0xF8, 0xF0, 0xE0, 0xC0];
    let mut buf = [0u8; 6];
    let mut i = 5usize;
    let mut c = code;
    while c >= 0x40 && i > 0 {
        buf[i] = 0x80 | (c & 0x3F) as u8;
        c >>= 6;
        i -= 1;
    }
    buf[i] = masks.get(i).copied().unwrap_or(0) | (c as u8);
    Ok(buf[i..].to_vec())
}

/// Feeds WBXML tokens to the tree builder as libwbxml's parser calls its callbacks.
struct Feeder {
    b: Option<Builder>,
    latin1: bool,
    table: Vec<u8>,
    nuls: Vec<usize>,
    page: u8,
    /// libwbxml's `parser->current_tag`: set at a token tag's start, cleared at every element end.
    current_tag: Option<(u8, u8)>,
    /// Inside an attribute list or PI.
    skip: bool,
    /// The element whose attribute list is being skipped has no content.
    pending_empty: Option<bool>,
    depth: usize,
    err: Option<ConvertError>,
    /// Bytes resolved through `STR_T` so far, and the cap ([`wbxml::str_t_expansion_limit`]).
    expanded: usize,
    limit: usize,
    /// Size of the document being fed.
    doc_len: usize,
}

impl Feeder {
    fn new(depth: usize) -> Self {
        Self {
            expanded: 0,
            limit: usize::MAX,
            doc_len: 0,
            b: None,
            latin1: false,
            table: Vec::new(),
            nuls: Vec::new(),
            page: 0,
            current_tag: None,
            skip: false,
            pending_empty: None,
            depth,
            err: None,
        }
    }

    /// The C string at `index` of the string table (to NUL or the end).
    fn cstr(&self, index: u32) -> &[u8] {
        let i = index as usize;
        let end = match self.nuls.binary_search(&i) {
            Ok(_) => i,
            Err(j) => self.nuls.get(j).copied().unwrap_or(self.table.len()),
        };
        self.table.get(i..end).unwrap_or_default()
    }

    fn conv(&self, b: &[u8]) -> Vec<u8> {
        let b = b.split(|&c| c == 0).next().unwrap_or_default();
        if self.latin1 {
            b.iter().map(|&c| char::from(c)).collect::<String>().into_bytes()
        } else {
            b.to_vec()
        }
    }

    fn fail(&mut self, e: ConvertError) {
        if self.err.is_none() {
            self.err = Some(e);
        }
    }

    fn run(&mut self, t: TokenRef<'_>) -> Result<(), ConvertError> {
        let Some(b) = self.b.as_mut() else { return Err(err("no header")) };
        if matches!(t, TokenRef::AttrStart { .. } | TokenRef::AttrValue { .. }) {
            // SyncML, DevInf and DDF have no attribute tables: libwbxml stops here.
            return Err(err("attribute token without an attribute table"));
        }
        if self.skip {
            if t == TokenRef::End {
                self.skip = false;
                if self.pending_empty.take() == Some(true) {
                    b.end_element()?;
                    self.current_tag = None;
                }
            }
            return Ok(());
        }
        let lang = b.doc.lang;
        let chunk: Vec<u8> = match t {
            TokenRef::SwitchPage { page } => {
                self.page = page;
                return Ok(());
            }
            TokenRef::Tag { byte } => {
                let token = byte & 0x3F;
                let tag = match lang.tag_name(self.page, token) {
                    Some(name) => {
                        self.current_tag = Some((self.page, token));
                        Tag::Token { page: self.page, token, name }
                    }
                    None => Tag::Literal("unknown".into()),
                };
                return self.start(tag, byte);
            }
            TokenRef::LiteralTag { byte, index } => {
                let name = self.conv(self.cstr(index.value));
                let name = String::from_utf8(name).map_err(|_| ConvertError::NotUtf8)?;
                return self.start(Tag::Literal(name.into_boxed_str()), byte);
            }
            TokenRef::End => {
                b.end_element()?;
                self.current_tag = None;
                return Ok(());
            }
            TokenRef::Pi => {
                self.skip = true;
                return Ok(());
            }
            TokenRef::AttrStart { .. } | TokenRef::AttrValue { .. } | TokenRef::LiteralAttr { .. } => {
                return Ok(());
            }
            // "Extension tokens not allowed with this Document": no character data.
            TokenRef::ExtI { .. } | TokenRef::ExtT { .. } | TokenRef::Ext { .. } => return Ok(()),
            TokenRef::StrI { bytes } => self.conv(bytes),
            TokenRef::StrT { index } => {
                self.expanded += self.cstr(index.value).len();
                if self.expanded > self.limit {
                    let what = "bytes of string-table text (STR_T expansion)";
                    return Err(crate::error::DecodeError::new(
                        crate::error::DecodeErrorKind::TooMany { what, max: self.limit },
                        0,
                    )
                    .into());
                }
                self.conv(self.cstr(index.value))
            }
            TokenRef::Entity { code } => entity_bytes(code.value)?,
            TokenRef::Opaque { bytes, .. } => {
                if lang.is_syncml() && self.current_tag == Some((1, 0x10)) {
                    // NextNonce: libwbxml shows the raw nonce in base64.
                    base64::engine::general_purpose::STANDARD.encode(bytes).into_bytes()
                } else {
                    bytes.to_vec()
                }
            }
        };
        self.chars(&chunk)
    }

    fn start(&mut self, tag: Tag, byte: u8) -> Result<(), ConvertError> {
        let Some(b) = self.b.as_mut() else { return Err(err("no header")) };
        let empty = byte & global::HAS_CONTENT == 0;
        b.start_element(tag)?;
        if byte & global::HAS_ATTRS != 0 {
            self.skip = true;
            self.pending_empty = Some(empty);
        } else if empty {
            b.end_element()?;
            self.current_tag = None;
        }
        Ok(())
    }

    fn chars(&mut self, chunk: &[u8]) -> Result<(), ConvertError> {
        if chunk.is_empty() {
            return Ok(());
        }
        let depth = self.depth;
        let Some(b) = self.b.as_mut() else { return Err(err("no header")) };
        b.wbxml_chars(chunk, || {
            let mut f = Feeder::new(depth + 1);
            f.doc_len = chunk.len();
            // libwbxml parses the chunk as a document of its own and ignores what follows it.
            let mut r = crate::reader::Reader::new(chunk);
            let d = <wbxml::Document as crate::reader::Decode>::decode_from(&mut r).ok()?;
            f.document(&d).ok()?;
            f.finish().ok()
        })
    }

    fn nested_doc(&mut self, doc: &wbxml::Document) -> Result<(), ConvertError> {
        let Some(b) = self.b.as_mut() else { return Err(err("no header")) };
        if b.current != NONE && b.doc.data_type(b.current) == DataType::Wbxml {
            let mut f = Feeder::new(self.depth + 1);
            f.document(doc)?;
            let sub = f.finish()?;
            return b.embedded(sub);
        }
        // Not a WBXML data type: libwbxml sees the opaque bytes as text.
        self.chars(&crate::reader::Encode::encode(doc))
    }

    fn start_document(&mut self, h: &Header<'_>) -> Result<(), ConvertError> {
        if self.depth >= MAX_NESTED_DOCUMENTS {
            return Err(ConvertError::TooDeep(MAX_NESTED_DOCUMENTS));
        }
        let lang = match h.public_id {
            PublicId::Numeric(id) => Language::from_public_id(id.value),
            // libwbxml reads the FPI as a C string.
            PublicId::StringTable { .. } => h
                .public_id_fpi()
                .and_then(|f| Language::from_fpi(f.split(|&b| b == 0).next().unwrap_or_default())),
        }
        .ok_or(err("public identifier not found in the language tables"))?;
        self.latin1 = match h.charset.map(|c| c.value) {
            None | Some(106 | 3) => false,
            Some(4) => true,
            Some(_) => return Err(err("charset without a converter")),
        };
        self.table = h.string_table.to_vec();
        self.limit = wbxml::str_t_expansion_limit(self.doc_len);
        self.nuls = self.table.iter().enumerate().filter(|&(_, c)| *c == 0).map(|(i, _)| i).collect();
        self.b = Some(Builder::new(lang));
        Ok(())
    }

    /// Feeds an owned document.
    fn document(&mut self, d: &wbxml::Document) -> Result<(), ConvertError> {
        self.doc_len = d.encoded_len();
        let h = Header {
            version: d.version,
            public_id: d.public_id,
            charset: d.charset,
            string_table_len_pad: d.string_table_len_pad,
            string_table: &d.string_table,
            body_offset: d.header_len(),
        };
        self.start_document(&h)?;
        for t in &d.body {
            match (t.as_ref(), t) {
                (Some(r), _) => self.run(r)?,
                (None, Token::Opaque { data: OpaqueData::Document(n), .. }) => self.nested_doc(n)?,
                (None, _) => {}
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<LDoc, ConvertError> {
        if let Some(e) = self.err {
            return Err(e);
        }
        match self.b {
            Some(b) if b.doc.root != NONE => Ok(b.doc),
            _ => Err(err("no root element")),
        }
    }
}

impl TokenSink for Feeder {
    fn header(&mut self, h: &Header<'_>) {
        if let Err(e) = self.start_document(h) {
            self.fail(e);
        }
    }

    fn token(&mut self, t: TokenRef<'_>) {
        if self.err.is_none()
            && let Err(e) = self.run(t)
        {
            self.fail(e);
        }
    }

    fn nested(&mut self, _len_pad: u8, doc: Box<wbxml::Document>) {
        if self.err.is_none()
            && let Err(e) = self.nested_doc(&doc)
        {
            self.fail(e);
        }
    }
}

/// Builds libwbxml's WBXML-side tree from the element tree (as if it had been parsed from WBXML).
fn from_tree_wbxml(d: &Document, profile: &Profile, depth: usize) -> Result<LDoc, ConvertError> {
    if depth >= MAX_NESTED_DOCUMENTS {
        return Err(ConvertError::TooDeep(MAX_NESTED_DOCUMENTS));
    }
    let mut b = Builder::new(d.language);
    wbxml_tree_element(&mut b, d.language, &d.root, profile, depth)?;
    Ok(b.doc)
}

fn wbxml_tree_element(
    b: &mut Builder,
    lang: Language,
    el: &super::Element,
    profile: &Profile,
    depth: usize,
) -> Result<(), ConvertError> {
    let page = lang.page_of(el.ns);
    let tok = page.and_then(|p| lang.tag_token_on(p, &el.name).map(|t| (p, t)));
    let tag = match tok.and_then(|(p, t)| lang.tag_name(p, t).map(|n| (p, t, n))) {
        Some((page, token, name)) => Tag::Token { page, token, name },
        None => Tag::Literal(el.name.as_ref().into()),
    };
    b.start_element(tag)?;
    for c in &el.children {
        let chunk: Vec<u8> = match c {
            Node::Element(e) => {
                wbxml_tree_element(b, lang, e, profile, depth)?;
                continue;
            }
            Node::Text(t) | Node::CData(t) => t.as_bytes().to_vec(),
            Node::Opaque(o) if lang.is_syncml() && tok == Some((1, 0x10)) => {
                base64::engine::general_purpose::STANDARD.encode(o).into_bytes()
            }
            Node::Opaque(o) => o.clone(),
            Node::Document(sub) => {
                if b.doc.data_type(b.current) == DataType::Wbxml {
                    b.embedded(from_tree_wbxml(sub, profile, depth + 1)?)?;
                    continue;
                }
                encode(&from_tree(sub, depth + 1)?, profile, depth + 1)?
            }
        };
        if !chunk.is_empty() {
            b.wbxml_chars(&chunk, || None)?;
        }
    }
    b.end_element()
}

// ------------------------------------------------------------------------------------------------
// libwbxml tree → XML (wbxml_encoder.c, XML output)

struct XmlEnc<'o> {
    lang: Language,
    profile: &'o Profile,
    out: Vec<u8>,
    indent: usize,
    delta: usize,
    pretty: bool,
    in_content: bool,
    in_cdata: bool,
    current_tag: Option<(u8, u8)>,
}

impl XmlEnc<'_> {
    fn spaces(&mut self) {
        if self.pretty {
            for _ in 0..self.indent * self.delta {
                self.out.push(b' ');
            }
        }
    }

    fn nl(&mut self) {
        if self.pretty {
            self.out.push(b'\n');
        }
    }

    fn node(&mut self, doc: &LDoc, i: u32) -> Result<(), ConvertError> {
        let Some(n) = doc.node(i) else { return Ok(()) };
        match &n.kind {
            Kind::Element(tag) => {
                self.current_tag = tag.token();
                self.spaces();
                self.out.push(b'<');
                self.out.extend_from_slice(tag.name().as_bytes());
                let parent_tag = match doc.node(n.parent).map(|p| &p.kind) {
                    Some(Kind::Element(t)) => Some(t),
                    _ => None,
                };
                let xmlns_page = match (n.parent, parent_tag, tag.token()) {
                    (NONE, _, Some((p, _))) => Some(p),
                    (_, Some(pt), Some((p, _))) => pt.token().filter(|(pp, _)| *pp != p).map(|_| p),
                    _ => None,
                };
                if let Some(uri) = xmlns_page.and_then(|p| self.lang.namespace_uri(p)) {
                    self.out.extend_from_slice(b" xmlns=\"");
                    self.out.extend_from_slice(uri.as_bytes());
                    self.out.push(b'"');
                }
                let has_children = n.first != NONE;
                let child_elt = doc.has_child_element(i);
                if has_children {
                    self.out.push(b'>');
                    if self.pretty && child_elt {
                        self.nl();
                        self.indent += 1;
                    }
                } else {
                    self.out.extend_from_slice(b"/>");
                    self.nl();
                }
                for c in doc.children(i) {
                    self.node(doc, c)?;
                }
                if has_children {
                    if self.pretty && child_elt {
                        if self.in_content {
                            self.nl();
                        }
                        self.indent = self.indent.saturating_sub(1);
                        self.spaces();
                    }
                    self.out.extend_from_slice(b"</");
                    self.out.extend_from_slice(tag.name().as_bytes());
                    self.out.push(b'>');
                    self.nl();
                    self.in_content = false;
                }
            }
            Kind::Text { .. } => {
                let content = doc.text(i).unwrap_or_default();
                if self.in_cdata {
                    self.out.extend_from_slice(content);
                } else {
                    let keep = self.profile.keep_whitespace;
                    if !keep && only_space(content) {
                        self.current_tag = None;
                        return Ok(());
                    }
                    let s = if keep { content } else { strip(content) };
                    let is_type = self.lang.is_syncml() && self.current_tag == Some((1, 0x13));
                    let s: &[u8] = if is_type && s == b"application/vnd.syncml-devinf+wbxml" {
                        b"application/vnd.syncml-devinf+xml"
                    } else if is_type
                        && self.lang == Language::SyncMl12
                        && s == b"application/vnd.syncml.dmtnds+wbxml"
                    {
                        b"application/vnd.syncml.dmtnds+xml"
                    } else {
                        s
                    };
                    for &c in s {
                        match c {
                            b'<' => self.out.extend_from_slice(b"&lt;"),
                            b'>' => self.out.extend_from_slice(b"&gt;"),
                            b'&' => self.out.extend_from_slice(b"&amp;"),
                            b'"' => self.out.extend_from_slice(b"&quot;"),
                            b'\'' => self.out.extend_from_slice(b"&apos;"),
                            _ => self.out.push(c),
                        }
                    }
                }
                self.in_content = true;
            }
            Kind::Cdata => {
                self.out.extend_from_slice(b"<![CDATA[");
                self.in_cdata = true;
                for c in doc.children(i) {
                    self.node(doc, c)?;
                }
                self.in_cdata = false;
                self.out.extend_from_slice(b"]]>");
            }
            Kind::Tree(sub) => {
                let mut nested = XmlEnc {
                    lang: sub.lang,
                    profile: self.profile,
                    out: Vec::new(),
                    indent: self.indent,
                    delta: self.delta,
                    pretty: self.pretty,
                    in_content: false,
                    in_cdata: false,
                    current_tag: None,
                };
                nested.node(sub, sub.root)?;
                self.out.extend_from_slice(&nested.out);
            }
        }
        self.current_tag = None;
        Ok(())
    }
}

fn write_xml(doc: &LDoc, profile: &Profile) -> Result<String, ConvertError> {
    let (pretty, delta) = match profile.xml_style {
        XmlStyle::Compact => (false, 0),
        XmlStyle::Indent(n) => (true, usize::from(n)),
    };
    let mut enc = XmlEnc {
        lang: doc.lang,
        profile,
        out: Vec::with_capacity(doc.bytes.len() * 2 + doc.nodes.len() * 24 + 256),
        indent: 0,
        delta,
        pretty,
        in_content: false,
        in_cdata: false,
        current_tag: None,
    };
    enc.out.extend_from_slice(b"<?xml version=\"1.0\"?>");
    enc.nl();
    enc.out.extend_from_slice(b"<!DOCTYPE ");
    enc.out.extend_from_slice(doc.lang.root().as_bytes());
    enc.out.extend_from_slice(b" PUBLIC \"");
    enc.out.extend_from_slice(doc.lang.fpi().as_bytes());
    enc.out.extend_from_slice(b"\" \"");
    enc.out.extend_from_slice(doc.lang.dtd().as_bytes());
    enc.out.extend_from_slice(b"\">");
    enc.nl();
    enc.node(doc, doc.root)?;
    String::from_utf8(enc.out).map_err(|_| ConvertError::NotUtf8)
}

// ------------------------------------------------------------------------------------------------
// Entry points

fn check(profile: &Profile) {
    debug_assert_eq!(profile.flavor, Flavor::Libwbxml);
}

fn decode_own(bytes: &[u8]) -> Result<wbxml::Document, ConvertError> {
    Ok(<wbxml::Document as crate::reader::Decode>::decode_exact(bytes)?)
}

pub(super) fn xml_to_wbxml_bytes(doc: &x::Document, profile: &Profile) -> Result<Vec<u8>, ConvertError> {
    check(profile);
    let lang = detect_language(doc)?;
    let ldoc = from_xml_events(doc, doc.events(), lang, 0)?;
    encode(&ldoc, profile, 0)
}

pub(super) fn xml_to_wbxml(doc: &x::Document, profile: &Profile) -> Result<wbxml::Document, ConvertError> {
    decode_own(&xml_to_wbxml_bytes(doc, profile)?)
}

pub(super) fn wbxml_to_xml(doc: &wbxml::Document, profile: &Profile) -> Result<String, ConvertError> {
    check(profile);
    let mut f = Feeder::new(0);
    f.document(doc)?;
    write_xml(&f.finish()?, profile)
}

pub(super) fn wbxml_bytes_to_xml(bytes: &[u8], profile: &Profile) -> Result<String, ConvertError> {
    check(profile);
    if let Some(xml) = super::libwbxml_fast::wbxml_to_xml(bytes, profile) {
        return Ok(xml);
    }
    let mut f = Feeder::new(0);
    f.doc_len = bytes.len();
    wbxml::Document::visit(bytes, &mut f)?;
    write_xml(&f.finish()?, profile)
}

pub(super) fn tree_to_wbxml(doc: &Document, profile: &Profile) -> Result<wbxml::Document, ConvertError> {
    check(profile);
    decode_own(&encode(&from_tree(doc, 0)?, profile, 0)?)
}

pub(super) fn tree_to_xml(doc: &Document, profile: &Profile) -> Result<String, ConvertError> {
    check(profile);
    write_xml(&from_tree_wbxml(doc, profile, 0)?, profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_encoding_like_libwbxml() {
        assert_eq!(entity_bytes(0x41).unwrap(), b"A");
        assert_eq!(entity_bytes(0).unwrap(), b"");
        assert_eq!(entity_bytes(0xE9).unwrap(), "é".as_bytes());
        // Measured: ENTITY 0x1E200 is written FE 88 80 by wbxml2xml.
        assert_eq!(entity_bytes(0x1E200).unwrap(), [0xFE, 0x88, 0x80]);
    }

    #[test]
    fn strip_is_c_isspace() {
        assert_eq!(strip(b" \t\x0b a b\x0c\r\n"), b"a b");
        assert_eq!(strip(b"   "), b"");
        assert!(only_space(b" \x0b\n"));
    }

    #[test]
    fn expat_like_chunks() {
        let mut got = Vec::new();
        chunks("a\r\nb&amp;c\rd&#10;", true, |c| {
            got.push(c.to_vec());
            Ok(())
        })
        .unwrap();
        let want: Vec<&[u8]> = vec![b"a", b"\n", b"b", b"&", b"c", b"\n", b"d", b"\n"];
        assert_eq!(got, want);
    }
}

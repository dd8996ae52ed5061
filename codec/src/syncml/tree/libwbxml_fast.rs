//! Single-pass versions of the libwbxml emulation for the shapes real messages have, with no intermediate
//! tree: WBXML tokens in, XML text out ([`wbxml_to_xml`]).
//!
//! Each function returns `None` when it meets something it does not handle (nested documents, vObject
//! `Data` with more than one content token or with child elements, indented output, any decoding error);
//! the caller then runs the tree emulation in `libwbxml`, which handles everything and produces the errors.
//! The corpus differential tests and a property test check that both paths give the same bytes.

use base64::Engine as _;

use super::{Language, Profile, XmlStyle};
use crate::wbxml::{self, Header, PublicId, TokenRef, TokenSink, global};

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

fn strip(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_c_space(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_c_space(b)).map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or(&[])
}

fn eq(a: &str, b: &str) -> bool {
    crate::wbxml::codepage::eq_bytes(a.as_bytes(), b.as_bytes())
}

/// Bytes libwbxml escapes in XML text: `<`, `>`, `&`, `"`, `'`.
const ESCAPED: [bool; 256] = {
    let mut t = [false; 256];
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'&' as usize] = true;
    t[b'"' as usize] = true;
    t[b'\'' as usize] = true;
    t
};

/// The class of a `Meta/Type` value, as libwbxml's data-type rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Wbxml,
    Xml,
    Clear,
    VObject,
    Other,
}

fn classify(t: &[u8]) -> Kind {
    match t {
        b"application/vnd.syncml-devinf+wbxml" | b"application/vnd.syncml.dmtnds+wbxml" => Kind::Wbxml,
        b"application/vnd.syncml-devinf+xml" | b"application/vnd.syncml.dmtnds+xml" => Kind::Xml,
        b"text/clear" => Kind::Clear,
        b"text/directory;profile=vCard" | b"text/x-vcard" | b"text/x-vcalendar" => Kind::VObject,
        _ => Kind::Other,
    }
}

/// What an element knows about its first `Meta` child (or, for a `Meta`, its first `Type` child).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum First {
    None,
    Pending,
    Missing,
    Type(Kind),
}

#[derive(Debug, Clone, Copy)]
enum Name {
    Static(&'static str),
    /// A range of the string table.
    Table(usize, usize),
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    name: Name,
    token: Option<(u8, u8)>,
    /// `>` written: the element has a child node.
    opened: bool,
    /// Child nodes completed or started so far.
    children: u32,
    /// This element's first `Meta` child.
    first_meta: First,
    /// For a `Meta`: its first `Type` child.
    first_type: First,
    /// This element is the first `Meta` of its parent / the first `Type` of its `Meta`.
    is_first_meta: bool,
    is_first_type: bool,
    /// For a first `Type`: the class of its first child if that is text.
    type_kind: Option<Kind>,
    /// A vObject CDATA section is open in this `Data`.
    cdata: bool,
}

struct Fast<'b> {
    bytes: &'b [u8],
    profile: &'b Profile,
    lang: Option<Language>,
    latin1: bool,
    table: (usize, usize),
    nuls: Vec<usize>,
    out: Vec<u8>,
    stack: Vec<Frame>,
    page: u8,
    current_tag: Option<(u8, u8)>,
    skip: bool,
    pending_empty: Option<bool>,
    /// The text run of the innermost element (merged chunks).
    text: Vec<u8>,
    in_text: bool,
    failed: bool,
    done: bool,
    /// Bytes resolved through `STR_T` (capped as in the tree path).
    expanded: usize,
}

impl<'b> Fast<'b> {
    fn table(&self) -> &'b [u8] {
        self.bytes.get(self.table.0..self.table.0 + self.table.1).unwrap_or_default()
    }

    fn cstr(&self, index: u32) -> Option<(usize, usize)> {
        let i = index as usize;
        let end = match self.nuls.binary_search(&i) {
            Ok(_) => i,
            Err(j) => self.nuls.get(j).copied().unwrap_or(self.table.1),
        };
        (i <= end && end <= self.table.1).then_some((i, end - i))
    }

    fn name_bytes(&self, n: Name) -> &'b [u8] {
        match n {
            Name::Static(s) => s.as_bytes(),
            Name::Table(i, l) => self.table().get(i..i + l).unwrap_or_default(),
        }
    }

    fn is_named(&self, f: &Frame, name: &str) -> bool {
        crate::wbxml::codepage::eq_bytes(self.name_bytes(f.name), name.as_bytes())
    }

    fn write_escaped(&mut self, s: &[u8]) {
        let mut last = 0;
        for (i, &c) in s.iter().enumerate() {
            if !ESCAPED[c as usize] {
                continue;
            }
            let rep: &[u8] = match c {
                b'<' => b"&lt;",
                b'>' => b"&gt;",
                b'&' => b"&amp;",
                b'"' => b"&quot;",
                b'\'' => b"&apos;",
                _ => continue,
            };
            self.out.extend_from_slice(&s[last..i]);
            self.out.extend_from_slice(rep);
            last = i + 1;
        }
        self.out.extend_from_slice(&s[last..]);
    }

    /// A child node appears in the innermost element: write `>` if not yet.
    fn open_parent(&mut self) {
        if let Some(f) = self.stack.last_mut()
            && !f.opened
        {
            f.opened = true;
            self.out.push(b'>');
        }
    }

    /// Ends the innermost element's text run, writing it as libwbxml's XML encoder does.
    fn flush_text(&mut self) {
        if !self.in_text {
            return;
        }
        self.in_text = false;
        let Some(&f) = self.stack.last() else { return };
        let first_child = f.children == 1;
        if f.is_first_type
            && first_child
            && let Some(top) = self.stack.last_mut()
        {
            top.type_kind = Some(classify(&self.text));
        }
        let keep = self.profile.keep_whitespace;
        let text = std::mem::take(&mut self.text);
        if keep || !text.iter().all(|&b| is_c_space(b)) {
            let s = if keep { &text[..] } else { strip(&text) };
            let lang = self.lang;
            let is_type = lang.is_some_and(Language::is_syncml) && first_child && f.token == Some((1, 0x13));
            let s: &[u8] = if is_type && s == b"application/vnd.syncml-devinf+wbxml" {
                b"application/vnd.syncml-devinf+xml"
            } else if is_type
                && lang == Some(Language::SyncMl12)
                && s == b"application/vnd.syncml.dmtnds+wbxml"
            {
                b"application/vnd.syncml.dmtnds+xml"
            } else {
                s
            };
            self.write_escaped(s);
        }
        self.text = text;
        self.text.clear();
    }

    fn start(&mut self, name: Name, token: Option<(u8, u8)>, byte: u8) {
        self.flush_text();
        if let Some(p) = self.stack.last()
            && p.cdata
        {
            // An element inside a vObject CDATA section: tree path.
            self.failed = true;
            return;
        }
        self.open_parent();
        let lang = match self.lang {
            Some(l) => l,
            None => {
                self.failed = true;
                return;
            }
        };
        let mut frame = Frame {
            name,
            token,
            opened: false,
            children: 0,
            first_meta: First::None,
            first_type: First::None,
            is_first_meta: false,
            is_first_type: false,
            type_kind: None,
            cdata: false,
        };
        let is_meta = crate::wbxml::codepage::eq_bytes(self.name_bytes(name), b"Meta");
        let is_type = crate::wbxml::codepage::eq_bytes(self.name_bytes(name), b"Type");
        if let Some(p) = self.stack.last_mut() {
            p.children += 1;
            if is_meta && p.first_meta == First::None {
                p.first_meta = First::Pending;
                frame.is_first_meta = true;
            }
            if is_type && p.is_first_meta && p.first_type == First::None {
                p.first_type = First::Pending;
                frame.is_first_type = true;
            }
        }
        self.out.push(b'<');
        let nb = self.name_bytes(name);
        self.out.extend_from_slice(nb);
        let parent_token = self.stack.last().map(|p| p.token);
        let xmlns = match (parent_token, token) {
            (None, Some((p, _))) => Some(p),
            (Some(Some((pp, _))), Some((p, _))) if pp != p => Some(p),
            _ => None,
        };
        if let Some(uri) = xmlns.and_then(|p| lang.namespace_uri(p)) {
            self.out.extend_from_slice(b" xmlns=\"");
            self.out.extend_from_slice(uri.as_bytes());
            self.out.push(b'"');
        }
        self.stack.push(frame);
        if byte & global::HAS_ATTRS != 0 {
            self.skip = true;
            self.pending_empty = Some(byte & global::HAS_CONTENT == 0);
        } else if byte & global::HAS_CONTENT == 0 {
            self.end();
        }
    }

    fn end(&mut self) {
        self.flush_text();
        self.current_tag = None;
        let Some(f) = self.stack.pop() else {
            self.failed = true;
            return;
        };
        if f.cdata {
            self.out.extend_from_slice(b"]]>");
        }
        if f.opened {
            self.out.extend_from_slice(b"</");
            let nb = self.name_bytes(f.name);
            self.out.extend_from_slice(nb);
            self.out.push(b'>');
        } else {
            self.out.extend_from_slice(b"/>");
        }
        if f.is_first_type
            && let Some(meta) = self.stack.last_mut()
        {
            meta.first_type = First::Type(f.type_kind.unwrap_or(Kind::Other));
        }
        if f.is_first_meta
            && let Some(container) = self.stack.last_mut()
        {
            container.first_meta = match f.first_type {
                First::Type(k) => First::Type(k),
                _ => First::Missing,
            };
        }
        if self.stack.is_empty() {
            self.done = true;
        }
    }

    /// libwbxml's data type of the innermost element for a chunk.
    fn data_type(&self) -> Option<Kind> {
        let n = self.stack.len();
        let data = self.stack.last()?;
        if !self.is_named(data, "Data") {
            return None;
        }
        let parent = n.checked_sub(2).and_then(|i| self.stack.get(i));
        let grand = n.checked_sub(3).and_then(|i| self.stack.get(i));
        let found = match parent.map(|p| p.first_meta) {
            Some(First::Type(k)) => Some(k),
            _ => match grand.map(|g| g.first_meta) {
                Some(First::Type(k)) => Some(k),
                _ => None,
            },
        };
        match found {
            Some(Kind::Xml) => return None,
            Some(k @ (Kind::Wbxml | Kind::Clear | Kind::VObject)) => return Some(k),
            _ => {}
        }
        let vobject = grand.is_some_and(|g| self.is_named(g, "Add") || self.is_named(g, "Replace"));
        vobject.then_some(Kind::VObject)
    }

    fn chunk(&mut self, c: &[u8]) {
        if c.is_empty() {
            return;
        }
        let Some(top) = self.stack.last() else {
            self.failed = true;
            return;
        };
        if top.cdata {
            // A second content token in vObject Data: libwbxml nests CDATA sections; tree path.
            self.failed = true;
            return;
        }
        match self.data_type() {
            Some(Kind::Wbxml) => self.failed = true,
            Some(_) => {
                self.flush_text();
                self.open_parent();
                if let Some(top) = self.stack.last_mut() {
                    top.children += 1;
                    top.cdata = true;
                }
                self.out.extend_from_slice(b"<![CDATA[");
                self.out.extend_from_slice(c);
            }
            None => {
                if !self.in_text {
                    self.open_parent();
                    self.in_text = true;
                    if let Some(top) = self.stack.last_mut() {
                        top.children += 1;
                    }
                }
                self.text.extend_from_slice(c);
            }
        }
    }

    /// A string chunk, cut at NUL (C string) and converted from ISO-8859-1 when needed.
    fn string_chunk(&mut self, b: &[u8]) {
        let b = b.split(|&c| c == 0).next().unwrap_or_default();
        if self.latin1 {
            let owned = b.iter().map(|&c| char::from(c)).collect::<String>();
            self.chunk(owned.as_bytes());
        } else {
            self.chunk(b);
        }
    }
}

impl TokenSink for Fast<'_> {
    fn header(&mut self, h: &Header<'_>) {
        let lang = match h.public_id {
            PublicId::Numeric(id) => Language::from_public_id(id.value),
            PublicId::StringTable { .. } => h
                .public_id_fpi()
                .and_then(|f| Language::from_fpi(f.split(|&b| b == 0).next().unwrap_or_default())),
        };
        self.lang = lang;
        self.failed |= lang.is_none();
        self.latin1 = match h.charset.map(|c| c.value) {
            None | Some(106 | 3) => false,
            Some(4) => true,
            Some(_) => {
                self.failed = true;
                false
            }
        };
        self.table = (h.body_offset - h.string_table.len(), h.string_table.len());
        self.nuls = h.string_table.iter().enumerate().filter(|&(_, c)| *c == 0).map(|(i, _)| i).collect();
        if let Some(l) = lang {
            let out = &mut self.out;
            out.extend_from_slice(b"<?xml version=\"1.0\"?><!DOCTYPE ");
            out.extend_from_slice(l.root().as_bytes());
            out.extend_from_slice(b" PUBLIC \"");
            out.extend_from_slice(l.fpi().as_bytes());
            out.extend_from_slice(b"\" \"");
            out.extend_from_slice(l.dtd().as_bytes());
            out.extend_from_slice(b"\">");
        }
    }

    fn token(&mut self, t: TokenRef<'_>) {
        if self.failed {
            return;
        }
        if matches!(t, TokenRef::AttrStart { .. } | TokenRef::AttrValue { .. }) {
            self.failed = true;
            return;
        }
        if self.skip {
            if t == TokenRef::End {
                self.skip = false;
                if self.pending_empty.take() == Some(true) {
                    self.end();
                }
            }
            return;
        }
        let Some(lang) = self.lang else { return };
        match t {
            TokenRef::SwitchPage { page } => self.page = page,
            TokenRef::Tag { byte } => {
                let token = byte & 0x3F;
                match lang.tag_name(self.page, token) {
                    Some(name) => {
                        self.current_tag = Some((self.page, token));
                        self.start(Name::Static(name), Some((self.page, token)), byte);
                    }
                    None => self.start(Name::Static("unknown"), None, byte),
                }
            }
            TokenRef::LiteralTag { byte, index } => match self.cstr(index.value) {
                Some((i, l)) if !self.latin1 => self.start(Name::Table(i, l), None, byte),
                _ => self.failed = true,
            },
            TokenRef::End => self.end(),
            TokenRef::Pi => self.skip = true,
            TokenRef::AttrStart { .. } | TokenRef::AttrValue { .. } | TokenRef::LiteralAttr { .. } => {}
            TokenRef::ExtI { .. } | TokenRef::ExtT { .. } | TokenRef::Ext { .. } => {}
            TokenRef::StrI { bytes } => self.string_chunk(bytes),
            TokenRef::StrT { index } => match self.cstr(index.value) {
                Some((i, l)) => {
                    self.expanded += l;
                    if self.expanded > wbxml::str_t_expansion_limit(self.bytes.len()) {
                        self.failed = true;
                        return;
                    }
                    let raw = self.table().get(i..i + l).unwrap_or_default();
                    self.string_chunk(raw);
                }
                None => self.failed = true,
            },
            TokenRef::Entity { code } => match super::libwbxml::entity_bytes(code.value) {
                Ok(c) => self.chunk(&c),
                Err(_) => self.failed = true,
            },
            TokenRef::Opaque { bytes, .. } => {
                if lang.is_syncml() && self.current_tag == Some((1, 0x10)) {
                    let c = base64::engine::general_purpose::STANDARD.encode(bytes);
                    self.chunk(c.as_bytes());
                } else {
                    self.chunk(bytes);
                }
            }
        }
    }

    fn nested(&mut self, _len_pad: u8, _doc: Box<wbxml::Document>) {
        self.failed = true;
    }
}

/// `wbxml2xml -m 0` in one pass; `None` asks for the tree path.
pub(super) fn wbxml_to_xml(bytes: &[u8], profile: &Profile) -> Option<String> {
    if profile.xml_style != XmlStyle::Compact {
        return None;
    }
    let mut f = Fast {
        bytes,
        profile,
        lang: None,
        latin1: false,
        table: (0, 0),
        nuls: Vec::new(),
        out: Vec::with_capacity(bytes.len() * 3 + 256),
        stack: Vec::with_capacity(16),
        page: 0,
        current_tag: None,
        skip: false,
        pending_empty: None,
        text: Vec::with_capacity(64),
        in_text: false,
        failed: false,
        done: false,
        expanded: 0,
    };
    wbxml::Document::visit(bytes, &mut f).ok()?;
    if f.failed || !f.done {
        return None;
    }
    String::from_utf8(f.out).ok()
}

// ------------------------------------------------------------------------------------------------
// XML → WBXML (`xml2wbxml -n`)

struct XFrame<'a> {
    local: &'a str,
    /// Index of the tag byte in the body (its content bit is set when a child appears).
    tag_pos: usize,
    has_child: bool,
    first_meta: First,
    first_type: First,
    is_first_meta: bool,
    is_first_type: bool,
    /// For a first `Type`: its first child is a text run (captured in `type_text`).
    type_text: Option<Vec<u8>>,
    /// vObject `Data`: the CDATA buffer.
    cdata: Option<Vec<u8>>,
    /// The first child was a CDATA section.
    first_child_cdata: bool,
}

struct FastX<'a, 'p> {
    src: &'a str,
    profile: &'p Profile,
    doctype_lang: Option<Language>,
    lang: Option<Language>,
    ns: crate::xml::Namespaces<'a>,
    body: Vec<u8>,
    page: u8,
    stack: Vec<XFrame<'a>>,
    text: Vec<u8>,
    in_text: bool,
    level: usize,
    failed: bool,
}

impl<'a> FastX<'a, '_> {
    fn mark_child(&mut self) {
        if let Some(f) = self.stack.last_mut()
            && !f.has_child
        {
            f.has_child = true;
            if let Some(b) = self.body.get_mut(f.tag_pos) {
                *b |= global::HAS_CONTENT;
            }
        }
    }

    /// Writes the innermost element's text run (libwbxml `parse_text`, not in CDATA).
    fn flush_text(&mut self) {
        if !self.in_text {
            return;
        }
        self.in_text = false;
        let text = std::mem::take(&mut self.text);
        if let Some(f) = self.stack.last_mut()
            && f.is_first_type
            && f.type_text.is_none()
        {
            f.type_text = Some(text.clone());
        }
        let keep = self.profile.keep_whitespace;
        if keep || !text.iter().all(|&b| is_c_space(b)) {
            let s = if keep { &text[..] } else { strip(&text) };
            let s = s.split(|&b| b == 0).next().unwrap_or_default();
            let syncml = self.lang.is_some_and(Language::is_syncml);
            let s: &[u8] = if syncml && s.eq_ignore_ascii_case(b"application/vnd.syncml-devinf+xml") {
                b"application/vnd.syncml-devinf+wbxml"
            } else if syncml && s.eq_ignore_ascii_case(b"application/vnd.syncml.dmtnds+xml") {
                b"application/vnd.syncml.dmtnds+wbxml"
            } else {
                s
            };
            if !s.is_empty() {
                self.body.push(global::STR_I);
                self.body.extend_from_slice(s);
                self.body.push(0);
            }
        }
        self.text = text;
        self.text.clear();
    }

    fn data_type(&self) -> Option<Kind> {
        let n = self.stack.len();
        let data = self.stack.last()?;
        if !eq(data.local, "Data") {
            return None;
        }
        let parent = n.checked_sub(2).and_then(|i| self.stack.get(i));
        let grand = n.checked_sub(3).and_then(|i| self.stack.get(i));
        let found = match parent.map(|p| p.first_meta) {
            Some(First::Type(k)) => Some(k),
            _ => match grand.map(|g| g.first_meta) {
                Some(First::Type(k)) => Some(k),
                _ => None,
            },
        };
        match found {
            // On the XML side a +wbxml type changes nothing.
            Some(Kind::Xml | Kind::Wbxml) => return None,
            Some(k @ (Kind::Clear | Kind::VObject)) => return Some(k),
            _ => {}
        }
        grand.is_some_and(|g| eq(g.local, "Add") || eq(g.local, "Replace")).then_some(Kind::VObject)
    }

    fn start(&mut self, raw: &'a str, kind: crate::xml::EventKind, empty: bool) {
        self.flush_text();
        self.ns.push_tag(raw, kind);
        let (prefix, local) = crate::xml::split_qname(crate::xml::tag_name(raw, kind));
        let uri = self.ns.resolve(prefix);
        if self.level == 0 {
            self.lang = self.doctype_lang.or_else(|| match uri {
                Some(u) => Language::from_root_namespace(u),
                None => Language::from_root_name(local),
            });
        }
        let Some(lang) = self.lang else {
            self.failed = true;
            return;
        };
        if self.level > 0 && super::from_xml::embedded_language(lang, uri, local).is_some() {
            self.failed = true;
            return;
        }
        if self.stack.last().is_some_and(|f| f.cdata.is_some()) {
            self.failed = true;
            return;
        }
        let (_, tok) = super::from_xml::resolve(lang, uri, local);
        let Some((page, token)) = tok else {
            // A literal tag: needs the string table; the tree path reports it.
            self.failed = true;
            return;
        };
        self.mark_child();
        let mut frame = XFrame {
            local,
            tag_pos: 0,
            has_child: false,
            first_meta: First::None,
            first_type: First::None,
            is_first_meta: false,
            is_first_type: false,
            type_text: None,
            cdata: None,
            first_child_cdata: false,
        };
        if let Some(p) = self.stack.last_mut() {
            if eq(local, "Meta") && p.first_meta == First::None {
                p.first_meta = First::Pending;
                frame.is_first_meta = true;
            }
            if eq(local, "Type") && p.is_first_meta && p.first_type == First::None {
                p.first_type = First::Pending;
                frame.is_first_type = true;
            }
        }
        if page != self.page {
            self.body.extend_from_slice(&[global::SWITCH_PAGE, page]);
            self.page = page;
        }
        frame.tag_pos = self.body.len();
        self.body.push(token);
        self.stack.push(frame);
        self.level += 1;
        if empty {
            self.end();
        }
    }

    fn end(&mut self) {
        self.flush_text();
        self.ns.pop();
        self.level = self.level.saturating_sub(1);
        let Some(f) = self.stack.pop() else {
            self.failed = true;
            return;
        };
        if let Some(buf) = f.cdata
            && !buf.is_empty()
        {
            self.body.push(global::OPAQUE);
            crate::wbxml::MbUint32::new(u32::try_from(buf.len()).unwrap_or(u32::MAX)).write(&mut self.body);
            self.body.extend_from_slice(&buf);
        }
        if f.has_child {
            self.body.push(global::END);
        }
        if f.is_first_type
            && let Some(meta) = self.stack.last_mut()
        {
            meta.first_type = First::Type(f.type_text.as_deref().map_or(Kind::Other, classify));
        }
        if f.is_first_meta
            && let Some(container) = self.stack.last_mut()
        {
            container.first_meta = match f.first_type {
                First::Type(k) => First::Type(k),
                _ => First::Missing,
            };
        }
    }

    fn chars(&mut self, raw: &str) {
        let decoded = crate::xml::unescape(raw, false);
        let dt = self.data_type();
        let crlf = dt == Some(Kind::VObject);
        let into_cdata =
            dt.is_some() && self.stack.last().is_some_and(|f| f.cdata.is_some() || !f.first_child_cdata);
        if into_cdata {
            self.mark_child();
            if let Some(f) = self.stack.last_mut() {
                push_crlf(f.cdata.get_or_insert_with(Vec::new), decoded.as_bytes(), crlf);
            }
        } else {
            if !self.in_text {
                self.mark_child();
                self.in_text = true;
            }
            push_crlf(&mut self.text, decoded.as_bytes(), crlf);
        }
    }

    /// An explicit CDATA section: one `OPAQUE` at its place.
    fn cdata_section(&mut self, raw: &str) {
        self.flush_text();
        let Some(top) = self.stack.last() else { return };
        if top.cdata.is_some() {
            // Inside libwbxml's own vObject CDATA node: a nested CDATA, which libwbxml refuses.
            self.failed = true;
            return;
        }
        let first = !top.has_child;
        self.mark_child();
        let inner = raw.get(9..raw.len().saturating_sub(3)).unwrap_or("");
        let inner = inner.replace("\r\n", "\n").replace('\r', "\n");
        let mut content = Vec::with_capacity(inner.len());
        push_crlf(&mut content, inner.as_bytes(), self.data_type() == Some(Kind::VObject));
        if content == b"\n" && self.lang.is_some_and(Language::is_syncml) {
            content = b"\r\n".to_vec();
        }
        if !content.is_empty() {
            self.body.push(global::OPAQUE);
            crate::wbxml::MbUint32::new(u32::try_from(content.len()).unwrap_or(u32::MAX))
                .write(&mut self.body);
            self.body.extend_from_slice(&content);
        }
        if let Some(top) = self.stack.last_mut()
            && first
        {
            top.first_child_cdata = true;
        }
    }
}

impl crate::xml::EventSink for FastX<'_, '_> {
    fn event(&mut self, _text: &str, ev: crate::xml::Event) {
        use crate::xml::EventKind as K;
        if self.failed {
            return;
        }
        let src = self.src;
        let raw = src.get(ev.start..ev.end).unwrap_or("");
        match ev.kind {
            K::Doctype => {
                self.doctype_lang = crate::xml::doctype_of(raw).and_then(|d| {
                    d.public_id
                        .and_then(|p| Language::from_fpi(p.as_bytes()))
                        .or_else(|| d.system_id.and_then(Language::from_dtd))
                });
            }
            K::Start { .. } => self.start(raw, ev.kind, false),
            K::Empty { .. } => self.start(raw, ev.kind, true),
            K::End => self.end(),
            K::Text if self.level > 0 => self.chars(raw),
            K::CData if self.level > 0 => self.cdata_section(raw),
            _ => {}
        }
    }
}

/// Appends `s`, LF as CRLF when `crlf` (libwbxml's vObject line ends).
fn push_crlf(out: &mut Vec<u8>, s: &[u8], crlf: bool) {
    if !crlf {
        out.extend_from_slice(s);
        return;
    }
    for &b in s {
        if b == b'\n' {
            out.extend_from_slice(b"\r\n");
        } else {
            out.push(b);
        }
    }
}

/// `xml2wbxml -n` in one pass from the XML text; `None` asks for the tree path.
///
/// The text is read by the subset scanner of `fast_xml` when it can, else by [`crate::xml::visit`].
pub(super) fn xml_to_wbxml(src: &str, mode: crate::xml::Mode, profile: &Profile) -> Option<Vec<u8>> {
    if profile.string_table {
        return None;
    }
    let fresh = || FastX {
        src,
        profile,
        doctype_lang: None,
        lang: None,
        ns: crate::xml::Namespaces::new(),
        body: Vec::with_capacity(src.len() / 2 + 16),
        page: 0,
        stack: Vec::with_capacity(16),
        text: Vec::with_capacity(64),
        in_text: false,
        level: 0,
        failed: false,
    };
    let mut f = fresh();
    if super::fast_xml::scan(src, &mut f).is_none() {
        f = fresh();
        crate::xml::visit(src, mode, &mut f).ok()?;
    }
    let lang = f.lang?;
    if f.failed || f.level != 0 {
        return None;
    }
    let (public_id, table) = super::libwbxml::header(lang, profile.public_id, None);
    let mut out = Vec::with_capacity(f.body.len() + table.len() + 12);
    out.push(profile.wbxml_version);
    match public_id {
        PublicId::Numeric(id) => id.write(&mut out),
        PublicId::StringTable { index, .. } => {
            out.push(0);
            index.write(&mut out);
        }
    }
    out.push(0x6A);
    crate::wbxml::MbUint32::new(u32::try_from(table.len()).ok()?).write(&mut out);
    out.extend_from_slice(&table);
    out.extend_from_slice(&f.body);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Decode;
    use crate::syncml::tree::wbxml_to_xml as tree_path;
    use crate::testdata::shared_file;

    #[test]
    fn corpus_takes_the_fast_path_with_the_same_output() {
        let Some(dir) = shared_file("corpus/omadm/wbxml") else { return };
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let b = std::fs::read(e.unwrap().path()).unwrap();
            let p = Profile::libwbxml();
            let fast = wbxml_to_xml(&b, &p).expect("fast path");
            let slow = tree_path(&wbxml::Document::decode_exact(&b).unwrap(), &p).unwrap();
            assert_eq!(fast, slow);
            n += 1;
        }
        assert_eq!(n, 16);
    }

    #[test]
    fn corpus_xml_takes_the_fast_path_with_the_same_output() {
        let Some(dir) = shared_file("corpus/omadm/xml") else { return };
        let p = Profile::libwbxml();
        let mut fast_count = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            let Ok(doc) = crate::xml::Document::parse(&text, crate::xml::Mode::Strict) else { continue };
            let Ok(slow) = crate::syncml::tree::xml_to_wbxml(&doc, &p) else { continue };
            if let Some(fast) = xml_to_wbxml(&text, crate::xml::Mode::Strict, &p) {
                assert_eq!(fast, crate::reader::Encode::encode(&slow));
                fast_count += 1;
            }
        }
        assert!(fast_count >= 50, "{fast_count}");
    }
}

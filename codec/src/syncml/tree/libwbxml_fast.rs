//! Single-pass versions of the libwbxml emulation for the shapes real messages have, with no intermediate
//! tree: WBXML tokens in, XML text out ([`wbxml_to_xml`]).
//!
//! Each function returns `None` when it meets something it does not handle (nested documents, vObject
//! `Data` with more than one content token or with child elements, indented output, any decoding error);
//! the caller then runs the tree emulation in `libwbxml`, which handles everything and produces the errors.
//! The corpus differential tests and a property test check that both paths give the same bytes.

use base64::Engine as _;

use super::{Language, Profile, XmlStyle};
use crate::wbxml::{self, Header, PublicId, global};

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

/// Name classes the libwbxml rules look at (computed once per element).
const F_META: u8 = 1;
const F_TYPE: u8 = 2;
const F_DATA: u8 = 4;
const F_ADD_REPLACE: u8 = 8;

fn name_flags(name: &str) -> u8 {
    match name {
        "Meta" => F_META,
        "Type" => F_TYPE,
        "Data" => F_DATA,
        "Add" | "Replace" => F_ADD_REPLACE,
        _ => 0,
    }
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    name: &'static str,
    token: Option<(u8, u8)>,
    /// [`name_flags`] of the name.
    flags: u8,
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

/// The text run of the innermost element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    /// No run open.
    None,
    /// Written straight to the output (escaped) from this output offset; `leading`: leading white space is
    /// still being skipped.
    Direct { start: usize, leading: bool },
    /// Collected in `text` (a `Type`: classified and maybe rewritten when it ends).
    Buffered,
}

struct Fast<'b> {
    bytes: &'b [u8],
    profile: &'b Profile,
    lang: Language,
    latin1: bool,
    table: &'b [u8],
    nuls: Vec<usize>,
    out: Vec<u8>,
    stack: Vec<Frame>,
    page: u8,
    current_tag: Option<(u8, u8)>,
    /// The buffered text run (see [`Run::Buffered`]).
    text: Vec<u8>,
    run: Run,
    /// Some `STR_I` said `…+wbxml`: the body parser may take an `OPAQUE` for a nested document.
    saw_wbxml_type: bool,
    failed: bool,
    /// Bytes resolved through `STR_T` (capped as in the tree path).
    expanded: usize,
}

/// Reads an `mb_u_int32` (at most 5 bytes, at most 32 bits) at `*pos`.
fn read_mb(b: &[u8], pos: &mut usize) -> Option<u32> {
    let mut v: u64 = 0;
    for _ in 0..5 {
        let c = *b.get(*pos)?;
        *pos += 1;
        v = (v << 7) | u64::from(c & 0x7F);
        if c & 0x80 == 0 {
            return u32::try_from(v).ok();
        }
    }
    None
}

impl<'b> Fast<'b> {
    fn cstr(&self, index: u32) -> Option<(usize, usize)> {
        let i = index as usize;
        let end = match self.nuls.binary_search(&i) {
            Ok(_) => i,
            Err(j) => self.nuls.get(j).copied().unwrap_or(self.table.len()),
        };
        (i <= end && end <= self.table.len()).then_some((i, end - i))
    }

    fn write_escaped(&mut self, s: &[u8]) {
        let mut rest = s;
        while let Some(i) = rest.iter().position(|&c| ESCAPED[c as usize]) {
            let (head, tail) = rest.split_at(i);
            self.out.extend_from_slice(head);
            let Some((&c, tail)) = tail.split_first() else { break };
            self.out.extend_from_slice(match c {
                b'<' => b"&lt;",
                b'>' => b"&gt;",
                b'&' => b"&amp;",
                b'"' => b"&quot;",
                _ => b"&apos;",
            });
            rest = tail;
        }
        self.out.extend_from_slice(rest);
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

    /// Ends the innermost element's text run, written as libwbxml's XML encoder does.
    fn flush_text(&mut self) {
        match std::mem::replace(&mut self.run, Run::None) {
            Run::None => {}
            Run::Direct { start, .. } => {
                if !self.profile.keep_whitespace {
                    // Escapes end in `;`, so trimming the output trims the text.
                    let end = self.out.get(start..).and_then(|w| w.iter().rposition(|&b| !is_c_space(b)));
                    self.out.truncate(end.map_or(start, |e| start + e + 1));
                }
            }
            Run::Buffered => self.flush_buffered(),
        }
    }

    fn flush_buffered(&mut self) {
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
            let is_type = lang.is_syncml() && first_child && f.token == Some((1, 0x13));
            let s: &[u8] = if is_type && s == b"application/vnd.syncml-devinf+wbxml" {
                b"application/vnd.syncml-devinf+xml"
            } else if is_type && lang == Language::SyncMl12 && s == b"application/vnd.syncml.dmtnds+wbxml" {
                b"application/vnd.syncml.dmtnds+xml"
            } else {
                s
            };
            self.write_escaped(s);
        }
        self.text = text;
        self.text.clear();
    }

    fn start(&mut self, name: &'static str, token: Option<(u8, u8)>, has_content: bool) {
        self.flush_text();
        if let Some(p) = self.stack.last()
            && p.cdata
        {
            // An element inside a vObject CDATA section: tree path.
            self.failed = true;
            return;
        }
        self.open_parent();
        let flags = name_flags(name);
        let mut frame = Frame {
            name,
            token,
            flags,
            opened: false,
            children: 0,
            first_meta: First::None,
            first_type: First::None,
            is_first_meta: false,
            is_first_type: false,
            type_kind: None,
            cdata: false,
        };
        let mut parent_token = None;
        if let Some(p) = self.stack.last_mut() {
            parent_token = Some(p.token);
            p.children += 1;
            if flags == F_META && p.first_meta == First::None {
                p.first_meta = First::Pending;
                frame.is_first_meta = true;
            }
            if flags == F_TYPE && p.is_first_meta && p.first_type == First::None {
                p.first_type = First::Pending;
                frame.is_first_type = true;
            }
        }
        self.out.push(b'<');
        self.out.extend_from_slice(name.as_bytes());
        let xmlns = match (parent_token, token) {
            (None, Some((p, _))) => Some(p),
            (Some(Some((pp, _))), Some((p, _))) if pp != p => Some(p),
            _ => None,
        };
        if let Some(uri) = xmlns.and_then(|p| self.lang.namespace_uri(p)) {
            self.out.extend_from_slice(b" xmlns=\"");
            self.out.extend_from_slice(uri.as_bytes());
            self.out.push(b'"');
        }
        self.stack.push(frame);
        if !has_content {
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
            self.out.extend_from_slice(f.name.as_bytes());
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
    }

    /// libwbxml's data type of the innermost element for a chunk.
    fn data_type(&self) -> Option<Kind> {
        let n = self.stack.len();
        let data = self.stack.last()?;
        if data.flags != F_DATA {
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
        let vobject = grand.is_some_and(|g| g.flags == F_ADD_REPLACE);
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
        let buffered = top.flags == F_TYPE;
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
                if self.run == Run::None {
                    self.open_parent();
                    self.run = if buffered {
                        Run::Buffered
                    } else {
                        Run::Direct { start: self.out.len(), leading: !self.profile.keep_whitespace }
                    };
                    if let Some(top) = self.stack.last_mut() {
                        top.children += 1;
                    }
                }
                match self.run {
                    Run::Direct { start, leading: true } => {
                        if let Some(i) = c.iter().position(|&b| !is_c_space(b)) {
                            self.run = Run::Direct { start, leading: false };
                            self.write_escaped(c.get(i..).unwrap_or_default());
                        }
                    }
                    Run::Direct { .. } => self.write_escaped(c),
                    _ => self.text.extend_from_slice(c),
                }
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

    /// A tag token (`byte` with its content bit; no attributes, no literal).
    fn tag(&mut self, byte: u8) -> Option<()> {
        if byte & global::HAS_ATTRS != 0 || byte & 0x3F < 5 {
            // Attributes, LITERAL*, PI, EXT_*, or not a tag at all: the tree path decides.
            return None;
        }
        let has_content = byte & global::HAS_CONTENT != 0;
        if has_content && self.stack.len() >= wbxml::MAX_DEPTH {
            return None;
        }
        let token = byte & 0x3F;
        match self.lang.tag_name(self.page, token) {
            Some(name) => {
                self.current_tag = Some((self.page, token));
                self.start(name, Some((self.page, token)), has_content);
            }
            None => self.start("unknown", None, has_content),
        }
        Some(())
    }

    /// The body, parsed as `Document::visit` does for the tokens handled here (`None` for anything else).
    fn body(&mut self, mut pos: usize) -> Option<()> {
        let b = self.bytes;
        loop {
            let t = *b.get(pos)?;
            pos += 1;
            if t == global::SWITCH_PAGE {
                self.page = *b.get(pos)?;
                pos += 1;
                continue;
            }
            self.tag(t)?;
            break;
        }
        while !self.stack.is_empty() {
            if self.failed {
                return None;
            }
            let t = *b.get(pos)?;
            pos += 1;
            match t {
                global::END => self.end(),
                global::SWITCH_PAGE => {
                    self.page = *b.get(pos)?;
                    pos += 1;
                }
                global::STR_I => {
                    let rest = b.get(pos..)?;
                    let n = rest.iter().position(|&c| c == 0)?;
                    let s = rest.get(..n)?;
                    pos += n + 1;
                    if crate::wbxml::is_wbxml_type(s) {
                        self.saw_wbxml_type = true;
                    }
                    self.string_chunk(s);
                }
                global::STR_T => {
                    let index = read_mb(b, &mut pos)?;
                    let (i, l) = self.cstr(index)?;
                    if i >= self.table.len() {
                        return None;
                    }
                    self.expanded += l;
                    if self.expanded > wbxml::str_t_expansion_limit(b.len()) {
                        return None;
                    }
                    let raw = self.table.get(i..i + l)?;
                    self.string_chunk(raw);
                }
                global::ENTITY => {
                    let code = read_mb(b, &mut pos)?;
                    let c = super::libwbxml::entity_bytes(code).ok()?;
                    self.chunk(&c);
                }
                global::OPAQUE => {
                    let len = read_mb(b, &mut pos)? as usize;
                    let bytes = b.get(pos..pos.checked_add(len)?)?;
                    pos += len;
                    // What the body parser might take for a nested document: tree path.
                    if matches!(bytes.first(), Some(1..=3)) || (self.lang.is_syncml() && self.saw_wbxml_type) {
                        return None;
                    }
                    if self.lang.is_syncml() && self.current_tag == Some((1, 0x10)) {
                        let c = base64::engine::general_purpose::STANDARD.encode(bytes);
                        self.chunk(c.as_bytes());
                    } else {
                        self.chunk(bytes);
                    }
                }
                _ => self.tag(t)?,
            }
        }
        (!self.failed && pos == b.len()).then_some(())
    }
}

/// `wbxml2xml -m 0` in one pass over the bytes (no token stream, no tree); `None` asks for the tree path,
/// which handles everything else (attributes, PIs, extensions, literal tags, nested documents, any error).
pub(super) fn wbxml_to_xml(bytes: &[u8], profile: &Profile) -> Option<String> {
    if profile.xml_style != XmlStyle::Compact {
        return None;
    }
    let h = Header::parse(bytes).ok()?;
    let lang = match h.public_id {
        PublicId::Numeric(id) => Language::from_public_id(id.value),
        PublicId::StringTable { .. } => {
            h.public_id_fpi().and_then(|f| Language::from_fpi(f.split(|&b| b == 0).next().unwrap_or_default()))
        }
    }?;
    let latin1 = match h.charset.map(|c| c.value) {
        None | Some(106 | 3) => false,
        Some(4) => true,
        Some(_) => return None,
    };
    let nuls = if h.string_table.contains(&0) {
        h.string_table.iter().enumerate().filter(|&(_, c)| *c == 0).map(|(i, _)| i).collect()
    } else {
        Vec::new()
    };
    let mut out = Vec::with_capacity(bytes.len() * 3 + 256);
    out.extend_from_slice(b"<?xml version=\"1.0\"?><!DOCTYPE ");
    out.extend_from_slice(lang.root().as_bytes());
    out.extend_from_slice(b" PUBLIC \"");
    out.extend_from_slice(lang.fpi().as_bytes());
    out.extend_from_slice(b"\" \"");
    out.extend_from_slice(lang.dtd().as_bytes());
    out.extend_from_slice(b"\">");
    let mut f = Fast {
        bytes,
        profile,
        lang,
        latin1,
        table: h.string_table,
        nuls,
        out,
        stack: Vec::with_capacity(16),
        page: 0,
        current_tag: None,
        text: Vec::new(),
        run: Run::None,
        saw_wbxml_type: false,
        failed: false,
        expanded: 0,
    };
    f.body(h.body_offset)?;
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

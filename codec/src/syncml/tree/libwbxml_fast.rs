//! Single-pass versions of the libwbxml emulation for the shapes real messages have, with no intermediate
//! tree: WBXML bytes in, XML text out ([`wbxml_to_xml`]), and XML text in, WBXML bytes out
//! ([`xml_to_wbxml`]).
//!
//! WBXML → XML parses the body bytes itself (no token stream) and writes text straight into the output:
//! leading blanks are skipped while a run starts, trailing ones trimmed from the output when it ends (escapes
//! end in `;`, so this equals escaping the stripped text); only a `Type` run is collected first, because
//! libwbxml classifies and rewrites it. Tag names are written from padded per-page tables with fixed-size
//! copies. XML → WBXML writes a text run right after its `STR_I` byte and takes it back if it ends empty.
//!
//! Each function returns `None` when it meets something it does not handle (attributes, PIs, extension
//! tokens, literal tags, `OPAQUE` that the body parser might take for a nested document, vObject `Data` with
//! more than one content token or with child elements, indented output, any decoding error); the caller
//! then runs the tree emulation in `libwbxml`, which handles everything and produces the errors. Decision:
//! the fast paths never decide an error themselves, so errors, offsets and caps stay those of the tree path.
//! The corpus differential tests and property tests (generated WBXML bodies and XML documents) check that
//! whenever a fast path answers, it answers the tree path's bytes.

use base64::Engine as _;

use super::{Language, Profile, XmlStyle};
use crate::wbxml::codepage::eq_bytes;
use crate::wbxml::{self, Header, PublicId, global};

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

fn strip(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_c_space(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_c_space(b)).map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or(&[])
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

/// The index of the first byte libwbxml escapes, eight bytes at a time: `"` (0x22), `&'` (0x26, 0x27),
/// `<>` (0x3C, 0x3E).
fn find_escaped(s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // Non-zero exactly when some byte of `v` is zero.
    let has_zero = |v: u64| v.wrapping_sub(LO) & !v & HI;
    let mut chunks = s.chunks_exact(8);
    let mut at = 0;
    for c in chunks.by_ref() {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let v = u64::from_le_bytes(w);
        let hit = has_zero(v ^ (LO * 0x22))
            | has_zero((v & !LO) ^ (LO * 0x26))
            | has_zero((v & !(LO * 2)) ^ (LO * 0x3C));
        if hit != 0 {
            return c.iter().position(|&b| ESCAPED[b as usize]).map(|i| at + i);
        }
        at += 8;
    }
    chunks.remainder().iter().position(|&b| ESCAPED[b as usize]).map(|i| at + i)
}

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

/// [`name_flags`] at compile time.
const fn const_name_flags(n: &[u8]) -> u8 {
    match n {
        b"Meta" => F_META,
        b"Type" => F_TYPE,
        b"Data" => F_DATA,
        b"Add" | b"Replace" => F_ADD_REPLACE,
        _ => 0,
    }
}

fn name_flags(name: &str) -> u8 {
    match name {
        "Meta" => F_META,
        "Type" => F_TYPE,
        "Data" => F_DATA,
        "Add" | "Replace" => F_ADD_REPLACE,
        _ => 0,
    }
}

/// `<Name` and `</Name>` of one tag, padded to a fixed size so that writing them is a fixed-size copy
/// followed by a truncation (no `memcpy` call per tag).
#[derive(Debug, Clone, Copy)]
struct TagText {
    /// The name.
    name: &'static str,
    /// Its [`name_flags`].
    flags: u8,
    open: [u8; TAG_PAD],
    close: [u8; TAG_PAD],
    /// Length of the name; 0 when there is no such tag or the name is too long to be padded.
    len: u8,
}

const TAG_PAD: usize = 32;

const fn tag_texts(lang: Language, page: u8) -> [TagText; 64] {
    let mut t = [TagText { name: "", flags: 0, open: [0; TAG_PAD], close: [0; TAG_PAD], len: 0 }; 64];
    let mut token = 5;
    while token < 64 {
        if let Some(name) = lang.tag_name(page, token as u8) {
            let n = name.as_bytes();
            if n.len() + 3 <= TAG_PAD {
                let e = &mut t[token];
                e.open[0] = b'<';
                e.close[0] = b'<';
                e.close[1] = b'/';
                let mut i = 0;
                while i < n.len() {
                    e.open[i + 1] = n[i];
                    e.close[i + 2] = n[i];
                    i += 1;
                }
                e.close[n.len() + 2] = b'>';
                e.len = n.len() as u8;
                e.name = name;
                e.flags = const_name_flags(n);
            }
        }
        token += 1;
    }
    t
}

static TAGS_SYNCML11: [TagText; 64] = tag_texts(Language::SyncMl11, 0);
static TAGS_SYNCML12: [TagText; 64] = tag_texts(Language::SyncMl12, 0);
static TAGS_METINF11: [TagText; 64] = tag_texts(Language::SyncMl11, 1);
static TAGS_METINF12: [TagText; 64] = tag_texts(Language::SyncMl12, 1);
static TAGS_DEVINF11: [TagText; 64] = tag_texts(Language::DevInf11, 0);
static TAGS_DEVINF12: [TagText; 64] = tag_texts(Language::DevInf12, 0);
static TAGS_DMDDF12: [TagText; 64] = tag_texts(Language::DmDdf12, 2);

/// The padded tag texts of `(lang, page)` (the pages of [`Language::tag_name`]).
fn tag_text(lang: Language, page: u8, token: u8) -> Option<&'static TagText> {
    let table = match (lang, page) {
        (Language::SyncMl11, 0) => &TAGS_SYNCML11,
        (Language::SyncMl12, 0) => &TAGS_SYNCML12,
        (Language::SyncMl11, 1) => &TAGS_METINF11,
        (Language::SyncMl12, 1) => &TAGS_METINF12,
        (Language::DevInf11, 0) => &TAGS_DEVINF11,
        (Language::DevInf12, 0) => &TAGS_DEVINF12,
        (Language::DmDdf12, 2) => &TAGS_DMDDF12,
        _ => return None,
    };
    table.get(usize::from(token)).filter(|t| t.len > 0)
}

/// Appends the first `len` bytes of `padded` with a fixed-size copy.
fn push_padded(out: &mut Vec<u8>, padded: &[u8; TAG_PAD], len: usize) {
    let at = out.len();
    out.extend_from_slice(padded);
    out.truncate(at + len);
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    name: &'static str,
    /// The padded texts of a named tag.
    text: Option<&'static TagText>,
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

/// The index of the first NUL, eight bytes at a time.
fn find_nul(s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut chunks = s.chunks_exact(8);
    let mut at = 0;
    for c in chunks.by_ref() {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let v = u64::from_le_bytes(w);
        if v.wrapping_sub(LO) & !v & HI != 0 {
            break;
        }
        at += 8;
    }
    s.get(at..)?.iter().position(|&c| c == 0).map(|i| at + i)
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
        (i <= end && end <= self.table.len()).then(|| (i, end - i))
    }

    fn write_escaped(&mut self, s: &[u8]) {
        let mut rest = s;
        while let Some(i) = find_escaped(rest) {
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
    #[inline]
    fn flush_text(&mut self) {
        if self.run != Run::None {
            self.end_run();
        }
    }

    #[inline(never)]
    fn end_run(&mut self) {
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

    #[cold]
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

    fn start(
        &mut self,
        name: &'static str,
        token: Option<(u8, u8)>,
        text: Option<&'static TagText>,
        has_content: bool,
    ) {
        self.flush_text();
        if let Some(p) = self.stack.last()
            && p.cdata
        {
            // An element inside a vObject CDATA section: tree path.
            self.failed = true;
            return;
        }
        self.open_parent();
        let flags = text.map_or_else(|| name_flags(name), |t| t.flags);
        let mut frame = Frame {
            name,
            text,
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
        match text {
            Some(t) => push_padded(&mut self.out, &t.open, usize::from(t.len) + 1),
            None => {
                self.out.push(b'<');
                self.out.extend_from_slice(name.as_bytes());
            }
        }
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
            match f.text {
                Some(t) => push_padded(&mut self.out, &t.close, usize::from(t.len) + 3),
                None => {
                    self.out.extend_from_slice(b"</");
                    self.out.extend_from_slice(f.name.as_bytes());
                    self.out.push(b'>');
                }
            }
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

    /// A string chunk (without NUL: `STR_I` and `STR_T` strings end at the first one), converted from
    /// ISO-8859-1 when needed.
    fn string_chunk(&mut self, b: &[u8]) {
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
        let tag = Some((self.page, token));
        if let Some(t) = tag_text(self.lang, self.page, token) {
            self.current_tag = tag;
            self.start(t.name, tag, Some(t), has_content);
        } else {
            match self.lang.tag_name(self.page, token) {
                Some(name) => {
                    self.current_tag = tag;
                    self.start(name, tag, None, has_content);
                }
                None => self.start("unknown", None, None, has_content),
            }
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
                    let n = find_nul(rest)?;
                    let s = rest.get(..n)?;
                    pos += n + 1;
                    if crate::wbxml::is_wbxml_type(s) {
                        self.saw_wbxml_type = true;
                    }
                    self.string_chunk(s);
                }
                global::STR_T => {
                    let index = read_mb(b, &mut pos)?;
                    if index as usize >= self.table.len() {
                        return None;
                    }
                    let (i, l) = self.cstr(index)?;
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
                    if matches!(bytes.first(), Some(1..=3)) || (self.lang.is_syncml() && self.saw_wbxml_type)
                    {
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
        PublicId::StringTable { .. } => h
            .public_id_fpi()
            .and_then(|f| Language::from_fpi(f.split(|&b| b == 0).next().unwrap_or_default())),
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

/// The default namespace in scope inside an element (after its own declarations).
#[derive(Debug, Clone, Copy)]
enum DefaultNs<'a> {
    /// Known from the tags the scanner read (`None`: no default namespace, or undeclared with `xmlns=""`).
    Known(Option<&'a str>),
    /// Declared by attributes only [`crate::xml::Namespaces`] reads: ask it.
    Ask,
}

struct XFrame<'a> {
    /// [`name_flags`] of the local name.
    flags: u8,
    /// Index of the tag byte in the body (its content bit is set when a child appears).
    tag_pos: usize,
    has_child: bool,
    first_meta: First,
    first_type: First,
    is_first_meta: bool,
    is_first_type: bool,
    /// For a first `Type` whose first child is a text run: the class of that run's raw text.
    type_kind: Option<Kind>,
    /// vObject `Data`: its text goes to `FastX::cdata` (at most one such element is open: an element
    /// inside one leaves the fast path).
    cdata: bool,
    /// The first child was a CDATA section.
    first_child_cdata: bool,
    /// The default namespace for the children.
    default_ns: DefaultNs<'a>,
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
    /// The CDATA buffer of the open vObject `Data` (see [`XFrame::cdata`]).
    cdata: Vec<u8>,
    /// The innermost element's text run.
    run: Run,
    level: usize,
    failed: bool,
    /// The last namespace URI resolved (address and length in the source text) and its page.
    uri_cache: [Option<(&'a str, Option<u8>)>; 2],
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
    #[inline]
    fn flush_text(&mut self) {
        if self.run != Run::None {
            self.end_run();
        }
    }

    #[inline(never)]
    fn end_run(&mut self) {
        match std::mem::replace(&mut self.run, Run::None) {
            Run::None => {}
            Run::Direct { start, .. } => self.end_direct(start),
            Run::Buffered => self.flush_buffered(),
        }
    }

    /// A run written straight after `STR_I` at `start`: trimmed, rewritten if it is a `…+xml` type,
    /// terminated, or taken back when empty.
    fn end_direct(&mut self, start: usize) {
        let from = start + 1;
        if !self.profile.keep_whitespace {
            let end = self.body.get(from..).and_then(|w| w.iter().rposition(|&b| !is_c_space(b)));
            self.body.truncate(end.map_or(from, |e| from + e + 1));
        }
        let written = self.body.get(from..).unwrap_or_default();
        if written.is_empty() {
            self.body.truncate(start);
            return;
        }
        if self.lang.is_some_and(Language::is_syncml) {
            let to: &[u8] = if written.eq_ignore_ascii_case(b"application/vnd.syncml-devinf+xml") {
                b"application/vnd.syncml-devinf+wbxml"
            } else if written.eq_ignore_ascii_case(b"application/vnd.syncml.dmtnds+xml") {
                b"application/vnd.syncml.dmtnds+wbxml"
            } else {
                b""
            };
            if !to.is_empty() {
                self.body.truncate(from);
                self.body.extend_from_slice(to);
            }
        }
        self.body.push(0);
    }

    /// Appends a piece of the current run.
    fn run_push(&mut self, s: &[u8], crlf: bool) {
        match self.run {
            Run::Direct { start, leading: true } => {
                if let Some(i) = s.iter().position(|&b| !is_c_space(b)) {
                    self.run = Run::Direct { start, leading: false };
                    push_crlf(&mut self.body, s.get(i..).unwrap_or_default(), crlf);
                }
            }
            Run::Direct { .. } => push_crlf(&mut self.body, s, crlf),
            _ => push_crlf(&mut self.text, s, crlf),
        }
    }

    /// A run of a first `Type` (its raw text is classified): collected, then written.
    #[cold]
    fn flush_buffered(&mut self) {
        let text = std::mem::take(&mut self.text);
        if let Some(f) = self.stack.last_mut()
            && f.is_first_type
            && f.type_kind.is_none()
        {
            f.type_kind = Some(classify(&text));
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
            // On the XML side a +wbxml type changes nothing.
            Some(Kind::Xml | Kind::Wbxml) => return None,
            Some(k @ (Kind::Clear | Kind::VObject)) => return Some(k),
            _ => {}
        }
        grand.is_some_and(|g| g.flags == F_ADD_REPLACE).then_some(Kind::VObject)
    }

    /// The default namespace the innermost element gives its children.
    fn inherited_ns(&self) -> DefaultNs<'a> {
        self.stack.last().map_or(DefaultNs::Known(None), |f| f.default_ns)
    }

    /// A start tag from [`crate::xml::visit`]: its attributes read here.
    fn start(&mut self, raw: &'a str, kind: crate::xml::EventKind, empty: bool) {
        self.flush_text();
        let name_len = match kind {
            crate::xml::EventKind::Start { name_len } | crate::xml::EventKind::Empty { name_len } => name_len,
            _ => 0,
        };
        let default_ns = if raw.len() == name_len + 2 + usize::from(empty) {
            // `<Name>` or `<Name/>`: no attributes.
            self.ns.push_none();
            self.inherited_ns()
        } else {
            match default_xmlns(raw, kind, empty) {
                Some(uri) => {
                    self.ns.push_default(uri);
                    DefaultNs::Known(Some(uri).filter(|u| !u.is_empty()))
                }
                None => {
                    self.ns.push_tag(raw, kind);
                    DefaultNs::Ask
                }
            }
        };
        let (prefix, local) = crate::xml::split_qname(crate::xml::tag_name(raw, kind));
        self.start_in(prefix, local, default_ns, empty);
    }

    /// A start tag whose namespace declarations are known; `prefix` and `local` are its name's parts.
    fn start_in(&mut self, prefix: Option<&'a str>, local: &'a str, default_ns: DefaultNs<'a>, empty: bool) {
        let uri: Option<&str> = match (prefix, default_ns) {
            (None, DefaultNs::Known(u)) => u,
            _ => self.ns.resolve(prefix),
        };
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
        // (Only `DevInf` and `MgmtTree` start embedded documents.)
        if self.level > 0
            && matches!(local.len(), 6 | 8)
            && super::from_xml::embedded_language(lang, uri, local).is_some()
        {
            self.failed = true;
            return;
        }
        if self.stack.last().is_some_and(|f| f.cdata) {
            self.failed = true;
            return;
        }
        // The page of a URI depends on the URI alone (the language is the document's): the last two URIs
        // (SyncML and MetInf, typically) are kept with their pages.
        let cached = uri.and_then(|u| {
            self.uri_cache
                .iter()
                .flatten()
                .find(|(k, _)| eq_bytes(k.as_bytes(), u.as_bytes()))
                .map(|&(_, p)| p)
        });
        let tok = match cached {
            Some(page) => lang.tag_token(page, local),
            None => {
                let (page, tok) = super::from_xml::resolve(lang, uri, local);
                // Only URIs borrowed from the source text live long enough to be kept.
                let src = self.src.as_bytes().as_ptr_range();
                if let Some(u) = uri.filter(|u| src.contains(&u.as_ptr()))
                    && let Some(u) = self
                        .src
                        .get(u.as_ptr() as usize - src.start as usize..)
                        .and_then(|t| t.get(..u.len()))
                {
                    self.uri_cache = [Some((u, page)), self.uri_cache[0]];
                }
                tok
            }
        };
        let Some((page, token)) = tok else {
            // A literal tag: needs the string table; the tree path reports it.
            self.failed = true;
            return;
        };
        self.mark_child();
        let flags = name_flags(local);
        let mut frame = XFrame {
            flags,
            tag_pos: 0,
            has_child: false,
            first_meta: First::None,
            first_type: First::None,
            is_first_meta: false,
            is_first_type: false,
            type_kind: None,
            cdata: false,
            first_child_cdata: false,
            default_ns,
        };
        if let Some(p) = self.stack.last_mut() {
            if flags == F_META && p.first_meta == First::None {
                p.first_meta = First::Pending;
                frame.is_first_meta = true;
            }
            if flags == F_TYPE && p.is_first_meta && p.first_type == First::None {
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
        if f.cdata && !self.cdata.is_empty() {
            self.body.push(global::OPAQUE);
            crate::wbxml::MbUint32::new(u32::try_from(self.cdata.len()).unwrap_or(u32::MAX))
                .write(&mut self.body);
            self.body.extend_from_slice(&self.cdata);
            self.cdata.clear();
        }
        if f.has_child {
            self.body.push(global::END);
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

    /// Character data; `refs`: it may hold references or CRs (else it is its own unescaped text).
    fn chars(&mut self, raw: &str, refs: bool) {
        let decoded = if refs { crate::xml::unescape(raw, false) } else { std::borrow::Cow::Borrowed(raw) };
        if refs && decoded.as_bytes().contains(&0) {
            // NUL in text (lenient XML; found by the `xml` fuzz target's differential check): libwbxml
            // ends the string there, which the tree path does; the scanner never passes NUL (`refs` false).
            self.failed = true;
            return;
        }
        let dt = self.data_type();
        let crlf = dt == Some(Kind::VObject);
        let into_cdata = dt.is_some() && self.stack.last().is_some_and(|f| f.cdata || !f.first_child_cdata);
        if into_cdata {
            self.mark_child();
            if let Some(f) = self.stack.last_mut() {
                f.cdata = true;
                push_crlf(&mut self.cdata, decoded.as_bytes(), crlf);
            }
        } else {
            if self.run == Run::None {
                self.mark_child();
                self.run = if self.stack.last().is_some_and(|f| f.is_first_type) {
                    Run::Buffered
                } else {
                    let start = self.body.len();
                    self.body.push(global::STR_I);
                    Run::Direct { start, leading: !self.profile.keep_whitespace }
                };
            }
            self.run_push(decoded.as_bytes(), crlf);
        }
    }

    /// An explicit CDATA section: one `OPAQUE` at its place.
    fn cdata_section(&mut self, raw: &str) {
        self.flush_text();
        let Some(top) = self.stack.last() else { return };
        if top.cdata {
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
                // The DOCTYPE libwbxml writes is compared as it is; any other is parsed.
                if let Some(l) = Language::ALL.into_iter().find(|&l| is_plain_doctype(raw, l)) {
                    self.doctype_lang = Some(l);
                    return;
                }
                self.doctype_lang = crate::xml::doctype_of(raw).and_then(|d| {
                    d.public_id
                        .and_then(|p| Language::from_fpi(p.as_bytes()))
                        .or_else(|| d.system_id.and_then(Language::from_dtd))
                });
            }
            K::Start { .. } => self.start(raw, ev.kind, false),
            K::Empty { .. } => self.start(raw, ev.kind, true),
            K::End => self.end(),
            K::Text if self.level > 0 => self.chars(raw, true),
            K::CData if self.level > 0 => self.cdata_section(raw),
            _ => {}
        }
    }
}

impl<'a> super::fast_xml::ScanSink<'a> for FastX<'a, '_> {
    fn start_tag(
        &mut self,
        src: &'a str,
        start: usize,
        end: usize,
        name: &'a str,
        prefixed: bool,
        attrs: super::fast_xml::Attrs<'a>,
        empty: bool,
    ) {
        use super::fast_xml::Attrs;
        if self.failed {
            return;
        }
        let kind = super::fast_xml::tag_kind(name.len(), empty);
        if prefixed {
            self.start(src.get(start..end).unwrap_or(""), kind, empty);
            return;
        }
        self.flush_text();
        let default_ns = match attrs {
            Attrs::None => {
                self.ns.push_none();
                self.inherited_ns()
            }
            Attrs::Default(uri) => {
                self.ns.push_default(uri);
                DefaultNs::Known(Some(uri).filter(|u| !u.is_empty()))
            }
            Attrs::Other => {
                self.ns.push_tag(src.get(start..end).unwrap_or(""), kind);
                DefaultNs::Ask
            }
        };
        self.start_in(None, name, default_ns, empty);
    }

    fn end_tag(&mut self, _src: &'a str, _start: usize, _end: usize) {
        if !self.failed {
            self.end();
        }
    }

    fn text(&mut self, src: &'a str, start: usize, end: usize, refs: bool) {
        if !self.failed && self.level > 0 {
            self.chars(src.get(start..end).unwrap_or(""), refs);
        }
    }
}

/// The URI of a tag whose only attribute is a default namespace declaration with nothing to unescape,
/// `<Name xmlns="uri">` (the usual SyncML shape), read without the general attribute parser; `None` for
/// every other tag (which [`crate::xml::Namespaces::push_tag`] then reads). `raw` is a well-formed tag.
fn default_xmlns(raw: &str, kind: crate::xml::EventKind, empty: bool) -> Option<&str> {
    let (crate::xml::EventKind::Start { name_len } | crate::xml::EventKind::Empty { name_len }) = kind else {
        return None;
    };
    let v = raw.get(1 + name_len..)?.strip_prefix(" xmlns=")?;
    let v = v.strip_suffix(if empty { "/>" } else { ">" })?;
    let q = *v.as_bytes().first()?;
    let inner = v.get(1..v.len().checked_sub(1)?)?;
    let plain = matches!(q, b'"' | b'\'')
        && v.len() >= 2
        && v.as_bytes().last() == Some(&q)
        && !inner.bytes().any(|b| matches!(b, b'"' | b'\'' | b'&' | b'<' | b'\r' | b'\n' | b'\t'));
    plain.then_some(inner)
}

/// `raw` is `<!DOCTYPE root PUBLIC "fpi" "dtd">` of `lang`, as `wbxml2xml` writes it.
fn is_plain_doctype(raw: &str, lang: Language) -> bool {
    (|| {
        let r = raw.strip_prefix("<!DOCTYPE ")?.strip_prefix(lang.root())?.strip_prefix(" PUBLIC \"")?;
        let r = r.strip_prefix(lang.fpi())?.strip_prefix("\" \"")?.strip_prefix(lang.dtd())?;
        (r == "\">").then_some(())
    })()
    .is_some()
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
        ns: crate::xml::Namespaces::with_capacity(32),
        body: Vec::with_capacity(src.len() / 2 + 16),
        page: 0,
        stack: Vec::with_capacity(32),
        text: Vec::with_capacity(64),
        cdata: Vec::new(),
        run: Run::None,
        level: 0,
        failed: false,
        uri_cache: [None; 2],
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
    let mut out = Vec::with_capacity(table.len() + 12);
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
    // The header goes in front of the body in the body's own buffer (one move, no second buffer).
    let mut body = f.body;
    body.splice(0..0, out);
    Some(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Decode;
    use crate::syncml::tree::wbxml_to_xml as tree_path;
    use crate::testdata::shared_file;
    use proptest::prelude::*;

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

    #[test]
    fn tag_texts_are_the_names() {
        for lang in [
            Language::SyncMl11,
            Language::SyncMl12,
            Language::DevInf11,
            Language::DevInf12,
            Language::DmDdf12,
        ] {
            for page in 0..3u8 {
                for token in 0..64u8 {
                    let t = tag_text(lang, page, token);
                    match lang.tag_name(page, token) {
                        Some(n) if token >= 5 => {
                            let t = t.unwrap();
                            assert_eq!((t.name, t.flags), (n, name_flags(n)));
                            assert_eq!(&t.open[..=n.len()], format!("<{n}").as_bytes());
                            assert_eq!(&t.close[..n.len() + 3], format!("</{n}>").as_bytes());
                        }
                        _ => assert!(t.is_none()),
                    }
                }
            }
        }
    }

    /// The DOCTYPE shortcut gives what parsing the DOCTYPE gives, and only for the exact text.
    #[test]
    fn plain_doctype_is_the_parsed_one() {
        for l in Language::ALL {
            let d = format!("<!DOCTYPE {} PUBLIC \"{}\" \"{}\">", l.root(), l.fpi(), l.dtd());
            let parsed = crate::xml::doctype_of(&d).and_then(|d| {
                d.public_id
                    .and_then(|p| Language::from_fpi(p.as_bytes()))
                    .or_else(|| d.system_id.and_then(Language::from_dtd))
            });
            assert_eq!(parsed, Some(l), "{d}");
            assert_eq!(Language::ALL.into_iter().find(|&m| is_plain_doctype(&d, m)), Some(l), "{d}");
            for other in
                [d.replace("PUBLIC", "SYSTEM"), d.replace("\">", "\" >"), d.replace(" PUBLIC", "  PUBLIC")]
            {
                assert!(!is_plain_doctype(&other, l), "{other}");
            }
        }
    }

    #[test]
    fn default_xmlns_reads_only_the_plain_shape() {
        use crate::xml::EventKind as K;
        let start = |raw: &'static str, n: usize| default_xmlns(raw, K::Start { name_len: n }, false);
        assert_eq!(start("<Type xmlns=\"syncml:metinf\">", 4), Some("syncml:metinf"));
        assert_eq!(start("<Type xmlns='syncml:metinf'>", 4), Some("syncml:metinf"));
        assert_eq!(default_xmlns("<A xmlns='u'/>", K::Empty { name_len: 1 }, true), Some("u"));
        assert_eq!(default_xmlns("<A xmlns='u' />", K::Empty { name_len: 1 }, true), None);
        assert_eq!(start("<A xmlns='a&amp;b'>", 1), None);
        assert_eq!(start("<A xmlns='a\tb'>", 1), None);
        assert_eq!(start("<A xmlns='u' b='c'>", 1), None);
        assert_eq!(start("<A xmlns:p='u'>", 1), None);
        assert_eq!(start("<A>", 1), None);
    }

    /// A body of SyncML 1.2 tokens from pieces, balanced: tags (with and without content, on pages 0
    /// and 1), ENDs, strings with blanks and escaped characters, entities, opaque data.
    fn body() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            proptest::sample::select(vec![0x4Fu8, 0x5A, 0x45, 0x60, 0x54, 0x46, 0x0F, 0x52])
                .prop_map(|t| vec![t]),
            Just(vec![0x00, 0x01, 0x53]),
            Just(vec![0x00, 0x01, 0x50]),
            Just(vec![0x00, 0x00]),
            Just(vec![0x01]),
            Just(vec![0x01]),
            "[ a<>&\"'\t\n\u{e9}]{0,6}".prop_map(|t| {
                let mut v = vec![0x03];
                v.extend_from_slice(t.as_bytes());
                v.push(0);
                v
            }),
            proptest::sample::select(vec![
                "application/vnd.syncml-devinf+wbxml",
                "text/plain",
                "text/x-vcard",
                " b64 ",
            ])
            .prop_map(|t| {
                let mut v = vec![0x03];
                v.extend_from_slice(t.as_bytes());
                v.push(0);
                v
            }),
            (0x20u8..0x7F).prop_map(|c| vec![0x02, c]),
            "[a-z \n]{0,5}".prop_map(|t| {
                let mut v = vec![0xC3, t.len() as u8];
                v.extend_from_slice(t.as_bytes());
                v
            }),
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|pieces| {
            let mut b = crate::hexser::parse_hex("02a4016a006d").unwrap();
            let mut depth = 0usize;
            for p in pieces {
                match p.as_slice() {
                    [0x01] if depth == 0 => continue,
                    [0x01] => depth -= 1,
                    [t] if t & 0x40 != 0 => depth += 1,
                    [0x00, 0x01, t] if t & 0x40 != 0 => depth += 1,
                    _ => {}
                }
                b.extend_from_slice(&p);
            }
            b.extend(std::iter::repeat_n(0x01, depth + 1));
            b
        })
    }

    fn text_piece() -> impl Strategy<Value = String> {
        proptest::sample::select(vec![
            " ",
            "a",
            "&amp;",
            "&lt;",
            "&#65;",
            "\n",
            "\r\n",
            "x y",
            "&apos;\"",
            "application/vnd.syncml-devinf+xml",
            "<![CDATA[c\nd]]>",
            "<!-- k -->",
        ])
        .prop_map(String::from)
    }

    /// A SyncML XML document from pieces, balanced.
    fn xml_doc() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            proptest::sample::select(vec!["Data", "Meta", "Add", "Replace", "Item", "Alert", "Final"])
                .prop_map(|n| (Some(n), false, String::new())),
            proptest::sample::select(vec!["Type", "Format"]).prop_map(|n| (Some(n), true, String::new())),
            Just((None, false, String::new())),
            text_piece().prop_map(|t| (None, true, t)),
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|pieces| {
            let mut s = String::from("<SyncML xmlns='SYNCML:SYNCML1.2'>");
            let mut open: Vec<&str> = Vec::new();
            for (name, flag, text) in pieces {
                match (name, flag) {
                    (Some(n), false) => {
                        s.push_str(&format!("<{n}>"));
                        open.push(n);
                    }
                    (Some(n), true) => {
                        s.push_str(&format!("<{n} xmlns=\"syncml:metinf\">"));
                        open.push(n);
                    }
                    (None, false) => {
                        if let Some(n) = open.pop() {
                            s.push_str(&format!("</{n}>"));
                        }
                    }
                    (None, true) => s.push_str(&text),
                }
            }
            while let Some(n) = open.pop() {
                s.push_str(&format!("</{n}>"));
            }
            s.push_str("</SyncML>");
            s
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn swar_scans_equal_byte_scans(s in proptest::collection::vec(any::<u8>(), 0..40)) {
            prop_assert_eq!(find_nul(&s), s.iter().position(|&c| c == 0));
            prop_assert_eq!(find_escaped(&s), s.iter().position(|&c| ESCAPED[usize::from(c)]));
        }

        /// Whenever the single-pass WBXML → XML path answers, it answers what the tree path does.
        #[test]
        fn wbxml_fast_path_equals_tree_path(b in body(), keep in any::<bool>()) {
            let p = Profile { keep_whitespace: keep, ..Profile::libwbxml() };
            let fast = wbxml_to_xml(&b, &p);
            match wbxml::Document::decode_exact(&b) {
                Ok(d) => {
                    if let Some(f) = fast {
                        prop_assert_eq!(Ok(f), tree_path(&d, &p));
                    }
                }
                Err(_) => prop_assert!(fast.is_none()),
            }
        }

        /// Whenever the single-pass XML → WBXML path answers, it answers what the tree path does.
        #[test]
        fn xml_fast_path_equals_tree_path(x in xml_doc(), keep in any::<bool>()) {
            let p = Profile { keep_whitespace: keep, ..Profile::libwbxml() };
            let fast = xml_to_wbxml(&x, crate::xml::Mode::Strict, &p);
            let doc = crate::xml::Document::parse(&x, crate::xml::Mode::Strict).unwrap();
            match crate::syncml::tree::xml_to_wbxml(&doc, &p) {
                Ok(slow) => {
                    if let Some(f) = fast {
                        prop_assert_eq!(f, crate::reader::Encode::encode(&slow), "{}", x);
                    }
                }
                Err(_) => prop_assert!(fast.is_none(), "{}", x),
            }
        }
    }
}

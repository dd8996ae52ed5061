//! A scanner for the plain subset of XML that SyncML messages use, feeding the single-pass libwbxml
//! conversion without going through `quick-xml`.
//!
//! It accepts a strict subset of what [`crate::xml::visit`] accepts (ASCII names, an optional
//! `<?xml version="1.0" …?>` declaration, a DOCTYPE without internal subset, comments, CDATA, the five
//! predefined entities and character references) and then reports exactly the events `visit` would. For
//! anything else it returns `None` — it never rejects a document on its own: the caller then runs `visit`,
//! which decides and reports errors. The unit tests check the subset property on the corpus and on random
//! input.

use crate::wbxml::codepage::eq_bytes;
use crate::xml::{Event, EventKind, EventSink, MAX_DEPTH, is_xml_char};

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':'
}

/// The ASCII name characters of the subset, as a table (one load per byte in the name loop).
const NAME_CHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'_' | b':' | b'-' | b'.');
        b += 1;
    }
    t
};

fn is_name_char(b: u8) -> bool {
    NAME_CHAR[usize::from(b)]
}

/// A reference body is one of the five entities or a character reference to an XML `Char`.
fn valid_ref(body: &[u8]) -> bool {
    match body {
        b"amp" | b"lt" | b"gt" | b"quot" | b"apos" => true,
        [b'#', b'x', hex @ ..]
            if !hex.is_empty() && hex.len() <= 6 && hex.iter().all(u8::is_ascii_hexdigit) =>
        {
            let v = hex.iter().fold(0u32, |a, &d| a * 16 + char::from(d).to_digit(16).unwrap_or(0));
            char::from_u32(v).is_some_and(is_xml_char)
        }
        [b'#', dec @ ..] if !dec.is_empty() && dec.len() <= 7 && dec.iter().all(u8::is_ascii_digit) => {
            let v = dec.iter().fold(0u32, |a, &d| a * 10 + u32::from(d - b'0'));
            char::from_u32(v).is_some_and(is_xml_char)
        }
        _ => false,
    }
}

/// Checks character data (text or attribute value): XML `Char`s only, `&` only in valid references, no
/// `]]>` in text, no `<` in attribute values.
fn check_chars(s: &[u8], attr: bool) -> Option<()> {
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        match c {
            b'\t' | b'\n' | b'\r' => {}
            0..=0x1F => return None,
            b'<' if attr => return None,
            b']' if !attr && s.get(i + 1..i + 3) == Some(b"]>") => return None,
            b'&' => {
                let end = s.get(i + 1..)?.iter().take(10).position(|&b| b == b';')?;
                if !valid_ref(s.get(i + 1..i + 1 + end)?) {
                    return None;
                }
                i += end + 1;
            }
            0xEF if matches!(s.get(i + 1..i + 3), Some([0xBF, 0xBE | 0xBF])) => return None,
            _ => {}
        }
        i += 1;
    }
    Some(())
}

/// Bytes of character data that need a closer look: controls, `&`, `]`, `<`, and 0xEF (U+FFFE, U+FFFF).
const TEXT_SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'&' as usize] = true;
    t[b']' as usize] = true;
    t[b'<' as usize] = true;
    t[0xEF] = true;
    t
};

/// The length of the character data at the start of `s` (up to the next `<`), checked as
/// [`check_chars`] checks text, in one pass, and whether it holds a reference or a CR (text that
/// [`crate::xml::unescape`] changes); `None` when there is no `<` or the text is not in the subset.
fn text_len(s: &[u8]) -> Option<(usize, bool)> {
    let mut i = 0;
    let mut refs = false;
    loop {
        i += s.get(i..)?.iter().position(|&c| TEXT_SPECIAL[usize::from(c)])?;
        match *s.get(i)? {
            b'<' => return Some((i, refs)),
            b'\r' => refs = true,
            b'\t' | b'\n' => {}
            0..=0x1F => return None,
            b']' if s.get(i + 1..i + 3) == Some(b"]>") => return None,
            b'&' => {
                refs = true;
                // A reference body never holds `<`, so looking past the end of the text changes nothing.
                let end = s.get(i + 1..)?.iter().take(10).position(|&b| b == b';')?;
                if !valid_ref(s.get(i + 1..i + 1 + end)?) {
                    return None;
                }
                i += end + 1;
            }
            0xEF if matches!(s.get(i + 1..i + 3), Some([0xBF, 0xBE | 0xBF])) => return None,
            _ => {}
        }
        i += 1;
    }
}

/// The shape of a start tag's attributes, as the scanner saw them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Attrs<'a> {
    /// No attributes.
    None,
    /// Exactly one attribute, `xmlns`, whose value has no reference and no white space other than
    /// the space character (what [`crate::xml::unescape`] would leave as it is): the value.
    Default(&'a str),
    /// Anything else.
    Other,
}

/// What the scanner tells its sink: [`EventSink`] events, and for tags and text what it already knows
/// (the default methods pass the plain events, so that any [`EventSink`] can be a `ScanSink`).
pub(super) trait ScanSink<'a>: EventSink {
    /// A start (`empty` false) or empty-element tag at `start..end` whose qualified name is `name`
    /// (`prefixed` when it holds a `:`), with attributes of shape `attrs`.
    #[allow(clippy::too_many_arguments)]
    fn start_tag(
        &mut self,
        src: &'a str,
        start: usize,
        end: usize,
        name: &'a str,
        prefixed: bool,
        attrs: Attrs<'a>,
        empty: bool,
    ) {
        let _ = (prefixed, attrs);
        self.event(src, Event { kind: tag_kind(name.len(), empty), start, end });
    }

    /// An end tag at `start..end` (its name matched the open element's).
    fn end_tag(&mut self, src: &'a str, start: usize, end: usize) {
        self.event(src, Event { kind: EventKind::End, start, end });
    }

    /// Character data at `start..end` inside the root element; `refs`: it holds a reference or a CR.
    fn text(&mut self, src: &'a str, start: usize, end: usize, refs: bool) {
        let _ = refs;
        self.event(src, Event { kind: EventKind::Text, start, end });
    }
}

impl ScanSink<'_> for Vec<Event> {}

struct Scanner<'a, 's, S> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    sink: &'s mut S,
    /// Open elements: name range.
    open: Vec<(usize, usize)>,
    /// Declared namespace prefixes per open element (ranges into the source).
    prefixes: Vec<(usize, usize, usize)>,
}

impl<'a, S: ScanSink<'a>> Scanner<'a, '_, S> {
    fn emit(&mut self, kind: EventKind, start: usize, end: usize) {
        self.sink.event(self.src, Event { kind, start, end });
    }

    fn find(&self, from: usize, pat: &[u8]) -> Option<usize> {
        let hay = self.b.get(from..)?;
        hay.windows(pat.len()).position(|w| w == pat).map(|i| from + i)
    }

    fn name(&mut self) -> Option<(usize, usize)> {
        let start = self.pos;
        if !is_name_start(*self.b.get(start)?) {
            return None;
        }
        let tail = self.b.get(start + 1..).unwrap_or_default();
        let end = start + 1 + tail.iter().position(|&c| !is_name_char(c)).unwrap_or(tail.len());
        self.pos = end;
        Some((start, end))
    }

    fn spaces(&mut self) -> usize {
        let start = self.pos;
        while self.b.get(self.pos).is_some_and(|&c| is_space(c)) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn quoted(&mut self) -> Option<(usize, usize)> {
        let q = *self.b.get(self.pos)?;
        if q != b'"' && q != b'\'' {
            return None;
        }
        let start = self.pos + 1;
        let len = self.b.get(start..)?.iter().position(|&c| c == q)?;
        self.pos = start + len + 1;
        Some((start, start + len))
    }

    fn slice(&self, (s, e): (usize, usize)) -> &[u8] {
        self.b.get(s..e).unwrap_or_default()
    }

    fn declared(&self, prefix: &[u8]) -> bool {
        prefix == b"xml"
            || prefix == b"xmlns"
            || self.prefixes.iter().any(|&(_, s, e)| self.slice((s, e)) == prefix)
    }

    /// A start or empty-element tag at `self.pos` (on `<`). Tags with more than [`MAX_ATTRS`] attributes
    /// are outside the subset.
    fn tag(&mut self) -> Option<bool> {
        let start = self.pos;
        self.pos += 1;
        let name = self.name()?;
        // The usual shape, `<Name>` with an unprefixed name: no attribute to read.
        if self.b.get(self.pos) == Some(&b'>') {
            let qname = self.src.get(name.0..name.1)?;
            if !qname.bytes().any(|c| c == b':') {
                if self.open.len() >= MAX_DEPTH {
                    return None;
                }
                self.pos += 1;
                self.open.push(name);
                self.sink.start_tag(self.src, start, self.pos, qname, false, Attrs::None, false);
                return Some(false);
            }
        }
        self.tag_rest(start, name)
    }

    /// The rest of a start or empty-element tag after its name: attributes, `>` or `/>`.
    fn tag_rest(&mut self, start: usize, name: (usize, usize)) -> Option<bool> {
        let mut attrs = [(0usize, 0usize); MAX_ATTRS];
        let mut n_attrs = 0;
        let mut value = (0, 0);
        let depth = self.open.len();
        let empty = loop {
            let had_space = self.spaces() > 0;
            match self.b.get(self.pos)? {
                b'>' => {
                    self.pos += 1;
                    break false;
                }
                b'/' => {
                    if self.b.get(self.pos + 1) != Some(&b'>') {
                        return None;
                    }
                    self.pos += 2;
                    break true;
                }
                _ if !had_space => return None,
                _ => {
                    let an = self.name()?;
                    self.spaces();
                    if self.b.get(self.pos) != Some(&b'=') {
                        return None;
                    }
                    self.pos += 1;
                    self.spaces();
                    let v = self.quoted()?;
                    check_chars(self.slice(v), true)?;
                    let key = self.slice(an);
                    if attrs.get(..n_attrs)?.iter().any(|&a| eq_bytes(self.slice(a), key)) {
                        return None;
                    }
                    if let Some(p) = key.strip_prefix(b"xmlns:") {
                        if v.0 == v.1 || p.is_empty() {
                            return None;
                        }
                        self.prefixes.push((depth, an.0 + 6, an.1));
                    }
                    *attrs.get_mut(n_attrs)? = an;
                    n_attrs += 1;
                    value = v;
                }
            }
        };
        let attrs = attrs.get(..n_attrs)?;
        // Prefixes of the element and its attributes must be declared (here or above).
        let qname = self.slice(name);
        let prefixed = qname.contains(&b':');
        let prefix_ok = |q: &[u8]| match q.iter().position(|&c| c == b':') {
            Some(i) => self.declared(q.get(..i).unwrap_or_default()),
            None => true,
        };
        if (prefixed && !prefix_ok(qname))
            || (!attrs.is_empty() && !attrs.iter().all(|&a| prefix_ok(self.slice(a))))
        {
            return None;
        }
        let shape = match attrs {
            [] => Attrs::None,
            [a] if eq_bytes(self.slice(*a), b"xmlns")
                && !self.slice(value).iter().any(|&c| matches!(c, b'&' | b'\t' | b'\n' | b'\r')) =>
            {
                Attrs::Default(self.src.get(value.0..value.1)?)
            }
            _ => Attrs::Other,
        };
        let qname = self.src.get(name.0..name.1)?;
        if empty {
            if !self.prefixes.is_empty() {
                self.prefixes.retain(|&(d, _, _)| d < depth);
            }
            self.sink.start_tag(self.src, start, self.pos, qname, prefixed, shape, true);
        } else {
            if self.open.len() >= MAX_DEPTH {
                return None;
            }
            self.open.push(name);
            self.sink.start_tag(self.src, start, self.pos, qname, prefixed, shape, false);
        }
        Some(empty)
    }

    fn end_tag(&mut self) -> Option<()> {
        let start = self.pos;
        self.pos += 2;
        // The name must be the open element's, followed by a character that cannot continue a name
        // (the same as reading a name and comparing it).
        let open = self.open.pop()?;
        let len = open.1 - open.0;
        if !eq_bytes(self.b.get(self.pos..self.pos + len)?, self.slice(open)) {
            return None;
        }
        self.pos += len;
        self.spaces();
        if self.b.get(self.pos) != Some(&b'>') {
            return None;
        }
        self.pos += 1;
        let depth = self.open.len();
        if !self.prefixes.is_empty() {
            self.prefixes.retain(|&(d, _, _)| d < depth);
        }
        self.sink.end_tag(self.src, start, self.pos);
        Some(())
    }

    fn comment(&mut self) -> Option<()> {
        let start = self.pos;
        let end = self.find(start + 4, b"--")?;
        if self.b.get(end + 2) != Some(&b'>') {
            return None;
        }
        check_chars(self.b.get(start + 4..end)?, true)?;
        self.pos = end + 3;
        self.emit(EventKind::Comment, start, self.pos);
        Some(())
    }

    fn cdata(&mut self) -> Option<()> {
        let start = self.pos;
        let end = self.find(start + 9, b"]]>")?;
        let inner = self.b.get(start + 9..end)?;
        if inner.iter().any(|&c| c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r')) {
            return None;
        }
        self.pos = end + 3;
        self.emit(EventKind::CData, start, self.pos);
        Some(())
    }

    /// The prolog: declaration, DOCTYPE, comments, whitespace.
    fn prolog(&mut self) -> Option<()> {
        if self.b.starts_with(b"<?xml") {
            let end = self.find(0, b"?>")?;
            self.pos = 5;
            let mut seen = 0;
            for want in [&b"version"[..], b"encoding", b"standalone"] {
                let save = self.pos;
                if self.spaces() == 0 {
                    self.pos = save;
                    break;
                }
                let Some(n) = self.name() else {
                    self.pos = save;
                    break;
                };
                if self.slice(n) != want {
                    if seen == 0 {
                        return None;
                    }
                    self.pos = save;
                    continue;
                }
                self.spaces();
                if self.b.get(self.pos) != Some(&b'=') {
                    return None;
                }
                self.pos += 1;
                self.spaces();
                let v = self.quoted()?;
                let ok = match want {
                    b"version" => self.slice(v) == b"1.0",
                    b"encoding" => self.slice(v).eq_ignore_ascii_case(b"utf-8"),
                    _ => matches!(self.slice(v), b"yes" | b"no"),
                };
                if !ok {
                    return None;
                }
                seen += 1;
            }
            self.spaces();
            if seen == 0 || self.pos != end {
                return None;
            }
            self.pos = end + 2;
            self.emit(EventKind::Decl, 0, self.pos);
        }
        let mut doctype = false;
        loop {
            let s = self.pos;
            if self.spaces() > 0 {
                self.emit(EventKind::Text, s, self.pos);
            }
            if self.b.get(self.pos..self.pos + 4) == Some(b"<!--") {
                self.comment()?;
            } else if !doctype && self.b.get(self.pos..self.pos + 9) == Some(b"<!DOCTYPE") {
                let start = self.pos;
                self.pos += 9;
                if self.spaces() == 0 {
                    return None;
                }
                self.name()?;
                let save = self.pos;
                if self.spaces() > 0 {
                    let kw = self.pos;
                    if self.b.get(kw..kw + 6) == Some(b"PUBLIC") {
                        self.pos += 6;
                        if self.spaces() == 0 {
                            return None;
                        }
                        let p = self.quoted()?;
                        if self.slice(p).iter().any(|c| matches!(c, b'<' | b'>' | b'[' | b']')) {
                            return None;
                        }
                        if self.spaces() == 0 {
                            return None;
                        }
                        self.quoted()?;
                    } else if self.b.get(kw..kw + 6) == Some(b"SYSTEM") {
                        self.pos += 6;
                        if self.spaces() == 0 {
                            return None;
                        }
                        self.quoted()?;
                    } else {
                        self.pos = save;
                    }
                }
                self.spaces();
                if self.b.get(self.pos) != Some(&b'>') {
                    return None;
                }
                self.pos += 1;
                doctype = true;
                self.emit(EventKind::Doctype, start, self.pos);
            } else {
                return Some(());
            }
        }
    }

    fn run(&mut self) -> Option<()> {
        if !self.src.is_ascii() && self.src.starts_with('\u{FEFF}') {
            return None;
        }
        self.prolog()?;
        if self.b.get(self.pos) != Some(&b'<') {
            return None;
        }
        if self.tag()? {
            return self.epilog();
        }
        while !self.open.is_empty() {
            let start = self.pos;
            match self.b.get(self.pos)? {
                b'<' => match self.b.get(self.pos + 1)? {
                    b'/' => self.end_tag()?,
                    b'!' if self.b.get(self.pos..self.pos + 4) == Some(b"<!--") => self.comment()?,
                    b'!' if self.b.get(self.pos..self.pos + 9) == Some(b"<![CDATA[") => self.cdata()?,
                    b'!' | b'?' => return None,
                    _ => {
                        self.tag()?;
                    }
                },
                _ => {
                    let (len, refs) = text_len(self.b.get(start..)?)?;
                    self.pos = start + len;
                    self.sink.text(self.src, start, self.pos, refs);
                }
            }
        }
        self.epilog()
    }

    fn epilog(&mut self) -> Option<()> {
        loop {
            let s = self.pos;
            if self.spaces() > 0 {
                self.emit(EventKind::Text, s, self.pos);
            }
            if self.pos == self.b.len() {
                return Some(());
            }
            if self.b.get(self.pos..self.pos + 4) == Some(b"<!--") {
                self.comment()?;
            } else {
                return None;
            }
        }
    }
}

/// Scans `src`, passing its events to `sink`; `None` (with some events already passed) when `src` is not in
/// the subset.
pub(super) fn scan<'a>(src: &'a str, sink: &mut impl ScanSink<'a>) -> Option<()> {
    let mut s =
        Scanner { src, b: src.as_bytes(), pos: 0, sink, open: Vec::with_capacity(32), prefixes: Vec::new() };
    s.run()
}

/// The event kind of a start (`empty` false) or empty-element tag.
pub(super) const fn tag_kind(name_len: usize, empty: bool) -> EventKind {
    if empty { EventKind::Empty { name_len } } else { EventKind::Start { name_len } }
}

/// Attributes per tag in the subset (SyncML tags have none or one `xmlns`).
const MAX_ATTRS: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Mode, visit};
    use proptest::prelude::*;

    fn events(src: &str) -> Option<Vec<Event>> {
        let mut v = Vec::new();
        scan(src, &mut v).map(|()| v)
    }

    /// What the scanner accepts, `xml::visit` accepts, with the same events.
    fn check(src: &str) -> bool {
        match events(src) {
            Some(ev) => {
                let mut full = Vec::new();
                assert!(
                    visit(src, Mode::Strict, &mut full).is_ok(),
                    "scanner accepted, parser refused: {src:?}"
                );
                assert_eq!(ev, full, "{src:?}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn corpus_is_in_the_subset() {
        let Some(dir) = crate::testdata::shared_file("corpus/omadm/xml") else { return };
        let mut accepted = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            if check(&text) {
                accepted += 1;
            }
        }
        assert!(accepted >= 50, "{accepted}");
    }

    #[test]
    fn subset_edges() {
        for (s, inside) in [
            ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a/>", true),
            ("<?xml version='1.0' standalone='yes'?><a/>", true),
            ("<?xml version='1.1'?><a/>", false),
            ("<!DOCTYPE a PUBLIC \"p\" \"s\"><a/>", true),
            ("<!DOCTYPE a [<!ENTITY x 'y'>]><a/>", false),
            ("<a x='1' y=\"2\"><b/><!-- c --><![CDATA[d]]>e&amp;&#65;</a>\n", true),
            ("<a x='1' x='2'/>", false),
            ("<p:a xmlns:p='u'><p:b/></p:a>", true),
            ("<p:a/>", false),
            ("<a>&bogus;</a>", false),
            ("<a>\u{e9}</a>", true),
            ("<\u{e9}/>", false),
            ("<a><?pi?></a>", false),
            ("<a></b>", false),
            ("<a/><b/>", false),
            ("x<a/>", false),
            ("<a><!-- x -- y --></a>", false),
        ] {
            assert_eq!(check(s), inside, "{s:?}");
        }
    }

    proptest! {
        /// The one-pass text scan is the `<` search plus the character check, and it flags exactly the
        /// text that `unescape` changes (conservatively: every reference or CR).
        #[test]
        fn text_len_is_position_and_check(s in "[<>a&;#x0-9\\]\t\r\n\u{1}\u{fffe}\u{e9} ]{0,24}") {
            let b = s.as_bytes();
            let want = b.iter().position(|&c| c == b'<').and_then(|n| check_chars(&b[..n], false).map(|()| n));
            let got = text_len(b);
            prop_assert_eq!(got.map(|g| g.0), want);
            if let Some((n, refs)) = got {
                let text = &s[..n];
                prop_assert_eq!(refs, text.contains(['&', '\r']));
                if !refs {
                    prop_assert_eq!(crate::xml::unescape(text, false), text);
                }
            }
        }

        #[test]
        fn never_accepts_more_than_the_parser(s in "[<>/ab:x ='\"&;#0-9!\\[\\]?\\-\n]{0,40}") {
            check(&s);
        }

        #[test]
        fn structured_documents(parts in proptest::collection::vec(prop_oneof![
            Just("<a>"), Just("</a>"), Just("<b x='1'>"), Just("</b>"), Just("<c/>"), Just("t&amp;"), Just(" "),
            Just("<!--k-->"), Just("<![CDATA[z]]>"), Just("&#10;"), Just("<p:d xmlns:p='u'/>"), Just("]]>"),
        ], 0..12)) {
            let s: String = parts.concat();
            check(&s);
            check(&format!("<r>{s}</r>"));
        }
    }
}

//! Element tree → XML, RTK flavour (compact, as the AOSP engine writes it) or indented.

use base64::Engine as _;

use super::{Document, Element, Language, Node, Profile, XmlStyle};
use crate::xml::escape_into;

/// Character data escaped; a CR as `&#13;` (a raw CR would be read back as LF, XML 1.0 §2.11).
fn escape_text(out: &mut String, s: &str) {
    let mut parts = s.split('\r');
    if let Some(first) = parts.next() {
        escape_into(out, first, false);
    }
    for p in parts {
        out.push_str("&#13;");
        escape_into(out, p, false);
    }
}

struct Writer {
    out: String,
    indent: Option<usize>,
    quote: char,
    /// The first element name read from a document that is not an XML `Name` (a WBXML literal tag may be
    /// any string).
    bad_name: Option<String>,
}

impl Writer {
    fn newline(&mut self, level: usize) {
        if let Some(step) = self.indent {
            self.out.push('\n');
            for _ in 0..level * step {
                self.out.push(' ');
            }
        }
    }

    fn element(&mut self, lang: Language, el: &Element, parent_page: Option<u8>, level: usize) {
        let page = lang.page_of(el.ns);
        // Decision: names borrowed for 'static (the code pages' names, or a program's literals) are taken
        // as names; names read from a document (WBXML literal tags) are checked. Checking every name
        // costs ≈ 4% of a WBXML → XML conversion.
        if let std::borrow::Cow::Owned(n) = &el.name
            && self.bad_name.is_none()
            && !crate::xml::is_name(n)
        {
            self.bad_name = Some(n.clone());
        }
        self.out.push('<');
        self.out.push_str(&el.name);
        if page != parent_page
            && let Some(uri) = page.and_then(|p| lang.namespace_uri(p))
        {
            self.out.push_str(" xmlns=");
            self.out.push(self.quote);
            self.out.push_str(uri);
            self.out.push(self.quote);
        }
        if el.children.is_empty() {
            self.out.push_str("/>");
            return;
        }
        self.out.push('>');
        let block = self.indent.is_some()
            && el.children.iter().any(|c| matches!(c, Node::Element(_) | Node::Document(_)))
            && el.children.iter().all(|c| match c {
                Node::Text(t) => t.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')),
                Node::CData(_) | Node::Opaque(_) => false,
                _ => true,
            });
        for c in &el.children {
            match c {
                Node::Element(e) => {
                    if block {
                        self.newline(level + 1);
                    }
                    self.element(lang, e, page, level + 1);
                }
                Node::Document(d) => {
                    if block {
                        self.newline(level + 1);
                    }
                    self.element(d.language, &d.root, None, level + 1);
                }
                Node::Text(t) => {
                    if !block {
                        escape_text(&mut self.out, t);
                    }
                }
                Node::CData(t) => {
                    self.out.push_str("<![CDATA[");
                    self.out.push_str(&t.replace("]]>", "]]]]><![CDATA[>"));
                    self.out.push_str("]]>");
                }
                Node::Opaque(b) => match std::str::from_utf8(b) {
                    Ok(s) => escape_text(&mut self.out, s),
                    // Binary data in XML is base64 (DM TND §8.3.7.2: Format b64 over XML).
                    Err(_) => self.out.push_str(&base64::engine::general_purpose::STANDARD.encode(b)),
                },
            }
        }
        if block {
            self.newline(level);
        }
        self.out.push_str("</");
        self.out.push_str(&el.name);
        self.out.push('>');
    }
}

/// Writes `doc` as XML: `<?xml version="1.0" encoding="UTF-8"?>`, no DOCTYPE, `xmlns` on the root and on
/// every element whose page differs from its parent's (single quotes when compact, as the RTK; double quotes
/// when indented). Text escapes `&`, `<`, `>` and writes CR as `&#13;` (decision: so that text survives
/// XML's line-end normalisation; the RTK has no CR in what it writes). `Err` holds the first element name
/// that is not an XML `Name` (a WBXML literal tag): the text would not be XML.
pub(super) fn write(doc: &Document, profile: &Profile) -> Result<String, String> {
    let indent = match profile.xml_style {
        XmlStyle::Compact => None,
        XmlStyle::Indent(n) => Some(usize::from(n)),
    };
    let mut w = Writer {
        out: String::with_capacity(1024),
        indent,
        quote: if indent.is_some() { '"' } else { '\'' },
        bad_name: None,
    };
    w.out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    if indent.is_some() {
        w.out.push('\n');
    }
    w.element(doc.language, &doc.root, None, 0);
    if indent.is_some() {
        w.out.push('\n');
    }
    match w.bad_name {
        Some(n) => Err(n),
        None => Ok(w.out),
    }
}

/// Writes the root element of `doc` alone, compact, without an XML declaration.
pub(super) fn fragment(doc: &Document) -> String {
    let mut w = Writer { out: String::with_capacity(1024), indent: None, quote: '\'', bad_name: None };
    w.element(doc.language, &doc.root, None, 0);
    w.out
}

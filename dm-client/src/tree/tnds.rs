//! A small emitter for TNDS objects (OMA DM 1.2.1 TNDS §9, `application/vnd.syncml.dmtnds+xml`, namespace
//! `syncml:dmddf1.2`), used to answer `Get <uri>?list=TNDS` (TND §8.4.1).
//!
//! Kept small and isolated on purpose: the codec crate will gain the real DDF/TNDS codec (parse and emit,
//! WBXML); this writes one canonical form and nothing else.
//!
//! Output shape: `<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD><Node>…</Node>…</MgmtTree>`, no
//! whitespace. Each top-level `Node` carries `Path` (the absolute URI of its parent, `.` for children of the
//! root; TNDS §9.2.3.1.5); each node has `NodeName`, `RTProperties` (ACL, Format, Size, Title, TStamp, Type,
//! VerNo in DTD order, as selected by [`TndsFields`], Type always) and, for leaves, `Value`.
//!
//! Decisions: a leaf whose Format is `bin`, or whose value is not UTF-8 text that XML can carry (C0 controls
//! other than tab, CR, LF), is written base64-encoded; everything else is written as escaped text. The Type
//! of a leaf with no Type property is written as `<MIME>text/plain</MIME>` (the META default); an interior
//! node's Type is a `DDFName` (empty when the node roots no MO).

use std::fmt::Write as _;

use m2msim_codec::dm::auth::encode_b64;
use m2msim_codec::dm::ddf::Format;

use super::node::Node;
use super::uri::{self, TndsFields};

/// The MIME type of an XML TNDS object (TNDS Appendix).
pub const TNDS_XML_TYPE: &str = "application/vnd.syncml.dmtnds+xml";

/// One node to serialise: its normalised path, the node, and its value as read (a plugin may compute it).
pub(crate) struct TndsEntry<'a> {
    pub path: &'a str,
    pub node: &'a Node,
    pub value: Option<Vec<u8>>,
}

/// Writes `entries` as a TNDS document. They must be in depth-first order, each node right before its own
/// subtree; the first one (or ones, for the children of the root) are the top-level nodes.
pub(crate) fn write(entries: &[TndsEntry<'_>], fields: TndsFields) -> String {
    let mut out = String::from("<MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD>");
    let mut open: Vec<&str> = Vec::new();
    for e in entries {
        while let Some(last) = open.last() {
            if e.path != *last && uri::is_within(e.path, last) {
                break;
            }
            out.push_str("</Node>");
            open.pop();
        }
        out.push_str("<Node><NodeName>");
        escape_into(&mut out, uri::name(e.path));
        out.push_str("</NodeName>");
        if open.is_empty() {
            out.push_str("<Path>");
            escape_into(&mut out, &uri::absolute(uri::parent(e.path).unwrap_or("")));
            out.push_str("</Path>");
        }
        write_props(&mut out, e, fields);
        if e.node.is_interior() {
            open.push(e.path);
        } else {
            if fields.value {
                out.push_str("<Value>");
                write_value(&mut out, e.node.props.format, e.value.as_deref().unwrap_or_default());
                out.push_str("</Value>");
            }
            out.push_str("</Node>");
        }
    }
    for _ in open {
        out.push_str("</Node>");
    }
    out.push_str("</MgmtTree>");
    out
}

fn write_props(out: &mut String, e: &TndsEntry<'_>, fields: TndsFields) {
    let p = &e.node.props;
    out.push_str("<RTProperties>");
    if fields.acl {
        out.push_str("<ACL>");
        escape_into(out, &p.acl.to_string());
        out.push_str("</ACL>");
    }
    if fields.format {
        let _ = write!(out, "<Format><{}/></Format>", p.format.as_str());
    }
    if fields.size && !e.node.is_interior() {
        let _ = write!(out, "<Size>{}</Size>", e.value.as_ref().map_or(0, Vec::len));
    }
    if fields.title
        && let Some(t) = &p.title
    {
        out.push_str("<Title>");
        escape_into(out, t);
        out.push_str("</Title>");
    }
    if fields.tstamp
        && let Some(t) = p.tstamp
    {
        let _ = write!(out, "<TStamp>{}</TStamp>", t.tstamp());
    }
    if e.node.is_interior() {
        out.push_str("<Type><DDFName>");
        escape_into(out, p.node_type.as_deref().unwrap_or(""));
        out.push_str("</DDFName></Type>");
    } else {
        out.push_str("<Type><MIME>");
        escape_into(out, p.node_type.as_deref().unwrap_or("text/plain"));
        out.push_str("</MIME></Type>");
    }
    if fields.ver_no {
        let _ = write!(out, "<VerNo>{}</VerNo>", p.ver_no);
    }
    out.push_str("</RTProperties>");
}

fn xml_safe(s: &str) -> bool {
    !s.chars().any(|c| u32::from(c) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
}

fn write_value(out: &mut String, format: Format, value: &[u8]) {
    match std::str::from_utf8(value) {
        Ok(text) if format != Format::Bin && xml_safe(text) => escape_into(out, text),
        _ => out.push_str(&encode_b64(value)),
    }
}

/// Appends `s` with `&`, `<` and `>` escaped, and CR as `&#13;` (a raw CR would be read back as LF by XML
/// end-of-line handling).
fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::acl::Acl;

    #[test]
    fn nested_document() {
        let mut root = Node::interior();
        root.props.node_type = Some("urn:x".into());
        root.props.acl = Acl::parse("Get=*&Add=a").unwrap();
        let leaf = Node::leaf(b"a<b&c".to_vec(), Format::Chr);
        let bin = Node::leaf(vec![0, 1, 2], Format::Bin);
        let sub = Node::interior();
        let deep = Node::leaf(b"1".to_vec(), Format::Int);
        let entries = [
            TndsEntry { path: "X", node: &root, value: None },
            TndsEntry { path: "X/A", node: &leaf, value: Some(b"a<b&c".to_vec()) },
            TndsEntry { path: "X/B", node: &bin, value: Some(vec![0, 1, 2]) },
            TndsEntry { path: "X/S", node: &sub, value: None },
            TndsEntry { path: "X/S/D", node: &deep, value: Some(b"1".to_vec()) },
        ];
        let xml = write(&entries, TndsFields { acl: true, ..TndsFields::DEFAULT });
        assert_eq!(
            xml,
            "<MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD>\
             <Node><NodeName>X</NodeName><Path>.</Path><RTProperties><ACL>Get=*&amp;Add=a</ACL>\
             <Format><node/></Format><Type><DDFName>urn:x</DDFName></Type></RTProperties>\
             <Node><NodeName>A</NodeName><RTProperties><ACL></ACL><Format><chr/></Format>\
             <Type><MIME>text/plain</MIME></Type></RTProperties><Value>a&lt;b&amp;c</Value></Node>\
             <Node><NodeName>B</NodeName><RTProperties><ACL></ACL><Format><bin/></Format>\
             <Type><MIME>text/plain</MIME></Type></RTProperties><Value>AAEC</Value></Node>\
             <Node><NodeName>S</NodeName><RTProperties><ACL></ACL><Format><node/></Format>\
             <Type><DDFName></DDFName></Type></RTProperties>\
             <Node><NodeName>D</NodeName><RTProperties><ACL></ACL><Format><int/></Format>\
             <Type><MIME>text/plain</MIME></Type></RTProperties><Value>1</Value></Node></Node></Node>\
             </MgmtTree>"
        );
    }

    #[test]
    fn siblings_at_top_level_and_control_characters() {
        let a = Node::leaf(b"x\x01y".to_vec(), Format::Chr);
        let b = Node::leaf(b"tab\there".to_vec(), Format::Chr);
        let entries = [
            TndsEntry { path: "P/a", node: &a, value: Some(b"x\x01y".to_vec()) },
            TndsEntry { path: "P/b", node: &b, value: Some(b"tab\there".to_vec()) },
        ];
        let xml = write(&entries, TndsFields { format: false, ..TndsFields::DEFAULT });
        assert!(xml.contains("<Node><NodeName>a</NodeName><Path>./P</Path>"), "{xml}");
        assert!(xml.contains("<Node><NodeName>b</NodeName><Path>./P</Path>"), "{xml}");
        assert!(xml.contains("<Value>eAF5</Value>") && xml.contains("<Value>tab\there</Value>"), "{xml}");
        assert!(!xml.contains("<Format>"));
    }
}

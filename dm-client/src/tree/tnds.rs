//! TNDS objects (OMA DM 1.2.1 TNDS §9, `application/vnd.syncml.dmtnds+xml`, namespace `syncml:dmddf1.2`) of the
//! tree, used to answer `Get <uri>?list=TNDS` (TND §8.4.1).
//!
//! The nodes become an [`MgmtTree`] of the codec crate (its DDF/TNDS codec writes the XML), so there is one
//! TNDS writer in the project.
//!
//! Output shape: `<MgmtTree xmlns='syncml:dmddf1.2'><VerDTD>1.2</VerDTD><Node>…</Node>…</MgmtTree>` (compact,
//! no XML declaration: the document is the text of the result's value). Each top-level `Node` carries `Path`
//! (the absolute URI of its parent, `.` for children of the root; TNDS §9.2.3.1.5); each node has `NodeName`,
//! `RTProperties` (ACL, Format, Size, Title, TStamp, Type, VerNo in DTD order, as selected by [`TndsFields`],
//! Type always) and, for leaves, `Value`.
//!
//! Decisions: a leaf whose Format is `bin`, or whose value is not UTF-8 text that XML can carry (C0 controls
//! other than tab, CR, LF), is written base64-encoded; everything else is written as text (a CR as `&#13;`).
//! The Type of a leaf with no Type property is written as `<MIME>text/plain</MIME>` (the META default); an
//! interior node's Type is a `DDFName` (empty when the node roots no MO).

use m2msim_codec::dm::auth::encode_b64;
use m2msim_codec::dm::ddf::{DdfNode, DfType, Format, MgmtTree, RtProperties};

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

/// The TNDS document of `entries`. They must be in depth-first order, each node right before its own
/// subtree; the first one (or ones, for the children of the root) are the top-level nodes.
pub(crate) fn tree(entries: &[TndsEntry<'_>], fields: TndsFields) -> MgmtTree {
    let mut tree = MgmtTree::new();
    let mut open: Vec<(&str, DdfNode)> = Vec::new();
    let close = |open: &mut Vec<(&str, DdfNode)>, tree: &mut MgmtTree| {
        if let Some((_, done)) = open.pop() {
            match open.last_mut() {
                Some((_, parent)) => parent.children.push(done),
                None => tree.nodes.push(done),
            }
        }
    };
    for e in entries {
        while let Some((last, _)) = open.last() {
            if e.path != *last && uri::is_within(e.path, last) {
                break;
            }
            close(&mut open, &mut tree);
        }
        let mut n = DdfNode {
            name: uri::name(e.path).to_owned(),
            rt_properties: Some(rt_properties(e, fields)),
            ..DdfNode::default()
        };
        if open.is_empty() {
            n.path = Some(uri::absolute(uri::parent(e.path).unwrap_or("")));
        }
        if e.node.is_interior() {
            open.push((e.path, n));
        } else {
            if fields.value {
                n.value = Some(value_text(e.node.props.format, e.value.as_deref().unwrap_or_default()));
            }
            match open.last_mut() {
                Some((_, parent)) => parent.children.push(n),
                None => tree.nodes.push(n),
            }
        }
    }
    while !open.is_empty() {
        close(&mut open, &mut tree);
    }
    tree
}

/// Writes `entries` as a TNDS document (see [`tree`]).
pub(crate) fn write(entries: &[TndsEntry<'_>], fields: TndsFields) -> String {
    tree(entries, fields).to_xml_fragment()
}

fn rt_properties(e: &TndsEntry<'_>, fields: TndsFields) -> RtProperties {
    let p = &e.node.props;
    let interior = e.node.is_interior();
    RtProperties {
        acl: fields.acl.then(|| p.acl.to_string()),
        format: fields.format.then_some(p.format),
        size: (fields.size && !interior).then(|| e.value.as_ref().map_or(0, Vec::len) as u64),
        title: if fields.title { p.title.clone() } else { None },
        tstamp: if fields.tstamp { p.tstamp.map(|t| t.tstamp()) } else { None },
        type_: Some(if interior {
            DfType::DdfName(p.node_type.clone().unwrap_or_default())
        } else {
            DfType::Mime(p.node_type.clone().unwrap_or_else(|| "text/plain".to_owned()))
        }),
        ver_no: fields.ver_no.then(|| p.ver_no.to_string()),
        ..RtProperties::default()
    }
}

fn xml_safe(s: &str) -> bool {
    !s.chars().any(|c| u32::from(c) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
}

fn value_text(format: Format, value: &[u8]) -> String {
    match std::str::from_utf8(value) {
        Ok(text) if format != Format::Bin && xml_safe(text) => text.to_owned(),
        _ => encode_b64(value),
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
            "<MgmtTree xmlns='syncml:dmddf1.2'><VerDTD>1.2</VerDTD>\
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
    fn reads_back_with_the_codec() {
        let a = Node::leaf(b" a\r\nb ".to_vec(), Format::Chr);
        let bin = Node::leaf(vec![0xFF, 0], Format::Bin);
        let entries = [
            TndsEntry { path: "P/a", node: &a, value: Some(b" a\r\nb ".to_vec()) },
            TndsEntry { path: "P/b", node: &bin, value: Some(vec![0xFF, 0]) },
        ];
        let fields = TndsFields { acl: true, size: true, ver_no: true, ..TndsFields::DEFAULT };
        let xml = write(&entries, fields);
        let back = MgmtTree::from_xml_str(&xml).unwrap();
        assert_eq!(back, tree(&entries, fields));
        assert_eq!(back.find("./P/a").unwrap().value.as_deref(), Some(" a\r\nb "));
        assert_eq!(back.find("./P/b").unwrap().value.as_deref(), Some("/wA="));
        let rt = back.find("./P/b").unwrap().rt_properties.as_ref().unwrap();
        assert_eq!((rt.size, rt.format, rt.ver_no.as_deref()), (Some(2), Some(Format::Bin), Some("0")));
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

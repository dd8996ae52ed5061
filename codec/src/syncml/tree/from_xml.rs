//! XML document → element tree.

use std::borrow::Cow;

use super::{ConvertError, Document, Element, Language, Namespace, Node, Whitespace};
use crate::error::DecodeError;
use crate::xml::{self, EventKind, Mode, Namespaces, split_qname};

/// The document language: DOCTYPE public id, then system id, then the root's namespace, then its name
/// (libwbxml's order).
pub(super) fn detect_language(doc: &xml::Document) -> Result<Language, DecodeError> {
    if let Some(dt) = doc.doctype() {
        if let Some(l) = dt.public_id.and_then(|p| Language::from_fpi(p.as_bytes())) {
            return Ok(l);
        }
        if let Some(l) = dt.system_id.and_then(Language::from_dtd) {
            return Ok(l);
        }
    }
    let root = doc
        .events()
        .iter()
        .find(|e| matches!(e.kind, EventKind::Start { .. } | EventKind::Empty { .. }))
        .ok_or_else(|| DecodeError::invalid("XML", "no root element", 0))?;
    let mut ns = Namespaces::new();
    ns.push(doc, root);
    let (prefix, local) = split_qname(doc.name(root));
    let by_ns = ns.resolve(prefix).map(Language::from_root_namespace);
    match by_ns {
        Some(Some(l)) => Ok(l),
        Some(None) if doc.mode() == Mode::Strict => {
            Err(DecodeError::invalid("root element", "namespace is not SyncML, DevInf or DM DDF", root.start))
        }
        _ => Language::from_root_name(local).ok_or_else(|| {
            DecodeError::invalid(
                "root element",
                "not SyncML, DevInf or MgmtTree and no known DOCTYPE",
                root.start,
            )
        }),
    }
}

/// The language of an element that starts an embedded document (`MgmtTree` in `syncml:dmddf1.2`, `DevInf`
/// in `syncml:devinf`) inside a document of language `outer`.
///
/// Decision (found by fuzzing): an element of the outer document's own language is an element, not a nested
/// document — a `MgmtTree` inside a DDF (kept in an `extra` list) stays an element, as it is in WBXML, where
/// only an `OPAQUE` can carry a nested document. Otherwise DDF → XML → DDF would turn it into a document.
pub(super) fn embedded_language(outer: Language, uri: Option<&str>, local: &str) -> Option<Language> {
    let eq = crate::wbxml::codepage::eq_bytes;
    let uri = uri?.as_bytes();
    let lang = if eq(local.as_bytes(), b"MgmtTree") && eq(uri, b"syncml:dmddf1.2") {
        Language::DmDdf12
    } else if eq(local.as_bytes(), b"DevInf") && eq(uri, b"syncml:devinf") {
        outer.devinf()
    } else {
        return None;
    };
    (lang != outer).then_some(lang)
}

/// Resolves an element to `(page, static name)`: namespace page first, then by name on every page.
pub(super) fn resolve(lang: Language, uri: Option<&str>, local: &str) -> (Option<u8>, Option<(u8, u8)>) {
    let page = uri
        .and_then(|u| lang.page_of_uri(u).or_else(|| Namespace::from_uri(u).and_then(|n| lang.page_of(n))));
    (page, lang.tag_token(page, local))
}

struct Open {
    el: Element,
    lang: Language,
    /// This element is the root of an embedded document.
    embedded: bool,
    text: Option<String>,
}

fn flush(o: &mut Open) {
    if let Some(t) = o.text.take() {
        o.el.children.push(Node::Text(t));
    }
}

fn is_xml_space(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

fn finish(mut o: Open, ws: Whitespace) -> Node {
    flush(&mut o);
    if ws == Whitespace::DropIgnorable
        && o.el.children.iter().any(|c| matches!(c, Node::Element(_) | Node::Document(_)))
    {
        o.el.children.retain(|c| !matches!(c, Node::Text(t) if is_xml_space(t)));
    }
    if o.embedded {
        Node::Document(Box::new(Document { language: o.lang, root: o.el }))
    } else {
        Node::Element(o.el)
    }
}

pub(super) fn build(doc: &xml::Document, ws: Whitespace) -> Result<Document, ConvertError> {
    let language = detect_language(doc)?;
    let strict = doc.mode() == Mode::Strict;
    let mut ns = Namespaces::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Element> = None;
    let events = doc.events();
    for (i, ev) in events.iter().enumerate() {
        match ev.kind {
            EventKind::Start { .. } | EventKind::Empty { .. } => {
                ns.push(doc, ev);
                let (prefix, local) = split_qname(doc.name(ev));
                let uri = ns.resolve(prefix);
                if strict && doc.attributes(ev).any(|a| a.name != "xmlns" && !a.name.starts_with("xmlns:")) {
                    return Err(DecodeError::invalid(
                        "attribute",
                        "SyncML elements have no attributes",
                        ev.start,
                    )
                    .into());
                }
                let outer = stack.last().map_or(language, |o| o.lang);
                let nested = if stack.is_empty() { None } else { embedded_language(outer, uri, local) };
                let lang = nested.unwrap_or(outer);
                let (page, tok) = resolve(lang, uri, local);
                if strict && uri.is_some() && page.is_none() {
                    return Err(DecodeError::invalid(
                        "element",
                        "namespace is not used by this document type",
                        ev.start,
                    )
                    .into());
                }
                let (page, name): (u8, Cow<'static, str>) = match tok {
                    Some((p, t)) => {
                        (p, lang.tag_name(p, t).map_or_else(|| Cow::Owned(local.to_owned()), Cow::Borrowed))
                    }
                    None => {
                        let parent_page = stack.last().and_then(|o| o.lang.page_of(o.el.ns));
                        (page.or(parent_page).unwrap_or(lang.root_page()), Cow::Owned(local.to_owned()))
                    }
                };
                let ns_of = lang.namespace(page).unwrap_or(Namespace::SyncMl);
                if let Some(parent) = stack.last_mut() {
                    flush(parent);
                }
                let mut open =
                    Open { el: Element::new(ns_of, name), lang, embedded: nested.is_some(), text: None };
                if let EventKind::Empty { .. } = ev.kind {
                    ns.pop();
                    let node = finish(open, ws);
                    match stack.last_mut() {
                        Some(p) => p.el.children.push(node),
                        None => root = node_element(node),
                    }
                } else {
                    // `<X></X>`: the content is an empty string (RTK writes empty PCDATA that way).
                    if events.get(i + 1).is_some_and(|n| n.kind == EventKind::End) {
                        open.text = Some(String::new());
                    }
                    stack.push(open);
                }
            }
            EventKind::End => {
                ns.pop();
                if let Some(open) = stack.pop() {
                    let node = finish(open, ws);
                    match stack.last_mut() {
                        Some(p) => p.el.children.push(node),
                        None => root = node_element(node),
                    }
                }
            }
            EventKind::Text => {
                if let Some(o) = stack.last_mut() {
                    o.text.get_or_insert_with(String::new).push_str(&doc.text(ev));
                }
            }
            EventKind::CData => {
                if let Some(o) = stack.last_mut() {
                    flush(o);
                    o.el.children.push(Node::CData(doc.text(ev).into_owned()));
                }
            }
            _ => {}
        }
    }
    let root = root.ok_or_else(|| DecodeError::invalid("XML", "no root element", 0))?;
    Ok(Document { language, root })
}

fn node_element(n: Node) -> Option<Element> {
    match n {
        Node::Element(e) => Some(e),
        Node::Document(d) => Some(d.root),
        _ => None,
    }
}

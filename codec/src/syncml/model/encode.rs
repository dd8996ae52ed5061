//! Typed message → element tree, in the DTD orders of the module documentation.

use super::{
    Alert, Anchor, Chal, Command, CommandGroup, Cred, Data, Encoding, Exec, Item, ItemCommand, Location, Mem,
    Meta, ModelError, NextNonce, Results, Status, SyncBody, SyncHdr, SyncMl, binary_format, effective_format,
};
use crate::dm::auth::encode_b64;
use crate::syncml::tree::{Document, Element, Flavor, Namespace, Node};

type Result<T> = std::result::Result<T, ModelError>;

/// What the tree is for: binary `Data` is raw `OPAQUE` only in WBXML.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    pub(crate) encoding: Encoding,
    pub(crate) flavor: Flavor,
}

fn el(name: &'static str) -> Element {
    Element::new(Namespace::SyncMl, name)
}

fn met(name: &'static str) -> Element {
    Element::new(Namespace::MetInf, name)
}

/// A leaf with text. Empty text stays an (empty) text child, written `<X></X>` in XML and `STR_I ""` in
/// WBXML, as the RTK writes empty PCDATA (the AOSP `<TargetRef></TargetRef>`); it reads back the same.
pub(crate) fn leaf(ns: Namespace, name: &'static str, text: &str) -> Element {
    Element::new(ns, name).with(Node::Text(text.to_owned()))
}

fn push(parent: &mut Element, e: Element) {
    parent.children.push(Node::Element(e));
}

fn push_leaf(parent: &mut Element, name: &'static str, text: &str) {
    push(parent, leaf(Namespace::SyncMl, name, text));
}

fn push_num(parent: &mut Element, name: &'static str, n: impl ToString) {
    push_leaf(parent, name, &n.to_string());
}

fn push_flag(parent: &mut Element, name: &'static str, set: bool) {
    if set {
        push(parent, el(name));
    }
}

fn push_extra(parent: &mut Element, extra: &[Element]) {
    parent.children.extend(extra.iter().cloned().map(Node::Element));
}

pub(super) fn message(m: &SyncMl, t: Target) -> Result<Document> {
    let mut root = el("SyncML");
    push(&mut root, sync_hdr(&m.hdr, t)?);
    push(&mut root, sync_body(&m.body, t)?);
    push_extra(&mut root, &m.extra);
    Ok(Document { language: m.language(), root })
}

fn sync_hdr(h: &SyncHdr, t: Target) -> Result<Element> {
    let mut e = el("SyncHdr");
    push_leaf(&mut e, "VerDTD", &h.ver_dtd);
    push_leaf(&mut e, "VerProto", &h.ver_proto);
    push_leaf(&mut e, "SessionID", &h.session_id);
    push_num(&mut e, "MsgID", h.msg_id);
    push(&mut e, location("Target", &h.target));
    push(&mut e, location("Source", &h.source));
    if let Some(u) = &h.resp_uri {
        push_leaf(&mut e, "RespURI", u);
    }
    push_flag(&mut e, "NoResp", h.no_resp);
    if let Some(c) = &h.cred {
        push(&mut e, cred(c, t)?);
    }
    if let Some(m) = &h.meta {
        push(&mut e, meta(m));
    }
    push_extra(&mut e, &h.extra);
    Ok(e)
}

fn sync_body(b: &SyncBody, t: Target) -> Result<Element> {
    let mut e = el("SyncBody");
    e.children.reserve(b.commands.len() + 1);
    for c in &b.commands {
        push(&mut e, command(c, t)?);
    }
    push_flag(&mut e, "Final", b.final_);
    push_extra(&mut e, &b.extra);
    Ok(e)
}

pub(super) fn command(c: &Command, t: Target) -> Result<Element> {
    command_at(c, t, 0)
}

fn command_at(c: &Command, t: Target, depth: usize) -> Result<Element> {
    match c {
        Command::Add(c) => item_command("Add", c, t),
        Command::Copy(c) => item_command("Copy", c, t),
        Command::Delete(c) => item_command("Delete", c, t),
        Command::Get(c) => item_command("Get", c, t),
        Command::Replace(c) => item_command("Replace", c, t),
        Command::Alert(c) => alert(c, t),
        Command::Atomic(c) => group("Atomic", c, t, depth + 1),
        Command::Sequence(c) => group("Sequence", c, t, depth + 1),
        Command::Exec(c) => exec(c, t),
        Command::Results(c) => results(c, t),
        Command::Status(c) => status(c, t),
        Command::Other(e) => Ok(e.clone()),
    }
}

fn item_command(name: &'static str, c: &ItemCommand, t: Target) -> Result<Element> {
    let mut e = el(name);
    push_num(&mut e, "CmdID", c.cmd_id);
    push_flag(&mut e, "NoResp", c.no_resp);
    push_flag(&mut e, "Archive", c.archive);
    push_flag(&mut e, "SftDel", c.sft_del);
    if let Some(l) = &c.lang {
        push_leaf(&mut e, "Lang", l);
    }
    if let Some(cr) = &c.cred {
        push(&mut e, cred(cr, t)?);
    }
    if let Some(m) = &c.meta {
        push(&mut e, meta(m));
    }
    for it in &c.items {
        push(&mut e, item(it, c.meta.as_ref(), t)?);
    }
    push_extra(&mut e, &c.extra);
    Ok(e)
}

fn alert(a: &Alert, t: Target) -> Result<Element> {
    let mut e = el("Alert");
    push_num(&mut e, "CmdID", a.cmd_id);
    push_flag(&mut e, "NoResp", a.no_resp);
    if let Some(cr) = &a.cred {
        push(&mut e, cred(cr, t)?);
    }
    push_num(&mut e, "Data", a.code.0);
    if let Some(c) = &a.correlator {
        push_leaf(&mut e, "Correlator", c);
    }
    for it in &a.items {
        push(&mut e, item(it, None, t)?);
    }
    push_extra(&mut e, &a.extra);
    Ok(e)
}

fn group(name: &'static str, g: &CommandGroup, t: Target, depth: usize) -> Result<Element> {
    if depth > super::decode::MAX_GROUP_DEPTH {
        return Err(ModelError::Unsupported("Atomic/Sequence nested deeper than MAX_GROUP_DEPTH"));
    }
    let mut e = el(name);
    push_num(&mut e, "CmdID", g.cmd_id);
    push_flag(&mut e, "NoResp", g.no_resp);
    if let Some(m) = &g.meta {
        push(&mut e, meta(m));
    }
    for c in &g.commands {
        push(&mut e, command_at(c, t, depth)?);
    }
    push_extra(&mut e, &g.extra);
    Ok(e)
}

fn exec(x: &Exec, t: Target) -> Result<Element> {
    let mut e = el("Exec");
    push_num(&mut e, "CmdID", x.cmd_id);
    push_flag(&mut e, "NoResp", x.no_resp);
    if let Some(cr) = &x.cred {
        push(&mut e, cred(cr, t)?);
    }
    if let Some(m) = &x.meta {
        push(&mut e, meta(m));
    }
    if let Some(c) = &x.correlator {
        push_leaf(&mut e, "Correlator", c);
    }
    push(&mut e, item(&x.item, x.meta.as_ref(), t)?);
    push_extra(&mut e, &x.extra);
    Ok(e)
}

fn results(r: &Results, t: Target) -> Result<Element> {
    let mut e = el("Results");
    push_num(&mut e, "CmdID", r.cmd_id);
    if let Some(m) = r.msg_ref {
        push_num(&mut e, "MsgRef", m);
    }
    push_num(&mut e, "CmdRef", r.cmd_ref);
    if let Some(m) = &r.meta {
        push(&mut e, meta(m));
    }
    for s in &r.target_refs {
        push_leaf(&mut e, "TargetRef", s);
    }
    for s in &r.source_refs {
        push_leaf(&mut e, "SourceRef", s);
    }
    for it in &r.items {
        push(&mut e, item(it, r.meta.as_ref(), t)?);
    }
    push_extra(&mut e, &r.extra);
    Ok(e)
}

fn status(s: &Status, t: Target) -> Result<Element> {
    let mut e = el("Status");
    push_num(&mut e, "CmdID", s.cmd_id);
    push_num(&mut e, "MsgRef", s.msg_ref);
    push_num(&mut e, "CmdRef", s.cmd_ref);
    push_leaf(&mut e, "Cmd", &s.cmd);
    for r in &s.target_refs {
        push_leaf(&mut e, "TargetRef", r);
    }
    for r in &s.source_refs {
        push_leaf(&mut e, "SourceRef", r);
    }
    if let Some(cr) = &s.cred {
        push(&mut e, cred(cr, t)?);
    }
    if let Some(c) = &s.chal {
        push(&mut e, chal(c));
    }
    push_num(&mut e, "Data", s.code.0);
    for it in &s.items {
        push(&mut e, item(it, None, t)?);
    }
    push_extra(&mut e, &s.extra);
    Ok(e)
}

fn item(it: &Item, inherited: Option<&Meta>, t: Target) -> Result<Element> {
    let mut e = el("Item");
    if let Some(l) = &it.target {
        push(&mut e, location("Target", l));
    }
    if let Some(l) = &it.source {
        push(&mut e, location("Source", l));
    }
    if let Some(l) = &it.source_parent {
        push(&mut e, location("SourceParent", l));
    }
    if let Some(l) = &it.target_parent {
        push(&mut e, location("TargetParent", l));
    }
    if let Some(m) = &it.meta {
        push(&mut e, meta(m));
    }
    if let Some(d) = &it.data {
        let mut de = el("Data");
        de.children = data(d, effective_format(it.meta.as_ref(), inherited), t)?;
        push(&mut e, de);
    }
    push_flag(&mut e, "MoreData", it.more_data);
    push_extra(&mut e, &it.extra);
    Ok(e)
}

fn location(name: &'static str, l: &Location) -> Element {
    let mut e = el(name);
    push_leaf(&mut e, "LocURI", &l.loc_uri);
    if let Some(n) = &l.loc_name {
        push_leaf(&mut e, "LocName", n);
    }
    push_extra(&mut e, &l.extra);
    e
}

fn cred(c: &Cred, t: Target) -> Result<Element> {
    let mut e = el("Cred");
    if let Some(m) = &c.meta {
        push(&mut e, meta(m));
    }
    let mut de = el("Data");
    de.children = data(&c.data, c.meta.as_ref().and_then(|m| m.format.as_deref()), t)?;
    push(&mut e, de);
    push_extra(&mut e, &c.extra);
    Ok(e)
}

fn chal(c: &Chal) -> Element {
    let mut e = el("Chal");
    push(&mut e, meta(&c.meta));
    push_extra(&mut e, &c.extra);
    e
}

/// The content of a `Data` element under `format` (see the model's module documentation).
///
/// Empty data is an empty text in XML (`<Data></Data>`) and no content in WBXML, where the profile's
/// [`EmptyData`](crate::syncml::tree::EmptyData) picks `0F` or the RTK's `4F 03 00 01`.
pub(crate) fn data(d: &Data, format: Option<&str>, t: Target) -> Result<Vec<Node>> {
    let empty = || match t.encoding {
        Encoding::Xml => vec![Node::Text(String::new())],
        Encoding::Wbxml => Vec::new(),
    };
    Ok(match d {
        Data::Text(s) if s.is_empty() => empty(),
        Data::Text(s) => vec![Node::Text(s.clone())],
        Data::Bytes(b) if b.is_empty() => empty(),
        Data::Bytes(b) if binary_format(format) == Some(true) && t.encoding == Encoding::Wbxml => {
            if t.flavor == Flavor::Libwbxml {
                return Err(ModelError::Unsupported(
                    "libwbxml writes no binary Data: bytes under Format bin become text in its encoder",
                ));
            }
            vec![Node::Opaque(b.clone())]
        }
        Data::Bytes(b) => vec![Node::Text(encode_b64(b))],
        Data::Document(doc) => vec![Node::Document(doc.clone())],
        Data::Nodes(n) => n.clone(),
    })
}

fn met_leaf(parent: &mut Element, name: &'static str, text: &str) {
    push(parent, leaf(Namespace::MetInf, name, text));
}

pub(crate) fn meta(m: &Meta) -> Element {
    let mut e = el("Meta");
    if let Some(v) = &m.format {
        met_leaf(&mut e, "Format", v);
    }
    if let Some(v) = &m.type_ {
        met_leaf(&mut e, "Type", v);
    }
    if let Some(v) = &m.mark {
        met_leaf(&mut e, "Mark", v);
    }
    if let Some(v) = m.size {
        met_leaf(&mut e, "Size", &v.to_string());
    }
    if let Some(a) = &m.anchor {
        push(&mut e, anchor(a));
    }
    if let Some(v) = &m.version {
        met_leaf(&mut e, "Version", v);
    }
    match &m.next_nonce {
        Some(NextNonce::Bytes(b)) => met_leaf(&mut e, "NextNonce", &encode_b64(b)),
        Some(NextNonce::Text(s)) => met_leaf(&mut e, "NextNonce", s),
        None => {}
    }
    if let Some(v) = m.max_msg_size {
        met_leaf(&mut e, "MaxMsgSize", &v.to_string());
    }
    if let Some(v) = m.max_obj_size {
        met_leaf(&mut e, "MaxObjSize", &v.to_string());
    }
    for v in &m.emi {
        met_leaf(&mut e, "EMI", v);
    }
    if let Some(x) = &m.mem {
        push(&mut e, mem(x));
    }
    if m.field_level {
        push(&mut e, met("FieldLevel"));
    }
    push_extra(&mut e, &m.extra);
    e
}

fn anchor(a: &Anchor) -> Element {
    let mut e = met("Anchor");
    if let Some(v) = &a.last {
        met_leaf(&mut e, "Last", v);
    }
    met_leaf(&mut e, "Next", &a.next);
    push_extra(&mut e, &a.extra);
    e
}

fn mem(m: &Mem) -> Element {
    let mut e = met("Mem");
    if m.shared_mem {
        push(&mut e, met("SharedMem"));
    }
    met_leaf(&mut e, "FreeMem", &m.free_mem.to_string());
    met_leaf(&mut e, "FreeID", &m.free_id.to_string());
    push_extra(&mut e, &m.extra);
    e
}

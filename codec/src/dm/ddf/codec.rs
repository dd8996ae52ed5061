//! DDF / TNDS ↔ element tree ↔ XML, WBXML (see the parent module for the rules).

use super::{AccessTypes, DdfNode, DfProperties, DfType, Format, MgmtTree, Occurrence, RtProperties, Scope};
use crate::reader::{Decode as _, Encode as _};
use crate::syncml::model::decode::{Ctx, canon};
use crate::syncml::model::encode::leaf;
use crate::syncml::model::{Encoding, ModelError};
use crate::syncml::tree::{self, Element, Language, Namespace, Node, Profile};
use crate::xml::{self, Mode};

type Result<T> = std::result::Result<T, ModelError>;

impl MgmtTree {
    /// Reads a DDF or TNDS document from its element tree (language DM DDF 1.2).
    ///
    /// # Errors
    /// [`ModelError::WrongDocument`] for a SyncML or DevInf document; [`ModelError::Invalid`] with the
    /// element path (`MgmtTree/Node[3]/DFProperties/DFFormat: …`).
    pub fn from_tree(doc: &tree::Document, mode: Mode) -> Result<Self> {
        if doc.language != Language::DmDdf12 {
            return Err(ModelError::WrongDocument { expected: "DM DDF 1.2", found: doc.language });
        }
        let root = &doc.root;
        let mut c = Ctx::new(root, mode);
        if root.name != "MgmtTree" {
            return Err(c.err("the root element must be MgmtTree"));
        }
        mgmt_tree(&mut c, root)
    }

    /// The element tree of the document.
    #[must_use]
    pub fn to_tree(&self) -> tree::Document {
        let mut root = ddf("MgmtTree");
        push_leaf(&mut root, "VerDTD", &self.ver_dtd);
        if let Some(m) = &self.man {
            push_leaf(&mut root, "Man", m);
        }
        if let Some(m) = &self.model {
            push_leaf(&mut root, "Mod", m);
        }
        for n in &self.nodes {
            push(&mut root, node(n));
        }
        push_extra(&mut root, &self.extra);
        tree::Document { language: Language::DmDdf12, root }
    }

    /// Reads a document in XML or WBXML (by the first byte, as [`Encoding::detect`]).
    ///
    /// # Errors
    /// [`ModelError::Convert`] with the byte offset for malformed XML or WBXML; as
    /// [`MgmtTree::from_tree`].
    pub fn decode(bytes: &[u8], mode: Mode) -> Result<Self> {
        let doc = match Encoding::detect(bytes) {
            Encoding::Wbxml => tree::Document::from_wbxml(&crate::wbxml::Document::decode_exact(bytes)?)?,
            Encoding::Xml => tree::Document::from_xml(&xml::Document::parse_bytes(bytes, mode)?)?,
        };
        Self::from_tree(&doc, mode)
    }

    /// Reads an XML document strictly.
    ///
    /// # Errors
    /// As [`MgmtTree::decode`].
    pub fn from_xml_str(text: &str) -> Result<Self> {
        Self::decode(text.as_bytes(), Mode::Strict)
    }

    /// Writes the document as XML under `profile` (the RTK flavour writes no DOCTYPE, libwbxml's does).
    ///
    /// # Errors
    /// [`ModelError::Convert`] from the tree writer.
    pub fn to_xml(&self, profile: &Profile) -> Result<String> {
        Ok(self.to_tree().to_xml(profile)?)
    }

    /// Writes the root element as compact XML text without an XML declaration (RTK style), for a TNDS object
    /// carried as the text of a node value.
    #[must_use]
    pub fn to_xml_fragment(&self) -> String {
        self.to_tree().to_xml_fragment()
    }

    /// Writes the document as WBXML bytes under `profile` (the DDF language has no registered public id:
    /// the FPI `-//OMA//DTD-DM-DDF 1.2//EN` goes in the string table).
    ///
    /// # Errors
    /// [`ModelError::Convert`] from the tree writer.
    pub fn to_wbxml(&self, profile: &Profile) -> Result<Vec<u8>> {
        Ok(self.to_tree().to_wbxml(profile)?.encode())
    }
}

// ---- reading ------------------------------------------------------------------------------------

fn mgmt_tree<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<MgmtTree> {
    let (mut ver_dtd, mut man, mut model) = (None, None, None);
    let mut t = MgmtTree::default();
    for (i, n) in el.children.iter().enumerate() {
        let Node::Element(e) = n else {
            c.stray(n)?;
            continue;
        };
        match e.name.as_ref() {
            "VerDTD" => c.once(el, i, e, &mut ver_dtd, &mut t.extra, |c, e| c.token(e))?,
            "Man" => c.once(el, i, e, &mut man, &mut t.extra, |c, e| c.token(e))?,
            "Mod" => c.once(el, i, e, &mut model, &mut t.extra, |c, e| c.token(e))?,
            "Node" => t.nodes.push(c.child(el, i, node_of)?),
            _ => t.extra.push(canon(e)),
        }
    }
    t.ver_dtd = c.required(ver_dtd, "VerDTD")?;
    t.man = man;
    t.model = model;
    Ok(t)
}

fn node_of<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<DdfNode> {
    let (mut name, mut path, mut rt, mut df, mut value) = (None, None, None, None, None);
    let mut n = DdfNode::default();
    for (i, x) in el.children.iter().enumerate() {
        let Node::Element(e) = x else {
            c.stray(x)?;
            continue;
        };
        match e.name.as_ref() {
            "NodeName" => c.once(el, i, e, &mut name, &mut n.extra, |c, e| c.token(e))?,
            "Path" => c.once(el, i, e, &mut path, &mut n.extra, |c, e| c.token(e))?,
            "RTProperties" => c.once(el, i, e, &mut rt, &mut n.extra, rt_properties)?,
            "DFProperties" => c.once(el, i, e, &mut df, &mut n.extra, df_properties)?,
            "Value" => c.once(el, i, e, &mut value, &mut n.extra, |c, e| value_text(c, e))?,
            "Node" => n.children.push(c.child(el, i, node_of)?),
            _ => n.extra.push(canon(e)),
        }
    }
    n.name = c.required(name, "NodeName")?;
    n.path = path;
    n.rt_properties = rt;
    n.df_properties = df;
    n.value = value;
    Ok(n)
}

/// `Value`: text kept exactly; a binary `OPAQUE` becomes base64 text.
fn value_text(c: &Ctx<'_>, e: &Element) -> Result<String> {
    if let [Node::Opaque(b)] = e.children.as_slice()
        && std::str::from_utf8(b).is_err()
    {
        return Ok(crate::dm::auth::encode_b64(b));
    }
    c.text(e)
}

/// The name of the one empty element inside `el` (`<DFFormat><chr/></DFFormat>`).
fn choice<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<Option<(usize, &'a Element)>> {
    let mut found = None;
    for (i, n) in el.children.iter().enumerate() {
        let Node::Element(e) = n else {
            c.stray(n)?;
            continue;
        };
        if found.is_some() {
            if c.strict() {
                return c.child(el, i, |c, _| Err(c.err("only one value may be given here")));
            }
            continue;
        }
        found = Some((i, e));
    }
    Ok(found)
}

fn format_of<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<Format> {
    match choice(c, el)? {
        Some((i, _)) => {
            c.child(el, i, |c, e| Format::parse(&e.name).ok_or_else(|| c.err("not a DDF format")))
        }
        None => Err(c.missing("chr")),
    }
}

fn df_type<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<DfType> {
    match choice(c, el)? {
        Some((i, e)) if e.name == "MIME" => Ok(DfType::Mime(c.child(el, i, |c, e| c.token(e))?)),
        Some((i, e)) if e.name == "DDFName" => Ok(DfType::DdfName(c.child(el, i, |c, e| c.token(e))?)),
        Some((i, _)) => c.child(el, i, |c, _| Err(c.err("not MIME or DDFName"))),
        None => Err(c.missing("MIME")),
    }
}

fn rt_properties<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<RtProperties> {
    let (mut acl, mut format, mut name, mut size, mut title) = (None, None, None, None, None);
    let (mut tstamp, mut type_, mut ver_no) = (None, None, None);
    let mut p = RtProperties::default();
    for (i, n) in el.children.iter().enumerate() {
        let Node::Element(e) = n else {
            c.stray(n)?;
            continue;
        };
        match e.name.as_ref() {
            "ACL" => c.once(el, i, e, &mut acl, &mut p.extra, |c, e| c.token(e))?,
            "Format" => c.once(el, i, e, &mut format, &mut p.extra, format_of)?,
            "Name" => c.once(el, i, e, &mut name, &mut p.extra, |c, e| c.token(e))?,
            "Size" => c.once(el, i, e, &mut size, &mut p.extra, |c, e| c.number(e))?,
            "Title" => c.once(el, i, e, &mut title, &mut p.extra, |c, e| c.text(e))?,
            "TStamp" => c.once(el, i, e, &mut tstamp, &mut p.extra, |c, e| c.token(e))?,
            "Type" => c.once(el, i, e, &mut type_, &mut p.extra, df_type)?,
            "VerNo" => c.once(el, i, e, &mut ver_no, &mut p.extra, |c, e| c.token(e))?,
            _ => p.extra.push(canon(e)),
        }
    }
    p.acl = acl;
    p.format = format;
    p.name = name;
    p.size = size;
    p.title = title;
    p.tstamp = tstamp;
    p.type_ = type_;
    p.ver_no = ver_no;
    Ok(p)
}

fn access_type<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<AccessTypes> {
    let mut a = AccessTypes::default();
    for (i, n) in el.children.iter().enumerate() {
        let Node::Element(e) = n else {
            c.stray(n)?;
            continue;
        };
        let slot = match e.name.as_ref() {
            "Add" => &mut a.add,
            "Copy" => &mut a.copy,
            "Delete" => &mut a.delete,
            "Exec" => &mut a.exec,
            "Get" => &mut a.get,
            "Replace" => &mut a.replace,
            _ if c.strict() => return c.child(el, i, |c, _| Err(c.err("not an access type"))),
            _ => continue,
        };
        c.flag(el, i, slot)?;
    }
    Ok(a)
}

fn occurrence<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<Occurrence> {
    let Some((i, e)) = choice(c, el)? else { return Err(c.missing("One")) };
    Ok(match e.name.as_ref() {
        "One" => Occurrence::One,
        "ZeroOrOne" => Occurrence::ZeroOrOne,
        "ZeroOrMore" => Occurrence::ZeroOrMore,
        "OneOrMore" => Occurrence::OneOrMore,
        "ZeroOrN" => Occurrence::ZeroOrN(c.child(el, i, |c, e| c.number(e))?),
        "OneOrN" => Occurrence::OneOrN(c.child(el, i, |c, e| c.number(e))?),
        _ => return c.child(el, i, |c, _| Err(c.err("not an occurrence"))),
    })
}

fn scope<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<Scope> {
    let Some((i, e)) = choice(c, el)? else { return Err(c.missing("Permanent")) };
    match e.name.as_ref() {
        "Permanent" => Ok(Scope::Permanent),
        "Dynamic" => Ok(Scope::Dynamic),
        _ => c.child(el, i, |c, _| Err(c.err("not Permanent or Dynamic"))),
    }
}

fn case_sense<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<bool> {
    let Some((i, e)) = choice(c, el)? else { return Err(c.missing("CS")) };
    match e.name.as_ref() {
        "CS" => Ok(true),
        "CIS" => Ok(false),
        _ => c.child(el, i, |c, _| Err(c.err("not CS or CIS"))),
    }
}

fn df_properties<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<DfProperties> {
    let (mut access, mut default_value, mut description, mut format) = (None, None, None, None);
    let (mut occ, mut sc, mut title, mut ty, mut cs) = (None, None, None, None, None);
    let mut p = DfProperties::default();
    for (i, n) in el.children.iter().enumerate() {
        let Node::Element(e) = n else {
            c.stray(n)?;
            continue;
        };
        match e.name.as_ref() {
            "AccessType" => c.once(el, i, e, &mut access, &mut p.extra, access_type)?,
            "DefaultValue" => c.once(el, i, e, &mut default_value, &mut p.extra, |c, e| c.text(e))?,
            "Description" => c.once(el, i, e, &mut description, &mut p.extra, |c, e| c.text(e))?,
            "DFFormat" => c.once(el, i, e, &mut format, &mut p.extra, format_of)?,
            "Occurrence" => c.once(el, i, e, &mut occ, &mut p.extra, occurrence)?,
            "Scope" => c.once(el, i, e, &mut sc, &mut p.extra, scope)?,
            "DFTitle" => c.once(el, i, e, &mut title, &mut p.extra, |c, e| c.text(e))?,
            "DFType" => c.once(el, i, e, &mut ty, &mut p.extra, df_type)?,
            "CaseSense" => c.once(el, i, e, &mut cs, &mut p.extra, case_sense)?,
            _ => p.extra.push(canon(e)),
        }
    }
    p.access_type = c.required(access, "AccessType")?;
    p.default_value = default_value;
    p.description = description;
    p.format = c.required(format, "DFFormat")?;
    p.occurrence = occ.unwrap_or_default();
    p.scope = sc;
    p.title = title;
    p.df_type = ty;
    p.case_sense = cs;
    Ok(p)
}

// ---- writing ------------------------------------------------------------------------------------

fn ddf(name: &'static str) -> Element {
    Element::new(Namespace::DmDdf, name)
}

fn push(parent: &mut Element, e: Element) {
    parent.children.push(Node::Element(e));
}

fn push_leaf(parent: &mut Element, name: &'static str, text: &str) {
    push(parent, leaf(Namespace::DmDdf, name, text));
}

fn push_extra(parent: &mut Element, extra: &[Element]) {
    parent.children.extend(extra.iter().cloned().map(Node::Element));
}

/// `<name><value/></name>`.
fn wrapped(name: &'static str, value: &'static str) -> Element {
    ddf(name).with(ddf(value))
}

fn node(n: &DdfNode) -> Element {
    let mut e = ddf("Node");
    push_leaf(&mut e, "NodeName", &n.name);
    if let Some(p) = &n.path {
        push_leaf(&mut e, "Path", p);
    }
    if let Some(p) = &n.rt_properties {
        push(&mut e, rt(p));
    }
    if let Some(p) = &n.df_properties {
        push(&mut e, df(p));
    }
    for c in &n.children {
        push(&mut e, node(c));
    }
    if let Some(v) = &n.value {
        push_leaf(&mut e, "Value", v);
    }
    push_extra(&mut e, &n.extra);
    e
}

fn df_type_el(name: &'static str, t: &DfType) -> Element {
    let mut e = ddf(name);
    match t {
        DfType::Mime(m) => push_leaf(&mut e, "MIME", m),
        DfType::DdfName(m) => push_leaf(&mut e, "DDFName", m),
    }
    e
}

fn rt(p: &RtProperties) -> Element {
    let mut e = ddf("RTProperties");
    if let Some(v) = &p.acl {
        push_leaf(&mut e, "ACL", v);
    }
    if let Some(f) = p.format {
        push(&mut e, wrapped("Format", f.as_str()));
    }
    if let Some(v) = &p.name {
        push_leaf(&mut e, "Name", v);
    }
    if let Some(v) = p.size {
        push_leaf(&mut e, "Size", &v.to_string());
    }
    if let Some(v) = &p.title {
        push_leaf(&mut e, "Title", v);
    }
    if let Some(v) = &p.tstamp {
        push_leaf(&mut e, "TStamp", v);
    }
    if let Some(t) = &p.type_ {
        push(&mut e, df_type_el("Type", t));
    }
    if let Some(v) = &p.ver_no {
        push_leaf(&mut e, "VerNo", v);
    }
    push_extra(&mut e, &p.extra);
    e
}

fn df(p: &DfProperties) -> Element {
    let mut e = ddf("DFProperties");
    let mut access = ddf("AccessType");
    let a = p.access_type;
    for (set, name) in [
        (a.add, "Add"),
        (a.copy, "Copy"),
        (a.delete, "Delete"),
        (a.exec, "Exec"),
        (a.get, "Get"),
        (a.replace, "Replace"),
    ] {
        if set {
            push(&mut access, ddf(name));
        }
    }
    push(&mut e, access);
    if let Some(v) = &p.default_value {
        push_leaf(&mut e, "DefaultValue", v);
    }
    if let Some(v) = &p.description {
        push_leaf(&mut e, "Description", v);
    }
    push(&mut e, wrapped("DFFormat", p.format.as_str()));
    match p.occurrence {
        Occurrence::One => {}
        Occurrence::ZeroOrOne => push(&mut e, wrapped("Occurrence", "ZeroOrOne")),
        Occurrence::ZeroOrMore => push(&mut e, wrapped("Occurrence", "ZeroOrMore")),
        Occurrence::OneOrMore => push(&mut e, wrapped("Occurrence", "OneOrMore")),
        Occurrence::ZeroOrN(n) => {
            push(&mut e, ddf("Occurrence").with(leaf(Namespace::DmDdf, "ZeroOrN", &n.to_string())))
        }
        Occurrence::OneOrN(n) => {
            push(&mut e, ddf("Occurrence").with(leaf(Namespace::DmDdf, "OneOrN", &n.to_string())))
        }
    }
    match p.scope {
        Some(Scope::Permanent) => push(&mut e, wrapped("Scope", "Permanent")),
        Some(Scope::Dynamic) => push(&mut e, wrapped("Scope", "Dynamic")),
        None => {}
    }
    if let Some(v) = &p.title {
        push_leaf(&mut e, "DFTitle", v);
    }
    if let Some(t) = &p.df_type {
        push(&mut e, df_type_el("DFType", t));
    }
    match p.case_sense {
        Some(true) => push(&mut e, wrapped("CaseSense", "CS")),
        Some(false) => push(&mut e, wrapped("CaseSense", "CIS")),
        None => {}
    }
    push_extra(&mut e, &p.extra);
    e
}

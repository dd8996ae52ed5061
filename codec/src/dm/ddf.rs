//! The typed model of a Device Description Framework document (OMA DM 1.2.1 TND §7–§8, DTD
//! `OMA-SUP-DTD_DM_DDF-V1_2`, namespace `syncml:dmddf1.2`) and of TNDS objects (DM 1.2.1 TNDS §9: the same
//! DTD with run-time properties and values), with its codec in XML and WBXML (code page 2).
//!
//! Types: [`MgmtTree`] (the document), [`DdfNode`] (a node: `DFProperties` in a DDF, `RTProperties` and
//! `Value` in a TNDS object), [`DfProperties`], [`RtProperties`], [`Format`], [`AccessTypes`],
//! [`Occurrence`], [`Scope`], [`DfType`].
//!
//! ```text
//! MgmtTree     (VerDTD, Man?, Mod?, Node+)
//! Node         (NodeName, Path?, RTProperties?, DFProperties?, (Node* | Value?))
//! RTProperties (ACL?, Format?, Name?, Size?, Title?, TStamp?, Type?, VerNo?)
//! DFProperties (AccessType, DefaultValue?, Description?, DFFormat, Occurrence?, Scope?, DFTitle?, DFType?,
//!               CaseSense?)
//! AccessType   (Add?, Copy?, Delete?, Exec?, Get?, Replace?)
//! DFFormat, Format (b64 | bin | bool | chr | int | node | null | xml | date | time | float)
//! Occurrence   (One | ZeroOrOne | ZeroOrMore | OneOrMore | ZeroOrN | OneOrN)   Scope (Permanent | Dynamic)
//! DFType, Type (MIME | DDFName)                  CaseSense (CS | CIS)
//! ```
//! An empty `NodeName` marks an unnamed placeholder node (`<x>` in the MO tables): its instances get their names at
//! run time. These types describe management objects to the client's DM tree, which validates every command
//! against them (format, access types, occurrence).
//!
//! Reading and writing ([`MgmtTree::decode`], [`MgmtTree::from_tree`], [`MgmtTree::to_xml`],
//! [`MgmtTree::to_wbxml`]) follow the rules of the SyncML model ([`crate::syncml::model`]): elements in
//! the DTD order above, read in any order; token texts (`NodeName`, `Path`, `VerDTD`, `MIME`, `ACL`, …)
//! trimmed, free texts (`Value`, `DefaultValue`, `Description`, `DFTitle`, `Title`) kept exactly; unknown
//! elements kept in `extra`; [`Mode::Strict`](crate::xml::Mode) rejects a missing `NodeName`, `DFFormat`
//! or `AccessType`, lenient fills defaults. `Occurrence` One, the default, is not written.

use serde::{Deserialize, Serialize};

use crate::syncml::tree::Element;

mod codec;

/// Node format (TND §7.7.3 Format, DDF `DFFormat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// `b64`: base64 text.
    B64,
    /// `bin`: binary.
    Bin,
    /// `bool`: `true` / `false`.
    Bool,
    /// `chr`: text.
    #[default]
    Chr,
    /// `int`: signed 32-bit decimal.
    Int,
    /// `node`: interior node.
    Node,
    /// `null`: no value.
    Null,
    /// `xml`: XML text.
    Xml,
    /// `date`: ISO 8601 date (DM 1.2).
    Date,
    /// `time`: ISO 8601 time (DM 1.2).
    Time,
    /// `float`: IEEE 754 single precision as text (DM 1.2).
    Float,
}

impl Format {
    /// The DDF / Meta `Format` name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::B64 => "b64",
            Self::Bin => "bin",
            Self::Bool => "bool",
            Self::Chr => "chr",
            Self::Int => "int",
            Self::Node => "node",
            Self::Null => "null",
            Self::Xml => "xml",
            Self::Date => "date",
            Self::Time => "time",
            Self::Float => "float",
        }
    }

    /// Parses a format name (exact, as the DTD spells them; `Chr` is also accepted because real clients send it).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "b64" => Self::B64,
            "bin" => Self::Bin,
            "bool" => Self::Bool,
            "chr" | "Chr" => Self::Chr,
            "int" => Self::Int,
            "node" => Self::Node,
            "null" => Self::Null,
            "xml" => Self::Xml,
            "date" => Self::Date,
            "time" => Self::Time,
            "float" => Self::Float,
            _ => return None,
        })
    }

    /// Checks that `value` is well formed for this format (TND §7.7.3; `bin`/`b64`/`xml`/`chr` accept any bytes
    /// here, `b64` must decode).
    #[must_use]
    pub fn accepts(self, value: &[u8]) -> bool {
        let text = || std::str::from_utf8(value).ok().map(str::trim);
        match self {
            Self::Bin | Self::Chr | Self::Xml => true,
            Self::Null => value.is_empty(),
            Self::Node => value.is_empty(),
            Self::B64 => text().is_some_and(|t| super::auth::decode_b64(t).is_some()),
            Self::Bool => matches!(text(), Some("true" | "false")),
            Self::Int => text().is_some_and(|t| t.parse::<i32>().is_ok()),
            Self::Float => text().is_some_and(|t| t.parse::<f32>().is_ok()),
            Self::Date => text().is_some_and(is_iso_date),
            Self::Time => text().is_some_and(is_iso_time),
        }
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `YYYY-MM-DD` or `YYYYMMDD` (ISO 8601 calendar date, basic or extended).
fn is_iso_date(s: &str) -> bool {
    let field =
        |r: std::ops::Range<usize>| s.get(r).filter(|t| all_digits(t)).and_then(|t| t.parse::<u32>().ok());
    let calendar = |m, d| {
        field(m).is_some_and(|m| (1..=12).contains(&m)) && field(d).is_some_and(|d| (1..=31).contains(&d))
    };
    let ordinal = |o| field(o).is_some_and(|o| (1..=366).contains(&o));
    let dash = |i: usize| s.as_bytes().get(i) == Some(&b'-');
    field(0..4).is_some()
        && match s.len() {
            10 => dash(4) && dash(7) && calendar(5..7, 8..10),
            8 if dash(4) => ordinal(5..8),
            8 => calendar(4..6, 6..8),
            7 => ordinal(4..7),
            _ => false,
        }
}

/// `hh:mm:ss` or `hhmmss`, optionally with a zone `Z` or `±hh[:mm]`.
fn is_iso_time(s: &str) -> bool {
    let (t, _zone) = match s.find(['Z', '+', '-']) {
        Some(i) => s.split_at(i),
        None => (s, ""),
    };
    let d: String = t.chars().filter(|&c| c != ':').collect();
    (d.len() == 6 || d.len() == 4) && all_digits(&d)
}

/// The commands a node allows (DDF `AccessType`, TND §8.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct AccessTypes {
    /// `Add`
    #[serde(default)]
    pub add: bool,
    /// `Copy`
    #[serde(default)]
    pub copy: bool,
    /// `Delete`
    #[serde(default)]
    pub delete: bool,
    /// `Exec`
    #[serde(default)]
    pub exec: bool,
    /// `Get`
    #[serde(default)]
    pub get: bool,
    /// `Replace`
    #[serde(default)]
    pub replace: bool,
}

impl AccessTypes {
    /// Every access type.
    pub const ALL: Self = Self { add: true, copy: true, delete: true, exec: true, get: true, replace: true };
    /// Get only.
    pub const GET: Self =
        Self { add: false, copy: false, delete: false, exec: false, get: true, replace: false };
    /// Get and Replace.
    pub const GET_REPLACE: Self = Self { replace: true, ..Self::GET };
    /// Add, Delete, Get and Replace (a typical dynamic node).
    pub const ADD_DELETE_GET_REPLACE: Self = Self { add: true, delete: true, ..Self::GET_REPLACE };
    /// Exec only.
    pub const EXEC: Self =
        Self { add: false, copy: false, delete: false, exec: true, get: false, replace: false };
    /// Parses a compact list like `Get,Replace` (names as in the DDF, case-insensitive).
    #[must_use]
    pub fn parse_list(s: &str) -> Option<Self> {
        let mut a = Self::default();
        for part in s.split([',', '+', ' ']).filter(|p| !p.is_empty()) {
            match part.to_ascii_lowercase().as_str() {
                "add" => a.add = true,
                "copy" => a.copy = true,
                "delete" => a.delete = true,
                "exec" => a.exec = true,
                "get" => a.get = true,
                "replace" => a.replace = true,
                _ => return None,
            }
        }
        Some(a)
    }
}

/// How many instances of a node may exist (DDF `Occurrence`, TND §8.4). Default: `One`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Occurrence {
    /// Exactly one.
    #[default]
    One,
    /// Zero or one.
    ZeroOrOne,
    /// Any number.
    ZeroOrMore,
    /// At least one.
    OneOrMore,
    /// Zero to N.
    ZeroOrN(u32),
    /// One to N.
    OneOrN(u32),
}

impl Occurrence {
    /// The largest number of instances allowed.
    #[must_use]
    pub const fn max(self) -> Option<u32> {
        match self {
            Self::One | Self::ZeroOrOne => Some(1),
            Self::ZeroOrMore | Self::OneOrMore => None,
            Self::ZeroOrN(n) | Self::OneOrN(n) => Some(n),
        }
    }
    /// Whether an instance may be absent (the node may be deleted).
    #[must_use]
    pub const fn optional(self) -> bool {
        matches!(self, Self::ZeroOrOne | Self::ZeroOrMore | Self::ZeroOrN(_))
    }
}

/// Permanent or dynamic (DDF `Scope`, TND §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Created by the device; cannot be deleted by a server.
    Permanent,
    /// Created and deleted at run time.
    #[default]
    Dynamic,
}

/// DDF `DFProperties`: the description of one node (TND §8.4).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DfProperties {
    /// Allowed commands.
    pub access_type: AccessTypes,
    /// `DefaultValue`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<String>,
    /// `Description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `DFFormat`.
    pub format: Format,
    /// `Occurrence` (default One; written only when it is not One).
    #[serde(default)]
    pub occurrence: Occurrence,
    /// `Scope` (absent in many real DDFs: `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// `DFTitle`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `DFType`: a MIME type (`MIME`) for leaves, or an MO identifier (`DDFName`) for the root of an MO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub df_type: Option<DfType>,
    /// `CaseSense`: true = `CS` (the default), false = `CIS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_sense: Option<bool>,
    /// Unknown children of `DFProperties`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<Element>,
}

/// The properties of a node with no `DFProperties` ([`DdfNode::props`]).
static NO_DF_PROPERTIES: DfProperties = DfProperties {
    access_type: AccessTypes {
        add: false,
        copy: false,
        delete: false,
        exec: false,
        get: false,
        replace: false,
    },
    default_value: None,
    description: None,
    format: Format::Chr,
    occurrence: Occurrence::One,
    scope: None,
    title: None,
    df_type: None,
    case_sense: None,
    extra: Vec::new(),
};

/// DDF `DFType` and TNDS `RTProperties/Type` (TND §8.4, TNDS §9.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DfType {
    /// `<MIME>text/plain</MIME>`
    Mime(String),
    /// `<DDFName>urn:oma:mo:…</DDFName>` (the MO identifier; may be empty).
    DdfName(String),
}

/// TNDS `RTProperties`: the run-time properties of a node as a TNDS object carries them (DM 1.2.1 TNDS
/// §9.2.3, TND §7): `ACL?, Format?, Name?, Size?, Title?, TStamp?, Type?, VerNo?`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RtProperties {
    /// `ACL` (`Get=*&Replace=srv`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<String>,
    /// `Format` (`<Format><chr/></Format>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    /// `Name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Size` (bytes of the value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// `Title`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `TStamp` (ISO 8601 text, kept as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tstamp: Option<String>,
    /// `Type` (`MIME` or `DDFName`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<DfType>,
    /// `VerNo` (text, kept as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver_no: Option<String>,
    /// Unknown children.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<Element>,
}

/// A DDF or TNDS `Node` (TND §8, TNDS §9): `NodeName, Path?, RTProperties?, DFProperties?, (Node* | Value?)`.
///
/// A DDF node has `DFProperties` (its description); a TNDS node has `RTProperties` and, for a leaf,
/// `Value`. An empty `NodeName` marks an unnamed placeholder node (`<x>` in the MO tables).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DdfNode {
    /// `NodeName` (empty for an unnamed placeholder `<x>`).
    pub name: String,
    /// `Path` (where the node is placed: the URI of its parent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `RTProperties` (TNDS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rt_properties: Option<RtProperties>,
    /// `DFProperties` (DDF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub df_properties: Option<DfProperties>,
    /// `Value` (TNDS leaves): text; binary values are base64 text (TNDS §9.2.3.1.7: `bin` values are written
    /// base64 in XML; a raw `OPAQUE` value in WBXML is read as base64 text too, decision: one form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Child nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<DdfNode>,
    /// Unknown children.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<Element>,
}

impl DdfNode {
    /// A node described by `props`.
    #[must_use]
    pub fn described(name: impl Into<String>, props: DfProperties) -> Self {
        Self { name: name.into(), df_properties: Some(props), ..Self::default() }
    }

    /// True for an unnamed placeholder (dynamic name).
    #[must_use]
    pub fn is_placeholder(&self) -> bool {
        self.name.is_empty()
    }

    /// The node's `DFProperties` (a node without them has no access types, `chr`, One).
    #[must_use]
    pub fn props(&self) -> &DfProperties {
        self.df_properties.as_ref().unwrap_or(&NO_DF_PROPERTIES)
    }

    /// The node's `DFProperties`, created empty if there are none.
    pub fn props_mut(&mut self) -> &mut DfProperties {
        self.df_properties.get_or_insert_with(DfProperties::default)
    }

    /// The child description matching `name`: the named child, else the placeholder child.
    #[must_use]
    pub fn child_for(&self, name: &str) -> Option<&DdfNode> {
        self.children
            .iter()
            .find(|c| c.name == name)
            .or_else(|| self.children.iter().find(|c| c.is_placeholder()))
    }

    /// This node and every node below it.
    #[must_use]
    pub fn count(&self) -> usize {
        1 + self.children.iter().map(DdfNode::count).sum::<usize>()
    }
}

/// A DDF or TNDS document (`MgmtTree`, TND §8, TNDS §9): `VerDTD, Man?, Mod?, Node+`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MgmtTree {
    /// `VerDTD` (1.2).
    pub ver_dtd: String,
    /// `Man`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub man: Option<String>,
    /// `Mod`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Top-level nodes.
    pub nodes: Vec<DdfNode>,
    /// Unknown children.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<Element>,
}

impl MgmtTree {
    /// An empty tree with `VerDTD` 1.2.
    #[must_use]
    pub fn new() -> Self {
        Self { ver_dtd: "1.2".to_owned(), ..Self::default() }
    }

    /// Every node with its URI, depth first: a top-level node's URI is its `Path` joined with its
    /// `NodeName` (`Path` `.` and name `DevInfo` give `./DevInfo`; an empty or missing `Path` gives the name
    /// alone), a child's is its parent's URI, `/` and its name (the `Path`s of inner nodes, which DDFs like
    /// the AOSP one repeat, are not consulted).
    #[must_use]
    pub fn iter(&self) -> Vec<(String, &DdfNode)> {
        let mut out = Vec::new();
        fn walk<'a>(uri: String, n: &'a DdfNode, out: &mut Vec<(String, &'a DdfNode)>) {
            out.push((uri.clone(), n));
            for c in &n.children {
                walk(format!("{uri}/{}", c.name), c, out);
            }
        }
        for n in &self.nodes {
            let uri = match n.path.as_deref().map(str::trim) {
                None | Some("") => n.name.clone(),
                Some(p) => format!("{}/{}", p.trim_end_matches('/'), n.name),
            };
            walk(uri, n, &mut out);
        }
        out
    }

    /// The node at `uri` (as [`MgmtTree::iter`] names them).
    #[must_use]
    pub fn find(&self, uri: &str) -> Option<&DdfNode> {
        self.iter().into_iter().find(|(u, _)| u == uri).map(|(_, n)| n)
    }

    /// The number of nodes in the document.
    #[must_use]
    pub fn node_count(&self) -> usize {
        self.nodes.iter().map(DdfNode::count).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_check_values() {
        assert!(
            Format::Int.accepts(b"-42")
                && !Format::Int.accepts(b"4x")
                && !Format::Int.accepts(b"99999999999")
        );
        assert!(Format::Bool.accepts(b"true") && !Format::Bool.accepts(b"TRUE"));
        assert!(Format::Float.accepts(b"3.25") && !Format::Float.accepts(b"abc"));
        assert!(
            Format::Date.accepts(b"2009-05-11")
                && Format::Date.accepts(b"20090511")
                && !Format::Date.accepts(b"2009-5-11")
        );
        assert!(
            Format::Time.accepts(b"12:30:00")
                && Format::Time.accepts(b"123000Z")
                && !Format::Time.accepts(b"12h")
        );
        assert!(Format::B64.accepts(b"AAAA") && !Format::B64.accepts(b"A"));
        assert!(Format::Null.accepts(b"") && !Format::Null.accepts(b"x"));
        for f in ["b64", "bin", "bool", "chr", "int", "node", "null", "xml", "date", "time", "float"] {
            assert_eq!(Format::parse(f).unwrap().as_str(), f);
        }
    }

    /// Found by fuzzing: a `MgmtTree` element kept in `DFProperties`' `extra` is an element of the DDF, not a
    /// nested DDF document, in XML as in WBXML.
    #[test]
    fn mgmt_tree_element_inside_a_ddf_stays_an_element() {
        let x = "<MgmtTree xmlns='syncml:dmddf1.2'><VerDTD>1.2</VerDTD><Node><NodeName>a</NodeName>\
                 <DFProperties><AccessType><Get/></AccessType><DFFormat><chr/></DFFormat>\
                 <MgmtTree><Description>x</Description></MgmtTree></DFProperties></Node></MgmtTree>";
        let t = MgmtTree::decode(x.as_bytes(), crate::xml::Mode::Lenient).unwrap();
        let extra = &t.nodes[0].df_properties.as_ref().unwrap().extra;
        assert_eq!(extra.len(), 1);
        assert_eq!(extra[0].name, "MgmtTree");
        let rtk = crate::syncml::tree::Profile::rtk();
        let back = MgmtTree::decode(t.to_xml(&rtk).unwrap().as_bytes(), crate::xml::Mode::Lenient).unwrap();
        assert_eq!(back, t);
        assert_eq!(MgmtTree::decode(&t.to_wbxml(&rtk).unwrap(), crate::xml::Mode::Lenient).unwrap(), t);
    }

    #[test]
    fn occurrence_and_access() {
        assert_eq!(Occurrence::ZeroOrN(3).max(), Some(3));
        assert!(Occurrence::ZeroOrMore.optional() && !Occurrence::One.optional());
        assert_eq!(AccessTypes::parse_list("Get,Replace"), Some(AccessTypes::GET_REPLACE));
        assert_eq!(AccessTypes::parse_list("Get,Frob"), None);
    }

    #[test]
    fn placeholder_lookup() {
        let n = DdfNode {
            name: "AppAuth".into(),
            children: vec![DdfNode { name: String::new(), ..Default::default() }],
            ..Default::default()
        };
        assert!(n.child_for("1").unwrap().is_placeholder());
    }

    // ---- codec ----------------------------------------------------------------------------------------

    use crate::syncml::model::ModelError;
    use crate::syncml::tree::Profile;
    use crate::xml::Mode;
    use proptest::prelude::*;

    /// A DDF in the style of TND §8 (DevInfo-like), every property used once.
    const DDF: &str = "<MgmtTree xmlns='syncml:dmddf1.2'><VerDTD>1.2</VerDTD><Man>Acme</Man><Mod>X1</Mod>
      <Node><NodeName>DevInfo</NodeName><Path>.</Path>
        <DFProperties><AccessType><Get/></AccessType><DFFormat><node/></DFFormat><Scope><Permanent/></Scope>
          <DFType><DDFName>urn:oma:mo:oma-dm-devinfo:1.0</DDFName></DFType></DFProperties>
        <Node><NodeName>DevId</NodeName>
          <DFProperties><AccessType><Get/><Replace/></AccessType><DefaultValue>IMEI:0</DefaultValue>
            <Description> The unique id </Description><DFFormat><chr/></DFFormat>
            <Occurrence><ZeroOrN>5</ZeroOrN></Occurrence><DFTitle>Device id</DFTitle>
            <DFType><MIME>text/plain</MIME></DFType><CaseSense><CIS/></CaseSense></DFProperties>
        </Node>
        <Node><NodeName/><DFProperties><AccessType><Add/><Copy/><Delete/><Exec/><Get/><Replace/></AccessType>
          <DFFormat><node/></DFFormat><Occurrence><ZeroOrMore/></Occurrence><Scope><Dynamic/></Scope>
          </DFProperties></Node>
      </Node></MgmtTree>";

    #[test]
    fn ddf_reads_typed() {
        let t = MgmtTree::from_xml_str(DDF).unwrap();
        assert_eq!(
            (t.ver_dtd.as_str(), t.man.as_deref(), t.model.as_deref()),
            ("1.2", Some("Acme"), Some("X1"))
        );
        assert_eq!(t.node_count(), 3);
        let root = t.find("./DevInfo").unwrap();
        assert_eq!(root.props().scope, Some(Scope::Permanent));
        assert_eq!(root.props().df_type, Some(DfType::DdfName("urn:oma:mo:oma-dm-devinfo:1.0".into())));
        let id = t.find("./DevInfo/DevId").unwrap();
        let p = id.props();
        assert_eq!(p.access_type, AccessTypes::GET_REPLACE);
        assert_eq!(p.occurrence, Occurrence::ZeroOrN(5));
        assert_eq!(p.description.as_deref(), Some(" The unique id "), "free text is kept exactly");
        assert_eq!((p.default_value.as_deref(), p.title.as_deref()), (Some("IMEI:0"), Some("Device id")));
        assert_eq!(p.case_sense, Some(false));
        let any = t.find("./DevInfo/").unwrap();
        assert!(any.is_placeholder());
        assert_eq!(any.props().access_type, AccessTypes::ALL);
        assert_eq!(root.child_for("whatever").map(|n| n.name.as_str()), Some(""));
        for p in [
            Profile::rtk(),
            Profile { xml_style: crate::syncml::tree::XmlStyle::Indent(1), ..Profile::rtk() },
        ] {
            let x = t.to_xml(&p).unwrap();
            assert_eq!(MgmtTree::from_xml_str(&x).unwrap(), t, "{x}");
        }
        let w = t.to_wbxml(&Profile::rtk()).unwrap();
        // WBXML 1.2, FPI in the string table (no registered id), then the MgmtTree tag on page 2: SWITCH_PAGE 2.
        assert_eq!(w[..5], [0x02, 0x00, 0x00, 0x6A, 0x1A]);
        assert_eq!(&w[5..31], b"-//OMA//DTD-DM-DDF 1.2//EN");
        assert_eq!(w[31..34], [0x00, 0x02, 0x60]);
        assert_eq!(MgmtTree::decode(&w, Mode::Strict).unwrap(), t);
        // The libwbxml profile strips the blanks of the Description, as xml2wbxml and wbxml2xml do.
        let lw = MgmtTree::decode(&t.to_wbxml(&Profile::libwbxml()).unwrap(), Mode::Strict).unwrap();
        assert_eq!(lw.find("./DevInfo/DevId").unwrap().props().description.as_deref(), Some("The unique id"));
        let lx = MgmtTree::from_xml_str(&t.to_xml(&Profile::libwbxml()).unwrap()).unwrap();
        assert_eq!(lx, lw);
    }

    #[test]
    fn tnds_reads_typed() {
        let x = "<MgmtTree xmlns='syncml:dmddf1.2'><VerDTD>1.2</VerDTD><Node><NodeName>E-Mail</NodeName>
          <Path>./OperatorX</Path><RTProperties><ACL>Get=*</ACL><Format><node/></Format>
          <Type><DDFName>com.operatorX.dm/1.0/EMail</DDFName></Type></RTProperties>
          <Node><NodeName>POPServer</NodeName><RTProperties><Format><chr/></Format><Name>pop</Name><Size>18</Size>
          <Title>Server</Title><TStamp>20010711T163817Z</TStamp><Type><MIME>text/plain</MIME></Type>
          <VerNo>3</VerNo></RTProperties><Value>mail.Operatorx.com</Value></Node></Node></MgmtTree>";
        let t = MgmtTree::from_xml_str(x).unwrap();
        let pop = t.find("./OperatorX/E-Mail/POPServer").unwrap();
        assert_eq!(pop.value.as_deref(), Some("mail.Operatorx.com"));
        let rt = pop.rt_properties.as_ref().unwrap();
        assert_eq!(rt.format, Some(Format::Chr));
        assert_eq!((rt.size, rt.ver_no.as_deref(), rt.name.as_deref()), (Some(18), Some("3"), Some("pop")));
        assert_eq!(rt.type_, Some(DfType::Mime("text/plain".into())));
        assert!(pop.df_properties.is_none());
        assert_eq!(pop.props().format, Format::Chr, "no DFProperties: the empty description");
        assert_eq!(
            t.find("./OperatorX/E-Mail").unwrap().rt_properties.as_ref().unwrap().acl.as_deref(),
            Some("Get=*")
        );
        assert_eq!(
            t.to_xml_fragment(),
            "<MgmtTree xmlns='syncml:dmddf1.2'><VerDTD>1.2</VerDTD><Node><NodeName>E-Mail</NodeName>\
             <Path>./OperatorX</Path><RTProperties><ACL>Get=*</ACL><Format><node/></Format><Type>\
             <DDFName>com.operatorX.dm/1.0/EMail</DDFName></Type></RTProperties><Node><NodeName>POPServer\
             </NodeName><RTProperties><Format><chr/></Format><Name>pop</Name><Size>18</Size><Title>Server</Title>\
             <TStamp>20010711T163817Z</TStamp><Type><MIME>text/plain</MIME></Type><VerNo>3</VerNo>\
             </RTProperties><Value>mail.Operatorx.com</Value></Node></Node></MgmtTree>"
        );
    }

    fn invalid(x: &str) -> (String, &'static str) {
        match MgmtTree::from_xml_str(x) {
            Err(ModelError::Invalid { path, reason }) => (path, reason),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ddf_errors_name_the_element() {
        let node = |props: &str| {
            format!(
                "<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>a</NodeName></Node><Node><NodeName>b</NodeName>\
                     <DFProperties>{props}</DFProperties></Node></MgmtTree>"
            )
        };
        let (p, r) = invalid(&node("<AccessType><Get/></AccessType>"));
        assert_eq!((p.as_str(), r), ("MgmtTree/Node[2]/DFProperties/DFFormat", "missing (required here)"));
        let (p, r) = invalid(&node("<AccessType><Get/></AccessType><DFFormat><text/></DFFormat>"));
        assert_eq!((p.as_str(), r), ("MgmtTree/Node[2]/DFProperties/DFFormat/text", "not a DDF format"));
        let (p, r) = invalid(&node("<AccessType><Get/><Put/></AccessType><DFFormat><chr/></DFFormat>"));
        assert_eq!((p.as_str(), r), ("MgmtTree/Node[2]/DFProperties/AccessType/Put", "not an access type"));
        let (p, r) = invalid(&node(
            "<AccessType/><DFFormat><chr/></DFFormat><Occurrence><ZeroOrN>many</ZeroOrN></Occurrence>",
        ));
        assert_eq!(
            (p.as_str(), r),
            ("MgmtTree/Node[2]/DFProperties/Occurrence/ZeroOrN", "not a number (decimal digits expected)")
        );
        let (p, r) = invalid(&node("<AccessType/><DFFormat><chr/><int/></DFFormat>"));
        assert_eq!(
            (p.as_str(), r),
            ("MgmtTree/Node[2]/DFProperties/DFFormat/int", "only one value may be given here")
        );
        let (p, r) = invalid("<MgmtTree><VerDTD>1.2</VerDTD><Node><Path>.</Path></Node></MgmtTree>");
        assert_eq!((p.as_str(), r), ("MgmtTree/Node/NodeName", "missing (required here)"));
        // Lenient: defaults.
        let t = MgmtTree::decode(node("<AccessType><Get/><Put/></AccessType>").as_bytes(), Mode::Lenient)
            .unwrap();
        assert_eq!(t.nodes[1].props().format, Format::Chr);
        assert!(matches!(
            MgmtTree::from_xml_str("<SyncML/>"),
            Err(ModelError::WrongDocument { found: crate::syncml::tree::Language::SyncMl12, .. })
        ));
    }

    /// Nodes as deep as the XML layer allows read and write back within a test thread's stack.
    #[test]
    fn deep_trees_stay_within_the_stack() {
        let depth = crate::xml::MAX_DEPTH - 4;
        let x = format!(
            "<MgmtTree><VerDTD>1.2</VerDTD>{}{}</MgmtTree>",
            "<Node><NodeName>n</NodeName>".repeat(depth),
            "</Node>".repeat(depth)
        );
        let t = MgmtTree::from_xml_str(&x).unwrap();
        assert_eq!(t.node_count(), depth);
        assert_eq!(MgmtTree::decode(&t.to_wbxml(&Profile::rtk()).unwrap(), Mode::Strict).unwrap(), t);
        assert_eq!(MgmtTree::from_xml_str(&t.to_xml(&Profile::rtk()).unwrap()).unwrap(), t);
        assert_eq!(t.iter().len(), depth);
    }

    fn text() -> impl Strategy<Value = String> {
        "([a-zA-Z0-9&<>'=.:/_-]([ a-zA-Z0-9&<>=._-]{0,8}[a-zA-Z0-9])?)?"
    }

    fn df_props() -> impl Strategy<Value = DfProperties> {
        (
            any::<[bool; 6]>(),
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::sample::select(vec![
                Format::B64,
                Format::Bin,
                Format::Bool,
                Format::Chr,
                Format::Int,
                Format::Node,
                Format::Null,
                Format::Xml,
                Format::Date,
                Format::Time,
                Format::Float,
            ]),
            prop_oneof![
                Just(Occurrence::One),
                Just(Occurrence::ZeroOrOne),
                Just(Occurrence::ZeroOrMore),
                Just(Occurrence::OneOrMore),
                any::<u32>().prop_map(Occurrence::ZeroOrN),
                any::<u32>().prop_map(Occurrence::OneOrN)
            ],
            proptest::option::of(prop_oneof![Just(Scope::Permanent), Just(Scope::Dynamic)]),
            proptest::option::of(text()),
            proptest::option::of(prop_oneof![
                text().prop_map(DfType::Mime),
                text().prop_map(DfType::DdfName)
            ]),
            proptest::option::of(any::<bool>()),
        )
            .prop_map(
                |(
                    [add, copy, delete, exec, get, replace],
                    default_value,
                    description,
                    format,
                    occurrence,
                    scope,
                    title,
                    df_type,
                    case_sense,
                )| DfProperties {
                    access_type: AccessTypes { add, copy, delete, exec, get, replace },
                    default_value,
                    description,
                    format,
                    occurrence,
                    scope,
                    title,
                    df_type,
                    case_sense,
                    extra: Vec::new(),
                },
            )
    }

    fn rt_props() -> impl Strategy<Value = RtProperties> {
        (
            proptest::option::of(text()),
            proptest::option::of(proptest::sample::select(vec![Format::Chr, Format::Node, Format::Bin])),
            proptest::option::of(text()),
            proptest::option::of(any::<u64>()),
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(prop_oneof![
                text().prop_map(DfType::Mime),
                text().prop_map(DfType::DdfName)
            ]),
            proptest::option::of("[0-9]{1,5}"),
        )
            .prop_map(|(acl, format, name, size, title, tstamp, type_, ver_no)| RtProperties {
                acl,
                format,
                name,
                size,
                title,
                tstamp,
                type_,
                ver_no,
                extra: Vec::new(),
            })
    }

    fn ddf_node() -> impl Strategy<Value = DdfNode> {
        let leaf = (
            text(),
            proptest::option::of(text()),
            proptest::option::of(rt_props()),
            proptest::option::of(df_props()),
            proptest::option::of(text()),
        )
            .prop_map(|(name, path, rt, df, value)| DdfNode {
                name,
                path,
                rt_properties: rt,
                df_properties: df,
                value,
                ..DdfNode::default()
            });
        leaf.prop_recursive(3, 16, 3, |inner| {
            (text(), proptest::option::of(df_props()), proptest::collection::vec(inner, 1..3)).prop_map(
                |(name, df, children)| DdfNode { name, df_properties: df, children, ..DdfNode::default() },
            )
        })
    }

    fn mgmt_tree() -> impl Strategy<Value = MgmtTree> {
        (
            text(),
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::collection::vec(ddf_node(), 1..3),
        )
            .prop_map(|(ver_dtd, man, model, nodes)| MgmtTree {
                ver_dtd,
                man,
                model,
                nodes,
                extra: Vec::new(),
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn ddf_round_trips(t in mgmt_tree()) {
            for p in [Profile::rtk(), Profile::libwbxml()] {
                let x = t.to_xml(&p).unwrap();
                prop_assert_eq!(&MgmtTree::from_xml_str(&x).unwrap(), &t, "{}", x);
                let w = t.to_wbxml(&p).unwrap();
                prop_assert_eq!(&MgmtTree::decode(&w, Mode::Strict).unwrap(), &t);
            }
            prop_assert_eq!(&MgmtTree::from_xml_str(&t.to_xml_fragment()).unwrap(), &t);
            let j = serde_json::to_string(&t).unwrap();
            prop_assert_eq!(serde_json::from_str::<MgmtTree>(&j).unwrap(), t);
        }
    }
}

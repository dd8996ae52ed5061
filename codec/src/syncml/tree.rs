//! The SyncML element tree: one small tree that both encodings (XML and WBXML) convert to and from, and the
//! reference profiles that decide how it is written.
//!
//! Types: [`Document`] (a [`Language`] and a root [`Element`]), [`Element`] (namespace, name, children),
//! [`Node`] (element, text, CDATA, opaque bytes, nested document), [`Profile`] (how to write: libwbxml or
//! RTK flavour, WBXML version, public-id form, string table, whitespace, XML style) and [`ConvertError`].
//!
//! Reading:
//! - [`Document::from_xml`]: element names are resolved to code pages by namespace first and by name second
//!   (MetInf names without `xmlns` are accepted, as libwbxml does); `MgmtTree` in `syncml:dmddf1.2` and
//!   `DevInf` in `syncml:devinf` below the root become nested [`Node::Document`]s; ignorable whitespace is
//!   dropped unless [`Whitespace::Keep`] is asked for; `<X></X>` gives an empty [`Node::Text`], `<X/>` none.
//! - [`Document::from_wbxml`]: one node per content token (`STR_I`, `STR_T`, `ENTITY` become text, `OPAQUE`
//!   opaque bytes or a nested document); an element with the content bit but no content gets an empty text,
//!   so `4F 01` and `4F 03 00 01` read the same and `0F` reads as no children. Attributes (SyncML defines
//!   none) and PIs are skipped.
//!
//! Writing, by [`Profile`]:
//! - [`Flavor::Libwbxml`] reproduces libwbxml 0.11.8 byte for byte: [`xml_to_wbxml`] equals
//!   `xml2wbxml -n -v 1.2` (with [`Profile::string_table`], `xml2wbxml -v 1.2`) and [`wbxml_to_xml`] equals
//!   `wbxml2xml -m 0` (or `-m 1 -i N` with [`XmlStyle::Indent`]). These two work from the lossless documents
//!   because libwbxml's output depends on details a tree does not keep (see the private `libwbxml` module:
//!   how expat splits character data, comments next to whitespace). Where libwbxml departs from the specs
//!   its behaviour is reproduced in this flavour only, and named: `Data` under `Add`/`Replace` becomes
//!   `OPAQUE` with every LF turned into CRLF (its vCard hack), such `Data` is rendered as nested
//!   `<![CDATA[` sections, leading and trailing white space of text is stripped, `Type` values
//!   `…+xml` are rewritten to `…+wbxml` on the way to WBXML and back, and `NextNonce` opaque data is shown
//!   in base64.
//! - [`Flavor::Rtk`] writes what the OMA SyncML Reference Toolkit in real devices sends: WBXML 1.2, the FPI
//!   in the string table without NUL, `STR_I` for all text (`Data` too), `4F 03 00 01` for an empty `Data`;
//!   XML with `<?xml version="1.0" encoding="UTF-8"?>`, no DOCTYPE, `xmlns='…'` in single quotes.
//!
//! Speed: [`wbxml_bytes_to_xml`] and [`xml_text_to_wbxml`] convert in a single pass without building the
//! lossless documents or a tree when the message has the usual shape (a strict-subset XML scanner, a direct
//! WBXML body parser, a small element stack), and fall back to the full path otherwise; tests check that
//! both paths give the same bytes. `examples/wbxml_convert_loop.rs` runs them for callgrind.
//!
//! In every profile `SWITCH_PAGE` is written lazily, right before the first tag of another page (omadm.md
//! §2.5): `… 01 01 01 00 00 6B` = END MaxMsgSize, END Meta, END SyncHdr, SWITCH 0, SyncBody.

mod fast_xml;
mod from_wbxml;
mod from_xml;
mod libwbxml;
mod libwbxml_fast;
mod to_wbxml;
mod to_xml;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::error::DecodeError;
pub use crate::wbxml::codepage::{Language, Namespace};
use crate::{wbxml, xml};

/// How many documents deep conversions follow nested documents.
pub const MAX_NESTED_DOCUMENTS: usize = crate::wbxml::MAX_NESTED_DOCUMENTS;

/// A SyncML, DevInf or DDF document as an element tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// The document type (decides code pages, public identifier, DOCTYPE).
    pub language: Language,
    /// The root element.
    pub root: Element,
}

/// An element: its namespace (code page), name and children.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Element {
    /// The namespace (maps to a code page of the document's language).
    pub ns: Namespace,
    /// The tag name.
    pub name: Cow<'static, str>,
    /// The children, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Node>,
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Node {
    /// A child element.
    Element(Element),
    /// Character data.
    Text(String),
    /// Character data that was (and is to be) written as an XML CDATA section.
    CData(String),
    /// Opaque bytes (WBXML `OPAQUE`).
    Opaque(#[serde(with = "crate::hexser")] Vec<u8>),
    /// A nested document (DM TNDS/DDF `MgmtTree`, DevInf) inside `Data`.
    Document(Box<Document>),
}

impl Element {
    /// An element without children.
    #[must_use]
    pub fn new(ns: Namespace, name: impl Into<Cow<'static, str>>) -> Self {
        Self { ns, name: name.into(), children: Vec::new() }
    }

    /// Adds a child (builder style).
    #[must_use]
    pub fn with(mut self, child: impl Into<Node>) -> Self {
        self.children.push(child.into());
        self
    }

    /// Adds a text child (builder style).
    #[must_use]
    pub fn with_text(self, text: impl Into<String>) -> Self {
        self.with(Node::Text(text.into()))
    }

    /// The child elements.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// The first child element called `name`.
    #[must_use]
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name)
    }

    /// The character data of the element: its text and CDATA children (and opaque children that are UTF-8)
    /// concatenated; `None` when it has no such child.
    #[must_use]
    pub fn text(&self) -> Option<Cow<'_, str>> {
        let mut parts = self.children.iter().filter_map(|n| match n {
            Node::Text(t) | Node::CData(t) => Some(t.as_str()),
            Node::Opaque(b) => std::str::from_utf8(b).ok(),
            _ => None,
        });
        let first = parts.next()?;
        match parts.next() {
            None => Some(Cow::Borrowed(first)),
            Some(second) => {
                let mut s = String::from(first);
                s.push_str(second);
                parts.for_each(|p| s.push_str(p));
                Some(Cow::Owned(s))
            }
        }
    }
}

impl From<Element> for Node {
    fn from(e: Element) -> Self {
        Self::Element(e)
    }
}

impl From<Document> for Node {
    fn from(d: Document) -> Self {
        Self::Document(Box::new(d))
    }
}

/// Whether [`Document::from_xml_with`] keeps whitespace-only text between elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Whitespace {
    /// Keep every text node.
    Keep,
    /// Drop whitespace-only text in elements that have child elements (XML "ignorable" whitespace); text
    /// of leaf elements is kept as it is.
    #[default]
    DropIgnorable,
}

/// Which reference encoder a [`Profile`] imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flavor {
    /// libwbxml 0.11.8 (`xml2wbxml`, `wbxml2xml`).
    Libwbxml,
    /// The OMA SyncML Reference Toolkit as used in devices (AOSP OMA-DM engine).
    Rtk,
}

/// How the WBXML public identifier is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicIdForm {
    /// The registered number (`A4 01`); languages without one (DDF) fall back to a NUL-terminated FPI in the
    /// string table, as libwbxml does.
    Numeric,
    /// `00 00` and the FPI, NUL-terminated, at the start of the string table.
    StringTable,
    /// `00 00` and the FPI without NUL, as the only string-table content (RTK clients).
    StringTableUnterminated,
}

/// How XML is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum XmlStyle {
    /// No whitespace between elements (`wbxml2xml -m 0`).
    Compact,
    /// Indented by this many spaces per level (`wbxml2xml -m 1 -i N` for the libwbxml flavour).
    Indent(u8),
}

/// How an element `Data` without content is written to WBXML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmptyData {
    /// The bare tag `0F`.
    Bare,
    /// Tag with content and an empty inline string, `4F 03 00 01` (RTK).
    EmptyString,
}

/// How a tree is written: the reference encoder imitated and the choices that are independent of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Profile {
    /// The encoder imitated.
    pub flavor: Flavor,
    /// WBXML version byte (0x02 = 1.2, what devices send; libwbxml's default would be 0x03).
    pub wbxml_version: u8,
    /// Public identifier form.
    pub public_id: PublicIdForm,
    /// Use a string table for repeated strings (libwbxml's algorithm; the RTK flavour only puts the FPI and
    /// literal tag names there).
    pub string_table: bool,
    /// Keep whitespace-only text and leading/trailing blanks (`xml2wbxml -k`, `wbxml2xml -k`).
    pub keep_whitespace: bool,
    /// How an empty `Data` is written in WBXML (RTK flavour; libwbxml always writes what its tree holds).
    pub empty_data: EmptyData,
    /// XML layout.
    pub xml_style: XmlStyle,
}

impl Profile {
    /// libwbxml as `xml2wbxml -n -v 1.2` and `wbxml2xml -m 0`.
    #[must_use]
    pub const fn libwbxml() -> Self {
        Self {
            flavor: Flavor::Libwbxml,
            wbxml_version: 0x02,
            public_id: PublicIdForm::Numeric,
            string_table: false,
            keep_whitespace: false,
            empty_data: EmptyData::Bare,
            xml_style: XmlStyle::Compact,
        }
    }

    /// The OMA SyncML RTK in devices.
    #[must_use]
    pub const fn rtk() -> Self {
        Self {
            flavor: Flavor::Rtk,
            wbxml_version: 0x02,
            public_id: PublicIdForm::StringTableUnterminated,
            string_table: false,
            keep_whitespace: false,
            empty_data: EmptyData::EmptyString,
            xml_style: XmlStyle::Compact,
        }
    }
}

/// Why a conversion failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// The input document is not a usable SyncML/DDF/DevInf document (with the byte offset).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// An element has no token in the language's code pages and the profile has no string table for a
    /// `LITERAL`.
    #[error("<{name}> has no token in the {language:?} code pages and the string table is off")]
    NoToken {
        /// The element name.
        name: String,
        /// The document language.
        language: Language,
    },
    /// An element's namespace has no code page in the document's language.
    #[error("namespace {ns:?} has no code page in {language:?}")]
    NoPage {
        /// The namespace.
        ns: Namespace,
        /// The document language.
        language: Language,
    },
    /// Text contains NUL, which an inline string cannot carry.
    #[error("text contains NUL, which a WBXML inline string cannot carry")]
    NulInText,
    /// The output would not be UTF-8 text (binary opaque data in libwbxml's XML rendering).
    #[error("the XML rendering would contain bytes that are not UTF-8 (binary opaque data)")]
    NotUtf8,
    /// Nested documents deeper than [`MAX_NESTED_DOCUMENTS`].
    #[error("documents nested deeper than {0}")]
    TooDeep(usize),
    /// Text holds a character XML 1.0 cannot carry, not even as a character reference (a control
    /// character a WBXML string may hold): the XML would not be well-formed (XML 1.0 §2.2 `Char`).
    #[error("text contains U+{0:04X}, which XML 1.0 cannot carry")]
    NotXmlChar(u32),
    /// An element name that is not an XML `Name` (a WBXML literal tag may be any string): the XML would
    /// not be well-formed (XML 1.0 §2.3).
    #[error("element name {0:?} is not an XML Name")]
    NotXmlName(String),
    /// A bound that keeps the work linear was reached.
    #[error("more than {max} {what}")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// The cap.
        max: usize,
    },
    /// libwbxml itself fails on this input (the libwbxml flavour reproduces the failure).
    #[error("libwbxml fails here: {0}")]
    Libwbxml(&'static str),
}

impl Document {
    /// Reads an XML document, dropping ignorable whitespace.
    ///
    /// # Errors
    /// [`ConvertError::Decode`] with the byte offset: unknown document type, an element in an unknown
    /// namespace ([`xml::Mode::Strict`] only; lenient documents look such elements up by name), attributes
    /// other than namespace declarations (strict only).
    pub fn from_xml(doc: &xml::Document) -> Result<Self, ConvertError> {
        from_xml::build(doc, Whitespace::DropIgnorable)
    }

    /// Reads an XML document with a whitespace policy.
    ///
    /// # Errors
    /// As [`Document::from_xml`].
    pub fn from_xml_with(doc: &xml::Document, ws: Whitespace) -> Result<Self, ConvertError> {
        from_xml::build(doc, ws)
    }

    /// Reads a WBXML document.
    ///
    /// # Errors
    /// [`ConvertError::Decode`] with the byte offset: unknown public identifier, a tag not in the code
    /// pages, text not in the declared charset, extension tokens.
    pub fn from_wbxml(doc: &wbxml::Document) -> Result<Self, ConvertError> {
        from_wbxml::build(doc, 0, 0)
    }

    /// Writes WBXML.
    ///
    /// With [`Flavor::Libwbxml`] the tree is fed to the libwbxml emulation as expat would have reported it
    /// (so a tree read with [`Whitespace::Keep`] from XML gives `xml2wbxml`'s bytes; prefer
    /// [`xml_to_wbxml`] when the XML document is at hand).
    ///
    /// # Errors
    /// [`ConvertError::NoToken`], [`ConvertError::NoPage`], [`ConvertError::NulInText`],
    /// [`ConvertError::TooDeep`], [`ConvertError::Libwbxml`].
    pub fn to_wbxml(&self, profile: &Profile) -> Result<wbxml::Document, ConvertError> {
        match profile.flavor {
            Flavor::Libwbxml => libwbxml::tree_to_wbxml(self, profile),
            Flavor::Rtk => to_wbxml::encode(self, profile, 0),
        }
    }

    /// Writes the root element alone as compact XML without an XML declaration, RTK style (`xmlns='…'` in
    /// single quotes): a document (a TNDS object) to be carried as the text of a node value.
    #[must_use]
    pub fn to_xml_fragment(&self) -> String {
        to_xml::fragment(self)
    }

    /// Writes XML.
    ///
    /// # Errors
    /// [`ConvertError::NotUtf8`] (libwbxml flavour with binary opaque data), [`ConvertError::TooDeep`],
    /// [`ConvertError::NotXmlChar`] (RTK flavour: text with a control character, which the tree can hold
    /// from WBXML but XML cannot; decision: refuse rather than write a document no parser accepts — found by
    /// the `ddf` fuzz target), [`ConvertError::NotXmlName`] (RTK flavour: a literal tag name from WBXML that
    /// is not an XML `Name`; same decision, found by the fuzzing campaign on the `ddf` target).
    pub fn to_xml(&self, profile: &Profile) -> Result<String, ConvertError> {
        match profile.flavor {
            Flavor::Libwbxml => libwbxml::tree_to_xml(self, profile),
            Flavor::Rtk => {
                let x = to_xml::write(self, profile).map_err(ConvertError::NotXmlName)?;
                match x.chars().find(|&c| !crate::xml::is_xml_char(c)) {
                    Some(c) => Err(ConvertError::NotXmlChar(u32::from(c))),
                    None => Ok(x),
                }
            }
        }
    }
}

/// Converts an XML document to WBXML under `profile`.
///
/// With [`Flavor::Libwbxml`] the result is byte-identical to `xml2wbxml` run with the profile's options; with
/// [`Flavor::Rtk`] it goes through the tree.
///
/// # Errors
/// As [`Document::from_xml`] and [`Document::to_wbxml`].
pub fn xml_to_wbxml(doc: &xml::Document, profile: &Profile) -> Result<wbxml::Document, ConvertError> {
    match profile.flavor {
        Flavor::Libwbxml => libwbxml::xml_to_wbxml(doc, profile),
        Flavor::Rtk => Document::from_xml(doc)?.to_wbxml(profile),
    }
}

/// Converts an XML document to WBXML bytes under `profile` (for [`Flavor::Libwbxml`] without building a
/// [`wbxml::Document`]: the fast path).
///
/// # Errors
/// As [`xml_to_wbxml`].
pub fn xml_to_wbxml_bytes(doc: &xml::Document, profile: &Profile) -> Result<Vec<u8>, ConvertError> {
    match profile.flavor {
        Flavor::Libwbxml => libwbxml::xml_to_wbxml_bytes(doc, profile),
        Flavor::Rtk => Ok(crate::reader::Encode::encode(&xml_to_wbxml(doc, profile)?)),
    }
}

/// Converts XML text to WBXML bytes under `profile`; for [`Flavor::Libwbxml`] in one pass over the text
/// (no [`xml::Document`], no tree) when the document has the usual shape, else as [`xml_to_wbxml_bytes`].
///
/// # Errors
/// The parsing errors of [`xml::Document::parse`], and as [`xml_to_wbxml`].
pub fn xml_text_to_wbxml(text: &str, mode: xml::Mode, profile: &Profile) -> Result<Vec<u8>, ConvertError> {
    if profile.flavor == Flavor::Libwbxml
        && let Some(b) = libwbxml_fast::xml_to_wbxml(text, mode, profile)
    {
        return Ok(b);
    }
    xml_to_wbxml_bytes(&xml::Document::parse(text, mode)?, profile)
}

/// Converts WBXML bytes (exactly one document) to XML under `profile` (for [`Flavor::Libwbxml`] streaming
/// the tokens without building a [`wbxml::Document`]: the fast path).
///
/// # Errors
/// The decoding errors of [`wbxml::Document`], and as [`wbxml_to_xml`].
pub fn wbxml_bytes_to_xml(bytes: &[u8], profile: &Profile) -> Result<String, ConvertError> {
    match profile.flavor {
        Flavor::Libwbxml => libwbxml::wbxml_bytes_to_xml(bytes, profile),
        Flavor::Rtk => {
            let d = <wbxml::Document as crate::reader::Decode>::decode_exact(bytes)?;
            Document::from_wbxml(&d)?.to_xml(profile)
        }
    }
}

/// Converts a WBXML document to XML under `profile`.
///
/// With [`Flavor::Libwbxml`] the result is byte-identical to `wbxml2xml -m 0` (or `-m 1`); with
/// [`Flavor::Rtk`] it goes through the tree.
///
/// # Errors
/// As [`Document::from_wbxml`] and [`Document::to_xml`].
pub fn wbxml_to_xml(doc: &wbxml::Document, profile: &Profile) -> Result<String, ConvertError> {
    match profile.flavor {
        Flavor::Libwbxml => libwbxml::wbxml_to_xml(doc, profile),
        Flavor::Rtk => Document::from_wbxml(doc)?.to_xml(profile),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::{Decode, Encode};
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        crate::hexser::parse_hex(s).unwrap()
    }

    fn parse(s: &str) -> xml::Document {
        xml::Document::parse(s, xml::Mode::Strict).unwrap()
    }

    /// A tree the XML writer cannot write: text with a control character, an element name (a WBXML
    /// literal tag) that is not an XML `Name` anywhere in the tree, nested documents included.
    #[test]
    fn rtk_xml_writer_refuses_what_xml_cannot_carry() {
        let p = Profile::rtk();
        let mut d =
            Document::from_xml(&parse("<SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr/></SyncML>")).unwrap();
        assert!(d.to_xml(&p).is_ok());
        let mut bad = d.clone();
        bad.root.children.push(Node::Text("a\u{1}".into()));
        assert!(matches!(bad.to_xml(&p), Err(ConvertError::NotXmlChar(1))));
        let mut inner = d.clone();
        // (A name read from a document is owned; literals of the program are taken as names.)
        inner
            .root
            .children
            .push(Node::Element(Element::new(Namespace::SyncMl, String::from("-//OMA//DTD 1.2//EN"))));
        d.root.children.push(Node::Document(Box::new(inner)));
        let e = d.to_xml(&p).unwrap_err();
        assert!(matches!(&e, ConvertError::NotXmlName(n) if n == "-//OMA//DTD 1.2//EN"), "{e:?}");
        assert_eq!(e.to_string(), "element name \"-//OMA//DTD 1.2//EN\" is not an XML Name");
    }

    /// omadm.md §2.5: `<Meta><Format xmlns="syncml:metinf">b64</Format><Type …>syncml:auth-basic</Type></Meta>`
    /// then page-0 content: SWITCH_PAGE 1 right after `Meta`, the switch back only before the next page-0 tag.
    #[test]
    fn switch_page_placement_of_the_rtk() {
        let x = parse(
            "<SyncML xmlns='SYNCML:SYNCML1.2'><Cred><Meta><Format xmlns='syncml:metinf'>b64</Format>\
             <Type xmlns='syncml:metinf'>syncml:auth-basic</Type></Meta><Data>x</Data></Cred></SyncML>",
        );
        let want =
            "6d4e5a 0001 4703623634000153037379 6e636d6c3a617574682d626173696300 01 01 0000 4f03780001 01 01";
        let body = |d: wbxml::Document| d.encode()[5..].to_vec();
        let lw = xml_to_wbxml(&x, &Profile::libwbxml()).unwrap();
        assert_eq!(lw.encode()[..5], hex("02a4016a00"));
        assert_eq!(body(lw), hex(want));
        let rtk = Document::from_xml(&x).unwrap().to_wbxml(&Profile::rtk()).unwrap();
        assert_eq!(rtk.public_id_fpi(), Some(&b"-//SYNCML//DTD SyncML 1.2//EN"[..]));
        assert_eq!(rtk.encode()[..5], hex("0200006a1d"));
        assert_eq!(rtk.encode()[34..], hex(want)[..]);
    }

    #[test]
    fn minimal_document_both_ways() {
        // omadm.md §2.1: <SyncML></SyncML> → 02 A4 01 6A 00 2D.
        let x = parse("<SyncML></SyncML>");
        assert_eq!(xml_to_wbxml(&x, &Profile::libwbxml()).unwrap().encode(), hex("02a4016a002d"));
        let w = wbxml::Document::decode_exact(&hex("02a4016a002d")).unwrap();
        let t = Document::from_wbxml(&w).unwrap();
        assert_eq!(
            t,
            Document { language: Language::SyncMl12, root: Element::new(Namespace::SyncMl, "SyncML") }
        );
        assert_eq!(
            wbxml_to_xml(&w, &Profile::libwbxml()).unwrap(),
            "<?xml version=\"1.0\"?><!DOCTYPE SyncML PUBLIC \"-//SYNCML//DTD SyncML 1.2//EN\" \
             \"http://www.openmobilealliance.org/tech/DTD/OMA-TS-SyncML_RepPro_DTD-V1_2.dtd\">\
             <SyncML xmlns=\"SYNCML:SYNCML1.2\"/>"
        );
        assert_eq!(
            t.to_xml(&Profile::rtk()).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><SyncML xmlns='SYNCML:SYNCML1.2'/>"
        );
    }

    #[test]
    fn empty_data_forms() {
        // 0F reads as no children; 4F 01 and 4F 03 00 01 as an empty text.
        let read = |body: &str| {
            let w = wbxml::Document::decode_exact(&hex(&format!("02a4016a006d{body}01"))).unwrap();
            Document::from_wbxml(&w).unwrap().root.children
        };
        let data = |children: Vec<Node>| {
            vec![Node::Element(Element { ns: Namespace::SyncMl, name: "Data".into(), children })]
        };
        assert_eq!(read("0f"), data(vec![]));
        assert_eq!(read("4f01"), data(vec![Node::Text(String::new())]));
        assert_eq!(read("4f030001"), data(vec![Node::Text(String::new())]));
        // The RTK writes an empty Data as 4F 03 00 01 either way; the bare form on request.
        for children in [vec![], vec![Node::Text(String::new())]] {
            let t = Document {
                language: Language::SyncMl12,
                root: Element::new(Namespace::SyncMl, "SyncML").with(Element {
                    ns: Namespace::SyncMl,
                    name: "Data".into(),
                    children,
                }),
            };
            let rtk =
                t.to_wbxml(&Profile { public_id: PublicIdForm::Numeric, ..Profile::rtk() }).unwrap().encode();
            assert_eq!(rtk, hex("02a4016a006d4f03000101"));
            let bare = t.to_wbxml(&Profile {
                public_id: PublicIdForm::Numeric,
                empty_data: EmptyData::Bare,
                ..Profile::rtk()
            });
            assert_eq!(Document::from_wbxml(&bare.unwrap()).unwrap(), t);
        }
        // XML: <Data/> has no children, <Data></Data> an empty text.
        assert_eq!(
            Document::from_xml(&parse("<SyncML><Data/></SyncML>")).unwrap().root.children,
            data(vec![])
        );
        assert_eq!(
            Document::from_xml(&parse("<SyncML><Data></Data></SyncML>")).unwrap().root.children,
            data(vec![Node::Text(String::new())])
        );
    }

    #[test]
    fn language_detection_and_namespaces() {
        for (s, lang) in [
            ("<!DOCTYPE SyncML PUBLIC '-//SYNCML//DTD SyncML 1.1//EN' 'x'><SyncML/>", Language::SyncMl11),
            ("<SyncML xmlns='SYNCML:SYNCML1.1'/>", Language::SyncMl11),
            ("<SyncML/>", Language::SyncMl12),
            ("<MgmtTree/>", Language::DmDdf12),
            ("<DevInf xmlns='syncml:devinf'/>", Language::DevInf12),
        ] {
            assert_eq!(Document::from_xml(&parse(s)).unwrap().language, lang, "{s}");
        }
        let e = Document::from_xml(&parse("<Foo/>")).unwrap_err();
        assert_eq!(
            e,
            ConvertError::Decode(DecodeError::invalid(
                "root element",
                "not SyncML, DevInf or MgmtTree and no known DOCTYPE",
                0
            ))
        );
        // MetInf names without their namespace are found by name; all forms give the same tree.
        let a = Document::from_xml(&parse("<SyncML><Meta><Type>t</Type></Meta></SyncML>")).unwrap();
        let b =
            Document::from_xml(&parse("<SyncML><Meta><Type xmlns='syncml:metinf'>t</Type></Meta></SyncML>"))
                .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.root.child("Meta").unwrap().child("Type").unwrap().ns, Namespace::MetInf);
        // An embedded DDF document.
        let d = Document::from_xml(&parse(
            "<SyncML><Data><MgmtTree xmlns='syncml:dmddf1.2'><VerDTD>1.2</VerDTD></MgmtTree></Data></SyncML>",
        ))
        .unwrap();
        let Some(Node::Document(ddf)) = d.root.child("Data").unwrap().children.first() else {
            panic!("{d:?}")
        };
        assert_eq!(ddf.language, Language::DmDdf12);
        assert_eq!(ddf.root.child("VerDTD").unwrap().ns, Namespace::DmDdf);
        // Strict mode refuses attributes; lenient ignores them.
        let x = "<SyncML><Final a='1'/></SyncML>";
        assert!(Document::from_xml(&parse(x)).is_err());
        assert!(Document::from_xml(&xml::Document::parse(x, xml::Mode::Lenient).unwrap()).is_ok());
    }

    #[test]
    fn nested_documents_through_wbxml() {
        let ddf = Document {
            language: Language::DmDdf12,
            root: Element::new(Namespace::DmDdf, "MgmtTree")
                .with(Element::new(Namespace::DmDdf, "VerDTD").with_text("1.2")),
        };
        let t = Document {
            language: Language::SyncMl12,
            root: Element::new(Namespace::SyncMl, "SyncML")
                .with(Element::new(Namespace::SyncMl, "Data").with(ddf)),
        };
        for p in [Profile::rtk(), Profile::libwbxml()] {
            let w = t.to_wbxml(&p).unwrap();
            let b = w.encode();
            let back = wbxml::Document::decode_exact(&b).unwrap();
            assert!(
                back.body
                    .iter()
                    .any(|t| matches!(t, wbxml::Token::Opaque { data: wbxml::OpaqueData::Document(_), .. }))
            );
            assert_eq!(Document::from_wbxml(&back).unwrap(), t, "{:?}", p.flavor);
        }
        // libwbxml's nested DDF header: 02 00 00 6A 1B FPI NUL, SWITCH_PAGE 2.
        let lw = t.to_wbxml(&Profile::libwbxml()).unwrap().encode();
        let at = lw.windows(5).position(|w| w == hex("0200006a1b")).unwrap();
        assert_eq!(lw[at + 5..at + 5 + 27], *b"-//OMA//DTD-DM-DDF 1.2//EN\0");
        assert_eq!(lw[at + 32..at + 34], hex("0002"));
    }

    #[test]
    fn errors_name_the_problem() {
        let t =
            Document { language: Language::SyncMl11, root: Element::new(Namespace::SyncMl, "Correlator") };
        assert_eq!(
            t.to_wbxml(&Profile::rtk()),
            Err(ConvertError::NoToken { name: "Correlator".into(), language: Language::SyncMl11 })
        );
        let t = Document { language: Language::SyncMl12, root: Element::new(Namespace::DmDdf, "Node") };
        assert_eq!(
            t.to_wbxml(&Profile::rtk()),
            Err(ConvertError::NoPage { ns: Namespace::DmDdf, language: Language::SyncMl12 })
        );
        let t = Document {
            language: Language::SyncMl12,
            root: Element::new(Namespace::SyncMl, "Data").with_text("a\0b"),
        };
        assert_eq!(t.to_wbxml(&Profile::rtk()), Err(ConvertError::NulInText));
        // With a string table, an unknown element becomes a LITERAL.
        let t = Document { language: Language::SyncMl12, root: Element::new(Namespace::SyncMl, "Foo") };
        let w = t.to_wbxml(&Profile { string_table: true, ..Profile::rtk() }).unwrap();
        assert!(w.body.iter().any(|t| matches!(t, wbxml::Token::LiteralTag { .. })));
        assert_eq!(Document::from_wbxml(&w).unwrap(), t);
        // A tag that is not in the code pages (0x30 is reserved).
        let w = wbxml::Document::decode_exact(&hex("02a4016a006d3001")).unwrap();
        let e = Document::from_wbxml(&w).unwrap_err();
        assert!(matches!(e, ConvertError::Decode(DecodeError { offset: 6, .. })), "{e}");
    }

    #[test]
    fn json_round_trip() {
        let x = parse("<SyncML><SyncHdr><VerDTD>1.2</VerDTD></SyncHdr><Final/></SyncML>");
        let t = Document::from_xml(&x).unwrap();
        let j = serde_json::to_string(&t).unwrap();
        let back: Document = serde_json::from_str(&j).unwrap();
        assert_eq!(back, t);
        assert_eq!(serde_json::to_string(&back).unwrap(), j);
        let p = Profile::rtk();
        let back: Profile = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }

    // ---- property tests --------------------------------------------------------------------------

    /// XML-safe text without CR (line ends are normalised when read) and without NUL.
    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 <>&'\"=:/.\n\t\u{e9}\u{20ac}-]{0,12}"
    }

    fn leaf(ns: Namespace, names: &'static [(u8, &'static str)]) -> impl Strategy<Value = Element> {
        (proptest::sample::select(names), proptest::option::of(text())).prop_map(move |((_, n), t)| {
            let mut e = Element::new(ns, n);
            if let Some(t) = t {
                e.children.push(Node::Text(t));
            }
            e
        })
    }

    fn element() -> impl Strategy<Value = Element> {
        let l = prop_oneof![
            leaf(Namespace::SyncMl, crate::wbxml::codepage::syncml12::ALL),
            leaf(Namespace::MetInf, crate::wbxml::codepage::metinf12::ALL),
        ];
        l.prop_recursive(4, 40, 5, |inner| {
            (
                proptest::sample::select(crate::wbxml::codepage::syncml12::ALL),
                proptest::collection::vec(inner, 1..5),
            )
                .prop_map(|((_, n), children)| Element {
                    ns: Namespace::SyncMl,
                    name: n.into(),
                    children: children.into_iter().map(Node::Element).collect(),
                })
        })
    }

    fn doc() -> impl Strategy<Value = Document> {
        proptest::collection::vec(element(), 0..4).prop_map(|children| Document {
            language: Language::SyncMl12,
            root: Element {
                ns: Namespace::SyncMl,
                name: "SyncML".into(),
                children: children.into_iter().map(Node::Element).collect(),
            },
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn tree_xml_tree(t in doc()) {
            for style in [XmlStyle::Compact, XmlStyle::Indent(1)] {
                let s = t.to_xml(&Profile { xml_style: style, ..Profile::rtk() }).unwrap();
                let x = xml::Document::parse(&s, xml::Mode::Strict).unwrap();
                prop_assert_eq!(x.to_string(), s.clone());
                prop_assert_eq!(&Document::from_xml(&x).unwrap(), &t, "{}", s);
            }
        }

        #[test]
        fn tree_wbxml_tree(t in doc(), version in 1u8..4, form in 0usize..3, table in any::<bool>()) {
            let public_id = [PublicIdForm::Numeric, PublicIdForm::StringTable, PublicIdForm::StringTableUnterminated][form];
            let p = Profile { wbxml_version: version, public_id, string_table: table, empty_data: EmptyData::Bare, ..Profile::rtk() };
            let b = t.to_wbxml(&p).unwrap().encode();
            let w = wbxml::Document::decode_exact(&b).unwrap();
            prop_assert_eq!(w.encode(), b);
            prop_assert_eq!(Document::from_wbxml(&w).unwrap(), t);
        }

        /// The libwbxml profile: fast paths equal tree paths, and its XML reads back to a tree whose WBXML
        /// the libwbxml profile writes identically (libwbxml's own round trip).
        #[test]
        fn libwbxml_paths_agree(t in doc(), form in 0usize..3, version in 1u8..4) {
            let public_id = [PublicIdForm::Numeric, PublicIdForm::StringTable, PublicIdForm::StringTableUnterminated][form];
            let lw = Profile { public_id, wbxml_version: version, ..Profile::libwbxml() };
            let b = t.to_wbxml(&lw).unwrap().encode();
            let w = wbxml::Document::decode_exact(&b).unwrap();
            let slow = wbxml_to_xml(&w, &lw);
            prop_assert_eq!(wbxml_bytes_to_xml(&b, &lw), slow.clone());
            if let Ok(s) = slow {
                let x = xml::Document::parse(&s, xml::Mode::Strict).unwrap();
                let again = xml_to_wbxml(&x, &lw).unwrap().encode();
                prop_assert_eq!(xml_text_to_wbxml(&s, xml::Mode::Strict, &lw).unwrap(), again.clone());
                prop_assert_eq!(&xml_to_wbxml_bytes(&x, &lw).unwrap(), &again);
            }
        }

        #[test]
        fn random_bytes_never_panic_the_converters(body in proptest::collection::vec(any::<u8>(), 0..48)) {
            let mut b = hex("02a4016a00");
            b.extend_from_slice(&body);
            for p in [Profile::libwbxml(), Profile::rtk()] {
                let _ = wbxml_bytes_to_xml(&b, &p);
            }
            if let Ok(w) = wbxml::Document::decode_exact(&b) {
                prop_assert_eq!(w.encode(), b.clone());
                let _ = Document::from_wbxml(&w);
            }
        }
    }
}

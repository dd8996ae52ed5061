//! Bytes ↔ typed message: the encoding (XML or WBXML), the dialect a peer writes, sizes.

use serde::{Deserialize, Serialize};

use super::encode::{self, Target};
use super::{Command, Mode, ModelError, SyncMl, decode};
use crate::reader::{Decode as _, Encode as _};
use crate::syncml::tree::{self, EmptyData, Flavor, Namespace, Node, Profile, PublicIdForm, XmlStyle};
use crate::{wbxml, xml};

type Result<T> = std::result::Result<T, ModelError>;

/// The encoding of a message on the wire (DM 1.2.1 RepPro §4: `application/vnd.syncml.dm+xml` and
/// `application/vnd.syncml.dm+wbxml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// XML text (UTF-8).
    Xml,
    /// WBXML.
    Wbxml,
}

impl Encoding {
    /// The HTTP `Content-Type` of a DM message in this encoding.
    #[must_use]
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Xml => "application/vnd.syncml.dm+xml",
            Self::Wbxml => "application/vnd.syncml.dm+wbxml",
        }
    }

    /// The encoding a `Content-Type` names (parameters such as `; charset=` are ignored; case-insensitive).
    #[must_use]
    pub fn from_content_type(value: &str) -> Option<Self> {
        let mime = value.split(';').next().unwrap_or("").trim();
        if mime.eq_ignore_ascii_case(Self::Xml.content_type()) {
            Some(Self::Xml)
        } else if mime.eq_ignore_ascii_case(Self::Wbxml.content_type()) {
            Some(Self::Wbxml)
        } else {
            None
        }
    }

    /// The encoding of a message by its first byte: WBXML documents start with their version byte
    /// (0x00–0x03, WAP-192-WBXML §5.4), XML with `<`, white space or a byte-order mark.
    #[must_use]
    pub fn detect(bytes: &[u8]) -> Self {
        match bytes.first() {
            Some(0..=3) => Self::Wbxml,
            _ => Self::Xml,
        }
    }

    /// The `Meta` `Type` of a TNDS object nested in `Data` in this encoding (DM 1.2.1 TNDS §9).
    #[must_use]
    pub const fn tnds_type(self) -> &'static str {
        match self {
            Self::Xml => "application/vnd.syncml.dmtnds+xml",
            Self::Wbxml => "application/vnd.syncml.dmtnds+wbxml",
        }
    }
}

/// How a message is (or was) written: the encoding and the profile of the writer.
///
/// [`Wire::of_wbxml`] and [`Wire::of_xml`] describe what a peer sent, so that an answer can be written the
/// same way ([`SyncMl::encode`]): a server answers an RTK device in the RTK's WBXML dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Wire {
    /// XML or WBXML.
    pub encoding: Encoding,
    /// The writer's choices.
    pub profile: Profile,
}

impl Wire {
    /// WBXML under `profile`.
    #[must_use]
    pub const fn wbxml(profile: Profile) -> Self {
        Self { encoding: Encoding::Wbxml, profile }
    }

    /// XML under `profile`.
    #[must_use]
    pub const fn xml(profile: Profile) -> Self {
        Self { encoding: Encoding::Xml, profile }
    }

    /// The dialect of a WBXML message `doc` whose element tree is `tree`.
    ///
    /// Kept from the input: the WBXML version, the public-identifier form (numeric, or the FPI in the
    /// string table with or without NUL), whether `STR_T` references are used (string table), and the form
    /// of an empty `Data` (`0F` or `4F 03 00 01`). The flavour is libwbxml when the FPI is in the string
    /// table NUL-terminated or when a `Data` that is not under `Format` `bin` holds `OPAQUE` text
    /// (libwbxml's "vObject" `Data` of `Add`/`Replace`; the RTK writes text as `STR_I` and `OPAQUE` only
    /// for binary data), else the RTK (decision: every device DM stack we know is RTK-based, and an RTK-style
    /// answer is what such devices parse best).
    #[must_use]
    pub fn of_wbxml(doc: &wbxml::Document, tree: &tree::Document) -> Self {
        let public_id = match doc.public_id {
            wbxml::PublicId::Numeric(_) => PublicIdForm::Numeric,
            wbxml::PublicId::StringTable { .. } if doc.string_table.last() == Some(&0) => {
                PublicIdForm::StringTable
            }
            wbxml::PublicId::StringTable { .. } => PublicIdForm::StringTableUnterminated,
        };
        let mut string_table = false;
        let mut empty_data = None;
        let mut page = 0u8;
        let data_tag = wbxml::global::HAS_CONTENT | DATA;
        for (i, t) in doc.body.iter().enumerate() {
            match t {
                wbxml::Token::SwitchPage { page: p } => page = *p,
                wbxml::Token::StrT { .. } => string_table = true,
                wbxml::Token::Tag { byte: DATA } if page == 0 && empty_data.is_none() => {
                    empty_data = Some(EmptyData::Bare);
                }
                wbxml::Token::Tag { byte } if *byte == data_tag && page == 0 && empty_data.is_none() => {
                    if let (Some(wbxml::Token::StrI { bytes }), Some(wbxml::Token::End)) =
                        (doc.body.get(i + 1), doc.body.get(i + 2))
                        && bytes.is_empty()
                    {
                        empty_data = Some(EmptyData::EmptyString);
                    }
                }
                _ => {}
            }
        }
        let libwbxml = public_id == PublicIdForm::StringTable || opaque_text_data(&tree.root, None);
        let base = if libwbxml { Profile::libwbxml() } else { Profile::rtk() };
        let profile = Profile {
            wbxml_version: doc.version,
            public_id,
            string_table,
            empty_data: empty_data.unwrap_or(base.empty_data),
            ..base
        };
        Self::wbxml(profile)
    }

    /// The dialect of an XML message: libwbxml's writer when there is a DOCTYPE (`wbxml2xml` always writes
    /// one), else the RTK's (no DOCTYPE, as devices send); compact either way.
    #[must_use]
    pub fn of_xml(doc: &xml::Document) -> Self {
        let profile = if doc.doctype().is_some() { Profile::libwbxml() } else { Profile::rtk() };
        Self::xml(Profile { xml_style: XmlStyle::Compact, ..profile })
    }

    fn target(&self) -> Target {
        Target { encoding: self.encoding, flavor: self.profile.flavor }
    }
}

/// The `Data` tag token (SyncML page 0).
const DATA: u8 = 0x0F;

/// Whether some `Data` below `e` holds `OPAQUE` UTF-8 text while the `Format` that applies is not `bin`
/// (`inherited`: the `Format` of the enclosing command's `Meta`).
fn opaque_text_data(e: &tree::Element, inherited: Option<&str>) -> bool {
    let own = e.child("Meta").and_then(|m| m.child("Format")).and_then(tree::Element::text);
    let format = own.as_deref().map(str::trim).or(inherited);
    e.elements().any(|c| {
        if c.name == "Data" {
            format != Some("bin")
                && c.children
                    .iter()
                    .any(|n| matches!(n, Node::Opaque(b) if !b.is_empty() && std::str::from_utf8(b).is_ok()))
        } else {
            opaque_text_data(c, format)
        }
    })
}

/// A message read from bytes, with the dialect it came in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decoded {
    /// How the message was written.
    pub wire: Wire,
    /// The message.
    pub message: SyncMl,
}

impl SyncMl {
    /// Reads a message from its element tree.
    ///
    /// # Errors
    /// [`ModelError::WrongDocument`] for a DDF or DevInf document, [`ModelError::Invalid`] with the element
    /// path (see the module documentation for what each [`Mode`] accepts).
    pub fn from_tree(doc: &tree::Document, mode: Mode) -> Result<Self> {
        decode::message(doc, mode)
    }

    /// The element tree of the message, for `encoding` (binary `Data` under `Format` `bin` is raw
    /// `OPAQUE` in WBXML, base64 text in XML).
    ///
    /// # Errors
    /// None today for the RTK flavour; the signature leaves room for checks.
    pub fn to_tree(&self, encoding: Encoding) -> Result<tree::Document> {
        encode::message(self, Target { encoding, flavor: Flavor::Rtk })
    }

    /// Reads a message in either encoding (by its first byte, [`Encoding::detect`]), with its dialect.
    ///
    /// # Errors
    /// [`ModelError::Convert`] with the byte offset when the XML or WBXML is malformed (in
    /// [`Mode::Lenient`] the XML is parsed leniently too), and as [`SyncMl::from_tree`].
    pub fn decode(bytes: &[u8], mode: Mode) -> Result<Decoded> {
        match Encoding::detect(bytes) {
            Encoding::Wbxml => {
                let doc = wbxml::Document::decode_exact(bytes)?;
                let tree = tree::Document::from_wbxml(&doc)?;
                let message = Self::from_tree(&tree, mode)?;
                Ok(Decoded { wire: Wire::of_wbxml(&doc, &tree), message })
            }
            Encoding::Xml => {
                let doc = xml::Document::parse_bytes(bytes, mode)?;
                let message = Self::from_tree(&tree::Document::from_xml(&doc)?, mode)?;
                Ok(Decoded { wire: Wire::of_xml(&doc), message })
            }
        }
    }

    /// Reads an XML message strictly.
    ///
    /// # Errors
    /// As [`SyncMl::decode`].
    pub fn from_xml_str(text: &str) -> Result<Self> {
        let doc = xml::Document::parse(text, Mode::Strict)?;
        Self::from_tree(&tree::Document::from_xml(&doc)?, Mode::Strict)
    }

    /// Reads a WBXML message strictly.
    ///
    /// # Errors
    /// As [`SyncMl::decode`].
    pub fn from_wbxml(bytes: &[u8]) -> Result<Self> {
        let doc = wbxml::Document::decode_exact(bytes)?;
        Self::from_tree(&tree::Document::from_wbxml(&doc)?, Mode::Strict)
    }

    /// Writes the message as XML under `profile`.
    ///
    /// # Errors
    /// [`ModelError::Convert`] from the tree writer (see [`tree::Document::to_xml`]).
    pub fn to_xml(&self, profile: &Profile) -> Result<String> {
        let t = encode::message(self, Target { encoding: Encoding::Xml, flavor: profile.flavor })?;
        Ok(t.to_xml(profile)?)
    }

    /// Writes the message as WBXML bytes under `profile`.
    ///
    /// # Errors
    /// [`ModelError::Convert`] from the tree writer: an element without a token in the message's language
    /// (a SyncML 1.2 element in a `VerDTD` 1.1 message) without a string table, NUL in text;
    /// [`ModelError::Unsupported`] for binary `Data` under the libwbxml flavour.
    pub fn to_wbxml(&self, profile: &Profile) -> Result<Vec<u8>> {
        let t = encode::message(self, Target { encoding: Encoding::Wbxml, flavor: profile.flavor })?;
        Ok(t.to_wbxml(profile)?.encode())
    }

    /// Writes the message as `wire` says.
    ///
    /// # Errors
    /// As [`SyncMl::to_xml`] and [`SyncMl::to_wbxml`].
    pub fn encode(&self, wire: &Wire) -> Result<Vec<u8>> {
        match wire.encoding {
            Encoding::Xml => Ok(self.to_xml(&wire.profile)?.into_bytes()),
            Encoding::Wbxml => self.to_wbxml(&wire.profile),
        }
    }

    /// The size of the encoded message in bytes (by encoding it).
    ///
    /// # Errors
    /// As [`SyncMl::encode`].
    pub fn encoded_len(&self, wire: &Wire) -> Result<usize> {
        Ok(self.encode(wire)?.len())
    }

    /// How many bytes `command` adds to this message when written as `wire` says, without encoding the
    /// message: the command alone is encoded between `SyncBody` and `Final` of an empty skeleton.
    ///
    /// To fill a message up to the peer's `MaxMsgSize` (DM 1.2.1 Protocol §2.2): start from
    /// [`SyncMl::encoded_len`] of the message with its header, `Status`es and `Final`, and add commands
    /// while the sum of their lengths stays within the limit. Exact for the RTK flavour and for XML
    /// (including the switch back to code page 0 after a command that ends in `Meta`, which the following
    /// `Final` or command needs; without `Final` the last command may count two bytes too many). With a
    /// string table (`STR_T` references depend on the whole message) it is an estimate.
    ///
    /// # Errors
    /// As [`SyncMl::encode`] (the command must be writable in this message's language).
    pub fn command_len(&self, command: &Command, wire: &Wire) -> Result<usize> {
        let t = wire.target();
        let skeleton = |cmd: Option<tree::Element>| {
            let mut body = tree::Element::new(Namespace::SyncMl, "SyncBody");
            if let Some(c) = cmd {
                body.children.push(Node::Element(c));
            }
            body.children.push(Node::Element(tree::Element::new(Namespace::SyncMl, "Final")));
            tree::Document {
                language: self.language(),
                root: tree::Element::new(Namespace::SyncMl, "SyncML").with(body),
            }
        };
        let len = |d: &tree::Document| -> Result<usize> {
            Ok(match wire.encoding {
                Encoding::Xml => d.to_xml(&wire.profile)?.len(),
                Encoding::Wbxml => d.to_wbxml(&wire.profile)?.encoded_len(),
            })
        };
        let with = len(&skeleton(Some(encode::command(command, t)?)))?;
        let without = len(&skeleton(None))?;
        Ok(with.saturating_sub(without))
    }
}

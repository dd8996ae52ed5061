//! The typed SyncML DM message model (OMA SyncML RepPro 1.2 §5–§6, DM 1.2.1 RepPro §4, MetInf 1.2 §5).
//!
//! [`SyncMl`] is a message: a [`SyncHdr`] and a [`SyncBody`] of [`Command`]s (Add, Alert, Atomic, Copy,
//! Delete, Exec, Get, Replace, Results, Sequence, Status; anything else, such as the DS commands Map, Sync,
//! Put or Search, is kept as [`Command::Other`] with its element). Commands carry [`Item`]s with their
//! [`Location`]s, [`Meta`] and [`Data`]; [`Cred`] and [`Chal`] carry credentials and challenges. Status and
//! alert codes are [`StatusCode`] and [`AlertCode`].
//!
//! # Layers
//!
//! The model reads from and writes to the element tree of [`tree`] (which converts to XML
//! and WBXML under a [`Profile`](tree::Profile)). The conversion is semantic and canonical:
//! - elements are written in the order of the SyncML RepPro 1.2 DTD and the MetInf 1.2 DTD (below);
//!   they are read in any order;
//! - whitespace between elements is not kept; leading and trailing XML whitespace of the text of
//!   "token" elements (IDs, codes, URIs, names, `Type`, `Format`, `Mark`, numbers) is dropped, while `Data`
//!   keeps its text exactly (decision: the spec examples wrap `Type` and `LocURI` values over lines; data
//!   values like the AOSP `uname` output end in a line feed that matters);
//! - elements the model does not know are kept, in their order, in the `extra` list of the element they
//!   were found in, and written after the known children; commands it does not know are
//!   [`Command::Other`]; so a typed round trip loses nothing but formatting.
//!
//! ```text
//! SyncML        (SyncHdr, SyncBody)
//! SyncHdr       (VerDTD, VerProto, SessionID, MsgID, Target, Source, RespURI?, NoResp?, Cred?, Meta?)
//! SyncBody      ((Add | Alert | Atomic | Copy | Delete | Exec | Get | Replace | Results | Sequence | Status
//!                 | Map | Put | Search | Sync | …)+, Final?)
//! Add, Copy, Replace (CmdID, NoResp?, Cred?, Meta?, Item+)
//! Delete        (CmdID, NoResp?, Archive?, SftDel?, Cred?, Meta?, Item+)
//! Get           (CmdID, NoResp?, Lang?, Cred?, Meta?, Item+)
//! Alert         (CmdID, NoResp?, Cred?, Data?, Correlator?, Item*)
//! Atomic, Sequence (CmdID, NoResp?, Meta?, (Add | Alert | Atomic | Copy | Delete | Exec | Get | Replace
//!                 | Sequence | …)+)
//! Exec          (CmdID, NoResp?, Cred?, Meta?, Correlator?, Item)
//! Results       (CmdID, MsgRef?, CmdRef, Meta?, TargetRef*, SourceRef*, Item+)
//! Status        (CmdID, MsgRef, CmdRef, Cmd, TargetRef*, SourceRef*, Cred?, Chal?, Data, Item*)
//! Item          (Target?, Source?, SourceParent?, TargetParent?, Meta?, Data?, MoreData?)
//! Target, Source (LocURI, LocName?)          SourceParent, TargetParent (LocURI)
//! Cred          (Meta?, Data)                Chal (Meta)
//! Meta          (Format?, Type?, Mark?, Size?, Anchor?, Version?, NextNonce?, MaxMsgSize?, MaxObjSize?,
//!                EMI*, Mem?, FieldLevel?)            (the MetInf content model, page 1 in WBXML)
//! Anchor        (Last?, Next)                Mem (SharedMem?, FreeMem, FreeID)
//! ```
//! The orders are the RepPro 1.2 and MetInf 1.2 DTDs as we know them from memory and from what the RTK
//! writes (the AOSP packets follow them); `FieldLevel` (MetInf 1.2 only) is placed last, which we could
//! not check against the DTD text \[M\]. `Correlator` of `Alert` and `Exec` follows DM 1.2.1 RepPro §4.
//!
//! # Data and its Format
//!
//! [`Data`] is text, bytes, a nested document (TNDS/DDF `MgmtTree`, `DevInf`) or, for anything else, the
//! tree nodes as they were. Which one an `Item`'s `Data` is depends on the `Format` that applies to it:
//! the `Format` of the item's own `Meta`, else the `Format` of its command's `Meta` (RepPro §5.2 "Meta"
//! inheritance: the command's meta information applies to every item that does not override it); for
//! `Cred` the `Format` of the `Cred`'s `Meta`. Decision, following DM 1.2.1 TND §8.3.7.2:
//! - `Format` `b64`: the text is base64 and the value is the decoded [`Data::Bytes`] (written back as
//!   base64 text in both encodings); text that is not base64 stays [`Data::Text`];
//! - `Format` `bin`: in XML the text is base64 (decoded to bytes as for `b64`); in WBXML the bytes are raw
//!   `OPAQUE` (text content is read as base64, like XML);
//! - any other or no `Format`: text (an `OPAQUE` that is UTF-8, as libwbxml writes the `Data` of `Add` and
//!   `Replace`, is text too); `Status` and `Alert` codes are typed separately.
//!
//! # Strict and lenient reading
//!
//! [`Mode::Strict`] rejects a message that lacks an element the DTD requires (a `Status` without `CmdRef`,
//! an `Alert` without `Data`), has two of an element that may occur once, or has text where only elements
//! may be. [`Mode::Lenient`] (for what real peers and the spec's own examples send) fills a missing required
//! element with its zero value (`0`, `""`, code 0; a missing `CmdRef` of a `Status` for `SyncHdr` is
//! therefore `0`, which is what it means), keeps a second occurrence in `extra`, and ignores stray text.
//! Both modes reject values that are not what the element holds (a code or ID that is not a number, a
//! `Size` that is not a number), and `Atomic`/`Sequence` nested deeper than [`MAX_GROUP_DEPTH`], with the
//! element path in the error.
//!
//! # Writing, and other decisions
//!
//! - The document language is the one `VerDTD` names (1.1 → SyncML 1.1, else 1.2; [`SyncMl::language`]),
//!   not the public identifier the input had: real DM 1.2 devices send the 1.1 FPI with `VerDTD` 1.2, and
//!   answer with the 1.2 one themselves.
//! - `CmdID`, `MsgID`, `MsgRef`, `CmdRef` and the sizes are numbers (the DTD says PCDATA; every
//!   implementation we know sends decimal numbers, and engines count them); `SessionID` stays text (package
//!   0 gives it in hex). `Alert` `Data` is required (the DTD has `Data?`; DM gives every alert a code).
//! - Empty PCDATA is written as the RTK does: `<X></X>` in XML, `STR_I ""` in WBXML; an empty `Data` in
//!   WBXML follows the profile's `EmptyData` (`0F` or `4F 03 00 01`).
//! - Elements kept as they are (`extra`, [`Command::Other`], [`Data::Nodes`]) are kept in a canonical form:
//!   CDATA and UTF-8 `OPAQUE` as text, adjacent texts merged, blanks between child elements dropped.
//! - The libwbxml flavour writes what libwbxml writes, deviations included: it strips leading and trailing
//!   blanks of every text, writes `…dmtnds+xml`/`…devinf+xml` types as `…+wbxml`, and has no way to write
//!   binary `Data` ([`ModelError::Unsupported`] for bytes under `Format` `bin` in WBXML). Whatever the RTK
//!   flavour writes reads back to the same typed value, provided each `Data` agrees with its `Format`
//!   (bytes under `b64`/`bin`, text otherwise; it refuses only NUL in text and elements the language has no
//!   token for).
//! - [`SyncMl::decode`] reports the dialect of the input ([`Wire`]) so that the answer can be written the
//!   same way; [`SyncMl::command_len`] measures what a command adds to a message (filling up to
//!   `MaxMsgSize`).

mod build;
pub(crate) mod decode;
pub(crate) mod encode;
mod wire;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use build::DevInfo;
pub use decode::MAX_GROUP_DEPTH;
pub use wire::{Decoded, Encoding, Wire};

pub use super::codes::{AlertCode, StatusCode};
use super::tree::{self, ConvertError, Element, Language, Node};
use crate::dm::ddf::Format;
pub use crate::xml::Mode;

/// A SyncML message (RepPro §5.1 `SyncML`): header and body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncMl {
    /// `SyncHdr`.
    pub hdr: SyncHdr,
    /// `SyncBody`.
    pub body: SyncBody,
    /// Unknown children of `SyncML`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<Element>,
}

/// The DM protocol version of a message (RepPro §5.1 `VerDTD`, `VerProto`; DM 1.2.1 RepPro §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DmVersion {
    /// OMA DM 1.1.2: `VerDTD` 1.1, `VerProto` `DM/1.1`, namespace `SYNCML:SYNCML1.1`, WBXML public id 0x0FD3.
    V1_1,
    /// OMA DM 1.2: `VerDTD` 1.2, `VerProto` `DM/1.2`, namespace `SYNCML:SYNCML1.2`, WBXML public id 0x1201.
    V1_2,
}

impl DmVersion {
    /// The `VerDTD` value.
    #[must_use]
    pub const fn ver_dtd(self) -> &'static str {
        match self {
            Self::V1_1 => "1.1",
            Self::V1_2 => "1.2",
        }
    }

    /// The `VerProto` value.
    #[must_use]
    pub const fn ver_proto(self) -> &'static str {
        match self {
            Self::V1_1 => "DM/1.1",
            Self::V1_2 => "DM/1.2",
        }
    }

    /// The document language (namespace, DOCTYPE, WBXML public identifier and code pages).
    #[must_use]
    pub const fn language(self) -> Language {
        match self {
            Self::V1_1 => Language::SyncMl11,
            Self::V1_2 => Language::SyncMl12,
        }
    }

    /// The version a `VerDTD` value names (`1.1` or `1.2`).
    #[must_use]
    pub fn from_ver_dtd(ver_dtd: &str) -> Option<Self> {
        match ver_dtd.trim() {
            "1.1" => Some(Self::V1_1),
            "1.2" => Some(Self::V1_2),
            _ => None,
        }
    }
}

/// `SyncHdr` (RepPro §5.1): who talks to whom in which session.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SyncHdr {
    /// `VerDTD` (`1.2` or `1.1`; decides the document language when writing, see [`SyncMl::language`]).
    pub ver_dtd: String,
    /// `VerProto` (`DM/1.2`, `DM/1.1`).
    pub ver_proto: String,
    /// `SessionID` (text: package 0 gives it as upper-case hex, DM 1.2.1 Notification §6.2).
    pub session_id: String,
    /// `MsgID`.
    pub msg_id: u32,
    /// `Target`: the recipient.
    pub target: Location,
    /// `Source`: the sender (`LocName` carries the user name of MD5 credentials).
    pub source: Location,
    /// `RespURI`: where the recipient sends its response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resp_uri: Option<String>,
    /// `NoResp`: no `Status` for the header is wanted.
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_resp: bool,
    /// `Cred` (DM credentials are only allowed here, RepPro DM usage §4.1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cred: Option<Cred>,
    /// `Meta` (`MaxMsgSize`, `MaxObjSize`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Unknown children.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<Element>,
}

/// `SyncBody` (RepPro §5.1): the commands, in order, and whether this is the last message of a package.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SyncBody {
    /// The commands.
    pub commands: Vec<Command>,
    /// `Final`: the last message of the package (DM 1.2.1 Protocol §2.1).
    #[serde(rename = "final", default, skip_serializing_if = "is_false")]
    pub final_: bool,
    /// Unknown children that are not commands (commands are [`Command::Other`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<Element>,
}

/// A command of `SyncBody`, `Atomic` or `Sequence` (RepPro §6).
// `Exec` holds its item inline: the variants differ in size, but boxing would make every match site
// clumsier for a value that is built once and moved into a `Vec`.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// `Add` (RepPro §6.6.1).
    Add(ItemCommand),
    /// `Alert` (RepPro §6.6.2).
    Alert(Alert),
    /// `Atomic` (RepPro §6.6.3).
    Atomic(CommandGroup),
    /// `Copy` (RepPro §6.6.4).
    Copy(ItemCommand),
    /// `Delete` (RepPro §6.6.5).
    Delete(ItemCommand),
    /// `Exec` (RepPro §6.6.6).
    Exec(Exec),
    /// `Get` (RepPro §6.6.7).
    Get(ItemCommand),
    /// `Replace` (RepPro §6.6.11).
    Replace(ItemCommand),
    /// `Results` (RepPro §6.6.12).
    Results(Results),
    /// `Sequence` (RepPro §6.6.14).
    Sequence(CommandGroup),
    /// `Status` (RepPro §6.6.15).
    Status(Status),
    /// Any other command (`Map`, `Put`, `Search`, `Sync`, `Move`, unknown ones), kept as its element.
    Other(Element),
}

/// The commands that act on items: `Add`, `Copy`, `Delete`, `Get`, `Replace` (RepPro §6.6.1, §6.6.4,
/// §6.6.5, §6.6.7, §6.6.11).
///
/// `archive` and `sft_del` belong to `Delete` and `lang` to `Get` in the DTD; they are read and written for
/// any of the five (decision: one shape keeps the engines' code uniform; DM does not use them).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ItemCommand {
    /// `CmdID`.
    pub cmd_id: u32,
    /// `NoResp`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_resp: bool,
    /// `Archive` (Delete).
    #[serde(default, skip_serializing_if = "is_false")]
    pub archive: bool,
    /// `SftDel` (Delete).
    #[serde(default, skip_serializing_if = "is_false")]
    pub sft_del: bool,
    /// `Lang` (Get).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// `Cred`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cred: Option<Cred>,
    /// `Meta`: applies to every item without its own (see the module documentation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// `Item`s (at least one in a valid command).
    pub items: Vec<Item>,
    /// Unknown children.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<Element>,
}

/// `Alert` (RepPro §6.6.2; DM 1.2.1 RepPro §4.2, Protocol §2.3.7 for 1226).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// `CmdID`.
    pub cmd_id: u32,
    /// `NoResp`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_resp: bool,
    /// `Cred`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cred: Option<Cred>,
    /// `Data`: the alert code (required by DM).
    pub code: AlertCode,
    /// `Correlator` (DM 1.2 Generic Alert: the one of the `Exec` it reports on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlator: Option<String>,
    /// `Item`s (UI alert options and texts, generic alert payloads).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
    /// Unknown children.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<Element>,
}

/// `Atomic` and `Sequence` (RepPro §6.6.3, §6.6.14): commands executed all-or-nothing or in order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CommandGroup {
    /// `CmdID`.
    pub cmd_id: u32,
    /// `NoResp`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_resp: bool,
    /// `Meta`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// The commands inside, in order.
    pub commands: Vec<Command>,
    /// Unknown children that are not commands.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<Element>,
}

/// `Exec` (RepPro §6.6.6; `Correlator` DM 1.2.1 RepPro §4).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Exec {
    /// `CmdID`.
    pub cmd_id: u32,
    /// `NoResp`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_resp: bool,
    /// `Cred`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cred: Option<Cred>,
    /// `Meta`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// `Correlator`: echoed by the Generic Alert that reports an asynchronous result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlator: Option<String>,
    /// The one `Item`: the node to execute and its argument.
    pub item: Item,
    /// Unknown children.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<Element>,
}

/// `Results` (RepPro §6.6.12): the answer to a `Get`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Results {
    /// `CmdID`.
    pub cmd_id: u32,
    /// `MsgRef`: the message of the `Get` (absent: the previous message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_ref: Option<u32>,
    /// `CmdRef`: the `CmdID` of the `Get`.
    pub cmd_ref: u32,
    /// `Meta`: applies to every item without its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// `TargetRef`s.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_refs: Vec<String>,
    /// `SourceRef`s.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_refs: Vec<String>,
    /// `Item`s: `Source` the node, `Data` its value.
    pub items: Vec<Item>,
    /// Unknown children (the [MS-MDM] examples put a `Cmd` here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<Element>,
}

/// `Status` (RepPro §6.6.15): the result of a command or of the header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// `CmdID`.
    pub cmd_id: u32,
    /// `MsgRef`: the `MsgID` of the message holding the command.
    pub msg_ref: u32,
    /// `CmdRef`: the `CmdID` of the command, 0 for the header.
    pub cmd_ref: u32,
    /// `Cmd`: the command's element name (`SyncHdr` for the header).
    pub cmd: String,
    /// `TargetRef`s: the command's target URIs (the header's `Target` `LocURI`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_refs: Vec<String>,
    /// `SourceRef`s: the command's source URIs (the header's `Source` `LocURI`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_refs: Vec<String>,
    /// `Cred`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cred: Option<Cred>,
    /// `Chal`: an authentication challenge (with 401/407, or the next nonce with 212/200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chal: Option<Chal>,
    /// `Data`: the status code.
    pub code: StatusCode,
    /// `Item`s (UI alert answers, details).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
    /// Unknown children.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<Element>,
}

/// `Item` (RepPro §5.2): one node or value a command acts on.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Item {
    /// `Target`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Location>,
    /// `Source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Location>,
    /// `SourceParent` (SyncML 1.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_parent: Option<Location>,
    /// `TargetParent` (SyncML 1.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_parent: Option<Location>,
    /// `Meta`: overrides the command's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// `Data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Data>,
    /// `MoreData`: a chunk of a large object that is not the last (DM 1.2.1 Protocol §2.2).
    #[serde(default, skip_serializing_if = "is_false")]
    pub more_data: bool,
    /// Unknown children.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<Element>,
}

/// The content of `Target`, `Source`, `SourceParent` and `TargetParent` (RepPro §5.1): `LocURI` and
/// `LocName` (`LocName` only in `Target` and `Source`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Location {
    /// `LocURI`.
    pub loc_uri: String,
    /// `LocName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loc_name: Option<String>,
    /// Unknown children (DS `Filter` of `Target`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<Element>,
}

/// `Cred` (RepPro §5.1): credentials, `Meta` `Type` naming the scheme (`syncml:auth-basic`,
/// `syncml:auth-md5`) and `Format` (`b64`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Cred {
    /// `Meta`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// `Data`: with `Format` `b64`, the decoded credential (`user:password` for basic, the 16-byte digest
    /// for MD5).
    pub data: Data,
    /// Unknown children.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<Element>,
}

/// `Chal` (RepPro §5.1): an authentication challenge (`Meta` `Type`, `Format`, `NextNonce`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Chal {
    /// `Meta`.
    pub meta: Meta,
    /// Unknown children.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<Element>,
}

/// `Meta` with its MetInf content (MetInf 1.2 §5; page 1 in WBXML).
///
/// Text values are kept as sent (trimmed); [`Meta::parsed_format`] reads `Format` as a DM format.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Meta {
    /// `Format` (`chr`, `int`, `b64`, `bin`, `node`, `xml`, …; MetInf §5.3.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// `Type`: a MIME type, an auth scheme (`syncml:auth-md5`) or a generic alert type URN.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// `Mark` (generic alert severity, DM 1.2.1 Protocol §2.3.7.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark: Option<String>,
    /// `Size`: bytes of the data as sent (of the whole object on the first chunk of a large object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// `Anchor` (DS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<Anchor>,
    /// `Version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `NextNonce`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_nonce: Option<NextNonce>,
    /// `MaxMsgSize` (header `Meta`: binding for the session until changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_msg_size: Option<u64>,
    /// `MaxObjSize` (header `Meta`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_obj_size: Option<u64>,
    /// `EMI`s (experimental meta information).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emi: Vec<String>,
    /// `Mem` (DS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem: Option<Mem>,
    /// `FieldLevel` (MetInf 1.2, DS).
    #[serde(default, skip_serializing_if = "is_false")]
    pub field_level: bool,
    /// Unknown children (and a `MetInf` wrapper, which DM does not use).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<Element>,
}

/// `Anchor` (MetInf §5.3.1): DS sync anchors.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Anchor {
    /// `Last`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
    /// `Next`.
    pub next: String,
    /// Unknown children.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<Element>,
}

/// `Mem` (MetInf §5.3.7): DS memory information.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Mem {
    /// `SharedMem`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub shared_mem: bool,
    /// `FreeMem` (bytes).
    pub free_mem: u64,
    /// `FreeID` (number of free item IDs).
    pub free_id: u64,
    /// Unknown children.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<Element>,
}

/// `NextNonce` (MetInf §5.3.10): the nonce for the next MD5 credential or HMAC.
///
/// RepPro DM usage §4.1.1.2 wants it base64 (`Format` `b64`); WBXML peers may send the raw bytes as
/// `OPAQUE` (libwbxml shows those in base64). Both give [`NextNonce::Bytes`], written back as base64 text;
/// text that is not base64 is kept as [`NextNonce::Text`] (the AOSP client then uses the text itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NextNonce {
    /// The nonce bytes.
    Bytes(#[serde(with = "crate::hexser")] Vec<u8>),
    /// Text that is not base64.
    Text(String),
}

impl NextNonce {
    /// The nonce bytes to use in a digest (the text's bytes for [`NextNonce::Text`]).
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        match self {
            Self::Bytes(b) => b,
            Self::Text(t) => t.as_bytes(),
        }
    }
}

/// The content of `Data` (RepPro §5.1) other than status and alert codes. See the module documentation
/// for how its `Format` decides the variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Data {
    /// Character data.
    Text(String),
    /// Binary data (`Format` `b64` or `bin`): base64 text in XML, raw `OPAQUE` in WBXML under `bin`.
    Bytes(#[serde(with = "crate::hexser")] Vec<u8>),
    /// A nested document: a TNDS or DDF `MgmtTree` ([`crate::dm::ddf::MgmtTree::from_tree`] reads it), a
    /// `DevInf`.
    Document(Box<tree::Document>),
    /// Anything else (elements, several documents, binary data where text was expected), as it was.
    Nodes(Vec<Node>),
}

impl Data {
    /// Text data.
    #[must_use]
    pub fn text(s: impl Into<String>) -> Self {
        Self::Text(s.into())
    }

    /// Binary data.
    #[must_use]
    pub fn bytes(b: impl Into<Vec<u8>>) -> Self {
        Self::Bytes(b.into())
    }

    /// The text, if this is text.
    #[must_use]
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The value as bytes: the text's UTF-8 bytes or the binary data (`None` for documents and nodes).
    #[must_use]
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Text(t) => Some(t.as_bytes()),
            Self::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The nested document, if this is one.
    #[must_use]
    pub fn as_document(&self) -> Option<&tree::Document> {
        match self {
            Self::Document(d) => Some(d),
            _ => None,
        }
    }

    /// True for empty text or bytes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        match self {
            Self::Text(t) => t.is_empty(),
            Self::Bytes(b) => b.is_empty(),
            Self::Nodes(n) => n.is_empty(),
            Self::Document(_) => false,
        }
    }
}

impl Default for Data {
    /// Empty text.
    fn default() -> Self {
        Self::Text(String::new())
    }
}

impl From<&str> for Data {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}

impl From<String> for Data {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}

impl From<Vec<u8>> for Data {
    fn from(b: Vec<u8>) -> Self {
        Self::Bytes(b)
    }
}

impl From<tree::Document> for Data {
    fn from(d: tree::Document) -> Self {
        Self::Document(Box::new(d))
    }
}

/// Why a message or DDF document could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The XML or WBXML layer failed (with the byte offset for input errors).
    #[error(transparent)]
    Convert(#[from] ConvertError),
    /// An element is missing, repeated or holds the wrong kind of value; `path` names it
    /// (`SyncML/SyncBody/Status[2]/CmdRef`, indices count same-named siblings from 1).
    #[error("{path}: {reason}")]
    Invalid {
        /// Where: the element path from the root.
        path: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The document is of another type (a DDF given as a message, a message given as a DDF).
    #[error("expected a {expected} document, found {found:?}")]
    WrongDocument {
        /// What was expected.
        expected: &'static str,
        /// What the document is.
        found: Language,
    },
    /// The profile cannot write this content (e.g. libwbxml has no way to write binary `Data`).
    #[error("cannot write this: {0}")]
    Unsupported(&'static str),
}

impl From<crate::error::DecodeError> for ModelError {
    fn from(e: crate::error::DecodeError) -> Self {
        Self::Convert(ConvertError::Decode(e))
    }
}

// ---- accessors -----------------------------------------------------------------------------------

impl SyncMl {
    /// A message with `hdr` and no commands, `Final` set.
    #[must_use]
    pub fn new(hdr: SyncHdr) -> Self {
        Self {
            hdr,
            body: SyncBody { commands: Vec::new(), final_: true, extra: Vec::new() },
            extra: Vec::new(),
        }
    }

    /// The DM version of `VerDTD`, if it is 1.1 or 1.2.
    #[must_use]
    pub fn dm_version(&self) -> Option<DmVersion> {
        DmVersion::from_ver_dtd(&self.hdr.ver_dtd)
    }

    /// The document language the message is written in: SyncML 1.1 for `VerDTD` 1.1, else SyncML 1.2
    /// (decision: the header decides, not the public identifier of the input; real DM 1.2 devices send the
    /// 1.1 FPI with `VerDTD` 1.2, omadm.md §3).
    #[must_use]
    pub fn language(&self) -> Language {
        self.dm_version().map_or(Language::SyncMl12, DmVersion::language)
    }

    /// Adds a command (builder style).
    #[must_use]
    pub fn with(mut self, command: impl Into<Command>) -> Self {
        self.body.commands.push(command.into());
        self
    }

    /// Every command, depth first: the body's commands and those inside `Atomic` and `Sequence`.
    pub fn all_commands(&self) -> impl Iterator<Item = &Command> {
        let mut stack: Vec<&Command> = self.body.commands.iter().rev().collect();
        std::iter::from_fn(move || {
            let c = stack.pop()?;
            if let Command::Atomic(g) | Command::Sequence(g) = c {
                stack.extend(g.commands.iter().rev());
            }
            Some(c)
        })
    }

    /// The `Status`es of the body.
    pub fn statuses(&self) -> impl Iterator<Item = &Status> {
        self.body.commands.iter().filter_map(|c| match c {
            Command::Status(s) => Some(s),
            _ => None,
        })
    }

    /// The `Status` for the header (`CmdRef` 0, `Cmd` `SyncHdr`), if there is one.
    #[must_use]
    pub fn header_status(&self) -> Option<&Status> {
        self.statuses().find(|s| s.is_for_header())
    }
}

impl Command {
    /// The element name (`Add`, `Status`, … or the unknown element's name).
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Self::Add(_) => "Add",
            Self::Alert(_) => "Alert",
            Self::Atomic(_) => "Atomic",
            Self::Copy(_) => "Copy",
            Self::Delete(_) => "Delete",
            Self::Exec(_) => "Exec",
            Self::Get(_) => "Get",
            Self::Replace(_) => "Replace",
            Self::Results(_) => "Results",
            Self::Sequence(_) => "Sequence",
            Self::Status(_) => "Status",
            Self::Other(e) => &e.name,
        }
    }

    /// The `CmdID` (`None` for [`Command::Other`]).
    #[must_use]
    pub fn cmd_id(&self) -> Option<u32> {
        Some(match self {
            Self::Add(c) | Self::Copy(c) | Self::Delete(c) | Self::Get(c) | Self::Replace(c) => c.cmd_id,
            Self::Alert(c) => c.cmd_id,
            Self::Atomic(c) | Self::Sequence(c) => c.cmd_id,
            Self::Exec(c) => c.cmd_id,
            Self::Results(c) => c.cmd_id,
            Self::Status(c) => c.cmd_id,
            Self::Other(_) => return None,
        })
    }

    /// Sets the `CmdID` (no effect on [`Command::Other`]).
    pub fn set_cmd_id(&mut self, id: u32) {
        match self {
            Self::Add(c) | Self::Copy(c) | Self::Delete(c) | Self::Get(c) | Self::Replace(c) => c.cmd_id = id,
            Self::Alert(c) => c.cmd_id = id,
            Self::Atomic(c) | Self::Sequence(c) => c.cmd_id = id,
            Self::Exec(c) => c.cmd_id = id,
            Self::Results(c) => c.cmd_id = id,
            Self::Status(c) => c.cmd_id = id,
            Self::Other(_) => {}
        }
    }

    /// `NoResp` of the command (false for `Results`, `Status` and [`Command::Other`]).
    #[must_use]
    pub fn no_resp(&self) -> bool {
        match self {
            Self::Add(c) | Self::Copy(c) | Self::Delete(c) | Self::Get(c) | Self::Replace(c) => c.no_resp,
            Self::Alert(c) => c.no_resp,
            Self::Atomic(c) | Self::Sequence(c) => c.no_resp,
            Self::Exec(c) => c.no_resp,
            Self::Results(_) | Self::Status(_) | Self::Other(_) => false,
        }
    }

    /// The command's `Meta`, which its items inherit.
    #[must_use]
    pub fn meta(&self) -> Option<&Meta> {
        match self {
            Self::Add(c) | Self::Copy(c) | Self::Delete(c) | Self::Get(c) | Self::Replace(c) => {
                c.meta.as_ref()
            }
            Self::Atomic(c) | Self::Sequence(c) => c.meta.as_ref(),
            Self::Exec(c) => c.meta.as_ref(),
            Self::Results(c) => c.meta.as_ref(),
            Self::Alert(_) | Self::Status(_) | Self::Other(_) => None,
        }
    }

    /// The command's items (none for `Atomic`, `Sequence` and [`Command::Other`]).
    #[must_use]
    pub fn items(&self) -> &[Item] {
        match self {
            Self::Add(c) | Self::Copy(c) | Self::Delete(c) | Self::Get(c) | Self::Replace(c) => &c.items,
            Self::Alert(c) => &c.items,
            Self::Exec(c) => std::slice::from_ref(&c.item),
            Self::Results(c) => &c.items,
            Self::Status(c) => &c.items,
            Self::Atomic(_) | Self::Sequence(_) | Self::Other(_) => &[],
        }
    }

    /// The `Format` that applies to `item`'s `Data`: the item's `Meta` `Format`, else the command's.
    #[must_use]
    pub fn format_of<'a>(&'a self, item: &'a Item) -> Option<&'a str> {
        effective_format(item.meta.as_ref(), self.meta())
    }
}

impl Status {
    /// True for the status of a header (`Cmd` `SyncHdr`).
    #[must_use]
    pub fn is_for_header(&self) -> bool {
        self.cmd == "SyncHdr"
    }
}

impl Meta {
    /// An empty `Meta`.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// `Format` as a DM format (`chr`, `Chr`, `bin`, …; `None` when absent or not a DM format).
    #[must_use]
    pub fn parsed_format(&self) -> Option<Format> {
        self.format.as_deref().and_then(Format::parse)
    }

    /// Sets `Format` (builder style).
    #[must_use]
    pub fn with_format(mut self, format: Format) -> Self {
        self.format = Some(format.as_str().to_owned());
        self
    }

    /// Sets `Type` (builder style).
    #[must_use]
    pub fn with_type(mut self, type_: impl Into<String>) -> Self {
        self.type_ = Some(type_.into());
        self
    }

    /// Sets `Mark` (builder style).
    #[must_use]
    pub fn with_mark(mut self, mark: impl Into<String>) -> Self {
        self.mark = Some(mark.into());
        self
    }

    /// Sets `Size` (builder style).
    #[must_use]
    pub fn with_size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }

    /// Sets `NextNonce` to nonce bytes (builder style).
    #[must_use]
    pub fn with_next_nonce(mut self, nonce: impl Into<Vec<u8>>) -> Self {
        self.next_nonce = Some(NextNonce::Bytes(nonce.into()));
        self
    }

    /// Sets `MaxMsgSize` (builder style).
    #[must_use]
    pub fn with_max_msg_size(mut self, n: u64) -> Self {
        self.max_msg_size = Some(n);
        self
    }

    /// Sets `MaxObjSize` (builder style).
    #[must_use]
    pub fn with_max_obj_size(mut self, n: u64) -> Self {
        self.max_obj_size = Some(n);
        self
    }
}

impl Location {
    /// A location with a `LocURI`.
    #[must_use]
    pub fn new(loc_uri: impl Into<String>) -> Self {
        Self { loc_uri: loc_uri.into(), loc_name: None, extra: Vec::new() }
    }

    /// Sets `LocName` (builder style).
    #[must_use]
    pub fn with_name(mut self, loc_name: impl Into<String>) -> Self {
        self.loc_name = Some(loc_name.into());
        self
    }
}

impl Item {
    /// The `LocURI` of `Target`, if any.
    #[must_use]
    pub fn target_uri(&self) -> Option<&str> {
        self.target.as_ref().map(|l| l.loc_uri.as_str())
    }

    /// The `LocURI` of `Source`, if any.
    #[must_use]
    pub fn source_uri(&self) -> Option<&str> {
        self.source.as_ref().map(|l| l.loc_uri.as_str())
    }
}

/// The `Format` that applies to an item's `Data`: the item's `Meta` first, then its command's.
#[must_use]
pub fn effective_format<'a>(item_meta: Option<&'a Meta>, command_meta: Option<&'a Meta>) -> Option<&'a str> {
    item_meta.and_then(|m| m.format.as_deref()).or_else(|| command_meta.and_then(|m| m.format.as_deref()))
}

/// Whether a `Format` value makes `Data` binary, and how: `Some(true)` for `bin` (raw in WBXML),
/// `Some(false)` for `b64`, `None` for anything else.
fn binary_format(format: Option<&str>) -> Option<bool> {
    match format.map(str::trim) {
        Some("bin") => Some(true),
        Some("b64") => Some(false),
        _ => None,
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_false(b: &bool) -> bool {
    !*b
}

macro_rules! into_command {
    ($($t:ty => $v:ident),*) => {
        $(impl From<$t> for Command {
            fn from(c: $t) -> Self {
                Self::$v(c)
            }
        })*
    };
}
into_command!(Alert => Alert, Exec => Exec, Results => Results, Status => Status);

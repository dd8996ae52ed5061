//! The M2MSIMMobj management object of S3-090905 (the OMA DM object the SHO builds in step 16 and the DPF
//! downloads in step 18): its DDF, typed access to its nodes, its MIME type, its Generic Alert types, and the
//! State and Result codes of its MCIMs.
//!
//! No standard defines the object (TR 33.812 and S3-090905 only name it). This module adopts the proposal of
//! `shared/spec/m2m.md` §3 with these decisions:
//! - **Fixed root** `./M2MSIMMobj` (DDF `NodeName` `M2MSIMMobj`, `Path` `.`) rather than an unnamed `<x>`:
//!   the bootstrap addresses `./M2MSIMMobj/Boot/*`, so the root must have a known name. MO identifier
//!   [`MO_ID`] (hypothetical, not registered with OMNA).
//! - **`TRE/ValidationNonce`** (bin, Get/Replace) is added: a server writes a fresh nonce there before it
//!   reads `TRE/ValidationData`, and the TRE signs it into the report (freshness for the PVA, steps 13–15).
//! - **`TRE/Algs`** lists the supported protection algorithms as decimal codes of
//!   [`ProtectionAlg`](super::mcim::ProtectionAlg), comma separated (`1`).
//! - **`MCIMs/<x>/SHOID`** is text `MCC-MNC` (as [`PlmnId`]'s `Display`), `MCIMID` the decimal digits,
//!   `Version` the package version in decimal. The device writes them from the package header when `Data`
//!   arrives; the server chooses `<x>` (the MCIMID is recommended).
//! - **`Data` has no Get** (write-only, so the tree treats it as a secret); K and OPc never appear as nodes.
//! - The DDF's access types are what a server may do; ACLs narrow them (the TRE grants the bootstrapped DPF).
//!
//! Main items: [`ddf`] (the [`MgmtTree`]), [`root_ddf`] (the description to register in a DM tree),
//! [`ddf_xml`] and [`ddf_wbxml`] (the document; the XML is shipped as `codec/mo/M2MSIMMobj.ddf`), the path
//! constants in [`path`] and [`McimPaths`] / [`McimTarget`], [`State`], [`ResultCode`], [`Operation`],
//! [`MCIM_MIME_TYPE`] and [`ALERT_TYPE_PREFIX`].
//!
//! | node | format | occurrence | access | scope |
//! |---|---|---|---|---|
//! | `M2MSIMMobj` | node | One | Get | permanent |
//! | `TRE`, `TRE/{TREID, PfCRef, Algs}` | node, chr | One | Get | permanent |
//! | `TRE/PfC` | bin | One | Get | permanent |
//! | `TRE/ValidationNonce` | bin | ZeroOrOne | Get, Replace | permanent |
//! | `TRE/ValidationData` | bin | ZeroOrOne | Get | permanent |
//! | `Boot` | node | ZeroOrOne | Get | dynamic |
//! | `Boot/PCID` | chr | ZeroOrOne | Get | dynamic |
//! | `Boot/{DPFAddr, SHOAddr}` | chr | One | Get, Replace | dynamic |
//! | `Boot/{MCIMProvCtx, M2MAppProvCtx}` | bin | ZeroOrOne | Get, Replace | dynamic |
//! | `MCIMs` | node | One | Get | permanent |
//! | `MCIMs/<x>` | node | ZeroOrMore | Add, Delete, Get | dynamic |
//! | `MCIMs/<x>/{MCIMID, SHOID}` | chr | One | Get | dynamic |
//! | `MCIMs/<x>/Version` | chr | ZeroOrOne | Get | dynamic |
//! | `MCIMs/<x>/Data` | bin | One | Add, Replace | dynamic |
//! | `MCIMs/<x>/Operations` | node | One | Get | dynamic |
//! | `MCIMs/<x>/Operations/{Install, Activate}` | null | One | Exec | dynamic |
//! | `MCIMs/<x>/Operations/{Deactivate, Remove}` | null | ZeroOrOne | Exec | dynamic |
//! | `MCIMs/<x>/State` | int | One | Get | dynamic |
//! | `MCIMs/<x>/Result` | int | ZeroOrOne | Get | dynamic |
//! | `MCIMs/<x>/Ext`, `Ext` | node | ZeroOrOne | Get | dynamic |

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::dm::ddf::{AccessTypes, DdfNode, DfProperties, DfType, Format, MgmtTree, Occurrence, Scope};
use crate::syncml::model::ModelError;
use crate::syncml::tree::{self as st, Profile, XmlStyle};

/// The MO identifier (DDF `DDFName` of the root; hypothetical, m2m.md §3).
pub const MO_ID: &str = "urn:oma:mo:ext-3gpp-m2msimmobj:1.0";
/// The root URI.
pub const ROOT: &str = "./M2MSIMMobj";
/// The root's node name.
pub const ROOT_NAME: &str = "M2MSIMMobj";
/// The MIME type of `MCIMs/<x>/Data` (a [`ProtectedPackage`](super::mcim::ProtectedPackage)).
pub const MCIM_MIME_TYPE: &str = "application/vnd.3gpp.m2msim-mcim";
/// The MIME type of `TRE/ValidationData` (a [`ValidationData`](super::validation::ValidationData)).
pub const VALIDATION_MIME_TYPE: &str = "application/vnd.3gpp.m2msim-validation";
/// The MIME type of `Boot/MCIMProvCtx` (a [`McimProvCtx`](super::prov_ctx::McimProvCtx)).
pub const PROV_CTX_MIME_TYPE: &str = "application/vnd.3gpp.m2msim-provctx";
/// The Generic Alert types are this prefix followed by the operation (`install`, `activate`, …).
pub const ALERT_TYPE_PREFIX: &str = "urn:oma:at:ext-3gpp-m2msim:1.0:";

/// Absolute URIs of the fixed nodes.
pub mod path {
    /// `TRE`.
    pub const TRE: &str = "./M2MSIMMobj/TRE";
    /// `TRE/TREID`.
    pub const TRE_ID: &str = "./M2MSIMMobj/TRE/TREID";
    /// `TRE/PfC`.
    pub const PFC: &str = "./M2MSIMMobj/TRE/PfC";
    /// `TRE/PfCRef`.
    pub const PFC_REF: &str = "./M2MSIMMobj/TRE/PfCRef";
    /// `TRE/Algs`.
    pub const ALGS: &str = "./M2MSIMMobj/TRE/Algs";
    /// `TRE/ValidationNonce`.
    pub const VALIDATION_NONCE: &str = "./M2MSIMMobj/TRE/ValidationNonce";
    /// `TRE/ValidationData`.
    pub const VALIDATION_DATA: &str = "./M2MSIMMobj/TRE/ValidationData";
    /// `Boot`.
    pub const BOOT: &str = "./M2MSIMMobj/Boot";
    /// `Boot/PCID`.
    pub const BOOT_PCID: &str = "./M2MSIMMobj/Boot/PCID";
    /// `Boot/DPFAddr`.
    pub const BOOT_DPF_ADDR: &str = "./M2MSIMMobj/Boot/DPFAddr";
    /// `Boot/SHOAddr`.
    pub const BOOT_SHO_ADDR: &str = "./M2MSIMMobj/Boot/SHOAddr";
    /// `Boot/MCIMProvCtx`.
    pub const BOOT_MCIM_PROV_CTX: &str = "./M2MSIMMobj/Boot/MCIMProvCtx";
    /// `Boot/M2MAppProvCtx`.
    pub const BOOT_M2M_APP_PROV_CTX: &str = "./M2MSIMMobj/Boot/M2MAppProvCtx";
    /// `MCIMs`.
    pub const MCIMS: &str = "./M2MSIMMobj/MCIMs";
}

/// An operation of an MCIM (`MCIMs/<x>/Operations/*`, Exec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// `Install`: decrypt, verify and store in the TRE (State 20 → 30, or 60).
    Install,
    /// `Activate`: make operational, deactivating any other active MCIM (30/50 → 40).
    Activate,
    /// `Deactivate`: stop using it (40 → 50).
    Deactivate,
    /// `Remove`: zeroise in the TRE and delete the subtree.
    Remove,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Self; 4] = [Self::Install, Self::Activate, Self::Deactivate, Self::Remove];

    /// The node name under `Operations`.
    #[must_use]
    pub const fn node_name(self) -> &'static str {
        match self {
            Self::Install => "Install",
            Self::Activate => "Activate",
            Self::Deactivate => "Deactivate",
            Self::Remove => "Remove",
        }
    }

    /// The operation of a node name.
    #[must_use]
    pub fn from_node_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.node_name() == name)
    }

    /// The Generic Alert type reporting this operation (`urn:oma:at:ext-3gpp-m2msim:1.0:install` …).
    #[must_use]
    pub fn alert_type(self) -> String {
        format!("{ALERT_TYPE_PREFIX}{}", self.node_name().to_ascii_lowercase())
    }

    /// The operation an alert type reports.
    #[must_use]
    pub fn from_alert_type(t: &str) -> Option<Self> {
        let rest = t.trim().strip_prefix(ALERT_TYPE_PREFIX)?;
        Self::ALL.into_iter().find(|o| o.node_name().eq_ignore_ascii_case(rest))
    }
}

/// The State of an MCIM (`MCIMs/<x>/State`, m2m.md §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// 10: the package was delivered (`Data` added).
    Delivered,
    /// 20: Install accepted, the TRE is working on it.
    Installing,
    /// 30: installed in the TRE, inactive.
    Installed,
    /// 40: the active MCIM (used for network access).
    Active,
    /// 50: installed and deactivated.
    Inactive,
    /// 60: Install failed (see `Result`).
    Failed,
}

impl State {
    /// Every state.
    pub const ALL: [Self; 6] =
        [Self::Delivered, Self::Installing, Self::Installed, Self::Active, Self::Inactive, Self::Failed];

    /// The code stored in the `State` node.
    #[must_use]
    pub const fn code(self) -> u16 {
        match self {
            Self::Delivered => 10,
            Self::Installing => 20,
            Self::Installed => 30,
            Self::Active => 40,
            Self::Inactive => 50,
            Self::Failed => 60,
        }
    }

    /// The state of a code.
    #[must_use]
    pub fn from_code(code: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The state a `State` node holds (decimal text).
    #[must_use]
    pub fn from_node_value(v: &[u8]) -> Option<Self> {
        std::str::from_utf8(v).ok()?.trim().parse().ok().and_then(Self::from_code)
    }

    /// The name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Delivered => "Delivered",
            Self::Installing => "Installing",
            Self::Installed => "Installed",
            Self::Active => "Active",
            Self::Inactive => "Inactive",
            Self::Failed => "Failed",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.name())
    }
}

/// The result of an operation (`MCIMs/<x>/Result` and the Generic Alert's `Data`), aligned with the FUMO
/// result-code ranges (m2m.md §3.2). Codes without a name here are kept as [`ResultCode::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResultCode {
    /// 200: success.
    Success,
    /// 400: malformed package (the plaintext or a field the algorithm fixes is not well formed).
    MalformedPackage,
    /// 402: integrity failure (AEAD tag or SHO signature does not verify).
    IntegrityFailure,
    /// 403: the PfCRef is not this TRE's (the package is for another TRE).
    NotForThisTre,
    /// 404: decryption failure (the key agreement failed: the ephemeral key is not usable).
    DecryptionFailure,
    /// 405: rejected by policy (SHO not the one of the provisioning context, signature required or not
    /// verifiable, another MCIMID announced).
    RejectedByPolicy,
    /// 408: not implemented (package version or protection algorithm unknown to the TRE).
    NotImplemented,
    /// 409: the operation is not allowed in the MCIM's current State (nothing changed).
    WrongState,
    /// 410: the TRE cannot install the MCIM (AKA algorithm or parameters it cannot run, failed self-check).
    InstallFailure,
    /// 411: activation failure.
    ActivationFailure,
    /// 501: the TRE's MCIM store is full.
    StorageFull,
    /// Another code (e.g. vendor-specific 250–299), kept as it is.
    Other(u16),
}

impl ResultCode {
    const NAMED: [(Self, u16, &'static str, &'static str); 11] = [
        (Self::Success, 200, "success", "Success"),
        (Self::MalformedPackage, 400, "malformed_package", "Malformed package"),
        (Self::IntegrityFailure, 402, "integrity_failure", "Integrity failure"),
        (Self::NotForThisTre, 403, "not_for_this_tre", "PfCRef is not this TRE's"),
        (Self::DecryptionFailure, 404, "decryption_failure", "Decryption failure"),
        (Self::RejectedByPolicy, 405, "rejected_by_policy", "Rejected by policy"),
        (Self::NotImplemented, 408, "not_implemented", "Not implemented"),
        (Self::WrongState, 409, "wrong_state", "Wrong State for this operation"),
        (Self::InstallFailure, 410, "install_failure", "TRE install failure"),
        (Self::ActivationFailure, 411, "activation_failure", "Activation failure"),
        (Self::StorageFull, 501, "storage_full", "TRE storage full"),
    ];

    /// The numeric code.
    #[must_use]
    pub fn code(self) -> u16 {
        match self {
            Self::Other(c) => c,
            named => Self::NAMED.iter().find(|(r, ..)| *r == named).map_or(0, |(_, c, ..)| *c),
        }
    }

    /// The result of a numeric code (named when known).
    #[must_use]
    pub fn from_code(code: u16) -> Self {
        Self::NAMED.iter().find(|(_, c, ..)| *c == code).map_or(Self::Other(code), |(r, ..)| *r)
    }

    /// The result a `Result` node or an alert's `Data` holds (decimal text).
    #[must_use]
    pub fn from_text(v: &[u8]) -> Option<Self> {
        std::str::from_utf8(v).ok()?.trim().parse().ok().map(Self::from_code)
    }

    /// A description, if the code has a name here.
    #[must_use]
    pub fn name(self) -> Option<&'static str> {
        Self::NAMED.iter().find(|(r, ..)| *r == self).map(|(.., n)| *n)
    }

    /// True for 200.
    #[must_use]
    pub fn is_success(self) -> bool {
        self.code() == 200
    }
}

impl fmt::Display for ResultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{} {n}", self.code()),
            None => write!(f, "{}", self.code()),
        }
    }
}

impl Serialize for ResultCode {
    /// Named codes as their snake_case name, others as the number.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match Self::NAMED.iter().find(|(r, ..)| r == self) {
            Some((_, _, key, _)) => s.serialize_str(key),
            None => s.serialize_u16(self.code()),
        }
    }
}

impl<'de> Deserialize<'de> for ResultCode {
    /// A name (as serialised) or a number.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr<'a> {
            Code(u16),
            Name(std::borrow::Cow<'a, str>),
        }
        match Repr::deserialize(d)? {
            Repr::Code(c) => Ok(Self::from_code(c)),
            Repr::Name(n) => Self::NAMED
                .iter()
                .find(|(_, _, key, _)| *key == n)
                .map(|(r, ..)| *r)
                .ok_or_else(|| serde::de::Error::custom(format_args!("unknown result code name {n:?}"))),
        }
    }
}

/// A leaf of an MCIM subtree (`MCIMs/<x>/…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum McimLeaf {
    /// `MCIMID`.
    McimId,
    /// `SHOID`.
    ShoId,
    /// `Version`.
    Version,
    /// `Data`.
    Data,
    /// `State`.
    State,
    /// `Result`.
    Result,
}

impl McimLeaf {
    /// Every leaf.
    pub const ALL: [Self; 6] =
        [Self::McimId, Self::ShoId, Self::Version, Self::Data, Self::State, Self::Result];

    /// The node name.
    #[must_use]
    pub const fn node_name(self) -> &'static str {
        match self {
            Self::McimId => "MCIMID",
            Self::ShoId => "SHOID",
            Self::Version => "Version",
            Self::Data => "Data",
            Self::State => "State",
            Self::Result => "Result",
        }
    }
}

/// The URIs of one MCIM's subtree, `./M2MSIMMobj/MCIMs/<x>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct McimPaths {
    base: String,
}

impl McimPaths {
    /// The paths of the MCIM node named `name`.
    #[must_use]
    pub fn new(name: &str) -> Self {
        Self { base: format!("{}/{name}", path::MCIMS) }
    }

    /// The MCIM node's URI.
    #[must_use]
    pub fn node(&self) -> &str {
        &self.base
    }

    /// A leaf's URI.
    #[must_use]
    pub fn leaf(&self, leaf: McimLeaf) -> String {
        format!("{}/{}", self.base, leaf.node_name())
    }

    /// The `Operations` node's URI.
    #[must_use]
    pub fn operations(&self) -> String {
        format!("{}/Operations", self.base)
    }

    /// An operation node's URI.
    #[must_use]
    pub fn operation(&self, op: Operation) -> String {
        format!("{}/Operations/{}", self.base, op.node_name())
    }
}

/// What a URI inside `./M2MSIMMobj/MCIMs/<x>` designates.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum McimItem {
    /// The MCIM node itself.
    Node,
    /// A leaf.
    Leaf(McimLeaf),
    /// The `Operations` node.
    Operations,
    /// An operation node.
    Operation(Operation),
    /// Something else (under `Ext`, or a name the DDF does not describe).
    Other,
}

/// A URI inside an MCIM subtree, parsed: the MCIM node's name and the item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct McimTarget {
    /// The MCIM node's name (`<x>`).
    pub name: String,
    /// What the URI designates.
    pub item: McimItem,
}

impl McimTarget {
    /// Parses `./M2MSIMMobj/MCIMs/<x>[/…]` (also without `./`); `None` outside an MCIM subtree.
    #[must_use]
    pub fn parse(uri: &str) -> Option<Self> {
        let p = uri.strip_prefix("./").unwrap_or(uri);
        let rest = p.strip_prefix("M2MSIMMobj/MCIMs/")?;
        let mut segs = rest.split('/');
        let name = segs.next().filter(|s| !s.is_empty())?.to_owned();
        let item = match (segs.next(), segs.next(), segs.next()) {
            (None, ..) => McimItem::Node,
            (Some("Operations"), None, _) => McimItem::Operations,
            (Some("Operations"), Some(op), None) => {
                Operation::from_node_name(op).map_or(McimItem::Other, McimItem::Operation)
            }
            (Some(leaf), None, _) => McimLeaf::ALL
                .into_iter()
                .find(|l| l.node_name() == leaf)
                .map_or(McimItem::Other, McimItem::Leaf),
            _ => McimItem::Other,
        };
        Some(Self { name, item })
    }

    /// The paths of the MCIM.
    #[must_use]
    pub fn paths(&self) -> McimPaths {
        McimPaths::new(&self.name)
    }
}

// ----- the DDF -------------------------------------------------------------------------------------------

/// One DDF node. (All descriptions are built here, so a change of the `DdfNode` shape touches one place.)
fn described(name: &str, props: DfProperties, children: Vec<DdfNode>) -> DdfNode {
    DdfNode { children, ..DdfNode::described(name, props) }
}

struct Spec<'a> {
    format: Format,
    occurrence: Occurrence,
    access: AccessTypes,
    permanent: bool,
    mime: Option<&'a str>,
    description: &'a str,
}

fn node(name: &str, s: Spec<'_>, children: Vec<DdfNode>) -> DdfNode {
    let df_type = s.mime.map(|m| DfType::Mime(m.to_owned()));
    let props = DfProperties {
        access_type: s.access,
        description: Some(s.description.to_owned()),
        format: s.format,
        occurrence: s.occurrence,
        scope: Some(if s.permanent { Scope::Permanent } else { Scope::Dynamic }),
        df_type,
        ..DfProperties::default()
    };
    described(name, props, children)
}

const GET: AccessTypes = AccessTypes::GET;
const GET_REPLACE: AccessTypes = AccessTypes::GET_REPLACE;
const ADD_DELETE_GET: AccessTypes =
    AccessTypes { add: true, copy: false, delete: true, exec: false, get: true, replace: false };
const ADD_REPLACE: AccessTypes =
    AccessTypes { add: true, copy: false, delete: false, exec: false, get: false, replace: true };
const TEXT: Option<&str> = Some("text/plain");

fn interior(
    name: &str,
    occurrence: Occurrence,
    access: AccessTypes,
    permanent: bool,
    d: &str,
    c: Vec<DdfNode>,
) -> DdfNode {
    node(name, Spec { format: Format::Node, occurrence, access, permanent, mime: None, description: d }, c)
}

fn leaf(
    name: &str,
    format: Format,
    occurrence: Occurrence,
    access: AccessTypes,
    permanent: bool,
    mime: Option<&str>,
    d: &str,
) -> DdfNode {
    node(name, Spec { format, occurrence, access, permanent, mime, description: d }, Vec::new())
}

/// The description of the MO root (`./M2MSIMMobj`) with everything below it: register it in a DM tree at
/// [`ROOT`].
#[must_use]
pub fn root_ddf() -> DdfNode {
    use Occurrence::{One, ZeroOrMore, ZeroOrOne};
    let exec = |name: &str, occ, d: &str| leaf(name, Format::Null, occ, AccessTypes::EXEC, false, None, d);
    let tre = interior(
        "TRE",
        One,
        GET,
        true,
        "The trusted environment holding the MCIMs (TR 33.812 §5.1.2).",
        vec![
            leaf("TREID", Format::Chr, One, GET, true, TEXT, "TRE / M2ME identity known to the PVA."),
            leaf(
                "PfC",
                Format::Bin,
                One,
                GET,
                true,
                None,
                "Platform credential: SubjectPublicKeyInfo DER of the TRE's P-256 key agreement key.",
            ),
            leaf(
                "PfCRef",
                Format::Chr,
                One,
                GET,
                true,
                TEXT,
                "Lowercase hex SHA-256 of PfC (64 characters).",
            ),
            leaf(
                "Algs",
                Format::Chr,
                One,
                GET,
                true,
                TEXT,
                "Supported MCIM protection algorithms, decimal codes, comma separated.",
            ),
            leaf(
                "ValidationNonce",
                Format::Bin,
                ZeroOrOne,
                GET_REPLACE,
                true,
                None,
                "Nonce the next ValidationData answers (freshness).",
            ),
            leaf(
                "ValidationData",
                Format::Bin,
                ZeroOrOne,
                GET,
                true,
                Some(VALIDATION_MIME_TYPE),
                "Signed validation report of the TRE for the PVA.",
            ),
        ],
    );
    let boot = interior(
        "Boot",
        ZeroOrOne,
        GET,
        false,
        "What the DRF's bootstrap message delivered (S3-090905 step 10).",
        vec![
            leaf(
                "PCID",
                Format::Chr,
                ZeroOrOne,
                GET,
                false,
                TEXT,
                "Provisional connectivity ID (IMSI format).",
            ),
            leaf("DPFAddr", Format::Chr, One, GET_REPLACE, false, TEXT, "URI of the DPF (DM server)."),
            leaf(
                "SHOAddr",
                Format::Chr,
                One,
                GET_REPLACE,
                false,
                TEXT,
                "URI or MCC-MNC of the selected home operator.",
            ),
            leaf(
                "MCIMProvCtx",
                Format::Bin,
                ZeroOrOne,
                GET_REPLACE,
                false,
                Some(PROV_CTX_MIME_TYPE),
                "MCIM provisioning context.",
            ),
            leaf(
                "M2MAppProvCtx",
                Format::Bin,
                ZeroOrOne,
                GET_REPLACE,
                false,
                None,
                "M2M application provisioning context (opaque).",
            ),
        ],
    );
    let mcim = interior(
        "",
        ZeroOrMore,
        ADD_DELETE_GET,
        false,
        "One MCIM; the name is chosen by the server (the MCIMID is recommended).",
        vec![
            leaf("MCIMID", Format::Chr, One, GET, false, TEXT, "MCIM identifier (decimal digits)."),
            leaf("SHOID", Format::Chr, One, GET, false, TEXT, "PLMN of the SHO as MCC-MNC."),
            leaf("Version", Format::Chr, ZeroOrOne, GET, false, TEXT, "Package format version."),
            leaf(
                "Data",
                Format::Bin,
                One,
                ADD_REPLACE,
                false,
                Some(MCIM_MIME_TYPE),
                "The protected MCIM package (write-only).",
            ),
            interior(
                "Operations",
                One,
                GET,
                false,
                "Operations on the MCIM; Exec answers 202 and a Generic Alert 1226 reports the result.",
                vec![
                    exec("Install", One, "Decrypt, verify and store in the TRE."),
                    exec("Activate", One, "Make this the active MCIM."),
                    exec("Deactivate", ZeroOrOne, "Stop using this MCIM."),
                    exec("Remove", ZeroOrOne, "Zeroise in the TRE and delete the subtree."),
                ],
            ),
            leaf(
                "State",
                Format::Int,
                One,
                GET,
                false,
                TEXT,
                "10 Delivered, 20 Installing, 30 Installed, 40 Active, 50 Inactive, 60 Failed.",
            ),
            leaf("Result", Format::Int, ZeroOrOne, GET, false, TEXT, "Result code of the last operation."),
            interior("Ext", ZeroOrOne, GET, false, "Vendor extensions.", Vec::new()),
        ],
    );
    let mut root = interior(
        ROOT_NAME,
        One,
        GET,
        true,
        "M2M SIM management object of TR 33.812 / S3-090905.",
        vec![
            tre,
            boot,
            interior("MCIMs", One, GET, true, "The MCIMs delivered to this M2ME.", vec![mcim]),
            interior("Ext", ZeroOrOne, GET, false, "Vendor extensions.", Vec::new()),
        ],
    );
    root.props_mut().df_type = Some(DfType::DdfName(MO_ID.to_owned()));
    root.path = Some(".".to_owned());
    root
}

/// The DDF document of the object (`MgmtTree`, VerDTD 1.2, one root node at `Path` `.`).
#[must_use]
pub fn ddf() -> MgmtTree {
    MgmtTree {
        ver_dtd: "1.2".to_owned(),
        man: Some("m2msim".to_owned()),
        model: None,
        nodes: vec![root_ddf()],
        extra: Vec::new(),
    }
}

// ----- DDF document emission -----------------------------------------------------------------------------

/// The DDF document as an element tree (DM DDF 1.2 language), written by the codec's DDF writer
/// ([`MgmtTree::to_tree`]).
#[must_use]
pub fn ddf_document() -> st::Document {
    ddf().to_tree()
}

/// The DOCTYPE line of a DDF 1.2 document.
pub const DDF_DOCTYPE: &str = r#"<!DOCTYPE MgmtTree PUBLIC "-//OMA//DTD-DM-DDF 1.2//EN" "http://www.openmobilealliance.org/tech/DTD/DM_DDF-V1_2.dtd">"#;

/// The DDF as XML text: declaration, DOCTYPE, elements indented by two spaces, final newline (the content
/// of `codec/mo/M2MSIMMobj.ddf`).
#[must_use]
pub fn ddf_xml() -> String {
    let profile = Profile { xml_style: XmlStyle::Indent(2), ..Profile::rtk() };
    // The RTK writer of an element tree does not fail (only the libwbxml flavour can).
    let body = ddf().to_xml(&profile).unwrap_or_default();
    let (decl, rest) = match body.find("?>") {
        Some(i) => body.split_at(i + 2),
        None => ("", body.as_str()),
    };
    format!("{decl}\n{DDF_DOCTYPE}\n{}\n", rest.trim_start())
}

/// The DDF as WBXML (RTK profile: WBXML 1.2, the DDF FPI in the string table, code page 2).
///
/// # Errors
/// A [`ModelError`] if an element had no token (cannot happen for this document; tested).
pub fn ddf_wbxml() -> Result<Vec<u8>, ModelError> {
    ddf().to_wbxml(&Profile::rtk())
}

#[cfg(test)]
mod tests;

//! The DM account management object in its two layouts, with typed access for the session engine.
//!
//! - DM 1.2 (OMA DM 1.2.1 StdObj §7.1.3.1, `urn:oma:mo:oma-dm-dmacc:1.0`): `./DMAcc/<x>/{AppID, ServerID,
//!   Name, PrefConRef, ToConRef/<x>/ConRef, AppAddr/<x>/{Addr, AddrType, Port/<x>/PortNbr}, AAuthPref,
//!   AppAuth/<x>/{AAuthLevel, AAuthType, AAuthName, AAuthSecret, AAuthData}, Ext}`.
//! - DM 1.1 (AOSP `TryProfile_1_1`; see `shared/spec/omadm.md` §3): `./SyncML/DMAcc/<x>/{Addr, AddrType,
//!   PortNbr, ConRef, ServerId, ServerPW, ServerNonce, UserName, ClientPW, ClientNonce, AuthPref, Name}`.
//!
//! Main items: [`DmAccount`] (read from either layout with [`DmAccount::read`] / [`DmAccount::all`] /
//! [`DmAccount::find`], written with [`DmAccount::write`]), [`Credentials`], [`Secret`], [`set_nonce`],
//! [`install`] and the descriptions [`ddf_dm12`], [`ddf_dm11`].
//!
//! Secrets: `AAuthSecret`, `ServerPW` and `ClientPW` have no Get in the DDF (StdObj: "No Get"), so no server
//! can read them and the tree marks them sensitive; [`Secret`] never prints in `Debug`, compares in constant
//! time and is zeroed on drop. Decisions: the nonces (`AAuthData`, StdObj "No Get"; and, by analogy,
//! `ServerNonce`/`ClientNonce` of DM 1.1) cannot be read by a server either. `AAuthData` holds the raw nonce
//! bytes (Format `bin`); the DM 1.1 nonces hold base64 text (Format `b64`). The CLCRED nonce is the one the
//! client uses in its next credential (the server's NextNonce); the SRVCRED nonce is the one the client
//! challenged the server with. A DM 1.1 account has one `AuthPref`, used as the type of both credentials;
//! when it is absent the type reads as `syncml:auth-md5` (the digest scheme DM servers expect).

use std::sync::Arc;

use m2msim_codec::dm::auth::{AuthType, decode_b64, encode_b64};
use m2msim_codec::dm::ddf::{AccessTypes, DdfNode, Format, Occurrence, Scope};
use m2msim_codec::syncml::codes::StatusCode;
use serde::{Deserialize, Serialize};

use super::{interior, leaf, mo_id, permanent};
use crate::tree::{Acl, AclCommand, DmTime, DmTree, TreeResult};

/// The MO identifier of a DM 1.2 account.
pub const URN: &str = "urn:oma:mo:oma-dm-dmacc:1.0";
/// The DM 1.2 accounts' parent.
pub const DM12_ROOT: &str = "./DMAcc";
/// The DM 1.1 accounts' parent.
pub const DM11_ROOT: &str = "./SyncML/DMAcc";
/// The `AppID` of a DM account (OMA CP registration `w7`).
pub const APP_ID: &str = "w7";

/// Which DMAcc layout an account lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// DM 1.2: `./DMAcc/<x>`.
    Dm12,
    /// DM 1.1: `./SyncML/DMAcc/<x>`.
    Dm11,
}

impl Layout {
    /// The URI of the accounts' parent node.
    #[must_use]
    pub const fn root(self) -> &'static str {
        match self {
            Self::Dm12 => DM12_ROOT,
            Self::Dm11 => DM11_ROOT,
        }
    }

    /// The DDF description of the accounts' parent node.
    #[must_use]
    pub fn ddf(self) -> DdfNode {
        match self {
            Self::Dm12 => ddf_dm12(),
            Self::Dm11 => ddf_dm11(),
        }
    }
}

const ADGR: AccessTypes = AccessTypes::ADD_DELETE_GET_REPLACE;
/// Add, Delete and Replace, no Get (secrets, nonces).
const NO_GET: AccessTypes =
    AccessTypes { add: true, copy: false, delete: true, exec: false, get: false, replace: true };

fn chr(name: &str, occurrence: Occurrence) -> DdfNode {
    leaf(name, Format::Chr, ADGR, occurrence)
}

/// The description of `./DMAcc` and its accounts (StdObj §7.1.3.1).
#[must_use]
pub fn ddf_dm12() -> DdfNode {
    use Occurrence::{One, OneOrMore, ZeroOrOne};
    let placeholder = |children| interior("", ADGR, OneOrMore, children);
    let account = mo_id(
        placeholder(vec![
            chr("AppID", One),
            chr("ServerID", One),
            chr("Name", ZeroOrOne),
            chr("PrefConRef", ZeroOrOne),
            interior("ToConRef", ADGR, ZeroOrOne, vec![placeholder(vec![chr("ConRef", One)])]),
            interior(
                "AppAddr",
                ADGR,
                One,
                vec![placeholder(vec![
                    chr("Addr", One),
                    chr("AddrType", One),
                    interior("Port", ADGR, ZeroOrOne, vec![placeholder(vec![chr("PortNbr", One)])]),
                ])],
            ),
            chr("AAuthPref", ZeroOrOne),
            interior(
                "AppAuth",
                ADGR,
                One,
                vec![placeholder(vec![
                    chr("AAuthLevel", One),
                    chr("AAuthType", One),
                    chr("AAuthName", ZeroOrOne),
                    leaf("AAuthSecret", Format::Chr, NO_GET, ZeroOrOne),
                    leaf("AAuthData", Format::Bin, NO_GET, ZeroOrOne),
                ])],
            ),
            interior("Ext", ADGR, ZeroOrOne, Vec::new()),
        ]),
        URN,
    );
    permanent(interior("DMAcc", AccessTypes::GET, One, vec![account]))
}

/// The description of `./SyncML/DMAcc` and its accounts (DM 1.1).
#[must_use]
pub fn ddf_dm11() -> DdfNode {
    use Occurrence::{One, ZeroOrMore, ZeroOrOne};
    let account = interior(
        "",
        ADGR,
        ZeroOrMore,
        vec![
            chr("Addr", One),
            chr("AddrType", ZeroOrOne),
            chr("PortNbr", ZeroOrOne),
            chr("ConRef", ZeroOrOne),
            chr("ServerId", One),
            leaf("ServerPW", Format::Chr, NO_GET, ZeroOrOne),
            leaf("ServerNonce", Format::B64, NO_GET, ZeroOrOne),
            chr("UserName", ZeroOrOne),
            leaf("ClientPW", Format::Chr, NO_GET, ZeroOrOne),
            leaf("ClientNonce", Format::B64, NO_GET, ZeroOrOne),
            chr("AuthPref", ZeroOrOne),
            chr("Name", ZeroOrOne),
        ],
    );
    permanent(interior("DMAcc", AccessTypes::GET, One, vec![account]))
}

/// Registers the DMAcc MO of `layout` and creates its (empty, permanent) parent node; for DM 1.1 also the
/// permanent `./SyncML`.
///
/// # Errors
/// A [`StatusCode`] when the tree refuses a node.
pub fn install(tree: &mut DmTree, layout: Layout, now: DmTime) -> TreeResult<()> {
    tree.register_mo(layout.root(), Arc::new(layout.ddf()), None)?;
    let mut l = tree.local(now);
    if layout == Layout::Dm11 {
        l.ensure_interior("./SyncML")?;
        l.set_scope("./SyncML", Scope::Permanent)?;
    }
    l.ensure_interior(layout.root())
}

pub use m2msim_codec::dm::auth::Secret;

/// Which side a credential authenticates (DM 1.2 `AAuthLevel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthLevel {
    /// `CLCRED`: the client authenticates itself to the server.
    Client,
    /// `SRVCRED`: the server authenticates itself to the client.
    Server,
}

impl AuthLevel {
    /// The `AAuthLevel` value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Client => "CLCRED",
            Self::Server => "SRVCRED",
        }
    }
}

/// One set of credentials of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// The authentication type (DM 1.2 `AAuthType` `BASIC`/`DIGEST`/`HMAC`…, DM 1.1 `AuthPref`).
    pub auth_type: AuthType,
    /// The user name (`AAuthName`; DM 1.1 `UserName` for the client, `ServerId` for the server).
    pub name: String,
    /// The password (`AAuthSecret`; DM 1.1 `ClientPW` / `ServerPW`).
    pub secret: Secret,
    /// The current nonce, raw bytes (`AAuthData`; DM 1.1 `ClientNonce` / `ServerNonce` decoded).
    #[serde(with = "m2msim_codec::hexser")]
    pub nonce: Vec<u8>,
}

/// A DM account (StdObj §7.1.3.1 / DM 1.1 DMAcc) as the session engine uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmAccount {
    /// The layout it lives in.
    pub layout: Layout,
    /// The account node's name (`<x>`).
    pub account: String,
    /// `ServerID` (DM 1.1 `ServerId`): the Server Identifier the ACLs name.
    pub server_id: String,
    /// `Name`: a user-displayable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The server address (`AppAddr/<x>/Addr`; DM 1.1 `Addr`).
    pub addr: String,
    /// `AddrType` (`URI`, `IPv4`, `IPv6`; absent means URI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr_type: Option<String>,
    /// The port (`AppAddr/<x>/Port/<x>/PortNbr`; DM 1.1 `PortNbr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `PrefConRef` (DM 1.1 `ConRef`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub con_ref: Option<String>,
    /// `AAuthPref` (DM 1.1 `AuthPref`) as stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_pref: Option<String>,
    /// The client's credentials (CLCRED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<Credentials>,
    /// The server's credentials (SRVCRED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<Credentials>,
}

/// The `AAuthType` name of an authentication type (StdObj §7.1.3.1.20).
#[must_use]
pub fn aauth_type_name(t: &AuthType) -> &str {
    match t {
        AuthType::Basic => "BASIC",
        AuthType::Md5 => "DIGEST",
        AuthType::Hmac => "HMAC",
        AuthType::Other(s) => s,
    }
}

/// Parses an `AAuthType` value (StdObj §7.1.3.1.20); names other than BASIC, DIGEST, HMAC are kept.
#[must_use]
pub fn parse_aauth_type(s: &str) -> AuthType {
    match s {
        "BASIC" => AuthType::Basic,
        "DIGEST" => AuthType::Md5,
        "HMAC" => AuthType::Hmac,
        other => AuthType::Other(other.to_owned()),
    }
}

fn text(tree: &DmTree, uri: &str) -> Option<String> {
    tree.text(uri).map(str::to_owned)
}

impl DmAccount {
    /// The account node's URI.
    #[must_use]
    pub fn uri(&self) -> String {
        format!("{}/{}", self.layout.root(), self.account)
    }

    /// Reads the account `account` of `layout` (`None` when absent or missing its ServerID or address).
    #[must_use]
    pub fn read(tree: &DmTree, layout: Layout, account: &str) -> Option<Self> {
        let base = format!("{}/{account}", layout.root());
        tree.node(&base)?;
        match layout {
            Layout::Dm12 => Self::read_dm12(tree, &base, account),
            Layout::Dm11 => Self::read_dm11(tree, &base, account),
        }
    }

    fn read_dm12(tree: &DmTree, base: &str, account: &str) -> Option<Self> {
        let addr_base = tree
            .children(&format!("{base}/AppAddr"))
            .into_iter()
            .map(|c| format!("{base}/AppAddr/{c}"))
            .find(|a| tree.text(&format!("{a}/Addr")).is_some())?;
        let port = tree
            .children(&format!("{addr_base}/Port"))
            .into_iter()
            .find_map(|p| tree.text(&format!("{addr_base}/Port/{p}/PortNbr"))?.trim().parse().ok());
        let mut client = None;
        let mut server = None;
        for a in tree.children(&format!("{base}/AppAuth")) {
            let ab = format!("{base}/AppAuth/{a}");
            let creds = || {
                Some(Credentials {
                    auth_type: parse_aauth_type(tree.text(&format!("{ab}/AAuthType"))?),
                    name: text(tree, &format!("{ab}/AAuthName")).unwrap_or_default(),
                    secret: Secret::new(tree.value(&format!("{ab}/AAuthSecret")).unwrap_or_default()),
                    nonce: tree.value(&format!("{ab}/AAuthData")).unwrap_or_default().to_vec(),
                })
            };
            match tree.text(&format!("{ab}/AAuthLevel")) {
                Some("CLCRED") if client.is_none() => client = creds(),
                Some("SRVCRED") if server.is_none() => server = creds(),
                _ => {}
            }
        }
        Some(Self {
            layout: Layout::Dm12,
            account: account.to_owned(),
            server_id: text(tree, &format!("{base}/ServerID"))?,
            name: text(tree, &format!("{base}/Name")),
            addr: text(tree, &format!("{addr_base}/Addr"))?,
            addr_type: text(tree, &format!("{addr_base}/AddrType")),
            port,
            con_ref: text(tree, &format!("{base}/PrefConRef")),
            auth_pref: text(tree, &format!("{base}/AAuthPref")),
            client,
            server,
        })
    }

    fn read_dm11(tree: &DmTree, base: &str, account: &str) -> Option<Self> {
        let server_id = text(tree, &format!("{base}/ServerId"))?;
        let auth_pref = text(tree, &format!("{base}/AuthPref"));
        let auth_type = auth_pref.as_deref().map_or(AuthType::Md5, AuthType::parse);
        let nonce =
            |leaf: &str| tree.text(&format!("{base}/{leaf}")).and_then(decode_b64).unwrap_or_default();
        let pw = |leaf: &str| tree.value(&format!("{base}/{leaf}"));
        let user = text(tree, &format!("{base}/UserName"));
        let client = (user.is_some() || pw("ClientPW").is_some()).then(|| Credentials {
            auth_type: auth_type.clone(),
            name: user.clone().unwrap_or_default(),
            secret: Secret::new(pw("ClientPW").unwrap_or_default()),
            nonce: nonce("ClientNonce"),
        });
        let server = pw("ServerPW").is_some().then(|| Credentials {
            auth_type: auth_type.clone(),
            name: server_id.clone(),
            secret: Secret::new(pw("ServerPW").unwrap_or_default()),
            nonce: nonce("ServerNonce"),
        });
        Some(Self {
            layout: Layout::Dm11,
            account: account.to_owned(),
            server_id,
            name: text(tree, &format!("{base}/Name")),
            addr: text(tree, &format!("{base}/Addr"))?,
            addr_type: text(tree, &format!("{base}/AddrType")),
            port: tree.text(&format!("{base}/PortNbr")).and_then(|p| p.trim().parse().ok()),
            con_ref: text(tree, &format!("{base}/ConRef")),
            auth_pref,
            client,
            server,
        })
    }

    /// Every account of both layouts (DM 1.2 first), in node-name order.
    #[must_use]
    pub fn all(tree: &DmTree) -> Vec<Self> {
        [Layout::Dm12, Layout::Dm11]
            .into_iter()
            .flat_map(|l| tree.children(l.root()).into_iter().filter_map(move |a| Self::read(tree, l, &a)))
            .collect()
    }

    /// The account of the server `server_id` (DM 1.2 layout first).
    #[must_use]
    pub fn find(tree: &DmTree, server_id: &str) -> Option<Self> {
        Self::all(tree).into_iter().find(|a| a.server_id == server_id)
    }

    /// Writes the account (device side, e.g. from a bootstrap), replacing any account node of the same name,
    /// and gives its server `Add`, `Delete`, `Get` and `Replace` on it (and nobody else). The DMAcc MO must
    /// be installed ([`install`]).
    ///
    /// # Errors
    /// A [`StatusCode`] when the tree refuses a node.
    pub fn write(&self, tree: &mut DmTree, now: DmTime) -> TreeResult<()> {
        let base = self.uri();
        let mut l = tree.local(now);
        match l.delete(&base) {
            Ok(()) | Err(StatusCode::NOT_FOUND) => {}
            Err(e) => return Err(e),
        }
        l.ensure_interior(&base)?;
        let sid = self.server_id.as_str();
        let acl = [AclCommand::Add, AclCommand::Delete, AclCommand::Get, AclCommand::Replace]
            .into_iter()
            .fold(Acl::empty(), |a, c| a.grant(c, sid));
        l.set_acl(&base, acl)?;
        let opt = |l: &mut crate::tree::LocalEdit<'_>, leaf: &str, v: &Option<String>| match v {
            Some(v) => l.set_text(&format!("{base}/{leaf}"), v),
            None => Ok(()),
        };
        match self.layout {
            Layout::Dm12 => {
                l.set_text(&format!("{base}/AppID"), APP_ID)?;
                l.set_text(&format!("{base}/ServerID"), sid)?;
                opt(&mut l, "Name", &self.name)?;
                opt(&mut l, "PrefConRef", &self.con_ref)?;
                l.set_text(&format!("{base}/AppAddr/1/Addr"), &self.addr)?;
                l.set_text(
                    &format!("{base}/AppAddr/1/AddrType"),
                    self.addr_type.as_deref().unwrap_or("URI"),
                )?;
                if let Some(p) = self.port {
                    l.set_text(&format!("{base}/AppAddr/1/Port/1/PortNbr"), &p.to_string())?;
                }
                opt(&mut l, "AAuthPref", &self.auth_pref)?;
                l.ensure_interior(&format!("{base}/AppAuth"))?;
                for (level, creds) in [(AuthLevel::Client, &self.client), (AuthLevel::Server, &self.server)] {
                    let Some(c) = creds else { continue };
                    let ab = format!("{base}/AppAuth/{}", level.as_str());
                    l.set_text(&format!("{ab}/AAuthLevel"), level.as_str())?;
                    l.set_text(&format!("{ab}/AAuthType"), aauth_type_name(&c.auth_type))?;
                    l.set_text(&format!("{ab}/AAuthName"), &c.name)?;
                    l.set_value(&format!("{ab}/AAuthSecret"), c.secret.expose().to_vec(), Format::Chr)?;
                    l.set_value(&format!("{ab}/AAuthData"), c.nonce.clone(), Format::Bin)?;
                }
            }
            Layout::Dm11 => {
                l.set_text(&format!("{base}/Addr"), &self.addr)?;
                opt(&mut l, "AddrType", &self.addr_type)?;
                if let Some(p) = self.port {
                    l.set_text(&format!("{base}/PortNbr"), &p.to_string())?;
                }
                opt(&mut l, "ConRef", &self.con_ref)?;
                l.set_text(&format!("{base}/ServerId"), sid)?;
                opt(&mut l, "Name", &self.name)?;
                let pref = self
                    .auth_pref
                    .clone()
                    .or_else(|| self.client.as_ref().map(|c| c.auth_type.as_str().to_owned()));
                opt(&mut l, "AuthPref", &pref)?;
                if let Some(c) = &self.client {
                    l.set_text(&format!("{base}/UserName"), &c.name)?;
                    l.set_value(&format!("{base}/ClientPW"), c.secret.expose().to_vec(), Format::Chr)?;
                    l.set_value(&format!("{base}/ClientNonce"), encode_b64(&c.nonce), Format::B64)?;
                }
                if let Some(c) = &self.server {
                    l.set_value(&format!("{base}/ServerPW"), c.secret.expose().to_vec(), Format::Chr)?;
                    l.set_value(&format!("{base}/ServerNonce"), encode_b64(&c.nonce), Format::B64)?;
                }
            }
        }
        Ok(())
    }
}

/// Stores a new nonce for the account of `server_id` (the engine calls this on each NextNonce): the CLCRED
/// nonce for [`AuthLevel::Client`], the SRVCRED nonce for [`AuthLevel::Server`].
///
/// # Errors
/// 404 when there is no such account or it has no credentials of that level.
pub fn set_nonce(
    tree: &mut DmTree,
    server_id: &str,
    level: AuthLevel,
    nonce: &[u8],
    now: DmTime,
) -> TreeResult<()> {
    let acc = DmAccount::find(tree, server_id).ok_or(StatusCode::NOT_FOUND)?;
    let base = acc.uri();
    match acc.layout {
        Layout::Dm12 => {
            let ab = tree
                .children(&format!("{base}/AppAuth"))
                .into_iter()
                .map(|a| format!("{base}/AppAuth/{a}"))
                .find(|ab| tree.text(&format!("{ab}/AAuthLevel")) == Some(level.as_str()))
                .ok_or(StatusCode::NOT_FOUND)?;
            tree.local(now).set_value(&format!("{ab}/AAuthData"), nonce.to_vec(), Format::Bin)
        }
        Layout::Dm11 => {
            let creds = match level {
                AuthLevel::Client => &acc.client,
                AuthLevel::Server => &acc.server,
            };
            if creds.is_none() {
                return Err(StatusCode::NOT_FOUND);
            }
            let leaf = match level {
                AuthLevel::Client => "ClientNonce",
                AuthLevel::Server => "ServerNonce",
            };
            tree.local(now).set_value(&format!("{base}/{leaf}"), encode_b64(nonce), Format::B64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{CommandCtx, ItemValue};

    const T: DmTime = DmTime(1_700_000_000);

    fn creds(t: AuthType, name: &str, secret: &str, nonce: &[u8]) -> Credentials {
        Credentials { auth_type: t, name: name.into(), secret: Secret::new(secret), nonce: nonce.to_vec() }
    }

    fn dm12() -> DmAccount {
        DmAccount {
            layout: Layout::Dm12,
            account: "dpf".into(),
            server_id: "dpf.example".into(),
            name: Some("Provisioning".into()),
            addr: "https://dpf.example/dm".into(),
            addr_type: Some("URI".into()),
            port: Some(443),
            con_ref: None,
            auth_pref: Some("DIGEST".into()),
            client: Some(creds(AuthType::Md5, "m2me-1", "OhBehave", &[1, 2, 3, 4])),
            server: Some(creds(AuthType::Hmac, "dpf.example", "srv-secret", b"Nonce")),
        }
    }

    fn dm11() -> DmAccount {
        DmAccount {
            layout: Layout::Dm11,
            account: "UltimateManagement".into(),
            server_id: "ultimate".into(),
            name: None,
            addr: "www.TheUltimateManagementServer.com".into(),
            addr_type: Some("URI".into()),
            port: Some(80),
            con_ref: Some("My_ISP".into()),
            auth_pref: Some("syncml:auth-md5".into()),
            client: Some(creds(AuthType::Md5, "Bruce2", "OhBehave", b"Nonce")),
            server: Some(creds(AuthType::Md5, "ultimate", "pw2", &[0, 0, 0, 0])),
        }
    }

    fn tree() -> DmTree {
        let mut t = DmTree::default();
        install(&mut t, Layout::Dm12, T).unwrap();
        install(&mut t, Layout::Dm11, T).unwrap();
        dm12().write(&mut t, T).unwrap();
        dm11().write(&mut t, T).unwrap();
        t
    }

    #[test]
    fn both_layouts_round_trip() {
        let t = tree();
        assert_eq!(DmAccount::read(&t, Layout::Dm12, "dpf"), Some(dm12()));
        assert_eq!(DmAccount::read(&t, Layout::Dm11, "UltimateManagement"), Some(dm11()));
        assert_eq!(DmAccount::all(&t), [dm12(), dm11()]);
        assert_eq!(DmAccount::find(&t, "ultimate"), Some(dm11()));
        assert_eq!(DmAccount::find(&t, "nobody"), None);
        assert_eq!(t.text("./DMAcc/dpf/AppID"), Some(APP_ID));
        assert_eq!(t.text("./DMAcc/dpf/AppAuth/CLCRED/AAuthType"), Some("DIGEST"));
        assert_eq!(t.text("./SyncML/DMAcc/UltimateManagement/ClientNonce"), Some("Tm9uY2U="));
        assert_eq!(t.node("./DMAcc/dpf").unwrap().props.node_type.as_deref(), Some(URN));
        assert!(t.node("./SyncML").unwrap().is_permanent() && t.node("./DMAcc").unwrap().is_permanent());
        // JSON form of an account round-trips (the secret as hex).
        let json = serde_json::to_string(&dm12()).unwrap();
        assert_eq!(serde_json::from_str::<DmAccount>(&json).unwrap(), dm12());
    }

    #[test]
    fn writing_again_replaces_the_account() {
        let mut t = tree();
        let mut a = dm12();
        a.server = None;
        a.port = None;
        a.write(&mut t, T).unwrap();
        assert_eq!(DmAccount::read(&t, Layout::Dm12, "dpf"), Some(a));
        assert!(t.node("./DMAcc/dpf/AppAuth/SRVCRED").is_none());
    }

    #[test]
    fn auth_type_names() {
        for (t, n) in [(AuthType::Basic, "BASIC"), (AuthType::Md5, "DIGEST"), (AuthType::Hmac, "HMAC")] {
            assert_eq!(aauth_type_name(&t), n);
            assert_eq!(parse_aauth_type(n), t);
        }
        assert_eq!(parse_aauth_type("HTTP-DIGEST"), AuthType::Other("HTTP-DIGEST".into()));
        assert_eq!(aauth_type_name(&AuthType::Other("X509".into())), "X509");
    }

    #[test]
    fn secrets_are_not_readable_by_servers_nor_printed() {
        let mut t = tree();
        let own = CommandCtx { server_id: "dpf.example", now: T };
        let other = CommandCtx { server_id: "intruder", now: T };
        // The account belongs to its server.
        assert!(t.get(&own, "./DMAcc/dpf/ServerID").is_ok());
        assert_eq!(t.get(&other, "./DMAcc/dpf/ServerID"), Err(StatusCode::PERMISSION_DENIED));
        assert_eq!(t.get(&other, "./DMAcc/dpf"), Err(StatusCode::PERMISSION_DENIED));
        // Even its own server cannot read the secret or the nonce, only replace them.
        for leaf in ["AAuthSecret", "AAuthData"] {
            let uri = format!("./DMAcc/dpf/AppAuth/CLCRED/{leaf}");
            assert_eq!(t.get(&own, &uri), Err(StatusCode::COMMAND_NOT_ALLOWED), "{leaf}");
        }
        for leaf in ["ServerPW", "ClientPW", "ServerNonce", "ClientNonce"] {
            let uri = format!("./SyncML/DMAcc/UltimateManagement/{leaf}");
            let c = CommandCtx { server_id: "ultimate", now: T };
            assert_eq!(t.get(&c, &uri), Err(StatusCode::COMMAND_NOT_ALLOWED), "{leaf}");
        }
        assert_eq!(
            t.replace(&own, "./DMAcc/dpf/AppAuth/CLCRED/AAuthSecret", &ItemValue::new("new-pw")),
            Ok(())
        );
        assert_eq!(DmAccount::find(&t, "dpf.example").unwrap().client.unwrap().secret, Secret::new("new-pw"));
        // Listing and copying leave them out / refuse.
        let listed = t.get(&own, "./DMAcc/dpf?list=StructData").unwrap();
        assert!(
            listed.iter().all(|i| !i.source.ends_with("AAuthSecret") && !i.source.ends_with("AAuthData"))
        );
        assert!(listed.iter().any(|i| i.source == "./DMAcc/dpf/AppAuth/CLCRED/AAuthName"));
        assert_eq!(
            t.copy(&own, "./DMAcc/dpf/Ext/x", "./DMAcc/dpf/AppAuth"),
            Err(StatusCode::COMMAND_NOT_ALLOWED)
        );
        // Debug output.
        let shown = format!("{t:?} {:?}", DmAccount::all(&t));
        for secret in ["new-pw", "srv-secret", "OhBehave", "pw2"] {
            assert!(!shown.contains(secret), "{secret} printed");
        }
        assert_eq!(format!("{:?}", Secret::new("x")), "<redacted>");
        assert_ne!(Secret::new("a"), Secret::new("b"));
    }

    #[test]
    fn nonces_are_stored_per_level() {
        let mut t = tree();
        set_nonce(&mut t, "dpf.example", AuthLevel::Client, b"next-1", T).unwrap();
        set_nonce(&mut t, "dpf.example", AuthLevel::Server, &[9; 16], T).unwrap();
        set_nonce(&mut t, "ultimate", AuthLevel::Client, b"c", T).unwrap();
        set_nonce(&mut t, "ultimate", AuthLevel::Server, &[0xff], T).unwrap();
        let a = DmAccount::find(&t, "dpf.example").unwrap();
        assert_eq!((a.client.unwrap().nonce, a.server.unwrap().nonce), (b"next-1".to_vec(), vec![9; 16]));
        let b = DmAccount::find(&t, "ultimate").unwrap();
        assert_eq!((b.client.unwrap().nonce, b.server.unwrap().nonce), (b"c".to_vec(), vec![0xff]));
        assert_eq!(t.node("./DMAcc/dpf/AppAuth/SRVCRED/AAuthData").unwrap().props.format, Format::Bin);
        assert_eq!(t.text("./SyncML/DMAcc/UltimateManagement/ServerNonce"), Some("/w=="));
        assert_eq!(set_nonce(&mut t, "nobody", AuthLevel::Client, b"x", T), Err(StatusCode::NOT_FOUND));
        let mut no_server = dm12();
        no_server.server = None;
        no_server.write(&mut t, T).unwrap();
        assert_eq!(set_nonce(&mut t, "dpf.example", AuthLevel::Server, b"x", T), Err(StatusCode::NOT_FOUND));
    }

    #[test]
    fn a_server_bootstraps_a_dm11_account_with_add() {
        // The shape of the libwbxml DM 1.1 bootstrap sample (`corpus/omadm/xml/libwbxml_syncml-012_…`): an
        // Add of the account node with Format node, then its leaves.
        let mut t = DmTree::default();
        install(&mut t, Layout::Dm11, T).unwrap();
        let c = CommandCtx { server_id: "ultimate", now: T };
        let base = "./SyncML/DMAcc/UltimateManagement";
        assert_eq!(t.add(&c, base, &ItemValue::interior()), Ok(()));
        assert_eq!(
            t.add(&c, &format!("{base}/Addr"), &ItemValue::new("www.TheUltimateManagementServer.com")),
            Ok(())
        );
        assert_eq!(DmAccount::read(&t, Layout::Dm11, "UltimateManagement"), None, "no ServerId yet");
        assert_eq!(t.add(&c, &format!("{base}/ServerId"), &ItemValue::new("ultimate")), Ok(()));
        assert_eq!(
            t.add(&c, &format!("{base}/Colour"), &ItemValue::new("red")),
            Err(StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED)
        );
        let acc = DmAccount::find(&t, "ultimate").unwrap();
        assert_eq!(
            (acc.addr.as_str(), acc.client, acc.server),
            ("www.TheUltimateManagementServer.com", None, None)
        );
        // Other parts of ./SyncML are outside the MO and unconstrained.
        assert_eq!(t.add(&c, "./SyncML/Con/My_ISP/PX/Addr", &ItemValue::new("123.123.123.123")), Ok(()));
    }
}

//! Builders for what every DM session sends (DM 1.2.1 Protocol §2.1–§2.4, §2.3.7; RepPro §6.6).

use serde::{Deserialize, Serialize};

use super::{
    Alert, AlertCode, Chal, Command, Cred, Data, DmVersion, Item, ItemCommand, Location, Meta, Results,
    Status, StatusCode, SyncHdr, SyncMl,
};
use crate::dm::auth::{self, AuthType};
use crate::dm::ddf::Format;

/// The `./DevInfo` values a client sends in package 1 (DM 1.2.1 StdObj §5.1, Protocol §2.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DevInfo {
    /// `./DevInfo/DevId` (e.g. `IMEI:493005100592800`).
    pub dev_id: String,
    /// `./DevInfo/Man`.
    pub man: String,
    /// `./DevInfo/Mod`.
    pub model: String,
    /// `./DevInfo/DmV`.
    pub dm_v: String,
    /// `./DevInfo/Lang`.
    pub lang: String,
}

impl DevInfo {
    /// `(URI, value)` of each leaf, in the order package 1 sends them.
    #[must_use]
    pub fn leaves(&self) -> [(&'static str, &str); 5] {
        [
            ("./DevInfo/DevId", &self.dev_id),
            ("./DevInfo/Man", &self.man),
            ("./DevInfo/Mod", &self.model),
            ("./DevInfo/DmV", &self.dm_v),
            ("./DevInfo/Lang", &self.lang),
        ]
    }
}

impl SyncHdr {
    /// A header for `version`: `VerDTD`/`VerProto` set, `Target` and `Source` `LocURI`s.
    #[must_use]
    pub fn new(
        version: DmVersion,
        session_id: impl Into<String>,
        msg_id: u32,
        target: impl Into<String>,
        source: impl Into<String>,
    ) -> Self {
        Self {
            ver_dtd: version.ver_dtd().to_owned(),
            ver_proto: version.ver_proto().to_owned(),
            session_id: session_id.into(),
            msg_id,
            target: Location::new(target),
            source: Location::new(source),
            ..Self::default()
        }
    }

    /// The header of an answer to a message with header `self`: same version and session, `Target` and
    /// `Source` swapped (without `LocName`), message `msg_id`.
    #[must_use]
    pub fn reply(&self, msg_id: u32) -> Self {
        Self {
            ver_dtd: self.ver_dtd.clone(),
            ver_proto: self.ver_proto.clone(),
            session_id: self.session_id.clone(),
            msg_id,
            target: Location::new(self.source.loc_uri.clone()),
            source: Location::new(self.target.loc_uri.clone()),
            ..Self::default()
        }
    }

    /// Sets the `Source` `LocName` (the user name of MD5 credentials) (builder style).
    #[must_use]
    pub fn with_source_name(mut self, name: impl Into<String>) -> Self {
        self.source.loc_name = Some(name.into());
        self
    }

    /// Sets `Cred` (builder style).
    #[must_use]
    pub fn with_cred(mut self, cred: Cred) -> Self {
        self.cred = Some(cred);
        self
    }

    /// Sets `RespURI` (builder style).
    #[must_use]
    pub fn with_resp_uri(mut self, uri: impl Into<String>) -> Self {
        self.resp_uri = Some(uri.into());
        self
    }

    /// Sets `Meta` `MaxMsgSize` (builder style).
    #[must_use]
    pub fn with_max_msg_size(mut self, n: u64) -> Self {
        self.meta.get_or_insert_with(Meta::default).max_msg_size = Some(n);
        self
    }

    /// Sets `Meta` `MaxObjSize` (builder style).
    #[must_use]
    pub fn with_max_obj_size(mut self, n: u64) -> Self {
        self.meta.get_or_insert_with(Meta::default).max_obj_size = Some(n);
        self
    }

    /// `MaxMsgSize` of the header's `Meta`.
    #[must_use]
    pub fn max_msg_size(&self) -> Option<u64> {
        self.meta.as_ref().and_then(|m| m.max_msg_size)
    }

    /// `MaxObjSize` of the header's `Meta`.
    #[must_use]
    pub fn max_obj_size(&self) -> Option<u64> {
        self.meta.as_ref().and_then(|m| m.max_obj_size)
    }
}

impl SyncMl {
    /// Package 1 (DM 1.2.1 Protocol §2.1.3): `Alert` `alert` (1201 client-initiated, 1200 after a package 0)
    /// with `CmdID` 1, then `Replace` (`CmdID` 2) of `./DevInfo/{DevId,Man,Mod,DmV,Lang}`, each item with
    /// `Meta` `Format` `chr` and `Type` `text/plain`; `Final`. Credentials and `MaxMsgSize`/`MaxObjSize`
    /// go in `hdr` ([`SyncHdr::with_cred`], [`SyncHdr::with_max_msg_size`]). More commands (a Generic
    /// Alert) can follow with [`SyncMl::with`].
    #[must_use]
    pub fn package1(hdr: SyncHdr, alert: AlertCode, dev_info: &DevInfo) -> Self {
        let items = dev_info
            .leaves()
            .into_iter()
            .map(|(uri, value)| {
                Item::default()
                    .with_source(uri)
                    .with_meta(Meta::new().with_format(Format::Chr).with_type("text/plain"))
                    .with_data(value)
            })
            .collect();
        Self::new(hdr).with(Alert::new(1, alert)).with(Command::Replace(ItemCommand {
            cmd_id: 2,
            items,
            ..ItemCommand::default()
        }))
    }
}

impl ItemCommand {
    /// A command with `CmdID` `cmd_id` and no items yet.
    #[must_use]
    pub fn new(cmd_id: u32) -> Self {
        Self { cmd_id, ..Self::default() }
    }

    /// Adds an item (builder style).
    #[must_use]
    pub fn with_item(mut self, item: Item) -> Self {
        self.items.push(item);
        self
    }

    /// Sets the command's `Meta` (builder style).
    #[must_use]
    pub fn with_meta(mut self, meta: Meta) -> Self {
        self.meta = Some(meta);
        self
    }

    /// The `Format` that applies to `item`'s `Data` (the item's own, else the command's).
    #[must_use]
    pub fn format_of<'a>(&'a self, item: &'a Item) -> Option<&'a str> {
        super::effective_format(item.meta.as_ref(), self.meta.as_ref())
    }
}

impl Item {
    /// Sets `Target` `LocURI` (builder style).
    #[must_use]
    pub fn with_target(mut self, uri: impl Into<String>) -> Self {
        self.target = Some(Location::new(uri));
        self
    }

    /// Sets `Source` `LocURI` (builder style).
    #[must_use]
    pub fn with_source(mut self, uri: impl Into<String>) -> Self {
        self.source = Some(Location::new(uri));
        self
    }

    /// Sets `Meta` (builder style).
    #[must_use]
    pub fn with_meta(mut self, meta: Meta) -> Self {
        self.meta = Some(meta);
        self
    }

    /// Sets `Data` (builder style).
    #[must_use]
    pub fn with_data(mut self, data: impl Into<Data>) -> Self {
        self.data = Some(data.into());
        self
    }

    /// An item of `Results` (RepPro §6.6.12, DM 1.2.1 Protocol §2.3): `Source` `source_uri`, `Meta`
    /// `Format`, `Type` (when given) and `Size`, `Data`.
    ///
    /// `Size` is the size of the data as sent: the UTF-8 length of text; for bytes the base64 length under
    /// `b64` (and in any encoding but raw `bin`), the raw length under `bin` (decision: TND §8.3.7.2 sends
    /// binary over XML as `b64`, so `bin` means raw `OPAQUE` in WBXML).
    #[must_use]
    pub fn result(source_uri: impl Into<String>, format: Format, type_: Option<&str>, data: Data) -> Self {
        let size = match &data {
            Data::Bytes(b) if format == Format::Bin => Some(b.len()),
            Data::Bytes(b) => Some(b.len().div_ceil(3) * 4),
            Data::Text(t) => Some(t.len()),
            Data::Document(_) | Data::Nodes(_) => None,
        };
        let mut meta = Meta::new().with_format(format);
        if let Some(t) = type_ {
            meta = meta.with_type(t);
        }
        meta.size = size.map(|s| s as u64);
        Self::default().with_source(source_uri).with_meta(meta).with_data(data)
    }

    /// An item of a Generic Alert (DM 1.2.1 Protocol §2.3.7.1): `Source` `LocURI` (when given), `Meta`
    /// `Type` (`Reversed-Domain-Name: …` or a bare URN such as FUMO's
    /// `org.openmobilealliance.dm.firmwareupdate.download`), `Format`, `Mark` (when given; the spec's default
    /// is `informational`), `Data`.
    #[must_use]
    pub fn generic_alert(
        source_uri: Option<&str>,
        type_: impl Into<String>,
        format: Format,
        mark: Option<&str>,
        data: impl Into<Data>,
    ) -> Self {
        let mut meta = Meta::new().with_type(type_).with_format(format);
        meta.mark = mark.map(str::to_owned);
        let it = Self { source: source_uri.map(Location::new), ..Self::default() };
        it.with_meta(meta).with_data(data)
    }
}

impl Alert {
    /// An alert with `code` and no items.
    #[must_use]
    pub fn new(cmd_id: u32, code: AlertCode) -> Self {
        Self {
            cmd_id,
            no_resp: false,
            cred: None,
            code,
            correlator: None,
            items: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// Alert 1222 "next message": more messages of this package are wanted (DM 1.2.1 Protocol §2.1.4).
    #[must_use]
    pub fn next_message(cmd_id: u32) -> Self {
        Self::new(cmd_id, AlertCode::NEXT_MESSAGE)
    }

    /// Alert 1223 "session abort".
    #[must_use]
    pub fn session_abort(cmd_id: u32) -> Self {
        Self::new(cmd_id, AlertCode::SESSION_ABORT)
    }

    /// Generic Alert 1226 (DM 1.2.1 Protocol §2.3.7.1) with the `Correlator` of the `Exec` it reports on
    /// (never invented: FUMO §10.2.2.3) and its items ([`Item::generic_alert`]).
    #[must_use]
    pub fn generic(cmd_id: u32, correlator: Option<String>, items: Vec<Item>) -> Self {
        Self { correlator, items, ..Self::new(cmd_id, AlertCode::GENERIC_ALERT) }
    }

    /// Adds an item (builder style).
    #[must_use]
    pub fn with_item(mut self, item: Item) -> Self {
        self.items.push(item);
        self
    }
}

impl Status {
    /// The `Status` of a received header (RepPro §6.6.15; DM 1.2.1 Protocol §2.4): `MsgRef` the header's
    /// `MsgID`, `CmdRef` 0, `Cmd` `SyncHdr`, `TargetRef` its `Target` and `SourceRef` its `Source` `LocURI`.
    /// Add a challenge with [`Status::with_chal`] (401/407, or the next nonce with 212).
    #[must_use]
    pub fn for_header(cmd_id: u32, received: &SyncHdr, code: StatusCode) -> Self {
        Self {
            cmd_id,
            msg_ref: received.msg_id,
            cmd_ref: 0,
            cmd: "SyncHdr".to_owned(),
            target_refs: vec![received.target.loc_uri.clone()],
            source_refs: vec![received.source.loc_uri.clone()],
            cred: None,
            chal: None,
            code,
            items: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// The `Status` of a received command of message `msg_ref`: `CmdRef`, `Cmd`, and `TargetRef`/`SourceRef`
    /// for the `Target`/`Source` of each of its items (for `Status` and `Results`, which get no status, the
    /// refs are left empty).
    #[must_use]
    pub fn for_command(cmd_id: u32, msg_ref: u32, command: &Command, code: StatusCode) -> Self {
        let items = command.items();
        Self {
            cmd_id,
            msg_ref,
            cmd_ref: command.cmd_id().unwrap_or(0),
            cmd: command.name().to_owned(),
            target_refs: items.iter().filter_map(|i| i.target_uri().map(str::to_owned)).collect(),
            source_refs: items.iter().filter_map(|i| i.source_uri().map(str::to_owned)).collect(),
            cred: None,
            chal: None,
            code,
            items: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// The `Status` of one item of a received command (one status per item, as the AOSP client answers a
    /// multi-item `Replace`).
    #[must_use]
    pub fn for_item(cmd_id: u32, msg_ref: u32, command: &Command, item: &Item, code: StatusCode) -> Self {
        Self {
            target_refs: item.target_uri().map(str::to_owned).into_iter().collect(),
            source_refs: item.source_uri().map(str::to_owned).into_iter().collect(),
            ..Self::for_command(cmd_id, msg_ref, command, code)
        }
    }

    /// Sets `Chal` (builder style).
    #[must_use]
    pub fn with_chal(mut self, chal: Chal) -> Self {
        self.chal = Some(chal);
        self
    }

    /// Adds an item (builder style; e.g. the answer to a UI alert).
    #[must_use]
    pub fn with_item(mut self, item: Item) -> Self {
        self.items.push(item);
        self
    }
}

impl Results {
    /// The `Results` of a received `Get` (`CmdRef` its `CmdID`) of message `msg_ref`.
    #[must_use]
    pub fn new(cmd_id: u32, msg_ref: Option<u32>, cmd_ref: u32, items: Vec<Item>) -> Self {
        Self { cmd_id, msg_ref, cmd_ref, items, ..Self::default() }
    }
}

impl Chal {
    /// A challenge for `syncml:auth-basic` (`Format` `b64`).
    #[must_use]
    pub fn basic() -> Self {
        Self {
            meta: Meta::new().with_type(AuthType::Basic.as_str()).with_format(Format::B64),
            extra: Vec::new(),
        }
    }

    /// A challenge for `syncml:auth-md5` with the nonce for the next credential (`Format` `b64`,
    /// `NextNonce`; RepPro DM usage §4.1.1.2).
    #[must_use]
    pub fn md5(nonce: impl Into<Vec<u8>>) -> Self {
        Self {
            meta: Meta::new()
                .with_type(AuthType::Md5.as_str())
                .with_format(Format::B64)
                .with_next_nonce(nonce),
            extra: Vec::new(),
        }
    }

    /// The authentication type asked for (`Meta` `Type`; basic when absent, RepPro §5.6).
    #[must_use]
    pub fn auth_type(&self) -> AuthType {
        self.meta.type_.as_deref().map_or(AuthType::Basic, AuthType::parse)
    }
}

impl Cred {
    /// `syncml:auth-basic` credentials (DM 1.2.1 Security §5.1.3.1): `Data` `user:password`, sent base64.
    #[must_use]
    pub fn basic(user: &str, password: &str) -> Self {
        Self {
            meta: Some(Meta::new().with_type(AuthType::Basic.as_str()).with_format(Format::B64)),
            data: Data::Bytes(format!("{user}:{password}").into_bytes()),
            extra: Vec::new(),
        }
    }

    /// `syncml:auth-md5` credentials (DM 1.2.1 Security §5.1.3.2): `Data` the digest
    /// `H(B64(H(user:password)):nonce)`, sent base64; the user name goes in the header's `Source`
    /// `LocName`.
    #[must_use]
    pub fn md5(user: &[u8], password: &[u8], nonce: &[u8]) -> Self {
        Self {
            meta: Some(Meta::new().with_type(AuthType::Md5.as_str()).with_format(Format::B64)),
            data: Data::Bytes(auth::md5_digest(user, password, nonce).to_vec()),
            extra: Vec::new(),
        }
    }

    /// The authentication type (`Meta` `Type`; basic when absent, RepPro §5.6).
    #[must_use]
    pub fn auth_type(&self) -> AuthType {
        self.meta.as_ref().and_then(|m| m.type_.as_deref()).map_or(AuthType::Basic, AuthType::parse)
    }

    /// The credential bytes: the decoded data under `Format` `b64`, else the text's bytes.
    #[must_use]
    pub fn data_bytes(&self) -> &[u8] {
        self.data.as_bytes().unwrap_or_default()
    }

    /// User and password of basic credentials (split at the first `:`).
    #[must_use]
    pub fn basic_user_password(&self) -> Option<(String, String)> {
        let s = std::str::from_utf8(self.data_bytes()).ok()?;
        let (u, p) = s.split_once(':')?;
        Some((u.to_owned(), p.to_owned()))
    }
}

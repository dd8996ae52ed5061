//! Applying an OMA DM plain-profile bootstrap message to the M2ME's management tree (OMA DM Bootstrap 1.2
//! §5.2, plain profile; S3-090905 step 11; m2m.md §3.4, `docs/m2msimmobj.md` §5).
//!
//! The DRF's message (`m2msim_m2m::Drf::bootstrap_with_auth`) is a SyncML DM 1.2 message of `Add` commands
//! on `./DMAcc/<x>` (the DPF's account, with its `AppAuth` credentials) and `./M2MSIMMobj/Boot/*`.
//! [`apply`] checks the whole message first and then writes it as a local edit (a bootstrap is not a
//! management command: no server's ACL applies), all or nothing. The caller verifies the message's K_boot
//! MAC (`m2msim_dm_client::tre::Tre::verify_bootstrap`) before calling it.
//!
//! Decisions (the dm-client crate has no bootstrap module yet, so this lives in the scenario):
//! - Only `Add` is accepted, and only under `./DMAcc/` and `./M2MSIMMobj/Boot`: a bootstrap that writes
//!   anywhere else is refused whole ([`BootstrapError::OutsideScope`]).
//! - `Format` `node` creates an interior node; `chr`/`int`/… text is stored with its Format; `b64` (and
//!   `bin`) data is stored as the decoded bytes, Format `bin` (what `AAuthData` holds).
//! - Every account written is then re-written through [`DmAccount::write`], which gives its `ServerID`
//!   `Add`, `Delete`, `Get` and `Replace` on it (and nobody else) and names its `AppAuth` entries by level.

use std::collections::BTreeSet;

use m2msim_codec::dm::ddf::Format;
use m2msim_codec::syncml::model::effective_format;
use m2msim_codec::syncml::{Command, Data, ModelError, StatusCode, SyncMl};
use m2msim_codec::xml::Mode;
use m2msim_dm_client::mo::dmacc::{DmAccount, Layout};
use m2msim_dm_client::tree::{DmTime, DmTree};

/// The DM account subtree a bootstrap may write (OMA DM 1.2.1 StdObj §7.1.3.1).
pub const DMACC_PREFIX: &str = "./DMAcc/";
/// The M2MSIMMobj subtree a bootstrap may write (`docs/m2msimmobj.md` §5).
pub const BOOT_ROOT: &str = m2msim_codec::mo::m2msimmobj::path::BOOT;

/// Why a bootstrap message was refused (nothing of it is applied).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BootstrapError {
    /// The message does not decode as SyncML DM.
    #[error("the bootstrap message does not decode: {0}")]
    Malformed(#[from] ModelError),
    /// A command other than `Add`.
    #[error("command {0} in a bootstrap (only Add is allowed)")]
    NotAdd(String),
    /// An `Add` item without a target.
    #[error("an Add item without a Target")]
    NoTarget,
    /// A target outside `./DMAcc/` and `./M2MSIMMobj/Boot`.
    #[error("Add {0}: outside ./DMAcc and ./M2MSIMMobj/Boot")]
    OutsideScope(String),
    /// Data that does not suit its Format (or an unknown Format).
    #[error("Add {0}: the data does not suit its Format")]
    BadData(String),
    /// The tree refused a node.
    #[error("Add {uri}: the tree refused it ({status})")]
    Refused {
        /// The node.
        uri: String,
        /// The tree's status.
        status: StatusCode,
    },
    /// The message holds no complete DM account (ServerID and address).
    #[error("the bootstrap holds no complete DM account")]
    NoAccount,
}

/// What a bootstrap wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The accounts, as read back (credentials included).
    pub accounts: Vec<DmAccount>,
    /// The nodes written, in order.
    pub nodes: Vec<String>,
}

enum Write {
    Interior(String),
    Leaf(String, Vec<u8>, Format),
}

fn in_scope(uri: &str) -> bool {
    let boot = uri == BOOT_ROOT || uri.strip_prefix(BOOT_ROOT).is_some_and(|r| r.starts_with('/'));
    let acc = uri.strip_prefix(DMACC_PREFIX).is_some_and(|r| !r.is_empty() && !r.contains(".."));
    (boot || acc) && !uri.contains("/../") && !uri.contains('?')
}

/// Checks and applies a plain-profile bootstrap message (XML or WBXML) to `tree` (see the module docs).
///
/// # Errors
/// [`BootstrapError`]: the message is refused whole when any command fails the checks; a tree refusal
/// during the write stops it there.
pub fn apply(tree: &mut DmTree, message: &[u8], now: DmTime) -> Result<Applied, BootstrapError> {
    let decoded = SyncMl::decode(message, Mode::Strict)?;
    let mut writes = Vec::new();
    for c in &decoded.message.body.commands {
        let Command::Add(add) = c else { return Err(BootstrapError::NotAdd(c.name().to_owned())) };
        for item in &add.items {
            let uri = item.target_uri().ok_or(BootstrapError::NoTarget)?.to_owned();
            if !in_scope(&uri) {
                return Err(BootstrapError::OutsideScope(uri));
            }
            let format = effective_format(item.meta.as_ref(), add.meta.as_ref()).unwrap_or("chr");
            let format = Format::parse(format).ok_or_else(|| BootstrapError::BadData(uri.clone()))?;
            let w = match (format, &item.data) {
                (Format::Node, _) => Write::Interior(uri),
                (Format::B64 | Format::Bin, Some(Data::Bytes(b))) => Write::Leaf(uri, b.clone(), Format::Bin),
                (f, Some(Data::Text(t))) => Write::Leaf(uri, t.clone().into_bytes(), f),
                (f, None) => Write::Leaf(uri, Vec::new(), f),
                _ => return Err(BootstrapError::BadData(uri)),
            };
            if let Write::Leaf(uri, v, f) = &w
                && !f.accepts(v)
            {
                return Err(BootstrapError::BadData(uri.clone()));
            }
            writes.push(w);
        }
    }
    // An account needs its ServerID and an address: checked before anything is written.
    let leaves: Vec<&str> = writes
        .iter()
        .filter_map(|w| match w {
            Write::Leaf(u, ..) => Some(u.as_str()),
            Write::Interior(_) => None,
        })
        .collect();
    let complete = |acc: &str| {
        let base = format!("{DMACC_PREFIX}{acc}/");
        let has =
            |pred: &dyn Fn(&str) -> bool| leaves.iter().any(|u| u.strip_prefix(&base).is_some_and(pred));
        has(&|r| r == "ServerID") && has(&|r| r.starts_with("AppAddr/") && r.ends_with("/Addr"))
    };
    let named: BTreeSet<String> = leaves
        .iter()
        .filter_map(|u| u.strip_prefix(DMACC_PREFIX).and_then(|r| r.split('/').next()).map(str::to_owned))
        .collect();
    if named.is_empty() || !named.iter().all(|a| complete(a)) {
        return Err(BootstrapError::NoAccount);
    }
    let mut nodes = Vec::new();
    let mut accounts = BTreeSet::new();
    {
        let mut l = tree.local(now);
        for w in writes {
            let (uri, r) = match w {
                Write::Interior(uri) => {
                    let r = l.ensure_interior(&uri);
                    (uri, r)
                }
                Write::Leaf(uri, v, f) => {
                    let r = l.set_value(&uri, v, f);
                    (uri, r)
                }
            };
            r.map_err(|status| BootstrapError::Refused { uri: uri.clone(), status })?;
            if let Some(acc) = uri.strip_prefix(DMACC_PREFIX).and_then(|r| r.split('/').next()) {
                accounts.insert(acc.to_owned());
            }
            nodes.push(uri);
        }
    }
    let mut read = Vec::new();
    for name in accounts {
        let acc = DmAccount::read(tree, Layout::Dm12, &name).ok_or(BootstrapError::NoAccount)?;
        acc.write(tree, now)
            .map_err(|status| BootstrapError::Refused { uri: format!("{DMACC_PREFIX}{name}"), status })?;
        read.push(acc);
    }
    if read.is_empty() {
        return Err(BootstrapError::NoAccount);
    }
    Ok(Applied { accounts: read, nodes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use m2msim_codec::syncml::tree::Profile;
    use m2msim_codec::syncml::{DmVersion, Item, ItemCommand, Meta, SyncBody, SyncHdr};

    fn message(adds: &[(&str, Option<Data>, &str)]) -> Vec<u8> {
        let commands = adds
            .iter()
            .enumerate()
            .map(|(i, (uri, data, fmt))| {
                let mut item = Item::default().with_target(*uri);
                if let Some(d) = data {
                    item = item.with_data(d.clone());
                }
                let meta = Meta { format: Some((*fmt).to_owned()), ..Meta::default() };
                Command::Add(ItemCommand::new(i as u32 + 1).with_item(item.with_meta(meta)))
            })
            .collect();
        let msg = SyncMl {
            hdr: SyncHdr::new(DmVersion::V1_2, "0", 1, "pcid", "drf"),
            body: SyncBody { commands, final_: true, ..SyncBody::default() },
            extra: Vec::new(),
        };
        msg.to_xml(&Profile::rtk()).unwrap().into_bytes()
    }

    fn tree() -> DmTree {
        let mut t = DmTree::default();
        m2msim_dm_client::mo::dmacc::install(&mut t, Layout::Dm12, DmTime(1)).unwrap();
        t
    }

    #[test]
    fn account_with_credentials_is_written_with_its_acl() {
        let m = message(&[
            ("./DMAcc/DPF", None, "node"),
            ("./DMAcc/DPF/ServerID", Some("dpf.example".into()), "chr"),
            ("./DMAcc/DPF/AppAddr/1/Addr", Some("https://dpf.example/dm".into()), "chr"),
            ("./DMAcc/DPF/AppAuth/1/AAuthLevel", Some("CLCRED".into()), "chr"),
            ("./DMAcc/DPF/AppAuth/1/AAuthType", Some("DIGEST".into()), "chr"),
            ("./DMAcc/DPF/AppAuth/1/AAuthName", Some("m2me".into()), "chr"),
            ("./DMAcc/DPF/AppAuth/1/AAuthSecret", Some("pw".into()), "chr"),
            ("./DMAcc/DPF/AppAuth/1/AAuthData", Some(Data::Bytes(vec![0, 1, 0xFF])), "b64"),
            ("./M2MSIMMobj/Boot/PCID", Some("001010000000001".into()), "chr"),
        ]);
        let mut t = tree();
        let a = apply(&mut t, &m, DmTime(2)).unwrap();
        assert_eq!(a.nodes.len(), 9);
        let acc = &a.accounts[0];
        assert_eq!(acc.server_id, "dpf.example");
        let c = acc.client.as_ref().unwrap();
        assert_eq!(
            (c.name.as_str(), c.secret.expose(), c.nonce.as_slice()),
            ("m2me", &b"pw"[..], &[0, 1, 0xFF][..])
        );
        assert_eq!(t.text("./M2MSIMMobj/Boot/PCID"), Some("001010000000001"));
        let found = DmAccount::find(&t, "dpf.example").unwrap();
        assert_eq!(found.client, acc.client);
    }

    #[test]
    fn refuses_writes_outside_its_scope_and_other_commands_whole() {
        let m = message(&[
            ("./DMAcc/DPF/ServerID", Some("x".into()), "chr"),
            ("./DevInfo/Man", Some("evil".into()), "chr"),
        ]);
        let mut t = tree();
        assert_eq!(apply(&mut t, &m, DmTime(2)), Err(BootstrapError::OutsideScope("./DevInfo/Man".into())));
        assert!(t.node("./DMAcc/DPF").is_none(), "nothing applied");
        let m = message(&[("./DMAcc/../DevInfo", None, "node")]);
        assert!(matches!(apply(&mut t, &m, DmTime(2)), Err(BootstrapError::OutsideScope(_))));
        let m = message(&[("./M2MSIMMobj/Bootx", None, "node")]);
        assert!(matches!(apply(&mut t, &m, DmTime(2)), Err(BootstrapError::OutsideScope(_))));
    }

    #[test]
    fn refuses_garbage_bad_formats_and_accountless_messages() {
        let mut t = tree();
        assert!(matches!(apply(&mut t, b"<SyncML>", DmTime(2)), Err(BootstrapError::Malformed(_))));
        let m = message(&[("./DMAcc/DPF/AAuthPref", Some("x".into()), "int")]);
        assert!(matches!(apply(&mut t, &m, DmTime(2)), Err(BootstrapError::BadData(_))));
        let m = message(&[("./DMAcc/DPF/AAuthPref", Some("x".into()), "nonsense")]);
        assert!(matches!(apply(&mut t, &m, DmTime(2)), Err(BootstrapError::BadData(_))));
        let m = message(&[("./M2MSIMMobj/Boot/PCID", Some("1".into()), "chr")]);
        assert_eq!(apply(&mut t, &m, DmTime(2)), Err(BootstrapError::NoAccount));
        assert!(t.node("./M2MSIMMobj/Boot/PCID").is_none(), "nothing applied");
        let m = message(&[("./DMAcc/DPF/ServerID", Some("x".into()), "chr")]);
        assert_eq!(apply(&mut t, &m, DmTime(2)), Err(BootstrapError::NoAccount), "no address");
    }
}

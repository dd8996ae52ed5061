//! The DevInfo management object (OMA DM 1.2.1 StdObj §7.1.3.2, `urn:oma:mo:oma-dm-devinfo:1.0`):
//! `./DevInfo/{DevId, Man, Mod, DmV, Lang, Ext}`, the device information a client sends in package 1.
//!
//! Main items: [`DevInfo`] (the values, with [`DevInfo::install`] and [`DevInfo::read`]) and [`ddf`].

use std::sync::Arc;

use m2msim_codec::dm::ddf::{AccessTypes, DdfNode, Format, Occurrence};
use serde::{Deserialize, Serialize};

use super::{interior, leaf, mo_id, permanent};
use crate::tree::{Acl, AclCommand, DmTime, DmTree, TreeResult};

/// The MO identifier.
pub const URN: &str = "urn:oma:mo:oma-dm-devinfo:1.0";
/// Where the MO lives.
pub const ROOT: &str = "./DevInfo";

/// The DDF description of `./DevInfo` (StdObj §7.1.3.2): five permanent Get-only `chr` leaves and an
/// optional `Ext`.
#[must_use]
pub fn ddf() -> DdfNode {
    let ro = |name: &str| permanent(leaf(name, Format::Chr, AccessTypes::GET, Occurrence::One));
    mo_id(
        permanent(interior(
            "DevInfo",
            AccessTypes::GET,
            Occurrence::One,
            vec![
                ro("DevId"),
                ro("Man"),
                ro("Mod"),
                ro("DmV"),
                ro("Lang"),
                interior("Ext", AccessTypes::GET, Occurrence::ZeroOrOne, Vec::new()),
            ],
        )),
        URN,
    )
}

/// The values of DevInfo (StdObj §7.1.3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevInfo {
    /// `DevId`: the unique device identifier (e.g. `IMEI:…`).
    pub dev_id: String,
    /// `Man`: manufacturer.
    pub man: String,
    /// `Mod`: model.
    pub model: String,
    /// `DmV`: the DM client version (e.g. `1.2`).
    pub dm_v: String,
    /// `Lang`: the current language (e.g. `en-US`).
    pub lang: String,
}

impl DevInfo {
    /// Registers the MO and writes its nodes (ACL `Get=*` on `./DevInfo`).
    ///
    /// # Errors
    /// A [`StatusCode`](m2msim_codec::syncml::codes::StatusCode) when the tree refuses a node (its URI
    /// limits are too small, or `./DevInfo` exists as a leaf).
    pub fn install(&self, tree: &mut DmTree, now: DmTime) -> TreeResult<()> {
        tree.register_mo(ROOT, Arc::new(ddf()), None)?;
        let mut l = tree.local(now);
        l.ensure_interior(ROOT)?;
        l.set_acl(ROOT, Acl::empty().grant(AclCommand::Get, "*"))?;
        l.set_text("./DevInfo/DevId", &self.dev_id)?;
        l.set_text("./DevInfo/Man", &self.man)?;
        l.set_text("./DevInfo/Mod", &self.model)?;
        l.set_text("./DevInfo/DmV", &self.dm_v)?;
        l.set_text("./DevInfo/Lang", &self.lang)
    }

    /// Reads the values back (`None` when a node is missing or not UTF-8).
    #[must_use]
    pub fn read(tree: &DmTree) -> Option<Self> {
        Some(Self {
            dev_id: tree.text("./DevInfo/DevId")?.to_owned(),
            man: tree.text("./DevInfo/Man")?.to_owned(),
            model: tree.text("./DevInfo/Mod")?.to_owned(),
            dm_v: tree.text("./DevInfo/DmV")?.to_owned(),
            lang: tree.text("./DevInfo/Lang")?.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use m2msim_codec::syncml::codes::StatusCode;

    use super::*;
    use crate::tree::{CommandCtx, ItemValue};

    const T: DmTime = DmTime(1_700_000_000);

    fn sample() -> DevInfo {
        DevInfo {
            dev_id: "IMEI:493005100592800".into(),
            man: "m2msim".into(),
            model: "M2ME-1".into(),
            dm_v: "1.2".into(),
            lang: "en-US".into(),
        }
    }

    #[test]
    fn install_read_and_serve() {
        let mut t = DmTree::default();
        sample().install(&mut t, T).unwrap();
        assert_eq!(DevInfo::read(&t), Some(sample()));
        let c = CommandCtx { server_id: "any", now: T };
        let r = t.get(&c, "./DevInfo").unwrap();
        assert_eq!(r[0].data.as_deref(), Some(&b"DevId/DmV/Lang/Man/Mod"[..]));
        assert_eq!(r[0].node_type.as_deref(), Some(URN));
        let r = t.get(&c, "./DevInfo/DevId").unwrap();
        assert_eq!((r[0].format, r[0].node_type.as_deref()), (Format::Chr, Some("text/plain")));
        // Read-only for servers: the ACL denies first, and the DDF would too.
        assert_eq!(t.replace(&c, "./DevInfo/Man", &ItemValue::new("x")), Err(StatusCode::PERMISSION_DENIED));
        t.local(T).set_acl(ROOT, Acl::parse("Add=*&Delete=*&Get=*&Replace=*").unwrap()).unwrap();
        assert_eq!(
            t.replace(&c, "./DevInfo/Man", &ItemValue::new("x")),
            Err(StatusCode::COMMAND_NOT_ALLOWED)
        );
        assert_eq!(t.delete(&c, "./DevInfo/Man"), Err(StatusCode::COMMAND_NOT_ALLOWED));
        assert_eq!(
            t.add(&c, "./DevInfo/Colour", &ItemValue::new("x")),
            Err(StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED)
        );
        assert!(t.node("./DevInfo/Man").unwrap().is_permanent());
        // Ext is an open extension point once the device has made it.
        assert_eq!(t.add(&c, "./DevInfo/Ext/v/x", &ItemValue::new("1")), Err(StatusCode::NOT_FOUND));
        t.local(T).ensure_interior("./DevInfo/Ext").unwrap();
        assert_eq!(t.add(&c, "./DevInfo/Ext/v/x", &ItemValue::new("1")), Ok(()));
    }
}

//! The DevDetail management object (OMA DM 1.2.1 StdObj §7.1.3.3, `urn:oma:mo:oma-dm-devdetail:1.0`):
//! `./DevDetail/{URI/{MaxDepth, MaxTotLen, MaxSegLen}, DevTyp, OEM, FwV, SwV, HwV, LrgObj, Ext, Bearer}`.
//!
//! Main items: [`DevDetail`] (the values, with [`DevDetail::install`] and [`DevDetail::read`]) and [`ddf`].
//! The `URI/*` leaves are written from the tree's own [`UriLimits`](crate::tree::UriLimits), so what the
//! device advertises is what it enforces.
//!
//! Decision: the `URI/*` leaves have Format `chr` (StdObj: "a 16 bit, unsigned integer encoded as a
//! numerical string"); the AOSP client uses `int`, which a server reads the same way.

use std::sync::Arc;

use m2msim_codec::dm::ddf::{AccessTypes, DdfNode, Format, Occurrence};
use serde::{Deserialize, Serialize};

use super::{interior, leaf, mo_id, permanent};
use crate::tree::{Acl, AclCommand, DmTime, DmTree, TreeResult};

/// The MO identifier.
pub const URN: &str = "urn:oma:mo:oma-dm-devdetail:1.0";
/// Where the MO lives.
pub const ROOT: &str = "./DevDetail";

/// The DDF description of `./DevDetail` (StdObj §7.1.3.3): permanent Get-only leaves, optional open `Ext`
/// and `Bearer`.
#[must_use]
pub fn ddf() -> DdfNode {
    let ro = |name: &str, format| permanent(leaf(name, format, AccessTypes::GET, Occurrence::One));
    mo_id(
        permanent(interior(
            "DevDetail",
            AccessTypes::GET,
            Occurrence::One,
            vec![
                permanent(interior(
                    "URI",
                    AccessTypes::GET,
                    Occurrence::One,
                    vec![
                        ro("MaxDepth", Format::Chr),
                        ro("MaxTotLen", Format::Chr),
                        ro("MaxSegLen", Format::Chr),
                    ],
                )),
                ro("DevTyp", Format::Chr),
                ro("OEM", Format::Chr),
                ro("FwV", Format::Chr),
                ro("SwV", Format::Chr),
                ro("HwV", Format::Chr),
                ro("LrgObj", Format::Bool),
                interior("Ext", AccessTypes::GET, Occurrence::ZeroOrOne, Vec::new()),
                interior("Bearer", AccessTypes::GET, Occurrence::ZeroOrOne, Vec::new()),
            ],
        )),
        URN,
    )
}

/// The values of DevDetail (StdObj §7.1.3.3) other than the URI limits, which come from the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevDetail {
    /// `DevTyp`: device type (e.g. `M2M module`).
    pub dev_typ: String,
    /// `OEM`: original equipment manufacturer.
    pub oem: String,
    /// `FwV`: firmware version.
    pub fw_v: String,
    /// `SwV`: software version.
    pub sw_v: String,
    /// `HwV`: hardware version.
    pub hw_v: String,
    /// `LrgObj`: whether the client supports large objects (Protocol §2.2).
    pub lrg_obj: bool,
}

impl DevDetail {
    /// Registers the MO and writes its nodes, `URI/*` from `tree.limits()` (ACL `Get=*` on the root).
    ///
    /// # Errors
    /// A [`StatusCode`](m2msim_codec::syncml::codes::StatusCode) when the tree refuses a node.
    pub fn install(&self, tree: &mut DmTree, now: DmTime) -> TreeResult<()> {
        let limits = tree.limits().uri;
        tree.register_mo(ROOT, Arc::new(ddf()), None)?;
        let mut l = tree.local(now);
        l.ensure_interior(ROOT)?;
        l.set_acl(ROOT, Acl::empty().grant(AclCommand::Get, "*"))?;
        l.set_text("./DevDetail/URI/MaxDepth", &limits.max_depth.to_string())?;
        l.set_text("./DevDetail/URI/MaxTotLen", &limits.max_tot_len.to_string())?;
        l.set_text("./DevDetail/URI/MaxSegLen", &limits.max_seg_len.to_string())?;
        l.set_text("./DevDetail/DevTyp", &self.dev_typ)?;
        l.set_text("./DevDetail/OEM", &self.oem)?;
        l.set_text("./DevDetail/FwV", &self.fw_v)?;
        l.set_text("./DevDetail/SwV", &self.sw_v)?;
        l.set_text("./DevDetail/HwV", &self.hw_v)?;
        l.set_value("./DevDetail/LrgObj", if self.lrg_obj { "true" } else { "false" }, Format::Bool)
    }

    /// Reads the values back (`None` when a node is missing or malformed).
    #[must_use]
    pub fn read(tree: &DmTree) -> Option<Self> {
        Some(Self {
            dev_typ: tree.text("./DevDetail/DevTyp")?.to_owned(),
            oem: tree.text("./DevDetail/OEM")?.to_owned(),
            fw_v: tree.text("./DevDetail/FwV")?.to_owned(),
            sw_v: tree.text("./DevDetail/SwV")?.to_owned(),
            hw_v: tree.text("./DevDetail/HwV")?.to_owned(),
            lrg_obj: match tree.text("./DevDetail/LrgObj")? {
                "true" => true,
                "false" => false,
                _ => return None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use m2msim_codec::syncml::codes::StatusCode;

    use super::*;
    use crate::tree::{CommandCtx, ItemValue, TreeLimits, UriLimits};

    const T: DmTime = DmTime(1_700_000_000);

    fn sample() -> DevDetail {
        DevDetail {
            dev_typ: "M2M module".into(),
            oem: "m2msim".into(),
            fw_v: "1.0.0".into(),
            sw_v: "0.1.0".into(),
            hw_v: "A".into(),
            lrg_obj: true,
        }
    }

    #[test]
    fn advertises_the_limits_it_enforces() {
        let limits =
            TreeLimits { uri: UriLimits { max_depth: 9, max_tot_len: 300, max_seg_len: 40 }, max_nodes: 500 };
        let mut t = DmTree::new(limits);
        sample().install(&mut t, T).unwrap();
        assert_eq!(DevDetail::read(&t), Some(sample()));
        let c = CommandCtx { server_id: "srv", now: T };
        let get = |t: &mut DmTree, u: &str| t.get(&c, u).unwrap().remove(0).data.unwrap();
        assert_eq!(get(&mut t, "./DevDetail/URI/MaxDepth"), b"9");
        assert_eq!(get(&mut t, "./DevDetail/URI/MaxTotLen"), b"300");
        assert_eq!(get(&mut t, "./DevDetail/URI/MaxSegLen"), b"40");
        assert_eq!(get(&mut t, "./DevDetail/LrgObj"), b"true");
        assert_eq!(t.node("./DevDetail/LrgObj").unwrap().props.format, Format::Bool);
        assert_eq!(get(&mut t, "./DevDetail?prop=Type"), URN.as_bytes());
        // What it advertises is enforced: a tenth segment is 414.
        assert_eq!(t.get(&c, "./a/b/c/d/e/f/g/h/i/j"), Err(StatusCode::URI_TOO_LONG));
        assert_eq!(
            t.replace(&c, "./DevDetail/FwV", &ItemValue::new("2")),
            Err(StatusCode::PERMISSION_DENIED)
        );
    }

    #[test]
    fn read_rejects_a_malformed_lrgobj() {
        let mut t = DmTree::default();
        sample().install(&mut t, T).unwrap();
        t.local(T).set_text("./DevDetail/LrgObj", "yes").unwrap();
        assert_eq!(DevDetail::read(&t), None);
    }
}

//! The standard management objects a DM client must support (OMA DM 1.2.1 StdObj §7.1.3): their DDF
//! descriptions and constructors that register them in a [`DmTree`](crate::tree::DmTree) and create their
//! nodes.
//!
//! - [`devinfo`]: DevInfo (`urn:oma:mo:oma-dm-devinfo:1.0`), sent in package 1.
//! - [`devdetail`]: DevDetail (`urn:oma:mo:oma-dm-devdetail:1.0`), including the tree's URI limits.
//! - [`dmacc`]: the DM account, DM 1.2 layout `./DMAcc/<x>` (`urn:oma:mo:oma-dm-dmacc:1.0`) and DM 1.1 layout
//!   `./SyncML/DMAcc/<x>`, with [`dmacc::DmAccount`] accessors and the nonce setter the engine uses.
//!
//! Decisions common to the descriptions (StdObj §7.1.1.2 lets an implementation extend access types and
//! restrict occurrences): the nodes the device fills in (DevInfo, DevDetail, the MO roots) are permanent and
//! Get-only; account nodes are Add/Delete/Get/Replace so a server can maintain its account; secrets have no
//! Get; text leaves carry the MIME type `text/plain`; `Ext` (and `Bearer`) have no child descriptions, which
//! leaves their subtrees open to vendor nodes.

pub mod devdetail;
pub mod devinfo;
pub mod dmacc;

use m2msim_codec::dm::ddf::{AccessTypes, DdfNode, DfProperties, DfType, Format, Occurrence, Scope};

/// A leaf description.
fn leaf(name: &str, format: Format, access: AccessTypes, occurrence: Occurrence) -> DdfNode {
    let df_type = match format {
        Format::Bin | Format::B64 | Format::Node => None,
        _ => Some(DfType::Mime("text/plain".to_owned())),
    };
    DdfNode {
        name: name.to_owned(),
        df_properties: Some(DfProperties {
            access_type: access,
            format,
            occurrence,
            df_type,
            ..DfProperties::default()
        }),
        children: Vec::new(),
        ..DdfNode::default()
    }
}

/// An interior description.
fn interior(name: &str, access: AccessTypes, occurrence: Occurrence, children: Vec<DdfNode>) -> DdfNode {
    DdfNode {
        name: name.to_owned(),
        df_properties: Some(DfProperties {
            access_type: access,
            format: Format::Node,
            occurrence,
            ..DfProperties::default()
        }),
        children,
        ..DdfNode::default()
    }
}

/// Marks a description permanent.
fn permanent(mut n: DdfNode) -> DdfNode {
    n.props_mut().scope = Some(Scope::Permanent);
    n
}

/// Sets the MO identifier (DDFName) of an MO root description.
fn mo_id(mut n: DdfNode, urn: &str) -> DdfNode {
    n.props_mut().df_type = Some(DfType::DdfName(urn.to_owned()));
    n
}

//! SyncML DM messages (OMA SyncML RepPro 1.2, DM 1.2.1 RepPro).
//!
//! - [`codes`]: status and alert codes.
//! - [`tree`]: the element tree both encodings (XML, WBXML) convert to and from, and the reference
//!   profiles (`libwbxml`, `rtk`) that write it byte for byte like those encoders.
//! - [`model`]: the typed message ([`SyncMl`], [`SyncHdr`], [`Command`], [`Status`], [`Item`], [`Meta`],
//!   [`Data`], …) with builders for what every DM session sends, reading and writing XML and WBXML
//!   ([`SyncMl::decode`], [`SyncMl::encode`]) and the dialect a peer writes ([`Wire`]).
//!
//! ```
//! use m2msim_codec::syncml::{AlertCode, DevInfo, DmVersion, SyncHdr, SyncMl, Wire};
//! use m2msim_codec::syncml::tree::Profile;
//!
//! let hdr = SyncHdr::new(DmVersion::V1_2, "1", 1, "https://dm.example.com/", "IMEI:493005100592800")
//!     .with_max_msg_size(16384);
//! let info = DevInfo { dev_id: "IMEI:493005100592800".into(), man: "m2msim".into(), model: "sim".into(),
//!                      dm_v: "1.2".into(), lang: "en".into() };
//! let pkg1 = SyncMl::package1(hdr, AlertCode::CLIENT_INITIATED_MGMT, &info);
//! let bytes = pkg1.encode(&Wire::wbxml(Profile::rtk())).unwrap();
//! let back = SyncMl::decode(&bytes, m2msim_codec::xml::Mode::Strict).unwrap();
//! assert_eq!(back.message, pkg1);
//! assert_eq!(back.wire, Wire::wbxml(Profile::rtk()));
//! ```

pub mod codes;
pub mod model;
pub mod tree;

pub use codes::{AlertCode, StatusCode};
pub use model::{
    Alert, Anchor, Chal, Command, CommandGroup, Cred, Data, Decoded, DevInfo, DmVersion, Encoding, Exec,
    Item, ItemCommand, Location, Mem, Meta, ModelError, NextNonce, Results, Status, SyncBody, SyncHdr,
    SyncMl, Wire,
};

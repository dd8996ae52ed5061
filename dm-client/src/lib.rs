//! # m2msim-dm-client
//!
//! The OMA DM (SyncML DM 1.2, also 1.1) client side of m2msim. This crate holds, so far:
//!
//! - [`tree`]: the management tree (OMA DM 1.2.1 TND): nodes and run-time properties, URIs with their
//!   limits, ACLs, validation against DDF descriptions, Atomic with an undo journal, plugins for MOs with
//!   behaviour (Exec, computed values, write hooks, Generic Alerts), TNDS output and snapshots.
//! - [`mo`]: the standard management objects of DM 1.2.1 StdObj as DDF descriptions and constructors:
//!   DevInfo, DevDetail, and the DM account in its DM 1.2 (`./DMAcc`) and DM 1.1 (`./SyncML/DMAcc`) layouts
//!   with typed accessors ([`mo::dmacc::DmAccount`]).
//! - [`session`]: the sans-IO session engine ([`session::DmClient`]: `handle_input` / `poll_output`) that
//!   runs client- and server-initiated (package 0) management sessions over the codec's SyncML model:
//!   authentication both ways (basic, md5, HMAC), every DM command on the tree, Atomic, UI alerts,
//!   MaxMsgSize packing and large objects both ways.
//! - [`tre`]: the simulated trusted environment of S3-090905 (platform credential, validation reports,
//!   protected MCIM store, the M2MSIMMobj Install/Activate/Deactivate/Remove plugin, AKA as a soft USIM).
//!
//! - [`net`]: the HTTP(S) adapter ([`net::run_session`]: one session against a server URL over hyper and
//!   rustls, with a transcript), [`store`]: the tree in a file replaced atomically (crash-safe), and
//!   [`provision`]: a DM account from a file or a plain-profile bootstrap message. The `dm-client` binary
//!   (`src/bin/dm-client.rs`) puts them on the command line.
//!
//! The engine and the tree do no I/O and read no clock (time is passed in, randomness is injected); only
//! [`net`] and [`store`] touch sockets and files.

#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod mo;
pub mod net;
pub mod provision;
pub mod session;
pub mod store;
pub mod tre;
pub mod tree;

//! # m2msim-dm-server
//!
//! The OMA DM (SyncML DM 1.2, also 1.1) server side of m2msim, sans-IO:
//!
//! - [`session`]: [`session::ServerSession`], the engine of one management session with one device:
//!   authentication (basic, MD5, HMAC), package 1, management packages within the client's message and
//!   object sizes (several messages per package, large objects both ways), outcomes, the end of the
//!   session. Bytes in, bytes out; time passed in; no I/O.
//! - [`operation`]: [`operation::Operation`]s (any management command, nested `Atomic`/`Sequence`, UI
//!   alerts) with builders ([`operation::cmd`]), and [`operation::OperationOutcome`]s.
//! - [`jobs`]: the [`jobs::OperationSource`] trait the engine takes operations from and reports outcomes
//!   to, and [`jobs::InMemoryJobQueue`].
//! - [`directory`]: the [`directory::DeviceDirectory`] trait (devices, credentials both ways, nonces) and
//!   [`directory::InMemoryDirectory`].
//! - [`nonce`]: the [`nonce::NonceSource`] trait and [`nonce::SeededNonces`].
//! - [`package0`]: package 0 (the server-alert notification) for a device.
//!
//! - [`store`]: the [`store::Store`] trait and [`store::SqliteStore`] (devices, operations, sessions and
//!   transcripts), behind the engine's two traits.
//! - [`net`]: the HTTP(S) server: [`net::spawn`] → [`net::ServerHandle`].
//! - [`admin`]: the admin API (JSON over HTTP, bearer token); [`http`]: a minimal HTTP client.
//! - [`peerfuzz`]: fuzzing a DM client under test (`dm-server fuzz`): mutated server packages, the
//!   client's answers classified, a report with reproducers.

pub mod admin;
pub mod bench;
pub mod directory;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod http;
pub mod jobs;
pub mod net;
pub mod nonce;
pub mod operation;
pub mod package0;
pub mod peerfuzz;
pub mod session;
pub mod store;

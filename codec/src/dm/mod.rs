//! Shared pieces of the OMA DM protocol that both the client and the server need (OMA DM 1.2.1):
//!
//! - [`auth`]: `syncml:auth-basic`, `syncml:auth-md5`, the `x-syncml-hmac` header, nonces.
//! - [`pkg0`]: the package 0 server-alert notification (trigger, digest).
//! - [`ddf`]: the typed Device Description Framework model (formats, access types, occurrence, scope) and
//!   the DDF / TNDS codec (`MgmtTree` in XML and WBXML code page 2).
//! - [`push`]: package 0 in a WSP push over WDP/SMS (single and concatenated SMS-DELIVERs, and back).

pub mod auth;
pub mod ddf;
pub mod pkg0;
pub mod push;

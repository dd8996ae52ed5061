//! SyncML DM messages (OMA SyncML RepPro 1.2, DM 1.2.1 RepPro).
//!
//! - [`codes`]: status and alert codes.

pub mod codes;

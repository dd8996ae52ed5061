//! SyncML DM messages (OMA SyncML RepPro 1.2, DM 1.2.1 RepPro).
//!
//! - [`codes`]: status and alert codes.
//! - [`tree`]: the element tree both encodings (XML, WBXML) convert to and from, and the reference
//!   profiles (`libwbxml`, `rtk`) that write it byte for byte like those encoders.

pub mod codes;
pub mod tree;

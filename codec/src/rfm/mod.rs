//! Remote command scripts of TS 102 226 (remote APDU structure for UICC based applications) and their
//! responses, as carried in the secured data of a TS 102 225 command packet and its PoR.
//!
//! - Compact format (§5.1): [`CompactScript`], a concatenation of commands in the T=0 shape
//!   ([`crate::apdu::CommandTpdu`]), read with an explicit [`P3Rule`] that says, per instruction, whether P3
//!   is Lc or Le; and [`CompactResponse`] (number of executed commands, last status word, last response data).
//! - Expanded format (§5.2): [`ExpandedScript`] (command scripting template `AA`, or `AE 80 … 00 00`) of
//!   [`CommandItem`]s (C-APDU `22`, immediate action `81`, error action `82`, script chaining `83`), and
//!   [`ExpandedResponse`] (response scripting template `AB` / `AF 80 … 00 00`) of [`ResponseItem`]s (number of
//!   executed commands `80`, R-APDU `23`, immediate action response `81`, script chaining response `83`, bad
//!   format `90`). Tags from TS 101 220 Tables 7.18–7.20.
//!
//! Everything is lossless: length forms of the templates and of each item, unknown items and their order
//! are kept. Which format a packet carries is not visible in the bytes: TS 102 226 §7 distinguishes them by
//! TAR, so the caller chooses the decoder.

mod compact;
mod expanded;

pub use compact::{CompactResponse, CompactScript, P3Rule};
pub use expanded::{
    BadFormat, CommandItem, ExpandedResponse, ExpandedScript, ResponseItem, ScriptChainingResponse,
};

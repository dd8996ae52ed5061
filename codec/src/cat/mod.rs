//! Card application toolkit (TS 102 223, with the 3GPP parts of TS 31.111): the objects an OTA flow needs
//! between terminal and UICC.
//!
//! Two layers:
//! - Lossless wire forms built on COMPREHENSION-TLVs ([`SimpleTlv`], TS 101 220 §7.1.1): [`ProactiveCommand`]
//!   (`D0`, TS 102 223 §6.6), [`Envelope`] (`D1`–`DF`, §7, with the `80 C2 00 00 Lc` C-APDU wrapper) and
//!   [`TerminalResponse`] (§6.8, with `80 14 00 00 Lc`). They keep every CR flag, tag format, length form,
//!   unknown object and the order of objects, so `encode(decode(b)) == b`.
//! - Zero-copy views of the receive path: [`EnvelopeRef`] (objects kept as their checked bytes, read as
//!   [`SimpleTlvRef`]s) and [`SmsPpDownloadRef`]; the owned decoders share their parsers.
//! - Typed views with canonical builders: [`SmsPpDownload`] (§7.1 / TS 31.111 §7.1.1), [`SendShortMessage`]
//!   (§6.6.9) and [`Refresh`] (§6.6.13), reached through [`ProactiveCommand::interpret`] or `from_*`.
//!
//! The simple TLV objects typed here (§8): command details `01`, device identities `02`, result `03` (with
//! the general results of §8.12 as [`GeneralResult`]), duration `04`, alpha identifier `05`, address `06`,
//! SMS TPDU `0B` (raw bytes: the TPDU codec is the `sms` module's), response length `11`, file list `12`
//! and AID `2F`; any other object is kept as its tag and bytes.

mod codes;
mod envelope;
mod objects;
mod proactive;
mod template;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod view_tests;

pub use codes::{
    CommandType, DeviceIdentity, EnvelopeTag, GeneralResult, NumberingPlan, RefreshMode, TimeUnit,
    TypeOfNumber,
};
pub use envelope::{SmsPpDownload, SmsPpDownloadRef};
pub use objects::{
    Address, AddressRef, Aid, AlphaIdentifier, CommandDetails, CommandResult, CommandResultRef,
    DeviceIdentities, Duration, FileList, FileListRef, FilePath, ResponseLength, SimpleTlv, SimpleTlvRef,
    SimpleTlvs, SimpleValue, SimpleValueRef, SmsTpdu, read_objects, tag, write_objects,
};
pub use proactive::{Proactive, Refresh, SendShortMessage};
pub use template::{
    Envelope, EnvelopeRef, INS_ENVELOPE, INS_FETCH, INS_TERMINAL_RESPONSE, PROACTIVE_COMMAND_TAG,
    ProactiveCommand, TerminalResponse,
};

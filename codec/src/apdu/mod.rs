//! APDUs of ISO/IEC 7816-4 §5.1 as used by the UICC (TS 102 221 §10) and the GSM SIM (TS 51.011 §9).
//!
//! - [`CommandApdu`]: header (`CLA INS P1 P2`) and body in every case 1, 2S/2E, 3S/3E, 4S/4E, keeping whether
//!   the short or the extended length fields were used, so that `encode(decode(b)) == b`.
//! - [`Cla`]: the class byte as given, with its classification as getters (interindustry, further
//!   interindustry, GSM `A0`, proprietary; logical channel, secure messaging, command chaining).
//! - [`CommandTpdu`]: a command as the T=0 protocol transmits it (ISO/IEC 7816-3 §12.2): a five-byte header
//!   whose `P3` is either Lc or Le, depending on the instruction. This is also the shape of each command of
//!   a TS 102 226 compact remote command script (see [`crate::rfm`]).
//! - [`ResponseApdu`] and [`StatusWord`]: response data and SW1 SW2, with names for the status words of
//!   ISO/IEC 7816-4 §5.1.3, TS 102 221 §10.2 and TS 51.011 §9.4.

mod cla;
mod codes;
mod command;
mod response;
mod status;
mod tpdu;

pub use cla::{Cla, ClaKind, SecureMessaging};
pub(crate) use codes::{code_enum, hex_u8_newtype, hexbyte};
pub use command::{ApduCase, CommandApdu};
pub use response::ResponseApdu;
pub use status::StatusWord;
pub use tpdu::{CommandTpdu, Direction, TpduBody};

/// Why a command could not be built (the values break a limit of ISO/IEC 7816-4 §5.1 or of T=0).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApduError {
    /// More command data than the length field can announce.
    #[error("command data of {len} byte(s) exceeds the maximum of {max}")]
    DataTooLong {
        /// Bytes of data given.
        len: usize,
        /// The limit (255 short / T=0, 65 535 extended).
        max: usize,
    },
    /// Ne (the maximum number of response bytes expected) outside 1..=65 536.
    #[error("Ne {ne} outside 1..=65536")]
    NeOutOfRange {
        /// The value given.
        ne: u32,
    },
    /// An APDU that needs extended length fields cannot be sent as one T=0 TPDU.
    #[error("extended-length APDU cannot be mapped onto one T=0 command TPDU")]
    ExtendedInT0,
}

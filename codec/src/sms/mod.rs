//! SMS transfer-layer PDUs of 3GPP TS 23.040 as they carry OTA secured packets (TS 31.115), lossless.
//!
//! Main types:
//! - TPDUs ([`tpdu`]): [`Deliver`], [`Submit`], [`DeliverReport`] (RP-ACK / RP-ERROR, MS→SC),
//!   [`StatusReport`], and [`Tpdu`] to decode by direction;
//! - fields: [`Address`] (TP-OA/DA/RA, BCD or alphanumeric), [`RpAddress`] (length in octets, RP layer and
//!   CAT Address TLV), [`Scts`], [`ValidityPeriod`], [`Pid`], [`Dcs`];
//! - user data: [`UserData`] (TP-UDL + TP-UD, kept raw after the header), [`Udh`] with typed [`Ie`]s, GSM
//!   7-bit packing in [`gsm7`];
//! - concatenation of secured packets ([`concat`](mod@concat)): [`concat::split`], [`concat::deliver_tpdus`],
//!   [`concat::Reassembler`].
//!
//! An SMS-DELIVER decode allocates only for its payloads (the UDH IE list and the body); addresses, time
//! stamps and the other fields are fixed-size. The zero-copy views [`DeliverRef`], [`SubmitRef`],
//! [`UserDataRef`] and [`UdhRef`] borrow those payloads instead and allocate nothing; the owned decoders
//! are built on their parsers, so both accept the same bytes with the same errors.

pub mod address;
pub mod concat;
pub mod fields;
pub mod gsm7;
pub mod tpdu;
pub mod udh;
pub mod user_data;

#[cfg(test)]
mod vector_tests;

pub use address::{Address, Npi, RpAddress, Ton, toa};
pub use fields::{Alphabet, Dcs, MessageClass, Pid, PidKind, Scts, ValidityPeriod};
pub use tpdu::{Deliver, DeliverRef, DeliverReport, RpKind, StatusReport, Submit, SubmitRef, Tpdu};
pub use udh::{Ie, IeRef, Udh, UdhRef};
pub use user_data::{UserData, UserDataRef};

/// Why an SMS value could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A character that is not a semi-octet digit (`0-9*#abc`, or `f`).
    #[error("{ch:?} is not an address digit (0-9 * # a b c)")]
    InvalidDigit {
        /// The character.
        ch: char,
    },
    /// An address longer than its field allows.
    #[error("address of {len} exceeds the maximum of {max}")]
    AddressTooLong {
        /// Its length (digits, semi-octets or octets, by address form).
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// An address value whose length does not match its length field.
    #[error("address value of {len} octets, the length field needs {expected}")]
    AddressValueLength {
        /// Octets given.
        len: usize,
        /// Octets the length field implies.
        expected: usize,
    },
    /// A character outside the GSM 7-bit default alphabet and its extension.
    #[error("{ch:?} is not in the GSM 7-bit default alphabet")]
    NotGsm7 {
        /// The character.
        ch: char,
    },
    /// User data longer than an SMS carries.
    #[error("user data of {len} exceeds the maximum of {max}")]
    UserDataTooLong {
        /// Its length (octets, or septets for GSM 7-bit).
        len: usize,
        /// The maximum (140 octets or 160 septets).
        max: usize,
    },
    /// A packet needing more than 255 concatenated segments.
    #[error("{needed} segments needed, at most {max}")]
    TooManySegments {
        /// Segments the packet needs.
        needed: usize,
        /// The maximum.
        max: usize,
    },
}

//! Secured packet framing of ETSI TS 102 225 and 3GPP TS 31.115 (formerly GSM 03.48 / TS 23.048), without
//! any cryptography: the `m2msim-scp80` crate ciphers and checksums on top of these types.
//!
//! Main types:
//! - header fields: [`Spi`] (with [`CounterMode`], [`Checksum`], [`PorRequest`], [`PorTransport`]),
//!   [`Kic`] / [`Kid`] (key version and algorithm), [`Tar`], [`Cntr`], [`PorStatus`];
//! - packets on the wire, per [`Transport`]: [`CommandPacket`] (CPL, CHL, SPI, KIc, KID, TAR + secured
//!   part; [`CommandPacketRef`] is its zero-copy view), [`ResponsePacket`] (RPL, RHL, TAR + secured
//!   part), the SMS-PP PoR user data
//!   [`ResponseUserData`] (`02 71 00` …), the TCP/IP [`IdentificationPacket`];
//! - plaintext views of the secured part: [`SecuredCommand`], [`SecuredResponse`];
//! - what the crypto layer needs: [`command_checksum_input`] / [`response_checksum_input`] (the exact
//!   octets an RC/CC/DS covers), [`padding_len`] and friends, [`SINGLE_SMS_PACKET_MAX`] and
//!   [`single_sms_capacity`].
//!
//! Sending a command (sketch): build a [`SecuredCommand::padded`] with a zero checksum placeholder, compute
//! the RC/CC over [`command_checksum_input`], store it, encode the secured part, cipher it if SPI1 b3 says
//! so, then [`CommandPacket::new`] and encode. Receiving: [`CommandPacket::decode_for`], decipher
//! [`CommandPacket::secured`], [`SecuredCommand::parse`] with the packet's CHL, recompute the checksum over
//! [`CommandPacket::checksum_input`] and compare.

mod fields;
mod keys;
mod packet;
mod secured;
mod spi;

#[cfg(test)]
mod vector_tests;

pub use fields::{Cntr, PorStatus, Tar};
pub use keys::{AlgorithmFamily, CcAlgorithm, CipherAlgorithm, Kic, Kid, KidAlgorithm, RcAlgorithm};
pub use packet::{
    CHL_FIXED, CommandHeader, CommandPacket, CommandPacketRef, IdentificationPacket, MAX_COMMAND_CHECKSUM,
    MAX_RESPONSE_CHECKSUM, PorUdh, RHL_FIXED, ResponsePacket, ResponseUserData, Transport,
};
pub use secured::{
    SecuredCommand, SecuredResponse, command_checksum_input, command_padding, padding_len,
    response_checksum_input, response_padding,
};
pub use spi::{Checksum, CounterMode, PorRequest, PorTransport, Spi};

/// Octets of TP-UD in one SMS (TS 23.040 §9.2.3.24: 140 octets of 8-bit data).
pub const SMS_USER_DATA_MAX: usize = 140;

/// The most packet octets (from the CPL) a single SMS carries: 140 − the UDH `02 70 00` = 137
/// (TS 31.115 §4). pySim accepts 140, which overflows the SMS; longer packets need concatenation
/// (`sms::concat`).
pub const SINGLE_SMS_PACKET_MAX: usize = SMS_USER_DATA_MAX - 3;

/// The most secured-data octets (before padding) a command packet can carry in a single SMS, for an
/// RC/CC/DS of `rc_cc_ds_len` octets and a cipher with `block_size`-octet blocks (0 or 1 = unciphered).
///
/// The packet is `CPL(2) CHL(1) SPI..TAR(7)` = 10 header octets plus the secured part
/// `CNTR PCNTR RC/CC/DS data padding`, which must be a whole number of blocks when ciphered.
/// Returns 0 when not even empty data fits.
#[must_use]
pub const fn single_sms_capacity(rc_cc_ds_len: usize, block_size: u8) -> usize {
    let room = SINGLE_SMS_PACKET_MAX - 10;
    let room = if block_size > 1 { room - room % block_size as usize } else { room };
    room.saturating_sub(6 + rc_cc_ds_len)
}

/// Why a packet could not be built (the builders never produce an unencodable packet).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The RC/CC/DS is longer than a one-octet CHL/RHL can announce.
    #[error("RC/CC/DS of {len} octets does not fit the header length octet (at most {max})")]
    ChecksumTooLong {
        /// Requested length.
        len: usize,
        /// Largest allowed.
        max: usize,
    },
    /// The secured part cannot hold CNTR, PCNTR (status) and the RC/CC/DS.
    #[error("secured part of {len} octets is shorter than the {needed} its header announces")]
    SecuredTooShort {
        /// Its length.
        len: usize,
        /// What CNTR, PCNTR (status) and the RC/CC/DS take.
        needed: usize,
    },
    /// The packet length does not fit the CPL/RPL field.
    #[error("packet length {len} exceeds the {max} its length field can hold")]
    PacketTooLong {
        /// The length.
        len: usize,
        /// Largest allowed.
        max: usize,
    },
    /// SMS-CB has no response packets.
    #[error("SMS-CB carries commands only")]
    NoResponseOnTransport,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Encode;

    #[test]
    fn single_sms_capacity_matches_the_packet_layout() {
        // Unciphered with an 8-byte CC: 137 - 10 - 14 = 113 data octets.
        assert_eq!(single_sms_capacity(8, 0), 113);
        // 3DES: 127 -> 120 ciphered octets -> 120 - 14 = 106.
        assert_eq!(single_sms_capacity(8, 8), 106);
        // AES: 127 -> 112 -> 98.
        assert_eq!(single_sms_capacity(8, 16), 98);
        for (rc, bs) in [(8usize, 8u8), (8, 16), (4, 16), (0, 0), (4, 8), (2, 8)] {
            let n = single_sms_capacity(rc, bs);
            let p = SecuredCommand::padded(Cntr::default(), rc, &vec![0; n], bs);
            let pkt = CommandPacket::new(Transport::SmsPp, CommandHeader::default(), rc, p.encode()).unwrap();
            assert!(pkt.fits_single_sms(), "{rc} {bs}");
            let p = SecuredCommand::padded(Cntr::default(), rc, &vec![0; n + 1], bs);
            let pkt = CommandPacket::new(Transport::SmsPp, CommandHeader::default(), rc, p.encode()).unwrap();
            assert!(!pkt.fits_single_sms(), "{rc} {bs}");
        }
        assert_eq!(single_sms_capacity(200, 0), 0);
    }
}

//! Secured packets on the sending side (the OTA server): securing command packets and verifying their
//! Proofs of Receipt (ETSI TS 102 225 §5.1, 3GPP TS 31.115 §4), on top of the framing of
//! [`m2msim_codec::ota`] and the ciphers and checksums of [`crate::crypto`]. The receiving side (the card)
//! is [`crate::card`].
//!
//! Main items:
//! - [`PacketKeys`]: resolves the expanded cipher a KIc names and the RC/CC a KID names. Implemented by
//!   [`Keyset`], [`Keysets`] (by the key version in the KIc/KID) and [`ExplicitKeys`] (keys with their
//!   algorithms given explicitly, as the test vectors and the CLI's `--kic-key`/`--kid-key` give them; the
//!   key version nibbles are then not checked, and implicit codings are served).
//! - [`secure_command_into`] / [`secure_command`]: a command packet for any [`Transport`] and any SPI. The
//!   RC/CC covers exactly the octets TS 102 225 §5.1.1 names (from the CPL, or from the CPI on CAT_TP,
//!   TCP/IP and USSD; the cipher padding and the final PCNTR included; the RC/CC field itself left out),
//!   then the KIc cipher runs over CNTR..end from a zero IV. The CPL is always written, ciphered or not
//!   (pySim drops it when ciphering is off; that is not a valid packet).
//! - [`CommandPlan`]: the fallible half of securing (key lookup, sizes) split from the infallible write, so
//!   that [`CommandSender`] reserves a counter only for a packet that will certainly be built.
//! - [`CommandSender`]: reserves the counter through a [`CounterStore`] (persisted before it is used), then
//!   secures; the [`SentCommand`] it returns has the SMS forms (single user data `02 70 00 …`, concatenated
//!   segments, SMS-DELIVER TPDUs) and verifies the PoR. [`CommandSender::send_into`] appends the packet to
//!   a caller's buffer instead.
//! - [`secure_response_into`]: a response packet (PoR) secured as SPI2 asks (the card side uses it).
//! - [`por`]: [`verify_por`] and its [`PorReport`]; [`verify_por_into`], which deciphers into a caller's
//!   buffer and gives a [`PorVerdict`] (no allocation per PoR).
//!
//! A whole round trip, OTA server and card (in memory):
//!
//! ```
//! use std::sync::Arc;
//! use m2msim_codec::ota::{CommandHeader, Kic, Kid, PorStatus, Spi, Tar, Transport};
//! use m2msim_scp80::card::{CardSecurity, Msl, TarTable};
//! use m2msim_scp80::counter::{CardId, MemoryCounterStore};
//! use m2msim_scp80::crypto::RustCryptoProvider;
//! use m2msim_scp80::keys::Keysets;
//! use m2msim_scp80::packet::{CommandSender, ResponseFormat};
//!
//! let key_file = r#"
//! [[keyset]]
//! kvn = 1
//! kic = { algorithm = "aes", key = "000102030405060708090a0b0c0d0e0f" }
//! kid = { algorithm = "aes-cmac", key = "101112131415161718191a1b1c1d1e1f" }
//! "#;
//! let tar = Tar([0xB0, 0x00, 0x10]);
//! // SPI 16 39: counter higher, ciphered, CC; PoR always, by SMS-SUBMIT, ciphered, with CC.
//! let header = CommandHeader { spi: Spi([0x16, 0x39]), kic: Kic(0x12), kid: Kid(0x12), tar };
//!
//! // The OTA server reserves the counter, then secures the script.
//! let server_keys = Keysets::from_toml(key_file, &RustCryptoProvider)?;
//! let server_counters = MemoryCounterStore::new();
//! let sender = CommandSender::new(&server_keys, &server_counters, CardId::new("card1")?);
//! let sent = sender.send(Transport::SmsPp, header, &[0xA0, 0xA4, 0x00, 0x00, 0x02, 0x7F, 0x20])?;
//! let sms_user_data = sent.user_data()?; // 02 70 00 …
//!
//! // The card checks, deciphers, runs the script (not shown) and answers.
//! let mut tars = TarTable::new();
//! tars.insert(tar, Msl(0x16), "RFM SIM");
//! let card = CardSecurity::new(
//!     CardId::new("card1")?,
//!     Keysets::from_toml(key_file, &RustCryptoProvider)?,
//!     tars,
//!     Arc::new(MemoryCounterStore::new()),
//! );
//! let outcome = card.process_user_data(&sms_user_data);
//! assert_eq!(outcome.status, PorStatus::Ok);
//! assert_eq!(outcome.data.as_deref(), Some(&[0xA0, 0xA4, 0x00, 0x00, 0x02, 0x7F, 0x20][..]));
//! let por = card.por(&outcome, &[0x01, 0x90, 0x00])?.expect("SPI2 asks for a PoR");
//!
//! // The server verifies and deciphers the PoR.
//! let report = sent.verify_por(&server_keys, &por.bytes, ResponseFormat::Auto)?;
//! assert!(report.trusted());
//! assert_eq!(report.data, [0x01, 0x90, 0x00]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Decisions:
//! - Counter key version ([`counter_kvn`]): the replay counter is kept per (card, KVN). The KVN is the
//!   KIc's when the command is ciphered, else the KID's when it carries a CC, else whichever of the two
//!   nibbles is a valid KVN (KIc first). Both sides use this rule.
//! - With counter mode `00` (no counter) the sender writes CNTR = 0 and reserves nothing; with every other
//!   mode it reserves the next value first.

use m2msim_codec::DecodeError;
use m2msim_codec::ota::{
    BuildError, CHL_FIXED, Checksum, Cntr, CommandHeader, CommandPacket, CounterMode, Kic, Kid, PorStatus,
    PorUdh, RHL_FIXED, SINGLE_SMS_PACKET_MAX, Spi, Tar, Transport, command_padding, response_padding,
};
use m2msim_codec::sms::address::Address;
use m2msim_codec::sms::concat::{self, ConcatRef};
use m2msim_codec::sms::fields::Scts;
use m2msim_codec::sms::tpdu::Deliver;
use m2msim_codec::sms::user_data::UserData;
use m2msim_codec::tlv::{LenForm, write_len};
use serde::{Deserialize, Serialize};

use crate::counter::{CardId, CounterError, CounterStore};
use crate::crypto::{
    ChecksumAlgorithm, ChecksumKind, CmacLen, CryptoError, ExpandedChecksum, ExpandedCipher,
    SecurityProvider, redundancy_check,
};
use crate::keys::{Keyset, Keysets, Kvn, SecretKey};

pub mod por;

pub use por::{
    ChecksumCheck, PorFinding, PorFindings, PorReport, PorVerdict, RemoteResponse, ResponseFormat,
    por_user_data_from_deliver_report, por_user_data_from_submit, verify_por, verify_por_into,
};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod vector_tests;

/// Errors of securing a packet or verifying a PoR.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PacketError {
    /// A key does not fit, an algorithm is reserved or unsupported, a KVN or algorithm does not match.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The key version in the KIc or KID names no keyset.
    #[error("no keyset with key version {kvn} (named by the {field})")]
    NoKeyset {
        /// "KIc" or "KID".
        field: &'static str,
        /// The nibble.
        kvn: u8,
    },
    /// The SPI asks for a digital signature, which TS 102 225 leaves to the implementation.
    #[error("the SPI asks for a digital signature (b2b1 = 11), which TS 102 225 leaves undefined")]
    DigitalSignature,
    /// The packet cannot be framed (length fields).
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The SMS user data or TPDU cannot be built.
    #[error(transparent)]
    Sms(#[from] m2msim_codec::sms::BuildError),
    /// A received packet does not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The counter store failed (or the counter is exhausted).
    #[error(transparent)]
    Counter(#[from] CounterError),
    /// The SPI asks for a counter but neither the KIc nor the KID names a key version to keep it under.
    #[error(
        "the SPI asks for a counter but neither KIc nor KID names a key version (1..=15) to keep it under"
    )]
    NoCounterKvn,
    /// The packet is too long for one SMS (use concatenation).
    #[error("a packet of {len} octets does not fit a single SMS (at most {max} after 02 70 00): concatenate")]
    TooLongForSms {
        /// The packet's length.
        len: usize,
        /// The most one SMS carries.
        max: usize,
    },
    /// An SMS form was asked of a packet on another transport.
    #[error("{what} applies to SMS-PP packets only")]
    NotSmsPp {
        /// What was asked.
        what: &'static str,
    },
}

/// Where the keys of a packet come from: the expanded cipher a KIc names and the RC/CC a KID names
/// (TS 102 225 §5.1.2, §5.1.3).
pub trait PacketKeys {
    /// The cipher for `kic` (its key version and algorithm).
    ///
    /// # Errors
    /// [`PacketError::NoKeyset`], [`PacketError::Crypto`] (KVN or algorithm mismatch, reserved coding).
    fn cipher(&self, kic: Kic) -> Result<&dyn ExpandedCipher, PacketError>;

    /// The RC (`kind` = redundancy check) or CC (`kind` = cryptographic checksum) for `kid`.
    ///
    /// # Errors
    /// As [`PacketKeys::cipher`]; [`PacketError::DigitalSignature`] for DS.
    fn checksum(&self, kid: Kid, kind: ChecksumKind) -> Result<&dyn ExpandedChecksum, PacketError>;
}

impl PacketKeys for Keyset {
    #[inline]
    fn cipher(&self, kic: Kic) -> Result<&dyn ExpandedCipher, PacketError> {
        Ok(self.cipher_for_kic(kic.0)?)
    }

    #[inline]
    fn checksum(&self, kid: Kid, kind: ChecksumKind) -> Result<&dyn ExpandedChecksum, PacketError> {
        if kind == ChecksumKind::DigitalSignature {
            return Err(PacketError::DigitalSignature);
        }
        Ok(self.checksum_for_kid(kid.0, kind)?)
    }
}

impl PacketKeys for Keysets {
    #[inline]
    // Lazy on purpose: building the error eagerly costs a PacketError drop per lookup (callgrind).
    #[allow(clippy::unnecessary_lazy_evaluations)]
    fn cipher(&self, kic: Kic) -> Result<&dyn ExpandedCipher, PacketError> {
        let ks = self
            .for_key_byte(kic.0)
            .ok_or_else(|| PacketError::NoKeyset { field: "KIc", kvn: kic.0 >> 4 })?;
        ks.cipher(kic)
    }

    /// A CRC the KID names explicitly needs no keyset (CRCs are keyless); everything else is looked up by
    /// the KID's key version.
    #[inline]
    // Lazy on purpose: building the error eagerly costs a PacketError drop per lookup (callgrind).
    #[allow(clippy::unnecessary_lazy_evaluations)]
    fn checksum(&self, kid: Kid, kind: ChecksumKind) -> Result<&dyn ExpandedChecksum, PacketError> {
        match self.for_key_byte(kid.0) {
            Some(ks) => ks.checksum(kid, kind),
            None => {
                keyless_rc(kid, kind)?.ok_or_else(|| PacketError::NoKeyset { field: "KID", kvn: kid.0 >> 4 })
            }
        }
    }
}

/// The static CRC for an RC whose KID names CRC16 or CRC32 explicitly; `Ok(None)` when the KID needs a
/// key (implicit RC, or a CC).
#[inline]
fn keyless_rc(kid: Kid, kind: ChecksumKind) -> Result<Option<&'static dyn ExpandedChecksum>, PacketError> {
    match kind {
        ChecksumKind::DigitalSignature => Err(PacketError::DigitalSignature),
        ChecksumKind::CryptographicChecksum => Ok(None),
        ChecksumKind::RedundancyCheck => {
            Ok(ChecksumAlgorithm::from_kid(kid.0, kind, CmacLen::Eight)?.and_then(redundancy_check))
        }
    }
}

/// Keys given with their algorithms, whatever the KIc/KID bytes say about key versions (test vectors, the
/// CLI's `--kic-key`/`--kid-key`, legacy cards with implicit algorithms).
///
/// [`PacketKeys::cipher`] always gives the configured cipher. [`PacketKeys::checksum`] gives, for an RC,
/// the CRC the KID names (or the configured checksum when the KID says "implicit" and it is a CRC), and
/// for a CC the configured checksum when it is one.
#[derive(Debug, Default)]
pub struct ExplicitKeys {
    cipher: Option<Box<dyn ExpandedCipher>>,
    checksum: Option<Box<dyn ExpandedChecksum>>,
}

impl ExplicitKeys {
    /// Expands the given keys with `provider`. `cipher` is the KIc algorithm and key; `checksum` the KID
    /// algorithm and key (`None` for the CRCs).
    ///
    /// # Errors
    /// The provider's errors (key length, unsupported algorithm).
    pub fn new(
        provider: &dyn SecurityProvider,
        cipher: Option<(crate::crypto::CipherAlgorithm, &SecretKey)>,
        checksum: Option<(ChecksumAlgorithm, Option<&SecretKey>)>,
    ) -> Result<Self, CryptoError> {
        Ok(Self {
            cipher: cipher.map(|(a, k)| provider.expand_cipher(a, k)).transpose()?,
            checksum: checksum.map(|(a, k)| provider.expand_checksum(a, k)).transpose()?,
        })
    }
}

impl PacketKeys for ExplicitKeys {
    // Lazy on purpose: building the error eagerly costs a PacketError drop per lookup (callgrind).
    #[allow(clippy::unnecessary_lazy_evaluations)]
    fn cipher(&self, _kic: Kic) -> Result<&dyn ExpandedCipher, PacketError> {
        self.cipher
            .as_deref()
            .ok_or_else(|| PacketError::Crypto(CryptoError::MissingKey { algorithm: "the KIc cipher" }))
    }

    fn checksum(&self, kid: Kid, kind: ChecksumKind) -> Result<&dyn ExpandedChecksum, PacketError> {
        if let Some(crc) = keyless_rc(kid, kind)? {
            return Ok(crc);
        }
        let what = match kind {
            ChecksumKind::RedundancyCheck => "an implicit redundancy check",
            _ => "the KID cryptographic checksum",
        };
        match self.checksum.as_deref() {
            Some(c) if c.algorithm().kind() == kind => Ok(c),
            Some(c) => Err(PacketError::Crypto(CryptoError::AlgorithmMismatch {
                field: "KID",
                configured: c.algorithm().name(),
                requested: what,
            })),
            None => Err(PacketError::Crypto(CryptoError::MissingKey { algorithm: what })),
        }
    }
}

/// The RC/CC a `checksum` field (SPI1 b2b1 or SPI2 b4b3) asks for, resolved through `keys`.
#[inline]
pub(crate) fn resolve_checksum<K: PacketKeys + ?Sized>(
    keys: &K,
    checksum: Checksum,
    kid: Kid,
) -> Result<Option<&dyn ExpandedChecksum>, PacketError> {
    match checksum {
        Checksum::None => Ok(None),
        Checksum::Rc => keys.checksum(kid, ChecksumKind::RedundancyCheck).map(Some),
        Checksum::Cc => keys.checksum(kid, ChecksumKind::CryptographicChecksum).map(Some),
        Checksum::Ds => Err(PacketError::DigitalSignature),
    }
}

/// The block length of a cipher as the padding functions take it.
#[inline]
pub(crate) fn block_of(cipher: &dyn ExpandedCipher) -> Result<u8, PacketError> {
    match u8::try_from(cipher.block_len()) {
        Ok(b) if b > 1 => Ok(b),
        _ => Err(PacketError::Crypto(CryptoError::Unsupported { what: "a cipher without a block length" })),
    }
}

/// True when a received RC/CC field of `received` octets fits `checksum`: its own length, or 4 octets for
/// an AES-CMAC computed at 8 (TS 102 225 §5.1.3: AES-CMAC-32 is the leftmost 4 octets of the same tag, and
/// the receiver takes the length from the CHL/RHL).
#[inline]
pub(crate) fn field_len_fits(checksum: &dyn ExpandedChecksum, received: usize) -> bool {
    received == checksum.field_len()
        || (matches!(checksum.algorithm(), ChecksumAlgorithm::AesCmac { .. })
            && received == 4
            && checksum.field_len() == 8)
}

/// A received RC/CC field length that [`field_len_fits`] accepted for its checksum, as [`fitting_len`]
/// gives it: [`verify_field`] takes one, so that no caller can skip the length check and none pays for it
/// twice (the card checks it at step 4, long before the RC/CC is computed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FittingLen(usize);

/// The [`FittingLen`] of a received RC/CC field of `received` octets for `checksum`; `None` when
/// [`field_len_fits`] refuses it.
#[inline]
pub(crate) fn fitting_len(checksum: &dyn ExpandedChecksum, received: usize) -> Option<FittingLen> {
    field_len_fits(checksum, received).then_some(FittingLen(received))
}

/// Checks a received RC/CC, of the length `len` accepted for `checksum`, in constant time.
#[inline]
pub(crate) fn verify_field(
    checksum: &dyn ExpandedChecksum,
    parts: &[&[u8]],
    received: &[u8],
    len: FittingLen,
) -> bool {
    if received.len() != len.0 {
        return false;
    }
    let computed = checksum.compute(parts);
    ct_eq_prefix(computed.as_bytes(), received)
}

/// The RC/CC input of a received packet from its pieces: `head` (the octets before the secured part: CPL
/// or UDH/RPL up to the TAR), `fixed` (CNTR, PCNTR and, in a PoR, the status, in plaintext) and the
/// padded data after the RC/CC field. When `head` and `fixed` make exactly one 16-octet block (SMS-PP:
/// 10 + 6 octets for a command, 9 + 7 for a PoR) they are joined into `first` with fixed-size copies, so
/// that the checksum reads one whole block instead of assembling it from two pieces; otherwise the pieces
/// are given as they are. The octets covered are the same either way.
#[inline]
pub(crate) fn checksum_parts<'a>(
    first: &'a mut [u8; 16],
    head: &'a [u8],
    fixed: &'a [u8],
    padded: &'a [u8],
) -> [&'a [u8]; 3] {
    let joined = match (head.len(), fixed.len()) {
        (10, 6) => match (first.split_first_chunk_mut::<10>(), head.first_chunk::<10>()) {
            (Some((a, b)), Some(h)) => {
                *a = *h;
                b.copy_from_slice(fixed);
                true
            }
            _ => false,
        },
        (9, 7) => match (first.split_first_chunk_mut::<9>(), head.first_chunk::<9>()) {
            (Some((a, b)), Some(h)) => {
                *a = *h;
                b.copy_from_slice(fixed);
                true
            }
            _ => false,
        },
        _ => false,
    };
    if joined { [&first[..], &[], padded] } else { [head, fixed, padded] }
}

/// Constant-time check that `received` (at most 8 octets) equals the first `received.len()` octets of
/// `computed`: both are read as zero-extended `u64`s and compared with `subtle` once (the per-octet
/// `subtle` slice comparison costs a barrier per octet). Lengths are public (the CHL/RHL says them).
#[inline]
pub(crate) fn ct_eq_prefix(computed: &[u8], received: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    match computed.get(..received.len()) {
        Some(c) if received.len() <= 8 => bool::from(load_u64(c).ct_eq(&load_u64(received))),
        _ => false,
    }
}

/// Up to 8 octets as a little-endian `u64` (the RC/CC lengths 8, 4 and 2 without a loop).
#[inline]
fn load_u64(s: &[u8]) -> u64 {
    if let Ok(a) = <[u8; 8]>::try_from(s) {
        u64::from_le_bytes(a)
    } else if let Ok(a) = <[u8; 4]>::try_from(s) {
        u64::from(u32::from_le_bytes(a))
    } else {
        s.iter().take(8).rev().fold(0, |v, b| (v << 8) | u64::from(*b))
    }
}

/// The key version a packet's replay counter is kept under (see the module docs); `None` when no nibble
/// is a valid KVN.
#[must_use]
pub fn counter_kvn(header: &CommandHeader) -> Option<Kvn> {
    let kic = Kvn::of_key_byte(header.kic.0).ok();
    let kid = Kvn::of_key_byte(header.kid.0).ok();
    if header.spi.ciphered() {
        kic
    } else if header.spi.checksum() == Checksum::Cc {
        kid
    } else {
        kic.or(kid)
    }
}

/// Where a command packet's parts are, as [`frame_command`] finds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CommandFrame {
    /// SPI, KIc, KID, TAR.
    pub(crate) header: CommandHeader,
    /// The RC/CC/DS length the CHL announces (CHL − 13).
    pub(crate) rc_len: usize,
    /// Offset of CNTR, the first octet of the secured part.
    pub(crate) secured_at: usize,
}

/// Reads the packet length (CPI/RPI and CPL/RPL) and checks that it frames the rest of `bytes` exactly;
/// returns the offset after it.
fn frame_length(bytes: &[u8], identifier: Option<u8>) -> Option<usize> {
    let (len, at) = match identifier {
        None => (usize::from(u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?])), 2),
        Some(id) => {
            if *bytes.first()? != id {
                return None;
            }
            let mut r = m2msim_codec::Reader::with_base(bytes.get(1..)?, 1);
            match m2msim_codec::tlv::read_len(&mut r, "packet length", 4, false).ok()? {
                m2msim_codec::tlv::ReadLen::Definite(n, _) => (n, r.offset()),
                m2msim_codec::tlv::ReadLen::Indefinite => return None,
            }
        }
    };
    (bytes.len().checked_sub(at)? == len).then_some(at)
}

/// The framing of a command packet on `transport` without copying it: the same packets as
/// [`CommandPacket::decode_for`] accepts (CPL framing the packet exactly, CHL at least 13 and inside the
/// CPL), checked with slices for the card's per-packet path. `Err` carries the header when it could still be
/// read at its place.
pub(crate) fn frame_command(
    bytes: &[u8],
    transport: Transport,
) -> Result<CommandFrame, Option<CommandHeader>> {
    let at = match transport.command_packet_identifier() {
        None => 2,
        Some(_) => {
            let mut r = m2msim_codec::Reader::with_base(bytes.get(1..).unwrap_or_default(), 1);
            match m2msim_codec::tlv::read_len(&mut r, "CPL", 4, false) {
                Ok(m2msim_codec::tlv::ReadLen::Definite(..)) => r.offset(),
                _ => return Err(None),
            }
        }
    };
    let header =
        match (bytes.get(at + 1..at + 3), bytes.get(at + 3), bytes.get(at + 4), bytes.get(at + 5..at + 8)) {
            (Some(spi), Some(kic), Some(kid), Some(tar)) => {
                let (mut s, mut t) = ([0; 2], [0; 3]);
                s.copy_from_slice(spi);
                t.copy_from_slice(tar);
                CommandHeader { spi: Spi(s), kic: Kic(*kic), kid: Kid(*kid), tar: Tar(t) }
            }
            _ => return Err(None),
        };
    if transport.command_packet_identifier().is_some_and(|cpi| bytes.first() != Some(&cpi)) {
        return Err(None);
    }
    let framed = frame_length(bytes, transport.command_packet_identifier()) == Some(at);
    let chl = usize::from(bytes.get(at).copied().unwrap_or(0));
    let remaining = bytes.len() - at - 1;
    if !framed || chl < CHL_FIXED || chl > remaining {
        return Err(Some(header));
    }
    Ok(CommandFrame { header, rc_len: chl - CHL_FIXED, secured_at: at + 8 })
}

/// Where a PoR's parts are, as [`frame_response`] finds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResponseFrame {
    /// The SMS-PP user-data header.
    pub(crate) udh: Option<PorUdh>,
    /// TAR.
    pub(crate) tar: Tar,
    /// The RC/CC/DS length the RHL announces (RHL − 10).
    pub(crate) rc_len: usize,
    /// Offset of CNTR.
    pub(crate) secured_at: usize,
}

/// The framing of a PoR (SMS-PP user data from `02 71 00` / `02 7F 00`, or a response packet from the
/// RPI) without copying it: the same inputs as `ResponseUserData::decode_exact` /
/// `ResponsePacket::decode_for` accept.
pub(crate) fn frame_response(bytes: &[u8], transport: Transport) -> Option<ResponseFrame> {
    if !transport.carries_responses() {
        return None;
    }
    let (udh, body) = if transport == Transport::SmsPp {
        let udh = match bytes.get(..3)? {
            [0x02, 0x71, 0x00] => PorUdh::ResponsePacket,
            [0x02, 0x7F, 0x00] => PorUdh::Proprietary7F,
            _ => return None,
        };
        (Some(udh), bytes.get(3..)?)
    } else {
        (None, bytes)
    };
    let at = frame_length(body, transport.response_packet_identifier())?;
    let rhl = usize::from(*body.get(at)?);
    if rhl < RHL_FIXED || rhl > body.len() - at - 1 {
        return None;
    }
    let mut tar = [0; 3];
    tar.copy_from_slice(body.get(at + 1..at + 4)?);
    let base = bytes.len() - body.len();
    Some(ResponseFrame { udh, tar: Tar(tar), rc_len: rhl - RHL_FIXED, secured_at: base + at + 4 })
}

/// Writes a packet length (CPL/RPL) as the transport codes it; the caller checked the range.
#[inline]
fn write_packet_len(out: &mut Vec<u8>, transport: Transport, len: usize) {
    if transport.has_ber_length() {
        write_len(out, len, LenForm::Minimal);
    } else {
        out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    }
}

/// Checks a packet length (CPL/RPL) against its field.
fn check_packet_len(transport: Transport, len: usize) -> Result<(), BuildError> {
    let max = if transport.has_ber_length() { 0xFFFF_FFFF } else { 0xFFFF };
    if len > max { Err(BuildError::PacketTooLong { len, max }) } else { Ok(()) }
}

/// Everything that can fail about securing one command, checked before anything is written (TS 102 225
/// §5.1.1): the keys the SPI needs, the RC/CC length, the padding and the packet length.
#[derive(Debug, Clone, Copy)]
pub struct CommandPlan<'k> {
    transport: Transport,
    header: CommandHeader,
    cipher: Option<&'k dyn ExpandedCipher>,
    checksum: Option<&'k dyn ExpandedChecksum>,
    rc_len: usize,
    data_len: usize,
    pcntr: u8,
}

impl<'k> CommandPlan<'k> {
    /// Resolves the keys `header` asks for and sizes the packet for `data_len` octets of secured data.
    ///
    /// # Errors
    /// Key errors ([`PacketKeys`]), [`PacketError::DigitalSignature`], [`PacketError::Build`] when the
    /// CPL does not fit its field.
    pub fn new<K: PacketKeys + ?Sized>(
        keys: &'k K,
        transport: Transport,
        header: &CommandHeader,
        data_len: usize,
    ) -> Result<Self, PacketError> {
        let spi = header.spi;
        let checksum = resolve_checksum(keys, spi.checksum(), header.kid)?;
        let cipher = if spi.ciphered() { Some(keys.cipher(header.kic)?) } else { None };
        let block = cipher.map(block_of).transpose()?.unwrap_or(0);
        let rc_len = checksum.map_or(0, |c| c.field_len());
        let pcntr = command_padding(block, rc_len, data_len);
        let plan = Self { transport, header: *header, cipher, checksum, rc_len, data_len, pcntr };
        check_packet_len(transport, plan.cpl())?;
        Ok(plan)
    }

    /// The CPL: CHL, SPI, KIc, KID, TAR (8 octets) and the secured part.
    #[must_use]
    pub fn cpl(&self) -> usize {
        8 + 6 + self.rc_len + self.data_len + self.pcntr as usize
    }

    /// The number of padding octets (PCNTR).
    #[must_use]
    pub const fn pcntr(&self) -> u8 {
        self.pcntr
    }

    /// Appends the secured packet to `out` (from the CPL on SMS, from the CPI otherwise) and returns its
    /// length. `data` must have the length the plan was made for (else nothing is written and 0 returned).
    /// Nothing is allocated when `out` has room for [`CommandPlan::cpl`] + 6 more octets; `out` is grown
    /// once and the packet written in place (what `out` held before is kept).
    pub fn write(&self, cntr: Cntr, data: &[u8], out: &mut Vec<u8>) -> usize {
        if data.len() != self.data_len {
            return 0;
        }
        let (rc_len, cpl) = (self.rc_len, self.cpl());
        let start = out.len();
        out.reserve(cpl + 6);
        if let Some(cpi) = self.transport.command_packet_identifier() {
            out.push(cpi);
        }
        write_packet_len(out, self.transport, cpl);
        let h = &self.header;
        let [c0, c1, c2, c3, c4] = cntr.0;
        // CHL, SPI, KIc, KID, TAR, CNTR, PCNTR (rc_len <= MAX_CHECKSUM_LEN, 8).
        let fixed = [
            (CHL_FIXED + rc_len) as u8,
            h.spi.0[0],
            h.spi.0[1],
            h.kic.0,
            h.kid.0,
            h.tar.0[0],
            h.tar.0[1],
            h.tar.0[2],
            c0,
            c1,
            c2,
            c3,
            c4,
            self.pcntr,
        ];
        let chl_at = out.len() - start;
        // The CPL octets from the CHL on, zeroed once: RC/CC field and padding stay zero until sealed.
        out.resize(start + chl_at + cpl, 0);
        let Some(packet) = out.get_mut(start..) else { return 0 };
        let data_at = chl_at + fixed.len() + rc_len;
        if let Some(f) = packet.get_mut(chl_at..).and_then(|p| p.first_chunk_mut()) {
            *f = fixed;
        }
        if let Some(d) = packet.get_mut(data_at..data_at + data.len()) {
            d.copy_from_slice(data);
        }
        // Block-aligned by construction (PCNTR), so the cipher cannot refuse it.
        let _ = seal(packet, chl_at + 8, chl_at + fixed.len(), rc_len, self.checksum, self.cipher);
        packet.len()
    }
}

/// Fills the RC/CC field `rc_at..rc_at + rc_len` of a packet being built (`packet` from its first octet,
/// the field zeroed) with the checksum over every other octet (TS 102 225 §5.1.1, §5.1.7: the octets
/// before the field and after it), then ciphers the secured part from `secured_at` (CNTR) in place.
///
/// # Errors
/// [`CryptoError::NotBlockAligned`] from the cipher (nothing ciphered then).
#[inline]
fn seal(
    packet: &mut [u8],
    secured_at: usize,
    rc_at: usize,
    rc_len: usize,
    checksum: Option<&dyn ExpandedChecksum>,
    cipher: Option<&dyn ExpandedCipher>,
) -> Result<(), CryptoError> {
    if let Some(ck) = checksum {
        let value = match (packet.get(..rc_at), packet.get(rc_at + rc_len..)) {
            (Some(head), Some(tail)) => ck.compute(&[head, tail]),
            _ => ck.compute(&[]),
        };
        if let (Some(field), Some(v)) =
            (packet.get_mut(rc_at..rc_at + rc_len), value.as_bytes().get(..rc_len))
        {
            field.copy_from_slice(v);
        }
    }
    match (cipher, packet.get_mut(secured_at..)) {
        (Some(c), Some(secured)) => c.encrypt(secured),
        _ => Ok(()),
    }
}

/// Secures `data` as a command packet and appends it to `out` (from the CPL on SMS-PP/SMS-CB, from the CPI
/// on CAT_TP, TCP/IP and USSD), returning its length (TS 102 225 §5.1.1, TS 31.115 §4). Nothing is
/// allocated when `out` has room.
///
/// # Errors
/// As [`CommandPlan::new`]; nothing is written then.
pub fn secure_command_into<K: PacketKeys + ?Sized>(
    keys: &K,
    transport: Transport,
    header: &CommandHeader,
    cntr: Cntr,
    data: &[u8],
    out: &mut Vec<u8>,
) -> Result<usize, PacketError> {
    Ok(CommandPlan::new(keys, transport, header, data.len())?.write(cntr, data, out))
}

/// Secures `data` as a typed [`CommandPacket`] (see [`secure_command_into`]).
///
/// # Errors
/// As [`secure_command_into`].
pub fn secure_command<K: PacketKeys + ?Sized>(
    keys: &K,
    transport: Transport,
    header: &CommandHeader,
    cntr: Cntr,
    data: &[u8],
) -> Result<CommandPacket, PacketError> {
    let mut out = Vec::new();
    secure_command_into(keys, transport, header, cntr, data, &mut out)?;
    Ok(CommandPacket::decode_for(transport, &out)?)
}

/// Appends a response packet (PoR) to `out` and returns its length (TS 102 225 §5.1.7, TS 31.115 §4.2):
/// on SMS-PP the user data `udh RPL RHL TAR …` (the RC/CC then covers the UDH too), elsewhere
/// `RPI RPL RHL TAR …`. The RC/CC is computed when `checksum` is given, then the secured part (CNTR..end)
/// is ciphered when `cipher` is given; `data` is the additional response data.
///
/// # Errors
/// [`PacketError::Build`] for SMS-CB (no response packets) or an RPL that does not fit;
/// [`PacketError::Crypto`] for a cipher without a block length.
#[allow(clippy::too_many_arguments)]
pub fn secure_response_into(
    transport: Transport,
    udh: PorUdh,
    tar: Tar,
    cntr: Cntr,
    status: PorStatus,
    data: &[u8],
    cipher: Option<&dyn ExpandedCipher>,
    checksum: Option<&dyn ExpandedChecksum>,
    out: &mut Vec<u8>,
) -> Result<usize, PacketError> {
    if !transport.carries_responses() {
        return Err(BuildError::NoResponseOnTransport.into());
    }
    let block = cipher.map(block_of).transpose()?.unwrap_or(0);
    let rc_len = checksum.map_or(0, |c| c.field_len());
    let pcntr = response_padding(block, rc_len, data.len());
    let rpl = 4 + 7 + rc_len + data.len() + pcntr as usize;
    check_packet_len(transport, rpl)?;
    let start = out.len();
    out.reserve(rpl + 6);
    match transport.response_packet_identifier() {
        Some(rpi) => out.push(rpi),
        None => out.extend_from_slice(&udh.bytes()),
    }
    write_packet_len(out, transport, rpl);
    let [c0, c1, c2, c3, c4] = cntr.0;
    let [t0, t1, t2] = tar.0;
    // RHL, TAR, CNTR, PCNTR, status (rc_len <= 8).
    let fixed = [(RHL_FIXED + rc_len) as u8, t0, t1, t2, c0, c1, c2, c3, c4, pcntr, status.code()];
    let rhl_at = out.len() - start;
    // The RPL octets from the RHL on, zeroed once: RC/CC field and padding stay zero until sealed.
    out.resize(start + rhl_at + rpl, 0);
    let Some(packet) = out.get_mut(start..) else { return Ok(0) };
    let data_at = rhl_at + fixed.len() + rc_len;
    if let Some(f) = packet.get_mut(rhl_at..).and_then(|p| p.first_chunk_mut()) {
        *f = fixed;
    }
    if let Some(d) = packet.get_mut(data_at..data_at + data.len()) {
        d.copy_from_slice(data);
    }
    let len = packet.len();
    if let Err(e) = seal(packet, rhl_at + 4, rhl_at + fixed.len(), rc_len, checksum, cipher) {
        out.truncate(start);
        return Err(e.into());
    }
    Ok(len)
}

/// A command packet that was secured for sending: what it is, its bytes, and what its PoR is checked
/// against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentCommand {
    /// The bearer.
    pub transport: Transport,
    /// SPI, KIc, KID, TAR.
    pub header: CommandHeader,
    /// The counter the packet carries.
    pub cntr: Cntr,
    /// The secured packet (from the CPL on SMS, from the CPI otherwise).
    #[serde(with = "m2msim_codec::hexser")]
    pub packet: Vec<u8>,
}

impl SentCommand {
    /// The TP-UD of a single SMS-PP short message: `02 70 00` and the packet (TS 31.115 §4.1).
    ///
    /// # Errors
    /// [`PacketError::NotSmsPp`] on another transport, [`PacketError::TooLongForSms`] beyond 137 octets.
    pub fn user_data(&self) -> Result<Vec<u8>, PacketError> {
        if self.transport != Transport::SmsPp {
            return Err(PacketError::NotSmsPp { what: "SMS user data" });
        }
        if self.packet.len() > SINGLE_SMS_PACKET_MAX {
            return Err(PacketError::TooLongForSms { len: self.packet.len(), max: SINGLE_SMS_PACKET_MAX });
        }
        let mut ud = Vec::with_capacity(3 + self.packet.len());
        ud.extend_from_slice(&[0x02, 0x70, 0x00]);
        ud.extend_from_slice(&self.packet);
        Ok(ud)
    }

    /// The user data of the short messages that carry the packet: one (`02 70 00 …`) up to 137 octets,
    /// else concatenated segments with `reference` (TS 31.115 §4.1, see [`concat::split`]).
    ///
    /// # Errors
    /// [`PacketError::NotSmsPp`], [`PacketError::Sms`] beyond 255 segments.
    pub fn segments(&self, reference: ConcatRef) -> Result<Vec<UserData>, PacketError> {
        if self.transport != Transport::SmsPp {
            return Err(PacketError::NotSmsPp { what: "SMS segments" });
        }
        Ok(concat::split(&self.packet, reference)?)
    }

    /// The SMS-DELIVER TPDUs that carry the packet (PID `7F`, DCS `F6`, TP-UDHI), one per segment.
    ///
    /// # Errors
    /// As [`SentCommand::segments`].
    pub fn deliver_tpdus(
        &self,
        reference: ConcatRef,
        originator: Address,
        scts: Scts,
    ) -> Result<Vec<Deliver>, PacketError> {
        if self.transport != Transport::SmsPp {
            return Err(PacketError::NotSmsPp { what: "SMS-DELIVER TPDUs" });
        }
        Ok(concat::deliver_tpdus(&self.packet, reference, originator, scts)?)
    }

    /// Verifies the PoR that answers this command (see [`verify_por`]): `bytes` is the PoR user data from
    /// `02 71 00` on SMS-PP, the response packet from the RPI elsewhere.
    ///
    /// # Errors
    /// As [`verify_por`].
    pub fn verify_por<K: PacketKeys + ?Sized>(
        &self,
        keys: &K,
        bytes: &[u8],
        format: ResponseFormat,
    ) -> Result<PorReport, PacketError> {
        verify_por(keys, &self.header, Some(self.cntr), self.transport, bytes, format)
    }
}

/// The sending entity: secures commands for one card, reserving each counter in a [`CounterStore`]
/// (persisted before the packet exists, so that a crash never reuses a value).
pub struct CommandSender<'a, K: PacketKeys + ?Sized> {
    keys: &'a K,
    counters: &'a dyn CounterStore,
    card: CardId,
}

impl<'a, K: PacketKeys + ?Sized> CommandSender<'a, K> {
    /// A sender for `card` with its keys and counter store.
    pub fn new(keys: &'a K, counters: &'a dyn CounterStore, card: CardId) -> Self {
        Self { keys, counters, card }
    }

    /// Secures `data` for `transport` with `header`: checks the keys and sizes first, then reserves the
    /// counter (unless SPI1 b5b4 = 00, which sends CNTR 0), then builds the packet.
    ///
    /// # Errors
    /// As [`CommandPlan::new`]; [`PacketError::NoCounterKvn`]; [`PacketError::Counter`] (I/O, exhausted).
    pub fn send(
        &self,
        transport: Transport,
        header: CommandHeader,
        data: &[u8],
    ) -> Result<SentCommand, PacketError> {
        let mut packet = Vec::new();
        let cntr = self.send_into(transport, &header, data, &mut packet)?;
        Ok(SentCommand { transport, header, cntr, packet })
    }

    /// As [`CommandSender::send`], appending the packet to `out` (a buffer the caller reuses: nothing is
    /// allocated when it has room) and returning the counter it carries.
    ///
    /// # Errors
    /// As [`CommandSender::send`]; nothing is written then.
    pub fn send_into(
        &self,
        transport: Transport,
        header: &CommandHeader,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Cntr, PacketError> {
        let plan = CommandPlan::new(self.keys, transport, header, data.len())?;
        let cntr = match header.spi.counter_mode() {
            CounterMode::NoCounter => Cntr::default(),
            _ => {
                let kvn = counter_kvn(header).ok_or(PacketError::NoCounterKvn)?;
                Cntr(self.counters.reserve(&self.card, kvn)?.to_bytes())
            }
        };
        plan.write(cntr, data, out);
        Ok(cntr)
    }
}

impl<K: PacketKeys + ?Sized> std::fmt::Debug for CommandSender<'_, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandSender").field("card", &self.card).finish_non_exhaustive()
    }
}

/// A command header from its parts (a shorthand for the struct literal).
#[must_use]
pub const fn header(spi: Spi, kic: Kic, kid: Kid, tar: Tar) -> CommandHeader {
    CommandHeader { spi, kic, kid, tar }
}

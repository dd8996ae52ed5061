//! The cryptography of SCP80 secured packets (ETSI TS 102 225 §5.1, 3GPP TS 31.115), behind a provider
//! trait.
//!
//! - [`CipherAlgorithm`]: what a KIc byte names (TS 102 225 §5.1.2): DES-CBC, 3DES outer-CBC with 2 or 3
//!   keys, DES-ECB, AES-CBC (16, 24 or 32-byte key). CBC always starts from a zero IV. Ciphering works in
//!   place over a whole number of blocks; padding (zeros, counted by PCNTR) is the caller's business, see
//!   [`padding_len`].
//! - [`ChecksumAlgorithm`]: what a KID byte names (TS 102 225 §5.1.3): the redundancy checks CRC-16/X-25
//!   and CRC-32/ISO-HDLC (RC), and the cryptographic checksums DES / 3DES CBC-MAC (ISO/IEC 9797-1 MAC
//!   algorithm 1, padding method 1) and AES-CMAC (NIST SP 800-38B) truncated to 8 or 4 bytes (CC). Digital
//!   signatures (DS) have no standard algorithm and are refused with [`CryptoError::Unsupported`].
//! - [`SecurityProvider`]: turns an algorithm and a key into an [`ExpandedCipher`] or an
//!   [`ExpandedChecksum`] whose key schedule is computed once. Keysets ([`crate::keys::Keyset`]) hold these
//!   expanded objects, so that securing or verifying a packet runs no key schedule and allocates nothing.
//!   Checksum input is a list of byte slices, because the bytes an RC/CC covers are not contiguous in a
//!   packet (the RC/CC field itself sits in the middle, and a PoR over SMS starts with the UDH `02 71 00`).
//! - [`RustCryptoProvider`]: the implementation on the RustCrypto `aes` block cipher, the table-driven DES of
//!   [`des`] and the `crc` crate. `NullProvider` (tests, fuzzing, feature `insecure-null-provider`) ciphers
//!   nothing and accepts every checksum, so that fuzzers get past the checks.
//!
//! MAC verification compares in constant time (`subtle`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::keys::SecretKey;

pub mod des;
mod modes;
#[cfg(any(test, fuzzing, feature = "insecure-null-provider"))]
mod null;
mod rustcrypto;

#[cfg(any(test, fuzzing, feature = "insecure-null-provider"))]
pub use null::NullProvider;
pub use rustcrypto::{RustCryptoProvider, redundancy_check};

/// The longest RC/CC/DS field this crate computes (8 bytes: DES/3DES CBC-MAC, AES-CMAC-64).
pub const MAX_CHECKSUM_LEN: usize = 8;

/// The errors of the crypto layer (ciphers, checksums, key/algorithm matching).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The key's length does not fit the algorithm named by the KIc/KID (e.g. a 16-byte key with KIc DES).
    #[error("{algorithm} needs a key of {expected} bytes, got {actual}")]
    KeyLength {
        /// The algorithm (its display name).
        algorithm: &'static str,
        /// The lengths it accepts, in words ("8", "16, 24 or 32").
        expected: &'static str,
        /// The length given.
        actual: usize,
    },
    /// A key was given for a keyless algorithm (CRC).
    #[error("{algorithm} takes no key")]
    UnexpectedKey {
        /// The algorithm.
        algorithm: &'static str,
    },
    /// No key was given for an algorithm that needs one.
    #[error("{algorithm} needs a key")]
    MissingKey {
        /// The algorithm.
        algorithm: &'static str,
    },
    /// Key bytes that cannot be a key at all (empty, longer than 32 bytes, not hex).
    #[error("invalid key: {reason}")]
    InvalidKey {
        /// Why.
        reason: &'static str,
    },
    /// The data to cipher is not a whole number of cipher blocks (the caller pads first).
    #[error("{len} byte(s) is not a whole number of {block}-byte {algorithm} blocks")]
    NotBlockAligned {
        /// The algorithm.
        algorithm: &'static str,
        /// The data length.
        len: usize,
        /// The cipher's block length.
        block: usize,
    },
    /// An algorithm this provider does not implement (digital signatures, proprietary codings).
    #[error("unsupported: {what}")]
    Unsupported {
        /// What was asked for.
        what: &'static str,
    },
    /// A KIc or KID byte uses a coding the spec reserves.
    #[error("reserved {field} coding {value:#04x}: {reason}")]
    ReservedCoding {
        /// "KIc" or "KID".
        field: &'static str,
        /// The whole byte.
        value: u8,
        /// Which bits are reserved.
        reason: &'static str,
    },
    /// The KIc/KID names an algorithm other than the one the keyset holds for that key.
    #[error("the {field} names {requested} but the keyset's key is for {configured}")]
    AlgorithmMismatch {
        /// "KIc" or "KID".
        field: &'static str,
        /// The keyset's algorithm.
        configured: &'static str,
        /// The algorithm the byte names.
        requested: &'static str,
    },
    /// The KIc/KID names a key version other than the keyset's KVN.
    #[error("the {field} names key version {requested} but the keyset is KVN {kvn}")]
    KvnMismatch {
        /// "KIc" or "KID".
        field: &'static str,
        /// The keyset's KVN.
        kvn: u8,
        /// The KVN in the byte (b8..b5).
        requested: u8,
    },
    /// A key version number outside 1..=15.
    #[error("invalid key version number {0}: must be 1..=15 (TS 102 225 §5.1.2)")]
    InvalidKvn(u8),
    /// A received RC/CC has the wrong length for the algorithm.
    #[error("checksum of {actual} byte(s), expected {expected}")]
    ChecksumLength {
        /// The algorithm's length.
        expected: usize,
        /// The received length.
        actual: usize,
    },
    /// A received RC/CC does not match the one computed.
    #[error("RC/CC mismatch")]
    ChecksumMismatch,
}

/// The length of the zero padding that brings `len` bytes to a whole number of `block`-byte blocks
/// (TS 102 225 §5.1.1: PCNTR counts these bytes). 0 when `len` is already aligned (no extra block);
/// 0 when `block` is 0.
#[must_use]
pub const fn padding_len(len: usize, block: usize) -> usize {
    if block == 0 { 0 } else { (block - len % block) % block }
}

/// A KIc algorithm (TS 102 225 §5.1.2, coding of the KIc, low nibble).
///
/// | b4 b3 b2 b1 | algorithm |
/// |---|---|
/// | 00 01 | DES-CBC (V16: "reserved for DES as defined in previous releases"; kept for legacy cards) |
/// | 01 01 | Triple DES outer-CBC, 2 keys (16-byte key, K3 = K1) |
/// | 10 01 | Triple DES outer-CBC, 3 keys (24-byte key) |
/// | 11 01 | DES-ECB (V16: reserved; kept to decode legacy packets) |
/// | 00 10 | AES-CBC; the key length (16, 24 or 32) picks AES-128/192/256 |
/// | xx 11 | proprietary |
/// | xx 00 | implicit: agreed beforehand, i.e. the keyset's algorithm |
///
/// AES with b4b3 ≠ 00 is reserved and refused.
///
/// Two more algorithms have no KIc coding of their own and are only reachable as the "implicit" algorithm
/// of a keyset: triple DES in ECB mode with 2 or 3 keys ([`CipherAlgorithm::TripleDes2Ecb`],
/// [`CipherAlgorithm::TripleDes3Ecb`]). The gsm0348 data set uses them with KIc `04` / `08` (b2b1 = 00
/// implicit, b4b3 the DES-family mode bits of 3DES 2-key / 3-key), and [`CipherAlgorithm::kic_nibble`] writes
/// them that way (decision: the mode bits of an implicit KIc carry no meaning in TS 102 225, so they are
/// set to the matching 3DES mode, as that data set does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CipherAlgorithm {
    /// Single DES, CBC mode, 8-byte key.
    DesCbc,
    /// Triple DES EDE outer-CBC with two keys (16-byte key K1‖K2, K3 = K1).
    TripleDes2Cbc,
    /// Triple DES EDE outer-CBC with three keys (24-byte key).
    TripleDes3Cbc,
    /// Single DES, ECB mode (legacy).
    DesEcb,
    /// AES-CBC with a 16, 24 or 32-byte key.
    AesCbc,
    /// Triple DES EDE (2 keys) in ECB mode: implicit only (see the type docs).
    TripleDes2Ecb,
    /// Triple DES EDE (3 keys) in ECB mode: implicit only (see the type docs).
    TripleDes3Ecb,
    /// A proprietary algorithm (b2b1 = 11); the value is b4b3 (0..=3).
    Proprietary(u8),
}

impl CipherAlgorithm {
    /// The algorithm a KIc byte names, or `None` for "implicit" (b2b1 = 00: known by other means, i.e. the
    /// keyset's own algorithm). The KVN in b8..b5 is not looked at.
    ///
    /// # Errors
    /// [`CryptoError::ReservedCoding`] for AES with b4b3 ≠ 00.
    pub const fn from_kic(kic: u8) -> Result<Option<Self>, CryptoError> {
        let b43 = (kic >> 2) & 0b11;
        match kic & 0b11 {
            0b00 => Ok(None),
            0b01 => Ok(Some(match b43 {
                0b00 => Self::DesCbc,
                0b01 => Self::TripleDes2Cbc,
                0b10 => Self::TripleDes3Cbc,
                _ => Self::DesEcb,
            })),
            0b10 if b43 == 0 => Ok(Some(Self::AesCbc)),
            0b10 => Err(CryptoError::ReservedCoding {
                field: "KIc",
                value: kic,
                reason: "AES with b4b3 other than 00 (only AES-CBC is defined)",
            }),
            _ => Ok(Some(Self::Proprietary(b43))),
        }
    }

    /// The low nibble of the KIc byte for this algorithm (the KVN goes in the high nibble).
    #[must_use]
    pub const fn kic_nibble(self) -> u8 {
        match self {
            Self::DesCbc => 0b0001,
            Self::TripleDes2Cbc => 0b0101,
            Self::TripleDes3Cbc => 0b1001,
            Self::DesEcb => 0b1101,
            Self::AesCbc => 0b0010,
            Self::TripleDes2Ecb => 0b0100,
            Self::TripleDes3Ecb => 0b1000,
            Self::Proprietary(b) => ((b & 0b11) << 2) | 0b11,
        }
    }

    /// True for the ECB modes (each block ciphered alone; no chaining).
    #[must_use]
    pub const fn is_ecb(self) -> bool {
        matches!(self, Self::DesEcb | Self::TripleDes2Ecb | Self::TripleDes3Ecb)
    }

    /// The cipher block length: 8 for the DES family, 16 for AES, 0 when unknown (proprietary).
    #[must_use]
    pub const fn block_len(self) -> usize {
        match self {
            Self::DesCbc
            | Self::TripleDes2Cbc
            | Self::TripleDes3Cbc
            | Self::DesEcb
            | Self::TripleDes2Ecb
            | Self::TripleDes3Ecb => 8,
            Self::AesCbc => 16,
            Self::Proprietary(_) => 0,
        }
    }

    /// True for the DES family, whose keys carry parity bits that the cipher ignores.
    #[must_use]
    pub const fn is_des(self) -> bool {
        matches!(
            self,
            Self::DesCbc
                | Self::TripleDes2Cbc
                | Self::TripleDes3Cbc
                | Self::DesEcb
                | Self::TripleDes2Ecb
                | Self::TripleDes3Ecb
        )
    }

    /// A display name ("DES-CBC", "3DES-2key-CBC", …).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::DesCbc => "DES-CBC",
            Self::TripleDes2Cbc => "3DES-2key-CBC",
            Self::TripleDes3Cbc => "3DES-3key-CBC",
            Self::DesEcb => "DES-ECB",
            Self::AesCbc => "AES-CBC",
            Self::TripleDes2Ecb => "3DES-2key-ECB",
            Self::TripleDes3Ecb => "3DES-3key-ECB",
            Self::Proprietary(_) => "a proprietary cipher",
        }
    }

    /// Checks that `len` is a key length this algorithm accepts.
    ///
    /// # Errors
    /// [`CryptoError::KeyLength`], or [`CryptoError::Unsupported`] for proprietary algorithms.
    pub const fn check_key_len(self, len: usize) -> Result<(), CryptoError> {
        let (ok, expected) = match self {
            Self::DesCbc | Self::DesEcb => (len == 8, "8"),
            Self::TripleDes2Cbc | Self::TripleDes2Ecb => (len == 16, "16"),
            Self::TripleDes3Cbc | Self::TripleDes3Ecb => (len == 24, "24"),
            Self::AesCbc => (matches!(len, 16 | 24 | 32), "16, 24 or 32"),
            Self::Proprietary(_) => {
                return Err(CryptoError::Unsupported { what: "proprietary KIc algorithm (b2b1 = 11)" });
            }
        };
        if ok {
            Ok(())
        } else {
            Err(CryptoError::KeyLength { algorithm: self.name(), expected, actual: len })
        }
    }
}

impl fmt::Display for CipherAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the SPI asks for in the RC/CC/DS field (SPI first byte b2b1, TS 102 225 §5.1.1), which decides how
/// the KID byte is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumKind {
    /// b2b1 = 01: redundancy check (RC).
    RedundancyCheck,
    /// b2b1 = 10: cryptographic checksum (CC).
    CryptographicChecksum,
    /// b2b1 = 11: digital signature (DS); TS 102 225 defines no algorithm.
    DigitalSignature,
}

/// The length an AES-CMAC is truncated to in the CC field (TS 102 225 §5.1.3: 8 or 4 bytes, the leftmost).
///
/// The KID does not carry it: the sender takes it from its configuration, the receiver from CHL/RHL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum CmacLen {
    /// CMAC-32.
    Four,
    /// CMAC-64 (the usual one; pySim's only one).
    Eight,
}

impl CmacLen {
    /// The length in bytes.
    #[must_use]
    pub const fn bytes(self) -> usize {
        match self {
            Self::Four => 4,
            Self::Eight => 8,
        }
    }
}

impl TryFrom<u8> for CmacLen {
    type Error = &'static str;
    fn try_from(v: u8) -> Result<Self, Self::Error> {
        match v {
            4 => Ok(Self::Four),
            8 => Ok(Self::Eight),
            _ => Err("AES-CMAC length must be 4 or 8"),
        }
    }
}

impl From<CmacLen> for u8 {
    fn from(v: CmacLen) -> u8 {
        match v {
            CmacLen::Four => 4,
            CmacLen::Eight => 8,
        }
    }
}

/// A KID algorithm (TS 102 225 §5.1.3): a redundancy check or a cryptographic checksum.
///
/// KID when SPI asks for an RC: b2b1 00 implicit, 01 CRC (b4b3 00 CRC16, 01 CRC32, 1x reserved), 10
/// reserved, 11 proprietary. KID when SPI asks for a CC: as the KIc, but AES b4b3 = 00 is AES-CMAC and DES
/// b4b3 = 11 is reserved. RC values are written big-endian in the field (Annex B: `0102030405` → CRC16
/// `22EC`, CRC32 `470B99F4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumAlgorithm {
    /// CRC-16/X-25 (ISO/IEC 13239: poly 0x1021 reflected, init and xorout 0xFFFF), 2 bytes.
    Crc16,
    /// CRC-32/ISO-HDLC (ISO/IEC 13239, zlib), 4 bytes.
    Crc32,
    /// DES CBC-MAC, 8-byte key, 8 bytes.
    DesMac,
    /// Triple DES (2 keys) CBC-MAC, 16-byte key, 8 bytes.
    TdesMac2,
    /// Triple DES (3 keys) CBC-MAC, 24-byte key, 8 bytes.
    TdesMac3,
    /// AES-CMAC with a 16, 24 or 32-byte key, truncated to `len`.
    AesCmac {
        /// The truncated length.
        len: CmacLen,
    },
    /// A proprietary RC or CC (b2b1 = 11); the value is b4b3 (0..=3).
    Proprietary(u8),
}

impl ChecksumAlgorithm {
    /// The algorithm a KID byte names for the SPI's `kind`, or `None` for "implicit" (b2b1 = 00: the
    /// keyset's own algorithm). `cmac_len` is used when the KID names AES-CMAC (the KID does not say).
    ///
    /// # Errors
    /// [`CryptoError::ReservedCoding`] for reserved codings, [`CryptoError::Unsupported`] for DS.
    pub const fn from_kid(
        kid: u8,
        kind: ChecksumKind,
        cmac_len: CmacLen,
    ) -> Result<Option<Self>, CryptoError> {
        let b43 = (kid >> 2) & 0b11;
        match kind {
            ChecksumKind::DigitalSignature => Err(CryptoError::Unsupported {
                what: "digital signature (SPI b2b1 = 11): TS 102 225 defines no algorithm",
            }),
            ChecksumKind::RedundancyCheck => match kid & 0b11 {
                0b00 => Ok(None),
                0b01 => match b43 {
                    0b00 => Ok(Some(Self::Crc16)),
                    0b01 => Ok(Some(Self::Crc32)),
                    _ => Err(CryptoError::ReservedCoding {
                        field: "KID",
                        value: kid,
                        reason: "CRC with b4b3 = 1x",
                    }),
                },
                0b10 => {
                    Err(CryptoError::ReservedCoding { field: "KID", value: kid, reason: "RC with b2b1 = 10" })
                }
                _ => Ok(Some(Self::Proprietary(b43))),
            },
            ChecksumKind::CryptographicChecksum => match kid & 0b11 {
                0b00 => Ok(None),
                0b01 => match b43 {
                    0b00 => Ok(Some(Self::DesMac)),
                    0b01 => Ok(Some(Self::TdesMac2)),
                    0b10 => Ok(Some(Self::TdesMac3)),
                    _ => Err(CryptoError::ReservedCoding {
                        field: "KID",
                        value: kid,
                        reason: "DES CC with b4b3 = 11",
                    }),
                },
                0b10 if b43 == 0 => Ok(Some(Self::AesCmac { len: cmac_len })),
                0b10 => Err(CryptoError::ReservedCoding {
                    field: "KID",
                    value: kid,
                    reason: "AES CC with b4b3 other than 00 (only AES-CMAC is defined)",
                }),
                _ => Ok(Some(Self::Proprietary(b43))),
            },
        }
    }

    /// The low nibble of the KID byte for this algorithm.
    #[must_use]
    pub const fn kid_nibble(self) -> u8 {
        match self {
            Self::Crc16 | Self::DesMac => 0b0001,
            Self::Crc32 | Self::TdesMac2 => 0b0101,
            Self::TdesMac3 => 0b1001,
            Self::AesCmac { .. } => 0b0010,
            Self::Proprietary(b) => ((b & 0b11) << 2) | 0b11,
        }
    }

    /// Whether this is an RC or a CC (proprietary algorithms count as CC).
    #[must_use]
    pub const fn kind(self) -> ChecksumKind {
        match self {
            Self::Crc16 | Self::Crc32 => ChecksumKind::RedundancyCheck,
            _ => ChecksumKind::CryptographicChecksum,
        }
    }

    /// The length of the RC/CC field, or `None` when unknown (proprietary).
    #[must_use]
    pub const fn field_len(self) -> Option<usize> {
        match self {
            Self::Crc16 => Some(2),
            Self::Crc32 => Some(4),
            Self::DesMac | Self::TdesMac2 | Self::TdesMac3 => Some(8),
            Self::AesCmac { len } => Some(len.bytes()),
            Self::Proprietary(_) => None,
        }
    }

    /// True for the DES family (keys with parity bits).
    #[must_use]
    pub const fn is_des(self) -> bool {
        matches!(self, Self::DesMac | Self::TdesMac2 | Self::TdesMac3)
    }

    /// True when the algorithm takes a key (every CC; not the CRCs).
    #[must_use]
    pub const fn needs_key(self) -> bool {
        !matches!(self, Self::Crc16 | Self::Crc32)
    }

    /// True when `self` and `other` are the same algorithm but for the AES-CMAC truncation length.
    #[must_use]
    pub fn same_family(self, other: Self) -> bool {
        match (self, other) {
            (Self::AesCmac { .. }, Self::AesCmac { .. }) => true,
            (a, b) => a == b,
        }
    }

    /// A display name ("CRC16", "3DES-2key CBC-MAC", "AES-CMAC-64", …).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Crc16 => "CRC16",
            Self::Crc32 => "CRC32",
            Self::DesMac => "DES CBC-MAC",
            Self::TdesMac2 => "3DES-2key CBC-MAC",
            Self::TdesMac3 => "3DES-3key CBC-MAC",
            Self::AesCmac { len: CmacLen::Four } => "AES-CMAC-32",
            Self::AesCmac { len: CmacLen::Eight } => "AES-CMAC-64",
            Self::Proprietary(_) => "a proprietary RC/CC",
        }
    }

    /// Checks that a key of `len` bytes (`None`: no key) fits this algorithm.
    ///
    /// # Errors
    /// [`CryptoError::KeyLength`], [`CryptoError::MissingKey`], [`CryptoError::UnexpectedKey`], or
    /// [`CryptoError::Unsupported`] for proprietary algorithms.
    pub const fn check_key_len(self, len: Option<usize>) -> Result<(), CryptoError> {
        let algorithm = self.name();
        let (ok, expected) = match (self, len) {
            (Self::Proprietary(_), _) => {
                return Err(CryptoError::Unsupported { what: "proprietary KID algorithm (b2b1 = 11)" });
            }
            (Self::Crc16 | Self::Crc32, None) => return Ok(()),
            (Self::Crc16 | Self::Crc32, Some(_)) => return Err(CryptoError::UnexpectedKey { algorithm }),
            (_, None) => return Err(CryptoError::MissingKey { algorithm }),
            (Self::DesMac, Some(l)) => (l == 8, "8"),
            (Self::TdesMac2, Some(l)) => (l == 16, "16"),
            (Self::TdesMac3, Some(l)) => (l == 24, "24"),
            (Self::AesCmac { .. }, Some(l)) => (matches!(l, 16 | 24 | 32), "16, 24 or 32"),
        };
        match len {
            Some(actual) if !ok => Err(CryptoError::KeyLength { algorithm, expected, actual }),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A computed RC/CC (at most [`MAX_CHECKSUM_LEN`] bytes, kept inline: no allocation).
///
/// It deliberately has no `PartialEq`: compare a received value with [`ExpandedChecksum::verify`], which
/// runs in constant time.
#[derive(Clone, Copy)]
pub struct ChecksumValue {
    bytes: [u8; MAX_CHECKSUM_LEN],
    len: u8,
}

impl ChecksumValue {
    /// Builds a value from the first `len` bytes of `bytes` (`len` is capped at [`MAX_CHECKSUM_LEN`]).
    #[must_use]
    pub fn new(bytes: &[u8], len: usize) -> Self {
        let len = len.min(MAX_CHECKSUM_LEN).min(bytes.len());
        // A tag of at least MAX_CHECKSUM_LEN octets (CMAC, CBC-MAC): one fixed-size copy with the octets
        // from `len` on zeroed (no call to memcpy for the variable length; every RC/CC goes through here).
        if let Some(head) = bytes.first_chunk::<MAX_CHECKSUM_LEN>() {
            let keep = u64::MAX.checked_shr(8 * (MAX_CHECKSUM_LEN - len) as u32).unwrap_or(0);
            let bytes = (u64::from_le_bytes(*head) & keep).to_le_bytes();
            return Self { bytes, len: len as u8 };
        }
        let mut out = [0; MAX_CHECKSUM_LEN];
        if let (Some(dst), Some(src)) = (out.get_mut(..len), bytes.get(..len)) {
            dst.copy_from_slice(src);
        }
        Self { bytes: out, len: len as u8 }
    }

    /// The value, as it goes into the RC/CC field.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Its length in bytes.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// True for a zero-length value.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl AsRef<[u8]> for ChecksumValue {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Debug for ChecksumValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChecksumValue({})", hex::encode(self.as_bytes()))
    }
}

/// A KIc cipher with its key schedule computed (TS 102 225 §5.1.2). CBC modes start from a zero IV on every
/// call; each call is one whole message.
pub trait ExpandedCipher: Send + Sync + fmt::Debug {
    /// The algorithm.
    fn algorithm(&self) -> CipherAlgorithm;

    /// The block length (8 or 16); `buf` lengths must be multiples of it.
    fn block_len(&self) -> usize;

    /// Enciphers `buf` in place.
    ///
    /// # Errors
    /// [`CryptoError::NotBlockAligned`] when `buf.len()` is not a multiple of the block length (nothing is
    /// changed then).
    fn encrypt(&self, buf: &mut [u8]) -> Result<(), CryptoError>;

    /// Deciphers `buf` in place.
    ///
    /// # Errors
    /// [`CryptoError::NotBlockAligned`] as for [`encrypt`](Self::encrypt).
    fn decrypt(&self, buf: &mut [u8]) -> Result<(), CryptoError>;
}

/// A KID checksum (RC or CC) with its key schedule computed (TS 102 225 §5.1.3).
///
/// The input is the concatenation of `parts`, so that the bytes before and after the RC/CC field can be
/// passed without copying them together.
pub trait ExpandedChecksum: Send + Sync + fmt::Debug {
    /// The algorithm.
    fn algorithm(&self) -> ChecksumAlgorithm;

    /// The length of the RC/CC field (2, 4 or 8).
    fn field_len(&self) -> usize;

    /// Computes the RC/CC over the concatenation of `parts`.
    fn compute(&self, parts: &[&[u8]]) -> ChecksumValue;

    /// Checks a received RC/CC against the one computed over `parts`, in constant time.
    ///
    /// # Errors
    /// [`CryptoError::ChecksumLength`] when `expected` has the wrong length, [`CryptoError::ChecksumMismatch`]
    /// when it differs.
    fn verify(&self, parts: &[&[u8]], expected: &[u8]) -> Result<(), CryptoError> {
        use subtle::ConstantTimeEq as _;
        let computed = self.compute(parts);
        if expected.len() != computed.len() {
            return Err(CryptoError::ChecksumLength { expected: computed.len(), actual: expected.len() });
        }
        if bool::from(computed.as_bytes().ct_eq(expected)) {
            Ok(())
        } else {
            Err(CryptoError::ChecksumMismatch)
        }
    }
}

/// A source of SCP80 cryptography: expands keys into ciphers and checksums.
///
/// Expansion runs the key schedule (and, for AES-CMAC, derives the subkeys) once; the expanded objects are
/// kept per keyset and used for every packet without further set-up or allocation. The provided one-shot
/// methods ([`encrypt`](Self::encrypt) …) expand on every call: they are for CLIs and tests, not for the
/// packet path.
///
/// Implementations must check key lengths against the algorithm ([`CipherAlgorithm::check_key_len`],
/// [`ChecksumAlgorithm::check_key_len`]) and refuse DS and proprietary algorithms they do not know with
/// [`CryptoError::Unsupported`].
pub trait SecurityProvider: Send + Sync + fmt::Debug {
    /// A short name for logs ("rustcrypto", "null").
    fn name(&self) -> &'static str;

    /// Expands `key` for the KIc `algorithm`.
    ///
    /// # Errors
    /// [`CryptoError::KeyLength`] when the key does not fit, [`CryptoError::Unsupported`].
    fn expand_cipher(
        &self,
        algorithm: CipherAlgorithm,
        key: &SecretKey,
    ) -> Result<Box<dyn ExpandedCipher>, CryptoError>;

    /// Expands `key` (`None` for the keyless CRCs) for the KID `algorithm`.
    ///
    /// # Errors
    /// [`CryptoError::KeyLength`], [`CryptoError::MissingKey`], [`CryptoError::UnexpectedKey`],
    /// [`CryptoError::Unsupported`].
    fn expand_checksum(
        &self,
        algorithm: ChecksumAlgorithm,
        key: Option<&SecretKey>,
    ) -> Result<Box<dyn ExpandedChecksum>, CryptoError>;

    /// One-shot: enciphers `buf` in place (expands the key first).
    ///
    /// # Errors
    /// As [`expand_cipher`](Self::expand_cipher) and [`ExpandedCipher::encrypt`].
    fn encrypt(
        &self,
        algorithm: CipherAlgorithm,
        key: &SecretKey,
        buf: &mut [u8],
    ) -> Result<(), CryptoError> {
        self.expand_cipher(algorithm, key)?.encrypt(buf)
    }

    /// One-shot: deciphers `buf` in place (expands the key first).
    ///
    /// # Errors
    /// As [`expand_cipher`](Self::expand_cipher) and [`ExpandedCipher::decrypt`].
    fn decrypt(
        &self,
        algorithm: CipherAlgorithm,
        key: &SecretKey,
        buf: &mut [u8],
    ) -> Result<(), CryptoError> {
        self.expand_cipher(algorithm, key)?.decrypt(buf)
    }

    /// One-shot: computes an RC/CC over the concatenation of `parts`.
    ///
    /// # Errors
    /// As [`expand_checksum`](Self::expand_checksum).
    fn compute_checksum(
        &self,
        algorithm: ChecksumAlgorithm,
        key: Option<&SecretKey>,
        parts: &[&[u8]],
    ) -> Result<ChecksumValue, CryptoError> {
        Ok(self.expand_checksum(algorithm, key)?.compute(parts))
    }

    /// One-shot: verifies an RC/CC in constant time.
    ///
    /// # Errors
    /// As [`expand_checksum`](Self::expand_checksum) and [`ExpandedChecksum::verify`].
    fn verify_checksum(
        &self,
        algorithm: ChecksumAlgorithm,
        key: Option<&SecretKey>,
        parts: &[&[u8]],
        expected: &[u8],
    ) -> Result<(), CryptoError> {
        self.expand_checksum(algorithm, key)?.verify(parts, expected)
    }
}

#[cfg(test)]
mod tests;

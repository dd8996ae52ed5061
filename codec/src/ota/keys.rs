//! The key identifiers KIc and KID (TS 102 225 §5.1.2 and §5.1.3).
//!
//! Both octets are stored raw ([`Kic`], [`Kid`]) and read through typed getters: b8..b5 are the key
//! version number (the KVN of the keyset, 1..15), b4b3 the algorithm mode and b2b1 the algorithm family.
//! The meaning of a KID depends on the first SPI octet: with a cryptographic checksum it names a CC
//! algorithm ([`Kid::cc_algorithm`]), with a redundancy check a CRC ([`Kid::rc_algorithm`]).

use serde::{Deserialize, Serialize};

use super::spi::Checksum;

/// KIc / KID b2b1: the algorithm family (TS 102 225 §5.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlgorithmFamily {
    /// `00`: algorithm known implicitly by both entities.
    Implicit,
    /// `01`: DES family (DES, triple DES).
    Des,
    /// `10`: AES.
    Aes,
    /// `11`: proprietary implementations.
    Proprietary,
}

impl AlgorithmFamily {
    const fn from_bits(b: u8) -> Self {
        match b & 0b11 {
            0 => Self::Implicit,
            1 => Self::Des,
            2 => Self::Aes,
            _ => Self::Proprietary,
        }
    }
}

/// The ciphering algorithm a KIc names (TS 102 225 §5.1.2).
///
/// `DesCbc` (b4b3 `00`) and `DesEcb` (`11`) are "reserved for DES as defined in previous releases" in
/// recent versions of TS 102 225; they are still named here because legacy cards use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CipherAlgorithm {
    /// Family `00`: known implicitly.
    Implicit,
    /// DES `00`: single DES in CBC mode.
    DesCbc,
    /// DES `01`: triple DES in outer-CBC mode with two keys.
    TripleDesCbc2Key,
    /// DES `10`: triple DES in outer-CBC mode with three keys.
    TripleDesCbc3Key,
    /// DES `11`: single DES in ECB mode.
    DesEcb,
    /// AES `00`: AES in CBC mode (key length from the key itself: 16, 24 or 32 bytes).
    AesCbc,
    /// AES with b4b3 other than `00`: reserved.
    Reserved,
    /// Family `11`: proprietary.
    Proprietary,
}

/// The cryptographic-checksum algorithm a KID names when SPI1 b2b1 = `10` (TS 102 225 §5.1.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CcAlgorithm {
    /// Family `00`: known implicitly.
    Implicit,
    /// DES `00`: single-DES CBC-MAC (legacy).
    DesCbcMac,
    /// DES `01`: triple DES outer-CBC MAC, two keys.
    TripleDesCbc2Key,
    /// DES `10`: triple DES outer-CBC MAC, three keys.
    TripleDesCbc3Key,
    /// AES `00`: AES-CMAC (NIST SP 800-38B); the CC length (4 or 8) follows from the CHL.
    AesCmac,
    /// DES `11` or AES other than `00`: reserved.
    Reserved,
    /// Family `11`: proprietary.
    Proprietary,
}

/// The redundancy-check algorithm a KID names when SPI1 b2b1 = `01` (TS 102 225 §5.1.3.2, Annex B).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RcAlgorithm {
    /// b2b1 `00`: known implicitly.
    Implicit,
    /// CRC b4b3 `00`: CRC-16 (ISO/IEC 13239), 2 bytes.
    Crc16,
    /// CRC b4b3 `01`: CRC-32 (ISO/IEC 13239), 4 bytes.
    Crc32,
    /// b2b1 `10`, or CRC with b4b3 `1x`: reserved.
    Reserved,
    /// b2b1 `11`: proprietary.
    Proprietary,
}

/// What a KID means, given the SPI's checksum field (see [`Kid::algorithm`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KidAlgorithm {
    /// SPI says no RC/CC/DS: the KID is not used.
    None,
    /// A redundancy check.
    Rc(RcAlgorithm),
    /// A cryptographic checksum.
    Cc(CcAlgorithm),
    /// A digital signature: TS 102 225 leaves the KID coding to the implementation, so no typed reading.
    Ds,
}

/// Key identifier for ciphering, KIc (TS 102 225 §5.1.2), stored raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Kic(#[serde(with = "crate::hexser::byte")] pub u8);

/// Key identifier for RC/CC/DS, KID (TS 102 225 §5.1.3), stored raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Kid(#[serde(with = "crate::hexser::byte")] pub u8);

/// Shared getters of the two key identifiers.
macro_rules! key_id_common {
    ($t:ident) => {
        impl $t {
            /// b8..b5: the key version number (the keyset's KVN, 0..=15).
            #[must_use]
            pub const fn key_version(&self) -> u8 {
                self.0 >> 4
            }

            /// b4b3: the algorithm mode within the family (0..=3).
            #[must_use]
            pub const fn mode(&self) -> u8 {
                (self.0 >> 2) & 0b11
            }

            /// b2b1: the algorithm family.
            #[must_use]
            pub const fn family(&self) -> AlgorithmFamily {
                AlgorithmFamily::from_bits(self.0)
            }

            /// The identifier from its fields; `None` when `kvn > 15` or `mode > 3`.
            #[must_use]
            pub const fn from_parts(kvn: u8, mode: u8, family: AlgorithmFamily) -> Option<Self> {
                if kvn > 15 || mode > 3 {
                    return None;
                }
                let f = match family {
                    AlgorithmFamily::Implicit => 0,
                    AlgorithmFamily::Des => 1,
                    AlgorithmFamily::Aes => 2,
                    AlgorithmFamily::Proprietary => 3,
                };
                Some(Self((kvn << 4) | (mode << 2) | f))
            }
        }
    };
}

key_id_common!(Kic);
key_id_common!(Kid);

impl Kic {
    /// The ciphering algorithm.
    #[must_use]
    pub const fn cipher(&self) -> CipherAlgorithm {
        match (self.family(), self.mode()) {
            (AlgorithmFamily::Implicit, _) => CipherAlgorithm::Implicit,
            (AlgorithmFamily::Des, 0) => CipherAlgorithm::DesCbc,
            (AlgorithmFamily::Des, 1) => CipherAlgorithm::TripleDesCbc2Key,
            (AlgorithmFamily::Des, 2) => CipherAlgorithm::TripleDesCbc3Key,
            (AlgorithmFamily::Des, _) => CipherAlgorithm::DesEcb,
            (AlgorithmFamily::Aes, 0) => CipherAlgorithm::AesCbc,
            (AlgorithmFamily::Aes, _) => CipherAlgorithm::Reserved,
            (AlgorithmFamily::Proprietary, _) => CipherAlgorithm::Proprietary,
        }
    }

    /// Builder: the KIc for `alg` with key version `kvn`. `None` for `kvn > 15` and for
    /// [`CipherAlgorithm::Reserved`] (which has no single coding). `Implicit` and `Proprietary` get mode 0.
    #[must_use]
    pub const fn for_cipher(kvn: u8, alg: CipherAlgorithm) -> Option<Self> {
        let (mode, family) = match alg {
            CipherAlgorithm::Implicit => (0, AlgorithmFamily::Implicit),
            CipherAlgorithm::DesCbc => (0, AlgorithmFamily::Des),
            CipherAlgorithm::TripleDesCbc2Key => (1, AlgorithmFamily::Des),
            CipherAlgorithm::TripleDesCbc3Key => (2, AlgorithmFamily::Des),
            CipherAlgorithm::DesEcb => (3, AlgorithmFamily::Des),
            CipherAlgorithm::AesCbc => (0, AlgorithmFamily::Aes),
            CipherAlgorithm::Proprietary => (0, AlgorithmFamily::Proprietary),
            CipherAlgorithm::Reserved => return None,
        };
        Self::from_parts(kvn, mode, family)
    }
}

impl Kid {
    /// The KID read as a cryptographic-checksum algorithm (SPI1 b2b1 = `10`).
    #[must_use]
    pub const fn cc_algorithm(&self) -> CcAlgorithm {
        match (self.family(), self.mode()) {
            (AlgorithmFamily::Implicit, _) => CcAlgorithm::Implicit,
            (AlgorithmFamily::Des, 0) => CcAlgorithm::DesCbcMac,
            (AlgorithmFamily::Des, 1) => CcAlgorithm::TripleDesCbc2Key,
            (AlgorithmFamily::Des, 2) => CcAlgorithm::TripleDesCbc3Key,
            (AlgorithmFamily::Aes, 0) => CcAlgorithm::AesCmac,
            (AlgorithmFamily::Des | AlgorithmFamily::Aes, _) => CcAlgorithm::Reserved,
            (AlgorithmFamily::Proprietary, _) => CcAlgorithm::Proprietary,
        }
    }

    /// The KID read as a redundancy-check algorithm (SPI1 b2b1 = `01`).
    #[must_use]
    pub const fn rc_algorithm(&self) -> RcAlgorithm {
        match (self.0 & 0b11, self.mode()) {
            (0, _) => RcAlgorithm::Implicit,
            (1, 0) => RcAlgorithm::Crc16,
            (1, 1) => RcAlgorithm::Crc32,
            (3, _) => RcAlgorithm::Proprietary,
            _ => RcAlgorithm::Reserved,
        }
    }

    /// The KID read the way `checksum` (SPI1 b2b1 for a command, SPI2 b4b3 for a PoR) says.
    #[must_use]
    pub const fn algorithm(&self, checksum: Checksum) -> KidAlgorithm {
        match checksum {
            Checksum::None => KidAlgorithm::None,
            Checksum::Rc => KidAlgorithm::Rc(self.rc_algorithm()),
            Checksum::Cc => KidAlgorithm::Cc(self.cc_algorithm()),
            Checksum::Ds => KidAlgorithm::Ds,
        }
    }

    /// Builder: the KID for a CC algorithm. `None` for `kvn > 15` and for [`CcAlgorithm::Reserved`].
    #[must_use]
    pub const fn for_cc(kvn: u8, alg: CcAlgorithm) -> Option<Self> {
        let (mode, family) = match alg {
            CcAlgorithm::Implicit => (0, AlgorithmFamily::Implicit),
            CcAlgorithm::DesCbcMac => (0, AlgorithmFamily::Des),
            CcAlgorithm::TripleDesCbc2Key => (1, AlgorithmFamily::Des),
            CcAlgorithm::TripleDesCbc3Key => (2, AlgorithmFamily::Des),
            CcAlgorithm::AesCmac => (0, AlgorithmFamily::Aes),
            CcAlgorithm::Proprietary => (0, AlgorithmFamily::Proprietary),
            CcAlgorithm::Reserved => return None,
        };
        Self::from_parts(kvn, mode, family)
    }

    /// Builder: the KID for an RC algorithm. `None` for `kvn > 15` and for [`RcAlgorithm::Reserved`].
    #[must_use]
    pub const fn for_rc(kvn: u8, alg: RcAlgorithm) -> Option<Self> {
        let (mode, family) = match alg {
            RcAlgorithm::Implicit => (0, AlgorithmFamily::Implicit),
            RcAlgorithm::Crc16 => (0, AlgorithmFamily::Des),
            RcAlgorithm::Crc32 => (1, AlgorithmFamily::Des),
            RcAlgorithm::Proprietary => (0, AlgorithmFamily::Proprietary),
            RcAlgorithm::Reserved => return None,
        };
        Self::from_parts(kvn, mode, family)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_key_identifiers() {
        // 0x15: KVN 1, 3DES 2-key (pySim/asterix 3DES vectors).
        let k = Kic(0x15);
        assert_eq!(k.key_version(), 1);
        assert_eq!(k.cipher(), CipherAlgorithm::TripleDesCbc2Key);
        assert_eq!(Kid(0x15).cc_algorithm(), CcAlgorithm::TripleDesCbc2Key);
        // Same octet read for RC is CRC-32 (the coincidence pySim relies on).
        assert_eq!(Kid(0x15).rc_algorithm(), RcAlgorithm::Crc32);
        // 0x22: KVN 2, AES-CBC / AES-CMAC.
        assert_eq!(Kic(0x22).cipher(), CipherAlgorithm::AesCbc);
        assert_eq!(Kid(0x22).cc_algorithm(), CcAlgorithm::AesCmac);
        assert_eq!(Kid(0x22).key_version(), 2);
        // 0x12 read as RC: b2b1 = 10 is reserved (the smpp2sim envelope's KID).
        assert_eq!(Kid(0x12).rc_algorithm(), RcAlgorithm::Reserved);
        assert_eq!(Kid(0x11).rc_algorithm(), RcAlgorithm::Crc16);
        assert_eq!(Kic(0x0D).cipher(), CipherAlgorithm::DesEcb);
        assert_eq!(Kid(0x0D).cc_algorithm(), CcAlgorithm::Reserved);
        assert_eq!(Kic(0x26).cipher(), CipherAlgorithm::Reserved);
        assert_eq!(Kic(0x33).cipher(), CipherAlgorithm::Proprietary);
        assert_eq!(Kid(0x15).algorithm(Checksum::Cc), KidAlgorithm::Cc(CcAlgorithm::TripleDesCbc2Key));
        assert_eq!(Kid(0x15).algorithm(Checksum::Rc), KidAlgorithm::Rc(RcAlgorithm::Crc32));
        assert_eq!(Kid(0x15).algorithm(Checksum::None), KidAlgorithm::None);
    }

    #[test]
    fn builders_invert_getters() {
        for b in 0..=255u8 {
            let k = Kic(b);
            if k.cipher() != CipherAlgorithm::Reserved
                && k.family() != AlgorithmFamily::Implicit
                && b & 3 != 3
            {
                assert_eq!(Kic::for_cipher(k.key_version(), k.cipher()), Some(k));
            }
            assert_eq!(Kic::from_parts(k.key_version(), k.mode(), k.family()), Some(k));
            let d = Kid(b);
            assert_eq!(Kid::from_parts(d.key_version(), d.mode(), d.family()), Some(d));
            if matches!(
                d.cc_algorithm(),
                CcAlgorithm::DesCbcMac | CcAlgorithm::TripleDesCbc2Key | CcAlgorithm::AesCmac
            ) {
                assert_eq!(Kid::for_cc(d.key_version(), d.cc_algorithm()), Some(d));
            }
            if matches!(d.rc_algorithm(), RcAlgorithm::Crc16 | RcAlgorithm::Crc32) {
                assert_eq!(Kid::for_rc(d.key_version(), d.rc_algorithm()), Some(d));
            }
        }
        assert_eq!(Kic::for_cipher(16, CipherAlgorithm::AesCbc), None);
        assert_eq!(Kic::for_cipher(1, CipherAlgorithm::Reserved), None);
        assert_eq!(Kid::for_rc(1, RcAlgorithm::Crc32), Some(Kid(0x15)));
        assert_eq!(Kid::for_cc(3, CcAlgorithm::AesCmac), Some(Kid(0x32)));
    }
}

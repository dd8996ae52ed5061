//! [`RustCryptoProvider`]: SCP80 cryptography on the RustCrypto `aes` block cipher, this crate's table-driven
//! DES ([`super::des`]; key schedules zeroized on drop) and the `crc` crate.

use std::fmt;

use aes::cipher::{Block, BlockCipherDecrypt, BlockCipherEncrypt, BlockSizeUser, KeyInit};
use aes::{Aes128, Aes192, Aes256};
use crc::{CRC_16_IBM_SDLC, CRC_32_ISO_HDLC, Crc, Table};

use super::des::{Des, TdesEde2, TdesEde3};
use super::modes::{CmacKey, cbc_decrypt, cbc_encrypt, cbc_mac, ecb_decrypt, ecb_encrypt};
use super::{
    ChecksumAlgorithm, ChecksumValue, CipherAlgorithm, CryptoError, ExpandedChecksum, ExpandedCipher,
    SecurityProvider,
};
use crate::keys::SecretKey;

/// CRC-16/X-25 = CRC-16/IBM-SDLC in the CRC catalogue (ISO/IEC 13239 16-bit FCS), TS 102 225 §5.1.3.
static CRC16: Crc<u16, Table<16>> = Crc::<u16, Table<16>>::new(&CRC_16_IBM_SDLC);
/// CRC-32/ISO-HDLC (ISO/IEC 13239 32-bit FCS, zlib), TS 102 225 §5.1.3.
static CRC32: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISO_HDLC);

/// The production [`SecurityProvider`]: RustCrypto block ciphers (AES-NI when the CPU has it) with the modes
/// of this crate, and table-driven CRCs.
#[derive(Debug, Clone, Copy, Default)]
pub struct RustCryptoProvider;

impl RustCryptoProvider {
    /// The provider (it has no state).
    #[must_use]
    pub const fn new() -> Self {
        Self
    }
}

fn init<C: KeyInit>(
    key: &SecretKey,
    algorithm: &'static str,
    expected: &'static str,
) -> Result<C, CryptoError> {
    C::new_from_slice(key.expose_secret()).map_err(|_| CryptoError::KeyLength {
        algorithm,
        expected,
        actual: key.len(),
    })
}

/// Checks that `len` is a whole number of blocks of `C` (a type-level constant: a mask, not a division
/// or a lookup of the algorithm's block length per call). The error names `algorithm`.
#[inline(always)]
fn check_aligned<C: BlockSizeUser>(algorithm: CipherAlgorithm, len: usize) -> Result<(), CryptoError> {
    let block = C::block_size();
    if block != 0 && len.is_multiple_of(block) { Ok(()) } else { Err(not_aligned(algorithm, len, block)) }
}

#[cold]
fn not_aligned(algorithm: CipherAlgorithm, len: usize, block: usize) -> CryptoError {
    CryptoError::NotBlockAligned { algorithm: algorithm.name(), len, block }
}

/// CBC with a zero IV over a pre-expanded block cipher.
struct CbcCipher<C> {
    algorithm: CipherAlgorithm,
    cipher: C,
}

/// ECB over a pre-expanded block cipher.
struct EcbCipher<C> {
    algorithm: CipherAlgorithm,
    cipher: C,
}

impl<C> fmt::Debug for CbcCipher<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CbcCipher").field("algorithm", &self.algorithm).field("key", &"<redacted>").finish()
    }
}

impl<C> fmt::Debug for EcbCipher<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EcbCipher").field("algorithm", &self.algorithm).field("key", &"<redacted>").finish()
    }
}

impl<C> ExpandedCipher for CbcCipher<C>
where
    C: BlockCipherEncrypt + BlockCipherDecrypt + Send + Sync,
{
    fn algorithm(&self) -> CipherAlgorithm {
        self.algorithm
    }

    fn block_len(&self) -> usize {
        self.algorithm.block_len()
    }

    fn encrypt(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        check_aligned::<C>(self.algorithm, buf.len())?;
        cbc_encrypt(&self.cipher, &Block::<C>::default(), buf);
        Ok(())
    }

    fn decrypt(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        check_aligned::<C>(self.algorithm, buf.len())?;
        cbc_decrypt(&self.cipher, &Block::<C>::default(), buf);
        Ok(())
    }
}

impl<C> ExpandedCipher for EcbCipher<C>
where
    C: BlockCipherEncrypt + BlockCipherDecrypt + Send + Sync,
{
    fn algorithm(&self) -> CipherAlgorithm {
        self.algorithm
    }

    fn block_len(&self) -> usize {
        self.algorithm.block_len()
    }

    fn encrypt(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        check_aligned::<C>(self.algorithm, buf.len())?;
        ecb_encrypt(&self.cipher, buf);
        Ok(())
    }

    fn decrypt(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        check_aligned::<C>(self.algorithm, buf.len())?;
        ecb_decrypt(&self.cipher, buf);
        Ok(())
    }
}

/// DES / 3DES CBC-MAC (ISO/IEC 9797-1 MAC algorithm 1, padding method 1, IV 0), 8 bytes.
struct CbcMacChecksum<C> {
    algorithm: ChecksumAlgorithm,
    cipher: C,
}

impl<C> fmt::Debug for CbcMacChecksum<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CbcMacChecksum")
            .field("algorithm", &self.algorithm)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl<C: BlockCipherEncrypt + Send + Sync> ExpandedChecksum for CbcMacChecksum<C> {
    fn algorithm(&self) -> ChecksumAlgorithm {
        self.algorithm
    }

    fn field_len(&self) -> usize {
        8
    }

    fn compute(&self, parts: &[&[u8]]) -> ChecksumValue {
        let mac = cbc_mac(&self.cipher, parts);
        ChecksumValue::new(&mac, 8)
    }
}

/// AES-CMAC truncated to 8 or 4 bytes (the leftmost), subkeys derived at expansion.
struct CmacChecksum<C: BlockCipherEncrypt> {
    algorithm: ChecksumAlgorithm,
    len: usize,
    key: CmacKey<C>,
}

impl<C: BlockCipherEncrypt> fmt::Debug for CmacChecksum<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CmacChecksum")
            .field("algorithm", &self.algorithm)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl<C: BlockCipherEncrypt + Send + Sync> ExpandedChecksum for CmacChecksum<C> {
    fn algorithm(&self) -> ChecksumAlgorithm {
        self.algorithm
    }

    fn field_len(&self) -> usize {
        self.len
    }

    fn compute(&self, parts: &[&[u8]]) -> ChecksumValue {
        ChecksumValue::new(&self.key.tag(parts), self.len)
    }
}

/// CRC16 / CRC32 redundancy checks, big-endian in the RC field.
#[derive(Debug)]
struct CrcChecksum {
    algorithm: ChecksumAlgorithm,
}

impl ExpandedChecksum for CrcChecksum {
    fn algorithm(&self) -> ChecksumAlgorithm {
        self.algorithm
    }

    fn field_len(&self) -> usize {
        if self.algorithm == ChecksumAlgorithm::Crc16 { 2 } else { 4 }
    }

    fn compute(&self, parts: &[&[u8]]) -> ChecksumValue {
        if self.algorithm == ChecksumAlgorithm::Crc16 {
            let mut d = CRC16.digest();
            for p in parts {
                d.update(p);
            }
            ChecksumValue::new(&d.finalize().to_be_bytes(), 2)
        } else {
            let mut d = CRC32.digest();
            for p in parts {
                d.update(p);
            }
            ChecksumValue::new(&d.finalize().to_be_bytes(), 4)
        }
    }
}

static CRC16_CHECK: CrcChecksum = CrcChecksum { algorithm: ChecksumAlgorithm::Crc16 };
static CRC32_CHECK: CrcChecksum = CrcChecksum { algorithm: ChecksumAlgorithm::Crc32 };

/// The keyless redundancy checks CRC16 and CRC32 (TS 102 225 §5.1.3.2, Annex B) as shared static objects;
/// `None` for any other algorithm. A receiving entity uses them for an RC whose KID names its CRC
/// explicitly, whatever keyset (if any) the KID's key version names.
#[must_use]
pub fn redundancy_check(algorithm: ChecksumAlgorithm) -> Option<&'static dyn ExpandedChecksum> {
    match algorithm {
        ChecksumAlgorithm::Crc16 => Some(&CRC16_CHECK),
        ChecksumAlgorithm::Crc32 => Some(&CRC32_CHECK),
        _ => None,
    }
}

fn cbc<C>(algorithm: CipherAlgorithm, cipher: C) -> Box<dyn ExpandedCipher>
where
    C: BlockCipherEncrypt + BlockCipherDecrypt + Send + Sync + 'static,
{
    Box::new(CbcCipher { algorithm, cipher })
}

fn cmac<C>(algorithm: ChecksumAlgorithm, len: usize, cipher: C) -> Box<dyn ExpandedChecksum>
where
    C: BlockCipherEncrypt + Send + Sync + 'static,
{
    Box::new(CmacChecksum { algorithm, len, key: CmacKey::new(cipher) })
}

fn cbc_mac_box<C>(algorithm: ChecksumAlgorithm, cipher: C) -> Box<dyn ExpandedChecksum>
where
    C: BlockCipherEncrypt + Send + Sync + 'static,
{
    Box::new(CbcMacChecksum { algorithm, cipher })
}

impl SecurityProvider for RustCryptoProvider {
    fn name(&self) -> &'static str {
        "rustcrypto"
    }

    fn expand_cipher(
        &self,
        algorithm: CipherAlgorithm,
        key: &SecretKey,
    ) -> Result<Box<dyn ExpandedCipher>, CryptoError> {
        algorithm.check_key_len(key.len())?;
        let name = algorithm.name();
        Ok(match (algorithm, key.len()) {
            (CipherAlgorithm::DesCbc, _) => cbc(algorithm, init::<Des>(key, name, "8")?),
            (CipherAlgorithm::DesEcb, _) => {
                Box::new(EcbCipher { algorithm, cipher: init::<Des>(key, name, "8")? })
            }
            (CipherAlgorithm::TripleDes2Ecb, _) => {
                Box::new(EcbCipher { algorithm, cipher: init::<TdesEde2>(key, name, "16")? })
            }
            (CipherAlgorithm::TripleDes3Ecb, _) => {
                Box::new(EcbCipher { algorithm, cipher: init::<TdesEde3>(key, name, "24")? })
            }
            (CipherAlgorithm::TripleDes2Cbc, _) => cbc(algorithm, init::<TdesEde2>(key, name, "16")?),
            (CipherAlgorithm::TripleDes3Cbc, _) => cbc(algorithm, init::<TdesEde3>(key, name, "24")?),
            (CipherAlgorithm::AesCbc, 16) => cbc(algorithm, init::<Aes128>(key, name, "16")?),
            (CipherAlgorithm::AesCbc, 24) => cbc(algorithm, init::<Aes192>(key, name, "24")?),
            (CipherAlgorithm::AesCbc, _) => cbc(algorithm, init::<Aes256>(key, name, "32")?),
            (CipherAlgorithm::Proprietary(_), _) => {
                return Err(CryptoError::Unsupported { what: "proprietary KIc algorithm (b2b1 = 11)" });
            }
        })
    }

    fn expand_checksum(
        &self,
        algorithm: ChecksumAlgorithm,
        key: Option<&SecretKey>,
    ) -> Result<Box<dyn ExpandedChecksum>, CryptoError> {
        algorithm.check_key_len(key.map(SecretKey::len))?;
        let name = algorithm.name();
        let key = match (algorithm, key) {
            (ChecksumAlgorithm::Crc16 | ChecksumAlgorithm::Crc32, _) => {
                return Ok(Box::new(CrcChecksum { algorithm }));
            }
            (_, Some(k)) => k,
            (_, None) => return Err(CryptoError::MissingKey { algorithm: name }),
        };
        Ok(match (algorithm, key.len()) {
            (ChecksumAlgorithm::DesMac, _) => cbc_mac_box(algorithm, init::<Des>(key, name, "8")?),
            (ChecksumAlgorithm::TdesMac2, _) => cbc_mac_box(algorithm, init::<TdesEde2>(key, name, "16")?),
            (ChecksumAlgorithm::TdesMac3, _) => cbc_mac_box(algorithm, init::<TdesEde3>(key, name, "24")?),
            (ChecksumAlgorithm::AesCmac { len }, 16) => {
                cmac(algorithm, len.bytes(), init::<Aes128>(key, name, "16")?)
            }
            (ChecksumAlgorithm::AesCmac { len }, 24) => {
                cmac(algorithm, len.bytes(), init::<Aes192>(key, name, "24")?)
            }
            (ChecksumAlgorithm::AesCmac { len }, _) => {
                cmac(algorithm, len.bytes(), init::<Aes256>(key, name, "32")?)
            }
            (ChecksumAlgorithm::Crc16 | ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Proprietary(_), _) => {
                return Err(CryptoError::Unsupported { what: "proprietary KID algorithm (b2b1 = 11)" });
            }
        })
    }
}

//! Keys and keysets of SCP80 (ETSI TS 102 225 §5.1.2–5.1.3 and Annex A), and the key file format.
//!
//! - [`SecretKey`]: key bytes (1 to 32) that are zeroized on drop, print as `<redacted>`, have no
//!   `Display` and no `Serialize`, and compare in constant time. [`SecretKey::ct_eq_des`] ignores the DES
//!   parity bits; [`CipherKeySpec`] and [`ChecksumKeySpec`] use it for DES-family keys, so that two keys
//!   that differ only in parity bits (which DES ignores) compare equal.
//! - [`Kvn`]: key version number 1..=15 (the high nibble of KIc/KID).
//! - [`Keyset`]: one KVN with its KIc (key id 1), KID (key id 2) and optional KIK (key id 3, the key that
//!   ciphers keys in PUT KEY), each with its algorithm, expanded once through a
//!   [`SecurityProvider`]. A keyset also carries the two keyless redundancy
//!   checks (CRC16, CRC32), so that a packet with an RC can be checked whatever the KID holds.
//!   [`Keyset::cipher_for_kic`] / [`Keyset::checksum_for_kid`] resolve a packet's KIc / KID byte to the
//!   expanded key, checking the KVN and the algorithm.
//! - [`Keysets`]: the keysets of one card (or one profile) by KVN, loaded from a TOML key file.
//!
//! # Key file format
//!
//! A key file holds the keysets of one card (or of one test profile). It is TOML; every key is hex (upper or
//! lower case; spaces and colons are ignored). Unknown fields are errors, so that a typo cannot silently
//! drop a key.
//!
//! ```toml
//! [[keyset]]
//! kvn = 1                                                          # 1..=15, unique in the file
//! kic = { algorithm = "aes", key = "000102030405060708090a0b0c0d0e0f" }
//! kid = { algorithm = "aes-cmac", key = "101112131415161718191a1b1c1d1e1f", mac_len = 8 }
//! kik = { algorithm = "3des2", key = "202122232425262728292a2b2c2d2e2f" }    # optional
//!
//! [[keyset]]
//! kvn = 2
//! kic = { algorithm = "3des2", key = "…" }
//! kid = { algorithm = "crc32" }                                    # RC: no key
//! ```
//!
//! | field | `algorithm` | key length (bytes) |
//! |---|---|---|
//! | `kic`, `kik` | `des` (DES-CBC), `des-ecb` | 8 |
//! | | `3des2` (3DES outer-CBC, 2 keys) | 16 |
//! | | `3des3` (3DES outer-CBC, 3 keys) | 24 |
//! | | `3des2-ecb`, `3des3-ecb` (3DES in ECB mode; implicit KIc only) | 16, 24 |
//! | | `aes` (AES-CBC) | 16, 24 or 32 |
//! | `kid` | `des-mac` | 8 |
//! | | `3des2-mac` | 16 |
//! | | `3des3-mac` | 24 |
//! | | `aes-cmac`, with `mac_len` 8 (default) or 4 | 16, 24 or 32 |
//! | | `crc16`, `crc32` (redundancy checks) | none: `key` must be absent |
//!
//! `mac_len` is allowed only with `aes-cmac`. `kic` and `kid` are required: a keyset that is only ever used
//! without ciphering still names its KIc algorithm, because the KIc byte of every packet names it.
//!
//! The file text is zeroized after parsing ([`Keysets::load`]), but the TOML parser's own temporary copies
//! are not under our control; keep key files readable by their owner only. Error messages never quote key
//! values (TOML syntax errors give the line and column, not the line's text).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, Zeroizing};

use crate::crypto::{
    ChecksumAlgorithm, ChecksumKind, CipherAlgorithm, CmacLen, CryptoError, ExpandedChecksum, ExpandedCipher,
    SecurityProvider,
};

/// The longest key: AES-256.
pub const MAX_KEY_LEN: usize = 32;

/// Secret key bytes (1..=32 bytes): zeroized on drop, redacted in `Debug`, no `Display`, no `Serialize`,
/// compared in constant time.
///
/// `PartialEq` compares the exact bytes in constant time (the lengths are not secret). Use
/// [`ct_eq_des`](Self::ct_eq_des), or compare [`CipherKeySpec`]s, to ignore DES parity bits.
#[derive(Clone)]
pub struct SecretKey {
    bytes: [u8; MAX_KEY_LEN],
    len: u8,
}

impl SecretKey {
    /// Copies key bytes.
    ///
    /// # Errors
    /// [`CryptoError::InvalidKey`] when `bytes` is empty or longer than [`MAX_KEY_LEN`].
    pub fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        if bytes.is_empty() {
            return Err(CryptoError::InvalidKey { reason: "empty key" });
        }
        if bytes.len() > MAX_KEY_LEN {
            return Err(CryptoError::InvalidKey { reason: "longer than 32 bytes" });
        }
        let mut key = Self { bytes: [0; MAX_KEY_LEN], len: bytes.len() as u8 };
        if let Some(dst) = key.bytes.get_mut(..bytes.len()) {
            dst.copy_from_slice(bytes);
        }
        Ok(key)
    }

    /// Parses hex (upper or lower case; ASCII whitespace and colons ignored) straight into the key, with no
    /// intermediate copy on the heap.
    ///
    /// # Errors
    /// [`CryptoError::InvalidKey`] for a non-hex character, an odd number of digits, an empty key or more
    /// than 32 bytes. The message never quotes the text.
    pub fn from_hex(text: &str) -> Result<Self, CryptoError> {
        let mut key = Self { bytes: [0; MAX_KEY_LEN], len: 0 };
        let mut high: Option<u8> = None;
        let mut n = 0usize;
        for c in text.bytes() {
            if c.is_ascii_whitespace() || c == b':' {
                continue;
            }
            let v = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => return Err(CryptoError::InvalidKey { reason: "not a hex digit" }),
            };
            match high.take() {
                None => high = Some(v),
                Some(h) => {
                    let Some(slot) = key.bytes.get_mut(n) else {
                        return Err(CryptoError::InvalidKey { reason: "longer than 32 bytes" });
                    };
                    *slot = (h << 4) | v;
                    n += 1;
                }
            }
        }
        if high.is_some() {
            return Err(CryptoError::InvalidKey { reason: "odd number of hex digits" });
        }
        if n == 0 {
            return Err(CryptoError::InvalidKey { reason: "empty key" });
        }
        key.len = n as u8;
        Ok(key)
    }

    /// The key bytes. Named so that every use stands out in review; never log them.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// The key length in bytes.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Always false: a key has at least one byte.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Constant-time comparison that ignores the least significant bit of every byte (the DES parity bit,
    /// which the DES key schedule drops). Lengths are compared first (they are not secret).
    #[must_use]
    pub fn ct_eq_des(&self, other: &Self) -> Choice {
        if self.len != other.len {
            return Choice::from(0);
        }
        let mut diff = 0u8;
        for (a, b) in self.expose_secret().iter().zip(other.expose_secret()) {
            diff |= (a ^ b) & 0xFE;
        }
        diff.ct_eq(&0)
    }
}

impl ConstantTimeEq for SecretKey {
    fn ct_eq(&self, other: &Self) -> Choice {
        if self.len != other.len {
            return Choice::from(0);
        }
        self.expose_secret().ct_eq(other.expose_secret())
    }
}

impl PartialEq for SecretKey {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.ct_eq(other))
    }
}

impl Eq for SecretKey {}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
        self.len = 0;
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// Reads a key from a hex string (the text is zeroized afterwards). There is deliberately no `Serialize`.
impl<'de> Deserialize<'de> for SecretKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Zeroizing::new(String::deserialize(d)?);
        Self::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// A key version number, 1..=15 (TS 102 225 §5.1.2: b8..b5 of KIc and KID; GlobalPlatform KVN of the SCP80
/// keyset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Kvn(u8);

impl Kvn {
    /// Checks the range.
    ///
    /// # Errors
    /// [`CryptoError::InvalidKvn`] outside 1..=15.
    pub const fn new(kvn: u8) -> Result<Self, CryptoError> {
        if kvn >= 1 && kvn <= 15 { Ok(Self(kvn)) } else { Err(CryptoError::InvalidKvn(kvn)) }
    }

    /// The number.
    #[must_use]
    pub const fn get(self) -> u8 {
        self.0
    }

    /// The key version named by a KIc or KID byte (its high nibble; 0 is not a KVN).
    ///
    /// # Errors
    /// [`CryptoError::InvalidKvn`] when the nibble is 0.
    pub const fn of_key_byte(byte: u8) -> Result<Self, CryptoError> {
        Self::new(byte >> 4)
    }
}

impl TryFrom<u8> for Kvn {
    type Error = CryptoError;
    fn try_from(v: u8) -> Result<Self, CryptoError> {
        Self::new(v)
    }
}

impl From<Kvn> for u8 {
    fn from(k: Kvn) -> u8 {
        k.0
    }
}

impl fmt::Display for Kvn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A cipher key (KIc or KIK) with its algorithm, length-checked.
///
/// Equality is constant time and ignores DES parity bits for DES-family algorithms.
#[derive(Debug, Clone)]
pub struct CipherKeySpec {
    algorithm: CipherAlgorithm,
    key: SecretKey,
}

impl CipherKeySpec {
    /// Checks that the key fits the algorithm.
    ///
    /// # Errors
    /// [`CryptoError::KeyLength`] (e.g. a 16-byte key for DES), [`CryptoError::Unsupported`] for proprietary
    /// algorithms.
    pub fn new(algorithm: CipherAlgorithm, key: SecretKey) -> Result<Self, CryptoError> {
        algorithm.check_key_len(key.len())?;
        Ok(Self { algorithm, key })
    }

    /// The algorithm.
    #[must_use]
    pub const fn algorithm(&self) -> CipherAlgorithm {
        self.algorithm
    }

    /// The key.
    #[must_use]
    pub const fn key(&self) -> &SecretKey {
        &self.key
    }
}

impl PartialEq for CipherKeySpec {
    fn eq(&self, other: &Self) -> bool {
        self.algorithm == other.algorithm
            && bool::from(if self.algorithm.is_des() {
                self.key.ct_eq_des(&other.key)
            } else {
                self.key.ct_eq(&other.key)
            })
    }
}

impl Eq for CipherKeySpec {}

/// A KID: a checksum algorithm with its key (none for the CRCs), length-checked.
///
/// Equality is constant time and ignores DES parity bits for DES-family algorithms.
#[derive(Debug, Clone)]
pub struct ChecksumKeySpec {
    algorithm: ChecksumAlgorithm,
    key: Option<SecretKey>,
}

impl ChecksumKeySpec {
    /// Checks that the key fits the algorithm (and that CRCs get none).
    ///
    /// # Errors
    /// [`CryptoError::KeyLength`], [`CryptoError::MissingKey`], [`CryptoError::UnexpectedKey`],
    /// [`CryptoError::Unsupported`].
    pub fn new(algorithm: ChecksumAlgorithm, key: Option<SecretKey>) -> Result<Self, CryptoError> {
        algorithm.check_key_len(key.as_ref().map(SecretKey::len))?;
        Ok(Self { algorithm, key })
    }

    /// The algorithm.
    #[must_use]
    pub const fn algorithm(&self) -> ChecksumAlgorithm {
        self.algorithm
    }

    /// The key (`None` for the CRCs).
    #[must_use]
    pub const fn key(&self) -> Option<&SecretKey> {
        self.key.as_ref()
    }
}

impl PartialEq for ChecksumKeySpec {
    fn eq(&self, other: &Self) -> bool {
        self.algorithm == other.algorithm
            && match (&self.key, &other.key) {
                (None, None) => true,
                (Some(a), Some(b)) => {
                    bool::from(if self.algorithm.is_des() { a.ct_eq_des(b) } else { a.ct_eq(b) })
                }
                _ => false,
            }
    }
}

impl Eq for ChecksumKeySpec {}

/// The description of a keyset before its keys are expanded (what a key file entry holds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysetSpec {
    /// The key version number.
    pub kvn: Kvn,
    /// Key id 1: the ciphering key.
    pub kic: CipherKeySpec,
    /// Key id 2: the RC/CC key.
    pub kid: ChecksumKeySpec,
    /// Key id 3: the key-encryption key, if any.
    pub kik: Option<CipherKeySpec>,
}

/// A cipher key and its expanded form.
#[derive(Debug)]
pub struct CipherKey {
    spec: CipherKeySpec,
    expanded: Box<dyn ExpandedCipher>,
}

impl CipherKey {
    /// Expands `spec` with `provider`.
    ///
    /// # Errors
    /// The provider's errors.
    pub fn new(provider: &dyn SecurityProvider, spec: CipherKeySpec) -> Result<Self, CryptoError> {
        let expanded = provider.expand_cipher(spec.algorithm, &spec.key)?;
        Ok(Self { spec, expanded })
    }

    /// The algorithm and key.
    #[must_use]
    pub const fn spec(&self) -> &CipherKeySpec {
        &self.spec
    }

    /// The expanded cipher.
    #[must_use]
    pub fn cipher(&self) -> &dyn ExpandedCipher {
        self.expanded.as_ref()
    }
}

/// A KID key and its expanded form.
#[derive(Debug)]
pub struct ChecksumKey {
    spec: ChecksumKeySpec,
    expanded: Box<dyn ExpandedChecksum>,
}

impl ChecksumKey {
    /// Expands `spec` with `provider`.
    ///
    /// # Errors
    /// The provider's errors.
    pub fn new(provider: &dyn SecurityProvider, spec: ChecksumKeySpec) -> Result<Self, CryptoError> {
        let expanded = provider.expand_checksum(spec.algorithm, spec.key.as_ref())?;
        Ok(Self { spec, expanded })
    }

    /// The algorithm and key.
    #[must_use]
    pub const fn spec(&self) -> &ChecksumKeySpec {
        &self.spec
    }

    /// The expanded checksum.
    #[must_use]
    pub fn checksum(&self) -> &dyn ExpandedChecksum {
        self.expanded.as_ref()
    }
}

/// A keyset: a KVN with its KIc, KID and KIK (TS 102 225 Annex A, table A.1: key ids 1, 2 and 3), each
/// expanded once, plus the keyless CRC16/CRC32 redundancy checks.
#[derive(Debug)]
pub struct Keyset {
    kvn: Kvn,
    kic: CipherKey,
    kid: ChecksumKey,
    kik: Option<CipherKey>,
    crc16: Box<dyn ExpandedChecksum>,
    crc32: Box<dyn ExpandedChecksum>,
    /// [`Keyset::kic_byte`] and [`Keyset::kid_byte`], computed once: every packet's key lookup compares
    /// them.
    kic_byte: u8,
    kid_byte: u8,
}

impl Keyset {
    /// Expands every key of `spec` with `provider`.
    ///
    /// # Errors
    /// The provider's errors (key length, unsupported algorithm).
    pub fn new(provider: &dyn SecurityProvider, spec: KeysetSpec) -> Result<Self, CryptoError> {
        let kic_byte = (spec.kvn.get() << 4) | spec.kic.algorithm.kic_nibble();
        let kid_byte = (spec.kvn.get() << 4) | spec.kid.algorithm.kid_nibble();
        Ok(Self {
            kic_byte,
            kid_byte,
            kvn: spec.kvn,
            kic: CipherKey::new(provider, spec.kic)?,
            kid: ChecksumKey::new(provider, spec.kid)?,
            kik: spec.kik.map(|k| CipherKey::new(provider, k)).transpose()?,
            crc16: provider.expand_checksum(ChecksumAlgorithm::Crc16, None)?,
            crc32: provider.expand_checksum(ChecksumAlgorithm::Crc32, None)?,
        })
    }

    /// The key version number.
    #[must_use]
    pub const fn kvn(&self) -> Kvn {
        self.kvn
    }

    /// Key id 1: the ciphering key.
    #[must_use]
    pub const fn kic(&self) -> &CipherKey {
        &self.kic
    }

    /// Key id 2: the RC/CC key.
    #[must_use]
    pub const fn kid(&self) -> &ChecksumKey {
        &self.kid
    }

    /// Key id 3: the key-encryption key, if the keyset has one.
    #[must_use]
    pub const fn kik(&self) -> Option<&CipherKey> {
        self.kik.as_ref()
    }

    /// The KIc byte for packets sent with this keyset: KVN in b8..b5, the algorithm in b4..b1.
    #[must_use]
    pub const fn kic_byte(&self) -> u8 {
        self.kic_byte
    }

    /// The KID byte for packets sent with this keyset: KVN in b8..b5, the algorithm in b4..b1.
    #[must_use]
    pub const fn kid_byte(&self) -> u8 {
        self.kid_byte
    }

    /// The expanded cipher a received KIc byte asks for: its KVN must be this keyset's, and its algorithm
    /// this keyset's KIc algorithm (or implicit, b2b1 = 00).
    ///
    /// Decision: a KIc naming another algorithm than the keyset's is refused rather than served by
    /// expanding the key again per packet; key files name the algorithm the card's key is used with.
    ///
    /// # Errors
    /// [`CryptoError::KvnMismatch`], [`CryptoError::AlgorithmMismatch`], [`CryptoError::ReservedCoding`].
    #[inline]
    pub fn cipher_for_kic(&self, kic: u8) -> Result<&dyn ExpandedCipher, CryptoError> {
        // Fast path: the keyset's own KIc byte (what every packet sent with this keyset carries).
        if kic == self.kic_byte() {
            return Ok(self.kic.cipher());
        }
        self.cipher_for_other_kic(kic)
    }

    fn cipher_for_other_kic(&self, kic: u8) -> Result<&dyn ExpandedCipher, CryptoError> {
        if kic >> 4 != self.kvn.get() {
            return Err(CryptoError::KvnMismatch { field: "KIc", kvn: self.kvn.get(), requested: kic >> 4 });
        }
        let configured = self.kic.spec.algorithm;
        match CipherAlgorithm::from_kic(kic)? {
            Some(requested) if requested != configured => Err(CryptoError::AlgorithmMismatch {
                field: "KIc",
                configured: configured.name(),
                requested: requested.name(),
            }),
            _ => Ok(self.kic.cipher()),
        }
    }

    /// The expanded checksum a received KID byte asks for, given what the SPI asks for (`kind`).
    ///
    /// - RC: the CRC the KID names (keyless, so the KVN nibble is not checked and the keyset's KID need
    ///   not be a CRC); implicit (b2b1 = 00) means the keyset's KID, which must then be a CRC.
    /// - CC: the KVN must be this keyset's and the algorithm the keyset's KID algorithm (or implicit).
    ///   AES-CMAC matches whatever its truncation; the caller compares [`ExpandedChecksum::field_len`] with the
    ///   length the CHL/RHL gives.
    /// - DS: [`CryptoError::Unsupported`].
    ///
    /// # Errors
    /// [`CryptoError::KvnMismatch`], [`CryptoError::AlgorithmMismatch`], [`CryptoError::ReservedCoding`],
    /// [`CryptoError::Unsupported`].
    #[inline]
    pub fn checksum_for_kid(
        &self,
        kid: u8,
        kind: ChecksumKind,
    ) -> Result<&dyn ExpandedChecksum, CryptoError> {
        let configured = self.kid.spec.algorithm;
        // Fast path: the keyset's own KID byte read the way its algorithm is meant to be read.
        if kid == self.kid_byte()
            && kind == configured.kind()
            && configured.kind() != ChecksumKind::DigitalSignature
        {
            return Ok(self.kid.checksum());
        }
        self.checksum_for_other_kid(kid, kind)
    }

    fn checksum_for_other_kid(
        &self,
        kid: u8,
        kind: ChecksumKind,
    ) -> Result<&dyn ExpandedChecksum, CryptoError> {
        let configured = self.kid.spec.algorithm;
        let cmac_len = match configured {
            ChecksumAlgorithm::AesCmac { len } => len,
            _ => CmacLen::Eight,
        };
        let requested = ChecksumAlgorithm::from_kid(kid, kind, cmac_len)?;
        let mismatch = |requested: ChecksumAlgorithm| CryptoError::AlgorithmMismatch {
            field: "KID",
            configured: configured.name(),
            requested: requested.name(),
        };
        match (kind, requested) {
            (ChecksumKind::RedundancyCheck, Some(ChecksumAlgorithm::Crc16)) => Ok(self.crc16.as_ref()),
            (ChecksumKind::RedundancyCheck, Some(ChecksumAlgorithm::Crc32)) => Ok(self.crc32.as_ref()),
            (ChecksumKind::RedundancyCheck, Some(other)) => Err(mismatch(other)),
            (ChecksumKind::RedundancyCheck, None) if configured.kind() == ChecksumKind::RedundancyCheck => {
                Ok(self.kid.checksum())
            }
            (ChecksumKind::RedundancyCheck, None) => Err(CryptoError::AlgorithmMismatch {
                field: "KID",
                configured: configured.name(),
                requested: "an implicit redundancy check",
            }),
            _ => {
                if kid >> 4 != self.kvn.get() {
                    return Err(CryptoError::KvnMismatch {
                        field: "KID",
                        kvn: self.kvn.get(),
                        requested: kid >> 4,
                    });
                }
                match requested {
                    Some(r) if !r.same_family(configured) => Err(mismatch(r)),
                    None if configured.kind() != ChecksumKind::CryptographicChecksum => {
                        Err(CryptoError::AlgorithmMismatch {
                            field: "KID",
                            configured: configured.name(),
                            requested: "an implicit cryptographic checksum",
                        })
                    }
                    _ => Ok(self.kid.checksum()),
                }
            }
        }
    }
}

/// The keysets of one card (or one profile), by KVN (an array indexed by the KVN: the packet path looks a
/// keyset up for every KIc and KID).
#[derive(Debug, Default)]
pub struct Keysets {
    sets: [Option<Keyset>; 16],
}

impl Keysets {
    /// No keysets.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a keyset, returning the one it replaces (same KVN).
    pub fn insert(&mut self, keyset: Keyset) -> Option<Keyset> {
        let slot = self.sets.get_mut(usize::from(keyset.kvn.get()))?;
        slot.replace(keyset)
    }

    /// Removes the keyset with this KVN, returning it (a key roll that changes the KVN).
    pub fn remove(&mut self, kvn: Kvn) -> Option<Keyset> {
        self.sets.get_mut(usize::from(kvn.get()))?.take()
    }

    /// The keyset with this KVN.
    #[must_use]
    #[inline]
    pub fn get(&self, kvn: Kvn) -> Option<&Keyset> {
        self.sets.get(usize::from(kvn.get()))?.as_ref()
    }

    /// The keyset a KIc or KID byte names (its high nibble), if any.
    #[must_use]
    #[inline]
    pub fn for_key_byte(&self, byte: u8) -> Option<&Keyset> {
        self.sets.get(usize::from(byte >> 4))?.as_ref()
    }

    /// The keysets in KVN order.
    pub fn iter(&self) -> impl Iterator<Item = &Keyset> {
        self.sets.iter().flatten()
    }

    /// How many keysets.
    #[must_use]
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True when there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// Parses a key file (see the module docs) and expands every key with `provider`.
    ///
    /// # Errors
    /// [`KeyFileError`] naming the line and the field.
    pub fn from_toml(text: &str, provider: &dyn SecurityProvider) -> Result<Self, KeyFileError> {
        let specs = parse_key_file(text)?;
        let mut sets = Self::new();
        for (line, index, spec) in specs {
            let keyset = Keyset::new(provider, spec).map_err(|source| KeyFileError::Key {
                line,
                index,
                field: "keyset",
                source,
            })?;
            sets.insert(keyset);
        }
        Ok(sets)
    }

    /// Reads and parses a key file; the text read is zeroized afterwards.
    ///
    /// # Errors
    /// [`KeyFileError::Io`] when the file cannot be read, else as [`from_toml`](Self::from_toml).
    pub fn load(path: &Path, provider: &dyn SecurityProvider) -> Result<Self, KeyFileError> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|source| KeyFileError::Io { path: path.to_owned(), source })?,
        );
        Self::from_toml(&text, provider)
    }
}

/// Errors reading a key file. Messages give the line and field, never a key value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file could not be read.
    #[error("cannot read key file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not TOML, or not the key file's shape (unknown field, wrong type, missing field).
    #[error("key file line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message, without the line's text and with quoted values replaced by `…` (either could
        /// hold a key).
        message: String,
    },
    /// A key or KVN is invalid for its algorithm (bad hex, wrong length, missing, KVN out of range).
    #[error("key file line {line} (keyset #{index}): {field}: {source}")]
    Key {
        /// 1-based line of the keyset.
        line: usize,
        /// 1-based position of the keyset in the file.
        index: usize,
        /// "kvn", "kic", "kid", "kik" or "keyset".
        field: &'static str,
        /// What is wrong.
        source: CryptoError,
    },
    /// An algorithm name this format does not know.
    #[error(
        "key file line {line} (keyset #{index}): {field}: unknown algorithm `{name}`, expected one of {expected}"
    )]
    UnknownAlgorithm {
        /// 1-based line of the keyset.
        line: usize,
        /// 1-based position of the keyset in the file.
        index: usize,
        /// The field.
        field: &'static str,
        /// The name found.
        name: String,
        /// The names allowed.
        expected: &'static str,
    },
    /// Another rule of the format is broken (`mac_len` misuse).
    #[error("key file line {line} (keyset #{index}): {field}: {reason}")]
    Invalid {
        /// 1-based line of the keyset.
        line: usize,
        /// 1-based position of the keyset in the file.
        index: usize,
        /// The field.
        field: &'static str,
        /// The rule.
        reason: &'static str,
    },
    /// Two keysets with the same KVN.
    #[error("key file line {line} (keyset #{index}): KVN {kvn} is already defined")]
    DuplicateKvn {
        /// 1-based line of the second keyset.
        line: usize,
        /// 1-based position of the second keyset.
        index: usize,
        /// The KVN.
        kvn: u8,
    },
}

/// The cipher names of the key file format.
pub const CIPHER_NAMES: &str = "des, des-ecb, 3des2, 3des3, 3des2-ecb, 3des3-ecb, aes";
/// The checksum names of the key file format.
pub const CHECKSUM_NAMES: &str = "des-mac, 3des2-mac, 3des3-mac, aes-cmac, crc16, crc32";

/// The key file's algorithm name for a cipher (the inverse of what [`parse_key_file`] accepts).
#[must_use]
pub const fn cipher_file_name(algorithm: CipherAlgorithm) -> Option<&'static str> {
    match algorithm {
        CipherAlgorithm::DesCbc => Some("des"),
        CipherAlgorithm::DesEcb => Some("des-ecb"),
        CipherAlgorithm::TripleDes2Ecb => Some("3des2-ecb"),
        CipherAlgorithm::TripleDes3Ecb => Some("3des3-ecb"),
        CipherAlgorithm::TripleDes2Cbc => Some("3des2"),
        CipherAlgorithm::TripleDes3Cbc => Some("3des3"),
        CipherAlgorithm::AesCbc => Some("aes"),
        CipherAlgorithm::Proprietary(_) => None,
    }
}

/// The key file's algorithm name for a checksum.
#[must_use]
pub const fn checksum_file_name(algorithm: ChecksumAlgorithm) -> Option<&'static str> {
    match algorithm {
        ChecksumAlgorithm::DesMac => Some("des-mac"),
        ChecksumAlgorithm::TdesMac2 => Some("3des2-mac"),
        ChecksumAlgorithm::TdesMac3 => Some("3des3-mac"),
        ChecksumAlgorithm::AesCmac { .. } => Some("aes-cmac"),
        ChecksumAlgorithm::Crc16 => Some("crc16"),
        ChecksumAlgorithm::Crc32 => Some("crc32"),
        ChecksumAlgorithm::Proprietary(_) => None,
    }
}

/// The cipher a key file algorithm name stands for (see the module docs), `None` for an unknown name.
#[must_use]
pub fn cipher_from_name(name: &str) -> Option<CipherAlgorithm> {
    Some(match name {
        "des" => CipherAlgorithm::DesCbc,
        "des-ecb" => CipherAlgorithm::DesEcb,
        "3des2-ecb" => CipherAlgorithm::TripleDes2Ecb,
        "3des3-ecb" => CipherAlgorithm::TripleDes3Ecb,
        "3des2" => CipherAlgorithm::TripleDes2Cbc,
        "3des3" => CipherAlgorithm::TripleDes3Cbc,
        "aes" => CipherAlgorithm::AesCbc,
        _ => return None,
    })
}

/// The checksum a key file algorithm name stands for (`cmac_len` for `aes-cmac`), `None` for an unknown
/// name.
#[must_use]
pub fn checksum_from_name(name: &str, cmac_len: CmacLen) -> Option<ChecksumAlgorithm> {
    Some(match name {
        "des-mac" => ChecksumAlgorithm::DesMac,
        "3des2-mac" => ChecksumAlgorithm::TdesMac2,
        "3des3-mac" => ChecksumAlgorithm::TdesMac3,
        "aes-cmac" => ChecksumAlgorithm::AesCmac { len: cmac_len },
        "crc16" => ChecksumAlgorithm::Crc16,
        "crc32" => ChecksumAlgorithm::Crc32,
        _ => return None,
    })
}

/// Hex key text as read from the file, zeroized on drop.
struct KeyText(String);

impl Drop for KeyText {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(KeyText)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDto {
    #[serde(default)]
    keyset: Vec<toml::Spanned<KeysetDto>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysetDto {
    kvn: i64,
    kic: KeyDto,
    kid: KeyDto,
    #[serde(default)]
    kik: Option<KeyDto>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyDto {
    algorithm: String,
    #[serde(default)]
    key: Option<KeyText>,
    #[serde(default)]
    mac_len: Option<i64>,
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Replaces the text of every double-quoted string in a parser message (serde quotes the offending value:
/// `invalid type: string "00112233…", expected i64`), so that a key put in the wrong place is not echoed.
fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for (i, piece) in message.split('"').enumerate() {
        if i > 0 {
            out.push('"');
        }
        out.push_str(if i % 2 == 1 { "…" } else { piece });
    }
    out
}

/// Parses a key file into keyset descriptions, with the 1-based line and position of each keyset.
///
/// # Errors
/// [`KeyFileError`] (never [`KeyFileError::Io`]).
pub fn parse_key_file(text: &str) -> Result<Vec<(usize, usize, KeysetSpec)>, KeyFileError> {
    let file: FileDto = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
        KeyFileError::Syntax { line, column, message: redact_quoted(e.message()) }
    })?;
    let mut out: Vec<(usize, usize, KeysetSpec)> = Vec::with_capacity(file.keyset.len());
    for (i, entry) in file.keyset.into_iter().enumerate() {
        let index = i + 1;
        let (line, _) = line_col(text, entry.span().start);
        let dto = entry.into_inner();
        let key_err = |field: &'static str| move |source| KeyFileError::Key { line, index, field, source };
        let kvn = u8::try_from(dto.kvn).ok().and_then(|v| Kvn::new(v).ok()).ok_or(KeyFileError::Invalid {
            line,
            index,
            field: "kvn",
            reason: "must be 1..=15",
        })?;
        if out.iter().any(|(_, _, s)| s.kvn == kvn) {
            return Err(KeyFileError::DuplicateKvn { line, index, kvn: kvn.get() });
        }
        let cipher = |field: &'static str, k: &KeyDto| -> Result<CipherKeySpec, KeyFileError> {
            if k.mac_len.is_some() {
                return Err(KeyFileError::Invalid {
                    line,
                    index,
                    field,
                    reason: "mac_len applies to aes-cmac only",
                });
            }
            let algorithm = cipher_from_name(&k.algorithm).ok_or_else(|| KeyFileError::UnknownAlgorithm {
                line,
                index,
                field,
                name: k.algorithm.clone(),
                expected: CIPHER_NAMES,
            })?;
            let Some(text) = &k.key else {
                return Err(key_err(field)(CryptoError::MissingKey { algorithm: algorithm.name() }));
            };
            let key = SecretKey::from_hex(&text.0).map_err(key_err(field))?;
            CipherKeySpec::new(algorithm, key).map_err(key_err(field))
        };
        let kic = cipher("kic", &dto.kic)?;
        let kik = dto.kik.as_ref().map(|k| cipher("kik", k)).transpose()?;
        let k = &dto.kid;
        let cmac_len =
            match k.mac_len {
                None => CmacLen::Eight,
                Some(_) if k.algorithm != "aes-cmac" => {
                    return Err(KeyFileError::Invalid {
                        line,
                        index,
                        field: "kid",
                        reason: "mac_len applies to aes-cmac only",
                    });
                }
                Some(n) => u8::try_from(n).ok().and_then(|n| CmacLen::try_from(n).ok()).ok_or(
                    KeyFileError::Invalid { line, index, field: "kid", reason: "mac_len must be 4 or 8" },
                )?,
            };
        let algorithm =
            checksum_from_name(&k.algorithm, cmac_len).ok_or_else(|| KeyFileError::UnknownAlgorithm {
                line,
                index,
                field: "kid",
                name: k.algorithm.clone(),
                expected: CHECKSUM_NAMES,
            })?;
        let key = k.key.as_ref().map(|t| SecretKey::from_hex(&t.0)).transpose().map_err(key_err("kid"))?;
        let kid = ChecksumKeySpec::new(algorithm, key).map_err(key_err("kid"))?;
        out.push((line, index, KeysetSpec { kvn, kic, kid, kik }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;

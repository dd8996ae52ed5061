//! [`NullProvider`]: a provider with no security, for fuzzing and tests only.
//!
//! Compiled under `cfg(test)`, `cfg(fuzzing)` or the feature `insecure-null-provider`. It checks key lengths
//! and block alignment exactly as [`super::RustCryptoProvider`] does (so that the same inputs take the same
//! error paths), but its cipher is the identity and every checksum it computes is zeros and every checksum
//! it verifies passes, so that fuzzers reach the code behind the checks.

use super::{
    ChecksumAlgorithm, ChecksumValue, CipherAlgorithm, CryptoError, ExpandedChecksum, ExpandedCipher,
    MAX_CHECKSUM_LEN, SecurityProvider,
};
use crate::keys::SecretKey;

/// A [`SecurityProvider`] that ciphers nothing and accepts every RC/CC. Never use it with real cards.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullProvider;

#[derive(Debug)]
struct NullCipher {
    algorithm: CipherAlgorithm,
}

impl NullCipher {
    fn check(&self, len: usize) -> Result<(), CryptoError> {
        let block = self.algorithm.block_len();
        if block != 0 && len.is_multiple_of(block) {
            Ok(())
        } else {
            Err(CryptoError::NotBlockAligned { algorithm: self.algorithm.name(), len, block })
        }
    }
}

impl ExpandedCipher for NullCipher {
    fn algorithm(&self) -> CipherAlgorithm {
        self.algorithm
    }

    fn block_len(&self) -> usize {
        self.algorithm.block_len()
    }

    fn encrypt(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        self.check(buf.len())
    }

    fn decrypt(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        self.check(buf.len())
    }
}

#[derive(Debug)]
struct NullChecksum {
    algorithm: ChecksumAlgorithm,
    len: usize,
}

impl ExpandedChecksum for NullChecksum {
    fn algorithm(&self) -> ChecksumAlgorithm {
        self.algorithm
    }

    fn field_len(&self) -> usize {
        self.len
    }

    fn compute(&self, _parts: &[&[u8]]) -> ChecksumValue {
        ChecksumValue::new(&[0; MAX_CHECKSUM_LEN], self.len)
    }

    fn verify(&self, _parts: &[&[u8]], _expected: &[u8]) -> Result<(), CryptoError> {
        Ok(())
    }
}

impl SecurityProvider for NullProvider {
    fn name(&self) -> &'static str {
        "null (insecure)"
    }

    fn expand_cipher(
        &self,
        algorithm: CipherAlgorithm,
        key: &SecretKey,
    ) -> Result<Box<dyn ExpandedCipher>, CryptoError> {
        algorithm.check_key_len(key.len())?;
        Ok(Box::new(NullCipher { algorithm }))
    }

    fn expand_checksum(
        &self,
        algorithm: ChecksumAlgorithm,
        key: Option<&SecretKey>,
    ) -> Result<Box<dyn ExpandedChecksum>, CryptoError> {
        algorithm.check_key_len(key.map(SecretKey::len))?;
        let len =
            algorithm.field_len().ok_or(CryptoError::Unsupported { what: "proprietary KID algorithm" })?;
        Ok(Box::new(NullChecksum { algorithm, len }))
    }
}

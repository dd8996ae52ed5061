//! Where nonces come from: the [`NonceSource`] trait and [`SeededNonces`].
//!
//! The session engine reads no randomness of its own (sans-IO): every nonce it puts in a `Chal` comes from
//! the source it was given. DM 1.2.1 Security §5.1 recommends nonces of at least 128 bits; both
//! implementations here give 16 bytes. A production adapter passes a source backed by the operating
//! system's random generator; tests pass [`SeededNonces`] for reproducible transcripts.

use md5::{Digest as _, Md5};

/// A source of fresh nonces.
pub trait NonceSource {
    /// A new nonce (raw bytes; the engine base64-encodes it into `NextNonce`). Never repeat one.
    fn next_nonce(&mut self) -> Vec<u8>;
}

/// A deterministic nonce source: nonce `i` is `MD5(seed ‖ i)` (16 bytes).
///
/// Unpredictable to whoever does not know the seed, reproducible for whoever does: meant for tests and
/// simulations. Give each server process its own secret seed if it is used beyond that.
#[derive(Clone)]
pub struct SeededNonces {
    seed: Vec<u8>,
    counter: u64,
}

impl SeededNonces {
    /// A source seeded with `seed`.
    #[must_use]
    pub fn new(seed: impl Into<Vec<u8>>) -> Self {
        Self { seed: seed.into(), counter: 0 }
    }
}

impl std::fmt::Debug for SeededNonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeededNonces").field("seed", &"<redacted>").field("counter", &self.counter).finish()
    }
}

impl NonceSource for SeededNonces {
    fn next_nonce(&mut self) -> Vec<u8> {
        let mut h = Md5::new();
        h.update(&self.seed);
        h.update(self.counter.to_be_bytes());
        self.counter = self.counter.wrapping_add(1);
        h.finalize().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_nonces_are_reproducible_and_distinct() {
        let mut a = SeededNonces::new(b"seed".to_vec());
        let mut b = SeededNonces::new(b"seed".to_vec());
        let xs: Vec<_> = (0..4).map(|_| a.next_nonce()).collect();
        let ys: Vec<_> = (0..4).map(|_| b.next_nonce()).collect();
        assert_eq!(xs, ys);
        assert!(xs.iter().all(|n| n.len() == 16));
        for i in 0..xs.len() {
            for j in i + 1..xs.len() {
                assert_ne!(xs[i], xs[j]);
            }
        }
        let mut c = SeededNonces::new(b"other".to_vec());
        assert_ne!(c.next_nonce(), xs[0]);
        // nonce 0 is MD5(seed ‖ 0u64)
        let mut h = Md5::new();
        h.update(b"seed");
        h.update([0u8; 8]);
        assert_eq!(xs[0], h.finalize().to_vec());
    }
}

//! Block cipher modes over any RustCrypto block cipher: CBC and ECB in place, CBC-MAC (ISO/IEC 9797-1 MAC
//! algorithm 1 with padding method 1) and CMAC (NIST SP 800-38B) over a list of slices.
//!
//! These are written here rather than taken from the `cbc` and `cmac` crates because the packet path needs
//! (a) no per-call cloning of the key schedule (those crates keep mutable state next to the cipher, so a
//! shared, pre-expanded key would be cloned for every packet), (b) CMAC subkeys derived once per key, not per
//! message, and (c) MAC input split over several slices. The tests check them against those crates and
//! against the NIST SP 800-38A/38B examples.
//!
//! The chained loops (CBC encryption, CBC-MAC, CMAC) run inside one `encrypt_with_backend` call, so that the
//! cipher's backend (AES-NI) is entered once per message rather than once per block.

use aes::cipher::array::ArraySize;
use aes::cipher::{
    Array, Block, BlockCipherDecrypt, BlockCipherEncBackend, BlockCipherEncClosure, BlockCipherEncrypt,
    BlockSizeUser,
};
use zeroize::Zeroize;

/// How many blocks CBC decryption hands to the cipher at once (AES-NI pipelines 8).
const DECRYPT_GROUP: usize = 8;

/// `a ^ b` as a new block. Working on whole local blocks (rather than byte-wise through references that
/// might alias) lets the compiler keep them in vector registers; byte-wise stores followed by a block load
/// would stall store forwarding before every cipher call.
#[inline(always)]
fn xor_block<N: ArraySize>(a: &Array<u8, N>, b: &Array<u8, N>) -> Array<u8, N> {
    let mut out = a.clone();
    for (o, x) in out.iter_mut().zip(b.iter()) {
        *o ^= *x;
    }
    out
}

/// Keeps the first `pos` bytes of `block`, puts `marker` at `pos` and zeros after it.
#[inline(always)]
fn pad_block<N: ArraySize>(block: &mut Array<u8, N>, pos: usize, marker: u8) {
    for (i, b) in block.iter_mut().enumerate() {
        *b = if i < pos {
            *b
        } else if i == pos {
            marker
        } else {
            0
        };
    }
}

/// Walks the concatenation of `parts` in blocks: calls `full` for every block but the last, and returns the
/// last block with the number of bytes in it (1..=block size, or 0 for an empty input; bytes after them
/// are unspecified). Whole blocks are read straight from the input.
#[inline(always)]
fn blocks_but_last<N: ArraySize>(
    parts: &[&[u8]],
    mut full: impl FnMut(&Array<u8, N>),
) -> (Array<u8, N>, usize) {
    let bs = N::USIZE;
    let mut last = Array::<u8, N>::default();
    let mut pos = 0usize;
    for part in parts {
        let mut data: &[u8] = part;
        while !data.is_empty() {
            if pos == bs {
                full(&last);
                pos = 0;
            }
            if pos == 0 {
                // Whole blocks go straight to `full`, except one that ends this part (it may be the last).
                let (blocks, rest) = Array::<u8, N>::slice_as_chunks(data);
                let direct = if rest.is_empty() { blocks.len().saturating_sub(1) } else { blocks.len() };
                for b in blocks.iter().take(direct) {
                    full(b);
                }
                data = data.get(direct * bs..).unwrap_or_default();
                // A whole final block: a fixed-size copy (no call to memcpy).
                if let Ok(block) = <&Array<u8, N>>::try_from(data) {
                    last.clone_from(block);
                    pos = bs;
                    break;
                }
            }
            let n = (bs - pos).min(data.len());
            let (head, rest) = data.split_at(n);
            if let Some(dst) = last.get_mut(pos..pos + n) {
                dst.copy_from_slice(head);
            }
            pos += n;
            data = rest;
        }
    }
    (last, pos)
}

/// CBC encryption in place from `iv`. Only whole blocks are touched (the caller checks alignment).
pub(crate) fn cbc_encrypt<C: BlockCipherEncrypt>(cipher: &C, iv: &Block<C>, buf: &mut [u8]) {
    struct Run<'a, N: ArraySize> {
        iv: &'a Array<u8, N>,
        blocks: &'a mut [Array<u8, N>],
    }
    impl<N: ArraySize> BlockSizeUser for Run<'_, N> {
        type BlockSize = N;
    }
    impl<N: ArraySize> BlockCipherEncClosure for Run<'_, N> {
        #[inline(always)]
        fn call<B: BlockCipherEncBackend<BlockSize = N>>(self, backend: &B) {
            let mut chain = self.iv.clone();
            for block in self.blocks.iter_mut() {
                let mut x = xor_block(block, &chain);
                backend.encrypt_block_inplace(&mut x);
                block.clone_from(&x);
                chain = x;
            }
        }
    }
    let (blocks, _) = Array::slice_as_chunks_mut(buf);
    cipher.encrypt_with_backend(Run { iv, blocks });
}

/// CBC decryption in place from `iv`, [`DECRYPT_GROUP`] blocks per cipher call.
pub(crate) fn cbc_decrypt<C: BlockCipherDecrypt>(cipher: &C, iv: &Block<C>, buf: &mut [u8]) {
    let (blocks, _) = Array::slice_as_chunks_mut(buf);
    let mut prev = iv.clone();
    for group in blocks.chunks_mut(DECRYPT_GROUP) {
        let mut saved: [Block<C>; DECRYPT_GROUP] = Default::default();
        for (s, b) in saved.iter_mut().zip(group.iter()) {
            s.clone_from(b);
        }
        cipher.decrypt_blocks(group);
        let n = group.len();
        for (b, c) in group.iter_mut().zip(core::iter::once(&prev).chain(saved.iter())) {
            *b = xor_block(b, c);
        }
        if let Some(last) = saved.get(n.wrapping_sub(1)) {
            prev.clone_from(last);
        }
    }
}

/// ECB encryption in place.
pub(crate) fn ecb_encrypt<C: BlockCipherEncrypt>(cipher: &C, buf: &mut [u8]) {
    let (blocks, _) = Array::slice_as_chunks_mut(buf);
    cipher.encrypt_blocks(blocks);
}

/// ECB decryption in place.
pub(crate) fn ecb_decrypt<C: BlockCipherDecrypt>(cipher: &C, buf: &mut [u8]) {
    let (blocks, _) = Array::slice_as_chunks_mut(buf);
    cipher.decrypt_blocks(blocks);
}

/// CBC-MAC with a zero IV over the concatenation of `parts`, zero-padded to a whole number of blocks (no
/// pad block when already aligned; an empty input is one zero block, as padding method 1 asks for a
/// positive number of blocks). Returns the last block.
pub(crate) fn cbc_mac<C: BlockCipherEncrypt>(cipher: &C, parts: &[&[u8]]) -> Block<C> {
    struct Run<'a, N: ArraySize> {
        parts: &'a [&'a [u8]],
        out: &'a mut Array<u8, N>,
    }
    impl<N: ArraySize> BlockSizeUser for Run<'_, N> {
        type BlockSize = N;
    }
    impl<N: ArraySize> BlockCipherEncClosure for Run<'_, N> {
        #[inline(always)]
        fn call<B: BlockCipherEncBackend<BlockSize = N>>(self, backend: &B) {
            let mut state = Array::<u8, N>::default();
            let (mut last, pos) = blocks_but_last(self.parts, |b: &Array<u8, N>| {
                state = xor_block(&state, b);
                backend.encrypt_block_inplace(&mut state);
            });
            if pos < N::USIZE {
                pad_block(&mut last, pos, 0);
            }
            state = xor_block(&state, &last);
            backend.encrypt_block_inplace(&mut state);
            *self.out = state;
        }
    }
    let mut out = Block::<C>::default();
    cipher.encrypt_with_backend(Run { parts, out: &mut out });
    out
}

/// CMAC subkey doubling in GF(2^b) (SP 800-38B §6.1): shift left by one bit and, when the top bit fell off,
/// xor the last byte with R_b (0x87 for 128-bit blocks, 0x1B for 64-bit blocks).
fn dbl(block: &mut [u8]) {
    let rb: u8 = if block.len() == 16 { 0x87 } else { 0x1B };
    let mut carry = 0u8;
    for b in block.iter_mut().rev() {
        let next = *b >> 7;
        *b = (*b << 1) | carry;
        carry = next;
    }
    if carry == 1
        && let Some(last) = block.last_mut()
    {
        *last ^= rb;
    }
}

/// A CMAC key: the expanded cipher and the subkeys K1, K2 (SP 800-38B §6.1), derived once.
pub(crate) struct CmacKey<C: BlockCipherEncrypt> {
    pub(crate) cipher: C,
    k1: Block<C>,
    k2: Block<C>,
}

impl<C: BlockCipherEncrypt> CmacKey<C> {
    /// Derives the subkeys: L = E_K(0), K1 = dbl(L), K2 = dbl(K1).
    pub(crate) fn new(cipher: C) -> Self {
        let mut k1 = Block::<C>::default();
        cipher.encrypt_block(&mut k1);
        dbl(&mut k1);
        let mut k2 = k1.clone();
        dbl(&mut k2);
        Self { cipher, k1, k2 }
    }

    /// The full-length CMAC tag over the concatenation of `parts` (SP 800-38B §6.2).
    pub(crate) fn tag(&self, parts: &[&[u8]]) -> Block<C> {
        struct Run<'a, N: ArraySize> {
            parts: &'a [&'a [u8]],
            k1: &'a Array<u8, N>,
            k2: &'a Array<u8, N>,
            state: &'a mut Array<u8, N>,
        }
        impl<N: ArraySize> BlockSizeUser for Run<'_, N> {
            type BlockSize = N;
        }
        impl<N: ArraySize> BlockCipherEncClosure for Run<'_, N> {
            #[inline(always)]
            fn call<B: BlockCipherEncBackend<BlockSize = N>>(self, backend: &B) {
                let mut state = Array::<u8, N>::default();
                let (mut last, pos) = blocks_but_last(self.parts, |b: &Array<u8, N>| {
                    state = xor_block(&state, b);
                    backend.encrypt_block_inplace(&mut state);
                });
                let subkey = if pos == N::USIZE {
                    self.k1
                } else {
                    pad_block(&mut last, pos, 0x80);
                    self.k2
                };
                state = xor_block(&state, &xor_block(&last, subkey));
                backend.encrypt_block_inplace(&mut state);
                *self.state = state;
            }
        }
        let mut state = Block::<C>::default();
        self.cipher.encrypt_with_backend(Run { parts, k1: &self.k1, k2: &self.k2, state: &mut state });
        state
    }
}

impl<C: BlockCipherEncrypt> Drop for CmacKey<C> {
    fn drop(&mut self) {
        self.k1.as_mut_slice().zeroize();
        self.k2.as_mut_slice().zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::KeyInit;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    // NIST SP 800-38A F.2.1 / F.2.2: CBC-AES128 with IV 000102…0f.
    const SP800_38A_KEY: &str = "2b7e151628aed2a6abf7158809cf4f3c";
    const SP800_38A_IV: &str = "000102030405060708090a0b0c0d0e0f";
    const SP800_38A_PT: &str = "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51 \
                                30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710";
    const SP800_38A_CT: &str = "7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2 \
                                73bed6b8e3c1743b7116e69e22229516 3ff1caa1681fac09120eca307586e1a7";

    #[test]
    fn cbc_aes128_sp800_38a() {
        let c = aes::Aes128::new_from_slice(&h(SP800_38A_KEY)).unwrap();
        let iv = Block::<aes::Aes128>::try_from(h(SP800_38A_IV).as_slice()).unwrap();
        let mut buf = h(SP800_38A_PT);
        cbc_encrypt(&c, &iv, &mut buf);
        assert_eq!(hex::encode(&buf), hex::encode(h(SP800_38A_CT)));
        cbc_decrypt(&c, &iv, &mut buf);
        assert_eq!(buf, h(SP800_38A_PT));
    }

    #[test]
    fn cbc_decrypt_spans_several_groups() {
        // 20 blocks: groups of 8, 8 and 4 must chain across group boundaries.
        let c = aes::Aes128::new_from_slice(&h(SP800_38A_KEY)).unwrap();
        let iv = Block::<aes::Aes128>::default();
        let plain: Vec<u8> = (0..320u32).map(|i| (i * 7 + 3) as u8).collect();
        let mut buf = plain.clone();
        cbc_encrypt(&c, &iv, &mut buf);
        assert_ne!(buf, plain);
        cbc_decrypt(&c, &iv, &mut buf);
        assert_eq!(buf, plain);
    }

    // NIST SP 800-38B D.1 (AES-128): subkeys and the four example messages.
    const CMAC_KEY: &str = "2b7e151628aed2a6abf7158809cf4f3c";

    #[test]
    fn cmac_aes128_sp800_38b() {
        let key = CmacKey::new(aes::Aes128::new_from_slice(&h(CMAC_KEY)).unwrap());
        assert_eq!(hex::encode(key.k1), "fbeed618357133667c85e08f7236a8de");
        assert_eq!(hex::encode(key.k2), "f7ddac306ae266ccf90bc11ee46d513b");
        let msg = h(SP800_38A_PT);
        let cases: [(usize, &str); 4] = [
            (0, "bb1d6929e95937287fa37d129b756746"),
            (16, "070a16b46b4d4144f79bdd9dd04a287c"),
            (40, "dfa66747de9ae63030ca32611497c827"),
            (64, "51f0bebf7e3b9d92fc49741779363cfe"),
        ];
        for (len, tag) in cases {
            assert_eq!(hex::encode(key.tag(&[&msg[..len]])), tag, "len {len}");
            // The same message split in three parts at every pair of positions gives the same tag.
            for a in 0..=len {
                for b in a..=len {
                    let parts: [&[u8]; 3] = [&msg[..a], &msg[a..b], &msg[b..len]];
                    assert_eq!(hex::encode(key.tag(&parts)), tag, "len {len} split {a},{b}");
                }
            }
        }
    }

    #[test]
    fn dbl_64_bit_uses_1b() {
        let mut b = [0x80, 0, 0, 0, 0, 0, 0, 1];
        dbl(&mut b);
        assert_eq!(b, [0, 0, 0, 0, 0, 0, 0, 0x02 ^ 0x1B]);
        let mut b = [0x40, 0, 0, 0, 0, 0, 0, 0];
        dbl(&mut b);
        assert_eq!(b, [0x80, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn cbc_mac_pads_with_zeros_and_no_extra_block() {
        let c = des::Des::new_from_slice(&h("0123456789abcdef")).unwrap();
        // Aligned input: the MAC is the last CBC block of the input itself.
        let data = h("4e6f772069732074 68652074696d6520");
        let mut cbc = data.clone();
        cbc_encrypt(&c, &Block::<des::Des>::default(), &mut cbc);
        assert_eq!(cbc_mac(&c, &[&data]).as_slice(), &cbc[8..]);
        // Unaligned input: the same as the input zero-padded by hand.
        let short = h("4e6f772069732074 686520");
        let mut padded = short.clone();
        padded.resize(16, 0);
        assert_eq!(cbc_mac(&c, &[&short]), cbc_mac(&c, &[&padded]));
        // Split input.
        assert_eq!(cbc_mac(&c, &[&short[..3], &[], &short[3..]]), cbc_mac(&c, &[&short]));
        // Empty input: one zero block.
        let mut zero = Block::<des::Des>::default();
        BlockCipherEncrypt::encrypt_block(&c, &mut zero);
        assert_eq!(cbc_mac(&c, &[]), zero);
        assert_eq!(cbc_mac(&c, &[&[]]), zero);
    }
}

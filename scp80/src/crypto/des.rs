//! A table-driven DES (FIPS 46-3) and triple DES in EDE mode with 2 or 3 keys (ANSI X9.52 / NIST SP 800-67),
//! as the KIc / KID algorithms of TS 102 225 §5.1.2–§5.1.3 need them: [`Des`], [`TdesEde2`], [`TdesEde3`].
//! They implement the RustCrypto `cipher` block traits, so that the CBC, ECB and CBC-MAC modes of this crate
//! run on them unchanged.
//!
//! How it works: the eight S-boxes and the P permutation are folded into eight tables of 64 words ("SP
//! tables"), computed at compile time by `const fn`s from the FIPS 46-3 tables; the E expansion is two
//! rotations of the right half, which is kept rotated left by one bit between the initial and final
//! permutations so that every S-box input is a 6-bit field at a byte boundary. The key schedule (PC-1, the
//! shifts, PC-2) runs once per key and stores each round key as two words of four 6-bit groups. IP and FP
//! are five delta swaps each. Triple DES runs IP once, 48 rounds and FP once (the FP/IP pairs between the
//! three stages cancel). No `unsafe`, no data-dependent branches; table lookups are indexed by secret data,
//! as in every table-driven DES (the `des` crate's S-box lookups are too).
//!
//! Why: the `des` crate computes E and P bit by bit with shifts and multiplications, which made 3DES the
//! bottleneck of the packet path. Measured with the criterion bench `roundtrip` on the project machine (2
//! shared vCPUs, AMD EPYC 2.6 GHz; the load average, in brackets, moved during every run, so the figures
//! carry about ±20 %):
//!
//! - 32 chained 3DES-2key block encryptions (one round trip's worth): `des` crate 24.1–32.8 µs, this module
//!   8.1–9.6 µs in the same runs (about 3 times faster).
//! - Round trip (SMS packet, SPI `16 39`, 3DES CBC + CBC-MAC; secure, card, PoR, verify): with the `des`
//!   crate 38.9 µs = 25.7 k/s (load 5.2); with this module 8.0–8.3 µs = 121–126 k/s (load 1.3–1.5 at the
//!   start of the runs).
//! - The same CBC and MAC work alone (the floor): 38.0 µs before, 7.9–9.2 µs after.
//!
//! The tests check these ciphers against the FIPS 46-3 / SP 800-67 examples and, by property tests, against
//! the `des` crate (kept as a dev-dependency oracle).

use std::fmt;

use aes::cipher::consts::{U2, U8, U16, U24};
use aes::cipher::{
    Block, BlockCipherDecBackend, BlockCipherDecClosure, BlockCipherDecrypt, BlockCipherEncBackend,
    BlockCipherEncClosure, BlockCipherEncrypt, BlockSizeUser, InOut, Key, KeyInit, KeySizeUser, ParBlocks,
    ParBlocksSizeUser,
};
use zeroize::Zeroize;

/// FIPS 46-3 initial permutation (bit numbers from 1 = most significant); the delta swaps of [`ip`] are
/// tested against it.
#[cfg(test)]
const IP: [u8; 64] = [
    58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48,
    40, 32, 24, 16, 8, 57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, 61, 53, 45, 37, 29, 21,
    13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
];

/// FIPS 46-3 permutation P of the S-box outputs.
const P: [u8; 32] = [
    16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6,
    22, 11, 4, 25,
];

/// FIPS 46-3 permuted choice 1 (64 → 56 bits).
const PC1: [u8; 56] = [
    57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44,
    36, 63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20,
    12, 4,
];

/// FIPS 46-3 permuted choice 2 (56 → 48 bits).
const PC2: [u8; 48] = [
    14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2, 41, 52, 31, 37,
    47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];

/// Left shifts of C and D before each round's PC-2.
const SHIFTS: [u32; 16] = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];

/// The S-boxes S1..S8, each as 4 rows of 16 (row = outer bits, column = inner four bits).
const S: [[u8; 64]; 8] = [
    [
        14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5,
        3, 8, 4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14,
        10, 0, 6, 13,
    ],
    [
        15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9,
        11, 5, 0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12,
        0, 5, 14, 9,
    ],
    [
        10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11,
        15, 1, 13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3,
        11, 5, 2, 12,
    ],
    [
        7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10,
        14, 9, 10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11,
        12, 7, 2, 14,
    ],
    [
        2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9,
        8, 6, 4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9,
        10, 4, 5, 3,
    ],
    [
        12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11,
        3, 8, 9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7,
        6, 0, 8, 13,
    ],
    [
        4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15,
        8, 6, 1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15,
        14, 2, 3, 12,
    ],
    [
        13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14,
        9, 2, 7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0,
        3, 5, 6, 11,
    ],
];

/// Output bit `i` (from the most significant of `table.len()` bits) is input bit `table[i]` (1 = the most
/// significant of `in_bits`).
const fn permute(input: u64, in_bits: u32, table: &[u8]) -> u64 {
    let mut out = 0u64;
    let mut i = 0;
    while i < table.len() {
        out = (out << 1) | ((input >> (in_bits - table[i] as u32)) & 1);
        i += 1;
    }
    out
}

/// S-box `i` for a 6-bit input (b1..b6, b1 the most significant): row b1b6, column b2..b5.
const fn sbox(i: usize, v: usize) -> u32 {
    let row = ((v >> 4) & 2) | (v & 1);
    let col = (v >> 1) & 0xF;
    S[i][row * 16 + col] as u32
}

/// The SP tables: for S-box `i` and its 6-bit input, the S-box output placed in its nibble and sent
/// through P, rotated left by one bit (the halves are kept rotated, see the module docs).
const SP: [[u32; 64]; 8] = {
    let mut t = [[0u32; 64]; 8];
    let mut i = 0;
    while i < 8 {
        let mut v = 0;
        while v < 64 {
            let placed = (sbox(i, v) as u64) << (28 - 4 * i);
            t[i][v] = (permute(placed, 32, &P) as u32).rotate_left(1);
            v += 1;
        }
        i += 1;
    }
    t
};

/// A round key: the eight 6-bit groups of the 48-bit PC-2 output, `[K1 K3 K5 K7, K2 K4 K6 K8]` by bytes.
type RoundKeys = [[u32; 2]; 16];

/// The key schedule of one DES key (parity bits ignored).
fn schedule(key: u64) -> RoundKeys {
    let cd = permute(key, 64, &PC1);
    let (mut c, mut d) = (cd >> 28, cd & 0x0FFF_FFFF);
    let mut out = [[0u32; 2]; 16];
    for (slot, shift) in out.iter_mut().zip(SHIFTS) {
        c = ((c << shift) | (c >> (28 - shift))) & 0x0FFF_FFFF;
        d = ((d << shift) | (d >> (28 - shift))) & 0x0FFF_FFFF;
        let k = permute((c << 28) | d, 56, &PC2);
        let g = |j: u32| ((k >> (42 - 6 * j)) & 0x3F) as u32;
        *slot = [
            (g(0) << 24) | (g(2) << 16) | (g(4) << 8) | g(6),
            (g(1) << 24) | (g(3) << 16) | (g(5) << 8) | g(7),
        ];
    }
    out
}

/// The round keys in reverse order (decryption).
fn reversed(k: &RoundKeys) -> RoundKeys {
    let mut r = *k;
    r.reverse();
    r
}

/// One delta swap: exchanges the bits of `a` selected by `mask << shift` with the bits of `b` in `mask`.
#[inline(always)]
fn swap(a: &mut u32, b: &mut u32, shift: u32, mask: u32) {
    let w = ((*a >> shift) ^ *b) & mask;
    *b ^= w;
    *a ^= w << shift;
}

/// IP of the block `hi‖lo`, giving the halves rotated left by one bit.
#[inline(always)]
fn ip(mut l: u32, mut r: u32) -> (u32, u32) {
    swap(&mut l, &mut r, 4, 0x0F0F_0F0F);
    swap(&mut l, &mut r, 16, 0x0000_FFFF);
    swap(&mut r, &mut l, 2, 0x3333_3333);
    swap(&mut r, &mut l, 8, 0x00FF_00FF);
    r = r.rotate_left(1);
    let w = (l ^ r) & 0xAAAA_AAAA;
    l ^= w;
    r ^= w;
    (l.rotate_left(1), r)
}

/// FP (the inverse of [`ip`]), from halves rotated left by one bit.
#[inline(always)]
fn fp(l: u32, mut r: u32) -> (u32, u32) {
    let mut l = l.rotate_right(1);
    let w = (l ^ r) & 0xAAAA_AAAA;
    l ^= w;
    r ^= w;
    r = r.rotate_right(1);
    swap(&mut r, &mut l, 8, 0x00FF_00FF);
    swap(&mut r, &mut l, 2, 0x3333_3333);
    swap(&mut l, &mut r, 16, 0x0000_FFFF);
    swap(&mut l, &mut r, 4, 0x0F0F_0F0F);
    (l, r)
}

/// The cipher function f(R, K) on a rotated R, giving a rotated result.
#[inline(always)]
fn f(r: u32, k: &[u32; 2]) -> u32 {
    let x = r.rotate_right(4) ^ k[0];
    let y = r ^ k[1];
    // A balanced tree of xors: three steps of latency after the lookups rather than seven.
    let a = SP[0][(x >> 24) as usize & 0x3F] ^ SP[2][(x >> 16) as usize & 0x3F];
    let b = SP[4][(x >> 8) as usize & 0x3F] ^ SP[6][x as usize & 0x3F];
    let c = SP[1][(y >> 24) as usize & 0x3F] ^ SP[3][(y >> 16) as usize & 0x3F];
    let d = SP[5][(y >> 8) as usize & 0x3F] ^ SP[7][y as usize & 0x3F];
    (a ^ b) ^ (c ^ d)
}

/// 16 rounds; returns the halves swapped, ready for FP or the next stage.
#[inline(always)]
fn rounds(mut l: u32, mut r: u32, keys: &RoundKeys) -> (u32, u32) {
    for pair in keys.chunks_exact(2) {
        if let [a, b] = pair {
            l ^= f(r, a);
            r ^= f(l, b);
        }
    }
    (r, l)
}

/// Runs `stages` key schedules in a row between one IP and one FP (DES: 1; triple DES: 3).
#[inline(always)]
fn crypt(block: &mut Block<Des>, stages: &[&RoundKeys]) {
    let v = u64::from_be_bytes((*block).into());
    let (mut l, mut r) = ip((v >> 32) as u32, v as u32);
    for k in stages {
        (l, r) = rounds(l, r, k);
    }
    let (hi, lo) = fp(l, r);
    *block = (((u64::from(hi)) << 32) | u64::from(lo)).to_be_bytes().into();
}

/// [`crypt`] on two independent blocks, interleaved round by round so that the processor works on both
/// chains at once (ECB and CBC decryption hand blocks over in pairs).
#[inline(always)]
fn crypt2(a: &mut Block<Des>, b: &mut Block<Des>, stages: &[&RoundKeys]) {
    let (va, vb) = (u64::from_be_bytes((*a).into()), u64::from_be_bytes((*b).into()));
    let (mut la, mut ra) = ip((va >> 32) as u32, va as u32);
    let (mut lb, mut rb) = ip((vb >> 32) as u32, vb as u32);
    for k in stages {
        for pair in k.chunks_exact(2) {
            if let [p, q] = pair {
                la ^= f(ra, p);
                lb ^= f(rb, p);
                ra ^= f(la, q);
                rb ^= f(lb, q);
            }
        }
        (la, ra) = (ra, la);
        (lb, rb) = (rb, lb);
    }
    let (hi, lo) = fp(la, ra);
    *a = ((u64::from(hi) << 32) | u64::from(lo)).to_be_bytes().into();
    let (hi, lo) = fp(lb, rb);
    *b = ((u64::from(hi) << 32) | u64::from(lo)).to_be_bytes().into();
}

/// One DES key: its round keys for encryption and decryption.
#[derive(Clone)]
struct Keys {
    enc: RoundKeys,
    dec: RoundKeys,
}

impl Keys {
    fn new(key: &[u8]) -> Self {
        let mut b = [0u8; 8];
        b.copy_from_slice(key.get(..8).unwrap_or(&[0; 8]));
        let enc = schedule(u64::from_be_bytes(b));
        b.zeroize();
        Self { dec: reversed(&enc), enc }
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        self.enc.iter_mut().for_each(|k| k.zeroize());
        self.dec.iter_mut().for_each(|k| k.zeroize());
    }
}

/// Declares a cipher type with its key size, its encryption and decryption stage lists.
macro_rules! des_type {
    ($(#[$doc:meta])* $name:ident, $key:ty, $n:expr, |$k:ident| enc: [$($e:expr),+], dec: [$($d:expr),+]) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            keys: [Keys; $n],
        }

        impl KeySizeUser for $name {
            type KeySize = $key;
        }

        impl KeyInit for $name {
            fn new(key: &Key<Self>) -> Self {
                let key: &[u8] = key.as_slice();
                Self { keys: std::array::from_fn(|i| Keys::new(key.get(8 * i..).unwrap_or_default())) }
            }
        }

        impl BlockSizeUser for $name {
            type BlockSize = U8;
        }

        impl ParBlocksSizeUser for $name {
            type ParBlocksSize = U2;
        }

        impl BlockCipherEncrypt for $name {
            #[inline]
            fn encrypt_with_backend(&self, f: impl BlockCipherEncClosure<BlockSize = Self::BlockSize>) {
                f.call(self)
            }
        }

        impl BlockCipherEncBackend for $name {
            #[inline]
            fn encrypt_block(&self, mut block: InOut<'_, '_, Block<Self>>) {
                let $k = &self.keys;
                let mut b = block.clone_in();
                crypt(&mut b, &[$($e),+]);
                *block.get_out() = b;
            }

            #[inline]
            fn encrypt_par_blocks(&self, mut blocks: InOut<'_, '_, ParBlocks<Self>>) {
                let $k = &self.keys;
                let (mut x, mut y) = (blocks.get(0).clone_in(), blocks.get(1).clone_in());
                crypt2(&mut x, &mut y, &[$($e),+]);
                *blocks.get(0).get_out() = x;
                *blocks.get(1).get_out() = y;
            }
        }

        impl BlockCipherDecrypt for $name {
            #[inline]
            fn decrypt_with_backend(&self, f: impl BlockCipherDecClosure<BlockSize = Self::BlockSize>) {
                f.call(self)
            }
        }

        impl BlockCipherDecBackend for $name {
            #[inline]
            fn decrypt_block(&self, mut block: InOut<'_, '_, Block<Self>>) {
                let $k = &self.keys;
                let mut b = block.clone_in();
                crypt(&mut b, &[$($d),+]);
                *block.get_out() = b;
            }

            #[inline]
            fn decrypt_par_blocks(&self, mut blocks: InOut<'_, '_, ParBlocks<Self>>) {
                let $k = &self.keys;
                let (mut x, mut y) = (blocks.get(0).clone_in(), blocks.get(1).clone_in());
                crypt2(&mut x, &mut y, &[$($d),+]);
                *blocks.get(0).get_out() = x;
                *blocks.get(1).get_out() = y;
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), " { <redacted> }"))
            }
        }
    };
}

des_type!(
    /// Single DES (FIPS 46-3), 8-byte key (parity bits ignored).
    Des, U8, 1, |k| enc: [&k[0].enc], dec: [&k[0].dec]
);
des_type!(
    /// Triple DES EDE with two keys (K1‖K2, K3 = K1): E(K1) D(K2) E(K1).
    TdesEde2, U16, 2, |k| enc: [&k[0].enc, &k[1].dec, &k[0].enc], dec: [&k[0].dec, &k[1].enc, &k[0].dec]
);
des_type!(
    /// Triple DES EDE with three keys (K1‖K2‖K3): E(K1) D(K2) E(K3).
    TdesEde3, U24, 3, |k| enc: [&k[0].enc, &k[1].dec, &k[2].enc], dec: [&k[2].dec, &k[1].enc, &k[0].dec]
);

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::Array;
    use proptest::prelude::*;

    /// FIPS 46-3 IP and its inverse by the tables, bit by bit.
    fn ip_by_table(x: u64) -> u64 {
        permute(x, 64, &IP)
    }

    fn block(h: &str) -> Array<u8, U8> {
        Array::try_from(hex::decode(h).unwrap().as_slice()).unwrap()
    }

    fn enc<C: BlockCipherEncrypt<BlockSize = U8>>(c: &C, h: &str) -> String {
        let mut b = block(h);
        c.encrypt_block(&mut b);
        hex::encode(b)
    }

    #[test]
    fn ip_and_fp_match_the_tables() {
        for seed in 0..2000u64 {
            let x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (seed << 7);
            let want = ip_by_table(x);
            let (l, r) = ip((x >> 32) as u32, x as u32);
            assert_eq!(
                (l.rotate_right(1), r.rotate_right(1)),
                ((want >> 32) as u32, want as u32),
                "{x:016x}"
            );
            let (hi, lo) = fp(l, r);
            assert_eq!((u64::from(hi) << 32) | u64::from(lo), x);
        }
    }

    #[test]
    fn known_answers() {
        // The FIPS 46-3 worked example (key 133457799BBCDFF1).
        let d = Des::new_from_slice(&hex::decode("133457799BBCDFF1").unwrap()).unwrap();
        assert_eq!(enc(&d, "0123456789ABCDEF"), "85e813540f0ab405");
        // NIST SP 800-17 variable-plaintext known answers (key 0101…01): the first and the last.
        let d = Des::new_from_slice(&[1; 8]).unwrap();
        assert_eq!(enc(&d, "8000000000000000"), "95f8a5e5dd31d900");
        assert_eq!(enc(&d, "0000000000000001"), "166b40b44aba4bd6");
        // Triple DES with K1 = K2 = K3 is single DES.
        let t =
            TdesEde3::new_from_slice(&[0x13, 0x34, 0x57, 0x79, 0x9B, 0xBC, 0xDF, 0xF1].repeat(3)).unwrap();
        assert_eq!(enc(&t, "0123456789ABCDEF"), "85e813540f0ab405");
        let t =
            TdesEde2::new_from_slice(&[0x13, 0x34, 0x57, 0x79, 0x9B, 0xBC, 0xDF, 0xF1].repeat(2)).unwrap();
        assert_eq!(enc(&t, "0123456789ABCDEF"), "85e813540f0ab405");
        assert!(Des::new_from_slice(&[0; 7]).is_err());
        assert_eq!(format!("{t:?}"), "TdesEde2 { <redacted> }");
    }

    fn oracle<O, C>(key: &[u8], blocks: &[[u8; 8]])
    where
        O: BlockCipherEncrypt<BlockSize = U8> + BlockCipherDecrypt<BlockSize = U8> + KeyInit,
        C: BlockCipherEncrypt<BlockSize = U8> + BlockCipherDecrypt<BlockSize = U8> + KeyInit,
    {
        let o = O::new_from_slice(key).unwrap();
        let c = C::new_from_slice(key).unwrap();
        // Many blocks at once (the paired path) equal one by one.
        let mut many: Vec<Array<u8, U8>> = blocks.iter().map(|b| Array::from(*b)).collect();
        c.encrypt_blocks(&mut many);
        let mut one: Vec<Array<u8, U8>> = blocks.iter().map(|b| Array::from(*b)).collect();
        for x in &mut one {
            o.encrypt_block(x);
        }
        assert_eq!(many, one);
        c.decrypt_blocks(&mut many);
        assert!(many.iter().zip(blocks).all(|(m, b)| m.as_slice() == b));
        for b in blocks {
            let (mut x, mut y) = (Array::from(*b), Array::from(*b));
            o.encrypt_block(&mut x);
            c.encrypt_block(&mut y);
            assert_eq!(x, y);
            c.decrypt_block(&mut y);
            assert_eq!(y, Array::from(*b));
            o.decrypt_block(&mut x);
            assert_eq!(x, Array::from(*b));
        }
    }

    proptest! {
        /// The same output as the `des` crate for random keys and blocks, both directions.
        #[test]
        fn matches_the_des_crate(key in any::<[u8; 24]>(), blocks in proptest::collection::vec(any::<[u8; 8]>(), 1..8)) {
            oracle::<des::Des, Des>(&key[..8], &blocks);
            oracle::<des::TdesEde2, TdesEde2>(&key[..16], &blocks);
            oracle::<des::TdesEde3, TdesEde3>(&key, &blocks);
        }
    }
}

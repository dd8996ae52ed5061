//! Per-packet costs of the SCP80 crypto path with pre-expanded keys (no key schedule, no allocation per
//! packet): CBC encrypt + decrypt of 48 bytes and a MAC over 60 bytes (split in three parts, as a packet's
//! RC/CC input is), for AES-128 (CBC + CMAC-64) and 3DES 2-key (CBC + CBC-MAC); and, as the floor to compare
//! with, the same number of raw AES block operations on the `aes` crate.
//!
//! `cargo bench -p m2msim-scp80 --bench crypto -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use aes::cipher::{Array, BlockCipherDecrypt as _, BlockCipherEncrypt as _, KeyInit as _};
use criterion::{Criterion, criterion_group, criterion_main};
use m2msim_scp80::crypto::{
    ChecksumAlgorithm, CipherAlgorithm, CmacLen, ExpandedChecksum, ExpandedCipher, RustCryptoProvider,
    SecurityProvider as _,
};
use m2msim_scp80::keys::SecretKey;

fn key(len: usize, seed: u8) -> SecretKey {
    let bytes: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(37) ^ seed).collect();
    SecretKey::from_slice(&bytes).expect("key")
}

/// One packet's worth: encipher and decipher 48 bytes, then compute and verify a MAC over 60 bytes.
fn packet(cipher: &dyn ExpandedCipher, mac: &dyn ExpandedChecksum, buf: &mut [u8; 48], covered: &[u8; 60]) {
    cipher.encrypt(buf).expect("aligned");
    cipher.decrypt(buf).expect("aligned");
    let parts: [&[u8]; 3] = [&covered[..10], &covered[10..16], &covered[16..]];
    let tag = mac.compute(&parts);
    mac.verify(&parts, tag.as_bytes()).expect("verifies");
}

fn bench(c: &mut Criterion) {
    let p = RustCryptoProvider;
    let covered = [0x5Au8; 60];

    let aes = p.expand_cipher(CipherAlgorithm::AesCbc, &key(16, 1)).expect("aes");
    let cmac = p
        .expand_checksum(ChecksumAlgorithm::AesCmac { len: CmacLen::Eight }, Some(&key(16, 2)))
        .expect("cmac");
    c.bench_function("aes128: cbc enc+dec 48 B + cmac compute+verify 60 B", |b| {
        let mut buf = [0x33u8; 48];
        b.iter(|| packet(aes.as_ref(), cmac.as_ref(), black_box(&mut buf), black_box(&covered)));
    });
    c.bench_function("aes128: cbc enc+dec 48 B + cmac 60 B", |b| {
        let mut buf = [0x33u8; 48];
        b.iter(|| {
            aes.encrypt(black_box(&mut buf)).expect("aligned");
            aes.decrypt(&mut buf).expect("aligned");
            black_box(cmac.compute(&[black_box(&covered)]))
        });
    });

    c.bench_function("aes128 part: cbc enc 48 B", |b| {
        let mut buf = [0x33u8; 48];
        b.iter(|| aes.encrypt(black_box(&mut buf)).expect("aligned"));
    });
    c.bench_function("aes128 part: cbc dec 48 B", |b| {
        let mut buf = [0x33u8; 48];
        b.iter(|| aes.decrypt(black_box(&mut buf)).expect("aligned"));
    });
    c.bench_function("aes128 part: cmac 60 B", |b| {
        b.iter(|| black_box(cmac.compute(&[black_box(&covered)])));
    });

    c.bench_function("aes128 part: cmac 16 B", |b| {
        b.iter(|| black_box(cmac.compute(&[black_box(&covered[..16])])));
    });
    c.bench_function("aes128 part: cmac 0 B", |b| {
        b.iter(|| black_box(cmac.compute(&[black_box(&[])])));
    });

    let tdes = p.expand_cipher(CipherAlgorithm::TripleDes2Cbc, &key(16, 3)).expect("3des");
    let tmac = p.expand_checksum(ChecksumAlgorithm::TdesMac2, Some(&key(16, 4))).expect("3des mac");
    c.bench_function("3des2: cbc enc+dec 48 B + cbc-mac compute+verify 60 B", |b| {
        let mut buf = [0x33u8; 48];
        b.iter(|| packet(tdes.as_ref(), tmac.as_ref(), black_box(&mut buf), black_box(&covered)));
    });
    c.bench_function("3des2: cbc enc+dec 48 B + cbc-mac 60 B", |b| {
        let mut buf = [0x33u8; 48];
        b.iter(|| {
            tdes.encrypt(black_box(&mut buf)).expect("aligned");
            tdes.decrypt(&mut buf).expect("aligned");
            black_box(tmac.compute(&[black_box(&covered)]))
        });
    });

    // The floor: the AES block operations the AES packet needs, on the raw `aes` crate, with the same data
    // dependencies (CBC encryption and CMAC are chains: each block waits for the previous one; CBC
    // decryption is parallel): 3 chained encryptions, 3 parallel decryptions, 4 chained encryptions.
    let raw = aes::Aes128::new(&Array::from([7u8; 16]));
    c.bench_function("floor: raw aes128 3 chained enc + 3 dec + 4 chained enc", |b| {
        let mut blocks = [Array::from([0x33u8; 16]); 3];
        b.iter(|| {
            let mut chain = Array::from([0u8; 16]);
            for blk in &mut blocks {
                for (x, c) in blk.iter_mut().zip(chain.iter()) {
                    *x ^= *c;
                }
                raw.encrypt_block(blk);
                chain = *blk;
            }
            raw.decrypt_blocks(black_box(&mut blocks));
            let mut state = Array::from([0x5Au8; 16]);
            for _ in 0..4 {
                state[0] ^= 1;
                raw.encrypt_block(&mut state);
            }
            black_box(state)
        });
    });

    // The same work on the RustCrypto `cbc` and `cmac` crates, with their pre-expanded state cloned per packet
    // (how those crates are used with a cached key).
    let cmac_ref =
        <cmac::Cmac<aes::Aes128> as cmac::KeyInit>::new_from_slice(key(16, 2).expose_secret()).expect("cmac");
    c.bench_function("floor: cbc + cmac crates, enc+dec 48 B + cmac 60 B", |b| {
        use aes::cipher::{BlockModeDecrypt as _, BlockModeEncrypt as _, InnerIvInit as _};
        use cmac::Mac as _;
        let mut buf = [Array::from([0x33u8; 16]); 3];
        b.iter(|| {
            let iv = Default::default();
            cbc::Encryptor::<aes::Aes128>::inner_iv_init(raw.clone(), &iv)
                .encrypt_blocks(black_box(&mut buf));
            cbc::Decryptor::<aes::Aes128>::inner_iv_init(raw.clone(), &iv).decrypt_blocks(&mut buf);
            let mut m = cmac_ref.clone();
            m.update(black_box(&covered));
            black_box(m.finalize())
        });
    });

    // Key expansion, for scale (done once per keyset, not per packet).
    c.bench_function("expand: aes128 cbc + cmac keys", |b| {
        b.iter(|| {
            let c = p.expand_cipher(CipherAlgorithm::AesCbc, black_box(&key(16, 1))).expect("aes");
            let m = p.expand_checksum(ChecksumAlgorithm::AesCmac { len: CmacLen::Eight }, Some(&key(16, 2)));
            black_box((c, m))
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

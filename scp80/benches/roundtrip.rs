//! Whole SCP80 round trips per second for a single-SMS packet, on the allocation-free variants with
//! buffers reused from trip to trip: the sender secures a command (`secure_command_into`, counter given),
//! the card checks, deciphers and stores the counter (`CardSecurity::process_into`, in-memory counter
//! store), builds the PoR (`CardSecurity::por_into`), and the sender verifies and deciphers the PoR
//! (`verify_por_into`; the response data is not decoded). "round trip, owned APIs" is the same on
//! `CardSecurity::process` and `verify_por` (new vectors per trip, response data decoded). SPI `16 39` (counter higher, ciphered, CC; PoR
//! always, by SMS-SUBMIT, ciphered, with CC), 12 octets of RFM script and a 3-octet compact response,
//! with AES-128 (CBC + AES-CMAC-64) and with 3DES 2-key (CBC + CBC-MAC).
//!
//! In the same group, the floor: the same cipher and MAC calls on the same numbers of octets with the same
//! pre-expanded keys (encrypt + MAC for the command, decrypt + MAC on the card, MAC + encrypt for the PoR,
//! decrypt + MAC to verify it), without any framing, lookups or counters.
//!
//! `cargo bench -p m2msim-scp80 --bench roundtrip -- --warm-up-time 1 --measurement-time 4`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use m2msim_codec::ota::{Cntr, CommandHeader, Kic, Kid, PorStatus, Spi, Tar, Transport};
use m2msim_scp80::card::{CardSecurity, Msl, TarTable};
use m2msim_scp80::counter::{CardId, MemoryCounterStore};
use m2msim_scp80::crypto::{
    ChecksumAlgorithm, CipherAlgorithm, CmacLen, RustCryptoProvider, SecurityProvider as _,
};
use m2msim_scp80::keys::{ChecksumKeySpec, CipherKeySpec, Keyset, KeysetSpec, Keysets, Kvn, SecretKey};
use m2msim_scp80::packet::{ResponseFormat, secure_command_into, verify_por, verify_por_into};

const SCRIPT: [u8; 12] = [0xA0, 0xA4, 0x00, 0x00, 0x02, 0x7F, 0x20, 0xA0, 0xC0, 0x00, 0x00, 0x16];
const RESPONSE: [u8; 3] = [0x01, 0x90, 0x00];
const TAR: Tar = Tar([0xB0, 0x00, 0x10]);

fn key(len: usize, seed: u8) -> SecretKey {
    let bytes: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(37) ^ seed).collect();
    SecretKey::from_slice(&bytes).expect("key")
}

fn spec(cipher: CipherAlgorithm, mac: ChecksumAlgorithm, len: usize) -> KeysetSpec {
    KeysetSpec {
        kvn: Kvn::new(1).expect("kvn"),
        kic: CipherKeySpec::new(cipher, key(len, 1)).expect("kic"),
        kid: ChecksumKeySpec::new(mac, Some(key(len, 2))).expect("kid"),
        kik: None,
    }
}

fn keysets(spec: &KeysetSpec) -> Keysets {
    let mut k = Keysets::new();
    k.insert(Keyset::new(&RustCryptoProvider, spec.clone()).expect("keyset"));
    k
}

fn bench_suite(c: &mut Criterion, name: &str, spec: &KeysetSpec) {
    let sender = keysets(spec);
    let mut tars = TarTable::new();
    tars.insert(TAR, Msl(0x16), ());
    let card = CardSecurity::new(
        CardId::new("bench").expect("id"),
        keysets(spec),
        tars,
        Arc::new(MemoryCounterStore::new()),
    );
    let ks = sender.iter().next().expect("keyset");
    let header =
        CommandHeader { spi: Spi([0x16, 0x39]), kic: Kic(ks.kic_byte()), kid: Kid(ks.kid_byte()), tar: TAR };
    let t = Transport::SmsPp;
    let mut counter = 0u64;
    let mut pkt = Vec::with_capacity(160);
    let mut por = Vec::with_capacity(160);

    // One round trip, checked, to size the floor.
    counter += 1;
    secure_command_into(&sender, t, &header, Cntr::from_u64(counter).expect("cntr"), &SCRIPT, &mut pkt)
        .expect("secure");
    let o = card.process(&pkt, t);
    assert_eq!(o.status, PorStatus::Ok);
    card.por_into(&o, &RESPONSE, &mut por).expect("por").expect("por asked");
    let r = verify_por(&sender, &header, o.cntr, t, &por, ResponseFormat::Auto).expect("verify");
    assert!(r.trusted());
    let rc = ks.kid().checksum().field_len();
    let (cmd_secured, por_secured) = (pkt.len() - 10, por.len() - 9);
    let (cmd_mac, por_mac) = (pkt.len() - rc, por.len() - rc);
    eprintln!(
        "{name}: packet {} octets (ciphered {cmd_secured}, MAC over {cmd_mac}); PoR {} octets (ciphered \
         {por_secured}, MAC over {por_mac})",
        pkt.len(),
        por.len()
    );

    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(1));
    let (mut card_plain, mut por_plain) = (Vec::with_capacity(160), Vec::with_capacity(160));
    g.bench_function("round trip", |b| {
        b.iter(|| {
            counter += 1;
            pkt.clear();
            por.clear();
            let cntr = Cntr::from_u64(counter).expect("cntr");
            secure_command_into(&sender, t, &header, cntr, black_box(&SCRIPT), &mut pkt).expect("secure");
            let v = card.process_into(black_box(&pkt), t, &mut card_plain);
            card.por_into(v, &RESPONSE, &mut por).expect("por");
            let r = verify_por_into(&sender, &header, Some(cntr), t, black_box(&por), &mut por_plain)
                .expect("verify");
            debug_assert!(v.accepted() && r.trusted());
            black_box(r.status)
        });
    });
    g.bench_function("round trip, owned APIs", |b| {
        b.iter(|| {
            counter += 1;
            pkt.clear();
            por.clear();
            let cntr = Cntr::from_u64(counter).expect("cntr");
            secure_command_into(&sender, t, &header, cntr, black_box(&SCRIPT), &mut pkt).expect("secure");
            let o = card.process(black_box(&pkt), t);
            card.por_into(&o, &RESPONSE, &mut por).expect("por");
            let r = verify_por(&sender, &header, Some(cntr), t, black_box(&por), ResponseFormat::Auto)
                .expect("verify");
            debug_assert!(r.trusted());
            black_box(r.status)
        });
    });

    // The floor: the same crypto on the same sizes, keys pre-expanded, nothing else.
    let cipher = ks.kic().cipher();
    let mac = ks.kid().checksum();
    let mut a = vec![0x5Au8; cmd_secured];
    let mut b2 = vec![0xA5u8; por_secured];
    let m1 = vec![0x33u8; cmd_mac];
    let m2 = vec![0x44u8; por_mac];
    g.bench_function("floor: same CBC and MAC work", |b| {
        b.iter(|| {
            // Command: MAC (two parts, as the packet's input is split around the CC), then encrypt.
            let t1 = mac.compute(&[&m1[..16], &m1[16..]]);
            cipher.encrypt(black_box(&mut a)).expect("aligned");
            // Card: decrypt, verify the MAC.
            cipher.decrypt(black_box(&mut a)).expect("aligned");
            let ok1 = mac.verify(&[&m1[..16], &m1[16..]], t1.as_bytes()).is_ok();
            // PoR: MAC, encrypt; sender: decrypt, verify.
            let t2 = mac.compute(&[&m2[..9], &m2[9..16], &m2[16..]]);
            cipher.encrypt(black_box(&mut b2)).expect("aligned");
            cipher.decrypt(black_box(&mut b2)).expect("aligned");
            let ok2 = mac.verify(&[&m2[..9], &m2[9..16], &m2[16..]], t2.as_bytes()).is_ok();
            black_box(ok1 && ok2)
        });
    });

    // The parts, for profiling.
    let mut pkt2 = Vec::with_capacity(160);
    g.bench_function("part: secure", |b| {
        b.iter(|| {
            pkt2.clear();
            secure_command_into(&sender, t, &header, Cntr::from_u64(7).expect("cntr"), &SCRIPT, &mut pkt2)
                .expect("secure")
        });
    });
    let fixed_por = por.clone();
    g.bench_function("part: verify PoR", |b| {
        b.iter(|| {
            verify_por(&sender, &header, None, t, black_box(&fixed_por), ResponseFormat::Auto).expect("v")
        });
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let aes = spec(CipherAlgorithm::AesCbc, ChecksumAlgorithm::AesCmac { len: CmacLen::Eight }, 16);
    bench_suite(c, "aes128 spi 1639", &aes);
    let tdes = spec(CipherAlgorithm::TripleDes2Cbc, ChecksumAlgorithm::TdesMac2, 16);
    bench_suite(c, "3des2 spi 1639", &tdes);
    // Before / after for the DES implementation: the 32 chained triple-DES block operations of one round
    // trip, on the `des` crate and on this crate's table-driven `crypto::des`.
    {
        use aes::cipher::{Array, BlockCipherEncrypt as _, KeyInit as _};
        let k = key(16, 3);
        let theirs = des::TdesEde2::new_from_slice(k.expose_secret()).expect("key");
        let ours = m2msim_scp80::crypto::des::TdesEde2::new_from_slice(k.expose_secret()).expect("key");
        c.bench_function("3des2 32 chained blocks: des crate", |b| {
            b.iter(|| {
                let mut x = Array::from([0x5Au8; 8]);
                for _ in 0..32 {
                    theirs.encrypt_block(&mut x);
                }
                black_box(x)
            });
        });
        c.bench_function("3des2 32 chained blocks: crypto::des", |b| {
            b.iter(|| {
                let mut x = Array::from([0x5Au8; 8]);
                for _ in 0..32 {
                    ours.encrypt_block(&mut x);
                }
                black_box(x)
            });
        });
    }
    // Key expansion, for scale (once per keyset, not per packet).
    c.bench_function("expand: 3des2 keyset", |b| {
        b.iter(|| black_box(RustCryptoProvider.expand_cipher(CipherAlgorithm::TripleDes2Cbc, &key(16, 1))))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

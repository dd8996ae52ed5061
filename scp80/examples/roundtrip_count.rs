//! A deterministic driver for instruction counting (callgrind) of the SCP80 round trip the `roundtrip`
//! bench measures: the sender secures a single-SMS command (SPI `16 39`, AES-128 CBC + AES-CMAC-64 or
//! 3DES 2-key), the card processes it and builds the PoR, the sender verifies the PoR. `floor` runs the
//! same cipher and MAC calls on the same sizes with the same pre-expanded keys and nothing else.
//!
//! ```text
//! cargo build --release -p m2msim-scp80 --example roundtrip_count
//! valgrind --tool=callgrind --toggle-collect='roundtrip_count::one_*' \
//!     target/release/examples/roundtrip_count trip aes 10000
//! ```
//!
//! Arguments: `trip` | `owned` | `floor`, `aes` | `3des`, number of iterations. `trip` is the bench's round
//! trip on the allocation-free variants (`secure_command_into`, `CardSecurity::process_into`,
//! `CardSecurity::por_into`, `verify_por_into`, buffers reused); `owned` the same on the owned APIs
//! (`CardSecurity::process`, `verify_por`: new vectors per trip, response data decoded). Prints the
//! iterations run, so that the per-iteration count is the total of the toggled functions divided by it.

use std::hint::black_box;
use std::sync::Arc;

use m2msim_codec::ota::{Cntr, CommandHeader, Kic, Kid, PorStatus, Spi, Tar, Transport};
use m2msim_scp80::card::{CardSecurity, Msl, TarTable};
use m2msim_scp80::counter::{CardId, MemoryCounterStore};
use m2msim_scp80::crypto::{
    ChecksumAlgorithm, CipherAlgorithm, CmacLen, ExpandedChecksum, ExpandedCipher, RustCryptoProvider,
};
use m2msim_scp80::keys::{ChecksumKeySpec, CipherKeySpec, Keyset, KeysetSpec, Keysets, Kvn, SecretKey};
use m2msim_scp80::packet::{ResponseFormat, secure_command_into, verify_por, verify_por_into};

const SCRIPT: [u8; 12] = [0xA0, 0xA4, 0x00, 0x00, 0x02, 0x7F, 0x20, 0xA0, 0xC0, 0x00, 0x00, 0x16];
const RESPONSE: [u8; 3] = [0x01, 0x90, 0x00];
const TAR: Tar = Tar([0xB0, 0x00, 0x10]);

type Failure = Box<dyn std::error::Error>;

fn key(len: usize, seed: u8) -> Result<SecretKey, Failure> {
    let bytes: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(37) ^ seed).collect();
    Ok(SecretKey::from_slice(&bytes)?)
}

fn keysets(cipher: CipherAlgorithm, mac: ChecksumAlgorithm) -> Result<Keysets, Failure> {
    let spec = KeysetSpec {
        kvn: Kvn::new(1)?,
        kic: CipherKeySpec::new(cipher, key(16, 1)?)?,
        kid: ChecksumKeySpec::new(mac, Some(key(16, 2)?))?,
        kik: None,
    };
    let mut k = Keysets::new();
    k.insert(Keyset::new(&RustCryptoProvider, spec)?);
    Ok(k)
}

struct Trip {
    sender: Keysets,
    card: CardSecurity<()>,
    header: CommandHeader,
    counter: u64,
    pkt: Vec<u8>,
    por: Vec<u8>,
    card_plain: Vec<u8>,
    por_plain: Vec<u8>,
}

#[inline(never)]
fn one_trip(t: &mut Trip) -> Result<bool, Failure> {
    let tr = Transport::SmsPp;
    t.counter += 1;
    t.pkt.clear();
    t.por.clear();
    let cntr = Cntr::from_u64(t.counter).ok_or("counter")?;
    secure_command_into(&t.sender, tr, &t.header, cntr, black_box(&SCRIPT), &mut t.pkt)?;
    let v = t.card.process_into(black_box(&t.pkt), tr, &mut t.card_plain);
    t.card.por_into(v, &RESPONSE, &mut t.por)?;
    let r = verify_por_into(&t.sender, &t.header, Some(cntr), tr, black_box(&t.por), &mut t.por_plain)?;
    Ok(v.accepted() && r.trusted())
}

#[inline(never)]
fn one_owned(t: &mut Trip) -> Result<bool, Failure> {
    let tr = Transport::SmsPp;
    t.counter += 1;
    t.pkt.clear();
    t.por.clear();
    let cntr = Cntr::from_u64(t.counter).ok_or("counter")?;
    secure_command_into(&t.sender, tr, &t.header, cntr, black_box(&SCRIPT), &mut t.pkt)?;
    let o = t.card.process(black_box(&t.pkt), tr);
    t.card.por_into(&o, &RESPONSE, &mut t.por)?;
    let r = verify_por(&t.sender, &t.header, Some(cntr), tr, black_box(&t.por), ResponseFormat::Auto)?;
    Ok(o.status == PorStatus::Ok && r.trusted())
}

struct Floor<'k> {
    cipher: &'k dyn ExpandedCipher,
    mac: &'k dyn ExpandedChecksum,
    a: Vec<u8>,
    b: Vec<u8>,
    m1: Vec<u8>,
    m2: Vec<u8>,
}

#[inline(never)]
fn one_floor(f: &mut Floor<'_>) -> Result<bool, Failure> {
    let (m1, m2) = (&f.m1, &f.m2);
    let t1 = f.mac.compute(&[&m1[..16], &m1[16..]]);
    f.cipher.encrypt(black_box(&mut f.a))?;
    f.cipher.decrypt(black_box(&mut f.a))?;
    let ok1 = f.mac.verify(&[&m1[..16], &m1[16..]], t1.as_bytes()).is_ok();
    let t2 = f.mac.compute(&[&m2[..9], &m2[9..16], &m2[16..]]);
    f.cipher.encrypt(black_box(&mut f.b))?;
    f.cipher.decrypt(black_box(&mut f.b))?;
    let ok2 = f.mac.verify(&[&m2[..9], &m2[9..16], &m2[16..]], t2.as_bytes()).is_ok();
    Ok(black_box(ok1 && ok2))
}

fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map_or("trip", String::as_str);
    let (cipher, mac) = match args.get(2).map_or("aes", String::as_str) {
        "3des" => (CipherAlgorithm::TripleDes2Cbc, ChecksumAlgorithm::TdesMac2),
        _ => (CipherAlgorithm::AesCbc, ChecksumAlgorithm::AesCmac { len: CmacLen::Eight }),
    };
    let n: u64 = args.get(3).map_or(Ok(10_000), |s| s.parse())?;
    let sender = keysets(cipher, mac)?;
    let ks = sender.iter().next().ok_or("no keyset")?;
    let header =
        CommandHeader { spi: Spi([0x16, 0x39]), kic: Kic(ks.kic_byte()), kid: Kid(ks.kid_byte()), tar: TAR };
    let mut tars = TarTable::new();
    tars.insert(TAR, Msl(0x16), ());
    let card = CardSecurity::new(
        CardId::new("bench")?,
        keysets(cipher, mac)?,
        tars,
        Arc::new(MemoryCounterStore::new()),
    );
    let mut trip = Trip {
        sender,
        card,
        header,
        counter: 0,
        pkt: Vec::with_capacity(160),
        por: Vec::with_capacity(160),
        card_plain: Vec::with_capacity(160),
        por_plain: Vec::with_capacity(160),
    };
    // One checked round trip, to size the floor as the bench does.
    if !one_trip(&mut trip)? {
        return Err("the round trip failed".into());
    }
    let rc = 8;
    let (pkt_len, por_len) = (trip.pkt.len(), trip.por.len());
    let mut ok = true;
    if mode == "floor" {
        let ks = trip.sender.iter().next().ok_or("no keyset")?;
        let mut f = Floor {
            cipher: ks.kic().cipher(),
            mac: ks.kid().checksum(),
            a: vec![0x5A; pkt_len - 10],
            b: vec![0xA5; por_len - 9],
            m1: vec![0x33; pkt_len - rc],
            m2: vec![0x44; por_len - rc],
        };
        for _ in 0..n {
            ok &= one_floor(&mut f)?;
        }
    } else if mode == "owned" {
        for _ in 0..n {
            ok &= one_owned(&mut trip)?;
        }
    } else {
        for _ in 0..n {
            ok &= one_trip(&mut trip)?;
        }
    }
    println!("{mode}: {n} iterations, all ok: {ok}");
    Ok(())
}

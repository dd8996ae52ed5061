//! Framing speed: decode + encode of an ENVELOPE (SMS-PP download) carrying a full single-SMS secured
//! command packet, every layer (ENVELOPE BER-TLV and COMPREHENSION-TLVs → SMS-DELIVER → secured packet)
//! decoded and encoded back. No crypto: the secured part is opaque here.
//!
//! Two paths: `view` through the zero-copy views (`EnvelopeRef` → `SmsPpDownloadRef` → `DeliverRef` →
//! `CommandPacketRef`, no allocation), and `owned` through the owned typed values, for comparison.
//! `examples/envelope_count.rs` runs the same round trips for callgrind.
//!
//! `cargo bench -p m2msim-codec --bench envelope`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use m2msim_codec::cat::{Address, Envelope, EnvelopeRef, SmsPpDownload, SmsPpDownloadRef, SmsTpdu};
use m2msim_codec::ota::{CommandHeader, CommandPacket, CommandPacketRef, Kic, Kid, Spi, Tar, Transport};
use m2msim_codec::sms::address::Address as TpAddress;
use m2msim_codec::sms::fields::{Dcs, Pid, Scts};
use m2msim_codec::sms::tpdu::Deliver;
use m2msim_codec::sms::udh::{Ie, Udh};
use m2msim_codec::sms::user_data::UserData;
use m2msim_codec::{Decode, DecodeRef, Encode};
use std::hint::black_box;

/// The largest 3DES-ciphered packet that fits one SMS: 120 ciphered octets, 130 octets from the CPL (TP-UD 133 octets).
fn envelope_bytes() -> Vec<u8> {
    let header = CommandHeader {
        spi: Spi::from_bytes([0x16, 0x39]),
        kic: Kic(0x15),
        kid: Kid(0x15),
        tar: Tar([0xB0, 0x00, 0x11]),
    };
    let secured: Vec<u8> = (0..120u8).map(|i| i.wrapping_mul(37).wrapping_add(11)).collect();
    let packet = CommandPacket::new(Transport::SmsPp, header, 8, secured).expect("packet");
    let ud = UserData::octets(Some(Udh(vec![Ie::CommandPacket])), packet.encode()).expect("ud");
    let deliver = Deliver::new(
        TpAddress::international("4479").expect("address"),
        Pid(0x7F),
        Dcs(0xF6),
        Scts([0x62, 0x11, 0x22, 0x41, 0x03, 0x00, 0x00]),
        ud,
    );
    let sc = Address::international("447785016005").expect("sc address");
    SmsPpDownload::new(Some(sc), SmsTpdu::from_deliver(&deliver).0).to_envelope().encode()
}

fn round_trip_view(bytes: &[u8], out: &mut Vec<u8>) -> usize {
    let env = EnvelopeRef::decode_exact(bytes).expect("envelope");
    let dl = SmsPpDownloadRef::from_envelope(&env).expect("download");
    let deliver = dl.deliver().expect("deliver");
    let packet = CommandPacketRef::decode_for(Transport::SmsPp, deliver.user_data.body).expect("packet");
    out.clear();
    packet.encode_to(out);
    let n = out.len();
    out.clear();
    deliver.encode_to(out);
    out.clear();
    env.encode_to(out);
    n + out.len()
}

fn round_trip(bytes: &[u8], out: &mut Vec<u8>) -> usize {
    let env = Envelope::decode_exact(bytes).expect("envelope");
    let dl = SmsPpDownload::from_envelope(&env).expect("download");
    let deliver = dl.tpdu.deliver().expect("deliver");
    let packet = CommandPacket::decode_for(Transport::SmsPp, &deliver.user_data.body).expect("packet");
    out.clear();
    packet.encode_to(out);
    let n = out.len();
    out.clear();
    deliver.encode_to(out);
    out.clear();
    env.encode_to(out);
    n + out.len()
}

fn bench(c: &mut Criterion) {
    let bytes = envelope_bytes();
    let mut out = Vec::with_capacity(256);
    assert_eq!(round_trip(&bytes, &mut out) - bytes.len(), 130);
    assert_eq!(out, bytes, "lossless");
    assert_eq!(round_trip_view(&bytes, &mut out) - bytes.len(), 130);
    assert_eq!(out, bytes, "lossless (view)");
    let mut g = c.benchmark_group("envelope");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode_encode_sms_pp_download_130B_packet/view", |b| {
        b.iter(|| round_trip_view(black_box(&bytes), &mut out))
    });
    g.bench_function("decode_encode_sms_pp_download_130B_packet/owned", |b| {
        b.iter(|| round_trip(black_box(&bytes), &mut out))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! A deterministic driver for instruction counting (callgrind) of the ENVELOPE framing round trip the
//! `envelope` bench measures: decode + encode of an ENVELOPE (SMS-PP download) carrying a full single-SMS
//! secured command packet, every layer.
//!
//! ```text
//! cargo build --release -p m2msim-codec --example envelope_count
//! valgrind --tool=callgrind --toggle-collect='envelope_count::one_*' \
//!     target/release/examples/envelope_count view 10000
//! ```
//!
//! Arguments: `view` (the zero-copy views) | `owned` (the owned types), number of iterations. Prints the iterations run, so that the
//! per-iteration count is the total of the toggled functions divided by it.

use std::hint::black_box;

use m2msim_codec::cat::{Address, Envelope, EnvelopeRef, SmsPpDownload, SmsPpDownloadRef, SmsTpdu};
use m2msim_codec::ota::{CommandHeader, CommandPacket, CommandPacketRef, Kic, Kid, Spi, Tar, Transport};
use m2msim_codec::sms::address::Address as TpAddress;
use m2msim_codec::sms::fields::{Dcs, Pid, Scts};
use m2msim_codec::sms::tpdu::Deliver;
use m2msim_codec::sms::udh::{Ie, Udh};
use m2msim_codec::sms::user_data::UserData;
use m2msim_codec::{DecodeRef, DecodeResult, Encode};

type Failure = Box<dyn std::error::Error>;

/// The bench's message: a 3DES-ciphered packet of 120 secured octets (130 from the CPL) in one SMS.
fn envelope_bytes() -> Result<Vec<u8>, Failure> {
    let header = CommandHeader {
        spi: Spi::from_bytes([0x16, 0x39]),
        kic: Kic(0x15),
        kid: Kid(0x15),
        tar: Tar([0xB0, 0x00, 0x11]),
    };
    let secured: Vec<u8> = (0..120u8).map(|i| i.wrapping_mul(37).wrapping_add(11)).collect();
    let packet = CommandPacket::new(Transport::SmsPp, header, 8, secured)?;
    let ud = UserData::octets(Some(Udh(vec![Ie::CommandPacket])), packet.encode())?;
    let deliver = Deliver::new(
        TpAddress::international("4479")?,
        Pid(0x7F),
        Dcs(0xF6),
        Scts([0x62, 0x11, 0x22, 0x41, 0x03, 0x00, 0x00]),
        ud,
    );
    let sc = Address::international("447785016005")?;
    Ok(SmsPpDownload::new(Some(sc), SmsTpdu::from_deliver(&deliver).0).to_envelope().encode())
}

#[inline(never)]
fn one_view(bytes: &[u8], out: &mut Vec<u8>) -> DecodeResult<usize> {
    let env = EnvelopeRef::decode_exact(bytes)?;
    let dl = SmsPpDownloadRef::from_envelope(&env)?;
    let deliver = dl.deliver()?;
    let packet = CommandPacketRef::decode_for(Transport::SmsPp, deliver.user_data.body)?;
    out.clear();
    packet.encode_to(out);
    let n = out.len();
    out.clear();
    deliver.encode_to(out);
    out.clear();
    env.encode_to(out);
    Ok(n + out.len())
}

#[inline(never)]
fn one_owned(bytes: &[u8], out: &mut Vec<u8>) -> DecodeResult<usize> {
    use m2msim_codec::Decode;
    let env = Envelope::decode_exact(bytes)?;
    let dl = SmsPpDownload::from_envelope(&env)?;
    let deliver = dl.tpdu.deliver()?;
    let packet = CommandPacket::decode_for(Transport::SmsPp, &deliver.user_data.body)?;
    out.clear();
    packet.encode_to(out);
    let n = out.len();
    out.clear();
    deliver.encode_to(out);
    out.clear();
    env.encode_to(out);
    Ok(n + out.len())
}

fn main() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "view".into());
    let n: usize = args.next().map_or(Ok(10_000), |s| s.parse())?;
    let bytes = envelope_bytes()?;
    let mut out = Vec::with_capacity(256);
    let one = match mode.as_str() {
        "view" => one_view,
        "owned" => one_owned,
        other => return Err(format!("unknown mode {other} (view | owned)").into()),
    };
    let mut total = 0;
    for _ in 0..n {
        total += one(black_box(&bytes), &mut out)?;
    }
    if out != bytes || total != n * (bytes.len() + 130) {
        return Err("round trip changed the bytes".into());
    }
    println!("{n} iterations ({mode})");
    Ok(())
}

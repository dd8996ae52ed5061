//! Stateful fuzz bodies of the card side and the OTA server, called by the cargo-fuzz targets of `fuzz/`
//! and replayed over the committed corpora by `cargo test` (feature `fuzzing`; compiled for tests too).
//!
//! Both run with the [`NullProvider`] (identity cipher, every RC/CC verifies), so that fuzz inputs get
//! past the checksum check into the counter check, the TAR table and the applets behind them.
//!
//! - [`uicc`]: the simulated UICC of the example profile fed a sequence of APDUs, secured command packets
//!   (wrapped in an SMS-PP download ENVELOPE) and raw TPDUs; it must answer every APDU with at least a
//!   status word, and its card file must reload to the same card afterwards.
//! - [`ota_engine`]: the campaign engine with one job in flight fed arbitrary DELIVER-REPORTs,
//!   SMS-SUBMITs, transport errors and ticks; it must finish the job at most once and account for it.
//!
//! Inputs are records: an operation byte, a length byte, that many bytes (shorter at the end).

use std::sync::{Arc, OnceLock};

use m2msim_codec::Encode;
use m2msim_codec::apdu::{Cla, CommandApdu};
use m2msim_codec::cat::SmsPpDownload;
use m2msim_codec::ota::{Cntr, CommandHeader, Kic, Kid, Spi, Tar, Transport};
use m2msim_codec::sms::{Address, Dcs, Deliver, Ie, Pid, RpKind, Scts, Udh, UserData};

use crate::counter::{CardId, MemoryCounterStore};
use crate::crypto::NullProvider;
use crate::keys::{Keysets, Kvn};
use crate::ota_server::{Engine, EngineConfig, Input, Job, JobId, Output, RetryPolicy, Script, SmsId};
use crate::uicc::Uicc;
use crate::uicc::profile::CardProfile;

/// The keysets of the example profile (`profiles/usim.toml`), for the OTA engine's job.
const KEYS: &str = r#"
[[keyset]]
kvn = 1
kic = { algorithm = "3des2", key = "300102030405060708090a0b0c0d0e0f" }
kid = { algorithm = "3des2-mac", key = "301102030405060708090a0b0c0d0e0f" }

[[keyset]]
kvn = 2
kic = { algorithm = "aes", key = "000102030405060708090a0b0c0d0e0f" }
kid = { algorithm = "aes-cmac", key = "101112131415161718191a1b1c1d1e1f" }
"#;

/// The RFM application on ADF.USIM of the example profile.
const TAR_RFM_USIM: Tar = Tar([0xB0, 0x00, 0x11]);
/// CC, ciphered, counter higher; PoR always, CC, ciphered, in the DELIVER-REPORT.
const SPI_FULL: [u8; 2] = [0x16, 0x19];

/// Splits `data` into records (operation, payload).
fn records(data: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let (&op, tail) = rest.split_first()?;
        let (&n, tail) = tail.split_first().unwrap_or((&0, tail));
        let n = usize::from(n).min(tail.len());
        let (payload, tail) = tail.split_at(n);
        rest = tail;
        Some((op, payload))
    })
}

/// Appends a record.
fn record(out: &mut Vec<u8>, op: u8, payload: &[u8]) {
    out.push(op);
    out.push(u8::try_from(payload.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(payload.get(..255).unwrap_or(payload));
}

/// The example profile, read once per process, and the card file it gives after the set-up APDUs of
/// [`uicc`] (the profile as the card writes it back). Parsing the TOML under the fuzzer's coverage
/// instrumentation costs milliseconds, so it is not done per input: every input starts from a card
/// built from the parsed profile, which is the same card.
struct Template {
    profile: CardProfile,
    after_setup: CardProfile,
}

/// The set-up APDUs: TERMINAL PROFILE, VERIFY PIN1, VERIFY ADM1 of the example profile, so that writes
/// and the proactive path are reachable.
const SETUP: [&[u8]; 3] = [
    b"\x80\x10\x00\x00\x03\xFF\xFF\xFF",
    b"\x00\x20\x00\x01\x08\x31\x32\x33\x34\xFF\xFF\xFF\xFF",
    b"\x00\x20\x00\x0A\x08\x38\x38\x38\x38\x38\x38\x38\x38",
];

/// The template (see [`Template`]), with its card file checked once through TOML.
fn template() -> Option<&'static Template> {
    static T: OnceLock<Option<Template>> = OnceLock::new();
    T.get_or_init(|| {
        let profile = CardProfile::example().ok()?;
        let mut c = Uicc::from_profile_with(&profile, Arc::new(NullProvider)).ok()?;
        for a in SETUP {
            c.handle_apdu(a);
        }
        let after_setup = c.to_profile();
        let toml = after_setup.to_toml().expect("the example card's profile serialises");
        let again = CardProfile::from_toml(&toml).expect("the example card's profile reads back");
        assert_eq!(again, after_setup, "the example card file does not read back to the same profile");
        Some(Template { profile, after_setup })
    })
    .as_ref()
}

/// An SMS-DELIVER carrying a command packet (UDH `70 00`, PID `7F`, DCS `F6`; TS 31.115 §4.1). Packets
/// too long for one SMS are cut.
fn packet_deliver(packet: &[u8]) -> Option<Vec<u8>> {
    let packet = packet.get(..137).unwrap_or(packet);
    let ud = UserData::octets(Some(Udh(vec![Ie::CommandPacket])), packet.to_vec()).ok()?;
    let from = Address::international("4912345678").ok()?;
    Some(Deliver::new(from, Pid(0x7F), Dcs::SIM_SPECIFIC_8BIT, Scts::default(), ud).encode())
}

/// The ENVELOPE (SMS-PP download) of a TPDU.
fn envelope(tpdu: Vec<u8>) -> Option<Vec<u8>> {
    SmsPpDownload::new(None, tpdu).to_apdu().ok().map(|a| a.encode())
}

/// The simulated UICC (TS 102 221, TS 31.102, TS 102 225/226 on the card side) fed records: operation
/// `% 4` = 0 an APDU, 1 a command packet in an SMS-PP download, 2 a TPDU in an SMS-PP download, 3 a reset.
/// The terminal profile is sent and PIN1 and ADM1 verified first ([`SETUP`]), so that writes and the
/// proactive path are reachable.
///
/// Afterwards the card file must reload to the same card: the card written back as a profile, built
/// again and written back gives the same profile, and when the input changed the card file (counters,
/// PIN tries, file contents…) that profile also survives its TOML text. An unchanged card file is the
/// template's, whose TOML round trip [`template`] checked once.
///
/// # Panics
/// On a bug: an answer without a status word, or a card file that does not reload to the same card.
pub fn uicc(data: &[u8]) {
    let Some(t) = template() else { return };
    let Ok(mut c) = Uicc::from_profile_with(&t.profile, Arc::new(NullProvider)) else { return };
    for a in SETUP {
        c.handle_apdu(a);
    }
    for (op, payload) in records(data).take(64) {
        let apdu = match op % 4 {
            0 => Some(payload.to_vec()),
            1 => packet_deliver(payload).and_then(envelope),
            2 => envelope(payload.to_vec()),
            _ => {
                c.reset();
                None
            }
        };
        if let Some(a) = apdu {
            let r = c.handle_apdu(&a);
            assert!(r.len() >= 2, "an R-APDU without a status word");
        }
    }
    let p = c.to_profile();
    let again = Uicc::from_profile_with(&p, Arc::new(NullProvider)).expect("the card file loads");
    assert_eq!(again.to_profile(), p, "the card file does not reload to the same card");
    if p != t.after_setup {
        let toml = p.to_toml().expect("the card's profile serialises");
        let read = CardProfile::from_toml(&toml).expect("the card's profile reads back");
        assert_eq!(read, p, "the card's profile does not survive its TOML text");
    }
}

/// The OTA server's engine with one job in flight (a two-APDU compact script to the RFM application,
/// SPI `16 19`) fed records: operation `% 5` = 0 a DELIVER-REPORT by RP-ACK, 1 one by RP-ERROR, 2 an
/// SMS-SUBMIT, 3 a transport error for the SMS id in the payload's first byte (job, attempt, segment), 4 a tick of the payload's first
/// byte seconds; bit 7 of the operation sends from another MSISDN.
///
/// # Panics
/// On a bug: a job finished twice, or an input that is neither answered nor accounted for.
pub fn ota_engine(data: &[u8]) {
    let Some((mut e, card, other)) = engine() else { return };
    let mut now = 0;
    let mut finished = 0;
    let mut drain = |e: &mut Engine| {
        while let Some(o) = e.poll_output() {
            if let Output::JobFinished(_) = o {
                finished += 1;
            }
        }
    };
    drain(&mut e);
    for (op, payload) in records(data).take(64) {
        let from = if op & 0x80 == 0 { card } else { other };
        let input = match op % 5 {
            0 => Input::DeliverReport { from, tpdu: payload.to_vec(), rp: RpKind::Ack },
            1 => Input::DeliverReport { from, tpdu: payload.to_vec(), rp: RpKind::Error },
            2 => Input::SmsSubmit { from, tpdu: payload.to_vec() },
            3 => {
                let b = *payload.first().unwrap_or(&0);
                Input::TransportError {
                    sms: SmsId {
                        job: JobId(u64::from(b >> 6)),
                        attempt: u16::from(b >> 3 & 7),
                        segment: b & 7,
                    },
                }
            }
            _ => {
                now += 1000 * u64::from(*payload.first().unwrap_or(&1));
                Input::Tick(now)
            }
        };
        e.handle_input(input);
        drain(&mut e);
    }
    assert!(finished <= 1, "the job finished {finished} times");
}

/// The engine with its job submitted and the card's and another MSISDN.
fn engine() -> Option<(Engine, Address, Address)> {
    let keys = Arc::new(Keysets::from_toml(KEYS, &NullProvider).ok()?);
    let server = Address::international("4912345678").ok()?;
    let card = Address::international("491700000001").ok()?;
    let other = Address::international("491700000002").ok()?;
    let mut config = EngineConfig::new(server);
    config.retry = RetryPolicy { max_retries: 1, timeout_ms: 30_000 };
    let mut e = Engine::new(config, Arc::new(MemoryCounterStore::new()));
    let apdus = [
        CommandApdu::new(Cla::ISO, 0xA4, 0x00, 0x0C, vec![0x6F, 0x07], None).ok()?,
        CommandApdu::new(Cla::ISO, 0xB0, 0x00, 0x00, vec![], Some(9)).ok()?,
    ];
    e.submit(Job::new(
        CardId::new("8988211000000000011").ok()?,
        card,
        TAR_RFM_USIM,
        Spi(SPI_FULL),
        Kvn::new(1).ok()?,
        keys,
        Script::compact(&apdus).ok()?,
    ));
    Some((e, card, other))
}

/// A body by name.
pub type Body = fn(&[u8]);

/// Every body of this crate by name (the cargo-fuzz target of the same name calls it).
pub const BODIES: &[(&str, Body)] = &[("uicc", uicc), ("ota_engine", ota_engine)];

/// Seed inputs made by our own encoders, by target: for [`uicc`] secured packets to each application of
/// the example profile (a SELECT + READ BINARY script and an RFM UPDATE), SELECT / READ / AUTHENTICATE
/// APDUs, a FETCH; for [`ota_engine`] the PoR the simulated card answers the engine's packet with, by
/// RP-ACK and by SMS-SUBMIT, and ticks past the timeout.
#[must_use]
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(keys) = Keysets::from_toml(KEYS, &NullProvider) else { return out };
    let script = |apdus: &[&[u8]]| {
        let mut s = Vec::new();
        for a in apdus {
            s.extend_from_slice(a);
        }
        s
    };
    let read_imsi = script(&[b"\x00\xA4\x00\x0C\x02\x6F\x07", b"\x00\xB0\x00\x00\x09"]);
    let update = script(&[b"\x00\xA4\x00\x0C\x02\x6F\xAD", b"\x00\xD6\x00\x00\x04\x00\x00\x00\x02"]);
    let tars: [[u8; 3]; 6] =
        [[0, 0, 0], [0xB0, 0, 0], [0xB0, 0, 0x10], [0xB0, 0, 0x11], [0xB0, 0, 0x12], [0xB2, 0, 0]];
    for (i, tar) in tars.iter().enumerate() {
        for (kvn, spi) in [(1u8, [0x16u8, 0x19u8]), (2, [0x16, 0x39])] {
            let Some(ks) = Kvn::new(kvn).ok().and_then(|k| keys.get(k)) else { continue };
            let header = CommandHeader {
                spi: Spi(spi),
                kic: Kic(ks.kic_byte()),
                kid: Kid(ks.kid_byte()),
                tar: Tar(*tar),
            };
            let data = if i == 3 { &update } else { &read_imsi };
            let cntr = Cntr::from_u64(u64::from(kvn) + 1).unwrap_or(Cntr([0; 5]));
            if let Ok(p) = crate::packet::secure_command(&keys, Transport::SmsPp, &header, cntr, data) {
                let mut input = Vec::new();
                record(&mut input, 1, &p.encode());
                record(&mut input, 0, b"\x80\x12\x00\x00\x00");
                out.push(("uicc", format!("packet-tar{}-kvn{kvn}", hex::encode(tar)), input));
            }
        }
    }
    let mut apdus = Vec::new();
    for a in [
        &b"\x00\xA4\x04\x04\x0C\xA0\x00\x00\x00\x87\x10\x02\xFF\x49\xFF\x05\x89"[..],
        b"\x00\xC0\x00\x00\x00",
        b"\x00\xA4\x00\x0C\x02\x6F\x07",
        b"\x00\xB0\x00\x00\x09",
        b"\xA0\xA4\x00\x00\x02\x3F\x00",
        b"\x80\xF2\x00\x00\x00",
    ] {
        record(&mut apdus, 0, a);
    }
    out.push(("uicc", "apdus".into(), apdus));
    if let Some(s) = ota_seeds() {
        out.extend(s);
    }
    out
}

/// The engine's packet run through the simulated card and its terminal: the PoR as it comes back.
fn ota_seeds() -> Option<Vec<(&'static str, String, Vec<u8>)>> {
    use crate::ota_server::SimCard;
    use crate::terminal::{Output as TOut, TerminalConfig};
    let (mut e, card, _) = engine()?;
    let uicc = Uicc::from_profile_with(&template()?.profile, Arc::new(NullProvider)).ok()?;
    let mut sim = SimCard::new("8988211000000000011", card, uicc, TerminalConfig::default()).ok()?;
    let mut por = Vec::new();
    while let Some(o) = e.poll_output() {
        if let Output::SmsDeliver { tpdu, .. } = o {
            for t in sim.terminal_input(crate::terminal::Input::SmsDeliver { tpdu, sc_address: None }) {
                match t {
                    TOut::DeliverReport { tpdu, rp: RpKind::Ack } => record(&mut por, 0, &tpdu),
                    TOut::DeliverReport { tpdu, rp: RpKind::Error } => record(&mut por, 1, &tpdu),
                    TOut::SmsSubmit { tpdu, .. } => record(&mut por, 2, &tpdu),
                    _ => {}
                }
            }
        }
    }
    let mut timeout = Vec::new();
    record(&mut timeout, 4, &[31]);
    record(&mut timeout, 4, &[31]);
    record(&mut timeout, 3, &[0]);
    Some(vec![("ota_engine", "por".into(), por), ("ota_engine", "timeouts".into(), timeout)])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeds reach the code behind the checks: the card runs the packets (a PoR comes back) and the
    /// engine finishes its job on the simulated card's PoR.
    #[test]
    fn seeds_run() {
        let seeds = seeds();
        assert!(seeds.iter().filter(|s| s.0 == "uicc").count() >= 10);
        assert!(seeds.iter().any(|s| s.0 == "ota_engine" && s.1 == "por" && !s.2.is_empty()));
        for (target, _, input) in &seeds {
            let body = BODIES.iter().find(|b| b.0 == *target).unwrap().1;
            body(input);
        }
    }

    /// Every committed corpus file and regression of this crate's targets, through its body.
    #[test]
    fn corpus_replay() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
        let n = m2msim_codec::testdata::replay_fuzz_dirs(&root, BODIES);
        assert!(n > 0, "no corpus files under {}", root.display());
    }
}

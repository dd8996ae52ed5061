//! The simulated terminal and card together, over the OTA path: SMS-DELIVER → ENVELOPE → reassembly →
//! secured packet → RFM / REFRESH applet → PoR in the DELIVER-REPORT or by SEND SHORT MESSAGE, REFRESH
//! (UICC reset) → new session, AKA.
//!
//! These use unsecured packets (SPI1 00) to a profile whose applications admit them (MSL 00), so that the
//! wiring is tested independently of the ciphers; the secured flows are in `uicc_scp80.rs`.
#![allow(clippy::unwrap_used)] // test code

use m2msim_codec::apdu::{Cla, CommandApdu, ResponseApdu, StatusWord};
use m2msim_codec::cat::RefreshMode;
use m2msim_codec::ota::{
    Cntr, CommandHeader, CommandPacket, Kic, Kid, PorStatus, ResponseUserData, SecuredCommand, Spi, Tar,
    Transport,
};
use m2msim_codec::rfm::{CompactResponse, ExpandedResponse, ExpandedScript};
use m2msim_codec::sim::{EfEpsloci, EfImsi, EfLoci, EfPsloci, EpsUpdateStatus, LocationUpdateStatus};
use m2msim_codec::sms::concat::{ConcatRef, deliver_tpdus};
use m2msim_codec::sms::{Address, DeliverReport, RpKind, Scts, Submit};
use m2msim_codec::{Decode, Encode};
use m2msim_scp80::milenage::{Milenage, Sqn};
use m2msim_scp80::terminal::{CardLink, Input, Output, Terminal, TerminalConfig};
use m2msim_scp80::uicc::Uicc;
use m2msim_scp80::uicc::fs::EfBody;
use m2msim_scp80::uicc::profile::{CardProfile, EXAMPLE_PROFILE};

const NEW_IMSI: &str = "001019876543210";

fn h(s: &str) -> Vec<u8> {
    m2msim_codec::hexser::parse_hex(s).unwrap()
}

/// The example card with every application open to unsecured packets except the ISD (MSL 16 kept).
fn open_card() -> Uicc {
    let text =
        EXAMPLE_PROFILE.replace("msl = \"16\"", "msl = \"00\"").replacen("msl = \"00\"", "msl = \"16\"", 1);
    let card = Uicc::from_profile(&CardProfile::from_toml(&text).unwrap()).unwrap();
    assert_eq!(card.applications().find(|a| a.tar == Tar([0, 0, 0])).unwrap().msl, 0x16);
    card
}

fn terminal(card: &mut Uicc) -> Terminal {
    let mut t = Terminal::new(TerminalConfig { pin1: Some("1234".into()), ..TerminalConfig::default() });
    t.handle_input(card, Input::PowerOn);
    match t.poll_output() {
        Some(Output::Ready { imsi, .. }) => assert_eq!(imsi.as_deref(), Some("001010123456789")),
        other => panic!("{other:?}"),
    }
    assert_eq!(t.poll_output(), None);
    t
}

/// An unsecured command packet (SPI1 00) to `tar` with PoR options `spi2`.
fn packet(tar: [u8; 3], spi2: u8, script: &[u8]) -> Vec<u8> {
    let header =
        CommandHeader { spi: Spi::from_bytes([0x00, spi2]), kic: Kic(0), kid: Kid(0), tar: Tar(tar) };
    let sec = SecuredCommand::padded(Cntr::from_u64(1).unwrap(), 0, script, 0);
    CommandPacket::from_plain(Transport::SmsPp, header, &sec).unwrap().encode()
}

fn ota_server() -> Address {
    Address::international("4912345678").unwrap()
}

/// Sends a packet as SMS-DELIVER(s) through the terminal and returns every output.
fn send(t: &mut Terminal, card: &mut Uicc, packet: &[u8]) -> Vec<Output> {
    let scts = Scts([0x52, 0x10, 0x01, 0x12, 0x00, 0x00, 0x00]);
    let mut out = Vec::new();
    for d in deliver_tpdus(packet, ConcatRef::Eight(0x42), ota_server(), scts).unwrap() {
        t.handle_input(card, Input::SmsDeliver { tpdu: d.encode(), sc_address: None });
        while let Some(o) = t.poll_output() {
            out.push(o);
        }
    }
    out
}

/// The PoR carried in an RP-ACK DELIVER-REPORT.
fn por_of(report: &Output) -> ResponseUserData {
    let Output::DeliverReport { tpdu, rp: RpKind::Ack } = report else { panic!("{report:?}") };
    let r = DeliverReport::decode_ack(tpdu).unwrap();
    ResponseUserData::decode_exact(&r.user_data.unwrap().encode()[1..]).unwrap()
}

fn por_data(p: &ResponseUserData) -> (PorStatus, Vec<u8>) {
    let s = p.parse_secured().unwrap();
    (s.status, s.data_without_padding().unwrap().to_vec())
}

fn ef(card: &Uicc, path: &[u16]) -> Vec<u8> {
    let usim = card.fs().adf_by_label("USIM").unwrap();
    match card.fs().ef_at(usim, path) {
        Some(EfBody::Transparent(d)) => d.clone(),
        other => panic!("{other:?}"),
    }
}

/// The IMSI-change commands of m2m.md §4.4 (EF_IMSI, then EF_LOCI, EF_PSLOCI, EF_EPSLOCI invalidated).
fn imsi_change_apdus() -> Vec<CommandApdu> {
    let imsi = EfImsi::from_digits(NEW_IMSI).unwrap().encode();
    let sel = |f: &str| CommandApdu::new(Cla::ISO, 0xA4, 0x00, 0x0C, h(f), None).unwrap();
    let upd = |d: Vec<u8>| CommandApdu::new(Cla::ISO, 0xD6, 0x00, 0x00, d, None).unwrap();
    vec![
        sel("6F07"),
        upd(imsi),
        sel("6F7E"),
        upd(h("FFFFFFFF 00F110 FFFE FF 01")),
        sel("6F73"),
        upd(h("FFFFFFFF FFFFFF 00F110 FFFE FF 01")),
        sel("6FE3"),
        upd(h("FFFFFFFFFFFFFFFFFFFFFFFF 00F110 FFFE 01")),
    ]
}

fn compact(apdus: &[CommandApdu]) -> Vec<u8> {
    apdus.iter().flat_map(Encode::encode).collect()
}

fn assert_changed(card: &Uicc) {
    assert_eq!(EfImsi::decode_exact(&ef(card, &[0x6F07])).unwrap().imsi.as_str(), NEW_IMSI);
    let loci = EfLoci::decode_exact(&ef(card, &[0x6F7E])).unwrap();
    assert_eq!((loci.tmsi, loci.lai.lac, loci.status), ([0xFF; 4], 0xFFFE, LocationUpdateStatus::NotUpdated));
    let ps = EfPsloci::decode_exact(&ef(card, &[0x6F73])).unwrap();
    assert_eq!((ps.p_tmsi, ps.rai.lai.lac), ([0xFF; 4], 0xFFFE));
    let eps = EfEpsloci::decode_exact(&ef(card, &[0x6FE3])).unwrap();
    assert_eq!((eps.guti, eps.tai.tac, eps.status), ([0xFF; 12], 0xFFFE, EpsUpdateStatus::NotUpdated));
}

#[test]
fn imsi_change_compact_then_refresh_then_aka() {
    let mut card = open_card();
    let mut t = terminal(&mut card);
    // PoR required, in the DELIVER-REPORT.
    let out = send(&mut t, &mut card, &packet([0xB0, 0x00, 0x11], 0x01, &compact(&imsi_change_apdus())));
    assert_eq!(out.len(), 1, "{out:?}");
    let por = por_of(&out[0]);
    assert_eq!(por.packet.tar, Tar([0xB0, 0x00, 0x11]));
    let (status, data) = por_data(&por);
    assert_eq!(status, PorStatus::Ok);
    assert_eq!(
        CompactResponse::decode_exact(&data).unwrap(),
        CompactResponse::new(8, StatusWord::OK, vec![])
    );
    assert_changed(&card);
    // The terminal's session still has the old IMSI until the card is reset.
    assert_eq!(t.imsi(), Some("001010123456789"));
    // The REFRESH applet: STORE DATA with qualifier 04.
    let out = send(&mut t, &mut card, &packet([0xB2, 0x00, 0x00], 0x01, &h("80E2800003800104")));
    assert_eq!(out.len(), 2, "{out:?}");
    let (status, data) = por_data(&por_of(&out[0]));
    assert_eq!((status, data), (PorStatus::Ok, h("019000")));
    match &out[1] {
        Output::Reset { atr, imsi } => {
            assert_eq!(atr, card.atr());
            assert_eq!(imsi.as_deref(), Some(NEW_IMSI));
        }
        other => panic!("{other:?}"),
    }
    // AKA with the unchanged K works after the change.
    let k = <[u8; 16]>::try_from(h("465b5ce8b199b49faa5f0a2ee238a6bc")).unwrap();
    let opc = <[u8; 16]>::try_from(h("cd63cb71954a9f4e48a5994e37a02baf")).unwrap();
    let network = Milenage::new(&k, &opc);
    let rand = [0x5A; 16];
    let av = network.generate_av(&rand, Sqn::new(0x20).unwrap(), [0x80, 0x00]);
    t.handle_input(&mut card, Input::Authenticate { rand, autn: av.autn });
    match t.poll_output() {
        Some(Output::Authenticated(keys)) => {
            assert_eq!(keys.res, av.xres);
            assert_eq!((keys.ck, keys.ik), (av.ck, av.ik));
            assert!(keys.kc.is_some());
            assert!(!format!("{keys:?}").contains(&hex::encode(av.ck)));
        }
        other => panic!("{other:?}"),
    }
    // The same vector again: synchronisation failure; a bad MAC: MAC failure.
    t.handle_input(&mut card, Input::Authenticate { rand, autn: av.autn });
    let Some(Output::SyncFailure { auts }) = t.poll_output() else { panic!() };
    assert_eq!(network.process_auts(&rand, &auts).unwrap(), Sqn::new(0x20).unwrap());
    let mut bad = av.autn;
    bad[15] ^= 1;
    t.handle_input(&mut card, Input::Authenticate { rand, autn: bad });
    assert_eq!(t.poll_output(), Some(Output::MacFailure));
}

#[test]
fn imsi_change_expanded() {
    let mut card = open_card();
    let mut t = terminal(&mut card);
    let script = ExpandedScript::definite(imsi_change_apdus()).encode();
    let out = send(&mut t, &mut card, &packet([0xB0, 0x00, 0x12], 0x01, &script));
    let (status, data) = por_data(&por_of(&out[0]));
    assert_eq!(status, PorStatus::Ok);
    let r = ExpandedResponse::decode_exact(&data).unwrap();
    assert_eq!(r.executed(), Some(8));
    assert_eq!(r.responses().count(), 8);
    assert!(r.responses().all(|r| *r == ResponseApdu::status(StatusWord::OK)));
    assert_changed(&card);
    // The indefinite form is answered in the indefinite form; a case 4 C-APDU gets its data directly.
    let read = CommandApdu::new(Cla::ISO, 0xB0, 0x00, 0x00, vec![], Some(9)).unwrap();
    let script = ExpandedScript::indefinite([imsi_change_apdus()[0].clone(), read]).encode();
    let out = send(&mut t, &mut card, &packet([0xB0, 0x00, 0x12], 0x01, &script));
    let (_, data) = por_data(&por_of(&out[0]));
    assert_eq!(data[..2], [0xAF, 0x80]);
    let r = ExpandedResponse::decode_exact(&data).unwrap();
    assert_eq!(r.last_response().unwrap().data, EfImsi::from_digits(NEW_IMSI).unwrap().encode());
    // A broken template: bad format "wrong length".
    let out = send(&mut t, &mut card, &packet([0xB0, 0x00, 0x12], 0x01, &h("AA0522")));
    let (_, data) = por_data(&por_of(&out[0]));
    assert_eq!(data, h("AB06800100900102"));
}

#[test]
fn a_script_error_stops_and_reports_the_failing_sw() {
    let mut card = open_card();
    let mut t = terminal(&mut card);
    let before = ef(&card, &[0x6F7E]);
    // SELECT EF_IMSI, UPDATE with a wrong length (past the end), SELECT EF_LOCI, UPDATE: stops at #2.
    let mut apdus = imsi_change_apdus();
    apdus[1] = CommandApdu::new(Cla::ISO, 0xD6, 0x00, 0x05, h("0102030405"), None).unwrap();
    let out = send(&mut t, &mut card, &packet([0xB0, 0x00, 0x11], 0x01, &compact(&apdus)));
    let (status, data) = por_data(&por_of(&out[0]));
    assert_eq!(status, PorStatus::Ok);
    assert_eq!(
        CompactResponse::decode_exact(&data).unwrap(),
        CompactResponse::new(2, StatusWord::WRONG_LENGTH, vec![])
    );
    assert_eq!(ef(&card, &[0x6F7E]), before, "nothing after the failing command ran");
    // RFM on the MF cannot reach the ADF: 6A82 at the first command, with the data of nothing.
    let out = send(&mut t, &mut card, &packet([0xB0, 0x00, 0x00], 0x01, &h("00A4080C047FFF6F07 00B0000009")));
    let (_, data) = por_data(&por_of(&out[0]));
    assert_eq!(data, h("016A82"));
    // A compact command cut short: counted, 6700.
    let out =
        send(&mut t, &mut card, &packet([0xB0, 0x00, 0x11], 0x01, &h("00A4000C026F07 00D6000009 0809")));
    let (_, data) = por_data(&por_of(&out[0]));
    assert_eq!(data, h("026700"));
    // 2G SIM RFM on DF_GSM with GET RESPONSE: the last command's data comes back.
    let out = send(&mut t, &mut card, &packet([0xB0, 0x00, 0x10], 0x01, &h("A0A40000026F07 A0C000000F")));
    let (_, data) = por_data(&por_of(&out[0]));
    assert_eq!(&data[..3], &h("029000"));
    assert_eq!(&data[3..9], &h("000000096F07"));
}

#[test]
fn tar_and_security_level_refusals() {
    let mut card = open_card();
    let mut t = terminal(&mut card);
    let out = send(&mut t, &mut card, &packet([0xB0, 0xFF, 0xFF], 0x01, &h("00A4000C023F00")));
    assert_eq!(por_data(&por_of(&out[0])).0, PorStatus::TarUnknown);
    // The ISD keeps MSL 16: an unsecured packet is below it.
    let out = send(&mut t, &mut card, &packet([0, 0, 0], 0x01, &h("80CA00E000")));
    assert_eq!(por_data(&por_of(&out[0])).0, PorStatus::InsufficientSecurityLevel);
    // "PoR on error only" after success: a plain RP-ACK.
    let out = send(&mut t, &mut card, &packet([0xB0, 0x00, 0x11], 0x02, &h("00A4000C026F07")));
    let Output::DeliverReport { tpdu, rp: RpKind::Ack } = &out[0] else { panic!() };
    assert_eq!(DeliverReport::decode_ack(tpdu).unwrap().user_data, None);
    // "No PoR" on an error: nothing either.
    let out = send(&mut t, &mut card, &packet([0xB0, 0xFF, 0xFF], 0x00, &h("00A4000C026F07")));
    let Output::DeliverReport { tpdu, .. } = &out[0] else { panic!() };
    assert_eq!(DeliverReport::decode_ack(tpdu).unwrap().user_data, None);
    // An SMS that is not a command packet: RP-ERROR D4.
    let d = deliver_tpdus(&[0u8; 3], ConcatRef::Eight(1), ota_server(), Scts([0; 7])).unwrap();
    let mut tpdu = d[0].encode();
    let n = tpdu.len();
    tpdu[n - 5] = 0x71; // UDH 02 71 00: not a command packet
    t.handle_input(&mut card, Input::SmsDeliver { tpdu, sc_address: None });
    let Some(Output::DeliverReport { tpdu, rp: RpKind::Error }) = t.poll_output() else { panic!() };
    assert_eq!(DeliverReport::decode_error(&tpdu).unwrap().failure_cause, Some(0xD4));
}

#[test]
fn por_by_sms_submit_and_concatenated_command() {
    let mut card = open_card();
    let mut t = terminal(&mut card);
    // A script longer than one SMS: 3 segments; SPI2 21 = PoR required, by SMS-SUBMIT.
    let mut script = compact(&imsi_change_apdus());
    for _ in 0..20 {
        script.extend_from_slice(&h("00A4000C026F07 00B0000009"));
    }
    let p = packet([0xB0, 0x00, 0x11], 0x21, &script);
    assert!(p.len() > 268);
    let out = send(&mut t, &mut card, &p);
    assert_eq!(out.len(), 4, "{out:?}");
    for o in &out[..3] {
        let Output::DeliverReport { tpdu, rp: RpKind::Ack } = o else { panic!("{o:?}") };
        assert_eq!(DeliverReport::decode_ack(tpdu).unwrap().user_data, None);
    }
    let Output::SmsSubmit { tpdu, .. } = &out[3] else { panic!("{:?}", out[3]) };
    let submit = Submit::decode_exact(tpdu).unwrap();
    assert_eq!(submit.destination, ota_server());
    assert_eq!(submit.pid.0, 0x00, "PID 00 as the real-card SEND SHORT MESSAGE of scp80_vectors.json");
    let ud = submit.user_data.encode();
    let por = ResponseUserData::decode_exact(&ud[1..]).unwrap();
    let (status, data) = por_data(&por);
    assert_eq!(status, PorStatus::Ok);
    let r = CompactResponse::decode_exact(&data).unwrap();
    assert_eq!((r.executed, r.last_sw), (48, StatusWord::OK));
    assert_eq!(r.data, EfImsi::from_digits(NEW_IMSI).unwrap().encode());
    assert_changed(&card);
    assert!(!card.proactive().busy() && card.proactive().is_empty(), "the terminal answered");
}

#[test]
fn refresh_naa_init_and_file_change() {
    let mut card = open_card();
    let mut t = terminal(&mut card);
    send(&mut t, &mut card, &packet([0xB0, 0x00, 0x11], 0x00, &compact(&imsi_change_apdus())));
    let out = send(&mut t, &mut card, &packet([0xB2, 0x00, 0x00], 0x00, &h("80E2800003800103")));
    assert!(
        matches!(out.last(), Some(Output::Refresh { mode: RefreshMode::NaaInit, imsi: Some(i) }) if i == NEW_IMSI),
        "{out:?}"
    );
    let out = send(&mut t, &mut card, &packet([0xB2, 0x00, 0x00], 0x00, &h("80E2800003800101")));
    assert!(
        matches!(out.last(), Some(Output::Refresh { mode: RefreshMode::FileChangeNotification, .. })),
        "{out:?}"
    );
    // A qualifier beyond 0A, and a command the applet does not know.
    let out = send(&mut t, &mut card, &packet([0xB2, 0x00, 0x00], 0x01, &h("80E280000380010B")));
    assert_eq!(por_data(&por_of(&out[0])).1, h("016A80"));
    let out = send(&mut t, &mut card, &packet([0xB2, 0x00, 0x00], 0x01, &h("80CA00E000")));
    assert_eq!(por_data(&por_of(&out[0])).1, h("016D00"));
    assert!(!card.proactive().busy());
}

/// Records what the terminal sends.
struct Recorder<'a> {
    card: &'a mut Uicc,
    sent: Vec<Vec<u8>>,
}

impl CardLink for Recorder<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.sent.push(apdu.to_vec());
        self.card.handle_apdu(apdu)
    }

    fn reset(&mut self) -> Vec<u8> {
        self.card.reset()
    }
}

#[test]
fn status_polling_follows_the_clock() {
    let mut card = open_card();
    let mut rec = Recorder { card: &mut card, sent: Vec::new() };
    let mut t = Terminal::new(TerminalConfig { poll_interval_ms: 1000, ..TerminalConfig::default() });
    assert_eq!(t.poll_timeout(), None);
    t.handle_input(&mut rec, Input::PowerOn);
    // No PIN configured: EF_IMSI cannot be read.
    assert!(matches!(
        t.poll_output(),
        Some(Output::CardError { during: "read EF_IMSI", sw: StatusWord(0x6982) })
    ));
    assert!(matches!(t.poll_output(), Some(Output::Ready { imsi: None, .. })));
    assert_eq!(t.poll_timeout(), Some(1000));
    let n = rec.sent.len();
    t.handle_timeout(&mut rec, 999);
    assert_eq!(rec.sent.len(), n);
    t.handle_timeout(&mut rec, 1000);
    assert_eq!(rec.sent.len(), n + 1);
    assert_eq!(rec.sent.last().unwrap(), &h("80F2000C"));
    assert_eq!(t.poll_timeout(), Some(2000));
    // EF_DIR gave the full USIM AID.
    assert!(rec.sent.iter().any(|a| a == &h("00A4040C0CA0000000871002FF49FF0589")));
}

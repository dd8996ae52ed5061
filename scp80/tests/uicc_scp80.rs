//! The simulated card and terminal under real SCP80 security: an OTA server secures commands with
//! `packet::CommandSender`, the terminal carries them to the card as SMS-PP downloads, the card checks them
//! with `card::CardSecurity` and runs them on its applets, and the server verifies the PoRs.
//!
//! Covered: the m2m.md §4.4 golden vector (IMSI + LOCI script, SPI 16 21, PoR by SMS-SUBMIT); the IMSI
//! change in compact (3DES) and expanded (AES) format with PoRs secured as SPI2 asks; REFRESH → reset →
//! new IMSI → AKA; unknown TAR (09), security below the MSL (0A), replay (02), wrong KIc / KID key (01,
//! 05, 06); PUT KEY (a wrong KIK refused, old keys refused after the roll, new keys accepted).
#![allow(clippy::unwrap_used)] // test code

use m2msim_codec::apdu::{Cla, CommandApdu, StatusWord};
use m2msim_codec::ota::{CommandHeader, Kic, Kid, PorStatus, Spi, Tar, Transport};
use m2msim_codec::rfm::{CompactResponse, ExpandedScript};
use m2msim_codec::sim::{EfImsi, EfLoci, LocationUpdateStatus};
use m2msim_codec::sms::concat::ConcatRef;
use m2msim_codec::sms::{Address, Dcs, Deliver, Pid, RpKind, Scts, UserData};
use m2msim_codec::{Decode, Encode, Reader};
use m2msim_scp80::counter::{CardId, MemoryCounterStore};
use m2msim_scp80::crypto::RustCryptoProvider;
use m2msim_scp80::keys::Keysets;
use m2msim_scp80::milenage::{Milenage, Sqn};
use m2msim_scp80::packet::{
    CommandSender, PorReport, RemoteResponse, ResponseFormat, SentCommand, por_user_data_from_deliver_report,
    por_user_data_from_submit, verify_por,
};
use m2msim_scp80::terminal::{Input, Output, Terminal, TerminalConfig};
use m2msim_scp80::uicc::Uicc;
use m2msim_scp80::uicc::fs::EfBody;
use m2msim_scp80::uicc::profile::{CardProfile, EXAMPLE_PROFILE};

const NEW_IMSI: &str = "001019876543210";

/// The keys of the example profile, as the OTA server holds them.
const SERVER_KEYS: &str = r#"
[[keyset]]
kvn = 1
kic = { algorithm = "3des2", key = "300102030405060708090a0b0c0d0e0f" }
kid = { algorithm = "3des2-mac", key = "301102030405060708090a0b0c0d0e0f" }
kik = { algorithm = "3des2", key = "302102030405060708090a0b0c0d0e0f" }

[[keyset]]
kvn = 2
kic = { algorithm = "aes", key = "000102030405060708090a0b0c0d0e0f" }
kid = { algorithm = "aes-cmac", key = "101112131415161718191a1b1c1d1e1f" }
kik = { algorithm = "aes", key = "202122232425262728292a2b2c2d2e2f" }
"#;

/// The new operator's keyset after the PUT KEY roll (KVN 3, AES).
const NEW_KEYS: &str = r#"
[[keyset]]
kvn = 3
kic = { algorithm = "aes", key = "000102030405060708090a0b0c0d0e0f" }
kid = { algorithm = "aes-cmac", key = "101112131415161718191a1b1c1d1e1f" }
kik = { algorithm = "aes", key = "202122232425262728292a2b2c2d2e2f" }
"#;

fn h(s: &str) -> Vec<u8> {
    m2msim_codec::hexser::parse_hex(s).unwrap()
}

fn keys(text: &str) -> Keysets {
    Keysets::from_toml(text, &RustCryptoProvider::new()).unwrap()
}

struct Ota {
    card: Uicc,
    terminal: Terminal,
    counters: MemoryCounterStore,
    id: CardId,
}

impl Ota {
    fn new(profile: &str) -> Self {
        let mut card = Uicc::from_profile(&CardProfile::from_toml(profile).unwrap()).unwrap();
        let mut terminal =
            Terminal::new(TerminalConfig { pin1: Some("1234".into()), ..TerminalConfig::default() });
        terminal.handle_input(&mut card, Input::PowerOn);
        assert!(matches!(terminal.poll_output(), Some(Output::Ready { imsi: Some(_), .. })));
        Self {
            card,
            terminal,
            counters: MemoryCounterStore::new(),
            id: CardId::new("8988211000000000011").unwrap(),
        }
    }

    fn example() -> Self {
        Self::new(EXAMPLE_PROFILE)
    }

    fn secure(&self, keys: &Keysets, spi: [u8; 2], key: u8, tar: [u8; 3], script: &[u8]) -> SentCommand {
        let header = CommandHeader { spi: Spi::from_bytes(spi), kic: Kic(key), kid: Kid(key), tar: Tar(tar) };
        CommandSender::new(keys, &self.counters, self.id.clone())
            .send(Transport::SmsPp, header, script)
            .unwrap()
    }

    /// Delivers a secured command and returns the terminal's outputs.
    fn deliver(&mut self, sent: &SentCommand) -> Vec<Output> {
        let scts = Scts([0x52, 0x10, 0x01, 0x12, 0x00, 0x00, 0x00]);
        let server = Address::international("4912345678").unwrap();
        let mut out = Vec::new();
        for d in sent.deliver_tpdus(ConcatRef::Eight(9), server, scts).unwrap() {
            self.terminal
                .handle_input(&mut self.card, Input::SmsDeliver { tpdu: d.encode(), sc_address: None });
            while let Some(o) = self.terminal.poll_output() {
                out.push(o);
            }
        }
        out
    }

    /// Delivers and verifies the PoR (from the DELIVER-REPORT or the SMS-SUBMIT) with `keys`.
    fn round_trip(&mut self, keys: &Keysets, sent: &SentCommand) -> (PorReport, Vec<Output>) {
        let out = self.deliver(sent);
        let bytes = out
            .iter()
            .find_map(|o| match o {
                Output::SmsSubmit { tpdu, .. } => Some(por_user_data_from_submit(tpdu).unwrap()),
                Output::DeliverReport { tpdu, rp: RpKind::Ack } => {
                    por_user_data_from_deliver_report(tpdu, RpKind::Ack).ok()
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no PoR in {out:?}"));
        (sent.verify_por(keys, &bytes, ResponseFormat::Auto).unwrap(), out)
    }

    fn ef(&self, fid: u16) -> Vec<u8> {
        let usim = self.card.fs().adf_by_label("USIM").unwrap();
        match self.card.fs().ef_at(usim, &[fid]) {
            Some(EfBody::Transparent(d)) => d.clone(),
            other => panic!("{other:?}"),
        }
    }
}

fn compact(report: &PorReport) -> CompactResponse {
    match &report.response {
        Some(RemoteResponse::Compact(c)) => c.clone(),
        other => panic!("{other:?}"),
    }
}

fn imsi_change_apdus() -> Vec<CommandApdu> {
    let sel = |f: &str| CommandApdu::new(Cla::ISO, 0xA4, 0x00, 0x0C, h(f), None).unwrap();
    let upd = |d: Vec<u8>| CommandApdu::new(Cla::ISO, 0xD6, 0x00, 0x00, d, None).unwrap();
    vec![
        sel("6F07"),
        upd(EfImsi::from_digits(NEW_IMSI).unwrap().encode()),
        sel("6F7E"),
        upd(h("FFFFFFFF 00F110 FFFE FF 01")),
        sel("6F73"),
        upd(h("FFFFFFFF FFFFFF 00F110 FFFE FF 01")),
        sel("6FE3"),
        upd(h("FFFFFFFFFFFFFFFFFFFFFFFF 00F110 FFFE 01")),
    ]
}

fn imsi_of(ota: &Ota) -> String {
    EfImsi::decode_exact(&ota.ef(0x6F07)).unwrap().imsi.as_str().to_owned()
}

#[test]
fn golden_vector_of_m2m_md() {
    // m2m.md §4.4: TAR B00011, SPI 16 21, KIc = KID = 35 (KVN 3, 3DES 2-key: the keys of KVN 1 here),
    // CNTR 1, the IMSI + LOCI script. Give the card those keys under KVN 3 and another IMSI first.
    let mut ota = Ota::new(&EXAMPLE_PROFILE.replacen("kvn = 1", "kvn = 3", 1));
    let usim = ota.card.fs().adf_by_label("USIM").unwrap();
    let imsi_ef = ota.card.fs().walk(usim, &[0x6F07], None).unwrap();
    *ota.card.fs_mut().body_mut(imsi_ef).unwrap() =
        EfBody::Transparent(EfImsi::from_digits("001010000000001").unwrap().encode());
    let ud = h(
        "02700000481516213535B000112F7823C85FF79902AFE5BD5B28B33EF646D791392C1D056942264BDC3CD2625484CABF4D5D0616E51CCFD5D6E778A9A4A345B318706C5CAC1F41BB98C3867C4B",
    );
    let mut udl = vec![u8::try_from(ud.len()).unwrap()];
    udl.extend_from_slice(&ud);
    let user_data = UserData::read(&mut Reader::new(&udl), true, Dcs::SIM_SPECIFIC_8BIT).unwrap();
    let deliver = Deliver::new(
        Address::international("4912345678").unwrap(),
        Pid::SIM_DATA_DOWNLOAD,
        Dcs::SIM_SPECIFIC_8BIT,
        Scts([0; 7]),
        user_data,
    );
    ota.terminal.handle_input(&mut ota.card, Input::SmsDeliver { tpdu: deliver.encode(), sc_address: None });
    let out: Vec<Output> = std::iter::from_fn(|| ota.terminal.poll_output()).collect();
    // RP-ACK without data, then the PoR by SMS-SUBMIT (SPI2 21: always, by SUBMIT, no RC/CC, plain).
    assert!(matches!(&out[0], Output::DeliverReport { rp: RpKind::Ack, .. }), "{out:?}");
    let Output::SmsSubmit { tpdu, .. } = &out[1] else { panic!("{out:?}") };
    let header = CommandHeader {
        spi: Spi::from_bytes([0x16, 0x21]),
        kic: Kic(0x35),
        kid: Kid(0x35),
        tar: Tar([0xB0, 0x00, 0x11]),
    };
    let server_keys = keys(&SERVER_KEYS.replacen("kvn = 1", "kvn = 3", 1));
    let bytes = por_user_data_from_submit(tpdu).unwrap();
    let report =
        verify_por(&server_keys, &header, None, Transport::SmsPp, &bytes, ResponseFormat::Compact).unwrap();
    assert!(report.trusted(), "{report:?}");
    assert_eq!((report.status, report.cntr.0), (PorStatus::Ok, [0, 0, 0, 0, 1]));
    assert_eq!(compact(&report), CompactResponse::new(4, StatusWord::OK, vec![]));
    assert_eq!(imsi_of(&ota), "001010123456789");
    let loci = EfLoci::decode_exact(&ota.ef(0x6F7E)).unwrap();
    assert_eq!((loci.tmsi, loci.lai.lac, loci.status), ([0xFF; 4], 0xFFFE, LocationUpdateStatus::NotUpdated));
}

#[test]
fn imsi_change_refresh_and_aka_under_3des() {
    let mut ota = Ota::example();
    let k = keys(SERVER_KEYS);
    // SPI 16 19: CC, ciphered, counter higher; PoR always, with CC, ciphered, in the DELIVER-REPORT.
    let script: Vec<u8> = imsi_change_apdus().iter().flat_map(Encode::encode).collect();
    let sent = ota.secure(&k, [0x16, 0x19], 0x15, [0xB0, 0x00, 0x11], &script);
    let (report, _) = ota.round_trip(&k, &sent);
    assert!(report.trusted() && report.deciphered, "{report:?}");
    assert_eq!(report.status, PorStatus::Ok);
    assert_eq!(compact(&report), CompactResponse::new(8, StatusWord::OK, vec![]));
    assert_eq!(imsi_of(&ota), NEW_IMSI);
    assert_eq!(ota.card.counter(m2msim_scp80::keys::Kvn::new(1).unwrap()).get(), 1);
    // REFRESH (UICC reset) through the applet: the PoR, then the reset with the new IMSI.
    let sent = ota.secure(&k, [0x16, 0x19], 0x15, [0xB2, 0x00, 0x00], &h("80E2800003800104"));
    let (report, out) = ota.round_trip(&k, &sent);
    assert_eq!(compact(&report), CompactResponse::new(1, StatusWord::OK, vec![]));
    assert!(matches!(out.last(), Some(Output::Reset { imsi: Some(i), .. }) if i == NEW_IMSI), "{out:?}");
    // AKA with the unchanged K.
    let milenage = Milenage::new(
        &<[u8; 16]>::try_from(h("465b5ce8b199b49faa5f0a2ee238a6bc")).unwrap(),
        &<[u8; 16]>::try_from(h("cd63cb71954a9f4e48a5994e37a02baf")).unwrap(),
    );
    let av = milenage.generate_av(&[7; 16], Sqn::new(0x40).unwrap(), [0x80, 0]);
    ota.terminal.handle_input(&mut ota.card, Input::Authenticate { rand: [7; 16], autn: av.autn });
    assert!(matches!(ota.terminal.poll_output(), Some(Output::Authenticated(keys)) if keys.res == av.xres));
}

#[test]
fn imsi_change_expanded_under_aes_with_por_by_submit() {
    let mut ota = Ota::example();
    let k = keys(SERVER_KEYS);
    let script = ExpandedScript::definite(imsi_change_apdus()).encode();
    // SPI 16 39: as 16 19, the PoR by SMS-SUBMIT.
    let sent = ota.secure(&k, [0x16, 0x39], 0x22, [0xB0, 0x00, 0x12], &script);
    let (report, out) = ota.round_trip(&k, &sent);
    assert!(out.iter().any(|o| matches!(o, Output::SmsSubmit { .. })), "{out:?}");
    assert!(report.trusted() && report.deciphered, "{report:?}");
    let Some(RemoteResponse::Expanded(r)) = &report.response else { panic!("{report:?}") };
    assert_eq!(r.executed(), Some(8));
    assert!(r.responses().all(|r| r.sw == StatusWord::OK));
    assert_eq!(imsi_of(&ota), NEW_IMSI);
}

#[test]
fn security_refusals() {
    let mut ota = Ota::example();
    let k = keys(SERVER_KEYS);
    let read = h("00A4000C026F07");
    // Unknown TAR.
    let sent = ota.secure(&k, [0x16, 0x19], 0x15, [0xB0, 0xFF, 0xFF], &read);
    assert_eq!(ota.round_trip(&k, &sent).0.status, PorStatus::TarUnknown);
    // Below the MSL 16 of B00011: CC only, no ciphering, no counter.
    let sent = ota.secure(&k, [0x02, 0x19], 0x15, [0xB0, 0x00, 0x11], &read);
    assert_eq!(ota.round_trip(&k, &sent).0.status, PorStatus::InsufficientSecurityLevel);
    // A replay: the same packet twice changes nothing the second time.
    let before = imsi_of(&ota);
    let script: Vec<u8> = imsi_change_apdus()[..2].iter().flat_map(Encode::encode).collect();
    let sent = ota.secure(&k, [0x16, 0x19], 0x15, [0xB0, 0x00, 0x11], &script);
    assert_eq!(ota.round_trip(&k, &sent).0.status, PorStatus::Ok);
    let imsi_ef = ota.card.fs().walk(ota.card.fs().adf_by_label("USIM").unwrap(), &[0x6F07], None).unwrap();
    *ota.card.fs_mut().body_mut(imsi_ef).unwrap() =
        EfBody::Transparent(EfImsi::from_digits(&before).unwrap().encode());
    let replay = ota.round_trip(&k, &sent).0;
    assert!(matches!(replay.status, PorStatus::CntrLow | PorStatus::UnidentifiedSecurityError), "{replay:?}");
    assert_eq!(imsi_of(&ota), before, "the replay did not run");
    // A wrong KIc key (same KVN and algorithm): the deciphered packet fails its CC (01) or padding (05).
    let wrong_kic = keys(&SERVER_KEYS.replacen(
        "300102030405060708090a0b0c0d0e0f",
        "ffffffffffffffffffffffffffffffff",
        1,
    ));
    let sent = ota.secure(&wrong_kic, [0x16, 0x19], 0x15, [0xB0, 0x00, 0x11], &read);
    let r = ota.round_trip(&k, &sent).0;
    assert!(matches!(r.status, PorStatus::RcCcDsFailed | PorStatus::CipheringError), "{r:?}");
    // A wrong KID key: 01.
    let wrong_kid = keys(&SERVER_KEYS.replacen(
        "301102030405060708090a0b0c0d0e0f",
        "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
        1,
    ));
    let sent = ota.secure(&wrong_kid, [0x16, 0x19], 0x15, [0xB0, 0x00, 0x11], &read);
    assert_eq!(ota.round_trip(&k, &sent).0.status, PorStatus::RcCcDsFailed);
    // A KIc naming a keyset the card does not have (KVN 9): 06.
    let other = keys(&SERVER_KEYS.replacen("kvn = 1", "kvn = 9", 1));
    let sent = ota.secure(&other, [0x16, 0x19], 0x95, [0xB0, 0x00, 0x11], &read);
    assert_eq!(ota.round_trip(&k, &sent).0.status, PorStatus::UnidentifiedSecurityError);
    // Real cards answer a replay with 06: the profile can say so.
    let mut ota = Ota::new(&EXAMPLE_PROFILE.replacen(
        "[[ota.keyset]]",
        "[ota]\nreplay_status = \"06\"\n\n[[ota.keyset]]",
        1,
    ));
    let sent = ota.secure(&k, [0x16, 0x19], 0x15, [0xB0, 0x00, 0x11], &read);
    assert_eq!(ota.round_trip(&k, &sent).0.status, PorStatus::Ok);
    assert_eq!(ota.round_trip(&k, &sent).0.status, PorStatus::UnidentifiedSecurityError);
}

// The AES keys 000102…0F, 101112…1F, 202122…2F ciphered in 3DES-ECB with KVN 1's KIK (computed with
// openssl), and their KCVs.
const PUT_KEY_KVN3: &str = "03 8810 3619a4a37bc2d8c7bf463628a418d840 03C35280 \
                            8810 32fb597b7a9f8ae55213b1481c928537 03013808 \
                            8810 32103c97221ef9d3cf74a98a8d061a22 03840DE5";

fn put_key(p1: u8, data: &str) -> Vec<u8> {
    CommandApdu::new(Cla::UICC_PROPRIETARY, 0xD8, p1, 0x81, h(data), None).unwrap().encode()
}

#[test]
fn put_key_rolls_the_keys_and_locks_the_old_operator_out() {
    let mut ota = Ota::example();
    let old = keys(SERVER_KEYS);
    // Ciphered under another KIK (KVN 2's AES key): the KCVs do not match, nothing changes.
    let sent = ota.secure(&old, [0x16, 0x19], 0x22, [0, 0, 0], &put_key(0x01, PUT_KEY_KVN3));
    let (report, _) = ota.round_trip(&old, &sent);
    assert!(report.trusted());
    assert_eq!(compact(&report), CompactResponse::new(1, StatusWord::WRONG_DATA, vec![]));
    assert_eq!(ota.card.keysets().len(), 2);
    // The roll: KVN 1 replaced by KVN 3 (AES), secured with KVN 1; the PoR is secured with the old keys.
    let sent = ota.secure(&old, [0x16, 0x19], 0x15, [0, 0, 0], &put_key(0x01, PUT_KEY_KVN3));
    let (report, _) = ota.round_trip(&old, &sent);
    assert!(report.trusted(), "{report:?}");
    assert_eq!(compact(&report), CompactResponse::new(1, StatusWord::OK, h("03C35280013808840DE5")));
    assert!(ota.card.keysets().get(m2msim_scp80::keys::Kvn::new(1).unwrap()).is_none());
    // The old keys no longer work: KVN 1 is gone (06).
    let sent = ota.secure(&old, [0x16, 0x19], 0x15, [0xB0, 0x00, 0x11], &h("00A4000C026F07"));
    assert_eq!(ota.round_trip(&old, &sent).0.status, PorStatus::UnidentifiedSecurityError);
    // The new operator's keys do, with a counter that starts again.
    let new = keys(NEW_KEYS);
    let script: Vec<u8> = imsi_change_apdus().iter().flat_map(Encode::encode).collect();
    let sent = ota.secure(&new, [0x16, 0x19], 0x32, [0xB0, 0x00, 0x11], &script);
    let (report, _) = ota.round_trip(&new, &sent);
    assert!(report.trusted() && report.status == PorStatus::Ok, "{report:?}");
    assert_eq!(imsi_of(&ota), NEW_IMSI);
    // Keeping the KVN and changing the keys also locks the old keys out (their CC no longer verifies).
    let mut ota = Ota::example();
    let data = PUT_KEY_KVN3.replacen("03", "01", 1);
    let sent = ota.secure(&old, [0x16, 0x19], 0x15, [0, 0, 0], &put_key(0x01, &data));
    assert_eq!(compact(&ota.round_trip(&old, &sent).0).last_sw, StatusWord::OK);
    let sent = ota.secure(&old, [0x16, 0x19], 0x15, [0xB0, 0x00, 0x11], &h("00A4000C026F07"));
    let r = ota.round_trip(&old, &sent).0;
    assert!(
        matches!(
            r.status,
            PorStatus::UnidentifiedSecurityError | PorStatus::RcCcDsFailed | PorStatus::CipheringError
        ),
        "{r:?}"
    );
    // The card file keeps the new keys.
    let again = Uicc::from_profile(&ota.card.to_profile()).unwrap();
    assert_eq!(
        again.keysets().get(m2msim_scp80::keys::Kvn::new(1).unwrap()).unwrap().kic().spec().algorithm(),
        m2msim_scp80::crypto::CipherAlgorithm::AesCbc
    );
}

#[test]
fn every_single_bit_flip_of_a_secured_packet_is_refused() {
    let ota = Ota::example();
    let k = keys(SERVER_KEYS);
    let script: Vec<u8> = imsi_change_apdus().iter().flat_map(Encode::encode).collect();
    let sent = ota.secure(&k, [0x16, 0x19], 0x15, [0xB0, 0x00, 0x11], &script);
    for i in 0..sent.packet.len() {
        for bit in [0x01u8, 0x80] {
            let mut card = Uicc::from_profile(&CardProfile::from_toml(EXAMPLE_PROFILE).unwrap()).unwrap();
            let mut p = sent.packet.clone();
            p[i] ^= bit;
            let por = card.process_packet(&p);
            let usim = card.fs().adf_by_label("USIM").unwrap();
            let Some(EfBody::Transparent(imsi)) = card.fs().ef_at(usim, &[0x6F07]) else { panic!() };
            assert_eq!(
                EfImsi::decode_exact(imsi).unwrap().imsi.as_str(),
                "001010123456789",
                "byte {i} bit {bit:02x}"
            );
            if let Some(por) = por {
                assert_ne!(por.status, PorStatus::Ok, "byte {i} bit {bit:02x}");
            }
        }
    }
    // The untouched packet is accepted.
    let mut card = Uicc::from_profile(&CardProfile::from_toml(EXAMPLE_PROFILE).unwrap()).unwrap();
    assert_eq!(card.process_packet(&sent.packet).unwrap().status, PorStatus::Ok);
}

// --- Alt 3b: the key-slot applet (uicc::keyslot) -------------------------------------------------------

/// The pairs after the initial one: index 2 (AES, KVN 1) and index 3 (AES, KVN 1, other keys).
const SLOT2_K: &str = "0396eb317b6d1c36f19c1c84cd6ffd16";
const SLOT2_OPC: &str = "53c15671c60a4b731c55b4a441c0bde2";
const SLOT2_KEYS: &str = r#"
[[keyset]]
kvn = 1
kic = { algorithm = "aes", key = "2b7e151628aed2a6abf7158809cf4f3c" }
kid = { algorithm = "aes-cmac", key = "603deb1015ca71be2b73aef0857d7781" }
kik = { algorithm = "aes", key = "f69f2445df4f9b17ad2b417be66c3710" }
"#;
const SLOT3_KEYS: &str = r#"
[[keyset]]
kvn = 1
kic = { algorithm = "aes", key = "8e73b0f7da0e6452c810f32b809079e5" }
kid = { algorithm = "aes-cmac", key = "62f8ead2522c6b7bf6a5b5e2d0e4b8a1" }
kik = { algorithm = "aes", key = "1f352c073b6108d72d9810a30914dff4" }
"#;

fn keyslot_profile() -> String {
    let slot = |index: u8, k: &str, opc: &str, keys: &str| {
        let t: toml::Table = toml::from_str(keys).unwrap();
        let ks = t["keyset"].as_array().unwrap()[0].as_table().unwrap();
        format!(
            "[[keyslots.slot]]\nindex = {index}\nk = \"{k}\"\nopc = \"{opc}\"\nkeyset = {}\n",
            toml::Value::Table(ks.clone())
        )
    };
    format!(
        "{EXAMPLE_PROFILE}\n[[ota.application]]\ntar = \"c00001\"\nkind = \"keyslot\"\nmsl = \"16\"\n\n\
         [keyslots]\nactive = 1\nkvn = 1\nlast = 3\n\n{}{}",
        slot(2, SLOT2_K, SLOT2_OPC, SLOT2_KEYS),
        slot(3, "000102030405060708090a0b0c0d0e0f", "0f0e0d0c0b0a09080706050403020100", SLOT3_KEYS),
    )
}

const ICCID_EF: &str = "988812010000000010F1";
const SLOT_TAR: [u8; 3] = [0xC0, 0x00, 0x01];

fn switch_apdu(imsi: &str, index: u8, iccid: &str, flags: u8, mnc: Option<u8>) -> Vec<u8> {
    let mut body = vec![0x80, 0x09];
    body.extend(EfImsi::from_digits(imsi).unwrap().encode());
    body.extend([0x81, 0x01, index, 0x82, 0x0A]);
    body.extend(h(iccid));
    body.extend([0x83, 0x01, flags]);
    if let Some(n) = mnc {
        body.extend([0x84, 0x01, n]);
    }
    let mut data = vec![0xA0, u8::try_from(body.len()).unwrap()];
    data.extend(body);
    CommandApdu::new(Cla::UICC_PROPRIETARY, 0xE2, 0x90, 0x00, data, None).unwrap().encode()
}

/// KCV as MNO B computes it from the keys the manufacturer gave: AES of 16 bytes `01` (GP Amd D), 3 bytes.
fn aes_kcv(key: &str) -> Vec<u8> {
    use m2msim_scp80::crypto::{CipherAlgorithm, SecurityProvider};
    let mut block = [1u8; 16];
    let key = m2msim_scp80::keys::SecretKey::from_hex(key).unwrap();
    RustCryptoProvider::new().encrypt(CipherAlgorithm::AesCbc, &key, &mut block).unwrap();
    block[..3].to_vec()
}

fn aka(ota: &mut Ota, k: &str, opc: &str) -> Output {
    let milenage =
        Milenage::new(&<[u8; 16]>::try_from(h(k)).unwrap(), &<[u8; 16]>::try_from(h(opc)).unwrap());
    let av = milenage.generate_av(&[9; 16], Sqn::new(0x40).unwrap(), [0x80, 0]);
    ota.terminal.handle_input(&mut ota.card, Input::Authenticate { rand: [9; 16], autn: av.autn });
    let out = ota.terminal.poll_output().unwrap();
    if let Output::Authenticated(keys) = &out {
        assert_eq!(keys.res, av.xres);
    }
    out
}

#[test]
fn keyslot_switch_moves_imsi_k_and_ota_keys_and_locks_the_old_operator_out() {
    let mut ota = Ota::new(&keyslot_profile());
    let mno_a = keys(SERVER_KEYS);
    let apdu = switch_apdu(NEW_IMSI, 2, ICCID_EF, 0x01, Some(2));
    let sent = ota.secure(&mno_a, [0x16, 0x19], 0x15, SLOT_TAR, &apdu);
    let (report, out) = ota.round_trip(&mno_a, &sent);
    // The PoR is secured with MNO A's keys and carries index 2, one pair left, and the new keys' KCVs.
    assert!(report.trusted() && report.status == PorStatus::Ok, "{report:?}");
    let mut expected = h("800102 810101 8203");
    expected.extend(aes_kcv("2b7e151628aed2a6abf7158809cf4f3c"));
    expected.extend(h("8303"));
    expected.extend(aes_kcv("603deb1015ca71be2b73aef0857d7781"));
    assert_eq!(compact(&report), CompactResponse::new(1, StatusWord::OK, expected));
    // REFRESH (UICC reset) followed; at the reset the card committed the switch.
    assert!(matches!(out.last(), Some(Output::Reset { imsi: Some(i), .. }) if i == NEW_IMSI), "{out:?}");
    let slots = ota.card.key_slots().unwrap();
    assert_eq!((slots.active, slots.pending.is_none(), slots.slots.len()), (2, true, 1));
    let loci = EfLoci::decode_exact(&ota.ef(0x6F7E)).unwrap();
    assert_eq!((loci.tmsi, loci.lai.lac, loci.status), ([0xFF; 4], 0xFFFE, LocationUpdateStatus::NotUpdated));
    assert_eq!(ota.ef(0x6FAD)[3] & 0x0F, 2);
    // AKA: the new K works, the old one no longer does.
    assert!(matches!(aka(&mut ota, SLOT2_K, SLOT2_OPC), Output::Authenticated(_)));
    assert!(!matches!(
        aka(&mut ota, "465b5ce8b199b49faa5f0a2ee238a6bc", "cd63cb71954a9f4e48a5994e37a02baf"),
        Output::Authenticated(_)
    ));
    // MNO A's OTA keys are refused; MNO B's (slot 2) work, with a counter starting again.
    let read = h("00A4000C026F07");
    let sent = ota.secure(&mno_a, [0x16, 0x19], 0x15, [0xB0, 0x00, 0x11], &read);
    assert_ne!(ota.round_trip(&mno_a, &sent).0.status, PorStatus::Ok);
    let mno_b = keys(SLOT2_KEYS);
    let sent = ota.secure(&mno_b, [0x16, 0x19], 0x12, [0xB0, 0x00, 0x11], &read);
    let (report, _) = ota.round_trip(&mno_b, &sent);
    assert!(report.trusted() && report.status == PorStatus::Ok, "{report:?}");
    // The card file keeps the state.
    let again = Uicc::from_profile(&ota.card.to_profile()).unwrap();
    assert_eq!(again.key_slots().unwrap().active, 2);
    assert_eq!(again.subscriber().unwrap().expose_k().to_vec(), h(SLOT2_K));
}

#[test]
fn keyslot_refusals_rollback_skip_exhausted_wrong_card_and_wrong_keys() {
    let mut ota = Ota::new(&keyslot_profile());
    let mno_a = keys(SERVER_KEYS);
    let run = |ota: &mut Ota, k: &Keysets, kic: u8, apdu: &[u8]| {
        let sent = ota.secure(k, [0x16, 0x19], kic, SLOT_TAR, apdu);
        let (report, _) = ota.round_trip(k, &sent);
        assert_eq!(report.status, PorStatus::Ok, "{report:?}");
        compact(&report).last_sw
    };
    // Not this card, a bad template, RFU flags, an MNC length of 4: 6A80.
    assert_eq!(
        run(&mut ota, &mno_a, 0x15, &switch_apdu(NEW_IMSI, 2, "98881201000000001FF1", 0, None)),
        StatusWord::WRONG_DATA
    );
    assert_eq!(run(&mut ota, &mno_a, 0x15, &h("80E2900003800102")), StatusWord::WRONG_DATA);
    assert_eq!(
        run(&mut ota, &mno_a, 0x15, &switch_apdu(NEW_IMSI, 2, ICCID_EF, 0x02, None)),
        StatusWord::WRONG_DATA
    );
    assert_eq!(
        run(&mut ota, &mno_a, 0x15, &switch_apdu(NEW_IMSI, 2, ICCID_EF, 0, Some(4))),
        StatusWord::WRONG_DATA
    );
    // Secured with a keyset that is not the active pair's (KVN 2): 6982.
    assert_eq!(
        run(&mut ota, &mno_a, 0x22, &switch_apdu(NEW_IMSI, 2, ICCID_EF, 0, None)),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
    // Skipping an index, or staying: 6985.
    for idx in [1, 3] {
        let sw = run(&mut ota, &mno_a, 0x15, &switch_apdu(NEW_IMSI, idx, ICCID_EF, 0, None));
        assert_eq!(sw, StatusWord::CONDITIONS_NOT_SATISFIED, "index {idx}");
    }
    // Recorded without REFRESH: nothing changes until the reset; a repeat (a retry) is harmless.
    for _ in 0..2 {
        let sw = run(&mut ota, &mno_a, 0x15, &switch_apdu(NEW_IMSI, 2, ICCID_EF, 0, None));
        assert_eq!(sw, StatusWord::OK);
    }
    assert_eq!(ota.ef(0x6F07), EfImsi::from_digits("001010123456789").unwrap().encode());
    assert_eq!(ota.card.key_slots().unwrap().pending.as_ref().map(|p| p.index), Some(2));
    // The card file keeps the pending switch; powering the card on commits it.
    let mut reloaded = Uicc::from_profile(&ota.card.to_profile()).unwrap();
    assert_eq!(reloaded.key_slots().unwrap().active, 2);
    ota.card.power_on();
    assert_eq!(ota.ef(0x6F07), EfImsi::from_digits(NEW_IMSI).unwrap().encode());
    // Roll-back to 1 or a repeat of 2 under the new keys: 6985. Then 3, the last one.
    let mno_b = keys(SLOT2_KEYS);
    for idx in [1, 2] {
        let sw = run(&mut ota, &mno_b, 0x12, &switch_apdu("001010000000003", idx, ICCID_EF, 0, None));
        assert_eq!(sw, StatusWord::CONDITIONS_NOT_SATISFIED, "index {idx}");
    }
    let sw = run(&mut ota, &mno_b, 0x12, &switch_apdu("001010000000003", 3, ICCID_EF, 0, None));
    assert_eq!(sw, StatusWord::OK);
    ota.card.power_on();
    assert_eq!(ota.card.key_slots().unwrap().active, 3);
    assert!(ota.card.key_slots().unwrap().slots.is_empty());
    // Exhausted: any index, 6A84.
    let mno_c = keys(SLOT3_KEYS);
    for idx in [3, 4] {
        let sw = run(&mut ota, &mno_c, 0x12, &switch_apdu("001010000000004", idx, ICCID_EF, 0, None));
        assert_eq!(sw, StatusWord::NOT_ENOUGH_MEMORY, "index {idx}");
    }
    // The reloaded copy is a card of its own: still at 2.
    assert_eq!(reloaded.power_on().len(), 22);
    assert_eq!(reloaded.key_slots().unwrap().active, 2);
}

#[test]
fn keyslot_profile_errors_and_redaction() {
    let bad = keyslot_profile().replace("last = 3", "last = 2");
    assert!(Uicc::from_profile(&CardProfile::from_toml(&bad).unwrap()).is_err());
    let card = Uicc::from_profile(&CardProfile::from_toml(&keyslot_profile()).unwrap()).unwrap();
    let dbg = format!("{:?}", card.key_slots().unwrap());
    assert!(!dbg.contains(SLOT2_K) && dbg.contains("<redacted>"), "{dbg}");
}

#[test]
fn put_key_builder_matches_the_openssl_vector() {
    use m2msim_scp80::uicc::isd::put_key_command;
    let provider = RustCryptoProvider::new();
    let old = keys(SERVER_KEYS);
    let kik = old.get(m2msim_scp80::keys::Kvn::new(1).unwrap()).unwrap().kik().unwrap();
    let new = m2msim_scp80::keys::parse_key_file(NEW_KEYS).unwrap().remove(0).2;
    let apdu = put_key_command(&provider, kik.cipher(), Some(m2msim_scp80::keys::Kvn::new(1).unwrap()), &new)
        .unwrap();
    assert_eq!(apdu.encode(), put_key(0x01, PUT_KEY_KVN3));
}

//! Tests of the card side: the status codes of each processing step, the PoR variants, sender → card → PoR
//! → sender round trips for every cipher, checksum, SPI and counter mode (proptest), single-byte tampering,
//! truncation of the shared vectors, and the TAR file.

use std::sync::Arc;

use m2msim_codec::ota::{Checksum, CounterMode, Kic, Kid, PorRequest, PorTransport, Spi};
use m2msim_codec::testdata::shared_file;
use proptest::prelude::*;

use super::*;
use crate::counter::MemoryCounterStore;
use crate::crypto::{ChecksumAlgorithm, CipherAlgorithm, CmacLen, RustCryptoProvider};
use crate::keys::{ChecksumKeySpec, CipherKeySpec, Keyset, KeysetSpec, SecretKey};
use crate::packet::{
    ChecksumCheck, CommandSender, PorFinding, PorVerdict, ResponseFormat, SentCommand, secure_command_into,
    verify_por, verify_por_into,
};

const TAR: Tar = Tar([0xB0, 0x00, 0x10]);
const P: RustCryptoProvider = RustCryptoProvider;

fn spec(
    kvn: u8,
    cipher: CipherAlgorithm,
    kic: &[u8],
    mac: ChecksumAlgorithm,
    kid: Option<&[u8]>,
) -> KeysetSpec {
    KeysetSpec {
        kvn: Kvn::new(kvn).unwrap(),
        kic: CipherKeySpec::new(cipher, SecretKey::from_slice(kic).unwrap()).unwrap(),
        kid: ChecksumKeySpec::new(mac, kid.map(|k| SecretKey::from_slice(k).unwrap())).unwrap(),
        kik: None,
    }
}

fn keysets(specs: &[KeysetSpec]) -> Keysets {
    let mut k = Keysets::new();
    for s in specs {
        k.insert(Keyset::new(&P, s.clone()).unwrap());
    }
    k
}

/// KVN 1: 3DES 2-key CBC + 3DES CBC-MAC; KVN 2: AES-128 + AES-CMAC.
fn two_keysets() -> Vec<KeysetSpec> {
    vec![
        spec(1, CipherAlgorithm::TripleDes2Cbc, &[0x11; 16], ChecksumAlgorithm::TdesMac2, Some(&[0x22; 16])),
        spec(
            2,
            CipherAlgorithm::AesCbc,
            &[0x33; 16],
            ChecksumAlgorithm::AesCmac { len: CmacLen::Eight },
            Some(&[0x44; 16]),
        ),
    ]
}

fn card_with(specs: &[KeysetSpec], msl: Msl, store: Arc<MemoryCounterStore>) -> CardSecurity<&'static str> {
    let mut tars = TarTable::new();
    tars.insert(TAR, msl, "RFM SIM");
    CardSecurity::new(CardId::new("card").unwrap(), keysets(specs), tars, store)
}

fn hdr(spi: [u8; 2], kic: u8, kid: u8) -> CommandHeader {
    CommandHeader { spi: Spi(spi), kic: Kic(kic), kid: Kid(kid), tar: TAR }
}

fn secure(keys: &Keysets, t: Transport, h: &CommandHeader, cntr: u64, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    secure_command_into(keys, t, h, Cntr::from_u64(cntr).unwrap(), data, &mut out).unwrap();
    out
}

const APDU: &[u8] = &[0xA0, 0xA4, 0x00, 0x00, 0x02, 0x7F, 0x20];

#[test]
fn accepted_packet_gives_data_counter_and_a_verifiable_por() {
    let specs = two_keysets();
    let sender = keysets(&specs);
    let store = Arc::new(MemoryCounterStore::new());
    let card = card_with(&specs, Msl(0x12), store.clone());
    for (kic, spi) in
        [(0x15u8, [0x16u8, 0x39u8]), (0x22, [0x16, 0x39]), (0x22, [0x16, 0x19]), (0x15, [0x12, 0x21])]
    {
        let h = hdr(spi, kic, kic);
        let cntr = store.current(card.card_id(), Kvn::new(kic >> 4).unwrap()).unwrap().get() + 5;
        let pkt = secure(&sender, Transport::SmsPp, &h, cntr, APDU);
        let o = card.process(&pkt, Transport::SmsPp);
        assert_eq!(o.status, PorStatus::Ok, "{o:?}");
        assert_eq!(o.data.as_deref(), Some(APDU));
        assert_eq!(o.cntr, Cntr::from_u64(cntr));
        assert_eq!(o.rejection, None);
        assert_eq!(store.current(card.card_id(), Kvn::new(kic >> 4).unwrap()).unwrap().get(), cntr);
        let por = card.por(&o, &[0x01, 0x90, 0x00]).unwrap().unwrap();
        assert_eq!(por.status, PorStatus::Ok);
        assert_eq!(&por.bytes[..3], &[0x02, 0x71, 0x00]);
        assert_eq!(
            por.delivery,
            if spi[1] & 0x20 != 0 { PorTransport::SmsSubmit } else { PorTransport::DeliverReport }
        );
        let r = verify_por(&sender, &h, o.cntr, Transport::SmsPp, &por.bytes, ResponseFormat::Auto).unwrap();
        assert!(r.trusted(), "{r:?}");
        assert_eq!(r.data, [0x01, 0x90, 0x00]);
        assert_eq!(r.deciphered, spi[1] & 0x10 != 0);
        assert_eq!(
            r.checksum,
            if spi[1] & 0x0C == 0 { ChecksumCheck::NotRequested } else { ChecksumCheck::Verified }
        );
        // The user data form goes through process_user_data.
        let mut ud = vec![0x02, 0x70, 0x00];
        ud.extend_from_slice(&secure(&sender, Transport::SmsPp, &h, cntr + 1, APDU));
        assert_eq!(card.process_user_data(&ud).status, PorStatus::Ok);
    }
    // The UICC finds the application by the outcome's TAR.
    assert_eq!(card.application(&TAR), Some(&"RFM SIM"));
}

#[test]
fn each_step_gives_the_spec_status() {
    let specs = two_keysets();
    let sender = keysets(&specs);
    let new_card = |msl: u8| card_with(&specs, Msl(msl), Arc::new(MemoryCounterStore::new()));
    let t = Transport::SmsPp;

    // 09: TAR unknown.
    let card = new_card(0x16);
    let mut h = hdr([0x16, 0x39], 0x15, 0x15);
    h.tar = Tar([0xB0, 0x00, 0x11]);
    let o = card.process(&secure(&sender, t, &h, 1, APDU), t);
    assert_eq!((o.status, o.rejection), (PorStatus::TarUnknown, Some(Rejection::TarUnknown)));
    assert!(!o.por_protected);
    // 0A: below the MSL in each field.
    for spi1 in [0x06u8, 0x12, 0x14, 0x15] {
        let o = card.process(&secure(&sender, t, &hdr([spi1, 0x01], 0x15, 0x15), 1, APDU), t);
        assert_eq!(o.status, PorStatus::InsufficientSecurityLevel, "SPI1 {spi1:02X}");
    }
    // 06: unknown key version, KIc algorithm other than the keyset's, mixed KVNs, DS.
    let mut other = keysets(&[spec(
        3,
        CipherAlgorithm::TripleDes2Cbc,
        &[1; 16],
        ChecksumAlgorithm::TdesMac2,
        Some(&[2; 16]),
    )]);
    let o = card.process(&secure(&other, t, &hdr([0x16, 0x01], 0x35, 0x35), 1, APDU), t);
    assert_eq!((o.status, o.rejection), (PorStatus::UnidentifiedSecurityError, Some(Rejection::NoKeyset)));
    other =
        keysets(&[spec(1, CipherAlgorithm::DesCbc, &[1; 8], ChecksumAlgorithm::TdesMac2, Some(&[0x22; 16]))]);
    let o = card.process(&secure(&other, t, &hdr([0x16, 0x01], 0x11, 0x15), 1, APDU), t);
    assert_eq!((o.status, o.rejection), (PorStatus::UnidentifiedSecurityError, Some(Rejection::KeyMismatch)));
    let mut mixed = secure(&sender, t, &hdr([0x16, 0x01], 0x15, 0x15), 1, APDU);
    mixed[6] = 0x25;
    let o = card.process(&mixed, t);
    assert_eq!((o.status, o.rejection), (PorStatus::UnidentifiedSecurityError, Some(Rejection::KeyMismatch)));
    let mut ds = mixed.clone();
    ds[6] = 0x15;
    ds[3] = 0x17;
    let o = card.process(&ds, t);
    assert_eq!(
        (o.status, o.rejection),
        (PorStatus::UnidentifiedSecurityError, Some(Rejection::UnsupportedSecurity))
    );
    // 06: a CHL that announces another RC/CC length; a broken CPL.
    let mut p = secure(&sender, t, &hdr([0x16, 0x01], 0x15, 0x15), 1, APDU);
    p[2] = 13 + 4;
    assert_eq!(card.process(&p, t).rejection, Some(Rejection::ChecksumLength));
    let mut p = secure(&sender, t, &hdr([0x16, 0x01], 0x15, 0x15), 1, APDU);
    p[1] += 1;
    let o = card.process(&p, t);
    assert_eq!((o.status, o.rejection), (PorStatus::UnidentifiedSecurityError, Some(Rejection::Malformed)));
    assert_eq!(o.header.map(|h| h.tar), Some(TAR));
    // 05: a ciphered part that is not block-aligned (hand-made: 3 octets cut and CPL fixed).
    let mut p = secure(&sender, t, &hdr([0x16, 0x01], 0x15, 0x15), 1, APDU);
    p.truncate(p.len() - 3);
    let cpl = (p.len() - 2) as u16;
    p[..2].copy_from_slice(&cpl.to_be_bytes());
    let o = card.process(&p, t);
    assert_eq!((o.status, o.rejection), (PorStatus::CipheringError, Some(Rejection::NotBlockAligned)));
    // 01: a wrong CC (the card has another KID key).
    // (Not 0x23: DES keys differing only in parity bits are the same key.)
    let wrong = keysets(&[spec(
        1,
        CipherAlgorithm::TripleDes2Cbc,
        &[0x11; 16],
        ChecksumAlgorithm::TdesMac2,
        Some(&[0x24; 16]),
    )]);
    let o = card.process(&secure(&wrong, t, &hdr([0x16, 0x01], 0x15, 0x15), 1, APDU), t);
    assert_eq!((o.status, o.rejection), (PorStatus::RcCcDsFailed, Some(Rejection::ChecksumFailed)));
    assert!(o.por_protected);
    assert_eq!(o.cntr, Cntr::from_u64(1));
    // A counter mode that checks needs a KVN: RC-only packets with KVN 0 in both KIc and KID.
    let card0 = new_card(0x00);
    let o = card0.process(&secure(&sender, t, &hdr([0x11, 0x00], 0x01, 0x01), 1, APDU), t);
    assert_eq!(o.rejection, Some(Rejection::NoCounterKvn));
    // With no counter checking, the same packet is accepted (CRC16 from the KID, keyless).
    let o = card0.process(&secure(&sender, t, &hdr([0x09, 0x00], 0x01, 0x01), 1, APDU), t);
    assert_eq!(o.status, PorStatus::Ok, "{o:?}");
}

#[test]
fn counters_replays_gaps_and_blocking() {
    let specs = two_keysets();
    let sender = keysets(&specs);
    let store = Arc::new(MemoryCounterStore::new());
    let card = card_with(&specs, Msl(0x06), store.clone());
    let t = Transport::SmsPp;
    let kvn = Kvn::new(1).unwrap();
    let higher = hdr([0x16, 0x01], 0x15, 0x15);
    let p5 = secure(&sender, t, &higher, 5, APDU);
    assert_eq!(card.process(&p5, t).status, PorStatus::Ok);
    // The same packet again is a replay (equal counter): 02 by default.
    let o = card.process(&p5, t);
    assert_eq!((o.status, o.rejection), (PorStatus::CntrLow, Some(Rejection::CounterReplay)));
    // A lower counter: 02.
    let o = card.process(&secure(&sender, t, &higher, 3, APDU), t);
    assert_eq!((o.status, o.rejection), (PorStatus::CntrLow, Some(Rejection::CounterLow)));
    // A failed CC does not move the counter.
    let wrong = keysets(&[spec(
        1,
        CipherAlgorithm::TripleDes2Cbc,
        &[0x11; 16],
        ChecksumAlgorithm::TdesMac2,
        Some(&[9; 16]),
    )]);
    assert_eq!(card.process(&secure(&wrong, t, &higher, 9, APDU), t).status, PorStatus::RcCcDsFailed);
    assert_eq!(store.current(card.card_id(), kvn).unwrap().get(), 5);
    // One higher: 6 is fine, 8 is 03.
    let one = hdr([0x1E, 0x01], 0x15, 0x15);
    assert_eq!(card.process(&secure(&sender, t, &one, 6, APDU), t).status, PorStatus::Ok);
    let o = card.process(&secure(&sender, t, &one, 8, APDU), t);
    assert_eq!((o.status, o.rejection), (PorStatus::CntrHigh, Some(Rejection::CounterHigh)));
    // Counter "available": carried, not checked, not stored.
    let avail = hdr([0x0E, 0x01], 0x15, 0x15);
    assert_eq!(card.process(&secure(&sender, t, &avail, 1, APDU), t).status, PorStatus::Ok);
    assert_eq!(store.current(card.card_id(), kvn).unwrap().get(), 6);
    // FF..FF is accepted once, then the counter is blocked: 04.
    let max = Counter::MAX.get();
    assert_eq!(card.process(&secure(&sender, t, &higher, max, APDU), t).status, PorStatus::Ok);
    let o = card.process(&secure(&sender, t, &higher, max, APDU), t);
    assert_eq!((o.status, o.rejection), (PorStatus::CntrBlocked, Some(Rejection::CounterBlocked)));
    // Real-card policy: a replay answers 06.
    let card = card_with(&specs, Msl(0x06), Arc::new(MemoryCounterStore::new()))
        .with_policy(CardPolicy { replay_status: PorStatus::UnidentifiedSecurityError });
    assert_eq!(card.process(&p5, t).status, PorStatus::Ok);
    assert_eq!(card.process(&p5, t).status, PorStatus::UnidentifiedSecurityError);
}

#[test]
fn por_request_variants_and_unprotected_error_pors() {
    let specs = two_keysets();
    let sender = keysets(&specs);
    let card = card_with(&specs, Msl(0x00), Arc::new(MemoryCounterStore::new()));
    let t = Transport::SmsPp;
    // No PoR asked.
    let o = card.process(&secure(&sender, t, &hdr([0x06, 0x00], 0x15, 0x15), 1, APDU), t);
    assert_eq!(o.status, PorStatus::Ok);
    assert_eq!(card.por(&o, &[1, 0x90, 0]).unwrap(), None);
    // PoR on error only: none for success, one for an error (without response data).
    let on_err = hdr([0x06, 0x1A], 0x15, 0x15);
    let o = card.process(&secure(&sender, t, &on_err, 1, APDU), t);
    assert_eq!(card.por(&o, &[1, 0x90, 0]).unwrap(), None);
    let wrong = keysets(&[spec(
        1,
        CipherAlgorithm::TripleDes2Cbc,
        &[0x11; 16],
        ChecksumAlgorithm::TdesMac2,
        Some(&[9; 16]),
    )]);
    let o = card.process(&secure(&wrong, t, &on_err, 1, APDU), t);
    let por = card.por(&o, &[1, 0x90, 0]).unwrap().unwrap();
    let r = verify_por(&sender, &on_err, Cntr::from_u64(1), t, &por.bytes, ResponseFormat::Auto).unwrap();
    assert_eq!(r.status, PorStatus::RcCcDsFailed);
    assert!(r.trusted(), "keys resolved: the error PoR is protected: {r:?}");
    assert!(r.data.is_empty());
    // TAR unknown: the PoR goes unciphered and without CC, CNTR zero; the sender accepts and flags it.
    let mut h = hdr([0x16, 0x39], 0x15, 0x15);
    h.tar = Tar([1, 2, 3]);
    let o = card.process(&secure(&sender, t, &h, 7, APDU), t);
    let por = card.por(&o, &[]).unwrap().unwrap();
    assert_eq!(hex::encode(&por.bytes), "027100000b0a01020300000000000009");
    assert_eq!(por.delivery, PorTransport::SmsSubmit);
    let r = verify_por(&sender, &h, Cntr::from_u64(7), t, &por.bytes, ResponseFormat::Auto).unwrap();
    assert_eq!(r.status, PorStatus::TarUnknown);
    assert!(r.findings.contains(&PorFinding::UnprotectedErrorPor));
    assert!(r.accepted() && !r.trusted());
    // The SMS-SUBMIT form: 41 MR DA 00 F6 UDL UD.
    let da = Address::from_digits(0x81, "910").unwrap();
    let subs = por.submit_tpdus(da, 7, ConcatRef::Eight(1)).unwrap();
    assert_eq!(
        hex::encode(m2msim_codec::Encode::encode(&subs[0])),
        format!("4107038119f000f610{}", hex::encode(&por.bytes))
    );
    assert_eq!(
        crate::packet::por_user_data_from_submit(&m2msim_codec::Encode::encode(&subs[0])).unwrap(),
        por.bytes
    );
    // A header that cannot be read: no PoR.
    let o = card.process(&[0x00, 0x01], t);
    assert_eq!(o.header, None);
    assert_eq!(card.por(&o, &[]).unwrap(), None);
    assert_eq!(card.process_user_data(&[0x02, 0x71, 0x00, 0x00]).header, None);
}

#[test]
fn long_pors_travel_in_concatenated_submits_and_other_transports() {
    let specs = two_keysets();
    let sender = keysets(&specs);
    let card = card_with(&specs, Msl(0x00), Arc::new(MemoryCounterStore::new()));
    let h = hdr([0x06, 0x39], 0x22, 0x22);
    let o = card.process(&secure(&sender, Transport::SmsPp, &h, 1, APDU), Transport::SmsPp);
    let big: Vec<u8> = (0..200u8).collect();
    let por = card.por(&o, &big).unwrap().unwrap();
    let subs = por.submit_tpdus(Address::from_digits(0x81, "12").unwrap(), 0, ConcatRef::Eight(9)).unwrap();
    assert_eq!(subs.len(), 2);
    let mut reassembled = Vec::new();
    for s in &subs {
        let ud = s.user_data.ud_octets();
        reassembled.extend_from_slice(&ud[ud[0] as usize + 1..]);
    }
    assert_eq!(reassembled, por.bytes[3..]);
    let r = verify_por(&sender, &h, o.cntr, Transport::SmsPp, &por.bytes, ResponseFormat::Raw).unwrap();
    assert!(r.trusted());
    assert_eq!(r.data, big);
    // CAT_TP / TCP/IP / USSD: the PoR is the response packet from the RPI; SMS-CB has none.
    for t in [Transport::CatTp, Transport::TcpIp, Transport::Ussd] {
        let o = card.process(&secure(&sender, t, &h, 1, APDU), t);
        assert_eq!(o.status, PorStatus::Ok, "{t:?}");
        let por = card.por(&o, &[1, 0x90, 0]).unwrap().unwrap();
        assert_eq!(Some(por.bytes[0]), t.response_packet_identifier());
        let r = verify_por(&sender, &h, o.cntr, t, &por.bytes, ResponseFormat::Auto).unwrap();
        assert!(r.trusted(), "{t:?}");
        assert!(por.submit_tpdus(Address::from_digits(0x81, "1").unwrap(), 0, ConcatRef::Eight(0)).is_err());
    }
    let o = card.process(&secure(&sender, Transport::SmsCb, &h, 1, APDU), Transport::SmsCb);
    assert_eq!(o.status, PorStatus::Ok);
    assert_eq!(card.por(&o, &[]).unwrap(), None);
}

#[test]
fn concatenated_command_reassembles_and_verifies() {
    use m2msim_codec::sms::concat::{Progress, Reassembler};
    let specs = two_keysets();
    let sender = keysets(&specs);
    let store = MemoryCounterStore::new();
    let s = CommandSender::new(&sender, &store, CardId::new("card").unwrap());
    let data: Vec<u8> = (0..=255u8).collect();
    let sent = s.send(Transport::SmsPp, hdr([0x16, 0x39], 0x22, 0x22), &data).unwrap();
    assert!(sent.user_data().is_err());
    let oa = Address::from_digits(0x81, "1234").unwrap();
    let tpdus =
        sent.deliver_tpdus(ConcatRef::Sixteen(0x0102), oa, m2msim_codec::sms::fields::Scts([0; 7])).unwrap();
    assert_eq!(tpdus.len(), 3);
    let mut r = Reassembler::new(PacketKind::Command);
    let mut packet = None;
    for d in &tpdus {
        if let Progress::Complete(p) = r.push_deliver(d).unwrap() {
            packet = Some(p);
        }
    }
    let card = card_with(&specs, Msl(0x16), Arc::new(MemoryCounterStore::new()));
    let o = card.process(&packet.unwrap(), Transport::SmsPp);
    assert_eq!(o.data, Some(data));
    assert_eq!(o.cntr, Some(Cntr::from_u64(1).unwrap()));
}

#[test]
fn sender_reserves_counters_only_for_packets_it_builds() {
    let specs = two_keysets();
    let sender = keysets(&specs);
    let store = MemoryCounterStore::new();
    let card_id = CardId::new("c1").unwrap();
    let s = CommandSender::new(&sender, &store, card_id.clone());
    let kvn1 = Kvn::new(1).unwrap();
    let a = s.send(Transport::SmsPp, hdr([0x16, 0x39], 0x15, 0x15), APDU).unwrap();
    let b = s.send(Transport::SmsPp, hdr([0x16, 0x39], 0x15, 0x15), APDU).unwrap();
    assert_eq!((a.cntr.to_u64(), b.cntr.to_u64()), (1, 2));
    assert_eq!(store.current(&card_id, kvn1).unwrap().get(), 2);
    // No counter mode: CNTR 0, nothing reserved.
    let c = s.send(Transport::SmsPp, hdr([0x06, 0x39], 0x15, 0x15), APDU).unwrap();
    assert_eq!(c.cntr, Cntr::default());
    // A packet that cannot be built (DS, unknown keyset) burns no counter.
    assert!(matches!(
        s.send(Transport::SmsPp, hdr([0x17, 0x39], 0x15, 0x15), APDU),
        Err(PacketError::DigitalSignature)
    ));
    assert!(matches!(
        s.send(Transport::SmsPp, hdr([0x16, 0x39], 0x95, 0x95), APDU),
        Err(PacketError::NoKeyset { .. })
    ));
    assert_eq!(store.current(&card_id, kvn1).unwrap().get(), 2);
    // Counter kept under the KID's KVN for an unciphered CC packet.
    let d = s.send(Transport::SmsPp, hdr([0x12, 0x21], 0x15, 0x22), APDU).unwrap();
    assert_eq!(d.cntr.to_u64(), 1);
    assert_eq!(store.current(&card_id, Kvn::new(2).unwrap()).unwrap().get(), 1);
    // JSON round trip of what was sent.
    let j = serde_json::to_string(&a).unwrap();
    assert_eq!(serde_json::from_str::<SentCommand>(&j).unwrap(), a);
    // The card accepts them in order and refuses the replay.
    let card = card_with(&specs, Msl(0x16), Arc::new(MemoryCounterStore::new()));
    assert_eq!(card.process(&a.packet, Transport::SmsPp).status, PorStatus::Ok);
    assert_eq!(card.process(&b.packet, Transport::SmsPp).status, PorStatus::Ok);
    assert_eq!(card.process(&a.packet, Transport::SmsPp).status, PorStatus::CntrLow);
}

#[test]
fn outcome_json_round_trips() {
    let specs = two_keysets();
    let sender = keysets(&specs);
    let card = card_with(&specs, Msl(0x16), Arc::new(MemoryCounterStore::new()));
    let h = hdr([0x16, 0x39], 0x15, 0x15);
    for pkt in [secure(&sender, Transport::SmsPp, &h, 3, APDU), vec![0, 1, 2]] {
        let o = card.process(&pkt, Transport::SmsPp);
        let j = serde_json::to_string(&o).unwrap();
        let back: Outcome = serde_json::from_str(&j).unwrap();
        assert_eq!(back, o);
        assert_eq!(serde_json::to_string(&back).unwrap(), j);
        if let Some(por) = card.por(&o, &[1, 0x90, 0]).unwrap() {
            assert_eq!(o.tar(), Some(TAR));
            let j = serde_json::to_string(&por).unwrap();
            assert!(j.contains("\"delivery\":\"sms_submit\""), "{j}");
            assert_eq!(serde_json::from_str::<Por>(&j).unwrap(), por);
            // The sender's report, with a finding, round trips too.
            let r = verify_por(
                &sender,
                &h,
                Cntr::from_u64(4),
                Transport::SmsPp,
                &por.bytes,
                ResponseFormat::Auto,
            )
            .unwrap();
            assert!(!r.findings.is_empty());
            let j = serde_json::to_string(&r).unwrap();
            let back: crate::packet::PorReport = serde_json::from_str(&j).unwrap();
            assert_eq!(back, r);
            assert_eq!(serde_json::to_string(&back).unwrap(), j);
        }
    }
    assert_eq!(card.process(&[0, 1, 2], Transport::SmsPp).tar(), None);
}

#[test]
fn tar_file_and_msl() {
    let t = TarTable::from_toml(
        "[[tar]]\ntar = \"B00010\"\nmsl = \"16\"\ndescription = \"RFM SIM\"\n\n[[tar]]\ntar = \"000000\"\nmsl = \"00\"\n",
    )
    .unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t.get(&TAR), Some(&TarEntry { msl: Msl(0x16), app: "RFM SIM".to_owned() }));
    assert_eq!(t.get(&Tar([0; 3])).unwrap().msl, Msl::NONE);
    for bad in [
        "[[tar]]\ntar = \"B000\"\nmsl = \"16\"\n",
        "[[tar]]\ntar = \"B00010\"\nmsl = \"1616\"\n",
        "[[tar]]\ntar = \"B00010\"\nmsl = \"zz\"\n",
        "[[tar]]\ntar = \"B00010\"\nmsl = \"16\"\nextra = 1\n",
        "[[tar]]\ntar = \"B00010\"\nmsl = \"16\"\n[[tar]]\ntar = \"b00010\"\nmsl = \"00\"\n",
        "tar = 5",
    ] {
        assert!(TarTable::from_toml(bad).is_err(), "{bad}");
    }
    // MSL comparison field by field.
    let msl = Msl(0x16);
    assert!(msl.admits(Spi([0x16, 0])));
    assert!(msl.admits(Spi([0x1E, 0])));
    assert!(msl.admits(Spi([0x17, 0])));
    assert!(msl.admits(Spi([0xF6, 0])), "reserved bits ignored");
    assert!(!msl.admits(Spi([0x0E, 0])), "counter lower");
    assert!(!msl.admits(Spi([0x12, 0])), "not ciphered");
    assert!(!msl.admits(Spi([0x15, 0])), "RC below CC");
    assert!(Msl::NONE.admits(Spi([0, 0])));
}

#[test]
fn truncated_and_mutated_vectors_never_panic_or_pass() {
    let Some(path) = shared_file("vectors/scp80_vectors.json") else { return };
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let card = card_with(&two_keysets(), Msl::NONE, Arc::new(MemoryCounterStore::new()));
    let sender = keysets(&two_keysets());
    let mut n = 0;
    for v in v["vectors"].as_array().unwrap() {
        let (bytes, t) = match (v["direction"].as_str(), v["transport"].as_str()) {
            (Some("command"), Some("cat_tp")) => {
                (hex::decode(v["expected"].as_str().unwrap()).unwrap(), Transport::CatTp)
            }
            (Some("command"), _) => (hex::decode(v["expected"].as_str().unwrap()).unwrap(), Transport::SmsPp),
            (Some("response"), _) => {
                let ud = hex::decode(v["input_user_data"].as_str().unwrap()).unwrap();
                let spi = Spi(hex::decode(v["spi"].as_str().unwrap()).unwrap().try_into().unwrap());
                let h = CommandHeader { spi, kic: Kic(0x15), kid: Kid(0x15), tar: TAR };
                for i in 0..ud.len() {
                    assert!(
                        verify_por(&sender, &h, None, Transport::SmsPp, &ud[..i], ResponseFormat::Auto)
                            .is_err()
                    );
                }
                continue;
            }
            _ => continue,
        };
        for i in 0..bytes.len() {
            let o = card.process(&bytes[..i], t);
            assert_ne!(o.status, PorStatus::Ok, "{} cut at {i}", v["name"]);
            let _ = card.por(&o, &[]);
        }
        n += 1;
    }
    assert_eq!(n, 61);
}

// ---- property tests ----

const CIPHERS: [(CipherAlgorithm, usize); 7] = [
    (CipherAlgorithm::DesCbc, 8),
    (CipherAlgorithm::DesEcb, 8),
    (CipherAlgorithm::TripleDes2Cbc, 16),
    (CipherAlgorithm::TripleDes3Cbc, 24),
    (CipherAlgorithm::AesCbc, 16),
    (CipherAlgorithm::AesCbc, 24),
    (CipherAlgorithm::AesCbc, 32),
];

const MACS: [(ChecksumAlgorithm, usize); 6] = [
    (ChecksumAlgorithm::DesMac, 8),
    (ChecksumAlgorithm::TdesMac2, 16),
    (ChecksumAlgorithm::TdesMac3, 24),
    (ChecksumAlgorithm::AesCmac { len: CmacLen::Eight }, 16),
    (ChecksumAlgorithm::AesCmac { len: CmacLen::Four }, 24),
    (ChecksumAlgorithm::AesCmac { len: CmacLen::Eight }, 32),
];

/// A random keyset and a header whose SPI, KIc and KID it can serve.
#[derive(Debug, Clone)]
struct Case {
    spec: KeysetSpec,
    header: CommandHeader,
    transport: Transport,
    stored: u64,
    cntr: u64,
    data: Vec<u8>,
    response: Vec<u8>,
}

fn case(need_checksum: bool) -> impl Strategy<Value = Case> {
    let keys = (
        1u8..=15,
        proptest::sample::select(CIPHERS.to_vec()),
        proptest::sample::select(MACS.to_vec()),
        proptest::collection::vec(any::<u8>(), 32),
        proptest::collection::vec(any::<u8>(), 32),
    );
    let spi = (
        any::<bool>(),
        0u8..3,
        0u8..4,
        any::<bool>(),
        0u8..3,
        any::<bool>(),
        prop_oneof![Just(Checksum::Rc), Just(Checksum::Cc), Just(Checksum::None)],
        any::<bool>(),
    );
    let transport = prop_oneof![
        3 => Just(Transport::SmsPp),
        1 => Just(Transport::CatTp),
        1 => Just(Transport::TcpIp),
        1 => Just(Transport::Ussd),
    ];
    (
        keys,
        spi,
        transport,
        0u64..1000,
        1u64..1000,
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::collection::vec(any::<u8>(), 0..120),
    )
        .prop_map(
            move |((kvn, (c, clen), (m, mlen), kk, dk), spi, transport, stored, step, data, response)| {
                let (ciphered, cs, mode, por_ciphered, pcs, submit, _, rc_crc32) = spi;
                let sum = |n: u8, need: bool| match n {
                    0 if need => Checksum::Cc,
                    0 => Checksum::None,
                    1 => Checksum::Rc,
                    _ => Checksum::Cc,
                };
                let (cs, pcs) = (sum(cs, need_checksum), sum(pcs, false));
                // With an RC and a CC in one packet the KID byte is read both ways: only the DES and
                // 3DES-2key MAC codings (01, 05) are also CRC codings (CRC16, CRC32).
                let both = [cs, pcs].contains(&Checksum::Rc) && [cs, pcs].contains(&Checksum::Cc);
                let (m, mlen) =
                    if both && !matches!(m, ChecksumAlgorithm::DesMac | ChecksumAlgorithm::TdesMac2) {
                        (ChecksumAlgorithm::TdesMac2, 16)
                    } else {
                        (m, mlen)
                    };
                let spec = spec(kvn, c, &kk[..clen], m, Some(&dk[..mlen]));
                let mode = match mode {
                    0 => CounterMode::NoCounter,
                    1 => CounterMode::Available,
                    2 => CounterMode::Higher,
                    _ => CounterMode::OneHigher,
                };
                let spi = Spi::new()
                    .with_ciphered(ciphered)
                    .with_checksum(cs)
                    .with_counter_mode(mode)
                    .with_por(PorRequest::Always)
                    .with_por_ciphered(por_ciphered)
                    .with_por_checksum(pcs)
                    .with_por_transport(if submit {
                        PorTransport::SmsSubmit
                    } else {
                        PorTransport::DeliverReport
                    });
                let ks = Keyset::new(&P, spec.clone()).unwrap();
                let uses_cc = cs == Checksum::Cc || pcs == Checksum::Cc;
                // With a CC anywhere the KID names the keyset's MAC (an RC reads that byte as a CRC, see
                // above); with RCs only, a CRC KID.
                let kid =
                    if uses_cc { ks.kid_byte() } else { (kvn << 4) | if rc_crc32 { 0x05 } else { 0x01 } };
                let header = CommandHeader { spi, kic: Kic(ks.kic_byte()), kid: Kid(kid), tar: TAR };
                let cntr = match mode {
                    CounterMode::OneHigher => stored + 1,
                    _ => stored + step,
                };
                Case { spec, header, transport, stored, cntr, data, response }
            },
        )
}

fn rc_reading_valid(h: &CommandHeader) -> bool {
    let uses_rc = h.spi.checksum() == Checksum::Rc || h.spi.por_checksum() == Checksum::Rc;
    !uses_rc
        || matches!(
            ChecksumAlgorithm::from_kid(
                h.kid.0,
                crate::crypto::ChecksumKind::RedundancyCheck,
                CmacLen::Eight
            ),
            Ok(Some(ChecksumAlgorithm::Crc16 | ChecksumAlgorithm::Crc32))
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Sender → card → PoR → sender: the card recovers the data and the sender accepts the PoR.
    #[test]
    fn sender_card_por_round_trip(c in case(false)) {
        prop_assert!(rc_reading_valid(&c.header));
        let kvn = c.spec.kvn;
        let sender = keysets(std::slice::from_ref(&c.spec));
        let store = Arc::new(MemoryCounterStore::new());
        let card_id = CardId::new("card").unwrap();
        store.set(&card_id, kvn, Counter::new(c.stored).unwrap()).unwrap();
        let card = card_with(std::slice::from_ref(&c.spec), Msl(c.header.spi.spi1()), store.clone());
        let cntr = Cntr::from_u64(c.cntr).unwrap();
        let mut pkt = Vec::new();
        secure_command_into(&sender, c.transport, &c.header, cntr, &c.data, &mut pkt).unwrap();
        let o = card.process(&pkt, c.transport);
        prop_assert_eq!(o.status, PorStatus::Ok, "{:?}", o);
        prop_assert_eq!(o.data.as_deref(), Some(&c.data[..]));
        prop_assert_eq!(o.cntr, Some(cntr));
        let checks = matches!(c.header.spi.counter_mode(), CounterMode::Higher | CounterMode::OneHigher);
        let stored = store.current(&card_id, counter_kvn(&c.header).unwrap_or(kvn)).unwrap().get();
        prop_assert_eq!(stored, if checks { c.cntr } else { c.stored });
        let por = card.por(&o, &c.response).unwrap().unwrap();
        prop_assert_eq!(por.delivery, c.header.spi.por_transport());
        let r = verify_por(&sender, &c.header, Some(cntr), c.transport, &por.bytes, ResponseFormat::Raw).unwrap();
        prop_assert!(r.trusted(), "{:?}", r);
        prop_assert_eq!(r.status, PorStatus::Ok);
        prop_assert_eq!(&r.data, &c.response);
        prop_assert_eq!(r.deciphered, c.header.spi.por_ciphered());
        prop_assert_eq!(r.cntr, cntr);
        // Replaying the packet never succeeds when counters are checked.
        if checks {
            let again = card.process(&pkt, c.transport);
            prop_assert_eq!(again.status, PorStatus::CntrLow);
        }
    }

    /// Any single-byte change of a packet protected by an RC or a CC is refused (never 00, never a
    /// panic): `01`, `05` or `06` as a rule; `09` for the TAR; anything but `00` for the SPI (whose
    /// change may ask for another counter check or security level); and `02`/`03` also when the packet's
    /// counter mode checks counters (a changed CNTR is judged by the counter step, which comes before the
    /// RC/CC step).
    #[test]
    fn single_byte_tampering_is_refused(c in case(true), at in any::<prop::sample::Index>(), delta in 1u8..=255) {
        prop_assert!(c.header.spi.checksum() != Checksum::None);
        let sender = keysets(std::slice::from_ref(&c.spec));
        let store = Arc::new(MemoryCounterStore::new());
        let card_id = CardId::new("card").unwrap();
        store.set(&card_id, c.spec.kvn, Counter::new(c.stored).unwrap()).unwrap();
        let card = card_with(std::slice::from_ref(&c.spec), Msl(c.header.spi.spi1()), store);
        let mut pkt = Vec::new();
        secure_command_into(&sender, c.transport, &c.header, Cntr::from_u64(c.cntr).unwrap(), &c.data, &mut pkt).unwrap();
        // Where the SPI sits: after CPL(2) CHL on SMS, after CPI CPL(BER) CHL elsewhere.
        let spi_at = match c.transport.command_packet_identifier() {
            None => 3,
            Some(_) => 2 + if pkt[1] < 0x80 { 1 } else { 1 + usize::from(pkt[1] & 0x7F) },
        };
        let i = at.index(pkt.len());
        pkt[i] ^= delta;
        let o = card.process(&pkt, c.transport);
        let _ = card.por(&o, &[]);
        prop_assert_ne!(o.status, PorStatus::Ok);
        let header_at = spi_at;
        let code = o.status.code();
        if (header_at..header_at + 2).contains(&i) {
            // SPI
        } else if (header_at + 4..header_at + 7).contains(&i) {
            prop_assert_eq!(o.status, PorStatus::TarUnknown);
        } else if matches!(c.header.spi.counter_mode(), CounterMode::Higher | CounterMode::OneHigher) {
            prop_assert!(matches!(code, 0x01 | 0x02 | 0x03 | 0x05 | 0x06), "{:?}", o);
        } else {
            prop_assert!(matches!(code, 0x01 | 0x05 | 0x06), "{:?}", o);
        }
    }
}

/// One packet through the owned APIs and through the `_into` variants with buffers that hold stale
/// content (`stale` before the appended packet and PoR, a stale plaintext buffer of another length): the
/// same bytes, outcomes and reports.
fn owned_and_into_agree(c: &Case, pkt: &[u8], stale: &[u8]) -> Result<(), TestCaseError> {
    let fresh_card = || {
        let store = Arc::new(MemoryCounterStore::new());
        store.set(&CardId::new("card").unwrap(), c.spec.kvn, Counter::new(c.stored).unwrap()).unwrap();
        card_with(std::slice::from_ref(&c.spec), Msl(c.header.spi.spi1()), store)
    };
    let (owned_card, into_card) = (fresh_card(), fresh_card());
    let sender = keysets(std::slice::from_ref(&c.spec));
    // Reused buffers, dirty from the start and from one call to the next.
    let mut card_plain = stale.iter().rev().copied().collect::<Vec<u8>>();
    let mut por_plain = stale.to_vec();
    for round in 0..2 {
        let o = owned_card.process(pkt, c.transport);
        let v = into_card.process_into(pkt, c.transport, &mut card_plain);
        prop_assert_eq!(Verdict::from(&o), v, "round {}", round);
        prop_assert_eq!(&v.into_outcome(card_plain.clone()), &o, "round {}", round);
        if !v.accepted() {
            prop_assert!(card_plain.is_empty());
        }
        let owned_por = owned_card.por(&o, &c.response).unwrap();
        let mut por = stale.to_vec();
        let delivery = into_card.por_into(v, &c.response, &mut por).unwrap();
        prop_assert_eq!(&por[..stale.len()], stale);
        prop_assert_eq!(delivery, owned_por.as_ref().map(|p| p.delivery));
        prop_assert_eq!(owned_por.as_ref().map(|p| &p.bytes[..]), delivery.map(|_| &por[stale.len()..]));
        let Some(owned_por) = owned_por else { continue };
        for sent in [Cntr::from_u64(c.cntr), None, Cntr::from_u64(c.cntr ^ 1)] {
            let r = verify_por(&sender, &c.header, sent, c.transport, &owned_por.bytes, ResponseFormat::Auto);
            let pv =
                verify_por_into(&sender, &c.header, sent, c.transport, &por[stale.len()..], &mut por_plain);
            let (r, pv) = match (r, pv) {
                (Ok(r), Ok(pv)) => (r, pv),
                (Err(a), Err(b)) => {
                    prop_assert_eq!(a.to_string(), b.to_string());
                    continue;
                }
                (a, b) => return Err(TestCaseError::fail(format!("{a:?} / {b:?}"))),
            };
            prop_assert_eq!(pv.trusted(), r.trusted());
            prop_assert_eq!(pv.accepted(), r.accepted());
            prop_assert_eq!(pv.data(&por_plain), &r.data[..]);
            prop_assert_eq!(pv.rc_cc_ds(&por_plain), &r.rc_cc_ds[..]);
            prop_assert_eq!(pv.findings.iter().collect::<Vec<_>>(), r.findings.clone());
            prop_assert_eq!(pv.into_report(por_plain.clone(), ResponseFormat::Auto), r);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    /// The allocation-free variants give what the owned APIs give, for every cipher, checksum, SPI, counter
    /// mode and transport, on the packet as sent, on a replay and on a packet with one byte changed.
    #[test]
    fn into_variants_match_the_owned_apis(
        c in case(false),
        stale in proptest::collection::vec(any::<u8>(), 0..200),
        at in any::<prop::sample::Index>(),
        delta in 1u8..=255,
    ) {
        let sender = keysets(std::slice::from_ref(&c.spec));
        let cntr = Cntr::from_u64(c.cntr).unwrap();
        let mut pkt = stale.clone();
        let n = secure_command_into(&sender, c.transport, &c.header, cntr, &c.data, &mut pkt).unwrap();
        prop_assert_eq!(&pkt[..stale.len()], &stale[..]);
        let pkt = pkt.split_off(stale.len());
        prop_assert_eq!(n, pkt.len());
        prop_assert_eq!(
            m2msim_codec::Encode::encode(
                &crate::packet::secure_command(&sender, c.transport, &c.header, cntr, &c.data).unwrap()
            ),
            pkt.clone()
        );
        owned_and_into_agree(&c, &pkt, &stale)?;
        let mut bad = pkt.clone();
        bad[at.index(pkt.len())] ^= delta;
        owned_and_into_agree(&c, &bad, &stale)?;
    }
}

#[test]
fn sender_send_into_matches_send() {
    let specs = two_keysets();
    let sender_keys = keysets(&specs);
    let (a, b) = (MemoryCounterStore::new(), MemoryCounterStore::new());
    let id = CardId::new("card").unwrap();
    let (sa, sb) =
        (CommandSender::new(&sender_keys, &a, id.clone()), CommandSender::new(&sender_keys, &b, id));
    let mut out = vec![0xEE; 5];
    for (t, spi) in
        [(Transport::SmsPp, [0x16, 0x39]), (Transport::CatTp, [0x06, 0x21]), (Transport::SmsPp, [0, 0])]
    {
        let h = hdr(spi, 0x22, 0x22);
        let sent = sa.send(t, h, APDU).unwrap();
        out.truncate(5);
        let cntr = sb.send_into(t, &h, APDU, &mut out).unwrap();
        assert_eq!(cntr, sent.cntr);
        assert_eq!(out[..5], [0xEE; 5]);
        assert_eq!(out[5..], sent.packet[..]);
    }
    // Key errors write nothing and reserve nothing.
    let before = out.clone();
    assert!(sb.send_into(Transport::SmsPp, &hdr([0x16, 0x39], 0x35, 0x35), APDU, &mut out).is_err());
    assert_eq!(out, before);
}

#[test]
fn verdict_and_por_verdict_json_round_trip() {
    let specs = two_keysets();
    let sender = keysets(&specs);
    let card = card_with(&specs, Msl(0x16), Arc::new(MemoryCounterStore::new()));
    let h = hdr([0x16, 0x39], 0x15, 0x15);
    let pkt = secure(&sender, Transport::SmsPp, &h, 3, APDU);
    let mut plain = Vec::new();
    let v = card.process_into(&pkt, Transport::SmsPp, &mut plain);
    assert_eq!(plain, APDU);
    let j = serde_json::to_string(&v).unwrap();
    assert_eq!(serde_json::from_str::<Verdict>(&j).unwrap(), v);
    let mut por = Vec::new();
    card.por_into(v, &[1, 0x90, 0], &mut por).unwrap().unwrap();
    let mut por_plain = Vec::new();
    // Sent counter 4: a CNTR mismatch finding; a proprietary header: a second one.
    por[1] = 0x7F;
    let pv = verify_por_into(&sender, &h, Cntr::from_u64(4), Transport::SmsPp, &por, &mut por_plain).unwrap();
    assert_eq!(pv.findings.len(), 2);
    assert!(pv.findings.contains(&PorFinding::ProprietaryHeader));
    let j = serde_json::to_string(&pv).unwrap();
    assert!(j.contains("\"findings\":[\"proprietary_header\",{\"cntr_mismatch\""), "{j}");
    let back: PorVerdict = serde_json::from_str(&j).unwrap();
    assert_eq!(back, pv);
    assert_eq!(serde_json::to_string(&back).unwrap(), j);
    assert_eq!(pv.data(&por_plain), [1, 0x90, 0]);
    // A list in another order reads in the canonical order; a kind twice is refused.
    let swapped = j.replace(
        "[\"proprietary_header\",{\"cntr_mismatch\":{\"sent\":\"0000000004\",\"received\":\"0000000003\"}}]",
        "[{\"cntr_mismatch\":{\"sent\":\"0000000004\",\"received\":\"0000000003\"}},\"proprietary_header\"]",
    );
    assert_ne!(swapped, j);
    assert_eq!(serde_json::from_str::<PorVerdict>(&swapped).unwrap(), pv);
    let twice = j.replace("[\"proprietary_header\",", "[\"proprietary_header\",\"proprietary_header\",");
    assert!(serde_json::from_str::<PorVerdict>(&twice).is_err());
}

#[test]
fn every_byte_tampered_in_typical_packets() {
    let specs = two_keysets();
    let sender = keysets(&specs);
    let configs: [(Transport, [u8; 2], u8, u8); 6] = [
        (Transport::SmsPp, [0x16, 0x39], 0x15, 0x15),
        (Transport::SmsPp, [0x06, 0x19], 0x22, 0x22),
        (Transport::SmsPp, [0x05, 0x35], 0x15, 0x15),
        (Transport::SmsPp, [0x02, 0x21], 0x15, 0x15),
        (Transport::CatTp, [0x06, 0x21], 0x22, 0x22),
        (Transport::Ussd, [0x1E, 0x19], 0x22, 0x22),
    ];
    for (t, spi, kic, kid) in configs {
        let h = hdr(spi, kic, kid);
        let pkt = secure(&sender, t, &h, 10, APDU);
        // SPI after CPL(2) CHL, or after CPI CPL(1 octet for short packets) CHL.
        let spi_at = 3;
        let fresh = || {
            let store = Arc::new(MemoryCounterStore::new());
            let kvn = Kvn::new(kic >> 4).unwrap();
            store.set(&CardId::new("card").unwrap(), kvn, Counter::new(9).unwrap()).unwrap();
            card_with(&specs, Msl(spi[0]), store)
        };
        assert_eq!(fresh().process(&pkt, t).status, PorStatus::Ok);
        for i in 0..pkt.len() {
            for delta in [0x01u8, 0x10, 0x80, 0xFF] {
                let card = fresh();
                let mut bad = pkt.clone();
                bad[i] ^= delta;
                let o = card.process(&bad, t);
                let code = o.status.code();
                let ok = if (spi_at..spi_at + 2).contains(&i) {
                    code != 0
                } else if (spi_at + 4..spi_at + 7).contains(&i) {
                    code == 0x09
                } else if spi[0] & 0x10 != 0 {
                    matches!(code, 0x01 | 0x02 | 0x03 | 0x05 | 0x06)
                } else {
                    matches!(code, 0x01 | 0x05 | 0x06)
                };
                assert!(ok, "{t:?} SPI {spi:02X?} byte {i} ^ {delta:02X}: {o:?}");
            }
        }
    }
}

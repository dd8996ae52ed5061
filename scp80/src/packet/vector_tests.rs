//! Known-answer tests of securing commands and verifying PoRs against `../shared/vectors/scp80_vectors.json`
//! (third-party vectors from pySim, asterix and opentelecoms gsm0348; see each vector's `source` and
//! `license`), read in place through `m2msim_codec::testdata`.

use m2msim_codec::Decode as _;
use m2msim_codec::ota::{Checksum, Cntr, CommandHeader, Kic, Kid, PorStatus, Spi, Tar, Transport};
use m2msim_codec::rfm::ExpandedResponse;
use m2msim_codec::testdata::shared_file;
use serde_json::Value;

use super::*;
use crate::crypto::{ChecksumAlgorithm, ChecksumKind, CipherAlgorithm, CmacLen, RustCryptoProvider};

fn vectors() -> Option<Vec<Value>> {
    let path = shared_file("vectors/scp80_vectors.json")?;
    let text = std::fs::read_to_string(&path).expect("read scp80_vectors.json");
    let v: Value = serde_json::from_str(&text).expect("parse scp80_vectors.json");
    Some(v["vectors"].as_array().expect("vectors array").clone())
}

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("hex")
}

fn byte(v: &Value) -> u8 {
    hx(v)[0]
}

fn secret(v: &Value) -> Option<SecretKey> {
    v.as_str().map(|s| SecretKey::from_hex(s).expect("key hex"))
}

fn note(v: &Value) -> &str {
    v["note"].as_str().unwrap_or("")
}

/// The cipher a vector's KIc names; for an implicit KIc, the algorithm its note gives (gsm0348 data set:
/// "cipher=DESede/ECB"), sized by the key.
pub(crate) fn vector_cipher(v: &Value) -> CipherAlgorithm {
    let kic = byte(&v["kic"]);
    match CipherAlgorithm::from_kic(kic).expect("KIc coding") {
        Some(a) => a,
        None if note(v).contains("cipher=DESede/ECB") => match secret(&v["kic_key"]).expect("key").len() {
            16 => CipherAlgorithm::TripleDes2Ecb,
            24 => CipherAlgorithm::TripleDes3Ecb,
            n => panic!("3DES-ECB key of {n} bytes"),
        },
        None => panic!("{}: implicit KIc without an algorithm", v["name"]),
    }
}

/// The checksum a vector's KID names for `kind`; `None` for the proprietary XOR codings (optional).
pub(crate) fn vector_checksum(v: &Value, kind: ChecksumKind) -> Option<ChecksumAlgorithm> {
    if v["verified_by_independent_impl"].as_str().is_some_and(|s| s.contains("proprietary XOR")) {
        return None;
    }
    let kid = byte(&v["kid"]);
    let mac_len = if note(v).contains("cmac_len=4") { CmacLen::Four } else { CmacLen::Eight };
    match ChecksumAlgorithm::from_kid(kid, kind, mac_len).expect("KID coding") {
        Some(ChecksumAlgorithm::Proprietary(_)) => None,
        Some(a) => Some(a),
        None if note(v).contains("rc=CRC32") => Some(ChecksumAlgorithm::Crc32),
        None => panic!("{}: implicit KID without an algorithm", v["name"]),
    }
}

/// The keys a vector gives for a packet protected as `ciphered` / `checksum` say; `None` when the vector
/// uses a proprietary algorithm.
fn vector_keys(v: &Value, ciphered: bool, checksum: Checksum) -> Option<ExplicitKeys> {
    let cipher_key = if ciphered { secret(&v["kic_key"]) } else { None };
    let cipher = cipher_key.as_ref().map(|k| (vector_cipher(v), k));
    let kind = match checksum {
        Checksum::None => None,
        Checksum::Rc => Some(ChecksumKind::RedundancyCheck),
        Checksum::Cc => Some(ChecksumKind::CryptographicChecksum),
        Checksum::Ds => panic!("no DS vectors"),
    };
    let kid_key = secret(&v["kid_key"]);
    let checksum = match kind {
        Some(k) => {
            let alg = vector_checksum(v, k)?;
            Some((alg, if alg.needs_key() { kid_key.as_ref() } else { None }))
        }
        None => None,
    };
    Some(ExplicitKeys::new(&RustCryptoProvider, cipher, checksum).expect("vector keys expand"))
}

fn transport_of(v: &Value) -> Transport {
    match v["transport"].as_str() {
        Some("sms") => Transport::SmsPp,
        Some("cat_tp") => Transport::CatTp,
        t => panic!("unknown transport {t:?}"),
    }
}

fn header_with_tar(v: &Value, tar: &Value) -> CommandHeader {
    CommandHeader {
        spi: Spi(hx(&v["spi"]).try_into().expect("2 SPI octets")),
        kic: Kic(byte(&v["kic"])),
        kid: Kid(byte(&v["kid"])),
        tar: Tar(hx(tar).try_into().expect("3 TAR octets")),
    }
}

/// The header of a command vector.
fn header_of(v: &Value) -> CommandHeader {
    header_with_tar(v, &v["tar"])
}

/// The header of the command a response vector answers (its TAR is the PoR's).
fn por_header_of(v: &Value) -> CommandHeader {
    header_with_tar(v, &v["expected"]["tar"])
}

#[test]
fn every_command_vector_secures_to_its_bytes() {
    let Some(vs) = vectors() else { return };
    let (mut built, mut skipped) = (0, Vec::new());
    for v in vs.iter().filter(|v| v["direction"] == "command") {
        let name = v["name"].as_str().unwrap_or("?");
        let h = header_of(v);
        let Some(keys) = vector_keys(v, h.spi.ciphered(), h.spi.checksum()) else {
            skipped.push(name.to_owned());
            continue;
        };
        let t = transport_of(v);
        let cntr = Cntr(hx(&v["cntr"]).try_into().expect("5 CNTR octets"));
        let data = hx(&v["apdu"]);
        let expected = hx(&v["expected"]);
        let mut out = vec![0xEE];
        let n = secure_command_into(&keys, t, &h, cntr, &data, &mut out)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(n, expected.len(), "{name}");
        assert_eq!(hex::encode(&out[1..]), hex::encode(&expected), "{name}");
        // The typed form gives the same bytes, and the SMS user data is 02 70 00 + packet.
        let p = secure_command(&keys, t, &h, cntr, &data).unwrap();
        assert_eq!(m2msim_codec::Encode::encode(&p), expected, "{name}");
        let sent = SentCommand { transport: t, header: h, cntr, packet: expected.clone() };
        if t == Transport::SmsPp && expected.len() <= 137 {
            assert_eq!(sent.user_data().unwrap()[3..], expected[..], "{name}");
            assert_eq!(sent.user_data().unwrap()[..3], [2, 0x70, 0], "{name}");
        }
        built += 1;
    }
    // The two proprietary XOR redundancy checks are the only ones left out (support is optional).
    assert_eq!(skipped.len(), 2, "skipped: {skipped:?}");
    assert!(skipped.iter().all(|n| n.contains("test-request-015") || n.contains("test-request-016")));
    assert_eq!(built, 59);
}

#[test]
fn pysim_tpdu_vectors_match_the_deliver_form() {
    let Some(vs) = vectors() else { return };
    let mut n = 0;
    for v in vs.iter().filter(|v| v["sms_deliver_tpdu_spec_udl"].is_string()) {
        let tpdu = hx(&v["sms_deliver_tpdu_spec_udl"]);
        let d = m2msim_codec::sms::tpdu::Deliver::decode_exact(&tpdu).unwrap();
        let sent = SentCommand {
            transport: Transport::SmsPp,
            header: header_of(v),
            cntr: Cntr::default(),
            packet: hx(&v["expected"]),
        };
        let tpdus = sent.deliver_tpdus(ConcatRef::Eight(0), d.originator, d.scts).unwrap();
        assert_eq!(tpdus.len(), 1);
        assert_eq!(m2msim_codec::Encode::encode(&tpdus[0]), tpdu, "{}", v["name"]);
        n += 1;
    }
    assert!(n >= 4, "{n}");
}

/// Compares a report with a response vector's expected and independently decoded fields.
fn check_response(v: &Value, r: &PorReport) {
    let name = v["name"].as_str().unwrap_or("?");
    let e = &v["expected"];
    let ind = &v["decoded_by_independent_impl"];
    assert_eq!(u64::from(r.status.code()), e["status"].as_u64().unwrap(), "{name}: status");
    assert_eq!(r.tar.0.to_vec(), hx(&e["tar"]), "{name}: TAR");
    assert_eq!(r.cntr.0.to_vec(), hx(&ind["cntr"]), "{name}: CNTR");
    if e["cntr"].is_string() {
        assert_eq!(r.cntr.0.to_vec(), hx(&e["cntr"]), "{name}: CNTR");
    }
    assert_eq!(u64::from(r.pcntr), ind["pcntr"].as_u64().unwrap(), "{name}: PCNTR");
    if let Some(p) = e["pcntr"].as_u64() {
        assert_eq!(u64::from(r.pcntr), p, "{name}: PCNTR");
    }
    assert_eq!(hex::encode(&r.data), ind["data"].as_str().unwrap(), "{name}: data");
    assert_eq!(hex::encode(&r.rc_cc_ds), ind["sig"].as_str().unwrap(), "{name}: RC/CC");
    for key in ["data", "additional_response_data"] {
        if let Some(d) = e[key].as_str() {
            assert_eq!(hex::encode(&r.data), d, "{name}: {key}");
        }
    }
    let expected_check = match ind["sig_ok"].as_bool() {
        Some(true) => ChecksumCheck::Verified,
        Some(false) => ChecksumCheck::Failed,
        None => ChecksumCheck::NotRequested,
    };
    assert_eq!(r.checksum, expected_check, "{name}: RC/CC check");
    assert_eq!(r.trusted(), expected_check != ChecksumCheck::Failed, "{name}");
    if let Some(n) = e["number_of_commands"].as_u64() {
        let Some(RemoteResponse::Compact(c)) = &r.response else { panic!("{name}: compact response") };
        assert_eq!(u64::from(c.executed), n, "{name}: executed");
        assert_eq!(hex::encode(c.last_sw.to_bytes()), e["last_status_word"].as_str().unwrap(), "{name}: SW");
        assert_eq!(hex::encode(&c.data), e["last_response_data"].as_str().unwrap(), "{name}: last data");
    }
}

#[test]
fn every_response_vector_verifies_as_expected() {
    let Some(vs) = vectors() else { return };
    let mut n = 0;
    for v in vs.iter().filter(|v| v["direction"] == "response") {
        let name = v["name"].as_str().unwrap_or("?");
        let h = por_header_of(v);
        let keys = vector_keys(v, h.spi.por_ciphered(), h.spi.por_checksum()).expect("no proprietary PoR");
        let ud = hx(&v["input_user_data"]);
        let r = verify_por(&keys, &h, None, Transport::SmsPp, &ud, ResponseFormat::Auto)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        check_response(v, &r);
        assert_eq!(r.deciphered, h.spi.por_ciphered(), "{name}");
        // With the counter of the command it answers: no finding; with another: a CNTR mismatch.
        let r = verify_por(&keys, &h, Some(r.cntr), Transport::SmsPp, &ud, ResponseFormat::Auto).unwrap();
        assert!(!r.findings.iter().any(|f| matches!(f, PorFinding::CntrMismatch { .. })), "{name}");
        let other = Cntr::from_u64(r.cntr.to_u64() ^ 1).unwrap();
        let r2 = verify_por(&keys, &h, Some(other), Transport::SmsPp, &ud, ResponseFormat::Auto).unwrap();
        assert!(r2.findings.contains(&PorFinding::CntrMismatch { sent: other, received: r.cntr }), "{name}");
        assert!(!r2.trusted(), "{name}");
        n += 1;
    }
    assert_eq!(n, 22);
}

#[test]
fn into_variants_match_the_owned_apis_on_every_vector() {
    let Some(vs) = vectors() else { return };
    // Buffers reused across all vectors, starting dirty.
    let stale = [0xA5u8; 40];
    let mut out = stale.to_vec();
    let mut plain = vec![0x5A; 300];
    let (mut commands, mut responses) = (0, 0);
    for v in &vs {
        let name = v["name"].as_str().unwrap_or("?");
        if v["direction"] == "command" {
            let h = header_of(v);
            let Some(keys) = vector_keys(v, h.spi.ciphered(), h.spi.checksum()) else { continue };
            let t = transport_of(v);
            let cntr = Cntr(hx(&v["cntr"]).try_into().expect("5 CNTR octets"));
            let data = hx(&v["apdu"]);
            let owned = m2msim_codec::Encode::encode(&secure_command(&keys, t, &h, cntr, &data).unwrap());
            out.truncate(stale.len());
            secure_command_into(&keys, t, &h, cntr, &data, &mut out).unwrap();
            assert_eq!(out[..stale.len()], stale, "{name}");
            assert_eq!(hex::encode(&out[stale.len()..]), hex::encode(&owned), "{name}");
            assert_eq!(owned, hx(&v["expected"]), "{name}");
            commands += 1;
        } else if v["direction"] == "response" {
            let h = por_header_of(v);
            let keys =
                vector_keys(v, h.spi.por_ciphered(), h.spi.por_checksum()).expect("no proprietary PoR");
            let ud = hx(&v["input_user_data"]);
            for sent in [None, Cntr::from_u64(1)] {
                for format in [ResponseFormat::Auto, ResponseFormat::Compact, ResponseFormat::Raw] {
                    let r = verify_por(&keys, &h, sent, Transport::SmsPp, &ud, format).unwrap();
                    let pv = verify_por_into(&keys, &h, sent, Transport::SmsPp, &ud, &mut plain).unwrap();
                    assert_eq!(pv.trusted(), r.trusted(), "{name}");
                    assert_eq!(pv.accepted(), r.accepted(), "{name}");
                    assert_eq!(pv.data(&plain), &r.data[..], "{name}");
                    assert_eq!(pv.rc_cc_ds(&plain), &r.rc_cc_ds[..], "{name}");
                    assert_eq!(pv.findings.iter().collect::<Vec<_>>(), r.findings, "{name}");
                    assert_eq!(pv.into_report(plain.clone(), format), r, "{name}");
                }
            }
            check_response(
                v,
                &verify_por(&keys, &h, None, Transport::SmsPp, &ud, ResponseFormat::Auto).unwrap(),
            );
            // Every truncation: the same error (message and offset) or the same report.
            for cut in 0..ud.len() {
                let r = verify_por(&keys, &h, None, Transport::SmsPp, &ud[..cut], ResponseFormat::Auto);
                let pv = verify_por_into(&keys, &h, None, Transport::SmsPp, &ud[..cut], &mut plain);
                match (r, pv) {
                    (Ok(r), Ok(pv)) => assert_eq!(pv.into_report(plain.clone(), ResponseFormat::Auto), r),
                    (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{name} cut at {cut}"),
                    (a, b) => panic!("{name} cut at {cut}: {a:?} / {b:?}"),
                }
            }
            responses += 1;
        }
    }
    assert_eq!((commands, responses), (59, 22));
}

#[test]
fn expanded_por_data_decodes_as_expanded() {
    let Some(vs) = vectors() else { return };
    let v = vs
        .iter()
        .find(|v| v["name"] == "gsm0348/should_build_sms_pp_response_packet_cc_aes_cmac_64")
        .unwrap();
    let h = por_header_of(v);
    let keys = vector_keys(v, false, Checksum::Cc).unwrap();
    let r = verify_por(&keys, &h, None, Transport::SmsPp, &hx(&v["input_user_data"]), ResponseFormat::Auto)
        .unwrap();
    assert_eq!(r.checksum, ChecksumCheck::Verified);
    let Some(RemoteResponse::Expanded(x)) = &r.response else { panic!("expanded: {:?}", r.response) };
    assert_eq!(x, &ExpandedResponse::decode_exact(&hex::decode("ab0780010123029000").unwrap()).unwrap());
    assert_eq!(x.executed(), Some(1));
    assert_eq!(x.last_response().unwrap().sw.to_bytes(), [0x90, 0x00]);
    // Asked for compact, the same data reads as compact (AB executed commands, SW 0780, …).
    let ud = hx(&v["input_user_data"]);
    let r = verify_por(&keys, &h, None, Transport::SmsPp, &ud, ResponseFormat::Compact).unwrap();
    assert!(matches!(r.response, Some(RemoteResponse::Compact(_))));
    let r = verify_por(&keys, &h, None, Transport::SmsPp, &hx(&v["input_user_data"]), ResponseFormat::Raw)
        .unwrap();
    assert_eq!(r.response, None);
}

#[test]
fn unprotected_error_por_from_a_real_card_is_accepted_and_flagged() {
    let Some(vs) = vectors() else { return };
    let v = vs.iter().find(|v| v["name"] == "pysim-docs/smpp-ota-tool/cntr100-replay/response").unwrap();
    // The command was sent with SPI 16 19: PoR ciphered, with CC. The card answered 06 in the clear.
    let h = CommandHeader { spi: Spi([0x16, 0x19]), ..por_header_of(v) };
    let keys = vector_keys(v, true, Checksum::Cc).unwrap();
    let sent = Cntr::from_u64(100).unwrap();
    let r =
        verify_por(&keys, &h, Some(sent), Transport::SmsPp, &hx(&v["input_user_data"]), ResponseFormat::Auto)
            .unwrap();
    assert_eq!(r.status, PorStatus::UnidentifiedSecurityError);
    assert_eq!(r.checksum, ChecksumCheck::Missing);
    assert!(!r.deciphered);
    assert!(r.findings.contains(&PorFinding::UnprotectedErrorPor), "{:?}", r.findings);
    assert!(r.findings.contains(&PorFinding::CntrMismatch { sent, received: Cntr::default() }));
    assert!(!r.trusted());
    assert!(r.accepted());
    // The same unprotected form with status 00 is not accepted: a PoR OK must carry the CC SPI2 asked for.
    let mut ud = hx(&v["input_user_data"]);
    *ud.last_mut().unwrap() = 0;
    let r = verify_por(&keys, &h, Some(sent), Transport::SmsPp, &ud, ResponseFormat::Auto).unwrap();
    assert_eq!(r.checksum, ChecksumCheck::Missing);
    assert!(!r.accepted());
    // The proprietary 02 7F 00 header is recognised.
    let mut ud = hx(&v["input_user_data"]);
    ud[1] = 0x7F;
    let r = verify_por(&keys, &h, None, Transport::SmsPp, &ud, ResponseFormat::Auto).unwrap();
    assert!(r.findings.contains(&PorFinding::ProprietaryHeader));
    assert_eq!(r.udh, Some(PorUdh::Proprietary7F));
}

#[test]
fn por_sent_by_sms_submit_verifies() {
    let Some(vs) = vectors() else { return };
    // asterix real card: the PoR came in an SMS-SUBMIT inside a SEND SHORT MESSAGE.
    let v = vs.iter().find(|v| v["name"] == "asterix/test_SPI1531/real-card-PoR").unwrap();
    let pc = hx(&v["proactive_command"]);
    // 8B len TPDU at the end of the proactive command.
    let at = pc.windows(2).position(|w| w == [0x8B, 0x3A]).unwrap() + 2;
    let ud = por_user_data_from_submit(&pc[at..]).unwrap();
    assert_eq!(ud, hx(&v["input_user_data"]));
    let h = por_header_of(v);
    let keys = vector_keys(v, true, Checksum::Rc).unwrap();
    let r = verify_por(
        &keys,
        &h,
        Some(Cntr::from_u64(0x76).unwrap()),
        Transport::SmsPp,
        &ud,
        ResponseFormat::Auto,
    )
    .unwrap();
    check_response(v, &r);
    assert!(r.trusted(), "{r:?}");
    // The same user data in an SMS-DELIVER-REPORT (RP-ACK, UDHI clear as a card sends it).
    let mut dr = vec![0x00, 0x07, 0x00, 0xF6, ud.len() as u8];
    dr.extend_from_slice(&ud);
    assert_eq!(por_user_data_from_deliver_report(&dr, m2msim_codec::sms::tpdu::RpKind::Ack).unwrap(), ud);
    assert!(
        por_user_data_from_deliver_report(&[0x00, 0x03, 0x00, 0xF6], m2msim_codec::sms::tpdu::RpKind::Ack)
            .is_err()
    );
}

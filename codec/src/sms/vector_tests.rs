//! Known-answer tests against `../shared/vectors/scp80_vectors.json` (third-party vectors from pySim and
//! asterix; see each vector's `source` and `license`), TPDU negative tests and property tests for every
//! TPDU type.

use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::error::DecodeErrorKind;
use crate::ota::{CommandPacket, ResponseUserData, Transport};
use crate::reader::{Decode, DecodeRef, Encode, Reader};
use crate::testdata::shared_file;

fn vectors() -> Option<Vec<Value>> {
    let path = shared_file("vectors/scp80_vectors.json")?;
    let text = std::fs::read_to_string(&path).expect("read scp80_vectors.json");
    let v: Value = serde_json::from_str(&text).expect("parse scp80_vectors.json");
    Some(v["vectors"].as_array().expect("vectors array").clone())
}

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("hex")
}

fn name_of<T: serde::Serialize>(t: &T) -> Value {
    serde_json::to_value(t).expect("serialise")
}

#[test]
fn sms_codec_vectors() {
    let Some(vs) = vectors() else { return };
    let mut n = 0;
    for v in vs.iter().filter(|v| v["direction"] == "sms-codec") {
        let name = v["name"].as_str().unwrap_or("?");
        let e = &v["expected"];
        if name.contains("/udh/") {
            let input = hx(&v["input"]);
            let (udh, used) = Udh::decode(&input).unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut back = udh.encode();
            back.extend_from_slice(&input[used..]);
            assert_eq!(back, input, "{name}: round trip");
            if let Some(ies) = e["ies"].as_array() {
                assert_eq!(udh.0.len(), ies.len(), "{name}");
                for (ie, x) in udh.0.iter().zip(ies) {
                    assert_eq!(u64::from(ie.iei()), x["iei"].as_u64().unwrap(), "{name}: IEI");
                    assert_eq!(ie.data_len() as u64, x["length"].as_u64().unwrap(), "{name}: IEDL");
                    let mut b = Vec::new();
                    ie.encode_to(&mut b);
                    assert_eq!(hex::encode(&b[2..]), x["value"].as_str().unwrap(), "{name}: value");
                }
                assert_eq!(hex::encode(&input[used..]), e["tail"].as_str().unwrap(), "{name}: tail");
            } else {
                assert_eq!(hex::encode(&back), e["roundtrip"].as_str().unwrap(), "{name}");
            }
        } else if name.contains("/address/") {
            if v["input"].is_null() {
                let x = &e["input"];
                let a = Address::from_digits(0x91, x["digits"].as_str().unwrap()).unwrap();
                assert_eq!(name_of(&a.ton()), x["ton"], "{name}");
                assert_eq!(name_of(&a.npi()), x["npi"], "{name}");
                assert_eq!(hex::encode(a.encode()), e["encoded"].as_str().unwrap(), "{name}");
            } else {
                let input = hx(&v["input"]);
                let (a, used) = Address::decode(&input).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(a.encode(), input[..used], "{name}: round trip");
                if let Some(rt) = e["roundtrip"].as_str() {
                    assert_eq!(hex::encode(a.encode()), rt, "{name}");
                } else {
                    assert_eq!(name_of(&a.ton()), e["ton"], "{name}");
                    assert_eq!(name_of(&a.npi()), e["npi"], "{name}");
                    assert_eq!(a.to_string(), e["digits"].as_str().unwrap(), "{name}");
                    assert_eq!(hex::encode(&input[used..]), e["trailer"].as_str().unwrap(), "{name}");
                }
            }
        } else if name.contains("/sms_submit/") {
            let input = hx(&v["input"]);
            let s = Submit::decode_exact(&input).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(s.encode(), input, "{name}: round trip");
            assert_eq!(u64::from(input[0] & 3), e["tp_mti"].as_u64().unwrap());
            assert_eq!(s.reject_duplicates(), e["tp_rd"].as_bool().unwrap());
            assert!(matches!(s.validity_period, ValidityPeriod::Relative(0xA7)));
            assert_eq!(e["tp_vpf"], "relative");
            assert_eq!(s.reply_path(), e["tp_rp"].as_bool().unwrap());
            assert_eq!(s.udhi(), e["tp_udhi"].as_bool().unwrap());
            assert_eq!(s.status_report_request(), e["tp_srr"].as_bool().unwrap());
            assert_eq!(u64::from(s.pid.0), e["tp_pid"].as_u64().unwrap());
            assert_eq!(u64::from(s.dcs.0), e["tp_dcs"].as_u64().unwrap());
            assert_eq!(u64::from(s.user_data.udl), e["tp_udl"].as_u64().unwrap());
            assert!(s.user_data.udl_consistent(s.dcs), "{name}");
            let h = s.user_data.header.as_ref().unwrap();
            assert_eq!(h.0[0], Ie::Ports16 { destination: 0x23F4, originator: 0x23F4 });
            assert_eq!(h.0[1], Ie::Concat8 { reference: 1, total: 2, seq: 1 });
            assert_eq!(s.destination.to_string(), "61416271170");
        } else if name.contains("/sms_deliver/") {
            let input = hx(&v["input"]);
            let d = Deliver::decode_exact(&input).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(d.encode(), input, "{name}: round trip");
            assert_eq!(u64::from(input[0] & 3), e["tp_mti"].as_u64().unwrap());
            // pySim's tp_mms is the raw bit; TP-MMS = 1 means "no more messages waiting".
            assert_eq!(!d.more_messages_waiting(), e["tp_mms"].as_bool().unwrap());
            assert_eq!(d.loop_prevention(), e["tp_lp"].as_bool().unwrap());
            assert_eq!(d.reply_path(), e["tp_rp"].as_bool().unwrap());
            assert_eq!(d.udhi(), e["tp_udhi"].as_bool().unwrap());
            assert_eq!(d.status_report_indication(), e["tp_sri"].as_bool().unwrap());
            assert_eq!(u64::from(d.pid.0), e["tp_pid"].as_u64().unwrap());
            assert_eq!(u64::from(d.dcs.0), e["tp_dcs"].as_u64().unwrap());
            assert_eq!(u64::from(d.user_data.udl), e["tp_udl"].as_u64().unwrap());
            assert_eq!(d.pid.kind(), PidKind::SimDataDownload);
            assert_eq!(d.originator.to_string(), "ekit");
            assert_eq!(hex::encode(d.user_data.payload(d.dcs)), "24010101bb400101");
        } else {
            panic!("unhandled sms-codec vector {name}");
        }
        n += 1;
    }
    assert_eq!(n, 11, "every sms-codec vector");
}

#[test]
fn deliver_tpdus_of_the_command_vectors() {
    let Some(vs) = vectors() else { return };
    let mut n = 0;
    for v in vs.iter().filter(|v| v.get("sms_deliver_tpdu_spec_udl").is_some()) {
        let name = v["name"].as_str().unwrap_or("?");
        let packet = hx(&v["expected"]);
        let oa = Address::from_digits(0x81, "12345678").unwrap();
        let scts = Scts::new(22, 7, 25, 0, 0, 0, 0).unwrap();
        // Conformant form: our builder produces it byte for byte.
        let spec = hx(&v["sms_deliver_tpdu_spec_udl"]);
        let d = Deliver::decode_exact(&spec).unwrap();
        assert_eq!(d.encode(), spec, "{name}");
        assert!(d.user_data.udl_consistent(d.dcs));
        assert_eq!(d.user_data.payload(d.dcs), &packet[..]);
        let built = concat::deliver_tpdus(&packet, concat::ConcatRef::Eight(0), oa, scts).unwrap();
        assert_eq!(built.len(), 1);
        assert_eq!(built[0].encode(), spec, "{name}: builder");
        assert_eq!(built[0], d);
        // pySim's form, UDL = 3: decodes, re-encodes identically, and shows the packet as excess.
        let pysim = hx(&v["sms_deliver_tpdu_pysim"]);
        let p = Deliver::decode_exact(&pysim).unwrap();
        assert_eq!(p.encode(), pysim, "{name}: pySim form round trip");
        assert_eq!(p.user_data.udl, 3);
        assert!(p.user_data.payload(p.dcs).is_empty());
        assert_eq!(p.user_data.excess(p.dcs), &packet[..]);
        assert!(!p.user_data.udl_consistent(p.dcs));
        CommandPacket::decode_for(Transport::SmsPp, p.user_data.excess(p.dcs)).unwrap();
        n += 1;
    }
    assert_eq!(n, 4);
}

#[test]
fn envelope_and_proactive_tpdus() {
    let Some(vs) = vectors() else { return };
    // ENVELOPE (SMS-PP download): D1 47 82 02 83 81 86 04 00 10 32 54 8B 3B <SMS-DELIVER>
    let v = vs.iter().find(|v| v["direction"] == "envelope-format-only").expect("vector");
    let env = hx(&v["expected"]);
    let at = env.windows(2).position(|w| w == [0x8B, 0x3B]).expect("8B 3B") + 2;
    let tpdu = &env[at..];
    assert_eq!(tpdu.len(), 0x3B);
    let d = Deliver::decode_exact(tpdu).unwrap();
    assert_eq!(d.encode(), tpdu);
    assert_eq!(d.originator.to_string(), "12");
    assert_eq!(d.originator.ton(), Ton::International);
    assert_eq!((d.pid, d.dcs), (Pid::SIM_DATA_DOWNLOAD, Dcs::SIM_SPECIFIC_8BIT));
    assert!(d.udhi() && d.user_data.udl_consistent(d.dcs));
    assert!(d.user_data.header.as_ref().unwrap().has_command_packet());
    let p = CommandPacket::decode_for(Transport::SmsPp, d.user_data.payload(d.dcs)).unwrap();
    assert!(p.fits_single_sms());
    assert!(matches!(Tpdu::decode_sc_to_ms(tpdu).unwrap(), Tpdu::Deliver(_)));
    // The SC address TLV (86 04 00 103254) in the RP/CAT address form.
    let sc = RpAddress::from_value(&env[8..12]).unwrap();
    assert_eq!(sc.digits().collect::<String>(), "012345");

    // asterix: SEND SHORT MESSAGE with an SMS-SUBMIT carrying the PoR (8B 3A 41 00 03 81 19F0 …).
    let v = vs.iter().find(|v| v["name"] == "asterix/test_SPI1531/real-card-PoR").expect("vector");
    let pc = hx(&v["proactive_command"]);
    let at = pc.windows(2).position(|w| w == [0x8B, 0x3A]).expect("8B 3A") + 2;
    let tpdu = &pc[at..];
    let s = Submit::decode_exact(tpdu).unwrap();
    assert_eq!(s.encode(), tpdu);
    assert_eq!(s.destination.to_string(), "910");
    assert_eq!(s.validity_period, ValidityPeriod::None);
    assert!(s.user_data.header.as_ref().unwrap().has_response_packet());
    let por = ResponseUserData::decode_exact(&s.user_data.ud_octets()).unwrap();
    assert_eq!(hex::encode(por.encode()), v["input_user_data"].as_str().unwrap());
    assert!(matches!(Tpdu::decode_ms_to_sc(tpdu, RpKind::Ack).unwrap(), Tpdu::Submit(_)));
}

#[test]
fn truncation_at_every_byte_of_every_tpdu_vector() {
    let Some(vs) = vectors() else { return };
    let mut delivers = Vec::new();
    let mut submits = Vec::new();
    for v in &vs {
        if let Some(t) = v.get("sms_deliver_tpdu_spec_udl") {
            delivers.push(hx(t));
        }
        if v["name"].as_str().is_some_and(|n| n.contains("/sms_deliver/")) {
            delivers.push(hx(&v["input"]));
        }
        if v["name"].as_str().is_some_and(|n| n.contains("/sms_submit/")) {
            submits.push(hx(&v["input"]));
        }
        if v["direction"] == "envelope-format-only" {
            let env = hx(&v["expected"]);
            delivers.push(env[14..].to_vec());
        }
        if let Some(pc) = v["proactive_command"].as_str() {
            let pc = hex::decode(pc).unwrap();
            let at = pc.windows(2).position(|w| w == [0x8B, 0x3A]).expect("8B 3A") + 2;
            submits.push(pc[at..].to_vec());
        }
    }
    assert_eq!((delivers.len(), submits.len()), (6, 2));
    for b in &delivers {
        Deliver::decode_exact(b).unwrap();
        for i in 0..b.len() {
            assert!(Deliver::decode_exact(&b[..i]).is_err(), "{} prefix {i}", hex::encode(b));
        }
    }
    for b in &submits {
        Submit::decode_exact(b).unwrap();
        for i in 0..b.len() {
            assert!(Submit::decode_exact(&b[..i]).is_err(), "{} prefix {i}", hex::encode(b));
        }
    }
}

#[test]
fn tpdu_errors_with_offsets() {
    // "0408D0E5759A0E7FF6907090307513000824010101BB400101": pySim SMS-DELIVER.
    let good = hex::decode("0408d0e5759a0e7ff6907090307513000824010101bb400101").unwrap();
    // Wrong MTI.
    let mut b = good.clone();
    b[0] = 0x05;
    let e = Deliver::decode_exact(&b).unwrap_err();
    assert_eq!((e.offset, e.to_string().contains("TP-MTI")), (0, true));
    // Address too long.
    let mut b = good.clone();
    b[1] = 21;
    let e = Deliver::decode_exact(&b).unwrap_err();
    assert_eq!(e.offset, 1);
    assert!(e.to_string().contains("TP-OA"), "{e}");
    // UDL too long, reported at the UDL (offset 16).
    let mut b = good.clone();
    b[16] = 9;
    let e = Deliver::decode_exact(&b).unwrap_err();
    assert_eq!(e.offset, 16);
    assert!(matches!(e.kind, DecodeErrorKind::LengthOverflow { length: 9, remaining: 8, .. }));
    // With UDHI set, the first UD octet is a UDHL: 0x24 overflows.
    let mut b = good.clone();
    b[0] |= 0x40;
    let e = Deliver::decode_exact(&b).unwrap_err();
    assert_eq!(e.offset, 17);
    // Truncated TP-SCTS.
    let e = Deliver::decode_exact(&good[..12]).unwrap_err();
    assert!(matches!(e.kind, DecodeErrorKind::Truncated { expected: "TP-SCTS", needed: 4, remaining: 3 }));
    assert_eq!(e.offset, 9);
    // Tpdu dispatch by direction.
    assert!(matches!(Tpdu::decode_sc_to_ms(&good).unwrap(), Tpdu::Deliver(_)));
    assert!(Tpdu::decode_sc_to_ms(&[0x01]).is_err());
    assert!(Tpdu::decode_sc_to_ms(&[0x03]).is_err());
    assert!(Tpdu::decode_sc_to_ms(&[]).is_err());
    assert!(Tpdu::decode_ms_to_sc(&[0x02], RpKind::Ack).is_err());
    // Read as a DELIVER-REPORT (MS→SC), 04 08 is first octet + a TP-PI announcing nothing: the rest trails.
    let e = Tpdu::decode_ms_to_sc(&good, RpKind::Ack).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::TrailingBytes { what: "SMS-DELIVER-REPORT", count: good.len() - 2 });
    assert_eq!(e.offset, 2);
}

#[test]
fn deliver_report_forms() {
    // RP-ACK report carrying a PoR: 00 07 7F F6 UDL 027100…
    let por = hex::decode("027100000e0ab000110000000000000001612f").unwrap();
    let ud = UserData::octets(None, por.clone()).unwrap();
    let r = DeliverReport::ack(Pid::SIM_DATA_DOWNLOAD, Dcs::SIM_SPECIFIC_8BIT, ud);
    let b = r.encode();
    assert_eq!(hex::encode(&b[..5]), "00077ff613");
    assert_eq!(DeliverReport::decode_ack(&b).unwrap(), r);
    assert_eq!(r.rp_kind(), RpKind::Ack);
    // Sent without UDHI, the PoR's UDH stays in the body (TS 31.115: treated as if UDHI were set).
    assert_eq!(r.user_data.as_ref().unwrap().body, por);
    assert!(ResponseUserData::decode_exact(&r.user_data.as_ref().unwrap().ud_octets()).is_ok());
    // RP-ERROR with TP-FCS D4 (SIM data download error) and no optional fields.
    let e = DeliverReport::error(0xD4, None, None, None);
    assert_eq!(hex::encode(e.encode()), "00d400");
    let back = DeliverReport::decode_error(&e.encode()).unwrap();
    assert_eq!(back, e);
    let j = serde_json::to_string(&back).unwrap();
    assert!(j.contains(r#""failure_cause":"d4""#), "{j}");
    assert_eq!(serde_json::from_str::<DeliverReport>(&j).unwrap(), e);
    assert_eq!(back.rp_kind(), RpKind::Error);
    // Read as RP-ACK, the FCS becomes a TP-PI (D4: extension bit, UDL present) whose fields are missing.
    assert!(DeliverReport::decode_ack(&e.encode()).is_err());
    // PI extension octets and reserved PI bits are kept.
    // PI 80: extension bit, no field announced; extension octet 05 ends the chain (its bits are kept,
    // only the first PI octet announces fields).
    let raw = hex::decode("008005").unwrap();
    let r = DeliverReport::decode_ack(&raw).unwrap();
    assert_eq!(r.pi_extension, vec![0x05]);
    assert_eq!((r.pid, r.dcs, r.user_data.is_none()), (None, None, true));
    assert_eq!(r.encode(), raw);
    // PI 79: reserved bits 6..3 set, PID present.
    let raw = hex::decode("00797f").unwrap();
    let r = DeliverReport::decode_ack(&raw).unwrap();
    assert_eq!(r.pid, Some(Pid(0x7F)));
    assert_eq!(r.encode(), raw);
    // A chain of extension octets is bounded.
    let mut long = vec![0x00, 0x80];
    long.extend([0x80; 9]);
    long.push(0);
    assert!(matches!(DeliverReport::decode_ack(&long).unwrap_err().kind, DecodeErrorKind::TooMany { .. }));
}

#[test]
fn status_report_forms() {
    // 06 MR=2A RA=0B91 6114261771F0 SCTS DT ST=00 (no PI)
    let base = "062a0b916114261771f0".to_owned() + "22705200000000" + "22705200000100" + "00";
    let b = hex::decode(&base).unwrap();
    let s = StatusReport::decode_exact(&b).unwrap();
    assert_eq!(s.parameter_indicator, None);
    assert_eq!(s.recipient.to_string(), "16416271170");
    assert_eq!(s.encode(), b);
    assert!(matches!(Tpdu::decode_sc_to_ms(&b).unwrap(), Tpdu::StatusReport(_)));
    // With PI = 00 (present, announces nothing) and with PID + UD.
    let b = hex::decode(base.clone() + "00").unwrap();
    let s = StatusReport::decode_exact(&b).unwrap();
    assert_eq!(s.parameter_indicator, Some(0));
    assert_eq!(s.encode(), b);
    // PI 05: PID and UD; the UD is the TS 23.038 "hellohello" example (default DCS: GSM 7-bit).
    let b = hex::decode(base + "057f0ae8329bfd4697d9ec37").unwrap();
    let s = StatusReport::decode_exact(&b).unwrap();
    assert_eq!(s.pid, Some(Pid(0x7F)));
    assert_eq!(s.dcs, None);
    assert_eq!(s.user_data.as_ref().unwrap().text(Dcs::default()).unwrap(), "hellohello");
    assert_eq!(s.encode(), b);
    let j = serde_json::to_string(&s).unwrap();
    assert_eq!(serde_json::from_str::<StatusReport>(&j).unwrap(), s);
}

#[test]
fn json_round_trips_with_readable_extras() {
    let d =
        Deliver::decode_exact(&hex::decode("0408d0e5759a0e7ff6907090307513000824010101bb400101").unwrap())
            .unwrap();
    let j = serde_json::to_string(&d).unwrap();
    assert!(j.contains("\"digits\":\"ekit\""), "{j}");
    let back: Deliver = serde_json::from_str(&j).unwrap();
    assert_eq!(back, d);
    assert_eq!(serde_json::to_string(&back).unwrap(), j);
    let t = Tpdu::Deliver(d);
    let j = serde_json::to_string(&t).unwrap();
    assert_eq!(serde_json::from_str::<Tpdu>(&j).unwrap(), t);
}

// ---- property tests for every TPDU type ----

fn arb_address() -> impl Strategy<Value = Address> {
    (0u8..=20).prop_flat_map(|len| {
        (any::<u8>(), proptest::collection::vec(any::<u8>(), (len as usize).div_ceil(2)))
            .prop_map(move |(toa, v)| Address::from_raw(len, toa, &v).unwrap())
    })
}

fn arb_dcs() -> impl Strategy<Value = Dcs> {
    prop_oneof![Just(Dcs(0xF6)), Just(Dcs(0x00)), Just(Dcs(0x08)), Just(Dcs(0x20)), any::<u8>().prop_map(Dcs)]
}

fn arb_udh() -> impl Strategy<Value = Udh> {
    let ie = prop_oneof![
        (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(reference, total, seq)| Ie::Concat8 {
            reference,
            total,
            seq
        }),
        (any::<u16>(), any::<u8>(), any::<u8>()).prop_map(|(reference, total, seq)| Ie::Concat16 {
            reference,
            total,
            seq
        }),
        Just(Ie::CommandPacket),
        Just(Ie::ResponsePacket),
        (0x80u8..0xFF, proptest::collection::vec(any::<u8>(), 0..5))
            .prop_map(|(iei, data)| Ie::Other { iei, data }),
    ];
    proptest::collection::vec(ie, 0..4).prop_map(Udh)
}

/// User data consistent with `udhi` and `dcs`, with any UDL the body can hold (including short UDLs).
fn arb_ud(dcs: Dcs, udhi: bool) -> impl Strategy<Value = UserData> {
    let header = if udhi { arb_udh().prop_map(Some).boxed() } else { Just(None).boxed() };
    (header, proptest::collection::vec(any::<u8>(), 0..150)).prop_flat_map(move |(header, body)| {
        let total = header.as_ref().map_or(0, Udh::encoded_len) + body.len();
        let max = if dcs.udl_in_septets() { total * 8 / 7 } else { total }.min(255);
        (0..=max).prop_map(move |udl| UserData { udl: udl as u8, header: header.clone(), body: body.clone() })
    })
}

fn arb_scts() -> impl Strategy<Value = Scts> {
    any::<[u8; 7]>().prop_map(Scts)
}

fn arb_deliver() -> impl Strategy<Value = Deliver> {
    (any::<u8>(), arb_address(), any::<u8>(), arb_dcs(), arb_scts(), any::<bool>()).prop_flat_map(
        |(first, originator, pid, dcs, scts, udhi)| {
            arb_ud(dcs, udhi).prop_map(move |user_data| Deliver {
                first_octet: (first & 0xBC) | if udhi { 0x40 } else { 0 },
                originator,
                pid: Pid(pid),
                dcs,
                scts,
                user_data,
            })
        },
    )
}

fn arb_vp() -> impl Strategy<Value = ValidityPeriod> {
    prop_oneof![
        Just(ValidityPeriod::None),
        any::<u8>().prop_map(ValidityPeriod::Relative),
        any::<[u8; 7]>().prop_map(ValidityPeriod::Enhanced),
        arb_scts().prop_map(ValidityPeriod::Absolute),
    ]
}

fn arb_submit() -> impl Strategy<Value = Submit> {
    (any::<u8>(), any::<u8>(), arb_address(), any::<u8>(), arb_dcs(), arb_vp(), any::<bool>()).prop_flat_map(
        |(first, mr, destination, pid, dcs, vp, udhi)| {
            arb_ud(dcs, udhi).prop_map(move |user_data| Submit {
                first_octet: (first & 0xA4) | 0x01 | vp.vpf_bits() | if udhi { 0x40 } else { 0 },
                message_reference: mr,
                destination,
                pid: Pid(pid),
                dcs,
                validity_period: vp,
                user_data,
            })
        },
    )
}

/// PI octet + a well-formed extension chain; the presence bits are filled in by the caller.
fn arb_pi() -> impl Strategy<Value = (u8, Vec<u8>)> {
    (0u8..0x80, proptest::collection::vec(0x80u8..=0xFF, 0..3), 0u8..0x80).prop_map(|(pi, mut ext, last)| {
        if ext.is_empty() && last.is_multiple_of(2) {
            (pi, ext)
        } else {
            ext.push(last);
            (pi | 0x80, ext)
        }
    })
}

fn pi_bits(pi: u8, pid: bool, dcs: bool, ud: bool) -> u8 {
    (pi & !7) | u8::from(pid) | (u8::from(dcs) << 1) | (u8::from(ud) << 2)
}

fn arb_deliver_report() -> impl Strategy<Value = DeliverReport> {
    (
        any::<u8>(),
        proptest::option::of(any::<u8>()),
        arb_pi(),
        proptest::option::of(any::<u8>().prop_map(Pid)),
        proptest::option::of(arb_dcs()),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_flat_map(|(first, fcs, (pi, ext), pid, dcs, has_ud, udhi)| {
            let ud = if has_ud {
                arb_ud(dcs.unwrap_or_default(), udhi).prop_map(Some).boxed()
            } else {
                Just(None).boxed()
            };
            ud.prop_map(move |user_data| DeliverReport {
                first_octet: (first & 0xBC) | if udhi { 0x40 } else { 0 },
                failure_cause: fcs,
                parameter_indicator: pi_bits(pi, pid.is_some(), dcs.is_some(), user_data.is_some()),
                pi_extension: ext.clone(),
                pid,
                dcs,
                user_data,
            })
        })
}

fn arb_status_report() -> impl Strategy<Value = StatusReport> {
    (
        any::<u8>(),
        any::<u8>(),
        arb_address(),
        arb_scts(),
        arb_scts(),
        any::<u8>(),
        proptest::option::of(arb_pi()),
        proptest::option::of(any::<u8>().prop_map(Pid)),
        proptest::option::of(arb_dcs()),
        any::<bool>(),
    )
        .prop_flat_map(|(first, mr, recipient, scts, dt, st, pi, pid, dcs, udhi)| {
            let with_pi = pi.is_some();
            let ud = if with_pi {
                proptest::option::of(arb_ud(dcs.unwrap_or_default(), udhi)).boxed()
            } else {
                Just(None).boxed()
            };
            ud.prop_map(move |user_data| {
                let (pid, dcs) = if with_pi { (pid, dcs) } else { (None, None) };
                let (parameter_indicator, pi_extension) = match &pi {
                    Some((p, ext)) => {
                        (Some(pi_bits(*p, pid.is_some(), dcs.is_some(), user_data.is_some())), ext.clone())
                    }
                    None => (None, Vec::new()),
                };
                StatusReport {
                    first_octet: (first & 0xBC) | 0x02 | if udhi { 0x40 } else { 0 },
                    message_reference: mr,
                    recipient,
                    scts,
                    discharge_time: dt,
                    status: st,
                    parameter_indicator,
                    pi_extension,
                    pid,
                    dcs,
                    user_data,
                }
            })
        })
}

fn mutate(mut b: Vec<u8>, at: prop::sample::Index, val: u8) -> Vec<u8> {
    if !b.is_empty() {
        let i = at.index(b.len());
        b[i] = val;
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn deliver_round_trip(d in arb_deliver(), at in any::<prop::sample::Index>(), val in any::<u8>()) {
        let b = d.encode();
        prop_assert_eq!(b.len(), d.encoded_len());
        prop_assert_eq!(&Deliver::decode_exact(&b).unwrap(), &d);
        let m = mutate(b, at, val);
        if let Ok(x) = Deliver::decode_exact(&m) {
            prop_assert_eq!(x.encode(), m);
        }
    }

    #[test]
    fn submit_round_trip(s in arb_submit(), at in any::<prop::sample::Index>(), val in any::<u8>()) {
        let b = s.encode();
        prop_assert_eq!(b.len(), s.encoded_len());
        prop_assert_eq!(&Submit::decode_exact(&b).unwrap(), &s);
        let m = mutate(b, at, val);
        if let Ok(x) = Submit::decode_exact(&m) {
            prop_assert_eq!(x.encode(), m);
        }
    }

    /// The views on typed TPDUs and single-byte mutations of them: same value, bytes or error as the owned
    /// decoders (`fuzzing::agree`).
    #[test]
    fn deliver_and_submit_views_agree(
        d in arb_deliver(),
        s in arb_submit(),
        at in any::<prop::sample::Index>(),
        val in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let b = d.encode();
        let v = DeliverRef::decode_exact(&b).unwrap();
        prop_assert_eq!(&v.to_owned(), &d);
        prop_assert_eq!(v.encode(), b.clone());
        prop_assert_eq!(v.encoded_len(), b.len());
        let ud_at = b.len() - d.user_data.encoded_len();
        let u = UserDataRef::read(&mut Reader::with_base(&b[ud_at..], ud_at), d.udhi(), d.dcs).unwrap();
        prop_assert_eq!(u.payload(d.dcs), d.user_data.payload(d.dcs));
        prop_assert_eq!(u.excess(d.dcs), d.user_data.excess(d.dcs));
        // A prefix may decode (the body runs to the end of the TPDU whatever the UDL says): only agreement.
        let i = cut.index(b.len());
        crate::fuzzing::agree(&b[..i], DeliverRef::decode_exact, Deliver::decode_exact, DeliverRef::to_owned);
        crate::fuzzing::agree(&mutate(b, at, val), DeliverRef::decode_exact, Deliver::decode_exact, DeliverRef::to_owned);

        let b = s.encode();
        let v = SubmitRef::decode_exact(&b).unwrap();
        prop_assert_eq!(&v.to_owned(), &s);
        prop_assert_eq!(v.encode(), b.clone());
        let i = cut.index(b.len());
        crate::fuzzing::agree(&b[..i], SubmitRef::decode_exact, Submit::decode_exact, SubmitRef::to_owned);
        crate::fuzzing::agree(&mutate(b, at, val), SubmitRef::decode_exact, Submit::decode_exact, SubmitRef::to_owned);
    }

    #[test]
    fn deliver_report_round_trip(r in arb_deliver_report(), at in any::<prop::sample::Index>(), val in any::<u8>()) {
        let b = r.encode();
        let back = match r.rp_kind() {
            RpKind::Ack => DeliverReport::decode_ack(&b).unwrap(),
            RpKind::Error => DeliverReport::decode_error(&b).unwrap(),
        };
        prop_assert_eq!(&back, &r);
        let m = mutate(b, at, val);
        for kind in [RpKind::Ack, RpKind::Error] {
            if let Ok(Tpdu::DeliverReport(x)) = Tpdu::decode_ms_to_sc(&m, kind) {
                prop_assert_eq!(x.encode(), m.clone());
            }
        }
    }

    #[test]
    fn status_report_round_trip(s in arb_status_report(), at in any::<prop::sample::Index>(), val in any::<u8>()) {
        let b = s.encode();
        prop_assert_eq!(&StatusReport::decode_exact(&b).unwrap(), &s);
        let m = mutate(b, at, val);
        if let Ok(x) = Tpdu::decode_sc_to_ms(&m) {
            prop_assert_eq!(x.encode(), m);
        }
    }

    #[test]
    fn arbitrary_bytes_views_agree(b in proptest::collection::vec(any::<u8>(), 0..80)) {
        crate::fuzzing::agree(&b, DeliverRef::decode_exact, Deliver::decode_exact, DeliverRef::to_owned);
        crate::fuzzing::agree(&b, SubmitRef::decode_exact, Submit::decode_exact, SubmitRef::to_owned);
        crate::fuzzing::agree(&b, UdhRef::decode_exact, Udh::decode_exact, UdhRef::to_owned);
        let (v, o) = (UdhRef::decode(&b), Udh::decode(&b));
        prop_assert_eq!(v.map(|(u, n)| (u.to_owned(), n)), o);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_round_trip(b in proptest::collection::vec(any::<u8>(), 0..80)) {
        if let Ok(t) = Tpdu::decode_sc_to_ms(&b) {
            prop_assert_eq!(t.encode(), b.clone());
        }
        for kind in [RpKind::Ack, RpKind::Error] {
            if let Ok(t) = Tpdu::decode_ms_to_sc(&b, kind) {
                prop_assert_eq!(t.encode(), b.clone());
            }
        }
        if let Ok((a, n)) = Address::decode(&b) {
            prop_assert_eq!(a.encode(), b[..n].to_vec());
        }
        if let Ok((a, n)) = RpAddress::decode(&b) {
            prop_assert_eq!(a.encode(), b[..n].to_vec());
        }
    }

    #[test]
    fn json_round_trip(d in arb_deliver(), s in arb_submit(), r in arb_deliver_report(), t in arb_status_report()) {
        let j = serde_json::to_string(&d).unwrap();
        prop_assert_eq!(&serde_json::from_str::<Deliver>(&j).unwrap(), &d);
        let j = serde_json::to_string(&s).unwrap();
        prop_assert_eq!(&serde_json::from_str::<Submit>(&j).unwrap(), &s);
        let j = serde_json::to_string(&r).unwrap();
        prop_assert_eq!(&serde_json::from_str::<DeliverReport>(&j).unwrap(), &r);
        let j = serde_json::to_string(&Tpdu::StatusReport(t.clone())).unwrap();
        prop_assert_eq!(serde_json::from_str::<Tpdu>(&j).unwrap(), Tpdu::StatusReport(t));
    }
}

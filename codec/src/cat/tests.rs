//! Tests of the CAT module: spec examples (m2m.md §4.4), the real-card objects of scp80_vectors.json,
//! negative cases with offsets, truncation, and property round trips.

use super::*;
use crate::apdu::{ApduCase, CommandApdu};
use crate::testdata::shared_file;
use crate::tlv::LenForm;
use crate::{Decode, DecodeErrorKind, Encode};
use proptest::prelude::*;

fn bytes(hex: &str) -> Vec<u8> {
    hex::decode(hex.replace(' ', "")).unwrap()
}

fn vector(name: &str) -> Option<serde_json::Value> {
    let path = shared_file("vectors/scp80_vectors.json")?;
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let found = v["vectors"].as_array().unwrap().iter().find(|x| x["name"] == name).cloned();
    Some(found.unwrap_or_else(|| panic!("vector {name} not in scp80_vectors.json")))
}

fn assert_every_prefix_fails<T: Decode>(b: &[u8]) {
    for i in 0..b.len() {
        assert!(T::decode_exact(&b[..i]).is_err(), "prefix {i} of {}", hex::encode(b));
    }
}

#[test]
fn refresh_uicc_reset() {
    // m2m.md §4.4: REFRESH, command number 1, qualifier 04 (UICC reset), UICC → terminal.
    let b = bytes("D0 09 81 03 01 01 04 82 02 81 82");
    let c = ProactiveCommand::decode_exact(&b).unwrap();
    assert_eq!(c.encode(), b);
    let Proactive::Refresh(r) = c.interpret().unwrap() else { panic!("not a REFRESH") };
    assert_eq!(r.mode(), RefreshMode::UiccReset);
    assert_eq!(r.command_details.qualifier_name(), Some("UICC reset"));
    assert_eq!(r.device_identities, DeviceIdentities::new(DeviceIdentity::Uicc, DeviceIdentity::Terminal));
    assert_eq!(Refresh::new(1, RefreshMode::UiccReset).to_command().encode(), b);
    assert_every_prefix_fails::<ProactiveCommand>(&b);
}

#[test]
fn refresh_with_file_list_and_aid() {
    let mut r = Refresh::new(2, RefreshMode::FileChangeNotification);
    r.file_list = Some(FileList::new(vec![
        FilePath::from_fids(&[0x3F00, 0x2FE2]),
        FilePath::from_fids(&[0x3F00, 0x7FFF, 0x6F07]),
    ]));
    r.aid = Some(Aid(bytes("A0000000871002FF")));
    let b = r.to_command().encode();
    assert_eq!(hex::encode(&b), "d020810302010182028182920b023f002fe23f007fff6f07af08a0000000871002ff");
    let c = ProactiveCommand::decode_exact(&b).unwrap();
    assert_eq!(Refresh::from_command(&c).unwrap(), r);
    assert_eq!(c.file_list().unwrap().paths[1].fids().collect::<Vec<_>>(), [0x3F00, 0x7FFF, 0x6F07]);
}

#[test]
fn terminal_response_to_refresh() {
    // m2m.md §4.4: the TR to the REFRESH above, result 00.
    let b = bytes("81 03 01 01 04 82 02 82 81 83 01 00");
    let tr = TerminalResponse::decode_exact(&b).unwrap();
    assert_eq!(tr.encode(), b);
    assert_eq!(tr.result(), Some(&CommandResult::SUCCESS));
    assert_eq!(tr.device_identities().map(|d| d.source), Some(DeviceIdentity::Terminal));
    let details = *tr.command_details().unwrap();
    assert_eq!(TerminalResponse::new(details, CommandResult::SUCCESS), tr);
    let apdu = tr.to_apdu().unwrap();
    assert_eq!(hex::encode(apdu.encode()), format!("801400000c{}", hex::encode(&b)));
    let back = TerminalResponse::from_apdu(&CommandApdu::decode_exact(&apdu.encode()).unwrap()).unwrap();
    assert_eq!(back, tr);
    assert_every_prefix_fails::<TerminalResponse>(&b);
    // A result with additional information: terminal busy (20) on a call (02).
    let tr = TerminalResponse::new(
        details,
        CommandResult { general: GeneralResult::TerminalUnableNow, additional_info: vec![2] },
    );
    assert_eq!(hex::encode(tr.encode()), "8103010104820282818302 2002".replace(' ', ""));
}

#[test]
fn envelope_format_vector_with_the_pysim_address() {
    let Some(v) = vector("pysim-docs/smpp2sim/envelope-format") else { return };
    let b = bytes(v["expected"].as_str().unwrap());
    let e = Envelope::decode_exact(&b).unwrap();
    assert_eq!(e.encode(), b);
    assert_eq!(e.tag, EnvelopeTag::SmsPpDownload);
    let d = SmsPpDownload::from_envelope(&e).unwrap();
    assert_eq!(d.device_identities, DeviceIdentities::new(DeviceIdentity::Network, DeviceIdentity::Uicc));
    // pySim dropped the odd last digit of "0123456" and the extension bit: decoded as it is.
    let a = d.address.as_ref().unwrap();
    assert_eq!((a.ton_npi, a.bcd.as_slice(), a.digits().as_str()), (0x00, &[0x10, 0x32, 0x54][..], "012345"));
    assert_eq!(d.tpdu.0.len(), 0x3B);
    assert_eq!(d.tpdu.0[..4], [0x40, 0x02, 0x90, 0x21]);
    // Canonical rebuild gives the same bytes (CR set on all three objects, minimal lengths).
    assert_eq!(d.to_envelope().encode(), b);
    let apdu = d.to_apdu().unwrap();
    assert_eq!((apdu.case(), apdu.cla.0, apdu.ins), (ApduCase::Case3Short, 0x80, 0xC2));
    assert_eq!(apdu.encode()[..5], [0x80, 0xC2, 0x00, 0x00, 0x49]);
    assert_eq!(Envelope::from_apdu(&apdu).unwrap(), e);
    assert_every_prefix_fails::<Envelope>(&b);
}

#[test]
fn real_card_envelope_apdu_data() {
    let Some(v) = vector("asterix/test_SPI1531/real-card-command") else { return };
    let b = bytes(v["envelope_apdu_data"].as_str().unwrap());
    let e = Envelope::decode_exact(&b).unwrap();
    assert_eq!(e.encode(), b);
    let d = SmsPpDownload::from_envelope(&e).unwrap();
    assert!(d.address.is_none());
    // The TPDU ends with the secured command packet of the same vector.
    let packet = bytes(v["expected"].as_str().unwrap());
    assert!(d.tpdu.0.ends_with(&packet));
}

#[test]
fn real_card_send_short_message() {
    let Some(v) = vector("asterix/test_SPI1531/real-card-PoR") else { return };
    let b = bytes(v["proactive_command"].as_str().unwrap());
    let c = ProactiveCommand::decode_exact(&b).unwrap();
    assert_eq!(c.encode(), b);
    let Proactive::SendShortMessage(s) = c.interpret().unwrap() else { panic!("not SEND SHORT MESSAGE") };
    assert_eq!(s.command_details, CommandDetails::new(1, CommandType::SendShortMessage, 0));
    assert!(!s.packing_required());
    assert_eq!(s.device_identities, DeviceIdentities::new(DeviceIdentity::Uicc, DeviceIdentity::Network));
    assert_eq!(s.alpha_identifier, Some(AlphaIdentifier(vec![])));
    assert!(s.address.is_none());
    // SMS-SUBMIT 41 00 03 81 19F0 …, its user data ends with the PoR of the same vector.
    assert_eq!(s.tpdu.0[..6], [0x41, 0x00, 0x03, 0x81, 0x19, 0xF0]);
    assert!(s.tpdu.0.ends_with(&bytes(v["input_user_data"].as_str().unwrap())));
    assert_eq!(s.to_command().encode(), b);
    assert_every_prefix_fails::<ProactiveCommand>(&b);
    // JSON → value → JSON is stable.
    let j = serde_json::to_string(&c).unwrap();
    let back: ProactiveCommand = serde_json::from_str(&j).unwrap();
    assert_eq!(back, c);
    assert_eq!(serde_json::to_string(&back).unwrap(), j);
}

#[test]
fn objects_keep_their_wire_form() {
    // Three-byte tag with CR for command details, non-minimal length on an SMS TPDU, unknown icon identifier.
    let b = bytes("7F8001 03 011300 8B8103 010203 9E02 0001");
    let mut r = crate::Reader::new(&b);
    let objects = read_objects(&mut r).unwrap();
    assert!(objects[0].three_byte && objects[0].cr);
    assert!(matches!(objects[0].value, SimpleValue::CommandDetails(_)));
    assert_eq!(objects[1].len_form, LenForm::Long(1));
    assert_eq!(objects[2].value, SimpleValue::Unknown { tag: 0x1E, value: vec![0, 1] });
    let mut out = Vec::new();
    write_objects(&objects, &mut out);
    assert_eq!(out, b);
}

#[test]
fn address_digits() {
    let a = Address::international("0123456").unwrap();
    assert_eq!((a.ton_npi, a.bcd.as_slice()), (0x91, &[0x10, 0x32, 0x54, 0xF6][..]));
    assert_eq!(a.digits(), "0123456");
    assert_eq!(
        (a.type_of_number(), a.numbering_plan()),
        (TypeOfNumber::International, NumberingPlan::IsdnTelephony)
    );
    let j = serde_json::to_string(&a).unwrap();
    assert_eq!(j, r#"{"ton_npi":"91","bcd":"103254f6","digits":"0123456"}"#);
    // The digits field is output only.
    assert_eq!(serde_json::from_str::<Address>(&j).unwrap(), a);
    assert_eq!(serde_json::from_str::<Address>(r#"{"ton_npi":"91","bcd":"103254f6"}"#).unwrap(), a);
    assert!(Address::international("12x").is_err());
}

#[test]
fn codes_and_names() {
    assert_eq!(GeneralResult::from_u8(0x32).name(), Some("command data not understood by terminal"));
    assert!(GeneralResult::PerformedSuccessfully.is_performed());
    assert!(GeneralResult::TerminalUnableNow.is_temporary_problem());
    assert!(GeneralResult::TypeNotUnderstood.is_permanent_problem());
    assert_eq!(GeneralResult::from_u8(0x7F), GeneralResult::Other(0x7F));
    assert_eq!(CommandType::from_u8(0x13).name(), Some("SEND SHORT MESSAGE"));
    for q in 0..=0x0Au8 {
        assert!(RefreshMode::from_u8(q).name().is_some(), "{q}");
    }
    assert_eq!(RefreshMode::from_u8(0x0B), RefreshMode::Other(0x0B));
    let d = CommandDetails::new(1, CommandType::SendShortMessage, 1);
    assert_eq!(d.qualifier_name(), Some("SMS packing by the terminal required"));
    assert_eq!(d.refresh_mode(), None);
    assert_eq!(CommandDetails::new(1, CommandType::DisplayText, 0x80).qualifier_name(), None);
    assert_eq!(serde_json::to_string(&GeneralResult::Other(0x7F)).unwrap(), "127");
    assert_eq!(serde_json::to_string(&DeviceIdentity::Uicc).unwrap(), "\"uicc\"");
}

#[test]
fn errors_with_offsets() {
    let err = |b: &[u8]| ProactiveCommand::decode_exact(b).unwrap_err();
    let e = err(&bytes("D1 03 81 01 00"));
    assert_eq!(
        (e.offset, e.kind),
        (0, DecodeErrorKind::UnexpectedTag { expected: "proactive command tag D0", found: 0xD1 })
    );
    // Command details one byte too long.
    let e = err(&bytes("D0 06 81 04 01 01 04 00"));
    assert_eq!(
        (e.offset, e.kind),
        (7, DecodeErrorKind::TrailingBytes { what: "simple TLV value", count: 1 })
    );
    // Device identities one byte short.
    let e = err(&bytes("D0 08 81 03 01 01 04 82 01 81"));
    assert_eq!(e.offset, 9);
    assert!(matches!(e.kind, DecodeErrorKind::Truncated { expected: "device identities", .. }));
    // Object length beyond the template.
    let e = err(&bytes("D0 05 81 05 01 01 04"));
    assert_eq!((e.offset, matches!(e.kind, DecodeErrorKind::LengthOverflow { .. })), (3, true));
    // File list whose first path does not start at the MF.
    let e = err(&bytes("D0 0E 81 03 01 01 01 82 02 81 82 92 03 01 7F 20"));
    assert_eq!(
        (e.offset, e.kind),
        (14, DecodeErrorKind::Invalid { what: "file list", reason: "a path must start with the MF 3F00" })
    );
    let e = err(&bytes("D0 0D 81 03 01 01 01 82 02 81 82 92 02 01 3F"));
    assert_eq!(e.offset, 14);
    // Envelope tags.
    let e = Envelope::decode_exact(&bytes("D0 00")).unwrap_err();
    assert_eq!(
        e.kind,
        DecodeErrorKind::UnexpectedTag { expected: "ENVELOPE template tag D1-DF", found: 0xD0 }
    );
    // TERMINAL RESPONSE without result.
    let e = TerminalResponse::decode_exact(&bytes("81 03 01 01 04 82 02 82 81")).unwrap_err();
    assert_eq!(
        (e.offset, e.kind),
        (0, DecodeErrorKind::Invalid { what: "TERMINAL RESPONSE", reason: "no result object" })
    );
    // ENVELOPE APDU: wrong INS, and an error inside the template reported at its place in the APDU.
    let a = CommandApdu::decode_exact(&bytes("80 14 00 00 02 D1 00")).unwrap();
    assert_eq!(Envelope::from_apdu(&a).unwrap_err().offset, 1);
    let a = CommandApdu::decode_exact(&bytes("80 C2 00 00 04 D1 02 82 01")).unwrap();
    let e = Envelope::from_apdu(&a).unwrap_err();
    assert_eq!((e.offset, matches!(e.kind, DecodeErrorKind::LengthOverflow { .. })), (8, true));
    // Views refuse what they are not.
    let c = Refresh::new(1, RefreshMode::NaaInit).to_command();
    assert!(SendShortMessage::from_command(&c).is_err());
    let e = Envelope::new(EnvelopeTag::EventDownload, vec![]);
    assert!(SmsPpDownload::from_envelope(&e).is_err());
    assert!(ProactiveCommand::new(vec![]).interpret().is_err());
    let other = ProactiveCommand::new(vec![SimpleTlv::required(SimpleValue::CommandDetails(
        CommandDetails::new(1, CommandType::DisplayText, 0),
    ))]);
    assert_eq!(other.interpret().unwrap(), Proactive::Other(other.clone()));
}

pub(super) fn arb_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn arb_value() -> impl Strategy<Value = SimpleValue> {
    prop_oneof![
        (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(n, t, q)| SimpleValue::CommandDetails(
            CommandDetails::new(n, CommandType::from_u8(t), q)
        )),
        (any::<u8>(), any::<u8>()).prop_map(|(s, d)| SimpleValue::DeviceIdentities(DeviceIdentities::new(
            DeviceIdentity::from_u8(s),
            DeviceIdentity::from_u8(d)
        ))),
        (any::<u8>(), arb_bytes(4)).prop_map(|(g, additional_info)| SimpleValue::Result(CommandResult {
            general: GeneralResult::from_u8(g),
            additional_info
        })),
        (any::<u8>(), any::<u8>()).prop_map(|(u, interval)| SimpleValue::Duration(Duration {
            unit: TimeUnit::from_u8(u),
            interval
        })),
        arb_bytes(10).prop_map(|b| SimpleValue::AlphaIdentifier(AlphaIdentifier(b))),
        (any::<u8>(), arb_bytes(10))
            .prop_map(|(ton_npi, bcd)| SimpleValue::Address(Address { ton_npi, bcd })),
        arb_bytes(200).prop_map(|b| SimpleValue::SmsTpdu(SmsTpdu(b))),
        (any::<u8>(), any::<u8>())
            .prop_map(|(min, max)| SimpleValue::ResponseLength(ResponseLength { min, max })),
        (any::<u8>(), proptest::collection::vec(proptest::collection::vec(1u16..0x3F00, 0..3), 0..3))
            .prop_map(|(count, ps)| {
                let paths = ps
                    .into_iter()
                    .map(|p| FilePath::from_fids(&std::iter::once(0x3F00).chain(p).collect::<Vec<_>>()))
                    .collect();
                SimpleValue::FileList(FileList { count, paths })
            }),
        arb_bytes(16).prop_map(|b| SimpleValue::Aid(Aid(b))),
        (prop_oneof![0x07u16..=0x0A, 0x13u16..=0x1F, 0x30u16..=0x7FFF], arb_bytes(8))
            .prop_map(|(tag, value)| SimpleValue::Unknown { tag, value }),
    ]
}

pub(super) fn arb_tlv() -> impl Strategy<Value = SimpleTlv> {
    (arb_value(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(value, cr, three, long)| {
        let three_byte = three || value.tag() > 0x7E;
        SimpleTlv { cr, three_byte, len_form: if long { LenForm::Long(2) } else { LenForm::Minimal }, value }
    })
}

proptest! {
    #[test]
    fn proactive_typed_round_trip(objects in proptest::collection::vec(arb_tlv(), 0..6), long in any::<bool>()) {
        let mut body = Vec::new();
        write_objects(&objects, &mut body);
        // A two-octet length is non-minimal (and so kept as Long(2)) only below 256.
        let len_form = if long && body.len() < 0x100 { LenForm::Long(2) } else { LenForm::Minimal };
        let c = ProactiveCommand { len_form, objects };
        let b = c.encode();
        prop_assert_eq!(ProactiveCommand::decode_exact(&b).unwrap(), c.clone());
        let j = serde_json::to_string(&c).unwrap();
        prop_assert_eq!(serde_json::from_str::<ProactiveCommand>(&j).unwrap(), c);
    }

    #[test]
    fn envelope_typed_round_trip(objects in proptest::collection::vec(arb_tlv(), 0..6), tag in 0xD1u8..=0xDF) {
        let e = Envelope { tag: EnvelopeTag::from_u8(tag), len_form: LenForm::Minimal, objects };
        let b = e.encode();
        prop_assert_eq!(Envelope::decode_exact(&b).unwrap(), e.clone());
        let j = serde_json::to_string(&e).unwrap();
        prop_assert_eq!(serde_json::from_str::<Envelope>(&j).unwrap(), e);
    }

    #[test]
    fn views_round_trip(
        n in any::<u8>(),
        q in any::<u8>(),
        tpdu in arb_bytes(150),
        alpha in proptest::option::of(arb_bytes(8)),
        digits in proptest::option::of("[0-9]{1,12}"),
    ) {
        let mut s = SendShortMessage::new(n, tpdu.clone());
        s.command_details.qualifier = q;
        s.alpha_identifier = alpha.map(AlphaIdentifier);
        s.address = digits.as_deref().map(|d| Address::international(d).unwrap());
        let c = ProactiveCommand::decode_exact(&s.to_command().encode()).unwrap();
        prop_assert_eq!(c.interpret().unwrap(), Proactive::SendShortMessage(s));
        let d = SmsPpDownload::new(digits.as_deref().map(|d| Address::international(d).unwrap()), tpdu);
        let e = Envelope::from_apdu(&CommandApdu::decode_exact(&d.to_apdu().unwrap().encode()).unwrap()).unwrap();
        prop_assert_eq!(SmsPpDownload::from_envelope(&e).unwrap(), d);
    }

    #[test]
    fn bytes_round_trip(b in arb_bytes(48), t in prop_oneof![Just(0xD0u8), Just(0xD1)]) {
        let mut framed = vec![t, u8::try_from(b.len()).unwrap()];
        framed.extend_from_slice(&b);
        if let Ok(c) = ProactiveCommand::decode_exact(&framed) {
            prop_assert_eq!(c.encode(), framed.clone());
        }
        if let Ok(e) = Envelope::decode_exact(&framed) {
            prop_assert_eq!(e.encode(), framed.clone());
        }
        if let Ok(tr) = TerminalResponse::decode_exact(&b) {
            prop_assert_eq!(tr.encode(), b);
        }
    }
}

/// The layers of a real SMS-PP download, all the way down: ENVELOPE → SMS-DELIVER → secured command packet,
/// and of a real SEND SHORT MESSAGE: proactive command → SMS-SUBMIT → PoR user data.
#[test]
fn envelope_and_send_short_message_layers() {
    use crate::ota::{CommandPacket, ResponseUserData, Transport};
    let env = hex::decode(
        "d147820283818604001032548b3b400290217ff6227052000000002d02700000281516191212b0000127fa28a5\
         bac69d3c5e9df2c7155dfdde449c826b236215566530787b30e8be5d",
    )
    .unwrap();
    let e = Envelope::decode_exact(&env).unwrap();
    let dl = SmsPpDownload::from_envelope(&e).unwrap();
    let deliver = dl.tpdu.deliver().unwrap();
    let ud = &deliver.user_data;
    assert!(ud.header.as_ref().unwrap().has_command_packet());
    let packet = CommandPacket::decode_for(Transport::SmsPp, &ud.body).unwrap();
    assert_eq!(packet.header.tar.0, [0xB0, 0x00, 0x01]);
    assert_eq!(packet.cpl(), 0x28);
    // Rebuilding from the typed DELIVER gives the same envelope.
    let again = SmsPpDownload { tpdu: SmsTpdu::from_deliver(&deliver), ..dl };
    assert_eq!(again.to_envelope().encode(), env);

    let pc = hex::decode(
        "d04781030113008202818305008b3a4100038119f000f631027100002c0ec00000888b39c361c66d5f3dc4efcef5\
         08cc228021dd34e577b147e54eff18b3922c9176644e2e8aa9a695",
    )
    .unwrap();
    let p = ProactiveCommand::decode_exact(&pc).unwrap();
    let sms = p.objects.iter().find_map(|o| match &o.value {
        SimpleValue::SmsTpdu(t) => Some(t.clone()),
        _ => None,
    });
    let submit = sms.unwrap().submit().unwrap();
    let por = ResponseUserData::decode_exact(&submit.user_data.ud_octets()).unwrap();
    assert_eq!(por.packet.tar.0, [0xC0, 0x00, 0x00]);
}

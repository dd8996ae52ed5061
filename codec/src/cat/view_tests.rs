//! The zero-copy views of the receive path (`EnvelopeRef` → `SmsPpDownloadRef` → `DeliverRef` →
//! `CommandPacketRef`, with `SubmitRef`, `UdhRef`, `SimpleTlvRef`) against the owned decoders: the
//! `envelope-format-only` and `sms-codec` vectors of `../shared/vectors/scp80_vectors.json`, every truncation
//! and single-byte tamper of them, errors with their offsets, and property tests on typed and arbitrary
//! inputs. Agreement means the same value (via `to_owned`) and bytes, or the same error kind and offset.

use proptest::prelude::*;
use serde_json::Value;

use super::tests::{arb_bytes, arb_tlv};
use super::*;
use crate::fuzzing::{agree, views};
use crate::ota::{CommandHeader, CommandPacket, CommandPacketRef, Kic, Kid, Spi, Tar, Transport};
use crate::sms::{Deliver, DeliverRef, Ie, Submit, SubmitRef, Udh, UdhRef, UserData};
use crate::testdata::shared_file;
use crate::tlv::LenForm;
use crate::{Decode, DecodeErrorKind, DecodeRef, Encode};

fn vectors(direction: &str) -> Option<Vec<Value>> {
    let path = shared_file("vectors/scp80_vectors.json")?;
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    Some(v["vectors"].as_array().unwrap().iter().filter(|x| x["direction"] == direction).cloned().collect())
}

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn envelope_vector() -> Option<Vec<u8>> {
    let vs = vectors("envelope-format-only")?;
    assert_eq!(vs.len(), 1, "one envelope-format-only vector");
    Some(hx(&vs[0]["expected"]))
}

fn within(outer: &[u8], inner: &[u8]) -> bool {
    outer.as_ptr_range().contains(&inner.as_ptr()) && inner.as_ptr_range().end <= outer.as_ptr_range().end
}

#[test]
fn envelope_vector_layer_by_layer() {
    let Some(env) = envelope_vector() else { return };
    // D1 47 | 82 02 83 81 | 86 04 00 103254 | 8B 3B <SMS-DELIVER>
    let view = EnvelopeRef::decode_exact(&env).unwrap();
    let owned = Envelope::decode_exact(&env).unwrap();
    assert_eq!(view.to_owned(), owned);
    assert_eq!(view.encode(), env);
    assert_eq!(view.encoded_len(), env.len());
    assert_eq!((view.tag, view.len_form), (EnvelopeTag::SmsPpDownload, LenForm::Minimal));
    let objects: Vec<SimpleTlvRef<'_>> = view.objects().iter().collect();
    assert_eq!(objects.len(), 3);
    assert!(objects.iter().all(|o| o.cr && !o.three_byte));
    assert_eq!(objects.iter().map(|o| o.value.tag()).collect::<Vec<_>>(), [0x02, 0x06, 0x0B]);
    for (o, x) in objects.iter().zip(&owned.objects) {
        assert_eq!(&o.to_owned(), x);
        assert_eq!(o.encode(), x.encode());
    }

    let dl = SmsPpDownloadRef::from_envelope(&view).unwrap();
    assert_eq!(dl.to_owned(), SmsPpDownload::from_envelope(&owned).unwrap());
    assert_eq!(dl.device_identities, DeviceIdentities::new(DeviceIdentity::Network, DeviceIdentity::Uicc));
    assert_eq!(dl.address, Some(AddressRef { ton_npi: 0x00, bcd: &env[9..12] }));
    assert_eq!(dl.address.as_ref().unwrap().to_owned().digits(), "012345");
    assert_eq!(dl.tpdu, &env[14..]);

    let d = dl.deliver().unwrap();
    assert_eq!(d.to_owned(), owned.sms_tpdu().unwrap().deliver().unwrap());
    assert!(d.udhi() && d.user_data.header.as_ref().unwrap().has_command_packet());
    assert_eq!(
        d.user_data.header.as_ref().unwrap().ies().map(|ie| ie.to_owned()).collect::<Vec<_>>(),
        [Ie::CommandPacket]
    );
    assert_eq!(d.originator.to_string(), "12");
    let payload = d.user_data.payload(d.dcs);
    assert_eq!(payload, d.user_data.body);

    let p = CommandPacketRef::decode_for(Transport::SmsPp, payload).unwrap();
    let po = CommandPacket::decode_for(Transport::SmsPp, payload).unwrap();
    assert_eq!(p.to_owned(), po);
    assert_eq!(p.encode(), payload);
    assert_eq!((p.cpl(), p.chl, p.header.tar), (0x28, 0x15, Tar([0xB0, 0x00, 0x01])));
    // Zero copy: every borrowed field points into the envelope.
    assert!(within(&env, dl.tpdu) && within(&env, d.user_data.body) && within(&env, p.secured));
    views(&env);
}

#[test]
fn envelope_vector_truncations_agree_with_offsets() {
    let Some(env) = envelope_vector() else { return };
    for i in 0..env.len() {
        let e = EnvelopeRef::decode_exact(&env[..i]).unwrap_err();
        assert_eq!(Envelope::decode_exact(&env[..i]).unwrap_err(), e, "prefix {i}");
        views(&env[..i]);
    }
    // Cut inside the address object: the template length 0x47 overflows, reported at its length octet.
    let e = EnvelopeRef::decode_exact(&env[..10]).unwrap_err();
    assert_eq!(e.offset, 1);
    assert_eq!(
        e.kind,
        DecodeErrorKind::LengthOverflow { what: "CAT template value", length: 0x47, remaining: 8 }
    );
    let tpdu = &env[14..];
    for i in 0..tpdu.len() {
        let e = DeliverRef::decode_exact(&tpdu[..i]).unwrap_err();
        assert_eq!(Deliver::decode_exact(&tpdu[..i]).unwrap_err(), e, "TPDU prefix {i}");
    }
    // TPDU cut in the TP-SCTS (first octet, TP-OA 02 90 21, PID, DCS, then 7 octets at 6).
    let e = DeliverRef::decode_exact(&tpdu[..9]).unwrap_err();
    assert_eq!(
        (e.offset, e.kind),
        (6, DecodeErrorKind::Truncated { expected: "TP-SCTS", needed: 4, remaining: 3 })
    );
    let packet = &tpdu[17..];
    for i in 0..packet.len() {
        let e = CommandPacketRef::decode_for(Transport::SmsPp, &packet[..i]).unwrap_err();
        assert_eq!(
            CommandPacket::decode_for(Transport::SmsPp, &packet[..i]).unwrap_err(),
            e,
            "packet prefix {i}"
        );
    }
}

#[test]
fn envelope_vector_tampers_agree() {
    let Some(env) = envelope_vector() else { return };
    for i in 0..env.len() {
        for x in [0x01u8, 0x40, 0x80, 0xFF] {
            let mut t = env.clone();
            t[i] ^= x;
            views(&t);
        }
    }
    // TP-UDL (TPDU offset 13) one too long: the UD overflows, reported at the UDL, by both decoders.
    let mut t = env[14..].to_vec();
    t[13] += 1;
    let e = DeliverRef::decode_exact(&t).unwrap_err();
    assert_eq!(Deliver::decode_exact(&t).unwrap_err(), e);
    assert_eq!(
        (e.offset, e.kind),
        (13, DecodeErrorKind::LengthOverflow { what: "TP-UD (TP-UDL)", length: 0x2E, remaining: 0x2D })
    );
    // CPL one too long: reported at the CPL (offset 0 of the packet).
    let mut p = env[31..].to_vec();
    p[1] += 1;
    let e = CommandPacketRef::decode_for(Transport::SmsPp, &p).unwrap_err();
    assert_eq!(CommandPacket::decode_for(Transport::SmsPp, &p).unwrap_err(), e);
    assert_eq!(
        (e.offset, e.kind),
        (0, DecodeErrorKind::LengthOverflow { what: "command packet", length: 0x29, remaining: 0x28 })
    );
    // Not an SMS-PP download: the same error from both typed views.
    let mut t = env.clone();
    t[0] = 0xD2;
    let v = EnvelopeRef::decode_exact(&t).unwrap();
    let e = SmsPpDownloadRef::from_envelope(&v).unwrap_err();
    assert_eq!(SmsPpDownload::from_envelope(&v.to_owned()).unwrap_err(), e);
    assert_eq!(e.offset, 0);
}

#[test]
fn sms_codec_vectors_agree() {
    let Some(vs) = vectors("sms-codec") else { return };
    let (mut udh, mut tpdus) = (0, 0);
    for v in &vs {
        let name = v["name"].as_str().unwrap();
        if name.contains("/udh/") {
            let input = hx(&v["input"]);
            let (view, used) = UdhRef::decode(&input).unwrap();
            assert_eq!(Udh::decode(&input).unwrap(), (view.to_owned(), used), "{name}");
            assert_eq!(view.encode(), input[..used], "{name}");
            assert_eq!(view.udhl() + 1, used, "{name}");
            if let Some(ies) = v["expected"]["ies"].as_array() {
                let got: Vec<(u64, String)> =
                    view.ies().map(|ie| (u64::from(ie.iei), hex::encode(ie.data))).collect();
                let want: Vec<(u64, String)> = ies
                    .iter()
                    .map(|x| (x["iei"].as_u64().unwrap(), x["value"].as_str().unwrap().to_owned()))
                    .collect();
                assert_eq!(got, want, "{name}");
            }
            for i in 0..used {
                let e = UdhRef::decode(&input[..i]).unwrap_err();
                assert_eq!(Udh::decode(&input[..i]).unwrap_err(), e, "{name} prefix {i}");
            }
            udh += 1;
        } else if name.contains("/sms_deliver/") || name.contains("/sms_submit/") {
            let input = hx(&v["input"]);
            let deliver = name.contains("/sms_deliver/");
            let ok = if deliver {
                agree(&input, DeliverRef::decode_exact, Deliver::decode_exact, DeliverRef::to_owned).is_some()
            } else {
                agree(&input, SubmitRef::decode_exact, Submit::decode_exact, SubmitRef::to_owned).is_some()
            };
            assert!(ok, "{name} decodes");
            for i in 0..input.len() {
                let decoded = if deliver {
                    agree(&input[..i], DeliverRef::decode_exact, Deliver::decode_exact, DeliverRef::to_owned)
                        .is_some()
                } else {
                    agree(&input[..i], SubmitRef::decode_exact, Submit::decode_exact, SubmitRef::to_owned)
                        .is_some()
                };
                assert!(!decoded, "{name} prefix {i} decoded");
            }
            views(&input);
            tpdus += 1;
        }
        // The address vectors have no view to compare: `sms::Address` is fixed-size and allocation-free.
    }
    assert_eq!((udh, tpdus), (5, 2), "every UDH and TPDU vector of sms-codec");
}

/// A typed SMS-PP download of a command packet: the envelope, its SMS-DELIVER and its packet.
fn arb_download() -> impl Strategy<Value = (SmsPpDownload, Deliver, CommandPacket)> {
    (
        (any::<[u8; 2]>(), any::<u8>(), any::<u8>(), any::<[u8; 3]>(), 0usize..=16, arb_bytes(120)),
        ("[0-9]{0,20}", proptest::option::of("[0-9]{1,20}"), any::<u8>(), any::<[u8; 7]>()),
        proptest::collection::vec((0x80u8..0xFF, arb_bytes(4)), 0..3),
    )
        .prop_filter_map(
            "fits one SMS",
            |((spi, kic, kid, tar, rc, mut secured), (oa, sc, pid, scts), extra)| {
                secured.resize(secured.len().max(6 + rc), 0);
                let header = CommandHeader { spi: Spi(spi), kic: Kic(kic), kid: Kid(kid), tar: Tar(tar) };
                let packet = CommandPacket::new(Transport::SmsPp, header, rc, secured).ok()?;
                let mut ies = vec![Ie::CommandPacket];
                ies.extend(extra.into_iter().map(|(iei, data)| Ie::Other { iei, data }));
                let ud = UserData::octets(Some(Udh(ies)), packet.encode()).ok()?;
                let oa = crate::sms::Address::from_digits(0x91, &oa).ok()?;
                let d =
                    Deliver::new(oa, crate::sms::Pid(pid), crate::sms::Dcs(0xF6), crate::sms::Scts(scts), ud);
                let sc = sc.map(|s| Address::international(&s)).transpose().ok()?;
                Some((SmsPpDownload::new(sc, d.encode()), d, packet))
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Typed → bytes → views: each view's `to_owned` is the typed value; every prefix of the envelope fails
    /// in both decoders alike; a single-byte change agrees too.
    #[test]
    fn typed_downloads_through_the_views(
        (dl, d, p) in arb_download(),
        at in any::<prop::sample::Index>(),
        x in 1u8..=255,
    ) {
        let env = dl.to_envelope().encode();
        let view = EnvelopeRef::decode_exact(&env).unwrap();
        let dv = SmsPpDownloadRef::from_envelope(&view).unwrap();
        prop_assert_eq!(&dv.to_owned(), &dl);
        let dr = dv.deliver().unwrap();
        prop_assert_eq!(&dr.to_owned(), &d);
        let pr = CommandPacketRef::decode_for(Transport::SmsPp, dr.user_data.payload(dr.dcs)).unwrap();
        prop_assert_eq!(&pr.to_owned(), &p);
        prop_assert!(within(&env, pr.secured));
        views(&env);
        for i in 0..env.len() {
            prop_assert!(agree(&env[..i], EnvelopeRef::decode_exact, Envelope::decode_exact, EnvelopeRef::to_owned).is_none());
        }
        let mut t = env.clone();
        let i = at.index(t.len());
        t[i] ^= x;
        views(&t);
    }

    /// Any objects in any envelope template, with short and long length forms.
    #[test]
    fn typed_envelopes_through_the_view(objects in proptest::collection::vec(arb_tlv(), 0..6), tag in 0xD1u8..=0xDF, long in any::<bool>()) {
        let mut body = Vec::new();
        write_objects(&objects, &mut body);
        let len_form = if long && body.len() < 0x100 { LenForm::Long(2) } else { LenForm::Minimal };
        let e = Envelope { tag: EnvelopeTag::from_u8(tag), len_form, objects };
        let b = e.encode();
        let v = agree(&b, EnvelopeRef::decode_exact, Envelope::decode_exact, EnvelopeRef::to_owned).unwrap();
        prop_assert_eq!(v.to_owned(), e.clone());
        prop_assert_eq!(v.encode(), b.clone());
        prop_assert_eq!(v.objects().iter().count(), e.objects.len());
        for (o, x) in v.objects().iter().zip(&e.objects) {
            prop_assert_eq!(&o.to_owned(), x);
            prop_assert_eq!(o.encode(), x.encode());
        }
        prop_assert_eq!(v.device_identities(), e.device_identities().copied());
        prop_assert_eq!(v.address().map(|a| a.to_owned()), e.address().cloned());
        prop_assert_eq!(v.sms_tpdu(), e.sms_tpdu().map(|t| &t.0[..]));
        views(&b);
    }

    /// Arbitrary bytes: the views and the owned decoders agree on every layer (`fuzzing::views`).
    #[test]
    fn arbitrary_bytes_agree(b in proptest::collection::vec(any::<u8>(), 0..200)) {
        views(&b);
        // The same bytes as the objects of an SMS-PP download template.
        let mut e = vec![0xD1];
        crate::tlv::write_len(&mut e, b.len(), LenForm::Minimal);
        e.extend_from_slice(&b);
        views(&e);
    }
}

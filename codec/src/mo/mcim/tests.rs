use proptest::prelude::*;

use super::*;
use crate::error::DecodeErrorKind;
use crate::tlv::LenForm;
use crate::tlv::ber::{BerTlv, Tag};

fn plaintext() -> McimPlaintext {
    let mut p = McimPlaintext::milenage(
        EfImsi::from_digits("001010123456789").unwrap(),
        SecretBytes::new(hex::decode("465b5ce8b199b49faa5f0a2ee238a6bc").unwrap()),
        SecretBytes::new(hex::decode("cd63cb71954a9f4e48a5994e37a02baf").unwrap()),
    );
    p.msisdn = Some(crate::sim::bcd::encode("491701234567").unwrap());
    p.plmn_list = Some(vec![PlmnId::new("001", "01").unwrap(), PlmnId::new("262", "01").unwrap()]);
    p
}

fn package() -> ProtectedPackage {
    let mut p = ProtectedPackage::header(
        ProtectionAlg::EciesP256Aes128Gcm,
        [0xA1; 32],
        EfIccid::from_digits("8949001000000000017").unwrap(),
        PlmnId::new("001", "01").unwrap(),
    );
    p.ephemeral_key = std::iter::once(0x04).chain(std::iter::repeat_n(0x55, 64)).collect();
    p.nonce = vec![0x0C; 12];
    p.ciphertext = vec![0xC7; 70];
    p.tag = vec![0x7A; 16];
    p
}

#[test]
fn plaintext_known_bytes() {
    let p = McimPlaintext::milenage(
        EfImsi::from_digits("001010123456789").unwrap(),
        SecretBytes::new([0x11; 16]),
        SecretBytes::new([0x22; 16]),
    );
    let b = p.encode();
    let want = concat!(
        "a032",
        "8009080910101032547698",
        "811011111111111111111111111111111111",
        "820101",
        "831022222222222222222222222222222222",
    );
    assert_eq!(hex::encode(&b), want);
    assert_eq!(McimPlaintext::decode_exact(&b).unwrap(), p);
}

#[test]
fn package_layout_aad_and_signed_data() {
    let mut p = package();
    let b = p.encode();
    // 30 81 LL | 80 01 01 | 81 01 01 | 82 20 … | 83 0a … | 84 03 00f110 | 85 41 … | 86 0c … | 87 46 … | 88 10 …
    assert_eq!(&b[..3], &[0x30, 0x81, (b.len() - 3) as u8]);
    assert_eq!(&b[3..9], &[0x80, 0x01, 0x01, 0x81, 0x01, 0x01]);
    let aad = p.aad();
    assert_eq!(aad.len(), 3 + 3 + 34 + 12 + 5 + 67 + 14);
    assert_eq!(&b[3..3 + aad.len()], &aad[..]);
    assert_eq!(b[3 + aad.len()], 0x87);
    assert_eq!(p.signed_data(), b[3..].to_vec());
    assert_eq!(ProtectedPackage::decode_exact(&b).unwrap(), p);
    p.signature = Some(vec![0x51; 64]);
    let b = p.encode();
    assert_eq!(&b[b.len() - 66..b.len() - 64], &[0x89, 0x40]);
    // 228 + 66 content bytes: the length is now 82 01 26.
    assert_eq!(&b[..4], &[0x30, 0x82, 0x01, 0x26]);
    assert_eq!(p.signed_data(), b[4..b.len() - 66].to_vec());
    assert_eq!(ProtectedPackage::decode_exact(&b).unwrap(), p);
}

#[test]
fn unknown_items_and_long_lengths_survive_and_are_covered() {
    let mut b = package().encode();
    // Insert an unknown item 9F20 01 EE after 86 (so before 87: inside the AAD), and re-write 80's length
    // in the long form 81 01.
    let pos87 = 3 + package().aad().len();
    b.splice(pos87..pos87, [0x9F, 0x20, 0x01, 0xEE]);
    b.splice(4..5, [0x81, 0x01]);
    b[2] += 5;
    let p = ProtectedPackage::decode_exact(&b).unwrap();
    assert_eq!(p.encode(), b);
    assert_eq!(p.layout.extra.len(), 1);
    assert_eq!(p.layout.extra[0].after, Some(tag::NONCE));
    assert_eq!(p.layout.extra[0].tlv, BerTlv::primitive(Tag::from_bytes(&[0x9F, 0x20]).unwrap(), [0xEE]));
    assert_eq!(p.layout.len_form(tag::VERSION), LenForm::Long(1));
    let aad = p.aad();
    assert!(aad.ends_with(&[0x9F, 0x20, 0x01, 0xEE]));
    assert_eq!(&aad[..4], &[0x80, 0x81, 0x01, 0x01]);
    // JSON keeps the layout.
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(serde_json::from_str::<ProtectedPackage>(&json).unwrap(), p);
}

#[test]
fn truncation_at_every_byte_is_an_error() {
    let mut pk = package();
    pk.signature = Some(vec![1; 64]);
    for b in [pk.encode(), plaintext().encode()] {
        ProtectedPackage::decode_exact(&b)
            .or_else(|_| McimPlaintext::decode_exact(&b).map(|_| package()))
            .unwrap();
        for i in 0..b.len() {
            assert!(ProtectedPackage::decode_exact(&b[..i]).is_err(), "package prefix {i}");
            assert!(McimPlaintext::decode_exact(&b[..i]).is_err(), "plaintext prefix {i}");
        }
    }
}

#[test]
fn errors_name_the_field_and_offset() {
    let b = package().encode();
    // Wrong outer tag.
    let mut x = b.clone();
    x[0] = 0x31;
    let e = ProtectedPackage::decode_exact(&x).unwrap_err();
    assert_eq!(
        (e.offset, e.kind),
        (0, DecodeErrorKind::UnexpectedTag { expected: "protected MCIM package (30)", found: 0x31 })
    );
    // Outer length beyond the input.
    let mut x = b.clone();
    x[2] += 1;
    let e = ProtectedPackage::decode_exact(&x).unwrap_err();
    assert_eq!(e.offset, 1);
    assert!(matches!(e.kind, DecodeErrorKind::LengthOverflow { .. }), "{e}");
    // PfCRef of 31 bytes: 30 81 LL | 80 01 01 | 81 01 01 | 82 1f …
    let mut x = b.clone();
    x[10] = 0x1F;
    x.remove(11);
    x[2] -= 1;
    let e = ProtectedPackage::decode_exact(&x).unwrap_err();
    assert_eq!(e.offset, 11);
    assert_eq!(e.to_string(), "at byte 11: invalid PfCRef (82): must be 32 bytes");
    // A missing mandatory field: drop 81 (bytes 6..9): expected where 82 now starts.
    let mut x = b.clone();
    x.drain(6..9);
    x[2] -= 3;
    let e = ProtectedPackage::decode_exact(&x).unwrap_err();
    assert_eq!(e.to_string(), "at byte 6: invalid package algorithm (81): mandatory field missing");
    // Out of order: swap 80 and 81.
    let mut x = b.clone();
    x[3..9].copy_from_slice(&[0x81, 0x01, 0x01, 0x80, 0x01, 0x01]);
    let e = ProtectedPackage::decode_exact(&x).unwrap_err();
    assert_eq!((e.offset, e.to_string().contains("out of the defined order")), (6, true));
    // MCIMID with a digit after the filler: 82 starts at 9, 83 at 43, value at 45.
    let mut x = b.clone();
    assert_eq!(x[43], 0x83);
    x[54] = 0x1F;
    assert!(ProtectedPackage::decode_exact(&x).is_err());
    // IMSI field of the plaintext of 8 bytes.
    let p = plaintext().encode();
    let mut x = p.clone();
    x[3] = 8;
    x.remove(4);
    x[1] -= 1;
    let e = McimPlaintext::decode_exact(&x).unwrap_err();
    assert_eq!(e.to_string(), "at byte 4: invalid IMSI (80): must be the 9 bytes of EF_IMSI");
    // K of 15 bytes.
    let mut x = p.clone();
    assert_eq!(x[13], 0x81);
    x[14] = 15;
    x.remove(15);
    x[1] -= 1;
    let e = McimPlaintext::decode_exact(&x).unwrap_err();
    assert_eq!(e.to_string(), "at byte 15: invalid K (81): must be 16 or 32 bytes");
    // PLMN list not a multiple of 3.
    let mut q = plaintext();
    q.plmn_list = None;
    q.policy = Some(vec![]);
    let mut x = q.encode();
    x.splice(x.len() - 2..x.len() - 2, [0x8A, 0x02, 0x00, 0xF1]);
    x[1] += 4;
    let e = McimPlaintext::decode_exact(&x).unwrap_err();
    assert!(e.to_string().contains("PLMN list (8A): must be a multiple of 3 bytes"), "{e}");
}

#[test]
fn keys_never_print() {
    let p = plaintext();
    let dbg = format!("{p:?}");
    assert!(dbg.contains("<redacted>"));
    assert!(!dbg.contains("465b5ce8") && !dbg.contains("70, 91, 92"), "{dbg}");
    assert_eq!(SecretBytes::new([1, 2]), SecretBytes::new([1, 2]));
    assert_ne!(SecretBytes::new([1, 2]), SecretBytes::new([1, 3]));
    // The JSON form is a key file (hex), and reads back.
    let json = serde_json::to_string(&p).unwrap();
    assert!(json.contains("\"k\":\"465b5ce8b199b49faa5f0a2ee238a6bc\""), "{json}");
    assert_eq!(serde_json::from_str::<McimPlaintext>(&json).unwrap(), p);
    assert_eq!(p.msisdn_digits().as_deref(), Some("491701234567"));
}

#[test]
fn milenage_defaults() {
    assert_eq!(MILENAGE_DEFAULT_ROTATION, [64, 0, 32, 64, 96]);
    let x = milenage_default_xoring();
    assert_eq!((x[15], x[31], x[47], x[63], x[79]), (0, 1, 2, 4, 8));
    assert_eq!(x.iter().filter(|b| **b != 0).count(), 4);
}

fn arb_key() -> impl Strategy<Value = SecretBytes> {
    prop_oneof![any::<[u8; 16]>().prop_map(SecretBytes::new), any::<[u8; 32]>().prop_map(SecretBytes::new)]
}

fn arb_plaintext() -> impl Strategy<Value = McimPlaintext> {
    (
        "[0-9]{0,15}",
        arb_key(),
        any::<u8>(),
        arb_key(),
        proptest::option::of(any::<[u8; 5]>()),
        proptest::option::of(Just(milenage_default_xoring())),
        (
            proptest::option::of(any::<u8>()),
            proptest::option::of(any::<[u8; 6]>()),
            proptest::option::of(any::<[u8; 6]>()),
        ),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..12)),
        proptest::option::of(proptest::collection::vec(any::<[u8; 3]>().prop_map(PlmnId), 0..4)),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
    )
        .prop_map(|(imsi, k, alg, opc, rot, xor, (opts, delta, age), msisdn, plmns, policy)| {
            let mut p = McimPlaintext::milenage(EfImsi::from_digits(&imsi).unwrap(), k, opc);
            p.algorithm_id = AkaAlgorithm::from_u8(alg);
            p.rotation_constants = rot;
            p.xoring_constants = xor;
            p.sqn_options = opts;
            p.sqn_delta = delta;
            p.sqn_age_limit = age;
            p.msisdn = msisdn;
            p.plmn_list = plmns;
            p.policy = policy;
            p
        })
}

fn arb_package() -> impl Strategy<Value = ProtectedPackage> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<[u8; 32]>(),
        "[0-9]{0,20}",
        any::<[u8; 3]>(),
        proptest::collection::vec(any::<u8>(), 0..70),
        proptest::collection::vec(any::<u8>(), 0..16),
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::collection::vec(any::<u8>(), 0..32),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..72)),
    )
        .prop_map(|(v, alg, pfc, id, sho, eph, nonce, ct, tag, sig)| {
            let mut p = ProtectedPackage::header(
                ProtectionAlg::from_u8(alg),
                pfc,
                EfIccid::from_digits(&id).unwrap(),
                PlmnId(sho),
            );
            p.version = v;
            p.ephemeral_key = eph;
            p.nonce = nonce;
            p.ciphertext = ct;
            p.tag = tag;
            p.signature = sig;
            p
        })
}

proptest! {
    #[test]
    fn plaintext_typed_round_trip(p in arb_plaintext()) {
        prop_assert_eq!(McimPlaintext::decode_exact(&p.encode()).unwrap(), p);
    }

    #[test]
    fn package_typed_round_trip(p in arb_package()) {
        let b = p.encode();
        let back = ProtectedPackage::decode_exact(&b).unwrap();
        prop_assert_eq!(&back, &p);
        prop_assert_eq!(back.aad(), p.aad());
    }

    #[test]
    fn package_with_long_forms_and_extras_round_trip(p in arb_package(), n in 3u8..=4, after in 0usize..11) {
        let mut p = p;
        // In the order a decoder records them: the container's length first.
        p.layout.lengths.push(layout::LengthForm { tag: tag::PACKAGE, form: LenForm::Long(n) });
        p.layout.lengths.push(layout::LengthForm { tag: tag::NONCE, form: LenForm::Long(n) });
        let after = PACKAGE_FIELDS.get(after).map(|(t, _)| *t).filter(|t| *t != tag::SIGNATURE || p.signature.is_some());
        if after.is_none_or(|a| a != tag::SIGNATURE) {
            p.layout.extra.push(layout::ExtraItem { after, tlv: BerTlv::primitive(Tag::one(0x9E), [1, 2]) });
        }
        let b = p.encode();
        prop_assert_eq!(ProtectedPackage::decode_exact(&b).unwrap(), p);
    }

    #[test]
    fn bytes_round_trip(b in proptest::collection::vec(any::<u8>(), 0..160)) {
        if let Ok(p) = ProtectedPackage::decode_exact(&b) {
            prop_assert_eq!(p.encode(), b.clone());
        }
        if let Ok(p) = McimPlaintext::decode_exact(&b) {
            prop_assert_eq!(p.encode(), b);
        }
    }

    #[test]
    fn mutated_encodings_round_trip_or_fail(p in arb_package(), q in arb_plaintext(), i in any::<prop::sample::Index>(), x in any::<u8>()) {
        for mut b in [p.encode(), q.encode()] {
            let i = i.index(b.len());
            b[i] = x;
            if let Ok(v) = ProtectedPackage::decode_exact(&b) {
                prop_assert_eq!(v.encode(), b.clone());
            }
            if let Ok(v) = McimPlaintext::decode_exact(&b) {
                prop_assert_eq!(v.encode(), b.clone());
            }
        }
    }
}

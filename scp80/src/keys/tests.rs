use super::*;
use crate::crypto::{NullProvider, RustCryptoProvider};

const P: RustCryptoProvider = RustCryptoProvider;

fn key(s: &str) -> SecretKey {
    SecretKey::from_hex(s).unwrap()
}

fn kvn(n: u8) -> Kvn {
    Kvn::new(n).unwrap()
}

const AES_KEY: &str = "200102030405060708090a0b0c0d0e0f";
const AES_KID: &str = "201102030405060708090a0b0c0d0e0f";

#[test]
fn secret_key_from_hex() {
    assert_eq!(key("0A:0b 0C\n0d").expose_secret(), [0x0A, 0x0B, 0x0C, 0x0D]);
    assert_eq!(key(&"ab".repeat(32)).len(), 32);
    for (text, reason) in [
        ("", "empty key"),
        ("  ", "empty key"),
        ("abc", "odd number of hex digits"),
        ("zz", "not a hex digit"),
        ("0x12", "not a hex digit"),
        (&"00".repeat(33), "longer than 32 bytes"),
    ] {
        assert_eq!(SecretKey::from_hex(text).unwrap_err(), CryptoError::InvalidKey { reason }, "{text:?}");
    }
    assert!(SecretKey::from_slice(&[]).is_err());
    assert!(SecretKey::from_slice(&[0; 33]).is_err());
    assert_eq!(SecretKey::from_slice(&[1, 2, 3]).unwrap(), key("010203"));
}

#[test]
fn secret_key_is_redacted_and_compared_in_constant_time() {
    let k = key(AES_KEY);
    assert_eq!(format!("{k:?}"), "SecretKey(<redacted>)");
    assert_eq!(format!("{:?}", Some(k.clone())), "Some(SecretKey(<redacted>))");
    assert_eq!(k, key(AES_KEY));
    assert_ne!(k, key(AES_KID));
    assert_ne!(k, key(&AES_KEY[..30]));
    assert!(bool::from(k.ct_eq(&k.clone())));
    // Parity-insensitive comparison: only the low bit of each byte may differ.
    let a = key("0123456789abcdef");
    let b = key("0022446688aaccee");
    assert_ne!(a, b);
    assert!(bool::from(a.ct_eq_des(&b)));
    assert!(!bool::from(a.ct_eq_des(&key("0223456789abcdef"))));
    assert!(!bool::from(a.ct_eq_des(&key("0123456789abcd"))));
    // Deserialised from hex; there is no Serialize (the value cannot reach JSON by accident).
    let k2: SecretKey = serde_json::from_str(&format!("\"{AES_KEY}\"")).unwrap();
    assert_eq!(k2, k);
    let err = serde_json::from_str::<SecretKey>("\"00112233445566778899aabbccddeefg\"").unwrap_err();
    assert!(!err.to_string().contains("0011223344"), "{err}");
}

#[test]
fn kvn_range() {
    assert!(Kvn::new(0).is_err());
    assert_eq!(Kvn::new(1).unwrap().get(), 1);
    assert_eq!(Kvn::new(15).unwrap().get(), 15);
    assert_eq!(Kvn::new(16).unwrap_err(), CryptoError::InvalidKvn(16));
    assert_eq!(Kvn::of_key_byte(0x35).unwrap(), kvn(3));
    assert!(Kvn::of_key_byte(0x05).is_err());
    assert_eq!(serde_json::to_string(&kvn(7)).unwrap(), "7");
    assert!(serde_json::from_str::<Kvn>("0").is_err());
}

#[test]
fn key_specs_check_lengths_and_ignore_des_parity() {
    let err = CipherKeySpec::new(CipherAlgorithm::DesCbc, key(AES_KEY)).unwrap_err();
    assert_eq!(err.to_string(), "DES-CBC needs a key of 8 bytes, got 16");
    let a =
        CipherKeySpec::new(CipherAlgorithm::TripleDes2Cbc, key("0123456789abcdef0123456789abcdef")).unwrap();
    let b =
        CipherKeySpec::new(CipherAlgorithm::TripleDes2Cbc, key("0022446688aaccee0022446688aaccee")).unwrap();
    assert_eq!(a, b);
    // Not for AES, where every bit counts.
    let c = CipherKeySpec::new(CipherAlgorithm::AesCbc, key("0123456789abcdef0123456789abcdef")).unwrap();
    let d = CipherKeySpec::new(CipherAlgorithm::AesCbc, key("0022446688aaccee0022446688aaccee")).unwrap();
    assert_ne!(c, d);
    let m1 = ChecksumKeySpec::new(ChecksumAlgorithm::DesMac, Some(key("0123456789abcdef"))).unwrap();
    let m2 = ChecksumKeySpec::new(ChecksumAlgorithm::DesMac, Some(key("0022446688aaccee"))).unwrap();
    assert_eq!(m1, m2);
    assert_eq!(
        ChecksumKeySpec::new(ChecksumAlgorithm::Crc32, Some(key("00"))).unwrap_err(),
        CryptoError::UnexpectedKey { algorithm: "CRC32" }
    );
    assert_eq!(
        ChecksumKeySpec::new(ChecksumAlgorithm::TdesMac2, None).unwrap_err(),
        CryptoError::MissingKey { algorithm: "3DES-2key CBC-MAC" }
    );
    assert_eq!(ChecksumKeySpec::new(ChecksumAlgorithm::Crc16, None).unwrap().key(), None);
}

fn aes_keyset(provider: &dyn SecurityProvider) -> Keyset {
    Keyset::new(
        provider,
        KeysetSpec {
            kvn: kvn(2),
            kic: CipherKeySpec::new(CipherAlgorithm::AesCbc, key(AES_KEY)).unwrap(),
            kid: ChecksumKeySpec::new(ChecksumAlgorithm::AesCmac { len: CmacLen::Eight }, Some(key(AES_KID)))
                .unwrap(),
            kik: None,
        },
    )
    .unwrap()
}

#[test]
fn keyset_resolves_kic_and_kid_bytes() {
    let ks = aes_keyset(&P);
    assert_eq!(ks.kvn(), kvn(2));
    assert_eq!(ks.kic_byte(), 0x22);
    assert_eq!(ks.kid_byte(), 0x22);
    assert!(ks.kik().is_none());
    assert_eq!(ks.cipher_for_kic(0x22).unwrap().algorithm(), CipherAlgorithm::AesCbc);
    // Implicit algorithm: the keyset's.
    assert_eq!(ks.cipher_for_kic(0x20).unwrap().algorithm(), CipherAlgorithm::AesCbc);
    assert_eq!(
        ks.cipher_for_kic(0x32).unwrap_err(),
        CryptoError::KvnMismatch { field: "KIc", kvn: 2, requested: 3 }
    );
    assert_eq!(
        ks.cipher_for_kic(0x25).unwrap_err(),
        CryptoError::AlgorithmMismatch { field: "KIc", configured: "AES-CBC", requested: "3DES-2key-CBC" }
    );
    assert!(matches!(ks.cipher_for_kic(0x26), Err(CryptoError::ReservedCoding { .. })));

    let cc = ChecksumKind::CryptographicChecksum;
    let rc = ChecksumKind::RedundancyCheck;
    let check = ks.checksum_for_kid(0x22, cc).unwrap();
    assert_eq!(check.algorithm(), ChecksumAlgorithm::AesCmac { len: CmacLen::Eight });
    assert_eq!(check.field_len(), 8);
    assert_eq!(ks.checksum_for_kid(0x20, cc).unwrap().field_len(), 8);
    assert!(matches!(ks.checksum_for_kid(0x12, cc), Err(CryptoError::KvnMismatch { field: "KID", .. })));
    assert!(matches!(ks.checksum_for_kid(0x25, cc), Err(CryptoError::AlgorithmMismatch { .. })));
    // RC is keyless: available whatever the KID holds, and whatever the KVN nibble says.
    assert_eq!(ks.checksum_for_kid(0x21, rc).unwrap().algorithm(), ChecksumAlgorithm::Crc16);
    assert_eq!(ks.checksum_for_kid(0x15, rc).unwrap().algorithm(), ChecksumAlgorithm::Crc32);
    assert!(matches!(ks.checksum_for_kid(0x20, rc), Err(CryptoError::AlgorithmMismatch { .. })));
    assert!(matches!(ks.checksum_for_kid(0x22, rc), Err(CryptoError::ReservedCoding { .. })));
    assert!(matches!(
        ks.checksum_for_kid(0x22, ChecksumKind::DigitalSignature),
        Err(CryptoError::Unsupported { .. })
    ));

    // The expanded keys give the same results as one-shot calls.
    let mut a = vec![0x42u8; 48];
    let mut b = a.clone();
    ks.cipher_for_kic(0x22).unwrap().encrypt(&mut a).unwrap();
    P.encrypt(CipherAlgorithm::AesCbc, &key(AES_KEY), &mut b).unwrap();
    assert_eq!(a, b);
    let m = ks.checksum_for_kid(0x22, cc).unwrap().compute(&[&a]);
    P.verify_checksum(
        ChecksumAlgorithm::AesCmac { len: CmacLen::Eight },
        Some(&key(AES_KID)),
        &[&a],
        m.as_bytes(),
    )
    .unwrap();
}

#[test]
fn keyset_with_crc_kid_serves_implicit_rc() {
    let ks = Keyset::new(
        &P,
        KeysetSpec {
            kvn: kvn(1),
            kic: CipherKeySpec::new(CipherAlgorithm::TripleDes2Cbc, key(AES_KEY)).unwrap(),
            kid: ChecksumKeySpec::new(ChecksumAlgorithm::Crc32, None).unwrap(),
            kik: None,
        },
    )
    .unwrap();
    assert_eq!(ks.kid_byte(), 0x15);
    let rc = ks.checksum_for_kid(0x10, ChecksumKind::RedundancyCheck).unwrap();
    assert_eq!(rc.algorithm(), ChecksumAlgorithm::Crc32);
    assert!(matches!(
        ks.checksum_for_kid(0x10, ChecksumKind::CryptographicChecksum),
        Err(CryptoError::AlgorithmMismatch { .. })
    ));
    assert!(matches!(
        ks.checksum_for_kid(0x15, ChecksumKind::CryptographicChecksum),
        Err(CryptoError::AlgorithmMismatch { .. })
    ));
}

#[test]
fn keyset_debug_is_redacted() {
    let text = format!("{:?}", aes_keyset(&P));
    assert!(!text.contains("200102") && !text.contains("32, 1, 2"), "{text}");
    assert!(text.contains("redacted"));
    let null = aes_keyset(&NullProvider);
    assert_eq!(null.checksum_for_kid(0x22, ChecksumKind::CryptographicChecksum).unwrap().field_len(), 8);
}

const GOOD_FILE: &str = r#"
# Two keysets for one test card.
[[keyset]]
kvn = 1
kic = { algorithm = "aes", key = "000102030405060708090a0b0c0d0e0f" }
kid = { algorithm = "aes-cmac", key = "101112131415161718191A1B1C1D1E1F", mac_len = 4 }
kik = { algorithm = "3des2", key = "20 21 22 23 24 25 26 27 28 29 2a 2b 2c 2d 2e 2f" }

[[keyset]]
kvn = 3
kic = { algorithm = "3des3", key = "000102030405060708090a0b0c0d0e0f1011121314151617" }
kid = { algorithm = "crc32" }

[[keyset]]
kvn = 15
kic = { algorithm = "des-ecb", key = "0123456789abcdef" }
kid = { algorithm = "des-mac", key = "0123456789abcdef" }
kik = { algorithm = "des", key = "0123456789abcdef" }

[[keyset]]
kvn = 4
kic = { algorithm = "aes", key = "000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f" }
kid = { algorithm = "3des2-mac", key = "000102030405060708090a0b0c0d0e0f" }

[[keyset]]
kvn = 5
kic = { algorithm = "des", key = "0123456789abcdef" }
kid = { algorithm = "3des3-mac", key = "000102030405060708090a0b0c0d0e0f1011121314151617" }

[[keyset]]
kvn = 6
kic = { algorithm = "aes", key = "000102030405060708090a0b0c0d0e0f1011121314151617" }
kid = { algorithm = "crc16" }
"#;

#[test]
fn good_key_file() {
    let sets = Keysets::from_toml(GOOD_FILE, &P).unwrap();
    assert_eq!(sets.len(), 6);
    assert_eq!(sets.iter().map(|k| k.kvn().get()).collect::<Vec<_>>(), [1, 3, 4, 5, 6, 15]);
    let one = sets.get(kvn(1)).unwrap();
    assert_eq!(one.kic().spec().algorithm(), CipherAlgorithm::AesCbc);
    assert_eq!(one.kic().spec().key(), &key("000102030405060708090a0b0c0d0e0f"));
    assert_eq!(one.kid().spec().algorithm(), ChecksumAlgorithm::AesCmac { len: CmacLen::Four });
    assert_eq!(one.kid().checksum().field_len(), 4);
    assert_eq!(one.kik().unwrap().spec().algorithm(), CipherAlgorithm::TripleDes2Cbc);
    assert_eq!(one.kik().unwrap().spec().key(), &key("202122232425262728292a2b2c2d2e2f"));
    assert_eq!((one.kic_byte(), one.kid_byte()), (0x12, 0x12));
    let three = sets.for_key_byte(0x39).unwrap();
    assert_eq!((three.kic_byte(), three.kid_byte()), (0x39, 0x35));
    let fifteen = sets.get(kvn(15)).unwrap();
    assert_eq!((fifteen.kic_byte(), fifteen.kid_byte()), (0xFD, 0xF1));
    assert_eq!(fifteen.kik().unwrap().spec().algorithm(), CipherAlgorithm::DesCbc);
    assert_eq!(sets.get(kvn(4)).unwrap().kid_byte(), 0x45);
    assert_eq!(sets.get(kvn(5)).unwrap().kid_byte(), 0x59);
    assert_eq!(sets.get(kvn(6)).unwrap().kid_byte(), 0x61);
    assert!(sets.get(kvn(2)).is_none());
    assert!(sets.for_key_byte(0x05).is_none());
    // The names the file uses are the inverse of the parser's.
    for ks in sets.iter() {
        assert!(cipher_file_name(ks.kic().spec().algorithm()).is_some());
        assert!(checksum_file_name(ks.kid().spec().algorithm()).is_some());
    }
    assert!(Keysets::from_toml("", &P).unwrap().is_empty());
}

#[test]
fn key_file_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.toml");
    std::fs::write(&path, GOOD_FILE).unwrap();
    assert_eq!(Keysets::load(&path, &P).unwrap().len(), 6);
    let missing = dir.path().join("nope.toml");
    let err = Keysets::load(&missing, &P).unwrap_err();
    assert!(matches!(err, KeyFileError::Io { .. }));
    assert!(err.to_string().contains("nope.toml"), "{err}");
}

fn bad(text: &str) -> KeyFileError {
    Keysets::from_toml(text, &P).unwrap_err()
}

const K16: &str = "000102030405060708090a0b0c0d0e0f";

#[test]
fn bad_key_files() {
    let header = "# comment\n\n[[keyset]]\n";
    let kid = format!("kid = {{ algorithm = \"aes-cmac\", key = \"{K16}\" }}\n");
    let kic = format!("kic = {{ algorithm = \"aes\", key = \"{K16}\" }}\n");

    // Wrong key length for the algorithm, with the line of the keyset.
    let e = bad(&format!("{header}kvn = 1\nkic = {{ algorithm = \"des\", key = \"{K16}\" }}\n{kid}"));
    assert!(
        matches!(
            e,
            KeyFileError::Key { line: 3, index: 1, field: "kic", source: CryptoError::KeyLength { .. } }
        ),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "key file line 3 (keyset #1): kic: DES-CBC needs a key of 8 bytes, got 16");
    // KVN out of range.
    for v in ["0", "16", "300", "-1"] {
        let e = bad(&format!("{header}kvn = {v}\n{kic}{kid}"));
        assert!(matches!(e, KeyFileError::Invalid { field: "kvn", .. }), "{v}: {e:?}");
    }
    // Unknown algorithm.
    let e = bad(&format!("{header}kvn = 1\nkic = {{ algorithm = \"aes-256\", key = \"{K16}\" }}\n{kid}"));
    assert!(
        matches!(&e, KeyFileError::UnknownAlgorithm { field: "kic", name, .. } if name == "aes-256"),
        "{e:?}"
    );
    let e = bad(&format!("{header}kvn = 1\n{kic}kid = {{ algorithm = \"aes\", key = \"{K16}\" }}\n"));
    assert!(matches!(&e, KeyFileError::UnknownAlgorithm { field: "kid", .. }), "{e:?}");
    // mac_len rules.
    let e = bad(&format!(
        "{header}kvn = 1\n{kic}kid = {{ algorithm = \"aes-cmac\", key = \"{K16}\", mac_len = 6 }}\n"
    ));
    assert!(
        matches!(e, KeyFileError::Invalid { field: "kid", reason: "mac_len must be 4 or 8", .. }),
        "{e:?}"
    );
    let e = bad(&format!("{header}kvn = 1\n{kic}kid = {{ algorithm = \"crc32\", mac_len = 4 }}\n"));
    assert!(matches!(e, KeyFileError::Invalid { field: "kid", .. }), "{e:?}");
    let e = bad(&format!(
        "{header}kvn = 1\nkic = {{ algorithm = \"aes\", key = \"{K16}\", mac_len = 8 }}\n{kid}"
    ));
    assert!(matches!(e, KeyFileError::Invalid { field: "kic", .. }), "{e:?}");
    // Keys missing or superfluous.
    let e = bad(&format!("{header}kvn = 1\nkic = {{ algorithm = \"aes\" }}\n{kid}"));
    assert!(
        matches!(e, KeyFileError::Key { field: "kic", source: CryptoError::MissingKey { .. }, .. }),
        "{e:?}"
    );
    let e = bad(&format!("{header}kvn = 1\n{kic}kid = {{ algorithm = \"aes-cmac\" }}\n"));
    assert!(
        matches!(e, KeyFileError::Key { field: "kid", source: CryptoError::MissingKey { .. }, .. }),
        "{e:?}"
    );
    let e = bad(&format!("{header}kvn = 1\n{kic}kid = {{ algorithm = \"crc16\", key = \"{K16}\" }}\n"));
    assert!(matches!(e, KeyFileError::Key { source: CryptoError::UnexpectedKey { .. }, .. }), "{e:?}");
    // Bad hex, without quoting it.
    let e =
        bad(&format!("{header}kvn = 1\nkic = {{ algorithm = \"aes\", key = \"{}zz\" }}\n{kid}", &K16[2..]));
    assert!(matches!(e, KeyFileError::Key { source: CryptoError::InvalidKey { .. }, .. }), "{e:?}");
    assert!(!e.to_string().contains("0203"), "{e}");
    // Bad KIK.
    let e = bad(&format!("{header}kvn = 1\n{kic}{kid}kik = {{ algorithm = \"3des3\", key = \"{K16}\" }}\n"));
    assert!(matches!(e, KeyFileError::Key { field: "kik", .. }), "{e:?}");
    // Duplicate KVN, reported at the second keyset.
    let one = format!("[[keyset]]\nkvn = 1\n{kic}{kid}");
    let e = bad(&format!("{one}\n{one}"));
    assert!(matches!(e, KeyFileError::DuplicateKvn { line: 6, index: 2, kvn: 1 }), "{e:?}");
    // Shape errors: unknown field, missing field, wrong type.
    let e = bad(&format!("{header}kvn = 1\n{kic}{kid}kic2 = 3\n"));
    assert!(matches!(e, KeyFileError::Syntax { .. }), "{e:?}");
    let e = bad(&format!(
        "{header}kvn = 1\n{kic}kid = {{ algorithm = \"aes-cmac\", key = \"{K16}\", len = 8 }}\n"
    ));
    assert!(matches!(e, KeyFileError::Syntax { .. }), "{e:?}");
    let e = bad(&format!("{header}{kic}{kid}"));
    assert!(matches!(&e, KeyFileError::Syntax { message, .. } if message.contains("kvn")), "{e:?}");
    let e = bad("[[keysets]]\nkvn = 1\n");
    assert!(matches!(e, KeyFileError::Syntax { line: 1, .. }), "{e:?}");
}

#[test]
fn syntax_errors_do_not_quote_key_lines() {
    // An unterminated string on a key line: the message gives line and column only.
    let text = format!("[[keyset]]\nkvn = 1\nkic = {{ algorithm = \"aes\", key = \"{K16} }}\n");
    let e = bad(&text);
    let KeyFileError::Syntax { line, column, .. } = &e else { panic!("{e:?}") };
    assert_eq!(*line, 3);
    assert!(*column > 1);
    let shown = e.to_string();
    assert!(!shown.contains("0405060708"), "{shown}");
    // A key placed where a number belongs.
    let e = bad(&format!("[[keyset]]\nkvn = \"{K16}\"\n"));
    assert!(matches!(e, KeyFileError::Syntax { line: 2, .. }), "{e:?}");
    assert!(!e.to_string().contains("0405060708"), "{e}");
}

#[test]
fn quoted_values_are_redacted() {
    assert_eq!(
        redact_quoted("invalid type: string \"0011\", expected i64"),
        "invalid type: string \"…\", expected i64"
    );
    // An unmatched quote redacts the rest.
    assert_eq!(redact_quoted("x \"k\" y \"z"), "x \"…\" y \"…");
    assert_eq!(redact_quoted("no quotes"), "no quotes");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    const CIPHERS: [(CipherAlgorithm, &[usize]); 7] = [
        (CipherAlgorithm::DesCbc, &[8]),
        (CipherAlgorithm::DesEcb, &[8]),
        (CipherAlgorithm::TripleDes2Ecb, &[16]),
        (CipherAlgorithm::TripleDes3Ecb, &[24]),
        (CipherAlgorithm::TripleDes2Cbc, &[16]),
        (CipherAlgorithm::TripleDes3Cbc, &[24]),
        (CipherAlgorithm::AesCbc, &[16, 24, 32]),
    ];
    const CHECKSUMS: [(ChecksumAlgorithm, &[usize]); 7] = [
        (ChecksumAlgorithm::DesMac, &[8]),
        (ChecksumAlgorithm::TdesMac2, &[16]),
        (ChecksumAlgorithm::TdesMac3, &[24]),
        (ChecksumAlgorithm::AesCmac { len: CmacLen::Eight }, &[16, 24, 32]),
        (ChecksumAlgorithm::AesCmac { len: CmacLen::Four }, &[16, 24, 32]),
        (ChecksumAlgorithm::Crc16, &[]),
        (ChecksumAlgorithm::Crc32, &[]),
    ];

    fn cipher_spec() -> impl Strategy<Value = CipherKeySpec> {
        (proptest::sample::select(CIPHERS.to_vec()), any::<prop::sample::Index>()).prop_flat_map(
            |((alg, lens), i)| {
                let len = lens[i.index(lens.len())];
                proptest::collection::vec(any::<u8>(), len)
                    .prop_map(move |k| CipherKeySpec::new(alg, SecretKey::from_slice(&k).unwrap()).unwrap())
            },
        )
    }

    fn checksum_spec() -> impl Strategy<Value = ChecksumKeySpec> {
        (proptest::sample::select(CHECKSUMS.to_vec()), any::<prop::sample::Index>()).prop_flat_map(
            |((alg, lens), i)| {
                let len = if lens.is_empty() { 0 } else { lens[i.index(lens.len())] };
                proptest::collection::vec(any::<u8>(), len).prop_map(move |k| {
                    let key = (!k.is_empty()).then(|| SecretKey::from_slice(&k).unwrap());
                    ChecksumKeySpec::new(alg, key).unwrap()
                })
            },
        )
    }

    fn render_key(k: &SecretKey, upper: bool) -> String {
        let h = hex::encode(k.expose_secret());
        if upper { h.to_uppercase() } else { h }
    }

    fn render(specs: &[KeysetSpec], upper: bool) -> String {
        let mut out = String::from("# generated\n");
        for s in specs {
            out.push_str(&format!("\n[[keyset]]\nkvn = {}\n", s.kvn.get()));
            let kic = &s.kic;
            out.push_str(&format!(
                "kic = {{ algorithm = \"{}\", key = \"{}\" }}\n",
                cipher_file_name(kic.algorithm()).unwrap(),
                render_key(kic.key(), upper)
            ));
            let kid = &s.kid;
            let mut line =
                format!("kid = {{ algorithm = \"{}\"", checksum_file_name(kid.algorithm()).unwrap());
            if let Some(k) = kid.key() {
                line.push_str(&format!(", key = \"{}\"", render_key(k, upper)));
            }
            if let ChecksumAlgorithm::AesCmac { len } = kid.algorithm() {
                line.push_str(&format!(", mac_len = {}", len.bytes()));
            }
            out.push_str(&line);
            out.push_str(" }\n");
            if let Some(kik) = &s.kik {
                out.push_str(&format!(
                    "kik = {{ algorithm = \"{}\", key = \"{}\" }}\n",
                    cipher_file_name(kik.algorithm()).unwrap(),
                    render_key(kik.key(), upper)
                ));
            }
        }
        out
    }

    proptest! {
        #[test]
        fn key_files_round_trip(
            kvns in proptest::sample::subsequence((1u8..=15).collect::<Vec<_>>(), 0..5),
            kics in proptest::collection::vec(cipher_spec(), 5),
            kids in proptest::collection::vec(checksum_spec(), 5),
            kiks in proptest::collection::vec(proptest::option::of(cipher_spec()), 5),
            upper in any::<bool>(),
        ) {
            let specs: Vec<KeysetSpec> = kvns
                .iter()
                .zip(kics)
                .zip(kids)
                .zip(kiks)
                .map(|(((k, kic), kid), kik)| KeysetSpec { kvn: kvn(*k), kic, kid, kik })
                .collect();
            let text = render(&specs, upper);
            let parsed: Vec<KeysetSpec> = parse_key_file(&text).unwrap().into_iter().map(|(_, _, s)| s).collect();
            prop_assert_eq!(&parsed, &specs);
            let sets = Keysets::from_toml(&text, &P).unwrap();
            prop_assert_eq!(sets.len(), specs.len());
        }

        #[test]
        fn arbitrary_key_files_never_panic(text in "\\PC{0,300}") {
            let _ = Keysets::from_toml(&text, &P);
        }

        #[test]
        fn near_miss_key_files_never_panic(cut in 0usize..400, byte in any::<u8>()) {
            // Damage a good file at one position (truncate or overwrite a byte).
            let mut bytes = GOOD_FILE.as_bytes().to_vec();
            let i = cut % bytes.len();
            let mut trunc = bytes.clone();
            trunc.truncate(i);
            if let Ok(t) = String::from_utf8(trunc) {
                let _ = Keysets::from_toml(&t, &P);
            }
            bytes[i] = byte;
            if let Ok(t) = String::from_utf8(bytes) {
                let _ = Keysets::from_toml(&t, &P);
            }
        }

        #[test]
        fn secret_key_hex_round_trips(bytes in proptest::collection::vec(any::<u8>(), 1..=32), junk in "\\PC{0,40}") {
            let k = SecretKey::from_hex(&hex::encode_upper(&bytes)).unwrap();
            prop_assert_eq!(k.expose_secret(), bytes.as_slice());
            let _ = SecretKey::from_hex(&junk);
        }
    }
}

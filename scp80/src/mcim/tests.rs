use std::convert::Infallible;

use m2msim_codec::mo::mcim::SecretBytes;
use m2msim_codec::sim::EfImsi;
use rand_core::{TryCryptoRng, TryRng};

use super::*;

/// A "random" source that replays fixed bytes (for known answers).
struct Replay(Vec<u8>, usize);

impl TryRng for Replay {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for d in dst {
            *d = self.0[self.1 % self.0.len()];
            self.1 += 1;
        }
        Ok(())
    }
}
impl TryCryptoRng for Replay {}

fn tre_key() -> SecretKey {
    SecretKey::from_slice(&[0x11; 32]).unwrap()
}
fn sho_key() -> SigningKey {
    SigningKey::from_slice(&[0x22; 32]).unwrap()
}
fn rng() -> Replay {
    let mut v = vec![0x33; 32];
    v.extend_from_slice(&[0x44; 12]);
    Replay(v, 0)
}
fn plaintext() -> McimPlaintext {
    McimPlaintext::milenage(
        EfImsi::from_digits("001010000000123").unwrap(),
        SecretBytes::new(hex::decode("465b5ce8b199b49faa5f0a2ee238a6bc").unwrap()),
        SecretBytes::new(hex::decode("cd63cb71954a9f4e48a5994e37a02baf").unwrap()),
    )
}
fn package(sign: bool) -> ProtectedPackage {
    let pfc = pfc_der(&tre_key().public_key());
    let s = sho_key();
    protect(
        &plaintext(),
        &pfc,
        EfIccid::from_digits("8900101000000000123").unwrap(),
        PlmnId::new("001", "01").unwrap(),
        sign.then_some(&s),
        &mut rng(),
    )
    .unwrap()
}

#[test]
fn pfc_is_spki_der() {
    let pfc = pfc_der(&tre_key().public_key());
    // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING 04 ‖ X ‖ Y }: 91 bytes.
    assert_eq!(pfc.len(), 91);
    assert_eq!(&pfc[..4], &[0x30, 0x59, 0x30, 0x13]);
    assert_eq!(&pfc[23..27], &[0x03, 0x42, 0x00, 0x04]);
    assert_eq!(pfc_public_key(&pfc), Some(tre_key().public_key()));
    assert_eq!(pfc_ref(&pfc).to_vec(), Sha256::digest(&pfc).to_vec());
    assert_eq!(pfc_public_key(&pfc[1..]), None);
}

/// Pinned bytes of the package for TRE key 11…11, ephemeral scalar 33…33 and nonce 44…44 (computed once
/// with this module, then checked piece by piece below with the crates' own APIs).
const KAT_UNSIGNED: &str = concat!(
    "3081d2800101810101822076805a63a6980c18075424a13f32772d02d7c71b4965754c1ce84f5841220327830a98000101",
    "0000000021f3840300f11085410451a7580833898ea1b183cbd7350a4099078c6ef1c1e18e970cd7683035f25e7d011052",
    "2712b0b5a7cff081685486984a94e6831edac46e7360fa9d834a7a81a1860c444444444444444444444444873486bf9726",
    "0336b5a93e3eedb026cd5d59b93922fb8c4719688a1bf95bff2e7db3ea2427d5cc573fe170caf6fe150ba02f321d3c6888",
    "1036a0cde9492f44de5847255f05d1d4f5",
);

#[test]
fn known_answer_and_pieces() {
    let pkg = package(false);
    let b = pkg.encode();
    // The ephemeral key is 33…33 · G.
    let eph = SecretKey::from_slice(&[0x33; 32]).unwrap();
    assert_eq!(pkg.ephemeral_key, sec1_uncompressed(&eph.public_key()));
    assert_eq!(pkg.nonce, vec![0x44; 12]);
    // The ECDH secret through p256's free function equals the one computed from the TRE's side.
    let z1 = p256::ecdh::diffie_hellman(eph.to_nonzero_scalar(), tre_key().public_key().as_affine());
    let z2 = tre_key().diffie_hellman(&eph.public_key());
    assert_eq!(z1.raw_secret_bytes(), z2.raw_secret_bytes());
    // The content key and GCM computed independently give the same ciphertext and tag.
    let pfc = pfc_der(&tre_key().public_key());
    let mut info = b"M2MSIM-MCIM v1".to_vec();
    info.extend_from_slice(&pfc_ref(&pfc));
    info.extend_from_slice(&hex::decode("980001010000000021f3").unwrap());
    let mut k = [0u8; 16];
    Hkdf::<Sha256>::new(Some(&pkg.ephemeral_key), z1.raw_secret_bytes()).expand(&info, &mut k).unwrap();
    let mut aad = Vec::new();
    aad.extend_from_slice(&[0x80, 1, 1, 0x81, 1, 1, 0x82, 32]);
    aad.extend_from_slice(&pfc_ref(&pfc));
    aad.extend_from_slice(&hex::decode("830a980001010000000021f3").unwrap());
    aad.extend_from_slice(&hex::decode("840300f110").unwrap());
    aad.extend_from_slice(&[0x85, 65]);
    aad.extend_from_slice(&pkg.ephemeral_key);
    aad.extend_from_slice(&[0x86, 12]);
    aad.extend_from_slice(&[0x44; 12]);
    assert_eq!(pkg.aad(), aad);
    let ct = Aes128Gcm::new_from_slice(&k)
        .unwrap()
        .encrypt(&Nonce::from([0x44; 12]), Payload { msg: &plaintext().encode(), aad: &aad })
        .unwrap();
    assert_eq!([pkg.ciphertext.clone(), pkg.tag.clone()].concat(), ct);
    // Pinned.
    assert_eq!(hex::encode(&b), KAT_UNSIGNED);
    // And it opens.
    assert_eq!(unprotect_bytes(&b, &tre_key(), Verifier::default()).unwrap(), plaintext());
}

/// RFC 5869 test case 1 through the hkdf crate (the KDF this module relies on).
#[test]
fn hkdf_rfc5869_case_1() {
    let ikm = [0x0b; 22];
    let salt = hex::decode("000102030405060708090a0b0c").unwrap();
    let info = hex::decode("f0f1f2f3f4f5f6f7f8f9").unwrap();
    let mut okm = [0u8; 42];
    Hkdf::<Sha256>::new(Some(&salt), &ikm).expand(&info, &mut okm).unwrap();
    assert_eq!(
        hex::encode(okm),
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    );
}

/// NIST GCM test case 4 of the GCM specification (AES-128, 12-byte IV, AAD), through aes-gcm.
#[test]
fn gcm_spec_test_case_4() {
    let key = hex::decode("feffe9928665731c6d6a8f9467308308").unwrap();
    let iv = hex::decode("cafebabefacedbaddecaf888").unwrap();
    let pt = hex::decode("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39").unwrap();
    let aad = hex::decode("feedfacedeadbeeffeedfacedeadbeefabaddad2").unwrap();
    let out = Aes128Gcm::new_from_slice(&key)
        .unwrap()
        .encrypt(&Nonce::try_from(&iv[..]).unwrap(), Payload { msg: &pt, aad: &aad })
        .unwrap();
    assert_eq!(
        hex::encode(out),
        "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091\
         5bc94fbc3221a5db94fae95ae7121a47"
    );
}

#[test]
fn signed_package_verifies_and_requires_the_key() {
    let pkg = package(true);
    let vk = VerifyingKey::from(&sho_key());
    let sig = pkg.signature.clone().unwrap();
    assert_eq!(sig.len(), 64);
    let v = Verifier { sho_key: Some(&vk), require_signature: true, prov_ctx: None };
    assert_eq!(unprotect(&pkg, &tre_key(), v).unwrap(), plaintext());
    assert_eq!(
        unprotect(&pkg, &tre_key(), Verifier::default()),
        Err(UnprotectError::Signature("no SHO key to verify it"))
    );
    let other = VerifyingKey::from(&SigningKey::from_slice(&[0x23; 32]).unwrap());
    let e = unprotect(
        &pkg,
        &tre_key(),
        Verifier { sho_key: Some(&other), require_signature: false, prov_ctx: None },
    )
    .unwrap_err();
    assert_eq!(e.result_code(), ResultCode::IntegrityFailure);
    let unsigned = package(false);
    assert_eq!(unprotect(&unsigned, &tre_key(), v), Err(UnprotectError::Signature("missing")));
}

#[test]
fn other_tre_is_403() {
    let pkg = package(false);
    let other = SecretKey::from_slice(&[0x12; 32]).unwrap();
    let e = unprotect(&pkg, &other, Verifier::default()).unwrap_err();
    assert_eq!(e.result_code().code(), 403);
}

#[test]
fn package_other_than_the_provisioning_context_announced_is_405() {
    let pkg = package(false);
    let mut ctx = McimProvCtx::new(pkg.sho_id);
    fn with(ctx: &McimProvCtx) -> Verifier<'_> {
        Verifier { prov_ctx: Some(ctx), ..Verifier::default() }
    }
    assert_eq!(
        unprotect(&pkg, &tre_key(), with(&ctx)).unwrap(),
        plaintext(),
        "same SHO, no MCIMID announced"
    );
    ctx.mcim_id = Some(pkg.mcim_id.clone());
    assert_eq!(unprotect(&pkg, &tre_key(), with(&ctx)).unwrap(), plaintext(), "the MCIMID announced");
    ctx.mcim_id = Some(EfIccid::from_digits("8949001000000000017").unwrap());
    let e = unprotect(&pkg, &tre_key(), with(&ctx)).unwrap_err();
    assert_eq!(
        (e.result_code().code(), e),
        (405, UnprotectError::Policy("MCIMID differs from the one the provisioning context announced"))
    );
    let other_sho = McimProvCtx::new(PlmnId::new("001", "99").unwrap());
    let e = unprotect(&pkg, &tre_key(), with(&other_sho)).unwrap_err();
    assert_eq!(
        (e.result_code().code(), e),
        (405, UnprotectError::Policy("SHOID differs from the provisioning context's"))
    );
    // PfCRef comes first: another TRE's package from another SHO is 403.
    let other = SecretKey::from_slice(&[0x12; 32]).unwrap();
    assert_eq!(unprotect(&pkg, &other, with(&other_sho)).unwrap_err().result_code().code(), 403);
}

/// Flip every byte of the encoded package: each gives the Result code its field calls for, never success
/// and never a panic.
#[test]
fn tamper_every_byte() {
    let vk = VerifyingKey::from(&sho_key());
    for signed in [false, true] {
        let b = package(signed).encode();
        let verifier = Verifier { sho_key: signed.then_some(&vk), require_signature: false, prov_ctx: None };
        let pkg = ProtectedPackage::decode_exact(&b).unwrap();
        // Where each field's value starts and ends (header sizes: outer 30 81|82 LL).
        let hdr = if b[1] == 0x82 { 4 } else { 3 };
        let mut spans = Vec::new();
        let mut at = hdr;
        let values: Vec<(u8, usize)> = [
            (0x80, 1),
            (0x81, 1),
            (0x82, 32),
            (0x83, 10),
            (0x84, 3),
            (0x85, 65),
            (0x86, 12),
            (0x87, pkg.ciphertext.len()),
            (0x88, 16),
        ]
        .into_iter()
        .chain(signed.then_some((0x89, 64)))
        .collect();
        for (t, n) in values {
            spans.push((t, at + 2, at + 2 + n));
            at += 2 + n;
        }
        assert_eq!(at, b.len());
        for i in 0..b.len() {
            let mut x = b.clone();
            x[i] ^= 0x01;
            let got = unprotect_bytes(&x, &tre_key(), verifier).map_err(UnprotectError::result_code);
            let field = spans.iter().find(|(_, s, e)| (*s..*e).contains(&i)).map(|(t, ..)| *t);
            let want: &[u16] = match field {
                None => &[400],       // a tag or length byte
                Some(0x80) => &[400], // version
                Some(0x81) => &[408], // algorithm
                Some(0x82) => &[403], // PfCRef
                Some(0x85) if signed => &[402, 400],
                Some(0x85) => &[404, 402], // an invalid point, else the AEAD
                Some(0x83 | 0x84) if !signed => &[402, 400],
                _ => &[402],
            };
            let code = got.as_ref().map(|_| 200).unwrap_or_else(|c| c.code());
            assert!(want.contains(&code), "byte {i} (field {field:02x?}, signed {signed}): {code}");
        }
    }
}

#[test]
fn validation_signature() {
    use m2msim_codec::mo::validation::{Measurement, ValidationMode};
    let ak = SigningKey::from_slice(&[0x55; 32]).unwrap();
    let mut r = ValidationData::new(
        ValidationMode::Remote,
        "tre-1",
        [7; 32],
        vec![1, 2, 3],
        Some(vec![Measurement::new("fw", [9; 32])]),
    );
    sign_validation(&mut r, &ak);
    assert!(verify_validation(&r, &VerifyingKey::from(&ak)));
    r.nonce = vec![1, 2, 4];
    assert!(!verify_validation(&r, &VerifyingKey::from(&ak)));
}

#[test]
fn boot_key_and_mac() {
    let k = boot_key(&[1; 16], &[2; 16], &[3; 16]);
    // Independently: HMAC-SHA256(01…02…, "M2M-BOOT" ‖ 03…).
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&[[1u8; 16], [2; 16]].concat()).unwrap();
    m.update(&[b"M2M-BOOT".as_slice(), &[3; 16]].concat());
    assert_eq!(k.to_vec(), m.finalize().into_bytes().to_vec());
    let t = boot_mac(&k, b"msg");
    assert!(verify_boot_mac(&k, b"msg", &t));
    assert!(!verify_boot_mac(&k, b"msh", &t));
    assert!(!verify_boot_mac(&k, b"msg", &t[..31]));
}

//! The issuer security domain as RAM target (TS 102 226 §8, TAR `00 00 00`): GlobalPlatform PUT KEY
//! (GP 2.2 §11.8) to replace or add an SCP80 keyset, and GET DATA of the key information template
//! (GP 2.2 §11.3, tag `00E0`).
//!
//! # PUT KEY
//!
//! `80 D8 P1 P2 Lc data`:
//! - P1: b8 = 1 announces more PUT KEY commands (not supported here: `6A86`); b7–b1 = the KVN of the
//!   keyset to replace, `00` to add a new one.
//! - P2: b8 = 1 when several keys follow; b7–b1 = the key identifier of the first key (TS 102 225 Annex
//!   A: `01` KIc, `02` KID, `03` KIK). Keys follow with consecutive identifiers.
//! - data: the new KVN (1..=15), then per key: key type (`80` DES with implicit mode, `82` 3DES-CBC, `83`
//!   DES-ECB, `84` DES-CBC — all the DES family — or `88` AES), key length, the key data, the length of
//!   the key check value (0 or 3) and the KCV.
//! - Response data: the new KVN, then the 3-byte KCV of each key, in order; `9000`.
//!
//! Key data is the key ciphered with the KIK of the keyset that secured the command packet (the KVN of its
//! KIc, or of its KID when not ciphered), in ECB mode with the KIK's cipher: 3DES-ECB for a DES-family
//! KIK, AES-ECB for an AES KIK. Decision \[M\]: GP 2.2 §11.8.2.3 ciphers DES keys with the DEK in ECB,
//! and this card applies the same rule to AES keys (no length prefix), so a key whose length is not a
//! multiple of the KIK's block is refused. KCVs (GP 2.2 §11.8.2.3, GP Amd D): DES family, the first 3
//! bytes of the key enciphering 8 zero bytes; AES, of the key enciphering 16 bytes `01`.
//!
//! The new keys get the algorithms their type and length name: KIc and KIK DES (8), 3DES 2-key (16),
//! 3DES 3-key (24) or AES-CBC; KID the matching CBC-MAC or AES-CMAC (keeping the replaced KID's CMAC
//! length). Keys not sent keep the replaced keyset's values; a new keyset needs at least KIc and KID.
//! The change takes effect once the PoR of the packet is built (the PoR is secured with the old keys, so
//! the sender can verify it). Whenever a keyset is written, its receive counter restarts at zero: the new
//! keys start a new counter space, and packets under the old keys no longer verify, which is how a new
//! operator locks the old one out (m2m.md §1, Alt 3a).
//!
//! Status words: `6A80` bad data (unknown key type, bad length, KCV mismatch, KVN out of range or taken),
//! `6A86` P1/P2, `6A88` the keyset to replace does not exist, `6985` the packet's keyset has no KIK (or the
//! packet was not secured), `6D00` other INS, `6E00` CLA other than `80`/`84`.

use m2msim_codec::apdu::{CommandApdu, ResponseApdu, StatusWord};
use m2msim_codec::rfm::P3Rule;

use super::applet::{Applet, AppletContext, KeysetUpdate};
use crate::crypto::{
    ChecksumAlgorithm, CipherAlgorithm, CmacLen, CryptoError, ExpandedCipher, SecurityProvider,
};
use crate::keys::{ChecksumKeySpec, CipherKeySpec, Keyset, KeysetSpec, Kvn, SecretKey};

/// INS of PUT KEY (GP 2.2 §11.8).
pub const INS_PUT_KEY: u8 = 0xD8;
/// INS of GET DATA (GP 2.2 §11.3).
pub const INS_GET_DATA: u8 = 0xCA;

/// The issuer security domain (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct IsdApplet;

impl Applet for IsdApplet {
    fn kind(&self) -> &'static str {
        "ram"
    }

    fn p3_rule(&self) -> P3Rule {
        P3Rule::GLOBAL_PLATFORM
    }

    fn process(&mut self, apdu: &CommandApdu, ctx: &mut AppletContext<'_>) -> ResponseApdu {
        if apdu.cla.0 & 0xFC != 0x80 && apdu.cla.0 & 0xFC != 0x84 {
            return ResponseApdu::status(StatusWord::CLA_NOT_SUPPORTED);
        }
        match apdu.ins {
            INS_PUT_KEY => match put_key(apdu, ctx) {
                Ok(data) => ResponseApdu::new(data, StatusWord::OK),
                Err(sw) => ResponseApdu::status(sw),
            },
            INS_GET_DATA if apdu.p1 == 0x00 && apdu.p2 == 0xE0 => {
                ResponseApdu::new(key_information(ctx), StatusWord::OK)
            }
            INS_GET_DATA => ResponseApdu::status(StatusWord::REFERENCED_DATA_NOT_FOUND),
            _ => ResponseApdu::status(StatusWord::INS_NOT_SUPPORTED),
        }
    }
}

/// The key information template `E0` (GP 2.2 §11.3.3.1): one `C0 04 <id> <KVN> <type> <length>` per key.
fn key_information(ctx: &AppletContext<'_>) -> Vec<u8> {
    let mut v = Vec::new();
    for ks in ctx.keysets.iter() {
        let kvn = ks.kvn().get();
        let mut add = |id: u8, ty: u8, len: usize| {
            v.extend_from_slice(&[0xC0, 0x04, id, kvn, ty, u8::try_from(len).unwrap_or(0)]);
        };
        let kic = ks.kic().spec();
        add(1, key_type(kic.algorithm()), kic.key().len());
        let kid = ks.kid().spec();
        add(2, if kid.algorithm().is_des() { 0x80 } else { 0x88 }, kid.key().map_or(0, SecretKey::len));
        if let Some(kik) = ks.kik() {
            add(3, key_type(kik.spec().algorithm()), kik.spec().key().len());
        }
    }
    let mut out = vec![0xE0];
    if v.len() > 127 {
        out.push(0x81);
    }
    out.push(u8::try_from(v.len()).unwrap_or(0xFF));
    out.extend_from_slice(&v);
    out
}

const fn key_type(a: CipherAlgorithm) -> u8 {
    if a.is_des() { 0x80 } else { 0x88 }
}

/// One key of a PUT KEY command, deciphered.
struct NewKey {
    id: u8,
    aes: bool,
    key: SecretKey,
    kcv: [u8; 3],
}

/// Enciphers or deciphers `buf` block by block (ECB) with a CBC cipher: each block is a one-block CBC
/// message with a zero IV, which is ECB.
///
/// # Errors
/// [`CryptoError::NotBlockAligned`].
pub fn ecb(cipher: &dyn ExpandedCipher, buf: &mut [u8], decrypt: bool) -> Result<(), CryptoError> {
    let b = cipher.block_len();
    if b == 0 || !buf.len().is_multiple_of(b) {
        return Err(CryptoError::NotBlockAligned {
            algorithm: cipher.algorithm().name(),
            len: buf.len(),
            block: b,
        });
    }
    for block in buf.chunks_exact_mut(b) {
        if decrypt { cipher.decrypt(block)? } else { cipher.encrypt(block)? }
    }
    Ok(())
}

/// The cipher algorithm of a KIc/KIK of this type and length.
fn cipher_for(aes: bool, len: usize) -> Option<CipherAlgorithm> {
    Some(match (aes, len) {
        (true, 16 | 24 | 32) => CipherAlgorithm::AesCbc,
        (false, 8) => CipherAlgorithm::DesCbc,
        (false, 16) => CipherAlgorithm::TripleDes2Cbc,
        (false, 24) => CipherAlgorithm::TripleDes3Cbc,
        _ => return None,
    })
}

/// The key check value of a key (see the module docs).
///
/// # Errors
/// The provider's errors for a key that does not fit the algorithm.
pub fn kcv(provider: &dyn SecurityProvider, aes: bool, key: &SecretKey) -> Result<[u8; 3], CryptoError> {
    let alg =
        cipher_for(aes, key.len()).ok_or(CryptoError::InvalidKey { reason: "no cipher for this length" })?;
    let c = provider.expand_cipher(alg, key)?;
    let mut block = if aes { vec![0x01; 16] } else { vec![0x00; 8] };
    ecb(c.as_ref(), &mut block, false)?;
    Ok([block[0], block[1], block[2]])
}

/// PUT KEY as an OTA server builds it (GP 2.2 §11.8, the format of the module docs): `new`'s KIc, KID and
/// KIK (when it has one) as keys 1, 2, 3 in one command (P2 `81`), each ciphered in ECB with `kik` (the KIK
/// of the keyset that will secure the command packet) and followed by its KCV; P1 the KVN the keyset
/// replaces, `00` to add one.
///
/// # Errors
/// [`CryptoError::NotBlockAligned`] when a key's length is not a multiple of the KIK's block; the
/// provider's errors.
pub fn put_key_command(
    provider: &dyn SecurityProvider,
    kik: &dyn ExpandedCipher,
    replaces: Option<Kvn>,
    new: &KeysetSpec,
) -> Result<CommandApdu, CryptoError> {
    let mut data = vec![new.kvn.get()];
    let mut add = |aes: bool, key: &SecretKey| -> Result<(), CryptoError> {
        let mut ciphered = zeroize::Zeroizing::new(key.expose_secret().to_vec());
        ecb(kik, &mut ciphered, false)?;
        data.push(if aes { 0x88 } else { 0x80 });
        data.push(u8::try_from(ciphered.len()).map_err(|_| CryptoError::InvalidKey { reason: "too long" })?);
        data.extend_from_slice(&ciphered);
        data.push(3);
        data.extend_from_slice(&kcv(provider, aes, key)?);
        Ok(())
    };
    add(!new.kic.algorithm().is_des(), new.kic.key())?;
    let kid_key = new.kid.key().ok_or(CryptoError::InvalidKey { reason: "a KID without a key" })?;
    add(!new.kid.algorithm().is_des(), kid_key)?;
    if let Some(k) = &new.kik {
        add(!k.algorithm().is_des(), k.key())?;
    }
    CommandApdu::new(
        m2msim_codec::apdu::Cla::UICC_PROPRIETARY,
        INS_PUT_KEY,
        replaces.map_or(0, Kvn::get),
        0x81,
        data,
        None,
    )
    .map_err(|_| CryptoError::InvalidKey { reason: "PUT KEY data longer than a short APDU" })
}

fn put_key(apdu: &CommandApdu, ctx: &mut AppletContext<'_>) -> Result<Vec<u8>, StatusWord> {
    if apdu.p1 & 0x80 != 0 {
        return Err(StatusWord::WRONG_P1_P2);
    }
    let old = apdu.p1 & 0x7F;
    let multiple = apdu.p2 & 0x80 != 0;
    let first_id = apdu.p2 & 0x7F;
    if !(1..=3).contains(&first_id) {
        return Err(StatusWord::WRONG_P1_P2);
    }
    let old_kvn = match old {
        0 => None,
        n => match Kvn::new(n) {
            Ok(k) if ctx.keysets.get(k).is_some() => Some(k),
            _ => return Err(StatusWord::REFERENCED_DATA_NOT_FOUND),
        },
    };
    let kik_kvn = ctx.packet.kvn().ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
    let keys = {
        let kik =
            ctx.keysets.get(kik_kvn).and_then(Keyset::kik).ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
        parse_keys(apdu.data(), first_id, multiple, kik.cipher(), ctx.provider)?
    };
    let (new_kvn, keys) = keys;
    if ctx.keysets.get(new_kvn).is_some() && Some(new_kvn) != old_kvn {
        return Err(StatusWord::WRONG_DATA);
    }
    let base = old_kvn.and_then(|k| ctx.keysets.get(k));
    let mut kic = base.map(|b| b.kic().spec().clone());
    let mut kid = base.map(|b| b.kid().spec().clone());
    let mut kik = base.and_then(|b| b.kik().map(|k| k.spec().clone()));
    let cmac_len = match kid.as_ref().map(ChecksumKeySpec::algorithm) {
        Some(ChecksumAlgorithm::AesCmac { len }) => len,
        _ => CmacLen::Eight,
    };
    let mut response = vec![new_kvn.get()];
    for k in keys {
        let alg = cipher_for(k.aes, k.key.len()).ok_or(StatusWord::WRONG_DATA)?;
        match k.id {
            1 => kic = Some(CipherKeySpec::new(alg, k.key).map_err(|_| StatusWord::WRONG_DATA)?),
            2 => {
                let mac = match alg {
                    CipherAlgorithm::AesCbc => ChecksumAlgorithm::AesCmac { len: cmac_len },
                    CipherAlgorithm::DesCbc => ChecksumAlgorithm::DesMac,
                    CipherAlgorithm::TripleDes2Cbc => ChecksumAlgorithm::TdesMac2,
                    _ => ChecksumAlgorithm::TdesMac3,
                };
                kid = Some(ChecksumKeySpec::new(mac, Some(k.key)).map_err(|_| StatusWord::WRONG_DATA)?);
            }
            _ => kik = Some(CipherKeySpec::new(alg, k.key).map_err(|_| StatusWord::WRONG_DATA)?),
        }
        response.extend_from_slice(&k.kcv);
    }
    let (Some(kic), Some(kid)) = (kic, kid) else { return Err(StatusWord::WRONG_DATA) };
    let keyset = Keyset::new(ctx.provider, KeysetSpec { kvn: new_kvn, kic, kid, kik })
        .map_err(|_| StatusWord::WRONG_DATA)?;
    ctx.keyset_updates.push(KeysetUpdate { replaces: old_kvn, keyset });
    Ok(response)
}

/// Parses the data field: the new KVN and the keys, deciphered with `kik` and checked against their KCVs.
fn parse_keys(
    data: &[u8],
    first_id: u8,
    multiple: bool,
    kik: &dyn ExpandedCipher,
    provider: &dyn SecurityProvider,
) -> Result<(Kvn, Vec<NewKey>), StatusWord> {
    let bad = StatusWord::WRONG_DATA;
    let (&kvn, mut rest) = data.split_first().ok_or(bad)?;
    let kvn = Kvn::new(kvn).map_err(|_| bad)?;
    let mut keys = Vec::new();
    let mut id = first_id;
    while !rest.is_empty() {
        if id > 3 || (!multiple && !keys.is_empty()) {
            return Err(bad);
        }
        let [ty, len, tail @ ..] = rest else { return Err(bad) };
        let aes = match ty {
            0x80 | 0x82 | 0x83 | 0x84 => false,
            0x88 => true,
            _ => return Err(bad),
        };
        let len = usize::from(*len);
        if tail.len() < len + 1 {
            return Err(bad);
        }
        let (enc, tail) = tail.split_at(len);
        let (&kcv_len, tail) = tail.split_first().ok_or(bad)?;
        let kcv_len = usize::from(kcv_len);
        if kcv_len != 0 && kcv_len != 3 || tail.len() < kcv_len {
            return Err(bad);
        }
        let (given, tail) = tail.split_at(kcv_len);
        let mut plain = zeroize::Zeroizing::new(enc.to_vec());
        ecb(kik, &mut plain, true).map_err(|_| bad)?;
        let key = SecretKey::from_slice(&plain).map_err(|_| bad)?;
        let computed = kcv(provider, aes, &key).map_err(|_| bad)?;
        if !given.is_empty() && given != computed {
            return Err(bad);
        }
        keys.push(NewKey { id, aes, key, kcv: computed });
        id += 1;
        rest = tail;
    }
    if keys.is_empty() {
        return Err(bad);
    }
    Ok((kvn, keys))
}

#[cfg(test)]
mod tests {
    use m2msim_codec::Decode as _;
    use m2msim_codec::ota::{Cntr, Kic, Kid, Spi, Tar};

    use super::*;
    use crate::crypto::RustCryptoProvider;
    use crate::uicc::Uicc;
    use crate::uicc::applet::PacketInfo;
    use crate::uicc::profile::CardProfile;

    fn h(s: &str) -> Vec<u8> {
        m2msim_codec::hexser::parse_hex(s).unwrap()
    }

    /// A command packet secured with keyset 1 (3DES, KIK 3021…0F): ciphered, CC.
    const SECURED_BY_KVN1: PacketInfo = PacketInfo {
        tar: Tar([0, 0, 0]),
        spi: Spi([0x16, 0x19]),
        kic: Kic(0x15),
        kid: Kid(0x15),
        cntr: Cntr([0, 0, 0, 0, 1]),
    };

    /// Runs one command on the ISD of the example card and applies its keyset changes; returns the
    /// response and the (replaced, new) KVNs.
    fn run(card: &mut Uicc, packet: PacketInfo, apdu: &str) -> (ResponseApdu, Vec<(Option<u8>, u8)>) {
        let apdu = CommandApdu::decode_exact(&h(apdu)).unwrap();
        let mut updates = Vec::new();
        let mut ctx = AppletContext {
            fs: &mut card.fs,
            pins: card.pins.summary(),
            keysets: card.security.keysets(),
            keyset_updates: &mut updates,
            provider: card.provider.as_ref(),
            proactive: &mut card.proactive,
            subscriber: card.subscriber.as_mut(),
            keyslots: card.keyslots.as_mut(),
            packet,
        };
        let r = IsdApplet.process(&apdu, &mut ctx);
        let kvns = updates.iter().map(|u| (u.replaces.map(Kvn::get), u.keyset.kvn().get())).collect();
        card.apply(updates);
        (r, kvns)
    }

    fn card() -> Uicc {
        Uicc::from_profile(&CardProfile::example().unwrap()).unwrap()
    }

    // AES keys 000102…0F, 101112…1F, 202122…2F ciphered with KIK 3021020304050607 08090A0B0C0D0E0F in
    // 3DES-ECB, and their KCVs (AES over 16 × 01), all computed with openssl.
    const ENC1: &str = "3619a4a37bc2d8c7bf463628a418d840";
    const ENC2: &str = "32fb597b7a9f8ae55213b1481c928537";
    const ENC3: &str = "32103c97221ef9d3cf74a98a8d061a22";

    #[test]
    fn key_check_values() {
        let p = RustCryptoProvider::new();
        // The GlobalPlatform test key 404142…4F: KCV 8BAF47 (openssl des-ede-ecb over 8 zero bytes).
        let k = SecretKey::from_hex("404142434445464748494A4B4C4D4E4F").unwrap();
        assert_eq!(kcv(&p, false, &k).unwrap(), [0x8B, 0xAF, 0x47]);
        let k = SecretKey::from_hex("000102030405060708090a0b0c0d0e0f").unwrap();
        assert_eq!(kcv(&p, true, &k).unwrap(), [0xC3, 0x52, 0x80]);
        assert!(kcv(&p, false, &SecretKey::from_slice(&[1; 12]).unwrap()).is_err());
    }

    #[test]
    fn put_key_adds_and_replaces_keysets() {
        let mut c = card();
        // Add KVN 3 (P1 00), three AES keys from id 1 (P2 81).
        let data = format!("03 8810{ENC1}03C35280 8810{ENC2}03013808 8810{ENC3}03840DE5");
        let apdu = format!("80D80081{:02X}{data}", h(&data).len());
        let (r, reset) = run(&mut c, SECURED_BY_KVN1, &apdu);
        assert_eq!(r, ResponseApdu::new(h("03C35280013808840DE5"), StatusWord::OK));
        assert_eq!(reset, vec![(None, 3)]);
        let ks = c.keysets().get(Kvn::new(3).unwrap()).unwrap();
        assert_eq!(ks.kic().spec().algorithm(), CipherAlgorithm::AesCbc);
        assert_eq!(ks.kid().spec().algorithm(), ChecksumAlgorithm::AesCmac { len: CmacLen::Eight });
        assert_eq!(ks.kic().spec().key().expose_secret(), h("000102030405060708090a0b0c0d0e0f"));
        assert_eq!(ks.kik().unwrap().spec().key().expose_secret(), h("202122232425262728292a2b2c2d2e2f"));
        // KVN 3 exists now: adding it again is refused; replacing KVN 1 by KVN 4 removes KVN 1.
        let (r, _) = run(&mut c, SECURED_BY_KVN1, &apdu);
        assert_eq!(r.sw, StatusWord::WRONG_DATA);
        let data = format!("04 8810{ENC1}03C35280 8810{ENC2}03013808");
        let (r, reset) = run(&mut c, SECURED_BY_KVN1, &format!("80D80181{:02X}{data}", h(&data).len()));
        assert_eq!(r.sw, StatusWord::OK);
        assert_eq!(reset, vec![(Some(1), 4)]);
        assert!(c.keysets().get(Kvn::new(1).unwrap()).is_none());
        let ks = c.keysets().get(Kvn::new(4).unwrap()).unwrap();
        // Keys not sent keep the replaced keyset's: KVN 1's 3DES KIK.
        assert_eq!(ks.kik().unwrap().spec().algorithm(), CipherAlgorithm::TripleDes2Cbc);
        // One key only (P2 02: the KID of KVN 2, replaced in place), without a KCV.
        let (r, _) = run(
            &mut c,
            SECURED_BY_KVN3,
            &format!("80D8020214 02 8810{}00", encrypt_aes_kik3("101112131415161718191a1b1c1d1e1f")),
        );
        assert_eq!(r, ResponseApdu::new(h("02013808"), StatusWord::OK));
    }

    const SECURED_BY_KVN3: PacketInfo = PacketInfo { kic: Kic(0x32), kid: Kid(0x32), ..SECURED_BY_KVN1 };

    /// `key` ciphered with KVN 3's AES KIK (202122…2F) in AES-ECB.
    fn encrypt_aes_kik3(key: &str) -> String {
        let p = RustCryptoProvider::new();
        let kik = p
            .expand_cipher(
                CipherAlgorithm::AesCbc,
                &SecretKey::from_hex("202122232425262728292a2b2c2d2e2f").unwrap(),
            )
            .unwrap();
        let mut b = h(key);
        ecb(kik.as_ref(), &mut b, false).unwrap();
        hex::encode(b)
    }

    #[test]
    fn put_key_refusals() {
        let mut c = card();
        let good = format!("03 8810{ENC1}03C35280 8810{ENC2}03013808");
        let put = |p1p2: &str, data: &str| format!("80D8{p1p2}{:02X}{data}", h(data).len());
        // Ciphered with another KIK (KVN 2's): the KCVs no longer match.
        let (r, _) = run(
            &mut c,
            PacketInfo { kic: Kic(0x22), kid: Kid(0x22), ..SECURED_BY_KVN1 },
            &put("0081", &good),
        );
        assert_eq!(r.sw, StatusWord::WRONG_DATA);
        assert!(c.keysets().get(Kvn::new(3).unwrap()).is_none());
        // An unsecured packet has no KIK.
        let plain = PacketInfo { spi: Spi([0, 0]), ..SECURED_BY_KVN1 };
        assert_eq!(run(&mut c, plain, &put("0081", &good)).0.sw, StatusWord::CONDITIONS_NOT_SATISFIED);
        assert_eq!(
            run(&mut c, SECURED_BY_KVN1, &put("0981", &good)).0.sw,
            StatusWord::REFERENCED_DATA_NOT_FOUND
        );
        assert_eq!(run(&mut c, SECURED_BY_KVN1, &put("8081", &good)).0.sw, StatusWord::WRONG_P1_P2);
        assert_eq!(run(&mut c, SECURED_BY_KVN1, &put("0084", &good)).0.sw, StatusWord::WRONG_P1_P2);
        // KVN 2 taken, KVN 0, unknown key type, truncated, a single-key P2 with two keys, KIc alone for a
        // new keyset.
        for data in [
            good.replacen("03", "02", 1),
            good.replacen("03", "00", 1),
            good.replacen("8810", "A110", 1),
            good[..good.len() - 4].to_owned(),
            format!("03 8810{ENC1}03C35280"),
        ] {
            assert_eq!(
                run(&mut c, SECURED_BY_KVN1, &put("0081", &data)).0.sw,
                StatusWord::WRONG_DATA,
                "{data}"
            );
        }
        assert_eq!(run(&mut c, SECURED_BY_KVN1, &put("0001", &good)).0.sw, StatusWord::WRONG_DATA);
        assert_eq!(c.keysets().len(), 2);
        // Other instructions and classes.
        assert_eq!(run(&mut c, SECURED_BY_KVN1, "80E60000").0.sw, StatusWord::INS_NOT_SUPPORTED);
        assert_eq!(run(&mut c, SECURED_BY_KVN1, "00D80081").0.sw, StatusWord::CLA_NOT_SUPPORTED);
    }

    #[test]
    fn get_data_key_information() {
        let mut c = card();
        let (r, _) = run(&mut c, SECURED_BY_KVN1, "80CA00E000");
        assert_eq!(r.sw, StatusWord::OK);
        assert_eq!(
            hex::encode_upper(&r.data),
            "E024C00401018010C00402018010C00403018010C00401028810C00402028810C00403028810"
        );
        assert_eq!(run(&mut c, SECURED_BY_KVN1, "80CA00CF00").0.sw, StatusWord::REFERENCED_DATA_NOT_FOUND);
    }
}

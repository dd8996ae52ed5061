//! The protected MCIM package, the value of `./M2MSIMMobj/MCIMs/<x>/Data` (S3-090905 steps 16–19; the
//! format is the proposal of `shared/spec/m2m.md` §3.3, adopted with the refinements below), and the MCIM
//! plaintext it carries (TR 33.812 §5.1.1.2 "contents of a typical downloadable MCIM", with the fields of
//! the SIMalliance eUICC profile package `PE-AKAParameter`).
//!
//! Main types: [`ProtectedPackage`] (`30 { 80 … 89 }`), [`McimPlaintext`] (`A0 { 80 … 8B }`),
//! [`ProtectionAlg`], [`AkaAlgorithm`] and [`SecretBytes`] (K and OPc: redacted in `Debug`, zeroed on drop).
//!
//! ```text
//! 30 { 80 version (1) = 01
//!      81 alg (1)                01 ECIES-P256 / HKDF-SHA256 / AES-128-GCM, 02 RSA-OAEP / AES-CBC / HMAC (reserved)
//!      82 PfCRef (32)            SHA-256 of the PfC (DER) the package is encrypted to
//!      83 MCIMID (10)            ICCID-like digits, EF_ICCID coding (swapped BCD, F-filled)
//!      84 SHOID (3)              PLMN identity of the SHO (TS 24.008 §10.5.1.3)
//!      85 ephemeral public key   65 bytes, uncompressed SEC1 point (alg 01)
//!      86 nonce                  12 bytes (alg 01)
//!      87 ciphertext             AES-128-GCM of the plaintext A0 {…}
//!      88 tag                    16 bytes (alg 01)
//!      89 signature?             SHO's ECDSA P-256 / SHA-256, r ‖ s (64 bytes) }
//!
//! A0 { 80 IMSI (EF_IMSI form, 9)  81 K (16|32)  82 algorithmID (1)  83 OPc (16|32)
//!      84 rotationConstants (5)?  85 xoringConstants (80)?  86 sqnOptions (1)?  87 sqnDelta (6)?
//!      88 sqnAgeLimit (6)?  89 MSISDN (BCD)?  8A PLMN list (3·n)?  8B policy? }
//! ```
//!
//! Decisions where the proposal was open:
//! - **Bytes under protection.** The AAD of the AEAD is the encoding of every item of the package before
//!   the ciphertext `87` exactly as it is on the wire ([`ProtectedPackage::aad`]); for a canonical package
//!   that is the DER of `80`–`86` in order, as m2m.md proposes, and an unknown item placed before `87` is
//!   authenticated too. The signature `89` covers every item before it ([`ProtectedPackage::signed_data`]):
//!   `80`–`88` for a canonical package. Items after the signature are not covered and a TRE ignores them.
//! - **Strict field order.** Fields appear in ascending tag order, once each (see [`super::layout`]).
//! - **Sizes.** The codec checks the sizes the format fixes whatever the algorithm (version, alg, PfCRef,
//!   MCIMID, SHOID; in the plaintext every field but the free-length MSISDN and policy). The sizes of the
//!   key, nonce, tag and signature depend on the algorithm and are checked by the protection layer
//!   (`m2msim_scp80::mcim`), which answers Result 400 for them.
//! - **MSISDN** is a swapped-BCD dialling string (like EF_ICCID digits), **policy** is opaque bytes
//!   reserved for an operator (kept, not interpreted).

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroize as _;

use super::layout::{self, Container, FieldOut, Layout};
use crate::apdu::code_enum;
use crate::error::{DecodeError, DecodeResult};
use crate::reader::{Decode, Encode, Reader};
use crate::sim::{EfIccid, EfImsi, PlmnId, bcd};

/// The package format version this module defines.
pub const VERSION_1: u8 = 0x01;

/// Size of the MCIMID field (EF_ICCID coding).
pub const MCIM_ID_LEN: usize = 10;

/// Size of the IMSI field (the EF_IMSI file, TS 31.102 §4.2.2).
pub const IMSI_LEN: usize = 9;

/// Tags of the package (m2m.md §3.3).
pub mod tag {
    /// The package.
    pub const PACKAGE: u8 = 0x30;
    /// Format version.
    pub const VERSION: u8 = 0x80;
    /// Protection algorithm.
    pub const ALG: u8 = 0x81;
    /// PfCRef.
    pub const PFC_REF: u8 = 0x82;
    /// MCIMID.
    pub const MCIM_ID: u8 = 0x83;
    /// SHOID.
    pub const SHO_ID: u8 = 0x84;
    /// Ephemeral public key (or wrapped key).
    pub const EPHEMERAL_KEY: u8 = 0x85;
    /// Nonce / IV.
    pub const NONCE: u8 = 0x86;
    /// Ciphertext.
    pub const CIPHERTEXT: u8 = 0x87;
    /// Authentication tag.
    pub const TAG: u8 = 0x88;
    /// SHO signature.
    pub const SIGNATURE: u8 = 0x89;

    /// The plaintext.
    pub const PLAINTEXT: u8 = 0xA0;
    /// IMSI (EF_IMSI form).
    pub const IMSI: u8 = 0x80;
    /// K.
    pub const K: u8 = 0x81;
    /// algorithmID.
    pub const ALGORITHM_ID: u8 = 0x82;
    /// OPc.
    pub const OPC: u8 = 0x83;
    /// rotationConstants.
    pub const ROTATION_CONSTANTS: u8 = 0x84;
    /// xoringConstants.
    pub const XORING_CONSTANTS: u8 = 0x85;
    /// sqnOptions.
    pub const SQN_OPTIONS: u8 = 0x86;
    /// sqnDelta.
    pub const SQN_DELTA: u8 = 0x87;
    /// sqnAgeLimit.
    pub const SQN_AGE_LIMIT: u8 = 0x88;
    /// MSISDN.
    pub const MSISDN: u8 = 0x89;
    /// PLMN list.
    pub const PLMN_LIST: u8 = 0x8A;
    /// Policy.
    pub const POLICY: u8 = 0x8B;
}

code_enum! {
    /// The protection algorithm of a package (`81`, m2m.md §3.3).
    pub enum ProtectionAlg {
        EciesP256Aes128Gcm = 0x01 => "ECIES over P-256 with HKDF-SHA256 and AES-128-GCM",
        RsaOaepAes128CbcHmac = 0x02 => "RSA-OAEP-SHA256 key wrap with AES-128-CBC and HMAC-SHA256 (reserved)",
    }
}

code_enum! {
    /// The AKA algorithm of an MCIM (`82`; SAIP `PE-AKAParameter` `algorithmID`).
    pub enum AkaAlgorithm {
        Milenage = 0x01 => "Milenage (TS 35.206)",
        Tuak = 0x02 => "TUAK (TS 35.231)",
        UsimTestAlgorithm = 0x03 => "USIM test algorithm (TS 34.108)",
    }
}

/// Secret key material (K, OPc): printed as `<redacted>`, compared in constant time, zeroed on drop.
///
/// It serialises as hex (a JSON document holding a plaintext is a key file: keep it as one).
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretBytes(#[serde(with = "crate::hexser")] Vec<u8>);

impl SecretBytes {
    /// Wraps key bytes.
    #[must_use]
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The bytes (to compute with; never log them).
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl PartialEq for SecretBytes {
    fn eq(&self, other: &Self) -> bool {
        crate::dm::auth::ct_eq(&self.0, &other.0)
    }
}

impl Eq for SecretBytes {}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

const PACKAGE_FIELDS: &[(u8, &str)] = &[
    (tag::VERSION, "package version (80)"),
    (tag::ALG, "package algorithm (81)"),
    (tag::PFC_REF, "PfCRef (82)"),
    (tag::MCIM_ID, "MCIMID (83)"),
    (tag::SHO_ID, "SHOID (84)"),
    (tag::EPHEMERAL_KEY, "ephemeral public key (85)"),
    (tag::NONCE, "nonce (86)"),
    (tag::CIPHERTEXT, "ciphertext (87)"),
    (tag::TAG, "authentication tag (88)"),
    (tag::SIGNATURE, "SHO signature (89)"),
];

fn slots(fields: &[(u8, &str)]) -> Vec<u8> {
    fields.iter().map(|(t, _)| *t).collect()
}

fn name_of(fields: &[(u8, &'static str)], t: u8) -> &'static str {
    fields.iter().find(|(k, _)| *k == t).map_or("field", |(_, n)| n)
}

/// The protected MCIM package (`30 {…}`, see the [module docs](self)). Lossless: length forms and unknown
/// items are kept in [`ProtectedPackage::layout`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtectedPackage {
    /// `80`: format version ([`VERSION_1`]).
    pub version: u8,
    /// `81`: protection algorithm.
    pub alg: ProtectionAlg,
    /// `82`: SHA-256 of the PfC the package is encrypted to.
    #[serde(with = "crate::hexser::array")]
    pub pfc_ref: [u8; 32],
    /// `83`: the MCIM identifier (10 bytes, EF_ICCID coding).
    pub mcim_id: EfIccid,
    /// `84`: the SHO's PLMN identity.
    pub sho_id: PlmnId,
    /// `85`: the ephemeral public key (alg 01: 65-byte uncompressed point) or wrapped key.
    #[serde(with = "crate::hexser")]
    pub ephemeral_key: Vec<u8>,
    /// `86`: the AEAD nonce (alg 01: 12 bytes).
    #[serde(with = "crate::hexser")]
    pub nonce: Vec<u8>,
    /// `87`: the encrypted [`McimPlaintext`].
    #[serde(with = "crate::hexser")]
    pub ciphertext: Vec<u8>,
    /// `88`: the authentication tag (alg 01: 16 bytes).
    #[serde(with = "crate::hexser")]
    pub tag: Vec<u8>,
    /// `89`: the SHO's signature over [`ProtectedPackage::signed_data`], if any.
    #[serde(default, with = "crate::hexser::opt", skip_serializing_if = "Option::is_none")]
    pub signature: Option<Vec<u8>>,
    /// Length forms and unknown items as read.
    #[serde(default, skip_serializing_if = "Layout::is_canonical")]
    pub layout: Layout,
}

impl ProtectedPackage {
    /// A version-1 package header with empty key, nonce, ciphertext and tag: the protection layer fills
    /// them (the AAD does not depend on the ciphertext, so it can be computed first).
    #[must_use]
    pub fn header(alg: ProtectionAlg, pfc_ref: [u8; 32], mcim_id: EfIccid, sho_id: PlmnId) -> Self {
        Self {
            version: VERSION_1,
            alg,
            pfc_ref,
            mcim_id,
            sho_id,
            ephemeral_key: Vec::new(),
            nonce: Vec::new(),
            ciphertext: Vec::new(),
            tag: Vec::new(),
            signature: None,
            layout: Layout::default(),
        }
    }

    fn fields(&self) -> Vec<FieldOut<'_>> {
        let mut v: Vec<FieldOut<'_>> = vec![
            (tag::VERSION, Cow::Owned(vec![self.version])),
            (tag::ALG, Cow::Owned(vec![self.alg.to_u8()])),
            (tag::PFC_REF, Cow::Borrowed(&self.pfc_ref[..])),
            (tag::MCIM_ID, Cow::Owned(self.mcim_id.encode())),
            (tag::SHO_ID, Cow::Borrowed(&self.sho_id.0[..])),
            (tag::EPHEMERAL_KEY, Cow::Borrowed(&self.ephemeral_key)),
            (tag::NONCE, Cow::Borrowed(&self.nonce)),
            (tag::CIPHERTEXT, Cow::Borrowed(&self.ciphertext)),
            (tag::TAG, Cow::Borrowed(&self.tag)),
        ];
        if let Some(s) = &self.signature {
            v.push((tag::SIGNATURE, Cow::Borrowed(s)));
        }
        v
    }

    /// The additional authenticated data of the AEAD: every item before the ciphertext `87`, as encoded
    /// (for a canonical package the TLVs `80`–`86`).
    #[must_use]
    pub fn aad(&self) -> Vec<u8> {
        let mut out = Vec::new();
        layout::write_items(
            &mut out,
            &slots(PACKAGE_FIELDS),
            &self.fields(),
            &self.layout,
            Some(tag::CIPHERTEXT),
        );
        out
    }

    /// The bytes the SHO signature covers: every item before the signature `89`, as encoded (for a
    /// canonical package the TLVs `80`–`88`).
    #[must_use]
    pub fn signed_data(&self) -> Vec<u8> {
        let mut out = Vec::new();
        layout::write_items(
            &mut out,
            &slots(PACKAGE_FIELDS),
            &self.fields(),
            &self.layout,
            Some(tag::SIGNATURE),
        );
        out
    }
}

impl Decode for ProtectedPackage {
    const NAME: &'static str = "protected MCIM package";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let mut c = Container::read(r, tag::PACKAGE, "protected MCIM package (30)", PACKAGE_FIELDS)?;
        let n = |t| name_of(PACKAGE_FIELDS, t);
        let version = c.require(tag::VERSION, n(tag::VERSION))?.byte(n(tag::VERSION))?;
        let alg = ProtectionAlg::from_u8(c.require(tag::ALG, n(tag::ALG))?.byte(n(tag::ALG))?);
        let pfc_ref =
            c.require(tag::PFC_REF, n(tag::PFC_REF))?.array::<32>(n(tag::PFC_REF), "must be 32 bytes")?;
        let mut f = c.require(tag::MCIM_ID, n(tag::MCIM_ID))?;
        if f.value.remaining() != MCIM_ID_LEN {
            return Err(DecodeError::invalid(n(tag::MCIM_ID), "must be 10 bytes", f.offset()));
        }
        let mcim_id = EfIccid::decode_from(&mut f.value)?;
        let sho_id =
            PlmnId(c.require(tag::SHO_ID, n(tag::SHO_ID))?.array::<3>(n(tag::SHO_ID), "must be 3 bytes")?);
        let ephemeral_key = c.require(tag::EPHEMERAL_KEY, n(tag::EPHEMERAL_KEY))?.bytes().to_vec();
        let nonce = c.require(tag::NONCE, n(tag::NONCE))?.bytes().to_vec();
        let ciphertext = c.require(tag::CIPHERTEXT, n(tag::CIPHERTEXT))?.bytes().to_vec();
        let tag_v = c.require(tag::TAG, n(tag::TAG))?.bytes().to_vec();
        let signature = c.take(tag::SIGNATURE).map(|mut f| f.bytes().to_vec());
        Ok(Self {
            version,
            alg,
            pfc_ref,
            mcim_id,
            sho_id,
            ephemeral_key,
            nonce,
            ciphertext,
            tag: tag_v,
            signature,
            layout: c.layout,
        })
    }
}

impl Encode for ProtectedPackage {
    fn encode_to(&self, out: &mut Vec<u8>) {
        layout::write_container(out, tag::PACKAGE, &slots(PACKAGE_FIELDS), &self.fields(), &self.layout);
    }
}

const PLAINTEXT_FIELDS: &[(u8, &str)] = &[
    (tag::IMSI, "IMSI (80)"),
    (tag::K, "K (81)"),
    (tag::ALGORITHM_ID, "algorithmID (82)"),
    (tag::OPC, "OPc (83)"),
    (tag::ROTATION_CONSTANTS, "rotationConstants (84)"),
    (tag::XORING_CONSTANTS, "xoringConstants (85)"),
    (tag::SQN_OPTIONS, "sqnOptions (86)"),
    (tag::SQN_DELTA, "sqnDelta (87)"),
    (tag::SQN_AGE_LIMIT, "sqnAgeLimit (88)"),
    (tag::MSISDN, "MSISDN (89)"),
    (tag::PLMN_LIST, "PLMN list (8A)"),
    (tag::POLICY, "policy (8B)"),
];

/// The Milenage rotation constants r1..r5 of TS 35.206 §4.1 in bits (64, 0, 32, 64, 96), as SAIP codes
/// them (the `PE-AKAParameter` default `4000204060`).
pub const MILENAGE_DEFAULT_ROTATION: [u8; 5] = [0x40, 0x00, 0x20, 0x40, 0x60];

/// The Milenage constants c1..c5 of TS 35.206 §4.1 (128 bits each: 0, 1, 2, 4, 8 in the last byte).
#[must_use]
pub fn milenage_default_xoring() -> [u8; 80] {
    let mut c = [0u8; 80];
    for (i, last) in [0u8, 1, 2, 4, 8].into_iter().enumerate() {
        c[16 * i + 15] = last;
    }
    c
}

/// The MCIM plaintext (`A0 {…}`, see the [module docs](self)): the subscription a TRE installs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct McimPlaintext {
    /// `80`: the IMSI, as EF_IMSI holds it.
    pub imsi: EfImsi,
    /// `81`: the subscriber key K (16 or 32 bytes).
    pub k: SecretBytes,
    /// `82`: the AKA algorithm.
    pub algorithm_id: AkaAlgorithm,
    /// `83`: OPc (16 or 32 bytes).
    pub opc: SecretBytes,
    /// `84`: Milenage rotation constants r1..r5 (default [`MILENAGE_DEFAULT_ROTATION`]).
    #[serde(default, with = "layout::opt_array", skip_serializing_if = "Option::is_none")]
    pub rotation_constants: Option<[u8; 5]>,
    /// `85`: Milenage constants c1..c5 (default [`milenage_default_xoring`]).
    #[serde(default, with = "layout::opt_array", skip_serializing_if = "Option::is_none")]
    pub xoring_constants: Option<[u8; 80]>,
    /// `86`: SQN options (SAIP `sqnOptions`, kept as given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqn_options: Option<u8>,
    /// `87`: Δ of TS 33.102 Annex C (48 bits, big-endian).
    #[serde(default, with = "layout::opt_array", skip_serializing_if = "Option::is_none")]
    pub sqn_delta: Option<[u8; 6]>,
    /// `88`: the age limit L of TS 33.102 Annex C (48 bits, big-endian).
    #[serde(default, with = "layout::opt_array", skip_serializing_if = "Option::is_none")]
    pub sqn_age_limit: Option<[u8; 6]>,
    /// `89`: the MSISDN, swapped-BCD digits filled with `F` (see [`McimPlaintext::msisdn_digits`]).
    #[serde(default, with = "crate::hexser::opt", skip_serializing_if = "Option::is_none")]
    pub msisdn: Option<Vec<u8>>,
    /// `8A`: HPLMN / equivalent HPLMN list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plmn_list: Option<Vec<PlmnId>>,
    /// `8B`: operator policy, opaque.
    #[serde(default, with = "crate::hexser::opt", skip_serializing_if = "Option::is_none")]
    pub policy: Option<Vec<u8>>,
    /// Length forms and unknown items as read.
    #[serde(default, skip_serializing_if = "Layout::is_canonical")]
    pub layout: Layout,
}

impl McimPlaintext {
    /// A Milenage MCIM with the mandatory fields only.
    #[must_use]
    pub fn milenage(imsi: EfImsi, k: SecretBytes, opc: SecretBytes) -> Self {
        Self {
            imsi,
            k,
            algorithm_id: AkaAlgorithm::Milenage,
            opc,
            rotation_constants: None,
            xoring_constants: None,
            sqn_options: None,
            sqn_delta: None,
            sqn_age_limit: None,
            msisdn: None,
            plmn_list: None,
            policy: None,
            layout: Layout::default(),
        }
    }

    /// The MSISDN digits (up to the first filler), if present.
    #[must_use]
    pub fn msisdn_digits(&self) -> Option<String> {
        self.msisdn.as_deref().map(bcd::decode)
    }

    fn fields(&self) -> Vec<FieldOut<'_>> {
        let mut v: Vec<FieldOut<'_>> = vec![
            (tag::IMSI, Cow::Owned(self.imsi.encode())),
            (tag::K, Cow::Borrowed(self.k.expose())),
            (tag::ALGORITHM_ID, Cow::Owned(vec![self.algorithm_id.to_u8()])),
            (tag::OPC, Cow::Borrowed(self.opc.expose())),
        ];
        if let Some(x) = &self.rotation_constants {
            v.push((tag::ROTATION_CONSTANTS, Cow::Borrowed(&x[..])));
        }
        if let Some(x) = &self.xoring_constants {
            v.push((tag::XORING_CONSTANTS, Cow::Borrowed(&x[..])));
        }
        if let Some(x) = self.sqn_options {
            v.push((tag::SQN_OPTIONS, Cow::Owned(vec![x])));
        }
        if let Some(x) = &self.sqn_delta {
            v.push((tag::SQN_DELTA, Cow::Borrowed(&x[..])));
        }
        if let Some(x) = &self.sqn_age_limit {
            v.push((tag::SQN_AGE_LIMIT, Cow::Borrowed(&x[..])));
        }
        if let Some(x) = &self.msisdn {
            v.push((tag::MSISDN, Cow::Borrowed(x)));
        }
        if let Some(x) = &self.plmn_list {
            v.push((tag::PLMN_LIST, Cow::Owned(x.iter().flat_map(|p| p.0).collect())));
        }
        if let Some(x) = &self.policy {
            v.push((tag::POLICY, Cow::Borrowed(x)));
        }
        v
    }
}

/// Reads a key of 16 or 32 bytes.
fn key(f: &mut layout::Field<'_>, what: &'static str) -> DecodeResult<SecretBytes> {
    let at = f.offset();
    let v = f.bytes();
    if v.len() != 16 && v.len() != 32 {
        return Err(DecodeError::invalid(what, "must be 16 or 32 bytes", at));
    }
    Ok(SecretBytes::new(v))
}

impl Decode for McimPlaintext {
    const NAME: &'static str = "MCIM plaintext";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let mut c = Container::read(r, tag::PLAINTEXT, "MCIM plaintext (A0)", PLAINTEXT_FIELDS)?;
        let n = |t| name_of(PLAINTEXT_FIELDS, t);
        let mut f = c.require(tag::IMSI, n(tag::IMSI))?;
        if f.value.remaining() != IMSI_LEN {
            return Err(DecodeError::invalid(n(tag::IMSI), "must be the 9 bytes of EF_IMSI", f.offset()));
        }
        let imsi = EfImsi::decode_from(&mut f.value)?;
        let k = key(&mut c.require(tag::K, n(tag::K))?, n(tag::K))?;
        let algorithm_id = AkaAlgorithm::from_u8(
            c.require(tag::ALGORITHM_ID, n(tag::ALGORITHM_ID))?.byte(n(tag::ALGORITHM_ID))?,
        );
        let opc = key(&mut c.require(tag::OPC, n(tag::OPC))?, n(tag::OPC))?;
        let rotation_constants = c
            .take(tag::ROTATION_CONSTANTS)
            .map(|mut f| f.array::<5>(n(tag::ROTATION_CONSTANTS), "must be 5 bytes"))
            .transpose()?;
        let xoring_constants = c
            .take(tag::XORING_CONSTANTS)
            .map(|mut f| f.array::<80>(n(tag::XORING_CONSTANTS), "must be 80 bytes"))
            .transpose()?;
        let sqn_options = c.take(tag::SQN_OPTIONS).map(|mut f| f.byte(n(tag::SQN_OPTIONS))).transpose()?;
        let sqn_delta = c
            .take(tag::SQN_DELTA)
            .map(|mut f| f.array::<6>(n(tag::SQN_DELTA), "must be 6 bytes"))
            .transpose()?;
        let sqn_age_limit = c
            .take(tag::SQN_AGE_LIMIT)
            .map(|mut f| f.array::<6>(n(tag::SQN_AGE_LIMIT), "must be 6 bytes"))
            .transpose()?;
        let msisdn = c.take(tag::MSISDN).map(|mut f| f.bytes().to_vec());
        let plmn_list = match c.take(tag::PLMN_LIST) {
            None => None,
            Some(mut f) => {
                let at = f.offset();
                let v = f.bytes();
                if !v.len().is_multiple_of(3) {
                    return Err(DecodeError::invalid(n(tag::PLMN_LIST), "must be a multiple of 3 bytes", at));
                }
                Some(v.chunks_exact(3).map(|c| PlmnId([c[0], c[1], c[2]])).collect())
            }
        };
        let policy = c.take(tag::POLICY).map(|mut f| f.bytes().to_vec());
        Ok(Self {
            imsi,
            k,
            algorithm_id,
            opc,
            rotation_constants,
            xoring_constants,
            sqn_options,
            sqn_delta,
            sqn_age_limit,
            msisdn,
            plmn_list,
            policy,
            layout: c.layout,
        })
    }
}

impl Encode for McimPlaintext {
    fn encode_to(&self, out: &mut Vec<u8>) {
        layout::write_container(out, tag::PLAINTEXT, &slots(PLAINTEXT_FIELDS), &self.fields(), &self.layout);
    }
}

#[cfg(test)]
mod tests;

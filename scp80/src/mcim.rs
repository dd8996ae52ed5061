//! Protection of the MCIM package of S3-090905 (steps 16–19): the SHO encrypts the MCIM plaintext to the
//! TRE's platform credential (PfC) and may sign the package; the TRE decrypts and verifies it. The byte
//! formats are in `m2msim_codec::mo::mcim`; this module is the crypto (algorithm `01` of
//! [`ProtectionAlg`]), plus the signatures of the TRE's validation data and the bootstrap key of the DRF.
//!
//! Decisions (the contribution only says "protected"; m2m.md §3.3 proposes ECIES, adopted as follows):
//! - **PfC** = DER `SubjectPublicKeyInfo` of the TRE's P-256 key (no X.509 certificate: nothing in the
//!   flow checks a chain, the PVA vouches for the TRE). **PfCRef** = SHA-256 of that DER ([`pfc_ref`]).
//! - **ECIES**: an ephemeral P-256 key per package; Z = x-coordinate of ECDH(ephemeral, PfC) (32 bytes).
//! - **KDF**: HKDF-SHA256 (RFC 5869) with IKM = Z, salt = the ephemeral public key as sent in `85` (65-byte
//!   uncompressed SEC1 point), info = `"M2MSIM-MCIM v1"` ‖ PfCRef (32) ‖ MCIMID (the 10 bytes of `83`);
//!   L = 16: the AES-128 key ([`derive_key`]).
//! - **AEAD**: AES-128-GCM, 12-byte nonce `86` drawn from the RNG, 16-byte tag `88`, AAD = the encoded
//!   items before `87` ([`ProtectedPackage::aad`]: `80`–`86` for a canonical package).
//! - **Signature** `89` (optional): ECDSA P-256 / SHA-256 over [`ProtectedPackage::signed_data`]
//!   (`80`–`88`), deterministic (RFC 6979), `r ‖ s` (64 bytes). Verified whenever present; a TRE may
//!   require it ([`Verifier::require_signature`]).
//! - **Result codes** of a failed unprotect ([`UnprotectError::result_code`]): 400 the bytes or field
//!   sizes are wrong or the version is unknown; 408 the algorithm is not implemented; 403 the PfCRef is not
//!   this TRE's; 405 the package is not the one the MCIM provisioning context announced (SHOID, MCIMID;
//!   only with [`Verifier::prov_ctx`]); 402 integrity: the signature is bad (or missing when required) or the AEAD tag does not
//!   verify (which covers any change to `80`–`86`, the ciphertext and the tag); 404 decryption: the
//!   ephemeral key is not a P-256 point, or the authenticated plaintext is not an MCIM plaintext.
//!   The checks run in that order, so a package for another TRE is reported as 403 before any crypto.
//!
//! Randomness is injected (`rand_core::CryptoRng`), so known-answer tests pin the bytes.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use m2msim_codec::mo::m2msimmobj::ResultCode;
use m2msim_codec::mo::mcim::{McimPlaintext, ProtectedPackage, ProtectionAlg, VERSION_1};
use m2msim_codec::mo::prov_ctx::McimProvCtx;
use m2msim_codec::mo::validation::ValidationData;
use m2msim_codec::reader::{Decode, Encode};
use m2msim_codec::sim::{EfIccid, PlmnId};
use p256::ecdsa::signature::{Signer, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::elliptic_curve::sec1::ToSec1Point as _;
use p256::pkcs8::{DecodePublicKey, EncodePublicKey};
use p256::{PublicKey, SecretKey};
use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub use p256;

/// The HKDF info label (followed by PfCRef and MCIMID).
pub const KDF_LABEL: &[u8] = b"M2MSIM-MCIM v1";
/// Length of the uncompressed ephemeral public key.
pub const EPHEMERAL_KEY_LEN: usize = 65;
/// Length of the GCM nonce.
pub const NONCE_LEN: usize = 12;
/// Length of the GCM tag.
pub const TAG_LEN: usize = 16;
/// Length of an ECDSA P-256 signature (`r ‖ s`).
pub const SIGNATURE_LEN: usize = 64;

/// The PfC of a public key: its DER `SubjectPublicKeyInfo`.
#[must_use]
pub fn pfc_der(key: &PublicKey) -> Vec<u8> {
    // Encoding a valid P-256 key as SPKI cannot fail (fixed algorithm identifier and point size).
    key.to_public_key_der().map(|d| d.as_bytes().to_vec()).unwrap_or_default()
}

/// The public key of a PfC (DER `SubjectPublicKeyInfo`), `None` if it is not a P-256 key.
#[must_use]
pub fn pfc_public_key(pfc: &[u8]) -> Option<PublicKey> {
    PublicKey::from_public_key_der(pfc).ok()
}

/// PfCRef: SHA-256 of the PfC's DER.
#[must_use]
pub fn pfc_ref(pfc: &[u8]) -> [u8; 32] {
    Sha256::digest(pfc).into()
}

/// The uncompressed SEC1 encoding of a public key (65 bytes).
#[must_use]
pub fn sec1_uncompressed(key: &PublicKey) -> Vec<u8> {
    key.to_sec1_point(false).as_bytes().to_vec()
}

/// The content-encryption key: HKDF-SHA256(salt = ephemeral key, IKM = Z, info = label ‖ PfCRef ‖ MCIMID).
#[must_use]
pub fn derive_key(z: &[u8], ephemeral_key: &[u8], pfc_ref: &[u8; 32], mcim_id: &[u8]) -> Zeroizing<[u8; 16]> {
    let hk = Hkdf::<Sha256>::new(Some(ephemeral_key), z);
    let mut info = Vec::with_capacity(KDF_LABEL.len() + 32 + mcim_id.len());
    info.extend_from_slice(KDF_LABEL);
    info.extend_from_slice(pfc_ref);
    info.extend_from_slice(mcim_id);
    let mut okm = Zeroizing::new([0u8; 16]);
    // 16 bytes is far below HKDF's limit of 255 · 32.
    let _ = hk.expand(&info, &mut okm[..]);
    okm
}

/// Why protecting failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtectError {
    /// The PfC is not a DER SubjectPublicKeyInfo of a P-256 key.
    #[error("the PfC is not a P-256 SubjectPublicKeyInfo")]
    InvalidPfc,
    /// The AEAD refused (cannot happen with valid sizes).
    #[error("AES-GCM encryption failed")]
    Encrypt,
}

fn random_secret<R: CryptoRng + ?Sized>(rng: &mut R) -> SecretKey {
    loop {
        let mut b = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut b[..]);
        if let Ok(k) = SecretKey::from_slice(&b[..]) {
            return k;
        }
    }
}

/// The SHO side: encrypts `plaintext` to `pfc` (DER SPKI) as package `mcim_id` of `sho_id`, signs it with
/// `signer` if given. The ephemeral key (32 bytes) and then the nonce (12 bytes) are drawn from `rng`.
///
/// # Errors
/// [`ProtectError::InvalidPfc`] if `pfc` is not a P-256 key.
pub fn protect<R: CryptoRng + ?Sized>(
    plaintext: &McimPlaintext,
    pfc: &[u8],
    mcim_id: EfIccid,
    sho_id: PlmnId,
    signer: Option<&SigningKey>,
    rng: &mut R,
) -> Result<ProtectedPackage, ProtectError> {
    let tre = pfc_public_key(pfc).ok_or(ProtectError::InvalidPfc)?;
    let reference = pfc_ref(pfc);
    let mut pkg = ProtectedPackage::header(ProtectionAlg::EciesP256Aes128Gcm, reference, mcim_id, sho_id);
    let eph = random_secret(rng);
    pkg.ephemeral_key = sec1_uncompressed(&eph.public_key());
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    pkg.nonce = nonce.to_vec();
    let z = eph.diffie_hellman(&tre);
    let key = derive_key(z.raw_secret_bytes(), &pkg.ephemeral_key, &reference, &pkg.mcim_id.encode());
    let aad = pkg.aad();
    let msg = Zeroizing::new(plaintext.encode());
    let cipher = Aes128Gcm::new_from_slice(&key[..]).map_err(|_| ProtectError::Encrypt)?;
    let mut sealed = cipher
        .encrypt(&Nonce::from(nonce), Payload { msg: &msg, aad: &aad })
        .map_err(|_| ProtectError::Encrypt)?;
    let tag = sealed.split_off(sealed.len().saturating_sub(TAG_LEN));
    pkg.ciphertext = sealed;
    pkg.tag = tag;
    if let Some(s) = signer {
        sign_package(&mut pkg, s);
    }
    Ok(pkg)
}

/// Signs (or re-signs) a package: ECDSA P-256 / SHA-256 over its signed data, `r ‖ s`.
pub fn sign_package(pkg: &mut ProtectedPackage, signer: &SigningKey) {
    pkg.signature = None;
    let sig: Signature = signer.sign(&pkg.signed_data());
    pkg.signature = Some(sig.to_bytes().to_vec());
}

/// Why a package was refused; [`UnprotectError::result_code`] is the `Result` node's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnprotectError {
    /// 400: not a package, or a field of the wrong size, or an unknown version.
    #[error("malformed MCIM package: {0}")]
    Malformed(&'static str),
    /// 408: the protection algorithm is not implemented.
    #[error("protection algorithm not implemented")]
    AlgorithmNotImplemented,
    /// 403: the package is encrypted to another PfC.
    #[error("the package's PfCRef is not this TRE's")]
    NotForThisTre,
    /// 405: the package is not the one the MCIM provisioning context announced (another SHOID or
    /// MCIMID).
    #[error("rejected by policy: {0}")]
    Policy(&'static str),
    /// 402: the SHO signature is bad or missing.
    #[error("SHO signature: {0}")]
    Signature(&'static str),
    /// 402: the AEAD tag does not verify.
    #[error("AES-GCM authentication failed")]
    Integrity,
    /// 404: the key agreement or the plaintext failed.
    #[error("decryption failed: {0}")]
    Decryption(&'static str),
}

impl UnprotectError {
    /// The M2MSIMMobj Result code.
    #[must_use]
    pub fn result_code(self) -> ResultCode {
        match self {
            Self::Malformed(_) => ResultCode::MalformedPackage,
            Self::AlgorithmNotImplemented => ResultCode::NotImplemented,
            Self::NotForThisTre => ResultCode::NotForThisTre,
            Self::Policy(_) => ResultCode::RejectedByPolicy,
            Self::Signature(_) | Self::Integrity => ResultCode::IntegrityFailure,
            Self::Decryption(_) => ResultCode::DecryptionFailure,
        }
    }
}

/// How a TRE checks the SHO signature.
#[derive(Debug, Clone, Copy, Default)]
pub struct Verifier<'a> {
    /// The SHO's verifying key (from the MCIM provisioning context); a signature present without a key
    /// to check it is refused (402).
    pub sho_key: Option<&'a VerifyingKey>,
    /// Refuse unsigned packages.
    pub require_signature: bool,
    /// The MCIM provisioning context of the bootstrap (`Boot/MCIMProvCtx`): a package whose SHOID differs
    /// from its SHOID, or whose MCIMID differs from the MCIMID it announces, is refused (405). Checked
    /// after PfCRef (403) and before the signature (402): nothing of such a package is decrypted.
    pub prov_ctx: Option<&'a McimProvCtx>,
}

/// The TRE side: checks and decrypts the package bytes with the TRE's PfC secret key.
///
/// # Errors
/// An [`UnprotectError`] in the order of the checks (see the module docs).
pub fn unprotect_bytes(
    bytes: &[u8],
    tre_key: &SecretKey,
    verifier: Verifier<'_>,
) -> Result<McimPlaintext, UnprotectError> {
    let pkg =
        ProtectedPackage::decode_exact(bytes).map_err(|_| UnprotectError::Malformed("not a package"))?;
    unprotect(&pkg, tre_key, verifier)
}

/// The TRE side on a decoded package (see [`unprotect_bytes`]).
///
/// # Errors
/// An [`UnprotectError`].
pub fn unprotect(
    pkg: &ProtectedPackage,
    tre_key: &SecretKey,
    verifier: Verifier<'_>,
) -> Result<McimPlaintext, UnprotectError> {
    if pkg.version != VERSION_1 {
        return Err(UnprotectError::Malformed("unknown package version"));
    }
    if pkg.alg != ProtectionAlg::EciesP256Aes128Gcm {
        return Err(UnprotectError::AlgorithmNotImplemented);
    }
    if pkg.ephemeral_key.len() != EPHEMERAL_KEY_LEN
        || pkg.nonce.len() != NONCE_LEN
        || pkg.tag.len() != TAG_LEN
        || pkg.signature.as_ref().is_some_and(|s| s.len() != SIGNATURE_LEN)
    {
        return Err(UnprotectError::Malformed("field size for algorithm 01"));
    }
    let own = pfc_der(&tre_key.public_key());
    let reference = pfc_ref(&own);
    if pkg.pfc_ref != reference {
        return Err(UnprotectError::NotForThisTre);
    }
    if let Some(ctx) = verifier.prov_ctx {
        if pkg.sho_id != ctx.sho_id {
            return Err(UnprotectError::Policy("SHOID differs from the provisioning context's"));
        }
        if ctx.mcim_id.as_ref().is_some_and(|id| *id != pkg.mcim_id) {
            return Err(UnprotectError::Policy(
                "MCIMID differs from the one the provisioning context announced",
            ));
        }
    }
    match (&pkg.signature, verifier.sho_key) {
        (Some(sig), Some(key)) => {
            let sig = Signature::from_slice(sig).map_err(|_| UnprotectError::Signature("not a signature"))?;
            key.verify(&pkg.signed_data(), &sig).map_err(|_| UnprotectError::Signature("does not verify"))?;
        }
        (Some(_), None) => return Err(UnprotectError::Signature("no SHO key to verify it")),
        (None, _) if verifier.require_signature => return Err(UnprotectError::Signature("missing")),
        (None, _) => {}
    }
    let eph = PublicKey::from_sec1_bytes(&pkg.ephemeral_key)
        .map_err(|_| UnprotectError::Decryption("ephemeral key is not a P-256 point"))?;
    let z = tre_key.diffie_hellman(&eph);
    let key = derive_key(z.raw_secret_bytes(), &pkg.ephemeral_key, &reference, &pkg.mcim_id.encode());
    let cipher =
        Aes128Gcm::new_from_slice(&key[..]).map_err(|_| UnprotectError::Decryption("content key size"))?;
    let mut sealed = Vec::with_capacity(pkg.ciphertext.len() + TAG_LEN);
    sealed.extend_from_slice(&pkg.ciphertext);
    sealed.extend_from_slice(&pkg.tag);
    let aad = pkg.aad();
    let nonce = Nonce::try_from(&pkg.nonce[..]).map_err(|_| UnprotectError::Malformed("nonce size"))?;
    let plain = Zeroizing::new(
        cipher.decrypt(&nonce, Payload { msg: &sealed, aad: &aad }).map_err(|_| UnprotectError::Integrity)?,
    );
    McimPlaintext::decode_exact(&plain).map_err(|_| UnprotectError::Decryption("not an MCIM plaintext"))
}

/// Signs a validation report with the TRE's attestation key (ECDSA P-256 / SHA-256, `r ‖ s`, over
/// [`ValidationData::signed_data`]).
pub fn sign_validation(report: &mut ValidationData, key: &SigningKey) {
    let sig: Signature = key.sign(&report.signed_data());
    report.signature = sig.to_bytes().to_vec();
}

/// Checks a validation report's signature.
#[must_use]
pub fn verify_validation(report: &ValidationData, key: &VerifyingKey) -> bool {
    Signature::from_slice(&report.signature).is_ok_and(|s| key.verify(&report.signed_data(), &s).is_ok())
}

/// The DRF's bootstrap key (m2m.md §3.4, adopted): `K_boot = HMAC-SHA256(CK ‖ IK, "M2M-BOOT" ‖ RAND)`,
/// from the AKA run of the PCID, so that only the M2ME holding the PCID's credential can check the
/// bootstrap message.
#[must_use]
pub fn boot_key(ck: &[u8; 16], ik: &[u8; 16], rand: &[u8; 16]) -> Zeroizing<[u8; 32]> {
    let mut k = Zeroizing::new([0u8; 32]);
    k[..16].copy_from_slice(ck);
    k[16..].copy_from_slice(ik);
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&k[..]).unwrap_or_else(|_| unreachable!());
    mac.update(b"M2M-BOOT");
    mac.update(rand);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

/// The MAC of a bootstrap message: HMAC-SHA256(K_boot, message bytes).
#[must_use]
pub fn boot_mac(k_boot: &[u8; 32], message: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(k_boot).unwrap_or_else(|_| unreachable!());
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Checks a bootstrap MAC in constant time.
#[must_use]
pub fn verify_boot_mac(k_boot: &[u8; 32], message: &[u8], tag: &[u8]) -> bool {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(k_boot).unwrap_or_else(|_| unreachable!());
    mac.update(message);
    mac.verify_slice(tag).is_ok()
}

#[cfg(test)]
mod tests;

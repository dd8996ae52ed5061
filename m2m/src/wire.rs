//! The wire between the roles of S3-090905: the bodies each role's HTTP endpoint takes and answers
//! (`docs/m2msimmobj.md` §7 lists the endpoints: method, path, content type, errors).
//!
//! Decision: the contribution does not specify the interfaces between the roles (it calls them "internal"
//! to the RO, or leaves them out), so each is an HTTP/1.1 exchange on the role's own endpoint, with a JSON
//! body ([`JSON`], byte strings as lowercase hex) where the content is a handful of fields, and the byte
//! formats that already exist where there is one: the bootstrap is the OMA DM plain-profile message itself
//! (`application/vnd.syncml.dm+xml`, its RAND and MAC as Content-Type parameters, [`Bootstrap::content_type`])
//! and the MCIM goes from the SHO to the DPF as the protected package TLV (`application/vnd.3gpp.m2msim-mcim`).
//! Errors are a status with a [`Problem`] body naming the step that failed. The authentication-vector
//! exchange carries what a MAP SendAuthenticationInfo / Diameter S6a AIA would (RAND, XRES, CK, IK, AUTN).
//!
//! The main types: [`PcidRequest`], [`AvAnswer`], [`CredentialAnswer`], [`AttachRequest`],
//! [`Challenge`], [`AuthResponse`], [`Grant`], [`AttachReport`], [`ShoRegistration`], [`ValidationReads`],
//! [`ValidationReport`], [`ValidationRequest`], [`ProvisioningAnswer`], [`StatusReport`], [`Problem`].

use m2msim_codec::mo::mcim::SecretBytes;
use m2msim_scp80::milenage::AuthenticationVector;
use serde::{Deserialize, Serialize};

use crate::{Bootstrap, ConnectivityPolicy, Credential, Verdict};

/// The content type of every JSON body.
pub const JSON: &str = "application/json";
/// The bootstrap's media type (OMA DM 1.2 plain profile, XML).
pub const BOOTSTRAP_MEDIA_TYPE: &str = "application/vnd.syncml.dm+xml";

/// A request naming a PCID: `POST /icf/av` (VNO → ICF, step 2), `POST /icf/boot-context` (DRF → ICF, step
/// 8), `POST /ccif/credentials` (ICF → CCIF, step 3 NOTE), `POST /drf/bootstrap` (M2ME → DRF, step 7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PcidRequest {
    /// The PCID (15 IMSI-format digits).
    pub pcid: String,
}

/// An authentication vector (answer to `POST /icf/av`, step 4; to `POST /sho/av` for the SHO's network).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvAnswer {
    /// RAND.
    #[serde(with = "m2msim_codec::hexser::array")]
    pub rand: [u8; 16],
    /// AUTN.
    #[serde(with = "m2msim_codec::hexser::array")]
    pub autn: [u8; 16],
    /// XRES.
    #[serde(with = "m2msim_codec::hexser::array")]
    pub xres: [u8; 8],
    /// CK.
    pub ck: SecretBytes,
    /// IK.
    pub ik: SecretBytes,
}

impl From<&AuthenticationVector> for AvAnswer {
    fn from(av: &AuthenticationVector) -> Self {
        Self {
            rand: av.rand,
            autn: av.autn,
            xres: av.xres,
            ck: SecretBytes::new(av.ck.to_vec()),
            ik: SecretBytes::new(av.ik.to_vec()),
        }
    }
}

/// The temporary-access credential of a PCID (answer to `POST /ccif/credentials`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialAnswer {
    /// The PCID.
    pub pcid: String,
    /// K.
    pub k: SecretBytes,
    /// OPc.
    pub opc: SecretBytes,
}

impl From<&Credential> for CredentialAnswer {
    fn from(c: &Credential) -> Self {
        Self { pcid: c.imsi.clone(), k: c.k.clone(), opc: c.opc.clone() }
    }
}

impl From<CredentialAnswer> for Credential {
    fn from(c: CredentialAnswer) -> Self {
        Self { imsi: c.pcid, k: c.k, opc: c.opc }
    }
}

/// An attach: `POST /vno/attach` (M2ME → VNO with its PCID, step 1) and `POST /sho/attach` (with the MCIM's
/// IMSI, the proof).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachRequest {
    /// The IMSI (the PCID for a provisional attach).
    pub imsi: String,
}

/// The AKA challenge (answer to an [`AttachRequest`], step 5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// RAND.
    #[serde(with = "m2msim_codec::hexser::array")]
    pub rand: [u8; 16],
    /// AUTN.
    #[serde(with = "m2msim_codec::hexser::array")]
    pub autn: [u8; 16],
}

/// The M2ME's answer to the challenge: `POST /vno/attach/auth` (step 5), `POST /sho/attach/auth`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthResponse {
    /// The IMSI.
    pub imsi: String,
    /// RES.
    #[serde(with = "m2msim_codec::hexser")]
    pub res: Vec<u8>,
}

/// What the network grants after AKA (answer to an [`AuthResponse`], step 6): an IP address and, for a
/// provisional attach, the only destinations the bearer reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The IP address assigned.
    pub ip: String,
    /// The restriction (`None`: full connectivity on the home network).
    pub policy: Option<ConnectivityPolicy>,
}

/// The VNO tells the ICF which AV authenticated the PCID and the address it assigned: `POST
/// /icf/attached` (step 6, the analogue of Update Location).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachReport {
    /// The PCID.
    pub pcid: String,
    /// The RAND of the AV used.
    #[serde(with = "m2msim_codec::hexser::array")]
    pub rand: [u8; 16],
    /// The IP address assigned.
    pub ip: String,
}

/// The DRF registers the M2ME with the SHO: `POST /sho/registrations` (step 12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShoRegistration {
    /// The PCID.
    pub pcid: String,
    /// The M2ME's device identifier (the DPF's device record, `./DevInfo/DevId`).
    pub dev_id: String,
    /// The TRE identity (toward the PVA).
    pub tre_id: String,
    /// The DPF that serves the M2ME (its Server Identifier).
    pub dpf_server_id: String,
}

/// The SHO asks the DPF to read the TRE's PfC and a validation report for `nonce`: `POST
/// /dpf/devices/{dev}/validation` (step 13).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationReads {
    /// The fresh nonce for `TRE/ValidationNonce`.
    #[serde(with = "m2msim_codec::hexser")]
    pub nonce: Vec<u8>,
}

/// What the DPF read from the TRE, for the SHO: `POST /sho/devices/{dev}/validation` (step 13).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationReport {
    /// `TRE/PfC` (SubjectPublicKeyInfo DER).
    #[serde(with = "m2msim_codec::hexser")]
    pub pfc: Vec<u8>,
    /// `TRE/ValidationData` (the encoded report).
    #[serde(with = "m2msim_codec::hexser")]
    pub report: Vec<u8>,
}

/// The SHO sends the PfC, the M2ME's identity and the report to the PVA: `POST /pva/validations` (step
/// 13); the answer is a [`Verdict`] (step 15).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationRequest {
    /// The TRE identity.
    pub tre_id: String,
    /// The PfC.
    #[serde(with = "m2msim_codec::hexser")]
    pub pfc: Vec<u8>,
    /// The nonce the SHO had written.
    #[serde(with = "m2msim_codec::hexser")]
    pub nonce: Vec<u8>,
    /// The encoded report.
    #[serde(with = "m2msim_codec::hexser")]
    pub report: Vec<u8>,
}

/// The SHO's answer to a [`ValidationReport`]: the PVA's verdict and, when valid, the MCIM it issued and
/// handed to the DPF (steps 15–17).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisioningAnswer {
    /// The PVA's verdict.
    pub verdict: Verdict,
    /// The MCIMID (ICCID digits), when one was issued.
    pub mcim_id: Option<String>,
    /// Its IMSI.
    pub imsi: Option<String>,
    /// The MCIM node the DPF installs it under (`./M2MSIMMobj/MCIMs/<x>`).
    pub node: Option<String>,
    /// The size of the protected package.
    pub package_bytes: usize,
    /// What the SHO did on the way (fault injection notes, for the transcript).
    pub notes: Vec<String>,
}

/// The DPF reports the provisioning status: `POST /sho/mcims/{mcim_id}/status` (step 21).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// Each Generic Alert's operation (`install`, `activate`) and Result code, in order.
    pub results: Vec<(String, u16)>,
}

/// An error body: what failed, and at which step of S3-090905.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The step (1–21; 0 outside the 21 steps).
    pub step: u8,
    /// What went wrong.
    pub error: String,
}

/// Why a bootstrap did not come through as a message with its RAND and MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BootstrapWireError {
    /// The media type is not `application/vnd.syncml.dm+xml`.
    #[error("not an OMA DM XML message")]
    MediaType,
    /// The `RAND` parameter is missing or not 16 bytes of hex.
    #[error("RAND parameter missing or not 32 hex digits")]
    Rand,
    /// The `MAC` parameter is missing or not 32 bytes of hex.
    #[error("MAC parameter missing or not 64 hex digits")]
    Mac,
}

fn param<const N: usize>(params: &[(&str, &str)], name: &str) -> Option<[u8; N]> {
    let v = params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name))?.1;
    let v = v.trim_matches('"');
    hex::decode(v).ok()?.try_into().ok()
}

impl Bootstrap {
    /// The Content-Type the DRF sends the message with (step 10): the media type with the AKA run's RAND
    /// and the MAC as parameters, `application/vnd.syncml.dm+xml; RAND=<32 hex>; MAC=<64 hex>`
    /// (m2m.md §3.4: "the MAC as a Content-Type parameter, with the RAND").
    #[must_use]
    pub fn content_type(&self) -> String {
        format!("{BOOTSTRAP_MEDIA_TYPE}; RAND={}; MAC={}", hex::encode(self.rand), hex::encode(self.mac))
    }

    /// The bootstrap from an HTTP body and its Content-Type (parameter names are case-insensitive, values
    /// may be quoted). The MAC is not checked here: the TRE checks it.
    ///
    /// # Errors
    /// [`BootstrapWireError`].
    pub fn from_http(content_type: &str, body: Vec<u8>) -> Result<Self, BootstrapWireError> {
        let mut parts = content_type.split(';');
        let media = parts.next().unwrap_or_default().trim();
        if !media.eq_ignore_ascii_case(BOOTSTRAP_MEDIA_TYPE) {
            return Err(BootstrapWireError::MediaType);
        }
        let params: Vec<(&str, &str)> =
            parts.filter_map(|p| p.split_once('=')).map(|(n, v)| (n.trim(), v.trim())).collect();
        let rand = param::<16>(&params, "RAND").ok_or(BootstrapWireError::Rand)?;
        let mac = param::<32>(&params, "MAC").ok_or(BootstrapWireError::Mac)?;
        Ok(Self { message: body, mac, rand })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_content_type_round_trips() {
        let b = Bootstrap { message: b"<SyncML/>".to_vec(), mac: [0xab; 32], rand: [0x01; 16] };
        let ct = b.content_type();
        assert_eq!(
            ct,
            format!("application/vnd.syncml.dm+xml; RAND={}; MAC={}", "01".repeat(16), "ab".repeat(32))
        );
        assert_eq!(Bootstrap::from_http(&ct, b.message.clone()), Ok(b.clone()));
        // Case-insensitive names and media type, quoted values, other parameters ignored.
        let odd = format!(
            "Application/VND.syncml.dm+XML;charset=utf-8; mac=\"{}\";rand={}",
            "ab".repeat(32),
            "01".repeat(16)
        );
        assert_eq!(Bootstrap::from_http(&odd, b.message.clone()), Ok(b));
    }

    #[test]
    fn bootstrap_content_type_errors() {
        let mac = "ab".repeat(32);
        let rand = "01".repeat(16);
        let e = |ct: &str| Bootstrap::from_http(ct, Vec::new()).unwrap_err();
        assert_eq!(e(&format!("application/json; RAND={rand}; MAC={mac}")), BootstrapWireError::MediaType);
        assert_eq!(e(&format!("application/vnd.syncml.dm+xml; MAC={mac}")), BootstrapWireError::Rand);
        assert_eq!(
            e(&format!("application/vnd.syncml.dm+xml; RAND=01; MAC={mac}")),
            BootstrapWireError::Rand
        );
        assert_eq!(e(&format!("application/vnd.syncml.dm+xml; RAND={rand}")), BootstrapWireError::Mac);
        assert_eq!(
            e(&format!("application/vnd.syncml.dm+xml; RAND={rand}; MAC=zz")),
            BootstrapWireError::Mac
        );
        assert_eq!(e(""), BootstrapWireError::MediaType);
    }

    #[test]
    fn json_bodies_round_trip() {
        let v = Verdict::Compromised(vec!["os".into()]);
        let j = serde_json::to_string(&v).unwrap();
        assert_eq!(j, r#"{"compromised":["os"]}"#);
        assert_eq!(serde_json::from_str::<Verdict>(&j).unwrap(), v);
        assert_eq!(serde_json::to_string(&Verdict::Valid).unwrap(), r#""valid""#);
        let a = AuthResponse { imsi: "001010000000001".into(), res: vec![1, 2, 3, 4, 5, 6, 7, 8] };
        let j = serde_json::to_string(&a).unwrap();
        assert_eq!(j, r#"{"imsi":"001010000000001","res":"0102030405060708"}"#);
        assert_eq!(serde_json::from_str::<AuthResponse>(&j).unwrap(), a);
        let c = Challenge { rand: [1; 16], autn: [2; 16] };
        assert_eq!(serde_json::from_str::<Challenge>(&serde_json::to_string(&c).unwrap()).unwrap(), c);
        // A RAND of the wrong length is refused.
        assert!(serde_json::from_str::<Challenge>(r#"{"rand":"01","autn":"02"}"#).is_err());
    }
}

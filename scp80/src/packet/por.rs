//! Verifying a Proof of Receipt on the sending side (TS 102 225 §5.1.7, TS 31.115 §4.2): [`verify_por`]
//! deciphers and checks a PoR against the command it answers and gives a [`PorReport`] (status, TAR,
//! counter, PCNTR, the RC/CC result as a [`ChecksumCheck`], the response data decoded as a TS 102 226
//! [`RemoteResponse`], and [`PorFinding`]s about anything unusual).
//!
//! Where the PoR comes from: on SMS-PP the user data starting `02 71 00` (in the SMS-DELIVER-REPORT, see
//! [`por_user_data_from_deliver_report`], or in an SMS-SUBMIT the card sent with SEND SHORT MESSAGE, see
//! [`por_user_data_from_submit`]); on CAT_TP, TCP/IP and USSD the response packet from the RPI.
//!
//! Lenient where real cards are (decisions, after pySim's real-card traces and SIMTester):
//! - An error PoR may come back unciphered and without RC/CC although SPI2 asked for them (a sysmoISIM
//!   answers a replay with `027100000b0ab0001000000000000006`). A PoR whose RHL announces no RC/CC while
//!   SPI2 asks for one is read in plaintext; when its status is an error it is accepted and flagged
//!   [`PorFinding::UnprotectedErrorPor`] ([`PorReport::accepted`]), never [`PorReport::trusted`]. A PoR OK
//!   without the RC/CC is not accepted.
//! - When SPI2 asks for ciphering but the secured part is not a whole number of cipher blocks, it cannot be
//!   ciphered: it is read in plaintext and flagged [`PorFinding::NotCiphered`].
//! - The proprietary header `02 7F 00` is recognised ([`PorFinding::ProprietaryHeader`]); the RC/CC then
//!   covers it as received.
//! - A counter that came back other than the one sent is flagged [`PorFinding::CntrMismatch`] (error PoRs
//!   often carry zeros), as is a TAR other than the command's.
//! - The response data format is not visible in the bytes (TS 102 226 §7 tells compact and expanded apart by
//!   TAR); [`ResponseFormat::Auto`] reads data starting `AB`/`AF` that decodes as an expanded response as
//!   expanded, and anything else of 3 octets or more as compact.

use m2msim_codec::ota::{
    Checksum, Cntr, CommandHeader, PorStatus, PorUdh, ResponsePacket, ResponseUserData, Tar, Transport,
};
use m2msim_codec::rfm::{CompactResponse, ExpandedResponse};
use m2msim_codec::sms::tpdu::{DeliverReport, RpKind, Submit};
use m2msim_codec::{Decode as _, DecodeError, DecodeErrorKind, DecodeResult};
use serde::{Deserialize, Serialize};

use super::{PacketError, PacketKeys, field_len_fits, frame_response, resolve_checksum, verify_field};

/// How to read the additional response data of a PoR (TS 102 226 §5.1.2 compact, §5.2.2 expanded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseFormat {
    /// Expanded when the data starts `AB`/`AF` and decodes as such, else compact (see the module docs).
    #[default]
    Auto,
    /// Compact: executed commands, last SW, last data.
    Compact,
    /// Expanded: response scripting template `AB` / `AF`.
    Expanded,
    /// Do not decode.
    Raw,
}

/// Response data of a remote command script (TS 102 226 §5.1.2, §5.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoteResponse {
    /// Compact format.
    Compact(CompactResponse),
    /// Expanded format.
    Expanded(ExpandedResponse),
}

impl RemoteResponse {
    /// Reads `data` as `format` says; `None` when it does not decode (or for [`ResponseFormat::Raw`]).
    #[must_use]
    pub fn decode(data: &[u8], format: ResponseFormat) -> Option<Self> {
        let expanded = || ExpandedResponse::decode_exact(data).ok().map(Self::Expanded);
        let compact = || CompactResponse::decode_exact(data).ok().map(Self::Compact);
        match format {
            ResponseFormat::Raw => None,
            ResponseFormat::Compact => compact(),
            ResponseFormat::Expanded => expanded(),
            ResponseFormat::Auto => match data.first() {
                Some(0xAB | 0xAF) => expanded().or_else(compact),
                _ => compact(),
            },
        }
    }
}

/// The outcome of checking a PoR's RC/CC/DS against what SPI2 b4b3 asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumCheck {
    /// SPI2 asked for none and the PoR carries none.
    NotRequested,
    /// The RC/CC verified.
    Verified,
    /// The RC/CC did not verify (or had a length the algorithm cannot have).
    Failed,
    /// SPI2 asked for one, but the PoR carries none (an unprotected PoR).
    Missing,
    /// SPI2 asked for none, but the PoR carries one (not checked).
    Unrequested,
    /// SPI2 asked for a digital signature, which cannot be checked.
    Unsupported,
}

/// Something unusual about a PoR.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PorFinding {
    /// An error PoR came back without the ciphering and/or RC/CC SPI2 asked for (accepted).
    UnprotectedErrorPor,
    /// SPI2 asked for ciphering but the secured part is not block-aligned, so it was read in plaintext.
    NotCiphered,
    /// The PoR user data started with the proprietary `02 7F 00` instead of `02 71 00`.
    ProprietaryHeader,
    /// The counter came back different from the one sent.
    CntrMismatch {
        /// The command's counter.
        sent: Cntr,
        /// The PoR's counter.
        received: Cntr,
    },
    /// The PoR names another TAR than the command.
    TarMismatch {
        /// The command's TAR.
        sent: Tar,
        /// The PoR's TAR.
        received: Tar,
    },
    /// PCNTR exceeds the data; the data is given with its padding.
    PcntrTooLarge {
        /// PCNTR.
        pcntr: u8,
        /// Octets of data (padding included).
        len: usize,
    },
    /// The RC/CC field has a length the algorithm cannot give.
    ChecksumLength {
        /// The algorithm's length.
        expected: usize,
        /// The field's length (RHL − 10).
        actual: usize,
    },
}

/// A checked PoR (TS 102 225 §5.1.7): its fields in plaintext, the RC/CC result and the findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PorReport {
    /// The bearer it came on.
    pub transport: Transport,
    /// The SMS-PP user-data header (`02 71 00` or the proprietary `02 7F 00`); `None` elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udh: Option<PorUdh>,
    /// Response status code.
    pub status: PorStatus,
    /// TAR.
    pub tar: Tar,
    /// Counter as received.
    pub cntr: Cntr,
    /// Padding counter.
    pub pcntr: u8,
    /// Whether the secured part was deciphered.
    pub deciphered: bool,
    /// The RC/CC/DS field as received (empty when none).
    #[serde(with = "m2msim_codec::hexser")]
    pub rc_cc_ds: Vec<u8>,
    /// The RC/CC result.
    pub checksum: ChecksumCheck,
    /// The additional response data without padding.
    #[serde(with = "m2msim_codec::hexser")]
    pub data: Vec<u8>,
    /// The response data decoded (TS 102 226), when it decodes in the format asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<RemoteResponse>,
    /// Anything unusual.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<PorFinding>,
}

impl PorReport {
    /// True when the PoR is protected as SPI2 asked and matches the command: the RC/CC verified (or none
    /// was asked for), it was deciphered if asked, and TAR, counter and padding are consistent.
    #[must_use]
    pub fn trusted(&self) -> bool {
        matches!(self.checksum, ChecksumCheck::Verified | ChecksumCheck::NotRequested)
            && !self.findings.iter().any(|f| {
                matches!(
                    f,
                    PorFinding::NotCiphered
                        | PorFinding::UnprotectedErrorPor
                        | PorFinding::CntrMismatch { .. }
                        | PorFinding::TarMismatch { .. }
                        | PorFinding::PcntrTooLarge { .. }
                        | PorFinding::ChecksumLength { .. }
                )
            })
    }

    /// True when the PoR can be acted on: [`trusted`](Self::trusted), or an unprotected error PoR for the
    /// command's TAR (the leniency real cards need; its status is information, not proof).
    #[must_use]
    pub fn accepted(&self) -> bool {
        self.trusted()
            || (self.findings.contains(&PorFinding::UnprotectedErrorPor)
                && !self.findings.iter().any(|f| matches!(f, PorFinding::TarMismatch { .. })))
    }
}

/// Verifies the PoR that answers a command with `header` (and counter `sent_cntr`, when known) on
/// `transport` (TS 102 225 §5.1.7, TS 31.115 §4.2; see the module docs for the lenient cases).
///
/// `bytes` is the PoR user data from `02 71 00` (or `02 7F 00`) on SMS-PP, the response packet from the
/// RPI on CAT_TP, TCP/IP and USSD. SPI2 of `header` says how it is protected: b5 ciphered with the KIc key,
/// b4b3 RC/CC with the KID (read as an RC or a CC as b4b3 says).
///
/// # Errors
/// [`PacketError::Decode`] when the bytes are not a PoR; key errors when the keys SPI2 needs are missing;
/// a wrong RC/CC is not an error but [`ChecksumCheck::Failed`].
pub fn verify_por<K: PacketKeys + ?Sized>(
    keys: &K,
    header: &CommandHeader,
    sent_cntr: Option<Cntr>,
    transport: Transport,
    bytes: &[u8],
    format: ResponseFormat,
) -> Result<PorReport, PacketError> {
    let Some(frame) = frame_response(bytes, transport) else {
        // The codec's decoders say what is wrong (and where).
        let e = if transport == Transport::SmsPp {
            ResponseUserData::decode_exact(bytes).err()
        } else {
            ResponsePacket::decode_for(transport, bytes).err()
        };
        return Err(e.unwrap_or_else(|| DecodeError::invalid("PoR", "does not frame", 0)).into());
    };
    let (udh, secured_at) = (frame.udh, frame.secured_at);
    let spi = header.spi;
    let rc_len = frame.rc_len;
    let asked = spi.por_checksum();
    let unprotected = rc_len == 0 && asked != Checksum::None;
    let mut findings = Vec::new();
    if udh == Some(PorUdh::Proprietary7F) {
        findings.push(PorFinding::ProprietaryHeader);
    }

    let tar = frame.tar;
    let mut plain = bytes.get(secured_at..).unwrap_or_default().to_vec();
    let mut deciphered = false;
    if spi.por_ciphered() && !unprotected {
        // A secured part that is not a whole number of blocks cannot be ciphered: the cipher refuses it
        // (and leaves it as is).
        match keys.cipher(header.kic)?.decrypt(&mut plain) {
            Ok(()) => deciphered = true,
            Err(crate::crypto::CryptoError::NotBlockAligned { .. }) => findings.push(PorFinding::NotCiphered),
            Err(e) => return Err(e.into()),
        }
    }

    let truncated = |at: usize| {
        DecodeError::new(
            DecodeErrorKind::Truncated {
                expected: "CNTR, PCNTR, status and RC/CC/DS",
                needed: 7 + rc_len - plain.len().min(7 + rc_len),
                remaining: plain.len(),
            },
            at,
        )
    };
    let (fixed, rest) = match (plain.get(..7), plain.get(7..)) {
        (Some(f), Some(r)) if r.len() >= rc_len => (f, r),
        _ => return Err(truncated(secured_at).into()),
    };
    let mut cntr = Cntr::default();
    cntr.0.copy_from_slice(fixed.get(..5).unwrap_or(&[0; 5]));
    let pcntr = fixed.get(5).copied().unwrap_or(0);
    let status = PorStatus::from_u8(fixed.get(6).copied().unwrap_or(0));
    let (received_rc, padded) = rest.split_at(rc_len);

    let checksum = if unprotected {
        ChecksumCheck::Missing
    } else {
        match asked {
            Checksum::None if rc_len > 0 => ChecksumCheck::Unrequested,
            Checksum::None => ChecksumCheck::NotRequested,
            Checksum::Ds => ChecksumCheck::Unsupported,
            Checksum::Rc | Checksum::Cc => {
                // Lazy on purpose: an eager error costs a PacketError drop per PoR (callgrind).
                #[allow(clippy::unnecessary_lazy_evaluations)]
                let ck = resolve_checksum(keys, asked, header.kid)?.ok_or_else(|| {
                    PacketError::Crypto(crate::crypto::CryptoError::MissingKey { algorithm: "RC/CC" })
                })?;
                if !field_len_fits(ck, rc_len) {
                    findings.push(PorFinding::ChecksumLength { expected: ck.field_len(), actual: rc_len });
                    ChecksumCheck::Failed
                } else {
                    let head = bytes.get(..secured_at).unwrap_or_default();
                    if verify_field(ck, &[head, fixed, padded], received_rc) {
                        ChecksumCheck::Verified
                    } else {
                        ChecksumCheck::Failed
                    }
                }
            }
        }
    };
    let unciphered_error = findings.contains(&PorFinding::NotCiphered) && asked == Checksum::None;
    if status != PorStatus::Ok && (unprotected || unciphered_error) {
        findings.push(PorFinding::UnprotectedErrorPor);
    }

    let keep = match padded.len().checked_sub(pcntr as usize) {
        Some(keep) => keep,
        None => {
            findings.push(PorFinding::PcntrTooLarge { pcntr, len: padded.len() });
            padded.len()
        }
    };
    let rc_cc_ds = received_rc.to_vec();
    if let Some(sent) = sent_cntr
        && sent != cntr
    {
        findings.push(PorFinding::CntrMismatch { sent, received: cntr });
    }
    if tar != header.tar {
        findings.push(PorFinding::TarMismatch { sent: header.tar, received: tar });
    }
    // The data without padding, in the deciphered buffer itself (no copy).
    let start = 7 + rc_len;
    plain.truncate(start + keep);
    let from = start.min(plain.len());
    plain.copy_within(from.., 0);
    plain.truncate(keep);
    let data = plain;
    let response = if data.is_empty() { None } else { RemoteResponse::decode(&data, format) };
    Ok(PorReport {
        transport,
        udh,
        status,
        tar,
        cntr,
        pcntr,
        deciphered,
        rc_cc_ds,
        checksum,
        data,
        response,
        findings,
    })
}

/// The PoR user data (`02 71 00 …`) of an SMS-SUBMIT TPDU the card sent by SEND SHORT MESSAGE (TS 31.115
/// §4.2, SPI2 b6 = 1).
///
/// # Errors
/// When the TPDU does not decode.
pub fn por_user_data_from_submit(tpdu: &[u8]) -> DecodeResult<Vec<u8>> {
    Ok(Submit::decode_exact(tpdu)?.user_data.ud_octets())
}

/// The PoR user data of an SMS-DELIVER-REPORT TPDU (RP-ACK or RP-ERROR as `kind` says). The card cannot
/// set TP-UDHI there, so the user data is read as if it were set (TS 31.115 §4.2): header octets and body
/// together.
///
/// # Errors
/// When the TPDU does not decode or carries no user data.
pub fn por_user_data_from_deliver_report(tpdu: &[u8], kind: RpKind) -> DecodeResult<Vec<u8>> {
    let report = match kind {
        RpKind::Ack => DeliverReport::decode_ack(tpdu)?,
        RpKind::Error => DeliverReport::decode_error(tpdu)?,
    };
    report.user_data.map(|u| u.ud_octets()).ok_or_else(|| {
        DecodeError::invalid("SMS-DELIVER-REPORT", "carries no user data (TP-PI b2 = 0)", tpdu.len())
    })
}

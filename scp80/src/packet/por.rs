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

use super::{
    PacketError, PacketKeys, checksum_parts, fitting_len, frame_response, resolve_checksum, verify_field,
};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// True when the PoR is protected as SPI2 asks and matches the command: the RC/CC verified (or none
    /// was asked for), it was deciphered if asked, and TAR, counter and padding are consistent.
    #[must_use]
    pub fn trusted(&self) -> bool {
        trusted(self.checksum, &self.findings)
    }

    /// True when the PoR can be acted on: [`trusted`](Self::trusted), or an unprotected error PoR for the
    /// command's TAR (the leniency real cards need; its status is information, not proof).
    #[must_use]
    pub fn accepted(&self) -> bool {
        accepted(self.checksum, &self.findings)
    }
}

/// See [`PorReport::trusted`].
fn trusted(checksum: ChecksumCheck, findings: &[PorFinding]) -> bool {
    matches!(checksum, ChecksumCheck::Verified | ChecksumCheck::NotRequested)
        && !findings.iter().any(|f| {
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

/// See [`PorReport::accepted`].
fn accepted(checksum: ChecksumCheck, findings: &[PorFinding]) -> bool {
    trusted(checksum, findings)
        || (findings.contains(&PorFinding::UnprotectedErrorPor)
            && !findings.iter().any(|f| matches!(f, PorFinding::TarMismatch { .. })))
}

impl PorFinding {
    /// The kind's place in [`PorFindings`] (the order [`verify_por`] finds them in).
    const fn index(&self) -> u8 {
        match self {
            Self::ProprietaryHeader => 0,
            Self::NotCiphered => 1,
            Self::ChecksumLength { .. } => 2,
            Self::UnprotectedErrorPor => 3,
            Self::PcntrTooLarge { .. } => 4,
            Self::CntrMismatch { .. } => 5,
            Self::TarMismatch { .. } => 6,
        }
    }
}

/// The [`PorFinding`]s of one PoR, kept inline (no allocation): one bit per kind (each is found at most
/// once) and the values the kinds carry. They iterate in the order [`verify_por`] finds them (proprietary
/// header, not ciphered, checksum length, unprotected error PoR, PCNTR too large, CNTR mismatch, TAR
/// mismatch), which is also the order a deserialised list is put in. Serialised as a list.
#[derive(Clone, Copy, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<PorFinding>", into = "Vec<PorFinding>")]
pub struct PorFindings {
    kinds: u8,
    sent_cntr: Cntr,
    received_cntr: Cntr,
    sent_tar: Tar,
    received_tar: Tar,
    pcntr: u8,
    padded_len: usize,
    expected_rc: usize,
    actual_rc: usize,
}

/// The kinds [`PorVerdict::trusted`] refuses: all but the proprietary header.
const UNTRUSTED: u8 = 0b111_1110;
const UNPROTECTED_ERROR: u8 = 1 << 3;
const TAR_MISMATCH: u8 = 1 << 6;

impl PorFindings {
    /// None.
    #[must_use]
    #[inline]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a finding; a second one of the same kind replaces the first.
    pub fn insert(&mut self, f: PorFinding) {
        self.kinds |= 1 << f.index();
        match f {
            PorFinding::ChecksumLength { expected, actual } => {
                (self.expected_rc, self.actual_rc) = (expected, actual);
            }
            PorFinding::PcntrTooLarge { pcntr, len } => (self.pcntr, self.padded_len) = (pcntr, len),
            PorFinding::CntrMismatch { sent, received } => {
                (self.sent_cntr, self.received_cntr) = (sent, received)
            }
            PorFinding::TarMismatch { sent, received } => {
                (self.sent_tar, self.received_tar) = (sent, received)
            }
            PorFinding::ProprietaryHeader | PorFinding::NotCiphered | PorFinding::UnprotectedErrorPor => {}
        }
    }

    /// True when a finding of the kind with this index is present.
    const fn has(&self, index: u8) -> bool {
        self.kinds & (1 << index) != 0
    }

    /// The finding of the kind with this index, when present.
    fn get(&self, index: u8) -> Option<PorFinding> {
        if !self.has(index) {
            return None;
        }
        Some(match index {
            0 => PorFinding::ProprietaryHeader,
            1 => PorFinding::NotCiphered,
            2 => PorFinding::ChecksumLength { expected: self.expected_rc, actual: self.actual_rc },
            3 => PorFinding::UnprotectedErrorPor,
            4 => PorFinding::PcntrTooLarge { pcntr: self.pcntr, len: self.padded_len },
            5 => PorFinding::CntrMismatch { sent: self.sent_cntr, received: self.received_cntr },
            _ => PorFinding::TarMismatch { sent: self.sent_tar, received: self.received_tar },
        })
    }

    /// The findings in the order of the type's docs.
    pub fn iter(&self) -> impl Iterator<Item = PorFinding> + '_ {
        (0..7).filter_map(|i| self.get(i))
    }

    /// True when `f` (with its values) is among them.
    #[must_use]
    pub fn contains(&self, f: &PorFinding) -> bool {
        self.get(f.index()).as_ref() == Some(f)
    }

    /// How many.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.kinds.count_ones() as usize
    }

    /// True when there are none.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.kinds == 0
    }
}

impl PartialEq for PorFindings {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for PorFindings {}

impl std::fmt::Debug for PorFindings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl From<PorFindings> for Vec<PorFinding> {
    fn from(f: PorFindings) -> Self {
        if f.is_empty() { Self::new() } else { f.iter().collect() }
    }
}

impl TryFrom<Vec<PorFinding>> for PorFindings {
    type Error = &'static str;

    fn try_from(v: Vec<PorFinding>) -> Result<Self, Self::Error> {
        let mut out = Self::new();
        for f in v {
            if out.has(f.index()) {
                return Err("a PoR finding kind appears twice");
            }
            out.insert(f);
        }
        Ok(out)
    }
}

/// The result of [`verify_por_into`]: a [`PorReport`] whose variable parts stay in the caller's
/// plaintext buffer (no allocation per PoR), and without the decoded response data (decode it with
/// [`RemoteResponse::decode`] when needed, or make the report with [`PorVerdict::into_report`]).
///
/// The buffer holds the plaintext secured part from CNTR to the end, padding included;
/// [`PorVerdict::rc_cc_ds`] and [`PorVerdict::data`] find their octets in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PorVerdict {
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
    /// The RC/CC result.
    pub checksum: ChecksumCheck,
    /// Anything unusual.
    #[serde(default, skip_serializing_if = "PorFindings::is_empty")]
    pub findings: PorFindings,
    /// The length of the RC/CC/DS field (RHL − 10); it follows the 7 octets CNTR, PCNTR and status.
    pub rc_len: usize,
    /// The length of the additional response data without padding; it follows the RC/CC/DS field.
    pub data_len: usize,
}

impl PorVerdict {
    /// As [`PorReport::trusted`].
    #[must_use]
    pub fn trusted(&self) -> bool {
        matches!(self.checksum, ChecksumCheck::Verified | ChecksumCheck::NotRequested)
            && self.findings.kinds & UNTRUSTED == 0
    }

    /// As [`PorReport::accepted`].
    #[must_use]
    pub fn accepted(&self) -> bool {
        self.trusted()
            || (self.findings.kinds & UNPROTECTED_ERROR != 0 && self.findings.kinds & TAR_MISMATCH == 0)
    }

    /// The RC/CC/DS field as received, from the buffer [`verify_por_into`] filled (empty when none).
    #[must_use]
    pub fn rc_cc_ds<'b>(&self, plain: &'b [u8]) -> &'b [u8] {
        plain.get(7..7 + self.rc_len).unwrap_or_default()
    }

    /// The additional response data without padding, from the buffer [`verify_por_into`] filled.
    #[must_use]
    pub fn data<'b>(&self, plain: &'b [u8]) -> &'b [u8] {
        let at = 7 + self.rc_len;
        plain.get(at..at + self.data_len).unwrap_or_default()
    }

    /// The [`PorReport`], taking the buffer [`verify_por_into`] filled as its data (cut down to the
    /// response data in place) and decoding the response data as `format` says.
    #[must_use]
    pub fn into_report(self, mut plain: Vec<u8>, format: ResponseFormat) -> PorReport {
        let rc_cc_ds = self.rc_cc_ds(&plain).to_vec();
        let start = 7 + self.rc_len;
        plain.truncate(start + self.data_len);
        let from = start.min(plain.len());
        plain.copy_within(from.., 0);
        plain.truncate(self.data_len);
        let data = plain;
        let response = if data.is_empty() { None } else { RemoteResponse::decode(&data, format) };
        PorReport {
            transport: self.transport,
            udh: self.udh,
            status: self.status,
            tar: self.tar,
            cntr: self.cntr,
            pcntr: self.pcntr,
            deciphered: self.deciphered,
            rc_cc_ds,
            checksum: self.checksum,
            data,
            response,
            findings: self.findings.into(),
        }
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
    let mut plain = Vec::new();
    let verdict = verify_por_into(keys, header, sent_cntr, transport, bytes, &mut plain)?;
    Ok(verdict.into_report(plain, format))
}

/// As [`verify_por`], with the plaintext secured part (CNTR to the end) written into `plain`, a buffer
/// the caller reuses from PoR to PoR (cleared first): nothing is allocated once it has grown to the
/// largest PoR seen. The response data is not decoded (see [`PorVerdict`]).
///
/// # Errors
/// As [`verify_por`] (`plain` is then unspecified).
pub fn verify_por_into<K: PacketKeys + ?Sized>(
    keys: &K,
    header: &CommandHeader,
    sent_cntr: Option<Cntr>,
    transport: Transport,
    bytes: &[u8],
    plain: &mut Vec<u8>,
) -> Result<PorVerdict, PacketError> {
    plain.clear();
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
    let mut findings = PorFindings::new();
    if udh == Some(PorUdh::Proprietary7F) {
        findings.insert(PorFinding::ProprietaryHeader);
    }

    let tar = frame.tar;
    let (head, secured) = bytes.split_at(secured_at.min(bytes.len()));
    plain.extend_from_slice(secured);
    let mut deciphered = false;
    if spi.por_ciphered() && !unprotected {
        // A secured part that is not a whole number of blocks cannot be ciphered: the cipher refuses it
        // (and leaves it as is).
        match keys.cipher(header.kic)?.decrypt(plain) {
            Ok(()) => deciphered = true,
            Err(crate::crypto::CryptoError::NotBlockAligned { .. }) => {
                findings.insert(PorFinding::NotCiphered)
            }
            Err(e) => return Err(e.into()),
        }
    }

    let (fixed, rest) = match (plain.get(..7), plain.get(7..)) {
        (Some(f), Some(r)) if r.len() >= rc_len => (f, r),
        _ => {
            return Err(DecodeError::new(
                DecodeErrorKind::Truncated {
                    expected: "CNTR, PCNTR, status and RC/CC/DS",
                    needed: 7 + rc_len - plain.len().min(7 + rc_len),
                    remaining: plain.len(),
                },
                secured_at,
            )
            .into());
        }
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
                match fitting_len(ck, rc_len) {
                    None => {
                        findings
                            .insert(PorFinding::ChecksumLength { expected: ck.field_len(), actual: rc_len });
                        ChecksumCheck::Failed
                    }
                    Some(fit) => {
                        let mut first = [0; 16];
                        let parts = checksum_parts(&mut first, head, fixed, padded);
                        if verify_field(ck, &parts, received_rc, fit) {
                            ChecksumCheck::Verified
                        } else {
                            ChecksumCheck::Failed
                        }
                    }
                }
            }
        }
    };
    let unciphered_error = findings.has(PorFinding::NotCiphered.index()) && asked == Checksum::None;
    if status != PorStatus::Ok && (unprotected || unciphered_error) {
        findings.insert(PorFinding::UnprotectedErrorPor);
    }

    let data_len = match padded.len().checked_sub(pcntr as usize) {
        Some(keep) => keep,
        None => {
            findings.insert(PorFinding::PcntrTooLarge { pcntr, len: padded.len() });
            padded.len()
        }
    };
    if let Some(sent) = sent_cntr
        && sent != cntr
    {
        findings.insert(PorFinding::CntrMismatch { sent, received: cntr });
    }
    if tar != header.tar {
        findings.insert(PorFinding::TarMismatch { sent: header.tar, received: tar });
    }
    Ok(PorVerdict {
        transport,
        udh,
        status,
        tar,
        cntr,
        pcntr,
        deciphered,
        checksum,
        findings,
        rc_len,
        data_len,
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

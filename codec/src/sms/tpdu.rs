//! The TPDUs of TS 23.040 §9.2.2: [`Deliver`] (SC→MS), [`Submit`] (MS→SC), [`DeliverReport`] (MS→SC, RP-ACK
//! and RP-ERROR forms) and [`StatusReport`] (SC→MS), plus [`Tpdu`] to decode by direction.
//!
//! The first octet is kept raw in every TPDU (MTI, MMS/RD, LP, SRI/SRR/SRQ, UDHI, RP and the reserved
//! bits), with typed getters. Two sets of bits are derived when encoding so the value has one source of
//! truth: the SMS-SUBMIT TP-VPF from [`Submit::validity_period`], and the TP-PI presence bits (PID, DCS,
//! UDL) from the optional fields. Decoding always yields values for which this gives back the same bytes.
//!
//! [`DeliverRef`] and [`SubmitRef`] are zero-copy views (user data borrowed from the input); the owned
//! decoders are built on them.
//!
//! Direction: TP-MTI `00` is SMS-DELIVER from the SC and SMS-DELIVER-REPORT from the MS. This module
//! implements the DELIVER-REPORT in the MS→SC direction only (the direction the card and ME use: the PoR
//! travels in it), and the SMS-STATUS-REPORT SC→MS. SMS-SUBMIT-REPORT and SMS-COMMAND are not modelled.

use serde::{Deserialize, Serialize};

use super::address::Address;
use super::fields::{Dcs, Pid, Scts, ValidityPeriod};
use super::user_data::{UserData, UserDataRef};
use crate::error::{DecodeErrorKind, DecodeResult};
use crate::reader::{Decode, DecodeRef, Encode, Reader};

const UDHI: u8 = 0x40;

/// Serde helper: `Option<u8>` as two hex digits or null (TP-FCS, TP-PI).
mod opt_byte {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(b: &Option<u8>, s: S) -> Result<S::Ok, S::Error> {
        match b {
            Some(b) => crate::hexser::byte::serialize(b, s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u8>, D::Error> {
        #[derive(Deserialize)]
        struct Hex(#[serde(with = "crate::hexser::byte")] u8);
        Ok(Option::<Hex>::deserialize(d)?.map(|h| h.0))
    }
}

fn check_mti(
    r: &Reader<'_>,
    first: u8,
    mti: u8,
    what: &'static str,
    reason: &'static str,
) -> DecodeResult<()> {
    if first & 3 == mti { Ok(()) } else { Err(r.invalid_at(1, what, reason)) }
}

/// SMS-DELIVER (TS 23.040 §9.2.2.1), SC→MS.
///
/// First octet: b1b0 TP-MTI `00`, b2 TP-MMS (1 = no more messages waiting), b3 TP-LP, b4 reserved,
/// b5 TP-SRI, b6 TP-UDHI, b7 TP-RP.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Deliver {
    /// The first octet, raw.
    #[serde(with = "crate::hexser::byte")]
    pub first_octet: u8,
    /// TP-OA.
    pub originator: Address,
    /// TP-PID.
    pub pid: Pid,
    /// TP-DCS.
    pub dcs: Dcs,
    /// TP-SCTS.
    pub scts: Scts,
    /// TP-UDL and TP-UD.
    pub user_data: UserData,
}

impl Deliver {
    /// Builder: TP-MTI `00`, TP-UDHI set when the user data has a header, every other bit 0 (TP-MMS 0 as
    /// in pySim's OTA vectors; set bit 2 in `first_octet` for "no more messages").
    #[must_use]
    pub fn new(originator: Address, pid: Pid, dcs: Dcs, scts: Scts, user_data: UserData) -> Self {
        let first_octet = if user_data.header.is_some() { UDHI } else { 0 };
        Self { first_octet, originator, pid, dcs, scts, user_data }
    }

    /// TP-MMS = 0: more messages are waiting in the SC.
    #[must_use]
    pub const fn more_messages_waiting(&self) -> bool {
        self.first_octet & 0x04 == 0
    }

    /// TP-LP: loop prevention.
    #[must_use]
    pub const fn loop_prevention(&self) -> bool {
        self.first_octet & 0x08 != 0
    }

    /// TP-SRI: a status report will be returned to the SME.
    #[must_use]
    pub const fn status_report_indication(&self) -> bool {
        self.first_octet & 0x20 != 0
    }

    /// TP-UDHI.
    #[must_use]
    pub const fn udhi(&self) -> bool {
        self.first_octet & UDHI != 0
    }

    /// TP-RP: reply path.
    #[must_use]
    pub const fn reply_path(&self) -> bool {
        self.first_octet & 0x80 != 0
    }

    /// Encoded size.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        1 + self.originator.encoded_len() + 2 + 7 + self.user_data.encoded_len()
    }
}

impl Decode for Deliver {
    const NAME: &'static str = "SMS-DELIVER";

    /// Built on [`DeliverRef`]'s decoder.
    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        DeliverRef::decode_from(r).map(|d| d.to_owned())
    }
}

impl Encode for Deliver {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        out.push(self.first_octet);
        self.originator.encode_to(out);
        out.push(self.pid.0);
        out.push(self.dcs.0);
        out.extend_from_slice(&self.scts.0);
        self.user_data.encode_to(out);
    }
}

/// SMS-DELIVER (TS 23.040 §9.2.2.1) as a borrowed view: the fields of [`Deliver`] with the user data
/// ([`UserDataRef`]) borrowed from the TPDU, so reading one allocates nothing (the TP-OA is a fixed-size
/// [`Address`] already). Its decoder is the one SMS-DELIVER parser ([`Deliver`]'s is built on it);
/// [`DeliverRef::to_owned`] gives the owned TPDU.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeliverRef<'a> {
    /// The first octet, raw.
    pub first_octet: u8,
    /// TP-OA.
    pub originator: Address,
    /// TP-PID.
    pub pid: Pid,
    /// TP-DCS.
    pub dcs: Dcs,
    /// TP-SCTS.
    pub scts: Scts,
    /// TP-UDL and TP-UD.
    pub user_data: UserDataRef<'a>,
}

impl DeliverRef<'_> {
    /// The owned TPDU.
    #[must_use]
    pub fn to_owned(&self) -> Deliver {
        Deliver {
            first_octet: self.first_octet,
            originator: self.originator,
            pid: self.pid,
            dcs: self.dcs,
            scts: self.scts,
            user_data: self.user_data.to_owned(),
        }
    }

    /// TP-UDHI.
    #[must_use]
    pub const fn udhi(&self) -> bool {
        self.first_octet & UDHI != 0
    }

    /// Encoded size.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        1 + self.originator.encoded_len() + 2 + 7 + self.user_data.encoded_len()
    }
}

impl<'a> DecodeRef<'a> for DeliverRef<'a> {
    const NAME: &'static str = "SMS-DELIVER";

    fn decode_from(r: &mut Reader<'a>) -> DecodeResult<Self> {
        let first_octet = r.u8("first octet of SMS-DELIVER")?;
        check_mti(r, first_octet, 0, "TP-MTI", "not SMS-DELIVER (00)")?;
        let originator = Address::read(r, "TP-OA")?;
        let pid = Pid(r.u8("TP-PID")?);
        let dcs = Dcs(r.u8("TP-DCS")?);
        let scts = Scts(r.array("TP-SCTS")?);
        let user_data = UserDataRef::read(r, first_octet & UDHI != 0, dcs)?;
        Ok(Self { first_octet, originator, pid, dcs, scts, user_data })
    }
}

impl Encode for DeliverRef<'_> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        out.push(self.first_octet);
        self.originator.encode_to(out);
        out.push(self.pid.0);
        out.push(self.dcs.0);
        out.extend_from_slice(&self.scts.0);
        self.user_data.encode_to(out);
    }
}

/// SMS-SUBMIT (TS 23.040 §9.2.2.2), MS→SC.
///
/// First octet: b1b0 TP-MTI `01`, b2 TP-RD, b4b3 TP-VPF (derived from [`Submit::validity_period`] when
/// encoding), b5 TP-SRR, b6 TP-UDHI, b7 TP-RP.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Submit {
    /// The first octet, raw (its VPF bits are rewritten from `validity_period` when encoding).
    #[serde(with = "crate::hexser::byte")]
    pub first_octet: u8,
    /// TP-MR.
    pub message_reference: u8,
    /// TP-DA.
    pub destination: Address,
    /// TP-PID.
    pub pid: Pid,
    /// TP-DCS.
    pub dcs: Dcs,
    /// TP-VP (its format is TP-VPF).
    pub validity_period: ValidityPeriod,
    /// TP-UDL and TP-UD.
    pub user_data: UserData,
}

impl Submit {
    /// Builder: TP-MTI `01`, VPF from `validity_period`, TP-UDHI when the user data has a header.
    #[must_use]
    pub fn new(
        message_reference: u8,
        destination: Address,
        pid: Pid,
        dcs: Dcs,
        validity_period: ValidityPeriod,
        user_data: UserData,
    ) -> Self {
        let first_octet =
            0x01 | validity_period.vpf_bits() | if user_data.header.is_some() { UDHI } else { 0 };
        Self { first_octet, message_reference, destination, pid, dcs, validity_period, user_data }
    }

    /// TP-RD: reject duplicates.
    #[must_use]
    pub const fn reject_duplicates(&self) -> bool {
        self.first_octet & 0x04 != 0
    }

    /// TP-SRR: status report requested.
    #[must_use]
    pub const fn status_report_request(&self) -> bool {
        self.first_octet & 0x20 != 0
    }

    /// TP-UDHI.
    #[must_use]
    pub const fn udhi(&self) -> bool {
        self.first_octet & UDHI != 0
    }

    /// TP-RP: reply path.
    #[must_use]
    pub const fn reply_path(&self) -> bool {
        self.first_octet & 0x80 != 0
    }

    /// Encoded size.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        2 + self.destination.encoded_len()
            + 2
            + self.validity_period.encoded_len()
            + self.user_data.encoded_len()
    }
}

impl Decode for Submit {
    const NAME: &'static str = "SMS-SUBMIT";

    /// Built on [`SubmitRef`]'s decoder.
    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        SubmitRef::decode_from(r).map(|s| s.to_owned())
    }
}

/// SMS-SUBMIT (TS 23.040 §9.2.2.2) as a borrowed view: the fields of [`Submit`] with the user data
/// borrowed. Its decoder is the one SMS-SUBMIT parser ([`Submit`]'s is built on it); [`SubmitRef::to_owned`]
/// gives the owned TPDU. Encoding derives the TP-VPF bits from the validity period as [`Submit`] does (a
/// decoded view's bits always match it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubmitRef<'a> {
    /// The first octet, raw.
    pub first_octet: u8,
    /// TP-MR.
    pub message_reference: u8,
    /// TP-DA.
    pub destination: Address,
    /// TP-PID.
    pub pid: Pid,
    /// TP-DCS.
    pub dcs: Dcs,
    /// TP-VP (its format is TP-VPF).
    pub validity_period: ValidityPeriod,
    /// TP-UDL and TP-UD.
    pub user_data: UserDataRef<'a>,
}

impl SubmitRef<'_> {
    /// The owned TPDU.
    #[must_use]
    pub fn to_owned(&self) -> Submit {
        Submit {
            first_octet: self.first_octet,
            message_reference: self.message_reference,
            destination: self.destination,
            pid: self.pid,
            dcs: self.dcs,
            validity_period: self.validity_period,
            user_data: self.user_data.to_owned(),
        }
    }
}

impl<'a> DecodeRef<'a> for SubmitRef<'a> {
    const NAME: &'static str = "SMS-SUBMIT";

    fn decode_from(r: &mut Reader<'a>) -> DecodeResult<Self> {
        let first_octet = r.u8("first octet of SMS-SUBMIT")?;
        check_mti(r, first_octet, 1, "TP-MTI", "not SMS-SUBMIT (01)")?;
        let message_reference = r.u8("TP-MR")?;
        let destination = Address::read(r, "TP-DA")?;
        let pid = Pid(r.u8("TP-PID")?);
        let dcs = Dcs(r.u8("TP-DCS")?);
        let validity_period = match first_octet & 0x18 {
            0x00 => ValidityPeriod::None,
            0x10 => ValidityPeriod::Relative(r.u8("TP-VP (relative)")?),
            0x08 => ValidityPeriod::Enhanced(r.array("TP-VP (enhanced)")?),
            _ => ValidityPeriod::Absolute(Scts(r.array("TP-VP (absolute)")?)),
        };
        let user_data = UserDataRef::read(r, first_octet & UDHI != 0, dcs)?;
        Ok(Self { first_octet, message_reference, destination, pid, dcs, validity_period, user_data })
    }
}

impl Encode for SubmitRef<'_> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push((self.first_octet & !0x18) | self.validity_period.vpf_bits());
        out.push(self.message_reference);
        self.destination.encode_to(out);
        out.push(self.pid.0);
        out.push(self.dcs.0);
        write_validity_period(out, &self.validity_period);
        self.user_data.encode_to(out);
    }
}

fn write_validity_period(out: &mut Vec<u8>, vp: &ValidityPeriod) {
    match vp {
        ValidityPeriod::None => {}
        ValidityPeriod::Relative(v) => out.push(*v),
        ValidityPeriod::Enhanced(v) => out.extend_from_slice(v),
        ValidityPeriod::Absolute(s) => out.extend_from_slice(&s.0),
    }
}

impl Encode for Submit {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        out.push((self.first_octet & !0x18) | self.validity_period.vpf_bits());
        out.push(self.message_reference);
        self.destination.encode_to(out);
        out.push(self.pid.0);
        out.push(self.dcs.0);
        write_validity_period(out, &self.validity_period);
        self.user_data.encode_to(out);
    }
}

/// Which RP message carries an SMS-DELIVER-REPORT (TS 23.040 §9.2.2.1a): the TPDU alone does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RpKind {
    /// RP-ACK: no TP-FCS.
    Ack,
    /// RP-ERROR: TP-FCS after the first octet.
    Error,
}

/// Most TP-PI extension octets read (bounded; the spec defines none beyond the first octet).
pub const MAX_PI_EXTENSION: usize = 8;

/// Reads TP-PI and its extension octets (b7 set = another PI octet follows).
fn read_pi(r: &mut Reader<'_>) -> DecodeResult<(u8, Vec<u8>)> {
    let pi = r.u8("TP-PI")?;
    let mut ext = Vec::new();
    let mut last = pi;
    while last & 0x80 != 0 {
        if ext.len() == MAX_PI_EXTENSION {
            return Err(
                r.error(DecodeErrorKind::TooMany { what: "TP-PI extension octets", max: MAX_PI_EXTENSION })
            );
        }
        last = r.u8("TP-PI extension")?;
        ext.push(last);
    }
    Ok((pi, ext))
}

/// Reads the optional PID, DCS and UD a TP-PI announces.
fn read_optional(
    r: &mut Reader<'_>,
    pi: u8,
    udhi: bool,
) -> DecodeResult<(Option<Pid>, Option<Dcs>, Option<UserData>)> {
    let pid = if pi & 0x01 != 0 { Some(Pid(r.u8("TP-PID")?)) } else { None };
    let dcs = if pi & 0x02 != 0 { Some(Dcs(r.u8("TP-DCS")?)) } else { None };
    // Without TP-DCS the default alphabet applies (TS 23.040 §9.2.3.27).
    let ud = if pi & 0x04 != 0 { Some(UserData::read(r, udhi, dcs.unwrap_or_default())?) } else { None };
    Ok((pid, dcs, ud))
}

fn pi_with_presence(pi: u8, pid: bool, dcs: bool, ud: bool) -> u8 {
    (pi & !0x07) | u8::from(pid) | (u8::from(dcs) << 1) | (u8::from(ud) << 2)
}

fn write_optional(out: &mut Vec<u8>, pid: Option<Pid>, dcs: Option<Dcs>, ud: Option<&UserData>) {
    if let Some(p) = pid {
        out.push(p.0);
    }
    if let Some(d) = dcs {
        out.push(d.0);
    }
    if let Some(u) = ud {
        u.encode_to(out);
    }
}

/// SMS-DELIVER-REPORT (TS 23.040 §9.2.2.1a), MS→SC, for RP-ACK (no TP-FCS) or RP-ERROR (with TP-FCS).
///
/// First octet: b1b0 TP-MTI `00`, b6 TP-UDHI, the rest reserved (kept). The TP-PI presence bits are
/// derived from `pid`/`dcs`/`user_data` when encoding; its other bits and extension octets are kept.
/// This is the TPDU that carries an SMS-PP PoR back to the OTA server (TS 31.115 §4.2: the sending
/// entity treats it as if TP-UDHI were set, whatever the bit says).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DeliverReport {
    /// The first octet, raw.
    #[serde(with = "crate::hexser::byte")]
    pub first_octet: u8,
    /// TP-FCS: present for RP-ERROR, absent for RP-ACK.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_byte")]
    pub failure_cause: Option<u8>,
    /// TP-PI (presence bits recomputed when encoding).
    #[serde(with = "crate::hexser::byte")]
    pub parameter_indicator: u8,
    /// TP-PI extension octets, as read.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "crate::hexser")]
    pub pi_extension: Vec<u8>,
    /// TP-PID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<Pid>,
    /// TP-DCS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dcs: Option<Dcs>,
    /// TP-UDL and TP-UD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data: Option<UserData>,
}

impl DeliverReport {
    /// Builder: an RP-ACK report carrying `user_data` (e.g. a PoR) with PID and DCS. TP-UDHI is set when
    /// the user data has a header.
    #[must_use]
    pub fn ack(pid: Pid, dcs: Dcs, user_data: UserData) -> Self {
        let first_octet = if user_data.header.is_some() { UDHI } else { 0 };
        Self {
            first_octet,
            failure_cause: None,
            parameter_indicator: 0x07,
            pi_extension: Vec::new(),
            pid: Some(pid),
            dcs: Some(dcs),
            user_data: Some(user_data),
        }
    }

    /// Builder: an RP-ERROR report with TP-FCS `cause` (e.g. `D4` SIM data download error) and optional
    /// user data.
    #[must_use]
    pub fn error(cause: u8, pid: Option<Pid>, dcs: Option<Dcs>, user_data: Option<UserData>) -> Self {
        let first_octet = if user_data.as_ref().is_some_and(|u| u.header.is_some()) { UDHI } else { 0 };
        Self {
            first_octet,
            failure_cause: Some(cause),
            parameter_indicator: pi_with_presence(0, pid.is_some(), dcs.is_some(), user_data.is_some()),
            pi_extension: Vec::new(),
            pid,
            dcs,
            user_data,
        }
    }

    /// Which RP message this report belongs in.
    #[must_use]
    pub const fn rp_kind(&self) -> RpKind {
        if self.failure_cause.is_some() { RpKind::Error } else { RpKind::Ack }
    }

    /// TP-UDHI.
    #[must_use]
    pub const fn udhi(&self) -> bool {
        self.first_octet & UDHI != 0
    }

    /// Reads a report sent in an RP message of `kind`.
    ///
    /// # Errors
    /// Truncation, a wrong TP-MTI, a UD that overflows.
    pub fn read(r: &mut Reader<'_>, kind: RpKind) -> DecodeResult<Self> {
        let first_octet = r.u8("first octet of SMS-DELIVER-REPORT")?;
        check_mti(r, first_octet, 0, "TP-MTI", "not SMS-DELIVER-REPORT (00)")?;
        let failure_cause = match kind {
            RpKind::Ack => None,
            RpKind::Error => Some(r.u8("TP-FCS")?),
        };
        let (parameter_indicator, pi_extension) = read_pi(r)?;
        let (pid, dcs, user_data) = read_optional(r, parameter_indicator, first_octet & UDHI != 0)?;
        Ok(Self { first_octet, failure_cause, parameter_indicator, pi_extension, pid, dcs, user_data })
    }

    /// Decodes an RP-ACK report filling `bytes`.
    ///
    /// # Errors
    /// As [`DeliverReport::read`], and trailing bytes.
    pub fn decode_ack(bytes: &[u8]) -> DecodeResult<Self> {
        Self::decode_kind(bytes, RpKind::Ack)
    }

    /// Decodes an RP-ERROR report filling `bytes`.
    ///
    /// # Errors
    /// As [`DeliverReport::read`], and trailing bytes.
    pub fn decode_error(bytes: &[u8]) -> DecodeResult<Self> {
        Self::decode_kind(bytes, RpKind::Error)
    }

    fn decode_kind(bytes: &[u8], kind: RpKind) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes);
        let v = Self::read(&mut r, kind)?;
        r.expect_end("SMS-DELIVER-REPORT")?;
        Ok(v)
    }
}

impl Encode for DeliverReport {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(self.first_octet);
        if let Some(f) = self.failure_cause {
            out.push(f);
        }
        out.push(pi_with_presence(
            self.parameter_indicator,
            self.pid.is_some(),
            self.dcs.is_some(),
            self.user_data.is_some(),
        ));
        out.extend_from_slice(&self.pi_extension);
        write_optional(out, self.pid, self.dcs, self.user_data.as_ref());
    }
}

/// SMS-STATUS-REPORT (TS 23.040 §9.2.2.3), SC→MS.
///
/// First octet: b1b0 TP-MTI `10`, b2 TP-MMS, b3 TP-LP, b5 TP-SRQ, b6 TP-UDHI. TP-PI and what it announces
/// are optional (present when octets follow TP-ST).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StatusReport {
    /// The first octet, raw.
    #[serde(with = "crate::hexser::byte")]
    pub first_octet: u8,
    /// TP-MR of the SMS-SUBMIT this reports on.
    pub message_reference: u8,
    /// TP-RA.
    pub recipient: Address,
    /// TP-SCTS.
    pub scts: Scts,
    /// TP-DT: discharge time.
    pub discharge_time: Scts,
    /// TP-ST.
    #[serde(with = "crate::hexser::byte")]
    pub status: u8,
    /// TP-PI, when present (presence bits recomputed when encoding).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_byte")]
    pub parameter_indicator: Option<u8>,
    /// TP-PI extension octets, as read.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "crate::hexser")]
    pub pi_extension: Vec<u8>,
    /// TP-PID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<Pid>,
    /// TP-DCS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dcs: Option<Dcs>,
    /// TP-UDL and TP-UD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data: Option<UserData>,
}

impl StatusReport {
    /// TP-UDHI.
    #[must_use]
    pub const fn udhi(&self) -> bool {
        self.first_octet & UDHI != 0
    }

    /// TP-SRQ: the report answers an SMS-COMMAND (1) or an SMS-SUBMIT (0).
    #[must_use]
    pub const fn status_report_qualifier(&self) -> bool {
        self.first_octet & 0x20 != 0
    }
}

impl Decode for StatusReport {
    const NAME: &'static str = "SMS-STATUS-REPORT";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let first_octet = r.u8("first octet of SMS-STATUS-REPORT")?;
        check_mti(r, first_octet, 2, "TP-MTI", "not SMS-STATUS-REPORT (10)")?;
        let message_reference = r.u8("TP-MR")?;
        let recipient = Address::read(r, "TP-RA")?;
        let scts = Scts(r.array("TP-SCTS")?);
        let discharge_time = Scts(r.array("TP-DT")?);
        let status = r.u8("TP-ST")?;
        let (mut parameter_indicator, mut pi_extension) = (None, Vec::new());
        let (mut pid, mut dcs, mut user_data) = (None, None, None);
        if !r.is_empty() {
            let (pi, ext) = read_pi(r)?;
            (pid, dcs, user_data) = read_optional(r, pi, first_octet & UDHI != 0)?;
            parameter_indicator = Some(pi);
            pi_extension = ext;
        }
        Ok(Self {
            first_octet,
            message_reference,
            recipient,
            scts,
            discharge_time,
            status,
            parameter_indicator,
            pi_extension,
            pid,
            dcs,
            user_data,
        })
    }
}

impl Encode for StatusReport {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(self.first_octet);
        out.push(self.message_reference);
        self.recipient.encode_to(out);
        out.extend_from_slice(&self.scts.0);
        out.extend_from_slice(&self.discharge_time.0);
        out.push(self.status);
        let any = self.pid.is_some() || self.dcs.is_some() || self.user_data.is_some();
        if self.parameter_indicator.is_some() || any {
            out.push(pi_with_presence(
                self.parameter_indicator.unwrap_or(0),
                self.pid.is_some(),
                self.dcs.is_some(),
                self.user_data.is_some(),
            ));
            out.extend_from_slice(&self.pi_extension);
            write_optional(out, self.pid, self.dcs, self.user_data.as_ref());
        }
    }
}

/// Any of the modelled TPDUs, decoded by direction (TS 23.040 §9.2.3.1: the meaning of TP-MTI depends on
/// it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tpdu {
    /// SMS-DELIVER (SC→MS, MTI `00`).
    Deliver(Deliver),
    /// SMS-SUBMIT (MS→SC, MTI `01`).
    Submit(Submit),
    /// SMS-DELIVER-REPORT (MS→SC, MTI `00`).
    DeliverReport(DeliverReport),
    /// SMS-STATUS-REPORT (SC→MS, MTI `10`).
    StatusReport(StatusReport),
}

impl Tpdu {
    /// Decodes a TPDU sent by the SC: SMS-DELIVER or SMS-STATUS-REPORT.
    ///
    /// # Errors
    /// SMS-SUBMIT-REPORT (MTI `01`) and the reserved MTI `11` are refused; otherwise as the TPDU's decoder.
    pub fn decode_sc_to_ms(bytes: &[u8]) -> DecodeResult<Self> {
        match Reader::new(bytes).u8("first octet of the TPDU")? & 3 {
            0 => Deliver::decode_exact(bytes).map(Self::Deliver),
            2 => StatusReport::decode_exact(bytes).map(Self::StatusReport),
            1 => Err(crate::DecodeError::invalid("TP-MTI", "SMS-SUBMIT-REPORT is not supported", 0)),
            _ => Err(crate::DecodeError::invalid("TP-MTI", "reserved (11)", 0)),
        }
    }

    /// Decodes a TPDU sent by the MS: SMS-DELIVER-REPORT (in an RP message of `kind`) or SMS-SUBMIT.
    ///
    /// # Errors
    /// SMS-COMMAND (MTI `10`) and the reserved MTI `11` are refused; otherwise as the TPDU's decoder.
    pub fn decode_ms_to_sc(bytes: &[u8], kind: RpKind) -> DecodeResult<Self> {
        match Reader::new(bytes).u8("first octet of the TPDU")? & 3 {
            0 => DeliverReport::decode_kind(bytes, kind).map(Self::DeliverReport),
            1 => Submit::decode_exact(bytes).map(Self::Submit),
            2 => Err(crate::DecodeError::invalid("TP-MTI", "SMS-COMMAND is not supported", 0)),
            _ => Err(crate::DecodeError::invalid("TP-MTI", "reserved (11)", 0)),
        }
    }
}

impl Encode for Tpdu {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            Self::Deliver(t) => t.encode_to(out),
            Self::Submit(t) => t.encode_to(out),
            Self::DeliverReport(t) => t.encode_to(out),
            Self::StatusReport(t) => t.encode_to(out),
        }
    }
}

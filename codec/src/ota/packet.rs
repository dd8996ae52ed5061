//! Command packets, response packets (PoR) and the TCP/IP identification packet as they are on the wire,
//! for each transport (TS 102 225 §5.1 and §5.2, TS 31.115 §4 and §5).
//!
//! | transport | command packet | response packet |
//! |---|---|---|
//! | SMS-PP, SMS-CB | `CPL(2) CHL SPI KIc KID TAR` + secured part | `RPL(2) RHL TAR` + secured part (SMS-PP only) |
//! | CAT_TP, TCP/IP | `CPI=01 CPL(BER) CHI(null) CHL SPI KIc KID TAR` + secured part | `RPI=02 RPL(BER) RHI(null) RHL TAR` + … |
//! | USSD | `CPI=03 CPL(BER) …` as CAT_TP | `RPI=04 RPL(BER) …` as CAT_TP |
//!
//! The secured part is `CNTR PCNTR RC/CC/DS data padding` for a command and
//! `CNTR PCNTR status RC/CC/DS data padding` for a response; it is kept as bytes ([`CommandPacket::secured`]),
//! ciphered or not, and read with [`super::SecuredCommand`] / [`super::SecuredResponse`] once in plaintext.
//!
//! On SMS-PP the PoR travels as TP-UD starting with the UDH `02 71 00` ([`ResponseUserData`]); some cards
//! send the proprietary header `02 7F 00` instead, which is recognised and kept ([`PorUdh`]).
//!
//! Decisions:
//! - The CHI/RHI of CAT_TP and TCP/IP is a null field (zero octets), as the vector
//!   `gsm0348/should_build_command_packet_aes_cat_tp` shows (`01 18 15 06 21 …`: CPI, CPL, then CHL).
//! - The CPL/RPL must equal the bytes that follow it: the decoder reads exactly CPL octets (an SMS carries
//!   one packet; after concatenation the reassembled buffer is one packet); more bytes are trailing bytes.
//! - USSD framing (CPI `03`, RPI `04`, BER lengths, null CHI/RHI, checksum from the CPI) follows the
//!   CAT_TP layout; it is **not verified** against the TS 31.115 text, and no public vector exists.
//! - The TCP/IP identification packet (IPI `03`, BER IPL, identification data kept as bytes) is from
//!   memory of TS 102 225 §5.2 \[M\]; the data is not interpreted.

use serde::{Deserialize, Serialize};

use super::fields::Tar;
use super::keys::{Kic, Kid};
use super::spi::Spi;
use super::{BuildError, SINGLE_SMS_PACKET_MAX};
use crate::error::{DecodeErrorKind, DecodeResult};
use crate::reader::{Decode, Encode, Reader};
use crate::tlv::{LenForm, ReadLen, len_size, read_len, write_len};

/// Octets from SPI to the end of PCNTR, the fixed part of every CHL (TS 102 225 §5.1.1: SPI 2, KIc 1,
/// KID 1, TAR 3, CNTR 5, PCNTR 1).
pub const CHL_FIXED: usize = 13;

/// Octets from TAR to the end of the status code, the fixed part of every RHL (TS 102 225 §5.1.7:
/// TAR 3, CNTR 5, PCNTR 1, status 1).
pub const RHL_FIXED: usize = 10;

/// Largest RC/CC/DS a one-octet CHL can announce (255 − 13).
pub const MAX_COMMAND_CHECKSUM: usize = 255 - CHL_FIXED;

/// Largest RC/CC/DS a one-octet RHL can announce (255 − 10).
pub const MAX_RESPONSE_CHECKSUM: usize = 255 - RHL_FIXED;

/// Octets between the CHL and the secured part: SPI, KIc, KID, TAR.
const CMD_HEADER_AFTER_CHL: usize = 7;

/// The bearer a secured packet travels on; it fixes the framing (TS 102 225 §5.1, §5.2; TS 31.115 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// SMS point-to-point (TS 31.115 §4): 2-octet CPL/RPL; the TP-UD carries the UDH `02 70 00` / `02 71 00`.
    SmsPp,
    /// SMS cell broadcast (TS 31.115 §4): framed like SMS-PP; commands only.
    SmsCb,
    /// CAT_TP (TS 102 225 §5.2): CPI `01` / RPI `02`, BER-coded CPL/RPL, null CHI/RHI.
    CatTp,
    /// TCP/IP (TS 102 225 §5.2): framed like CAT_TP; also carries the identification packet (IPI `03`).
    TcpIp,
    /// USSD (TS 31.115 §6): CPI `03` / RPI `04`, BER-coded CPL/RPL (unverified, see the module docs).
    Ussd,
}

impl Transport {
    /// The command packet identifier (CPI) written before the CPL, `None` for the SMS transports.
    #[must_use]
    pub const fn command_packet_identifier(self) -> Option<u8> {
        match self {
            Self::SmsPp | Self::SmsCb => None,
            Self::CatTp | Self::TcpIp => Some(0x01),
            Self::Ussd => Some(0x03),
        }
    }

    /// The response packet identifier (RPI) written before the RPL, `None` for the SMS transports.
    #[must_use]
    pub const fn response_packet_identifier(self) -> Option<u8> {
        match self {
            Self::SmsPp | Self::SmsCb => None,
            Self::CatTp | Self::TcpIp => Some(0x02),
            Self::Ussd => Some(0x04),
        }
    }

    /// True when the CPL/RPL is BER-coded (everything but SMS).
    #[must_use]
    pub const fn has_ber_length(self) -> bool {
        self.command_packet_identifier().is_some()
    }

    /// False for SMS-CB, which has no return path.
    #[must_use]
    pub const fn carries_responses(self) -> bool {
        !matches!(self, Self::SmsCb)
    }
}

/// Writes the length of a packet (CPL/RPL) as the transport codes it.
fn write_packet_len(out: &mut Vec<u8>, transport: Transport, len: usize, form: LenForm) {
    if transport.has_ber_length() {
        write_len(out, len, form);
    } else {
        // Builders cap SMS packets at 65535 octets; a hand-made larger value saturates rather than wraps.
        out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    }
}

/// Largest packet length (CPL/RPL value) a transport can express.
const fn max_packet_len(transport: Transport) -> usize {
    if transport.has_ber_length() { 0xFFFF_FFFF } else { 0xFFFF }
}

/// Reads the identifier (if any) and the packet length, returning a reader over exactly the packet.
fn read_framing<'a>(
    r: &mut Reader<'a>,
    identifier: Option<u8>,
    id_name: &'static str,
    len_name: &'static str,
    packet: &'static str,
) -> DecodeResult<(Reader<'a>, LenForm)> {
    if let Some(id) = identifier {
        let at = r.offset();
        let b = r.u8(id_name)?;
        if b != id {
            return Err(crate::DecodeError::new(
                DecodeErrorKind::UnexpectedTag { expected: id_name, found: u32::from(b) },
                at,
            ));
        }
        let at = r.offset();
        match read_len(r, len_name, 4, false)? {
            ReadLen::Definite(n, form) => {
                let back = r.offset() - at;
                Ok((r.sub(n, back, packet)?, form))
            }
            ReadLen::Indefinite => Err(crate::DecodeError::invalid(len_name, "indefinite length", at)),
        }
    } else {
        let n = r.u16(len_name)? as usize;
        Ok((r.sub(n, 2, packet)?, LenForm::Minimal))
    }
}

/// The command header fields after the CHL: SPI, KIc, KID, TAR (TS 102 225 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct CommandHeader {
    /// Security parameter indicator.
    pub spi: Spi,
    /// Key identifier for ciphering.
    pub kic: Kic,
    /// Key identifier for RC/CC/DS.
    pub kid: Kid,
    /// Toolkit application reference.
    pub tar: Tar,
}

impl CommandHeader {
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.spi.0);
        out.push(self.kic.0);
        out.push(self.kid.0);
        out.extend_from_slice(&self.tar.0);
    }
}

/// A secured command packet (TS 102 225 §5.1.1, TS 31.115 §4), lossless: the CHL as read, the header and
/// the secured part (CNTR..end) exactly as on the wire, ciphered or not.
///
/// Build one with [`CommandPacket::new`] / [`CommandPacket::from_plain`] (CPL and CHL computed) and read
/// one with [`CommandPacket::decode_for`]. The CPL is always written, for every SPI (pySim omits it when
/// ciphering is off; that output is not a valid packet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandPacket {
    /// The bearer, which fixes the framing.
    pub transport: Transport,
    /// How a BER-coded CPL is written (CAT_TP, TCP/IP, USSD); always `minimal` for SMS.
    #[serde(default, skip_serializing_if = "is_minimal")]
    pub cpl_form: LenForm,
    /// The command header length as read: 13 + length of the RC/CC/DS.
    pub chl: u8,
    /// SPI, KIc, KID, TAR.
    pub header: CommandHeader,
    /// CNTR, PCNTR, RC/CC/DS, data and padding, as on the wire (ciphered when SPI1 b3 is set).
    #[serde(with = "crate::hexser")]
    pub secured: Vec<u8>,
}

fn is_minimal(f: &LenForm) -> bool {
    *f == LenForm::Minimal
}

impl CommandPacket {
    /// Builder: a packet from its header, the length of its RC/CC/DS and its secured part (plaintext or
    /// already ciphered). CHL = 13 + `rc_cc_ds_len`; the CPL follows when encoding.
    ///
    /// # Errors
    /// [`BuildError::ChecksumTooLong`] when the CHL would exceed 255, [`BuildError::SecuredTooShort`] when
    /// the secured part cannot hold CNTR, PCNTR and the RC/CC/DS, [`BuildError::PacketTooLong`] when the
    /// CPL would not fit its field.
    pub fn new(
        transport: Transport,
        header: CommandHeader,
        rc_cc_ds_len: usize,
        secured: Vec<u8>,
    ) -> Result<Self, BuildError> {
        if rc_cc_ds_len > MAX_COMMAND_CHECKSUM {
            return Err(BuildError::ChecksumTooLong { len: rc_cc_ds_len, max: MAX_COMMAND_CHECKSUM });
        }
        let needed = CHL_FIXED - CMD_HEADER_AFTER_CHL + rc_cc_ds_len;
        if secured.len() < needed {
            return Err(BuildError::SecuredTooShort { len: secured.len(), needed });
        }
        let cpl = 1 + CMD_HEADER_AFTER_CHL + secured.len();
        if cpl > max_packet_len(transport) {
            return Err(BuildError::PacketTooLong { len: cpl, max: max_packet_len(transport) });
        }
        // In range: checked against MAX_COMMAND_CHECKSUM above.
        let chl = (CHL_FIXED + rc_cc_ds_len) as u8;
        Ok(Self { transport, cpl_form: LenForm::Minimal, chl, header, secured })
    }

    /// Builder: an unciphered packet from its plaintext secured part.
    ///
    /// # Errors
    /// As [`CommandPacket::new`].
    pub fn from_plain(
        transport: Transport,
        header: CommandHeader,
        secured: &super::SecuredCommand,
    ) -> Result<Self, BuildError> {
        Self::new(transport, header, secured.rc_cc_ds.len(), secured.encode())
    }

    /// Reads a packet framed for `transport`, leaving `r` after it (built on [`CommandPacketRef::read`]).
    ///
    /// # Errors
    /// Truncation, a CPL that overflows the input, a wrong CPI, a CHL below 13 or one that does not fit
    /// inside the CPL.
    pub fn read(r: &mut Reader<'_>, transport: Transport) -> DecodeResult<Self> {
        CommandPacketRef::read(r, transport).map(|p| p.to_owned())
    }

    /// The borrowed view of this packet (its encoder is the one this packet's [`Encode`] uses).
    #[must_use]
    pub fn view(&self) -> CommandPacketRef<'_> {
        CommandPacketRef {
            transport: self.transport,
            cpl_form: self.cpl_form,
            chl: self.chl,
            header: self.header,
            secured: &self.secured,
        }
    }

    /// Decodes a packet that fills `bytes` exactly (for SMS: the TP-UD after `02 70 00`, or a reassembled
    /// concatenated packet; for CAT_TP/TCP/IP/USSD: from the CPI).
    ///
    /// # Errors
    /// As [`CommandPacket::read`], and trailing bytes after the CPL.
    pub fn decode_for(transport: Transport, bytes: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes);
        let p = Self::read(&mut r, transport)?;
        r.expect_end("command packet")?;
        Ok(p)
    }

    /// The CPL value: octets from the CHL to the end of the packet.
    #[must_use]
    pub fn cpl(&self) -> usize {
        1 + CMD_HEADER_AFTER_CHL + self.secured.len()
    }

    /// Length of the RC/CC/DS announced by the CHL (CHL − 13); `None` for a hand-built CHL below 13.
    #[must_use]
    pub fn rc_cc_ds_len(&self) -> Option<usize> {
        (self.chl as usize).checked_sub(CHL_FIXED)
    }

    /// Offset of the secured part inside the encoding (for absolute error offsets after deciphering).
    #[must_use]
    pub fn secured_offset(&self) -> usize {
        self.framing_len() + 1 + CMD_HEADER_AFTER_CHL
    }

    fn framing_len(&self) -> usize {
        match self.transport.command_packet_identifier() {
            Some(_) => 1 + len_size(self.cpl(), self.cpl_form),
            None => 2,
        }
    }

    /// Encoded size.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        self.framing_len() + self.cpl()
    }

    /// True when the packet fits a single SMS (at most 137 octets after `02 70 00`, TS 31.115 §4).
    #[must_use]
    pub fn fits_single_sms(&self) -> bool {
        self.encoded_len() <= SINGLE_SMS_PACKET_MAX
    }

    /// Reads [`CommandPacket::secured`] as plaintext (call after deciphering into a packet, or on an
    /// unciphered one). Error offsets are absolute within this packet's encoding.
    ///
    /// # Errors
    /// As [`super::SecuredCommand::parse_at`].
    pub fn parse_secured(&self) -> DecodeResult<super::SecuredCommand> {
        super::SecuredCommand::parse_at(self.chl, &self.secured, self.secured_offset())
    }

    /// The bytes the RC/CC/DS of this packet covers, given its plaintext secured part (see
    /// [`super::command_checksum_input`]).
    ///
    /// # Errors
    /// As [`super::command_checksum_input`].
    pub fn checksum_input(&self, plain: &super::SecuredCommand, out: &mut Vec<u8>) -> Result<(), BuildError> {
        super::command_checksum_input(self.transport, self.cpl_form, &self.header, plain, out)
    }
}

impl Encode for CommandPacket {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.view().encode_to(out);
    }
}

/// A secured command packet as a borrowed view (TS 102 225 §5.1.1, TS 31.115 §4): the fields of
/// [`CommandPacket`] with the secured part (CNTR..end) borrowed from the input, so reading one allocates
/// nothing. [`CommandPacketRef::read`] is the one parser of command packets ([`CommandPacket::read`] is
/// built on it), so both accept the same bytes with the same errors; [`CommandPacketRef::to_owned`] gives
/// the owned packet, and encoding gives the bytes back.
///
/// Decision: views have no serde form (hex cannot be borrowed); use the owned type's JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandPacketRef<'a> {
    /// The bearer, which fixes the framing.
    pub transport: Transport,
    /// How a BER-coded CPL is written (CAT_TP, TCP/IP, USSD); always `minimal` for SMS.
    pub cpl_form: LenForm,
    /// The command header length as read: 13 + length of the RC/CC/DS.
    pub chl: u8,
    /// SPI, KIc, KID, TAR.
    pub header: CommandHeader,
    /// CNTR, PCNTR, RC/CC/DS, data and padding, as on the wire (ciphered when SPI1 b3 is set).
    pub secured: &'a [u8],
}

impl<'a> CommandPacketRef<'a> {
    /// Reads a packet framed for `transport`, leaving `r` after it.
    ///
    /// # Errors
    /// Truncation, a CPL that overflows the input, a wrong CPI, a CHL below 13 or one that does not fit
    /// inside the CPL.
    pub fn read(r: &mut Reader<'a>, transport: Transport) -> DecodeResult<Self> {
        let (mut p, cpl_form) =
            read_framing(r, transport.command_packet_identifier(), "CPI", "CPL", "command packet")?;
        let chl_at = p.offset();
        let chl = p.u8("CHL")?;
        if (chl as usize) < CHL_FIXED {
            return Err(crate::DecodeError::invalid("CHL", "below 13 (SPI..PCNTR take 13 octets)", chl_at));
        }
        if chl as usize > p.remaining() {
            return Err(crate::DecodeError::new(
                DecodeErrorKind::LengthOverflow {
                    what: "command header (CHL)",
                    length: chl as usize,
                    remaining: p.remaining(),
                },
                chl_at,
            ));
        }
        let spi = Spi(p.array("SPI")?);
        let kic = Kic(p.u8("KIc")?);
        let kid = Kid(p.u8("KID")?);
        let tar = Tar(p.array("TAR")?);
        let secured = p.rest();
        Ok(Self { transport, cpl_form, chl, header: CommandHeader { spi, kic, kid, tar }, secured })
    }

    /// Decodes a packet that fills `bytes` exactly (see [`CommandPacket::decode_for`]).
    ///
    /// # Errors
    /// As [`CommandPacketRef::read`], and trailing bytes after the CPL.
    pub fn decode_for(transport: Transport, bytes: &'a [u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes);
        let p = Self::read(&mut r, transport)?;
        r.expect_end("command packet")?;
        Ok(p)
    }

    /// The owned packet.
    #[must_use]
    pub fn to_owned(&self) -> CommandPacket {
        CommandPacket {
            transport: self.transport,
            cpl_form: self.cpl_form,
            chl: self.chl,
            header: self.header,
            secured: self.secured.to_vec(),
        }
    }

    /// The CPL value: octets from the CHL to the end of the packet.
    #[must_use]
    pub const fn cpl(&self) -> usize {
        1 + CMD_HEADER_AFTER_CHL + self.secured.len()
    }

    /// Length of the RC/CC/DS announced by the CHL (CHL − 13); `None` for a hand-built CHL below 13.
    #[must_use]
    pub const fn rc_cc_ds_len(&self) -> Option<usize> {
        (self.chl as usize).checked_sub(CHL_FIXED)
    }

    /// Encoded size.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        let framing = match self.transport.command_packet_identifier() {
            Some(_) => 1 + len_size(self.cpl(), self.cpl_form),
            None => 2,
        };
        framing + self.cpl()
    }
}

impl Encode for CommandPacketRef<'_> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        if let Some(cpi) = self.transport.command_packet_identifier() {
            out.push(cpi);
        }
        write_packet_len(out, self.transport, self.cpl(), self.cpl_form);
        out.push(self.chl);
        self.header.write(out);
        out.extend_from_slice(self.secured);
    }
}

/// A response packet (PoR) as on the wire (TS 102 225 §5.1.7, TS 31.115 §4.2), lossless: the RHL as
/// read, the TAR and the secured part (CNTR..end), ciphered or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponsePacket {
    /// The bearer (never SMS-CB).
    pub transport: Transport,
    /// How a BER-coded RPL is written; always `minimal` for SMS.
    #[serde(default, skip_serializing_if = "is_minimal")]
    pub rpl_form: LenForm,
    /// The response header length as read: 10 + length of the RC/CC/DS.
    pub rhl: u8,
    /// TAR of the application that answers (a copy of the command's).
    pub tar: Tar,
    /// CNTR, PCNTR, status, RC/CC/DS, data and padding, as on the wire.
    #[serde(with = "crate::hexser")]
    pub secured: Vec<u8>,
}

impl ResponsePacket {
    /// Builder: a PoR from its TAR, the length of its RC/CC/DS and its secured part (plaintext or ciphered).
    ///
    /// # Errors
    /// [`BuildError::NoResponseOnTransport`] for SMS-CB, [`BuildError::ChecksumTooLong`] when the RHL would
    /// exceed 255, [`BuildError::SecuredTooShort`] when the secured part cannot hold CNTR, PCNTR, status and
    /// the RC/CC/DS, [`BuildError::PacketTooLong`] when the RPL would not fit.
    pub fn new(
        transport: Transport,
        tar: Tar,
        rc_cc_ds_len: usize,
        secured: Vec<u8>,
    ) -> Result<Self, BuildError> {
        if !transport.carries_responses() {
            return Err(BuildError::NoResponseOnTransport);
        }
        if rc_cc_ds_len > MAX_RESPONSE_CHECKSUM {
            return Err(BuildError::ChecksumTooLong { len: rc_cc_ds_len, max: MAX_RESPONSE_CHECKSUM });
        }
        let needed = RHL_FIXED - 3 + rc_cc_ds_len;
        if secured.len() < needed {
            return Err(BuildError::SecuredTooShort { len: secured.len(), needed });
        }
        let rpl = 4 + secured.len();
        if rpl > max_packet_len(transport) {
            return Err(BuildError::PacketTooLong { len: rpl, max: max_packet_len(transport) });
        }
        // In range: checked against MAX_RESPONSE_CHECKSUM above.
        let rhl = (RHL_FIXED + rc_cc_ds_len) as u8;
        Ok(Self { transport, rpl_form: LenForm::Minimal, rhl, tar, secured })
    }

    /// Builder: an unciphered PoR from its plaintext secured part.
    ///
    /// # Errors
    /// As [`ResponsePacket::new`].
    pub fn from_plain(
        transport: Transport,
        tar: Tar,
        secured: &super::SecuredResponse,
    ) -> Result<Self, BuildError> {
        Self::new(transport, tar, secured.rc_cc_ds.len(), secured.encode())
    }

    /// Reads a PoR framed for `transport` (for SMS-PP: from the RPL, after the UDH).
    ///
    /// # Errors
    /// Truncation, an RPL that overflows, a wrong RPI, an RHL below 10 or beyond the RPL, or SMS-CB.
    pub fn read(r: &mut Reader<'_>, transport: Transport) -> DecodeResult<Self> {
        if !transport.carries_responses() {
            return Err(r.invalid("response packet", "SMS-CB carries commands only"));
        }
        let (mut p, rpl_form) =
            read_framing(r, transport.response_packet_identifier(), "RPI", "RPL", "response packet")?;
        let rhl_at = p.offset();
        let rhl = p.u8("RHL")?;
        if (rhl as usize) < RHL_FIXED {
            return Err(crate::DecodeError::invalid("RHL", "below 10 (TAR..status take 10 octets)", rhl_at));
        }
        if rhl as usize > p.remaining() {
            return Err(crate::DecodeError::new(
                DecodeErrorKind::LengthOverflow {
                    what: "response header (RHL)",
                    length: rhl as usize,
                    remaining: p.remaining(),
                },
                rhl_at,
            ));
        }
        let tar = Tar(p.array("TAR")?);
        let secured = p.rest().to_vec();
        Ok(Self { transport, rpl_form, rhl, tar, secured })
    }

    /// Decodes a PoR that fills `bytes` exactly.
    ///
    /// # Errors
    /// As [`ResponsePacket::read`], and trailing bytes.
    pub fn decode_for(transport: Transport, bytes: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes);
        let p = Self::read(&mut r, transport)?;
        r.expect_end("response packet")?;
        Ok(p)
    }

    /// The RPL value: octets from the RHL to the end.
    #[must_use]
    pub fn rpl(&self) -> usize {
        4 + self.secured.len()
    }

    /// Length of the RC/CC/DS announced by the RHL (RHL − 10); `None` for a hand-built RHL below 10.
    #[must_use]
    pub fn rc_cc_ds_len(&self) -> Option<usize> {
        (self.rhl as usize).checked_sub(RHL_FIXED)
    }

    fn framing_len(&self) -> usize {
        match self.transport.response_packet_identifier() {
            Some(_) => 1 + len_size(self.rpl(), self.rpl_form),
            None => 2,
        }
    }

    /// Offset of the secured part inside this packet's encoding.
    #[must_use]
    pub fn secured_offset(&self) -> usize {
        self.framing_len() + 4
    }

    /// Encoded size.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        self.framing_len() + self.rpl()
    }

    /// Reads [`ResponsePacket::secured`] as plaintext. Error offsets are absolute within this packet's
    /// encoding (add 3 for the SMS user-data form).
    ///
    /// # Errors
    /// As [`super::SecuredResponse::parse_at`].
    pub fn parse_secured(&self) -> DecodeResult<super::SecuredResponse> {
        super::SecuredResponse::parse_at(self.rhl, &self.secured, self.secured_offset())
    }
}

impl Encode for ResponsePacket {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        if let Some(rpi) = self.transport.response_packet_identifier() {
            out.push(rpi);
        }
        write_packet_len(out, self.transport, self.rpl(), self.rpl_form);
        out.push(self.rhl);
        out.extend_from_slice(&self.tar.0);
        out.extend_from_slice(&self.secured);
    }
}

/// The user-data header in front of an SMS-PP PoR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PorUdh {
    /// `02 71 00`: UDHL 2, IEI `71` (response packet), length 0 (TS 31.115 §4.2).
    #[default]
    ResponsePacket,
    /// `02 7F 00`: the proprietary IEI `7F` some cards send (seen by SIMTester); treated like `71`.
    Proprietary7F,
}

impl PorUdh {
    /// The three header octets.
    #[must_use]
    pub const fn bytes(self) -> [u8; 3] {
        match self {
            Self::ResponsePacket => [0x02, 0x71, 0x00],
            Self::Proprietary7F => [0x02, 0x7F, 0x00],
        }
    }
}

/// An SMS-PP PoR as TP-UD: the header `02 71 00` (or `02 7F 00`) and the response packet from the RPL
/// (TS 31.115 §4.2). The RC/CC/DS of this form covers the header too ([`ResponseUserData::checksum_input`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseUserData {
    /// Which header was sent.
    #[serde(default)]
    pub udh: PorUdh,
    /// The response packet (transport SMS-PP).
    pub packet: ResponsePacket,
}

impl ResponseUserData {
    /// The bytes the PoR's RC/CC/DS covers, from the UDH on (see [`super::response_checksum_input`]).
    ///
    /// # Errors
    /// As [`super::response_checksum_input`].
    pub fn checksum_input(
        &self,
        plain: &super::SecuredResponse,
        out: &mut Vec<u8>,
    ) -> Result<(), BuildError> {
        super::response_checksum_input(
            Transport::SmsPp,
            LenForm::Minimal,
            self.udh,
            self.packet.tar,
            plain,
            out,
        )
    }

    /// Reads the secured part as plaintext, with offsets absolute in the user data.
    ///
    /// # Errors
    /// As [`super::SecuredResponse::parse_at`].
    pub fn parse_secured(&self) -> DecodeResult<super::SecuredResponse> {
        super::SecuredResponse::parse_at(
            self.packet.rhl,
            &self.packet.secured,
            3 + self.packet.secured_offset(),
        )
    }
}

impl Decode for ResponseUserData {
    const NAME: &'static str = "PoR user data";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let at = r.offset();
        let udhl = r.u8("UDHL of the PoR")?;
        if udhl != 2 {
            return Err(crate::DecodeError::invalid("UDHL of the PoR", "expected 02 (IEI 71, length 0)", at));
        }
        let at = r.offset();
        let iei = r.u8("IEI of the PoR")?;
        let udh = match iei {
            0x71 => PorUdh::ResponsePacket,
            0x7F => PorUdh::Proprietary7F,
            other => {
                return Err(crate::DecodeError::new(
                    DecodeErrorKind::UnexpectedTag {
                        expected: "IEI 71 (response packet) or 7F",
                        found: u32::from(other),
                    },
                    at,
                ));
            }
        };
        let at = r.offset();
        if r.u8("IEIDL of the PoR")? != 0 {
            return Err(crate::DecodeError::invalid("IEIDL of the PoR", "expected 00", at));
        }
        let packet = ResponsePacket::read(r, Transport::SmsPp)?;
        Ok(Self { udh, packet })
    }
}

impl Encode for ResponseUserData {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.reserve(3 + self.packet.encoded_len());
        out.extend_from_slice(&self.udh.bytes());
        self.packet.encode_to(out);
    }
}

/// The TCP/IP identification packet (TS 102 225 §5.2 \[M\]): IPI `03`, a BER-coded IPL and the
/// identification data, which is kept as bytes and not interpreted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentificationPacket {
    /// How the IPL is written.
    #[serde(default, skip_serializing_if = "is_minimal")]
    pub ipl_form: LenForm,
    /// The identification data.
    #[serde(with = "crate::hexser")]
    pub data: Vec<u8>,
}

impl IdentificationPacket {
    /// The identification packet identifier.
    pub const IPI: u8 = 0x03;
}

impl Decode for IdentificationPacket {
    const NAME: &'static str = "identification packet";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let (mut p, ipl_form) = read_framing(r, Some(Self::IPI), "IPI", "IPL", "identification packet")?;
        Ok(Self { ipl_form, data: p.rest().to_vec() })
    }
}

impl Encode for IdentificationPacket {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(Self::IPI);
        write_len(out, self.data.len(), self.ipl_form);
        out.extend_from_slice(&self.data);
    }
}

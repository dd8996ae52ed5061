//! Plaintext views of the secured part, the exact checksum inputs and the padding rules (TS 102 225
//! §5.1.1, §5.1.7 and Annex B; TS 31.115 §4).
//!
//! - [`SecuredCommand`]: `CNTR PCNTR RC/CC/DS data` (data includes the padding), the RC/CC/DS length taken
//!   from the CHL (CHL − 13).
//! - [`SecuredResponse`]: `CNTR PCNTR status RC/CC/DS data`, the RC/CC/DS length from the RHL (RHL − 10).
//! - [`command_checksum_input`] / [`response_checksum_input`]: the octets an RC, CC or DS is computed over.
//! - [`padding_len`], [`command_padding`], [`response_padding`]: how many padding octets the cipher needs.
//!
//! The checksum rules (TS 102 225 §5.1.1 and §5.1.7, TS 31.115 §4; confirmed by the pySim, asterix and
//! gsm0348 vectors):
//! - The input starts at the CPL for an SMS-PP/SMS-CB command (the UDH `02 70 00` is not covered), at
//!   the UDH `02 71 00` for an SMS-PP PoR, and at the CPI/RPI for CAT_TP, TCP/IP and USSD.
//! - It runs over every header field (CPL, CHL, SPI, KIc, KID, TAR / RPL, RHL, TAR), then CNTR, PCNTR
//!   (with its final value), the status code for a PoR, the data **and the cipher padding**, with the
//!   RC/CC/DS field itself left out. The CPL/CHL values in it count the RC/CC/DS as if present.
//! - The MAC's own block padding (zeros for DES CBC-MAC, none for AES-CMAC) is the crypto layer's job.

use serde::{Deserialize, Serialize};

use super::BuildError;
use super::fields::{Cntr, PorStatus, Tar};
use super::packet::{
    CHL_FIXED, CommandHeader, MAX_COMMAND_CHECKSUM, MAX_RESPONSE_CHECKSUM, PorUdh, RHL_FIXED, Transport,
};
use crate::error::DecodeResult;
use crate::reader::{Encode, Reader};
use crate::tlv::{LenForm, write_len};

/// The plaintext secured part of a command packet (TS 102 225 §5.1.1): from CNTR to the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecuredCommand {
    /// Counter.
    pub cntr: Cntr,
    /// Number of padding octets at the end of `data`.
    pub pcntr: u8,
    /// The RC, CC or DS (empty when the SPI says none).
    #[serde(with = "crate::hexser")]
    pub rc_cc_ds: Vec<u8>,
    /// The secured data, padding included.
    #[serde(with = "crate::hexser")]
    pub data: Vec<u8>,
}

impl SecuredCommand {
    /// Builder: the secured part for `data`, with an all-zero RC/CC/DS placeholder of `rc_cc_ds_len` octets
    /// and the zero padding a cipher with `block_size`-octet blocks needs (0 or 1 = no cipher, no padding).
    /// Compute the checksum over [`command_checksum_input`] and store it in `rc_cc_ds` before ciphering.
    #[must_use]
    pub fn padded(cntr: Cntr, rc_cc_ds_len: usize, data: &[u8], block_size: u8) -> Self {
        let pcntr = command_padding(block_size, rc_cc_ds_len, data.len());
        let mut d = Vec::with_capacity(data.len() + pcntr as usize);
        d.extend_from_slice(data);
        d.resize(data.len() + pcntr as usize, 0);
        Self { cntr, pcntr, rc_cc_ds: vec![0; rc_cc_ds_len], data: d }
    }

    /// Parses a plaintext secured part whose CHL is `chl`.
    ///
    /// # Errors
    /// As [`SecuredCommand::parse_at`].
    pub fn parse(chl: u8, plain: &[u8]) -> DecodeResult<Self> {
        Self::parse_at(chl, plain, 0)
    }

    /// Parses a plaintext secured part whose first octet sits at absolute offset `base` (so errors point
    /// into the enclosing packet). PCNTR is kept as read even when larger than the data
    /// ([`SecuredCommand::data_without_padding`] then says `None`): a receiving entity must be able to
    /// answer such a packet with a PoR.
    ///
    /// # Errors
    /// A CHL below 13, or a plaintext too short for CNTR, PCNTR and the RC/CC/DS the CHL announces.
    pub fn parse_at(chl: u8, plain: &[u8], base: usize) -> DecodeResult<Self> {
        let Some(rc_len) = (chl as usize).checked_sub(CHL_FIXED) else {
            return Err(crate::DecodeError::invalid("CHL", "below 13 (SPI..PCNTR take 13 octets)", base));
        };
        let mut r = Reader::with_base(plain, base);
        let cntr = Cntr(r.array("CNTR")?);
        let pcntr = r.u8("PCNTR")?;
        let rc_cc_ds = r.take(rc_len, "RC/CC/DS")?.to_vec();
        let data = r.rest().to_vec();
        Ok(Self { cntr, pcntr, rc_cc_ds, data })
    }

    /// The CHL this secured part implies (13 + RC/CC/DS length); `None` when it does not fit an octet.
    #[must_use]
    pub fn chl(&self) -> Option<u8> {
        u8::try_from(CHL_FIXED + self.rc_cc_ds.len()).ok()
    }

    /// The data without its PCNTR padding octets; `None` when PCNTR exceeds the data length.
    #[must_use]
    pub fn data_without_padding(&self) -> Option<&[u8]> {
        let keep = self.data.len().checked_sub(self.pcntr as usize)?;
        self.data.get(..keep)
    }

    /// Encoded size.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        6 + self.rc_cc_ds.len() + self.data.len()
    }
}

impl Encode for SecuredCommand {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        out.extend_from_slice(&self.cntr.0);
        out.push(self.pcntr);
        out.extend_from_slice(&self.rc_cc_ds);
        out.extend_from_slice(&self.data);
    }
}

/// The plaintext secured part of a response packet (TS 102 225 §5.1.7): from CNTR to the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecuredResponse {
    /// Counter (a copy of the command's; error PoRs may carry zeros).
    pub cntr: Cntr,
    /// Number of padding octets at the end of `data`.
    pub pcntr: u8,
    /// Response status code.
    pub status: PorStatus,
    /// The RC, CC or DS (empty when none).
    #[serde(with = "crate::hexser")]
    pub rc_cc_ds: Vec<u8>,
    /// Additional response data (e.g. a TS 102 226 response), padding included.
    #[serde(with = "crate::hexser")]
    pub data: Vec<u8>,
}

impl SecuredResponse {
    /// Builder: a PoR secured part with a zero RC/CC/DS placeholder and the zero padding a
    /// `block_size`-octet cipher needs (0 or 1 = none).
    #[must_use]
    pub fn padded(cntr: Cntr, status: PorStatus, rc_cc_ds_len: usize, data: &[u8], block_size: u8) -> Self {
        let pcntr = response_padding(block_size, rc_cc_ds_len, data.len());
        let mut d = Vec::with_capacity(data.len() + pcntr as usize);
        d.extend_from_slice(data);
        d.resize(data.len() + pcntr as usize, 0);
        Self { cntr, pcntr, status, rc_cc_ds: vec![0; rc_cc_ds_len], data: d }
    }

    /// Parses a plaintext secured part whose RHL is `rhl`.
    ///
    /// # Errors
    /// As [`SecuredResponse::parse_at`].
    pub fn parse(rhl: u8, plain: &[u8]) -> DecodeResult<Self> {
        Self::parse_at(rhl, plain, 0)
    }

    /// Parses a plaintext secured part whose first octet sits at absolute offset `base`.
    ///
    /// # Errors
    /// An RHL below 10, or a plaintext too short for CNTR, PCNTR, status and the RC/CC/DS.
    pub fn parse_at(rhl: u8, plain: &[u8], base: usize) -> DecodeResult<Self> {
        let Some(rc_len) = (rhl as usize).checked_sub(RHL_FIXED) else {
            return Err(crate::DecodeError::invalid("RHL", "below 10 (TAR..status take 10 octets)", base));
        };
        let mut r = Reader::with_base(plain, base);
        let cntr = Cntr(r.array("CNTR")?);
        let pcntr = r.u8("PCNTR")?;
        let status = PorStatus::from_u8(r.u8("response status code")?);
        let rc_cc_ds = r.take(rc_len, "RC/CC/DS")?.to_vec();
        let data = r.rest().to_vec();
        Ok(Self { cntr, pcntr, status, rc_cc_ds, data })
    }

    /// The RHL this secured part implies (10 + RC/CC/DS length); `None` when it does not fit an octet.
    #[must_use]
    pub fn rhl(&self) -> Option<u8> {
        u8::try_from(RHL_FIXED + self.rc_cc_ds.len()).ok()
    }

    /// The additional response data without padding; `None` when PCNTR exceeds the data length.
    #[must_use]
    pub fn data_without_padding(&self) -> Option<&[u8]> {
        let keep = self.data.len().checked_sub(self.pcntr as usize)?;
        self.data.get(..keep)
    }

    /// Encoded size.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        7 + self.rc_cc_ds.len() + self.data.len()
    }
}

impl Encode for SecuredResponse {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        out.extend_from_slice(&self.cntr.0);
        out.push(self.pcntr);
        out.push(self.status.code());
        out.extend_from_slice(&self.rc_cc_ds);
        out.extend_from_slice(&self.data);
    }
}

fn write_len_for(
    out: &mut Vec<u8>,
    transport: Transport,
    len: usize,
    form: LenForm,
) -> Result<(), BuildError> {
    if transport.has_ber_length() {
        if len > 0xFFFF_FFFF {
            return Err(BuildError::PacketTooLong { len, max: 0xFFFF_FFFF });
        }
        write_len(out, len, form);
    } else {
        let v = u16::try_from(len).map_err(|_| BuildError::PacketTooLong { len, max: 0xFFFF })?;
        out.extend_from_slice(&v.to_be_bytes());
    }
    Ok(())
}

/// Appends to `out` the octets the RC/CC/DS of a command packet covers (TS 102 225 §5.1.1; TS 31.115 §4):
///
/// - SMS-PP / SMS-CB: `CPL(2) CHL SPI KIc KID TAR CNTR PCNTR data+padding` (from the CPL; the UDH
///   `02 70 00` is not covered);
/// - CAT_TP / TCP/IP / USSD: `CPI CPL(BER, written in cpl_form) CHL SPI … data+padding` (from the CPI).
///
/// The RC/CC/DS itself is left out but counted in the CPL and CHL: its length is `secured.rc_cc_ds.len()`
/// and its contents are ignored, so a zero placeholder ([`SecuredCommand::padded`]) works. PCNTR and
/// the padding must have their final values.
///
/// # Errors
/// [`BuildError::ChecksumTooLong`] when the CHL would exceed 255, [`BuildError::PacketTooLong`] when the
/// CPL does not fit its field.
pub fn command_checksum_input(
    transport: Transport,
    cpl_form: LenForm,
    header: &CommandHeader,
    secured: &SecuredCommand,
    out: &mut Vec<u8>,
) -> Result<(), BuildError> {
    let rc = secured.rc_cc_ds.len();
    if rc > MAX_COMMAND_CHECKSUM {
        return Err(BuildError::ChecksumTooLong { len: rc, max: MAX_COMMAND_CHECKSUM });
    }
    let cpl = 1 + CHL_FIXED + rc + secured.data.len();
    out.reserve(cpl + 6);
    if let Some(cpi) = transport.command_packet_identifier() {
        out.push(cpi);
    }
    write_len_for(out, transport, cpl, cpl_form)?;
    // In range: rc <= MAX_COMMAND_CHECKSUM.
    out.push((CHL_FIXED + rc) as u8);
    header.write(out);
    out.extend_from_slice(&secured.cntr.0);
    out.push(secured.pcntr);
    out.extend_from_slice(&secured.data);
    Ok(())
}

/// Appends to `out` the octets the RC/CC/DS of a response packet covers (TS 102 225 §5.1.7; TS 31.115
/// §4.2):
///
/// - SMS-PP: `UDH(02 71 00, or the proprietary 02 7F 00 as received) RPL(2) RHL TAR CNTR PCNTR status
///   data+padding`;
/// - CAT_TP / TCP/IP / USSD: `RPI RPL(BER, in rpl_form) RHL TAR CNTR PCNTR status data+padding`
///   (`udh` is ignored).
///
/// As for commands, the RC/CC/DS is left out but counted in the RPL and RHL.
///
/// # Errors
/// [`BuildError::NoResponseOnTransport`] for SMS-CB, [`BuildError::ChecksumTooLong`],
/// [`BuildError::PacketTooLong`].
pub fn response_checksum_input(
    transport: Transport,
    rpl_form: LenForm,
    udh: PorUdh,
    tar: Tar,
    secured: &SecuredResponse,
    out: &mut Vec<u8>,
) -> Result<(), BuildError> {
    if !transport.carries_responses() {
        return Err(BuildError::NoResponseOnTransport);
    }
    let rc = secured.rc_cc_ds.len();
    if rc > MAX_RESPONSE_CHECKSUM {
        return Err(BuildError::ChecksumTooLong { len: rc, max: MAX_RESPONSE_CHECKSUM });
    }
    let rpl = 1 + RHL_FIXED + rc + secured.data.len();
    out.reserve(rpl + 6);
    match transport.response_packet_identifier() {
        Some(rpi) => out.push(rpi),
        None => out.extend_from_slice(&udh.bytes()),
    }
    write_len_for(out, transport, rpl, rpl_form)?;
    // In range: rc <= MAX_RESPONSE_CHECKSUM.
    out.push((RHL_FIXED + rc) as u8);
    out.extend_from_slice(&tar.0);
    out.extend_from_slice(&secured.cntr.0);
    out.push(secured.pcntr);
    out.push(secured.status.code());
    out.extend_from_slice(&secured.data);
    Ok(())
}

/// Padding octets that make `covered_len` a multiple of `block_size`: 0..=block_size−1, none when already
/// aligned (no extra block, unlike shadysim), none for `block_size` 0 or 1 (no cipher).
#[must_use]
pub const fn padding_len(block_size: u8, covered_len: usize) -> u8 {
    if block_size <= 1 {
        return 0;
    }
    let bs = block_size as usize;
    // < bs <= 255
    ((bs - covered_len % bs) % bs) as u8
}

/// PCNTR for a command: the cipher covers `CNTR(5) PCNTR(1) RC/CC/DS data padding`.
#[must_use]
pub const fn command_padding(block_size: u8, rc_cc_ds_len: usize, data_len: usize) -> u8 {
    padding_len(block_size, 6 + rc_cc_ds_len + data_len)
}

/// PCNTR for a PoR: the cipher covers `CNTR(5) PCNTR(1) status(1) RC/CC/DS data padding`.
#[must_use]
pub const fn response_padding(block_size: u8, rc_cc_ds_len: usize, data_len: usize) -> u8 {
    padding_len(block_size, 7 + rc_cc_ds_len + data_len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ota::{Kic, Kid, Spi};

    #[test]
    fn padding_rules() {
        assert_eq!(padding_len(8, 16), 0);
        assert_eq!(padding_len(8, 17), 7);
        assert_eq!(padding_len(16, 21), 11);
        assert_eq!(padding_len(0, 21), 0);
        assert_eq!(padding_len(1, 21), 0);
        // pySim AES vector: 5+1+8 + 7-byte APDU = 21 -> 11 padding
        assert_eq!(command_padding(16, 8, 7), 11);
        // pySim 3DES vector: 14 + 7 = 21 -> 3
        assert_eq!(command_padding(8, 8, 7), 3);
        // PoR 3DES ciphered+CC: 5+1+1+8 + 3 = 18 -> 6 (vector pcntr 6)
        assert_eq!(response_padding(8, 8, 3), 6);
        // PoR AES: 18 -> 14 (vector pcntr 14)
        assert_eq!(response_padding(16, 8, 3), 14);
        for bs in [8u8, 16] {
            for n in 0..100 {
                let p = padding_len(bs, n);
                assert!(p < bs);
                assert_eq!((n + p as usize) % bs as usize, 0);
            }
        }
    }

    #[test]
    fn secured_command_parse_and_padding() {
        let plain = hex::decode(
            "0000000064" /* cntr */
                .to_owned()
                + "03"
                + "1122334455667788"
                + "a0a4000002"
                + "000000",
        )
        .unwrap();
        let s = SecuredCommand::parse(21, &plain).unwrap();
        assert_eq!(s.cntr.to_u64(), 100);
        assert_eq!(s.pcntr, 3);
        assert_eq!(s.rc_cc_ds, hex::decode("1122334455667788").unwrap());
        assert_eq!(s.data_without_padding().unwrap(), hex::decode("a0a4000002").unwrap());
        assert_eq!(s.encode(), plain);
        assert_eq!(s.chl(), Some(21));
        // PCNTR larger than the data: kept, but no unpadded view.
        let bad = SecuredCommand { pcntr: 9, ..s.clone() };
        assert_eq!(bad.data_without_padding(), None);
        // Too short for the CC the CHL announces; absolute offset of the missing field.
        let e = SecuredCommand::parse_at(21, &plain[..10], 10).unwrap_err();
        assert_eq!(e.offset, 16);
        assert!(matches!(e.kind, crate::DecodeErrorKind::Truncated { expected: "RC/CC/DS", .. }));
        assert!(SecuredCommand::parse(12, &plain).is_err());
        let p = SecuredCommand::padded(Cntr::from_u64(1).unwrap(), 8, &[1, 2, 3, 4, 5, 6, 7], 16);
        assert_eq!(p.pcntr, 11);
        assert_eq!(p.data.len(), 18);
        assert_eq!(p.encoded_len() % 16, 0);
        assert_eq!(p.data_without_padding().unwrap(), &[1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn secured_response_parse() {
        let plain = hex::decode(
            "000000000000" /* cntr+pcntr */
                .to_owned()
                + "06",
        )
        .unwrap();
        let s = SecuredResponse::parse(10, &plain).unwrap();
        assert_eq!(s.status, PorStatus::UnidentifiedSecurityError);
        assert!(s.data.is_empty());
        assert_eq!(s.encode(), plain);
        assert!(SecuredResponse::parse(9, &plain).is_err());
        assert!(SecuredResponse::parse(11, &plain).is_err());
        let p = SecuredResponse::padded(Cntr::default(), PorStatus::Ok, 8, &[1, 0x90, 0], 8);
        assert_eq!(p.pcntr, 6);
        assert_eq!(p.rhl(), Some(18));
    }

    #[test]
    fn checksum_inputs_by_transport() {
        let header =
            CommandHeader { spi: Spi([0x06, 0x21]), kic: Kic(0x12), kid: Kid(0x12), tar: Tar([1, 2, 3]) };
        let s = SecuredCommand::padded(Cntr::default(), 8, &[0xAA, 0xBB], 16);
        let mut sms = Vec::new();
        command_checksum_input(Transport::SmsPp, LenForm::Minimal, &header, &s, &mut sms).unwrap();
        // 6 + 8 + 2 = 16: no padding; CPL = 1 + 13 + 8 + 2 = 24 counts the (left out) CC.
        assert_eq!(hex::encode(&sms), "00181506211212010203000000000000aabb");
        let mut cat = Vec::new();
        command_checksum_input(Transport::CatTp, LenForm::Minimal, &header, &s, &mut cat).unwrap();
        assert_eq!(hex::encode(&cat), "01181506211212010203000000000000aabb");
        let mut long = Vec::new();
        command_checksum_input(Transport::TcpIp, LenForm::Long(2), &header, &s, &mut long).unwrap();
        assert_eq!(hex::encode(&long), "0182001815062112120102030000000000".to_owned() + "00aabb");
        let mut ussd = Vec::new();
        command_checksum_input(Transport::Ussd, LenForm::Minimal, &header, &s, &mut ussd).unwrap();
        assert_eq!(ussd[0], 0x03);
        let too_long = SecuredCommand { rc_cc_ds: vec![0; 243], ..s.clone() };
        assert_eq!(
            command_checksum_input(Transport::SmsPp, LenForm::Minimal, &header, &too_long, &mut Vec::new()),
            Err(BuildError::ChecksumTooLong { len: 243, max: 242 })
        );
        let huge = SecuredCommand { data: vec![0; 70000], ..s };
        assert!(matches!(
            command_checksum_input(Transport::SmsPp, LenForm::Minimal, &header, &huge, &mut Vec::new()),
            Err(BuildError::PacketTooLong { .. })
        ));

        let r = SecuredResponse::padded(Cntr::default(), PorStatus::Ok, 0, &[1, 0x90, 0], 0);
        let mut por = Vec::new();
        response_checksum_input(
            Transport::SmsPp,
            LenForm::Minimal,
            PorUdh::ResponsePacket,
            Tar([1, 2, 3]),
            &r,
            &mut por,
        )
        .unwrap();
        assert_eq!(hex::encode(&por), "027100000e0a01020300000000000000019000");
        let mut por = Vec::new();
        response_checksum_input(
            Transport::SmsPp,
            LenForm::Minimal,
            PorUdh::Proprietary7F,
            Tar([1, 2, 3]),
            &r,
            &mut por,
        )
        .unwrap();
        assert_eq!(&por[..3], &[2, 0x7F, 0]);
        let mut por = Vec::new();
        response_checksum_input(
            Transport::CatTp,
            LenForm::Minimal,
            PorUdh::ResponsePacket,
            Tar([1, 2, 3]),
            &r,
            &mut por,
        )
        .unwrap();
        assert_eq!(hex::encode(&por), "020e0a01020300000000000000019000");
        assert_eq!(
            response_checksum_input(
                Transport::SmsCb,
                LenForm::Minimal,
                PorUdh::ResponsePacket,
                Tar([1, 2, 3]),
                &r,
                &mut por
            ),
            Err(BuildError::NoResponseOnTransport)
        );
    }
}

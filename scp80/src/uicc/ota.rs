//! The OTA path inside the card: ENVELOPE (SMS-PP download, TS 31.111 §7.1.1) → reassembly of
//! concatenated SMS-DELIVERs (TS 31.115 §4.1, with the codec's [`Reassembler`]) → the secured-packet layer
//! ([`PacketSecurity`]: TAR, MSL, keys, counter, RC/CC, deciphering, TS 102 225 §5) → the applet of the TAR
//! ([`super::applet::run_script`]) → the PoR, in the ENVELOPE response (for the terminal's
//! SMS-DELIVER-REPORT) or, when SPI2 b6 asks for it (TS 31.115 §5.1), in a proactive SEND SHORT MESSAGE
//! carrying an SMS-SUBMIT.
//!
//! ENVELOPE status words: `6A80` data that is not an envelope template; `9000` (no data) for envelopes
//! other than SMS-PP download, for a segment of a concatenated packet that is not complete yet, and when
//! no PoR is due (SPI2 "no PoR", "PoR on error" after success, PoR by SMS-SUBMIT: the SEND SHORT MESSAGE
//! then waits behind `91xx`); `61xx` / `9Fxx` with the PoR user data (`02 71 00 …`) otherwise; `9300`
//! (toolkit busy) while a proactive command is in progress; `6F00` (the terminal answers RP-ERROR "SIM
//! data download error") for an SMS that is not an OTA command packet.
//!
//! The secured-packet layer is a trait so that the card runs with the crate's implementation (the
//! `packet` module, TS 102 225 processing order) and tests can substitute their own. [`default_security`]
//! gives the one a profile-built card starts with.

use std::collections::BTreeMap;
use std::fmt;

use m2msim_codec::apdu::StatusWord;
use m2msim_codec::cat::{EnvelopeTag, SmsPpDownload};
use m2msim_codec::ota::{
    Checksum, Cntr, CommandHeader, CommandPacket, CounterMode, PorRequest, PorStatus, PorTransport, PorUdh,
    ResponsePacket, ResponseUserData, SecuredResponse, Tar, Transport,
};
use m2msim_codec::sms::concat::{ConcatRef, PacketKind, Progress, split_kind};
use m2msim_codec::sms::{Address, Dcs, Pid, Submit, ValidityPeriod};
use m2msim_codec::{Decode, Encode};

use super::Uicc;
use super::applet::{AppletContext, PacketInfo, run_script};
use super::commands::{Class, Fail, Reply};
use crate::counter::Counter;
use crate::keys::{Keysets, Kvn};

/// What the card lends the secured-packet layer for one packet.
#[derive(Debug)]
pub struct CardSecurity<'a> {
    /// The card's keysets.
    pub keysets: &'a Keysets,
    /// The receive counters (RE CNTR) per KVN, to check and update.
    pub counters: &'a mut BTreeMap<Kvn, Counter>,
    /// The MSL (an SPI first byte) of each TAR the card serves.
    pub msl: BTreeMap<[u8; 3], u8>,
}

/// The outcome of opening a command packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// Every check passed: the header and the secured data (padding removed).
    Command {
        /// The packet's parameters.
        info: PacketInfo,
        /// The secured data: the script.
        data: Vec<u8>,
    },
    /// Refused with `status`; the header (and counter) are known, so a PoR may be sent (per the SPI).
    Refused {
        /// The header.
        header: CommandHeader,
        /// The counter as received (zeros when it could not be read).
        cntr: Cntr,
        /// Why.
        status: PorStatus,
    },
    /// Not a command packet (framing broken): nothing can be answered.
    Malformed,
}

/// The secured-packet layer of the card (TS 102 225 §5.1, TS 31.115 §4).
pub trait PacketSecurity: fmt::Debug + Send {
    /// Checks and opens a command packet (its bytes from the CPL), in the order of TS 102 225: TAR known
    /// (`09`), MSL met (`0A`), keyset and SPI consistent (`06`), deciphering (`05`), counter (`02`, `03`,
    /// `04`), RC/CC (`01`). On success the counter in `card` is updated.
    fn open(&self, packet: &[u8], card: &mut CardSecurity<'_>) -> Opened;

    /// Builds the PoR for a packet with `header` and counter `cntr`: status and additional response data,
    /// secured as SPI2 asks with the keyset the command named. `None` when it cannot be built.
    fn por(
        &self,
        header: &CommandHeader,
        cntr: Cntr,
        status: PorStatus,
        data: &[u8],
        keysets: &Keysets,
    ) -> Option<ResponseUserData>;
}

/// The secured-packet layer a card built from a profile starts with.
#[must_use]
pub fn default_security() -> Box<dyn PacketSecurity> {
    Box::new(UnsecuredOnly)
}

/// A minimal layer that serves only packets with no security at all (SPI1 with no RC/CC/DS, no ciphering
/// and no counter), after the TAR and MSL checks; everything else is refused with `06`. Its PoRs carry no
/// RC/CC and are not ciphered, whatever SPI2 asks.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnsecuredOnly;

/// True when `spi1` reaches `msl` field by field: RC/CC/DS (b2b1), ciphering (b3) and counter management
/// (b5b4) each at least as strong (TS 102 226 §8.2.1.3.2.4.2).
#[must_use]
pub const fn meets_msl(spi1: u8, msl: u8) -> bool {
    (spi1 & 0x03) >= (msl & 0x03) && (spi1 & 0x04) >= (msl & 0x04) && (spi1 & 0x18) >= (msl & 0x18)
}

impl PacketSecurity for UnsecuredOnly {
    fn open(&self, packet: &[u8], card: &mut CardSecurity<'_>) -> Opened {
        let Ok(p) = CommandPacket::decode_for(Transport::SmsPp, packet) else { return Opened::Malformed };
        let header = p.header;
        let Ok(plain) = p.parse_secured() else { return Opened::Malformed };
        let refuse = |status| Opened::Refused { header, cntr: plain.cntr, status };
        let Some(&msl) = card.msl.get(&header.tar.0) else { return refuse(PorStatus::TarUnknown) };
        if !meets_msl(header.spi.spi1(), msl) {
            return refuse(PorStatus::InsufficientSecurityLevel);
        }
        if header.spi.ciphered()
            || header.spi.checksum() != Checksum::None
            || header.spi.counter_mode() != CounterMode::NoCounter
        {
            return refuse(PorStatus::UnidentifiedSecurityError);
        }
        let Some(data) = plain.data_without_padding() else {
            return refuse(PorStatus::UnidentifiedSecurityError);
        };
        Opened::Command {
            info: PacketInfo {
                tar: header.tar,
                spi: header.spi,
                kic: header.kic,
                kid: header.kid,
                cntr: plain.cntr,
            },
            data: data.to_vec(),
        }
    }

    fn por(
        &self,
        header: &CommandHeader,
        cntr: Cntr,
        status: PorStatus,
        data: &[u8],
        _keysets: &Keysets,
    ) -> Option<ResponseUserData> {
        let secured = SecuredResponse::padded(cntr, status, 0, data, 0);
        let packet = ResponsePacket::from_plain(Transport::SmsPp, header.tar, &secured).ok()?;
        Some(ResponseUserData { udh: PorUdh::ResponsePacket, packet })
    }
}

/// A PoR the card produced and how it leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Por {
    /// The PoR as TP-UD (`02 71 00 …`).
    pub user_data: ResponseUserData,
    /// In the DELIVER-REPORT or by SMS-SUBMIT.
    pub transport: PorTransport,
}

impl Uicc {
    /// ENVELOPE `C2` (TS 102 221 §11.2.2; see the module docs).
    pub(super) fn envelope(&mut self, class: Class, data: &[u8]) -> Reply {
        let Ok(env) = m2msim_codec::cat::Envelope::decode_exact(data) else { return Fail::WrongData.into() };
        if env.tag != EnvelopeTag::SmsPpDownload {
            return Reply::Sw(StatusWord::OK);
        }
        let Ok(dl) = SmsPpDownload::from_envelope(&env) else { return Fail::WrongData.into() };
        if self.proactive.busy() {
            return Reply::Sw(StatusWord::TOOLKIT_BUSY);
        }
        let Ok(deliver) = dl.tpdu.deliver() else { return Fail::Technical.into() };
        let packet = match self.reassembler.push_deliver(&deliver) {
            Ok(Progress::Complete(p)) => p,
            Ok(Progress::Pending { .. } | Progress::Duplicate) => return Reply::Sw(StatusWord::OK),
            Err(_) => return Fail::Technical.into(),
        };
        let _ = class;
        match self.process_packet(&packet) {
            None => Reply::Sw(StatusWord::OK),
            Some(Por { user_data, transport: PorTransport::DeliverReport }) => {
                Reply::Produced(user_data.encode())
            }
            Some(Por { user_data, transport: PorTransport::SmsSubmit }) => {
                self.queue_submit(&deliver.originator, &user_data);
                Reply::Sw(StatusWord::OK)
            }
        }
    }

    /// Queues SEND SHORT MESSAGE with the PoR in an SMS-SUBMIT to `destination` (the OTA server: the
    /// originator of the command): PID `7F`, DCS `F6`, UDH `71` (concatenated when longer than one SMS).
    fn queue_submit(&mut self, destination: &Address, por: &ResponseUserData) {
        let Ok(parts) = split_kind(&por.packet.encode(), ConcatRef::Eight(0), PacketKind::Response) else {
            return;
        };
        for ud in parts {
            let submit = Submit::new(
                0,
                *destination,
                Pid::SIM_DATA_DOWNLOAD,
                Dcs::SIM_SPECIFIC_8BIT,
                ValidityPeriod::None,
                ud,
            );
            if self.proactive.push_send_sms(submit.encode()).is_err() {
                return;
            }
        }
    }

    /// Processes one complete command packet (bytes from the CPL) and returns the PoR due, if any.
    pub fn process_packet(&mut self, packet: &[u8]) -> Option<Por> {
        let msl = self.apps.iter().map(|(t, a)| (*t, a.msl)).collect();
        let mut sec = CardSecurity { keysets: &self.keysets, counters: &mut self.counters, msl };
        let (header, cntr, status, data) = match self.security.open(packet, &mut sec) {
            Opened::Malformed => return None,
            Opened::Refused { header, cntr, status } => (header, cntr, status, Vec::new()),
            Opened::Command { info, data } => {
                let out = self.run_applet(info, &data);
                (
                    CommandHeader { spi: info.spi, kic: info.kic, kid: info.kid, tar: info.tar },
                    info.cntr,
                    PorStatus::Ok,
                    out,
                )
            }
        };
        let spi = header.spi;
        let wanted = match spi.por() {
            PorRequest::Always => true,
            PorRequest::OnError => status != PorStatus::Ok,
            PorRequest::None | PorRequest::Reserved => false,
        };
        if !wanted {
            return None;
        }
        let user_data = self.security.por(&header, cntr, status, &data, &self.keysets)?;
        Some(Por { user_data, transport: spi.por_transport() })
    }

    fn run_applet(&mut self, info: PacketInfo, data: &[u8]) -> Vec<u8> {
        let Some(app) = self.apps.get_mut(&info.tar.0) else { return Vec::new() };
        let mut reset = Vec::new();
        let mut ctx = AppletContext {
            fs: &mut self.fs,
            pins: self.pins.summary(),
            keysets: &mut self.keysets,
            provider: self.provider.as_ref(),
            proactive: &mut self.proactive,
            reset_counters: &mut reset,
            subscriber: self.subscriber.as_mut(),
            packet: info,
        };
        let out = run_script(app.applet.as_mut(), data, &mut ctx);
        for kvn in reset {
            self.counters.remove(&kvn);
        }
        out
    }

    /// The applications' TARs.
    #[must_use]
    pub fn tars(&self) -> Vec<Tar> {
        self.apps.values().map(|a| a.tar).collect()
    }
}

//! The OTA path inside the card: ENVELOPE (SMS-PP download, TS 31.111 §7.1.1) → reassembly of
//! concatenated SMS-DELIVERs (TS 31.115 §4.1, with the codec's [`Reassembler`]) → the secured-packet checks
//! of [`crate::card::CardSecurity`] (TAR `09`, MSL `0A`, keys `06`, deciphering `05`, counter `02`–`04`,
//! RC/CC `01`, in TS 102 225 order) → the applet of the TAR ([`super::applet::run_script`]) → the PoR from
//! [`crate::card::CardSecurity::por`], in the ENVELOPE response (for the terminal's SMS-DELIVER-REPORT)
//! or, when SPI2 b6 asks for it (TS 31.115 §5.1), in proactive SEND SHORT MESSAGEs carrying SMS-SUBMITs.
//!
//! ENVELOPE status words: `6A80` data that is not an envelope template; `9000` (no data) for envelopes
//! other than SMS-PP download, for a segment of a concatenated packet that is not complete yet, and when
//! no PoR is due (SPI2 "no PoR", "PoR on error" after success, PoR by SMS-SUBMIT: the SEND SHORT MESSAGE
//! then waits behind `91xx`); `61xx` / `9Fxx` with the PoR user data (`02 71 00 …`) otherwise; `9300`
//! (toolkit busy) while a proactive command is in progress; `6F00` (the terminal answers RP-ERROR "SIM
//! data download error") for an SMS that is not an OTA command packet.
//!
//! Keyset changes an applet makes (PUT KEY) take effect after the PoR is built: the PoR is secured with the
//! keys that secured the command, so the sender can still verify it. A replaced or added keyset's receive
//! counter restarts at zero.
//!
//! [`Reassembler`]: m2msim_codec::sms::concat::Reassembler

use m2msim_codec::apdu::StatusWord;
use m2msim_codec::cat::{EnvelopeTag, SmsPpDownload};
use m2msim_codec::ota::{PorTransport, Tar, Transport};
use m2msim_codec::sms::Address;
use m2msim_codec::sms::concat::{ConcatRef, Progress};
use m2msim_codec::{Decode, Encode};

use super::Uicc;
use super::applet::{AppletContext, KeysetUpdate, PacketInfo, run_script};
use super::commands::{Fail, Reply};
use crate::card::Por;
use crate::counter::Counter;

impl Uicc {
    /// ENVELOPE `C2` (TS 102 221 §11.2.2; see the module docs).
    pub(super) fn envelope(&mut self, data: &[u8]) -> Reply {
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
        match self.process_packet(&packet) {
            None => Reply::Sw(StatusWord::OK),
            Some(por) if por.delivery == PorTransport::SmsSubmit => {
                self.queue_submit(&deliver.originator, &por);
                Reply::Sw(StatusWord::OK)
            }
            Some(por) => Reply::Produced(por.bytes),
        }
    }

    /// Queues SEND SHORT MESSAGE with the PoR in SMS-SUBMITs to `destination` (the OTA server: the
    /// originator of the command), concatenated when longer than one SMS ([`Por::submit_tpdus`]).
    fn queue_submit(&mut self, destination: &Address, por: &Por) {
        let reference = ConcatRef::Eight(self.next_reference());
        let Ok(submits) = por.submit_tpdus(*destination, 0, reference) else { return };
        for s in submits {
            if self.proactive.push_send_sms(s.encode()).is_err() {
                return;
            }
        }
    }

    fn next_reference(&mut self) -> u8 {
        self.submit_reference = self.submit_reference.wrapping_add(1);
        self.submit_reference
    }

    /// Processes one complete SMS-PP command packet (bytes from the CPL) and returns the PoR due, if any.
    pub fn process_packet(&mut self, packet: &[u8]) -> Option<Por> {
        let outcome = self.security.process(packet, Transport::SmsPp);
        let mut updates = Vec::new();
        let data = match (&outcome.header, outcome.cntr, &outcome.data) {
            (Some(h), Some(cntr), Some(data)) if outcome.accepted() => {
                let info = PacketInfo { tar: h.tar, spi: h.spi, kic: h.kic, kid: h.kid, cntr };
                self.run_applet(info, data, &mut updates)
            }
            _ => Vec::new(),
        };
        let por = self.security.por(&outcome, &data).ok().flatten();
        self.apply(updates);
        por
    }

    fn run_applet(&mut self, info: PacketInfo, data: &[u8], updates: &mut Vec<KeysetUpdate>) -> Vec<u8> {
        let Some(app) = self.apps.get_mut(&info.tar.0) else { return Vec::new() };
        let mut ctx = AppletContext {
            fs: &mut self.fs,
            pins: self.pins.summary(),
            keysets: self.security.keysets(),
            keyset_updates: updates,
            provider: self.provider.as_ref(),
            proactive: &mut self.proactive,
            subscriber: self.subscriber.as_mut(),
            keyslots: self.keyslots.as_mut(),
            packet: info,
        };
        run_script(app.applet.as_mut(), data, &mut ctx)
    }

    /// Applies keyset changes: removes the replaced keysets, inserts the new ones, and restarts the
    /// receive counter of each KVN touched.
    pub(super) fn apply(&mut self, updates: Vec<KeysetUpdate>) {
        for u in updates {
            let kvn = u.keyset.kvn();
            let keysets = self.security.keysets_mut();
            if let Some(old) = u.replaces {
                keysets.remove(old);
            }
            keysets.insert(u.keyset);
            for k in u.replaces.into_iter().chain([kvn]) {
                // A memory store cannot fail.
                let _ = self.security.counters().set(&self.card_id, k, Counter::ZERO);
            }
        }
    }

    /// The applications' TARs.
    #[must_use]
    pub fn tars(&self) -> Vec<Tar> {
        self.apps.values().map(|a| a.tar).collect()
    }
}

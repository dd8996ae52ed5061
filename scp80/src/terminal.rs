//! A simulated terminal (the ME in front of the UICC), sans-IO: it drives a card through a [`CardLink`]
//! (the simulated [`crate::uicc::Uicc`], or an adapter to a remote one), takes network-side inputs
//! ([`Input`]) and the time ([`Terminal::handle_timeout`]), and reports what the network would see
//! ([`Output`], from [`Terminal::poll_output`]). No I/O, no clock.
//!
//! What it does:
//! - Card session start ([`Input::PowerOn`], and after a REFRESH UICC reset): reset → ATR, read EF_DIR for
//!   the USIM's AID, TERMINAL PROFILE, SELECT ADF.USIM, VERIFY PIN1 (when configured), read EF_IMSI.
//! - SMS-PP data download (TS 31.111 §7.1.1): each SMS-DELIVER goes to the card in ENVELOPE `D1` (device
//!   identities network → UICC `83 81`, the service-centre address when known). The card's answer becomes
//!   the SMS-DELIVER-REPORT: `9000` / `91xx` → RP-ACK without user data; `61xx` / `9Fxx` → GET RESPONSE,
//!   RP-ACK carrying the response (the PoR, `02 71 00 …`) as TP-UD with the command's PID and DCS;
//!   `9300` → RP-ERROR, cause `D3` (toolkit busy); anything else → RP-ERROR, cause `D4` (data download
//!   error).
//! - Proactive commands (`91xx` → FETCH → TERMINAL RESPONSE, TS 102 221 §14.7): SEND SHORT MESSAGE →
//!   [`Output::SmsSubmit`] and "performed successfully"; REFRESH `04` (UICC reset) → a new card session
//!   with no TERMINAL RESPONSE (TS 102 223 §6.4.7), then [`Output::Reset`] with the IMSI read afresh;
//!   the NAA initialisation modes (`00`, `02`, `03`, `05`, `06`) → re-select ADF.USIM and re-read EF_IMSI,
//!   TERMINAL RESPONSE, [`Output::Refresh`]; `01` (file change) → TERMINAL RESPONSE, [`Output::Refresh`];
//!   any other command → "command beyond terminal's capabilities" (`30`).
//! - AKA for a network side ([`Input::Authenticate`]): AUTHENTICATE in the 3G context →
//!   [`Output::Authenticated`], [`Output::SyncFailure`] (AUTS) or [`Output::MacFailure`].
//! - Proactive polling: every [`TerminalConfig::poll_interval_ms`] of the time passed in, STATUS, so that
//!   a pending proactive command is fetched (TS 102 221 §14.7.1).

use std::collections::VecDeque;
use std::fmt;

use m2msim_codec::apdu::{Cla, CommandApdu, ResponseApdu, StatusWord};
use m2msim_codec::cat::{
    Address as CatAddress, CommandResult, GeneralResult, Proactive, ProactiveCommand, RefreshMode,
    SmsPpDownload, TerminalResponse,
};
use m2msim_codec::sim::{EfImsi, fid};
use m2msim_codec::sms::{Deliver, DeliverReport, RpKind, UserData};
use m2msim_codec::tlv::ber::{BerTlv, Tag};
use m2msim_codec::{Decode, Encode, Reader};

use crate::uicc::Uicc;

/// TP-FCS `D3`: (U)SIM application toolkit busy (TS 23.040 §9.2.3.22).
pub const FCS_TOOLKIT_BUSY: u8 = 0xD3;
/// TP-FCS `D4`: (U)SIM data download error (TS 23.040 §9.2.3.22).
pub const FCS_DATA_DOWNLOAD_ERROR: u8 = 0xD4;

/// Most proactive commands handled in one go (a card that keeps answering `91xx` cannot loop us forever).
pub const MAX_PROACTIVE_PER_EXCHANGE: usize = 32;

/// The terminal's side of the card interface: one C-APDU in, one R-APDU out; a reset gives the ATR.
pub trait CardLink {
    /// Sends a C-APDU and returns the R-APDU (data and SW1 SW2; fewer than 2 bytes is a link failure).
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8>;
    /// Resets the card and returns its ATR.
    fn reset(&mut self) -> Vec<u8>;
}

impl CardLink for Uicc {
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.handle_apdu(apdu)
    }

    fn reset(&mut self) -> Vec<u8> {
        Uicc::reset(self)
    }
}

/// Settings of the terminal.
#[derive(Clone)]
pub struct TerminalConfig {
    /// PIN1 to present at session start (digits), if any.
    pub pin1: Option<String>,
    /// The TERMINAL PROFILE sent at session start (TS 102 223 §5.2).
    pub terminal_profile: Vec<u8>,
    /// The USIM AID when EF_DIR does not give one.
    pub usim_aid: Vec<u8>,
    /// The service-centre address put in SMS-PP download envelopes when the input has none.
    pub sc_address: Option<CatAddress>,
    /// Interval between STATUS polls (ms).
    pub poll_interval_ms: u64,
}

impl fmt::Debug for TerminalConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TerminalConfig")
            .field("pin1", &self.pin1.as_ref().map(|_| "<redacted>"))
            .field("terminal_profile", &hex::encode(&self.terminal_profile))
            .field("usim_aid", &hex::encode(&self.usim_aid))
            .field("sc_address", &self.sc_address)
            .field("poll_interval_ms", &self.poll_interval_ms)
            .finish()
    }
}

impl Default for TerminalConfig {
    fn default() -> Self {
        Self {
            pin1: None,
            // Profile download, SMS-PP data download, proactive UICC: REFRESH, MORE TIME, SEND SHORT MESSAGE …
            terminal_profile: vec![0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00, 0x00, 0x00, 0x00],
            usim_aid: vec![0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02],
            sc_address: None,
            poll_interval_ms: 30_000,
        }
    }
}

/// What the network side hands the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Power the card on and start a session.
    PowerOn,
    /// An SMS-DELIVER TPDU addressed to the (U)SIM, from the service centre `sc_address` (when known).
    SmsDeliver {
        /// The TPDU.
        tpdu: Vec<u8>,
        /// TP-SCA as a CAT address.
        sc_address: Option<CatAddress>,
    },
    /// Run AKA with a RAND and AUTN from the network.
    Authenticate {
        /// RAND.
        rand: [u8; 16],
        /// AUTN.
        autn: [u8; 16],
    },
}

/// RES, CK, IK (and Kc) of a successful AUTHENTICATE. CK, IK and Kc are redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct AkaKeys {
    /// RES (4..=16 bytes).
    pub res: Vec<u8>,
    /// CK.
    pub ck: [u8; 16],
    /// IK.
    pub ik: [u8; 16],
    /// Kc, when the card gives it.
    pub kc: Option<[u8; 8]>,
}

impl fmt::Debug for AkaKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AkaKeys")
            .field("res", &hex::encode(&self.res))
            .field("ck", &"<redacted>")
            .field("ik", &"<redacted>")
            .field("kc", &self.kc.map(|_| "<redacted>"))
            .finish()
    }
}

/// What the terminal reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A card session started (power on).
    Ready {
        /// The ATR.
        atr: Vec<u8>,
        /// The IMSI read from EF_IMSI, if it could be read.
        imsi: Option<String>,
    },
    /// An SMS-DELIVER-REPORT for the network: RP-ACK or RP-ERROR.
    DeliverReport {
        /// The TPDU.
        tpdu: Vec<u8>,
        /// Which RP message carries it.
        rp: RpKind,
    },
    /// An SMS-SUBMIT from a proactive SEND SHORT MESSAGE.
    SmsSubmit {
        /// The TPDU.
        tpdu: Vec<u8>,
        /// The service-centre address the command names.
        sc_address: Option<CatAddress>,
    },
    /// The card was reset on a REFRESH (UICC reset): a new ATR and the IMSI read afresh.
    Reset {
        /// The new ATR.
        atr: Vec<u8>,
        /// The IMSI now in EF_IMSI.
        imsi: Option<String>,
    },
    /// A REFRESH other than a UICC reset was performed.
    Refresh {
        /// Its mode.
        mode: RefreshMode,
        /// The IMSI after it.
        imsi: Option<String>,
    },
    /// AUTHENTICATE succeeded.
    Authenticated(AkaKeys),
    /// AUTHENTICATE: synchronisation failure.
    SyncFailure {
        /// AUTS.
        auts: [u8; 14],
    },
    /// AUTHENTICATE: MAC failure (`9862`).
    MacFailure,
    /// A proactive command the terminal does not handle (answered "beyond terminal's capabilities").
    UnhandledProactive(ProactiveCommand),
    /// The card answered something the terminal did not expect.
    CardError {
        /// What the terminal was doing.
        during: &'static str,
        /// The status word (`0000` when the link gave no status).
        sw: StatusWord,
    },
}

/// The terminal (see the module docs).
#[derive(Debug)]
pub struct Terminal {
    config: TerminalConfig,
    outputs: VecDeque<Output>,
    usim_aid: Option<Vec<u8>>,
    imsi: Option<String>,
    powered: bool,
    next_poll: Option<u64>,
    now: u64,
}

impl Terminal {
    /// A terminal with `config`, card not powered.
    #[must_use]
    pub fn new(config: TerminalConfig) -> Self {
        Self {
            config,
            outputs: VecDeque::new(),
            usim_aid: None,
            imsi: None,
            powered: false,
            next_poll: None,
            now: 0,
        }
    }

    /// The IMSI read at the last session start or refresh.
    #[must_use]
    pub fn imsi(&self) -> Option<&str> {
        self.imsi.as_deref()
    }

    /// The next event, if any. Call until `None` after every input.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`Terminal::handle_timeout`] wants to be called next (ms, on the caller's clock).
    #[must_use]
    pub const fn poll_timeout(&self) -> Option<u64> {
        self.next_poll
    }

    /// Passes time: polls the card with STATUS when the poll interval has elapsed.
    pub fn handle_timeout(&mut self, card: &mut dyn CardLink, now: u64) {
        self.now = now;
        if self.next_poll.is_some_and(|t| now >= t) {
            self.schedule_poll();
            let r = self.send(card, &[0x80, 0xF2, 0x00, 0x0C]);
            self.after(card, r, "STATUS poll");
        }
    }

    fn schedule_poll(&mut self) {
        self.next_poll = self.powered.then(|| self.now.saturating_add(self.config.poll_interval_ms));
    }

    /// Handles one input.
    pub fn handle_input(&mut self, card: &mut dyn CardLink, input: Input) {
        match input {
            Input::PowerOn => {
                let (atr, imsi) = self.start_session(card);
                self.outputs.push_back(Output::Ready { atr, imsi });
            }
            Input::SmsDeliver { tpdu, sc_address } => self.sms_pp_download(card, tpdu, sc_address),
            Input::Authenticate { rand, autn } => self.authenticate(card, &rand, &autn),
        }
    }

    fn send(&mut self, card: &mut dyn CardLink, apdu: &[u8]) -> ResponseApdu {
        let r = card.transmit(apdu);
        ResponseApdu::decode_exact(&r).unwrap_or(ResponseApdu::status(StatusWord(0)))
    }

    /// Sends `apdu`; on `61xx`/`9Fxx` fetches the data with GET RESPONSE (in the command's class).
    fn exchange(&mut self, card: &mut dyn CardLink, apdu: &CommandApdu) -> ResponseApdu {
        let r = self.send(card, &apdu.encode());
        match r.sw.bytes_available() {
            Some(n) => {
                let cla = if apdu.cla.is_gsm() { 0xA0 } else { 0x00 };
                let le = u8::try_from(n).unwrap_or(0);
                self.send(card, &[cla, 0xC0, 0x00, 0x00, le])
            }
            None => r,
        }
    }

    /// Reset, EF_DIR, TERMINAL PROFILE, SELECT ADF.USIM, VERIFY PIN1, EF_IMSI.
    fn start_session(&mut self, card: &mut dyn CardLink) -> (Vec<u8>, Option<String>) {
        let atr = card.reset();
        self.powered = true;
        self.schedule_poll();
        self.usim_aid = self.read_usim_aid(card);
        let tp = self.config.terminal_profile.clone();
        if let Ok(apdu) = CommandApdu::new(Cla::UICC_PROPRIETARY, 0x10, 0, 0, tp, None) {
            let r = self.send(card, &apdu.encode());
            if !r.sw.is_success() {
                self.outputs.push_back(Output::CardError { during: "TERMINAL PROFILE", sw: r.sw });
            }
        }
        if let Some(pin) = self.config.pin1.clone() {
            let mut v = [0xFFu8; 8];
            for (d, b) in v.iter_mut().zip(pin.bytes()) {
                *d = b;
            }
            let mut apdu = vec![0x00, 0x20, 0x00, 0x01, 0x08];
            apdu.extend_from_slice(&v);
            let r = self.send(card, &apdu);
            if r.sw != StatusWord::OK {
                self.outputs.push_back(Output::CardError { during: "VERIFY PIN1", sw: r.sw });
            }
        }
        let imsi = self.read_imsi(card);
        // TS 102 221 §14.7: a proactive command may already wait.
        let r = self.send(card, &[0x80, 0xF2, 0x00, 0x0C]);
        self.after(card, r, "STATUS");
        (atr, imsi)
    }

    /// The first USIM AID in EF_DIR (`3F00/2F00`), or the configured one.
    fn read_usim_aid(&mut self, card: &mut dyn CardLink) -> Option<Vec<u8>> {
        let from_dir = (|| {
            let r = self.send(card, &[0x00, 0xA4, 0x08, 0x0C, 0x02, 0x2F, 0x00]);
            if r.sw != StatusWord::OK {
                return None;
            }
            for rec in 1..=8u8 {
                let r = self.send(card, &[0x00, 0xB2, rec, 0x04, 0x00]);
                if r.sw != StatusWord::OK {
                    return None;
                }
                let Ok((t, _)) = BerTlv::decode(&r.data) else { continue };
                let aid = t.find(Tag::one(0x4F)).and_then(BerTlv::primitive_value);
                if let Some(aid) = aid.filter(|a| a.starts_with(&[0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02]))
                {
                    return Some(aid.to_vec());
                }
            }
            None
        })();
        from_dir.or_else(|| Some(self.config.usim_aid.clone()))
    }

    /// SELECT ADF.USIM, SELECT EF_IMSI, READ BINARY, decode.
    fn read_imsi(&mut self, card: &mut dyn CardLink) -> Option<String> {
        let aid = self.usim_aid.clone()?;
        let mut select = vec![0x00, 0xA4, 0x04, 0x0C, u8::try_from(aid.len()).ok()?];
        select.extend_from_slice(&aid);
        let r = self.send(card, &select);
        if r.sw != StatusWord::OK {
            self.outputs.push_back(Output::CardError { during: "SELECT ADF.USIM", sw: r.sw });
            self.imsi = None;
            return None;
        }
        let [a, b] = fid::EF_IMSI.to_be_bytes();
        let r = self.send(card, &[0x00, 0xA4, 0x00, 0x0C, 0x02, a, b]);
        let r = if r.sw == StatusWord::OK { self.send(card, &[0x00, 0xB0, 0x00, 0x00, 0x09]) } else { r };
        self.imsi = if r.sw == StatusWord::OK {
            EfImsi::decode_exact(&r.data).ok().map(|e| e.imsi.as_str().to_owned())
        } else {
            self.outputs.push_back(Output::CardError { during: "read EF_IMSI", sw: r.sw });
            None
        };
        self.imsi.clone()
    }

    /// SMS-PP data download (see the module docs).
    fn sms_pp_download(&mut self, card: &mut dyn CardLink, tpdu: Vec<u8>, sc_address: Option<CatAddress>) {
        let deliver = Deliver::decode_exact(&tpdu).ok();
        let sc = sc_address.or_else(|| self.config.sc_address.clone());
        let Ok(apdu) = SmsPpDownload::new(sc, tpdu).to_apdu() else {
            self.report_error(FCS_DATA_DOWNLOAD_ERROR);
            return;
        };
        let r = self.send(card, &apdu.encode());
        let sw = r.sw;
        if sw == StatusWord::OK || sw.proactive_command_pending().is_some() {
            self.report(DeliverReport {
                first_octet: 0,
                failure_cause: None,
                parameter_indicator: 0,
                pi_extension: Vec::new(),
                pid: None,
                dcs: None,
                user_data: None,
            });
            self.after(card, r, "ENVELOPE (SMS-PP download)");
            return;
        }
        if let Some(n) = sw.bytes_available() {
            let cla = if sw.sw1() == 0x9F { 0xA0 } else { 0x00 };
            let g = self.send(card, &[cla, 0xC0, 0x00, 0x00, u8::try_from(n).unwrap_or(0)]);
            if !g.sw.is_success() {
                self.outputs.push_back(Output::CardError { during: "GET RESPONSE (PoR)", sw: g.sw });
                self.report_error(FCS_DATA_DOWNLOAD_ERROR);
                return;
            }
            let (pid, dcs) = deliver.as_ref().map_or(
                (m2msim_codec::sms::Pid::SIM_DATA_DOWNLOAD, m2msim_codec::sms::Dcs::SIM_SPECIFIC_8BIT),
                |d| (d.pid, d.dcs),
            );
            let mut ud = vec![u8::try_from(g.data.len()).unwrap_or(u8::MAX)];
            ud.extend_from_slice(&g.data);
            match UserData::read(&mut Reader::new(&ud), true, dcs) {
                Ok(user_data) => self.report(DeliverReport::ack(pid, dcs, user_data)),
                Err(_) => self.report_error(FCS_DATA_DOWNLOAD_ERROR),
            }
            self.after(card, g, "GET RESPONSE (PoR)");
            return;
        }
        self.report_error(if sw == StatusWord::TOOLKIT_BUSY {
            FCS_TOOLKIT_BUSY
        } else {
            FCS_DATA_DOWNLOAD_ERROR
        });
    }

    fn report(&mut self, r: DeliverReport) {
        let rp = r.rp_kind();
        self.outputs.push_back(Output::DeliverReport { tpdu: r.encode(), rp });
    }

    fn report_error(&mut self, cause: u8) {
        self.report(DeliverReport::error(cause, None, None, None));
    }

    /// Follows `91xx` with FETCH and the proactive loop.
    fn after(&mut self, card: &mut dyn CardLink, mut r: ResponseApdu, during: &'static str) {
        for _ in 0..MAX_PROACTIVE_PER_EXCHANGE {
            let Some(n) = r.sw.proactive_command_pending() else {
                if !r.sw.is_success() && !r.sw.is_warning() {
                    self.outputs.push_back(Output::CardError { during, sw: r.sw });
                }
                return;
            };
            let f = self.send(card, &[0x80, 0x12, 0x00, 0x00, u8::try_from(n).unwrap_or(0)]);
            if f.sw != StatusWord::OK {
                self.outputs.push_back(Output::CardError { during: "FETCH", sw: f.sw });
                return;
            }
            let Ok(cmd) = ProactiveCommand::decode_exact(&f.data) else {
                self.outputs.push_back(Output::CardError { during: "FETCH (undecodable command)", sw: f.sw });
                return;
            };
            match self.proactive(card, &cmd) {
                Some(next) => r = next,
                None => return,
            }
        }
    }

    /// Executes one proactive command; returns the card's answer to the TERMINAL RESPONSE (`None` after a
    /// UICC reset, which has none).
    fn proactive(&mut self, card: &mut dyn CardLink, cmd: &ProactiveCommand) -> Option<ResponseApdu> {
        let details = *cmd.command_details()?;
        let mut result = CommandResult::SUCCESS;
        match cmd.interpret() {
            Ok(Proactive::SendShortMessage(s)) => {
                self.outputs
                    .push_back(Output::SmsSubmit { tpdu: s.tpdu.0.clone(), sc_address: s.address.clone() });
            }
            Ok(Proactive::Refresh(r)) => match r.mode() {
                RefreshMode::UiccReset => {
                    let (atr, imsi) = self.start_session(card);
                    self.outputs.push_back(Output::Reset { atr, imsi });
                    return None;
                }
                RefreshMode::FileChangeNotification => {
                    self.outputs.push_back(Output::Refresh { mode: r.mode(), imsi: self.imsi.clone() });
                }
                mode @ (RefreshMode::NaaInitFullFileChange
                | RefreshMode::NaaInitFileChange
                | RefreshMode::NaaInit
                | RefreshMode::NaaApplicationReset
                | RefreshMode::NaaSessionReset) => {
                    let imsi = self.read_imsi(card);
                    self.outputs.push_back(Output::Refresh { mode, imsi });
                }
                _ => result = CommandResult::new(GeneralResult::from_u8(0x30)),
            },
            _ => {
                self.outputs.push_back(Output::UnhandledProactive(cmd.clone()));
                result = CommandResult::new(GeneralResult::from_u8(0x30));
            }
        }
        let tr = TerminalResponse::new(details, result).to_apdu().ok()?;
        Some(self.send(card, &tr.encode()))
    }

    /// AUTHENTICATE in the 3G context (TS 31.102 §7.1.2.1).
    fn authenticate(&mut self, card: &mut dyn CardLink, rand: &[u8; 16], autn: &[u8; 16]) {
        let mut data = vec![0x10];
        data.extend_from_slice(rand);
        data.push(0x10);
        data.extend_from_slice(autn);
        let Ok(apdu) = CommandApdu::new(Cla::ISO, 0x88, 0x00, 0x81, data, None) else { return };
        let r = self.exchange(card, &apdu);
        let out = match (r.sw, r.data.as_slice()) {
            (StatusWord::OK, [0xDB, rest @ ..]) => parse_db(rest).map(Output::Authenticated),
            (StatusWord::OK, [0xDC, 0x0E, auts @ ..]) => {
                <[u8; 14]>::try_from(auts).ok().map(|auts| Output::SyncFailure { auts })
            }
            (StatusWord(0x9862), _) => Some(Output::MacFailure),
            _ => None,
        };
        self.outputs.push_back(out.unwrap_or(Output::CardError { during: "AUTHENTICATE", sw: r.sw }));
    }
}

/// `L RES L CK L IK [L Kc]` after the `DB` tag.
fn parse_db(b: &[u8]) -> Option<AkaKeys> {
    let mut r = Reader::new(b);
    let n = r.u8("RES length").ok()?;
    let res = r.take(usize::from(n), "RES").ok()?.to_vec();
    let key16 = |r: &mut Reader<'_>| -> Option<[u8; 16]> {
        (r.u8("key length").ok()? == 16).then_some(())?;
        r.array::<16>("key").ok()
    };
    let ck = key16(&mut r)?;
    let ik = key16(&mut r)?;
    let kc = if r.is_empty() {
        None
    } else {
        (r.u8("Kc length").ok()? == 8).then_some(())?;
        Some(r.array::<8>("Kc").ok()?)
    };
    r.expect_end("AUTHENTICATE response").ok()?;
    Some(AkaKeys { res, ck, ik, kc })
}

//! The in-process driver: an [`Engine`] wired to a [`Fleet`] of simulated cards, each behind its own
//! simulated terminal ([`crate::terminal::Terminal`] in front of a [`crate::uicc::Uicc`]), through an
//! in-memory SMSC ([`Simulation`]) on a virtual clock. Deterministic: the same jobs, fleet and
//! [`NetworkConfig`] (seed included) give the same run, event for event.
//!
//! The SMSC hands each SMS-DELIVER to the terminal of the card whose MSISDN it is addressed to (after
//! [`NetworkConfig::mt_delay_ms`]); the terminal downloads it to the card (ENVELOPE SMS-PP download) and
//! answers with an SMS-DELIVER-REPORT, and the card may send SMS-SUBMITs (SEND SHORT MESSAGE); both go
//! back to the engine after [`NetworkConfig::mo_delay_ms`]. Faults ([`Faults`]) drop or refuse messages
//! to exercise the engine's retries.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;

use m2msim_codec::Decode as _;
use m2msim_codec::Encode as _;
use m2msim_codec::ota::{Spi, Tar};
use m2msim_codec::sim::{EfIccid, EfImsi, fid};
use m2msim_codec::sms::{Address, RpKind};

use super::engine::{Engine, Input, Output, RetryReason, Unmatched};
use super::job::{Job, JobId, Script, SmsId};
use super::report::JobReport;
use crate::counter::{CardId, CounterError};
use crate::crypto::{RustCryptoProvider, SecurityProvider};
use crate::keys::{Keysets, Kvn};
use crate::terminal::{self, CardLink, Terminal, TerminalConfig};
use crate::uicc::Uicc;
use crate::uicc::fs::EfBody;
use crate::uicc::profile::{CardProfile, ProfileError};

/// Errors building a fleet.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// A card could not be built from its profile.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// An ICCID that is not a valid card id.
    #[error(transparent)]
    CardId(#[from] CounterError),
    /// A number (ICCID, MSISDN, IMSI) that is not digits, or runs out of digits when counted up.
    #[error("{what} {value:?}: {reason}")]
    Number {
        /// Which number.
        what: &'static str,
        /// Its text.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// Two cards with the same MSISDN (the SMSC could not route to them).
    #[error("MSISDN {0} is used by two cards")]
    DuplicateMsisdn(String),
    /// The profile lacks a file the fleet writes (EF_ICCID under the MF, EF_IMSI under ADF.USIM).
    #[error("the profile has no {0}")]
    MissingFile(&'static str),
}

/// One simulated card with its terminal.
#[derive(Debug)]
pub struct SimCard {
    /// The ICCID (digits).
    pub iccid: String,
    /// Its counter id (the ICCID).
    pub card_id: CardId,
    /// Its MSISDN.
    pub msisdn: Address,
    /// The card.
    pub uicc: Uicc,
    /// The terminal (ME) in front of it.
    pub terminal: Terminal,
}

impl SimCard {
    /// A card in its terminal, powered on (the terminal's session start: EF_DIR, TERMINAL PROFILE,
    /// ADF.USIM, PIN1, EF_IMSI).
    ///
    /// # Errors
    /// [`FleetError::CardId`] when the ICCID is not a valid card id.
    pub fn new(
        iccid: impl Into<String>,
        msisdn: Address,
        uicc: Uicc,
        terminal: TerminalConfig,
    ) -> Result<Self, FleetError> {
        let iccid = iccid.into();
        let card_id = CardId::new(iccid.clone())?;
        let mut card = Self { iccid, card_id, msisdn, uicc, terminal: Terminal::new(terminal) };
        card.terminal.handle_input(&mut card.uicc, terminal::Input::PowerOn);
        while card.terminal.poll_output().is_some() {}
        Ok(card)
    }

    /// The IMSI the terminal read at the last session start or refresh.
    #[must_use]
    pub fn imsi(&self) -> Option<&str> {
        self.terminal.imsi()
    }

    /// Hands the terminal a network-side input (AKA, …) and returns what it reports.
    pub fn terminal_input(&mut self, input: terminal::Input) -> Vec<terminal::Output> {
        self.terminal.handle_input(&mut self.uicc, input);
        std::iter::from_fn(|| self.terminal.poll_output()).collect()
    }

    /// A job for this card.
    #[must_use]
    pub fn job(&self, tar: Tar, spi: Spi, kvn: Kvn, keys: Arc<Keysets>, script: Script) -> Job {
        Job::new(self.card_id.clone(), self.msisdn, tar, spi, kvn, keys, script)
    }
}

/// How the cards of [`Fleet::from_profile`] are numbered: card `i` gets each first number plus `i`
/// (decimal, same number of digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numbering {
    /// The first ICCID (written to EF_ICCID).
    pub iccid: String,
    /// The first MSISDN (international digits).
    pub msisdn: String,
    /// The first IMSI (written to EF_IMSI under ADF.USIM); `None` keeps the profile's.
    pub imsi: Option<String>,
}

/// `base + i` in decimal with as many digits as `base`.
///
/// # Errors
/// [`FleetError::Number`] when `base` is not digits or the sum needs more digits.
pub fn nth_number(what: &'static str, base: &str, i: u64) -> Result<String, FleetError> {
    let err = |reason| FleetError::Number { what, value: base.to_owned(), reason };
    if base.is_empty() || !base.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("not decimal digits"));
    }
    let mut digits: Vec<u8> = base.bytes().map(|b| b - b'0').collect();
    let mut carry = i;
    for d in digits.iter_mut().rev() {
        if carry == 0 {
            break;
        }
        let sum = u64::from(*d) + carry % 10;
        *d = (sum % 10) as u8;
        carry = carry / 10 + sum / 10;
    }
    if carry != 0 {
        return Err(err("runs out of digits when counted up"));
    }
    Ok(digits.iter().map(|d| char::from(b'0' + d)).collect())
}

/// Simulated cards by MSISDN.
#[derive(Debug, Default)]
pub struct Fleet {
    cards: Vec<SimCard>,
    by_msisdn: HashMap<Address, usize>,
}

impl Fleet {
    /// No cards.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a card and returns its index.
    ///
    /// # Errors
    /// [`FleetError::DuplicateMsisdn`].
    pub fn push(&mut self, card: SimCard) -> Result<usize, FleetError> {
        if self.by_msisdn.contains_key(&card.msisdn) {
            return Err(FleetError::DuplicateMsisdn(card.msisdn.to_string()));
        }
        self.by_msisdn.insert(card.msisdn, self.cards.len());
        self.cards.push(card);
        Ok(self.cards.len() - 1)
    }

    /// `count` cards built from `profile` (keys expanded with `provider`), numbered by `numbering`
    /// (EF_ICCID and, when given, EF_IMSI written), each powered on in a terminal with `terminal`.
    ///
    /// # Errors
    /// [`FleetError`].
    pub fn from_profile(
        profile: &CardProfile,
        count: usize,
        numbering: &Numbering,
        terminal: &TerminalConfig,
        provider: Arc<dyn SecurityProvider>,
    ) -> Result<Self, FleetError> {
        let mut fleet = Self { cards: Vec::with_capacity(count), by_msisdn: HashMap::with_capacity(count) };
        fleet.extend_from_profile(profile, count, numbering, terminal, provider)?;
        Ok(fleet)
    }

    /// As [`Fleet::from_profile`], adding to this fleet.
    ///
    /// # Errors
    /// [`FleetError`].
    pub fn extend_from_profile(
        &mut self,
        profile: &CardProfile,
        count: usize,
        numbering: &Numbering,
        terminal: &TerminalConfig,
        provider: Arc<dyn SecurityProvider>,
    ) -> Result<(), FleetError> {
        for i in 0..count as u64 {
            let iccid = nth_number("ICCID", &numbering.iccid, i)?;
            let msisdn_digits = nth_number("MSISDN", &numbering.msisdn, i)?;
            let msisdn = Address::international(&msisdn_digits).map_err(|_| FleetError::Number {
                what: "MSISDN",
                value: msisdn_digits.clone(),
                reason: "at most 20 digits",
            })?;
            let mut uicc = Uicc::from_profile_with(profile, provider.clone())?;
            write_iccid(&mut uicc, &iccid)?;
            if let Some(base) = &numbering.imsi {
                write_imsi(&mut uicc, &nth_number("IMSI", base, i)?)?;
            }
            self.push(SimCard::new(iccid, msisdn, uicc, terminal.clone())?)?;
        }
        Ok(())
    }

    /// How many cards.
    #[must_use]
    pub fn len(&self) -> usize {
        self.cards.len()
    }

    /// True when there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.cards.is_empty()
    }

    /// Card `i`.
    #[must_use]
    pub fn get(&self, i: usize) -> Option<&SimCard> {
        self.cards.get(i)
    }

    /// Card `i`, to change.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut SimCard> {
        self.cards.get_mut(i)
    }

    /// The index of the card with this MSISDN.
    #[must_use]
    pub fn index_of(&self, msisdn: &Address) -> Option<usize> {
        self.by_msisdn.get(msisdn).copied()
    }

    /// The cards in order.
    pub fn iter(&self) -> impl Iterator<Item = &SimCard> {
        self.cards.iter()
    }
}

/// Writes EF_ICCID (`3F00/2FE2`) of `uicc`.
///
/// # Errors
/// [`FleetError::Number`] for an ICCID that is not 1 to 20 digits, [`FleetError::MissingFile`].
pub fn write_iccid(uicc: &mut Uicc, iccid: &str) -> Result<(), FleetError> {
    let value = EfIccid::from_digits(iccid)
        .map_err(|_| FleetError::Number { what: "ICCID", value: iccid.to_owned(), reason: "not an ICCID" })?
        .encode();
    let fs = uicc.fs_mut();
    let node = fs.walk(fs.mf(), &[fid::EF_ICCID], None).ok_or(FleetError::MissingFile("EF_ICCID"))?;
    match fs.body_mut(node) {
        Some(body @ EfBody::Transparent(_)) => *body = EfBody::Transparent(value),
        _ => return Err(FleetError::MissingFile("transparent EF_ICCID")),
    }
    Ok(())
}

/// Writes EF_IMSI (`ADF.USIM/6F07`) of `uicc`.
///
/// # Errors
/// [`FleetError::Number`] for an IMSI that is not 6 to 15 digits, [`FleetError::MissingFile`].
pub fn write_imsi(uicc: &mut Uicc, imsi: &str) -> Result<(), FleetError> {
    let value = EfImsi::from_digits(imsi)
        .map_err(|_| FleetError::Number { what: "IMSI", value: imsi.to_owned(), reason: "not an IMSI" })?
        .encode();
    let fs = uicc.fs_mut();
    let usim = fs.adf_by_label("USIM").ok_or(FleetError::MissingFile("ADF.USIM"))?;
    let node = fs.walk(usim, &[fid::EF_IMSI], None).ok_or(FleetError::MissingFile("EF_IMSI"))?;
    match fs.body_mut(node) {
        Some(body @ EfBody::Transparent(_)) => *body = EfBody::Transparent(value),
        _ => return Err(FleetError::MissingFile("transparent EF_IMSI")),
    }
    Ok(())
}

/// The ICCID in EF_ICCID of `uicc`, if it reads as one.
#[must_use]
pub fn read_iccid(uicc: &Uicc) -> Option<String> {
    let fs = uicc.fs();
    match fs.ef_at(fs.mf(), &[fid::EF_ICCID])? {
        EfBody::Transparent(d) => EfIccid::decode_exact(d).ok().map(|e| e.iccid.as_str().to_owned()),
        _ => None,
    }
}

/// The IMSI in EF_IMSI under ADF.USIM of `uicc`, if it reads as one.
#[must_use]
pub fn read_imsi(uicc: &Uicc) -> Option<String> {
    let fs = uicc.fs();
    match fs.ef_at(fs.adf_by_label("USIM")?, &[fid::EF_IMSI])? {
        EfBody::Transparent(d) => EfImsi::decode_exact(d).ok().map(|e| e.imsi.as_str().to_owned()),
        _ => None,
    }
}

/// Messages the SMSC loses or refuses, to exercise retries (deterministic).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Cards that never answer: every SMS-DELIVER to them is lost without a trace.
    pub silent: HashSet<Address>,
    /// Cards the SMSC cannot reach: every SMS-DELIVER to them comes back as a transport error.
    pub unreachable: HashSet<Address>,
    /// The first `n` SMS-DELIVERs to these cards are lost.
    pub drop_first: HashMap<Address, u32>,
    /// Random loss of SMS-DELIVERs, per mille.
    pub drop_mt_per_mille: u32,
    /// Random loss of the reports and SMS-SUBMITs back, per mille.
    pub drop_mo_per_mille: u32,
    /// Cards to which every SMS-DELIVER arrives twice: an SMSC retransmission, or a replay by someone who
    /// recorded it. The card must refuse the copy (PoR `02`), and the engine must not take the copy's PoR
    /// for the job's.
    pub duplicate: HashSet<Address>,
    /// Cards whose reports and SMS-SUBMITs are damaged on the way back: the last byte of the TPDU is
    /// flipped, so a secured PoR no longer verifies.
    pub corrupt_mo: HashSet<Address>,
}

/// The simulated SMS network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkConfig {
    /// SMSC → card (ms).
    pub mt_delay_ms: u64,
    /// Card → SMSC → OTA server (ms).
    pub mo_delay_ms: u64,
    /// Up to this much more per message (ms, random).
    pub jitter_ms: u64,
    /// Losses.
    pub faults: Faults,
    /// The seed of the random choices (jitter, random losses).
    pub seed: u64,
}

impl Default for NetworkConfig {
    /// No delay, no jitter, no faults, seed 0.
    fn default() -> Self {
        Self { mt_delay_ms: 0, mo_delay_ms: 0, jitter_ms: 0, faults: Faults::default(), seed: 0 }
    }
}

/// SplitMix64: a small deterministic generator for the network's random choices.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn per_mille(&mut self, p: u32) -> bool {
        p > 0 && self.next() % 1000 < u64::from(p)
    }

    fn upto(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % (n + 1) }
    }
}

/// What happened to an SMS-DELIVER in the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fate {
    /// On its way.
    Sent,
    /// Lost.
    Dropped,
    /// Refused: the engine gets a transport error.
    Unreachable,
    /// No card has the MSISDN: the engine gets a transport error.
    UnknownMsisdn,
}

/// What a run shows to an observer (traces, progress bars). `at` is the virtual time (ms).
#[derive(Debug)]
pub enum SimEvent<'a> {
    /// The engine emitted an SMS-DELIVER.
    SmsDeliver {
        /// Time.
        at: u64,
        /// The message.
        sms: SmsId,
        /// Destination.
        to: &'a Address,
        /// The TPDU.
        tpdu: &'a [u8],
        /// What the network does with it.
        fate: Fate,
    },
    /// An APDU between a terminal and its card (only with [`Simulation::set_trace_apdus`]).
    Apdu {
        /// Time.
        at: u64,
        /// The card (fleet index).
        card: usize,
        /// The C-APDU.
        command: &'a [u8],
        /// The R-APDU.
        response: &'a [u8],
    },
    /// An SMS-DELIVER-REPORT from a card's terminal.
    DeliverReport {
        /// Time.
        at: u64,
        /// Sender.
        from: &'a Address,
        /// The TPDU.
        tpdu: &'a [u8],
        /// RP-ACK or RP-ERROR.
        rp: RpKind,
        /// Lost on the way back.
        dropped: bool,
    },
    /// An SMS-SUBMIT from a card (SEND SHORT MESSAGE).
    SmsSubmit {
        /// Time.
        at: u64,
        /// Sender.
        from: &'a Address,
        /// The TPDU.
        tpdu: &'a [u8],
        /// Lost on the way back.
        dropped: bool,
    },
    /// Something else a terminal reported (a REFRESH reset with the IMSI read afresh, a card error …).
    Terminal {
        /// Time.
        at: u64,
        /// The card.
        card: usize,
        /// The report.
        output: &'a terminal::Output,
    },
    /// The engine sends a job again.
    Retrying {
        /// Time.
        at: u64,
        /// The job.
        job: JobId,
        /// The attempt.
        attempt: u16,
        /// Why.
        reason: RetryReason,
    },
    /// The engine could not use an input.
    Unmatched {
        /// Time.
        at: u64,
        /// What and why.
        unmatched: &'a Unmatched,
    },
    /// A job finished.
    JobFinished {
        /// Time.
        at: u64,
        /// Its report.
        report: &'a JobReport,
    },
}

enum Transit {
    ToCard { card: usize, tpdu: Vec<u8> },
    ToServer(Input),
}

struct Scheduled {
    at: u64,
    seq: u64,
    what: Transit,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// Records the APDUs a terminal exchanges with its card.
struct Recorder<'a> {
    card: &'a mut Uicc,
    log: &'a mut Vec<(Vec<u8>, Vec<u8>)>,
}

impl CardLink for Recorder<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        let r = self.card.handle_apdu(apdu);
        self.log.push((apdu.to_vec(), r.clone()));
        r
    }

    fn reset(&mut self) -> Vec<u8> {
        self.card.reset()
    }
}

/// An engine, a fleet and the SMS network between them, on a virtual clock (see the module docs).
pub struct Simulation {
    engine: Engine,
    fleet: Fleet,
    net: NetworkConfig,
    queue: BinaryHeap<Reverse<Scheduled>>,
    seq: u64,
    now: u64,
    rng: Rng,
    mt_seen: HashMap<Address, u32>,
    trace_apdus: bool,
    apdu_log: Vec<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("engine", &self.engine)
            .field("cards", &self.fleet.len())
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl Simulation {
    /// Wires `engine` to `fleet` through a network with `net`. The clock starts at the engine's time.
    #[must_use]
    pub fn new(engine: Engine, fleet: Fleet, net: NetworkConfig) -> Self {
        let now = engine.now();
        let rng = Rng(net.seed);
        Self {
            engine,
            fleet,
            net,
            queue: BinaryHeap::new(),
            seq: 0,
            now,
            rng,
            mt_seen: HashMap::new(),
            trace_apdus: false,
            apdu_log: Vec::new(),
        }
    }

    /// The engine.
    #[must_use]
    pub const fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The engine, to submit jobs or change it.
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// The cards.
    #[must_use]
    pub const fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// The cards, to change them (or to talk to their terminals between runs).
    pub fn fleet_mut(&mut self) -> &mut Fleet {
        &mut self.fleet
    }

    /// The network settings, to change them between runs.
    pub fn network_mut(&mut self) -> &mut NetworkConfig {
        &mut self.net
    }

    /// The virtual time (ms).
    #[must_use]
    pub const fn now(&self) -> u64 {
        self.now
    }

    /// Report every APDU between terminals and cards as [`SimEvent::Apdu`] (slower; for traces).
    pub fn set_trace_apdus(&mut self, on: bool) {
        self.trace_apdus = on;
    }

    /// Submits a job to the engine.
    pub fn submit(&mut self, job: Job) -> JobId {
        self.engine.submit(job)
    }

    /// Takes the fleet and the engine back.
    #[must_use]
    pub fn into_parts(self) -> (Engine, Fleet) {
        (self.engine, self.fleet)
    }

    /// Runs until every job has finished and the network is quiet; returns the reports in the order the
    /// jobs finished.
    pub fn run(&mut self) -> Vec<JobReport> {
        self.run_with(&mut |_| {})
    }

    /// As [`Simulation::run`], showing every event to `observer`.
    pub fn run_with(&mut self, observer: &mut dyn FnMut(&SimEvent<'_>)) -> Vec<JobReport> {
        let mut reports = Vec::new();
        loop {
            while let Some(o) = self.engine.poll_output() {
                self.engine_output(o, observer, &mut reports);
            }
            let mut progressed = false;
            while self.queue.peek().is_some_and(|Reverse(s)| s.at <= self.now) {
                if let Some(Reverse(s)) = self.queue.pop() {
                    self.arrive(s.what, observer);
                    progressed = true;
                }
            }
            if progressed {
                continue;
            }
            if self.engine.is_idle() && self.queue.is_empty() {
                break;
            }
            let next_msg = self.queue.peek().map(|Reverse(s)| s.at);
            let next = match (next_msg, self.engine.poll_timeout()) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    // Nothing scheduled and jobs left: they cannot progress (cannot happen: every
                    // job in flight has a timer).
                    None => break,
                },
            };
            self.now = self.now.max(next);
            self.engine.handle_input(Input::Tick(self.now));
        }
        reports
    }

    fn schedule(&mut self, delay: u64, what: Transit) {
        let jitter = self.rng.upto(self.net.jitter_ms);
        let at = self.now.saturating_add(delay).saturating_add(jitter);
        self.seq += 1;
        self.queue.push(Reverse(Scheduled { at, seq: self.seq, what }));
    }

    fn engine_output(
        &mut self,
        o: Output,
        observer: &mut dyn FnMut(&SimEvent<'_>),
        reports: &mut Vec<JobReport>,
    ) {
        let at = self.now;
        match o {
            Output::SmsDeliver { sms, to, tpdu } => {
                let faults = &self.net.faults;
                let seen = self.mt_seen.entry(to).or_insert(0);
                *seen += 1;
                let card = self.fleet.index_of(&to);
                let fate = if card.is_none() {
                    Fate::UnknownMsisdn
                } else if faults.unreachable.contains(&to) {
                    Fate::Unreachable
                } else if faults.silent.contains(&to)
                    || faults.drop_first.get(&to).is_some_and(|n| *seen <= *n)
                    || self.rng.per_mille(faults.drop_mt_per_mille)
                {
                    Fate::Dropped
                } else {
                    Fate::Sent
                };
                observer(&SimEvent::SmsDeliver { at, sms, to: &to, tpdu: &tpdu, fate });
                match (fate, card) {
                    (Fate::Sent, Some(card)) => {
                        if faults.duplicate.contains(&to) {
                            let copy = Transit::ToCard { card, tpdu: tpdu.clone() };
                            self.schedule(self.net.mt_delay_ms, Transit::ToCard { card, tpdu });
                            self.schedule(self.net.mt_delay_ms, copy);
                        } else {
                            self.schedule(self.net.mt_delay_ms, Transit::ToCard { card, tpdu });
                        }
                    }
                    (Fate::Unreachable | Fate::UnknownMsisdn, _) => {
                        self.schedule(self.net.mo_delay_ms, Transit::ToServer(Input::TransportError { sms }));
                    }
                    _ => {}
                }
            }
            Output::JobFinished(report) => {
                observer(&SimEvent::JobFinished { at, report: &report });
                reports.push(*report);
            }
            Output::Retrying { job, attempt, reason } => {
                observer(&SimEvent::Retrying { at, job, attempt, reason });
            }
            Output::Unmatched(unmatched) => observer(&SimEvent::Unmatched { at, unmatched: &unmatched }),
        }
    }

    fn arrive(&mut self, what: Transit, observer: &mut dyn FnMut(&SimEvent<'_>)) {
        match what {
            Transit::ToServer(input) => self.engine.handle_input(input),
            Transit::ToCard { card, tpdu } => self.deliver_to_card(card, tpdu, observer),
        }
    }

    /// The terminal of `card` downloads an SMS-DELIVER; its reports go back to the engine.
    fn deliver_to_card(&mut self, index: usize, tpdu: Vec<u8>, observer: &mut dyn FnMut(&SimEvent<'_>)) {
        let at = self.now;
        let Some(card) = self.fleet.cards.get_mut(index) else { return };
        let input = terminal::Input::SmsDeliver { tpdu, sc_address: None };
        if self.trace_apdus {
            let mut link = Recorder { card: &mut card.uicc, log: &mut self.apdu_log };
            card.terminal.handle_input(&mut link, input);
            for (command, response) in self.apdu_log.drain(..) {
                observer(&SimEvent::Apdu { at, card: index, command: &command, response: &response });
            }
        } else {
            card.terminal.handle_input(&mut card.uicc, input);
        }
        let from = card.msisdn;
        let corrupt = self.net.faults.corrupt_mo.contains(&from);
        let damage = |mut tpdu: Vec<u8>| {
            if corrupt && let Some(last) = tpdu.last_mut() {
                *last ^= 0x01;
            }
            tpdu
        };
        let mut outs = Vec::new();
        while let Some(o) = card.terminal.poll_output() {
            outs.push(o);
        }
        for o in outs {
            match o {
                terminal::Output::DeliverReport { tpdu, rp } => {
                    let tpdu = damage(tpdu);
                    let dropped = self.rng.per_mille(self.net.faults.drop_mo_per_mille);
                    observer(&SimEvent::DeliverReport { at, from: &from, tpdu: &tpdu, rp, dropped });
                    if !dropped {
                        let input = Input::DeliverReport { from, tpdu, rp };
                        self.schedule(self.net.mo_delay_ms, Transit::ToServer(input));
                    }
                }
                terminal::Output::SmsSubmit { tpdu, .. } => {
                    let tpdu = damage(tpdu);
                    let dropped = self.rng.per_mille(self.net.faults.drop_mo_per_mille);
                    observer(&SimEvent::SmsSubmit { at, from: &from, tpdu: &tpdu, dropped });
                    if !dropped {
                        self.schedule(
                            self.net.mo_delay_ms,
                            Transit::ToServer(Input::SmsSubmit { from, tpdu }),
                        );
                    }
                }
                other => observer(&SimEvent::Terminal { at, card: index, output: &other }),
            }
        }
    }
}

/// The RustCrypto provider as an `Arc` (what [`Fleet::from_profile`] takes).
#[must_use]
pub fn default_provider() -> Arc<dyn SecurityProvider> {
    Arc::new(RustCryptoProvider::new())
}

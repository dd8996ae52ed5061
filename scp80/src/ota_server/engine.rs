//! The campaign engine: [`Engine`] with its [`Input`]s and [`Output`]s (see the module docs of
//! [`super`]).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;

use m2msim_codec::DecodeError;
use m2msim_codec::ota::{
    Cntr, CommandHeader, CounterMode, Kic, Kid, PorRequest, PorStatus, PorTransport, ResponseUserData, Tar,
    Transport,
};
use m2msim_codec::sms::concat::{self, ConcatRef, PacketKind, Progress, Reassembler, ReassemblyError};
use m2msim_codec::sms::{Address, DeliverReport, RpKind, Scts, Submit};
use m2msim_codec::{Decode as _, Encode as _};
use serde::{Deserialize, Serialize};

use super::job::{Job, JobId, RetryPolicy, Script, SmsId};
use super::report::{AttemptInfo, JobOutcome, JobReport, SecurityProblem, SendError};
use crate::counter::{CardId, CounterStore};
use crate::keys::Kvn;
use crate::packet::{
    ChecksumCheck, CommandPlan, PacketError, PorFinding, PorReport, RemoteResponse, counter_kvn,
    frame_response, verify_por,
};
use crate::uicc::applet::stops_script;

/// The size of the concatenation reference the engine writes (TS 23.040 §9.2.3.24.1 / .8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConcatRefSize {
    /// IEI `00`, 8-bit reference (132 packet octets in the first segment, 134 in the others).
    #[default]
    Eight,
    /// IEI `08`, 16-bit reference (131 and 133).
    Sixteen,
}

/// Settings of an [`Engine`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// The OTA server's address: TP-OA of every SMS-DELIVER, so the TP-DA of PoRs sent by SMS-SUBMIT.
    pub originator: Address,
    /// How many jobs may be in flight at once (sent, waiting for their PoR); at least 1.
    pub window: usize,
    /// The retry policy of jobs that bring none.
    pub retry: RetryPolicy,
    /// The concatenation reference size for packets longer than one SMS.
    pub concat: ConcatRefSize,
    /// TP-SCTS written in the SMS-DELIVERs (an SMSC stamps its own time; the engine has no calendar).
    pub scts: Scts,
    /// How many counters of finished jobs are remembered per card, to tell a late PoR of an earlier job
    /// from a PoR with an unexpected counter.
    pub recent_counters: usize,
}

impl EngineConfig {
    /// The defaults with this originator: a window of 1,000, [`RetryPolicy::default`], 8-bit references,
    /// SCTS 2000-01-01 00:00:00 UTC, 4 recent counters per card.
    #[must_use]
    pub fn new(originator: Address) -> Self {
        Self {
            originator,
            window: 1000,
            retry: RetryPolicy::default(),
            concat: ConcatRefSize::Eight,
            scts: Scts::new(0, 1, 1, 0, 0, 0, 0).unwrap_or_default(),
            recent_counters: 4,
        }
    }
}

/// What the engine is told.
#[derive(Debug, Clone)]
pub enum Input {
    /// A new job. Jobs get [`JobId`]s in submission order, from 0 ([`Engine::submit`] returns it).
    SubmitJob(Job),
    /// The time (ms, on the caller's clock; never going back). Timeouts fire here.
    Tick(u64),
    /// An SMS-DELIVER-REPORT from the ME of `from` (TS 23.040 §9.2.2.1a), carried by RP-ACK or RP-ERROR
    /// as `rp` says: an acknowledgement, or the PoR in its user data (TS 31.115 §4.2).
    DeliverReport {
        /// The card's MSISDN.
        from: Address,
        /// The TPDU.
        tpdu: Vec<u8>,
        /// The RP message that carried it.
        rp: RpKind,
    },
    /// An SMS-SUBMIT the card sent (proactive SEND SHORT MESSAGE) carrying its PoR or a segment of it
    /// (SPI2 b6, TS 31.115 §4.2), as the SMSC hands it over with the sender's MSISDN.
    SmsSubmit {
        /// The card's MSISDN.
        from: Address,
        /// The TPDU.
        tpdu: Vec<u8>,
    },
    /// The short message `sms` could not be delivered (the SMSC gave up).
    TransportError {
        /// The message.
        sms: SmsId,
    },
}

/// Why a job is sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryReason {
    /// No PoR in time.
    Timeout,
    /// The SMSC could not deliver a segment.
    TransportError,
    /// The ME answered RP-ERROR without a PoR.
    RpError {
        /// TP-FCS.
        cause: Option<u8>,
    },
}

/// Why something that came in belongs to no job in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnmatchedReason {
    /// No job is in flight for the sender.
    NoJobInFlight,
    /// The PoR names another TAR than the job in flight.
    TarMismatch {
        /// The job's TAR.
        expected: Tar,
        /// The PoR's.
        received: Tar,
    },
    /// A PoR of a job of this card that already finished (its counter is one that job sent).
    LatePor {
        /// That job.
        job: JobId,
    },
    /// The TPDU does not decode.
    Undecodable(DecodeError),
    /// A segment of a concatenated PoR was refused.
    Reassembly(ReassemblyError),
    /// A transport error for a message of no job in flight (or of an attempt already given up).
    StaleSms(SmsId),
}

/// Something that came in and was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmatched {
    /// The sender, when the input names one.
    pub from: Option<Address>,
    /// The job in flight for the sender, if any.
    pub job: Option<JobId>,
    /// Why it was not used.
    pub reason: UnmatchedReason,
}

/// What the engine asks for or reports.
#[derive(Debug, Clone)]
pub enum Output {
    /// An SMS-DELIVER TPDU for the SMSC to deliver to `to` (PID `7F`, DCS `F6`, UDHI; TS 31.115 §4.1).
    /// Its counter was reserved and persisted before it was emitted.
    SmsDeliver {
        /// Which message it is.
        sms: SmsId,
        /// The card's MSISDN.
        to: Address,
        /// The TPDU.
        tpdu: Vec<u8>,
    },
    /// A job finished.
    JobFinished(Box<JobReport>),
    /// A job is being sent again (with a fresh counter); its messages follow.
    Retrying {
        /// The job.
        job: JobId,
        /// The attempt now sent (1 = first retry).
        attempt: u16,
        /// Why.
        reason: RetryReason,
    },
    /// Something that came in matched no job in flight.
    Unmatched(Unmatched),
}

/// Counts of the engine's jobs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineStats {
    /// Jobs submitted.
    pub submitted: u64,
    /// Jobs finished (reported).
    pub finished: u64,
    /// Jobs waiting: for their card's previous job, or for room in the window.
    pub queued: u64,
    /// Jobs in flight.
    pub in_flight: u64,
}

#[derive(Debug)]
struct Attempt {
    cntr: Cntr,
    sent_at: u64,
    segments: u8,
    acked: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Behind another job of the same card.
    Waiting,
    /// Next for its card, waiting for room in the window.
    Ready,
    /// In the window, an attempt to be sent.
    Sending,
    /// Sent, waiting for the PoR.
    InFlight,
}

#[derive(Debug)]
struct JobState {
    job: Job,
    retry: RetryPolicy,
    phase: Phase,
    attempts: Vec<Attempt>,
    submitted_at: u64,
    reassembler: Option<Box<Reassembler>>,
}

/// The jobs of one MSISDN: one in the window at a time, the rest waiting in order.
#[derive(Debug, Default)]
struct Lane {
    current: Option<JobId>,
    waiting: VecDeque<JobId>,
    recent: VecDeque<(Cntr, JobId)>,
}

/// The OTA campaign engine (see the module docs of [`super`]): sans-IO, time passed in.
pub struct Engine {
    config: EngineConfig,
    counters: Arc<dyn CounterStore>,
    now: u64,
    /// Job states by id − `base` (finished jobs leave `None` until the front is trimmed).
    jobs: VecDeque<Option<JobState>>,
    base: u64,
    lanes: HashMap<Address, Lane>,
    /// Jobs next for their card, waiting for room in the window.
    ready: VecDeque<JobId>,
    /// Jobs in the window that need an attempt sent (first sendings, then retries, in order).
    sending: VecDeque<JobId>,
    in_flight: usize,
    timers: BinaryHeap<Reverse<(u64, u64, u16)>>,
    outputs: VecDeque<Output>,
    next_reference: u16,
    stats: EngineStats,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .field("now", &self.now)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine that reserves counters in `counters` (the OTA server's own store: persisted, for a real
    /// campaign). The clock starts at 0.
    #[must_use]
    pub fn new(mut config: EngineConfig, counters: Arc<dyn CounterStore>) -> Self {
        config.window = config.window.max(1);
        Self {
            config,
            counters,
            now: 0,
            jobs: VecDeque::new(),
            base: 0,
            lanes: HashMap::new(),
            ready: VecDeque::new(),
            sending: VecDeque::new(),
            in_flight: 0,
            timers: BinaryHeap::new(),
            outputs: VecDeque::new(),
            next_reference: 0,
            stats: EngineStats::default(),
        }
    }

    /// The settings.
    #[must_use]
    pub const fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The time last passed in.
    #[must_use]
    pub const fn now(&self) -> u64 {
        self.now
    }

    /// Counts of jobs.
    #[must_use]
    pub const fn stats(&self) -> EngineStats {
        self.stats
    }

    /// True when no job is queued or in flight.
    #[must_use]
    pub const fn is_idle(&self) -> bool {
        self.stats.queued == 0 && self.stats.in_flight == 0
    }

    /// Submits a job ([`Input::SubmitJob`]) and returns its id.
    pub fn submit(&mut self, job: Job) -> JobId {
        let id = JobId(self.base + self.jobs.len() as u64);
        let retry = job.retry.unwrap_or(self.config.retry);
        let lane = self.lanes.entry(job.msisdn).or_default();
        let phase = if lane.current.is_none() {
            lane.current = Some(id);
            self.ready.push_back(id);
            Phase::Ready
        } else {
            lane.waiting.push_back(id);
            Phase::Waiting
        };
        self.jobs.push_back(Some(JobState {
            job,
            retry,
            phase,
            attempts: Vec::new(),
            submitted_at: self.now,
            reassembler: None,
        }));
        self.stats.submitted += 1;
        self.stats.queued += 1;
        id
    }

    /// Handles one input. Outputs it causes (and the jobs it lets start) come from
    /// [`Engine::poll_output`].
    pub fn handle_input(&mut self, input: Input) {
        match input {
            Input::SubmitJob(job) => {
                self.submit(job);
            }
            Input::Tick(now) => self.tick(now),
            Input::DeliverReport { from, tpdu, rp } => self.deliver_report(from, &tpdu, rp),
            Input::SmsSubmit { from, tpdu } => self.sms_submit(from, &tpdu),
            Input::TransportError { sms } => self.transport_error(sms),
        }
    }

    /// The next output. Call it until `None` after every input (or batch of inputs): this is also where
    /// waiting jobs start, their counters reserved together ([`CounterStore::reserve_many`]) before
    /// their messages are emitted.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        if self.outputs.is_empty() {
            self.pump();
        }
        self.outputs.pop_front()
    }

    /// When the engine wants an [`Input::Tick`] next (ms), if it waits for anything. It may be early
    /// (a timer of a job that has since finished); ticking then does nothing.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<u64> {
        self.timers.peek().map(|Reverse((t, _, _))| *t)
    }

    fn state(&self, id: JobId) -> Option<&JobState> {
        let i = usize::try_from(id.0.checked_sub(self.base)?).ok()?;
        self.jobs.get(i)?.as_ref()
    }

    fn state_mut(&mut self, id: JobId) -> Option<&mut JobState> {
        let i = usize::try_from(id.0.checked_sub(self.base)?).ok()?;
        self.jobs.get_mut(i)?.as_mut()
    }

    fn take_state(&mut self, id: JobId) -> Option<JobState> {
        let i = usize::try_from(id.0.checked_sub(self.base)?).ok()?;
        let state = self.jobs.get_mut(i)?.take();
        while matches!(self.jobs.front(), Some(None)) {
            self.jobs.pop_front();
            self.base += 1;
        }
        state
    }

    fn next_reference(&mut self) -> ConcatRef {
        self.next_reference = self.next_reference.wrapping_add(1);
        match self.config.concat {
            ConcatRefSize::Eight => ConcatRef::Eight(self.next_reference as u8),
            ConcatRefSize::Sixteen => ConcatRef::Sixteen(self.next_reference),
        }
    }

    /// Starts what can start: attempts to send (retries first), then ready jobs while the window has
    /// room. Counters for the whole batch are reserved in one call before anything is emitted.
    fn pump(&mut self) {
        while self.in_flight < self.config.window
            && let Some(id) = self.ready.pop_front()
        {
            if let Some(s) = self.state_mut(id) {
                s.phase = Phase::Sending;
                self.in_flight += 1;
                self.stats.queued -= 1;
                self.stats.in_flight += 1;
                self.sending.push_back(id);
            }
        }
        if self.sending.is_empty() {
            return;
        }
        let batch: Vec<JobId> = self.sending.drain(..).collect();
        // Check keys and sizes first: a counter is reserved only for a packet that will be built.
        let mut requests: Vec<(JobId, Option<(CardId, Kvn)>)> = Vec::with_capacity(batch.len());
        for id in batch {
            let Some(s) = self.state(id) else { continue };
            let checked = header_of(&s.job).and_then(|header| {
                CommandPlan::new(s.job.keys.as_ref(), Transport::SmsPp, &header, s.job.script.data().len())?;
                match header.spi.counter_mode() {
                    CounterMode::NoCounter => Ok(None),
                    _ => counter_kvn(&header).map(Some).ok_or(PacketError::NoCounterKvn),
                }
            });
            match checked {
                Ok(kvn) => requests.push((id, kvn.map(|k| (s.job.card.clone(), k)))),
                Err(e) => self.finish(id, JobOutcome::SendFailed { error: SendError::of_packet(&e) }, None),
            }
        }
        let wanted: Vec<(&CardId, Kvn)> =
            requests.iter().filter_map(|(_, r)| r.as_ref().map(|(c, k)| (c, *k))).collect();
        let mut reserved = self.counters.reserve_many(&wanted).into_iter();
        for (id, request) in requests {
            let cntr = match request {
                None => Cntr::default(),
                Some(_) => match reserved.next() {
                    Some(Ok(c)) => Cntr(c.to_bytes()),
                    Some(Err(e)) => {
                        self.finish(id, JobOutcome::SendFailed { error: SendError::of_counter(&e) }, None);
                        continue;
                    }
                    None => {
                        self.finish(id, JobOutcome::SendFailed { error: SendError::CounterStore }, None);
                        continue;
                    }
                },
            };
            self.send_attempt(id, cntr);
        }
    }

    /// Secures the job's script with `cntr` and emits its SMS-DELIVERs.
    fn send_attempt(&mut self, id: JobId, cntr: Cntr) {
        let reference = self.next_reference();
        let (originator, scts, now) = (self.config.originator, self.config.scts, self.now);
        let Some(s) = self.state_mut(id) else { return };
        let built = header_of(&s.job).and_then(|header| {
            let plan =
                CommandPlan::new(s.job.keys.as_ref(), Transport::SmsPp, &header, s.job.script.data().len())?;
            let mut packet = Vec::with_capacity(plan.cpl() + 2);
            plan.write(cntr, s.job.script.data(), &mut packet);
            Ok(concat::deliver_tpdus(&packet, reference, originator, scts)?)
        });
        let tpdus = match built {
            Ok(t) => t,
            Err(e) => {
                self.finish(id, JobOutcome::SendFailed { error: SendError::of_packet(&e) }, None);
                return;
            }
        };
        let attempt = u16::try_from(s.attempts.len()).unwrap_or(u16::MAX);
        // At most 255 segments (concat::split refuses more).
        let segments = u8::try_from(tpdus.len()).unwrap_or(u8::MAX);
        s.attempts.push(Attempt { cntr, sent_at: now, segments, acked: 0 });
        s.phase = Phase::InFlight;
        s.reassembler = None;
        let deadline = now.saturating_add(s.retry.timeout_ms);
        let to = s.job.msisdn;
        for (segment, d) in tpdus.iter().enumerate() {
            let segment = u8::try_from(segment).unwrap_or(u8::MAX);
            self.outputs.push_back(Output::SmsDeliver {
                sms: SmsId { job: id, attempt, segment },
                to,
                tpdu: d.encode(),
            });
        }
        self.timers.push(Reverse((deadline, id.0, attempt)));
    }

    /// Ends a job: reports it, frees its place in the window and lets the card's next job go.
    fn finish(&mut self, id: JobId, outcome: JobOutcome, por: Option<PorReport>) {
        let Some(s) = self.take_state(id) else { return };
        match s.phase {
            Phase::Sending | Phase::InFlight => {
                self.in_flight -= 1;
                self.stats.in_flight -= 1;
            }
            Phase::Waiting | Phase::Ready => self.stats.queued -= 1,
        }
        self.stats.finished += 1;
        let keep = self.config.recent_counters;
        if let Some(lane) = self.lanes.get_mut(&s.job.msisdn) {
            if lane.current == Some(id) {
                lane.current = None;
            }
            for a in &s.attempts {
                lane.recent.push_back((a.cntr, id));
            }
            while lane.recent.len() > keep {
                lane.recent.pop_front();
            }
            if lane.current.is_none()
                && let Some(next) = lane.waiting.pop_front()
            {
                lane.current = Some(next);
                self.ready.push_back(next);
                if let Some(n) = self.state_mut(next) {
                    n.phase = Phase::Ready;
                }
            }
        }
        let report = JobReport {
            job: id,
            card: s.job.card,
            msisdn: s.job.msisdn,
            tar: s.job.tar,
            outcome,
            por,
            attempts: s
                .attempts
                .iter()
                .map(|a| AttemptInfo { cntr: a.cntr, sent_at: a.sent_at, segments: a.segments })
                .collect(),
            submitted_at: s.submitted_at,
            finished_at: self.now,
        };
        self.outputs.push_back(Output::JobFinished(Box::new(report)));
    }

    /// Sends the job again if its policy allows, else ends it with `exhausted`.
    fn retry_or(&mut self, id: JobId, reason: RetryReason, exhausted: JobOutcome) {
        let Some(s) = self.state_mut(id) else { return };
        let sent = s.attempts.len();
        if sent > usize::from(s.retry.max_retries) {
            self.finish(id, exhausted, None);
            return;
        }
        s.phase = Phase::Sending;
        self.sending.push_back(id);
        let attempt = u16::try_from(sent).unwrap_or(u16::MAX);
        self.outputs.push_back(Output::Retrying { job: id, attempt, reason });
    }

    fn tick(&mut self, now: u64) {
        self.now = self.now.max(now);
        while let Some(Reverse((deadline, job, attempt))) = self.timers.peek().copied() {
            if deadline > self.now {
                break;
            }
            self.timers.pop();
            let id = JobId(job);
            let Some(s) = self.state(id) else { continue };
            let current = s.phase == Phase::InFlight && s.attempts.len() == usize::from(attempt) + 1;
            if !current {
                continue;
            }
            let acked = s.attempts.last().is_some_and(|a| a.acked >= a.segments);
            if s.job.spi.por() == PorRequest::OnError && acked {
                // No error PoR in time: the command went through.
                self.finish(id, JobOutcome::Delivered, None);
            } else {
                self.retry_or(id, RetryReason::Timeout, JobOutcome::Timeout);
            }
        }
    }

    /// The job in flight for `from`, if any (a job being sent again counts: its old attempt may answer).
    fn in_flight_for(&self, from: &Address) -> Option<JobId> {
        let id = self.lanes.get(from)?.current?;
        matches!(self.state(id)?.phase, Phase::InFlight | Phase::Sending).then_some(id)
    }

    fn unmatched(&mut self, from: Option<Address>, job: Option<JobId>, reason: UnmatchedReason) {
        self.outputs.push_back(Output::Unmatched(Unmatched { from, job, reason }));
    }

    fn deliver_report(&mut self, from: Address, tpdu: &[u8], rp: RpKind) {
        let Some(id) = self.in_flight_for(&from) else {
            self.unmatched(Some(from), None, UnmatchedReason::NoJobInFlight);
            return;
        };
        let decoded = match rp {
            RpKind::Ack => DeliverReport::decode_ack(tpdu),
            RpKind::Error => DeliverReport::decode_error(tpdu),
        };
        let report = match decoded {
            Ok(r) => r,
            Err(e) => {
                self.unmatched(Some(from), Some(id), UnmatchedReason::Undecodable(e));
                return;
            }
        };
        // TS 31.115 §4.2: the user data is read as if TP-UDHI were set (the card cannot set it).
        match report.user_data.as_ref().map(|u| u.ud_octets()) {
            Some(ud) if !ud.is_empty() => self.por(id, from, &ud),
            _ if rp == RpKind::Error => {
                let cause = report.failure_cause;
                self.retry_or(id, RetryReason::RpError { cause }, JobOutcome::Undeliverable { cause });
            }
            _ => self.acknowledged(id),
        }
    }

    /// An RP-ACK without a PoR for the current attempt.
    fn acknowledged(&mut self, id: JobId) {
        let Some(s) = self.state_mut(id) else { return };
        if s.phase != Phase::InFlight {
            return;
        }
        let Some(a) = s.attempts.last_mut() else { return };
        a.acked = a.acked.saturating_add(1);
        let all = a.acked >= a.segments;
        let spi = s.job.spi;
        let done = match spi.por() {
            PorRequest::None => true,
            // A PoR on error would have come in this report.
            PorRequest::OnError => spi.por_transport() == PorTransport::DeliverReport,
            PorRequest::Always | PorRequest::Reserved => false,
        };
        if all && done {
            self.finish(id, JobOutcome::Delivered, None);
        }
    }

    fn sms_submit(&mut self, from: Address, tpdu: &[u8]) {
        let Some(id) = self.in_flight_for(&from) else {
            self.unmatched(Some(from), None, UnmatchedReason::NoJobInFlight);
            return;
        };
        let submit = match Submit::decode_exact(tpdu) {
            Ok(s) => s,
            Err(e) => {
                self.unmatched(Some(from), Some(id), UnmatchedReason::Undecodable(e));
                return;
            }
        };
        let concatenated = submit.user_data.header.as_ref().is_some_and(|h| h.concat_ies().next().is_some());
        if !concatenated {
            self.por(id, from, &submit.user_data.ud_octets());
            return;
        }
        let Some(s) = self.state_mut(id) else { return };
        let r = s.reassembler.get_or_insert_with(|| Box::new(Reassembler::new(PacketKind::Response)));
        match r.push(&from, &submit.user_data, submit.dcs) {
            Ok(Progress::Complete(packet)) => {
                // The PoR's RC/CC covers `02 71 00` whatever headers its segments carried: the card
                // secures the user data of a single SMS and then splits it (see `card::Por`).
                let mut ud = Vec::with_capacity(3 + packet.len());
                ud.extend_from_slice(&[0x02, 0x71, 0x00]);
                ud.extend_from_slice(&packet);
                self.por(id, from, &ud);
            }
            Ok(Progress::Pending { .. } | Progress::Duplicate) => {}
            Err(e) => self.unmatched(Some(from), Some(id), UnmatchedReason::Reassembly(e)),
        }
    }

    fn transport_error(&mut self, sms: SmsId) {
        let current = self
            .state(sms.job)
            .is_some_and(|s| s.phase == Phase::InFlight && s.attempts.len() == usize::from(sms.attempt) + 1);
        if !current {
            self.unmatched(None, None, UnmatchedReason::StaleSms(sms));
            return;
        }
        self.retry_or(sms.job, RetryReason::TransportError, JobOutcome::Undeliverable { cause: None });
    }

    /// A PoR (SMS-PP user data from `02 71 00`) from `from` for the job in flight `id`.
    fn por(&mut self, id: JobId, from: Address, ud: &[u8]) {
        match self.judge(id, &from, ud) {
            Verdict::Finish(outcome, report) => self.finish(id, outcome, report.map(|r| *r)),
            Verdict::Unmatched(reason) => self.unmatched(Some(from), Some(id), reason),
            Verdict::Wait => {}
        }
    }

    /// What a PoR means for the job in flight (see the module docs: correlation and verification).
    fn judge(&self, id: JobId, from: &Address, ud: &[u8]) -> Verdict {
        let Some(s) = self.state(id) else { return Verdict::Wait };
        let Some(frame) = frame_response(ud, Transport::SmsPp) else {
            let offset = ResponseUserData::decode_exact(ud).err().map_or(0, |e| e.offset);
            return Verdict::security(SecurityProblem::Malformed { offset }, None);
        };
        if frame.tar != s.job.tar {
            return Verdict::Unmatched(UnmatchedReason::TarMismatch {
                expected: s.job.tar,
                received: frame.tar,
            });
        }
        let verified = header_of(&s.job).and_then(|header| {
            verify_por(
                s.job.keys.as_ref(),
                &header,
                None,
                Transport::SmsPp,
                ud,
                s.job.script.response_format(),
            )
        });
        let report = match verified {
            Ok(r) => r,
            Err(e) => {
                let offset = match &e {
                    PacketError::Decode(d) => d.offset,
                    _ => 0,
                };
                return Verdict::security(SecurityProblem::Malformed { offset }, None);
            }
        };
        if !report.accepted() {
            return Verdict::security(problem_of(&report), Some(report));
        }
        let mut unexpected_counter = None;
        if !s.attempts.iter().any(|a| a.cntr == report.cntr) {
            let late = self
                .lanes
                .get(from)
                .and_then(|l| l.recent.iter().rev().find(|(c, _)| *c == report.cntr).map(|(_, j)| *j));
            if let Some(job) = late {
                return Verdict::Unmatched(UnmatchedReason::LatePor { job });
            }
            let refusal = !matches!(
                report.status,
                PorStatus::Ok | PorStatus::MoreTime | PorStatus::ResponseBySmsSubmit
            );
            if report.trusted() && !refusal {
                return Verdict::security(
                    SecurityProblem::UnexpectedCounter { received: report.cntr },
                    Some(report),
                );
            }
            // A refusal: a card that could not decipher the packet echoes a garbage counter, and cards
            // answer unprotected before they could read (or check) the counter. Flagged in the outcome.
            unexpected_counter = Some(report.cntr);
        }
        let outcome = match report.status {
            // The card says the real PoR follows by SMS-SUBMIT (TS 31.115 §4.2, TS 23.048 §6.1): wait.
            PorStatus::MoreTime | PorStatus::ResponseBySmsSubmit => return Verdict::Wait,
            PorStatus::Ok => evaluate(&s.job.script, &report),
            status => JobOutcome::CardStatus {
                por_status: status,
                unprotected: !report.trusted(),
                unexpected_counter,
            },
        };
        Verdict::Finish(outcome, Some(Box::new(report)))
    }
}

/// What to do with a PoR.
enum Verdict {
    Finish(JobOutcome, Option<Box<PorReport>>),
    Unmatched(UnmatchedReason),
    Wait,
}

impl Verdict {
    fn security(problem: SecurityProblem, report: Option<PorReport>) -> Self {
        Self::Finish(JobOutcome::SecurityFailure { problem }, report.map(Box::new))
    }
}

/// SPI, KIc, KID and TAR of a job's packets: the KIc and KID bytes of its keyset.
fn header_of(job: &Job) -> Result<CommandHeader, PacketError> {
    let ks =
        job.keys.get(job.kvn).ok_or_else(|| PacketError::NoKeyset { field: "KIc", kvn: job.kvn.get() })?;
    Ok(CommandHeader { spi: job.spi, kic: Kic(ks.kic_byte()), kid: Kid(ks.kid_byte()), tar: job.tar })
}

/// What makes an unaccepted PoR untrustworthy.
fn problem_of(r: &PorReport) -> SecurityProblem {
    if r.findings.iter().any(|f| matches!(f, PorFinding::ChecksumLength { .. })) {
        return SecurityProblem::ChecksumLength;
    }
    match r.checksum {
        ChecksumCheck::Failed => return SecurityProblem::ChecksumFailed,
        ChecksumCheck::Missing => return SecurityProblem::ChecksumMissing,
        ChecksumCheck::Unsupported => return SecurityProblem::ChecksumUnsupported,
        _ => {}
    }
    if r.findings.contains(&PorFinding::NotCiphered) {
        return SecurityProblem::NotCiphered;
    }
    if r.findings.iter().any(|f| matches!(f, PorFinding::PcntrTooLarge { .. })) {
        return SecurityProblem::PaddingTooLarge;
    }
    SecurityProblem::ChecksumFailed
}

/// Success or script error from the response data of a PoR `00` (TS 102 226 §5.1.2, §5.2.2).
fn evaluate(script: &Script, r: &PorReport) -> JobOutcome {
    let short = |executed: u64| script.commands().is_some_and(|n| executed < n as u64);
    match &r.response {
        Some(RemoteResponse::Compact(c)) => {
            if stops_script(c.last_sw) || short(u64::from(c.executed)) {
                JobOutcome::ScriptError { executed: Some(u64::from(c.executed)), sw: Some(c.last_sw) }
            } else {
                JobOutcome::Success
            }
        }
        Some(RemoteResponse::Expanded(e)) => {
            let executed = e.executed().unwrap_or(e.responses().count() as u64);
            let sw = e.last_response().map(|x| x.sw);
            if e.bad_format().is_some() || sw.is_some_and(stops_script) || short(executed) {
                JobOutcome::ScriptError { executed: Some(executed), sw }
            } else {
                JobOutcome::Success
            }
        }
        // Response data the script's format cannot read: the card did not answer as the script's TAR
        // should.
        None if !r.data.is_empty() && script.response_format() != crate::packet::ResponseFormat::Auto => {
            JobOutcome::ScriptError { executed: None, sw: None }
        }
        None => JobOutcome::Success,
    }
}

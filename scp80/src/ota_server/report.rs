//! What the engine reports about each job ([`JobReport`] with its [`JobOutcome`]) and a campaign's tally
//! ([`Summary`]).

use m2msim_codec::apdu::StatusWord;
use m2msim_codec::ota::{Cntr, PorStatus, Tar};
use m2msim_codec::sms::Address;
use serde::{Deserialize, Serialize};

use super::job::JobId;
use crate::counter::{CardId, CounterError};
use crate::packet::{PacketError, PorReport, RemoteResponse};

/// Why a PoR is not trusted (TS 102 225 §5.1.7 and the checks of [`crate::packet::verify_por`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityProblem {
    /// The RC/CC of the PoR does not verify.
    ChecksumFailed,
    /// SPI2 asked for an RC/CC, but a PoR with status `00` came without one.
    ChecksumMissing,
    /// The RC/CC field has a length the algorithm cannot give.
    ChecksumLength,
    /// SPI2 asked for a digital signature, which cannot be checked.
    ChecksumUnsupported,
    /// SPI2 asked for ciphering, but the PoR cannot have been ciphered (not block-aligned).
    NotCiphered,
    /// The PoR verified, but its counter is none of the counters this job sent (nor a recent job's of the
    /// card): flagged, as it may be a replayed PoR.
    UnexpectedCounter {
        /// The counter the PoR carries.
        received: Cntr,
    },
    /// PCNTR exceeds the response data.
    PaddingTooLarge,
    /// The PoR does not decode (at this offset of its user data).
    Malformed {
        /// Where decoding failed.
        offset: usize,
    },
}

/// Why an attempt could not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendError {
    /// The job's keysets have no keyset with its KVN.
    NoKeyset {
        /// The KVN.
        kvn: u8,
    },
    /// The keys do not fit the SPI (algorithm mismatch, reserved coding, no cipher block length …).
    Keys,
    /// The SPI asks for a digital signature (TS 102 225 leaves it undefined).
    DigitalSignature,
    /// The SPI asks for a counter but the KIc/KID names no key version to keep it under.
    NoCounterKvn,
    /// The packet does not fit its length field or 255 concatenated short messages.
    TooLong,
    /// The counter store failed (I/O, corrupt file).
    CounterStore,
    /// The card's counter reached `FF FF FF FF FF`.
    CounterExhausted,
}

impl SendError {
    pub(crate) fn of_packet(e: &PacketError) -> Self {
        match e {
            PacketError::NoKeyset { kvn, .. } => Self::NoKeyset { kvn: *kvn },
            PacketError::DigitalSignature => Self::DigitalSignature,
            PacketError::NoCounterKvn => Self::NoCounterKvn,
            PacketError::Build(_) | PacketError::Sms(_) | PacketError::TooLongForSms { .. } => Self::TooLong,
            PacketError::Counter(c) => Self::of_counter(c),
            _ => Self::Keys,
        }
    }

    pub(crate) const fn of_counter(e: &CounterError) -> Self {
        match e {
            CounterError::Exhausted { .. } => Self::CounterExhausted,
            _ => Self::CounterStore,
        }
    }
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum JobOutcome {
    /// PoR `00`, trusted, and the script ran to its end (last status word normal or a warning).
    Success,
    /// SPI2 asked for no PoR (or a PoR on error only, and none came): the command was delivered (every
    /// segment acknowledged by the ME, or the PoR wait passed without an error PoR).
    Delivered,
    /// The card refused the packet: PoR status other than `00` (TS 102 225 §5.1.7 Table 5).
    CardStatus {
        /// The status.
        por_status: PorStatus,
        /// The PoR came without the RC/CC (or ciphering) SPI2 asked for, as cards answer packets they
        /// could not check: its status is information, not proof.
        unprotected: bool,
        /// The PoR's counter when it is none the job sent. Decision: flagged here rather than made a
        /// [`JobOutcome::SecurityFailure`], because a card that could not decipher the packet (`01`,
        /// `05`, wrong KIc) echoes the counter as it deciphered it, i.e. garbage.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unexpected_counter: Option<Cntr>,
    },
    /// PoR `00`, but the script stopped (TS 102 226 §5.1.2 / §5.2.2): the last status word is an error
    /// (or `62F1`), or fewer commands ran than the script has, or the expanded response reports a bad
    /// format.
    ScriptError {
        /// Commands executed, as the response says.
        executed: Option<u64>,
        /// The status word of the last command executed.
        sw: Option<StatusWord>,
    },
    /// A PoR came that cannot be trusted.
    SecurityFailure {
        /// What is wrong with it.
        problem: SecurityProblem,
    },
    /// No PoR after the last retry.
    Timeout,
    /// Every attempt failed in transport (the SMSC could not deliver, or the ME answered RP-ERROR).
    Undeliverable {
        /// TP-FCS of the last RP-ERROR, if that is how the last attempt failed.
        cause: Option<u8>,
    },
    /// An attempt could not be secured or its counter not reserved (for the first attempt: nothing left
    /// the server).
    SendFailed {
        /// Why.
        error: SendError,
    },
}

impl JobOutcome {
    /// A short name (`success`, `card_status` …), as in the JSON `status` field.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Delivered => "delivered",
            Self::CardStatus { .. } => "card_status",
            Self::ScriptError { .. } => "script_error",
            Self::SecurityFailure { .. } => "security_failure",
            Self::Timeout => "timeout",
            Self::Undeliverable { .. } => "undeliverable",
            Self::SendFailed { .. } => "send_failed",
        }
    }

    /// True for [`JobOutcome::Success`] and [`JobOutcome::Delivered`].
    #[must_use]
    pub const fn is_success(&self) -> bool {
        matches!(self, Self::Success | Self::Delivered)
    }
}

/// One sending of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptInfo {
    /// The counter it carried (a fresh one per attempt).
    pub cntr: Cntr,
    /// When it was sent (ms).
    pub sent_at: u64,
    /// How many short messages carried it.
    pub segments: u8,
}

/// The report of one finished job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobReport {
    /// The job.
    pub job: JobId,
    /// Its card.
    pub card: CardId,
    /// The card's MSISDN.
    pub msisdn: Address,
    /// The TAR.
    pub tar: Tar,
    /// How it ended.
    pub outcome: JobOutcome,
    /// The PoR that ended it, verified (status, counter, RC/CC result, findings, response data decoded as
    /// the script's format says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub por: Option<PorReport>,
    /// Every sending, in order (one more than the retries).
    pub attempts: Vec<AttemptInfo>,
    /// When it was submitted (ms).
    pub submitted_at: u64,
    /// When it finished (ms).
    pub finished_at: u64,
}

impl JobReport {
    /// How many times it was sent again.
    #[must_use]
    pub fn retries(&self) -> usize {
        self.attempts.len().saturating_sub(1)
    }

    /// From the first sending to the end (ms); 0 when nothing was sent.
    #[must_use]
    pub fn duration_ms(&self) -> u64 {
        self.attempts.first().map_or(0, |a| self.finished_at.saturating_sub(a.sent_at))
    }

    /// The PoR status, if a PoR ended the job.
    #[must_use]
    pub fn por_status(&self) -> Option<PorStatus> {
        self.por.as_ref().map(|p| p.status)
    }

    /// The decoded response data (TS 102 226), if any.
    #[must_use]
    pub fn response(&self) -> Option<&RemoteResponse> {
        self.por.as_ref().and_then(|p| p.response.as_ref())
    }

    /// The status word of the last command the card ran, from the response data.
    #[must_use]
    pub fn last_sw(&self) -> Option<StatusWord> {
        match self.response()? {
            RemoteResponse::Compact(c) => Some(c.last_sw),
            RemoteResponse::Expanded(e) => e.last_response().map(|r| r.sw),
        }
    }
}

/// The tally of a set of job reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Jobs counted.
    pub total: u64,
    /// [`JobOutcome::Success`].
    pub success: u64,
    /// [`JobOutcome::Delivered`].
    pub delivered: u64,
    /// [`JobOutcome::CardStatus`].
    pub card_status: u64,
    /// [`JobOutcome::ScriptError`].
    pub script_error: u64,
    /// [`JobOutcome::SecurityFailure`].
    pub security_failure: u64,
    /// [`JobOutcome::Timeout`].
    pub timeout: u64,
    /// [`JobOutcome::Undeliverable`].
    pub undeliverable: u64,
    /// [`JobOutcome::SendFailed`].
    pub send_failed: u64,
    /// Retries over all jobs.
    pub retries: u64,
    /// The longest job (ms, first sending to end).
    pub max_duration_ms: u64,
}

impl Summary {
    /// Counts one report.
    pub fn add(&mut self, r: &JobReport) {
        self.total += 1;
        let n = match r.outcome {
            JobOutcome::Success => &mut self.success,
            JobOutcome::Delivered => &mut self.delivered,
            JobOutcome::CardStatus { .. } => &mut self.card_status,
            JobOutcome::ScriptError { .. } => &mut self.script_error,
            JobOutcome::SecurityFailure { .. } => &mut self.security_failure,
            JobOutcome::Timeout => &mut self.timeout,
            JobOutcome::Undeliverable { .. } => &mut self.undeliverable,
            JobOutcome::SendFailed { .. } => &mut self.send_failed,
        };
        *n += 1;
        self.retries += r.retries() as u64;
        self.max_duration_ms = self.max_duration_ms.max(r.duration_ms());
    }

    /// The tally of `reports`.
    #[must_use]
    pub fn of<'a>(reports: impl IntoIterator<Item = &'a JobReport>) -> Self {
        let mut s = Self::default();
        for r in reports {
            s.add(r);
        }
        s
    }

    /// Jobs that succeeded ([`JobOutcome::is_success`]).
    #[must_use]
    pub const fn succeeded(&self) -> u64 {
        self.success + self.delivered
    }
}

//! What the OTA server is asked to do: a [`Job`] (one script for one card) with its [`Script`], its
//! [`RetryPolicy`], and the ids the engine gives jobs and short messages ([`JobId`], [`SmsId`]).

use std::fmt;
use std::sync::Arc;

use m2msim_codec::Encode as _;
use m2msim_codec::apdu::{ApduError, CommandApdu};
use m2msim_codec::ota::{Spi, Tar};
use m2msim_codec::rfm::{CompactScript, ExpandedScript};
use m2msim_codec::sms::Address;
use serde::{Deserialize, Serialize};

use crate::counter::CardId;
use crate::keys::{Keysets, Kvn};
use crate::packet::ResponseFormat;

/// The id the engine gives a job: the n-th job submitted to an [`super::Engine`] gets `JobId(n)`, from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub u64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job {}", self.0)
    }
}

/// The id of one short message the engine emitted: the job, the attempt (0 for the first sending, 1 for
/// the first retry …) and the segment (0-based; a single SMS is segment 0). A transport that cannot
/// deliver it says so with [`super::Input::TransportError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SmsId {
    /// The job.
    pub job: JobId,
    /// The attempt (0 = first sending).
    pub attempt: u16,
    /// The segment (0-based).
    pub segment: u8,
}

impl fmt::Display for SmsId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} attempt {} segment {}", self.job, self.attempt, self.segment)
    }
}

/// The remote command structure of a script (TS 102 226 §5), which also says how the PoR's response data
/// is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptKind {
    /// §5.1 compact: concatenated C-APDUs in the T=0 shape; the response is `N SW1 SW2 [data]`.
    Compact,
    /// §5.2 expanded: a command scripting template `AA` / `AE`; the response a template `AB` / `AF`.
    Expanded,
    /// Secured data given as bytes: the response is read as compact or expanded by its first byte
    /// ([`ResponseFormat::Auto`]).
    Raw,
}

/// The secured data of a job, encoded once (TS 102 226 §5; TS 102 225 §5.1.1 "secured data"): cheap to
/// clone, so that a campaign that sends the same script to many cards holds it once.
///
/// The TAR decides which format the card reads (TS 102 226 §7.0): send a compact script to a compact TAR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    kind: ScriptKind,
    commands: Option<usize>,
    data: Arc<[u8]>,
}

impl Script {
    /// A compact script (TS 102 226 §5.1.1) of `apdus`, each mapped to the T=0 shape (a case 4 APDU loses
    /// its Le: add a GET RESPONSE where the data is wanted).
    ///
    /// # Errors
    /// [`ApduError::ExtendedInT0`] for an APDU with extended length fields.
    pub fn compact(apdus: &[CommandApdu]) -> Result<Self, ApduError> {
        let script = CompactScript::from_apdus(apdus)?;
        Ok(Self { kind: ScriptKind::Compact, commands: Some(apdus.len()), data: script.encode().into() })
    }

    /// An expanded script (TS 102 226 §5.2.1): `AA` with a definite length around one C-APDU TLV per
    /// APDU.
    #[must_use]
    pub fn expanded(apdus: &[CommandApdu]) -> Self {
        Self::from_expanded(&ExpandedScript::definite(apdus.iter().cloned()))
    }

    /// An expanded script as given (any template form, action and chaining TLVs included).
    #[must_use]
    pub fn from_expanded(script: &ExpandedScript) -> Self {
        Self {
            kind: ScriptKind::Expanded,
            commands: Some(script.apdus().count()),
            data: script.encode().into(),
        }
    }

    /// Secured data as bytes (a script encoded elsewhere, or anything else the TAR's application takes).
    #[must_use]
    pub fn raw(data: impl Into<Arc<[u8]>>) -> Self {
        Self { kind: ScriptKind::Raw, commands: None, data: data.into() }
    }

    /// Its format.
    #[must_use]
    pub const fn kind(&self) -> ScriptKind {
        self.kind
    }

    /// The number of commands, when known (not for [`ScriptKind::Raw`]).
    #[must_use]
    pub const fn commands(&self) -> Option<usize> {
        self.commands
    }

    /// The secured data.
    #[must_use]
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// How the PoR's response data is read.
    #[must_use]
    pub const fn response_format(&self) -> ResponseFormat {
        match self.kind {
            ScriptKind::Compact => ResponseFormat::Compact,
            ScriptKind::Expanded => ResponseFormat::Expanded,
            ScriptKind::Raw => ResponseFormat::Auto,
        }
    }
}

/// When to send a command packet again (with a fresh counter: a packet is never sent twice).
///
/// Decision: a retry always reserves a new counter, so that a card that did receive the lost attempt
/// does not refuse the retry as a replay. With counter mode `11` ("exactly one higher") the retry then
/// arrives two higher when the first packet was lost before the card: use mode `10` ("higher") for
/// campaigns that retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// How many times a job is sent again after the first attempt (0 = never).
    pub max_retries: u16,
    /// How long to wait for the PoR of an attempt (ms, on the caller's clock).
    pub timeout_ms: u64,
}

impl Default for RetryPolicy {
    /// Two retries, 60 s per attempt.
    fn default() -> Self {
        Self { max_retries: 2, timeout_ms: 60_000 }
    }
}

/// One script for one card (see the module docs of [`super`]).
///
/// The KIc and KID bytes are the keyset's ([`crate::keys::Keyset::kic_byte`] / `kid_byte`): the key
/// version `kvn` and the algorithms of its keys. Jobs of cards that share keys share one `Arc<Keysets>`
/// (nothing is expanded per job).
#[derive(Debug, Clone)]
pub struct Job {
    /// The card: its counters are kept under this id (the ICCID).
    pub card: CardId,
    /// The card's MSISDN: where the SMS-DELIVERs go, and the originator its PoRs come from.
    pub msisdn: Address,
    /// The application on the card (TS 102 225 §5.1.1 TAR).
    pub tar: Tar,
    /// How the packet is secured and how the PoR must come back.
    pub spi: Spi,
    /// The keyset (KVN) that secures it.
    pub kvn: Kvn,
    /// The card's keysets (the sender's copy).
    pub keys: Arc<Keysets>,
    /// The secured data.
    pub script: Script,
    /// Overrides the engine's [`RetryPolicy`].
    pub retry: Option<RetryPolicy>,
}

impl Job {
    /// A job with the engine's retry policy.
    #[must_use]
    pub fn new(
        card: CardId,
        msisdn: Address,
        tar: Tar,
        spi: Spi,
        kvn: Kvn,
        keys: Arc<Keysets>,
        script: Script,
    ) -> Self {
        Self { card, msisdn, tar, spi, kvn, keys, script, retry: None }
    }

    /// The same job with its own retry policy.
    #[must_use]
    pub const fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = Some(retry);
        self
    }
}

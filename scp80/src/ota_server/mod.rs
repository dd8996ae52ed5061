//! The OTA server's campaign engine (m2m.md §4, flow 2 of the design: S3-090907 subscription change):
//! jobs of remote command scripts for many cards, secured as SCP80 command packets (TS 102 225 §5.1,
//! TS 31.115 §4), sent as SMS-DELIVERs, answered by Proofs of Receipt that the engine correlates,
//! verifies and reports. Sans-IO ([`Engine::handle_input`] / [`Engine::poll_output`], time passed in with
//! [`Input::Tick`]); the only side effect is the [`CounterStore`](crate::counter::CounterStore) it is given,
//! which persists each counter before the packet that carries it is emitted.
//!
//! Main types:
//! - [`Job`]: one [`Script`] for one card: its id for counters (ICCID), its MSISDN (the SMS destination),
//!   TAR, SPI, keyset (KVN, with the card's [`Keysets`](crate::keys::Keysets)) and an optional
//!   [`RetryPolicy`].
//! - [`Engine`] with [`EngineConfig`]; [`Input`] (`SubmitJob`, `Tick`, `DeliverReport`, `SmsSubmit`,
//!   `TransportError`) and [`Output`] (`SmsDeliver`, `JobFinished`, `Retrying`, `Unmatched`).
//! - [`JobReport`] with its [`JobOutcome`] (success with the response data decoded, card status, script
//!   error, security failure, timeout …) and [`Summary`].
//! - [`driver`]: [`Simulation`] wires an engine to a [`Fleet`] of simulated cards ([`SimCard`]: a
//!   [`crate::uicc::Uicc`] behind a [`crate::terminal::Terminal`]) through an in-memory SMSC with delays
//!   and faults ([`NetworkConfig`]), on a virtual clock. The CLI (`scp80 ota run`), the tests and the
//!   campaign bench use it.
//! - [`files`]: the cards file and the script file of `scp80 ota run`.
//!
//! # A job's life
//!
//! 1. Submitted, it queues behind the jobs of the same MSISDN (one job per card in flight: the next starts
//!    when the previous one finished) and then for room in the window ([`EngineConfig::window`]).
//! 2. Started (in [`Engine::poll_output`]): the keys and sizes are checked, the counter is reserved in the
//!    counter store (all jobs starting together in one [`CounterStore::reserve_many`] call), the script is
//!    secured (KIc/KID of the keyset, TS 102 225 §5.1.1) and cut into SMS-DELIVER TPDUs: PID `7F`, DCS
//!    `F6`, one SMS with `02 70 00` when the packet has at most 137 octets, else concatenated with IE `70`
//!    in the first segment only (TS 31.115 §4.1). A timer runs for the PoR.
//! 3. Answered: a PoR comes in an SMS-DELIVER-REPORT (the RP-ACK's user data) or in an SMS-SUBMIT the card
//!    sent (SPI2 b6), reassembled when concatenated. It is correlated by the sender's MSISDN (the job in
//!    flight for it) and its TAR (another TAR: [`UnmatchedReason::TarMismatch`]), verified with the job's
//!    keys ([`crate::packet::verify_por`]) and its counter compared with the counters the job sent.
//! 4. Finished: [`JobOutcome::Success`] when the PoR is `00`, trusted, and the script ran to its end;
//!    [`JobOutcome::ScriptError`] when the response data shows it stopped (last SW an error); a PoR status
//!    other than `00` is [`JobOutcome::CardStatus`]; a PoR whose RC/CC fails or that is not protected as SPI2
//!    asked is [`JobOutcome::SecurityFailure`], as is a verified PoR `00` with a counter the job never
//!    sent ([`SecurityProblem::UnexpectedCounter`]); a refusal with such a counter stays the card's
//!    status, flagged (`unexpected_counter`: a card that could not decipher the packet echoes garbage).
//!    Without a PoR in time the job is sent again with a FRESH
//!    counter, up to [`RetryPolicy::max_retries`] times, then it is a [`JobOutcome::Timeout`].
//!
//! # Decisions
//!
//! - Correlation: a PoR belongs to the job in flight for its sender when its counter is one that job sent
//!   (any attempt: a late PoR of an earlier attempt still proves that attempt ran). A counter of a
//!   recently finished job of the same card makes it a late PoR of that job
//!   ([`UnmatchedReason::LatePor`]), ignored. An error PoR without RC/CC (cards answer `06`, `09`, `0A`
//!   like that, counter often zero) is taken as the card's answer, flagged `unprotected`.
//! - PoR status `08` (more time) and `0B` (response by SMS-SUBMIT) are interim: the engine waits for the
//!   real PoR.
//! - SPI2 "no PoR": the job is [`JobOutcome::Delivered`] once the ME acknowledged every segment (RP-ACK);
//!   "PoR on error": the same when the PoR would come in the report, else when the PoR wait passes without
//!   an error PoR.
//! - An RP-ERROR without a PoR, or a transport error, fails the attempt at once: it is retried like a
//!   timeout, and after the last retry the job is [`JobOutcome::Undeliverable`].
//! - A concatenated PoR by SMS-SUBMIT is reassembled per job and read with `02 71 00` in front, the user
//!   data a single SMS would carry (which is what the card secured before splitting it).

pub mod driver;
mod engine;
pub mod files;
mod job;
mod report;

pub use driver::{Faults, Fleet, NetworkConfig, Numbering, SimCard, SimEvent, Simulation};
pub use engine::{
    ConcatRefSize, Engine, EngineConfig, EngineStats, Input, Output, RetryReason, Unmatched, UnmatchedReason,
};
pub use job::{Job, JobId, RetryPolicy, Script, ScriptKind, SmsId};
pub use report::{AttemptInfo, JobOutcome, JobReport, SecurityProblem, SendError, Summary};

#[cfg(test)]
mod tests;

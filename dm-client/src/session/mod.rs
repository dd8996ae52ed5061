//! The sans-IO OMA DM client session engine (OMA DM 1.2.1 Protocol §2, RepPro, Security §5, Notification §6).
//!
//! [`DmClient`] owns the management tree ([`DmTree`], with its MO plugins and the DM accounts in
//! `./DMAcc` or `./SyncML/DMAcc`), a [`UiHandler`] and a [`NonceSource`], and runs one management session
//! at a time. It does no I/O and reads no clock: the caller feeds [`Input`]s with
//! [`DmClient::handle_input`] and drains [`Output`]s with [`DmClient::poll_output`] (str0m / quinn-proto
//! style). Time is the tree's [`DmTime`] (seconds), passed in with every input.
//!
//! ```text
//! Input::Connect / Input::Notification ──► Output::Transmit (package 1)
//! Input::Response (the server's reply)  ──► Output::Transmit (package 3, 5, …)   or   Output::Ended
//! Input::TransportFailed / Timeout / Abort ─► Output::Ended
//! ```
//!
//! An HTTP adapter (issue 7) loops: on [`Output::Transmit`] it POSTs [`Transmit::body`] to
//! [`Transmit::uri`] with `Content-Type` [`Transmit::content_type`] and, when present, the header
//! `x-syncml-hmac: `[`Transmit::hmac`]; it feeds the response body (and its `x-syncml-hmac` header) back
//! as [`Input::Response`], a failed request as [`Input::TransportFailed`], and calls
//! [`DmClient::handle_input`] with [`Input::Timeout`] when [`DmClient::poll_timeout`] passes. A transmit
//! with [`Transmit::expects_reply`] false (the Session Abort the engine sends when it gives up) is sent and
//! its reply ignored.
//!
//! # What the engine does (and the decisions where the spec leaves room)
//!
//! **Packages** (Protocol §2.3). Package 1 is `Alert` 1201 (client-initiated, [`Input::Connect`]) or 1200
//! (after a package 0, [`Input::Notification`], with its SessionID), `Replace` of `./DevInfo/{DevId, Man,
//! Mod, DmV, Lang}` (Format `chr`, Type `text/plain`), and, in DM 1.2 sessions, a Generic Alert 1226 for each
//! alert queued in the tree ([`DmTree::queue_alert`]). Every later message starts with the Status for the
//! server's SyncHdr, then the Statuses (and Results) of the server's commands in their order. Status is sent
//! for every command except Results and Status (and those with `NoResp`, whose Results are still sent); a
//! command with several items gets one Status per item (as the AOSP client answers), a one-item command one
//! Status with the item's TargetRef/SourceRef. The session ends ([`Outcome::Completed`]) when the server's
//! package is complete and the answer would hold nothing but the SyncHdr Status (Protocol §2.3: that
//! package is not sent) — also when that Status is a challenge (§2.4: the client MUST NOT challenge a server
//! that sent no commands).
//!
//! **Messages** (Protocol §2.1). Answers are packed under the server's `MaxMsgSize` (from its SyncHdr Meta,
//! binding until changed; measured with [`SyncMl::command_len`] and checked on the encoded message): what
//! does not fit goes in the next message, which the server asks for with Alert 1222. A Results too large for
//! a message is split into several Results (by items) or chunked (one item). The client sends `Final` only
//! when its answers are complete and the server has closed its package; while the server's package is open
//! (a message without `Final`) the client answers with Alert 1222.
//!
//! **Large objects** (Protocol §2.2). From the server: every chunk (`MoreData`) is answered 213; the first
//! must carry Meta `Size` (else 411) no larger than the client's `MaxObjSize` (else 416; an item without
//! `MoreData` larger than it gets 413); the object is applied when the last chunk arrives and its size is
//! checked (424 on a mismatch, and as soon as the data overruns `Size`). Decision: `Size` may count the data
//! as sent (base64 characters for `b64` data) or the decoded bytes; either matches. A chunk inside Atomic or
//! Sequence gets 400 (each must fit in one message, §2.1). A new command, or a message without the next
//! chunk, before the last chunk gets Alert 1225 (with the object's Target/Source) and the object is dropped.
//! To the server: a Results item larger than the message room is sent in chunks (`MoreData` on all but the
//! last, `Size` on the first); an item larger than the server's `MaxObjSize` is not sent at all: the Get
//! gets 413 Request entity too large (decision: 416 reports a size the *recipient* announced). An Alert 1225
//! from the server drops the object being sent.
//!
//! **Commands**. Add, Replace, Delete, Copy, Get (leaves, interior nodes' child lists, `?list=`, `?prop=`)
//! and Exec run on the [`DmTree`] (its status table applies); Exec answers 200 (+ Results) or 202 for
//! asynchronous work, whose Generic Alert (with the Exec's Correlator) goes out in the same session when the
//! plugin finishes while it lasts (plugins are polled after each server message), else in the next.
//! Data travels as the codec's [`Data`](m2msim_codec::syncml::Data): `b64` values are stored as base64 text (what the tree's `b64` Format
//! holds), `bin` values as raw bytes; TNDS documents in Data are not imported (415). Decisions: Alert 1200
//! and 1201 from the server get 200 (AOSP does), the client-only alerts 1224 and 1226 and unknown codes 406;
//! DS commands (Sync, Map, Put, …) get 406 Optional feature not supported; Results from the server are
//! ignored.
//!
//! **Atomic** (RepPro §6.6.3; as the AOSP corpus shows): the commands run in order on an undo journal; at
//! the first failure the rest get 215 Not executed, the tree rolls back, the commands that had succeeded get
//! 216 Atomic roll back OK (their Results are dropped), the failed one keeps its status, and the Atomic gets
//! 507. Plugin side effects (an Exec's work) are not undone. An Atomic inside an Atomic gets 500.
//!
//! **Sequence** (RepPro §6.6.14). Decision: the commands run in order and a failed command does *not* stop
//! the Sequence (RepPro gives Sequence only the ordering; the all-or-nothing rule belongs to Atomic, and the
//! Status of a container reports the container, not its contents); only a user's "No" (304) to a
//! confirmation inside it bypasses the rest of the Sequence (215), as Protocol §2.5.2.2 requires. The
//! Sequence itself gets 200.
//!
//! **User interaction** (Protocol §2.5): see [`ui`]. A cancelled or unanswered alert stops the processing of
//! the message: every command not yet processed gets 215.
//!
//! **Authentication of the client** (Security §5.1.3, Protocol §2.4). The account's CLCRED credentials
//! decide the scheme: `syncml:auth-basic` or `syncml:auth-md5` as a Cred in the SyncHdr (user name in the
//! Source LocName), or HMAC (`x-syncml-hmac` on every message, no Cred). The server's SyncHdr Status drives
//! it: 212 stops the Cred for the rest of the session, 200 keeps sending it, 401/407 with a Chal make the
//! client resend its last message (package 1 in the setup phase) with the new nonce — and the new type, when
//! the Chal names another (`syncml:auth-MAC` switches to HMAC). More than
//! [`ClientConfig::max_auth_attempts`] rejections end the session. Every NextNonce is stored in the DMAcc
//! ([`crate::mo::dmacc::set_nonce`]) when the message carrying it is authenticated (or the account
//! requires no server authentication); a nonce from an unauthenticated message is used but not stored
//! (Security §5.1.3 RECOMMENDED).
//!
//! **Authentication of the server**. With SRVCRED credentials in the account, every server message must be
//! authenticated: by a Cred in its SyncHdr (basic, or md5 over the SRVCRED nonce the client gave it; once
//! accepted the client answers 212 and asks no more in the session, with a fresh NextNonce for the next md5
//! credential), or, for HMAC, by its `x-syncml-hmac` header on every message (answered 200 with a fresh
//! NextNonce each time). A missing or wrong credential is answered 407/401 with a Chal carrying a fresh nonce
//! (from the [`NonceSource`], stored as the SRVCRED nonce), every command of that message gets the same
//! code and is not executed (§2.4.1), and after [`ClientConfig::max_server_auth_failures`] failures the
//! session ends. Decision: without SRVCRED credentials the server counts as authenticated by the transport
//! (Protocol §2.3.4 allows it); a Cred it sends is then not checked.
//!
//! **Package 0** (Notification §6.2): its digest must hold with the account's SRVCRED password and nonce
//! (or, decision, one of the resynchronisation nonces [`RESYNC_NONCES`]; the session then challenges the
//! server with a fresh nonce like any other). A package 0 for an unknown server, for an account without
//! SRVCRED credentials, or with a bad digest is refused ([`SessionError::Notification`]) and starts nothing.
//!
//! **Encodings.** Package 1 is written as [`ClientConfig::wire`] says; every later message in the encoding
//! and dialect of the server's last message ([`Wire`]). DM 1.1 accounts (`./SyncML/DMAcc`) run DM 1.1
//! sessions (VerDTD 1.1); Generic Alerts (DM 1.2 only) wait for a DM 1.2 session.
//!
//! **Protocol violations** end the session with [`Outcome::Failed`] and a [`Violation`] (a malformed message,
//! no Status for the client's SyncHdr, a MsgRef the client never sent, a changed SessionID or VerDTD, a MsgID
//! that does not increase, a message larger than the client's MaxMsgSize, too many commands, too many
//! messages without `Final` and without progress); the engine then sends a Session Abort (Alert 1223,
//! [`Transmit::expects_reply`] false). Memory is bounded: incoming messages by the client's MaxMsgSize,
//! commands per message by [`ClientConfig::max_commands`], large objects by the client's MaxObjSize.

pub mod nonce;
pub mod ui;

mod auth;
mod engine;
mod large;
pub(crate) mod process;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::fmt;

use m2msim_codec::dm::pkg0::{Package0, UiMode};
use m2msim_codec::error::DecodeError;
use m2msim_codec::syncml::tree::{Profile, XmlStyle};
use m2msim_codec::syncml::{ModelError, StatusCode, SyncMl, Wire};
use serde::{Deserialize, Serialize};

pub use m2msim_codec::dm::auth::RESYNC_NONCES;
pub use nonce::{NonceSource, SeededNonces};
pub use ui::{HeadlessUi, UiAlert, UiHandler, UiKind, UiOptions, UiResponse};

use crate::mo::dmacc::DmAccount;
use crate::tree::{DmTime, DmTree};
use engine::Session;

/// The client's settings for its sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientConfig {
    /// The `MaxMsgSize` the client advertises in its SyncHdr Meta (Protocol §2.1), and the largest server
    /// message it accepts.
    pub max_msg_size: u64,
    /// The `MaxObjSize` the client advertises (Protocol §2.2): the largest object it buffers.
    pub max_obj_size: u64,
    /// How package 1 is written (later messages follow the server's encoding and dialect).
    pub wire: Wire,
    /// How many times the client resends after 401/407 before it gives up.
    pub max_auth_attempts: u32,
    /// How many unauthenticated server messages the client challenges before it gives up.
    pub max_server_auth_failures: u32,
    /// The most commands (Atomic and Sequence contents included) a server message may hold.
    pub max_commands: usize,
    /// The most server messages in one session.
    pub max_messages: u32,
    /// The most consecutive server messages without `Final` that bring nothing (no command, no chunk)
    /// while the client has nothing left to send.
    pub max_idle_messages: u32,
    /// Seconds to wait for the server's reply before the session fails ([`DmClient::poll_timeout`]);
    /// `None`: no limit.
    pub response_timeout: Option<u64>,
}

impl Default for ClientConfig {
    /// 16 KiB messages (libdmclient's value), 1 MiB objects, XML in the RTK's compact style, 3 attempts each
    /// way, 10 000 commands per message, 10 000 messages per session, 8 idle messages, 5 minutes.
    fn default() -> Self {
        Self {
            max_msg_size: 16 * 1024,
            max_obj_size: 1024 * 1024,
            wire: Wire::xml(Profile { xml_style: XmlStyle::Compact, ..Profile::rtk() }),
            max_auth_attempts: 3,
            max_server_auth_failures: 3,
            max_commands: 10_000,
            max_messages: 10_000,
            max_idle_messages: 8,
            response_timeout: Some(300),
        }
    }
}

/// Something that happened to the client, fed to [`DmClient::handle_input`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Start a client-initiated session (Alert 1201) with the server of the account whose ServerID is
    /// `server_id`.
    Connect {
        /// The ServerID of the account.
        server_id: String,
        /// The SessionID to use; `None`: a random one (1–FFFF in upper-case hex, like package 0's).
        session_id: Option<String>,
        /// The current time.
        now: DmTime,
    },
    /// A package 0 arrived (SMS, WAP push, …): start a server-initiated session (Alert 1200) if it is
    /// genuine.
    Notification {
        /// The package 0 bytes (over SMS: the data of the WSP push,
        /// [`m2msim_codec::dm::push::WspPush::data`], once [`m2msim_codec::dm::push::PushReceiver`] has
        /// reassembled it).
        package0: Vec<u8>,
        /// The current time.
        now: DmTime,
    },
    /// The server's reply to the last [`Output::Transmit`].
    Response {
        /// The message body as received.
        body: Vec<u8>,
        /// The value of its `x-syncml-hmac` header, if any.
        hmac: Option<String>,
        /// The current time.
        now: DmTime,
    },
    /// The last transmit could not be delivered or answered (connection refused, HTTP error, …).
    TransportFailed {
        /// The current time.
        now: DmTime,
    },
    /// [`DmClient::poll_timeout`] has passed.
    Timeout {
        /// The current time.
        now: DmTime,
    },
    /// The device wants the session to end now (the user cancelled, power down, …): the engine sends a
    /// Session Abort (Alert 1223).
    Abort {
        /// The current time.
        now: DmTime,
    },
}

/// What the client wants done, from [`DmClient::poll_output`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send a message to the server.
    Transmit(Transmit),
    /// Something worth logging happened.
    Event(Event),
    /// The session is over (no more outputs for it; the next input may start a new one).
    Ended {
        /// How it ended.
        outcome: Outcome,
    },
}

/// A message to send (an HTTP POST, in DM's HTTP binding).
#[derive(Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where: the account's server address, or the last `RespURI` the server gave.
    pub uri: String,
    /// The message body.
    pub body: Vec<u8>,
    /// `application/vnd.syncml.dm+xml` or `application/vnd.syncml.dm+wbxml`.
    pub content_type: &'static str,
    /// The `x-syncml-hmac` header value, when the client authenticates with HMAC.
    pub hmac: Option<String>,
    /// The message's MsgID.
    pub msg_id: u32,
    /// False for the Session Abort sent when the client ends a session: send it, ignore the reply.
    pub expects_reply: bool,
}

impl fmt::Debug for Transmit {
    /// The body as text when it is XML, else its length (bodies can be large).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Transmit");
        d.field("uri", &self.uri).field("content_type", &self.content_type);
        match std::str::from_utf8(&self.body) {
            Ok(t) if t.len() <= 4096 => d.field("body", &t),
            _ => d.field("body_len", &self.body.len()),
        };
        d.field("hmac", &self.hmac)
            .field("msg_id", &self.msg_id)
            .field("expects_reply", &self.expects_reply)
            .finish()
    }
}

/// Who started a session (Protocol §2.3.3: Alert 1200 or 1201).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Initiator {
    /// The client (Alert 1201).
    Client,
    /// The server, by a package 0 (Alert 1200).
    Server,
}

/// Noteworthy things during a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A session started.
    SessionStarted {
        /// The account's ServerID.
        server_id: String,
        /// The SessionID.
        session_id: String,
        /// Who started it.
        initiator: Initiator,
        /// The package 0's UI mode (server-initiated sessions); the engine does not act on it.
        ui_mode: Option<UiMode>,
    },
    /// The server accepted the client's credentials (its SyncHdr Status was 212 or 200).
    ClientAuthenticated {
        /// 212 (for the session) or 200 (send them again).
        status: StatusCode,
    },
    /// The server's credentials were checked and accepted.
    ServerAuthenticated,
    /// The server answered a Generic Alert with success; it is removed from the tree's queue.
    AlertDelivered {
        /// Its Correlator.
        correlator: Option<String>,
        /// The server's status (200 or 202).
        status: StatusCode,
    },
    /// The server refused a Generic Alert (not for authentication); it is dropped from the queue.
    AlertRejected {
        /// Its Correlator.
        correlator: Option<String>,
        /// The server's status.
        status: StatusCode,
    },
    /// A large object from the server was completed and applied.
    LargeObjectReceived {
        /// The target node.
        uri: String,
        /// Its size in bytes as stored.
        size: u64,
        /// The status of the command it completed.
        status: StatusCode,
    },
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server closed the session normally.
    Completed,
    /// The server sent a Session Abort (Alert 1223).
    AbortedByServer,
    /// The device asked to abort ([`Input::Abort`]).
    AbortedByClient,
    /// The session failed.
    Failed(FailReason),
}

/// Why a session failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FailReason {
    /// The server broke the protocol.
    #[error("protocol violation: {0}")]
    Protocol(#[from] Violation),
    /// The server kept refusing the client's credentials, or challenged with a scheme the client cannot do.
    #[error("the server refused the client's credentials ({status})")]
    ClientAuthentication {
        /// The server's last SyncHdr status (401 or 407).
        status: StatusCode,
    },
    /// The account has no client credentials for the scheme the server demands.
    #[error("the server demands credentials the account does not have")]
    NoClientCredentials,
    /// The server kept failing to authenticate itself.
    #[error("the server failed to authenticate itself")]
    ServerAuthentication,
    /// The server answered the client's SyncHdr or session Alert with an error.
    #[error("the server refused the session ({0})")]
    Refused(StatusCode),
    /// A response does not fit in the server's MaxMsgSize even alone.
    #[error("a response does not fit the server's MaxMsgSize of {max_msg_size} bytes")]
    MessageRoom {
        /// The server's MaxMsgSize.
        max_msg_size: u64,
    },
    /// The transport failed ([`Input::TransportFailed`]).
    #[error("the transport failed")]
    Transport,
    /// No reply in time ([`Input::Timeout`]).
    #[error("the server did not reply in time")]
    Timeout,
    /// The client could not write its own message.
    #[error("cannot encode the client's message: {0}")]
    Encode(ModelError),
}

/// A protocol violation by the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// The message does not decode.
    #[error("malformed message: {0}")]
    Malformed(ModelError),
    /// The message is larger than the client's MaxMsgSize.
    #[error("message of {size} bytes exceeds the client's MaxMsgSize {max}")]
    MessageTooLarge {
        /// Its size.
        size: usize,
        /// The client's MaxMsgSize.
        max: u64,
    },
    /// More commands than [`ClientConfig::max_commands`].
    #[error("more than {max} commands in one message")]
    TooManyCommands {
        /// The limit.
        max: usize,
    },
    /// More messages than [`ClientConfig::max_messages`].
    #[error("more than {max} messages in one session")]
    TooManyMessages {
        /// The limit.
        max: u32,
    },
    /// The message has no Status for the client's SyncHdr (RepPro: it MUST be the first Status).
    #[error("no Status for the client's SyncHdr")]
    MissingHeaderStatus,
    /// A Status refers to a message the client did not send (or the SyncHdr Status to an older one).
    #[error("Status with MsgRef {got}, expected {expected}")]
    WrongMsgRef {
        /// The client's last MsgID.
        expected: u32,
        /// The Status's MsgRef.
        got: u32,
    },
    /// The SessionID changed.
    #[error("SessionID changed from {expected:?} to {got:?}")]
    SessionIdChanged {
        /// The session's.
        expected: String,
        /// The message's.
        got: String,
    },
    /// The message's VerDTD is not the session's DM version.
    #[error("VerDTD {got:?} in a DM {expected} session")]
    VersionMismatch {
        /// The session's VerDTD.
        expected: &'static str,
        /// The message's.
        got: String,
    },
    /// The MsgID did not increase.
    #[error("MsgID {got} after {last}")]
    MsgIdNotIncreasing {
        /// The previous MsgID.
        last: u32,
        /// This one.
        got: u32,
    },
    /// Too many messages without Final and without progress.
    #[error("{count} messages without Final and without progress")]
    FinalMissing {
        /// How many in a row.
        count: u32,
    },
}

/// Why [`DmClient::handle_input`] refused an input (the caller's mistake or a refused package 0; the
/// server's misbehaviour is reported as [`Outcome::Failed`] instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// A session is running; it must end before another starts.
    #[error("a session is already running")]
    Busy,
    /// The input needs a running session.
    #[error("no session is running")]
    NoSession,
    /// No DM account has this ServerID.
    #[error("no DM account for server {server_id:?}")]
    UnknownAccount {
        /// The ServerID asked for.
        server_id: String,
    },
    /// `./DevInfo` is missing or incomplete (package 1 needs it).
    #[error("./DevInfo is missing or incomplete")]
    NoDevInfo,
    /// A package 0 was refused.
    #[error("package 0 refused: {0}")]
    Notification(#[from] NotificationError),
    /// The client could not write its own message.
    #[error("cannot encode the client's message: {0}")]
    Encode(#[from] ModelError),
}

/// Why a package 0 was refused (Notification §6.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotificationError {
    /// It does not decode.
    #[error(transparent)]
    Malformed(#[from] DecodeError),
    /// No account has its server identifier.
    #[error("no DM account for server {server_id:?}")]
    UnknownServer {
        /// The server identifier (lossy UTF-8).
        server_id: String,
    },
    /// The account has no SRVCRED credentials to check the digest with.
    #[error("the account has no server credentials")]
    NoServerCredentials,
    /// The digest does not hold.
    #[error("the digest does not verify")]
    BadDigest,
}

/// A DM client: the management tree with its MOs and accounts, the UI, the randomness, and the session
/// engine. See the [module documentation](self).
pub struct DmClient {
    tree: DmTree,
    config: ClientConfig,
    ui: Box<dyn UiHandler>,
    nonces: Box<dyn NonceSource>,
    session: Option<Session>,
    outputs: VecDeque<Output>,
}

impl fmt::Debug for DmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DmClient")
            .field("tree", &self.tree)
            .field("config", &self.config)
            .field("session", &self.session.as_ref().map(Session::id))
            .field("pending_outputs", &self.outputs.len())
            .finish_non_exhaustive()
    }
}

impl DmClient {
    /// A client over `tree` (with `./DevInfo` and at least one DM account installed) answering UI alerts
    /// with [`HeadlessUi`].
    #[must_use]
    pub fn new(tree: DmTree, config: ClientConfig, nonces: impl NonceSource + 'static) -> Self {
        Self {
            tree,
            config,
            ui: Box::new(HeadlessUi),
            nonces: Box::new(nonces),
            session: None,
            outputs: VecDeque::new(),
        }
    }

    /// Uses `ui` for alerts 1100–1104 (builder style).
    #[must_use]
    pub fn with_ui(mut self, ui: impl UiHandler + 'static) -> Self {
        self.ui = Box::new(ui);
        self
    }

    /// The management tree.
    #[must_use]
    pub fn tree(&self) -> &DmTree {
        &self.tree
    }

    /// The management tree, for device-side changes (they are seen by the running session, if any).
    pub fn tree_mut(&mut self) -> &mut DmTree {
        &mut self.tree
    }

    /// Gives the tree back (e.g. to snapshot it after the client is done).
    #[must_use]
    pub fn into_tree(self) -> DmTree {
        self.tree
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The DM accounts in the tree.
    #[must_use]
    pub fn accounts(&self) -> Vec<DmAccount> {
        DmAccount::all(&self.tree)
    }

    /// The SessionID of the running session, if any.
    #[must_use]
    pub fn session_id(&self) -> Option<&str> {
        self.session.as_ref().map(Session::id)
    }

    /// Feeds an input; then drain [`Self::poll_output`].
    ///
    /// # Errors
    /// [`SessionError`] when the input does not fit the state (a second session, a response with no
    /// session), the account or `./DevInfo` is missing, or a package 0 is refused. The server's
    /// misbehaviour never gives an error here: it ends the session with an [`Output::Ended`].
    pub fn handle_input(&mut self, input: Input) -> Result<(), SessionError> {
        match input {
            Input::Connect { server_id, session_id, now } => {
                self.start(&server_id, session_id, Initiator::Client, None, now)
            }
            Input::Notification { package0, now } => {
                if self.session.is_some() {
                    return Err(SessionError::Busy);
                }
                let (pkg, account) = self.verify_package0(&package0)?;
                self.start(
                    &account.server_id,
                    Some(pkg.session_id_text()),
                    Initiator::Server,
                    Some(pkg.ui_mode),
                    now,
                )
            }
            Input::Response { body, hmac, now } => {
                let mut s = self.session.take().ok_or(SessionError::NoSession)?;
                let live = s.receive(&mut self.env(), &body, hmac.as_deref(), now);
                if live {
                    self.session = Some(s);
                }
                Ok(())
            }
            Input::TransportFailed { now } => {
                self.end(|s, env| s.fail_quietly(env, FailReason::Transport, now))
            }
            Input::Timeout { now } => {
                let due = self.session.as_ref().and_then(Session::deadline).is_some_and(|d| now >= d);
                if !due {
                    return if self.session.is_some() { Ok(()) } else { Err(SessionError::NoSession) };
                }
                self.end(|s, env| s.fail_quietly(env, FailReason::Timeout, now))
            }
            Input::Abort { now } => self.end(|s, env| s.abort(env, now)),
        }
    }

    /// The next output, or `None` when there is nothing to do until the next input. Call it after every
    /// [`Self::handle_input`] until it returns `None`.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When the running session stops waiting for the server's reply (feed [`Input::Timeout`] then), if
    /// [`ClientConfig::response_timeout`] is set and a reply is awaited.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<DmTime> {
        self.session.as_ref().and_then(Session::deadline)
    }

    fn env(&mut self) -> engine::Env<'_> {
        engine::Env {
            tree: &mut self.tree,
            config: &self.config,
            ui: &mut *self.ui,
            nonces: &mut *self.nonces,
            out: &mut self.outputs,
        }
    }

    fn end(&mut self, f: impl FnOnce(&mut Session, &mut engine::Env<'_>)) -> Result<(), SessionError> {
        let mut s = self.session.take().ok_or(SessionError::NoSession)?;
        f(&mut s, &mut self.env());
        Ok(())
    }

    fn start(
        &mut self,
        server_id: &str,
        session_id: Option<String>,
        initiator: Initiator,
        ui_mode: Option<UiMode>,
        now: DmTime,
    ) -> Result<(), SessionError> {
        if self.session.is_some() {
            return Err(SessionError::Busy);
        }
        let account = DmAccount::find(&self.tree, server_id)
            .ok_or_else(|| SessionError::UnknownAccount { server_id: server_id.to_owned() })?;
        let session_id = session_id.unwrap_or_else(|| {
            let mut b = [0u8; 2];
            self.nonces.fill(&mut b);
            format!("{:X}", u16::from_be_bytes(b).max(1))
        });
        let s = Session::start(&mut self.env(), account, session_id, initiator, ui_mode, now)?;
        self.session = Some(s);
        Ok(())
    }

    /// Decodes a package 0 and checks its digest against its server's account.
    fn verify_package0(&self, bytes: &[u8]) -> Result<(Package0, DmAccount), NotificationError> {
        use m2msim_codec::reader::Decode as _;
        let pkg = Package0::decode_exact(bytes)?;
        let server_id = pkg.server_id_text();
        let account =
            DmAccount::find(&self.tree, &server_id).ok_or(NotificationError::UnknownServer { server_id })?;
        let creds = account.server.as_ref().ok_or(NotificationError::NoServerCredentials)?;
        let secret = creds.secret.expose();
        let ok = pkg.verify(secret, &creds.nonce) || RESYNC_NONCES.iter().any(|n| pkg.verify(secret, n));
        if ok { Ok((pkg, account)) } else { Err(NotificationError::BadDigest) }
    }
}

/// Decodes a message the client sent (a convenience for adapters' logs and tests).
///
/// # Errors
/// As [`SyncMl::decode`].
pub fn decode_transmit(t: &Transmit) -> Result<SyncMl, ModelError> {
    SyncMl::decode(&t.body, m2msim_codec::xml::Mode::Strict).map(|d| d.message)
}

//! The sans-IO OMA DM server session engine for one device (OMA DM 1.2.1 Protocol §2, Security §5.1;
//! DM 1.1.2 alike): [`ServerSession`].
//!
//! # Driving it
//!
//! Create one [`ServerSession`] per session, with a [`SessionConfig`] and the [`Services`] it asks
//! (the device directory, the job store, a nonce source). Then, for each client message (an HTTP request:
//! body, `Content-Type`, `x-syncml-hmac` header), call [`ServerSession::handle_input`] with
//! [`Input::Message`], and drain [`ServerSession::poll_output`] until it returns `None`:
//! - [`Output::Message`]: the answer to send (the HTTP response body, its content type and its
//!   `x-syncml-hmac` header). Exactly one follows each client message, unless the session ends without
//!   one (undecodable input, the client's session abort), in which case the exchange is closed without a
//!   DM body;
//! - [`Output::Event`]: what happened (authenticated, DevInfo received, an operation completed, an alert);
//! - [`Output::Ended`]: the session is over (after its last message, if any).
//!
//! Call [`ServerSession::poll_timeout`] after each input and feed [`Input::Timeout`] when that instant
//! passes: an idle session ends with [`SessionOutcome::TimedOut`]. Time only comes in through inputs.
//!
//! # What it does
//!
//! - Package 1 (Protocol §2.1.3): authenticates the client per its [`DeviceRecord`] (basic, MD5 with a
//!   nonce from the [`NonceSource`], or HMAC): 407 (missing) or 401 (invalid) with a `Chal` and nothing
//!   else, up to [`SessionConfig::max_auth_attempts`] times; then 212 (basic, MD5; MD5 with the next
//!   session's nonce) or, in HMAC mode, 200 with a new `NextNonce` on every message. Answers the `Alert`
//!   and the `./DevInfo` `Replace` with 200 and records the DevInfo.
//! - Management packages: asks the [`OperationSource`] for the device's operations at the start of each
//!   package, numbers their `CmdID`s, fills each message up to the client's `MaxMsgSize` (more messages
//!   per package, the client answering each with Alert 1222), and chunks a large `Add`/`Replace` item
//!   within the client's `MaxObjSize` (`MoreData`, `Size` on the first chunk).
//! - Answers: collects `Status`es, `Results` (chunked ones reassembled, 213 for each chunk, 424 on a size
//!   mismatch, 1225 when interrupted) and Generic Alerts (1226, matched by `Correlator` to the `Exec` that
//!   carried it, in this session or an earlier one) into [`OperationOutcome`]s, reported to the
//!   [`OperationSource`] as soon as they are complete.
//! - Ends with a package that asks for nothing: the server's `Final` message without commands
//!   ([`SessionOutcome::Completed`]).
//! - Answers in the client's encoding (XML or WBXML), dialect (RTK or libwbxml, as read from package 1)
//!   and DM version (1.2 or 1.1).
//!
//! # Decisions where the specification leaves room
//!
//! - A challenge (401/407) carries only the `SyncHdr` status: the client's commands are not executed and
//!   are not answered; the client sends package 1 again (Protocol §2.4).
//! - This server sends its own credentials (when the record has some) from its first message after the
//!   client authenticated, never to an unauthenticated client, and until the client answers 212 (HMAC:
//!   on every message). A client's 401/407 for our header makes us resend, with the nonce of its `Chal`,
//!   the commands of that message: the 401/407 statuses it gives those commands (Protocol §2.4.1) say
//!   that they were not executed and are not their outcome. When the client keeps refusing, the session
//!   fails and they stay queued for the next session.
//! - A mid-session message that fails its HMAC check is not processed: the answer is 401 and the session
//!   ends ([`FailReason::IntegrityCheckFailed`]); the operations it answered stay queued.
//! - Protocol violations (wrong `SessionID`, another device, a `MsgID` that does not grow, an unsupported
//!   `VerDTD`, too many messages) end the session with a last message: `SyncHdr` status (400, or 505 for
//!   the version), Alert 1223 (session abort), `Final`. A message that does not decode ends it without one.
//! - A repeated message (same bytes as the previous one, told by length and SHA-256: an HTTP retry) gets
//!   the previous answer again.
//! - Commands a DM client does not send to a server (`Add`, `Get`, `Exec`, … ) are answered 405.
//! - Input is read leniently ([`Mode::Lenient`]): real clients omit required elements.
//! - `NoResp` in the client's `SyncHdr` is ignored (the header always gets its status: authentication
//!   needs it).

mod auth;
mod chunk;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use m2msim_codec::syncml::tree::Profile;
use m2msim_codec::syncml::{
    Alert, AlertCode, Command, Decoded, DevInfo, DmVersion, Encoding, Item, Meta, ModelError, Results,
    Status, StatusCode, SyncHdr, SyncMl, Wire,
};
use m2msim_codec::xml::Mode;

use self::auth::Verdict;
use self::chunk::ChunkCursor;
use crate::directory::{AuthScheme, Credentials, DeviceDirectory, DeviceRecord};
use crate::jobs::OperationSource;
use crate::nonce::NonceSource;
use crate::operation::{
    NotSentReason, OpId, Operation, OperationOutcome, OutcomeState, ReceivedAlert, ReceivedStatus,
};

/// The settings of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// `RespURI` for every server message (RepPro §5.1: where the client sends its next message), e.g. a
    /// URL with a session token by which the HTTP layer routes the next request. `None`: none is sent.
    pub resp_uri: Option<String>,
    /// The `MaxMsgSize` this server accepts, sent in every server message's `SyncHdr` `Meta`.
    pub max_msg_size: u64,
    /// The `MaxObjSize` this server accepts (for chunked `Results`), sent likewise; larger objects are
    /// answered 416 and not kept.
    pub max_obj_size: u64,
    /// How many failed authentication attempts (401/407 answers) end the session.
    pub max_auth_attempts: u32,
    /// How long the session waits for the client's next message.
    pub idle_timeout: Duration,
    /// How many client messages a session may take (a guard against a client that never finishes).
    pub max_messages: u32,
    /// The `SessionID` the client must use (the one a package 0 announced), if any.
    pub expected_session_id: Option<String>,
}

impl Default for SessionConfig {
    /// No `RespURI`; `MaxMsgSize` 65536, `MaxObjSize` 16 MiB; 3 authentication attempts; 5 minutes idle;
    /// 100 000 messages.
    fn default() -> Self {
        Self {
            resp_uri: None,
            max_msg_size: 65_536,
            max_obj_size: 16 * 1024 * 1024,
            max_auth_attempts: 3,
            idle_timeout: Duration::from_secs(300),
            max_messages: 100_000,
            expected_session_id: None,
        }
    }
}

/// What a session asks of its surroundings.
pub struct Services {
    /// The devices and their credentials.
    pub directory: Box<dyn DeviceDirectory + Send>,
    /// The job store.
    pub jobs: Box<dyn OperationSource + Send>,
    /// Where nonces come from.
    pub nonces: Box<dyn NonceSource + Send>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Services { .. }")
    }
}

/// A client message as the transport delivered it.
#[derive(Debug, Clone, Copy)]
pub struct IncomingMessage<'a> {
    /// The body (XML or WBXML; told apart by the first byte).
    pub body: &'a [u8],
    /// The `Content-Type`, if the transport has one (informational: the body decides the encoding).
    pub content_type: Option<&'a str>,
    /// The `x-syncml-hmac` header value, if present.
    pub hmac: Option<&'a str>,
}

impl<'a> IncomingMessage<'a> {
    /// A message with only a body.
    #[must_use]
    pub const fn new(body: &'a [u8]) -> Self {
        Self { body, content_type: None, hmac: None }
    }
}

/// An input to the engine.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A client message arrived at `now`.
    Message {
        /// The time it arrived.
        now: Instant,
        /// The message.
        message: IncomingMessage<'a>,
    },
    /// Time has passed (call when [`ServerSession::poll_timeout`]'s instant is reached).
    Timeout {
        /// The current time.
        now: Instant,
    },
}

/// A server message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The body.
    pub body: Vec<u8>,
    /// The `Content-Type`: `application/vnd.syncml.dm+xml` or `application/vnd.syncml.dm+wbxml`.
    pub content_type: &'static str,
    /// The `x-syncml-hmac` header value, when this server authenticates with HMAC.
    pub hmac: Option<String>,
    /// The recipient: the client's `SyncHdr/Source/LocURI` (over HTTP the message is the response to the
    /// client's request).
    pub target_uri: String,
    /// The message's `MsgID`.
    pub msg_id: u32,
    /// Whether it carries `Final` (the last message of a server package).
    pub final_: bool,
}

/// Something that happened in the session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The client authenticated.
    Authenticated {
        /// The device.
        device_id: String,
        /// How.
        scheme: AuthScheme,
    },
    /// The client sent its `./DevInfo` (recorded in the directory too).
    DevInfo(DevInfo),
    /// An operation's outcome was reported to the job store.
    OperationCompleted(OperationOutcome),
    /// An operation was sent but not answered before the client's package ended or the session did: it
    /// stays queued for the next session.
    OperationUnanswered(OpId),
    /// A client alert that completes no operation: a Generic Alert without a known `Correlator`, a client
    /// event (1224), another code.
    Alert(ReceivedAlert),
}

/// Why a session failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FailReason {
    /// A client message did not decode.
    #[error("malformed client message: {0}")]
    Malformed(ModelError),
    /// The client's `VerDTD` is neither 1.1 nor 1.2.
    #[error("unsupported VerDTD {0:?}")]
    UnsupportedVersion(String),
    /// The client did not authenticate within the allowed attempts.
    #[error("the client failed to authenticate")]
    AuthenticationFailed,
    /// A message of an authenticated HMAC session failed its integrity check.
    #[error("a client message failed its HMAC integrity check")]
    IntegrityCheckFailed,
    /// The client rejected this server's credentials (or asked for some and there are none).
    #[error("the client rejected the server's credentials")]
    ServerAuthRejected,
    /// The client broke the protocol.
    #[error("protocol violation: {0}")]
    ProtocolViolation(&'static str),
    /// The session took more messages than [`SessionConfig::max_messages`].
    #[error("too many messages")]
    TooManyMessages,
    /// A server message could not be written.
    #[error("cannot write a server message: {0}")]
    Encode(ModelError),
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionOutcome {
    /// The server sent a package asking for nothing more.
    Completed,
    /// The client aborted (Alert 1223).
    AbortedByClient,
    /// No client message within [`SessionConfig::idle_timeout`].
    TimedOut,
    /// The session failed.
    Failed(FailReason),
}

/// An output of the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this message to the client.
    Message(OutgoingMessage),
    /// Something happened.
    Event(Event),
    /// The session is over.
    Ended {
        /// How.
        outcome: SessionOutcome,
    },
}

/// Misuse of the engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The session has ended; it takes no more input.
    #[error("the session has ended")]
    Ended,
}

/// What identifies the session a client message belongs to (for routing before a session exists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageKey {
    /// The device: `SyncHdr/Source/LocURI`.
    pub device_id: String,
    /// `SessionID`.
    pub session_id: String,
    /// `MsgID`.
    pub msg_id: u32,
    /// Whether the message carries Alert 1200 (server-initiated management, Protocol §2.1.3 / Notification
    /// §6.2): package 1 of a session that a package 0 asked for, whose `SessionID` must be the announced one.
    pub server_initiated: bool,
}

impl MessageKey {
    /// Reads the key of a client message.
    ///
    /// # Errors
    /// The message does not decode.
    pub fn peek(body: &[u8]) -> Result<Self, ModelError> {
        Ok(Self::of(&SyncMl::decode(body, Mode::Lenient)?.message))
    }

    /// The key of a decoded client message.
    #[must_use]
    pub fn of(m: &SyncMl) -> Self {
        let server_initiated = m
            .body
            .commands
            .iter()
            .any(|c| matches!(c, Command::Alert(a) if a.code == AlertCode::SERVER_INITIATED_MGMT));
        Self {
            device_id: m.hdr.source.loc_uri.clone(),
            session_id: m.hdr.session_id.clone(),
            msg_id: m.hdr.msg_id,
            server_initiated,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for an authenticated package 1.
    Package1,
    /// Authenticated.
    Active,
    /// Over.
    Ended,
}

/// What kind of message to compose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A message of a server package: statuses, then commands; `Final` when everything is out.
    Package,
    /// The answer to a client message without `Final` while no server package is under way: statuses and
    /// Alert 1222, no `Final`.
    AskNext,
    /// Only the header status and `Final` (a challenge).
    HeaderOnly,
}

/// This server's credentials toward the client, during the session.
#[derive(Debug)]
struct ServerAuth {
    creds: Credentials,
    scheme: AuthScheme,
    send: bool,
    failures: u32,
}

/// A command of the queue: an operation's command, or what is left of a chunked one.
#[derive(Debug, Clone)]
struct Outbound {
    op: OpId,
    command: Command,
    chunk: Option<ChunkCursor>,
}

/// A command sent and not yet answered: which operation, which of its commands (depth first), and for a
/// chunk whether it is the last; for an operation's own command what to queue again if the client rejects
/// the message it came in.
#[derive(Debug)]
struct Sent {
    op: OpId,
    node: usize,
    chunk_last: Option<bool>,
    resend: Option<Box<Outbound>>,
}

/// An operation in flight.
#[derive(Debug)]
struct OpTrack {
    outcome: OperationOutcome,
    is_get: Vec<bool>,
    answered: Vec<bool>,
    results_needed: Vec<bool>,
    results_got: Vec<bool>,
    /// `(node, correlator)` of each `Exec`.
    correlators: Vec<(usize, String)>,
    fully_sent: bool,
}

impl OpTrack {
    fn complete(&self) -> bool {
        self.fully_sent
            && self.answered.iter().all(|a| *a)
            && self.results_needed.iter().zip(&self.results_got).all(|(n, g)| !n || *g)
    }
}

/// A chunked `Results` item being received.
#[derive(Debug)]
struct Inbound {
    key: (u32, u32),
    op: OpId,
    node: usize,
    item: Item,
    format: Option<String>,
    expected: Option<u64>,
    buf: Vec<u8>,
    text: bool,
    sent_size: u64,
    discard: bool,
}

/// The OMA DM server side of one session. See the module documentation.
pub struct ServerSession {
    config: SessionConfig,
    services: Services,
    phase: Phase,
    outputs: VecDeque<Output>,
    deadline: Instant,

    device_id: String,
    record: Option<DeviceRecord>,
    client_hdr: Option<Box<SyncHdr>>,
    version: DmVersion,
    wire: Wire,
    client_max_msg: Option<u64>,
    client_max_obj: Option<u64>,
    auth_failures: u32,
    client_scheme: Option<AuthScheme>,
    server_auth: Option<ServerAuth>,
    dev_info: Option<DevInfo>,

    messages: u32,
    next_msg_id: u32,
    /// The fingerprint of the last client message and our answer to it (for a retry).
    last_exchange: Option<(Fingerprint, OutgoingMessage)>,

    header_status: Option<Box<Status>>,
    pending_statuses: VecDeque<Status>,
    pending_alerts: Vec<Alert>,
    queue: VecDeque<Outbound>,
    in_flight: HashMap<(u32, u32), Sent>,
    ops: BTreeMap<OpId, Box<OpTrack>>,
    sent_ops: HashSet<OpId>,
    inbound: Option<Box<Inbound>>,
    rejected_msgs: Vec<u32>,
    /// Our messages whose header the client's current message refuses (401/407).
    refused_now: Vec<u32>,
    package_open: bool,
    package_has_commands: bool,
}

impl std::fmt::Debug for ServerSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSession")
            .field("device_id", &self.device_id)
            .field("phase", &self.phase)
            .field("messages", &self.messages)
            .field("queued", &self.queue.len())
            .field("in_flight_ops", &self.ops.len())
            .finish_non_exhaustive()
    }
}

type Step<T> = Result<T, FailReason>;

impl ServerSession {
    /// A session waiting for its package 1; `now` starts the idle timer.
    #[must_use]
    pub fn new(config: SessionConfig, services: Services, now: Instant) -> Self {
        let deadline = now + config.idle_timeout;
        Self {
            config,
            services,
            phase: Phase::Package1,
            outputs: VecDeque::new(),
            deadline,
            device_id: String::new(),
            record: None,
            client_hdr: None,
            version: DmVersion::V1_2,
            wire: Wire::xml(Profile::rtk()),
            client_max_msg: None,
            client_max_obj: None,
            auth_failures: 0,
            client_scheme: None,
            server_auth: None,
            dev_info: None,
            messages: 0,
            next_msg_id: 1,
            last_exchange: None,
            header_status: None,
            pending_statuses: VecDeque::new(),
            pending_alerts: Vec::new(),
            queue: VecDeque::new(),
            in_flight: HashMap::new(),
            ops: BTreeMap::new(),
            sent_ops: HashSet::new(),
            inbound: None,
            rejected_msgs: Vec::new(),
            refused_now: Vec::new(),
            package_open: false,
            package_has_commands: false,
        }
    }

    /// Feeds an input. Drain [`ServerSession::poll_output`] afterwards.
    ///
    /// # Errors
    /// [`SessionError::Ended`] once the session is over.
    pub fn handle_input(&mut self, input: Input<'_>) -> Result<(), SessionError> {
        if self.phase == Phase::Ended {
            return Err(SessionError::Ended);
        }
        match input {
            Input::Timeout { now } => {
                if now >= self.deadline {
                    self.end(SessionOutcome::TimedOut);
                }
            }
            Input::Message { now, message } => {
                self.deadline = now + self.config.idle_timeout;
                if let Err(reason) = self.on_message(message, None) {
                    self.end(SessionOutcome::Failed(reason));
                }
            }
        }
        Ok(())
    }

    /// [`Input::Message`] for a message the caller has decoded already (to route it, say): `decoded`
    /// must be what `SyncMl::decode(message.body, Mode::Lenient)` gave. Saves decoding it twice.
    ///
    /// # Errors
    /// [`SessionError::Ended`] once the session is over.
    pub fn handle_decoded(
        &mut self,
        now: Instant,
        message: IncomingMessage<'_>,
        decoded: Decoded,
    ) -> Result<(), SessionError> {
        if self.phase == Phase::Ended {
            return Err(SessionError::Ended);
        }
        self.deadline = now + self.config.idle_timeout;
        if let Err(reason) = self.on_message(message, Some(decoded)) {
            self.end(SessionOutcome::Failed(reason));
        }
        Ok(())
    }

    /// The next output, if any. Call after each [`ServerSession::handle_input`] until it returns `None`.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When to feed [`Input::Timeout`] (`None` once the session is over).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        (self.phase != Phase::Ended).then_some(self.deadline)
    }

    /// Gives back the spare capacity of the session's queues (their buffers stay at their largest size
    /// otherwise). Call when the session goes idle, after draining [`ServerSession::poll_output`]: a
    /// server holding thousands of open sessions keeps only what each needs.
    pub fn compact(&mut self) {
        self.outputs.shrink_to_fit();
        self.pending_statuses.shrink_to_fit();
        self.pending_alerts.shrink_to_fit();
        self.queue.shrink_to_fit();
        self.in_flight.shrink_to_fit();
        self.sent_ops.shrink_to_fit();
        self.rejected_msgs.shrink_to_fit();
        self.refused_now.shrink_to_fit();
    }

    /// Whether the session is over.
    #[must_use]
    pub fn is_ended(&self) -> bool {
        self.phase == Phase::Ended
    }

    /// The device (the first message's `SyncHdr/Source/LocURI`; empty before it).
    #[must_use]
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// The `SessionID` (once the first message arrived).
    #[must_use]
    pub fn session_id(&self) -> Option<&str> {
        self.client_hdr.as_ref().map(|h| h.session_id.as_str())
    }

    /// The `VerDTD` the client's messages carry, as written (once the first message arrived).
    #[must_use]
    pub fn ver_dtd(&self) -> Option<&str> {
        self.client_hdr.as_ref().map(|h| h.ver_dtd.as_str())
    }

    /// The DevInfo the client sent in package 1.
    #[must_use]
    pub fn dev_info(&self) -> Option<&DevInfo> {
        self.dev_info.as_ref()
    }

    /// The dialect the session answers in (the client's, from its first message).
    #[must_use]
    pub fn wire(&self) -> Wire {
        self.wire
    }

    // ---- one client message --------------------------------------------------------------------

    fn on_message(&mut self, m: IncomingMessage<'_>, decoded: Option<Decoded>) -> Step<()> {
        if let Some((req, resp)) = &self.last_exchange
            && *req == Fingerprint::of(m.body)
        {
            self.outputs.push_back(Output::Message(resp.clone()));
            return Ok(());
        }
        self.messages += 1;
        let msg = match decoded {
            Some(d) => d,
            None => SyncMl::decode(m.body, Mode::Lenient).map_err(FailReason::Malformed)?,
        };
        let first = self.client_hdr.is_none();
        let wire = msg.wire;
        let msg = msg.message;
        if first {
            self.device_id.clone_from(&msg.hdr.source.loc_uri);
            self.wire = wire;
        }
        let previous = self.client_hdr.replace(Box::new(msg.hdr.clone()));
        let Some(version) = msg.dm_version() else {
            return self.abort(
                StatusCode::DTD_VERSION_NOT_SUPPORTED,
                FailReason::UnsupportedVersion(msg.hdr.ver_dtd.clone()),
            );
        };
        if self.messages > self.config.max_messages {
            return self.abort(StatusCode::BAD_REQUEST, FailReason::TooManyMessages);
        }
        if let Some(prev) = previous {
            let violation = if prev.session_id != msg.hdr.session_id {
                Some("SessionID changed within the session")
            } else if prev.source.loc_uri != msg.hdr.source.loc_uri {
                Some("another device's message within the session")
            } else if Some(version) != DmVersion::from_ver_dtd(&prev.ver_dtd) {
                Some("VerDTD changed within the session")
            } else if self.phase == Phase::Active && msg.hdr.msg_id <= prev.msg_id {
                Some("MsgID did not increase")
            } else {
                None
            };
            if let Some(v) = violation {
                return self.abort(StatusCode::BAD_REQUEST, FailReason::ProtocolViolation(v));
            }
        } else {
            self.version = version;
            if let Some(want) = &self.config.expected_session_id
                && !want.eq_ignore_ascii_case(msg.hdr.session_id.trim())
            {
                return self.abort(
                    StatusCode::BAD_REQUEST,
                    FailReason::ProtocolViolation("SessionID is not the one package 0 announced"),
                );
            }
            self.record = self.services.directory.device(&self.device_id);
        }
        if let Some(n) = msg.hdr.max_msg_size() {
            self.client_max_msg = Some(n);
        }
        if let Some(n) = msg.hdr.max_obj_size() {
            self.client_max_obj = Some(n);
        }

        // Authentication.
        if self.phase == Phase::Package1 {
            match auth::verify_client(self.record.as_ref(), &msg.hdr, m.body, m.hmac) {
                Verdict::Valid => self.authenticated(&msg.hdr),
                v => return self.challenge(v, m.body),
            }
        } else if self.client_scheme == Some(AuthScheme::Hmac) {
            let valid = match (&self.record, m.hmac) {
                (Some(r), Some(h)) => auth::verify_hmac(&r.client, h, m.body) == Verdict::Valid,
                _ => false,
            };
            if !valid {
                return self.abort(StatusCode::INVALID_CREDENTIALS, FailReason::IntegrityCheckFailed);
            }
            let chal = self.issue_client_nonce(AuthScheme::Hmac);
            self.header_status =
                Some(Box::new(Status::for_header(0, &msg.hdr, StatusCode::OK).with_chal(chal)));
        } else {
            self.header_status = Some(Box::new(Status::for_header(0, &msg.hdr, StatusCode::OK)));
        }

        if let Err(reason) = self.process(&msg) {
            return self.abort(StatusCode::OK, reason);
        }
        if self.phase == Phase::Ended {
            return Ok(());
        }
        self.requeue_rejected();
        self.complete_ops();
        let client_final = msg.body.final_;
        if client_final {
            if self.inbound.is_some() {
                self.interrupt_inbound();
            }
            self.close_client_package();
        }

        if self.package_open || !self.queue.is_empty() {
            self.send(Kind::Package, m.body)
        } else if !client_final {
            self.send(Kind::AskNext, m.body)
        } else {
            self.start_package();
            self.send(Kind::Package, m.body)
        }
    }

    /// The client authenticated with the first message `hdr`.
    fn authenticated(&mut self, hdr: &SyncHdr) {
        self.phase = Phase::Active;
        let scheme = self.record.as_ref().map_or(AuthScheme::Basic, |r| r.client.scheme);
        self.client_scheme = Some(scheme);
        let status = match scheme {
            AuthScheme::Basic => Status::for_header(0, hdr, StatusCode::AUTHENTICATION_ACCEPTED),
            AuthScheme::Md5 => {
                // 212 with the nonce for the next session (Protocol §2.4, the spec example auth_06).
                let chal = self.issue_client_nonce(AuthScheme::Md5);
                Status::for_header(0, hdr, StatusCode::AUTHENTICATION_ACCEPTED).with_chal(chal)
            }
            AuthScheme::Hmac => {
                // HMAC: 200 and a new nonce on every message (Security §5.1.4).
                let chal = self.issue_client_nonce(AuthScheme::Hmac);
                Status::for_header(0, hdr, StatusCode::OK).with_chal(chal)
            }
        };
        self.header_status = Some(Box::new(status));
        self.server_auth = self.record.as_ref().and_then(|r| r.server.clone()).map(|creds| ServerAuth {
            scheme: creds.scheme,
            creds,
            send: true,
            failures: 0,
        });
        self.outputs
            .push_back(Output::Event(Event::Authenticated { device_id: self.device_id.clone(), scheme }));
    }

    /// A new nonce for the client's next credential: stored, then put in a `Chal`.
    fn issue_client_nonce(&mut self, scheme: AuthScheme) -> m2msim_codec::syncml::Chal {
        let nonce = self.services.nonces.next_nonce();
        if let Some(r) = self.record.as_mut() {
            r.client.nonce.clone_from(&nonce);
            self.services.directory.set_client_nonce(&self.device_id, &nonce);
        }
        auth::challenge(scheme, Some(&nonce))
    }

    /// Answers a message that failed authentication: 401/407 with a `Chal`, or, at the last allowed
    /// attempt, 401 alone and the end of the session.
    fn challenge(&mut self, verdict: Verdict, request: &[u8]) -> Step<()> {
        self.auth_failures += 1;
        let Some(hdr) = self.client_hdr.clone() else { return Ok(()) };
        let last = self.auth_failures >= self.config.max_auth_attempts;
        let code = if verdict == Verdict::Missing && !last {
            StatusCode::MISSING_CREDENTIALS
        } else {
            StatusCode::INVALID_CREDENTIALS
        };
        let mut status = Status::for_header(0, &hdr, code);
        if !last {
            let scheme = self.record.as_ref().map_or(AuthScheme::Md5, |r| r.client.scheme);
            let chal = if scheme == AuthScheme::Basic {
                auth::challenge(scheme, None)
            } else {
                self.issue_client_nonce(scheme)
            };
            status = status.with_chal(chal);
        }
        self.header_status = Some(Box::new(status));
        self.pending_statuses.clear();
        self.send(Kind::HeaderOnly, request)?;
        if last {
            self.end(SessionOutcome::Failed(FailReason::AuthenticationFailed));
        }
        Ok(())
    }

    /// Ends the session after a last message: header status `code`, Alert 1223, `Final`.
    fn abort(&mut self, code: StatusCode, reason: FailReason) -> Step<()> {
        if let Some(hdr) = &self.client_hdr {
            self.header_status = Some(Box::new(Status::for_header(0, hdr, code)));
            self.pending_statuses.clear();
            self.pending_alerts = vec![Alert::session_abort(0)];
            self.send(Kind::HeaderOnly, &[])?;
        }
        self.end(SessionOutcome::Failed(reason));
        Ok(())
    }

    fn end(&mut self, outcome: SessionOutcome) {
        if self.phase == Phase::Ended {
            return;
        }
        self.phase = Phase::Ended;
        // What got its status counts; what did not stays queued for the next session.
        let ids: Vec<OpId> = self.ops.keys().copied().collect();
        for id in ids {
            if self.ops.get(&id).is_some_and(|t| t.answered.first() == Some(&true)) {
                self.finalize(id);
            } else {
                self.ops.remove(&id);
                self.outputs.push_back(Output::Event(Event::OperationUnanswered(id)));
            }
        }
        self.queue.clear();
        self.in_flight.clear();
        self.outputs.push_back(Output::Ended { outcome });
    }

    // ---- the client's commands -----------------------------------------------------------------

    fn process(&mut self, msg: &SyncMl) -> Step<()> {
        let msg_id = msg.hdr.msg_id;
        // Our messages whose credentials this message refuses, wherever the header status stands in it.
        self.refused_now = msg
            .body
            .commands
            .iter()
            .filter_map(|c| match c {
                Command::Status(s) if (s.is_for_header() || s.cmd_ref == 0) && is_auth_refusal(s.code) => {
                    Some(s.msg_ref)
                }
                _ => None,
            })
            .collect();
        for c in &msg.body.commands {
            if let Some(inb) = &self.inbound
                && !matches!(c, Command::Status(_))
                && !matches!(c, Command::Alert(a) if a.code == AlertCode::NEXT_MESSAGE)
                && !matches!(c, Command::Results(r) if self.results_key(r) == inb.key)
            {
                self.interrupt_inbound();
            }
            match c {
                Command::Status(s) => self.on_status(s)?,
                Command::Results(r) => self.on_results(r, msg_id),
                Command::Alert(a) => self.on_alert(a, c, msg_id),
                Command::Replace(r) => {
                    self.record_dev_info(r);
                    self.answer(c, msg_id, StatusCode::OK);
                }
                Command::Other(_) => self.answer(c, msg_id, StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED),
                _ => self.answer(c, msg_id, StatusCode::COMMAND_NOT_ALLOWED),
            }
            if self.phase == Phase::Ended {
                break;
            }
        }
        Ok(())
    }

    /// Queues the status of a client command (unless it asked for none).
    fn answer(&mut self, c: &Command, msg_id: u32, code: StatusCode) {
        if !c.no_resp() {
            self.pending_statuses.push_back(Status::for_command(0, msg_id, c, code));
        }
    }

    fn record_dev_info(&mut self, r: &m2msim_codec::syncml::ItemCommand) {
        let mut info = self.dev_info.clone().unwrap_or_default();
        let mut any = false;
        for it in &r.items {
            let uri = it.source_uri().or_else(|| it.target_uri()).unwrap_or_default();
            let value = it.data.as_ref().and_then(|d| d.as_bytes()).map(String::from_utf8_lossy);
            let Some(value) = value else { continue };
            let slot = match uri.trim_start_matches("./") {
                "DevInfo/DevId" => &mut info.dev_id,
                "DevInfo/Man" => &mut info.man,
                "DevInfo/Mod" => &mut info.model,
                "DevInfo/DmV" => &mut info.dm_v,
                "DevInfo/Lang" => &mut info.lang,
                _ => continue,
            };
            *slot = value.into_owned();
            any = true;
        }
        if any {
            self.services.directory.record_dev_info(&self.device_id, &info);
            self.outputs.push_back(Output::Event(Event::DevInfo(info.clone())));
            self.dev_info = Some(info);
        }
    }

    fn on_alert(&mut self, a: &Alert, c: &Command, msg_id: u32) {
        let received =
            || ReceivedAlert { code: a.code, correlator: a.correlator.clone(), items: a.items.clone() };
        match a.code {
            AlertCode::SESSION_ABORT => {
                self.end(SessionOutcome::AbortedByClient);
                return;
            }
            AlertCode::GENERIC_ALERT => self.on_generic_alert(received()),
            AlertCode::NO_END_OF_DATA => self.cancel_outbound_object(),
            AlertCode::SERVER_INITIATED_MGMT | AlertCode::CLIENT_INITIATED_MGMT | AlertCode::NEXT_MESSAGE => {
            }
            _ => self.outputs.push_back(Output::Event(Event::Alert(received()))),
        }
        self.answer(c, msg_id, StatusCode::OK);
    }

    /// A Generic Alert: completes the accepted `Exec` with its `Correlator`, in flight or in the store.
    fn on_generic_alert(&mut self, alert: ReceivedAlert) {
        if let Some(corr) = alert.correlator.clone() {
            let in_flight = self.ops.iter_mut().find(|(_, t)| t.correlators.iter().any(|(_, c)| *c == corr));
            if let Some((_, t)) = in_flight {
                t.outcome.alert = Some(alert);
                return;
            }
            if let Some(mut outcome) = self.services.jobs.find_accepted(&self.device_id, &corr) {
                outcome.alert = Some(alert);
                outcome.state = OutcomeState::Done;
                self.services.jobs.completed(&self.device_id, outcome.clone());
                self.outputs.push_back(Output::Event(Event::OperationCompleted(outcome)));
                return;
            }
        }
        self.outputs.push_back(Output::Event(Event::Alert(alert)));
    }

    /// The client's Alert 1225: the object being sent is abandoned; its operation stays queued.
    fn cancel_outbound_object(&mut self) {
        let Some(op) = self.queue.front().filter(|o| o.chunk.is_some()).map(|o| o.op) else { return };
        self.queue.pop_front();
        self.in_flight.retain(|_, s| s.op != op);
        self.ops.remove(&op);
        self.outputs.push_back(Output::Event(Event::OperationUnanswered(op)));
    }

    fn on_status(&mut self, s: &Status) -> Step<()> {
        if s.is_for_header() || s.cmd_ref == 0 {
            return self.on_header_status(s);
        }
        if is_auth_refusal(s.code) && self.server_auth.is_some() && self.refused_now.contains(&s.msg_ref) {
            // The client refused the command because it refused OUR credentials (Protocol §2.4.1: a
            // status for every command of an unauthenticated message): not an answer to the command,
            // which goes out again with credentials over the nonce of the client's Chal.
            return Ok(());
        }
        let Some(sent) = self.in_flight.get(&(s.msg_ref, s.cmd_ref)) else { return Ok(()) };
        let (op, node, chunk_last) = (sent.op, sent.node, sent.chunk_last);
        let Some(t) = self.ops.get_mut(&op) else { return Ok(()) };
        if chunk_last == Some(false) {
            if s.code == StatusCode::CHUNK_ACCEPTED || s.code.is_success() {
                return Ok(());
            }
            // An intermediate chunk refused: the object is abandoned with that status.
            self.queue.retain(|o| o.op != op);
            t.fully_sent = true;
        }
        t.answered[node] = true;
        if t.is_get[node] && s.code.is_success() {
            t.results_needed[node] = true;
        }
        if node == 0 && t.outcome.status.is_none() {
            t.outcome.status = Some(s.code);
        }
        t.outcome.statuses.push(ReceivedStatus {
            index: node,
            cmd: s.cmd.clone(),
            code: s.code,
            target_refs: s.target_refs.clone(),
            source_refs: s.source_refs.clone(),
            items: s.items.clone(),
        });
        Ok(())
    }

    /// The client's status for one of our headers: its verdict on our credentials and its next nonce.
    fn on_header_status(&mut self, s: &Status) -> Step<()> {
        let rejected = is_auth_refusal(s.code);
        let Some(sa) = self.server_auth.as_mut() else {
            return if rejected { Err(FailReason::ServerAuthRejected) } else { Ok(()) };
        };
        if let Some(chal) = &s.chal {
            if let Some(n) = &chal.meta.next_nonce {
                sa.creds.nonce = n.bytes().to_vec();
                self.services.directory.set_server_nonce(&self.device_id, n.bytes());
            }
            if rejected && let Some(scheme) = AuthScheme::from_auth_type(&chal.auth_type()) {
                sa.scheme = scheme;
            }
        }
        if s.code == StatusCode::AUTHENTICATION_ACCEPTED {
            sa.send = false;
        } else if rejected {
            sa.send = true;
            sa.failures += 1;
            if sa.failures >= self.config.max_auth_attempts {
                return Err(FailReason::ServerAuthRejected);
            }
            self.rejected_msgs.push(s.msg_ref);
        }
        Ok(())
    }

    /// The commands of messages whose header the client rejected, and that it did not answer, go back to
    /// the front of the queue in their order.
    fn requeue_rejected(&mut self) {
        if self.rejected_msgs.is_empty() {
            return;
        }
        let msgs = std::mem::take(&mut self.rejected_msgs);
        let mut keys: Vec<(u32, u32)> =
            self.in_flight.keys().filter(|(m, _)| msgs.contains(m)).copied().collect();
        keys.sort_unstable();
        let mut again = Vec::new();
        for k in keys {
            let Some(sent) = self.in_flight.get(&k) else { continue };
            let unanswered = self.ops.get(&sent.op).is_some_and(|t| !t.answered[sent.node]);
            if !unanswered {
                continue;
            }
            if let Some(s) = self.in_flight.remove(&k)
                && let Some(ob) = s.resend
            {
                if let Some(t) = self.ops.get_mut(&ob.op) {
                    t.fully_sent = false;
                }
                again.push(*ob);
            }
        }
        for ob in again.into_iter().rev() {
            // A chunked object restarts at the refused chunk: drop what the queue still holds of it.
            self.queue.retain(|o| o.op != ob.op);
            self.in_flight.retain(|(m, _), s| !(s.op == ob.op && msgs.contains(m)));
            self.queue.push_front(ob);
        }
    }

    fn results_key(&self, r: &Results) -> (u32, u32) {
        (r.msg_ref.unwrap_or(self.next_msg_id.saturating_sub(1)), r.cmd_ref)
    }

    fn on_results(&mut self, r: &Results, msg_id: u32) {
        let key = self.results_key(r);
        let Some(sent) = self.in_flight.get(&key) else { return };
        let (op, node) = (sent.op, sent.node);
        let chunk_status = |code| Status {
            cmd_id: 0,
            msg_ref: msg_id,
            cmd_ref: r.cmd_id,
            cmd: "Results".to_owned(),
            target_refs: Vec::new(),
            source_refs: r.items.iter().filter_map(|i| i.source_uri().map(str::to_owned)).collect(),
            cred: None,
            chal: None,
            code,
            items: Vec::new(),
            extra: Vec::new(),
        };
        for item in &r.items {
            let format = m2msim_codec::syncml::model::effective_format(item.meta.as_ref(), r.meta.as_ref())
                .map(str::to_owned);
            if self.inbound.is_none() && item.more_data {
                let expected =
                    item.meta.as_ref().and_then(|m| m.size).or(r.meta.as_ref().and_then(|m| m.size));
                let mut first = item.clone();
                first.data = None;
                first.more_data = false;
                let discard = expected.is_some_and(|e| e > self.config.max_obj_size);
                self.inbound = Some(Box::new(Inbound {
                    key,
                    op,
                    node,
                    item: first,
                    format: format.clone(),
                    expected,
                    buf: Vec::new(),
                    text: true,
                    sent_size: 0,
                    discard,
                }));
                if discard {
                    self.pending_statuses.push_back(chunk_status(StatusCode::REQUESTED_SIZE_TOO_BIG));
                    if let Some(t) = self.ops.get_mut(&op) {
                        t.outcome.results_incomplete = true;
                    }
                    continue;
                }
            }
            let max = self.config.max_obj_size;
            if let Some(inb) = self.inbound.as_mut().filter(|i| i.key == key) {
                if !inb.discard {
                    if let Some(d) = &item.data {
                        inb.sent_size += chunk::size_as_sent(d, inb.format.as_deref()).unwrap_or(0);
                        match d {
                            m2msim_codec::syncml::Data::Text(t) => inb.buf.extend_from_slice(t.as_bytes()),
                            m2msim_codec::syncml::Data::Bytes(b) => {
                                inb.text = false;
                                inb.buf.extend_from_slice(b);
                            }
                            _ => inb.discard = true,
                        }
                    }
                    if inb.buf.len() as u64 > max || inb.expected.is_some_and(|e| inb.sent_size > e) {
                        inb.discard = true;
                        inb.buf = Vec::new();
                        self.pending_statuses.push_back(chunk_status(StatusCode::SIZE_MISMATCH));
                        if let Some(t) = self.ops.get_mut(&op) {
                            t.outcome.results_incomplete = true;
                        }
                        continue;
                    }
                }
                if item.more_data {
                    if !inb.discard {
                        self.pending_statuses.push_back(chunk_status(StatusCode::CHUNK_ACCEPTED));
                    }
                    continue;
                }
                // The last chunk.
                let Some(inb) = self.inbound.take() else { continue };
                let Some(t) = self.ops.get_mut(&op) else { continue };
                t.results_got[node] = true;
                if inb.discard {
                    continue;
                }
                let data = if inb.text {
                    String::from_utf8(inb.buf).map_or_else(
                        |e| m2msim_codec::syncml::Data::Bytes(e.into_bytes()),
                        m2msim_codec::syncml::Data::Text,
                    )
                } else {
                    m2msim_codec::syncml::Data::Bytes(inb.buf)
                };
                let whole = chunk::size_as_sent(&data, inb.format.as_deref());
                if let Some(e) = inb.expected
                    && whole != Some(e)
                    && inb.sent_size != e
                {
                    t.outcome.results_incomplete = true;
                    self.pending_statuses.push_back(chunk_status(StatusCode::SIZE_MISMATCH));
                    continue;
                }
                let mut it = inb.item;
                it.data = Some(data);
                t.outcome.results.push(it);
            } else if let Some(t) = self.ops.get_mut(&op) {
                t.outcome.results.push(item.clone());
                t.results_got[node] = true;
            }
        }
    }

    /// A chunked result was interrupted by another command: Alert 1225 (Protocol §2.2), partial data
    /// dropped.
    fn interrupt_inbound(&mut self) {
        let Some(inb) = self.inbound.take() else { return };
        let mut alert = Alert::new(0, AlertCode::NO_END_OF_DATA);
        if let Some(src) = inb.item.source_uri() {
            alert = alert.with_item(Item::default().with_target(src));
        }
        self.pending_alerts.push(alert);
        if let Some(t) = self.ops.get_mut(&inb.op) {
            t.results_got[inb.node] = true;
            t.outcome.results_incomplete = true;
        }
    }

    /// Reports every operation whose answer is complete.
    fn complete_ops(&mut self) {
        let done: Vec<OpId> = self
            .ops
            .iter()
            .filter(|(id, t)| t.complete() && self.inbound.as_ref().is_none_or(|i| i.op != **id))
            .map(|(id, _)| *id)
            .collect();
        for id in done {
            self.finalize(id);
        }
    }

    /// The client's package ended: what was sent and got its status is reported, what got none is left
    /// for the next session.
    fn close_client_package(&mut self) {
        let sent: Vec<OpId> = self.ops.iter().filter(|(_, t)| t.fully_sent).map(|(id, _)| *id).collect();
        for id in sent {
            if self.ops.get(&id).is_some_and(|t| t.answered[0]) {
                self.finalize(id);
            } else {
                self.ops.remove(&id);
                self.in_flight.retain(|_, s| s.op != id);
                self.outputs.push_back(Output::Event(Event::OperationUnanswered(id)));
            }
        }
    }

    fn finalize(&mut self, id: OpId) {
        let Some(t) = self.ops.remove(&id).map(|t| *t) else { return };
        self.in_flight.retain(|_, s| s.op != id);
        let mut outcome = t.outcome;
        if outcome.alert.is_none()
            && let Some((_, corr)) =
                t.correlators.iter().find(|(node, _)| outcome.status_of(*node) == Some(StatusCode::ACCEPTED))
        {
            outcome.state = OutcomeState::Accepted { correlator: corr.clone() };
        }
        self.services.jobs.completed(&self.device_id, outcome.clone());
        self.outputs.push_back(Output::Event(Event::OperationCompleted(outcome)));
    }

    // ---- the server's packages -----------------------------------------------------------------

    /// Starts a server package: takes the device's operations not yet sent in this session.
    fn start_package(&mut self) {
        self.package_has_commands = false;
        let ops = self.services.jobs.next_operations(&self.device_id);
        for op in ops {
            if !self.sent_ops.insert(op.op_id) {
                continue;
            }
            let id = op.op_id;
            match self.prepare(op) {
                Ok((ob, track)) => {
                    self.ops.insert(id, Box::new(track));
                    self.queue.push_back(ob);
                }
                Err(reason) => self.not_sent(id, reason),
            }
        }
    }

    fn not_sent(&mut self, id: OpId, reason: NotSentReason) {
        self.ops.remove(&id);
        let outcome = OperationOutcome::not_sent(id, reason);
        self.services.jobs.completed(&self.device_id, outcome.clone());
        self.outputs.push_back(Output::Event(Event::OperationCompleted(outcome)));
    }

    /// Checks an operation and readies it for the queue (see [`crate::operation`] for the rules).
    fn prepare(&self, op: Operation) -> Result<(Outbound, OpTrack), NotSentReason> {
        let mut command = op.command;
        check(&command, 0)?;
        let mut is_get = Vec::new();
        let mut execs = Vec::new();
        walk(&mut command, &mut |i, c| {
            is_get.push(matches!(c, Command::Get(_)));
            if let Command::Add(ic)
            | Command::Copy(ic)
            | Command::Delete(ic)
            | Command::Get(ic)
            | Command::Replace(ic) = c
            {
                ic.items.iter_mut().for_each(|it| it.more_data = false);
            }
            if let Command::Exec(x) = c {
                x.item.more_data = false;
                if self.version == DmVersion::V1_1 {
                    x.correlator = None;
                } else {
                    let corr = x.correlator.get_or_insert_with(|| {
                        if i == 0 { op.op_id.to_string() } else { format!("{}.{i}", op.op_id) }
                    });
                    execs.push((i, corr.clone()));
                }
            }
        });
        if let (Some(max), Some(size)) = (self.client_max_obj, chunk::object_size(&command))
            && size > max
        {
            return Err(NotSentReason::ExceedsMaxObjSize);
        }
        // Can it be written in this session at all? (A large object is probed with a small piece.)
        let probe_msg = SyncMl::new(SyncHdr::new(self.version, "1", 1, "", ""));
        let probe = match chunk::split(&command) {
            Some((template, cur)) if cur.data.len() > 4096 => {
                chunk::make_chunk(&template, &cur, chunk::align(&cur, 3))
            }
            _ => command.clone(),
        };
        probe_msg.command_len(&probe, &self.wire).map_err(|_| NotSentReason::Unencodable)?;
        let n = is_get.len();
        let track = OpTrack {
            outcome: OperationOutcome::new(op.op_id),
            is_get,
            answered: vec![false; n],
            results_needed: vec![false; n],
            results_got: vec![false; n],
            correlators: execs,
            fully_sent: false,
        };
        Ok((Outbound { op: op.op_id, command, chunk: None }, track))
    }

    /// The header of our next message.
    fn our_header(&self, msg_id: u32) -> SyncHdr {
        let mut hdr = self.client_hdr.as_ref().map(|h| h.reply(msg_id)).unwrap_or_default();
        hdr.resp_uri.clone_from(&self.config.resp_uri);
        hdr.meta = Some(
            Meta::new()
                .with_max_msg_size(self.config.max_msg_size)
                .with_max_obj_size(self.config.max_obj_size),
        );
        if self.phase == Phase::Active
            && let Some(sa) = &self.server_auth
            && sa.send
            && let Some(cred) = auth::server_cred(&sa.creds, sa.scheme)
        {
            if sa.scheme == AuthScheme::Md5 {
                hdr.source.loc_name = Some(sa.creds.name.clone());
            }
            hdr.cred = Some(cred);
        }
        hdr
    }

    /// Composes, encodes and emits our next message. `request` is the client message it answers (kept
    /// for retries).
    fn send(&mut self, kind: Kind, request: &[u8]) -> Step<()> {
        let msg_id = self.next_msg_id;
        self.next_msg_id += 1;
        let wire = self.wire;
        let mut limit = self.client_max_msg.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        if wire.profile.string_table {
            // String-table references depend on the whole message: sizes are estimates, keep a margin.
            limit -= limit / 10;
        }
        let mut msg = SyncMl::new(self.our_header(msg_id));
        let mut next_id = 1u32;
        let push = |msg: &mut SyncMl, mut c: Command, next_id: &mut u32| {
            c.set_cmd_id(*next_id);
            *next_id += 1;
            msg.body.commands.push(c);
        };
        if let Some(s) = self.header_status.take() {
            push(&mut msg, Command::Status(*s), &mut next_id);
        }
        let enc = |e| FailReason::Encode(e);
        let mut used = msg.encoded_len(&wire).map_err(enc)?;
        let mut progress = false;
        for a in std::mem::take(&mut self.pending_alerts) {
            let mut c = Command::Alert(a);
            c.set_cmd_id(next_id);
            used += msg.command_len(&c, &wire).map_err(enc)?;
            push(&mut msg, c, &mut next_id);
            progress = true;
        }
        let ask = if kind == Kind::AskNext {
            let a = Command::Alert(Alert::next_message(0));
            used += msg.command_len(&a, &wire).map_err(enc)?;
            Some(a)
        } else {
            None
        };
        if kind != Kind::HeaderOnly {
            while let Some(s) = self.pending_statuses.front() {
                let mut c = Command::Status(s.clone());
                c.set_cmd_id(next_id);
                let len = msg.command_len(&c, &wire).map_err(enc)?;
                if progress && used + len > limit {
                    break;
                }
                used += len;
                self.pending_statuses.pop_front();
                push(&mut msg, c, &mut next_id);
                progress = true;
            }
        }
        let mut placed = Vec::new();
        let mut placed_any = false;
        if kind == Kind::Package && self.pending_statuses.is_empty() {
            while let Some(ob) = self.queue.pop_front() {
                // "Empty" enough to give up on a command that does not fit: no command yet, and at most one
                // status besides the header's (the one for the client's Alert 1222 is always there), so
                // that the next message would have no more room.
                let minimal = !placed_any && msg.body.commands.len() <= 2;
                match self.place(&msg, ob, &mut next_id, limit.saturating_sub(used), minimal)? {
                    Placement::Placed { command, len, sent, rest } => {
                        used += len;
                        msg.body.commands.push(*command);
                        placed.extend(sent);
                        placed_any = true;
                        self.package_has_commands = true;
                        if let Some(rest) = rest {
                            // A chunk ends its message; the rest follows in the next one.
                            self.queue.push_front(*rest);
                            break;
                        }
                    }
                    Placement::Later(ob) => {
                        self.queue.push_front(*ob);
                        break;
                    }
                    Placement::NotSent(op, reason) => self.not_sent(op, reason),
                }
            }
        }
        if let Some(a) = ask {
            push(&mut msg, a, &mut next_id);
        }
        let final_ = match kind {
            Kind::Package => self.queue.is_empty() && self.pending_statuses.is_empty(),
            Kind::AskNext => false,
            Kind::HeaderOnly => true,
        };
        msg.body.final_ = final_;
        let body = msg.encode(&wire).map_err(enc)?;
        for (key, sent) in placed.into_iter().map(|(cmd_id, s)| ((msg_id, cmd_id), s)) {
            if let Some(t) = self.ops.get_mut(&sent.op)
                && sent.chunk_last != Some(false)
                && sent.node == 0
            {
                t.fully_sent = !self.queue.iter().any(|o| o.op == sent.op);
            }
            self.in_flight.insert(key, sent);
        }
        let hmac = match &self.server_auth {
            Some(sa) if sa.scheme == AuthScheme::Hmac && self.phase == Phase::Active => {
                Some(auth::server_hmac(&sa.creds, &body))
            }
            _ => None,
        };
        let out = OutgoingMessage {
            body,
            content_type: wire.encoding.content_type(),
            hmac,
            target_uri: self.client_hdr.as_ref().map(|h| h.source.loc_uri.clone()).unwrap_or_default(),
            msg_id,
            final_,
        };
        self.last_exchange = Some((Fingerprint::of(request), out.clone()));
        self.outputs.push_back(Output::Message(out));
        if kind == Kind::Package {
            self.package_open = !final_;
            if final_ && !self.package_has_commands {
                self.end(SessionOutcome::Completed);
            }
        }
        Ok(())
    }

    /// Fits the queue's front command into the `room` bytes left (`empty`: nothing but the header status
    /// is in the message yet).
    fn place(
        &self,
        msg: &SyncMl,
        mut ob: Outbound,
        next_id: &mut u32,
        room: usize,
        empty: bool,
    ) -> Step<Placement> {
        let enc = |e| FailReason::Encode(e);
        // Only a client refusing our credentials makes us send a command again, and only a server that
        // sends credentials can be refused (without, a refusal fails the session): the copy to resend is
        // kept only then (it is as large as the command).
        let resendable = self.server_auth.is_some();
        if ob.chunk.is_none() {
            let big = chunk::object_size(&ob.command)
                .is_some_and(|s| usize::try_from(s).map_or(true, |s| s >= room));
            if !big {
                let mut c = ob.command.clone();
                let mut ids = Vec::new();
                let first_id = *next_id;
                let mut n = first_id;
                walk(&mut c, &mut |_, c| {
                    c.set_cmd_id(n);
                    ids.push(n);
                    n += 1;
                });
                let len = msg.command_len(&c, &self.wire).map_err(enc)?;
                if len <= room {
                    *next_id = n;
                    let sent = ids
                        .iter()
                        .enumerate()
                        .map(|(node, id)| {
                            let resend = (node == 0 && resendable).then(|| Box::new(ob.clone()));
                            (*id, Sent { op: ob.op, node, chunk_last: None, resend })
                        })
                        .collect();
                    return Ok(Placement::Placed { command: Box::new(c), len, sent, rest: None });
                }
                if !empty {
                    return Ok(Placement::Later(Box::new(ob)));
                }
            }
            match chunk::split(&ob.command) {
                Some((template, cur)) => {
                    ob.command = template;
                    ob.chunk = Some(cur);
                }
                None => return Ok(Placement::NotSent(ob.op, NotSentReason::TooLarge)),
            }
        }
        let Some(cur) = ob.chunk.as_ref() else { return Ok(Placement::Later(Box::new(ob))) };
        // The overhead of a chunk without data, then as much data as fits.
        let id = *next_id;
        let mut probe = chunk::make_chunk(&ob.command, cur, 0);
        set_more_data(&mut probe);
        probe.set_cmd_id(id);
        let overhead = msg.command_len(&probe, &self.wire).map_err(enc)?;
        let remaining = cur.data.len().saturating_sub(cur.offset);
        let raw = self.wire.encoding == Encoding::Wbxml
            && chunk::is_bin(ob.command.items().first().and_then(|i| ob.command.format_of(i)));
        let avail = room.saturating_sub(overhead);
        let mut n = match &cur.data {
            chunk::ChunkData::Bytes(_) if raw => avail.saturating_sub(6),
            chunk::ChunkData::Bytes(_) => avail / 4 * 3,
            chunk::ChunkData::Text(_) => avail.saturating_sub(2),
        };
        n = chunk::align(cur, n.min(remaining));
        loop {
            if n == 0 {
                return Ok(if empty {
                    Placement::NotSent(ob.op, NotSentReason::TooLarge)
                } else {
                    Placement::Later(Box::new(ob))
                });
            }
            let mut c = chunk::make_chunk(&ob.command, cur, n);
            c.set_cmd_id(id);
            let len = msg.command_len(&c, &self.wire).map_err(enc)?;
            if len <= room {
                *next_id = id + 1;
                let last = n >= remaining;
                let resend = resendable.then(|| Box::new(ob.clone()));
                let sent = vec![(id, Sent { op: ob.op, node: 0, chunk_last: Some(last), resend })];
                let rest = (!last).then(|| {
                    let mut r = ob;
                    if let Some(cur) = r.chunk.as_mut() {
                        cur.offset += n;
                    }
                    Box::new(r)
                });
                return Ok(Placement::Placed { command: Box::new(c), len, sent, rest });
            }
            let over = len - room;
            n = chunk::align(cur, n.saturating_sub((over * 3 / 4).max(1)));
        }
    }
}

/// What identifies a client message for retry detection: its length and SHA-256.
///
/// Decision: an idle session keeps this instead of the message itself (its bytes are in the transcript);
/// two different messages of the same length with the same SHA-256 are not a practical concern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    len: usize,
    sha256: [u8; 32],
}

impl Fingerprint {
    fn of(body: &[u8]) -> Self {
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, body).as_ref());
        Self { len: body.len(), sha256 }
    }
}

/// Where the front of the queue went.
enum Placement {
    /// Into the message: the command (a chunk, maybe), its length, the sent entries by `CmdID`, and the
    /// rest of a chunked object.
    Placed { command: Box<Command>, len: usize, sent: Vec<(u32, Sent)>, rest: Option<Box<Outbound>> },
    /// Into a later message.
    Later(Box<Outbound>),
    /// Nowhere.
    NotSent(OpId, NotSentReason),
}

/// 401 or 407: a refusal of credentials (Protocol §2.4).
fn is_auth_refusal(code: StatusCode) -> bool {
    code == StatusCode::INVALID_CREDENTIALS || code == StatusCode::MISSING_CREDENTIALS
}

fn set_more_data(c: &mut Command) {
    if let Command::Add(ic) | Command::Replace(ic) = c
        && let Some(i) = ic.items.first_mut()
    {
        i.more_data = true;
    }
}

/// Checks what an operation may contain (see [`crate::operation`]).
fn check(c: &Command, depth: usize) -> Result<(), NotSentReason> {
    if c.no_resp() {
        return Err(NotSentReason::NoResp);
    }
    match c {
        Command::Add(_)
        | Command::Copy(_)
        | Command::Delete(_)
        | Command::Exec(_)
        | Command::Get(_)
        | Command::Replace(_) => Ok(()),
        Command::Alert(a) if a.code.is_ui() => Ok(()),
        Command::Atomic(g) | Command::Sequence(g) => {
            if g.commands.is_empty() || depth >= m2msim_codec::syncml::model::MAX_GROUP_DEPTH {
                return Err(NotSentReason::Empty);
            }
            g.commands.iter().try_for_each(|c| check(c, depth + 1))
        }
        Command::Alert(_) | Command::Results(_) | Command::Status(_) | Command::Other(_) => {
            Err(NotSentReason::NotAllowed)
        }
    }
}

/// Calls `f` on every command depth first with its index (0 = `c` itself). Depth is bounded by [`check`].
fn walk(c: &mut Command, f: &mut impl FnMut(usize, &mut Command)) {
    fn go(c: &mut Command, i: &mut usize, f: &mut impl FnMut(usize, &mut Command)) {
        f(*i, c);
        *i += 1;
        if let Command::Atomic(g) | Command::Sequence(g) = c {
            for c in &mut g.commands {
                go(c, i, f);
            }
        }
    }
    let mut i = 0;
    go(c, &mut i, f);
}

//! The DM leg of S3-090905 (steps 13 and 18–20): the M2ME's [`DmClient`] and the DPF, joined by a
//! [`DmLink`] (the transport seam).
//!
//! - [`DmLink`]: carries one client message to the DPF and brings back its answer (an HTTP POST in DM's
//!   HTTP binding). [`HttpDpf`] is the default: the DPF is a real `m2msim_dm_server::net` server on
//!   127.0.0.1 (its own tokio runtime, a SQLite [`Store`]), and each client message is POSTed to the URI
//!   the client engine names (the account's `Addr`, then the server's `RespURI`). [`InProcessDpf`] hosts
//!   the DPF's [`ServerSession`]s itself, on a virtual clock, like `dm-server/tests/pair.rs`.
//! - [`DpfJobs`]: the DPF's staged job plan: a stage goes out when every operation of the previous one is
//!   done and succeeded (for an `Exec`, when its Generic Alert 1226 reported Result 200). So Install waits
//!   for the `Data` to be confirmed, and Activate for Install's alert; a failure halts the plan
//!   ([`DpfJobs::halted`]). Operations sent but not answered (a broken session) stay queued and go out in
//!   the next session. Its operations live in an in-memory queue (in-process) or in the server's store
//!   ([`DpfJobs::on_store`]); [`StagedStore`] is the [`Store`] the HTTP server runs on: the store, with
//!   the next stage enqueued (through the store) each time the engine asks for a device's operations.
//! - [`run_session`]: drives one client-initiated session to its end, showing each exchange to a tap
//!   ([`Hop`]) that may lose a message (to break the session).
//! - [`summarize`], [`render`]: a one-line summary of a DM message; its full XML (and hex for WBXML).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use m2msim_codec::mo::m2msimmobj::ResultCode;
use m2msim_codec::syncml::tree::{Profile, XmlStyle};
use m2msim_codec::syncml::{AlertCode, Command, Data, DevInfo, Encoding, Item, SyncMl, Wire};
use m2msim_codec::xml::Mode;
use m2msim_dm_client::session::{self as client, DmClient, Outcome as ClientOutcome, Transmit};
use m2msim_dm_client::tree::DmTime;
use m2msim_dm_server::directory::{DeviceRecord, InMemoryDirectory};
use m2msim_dm_server::jobs::{InMemoryJobQueue, OperationSource};
use m2msim_dm_server::net::{self as server_net, ServerConfig, ServerHandle};
use m2msim_dm_server::nonce::SeededNonces;
use m2msim_dm_server::operation::{OpId, Operation, OperationOutcome, OutcomeState, ReceivedAlert};
use m2msim_dm_server::session::{
    self as server, IncomingMessage, ServerSession, SessionConfig, SessionOutcome,
};
use m2msim_dm_server::store::{
    DeviceSummary, OperationRecord, SessionRecord, Store, StoreJobs, StoreResult, TranscriptEntry, Write,
};

/// The DPF's answer to one client message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmResponse {
    /// The body.
    pub body: Vec<u8>,
    /// The `x-syncml-hmac` header, if any.
    pub hmac: Option<String>,
    /// How it came back, for the report (`HTTP 200`); `None` in-process.
    pub via: Option<String>,
}

/// Why a message did not get through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The DPF's session had already ended.
    #[error("the DPF's session has ended")]
    SessionEnded,
    /// The transport failed (connection refused, the exchange broke off).
    #[error("transport failure: {0}")]
    Transport(String),
    /// The server answered with a status other than 2xx (its short reason as the body).
    #[error("HTTP {status}: {reason}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The body of the answer (the server's short reason).
        reason: String,
    },
}

/// The transport seam between the M2ME's DM client and the DPF (OMA DM 1.2.1 HTTP binding: one POST per
/// client message, the server's message as the response).
pub trait DmLink {
    /// What carries the messages (for the report).
    fn name(&self) -> String;

    /// The DPF's address, as the bootstrap's DMAcc `Addr` gives it to the M2ME.
    fn address(&self) -> String;

    /// Where a client message goes, for the report (`POST http://…`); `None` when there is no address.
    fn route(&self, t: &Transmit) -> Option<String>;

    /// Sends one client message; `Ok(None)` when the exchange closed without a DM body.
    ///
    /// # Errors
    /// [`LinkError`] when the message did not get through.
    fn post(&mut self, t: &Transmit) -> Result<Option<DmResponse>, LinkError>;

    /// The client's session is over: the server side ends what is left of its session (an idle session
    /// times out).
    fn end_session(&mut self);
}

/// The DPF hosted in-process: one [`ServerSession`] at a time on a virtual clock (1 s per message).
pub struct InProcessDpf {
    address: String,
    directory: InMemoryDirectory,
    jobs: DpfJobs,
    config: SessionConfig,
    session: Option<ServerSession>,
    seed: u64,
    base: Instant,
    secs: u64,
    /// Every server event, in order.
    pub events: Vec<server::Event>,
    /// How each server session ended.
    pub outcomes: Vec<SessionOutcome>,
}

impl std::fmt::Debug for InProcessDpf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessDpf").field("outcomes", &self.outcomes).finish_non_exhaustive()
    }
}

impl InProcessDpf {
    /// A DPF at `address` with its device directory, its job store and session settings; `seed` seeds
    /// its nonces.
    #[must_use]
    pub fn new(
        address: &str,
        directory: InMemoryDirectory,
        jobs: DpfJobs,
        config: SessionConfig,
        seed: u64,
    ) -> Self {
        Self {
            address: address.to_owned(),
            directory,
            jobs,
            config,
            session: None,
            seed,
            base: Instant::now(),
            secs: 0,
            events: Vec::new(),
            outcomes: Vec::new(),
        }
    }

    fn tick(&mut self) -> Instant {
        self.secs += 1;
        self.base + Duration::from_secs(self.secs)
    }

    fn drain(&mut self) -> Option<DmResponse> {
        let mut reply = None;
        let s = self.session.as_mut()?;
        while let Some(o) = s.poll_output() {
            match o {
                server::Output::Message(m) => {
                    reply = Some(DmResponse { body: m.body, hmac: m.hmac, via: None });
                }
                server::Output::Event(e) => self.events.push(e),
                server::Output::Ended { outcome } => self.outcomes.push(outcome),
            }
        }
        reply
    }
}

impl DmLink for InProcessDpf {
    fn name(&self) -> String {
        "in-process (client and server engines joined directly, virtual clock)".into()
    }

    fn address(&self) -> String {
        self.address.clone()
    }

    fn route(&self, _: &Transmit) -> Option<String> {
        None
    }

    fn post(&mut self, t: &Transmit) -> Result<Option<DmResponse>, LinkError> {
        let now = self.tick();
        if self.session.as_ref().is_none_or(ServerSession::is_ended) {
            self.seed += 1;
            let services = server::Services {
                directory: Box::new(self.directory.clone()),
                jobs: Box::new(self.jobs.clone()),
                nonces: Box::new(SeededNonces::new(self.seed.to_be_bytes().to_vec())),
            };
            self.session = Some(ServerSession::new(self.config.clone(), services, now));
        }
        let message =
            IncomingMessage { body: &t.body, content_type: Some(t.content_type), hmac: t.hmac.as_deref() };
        if let Some(s) = self.session.as_mut() {
            s.handle_input(server::Input::Message { now, message }).map_err(|_| LinkError::SessionEnded)?;
        }
        Ok(self.drain())
    }

    fn end_session(&mut self) {
        let Some(s) = self.session.as_mut() else { return };
        if s.is_ended() {
            return;
        }
        if let Some(t) = s.poll_timeout() {
            let _ = s.handle_input(server::Input::Timeout { now: t });
        }
        self.drain();
    }
}

/// One operation the DPF planned: a label for the report and its command.
#[derive(Debug, Clone)]
pub struct Planned {
    /// What it is (`Exec Install`).
    pub label: String,
    /// The command.
    pub command: Command,
}

#[derive(Debug, Default)]
struct Plan {
    stages: VecDeque<Vec<Planned>>,
    current: Vec<(OpId, String)>,
    released: Vec<(OpId, String)>,
    halted: Option<(String, String)>,
}

/// Where [`DpfJobs`] keeps its operations.
#[derive(Clone)]
enum Queue {
    /// An in-memory queue (the in-process DPF's).
    Memory(InMemoryJobQueue),
    /// The DM server's store (the HTTP DPF's).
    Store(Arc<dyn Store>),
}

/// The DPF's staged job plan (see the module docs). Clones share the same plan and queue.
#[derive(Clone)]
pub struct DpfJobs {
    queue: Queue,
    device: String,
    plan: Arc<Mutex<Plan>>,
}

impl std::fmt::Debug for DpfJobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpfJobs").field("device", &self.device).field("plan", &self.plan).finish()
    }
}

/// The Result code a Generic Alert carried (its first item's Data).
#[must_use]
pub fn alert_result(o: &OperationOutcome) -> Option<ResultCode> {
    let item = o.alert.as_ref()?.items.first()?;
    ResultCode::from_text(item.data.as_ref()?.as_bytes()?)
}

/// Why an operation's outcome is a failure (`None`: it succeeded).
fn failure(o: &OperationOutcome) -> Option<String> {
    if let Some(r) = alert_result(o) {
        return (!r.is_success()).then(|| {
            format!("Result {}{}", r.code(), r.name().map(|n| format!(" ({n})")).unwrap_or_default())
        });
    }
    if o.succeeded() {
        return None;
    }
    Some(match (&o.state, o.status) {
        (OutcomeState::NotSent { reason }, _) => format!("not sent ({reason:?})"),
        (_, Some(s)) => format!("status {}", s.0),
        (_, None) => "no status".into(),
    })
}

impl DpfJobs {
    /// An empty plan for `device` on an in-memory queue (the in-process DPF's [`OperationSource`]).
    #[must_use]
    pub fn new(device: &str) -> Self {
        Self {
            queue: Queue::Memory(InMemoryJobQueue::new()),
            device: device.to_owned(),
            plan: Arc::default(),
        }
    }

    /// An empty plan for `device` whose operations are enqueued in `store` (a DM server's store; serve it
    /// through [`StagedStore`] so that the stages are released as the sessions run).
    #[must_use]
    pub fn on_store(device: &str, store: Arc<dyn Store>) -> Self {
        Self { queue: Queue::Store(store), device: device.to_owned(), plan: Arc::default() }
    }

    /// Queues one operation; `Err` is why the store refused it.
    fn push(&self, command: Command) -> Result<OpId, String> {
        match &self.queue {
            Queue::Memory(q) => Ok(q.push(&self.device, command)),
            Queue::Store(s) => s.enqueue(&self.device, &command).map_err(|e| format!("store: {e}")),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Plan> {
        self.plan.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends stages to the plan (each released when the previous one succeeded).
    pub fn plan(&self, stages: Vec<Vec<Planned>>) {
        self.lock().stages.extend(stages);
        self.advance();
    }

    /// The outcome of an operation (accepted, done or not sent), once the DPF has one.
    #[must_use]
    pub fn outcome(&self, id: OpId) -> Option<OperationOutcome> {
        match &self.queue {
            Queue::Memory(q) => q.outcome(id),
            Queue::Store(s) => s.operation(id).ok().flatten().and_then(|r| r.outcome),
        }
    }

    /// The operations released so far, with their labels.
    #[must_use]
    pub fn released(&self) -> Vec<(OpId, String)> {
        self.lock().released.clone()
    }

    /// The operation that failed and why, when the plan halted.
    #[must_use]
    pub fn halted(&self) -> Option<(String, String)> {
        self.lock().halted.clone()
    }

    /// True when every planned operation is done and succeeded.
    #[must_use]
    pub fn finished(&self) -> bool {
        self.advance();
        let p = self.lock();
        p.halted.is_none() && p.stages.is_empty() && p.current.is_empty()
    }

    /// Releases the next stage when the current one is complete; halts on a failure.
    fn advance(&self) {
        let mut p = self.lock();
        loop {
            if p.halted.is_some() {
                return;
            }
            let mut complete = true;
            for (id, label) in &p.current {
                match self.outcome(*id) {
                    Some(o)
                        if o.state == OutcomeState::Done
                            || matches!(o.state, OutcomeState::NotSent { .. }) =>
                    {
                        if let Some(why) = failure(&o) {
                            p.halted = Some((label.clone(), why));
                            return;
                        }
                    }
                    _ => complete = false,
                }
            }
            if !complete {
                return;
            }
            p.current.clear();
            let Some(stage) = p.stages.pop_front() else { return };
            for op in stage {
                match self.push(op.command) {
                    Ok(id) => {
                        p.current.push((id, op.label.clone()));
                        p.released.push((id, op.label));
                    }
                    Err(why) => {
                        p.halted = Some((op.label, why));
                        return;
                    }
                }
            }
        }
    }
}

impl DpfJobs {
    fn source(&self) -> Box<dyn OperationSource> {
        match &self.queue {
            Queue::Memory(q) => Box::new(q.clone()),
            Queue::Store(s) => Box::new(StoreJobs(s.clone())),
        }
    }
}

impl OperationSource for DpfJobs {
    fn next_operations(&mut self, device_id: &str) -> Vec<Operation> {
        self.advance();
        self.source().next_operations(device_id)
    }

    fn completed(&mut self, device_id: &str, outcome: OperationOutcome) {
        self.source().completed(device_id, outcome);
    }

    fn find_accepted(&mut self, device_id: &str, correlator: &str) -> Option<OperationOutcome> {
        self.source().find_accepted(device_id, correlator)
    }
}

/// The [`Store`] the HTTP DPF's server runs on: `inner` as it is, except that before the engine takes a
/// device's operations ([`Store::next_operations`], at the start of each server package) the plan's next
/// stage is enqueued in `inner` when the previous one succeeded. The engine stays unaware of the plan, and
/// the plan learns outcomes only from what the engine stored.
pub struct StagedStore {
    inner: Arc<dyn Store>,
    jobs: DpfJobs,
}

impl std::fmt::Debug for StagedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagedStore").field("jobs", &self.jobs).finish_non_exhaustive()
    }
}

impl StagedStore {
    /// `inner` releasing the stages of `jobs` (which must be [`DpfJobs::on_store`] the same store).
    #[must_use]
    pub fn new(inner: Arc<dyn Store>, jobs: DpfJobs) -> Self {
        Self { inner, jobs }
    }
}

impl Store for StagedStore {
    fn put_device(&self, record: &DeviceRecord) -> StoreResult<()> {
        self.inner.put_device(record)
    }
    fn device(&self, device_id: &str) -> StoreResult<Option<DeviceSummary>> {
        self.inner.device(device_id)
    }
    fn devices(&self) -> StoreResult<Vec<DeviceSummary>> {
        self.inner.devices()
    }
    fn set_client_nonce(&self, device_id: &str, nonce: &[u8]) -> StoreResult<()> {
        self.inner.set_client_nonce(device_id, nonce)
    }
    fn set_server_nonce(&self, device_id: &str, nonce: &[u8]) -> StoreResult<()> {
        self.inner.set_server_nonce(device_id, nonce)
    }
    fn record_dev_info(&self, device_id: &str, info: &DevInfo) -> StoreResult<()> {
        self.inner.record_dev_info(device_id, info)
    }
    fn record_wire(&self, device_id: &str, dm_version: &str, wire: &Wire) -> StoreResult<()> {
        self.inner.record_wire(device_id, dm_version, wire)
    }
    fn enqueue(&self, device_id: &str, command: &Command) -> StoreResult<OpId> {
        self.inner.enqueue(device_id, command)
    }
    fn next_operations(&self, device_id: &str) -> StoreResult<Vec<Operation>> {
        if device_id == self.jobs.device {
            self.jobs.advance();
        }
        self.inner.next_operations(device_id)
    }
    fn complete(&self, device_id: &str, outcome: &OperationOutcome) -> StoreResult<()> {
        self.inner.complete(device_id, outcome)
    }
    fn find_accepted(&self, device_id: &str, correlator: &str) -> StoreResult<Option<OperationOutcome>> {
        self.inner.find_accepted(device_id, correlator)
    }
    fn operation(&self, op_id: OpId) -> StoreResult<Option<OperationRecord>> {
        self.inner.operation(op_id)
    }
    fn operations(&self, device_id: Option<&str>) -> StoreResult<Vec<OperationRecord>> {
        self.inner.operations(device_id)
    }
    fn record_alert(&self, device_id: &str, session: Option<i64>, alert: &ReceivedAlert) -> StoreResult<()> {
        self.inner.record_alert(device_id, session, alert)
    }
    fn alerts(&self, device_id: &str) -> StoreResult<Vec<ReceivedAlert>> {
        self.inner.alerts(device_id)
    }
    fn open_session(&self, device_id: &str, session_id: &str) -> StoreResult<i64> {
        self.inner.open_session(device_id, session_id)
    }
    fn close_session(&self, id: i64, outcome: &str) -> StoreResult<()> {
        self.inner.close_session(id, outcome)
    }
    fn append_message(&self, id: i64, entry: &TranscriptEntry) -> StoreResult<()> {
        self.inner.append_message(id, entry)
    }
    fn sessions(&self, device_id: Option<&str>) -> StoreResult<Vec<SessionRecord>> {
        self.inner.sessions(device_id)
    }
    fn transcript(&self, id: i64) -> StoreResult<Vec<TranscriptEntry>> {
        self.inner.transcript(id)
    }
    fn reserve_session_id(&self) -> StoreResult<i64> {
        self.inner.reserve_session_id()
    }
    fn pending_operations(&self, device_id: &str) -> StoreResult<Vec<Operation>> {
        if device_id == self.jobs.device {
            self.jobs.advance();
        }
        self.inner.pending_operations(device_id)
    }
    fn apply(&self, writes: &[Write]) -> StoreResult<()> {
        self.inner.apply(writes)
    }
}

/// The DPF as a real DM server on loopback: `m2msim_dm_server::net::spawn` on 127.0.0.1 (an ephemeral
/// port) with its own tokio runtime; the M2ME's messages are POSTed to it one HTTP/1.1 exchange each
/// (`m2msim_dm_server::http::send`), as the client engine addresses them.
pub struct HttpDpf {
    runtime: tokio::runtime::Runtime,
    server: Option<ServerHandle>,
    url: String,
    store_note: String,
}

impl std::fmt::Debug for HttpDpf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpDpf").field("url", &self.url).finish_non_exhaustive()
    }
}

impl HttpDpf {
    /// Starts a server on `store` (a [`StagedStore`] for the scenario) with the engine's `session`
    /// settings; `store_note` says where the store lives (for the report).
    ///
    /// # Errors
    /// [`LinkError::Transport`] when the runtime or the listener cannot start.
    pub fn start(store: Arc<dyn Store>, session: SessionConfig, store_note: &str) -> Result<Self, LinkError> {
        let fail = |e: &dyn std::fmt::Display| LinkError::Transport(format!("starting the DPF: {e}"));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| fail(&e))?;
        let config = ServerConfig { session, ..ServerConfig::default() };
        let server = runtime.block_on(server_net::spawn(config, store)).map_err(|e| fail(&e))?;
        let url = server.url();
        Ok(Self { runtime, server: Some(server), url, store_note: store_note.to_owned() })
    }

    /// The DM endpoint's URL (`http://127.0.0.1:<port>/dm`).
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for HttpDpf {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            self.runtime.block_on(s.shutdown());
        }
    }
}

impl DmLink for HttpDpf {
    fn name(&self) -> String {
        format!("HTTP on loopback: m2msim-dm-server at {} ({})", self.url, self.store_note)
    }

    fn address(&self) -> String {
        self.url.clone()
    }

    fn route(&self, t: &Transmit) -> Option<String> {
        Some(format!("POST {}", t.uri))
    }

    fn post(&mut self, t: &Transmit) -> Result<Option<DmResponse>, LinkError> {
        let mut headers = vec![("content-type", t.content_type)];
        if let Some(h) = t.hmac.as_deref() {
            headers.push((server_net::HMAC_HEADER, h));
        }
        let r = self
            .runtime
            .block_on(m2msim_dm_server::http::send("POST", &t.uri, &headers, t.body.clone(), None))
            .map_err(|e| LinkError::Transport(format!("POST {}: {e}", t.uri)))?;
        if !(200..300).contains(&r.status) {
            let reason = String::from_utf8_lossy(&r.body).chars().take(200).collect();
            return Err(LinkError::Status { status: r.status, reason });
        }
        // A 2xx without a DM body (the server's session ended without a message): no answer.
        let dm = r.header("content-type").is_some_and(|c| c.starts_with("application/vnd.syncml.dm"));
        Ok(dm.then(|| DmResponse {
            hmac: r.header(server_net::HMAC_HEADER).map(str::to_owned),
            via: Some(format!("HTTP {}", r.status)),
            body: r.body,
        }))
    }

    fn end_session(&mut self) {
        // A session the client left (a broken connection) times out on the server (its idle timeout); a
        // completed one has already ended there.
    }
}

/// Which way a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// M2ME → DPF.
    Up,
    /// DPF → M2ME.
    Down,
}

/// One exchange as the tap sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hop<'a> {
    /// Which way the message goes.
    pub direction: Direction,
    /// The message.
    pub body: &'a [u8],
    /// How it travels, when the link says (`POST http://…` up, `HTTP 200` down).
    pub via: Option<&'a str>,
}

/// What the tap does with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Deliver it.
    Deliver,
    /// Lose it (the connection breaks).
    Lose,
}

/// What one session came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRun {
    /// How the client's session ended.
    pub outcome: ClientOutcome,
    /// Client messages sent.
    pub messages: u32,
    /// Bytes up and down.
    pub bytes: (usize, usize),
    /// Large objects the client received (target, size).
    pub large_objects: Vec<(String, u64)>,
}

/// Runs one client-initiated session (Alert 1201) with the account of `server_id`, every message shown to
/// `tap` before delivery, and every failed exchange to `failed`. `now` is the client's clock (advanced by a
/// second per message).
///
/// # Errors
/// The client engine's misuse error (a session already running).
pub fn run_session(
    client: &mut DmClient,
    link: &mut dyn DmLink,
    server_id: &str,
    session_id: &str,
    now: &mut DmTime,
    tap: &mut dyn FnMut(Hop<'_>) -> Delivery,
    failed: &mut dyn FnMut(&LinkError),
) -> Result<SessionRun, client::SessionError> {
    now.0 += 1;
    client.handle_input(client::Input::Connect {
        server_id: server_id.to_owned(),
        session_id: Some(session_id.to_owned()),
        now: *now,
    })?;
    let mut run = SessionRun {
        outcome: ClientOutcome::Completed,
        messages: 0,
        bytes: (0, 0),
        large_objects: Vec::new(),
    };
    loop {
        let Some(out) = client.poll_output() else {
            // Waiting with nothing to send cannot happen between inputs; treat it as a transport stall.
            now.0 += 1;
            client.handle_input(client::Input::TransportFailed { now: *now })?;
            continue;
        };
        let t = match out {
            client::Output::Transmit(t) => t,
            client::Output::Event(client::Event::LargeObjectReceived { uri, size, .. }) => {
                run.large_objects.push((uri, size));
                continue;
            }
            client::Output::Event(_) => continue,
            client::Output::Ended { outcome } => {
                run.outcome = outcome;
                break;
            }
        };
        run.messages += 1;
        run.bytes.0 += t.body.len();
        now.0 += 1;
        let route = link.route(&t);
        let up = Hop { direction: Direction::Up, body: &t.body, via: route.as_deref() };
        let reply = if tap(up) == Delivery::Deliver {
            link.post(&t)
        } else {
            Err(LinkError::Transport("lost on the way to the DPF".into()))
        };
        if let Err(e) = &reply {
            failed(e);
        }
        if !t.expects_reply {
            continue;
        }
        let input = match reply {
            Ok(Some(r)) => {
                run.bytes.1 += r.body.len();
                let down = Hop { direction: Direction::Down, body: &r.body, via: r.via.as_deref() };
                match tap(down) {
                    Delivery::Deliver => client::Input::Response { body: r.body, hmac: r.hmac, now: *now },
                    Delivery::Lose => client::Input::TransportFailed { now: *now },
                }
            }
            Ok(None) | Err(_) => client::Input::TransportFailed { now: *now },
        };
        client.handle_input(input)?;
    }
    link.end_session();
    Ok(run)
}

fn item_uri(i: &Item) -> &str {
    i.target_uri().or_else(|| i.source_uri()).unwrap_or("?")
}

fn data_len(i: &Item) -> Option<usize> {
    match i.data.as_ref()? {
        Data::Text(t) => Some(t.len()),
        Data::Bytes(b) => Some(b.len()),
        _ => None,
    }
}

fn describe(c: &Command, out: &mut Vec<String>) {
    match c {
        Command::Add(x) | Command::Replace(x) | Command::Get(x) | Command::Delete(x) | Command::Copy(x) => {
            for i in &x.items {
                let mut s = format!("{} {}", c.name(), item_uri(i));
                if let (Some(n), false) = (data_len(i), matches!(c, Command::Get(_))) {
                    s.push_str(&format!(" ({n} B)"));
                }
                if let Some(size) = i.meta.as_ref().or(x.meta.as_ref()).and_then(|m| m.size) {
                    s.push_str(&format!(" [first chunk of {size} B]"));
                }
                if i.more_data {
                    s.push_str(" [MoreData]");
                }
                out.push(s);
            }
        }
        Command::Exec(e) => {
            let corr = e.correlator.as_deref().map(|c| format!(" Correlator {c}")).unwrap_or_default();
            out.push(format!("Exec {}{corr}", item_uri(&e.item)));
        }
        Command::Alert(a) if a.code == AlertCode::GENERIC_ALERT => {
            for i in &a.items {
                let ty = i.meta.as_ref().and_then(|m| m.type_.as_deref()).unwrap_or("?");
                let ty = ty.rsplit(':').next().unwrap_or(ty);
                let data = i.data.as_ref().and_then(Data::as_text).unwrap_or("?");
                let corr = a.correlator.as_deref().unwrap_or("-");
                out.push(format!("Alert 1226 {ty}={data} (Correlator {corr}, Source {})", item_uri(i)));
            }
        }
        Command::Alert(a) => out.push(format!("Alert {}", a.code.0)),
        Command::Results(r) => {
            for i in &r.items {
                out.push(format!("Results {} ({} B)", item_uri(i), data_len(i).unwrap_or(0)));
            }
        }
        Command::Status(s) => out.push(format!("Status {} {}", s.cmd, s.code.0)),
        Command::Atomic(g) | Command::Sequence(g) => {
            let mut inner = Vec::new();
            for c in &g.commands {
                describe(c, &mut inner);
            }
            out.push(format!("{} [{}]", c.name(), inner.join(", ")));
        }
        Command::Other(_) => out.push(c.name().to_owned()),
    }
}

/// One line: MsgID, encoding and size, the commands (Statuses grouped), `Final`.
#[must_use]
pub fn summarize(body: &[u8]) -> String {
    let d = match SyncMl::decode(body, Mode::Lenient) {
        Ok(d) => d,
        Err(e) => return format!("{} B, does not decode: {e}", body.len()),
    };
    let m = &d.message;
    let enc = if d.wire.encoding == Encoding::Wbxml { "WBXML" } else { "XML" };
    let mut parts = Vec::new();
    let mut statuses = Vec::new();
    for c in &m.body.commands {
        match c {
            Command::Status(s) => statuses.push(format!("{} {}", s.cmd, s.code.0)),
            _ => describe(c, &mut parts),
        }
    }
    if m.hdr.cred.is_some() {
        parts.insert(0, "Cred".into());
    }
    if !statuses.is_empty() {
        parts.insert(0, format!("Status[{}]", statuses.join(", ")));
    }
    if m.body.final_ {
        parts.push("Final".into());
    }
    format!("MsgID {} ({enc}, {} B): {}", m.hdr.msg_id, body.len(), parts.join(", "))
}

/// The full message as XML (as sent for XML; rendered from the decoded message for WBXML, followed by
/// its hex), one string per line.
#[must_use]
pub fn render(body: &[u8]) -> Vec<String> {
    let Ok(d) = SyncMl::decode(body, Mode::Lenient) else { return vec![hex::encode(body)] };
    if d.wire.encoding == Encoding::Xml {
        return String::from_utf8_lossy(body).lines().map(str::to_owned).collect();
    }
    let profile = Profile { xml_style: XmlStyle::Indent(1), ..Profile::rtk() };
    let mut lines: Vec<String> = match d.message.to_xml(&profile) {
        Ok(x) => x.lines().map(str::to_owned).collect(),
        Err(e) => vec![format!("(not renderable as XML: {e})")],
    };
    lines.push("hex:".into());
    lines.extend(hex::encode(body).as_bytes().chunks(64).map(|c| String::from_utf8_lossy(c).into_owned()));
    lines
}

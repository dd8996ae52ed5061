//! The DM leg of S3-090905 (steps 13 and 18–20): the M2ME's [`DmClient`] and the DPF's
//! [`ServerSession`], joined by a [`DmLink`] (the transport seam).
//!
//! - [`DmLink`]: carries one client message to the DPF and brings back its answer (an HTTP POST in DM's
//!   HTTP binding). [`InProcessDpf`] is the in-process implementation: it hosts the DPF's sessions itself,
//!   on a virtual clock, like `dm-server/tests/pair.rs`; an HTTP implementation plugs in the same way.
//! - [`DpfJobs`]: the DPF's job store ([`OperationSource`]) that releases its operations in stages: a stage
//!   goes out when every operation of the previous one is done and succeeded (for an `Exec`, when its
//!   Generic Alert 1226 reported Result 200). So Install waits for the `Data` to be confirmed, and Activate
//!   for Install's alert; a failure halts the plan ([`DpfJobs::halted`]). Operations sent but not answered
//!   (a broken session) stay queued and go out in the next session.
//! - [`run_session`]: drives one client-initiated session to its end, showing each message to a tap that
//!   may lose it (to break the session).
//! - [`summarize`], [`render`]: a one-line summary of a DM message; its full XML (and hex for WBXML).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use m2msim_codec::mo::m2msimmobj::ResultCode;
use m2msim_codec::syncml::tree::{Profile, XmlStyle};
use m2msim_codec::syncml::{AlertCode, Command, Data, Encoding, Item, SyncMl};
use m2msim_codec::xml::Mode;
use m2msim_dm_client::session::{self as client, DmClient, Outcome as ClientOutcome, Transmit};
use m2msim_dm_client::tree::DmTime;
use m2msim_dm_server::directory::InMemoryDirectory;
use m2msim_dm_server::jobs::{InMemoryJobQueue, OperationSource};
use m2msim_dm_server::nonce::SeededNonces;
use m2msim_dm_server::operation::{OpId, Operation, OperationOutcome, OutcomeState};
use m2msim_dm_server::session::{
    self as server, IncomingMessage, ServerSession, SessionConfig, SessionOutcome,
};

/// The DPF's answer to one client message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmResponse {
    /// The body.
    pub body: Vec<u8>,
    /// The `x-syncml-hmac` header, if any.
    pub hmac: Option<String>,
}

/// Why a message did not get through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The DPF's session had already ended.
    #[error("the DPF's session has ended")]
    SessionEnded,
    /// The transport failed (connection refused, HTTP error).
    #[error("transport failure: {0}")]
    Transport(&'static str),
}

/// The transport seam between the M2ME's DM client and the DPF (OMA DM 1.2.1 HTTP binding: one POST per
/// client message, the server's message as the response).
pub trait DmLink {
    /// What carries the messages (for the report).
    fn name(&self) -> String;

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
    /// A DPF with its device directory, its job store and session settings; `seed` seeds its nonces.
    #[must_use]
    pub fn new(directory: InMemoryDirectory, jobs: DpfJobs, config: SessionConfig, seed: u64) -> Self {
        Self {
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
                server::Output::Message(m) => reply = Some(DmResponse { body: m.body, hmac: m.hmac }),
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

/// The DPF's staged job store (see the module docs). Clones share the same store.
#[derive(Debug, Clone)]
pub struct DpfJobs {
    queue: InMemoryJobQueue,
    device: String,
    plan: Arc<Mutex<Plan>>,
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
    /// An empty store for `device`.
    #[must_use]
    pub fn new(device: &str) -> Self {
        Self { queue: InMemoryJobQueue::new(), device: device.to_owned(), plan: Arc::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Plan> {
        self.plan.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends stages to the plan (each released when the previous one succeeded).
    pub fn plan(&self, stages: Vec<Vec<Planned>>) {
        self.lock().stages.extend(stages);
        self.advance();
    }

    /// The outcome of an operation.
    #[must_use]
    pub fn outcome(&self, id: OpId) -> Option<OperationOutcome> {
        self.queue.outcome(id)
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
                match self.queue.outcome(*id) {
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
                let id = self.queue.push(&self.device, op.command);
                p.current.push((id, op.label.clone()));
                p.released.push((id, op.label));
            }
        }
    }
}

impl OperationSource for DpfJobs {
    fn next_operations(&mut self, device_id: &str) -> Vec<Operation> {
        self.advance();
        self.queue.clone().next_operations(device_id)
    }

    fn completed(&mut self, device_id: &str, outcome: OperationOutcome) {
        self.queue.clone().completed(device_id, outcome);
    }

    fn find_accepted(&mut self, device_id: &str, correlator: &str) -> Option<OperationOutcome> {
        self.queue.clone().find_accepted(device_id, correlator)
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
/// `tap` before delivery. `now` is the client's clock (advanced by a second per message).
///
/// # Errors
/// The client engine's misuse error (a session already running).
pub fn run_session(
    client: &mut DmClient,
    link: &mut dyn DmLink,
    server_id: &str,
    session_id: &str,
    now: &mut DmTime,
    tap: &mut dyn FnMut(Direction, &[u8]) -> Delivery,
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
        let delivered = tap(Direction::Up, &t.body) == Delivery::Deliver;
        let reply = if delivered { link.post(&t) } else { Err(LinkError::Transport("lost")) };
        if !t.expects_reply {
            continue;
        }
        let input = match reply {
            Ok(Some(r)) => {
                run.bytes.1 += r.body.len();
                match tap(Direction::Down, &r.body) {
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

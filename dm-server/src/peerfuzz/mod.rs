//! Fuzzing a DM client (issue 10 §2, `dm-server fuzz`): serve a device under test grammar-aware mutations
//! of valid server packages and record how it answers.
//!
//! Main items: [`spawn`] (the fuzzing server) → [`FuzzHandle`] → [`FuzzReport`]; [`FuzzConfig`];
//! [`mutate`] (the mutations, [`MutationKind`], [`Expect`]); [`report`] (responses, anomalies, JSON and
//! Markdown with reproducers).
//!
//! # One case
//!
//! Each case is one management session the device opens (it is pointed at [`FuzzHandle::url`], and
//! reconnects for the next session: a device that gives up or drops the connection is simply waited for):
//! 1. The device's package 1 goes to a fresh engine ([`ServerSession`], with the device's credentials and
//!    a queue of operations drawn from [`FuzzConfig::operations`]): authentication runs as usual, messages
//!    without commands (challenges) are passed through unchanged.
//! 2. The first engine message with management commands is the *valid package*. One [`MutationKind`]
//!    (case 0 is always [`MutationKind::Control`], the rest are drawn from the seed) turns it into a
//!    [`Mutant`]; the `x-syncml-hmac` header is computed afresh over the mutated body (unless the mutation
//!    is of the header itself), so that the client reaches the mutation instead of stopping at the MAC.
//!    With [`FuzzConfig::wire`] the package is first re-encoded in that encoding (RTK dialect).
//! 3. The answer is whatever comes next within [`FuzzConfig::reply_timeout`]: a SyncML message (its
//!    `Status`es are checked against the mutant), a Session Abort, a new session (package 1: the client
//!    gave up silently), a malformed body, a request that is not a DM request, a connection that closed,
//!    or nothing ([`report::Response`]). [`report::classify`] names the anomalies.
//! 4. A reply goes on to the engine and the session runs to its end (at most
//!    [`FuzzConfig::max_followups`] more messages, then `410`), so that the device is left in a normal
//!    state for the next case.
//!
//! Deterministic: the same seed gives the same kinds, operations and mutations (the engine's nonces are
//! seeded from it too); only the device's own randomness (its `SessionID`s, nonces) varies.
//!
//! # HTTP
//!
//! Any `POST` is taken (the mutated `RespURI` may send the device anywhere below the server); other
//! methods and unknown content types are recorded as [`report::Response::HttpError`]. Requests outside a
//! case (a late message of an earlier session) get `410 Gone`.

pub mod mutate;
pub mod report;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response as HttpResponse, StatusCode};
use hyper_util::rt::TokioIo;
use m2msim_codec::dm::auth::HmacHeader;
use m2msim_codec::dm::ddf::Format;
use m2msim_codec::syncml::tree::Profile;
use m2msim_codec::syncml::{AlertCode, Command, Encoding, SyncMl, Wire};
use m2msim_codec::xml::Mode;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

pub use mutate::{Expect, Mutant, MutationKind, Rng};
pub use report::{Anomaly, CaseRecord, Class, FuzzReport, Response};

use crate::directory::{DeviceDirectory, DeviceRecord, InMemoryDirectory};
use crate::jobs::InMemoryJobQueue;
use crate::net::{CT_WBXML, CT_XML, HMAC_HEADER};
use crate::nonce::SeededNonces;
use crate::operation::{UiOptions, cmd};
use crate::session::{
    IncomingMessage, Input, MessageKey, OutgoingMessage, Output, ServerSession, Services, SessionConfig,
};
use crate::store::{Store, StoreDirectory};

/// Where the device's credentials come from.
#[derive(Clone)]
pub enum DeviceSource {
    /// This record (nonces kept in memory for the run).
    Record(DeviceRecord),
    /// The server's store (nonces written back, so the device's next real session still authenticates).
    Store {
        /// The store.
        store: Arc<dyn Store>,
        /// The device.
        device_id: String,
    },
}

impl std::fmt::Debug for DeviceSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Record(r) => f.debug_tuple("Record").field(&r.device_id).finish(),
            Self::Store { device_id, .. } => f.debug_struct("Store").field("device_id", device_id).finish(),
        }
    }
}

/// The settings of a fuzz run.
#[derive(Debug, Clone)]
pub struct FuzzConfig {
    /// Where to listen (the device is pointed at [`FuzzHandle::url`]).
    pub listen: SocketAddr,
    /// The base URL the device reaches the server at (`None`: `http://{listen address}`).
    pub public_url: Option<String>,
    /// The device under test.
    pub device: DeviceSource,
    /// Serve every package in this encoding (`None`: the device's own).
    pub wire: Option<Encoding>,
    /// The seed.
    pub seed: u64,
    /// How many cases.
    pub cases: u32,
    /// The kinds to draw from (case 0 is always [`MutationKind::Control`]).
    pub kinds: Vec<MutationKind>,
    /// The operations each case draws from (2 to 4 per case).
    pub operations: Vec<Command>,
    /// How long to wait for the answer to a mutant.
    pub reply_timeout: Duration,
    /// How long to wait for the device to open the next session.
    pub device_wait: Duration,
    /// Messages passed on after the answer before the session is cut (`410`).
    pub max_followups: u32,
}

impl FuzzConfig {
    /// Defaults for `device`: loopback on an ephemeral port, the device's encoding, seed 1, 100 cases, every
    /// kind, [`default_operations`], 10 s reply timeout, 120 s for the device to come back, 8 follow-ups.
    #[must_use]
    pub fn new(device: DeviceSource) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            device,
            wire: None,
            seed: 1,
            cases: 100,
            kinds: MutationKind::ALL.to_vec(),
            operations: default_operations(),
            reply_timeout: Duration::from_secs(10),
            device_wait: Duration::from_secs(120),
            max_followups: 8,
        }
    }
}

/// The operations a case draws from: Get of a leaf and an interior node, Replace, Add, Delete, Exec, a
/// display alert and an Atomic.
#[must_use]
pub fn default_operations() -> Vec<Command> {
    let display = UiOptions { max_dt: Some(2), ..UiOptions::default() };
    vec![
        cmd::get("./DevInfo/Mod"),
        cmd::get("./DevInfo"),
        cmd::replace("./DevInfo/Lang", Format::Chr, "en"),
        cmd::add("./FuzzNode", Format::Chr, "x"),
        cmd::delete("./FuzzNode"),
        cmd::exec("./DevInfo/Ext/Fuzz", Some("go".into()), None),
        cmd::ui_alert(AlertCode::DISPLAY, &display, "m2msim fuzz", &[]),
        cmd::atomic(vec![cmd::get("./DevInfo/Man"), cmd::replace("./DevInfo/Lang", Format::Chr, "en")]),
    ]
}

/// A failure to start a run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FuzzError {
    /// The listener could not be bound.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The device is not in the store.
    #[error("device {0:?} is not in the store")]
    UnknownDevice(String),
    /// The run's task failed.
    #[error("the fuzz task failed: {0}")]
    Task(String),
}

/// A running fuzz server.
#[derive(Debug)]
pub struct FuzzHandle {
    /// The address it listens on.
    pub addr: SocketAddr,
    url: String,
    run: tokio::task::JoinHandle<FuzzReport>,
    server: tokio::task::JoinHandle<()>,
}

impl FuzzHandle {
    /// The URL to point the device at (its DMAcc `Addr`).
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Waits for the run to finish, stops the server, and returns the report (not yet written: see
    /// [`FuzzReport::write`]).
    ///
    /// # Errors
    /// [`FuzzError::Task`] when the run's task panicked.
    pub async fn finish(self) -> Result<FuzzReport, FuzzError> {
        let r = self.run.await.map_err(|e| FuzzError::Task(e.to_string()));
        self.server.abort();
        r
    }
}

/// A request as the controller sees it.
struct Req {
    conn: u64,
    method: Method,
    content_type: Option<String>,
    hmac: Option<String>,
    body: Bytes,
    reply: oneshot::Sender<Answer>,
}

/// An HTTP answer.
struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    hmac: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn text(status: StatusCode, s: &str) -> Self {
        Self {
            status,
            content_type: Some("text/plain; charset=utf-8".into()),
            hmac: None,
            body: s.as_bytes().to_vec(),
        }
    }

    fn message(m: &OutgoingMessage) -> Self {
        Self {
            status: StatusCode::OK,
            content_type: Some(m.content_type.to_owned()),
            hmac: m.hmac.clone(),
            body: m.body.clone(),
        }
    }
}

enum Ev {
    Request(Req),
    Closed(u64),
}

/// Largest request body read from the device.
const MAX_REQUEST: usize = 4 * 1024 * 1024;

async fn service(tx: mpsc::Sender<Ev>, conn: u64, req: Request<Incoming>) -> HttpResponse<Full<Bytes>> {
    let method = req.method().clone();
    let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let content_type = header(CONTENT_TYPE.as_str());
    let hmac = header(HMAC_HEADER);
    let body = match Limited::new(req.into_body(), MAX_REQUEST).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let (reply, rx) = oneshot::channel();
    let answer = if tx.send(Ev::Request(Req { conn, method, content_type, hmac, body, reply })).await.is_ok()
    {
        rx.await.unwrap_or_else(|_| Answer::text(StatusCode::GONE, "fuzz run over"))
    } else {
        Answer::text(StatusCode::GONE, "fuzz run over")
    };
    let mut r = HttpResponse::new(Full::new(Bytes::from(answer.body)));
    *r.status_mut() = answer.status;
    if let Some(ct) = answer.content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().insert(CONTENT_TYPE, ct);
    }
    if let Some(h) = answer.hmac.and_then(|h| HeaderValue::from_str(&h).ok()) {
        r.headers_mut().insert(HMAC_HEADER, h);
    }
    r
}

fn serve(listener: TcpListener, tx: mpsc::Sender<Ev>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut next = 0u64;
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            next += 1;
            let conn = next;
            let tx = tx.clone();
            tokio::spawn(async move {
                let t = tx.clone();
                let svc = hyper::service::service_fn(move |req| {
                    let t = t.clone();
                    async move { Ok::<_, std::convert::Infallible>(service(t, conn, req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
                let _ = tx.send(Ev::Closed(conn)).await;
            });
        }
    })
}

/// Binds the listener and starts the run on the current tokio runtime; returns at once.
///
/// # Errors
/// [`FuzzError::Io`] when the listener cannot be bound, [`FuzzError::UnknownDevice`] when the device is
/// not in the store.
pub async fn spawn(config: FuzzConfig) -> Result<FuzzHandle, FuzzError> {
    let record = match &config.device {
        DeviceSource::Record(r) => r.clone(),
        DeviceSource::Store { store, device_id } => StoreDirectory(store.clone())
            .device(device_id)
            .ok_or_else(|| FuzzError::UnknownDevice(device_id.clone()))?,
    };
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let base = config.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
    let base = base.trim_end_matches('/').to_owned();
    let url = format!("{base}/dm");
    let (tx, rx) = mpsc::channel(64);
    let server = serve(listener, tx);
    let directory: Box<dyn Fn() -> Box<dyn DeviceDirectory + Send> + Send + Sync> = match &config.device {
        DeviceSource::Record(_) => {
            let d = InMemoryDirectory::new();
            d.insert(record.clone());
            Box::new(move || Box::new(d.clone()))
        }
        DeviceSource::Store { store, .. } => {
            let s = store.clone();
            Box::new(move || Box::new(StoreDirectory(s.clone())))
        }
    };
    let run =
        Runner { config, device_id: record.device_id, base, directory, rx, carry: None, notes: Vec::new() };
    let run = tokio::spawn(run.run());
    Ok(FuzzHandle { addr, url, run, server })
}

/// Runs `config` to its end and writes the report into `dir` (the CLI's `dm-server fuzz`).
///
/// # Errors
/// As [`spawn`]; report files that cannot be written ([`FuzzError::Io`]).
pub async fn run_to_dir(
    config: FuzzConfig,
    dir: &Path,
    on_ready: impl FnOnce(&str),
) -> Result<FuzzReport, FuzzError> {
    let h = spawn(config).await?;
    on_ready(h.url());
    let mut report = h.finish().await?;
    report.write(dir)?;
    Ok(report)
}

struct Runner {
    config: FuzzConfig,
    device_id: String,
    base: String,
    directory: Box<dyn Fn() -> Box<dyn DeviceDirectory + Send> + Send + Sync>,
    rx: mpsc::Receiver<Ev>,
    /// A package 1 that arrived while a case was waiting for an answer: it opens the next case.
    carry: Option<Req>,
    notes: Vec<String>,
}

/// What phase 1 of a case came to.
enum Setup {
    /// The request to answer with the mutant, and the valid package.
    Ready(Req, OutgoingMessage, Box<ServerSession>),
    /// The session ended or broke off before a package with commands.
    Failed(String),
}

impl Runner {
    async fn run(mut self) -> FuzzReport {
        let mut rng = Rng::new(self.config.seed);
        let mut cases = Vec::new();
        let mut failures = 0u32;
        let mut index = 0u32;
        while index < self.config.cases {
            let kind = if index == 0 {
                MutationKind::Control
            } else {
                self.config
                    .kinds
                    .get(rng.below(self.config.kinds.len()))
                    .copied()
                    .unwrap_or(MutationKind::Truncate)
            };
            let Some(first) = self.next_package1().await else {
                self.notes.push(format!(
                    "the device did not open a session within {} s; stopped after {index} cases",
                    self.config.device_wait.as_secs()
                ));
                break;
            };
            match self.setup(index, first, &mut rng).await {
                Setup::Ready(req, pkg, engine) => {
                    failures = 0;
                    cases.push(self.case(index, kind, req, pkg, engine, &mut rng).await);
                    index += 1;
                }
                Setup::Failed(why) => {
                    self.notes.push(format!("before case {index}: {why}"));
                    failures += 1;
                    if failures >= 5 {
                        self.notes.push("five sessions in a row could not be set up; stopped".into());
                        break;
                    }
                }
            }
        }
        let mut report = FuzzReport {
            device: self.device_id.clone(),
            seed: self.config.seed,
            wire: self.config.wire,
            summary: report::Summary::default(),
            cases,
            notes: self.notes,
        };
        report.summarise();
        report
    }

    /// The next event within `deadline`.
    async fn next_event(&mut self, deadline: tokio::time::Instant) -> Option<Ev> {
        tokio::time::timeout_at(deadline, self.rx.recv()).await.ok().flatten()
    }

    /// Waits for the device's next package 1; everything else is answered 410.
    async fn next_package1(&mut self) -> Option<Req> {
        if let Some(r) = self.carry.take() {
            return Some(r);
        }
        let deadline = tokio::time::Instant::now() + self.config.device_wait;
        loop {
            match self.next_event(deadline).await? {
                Ev::Closed(_) => {}
                Ev::Request(r) => {
                    if self.is_package1(&r) {
                        return Some(r);
                    }
                    let _ =
                        r.reply.send(Answer::text(StatusCode::GONE, "no fuzz session open: start a new one"));
                }
            }
        }
    }

    fn is_package1(&self, r: &Req) -> bool {
        r.method == Method::POST
            && MessageKey::peek(&r.body).is_ok_and(|k| k.msg_id == 1 && k.device_id == self.device_id)
    }

    fn engine(&self, index: u32, rng: &mut Rng) -> ServerSession {
        let queue = InMemoryJobQueue::new();
        let ops = &self.config.operations;
        let n = 2 + rng.below(3);
        let first = rng.below(ops.len().max(1));
        for k in 0..n.min(ops.len()) {
            if let Some(c) = ops.get((first + k * 3) % ops.len()) {
                queue.push(&self.device_id, c.clone());
            }
        }
        let seed = [self.config.seed.to_be_bytes(), u64::from(index).to_be_bytes()].concat();
        let services = Services {
            directory: (self.directory)(),
            jobs: Box::new(queue),
            nonces: Box::new(SeededNonces::new(seed)),
        };
        let config = SessionConfig {
            resp_uri: Some(format!("{}/dm/s/{index}", self.base)),
            ..SessionConfig::default()
        };
        ServerSession::new(config, services, Instant::now())
    }

    /// Feeds `req` to the engine; returns its message (if any) and whether the session ended.
    fn feed(engine: &mut ServerSession, req: &Req) -> (Option<OutgoingMessage>, bool) {
        let message = IncomingMessage {
            body: &req.body,
            content_type: req.content_type.as_deref(),
            hmac: req.hmac.as_deref(),
        };
        if engine.handle_input(Input::Message { now: Instant::now(), message }).is_err() {
            return (None, true);
        }
        let mut msg = None;
        let mut ended = false;
        while let Some(o) = engine.poll_output() {
            match o {
                Output::Message(m) => msg = Some(m),
                Output::Ended { .. } => ended = true,
                Output::Event(_) => {}
            }
        }
        (msg, ended)
    }

    /// Phase 1: runs the session until the engine's first package with commands.
    async fn setup(&mut self, index: u32, first: Req, rng: &mut Rng) -> Setup {
        let mut engine = self.engine(index, rng);
        let mut req = first;
        for _ in 0..8 {
            let (msg, ended) = Self::feed(&mut engine, &req);
            let Some(msg) = msg else {
                let _ = req.reply.send(Answer::text(StatusCode::BAD_REQUEST, "session ended"));
                return Setup::Failed("the engine ended the session without a message".into());
            };
            if has_commands(&msg.body) {
                return Setup::Ready(req, msg, Box::new(engine));
            }
            let _ = req.reply.send(Answer::message(&msg));
            if ended {
                return Setup::Failed(
                    "the session ended before a package with commands (authentication?)".into(),
                );
            }
            let deadline = tokio::time::Instant::now() + self.config.reply_timeout;
            req = loop {
                match self.next_event(deadline).await {
                    None => return Setup::Failed("the device went silent during authentication".into()),
                    Some(Ev::Closed(_)) => {}
                    Some(Ev::Request(r)) if self.is_package1(&r) => {
                        self.carry = Some(r);
                        return Setup::Failed(
                            "the device restarted the session during authentication".into(),
                        );
                    }
                    Some(Ev::Request(r)) => break r,
                }
            };
        }
        let _ = req.reply.send(Answer::text(StatusCode::GONE, "too many messages"));
        Setup::Failed("no package with commands after 8 messages".into())
    }

    /// Phases 2–4 of a case.
    async fn case(
        &mut self,
        index: u32,
        kind: MutationKind,
        req: Req,
        valid: OutgoingMessage,
        mut engine: Box<ServerSession>,
        rng: &mut Rng,
    ) -> CaseRecord {
        let client_max =
            SyncMl::decode(&req.body, Mode::Lenient).ok().and_then(|d| d.message.hdr.max_msg_size());
        let (body, content_type, wire) = self.served_form(&valid);
        let pkg = mutate::Package {
            body: &body,
            content_type,
            hmac: valid.hmac.as_deref(),
            wire,
            client_max_msg_size: client_max,
        };
        let mutant = mutate::mutate(kind, &pkg, rng);
        let sent_hmac = match (&mutant.hmac, mutant.recompute_hmac) {
            (Some(_), true) => self.hmac_for(&mutant.body).or_else(|| mutant.hmac.clone()),
            (h, _) => h.clone(),
        };
        let shape = report::SentShape::of(&mutant.body).or_else(|| report::SentShape::of(&body));
        let conn = req.conn;
        let _ = req.reply.send(Answer {
            status: StatusCode::OK,
            content_type: mutant.content_type.clone(),
            hmac: sent_hmac.clone(),
            body: mutant.body.clone(),
        });
        let sent_at = Instant::now();
        let deadline = tokio::time::Instant::now() + self.config.reply_timeout;
        let mut closed = false;
        let mut answer: Option<Req> = None;
        let response = loop {
            match self.next_event(deadline).await {
                None => break if closed { Response::ConnectionDrop } else { Response::Silence },
                Some(Ev::Closed(c)) => closed |= c == conn,
                Some(Ev::Request(r)) => {
                    if self.is_package1(&r) {
                        self.carry = Some(r);
                        break Response::NewSession;
                    }
                    let media = r
                        .content_type
                        .as_deref()
                        .map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
                    if r.method != Method::POST || !matches!(media.as_deref(), Some(CT_XML | CT_WBXML)) {
                        let reason = format!("{} with Content-Type {:?}", r.method, r.content_type);
                        let _ = r
                            .reply
                            .send(Answer::text(StatusCode::UNSUPPORTED_MEDIA_TYPE, "not a DM request"));
                        break Response::HttpError { reason };
                    }
                    let resp = Response::of_body(&r.body);
                    answer = Some(r);
                    break resp;
                }
            }
        };
        let elapsed_ms = u64::try_from(sent_at.elapsed().as_millis()).unwrap_or(u64::MAX);
        let followups = match answer {
            Some(r) => self.follow(&mut engine, r, &response).await,
            None => 0,
        };
        let (class, anomalies) = report::classify(&mutant.expect, shape.as_ref(), &response);
        CaseRecord {
            index,
            requested: kind,
            mutant,
            sent_hmac,
            reproducer: None,
            response,
            anomalies,
            class,
            elapsed_ms,
            followups,
        }
    }

    /// Phase 4: passes the answer and what follows to the engine until the session ends.
    async fn follow(&mut self, engine: &mut ServerSession, first: Req, response: &Response) -> u32 {
        let mut req = first;
        let mut n = 0;
        loop {
            if !matches!(response, Response::Reply { .. }) || n >= self.config.max_followups {
                // An abort expects no answer; a malformed message gets a plain error; the rest is cut.
                let _ = req.reply.send(Answer::text(StatusCode::GONE, "fuzz case over"));
                return n;
            }
            let (msg, ended) = Self::feed(engine, &req);
            n += 1;
            match msg {
                Some(m) => {
                    let _ = req.reply.send(Answer::message(&m));
                }
                None => {
                    let _ = req.reply.send(Answer::text(StatusCode::GONE, "session ended"));
                    return n;
                }
            }
            if ended {
                return n;
            }
            let deadline = tokio::time::Instant::now() + self.config.reply_timeout;
            req = loop {
                match self.next_event(deadline).await {
                    None => return n,
                    Some(Ev::Closed(_)) => {}
                    Some(Ev::Request(r)) if self.is_package1(&r) => {
                        self.carry = Some(r);
                        return n;
                    }
                    Some(Ev::Request(r)) => break r,
                }
            };
        }
    }

    /// The valid package as served: re-encoded when `--wire` asks for another encoding.
    fn served_form(&self, m: &OutgoingMessage) -> (Vec<u8>, &'static str, Wire) {
        let decoded = SyncMl::decode(&m.body, Mode::Lenient).ok();
        let own = decoded.as_ref().map_or(Wire::xml(Profile::rtk()), |d| d.wire);
        match (self.config.wire, decoded) {
            (Some(e), Some(d)) if e != own.encoding => {
                let wire = Wire { encoding: e, profile: Profile::rtk() };
                match d.message.encode(&wire) {
                    Ok(b) => (b, e.content_type(), wire),
                    Err(_) => (m.body.clone(), m.content_type, own),
                }
            }
            _ => (m.body.clone(), m.content_type, own),
        }
    }

    /// This server's `x-syncml-hmac` for `body` with the nonce the device issued last.
    fn hmac_for(&self, body: &[u8]) -> Option<String> {
        let rec = (self.directory)().device(&self.device_id)?;
        let c = rec.server?;
        Some(HmacHeader::compute(&c.name, c.secret.expose(), &c.nonce, body).to_string())
    }
}

/// True when a server message carries management commands (anything but `Status`, `Results`).
fn has_commands(body: &[u8]) -> bool {
    SyncMl::decode(body, Mode::Lenient).is_ok_and(|d| {
        d.message.body.commands.iter().any(|c| !matches!(c, Command::Status(_) | Command::Results(_)))
    })
}

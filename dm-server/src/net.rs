//! The HTTP(S) layer of the DM server (issue 7 §1): [`spawn`] starts a server on tokio from a
//! [`ServerConfig`] and a [`Store`], and returns a [`ServerHandle`] (its addresses, the DM URL, the store
//! to queue operations in, shutdown).
//!
//! # The DM endpoint (OMA DM 1.2.1 RepPro §5: HTTP binding)
//!
//! - `POST {dm_path}` with `Content-Type: application/vnd.syncml.dm+xml` or `…+wbxml` (parameters such as
//!   `charset` allowed). A request without a known session is routed by `SessionID` and device
//!   ([`MessageKey::peek`]): an open session with that key takes it, otherwise a new session starts.
//! - Every server message carries a `RespURI` `{base}{dm_path}/s/{token}` (a random token per session):
//!   the client's next request goes there and is routed by the token.
//! - The answer is in the client's encoding and dialect (the engine decides), with its `Content-Type` and,
//!   in HMAC mode, the `x-syncml-hmac` header; the request's `x-syncml-hmac` is passed to the engine.
//! - Clear answers for what the engine never sees: 405 (not POST), 415 (another content type), 413 (body
//!   over [`ServerConfig::max_body`]), 400 with a short reason (a body that is not a SyncML message), 403
//!   (unknown device with [`UnknownDevices::Reject`]), 404 (unknown session token), 503 (more than
//!   [`ServerConfig::max_sessions`] open sessions), 410 (a message for a session that has ended). Rejected
//!   bodies are kept in the transcript (a session record with outcome `rejected: …`).
//! - Idle sessions end when the engine's [`ServerSession::poll_timeout`] passes (checked every
//!   [`ServerConfig::reap_interval`]).
//!
//! The engine calls the store synchronously (SQLite): each request's engine work runs on tokio's blocking
//! pool, one session at a time (a mutex per session). The engine reads from the store directly; its
//! writes, with the transcript of the request and of the answer, are gathered ([`BatchedStore`]) and
//! stored in one [`Store::apply`] before the answer is sent. When that fails the answer is a 500 and the
//! session is dropped: what the client answered stays `sent` and goes out again in its next session.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use m2msim_codec::syncml::SyncMl;
use m2msim_codec::xml::Mode;

use crate::directory::Credentials;
use crate::nonce::SeededNonces;
use crate::session::{
    Event, FailReason, IncomingMessage, Input, MessageKey, Output, ServerSession, Services, SessionConfig,
    SessionOutcome,
};
use crate::store::{BatchedStore, Direction, PendingWrites, Store, StoreError, TranscriptEntry, Write};

/// The HMAC header of OMA DM (Security §5.1.3.1).
pub const HMAC_HEADER: &str = "x-syncml-hmac";
/// The XML content type.
pub const CT_XML: &str = "application/vnd.syncml.dm+xml";
/// The WBXML content type.
pub const CT_WBXML: &str = "application/vnd.syncml.dm+wbxml";

/// What to do with a device that is not in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnknownDevices {
    /// Answer 403 without starting a session.
    Reject,
    /// Register it with these client credentials (a lab-wide password; the `name` is kept as given) and
    /// go on: the client must still authenticate with them.
    Register(Credentials),
}

/// HTTPS settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsConfig {
    /// Certificate chain and private key from PEM files.
    Files {
        /// The certificate chain (PEM).
        cert: PathBuf,
        /// The private key (PEM: PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
    /// A self-signed certificate generated at start for these DNS names / IP addresses (rcgen); its PEM is
    /// in [`ServerHandle::cert_pem`] for clients to trust.
    SelfSigned {
        /// Subject alternative names.
        names: Vec<String>,
    },
}

/// The settings of a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where the DM endpoint listens (default `127.0.0.1:0`: loopback, an ephemeral port).
    pub listen: SocketAddr,
    /// Where the admin API listens (`None`: no admin API).
    pub admin_listen: Option<SocketAddr>,
    /// The admin API's bearer token (`None`: a random one, see [`ServerHandle::admin_token`]).
    pub admin_token: Option<String>,
    /// HTTPS for the DM endpoint (`None`: plain HTTP).
    pub tls: Option<TlsConfig>,
    /// The base URL clients reach the server at, for `RespURI` (`None`: `http(s)://{listen address}`).
    pub public_url: Option<String>,
    /// The DM endpoint's path.
    pub dm_path: String,
    /// The largest request body accepted (413 above).
    pub max_body: usize,
    /// The most sessions open at once (503 above).
    pub max_sessions: usize,
    /// The engine's settings (its `resp_uri` is replaced per session).
    pub session: SessionConfig,
    /// Devices not in the store.
    pub unknown_devices: UnknownDevices,
    /// How often idle sessions are checked.
    pub reap_interval: Duration,
    /// Where notifications (package 0) go.
    pub notify: crate::admin::NotifySink,
}

impl Default for ServerConfig {
    /// Loopback on an ephemeral port, no admin API, plain HTTP, `/dm`, 1 MiB bodies, 10 000 sessions,
    /// unknown devices rejected, idle check every second, notifications to stdout.
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_listen: None,
            admin_token: None,
            tls: None,
            public_url: None,
            dm_path: "/dm".into(),
            max_body: 1024 * 1024,
            max_sessions: 10_000,
            session: SessionConfig::default(),
            unknown_devices: UnknownDevices::Reject,
            reap_interval: Duration::from_secs(1),
            notify: crate::admin::NotifySink::Stdout,
        }
    }
}

/// A failure to start a server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// A socket or file failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The TLS configuration was refused.
    #[error("tls: {0}")]
    Tls(#[from] rustls::Error),
    /// The self-signed certificate could not be generated.
    #[error("certificate generation: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// A PEM file did not hold what was expected.
    #[error("pem: {0}")]
    Pem(&'static str),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// A running server.
pub struct ServerHandle {
    /// The DM endpoint's address.
    pub addr: SocketAddr,
    /// The admin API's address, when it runs.
    pub admin_addr: Option<SocketAddr>,
    /// The admin API's bearer token.
    pub admin_token: String,
    /// The self-signed certificate (PEM) when one was generated.
    pub cert_pem: Option<String>,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("addr", &self.addr)
            .field("admin_addr", &self.admin_addr)
            .finish_non_exhaustive()
    }
}

impl ServerHandle {
    /// The URL of the DM endpoint (what a DMAcc's `Addr` holds).
    #[must_use]
    pub fn url(&self) -> String {
        format!("{}{}", self.shared.base_url, self.shared.config.dm_path)
    }

    /// The admin API's base URL, when it runs.
    #[must_use]
    pub fn admin_url(&self) -> Option<String> {
        self.admin_addr.map(|a| format!("http://{a}"))
    }

    /// The store: add devices, queue operations ([`Store::enqueue`]), read outcomes and transcripts.
    #[must_use]
    pub fn store(&self) -> Arc<dyn Store> {
        self.shared.store.clone()
    }

    /// How many sessions are open.
    #[must_use]
    pub fn open_sessions(&self) -> usize {
        self.shared.sessions().by_token.len()
    }

    /// Stops accepting connections and ends the server's tasks (open sessions are dropped; their
    /// operations stay `sent` and go out again in the next session).
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// One open session.
struct Slot {
    engine: ServerSession,
    row: i64,
    token: String,
    key: (String, String),
    wire_recorded: bool,
    /// The writes of the message being handled (shared with the engine's [`BatchedStore`]).
    writes: PendingWrites,
}

impl Slot {
    fn push(&self, w: Write) {
        lock(&self.writes).push(w);
    }

    fn take_writes(&self) -> Vec<Write> {
        std::mem::take(&mut *lock(&self.writes))
    }
}

#[derive(Default)]
struct Sessions {
    by_token: HashMap<String, Arc<Mutex<Slot>>>,
    by_key: HashMap<(String, String), String>,
}

/// State shared by the server's tasks.
pub(crate) struct Shared {
    pub(crate) config: ServerConfig,
    pub(crate) store: Arc<dyn Store>,
    sessions: Mutex<Sessions>,
    base_url: String,
    secret: [u8; 32],
    counter: AtomicU64,
    /// The `SessionID` the last package 0 announced to each device, until its server-initiated session
    /// starts.
    announced: Mutex<HashMap<String, String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Random bytes from the operating system (ring's `SystemRandom`).
pub(crate) fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b).is_err() {
        // Decision: the OS RNG does not fail on supported platforms; should it, fall back to the clock so
        // tokens still differ (they are routing handles; authentication does not rest on them).
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        for (i, x) in b.iter_mut().enumerate() {
            *x = (t.as_nanos() >> ((i % 16) * 8)) as u8;
        }
    }
    b
}

/// An HTTP answer before it becomes a response.
struct Reply {
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
    hmac: Option<String>,
}

impl Reply {
    fn text(status: StatusCode, reason: &str) -> Self {
        Self {
            status,
            content_type: "text/plain; charset=utf-8",
            body: reason.as_bytes().to_vec(),
            hmac: None,
        }
    }

    fn into_response(self) -> Response<Full<Bytes>> {
        let mut r = Response::new(Full::new(Bytes::from(self.body)));
        *r.status_mut() = self.status;
        r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        if let Some(h) = self.hmac.and_then(|h| HeaderValue::from_str(&h).ok()) {
            r.headers_mut().insert(HMAC_HEADER, h);
        }
        r
    }
}

fn outcome_text(o: &SessionOutcome) -> String {
    match o {
        SessionOutcome::Completed => "completed".into(),
        SessionOutcome::AbortedByClient => "aborted_by_client".into(),
        SessionOutcome::TimedOut => "timed_out".into(),
        SessionOutcome::Failed(r) => format!("failed: {r}"),
    }
}

/// Cuts a reason to a short single line for a 400 body.
fn short(s: &str) -> String {
    let line = s.lines().next().unwrap_or("");
    line.chars().take(200).collect()
}

impl Shared {
    fn sessions(&self) -> MutexGuard<'_, Sessions> {
        lock(&self.sessions)
    }

    /// Keeps a rejected body in the transcript: a session record `rejected: {reason}`.
    fn reject(&self, status: StatusCode, reason: &str, device: &str, ct: Option<&str>, body: &[u8]) -> Reply {
        let reason = short(reason);
        let kept = self.store.reserve_session_id().and_then(|id| {
            let mut entry = TranscriptEntry::new(Direction::In, ct, body);
            entry.note = Some(reason.clone());
            self.store.apply(&[
                Write::OpenSession { id, device_id: device.to_owned(), session_id: String::new() },
                Write::Message { session: id, entry },
                Write::CloseSession { id, outcome: format!("rejected: {} {reason}", status.as_u16()) },
            ])
        });
        if let Err(e) = kept {
            tracing::error!("store: rejected body: {e}");
        }
        tracing::debug!("rejected request: {} {reason}", status.as_u16());
        Reply::text(status, &reason)
    }

    fn remove(&self, token: &str, key: &(String, String)) {
        let mut s = self.sessions();
        s.by_token.remove(token);
        if s.by_key.get(key).is_some_and(|t| t == token) {
            s.by_key.remove(key);
        }
    }

    /// Drains the engine's outputs after an input and stores the writes of the exchange (one
    /// [`Store::apply`]); returns the message and whether the session ended (and how), or the store's
    /// error (the session is then dropped).
    fn drain(
        &self,
        slot: &mut Slot,
    ) -> Result<(Option<crate::session::OutgoingMessage>, Option<SessionOutcome>), StoreError> {
        let mut msg = None;
        let mut ended = None;
        while let Some(o) = slot.engine.poll_output() {
            match o {
                Output::Message(m) => msg = Some(m),
                Output::Event(Event::Alert(alert)) => slot.push(Write::Alert {
                    device_id: slot.engine.device_id().to_owned(),
                    session: Some(slot.row),
                    alert,
                }),
                Output::Event(e) => tracing::debug!(device = slot.engine.device_id(), "event: {e:?}"),
                Output::Ended { outcome } => ended = Some(outcome),
            }
        }
        if !slot.wire_recorded
            && let Some(ver) = slot.engine.ver_dtd()
        {
            let w = Write::Wire {
                device_id: slot.engine.device_id().to_owned(),
                dm_version: ver.to_owned(),
                wire: slot.engine.wire(),
            };
            slot.push(w);
            slot.wire_recorded = true;
        }
        if let Some(m) = &msg {
            let entry = TranscriptEntry::new(Direction::Out, Some(m.content_type), &m.body);
            slot.push(Write::Message { session: slot.row, entry });
        }
        if let Some(o) = &ended {
            slot.push(Write::CloseSession { id: slot.row, outcome: outcome_text(o) });
            self.remove(&slot.token, &slot.key);
        }
        slot.engine.compact();
        let writes = slot.take_writes();
        if let Err(e) = self.store.apply(&writes) {
            tracing::error!(device = slot.engine.device_id(), "store: {e}; session dropped");
            self.remove(&slot.token, &slot.key);
            return Err(e);
        }
        Ok((msg, ended))
    }

    /// A new session for `key`, or an answer refusing one.
    fn open(
        self: &Arc<Self>,
        key: &MessageKey,
        ct: Option<&str>,
        body: &[u8],
    ) -> Result<Arc<Mutex<Slot>>, Reply> {
        let known = self
            .store
            .device(&key.device_id)
            .map_err(|e| Reply::text(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))?;
        if known.is_none() {
            match &self.config.unknown_devices {
                UnknownDevices::Reject => {
                    return Err(self.reject(
                        StatusCode::FORBIDDEN,
                        "unknown device",
                        &key.device_id,
                        ct,
                        body,
                    ));
                }
                UnknownDevices::Register(template) => {
                    let rec = crate::store::auto_record(&key.device_id, template);
                    self.store
                        .put_device(&rec)
                        .map_err(|e| Reply::text(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))?;
                    tracing::info!(device = key.device_id, "auto-registered");
                }
            }
        }
        if self.sessions().by_token.len() >= self.config.max_sessions {
            return Err(self.reject(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many open sessions",
                &key.device_id,
                ct,
                body,
            ));
        }
        let token = hex::encode(random::<16>());
        let mut seed = self.secret.to_vec();
        seed.extend_from_slice(&self.counter.fetch_add(1, Ordering::Relaxed).to_be_bytes());
        let batched = BatchedStore { store: self.store.clone(), writes: PendingWrites::default() };
        let writes = batched.writes.clone();
        let services = Services {
            directory: Box::new(batched.clone()),
            jobs: Box::new(batched),
            nonces: Box::new(SeededNonces::new(seed)),
        };
        // A server-initiated session (Alert 1200) must carry the SessionID its package 0 announced, if this
        // server sent one (Notification §6.2); the announcement is used once. Decision: a client-initiated
        // session is not held to it, and without an announcement (another server, a restart) any goes.
        let announced =
            if key.server_initiated { lock(&self.announced).remove(&key.device_id) } else { None };
        let config = SessionConfig {
            resp_uri: Some(format!("{}{}/s/{token}", self.base_url, self.config.dm_path)),
            expected_session_id: announced.or_else(|| self.config.session.expected_session_id.clone()),
            ..self.config.session.clone()
        };
        let row = self
            .store
            .reserve_session_id()
            .map_err(|e| Reply::text(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))?;
        // The session's row is written with the first message's writes.
        lock(&writes).push(Write::OpenSession {
            id: row,
            device_id: key.device_id.clone(),
            session_id: key.session_id.clone(),
        });
        let k = (key.device_id.clone(), key.session_id.clone());
        let slot = Arc::new(Mutex::new(Slot {
            engine: ServerSession::new(config, services, Instant::now()),
            row,
            token: token.clone(),
            key: k.clone(),
            wire_recorded: false,
            writes,
        }));
        let mut s = self.sessions();
        if let Some(existing) = s.by_key.get(&k).and_then(|t| s.by_token.get(t)) {
            // Lost a race with a concurrent request of the same session (its reserved id stays unused).
            let existing = existing.clone();
            drop(s);
            return Ok(existing);
        }
        s.by_key.insert(k, token.clone());
        s.by_token.insert(token, slot.clone());
        Ok(slot)
    }

    /// One DM request (blocking: the engine and the store run here).
    fn handle_dm(
        self: &Arc<Self>,
        token: Option<&str>,
        ct: Option<&str>,
        hmac: Option<&str>,
        body: &[u8],
    ) -> Reply {
        // A message without a session token is decoded here to route it; the engine takes it decoded.
        let mut decoded = None;
        let slot = match token {
            Some(t) => {
                let found = self.sessions().by_token.get(t).cloned();
                match found {
                    Some(s) => s,
                    None => {
                        return self.reject(StatusCode::NOT_FOUND, "unknown or ended session", "", ct, body);
                    }
                }
            }
            None => {
                let key = match SyncMl::decode(body, Mode::Lenient) {
                    Ok(d) => {
                        let k = MessageKey::of(&d.message);
                        decoded = Some(d);
                        k
                    }
                    Err(e) => {
                        return self.reject(
                            StatusCode::BAD_REQUEST,
                            &format!("malformed SyncML: {e}"),
                            "",
                            ct,
                            body,
                        );
                    }
                };
                let found = {
                    let s = self.sessions();
                    s.by_key
                        .get(&(key.device_id.clone(), key.session_id.clone()))
                        .and_then(|t| s.by_token.get(t))
                        .cloned()
                };
                match found {
                    Some(s) => s,
                    None => match self.open(&key, ct, body) {
                        Ok(s) => s,
                        Err(r) => return r,
                    },
                }
            }
        };
        let mut slot = lock(&slot);
        slot.push(Write::Message { session: slot.row, entry: TranscriptEntry::new(Direction::In, ct, body) });
        let message = IncomingMessage { body, content_type: ct, hmac };
        let now = Instant::now();
        let handled = match decoded {
            Some(d) => slot.engine.handle_decoded(now, message, d),
            None => slot.engine.handle_input(Input::Message { now, message }),
        };
        if handled.is_err() {
            let writes = slot.take_writes();
            if let Err(e) = self.store.apply(&writes) {
                tracing::error!("store: transcript: {e}");
            }
            return Reply::text(StatusCode::GONE, "session ended");
        }
        let Ok((msg, ended)) = self.drain(&mut slot) else {
            return Reply::text(StatusCode::INTERNAL_SERVER_ERROR, "store failure");
        };
        match (msg, ended) {
            (Some(m), _) => {
                Reply { status: StatusCode::OK, content_type: m.content_type, body: m.body, hmac: m.hmac }
            }
            (None, Some(SessionOutcome::Failed(FailReason::Malformed(e)))) => {
                Reply::text(StatusCode::BAD_REQUEST, &short(&format!("malformed SyncML: {e}")))
            }
            (None, Some(o)) => Reply::text(StatusCode::OK, &outcome_text(&o)),
            (None, None) => Reply::text(StatusCode::INTERNAL_SERVER_ERROR, "no answer"),
        }
    }

    /// Records the `SessionID` a package 0 announced to `device_id` (used when its session opens).
    pub(crate) fn announce(&self, device_id: &str, session_id: &str) {
        lock(&self.announced).insert(device_id.to_owned(), session_id.to_owned());
    }

    /// Ends idle sessions whose deadline passed.
    fn reap(&self) {
        let now = Instant::now();
        let slots: Vec<_> = self.sessions().by_token.values().cloned().collect();
        for s in slots {
            let Ok(mut slot) = s.try_lock() else { continue };
            if slot.engine.poll_timeout().is_some_and(|t| t <= now) {
                let _ = slot.engine.handle_input(Input::Timeout { now });
                let _ = self.drain(&mut slot);
            }
        }
    }
}

fn content_type(req: &Request<Incoming>) -> Option<String> {
    req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// The media type without parameters, lower-cased.
fn media_type(ct: &str) -> String {
    ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// Reads a request body up to `max` bytes; `Err` is the reply (413, 400).
pub(crate) async fn read_body(req: Request<Incoming>, max: usize) -> Result<Bytes, Reply413> {
    let declared =
        req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(Reply413);
    }
    match Limited::new(req.into_body(), max).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(_) => Err(Reply413),
    }
}

/// A body over the limit (or one that broke off).
pub(crate) struct Reply413;

async fn dm_service(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::POST {
        return Reply::text(StatusCode::METHOD_NOT_ALLOWED, "POST only").into_response();
    }
    let path = req.uri().path().to_owned();
    let dm = shared.config.dm_path.as_str();
    let token = if path == dm {
        None
    } else if let Some(t) = path.strip_prefix(dm).and_then(|p| p.strip_prefix("/s/")) {
        Some(t.to_owned())
    } else {
        return Reply::text(StatusCode::NOT_FOUND, "not a DM endpoint").into_response();
    };
    let ct = content_type(&req);
    let hmac = req.headers().get(HMAC_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = match read_body(req, shared.config.max_body).await {
        Ok(b) => b,
        Err(Reply413) => return Reply::text(StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response(),
    };
    let reply = tokio::task::spawn_blocking(move || {
        let media = ct.as_deref().map(media_type);
        if !matches!(media.as_deref(), Some(CT_XML | CT_WBXML)) {
            return shared.reject(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "content type must be application/vnd.syncml.dm+xml or +wbxml",
                "",
                ct.as_deref(),
                &body,
            );
        }
        shared.handle_dm(token.as_deref(), ct.as_deref(), hmac.as_deref(), &body)
    })
    .await
    .unwrap_or_else(|_| Reply::text(StatusCode::INTERNAL_SERVER_ERROR, "internal error"));
    reply.into_response()
}

fn load_tls(tls: &TlsConfig) -> Result<(rustls::ServerConfig, Option<String>), NetError> {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let (certs, key, pem) = match tls {
        TlsConfig::Files { cert, key } => {
            let certs = CertificateDer::pem_file_iter(cert)
                .map_err(|_| NetError::Pem("cannot read the certificate file"))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| NetError::Pem("malformed certificate PEM"))?;
            if certs.is_empty() {
                return Err(NetError::Pem("no certificate in the certificate file"));
            }
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|_| NetError::Pem("no private key in the key file"))?;
            (certs, key, None)
        }
        TlsConfig::SelfSigned { names } => {
            let c = rcgen::generate_simple_self_signed(names.clone())?;
            let pem = c.cert.pem();
            let key = PrivateKeyDer::try_from(c.signing_key.serialize_der())
                .map_err(|_| NetError::Pem("generated key"))?;
            (vec![c.cert.der().clone()], key, Some(pem))
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((config, pem))
}

/// Serves connections from `listener` with `service` until shutdown.
pub(crate) fn serve<F, Fut>(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut shutdown: watch::Receiver<bool>,
    service: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            let (stream, _) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!("accept: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = shutdown.changed() => break,
            };
            let _ = stream.set_nodelay(true);
            let service = service.clone();
            let tls = tls.clone();
            let mut stop = shutdown.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let f = service(req);
                    async move { Ok::<_, std::convert::Infallible>(f.await) }
                });
                let http = hyper::server::conn::http1::Builder::new();
                let result = match tls {
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(s) => {
                            let conn = http.serve_connection(TokioIo::new(s), svc);
                            tokio::select! { r = conn => r, _ = stop.changed() => Ok(()) }
                        }
                        Err(e) => {
                            tracing::debug!("tls handshake: {e}");
                            Ok(())
                        }
                    },
                    None => {
                        let conn = http.serve_connection(TokioIo::new(stream), svc);
                        tokio::select! { r = conn => r, _ = stop.changed() => Ok(()) }
                    }
                };
                if let Err(e) = result {
                    tracing::debug!("connection: {e}");
                }
            });
        }
    })
}

/// Starts a server on the current tokio runtime: binds the DM endpoint (and the admin API when
/// configured), and returns at once.
///
/// # Errors
/// A listener cannot be bound, the TLS material is unusable.
pub async fn spawn(config: ServerConfig, store: Arc<dyn Store>) -> Result<ServerHandle, NetError> {
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let (tls, cert_pem) = match &config.tls {
        Some(t) => {
            let (c, pem) = load_tls(t)?;
            (Some(tokio_rustls::TlsAcceptor::from(Arc::new(c))), pem)
        }
        None => (None, None),
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let base_url = config.public_url.clone().unwrap_or_else(|| format!("{scheme}://{addr}"));
    let base_url = base_url.trim_end_matches('/').to_owned();
    let admin_token = config.admin_token.clone().unwrap_or_else(|| hex::encode(random::<16>()));
    let shared = Arc::new(Shared {
        config,
        store,
        sessions: Mutex::new(Sessions::default()),
        base_url,
        secret: random::<32>(),
        counter: AtomicU64::new(0),
        announced: Mutex::new(HashMap::new()),
    });
    let (tx, rx) = watch::channel(false);
    let mut tasks = Vec::new();
    let s = shared.clone();
    tasks.push(serve(listener, tls, rx.clone(), move |req| dm_service(s.clone(), req)));
    let mut admin_addr = None;
    if let Some(a) = shared.config.admin_listen {
        let l = TcpListener::bind(a).await?;
        admin_addr = Some(l.local_addr()?);
        let api = Arc::new(crate::admin::AdminApi { shared: shared.clone(), token: admin_token.clone() });
        tasks.push(serve(l, None, rx.clone(), move |req| crate::admin::service(api.clone(), req)));
    }
    let s = shared.clone();
    let mut stop = rx;
    let interval = s.config.reap_interval;
    tasks.push(tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                _ = stop.changed() => break,
            }
            let s2 = s.clone();
            let _ = tokio::task::spawn_blocking(move || s2.reap()).await;
        }
    }));
    Ok(ServerHandle { addr, admin_addr, admin_token, cert_pem, shared, shutdown: tx, tasks })
}

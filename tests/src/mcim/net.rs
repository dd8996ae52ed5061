//! The wire between the network roles of S3-090905: each role that receives messages is an [`Endpoint`]
//! (sans-IO: a request in, a response out, the role's own state behind it) served by a [`Network`] either
//! over real loopback HTTP (one listener per role on 127.0.0.1, an ephemeral port each, every listener a
//! tokio task; requests go out as HTTP/1.1 POSTs) or in-process (direct calls, the same handlers, the same
//! bodies).
//!
//! An endpoint that needs another role to answer calls it through the [`Net`] it is handed (the VNO asks
//! the ICF for an AV while the M2ME's attach waits); every exchange, made by the scenario or by a role, is
//! recorded in order in the network's transcript ([`Exchange`], labelled with its step) and every request a
//! role's listener received in its log ([`Network::received`]). The bodies are the `m2msim_m2m::wire`
//! types; `docs/m2msimmobj.md` §7 lists the endpoints.
//!
//! In HTTP mode a handler runs on tokio's blocking pool (the role's state under its lock), so a nested call
//! is a blocking HTTP exchange of its own; the handlers never call back into a role that waits on them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use m2msim_m2m::wire::{JSON, Problem};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::TcpListener;

/// A party of S3-090905 that sends or receives messages between the roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The M2ME (a client only: it has no endpoint).
    M2me,
    /// The CCIF: the PCIDs' temporary-access credentials.
    Ccif,
    /// The ICF: authentication vectors for PCIDs, the bootstrap context.
    Icf,
    /// The VNO: attach with AKA, the provisional connectivity grant.
    Vno,
    /// The DRF: bootstrap delivery.
    Drf,
    /// The DPF's provisioning interface toward the SHO (its DM endpoint is the DM server).
    Dpf,
    /// The SHO: registrations, validation results, MCIM issue, status reports, its own network's attach.
    Sho,
    /// The PVA: validation.
    Pva,
}

impl Role {
    /// The roles with an endpoint.
    pub const SERVERS: [Self; 7] =
        [Self::Ccif, Self::Icf, Self::Vno, Self::Drf, Self::Dpf, Self::Sho, Self::Pva];

    /// The role's name as the contribution writes it.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::M2me => "M2ME",
            Self::Ccif => "CCIF",
            Self::Icf => "ICF",
            Self::Vno => "VNO",
            Self::Drf => "DRF",
            Self::Dpf => "DPF",
            Self::Sho => "SHO",
            Self::Pva => "PVA",
        }
    }

    /// The host name the role has in-process (and in the docs).
    #[must_use]
    pub const fn nominal_host(self) -> &'static str {
        match self {
            Self::M2me => "m2me.example",
            Self::Ccif => "ccif.ro.example",
            Self::Icf => "icf.ro.example",
            Self::Vno => "vno.example",
            Self::Drf => "drf.ro.example",
            Self::Dpf => "dpf-api.ro.example",
            Self::Sho => "sho.example",
            Self::Pva => "pva.example",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One request to a role's endpoint (always a POST in this wire).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The path (`/icf/av`).
    pub path: String,
    /// The body's content type.
    pub content_type: String,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// A POST of `value` as JSON.
    #[must_use]
    pub fn json<T: Serialize>(path: impl Into<String>, value: &T) -> Self {
        Self {
            path: path.into(),
            content_type: JSON.into(),
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }

    /// A POST of bytes.
    #[must_use]
    pub fn bytes(path: impl Into<String>, content_type: &str, body: Vec<u8>) -> Self {
        Self { path: path.into(), content_type: content_type.into(), body }
    }

    /// The body as JSON of `T`.
    ///
    /// # Errors
    /// A [`Response::problem`] (400) saying why it does not parse, at `step`.
    pub fn parse<T: DeserializeOwned>(&self, step: u8) -> Result<T, Response> {
        if !self.content_type.starts_with(JSON) {
            return Err(Response::problem(415, step, format!("expected {JSON}, got {}", self.content_type)));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| Response::problem(400, step, format!("body does not parse: {e}")))
    }
}

/// A role's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The body's content type (empty without a body).
    pub content_type: String,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// `status` with `value` as JSON.
    #[must_use]
    pub fn json<T: Serialize>(status: u16, value: &T) -> Self {
        Self { status, content_type: JSON.into(), body: serde_json::to_vec(value).unwrap_or_default() }
    }

    /// `status` without a body.
    #[must_use]
    pub fn empty(status: u16) -> Self {
        Self { status, content_type: String::new(), body: Vec::new() }
    }

    /// An error: `status` with a [`Problem`] naming the step.
    #[must_use]
    pub fn problem(status: u16, step: u8, error: impl Into<String>) -> Self {
        Self::json(status, &Problem { step, error: error.into() })
    }

    /// 404 for a path the role does not serve.
    #[must_use]
    pub fn not_found(role: Role, path: &str) -> Self {
        Self::problem(404, 0, format!("the {role} has no endpoint {path}"))
    }

    /// True for 2xx.
    #[must_use]
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON of `T`, when the status is 2xx.
    ///
    /// # Errors
    /// Why not: the status and the problem, or the parse error.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, String> {
        if !self.ok() {
            return Err(self.why());
        }
        serde_json::from_slice(&self.body).map_err(|e| format!("the answer does not parse: {e}"))
    }

    /// The [`Problem`] of an error answer.
    #[must_use]
    pub fn problem_body(&self) -> Option<Problem> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The status and, for an error, what the problem says.
    #[must_use]
    pub fn why(&self) -> String {
        match self.problem_body() {
            Some(p) => format!("HTTP {}: {}", self.status, p.error),
            None => format!("HTTP {}", self.status),
        }
    }
}

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The role could not be reached (connection refused: it is down), or the exchange broke off.
    #[error("{0}")]
    Transport(String),
    /// The M2ME's bearer does not reach the destination (the VNO's grant).
    #[error("blocked: {0}")]
    Blocked(String),
}

/// How a role calls another (handed to [`Endpoint::handle`]).
pub trait Net: Send + Sync {
    /// Sends `req` from `from` to `to`'s endpoint, recorded as part of `step`.
    ///
    /// # Errors
    /// [`CallError`] when no answer came.
    fn call(&self, step: u8, from: Role, to: Role, req: Request) -> Result<Response, CallError>;
}

/// A role's request handler: its state and the logic of `m2msim_m2m` behind one endpoint.
pub trait Endpoint: Send {
    /// Answers `req`; `net` reaches the other roles.
    fn handle(&mut self, req: &Request, net: &dyn Net) -> Response;
}

/// One exchange between two parties, as the transcript records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The step of S3-090905 it belongs to.
    pub step: u8,
    /// Who sent it.
    pub from: Role,
    /// To whom.
    pub to: Role,
    /// The request's URL (`http://127.0.0.1:<port>/icf/av`, or the nominal host in-process).
    pub url: String,
    /// True over HTTP, false for a direct call.
    pub http: bool,
    /// The status, or why there was none; `None` while under way.
    pub outcome: Option<Result<u16, String>>,
}

impl Exchange {
    /// True when it got no answer or an error status.
    #[must_use]
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Some(Err(_))) || matches!(self.outcome, Some(Ok(s)) if s >= 400)
    }

    /// `POST http://127.0.0.1:41234/icf/av  200` (`direct call POST /icf/av  200` in-process).
    #[must_use]
    pub fn request_line(&self) -> String {
        let target = if self.http {
            format!("POST {}", self.url)
        } else {
            let path = self.url.split_once("://").map_or(self.url.as_str(), |(_, r)| r);
            format!("direct call POST {}", path.find('/').map_or(path, |i| &path[i..]))
        };
        match &self.outcome {
            Some(Ok(s)) => format!("{target}  {s}"),
            Some(Err(e)) => format!("{target}  failed: {e}"),
            None => format!("{target}  (no answer)"),
        }
    }

    /// `VNO -> ICF  POST http://…/icf/av  200`.
    #[must_use]
    pub fn line(&self) -> String {
        format!("{} -> {}  {}", self.from, self.to, self.request_line())
    }
}

type Shared = Arc<Mutex<Box<dyn Endpoint>>>;

fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The network state the roles' servers and the scenario share.
struct Inner {
    http: Option<tokio::runtime::Handle>,
    urls: BTreeMap<Role, String>,
    endpoints: Mutex<BTreeMap<Role, Shared>>,
    down: BTreeSet<Role>,
    transcript: Mutex<Vec<Exchange>>,
    received: Mutex<BTreeMap<Role, Vec<String>>>,
}

/// How long one exchange may take before it counts as broken.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(20);

impl Inner {
    fn record(&self, role: Role, method: &str, path: &str, status: u16) {
        lock(&self.received).entry(role).or_default().push(format!("{method} {path} {status}"));
    }

    fn direct(&self, to: Role, req: &Request, net: &Arc<Self>) -> Result<Response, CallError> {
        if self.down.contains(&to) {
            return Err(CallError::Transport(format!("the {to} is down (not started)")));
        }
        let Some(ep) = lock(&self.endpoints).get(&to).cloned() else {
            return Err(CallError::Transport(format!("the {to} has no endpoint")));
        };
        let r = lock(&ep).handle(req, &NetRef(net.clone()));
        self.record(to, "POST", &req.path, r.status);
        Ok(r)
    }

    fn over_http(
        handle: &tokio::runtime::Handle,
        to: Role,
        url: &str,
        req: Request,
    ) -> Result<Response, CallError> {
        let headers = [("content-type", req.content_type.as_str())];
        let exchange = m2msim_dm_server::http::send("POST", url, &headers, req.body, None);
        let r = handle
            .block_on(async { tokio::time::timeout(EXCHANGE_TIMEOUT, exchange).await })
            .map_err(|_| {
                CallError::Transport(format!("the {to} did not answer in {} s", EXCHANGE_TIMEOUT.as_secs()))
            })?
            .map_err(|e| CallError::Transport(format!("the {to} does not answer: {e}")))?;
        let content_type = r.header("content-type").unwrap_or_default().to_owned();
        Ok(Response { status: r.status, content_type, body: r.body })
    }

    fn call(self: &Arc<Self>, step: u8, from: Role, to: Role, req: Request) -> Result<Response, CallError> {
        let base = self.urls.get(&to).cloned().unwrap_or_default();
        let url = format!("{base}{}", req.path);
        let index = {
            let mut t = lock(&self.transcript);
            t.push(Exchange { step, from, to, url: url.clone(), http: self.http.is_some(), outcome: None });
            t.len() - 1
        };
        let result = match &self.http {
            Some(h) => Self::over_http(h, to, &url, req),
            None => self.direct(to, &req, self),
        };
        let outcome = match &result {
            Ok(r) => Ok(r.status),
            Err(e) => Err(e.to_string()),
        };
        if let Some(x) = lock(&self.transcript).get_mut(index) {
            x.outcome = Some(outcome);
        }
        result
    }
}

/// The [`Net`] handed to handlers.
struct NetRef(Arc<Inner>);

impl Net for NetRef {
    fn call(&self, step: u8, from: Role, to: Role, req: Request) -> Result<Response, CallError> {
        self.0.call(step, from, to, req)
    }
}

/// The roles' network: their endpoints, how they are reached, and what crossed it.
pub struct Network {
    runtime: Option<tokio::runtime::Runtime>,
    listeners: Vec<(Role, TcpListener)>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network").field("urls", &self.inner.urls).finish_non_exhaustive()
    }
}

impl Network {
    /// Binds one listener per role on 127.0.0.1 (an ephemeral port each) on a runtime of its own; a role
    /// in `down` gets a port that nothing listens on (its listener is bound and closed at once: connecting
    /// is refused). The endpoints are served once [`Network::start`] gives them.
    ///
    /// # Errors
    /// The runtime or a listener cannot start.
    pub fn http(down: &[Role]) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("m2msim-roles")
            .enable_all()
            .build()
            .map_err(|e| format!("the roles' runtime: {e}"))?;
        let mut urls = BTreeMap::new();
        let mut listeners = Vec::new();
        for role in Role::SERVERS {
            let l = runtime
                .block_on(TcpListener::bind(("127.0.0.1", 0)))
                .map_err(|e| format!("binding the {role}'s listener: {e}"))?;
            let addr = l.local_addr().map_err(|e| format!("the {role}'s listener: {e}"))?;
            urls.insert(role, format!("http://{addr}"));
            if !down.contains(&role) {
                listeners.push((role, l));
            }
        }
        let inner = Arc::new(Inner {
            http: Some(runtime.handle().clone()),
            urls,
            endpoints: Mutex::new(BTreeMap::new()),
            down: down.iter().copied().collect(),
            transcript: Mutex::new(Vec::new()),
            received: Mutex::new(BTreeMap::new()),
        });
        Ok(Self { runtime: Some(runtime), listeners, tasks: Vec::new(), inner })
    }

    /// The roles joined by direct calls (the same handlers and bodies); a role in `down` refuses every call.
    #[must_use]
    pub fn in_process(down: &[Role]) -> Self {
        let urls = Role::SERVERS.iter().map(|r| (*r, format!("http://{}", r.nominal_host()))).collect();
        let inner = Arc::new(Inner {
            http: None,
            urls,
            endpoints: Mutex::new(BTreeMap::new()),
            down: down.iter().copied().collect(),
            transcript: Mutex::new(Vec::new()),
            received: Mutex::new(BTreeMap::new()),
        });
        Self { runtime: None, listeners: Vec::new(), tasks: Vec::new(), inner }
    }

    /// True over HTTP.
    #[must_use]
    pub fn is_http(&self) -> bool {
        self.runtime.is_some()
    }

    /// A role's base URL (`http://127.0.0.1:<port>`; `http://<nominal host>` in-process).
    #[must_use]
    pub fn url(&self, role: Role) -> String {
        self.inner.urls.get(&role).cloned().unwrap_or_default()
    }

    /// A role's authority (`127.0.0.1:<port>`), what a connectivity grant lists.
    #[must_use]
    pub fn authority(&self, role: Role) -> String {
        let url = self.url(role);
        url.split_once("://").map_or(url.clone(), |(_, r)| r.to_owned())
    }

    /// Every role's base URL.
    #[must_use]
    pub fn urls(&self) -> BTreeMap<Role, String> {
        self.inner.urls.clone()
    }

    /// Serves the endpoints (over HTTP: a tokio task per listener).
    pub fn start(&mut self, endpoints: Vec<(Role, Box<dyn Endpoint>)>) {
        for (role, ep) in endpoints {
            lock(&self.inner.endpoints).insert(role, Arc::new(Mutex::new(ep)));
        }
        let Some(rt) = &self.runtime else { return };
        for (role, listener) in std::mem::take(&mut self.listeners) {
            let Some(ep) = lock(&self.inner.endpoints).get(&role).cloned() else { continue };
            let inner = self.inner.clone();
            self.tasks.push(rt.spawn(serve(role, listener, ep, inner)));
        }
    }

    /// Sends `req` from `from` (the scenario acting for the M2ME, or for a role whose turn it is) to `to`.
    ///
    /// # Errors
    /// [`CallError`].
    pub fn call(&self, step: u8, from: Role, to: Role, req: Request) -> Result<Response, CallError> {
        self.inner.call(step, from, to, req)
    }

    /// Records a request the M2ME's bearer refused (nothing went on the wire).
    pub fn record_blocked(&self, step: u8, to: Role, path: &str, why: &str) {
        let url = format!("{}{path}", self.url(to));
        lock(&self.inner.transcript).push(Exchange {
            step,
            from: Role::M2me,
            to,
            url,
            http: self.is_http(),
            outcome: Some(Err(format!("blocked: {why}"))),
        });
    }

    /// The transcript from entry `from` on.
    #[must_use]
    pub fn transcript(&self, from: usize) -> Vec<Exchange> {
        lock(&self.inner.transcript).get(from..).map(<[Exchange]>::to_vec).unwrap_or_default()
    }

    /// The number of exchanges so far.
    #[must_use]
    pub fn exchanges(&self) -> usize {
        lock(&self.inner.transcript).len()
    }

    /// What each role's listener received (`POST /icf/av 200`: method, path, the status it answered), in
    /// order.
    #[must_use]
    pub fn received(&self) -> BTreeMap<Role, Vec<String>> {
        lock(&self.inner.received).clone()
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

/// The largest request body a role takes.
const MAX_BODY: usize = 1 << 20;

/// Serves one role's listener: every connection on a task of its own, every request handled on the
/// blocking pool under the role's lock.
async fn serve(role: Role, listener: TcpListener, ep: Shared, inner: Arc<Inner>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (ep, inner) = (ep.clone(), inner.clone());
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let (ep, inner) = (ep.clone(), inner.clone());
                async move { Ok::<_, std::convert::Infallible>(answer(role, req, ep, inner).await) }
            });
            let _ =
                hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
        });
    }
}

async fn answer(
    role: Role,
    req: hyper::Request<Incoming>,
    ep: Shared,
    inner: Arc<Inner>,
) -> hyper::Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let content_type =
        req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let method = req.method().to_string();
    let post = req.method() == hyper::Method::POST;
    let body = req.into_body().collect().await.map(http_body_util::Collected::to_bytes);
    let resp = match body {
        _ if !post => Response::problem(405, 0, "only POST"),
        Ok(b) if b.len() > MAX_BODY => Response::problem(413, 0, "body too large"),
        Ok(b) => {
            let request = Request { path: path.clone(), content_type, body: b.to_vec() };
            let net = NetRef(inner.clone());
            tokio::task::spawn_blocking(move || lock(&ep).handle(&request, &net))
                .await
                .unwrap_or_else(|_| Response::problem(500, 0, "the handler failed"))
        }
        Err(e) => Response::problem(400, 0, format!("reading the body: {e}")),
    };
    inner.record(role, &method, &path, resp.status);
    let mut b = hyper::Response::builder().status(resp.status);
    if !resp.content_type.is_empty() {
        b = b.header("content-type", resp.content_type);
    }
    b.body(Full::new(Bytes::from(resp.body))).unwrap_or_else(|_| hyper::Response::new(Full::default()))
}

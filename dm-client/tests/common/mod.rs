//! Test helpers: a tiny HTTP(S) DM server over the server engine, and client trees.
#![allow(clippy::unwrap_used, dead_code, missing_docs)] // test code

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use m2msim_codec::dm::auth::AuthType;
use m2msim_codec::dm::pkg0::UiMode;
use m2msim_codec::syncml::Wire;
use m2msim_dm_client::mo::devinfo::DevInfo;
use m2msim_dm_client::mo::dmacc::{self, Credentials as ClientCreds, DmAccount, Layout, Secret};
use m2msim_dm_client::session::{ClientConfig, DmClient, SeededNonces as ClientNonces};
use m2msim_dm_client::tree::{Acl, DmTime, DmTree};
use m2msim_dm_server::directory::{AuthScheme, Credentials, DeviceRecord, InMemoryDirectory};
use m2msim_dm_server::jobs::InMemoryJobQueue;
use m2msim_dm_server::nonce::SeededNonces;
use m2msim_dm_server::package0::{self, Notification};
use m2msim_dm_server::session::{
    IncomingMessage, Input, MessageKey, Output, ServerSession, Services, SessionConfig, SessionOutcome,
};
use tokio::net::TcpListener;

pub const DEV: &str = "IMEI:490154203237518";
pub const SERVER_ID: &str = "srv.example";

fn client_side(scheme: AuthScheme) -> (AuthScheme, &'static str, &'static str, &'static [u8]) {
    (scheme, "dev", "devpw", b"c0")
}

fn server_side(scheme: AuthScheme) -> (AuthScheme, &'static str, &'static str, &'static [u8]) {
    (scheme, SERVER_ID, "srvpw", b"s0")
}

/// The device record the test server holds: the client's credentials with `scheme`, and server credentials
/// (md5, or HMAC in HMAC mode).
pub fn record(scheme: AuthScheme) -> DeviceRecord {
    let c = client_side(scheme);
    let s = server_side(if scheme == AuthScheme::Hmac { AuthScheme::Hmac } else { AuthScheme::Md5 });
    DeviceRecord {
        device_id: DEV.into(),
        client: Credentials::new(c.0, c.1, c.2, c.3.to_vec()),
        server: Some(Credentials::new(s.0, s.1, s.2, s.3.to_vec())),
    }
}

fn creds(s: (AuthScheme, &'static str, &'static str, &'static [u8])) -> ClientCreds {
    let auth_type: AuthType = s.0.auth_type();
    ClientCreds { auth_type, name: s.1.into(), secret: Secret::new(s.2), nonce: s.3.to_vec() }
}

/// A client tree: DevInfo, a DM 1.2 account for `url` with client credentials of `scheme` and, when
/// `server_creds` (or in HMAC mode), the server's; the root ACL open to everyone.
pub fn client_tree(url: &str, scheme: AuthScheme, server_creds: bool) -> DmTree {
    let t0 = DmTime(1_000_000);
    let mut t = DmTree::default();
    let info = DevInfo {
        dev_id: DEV.into(),
        man: "m2msim".into(),
        model: "sim".into(),
        dm_v: "1.2".into(),
        lang: "en-US".into(),
    };
    info.install(&mut t, t0).unwrap();
    dmacc::install(&mut t, Layout::Dm12, t0).unwrap();
    let srv_scheme = if scheme == AuthScheme::Hmac { AuthScheme::Hmac } else { AuthScheme::Md5 };
    let acc = DmAccount {
        layout: Layout::Dm12,
        account: "acc".into(),
        server_id: SERVER_ID.into(),
        name: None,
        addr: url.into(),
        addr_type: None,
        port: None,
        con_ref: None,
        auth_pref: None,
        client: Some(creds(client_side(scheme))),
        server: (server_creds || scheme == AuthScheme::Hmac).then(|| creds(server_side(srv_scheme))),
    };
    acc.write(&mut t, t0).unwrap();
    t.local(t0).set_acl(".", Acl::parse("Add=*&Get=*&Replace=*&Delete=*&Exec=*").unwrap()).unwrap();
    t
}

pub fn client(url: &str, wire: Wire, scheme: AuthScheme, server_creds: bool) -> DmClient {
    let config = ClientConfig { wire, max_msg_size: 8 * 1024, ..ClientConfig::default() };
    DmClient::new(client_tree(url, scheme, server_creds), config, ClientNonces::new(7))
}

type Sessions = Arc<Mutex<HashMap<(String, String), ServerSession>>>;

/// A DM server on an ephemeral loopback port: one engine session per (device, SessionID).
pub struct TestServer {
    pub addr: SocketAddr,
    pub https: bool,
    pub dir: InMemoryDirectory,
    pub jobs: InMemoryJobQueue,
    pub config: Arc<Mutex<SessionConfig>>,
    outcomes: Arc<Mutex<Vec<SessionOutcome>>>,
    /// How many DM messages the server has answered with.
    pub responses: Arc<AtomicU64>,
}

impl TestServer {
    pub async fn start(tls: Option<Arc<rustls::ServerConfig>>, scheme: AuthScheme) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let dir = InMemoryDirectory::new();
        dir.insert(record(scheme));
        let jobs = InMemoryJobQueue::new();
        let config =
            Arc::new(Mutex::new(SessionConfig { max_msg_size: 6 * 1024, ..SessionConfig::default() }));
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let sessions: Sessions = Arc::new(Mutex::new(HashMap::new()));
        let seed = Arc::new(AtomicU64::new(1));
        let responses = Arc::new(AtomicU64::new(0));
        let https = tls.is_some();
        let state =
            (dir.clone(), jobs.clone(), config.clone(), outcomes.clone(), sessions, seed, responses.clone());
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { return };
                let state = state.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(handle(req, state).await) }
                    });
                    let http = hyper::server::conn::http1::Builder::new();
                    match tls {
                        Some(cfg) => {
                            let Ok(s) = tokio_rustls::TlsAcceptor::from(cfg).accept(tcp).await else {
                                return;
                            };
                            let _ = http.serve_connection(TokioIo::new(s), svc).await;
                        }
                        None => {
                            let _ = http.serve_connection(TokioIo::new(tcp), svc).await;
                        }
                    }
                });
            }
        });
        Self { addr, https, dir, jobs, config, outcomes, responses }
    }

    pub fn url(&self) -> String {
        format!("{}://{}/dm", if self.https { "https" } else { "http" }, self.addr)
    }

    /// The outcomes of the sessions that ended, in order.
    pub fn outcomes(&self) -> Vec<SessionOutcome> {
        self.outcomes.lock().unwrap().clone()
    }

    /// A package 0 for the device; the next session must carry its SessionID.
    pub fn package0(&self, session_id: u16, ui: UiMode) -> Notification {
        let n = package0::build(&self.dir.get(DEV).unwrap(), session_id, ui).unwrap();
        self.config.lock().unwrap().expected_session_id = Some(n.session_id.clone());
        n
    }
}

type State = (
    InMemoryDirectory,
    InMemoryJobQueue,
    Arc<Mutex<SessionConfig>>,
    Arc<Mutex<Vec<SessionOutcome>>>,
    Sessions,
    Arc<AtomicU64>,
    Arc<AtomicU64>,
);

fn reply(status: u16, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    r
}

async fn handle(req: Request<Incoming>, state: State) -> Response<Full<Bytes>> {
    let (dir, jobs, config, outcomes, sessions, seed, responses) = state;
    if req.uri().path() != "/dm" {
        return reply(404, b"no such endpoint".to_vec());
    }
    let ct = req.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let hmac = req.headers().get("x-syncml-hmac").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = req.into_body().collect().await.unwrap().to_bytes().to_vec();
    let Ok(key) = MessageKey::peek(&body) else { return reply(400, b"not a SyncML message".to_vec()) };
    let k = (key.device_id.clone(), key.session_id.clone());
    let mut map = sessions.lock().unwrap();
    let s = map.entry(k.clone()).or_insert_with(|| {
        let services = Services {
            directory: Box::new(dir.clone()),
            jobs: Box::new(jobs.clone()),
            nonces: Box::new(SeededNonces::new(seed.fetch_add(1, Ordering::Relaxed).to_be_bytes().to_vec())),
        };
        ServerSession::new(config.lock().unwrap().clone(), services, Instant::now())
    });
    let message = IncomingMessage { body: &body, content_type: ct.as_deref(), hmac: hmac.as_deref() };
    if s.handle_input(Input::Message { now: Instant::now(), message }).is_err() {
        map.remove(&k);
        return reply(400, b"session ended".to_vec());
    }
    let mut out = None;
    let mut ended = false;
    while let Some(o) = s.poll_output() {
        match o {
            Output::Message(m) => out = Some(m),
            Output::Ended { outcome } => {
                outcomes.lock().unwrap().push(outcome);
                ended = true;
            }
            Output::Event(_) => {}
        }
    }
    if ended {
        map.remove(&k);
    }
    match out {
        Some(m) => {
            let mut r = reply(200, m.body);
            r.headers_mut().insert("content-type", m.content_type.parse().unwrap());
            if let Some(h) = m.hmac {
                r.headers_mut().insert("x-syncml-hmac", h.parse().unwrap());
            }
            responses.fetch_add(1, Ordering::SeqCst);
            r
        }
        None => reply(200, Vec::new()),
    }
}

/// A self-signed certificate for `localhost` as a rustls server config (ring), and its PEM.
pub fn self_signed() -> (Arc<rustls::ServerConfig>, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = ck.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    (Arc::new(cfg), ck.cert.pem())
}

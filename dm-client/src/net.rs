//! The HTTP(S) adapter of the client engine (OMA DM 1.2.1 HTTP binding, `OMA-TS-SyncML_HTTPBinding`):
//! drives a [`DmClient`] session over real sockets with hyper 1 and rustls (ring provider).
//!
//! Main items: [`run_session`] (one session, client- or server-initiated, to its end), [`Transport`] (the
//! HTTP(S) settings: trust, timeouts, body limit), [`Trust`], [`Start`], [`Report`] (outcome, events, the
//! transcript of every message in and out) and [`NetError`].
//!
//! The loop follows the engine's contract ([`crate::session`]): every [`Output::Transmit`] is POSTed to its
//! URI (the account's `Addr`, or the last `RespURI`) with its `Content-Type` and, when present, the
//! `x-syncml-hmac` header; a 2xx response's body and `x-syncml-hmac` header go back as [`Input::Response`];
//! a connection error, a non-2xx status, a body over the limit or no answer within
//! [`Transport::request_timeout`] go back as [`Input::TransportFailed`] (and are noted in the report). A
//! transmit that expects no reply (the Session Abort) is sent and its answer ignored.
//!
//! Decisions: one HTTP/1.1 connection is kept open for the session and reused while the URI's scheme, host
//! and port stay the same (a `RespURI` elsewhere opens a new one; a connection the server closed is opened
//! again once). HTTPS trusts only the roots given ([`Trust::Roots`], e.g. a `--ca` file): there are no
//! built-in web roots, since DM servers under test are lab servers. [`Trust::InsecureAcceptAny`] accepts any
//! certificate (signatures are still checked, so the TLS handshake is real) and says so on stderr every time
//! a connection is made. After every server message the tree can be saved ([`run_session`]'s `store`):
//! the engine applies a message's commands, Atomic included, within one [`DmClient::handle_input`] call, so
//! a snapshot taken after it holds either all of an Atomic or none of it.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;

use crate::session::{DmClient, Event, Input, Outcome, Output, SessionError, Transmit};
use crate::store::{StoreError, TreeStore};
use crate::tree::DmTime;

/// The HTTP header carrying the HMAC of a message (OMA DM 1.2.1 Security §5.3.2).
pub const HMAC_HEADER: &str = "x-syncml-hmac";

/// Which HTTPS servers to trust.
#[derive(Debug, Clone)]
pub enum Trust {
    /// Certificates chaining to these roots (a `--ca` PEM file; see [`Trust::from_pem_file`]).
    Roots(Vec<CertificateDer<'static>>),
    /// Any certificate, self-signed ones included: for lab servers only. Printed loudly on stderr.
    InsecureAcceptAny,
}

impl Trust {
    /// The certificates of a PEM file (one or more `CERTIFICATE` blocks).
    ///
    /// # Errors
    /// [`NetError::Ca`] when the file cannot be read or holds no certificate.
    pub fn from_pem_file(path: &std::path::Path) -> Result<Self, NetError> {
        let bad = |reason: String| NetError::Ca { path: path.display().to_string(), reason };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("no CERTIFICATE in the file".into()));
        }
        Ok(Self::Roots(certs))
    }

    /// The certificates of PEM text.
    ///
    /// # Errors
    /// [`NetError::Ca`] when the text holds no certificate.
    pub fn from_pem(pem: &[u8]) -> Result<Self, NetError> {
        let bad = |reason: String| NetError::Ca { path: "<pem>".into(), reason };
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("no CERTIFICATE in the text".into()));
        }
        Ok(Self::Roots(certs))
    }
}

/// The HTTP(S) settings of [`run_session`].
#[derive(Debug, Clone)]
pub struct Transport {
    /// Whom to trust over HTTPS.
    pub trust: Trust,
    /// How long one request may take, connecting included.
    pub request_timeout: Duration,
    /// The largest response body read (larger ones fail the transport); `None`: twice the client's
    /// `MaxMsgSize` plus 64 KiB (the engine itself rejects messages over its `MaxMsgSize`).
    pub max_body: Option<usize>,
}

impl Default for Transport {
    /// No HTTPS roots, 60 s per request, the default body limit.
    fn default() -> Self {
        Self { trust: Trust::Roots(Vec::new()), request_timeout: Duration::from_secs(60), max_body: None }
    }
}

/// How a session starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Client-initiated (Alert 1201) with the account of this ServerID.
    Connect {
        /// The account's ServerID.
        server_id: String,
        /// The SessionID; `None`: a random one.
        session_id: Option<String>,
    },
    /// Server-initiated: this package 0 (Notification §6) arrived; the engine checks its digest.
    Notification {
        /// The package 0 bytes.
        package0: Vec<u8>,
    },
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Client to server (a request body).
    Sent,
    /// Server to client (a response body).
    Received,
}

/// One message of the transcript, as it went over the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// Which way.
    pub direction: Direction,
    /// The request URI (for both directions: the response answers it).
    pub uri: String,
    /// The `Content-Type` header, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The `x-syncml-hmac` header, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac: Option<String>,
    /// The HTTP status (responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// The body.
    #[serde(with = "m2msim_codec::hexser")]
    pub body: Vec<u8>,
}

impl Exchange {
    /// The body as XML text: as is when it is XML, converted when it is WBXML (under the RTK profile's
    /// code pages), `None` when it is neither.
    #[must_use]
    pub fn xml(&self) -> Option<String> {
        if self.body.first() == Some(&b'<') {
            return String::from_utf8(self.body.clone()).ok();
        }
        m2msim_codec::syncml::tree::wbxml_bytes_to_xml(
            &self.body,
            &m2msim_codec::syncml::tree::Profile::rtk(),
        )
        .ok()
    }
}

/// What one session came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// How it ended.
    pub outcome: Outcome,
    /// The engine's events, in order.
    pub events: Vec<Event>,
    /// Every message in and out, in order.
    pub transcript: Vec<Exchange>,
    /// Transport failures (connection errors, HTTP statuses, timeouts), in order.
    pub transport_errors: Vec<String>,
}

impl Report {
    /// Whether the session completed normally.
    #[must_use]
    pub fn completed(&self) -> bool {
        self.outcome == Outcome::Completed
    }

    /// The report as JSON: the outcome and events as text, the transcript with each body as hex and as
    /// XML.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        let transcript: Vec<_> = self
            .transcript
            .iter()
            .map(|x| {
                let mut v = serde_json::to_value(x).unwrap_or(serde_json::Value::Null);
                if let (Some(o), Some(xml)) = (v.as_object_mut(), x.xml()) {
                    o.insert("xml".into(), xml.into());
                }
                v
            })
            .collect();
        serde_json::json!({
            "outcome": format!("{:?}", self.outcome),
            "completed": self.completed(),
            "events": self.events.iter().map(|e| format!("{e:?}")).collect::<Vec<_>>(),
            "transport_errors": self.transport_errors,
            "transcript": transcript,
        })
    }
}

/// Why [`run_session`] could not run a session.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The engine refused to start (unknown account, a refused package 0, a session already running, …).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The CA file could not be used.
    #[error("CA certificates {path}: {reason}")]
    Ca {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The TLS settings could not be built.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// The tree could not be saved.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The current time as the tree counts it (seconds since the Unix epoch).
#[must_use]
pub fn now() -> DmTime {
    DmTime(SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0))
}

/// Runs one session of `client` to its end over HTTP(S) and reports it; with `store`, the tree is saved
/// after every server message and at the end (see the [module documentation](self)).
///
/// The future is not `Send` (the engine's UI handler need not be): await it on a current-thread runtime or
/// in a `LocalSet`, or from a test's `async fn` body.
///
/// # Errors
/// [`NetError`] when the session cannot start (the engine refuses the start input, the trust settings are
/// unusable) or the tree cannot be saved. Everything the server or the network does wrong ends the session
/// with its [`Outcome`] in the [`Report`] instead.
pub async fn run_session(
    client: &mut DmClient,
    start: Start,
    transport: &Transport,
    store: Option<&TreeStore>,
) -> Result<Report, NetError> {
    let tls = tls_config(&transport.trust)?;
    let max_body = transport.max_body.unwrap_or_else(|| {
        usize::try_from(client.config().max_msg_size).unwrap_or(usize::MAX / 4) * 2 + 65_536
    });
    let input = match start {
        Start::Connect { server_id, session_id } => Input::Connect { server_id, session_id, now: now() },
        Start::Notification { package0 } => Input::Notification { package0, now: now() },
    };
    client.handle_input(input)?;
    let mut conn = Connection { tls, key: None, sender: None, insecure: transport.trust_is_insecure() };
    let mut report = Report {
        outcome: Outcome::Completed,
        events: Vec::new(),
        transcript: Vec::new(),
        transport_errors: Vec::new(),
    };
    loop {
        let Some(out) = client.poll_output() else {
            // The engine waits for nothing and has ended nothing: it cannot happen by its contract, but a
            // loop must not spin; report it as a failed transport.
            report.transport_errors.push("the engine stopped without ending the session".into());
            if client.handle_input(Input::TransportFailed { now: now() }).is_err() {
                break;
            }
            continue;
        };
        let t = match out {
            Output::Event(e) => {
                report.events.push(e);
                continue;
            }
            Output::Ended { outcome } => {
                tracing::info!("session ended: {outcome:?}");
                report.outcome = outcome;
                break;
            }
            Output::Transmit(t) => t,
        };
        tracing::debug!(uri = %t.uri, bytes = t.body.len(), content_type = t.content_type, "POST");
        report.transcript.push(Exchange {
            direction: Direction::Sent,
            uri: t.uri.clone(),
            content_type: Some(t.content_type.to_owned()),
            hmac: t.hmac.clone(),
            http_status: None,
            body: t.body.clone(),
        });
        let result = tokio::time::timeout(transport.request_timeout, conn.post(&t, max_body)).await;
        let result = result.unwrap_or_else(|_| {
            Err(format!("no answer within {} ms", transport.request_timeout.as_millis()))
        });
        if !t.expects_reply {
            if let Err(e) = result {
                report.transport_errors.push(format!("{} (reply not needed)", e));
            }
            continue;
        }
        let input = match result {
            Ok(resp) => {
                tracing::debug!(status = resp.status, bytes = resp.body.len(), "answer");
                report.transcript.push(Exchange {
                    direction: Direction::Received,
                    uri: t.uri.clone(),
                    content_type: resp.content_type.clone(),
                    hmac: resp.hmac.clone(),
                    http_status: Some(resp.status),
                    body: resp.body.clone(),
                });
                if (200..300).contains(&resp.status) {
                    Input::Response { body: resp.body, hmac: resp.hmac, now: now() }
                } else {
                    report.transport_errors.push(format!("HTTP status {} from {}", resp.status, t.uri));
                    Input::TransportFailed { now: now() }
                }
            }
            Err(e) => {
                tracing::warn!(uri = %t.uri, "transport: {e}");
                report.transport_errors.push(e);
                Input::TransportFailed { now: now() }
            }
        };
        client.handle_input(input)?;
        if let Some(store) = store {
            store.save(client.tree())?;
        }
    }
    if let Some(store) = store {
        store.save(client.tree())?;
    }
    Ok(report)
}

impl Transport {
    fn trust_is_insecure(&self) -> bool {
        matches!(self.trust, Trust::InsecureAcceptAny)
    }
}

/// The ring provider (no aws-lc).
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_config(trust: &Trust) -> Result<Arc<rustls::ClientConfig>, NetError> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let config = match trust {
        Trust::Roots(certs) => {
            let mut roots = RootCertStore::empty();
            for c in certs {
                roots.add(c.clone())?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Trust::InsecureAcceptAny => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(
                provider.signature_verification_algorithms,
            )))
            .with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The verifier of [`Trust::InsecureAcceptAny`]: any certificate, but the handshake signatures are checked.
#[derive(Debug)]
struct AcceptAnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// A response as read.
struct HttpResponse {
    status: u16,
    content_type: Option<String>,
    hmac: Option<String>,
    body: Vec<u8>,
}

/// The session's HTTP connection, kept while the scheme, host and port stay the same.
struct Connection {
    tls: Arc<rustls::ClientConfig>,
    key: Option<(bool, String, u16)>,
    sender: Option<SendRequest<Full<Bytes>>>,
    insecure: bool,
}

impl Connection {
    async fn post(&mut self, t: &Transmit, max_body: usize) -> Result<HttpResponse, String> {
        let uri: Uri = t.uri.parse().map_err(|e| format!("bad server URI {:?}: {e}", t.uri))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(format!("server URI {:?} is neither http nor https", t.uri)),
        };
        let host = uri.host().ok_or_else(|| format!("server URI {:?} has no host", t.uri))?.to_owned();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let key = (https, host.clone(), port);
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let authority = uri.authority().map_or(host.clone(), |a| a.as_str().to_owned());
        // Reuse the open connection; if the server closed it, open a new one once.
        for attempt in 0..2 {
            if self.key.as_ref() != Some(&key) || self.sender.as_ref().is_none_or(SendRequest::is_closed) {
                self.sender = Some(self.connect(https, &host, port).await?);
                self.key = Some(key.clone());
            }
            let Some(sender) = self.sender.as_mut() else { continue };
            if sender.ready().await.is_err() {
                self.sender = None;
                continue;
            }
            let mut req = Request::post(path.as_str())
                .header(HOST, authority.as_str())
                .header(CONTENT_TYPE, t.content_type)
                .header(CONTENT_LENGTH, t.body.len());
            if let Some(h) = &t.hmac {
                req = req.header(HMAC_HEADER, h.as_str());
            }
            let req = req.body(Full::new(Bytes::from(t.body.clone()))).map_err(|e| e.to_string())?;
            let resp = match sender.send_request(req).await {
                Ok(r) => r,
                Err(e) if attempt == 0 && e.is_canceled() => {
                    self.sender = None;
                    continue;
                }
                Err(e) => {
                    self.sender = None;
                    return Err(format!("HTTP request to {}: {e}", t.uri));
                }
            };
            let header = |name| {
                resp.headers().get(name).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::to_owned)
            };
            let status = resp.status().as_u16();
            let content_type = header(CONTENT_TYPE.as_str());
            let hmac = header(HMAC_HEADER);
            let body = Limited::new(resp.into_body(), max_body)
                .collect()
                .await
                .map_err(|e| {
                    self.sender = None;
                    format!("response body from {}: {e}", t.uri)
                })?
                .to_bytes()
                .to_vec();
            return Ok(HttpResponse { status, content_type, hmac, body });
        }
        Err(format!("the server at {} keeps closing the connection", t.uri))
    }

    async fn connect(&self, https: bool, host: &str, port: u16) -> Result<SendRequest<Full<Bytes>>, String> {
        let tcp = TcpStream::connect((host.trim_start_matches('[').trim_end_matches(']'), port))
            .await
            .map_err(|e| format!("connect to {host}:{port}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        if https {
            if self.insecure {
                eprintln!(
                    "WARNING: --insecure: accepting ANY certificate from {host}:{port} (lab use only; the server \
                     is not authenticated by TLS)"
                );
            }
            let name = ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']').to_owned())
                .map_err(|e| format!("server name {host:?}: {e}"))?;
            let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS handshake with {host}:{port}: {e}"))?;
            handshake(TokioIo::new(tls)).await
        } else {
            handshake(TokioIo::new(tcp)).await
        }
    }
}

async fn handshake<I>(io: I) -> Result<SendRequest<Full<Bytes>>, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, conn) =
        hyper::client::conn::http1::handshake(io).await.map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(async move {
        // The connection ends when the session drops its sender or the server closes it.
        let _ = conn.await;
    });
    Ok(sender)
}

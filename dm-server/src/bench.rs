//! The load benchmark of issue 7 §5 ([`run`], behind `dm-server bench`): simulated clients doing full
//! sessions against a server started in this process on loopback, the floor of the same HTTP traffic
//! against a handler that does nothing, and the resident memory of open idle sessions.
//!
//! - **Sessions.** [`BenchConfig::clients`] concurrent simulated clients, each running
//!   [`BenchConfig::sessions_per_client`] sessions one after the other, each session for its own device (so
//!   every operation is queued before the clock starts): package 1 with MD5 client credentials → the
//!   server's `Get` and `Replace` → their statuses and the `Results` → the server's last message. Each
//!   client keeps one HTTP/1.1 connection open (keep-alive) and follows `RespURI`.
//! - **Floor.** The same clients send the same request bodies, in the same number of round trips, to a
//!   handler that reads the body and answers with as many bytes as the DM server answered (told by an
//!   `x-len` header): what HTTP on loopback costs without DM.
//! - **CPU.** Both phases also report the CPU time of the process per session (clients and server, every
//!   thread): with the clients and the server sharing the cores, the floor's CPU per session over the DM
//!   phase's is the ratio the two can reach at best, and their difference is what DM adds to a session.
//! - **Idle sessions.** [`BenchConfig::idle_sessions`] devices each send an authenticated package 1 and
//!   stop (an operation is queued, so each session stays open waiting for the statuses); resident memory
//!   (`/proc/self/statm`) is read before and after.
//!
//! Decision: the simulated client is a script over the codec's typed model, not the `dm-client` engine
//! (a dependency cycle; and a lighter client leaves more of the two shared cores to the server). It checks
//! what it needs: the server's 212 and its next nonce, the two commands, the final message.
//!
//! Decision: the simulated clients run in this process, so their cost counts against the DM figure (not
//! against the floor). To keep it small they send pre-encoded bodies ([`Templates`]): package 1 is the
//! same for every device but for the device id (MD5 credentials over the same user, password and nonce
//! give the same digest), and the answer to the management message is the same as long as the server's
//! message has the same shape (message id, command ids, names, target URIs: checked on every session);
//! the device id is written into the template bytes (every device id has the same length, so XML and
//! WBXML inline strings stay valid). The server still decodes, authenticates, stores and encodes
//! everything; the clients still decode every answer.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use m2msim_codec::dm::ddf::Format;
use m2msim_codec::syncml::{
    AlertCode, Command, Cred, Data, DevInfo, DmVersion, Item, Results, Status, StatusCode, SyncHdr, SyncMl,
    Wire,
};
use m2msim_codec::xml::Mode;
use serde::Serialize;
use tokio::net::{TcpListener, TcpStream};

use crate::directory::{AuthScheme, Credentials, DeviceRecord};
use crate::net::{self, ServerConfig, ServerHandle};
use crate::operation::cmd;
use crate::store::{SqliteStore, Store};

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchConfig {
    /// Concurrent simulated clients.
    pub clients: usize,
    /// Sessions each client runs, one after the other.
    pub sessions_per_client: usize,
    /// Idle sessions to open for the memory measurement (0: skip it).
    pub idle_sessions: usize,
    /// WBXML instead of XML.
    pub wbxml: bool,
    /// The floor phase runs at least this long: each client repeats its sessions until the time is up
    /// (at ~10,000 sessions/s, 1,000 sessions last 0.1 s, too short for a stable figure).
    pub floor_min: Duration,
}

impl Default for BenchConfig {
    /// 50 clients × 20 sessions, 10 000 idle sessions, XML, a floor phase of at least 2 s.
    fn default() -> Self {
        Self {
            clients: 50,
            sessions_per_client: 20,
            idle_sessions: 10_000,
            wbxml: false,
            floor_min: Duration::from_secs(2),
        }
    }
}

/// Throughput and latency of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Throughput {
    /// Sessions completed.
    pub sessions: usize,
    /// HTTP round trips made.
    pub round_trips: usize,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Sessions per second.
    pub sessions_per_s: f64,
    /// Median session latency in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile session latency in milliseconds.
    pub p99_ms: f64,
    /// CPU time of this process (simulated clients and server together, every thread) per session, in
    /// microseconds: what a session costs whatever the number of cores.
    pub cpu_us_per_session: f64,
}

/// What [`run`] measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// Concurrent clients.
    pub clients: usize,
    /// Encoding.
    pub encoding: &'static str,
    /// Request and response body sizes of one session, in order.
    pub body_sizes: Vec<(usize, usize)>,
    /// Full DM sessions.
    pub dm: Throughput,
    /// The same HTTP traffic against a do-nothing handler.
    pub floor: Throughput,
    /// `dm.sessions_per_s / floor.sessions_per_s`.
    pub ratio: f64,
    /// `floor.cpu_us_per_session / dm.cpu_us_per_session`: the ratio the two would have on a machine
    /// where both are CPU-bound (as on two loopback cores); the DM work per session beyond HTTP is
    /// `dm.cpu_us_per_session - floor.cpu_us_per_session`.
    pub cpu_ratio: f64,
    /// Idle sessions opened.
    pub idle_sessions: usize,
    /// Resident bytes before opening them.
    pub rss_before: u64,
    /// Resident bytes with them open.
    pub rss_after: u64,
    /// `(rss_after - rss_before) / idle_sessions`.
    pub bytes_per_idle_session: u64,
}

/// A benchmark failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// The server did not start.
    #[error(transparent)]
    Net(#[from] net::NetError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A socket failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// HTTP failed.
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    /// A request could not be built.
    #[error("http: {0}")]
    Request(#[from] hyper::http::Error),
    /// A message did not encode or decode.
    #[error("syncml: {0}")]
    Model(#[from] m2msim_codec::syncml::ModelError),
    /// The server did not answer as a session should go.
    #[error("session: {0}")]
    Protocol(&'static str),
    /// A task failed.
    #[error("task: {0}")]
    Join(#[from] tokio::task::JoinError),
}

type BenchResult<T> = Result<T, BenchError>;

const PASSWORD: &str = "benchpw";
const NONCE: &[u8] = b"bench-n0";

fn device(i: usize) -> String {
    format!("IMEI:99{i:013}")
}

/// Stands for the device id in a template (as long as every [`device`] id).
const PLACEHOLDER: &[u8; 20] = b"IMEI:99#############";

/// Pre-encoded request bodies with [`PLACEHOLDER`] for the device id (see the module documentation).
#[derive(Debug)]
struct Templates {
    package1: Vec<u8>,
    /// The answer to the server's management message, and the shape of the message it answers.
    answer: std::sync::OnceLock<(String, Vec<u8>)>,
}

impl Templates {
    fn new(url: &str, wire: &Wire) -> BenchResult<Self> {
        let id = std::str::from_utf8(PLACEHOLDER).unwrap_or_default();
        Ok(Self { package1: package1(id, "1", url, wire)?, answer: std::sync::OnceLock::new() })
    }

    fn package1(&self, id: &str) -> Vec<u8> {
        replace_all(&self.package1, PLACEHOLDER, id.as_bytes())
    }

    /// The answer of device `id` to `server` (from the template when `server` has its shape).
    fn answer(&self, id: &str, url: &str, server: &SyncMl, wire: &Wire) -> BenchResult<Vec<u8>> {
        let key = shape(server);
        if let Some((k, t)) = self.answer.get()
            && *k == key
        {
            return Ok(replace_all(t, PLACEHOLDER, id.as_bytes()));
        }
        let body = answer(id, "1", url, server, wire)?;
        // The template: this answer with the device id put back to the placeholder.
        let _ = self.answer.set((key, replace_all(&body, id.as_bytes(), PLACEHOLDER)));
        Ok(body)
    }
}

/// `body` with every occurrence of `from` replaced by `to` (of the same length; otherwise unchanged).
fn replace_all(body: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    let n = from.len();
    if n == 0 || to.len() != n {
        return out;
    }
    let mut i = 0;
    while let Some(w) = out.get_mut(i..i + n) {
        if w == from {
            w.copy_from_slice(to);
            i += n;
        } else {
            i += 1;
        }
    }
    out
}

/// What the answer to a server message depends on besides the device id.
fn shape(m: &SyncMl) -> String {
    use std::fmt::Write as _;
    let mut k = format!("{}|{}|", m.hdr.msg_id, m.hdr.source.loc_uri);
    for c in m.body.commands.iter().filter(|c| !matches!(c, Command::Status(_))) {
        let _ = write!(k, "{}:{}", c.name(), c.cmd_id().unwrap_or(0));
        for it in c.items() {
            let _ = write!(k, ",{}", it.target_uri().unwrap_or(""));
        }
        k.push(';');
    }
    k
}

fn record(id: &str) -> DeviceRecord {
    DeviceRecord {
        device_id: id.to_owned(),
        client: Credentials::new(AuthScheme::Md5, "dev", PASSWORD.as_bytes(), NONCE.to_vec()),
        server: None,
    }
}

/// CPU seconds this process has used, user and system, every thread (Linux `/proc/self/stat`; 0
/// elsewhere). Decision: 100 clock ticks per second (`CLK_TCK` on every Linux target this runs on); the
/// phases last seconds, so the 10 ms tick is fine.
#[must_use]
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name may hold spaces: the fields counted after its closing parenthesis (state is 3rd).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest.split_whitespace().skip(11).take(2).filter_map(|v| v.parse().ok()).collect();
    f.iter().sum::<u64>() as f64 / 100.0
}

/// Resident set size of this process in bytes (Linux `/proc/self/statm`; 0 elsewhere).
#[must_use]
pub fn resident_bytes() -> u64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()))
        .unwrap_or(0);
    // Decision: 4 KiB pages (every Linux target this runs on in the lab); no libc call for sysconf.
    pages * 4096
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    sender: SendRequest<Full<Bytes>>,
    authority: String,
}

impl Conn {
    async fn open(addr: SocketAddr) -> BenchResult<Self> {
        let tcp = TcpStream::connect(addr).await?;
        let _ = tcp.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
        tokio::spawn(conn);
        Ok(Self { sender, authority: addr.to_string() })
    }

    /// POSTs `body` to `path`; returns the answer's body.
    async fn post(
        &mut self,
        path: &str,
        ct: &str,
        body: Vec<u8>,
        len: Option<usize>,
    ) -> BenchResult<Vec<u8>> {
        self.sender.ready().await?;
        let mut b = Request::post(path).header("host", &self.authority).header("content-type", ct);
        if let Some(n) = len {
            b = b.header("x-len", n);
        }
        let resp = self.sender.send_request(b.body(Full::new(Bytes::from(body)))?).await?;
        if !resp.status().is_success() {
            return Err(BenchError::Protocol("the server answered an HTTP error"));
        }
        Ok(resp.into_body().collect().await?.to_bytes().to_vec())
    }
}

/// The path of a URL (`http://host:port/path` → `/path`).
fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or_else(|| "/".to_owned(), |i| rest[i..].to_owned())
}

fn dev_info(id: &str) -> DevInfo {
    DevInfo {
        dev_id: id.to_owned(),
        man: "m2msim".into(),
        model: "bench".into(),
        dm_v: "1.2".into(),
        lang: "en".into(),
    }
}

/// Package 1 of device `id` with MD5 credentials over the initial nonce.
fn package1(id: &str, session: &str, url: &str, wire: &Wire) -> BenchResult<Vec<u8>> {
    let hdr = SyncHdr::new(DmVersion::V1_2, session, 1, url, id)
        .with_source_name("dev")
        .with_cred(Cred::md5(b"dev", PASSWORD.as_bytes(), NONCE));
    let mut m = SyncMl::package1(hdr, AlertCode::CLIENT_INITIATED_MGMT, &dev_info(id));
    m.body.final_ = true;
    Ok(m.encode(wire)?)
}

/// The answer of a simulated client to the server's management message: statuses, a `Results` for the
/// `Get`.
fn answer(id: &str, session: &str, url: &str, server: &SyncMl, wire: &Wire) -> BenchResult<Vec<u8>> {
    let mut m = SyncMl::new(SyncHdr::new(DmVersion::V1_2, session, 2, url, id));
    let mut cmd_id = 1;
    m.body.commands.push(Command::Status(Status::for_header(cmd_id, &server.hdr, StatusCode::OK)));
    let mut names = Vec::new();
    for c in server.body.commands.iter().filter(|c| !matches!(c, Command::Status(_))) {
        cmd_id += 1;
        names.push(c.name());
        m.body.commands.push(Command::Status(Status::for_command(
            cmd_id,
            server.hdr.msg_id,
            c,
            StatusCode::OK,
        )));
        if let Command::Get(g) = c {
            let uri = g.items.first().and_then(Item::target_uri).unwrap_or("./DevInfo/Mod").to_owned();
            cmd_id += 1;
            let item = Item::result(uri, Format::Chr, None, Data::text("bench"));
            let r = Results::new(cmd_id, Some(server.hdr.msg_id), c.cmd_id().unwrap_or(0), vec![item]);
            m.body.commands.push(Command::Results(r));
        }
    }
    if names != ["Get", "Replace"] {
        return Err(BenchError::Protocol("the server did not send the queued Get and Replace"));
    }
    m.body.final_ = true;
    Ok(m.encode(wire)?)
}

/// One full session of device `id`; returns the (request, response) body sizes.
async fn session(
    conn: &mut Conn,
    t: &Templates,
    url: &str,
    id: &str,
    wire: &Wire,
) -> BenchResult<Vec<(usize, usize)>> {
    let ct = content_type(wire);
    let p1 = t.package1(id);
    let n1 = p1.len();
    let r1 = conn.post(&path_of(url), ct, p1, None).await?;
    let m1 = SyncMl::decode(&r1, Mode::Lenient)?.message;
    if m1.header_status().map(|s| s.code) != Some(StatusCode::AUTHENTICATION_ACCEPTED) {
        return Err(BenchError::Protocol("package 1 was not accepted with 212"));
    }
    let next = m1.hdr.resp_uri.clone().unwrap_or_else(|| url.to_owned());
    let p3 = t.answer(id, url, &m1, wire)?;
    let n3 = p3.len();
    let r2 = conn.post(&path_of(&next), ct, p3, None).await?;
    let m2 = SyncMl::decode(&r2, Mode::Lenient)?.message;
    if !m2.body.final_ || m2.body.commands.iter().any(|c| !matches!(c, Command::Status(_))) {
        return Err(BenchError::Protocol("the session did not end after the statuses"));
    }
    Ok(vec![(n1, r1.len()), (n3, r2.len())])
}

fn content_type(wire: &Wire) -> &'static str {
    if wire.encoding == m2msim_codec::syncml::Encoding::Wbxml { net::CT_WBXML } else { net::CT_XML }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn throughput(mut lat: Vec<Duration>, round_trips: usize, wall: Duration, cpu: f64) -> Throughput {
    lat.sort_unstable();
    let seconds = wall.as_secs_f64();
    let n = lat.len();
    Throughput {
        sessions: n,
        round_trips,
        seconds,
        sessions_per_s: if seconds > 0.0 { n as f64 / seconds } else { 0.0 },
        p50_ms: percentile(&lat, 0.5),
        p99_ms: percentile(&lat, 0.99),
        cpu_us_per_session: if n > 0 { cpu * 1e6 / n as f64 } else { 0.0 },
    }
}

/// Full DM sessions: `clients` tasks, `per_client` sessions each, devices `first..`.
async fn dm_phase(
    h: &ServerHandle,
    c: &BenchConfig,
    wire: Wire,
) -> BenchResult<(Throughput, Vec<(usize, usize)>)> {
    let url = h.url();
    let templates = Arc::new(Templates::new(&url, &wire)?);
    let (started, cpu0) = (Instant::now(), cpu_seconds());
    let mut tasks = Vec::new();
    for k in 0..c.clients {
        let url = url.clone();
        let addr = h.addr;
        let per = c.sessions_per_client;
        let templates = templates.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await?;
            let mut lat = Vec::with_capacity(per);
            let mut sizes = Vec::new();
            for s in 0..per {
                let t = Instant::now();
                sizes = session(&mut conn, &templates, &url, &device(k * per + s), &wire).await?;
                lat.push(t.elapsed());
            }
            BenchResult::Ok((lat, sizes))
        }));
    }
    let mut lat = Vec::new();
    let mut sizes = Vec::new();
    for t in tasks {
        let (l, s) = t.await??;
        lat.extend(l);
        sizes = s;
    }
    let wall = started.elapsed();
    let trips = lat.len() * sizes.len();
    Ok((throughput(lat, trips, wall, cpu_seconds() - cpu0), sizes))
}

/// A do-nothing HTTP handler: reads the body, answers `x-len` bytes.
async fn floor_server() -> BenchResult<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let _ = tcp.set_nodelay(true);
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
                    let n = req
                        .headers()
                        .get("x-len")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0)
                        .min(1 << 20);
                    let _ = req.into_body().collect().await;
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::from(vec![
                        b' ';
                        n
                    ]))))
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), svc).await;
            });
        }
    });
    Ok((addr, task))
}

/// The floor: the same round trips with the same body sizes, against the do-nothing handler; each client
/// runs its `sessions_per_client` sessions and goes on until `floor_min` has passed.
async fn floor_phase(c: &BenchConfig, sizes: &[(usize, usize)], ct: &'static str) -> BenchResult<Throughput> {
    let (addr, server) = floor_server().await?;
    let (started, cpu0) = (Instant::now(), cpu_seconds());
    let mut tasks = Vec::new();
    for _ in 0..c.clients {
        let sizes = sizes.to_vec();
        let per = c.sessions_per_client;
        let min = c.floor_min;
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await?;
            let mut lat = Vec::with_capacity(per);
            while lat.len() < per || started.elapsed() < min {
                let t = Instant::now();
                for (req, resp) in &sizes {
                    let body = conn.post("/dm", ct, vec![b'<'; *req], Some(*resp)).await?;
                    if body.len() != *resp {
                        return Err(BenchError::Protocol("floor handler answered another size"));
                    }
                }
                lat.push(t.elapsed());
            }
            BenchResult::Ok(lat)
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await??);
    }
    let wall = started.elapsed();
    server.abort();
    let trips = lat.len() * sizes.len();
    Ok(throughput(lat, trips, wall, cpu_seconds() - cpu0))
}

/// Opens `n` idle sessions (devices `first..first + n`); returns resident bytes before and after.
async fn idle_phase(
    h: &ServerHandle,
    first: usize,
    n: usize,
    clients: usize,
    wire: Wire,
) -> BenchResult<(u64, u64)> {
    let url = h.url();
    let templates = Arc::new(Templates::new(&url, &wire)?);
    let before = resident_bytes();
    let workers = clients.max(1);
    let mut tasks = Vec::new();
    for w in 0..workers {
        let url = url.clone();
        let addr = h.addr;
        let templates = templates.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await?;
            let mut i = w;
            while i < n {
                let id = device(first + i);
                let body = templates.package1(&id);
                let r = conn.post(&path_of(&url), content_type(&wire), body, None).await?;
                let m = SyncMl::decode(&r, Mode::Lenient)?.message;
                if m.body.final_ && m.body.commands.iter().all(|c| matches!(c, Command::Status(_))) {
                    return Err(BenchError::Protocol("an idle session ended at once"));
                }
                i += workers;
            }
            BenchResult::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    if h.open_sessions() < n {
        return Err(BenchError::Protocol("fewer sessions open than started"));
    }
    Ok((before, resident_bytes()))
}

/// Runs the benchmark with a server on loopback whose store is in `data_dir` (created; use an empty or
/// scratch directory).
///
/// # Errors
/// [`BenchError`] when the server does not start or a session does not go as it should.
pub async fn run(c: &BenchConfig, data_dir: &Path) -> BenchResult<BenchReport> {
    std::fs::create_dir_all(data_dir)?;
    let wire = if c.wbxml {
        Wire::wbxml(m2msim_codec::syncml::tree::Profile::rtk())
    } else {
        Wire::xml(m2msim_codec::syncml::tree::Profile::rtk())
    };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(data_dir)?);
    let sessions = c.clients * c.sessions_per_client;
    // Every device of the timed phase is registered with its two operations before the clock starts.
    for i in 0..sessions {
        let id = device(i);
        store.put_device(&record(&id))?;
        store.enqueue(&id, &cmd::get("./DevInfo/Mod"))?;
        store.enqueue(&id, &cmd::replace("./DevInfo/Lang", Format::Chr, "fr"))?;
    }
    for i in sessions..sessions + c.idle_sessions {
        let id = device(i);
        store.put_device(&record(&id))?;
        store.enqueue(&id, &cmd::get("./DevInfo/Mod"))?;
    }
    let config = ServerConfig {
        max_sessions: c.idle_sessions + c.clients + 16,
        reap_interval: Duration::from_secs(3600),
        ..ServerConfig::default()
    };
    let h = net::spawn(config, store).await?;
    let (dm, sizes) = dm_phase(&h, c, wire).await?;
    let floor = floor_phase(c, &sizes, content_type(&wire)).await?;
    let (rss_before, rss_after) = if c.idle_sessions > 0 {
        idle_phase(&h, sessions, c.idle_sessions, c.clients, wire).await?
    } else {
        (resident_bytes(), resident_bytes())
    };
    h.shutdown().await;
    let ratio = if floor.sessions_per_s > 0.0 { dm.sessions_per_s / floor.sessions_per_s } else { 0.0 };
    let cpu_ratio =
        if dm.cpu_us_per_session > 0.0 { floor.cpu_us_per_session / dm.cpu_us_per_session } else { 0.0 };
    Ok(BenchReport {
        clients: c.clients,
        encoding: if c.wbxml { "wbxml" } else { "xml" },
        body_sizes: sizes,
        dm,
        floor,
        ratio,
        cpu_ratio,
        idle_sessions: c.idle_sessions,
        rss_before,
        rss_after,
        bytes_per_idle_session: rss_after.saturating_sub(rss_before) / (c.idle_sessions.max(1) as u64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use m2msim_codec::syncml::tree::Profile;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_small_run_completes_every_session() {
        let dir = tempfile::tempdir().unwrap();
        let c = BenchConfig {
            clients: 3,
            sessions_per_client: 2,
            idle_sessions: 20,
            wbxml: true,
            floor_min: Duration::ZERO,
        };
        let r = run(&c, dir.path()).await.unwrap();
        assert_eq!(r.dm.sessions, 6);
        assert_eq!(r.dm.round_trips, 12);
        assert_eq!(r.floor.round_trips, 12);
        assert_eq!(r.body_sizes.len(), 2);
        assert!(r.dm.p50_ms <= r.dm.p99_ms);
        assert!(r.ratio > 0.0);
        // The CPU ratio is the floor's CPU per session over the DM phase's (a run this small may take less
        // than one 10-ms tick: then both are 0; the clock itself is tested below).
        let want = if r.dm.cpu_us_per_session > 0.0 {
            r.floor.cpu_us_per_session / r.dm.cpu_us_per_session
        } else {
            0.0
        };
        assert!((r.cpu_ratio - want).abs() < 1e-12, "{r:?}");
    }

    /// The CPU clock moves with work done by this process.
    #[test]
    fn cpu_seconds_counts_this_process() {
        let a = cpu_seconds();
        let until = Instant::now() + Duration::from_millis(120);
        let mut x = 0u64;
        while Instant::now() < until {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let b = cpu_seconds();
        assert!(b - a >= 0.05 && b - a < 5.0, "{a} → {b}");
    }

    #[test]
    fn templates_give_the_bodies_the_model_encodes() {
        let url = "http://127.0.0.1:1/dm";
        for wire in [Wire::xml(Profile::rtk()), Wire::wbxml(Profile::rtk())] {
            let t = Templates::new(url, &wire).unwrap();
            for i in [0, 7, 123_456] {
                let id = device(i);
                assert_eq!(t.package1(&id), package1(&id, "1", url, &wire).unwrap());
            }
            // The server's management message of device 5, as its answer template's source.
            let server = |id: &str, msg_id| {
                let hdr = SyncHdr::new(DmVersion::V1_2, "1", 1, url, id).reply(msg_id);
                let mut m = SyncMl::new(hdr);
                m.body.commands.push(Command::Status(Status::for_header(1, &m.hdr.clone(), StatusCode::OK)));
                let mut g = cmd::get("./DevInfo/Mod");
                g.set_cmd_id(2);
                let mut r = cmd::replace("./DevInfo/Lang", Format::Chr, "fr");
                r.set_cmd_id(3);
                m.body.commands.extend([g, r]);
                m
            };
            let first = device(5);
            let a = t.answer(&first, url, &server(&first, 1), &wire).unwrap();
            assert_eq!(a, answer(&first, "1", url, &server(&first, 1), &wire).unwrap());
            let other = device(99);
            let from_template = t.answer(&other, url, &server(&other, 1), &wire).unwrap();
            assert_eq!(from_template, answer(&other, "1", url, &server(&other, 1), &wire).unwrap());
            // Another shape (message id 2) is answered from the model, not from the template.
            let m2 = server(&other, 2);
            assert_eq!(
                t.answer(&other, url, &m2, &wire).unwrap(),
                answer(&other, "1", url, &m2, &wire).unwrap()
            );
        }
        assert_eq!(replace_all(b"abXab", b"ab", b"cd"), b"cdXcd");
        assert_eq!(replace_all(b"abXab", b"ab", b"c"), b"abXab");
    }
}

//! The admin API (issue 7 §1): JSON over HTTP on its own listener, every request with
//! `Authorization: Bearer {token}` (401 otherwise).
//!
//! | Method and path | What |
//! |---|---|
//! | `GET /devices` · `POST /devices` (a [`DeviceRecord`]) | list · add or replace (credentials) |
//! | `GET /devices/{id}` | one device: record, DM version and wire seen, DevInfo |
//! | `POST /devices/{id}/operations` (an [`OpRequest`]) · `GET` | queue a command → `{"op_id":n}` · list |
//! | `GET /operations/{n}` | one operation: state and outcome (statuses, results) |
//! | `GET /devices/{id}/alerts` | Generic Alerts and other alerts that completed no operation |
//! | `POST /devices/{id}/notify` (a [`NotifyRequest`]) | build package 0 and hand it to the [`NotifySink`] |
//! | `GET /sessions[?device=id]` · `GET /sessions/{n}/transcript[?json]` | sessions · transcript as XML |
//!
//! Device ids are percent-decoded path segments (`IMEI%3A4901…` or `IMEI:4901…`).

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use m2msim_codec::dm::ddf::Format;
use m2msim_codec::dm::pkg0::UiMode;
use m2msim_codec::reader::Encode as _;
use m2msim_codec::sms::address::Address;
use m2msim_codec::sms::concat::ConcatRef;
use m2msim_codec::sms::fields::Scts;
use m2msim_codec::syncml::{AlertCode, Command, Data};
use serde::{Deserialize, Serialize};

use crate::directory::DeviceRecord;
use crate::net::{Reply413, Shared, read_body};
use crate::operation::{OpId, UiOptions, cmd};
use crate::store::{Direction, StoreError};

/// Where package 0 notifications go (the SMS gateway of a lab).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifySink {
    /// One file per SMS-DELIVER TPDU (binary, TS 23.040) in this directory:
    /// `{device}-{session id}-{n}.tpdu`, plus the WSP push `…-push.bin`.
    Spool(PathBuf),
    /// POST `{"device_id", "session_id", "package0", "tpdus": [hex…]}` as JSON to this `http://` URL.
    Webhook(String),
    /// Print the same JSON as one line on standard output.
    Stdout,
}

/// A command to queue, in JSON: `{"op":"get","uri":"./DevInfo/Mod"}` and so on; `command` takes any
/// typed SyncML command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum OpRequest {
    /// `Get`.
    Get {
        /// Target.
        uri: String,
    },
    /// `Replace` with data (text; `hex: true` for binary given in hex).
    Replace {
        /// Target.
        uri: String,
        /// DDF format name (`chr` by default).
        #[serde(default)]
        format: Option<String>,
        /// The value.
        data: String,
        /// `data` is hex.
        #[serde(default)]
        hex: bool,
    },
    /// `Add` of a leaf.
    Add {
        /// Target.
        uri: String,
        /// DDF format name (`chr` by default).
        #[serde(default)]
        format: Option<String>,
        /// The value.
        data: String,
        /// `data` is hex.
        #[serde(default)]
        hex: bool,
    },
    /// `Add` of an interior node.
    AddInterior {
        /// Target.
        uri: String,
    },
    /// `Delete`.
    Delete {
        /// Target.
        uri: String,
    },
    /// `Exec`.
    Exec {
        /// Target.
        uri: String,
        /// Data, if any.
        #[serde(default)]
        data: Option<String>,
        /// `Correlator`, if any.
        #[serde(default)]
        correlator: Option<String>,
    },
    /// `Copy`.
    Copy {
        /// Target.
        target: String,
        /// Source.
        source: String,
    },
    /// `Atomic` of these.
    Atomic {
        /// The commands.
        ops: Vec<OpRequest>,
    },
    /// `Sequence` of these.
    Sequence {
        /// The commands.
        ops: Vec<OpRequest>,
    },
    /// A UI alert (1100 display, 1101 confirm, 1102 input, 1103 single choice, 1104 multiple choice).
    UiAlert {
        /// The alert code.
        code: u16,
        /// The text.
        text: String,
        /// Choices.
        #[serde(default)]
        choices: Vec<String>,
        /// Options (`MINDT`, `MAXDT`, …).
        #[serde(default)]
        options: UiOptions,
    },
    /// Any typed command.
    Command {
        /// It.
        command: Box<Command>,
    },
}

impl OpRequest {
    /// The command.
    ///
    /// # Errors
    /// An unknown format name or bad hex.
    pub fn to_command(&self) -> Result<Command, &'static str> {
        let data = |d: &str, hex: bool| -> Result<Data, &'static str> {
            if hex {
                hex::decode(d).map(Data::bytes).map_err(|_| "data is not hex")
            } else {
                Ok(Data::text(d))
            }
        };
        let format = |f: &Option<String>, hex: bool| -> Result<Format, &'static str> {
            match f {
                Some(f) => Format::parse(f).ok_or("unknown format"),
                None if hex => Ok(Format::Bin),
                None => Ok(Format::Chr),
            }
        };
        Ok(match self {
            Self::Get { uri } => cmd::get(uri),
            Self::Replace { uri, format: f, data: d, hex } => {
                cmd::replace(uri, format(f, *hex)?, data(d, *hex)?)
            }
            Self::Add { uri, format: f, data: d, hex } => cmd::add(uri, format(f, *hex)?, data(d, *hex)?),
            Self::AddInterior { uri } => cmd::add_interior(uri),
            Self::Delete { uri } => cmd::delete(uri),
            Self::Exec { uri, data: d, correlator } => {
                cmd::exec(uri, d.as_deref().map(Data::text), correlator.as_deref())
            }
            Self::Copy { target, source } => cmd::copy(target, source),
            Self::Atomic { ops } => cmd::atomic(ops.iter().map(Self::to_command).collect::<Result<_, _>>()?),
            Self::Sequence { ops } => {
                cmd::sequence(ops.iter().map(Self::to_command).collect::<Result<_, _>>()?)
            }
            Self::UiAlert { code, text, choices, options } => {
                if !(1100..=1104).contains(code) {
                    return Err("a UI alert code is 1100..=1104");
                }
                let choices: Vec<&str> = choices.iter().map(String::as_str).collect();
                cmd::ui_alert(AlertCode(*code), options, text, &choices)
            }
            Self::Command { command } => (**command).clone(),
        })
    }
}

/// The body of `POST /devices/{id}/notify`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NotifyRequest {
    /// The session id (1..=65535; random when absent).
    #[serde(default)]
    pub session_id: Option<u16>,
    /// UI mode (`not_specified` when absent).
    #[serde(default)]
    pub ui_mode: Option<UiMode>,
}

/// What a notification produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyResult {
    /// The device.
    pub device_id: String,
    /// The `SessionID` the device's package 1 will carry.
    pub session_id: String,
    /// Package 0 (hex).
    pub package0: String,
    /// The SMS-DELIVER TPDUs carrying it (hex).
    pub tpdus: Vec<String>,
    /// Files written (spool sink).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

pub(crate) struct AdminApi {
    pub(crate) shared: Arc<Shared>,
    pub(crate) token: String,
}

fn json_reply<T: Serialize>(status: StatusCode, v: &T) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec(v).unwrap_or_default();
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn error(status: StatusCode, msg: &str) -> Response<Full<Bytes>> {
    json_reply(status, &serde_json::json!({ "error": msg }))
}

/// An error answer, boxed (a response is large).
type Fail = Box<Response<Full<Bytes>>>;

fn fail(status: StatusCode, msg: &str) -> Fail {
    Box::new(error(status, msg))
}

fn store_err(e: &StoreError) -> Response<Full<Bytes>> {
    match e {
        StoreError::NotFound(what) => error(StatusCode::NOT_FOUND, &format!("{what} not found")),
        e => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// Percent-decodes a path segment (invalid escapes are kept as they are).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(h) = s.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(h, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn token_ok(req: &Request<Incoming>, token: &str) -> bool {
    let Some(v) = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return false };
    v.strip_prefix("Bearer ")
        .is_some_and(|t| m2msim_codec::dm::auth::ct_eq(t.trim().as_bytes(), token.as_bytes()))
}

pub(crate) async fn service(api: Arc<AdminApi>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if !token_ok(&req, &api.token) {
        return error(StatusCode::UNAUTHORIZED, "bearer token required");
    }
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let body = match read_body(req, 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(Reply413) => return error(StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
    };
    let segs: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(percent_decode).collect();
    let api2 = api.clone();
    tokio::task::spawn_blocking(move || {
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        route(&api2, &method, &segs, &query, &body)
    })
    .await
    .unwrap_or_else(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"))
}

fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, Fail> {
    serde_json::from_slice(if body.is_empty() { b"{}" } else { body })
        .map_err(|e| fail(StatusCode::BAD_REQUEST, &format!("bad JSON: {e}")))
}

fn route(api: &AdminApi, method: &Method, segs: &[&str], query: &str, body: &[u8]) -> Response<Full<Bytes>> {
    let store = &api.shared.store;
    let r = |x: Result<Response<Full<Bytes>>, Fail>| x.unwrap_or_else(|e| *e);
    match (method, segs) {
        (&Method::GET, ["devices"]) => match store.devices() {
            Ok(d) => json_reply(StatusCode::OK, &d),
            Err(e) => store_err(&e),
        },
        (&Method::POST, ["devices"]) => {
            r(parse::<DeviceRecord>(body).map(|rec| match store.put_device(&rec) {
                Ok(()) => json_reply(StatusCode::CREATED, &serde_json::json!({ "device_id": rec.device_id })),
                Err(e) => store_err(&e),
            }))
        }
        (&Method::GET, ["devices", id]) => match store.device(id) {
            Ok(Some(d)) => json_reply(StatusCode::OK, &d),
            Ok(None) => error(StatusCode::NOT_FOUND, "device not found"),
            Err(e) => store_err(&e),
        },
        (&Method::POST, ["devices", id, "operations"]) => r(parse::<OpRequest>(body).map(|op| {
            let command = match op.to_command() {
                Ok(c) => c,
                Err(e) => return error(StatusCode::BAD_REQUEST, e),
            };
            match store.device(id) {
                Ok(Some(_)) => {}
                Ok(None) => return error(StatusCode::NOT_FOUND, "device not found"),
                Err(e) => return store_err(&e),
            }
            match store.enqueue(id, &command) {
                Ok(OpId(n)) => json_reply(StatusCode::CREATED, &serde_json::json!({ "op_id": n })),
                Err(e) => store_err(&e),
            }
        })),
        (&Method::GET, ["devices", id, "operations"]) => match store.operations(Some(id)) {
            Ok(o) => json_reply(StatusCode::OK, &o),
            Err(e) => store_err(&e),
        },
        (&Method::GET, ["devices", id, "alerts"]) => match store.alerts(id) {
            Ok(a) => json_reply(StatusCode::OK, &a),
            Err(e) => store_err(&e),
        },
        (&Method::POST, ["devices", id, "notify"]) => {
            r(parse::<NotifyRequest>(body).map(|n| match notify(api, id, &n) {
                Ok(res) => json_reply(StatusCode::OK, &res),
                Err(e) => *e,
            }))
        }
        (&Method::GET, ["operations", n]) => match n.parse::<u64>() {
            Ok(n) => match store.operation(OpId(n)) {
                Ok(Some(o)) => json_reply(StatusCode::OK, &o),
                Ok(None) => error(StatusCode::NOT_FOUND, "operation not found"),
                Err(e) => store_err(&e),
            },
            Err(_) => error(StatusCode::BAD_REQUEST, "operation ids are numbers"),
        },
        (&Method::GET, ["sessions"]) => {
            let device = query.split('&').find_map(|kv| kv.strip_prefix("device=")).map(percent_decode);
            match store.sessions(device.as_deref()) {
                Ok(s) => json_reply(StatusCode::OK, &s),
                Err(e) => store_err(&e),
            }
        }
        (&Method::GET, ["sessions", n, "transcript"]) => {
            let Ok(n) = n.parse::<i64>() else {
                return error(StatusCode::BAD_REQUEST, "session ids are numbers");
            };
            match store.transcript(n) {
                Ok(t) if query.split('&').any(|q| q == "json") => json_reply(StatusCode::OK, &t),
                Ok(t) => {
                    let mut x = String::new();
                    for (i, e) in t.iter().enumerate() {
                        let dir = if e.direction == Direction::In {
                            "client → server"
                        } else {
                            "server → client"
                        };
                        let ct = e.content_type.as_deref().unwrap_or("-");
                        x.push_str(&format!("<!-- message {}: {dir}, {ct}, {} bytes", i + 1, e.raw.len()));
                        if let Some(n) = &e.note {
                            x.push_str(&format!(", rejected: {}", n.replace("--", "- -")));
                        }
                        x.push_str(" -->\n");
                        match &e.xml {
                            Some(xml) => x.push_str(xml),
                            None => x.push_str(&format!("<!-- not SyncML; hex: {} -->", hex::encode(&e.raw))),
                        }
                        x.push('\n');
                    }
                    let mut resp = Response::new(Full::new(Bytes::from(x)));
                    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
                    resp
                }
                Err(e) => store_err(&e),
            }
        }
        _ => error(StatusCode::NOT_FOUND, "no such endpoint"),
    }
}

/// Builds package 0 for a device and hands it to the sink.
fn notify(api: &AdminApi, id: &str, n: &NotifyRequest) -> Result<NotifyResult, Fail> {
    let rec = match api.shared.store.device(id) {
        Ok(Some(d)) => d.record,
        Ok(None) => return Err(fail(StatusCode::NOT_FOUND, "device not found")),
        Err(e) => return Err(Box::new(store_err(&e))),
    };
    let sid = n.session_id.unwrap_or_else(|| {
        let [a, b] = crate::net::random::<2>();
        u16::from_be_bytes([a, b]).max(1)
    });
    let built = crate::package0::build(&rec, sid, n.ui_mode.unwrap_or(UiMode::NotSpecified))
        .map_err(|e| fail(StatusCode::CONFLICT, &e.to_string()))?;
    // Decision: the originator is the server's short code "4479" (a lab value; the device does not check
    // it), the SCTS zero: the SMS centre stamps real ones.
    let originator =
        Address::international("4479").map_err(|_| fail(StatusCode::INTERNAL_SERVER_ERROR, "originator"))?;
    let tid = crate::net::random::<1>()[0];
    let delivers = built
        .sms(tid, originator, Scts([0; 7]), ConcatRef::Eight(tid))
        .map_err(|e| fail(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))?;
    let tpdus: Vec<Vec<u8>> = delivers.iter().map(|d| d.encode()).collect();
    let mut res = NotifyResult {
        device_id: id.to_owned(),
        session_id: built.session_id.clone(),
        package0: hex::encode(&built.bytes),
        tpdus: tpdus.iter().map(hex::encode).collect(),
        files: Vec::new(),
    };
    // Before the sink: the device may answer at once.
    api.shared.announce(id, &built.session_id);
    let io = |e: std::io::Error| fail(StatusCode::INTERNAL_SERVER_ERROR, &format!("spool: {e}"));
    match &api.shared.config.notify {
        NotifySink::Spool(dir) => {
            std::fs::create_dir_all(dir).map_err(io)?;
            let safe: String =
                id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
            for (i, t) in tpdus.iter().enumerate() {
                let p = dir.join(format!("{safe}-{}-{}.tpdu", built.session_id, i + 1));
                std::fs::write(&p, t).map_err(io)?;
                res.files.push(p.display().to_string());
            }
        }
        NotifySink::Webhook(url) => {
            let body = serde_json::to_vec(&res).unwrap_or_default();
            let url = url.clone();
            let status = tokio::runtime::Handle::current()
                .block_on(crate::http::request("POST", &url, None, "application/json", body))
                .map(|(s, _)| s);
            match status {
                Ok(s) if (200..300).contains(&s) => {}
                Ok(s) => return Err(fail(StatusCode::BAD_GATEWAY, &format!("webhook answered {s}"))),
                Err(e) => return Err(fail(StatusCode::BAD_GATEWAY, &format!("webhook: {e}"))),
            }
        }
        NotifySink::Stdout => println!("{}", serde_json::to_string(&res).unwrap_or_default()),
    }
    Ok(res)
}

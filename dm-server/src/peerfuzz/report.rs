//! How a client answered each mutant, the anomalies that shows, and the report ([`FuzzReport`]: JSON,
//! Markdown, reproducer files).
//!
//! [`classify`] reads the client's answer against the mutant's [`Expect`]ation:
//! - crash-like ([`Class::CrashLike`]): the connection dropped with nothing sent, or nothing came within
//!   the reply timeout ([`Response::ConnectionDrop`], [`Response::Silence`]);
//! - protocol ([`Class::Protocol`]): a 2xx `Status` for a command the mutation made invalid or in a
//!   message that must not be processed ([`Anomaly::AcceptedGarbage`]), a command or the `SyncHdr` without
//!   its `Status`, a `MsgRef` or `CmdRef` that names nothing we sent, a malformed reply or a broken HTTP
//!   request, a valid message given up on;
//! - otherwise [`Class::Ok`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use m2msim_codec::Decode as _;
use m2msim_codec::syncml::tree::{self, Element};
use m2msim_codec::syncml::{AlertCode, Command, Encoding, SyncMl};
use m2msim_codec::wbxml;
use m2msim_codec::xml::{self, Mode};
use serde::{Deserialize, Serialize};

use super::mutate::{Expect, Mutant, MutationKind};

/// One `Status` the client sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenStatus {
    /// `MsgRef`.
    pub msg_ref: u32,
    /// `CmdRef` (0: the `SyncHdr`).
    pub cmd_ref: u32,
    /// `Cmd`.
    pub cmd: String,
    /// The status code.
    pub code: u16,
}

/// How the client answered a mutant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "response")]
pub enum Response {
    /// A SyncML message continuing the session.
    Reply {
        /// Its `MsgID`.
        msg_id: u32,
        /// Its `Status`es.
        statuses: Vec<SeenStatus>,
        /// The names of its other commands.
        commands: Vec<String>,
    },
    /// A Session Abort (Alert 1223): the client gave up on the session and said so.
    Abort {
        /// The `Status`es that came with it.
        statuses: Vec<SeenStatus>,
    },
    /// The client started a new session (package 1) without answering.
    NewSession,
    /// A body that does not decode as SyncML.
    Malformed {
        /// The decoder's message.
        reason: String,
    },
    /// A request that is not a DM request (method, content type).
    HttpError {
        /// What was wrong.
        reason: String,
    },
    /// The connection closed and nothing came within the reply timeout.
    ConnectionDrop,
    /// Nothing within the reply timeout, the connection still open.
    Silence,
}

impl Response {
    /// The snake_case name of the variant.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Reply { .. } => "reply",
            Self::Abort { .. } => "abort",
            Self::NewSession => "new_session",
            Self::Malformed { .. } => "malformed",
            Self::HttpError { .. } => "http_error",
            Self::ConnectionDrop => "connection_drop",
            Self::Silence => "silence",
        }
    }

    /// Reads a client request body as the answer to a mutant (a reply, or a Session Abort).
    #[must_use]
    pub fn of_body(body: &[u8]) -> Self {
        let m = match SyncMl::decode(body, Mode::Lenient) {
            Ok(d) => d.message,
            Err(e) => return Self::Malformed { reason: short(&e.to_string()) },
        };
        let statuses = m
            .statuses()
            .map(|s| SeenStatus {
                msg_ref: s.msg_ref,
                cmd_ref: s.cmd_ref,
                cmd: s.cmd.clone(),
                code: s.code.0,
            })
            .collect();
        let abort = m
            .body
            .commands
            .iter()
            .any(|c| matches!(c, Command::Alert(a) if a.code == AlertCode::SESSION_ABORT));
        if abort {
            return Self::Abort { statuses };
        }
        let commands = m
            .body
            .commands
            .iter()
            .filter(|c| !matches!(c, Command::Status(_)))
            .map(|c| c.name().to_owned())
            .collect();
        Self::Reply { msg_id: m.hdr.msg_id, statuses, commands }
    }
}

/// An anomaly in a client's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "anomaly")]
pub enum Anomaly {
    /// The connection closed without an answer (crash-like).
    ConnectionDrop,
    /// No answer within the timeout (crash-like: hang).
    Silence,
    /// A 2xx status for a command that should have been refused.
    AcceptedGarbage {
        /// `CmdRef`.
        cmd_ref: u32,
        /// `Cmd`.
        cmd: String,
        /// The code.
        code: u16,
    },
    /// No `Status` for the `SyncHdr`.
    MissingHeaderStatus,
    /// No `Status` for a command.
    MissingStatus {
        /// Its `CmdID`.
        cmd_id: u32,
    },
    /// A `MsgRef` other than our message's `MsgID`.
    WrongMsgRef {
        /// Our `MsgID`.
        expected: u32,
        /// The `MsgRef`.
        got: u32,
    },
    /// A `CmdRef` that names none of our commands.
    WrongCmdRef {
        /// The `CmdRef`.
        cmd_ref: u32,
    },
    /// The reply does not decode.
    MalformedReply {
        /// Why.
        reason: String,
    },
    /// The request was not a DM request.
    HttpError {
        /// Why.
        reason: String,
    },
    /// A valid message was given up on (abort or a new session).
    RejectedValid,
}

impl Anomaly {
    /// True for the crash-like anomalies.
    #[must_use]
    pub const fn crash_like(&self) -> bool {
        matches!(self, Self::ConnectionDrop | Self::Silence)
    }
}

/// The verdict on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// As expected.
    Ok,
    /// Connection drop or silence.
    CrashLike,
    /// A protocol anomaly.
    Protocol,
}

/// What a package we sent holds, for checking the answer: its `MsgID` and the `CmdID`s of the commands
/// that need a `Status` (numeric ones only; `None` when it does not decode).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SentShape {
    /// `SyncHdr/MsgID`.
    pub msg_id: Option<u32>,
    /// `CmdID`s of every command below `SyncBody` (inside `Atomic`/`Sequence` too), except `Status` and
    /// `Results`.
    pub cmd_ids: Vec<u32>,
}

impl SentShape {
    /// Reads the shape of `body` (XML or WBXML) leniently, from its element tree.
    #[must_use]
    pub fn of(body: &[u8]) -> Option<Self> {
        let doc = match Encoding::detect(body) {
            Encoding::Wbxml => tree::Document::from_wbxml(&wbxml::Document::decode_exact(body).ok()?).ok()?,
            Encoding::Xml => {
                tree::Document::from_xml(&xml::Document::parse_bytes(body, Mode::Lenient).ok()?).ok()?
            }
        };
        fn walk(e: &Element, out: &mut Vec<u32>) {
            for c in e.elements() {
                if !matches!(&*c.name, "Status" | "Results" | "Final" | "CmdID")
                    && let Some(id) =
                        c.child("CmdID").and_then(Element::text).and_then(|t| t.trim().parse().ok())
                {
                    out.push(id);
                }
                if c.name == "Atomic" || c.name == "Sequence" {
                    walk(c, out);
                }
            }
        }
        let msg_id = doc
            .root
            .child("SyncHdr")
            .and_then(|h| h.child("MsgID"))
            .and_then(Element::text)
            .and_then(|t| t.trim().parse().ok());
        let mut cmd_ids = Vec::new();
        if let Some(b) = doc.root.child("SyncBody") {
            walk(b, &mut cmd_ids);
        }
        Some(Self { msg_id, cmd_ids })
    }
}

/// Classifies a response to a mutant with `expect`, sent as `shape` (see the module docs).
#[must_use]
pub fn classify(expect: &Expect, shape: Option<&SentShape>, response: &Response) -> (Class, Vec<Anomaly>) {
    let mut a = Vec::new();
    match response {
        Response::ConnectionDrop => a.push(Anomaly::ConnectionDrop),
        Response::Silence => a.push(Anomaly::Silence),
        Response::Malformed { reason } => a.push(Anomaly::MalformedReply { reason: reason.clone() }),
        Response::HttpError { reason } => a.push(Anomaly::HttpError { reason: reason.clone() }),
        Response::NewSession | Response::Abort { .. } => {
            if *expect == Expect::Accept {
                a.push(Anomaly::RejectedValid);
            }
            if let (Response::Abort { statuses }, Expect::RejectMessage) = (response, expect) {
                garbage(statuses, |_| true, &mut a);
            }
        }
        Response::Reply { statuses, .. } => {
            match expect {
                Expect::RejectMessage => garbage(statuses, |_| true, &mut a),
                Expect::RejectCommands { cmd_ids } => {
                    garbage(statuses, |r| cmd_ids.iter().any(|id| id.trim().parse() == Ok(r)), &mut a);
                }
                Expect::Accept | Expect::Any => {}
            }
            if !matches!(expect, Expect::RejectMessage)
                && let Some(shape) = shape
            {
                refs(
                    shape,
                    statuses,
                    matches!(expect, Expect::Accept | Expect::RejectCommands { .. }),
                    &mut a,
                );
            }
        }
    }
    let class = if a.iter().any(Anomaly::crash_like) {
        Class::CrashLike
    } else if a.is_empty() {
        Class::Ok
    } else {
        Class::Protocol
    };
    (class, a)
}

fn garbage(statuses: &[SeenStatus], refused: impl Fn(u32) -> bool, out: &mut Vec<Anomaly>) {
    for s in statuses {
        // 214 (cancelled), 215 (not executed) and 216 (rolled back) are 2xx codes that report no effect.
        if s.cmd_ref != 0
            && (200..300).contains(&s.code)
            && !matches!(s.code, 214..=216)
            && refused(s.cmd_ref)
        {
            out.push(Anomaly::AcceptedGarbage { cmd_ref: s.cmd_ref, cmd: s.cmd.clone(), code: s.code });
        }
    }
}

fn refs(shape: &SentShape, statuses: &[SeenStatus], complete: bool, out: &mut Vec<Anomaly>) {
    if let Some(msg_id) = shape.msg_id {
        for s in statuses {
            if s.msg_ref != msg_id
                && !out.contains(&Anomaly::WrongMsgRef { expected: msg_id, got: s.msg_ref })
            {
                out.push(Anomaly::WrongMsgRef { expected: msg_id, got: s.msg_ref });
            }
        }
    }
    for s in statuses {
        if s.cmd_ref != 0 && !shape.cmd_ids.contains(&s.cmd_ref) {
            out.push(Anomaly::WrongCmdRef { cmd_ref: s.cmd_ref });
        }
    }
    if complete {
        if !statuses.iter().any(|s| s.cmd_ref == 0) {
            out.push(Anomaly::MissingHeaderStatus);
        }
        for id in &shape.cmd_ids {
            if !statuses.iter().any(|s| s.cmd_ref == *id) {
                out.push(Anomaly::MissingStatus { cmd_id: *id });
            }
        }
    }
}

/// One fuzz case: what was sent and how the client answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRecord {
    /// The case number (0-based).
    pub index: u32,
    /// The kind the seed chose.
    pub requested: MutationKind,
    /// The mutant served (its kind is the one applied).
    pub mutant: Mutant,
    /// The `x-syncml-hmac` header actually sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_hmac: Option<String>,
    /// The reproducer file (relative to the report directory), once written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reproducer: Option<String>,
    /// The client's answer.
    pub response: Response,
    /// Anomalies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub anomalies: Vec<Anomaly>,
    /// The verdict.
    pub class: Class,
    /// Milliseconds from sending the mutant to the answer (or the timeout).
    pub elapsed_ms: u64,
    /// Messages exchanged after the answer until the session ended.
    pub followups: u32,
}

/// Counts per verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Cases.
    pub cases: usize,
    /// [`Class::Ok`].
    pub ok: usize,
    /// [`Class::CrashLike`].
    pub crash_like: usize,
    /// [`Class::Protocol`].
    pub protocol: usize,
}

impl Counts {
    fn add(&mut self, c: Class) {
        self.cases += 1;
        match c {
            Class::Ok => self.ok += 1,
            Class::CrashLike => self.crash_like += 1,
            Class::Protocol => self.protocol += 1,
        }
    }
}

/// The totals of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// All cases.
    pub total: Counts,
    /// Per mutation kind applied.
    pub by_kind: BTreeMap<String, Counts>,
    /// Per response.
    pub by_response: BTreeMap<String, usize>,
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FuzzReport {
    /// The device under test.
    pub device: String,
    /// The seed.
    pub seed: u64,
    /// The encoding forced with `--wire`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire: Option<Encoding>,
    /// The totals.
    pub summary: Summary,
    /// Every case.
    pub cases: Vec<CaseRecord>,
    /// What else happened (sessions that could not be set up, the device not coming back).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl FuzzReport {
    /// Recomputes [`FuzzReport::summary`] from the cases.
    pub fn summarise(&mut self) {
        let mut s = Summary::default();
        for c in &self.cases {
            s.total.add(c.class);
            s.by_kind.entry(c.mutant.kind.name()).or_default().add(c.class);
            *s.by_response.entry(c.response.name().to_owned()).or_default() += 1;
        }
        self.summary = s;
    }

    /// Writes `report.json`, `report.md` and a reproducer per case (`reproducers/case-NNNN.http`: the
    /// HTTP response exactly as served, status line, headers and body) into `dir`. Bodies over 256 KiB are
    /// written only for cases with anomalies.
    ///
    /// # Errors
    /// File system errors.
    pub fn write(&mut self, dir: &Path) -> std::io::Result<()> {
        let repro = dir.join("reproducers");
        std::fs::create_dir_all(&repro)?;
        for c in &mut self.cases {
            if c.mutant.body.len() > 256 * 1024 && c.class == Class::Ok {
                continue;
            }
            let name = format!("case-{:04}.http", c.index);
            std::fs::write(repro.join(&name), http_bytes(&c.mutant, c.sent_hmac.as_deref()))?;
            c.reproducer = Some(format!("reproducers/{name}"));
        }
        self.summarise();
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("report.json"), json)?;
        std::fs::write(dir.join("report.md"), self.markdown())?;
        Ok(())
    }

    /// The human-readable report.
    #[must_use]
    pub fn markdown(&self) -> String {
        let mut m = String::new();
        let t = &self.summary.total;
        let _ = writeln!(m, "# dm-server fuzz report\n");
        let _ = writeln!(m, "- device: `{}`\n- seed: {}\n- cases: {}", self.device, self.seed, t.cases);
        let _ =
            writeln!(m, "- ok: {}, crash-like: {}, protocol anomalies: {}\n", t.ok, t.crash_like, t.protocol);
        let _ = writeln!(
            m,
            "## By mutation\n\n| kind | cases | ok | crash-like | protocol |\n|---|---|---|---|---|"
        );
        for (k, c) in &self.summary.by_kind {
            let _ = writeln!(m, "| {k} | {} | {} | {} | {} |", c.cases, c.ok, c.crash_like, c.protocol);
        }
        let _ = writeln!(m, "\n## By response\n\n| response | cases |\n|---|---|");
        for (k, n) in &self.summary.by_response {
            let _ = writeln!(m, "| {k} | {n} |");
        }
        let _ = writeln!(m, "\n## Anomalies\n");
        let mut any = false;
        for c in self.cases.iter().filter(|c| c.class != Class::Ok) {
            any = true;
            let _ = writeln!(
                m,
                "- case {} `{}` ({:?}): {} → **{}**; {}; reproducer `{}`",
                c.index,
                c.mutant.kind.name(),
                c.class,
                c.mutant.description,
                c.response.name(),
                c.anomalies.iter().map(|a| format!("{a:?}")).collect::<Vec<_>>().join(", "),
                c.reproducer.as_deref().unwrap_or("-"),
            );
        }
        if !any {
            let _ = writeln!(m, "None.");
        }
        let _ = writeln!(
            m,
            "\n## Cases\n\n| # | kind | mutation | expect | response | class | ms |\n|---|---|---|---|---|---|---|"
        );
        for c in &self.cases {
            let expect = serde_json::to_value(&c.mutant.expect)
                .ok()
                .and_then(|v| v.get("expect").and_then(|e| e.as_str().map(str::to_owned)))
                .unwrap_or_default();
            let _ = writeln!(
                m,
                "| {} | {} | {} | {expect} | {} | {:?} | {} |",
                c.index,
                c.mutant.kind.name(),
                c.mutant.description.replace('|', "\\|"),
                c.response.name(),
                c.class,
                c.elapsed_ms
            );
        }
        if !self.notes.is_empty() {
            let _ = writeln!(m, "\n## Notes\n");
            for n in &self.notes {
                let _ = writeln!(m, "- {n}");
            }
        }
        m
    }
}

/// The HTTP response a mutant was served as, byte for byte.
#[must_use]
pub fn http_bytes(m: &Mutant, hmac: Option<&str>) -> Vec<u8> {
    let mut head = String::from("HTTP/1.1 200 OK\r\n");
    if let Some(ct) = &m.content_type {
        let _ = write!(head, "Content-Type: {ct}\r\n");
    }
    if let Some(h) = hmac {
        let _ = write!(head, "x-syncml-hmac: {h}\r\n");
    }
    let _ = write!(head, "Content-Length: {}\r\n\r\n", m.body.len());
    let mut out = head.into_bytes();
    out.extend_from_slice(&m.body);
    out
}

fn short(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(200).collect()
}

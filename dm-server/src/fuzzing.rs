//! The stateful fuzz body of the DM server session engine (feature `fuzzing`; compiled for tests too),
//! called by the cargo-fuzz target `dm_server` of `fuzz/` and replayed over the committed corpus by
//! `cargo test`.
//!
//! [`dm_server`] brings a session to the middle of a management package with a scripted valid exchange
//! (package 1 with basic credentials; the server answers 212 with the queued `Get`, `Replace`, `Delete`),
//! then feeds the fuzz input as records (an operation byte, a two-byte big-endian length, that many
//! bytes): operation `% 3` = 0 a client message body, 1 a body with the next record's bytes as its
//! `x-syncml-hmac` header, 2 a timeout after the payload's first byte in minutes. The engine must never
//! panic, must answer each message at most once with a message that decodes, and must end at most once.

use std::time::{Duration, Instant};

use m2msim_codec::dm::ddf::Format;
use m2msim_codec::syncml::tree::Profile;
use m2msim_codec::syncml::{
    AlertCode, Command, Cred, Data, DevInfo, DmVersion, Item, Results, Status, StatusCode, SyncHdr, SyncMl,
    Wire,
};
use m2msim_codec::xml::Mode;

use crate::directory::{AuthScheme, Credentials, DeviceRecord, InMemoryDirectory};
use crate::jobs::InMemoryJobQueue;
use crate::nonce::SeededNonces;
use crate::operation::cmd;
use crate::session::{IncomingMessage, Input, Output, ServerSession, Services, SessionConfig};

const DEV: &str = "IMEI:493005100592800";
const SRV: &str = "https://dm.example.com/dm";

/// A body by name.
pub type Body = fn(&[u8]);

/// Every body of this crate by name (the cargo-fuzz target of the same name calls it).
pub const BODIES: &[(&str, Body)] = &[("dm_server", dm_server)];

/// Feeds one message; returns the decoded answer, if one came, and how many times the session ended.
fn send(s: &mut ServerSession, now: Instant, body: &[u8], hmac: Option<&str>) -> (Option<SyncMl>, usize) {
    let message = IncomingMessage { body, content_type: None, hmac };
    let _ = s.handle_input(Input::Message { now, message });
    drain(s)
}

/// Drains the session: its answer (decoded; at most one) and how many times it ended.
fn drain(s: &mut ServerSession) -> (Option<SyncMl>, usize) {
    let (mut answer, mut ended) = (None, 0);
    while let Some(o) = s.poll_output() {
        match o {
            Output::Message(m) => {
                let d = SyncMl::decode(&m.body, Mode::Strict).expect("the server's own message decodes");
                assert!(answer.is_none(), "two answers to one message");
                answer = Some(d.message);
            }
            Output::Event(_) => {}
            Output::Ended { .. } => ended += 1,
        }
    }
    (answer, ended)
}

/// Package 1 with basic credentials.
fn package1() -> SyncMl {
    let hdr = SyncHdr::new(DmVersion::V1_2, "1", 1, SRV, DEV)
        .with_source_name("dev")
        .with_cred(Cred::basic("dev", "devpw"));
    let dev = DevInfo {
        dev_id: DEV.into(),
        man: "Acme".into(),
        model: "Widget".into(),
        dm_v: "1.2".into(),
        lang: "en".into(),
    };
    let mut m = SyncMl::package1(hdr, AlertCode::CLIENT_INITIATED_MGMT, &dev);
    m.body.final_ = true;
    m
}

/// A session after package 1, holding the server's management message.
fn mid_session() -> Option<(ServerSession, Instant, SyncMl)> {
    let dir = InMemoryDirectory::new();
    dir.insert(DeviceRecord {
        device_id: DEV.into(),
        client: Credentials::new(AuthScheme::Basic, "dev", "devpw", Vec::new()),
        server: None,
    });
    let jobs = InMemoryJobQueue::new();
    jobs.push(DEV, cmd::get("./DevInfo/Mod"));
    jobs.push(DEV, cmd::replace("./Conf/Name", Format::Chr, "x"));
    jobs.push(DEV, cmd::delete("./Conf/Old"));
    let services = Services {
        directory: Box::new(dir),
        jobs: Box::new(jobs),
        nonces: Box::new(SeededNonces::new(b"fuzz".to_vec())),
    };
    let now = Instant::now();
    let mut s = ServerSession::new(SessionConfig::default(), services, now);
    let body = package1().encode(&Wire::xml(Profile::rtk())).ok()?;
    let (answer, ended) = send(&mut s, now, &body, None);
    (ended == 0).then_some(())?;
    Some((s, now, answer?))
}

/// The DM server engine fed client messages in the middle of a session (see the module docs).
///
/// # Panics
/// On a bug: two answers to one message, an answer that does not decode, a session that ends twice.
pub fn dm_server(data: &[u8]) {
    let Some((mut s, mut now, _)) = mid_session() else { return };
    let mut ended = 0;
    let mut rest = data;
    let next = |rest: &mut &[u8]| -> Option<(u8, Vec<u8>)> {
        let (&op, tail) = rest.split_first()?;
        let (len, tail) = tail.split_at(tail.len().min(2));
        let n = len.iter().fold(0usize, |a, &b| a << 8 | usize::from(b)).min(tail.len());
        let (payload, tail) = tail.split_at(n);
        *rest = tail;
        Some((op, payload.to_vec()))
    };
    for _ in 0..32 {
        let Some((op, body)) = next(&mut rest) else { break };
        now += Duration::from_secs(1);
        let e = match op % 3 {
            0 => send(&mut s, now, &body, None).1,
            1 => {
                let hmac = next(&mut rest).map(|(_, h)| String::from_utf8_lossy(&h).into_owned());
                send(&mut s, now, &body, hmac.as_deref()).1
            }
            _ => {
                now += Duration::from_secs(60 * u64::from(*body.first().unwrap_or(&1)));
                // A timeout on an ended session is refused with an error: the contract, not a bug.
                let _ = s.handle_input(Input::Timeout { now });
                drain(&mut s).1
            }
        };
        ended += e;
        assert!(ended <= 1, "the session ended {ended} times");
    }
}

/// Seed inputs made by our own encoders: the client's answer to the management message (statuses,
/// `Results` for the `Get`) in XML and in WBXML, and one with a 404 and Alert 1222.
#[must_use]
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    let Some((_, _, server)) = mid_session() else { return out };
    let reply = |code: StatusCode, next: bool| {
        let mut m = SyncMl::new(SyncHdr::new(DmVersion::V1_2, "1", 2, SRV, DEV));
        m.body.commands.push(Command::Status(Status::for_header(1, &server.hdr, StatusCode::OK)));
        let mut id = 1;
        for c in server.body.commands.iter().filter(|c| !matches!(c, Command::Status(_))) {
            id += 1;
            m.body.commands.push(Command::Status(Status::for_command(id, server.hdr.msg_id, c, code)));
            if let Command::Get(g) = c {
                id += 1;
                let uri = g.items.first().and_then(Item::target_uri).unwrap_or_default().to_owned();
                let item = Item::result(uri, Format::Chr, None, Data::text("value"));
                let cmd_ref = c.cmd_id().unwrap_or(0);
                m.body.commands.push(Command::Results(Results::new(
                    id,
                    Some(server.hdr.msg_id),
                    cmd_ref,
                    vec![item],
                )));
            }
        }
        if next {
            m.body.commands.push(Command::Alert(m2msim_codec::syncml::Alert::next_message(id + 1)));
        }
        m.body.final_ = true;
        m
    };
    for (name, m, wire) in [
        ("answer-xml", reply(StatusCode::OK, false), Wire::xml(Profile::rtk())),
        ("answer-wbxml", reply(StatusCode::OK, false), Wire::wbxml(Profile::rtk())),
        ("answer-404-xml", reply(StatusCode::NOT_FOUND, true), Wire::xml(Profile::rtk())),
    ] {
        let Ok(body) = m.encode(&wire) else { continue };
        let Ok(len) = u16::try_from(body.len()) else { continue };
        let mut input = vec![0];
        input.extend_from_slice(&len.to_be_bytes());
        input.extend_from_slice(&body);
        out.push(("dm_server", name.to_owned(), input));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mid_session_is_reached_and_seeds_run() {
        let (_, _, m) = mid_session().expect("the scripted exchange reaches the management package");
        assert!(m.body.commands.iter().any(|c| matches!(c, Command::Get(_))), "{m:?}");
        let seeds = seeds();
        assert_eq!(seeds.len(), 3);
        for (_, _, input) in &seeds {
            dm_server(input);
        }
    }

    /// Every committed corpus file and regression of this crate's target, through its body.
    #[test]
    fn corpus_replay() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
        let n = m2msim_codec::testdata::replay_fuzz_dirs(&root, BODIES);
        assert!(n > 0, "no corpus files under {}", root.display());
    }
}

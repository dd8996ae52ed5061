//! The stateful fuzz body of the DM client session engine (feature `fuzzing`; compiled for tests too),
//! called by the cargo-fuzz target `dm_client` of `fuzz/` and replayed over the committed corpus by
//! `cargo test`.
//!
//! [`dm_client`] brings a client to the middle of a session with a scripted valid exchange (package 1,
//! the server's package 2 with a `Get` and without `Final`, the client's answer), then feeds the fuzz input
//! as records (an operation byte, a two-byte big-endian length, that many bytes): operation `% 4` = 0 a server message
//! body, 1 a message body with the next record's bytes as its `x-syncml-hmac` header, 2 a transport
//! failure, 3 a timeout. The engine must never panic, must end a session at most once, and every message
//! it transmits must decode (what the client says, a server can read).

use m2msim_codec::syncml::tree::Profile;
use m2msim_codec::syncml::{Command, Item, ItemCommand, Status, StatusCode, SyncMl, Wire};

use crate::mo::devinfo::DevInfo;
use crate::mo::dmacc::{self, Credentials, DmAccount, Layout, Secret};
use crate::session::{ClientConfig, DmClient, Input, Output, SeededNonces, decode_transmit};
use crate::tree::{Acl, DmTime, DmTree};

const T: DmTime = DmTime(1_000_000);
const SERVER: &str = "srv.example";

/// A body by name.
pub type Body = fn(&[u8]);

/// Every body of this crate by name (the cargo-fuzz target of the same name calls it).
pub const BODIES: &[(&str, Body)] = &[("dm_client", dm_client)];

/// The client's tree: DevInfo, a DM 1.2 account for [`SERVER`] with basic authentication, open ACLs.
fn tree() -> Option<DmTree> {
    let mut t = DmTree::default();
    let info = DevInfo {
        dev_id: "IMEI:490154203237518".into(),
        man: "m2msim".into(),
        model: "sim".into(),
        dm_v: "1.2".into(),
        lang: "en-US".into(),
    };
    info.install(&mut t, T).ok()?;
    dmacc::install(&mut t, Layout::Dm12, T).ok()?;
    let acc = DmAccount {
        layout: Layout::Dm12,
        account: "acc".into(),
        server_id: SERVER.into(),
        name: None,
        addr: "https://srv.example/dm".into(),
        addr_type: None,
        port: None,
        con_ref: None,
        auth_pref: None,
        client: Some(Credentials {
            auth_type: m2msim_codec::dm::auth::AuthType::Basic,
            name: "dev".into(),
            secret: Secret::new("devpw"),
            nonce: Vec::new(),
        }),
        server: None,
    };
    acc.write(&mut t, T).ok()?;
    t.local(T).set_acl(".", Acl::parse("Add=*&Get=*&Replace=*&Delete=*&Exec=*").ok()?).ok()?;
    Some(t)
}

/// The server's answer to `last` (message `msg_id`): header Status 212, Status 200 for each of the
/// client's commands, then `cmds`.
fn server_message(last: &SyncMl, msg_id: u32, cmds: Vec<Command>, final_: bool) -> SyncMl {
    let mut m = SyncMl::new(last.hdr.reply(msg_id));
    m.body.commands.push(Status::for_header(1, &last.hdr, StatusCode::AUTHENTICATION_ACCEPTED).into());
    let mut id = 100;
    for c in &last.body.commands {
        if !matches!(c, Command::Status(_) | Command::Results(_)) {
            m.body.commands.push(Status::for_command(id, last.hdr.msg_id, c, StatusCode::OK).into());
            id += 1;
        }
    }
    for (i, mut c) in cmds.into_iter().enumerate() {
        c.set_cmd_id(u32::try_from(i).unwrap_or(0) + 2);
        m.body.commands.push(c);
    }
    m.body.final_ = final_;
    m
}

/// A `Get` of `uri`.
fn get(uri: &str) -> Command {
    Command::Get(ItemCommand::new(0).with_item(Item::default().with_target(uri)))
}

/// Drains the client: the transmitted messages (decoded) and how many sessions ended.
fn drain(c: &mut DmClient, sent: &mut Vec<SyncMl>) -> usize {
    let mut ended = 0;
    while let Some(o) = c.poll_output() {
        match o {
            Output::Transmit(t) => {
                let m = decode_transmit(&t).expect("the client's own message decodes");
                sent.push(m);
            }
            Output::Event(_) => {}
            Output::Ended { .. } => ended += 1,
        }
    }
    ended
}

/// A client in the middle of a session: it has answered the server's first (open) package; returns it
/// with its messages so far.
fn mid_session() -> Option<(DmClient, Vec<SyncMl>)> {
    let mut c = DmClient::new(tree()?, ClientConfig::default(), SeededNonces::new(1));
    c.handle_input(Input::Connect { server_id: SERVER.into(), session_id: Some("1".into()), now: T }).ok()?;
    let mut sent = Vec::new();
    drain(&mut c, &mut sent);
    let m = server_message(sent.last()?, 1, vec![get("./DevInfo/Mod")], false);
    let body = m.encode(&Wire::xml(Profile::rtk())).ok()?;
    c.handle_input(Input::Response { body, hmac: None, now: T }).ok()?;
    (drain(&mut c, &mut sent) == 0).then_some((c, sent))
}

/// The DM client engine fed server messages in the middle of a session (see the module docs).
///
/// # Panics
/// On a bug: a transmitted message that does not decode, or a session that ends twice.
pub fn dm_client(data: &[u8]) {
    let Some((mut c, mut sent)) = mid_session() else { return };
    let mut ended = 0;
    let mut rest = data;
    let mut now = T.0;
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
        now += 1;
        let now = DmTime(now);
        let input = match op % 4 {
            0 => Input::Response { body, hmac: None, now },
            1 => {
                let hmac = next(&mut rest).map(|(_, h)| String::from_utf8_lossy(&h).into_owned());
                Input::Response { body, hmac, now }
            }
            2 => Input::TransportFailed { now },
            _ => Input::Timeout { now },
        };
        // Inputs with no session in progress are refused with an error: that is the contract, not a bug.
        let _ = c.handle_input(input);
        ended += drain(&mut c, &mut sent);
        assert!(ended <= 1, "the session ended {ended} times");
    }
}

/// Seed inputs made by our own encoders: the server's next package (a `Replace` and a `Get`, final) in
/// XML, the same in WBXML, and an empty final package that ends the session.
#[must_use]
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    let Some((_, sent)) = mid_session() else { return out };
    let Some(last) = sent.last() else { return out };
    let replace = Command::Replace(
        ItemCommand::new(0).with_item(Item::default().with_target("./DevInfo/Lang").with_data("de-DE")),
    );
    let full = server_message(last, 2, vec![replace, get("./DevInfo/Lang")], true);
    let end = server_message(last, 2, Vec::new(), true);
    for (name, m, wire) in [
        ("package4-xml", &full, Wire::xml(Profile::rtk())),
        ("package4-wbxml", &full, Wire::wbxml(Profile::rtk())),
        ("end-xml", &end, Wire::xml(Profile::rtk())),
    ] {
        if let Ok(body) = m.encode(&wire) {
            let Ok(len) = u16::try_from(body.len()) else { continue };
            let mut input = vec![0];
            input.extend_from_slice(&len.to_be_bytes());
            input.extend_from_slice(&body);
            out.push(("dm_client", name.to_owned(), input));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mid_session_is_reached_and_seeds_run() {
        let (_, sent) = mid_session().expect("the scripted exchange reaches the middle of a session");
        assert_eq!(sent.len(), 2, "package 1 and the answer to package 2");
        let seeds = seeds();
        assert_eq!(seeds.len(), 3);
        for (_, _, input) in &seeds {
            dm_client(input);
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

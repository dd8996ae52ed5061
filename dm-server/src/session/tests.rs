//! The engine against scripted client messages.

use std::time::{Duration, Instant};

use m2msim_codec::dm::auth::HmacHeader;
use m2msim_codec::dm::ddf::Format;
use m2msim_codec::syncml::tree::Profile;
use m2msim_codec::syncml::{
    Alert, AlertCode, Command, Cred, Data, DevInfo, DmVersion, Item, Results, Status, StatusCode, SyncHdr,
    SyncMl, Wire,
};
use m2msim_codec::xml::Mode;

use super::*;
use crate::directory::{AuthScheme, Credentials, DeviceRecord, InMemoryDirectory};
use crate::jobs::InMemoryJobQueue;
use crate::nonce::SeededNonces;
use crate::operation::{NotSentReason, OutcomeState, cmd};

const DEV: &str = "IMEI:493005100592800";
const SRV: &str = "https://dm.example.com/dm";

/// A scripted client: builds messages, feeds them, decodes the answers.
struct Rig {
    session: ServerSession,
    dir: InMemoryDirectory,
    now: Instant,
    msg_id: u32,
    sid: String,
    version: DmVersion,
    wire: Wire,
    max_msg: Option<u64>,
    max_obj: Option<u64>,
    events: Vec<Event>,
    ended: Option<SessionOutcome>,
}

fn record(scheme: AuthScheme) -> DeviceRecord {
    DeviceRecord {
        device_id: DEV.into(),
        client: Credentials::new(scheme, "dev", "devpw", b"n0".to_vec()),
        server: None,
    }
}

fn dev_info() -> DevInfo {
    DevInfo {
        dev_id: DEV.into(),
        man: "Acme".into(),
        model: "Widget".into(),
        dm_v: "1.2".into(),
        lang: "en".into(),
    }
}

impl Rig {
    fn new(rec: DeviceRecord) -> Self {
        Self::with(rec, InMemoryJobQueue::new(), SessionConfig::default())
    }

    fn with(rec: DeviceRecord, jobs: InMemoryJobQueue, config: SessionConfig) -> Self {
        let dir = InMemoryDirectory::new();
        dir.insert(rec);
        Self::on(dir, jobs, config)
    }

    fn on(dir: InMemoryDirectory, jobs: InMemoryJobQueue, config: SessionConfig) -> Self {
        let now = Instant::now();
        let services = Services {
            directory: Box::new(dir.clone()),
            jobs: Box::new(jobs.clone()),
            nonces: Box::new(SeededNonces::new(b"test".to_vec())),
        };
        Self {
            session: ServerSession::new(config, services, now),
            dir,
            now,
            msg_id: 0,
            sid: "1".into(),
            version: DmVersion::V1_2,
            wire: Wire::xml(Profile::rtk()),
            max_msg: None,
            max_obj: None,
            events: Vec::new(),
            ended: None,
        }
    }

    fn hdr(&mut self) -> SyncHdr {
        self.msg_id += 1;
        let mut h = SyncHdr::new(self.version, self.sid.clone(), self.msg_id, SRV, DEV);
        if let Some(n) = self.max_msg {
            h = h.with_max_msg_size(n);
        }
        if let Some(n) = self.max_obj {
            h = h.with_max_obj_size(n);
        }
        h
    }

    fn package1(&mut self, cred: Option<Cred>) -> SyncMl {
        let mut h = self.hdr().with_source_name("dev");
        if let Some(c) = cred {
            h = h.with_cred(c);
        }
        let mut m = SyncMl::package1(h, AlertCode::CLIENT_INITIATED_MGMT, &dev_info());
        m.body.final_ = true;
        m
    }

    fn md5(&self) -> Cred {
        let nonce = self.dir.get(DEV).unwrap().client.nonce;
        Cred::md5(b"dev", b"devpw", &nonce)
    }

    /// Sends raw bytes; returns the answer (decoded) if one came.
    fn send_bytes(&mut self, body: &[u8], hmac: Option<&str>) -> Option<(SyncMl, OutgoingMessage)> {
        self.now += Duration::from_secs(1);
        let message = IncomingMessage { body, content_type: None, hmac };
        self.session.handle_input(Input::Message { now: self.now, message }).unwrap();
        let mut answer = None;
        while let Some(o) = self.session.poll_output() {
            match o {
                Output::Message(m) => {
                    let d = SyncMl::decode(&m.body, Mode::Strict).unwrap();
                    assert_eq!(d.wire.encoding, self.wire.encoding);
                    assert!(answer.is_none(), "two answers to one message");
                    answer = Some((d.message, m));
                }
                Output::Event(e) => self.events.push(e),
                Output::Ended { outcome } => self.ended = Some(outcome),
            }
        }
        answer
    }

    fn send(&mut self, m: &SyncMl) -> Option<SyncMl> {
        let body = m.encode(&self.wire).unwrap();
        self.send_bytes(&body, None).map(|(m, _)| m)
    }

    /// The client's answer to a server message: header status, then `answer(command)` for each command
    /// (its status and optional `Results` items); Alert 1222 unless the server message was final.
    fn reply(
        &mut self,
        server: &SyncMl,
        mut answer: impl FnMut(&Command) -> (StatusCode, Option<Vec<Item>>),
    ) -> SyncMl {
        let mut m = SyncMl::new(self.hdr());
        let mut id = 0;
        let mut next = || {
            id += 1;
            id
        };
        m.body.commands.push(Command::Status(Status::for_header(next(), &server.hdr, StatusCode::OK)));
        fn each(c: &Command, out: &mut Vec<Command>) {
            out.push(c.clone());
            if let Command::Atomic(g) | Command::Sequence(g) = c {
                g.commands.iter().for_each(|c| each(c, out));
            }
        }
        let mut all = Vec::new();
        server
            .body
            .commands
            .iter()
            .filter(|c| !matches!(c, Command::Status(_)))
            .for_each(|c| each(c, &mut all));
        for c in &all {
            let (code, results) = answer(c);
            m.body.commands.push(Command::Status(Status::for_command(next(), server.hdr.msg_id, c, code)));
            if let Some(items) = results {
                let cmd_ref = c.cmd_id().unwrap_or(0);
                m.body.commands.push(Command::Results(Results::new(
                    next(),
                    Some(server.hdr.msg_id),
                    cmd_ref,
                    items,
                )));
            }
        }
        if !server.body.final_ {
            m.body.commands.push(Command::Alert(Alert::next_message(next())));
        }
        m.body.final_ = true;
        m
    }

    fn completed(&self) -> Vec<OperationOutcome> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::OperationCompleted(o) => Some(o.clone()),
                _ => None,
            })
            .collect()
    }
}

fn ok_all(c: &Command) -> (StatusCode, Option<Vec<Item>>) {
    match c {
        Command::Get(g) => {
            let uri = g.items[0].target_uri().unwrap_or_default().to_owned();
            (StatusCode::OK, Some(vec![Item::result(uri, Format::Chr, None, Data::text("value"))]))
        }
        _ => (StatusCode::OK, None),
    }
}

fn header_status(m: &SyncMl) -> &Status {
    m.header_status().expect("a header status")
}

fn commands(m: &SyncMl) -> Vec<&Command> {
    m.body.commands.iter().filter(|c| !matches!(c, Command::Status(_))).collect()
}

/// Authenticates with MD5 after a 407; returns the first management message.
fn authenticate(r: &mut Rig) -> SyncMl {
    let p1 = r.package1(None);
    let a = r.send(&p1).unwrap();
    assert_eq!(header_status(&a).code, StatusCode::MISSING_CREDENTIALS);
    let cred = r.md5();
    let p1 = r.package1(Some(cred));
    r.send(&p1).unwrap()
}

#[test]
fn md5_session_runs_operations_and_ends() {
    let jobs = InMemoryJobQueue::new();
    let g = jobs.push(DEV, cmd::get("./DevInfo/Mod"));
    let rp = jobs.push(DEV, cmd::replace("./Conf/Name", Format::Chr, "x"));
    let del = jobs.push(DEV, cmd::delete("./Conf/Old"));
    let mut r = Rig::with(record(AuthScheme::Md5), jobs.clone(), SessionConfig::default());

    // Package 1 without credentials: 407 with an MD5 Chal and a fresh nonce, nothing else.
    let p1 = r.package1(None);
    let a = r.send(&p1).unwrap();
    let hs = header_status(&a);
    assert_eq!(hs.code, StatusCode::MISSING_CREDENTIALS);
    let chal = hs.chal.as_ref().unwrap();
    let nonce = chal.meta.next_nonce.as_ref().unwrap().bytes().to_vec();
    assert_eq!(nonce.len(), 16);
    assert_eq!(r.dir.get(DEV).unwrap().client.nonce, nonce);
    assert_eq!(a.body.commands.len(), 1);
    assert!(a.body.final_);

    // With the digest over that nonce: 212 with the next nonce, statuses for Alert and Replace, commands.
    let cred = Cred::md5(b"dev", b"devpw", &nonce);
    let p1 = r.package1(Some(cred));
    let a = r.send(&p1).unwrap();
    let hs = header_status(&a);
    assert_eq!(hs.code, StatusCode::AUTHENTICATION_ACCEPTED);
    let next = hs.chal.as_ref().unwrap().meta.next_nonce.as_ref().unwrap().bytes().to_vec();
    assert_ne!(next, nonce);
    assert_eq!(r.dir.get(DEV).unwrap().client.nonce, next);
    let statuses: Vec<_> = a.statuses().map(|s| (s.cmd.as_str(), s.code)).collect();
    assert_eq!(
        statuses,
        vec![
            ("SyncHdr", StatusCode::AUTHENTICATION_ACCEPTED),
            ("Alert", StatusCode::OK),
            ("Replace", StatusCode::OK)
        ]
    );
    assert_eq!(r.dir.dev_info(DEV), Some(dev_info()));
    assert!(r.events.iter().any(|e| matches!(e, Event::DevInfo(d) if *d == dev_info())));
    let cmds = commands(&a);
    assert_eq!(cmds.iter().map(|c| c.name()).collect::<Vec<_>>(), vec!["Get", "Replace", "Delete"]);
    // CmdIDs are unique in the message.
    let mut ids: Vec<_> = a.body.commands.iter().filter_map(Command::cmd_id).collect();
    ids.dedup();
    assert_eq!(ids.len(), a.body.commands.len());
    assert!(a.body.final_);
    assert_eq!(a.hdr.target.loc_uri, DEV);

    // The client answers: Get 200 with results, Replace 200, Delete 404.
    let reply = r.reply(&a, |c| match c {
        Command::Delete(_) => (StatusCode::NOT_FOUND, None),
        c => ok_all(c),
    });
    let end = r.send(&reply).unwrap();
    assert!(end.body.final_);
    assert!(commands(&end).is_empty(), "the last package asks for nothing");
    assert_eq!(header_status(&end).code, StatusCode::OK);
    assert_eq!(r.ended, Some(SessionOutcome::Completed));

    let og = jobs.outcome(g).unwrap();
    assert_eq!(og.state, OutcomeState::Done);
    assert_eq!(og.status, Some(StatusCode::OK));
    assert_eq!(og.results[0].data, Some(Data::text("value")));
    assert!(og.succeeded());
    assert!(jobs.outcome(rp).unwrap().succeeded());
    assert_eq!(jobs.outcome(del).unwrap().status, Some(StatusCode::NOT_FOUND));
    assert!(jobs.queued(DEV).is_empty());
    assert_eq!(r.completed().len(), 3);
    assert!(r.session.handle_input(Input::Timeout { now: r.now }).is_err());
}

#[test]
fn wrong_password_is_refused_until_the_session_fails() {
    let mut r = Rig::new(record(AuthScheme::Basic));
    for i in 0..3 {
        let p1 = r.package1(Some(Cred::basic("dev", "wrong")));
        let a = r.send(&p1).unwrap();
        let hs = header_status(&a);
        assert_eq!(hs.code, StatusCode::INVALID_CREDENTIALS);
        assert_eq!(hs.chal.is_some(), i < 2, "the last refusal carries no Chal");
        assert_eq!(a.body.commands.len(), 1);
    }
    assert_eq!(r.ended, Some(SessionOutcome::Failed(FailReason::AuthenticationFailed)));
    assert!(!r.events.iter().any(|e| matches!(e, Event::Authenticated { .. })));
    assert!(r.dir.dev_info(DEV).is_none(), "nothing recorded from an unauthenticated client");
}

#[test]
fn basic_and_unknown_device() {
    let mut r = Rig::new(record(AuthScheme::Basic));
    let p1 = r.package1(Some(Cred::basic("dev", "devpw")));
    let a = r.send(&p1).unwrap();
    assert_eq!(header_status(&a).code, StatusCode::AUTHENTICATION_ACCEPTED);
    assert!(header_status(&a).chal.is_none());
    assert_eq!(r.ended, Some(SessionOutcome::Completed), "nothing queued: the first package ends it");

    // An unknown device is challenged like a wrong password.
    let mut r = Rig::on(InMemoryDirectory::new(), InMemoryJobQueue::new(), SessionConfig::default());
    let p1 = r.package1(Some(Cred::basic("dev", "devpw")));
    let a = r.send(&p1).unwrap();
    assert_eq!(header_status(&a).code, StatusCode::INVALID_CREDENTIALS);
}

#[test]
fn stale_md5_nonce_is_refused_with_a_new_one() {
    let mut r = Rig::new(record(AuthScheme::Md5));
    let p1 = r.package1(Some(Cred::md5(b"dev", b"devpw", b"old")));
    let a = r.send(&p1).unwrap();
    let hs = header_status(&a);
    assert_eq!(hs.code, StatusCode::INVALID_CREDENTIALS);
    let fresh = hs.chal.as_ref().unwrap().meta.next_nonce.as_ref().unwrap().bytes().to_vec();
    let p1 = r.package1(Some(Cred::md5(b"dev", b"devpw", &fresh)));
    assert_eq!(header_status(&r.send(&p1).unwrap()).code, StatusCode::AUTHENTICATION_ACCEPTED);
}

#[test]
fn hmac_mode_and_tampering() {
    let jobs = InMemoryJobQueue::new();
    jobs.push(DEV, cmd::get("./a"));
    jobs.push(DEV, cmd::get("./b"));
    let mut rec = record(AuthScheme::Hmac);
    rec.server = Some(Credentials::new(AuthScheme::Hmac, "srv", "srvpw", b"s0".to_vec()));
    let mut r =
        Rig::with(rec, jobs.clone(), SessionConfig { max_msg_size: 65536, ..SessionConfig::default() });
    r.max_msg = Some(900);

    let mac = |r: &Rig, body: &[u8]| {
        let c = r.dir.get(DEV).unwrap().client;
        HmacHeader::compute("dev", b"devpw", &c.nonce, body).to_string()
    };
    // No header: 407 with an HMAC Chal.
    let body = r.package1(None).encode(&r.wire).unwrap();
    let (a, out) = r.send_bytes(&body, None).unwrap();
    assert_eq!(header_status(&a).code, StatusCode::MISSING_CREDENTIALS);
    assert!(out.hmac.is_none(), "no server MAC to an unauthenticated client");
    // With the MAC: 200 and a NextNonce; the server's MAC on its answer.
    let body = r.package1(None).encode(&r.wire).unwrap();
    let h = mac(&r, &body);
    let (a, out) = r.send_bytes(&body, Some(&h)).unwrap();
    let hs = header_status(&a);
    assert_eq!(hs.code, StatusCode::OK);
    let n1 = hs.chal.as_ref().unwrap().meta.next_nonce.as_ref().unwrap().bytes().to_vec();
    let sh = HmacHeader::parse(out.hmac.as_deref().unwrap()).unwrap();
    assert!(sh.verify(b"srvpw", b"s0", &out.body).unwrap());
    assert!(r.events.iter().any(|e| matches!(e, Event::Authenticated { scheme: AuthScheme::Hmac, .. })));
    assert_eq!(r.dir.get(DEV).unwrap().client.nonce, n1);

    // Next message under the new nonce: 200 and another nonce.
    let reply = r.reply(&a, ok_all);
    let body = reply.encode(&r.wire).unwrap();
    let h = mac(&r, &body);
    let (a2, _) = r.send_bytes(&body, Some(&h)).unwrap();
    let hs = header_status(&a2);
    assert_eq!(hs.code, StatusCode::OK);
    assert_ne!(hs.chal.as_ref().unwrap().meta.next_nonce.as_ref().unwrap().bytes(), n1.as_slice());

    // A tampered message (MAC over other bytes): 401, abort, the session fails.
    if r.ended.is_none() {
        let reply = r.reply(&a2, ok_all);
        let body = reply.encode(&r.wire).unwrap();
        let h = mac(&r, b"something else");
        let (a3, _) = r.send_bytes(&body, Some(&h)).unwrap();
        assert_eq!(header_status(&a3).code, StatusCode::INVALID_CREDENTIALS);
        assert!(
            commands(&a3)
                .iter()
                .any(|c| matches!(c, Command::Alert(a) if a.code == AlertCode::SESSION_ABORT))
        );
        assert_eq!(r.ended, Some(SessionOutcome::Failed(FailReason::IntegrityCheckFailed)));
    }
}

#[test]
fn hmac_tampered_mid_session() {
    let jobs = InMemoryJobQueue::new();
    let op = jobs.push(DEV, cmd::get("./a"));
    let mut r = Rig::with(record(AuthScheme::Hmac), jobs.clone(), SessionConfig::default());
    let body = r.package1(None).encode(&r.wire).unwrap();
    let c = r.dir.get(DEV).unwrap().client;
    let h = HmacHeader::compute("dev", b"devpw", &c.nonce, &body).to_string();
    let (a, _) = r.send_bytes(&body, Some(&h)).unwrap();
    assert_eq!(commands(&a).len(), 1);
    let reply = r.reply(&a, ok_all);
    let body = reply.encode(&r.wire).unwrap();
    let c = r.dir.get(DEV).unwrap().client;
    let h = HmacHeader::compute("dev", b"devpw", &c.nonce, &body).to_string();
    // A man in the middle turns the Get's 200 into 500: the MAC no longer matches.
    let mut forged = reply.clone();
    if let Some(Command::Status(s)) = forged.body.commands.get_mut(1) {
        s.code = StatusCode::COMMAND_FAILED;
    }
    let body = forged.encode(&r.wire).unwrap();
    let (a3, _) = r.send_bytes(&body, Some(&h)).unwrap();
    assert_eq!(header_status(&a3).code, StatusCode::INVALID_CREDENTIALS);
    assert_eq!(r.ended, Some(SessionOutcome::Failed(FailReason::IntegrityCheckFailed)));
    assert_eq!(jobs.queued(DEV), vec![op], "the unanswered operation stays queued");
    assert!(r.events.contains(&Event::OperationUnanswered(op)));
}

#[test]
fn atomic_sequence_exec_copy_and_ui_alert() {
    let jobs = InMemoryJobQueue::new();
    let at = jobs.push(
        DEV,
        cmd::atomic(vec![
            cmd::add("./A/x", Format::Int, "1"),
            cmd::sequence(vec![cmd::copy("./A/y", "./A/x"), cmd::delete("./A/z")]),
        ]),
    );
    let ex = jobs.push(DEV, cmd::exec("./FUMO/Update", None, None));
    let ui = jobs.push(
        DEV,
        cmd::ui_alert(AlertCode::CONFIRM_OR_REJECT, &crate::operation::UiOptions::default(), "OK?", &[]),
    );
    let bad = jobs.push(DEV, Command::Alert(Alert::new(0, AlertCode::SESSION_ABORT)));
    let mut r = Rig::with(record(AuthScheme::Md5), jobs.clone(), SessionConfig::default());
    let a = authenticate(&mut r);
    let cmds = commands(&a);
    assert_eq!(cmds.iter().map(|c| c.name()).collect::<Vec<_>>(), vec!["Atomic", "Exec", "Alert"]);
    let Command::Exec(e) = cmds[1] else { panic!() };
    assert_eq!(e.correlator.as_deref(), Some(ex.to_string().as_str()), "a correlator is added");
    assert_eq!(jobs.outcome(bad).unwrap().state, OutcomeState::NotSent { reason: NotSentReason::NotAllowed });

    // Atomic rolled back: the Atomic 507, its Add 216, the Sequence and its commands 215.
    let reply = r.reply(&a, |c| match c {
        Command::Atomic(_) => (StatusCode::ATOMIC_FAILED, None),
        Command::Add(_) => (StatusCode::ATOMIC_ROLLBACK_OK, None),
        Command::Exec(_) => (StatusCode::ACCEPTED, None),
        Command::Alert(_) => (StatusCode::NOT_MODIFIED, None),
        _ => (StatusCode::NOT_EXECUTED, None),
    });
    let end = r.send(&reply).unwrap();
    assert!(commands(&end).is_empty());
    let o = jobs.outcome(at).unwrap();
    assert_eq!(o.status, Some(StatusCode::ATOMIC_FAILED));
    assert_eq!(o.statuses.len(), 5);
    assert_eq!(o.status_of(1), Some(StatusCode::ATOMIC_ROLLBACK_OK));
    assert_eq!(o.status_of(3), Some(StatusCode::NOT_EXECUTED));
    assert!(!o.succeeded());
    let o = jobs.outcome(ex).unwrap();
    assert_eq!(o.state, OutcomeState::Accepted { correlator: ex.to_string() });
    assert_eq!(jobs.awaiting_alert(DEV).len(), 1);
    assert_eq!(jobs.outcome(ui).unwrap().status, Some(StatusCode::NOT_MODIFIED));

    // A later session: the Generic Alert with the correlator completes the Exec.
    let mut r2 = Rig::with(r.dir.get(DEV).unwrap(), jobs.clone(), SessionConfig::default());
    let cred = r2.md5();
    let mut p1 = r2.package1(Some(cred));
    let item = Item::generic_alert(
        Some("./FUMO/Update"),
        "org.openmobilealliance.dm.firmwareupdate.update",
        Format::Int,
        Some("critical"),
        "200",
    );
    p1.body.commands.push(Command::Alert(Alert::generic(3, Some(ex.to_string()), vec![item])));
    let a = r2.send(&p1).unwrap();
    assert_eq!(header_status(&a).code, StatusCode::AUTHENTICATION_ACCEPTED);
    assert_eq!(a.statuses().filter(|s| s.cmd == "Alert").count(), 2);
    let o = jobs.outcome(ex).unwrap();
    assert_eq!(o.state, OutcomeState::Done);
    assert_eq!(o.alert.as_ref().unwrap().items[0].data, Some(Data::text("200")));
    assert!(jobs.awaiting_alert(DEV).is_empty());
    assert_eq!(r2.ended, Some(SessionOutcome::Completed));
}

#[test]
fn many_messages_per_package_within_max_msg_size() {
    let jobs = InMemoryJobQueue::new();
    let ids: Vec<_> = (0..30).map(|i| jobs.push(DEV, cmd::get(&format!("./Conf/Node{i}/Value")))).collect();
    let mut r = Rig::with(record(AuthScheme::Basic), jobs.clone(), SessionConfig::default());
    r.max_msg = Some(1200);
    let p1 = r.package1(Some(Cred::basic("dev", "devpw")));
    let mut a = r.send(&p1).unwrap();
    let mut messages = 1;
    let mut seen = 0;
    loop {
        let raw = a.encode(&r.wire).unwrap();
        assert!(raw.len() <= 1200, "message of {} bytes", raw.len());
        seen += commands(&a).iter().filter(|c| c.name() == "Get").count();
        if r.ended.is_some() {
            break;
        }
        let reply = r.reply(&a, ok_all);
        a = r.send(&reply).unwrap();
        messages += 1;
        assert!(messages < 100);
    }
    assert_eq!(seen, 30);
    assert!(messages > 3, "{messages}");
    assert_eq!(r.ended, Some(SessionOutcome::Completed));
    for id in ids {
        assert!(jobs.outcome(id).unwrap().succeeded());
    }
}

fn big_object_out(wire: Wire, format: Format) {
    let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let jobs = InMemoryJobQueue::new();
    let op = jobs.push(DEV, cmd::replace("./FW/Pkg", format, data.clone()));
    let mut r = Rig::with(record(AuthScheme::Basic), jobs.clone(), SessionConfig::default());
    r.wire = wire;
    r.max_msg = Some(2000);
    r.max_obj = Some(100_000);
    let p1 = r.package1(Some(Cred::basic("dev", "devpw")));
    let mut a = r.send(&p1).unwrap();
    let mut got = Vec::new();
    let mut chunks = 0;
    loop {
        assert!(a.encode(&r.wire).unwrap().len() <= 2000);
        let cs = commands(&a);
        for c in &cs {
            if let Command::Replace(rc) = c {
                let it = &rc.items[0];
                let size = it.meta.as_ref().and_then(|m| m.size);
                assert_eq!(size.is_some(), chunks == 0, "Size on the first chunk only");
                if chunks == 0 {
                    // Size counts the data as sent: raw under bin, base64 text under b64.
                    let want = if format == Format::Bin { data.len() } else { data.len().div_ceil(3) * 4 };
                    assert_eq!(size, Some(want as u64));
                }
                got.extend_from_slice(it.data.as_ref().unwrap().as_bytes().unwrap());
                chunks += 1;
            }
        }
        if r.ended.is_some() {
            break;
        }
        let reply = r.reply(&a, |c| match c {
            Command::Replace(rc) if rc.items[0].more_data => (StatusCode::CHUNK_ACCEPTED, None),
            _ => (StatusCode::OK, None),
        });
        a = r.send(&reply).unwrap();
        assert!(chunks < 1000);
    }
    assert_eq!(got, data);
    assert!(chunks > 5, "{chunks}");
    assert!(jobs.outcome(op).unwrap().succeeded());
}

#[test]
fn large_object_outbound_xml_b64() {
    big_object_out(Wire::xml(Profile::rtk()), Format::B64);
}

#[test]
fn large_object_outbound_wbxml_bin() {
    big_object_out(Wire::wbxml(Profile::rtk()), Format::Bin);
}

#[test]
fn object_over_max_obj_size_is_not_sent() {
    let jobs = InMemoryJobQueue::new();
    let op = jobs.push(DEV, cmd::replace("./FW/Pkg", Format::Bin, vec![0u8; 5000]));
    let mut r = Rig::with(record(AuthScheme::Basic), jobs.clone(), SessionConfig::default());
    r.max_obj = Some(1000);
    let p1 = r.package1(Some(Cred::basic("dev", "devpw")));
    let a = r.send(&p1).unwrap();
    assert!(commands(&a).is_empty());
    assert_eq!(
        jobs.outcome(op).unwrap().state,
        OutcomeState::NotSent { reason: NotSentReason::ExceedsMaxObjSize }
    );
}

#[test]
fn chunked_results_are_reassembled() {
    let jobs = InMemoryJobQueue::new();
    let op = jobs.push(DEV, cmd::get("./Log"));
    let mut r = Rig::with(record(AuthScheme::Basic), jobs.clone(), SessionConfig::default());
    let p1 = r.package1(Some(Cred::basic("dev", "devpw")));
    let a = r.send(&p1).unwrap();
    let get = commands(&a)[0].clone();
    let get_msg = a.hdr.msg_id;
    let text: String = (0..3000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    let parts = [&text[..1000], &text[1000..2000], &text[2000..]];
    let mut server = a;
    for (i, part) in parts.iter().enumerate() {
        let mut m = SyncMl::new(r.hdr());
        if i == 0 {
            m.body.commands.push(Command::Status(Status::for_header(1, &server.hdr, StatusCode::OK)));
            m.body.commands.push(Command::Status(Status::for_command(
                2,
                server.hdr.msg_id,
                &get,
                StatusCode::OK,
            )));
        }
        let mut item = Item::default().with_source("./Log").with_data(*part);
        item.meta = Some(m2msim_codec::syncml::Meta::new().with_format(Format::Chr));
        if i == 0 {
            item.meta.as_mut().unwrap().size = Some(3000);
        }
        item.more_data = i < 2;
        m.body.commands.push(Command::Results(Results::new(
            3,
            Some(get_msg),
            get.cmd_id().unwrap(),
            vec![item],
        )));
        m.body.final_ = i == 2;
        if i == 1 {
            // Not needed (the server's package was final), but harmless: it does not interrupt the object.
            m.body.commands.push(Command::Alert(Alert::next_message(4)));
        }
        server = r.send(&m).unwrap();
        if i < 2 {
            let st: Vec<_> = server.statuses().filter(|s| s.cmd == "Results").map(|s| s.code).collect();
            assert_eq!(st, vec![StatusCode::CHUNK_ACCEPTED]);
        }
    }
    let o = jobs.outcome(op).unwrap();
    assert_eq!(o.results.len(), 1);
    assert_eq!(o.results[0].data, Some(Data::Text(text)));
    assert!(o.succeeded());
    assert_eq!(r.ended, Some(SessionOutcome::Completed));
}

#[test]
fn protocol_violations_end_the_session_cleanly() {
    // SessionID changes mid-session.
    let jobs = InMemoryJobQueue::new();
    let op = jobs.push(DEV, cmd::get("./a"));
    let mut r = Rig::with(record(AuthScheme::Basic), jobs.clone(), SessionConfig::default());
    let p1 = r.package1(Some(Cred::basic("dev", "devpw")));
    let a = r.send(&p1).unwrap();
    let mut reply = r.reply(&a, ok_all);
    reply.hdr.session_id = "2".into();
    let end = r.send(&reply).unwrap();
    assert_eq!(header_status(&end).code, StatusCode::BAD_REQUEST);
    assert!(
        commands(&end).iter().any(|c| matches!(c, Command::Alert(a) if a.code == AlertCode::SESSION_ABORT))
    );
    assert!(matches!(r.ended, Some(SessionOutcome::Failed(FailReason::ProtocolViolation(_)))));
    assert_eq!(jobs.queued(DEV), vec![op]);

    // Garbage: ends without a message.
    let mut r = Rig::new(record(AuthScheme::Basic));
    assert!(r.send_bytes(b"<SyncML><SyncHdr>", None).is_none());
    assert!(matches!(r.ended, Some(SessionOutcome::Failed(FailReason::Malformed(_)))));

    // An unsupported VerDTD: 505.
    let mut r = Rig::new(record(AuthScheme::Basic));
    let mut p1 = r.package1(Some(Cred::basic("dev", "devpw")));
    p1.hdr.ver_dtd = "1.3".into();
    let xml = p1.encode(&r.wire).unwrap();
    if let Some((a, _)) = r.send_bytes(&xml, None) {
        assert_eq!(header_status(&a).code, StatusCode::DTD_VERSION_NOT_SUPPORTED);
    }
    assert!(matches!(r.ended, Some(SessionOutcome::Failed(_))));

    // A server-side command sent by the client: 405.
    let mut r = Rig::new(record(AuthScheme::Basic));
    let mut p1 = r.package1(Some(Cred::basic("dev", "devpw")));
    let mut g = cmd::get("./x");
    g.set_cmd_id(5);
    p1.body.commands.push(g);
    let a = r.send(&p1).unwrap();
    assert!(a.statuses().any(|s| s.cmd == "Get" && s.code == StatusCode::COMMAND_NOT_ALLOWED));

    // Expected SessionID from package 0 not matched.
    let cfg = SessionConfig { expected_session_id: Some("2A".into()), ..SessionConfig::default() };
    let mut r = Rig::with(record(AuthScheme::Basic), InMemoryJobQueue::new(), cfg);
    let p1 = r.package1(Some(Cred::basic("dev", "devpw")));
    r.send(&p1).unwrap();
    assert!(matches!(r.ended, Some(SessionOutcome::Failed(FailReason::ProtocolViolation(_)))));
}

#[test]
fn client_abort_retry_and_timeout() {
    let jobs = InMemoryJobQueue::new();
    let op = jobs.push(DEV, cmd::get("./a"));
    let mut r = Rig::with(record(AuthScheme::Basic), jobs.clone(), SessionConfig::default());
    let body = r.package1(Some(Cred::basic("dev", "devpw"))).encode(&r.wire).unwrap();
    let (a, out) = r.send_bytes(&body, None).unwrap();
    // An HTTP retry of the same bytes gets the same answer.
    let (_, again) = r.send_bytes(&body, None).unwrap();
    assert_eq!(again, out);
    let mut m = SyncMl::new(r.hdr());
    m.body.commands.push(Command::Status(Status::for_header(1, &a.hdr, StatusCode::OK)));
    m.body.commands.push(Command::Alert(Alert::session_abort(2)));
    m.body.final_ = true;
    let _ = r.send(&m);
    assert_eq!(r.ended, Some(SessionOutcome::AbortedByClient));
    assert_eq!(jobs.queued(DEV), vec![op]);

    let mut r = Rig::new(record(AuthScheme::Basic));
    let t = r.session.poll_timeout().unwrap();
    r.session.handle_input(Input::Timeout { now: t - Duration::from_secs(1) }).unwrap();
    assert!(!r.session.is_ended());
    r.session.handle_input(Input::Timeout { now: t }).unwrap();
    assert_eq!(r.session.poll_output(), Some(Output::Ended { outcome: SessionOutcome::TimedOut }));
    assert!(r.session.poll_timeout().is_none());
}

#[test]
fn dm11_and_wbxml_dialects_are_answered_in_kind() {
    for (version, wire) in [
        (DmVersion::V1_1, Wire::xml(Profile::rtk())),
        (DmVersion::V1_2, Wire::wbxml(Profile::rtk())),
        (DmVersion::V1_2, Wire::wbxml(Profile::libwbxml())),
        (DmVersion::V1_1, Wire::wbxml(Profile::libwbxml())),
    ] {
        let jobs = InMemoryJobQueue::new();
        let ex = jobs.push(DEV, cmd::exec("./Reboot", None, None));
        let mut r = Rig::with(record(AuthScheme::Md5), jobs.clone(), SessionConfig::default());
        r.version = version;
        r.wire = wire;
        let a = authenticate(&mut r);
        assert_eq!(a.dm_version(), Some(version));
        assert_eq!(r.session.wire().encoding, wire.encoding);
        let Command::Exec(e) = commands(&a)[0] else { panic!() };
        assert_eq!(e.correlator.is_some(), version == DmVersion::V1_2);
        let reply = r.reply(&a, |_| (StatusCode::OK, None));
        r.send(&reply).unwrap();
        assert_eq!(r.ended, Some(SessionOutcome::Completed));
        assert!(jobs.outcome(ex).unwrap().succeeded());
    }
}

#[test]
fn server_credentials_and_client_challenge() {
    let mut rec = record(AuthScheme::Basic);
    rec.server = Some(Credentials::new(AuthScheme::Md5, "srv", "srvpw", b"s0".to_vec()));
    let jobs = InMemoryJobQueue::new();
    let op = jobs.push(DEV, cmd::get("./a"));
    let mut r = Rig::with(rec, jobs.clone(), SessionConfig::default());
    let p1 = r.package1(Some(Cred::basic("dev", "devpw")));
    let a = r.send(&p1).unwrap();
    let cred = a.hdr.cred.clone().unwrap();
    assert_eq!(cred.data_bytes(), m2msim_codec::dm::auth::md5_digest(b"srv", b"srvpw", b"s0"));
    // The client refuses with a new nonce: the server resends its command with a digest over it.
    let mut m = SyncMl::new(r.hdr());
    m.body.commands.push(Command::Status(
        Status::for_header(1, &a.hdr, StatusCode::INVALID_CREDENTIALS)
            .with_chal(m2msim_codec::syncml::Chal::md5(b"s1".to_vec())),
    ));
    m.body.final_ = true;
    let a2 = r.send(&m).unwrap();
    assert_eq!(r.dir.get(DEV).unwrap().server.unwrap().nonce, b"s1");
    let cred = a2.hdr.cred.clone().unwrap();
    assert_eq!(cred.data_bytes(), m2msim_codec::dm::auth::md5_digest(b"srv", b"srvpw", b"s1"));
    assert_eq!(commands(&a2).iter().map(|c| c.name()).collect::<Vec<_>>(), vec!["Get"]);
    // Accepted now: 212; credentials stop.
    let mut reply = r.reply(&a2, ok_all);
    if let Some(Command::Status(s)) = reply.body.commands.first_mut() {
        s.code = StatusCode::AUTHENTICATION_ACCEPTED;
    }
    let end = r.send(&reply).unwrap();
    assert!(end.hdr.cred.is_none());
    assert_eq!(r.ended, Some(SessionOutcome::Completed));
    assert!(jobs.outcome(op).unwrap().succeeded());
}

/// The client's answer to a message whose credentials it refuses (Protocol §2.4.1): header status `code`
/// with a `Chal` carrying `nonce`, and the same code for every command, none executed.
fn refuse(r: &mut Rig, server: &SyncMl, code: StatusCode, nonce: &[u8]) -> SyncMl {
    let mut m = r.reply(server, |_| (code, None));
    if let Some(Command::Status(s)) = m.body.commands.first_mut() {
        s.code = code;
        s.chal = Some(m2msim_codec::syncml::Chal::md5(nonce.to_vec()));
    }
    m
}

#[test]
fn stale_server_nonce_refusal_is_not_the_operations_outcome() {
    // The server's stored nonce is stale (say it was killed after the client issued a new one): the
    // client answers 401 for the header AND for each command. Those 401s are not the operations' results.
    let mut rec = record(AuthScheme::Basic);
    rec.server = Some(Credentials::new(AuthScheme::Md5, "srv", "srvpw", b"stale".to_vec()));
    let jobs = InMemoryJobQueue::new();
    let get = jobs.push(DEV, cmd::get("./a"));
    let rep = jobs.push(DEV, cmd::replace("./b", Format::Chr, Data::text("x")));
    let mut r = Rig::with(rec, jobs.clone(), SessionConfig::default());
    let p1 = r.package1(Some(Cred::basic("dev", "devpw")));
    let a = r.send(&p1).unwrap();
    assert_eq!(commands(&a).len(), 2);
    let refusal = refuse(&mut r, &a, StatusCode::INVALID_CREDENTIALS, b"fresh");
    assert_eq!(refusal.body.commands.len(), 3, "header status, two command statuses");
    let a2 = r.send(&refusal).unwrap();
    assert!(r.completed().is_empty(), "a 401 for our credentials completed an operation");
    assert_eq!(jobs.queued(DEV), vec![get, rep]);
    // Resent with a digest over the Chal's nonce, both commands again.
    let cred = a2.hdr.cred.clone().unwrap();
    assert_eq!(cred.data_bytes(), m2msim_codec::dm::auth::md5_digest(b"srv", b"srvpw", b"fresh"));
    assert_eq!(commands(&a2).iter().map(|c| c.name()).collect::<Vec<_>>(), vec!["Get", "Replace"]);
    let mut reply = r.reply(&a2, ok_all);
    if let Some(Command::Status(s)) = reply.body.commands.first_mut() {
        s.code = StatusCode::AUTHENTICATION_ACCEPTED;
    }
    let _end = r.send(&reply).unwrap();
    assert_eq!(r.ended, Some(SessionOutcome::Completed));
    for op in [get, rep] {
        let o = jobs.outcome(op).unwrap();
        assert_eq!(o.status, Some(StatusCode::OK), "{o:?}");
        assert!(o.statuses.iter().all(|s| s.code == StatusCode::OK), "{o:?}");
    }
    assert!(jobs.queued(DEV).is_empty());
}

#[test]
fn server_refused_until_failure_leaves_operations_queued() {
    let mut rec = record(AuthScheme::Basic);
    rec.server = Some(Credentials::new(AuthScheme::Md5, "srv", "wrong", b"s0".to_vec()));
    let jobs = InMemoryJobQueue::new();
    let get = jobs.push(DEV, cmd::get("./a"));
    let mut r = Rig::with(rec, jobs.clone(), SessionConfig::default());
    let p1 = r.package1(Some(Cred::basic("dev", "devpw")));
    let mut a = r.send(&p1).unwrap();
    // The header status may also come after the command statuses: the refusal still counts.
    for i in 0..SessionConfig::default().max_auth_attempts {
        let code = if i == 0 { StatusCode::MISSING_CREDENTIALS } else { StatusCode::INVALID_CREDENTIALS };
        let mut m = refuse(&mut r, &a, code, format!("n{i}").as_bytes());
        m.body.commands.rotate_left(1);
        match r.send(&m) {
            Some(next) if r.ended.is_none() => a = next,
            _ => break,
        }
    }
    assert_eq!(r.ended, Some(SessionOutcome::Failed(FailReason::ServerAuthRejected)));
    assert!(r.completed().is_empty());
    assert!(jobs.outcome(get).is_none());
    assert_eq!(jobs.queued(DEV), vec![get]);
}

#[test]
fn package0_then_server_initiated_session() {
    let mut rec = record(AuthScheme::Md5);
    rec.server = Some(Credentials::new(AuthScheme::Md5, "srv", "srvpw", b"s0".to_vec()));
    let n = crate::package0::build(&rec, 0x2A, m2msim_codec::dm::pkg0::UiMode::Background).unwrap();
    let cfg = SessionConfig { expected_session_id: Some(n.session_id.clone()), ..SessionConfig::default() };
    let jobs = InMemoryJobQueue::new();
    let op = jobs.push(DEV, cmd::get("./DevDetail/SwV"));
    let mut r = Rig::with(rec, jobs.clone(), cfg);
    let cred = r.md5();
    r.sid = "2A".into();
    let h = r.hdr().with_source_name("dev").with_cred(cred);
    let mut p1 = SyncMl::package1(h, AlertCode::SERVER_INITIATED_MGMT, &dev_info());
    p1.body.final_ = true;
    let a = r.send(&p1).unwrap();
    assert_eq!(header_status(&a).code, StatusCode::AUTHENTICATION_ACCEPTED);
    assert_eq!(a.hdr.session_id, "2A");
    let reply = r.reply(&a, ok_all);
    r.send(&reply).unwrap();
    assert_eq!(r.ended, Some(SessionOutcome::Completed));
    assert!(jobs.outcome(op).unwrap().succeeded());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Arbitrary bytes, and a valid package 1 with one byte changed, never panic the engine, and a session
    /// that ends says why.
    #[test]
    fn no_panic_on_any_input(junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
                             pos in 0usize..2000, bit in 0u8..8, wbxml in proptest::prelude::any::<bool>()) {
        let mut r = Rig::new(record(AuthScheme::Basic));
        let _ = r.send_bytes(&junk, None);
        let mut r = Rig::new(record(AuthScheme::Basic));
        if wbxml {
            r.wire = Wire::wbxml(Profile::rtk());
        }
        let mut body = r.package1(Some(Cred::basic("dev", "devpw"))).encode(&r.wire).unwrap();
        let i = pos % body.len();
        body[i] ^= 1 << bit;
        r.now += Duration::from_secs(1);
        let message = IncomingMessage::new(&body);
        r.session.handle_input(Input::Message { now: r.now, message }).unwrap();
        while r.session.poll_output().is_some() {}
    }
}

#[test]
fn chunked_results_over_max_obj_size_get_416() {
    let jobs = InMemoryJobQueue::new();
    let op = jobs.push(DEV, cmd::get("./Log"));
    let cfg = SessionConfig { max_obj_size: 2000, ..SessionConfig::default() };
    let mut r = Rig::with(record(AuthScheme::Basic), jobs.clone(), cfg);
    let p1 = r.package1(Some(Cred::basic("dev", "devpw")));
    let a = r.send(&p1).unwrap();
    let get = commands(&a)[0].clone();
    let mut m = SyncMl::new(r.hdr());
    m.body.commands.push(Command::Status(Status::for_header(1, &a.hdr, StatusCode::OK)));
    m.body.commands.push(Command::Status(Status::for_command(2, a.hdr.msg_id, &get, StatusCode::OK)));
    let mut item = Item::default().with_source("./Log").with_data("x".repeat(1000));
    item.meta = Some(m2msim_codec::syncml::Meta::new().with_format(Format::Chr).with_size(3000));
    item.more_data = true;
    m.body.commands.push(Command::Results(Results::new(
        3,
        Some(a.hdr.msg_id),
        get.cmd_id().unwrap(),
        vec![item],
    )));
    m.body.final_ = false;
    let answer = r.send(&m).unwrap();
    let st: Vec<_> = answer.statuses().filter(|s| s.cmd == "Results").map(|s| s.code).collect();
    assert_eq!(st, vec![StatusCode::REQUESTED_SIZE_TOO_BIG]);
    assert_eq!(r.ended, None, "{:?}", r.events);
    // The client sends the rest anyway; it is dropped and the outcome says so.
    let mut m = SyncMl::new(r.hdr());
    m.body.commands.push(Command::Status(Status::for_header(1, &answer.hdr, StatusCode::OK)));
    let item = Item::default().with_source("./Log").with_data("x".repeat(2000));
    m.body.commands.push(Command::Results(Results::new(
        2,
        Some(a.hdr.msg_id),
        get.cmd_id().unwrap(),
        vec![item],
    )));
    m.body.final_ = true;
    r.send(&m).unwrap();
    let o = jobs.outcome(op).unwrap();
    assert!(o.results_incomplete);
    assert!(o.results.is_empty());
    assert!(!o.succeeded());
}

/// An open session waiting for the client costs little memory (issue 7 §5: ≤ 16 KiB per idle session,
/// queues and buffers included): what is large and rarely used is boxed.
#[test]
fn an_idle_session_is_small() {
    use std::mem::size_of;
    assert!(size_of::<ServerSession>() <= 1280, "ServerSession is {} bytes", size_of::<ServerSession>());
    assert!(size_of::<Sent>() <= 64, "Sent is {} bytes", size_of::<Sent>());
}

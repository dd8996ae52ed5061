//! The pair harness: the client engine (`m2msim-dm-client`) and the server engine talking in memory on a
//! virtual clock, deterministic (seeded nonces on both sides), with scenario tests.
#![allow(clippy::unwrap_used)] // test code

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use m2msim_codec::dm::auth::AuthType;
use m2msim_codec::dm::ddf::{AccessTypes, DdfNode, DfProperties, Format, Occurrence};
use m2msim_codec::dm::pkg0::UiMode;
use m2msim_codec::syncml::tree::Profile;
use m2msim_codec::syncml::{AlertCode, Data, StatusCode, SyncMl, Wire};
use m2msim_codec::xml::Mode;
use m2msim_dm_client::mo::devinfo::DevInfo as ClientDevInfo;
use m2msim_dm_client::mo::dmacc::{self, Credentials as ClientCreds, DmAccount, Layout, Secret};
use m2msim_dm_client::session::{
    self as client, ClientConfig, DmClient, Outcome as ClientOutcome, UiAlert, UiKind, UiResponse,
};
use m2msim_dm_client::tree::{Acl, DmTime, DmTree, ExecOutcome, ExecRequest, GenericAlert, MoPlugin};
use m2msim_dm_server::directory::{AuthScheme, Credentials, DeviceRecord, InMemoryDirectory};
use m2msim_dm_server::jobs::InMemoryJobQueue;
use m2msim_dm_server::nonce::SeededNonces;
use m2msim_dm_server::operation::{OutcomeState, UiOptions, cmd};
use m2msim_dm_server::session::{
    self as server, FailReason, IncomingMessage, ServerSession, SessionConfig, SessionOutcome,
};

const DEV: &str = "IMEI:490154203237518";
const SERVER_ID: &str = "srv.example";
const ADDR: &str = "https://srv.example/dm";

/// One direction's credentials, as both sides hold them.
#[derive(Clone, Copy)]
struct Side {
    scheme: AuthScheme,
    name: &'static str,
    secret: &'static str,
    nonce: &'static [u8],
}

fn auth_type(s: AuthScheme) -> AuthType {
    s.auth_type()
}

fn client_creds(s: Side) -> ClientCreds {
    ClientCreds {
        auth_type: auth_type(s.scheme),
        name: s.name.into(),
        secret: Secret::new(s.secret),
        nonce: s.nonce.to_vec(),
    }
}

fn server_creds(s: Side) -> Credentials {
    Credentials::new(s.scheme, s.name, s.secret, s.nonce.to_vec())
}

const DEV_MD5: Side = Side { scheme: AuthScheme::Md5, name: "dev", secret: "devpw", nonce: b"n0" };

/// An MO `./Ops/Run` whose Exec runs synchronously, fails (`fail`), or is accepted (`async`) and reports by a
/// Generic Alert once `finish` is set.
struct Ops {
    pending: Vec<Option<String>>,
    finish: Arc<Mutex<bool>>,
}

impl MoPlugin for Ops {
    fn exec(&mut self, _tree: &mut DmTree, req: &ExecRequest<'_>) -> ExecOutcome {
        match req.data {
            b"async" => {
                self.pending.push(req.correlator.map(str::to_owned));
                ExecOutcome::Accepted
            }
            b"fail" => ExecOutcome::Done { status: StatusCode::COMMAND_FAILED, results: None },
            _ => ExecOutcome::Done { status: StatusCode::OK, results: None },
        }
    }

    fn poll(&mut self, tree: &mut DmTree, _now: DmTime) {
        if !*self.finish.lock().unwrap() {
            return;
        }
        for c in self.pending.drain(..) {
            tree.queue_alert(GenericAlert {
                source_uri: Some("./Ops/Run".into()),
                alert_type: "org.example.ops.done".into(),
                format: Format::Int,
                mark: None,
                data: b"0".to_vec(),
                correlator: c,
            });
        }
    }
}

fn client_tree(
    layout: Layout,
    client: Option<Side>,
    server: Option<Side>,
    finish: Arc<Mutex<bool>>,
) -> DmTree {
    let t0 = DmTime(1_000_000);
    let mut t = DmTree::default();
    let info = ClientDevInfo {
        dev_id: DEV.into(),
        man: "m2msim".into(),
        model: "sim".into(),
        dm_v: if layout == Layout::Dm11 { "1.1".into() } else { "1.2".into() },
        lang: "en-US".into(),
    };
    info.install(&mut t, t0).unwrap();
    dmacc::install(&mut t, layout, t0).unwrap();
    let acc = DmAccount {
        layout,
        account: "acc".into(),
        server_id: SERVER_ID.into(),
        name: None,
        addr: ADDR.into(),
        addr_type: None,
        port: None,
        con_ref: None,
        auth_pref: None,
        client: client.map(client_creds),
        server: server.map(client_creds),
    };
    acc.write(&mut t, t0).unwrap();
    let run = DdfNode {
        name: "Run".into(),
        df_properties: Some(DfProperties {
            access_type: AccessTypes { exec: true, ..AccessTypes::GET },
            format: Format::Chr,
            occurrence: Occurrence::One,
            ..DfProperties::default()
        }),
        ..DdfNode::default()
    };
    let root = DdfNode {
        name: "Ops".into(),
        df_properties: Some(DfProperties {
            access_type: AccessTypes::GET,
            format: Format::Node,
            occurrence: Occurrence::One,
            ..DfProperties::default()
        }),
        children: vec![run],
        ..DdfNode::default()
    };
    t.register_mo("./Ops", Arc::new(root), Some(Box::new(Ops { pending: Vec::new(), finish }))).unwrap();
    t.local(t0).set_text("./Ops/Run", "").unwrap();
    t.local(t0).set_acl(".", Acl::parse("Add=*&Get=*&Replace=*&Delete=*&Exec=*").unwrap()).unwrap();
    t
}

/// What a tamperer may do to the client's n-th message (1-based) on its way to the server.
type Tamper = Box<dyn FnMut(u32, &mut Vec<u8>)>;

/// The two engines, the server's stores, the virtual clock.
struct Pair {
    client: DmClient,
    dir: InMemoryDirectory,
    jobs: InMemoryJobQueue,
    config: SessionConfig,
    base: Instant,
    secs: u64,
    seed: u64,
    tamper: Option<Tamper>,
    finish: Arc<Mutex<bool>>,
}

/// What one session came to.
#[derive(Debug)]
struct Run {
    client: Option<ClientOutcome>,
    server: Option<SessionOutcome>,
    server_events: Vec<server::Event>,
    client_events: Vec<client::Event>,
    client_messages: u32,
    /// The server's messages, decoded.
    from_server: Vec<SyncMl>,
}

impl Pair {
    fn new(layout: Layout, client: Option<Side>, server: Option<Side>, record: DeviceRecord) -> Self {
        Self::with_config(layout, client, server, record, ClientConfig::default())
    }

    fn with_config(
        layout: Layout,
        client: Option<Side>,
        server: Option<Side>,
        record: DeviceRecord,
        config: ClientConfig,
    ) -> Self {
        let finish = Arc::new(Mutex::new(false));
        let tree = client_tree(layout, client, server, finish.clone());
        let dir = InMemoryDirectory::new();
        dir.insert(record);
        Self {
            client: DmClient::new(tree, config, client::SeededNonces::new(7)),
            dir,
            jobs: InMemoryJobQueue::new(),
            config: SessionConfig::default(),
            base: Instant::now(),
            secs: 1_000_000,
            seed: 0,
            tamper: None,
            finish,
        }
    }

    fn md5() -> Self {
        Self::new(Layout::Dm12, Some(DEV_MD5), None, record(DEV_MD5, None))
    }

    fn tick(&mut self) -> (DmTime, Instant) {
        self.secs += 1;
        (DmTime(self.secs), self.base + Duration::from_secs(self.secs))
    }

    /// Runs one session, client-initiated (`package0: None`) or after a package 0.
    fn session(&mut self, package0: Option<Vec<u8>>) -> Run {
        self.seed += 1;
        let services = server::Services {
            directory: Box::new(self.dir.clone()),
            jobs: Box::new(self.jobs.clone()),
            nonces: Box::new(SeededNonces::new(self.seed.to_be_bytes().to_vec())),
        };
        let (now, instant) = self.tick();
        let mut srv = ServerSession::new(self.config.clone(), services, instant);
        let start = match package0 {
            None => client::Input::Connect { server_id: SERVER_ID.into(), session_id: Some("1".into()), now },
            Some(package0) => client::Input::Notification { package0, now },
        };
        self.client.handle_input(start).unwrap();
        let mut run = Run {
            client: None,
            server: None,
            server_events: Vec::new(),
            client_events: Vec::new(),
            client_messages: 0,
            from_server: Vec::new(),
        };
        let mut steps = 0;
        while run.client.is_none() {
            steps += 1;
            assert!(steps < 100_000, "the pair does not converge");
            let Some(out) = self.client.poll_output() else {
                panic!("the client is waiting with nothing to send");
            };
            let t = match out {
                client::Output::Transmit(t) => t,
                client::Output::Event(e) => {
                    run.client_events.push(e);
                    continue;
                }
                client::Output::Ended { outcome } => {
                    run.client = Some(outcome);
                    continue;
                }
            };
            run.client_messages += 1;
            let mut body = t.body.clone();
            if let Some(f) = self.tamper.as_mut() {
                f(run.client_messages, &mut body);
            }
            let (now, instant) = self.tick();
            let mut reply = None;
            if !srv.is_ended() {
                let message = IncomingMessage {
                    body: &body,
                    content_type: Some(t.content_type),
                    hmac: t.hmac.as_deref(),
                };
                srv.handle_input(server::Input::Message { now: instant, message }).unwrap();
                while let Some(o) = srv.poll_output() {
                    match o {
                        server::Output::Message(m) => {
                            assert!(reply.is_none(), "one answer per request");
                            reply = Some(m);
                        }
                        server::Output::Event(e) => run.server_events.push(e),
                        server::Output::Ended { outcome } => run.server = Some(outcome),
                    }
                }
            }
            if !t.expects_reply {
                continue;
            }
            match reply {
                Some(m) => {
                    assert_eq!(m.content_type, t.content_type, "the server answers in the client's encoding");
                    let decoded = SyncMl::decode(&m.body, Mode::Strict).unwrap();
                    run.from_server.push(decoded.message);
                    self.client
                        .handle_input(client::Input::Response { body: m.body, hmac: m.hmac, now })
                        .unwrap();
                }
                None => self.client.handle_input(client::Input::TransportFailed { now }).unwrap(),
            }
        }
        // Whatever the client does last (a session abort) has been delivered; a server still waiting times out.
        if !srv.is_ended() {
            let t = srv.poll_timeout().unwrap();
            srv.handle_input(server::Input::Timeout { now: t }).unwrap();
            while let Some(o) = srv.poll_output() {
                if let server::Output::Ended { outcome } = o {
                    run.server = Some(outcome);
                }
            }
        }
        run
    }
}

fn record(client: Side, server: Option<Side>) -> DeviceRecord {
    DeviceRecord { device_id: DEV.into(), client: server_creds(client), server: server.map(server_creds) }
}

fn completed(run: &Run) {
    assert_eq!(run.client, Some(ClientOutcome::Completed), "{run:#?}");
    assert_eq!(run.server, Some(SessionOutcome::Completed), "{:?}", run.server);
}

#[test]
fn every_command_type_with_success_and_error_statuses() {
    let mut p = Pair::md5();
    let q = p.jobs.clone();
    let get = q.push(DEV, cmd::get("./DevInfo/Man"));
    let get404 = q.push(DEV, cmd::get("./Nowhere/x"));
    let add_node = q.push(DEV, cmd::add_interior("./Vendor"));
    let add = q.push(DEV, cmd::add("./Vendor/x", Format::Chr, "1"));
    let add_again = q.push(DEV, cmd::add("./Vendor/x", Format::Chr, "2"));
    let replace = q.push(DEV, cmd::replace("./Vendor/x", Format::Chr, "3"));
    let copy = q.push(DEV, cmd::copy("./Vendor/y", "./Vendor/x"));
    let get_copy = q.push(DEV, cmd::get("./Vendor/y"));
    let delete = q.push(DEV, cmd::delete("./Vendor/x"));
    let delete404 = q.push(DEV, cmd::delete("./Vendor/x"));
    let exec = q.push(DEV, cmd::exec("./Ops/Run", Some(Data::text("now")), None));
    let exec_fail = q.push(DEV, cmd::exec("./Ops/Run", Some(Data::text("fail")), None));
    let seq = q.push(DEV, cmd::sequence(vec![cmd::get("./DevInfo/Mod"), cmd::get("./DevInfo/Lang")]));
    let run = p.session(None);
    completed(&run);
    let o = |id| q.outcome(id).unwrap();
    assert_eq!(o(get).status, Some(StatusCode::OK));
    assert_eq!(o(get).results[0].data.as_ref().and_then(Data::as_bytes), Some(&b"m2msim"[..]));
    assert_eq!(o(get404).status, Some(StatusCode::NOT_FOUND));
    assert!(o(add_node).succeeded(), "{:?}", o(add_node));
    assert!(o(add).succeeded(), "{:?}", o(add));
    assert_eq!(o(add_again).status, Some(StatusCode::ALREADY_EXISTS));
    assert!(o(replace).succeeded());
    assert!(o(copy).succeeded(), "{:?}", o(copy));
    assert_eq!(o(get_copy).results[0].data.as_ref().and_then(Data::as_bytes), Some(&b"3"[..]));
    assert!(o(delete).succeeded());
    assert_eq!(o(delete404).status, Some(StatusCode::NOT_FOUND));
    assert!(o(exec).succeeded(), "{:?}", o(exec));
    assert_eq!(o(exec_fail).status, Some(StatusCode::COMMAND_FAILED));
    let s = o(seq);
    assert!(s.succeeded());
    assert_eq!(s.results.len(), 2);
    assert!(q.queued(DEV).is_empty());
    assert_eq!(p.client.tree().value("./Vendor/y"), Some(&b"3"[..]));
}

#[test]
fn atomic_rollback() {
    let mut p = Pair::md5();
    let q = p.jobs.clone();
    q.push(DEV, cmd::add_interior("./Vendor"));
    let at = q.push(
        DEV,
        cmd::atomic(vec![cmd::add("./Vendor/a", Format::Chr, "1"), cmd::delete("./Vendor/missing")]),
    );
    completed(&p.session(None));
    let o = q.outcome(at).unwrap();
    assert_eq!(o.status, Some(StatusCode::ATOMIC_FAILED));
    assert_eq!(o.status_of(1), Some(StatusCode::ATOMIC_ROLLBACK_OK));
    assert_eq!(o.status_of(2), Some(StatusCode::NOT_FOUND));
    assert!(p.client.tree().value("./Vendor/a").is_none(), "rolled back");
}

fn large_object_both_ways(wire: Wire, size: usize) {
    let config = ClientConfig {
        max_msg_size: 8 * 1024,
        max_obj_size: 12 * 1024 * 1024,
        wire,
        ..ClientConfig::default()
    };
    let mut p = Pair::with_config(Layout::Dm12, Some(DEV_MD5), None, record(DEV_MD5, None), config);
    p.config.max_msg_size = 6 * 1024;
    let q = p.jobs.clone();
    let data: Vec<u8> = (0..size).map(|i| (i * 31 % 253) as u8).collect();
    q.push(DEV, cmd::add_interior("./Vendor"));
    let put = q.push(DEV, cmd::add("./Vendor/big", Format::Bin, data.clone()));
    let get = q.push(DEV, cmd::get("./Vendor/big"));
    let run = p.session(None);
    completed(&run);
    assert!(run.client_messages > 2 * (size as u32) / (8 * 1024), "{}", run.client_messages);
    assert!(q.outcome(put).unwrap().succeeded(), "{:?}", q.outcome(put));
    let o = q.outcome(get).unwrap();
    assert!(o.succeeded(), "{:?}", o.statuses);
    assert_eq!(o.results.len(), 1);
    assert_eq!(o.results[0].data.as_ref().and_then(Data::as_bytes), Some(data.as_slice()));
}

#[test]
fn large_object_10mb_both_ways_xml() {
    large_object_both_ways(Wire::xml(Profile::rtk()), 10 * 1024 * 1024);
}

#[test]
fn large_object_both_ways_wbxml() {
    large_object_both_ways(Wire::wbxml(Profile::rtk()), 300 * 1024);
}

#[test]
fn ui_alerts() {
    let mut p = Pair::md5();
    p.client = DmClient::new(
        std::mem::take(p.client.tree_mut()),
        ClientConfig::default(),
        client::SeededNonces::new(7),
    )
    .with_ui(|a: &UiAlert| match a.kind {
        UiKind::Display => UiResponse::Acknowledged,
        UiKind::Confirm => UiResponse::No,
        UiKind::TextInput => UiResponse::Text("hello".into()),
        UiKind::SingleChoice | UiKind::MultipleChoice => UiResponse::Selected(vec![2]),
    });
    let q = p.jobs.clone();
    let opts = UiOptions { max_dt: Some(30), ..UiOptions::default() };
    let d = q.push(DEV, cmd::ui_alert(AlertCode::DISPLAY, &opts, "Hi", &[]));
    let c = q.push(DEV, cmd::ui_alert(AlertCode::CONFIRM_OR_REJECT, &opts, "Sure?", &[]));
    let t = q.push(DEV, cmd::ui_alert(AlertCode::TEXT_INPUT, &opts, "Name?", &[]));
    let s = q.push(DEV, cmd::ui_alert(AlertCode::SINGLE_CHOICE, &opts, "Pick", &["a", "b"]));
    completed(&p.session(None));
    assert_eq!(q.outcome(d).unwrap().status, Some(StatusCode::OK));
    assert_eq!(q.outcome(c).unwrap().status, Some(StatusCode::NOT_MODIFIED));
    let t = q.outcome(t).unwrap();
    assert_eq!(t.status, Some(StatusCode::OK));
    assert_eq!(t.statuses[0].items[0].data.as_ref().and_then(Data::as_bytes), Some(&b"hello"[..]));
    let s = q.outcome(s).unwrap();
    assert_eq!(s.statuses[0].items[0].data.as_ref().and_then(Data::as_bytes), Some(&b"2"[..]));
}

#[test]
fn wrong_password_and_missing_credentials() {
    let wrong = Side { secret: "nope", ..DEV_MD5 };
    let mut p = Pair::new(Layout::Dm12, Some(wrong), None, record(DEV_MD5, None));
    let op = p.jobs.push(DEV, cmd::get("./DevInfo/Man"));
    let run = p.session(None);
    assert!(matches!(run.client, Some(ClientOutcome::Failed(_))), "{:?}", run.client);
    assert_eq!(run.server, Some(SessionOutcome::Failed(FailReason::AuthenticationFailed)));
    assert_eq!(p.jobs.queued(DEV), vec![op]);

    let mut p = Pair::new(Layout::Dm12, None, None, record(DEV_MD5, None));
    let run = p.session(None);
    assert!(matches!(run.client, Some(ClientOutcome::Failed(_))), "{:?}", run.client);
    // The client gives up on the 407 (it has nothing to answer with); the server then times out.
    assert_eq!(run.server, Some(SessionOutcome::TimedOut));
    assert!(!run.server_events.iter().any(|e| matches!(e, server::Event::Authenticated { .. })));
}

#[test]
fn stale_nonce_then_next_session_uses_the_new_one() {
    let stale = Side { nonce: b"old", ..DEV_MD5 };
    let mut p = Pair::new(Layout::Dm12, Some(stale), None, record(DEV_MD5, None));
    let op = p.jobs.push(DEV, cmd::get("./DevInfo/Man"));
    let run = p.session(None);
    completed(&run);
    assert!(run.from_server[0].header_status().unwrap().code == StatusCode::INVALID_CREDENTIALS);
    assert!(p.jobs.outcome(op).unwrap().succeeded());
    // The 212's NextNonce was stored on both sides: the next session authenticates at once.
    let run = p.session(None);
    completed(&run);
    assert_eq!(run.from_server[0].header_status().unwrap().code, StatusCode::AUTHENTICATION_ACCEPTED);
}

fn hmac_pair() -> Pair {
    let c = Side { scheme: AuthScheme::Hmac, name: "dev", secret: "devpw", nonce: b"c0" };
    let s = Side { scheme: AuthScheme::Hmac, name: "srv", secret: "srvpw", nonce: b"s0" };
    Pair::new(Layout::Dm12, Some(c), Some(s), record(c, Some(s)))
}

#[test]
fn hmac_mode() {
    let mut p = hmac_pair();
    let ops: Vec<_> = (0..3)
        .map(|i| p.jobs.push(DEV, cmd::get(&format!("./DevInfo/{}", ["Man", "Mod", "Lang"][i]))))
        .collect();
    let run = p.session(None);
    completed(&run);
    for m in &run.from_server {
        let hs = m.header_status().unwrap();
        assert_eq!(hs.code, StatusCode::OK);
        assert!(hs.chal.as_ref().and_then(|c| c.meta.next_nonce.as_ref()).is_some());
    }
    for id in ops {
        assert!(p.jobs.outcome(id).unwrap().succeeded());
    }
    // And again with the nonces both sides moved to.
    p.jobs.push(DEV, cmd::get("./DevInfo/Man"));
    completed(&p.session(None));
}

#[test]
fn hmac_tampered() {
    let mut p = hmac_pair();
    let op = p.jobs.push(DEV, cmd::get("./DevInfo/Man"));
    p.tamper = Some(Box::new(|n, body: &mut Vec<u8>| {
        if n == 2 {
            let text = String::from_utf8(body.clone()).unwrap();
            *body = text.replacen("m2msim", "m2msiM", 1).into_bytes();
        }
    }));
    let run = p.session(None);
    assert_eq!(run.server, Some(SessionOutcome::Failed(FailReason::IntegrityCheckFailed)));
    assert!(
        matches!(run.client, Some(ClientOutcome::Failed(_) | ClientOutcome::AbortedByServer)),
        "{:?}",
        run.client
    );
    assert_eq!(p.jobs.queued(DEV), vec![op], "not counted: the status did not arrive intact");
}

#[test]
fn generic_alert_flow_across_sessions() {
    let mut p = Pair::md5();
    let q = p.jobs.clone();
    let ex = q.push(DEV, cmd::exec("./Ops/Run", Some(Data::text("async")), None));
    completed(&p.session(None));
    let o = q.outcome(ex).unwrap();
    assert_eq!(o.status, Some(StatusCode::ACCEPTED));
    let OutcomeState::Accepted { correlator } = &o.state else { panic!("{o:?}") };
    assert_eq!(correlator, &ex.to_string());
    // The work finishes; the next session's package 1 carries the Generic Alert with the Correlator.
    *p.finish.lock().unwrap() = true;
    // Between sessions the device polls its plugins: the alert is queued before package 1.
    let now = DmTime(p.secs);
    p.client.tree_mut().poll_plugins(now);
    let run = p.session(None);
    completed(&run);
    let o = q.outcome(ex).unwrap();
    assert_eq!(o.state, OutcomeState::Done);
    let alert = o.alert.unwrap();
    assert_eq!(alert.correlator.as_deref(), Some(correlator.as_str()));
    assert_eq!(alert.items[0].data.as_ref().and_then(Data::as_bytes), Some(&b"0"[..]));
    assert!(q.awaiting_alert(DEV).is_empty());
}

#[test]
fn generic_alert_in_the_same_session() {
    let mut p = Pair::md5();
    *p.finish.lock().unwrap() = true;
    let q = p.jobs.clone();
    let ex = q.push(DEV, cmd::exec("./Ops/Run", Some(Data::text("async")), None));
    completed(&p.session(None));
    let o = q.outcome(ex).unwrap();
    assert_eq!(o.state, OutcomeState::Done, "{o:?}");
    assert!(o.alert.is_some());
}

#[test]
fn package0_starts_a_server_initiated_session() {
    let srv = Side { scheme: AuthScheme::Md5, name: SERVER_ID, secret: "srvpw", nonce: b"s0" };
    let mut p = Pair::new(Layout::Dm12, Some(DEV_MD5), Some(srv), record(DEV_MD5, Some(srv)));
    let op = p.jobs.push(DEV, cmd::get("./DevInfo/Mod"));
    let n = m2msim_dm_server::package0::build(&p.dir.get(DEV).unwrap(), 0x1234, UiMode::Background).unwrap();
    p.config.expected_session_id = Some(n.session_id.clone());
    let run = p.session(Some(n.bytes.clone()));
    completed(&run);
    assert_eq!(run.from_server[0].hdr.session_id, "1234");
    assert!(run.from_server[0].hdr.cred.is_some(), "the server authenticates itself");
    assert!(p.jobs.outcome(op).unwrap().succeeded());
}

#[test]
fn dm11_client() {
    let mut p = Pair::new(Layout::Dm11, Some(DEV_MD5), None, record(DEV_MD5, None));
    let q = p.jobs.clone();
    let g = q.push(DEV, cmd::get("./DevInfo/Man"));
    let ex = q.push(DEV, cmd::exec("./Ops/Run", Some(Data::text("now")), None));
    let run = p.session(None);
    completed(&run);
    assert_eq!(run.from_server[0].hdr.ver_dtd, "1.1");
    assert!(q.outcome(g).unwrap().succeeded());
    assert!(q.outcome(ex).unwrap().succeeded());
}

#[test]
fn a_client_that_breaks_the_protocol() {
    let mut p = Pair::md5();
    let op = p.jobs.push(DEV, cmd::get("./DevInfo/Man"));
    p.tamper = Some(Box::new(|n, body: &mut Vec<u8>| {
        if n == 2 {
            let text = String::from_utf8(body.clone()).unwrap();
            *body = text.replacen("<SessionID>1</SessionID>", "<SessionID>9</SessionID>", 1).into_bytes();
        }
    }));
    let run = p.session(None);
    assert!(
        matches!(run.server, Some(SessionOutcome::Failed(FailReason::ProtocolViolation(_)))),
        "{:?}",
        run.server
    );
    // The server's last message (400, Alert 1223) ends the client's session too.
    assert!(
        matches!(run.client, Some(ClientOutcome::AbortedByServer | ClientOutcome::Failed(_))),
        "{:?}",
        run.client
    );
    assert_eq!(p.jobs.queued(DEV), vec![op], "its answer came in the rejected message");
}

#[test]
fn wbxml_dialects() {
    for profile in [Profile::rtk(), Profile::libwbxml()] {
        let config = ClientConfig { wire: Wire::wbxml(profile), ..ClientConfig::default() };
        let mut p = Pair::with_config(Layout::Dm12, Some(DEV_MD5), None, record(DEV_MD5, None), config);
        let q = p.jobs.clone();
        let g = q.push(DEV, cmd::get("./DevInfo/Man"));
        let r = q.push(DEV, cmd::add("./Blob", Format::B64, vec![0u8, 1, 2, 255]));
        let run = p.session(None);
        completed(&run);
        assert!(q.outcome(g).unwrap().succeeded());
        assert!(q.outcome(r).unwrap().succeeded(), "{:?}", q.outcome(r));
    }
}

#[test]
fn objects_over_max_obj_size() {
    let config = ClientConfig { max_obj_size: 4096, ..ClientConfig::default() };
    let mut p = Pair::with_config(Layout::Dm12, Some(DEV_MD5), None, record(DEV_MD5, None), config);
    p.config.max_obj_size = 2048;
    let q = p.jobs.clone();
    q.push(DEV, cmd::add_interior("./Vendor"));
    // Over the client's MaxObjSize: never sent.
    let too_big = q.push(DEV, cmd::add("./Vendor/big", Format::Bin, vec![7u8; 5000]));
    // Under it, but its value is over the server's MaxObjSize (sent in every server SyncHdr): the client
    // answers the Get 413 and sends no Results.
    let mid = q.push(DEV, cmd::add("./Vendor/mid", Format::Chr, "x".repeat(3000)));
    let get = q.push(DEV, cmd::get("./Vendor/mid"));
    let run = p.session(None);
    assert_eq!(run.server, Some(SessionOutcome::Completed), "{run:#?}");
    assert!(matches!(
        q.outcome(too_big).unwrap().state,
        OutcomeState::NotSent { reason: m2msim_dm_server::operation::NotSentReason::ExceedsMaxObjSize }
    ));
    assert!(q.outcome(mid).unwrap().succeeded(), "{:?}", q.outcome(mid));
    let o = q.outcome(get).unwrap();
    assert_eq!(o.status, Some(StatusCode::REQUEST_ENTITY_TOO_LARGE), "{o:?}");
    assert!(o.results.is_empty());
}

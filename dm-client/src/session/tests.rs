//! Unit tests of the session engine against scripted servers: messages built with the codec's builders,
//! fed as bytes, and the client's answers decoded and checked.

use std::sync::{Arc, Mutex};

use m2msim_codec::dm::auth::{AuthType, HmacHeader};
use m2msim_codec::dm::ddf::{AccessTypes, DdfNode, DfProperties, Format, Occurrence};
use m2msim_codec::dm::pkg0::{self, Package0, Package0Params};
use m2msim_codec::reader::Encode as _;
use m2msim_codec::syncml::tree::Profile;
use m2msim_codec::syncml::{
    Alert, AlertCode, Chal, Command, CommandGroup, Cred, Data, Exec, Item, ItemCommand, Meta, Results,
    Status, StatusCode, SyncMl, Wire,
};

use super::*;
use crate::mo::devinfo::DevInfo;
use crate::mo::dmacc::{self, Credentials, DmAccount, Layout, Secret};
use crate::tree::{Acl, DmTime, DmTree, ExecOutcome, ExecRequest, GenericAlert, MoPlugin, ResultItem};

const T: DmTime = DmTime(1_000_000);
const SERVER: &str = "srv.example";
const ADDR: &str = "https://srv.example/dm";

fn creds(t: AuthType, name: &str, secret: &str, nonce: &[u8]) -> Credentials {
    Credentials { auth_type: t, name: name.into(), secret: Secret::new(secret), nonce: nonce.to_vec() }
}

fn basic() -> Option<Credentials> {
    Some(creds(AuthType::Basic, "dev", "devpw", b""))
}

fn tree(layout: Layout, client: Option<Credentials>, server: Option<Credentials>) -> DmTree {
    let mut t = DmTree::default();
    let info = DevInfo {
        dev_id: "IMEI:490154203237518".into(),
        man: "m2msim".into(),
        model: "sim".into(),
        dm_v: "1.2".into(),
        lang: "en-US".into(),
    };
    info.install(&mut t, T).unwrap();
    dmacc::install(&mut t, layout, T).unwrap();
    let acc = DmAccount {
        layout,
        account: "acc".into(),
        server_id: SERVER.into(),
        name: None,
        addr: ADDR.into(),
        addr_type: None,
        port: None,
        con_ref: None,
        auth_pref: None,
        client,
        server,
    };
    acc.write(&mut t, T).unwrap();
    t.local(T).set_acl(".", Acl::parse("Add=*&Get=*&Replace=*&Delete=*&Exec=*").unwrap()).unwrap();
    t
}

/// A scripted server around a client.
struct H {
    c: DmClient,
    sent: Vec<Transmit>,
    msgs: Vec<SyncMl>,
    events: Vec<Event>,
    ended: Option<Outcome>,
    smsg: u32,
    wire: Wire,
    max_msg: Option<u64>,
}

impl H {
    fn new(tree: DmTree, config: ClientConfig) -> Self {
        Self {
            c: DmClient::new(tree, config, SeededNonces::new(1)),
            sent: Vec::new(),
            msgs: Vec::new(),
            events: Vec::new(),
            ended: None,
            smsg: 0,
            wire: Wire::xml(Profile::rtk()),
            max_msg: None,
        }
    }

    fn basic() -> Self {
        Self::connected(tree(Layout::Dm12, basic(), None), ClientConfig::default())
    }

    fn connected(tree: DmTree, config: ClientConfig) -> Self {
        let mut h = Self::new(tree, config);
        h.c.handle_input(Input::Connect { server_id: SERVER.into(), session_id: Some("1".into()), now: T })
            .unwrap();
        h.drain();
        h
    }

    fn drain(&mut self) {
        while let Some(o) = self.c.poll_output() {
            match o {
                Output::Transmit(t) => {
                    self.msgs.push(decode_transmit(&t).unwrap());
                    self.sent.push(t);
                }
                Output::Event(e) => self.events.push(e),
                Output::Ended { outcome } => {
                    assert!(self.ended.is_none(), "one end per session");
                    self.ended = Some(outcome);
                }
            }
        }
    }

    fn last(&self) -> &SyncMl {
        self.msgs.last().unwrap()
    }

    /// A server message answering the client's last one: SyncHdr Status `code` (CmdID 1), Status 200 for
    /// each of the client's commands (not Status/Results; CmdIDs from 100), then `cmds` (CmdIDs from 2).
    fn msg(&mut self, code: StatusCode, cmds: Vec<Command>, final_: bool) -> SyncMl {
        self.smsg += 1;
        let last = self.last().clone();
        let mut hdr = last.hdr.reply(self.smsg);
        if let Some(m) = self.max_msg {
            hdr = hdr.with_max_msg_size(m);
        }
        let mut m = SyncMl::new(hdr);
        m.body.commands.push(Status::for_header(1, &last.hdr, code).into());
        if code.is_success() {
            let mut id = 100;
            for c in &last.body.commands {
                if !matches!(c, Command::Status(_) | Command::Results(_)) {
                    m.body.commands.push(Status::for_command(id, last.hdr.msg_id, c, StatusCode::OK).into());
                    id += 1;
                }
            }
        }
        for (i, mut c) in cmds.into_iter().enumerate() {
            c.set_cmd_id(i as u32 + 2);
            m.body.commands.push(c);
        }
        m.body.final_ = final_;
        m
    }

    fn send(&mut self, m: &SyncMl) {
        let body = m.encode(&self.wire).unwrap();
        self.feed(body, None);
    }

    fn feed(&mut self, body: Vec<u8>, hmac: Option<String>) {
        let n = self.sent.len();
        self.c.handle_input(Input::Response { body, hmac, now: T }).unwrap();
        self.drain();
        if self.ended.is_none() {
            assert_eq!(self.sent.len(), n + 1, "one answer per server message");
        }
    }

    fn reply(&mut self, cmds: Vec<Command>) {
        let m = self.msg(StatusCode::OK, cmds, true);
        self.send(&m);
    }

    /// The Statuses of the client's last message for the server's command `cmd_ref`.
    fn statuses(&self, cmd_ref: u32) -> Vec<Status> {
        self.last()
            .statuses()
            .filter(|s| s.msg_ref == self.smsg && s.cmd_ref == cmd_ref && !s.is_for_header())
            .cloned()
            .collect()
    }

    fn code(&self, cmd_ref: u32) -> u16 {
        let s = self.statuses(cmd_ref);
        assert_eq!(s.len(), 1, "one status for command {cmd_ref}: {s:?}");
        s[0].code.0
    }

    fn results(&self) -> Vec<Results> {
        self.last()
            .body
            .commands
            .iter()
            .filter_map(|c| match c {
                Command::Results(r) => Some(r.clone()),
                _ => None,
            })
            .collect()
    }

    fn header_status(&self) -> Status {
        self.last().header_status().unwrap().clone()
    }

    fn account(&self) -> DmAccount {
        DmAccount::find(self.c.tree(), SERVER).unwrap()
    }
}

fn item_cmd(target: &str, data: Option<&str>) -> ItemCommand {
    let mut item = Item::default().with_target(target);
    if let Some(d) = data {
        item = item.with_data(d).with_meta(Meta::new().with_format(Format::Chr));
    }
    ItemCommand::new(0).with_item(item)
}

fn add(t: &str, d: &str) -> Command {
    Command::Add(item_cmd(t, Some(d)))
}
fn replace(t: &str, d: &str) -> Command {
    Command::Replace(item_cmd(t, Some(d)))
}
fn get(t: &str) -> Command {
    Command::Get(item_cmd(t, None))
}
fn delete(t: &str) -> Command {
    Command::Delete(item_cmd(t, None))
}
fn text(r: &Results) -> String {
    match &r.items[0].data {
        Some(Data::Text(t)) => t.clone(),
        Some(Data::Bytes(b)) => String::from_utf8(b.clone()).unwrap(),
        other => panic!("{other:?}"),
    }
}

// ----- packages and commands ---------------------------------------------------------------------------

#[test]
fn package1_and_a_full_client_initiated_session() {
    let mut h = H::basic();
    let p1 = h.last().clone();
    assert_eq!(h.sent[0].uri, ADDR);
    assert_eq!(h.sent[0].content_type, "application/vnd.syncml.dm+xml");
    assert!(h.sent[0].hmac.is_none() && h.sent[0].expects_reply);
    assert_eq!((p1.hdr.ver_dtd.as_str(), p1.hdr.session_id.as_str(), p1.hdr.msg_id), ("1.2", "1", 1));
    assert_eq!(p1.hdr.target.loc_uri, ADDR);
    assert_eq!(p1.hdr.source.loc_uri, "IMEI:490154203237518");
    assert_eq!(p1.hdr.source.loc_name.as_deref(), Some("dev"));
    assert_eq!(p1.hdr.cred.as_ref().unwrap().basic_user_password(), Some(("dev".into(), "devpw".into())));
    let meta = p1.hdr.meta.as_ref().unwrap();
    assert_eq!((meta.max_msg_size, meta.max_obj_size), (Some(16 * 1024), Some(1024 * 1024)));
    let Command::Alert(a) = &p1.body.commands[0] else { panic!() };
    assert_eq!(a.code, AlertCode::CLIENT_INITIATED_MGMT);
    let Command::Replace(r) = &p1.body.commands[1] else { panic!() };
    let targets: Vec<_> = r.items.iter().filter_map(|i| i.source_uri()).collect();
    assert_eq!(
        targets,
        ["./DevInfo/DevId", "./DevInfo/Man", "./DevInfo/Mod", "./DevInfo/DmV", "./DevInfo/Lang"]
    );
    assert!(p1.body.final_);
    assert!(matches!(&h.events[0], Event::SessionStarted { initiator: Initiator::Client, .. }));

    // Package 2: every item command, with success and error statuses.
    let m = h.msg(
        StatusCode::AUTHENTICATION_ACCEPTED,
        vec![
            get("./DevInfo/Man"),               // 2
            add("./Node/a", "one"),             // 3
            add("./Node/a", "again"),           // 4: 418
            replace("./Node/a", "two"),         // 5
            replace("./Missing/x", "v"),        // 6: 404
            get("./Nowhere"),                   // 7: 404
            delete("./Node/a"),                 // 8
            delete("./Node/a"),                 // 9: 404
            get("./DevInfo"),                   // 10: child list
            get("./DevInfo/Man?prop=Format"),   // 11
            replace("./DevInfo/Man", "hacked"), // 12: 425, the ACL of DevInfo is Get=*
        ],
        true,
    );
    // The 212 for package 1 (the header Status) plus 200s for its Alert and Replace.
    h.send(&m);
    assert!(h.events.contains(&Event::ClientAuthenticated { status: StatusCode::AUTHENTICATION_ACCEPTED }));
    let hs = h.header_status();
    assert_eq!((hs.code, hs.msg_ref, hs.cmd_id), (StatusCode::OK, 1, 1));
    assert!(h.last().hdr.cred.is_none(), "no Cred after 212");
    assert_eq!(h.last().hdr.msg_id, 2);
    let codes: Vec<u16> = (2..=12).map(|i| h.code(i)).collect();
    assert_eq!(codes, [200, 200, 418, 200, 404, 404, 200, 404, 200, 200, 425]);
    let res = h.results();
    assert_eq!(res.len(), 3);
    assert_eq!((res[0].cmd_ref, res[0].msg_ref, text(&res[0])), (2, Some(1), "m2msim".into()));
    assert_eq!(res[0].items[0].source_uri(), Some("./DevInfo/Man"));
    assert_eq!(text(&res[1]), "DevId/DmV/Lang/Man/Mod", "the tree lists children in name order");
    assert_eq!(text(&res[2]), "chr");
    assert_eq!(h.c.tree().text("./DevInfo/Man"), Some("m2msim"));
    assert!(h.last().body.final_);
    // The server closes: nothing but the header Status to say.
    h.reply(vec![]);
    assert_eq!(h.ended, Some(Outcome::Completed));
    assert!(h.c.session_id().is_none());
    assert_eq!(h.sent.len(), 2);
}

#[test]
fn no_resp_status_order_copy_and_resp_uri() {
    let mut h = H::basic();
    let mut quiet = item_cmd("./N/q", Some("x"));
    quiet.no_resp = true;
    let mut copy = item_cmd("./N/c", None);
    copy.items[0].source = Some(m2msim_codec::syncml::Location::new("./DevInfo/Mod"));
    let mut m = h.msg(StatusCode::OK, vec![Command::Add(quiet), Command::Copy(copy), get("./N/c")], true);
    m.hdr.resp_uri = Some("https://srv.example/dm?sid=77".into());
    h.send(&m);
    assert!(h.statuses(2).is_empty(), "NoResp: no Status");
    assert_eq!(h.code(3), 200);
    assert_eq!(text(&h.results()[0]), "sim");
    assert_eq!(h.sent.last().unwrap().uri, "https://srv.example/dm?sid=77", "RespURI followed");
    let order: Vec<u32> = h.last().body.commands.iter().filter_map(Command::cmd_id).collect();
    assert_eq!(order, (1..=order.len() as u32).collect::<Vec<_>>(), "CmdIDs count from 1");
    // Several items: one Status each.
    let two = ItemCommand::new(0)
        .with_item(Item::default().with_target("./N/q"))
        .with_item(Item::default().with_target("./N/zz"));
    h.reply(vec![Command::Get(two)]);
    let s = h.statuses(2);
    assert_eq!(
        s.iter().map(|s| (s.code.0, s.target_refs.clone())).collect::<Vec<_>>(),
        [(200, vec!["./N/q".to_owned()]), (404, vec!["./N/zz".to_owned()])]
    );
}

#[test]
fn atomic_rolls_back_with_507_216_215() {
    let mut h = H::basic();
    let atomic = CommandGroup {
        commands: vec![
            add("./A/x", "1"),
            replace("./A/x", "2"),
            replace("./Missing/y", "3"),
            add("./A/z", "4"),
        ],
        ..CommandGroup::default()
    };
    let mut m = h.msg(StatusCode::OK, vec![Command::Atomic(atomic), get("./A/x")], true);
    // The Atomic is 2; number its content 10+.
    if let Some(Command::Atomic(g)) = m.body.commands.iter_mut().find(|c| matches!(c, Command::Atomic(_))) {
        for (i, c) in g.commands.iter_mut().enumerate() {
            c.set_cmd_id(10 + i as u32);
        }
    }
    h.send(&m);
    assert_eq!(h.code(2), 507);
    assert_eq!([h.code(10), h.code(11), h.code(12), h.code(13)], [216, 216, 404, 215]);
    assert_eq!(h.code(3), 404, "rolled back: ./A/x is gone");
    assert!(h.c.tree().node("./A").is_none());

    // A successful Atomic commits.
    let ok = CommandGroup { commands: vec![add("./B/x", "1"), get("./B/x")], ..CommandGroup::default() };
    h.reply(vec![Command::Atomic(ok)]);
    assert_eq!(h.code(2), 200);
    assert_eq!(h.c.tree().text("./B/x"), Some("1"));
    assert_eq!(text(&h.results()[0]), "1");
}

#[test]
fn sequence_continues_after_a_failure_and_other_commands_get_406() {
    let mut h = H::basic();
    let seq = CommandGroup {
        commands: vec![replace("./Missing/y", "3"), add("./S/x", "4")],
        ..CommandGroup::default()
    };
    use m2msim_codec::syncml::tree::Element;
    use m2msim_codec::wbxml::codepage::Namespace;
    let sync =
        Element::new(Namespace::SyncMl, "Sync").with(Element::new(Namespace::SyncMl, "CmdID").with_text("9"));
    h.reply(vec![
        Command::Sequence(seq),
        Command::Other(sync),
        Command::Alert(Alert::new(0, AlertCode(1299))),
    ]);
    assert_eq!(h.code(2), 200);
    assert_eq!(h.c.tree().text("./S/x"), Some("4"));
    assert_eq!(h.code(9), 406);
    assert_eq!(h.code(4), 406);
}

// ----- Exec and Generic Alerts -------------------------------------------------------------------------

#[derive(Default)]
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
            _ => ExecOutcome::Done {
                status: StatusCode::OK,
                results: Some(ResultItem {
                    source: "./Ops/Run".into(),
                    format: Format::Chr,
                    node_type: None,
                    data: Some(b"ran".to_vec()),
                }),
            },
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
                mark: Some(crate::tree::Mark::Critical),
                data: b"0".to_vec(),
                correlator: c,
            });
        }
    }
}

fn ops_tree(finish: Arc<Mutex<bool>>) -> DmTree {
    let mut t = tree(Layout::Dm12, basic(), None);
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
    t.local(T).set_text("./Ops/Run", "").unwrap();
    t
}

fn exec(target: &str, data: &str, correlator: Option<&str>) -> Command {
    Command::Exec(Exec {
        correlator: correlator.map(str::to_owned),
        item: Item::default().with_target(target).with_data(data),
        ..Exec::default()
    })
}

#[test]
fn exec_sync_async_and_generic_alert_in_the_same_session() {
    let finish = Arc::new(Mutex::new(false));
    let mut h = H::connected(ops_tree(finish.clone()), ClientConfig::default());
    h.reply(vec![exec("./Ops/Run", "now", None), exec("./Ops/Run", "fail", None), exec("./Nope", "", None)]);
    assert_eq!([h.code(2), h.code(3), h.code(4)], [200, 500, 404]);
    assert_eq!(text(&h.results()[0]), "ran");
    h.reply(vec![exec("./Ops/Run", "async", Some("corr-1"))]);
    assert_eq!(h.code(2), 202);
    // The work finishes; the next server message triggers the poll and the alert goes out.
    *finish.lock().unwrap() = true;
    h.reply(vec![get("./Ops/Run")]);
    let ga: Vec<Alert> = h
        .last()
        .body
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::Alert(a) if a.code == AlertCode::GENERIC_ALERT => Some(a.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(ga.len(), 1);
    assert_eq!(ga[0].correlator.as_deref(), Some("corr-1"));
    let item = &ga[0].items[0];
    assert_eq!(item.source_uri(), Some("./Ops/Run"));
    let meta = item.meta.as_ref().unwrap();
    assert_eq!(
        (meta.type_.as_deref(), meta.format.as_deref(), meta.mark.as_deref()),
        (Some("org.example.ops.done"), Some("int"), Some("critical"))
    );
    // The server acknowledges it: delivered and removed from the queue.
    h.reply(vec![]);
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, Event::AlertDelivered { correlator: Some(c), .. } if c == "corr-1"))
    );
    assert!(h.c.tree().alerts().is_empty());
    assert_eq!(h.ended, Some(Outcome::Completed));
}

#[test]
fn queued_generic_alert_goes_in_package1() {
    let mut t = tree(Layout::Dm12, basic(), None);
    t.queue_alert(GenericAlert {
        source_uri: None,
        alert_type: "org.example.boot".into(),
        format: Format::Chr,
        mark: None,
        data: b"up".to_vec(),
        correlator: None,
    });
    let mut h = H::connected(t, ClientConfig::default());
    let Some(Command::Alert(a)) = h.last().body.commands.get(2) else { panic!() };
    assert_eq!(a.code, AlertCode::GENERIC_ALERT);
    // The server refuses it: dropped with an event.
    let mut m = h.msg(StatusCode::OK, vec![], true);
    if let Some(Command::Status(s)) = m.body.commands.get_mut(3) {
        s.code = StatusCode::BAD_REQUEST;
    }
    h.send(&m);
    assert!(
        h.events.iter().any(|e| matches!(e, Event::AlertRejected { status: StatusCode::BAD_REQUEST, .. }))
    );
    assert!(h.c.tree().alerts().is_empty());
}

// ----- user interaction --------------------------------------------------------------------------------

fn ui_alert(code: u16, opts: &str, text: &str, choices: &[&str]) -> Command {
    let mut a = Alert::new(0, AlertCode(code))
        .with_item(Item::default().with_data(opts))
        .with_item(Item::default().with_data(text));
    for c in choices {
        a = a.with_item(Item::default().with_data(*c));
    }
    Command::Alert(a)
}

#[test]
fn ui_alerts_headless_and_interactive() {
    let mut h = H::basic();
    h.reply(vec![
        ui_alert(1100, "MINDT=5", "Hello", &[]),
        ui_alert(1102, "MAXDT=20&DR=hello", "Name?", &[]),
        add("./U/x", "1"),
    ]);
    assert_eq!(h.code(2), 200);
    let s = &h.statuses(3)[0];
    assert_eq!(s.code.0, 408);
    assert_eq!(s.items[0].data, Some(Data::text("hello")));
    assert_eq!(h.code(4), 215, "processing stopped");
    assert!(h.c.tree().node("./U").is_none());

    // An interactive UI: No to a confirmation inside a Sequence bypasses the rest of it.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let ui = move |a: &UiAlert| {
        log.lock().unwrap().push(a.clone());
        match a.kind {
            UiKind::Confirm => UiResponse::No,
            UiKind::MultipleChoice => UiResponse::Selected(vec![1, 3]),
            _ => UiResponse::Text("typed".into()),
        }
    };
    let mut h = H::new(tree(Layout::Dm12, basic(), None), ClientConfig::default());
    h.c = DmClient::new(tree(Layout::Dm12, basic(), None), ClientConfig::default(), SeededNonces::new(2))
        .with_ui(ui);
    h.c.handle_input(Input::Connect { server_id: SERVER.into(), session_id: None, now: T }).unwrap();
    h.drain();
    let mut seq = CommandGroup {
        commands: vec![ui_alert(1101, "", "Sure?", &[]), add("./V/x", "1")],
        ..CommandGroup::default()
    };
    seq.commands[0].set_cmd_id(20);
    seq.commands[1].set_cmd_id(21);
    let mut m = h.msg(StatusCode::OK, vec![ui_alert(1104, "", "Pick", &["a", "b", "c"])], true);
    m.body.commands.push(Command::Sequence(seq));
    m.body.commands.push(ui_alert(1102, "", "Text", &[]));
    let n = m.body.commands.len() as u32;
    m.body.commands[n as usize - 3].set_cmd_id(30);
    m.body.commands[n as usize - 2].set_cmd_id(31);
    m.body.commands[n as usize - 1].set_cmd_id(32);
    h.send(&m);
    let s = &h.statuses(30)[0];
    assert_eq!((s.code.0, s.items.len()), (200, 2));
    assert_eq!([h.code(31), h.code(20), h.code(21)], [200, 304, 215]);
    assert_eq!(h.statuses(32)[0].items[0].data, Some(Data::text("typed")));
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].choices, ["a", "b", "c"]);
    assert_eq!(seen[1].text, "Sure?");
}

// ----- message size ------------------------------------------------------------------------------------

#[test]
fn answers_split_under_the_servers_max_msg_size() {
    let mut h = H::basic();
    h.max_msg = Some(2000);
    let gets: Vec<Command> = (0..40).map(|_| get("./DevInfo/DevId")).collect();
    let m = h.msg(StatusCode::OK, gets, true);
    h.send(&m);
    let mut results = h.results().len();
    let mut rounds = 0;
    while !h.last().body.final_ {
        assert!(
            h.last()
                .body
                .commands
                .iter()
                .all(|c| !matches!(c, Command::Alert(a) if a.code == AlertCode::NEXT_MESSAGE))
        );
        let m = h.msg(StatusCode::OK, vec![Command::Alert(Alert::next_message(0))], true);
        h.send(&m);
        results += h.results().len();
        rounds += 1;
        assert!(rounds < 40);
    }
    assert!(rounds >= 2, "split over several messages");
    assert_eq!(results, 40);
    assert!(
        h.sent.iter().all(|t| t.body.len() <= 2000),
        "{:?}",
        h.sent.iter().map(|t| t.body.len()).collect::<Vec<_>>()
    );
}

#[test]
fn large_get_result_goes_out_in_chunks() {
    let mut t = tree(Layout::Dm12, basic(), None);
    let value: String = (0..100_000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    t.local(T).set_text("./Big/v", &value).unwrap();
    let mut h = H::connected(t, ClientConfig::default());
    h.max_msg = Some(4000);
    h.reply(vec![get("./Big/v")]);
    assert_eq!(h.code(2), 200);
    let mut data = String::new();
    let mut first = true;
    loop {
        let r = h.results();
        assert_eq!(r.len(), 1);
        let item = &r[0].items[0];
        if first {
            assert_eq!(item.meta.as_ref().unwrap().size, Some(100_000));
            first = false;
        }
        data.push_str(&text(&r[0]));
        if !item.more_data {
            break;
        }
        // 213 for the chunk (the default 200s are for commands; answer the Results explicitly) + 1222.
        let res = Command::Results(r[0].clone());
        let last_id = h.last().hdr.msg_id;
        let mut m = h.msg(StatusCode::OK, vec![Command::Alert(Alert::next_message(0))], true);
        m.body.commands.insert(1, Status::for_command(99, last_id, &res, StatusCode::CHUNK_ACCEPTED).into());
        h.send(&m);
    }
    assert_eq!(data, value);
    assert!(h.sent.len() > 20);
    assert!(h.sent.iter().all(|t| t.body.len() <= 4000));
    // Beyond the server's MaxObjSize: 413, nothing sent.
    let mut m = h.msg(StatusCode::OK, vec![get("./Big/v")], true);
    m.hdr = m.hdr.clone().with_max_obj_size(50_000);
    h.send(&m);
    assert!(h.results().is_empty());
    assert_eq!(h.statuses(2)[0].code.0, 413);
}

fn chunk(cmd_target: &str, data: &str, size: Option<u64>, more: bool) -> Command {
    let mut meta = Meta::new().with_format(Format::Chr);
    if let Some(s) = size {
        meta = meta.with_size(s);
    }
    let mut item = Item::default().with_target(cmd_target).with_data(data).with_meta(meta);
    item.more_data = more;
    Command::Add(ItemCommand::new(0).with_item(item))
}

#[test]
fn ten_megabyte_object_from_the_server() {
    const SIZE: usize = 10 * 1024 * 1024;
    const CHUNK: usize = 60_000;
    let config =
        ClientConfig { max_msg_size: 64 * 1024, max_obj_size: 16 * 1024 * 1024, ..ClientConfig::default() };
    let mut h = H::connected(tree(Layout::Dm12, basic(), None), config);
    let piece: String = (0..CHUNK).map(|i| char::from(b'A' + (i % 26) as u8)).collect();
    let mut sent = 0;
    while sent < SIZE {
        let n = CHUNK.min(SIZE - sent);
        let more = sent + n < SIZE;
        let c = chunk("./Obj/big", &piece[..n], (sent == 0).then_some(SIZE as u64), more);
        h.reply(vec![c]);
        sent += n;
        assert_eq!(h.code(2), if more { 213 } else { 200 });
    }
    assert_eq!(h.c.tree().node("./Obj/big").map(|_| h.c.tree().text("./Obj/big").unwrap().len()), Some(SIZE));
    assert!(
        h.events.iter().any(|e| matches!(e, Event::LargeObjectReceived { size, .. } if *size == SIZE as u64))
    );
}

#[test]
fn large_object_errors_411_416_424_and_1225() {
    let config = ClientConfig { max_obj_size: 1000, ..ClientConfig::default() };
    let mut h = H::connected(tree(Layout::Dm12, basic(), None), config);
    h.reply(vec![chunk("./L/a", "xx", None, true)]);
    assert_eq!(h.code(2), 411);
    h.reply(vec![chunk("./L/a2", "xx", Some(5000), true)]);
    assert_eq!(h.code(2), 416);
    h.reply(vec![add("./L/b", &"z".repeat(1001))]);
    assert_eq!(h.code(2), 413);
    // Size mismatch: announced 10, sent 4.
    h.reply(vec![chunk("./L/c", "ab", Some(10), true)]);
    assert_eq!(h.code(2), 213);
    h.reply(vec![chunk("./L/c", "cd", None, false)]);
    assert_eq!(h.code(2), 424);
    assert!(h.c.tree().node("./L/c").is_none());
    // A new command mid-object: Alert 1225 for the object, then the command runs.
    h.reply(vec![chunk("./L/d", "ab", Some(10), true)]);
    h.reply(vec![get("./DevInfo/Lang")]);
    let a = h
        .last()
        .body
        .commands
        .iter()
        .find_map(|c| match c {
            Command::Alert(a) if a.code == AlertCode::NO_END_OF_DATA => Some(a.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(a.items[0].target_uri(), Some("./L/d"));
    assert_eq!(h.code(2), 200);
    assert!(h.c.tree().node("./L/d").is_none());
}

// ----- authentication ----------------------------------------------------------------------------------

#[test]
fn md5_challenge_resends_package1_and_stores_the_nonce() {
    let client = Some(creds(AuthType::Md5, "dev", "devpw", b"n0"));
    let mut h = H::connected(tree(Layout::Dm12, client, None), ClientConfig::default());
    assert_eq!(h.last().hdr.cred, Some(Cred::md5(b"dev", b"devpw", b"n0")));
    let mut m = h.msg(StatusCode::INVALID_CREDENTIALS, vec![], true);
    if let Some(Command::Status(s)) = m.body.commands.get_mut(0) {
        s.chal = Some(Chal::md5(b"n1".to_vec()));
    }
    h.send(&m);
    let p = h.last().clone();
    assert_eq!(p.hdr.cred, Some(Cred::md5(b"dev", b"devpw", b"n1")));
    assert!(
        matches!(&p.body.commands[1], Command::Alert(a) if a.code == AlertCode::CLIENT_INITIATED_MGMT),
        "package 1 again, after the SyncHdr Status"
    );
    assert_eq!(h.account().client.unwrap().nonce, b"n1");
    // Accepted with the next nonce.
    let mut m = h.msg(StatusCode::AUTHENTICATION_ACCEPTED, vec![get("./DevInfo/DmV")], true);
    if let Some(Command::Status(s)) = m.body.commands.get_mut(0) {
        s.chal = Some(Chal::md5(b"n2".to_vec()));
    }
    h.send(&m);
    assert_eq!(h.account().client.unwrap().nonce, b"n2");
    assert!(h.last().hdr.cred.is_none());
}

#[test]
fn wrong_password_and_missing_credentials_end_the_session() {
    let mut h = H::basic();
    for _ in 0..4 {
        if h.ended.is_some() {
            break;
        }
        let m = h.msg(StatusCode::INVALID_CREDENTIALS, vec![], true);
        h.send(&m);
    }
    assert_eq!(
        h.ended,
        Some(Outcome::Failed(FailReason::ClientAuthentication { status: StatusCode::INVALID_CREDENTIALS }))
    );
    let mut h = H::connected(tree(Layout::Dm12, None, None), ClientConfig::default());
    assert!(h.last().hdr.cred.is_none());
    let m = h.msg(StatusCode::MISSING_CREDENTIALS, vec![], true);
    h.send(&m);
    assert_eq!(h.ended, Some(Outcome::Failed(FailReason::NoClientCredentials)));
    let abort = h.sent.last().unwrap();
    assert!(!abort.expects_reply);
    assert!(
        matches!(h.last().body.commands.last(), Some(Command::Alert(a)) if a.code == AlertCode::SESSION_ABORT)
    );
}

#[test]
fn challenge_to_hmac_switches_to_the_header() {
    let mut h = H::basic();
    let mut m = h.msg(StatusCode::MISSING_CREDENTIALS, vec![], true);
    if let Some(Command::Status(s)) = m.body.commands.get_mut(0) {
        s.chal = Some(Chal {
            meta: Meta::new()
                .with_type("syncml:auth-MAC")
                .with_format(Format::B64)
                .with_next_nonce(b"h1".to_vec()),
            extra: Vec::new(),
        });
    }
    h.send(&m);
    let t = h.sent.last().unwrap().clone();
    assert!(h.last().hdr.cred.is_none());
    let mac = HmacHeader::parse(t.hmac.as_deref().unwrap()).unwrap();
    assert_eq!(mac.username, "dev");
    assert!(mac.verify(b"devpw", b"h1", &t.body).unwrap());
    // Every later message carries it too.
    h.reply(vec![get("./DevInfo/Man")]);
    let t = h.sent.last().unwrap();
    assert!(HmacHeader::parse(t.hmac.as_deref().unwrap()).unwrap().verify(b"devpw", b"h1", &t.body).unwrap());
}

#[test]
fn server_md5_credentials_checked_with_stale_nonce_rechallenged() {
    let server = Some(creds(AuthType::Md5, "srv", "srvpw", b"s0"));
    let mut h = H::connected(tree(Layout::Dm12, basic(), server), ClientConfig::default());
    // No Cred: 407 with a fresh nonce, and the commands are not run.
    h.reply(vec![add("./X/a", "1")]);
    let hs = h.header_status();
    assert_eq!(hs.code.0, 407);
    let nonce1 = hs.chal.as_ref().unwrap().meta.next_nonce.as_ref().unwrap().bytes().to_vec();
    assert_eq!(nonce1.len(), 16);
    assert_eq!(h.code(2), 407);
    assert!(h.c.tree().node("./X").is_none());
    assert_eq!(h.account().server.unwrap().nonce, nonce1);
    // A stale nonce: 401 and another fresh one.
    let mut m = h.msg(StatusCode::OK, vec![add("./X/a", "1")], true);
    m.hdr.cred = Some(Cred::md5(b"srv", b"srvpw", b"s0"));
    h.send(&m);
    let hs = h.header_status();
    assert_eq!(hs.code.0, 401);
    let nonce2 = hs.chal.as_ref().unwrap().meta.next_nonce.as_ref().unwrap().bytes().to_vec();
    assert_ne!(nonce1, nonce2);
    // Right: 212 with the next nonce; the commands run.
    let mut m = h.msg(StatusCode::OK, vec![add("./X/a", "1")], true);
    m.hdr.cred = Some(Cred::md5(b"srv", b"srvpw", &nonce2));
    h.send(&m);
    assert_eq!(h.header_status().code.0, 212);
    assert_eq!(h.code(2), 200);
    assert!(h.events.contains(&Event::ServerAuthenticated));
    // Without Cred afterwards: still accepted for the session.
    h.reply(vec![get("./X/a")]);
    assert_eq!(h.header_status().code.0, 200);
    assert_eq!(h.code(2), 200);
}

#[test]
fn server_keeps_failing_authentication() {
    let server = Some(creds(AuthType::Basic, "srv", "srvpw", b""));
    let mut h = H::connected(tree(Layout::Dm12, basic(), server), ClientConfig::default());
    for _ in 0..5 {
        if h.ended.is_some() {
            break;
        }
        let mut m = h.msg(StatusCode::OK, vec![get("./DevInfo/Man")], true);
        m.hdr.cred = Some(Cred::basic("srv", "wrong"));
        h.send(&m);
    }
    assert_eq!(h.ended, Some(Outcome::Failed(FailReason::ServerAuthentication)));
}

#[test]
fn server_hmac_and_tampered_hmac() {
    let server = Some(creds(AuthType::Hmac, "srv", "srvpw", b"k0"));
    let mut h = H::connected(tree(Layout::Dm12, basic(), server), ClientConfig::default());
    let m = h.msg(StatusCode::OK, vec![add("./H/a", "1")], true);
    let body = m.encode(&h.wire).unwrap();
    let mac = HmacHeader::compute("srv", b"srvpw", b"k0", &body).to_string();
    h.feed(body, Some(mac));
    let hs = h.header_status();
    assert_eq!(hs.code.0, 200);
    assert_eq!(h.code(2), 200);
    let next = hs.chal.unwrap().meta.next_nonce.unwrap().bytes().to_vec();
    assert_eq!(h.account().server.unwrap().nonce, next);
    // Tampered: the MAC over other bytes.
    let m = h.msg(StatusCode::OK, vec![add("./H/b", "1")], true);
    let body = m.encode(&h.wire).unwrap();
    let mac = HmacHeader::compute("srv", b"srvpw", &next, b"something else").to_string();
    h.feed(body, Some(mac));
    assert_eq!(h.header_status().code.0, 401);
    assert_eq!(h.code(2), 401);
    assert!(h.c.tree().node("./H/b").is_none());
}

// ----- package 0, DM 1.1 --------------------------------------------------------------------------------

fn package0(password: &[u8], nonce: &[u8]) -> Vec<u8> {
    let p = Package0Params {
        version: 12,
        ui_mode: pkg0::UiMode::Background,
        initiator: pkg0::Initiator::Server,
        session_id: 0x1A2B,
        server_id: SERVER.as_bytes(),
        body: &[],
    };
    Package0::build(&p, password, nonce).encode()
}

#[test]
fn package0_starts_a_server_initiated_session() {
    let server = Some(creds(AuthType::Md5, "srv", "srvpw", b"p0"));
    let mut h = H::new(tree(Layout::Dm12, basic(), server), ClientConfig::default());
    let bad = package0(b"wrong", b"p0");
    assert_eq!(
        h.c.handle_input(Input::Notification { package0: bad, now: T }),
        Err(SessionError::Notification(NotificationError::BadDigest))
    );
    assert!(h.c.poll_output().is_none());
    assert_eq!(
        h.c.handle_input(Input::Notification { package0: vec![1, 2, 3], now: T })
            .map_err(|e| matches!(e, SessionError::Notification(NotificationError::Malformed(_)))),
        Err(true)
    );
    h.c.handle_input(Input::Notification { package0: package0(b"srvpw", b"p0"), now: T }).unwrap();
    h.drain();
    assert_eq!(h.last().hdr.session_id, "1A2B");
    assert!(
        matches!(&h.last().body.commands[0], Command::Alert(a) if a.code == AlertCode::SERVER_INITIATED_MGMT)
    );
    assert!(h.events.iter().any(|e| matches!(
        e,
        Event::SessionStarted { initiator: Initiator::Server, ui_mode: Some(pkg0::UiMode::Background), .. }
    )));
    let mut m = h.msg(StatusCode::AUTHENTICATION_ACCEPTED, vec![get("./DevInfo/Mod")], true);
    m.hdr.cred = Some(Cred::md5(b"srv", b"srvpw", b"p0"));
    h.send(&m);
    assert_eq!(h.header_status().code.0, 212);
    assert_eq!(h.code(2), 200);
    assert_eq!(
        h.c.handle_input(Input::Connect { server_id: SERVER.into(), session_id: None, now: T }),
        Err(SessionError::Busy)
    );
    // A package 0 for an account without server credentials is refused.
    let mut h = H::new(tree(Layout::Dm12, basic(), None), ClientConfig::default());
    assert_eq!(
        h.c.handle_input(Input::Notification { package0: package0(b"srvpw", b"p0"), now: T }),
        Err(SessionError::Notification(NotificationError::NoServerCredentials))
    );
}

#[test]
fn dm11_account_runs_a_dm11_session() {
    let client = Some(creds(AuthType::Md5, "dev", "devpw", b"n0"));
    let mut h = H::connected(tree(Layout::Dm11, client, None), ClientConfig::default());
    assert_eq!((h.last().hdr.ver_dtd.as_str(), h.last().hdr.ver_proto.as_str()), ("1.1", "DM/1.1"));
    let mut m = h.msg(StatusCode::AUTHENTICATION_ACCEPTED, vec![get("./DevInfo/Man")], true);
    if let Some(Command::Status(s)) = m.body.commands.get_mut(0) {
        s.chal = Some(Chal::md5(b"n9".to_vec()));
    }
    h.send(&m);
    assert_eq!(text(&h.results()[0]), "m2msim");
    assert_eq!(h.account().client.unwrap().nonce, b"n9");
    // A DM 1.2 message in a DM 1.1 session is a violation.
    let mut m = h.msg(StatusCode::OK, vec![], true);
    m.hdr.ver_dtd = "1.2".into();
    h.send(&m);
    assert!(matches!(
        h.ended,
        Some(Outcome::Failed(FailReason::Protocol(Violation::VersionMismatch { .. })))
    ));
}

#[test]
fn wbxml_server_gets_wbxml_answers() {
    let mut h = H::basic();
    h.wire = Wire::wbxml(Profile::rtk());
    h.reply(vec![get("./DevInfo/Man")]);
    assert_eq!(h.sent.last().unwrap().content_type, "application/vnd.syncml.dm+wbxml");
    assert_eq!(text(&h.results()[0]), "m2msim");
}

// ----- protocol violations -----------------------------------------------------------------------------

fn violation(f: impl FnOnce(&mut H) -> Vec<u8>) -> Violation {
    let mut h = H::basic();
    let body = f(&mut h);
    h.feed(body, None);
    let t = h.sent.last().unwrap();
    assert!(!t.expects_reply, "a Session Abort goes out");
    match h.ended {
        Some(Outcome::Failed(FailReason::Protocol(v))) => v,
        other => panic!("{other:?}"),
    }
}

#[test]
fn protocol_violations_end_the_session() {
    assert!(matches!(violation(|_| b"<SyncML><SyncHdr>".to_vec()), Violation::Malformed(_)));
    assert!(matches!(violation(|_| Vec::new()), Violation::Malformed(_)));
    let v = violation(|h| {
        let mut m = h.msg(StatusCode::OK, vec![], true);
        m.body.commands.remove(0);
        m.encode(&h.wire).unwrap()
    });
    assert_eq!(v, Violation::MissingHeaderStatus);
    let v = violation(|h| {
        let mut m = h.msg(StatusCode::OK, vec![], true);
        if let Some(Command::Status(s)) = m.body.commands.get_mut(0) {
            s.msg_ref = 7;
        }
        m.encode(&h.wire).unwrap()
    });
    assert_eq!(v, Violation::WrongMsgRef { expected: 1, got: 7 });
    let v = violation(|h| {
        let mut m = h.msg(StatusCode::OK, vec![], true);
        m.hdr.session_id = "2".into();
        m.encode(&h.wire).unwrap()
    });
    assert!(matches!(v, Violation::SessionIdChanged { .. }));
    let v = violation(|h| {
        let m = h.msg(StatusCode::OK, vec![get("./DevInfo/Man"); 10], true);
        h.c.config.max_commands = 5;
        m.encode(&h.wire).unwrap()
    });
    assert_eq!(v, Violation::TooManyCommands { max: 5 });
    let v = violation(|_| vec![b' '; 20_000]);
    assert!(matches!(v, Violation::MessageTooLarge { size: 20_000, .. }));
    // MsgID not increasing.
    let mut h = H::basic();
    h.reply(vec![get("./DevInfo/Man")]);
    h.smsg = 0;
    h.reply(vec![]);
    assert!(matches!(
        h.ended,
        Some(Outcome::Failed(FailReason::Protocol(Violation::MsgIdNotIncreasing { .. })))
    ));
    // Final missing forever.
    let mut h = H::basic();
    for _ in 0..20 {
        if h.ended.is_some() {
            break;
        }
        let m = h.msg(StatusCode::OK, vec![], false);
        h.send(&m);
    }
    assert!(matches!(h.ended, Some(Outcome::Failed(FailReason::Protocol(Violation::FinalMissing { .. })))));
    // Server abort, client abort, timeout, transport failure.
    let mut h = H::basic();
    h.reply(vec![Command::Alert(Alert::session_abort(0))]);
    assert_eq!(h.ended, Some(Outcome::AbortedByServer));
    let mut h = H::basic();
    h.c.handle_input(Input::Abort { now: T }).unwrap();
    h.drain();
    assert_eq!(h.ended, Some(Outcome::AbortedByClient));
    let mut h = H::basic();
    let due = h.c.poll_timeout().unwrap();
    h.c.handle_input(Input::Timeout { now: DmTime(due.0 - 1) }).unwrap();
    h.drain();
    assert!(h.ended.is_none());
    h.c.handle_input(Input::Timeout { now: due }).unwrap();
    h.drain();
    assert_eq!(h.ended, Some(Outcome::Failed(FailReason::Timeout)));
    let mut h = H::basic();
    h.c.handle_input(Input::TransportFailed { now: T }).unwrap();
    h.drain();
    assert_eq!(h.ended, Some(Outcome::Failed(FailReason::Transport)));
    assert_eq!(h.c.handle_input(Input::TransportFailed { now: T }), Err(SessionError::NoSession));
}

#[test]
fn unknown_account_and_missing_devinfo() {
    let mut c =
        DmClient::new(tree(Layout::Dm12, basic(), None), ClientConfig::default(), SeededNonces::new(3));
    assert!(matches!(
        c.handle_input(Input::Connect { server_id: "other".into(), session_id: None, now: T }),
        Err(SessionError::UnknownAccount { .. })
    ));
    let full = tree(Layout::Dm12, basic(), None);
    let acc = DmAccount::find(&full, SERVER).unwrap();
    let mut t = DmTree::default();
    dmacc::install(&mut t, Layout::Dm12, T).unwrap();
    acc.write(&mut t, T).unwrap();
    let mut c = DmClient::new(t, ClientConfig::default(), SeededNonces::new(3));
    assert_eq!(
        c.handle_input(Input::Connect { server_id: SERVER.into(), session_id: None, now: T }),
        Err(SessionError::NoDevInfo)
    );
    assert!(c.poll_output().is_none());
}

// ----- robustness --------------------------------------------------------------------------------------

/// A server message with a bit of everything, as XML bytes, and a fresh client waiting for it.
fn rich_message() -> (H, Vec<u8>) {
    let mut h = H::basic();
    let atomic = CommandGroup { commands: vec![add("./R/a", "1"), get("./R/a")], ..CommandGroup::default() };
    let m = h.msg(
        StatusCode::AUTHENTICATION_ACCEPTED,
        vec![
            get("./DevInfo?list=Struct"),
            Command::Atomic(atomic),
            chunk("./R/big", "abc", Some(6), true),
            ui_alert(1103, "DR=2", "Pick", &["x", "y"]),
        ],
        true,
    );
    let body = m.encode(&h.wire).unwrap();
    (h, body)
}

#[test]
fn every_truncation_of_a_server_message_ends_cleanly() {
    let (_, body) = rich_message();
    for n in 0..body.len() {
        let (mut h, _) = rich_message();
        h.feed(body[..n].to_vec(), None);
        match &h.ended {
            Some(Outcome::Failed(FailReason::Protocol(_))) => {}
            other => panic!("prefix {n}: {other:?}"),
        }
    }
    let (mut h, body) = rich_message();
    h.feed(body, None);
    assert!(h.ended.is_none());
    assert_eq!(h.results()[0].items.len(), 6, "?list=Struct: ./DevInfo and its five leaves");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Arbitrary bytes, or a valid message with bytes overwritten, never panic the engine.
    #[test]
    fn arbitrary_input_never_panics(
        junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
        at in 0usize..4000,
        patch in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..8),
    ) {
        let (mut h, _) = rich_message();
        h.feed(junk, None);
        proptest::prop_assert!(h.ended.is_some());
        let (mut h, mut body) = rich_message();
        let at = at % body.len();
        for (i, b) in patch.iter().enumerate() {
            if let Some(x) = body.get_mut(at + i) {
                *x = *b;
            }
        }
        let n = h.sent.len();
        h.c.handle_input(Input::Response { body, hmac: None, now: T }).unwrap();
        h.drain();
        proptest::prop_assert!(h.ended.is_some() || h.sent.len() == n + 1);
    }
}

//! Running the server's commands on the tree and writing their Statuses and Results (OMA DM 1.2.1 RepPro
//! §6, Protocol §2.2, §2.5; the rules are in the [session documentation](super)).
//!
//! [`Processor`] walks the commands of one server message in order. Item commands and Exec go to the
//! [`DmTree`]; UI alerts to the [`UiHandler`]; Atomic runs on the tree's undo journal; chunks of a large
//! object are buffered in an [`IncomingObject`] that outlives the message. The Statuses, Results and
//! Alerts 1225 it produces are returned in order, with `CmdID` 0 (the engine numbers them when it packs
//! a message).

use m2msim_codec::dm::auth::{decode_b64, encode_b64};
use m2msim_codec::dm::ddf::Format;
use m2msim_codec::syncml::tree::Element;
use m2msim_codec::syncml::{
    Alert, AlertCode, Command, CommandGroup, Data, Exec, Item, ItemCommand, Location, Results, Status,
    StatusCode,
};

use super::Event;
use super::large::{IncomingObject, sent_len};
use super::ui::{UiAlert, UiFlow, UiHandler, UiKind, UiOptions};
use crate::tree::{CommandCtx, DmTime, DmTree, ExecOutcome, ItemValue, ResultItem};

/// What running one command did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Done {
    /// Every status it produced is a success (for Atomic; 304, 214 and 408 UI answers are not).
    ok: bool,
    /// Its effect on the rest of the message.
    flow: UiFlow,
}

impl Done {
    const OK: Self = Self { ok: true, flow: UiFlow::Continue };

    fn code(code: StatusCode) -> Self {
        Self { ok: code.is_success(), flow: UiFlow::Continue }
    }
}

/// Where a list of commands runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListMode {
    Body,
    Sequence,
    Atomic,
}

/// The result of running a list of commands.
#[derive(Debug, Default)]
struct ListRun {
    /// Some command failed.
    failed: bool,
    /// Processing of the message stopped (a cancelled or unanswered UI alert).
    stopped: bool,
}

/// Runs the commands of one server message.
pub(crate) struct Processor<'a> {
    /// The management tree.
    pub tree: &'a mut DmTree,
    /// The UI for alerts 1100–1104.
    pub ui: &'a mut dyn UiHandler,
    /// The authenticated server (for ACLs).
    pub server_id: &'a str,
    /// The current time.
    pub now: DmTime,
    /// The server message's MsgID.
    pub msg_ref: u32,
    /// The client's MaxObjSize.
    pub max_obj_size: u64,
    /// The server's MaxObjSize, if it gave one.
    pub server_max_obj_size: Option<u64>,
    /// The large object being received, across messages.
    pub incoming: &'a mut Option<IncomingObject>,
    /// The open large object got a chunk in this message.
    pub touched: bool,
    /// The server sent Alert 1225: stop sending the current large object.
    pub abandon_outgoing: bool,
    /// Statuses, Results and Alerts 1225, in order.
    pub out: Vec<Command>,
    /// Events to report.
    pub events: Vec<Event>,
}

impl Processor<'_> {
    /// Runs the commands of a message body (Statuses and Results in it are skipped).
    pub fn run_body(&mut self, commands: &[Command]) {
        self.run_list(commands, ListMode::Body);
        if self.incoming.is_some() && !self.touched {
            self.interrupt();
        }
    }

    /// Answers every command with `code` without running it (the server did not authenticate itself,
    /// Protocol §2.4.1: a Status for every command).
    pub fn refuse_all(&mut self, commands: &[Command], code: StatusCode) {
        for c in commands {
            self.not_executed(c, code);
        }
    }

    fn run_list(&mut self, commands: &[Command], mode: ListMode) -> ListRun {
        let mut r = ListRun::default();
        let mut skip = false;
        for c in commands {
            if matches!(c, Command::Status(_) | Command::Results(_)) {
                continue;
            }
            if r.stopped || skip {
                self.not_executed(c, StatusCode::NOT_EXECUTED);
                continue;
            }
            let d = self.run(c, mode != ListMode::Body);
            if !d.ok {
                r.failed = true;
                skip |= mode == ListMode::Atomic;
            }
            match d.flow {
                UiFlow::Stop => r.stopped = true,
                UiFlow::Reject if mode == ListMode::Sequence => skip = true,
                UiFlow::Reject | UiFlow::Continue => {}
            }
        }
        r
    }

    fn run(&mut self, cmd: &Command, in_group: bool) -> Done {
        if !matches!(cmd, Command::Add(_) | Command::Replace(_)) {
            self.interrupt();
        }
        match cmd {
            Command::Add(c) | Command::Replace(c) => self.write(cmd, c, in_group),
            Command::Delete(c) | Command::Copy(c) => self.edit(cmd, c),
            Command::Get(c) => self.get(cmd, c),
            Command::Exec(e) => self.exec(cmd, e),
            Command::Alert(a) => self.alert(cmd, a),
            Command::Atomic(g) => self.atomic(cmd, g),
            Command::Sequence(g) => self.sequence(cmd, g),
            Command::Other(e) => {
                let code = StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED;
                self.push_status(other_status(self.msg_ref, cmd, e, code));
                Done::code(code)
            }
            Command::Status(_) | Command::Results(_) => Done::OK,
        }
    }

    /// Pushes a Status for `cmd` (one per item when it has several; none with `NoResp`) and returns its
    /// index.
    fn status(&mut self, cmd: &Command, item: Option<&Item>, code: StatusCode) -> Option<usize> {
        if cmd.no_resp() {
            return None;
        }
        let s = match item {
            Some(i) if cmd.items().len() > 1 => Status::for_item(0, self.msg_ref, cmd, i, code),
            _ => Status::for_command(0, self.msg_ref, cmd, code),
        };
        Some(self.push_status(s))
    }

    fn push_status(&mut self, s: Status) -> usize {
        self.out.push(Command::Status(s));
        self.out.len() - 1
    }

    fn set_code(&mut self, index: Option<usize>, code: StatusCode) {
        if let Some(Command::Status(s)) = index.and_then(|i| self.out.get_mut(i)) {
            s.code = code;
        }
    }

    /// Answers a command (and what it contains) with `code` without running it.
    fn not_executed(&mut self, cmd: &Command, code: StatusCode) {
        match cmd {
            Command::Status(_) | Command::Results(_) => {}
            Command::Atomic(g) | Command::Sequence(g) => {
                self.status(cmd, None, code);
                for c in &g.commands {
                    self.not_executed(c, code);
                }
            }
            Command::Other(e) => {
                if !cmd.no_resp() {
                    self.push_status(other_status(self.msg_ref, cmd, e, code));
                }
            }
            _ if cmd.items().len() > 1 => {
                for i in cmd.items() {
                    self.status(cmd, Some(i), code);
                }
            }
            _ => {
                self.status(cmd, None, code);
            }
        }
    }

    /// A new command or item interrupts the large object being received: Alert 1225 with its target and
    /// source (Protocol §2.2), and the object is dropped. A refused object is dropped silently.
    fn interrupt(&mut self) {
        let Some(o) = self.incoming.take() else { return };
        if o.rejected.is_some() {
            return;
        }
        let mut item = Item::default().with_target(o.target);
        item.source = o.source.map(Location::new);
        self.out.push(Command::Alert(Alert::new(0, AlertCode::NO_END_OF_DATA).with_item(item)));
    }

    // ----- item commands ------------------------------------------------------------------------------

    fn write(&mut self, cmd: &Command, c: &ItemCommand, in_group: bool) -> Done {
        if c.items.is_empty() {
            self.interrupt();
            self.status(cmd, None, StatusCode::BAD_REQUEST);
            return Done::code(StatusCode::BAD_REQUEST);
        }
        let mut ok = true;
        for item in &c.items {
            let code = self.write_item(cmd, c, item, in_group);
            self.status(cmd, Some(item), code);
            ok &= code.is_success();
        }
        Done { ok, flow: UiFlow::Continue }
    }

    fn write_item(&mut self, cmd: &Command, c: &ItemCommand, item: &Item, in_group: bool) -> StatusCode {
        let name = cmd.name();
        let target = item.target_uri();
        if let Some(o) = self.incoming.as_mut() {
            if o.continued_by(name, target) {
                self.touched = true;
                let pushed = match o.rejected {
                    Some(code) => Err(code),
                    None => o.push(item.data.as_ref()),
                };
                return match (pushed, item.more_data) {
                    (Err(code), true) => {
                        o.rejected = Some(code);
                        code
                    }
                    (Err(code), false) => {
                        *self.incoming = None;
                        code
                    }
                    (Ok(()), true) => StatusCode::CHUNK_ACCEPTED,
                    (Ok(()), false) => match self.incoming.take() {
                        Some(o) => self.apply_object(name, o),
                        None => StatusCode::COMMAND_FAILED,
                    },
                };
            }
            self.interrupt();
        }
        let Some(target) = target else { return StatusCode::BAD_REQUEST };
        let format = c.format_of(item);
        let type_ = item_type(c, item);
        if item.more_data {
            if in_group {
                return StatusCode::BAD_REQUEST;
            }
            self.touched = true;
            let size =
                item.meta.as_ref().and_then(|m| m.size).or_else(|| c.meta.as_ref().and_then(|m| m.size));
            let refuse = |code| (Some(IncomingObject::refused(name, target, code)), code);
            let (obj, code) = match size {
                None => refuse(StatusCode::SIZE_REQUIRED),
                Some(s) if s > self.max_obj_size => refuse(StatusCode::REQUESTED_SIZE_TOO_BIG),
                Some(s) => {
                    let mut o = IncomingObject::new(name, target, item.source_uri(), format, type_, s);
                    match o.push(item.data.as_ref()) {
                        Ok(()) => (Some(o), StatusCode::CHUNK_ACCEPTED),
                        Err(code) => {
                            o.rejected = Some(code);
                            (Some(o), code)
                        }
                    }
                }
            };
            *self.incoming = obj;
            return code;
        }
        let parsed = format.and_then(Format::parse);
        if item.data.as_ref().is_some_and(|d| sent_len(d, parsed) > self.max_obj_size) {
            return StatusCode::REQUEST_ENTITY_TOO_LARGE;
        }
        match item_value(format, type_, item.data.as_ref()) {
            Ok(v) => self.apply(name, target, &v),
            Err(code) => code,
        }
    }

    fn apply(&mut self, name: &str, target: &str, value: &ItemValue) -> StatusCode {
        let ctx = CommandCtx { server_id: self.server_id, now: self.now };
        let r = if name == "Add" {
            self.tree.add(&ctx, target, value)
        } else {
            self.tree.replace(&ctx, target, value)
        };
        r.map_or_else(|e| e, |()| StatusCode::OK)
    }

    fn apply_object(&mut self, name: &str, o: IncomingObject) -> StatusCode {
        let target = o.target.clone();
        let format = match o.format.as_deref().map(Format::parse) {
            Some(None) => return StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some(f) => f,
            None => None,
        };
        let node_type = o.type_.clone();
        let data = match o.finish() {
            Ok(d) => d,
            Err(code) => return code,
        };
        let size = data.len() as u64;
        let code = self.apply(name, &target, &ItemValue { data, format, node_type });
        self.events.push(Event::LargeObjectReceived { uri: target, size, status: code });
        code
    }

    fn edit(&mut self, cmd: &Command, c: &ItemCommand) -> Done {
        if c.items.is_empty() {
            self.status(cmd, None, StatusCode::BAD_REQUEST);
            return Done::code(StatusCode::BAD_REQUEST);
        }
        let mut ok = true;
        for item in &c.items {
            let ctx = CommandCtx { server_id: self.server_id, now: self.now };
            let r = match (cmd, item.target_uri(), item.source_uri()) {
                (Command::Delete(_), Some(t), _) => self.tree.delete(&ctx, t),
                (Command::Copy(_), Some(t), Some(s)) => self.tree.copy(&ctx, t, s),
                _ => Err(StatusCode::BAD_REQUEST),
            };
            let code = r.map_or_else(|e| e, |()| StatusCode::OK);
            self.status(cmd, Some(item), code);
            ok &= code.is_success();
        }
        Done { ok, flow: UiFlow::Continue }
    }

    fn get(&mut self, cmd: &Command, c: &ItemCommand) -> Done {
        if c.items.is_empty() {
            self.status(cmd, None, StatusCode::BAD_REQUEST);
            return Done::code(StatusCode::BAD_REQUEST);
        }
        let mut ok = true;
        let mut results = Vec::new();
        for item in &c.items {
            let code = match item.target_uri() {
                None => StatusCode::BAD_REQUEST,
                Some(t) => {
                    let ctx = CommandCtx { server_id: self.server_id, now: self.now };
                    match self.tree.get(&ctx, t) {
                        Err(code) => code,
                        Ok(found) => {
                            let items: Vec<Item> = found.iter().map(result_item).collect();
                            if items.iter().any(|i| self.too_large(i)) {
                                StatusCode::REQUEST_ENTITY_TOO_LARGE
                            } else {
                                results.extend(items);
                                StatusCode::OK
                            }
                        }
                    }
                }
            };
            self.status(cmd, Some(item), code);
            ok &= code.is_success();
        }
        if !results.is_empty() {
            self.out.push(Command::Results(Results::new(0, Some(self.msg_ref), c.cmd_id, results)));
        }
        Done { ok, flow: UiFlow::Continue }
    }

    /// A Results item larger than the server's MaxObjSize cannot be sent (Protocol §2.2).
    fn too_large(&self, item: &Item) -> bool {
        let size = item.meta.as_ref().and_then(|m| m.size).unwrap_or(0);
        self.server_max_obj_size.is_some_and(|max| size > max)
    }

    fn exec(&mut self, cmd: &Command, e: &Exec) -> Done {
        let data = match &e.item.data {
            None => Ok(Vec::new()),
            Some(Data::Text(t)) => Ok(t.as_bytes().to_vec()),
            Some(Data::Bytes(b)) => Ok(b.clone()),
            Some(Data::Document(_) | Data::Nodes(_)) => Err(StatusCode::UNSUPPORTED_MEDIA_TYPE),
        };
        let outcome = match (e.item.target_uri(), data) {
            (None, _) => Err(StatusCode::BAD_REQUEST),
            (_, Err(code)) => Err(code),
            (Some(t), Ok(data)) => {
                let ctx = CommandCtx { server_id: self.server_id, now: self.now };
                self.tree.exec(&ctx, t, &data, e.correlator.as_deref())
            }
        };
        let (code, results) = match outcome {
            Err(code) => (code, None),
            Ok(ExecOutcome::Accepted) => (StatusCode::ACCEPTED, None),
            Ok(ExecOutcome::Done { status, results }) => (status, results),
        };
        self.status(cmd, None, code);
        // Decision: a result larger than the server's MaxObjSize is dropped; the Exec ran, so its
        // status stands.
        if let Some(item) = results.as_ref().map(result_item).filter(|i| !self.too_large(i)) {
            self.out.push(Command::Results(Results::new(0, Some(self.msg_ref), e.cmd_id, vec![item])));
        }
        Done::code(code)
    }

    // ----- alerts -------------------------------------------------------------------------------------

    fn alert(&mut self, cmd: &Command, a: &Alert) -> Done {
        if let Some(kind) = UiKind::from_code(a.code) {
            let text = |i: usize| a.items.get(i).map(item_text).unwrap_or_default();
            let alert = UiAlert {
                kind,
                options: UiOptions::parse(&text(0)),
                text: text(1),
                choices: a.items.iter().skip(2).map(item_text).collect(),
            };
            let (code, items, flow) = self.ui.alert(&alert).outcome(&alert);
            if let Some(i) = self.status(cmd, None, code)
                && let Some(Command::Status(s)) = self.out.get_mut(i)
            {
                s.items = items.into_iter().map(|t| Item::default().with_data(t)).collect();
            }
            return Done { ok: code == StatusCode::OK, flow };
        }
        let code = match a.code {
            AlertCode::NEXT_MESSAGE
            | AlertCode::SESSION_ABORT
            | AlertCode::SERVER_INITIATED_MGMT
            | AlertCode::CLIENT_INITIATED_MGMT => StatusCode::OK,
            AlertCode::NO_END_OF_DATA => {
                self.abandon_outgoing = true;
                StatusCode::OK
            }
            _ => StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED,
        };
        self.status(cmd, None, code);
        Done::code(code)
    }

    // ----- groups -------------------------------------------------------------------------------------

    fn atomic(&mut self, cmd: &Command, g: &CommandGroup) -> Done {
        let own = self.status(cmd, None, StatusCode::OK);
        if self.tree.begin_atomic().is_err() {
            // RepPro: no Atomic inside an Atomic.
            self.set_code(own, StatusCode::COMMAND_FAILED);
            for c in &g.commands {
                self.not_executed(c, StatusCode::NOT_EXECUTED);
            }
            return Done::code(StatusCode::COMMAND_FAILED);
        }
        let start = self.out.len();
        let run = self.run_list(&g.commands, ListMode::Atomic);
        let failed = run.failed || run.stopped;
        if failed {
            let _ = self.tree.rollback();
            let mut i = start;
            while i < self.out.len() {
                match self.out.get_mut(i) {
                    Some(Command::Results(_)) => {
                        self.out.remove(i);
                        continue;
                    }
                    Some(Command::Status(s))
                        if s.code.is_success()
                            && s.code != StatusCode::NOT_EXECUTED
                            && s.code != StatusCode::ATOMIC_ROLLBACK_OK
                            && s.cmd != "Exec"
                            && s.cmd != "Atomic"
                            && s.cmd != "Sequence" =>
                    {
                        s.code = StatusCode::ATOMIC_ROLLBACK_OK;
                    }
                    _ => {}
                }
                i += 1;
            }
            self.set_code(own, StatusCode::ATOMIC_FAILED);
        } else {
            let _ = self.tree.commit();
        }
        Done { ok: !failed, flow: if run.stopped { UiFlow::Stop } else { UiFlow::Continue } }
    }

    fn sequence(&mut self, cmd: &Command, g: &CommandGroup) -> Done {
        self.status(cmd, None, StatusCode::OK);
        let run = self.run_list(&g.commands, ListMode::Sequence);
        Done { ok: !run.failed, flow: if run.stopped { UiFlow::Stop } else { UiFlow::Continue } }
    }
}

/// The Status of an unknown command (its CmdID read from its element).
fn other_status(msg_ref: u32, cmd: &Command, e: &Element, code: StatusCode) -> Status {
    let mut s = Status::for_command(0, msg_ref, cmd, code);
    s.cmd_ref = e.child("CmdID").and_then(Element::text).and_then(|t| t.trim().parse().ok()).unwrap_or(0);
    s
}

/// The Meta Type that applies to an item (its own, else its command's).
fn item_type<'a>(c: &'a ItemCommand, item: &'a Item) -> Option<&'a str> {
    item.meta
        .as_ref()
        .and_then(|m| m.type_.as_deref())
        .or_else(|| c.meta.as_ref().and_then(|m| m.type_.as_deref()))
}

/// The text of an item's Data (UI alerts).
fn item_text(item: &Item) -> String {
    match &item.data {
        Some(Data::Text(t)) => t.clone(),
        Some(Data::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

/// The value of an Add or Replace item as the tree takes it: Meta Format and Type as given, data as the
/// tree stores it (`b64` as base64 text, binary raw).
///
/// # Errors
/// 415 for a Format the tree does not know and for data that is a document (TNDS is not imported).
pub(crate) fn item_value(
    format: Option<&str>,
    type_: Option<&str>,
    data: Option<&Data>,
) -> Result<ItemValue, StatusCode> {
    let format = match format {
        None => None,
        Some(f) => Some(Format::parse(f).ok_or(StatusCode::UNSUPPORTED_MEDIA_TYPE)?),
    };
    let data = match data {
        None => Vec::new(),
        Some(Data::Text(t)) => t.as_bytes().to_vec(),
        Some(Data::Bytes(b)) if format == Some(Format::B64) => encode_b64(b).into_bytes(),
        Some(Data::Bytes(b)) => b.clone(),
        Some(Data::Document(_) | Data::Nodes(_)) => return Err(StatusCode::UNSUPPORTED_MEDIA_TYPE),
    };
    Ok(ItemValue { data, format, node_type: type_.map(str::to_owned) })
}

/// A node value on the wire: `b64` values (stored as base64 text) as bytes under `b64`, `bin` as bytes,
/// text as text; a value of another Format that is not UTF-8 as bytes under `bin` (decision: the codec
/// writes bytes only under a binary Format).
pub(crate) fn wire_data(format: Format, value: &[u8]) -> (Format, Data) {
    match format {
        Format::B64 => match std::str::from_utf8(value).ok().and_then(decode_b64) {
            Some(b) => (Format::B64, Data::Bytes(b)),
            None => (Format::Bin, Data::Bytes(value.to_vec())),
        },
        Format::Bin => (Format::Bin, Data::Bytes(value.to_vec())),
        f => match std::str::from_utf8(value) {
            Ok(t) => (f, Data::Text(t.to_owned())),
            Err(_) => (Format::Bin, Data::Bytes(value.to_vec())),
        },
    }
}

/// A Results item for a tree result (Meta Format, Type, Size; no Data in `?list=Struct`).
pub(crate) fn result_item(r: &ResultItem) -> Item {
    match &r.data {
        Some(value) => {
            let (format, data) = wire_data(r.format, value);
            Item::result(r.source.clone(), format, r.node_type.as_deref(), data)
        }
        None => {
            let mut meta = m2msim_codec::syncml::Meta::new().with_format(r.format);
            meta.type_.clone_from(&r.node_type);
            Item::default().with_source(r.source.clone()).with_meta(meta)
        }
    }
}

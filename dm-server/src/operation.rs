//! Management operations and what became of them (OMA DM 1.2.1 Protocol §2.3, RepPro §6.6).
//!
//! An [`Operation`] is one management command for one device, as an operator queued it: any of `Add`,
//! `Alert` (the user-interaction alerts 1100–1104), `Atomic`, `Copy`, `Delete`, `Exec`, `Get`, `Replace`
//! and `Sequence`, with nested commands inside `Atomic` and `Sequence`. The session engine numbers its
//! `CmdID`s, splits a large `Add`/`Replace` item into chunks, and collects what the client answers into an
//! [`OperationOutcome`]: every [`ReceivedStatus`], the `Results` items (reassembled from chunks), and for an
//! asynchronous `Exec` the Generic Alert ([`ReceivedAlert`]) that reported its result.
//!
//! [`cmd`] builds the commands (`cmd::get("./DevInfo/Mod")`, `cmd::replace(uri, Format::Chr, "x")`, …).
//!
//! Decisions:
//! - `NoResp` is refused ([`NotSentReason::NoResp`]): an operation is done only when the client's `Status`
//!   for it arrived, and `NoResp` asks for none.
//! - `MoreData` set by the operator is cleared: chunking is the engine's job (DM 1.2.1 Protocol §2.2).
//! - An `Exec` without a `Correlator` gets one in a DM 1.2 session: the operation id in decimal, so that a
//!   Generic Alert in a later session can be matched to it (FUMO §10.2.2.3: the client echoes it, never
//!   invents one). DM 1.1 has no `Correlator`: it is dropped, and a 202 for the `Exec` is final.

use m2msim_codec::dm::ddf::Format;
use m2msim_codec::syncml::{AlertCode, Command, Data, Item, StatusCode};
use serde::{Deserialize, Serialize};

/// The identifier of an operation: unique within the job store that issued it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OpId(pub u64);

impl std::fmt::Display for OpId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One management operation for a device: a command and its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// The operation's id.
    pub op_id: OpId,
    /// The command (its `CmdID`s are assigned when it is sent).
    pub command: Command,
}

impl Operation {
    /// An operation.
    #[must_use]
    pub fn new(op_id: OpId, command: impl Into<Command>) -> Self {
        Self { op_id, command: command.into() }
    }
}

/// What became of an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum OutcomeState {
    /// The client answered; nothing more will come.
    Done,
    /// The client accepted an `Exec` for asynchronous processing (202); a Generic Alert with this
    /// `Correlator` will report the result, in this session or a later one (DM 1.2.1 Protocol §2.3.7).
    Accepted {
        /// The `Correlator` the `Exec` carried.
        correlator: String,
    },
    /// The engine did not send the operation, for this reason; the client never saw it.
    NotSent {
        /// Why.
        reason: NotSentReason,
    },
}

/// Why an operation was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotSentReason {
    /// The command is not a management command (`Status`, `Results`, an alert other than 1100–1104, a
    /// DS command).
    NotAllowed,
    /// The command or one inside it has `NoResp` (see the module documentation).
    NoResp,
    /// An `Atomic` or `Sequence` without commands, or nested deeper than the codec allows.
    Empty,
    /// The command does not fit in a message within the client's `MaxMsgSize` and cannot be chunked
    /// (only a single-item `Add` or `Replace` with text or binary `Data` can, Protocol §2.2).
    TooLarge,
    /// The object is larger than the client's `MaxObjSize` (Protocol §2.2; the client would answer 416).
    ExceedsMaxObjSize,
    /// The command cannot be written in the session's DM version or dialect.
    Unencodable,
}

/// One `Status` the client sent for a command of an operation (RepPro §6.6.15).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedStatus {
    /// Which command: its index in the operation's commands taken depth first (0 = the operation's
    /// command, 1 = the first command inside an `Atomic`/`Sequence`, …).
    pub index: usize,
    /// `Cmd`: the command's name as the client gave it.
    pub cmd: String,
    /// `Data`: the status code.
    pub code: StatusCode,
    /// `TargetRef`s.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_refs: Vec<String>,
    /// `SourceRef`s.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_refs: Vec<String>,
    /// `Item`s: the answer to a user-interaction alert (the choices, the text entered), details.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
}

/// An alert the client sent: a Generic Alert (1226, DM 1.2.1 Protocol §2.3.7.1) or a client event (1224).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedAlert {
    /// The alert code.
    pub code: AlertCode,
    /// `Correlator`: the `Exec` it reports on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlator: Option<String>,
    /// The items (`Source`, `Meta` `Type`/`Format`/`Mark`, `Data`: e.g. a FUMO result code).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
}

/// What the client answered to an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationOutcome {
    /// The operation.
    pub op_id: OpId,
    /// Done, accepted for later, or not sent.
    #[serde(flatten)]
    pub state: OutcomeState,
    /// The client's status for the operation's command (the first, when a multi-item command got one per
    /// item); `None` when it was not sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusCode>,
    /// Every status received for the operation's commands, nested ones included, in arrival order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statuses: Vec<ReceivedStatus>,
    /// The `Results` items (of `Get`s), large objects reassembled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<Item>,
    /// Set when a chunked result did not arrive whole (interrupted, or its size did not match `Size`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub results_incomplete: bool,
    /// The Generic Alert that reported the result of an accepted `Exec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<ReceivedAlert>,
}

impl OperationOutcome {
    /// An outcome with nothing received yet.
    #[must_use]
    pub fn new(op_id: OpId) -> Self {
        Self {
            op_id,
            state: OutcomeState::Done,
            status: None,
            statuses: Vec::new(),
            results: Vec::new(),
            results_incomplete: false,
            alert: None,
        }
    }

    /// The outcome of an operation that was not sent.
    #[must_use]
    pub fn not_sent(op_id: OpId, reason: NotSentReason) -> Self {
        Self { state: OutcomeState::NotSent { reason }, ..Self::new(op_id) }
    }

    /// The status of the command at depth-first `index` (the first one received).
    #[must_use]
    pub fn status_of(&self, index: usize) -> Option<StatusCode> {
        self.statuses.iter().find(|s| s.index == index).map(|s| s.code)
    }

    /// True when the operation was sent and every status received is a success (2xx).
    #[must_use]
    pub fn succeeded(&self) -> bool {
        !matches!(self.state, OutcomeState::NotSent { .. })
            && self.status.is_some()
            && self.statuses.iter().all(|s| s.code.is_success())
            && !self.results_incomplete
    }
}

/// The options of a user-interaction alert (DM 1.2.1 RepPro §4.2, the first item's `Data`:
/// `MINDT=`, `MAXDT=`, `DR=`, `MAXLEN=`, `IT=`, `ET=` joined by `&`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UiOptions {
    /// `MINDT`: minimum display time, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_dt: Option<u32>,
    /// `MAXDT`: maximum display time (time-out), seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_dt: Option<u32>,
    /// `DR`: default response (`0`/`1` for confirm, the choice numbers, the default text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_response: Option<String>,
    /// `MAXLEN`: maximum length of text input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<u32>,
    /// `IT`: input type (`A` alphanumeric, `N` numeric, `D` date, `T` time, `P` phone, `I` IP address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_type: Option<char>,
    /// `ET`: echo type (`T` text, `P` password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo_type: Option<char>,
}

impl UiOptions {
    /// The option string (`MINDT=2&MAXDT=30`), in the order of RepPro §4.2.
    #[must_use]
    pub fn to_data(&self) -> String {
        let mut parts = Vec::new();
        if let Some(v) = self.min_dt {
            parts.push(format!("MINDT={v}"));
        }
        if let Some(v) = self.max_dt {
            parts.push(format!("MAXDT={v}"));
        }
        if let Some(v) = &self.default_response {
            parts.push(format!("DR={v}"));
        }
        if let Some(v) = self.max_len {
            parts.push(format!("MAXLEN={v}"));
        }
        if let Some(v) = self.input_type {
            parts.push(format!("IT={v}"));
        }
        if let Some(v) = self.echo_type {
            parts.push(format!("ET={v}"));
        }
        parts.join("&")
    }
}

/// Builders of management commands (`CmdID` 0: the engine numbers them when it sends them).
pub mod cmd {
    use m2msim_codec::syncml::{Alert, CommandGroup, Exec, ItemCommand, Location, Meta};

    use super::{AlertCode, Command, Data, Format, Item, UiOptions};

    fn item_command(
        target: &str,
        format: Option<Format>,
        type_: Option<&str>,
        data: Option<Data>,
    ) -> ItemCommand {
        let mut item = Item::default().with_target(target);
        if format.is_some() || type_.is_some() {
            let mut meta = Meta::new();
            if let Some(f) = format {
                meta = meta.with_format(f);
            }
            if let Some(t) = type_ {
                meta = meta.with_type(t);
            }
            item = item.with_meta(meta);
        }
        item.data = data;
        ItemCommand::new(0).with_item(item)
    }

    /// `Get` of a node (RepPro §6.6.7): its value, or for an interior node the child names; `?list=` and
    /// `?prop=` queries go in the URI.
    #[must_use]
    pub fn get(uri: &str) -> Command {
        Command::Get(item_command(uri, None, None, None))
    }

    /// `Replace` of a leaf's value (RepPro §6.6.11), `Meta` `Format` `format` (and `Type` `text/plain` for
    /// `chr`).
    #[must_use]
    pub fn replace(uri: &str, format: Format, data: impl Into<Data>) -> Command {
        let t = (format == Format::Chr).then_some("text/plain");
        Command::Replace(item_command(uri, Some(format), t, Some(data.into())))
    }

    /// `Add` of a leaf (RepPro §6.6.1), `Meta` `Format` `format` (and `Type` `text/plain` for `chr`).
    #[must_use]
    pub fn add(uri: &str, format: Format, data: impl Into<Data>) -> Command {
        let t = (format == Format::Chr).then_some("text/plain");
        Command::Add(item_command(uri, Some(format), t, Some(data.into())))
    }

    /// `Add` of a leaf with a `Meta` `Type` (e.g. a TNDS object, `application/vnd.syncml.dmtnds+xml`).
    #[must_use]
    pub fn add_typed(uri: &str, format: Format, type_: &str, data: impl Into<Data>) -> Command {
        Command::Add(item_command(uri, Some(format), Some(type_), Some(data.into())))
    }

    /// `Add` of an interior node (`Meta` `Format` `node`, no `Data`).
    #[must_use]
    pub fn add_interior(uri: &str) -> Command {
        Command::Add(item_command(uri, Some(Format::Node), None, None))
    }

    /// `Delete` of a node and its subtree (RepPro §6.6.5).
    #[must_use]
    pub fn delete(uri: &str) -> Command {
        Command::Delete(item_command(uri, None, None, None))
    }

    /// `Copy` of node `source` to `target` (RepPro §6.6.4).
    #[must_use]
    pub fn copy(target: &str, source: &str) -> Command {
        let mut c = item_command(target, None, None, None);
        if let Some(i) = c.items.first_mut() {
            i.source = Some(Location::new(source));
        }
        Command::Copy(c)
    }

    /// `Exec` of a node (RepPro §6.6.6) with optional argument data and `Correlator` (see the module
    /// documentation for the one the engine adds when there is none).
    #[must_use]
    pub fn exec(uri: &str, data: Option<Data>, correlator: Option<&str>) -> Command {
        let mut item = Item::default().with_target(uri);
        if data.is_some() {
            item = item.with_meta(Meta::new().with_format(Format::Chr));
        }
        item.data = data;
        Command::Exec(Exec { correlator: correlator.map(str::to_owned), item, ..Exec::default() })
    }

    /// `Atomic` of `commands` (RepPro §6.6.3): all or none.
    #[must_use]
    pub fn atomic(commands: Vec<Command>) -> Command {
        Command::Atomic(CommandGroup { commands, ..CommandGroup::default() })
    }

    /// `Sequence` of `commands` (RepPro §6.6.14): in this order.
    #[must_use]
    pub fn sequence(commands: Vec<Command>) -> Command {
        Command::Sequence(CommandGroup { commands, ..CommandGroup::default() })
    }

    /// A user-interaction alert (DM 1.2.1 RepPro §4.2; `code` 1100 display, 1101 confirm or reject, 1102
    /// text input, 1103 single choice, 1104 multiple choice): the options item, the text item, then one
    /// item per choice.
    #[must_use]
    pub fn ui_alert(code: AlertCode, options: &UiOptions, text: &str, choices: &[&str]) -> Command {
        let mut a = Alert::new(0, code)
            .with_item(Item::default().with_data(options.to_data()))
            .with_item(Item::default().with_data(text));
        for c in choices {
            a = a.with_item(Item::default().with_data(*c));
        }
        Command::Alert(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_options_string() {
        let o = UiOptions {
            min_dt: Some(2),
            max_dt: Some(30),
            default_response: Some("1-3,6".into()),
            max_len: None,
            input_type: Some('A'),
            echo_type: Some('T'),
        };
        assert_eq!(o.to_data(), "MINDT=2&MAXDT=30&DR=1-3,6&IT=A&ET=T");
        assert_eq!(UiOptions::default().to_data(), "");
        let Command::Alert(a) = cmd::ui_alert(AlertCode::MULTIPLE_CHOICE, &o, "Pick", &["a", "b"]) else {
            panic!("not an alert")
        };
        assert_eq!(a.items.len(), 4);
        assert_eq!(a.items[1].data, Some(Data::text("Pick")));
    }

    #[test]
    fn outcome_json_is_stable() {
        let mut o = OperationOutcome::new(OpId(7));
        o.state = OutcomeState::Accepted { correlator: "7".into() };
        o.status = Some(StatusCode::ACCEPTED);
        o.statuses.push(ReceivedStatus {
            index: 0,
            cmd: "Exec".into(),
            code: StatusCode::ACCEPTED,
            target_refs: vec!["./FUMO/Update".into()],
            source_refs: Vec::new(),
            items: Vec::new(),
        });
        let json = serde_json::to_string(&o).unwrap();
        assert!(json.contains("\"state\":\"accepted\""), "{json}");
        let back: OperationOutcome = serde_json::from_str(&json).unwrap();
        assert_eq!(back, o);
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        assert!(o.succeeded());
        let n = OperationOutcome::not_sent(OpId(1), NotSentReason::TooLarge);
        assert!(!n.succeeded());
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(serde_json::from_str::<OperationOutcome>(&json).unwrap(), n);
    }

    #[test]
    fn builders_shape() {
        let Command::Copy(c) = cmd::copy("./a", "./b") else { panic!() };
        assert_eq!(c.items[0].target_uri(), Some("./a"));
        assert_eq!(c.items[0].source_uri(), Some("./b"));
        let Command::Replace(r) = cmd::replace("./x", Format::Chr, "v") else { panic!() };
        assert_eq!(r.items[0].meta.as_ref().unwrap().type_.as_deref(), Some("text/plain"));
        let Command::Exec(e) = cmd::exec("./e", None, Some("c1")) else { panic!() };
        assert_eq!(e.correlator.as_deref(), Some("c1"));
        assert!(e.item.meta.is_none());
    }
}

//! The session state machine (OMA DM 1.2.1 Protocol §2.1–§2.4): starting a session, reading a server
//! message, authenticating both ways, packing the answers into messages under the server's MaxMsgSize,
//! and ending. The rules are in the [session documentation](super).

use std::collections::VecDeque;

use m2msim_codec::dm::auth::AuthType;
use m2msim_codec::syncml::tree::Flavor;
use m2msim_codec::syncml::{
    Alert, AlertCode, Command, DevInfo as WireDevInfo, DmVersion, Item, ModelError, Status, StatusCode,
    SyncHdr, SyncMl, Wire,
};
use m2msim_codec::xml::Mode;

use super::auth::{ClientAuth, ServerAuth, ServerCheck};
use super::large::{IncomingObject, OutgoingObject};
use super::nonce::NonceSource;
use super::process::{Processor, wire_data};
use super::ui::UiHandler;
use super::{ClientConfig, Event, FailReason, Initiator, Outcome, Output, SessionError, Transmit, Violation};
use crate::mo::devinfo::DevInfo;
use crate::mo::dmacc::{self, AuthLevel, DmAccount, Layout};
use crate::tree::{DmTime, DmTree, GenericAlert};

/// Nonce length for challenges (Security §5.1.3: at least 128 bits RECOMMENDED).
const NONCE_LEN: usize = 16;

/// What the engine works with besides its own state.
pub(crate) struct Env<'a> {
    pub tree: &'a mut DmTree,
    pub config: &'a ClientConfig,
    pub ui: &'a mut dyn UiHandler,
    pub nonces: &'a mut dyn NonceSource,
    pub out: &'a mut VecDeque<Output>,
}

/// Why the engine remembers a command it sent.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tag {
    Plain,
    /// The Alert 1200/1201 of package 1.
    SessionAlert,
    /// A Generic Alert from the tree's queue.
    Generic(GenericAlert),
}

/// A command waiting to be sent.
#[derive(Debug, Clone)]
struct Out {
    cmd: Command,
    tag: Tag,
}

impl Out {
    fn plain(cmd: Command) -> Self {
        Self { cmd, tag: Tag::Plain }
    }
}

/// A running session.
#[derive(Debug)]
pub(crate) struct Session {
    server_id: String,
    session_id: String,
    version: DmVersion,
    dev_id: String,
    /// The server's LocURI (the Target of the client's SyncHdr).
    server_uri: String,
    /// Where messages go (the account address, then the server's RespURI).
    send_uri: String,
    /// How the client writes (the server's dialect once it has spoken).
    wire: Wire,
    /// The client's last MsgID.
    msg_id: u32,
    server_msg_id: Option<u32>,
    server_max_msg: Option<u64>,
    server_max_obj: Option<u64>,
    client: ClientAuth,
    client_reported: bool,
    server: ServerAuth,
    /// The Status for the server's last SyncHdr: first in the next message.
    header_status: Option<Status>,
    outbox: VecDeque<Out>,
    outgoing: Option<OutgoingObject>,
    incoming: Option<IncomingObject>,
    /// The commands of the client's last message (resent after 401/407).
    last_sent: Vec<Out>,
    /// The server has sent Final for its current package.
    server_closed: bool,
    /// The client's package is not complete (its last message had no Final for lack of room).
    our_open: bool,
    /// (MsgID, CmdID, tag) of the tagged commands sent, until their Status arrives.
    sent: Vec<(u32, u32, Tag)>,
    /// Generic Alerts sent in this session and not yet answered.
    in_flight: Vec<GenericAlert>,
    messages: u32,
    idle: u32,
    deadline: Option<DmTime>,
}

impl Session {
    pub fn id(&self) -> &str {
        &self.session_id
    }

    pub fn deadline(&self) -> Option<DmTime> {
        self.deadline
    }

    /// Starts a session with `account` and sends package 1.
    pub fn start(
        env: &mut Env<'_>,
        account: DmAccount,
        session_id: String,
        initiator: Initiator,
        ui_mode: Option<m2msim_codec::dm::pkg0::UiMode>,
        now: DmTime,
    ) -> Result<Self, SessionError> {
        let version = match account.layout {
            Layout::Dm12 => DmVersion::V1_2,
            Layout::Dm11 => DmVersion::V1_1,
        };
        let info = DevInfo::read(env.tree).ok_or(SessionError::NoDevInfo)?;
        let wire_info = WireDevInfo {
            dev_id: info.dev_id.clone(),
            man: info.man,
            model: info.model,
            dm_v: info.dm_v,
            lang: info.lang,
        };
        let code = match initiator {
            Initiator::Client => AlertCode::CLIENT_INITIATED_MGMT,
            Initiator::Server => AlertCode::SERVER_INITIATED_MGMT,
        };
        let pkg1 = SyncMl::package1(SyncHdr::default(), code, &wire_info);
        let mut s = Self {
            server_id: account.server_id.clone(),
            session_id,
            version,
            dev_id: info.dev_id,
            server_uri: account.addr.clone(),
            send_uri: account.addr.clone(),
            wire: env.config.wire,
            msg_id: 0,
            server_msg_id: None,
            server_max_msg: None,
            server_max_obj: None,
            client: ClientAuth::new(account.client),
            client_reported: false,
            server: ServerAuth::new(account.server),
            header_status: None,
            outbox: VecDeque::new(),
            outgoing: None,
            incoming: None,
            last_sent: Vec::new(),
            server_closed: true,
            our_open: false,
            sent: Vec::new(),
            in_flight: Vec::new(),
            messages: 0,
            idle: 0,
            deadline: None,
        };
        for (i, cmd) in pkg1.body.commands.into_iter().enumerate() {
            s.outbox.push_back(Out { cmd, tag: if i == 0 { Tag::SessionAlert } else { Tag::Plain } });
        }
        s.queue_alerts(env);
        env.out.push_back(Output::Event(Event::SessionStarted {
            server_id: s.server_id.clone(),
            session_id: s.session_id.clone(),
            initiator,
            ui_mode,
        }));
        match s.send(env, now) {
            Ok(()) => Ok(s),
            Err(FailReason::Encode(e)) => Err(SessionError::Encode(e)),
            Err(r) => {
                env.out.push_back(Output::Ended { outcome: Outcome::Failed(r) });
                Err(SessionError::NoSession)
            }
        }
    }

    // ----- receiving ----------------------------------------------------------------------------------

    /// Handles the server's message; returns whether the session goes on.
    pub fn receive(&mut self, env: &mut Env<'_>, body: &[u8], hmac: Option<&str>, now: DmTime) -> bool {
        self.deadline = None;
        self.messages = self.messages.saturating_add(1);
        if self.messages > env.config.max_messages {
            return self.violate(env, Violation::TooManyMessages { max: env.config.max_messages }, now);
        }
        if body.len() as u64 > env.config.max_msg_size {
            let v = Violation::MessageTooLarge { size: body.len(), max: env.config.max_msg_size };
            return self.violate(env, v, now);
        }
        let decoded = match SyncMl::decode(body, Mode::Lenient) {
            Ok(d) => d,
            Err(e) => return self.violate(env, Violation::Malformed(e), now),
        };
        let msg = decoded.message;
        if let Some(v) = self.check_header(env, &msg) {
            return self.violate(env, v, now);
        }
        self.server_msg_id = Some(msg.hdr.msg_id);
        self.wire = decoded.wire;
        let abort = |c: &Command| matches!(c, Command::Alert(a) if a.code == AlertCode::SESSION_ABORT);
        if msg.body.commands.iter().any(abort) {
            return self.end(env, Outcome::AbortedByServer);
        }
        let Some(hs) = msg.header_status() else {
            return self.violate(env, Violation::MissingHeaderStatus, now);
        };
        if let Some(s) = msg.statuses().find(|s| s.msg_ref == 0 || s.msg_ref > self.msg_id) {
            return self.violate(env, Violation::WrongMsgRef { expected: self.msg_id, got: s.msg_ref }, now);
        }
        if hs.msg_ref != self.msg_id {
            return self.violate(env, Violation::WrongMsgRef { expected: self.msg_id, got: hs.msg_ref }, now);
        }

        let check = self.server.check(&msg.hdr, hmac, body);
        let trusted = matches!(check, ServerCheck::NotRequired | ServerCheck::Accepted { .. });
        if let Some(m) = &msg.hdr.meta {
            self.server_max_msg = m.max_msg_size.or(self.server_max_msg);
            self.server_max_obj = m.max_obj_size.or(self.server_max_obj);
        }
        if let Some(r) = msg.hdr.resp_uri.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            r.clone_into(&mut self.send_uri);
        }
        if !msg.hdr.source.loc_uri.trim().is_empty() {
            msg.hdr.source.loc_uri.trim().clone_into(&mut self.server_uri);
        }

        // The client's credentials, as the server judged them.
        let resend = match self.client_status(env, hs, trusted, now) {
            Ok(r) => r,
            Err(reason) => return self.fail(env, reason, now),
        };
        if !resend && trusted {
            for s in msg.statuses().filter(|s| !s.is_for_header()) {
                if let Err(reason) = self.command_status(env, s) {
                    return self.fail(env, reason, now);
                }
            }
        }

        // The server's credentials, as the client judges them.
        let code = match self.server_status(env, check, &msg.hdr, now) {
            Ok(c) => c,
            Err(reason) => return self.fail(env, reason, now),
        };

        // The commands.
        let commands: Vec<&Command> = msg
            .body
            .commands
            .iter()
            .filter(|c| !matches!(c, Command::Status(_) | Command::Results(_)))
            .collect();
        let asks_more = |c: &&Command| matches!(c, Command::Alert(a) if a.code == AlertCode::NEXT_MESSAGE);
        let had_commands = commands.iter().any(|c| !asks_more(c));
        let mut p = Processor {
            tree: env.tree,
            ui: env.ui,
            server_id: &self.server_id,
            now,
            msg_ref: msg.hdr.msg_id,
            max_obj_size: env.config.max_obj_size,
            server_max_obj_size: self.server_max_obj,
            incoming: &mut self.incoming,
            touched: false,
            abandon_outgoing: false,
            out: Vec::new(),
            events: Vec::new(),
        };
        if trusted {
            p.run_body(&msg.body.commands);
        } else {
            p.refuse_all(&msg.body.commands, code);
        }
        let (out, events, abandon) = (p.out, p.events, p.abandon_outgoing);
        self.outbox.extend(out.into_iter().map(Out::plain));
        env.out.extend(events.into_iter().map(Output::Event));
        if abandon {
            self.outgoing = None;
        }

        // Asynchronous work that finished meanwhile reports now.
        env.tree.poll_plugins(now);
        self.queue_alerts(env);
        if resend {
            for o in std::mem::take(&mut self.last_sent).into_iter().rev() {
                self.outbox.push_front(o);
            }
        }

        if msg.body.final_ {
            self.server_closed = true;
        } else if !self.our_open {
            self.server_closed = false;
        }
        if msg.body.final_ || had_commands || self.our_open || resend {
            self.idle = 0;
        } else {
            self.idle += 1;
            if self.idle > env.config.max_idle_messages {
                return self.violate(env, Violation::FinalMissing { count: self.idle }, now);
            }
        }
        let more = !self.outbox.is_empty() || self.outgoing.is_some() || !self.server_closed;
        if !more {
            return self.end(env, Outcome::Completed);
        }
        match self.send(env, now) {
            Ok(()) => true,
            Err(reason) => self.fail(env, reason, now),
        }
    }

    /// Checks the server's SyncHdr against the session.
    fn check_header(&self, env: &Env<'_>, msg: &SyncMl) -> Option<Violation> {
        let h = &msg.hdr;
        let count = msg.all_commands().count();
        if count > env.config.max_commands {
            return Some(Violation::TooManyCommands { max: env.config.max_commands });
        }
        if h.session_id.trim() != self.session_id {
            return Some(Violation::SessionIdChanged {
                expected: self.session_id.clone(),
                got: h.session_id.trim().to_owned(),
            });
        }
        if DmVersion::from_ver_dtd(&h.ver_dtd) != Some(self.version) {
            return Some(Violation::VersionMismatch {
                expected: self.version.ver_dtd(),
                got: h.ver_dtd.clone(),
            });
        }
        match self.server_msg_id {
            Some(last) if h.msg_id <= last => Some(Violation::MsgIdNotIncreasing { last, got: h.msg_id }),
            _ => None,
        }
    }

    /// Handles the server's Status for the client's SyncHdr; `Ok(true)` when the client must resend its
    /// last message with new credentials.
    fn client_status(
        &mut self,
        env: &mut Env<'_>,
        hs: &Status,
        trusted: bool,
        now: DmTime,
    ) -> Result<bool, FailReason> {
        match hs.code {
            StatusCode::AUTHENTICATION_ACCEPTED | StatusCode::OK => {
                if hs.code == StatusCode::AUTHENTICATION_ACCEPTED {
                    self.client.accepted = true;
                }
                if let Some(chal) = &hs.chal {
                    let nonce = self.client.challenge(chal);
                    self.store_nonce(env, AuthLevel::Client, nonce, trusted, now);
                }
                if !self.client_reported && self.client.has_credentials() {
                    self.client_reported = true;
                    env.out.push_back(Output::Event(Event::ClientAuthenticated { status: hs.code }));
                }
                Ok(false)
            }
            StatusCode::INVALID_CREDENTIALS | StatusCode::MISSING_CREDENTIALS => {
                self.client.rejections += 1;
                if !self.client.has_credentials() {
                    return Err(FailReason::NoClientCredentials);
                }
                if let Some(chal) = &hs.chal {
                    let nonce = self.client.challenge(chal);
                    self.store_nonce(env, AuthLevel::Client, nonce, trusted, now);
                }
                if !self.client.supported() || self.client.rejections > env.config.max_auth_attempts {
                    return Err(FailReason::ClientAuthentication { status: hs.code });
                }
                self.client.accepted = false;
                Ok(true)
            }
            other => Err(FailReason::Refused(other)),
        }
    }

    /// Stores a nonce the server gave (only when its message is authenticated, Security §5.1.3).
    fn store_nonce(
        &mut self,
        env: &mut Env<'_>,
        level: AuthLevel,
        nonce: Option<Vec<u8>>,
        trusted: bool,
        now: DmTime,
    ) {
        if let Some(n) = nonce.filter(|_| trusted) {
            // An account without credentials of this level has nowhere to keep it: nothing to do.
            let _ = dmacc::set_nonce(env.tree, &self.server_id, level, &n, now);
        }
    }

    /// Handles the server's Status for a command the client sent.
    fn command_status(&mut self, env: &mut Env<'_>, s: &Status) -> Result<(), FailReason> {
        let Some(i) = self.sent.iter().position(|(m, c, _)| *m == s.msg_ref && *c == s.cmd_ref) else {
            return Ok(());
        };
        let (_, _, tag) = self.sent.remove(i);
        let auth = matches!(s.code, StatusCode::INVALID_CREDENTIALS | StatusCode::MISSING_CREDENTIALS);
        match tag {
            Tag::Plain => Ok(()),
            Tag::SessionAlert if s.code.is_success() || auth => Ok(()),
            Tag::SessionAlert => Err(FailReason::Refused(s.code)),
            Tag::Generic(a) => {
                if auth {
                    return Ok(());
                }
                if let Some(j) = self.in_flight.iter().position(|x| *x == a) {
                    self.in_flight.remove(j);
                }
                let mut queue = env.tree.take_alerts();
                if let Some(j) = queue.iter().position(|x| *x == a) {
                    queue.remove(j);
                }
                for x in queue {
                    env.tree.queue_alert(x);
                }
                let correlator = a.correlator;
                let ev = if s.code.is_success() {
                    Event::AlertDelivered { correlator, status: s.code }
                } else {
                    Event::AlertRejected { correlator, status: s.code }
                };
                env.out.push_back(Output::Event(ev));
                Ok(())
            }
        }
    }

    /// Decides the Status for the server's SyncHdr from its credentials; returns its code.
    fn server_status(
        &mut self,
        env: &mut Env<'_>,
        check: ServerCheck,
        hdr: &SyncHdr,
        now: DmTime,
    ) -> Result<StatusCode, FailReason> {
        let mut fresh = || {
            let mut n = vec![0u8; NONCE_LEN];
            env.nonces.fill(&mut n);
            n
        };
        let hmac = self.server.scheme() == Some(&AuthType::Hmac);
        let (code, nonce) = match check {
            ServerCheck::NotRequired => (StatusCode::OK, None),
            ServerCheck::Accepted { first } => {
                let report = first || (hmac && !self.server.authenticated);
                if first {
                    self.server.authenticated = true;
                }
                if report {
                    self.server.authenticated = true;
                    env.out.push_back(Output::Event(Event::ServerAuthenticated));
                }
                match (first, hmac) {
                    (_, true) => (StatusCode::OK, Some(fresh())),
                    (true, false) if self.server.uses_nonce() => {
                        (StatusCode::AUTHENTICATION_ACCEPTED, Some(fresh()))
                    }
                    (true, false) => (StatusCode::AUTHENTICATION_ACCEPTED, None),
                    (false, false) => (StatusCode::OK, None),
                }
            }
            ServerCheck::Missing | ServerCheck::Invalid => {
                self.server.failures += 1;
                if self.server.failures > env.config.max_server_auth_failures {
                    return Err(FailReason::ServerAuthentication);
                }
                let code = if check == ServerCheck::Missing {
                    StatusCode::MISSING_CREDENTIALS
                } else {
                    StatusCode::INVALID_CREDENTIALS
                };
                (code, self.server.uses_nonce().then(&mut fresh))
            }
        };
        if let Some(n) = &nonce {
            self.server.set_nonce(n);
            let _ = dmacc::set_nonce(env.tree, &self.server_id, AuthLevel::Server, n, now);
        }
        let mut status = Status::for_header(0, hdr, code);
        let challenge = !matches!(check, ServerCheck::NotRequired) && (nonce.is_some() || !code.is_success());
        if challenge {
            status.chal = self.server.chal(nonce.as_deref());
        }
        self.header_status = Some(status);
        Ok(code)
    }

    /// Queues a Generic Alert for every alert in the tree's queue not yet sent in this session (DM 1.2
    /// only: DM 1.1 has no Generic Alert).
    fn queue_alerts(&mut self, env: &mut Env<'_>) {
        if self.version != DmVersion::V1_2 {
            return;
        }
        let mut pending = self.in_flight.clone();
        for a in env.tree.alerts() {
            if let Some(i) = pending.iter().position(|p| p == a) {
                pending.remove(i);
                continue;
            }
            let (format, data) = wire_data(a.format, &a.data);
            let item = Item::generic_alert(
                a.source_uri.as_deref(),
                a.alert_type.clone(),
                format,
                a.mark.map(crate::tree::Mark::as_str),
                data,
            );
            let cmd = Command::Alert(Alert::generic(0, a.correlator.clone(), vec![item]));
            self.outbox.push_back(Out { cmd, tag: Tag::Generic(a.clone()) });
            self.in_flight.push(a.clone());
        }
    }

    // ----- sending ------------------------------------------------------------------------------------

    fn header(&self, config: &ClientConfig) -> SyncHdr {
        let mut h = SyncHdr::new(
            self.version,
            self.session_id.clone(),
            self.msg_id,
            self.server_uri.clone(),
            self.dev_id.clone(),
        )
        .with_max_msg_size(config.max_msg_size)
        .with_max_obj_size(config.max_obj_size);
        if let Some(u) = self.client.user() {
            h = h.with_source_name(u);
        }
        if let Some(c) = self.client.cred() {
            h = h.with_cred(c);
        }
        h
    }

    /// Encodes `msg`, falling back to the RTK flavour when the server's dialect cannot write it (libwbxml
    /// has no way to write binary data).
    fn encode(&mut self, msg: &SyncMl) -> Result<Vec<u8>, FailReason> {
        match msg.encode(&self.wire) {
            Err(ModelError::Unsupported(_)) if self.wire.profile.flavor == Flavor::Libwbxml => {
                self.wire.profile =
                    m2msim_codec::syncml::tree::Profile { flavor: Flavor::Rtk, ..self.wire.profile };
                msg.encode(&self.wire).map_err(FailReason::Encode)
            }
            r => r.map_err(FailReason::Encode),
        }
    }

    /// Packs the next message and hands it to the caller.
    fn send(&mut self, env: &mut Env<'_>, now: DmTime) -> Result<(), FailReason> {
        let (msg, packed) = self.pack(env.config)?;
        let body = self.encode(&msg)?;
        let hmac = self.client.hmac(&body);
        for o in &packed {
            if o.tag != Tag::Plain {
                self.sent.push((self.msg_id, o.cmd.cmd_id().unwrap_or(0), o.tag.clone()));
            }
        }
        self.last_sent = packed;
        env.out.push_back(Output::Transmit(Transmit {
            uri: self.send_uri.clone(),
            body,
            content_type: self.wire.encoding.content_type(),
            hmac,
            msg_id: self.msg_id,
            expects_reply: true,
        }));
        self.deadline = env.config.response_timeout.map(|t| DmTime(now.0.saturating_add(t)));
        Ok(())
    }

    /// Fills the next message from the SyncHdr Status, the outbox and the object being chunked, within
    /// the server's MaxMsgSize. Returns the message and the commands taken from the outbox (with their
    /// CmdIDs).
    fn pack(&mut self, config: &ClientConfig) -> Result<(SyncMl, Vec<Out>), FailReason> {
        self.msg_id += 1;
        let wire = self.wire;
        let mut msg = SyncMl::new(self.header(config));
        let mut cmd_id = 1u32;
        if let Some(mut hs) = self.header_status.take() {
            hs.cmd_id = cmd_id;
            cmd_id += 1;
            msg.body.commands.push(Command::Status(hs));
        }
        let limit = self.server_max_msg.map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX));
        let base = msg.encoded_len(&wire).map_err(FailReason::Encode)?;
        // Room for an Alert 1222 and for CmdIDs growing by a digit; with a string table the measures are
        // estimates, so keep a margin.
        let mut reserve = msg
            .command_len(&Command::Alert(Alert::next_message(cmd_id)), &wire)
            .map_err(FailReason::Encode)?
            + 16;
        if wire.profile.string_table {
            reserve += limit.min(1 << 20) / 16;
        }
        let mut used = base;
        let mut packed: Vec<Out> = Vec::new();
        let mut chunked: Option<(Option<u32>, usize)> = None;
        let room_error = || FailReason::MessageRoom { max_msg_size: self.server_max_msg.unwrap_or(0) };
        loop {
            if let Some(obj) = self.outgoing.as_mut() {
                let room = limit.saturating_sub(used + reserve);
                let n = best_chunk(&msg, obj, room, cmd_id, &wire)?;
                if n == 0 {
                    if packed.is_empty() {
                        return Err(room_error());
                    }
                    break;
                }
                let mut r = obj.chunk(n);
                r.cmd_id = cmd_id;
                let cmd = Command::Results(r);
                used += msg.command_len(&cmd, &wire).map_err(FailReason::Encode)?;
                msg.body.commands.push(cmd.clone());
                packed.push(Out::plain(cmd));
                cmd_id += 1;
                obj.advance(n);
                chunked = Some((Some(cmd_id - 1), n));
                if obj.remaining() > 0 {
                    break;
                }
                self.outgoing = None;
                continue;
            }
            let Some(front) = self.outbox.front() else { break };
            let mut cmd = front.cmd.clone();
            cmd.set_cmd_id(cmd_id);
            let len = msg.command_len(&cmd, &wire).map_err(FailReason::Encode)?;
            if used + len + reserve <= limit {
                if let Some(mut o) = self.outbox.pop_front() {
                    o.cmd = cmd.clone();
                    packed.push(o);
                }
                msg.body.commands.push(cmd);
                used += len;
                cmd_id += 1;
                continue;
            }
            let alone_fits = base + len + reserve <= limit;
            if alone_fits && !packed.is_empty() {
                break; // next message
            }
            let Command::Results(r) = cmd else {
                if packed.is_empty() {
                    return Err(room_error());
                }
                break;
            };
            if r.items.len() > 1 {
                // Split by items: as many as fit here, at least one.
                let mut k = r.items.len() - 1;
                while k > 1 {
                    let part = Command::Results(m2msim_codec::syncml::Results {
                        items: r.items[..k].to_vec(),
                        ..r.clone()
                    });
                    if used + msg.command_len(&part, &wire).map_err(FailReason::Encode)? + reserve <= limit {
                        break;
                    }
                    k = k * 3 / 4;
                }
                let k = k.max(1);
                let head = m2msim_codec::syncml::Results { items: r.items[..k].to_vec(), ..r.clone() };
                let tail = m2msim_codec::syncml::Results { items: r.items[k..].to_vec(), ..r };
                self.outbox.pop_front();
                self.outbox.push_front(Out::plain(Command::Results(tail)));
                self.outbox.push_front(Out::plain(Command::Results(head)));
                continue;
            }
            let raw_bin = wire.encoding == m2msim_codec::syncml::Encoding::Wbxml;
            match OutgoingObject::new(r, raw_bin) {
                Some(obj) if !alone_fits => {
                    self.outbox.pop_front();
                    self.outgoing = Some(obj);
                }
                _ => {
                    if packed.is_empty() {
                        return Err(room_error());
                    }
                    break;
                }
            }
        }
        // With a string table the sizes were estimates: check, and give back what does not fit.
        while wire.profile.string_table
            && msg.encoded_len(&wire).map_err(FailReason::Encode)? + reserve > limit
            && !packed.is_empty()
        {
            let Some(last) = packed.pop() else { break };
            if let Some(pos) = msg.body.commands.iter().rposition(|c| c.cmd_id() == last.cmd.cmd_id()) {
                msg.body.commands.remove(pos);
            }
            let chunk = chunked.filter(|(id, _)| *id == last.cmd.cmd_id()).map(|(_, n)| n);
            if chunk.is_some() {
                chunked = None;
            }
            match (chunk, &last.cmd) {
                (Some(n), Command::Results(_)) if self.outgoing.is_some() => {
                    if let Some(o) = self.outgoing.as_mut() {
                        o.retreat(n);
                    }
                }
                // The last chunk of an object: it goes again as a plain Results.
                (Some(_), Command::Results(r)) => {
                    self.outbox.push_front(Out::plain(Command::Results(r.clone())))
                }
                _ => self.outbox.push_front(last),
            }
        }
        let open = !self.outbox.is_empty() || self.outgoing.is_some();
        let final_ = !open && self.server_closed;
        if !final_ && !open {
            msg.body.commands.push(Command::Alert(Alert::next_message(cmd_id)));
        }
        msg.body.final_ = final_;
        self.our_open = !self.outbox.is_empty() || self.outgoing.is_some();
        Ok((msg, packed))
    }

    // ----- ending -------------------------------------------------------------------------------------

    fn end(&mut self, env: &mut Env<'_>, outcome: Outcome) -> bool {
        self.deadline = None;
        env.out.push_back(Output::Ended { outcome });
        false
    }

    fn violate(&mut self, env: &mut Env<'_>, v: Violation, now: DmTime) -> bool {
        self.fail(env, FailReason::Protocol(v), now)
    }

    /// Ends the session after sending a Session Abort.
    pub fn fail(&mut self, env: &mut Env<'_>, reason: FailReason, now: DmTime) -> bool {
        self.send_abort(env, now);
        self.end(env, Outcome::Failed(reason))
    }

    /// Ends the session without a message (the transport is gone).
    pub fn fail_quietly(&mut self, env: &mut Env<'_>, reason: FailReason, _now: DmTime) {
        self.end(env, Outcome::Failed(reason));
    }

    /// The device aborts: Session Abort, then the end.
    pub fn abort(&mut self, env: &mut Env<'_>, now: DmTime) {
        self.send_abort(env, now);
        self.end(env, Outcome::AbortedByClient);
    }

    /// Sends Alert 1223 (Protocol §2.3.1: with Final), preceded by the SyncHdr Status when one is due.
    fn send_abort(&mut self, env: &mut Env<'_>, _now: DmTime) {
        self.msg_id += 1;
        let mut msg = SyncMl::new(self.header(env.config));
        let mut cmd_id = 1;
        if let Some(mut hs) = self.header_status.take() {
            hs.cmd_id = cmd_id;
            cmd_id += 1;
            msg.body.commands.push(Command::Status(hs));
        }
        msg.body.commands.push(Command::Alert(Alert::session_abort(cmd_id)));
        if let Ok(body) = self.encode(&msg) {
            let hmac = self.client.hmac(&body);
            env.out.push_back(Output::Transmit(Transmit {
                uri: self.send_uri.clone(),
                body,
                content_type: self.wire.encoding.content_type(),
                hmac,
                msg_id: self.msg_id,
                expects_reply: false,
            }));
        }
    }
}

/// The largest number of data bytes of `obj` whose chunk fits in `room` bytes of `msg`.
fn best_chunk(
    msg: &SyncMl,
    obj: &OutgoingObject,
    room: usize,
    cmd_id: u32,
    wire: &Wire,
) -> Result<usize, FailReason> {
    let len = |n: usize| {
        let mut r = obj.chunk(n);
        r.cmd_id = cmd_id;
        msg.command_len(&Command::Results(r), wire).map_err(FailReason::Encode)
    };
    let overhead = len(0)?;
    if room <= overhead {
        return Ok(0);
    }
    let avail = room - overhead;
    let mut n = obj.fit(if obj.expands() { avail / 4 * 3 } else { avail.saturating_sub(8) });
    while n > 0 {
        let l = len(n)?;
        if l <= room {
            return Ok(n);
        }
        let over = l - room;
        n = obj.fit(n.saturating_sub(over.max(n / 16).max(1)));
    }
    Ok(0)
}

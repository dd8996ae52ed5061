//! Provisioning the client: a DM account from a file, or a plain-profile bootstrap message applied to the
//! tree (OMA DM 1.2.1 Bootstrap §5.3).
//!
//! Main items: [`AccountFile`] (a JSON file: the account and, optionally, the device's DevInfo),
//! [`apply_bootstrap`], [`apply_bootstrap_with`] and its [`BootstrapPolicy`], and [`BootstrapError`].
//!
//! A plain-profile bootstrap is a SyncML DM message (XML or WBXML) whose Add and Replace commands create
//! the account (`./DMAcc/<x>/…` or `./SyncML/DMAcc/<x>/…`). Decisions: the commands run as server commands
//! (ACL and DDF checks apply) in the name of the ServerID the message installs (the value of the first item
//! whose target ends in `/ServerID` or `/ServerId`), so the interior nodes it adds grant that server
//! Add/Delete/Get/Replace (TND §8.3.7.1.3); an Atomic or Sequence in it is entered (an Atomic rolls back
//! when one of its commands fails); every other command is refused. The SyncHdr and its credentials are
//! not checked: how the message arrived (a smart card, the factory, a WAP push over a secured bearer)
//! vouches for it, as the plain profile intends.
//!
//! A [`BootstrapPolicy`] narrows what a message may do, for a bootstrap whose sender is trusted only for
//! some subtrees (TR 33.812 S3-090905 step 10: the DRF's bootstrap may create the DPF's account and the
//! `./M2MSIMMobj/Boot` nodes, nothing else). Its checks run over the whole message before anything is
//! written, and a message that fails one is refused whole. With [`BootstrapWrites::Local`] the commands are
//! device-side writes (no ACL and no DDF access-type checks: `Boot` is Get-only to DM servers, so only a
//! bootstrap can write it; the caller has authenticated the message, e.g. by its K_boot MAC), `b64` and
//! `bin` data are stored as raw bytes with Format `bin` (what `AAuthData` holds), and each account written
//! is then written again through [`DmAccount::write`], which gives its ServerID Add/Delete/Get/Replace on
//! it and names its AppAuth entries by level.

use m2msim_codec::dm::ddf::Format;
use m2msim_codec::syncml::model::effective_format;
use m2msim_codec::syncml::{Command, Data, ItemCommand, StatusCode, SyncMl};
use m2msim_codec::xml::Mode;
use serde::{Deserialize, Serialize};

use crate::mo::devinfo::DevInfo;
use crate::mo::dmacc::{self, DmAccount};
use crate::session::process::item_value;
use crate::tree::{CommandCtx, DmTime, DmTree};

/// A provisioning file (JSON): the device's DevInfo (used when a tree is created) and its DM account.
///
/// Secrets and nonces are hex (`"secret": "646576707764"` is `devpw`), as [`dmacc::Secret`] serialises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountFile {
    /// DevInfo values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev_info: Option<DevInfo>,
    /// The account.
    pub account: DmAccount,
}

impl AccountFile {
    /// Writes the account into `tree` (registering the DMAcc MO of its layout if needed).
    ///
    /// # Errors
    /// The tree's [`StatusCode`] when it refuses a node.
    pub fn apply(&self, tree: &mut DmTree, now: DmTime) -> Result<(), StatusCode> {
        if let Some(info) = &self.dev_info
            && DevInfo::read(tree).is_none()
        {
            info.install(tree, now)?;
        }
        if tree.node(self.account.layout.root()).is_none()
            || !tree.mo_roots().any(|r| format!("./{r}") == self.account.layout.root())
        {
            dmacc::install(tree, self.account.layout, now)?;
        }
        self.account.write(tree, now)
    }
}

/// Why a bootstrap message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BootstrapError {
    /// It does not decode as a SyncML message.
    #[error("not a SyncML DM message: {0}")]
    Malformed(#[from] m2msim_codec::syncml::ModelError),
    /// A command failed (`cmd` is its name, `target` its first item's target).
    #[error("{cmd} {target}: {status}")]
    Command {
        /// The command.
        cmd: &'static str,
        /// Its target.
        target: String,
        /// The tree's status.
        status: StatusCode,
    },
    /// It installs no account.
    #[error("the message installs no DM account")]
    NoAccount,
    /// The policy does not allow this command (with [`BootstrapPolicy::adds_only`]: anything but Add).
    #[error("{0} is not allowed in this bootstrap")]
    NotAllowed(&'static str),
    /// A target outside the policy's [`BootstrapPolicy::allowed_roots`] (or with `.`/`..` segments or a
    /// query).
    #[error("{0}: outside the subtrees this bootstrap may write")]
    OutsideScope(String),
}

/// How the commands of a bootstrap are written (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BootstrapWrites {
    /// As server commands in the name of the ServerID the message installs (ACL and DDF checks apply).
    #[default]
    AsServer,
    /// As device-side writes (no ACL, no DDF access types), each account then rewritten with its ACL.
    Local,
}

/// What a bootstrap message may do; the default allows what [`apply_bootstrap`] allows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BootstrapPolicy {
    /// Only `Add` commands (no Replace, no Atomic or Sequence, not even a Status).
    pub adds_only: bool,
    /// The subtrees the message may write: a target must be one of them or below one (`./DMAcc` allows
    /// `./DMAcc/x/ServerID`); empty: anywhere.
    pub allowed_roots: Vec<String>,
    /// How the commands are written.
    pub writes: BootstrapWrites,
}

impl BootstrapPolicy {
    /// Adds only, under `roots` only, written as device-side writes (the S3-090905 DRF bootstrap:
    /// `./DMAcc` and `./M2MSIMMobj/Boot`).
    #[must_use]
    pub fn restricted<I, S>(roots: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            adds_only: true,
            allowed_roots: roots.into_iter().map(Into::into).collect(),
            writes: BootstrapWrites::Local,
        }
    }

    /// True when the policy lets the message write `uri`. Decision: a URI with an empty, `.` or `..`
    /// segment or a `?` query is refused whenever roots are set (it could name a node outside them);
    /// a leading `./` is optional on both sides.
    #[must_use]
    pub fn allows(&self, uri: &str) -> bool {
        if self.allowed_roots.is_empty() {
            return true;
        }
        let bare = |u: &str| u.strip_prefix("./").unwrap_or(u).trim_end_matches('/').to_owned();
        let u = bare(uri);
        if u.contains('?') || u.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..") {
            return false;
        }
        self.allowed_roots
            .iter()
            .map(|r| bare(r))
            .any(|r| u == r || u.strip_prefix(r.as_str()).is_some_and(|rest| rest.starts_with('/')))
    }

    /// Checks every command of the message against the policy (nothing is written).
    fn check(&self, commands: &[Command]) -> Result<(), BootstrapError> {
        for c in commands {
            match c {
                Command::Add(ic) => self.check_targets(ic)?,
                Command::Replace(ic) if !self.adds_only => self.check_targets(ic)?,
                Command::Atomic(g) | Command::Sequence(g) if !self.adds_only => self.check(&g.commands)?,
                Command::Status(_) | Command::Results(_) if !self.adds_only => {}
                other if self.adds_only || !self.allowed_roots.is_empty() => {
                    return Err(BootstrapError::NotAllowed(command_name(other)));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn check_targets(&self, ic: &ItemCommand) -> Result<(), BootstrapError> {
        for item in &ic.items {
            let target = item.target_uri().unwrap_or_default();
            if !self.allows(target) {
                return Err(BootstrapError::OutsideScope(target.to_owned()));
            }
        }
        Ok(())
    }
}

/// Applies a plain-profile bootstrap message (XML or WBXML) to `tree`; returns the accounts it installed.
/// The tree is changed only when every command succeeds (the whole message runs as one Atomic).
///
/// # Errors
/// [`BootstrapError`]; the tree is then unchanged.
pub fn apply_bootstrap(
    tree: &mut DmTree,
    message: &[u8],
    now: DmTime,
) -> Result<Vec<DmAccount>, BootstrapError> {
    apply_bootstrap_with(tree, message, now, &BootstrapPolicy::default())
}

/// [`apply_bootstrap`] under `policy` (see the module docs): the policy's checks run over the whole
/// message first.
///
/// # Errors
/// [`BootstrapError`]; the tree is then unchanged.
pub fn apply_bootstrap_with(
    tree: &mut DmTree,
    message: &[u8],
    now: DmTime,
    policy: &BootstrapPolicy,
) -> Result<Vec<DmAccount>, BootstrapError> {
    let msg = SyncMl::decode(message, Mode::Lenient)?.message;
    policy.check(&msg.body.commands)?;
    let server_id = find_server_id(&msg.body.commands).unwrap_or_else(|| "bootstrap".to_owned());
    let before: Vec<String> = DmAccount::all(tree).into_iter().map(|a| a.uri()).collect();
    for layout in [dmacc::Layout::Dm12, dmacc::Layout::Dm11] {
        if !tree.mo_roots().any(|r| format!("./{r}") == layout.root())
            && mentions(&msg.body.commands, layout.root())
        {
            dmacc::install(tree, layout, now).map_err(|status| BootstrapError::Command {
                cmd: "install",
                target: layout.root().to_owned(),
                status,
            })?;
        }
    }
    let ctx = CommandCtx { server_id: &server_id, now };
    let in_atomic = tree.in_atomic();
    if !in_atomic {
        tree.begin_atomic().map_err(|status| BootstrapError::Command {
            cmd: "Atomic",
            target: String::new(),
            status,
        })?;
    }
    let mut r = run(tree, &ctx, policy.writes, &msg.body.commands);
    if r.is_ok() && policy.writes == BootstrapWrites::Local {
        r = rewrite_accounts(tree, now, &before);
    }
    // Decided before the commit, so that a message installing no account leaves the tree unchanged too.
    let result = r.and_then(|()| {
        let all = DmAccount::all(tree);
        let added: Vec<DmAccount> = all.iter().filter(|a| !before.contains(&a.uri())).cloned().collect();
        match (added.is_empty(), all.is_empty()) {
            (_, true) => Err(BootstrapError::NoAccount),
            (true, false) => Ok(all),
            (false, false) => Ok(added),
        }
    });
    if !in_atomic {
        match &result {
            Ok(_) => {
                let _ = tree.commit();
            }
            Err(_) => {
                let _ = tree.rollback();
            }
        }
    }
    result
}

/// Writes every account the message created again through [`DmAccount::write`] (its ACL and AppAuth
/// names; a device-side write sets no ACL). An account missing its ServerID or address does not read back
/// and is left as written: [`BootstrapError::NoAccount`] follows when no account is complete.
fn rewrite_accounts(tree: &mut DmTree, now: DmTime, before: &[String]) -> Result<(), BootstrapError> {
    for acc in DmAccount::all(tree).into_iter().filter(|a| !before.contains(&a.uri())) {
        acc.write(tree, now).map_err(|status| BootstrapError::Command {
            cmd: "Add",
            target: acc.uri(),
            status,
        })?;
    }
    Ok(())
}

fn run(
    tree: &mut DmTree,
    ctx: &CommandCtx<'_>,
    writes: BootstrapWrites,
    commands: &[Command],
) -> Result<(), BootstrapError> {
    for c in commands {
        match (c, writes) {
            (Command::Add(ic), BootstrapWrites::AsServer) => each(tree, ctx, "Add", ic)?,
            (Command::Replace(ic), BootstrapWrites::AsServer) => each(tree, ctx, "Replace", ic)?,
            (Command::Add(ic), BootstrapWrites::Local) => each_local(tree, ctx.now, "Add", ic)?,
            (Command::Replace(ic), BootstrapWrites::Local) => each_local(tree, ctx.now, "Replace", ic)?,
            (Command::Atomic(g) | Command::Sequence(g), _) => run(tree, ctx, writes, &g.commands)?,
            (Command::Status(_) | Command::Results(_), _) => {}
            (other, _) => {
                return Err(BootstrapError::Command {
                    cmd: command_name(other),
                    target: String::new(),
                    status: StatusCode::COMMAND_NOT_ALLOWED,
                });
            }
        }
    }
    Ok(())
}

fn command_name(c: &Command) -> &'static str {
    match c {
        Command::Add(_) => "Add",
        Command::Alert(_) => "Alert",
        Command::Atomic(_) => "Atomic",
        Command::Copy(_) => "Copy",
        Command::Delete(_) => "Delete",
        Command::Exec(_) => "Exec",
        Command::Get(_) => "Get",
        Command::Replace(_) => "Replace",
        Command::Results(_) => "Results",
        Command::Sequence(_) => "Sequence",
        Command::Status(_) => "Status",
        Command::Other(_) => "(other command)",
    }
}

fn each(
    tree: &mut DmTree,
    ctx: &CommandCtx<'_>,
    cmd: &'static str,
    ic: &ItemCommand,
) -> Result<(), BootstrapError> {
    for item in &ic.items {
        let target = item.target.as_ref().map(|t| t.loc_uri.clone()).unwrap_or_default();
        let fail = |status| BootstrapError::Command { cmd, target: target.clone(), status };
        let meta = item.meta.as_ref().or(ic.meta.as_ref());
        let value = item_value(
            meta.and_then(|m| m.format.as_deref()),
            meta.and_then(|m| m.type_.as_deref()),
            item.data.as_ref(),
        )
        .map_err(fail)?;
        let r =
            if cmd == "Add" { tree.add(ctx, &target, &value) } else { tree.replace(ctx, &target, &value) };
        r.map_err(fail)?;
    }
    Ok(())
}

/// A device-side write of each item (see the module docs).
fn each_local(
    tree: &mut DmTree,
    now: DmTime,
    cmd: &'static str,
    ic: &ItemCommand,
) -> Result<(), BootstrapError> {
    for item in &ic.items {
        let target = item.target_uri().unwrap_or_default().to_owned();
        let fail = |status| BootstrapError::Command { cmd, target: target.clone(), status };
        let format = effective_format(item.meta.as_ref(), ic.meta.as_ref()).unwrap_or("chr");
        let format = Format::parse(format).ok_or_else(|| fail(StatusCode::UNSUPPORTED_MEDIA_TYPE))?;
        let mut l = tree.local(now);
        let r = match (format, &item.data) {
            (Format::Node, _) => l.ensure_interior(&target),
            (Format::B64 | Format::Bin, Some(Data::Bytes(b))) => l.set_value(&target, b.clone(), Format::Bin),
            (f, Some(Data::Text(t))) => l.set_value(&target, t.as_bytes().to_vec(), f),
            (f, None) => l.set_value(&target, Vec::new(), f),
            _ => Err(StatusCode::UNSUPPORTED_MEDIA_TYPE),
        };
        r.map_err(fail)?;
    }
    Ok(())
}

fn items(commands: &[Command]) -> Vec<&m2msim_codec::syncml::Item> {
    let mut out = Vec::new();
    for c in commands {
        match c {
            Command::Add(ic) | Command::Replace(ic) => out.extend(ic.items.iter()),
            Command::Atomic(g) | Command::Sequence(g) => out.extend(items(&g.commands)),
            _ => {}
        }
    }
    out
}

fn find_server_id(commands: &[Command]) -> Option<String> {
    items(commands).into_iter().find_map(|i| {
        let t = &i.target.as_ref()?.loc_uri;
        if t.ends_with("/ServerID") || t.ends_with("/ServerId") {
            i.data.as_ref().and_then(|d| d.as_text()).map(|s| s.trim().to_owned())
        } else {
            None
        }
    })
}

fn mentions(commands: &[Command], root: &str) -> bool {
    let bare = root.trim_start_matches("./");
    items(commands).into_iter().any(|i| {
        i.target.as_ref().is_some_and(|t| {
            let u = t.loc_uri.trim_start_matches("./");
            u == bare || u.starts_with(&format!("{bare}/"))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mo::dmacc::Layout;
    use m2msim_codec::syncml::tree::Profile;
    use m2msim_codec::syncml::{DmVersion, Item, Meta, SyncBody, SyncHdr};

    const BOOT: &str = "./M2MSIMMobj/Boot";

    fn message_of(commands: Vec<Command>) -> Vec<u8> {
        let msg = SyncMl {
            hdr: SyncHdr::new(DmVersion::V1_2, "0", 1, "pcid", "drf"),
            body: SyncBody { commands, final_: true, ..SyncBody::default() },
            extra: Vec::new(),
        };
        msg.to_xml(&Profile::rtk()).unwrap().into_bytes()
    }

    fn add(i: usize, uri: &str, data: Option<Data>, fmt: &str) -> Command {
        let mut item = Item::default().with_target(uri);
        if let Some(d) = data {
            item = item.with_data(d);
        }
        let meta = Meta { format: Some(fmt.to_owned()), ..Meta::default() };
        Command::Add(ItemCommand::new(i as u32 + 1).with_item(item.with_meta(meta)))
    }

    fn message(adds: &[(&str, Option<Data>, &str)]) -> Vec<u8> {
        message_of(adds.iter().enumerate().map(|(i, (u, d, f))| add(i, u, d.clone(), f)).collect())
    }

    fn tree() -> DmTree {
        let mut t = DmTree::default();
        dmacc::install(&mut t, Layout::Dm12, DmTime(1)).unwrap();
        t
    }

    fn policy() -> BootstrapPolicy {
        BootstrapPolicy::restricted(["./DMAcc", BOOT])
    }

    fn apply(t: &mut DmTree, m: &[u8]) -> Result<Vec<DmAccount>, BootstrapError> {
        apply_bootstrap_with(t, m, DmTime(2), &policy())
    }

    fn account() -> Vec<(&'static str, Option<Data>, &'static str)> {
        vec![
            ("./DMAcc/DPF", None, "node"),
            ("./DMAcc/DPF/ServerID", Some("dpf.example".into()), "chr"),
            ("./DMAcc/DPF/AppAddr/1/Addr", Some("https://dpf.example/dm".into()), "chr"),
        ]
    }

    #[test]
    fn restricted_bootstrap_writes_the_account_with_its_acl_and_the_boot_nodes() {
        let mut adds = account();
        adds.extend([
            ("./DMAcc/DPF/AppAuth/1/AAuthLevel", Some("CLCRED".into()), "chr"),
            ("./DMAcc/DPF/AppAuth/1/AAuthType", Some("DIGEST".into()), "chr"),
            ("./DMAcc/DPF/AppAuth/1/AAuthName", Some("m2me".into()), "chr"),
            ("./DMAcc/DPF/AppAuth/1/AAuthSecret", Some("pw".into()), "chr"),
            ("./DMAcc/DPF/AppAuth/1/AAuthData", Some(Data::Bytes(vec![0, 1, 0xFF])), "b64"),
            ("./M2MSIMMobj/Boot/PCID", Some("001010000000001".into()), "chr"),
        ]);
        let mut t = tree();
        let accounts = apply(&mut t, &message(&adds)).unwrap();
        assert_eq!(accounts.len(), 1);
        let acc = &accounts[0];
        assert_eq!(acc.server_id, "dpf.example");
        let c = acc.client.as_ref().unwrap();
        assert_eq!(
            (c.name.as_str(), c.secret.expose(), c.nonce.as_slice()),
            ("m2me", &b"pw"[..], &[0, 1, 0xFF][..])
        );
        assert_eq!(t.text("./M2MSIMMobj/Boot/PCID"), Some("001010000000001"));
        let found = DmAccount::find(&t, "dpf.example").unwrap();
        assert_eq!(found.client, acc.client);
        // The account's ServerID may manage it (DmAccount::write's ACL); nobody else.
        let acl = t.node("./DMAcc/DPF").unwrap().props.acl.to_string();
        assert!(acl.contains("Replace=dpf.example"), "{acl}");
    }

    #[test]
    fn refuses_writes_outside_its_roots_whole() {
        let mut adds = account();
        adds.push(("./DevInfo/Man", Some("evil".into()), "chr"));
        let mut t = tree();
        assert_eq!(apply(&mut t, &message(&adds)), Err(BootstrapError::OutsideScope("./DevInfo/Man".into())));
        assert!(t.node("./DMAcc/DPF").is_none(), "nothing applied");
        for uri in
            ["./DMAcc/../DevInfo", "./M2MSIMMobj/Bootx", "./DMAcc/./x", "./DMAcc//x", "./DMAcc/x?list=Struct"]
        {
            let m = message(&[(uri, None, "node")]);
            assert_eq!(apply(&mut t, &m), Err(BootstrapError::OutsideScope(uri.into())), "{uri}");
        }
        // The same message without a policy is the default bootstrap's business (not refused by scope).
        assert!(BootstrapPolicy::default().allows("./DevInfo/Man"));
        assert!(policy().allows("DMAcc/DPF") && policy().allows(BOOT) && !policy().allows("./M2MSIMMobj"));
    }

    #[test]
    fn refuses_commands_other_than_add_before_writing() {
        let mut cmds: Vec<Command> =
            account().iter().enumerate().map(|(i, (u, d, f))| add(i, u, d.clone(), f)).collect();
        let replace = Item::default().with_target("./DMAcc/DPF/Name").with_data(Data::from("x"));
        cmds.push(Command::Replace(ItemCommand::new(9).with_item(replace)));
        let mut t = tree();
        assert_eq!(apply(&mut t, &message_of(cmds.clone())), Err(BootstrapError::NotAllowed("Replace")));
        assert!(t.node("./DMAcc/DPF").is_none(), "nothing applied");
        cmds.pop();
        cmds.push(Command::Delete(ItemCommand::new(9).with_item(Item::default().with_target("./DMAcc"))));
        assert_eq!(apply(&mut t, &message_of(cmds)), Err(BootstrapError::NotAllowed("Delete")));
        assert!(t.node("./DMAcc/DPF").is_none(), "nothing applied");
    }

    #[test]
    fn refuses_garbage_bad_formats_and_accountless_messages_leaving_the_tree_unchanged() {
        let mut t = tree();
        assert!(matches!(apply(&mut t, b"<SyncML>"), Err(BootstrapError::Malformed(_))));
        let bad_value = |fmt: &str| {
            let mut adds = account();
            adds.push(("./DMAcc/DPF/AAuthPref", Some("x".into()), fmt));
            message(&adds)
        };
        for fmt in ["int", "nonsense"] {
            let e = apply(&mut t, &bad_value(fmt)).unwrap_err();
            assert!(
                matches!(&e, BootstrapError::Command { target, status, .. }
                    if target == "./DMAcc/DPF/AAuthPref" && *status == StatusCode::UNSUPPORTED_MEDIA_TYPE),
                "{fmt}: {e:?}"
            );
            assert!(t.node("./DMAcc/DPF").is_none(), "rolled back");
        }
        let m = message(&[("./M2MSIMMobj/Boot/PCID", Some("1".into()), "chr")]);
        assert_eq!(apply(&mut t, &m), Err(BootstrapError::NoAccount));
        assert!(t.node("./M2MSIMMobj/Boot/PCID").is_none(), "nothing applied");
        let m = message(&[("./DMAcc/DPF/ServerID", Some("x".into()), "chr")]);
        assert_eq!(apply(&mut t, &m), Err(BootstrapError::NoAccount), "no address");
        assert!(t.node("./DMAcc/DPF").is_none(), "nothing applied");
    }

    #[test]
    fn default_policy_runs_as_server_commands() {
        let mut t = tree();
        let accounts = apply_bootstrap(&mut t, &message(&account()), DmTime(2)).unwrap();
        assert_eq!(accounts[0].server_id, "dpf.example");
        // A Replace is allowed without a policy, and nothing is refused for its scope.
        let replace =
            Item::default().with_target("./DMAcc/DPF/ServerID").with_data(Data::from("dpf.example"));
        let m = message_of(vec![Command::Replace(ItemCommand::new(1).with_item(replace))]);
        assert_eq!(apply_bootstrap(&mut t, &m, DmTime(3)).unwrap()[0].server_id, "dpf.example");
    }
}

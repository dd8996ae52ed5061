//! Provisioning the client: a DM account from a file, or a plain-profile bootstrap message applied to the
//! tree (OMA DM 1.2.1 Bootstrap §5.3).
//!
//! Main items: [`AccountFile`] (a JSON file: the account and, optionally, the device's DevInfo),
//! [`apply_bootstrap`] and [`BootstrapError`].
//!
//! A plain-profile bootstrap is a SyncML DM message (XML or WBXML) whose Add and Replace commands create
//! the account (`./DMAcc/<x>/…` or `./SyncML/DMAcc/<x>/…`). Decisions: the commands run as server commands
//! (ACL and DDF checks apply) in the name of the ServerID the message installs (the value of the first item
//! whose target ends in `/ServerID` or `/ServerId`), so the interior nodes it adds grant that server
//! Add/Delete/Get/Replace (TND §8.3.7.1.3); an Atomic or Sequence in it is entered (an Atomic rolls back
//! when one of its commands fails); every other command is refused. The SyncHdr and its credentials are
//! not checked: how the message arrived (a smart card, the factory, a WAP push over a secured bearer)
//! vouches for it, as the plain profile intends.

use m2msim_codec::syncml::{Command, ItemCommand, StatusCode, SyncMl};
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
    let msg = SyncMl::decode(message, Mode::Lenient)?.message;
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
    let r = run(tree, &ctx, &msg.body.commands);
    if !in_atomic {
        match &r {
            Ok(()) => {
                let _ = tree.commit();
            }
            Err(_) => {
                let _ = tree.rollback();
            }
        }
    }
    r?;
    let added: Vec<DmAccount> =
        DmAccount::all(tree).into_iter().filter(|a| !before.contains(&a.uri())).collect();
    if added.is_empty() && DmAccount::all(tree).is_empty() {
        return Err(BootstrapError::NoAccount);
    }
    Ok(if added.is_empty() { DmAccount::all(tree) } else { added })
}

fn run(tree: &mut DmTree, ctx: &CommandCtx<'_>, commands: &[Command]) -> Result<(), BootstrapError> {
    for c in commands {
        match c {
            Command::Add(ic) => each(tree, ctx, "Add", ic)?,
            Command::Replace(ic) => each(tree, ctx, "Replace", ic)?,
            Command::Atomic(g) | Command::Sequence(g) => run(tree, ctx, &g.commands)?,
            Command::Status(_) | Command::Results(_) => {}
            other => {
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

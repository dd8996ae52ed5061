//! Behaviour attached to management objects: [`MoPlugin`] (Exec handlers, computed values, a veto and a
//! notification on writes, a poll for asynchronous work) and the [`GenericAlert`]s that asynchronous work
//! reports in a later session (OMA DM 1.2.1 Protocol §2.3.7, RepPro Exec, FUMO §10.2.2.3 for the Correlator).
//!
//! A plugin is registered with the MO root it serves ([`super::DmTree::register_mo`]) and receives every
//! command on that root or below it (the deepest registered root wins). While a plugin runs it is taken out
//! of its slot, so it may use the tree freely (`&mut DmTree`); a command it issues on its own MO meanwhile
//! runs without the plugin. Plugins do no I/O and read no clock: the time is passed in.
//!
//! Asynchronous Exec: the plugin answers [`ExecOutcome::Accepted`] (the engine sends 202), keeps the
//! request's Correlator, and when the work is done (seen in [`MoPlugin::poll`], or when the application calls
//! [`super::DmTree::with_plugin`]) queues a [`GenericAlert`] carrying that Correlator with
//! [`super::DmTree::queue_alert`]. The engine takes the queued alerts at the start of the next session.

use m2msim_codec::dm::ddf::Format;
use m2msim_codec::syncml::codes::StatusCode;
use serde::{Deserialize, Serialize};

use super::node::DmTime;
use super::{DmTree, ResultItem};

/// An Exec command as a plugin sees it (RepPro Exec).
#[derive(Debug, Clone, Copy)]
pub struct ExecRequest<'a> {
    /// The normalised path of the executed node (`a/b`, no `./`).
    pub path: &'a str,
    /// The Server Identifier of the requesting server.
    pub server_id: &'a str,
    /// The Exec item's data (may be empty).
    pub data: &'a [u8],
    /// The Exec's `Correlator`, to echo in the Generic Alert that reports an asynchronous result (Protocol
    /// §2.3.7.1; a client MUST NOT invent one).
    pub correlator: Option<&'a str>,
    /// The current time.
    pub now: DmTime,
}

/// What an Exec did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecOutcome {
    /// Finished now with this status, and results to return (a Results item), if any.
    Done {
        /// The Exec's status (200 on success).
        status: StatusCode,
        /// Results to send back, if any.
        results: Option<ResultItem>,
    },
    /// Accepted for asynchronous processing (status 202); the result follows as a Generic Alert.
    Accepted,
}

impl ExecOutcome {
    /// The status code the engine answers the Exec with.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Done { status, .. } => *status,
            Self::Accepted => StatusCode::ACCEPTED,
        }
    }
}

/// The severity of a Generic Alert (Protocol §2.3.7.1 Meta `Mark`; absent = `informational`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// `fatal`
    Fatal,
    /// `critical`
    Critical,
    /// `minor`
    Minor,
    /// `warning`
    Warning,
    /// `informational` (the default)
    Informational,
    /// `harmless`
    Harmless,
    /// `indeterminate`
    Indeterminate,
}

impl Mark {
    /// The Meta `Mark` text.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Fatal => "fatal",
            Self::Critical => "critical",
            Self::Minor => "minor",
            Self::Warning => "warning",
            Self::Informational => "informational",
            Self::Harmless => "harmless",
            Self::Indeterminate => "indeterminate",
        }
    }
}

/// A Generic Alert (1226) queued for the next session (Protocol §2.3.7.1): `Alert/Data 1226`, the Exec's
/// `Correlator`, and one item with `Source/LocURI`, Meta `Type`, `Format`, `Mark` and `Data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenericAlert {
    /// `Item/Source/LocURI`: the node the alert is about (absolute, `./…`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_uri: Option<String>,
    /// Meta `Type`: the alert type (`Reversed-Domain-Name: org.…`, or e.g.
    /// `org.openmobilealliance.dm.firmwareupdate.update`).
    pub alert_type: String,
    /// Meta `Format` of the data.
    pub format: Format,
    /// Meta `Mark`, if not the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark: Option<Mark>,
    /// `Item/Data` (e.g. a FUMO result code).
    #[serde(with = "m2msim_codec::hexser")]
    pub data: Vec<u8>,
    /// The `Correlator` of the Exec this alert reports on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlator: Option<String>,
}

/// The kind of a write a plugin is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteKind {
    /// Add (a leaf with its value, or an interior node).
    Add,
    /// Replace of a leaf value.
    Replace,
    /// Delete of the node and its subtree.
    Delete,
    /// The node was created or replaced by a Copy.
    Copy,
    /// Replace of `?prop=Name`: the node moves to `new_path`.
    Rename,
    /// Replace of `?prop=ACL`.
    Acl,
    /// Replace of `?prop=Title`.
    Title,
}

/// A server write on a plugin's MO, as seen by [`MoPlugin::check_write`] (before) and [`MoPlugin::written`]
/// (after).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteEvent {
    /// What happens.
    pub kind: WriteKind,
    /// The normalised path of the target node.
    pub path: String,
    /// The new path (Rename only).
    pub new_path: Option<String>,
    /// The Server Identifier of the writing server.
    pub server_id: String,
    /// The new value (Add/Replace/Copy of a leaf, the new ACL text or Title).
    pub value: Option<Vec<u8>>,
    /// The time of the write.
    pub now: DmTime,
}

/// Behaviour of a management object (the FUMO / M2MSIMMobj kind of MO whose nodes do something).
///
/// Every method has a default that does nothing, so a plugin implements only what it needs.
pub trait MoPlugin: Send {
    /// Runs an Exec on a node of this MO (ACL and DDF checks have passed). Default: 405 Command not allowed.
    fn exec(&mut self, tree: &mut DmTree, req: &ExecRequest<'_>) -> ExecOutcome {
        let _ = (tree, req);
        ExecOutcome::Done { status: StatusCode::COMMAND_NOT_ALLOWED, results: None }
    }

    /// A computed value for the leaf at `path` (Get, `?list=StructData`, `?list=TNDS`, `?prop=Size`), or
    /// `None` to use the stored value.
    fn value(&mut self, tree: &DmTree, path: &str) -> Option<Vec<u8>> {
        let _ = (tree, path);
        None
    }

    /// Vetoes a write before it happens (all other checks have passed); the error status is the command's.
    ///
    /// # Errors
    /// The status to answer instead of performing the write.
    fn check_write(&mut self, tree: &DmTree, event: &WriteEvent) -> Result<(), StatusCode> {
        let _ = (tree, event);
        Ok(())
    }

    /// Told after a write. Inside an Atomic, notifications wait for the commit and are dropped on rollback.
    fn written(&mut self, tree: &mut DmTree, event: &WriteEvent) {
        let _ = (tree, event);
    }

    /// Gives the plugin a chance to finish asynchronous work (and queue Generic Alerts), called by
    /// [`DmTree::poll_plugins`].
    fn poll(&mut self, tree: &mut DmTree, now: DmTime) {
        let _ = (tree, now);
    }
}

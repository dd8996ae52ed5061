//! The client's OMA DM management tree (OMA DM 1.2.1 TND §8, RepPro Add/Replace/Delete/Copy/Get/Exec/Atomic):
//! nodes with run-time properties, ACLs, validation against DDF descriptions of the registered management
//! objects, plugins for MOs with behaviour, an undo journal for Atomic, and snapshots for a durable store.
//!
//! Main types: [`DmTree`], [`Node`], [`Acl`], [`DmUri`], [`MoPlugin`], [`GenericAlert`], [`TreeSnapshot`].
//! The tree works on URIs, bytes and [`StatusCode`]s; the SyncML message model and the session engine sit
//! above it. Every server command takes a [`CommandCtx`] (the authenticated Server Identifier, for the ACL,
//! and the current time, for TStamp: the tree reads no clock). Device-side writes (MO constructors, the
//! engine storing nonces, plugins) go through [`DmTree::local`], which skips ACL and DDF access checks.
//!
//! # Storage
//! Nodes live in one `BTreeMap<String, Node>` keyed by the normalised path without `./` (root = `""`), so a
//! subtree is a key range. Every mutation goes through one function that, while an Atomic is open, records
//! the previous value of the key in the undo journal.
//!
//! # Status codes (decided)
//! | status | outcome |
//! |---|---|
//! | 200 | success (Add too, as AOSP answers) |
//! | 202 | Exec accepted for asynchronous work |
//! | 400 | malformed URI (empty, `//`, trailing `/`, `.` or `..` inside, leading `/`); bad name in a rename |
//! | 404 | node (or Copy source) not found; Add whose missing parents the DDF does not let us create |
//! | 405 | see the list below |
//! | 406 | a node the DDF does not describe (no named child, no placeholder); unknown `?prop=`/`?list=`; |
//! |     | `?prop=Size` of an interior node (TND §8.3.2: MUST NOT) |
//! | 414 | URI limits (MaxDepth, MaxTotLen, MaxSegLen) exceeded |
//! | 415 | value not valid for the node's Format (or the DDF's); wrong Meta Type; malformed ACL text; |
//! |     | Title or Name not UTF-8 |
//! | 418 | Add (or Copy to) an existing node; occurrence maximum reached; rename onto an existing sibling |
//! | 420 | tree full (more than [`TreeLimits::max_nodes`] nodes) |
//! | 425 | the ACL denies |
//! | 500 | Atomic inside Atomic; commit or rollback with no Atomic open |
//!
//! 405 Command not allowed: the DDF access type disallows the command; Replace of an interior node's value;
//! Delete of a permanent node, of a subtree holding one, or of the root; Add or Copy under a leaf; Add or
//! Delete on `?prop=` / `?list=`; Replace of a read-only property (Format, Size, TStamp, Type, VerNo); rename
//! of a permanent node, the root, an MO root, or to a name the DDF describes differently; a root ACL that
//! drops `Add=*` or `Get=*`; Copy onto an existing interior node; Exec with no handler.
//!
//! Checks run broadly in this order, the first failure answers: URI (414, 400, 406) → existence (404 / 418)
//! and a leaf parent (405) → ACL (425) → DDF description (406) → DDF access type and structure (405) →
//! occurrence (418) → value (415) → size (420) → plugin veto (its status).
//!
//! # ACL (TND §8.3.7.1)
//! The effective ACL of a node is its own if it has a value, else the nearest ancestor's; the root always has
//! one, by default `Add=*&Get=*` (TND §8.3.7.1.2 SHOULD). Get, Replace, Delete and Exec need the command on
//! the node itself; Add needs Add on the parent (with implicit parents: on the nearest existing ancestor);
//! Copy needs Get on every node of the source subtree and Add on the target's parent (Replace on the target
//! when it exists). Replacing `?prop=ACL` needs Replace on the parent, or, for an interior node, Replace on
//! the node itself (TND §8.3.7.1.3: an interior node's ACL governs its own ACL, a leaf's does not; this
//! refines the simpler "parent only" rule); the root's ACL needs Replace on the root. Title and Name need
//! Replace on the node (the ACL covers "all properties"). Property Gets need Get on the node. An interior
//! node added by a server that lacks Replace on the parent gets
//! `Add=<srv>&Delete=<srv>&Get=<srv>&Replace=<srv>` (TND §8.3.7.1.3 names Add, Delete and Replace; decision:
//! Get too, because an ACL value stops inheritance and the creator could otherwise not read the node it
//! made). The root ACL must keep granting Add and Get to `*` (Add: TND §8.3.7.1.2 MAY refuse with 405; Get:
//! so that every server can discover the tree).
//!
//! # DDF
//! MOs are registered with a root path and an `Arc<DdfNode>`; the description of a path is found under the
//! deepest registered root containing it by walking [`DdfNode::child_for`]-style lookups (named child first,
//! then the placeholder). Nodes outside every MO are unconstrained (the ACL still applies). Decisions: an
//! interior description with no child descriptions (the `Ext` and `Bearer` extension points, StdObj §7.1.1.2)
//! leaves its subtree unconstrained; an existing node the DDF does not describe (made by the device) is
//! unconstrained too; names are matched case-sensitively (CaseSense `CIS` is not implemented); the minimum
//! occurrence is not enforced on Delete (the DDF's Delete access type governs). A missing Meta Format takes
//! the DDF's format, else `chr`; a missing Meta Type takes the DDF's MIME type. Nodes a server creates are
//! dynamic; the device's own nodes take the DDF's Scope. A leaf whose DDF denies Get is marked sensitive
//! (never printed by `Debug`). Copy requires the DDF access type Get or Copy on every source node.
//!
//! # Get
//! A leaf gives its value (a plugin may compute it); an interior node gives its child names joined by `/`
//! with Format `node` (TND §8.2.2.2, AOSP). `?list=Struct` gives every node of the subtree the server may Get
//! (ACL and DDF; a node it may not Get is left out with its subtree, TND §8.4.1) with format and type,
//! `StructData` adds the leaves' data, `TNDS` gives one TNDS XML document ([`tnds`]). `?prop=` gives the
//! property as text (TND §8.3.4).
//!
//! # Atomic
//! [`DmTree::begin_atomic`] opens the undo journal, [`DmTree::commit`] drops it and delivers the plugin
//! notifications held back, [`DmTree::rollback`] restores every key to its value before the Atomic and drops
//! the notifications. One level only: RepPro does not allow Atomic inside Atomic. Generic Alerts queued and
//! plugin side effects (Exec) are not undone.

pub mod acl;
pub mod node;
pub mod plugin;
pub mod tnds;
pub mod uri;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use m2msim_codec::dm::ddf::{AccessTypes, DdfNode, DfType, Format, Scope};
use m2msim_codec::syncml::codes::StatusCode;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use acl::{Acl, AclCommand, AclEntry, AclError};
pub use node::{DmTime, Node, NodeKind, NodeProps};
pub use plugin::{ExecOutcome, ExecRequest, GenericAlert, Mark, MoPlugin, WriteEvent, WriteKind};
pub use uri::{DmUri, ListKind, Property, TndsFields, UriLimits, UriQuery};

/// The outcome of a tree operation: the success value, or the failure [`StatusCode`] to answer.
pub type TreeResult<T> = Result<T, StatusCode>;

/// The default root ACL (TND §8.3.7.1.2).
pub const DEFAULT_ROOT_ACL: &str = "Add=*&Get=*";

/// Limits of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeLimits {
    /// The URI limits, exposed as `DevDetail/URI/*`.
    pub uri: UriLimits,
    /// The largest number of nodes (root included); a server Add beyond it gets 420 Device full.
    pub max_nodes: usize,
}

impl Default for TreeLimits {
    /// The default URI limits and 10 000 nodes.
    fn default() -> Self {
        Self { uri: UriLimits::default(), max_nodes: 10_000 }
    }
}

/// Who runs a server command, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandCtx<'a> {
    /// The Server Identifier of the authenticated server (TND §8.3.7.1: ACLs name Server Identifiers).
    pub server_id: &'a str,
    /// The current time (for TStamp).
    pub now: DmTime,
}

/// The item of an Add or Replace: data, Meta Format and Meta Type (each optional, as on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ItemValue {
    /// The data (empty for an interior node).
    #[serde(with = "m2msim_codec::hexser")]
    pub data: Vec<u8>,
    /// Meta `Format`, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    /// Meta `Type`, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_type: Option<String>,
}

impl ItemValue {
    /// An item with data and no Meta.
    #[must_use]
    pub fn new(data: impl Into<Vec<u8>>) -> Self {
        Self { data: data.into(), format: None, node_type: None }
    }

    /// An item with data and a Meta Format.
    #[must_use]
    pub fn with_format(data: impl Into<Vec<u8>>, format: Format) -> Self {
        Self { data: data.into(), format: Some(format), node_type: None }
    }

    /// An interior node (Meta Format `node`, no data).
    #[must_use]
    pub fn interior() -> Self {
        Self::with_format(Vec::new(), Format::Node)
    }
}

/// One Results item: the source URI, Meta Format and Type, and the data (absent in `?list=Struct`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultItem {
    /// `Source/LocURI` (absolute: `./a/b`, with `?prop=…` for a property).
    pub source: String,
    /// Meta `Format`.
    pub format: Format,
    /// Meta `Type`, when the node has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_type: Option<String>,
    /// `Data`.
    #[serde(default, with = "m2msim_codec::hexser::opt", skip_serializing_if = "Option::is_none")]
    pub data: Option<Vec<u8>>,
}

/// A reference to one description inside a registered MO's DDF: the MO's root description and the child
/// indexes down to it.
#[derive(Clone)]
struct DdfRef {
    root: Arc<DdfNode>,
    idx: Vec<usize>,
}

impl DdfRef {
    fn node(&self) -> &DdfNode {
        let mut n = &*self.root;
        for &i in &self.idx {
            match n.children.get(i) {
                Some(c) => n = c,
                None => break,
            }
        }
        n
    }

    fn same(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.root, &other.root) && self.idx == other.idx
    }

    fn child(&self, name: &str) -> Desc {
        let n = self.node();
        if n.props().format != Format::Node {
            return Desc::Undescribed;
        }
        if n.children.is_empty() {
            return Desc::Free;
        }
        let pos = n
            .children
            .iter()
            .position(|c| c.name == name)
            .or_else(|| n.children.iter().position(DdfNode::is_placeholder));
        match pos {
            Some(i) => {
                let mut idx = self.idx.clone();
                idx.push(i);
                Desc::Node(Self { root: Arc::clone(&self.root), idx })
            }
            None => Desc::Undescribed,
        }
    }
}

/// What the DDF says about a path.
#[derive(Clone)]
enum Desc {
    /// Outside every MO, or below an open extension point: unconstrained.
    Free,
    /// Described.
    Node(DdfRef),
    /// Inside an MO but not described.
    Undescribed,
}

impl Desc {
    fn access(&self) -> AccessTypes {
        match self {
            Self::Node(r) => r.node().props().access_type,
            Self::Free | Self::Undescribed => AccessTypes::ALL,
        }
    }

    fn same(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Node(a), Self::Node(b)) => a.same(b),
            (Self::Free, Self::Free) | (Self::Undescribed, Self::Undescribed) => true,
            _ => false,
        }
    }

    /// The DDF's format, if described.
    fn format(&self) -> Option<Format> {
        match self {
            Self::Node(r) => Some(r.node().props().format),
            _ => None,
        }
    }

    /// The DDF's MIME type (leaves) or MO identifier (interior), if any.
    fn df_type(&self) -> Option<&DfType> {
        match self {
            Self::Node(r) => r.node().props().df_type.as_ref(),
            _ => None,
        }
    }

    fn ddf_name(&self) -> Option<String> {
        match self.df_type() {
            Some(DfType::DdfName(n)) if !n.is_empty() => Some(n.clone()),
            _ => None,
        }
    }

    fn mime(&self) -> Option<String> {
        match self.df_type() {
            Some(DfType::Mime(m)) => Some(m.clone()),
            _ => None,
        }
    }

    fn max_occurrence(&self) -> Option<u32> {
        match self {
            Self::Node(r) => r.node().props().occurrence.max(),
            _ => None,
        }
    }

    fn permanent(&self) -> bool {
        matches!(self, Self::Node(r) if r.node().props().scope == Some(Scope::Permanent))
    }

    /// A leaf the DDF forbids to Get holds a secret.
    fn sensitive(&self) -> bool {
        matches!(
            self,
            Self::Node(r) if r.node().props().format != Format::Node && !r.node().props().access_type.get
        )
    }
}

/// A registered management object.
struct MoEntry {
    ddf: Arc<DdfNode>,
    plugin: Option<Box<dyn MoPlugin>>,
}

/// The undo journal of an open Atomic.
#[derive(Default)]
struct Journal {
    undo: Vec<(String, Option<Node>)>,
    notifications: Vec<(String, WriteEvent)>,
}

/// A node to create (Add, Copy).
struct NewNode {
    path: String,
    data: Vec<u8>,
    format: Option<Format>,
    node_type: Option<String>,
    title: Option<String>,
}

/// A checked creation, ready to apply.
struct CreatePlan {
    ancestor: String,
    inserts: Vec<(String, Node)>,
    event: WriteEvent,
}

/// The management tree of a DM client (TND §8). See the [module documentation](self) for the rules.
pub struct DmTree {
    nodes: BTreeMap<String, Node>,
    mos: BTreeMap<String, MoEntry>,
    limits: TreeLimits,
    journal: Option<Journal>,
    alerts: Vec<GenericAlert>,
}

impl Default for DmTree {
    fn default() -> Self {
        Self::new(TreeLimits::default())
    }
}

impl fmt::Debug for DmTree {
    /// Node values of sensitive nodes are redacted (see [`Node`]'s `Debug`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DmTree")
            .field("nodes", &self.nodes)
            .field("mos", &self.mos.keys().collect::<Vec<_>>())
            .field("limits", &self.limits)
            .field("in_atomic", &self.journal.is_some())
            .field("alerts", &self.alerts)
            .finish()
    }
}

impl DmTree {
    /// A tree holding only the root, with the default root ACL `Add=*&Get=*`.
    #[must_use]
    pub fn new(limits: TreeLimits) -> Self {
        let mut root = Node::interior();
        root.props.scope = Scope::Permanent;
        root.props.acl = Acl::empty().grant(AclCommand::Add, "*").grant(AclCommand::Get, "*");
        let mut nodes = BTreeMap::new();
        nodes.insert(String::new(), root);
        Self { nodes, mos: BTreeMap::new(), limits, journal: None, alerts: Vec::new() }
    }

    /// The limits.
    #[must_use]
    pub fn limits(&self) -> &TreeLimits {
        &self.limits
    }

    /// The number of nodes (root included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Never true: the root always exists.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    // ----- MOs and plugins ------------------------------------------------------------------------------

    /// Registers a management object: its root URI and DDF description (and plugin). Creates no node.
    /// Registering the same root again replaces the registration.
    ///
    /// # Errors
    /// The URI's status (400, 414, 406) when `root` is not a valid node URI.
    pub fn register_mo(
        &mut self,
        root: &str,
        ddf: Arc<DdfNode>,
        plugin: Option<Box<dyn MoPlugin>>,
    ) -> TreeResult<()> {
        let path = self.node_path(root)?;
        self.mos.insert(path, MoEntry { ddf, plugin });
        Ok(())
    }

    /// Sets (or removes) the plugin of a registered MO.
    ///
    /// # Errors
    /// 404 when no MO is registered at `root`; the URI's status when it is not valid.
    pub fn set_plugin(&mut self, root: &str, plugin: Option<Box<dyn MoPlugin>>) -> TreeResult<()> {
        let path = self.node_path(root)?;
        let mo = self.mos.get_mut(&path).ok_or(StatusCode::NOT_FOUND)?;
        mo.plugin = plugin;
        Ok(())
    }

    /// The roots of the registered MOs (normalised paths).
    pub fn mo_roots(&self) -> impl Iterator<Item = &str> {
        self.mos.keys().map(String::as_str)
    }

    /// Runs `f` with the plugin registered at `root` taken out of its slot, and `&mut` access to the tree;
    /// `None` when there is no such plugin (or it is already running).
    pub fn with_plugin<R>(
        &mut self,
        root: &str,
        f: impl FnOnce(&mut dyn MoPlugin, &mut DmTree) -> R,
    ) -> Option<R> {
        let path = self.node_path(root).ok()?;
        self.call_plugin(&path, f)
    }

    fn call_plugin<R>(
        &mut self,
        root: &str,
        f: impl FnOnce(&mut dyn MoPlugin, &mut DmTree) -> R,
    ) -> Option<R> {
        let mut plugin = self.mos.get_mut(root)?.plugin.take()?;
        let r = f(plugin.as_mut(), self);
        if let Some(mo) = self.mos.get_mut(root)
            && mo.plugin.is_none()
        {
            mo.plugin = Some(plugin);
        }
        Some(r)
    }

    /// Calls [`MoPlugin::poll`] on every plugin.
    pub fn poll_plugins(&mut self, now: DmTime) {
        let roots: Vec<String> = self.mos.keys().cloned().collect();
        for root in roots {
            self.call_plugin(&root, |p, t| p.poll(t, now));
        }
    }

    /// Queues a Generic Alert for the next session.
    pub fn queue_alert(&mut self, alert: GenericAlert) {
        self.alerts.push(alert);
    }

    /// The queued Generic Alerts.
    #[must_use]
    pub fn alerts(&self) -> &[GenericAlert] {
        &self.alerts
    }

    /// Takes the queued Generic Alerts (the engine sends them in the next session).
    pub fn take_alerts(&mut self) -> Vec<GenericAlert> {
        std::mem::take(&mut self.alerts)
    }

    /// The registered root of the deepest MO containing `path`.
    fn mo_root_of(&self, path: &str) -> Option<String> {
        let mut cur = Some(path);
        while let Some(c) = cur {
            if self.mos.contains_key(c) {
                return Some(c.to_owned());
            }
            cur = uri::parent(c);
        }
        None
    }

    fn describe(&self, path: &str) -> Desc {
        let mut cur = Some(path);
        while let Some(c) = cur {
            if let Some(mo) = self.mos.get(c) {
                let rest = path.strip_prefix(c).unwrap_or_default();
                let mut d = Desc::Node(DdfRef { root: Arc::clone(&mo.ddf), idx: Vec::new() });
                for seg in rest.split('/').filter(|s| !s.is_empty()) {
                    d = match d {
                        Desc::Node(r) => r.child(seg),
                        other => return other,
                    };
                }
                return d;
            }
            cur = uri::parent(c);
        }
        Desc::Free
    }

    // ----- reads (device side, no ACL) --------------------------------------------------------------------

    fn node_path(&self, uri: &str) -> TreeResult<String> {
        let u = DmUri::parse(uri, &self.limits.uri)?;
        if u.query().is_some() {
            return Err(StatusCode::BAD_REQUEST);
        }
        Ok(u.path().to_owned())
    }

    /// The node at `uri` (`./a/b`, `a/b` or `.`).
    #[must_use]
    pub fn node(&self, uri: &str) -> Option<&Node> {
        self.nodes.get(&self.node_path(uri).ok()?)
    }

    /// The stored value of the leaf at `uri`.
    #[must_use]
    pub fn value(&self, uri: &str) -> Option<&[u8]> {
        self.node(uri)?.value()
    }

    /// The stored value of the leaf at `uri` as UTF-8 text.
    #[must_use]
    pub fn text(&self, uri: &str) -> Option<&str> {
        std::str::from_utf8(self.value(uri)?).ok()
    }

    /// The names of the children of the node at `uri`, in key order (empty when absent or a leaf).
    #[must_use]
    pub fn children(&self, uri: &str) -> Vec<String> {
        self.node_path(uri).map(|p| self.child_names(&p)).unwrap_or_default()
    }

    /// Every node with its normalised path, in key order (parents before children).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes.iter().map(|(k, v)| (k.as_str(), v))
    }

    fn child_names(&self, path: &str) -> Vec<String> {
        let mut out = Vec::new();
        if path.is_empty() {
            for k in self.nodes.keys() {
                if !k.is_empty() && !k.contains('/') {
                    out.push(k.clone());
                }
            }
            return out;
        }
        let lo = format!("{path}/");
        let hi = format!("{path}0");
        for k in self.nodes.range(lo.clone()..hi).map(|(k, _)| k) {
            if let Some(rest) = k.strip_prefix(&lo)
                && !rest.contains('/')
            {
                out.push(rest.to_owned());
            }
        }
        out
    }

    /// The keys of the subtree at `path` in depth-first order: each node right before its own subtree.
    ///
    /// Key order alone is not depth-first: `a/-` < `a/--` < `a/-/x` because `-` sorts before `/`; sorting by
    /// segments puts `a/-/x` right after `a/-`.
    fn subtree_keys(&self, path: &str) -> Vec<String> {
        let mut out: Vec<String> = if path.is_empty() {
            self.nodes.keys().cloned().collect()
        } else {
            let lo = format!("{path}/");
            let hi = format!("{path}0");
            let own = self.nodes.get_key_value(path).map(|(k, _)| k.clone());
            own.into_iter().chain(self.nodes.range(lo..hi).map(|(k, _)| k.clone())).collect()
        };
        out.sort_by(|a, b| a.split('/').cmp(b.split('/')));
        out
    }

    fn effective_acl(&self, path: &str) -> Option<&Acl> {
        let mut cur = Some(path);
        while let Some(c) = cur {
            if let Some(n) = self.nodes.get(c)
                && !n.props.acl.is_empty()
            {
                return Some(&n.props.acl);
            }
            cur = uri::parent(c);
        }
        None
    }

    fn acl_permits(&self, path: &str, command: AclCommand, server_id: &str) -> bool {
        self.effective_acl(path).is_some_and(|a| a.permits(command, server_id))
    }

    fn require_acl(&self, path: &str, command: AclCommand, server_id: &str) -> TreeResult<()> {
        if self.acl_permits(path, command, server_id) { Ok(()) } else { Err(StatusCode::PERMISSION_DENIED) }
    }

    /// The value a read returns: the plugin's computed value, else the stored one.
    fn read_value(&mut self, path: &str) -> Option<Vec<u8>> {
        let stored = self.nodes.get(path)?.value()?.to_vec();
        let computed =
            self.mo_root_of(path).and_then(|root| self.call_plugin(&root, |p, t| p.value(t, path)).flatten());
        Some(computed.unwrap_or(stored))
    }

    // ----- the one mutation point ------------------------------------------------------------------------

    /// Sets or removes one key, recording its previous value in the journal while an Atomic is open.
    fn put(&mut self, key: String, node: Option<Node>) {
        let prev = match node {
            Some(n) => self.nodes.insert(key.clone(), n),
            None => self.nodes.remove(&key),
        };
        if let Some(j) = &mut self.journal {
            j.undo.push((key, prev));
        }
    }

    /// Records a change of the node at `path` (VerNo, TStamp).
    fn touch(&mut self, path: &str, now: Option<DmTime>) {
        if let Some(mut n) = self.nodes.get(path).cloned() {
            n.touch(now);
            self.put(path.to_owned(), Some(n));
        }
    }

    fn veto(&mut self, event: &WriteEvent) -> TreeResult<()> {
        match self.mo_root_of(&event.path) {
            Some(root) => self.call_plugin(&root, |p, t| p.check_write(t, event)).unwrap_or(Ok(())),
            None => Ok(()),
        }
    }

    fn notify(&mut self, event: WriteEvent) {
        let Some(root) = self.mo_root_of(&event.path) else { return };
        if self.mos.get(&root).is_none_or(|m| m.plugin.is_none()) {
            return;
        }
        match &mut self.journal {
            Some(j) => j.notifications.push((root, event)),
            None => {
                self.call_plugin(&root, |p, t| p.written(t, &event));
            }
        }
    }

    // ----- Atomic ---------------------------------------------------------------------------------------

    /// Opens an Atomic: from now on every change can be undone by [`Self::rollback`].
    ///
    /// # Errors
    /// 500 when an Atomic is already open (RepPro: no Atomic inside Atomic).
    pub fn begin_atomic(&mut self) -> TreeResult<()> {
        if self.journal.is_some() {
            return Err(StatusCode::COMMAND_FAILED);
        }
        self.journal = Some(Journal::default());
        Ok(())
    }

    /// True while an Atomic is open.
    #[must_use]
    pub fn in_atomic(&self) -> bool {
        self.journal.is_some()
    }

    /// Closes the Atomic keeping its changes, and delivers the plugin notifications held back.
    ///
    /// # Errors
    /// 500 when no Atomic is open.
    pub fn commit(&mut self) -> TreeResult<()> {
        let j = self.journal.take().ok_or(StatusCode::COMMAND_FAILED)?;
        for (root, event) in j.notifications {
            self.call_plugin(&root, |p, t| p.written(t, &event));
        }
        Ok(())
    }

    /// Closes the Atomic undoing all its changes (values, properties, deleted subtrees); the held-back
    /// notifications are dropped.
    ///
    /// # Errors
    /// 500 when no Atomic is open.
    pub fn rollback(&mut self) -> TreeResult<()> {
        let j = self.journal.take().ok_or(StatusCode::COMMAND_FAILED)?;
        undo(&mut self.nodes, j.undo);
        Ok(())
    }

    // ----- server commands ------------------------------------------------------------------------------

    fn check_read(&self, ctx: &CommandCtx<'_>, path: &str) -> TreeResult<()> {
        self.require_acl(path, AclCommand::Get, ctx.server_id)?;
        if !self.describe(path).access().get {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        }
        Ok(())
    }

    /// Get (RepPro Get; TND §8.2.2, §8.3.3, §8.4.1): a leaf's value, an interior node's child list, a
    /// property (`?prop=`) or a subtree (`?list=`).
    ///
    /// # Errors
    /// See the [status table](self): 414/400/406 (URI), 404, 425, 405, 406 (`?prop=Size` of an interior
    /// node).
    pub fn get(&mut self, ctx: &CommandCtx<'_>, uri: &str) -> TreeResult<Vec<ResultItem>> {
        let u = DmUri::parse(uri, &self.limits.uri)?;
        let path = u.path().to_owned();
        if !self.nodes.contains_key(&path) {
            return Err(StatusCode::NOT_FOUND);
        }
        match u.query() {
            None => {
                self.check_read(ctx, &path)?;
                Ok(vec![self.item_for(&path, true)])
            }
            Some(UriQuery::Prop(p)) => {
                self.require_acl(&path, AclCommand::Get, ctx.server_id)?;
                let text = self.property(&path, p)?;
                Ok(vec![ResultItem {
                    source: format!("{}?prop={}", uri::absolute(&path), p.as_str()),
                    format: Format::Chr,
                    node_type: Some("text/plain".to_owned()),
                    data: Some(text.into_bytes()),
                }])
            }
            Some(UriQuery::List(kind)) => {
                self.check_read(ctx, &path)?;
                let keys = self.visible_subtree(ctx, &path);
                match kind {
                    ListKind::Struct | ListKind::StructData => {
                        let with_data = kind == ListKind::StructData;
                        Ok(keys.iter().map(|k| self.item_for(k, with_data)).collect())
                    }
                    ListKind::Tnds(fields) => {
                        let values: Vec<Option<Vec<u8>>> = keys.iter().map(|k| self.read_value(k)).collect();
                        let entries: Vec<tnds::TndsEntry<'_>> = keys
                            .iter()
                            .zip(values)
                            .filter(|(k, _)| !k.is_empty())
                            .filter_map(|(k, value)| {
                                Some(tnds::TndsEntry { path: k, node: self.nodes.get(k)?, value })
                            })
                            .collect();
                        let xml = tnds::write(&entries, fields);
                        Ok(vec![ResultItem {
                            source: format!("{}?list=TNDS", uri::absolute(&path)),
                            format: Format::Xml,
                            node_type: Some(tnds::TNDS_XML_TYPE.to_owned()),
                            data: Some(xml.into_bytes()),
                        }])
                    }
                }
            }
        }
    }

    /// The keys of the subtree at `path` that the server may Get; a node it may not Get is left out with its
    /// subtree.
    fn visible_subtree(&self, ctx: &CommandCtx<'_>, path: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut hidden: Option<String> = None;
        for k in self.subtree_keys(path) {
            if hidden.as_deref().is_some_and(|h| uri::is_within(&k, h)) {
                continue;
            }
            if self.check_read(ctx, &k).is_err() {
                hidden = Some(k);
                continue;
            }
            out.push(k);
        }
        out
    }

    fn item_for(&mut self, path: &str, with_data: bool) -> ResultItem {
        let (format, node_type, interior) = match self.nodes.get(path) {
            Some(n) => (n.props.format, n.props.node_type.clone(), n.is_interior()),
            None => (Format::Null, None, false),
        };
        let data = if !with_data {
            None
        } else if interior {
            Some(self.child_names(path).join("/").into_bytes())
        } else {
            self.read_value(path)
        };
        ResultItem { source: uri::absolute(path), format, node_type, data }
    }

    fn property(&mut self, path: &str, p: Property) -> TreeResult<String> {
        let n = self.nodes.get(path).cloned().ok_or(StatusCode::NOT_FOUND)?;
        Ok(match p {
            Property::Acl => n.props.acl.to_string(),
            Property::Format => n.props.format.as_str().to_owned(),
            Property::Name => uri::name(path).to_owned(),
            Property::Size => {
                if n.is_interior() {
                    return Err(StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED);
                }
                if !self.describe(path).access().get {
                    return Err(StatusCode::COMMAND_NOT_ALLOWED);
                }
                self.read_value(path).map_or(0, |v| v.len()).to_string()
            }
            Property::Title => n.props.title.clone().unwrap_or_default(),
            Property::TStamp => n.props.tstamp.map(DmTime::tstamp).unwrap_or_default(),
            Property::Type => match &n.props.node_type {
                Some(t) => t.clone(),
                None if n.is_interior() => String::new(),
                None => "text/plain".to_owned(),
            },
            Property::VerNo => n.props.ver_no.to_string(),
        })
    }

    /// Add (RepPro Add, TND §8.2.2): creates a leaf or (Meta Format `node`) an interior node; missing
    /// interior parents are created when the DDF allows.
    ///
    /// # Errors
    /// See the [status table](self): 414/400/406 (URI), 405 (`?prop=`, parent is a leaf, access type), 418
    /// (exists, occurrence), 404 (parents), 425, 406 (undescribed), 415, 420, a plugin's veto.
    pub fn add(&mut self, ctx: &CommandCtx<'_>, uri: &str, item: &ItemValue) -> TreeResult<()> {
        let u = DmUri::parse(uri, &self.limits.uri)?;
        if u.query().is_some() {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        }
        let path = u.path();
        if self.nodes.contains_key(path) {
            return Err(StatusCode::ALREADY_EXISTS);
        }
        let new = NewNode {
            path: path.to_owned(),
            data: item.data.clone(),
            format: item.format,
            node_type: item.node_type.clone(),
            title: None,
        };
        let plan = self.plan_create(ctx, vec![new], WriteKind::Add)?;
        self.apply_create(ctx, plan);
        Ok(())
    }

    /// Checks the creation of `nodes` (the first is the top new node, the rest its descendants, parents
    /// first) and builds the nodes, including missing interior parents.
    fn plan_create(
        &mut self,
        ctx: &CommandCtx<'_>,
        nodes: Vec<NewNode>,
        kind: WriteKind,
    ) -> TreeResult<CreatePlan> {
        let Some(top) = nodes.first() else { return Err(StatusCode::COMMAND_FAILED) };
        let top_path = top.path.clone();
        // The nearest existing ancestor and the missing parents between it and the top node.
        let mut missing = Vec::new();
        let mut ancestor = uri::parent(&top_path).unwrap_or_default().to_owned();
        while !self.nodes.contains_key(&ancestor) {
            missing.push(ancestor.clone());
            ancestor = uri::parent(&ancestor).unwrap_or_default().to_owned();
        }
        missing.reverse();
        if self.nodes.get(&ancestor).is_some_and(|n| !n.is_interior()) {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        }
        self.require_acl(&ancestor, AclCommand::Add, ctx.server_id)?;

        // (path, description, node) of everything to create, parents first.
        let mut planned: Vec<(String, Desc, Node)> = Vec::new();
        for m in &missing {
            let desc = self.describe(m);
            match &desc {
                Desc::Undescribed => return Err(StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED),
                Desc::Node(r)
                    if r.node().props().format != Format::Node || !r.node().props().access_type.add =>
                {
                    return Err(StatusCode::NOT_FOUND);
                }
                _ => {}
            }
            let mut n = Node::interior();
            n.props.node_type = desc.ddf_name();
            planned.push((m.clone(), desc, n));
        }
        for (i, new) in nodes.into_iter().enumerate() {
            if i > 0 {
                uri::check_path_limits(&new.path, &self.limits.uri)?;
            }
            let desc = self.describe(&new.path);
            if matches!(desc, Desc::Undescribed) {
                return Err(StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED);
            }
            if !desc.access().add {
                return Err(StatusCode::COMMAND_NOT_ALLOWED);
            }
            let format = check_value(&desc, new.format, new.node_type.as_deref(), &new.data)?;
            let mut n = if format == Format::Node { Node::interior() } else { Node::leaf(new.data, format) };
            n.props.node_type =
                new.node_type.or_else(|| if format == Format::Node { desc.ddf_name() } else { desc.mime() });
            n.props.title = new.title;
            n.props.sensitive = desc.sensitive();
            planned.push((new.path, desc, n));
        }
        // Occurrence: per (parent, description), the existing siblings plus the planned ones.
        // (parent, MO description, index path) → (maximum, planned count, description)
        type GroupKey<'a> = (&'a str, usize, &'a [usize]);
        type GroupCount<'a> = (usize, usize, &'a Desc);
        let mut groups: BTreeMap<GroupKey<'_>, GroupCount<'_>> = BTreeMap::new();
        for (path, desc, _) in &planned {
            let (Desc::Node(r), Some(max)) = (desc, desc.max_occurrence()) else { continue };
            let parent = uri::parent(path).unwrap_or_default();
            let key = (parent, Arc::as_ptr(&r.root) as usize, r.idx.as_slice());
            groups.entry(key).or_insert((max as usize, 0, desc)).1 += 1;
        }
        for ((parent, _, _), (max, new, desc)) in groups {
            let existing = self
                .child_names(parent)
                .iter()
                .filter(|name| self.describe(&uri::join(parent, name)).same(desc))
                .count();
            if existing + new > max {
                return Err(StatusCode::ALREADY_EXISTS);
            }
        }
        if self.nodes.len().saturating_add(planned.len()) > self.limits.max_nodes {
            return Err(StatusCode::DEVICE_FULL);
        }
        // TND §8.3.7.1.3: an interior node added by a server without Replace on the parent is given to it.
        if let Some((_, _, first)) = planned.first_mut()
            && first.is_interior()
            && !self.acl_permits(&ancestor, AclCommand::Replace, ctx.server_id)
        {
            first.props.acl = Acl::empty()
                .grant(AclCommand::Add, ctx.server_id)
                .grant(AclCommand::Delete, ctx.server_id)
                .grant(AclCommand::Get, ctx.server_id)
                .grant(AclCommand::Replace, ctx.server_id);
        }
        let value = planned
            .iter()
            .find(|(p, _, _)| *p == top_path)
            .and_then(|(_, _, n)| n.value().map(<[u8]>::to_vec));
        let event = WriteEvent {
            kind,
            path: top_path,
            new_path: None,
            server_id: ctx.server_id.to_owned(),
            value,
            now: ctx.now,
        };
        self.veto(&event)?;
        let inserts = planned
            .into_iter()
            .map(|(p, _, mut n)| {
                n.props.tstamp = Some(ctx.now);
                (p, n)
            })
            .collect();
        Ok(CreatePlan { ancestor, inserts, event })
    }

    fn apply_create(&mut self, ctx: &CommandCtx<'_>, plan: CreatePlan) {
        for (k, n) in plan.inserts {
            self.put(k, Some(n));
        }
        self.touch(&plan.ancestor, Some(ctx.now));
        self.notify(plan.event);
    }

    /// Replace (RepPro Replace): a leaf's value, or a property with `?prop=ACL|Name|Title` (TND §8.3.5).
    ///
    /// # Errors
    /// See the [status table](self): 414/400/406 (URI), 404, 425, 405 (access type, interior node,
    /// read-only property), 415, 418/400 (rename), a plugin's veto.
    pub fn replace(&mut self, ctx: &CommandCtx<'_>, uri: &str, item: &ItemValue) -> TreeResult<()> {
        let u = DmUri::parse(uri, &self.limits.uri)?;
        let path = u.path().to_owned();
        match u.query() {
            Some(UriQuery::Prop(p)) => return self.replace_property(ctx, &path, p, &item.data),
            Some(UriQuery::List(_)) => return Err(StatusCode::COMMAND_NOT_ALLOWED),
            None => {}
        }
        if !self.nodes.contains_key(&path) {
            return Err(StatusCode::NOT_FOUND);
        }
        self.require_acl(&path, AclCommand::Replace, ctx.server_id)?;
        self.replace_leaf(ctx, &path, item, WriteKind::Replace)
    }

    /// The part of Replace after the ACL check (shared with Copy onto an existing leaf).
    fn replace_leaf(
        &mut self,
        ctx: &CommandCtx<'_>,
        path: &str,
        item: &ItemValue,
        kind: WriteKind,
    ) -> TreeResult<()> {
        let desc = self.describe(path);
        if !desc.access().replace {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        }
        let Some(mut node) = self.nodes.get(path).cloned() else { return Err(StatusCode::NOT_FOUND) };
        if node.is_interior() {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        }
        let format = check_value(&desc, item.format, item.node_type.as_deref(), &item.data)?;
        if format == Format::Node {
            return Err(StatusCode::UNSUPPORTED_MEDIA_TYPE);
        }
        let event = WriteEvent {
            kind,
            path: path.to_owned(),
            new_path: None,
            server_id: ctx.server_id.to_owned(),
            value: Some(item.data.clone()),
            now: ctx.now,
        };
        self.veto(&event)?;
        node.kind = NodeKind::Leaf { value: item.data.clone() };
        node.props.format = format;
        node.props.node_type = item.node_type.clone().or_else(|| desc.mime());
        node.touch(Some(ctx.now));
        self.put(path.to_owned(), Some(node));
        self.notify(event);
        Ok(())
    }

    fn replace_property(
        &mut self,
        ctx: &CommandCtx<'_>,
        path: &str,
        p: Property,
        data: &[u8],
    ) -> TreeResult<()> {
        let Some(mut node) = self.nodes.get(path).cloned() else { return Err(StatusCode::NOT_FOUND) };
        let interior = node.is_interior();
        let kind = match p {
            Property::Acl => {
                let allowed = match uri::parent(path) {
                    None => self.acl_permits(path, AclCommand::Replace, ctx.server_id),
                    Some(parent) => {
                        self.acl_permits(parent, AclCommand::Replace, ctx.server_id)
                            || (interior && self.acl_permits(path, AclCommand::Replace, ctx.server_id))
                    }
                };
                if !allowed {
                    return Err(StatusCode::PERMISSION_DENIED);
                }
                WriteKind::Acl
            }
            Property::Title => {
                self.require_acl(path, AclCommand::Replace, ctx.server_id)?;
                WriteKind::Title
            }
            Property::Name => return self.rename(ctx, path, data),
            Property::Format | Property::Size | Property::TStamp | Property::Type | Property::VerNo => {
                return Err(StatusCode::COMMAND_NOT_ALLOWED);
            }
        };
        let text = std::str::from_utf8(data).map_err(|_| StatusCode::UNSUPPORTED_MEDIA_TYPE)?;
        if kind == WriteKind::Acl {
            let acl = Acl::parse(text).map_err(|_| StatusCode::UNSUPPORTED_MEDIA_TYPE)?;
            if path.is_empty() && !(acl.permits_all(AclCommand::Add) && acl.permits_all(AclCommand::Get)) {
                return Err(StatusCode::COMMAND_NOT_ALLOWED);
            }
            node.props.acl = acl;
        } else {
            node.props.title = if text.is_empty() { None } else { Some(text.to_owned()) };
        }
        let event = WriteEvent {
            kind,
            path: path.to_owned(),
            new_path: None,
            server_id: ctx.server_id.to_owned(),
            value: Some(data.to_vec()),
            now: ctx.now,
        };
        self.veto(&event)?;
        node.touch(Some(ctx.now));
        self.put(path.to_owned(), Some(node));
        self.notify(event);
        Ok(())
    }

    /// Replace of `?prop=Name` (TND §8.3.5: a rename; §8.3.5.1: never for permanent nodes).
    fn rename(&mut self, ctx: &CommandCtx<'_>, path: &str, data: &[u8]) -> TreeResult<()> {
        let Some(parent) = uri::parent(path) else { return Err(StatusCode::COMMAND_NOT_ALLOWED) };
        self.require_acl(path, AclCommand::Replace, ctx.server_id)?;
        if self.nodes.get(path).is_some_and(Node::is_permanent)
            || self.mos.keys().any(|root| uri::is_within(root, path))
        {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        }
        let name = std::str::from_utf8(data).map_err(|_| StatusCode::UNSUPPORTED_MEDIA_TYPE)?;
        uri::check_segment(name, &self.limits.uri)?;
        let new_path = uri::join(parent, name);
        if new_path == path {
            return Ok(());
        }
        if self.nodes.contains_key(&new_path) {
            return Err(StatusCode::ALREADY_EXISTS);
        }
        if !self.describe(path).same(&self.describe(&new_path)) {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        }
        let keys = self.subtree_keys(path);
        let moved: Vec<(String, String)> = keys
            .iter()
            .map(|k| (k.clone(), format!("{new_path}{}", k.strip_prefix(path).unwrap_or_default())))
            .collect();
        for (_, new_key) in &moved {
            uri::check_path_limits(new_key, &self.limits.uri)?;
        }
        let event = WriteEvent {
            kind: WriteKind::Rename,
            path: path.to_owned(),
            new_path: Some(new_path.clone()),
            server_id: ctx.server_id.to_owned(),
            value: Some(data.to_vec()),
            now: ctx.now,
        };
        self.veto(&event)?;
        let nodes: Vec<(String, Node)> =
            moved.iter().filter_map(|(old, new)| Some((new.clone(), self.nodes.get(old)?.clone()))).collect();
        for (old, _) in &moved {
            self.put(old.clone(), None);
        }
        for (new, n) in nodes {
            self.put(new, Some(n));
        }
        self.touch(&new_path, Some(ctx.now));
        self.touch(parent, Some(ctx.now));
        self.notify(event);
        Ok(())
    }

    /// Delete (RepPro Delete): removes the node and its subtree.
    ///
    /// # Errors
    /// See the [status table](self): 414/400/406 (URI), 405 (root, `?prop=`, permanent, access type), 404,
    /// 425, a plugin's veto.
    pub fn delete(&mut self, ctx: &CommandCtx<'_>, uri: &str) -> TreeResult<()> {
        let u = DmUri::parse(uri, &self.limits.uri)?;
        if u.query().is_some() || u.is_root() {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        }
        let path = u.path().to_owned();
        if !self.nodes.contains_key(&path) {
            return Err(StatusCode::NOT_FOUND);
        }
        self.require_acl(&path, AclCommand::Delete, ctx.server_id)?;
        if !self.describe(&path).access().delete {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        }
        let keys = self.subtree_keys(&path);
        if keys.iter().any(|k| self.nodes.get(k).is_some_and(Node::is_permanent)) {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        }
        let event = WriteEvent {
            kind: WriteKind::Delete,
            path: path.clone(),
            new_path: None,
            server_id: ctx.server_id.to_owned(),
            value: None,
            now: ctx.now,
        };
        self.veto(&event)?;
        for k in keys.into_iter().rev() {
            self.put(k, None);
        }
        if let Some(parent) = uri::parent(&path) {
            self.touch(parent, Some(ctx.now));
        }
        self.notify(event);
        Ok(())
    }

    /// Copy (RepPro Copy, DM 1.2): copies the node at `source` (with its subtree) to `target`. An existing
    /// target leaf is replaced by a source leaf; a missing target is created like an Add (implicit parents).
    ///
    /// Decision: copying onto an existing interior node (or a source interior node onto an existing leaf) is
    /// refused with 405 rather than silently deleting the target's subtree. The copies get the source's
    /// value, Format, Type and Title, not its ACL (they inherit, like added nodes).
    ///
    /// # Errors
    /// See the [status table](self).
    pub fn copy(&mut self, ctx: &CommandCtx<'_>, target: &str, source: &str) -> TreeResult<()> {
        let t = DmUri::parse(target, &self.limits.uri)?;
        let s = DmUri::parse(source, &self.limits.uri)?;
        if t.query().is_some() || s.query().is_some() || s.is_root() {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        }
        let (tpath, spath) = (t.path().to_owned(), s.path().to_owned());
        if !self.nodes.contains_key(&spath) {
            return Err(StatusCode::NOT_FOUND);
        }
        let keys = self.subtree_keys(&spath);
        for k in &keys {
            self.require_acl(k, AclCommand::Get, ctx.server_id)?;
            let access = self.describe(k).access();
            if !(access.get || access.copy) {
                return Err(StatusCode::COMMAND_NOT_ALLOWED);
            }
        }
        let mut copies = Vec::with_capacity(keys.len());
        for k in &keys {
            let value = self.read_value(k).unwrap_or_default();
            let Some(n) = self.nodes.get(k) else { continue };
            copies.push(NewNode {
                path: format!("{tpath}{}", k.strip_prefix(spath.as_str()).unwrap_or_default()),
                data: value,
                format: Some(n.props.format),
                node_type: n.props.node_type.clone(),
                title: n.props.title.clone(),
            });
        }
        if let Some(existing) = self.nodes.get(&tpath) {
            let Some(first) = copies.first() else { return Err(StatusCode::NOT_FOUND) };
            if existing.is_interior() || first.format == Some(Format::Node) {
                return Err(StatusCode::COMMAND_NOT_ALLOWED);
            }
            self.require_acl(&tpath, AclCommand::Replace, ctx.server_id)?;
            let item = ItemValue {
                data: first.data.clone(),
                format: first.format,
                node_type: first.node_type.clone(),
            };
            return self.replace_leaf(ctx, &tpath, &item, WriteKind::Copy);
        }
        let plan = self.plan_create(ctx, copies, WriteKind::Copy)?;
        self.apply_create(ctx, plan);
        Ok(())
    }

    /// Exec (RepPro Exec): runs the node's handler in the plugin of its MO.
    ///
    /// # Errors
    /// See the [status table](self): 414/400/406 (URI), 405 (`?prop=`, access type, no handler), 404, 425.
    /// A handler's own failure comes back as `Ok(ExecOutcome::Done { status, .. })`.
    pub fn exec(
        &mut self,
        ctx: &CommandCtx<'_>,
        uri: &str,
        data: &[u8],
        correlator: Option<&str>,
    ) -> TreeResult<ExecOutcome> {
        let u = DmUri::parse(uri, &self.limits.uri)?;
        if u.query().is_some() {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        }
        let path = u.path().to_owned();
        if !self.nodes.contains_key(&path) {
            return Err(StatusCode::NOT_FOUND);
        }
        self.require_acl(&path, AclCommand::Exec, ctx.server_id)?;
        if !self.describe(&path).access().exec {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        }
        let Some(root) = self.mo_root_of(&path) else { return Err(StatusCode::COMMAND_NOT_ALLOWED) };
        let req = ExecRequest { path: &path, server_id: ctx.server_id, data, correlator, now: ctx.now };
        self.call_plugin(&root, |p, t| p.exec(t, &req)).ok_or(StatusCode::COMMAND_NOT_ALLOWED)
    }

    // ----- device-side writes ---------------------------------------------------------------------------

    /// Device-side editing at time `now`: no ACL and no DDF access checks (the device owns its tree), but the
    /// same journal (an open Atomic undoes these writes too) and the DDF's Scope, Type and secrecy for the
    /// nodes created.
    pub fn local(&mut self, now: DmTime) -> LocalEdit<'_> {
        LocalEdit { tree: self, now }
    }

    // ----- snapshots ------------------------------------------------------------------------------------

    /// The committed state of the tree (while an Atomic is open: as it was before the Atomic), for a durable
    /// store to save after each committed change.
    #[must_use]
    pub fn snapshot(&self) -> TreeSnapshot {
        let nodes = match &self.journal {
            None => self.nodes.clone(),
            Some(j) => {
                let mut nodes = self.nodes.clone();
                undo(&mut nodes, j.undo.iter().map(|(k, n)| (k.clone(), n.clone())).collect());
                nodes
            }
        };
        TreeSnapshot {
            version: TreeSnapshot::VERSION,
            limits: self.limits,
            nodes,
            alerts: self.alerts.clone(),
        }
    }

    /// Replaces the nodes, limits and queued alerts with a snapshot's, keeping the registered MOs and
    /// plugins.
    ///
    /// # Errors
    /// [`RestoreError`] when an Atomic is open or the snapshot is not a consistent tree; the tree is then
    /// unchanged.
    pub fn restore(&mut self, snapshot: TreeSnapshot) -> Result<(), RestoreError> {
        if self.journal.is_some() {
            return Err(RestoreError { path: String::new(), reason: "an Atomic is open" });
        }
        snapshot.validate()?;
        self.nodes = snapshot.nodes;
        self.limits = snapshot.limits;
        self.alerts = snapshot.alerts;
        Ok(())
    }

    /// A tree made from a snapshot, with no MOs registered (register them again, then use it).
    ///
    /// # Errors
    /// [`RestoreError`] when the snapshot is not a consistent tree.
    pub fn from_snapshot(snapshot: TreeSnapshot) -> Result<Self, RestoreError> {
        let mut t = Self::new(snapshot.limits);
        t.restore(snapshot)?;
        Ok(t)
    }
}

/// Checks an item's value against the node's description; gives the Format to store.
fn check_value(
    desc: &Desc,
    format: Option<Format>,
    node_type: Option<&str>,
    data: &[u8],
) -> TreeResult<Format> {
    let bad = StatusCode::UNSUPPORTED_MEDIA_TYPE;
    let format = format.or(desc.format()).unwrap_or(Format::Chr);
    if desc.format().is_some_and(|f| f != format) || !format.accepts(data) {
        return Err(bad);
    }
    if let (Some(given), Some(DfType::Mime(want))) = (node_type, desc.df_type())
        && format != Format::Node
        && given.trim() != want
    {
        return Err(bad);
    }
    Ok(format)
}

/// Applies an undo journal (newest first).
fn undo(nodes: &mut BTreeMap<String, Node>, journal: Vec<(String, Option<Node>)>) {
    for (k, prev) in journal.into_iter().rev() {
        match prev {
            Some(n) => {
                nodes.insert(k, n);
            }
            None => {
                nodes.remove(&k);
            }
        }
    }
}

/// Device-side editing of the tree (see [`DmTree::local`]). Every method takes a URI (`./a/b`, `a/b`).
pub struct LocalEdit<'t> {
    tree: &'t mut DmTree,
    now: DmTime,
}

impl LocalEdit<'_> {
    fn create(&mut self, path: &str, mut node: Node) {
        let desc = self.tree.describe(path);
        if desc.permanent() {
            node.props.scope = Scope::Permanent;
        }
        if node.props.node_type.is_none() {
            node.props.node_type = if node.is_interior() { desc.ddf_name() } else { desc.mime() };
        }
        node.props.sensitive = desc.sensitive();
        node.props.tstamp = Some(self.now);
        self.tree.put(path.to_owned(), Some(node));
        if let Some(parent) = uri::parent(path) {
            self.tree.touch(parent, Some(self.now));
        }
    }

    /// Creates the interior nodes along `path` that are missing, the last one included.
    fn ensure_path(&mut self, path: &str) -> TreeResult<()> {
        let mut cur = String::new();
        for seg in path.split('/').filter(|s| !s.is_empty()) {
            cur = uri::join(&cur, seg);
            match self.tree.nodes.get(&cur) {
                Some(n) if n.is_interior() => {}
                Some(_) => return Err(StatusCode::COMMAND_NOT_ALLOWED),
                None => self.create(&cur.clone(), Node::interior()),
            }
        }
        Ok(())
    }

    /// Makes sure an interior node exists at `uri` (and its parents).
    ///
    /// # Errors
    /// The URI's status; 405 when a node on the way is a leaf.
    pub fn ensure_interior(&mut self, uri: &str) -> TreeResult<()> {
        let path = self.tree.node_path(uri)?;
        self.ensure_path(&path)
    }

    /// Sets the value and Format of the leaf at `uri`, creating it and its parents when missing.
    ///
    /// # Errors
    /// The URI's status; 405 when `uri` is the root or an interior node, or a parent is a leaf; 415 when
    /// the value does not suit `format` (or `format` is `node`).
    pub fn set_value(&mut self, uri: &str, value: impl Into<Vec<u8>>, format: Format) -> TreeResult<()> {
        let path = self.tree.node_path(uri)?;
        let value = value.into();
        let Some(parent) = uri::parent(&path) else { return Err(StatusCode::COMMAND_NOT_ALLOWED) };
        if format == Format::Node || !format.accepts(&value) {
            return Err(StatusCode::UNSUPPORTED_MEDIA_TYPE);
        }
        self.ensure_path(parent)?;
        match self.tree.nodes.get(&path).cloned() {
            Some(n) if n.is_interior() => Err(StatusCode::COMMAND_NOT_ALLOWED),
            Some(mut n) => {
                n.kind = NodeKind::Leaf { value };
                n.props.format = format;
                n.touch(Some(self.now));
                self.tree.put(path, Some(n));
                Ok(())
            }
            None => {
                self.create(&path, Node::leaf(value, format));
                Ok(())
            }
        }
    }

    /// [`Self::set_value`] with Format `chr`.
    ///
    /// # Errors
    /// As [`Self::set_value`].
    pub fn set_text(&mut self, uri: &str, text: &str) -> TreeResult<()> {
        self.set_value(uri, text.as_bytes().to_vec(), Format::Chr)
    }

    fn edit(&mut self, uri: &str, f: impl FnOnce(&mut Node)) -> TreeResult<()> {
        let path = self.tree.node_path(uri)?;
        let mut n = self.tree.nodes.get(&path).cloned().ok_or(StatusCode::NOT_FOUND)?;
        f(&mut n);
        n.touch(Some(self.now));
        self.tree.put(path, Some(n));
        Ok(())
    }

    /// Sets the ACL of the node at `uri`. The root's ACL cannot be emptied.
    ///
    /// # Errors
    /// 404 when absent; 405 for an empty root ACL; the URI's status.
    pub fn set_acl(&mut self, uri: &str, acl: Acl) -> TreeResult<()> {
        if acl.is_empty() && self.tree.node_path(uri)?.is_empty() {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        }
        self.edit(uri, |n| n.props.acl = acl)
    }

    /// Sets the Title of the node at `uri`.
    ///
    /// # Errors
    /// 404 when absent; the URI's status.
    pub fn set_title(&mut self, uri: &str, title: Option<String>) -> TreeResult<()> {
        self.edit(uri, |n| n.props.title = title)
    }

    /// Sets the Type of the node at `uri`.
    ///
    /// # Errors
    /// 404 when absent; the URI's status.
    pub fn set_type(&mut self, uri: &str, node_type: Option<String>) -> TreeResult<()> {
        self.edit(uri, |n| n.props.node_type = node_type)
    }

    /// Sets the Scope of the node at `uri`.
    ///
    /// # Errors
    /// 404 when absent; the URI's status.
    pub fn set_scope(&mut self, uri: &str, scope: Scope) -> TreeResult<()> {
        self.edit(uri, |n| n.props.scope = scope)
    }

    /// Deletes the node at `uri` and its subtree (permanent nodes included: the device may).
    ///
    /// # Errors
    /// 404 when absent; 405 for the root; the URI's status.
    pub fn delete(&mut self, uri: &str) -> TreeResult<()> {
        let path = self.tree.node_path(uri)?;
        let Some(parent) = uri::parent(&path).map(str::to_owned) else {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        };
        if !self.tree.nodes.contains_key(&path) {
            return Err(StatusCode::NOT_FOUND);
        }
        for k in self.tree.subtree_keys(&path).into_iter().rev() {
            self.tree.put(k, None);
        }
        self.tree.touch(&parent, Some(self.now));
        Ok(())
    }
}

/// Why a snapshot could not be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("snapshot node {path:?}: {reason}")]
pub struct RestoreError {
    /// The offending node's path (empty for the root or the snapshot as a whole).
    pub path: String,
    /// What is wrong.
    pub reason: &'static str,
}

/// The persistent state of a [`DmTree`] (nodes, limits, queued alerts; not the MOs' DDFs and plugins, which
/// are code and are registered again at start-up). Serialises with serde, node values as hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeSnapshot {
    /// Format version ([`TreeSnapshot::VERSION`]).
    pub version: u32,
    /// The limits.
    pub limits: TreeLimits,
    /// Every node by normalised path (root = `""`).
    pub nodes: BTreeMap<String, Node>,
    /// Queued Generic Alerts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<GenericAlert>,
}

impl TreeSnapshot {
    /// The current snapshot format version.
    pub const VERSION: u32 = 1;

    /// Checks that the snapshot is a consistent tree: a root that is interior with an ACL value, every other
    /// key a well-formed path whose parent exists and is interior, interior nodes (only) with Format `node`,
    /// no more nodes than the limit.
    ///
    /// # Errors
    /// The first inconsistency found.
    pub fn validate(&self) -> Result<(), RestoreError> {
        let err = |path: &str, reason| Err(RestoreError { path: path.to_owned(), reason });
        if self.version != Self::VERSION {
            return err("", "unknown snapshot version");
        }
        if self.nodes.len() > self.limits.max_nodes {
            return err("", "more nodes than max_nodes");
        }
        match self.nodes.get("") {
            Some(root) if root.is_interior() && !root.props.acl.is_empty() => {}
            _ => return err("", "the root must exist, be interior and have an ACL value"),
        }
        let unlimited = UriLimits { max_depth: 0, max_tot_len: 0, max_seg_len: 0 };
        for (path, node) in &self.nodes {
            if node.is_interior() != (node.props.format == Format::Node) {
                return err(path, "Format is node exactly for interior nodes");
            }
            let Some(parent) = uri::parent(path) else { continue };
            if path.split('/').any(|s| uri::check_segment(s, &unlimited).is_err()) {
                return err(path, "not a well-formed path");
            }
            if !self.nodes.get(parent).is_some_and(Node::is_interior) {
                return err(path, "the parent is missing or a leaf");
            }
        }
        Ok(())
    }
}

impl Serialize for DmTree {
    /// Serialises the [`TreeSnapshot`] (committed state, no plugins).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.snapshot().serialize(s)
    }
}

impl<'de> Deserialize<'de> for DmTree {
    /// Deserialises a [`TreeSnapshot`] into a tree with no MOs registered (see [`DmTree::from_snapshot`]).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let snap = TreeSnapshot::deserialize(d)?;
        Self::from_snapshot(snap).map_err(serde::de::Error::custom)
    }
}

//! The file system of the simulated UICC (TS 102 221 §8, ISO/IEC 7816-4 §7; TS 51.011 §6 for the 2G
//! view): the MF, DFs, ADFs (reached by AID), transparent and linear-fixed EFs, links, access conditions,
//! short file identifiers, and the two select responses (the FCP template of TS 102 221 §11.1.1.3 and the
//! GSM response of TS 51.011 §9.2.1).
//!
//! - [`FileSystem`]: an arena of [`Node`]s; the MF is the root of the shared tree, every ADF is a root of
//!   its own (TS 102 221 §8.1), reached by AID or, once selected, through FID `7FFF`.
//! - [`Selection`]: the current DF, EF, record and ADF of one session (the terminal's, or an RFM
//!   session's), with the selection rules of TS 102 221 §8.4.1 ([`FileSystem::select_fid`]).
//! - [`AccessCondition`]: who may read and update an EF (always, PIN1, ADM1, never), per file from the
//!   card profile.
//!
//! # Decisions
//!
//! - A [`NodeKind::Link`] EF shares the contents of another EF (so `DF_GSM/6F07` can be the 2G view of
//!   `ADF.USIM/6F07`, as on real cards); it has its own FID, SFI and access conditions.
//! - Security attributes in the FCP: when the profile gives an EF_ARR reference for a file, tag `8B` with
//!   it; otherwise the compact format `8C` (ISO/IEC 7816-4 §9.3.3.1) with access mode `03` (UPDATE, READ)
//!   and one security condition byte each: `00` always, `FF` never, and for a PIN "user authentication"
//!   (b5) with the low nibble of the key reference of TS 102 221 Table 9.3 in b4–b1: `11` PIN1, `1A`
//!   ADM1. Real cards reference EF_ARR records; the compact form keeps the simulator self-contained.
//! - In the 2G GSM response, ADM1 is access condition nibble `A` (TS 51.011 allows `4`–`E` for
//!   administrative levels; `A` mirrors key reference `0A`).

use m2msim_codec::sim::fid;
use serde::{Deserialize, Serialize};

/// Index of a node in the [`FileSystem`] arena.
pub type NodeId = usize;

/// Most nodes a file system may hold (a bound on what a profile file can make the simulator allocate).
pub const MAX_NODES: usize = 1024;
/// Largest transparent EF body.
pub const MAX_EF_SIZE: usize = 0x7FFF;
/// Most records of a linear-fixed EF (P1 numbers records 1..=254, TS 102 221 §10.1.5).
pub const MAX_RECORDS: usize = 254;

/// Who may perform an action on a file (TS 102 221 §9.2; TS 51.011 §9.3 for the 2G view).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessCondition {
    /// No condition (`ALW`).
    Always,
    /// PIN1 verified (key reference `01`; CHV1 in the 2G view).
    Pin1,
    /// ADM1 verified (key reference `0A`), or an OTA session with full access.
    Adm1,
    /// Never (`NEV`).
    Never,
}

impl AccessCondition {
    /// The security condition byte of the compact format (see the module docs).
    #[must_use]
    pub const fn compact_sc(self) -> u8 {
        match self {
            Self::Always => 0x00,
            Self::Pin1 => 0x11,
            Self::Adm1 => 0x1A,
            Self::Never => 0xFF,
        }
    }

    /// The access condition nibble of the 2G GSM response (TS 51.011 §9.3): `0` ALW, `1` CHV1, `A` ADM,
    /// `F` NEV.
    #[must_use]
    pub const fn gsm_nibble(self) -> u8 {
        match self {
            Self::Always => 0x0,
            Self::Pin1 => 0x1,
            Self::Adm1 => 0xA,
            Self::Never => 0xF,
        }
    }
}

/// The contents of an EF (TS 102 221 §8.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EfBody {
    /// A transparent EF: a byte string of fixed size.
    Transparent(Vec<u8>),
    /// A linear-fixed EF: records of one length.
    LinearFixed {
        /// Length of every record (1..=255).
        record_len: u8,
        /// The records, each `record_len` bytes.
        records: Vec<Vec<u8>>,
    },
}

impl EfBody {
    /// The file size: the body length, or record length × number of records.
    #[must_use]
    pub fn size(&self) -> usize {
        match self {
            Self::Transparent(d) => d.len(),
            Self::LinearFixed { record_len, records } => usize::from(*record_len) * records.len(),
        }
    }
}

/// What a node is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    /// The master file `3F00`.
    Mf,
    /// A dedicated file.
    Df,
    /// An application dedicated file, selected by AID (its FID is `7FFF` once selected).
    Adf {
        /// The application identifier.
        aid: Vec<u8>,
    },
    /// An elementary file with its contents.
    Ef(EfBody),
    /// An EF sharing the contents of another EF (see the module docs).
    Link(NodeId),
}

/// One file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The file identifier (`7FFF` for an ADF).
    pub fid: u16,
    /// A name for paths and listings (`USIM` for ADF.USIM, `EF_IMSI` …).
    pub label: Option<String>,
    /// What it is.
    pub kind: NodeKind,
    /// The parent DF (`None` for the MF and for ADFs).
    pub parent: Option<NodeId>,
    /// Children, in creation order.
    pub children: Vec<NodeId>,
    /// Short file identifier (1..=30), EFs only.
    pub sfi: Option<u8>,
    /// Condition for READ BINARY / READ RECORD.
    pub read: AccessCondition,
    /// Condition for UPDATE BINARY / UPDATE RECORD.
    pub update: AccessCondition,
    /// EF_ARR reference for the FCP tag `8B` (FID and record number), if the profile gives one.
    pub arr: Option<Vec<u8>>,
}

impl Node {
    /// True for the MF, a DF or an ADF.
    #[must_use]
    pub const fn is_directory(&self) -> bool {
        matches!(self.kind, NodeKind::Mf | NodeKind::Df | NodeKind::Adf { .. })
    }
}

/// What the FCP and the GSM response say about the PINs (TS 102 221 §9.5.2, TS 51.011 §9.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinSummary {
    /// PIN1 verification is enabled.
    pub pin1_enabled: bool,
    /// Attempts left for PIN1.
    pub pin1_left: u8,
    /// Attempts left for the PIN1 unblock key.
    pub puk1_left: u8,
}

/// The current files of one session (TS 102 221 §8.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    /// The current directory (MF, DF or ADF).
    pub df: NodeId,
    /// The current EF, if one is selected.
    pub ef: Option<NodeId>,
    /// The current record of a linear-fixed EF (0-based), if any.
    pub record: Option<usize>,
    /// The active ADF, which `7FFF` names.
    pub adf: Option<NodeId>,
}

impl Selection {
    /// The MF selected, no EF, no ADF (the state after a reset).
    #[must_use]
    pub const fn at(df: NodeId) -> Self {
        Self { df, ef: None, record: None, adf: None }
    }

    /// The current file: the EF if one is selected, else the DF.
    #[must_use]
    pub fn current(&self) -> NodeId {
        self.ef.unwrap_or(self.df)
    }
}

/// Why a file system could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FsError {
    /// Two files with one FID under one DF, or two ADFs with one AID.
    #[error("{path}: duplicate file")]
    Duplicate {
        /// The path.
        path: String,
    },
    /// The parent of a file does not exist or is not a directory.
    #[error("{path}: parent missing or not a directory")]
    NoParent {
        /// The path.
        path: String,
    },
    /// A link to a file that is not an EF (or a link).
    #[error("{path}: link target {target} is not an EF")]
    BadLink {
        /// The path.
        path: String,
        /// The target path.
        target: String,
    },
    /// A rule about sizes, SFIs or FIDs is broken.
    #[error("{path}: {reason}")]
    Invalid {
        /// The path.
        path: String,
        /// The rule.
        reason: &'static str,
    },
}

/// A file to add under a directory ([`FileSystem::add`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    /// Its FID.
    pub fid: u16,
    /// A name.
    pub label: Option<String>,
    /// What it is (not the MF or an ADF).
    pub kind: NodeKind,
    /// Its SFI (EFs only).
    pub sfi: Option<u8>,
    /// Read condition.
    pub read: AccessCondition,
    /// Update condition.
    pub update: AccessCondition,
}

impl NewFile {
    /// A DF.
    #[must_use]
    pub const fn df(fid: u16) -> Self {
        Self {
            fid,
            label: None,
            kind: NodeKind::Df,
            sfi: None,
            read: AccessCondition::Always,
            update: AccessCondition::Adm1,
        }
    }

    /// An EF (or link) with its SFI and access conditions.
    #[must_use]
    pub const fn ef(
        fid: u16,
        kind: NodeKind,
        sfi: Option<u8>,
        read: AccessCondition,
        update: AccessCondition,
    ) -> Self {
        Self { fid, label: None, kind, sfi, read, update }
    }
}

/// The card's files: an arena with the MF at index 0 and the ADFs as separate roots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSystem {
    nodes: Vec<Node>,
    adfs: Vec<NodeId>,
}

impl Default for FileSystem {
    fn default() -> Self {
        Self::new()
    }
}

impl FileSystem {
    /// The MF alone.
    #[must_use]
    pub fn new() -> Self {
        Self {
            nodes: vec![Node {
                fid: fid::MF,
                label: Some("MF".into()),
                kind: NodeKind::Mf,
                parent: None,
                children: Vec::new(),
                sfi: None,
                read: AccessCondition::Always,
                update: AccessCondition::Adm1,
                arr: None,
            }],
            adfs: Vec::new(),
        }
    }

    /// The MF.
    #[must_use]
    pub const fn mf(&self) -> NodeId {
        0
    }

    /// The node.
    #[must_use]
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id)
    }

    /// Every node, in arena order (the MF first).
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, &Node)> {
        self.nodes.iter().enumerate()
    }

    /// The ADFs, in creation order.
    #[must_use]
    pub fn adfs(&self) -> &[NodeId] {
        &self.adfs
    }

    /// A readable path: `3F00/7F20/6F07`, `ADF.USIM/6F07`.
    #[must_use]
    pub fn path_of(&self, id: NodeId) -> String {
        let mut parts = Vec::new();
        let mut cur = Some(id);
        while let Some(c) = cur {
            let Some(n) = self.nodes.get(c) else { break };
            parts.push(match &n.kind {
                NodeKind::Adf { .. } => format!("ADF.{}", n.label.as_deref().unwrap_or("?")),
                _ => format!("{:04X}", n.fid),
            });
            cur = n.parent;
            if parts.len() > MAX_NODES {
                break;
            }
        }
        parts.reverse();
        parts.join("/")
    }

    fn push(&mut self, node: Node) -> Result<NodeId, FsError> {
        if self.nodes.len() >= MAX_NODES {
            return Err(FsError::Invalid { path: node.label.unwrap_or_default(), reason: "too many files" });
        }
        self.nodes.push(node);
        Ok(self.nodes.len() - 1)
    }

    /// Adds an ADF with its AID (5..=16 bytes, TS 101 220 §4) and a label for paths (`USIM`).
    ///
    /// # Errors
    /// [`FsError::Duplicate`] for an AID already present, [`FsError::Invalid`] for a bad AID length.
    pub fn add_adf(&mut self, label: &str, aid: Vec<u8>) -> Result<NodeId, FsError> {
        let path = format!("ADF.{label}");
        if !(5..=16).contains(&aid.len()) {
            return Err(FsError::Invalid { path, reason: "an AID has 5 to 16 bytes" });
        }
        if self.adfs.iter().any(|&a| {
            self.nodes.get(a).is_some_and(|n| {
                matches!(&n.kind, NodeKind::Adf { aid: x } if *x == aid) || n.label.as_deref() == Some(label)
            })
        }) {
            return Err(FsError::Duplicate { path });
        }
        let id = self.push(Node {
            fid: fid::CURRENT_ADF,
            label: Some(label.to_owned()),
            kind: NodeKind::Adf { aid },
            parent: None,
            children: Vec::new(),
            sfi: None,
            read: AccessCondition::Always,
            update: AccessCondition::Adm1,
            arr: None,
        })?;
        self.adfs.push(id);
        Ok(id)
    }

    /// Adds a file under the directory `parent`.
    ///
    /// # Errors
    /// [`FsError`] for a missing parent, a duplicate FID, a reserved FID, an SFI out of range or used twice,
    /// a body too large, records of the wrong length, or a link to something that is not an EF.
    pub fn add(&mut self, parent: NodeId, file: NewFile) -> Result<NodeId, FsError> {
        let NewFile { fid, label, kind, sfi, read, update } = file;
        let path = format!("{}/{fid:04X}", self.path_of(parent));
        if !self.nodes.get(parent).is_some_and(Node::is_directory) {
            return Err(FsError::NoParent { path });
        }
        if fid == fid::MF || fid == fid::CURRENT_ADF || fid == 0xFFFF {
            return Err(FsError::Invalid { path, reason: "FID 3F00, 7FFF and FFFF are reserved" });
        }
        if self.child_by_fid(parent, fid).is_some() {
            return Err(FsError::Duplicate { path });
        }
        match &kind {
            NodeKind::Mf | NodeKind::Adf { .. } => {
                return Err(FsError::Invalid { path, reason: "MF and ADFs are roots" });
            }
            NodeKind::Ef(EfBody::Transparent(d)) if d.len() > MAX_EF_SIZE => {
                return Err(FsError::Invalid { path, reason: "transparent EF larger than 32767 bytes" });
            }
            NodeKind::Ef(EfBody::LinearFixed { record_len, records }) => {
                if *record_len == 0 || records.is_empty() || records.len() > MAX_RECORDS {
                    return Err(FsError::Invalid {
                        path,
                        reason: "a linear-fixed EF has 1..=254 records of 1..=255 bytes",
                    });
                }
                if records.iter().any(|r| r.len() != usize::from(*record_len)) {
                    return Err(FsError::Invalid { path, reason: "a record differs from the record length" });
                }
            }
            NodeKind::Link(t) => {
                if !matches!(self.nodes.get(*t).map(|n| &n.kind), Some(NodeKind::Ef(_))) {
                    return Err(FsError::BadLink { path, target: self.path_of(*t) });
                }
            }
            NodeKind::Df | NodeKind::Ef(EfBody::Transparent(_)) => {}
        }
        let is_ef = matches!(kind, NodeKind::Ef(_) | NodeKind::Link(_));
        if let Some(s) = sfi {
            if !is_ef || !(1..=30).contains(&s) {
                return Err(FsError::Invalid { path, reason: "an SFI (1..=30) belongs to an EF" });
            }
            if self.ef_by_sfi(parent, s).is_some() {
                return Err(FsError::Invalid { path, reason: "SFI used twice in one directory" });
            }
        }
        let id = self.push(Node {
            fid,
            label,
            kind,
            parent: Some(parent),
            children: Vec::new(),
            sfi,
            read,
            update,
            arr: None,
        })?;
        if let Some(p) = self.nodes.get_mut(parent) {
            p.children.push(id);
        }
        Ok(id)
    }

    /// Sets the EF_ARR reference of a node (the FCP then carries tag `8B` with it).
    pub fn set_arr(&mut self, id: NodeId, arr: Option<Vec<u8>>) {
        if let Some(n) = self.nodes.get_mut(id) {
            n.arr = arr;
        }
    }

    /// The child of `df` with this FID.
    #[must_use]
    pub fn child_by_fid(&self, df: NodeId, fid: u16) -> Option<NodeId> {
        self.nodes
            .get(df)?
            .children
            .iter()
            .copied()
            .find(|&c| self.nodes.get(c).is_some_and(|n| n.fid == fid))
    }

    /// The EF of `df` with this SFI.
    #[must_use]
    pub fn ef_by_sfi(&self, df: NodeId, sfi: u8) -> Option<NodeId> {
        self.nodes
            .get(df)?
            .children
            .iter()
            .copied()
            .find(|&c| self.nodes.get(c).is_some_and(|n| n.sfi == Some(sfi)))
    }

    /// The parent directory as selection sees it: the MF for an ADF, `None` for the MF.
    #[must_use]
    pub fn parent_dir(&self, id: NodeId) -> Option<NodeId> {
        let n = self.nodes.get(id)?;
        match n.kind {
            NodeKind::Adf { .. } => Some(self.mf()),
            _ => n.parent,
        }
    }

    /// The ADF whose AID starts with `aid` (right truncation allowed, TS 102 221 §8.4.2: at least the RID,
    /// 5 bytes).
    #[must_use]
    pub fn adf_by_aid(&self, aid: &[u8]) -> Option<NodeId> {
        if aid.len() < 5 {
            return None;
        }
        self.adfs.iter().copied().find(|&a| {
            matches!(self.nodes.get(a).map(|n| &n.kind), Some(NodeKind::Adf { aid: full }) if full.starts_with(aid))
        })
    }

    /// The ADF with this label (`USIM`).
    #[must_use]
    pub fn adf_by_label(&self, label: &str) -> Option<NodeId> {
        self.adfs
            .iter()
            .copied()
            .find(|&a| self.nodes.get(a).is_some_and(|n| n.label.as_deref() == Some(label)))
    }

    /// The file a FID selects from `sel` (TS 102 221 §8.4.1): the MF, the current ADF (`7FFF`), the current
    /// DF, a child of the current DF, the parent of the current DF, or a DF child of that parent.
    #[must_use]
    pub fn select_fid(&self, sel: &Selection, fid: u16) -> Option<NodeId> {
        if fid == fid::MF {
            return Some(self.mf());
        }
        if fid == fid::CURRENT_ADF {
            return sel.adf;
        }
        let df = sel.df;
        if self.nodes.get(df).is_some_and(|n| n.fid == fid) {
            return Some(df);
        }
        if let Some(c) = self.child_by_fid(df, fid) {
            return Some(c);
        }
        let parent = self.parent_dir(df)?;
        if self.nodes.get(parent).is_some_and(|n| n.fid == fid) {
            return Some(parent);
        }
        self.child_by_fid(parent, fid).filter(|&c| self.nodes.get(c).is_some_and(Node::is_directory))
    }

    /// The file a path of FIDs leads to from `start`, each FID a child of the previous directory; `7FFF`
    /// names the current ADF (`adf`) and is allowed first only.
    #[must_use]
    pub fn walk(&self, start: NodeId, path: &[u16], adf: Option<NodeId>) -> Option<NodeId> {
        let mut cur = start;
        for (i, &f) in path.iter().enumerate() {
            if !self.nodes.get(cur)?.is_directory() {
                return None;
            }
            cur = if f == fid::CURRENT_ADF && i == 0 { adf? } else { self.child_by_fid(cur, f)? };
        }
        Some(cur)
    }

    /// The EF holding the contents of `id` (the link target for a link, `id` itself for an EF).
    #[must_use]
    pub fn data_node(&self, id: NodeId) -> Option<NodeId> {
        match self.nodes.get(id)?.kind {
            NodeKind::Link(t) => Some(t),
            NodeKind::Ef(_) => Some(id),
            _ => None,
        }
    }

    /// The contents of an EF (following a link).
    #[must_use]
    pub fn body(&self, id: NodeId) -> Option<&EfBody> {
        match &self.nodes.get(self.data_node(id)?)?.kind {
            NodeKind::Ef(b) => Some(b),
            _ => None,
        }
    }

    /// The contents of an EF (following a link), to change them.
    pub fn body_mut(&mut self, id: NodeId) -> Option<&mut EfBody> {
        let d = self.data_node(id)?;
        match &mut self.nodes.get_mut(d)?.kind {
            NodeKind::Ef(b) => Some(b),
            _ => None,
        }
    }

    /// The EF at `path` from the MF (for tests and the terminal): e.g. `[0x7F20, 0x6F07]`.
    #[must_use]
    pub fn ef_at(&self, root: NodeId, path: &[u16]) -> Option<&EfBody> {
        self.body(self.walk(root, path, None)?)
    }

    /// The FCP template of a file (TS 102 221 §11.1.1.3), tag `62`.
    #[must_use]
    pub fn fcp(&self, id: NodeId, pins: PinSummary) -> Vec<u8> {
        let Some(n) = self.nodes.get(id) else { return Vec::new() };
        let mut v = Vec::with_capacity(48);
        match &n.kind {
            NodeKind::Mf | NodeKind::Df | NodeKind::Adf { .. } => {
                tlv(&mut v, 0x82, &[0x78, 0x21]);
                tlv(&mut v, 0x83, &n.fid.to_be_bytes());
                if let NodeKind::Adf { aid } = &n.kind {
                    tlv(&mut v, 0x84, aid);
                }
                // Proprietary information: UICC characteristics (clock stop allowed, no preferred level).
                tlv(&mut v, 0xA5, &[0x80, 0x01, 0x71]);
                tlv(&mut v, 0x8A, &[0x05]);
                match &n.arr {
                    Some(arr) => tlv(&mut v, 0x8B, arr),
                    None => tlv(&mut v, 0x8C, &[0x00]),
                }
                // PIN status template DO: PS_DO (PIN1 enabled b8, ADM1 always b7), key references 01, 0A.
                let ps = if pins.pin1_enabled { 0xC0 } else { 0x40 };
                tlv(&mut v, 0xC6, &[0x90, 0x01, ps, 0x83, 0x01, 0x01, 0x83, 0x01, 0x0A]);
            }
            NodeKind::Ef(_) | NodeKind::Link(_) => {
                let body = self.body(id);
                match body {
                    Some(EfBody::LinearFixed { record_len, records }) => {
                        // Record count ≤ 254 (checked when added).
                        tlv(&mut v, 0x82, &[0x42, 0x21, 0x00, *record_len, records.len() as u8]);
                    }
                    _ => tlv(&mut v, 0x82, &[0x41, 0x21]),
                }
                tlv(&mut v, 0x83, &n.fid.to_be_bytes());
                tlv(&mut v, 0x8A, &[0x05]);
                match &n.arr {
                    Some(arr) => tlv(&mut v, 0x8B, arr),
                    None => tlv(&mut v, 0x8C, &[0x03, n.update.compact_sc(), n.read.compact_sc()]),
                }
                let size = body.map_or(0, EfBody::size);
                tlv(&mut v, 0x80, &u16::try_from(size).unwrap_or(u16::MAX).to_be_bytes());
                match n.sfi {
                    Some(s) => tlv(&mut v, 0x88, &[s << 3]),
                    None => tlv(&mut v, 0x88, &[]),
                }
            }
        }
        let mut out = Vec::with_capacity(v.len() + 3);
        tlv(&mut out, 0x62, &v);
        out
    }

    /// The 2G response to SELECT / STATUS (TS 51.011 §9.2.1): 22 bytes for the MF or a DF, 15 for an EF.
    #[must_use]
    pub fn gsm_response(&self, id: NodeId, pins: PinSummary) -> Vec<u8> {
        let Some(n) = self.nodes.get(id) else { return Vec::new() };
        let [f1, f2] = n.fid.to_be_bytes();
        match &n.kind {
            NodeKind::Mf | NodeKind::Df | NodeKind::Adf { .. } => {
                let dfs = n.children.iter().filter(|&&c| self.nodes.get(c).is_some_and(Node::is_directory));
                let n_df = dfs.count();
                let n_ef = n.children.len() - n_df;
                let kind = if matches!(n.kind, NodeKind::Mf) { 0x01 } else { 0x02 };
                let chv1_disabled = if pins.pin1_enabled { 0x00 } else { 0x80 };
                vec![
                    0x00,
                    0x00,
                    0x00,
                    0x00, // memory not allocated: the simulator has no such limit
                    f1,
                    f2,
                    kind,
                    0x00,
                    0x00,
                    0x00,
                    0x00,
                    0x00,
                    0x09, // length of the GSM specific data that follows
                    chv1_disabled,
                    u8::try_from(n_df).unwrap_or(u8::MAX),
                    u8::try_from(n_ef).unwrap_or(u8::MAX),
                    0x04, // CHVs, UNBLOCK CHVs and administrative codes
                    0x00,
                    0x80 | (pins.pin1_left & 0x0F),
                    0x80 | (pins.puk1_left & 0x0F),
                    0x00, // CHV2 not initialised
                    0x00,
                ]
            }
            NodeKind::Ef(_) | NodeKind::Link(_) => {
                let body = self.body(id);
                let size = u16::try_from(body.map_or(0, EfBody::size)).unwrap_or(u16::MAX).to_be_bytes();
                let (structure, rl) = match body {
                    Some(EfBody::LinearFixed { record_len, .. }) => (0x01, *record_len),
                    _ => (0x00, 0x00),
                };
                let update = n.update.gsm_nibble();
                vec![
                    0x00,
                    0x00,
                    size[0],
                    size[1],
                    f1,
                    f2,
                    0x04,
                    0x00,
                    (n.read.gsm_nibble() << 4) | update,
                    0xF0, // INCREASE never
                    (update << 4) | update,
                    0x01, // not invalidated
                    0x02,
                    structure,
                    rl,
                ]
            }
        }
    }
}

/// Writes a BER-TLV with a one-byte tag and a short or `81 xx` length (every FCP object is below 256).
fn tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    // Values here are at most a few dozen bytes; an FCP never reaches 256.
    if value.len() > 127 {
        out.push(0x81);
    }
    out.push(value.len() as u8);
    out.extend_from_slice(value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use m2msim_codec::Decode;
    use m2msim_codec::tlv::ber::{BerTlv, Tag};

    const PINS: PinSummary = PinSummary { pin1_enabled: true, pin1_left: 3, puk1_left: 10 };

    fn small() -> (FileSystem, NodeId, NodeId, NodeId) {
        let mut fs = FileSystem::new();
        let mf = fs.mf();
        let gsm = fs.add(mf, NewFile::df(0x7F20)).unwrap();
        let adf = fs.add_adf("USIM", hex::decode("A0000000871002FF49FF0589").unwrap()).unwrap();
        let body = NodeKind::Ef(EfBody::Transparent(hex::decode("080910101032547698").unwrap()));
        let imsi = fs
            .add(adf, NewFile::ef(0x6F07, body, Some(7), AccessCondition::Pin1, AccessCondition::Adm1))
            .unwrap();
        fs.add(
            gsm,
            NewFile::ef(0x6F07, NodeKind::Link(imsi), None, AccessCondition::Pin1, AccessCondition::Adm1),
        )
        .unwrap();
        (fs, gsm, adf, imsi)
    }

    #[test]
    fn selection_rules_of_102_221() {
        let (fs, gsm, adf, imsi) = small();
        let mut sel = Selection::at(fs.mf());
        assert_eq!(fs.select_fid(&sel, 0x7F20), Some(gsm));
        assert_eq!(fs.select_fid(&sel, 0x7FFF), None, "no ADF active yet");
        assert_eq!(fs.select_fid(&sel, 0x6F07), None, "not a child of the MF");
        sel.adf = Some(adf);
        sel.df = adf;
        assert_eq!(fs.select_fid(&sel, 0x6F07), Some(imsi));
        assert_eq!(fs.select_fid(&sel, 0x7FFF), Some(adf));
        // A DF sibling through the parent (the MF is the ADF's parent for selection).
        assert_eq!(fs.select_fid(&sel, 0x7F20), Some(gsm));
        assert_eq!(fs.walk(fs.mf(), &[0x7FFF, 0x6F07], Some(adf)), Some(imsi));
        assert_eq!(fs.walk(fs.mf(), &[0x7F20, 0x7FFF], Some(adf)), None, "7FFF only first");
        assert_eq!(fs.adf_by_aid(&hex::decode("A000000087").unwrap()), Some(adf));
        assert_eq!(fs.adf_by_aid(&hex::decode("A0000000").unwrap()), None, "shorter than a RID");
        assert_eq!(fs.path_of(imsi), "ADF.USIM/6F07");
    }

    #[test]
    fn link_shares_contents() {
        let (mut fs, gsm, _, imsi) = small();
        let link = fs.child_by_fid(gsm, 0x6F07).unwrap();
        if let Some(EfBody::Transparent(d)) = fs.body_mut(link) {
            d[8] = 0x99;
        }
        assert_eq!(fs.body(imsi), Some(&EfBody::Transparent(hex::decode("080910101032547699").unwrap())));
    }

    #[test]
    fn building_rules() {
        let (mut fs, gsm, adf, imsi) = small();
        let ef = |d: &str| NodeKind::Ef(EfBody::Transparent(hex::decode(d).unwrap()));
        let (a, u) = (AccessCondition::Always, AccessCondition::Adm1);
        assert!(matches!(
            fs.add(adf, NewFile::ef(0x6F07, ef("00"), None, a, u)),
            Err(FsError::Duplicate { .. })
        ));
        assert!(matches!(
            fs.add(imsi, NewFile::ef(0x6F08, ef("00"), None, a, u)),
            Err(FsError::NoParent { .. })
        ));
        assert!(matches!(
            fs.add(adf, NewFile::ef(0x6F08, ef("00"), Some(7), a, u)),
            Err(FsError::Invalid { .. })
        ));
        assert!(matches!(
            fs.add(adf, NewFile::ef(0x6F08, ef("00"), Some(31), a, u)),
            Err(FsError::Invalid { .. })
        ));
        assert!(matches!(
            fs.add(gsm, NewFile::ef(0x6F09, NodeKind::Link(gsm), None, a, u)),
            Err(FsError::BadLink { .. })
        ));
        let bad = NodeKind::Ef(EfBody::LinearFixed { record_len: 2, records: vec![vec![0; 3]] });
        assert!(matches!(fs.add(adf, NewFile::ef(0x6F0A, bad, None, a, u)), Err(FsError::Invalid { .. })));
        assert!(matches!(fs.add_adf("X", vec![0xA0; 3]), Err(FsError::Invalid { .. })));
    }

    #[test]
    fn fcp_of_an_ef_and_an_adf() {
        let (fs, _, adf, imsi) = small();
        let fcp = fs.fcp(imsi, PINS);
        assert_eq!(hex::encode_upper(&fcp), "62178202412183026F078A01058C03031A1180020009880138");
        let t = BerTlv::decode_exact(&fcp).unwrap();
        assert_eq!(t.find(Tag::one(0x83)).and_then(BerTlv::primitive_value), Some(&[0x6F, 0x07][..]));
        let fcp = fs.fcp(adf, PINS);
        let t = BerTlv::decode_exact(&fcp).unwrap();
        assert_eq!(
            t.find(Tag::one(0x84)).and_then(BerTlv::primitive_value).map(hex::encode_upper).as_deref(),
            Some("A0000000871002FF49FF0589")
        );
        assert_eq!(t.find(Tag::one(0x82)).and_then(BerTlv::primitive_value), Some(&[0x78, 0x21][..]));
    }

    #[test]
    fn gsm_responses() {
        let (fs, gsm, _, _) = small();
        let r = fs.gsm_response(fs.mf(), PINS);
        assert_eq!(r.len(), 0x16);
        assert_eq!(&r[4..7], &[0x3F, 0x00, 0x01]);
        assert_eq!((r[14], r[15]), (1, 0), "one DF (7F20), no EF under the MF");
        assert_eq!(r[18], 0x83);
        let link = fs.child_by_fid(gsm, 0x6F07).unwrap();
        let r = fs.gsm_response(link, PINS);
        assert_eq!(hex::encode_upper(&r), "000000096F0704001AF0AA01020000");
    }
}

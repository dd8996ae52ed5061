//! Tag code pages of the WBXML languages SyncML DM uses: SyncML 1.1 / 1.2 (page 0) with MetInf (page 1),
//! OMA DM DDF 1.2 (page 2, its own document type) and SyncML DevInf 1.1 / 1.2 (page 0, its own document type).
//!
//! Sources: SyncML Representation Protocol 1.1 §8 and OMA-TS-SyncML_RepPro-V1_2 §8 (page 0),
//! OMA-TS-SyncML_MetaInfo-V1_2 §9 (page 1), OMA-TS-DM_TND-V1_2 Annex (DDF page 2), SyncML DevInf 1.1 / 1.2
//! WBXML annexes. The tables were checked token by token against libwbxml 0.11.8 (`xml2wbxml`) and the RTK
//! output in the AOSP corpus (see `omadm.md` §2.3–2.4).
//!
//! The main types are [`Language`] (a document type: public identifier, FPI, DTD, root element and its
//! pages) and [`Namespace`] (the XML namespace of one page). Lookups are `match` statements, so that a
//! name → token lookup costs a few comparisons and no allocation.
//!
//! Decision: the SyncML 1.1 table also holds `SourceParent` (0x39), a SyncML 1.2 tag that libwbxml accepts in
//! 1.1 documents because Nokia phones send it; token 0x30 ("reserved for future use") has no name.

use serde::{Deserialize, Serialize};

macro_rules! code_page {
    ($(#[$m:meta])* $modname:ident { $($tok:literal => $name:literal,)* }) => {
        $(#[$m])*
        pub mod $modname {
            /// Tag name of `token` (tag byte without the attribute and content bits) on this page.
            #[must_use]
            pub const fn name(token: u8) -> Option<&'static str> {
                match token {
                    $($tok => Some($name),)*
                    _ => None,
                }
            }

            /// Token of the tag called `name` on this page.
            #[must_use]
            pub fn token(name: &str) -> Option<u8> {
                // A perfect hash of an integer key of the name, then one check of the name itself (the
                // key alone for names of up to 16 bytes, which it holds whole).
                let b = name.as_bytes();
                let k = super::key_rt(b);
                let i = HASH.1[super::slot(k, HASH.0)];
                let &(kk, t, n) = KEYS.get(usize::from(i).checked_sub(1)?)?;
                (kk == k && (b.len() <= 16 || super::eq_bytes(n.as_bytes(), b))).then_some(t)
            }

            const KEYS: &[(u128, u8, &str)] = &[$((super::key($name.as_bytes()), $tok, $name),)*];
            const HASH: (u64, [u8; 256]) = super::perfect(KEYS);

            /// Every `(token, name)` pair of the page, in token order.
            pub const ALL: &[(u8, &str)] = &[$(($tok, $name),)*];
        }
    };
}

/// Byte-string equality without a `memcmp` call for the short strings of namespace URIs and tag names
/// (overlapping 8-byte words for 8–16 bytes).
#[inline]
#[must_use]
pub(crate) fn eq_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], i: usize| {
        s.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()).map(u64::from_ne_bytes)
    };
    match n {
        0..8 => a.iter().zip(b).all(|(x, y)| x == y),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

/// An integer key of a name for the lookup tables (the same at compile time and at run time): the first
/// and last eight bytes for names of 8 bytes or more (overlapping), the bytes for shorter ones; the length
/// is folded into the top bits. Different names may share a key; lookups check the name itself.
#[inline]
const fn key(b: &[u8]) -> u128 {
    let n = b.len();
    let (lo, hi) = if n >= 8 {
        (word(b, 0), word(b, n - 8))
    } else {
        let mut lo = 0u64;
        let mut i = 0;
        while i < n {
            lo |= (b[i] as u64) << (8 * i);
            i += 1;
        }
        (lo, 0)
    };
    ((hi as u128) << 64 | lo as u128) ^ ((n as u128) << 120)
}

/// [`key`] at run time, with overlapping loads instead of a byte loop for names under 8 bytes (the
/// overlapping bytes are the same, so OR-ing the two loads gives the bytes in place).
#[inline]
fn key_rt(b: &[u8]) -> u128 {
    let n = b.len();
    let le8 =
        |i: usize| b.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()).map_or(0, u64::from_le_bytes);
    let le4 =
        |i: usize| b.get(i..i + 4).and_then(|w| <[u8; 4]>::try_from(w).ok()).map_or(0, u32::from_le_bytes);
    let le2 =
        |i: usize| b.get(i..i + 2).and_then(|w| <[u8; 2]>::try_from(w).ok()).map_or(0, u16::from_le_bytes);
    let (lo, hi) = match n {
        8.. => (le8(0), le8(n - 8)),
        4..8 => (u64::from(le4(0)) | u64::from(le4(n - 4)) << (8 * (n - 4)), 0),
        2..4 => (u64::from(le2(0)) | u64::from(le2(n - 2)) << (8 * (n - 2)), 0),
        1 => (b.first().map_or(0, |&c| u64::from(c)), 0),
        _ => (0, 0),
    };
    ((hi as u128) << 64 | lo as u128) ^ ((n as u128) << 120)
}

/// Eight bytes at `i` as a little-endian integer (`i + 8 <= b.len()`).
#[inline]
const fn word(b: &[u8], i: usize) -> u64 {
    u64::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3], b[i + 4], b[i + 5], b[i + 6], b[i + 7]])
}

/// The slot of key `k` in a 256-entry table under multiplier `seed`.
#[inline]
const fn slot(k: u128, seed: u64) -> usize {
    // The high word is rotated: for 8-byte names both words are the same bytes.
    let x = (k as u64) ^ ((k >> 64) as u64).rotate_left(29);
    (x.wrapping_mul(seed) >> 56) as usize
}

/// Finds, at compile time, a multiplier under which every key has its own slot, and the table of
/// `index + 1` per slot (0 = empty).
const fn perfect(keys: &[(u128, u8, &str)]) -> (u64, [u8; 256]) {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    loop {
        let mut table = [0u8; 256];
        let mut ok = true;
        let mut i = 0;
        while i < keys.len() {
            let s = slot(keys[i].0, seed);
            if table[s] != 0 {
                ok = false;
                break;
            }
            table[s] = (i + 1) as u8;
            i += 1;
        }
        if ok {
            return (seed, table);
        }
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407) | 1;
    }
}

code_page! {
    /// SyncML 1.1 page 0 (SyncML Representation Protocol 1.1 §8.2), plus `SourceParent` (0x39) as libwbxml.
    syncml11 {
        0x05 => "Add", 0x06 => "Alert", 0x07 => "Archive", 0x08 => "Atomic", 0x09 => "Chal", 0x0A => "Cmd",
        0x0B => "CmdID", 0x0C => "CmdRef", 0x0D => "Copy", 0x0E => "Cred", 0x0F => "Data", 0x10 => "Delete",
        0x11 => "Exec", 0x12 => "Final", 0x13 => "Get", 0x14 => "Item", 0x15 => "Lang", 0x16 => "LocName",
        0x17 => "LocURI", 0x18 => "Map", 0x19 => "MapItem", 0x1A => "Meta", 0x1B => "MsgID", 0x1C => "MsgRef",
        0x1D => "NoResp", 0x1E => "NoResults", 0x1F => "Put", 0x20 => "Replace", 0x21 => "RespURI",
        0x22 => "Results", 0x23 => "Search", 0x24 => "Sequence", 0x25 => "SessionID", 0x26 => "SftDel",
        0x27 => "Source", 0x28 => "SourceRef", 0x29 => "Status", 0x2A => "Sync", 0x2B => "SyncBody",
        0x2C => "SyncHdr", 0x2D => "SyncML", 0x2E => "Target", 0x2F => "TargetRef", 0x31 => "VerDTD",
        0x32 => "VerProto", 0x33 => "NumberOfChanges", 0x34 => "MoreData", 0x39 => "SourceParent",
    }
}

code_page! {
    /// SyncML 1.2 page 0 (OMA-TS-SyncML_RepPro-V1_2 §8.2.1).
    syncml12 {
        0x05 => "Add", 0x06 => "Alert", 0x07 => "Archive", 0x08 => "Atomic", 0x09 => "Chal", 0x0A => "Cmd",
        0x0B => "CmdID", 0x0C => "CmdRef", 0x0D => "Copy", 0x0E => "Cred", 0x0F => "Data", 0x10 => "Delete",
        0x11 => "Exec", 0x12 => "Final", 0x13 => "Get", 0x14 => "Item", 0x15 => "Lang", 0x16 => "LocName",
        0x17 => "LocURI", 0x18 => "Map", 0x19 => "MapItem", 0x1A => "Meta", 0x1B => "MsgID", 0x1C => "MsgRef",
        0x1D => "NoResp", 0x1E => "NoResults", 0x1F => "Put", 0x20 => "Replace", 0x21 => "RespURI",
        0x22 => "Results", 0x23 => "Search", 0x24 => "Sequence", 0x25 => "SessionID", 0x26 => "SftDel",
        0x27 => "Source", 0x28 => "SourceRef", 0x29 => "Status", 0x2A => "Sync", 0x2B => "SyncBody",
        0x2C => "SyncHdr", 0x2D => "SyncML", 0x2E => "Target", 0x2F => "TargetRef", 0x31 => "VerDTD",
        0x32 => "VerProto", 0x33 => "NumberOfChanges", 0x34 => "MoreData", 0x35 => "Field", 0x36 => "Filter",
        0x37 => "Record", 0x38 => "FilterType", 0x39 => "SourceParent", 0x3A => "TargetParent", 0x3B => "Move",
        0x3C => "Correlator",
    }
}

code_page! {
    /// MetInf 1.1 page 1 (SyncML Meta Information 1.1 §6).
    metinf11 {
        0x05 => "Anchor", 0x06 => "EMI", 0x07 => "Format", 0x08 => "FreeID", 0x09 => "FreeMem", 0x0A => "Last",
        0x0B => "Mark", 0x0C => "MaxMsgSize", 0x0D => "Mem", 0x0E => "MetInf", 0x0F => "Next",
        0x10 => "NextNonce", 0x11 => "SharedMem", 0x12 => "Size", 0x13 => "Type", 0x14 => "Version",
        0x15 => "MaxObjSize",
    }
}

code_page! {
    /// MetInf 1.2 page 1 (OMA-TS-SyncML_MetaInfo-V1_2 §9): 1.1 plus `FieldLevel`.
    metinf12 {
        0x05 => "Anchor", 0x06 => "EMI", 0x07 => "Format", 0x08 => "FreeID", 0x09 => "FreeMem", 0x0A => "Last",
        0x0B => "Mark", 0x0C => "MaxMsgSize", 0x0D => "Mem", 0x0E => "MetInf", 0x0F => "Next",
        0x10 => "NextNonce", 0x11 => "SharedMem", 0x12 => "Size", 0x13 => "Type", 0x14 => "Version",
        0x15 => "MaxObjSize", 0x16 => "FieldLevel",
    }
}

code_page! {
    /// OMA DM DDF 1.2 page 2 (OMA-TS-DM_TND-V1_2, WBXML code page of the DDF DTD).
    dmddf12 {
        0x05 => "AccessType", 0x06 => "ACL", 0x07 => "Add", 0x08 => "b64", 0x09 => "bin", 0x0A => "bool",
        0x0B => "chr", 0x0C => "CaseSense", 0x0D => "CIS", 0x0E => "Copy", 0x0F => "CS", 0x10 => "date",
        0x11 => "DDFName", 0x12 => "DefaultValue", 0x13 => "Delete", 0x14 => "Description", 0x15 => "DFFormat",
        0x16 => "DFProperties", 0x17 => "DFTitle", 0x18 => "DFType", 0x19 => "Dynamic", 0x1A => "Exec",
        0x1B => "float", 0x1C => "Format", 0x1D => "Get", 0x1E => "int", 0x1F => "Man", 0x20 => "MgmtTree",
        0x21 => "MIME", 0x22 => "Mod", 0x23 => "Name", 0x24 => "Node", 0x25 => "node", 0x26 => "NodeName",
        0x27 => "null", 0x28 => "Occurrence", 0x29 => "One", 0x2A => "OneOrMore", 0x2B => "OneOrN",
        0x2C => "Path", 0x2D => "Permanent", 0x2E => "Replace", 0x2F => "RTProperties", 0x30 => "Scope",
        0x31 => "Size", 0x32 => "time", 0x33 => "Title", 0x34 => "TStamp", 0x35 => "Type", 0x36 => "Value",
        0x37 => "VerDTD", 0x38 => "VerNo", 0x39 => "xml", 0x3A => "ZeroOrMore", 0x3B => "ZeroOrN",
        0x3C => "ZeroOrOne",
    }
}

code_page! {
    /// SyncML DevInf 1.1 page 0 (SyncML Device Information 1.1 §6).
    devinf11 {
        0x05 => "CTCap", 0x06 => "CTType", 0x07 => "DataStore", 0x08 => "DataType", 0x09 => "DevID",
        0x0A => "DevInf", 0x0B => "DevTyp", 0x0C => "DisplayName", 0x0D => "DSMem", 0x0E => "Ext", 0x0F => "FwV",
        0x10 => "HwV", 0x11 => "Man", 0x12 => "MaxGUIDSize", 0x13 => "MaxID", 0x14 => "MaxMem", 0x15 => "Mod",
        0x16 => "OEM", 0x17 => "ParamName", 0x18 => "PropName", 0x19 => "Rx", 0x1A => "Rx-Pref",
        0x1B => "SharedMem", 0x1C => "Size", 0x1D => "SourceRef", 0x1E => "SwV", 0x1F => "SyncCap",
        0x20 => "SyncType", 0x21 => "Tx", 0x22 => "Tx-Pref", 0x23 => "ValEnum", 0x24 => "VerCT",
        0x25 => "VerDTD", 0x26 => "XNam", 0x27 => "XVal", 0x28 => "UTC", 0x29 => "SupportNumberOfChanges",
        0x2A => "SupportLargeObjs",
    }
}

code_page! {
    /// SyncML DevInf 1.2 page 0 (OMA-TS-DS_DevInf-V1_2 §6); 0x1C is `MaxSize` here, 0x2F is unassigned.
    devinf12 {
        0x05 => "CTCap", 0x06 => "CTType", 0x07 => "DataStore", 0x08 => "DataType", 0x09 => "DevID",
        0x0A => "DevInf", 0x0B => "DevTyp", 0x0C => "DisplayName", 0x0D => "DSMem", 0x0E => "Ext", 0x0F => "FwV",
        0x10 => "HwV", 0x11 => "Man", 0x12 => "MaxGUIDSize", 0x13 => "MaxID", 0x14 => "MaxMem", 0x15 => "Mod",
        0x16 => "OEM", 0x17 => "ParamName", 0x18 => "PropName", 0x19 => "Rx", 0x1A => "Rx-Pref",
        0x1B => "SharedMem", 0x1C => "MaxSize", 0x1D => "SourceRef", 0x1E => "SwV", 0x1F => "SyncCap",
        0x20 => "SyncType", 0x21 => "Tx", 0x22 => "Tx-Pref", 0x23 => "ValEnum", 0x24 => "VerCT",
        0x25 => "VerDTD", 0x26 => "XNam", 0x27 => "XVal", 0x28 => "UTC", 0x29 => "SupportNumberOfChanges",
        0x2A => "SupportLargeObjs", 0x2B => "Property", 0x2C => "PropParam", 0x2D => "MaxOccur",
        0x2E => "NoTruncate", 0x30 => "Filter-Rx", 0x31 => "FilterCap", 0x32 => "FilterKeyword",
        0x33 => "FieldLevel", 0x34 => "SupportHierarchicalSync",
    }
}

/// Well-known WBXML public identifiers (WAP-192-WBXML §7.2.1 registry, OMA registrations).
pub mod public_id {
    /// SyncML 1.0 (`-//SYNCML//DTD SyncML 1.0//EN`).
    pub const SYNCML_10: u32 = 0x0FD1;
    /// SyncML DevInf 1.0.
    pub const DEVINF_10: u32 = 0x0FD2;
    /// SyncML 1.1 (`-//SYNCML//DTD SyncML 1.1//EN`), bytes `9F 53`.
    pub const SYNCML_11: u32 = 0x0FD3;
    /// SyncML DevInf 1.1.
    pub const DEVINF_11: u32 = 0x0FD4;
    /// SyncML 1.2 (`-//SYNCML//DTD SyncML 1.2//EN`), bytes `A4 01`.
    pub const SYNCML_12: u32 = 0x1201;
    /// SyncML MetInf 1.2.
    pub const METINF_12: u32 = 0x1202;
    /// SyncML DevInf 1.2, bytes `A4 03`.
    pub const DEVINF_12: u32 = 0x1203;
}

/// A WBXML document type this crate has code pages for.
///
/// SyncML 1.0 and DevInf 1.0 are not supported (DM is built on SyncML 1.1 and 1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// SyncML 1.1 (DM 1.1.2): pages 0 (SyncML) and 1 (MetInf).
    SyncMl11,
    /// SyncML 1.2 (DM 1.2): pages 0 (SyncML) and 1 (MetInf).
    SyncMl12,
    /// SyncML DevInf 1.1: page 0.
    DevInf11,
    /// SyncML DevInf 1.2: page 0.
    DevInf12,
    /// OMA DM DDF 1.2 (TNDS / DDF documents): page 2.
    DmDdf12,
}

/// The XML namespace of a code page, independent of the language version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Namespace {
    /// `SYNCML:SYNCML1.1` / `SYNCML:SYNCML1.2` (page 0 of SyncML).
    SyncMl,
    /// `syncml:metinf` (page 1 of SyncML).
    MetInf,
    /// `syncml:dmddf1.2` (page 2 of the DDF language).
    DmDdf,
    /// `syncml:devinf` (page 0 of DevInf).
    DevInf,
}

impl Language {
    /// Every supported language.
    pub const ALL: [Self; 5] =
        [Self::SyncMl11, Self::SyncMl12, Self::DevInf11, Self::DevInf12, Self::DmDdf12];

    /// The numeric WBXML public identifier, if one is registered (DDF has none: it is sent as a literal FPI).
    #[must_use]
    pub const fn public_id(self) -> Option<u32> {
        match self {
            Self::SyncMl11 => Some(public_id::SYNCML_11),
            Self::SyncMl12 => Some(public_id::SYNCML_12),
            Self::DevInf11 => Some(public_id::DEVINF_11),
            Self::DevInf12 => Some(public_id::DEVINF_12),
            Self::DmDdf12 => None,
        }
    }

    /// The formal public identifier of the DTD.
    #[must_use]
    pub const fn fpi(self) -> &'static str {
        match self {
            Self::SyncMl11 => "-//SYNCML//DTD SyncML 1.1//EN",
            Self::SyncMl12 => "-//SYNCML//DTD SyncML 1.2//EN",
            Self::DevInf11 => "-//SYNCML//DTD DevInf 1.1//EN",
            Self::DevInf12 => "-//SYNCML//DTD DevInf 1.2//EN",
            Self::DmDdf12 => "-//OMA//DTD-DM-DDF 1.2//EN",
        }
    }

    /// The DTD system identifier (as libwbxml writes it in the DOCTYPE).
    #[must_use]
    pub const fn dtd(self) -> &'static str {
        match self {
            Self::SyncMl11 => "http://www.syncml.org/docs/syncml_represent_v11_20020213.dtd",
            Self::SyncMl12 => "http://www.openmobilealliance.org/tech/DTD/OMA-TS-SyncML_RepPro_DTD-V1_2.dtd",
            Self::DevInf11 => "http://www.syncml.org/docs/devinf_v11_20020215.dtd",
            Self::DevInf12 => {
                "http://www.openmobilealliance.org/tech/DTD/OMA-SyncML-Device_Information-DTD-1.2.dtd"
            }
            Self::DmDdf12 => "http://www.openmobilealliance.org/tech/DTD/dm_ddf-v1_2.dtd",
        }
    }

    /// Name of the root element.
    #[must_use]
    pub const fn root(self) -> &'static str {
        match self {
            Self::SyncMl11 | Self::SyncMl12 => "SyncML",
            Self::DevInf11 | Self::DevInf12 => "DevInf",
            Self::DmDdf12 => "MgmtTree",
        }
    }

    /// The code page the root element is on (and where a fresh encoder starts its page state: page 0).
    #[must_use]
    pub const fn root_page(self) -> u8 {
        match self {
            Self::DmDdf12 => 2,
            _ => 0,
        }
    }

    /// True for SyncML 1.1 and 1.2.
    #[must_use]
    pub const fn is_syncml(self) -> bool {
        matches!(self, Self::SyncMl11 | Self::SyncMl12)
    }

    /// The language of a numeric public identifier.
    #[must_use]
    pub const fn from_public_id(id: u32) -> Option<Self> {
        match id {
            public_id::SYNCML_11 => Some(Self::SyncMl11),
            public_id::SYNCML_12 => Some(Self::SyncMl12),
            public_id::DEVINF_11 => Some(Self::DevInf11),
            public_id::DEVINF_12 => Some(Self::DevInf12),
            _ => None,
        }
    }

    /// The language of a formal public identifier, compared ASCII case-insensitively (as libwbxml and
    /// XML catalogs do).
    #[must_use]
    pub fn from_fpi(fpi: &[u8]) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.fpi().as_bytes().eq_ignore_ascii_case(fpi))
    }

    /// The language of a DTD system identifier (exact match).
    #[must_use]
    pub fn from_dtd(system_id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.dtd() == system_id)
    }

    /// The language whose root element is in namespace `uri` (the root's `xmlns`).
    #[must_use]
    pub fn from_root_namespace(uri: &str) -> Option<Self> {
        let u = uri.as_bytes();
        [
            ("SYNCML:SYNCML1.1", Self::SyncMl11),
            ("SYNCML:SYNCML1.2", Self::SyncMl12),
            ("syncml:devinf", Self::DevInf12),
            ("syncml:dmddf1.2", Self::DmDdf12),
        ]
        .into_iter()
        .find(|(n, _)| eq_bytes(n.as_bytes(), u))
        .map(|(_, l)| l)
    }

    /// The language of a root element without any namespace or DOCTYPE (libwbxml picks the newest table).
    #[must_use]
    pub fn from_root_name(name: &str) -> Option<Self> {
        match name {
            "SyncML" => Some(Self::SyncMl12),
            "DevInf" => Some(Self::DevInf12),
            "MgmtTree" => Some(Self::DmDdf12),
            _ => None,
        }
    }

    /// The pages this language has.
    #[must_use]
    pub const fn pages(self) -> &'static [u8] {
        match self {
            Self::SyncMl11 | Self::SyncMl12 => &[0, 1],
            Self::DevInf11 | Self::DevInf12 => &[0],
            Self::DmDdf12 => &[2],
        }
    }

    /// The namespace of `page`, if the language has that page.
    #[must_use]
    pub const fn namespace(self, page: u8) -> Option<Namespace> {
        match (self, page) {
            (Self::SyncMl11 | Self::SyncMl12, 0) => Some(Namespace::SyncMl),
            (Self::SyncMl11 | Self::SyncMl12, 1) => Some(Namespace::MetInf),
            (Self::DevInf11 | Self::DevInf12, 0) => Some(Namespace::DevInf),
            (Self::DmDdf12, 2) => Some(Namespace::DmDdf),
            _ => None,
        }
    }

    /// The page of `ns` in this language.
    #[must_use]
    pub const fn page_of(self, ns: Namespace) -> Option<u8> {
        match (self, ns) {
            (Self::SyncMl11 | Self::SyncMl12, Namespace::SyncMl) => Some(0),
            (Self::SyncMl11 | Self::SyncMl12, Namespace::MetInf) => Some(1),
            (Self::DevInf11 | Self::DevInf12, Namespace::DevInf) => Some(0),
            (Self::DmDdf12, Namespace::DmDdf) => Some(2),
            _ => None,
        }
    }

    /// The namespace URI written in XML for `page` (`xmlns="…"`).
    #[must_use]
    pub const fn namespace_uri(self, page: u8) -> Option<&'static str> {
        match (self, page) {
            (Self::SyncMl11, 0) => Some("SYNCML:SYNCML1.1"),
            (Self::SyncMl12, 0) => Some("SYNCML:SYNCML1.2"),
            (Self::SyncMl11 | Self::SyncMl12, 1) => Some("syncml:metinf"),
            (Self::DevInf11 | Self::DevInf12, 0) => Some("syncml:devinf"),
            (Self::DmDdf12, 2) => Some("syncml:dmddf1.2"),
            _ => None,
        }
    }

    /// The page whose namespace URI is `uri` in this language.
    #[must_use]
    pub fn page_of_uri(self, uri: &str) -> Option<u8> {
        self.pages()
            .iter()
            .copied()
            .find(|&p| self.namespace_uri(p).is_some_and(|n| eq_bytes(n.as_bytes(), uri.as_bytes())))
    }

    /// The tag name of `token` (without attribute/content bits) on `page`.
    #[must_use]
    pub const fn tag_name(self, page: u8, token: u8) -> Option<&'static str> {
        match (self, page) {
            (Self::SyncMl11, 0) => syncml11::name(token),
            (Self::SyncMl12, 0) => syncml12::name(token),
            (Self::SyncMl11, 1) => metinf11::name(token),
            (Self::SyncMl12, 1) => metinf12::name(token),
            (Self::DevInf11, 0) => devinf11::name(token),
            (Self::DevInf12, 0) => devinf12::name(token),
            (Self::DmDdf12, 2) => dmddf12::name(token),
            _ => None,
        }
    }

    /// The token of `name` on `page`.
    #[must_use]
    pub fn tag_token_on(self, page: u8, name: &str) -> Option<u8> {
        match (self, page) {
            (Self::SyncMl11, 0) => syncml11::token(name),
            (Self::SyncMl12, 0) => syncml12::token(name),
            (Self::SyncMl11, 1) => metinf11::token(name),
            (Self::SyncMl12, 1) => metinf12::token(name),
            (Self::DevInf11, 0) => devinf11::token(name),
            (Self::DevInf12, 0) => devinf12::token(name),
            (Self::DmDdf12, 2) => dmddf12::token(name),
            _ => None,
        }
    }

    /// The `(page, token)` of `name`, looking at `preferred` first and then at every page in order (as
    /// libwbxml's `wbxml_tables_get_tag_from_xml` does; SyncML names are unique across pages anyway).
    #[must_use]
    pub fn tag_token(self, preferred: Option<u8>, name: &str) -> Option<(u8, u8)> {
        if let Some(p) = preferred
            && let Some(t) = self.tag_token_on(p, name)
        {
            return Some((p, t));
        }
        self.pages().iter().find_map(|&p| self.tag_token_on(p, name).map(|t| (p, t)))
    }

    /// The language of a DevInf document embedded in a SyncML message of this language.
    #[must_use]
    pub const fn devinf(self) -> Self {
        match self {
            Self::SyncMl11 | Self::DevInf11 => Self::DevInf11,
            _ => Self::DevInf12,
        }
    }
}

impl Namespace {
    /// The namespace of an XML namespace URI (either SyncML version maps to [`Namespace::SyncMl`]).
    #[must_use]
    pub fn from_uri(uri: &str) -> Option<Self> {
        let u = uri.as_bytes();
        [
            ("SYNCML:SYNCML1.1", Self::SyncMl),
            ("SYNCML:SYNCML1.2", Self::SyncMl),
            ("syncml:metinf", Self::MetInf),
            ("syncml:dmddf1.2", Self::DmDdf),
            ("syncml:devinf", Self::DevInf),
        ]
        .into_iter()
        .find(|(n, _)| eq_bytes(n.as_bytes(), u))
        .map(|(_, ns)| ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The run-time key is the compile-time one, and for names of up to 16 bytes the key holds the
        /// whole name (so the lookup may skip comparing the name).
        #[test]
        fn run_time_key_is_the_key(a in proptest::collection::vec(any::<u8>(), 0..24),
                                   b in proptest::collection::vec(any::<u8>(), 0..24)) {
            prop_assert_eq!(key_rt(&a), key(&a));
            if a.len() <= 16 && b.len() <= 16 {
                prop_assert_eq!(key(&a) == key(&b), a == b);
            }
        }

        /// A lookup finds a name exactly when the page has it, near misses included.
        #[test]
        fn lookup_is_exact(name in "[A-Za-z]{0,20}", page in 0u8..3) {
            for lang in [Language::SyncMl11, Language::SyncMl12, Language::DevInf12, Language::DmDdf12] {
                let want = (5..64u8).find(|&t| lang.tag_name(page, t) == Some(name.as_str()));
                prop_assert_eq!(lang.tag_token_on(page, &name), want);
            }
        }
    }

    #[test]
    fn spec_tokens() {
        // omadm.md §2.3: SyncML=0x2D (0x6D with content), Correlator 0x3C only in 1.2.
        assert_eq!(Language::SyncMl12.tag_token(None, "SyncML"), Some((0, 0x2D)));
        assert_eq!(Language::SyncMl12.tag_token(None, "Correlator"), Some((0, 0x3C)));
        assert_eq!(Language::SyncMl11.tag_token(None, "Correlator"), None);
        // §2.4: MetInf page 1, FieldLevel only in 1.2.
        assert_eq!(Language::SyncMl11.tag_token(Some(0), "MaxObjSize"), Some((1, 0x15)));
        assert_eq!(Language::SyncMl12.tag_token(None, "FieldLevel"), Some((1, 0x16)));
        assert_eq!(Language::SyncMl11.tag_token(None, "FieldLevel"), None);
        assert_eq!(Language::DmDdf12.tag_token(None, "MgmtTree"), Some((2, 0x20)));
        assert_eq!(Language::DmDdf12.tag_name(2, 0x25), Some("node"));
        assert_eq!(Language::DevInf12.tag_name(0, 0x1C), Some("MaxSize"));
        assert_eq!(Language::DevInf11.tag_name(0, 0x1C), Some("Size"));
        assert_eq!(Language::SyncMl12.tag_name(0, 0x30), None);
    }

    #[test]
    fn tables_are_consistent() {
        for lang in Language::ALL {
            for &page in lang.pages() {
                for t in 0u8..0x40 {
                    if let Some(n) = lang.tag_name(page, t) {
                        assert_eq!(lang.tag_token_on(page, n), Some(t), "{lang:?} {n}");
                        assert!(t >= 5);
                    }
                }
            }
        }
    }

    #[test]
    fn short_compares_and_keys() {
        for (a, b) in [
            ("", ""),
            ("a", "a"),
            ("Meta", "Meta"),
            ("SYNCML:SYNCML1.2", "SYNCML:SYNCML1.2"),
            ("x".repeat(40).as_str(), "x".repeat(40).as_str()),
        ] {
            assert!(eq_bytes(a.as_bytes(), b.as_bytes()));
        }
        for (a, b) in [
            ("a", "b"),
            ("Meta", "Met"),
            ("SYNCML:SYNCML1.2", "SYNCML:SYNCML1.1"),
            ("abcdefghij", "abcdefghik"),
            ("abcdefghij", "xbcdefghij"),
        ] {
            assert!(!eq_bytes(a.as_bytes(), b.as_bytes()));
        }
        // Names that share a key are told apart by the name check.
        assert_eq!(key(b"MaxMsgSize"), key(b"MaxMsgSize"));
        assert_eq!(syncml12::token("MaxMsgSize"), None);
        assert_eq!(metinf12::token("MaxMsgSizX"), None);
        assert_eq!(devinf12::token("SupportHierarchicalSync"), Some(0x34));
        assert_eq!(devinf12::token("SupportHierarchicalSynX"), None);
    }

    #[test]
    fn identifiers() {
        assert_eq!(Language::from_fpi(b"-//syncml//dtd syncml 1.1//en"), Some(Language::SyncMl11));
        assert_eq!(Language::from_public_id(0x1201), Some(Language::SyncMl12));
        assert_eq!(Language::from_public_id(0x1202), None);
        assert_eq!(Language::DmDdf12.public_id(), None);
        assert_eq!(Language::SyncMl12.page_of_uri("syncml:metinf"), Some(1));
        assert_eq!(Language::SyncMl12.page_of_uri("SYNCML:SYNCML1.1"), None);
        assert_eq!(Namespace::from_uri("SYNCML:SYNCML1.1"), Some(Namespace::SyncMl));
        assert_eq!(Language::from_root_name("SyncML"), Some(Language::SyncMl12));
    }
}

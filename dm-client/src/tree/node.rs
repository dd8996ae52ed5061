//! Nodes of the management tree and their run-time properties (OMA DM 1.2.1 TND §8.2, §8.3).
//!
//! Main types: [`Node`] ([`NodeKind`] + [`NodeProps`]) and [`DmTime`] (the time the caller passes in; the
//! tree reads no clock).
//!
//! Of the properties of TND §8.3.1, `Name` is implicit (the last segment of the node's key in the tree) and
//! `Size` is computed from the value; the others are stored here. `VerNo` is a 16-bit counter that wraps from
//! 65535 to 0 (decision: TND gives VerNo as a 16-bit number (from memory, \[M\]); wrapping keeps it
//! incrementing for ever).

use std::fmt;

use m2msim_codec::dm::ddf::{Format, Scope};
use serde::{Deserialize, Serialize};

use super::acl::Acl;

/// A point in time, seconds since 1970-01-01T00:00:00Z, passed in by the caller (the tree reads no clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DmTime(pub u64);

impl DmTime {
    /// The `TStamp` text (TND §8.3.7 TStamp): ISO 8601 basic format in UTC, e.g. `20010711T163817Z`.
    ///
    /// Decision: the TND transcription at hand does not show the TStamp clause; ISO 8601 basic UTC is what we
    /// remember of it (\[M\]) and is unambiguous for a server to parse.
    #[must_use]
    pub fn tstamp(self) -> String {
        let days = self.0 / 86_400;
        let secs = self.0 % 86_400;
        let (y, m, d) = civil_from_days(days);
        format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
    }
}

/// Year, month, day of the proleptic Gregorian calendar for a count of days since 1970-01-01 (the era
/// arithmetic of 400-year cycles of 146 097 days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so that leap days end each year.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// Interior or leaf (TND §8.2.2: a node whose Format is `node` is interior).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NodeKind {
    /// An interior node: its value is the list of its children.
    Interior,
    /// A leaf node with its value (opaque bytes, interpreted by the Format property).
    Leaf {
        /// The value.
        #[serde(with = "m2msim_codec::hexser")]
        value: Vec<u8>,
    },
}

impl fmt::Debug for NodeKind {
    /// Never prints the value (it may be a secret): only its length.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Interior => f.write_str("Interior"),
            Self::Leaf { value } => write!(f, "Leaf {{ {} byte(s) }}", value.len()),
        }
    }
}

/// The stored run-time properties of a node (TND §8.3), plus the permanence and secrecy flags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeProps {
    /// `ACL` (empty = inherit from the nearest ancestor with a value).
    #[serde(default, skip_serializing_if = "Acl::is_empty")]
    pub acl: Acl,
    /// `Format` (`node` for interior nodes).
    pub format: Format,
    /// `Type`: the MIME type of a leaf value, or the MO identifier (DDFName) of an interior node that roots
    /// an MO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_type: Option<String>,
    /// `Title`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `TStamp`: the time of the last change, if the tree was told one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tstamp: Option<DmTime>,
    /// `VerNo`: incremented (wrapping) on every change of the value or of a property.
    #[serde(default)]
    pub ver_no: u16,
    /// Permanent nodes (TND §8.2, DDF Scope) are made by the device and cannot be deleted or renamed by a
    /// server.
    #[serde(default)]
    pub scope: Scope,
    /// The value is a secret (its DDF denies Get): never printed by `Debug`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
}

impl NodeProps {
    /// The properties of a new node with `format`, dynamic, no ACL value.
    #[must_use]
    pub fn new(format: Format) -> Self {
        Self {
            acl: Acl::empty(),
            format,
            node_type: None,
            title: None,
            tstamp: None,
            ver_no: 0,
            scope: Scope::Dynamic,
            sensitive: false,
        }
    }
}

/// A node of the management tree (TND §8.2). Its name and position are its key in [`super::DmTree`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// Interior or leaf with its value.
    #[serde(flatten)]
    pub kind: NodeKind,
    /// Run-time properties.
    pub props: NodeProps,
}

impl Node {
    /// A new interior node (Format `node`).
    #[must_use]
    pub fn interior() -> Self {
        Self { kind: NodeKind::Interior, props: NodeProps::new(Format::Node) }
    }

    /// A new leaf node.
    #[must_use]
    pub fn leaf(value: Vec<u8>, format: Format) -> Self {
        Self { kind: NodeKind::Leaf { value }, props: NodeProps::new(format) }
    }

    /// True for an interior node.
    #[must_use]
    pub fn is_interior(&self) -> bool {
        matches!(self.kind, NodeKind::Interior)
    }

    /// The value of a leaf (`None` for an interior node).
    #[must_use]
    pub fn value(&self) -> Option<&[u8]> {
        match &self.kind {
            NodeKind::Leaf { value } => Some(value),
            NodeKind::Interior => None,
        }
    }

    /// True for a permanent node.
    #[must_use]
    pub fn is_permanent(&self) -> bool {
        self.props.scope == Scope::Permanent
    }

    /// Records a change at `now`: VerNo + 1 (wrapping) and TStamp.
    pub(crate) fn touch(&mut self, now: Option<DmTime>) {
        self.props.ver_no = self.props.ver_no.wrapping_add(1);
        if now.is_some() {
            self.props.tstamp = now;
        }
    }
}

impl fmt::Debug for Node {
    /// Prints the value (as text when it is printable UTF-8, else hex) unless the node is sensitive.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Node");
        match &self.kind {
            NodeKind::Interior => s.field("kind", &"interior"),
            NodeKind::Leaf { .. } if self.props.sensitive => s.field("value", &format_args!("<redacted>")),
            NodeKind::Leaf { value } => match std::str::from_utf8(value) {
                Ok(t) if !t.chars().any(char::is_control) => s.field("value", &t),
                _ => s.field("value", &format_args!("0x{}", hex_string(value))),
            },
        };
        s.field("props", &self.props).finish()
    }
}

fn hex_string(b: &[u8]) -> String {
    use fmt::Write as _;
    b.iter().fold(String::with_capacity(b.len() * 2), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tstamp_is_iso8601_basic_utc() {
        assert_eq!(DmTime(994_869_497).tstamp(), "20010711T163817Z");
        assert_eq!(DmTime(0).tstamp(), "19700101T000000Z");
        assert_eq!(DmTime(951_868_799).tstamp(), "20000229T235959Z");
        assert_eq!(DmTime(4_107_542_400).tstamp(), "21000301T000000Z");
    }

    #[test]
    fn verno_wraps_and_tstamp_is_set() {
        let mut n = Node::leaf(b"x".to_vec(), Format::Chr);
        n.props.ver_no = u16::MAX;
        n.touch(Some(DmTime(5)));
        assert_eq!(n.props.ver_no, 0);
        assert_eq!(n.props.tstamp, Some(DmTime(5)));
        n.touch(None);
        assert_eq!((n.props.ver_no, n.props.tstamp), (1, Some(DmTime(5))));
    }

    #[test]
    fn debug_redacts_sensitive_values() {
        let mut n = Node::leaf(b"hunter2".to_vec(), Format::Chr);
        assert!(format!("{n:?}").contains("hunter2"));
        n.props.sensitive = true;
        let d = format!("{n:?}");
        assert!(!d.contains("hunter2") && d.contains("<redacted>"), "{d}");
        assert!(!format!("{:?}", n.kind).contains("hunter2"));
        let bin = Node::leaf(vec![0, 1, 0xff], Format::Bin);
        assert!(format!("{bin:?}").contains("0x0001ff"));
    }

    #[test]
    fn serde_round_trip() {
        let mut n = Node::leaf(vec![0xde, 0xad], Format::Bin);
        n.props.acl = Acl::parse("Get=*").unwrap();
        n.props.tstamp = Some(DmTime(7));
        n.props.scope = Scope::Permanent;
        let json = serde_json::to_string(&n).unwrap();
        assert!(json.contains("\"kind\":\"leaf\"") && json.contains("\"value\":\"dead\""), "{json}");
        assert_eq!(serde_json::from_str::<Node>(&json).unwrap(), n);
        let i = Node::interior();
        let json = serde_json::to_string(&i).unwrap();
        assert_eq!(serde_json::from_str::<Node>(&json).unwrap(), i);
        // JSON → value → JSON is stable.
        assert_eq!(serde_json::to_string(&serde_json::from_str::<Node>(&json).unwrap()).unwrap(), json);
    }
}

//! The `ACL` node property (OMA DM 1.2.1 TND §8.3.7.1): which DM servers (by Server Identifier) may run which
//! command on a node, written `Add=*&Delete=srv1+srv2&Get=*`.
//!
//! Main types: [`Acl`] (an ordered list of [`AclEntry`]), [`AclCommand`], [`AclError`].
//!
//! Grammar (TND §8.3.7.1): entries `Command=ServerIds` joined by `&`; server identifiers joined by `+`; `*`
//! grants every server. The commands are `Add`, `Delete`, `Exec`, `Get` and `Replace` (Copy is checked
//! through Get and Add/Replace, see [`crate::tree`]). An empty string is an ACL with no value: the node
//! inherits the ACL of its nearest ancestor that has one (§8.3.7.1.1).
//!
//! The parsed value keeps the order of entries and identifiers as received, so `Acl::parse(s)?.to_string()
//! == s` for every accepted `s` (a server reading back the ACL it wrote sees the same text). Decisions where
//! the text leaves room: command names are case sensitive as printed in the spec; a command without any
//! server identifier (`Get=`) is rejected, since §8.3.7.1.1 says such a command MUST NOT be present; a
//! command may appear twice (`Get=a&Get=b`), each entry then grants; server identifiers may contain any
//! character but `&`, `+` and `=`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};

/// A command an ACL grants (TND §8.3.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AclCommand {
    /// `Add`: create children of the node.
    Add,
    /// `Delete`
    Delete,
    /// `Exec`
    Exec,
    /// `Get`
    Get,
    /// `Replace`
    Replace,
}

impl AclCommand {
    /// Every ACL command.
    pub const ALL: [Self; 5] = [Self::Add, Self::Delete, Self::Exec, Self::Get, Self::Replace];

    /// The name in the ACL text.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Add => "Add",
            Self::Delete => "Delete",
            Self::Exec => "Exec",
            Self::Get => "Get",
            Self::Replace => "Replace",
        }
    }

    /// Parses a command name (case sensitive).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// One `Command=id+id` entry of an ACL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AclEntry {
    /// The command granted.
    pub command: AclCommand,
    /// The Server Identifiers it is granted to (`*` = every server); never empty.
    pub servers: Vec<String>,
}

/// An ACL property value (TND §8.3.7.1); empty = no value (inherit).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Acl {
    entries: Vec<AclEntry>,
}

/// Why an ACL text was refused, with the byte offset in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset} of the ACL: {reason}")]
pub struct AclError {
    /// Byte offset of the problem in the ACL text.
    pub offset: usize,
    /// What was expected.
    pub reason: &'static str,
}

impl Acl {
    /// The ACL with no value (inherit from the parent).
    #[must_use]
    pub const fn empty() -> Self {
        Self { entries: Vec::new() }
    }

    /// Parses an ACL text; `""` gives the empty ACL.
    ///
    /// # Errors
    /// [`AclError`] for an unknown command, a missing `=`, an empty identifier list or identifier.
    pub fn parse(text: &str) -> Result<Self, AclError> {
        let mut entries = Vec::new();
        if text.is_empty() {
            return Ok(Self { entries });
        }
        let mut offset = 0usize;
        for part in text.split('&') {
            let Some((cmd, ids)) = part.split_once('=') else {
                return Err(AclError { offset, reason: "expected Command=ServerIds" });
            };
            let command = AclCommand::parse(cmd).ok_or(AclError {
                offset,
                reason: "expected one of the ACL commands Add, Delete, Exec, Get, Replace",
            })?;
            let mut id_offset = offset + cmd.len() + 1;
            if ids.is_empty() {
                return Err(AclError {
                    offset: id_offset,
                    reason: "a command without server identifiers must not be present",
                });
            }
            let mut servers = Vec::new();
            for id in ids.split('+') {
                if id.is_empty() || id.contains('=') {
                    return Err(AclError {
                        offset: id_offset,
                        reason: "expected a non-empty server identifier without '='",
                    });
                }
                servers.push(id.to_owned());
                id_offset += id.len() + 1;
            }
            entries.push(AclEntry { command, servers });
            offset += part.len() + 1;
        }
        Ok(Self { entries })
    }

    /// True when the ACL has no value.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries in order.
    #[must_use]
    pub fn entries(&self) -> &[AclEntry] {
        &self.entries
    }

    /// This ACL with `command` also granted to `server` (appended to the command's first entry, or as a new
    /// entry). Builders give the canonical form: one entry per command, in the order granted.
    #[must_use]
    pub fn grant(mut self, command: AclCommand, server: &str) -> Self {
        match self.entries.iter_mut().find(|e| e.command == command) {
            Some(e) => {
                if !e.servers.iter().any(|s| s == server) {
                    e.servers.push(server.to_owned());
                }
            }
            None => self.entries.push(AclEntry { command, servers: vec![server.to_owned()] }),
        }
        self
    }

    /// True when the ACL grants `command` to `server_id` (directly or through `*`).
    #[must_use]
    pub fn permits(&self, command: AclCommand, server_id: &str) -> bool {
        self.entries
            .iter()
            .filter(|e| e.command == command)
            .flat_map(|e| &e.servers)
            .any(|s| s == "*" || s == server_id)
    }

    /// True when the ACL grants `command` to every server (`*`).
    #[must_use]
    pub fn permits_all(&self, command: AclCommand) -> bool {
        self.permits(command, "*")
    }
}

impl fmt::Display for Acl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str("&")?;
            }
            write!(f, "{}={}", e.command.as_str(), e.servers.join("+"))?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Acl {
    type Err = AclError;
    fn from_str(s: &str) -> Result<Self, AclError> {
        Self::parse(s)
    }
}

impl Serialize for Acl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Acl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        Self::parse(&s).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spec_example_round_trips() {
        let text = "Add=*&Delete=srv1+srv2&Get=*";
        let acl = Acl::parse(text).unwrap();
        assert_eq!(acl.to_string(), text);
        assert!(acl.permits(AclCommand::Add, "anyone"));
        assert!(acl.permits(AclCommand::Delete, "srv2"));
        assert!(!acl.permits(AclCommand::Delete, "srv3"));
        assert!(!acl.permits(AclCommand::Replace, "srv1"));
        assert!(!acl.permits(AclCommand::Exec, "srv1"));
        assert!(acl.permits_all(AclCommand::Get) && !acl.permits_all(AclCommand::Delete));
        assert_eq!(serde_json::to_string(&acl).unwrap(), format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<Acl>(&format!("\"{text}\"")).unwrap(), acl);
    }

    #[test]
    fn empty_and_duplicates() {
        let e = Acl::parse("").unwrap();
        assert!(e.is_empty() && e.to_string().is_empty());
        assert!(!e.permits(AclCommand::Get, "x"));
        let d = Acl::parse("Get=a&Get=b").unwrap();
        assert!(d.permits(AclCommand::Get, "a") && d.permits(AclCommand::Get, "b"));
        assert_eq!(d.to_string(), "Get=a&Get=b");
    }

    #[test]
    fn errors_carry_offsets() {
        let err = |s: &str| Acl::parse(s).unwrap_err();
        assert_eq!(err("Get").offset, 0);
        assert_eq!(err("Get=*&Frob=*").offset, 6);
        assert_eq!(err("Get=*&Add=").offset, 10);
        assert_eq!(err("Get=a++b").offset, 6);
        assert_eq!(err("Get=a+b=c").offset, 6);
        assert_eq!(err("get=*").offset, 0);
        assert_eq!(err("Get=*&").offset, 6);
        assert!(err("Get=*&").to_string().starts_with("at byte 6 of the ACL: expected"));
        assert!(serde_json::from_str::<Acl>("\"Get\"").is_err());
    }

    #[test]
    fn builder_is_canonical() {
        let acl = Acl::empty()
            .grant(AclCommand::Add, "s1")
            .grant(AclCommand::Get, "s1")
            .grant(AclCommand::Add, "s2")
            .grant(AclCommand::Add, "s1");
        assert_eq!(acl.to_string(), "Add=s1+s2&Get=s1");
    }

    fn acl_text() -> impl Strategy<Value = String> {
        let id = prop_oneof![Just("*".to_owned()), "[a-zA-Z0-9._:-]{1,8}"];
        let cmd = prop::sample::select(AclCommand::ALL.to_vec());
        prop::collection::vec((cmd, prop::collection::vec(id, 1..4)), 0..6).prop_map(|es| {
            es.into_iter()
                .map(|(c, ids)| format!("{}={}", c.as_str(), ids.join("+")))
                .collect::<Vec<_>>()
                .join("&")
        })
    }

    proptest! {
        #[test]
        fn text_round_trips(text in acl_text()) {
            let acl = Acl::parse(&text).unwrap();
            prop_assert_eq!(acl.to_string(), text);
            let json = serde_json::to_string(&acl).unwrap();
            prop_assert_eq!(serde_json::from_str::<Acl>(&json).unwrap(), acl);
        }

        #[test]
        fn arbitrary_text_never_panics_and_round_trips_when_accepted(text in "[A-Za-z=&+*]{0,24}") {
            if let Ok(acl) = Acl::parse(&text) {
                prop_assert_eq!(acl.to_string(), text);
            }
        }
    }
}

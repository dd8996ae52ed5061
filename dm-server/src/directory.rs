//! The devices a server manages and their credentials (OMA DM 1.2.1 Security §5.1, StdObj §7.1.3.1
//! `AppAuth`): the [`DeviceDirectory`] trait the session engine asks, and [`InMemoryDirectory`].
//!
//! A [`DeviceRecord`] holds both directions of authentication, as the device's DM account does:
//! - [`DeviceRecord::client`] (the device's `CLCRED`): what the client must present to this server, with
//!   the nonce this server last issued for the client's next MD5 digest or HMAC;
//! - [`DeviceRecord::server`] (the device's `SRVCRED`): what this server presents to the client, with the
//!   nonce the client last issued to the server. Also the password and nonce of package 0's digest.
//!
//! The engine reads a record when a session's first message names the device (`SyncHdr/Source/LocURI`) and
//! writes back every nonce it issues or receives ([`DeviceDirectory::set_client_nonce`],
//! [`DeviceDirectory::set_server_nonce`]) before the message that carries it leaves, so that a store backed
//! by a database (issue 7) keeps them across sessions and restarts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use m2msim_codec::dm::auth::AuthType;
use m2msim_codec::syncml::DevInfo;
use serde::{Deserialize, Serialize};

pub use m2msim_codec::dm::auth::Secret;

/// How one side authenticates (DM 1.2.1 Security §5.1.3–§5.1.4; StdObj `AAuthType` BASIC, DIGEST, HMAC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthScheme {
    /// `syncml:auth-basic`: `Cred` with `B64(name:password)`.
    Basic,
    /// `syncml:auth-md5`: `Cred` with `B64(H(B64(H(name:password)):nonce))`.
    Md5,
    /// `syncml:auth-MAC`: the `x-syncml-hmac` transport header on every message.
    Hmac,
}

impl AuthScheme {
    /// The `Meta` `Type` of a `Cred` or `Chal` for this scheme.
    #[must_use]
    pub fn auth_type(self) -> AuthType {
        match self {
            Self::Basic => AuthType::Basic,
            Self::Md5 => AuthType::Md5,
            Self::Hmac => AuthType::Hmac,
        }
    }

    /// The scheme an `AuthType` names (`None` for types this server does not implement).
    #[must_use]
    pub fn from_auth_type(t: &AuthType) -> Option<Self> {
        match t {
            AuthType::Basic => Some(Self::Basic),
            AuthType::Md5 => Some(Self::Md5),
            AuthType::Hmac => Some(Self::Hmac),
            AuthType::Other(_) => None,
        }
    }
}

/// One direction's credentials (DM 1.2 `AppAuth/<x>`: `AAuthType`, `AAuthName`, `AAuthSecret`, `AAuthData`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// The scheme (for the client's credentials: the one this server requires, the device's policy).
    pub scheme: AuthScheme,
    /// The user name (`AAuthName`): the client's user name, or the server's identifier.
    pub name: String,
    /// The password (`AAuthSecret`).
    pub secret: Secret,
    /// The current nonce, raw bytes (`AAuthData`): for [`DeviceRecord::client`] the one this server issued,
    /// for [`DeviceRecord::server`] the one the client issued.
    #[serde(with = "m2msim_codec::hexser")]
    pub nonce: Vec<u8>,
}

impl Credentials {
    /// Credentials with `scheme`, `name`, `secret` and an initial `nonce`.
    #[must_use]
    pub fn new(
        scheme: AuthScheme,
        name: impl Into<String>,
        secret: impl Into<Vec<u8>>,
        nonce: impl Into<Vec<u8>>,
    ) -> Self {
        Self { scheme, name: name.into(), secret: Secret::new(secret), nonce: nonce.into() }
    }
}

/// What the server knows about one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    /// The device's identifier: the `LocURI` of its messages' `SyncHdr/Source` (usually `./DevInfo/DevId`,
    /// e.g. `IMEI:493005100592800`).
    pub device_id: String,
    /// The client's credentials toward this server and the policy: `scheme` is the one scheme accepted.
    pub client: Credentials,
    /// This server's credentials toward the device, if it authenticates itself (sent in the first message
    /// of each session and whenever the client challenges; also the package 0 digest key). `None`: the
    /// server sends no credentials, and a client challenge ends the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<Credentials>,
}

/// The devices and their credentials, as the session engine needs them.
///
/// Implemented in memory by [`InMemoryDirectory`]; the network layer backs it with its store. Calls happen
/// inside [`crate::session::ServerSession::handle_input`], in the order the protocol needs them; a nonce is
/// written before the message carrying it is returned.
pub trait DeviceDirectory {
    /// The record of `device_id`, or `None` for an unknown device (which is then challenged like a wrong
    /// password, so that a client cannot probe which devices exist).
    fn device(&mut self, device_id: &str) -> Option<DeviceRecord>;

    /// Stores the nonce this server issued (a `Chal` `NextNonce`) for the client's next credential.
    fn set_client_nonce(&mut self, device_id: &str, nonce: &[u8]);

    /// Stores the nonce the client issued (in a `Chal` of its `Status` for our `SyncHdr`) for this server's
    /// next credential. Called only once the client has authenticated (DM 1.2.1 Security §5.1: a nonce from
    /// an unauthenticated peer is not stored).
    fn set_server_nonce(&mut self, device_id: &str, nonce: &[u8]);

    /// Records the `./DevInfo` values the client sent in package 1 (default: ignored).
    fn record_dev_info(&mut self, device_id: &str, info: &DevInfo) {
        let _ = (device_id, info);
    }
}

#[derive(Debug, Default)]
struct DirectoryState {
    devices: HashMap<String, DeviceRecord>,
    dev_info: HashMap<String, DevInfo>,
}

/// A [`DeviceDirectory`] in memory. Clones share the same records (so a test or an admin task can hold one
/// handle while sessions hold others).
#[derive(Debug, Clone, Default)]
pub struct InMemoryDirectory {
    inner: Arc<Mutex<DirectoryState>>,
}

impl InMemoryDirectory {
    /// An empty directory.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, DirectoryState> {
        // A panic while holding the lock leaves consistent data (every update is one assignment).
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds or replaces a device.
    pub fn insert(&self, record: DeviceRecord) {
        self.state().devices.insert(record.device_id.clone(), record);
    }

    /// Removes a device.
    pub fn remove(&self, device_id: &str) -> Option<DeviceRecord> {
        self.state().devices.remove(device_id)
    }

    /// A copy of a device's record.
    #[must_use]
    pub fn get(&self, device_id: &str) -> Option<DeviceRecord> {
        self.state().devices.get(device_id).cloned()
    }

    /// The `./DevInfo` a device last reported.
    #[must_use]
    pub fn dev_info(&self, device_id: &str) -> Option<DevInfo> {
        self.state().dev_info.get(device_id).cloned()
    }
}

impl DeviceDirectory for InMemoryDirectory {
    fn device(&mut self, device_id: &str) -> Option<DeviceRecord> {
        self.get(device_id)
    }

    fn set_client_nonce(&mut self, device_id: &str, nonce: &[u8]) {
        if let Some(r) = self.state().devices.get_mut(device_id) {
            r.client.nonce = nonce.to_vec();
        }
    }

    fn set_server_nonce(&mut self, device_id: &str, nonce: &[u8]) {
        if let Some(s) = self.state().devices.get_mut(device_id).and_then(|r| r.server.as_mut()) {
            s.nonce = nonce.to_vec();
        }
    }

    fn record_dev_info(&mut self, device_id: &str, info: &DevInfo) {
        self.state().dev_info.insert(device_id.to_owned(), info.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_redacted_and_compared() {
        let s = Secret::new(b"hunter2".to_vec());
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(s, Secret::new(b"hunter2".to_vec()));
        assert_ne!(s, Secret::new(b"hunter3".to_vec()));
        let rec = DeviceRecord {
            device_id: "IMEI:1".into(),
            client: Credentials::new(AuthScheme::Md5, "user", "pw", b"n".to_vec()),
            server: None,
        };
        assert!(!format!("{rec:?}").contains("pw\""), "{rec:?}");
        let json = serde_json::to_string(&rec).unwrap();
        let back: DeviceRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, rec);
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }

    #[test]
    fn in_memory_directory_updates_nonces() {
        let dir = InMemoryDirectory::new();
        dir.insert(DeviceRecord {
            device_id: "d".into(),
            client: Credentials::new(AuthScheme::Md5, "u", "p", Vec::new()),
            server: Some(Credentials::new(AuthScheme::Basic, "srv", "sp", Vec::new())),
        });
        let mut h: Box<dyn DeviceDirectory> = Box::new(dir.clone());
        h.set_client_nonce("d", b"c1");
        h.set_server_nonce("d", b"s1");
        h.set_client_nonce("unknown", b"x");
        let r = dir.get("d").unwrap();
        assert_eq!(r.client.nonce, b"c1");
        assert_eq!(r.server.unwrap().nonce, b"s1");
        assert!(h.device("unknown").is_none());
        assert_eq!(AuthScheme::from_auth_type(&AuthScheme::Hmac.auth_type()), Some(AuthScheme::Hmac));
    }
}

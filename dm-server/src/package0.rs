//! Package 0 for a device (OMA DM 1.2.1 Notification §6.2): the server-alert notification that asks the
//! device to open a session, built with the device's server credentials ([`DeviceRecord::server`]: the
//! server identifier, the password and the nonce the client holds for this server).
//!
//! The notification names the `SessionID` the client's package 1 must carry (with Alert 1200); give it to the
//! session engine as [`crate::session::SessionConfig::expected_session_id`].

use m2msim_codec::dm::pkg0::{DEFAULT_VERSION, Initiator, Package0, Package0Params, UiMode};
use m2msim_codec::dm::push::{WspPush, push_delivers};
use m2msim_codec::reader::Encode as _;
use m2msim_codec::sms::BuildError;
use m2msim_codec::sms::address::Address;
use m2msim_codec::sms::concat::ConcatRef;
use m2msim_codec::sms::fields::Scts;
use m2msim_codec::sms::tpdu::Deliver;

use crate::directory::DeviceRecord;

/// Why package 0 could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Package0Error {
    /// The device record has no server credentials, so there is no key for the digest.
    #[error("device {0} has no server credentials for the package 0 digest")]
    NoServerCredentials(String),
    /// Session id 0 (the `SessionID` must be 1..FFFF, Notification §6.2).
    #[error("package 0 session id must not be 0")]
    ZeroSessionId,
}

/// A built package 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The notification (digest computed).
    pub package: Package0,
    /// Its bytes (the body of the SMS/WAP push, `application/vnd.syncml.notification`).
    pub bytes: Vec<u8>,
    /// The `SessionID` the client's package 1 will carry: the session id in upper-case hex.
    pub session_id: String,
}

impl Notification {
    /// The WSP push PDU that carries it (Notification §5: content type `application/vnd.syncml.notification`,
    /// application id `x-wap-application:syncml.dm`), with transaction id `tid`.
    #[must_use]
    pub fn wap_push(&self, tid: u8) -> WspPush {
        WspPush::syncml_dm_notification(tid, self.bytes.clone())
    }

    /// The SMS-DELIVERs that carry it to the device over WAP push (ports 2948 ← 9200, concatenated with
    /// `reference` when it does not fit one SMS), from `originator` at `scts`.
    ///
    /// # Errors
    /// [`BuildError`] when it would take more than 255 segments.
    pub fn sms(
        &self,
        tid: u8,
        originator: Address,
        scts: Scts,
        reference: ConcatRef,
    ) -> Result<Vec<Deliver>, BuildError> {
        push_delivers(&self.wap_push(tid), originator, scts, reference)
    }
}

/// Builds package 0 for `record`: version [`DEFAULT_VERSION`] (11), server-initiated, `ui_mode`,
/// `session_id`, the server identifier `record.server.name`, no vendor body, digest with the server
/// password and nonce.
///
/// # Errors
/// [`Package0Error::NoServerCredentials`] when the record has none; [`Package0Error::ZeroSessionId`].
pub fn build(record: &DeviceRecord, session_id: u16, ui_mode: UiMode) -> Result<Notification, Package0Error> {
    let server =
        record.server.as_ref().ok_or_else(|| Package0Error::NoServerCredentials(record.device_id.clone()))?;
    if session_id == 0 {
        return Err(Package0Error::ZeroSessionId);
    }
    let params = Package0Params {
        version: DEFAULT_VERSION,
        ui_mode,
        initiator: Initiator::Server,
        session_id,
        server_id: server.name.as_bytes(),
        body: &[],
    };
    let package = Package0::build(&params, server.secret.expose(), &server.nonce);
    let bytes = package.encode();
    let session_id = package.session_id_text();
    Ok(Notification { package, bytes, session_id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{AuthScheme, Credentials};
    use m2msim_codec::reader::Decode as _;

    #[test]
    fn package0_verifies_with_the_server_credentials() {
        let rec = DeviceRecord {
            device_id: "IMEI:1".into(),
            client: Credentials::new(AuthScheme::Md5, "u", "p", Vec::new()),
            server: Some(Credentials::new(AuthScheme::Md5, "dm.example.com", "srvpw", b"n0".to_vec())),
        };
        let n = build(&rec, 0x2A, UiMode::Background).unwrap();
        assert_eq!(n.session_id, "2A");
        let back = Package0::decode_exact(&n.bytes).unwrap();
        assert_eq!(back, n.package);
        assert!(back.verify(b"srvpw", b"n0"));
        assert!(!back.verify(b"srvpw", b"n1"));
        assert_eq!(back.server_id, b"dm.example.com");
        assert_eq!(back.initiator, Initiator::Server);
        assert_eq!(back.version, 11);
        assert_eq!(build(&rec, 0, UiMode::Background), Err(Package0Error::ZeroSessionId));
        // Over WAP push in SMS, and back through the device's receiver.
        let ds =
            n.sms(3, Address::international("4479").unwrap(), Scts([0; 7]), ConcatRef::Eight(1)).unwrap();
        assert_eq!(ds.len(), 1);
        let mut rx = m2msim_codec::dm::push::PushReceiver::new();
        let m2msim_codec::dm::push::PushEvent::Notification(p) = rx.push_deliver(&ds[0]).unwrap() else {
            panic!("not a notification")
        };
        assert_eq!(p.package0().unwrap(), n.package);
        let none = DeviceRecord { server: None, ..rec };
        assert!(matches!(build(&none, 1, UiMode::Background), Err(Package0Error::NoServerCredentials(_))));
    }
}

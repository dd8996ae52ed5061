//! Authentication inside a session (OMA DM 1.2.1 Security §5.1.3–§5.1.4, Protocol §2.4): checking the
//! client's `Cred` or `x-syncml-hmac` header against its [`DeviceRecord`], the `Chal` this server answers
//! with, and this server's own credentials toward the client.
//!
//! Decisions:
//! - A nonce is accepted in the two forms clients use for the digest: its raw bytes (the decoded
//!   `NextNonce`, as the spec says) and its base64 text (as some clients use the `NextNonce` text itself;
//!   the AOSP client tries both). Both are checked in constant time.
//! - MD5: the user name is the header's `Source/LocName` (Security §5.1.3.2); when it is absent the
//!   record's name is used; a `LocName` that differs from the record's name fails.
//! - `Cred` whose `Data` came as text (no `Format b64`) is base64-decoded when it is base64.

use m2msim_codec::dm::auth::{AuthType, HmacHeader, ct_eq, decode_b64, encode_b64, md5_digest};
use m2msim_codec::dm::ddf::Format;
use m2msim_codec::syncml::{Chal, Cred, Data, Meta, SyncHdr};

use crate::directory::{AuthScheme, Credentials, DeviceRecord};

/// The verdict on a client message's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Valid for the device's scheme.
    Valid,
    /// No credentials of any kind (answer 407).
    Missing,
    /// Wrong, stale, of another scheme, or for an unknown device (answer 401).
    Invalid,
}

/// The nonce forms a client may have used: the raw bytes and their base64 text.
fn nonce_forms(nonce: &[u8]) -> [Vec<u8>; 2] {
    [nonce.to_vec(), encode_b64(nonce).into_bytes()]
}

/// The bytes of a `Cred`'s `Data`: decoded bytes, or text that is base64-decoded when it is base64.
fn cred_bytes(cred: &Cred) -> Vec<u8> {
    match &cred.data {
        Data::Bytes(b) => b.clone(),
        Data::Text(t) => decode_b64(t).unwrap_or_else(|| t.as_bytes().to_vec()),
        Data::Document(_) | Data::Nodes(_) => Vec::new(),
    }
}

/// Checks a client message: `hdr` its header, `body` its bytes as received, `hmac` the `x-syncml-hmac`
/// header value if the transport carried one. `record` is `None` for an unknown device.
pub(super) fn verify_client(
    record: Option<&DeviceRecord>,
    hdr: &SyncHdr,
    body: &[u8],
    hmac: Option<&str>,
) -> Verdict {
    let Some(rec) = record else {
        return if hdr.cred.is_none() && hmac.is_none() { Verdict::Missing } else { Verdict::Invalid };
    };
    let c = &rec.client;
    match c.scheme {
        AuthScheme::Hmac => match hmac {
            None => {
                if hdr.cred.is_some() {
                    Verdict::Invalid
                } else {
                    Verdict::Missing
                }
            }
            Some(v) => verify_hmac(c, v, body),
        },
        AuthScheme::Basic | AuthScheme::Md5 => {
            let Some(cred) = &hdr.cred else {
                return if hmac.is_some() { Verdict::Invalid } else { Verdict::Missing };
            };
            if AuthScheme::from_auth_type(&cred.auth_type()) != Some(c.scheme) {
                return Verdict::Invalid;
            }
            let got = cred_bytes(cred);
            let ok = if c.scheme == AuthScheme::Basic {
                let mut want = c.name.as_bytes().to_vec();
                want.push(b':');
                want.extend_from_slice(c.secret.expose());
                ct_eq(&got, &want)
            } else {
                let name_ok = hdr.source.loc_name.as_deref().is_none_or(|n| n == c.name);
                let mut any = false;
                for n in nonce_forms(&c.nonce) {
                    any |= ct_eq(&got, &md5_digest(c.name.as_bytes(), c.secret.expose(), &n));
                }
                name_ok && any
            };
            if ok { Verdict::Valid } else { Verdict::Invalid }
        }
    }
}

/// Checks an `x-syncml-hmac` header value against the message bytes.
pub(super) fn verify_hmac(c: &Credentials, header: &str, body: &[u8]) -> Verdict {
    let Ok(h) = HmacHeader::parse(header) else { return Verdict::Invalid };
    if h.username != c.name {
        return Verdict::Invalid;
    }
    let mut any = false;
    for n in nonce_forms(&c.nonce) {
        any |= h.verify(c.secret.expose(), &n, body).unwrap_or(false);
    }
    if any { Verdict::Valid } else { Verdict::Invalid }
}

/// The challenge for `scheme` (RepPro DM usage §4.1.1.2: `Format` `b64`, and a `NextNonce` for MD5 and
/// HMAC).
pub(super) fn challenge(scheme: AuthScheme, nonce: Option<&[u8]>) -> Chal {
    match (scheme, nonce) {
        (AuthScheme::Basic, _) => Chal::basic(),
        (AuthScheme::Md5, Some(n)) => Chal::md5(n.to_vec()),
        (s, n) => {
            let mut meta = Meta::new().with_type(s.auth_type().as_str()).with_format(Format::B64);
            if let Some(n) = n {
                meta = meta.with_next_nonce(n.to_vec());
            }
            Chal { meta, extra: Vec::new() }
        }
    }
}

/// This server's `Cred` for `scheme` (basic or MD5; HMAC has none, it is a transport header).
pub(super) fn server_cred(c: &Credentials, scheme: AuthScheme) -> Option<Cred> {
    match scheme {
        AuthScheme::Basic => {
            let mut data = c.name.as_bytes().to_vec();
            data.push(b':');
            data.extend_from_slice(c.secret.expose());
            Some(Cred {
                meta: Some(Meta::new().with_type(AuthType::Basic.as_str()).with_format(Format::B64)),
                data: Data::Bytes(data),
                extra: Vec::new(),
            })
        }
        AuthScheme::Md5 => Some(Cred::md5(c.name.as_bytes(), c.secret.expose(), &c.nonce)),
        AuthScheme::Hmac => None,
    }
}

/// This server's `x-syncml-hmac` header value for `body`.
pub(super) fn server_hmac(c: &Credentials, body: &[u8]) -> String {
    HmacHeader::compute(&c.name, c.secret.expose(), &c.nonce, body).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use m2msim_codec::dm::auth::hmac_mac;
    use m2msim_codec::syncml::DmVersion;

    fn rec(scheme: AuthScheme) -> DeviceRecord {
        DeviceRecord {
            device_id: "IMEI:493005100592800".into(),
            client: Credentials::new(scheme, "Bruce2", "OhBehave", b"Nonce".to_vec()),
            server: None,
        }
    }

    fn hdr() -> SyncHdr {
        SyncHdr::new(DmVersion::V1_2, "1", 1, "http://www.syncml.org/mgmt-server", "IMEI:493005100592800")
    }

    #[test]
    fn md5_spec_vector_is_accepted() {
        // DM 1.2.1 Protocol §2.4.4: Bruce2 / OhBehave / nonce "Nonce" → Zz6EivR3yeaaENcRN6lpAQ==
        let r = rec(AuthScheme::Md5);
        let cred = Cred {
            data: Data::Bytes(decode_b64("Zz6EivR3yeaaENcRN6lpAQ==").unwrap()),
            ..Cred::md5(b"x", b"y", b"z")
        };
        let h = hdr().with_source_name("Bruce2").with_cred(cred.clone());
        assert_eq!(verify_client(Some(&r), &h, b"", None), Verdict::Valid);
        // the digest sent as text (no Format) still reads
        let text =
            Cred { data: Data::text("Zz6EivR3yeaaENcRN6lpAQ=="), meta: cred.meta.clone(), ..cred.clone() };
        assert_eq!(verify_client(Some(&r), &hdr().with_cred(text), b"", None), Verdict::Valid);
        // another LocName, another nonce, another scheme, no cred, unknown device
        let h2 = hdr().with_source_name("Bruce3").with_cred(cred.clone());
        assert_eq!(verify_client(Some(&r), &h2, b"", None), Verdict::Invalid);
        let stale = DeviceRecord {
            client: Credentials { nonce: b"Other".to_vec(), ..r.client.clone() },
            ..r.clone()
        };
        assert_eq!(verify_client(Some(&stale), &h, b"", None), Verdict::Invalid);
        let basic = hdr().with_cred(Cred::basic("Bruce2", "OhBehave"));
        assert_eq!(verify_client(Some(&r), &basic, b"", None), Verdict::Invalid);
        assert_eq!(verify_client(Some(&r), &hdr(), b"", None), Verdict::Missing);
        assert_eq!(verify_client(None, &h, b"", None), Verdict::Invalid);
        assert_eq!(verify_client(None, &hdr(), b"", None), Verdict::Missing);
    }

    #[test]
    fn md5_with_the_nonce_text_is_accepted() {
        let r = DeviceRecord {
            client: Credentials { nonce: vec![0xFF, 0x00, 0x7F], ..rec(AuthScheme::Md5).client },
            ..rec(AuthScheme::Md5)
        };
        let as_text = encode_b64(&[0xFF, 0x00, 0x7F]);
        let h = hdr().with_cred(Cred::md5(b"Bruce2", b"OhBehave", as_text.as_bytes()));
        assert_eq!(verify_client(Some(&r), &h, b"", None), Verdict::Valid);
    }

    #[test]
    fn basic_checks_user_and_password() {
        let r = rec(AuthScheme::Basic);
        let ok = hdr().with_cred(Cred::basic("Bruce2", "OhBehave"));
        assert_eq!(verify_client(Some(&r), &ok, b"", None), Verdict::Valid);
        for (u, p) in [("Bruce2", "OhBehav"), ("Bruce", "OhBehave"), ("", "")] {
            let bad = hdr().with_cred(Cred::basic(u, p));
            assert_eq!(verify_client(Some(&r), &bad, b"", None), Verdict::Invalid);
        }
    }

    #[test]
    fn hmac_checks_the_body() {
        let r = rec(AuthScheme::Hmac);
        let body = b"<SyncML>x</SyncML>";
        let v = HmacHeader::compute("Bruce2", b"OhBehave", b"Nonce", body).to_string();
        assert_eq!(verify_client(Some(&r), &hdr(), body, Some(&v)), Verdict::Valid);
        assert_eq!(verify_client(Some(&r), &hdr(), b"<SyncML>y</SyncML>", Some(&v)), Verdict::Invalid);
        assert_eq!(verify_client(Some(&r), &hdr(), body, None), Verdict::Missing);
        assert_eq!(verify_client(Some(&r), &hdr(), body, Some("garbage")), Verdict::Invalid);
        let other_user = format!("username=\"x\", mac={}", hmac_mac(b"x", b"OhBehave", b"Nonce", body));
        assert_eq!(verify_client(Some(&r), &hdr(), body, Some(&other_user)), Verdict::Invalid);
        let with_cred = hdr().with_cred(Cred::basic("Bruce2", "OhBehave"));
        assert_eq!(verify_client(Some(&r), &with_cred, body, None), Verdict::Invalid);
    }

    #[test]
    fn challenges_and_server_credentials() {
        assert_eq!(challenge(AuthScheme::Basic, None), Chal::basic());
        assert_eq!(challenge(AuthScheme::Md5, Some(b"n")), Chal::md5(b"n".to_vec()));
        let c = challenge(AuthScheme::Hmac, Some(b"n"));
        assert_eq!(c.auth_type(), AuthType::Hmac);
        assert_eq!(c.meta.next_nonce.as_ref().map(|n| n.bytes().to_vec()), Some(b"n".to_vec()));
        let creds = Credentials::new(AuthScheme::Md5, "srv", "pw", b"sn".to_vec());
        let md5 = server_cred(&creds, AuthScheme::Md5).unwrap();
        assert_eq!(md5.data_bytes(), md5_digest(b"srv", b"pw", b"sn"));
        let basic = server_cred(&creds, AuthScheme::Basic).unwrap();
        assert_eq!(basic.basic_user_password(), Some(("srv".into(), "pw".into())));
        assert!(server_cred(&creds, AuthScheme::Hmac).is_none());
        let h = HmacHeader::parse(&server_hmac(&creds, b"body")).unwrap();
        assert!(h.verify(b"pw", b"sn", b"body").unwrap());
    }
}

//! Credentials in both directions (OMA DM 1.2.1 Security §5.1.3–§5.1.4, Protocol §2.4): what the client
//! sends ([`ClientAuth`]) and how it checks the server ([`ServerAuth`]). The engine ([`super::engine`])
//! decides when; this module computes and compares (in constant time, through the codec's `ct_eq`).

use m2msim_codec::dm::auth::{AuthType, HmacHeader, ct_eq, md5_digest};
use m2msim_codec::dm::ddf::Format;
use m2msim_codec::syncml::{Chal, Cred, Data, Meta, SyncHdr};

use crate::mo::dmacc::Credentials;

/// The client's side: its CLCRED credentials, the scheme in force and the nonce for the next credential.
#[derive(Debug)]
pub(crate) struct ClientAuth {
    creds: Option<Credentials>,
    /// The scheme in force (the account's, until a challenge names another).
    pub scheme: AuthType,
    /// 212 received: no Cred for the rest of the session.
    pub accepted: bool,
    /// How many 401/407 the server answered.
    pub rejections: u32,
}

impl ClientAuth {
    pub fn new(creds: Option<Credentials>) -> Self {
        let scheme = creds.as_ref().map_or(AuthType::Basic, |c| c.auth_type.clone());
        Self { creds, scheme, accepted: false, rejections: 0 }
    }

    pub fn has_credentials(&self) -> bool {
        self.creds.is_some()
    }

    /// The user name (`Source/LocName` of the client's SyncHdr), when the client authenticates.
    pub fn user(&self) -> Option<&str> {
        self.creds.as_ref().map(|c| c.name.as_str())
    }

    /// Whether the client can answer with the scheme in force.
    pub fn supported(&self) -> bool {
        matches!(self.scheme, AuthType::Basic | AuthType::Md5 | AuthType::Hmac)
    }

    /// The Cred for the SyncHdr of the next message: basic or md5 until the server answered 212; none in
    /// HMAC mode (the header carries it) or without credentials.
    pub fn cred(&self) -> Option<Cred> {
        let c = self.creds.as_ref()?;
        if self.accepted {
            return None;
        }
        match self.scheme {
            AuthType::Basic => {
                let mut data = c.name.as_bytes().to_vec();
                data.push(b':');
                data.extend_from_slice(c.secret.expose());
                let meta = Meta::new().with_type(AuthType::Basic.as_str()).with_format(Format::B64);
                Some(Cred { meta: Some(meta), data: Data::Bytes(data), extra: Vec::new() })
            }
            AuthType::Md5 => Some(Cred::md5(c.name.as_bytes(), c.secret.expose(), &c.nonce)),
            AuthType::Hmac | AuthType::Other(_) => None,
        }
    }

    /// The `x-syncml-hmac` header for `body`, in HMAC mode (every message until the session ends).
    pub fn hmac(&self, body: &[u8]) -> Option<String> {
        let c = self.creds.as_ref()?;
        (self.scheme == AuthType::Hmac)
            .then(|| HmacHeader::compute(&c.name, c.secret.expose(), &c.nonce, body).to_string())
    }

    /// Takes a challenge from the server: its scheme (when it names one the client knows; an unknown one is
    /// taken too, and [`Self::supported`] then says no) and its NextNonce. Returns the new nonce, if any.
    pub fn challenge(&mut self, chal: &Chal) -> Option<Vec<u8>> {
        if chal.meta.type_.is_some() {
            self.scheme = chal.auth_type();
        }
        let nonce = chal.meta.next_nonce.as_ref()?.bytes().to_vec();
        if let Some(c) = self.creds.as_mut() {
            c.nonce.clone_from(&nonce);
        }
        Some(nonce)
    }
}

/// What the server's credentials in one message amount to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerCheck {
    /// The account has no SRVCRED credentials (or a scheme the client cannot check): the transport
    /// authenticates the server.
    NotRequired,
    /// Accepted; `first` when by a Cred for the first time in the session (answered 212).
    Accepted { first: bool },
    /// No credentials (407).
    Missing,
    /// Wrong credentials (401).
    Invalid,
}

/// The server's side: the SRVCRED credentials the client checks.
#[derive(Debug)]
pub(crate) struct ServerAuth {
    creds: Option<Credentials>,
    /// A Cred was accepted in this session (basic and md5 are not asked again).
    pub authenticated: bool,
    /// How many server messages failed the check.
    pub failures: u32,
}

impl ServerAuth {
    pub fn new(creds: Option<Credentials>) -> Self {
        Self { creds, authenticated: false, failures: 0 }
    }

    /// The scheme the server must use, if it must authenticate at all.
    pub fn scheme(&self) -> Option<&AuthType> {
        self.creds.as_ref().map(|c| &c.auth_type).filter(|t| !matches!(t, AuthType::Other(_)))
    }

    /// The scheme needs a nonce from the client (md5, HMAC).
    pub fn uses_nonce(&self) -> bool {
        matches!(self.scheme(), Some(AuthType::Md5 | AuthType::Hmac))
    }

    /// Records the nonce the client gives the server for its next credential.
    pub fn set_nonce(&mut self, nonce: &[u8]) {
        if let Some(c) = self.creds.as_mut() {
            c.nonce = nonce.to_vec();
        }
    }

    /// Checks the credentials of one server message: the Cred of `hdr`, or for HMAC the header value
    /// `hmac` over `body` (the message bytes as received).
    pub fn check(&self, hdr: &SyncHdr, hmac: Option<&str>, body: &[u8]) -> ServerCheck {
        let (Some(c), Some(scheme)) = (self.creds.as_ref(), self.scheme()) else {
            return ServerCheck::NotRequired;
        };
        let secret = c.secret.expose();
        match scheme {
            AuthType::Hmac => match hmac.map(HmacHeader::parse) {
                None => ServerCheck::Missing,
                Some(Ok(h)) if h.username == c.name && h.verify(secret, &c.nonce, body) == Ok(true) => {
                    ServerCheck::Accepted { first: false }
                }
                Some(_) => ServerCheck::Invalid,
            },
            _ if self.authenticated => ServerCheck::Accepted { first: false },
            AuthType::Basic => match &hdr.cred {
                None => ServerCheck::Missing,
                Some(cred) => {
                    let mut want = c.name.as_bytes().to_vec();
                    want.push(b':');
                    want.extend_from_slice(secret);
                    if cred.auth_type() == AuthType::Basic && ct_eq(cred.data_bytes(), &want) {
                        ServerCheck::Accepted { first: true }
                    } else {
                        ServerCheck::Invalid
                    }
                }
            },
            AuthType::Md5 => match &hdr.cred {
                None => ServerCheck::Missing,
                Some(cred) => {
                    let want = md5_digest(c.name.as_bytes(), secret, &c.nonce);
                    if cred.auth_type() == AuthType::Md5 && ct_eq(cred.data_bytes(), &want) {
                        ServerCheck::Accepted { first: true }
                    } else {
                        ServerCheck::Invalid
                    }
                }
            },
            AuthType::Other(_) => ServerCheck::NotRequired,
        }
    }

    /// The challenge for the server's scheme, carrying `nonce` for md5 and HMAC (Format b64, RepPro DM
    /// usage §4.1.1.2).
    pub fn chal(&self, nonce: Option<&[u8]>) -> Option<Chal> {
        let scheme = self.scheme()?;
        let mut meta = Meta::new().with_type(scheme.as_str()).with_format(Format::B64);
        if let Some(n) = nonce {
            meta = meta.with_next_nonce(n.to_vec());
        }
        Some(Chal { meta, extra: Vec::new() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mo::dmacc::Secret;
    use m2msim_codec::syncml::DmVersion;

    fn creds(t: AuthType, nonce: &[u8]) -> Credentials {
        Credentials { auth_type: t, name: "srv".into(), secret: Secret::new("pw"), nonce: nonce.to_vec() }
    }

    fn hdr(cred: Option<Cred>) -> SyncHdr {
        let h = SyncHdr::new(DmVersion::V1_2, "1", 1, "dev", "srv");
        match cred {
            Some(c) => h.with_cred(c),
            None => h,
        }
    }

    #[test]
    fn server_basic_and_md5() {
        let s = ServerAuth::new(Some(creds(AuthType::Basic, b"")));
        assert_eq!(s.check(&hdr(None), None, b""), ServerCheck::Missing);
        assert_eq!(
            s.check(&hdr(Some(Cred::basic("srv", "pw"))), None, b""),
            ServerCheck::Accepted { first: true }
        );
        assert_eq!(s.check(&hdr(Some(Cred::basic("srv", "px"))), None, b""), ServerCheck::Invalid);
        assert_eq!(s.check(&hdr(Some(Cred::basic("other", "pw"))), None, b""), ServerCheck::Invalid);
        assert_eq!(s.check(&hdr(Some(Cred::md5(b"srv", b"pw", b""))), None, b""), ServerCheck::Invalid);
        let mut s = ServerAuth::new(Some(creds(AuthType::Md5, b"N1")));
        assert_eq!(
            s.check(&hdr(Some(Cred::md5(b"srv", b"pw", b"N1"))), None, b""),
            ServerCheck::Accepted { first: true }
        );
        assert_eq!(
            s.check(&hdr(Some(Cred::md5(b"srv", b"pw", b"N0"))), None, b""),
            ServerCheck::Invalid,
            "stale"
        );
        s.authenticated = true;
        assert_eq!(s.check(&hdr(None), None, b""), ServerCheck::Accepted { first: false });
        assert_eq!(ServerAuth::new(None).check(&hdr(None), None, b""), ServerCheck::NotRequired);
        let other = ServerAuth::new(Some(creds(AuthType::Other("X509".into()), b"")));
        assert_eq!(other.check(&hdr(None), None, b""), ServerCheck::NotRequired);
        assert!(other.chal(None).is_none());
    }

    #[test]
    fn server_hmac() {
        let s = ServerAuth::new(Some(creds(AuthType::Hmac, b"N")));
        let good = HmacHeader::compute("srv", b"pw", b"N", b"body").to_string();
        assert_eq!(s.check(&hdr(None), Some(&good), b"body"), ServerCheck::Accepted { first: false });
        assert_eq!(s.check(&hdr(None), Some(&good), b"bodY"), ServerCheck::Invalid, "tampered body");
        assert_eq!(s.check(&hdr(None), None, b"body"), ServerCheck::Missing);
        assert_eq!(s.check(&hdr(None), Some("garbage"), b"body"), ServerCheck::Invalid);
        let c = s.chal(Some(b"x")).unwrap();
        assert_eq!(c.auth_type(), AuthType::Hmac);
        assert!(c.meta.next_nonce.is_some() && s.uses_nonce());
    }

    #[test]
    fn client_schemes_and_challenges() {
        let mut c = ClientAuth::new(Some(Credentials {
            auth_type: AuthType::Basic,
            name: "dev".into(),
            secret: Secret::new("pw"),
            nonce: Vec::new(),
        }));
        assert_eq!(c.cred().unwrap().basic_user_password(), Some(("dev".into(), "pw".into())));
        assert!(c.hmac(b"x").is_none());
        // A challenge to md5 with a nonce switches scheme and nonce.
        assert_eq!(c.challenge(&Chal::md5(b"Nonce".to_vec())), Some(b"Nonce".to_vec()));
        assert_eq!(c.cred().unwrap(), Cred::md5(b"dev", b"pw", b"Nonce"));
        // HMAC: no Cred, a header instead.
        let mac = Chal {
            meta: Meta::new().with_type("syncml:auth-MAC").with_next_nonce(b"M".to_vec()),
            extra: Vec::new(),
        };
        c.challenge(&mac);
        assert!(c.cred().is_none());
        let h = HmacHeader::parse(&c.hmac(b"body").unwrap()).unwrap();
        assert!(h.verify(b"pw", b"M", b"body").unwrap());
        c.challenge(&Chal { meta: Meta::new().with_type("syncml:auth-X509"), extra: Vec::new() });
        assert!(!c.supported());
        let mut none = ClientAuth::new(None);
        assert!(none.cred().is_none() && !none.has_credentials());
        assert_eq!(none.challenge(&Chal::basic()), None);
        none.accepted = true;
        assert!(none.cred().is_none());
    }
}

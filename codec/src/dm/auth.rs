//! SyncML DM authentication: `syncml:auth-basic`, `syncml:auth-md5` and the `x-syncml-hmac` transport header
//! (OMA DM 1.2.1 Security §5.1.3–§5.1.4, RepPro §4.1.1, Protocol §2.4).
//!
//! - Basic: `B64(user ":" password)`.
//! - MD5 digest: `B64(H(B64(H(user ":" password)) ":" nonce))`, `H` = MD5, the nonce being the *decoded bytes*
//!   of the peer's `NextNonce` (which travels base64-encoded). Spec vector: Bruce2 / OhBehave / `Nonce` →
//!   `Zz6EivR3yeaaENcRN6lpAQ==`.
//! - HMAC (integrity, `syncml:auth-MAC`): not a Cred but the HTTP header
//!   `x-syncml-hmac: algorithm=MD5, username="…", mac=…` with
//!   `mac = B64(H(B64(H(user ":" password)) ":" nonce ":" B64(H(body))))` over the message body exactly as sent.
//!   Despite its name this is the MD5 chain above, not RFC 2104 HMAC (checked against the AOSP engine and a
//!   server that works with real phones; see `../shared/spec/omadm.md` §4.2).
//!
//! Comparisons of credentials go through [`ct_eq`], which takes time independent of where the inputs differ.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use md5::{Digest as _, Md5};
use serde::{Deserialize, Serialize};

/// The authentication types of SyncML DM (Meta `Type` of a Cred or Chal, RepPro §5.6).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthType {
    /// `syncml:auth-basic`
    Basic,
    /// `syncml:auth-md5`
    Md5,
    /// `syncml:auth-MAC` (the `x-syncml-hmac` header).
    Hmac,
    /// Any other type string, kept as received.
    Other(String),
}

impl AuthType {
    /// The Meta `Type` string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Basic => "syncml:auth-basic",
            Self::Md5 => "syncml:auth-md5",
            Self::Hmac => "syncml:auth-MAC",
            Self::Other(s) => s,
        }
    }

    /// Parses a Meta `Type` string (the scheme names are matched case-insensitively, as deployed peers vary).
    #[must_use]
    pub fn parse(s: &str) -> Self {
        match s.trim().to_ascii_lowercase().as_str() {
            "syncml:auth-basic" => Self::Basic,
            "syncml:auth-md5" => Self::Md5,
            "syncml:auth-mac" | "syncml:auth-hmac" => Self::Hmac,
            _ => Self::Other(s.to_owned()),
        }
    }
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// `B64(H(user ":" password))`, the inner step shared by MD5 digest, HMAC and the package 0 digest.
#[must_use]
pub fn b64_md5_user_pass(user: &[u8], password: &[u8]) -> String {
    B64.encode(md5(&[user, b":", password]))
}

/// The `syncml:auth-basic` credential: `B64(user ":" password)`.
#[must_use]
pub fn basic_credential(user: &str, password: &str) -> String {
    B64.encode(format!("{user}:{password}"))
}

/// Splits a `syncml:auth-basic` credential into user and password (at the first `:`).
#[must_use]
pub fn parse_basic(credential: &str) -> Option<(String, String)> {
    let raw = B64.decode(credential.trim()).ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}

/// The raw 16-byte `syncml:auth-md5` digest `H(B64(H(user ":" password)) ":" nonce)`.
#[must_use]
pub fn md5_digest(user: &[u8], password: &[u8], nonce: &[u8]) -> [u8; 16] {
    md5(&[b64_md5_user_pass(user, password).as_bytes(), b":", nonce])
}

/// The `syncml:auth-md5` credential as sent in `Cred/Data` (Format `b64`).
#[must_use]
pub fn md5_credential(user: &[u8], password: &[u8], nonce: &[u8]) -> String {
    B64.encode(md5_digest(user, password, nonce))
}

/// The `mac` value of the `x-syncml-hmac` header for `body` (the message bytes exactly as sent).
#[must_use]
pub fn hmac_mac(user: &[u8], password: &[u8], nonce: &[u8], body: &[u8]) -> String {
    let body_hash = B64.encode(md5(&[body]));
    B64.encode(md5(&[b64_md5_user_pass(user, password).as_bytes(), b":", nonce, b":", body_hash.as_bytes()]))
}

/// Decodes a `NextNonce` as received into the nonce bytes used by the digests.
///
/// RepPro DM usage §4.1.1.2 says `NextNonce` MUST be base64; some peers send a plain string. Returns the
/// candidates to try in order: the base64-decoded bytes (when the text is valid base64), then the raw text, as
/// the AOSP client does.
#[must_use]
pub fn nonce_candidates(next_nonce: &str) -> Vec<Vec<u8>> {
    let t = next_nonce.trim();
    let mut v = Vec::with_capacity(2);
    if let Ok(d) = B64.decode(t) {
        v.push(d);
    }
    if v.first().map(Vec::as_slice) != Some(t.as_bytes()) {
        v.push(t.as_bytes().to_vec());
    }
    v
}

/// The `NextNonce` text for nonce bytes (base64).
#[must_use]
pub fn encode_nonce(nonce: &[u8]) -> String {
    B64.encode(nonce)
}

/// Decodes base64 text (standard alphabet, padding required).
#[must_use]
pub fn decode_b64(s: &str) -> Option<Vec<u8>> {
    B64.decode(s.trim()).ok()
}

/// Encodes bytes as standard base64.
#[must_use]
pub fn encode_b64(b: &[u8]) -> String {
    B64.encode(b)
}

/// The nonce-resynchronisation nonces seen in the wild (DM 1.2.1 Notification §6.2 "0x00000000"): the ASCII
/// string `0x00000000` (libdmclient) and four zero bytes, base64 `AAAAAA==` (AOSP). A verifier accepts either.
pub const RESYNC_NONCES: [&[u8]; 2] = [b"0x00000000", &[0, 0, 0, 0]];

/// Constant-time equality of two byte strings (time depends only on the lengths).
#[must_use]
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // black_box keeps the optimiser from turning the fold into an early exit.
    std::hint::black_box(diff) == 0
}

/// The parsed value of an `x-syncml-hmac` header (DM 1.2.1 Security §5.1.4.2).
///
/// Parameters are `#rule` (RFC 2616): comma separated, in any order, values as tokens or quoted strings;
/// `algorithm` is optional and defaults to MD5.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HmacHeader {
    /// `algorithm` (absent = MD5).
    pub algorithm: Option<String>,
    /// `username`.
    pub username: String,
    /// `mac` (base64).
    pub mac: String,
}

/// Why an `x-syncml-hmac` header did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HmacHeaderError {
    /// Not a comma-separated list of `name=value` parameters.
    #[error("malformed x-syncml-hmac header at byte {0}")]
    Syntax(usize),
    /// A required parameter is missing.
    #[error("x-syncml-hmac header lacks `{0}`")]
    Missing(&'static str),
    /// An algorithm other than MD5.
    #[error("x-syncml-hmac algorithm is not MD5")]
    UnsupportedAlgorithm,
}

impl HmacHeader {
    /// Builds the header for `body` with the MD5 chain of [`hmac_mac`].
    #[must_use]
    pub fn compute(user: &str, password: &[u8], nonce: &[u8], body: &[u8]) -> Self {
        Self {
            algorithm: Some("MD5".into()),
            username: user.to_owned(),
            mac: hmac_mac(user.as_bytes(), password, nonce, body),
        }
    }

    /// Checks the mac against `body` with the given password and nonce, in constant time.
    ///
    /// # Errors
    /// [`HmacHeaderError::UnsupportedAlgorithm`] for an algorithm other than MD5.
    pub fn verify(&self, password: &[u8], nonce: &[u8], body: &[u8]) -> Result<bool, HmacHeaderError> {
        if let Some(a) = &self.algorithm
            && !a.eq_ignore_ascii_case("MD5")
        {
            return Err(HmacHeaderError::UnsupportedAlgorithm);
        }
        let want = hmac_mac(self.username.as_bytes(), password, nonce, body);
        Ok(ct_eq(want.as_bytes(), self.mac.trim().as_bytes()))
    }

    /// Parses the header value.
    ///
    /// # Errors
    /// [`HmacHeaderError`] with the byte offset of a syntax error, or the missing parameter.
    pub fn parse(value: &str) -> Result<Self, HmacHeaderError> {
        let params = header_params(value)?;
        let mut algorithm = None;
        let mut username = None;
        let mut mac = None;
        for (k, v) in params {
            match k.to_ascii_lowercase().as_str() {
                "algorithm" => algorithm = Some(v),
                "username" => username = Some(v),
                "mac" => mac = Some(v),
                _ => {} // unknown parameters are ignored (RFC 2616 extensibility)
            }
        }
        Ok(Self {
            algorithm,
            username: username.ok_or(HmacHeaderError::Missing("username"))?,
            mac: mac.ok_or(HmacHeaderError::Missing("mac"))?,
        })
    }
}

impl std::fmt::Display for HmacHeader {
    /// The canonical form `algorithm=MD5, username="…", mac=…` (as deployed clients send it).
    ///
    /// Decision: `algorithm` and `mac` are written bare, as clients send them, unless the bare form would
    /// not read back (empty, or holding a comma, white space or a quote, which a quoted value in the
    /// parsed header may hold): then they are quoted, so that `parse(h.to_string()) == h` always holds
    /// (found by the `dm` fuzz target).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn value(f: &mut std::fmt::Formatter<'_>, v: &str) -> std::fmt::Result {
            if !v.is_empty() && !v.contains(|c: char| c == ',' || c == '"' || c.is_whitespace()) {
                f.write_str(v)
            } else {
                write!(f, "\"{}\"", quote(v))
            }
        }
        fn quote(v: &str) -> String {
            v.replace('\\', "\\\\").replace('"', "\\\"")
        }
        if let Some(a) = &self.algorithm {
            f.write_str("algorithm=")?;
            value(f, a)?;
            f.write_str(", ")?;
        }
        write!(f, "username=\"{}\", mac=", quote(&self.username))?;
        value(f, &self.mac)
    }
}

/// `name=value` parameters separated by commas (RFC 2616 §2.2 tokens and quoted strings), parsed with nom.
fn header_params(input: &str) -> Result<Vec<(String, String)>, HmacHeaderError> {
    use nom::branch::alt;
    use nom::bytes::complete::{escaped_transform, is_not, take_while1};
    use nom::character::complete::{char, multispace0};
    use nom::combinator::{map, opt, value};
    use nom::multi::separated_list1;
    use nom::sequence::{delimited, preceded, separated_pair};
    use nom::{IResult, Parser};

    fn token(i: &str) -> IResult<&str, &str> {
        take_while1(|c: char| c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?={}".contains(c))(i)
    }
    fn quoted(i: &str) -> IResult<&str, String> {
        delimited(
            char('"'),
            map(
                opt(escaped_transform(
                    is_not("\\\""),
                    '\\',
                    alt((value("\\", char('\\')), value("\"", char('"')))),
                )),
                Option::unwrap_or_default,
            ),
            char('"'),
        )
        .parse(i)
    }
    fn param(i: &str) -> IResult<&str, (String, String)> {
        separated_pair(
            map(preceded(multispace0, token), str::to_owned),
            delimited(multispace0, char('='), multispace0),
            // Unquoted values are read up to the next comma or space: base64 macs end in `=`, which a strict
            // RFC 2616 token would refuse, and deployed clients send them unquoted.
            alt((
                quoted,
                map(take_while1(|c: char| c != ',' && !c.is_whitespace() && c != '"'), str::to_owned),
            )),
        )
        .parse(i)
    }
    let r: IResult<&str, Vec<(String, String)>> =
        separated_list1(delimited(multispace0, char(','), multispace0), param).parse(input);
    match r {
        Ok((rest, v)) if rest.trim().is_empty() => Ok(v),
        Ok((rest, _)) | Err(nom::Err::Error(nom::error::Error { input: rest, .. })) => {
            Err(HmacHeaderError::Syntax(input.len() - rest.len()))
        }
        Err(_) => Err(HmacHeaderError::Syntax(input.len())),
    }
}

/// A password or key of a DM account or device record: never printed by `Debug`, compared in constant time
/// ([`ct_eq`]), zeroed on drop; hex in JSON.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(#[serde(with = "crate::hexser")] Vec<u8>);

impl Secret {
    /// Wraps secret bytes.
    #[must_use]
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The secret bytes (for computing a credential; do not log them).
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(&self.0, &other.0)
    }
}

impl Eq for Secret {}

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Values the bare form cannot carry are written quoted and read back (fuzz regression `dm`).
    #[test]
    fn hmac_header_display_reads_back() {
        for v in [
            "algorithm=\"\", username=\"u\", mac=AA",
            "username=u, mac=\"a b,\\\"c\"",
            "username=\"\", mac=\"\"",
        ] {
            let h = HmacHeader::parse(v).unwrap();
            assert_eq!(HmacHeader::parse(&h.to_string()).unwrap(), h, "{v} → {h}");
        }
        let h = HmacHeader::parse("algorithm=\"\", username=\"u\", mac=AA").unwrap();
        assert_eq!(h.to_string(), "algorithm=\"\", username=\"u\", mac=AA");
    }

    #[test]
    fn spec_md5_vector() {
        // OMA DM 1.2.1 Protocol §2.4.4 / Security: Bruce2 / OhBehave / nonce "Nonce".
        assert_eq!(b64_md5_user_pass(b"Bruce2", b"OhBehave"), "PtEdr8lBQ45IbT1bZIkrOQ==");
        assert_eq!(md5_credential(b"Bruce2", b"OhBehave", b"Nonce"), "Zz6EivR3yeaaENcRN6lpAQ==");
        // the nonce travels base64-encoded: "Tm9uY2U=" decodes to "Nonce"
        assert_eq!(nonce_candidates("Tm9uY2U=")[0], b"Nonce");
    }

    #[test]
    fn basic_credential_matches_aosp_sample() {
        // AOSP pkg1: U2N0czpTYW1wbGVDbGllbnQ= = "Scts:SampleClient"
        assert_eq!(basic_credential("Scts", "SampleClient"), "U2N0czpTYW1wbGVDbGllbnQ=");
        assert_eq!(parse_basic("U2N0czpTYW1wbGVDbGllbnQ="), Some(("Scts".into(), "SampleClient".into())));
        assert_eq!(parse_basic("!!"), None);
    }

    #[test]
    fn nonce_candidates_try_decoded_then_raw() {
        assert_eq!(nonce_candidates("AAAAAA=="), vec![vec![0, 0, 0, 0], b"AAAAAA==".to_vec()]);
        assert_eq!(nonce_candidates("not base64!"), vec![b"not base64!".to_vec()]);
    }

    #[test]
    fn hmac_header_parse_and_verify() {
        let body = b"<SyncML>...</SyncML>";
        let h = HmacHeader::compute("Bruce2", b"OhBehave", b"Nonce", body);
        let s = h.to_string();
        assert!(s.starts_with("algorithm=MD5, username=\"Bruce2\", mac="), "{s}");
        let p = HmacHeader::parse(&s).unwrap();
        assert_eq!(p, h);
        assert!(p.verify(b"OhBehave", b"Nonce", body).unwrap());
        assert!(!p.verify(b"OhBehave", b"Nonce", b"<SyncML>..!</SyncML>").unwrap());
        assert!(!p.verify(b"wrong", b"Nonce", body).unwrap());
        assert!(!p.verify(b"OhBehave", b"Other", body).unwrap());
        // mac = B64(H(B64(H(u:p)) ":" nonce ":" B64(H(body)))), recomputed from its definition
        let inner = b64_md5_user_pass(b"Bruce2", b"OhBehave");
        let bh = B64.encode(md5(&[body]));
        let want = B64.encode(md5(&[format!("{inner}:Nonce:{bh}").as_bytes()]));
        assert_eq!(h.mac, want);
    }

    #[test]
    fn hmac_header_variants() {
        let p = HmacHeader::parse("username=\"a b\" ,mac=xyz==").unwrap();
        assert_eq!(p.algorithm, None);
        assert_eq!(p.username, "a b");
        assert_eq!(p.mac, "xyz==");
        let p = HmacHeader::parse(
            "mac=NTI2OTJhMDAwNjYxODkwYmQ3NWUxN2RhN2ZmYmJlMzk, algorithm=MD5, username=\"userA\"",
        )
        .unwrap();
        assert_eq!(p.username, "userA");
        assert_eq!(HmacHeader::parse("username=\"x\""), Err(HmacHeaderError::Missing("mac")));
        assert!(matches!(HmacHeader::parse("username=\"x, mac=1"), Err(HmacHeaderError::Syntax(_))));
        assert!(matches!(HmacHeader::parse(""), Err(HmacHeaderError::Syntax(_))));
        let p = HmacHeader::parse("algorithm=SHA1, username=u, mac=m").unwrap();
        assert_eq!(p.verify(b"p", b"n", b""), Err(HmacHeaderError::UnsupportedAlgorithm));
        let p = HmacHeader::parse("username=\"q\\\"uote\", mac=m").unwrap();
        assert_eq!(p.username, "q\"uote");
        assert_eq!(HmacHeader::parse(&p.to_string()).unwrap(), p);
    }

    #[test]
    fn auth_type_strings() {
        for t in [AuthType::Basic, AuthType::Md5, AuthType::Hmac] {
            assert_eq!(AuthType::parse(t.as_str()), t);
        }
        assert_eq!(AuthType::parse("syncml:auth-X509"), AuthType::Other("syncml:auth-X509".into()));
    }

    proptest! {
        #[test]
        fn hmac_header_never_panics_and_round_trips(user in "[ -~]{0,20}", mac in "[A-Za-z0-9+/=]{1,30}", s in "\\PC{0,60}") {
            let _ = HmacHeader::parse(&s);
            let h = HmacHeader { algorithm: Some("MD5".into()), username: user, mac };
            prop_assert_eq!(HmacHeader::parse(&h.to_string()).unwrap(), h);
        }

        #[test]
        fn ct_eq_is_eq(a in proptest::collection::vec(any::<u8>(), 0..20), b in proptest::collection::vec(any::<u8>(), 0..20)) {
            prop_assert_eq!(ct_eq(&a, &b), a == b);
        }
    }
}

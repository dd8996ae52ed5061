//! Package 0: the General Package #0 server-alert notification (OMA DM 1.2.1 Notification §6.2, MIME type
//! `application/vnd.syncml.notification`).
//!
//! ```text
//! digest (128 bits, MD5)
//! trigger-hdr: version (10 bits) ui-mode (2) initiator (1) future-use (27) session-id (16)
//!              length-identifier (8) server-identifier (length-identifier bytes)
//! trigger-body: vendor-specific bytes (the rest of the message)
//! digest = H(B64(H(server-identifier ":" password)) ":" nonce ":" B64(H(trigger)))
//!          trigger = every byte after the digest
//! ```
//! The password and nonce are the *server's* credentials as the client holds them (DMAcc AppAuth with
//! AAuthLevel SRVCRED; DM 1.1 ServerPW / ServerNonce).
//!
//! **Version.** Input accepts 10, 11 and 12 (1.0–1.2). The emitted default is [`DEFAULT_VERSION`] = 11: the
//! DM 1.2.1 Notification text (as transcribed) requires the value `0000001011`, libdmclient accepts only 11, and
//! the AOSP client ignores the field, so 11 is what every known client takes. Builders can choose another.
//!
//! Lossless: the 27 future-use bits, the version and the trigger body are kept as read.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use md5::{Digest as _, Md5};
use serde::{Deserialize, Serialize};

use super::auth::{b64_md5_user_pass, ct_eq};
use crate::error::DecodeResult;
use crate::reader::{Decode, Encode, Reader};

/// The version emitted by default (see the module docs for why 11).
pub const DEFAULT_VERSION: u16 = 11;

/// UI mode (2 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UiMode {
    /// `00`
    NotSpecified,
    /// `01`
    Background,
    /// `10`
    Informative,
    /// `11`
    UserInteraction,
}

impl UiMode {
    const fn from_bits(b: u8) -> Self {
        match b & 3 {
            0 => Self::NotSpecified,
            1 => Self::Background,
            2 => Self::Informative,
            _ => Self::UserInteraction,
        }
    }
    const fn bits(self) -> u64 {
        self as u64
    }
}

/// Who initiated the management session (1 bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Initiator {
    /// `0`: client (user) initiated.
    Client,
    /// `1`: server initiated.
    Server,
}

/// A decoded package 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package0 {
    /// The MD5 digest.
    #[serde(with = "crate::hexser::array")]
    pub digest: [u8; 16],
    /// Notification version ×10 (10 bits): 10 = 1.0, 11 = 1.1, 12 = 1.2.
    pub version: u16,
    /// UI mode.
    pub ui_mode: UiMode,
    /// Initiator.
    pub initiator: Initiator,
    /// The 27 future-use bits (zero on the wire per spec; kept for losslessness).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub future_use: u32,
    /// Session id: becomes the SyncML `SessionID` as upper-case hex without leading zeros.
    pub session_id: u16,
    /// Server identifier (the DMAcc ServerID).
    #[serde(with = "crate::hexser")]
    pub server_id: Vec<u8>,
    /// Vendor-specific trigger body.
    #[serde(with = "crate::hexser", default, skip_serializing_if = "Vec::is_empty")]
    pub body: Vec<u8>,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// The parameters of a package 0 to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package0Params<'a> {
    /// Notification version ×10 ([`DEFAULT_VERSION`] unless the peer needs another).
    pub version: u16,
    /// UI mode.
    pub ui_mode: UiMode,
    /// Initiator.
    pub initiator: Initiator,
    /// Session id.
    pub session_id: u16,
    /// Server identifier.
    pub server_id: &'a [u8],
    /// Vendor-specific body.
    pub body: &'a [u8],
}

/// `H(B64(H(server_id ":" password)) ":" nonce ":" B64(H(trigger)))`.
#[must_use]
pub fn compute_digest(server_id: &[u8], password: &[u8], nonce: &[u8], trigger: &[u8]) -> [u8; 16] {
    let trig = B64.encode(Md5::digest(trigger));
    let mut h = Md5::new();
    h.update(b64_md5_user_pass(server_id, password).as_bytes());
    h.update(b":");
    h.update(nonce);
    h.update(b":");
    h.update(trig.as_bytes());
    h.finalize().into()
}

impl Package0 {
    /// Builds a package 0 and computes its digest with the server's password and nonce.
    ///
    /// The server identifier is cut to 255 bytes (its length field has 8 bits); the version to 10 bits.
    #[must_use]
    pub fn build(p: &Package0Params<'_>, password: &[u8], nonce: &[u8]) -> Self {
        let mut pkg = Self {
            digest: [0; 16],
            version: p.version & 0x3FF,
            ui_mode: p.ui_mode,
            initiator: p.initiator,
            future_use: 0,
            session_id: p.session_id,
            server_id: p.server_id[..p.server_id.len().min(255)].to_vec(),
            body: p.body.to_vec(),
        };
        pkg.digest = compute_digest(&pkg.server_id, password, nonce, &pkg.trigger_bytes());
        pkg
    }

    /// The trigger: every byte after the digest.
    #[must_use]
    pub fn trigger_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.server_id.len() + self.body.len());
        self.write_trigger(&mut out);
        out
    }

    fn write_trigger(&self, out: &mut Vec<u8>) {
        let word: u64 = (u64::from(self.version & 0x3FF) << 54)
            | (self.ui_mode.bits() << 52)
            | (u64::from(self.initiator == Initiator::Server) << 51)
            | (u64::from(self.future_use & 0x7FF_FFFF) << 24)
            | (u64::from(self.session_id) << 8)
            | self.server_id.len().min(255) as u64;
        out.extend_from_slice(&word.to_be_bytes());
        out.extend_from_slice(&self.server_id[..self.server_id.len().min(255)]);
        out.extend_from_slice(&self.body);
    }

    /// Checks the digest against the server's password and nonce, in constant time.
    #[must_use]
    pub fn verify(&self, password: &[u8], nonce: &[u8]) -> bool {
        let want = compute_digest(&self.server_id, password, nonce, &self.trigger_bytes());
        ct_eq(&want, &self.digest)
    }

    /// The SyncML `SessionID` this package 0 asks for: upper-case hex without leading zeros.
    #[must_use]
    pub fn session_id_text(&self) -> String {
        format!("{:X}", self.session_id)
    }

    /// The server identifier as text (lossy for non-UTF-8 bytes).
    #[must_use]
    pub fn server_id_text(&self) -> String {
        String::from_utf8_lossy(&self.server_id).into_owned()
    }
}

impl Decode for Package0 {
    const NAME: &'static str = "package 0";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let digest = r.array::<16>("package 0 digest")?;
        let word = u64::from_be_bytes(r.array::<8>("package 0 trigger header")?);
        let version = ((word >> 54) & 0x3FF) as u16;
        if !(10..=12).contains(&version) {
            return Err(r.invalid_at(8, "package 0 version", "not 10, 11 or 12 (1.0–1.2)"));
        }
        let id_len = (word & 0xFF) as usize;
        let server_id = r.take_len(id_len, 1, "package 0 server identifier")?.to_vec();
        let body = r.rest().to_vec();
        Ok(Self {
            digest,
            version,
            ui_mode: UiMode::from_bits((word >> 52) as u8),
            initiator: if (word >> 51) & 1 == 1 { Initiator::Server } else { Initiator::Client },
            future_use: ((word >> 24) & 0x7FF_FFFF) as u32,
            session_id: ((word >> 8) & 0xFFFF) as u16,
            server_id,
            body,
        })
    }
}

impl Encode for Package0 {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.digest);
        self.write_trigger(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DecodeErrorKind;
    use proptest::prelude::*;

    fn params(server_id: &[u8]) -> Package0Params<'_> {
        Package0Params {
            version: 12,
            ui_mode: UiMode::Background,
            initiator: Initiator::Server,
            session_id: 0x1A2B,
            server_id,
            body: b"",
        }
    }

    #[test]
    fn header_bit_layout() {
        // omadm.md §4.1: v12/background/server → first bytes 03 18; v11/user-interaction/server → 02 F8.
        let p = Package0::build(&params(b"srv"), b"pw", b"n");
        let b = p.encode();
        assert_eq!(&b[16..18], &[0x03, 0x18]);
        assert_eq!(&b[21..24], &[0x1A, 0x2B, 3]);
        assert_eq!(&b[24..], b"srv");
        let mut q = params(b"srv");
        q.version = 11;
        q.ui_mode = UiMode::UserInteraction;
        let b = Package0::build(&q, b"pw", b"n").encode();
        assert_eq!(&b[16..18], &[0x02, 0xF8]);
        assert_eq!(p.session_id_text(), "1A2B");
    }

    #[test]
    fn digest_is_the_spec_chain() {
        let p = Package0::build(&params(b"com.example.dm"), b"srvpw", b"\x01\x02\x03");
        let trigger = p.trigger_bytes();
        let inner = b64_md5_user_pass(b"com.example.dm", b"srvpw");
        let th = B64.encode(Md5::digest(&trigger));
        let mut h = Md5::new();
        h.update(format!("{inner}:").as_bytes());
        h.update([1u8, 2, 3]);
        h.update(format!(":{th}").as_bytes());
        let want: [u8; 16] = h.finalize().into();
        assert_eq!(p.digest, want);
        assert!(p.verify(b"srvpw", b"\x01\x02\x03"));
        assert!(!p.verify(b"srvpw", b"\x01\x02\x04"));
        assert!(!p.verify(b"other", b"\x01\x02\x03"));
    }

    #[test]
    fn every_single_bit_flip_fails_the_digest() {
        let p =
            Package0::build(&Package0Params { body: b"vendor", ..params(b"server-1") }, b"secret", b"nonce");
        let b = p.encode();
        for i in 0..b.len() * 8 {
            let mut t = b.clone();
            t[i / 8] ^= 1 << (i % 8);
            // A flip in the version or length field may make it undecodable: also a rejection.
            if let Ok(q) = Package0::decode_exact(&t) {
                assert!(!q.verify(b"secret", b"nonce"), "bit {i} flip still verifies");
            }
        }
    }

    #[test]
    fn decode_errors() {
        let p = Package0::build(&params(b"srv"), b"pw", b"n");
        let b = p.encode();
        for i in 0..b.len() {
            assert!(Package0::decode_exact(&b[..i]).is_err(), "prefix {i}");
        }
        let mut t = b.clone();
        t[23] = 10; // server id length beyond the end
        let e = Package0::decode_exact(&t).unwrap_err();
        assert_eq!(e.offset, 23);
        assert!(matches!(e.kind, DecodeErrorKind::LengthOverflow { length: 10, remaining: 3, .. }));
        let mut t = b;
        t[16] = 0xFF; // version 1023
        assert_eq!(Package0::decode_exact(&t).unwrap_err().offset, 16);
    }

    proptest! {
        #[test]
        fn build_decode_verify(version in 10u16..=12, ui in 0u8..4, server in any::<bool>(), sid in any::<u16>(),
                               id in proptest::collection::vec(any::<u8>(), 0..40),
                               body in proptest::collection::vec(any::<u8>(), 0..40),
                               pw in proptest::collection::vec(any::<u8>(), 0..20),
                               nonce in proptest::collection::vec(any::<u8>(), 0..20)) {
            let p = Package0::build(&Package0Params {
                version, ui_mode: UiMode::from_bits(ui),
                initiator: if server { Initiator::Server } else { Initiator::Client },
                session_id: sid, server_id: &id, body: &body,
            }, &pw, &nonce);
            let b = p.encode();
            let q = Package0::decode_exact(&b).unwrap();
            prop_assert_eq!(&q, &p);
            prop_assert!(q.verify(&pw, &nonce));
        }

        #[test]
        fn bytes_round_trip(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(p) = Package0::decode_exact(&b) {
                prop_assert_eq!(p.encode(), b);
            }
        }
    }
}

//! The MCIM provisioning context, the value of `./M2MSIMMobj/Boot/MCIMProvCtx` (S3-090905 step 10: the
//! bootstrap message carries "the context of the MCIM application provision"). The contribution names it
//! but gives no content; this format is a decision: what the TRE needs to accept the MCIM the SHO will
//! send, delivered in the bootstrap the DRF authenticates.
//!
//! ```text
//! 30 { 80 SHOID (3)            the SHO the M2ME was registered with (step 12): a package from another SHO is refused
//!      81 SHO key?             SubjectPublicKeyInfo DER of the SHO's ECDSA P-256 key: when present, the package
//!                              MUST carry a signature that verifies with it
//!      82 MCIMID (10)?         the MCIM the SHO announced (EF_ICCID coding): another one is refused
//!      83 transaction id?      opaque, echoed nowhere; for the operator's logs }
//! ```
//!
//! The TRE's policy built on it (Result 405 when it refuses) is in `m2msim_dm_client::tre`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::layout::{self, Container, FieldOut, Layout};
use super::mcim::MCIM_ID_LEN;
use crate::error::{DecodeError, DecodeResult};
use crate::reader::{Decode, Encode, Reader};
use crate::sim::{EfIccid, PlmnId};

/// Tags of the context.
pub mod tag {
    /// The context.
    pub const CONTEXT: u8 = 0x30;
    /// SHOID.
    pub const SHO_ID: u8 = 0x80;
    /// SHO verifying key.
    pub const SHO_KEY: u8 = 0x81;
    /// Expected MCIMID.
    pub const MCIM_ID: u8 = 0x82;
    /// Transaction id.
    pub const TRANSACTION_ID: u8 = 0x83;
}

const FIELDS: &[(u8, &str)] = &[
    (tag::SHO_ID, "SHOID (80)"),
    (tag::SHO_KEY, "SHO key (81)"),
    (tag::MCIM_ID, "MCIMID (82)"),
    (tag::TRANSACTION_ID, "transaction id (83)"),
];

/// The MCIM provisioning context (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct McimProvCtx {
    /// `80`: the SHO's PLMN identity.
    pub sho_id: PlmnId,
    /// `81`: the SHO's signature key (SubjectPublicKeyInfo DER), if signatures are required.
    #[serde(default, with = "crate::hexser::opt", skip_serializing_if = "Option::is_none")]
    pub sho_key: Option<Vec<u8>>,
    /// `82`: the MCIM the SHO announced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcim_id: Option<EfIccid>,
    /// `83`: an opaque transaction identifier.
    #[serde(default, with = "crate::hexser::opt", skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<Vec<u8>>,
    /// Length forms and unknown items as read.
    #[serde(default, skip_serializing_if = "Layout::is_canonical")]
    pub layout: Layout,
}

impl McimProvCtx {
    /// A context naming only the SHO.
    #[must_use]
    pub fn new(sho_id: PlmnId) -> Self {
        Self { sho_id, sho_key: None, mcim_id: None, transaction_id: None, layout: Layout::default() }
    }

    fn fields(&self) -> Vec<FieldOut<'_>> {
        let mut v: Vec<FieldOut<'_>> = vec![(tag::SHO_ID, Cow::Borrowed(&self.sho_id.0[..]))];
        if let Some(k) = &self.sho_key {
            v.push((tag::SHO_KEY, Cow::Borrowed(k)));
        }
        if let Some(m) = &self.mcim_id {
            v.push((tag::MCIM_ID, Cow::Owned(m.encode())));
        }
        if let Some(t) = &self.transaction_id {
            v.push((tag::TRANSACTION_ID, Cow::Borrowed(t)));
        }
        v
    }
}

impl Decode for McimProvCtx {
    const NAME: &'static str = "MCIM provisioning context";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let mut c = Container::read(r, tag::CONTEXT, "MCIM provisioning context (30)", FIELDS)?;
        let sho_id =
            PlmnId(c.require(tag::SHO_ID, "SHOID (80)")?.array::<3>("SHOID (80)", "must be 3 bytes")?);
        let sho_key = c.take(tag::SHO_KEY).map(|mut f| f.bytes().to_vec());
        let mcim_id = match c.take(tag::MCIM_ID) {
            None => None,
            Some(mut f) => {
                if f.value.remaining() != MCIM_ID_LEN {
                    return Err(DecodeError::invalid("MCIMID (82)", "must be 10 bytes", f.offset()));
                }
                Some(EfIccid::decode_from(&mut f.value)?)
            }
        };
        let transaction_id = c.take(tag::TRANSACTION_ID).map(|mut f| f.bytes().to_vec());
        Ok(Self { sho_id, sho_key, mcim_id, transaction_id, layout: c.layout })
    }
}

impl Encode for McimProvCtx {
    fn encode_to(&self, out: &mut Vec<u8>) {
        let slots: Vec<u8> = FIELDS.iter().map(|(t, _)| *t).collect();
        layout::write_container(out, tag::CONTEXT, &slots, &self.fields(), &self.layout);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::error::DecodeErrorKind;

    fn sample() -> McimProvCtx {
        let mut c = McimProvCtx::new(PlmnId::new("001", "01").unwrap());
        c.sho_key = Some(vec![0x30, 0x59, 0x01]);
        c.mcim_id = Some(EfIccid::from_digits("8949001000000000017").unwrap());
        c.transaction_id = Some(b"tx-1".to_vec());
        c
    }

    #[test]
    fn known_bytes() {
        let b = sample().encode();
        assert_eq!(hex::encode(&b), "301c800300f1108103305901820a989400010000000010f7830474782d31",);
        assert_eq!(McimProvCtx::decode_exact(&b).unwrap(), sample());
        let only = McimProvCtx::new(PlmnId::new("001", "01").unwrap()).encode();
        assert_eq!(only, [0x30, 0x05, 0x80, 0x03, 0x00, 0xF1, 0x10]);
    }

    #[test]
    fn errors_and_truncation() {
        let b = sample().encode();
        for i in 0..b.len() {
            assert!(McimProvCtx::decode_exact(&b[..i]).is_err(), "prefix {i}");
        }
        let e = McimProvCtx::decode_exact(&[0x30, 0x03, 0x81, 0x01, 0x00]).unwrap_err();
        assert_eq!(e.offset, 2);
        assert!(matches!(e.kind, DecodeErrorKind::Invalid { what: "SHOID (80)", .. }));
        let e = McimProvCtx::decode_exact(&[0x30, 0x04, 0x80, 0x02, 0x00, 0xF1]).unwrap_err();
        assert_eq!(e.offset, 4);
    }

    proptest! {
        #[test]
        fn bytes_round_trip(b in proptest::collection::vec(any::<u8>(), 0..60)) {
            if let Ok(c) = McimProvCtx::decode_exact(&b) {
                prop_assert_eq!(c.encode(), b);
            }
        }

        #[test]
        fn typed_round_trip(
            sho in any::<[u8; 3]>(),
            key in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..100)),
            tx in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..10)),
            id in proptest::option::of("[0-9]{0,20}"),
        ) {
            let mut c = McimProvCtx::new(PlmnId(sho));
            c.sho_key = key;
            c.transaction_id = tx;
            c.mcim_id = id.map(|d| EfIccid::from_digits(&d).unwrap());
            prop_assert_eq!(McimProvCtx::decode_exact(&c.encode()).unwrap(), c);
        }
    }
}

//! The TRE's validation data, the value of `./M2MSIMMobj/TRE/ValidationData` (S3-090905 steps 13–15: the
//! SHO hands it with the PfC to the PVA, which validates the M2ME's integrity). No standard format exists:
//! this one is a decision, in the style of the MCIM package ([`super::mcim`]).
//!
//! ```text
//! 30 { 80 version (1) = 01
//!      81 mode (1)          01 autonomous, 02 semi-autonomous, 03 remote (TR 33.812 §5.1.3, m2m.md §1)
//!      82 TREID             UTF-8, the TRE identity the PVA knows (TREID node)
//!      83 PfCRef (32)       SHA-256 of the TRE's PfC: binds the report to the key the MCIM is encrypted to
//!      84 nonce (0..=64)    the value of TRE/ValidationNonce when the report was made (freshness), may be empty
//!      A5 { 30 { 80 component (UTF-8)  81 SHA-256 (32) } … }?   the measurements
//!      86 signature (64)    ECDSA P-256 / SHA-256 (r ‖ s) by the TRE's attestation key over every item before 86 }
//! ```
//!
//! What `A5` holds depends on the mode: in **remote** validation every measured component with its digest
//! (the PVA compares them with reference values); in **semi-autonomous** validation only the components
//! whose measurement differs from the TRE's own reference value (empty = all good); in **autonomous**
//! validation nothing (`A5` absent): the TRE only produces the report, and only answers AKA, when its own
//! check passed, so the signed report is the implicit result.
//!
//! Lossless as the other containers of this module (see [`super::layout`]); a measurement list holds at
//! most [`super::layout::MAX_ITEMS`] entries.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::layout::{self, Container, FieldOut, Layout, MAX_ITEMS};
use crate::apdu::code_enum;
use crate::error::{DecodeError, DecodeErrorKind, DecodeResult};
use crate::reader::{Decode, Encode, Reader};

/// Tags of the validation data.
pub mod tag {
    /// The report.
    pub const REPORT: u8 = 0x30;
    /// Version.
    pub const VERSION: u8 = 0x80;
    /// Mode.
    pub const MODE: u8 = 0x81;
    /// TREID.
    pub const TRE_ID: u8 = 0x82;
    /// PfCRef.
    pub const PFC_REF: u8 = 0x83;
    /// Nonce.
    pub const NONCE: u8 = 0x84;
    /// Measurement list.
    pub const MEASUREMENTS: u8 = 0xA5;
    /// Signature.
    pub const SIGNATURE: u8 = 0x86;
    /// One measurement.
    pub const MEASUREMENT: u8 = 0x30;
    /// Component name (in a measurement).
    pub const COMPONENT: u8 = 0x80;
    /// Digest (in a measurement).
    pub const DIGEST: u8 = 0x81;
}

/// The validation data version defined here.
pub const VERSION_1: u8 = 0x01;

/// The longest nonce.
pub const MAX_NONCE_LEN: usize = 64;

code_enum! {
    /// The validation mode (TR 33.812 Alt 1a; see the [module docs](self)).
    pub enum ValidationMode {
        Autonomous = 0x01 => "autonomous validation",
        SemiAutonomous = 0x02 => "semi-autonomous validation",
        Remote = 0x03 => "remote validation",
    }
}

const REPORT_FIELDS: &[(u8, &str)] = &[
    (tag::VERSION, "validation data version (80)"),
    (tag::MODE, "validation mode (81)"),
    (tag::TRE_ID, "TREID (82)"),
    (tag::PFC_REF, "PfCRef (83)"),
    (tag::NONCE, "validation nonce (84)"),
    (tag::MEASUREMENTS, "measurement list (A5)"),
    (tag::SIGNATURE, "attestation signature (86)"),
];

const MEASUREMENT_FIELDS: &[(u8, &str)] =
    &[(tag::COMPONENT, "component name (80)"), (tag::DIGEST, "component digest (81)")];

fn slots(fields: &[(u8, &str)]) -> Vec<u8> {
    fields.iter().map(|(t, _)| *t).collect()
}

fn utf8(f: &mut layout::Field<'_>, what: &'static str) -> DecodeResult<String> {
    let at = f.offset();
    String::from_utf8(f.bytes().to_vec()).map_err(|_| DecodeError::invalid(what, "not UTF-8", at))
}

/// One integrity measurement: a component of the M2ME and the SHA-256 of its image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measurement {
    /// `80`: the component's name.
    pub component: String,
    /// `81`: SHA-256 of the component.
    #[serde(with = "crate::hexser::array")]
    pub digest: [u8; 32],
    /// Length forms and unknown items as read.
    #[serde(default, skip_serializing_if = "Layout::is_canonical")]
    pub layout: Layout,
}

impl Measurement {
    /// A measurement.
    #[must_use]
    pub fn new(component: impl Into<String>, digest: [u8; 32]) -> Self {
        Self { component: component.into(), digest, layout: Layout::default() }
    }

    fn fields(&self) -> Vec<FieldOut<'_>> {
        vec![
            (tag::COMPONENT, Cow::Borrowed(self.component.as_bytes())),
            (tag::DIGEST, Cow::Borrowed(&self.digest[..])),
        ]
    }
}

impl Decode for Measurement {
    const NAME: &'static str = "measurement";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let mut c = Container::read(r, tag::MEASUREMENT, "measurement (30)", MEASUREMENT_FIELDS)?;
        let component = utf8(&mut c.require(tag::COMPONENT, "component name (80)")?, "component name (80)")?;
        let digest = c
            .require(tag::DIGEST, "component digest (81)")?
            .array::<32>("component digest (81)", "must be 32 bytes")?;
        Ok(Self { component, digest, layout: c.layout })
    }
}

impl Encode for Measurement {
    fn encode_to(&self, out: &mut Vec<u8>) {
        layout::write_container(
            out,
            tag::MEASUREMENT,
            &slots(MEASUREMENT_FIELDS),
            &self.fields(),
            &self.layout,
        );
    }
}

/// The validation data (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationData {
    /// `80`: version ([`VERSION_1`]).
    pub version: u8,
    /// `81`: the validation mode.
    pub mode: ValidationMode,
    /// `82`: the TRE identity.
    pub tre_id: String,
    /// `83`: SHA-256 of the TRE's PfC.
    #[serde(with = "crate::hexser::array")]
    pub pfc_ref: [u8; 32],
    /// `84`: the nonce the report answers (may be empty).
    #[serde(with = "crate::hexser")]
    pub nonce: Vec<u8>,
    /// `A5`: the measurements (`None`: absent, as in autonomous mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurements: Option<Vec<Measurement>>,
    /// `86`: the attestation signature over [`ValidationData::signed_data`] (empty before signing).
    #[serde(with = "crate::hexser")]
    pub signature: Vec<u8>,
    /// Length forms and unknown items as read.
    #[serde(default, skip_serializing_if = "Layout::is_canonical")]
    pub layout: Layout,
}

impl ValidationData {
    /// An unsigned version-1 report.
    #[must_use]
    pub fn new(
        mode: ValidationMode,
        tre_id: impl Into<String>,
        pfc_ref: [u8; 32],
        nonce: Vec<u8>,
        measurements: Option<Vec<Measurement>>,
    ) -> Self {
        Self {
            version: VERSION_1,
            mode,
            tre_id: tre_id.into(),
            pfc_ref,
            nonce,
            measurements,
            signature: Vec::new(),
            layout: Layout::default(),
        }
    }

    fn fields(&self) -> Vec<FieldOut<'_>> {
        let mut v: Vec<FieldOut<'_>> = vec![
            (tag::VERSION, Cow::Owned(vec![self.version])),
            (tag::MODE, Cow::Owned(vec![self.mode.to_u8()])),
            (tag::TRE_ID, Cow::Borrowed(self.tre_id.as_bytes())),
            (tag::PFC_REF, Cow::Borrowed(&self.pfc_ref[..])),
            (tag::NONCE, Cow::Borrowed(&self.nonce)),
        ];
        if let Some(ms) = &self.measurements {
            let mut b = Vec::new();
            for m in ms {
                m.encode_to(&mut b);
            }
            v.push((tag::MEASUREMENTS, Cow::Owned(b)));
        }
        v.push((tag::SIGNATURE, Cow::Borrowed(&self.signature)));
        v
    }

    /// The bytes the signature covers: every item before `86`, as encoded.
    #[must_use]
    pub fn signed_data(&self) -> Vec<u8> {
        let mut out = Vec::new();
        layout::write_items(
            &mut out,
            &slots(REPORT_FIELDS),
            &self.fields(),
            &self.layout,
            Some(tag::SIGNATURE),
        );
        out
    }
}

impl Decode for ValidationData {
    const NAME: &'static str = "validation data";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let mut c = Container::read(r, tag::REPORT, "validation data (30)", REPORT_FIELDS)?;
        let version =
            c.require(tag::VERSION, "validation data version (80)")?.byte("validation data version (80)")?;
        let mode = ValidationMode::from_u8(
            c.require(tag::MODE, "validation mode (81)")?.byte("validation mode (81)")?,
        );
        let tre_id = utf8(&mut c.require(tag::TRE_ID, "TREID (82)")?, "TREID (82)")?;
        let pfc_ref =
            c.require(tag::PFC_REF, "PfCRef (83)")?.array::<32>("PfCRef (83)", "must be 32 bytes")?;
        let mut f = c.require(tag::NONCE, "validation nonce (84)")?;
        let at = f.offset();
        let nonce = f.bytes().to_vec();
        if nonce.len() > MAX_NONCE_LEN {
            return Err(DecodeError::invalid("validation nonce (84)", "longer than 64 bytes", at));
        }
        let measurements = match c.take(tag::MEASUREMENTS) {
            None => None,
            Some(mut f) => {
                let mut list = Vec::new();
                while !f.value.is_empty() {
                    if list.len() == MAX_ITEMS {
                        return Err(f
                            .value
                            .error(DecodeErrorKind::TooMany { what: "measurements", max: MAX_ITEMS }));
                    }
                    list.push(Measurement::decode_from(&mut f.value)?);
                }
                Some(list)
            }
        };
        let signature = c.require(tag::SIGNATURE, "attestation signature (86)")?.bytes().to_vec();
        Ok(Self { version, mode, tre_id, pfc_ref, nonce, measurements, signature, layout: c.layout })
    }
}

impl Encode for ValidationData {
    fn encode_to(&self, out: &mut Vec<u8>) {
        layout::write_container(out, tag::REPORT, &slots(REPORT_FIELDS), &self.fields(), &self.layout);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn sample(mode: ValidationMode) -> ValidationData {
        let ms = match mode {
            ValidationMode::Autonomous => None,
            _ => Some(vec![Measurement::new("boot", [0x11; 32]), Measurement::new("os", [0x22; 32])]),
        };
        let mut v = ValidationData::new(mode, "IMEI:490154203237518", [0xAB; 32], vec![1, 2, 3, 4], ms);
        v.signature = vec![0x5A; 64];
        v
    }

    #[test]
    fn layout_of_a_remote_report() {
        let v = sample(ValidationMode::Remote);
        let b = v.encode();
        let hex = hex::encode(&b);
        assert!(hex.starts_with("3081"), "{hex}");
        assert!(hex.contains("800101810103821449"), "{hex}");
        assert!(hex.contains("a55230288004626f6f74"), "{hex}");
        assert_eq!(ValidationData::decode_exact(&b).unwrap(), v);
        // The signature covers everything before 86.
        let signed = v.signed_data();
        assert_eq!(&b[3..3 + signed.len()], &signed[..]);
        assert_eq!(&b[3 + signed.len()..3 + signed.len() + 2], &[0x86, 0x40]);
    }

    #[test]
    fn autonomous_report_has_no_list() {
        let v = sample(ValidationMode::Autonomous);
        let b = v.encode();
        assert!(!b.contains(&tag::MEASUREMENTS));
        assert_eq!(ValidationData::decode_exact(&b).unwrap().measurements, None);
    }

    #[test]
    fn truncation_at_every_byte_is_an_error() {
        for mode in [ValidationMode::Autonomous, ValidationMode::SemiAutonomous, ValidationMode::Remote] {
            let b = sample(mode).encode();
            for i in 0..b.len() {
                assert!(ValidationData::decode_exact(&b[..i]).is_err(), "{mode:?} prefix {i}");
            }
        }
    }

    #[test]
    fn field_errors_have_offsets() {
        let v = sample(ValidationMode::Remote);
        let mut b = v.encode();
        // TREID not UTF-8: 30 81 xx | 80 01 01 | 81 01 03 | 82 14 <TREID at 11>
        b[11] = 0xFF;
        let e = ValidationData::decode_exact(&b).unwrap_err();
        assert_eq!(e.offset, 11);
        assert!(e.to_string().contains("TREID"), "{e}");
        // A measurement list holding something other than 30.
        let mut v2 = v.clone();
        v2.measurements = Some(vec![]);
        let mut b = v2.encode();
        let pos = b.windows(2).position(|w| w == [0xA5, 0x00]).unwrap();
        b[pos + 1] = 2;
        b.splice(pos + 2..pos + 2, [0x04, 0x00]);
        b[2] += 2;
        let e = ValidationData::decode_exact(&b).unwrap_err();
        assert_eq!(e.offset, pos + 2);
        assert!(matches!(e.kind, DecodeErrorKind::UnexpectedTag { found: 0x04, .. }), "{e}");
    }

    fn arb_layout_free() -> impl Strategy<Value = ValidationData> {
        (
            prop_oneof![
                Just(ValidationMode::Autonomous),
                Just(ValidationMode::SemiAutonomous),
                Just(ValidationMode::Remote),
                any::<u8>().prop_map(ValidationMode::from_u8)
            ],
            "[a-zA-Z0-9:]{0,30}",
            any::<[u8; 32]>(),
            proptest::collection::vec(any::<u8>(), 0..=64),
            proptest::option::of(proptest::collection::vec(
                ("[a-z]{1,12}", any::<[u8; 32]>()).prop_map(|(c, d)| Measurement::new(c, d)),
                0..5,
            )),
            proptest::collection::vec(any::<u8>(), 0..80),
        )
            .prop_map(|(mode, id, pfc, nonce, ms, sig)| {
                let mut v = ValidationData::new(mode, id, pfc, nonce, ms);
                v.signature = sig;
                v
            })
    }

    proptest! {
        #[test]
        fn typed_round_trip(v in arb_layout_free()) {
            let b = v.encode();
            prop_assert_eq!(ValidationData::decode_exact(&b).unwrap(), v);
        }

        #[test]
        fn bytes_round_trip(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(v) = ValidationData::decode_exact(&b) {
                prop_assert_eq!(v.encode(), b);
            }
        }

        #[test]
        fn mutated_reports_round_trip_or_fail(v in arb_layout_free(), i in any::<prop::sample::Index>(), x in any::<u8>()) {
            let mut b = v.encode();
            let i = i.index(b.len());
            b[i] = x;
            if let Ok(v) = ValidationData::decode_exact(&b) {
                prop_assert_eq!(v.encode(), b);
            }
        }
    }
}

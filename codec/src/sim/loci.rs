//! Location information files: EF_LOCI (TS 31.102 §4.2.17, TS 51.011 §10.3.17), EF_PSLOCI (§4.2.23) and
//! EF_EPSLOCI (§4.2.91), with the location identities LAI, RAI and TAI (TS 24.008 §10.5.1.3, §10.5.5.15,
//! TS 24.301 §9.9.3.32).
//!
//! After an IMSI change the terminal must not reuse the old temporary identities: the `invalidate` helpers
//! write what m2m.md §4.3 describes (temporary identity all `FF`, LAC/TAC `FFFE` = deleted, update status
//! `01` "not updated"), which forces an IMSI attach.

use serde::{Deserialize, Serialize};

use super::PlmnId;
use crate::apdu::code_enum;
use crate::error::DecodeResult;
use crate::reader::{Decode, Encode, Reader};

/// The LAC/TAC value that marks a deleted location area (TS 24.008 §4.1.2.2, TS 31.102 §4.2.17).
pub const DELETED_LAC: u16 = 0xFFFE;

code_enum! {
    /// Location update status, byte 11 of EF_LOCI (TS 31.102 §4.2.17; b3–b1, the other bits RFU and kept).
    pub enum LocationUpdateStatus {
        Updated = 0x00 => "updated",
        NotUpdated = 0x01 => "not updated",
        PlmnNotAllowed = 0x02 => "PLMN not allowed",
        LocationAreaNotAllowed = 0x03 => "location area not allowed",
        Reserved = 0x07 => "reserved",
    }
}

code_enum! {
    /// Routing area update status, byte 14 of EF_PSLOCI (TS 31.102 §4.2.23).
    pub enum RoutingAreaUpdateStatus {
        Updated = 0x00 => "updated",
        NotUpdated = 0x01 => "not updated",
        PlmnNotAllowed = 0x02 => "PLMN not allowed",
        RoutingAreaNotAllowed = 0x03 => "routing area not allowed",
        Reserved = 0x07 => "reserved",
    }
}

code_enum! {
    /// EPS update status, byte 18 of EF_EPSLOCI (TS 31.102 §4.2.91).
    pub enum EpsUpdateStatus {
        Updated = 0x00 => "updated",
        NotUpdated = 0x01 => "not updated",
        RoamingNotAllowed = 0x02 => "roaming not allowed",
        Reserved = 0x07 => "reserved",
    }
}

/// Location area identification: PLMN and LAC (TS 24.008 §10.5.1.3), 5 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Lai {
    /// The PLMN.
    pub plmn: PlmnId,
    /// Location area code (`FFFE` = deleted).
    pub lac: u16,
}

impl Decode for Lai {
    const NAME: &'static str = "LAI";
    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(Self { plmn: PlmnId::decode_from(r)?, lac: r.u16("LAC")? })
    }
}

impl Encode for Lai {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.plmn.encode_to(out);
        out.extend_from_slice(&self.lac.to_be_bytes());
    }
}

/// Routing area identification: LAI and RAC (TS 24.008 §10.5.5.15), 6 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rai {
    /// The location area.
    pub lai: Lai,
    /// Routing area code.
    pub rac: u8,
}

impl Decode for Rai {
    const NAME: &'static str = "RAI";
    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(Self { lai: Lai::decode_from(r)?, rac: r.u8("RAC")? })
    }
}

impl Encode for Rai {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.lai.encode_to(out);
        out.push(self.rac);
    }
}

/// Tracking area identity: PLMN and TAC (TS 24.301 §9.9.3.32), 5 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tai {
    /// The PLMN.
    pub plmn: PlmnId,
    /// Tracking area code (`FFFE` = deleted).
    pub tac: u16,
}

impl Decode for Tai {
    const NAME: &'static str = "TAI";
    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(Self { plmn: PlmnId::decode_from(r)?, tac: r.u16("TAC")? })
    }
}

impl Encode for Tai {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.plmn.encode_to(out);
        out.extend_from_slice(&self.tac.to_be_bytes());
    }
}

/// EF_LOCI (TS 31.102 §4.2.17), 11 bytes: TMSI, LAI, an RFU byte (TMSI TIME in TS 51.011 §10.3.17) and the
/// location update status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EfLoci {
    /// TMSI (`FF FF FF FF` = none).
    #[serde(with = "crate::hexser::array")]
    pub tmsi: [u8; 4],
    /// Location area identification.
    pub lai: Lai,
    /// Byte 10: RFU (TS 31.102), TMSI TIME (TS 51.011); `FF` when canonical.
    pub rfu: u8,
    /// Location update status.
    pub status: LocationUpdateStatus,
}

impl EfLoci {
    /// A file with no TMSI, a deleted LAI in `plmn` and status "not updated" (m2m.md §4.3:
    /// `FF FF FF FF | PLMN | FF FE | FF | 01`).
    #[must_use]
    pub const fn invalidated(plmn: PlmnId) -> Self {
        Self {
            tmsi: [0xFF; 4],
            lai: Lai { plmn, lac: DELETED_LAC },
            rfu: 0xFF,
            status: LocationUpdateStatus::NotUpdated,
        }
    }

    /// Invalidates in place: TMSI `FF…`, LAC `FFFE`, status "not updated"; the PLMN and the RFU byte stay.
    pub fn invalidate(&mut self) {
        self.tmsi = [0xFF; 4];
        self.lai.lac = DELETED_LAC;
        self.status = LocationUpdateStatus::NotUpdated;
    }
}

impl Decode for EfLoci {
    const NAME: &'static str = "EF_LOCI";
    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(Self {
            tmsi: r.array::<4>("TMSI")?,
            lai: Lai::decode_from(r)?,
            rfu: r.u8("EF_LOCI byte 10 (RFU)")?,
            status: LocationUpdateStatus::from_u8(r.u8("location update status")?),
        })
    }
}

impl Encode for EfLoci {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.tmsi);
        self.lai.encode_to(out);
        out.push(self.rfu);
        out.push(self.status.to_u8());
    }
}

/// EF_PSLOCI (TS 31.102 §4.2.23), 14 bytes: P-TMSI, P-TMSI signature, RAI, routing area update status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EfPsloci {
    /// P-TMSI (`FF…` = none).
    #[serde(with = "crate::hexser::array")]
    pub p_tmsi: [u8; 4],
    /// P-TMSI signature value.
    #[serde(with = "crate::hexser::array")]
    pub p_tmsi_signature: [u8; 3],
    /// Routing area identification.
    pub rai: Rai,
    /// Routing area update status.
    pub status: RoutingAreaUpdateStatus,
}

impl EfPsloci {
    /// A file with no P-TMSI or signature, a deleted RAI in `plmn` (LAC `FFFE`, RAC `FF`) and status
    /// "not updated".
    #[must_use]
    pub const fn invalidated(plmn: PlmnId) -> Self {
        Self {
            p_tmsi: [0xFF; 4],
            p_tmsi_signature: [0xFF; 3],
            rai: Rai { lai: Lai { plmn, lac: DELETED_LAC }, rac: 0xFF },
            status: RoutingAreaUpdateStatus::NotUpdated,
        }
    }

    /// Invalidates in place: P-TMSI and signature `FF…`, LAC `FFFE`, status "not updated"; PLMN and RAC stay
    /// (decision: the deleted LAC already marks the RAI as invalid, TS 24.008 §4.7.1.5).
    pub fn invalidate(&mut self) {
        self.p_tmsi = [0xFF; 4];
        self.p_tmsi_signature = [0xFF; 3];
        self.rai.lai.lac = DELETED_LAC;
        self.status = RoutingAreaUpdateStatus::NotUpdated;
    }
}

impl Decode for EfPsloci {
    const NAME: &'static str = "EF_PSLOCI";
    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(Self {
            p_tmsi: r.array::<4>("P-TMSI")?,
            p_tmsi_signature: r.array::<3>("P-TMSI signature")?,
            rai: Rai::decode_from(r)?,
            status: RoutingAreaUpdateStatus::from_u8(r.u8("routing area update status")?),
        })
    }
}

impl Encode for EfPsloci {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.p_tmsi);
        out.extend_from_slice(&self.p_tmsi_signature);
        self.rai.encode_to(out);
        out.push(self.status.to_u8());
    }
}

/// EF_EPSLOCI (TS 31.102 §4.2.91), 18 bytes: GUTI, last visited registered TAI, EPS update status.
///
/// The 12 GUTI bytes are kept raw: they are octets 2–13 of the EPS mobile identity IE of TS 24.301
/// §9.9.3.12 (length `0B`, type/odd-even octet, PLMN, MME group ID, MME code, M-TMSI).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EfEpsloci {
    /// GUTI (`FF…` = none).
    #[serde(with = "crate::hexser::array")]
    pub guti: [u8; 12],
    /// Last visited registered TAI.
    pub tai: Tai,
    /// EPS update status.
    pub status: EpsUpdateStatus,
}

impl EfEpsloci {
    /// A file with no GUTI, a deleted TAI in `plmn` (TAC `FFFE`) and status "not updated".
    #[must_use]
    pub const fn invalidated(plmn: PlmnId) -> Self {
        Self { guti: [0xFF; 12], tai: Tai { plmn, tac: DELETED_LAC }, status: EpsUpdateStatus::NotUpdated }
    }

    /// Invalidates in place: GUTI `FF…`, TAC `FFFE`, status "not updated"; the PLMN stays.
    pub fn invalidate(&mut self) {
        self.guti = [0xFF; 12];
        self.tai.tac = DELETED_LAC;
        self.status = EpsUpdateStatus::NotUpdated;
    }

    /// The M-TMSI (the last four GUTI bytes).
    #[must_use]
    pub fn m_tmsi(&self) -> [u8; 4] {
        let [.., a, b, c, d] = self.guti;
        [a, b, c, d]
    }
}

impl Decode for EfEpsloci {
    const NAME: &'static str = "EF_EPSLOCI";
    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(Self {
            guti: r.array::<12>("GUTI")?,
            tai: Tai::decode_from(r)?,
            status: EpsUpdateStatus::from_u8(r.u8("EPS update status")?),
        })
    }
}

impl Encode for EfEpsloci {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.guti);
        self.tai.encode_to(out);
        out.push(self.status.to_u8());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DecodeErrorKind;
    use proptest::prelude::*;

    fn plmn() -> PlmnId {
        PlmnId::new("001", "01").unwrap()
    }

    #[test]
    fn loci_invalidation_matches_m2m_script() {
        // m2m.md §4.4: UPDATE BINARY EF_LOCI with FF FF FF FF 00 F1 10 FF FE FF 01.
        let f = EfLoci::invalidated(plmn());
        assert_eq!(hex::encode(f.encode()), "ffffffff00f110fffeff01");
        let mut g = EfLoci::decode_exact(&hex::decode("1234567800f1100102ff00").unwrap()).unwrap();
        assert_eq!((g.lai.lac, g.status), (0x0102, LocationUpdateStatus::Updated));
        g.invalidate();
        assert_eq!(g, f);
    }

    #[test]
    fn psloci_and_epsloci() {
        let b = hex::decode("11223344aabbcc00f110000105 00".replace(' ', "")).unwrap();
        let mut f = EfPsloci::decode_exact(&b).unwrap();
        assert_eq!((f.rai.rac, f.rai.lai.lac), (0x05, 0x0001));
        assert_eq!(f.encode(), b);
        f.invalidate();
        assert_eq!(hex::encode(f.encode()), "ffffffffffffff00f110fffe0501");
        assert_eq!(hex::encode(EfPsloci::invalidated(plmn()).encode()), "ffffffffffffff00f110fffeff01");

        let b = hex::decode("0bf600f110800101c0ffee0100f110000100").unwrap();
        let mut f = EfEpsloci::decode_exact(&b).unwrap();
        assert_eq!(f.m_tmsi(), [0xc0, 0xff, 0xee, 0x01]);
        assert_eq!(f.encode(), b);
        f.invalidate();
        assert_eq!(f, EfEpsloci::invalidated(plmn()));
        assert_eq!(hex::encode(f.encode()), format!("{}00f110fffe01", "ff".repeat(12)));
        assert_eq!(f.status.name(), Some("not updated"));
    }

    #[test]
    fn truncation_and_trailing() {
        let b = EfEpsloci::invalidated(plmn()).encode();
        for i in 0..b.len() {
            let e = EfEpsloci::decode_exact(&b[..i]).unwrap_err();
            assert!(matches!(e.kind, DecodeErrorKind::Truncated { .. }), "{e}");
        }
        let b = EfLoci::invalidated(plmn()).encode();
        for i in 0..b.len() {
            assert!(EfLoci::decode_exact(&b[..i]).is_err());
        }
        let mut long = b.clone();
        long.push(0);
        assert_eq!(EfLoci::decode_exact(&long).unwrap_err().offset, 11);
        let b = EfPsloci::invalidated(plmn()).encode();
        let e = EfPsloci::decode_exact(&b[..13]).unwrap_err();
        assert_eq!(
            (e.offset, e.kind),
            (
                13,
                DecodeErrorKind::Truncated {
                    expected: "routing area update status",
                    needed: 1,
                    remaining: 0
                }
            )
        );
    }

    proptest! {
        #[test]
        fn loci_round_trip(b in proptest::collection::vec(any::<u8>(), 11)) {
            let f = EfLoci::decode_exact(&b).unwrap();
            prop_assert_eq!(f.encode(), b);
            let j = serde_json::to_string(&f).unwrap();
            prop_assert_eq!(serde_json::from_str::<EfLoci>(&j).unwrap(), f);
        }

        #[test]
        fn psloci_round_trip(b in proptest::collection::vec(any::<u8>(), 14)) {
            let f = EfPsloci::decode_exact(&b).unwrap();
            prop_assert_eq!(f.encode(), b);
            let j = serde_json::to_string(&f).unwrap();
            prop_assert_eq!(serde_json::from_str::<EfPsloci>(&j).unwrap(), f);
        }

        #[test]
        fn epsloci_round_trip(b in proptest::collection::vec(any::<u8>(), 18)) {
            let f = EfEpsloci::decode_exact(&b).unwrap();
            prop_assert_eq!(f.encode(), b);
            let j = serde_json::to_string(&f).unwrap();
            prop_assert_eq!(serde_json::from_str::<EfEpsloci>(&j).unwrap(), f);
        }
    }
}

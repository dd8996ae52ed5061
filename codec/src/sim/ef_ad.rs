//! EF_AD, administrative data (TS 31.102 §4.2.18, TS 51.011 §10.3.18).

use serde::{Deserialize, Serialize};

use crate::apdu::code_enum;
use crate::error::DecodeResult;
use crate::reader::{Decode, Encode, Reader};

code_enum! {
    /// UE (MS) operation mode, byte 1 of EF_AD (TS 31.102 §4.2.18).
    pub enum UeOperationMode {
        Normal = 0x00 => "normal operation",
        TypeApproval = 0x80 => "type approval operations",
        NormalSpecificFacilities = 0x01 => "normal operation + specific facilities",
        TypeApprovalSpecificFacilities = 0x81 => "type approval operations + specific facilities",
        Maintenance = 0x02 => "maintenance (off line)",
        CellTest = 0x04 => "cell test operation",
    }
}

/// The contents of EF_AD: operation mode (byte 1), additional information (bytes 2–3), the length of the MNC
/// in the IMSI (byte 4, b4–b1; optional in TS 51.011) and RFU bytes after it.
///
/// Byte 4 is kept whole ([`EfAd::mnc_length`] reads its low nibble, the RFU high nibble is preserved), and so
/// are the RFU bytes. An operator that changes the IMSI must keep the MNC length consistent with it
/// (m2m.md §4.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EfAd {
    /// Byte 1.
    pub ue_operation_mode: UeOperationMode,
    /// Bytes 2–3: additional information.
    #[serde(with = "crate::hexser::array")]
    pub additional_info: [u8; 2],
    /// Byte 4 as a whole (MNC length in b4–b1), absent in short (TS 51.011) files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byte4: Option<u8>,
    /// Bytes 5 and later (RFU); only written when byte 4 is present.
    #[serde(default, with = "crate::hexser", skip_serializing_if = "Vec::is_empty")]
    pub rfu: Vec<u8>,
}

impl EfAd {
    /// A canonical 4-byte file: normal operation, no additional information, the given MNC length.
    #[must_use]
    pub const fn new(mnc_length: u8) -> Self {
        Self {
            ue_operation_mode: UeOperationMode::Normal,
            additional_info: [0, 0],
            byte4: Some(mnc_length & 0x0F),
            rfu: Vec::new(),
        }
    }

    /// The number of MNC digits in the IMSI (b4–b1 of byte 4), if byte 4 is present.
    #[must_use]
    pub fn mnc_length(&self) -> Option<u8> {
        self.byte4.map(|b| b & 0x0F)
    }

    /// The same file with the MNC length replaced (the RFU high nibble of byte 4 is kept).
    #[must_use]
    pub fn with_mnc_length(mut self, n: u8) -> Self {
        self.byte4 = Some((self.byte4.unwrap_or(0) & 0xF0) | (n & 0x0F));
        self
    }

    /// The ciphering indicator feature bit (b1 of byte 3, the "OFM" bit of TS 51.011 §10.3.18): `true` when
    /// the terminal shall show the ciphering indicator.
    #[must_use]
    pub const fn ciphering_indicator(&self) -> bool {
        self.additional_info[1] & 0x01 != 0
    }
}

impl Decode for EfAd {
    const NAME: &'static str = "EF_AD";

    /// Takes everything left in the reader as the file.
    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let ue_operation_mode = UeOperationMode::from_u8(r.u8("EF_AD UE operation mode")?);
        let additional_info = r.array::<2>("EF_AD additional information")?;
        let byte4 = if r.is_empty() { None } else { Some(r.u8("EF_AD length of MNC")?) };
        Ok(Self { ue_operation_mode, additional_info, byte4, rfu: r.rest().to_vec() })
    }
}

impl Encode for EfAd {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(self.ue_operation_mode.to_u8());
        out.extend_from_slice(&self.additional_info);
        if let Some(b) = self.byte4 {
            out.push(b);
            out.extend_from_slice(&self.rfu);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fields() {
        let f = EfAd::decode_exact(&hex::decode("80000102").unwrap()).unwrap();
        assert_eq!(f.ue_operation_mode, UeOperationMode::TypeApproval);
        assert_eq!(f.ue_operation_mode.name(), Some("type approval operations"));
        assert!(f.ciphering_indicator());
        assert_eq!(f.mnc_length(), Some(2));
        let g = f.clone().with_mnc_length(3);
        assert_eq!(g.encode(), hex::decode("80000103").unwrap());
        assert_eq!(EfAd::new(2).encode(), hex::decode("00000002").unwrap());
        // RFU bits of byte 4 and further bytes are kept.
        let f = EfAd::decode_exact(&hex::decode("0000003301ff").unwrap()).unwrap();
        assert_eq!((f.mnc_length(), f.rfu.as_slice()), (Some(3), &[0x01, 0xFF][..]));
        assert_eq!(f.clone().with_mnc_length(2).byte4, Some(0x32));
        assert_eq!(f.encode(), hex::decode("0000003301ff").unwrap());
        // A 3-byte TS 51.011 file has no MNC length.
        let f = EfAd::decode_exact(&[0x02, 0, 0]).unwrap();
        assert_eq!((f.mnc_length(), f.ue_operation_mode), (None, UeOperationMode::Maintenance));
        assert_eq!(f.encode(), [0x02, 0, 0]);
        let f = EfAd::decode_exact(&[0x42, 0, 0]).unwrap();
        assert_eq!(f.ue_operation_mode, UeOperationMode::Other(0x42));
        assert_eq!(serde_json::to_string(&f.ue_operation_mode).unwrap(), "66");
        let j = serde_json::to_string(&EfAd::new(2)).unwrap();
        assert_eq!(j, r#"{"ue_operation_mode":"normal","additional_info":"0000","byte4":2}"#);
    }

    #[test]
    fn truncation() {
        assert_eq!(EfAd::decode_exact(&[0x00]).unwrap_err().offset, 1);
        assert_eq!(EfAd::decode_exact(&[]).unwrap_err().offset, 0);
    }

    proptest! {
        #[test]
        fn bytes_round_trip(b in proptest::collection::vec(any::<u8>(), 0..8)) {
            match EfAd::decode_exact(&b) {
                Ok(f) => {
                    prop_assert_eq!(f.encode(), b.clone());
                    let j = serde_json::to_string(&f).unwrap();
                    prop_assert_eq!(serde_json::from_str::<EfAd>(&j).unwrap(), f);
                }
                Err(_) => prop_assert!(b.len() < 3),
            }
        }
    }
}

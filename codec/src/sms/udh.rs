//! The user-data header (TS 23.040 §9.2.3.24): `UDHL | IEI IEDL data | …`, as a list of typed information
//! elements ([`Ie`]).
//!
//! An IE is typed only when its length is the one its IEI defines (`00` with 3 octets, `08` with 4, `04`
//! with 2, `05` with 4, `70`/`71` with 0); anything else, including a known IEI with an odd length, is kept
//! as [`Ie::Other`], so every header that decodes re-encodes to the same bytes. [`UdhRef`] / [`IeRef`] are
//! the zero-copy views of the same bytes.

use serde::{Deserialize, Serialize};

use crate::error::DecodeResult;
use crate::reader::{Decode, DecodeRef, Encode, Reader};

/// One information element of a user-data header (TS 23.040 §9.2.3.24; `70`/`71` from TS 31.115 §4).
///
/// Deserialising normalises an `other` IE that has a typed form (e.g. IEI `00` with 3 octets) to that
/// form, so JSON → value → JSON is stable whatever the input JSON chose.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", from = "IeRepr")]
pub enum Ie {
    /// IEI `00`: concatenated short message, 8-bit reference (§9.2.3.24.1).
    Concat8 {
        /// Reference number.
        reference: u8,
        /// Number of segments.
        total: u8,
        /// This segment's number, from 1.
        seq: u8,
    },
    /// IEI `08`: concatenated short message, 16-bit reference (§9.2.3.24.8).
    Concat16 {
        /// Reference number.
        reference: u16,
        /// Number of segments.
        total: u8,
        /// This segment's number, from 1.
        seq: u8,
    },
    /// IEI `04`: application port addressing, 8-bit ports (§9.2.3.24.3).
    Ports8 {
        /// Destination port.
        destination: u8,
        /// Originator port.
        originator: u8,
    },
    /// IEI `05`: application port addressing, 16-bit ports (§9.2.3.24.4).
    Ports16 {
        /// Destination port.
        destination: u16,
        /// Originator port.
        originator: u16,
    },
    /// IEI `70`, length 0: command packet identifier (TS 31.115 §4.1).
    CommandPacket,
    /// IEI `71`, length 0: response packet identifier (TS 31.115 §4.2).
    ResponsePacket,
    /// Any other IE (unknown IEIs such as the proprietary `7E`/`7F`, or a known IEI with another length),
    /// kept raw.
    Other {
        /// The IEI.
        #[serde(with = "crate::hexser::byte")]
        iei: u8,
        /// Its data.
        #[serde(with = "crate::hexser")]
        data: Vec<u8>,
    },
}

/// Deserialisation shadow of [`Ie`].
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum IeRepr {
    Concat8 {
        reference: u8,
        total: u8,
        seq: u8,
    },
    Concat16 {
        reference: u16,
        total: u8,
        seq: u8,
    },
    Ports8 {
        destination: u8,
        originator: u8,
    },
    Ports16 {
        destination: u16,
        originator: u16,
    },
    CommandPacket,
    ResponsePacket,
    Other {
        #[serde(with = "crate::hexser::byte")]
        iei: u8,
        #[serde(with = "crate::hexser")]
        data: Vec<u8>,
    },
}

impl From<IeRepr> for Ie {
    fn from(r: IeRepr) -> Self {
        match r {
            IeRepr::Concat8 { reference, total, seq } => Self::Concat8 { reference, total, seq },
            IeRepr::Concat16 { reference, total, seq } => Self::Concat16 { reference, total, seq },
            IeRepr::Ports8 { destination, originator } => Self::Ports8 { destination, originator },
            IeRepr::Ports16 { destination, originator } => Self::Ports16 { destination, originator },
            IeRepr::CommandPacket => Self::CommandPacket,
            IeRepr::ResponsePacket => Self::ResponsePacket,
            IeRepr::Other { iei, data } => Self::from_raw(iei, &data),
        }
    }
}

impl Ie {
    /// The IEI.
    #[must_use]
    pub fn iei(&self) -> u8 {
        match self {
            Self::Concat8 { .. } => 0x00,
            Self::Concat16 { .. } => 0x08,
            Self::Ports8 { .. } => 0x04,
            Self::Ports16 { .. } => 0x05,
            Self::CommandPacket => 0x70,
            Self::ResponsePacket => 0x71,
            Self::Other { iei, .. } => *iei,
        }
    }

    /// Length of the IE data (IEDL).
    #[must_use]
    pub fn data_len(&self) -> usize {
        match self {
            Self::Concat8 { .. } => 3,
            Self::Concat16 { .. } | Self::Ports16 { .. } => 4,
            Self::Ports8 { .. } => 2,
            Self::CommandPacket | Self::ResponsePacket => 0,
            Self::Other { data, .. } => data.len(),
        }
    }

    /// Encoded size (IEI + IEDL + data).
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        2 + self.data_len()
    }

    fn from_raw(iei: u8, data: &[u8]) -> Self {
        match (iei, data) {
            (0x00, &[reference, total, seq]) => Self::Concat8 { reference, total, seq },
            (0x08, &[r1, r2, total, seq]) => {
                Self::Concat16 { reference: u16::from_be_bytes([r1, r2]), total, seq }
            }
            (0x04, &[destination, originator]) => Self::Ports8 { destination, originator },
            (0x05, &[d1, d2, o1, o2]) => Self::Ports16 {
                destination: u16::from_be_bytes([d1, d2]),
                originator: u16::from_be_bytes([o1, o2]),
            },
            (0x70, &[]) => Self::CommandPacket,
            (0x71, &[]) => Self::ResponsePacket,
            _ => Self::Other { iei, data: data.to_vec() },
        }
    }
}

impl Encode for Ie {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(self.iei());
        // An Other IE longer than 255 octets cannot come from a decoder; saturate rather than wrap.
        out.push(u8::try_from(self.data_len()).unwrap_or(u8::MAX));
        match self {
            Self::Concat8 { reference, total, seq } => out.extend_from_slice(&[*reference, *total, *seq]),
            Self::Concat16 { reference, total, seq } => {
                out.extend_from_slice(&reference.to_be_bytes());
                out.extend_from_slice(&[*total, *seq]);
            }
            Self::Ports8 { destination, originator } => out.extend_from_slice(&[*destination, *originator]),
            Self::Ports16 { destination, originator } => {
                out.extend_from_slice(&destination.to_be_bytes());
                out.extend_from_slice(&originator.to_be_bytes());
            }
            Self::CommandPacket | Self::ResponsePacket => {}
            Self::Other { data, .. } => out.extend_from_slice(data),
        }
    }
}

/// A user-data header: the IEs in order (TS 23.040 §9.2.3.24). UDHL is computed when encoding.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Udh(pub Vec<Ie>);

impl Udh {
    /// The UDHL value: octets of IEs.
    #[must_use]
    pub fn udhl(&self) -> usize {
        self.0.iter().map(Ie::encoded_len).sum()
    }

    /// Encoded size, UDHL octet included.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        1 + self.udhl()
    }

    /// True when the header holds the command packet identifier (IEI `70`, length 0).
    #[must_use]
    pub fn has_command_packet(&self) -> bool {
        self.0.contains(&Ie::CommandPacket)
    }

    /// True when the header holds the response packet identifier (IEI `71`, length 0).
    #[must_use]
    pub fn has_response_packet(&self) -> bool {
        self.0.contains(&Ie::ResponsePacket)
    }

    /// The concatenation IEs (`00` / `08`) in order.
    pub fn concat_ies(&self) -> impl Iterator<Item = &Ie> {
        self.0.iter().filter(|ie| matches!(ie, Ie::Concat8 { .. } | Ie::Concat16 { .. }))
    }
}

/// Reads `UDHL | IEI IEDL data | …`, handing each IE to `each`; returns the IE octets (what UDHL covers).
/// The one header parser: [`Udh`] and [`UdhRef`] are both read by it.
fn read_header<'a>(r: &mut Reader<'a>, mut each: impl FnMut(IeRef<'a>)) -> DecodeResult<&'a [u8]> {
    let udhl = r.u8("UDHL")? as usize;
    let mut h = r.sub(udhl, 1, "user-data header (UDHL)")?;
    let ies = h.peek_rest();
    while !h.is_empty() {
        each(IeRef::read(&mut h)?);
    }
    Ok(ies)
}

impl Decode for Udh {
    const NAME: &'static str = "user-data header";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        // At most 127 IEs fit in 255 octets: bounded.
        let mut ies = Vec::with_capacity(2);
        read_header(r, |ie| ies.push(ie.to_owned()))?;
        Ok(Self(ies))
    }
}

/// One information element as a borrowed view: the IEI and its data as on the wire (TS 23.040
/// §9.2.3.24). [`IeRef::to_owned`] types it as [`Ie`] does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IeRef<'a> {
    /// The IEI.
    pub iei: u8,
    /// Its data (IEDL octets).
    pub data: &'a [u8],
}

impl<'a> IeRef<'a> {
    /// Reads `IEI IEDL data`.
    fn read(h: &mut Reader<'a>) -> DecodeResult<Self> {
        let iei = h.u8("IEI")?;
        let iedl = h.u8("IEDL")? as usize;
        let data = h.take_len(iedl, 1, "information element (IEDL)")?;
        Ok(Self { iei, data })
    }

    /// The typed IE.
    #[must_use]
    pub fn to_owned(&self) -> Ie {
        Ie::from_raw(self.iei, self.data)
    }

    /// True for the command packet identifier (IEI `70`, length 0, TS 31.115 §4.1).
    #[must_use]
    pub const fn is_command_packet(&self) -> bool {
        self.iei == 0x70 && self.data.is_empty()
    }

    /// True for the response packet identifier (IEI `71`, length 0, TS 31.115 §4.2).
    #[must_use]
    pub const fn is_response_packet(&self) -> bool {
        self.iei == 0x71 && self.data.is_empty()
    }
}

/// A user-data header as a borrowed view (TS 23.040 §9.2.3.24): the IE octets UDHL covers, checked when
/// decoding (every IE complete inside the header), read in order by [`UdhRef::ies`].
///
/// Decoding goes through the same parser as [`Udh`]'s, so both accept the same bytes with the same
/// errors; [`UdhRef::to_owned`] gives the typed header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UdhRef<'a> {
    /// The IE octets, already checked to be a whole number of IEs of at most 255 octets.
    ies: &'a [u8],
}

impl<'a> UdhRef<'a> {
    /// The IEs in order.
    pub fn ies(&self) -> impl Iterator<Item = IeRef<'a>> + use<'a> {
        let mut r = Reader::new(self.ies);
        // Checked when decoding: every read succeeds; an error would only end the iteration.
        std::iter::from_fn(move || if r.is_empty() { None } else { IeRef::read(&mut r).ok() })
    }

    /// The IE octets as on the wire (after the UDHL).
    #[must_use]
    pub const fn ie_bytes(&self) -> &'a [u8] {
        self.ies
    }

    /// The UDHL value: octets of IEs.
    #[must_use]
    pub const fn udhl(&self) -> usize {
        self.ies.len()
    }

    /// Encoded size, UDHL octet included.
    #[must_use]
    pub const fn encoded_len(&self) -> usize {
        1 + self.ies.len()
    }

    /// True when the header holds the command packet identifier (IEI `70`, length 0).
    #[must_use]
    pub fn has_command_packet(&self) -> bool {
        self.ies().any(|ie| ie.is_command_packet())
    }

    /// True when the header holds the response packet identifier (IEI `71`, length 0).
    #[must_use]
    pub fn has_response_packet(&self) -> bool {
        self.ies().any(|ie| ie.is_response_packet())
    }

    /// The typed header.
    #[must_use]
    pub fn to_owned(&self) -> Udh {
        Udh(self.ies().map(|ie| ie.to_owned()).collect())
    }
}

impl<'a> DecodeRef<'a> for UdhRef<'a> {
    const NAME: &'static str = "user-data header";

    fn decode_from(r: &mut Reader<'a>) -> DecodeResult<Self> {
        read_header(r, |_| ()).map(|ies| Self { ies })
    }
}

impl Encode for UdhRef<'_> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        // At most 255 octets: read under a one-octet UDHL.
        out.push(u8::try_from(self.ies.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(self.ies);
    }
}

impl Encode for Udh {
    fn encode_to(&self, out: &mut Vec<u8>) {
        // A hand-built header longer than 255 octets saturates; builders refuse it.
        out.push(u8::try_from(self.udhl()).unwrap_or(u8::MAX));
        for ie in &self.0 {
            ie.encode_to(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DecodeErrorKind;
    use proptest::prelude::*;

    #[test]
    fn typed_ies() {
        let (u, n) = Udh::decode(&hex::decode("0b05040b8423f00003a70201").unwrap()).unwrap();
        assert_eq!(n, 12);
        assert_eq!(
            u.0,
            vec![
                Ie::Ports16 { destination: 0x0B84, originator: 0x23F0 },
                Ie::Concat8 { reference: 0xA7, total: 2, seq: 1 }
            ]
        );
        let (u, _) =
            Udh::decode(&hex::decode("0c08041234030270000402 0102".replace(' ', "")).unwrap()).unwrap();
        assert_eq!(u.0[0], Ie::Concat16 { reference: 0x1234, total: 3, seq: 2 });
        assert_eq!(u.0[1], Ie::CommandPacket);
        assert_eq!(u.0[2], Ie::Ports8 { destination: 1, originator: 2 });
        assert!(u.has_command_packet());
        assert_eq!(u.concat_ies().count(), 1);
    }

    #[test]
    fn odd_lengths_stay_raw() {
        for h in ["03700100", "0400020102", "0271000a", "02710000"] {
            let b = hex::decode(h).unwrap();
            let (u, n) = Udh::decode(&b).unwrap();
            assert_eq!(u.encode(), b[..n]);
        }
        let (u, _) = Udh::decode(&hex::decode("03700100").unwrap()).unwrap();
        assert_eq!(u.0, vec![Ie::Other { iei: 0x70, data: vec![0] }]);
        assert!(!u.has_command_packet());
    }

    #[test]
    fn json_normalises_other_to_typed() {
        let u: Udh = serde_json::from_str(
            r#"[{"other":{"iei":"70","data":""}},{"other":{"iei":"00","data":"010203"}}]"#,
        )
        .unwrap();
        assert_eq!(u.0, vec![Ie::CommandPacket, Ie::Concat8 { reference: 1, total: 2, seq: 3 }]);
        let j = serde_json::to_string(&u).unwrap();
        assert_eq!(j, r#"["command_packet",{"concat8":{"reference":1,"total":2,"seq":3}}]"#);
        assert_eq!(serde_json::from_str::<Udh>(&j).unwrap(), u);
    }

    #[test]
    fn overflows_point_at_the_length() {
        let e = Udh::decode(&hex::decode("05000301").unwrap()).unwrap_err();
        assert_eq!(e.offset, 0);
        assert!(matches!(e.kind, DecodeErrorKind::LengthOverflow { length: 5, remaining: 3, .. }));
        // IEDL 4 inside a UDHL of 4: the IE overflows the header, reported at the IEDL.
        let e = Udh::decode(&hex::decode("040004010203").unwrap()).unwrap_err();
        assert_eq!(e.offset, 2);
        assert!(matches!(e.kind, DecodeErrorKind::LengthOverflow { length: 4, remaining: 2, .. }));
        // A lone IEI at the end of the header.
        let e = Udh::decode(&[3, 0x70, 0, 7]).unwrap_err();
        assert!(matches!(e.kind, DecodeErrorKind::Truncated { expected: "IEDL", .. }));
        assert_eq!(e.offset, 4);
    }

    fn arb_ie() -> impl Strategy<Value = Ie> {
        prop_oneof![
            (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(reference, total, seq)| Ie::Concat8 {
                reference,
                total,
                seq
            }),
            (any::<u16>(), any::<u8>(), any::<u8>()).prop_map(|(reference, total, seq)| Ie::Concat16 {
                reference,
                total,
                seq
            }),
            (any::<u8>(), any::<u8>())
                .prop_map(|(destination, originator)| Ie::Ports8 { destination, originator }),
            (any::<u16>(), any::<u16>())
                .prop_map(|(destination, originator)| Ie::Ports16 { destination, originator }),
            Just(Ie::CommandPacket),
            Just(Ie::ResponsePacket),
            (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..8))
                .prop_map(|(iei, data)| Ie::from_raw(iei, &data)),
        ]
    }

    proptest! {
        #[test]
        fn typed_round_trip(ies in proptest::collection::vec(arb_ie(), 0..10)) {
            let u = Udh(ies);
            let b = u.encode();
            prop_assert_eq!(b.len(), u.encoded_len());
            prop_assert_eq!(Udh::decode_exact(&b).unwrap(), u);
        }

        #[test]
        fn bytes_round_trip(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok((u, n)) = Udh::decode(&b) {
                prop_assert_eq!(u.encode(), b[..n].to_vec());
            }
        }
    }
}

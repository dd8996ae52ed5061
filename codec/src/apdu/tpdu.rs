//! T=0 command TPDU (ISO/IEC 7816-3 §12.2): `CLA INS P1 P2 P3 [data]`, where P3 is Lc or Le.

use serde::{Deserialize, Serialize};

use super::{ApduCase, ApduError, Cla, CommandApdu, hexbyte};
use crate::error::DecodeResult;
use crate::reader::{Encode, Reader};

/// Which way the data of a T=0 command flows (ISO/IEC 7816-3 §12.2); it decides what P3 means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Data goes to the card: P3 is Lc and that many data bytes follow the header (P3 `00`: no data, the
    /// T=0 form of a case 1 command).
    Incoming,
    /// Data comes from the card: P3 is Le (`00` = 256) and nothing follows the header.
    Outgoing,
}

/// The body of a [`CommandTpdu`]: what P3 means and what follows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TpduBody {
    /// P3 = Lc = the length of the data that follows (at most 255 bytes; empty data is P3 `00`).
    Incoming(#[serde(with = "crate::hexser")] Vec<u8>),
    /// P3 = Le as transmitted (`00` means 256).
    Outgoing(u8),
}

/// A command as T=0 transmits it (ISO/IEC 7816-3 §12.2, TS 102 221 §7.2): a five-byte header whose last byte
/// P3 is either Lc (followed by the data) or Le, and no separate Le after the data.
///
/// The bytes alone do not say which: the reader must know the direction of the instruction (a
/// [`Direction`] per CLA/INS), as a card does. This is also the shape of each command of a TS 102 226 compact
/// remote command script (see [`crate::rfm::CompactScript`]). The header bytes are public; the body is
/// checked (at most 255 bytes of data) and read through [`CommandTpdu::body`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "CommandTpduRepr", into = "CommandTpduRepr")]
pub struct CommandTpdu {
    /// Class byte.
    pub cla: Cla,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    body: TpduBody,
}

impl CommandTpdu {
    /// A command sending `data` to the card (P3 = Lc; empty data gives P3 `00`).
    ///
    /// # Errors
    /// [`ApduError::DataTooLong`] above 255 bytes.
    pub fn incoming(cla: Cla, ins: u8, p1: u8, p2: u8, data: impl Into<Vec<u8>>) -> Result<Self, ApduError> {
        let data = data.into();
        if data.len() > 255 {
            return Err(ApduError::DataTooLong { len: data.len(), max: 255 });
        }
        Ok(Self { cla, ins, p1, p2, body: TpduBody::Incoming(data) })
    }

    /// A command asking for `le` bytes from the card (P3 = Le, `00` = 256).
    #[must_use]
    pub const fn outgoing(cla: Cla, ins: u8, p1: u8, p2: u8, le: u8) -> Self {
        Self { cla, ins, p1, p2, body: TpduBody::Outgoing(le) }
    }

    /// The body.
    #[must_use]
    pub const fn body(&self) -> &TpduBody {
        &self.body
    }

    /// The direction of the data.
    #[must_use]
    pub const fn direction(&self) -> Direction {
        match self.body {
            TpduBody::Incoming(_) => Direction::Incoming,
            TpduBody::Outgoing(_) => Direction::Outgoing,
        }
    }

    /// P3 as transmitted.
    #[must_use]
    pub fn p3(&self) -> u8 {
        match &self.body {
            // At most 255 bytes (checked by every constructor).
            TpduBody::Incoming(d) => d.len() as u8,
            TpduBody::Outgoing(le) => *le,
        }
    }

    /// The command data (empty for an outgoing command).
    #[must_use]
    pub fn data(&self) -> &[u8] {
        match &self.body {
            TpduBody::Incoming(d) => d,
            TpduBody::Outgoing(_) => &[],
        }
    }

    /// Encoded size (5 + data).
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        5 + self.data().len()
    }

    /// Reads one command, asking `direction_of(CLA, INS)` what P3 means.
    ///
    /// # Errors
    /// Truncation inside the five-byte header, and an Lc larger than the bytes that remain (the error points
    /// at P3).
    pub fn read(r: &mut Reader<'_>, direction_of: impl Fn(Cla, u8) -> Direction) -> DecodeResult<Self> {
        let [cla, ins, p1, p2, p3] = r.array::<5>("C-APDU header CLA INS P1 P2 P3")?;
        let cla = Cla(cla);
        let body = match direction_of(cla, ins) {
            Direction::Outgoing => TpduBody::Outgoing(p3),
            Direction::Incoming => {
                TpduBody::Incoming(r.take_len(usize::from(p3), 1, "C-APDU data")?.to_vec())
            }
        };
        Ok(Self { cla, ins, p1, p2, body })
    }

    /// The command APDU this TPDU carries (ISO/IEC 7816-3 §12.2): outgoing → case 2S, incoming without data
    /// → case 1, incoming with data → case 3S. (A case 4S command travels as its case 3 part; its response
    /// is fetched afterwards with GET RESPONSE, so no Le can be recovered.)
    #[must_use]
    pub fn to_apdu(&self) -> CommandApdu {
        let mut a = CommandApdu::case1(self.cla, self.ins, self.p1, self.p2);
        match &self.body {
            TpduBody::Outgoing(le) => a.ne = Some(if *le == 0 { 256 } else { u32::from(*le) }),
            TpduBody::Incoming(d) => a.data.clone_from(d),
        }
        a
    }

    /// The TPDU that carries `apdu` over T=0 (ISO/IEC 7816-3 §12.2): case 1 → P3 `00`, case 2S → P3 = Le,
    /// case 3S → P3 = Lc, case 4S → its case 3 part (the Le is dropped: the response comes with `61xx` and
    /// GET RESPONSE).
    ///
    /// # Errors
    /// [`ApduError::ExtendedInT0`] for extended length fields (T=0 needs ENVELOPE chaining for those).
    pub fn from_apdu(apdu: &CommandApdu) -> Result<Self, ApduError> {
        let (cla, ins, p1, p2) = (apdu.cla, apdu.ins, apdu.p1, apdu.p2);
        match apdu.case() {
            ApduCase::Case1 => Self::incoming(cla, ins, p1, p2, Vec::new()),
            // Ne ≤ 256 in the short form; 256 is written 00.
            ApduCase::Case2Short => Ok(Self::outgoing(cla, ins, p1, p2, apdu.ne().unwrap_or(256) as u8)),
            ApduCase::Case3Short | ApduCase::Case4Short => {
                Self::incoming(cla, ins, p1, p2, apdu.data().to_vec())
            }
            ApduCase::Case2Extended | ApduCase::Case3Extended | ApduCase::Case4Extended => {
                Err(ApduError::ExtendedInT0)
            }
        }
    }
}

impl Encode for CommandTpdu {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.cla.0, self.ins, self.p1, self.p2, self.p3()]);
        out.extend_from_slice(self.data());
    }
}

/// Serde form: header bytes in hex and the body as `{"incoming": "<hex>"}` or `{"outgoing": <Le>}`.
#[derive(Serialize, Deserialize)]
struct CommandTpduRepr {
    cla: Cla,
    #[serde(with = "hexbyte")]
    ins: u8,
    #[serde(with = "hexbyte")]
    p1: u8,
    #[serde(with = "hexbyte")]
    p2: u8,
    #[serde(flatten)]
    body: TpduBody,
}

impl TryFrom<CommandTpduRepr> for CommandTpdu {
    type Error = ApduError;

    fn try_from(r: CommandTpduRepr) -> Result<Self, ApduError> {
        match r.body {
            TpduBody::Incoming(d) => Self::incoming(r.cla, r.ins, r.p1, r.p2, d),
            TpduBody::Outgoing(le) => Ok(Self::outgoing(r.cla, r.ins, r.p1, r.p2, le)),
        }
    }
}

impl From<CommandTpdu> for CommandTpduRepr {
    fn from(t: CommandTpdu) -> Self {
        Self { cla: t.cla, ins: t.ins, p1: t.p1, p2: t.p2, body: t.body }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DecodeErrorKind, reader::Decode};
    use proptest::prelude::*;

    fn read(hex: &str, dir: Direction) -> DecodeResult<CommandTpdu> {
        let b = hex::decode(hex).unwrap();
        let mut r = Reader::new(&b);
        let t = CommandTpdu::read(&mut r, |_, _| dir)?;
        r.expect_end("TPDU")?;
        assert_eq!(t.encode(), b);
        Ok(t)
    }

    #[test]
    fn p3_is_lc_or_le() {
        let t = read("a0c0000016", Direction::Outgoing).unwrap();
        assert_eq!((t.p3(), t.data()), (0x16, &[][..]));
        assert_eq!(t.to_apdu().ne(), Some(0x16));
        let t = read("00a4000c026f07", Direction::Incoming).unwrap();
        assert_eq!(t.data(), &[0x6F, 0x07]);
        assert_eq!(t.to_apdu().case(), ApduCase::Case3Short);
        let t = read("a0fa000000", Direction::Incoming).unwrap();
        assert_eq!(t.to_apdu().case(), ApduCase::Case1);
        // The same five bytes read as outgoing: Le 00 = 256.
        let t = read("00b0000000", Direction::Outgoing).unwrap();
        assert_eq!(t.to_apdu().ne(), Some(256));
    }

    #[test]
    fn lc_overflow_points_at_p3() {
        let e = read("00d6000009080910", Direction::Incoming).unwrap_err();
        assert_eq!(e.offset, 4);
        assert_eq!(e.kind, DecodeErrorKind::LengthOverflow { what: "C-APDU data", length: 9, remaining: 3 });
        let e = read("00d600", Direction::Incoming).unwrap_err();
        assert_eq!(e.offset, 0);
    }

    #[test]
    fn apdu_mapping() {
        let case4 = CommandApdu::decode_exact(&hex::decode("00a40004023f0000").unwrap()).unwrap();
        let t = CommandTpdu::from_apdu(&case4).unwrap();
        assert_eq!(t.encode(), hex::decode("00a40004023f00").unwrap());
        let case2 = CommandApdu::decode_exact(&hex::decode("00b0000000").unwrap()).unwrap();
        assert_eq!(CommandTpdu::from_apdu(&case2).unwrap(), CommandTpdu::outgoing(Cla(0), 0xB0, 0, 0, 0));
        let case1 = CommandApdu::case1(Cla(0xA0), 0xFA, 0, 0);
        assert_eq!(CommandTpdu::from_apdu(&case1).unwrap().encode(), hex::decode("a0fa000000").unwrap());
        let ext = case2.with_extended_lengths();
        assert_eq!(CommandTpdu::from_apdu(&ext), Err(ApduError::ExtendedInT0));
        assert!(CommandTpdu::incoming(Cla(0), 0xD6, 0, 0, vec![0u8; 256]).is_err());
    }

    #[test]
    fn serde_form() {
        let t = CommandTpdu::outgoing(Cla(0xA0), 0xC0, 0, 0, 0x16);
        let j = serde_json::to_string(&t).unwrap();
        assert_eq!(j, r#"{"cla":"a0","ins":"c0","p1":"00","p2":"00","outgoing":22}"#);
        assert_eq!(serde_json::from_str::<CommandTpdu>(&j).unwrap(), t);
        let t = CommandTpdu::incoming(Cla(0), 0xA4, 0, 0x0C, vec![0x6F, 0x07]).unwrap();
        let j = serde_json::to_string(&t).unwrap();
        assert_eq!(j, r#"{"cla":"00","ins":"a4","p1":"00","p2":"0c","incoming":"6f07"}"#);
        assert_eq!(serde_json::from_str::<CommandTpdu>(&j).unwrap(), t);
        let long =
            format!(r#"{{"cla":"00","ins":"d6","p1":"00","p2":"00","incoming":"{}"}}"#, "00".repeat(256));
        assert!(serde_json::from_str::<CommandTpdu>(&long).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(
            h in any::<[u8; 4]>(),
            d in proptest::collection::vec(any::<u8>(), 0..=255),
            le in any::<u8>(),
            out in any::<bool>(),
        ) {
            let t = if out {
                CommandTpdu::outgoing(Cla(h[0]), h[1], h[2], h[3], le)
            } else {
                CommandTpdu::incoming(Cla(h[0]), h[1], h[2], h[3], d).unwrap()
            };
            let b = t.encode();
            prop_assert_eq!(b.len(), t.encoded_len());
            let mut r = Reader::new(&b);
            let dir = t.direction();
            prop_assert_eq!(CommandTpdu::read(&mut r, |_, _| dir).unwrap(), t.clone());
            prop_assert!(r.is_empty());
            // The APDU mapping and back is the identity for T=0 shapes.
            prop_assert_eq!(CommandTpdu::from_apdu(&t.to_apdu()).unwrap(), t);
        }
    }
}

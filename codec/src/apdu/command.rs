//! Command APDU (ISO/IEC 7816-4 §5.1, §5.2): cases 1, 2S/2E, 3S/3E, 4S/4E.

use serde::{Deserialize, Serialize};

use super::{ApduError, Cla, hexbyte};
use crate::error::{DecodeErrorKind, DecodeResult};
use crate::reader::{Decode, Encode, Reader};

/// Largest Nc (command data length) short length fields can announce.
const SHORT_MAX_NC: usize = 255;
/// Largest Ne a short Le can announce (`00` = 256).
const SHORT_MAX_NE: u32 = 256;
/// Largest Nc of extended length fields.
const EXTENDED_MAX_NC: usize = 65_535;
/// Largest Ne of an extended Le (`00 00` = 65 536).
const EXTENDED_MAX_NE: u32 = 65_536;

/// The four cases of ISO/IEC 7816-4 §5.1 (Table 1), with short or extended length fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApduCase {
    /// No command data, no response data expected: header only.
    Case1,
    /// No command data, Le present (one byte).
    Case2Short,
    /// Command data, one-byte Lc, no Le.
    Case3Short,
    /// Command data, one-byte Lc and one-byte Le.
    Case4Short,
    /// No command data, Le `00 Le1 Le2`.
    Case2Extended,
    /// Command data with Lc `00 Lc1 Lc2`, no Le.
    Case3Extended,
    /// Command data with Lc `00 Lc1 Lc2` and Le `Le1 Le2`.
    Case4Extended,
}

/// A command APDU as defined by ISO/IEC 7816-4 §5.1: header `CLA INS P1 P2`, then optionally Lc and the
/// command data, then optionally Le.
///
/// The header bytes are public and taken as given. The body is kept together with the form of its length
/// fields: short (one byte each) or extended (`00` marker, two bytes each; the same form for Lc and Le, as
/// §5.1 requires). An APDU read with extended fields whose values would fit the short form keeps the
/// extended form, so `encode(decode(b)) == b`. Constructors choose the shortest form.
///
/// A command APDU is delimited by its container (the T=1 block, the TS 102 226 C-APDU TLV, …), not by itself:
/// [`Decode::decode_from`] takes everything left in the reader. T=0 transmission and TS 102 226 compact
/// scripts use [`super::CommandTpdu`] instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CommandApduRepr", into = "CommandApduRepr")]
pub struct CommandApdu {
    /// Class byte.
    pub cla: Cla,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    pub(super) data: Vec<u8>,
    pub(super) ne: Option<u32>,
    pub(super) extended: bool,
}

impl CommandApdu {
    /// A case 1 command (header only).
    #[must_use]
    pub const fn case1(cla: Cla, ins: u8, p1: u8, p2: u8) -> Self {
        Self { cla, ins, p1, p2, data: Vec::new(), ne: None, extended: false }
    }

    /// A command with `data` (empty for none) and `ne`, the maximum number of response bytes expected
    /// (`None` for no Le). Length fields are short when both fit (Nc ≤ 255, Ne ≤ 256), extended otherwise.
    ///
    /// # Errors
    /// [`ApduError::DataTooLong`] above 65 535 data bytes, [`ApduError::NeOutOfRange`] for Ne outside
    /// 1..=65 536.
    pub fn new(
        cla: Cla,
        ins: u8,
        p1: u8,
        p2: u8,
        data: impl Into<Vec<u8>>,
        ne: Option<u32>,
    ) -> Result<Self, ApduError> {
        let data = data.into();
        if data.len() > EXTENDED_MAX_NC {
            return Err(ApduError::DataTooLong { len: data.len(), max: EXTENDED_MAX_NC });
        }
        if let Some(ne) = ne
            && !(1..=EXTENDED_MAX_NE).contains(&ne)
        {
            return Err(ApduError::NeOutOfRange { ne });
        }
        let extended = data.len() > SHORT_MAX_NC || ne.is_some_and(|n| n > SHORT_MAX_NE);
        Ok(Self { cla, ins, p1, p2, data, ne, extended })
    }

    /// The same command with extended length fields even where short ones would do (no effect on case 1).
    #[must_use]
    pub fn with_extended_lengths(mut self) -> Self {
        self.extended = self.has_body();
        self
    }

    fn has_body(&self) -> bool {
        !self.data.is_empty() || self.ne.is_some()
    }

    /// The command data field (empty when Lc is absent).
    #[must_use]
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Nc, the number of command data bytes.
    #[must_use]
    pub fn nc(&self) -> usize {
        self.data.len()
    }

    /// Ne, the maximum number of response bytes expected (`Le = 00` is 256, extended `00 00` is 65 536), or
    /// `None` when Le is absent.
    #[must_use]
    pub const fn ne(&self) -> Option<u32> {
        self.ne
    }

    /// True when the length fields are (to be) written in the extended form.
    #[must_use]
    pub const fn is_extended(&self) -> bool {
        self.extended
    }

    /// The ISO/IEC 7816-4 case of this command.
    #[must_use]
    pub fn case(&self) -> ApduCase {
        match (self.data.is_empty(), self.ne.is_some(), self.extended) {
            (true, false, _) => ApduCase::Case1,
            (true, true, false) => ApduCase::Case2Short,
            (false, false, false) => ApduCase::Case3Short,
            (false, true, false) => ApduCase::Case4Short,
            (true, true, true) => ApduCase::Case2Extended,
            (false, false, true) => ApduCase::Case3Extended,
            (false, true, true) => ApduCase::Case4Extended,
        }
    }

    /// Encoded size.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        let lc = match (self.data.is_empty(), self.extended) {
            (true, _) => 0,
            (false, false) => 1,
            (false, true) => 3,
        };
        let le = match (self.ne, self.extended, self.data.is_empty()) {
            (None, _, _) => 0,
            (Some(_), false, _) => 1,
            (Some(_), true, true) => 3,
            (Some(_), true, false) => 2,
        };
        4 + lc + self.data.len() + le
    }

    /// The offset of the command data field within the encoding (5 short, 7 extended).
    #[must_use]
    pub const fn data_offset(&self) -> usize {
        if self.extended { 7 } else { 5 }
    }
}

/// Ne from a short Le byte (`00` = 256).
fn short_ne(b: u8) -> u32 {
    if b == 0 { SHORT_MAX_NE } else { u32::from(b) }
}

/// Ne from an extended Le (`00 00` = 65 536).
fn extended_ne(v: u16) -> u32 {
    if v == 0 { EXTENDED_MAX_NE } else { u32::from(v) }
}

impl Decode for CommandApdu {
    const NAME: &'static str = "command APDU";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let [cla, ins, p1, p2] = r.array::<4>("C-APDU header CLA INS P1 P2")?;
        let mut apdu = Self::case1(Cla(cla), ins, p1, p2);
        let Some(first) = r.peek() else { return Ok(apdu) };
        if r.remaining() == 1 {
            // Case 2S: Le alone.
            r.u8("Le")?;
            apdu.ne = Some(short_ne(first));
            return Ok(apdu);
        }
        if first != 0 {
            // Cases 3S / 4S: Lc, data, optional Le.
            r.u8("Lc")?;
            apdu.data = r.take_len(usize::from(first), 1, "C-APDU data")?.to_vec();
            match r.remaining() {
                0 => {}
                1 => apdu.ne = Some(short_ne(r.u8("Le")?)),
                n => {
                    r.u8("Le")?;
                    return Err(r.error(DecodeErrorKind::TrailingBytes {
                        what: "C-APDU (Lc, data and Le)",
                        count: n - 1,
                    }));
                }
            }
            return Ok(apdu);
        }
        // Extended length fields: the 00 marker, then Le1 Le2 (case 2E) or Lc1 Lc2 data [Le1 Le2].
        r.u8("extended length marker")?;
        apdu.extended = true;
        let v = r.u16("extended Lc or Le")?;
        if r.is_empty() {
            apdu.ne = Some(extended_ne(v));
            return Ok(apdu);
        }
        if v == 0 {
            return Err(r.invalid_at(2, "extended Lc", "00 00 followed by data (Lc must be 1..65535)"));
        }
        apdu.data = r.take_len(usize::from(v), 2, "C-APDU data")?.to_vec();
        match r.remaining() {
            0 => {}
            1 => {
                return Err(r.error(DecodeErrorKind::Truncated {
                    expected: "extended Le",
                    needed: 1,
                    remaining: 1,
                }));
            }
            2 => apdu.ne = Some(extended_ne(r.u16("extended Le")?)),
            n => {
                r.u16("extended Le")?;
                return Err(r.error(DecodeErrorKind::TrailingBytes {
                    what: "C-APDU (Lc, data and Le)",
                    count: n - 2,
                }));
            }
        }
        Ok(apdu)
    }
}

impl Encode for CommandApdu {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.cla.0, self.ins, self.p1, self.p2]);
        if !self.has_body() {
            return;
        }
        // Constructors keep Nc ≤ 65 535, Ne ≤ 65 536, and `extended` set whenever a value needs it, so the
        // truncating casts below only map 256 → 00 and 65 536 → 00 00 as the standard does.
        if self.extended {
            out.push(0);
            if !self.data.is_empty() {
                out.extend_from_slice(&(self.data.len() as u16).to_be_bytes());
                out.extend_from_slice(&self.data);
            }
            if let Some(ne) = self.ne {
                out.extend_from_slice(&(ne as u16).to_be_bytes());
            }
        } else {
            if !self.data.is_empty() {
                out.push(self.data.len() as u8);
                out.extend_from_slice(&self.data);
            }
            if let Some(ne) = self.ne {
                out.push(ne as u8);
            }
        }
    }
}

/// The serde form: header bytes in hex, data in hex, Ne as a number, the length form, and the case as an
/// output-only field.
#[derive(Serialize, Deserialize)]
struct CommandApduRepr {
    cla: Cla,
    #[serde(with = "hexbyte")]
    ins: u8,
    #[serde(with = "hexbyte")]
    p1: u8,
    #[serde(with = "hexbyte")]
    p2: u8,
    #[serde(default, with = "crate::hexser", skip_serializing_if = "Vec::is_empty")]
    data: Vec<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ne: Option<u32>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    extended: bool,
    /// Output only: ignored when read.
    #[serde(default, skip_deserializing)]
    case: Option<ApduCase>,
}

impl TryFrom<CommandApduRepr> for CommandApdu {
    type Error = ApduError;

    fn try_from(r: CommandApduRepr) -> Result<Self, ApduError> {
        let a = Self::new(r.cla, r.ins, r.p1, r.p2, r.data, r.ne)?;
        Ok(if r.extended { a.with_extended_lengths() } else { a })
    }
}

impl From<CommandApdu> for CommandApduRepr {
    fn from(a: CommandApdu) -> Self {
        let case = Some(a.case());
        Self {
            cla: a.cla,
            ins: a.ins,
            p1: a.p1,
            p2: a.p2,
            data: a.data,
            ne: a.ne,
            extended: a.extended,
            case,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rt(hex: &str) -> CommandApdu {
        let b = hex::decode(hex).unwrap();
        let a = CommandApdu::decode_exact(&b).unwrap();
        assert_eq!(a.encode(), b, "{hex}");
        assert_eq!(a.encoded_len(), b.len());
        a
    }

    #[test]
    fn the_seven_cases() {
        let a = rt("00a40000");
        assert_eq!(a.case(), ApduCase::Case1);
        // T=0-style GET RESPONSE: a 5-byte command is case 2 with Le 0x16.
        let a = rt("a0c0000016");
        assert_eq!((a.case(), a.ne()), (ApduCase::Case2Short, Some(0x16)));
        let a = rt("00b0000000");
        assert_eq!(a.ne(), Some(256));
        let a = rt("00a4000c026f07");
        assert_eq!((a.case(), a.data()), (ApduCase::Case3Short, &[0x6F, 0x07][..]));
        let a = rt("00a4000402 3f00 00".replace(' ', "").as_str());
        assert_eq!((a.case(), a.ne()), (ApduCase::Case4Short, Some(256)));
        let a = rt("00b0000000ffff");
        assert_eq!((a.case(), a.ne()), (ApduCase::Case2Extended, Some(0xFFFF)));
        let a = rt("00b0000000 0000".replace(' ', "").as_str());
        assert_eq!(a.ne(), Some(65_536));
        let a = rt("00d6000000 0002 aabb".replace(' ', "").as_str());
        assert_eq!(a.case(), ApduCase::Case3Extended);
        let a = rt("00d6000000 0002 aabb 0100".replace(' ', "").as_str());
        assert_eq!((a.case(), a.ne()), (ApduCase::Case4Extended, Some(0x100)));
    }

    #[test]
    fn extended_form_for_small_values_is_kept() {
        let a = rt("00a40004000002 3f00".replace(' ', "").as_str());
        assert!(a.is_extended());
        assert_eq!(a.nc(), 2);
        let short = CommandApdu::new(Cla(0), 0xA4, 0, 4, vec![0x3F, 0], None).unwrap();
        assert_ne!(a, short);
        assert_eq!(short.with_extended_lengths(), a);
    }

    #[test]
    fn builders_choose_the_form() {
        let a = CommandApdu::new(Cla(0x80), 0xC2, 0, 0, vec![0u8; 300], None).unwrap();
        assert_eq!(a.case(), ApduCase::Case3Extended);
        assert_eq!(a.data_offset(), 7);
        let a = CommandApdu::new(Cla(0), 0xB0, 0, 0, vec![], Some(257)).unwrap();
        assert_eq!(a.encode(), hex::decode("00b00000000101").unwrap());
        assert_eq!(CommandApdu::case1(Cla(0), 0x70, 0x80, 1).with_extended_lengths().case(), ApduCase::Case1);
        assert_eq!(
            CommandApdu::new(Cla(0), 0, 0, 0, vec![0u8; 65_536], None),
            Err(ApduError::DataTooLong { len: 65_536, max: 65_535 })
        );
        assert_eq!(
            CommandApdu::new(Cla(0), 0, 0, 0, vec![], Some(0)),
            Err(ApduError::NeOutOfRange { ne: 0 })
        );
        assert!(CommandApdu::new(Cla(0), 0, 0, 0, vec![], Some(65_537)).is_err());
    }

    #[test]
    fn malformed_bodies() {
        let err = |h: &str| CommandApdu::decode_exact(&hex::decode(h).unwrap()).unwrap_err();
        let e = err("00a400");
        assert_eq!(e.offset, 0);
        assert!(matches!(e.kind, DecodeErrorKind::Truncated { needed: 1, .. }));
        // Lc 3 but 2 bytes of data.
        let e = err("00d60000031122");
        assert_eq!(e.offset, 4);
        assert_eq!(e.kind, DecodeErrorKind::LengthOverflow { what: "C-APDU data", length: 3, remaining: 2 });
        // Lc, data, Le and one byte too many.
        let e = err("00d6000001110022");
        assert_eq!(e.offset, 7);
        assert_eq!(e.kind, DecodeErrorKind::TrailingBytes { what: "C-APDU (Lc, data and Le)", count: 1 });
        // Extended marker with one length byte only.
        let e = err("00b000000001");
        assert_eq!(e.offset, 5);
        // Extended Lc 00 00 followed by data.
        let e = err("00d600000000001122");
        assert_eq!(e.offset, 5);
        // Extended Lc overflow points at Lc1.
        let e = err("00d60000000005aabb");
        assert_eq!(
            (e.offset, matches!(e.kind, DecodeErrorKind::LengthOverflow { length: 5, .. })),
            (5, true)
        );
        // Extended: one byte where Le1 Le2 should be.
        let e = err("00d6000000000111ff");
        assert_eq!(e.offset, 8);
        let e = err("00d6000000000111ffffff");
        assert_eq!(e.kind, DecodeErrorKind::TrailingBytes { what: "C-APDU (Lc, data and Le)", count: 1 });
    }

    #[test]
    fn serde_round_trip() {
        let a = CommandApdu::decode_exact(&hex::decode("00a40004023f0000").unwrap()).unwrap();
        let j = serde_json::to_string(&a).unwrap();
        assert_eq!(
            j,
            r#"{"cla":"00","ins":"a4","p1":"00","p2":"04","data":"3f00","ne":256,"case":"case4_short"}"#
        );
        let back: CommandApdu = serde_json::from_str(&j).unwrap();
        assert_eq!(back, a);
        assert_eq!(serde_json::to_string(&back).unwrap(), j);
        let bad = r#"{"cla":"00","ins":"a4","p1":"00","p2":"04","ne":0}"#;
        assert!(serde_json::from_str::<CommandApdu>(bad).is_err());
    }

    fn arb_apdu() -> impl Strategy<Value = CommandApdu> {
        (
            any::<[u8; 4]>(),
            proptest::collection::vec(any::<u8>(), 0..300),
            proptest::option::of(1u32..=65_536),
            any::<bool>(),
        )
            .prop_map(|([c, i, p1, p2], d, ne, ext)| {
                let a = CommandApdu::new(Cla(c), i, p1, p2, d, ne).unwrap();
                if ext { a.with_extended_lengths() } else { a }
            })
    }

    proptest! {
        #[test]
        fn typed_round_trip(a in arb_apdu()) {
            let b = a.encode();
            prop_assert_eq!(b.len(), a.encoded_len());
            prop_assert_eq!(CommandApdu::decode_exact(&b).unwrap(), a);
        }

        #[test]
        fn bytes_round_trip(b in proptest::collection::vec(any::<u8>(), 0..24)) {
            if let Ok(a) = CommandApdu::decode_exact(&b) {
                prop_assert_eq!(a.encode(), b);
            }
        }

        #[test]
        fn serde_stable(a in arb_apdu()) {
            let j = serde_json::to_string(&a).unwrap();
            let back: CommandApdu = serde_json::from_str(&j).unwrap();
            prop_assert_eq!(&back, &a);
        }
    }
}

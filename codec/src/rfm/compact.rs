//! Compact remote command structure (TS 102 226 §5.1.1) and compact remote response (§5.1.2).

use serde::{Deserialize, Serialize};

use crate::apdu::{ApduError, Cla, CommandApdu, CommandTpdu, Direction, StatusWord};
use crate::error::DecodeResult;
use crate::reader::{Decode, Encode, Reader};

/// Which instructions return data, and so what P3 means in a compact script (TS 102 226 §5.1.1).
///
/// A compact command string is a plain concatenation of commands, and the bytes alone are ambiguous: after
/// `CLA INS P1 P2 P3`, is P3 an Lc followed by data, or an Le? Is there an Le after the data? The rule used
/// here (decision, recorded because the digest of TS 102 226 available to this project does not quote the
/// clause) is the one a card applies to a command received over T=0 (ISO/IEC 7816-3 §12.2, TS 102 221 §7.2),
/// which is also how card implementations execute compact scripts (each command handler declares its case):
///
/// - every command has a five-byte header;
/// - for an instruction in this table's *outgoing* set, P3 is Le (`00` = 256) and nothing follows;
/// - for every other instruction P3 is Lc and exactly P3 data bytes follow (P3 `00`: no data);
/// - no Le follows command data: a case 4 command is sent as its case 3 part, and its response data is
///   fetched with a following GET RESPONSE, as 2G SIM RFM scripts do (`A0A40000027F20 A0C0000016`).
///
/// The table is per INS (the class byte does not change the direction of any command in these sets). Two
/// tables are provided, and [`P3Rule::with_outgoing`] builds others.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct P3Rule {
    outgoing: [u64; 4],
}

impl P3Rule {
    /// File-system RFM (TS 102 221 §10.1.2 / §11, TS 51.011 §9.2, ISO/IEC 7816-4 §11): outgoing are
    /// FETCH `12`, MANAGE CHANNEL `70` (open returns the channel number), GET CHALLENGE `84`, READ BINARY
    /// `B0`, READ RECORD `B2`, GET RESPONSE `C0`, GET DATA `CA` and STATUS `F2`. Everything else (SELECT,
    /// UPDATE BINARY/RECORD, SEARCH/SEEK, INCREASE, AUTHENTICATE, VERIFY PIN, ENVELOPE, the odd-INS variants
    /// with data …) is incoming.
    pub const FILE_SYSTEM: Self = Self::with_outgoing(&[0x12, 0x70, 0x84, 0xB0, 0xB2, 0xC0, 0xCA, 0xF2]);

    /// Remote application management with GlobalPlatform commands (TS 102 226 §8): only GET RESPONSE `C0` and
    /// GET DATA `CA` are outgoing; GET STATUS `F2` carries search criteria (P3 = Lc), as do INSTALL, LOAD,
    /// DELETE, PUT KEY, STORE DATA and SET STATUS.
    pub const GLOBAL_PLATFORM: Self = Self::with_outgoing(&[0xC0, 0xCA]);

    /// A table whose outgoing instructions are exactly `ins`.
    #[must_use]
    pub const fn with_outgoing(ins: &[u8]) -> Self {
        let mut outgoing = [0u64; 4];
        let mut i = 0;
        while i < ins.len() {
            let b = ins[i];
            outgoing[(b >> 6) as usize] |= 1 << (b & 0x3F);
            i += 1;
        }
        Self { outgoing }
    }

    /// The direction of instruction `ins`.
    #[must_use]
    pub const fn direction(&self, ins: u8) -> Direction {
        if self.outgoing[(ins >> 6) as usize] & (1 << (ins & 0x3F)) != 0 {
            Direction::Outgoing
        } else {
            Direction::Incoming
        }
    }
}

impl Default for P3Rule {
    fn default() -> Self {
        Self::FILE_SYSTEM
    }
}

impl std::fmt::Debug for P3Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let out: Vec<String> = (0..=255u8)
            .filter(|&i| self.direction(i) == Direction::Outgoing)
            .map(|i| format!("{i:02X}"))
            .collect();
        write!(f, "P3Rule(outgoing: {})", out.join(" "))
    }
}

/// A compact remote command script (TS 102 226 §5.1.1): the commands, in order, each in the T=0 shape
/// `CLA INS P1 P2 P3 [data]` (see [`P3Rule`] for how P3 is read).
///
/// [`Decode`] uses [`P3Rule::FILE_SYSTEM`]; [`CompactScript::decode_with`] takes another rule. Encoding
/// concatenates the commands as they are, so the bytes come back unchanged whatever the rule.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CompactScript {
    /// The commands.
    pub commands: Vec<CommandTpdu>,
}

impl CompactScript {
    /// A script of these commands.
    #[must_use]
    pub const fn new(commands: Vec<CommandTpdu>) -> Self {
        Self { commands }
    }

    /// The script that runs these APDUs, each mapped to T=0 (case 4 loses its Le: append a GET RESPONSE
    /// where the response data is wanted).
    ///
    /// # Errors
    /// [`ApduError::ExtendedInT0`] for an APDU with extended length fields.
    pub fn from_apdus<'a>(apdus: impl IntoIterator<Item = &'a CommandApdu>) -> Result<Self, ApduError> {
        Ok(Self { commands: apdus.into_iter().map(CommandTpdu::from_apdu).collect::<Result<_, _>>()? })
    }

    /// The APDUs the commands stand for (see [`CommandTpdu::to_apdu`]).
    pub fn apdus(&self) -> impl Iterator<Item = CommandApdu> + '_ {
        self.commands.iter().map(CommandTpdu::to_apdu)
    }

    /// Reads commands until `r` is exhausted, with `rule` deciding what each P3 is.
    ///
    /// # Errors
    /// A command header cut short, or an Lc beyond the bytes left (pointing at its P3).
    pub fn read_with(r: &mut Reader<'_>, rule: &P3Rule) -> DecodeResult<Self> {
        let mut commands = Vec::new();
        while !r.is_empty() {
            commands.push(CommandTpdu::read(r, |_: Cla, ins| rule.direction(ins))?);
        }
        Ok(Self { commands })
    }

    /// Decodes a whole script with `rule`.
    ///
    /// # Errors
    /// As [`CompactScript::read_with`].
    pub fn decode_with(bytes: &[u8], rule: &P3Rule) -> DecodeResult<Self> {
        Self::read_with(&mut Reader::new(bytes), rule)
    }
}

impl Decode for CompactScript {
    const NAME: &'static str = "compact remote command script";

    /// Reads commands until the reader is exhausted, with [`P3Rule::FILE_SYSTEM`].
    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Self::read_with(r, &P3Rule::FILE_SYSTEM)
    }
}

impl Encode for CompactScript {
    fn encode_to(&self, out: &mut Vec<u8>) {
        for c in &self.commands {
            c.encode_to(out);
        }
    }
}

/// A compact remote response (TS 102 226 §5.1.2): the number of commands executed, the status word of the
/// last one, and the response data of the last one, in that order (`02 90 00 <data>` in a real-card PoR,
/// TS 102 225 §5.2 additional response data).
///
/// [`Decode::decode_from`] takes everything left in the reader; the data may be empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompactResponse {
    /// Number of commands executed (processing stops at the first error, which is counted).
    pub executed: u8,
    /// SW1 SW2 of the last command executed.
    pub last_sw: StatusWord,
    /// Response data of the last command executed.
    #[serde(default, with = "crate::hexser")]
    pub data: Vec<u8>,
}

impl CompactResponse {
    /// A response.
    #[must_use]
    pub fn new(executed: u8, last_sw: StatusWord, data: impl Into<Vec<u8>>) -> Self {
        Self { executed, last_sw, data: data.into() }
    }
}

impl Decode for CompactResponse {
    const NAME: &'static str = "compact remote response";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let executed = r.u8("number of executed commands")?;
        let last_sw = StatusWord::from(r.array::<2>("status word of the last command")?);
        Ok(Self { executed, last_sw, data: r.rest().to_vec() })
    }
}

impl Encode for CompactResponse {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(self.executed);
        out.extend_from_slice(&self.last_sw.to_bytes());
        out.extend_from_slice(&self.data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DecodeErrorKind;
    use crate::apdu::{ApduCase, TpduBody};
    use crate::testdata::shared_file;
    use proptest::prelude::*;

    fn script(hex: &str) -> CompactScript {
        let b = hex::decode(hex.replace(' ', "")).unwrap();
        let s = CompactScript::decode_exact(&b).unwrap();
        assert_eq!(s.encode(), b);
        s
    }

    #[test]
    fn change_imsi_script_of_m2m_md() {
        // m2m.md §4.4: SELECT EF_IMSI, UPDATE BINARY, SELECT EF_AD, UPDATE BINARY byte 4, SELECT EF_LOCI,
        // UPDATE BINARY (invalidate).
        let s = script(
            "00A4000C026F07 00D6000009080910101032547698 00A4000C026FAD 00D6000301 02 \
             00A4000C026F7E 00D600000BFFFFFFFF00F110FFFEFF01",
        );
        assert_eq!(s.commands.len(), 6);
        let apdus: Vec<_> = s.apdus().collect();
        assert_eq!((apdus[0].ins, apdus[0].data()), (0xA4, &[0x6F, 0x07][..]));
        assert_eq!(apdus[1].data(), hex::decode("080910101032547698").unwrap());
        assert_eq!((apdus[3].p2, apdus[3].data()), (0x03, &[0x02][..]));
        assert!(apdus.iter().all(|a| a.case() == ApduCase::Case3Short));
    }

    #[test]
    fn sim_scripts_with_get_response() {
        let s = script("A0A40000023F00 A0A40000027F20 A0A40000026F07 A0D6000009 080910101032547698");
        assert_eq!(s.commands.len(), 4);
        let s = script("A0A40000027F20 A0C0000016");
        assert_eq!(s.commands[1].body(), &TpduBody::Outgoing(0x16));
        assert_eq!(s.commands[1].to_apdu().ne(), Some(0x16));
        // READ RECORD: P3 is Le, so no data follows.
        let s = script("a0a40000026f3c a0b2010405");
        assert_eq!(s.commands[1].to_apdu().case(), ApduCase::Case2Short);
    }

    #[test]
    fn the_rule_decides() {
        // GET STATUS (F2) of GlobalPlatform carries data; STATUS (F2) of TS 102 221 asks for data.
        let b = hex::decode("80f24000024f0080f2000000").unwrap();
        let gp = CompactScript::decode_with(&b, &P3Rule::GLOBAL_PLATFORM).unwrap();
        assert_eq!(gp.commands.len(), 2);
        assert_eq!(gp.commands[0].data(), &[0x4F, 0x00]);
        assert_eq!(gp.encode(), b);
        // Read as file-system commands, STATUS takes P3 as Le and the rest no longer splits into commands.
        assert!(CompactScript::decode_with(&b, &P3Rule::FILE_SYSTEM).is_err());
        assert_eq!(P3Rule::FILE_SYSTEM.direction(0xB0), Direction::Outgoing);
        assert_eq!(P3Rule::FILE_SYSTEM.direction(0xD6), Direction::Incoming);
        assert_eq!(P3Rule::GLOBAL_PLATFORM.direction(0xF2), Direction::Incoming);
        assert_eq!(P3Rule::default(), P3Rule::FILE_SYSTEM);
        let custom = P3Rule::with_outgoing(&[0x00, 0x3F, 0x40, 0xFF]);
        for i in [0x00u8, 0x3F, 0x40, 0xFF] {
            assert_eq!(custom.direction(i), Direction::Outgoing);
        }
        assert_eq!(custom.direction(0x41), Direction::Incoming);
        assert_eq!(format!("{:?}", P3Rule::GLOBAL_PLATFORM), "P3Rule(outgoing: C0 CA)");
    }

    #[test]
    fn errors_and_truncation() {
        let b = hex::decode("00A4000C026F0700D6000009080910101032547698").unwrap();
        for i in 0..b.len() {
            let r = CompactScript::decode_exact(&b[..i]);
            // Prefixes that end exactly after a command are valid shorter scripts.
            if i == 0 || i == 7 {
                assert!(r.is_ok(), "prefix {i}");
            } else {
                assert!(r.is_err(), "prefix {i}");
            }
        }
        let e = CompactScript::decode_exact(&b[..12]).unwrap_err();
        assert_eq!(
            (e.offset, e.kind),
            (11, DecodeErrorKind::LengthOverflow { what: "C-APDU data", length: 9, remaining: 0 })
        );
        let e = CompactScript::decode_exact(&b[..9]).unwrap_err();
        assert_eq!(e.offset, 7);
        assert!(matches!(e.kind, DecodeErrorKind::Truncated { needed: 3, .. }));
    }

    #[test]
    fn from_apdus() {
        let apdus = [
            CommandApdu::decode_exact(&hex::decode("00a40004023f0000").unwrap()).unwrap(),
            CommandApdu::decode_exact(&hex::decode("00c0000000").unwrap()).unwrap(),
        ];
        let s = CompactScript::from_apdus(&apdus).unwrap();
        assert_eq!(hex::encode(s.encode()), "00a40004023f0000c0000000");
        let ext = [apdus[1].clone().with_extended_lengths()];
        assert_eq!(CompactScript::from_apdus(&ext), Err(ApduError::ExtendedInT0));
    }

    #[test]
    fn compact_responses() {
        // scp80.md §1: a real card ran 2 commands, the last (SELECT) answered 9000 with its FCP.
        let b = hex::decode("0290000000ffff7f2002000000000009b106350400838a838a").unwrap();
        let r = CompactResponse::decode_exact(&b).unwrap();
        assert_eq!((r.executed, r.last_sw), (2, StatusWord::OK));
        assert_eq!(r.data, hex::decode("0000ffff7f2002000000000009b106350400838a838a").unwrap());
        assert_eq!(r.encode(), b);
        let r = CompactResponse::decode_exact(&[0x01, 0x61, 0x2F]).unwrap();
        assert_eq!((r.last_sw.bytes_available(), r.data.len()), (Some(0x2F), 0));
        let e = CompactResponse::decode_exact(&[0x11, 0x00]).unwrap_err();
        assert_eq!(e.offset, 1);
        assert_eq!(CompactResponse::decode_exact(&[]).unwrap_err().offset, 0);
    }

    fn vectors() -> Option<Vec<serde_json::Value>> {
        let path = shared_file("vectors/scp80_vectors.json")?;
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        Some(v["vectors"].as_array().unwrap().clone())
    }

    #[test]
    fn command_vectors_apdu_fields() {
        let Some(vectors) = vectors() else { return };
        let mut parsed = std::collections::BTreeMap::new();
        let mut refused = std::collections::BTreeSet::new();
        for v in vectors.iter().filter(|v| v["direction"] == "command") {
            let hex_apdu = v["apdu"].as_str().unwrap();
            let b = hex::decode(hex_apdu).unwrap();
            match CompactScript::decode_exact(&b) {
                Ok(s) => {
                    assert_eq!(s.encode(), b, "{}", v["name"]);
                    parsed.insert(hex_apdu.to_owned(), s.commands.len());
                }
                Err(_) => {
                    refused.insert(hex_apdu.get(..8).unwrap_or(hex_apdu).to_owned());
                }
            }
        }
        assert_eq!(parsed.get("00a40004023f00"), Some(&1));
        assert_eq!(parsed.get("a0a40000027f20a0c0000016"), Some(&2));
        assert_eq!(parsed.get("a0a40000023f00a0a40000027f10a0a40000026f3ca0b2010405"), Some(&4));
        // GET DATA with Le 00, then GET RESPONSE with Le 00 (asterix, real Gemalto card).
        assert_eq!(parsed.get("80ca00e00000c0000000"), Some(&2));
        assert_eq!(parsed.get("00a40004022fe200c000001d"), Some(&2));
        assert_eq!(parsed.get("a0a40000022f05a0d6000001aa"), Some(&2));
        assert!(parsed.keys().any(|k| k.starts_with("80e602001b")), "INSTALL [for load] as one command");
        // The only refusals are the opaque test payloads that are not command scripts.
        let expected: std::collections::BTreeSet<String> =
            ["aabb", "abecedab", "00010203", "000e0ab0"].iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(refused, expected);
    }

    #[test]
    fn response_vectors_additional_data() {
        let Some(vectors) = vectors() else { return };
        let mut seen = 0;
        for v in vectors.iter().filter(|v| v["direction"] == "response") {
            let e = &v["expected"];
            let Some(data) = e["additional_response_data"].as_str().or(e["data"].as_str()) else { continue };
            let b = hex::decode(data).unwrap();
            if b.first() == Some(&0xAB) {
                continue; // expanded format, tested in expanded.rs
            }
            match CompactResponse::decode_exact(&b) {
                Ok(r) => {
                    assert_eq!(r.encode(), b);
                    seen += 1;
                }
                // gsm0348-dataset/test-response-002 carries 2 opaque bytes, not a compact response.
                Err(err) => assert_eq!((b.len(), err.offset), (2, 1), "{}", v["name"]),
            }
        }
        assert!(seen >= 8, "{seen}");
        let por = vectors.iter().find(|v| v["name"] == "asterix/test_SPI1531/real-card-PoR").unwrap();
        let b = hex::decode(por["expected"]["additional_response_data"].as_str().unwrap()).unwrap();
        let r = CompactResponse::decode_exact(&b).unwrap();
        assert_eq!((r.executed, r.last_sw, r.data.len()), (1, StatusWord::OK, 20));
    }

    fn arb_tpdu() -> impl Strategy<Value = CommandTpdu> {
        (any::<[u8; 4]>(), proptest::collection::vec(any::<u8>(), 0..40), any::<u8>()).prop_map(
            |([c, i, p1, p2], d, le)| {
                if P3Rule::FILE_SYSTEM.direction(i) == Direction::Outgoing {
                    CommandTpdu::outgoing(Cla(c), i, p1, p2, le)
                } else {
                    CommandTpdu::incoming(Cla(c), i, p1, p2, d).unwrap()
                }
            },
        )
    }

    proptest! {
        #[test]
        fn typed_round_trip(cmds in proptest::collection::vec(arb_tpdu(), 0..6)) {
            let s = CompactScript::new(cmds);
            let b = s.encode();
            prop_assert_eq!(CompactScript::decode_exact(&b).unwrap(), s.clone());
            let j = serde_json::to_string(&s).unwrap();
            prop_assert_eq!(serde_json::from_str::<CompactScript>(&j).unwrap(), s);
        }

        #[test]
        fn bytes_round_trip(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            for rule in [P3Rule::FILE_SYSTEM, P3Rule::GLOBAL_PLATFORM] {
                if let Ok(s) = CompactScript::decode_with(&b, &rule) {
                    prop_assert_eq!(s.encode(), b.clone());
                }
            }
            if let Ok(r) = CompactResponse::decode_exact(&b) {
                prop_assert_eq!(r.encode(), b);
            }
        }
    }
}

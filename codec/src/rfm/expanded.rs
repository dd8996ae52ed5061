//! Expanded remote command structure (TS 102 226 §5.2.1) and expanded remote response (§5.2.2), BER-TLV
//! coded with the tags of TS 101 220 Tables 7.18–7.20.

use serde::{Deserialize, Serialize};

use crate::apdu::{CommandApdu, ResponseApdu, StatusWord, code_enum};
use crate::error::{DecodeError, DecodeErrorKind, DecodeResult};
use crate::reader::{Decode, Encode, Reader};
use crate::tlv::ber::{BerTlv, Tag};
use crate::tlv::{LenForm, ReadLen, read_len, write_len};

/// Command scripting template, definite length (TS 101 220 Table 7.18).
const TAG_SCRIPT: u8 = 0xAA;
/// Command scripting template, indefinite length.
const TAG_SCRIPT_INDEFINITE: u8 = 0xAE;
/// Response scripting template, definite length.
const TAG_RESPONSE: u8 = 0xAB;
/// Response scripting template, indefinite length.
const TAG_RESPONSE_INDEFINITE: u8 = 0xAF;
/// C-APDU TLV (TS 101 220 Table 7.19; CR bit clear, so `22` and not `A2`).
const TAG_C_APDU: u8 = 0x22;
/// R-APDU TLV (TS 101 220 Table 7.20).
const TAG_R_APDU: u8 = 0x23;
/// Immediate action TLV / immediate action response TLV.
const TAG_IMMEDIATE_ACTION: u8 = 0x81;
/// Error action TLV.
const TAG_ERROR_ACTION: u8 = 0x82;
/// Script chaining TLV / script chaining response TLV.
const TAG_SCRIPT_CHAINING: u8 = 0x83;
/// Number of executed command TLV objects.
const TAG_EXECUTED: u8 = 0x80;
/// Bad format TLV.
const TAG_BAD_FORMAT: u8 = 0x90;

fn is_minimal(f: &LenForm) -> bool {
    *f == LenForm::Minimal
}

code_enum! {
    /// Value of the bad format TLV `90` (TS 102 226 §5.2.2, Table 5.12).
    pub enum BadFormat {
        UnknownTag = 0x01 => "unknown tag found",
        WrongLength = 0x02 => "wrong length found",
        LengthMissing = 0x03 => "length not found",
    }
}

code_enum! {
    /// Value of the script chaining response TLV `83` (TS 102 226 §5.2.2, Table 5.16).
    pub enum ScriptChainingResponse {
        NoPreviousScript = 0x01 => "no previous script",
        NotSupported = 0x02 => "script chaining not supported",
        UnableToProcess = 0x03 => "unable to process script chaining",
    }
}

/// One object of a command scripting template (TS 102 226 §5.2.1), with the length form it was written in.
///
/// The action TLVs keep their value bytes: their codings (TS 102 226 §5.2.1.2–§5.2.1.4: a proactive session
/// indication or a reference to EF_RMA for the actions, the position of the script in a chain for script
/// chaining) are not needed to carry a script and are not typed here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandItem {
    /// `22`: a C-APDU (ISO/IEC 7816-4 coding, Le included), §5.2.1.1.
    CApdu {
        /// The command.
        apdu: CommandApdu,
        /// Length form of the TLV.
        #[serde(default, skip_serializing_if = "is_minimal")]
        len_form: LenForm,
    },
    /// `81`: immediate action, §5.2.1.2.
    ImmediateAction {
        /// The value.
        #[serde(with = "crate::hexser")]
        value: Vec<u8>,
        /// Length form of the TLV.
        #[serde(default, skip_serializing_if = "is_minimal")]
        len_form: LenForm,
    },
    /// `82`: error action, §5.2.1.3.
    ErrorAction {
        /// The value.
        #[serde(with = "crate::hexser")]
        value: Vec<u8>,
        /// Length form of the TLV.
        #[serde(default, skip_serializing_if = "is_minimal")]
        len_form: LenForm,
    },
    /// `83`: script chaining, §5.2.1.4.
    ScriptChaining {
        /// The value.
        #[serde(with = "crate::hexser")]
        value: Vec<u8>,
        /// Length form of the TLV.
        #[serde(default, skip_serializing_if = "is_minimal")]
        len_form: LenForm,
    },
    /// Any other object, kept as read.
    Unknown(BerTlv),
}

impl CommandItem {
    /// A C-APDU TLV with a minimal length.
    #[must_use]
    pub const fn c_apdu(apdu: CommandApdu) -> Self {
        Self::CApdu { apdu, len_form: LenForm::Minimal }
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let Some((tag, mut v, len_form)) =
            read_known(r, &[TAG_C_APDU, TAG_IMMEDIATE_ACTION, TAG_ERROR_ACTION, TAG_SCRIPT_CHAINING])?
        else {
            return Ok(Self::Unknown(BerTlv::read(r, 1)?));
        };
        Ok(match tag {
            TAG_C_APDU => Self::CApdu { apdu: CommandApdu::decode_from(&mut v)?, len_form },
            TAG_IMMEDIATE_ACTION => Self::ImmediateAction { value: v.rest().to_vec(), len_form },
            TAG_ERROR_ACTION => Self::ErrorAction { value: v.rest().to_vec(), len_form },
            _ => Self::ScriptChaining { value: v.rest().to_vec(), len_form },
        })
    }
}

impl Encode for CommandItem {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            Self::CApdu { apdu, len_form } => {
                out.push(TAG_C_APDU);
                crate::tlv::write_len_prefixed(out, *len_form, |o| apdu.encode_to(o));
            }
            Self::ImmediateAction { value, len_form } => {
                write_item(out, TAG_IMMEDIATE_ACTION, *len_form, value)
            }
            Self::ErrorAction { value, len_form } => write_item(out, TAG_ERROR_ACTION, *len_form, value),
            Self::ScriptChaining { value, len_form } => {
                write_item(out, TAG_SCRIPT_CHAINING, *len_form, value)
            }
            Self::Unknown(t) => t.encode_to(out),
        }
    }
}

/// One object of a response scripting template (TS 102 226 §5.2.2), with the length form it was written in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseItem {
    /// `80`: number of executed command TLV objects (an integer, usually one byte), Table 5.11.
    ExecutedCommands {
        /// The integer's bytes, big-endian.
        #[serde(with = "crate::hexser")]
        value: Vec<u8>,
        /// Length form of the TLV.
        #[serde(default, skip_serializing_if = "is_minimal")]
        len_form: LenForm,
    },
    /// `23`: an R-APDU (response data and SW1 SW2).
    RApdu {
        /// The response.
        response: ResponseApdu,
        /// Length form of the TLV.
        #[serde(default, skip_serializing_if = "is_minimal")]
        len_form: LenForm,
    },
    /// `81`: immediate action response, Table 5.14.
    ImmediateActionResponse {
        /// The value.
        #[serde(with = "crate::hexser")]
        value: Vec<u8>,
        /// Length form of the TLV.
        #[serde(default, skip_serializing_if = "is_minimal")]
        len_form: LenForm,
    },
    /// `83`: script chaining response, Table 5.16 (see [`ScriptChainingResponse`]).
    ScriptChainingResponse {
        /// The value.
        #[serde(with = "crate::hexser")]
        value: Vec<u8>,
        /// Length form of the TLV.
        #[serde(default, skip_serializing_if = "is_minimal")]
        len_form: LenForm,
    },
    /// `90`: bad format, Table 5.12 (see [`BadFormat`]).
    BadFormat {
        /// The value.
        #[serde(with = "crate::hexser")]
        value: Vec<u8>,
        /// Length form of the TLV.
        #[serde(default, skip_serializing_if = "is_minimal")]
        len_form: LenForm,
    },
    /// Any other object, kept as read.
    Unknown(BerTlv),
}

impl ResponseItem {
    /// An R-APDU TLV with a minimal length.
    #[must_use]
    pub const fn r_apdu(response: ResponseApdu) -> Self {
        Self::RApdu { response, len_form: LenForm::Minimal }
    }

    /// A number-of-executed-commands TLV with a one-byte value.
    #[must_use]
    pub fn executed(n: u8) -> Self {
        Self::ExecutedCommands { value: vec![n], len_form: LenForm::Minimal }
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let known = [TAG_EXECUTED, TAG_R_APDU, TAG_IMMEDIATE_ACTION, TAG_SCRIPT_CHAINING, TAG_BAD_FORMAT];
        let Some((tag, mut v, len_form)) = read_known(r, &known)? else {
            return Ok(Self::Unknown(BerTlv::read(r, 1)?));
        };
        Ok(match tag {
            TAG_R_APDU => Self::RApdu { response: ResponseApdu::decode_from(&mut v)?, len_form },
            TAG_EXECUTED => Self::ExecutedCommands { value: v.rest().to_vec(), len_form },
            TAG_IMMEDIATE_ACTION => Self::ImmediateActionResponse { value: v.rest().to_vec(), len_form },
            TAG_SCRIPT_CHAINING => Self::ScriptChainingResponse { value: v.rest().to_vec(), len_form },
            _ => Self::BadFormat { value: v.rest().to_vec(), len_form },
        })
    }
}

impl Encode for ResponseItem {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            Self::ExecutedCommands { value, len_form } => write_item(out, TAG_EXECUTED, *len_form, value),
            Self::RApdu { response, len_form } => {
                out.push(TAG_R_APDU);
                crate::tlv::write_len_prefixed(out, *len_form, |o| response.encode_to(o));
            }
            Self::ImmediateActionResponse { value, len_form } => {
                write_item(out, TAG_IMMEDIATE_ACTION, *len_form, value);
            }
            Self::ScriptChainingResponse { value, len_form } => {
                write_item(out, TAG_SCRIPT_CHAINING, *len_form, value);
            }
            Self::BadFormat { value, len_form } => write_item(out, TAG_BAD_FORMAT, *len_form, value),
            Self::Unknown(t) => t.encode_to(out),
        }
    }
}

/// Reads the tag of the next object. For a one-byte tag in `known`, also reads its definite length and
/// returns the tag, a reader over the value and the length form. Otherwise leaves `r` untouched and returns
/// `None` (the caller reads the object as a generic BER-TLV).
fn read_known<'a>(r: &mut Reader<'a>, known: &[u8]) -> DecodeResult<Option<(u8, Reader<'a>, LenForm)>> {
    let saved = r.clone();
    let tag = Tag::read(r)?;
    let t = tag.value() as u8;
    if tag.len() != 1 || !known.contains(&t) {
        *r = saved;
        return Ok(None);
    }
    let len_start = r.offset();
    match read_len(r, "expanded script TLV length", 4, false)? {
        ReadLen::Definite(n, form) => {
            Ok(Some((t, r.sub(n, r.offset() - len_start, "expanded script TLV value")?, form)))
        }
        ReadLen::Indefinite => {
            Err(DecodeError::invalid("expanded script TLV length", "indefinite", len_start))
        }
    }
}

/// Writes a primitive object (an indefinite form falls back to the minimal definite one).
fn write_item(out: &mut Vec<u8>, tag: u8, form: LenForm, value: &[u8]) {
    out.push(tag);
    let form = if form == LenForm::Indefinite { LenForm::Minimal } else { form };
    write_len(out, value.len(), form);
    out.extend_from_slice(value);
}

/// Reads a scripting template: `definite_tag` with a definite length, or `indefinite_tag 80 … 00 00`.
fn read_template<T>(
    r: &mut Reader<'_>,
    tags: (u8, u8),
    expected: &'static str,
    read_item: fn(&mut Reader<'_>) -> DecodeResult<T>,
) -> DecodeResult<(LenForm, Vec<T>)> {
    let (definite_tag, indefinite_tag) = tags;
    let start = r.offset();
    let tag = r.u8("scripting template tag")?;
    let len_start = r.offset();
    let len = read_len(r, "scripting template length", 4, tag == indefinite_tag)?;
    let mut items = Vec::new();
    match (tag, len) {
        (t, ReadLen::Definite(n, form)) if t == definite_tag => {
            let mut v = r.sub(n, r.offset() - len_start, "scripting template value")?;
            while !v.is_empty() {
                items.push(read_item(&mut v)?);
            }
            Ok((form, items))
        }
        (t, ReadLen::Indefinite) if t == indefinite_tag => loop {
            if r.peek_rest().starts_with(&[0, 0]) {
                r.take(2, "end-of-contents 00 00")?;
                return Ok((LenForm::Indefinite, items));
            }
            if r.remaining() < 2 && r.peek().is_none_or(|b| b == 0) {
                return Err(r.error(DecodeErrorKind::Truncated {
                    expected: "end-of-contents 00 00",
                    needed: 2 - r.remaining(),
                    remaining: r.remaining(),
                }));
            }
            items.push(read_item(r)?);
        },
        (t, ReadLen::Definite(..)) if t == indefinite_tag => Err(DecodeError::invalid(
            "scripting template length",
            "this tag needs the indefinite form 80",
            len_start,
        )),
        _ => Err(DecodeError::new(DecodeErrorKind::UnexpectedTag { expected, found: u32::from(tag) }, start)),
    }
}

/// Writes a scripting template around already encoded items.
fn write_template<T: Encode>(out: &mut Vec<u8>, tags: (u8, u8), length: LenForm, items: &[T]) {
    let write_items = |o: &mut Vec<u8>| items.iter().for_each(|i| i.encode_to(o));
    if length == LenForm::Indefinite {
        out.extend_from_slice(&[tags.1, 0x80]);
        write_items(out);
        out.extend_from_slice(&[0, 0]);
    } else {
        out.push(tags.0);
        crate::tlv::write_len_prefixed(out, length, write_items);
    }
}

/// An expanded remote command script (TS 102 226 §5.2.1): a command scripting template, `AA` with a
/// definite length or `AE 80 … 00 00` with the indefinite one (recommended for HTTPS transport), holding
/// C-APDU TLVs and the optional action and chaining TLVs, in order.
///
/// `length` records the template's length coding: [`LenForm::Indefinite`] means tag `AE`, any other form
/// tag `AA` with that definite length form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpandedScript {
    /// The template's length coding (and so its tag).
    #[serde(default)]
    pub length: LenForm,
    /// The objects of the template.
    pub items: Vec<CommandItem>,
}

impl ExpandedScript {
    /// `AA` with a minimal length around C-APDU TLVs for `apdus`.
    #[must_use]
    pub fn definite(apdus: impl IntoIterator<Item = CommandApdu>) -> Self {
        Self { length: LenForm::Minimal, items: apdus.into_iter().map(CommandItem::c_apdu).collect() }
    }

    /// `AE 80 … 00 00` around C-APDU TLVs for `apdus`.
    #[must_use]
    pub fn indefinite(apdus: impl IntoIterator<Item = CommandApdu>) -> Self {
        Self { length: LenForm::Indefinite, items: apdus.into_iter().map(CommandItem::c_apdu).collect() }
    }

    /// The commands, in order.
    pub fn apdus(&self) -> impl Iterator<Item = &CommandApdu> {
        self.items.iter().filter_map(|i| match i {
            CommandItem::CApdu { apdu, .. } => Some(apdu),
            _ => None,
        })
    }
}

impl Decode for ExpandedScript {
    const NAME: &'static str = "expanded remote command script";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let (length, items) = read_template(
            r,
            (TAG_SCRIPT, TAG_SCRIPT_INDEFINITE),
            "command scripting template AA or AE",
            CommandItem::read,
        )?;
        Ok(Self { length, items })
    }
}

impl Encode for ExpandedScript {
    fn encode_to(&self, out: &mut Vec<u8>) {
        write_template(out, (TAG_SCRIPT, TAG_SCRIPT_INDEFINITE), self.length, &self.items);
    }
}

/// An expanded remote response (TS 102 226 §5.2.2): a response scripting template, `AB` with a definite
/// length or `AF 80 … 00 00`, holding the number of executed commands, one R-APDU TLV per executed command
/// and the error TLVs, in order.
///
/// Decision: TS 102 226 Table 5.10 starts the definite form with the number-of-executed-commands TLV, and
/// the indefinite form of Table 5.10a (built as the commands run) is read here as having none; the decoder
/// accepts it in either form at any position, and the builders put it first in `AB` and leave it out of `AF`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpandedResponse {
    /// The template's length coding: [`LenForm::Indefinite`] means tag `AF`, anything else `AB`.
    #[serde(default)]
    pub length: LenForm,
    /// The objects of the template.
    pub items: Vec<ResponseItem>,
}

impl ExpandedResponse {
    /// `AB` with a minimal length: number of executed commands, then the R-APDUs.
    #[must_use]
    pub fn definite(executed: u8, responses: impl IntoIterator<Item = ResponseApdu>) -> Self {
        let items = std::iter::once(ResponseItem::executed(executed))
            .chain(responses.into_iter().map(ResponseItem::r_apdu));
        Self { length: LenForm::Minimal, items: items.collect() }
    }

    /// `AF 80 … 00 00` around the R-APDUs.
    #[must_use]
    pub fn indefinite(responses: impl IntoIterator<Item = ResponseApdu>) -> Self {
        Self { length: LenForm::Indefinite, items: responses.into_iter().map(ResponseItem::r_apdu).collect() }
    }

    /// The number of executed commands from the first `80` TLV (big-endian, up to 8 bytes).
    #[must_use]
    pub fn executed(&self) -> Option<u64> {
        self.items.iter().find_map(|i| match i {
            ResponseItem::ExecutedCommands { value, .. } if (1..=8).contains(&value.len()) => {
                Some(value.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
            }
            _ => None,
        })
    }

    /// The R-APDUs, in order.
    pub fn responses(&self) -> impl Iterator<Item = &ResponseApdu> {
        self.items.iter().filter_map(|i| match i {
            ResponseItem::RApdu { response, .. } => Some(response),
            _ => None,
        })
    }

    /// The last R-APDU.
    #[must_use]
    pub fn last_response(&self) -> Option<&ResponseApdu> {
        self.responses().last()
    }

    /// True when an R-APDU carries `62F1`: its response data was truncated and the card stopped the script
    /// there (TS 102 226 §5.2.1.1).
    #[must_use]
    pub fn truncated(&self) -> bool {
        self.responses().any(|r| r.sw == StatusWord::MORE_DATA_AVAILABLE)
    }

    /// The code of the first bad format TLV, if any.
    #[must_use]
    pub fn bad_format(&self) -> Option<BadFormat> {
        self.items.iter().find_map(|i| match i {
            ResponseItem::BadFormat { value, .. } => value.first().map(|b| BadFormat::from_u8(*b)),
            _ => None,
        })
    }

    /// The code of the first script chaining response TLV, if any.
    #[must_use]
    pub fn script_chaining_response(&self) -> Option<ScriptChainingResponse> {
        self.items.iter().find_map(|i| match i {
            ResponseItem::ScriptChainingResponse { value, .. } => {
                value.first().map(|b| ScriptChainingResponse::from_u8(*b))
            }
            _ => None,
        })
    }
}

impl Decode for ExpandedResponse {
    const NAME: &'static str = "expanded remote response";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let (length, items) = read_template(
            r,
            (TAG_RESPONSE, TAG_RESPONSE_INDEFINITE),
            "response scripting template AB or AF",
            ResponseItem::read,
        )?;
        Ok(Self { length, items })
    }
}

impl Encode for ExpandedResponse {
    fn encode_to(&self, out: &mut Vec<u8>) {
        write_template(out, (TAG_RESPONSE, TAG_RESPONSE_INDEFINITE), self.length, &self.items);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apdu::{ApduCase, Cla};
    use crate::testdata::shared_file;
    use proptest::prelude::*;

    fn script(hex: &str) -> ExpandedScript {
        let b = hex::decode(hex.replace(' ', "")).unwrap();
        let s = ExpandedScript::decode_exact(&b).unwrap();
        assert_eq!(s.encode(), b, "{hex}");
        s
    }

    fn response(hex: &str) -> ExpandedResponse {
        let b = hex::decode(hex.replace(' ', "")).unwrap();
        let s = ExpandedResponse::decode_exact(&b).unwrap();
        assert_eq!(s.encode(), b, "{hex}");
        s
    }

    #[test]
    fn definite_script() {
        // scp80.md §5 example: AA07 2205 80E2900000.
        let s = script("AA07 2205 80E2900000");
        assert_eq!(s.length, LenForm::Minimal);
        let a: Vec<_> = s.apdus().collect();
        assert_eq!((a.len(), a[0].ins, a[0].case()), (1, 0xE2, ApduCase::Case2Short));
        let built = ExpandedScript::definite([a[0].clone()]);
        assert_eq!(built, s);
    }

    #[test]
    fn indefinite_script_with_actions() {
        let s = script("AE80 2207 00A4000C026F07 810101 8200 830101 220E 00D6000009080910101032547698 0000");
        assert_eq!(s.length, LenForm::Indefinite);
        assert_eq!(s.apdus().count(), 2);
        assert!(matches!(&s.items[1], CommandItem::ImmediateAction { value, .. } if value == &[1]));
        assert!(matches!(&s.items[2], CommandItem::ErrorAction { value, .. } if value.is_empty()));
        assert!(matches!(&s.items[3], CommandItem::ScriptChaining { value, .. } if value == &[1]));
        let only_apdus = ExpandedScript::indefinite(s.apdus().cloned());
        assert_eq!(
            hex::encode(only_apdus.encode()),
            "ae80220700a4000c026f07220e00d6000009080910101032547698 0000".replace(' ', "")
        );
    }

    #[test]
    fn non_minimal_lengths_and_unknown_items_are_kept() {
        let s = script("AA8111 228105 80E2900000 A503 8001FF 9F7001 00");
        assert_eq!(s.length, LenForm::Long(1));
        assert!(matches!(&s.items[0], CommandItem::CApdu { len_form: LenForm::Long(1), .. }));
        assert!(matches!(&s.items[1], CommandItem::Unknown(t) if t.tag == Tag::one(0xA5)));
        assert!(matches!(&s.items[2], CommandItem::Unknown(t) if t.tag.value() == 0x9F70));
        let j = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<ExpandedScript>(&j).unwrap(), s);
    }

    #[test]
    fn responses() {
        // gsm0348 vector should_build_sms_pp_response_packet_cc_aes_cmac_64: one command, 9000.
        let r = response("ab0780010123029000");
        assert_eq!(r.executed(), Some(1));
        assert_eq!(r.last_response(), Some(&ResponseApdu::status(StatusWord::OK)));
        assert!(!r.truncated());
        assert_eq!(ExpandedResponse::definite(1, [ResponseApdu::status(StatusWord::OK)]), r);
        // Indefinite, a truncated response (62F1), then a bad format report.
        let r = response("AF80 2304 AABB62F1 900102 830102 0000");
        assert_eq!(r.executed(), None);
        assert!(r.truncated());
        assert_eq!(r.bad_format(), Some(BadFormat::WrongLength));
        assert_eq!(r.script_chaining_response(), Some(ScriptChainingResponse::NotSupported));
        assert_eq!(r.last_response().map(|x| x.data.as_slice()), Some(&[0xAA, 0xBB][..]));
        let r = response("AB0B 800101 2303 0102 90 8101 01");
        assert!(matches!(&r.items[2], ResponseItem::ImmediateActionResponse { value, .. } if value == &[1]));
        assert_eq!(
            hex::encode(ExpandedResponse::indefinite([ResponseApdu::status(StatusWord(0x6A82))]).encode()),
            "af8023026a820000"
        );
    }

    #[test]
    fn errors_with_offsets() {
        let err =
            |h: &str| ExpandedScript::decode_exact(&hex::decode(h.replace(' ', "")).unwrap()).unwrap_err();
        let e = err("AB00");
        assert_eq!(
            (e.offset, e.kind),
            (
                0,
                DecodeErrorKind::UnexpectedTag {
                    expected: "command scripting template AA or AE",
                    found: 0xAB
                }
            )
        );
        assert_eq!(err("AA80 0000").offset, 1);
        let e = err("AE02 2200");
        assert_eq!(
            (e.offset, e.kind),
            (
                1,
                DecodeErrorKind::Invalid {
                    what: "scripting template length",
                    reason: "this tag needs the indefinite form 80"
                }
            )
        );
        // Template length beyond the input, pointing at the length byte.
        let e = err("AA09 2205 80E2900000");
        assert_eq!(
            (e.offset, matches!(e.kind, DecodeErrorKind::LengthOverflow { length: 9, .. })),
            (1, true)
        );
        // Item length beyond the template, pointing at the item's length byte.
        assert_eq!(err("AA07 2206 80E2900000").offset, 3);
        // A C-APDU too short to be one: the inner error keeps its absolute offset.
        let e = err("AA05 2203 80E290");
        assert_eq!((e.offset, matches!(e.kind, DecodeErrorKind::Truncated { .. })), (4, true));
        // Indefinite length on a C-APDU TLV.
        assert_eq!(err("AE80 2280 0000").offset, 3);
        // R-APDU of one byte.
        let e = ExpandedResponse::decode_exact(&hex::decode("AB03230190").unwrap()).unwrap_err();
        assert_eq!(e.offset, 4);
    }

    #[test]
    fn truncation_at_every_byte() {
        for h in [
            "AE80 2207 00A4000C026F07 810101 A0028000 220E 00D6000009080910101032547698 0000",
            "AA12 2207 00A4000C026F07 8200 2205 00B0000000",
        ] {
            let b = hex::decode(h.replace(' ', "")).unwrap();
            ExpandedScript::decode_exact(&b).unwrap();
            for i in 0..b.len() {
                assert!(ExpandedScript::decode_exact(&b[..i]).is_err(), "{h} prefix {i}");
            }
        }
        let b = hex::decode("AF80 800102 2304AABB62F1 2302 9000 900101 0000".replace(' ', "")).unwrap();
        ExpandedResponse::decode_exact(&b).unwrap();
        for i in 0..b.len() {
            assert!(ExpandedResponse::decode_exact(&b[..i]).is_err(), "prefix {i}");
        }
    }

    #[test]
    fn response_vectors_in_expanded_format() {
        let Some(path) = shared_file("vectors/scp80_vectors.json") else { return };
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut seen = 0;
        for v in v["vectors"].as_array().unwrap() {
            let Some(d) = v["expected"]["data"].as_str() else { continue };
            if !d.starts_with("ab") {
                continue;
            }
            let r = response(d);
            assert_eq!(r.executed(), Some(r.responses().count() as u64), "{}", v["name"]);
            seen += 1;
        }
        assert!(seen >= 1);
    }

    fn arb_apdu() -> impl Strategy<Value = CommandApdu> {
        (any::<[u8; 4]>(), proptest::collection::vec(any::<u8>(), 0..20), proptest::option::of(1u32..=300))
            .prop_map(|([c, i, p1, p2], d, ne)| CommandApdu::new(Cla(c), i, p1, p2, d, ne).unwrap())
    }

    fn arb_form() -> impl Strategy<Value = LenForm> {
        prop_oneof![Just(LenForm::Minimal), (1u8..=2).prop_map(LenForm::Long)]
    }

    fn arb_bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..4)
    }

    fn arb_command_item() -> impl Strategy<Value = CommandItem> {
        prop_oneof![
            (arb_apdu(), arb_form()).prop_map(|(apdu, len_form)| CommandItem::CApdu { apdu, len_form }),
            (arb_bytes(), arb_form())
                .prop_map(|(value, len_form)| CommandItem::ImmediateAction { value, len_form }),
            (arb_bytes(), arb_form())
                .prop_map(|(value, len_form)| CommandItem::ErrorAction { value, len_form }),
            (arb_bytes(), arb_form())
                .prop_map(|(value, len_form)| CommandItem::ScriptChaining { value, len_form }),
            arb_bytes().prop_map(|v| CommandItem::Unknown(BerTlv::primitive(Tag::one(0x84), v))),
        ]
    }

    fn arb_response_item() -> impl Strategy<Value = ResponseItem> {
        prop_oneof![
            (arb_bytes(), arb_form())
                .prop_map(|(value, len_form)| ResponseItem::ExecutedCommands { value, len_form }),
            (arb_bytes(), any::<u16>(), arb_form()).prop_map(|(d, sw, len_form)| ResponseItem::RApdu {
                response: ResponseApdu::new(d, StatusWord(sw)),
                len_form
            }),
            (arb_bytes(), arb_form())
                .prop_map(|(value, len_form)| ResponseItem::ImmediateActionResponse { value, len_form }),
            (arb_bytes(), arb_form())
                .prop_map(|(value, len_form)| ResponseItem::ScriptChainingResponse { value, len_form }),
            (arb_bytes(), arb_form())
                .prop_map(|(value, len_form)| ResponseItem::BadFormat { value, len_form }),
            arb_bytes().prop_map(|v| ResponseItem::Unknown(BerTlv::primitive(Tag::one(0x91), v))),
        ]
    }

    fn arb_template_form() -> impl Strategy<Value = LenForm> {
        prop_oneof![Just(LenForm::Minimal), (1u8..=2).prop_map(LenForm::Long), Just(LenForm::Indefinite)]
    }

    proptest! {
        #[test]
        fn script_round_trip(
            length in arb_template_form(),
            items in proptest::collection::vec(arb_command_item(), 0..5),
        ) {
            let s = ExpandedScript { length, items };
            let b = s.encode();
            let back = ExpandedScript::decode_exact(&b).unwrap();
            // A Long form that happens to be minimal reads back as Minimal; compare the bytes.
            prop_assert_eq!(back.encode(), b);
            let j = serde_json::to_string(&back).unwrap();
            prop_assert_eq!(serde_json::from_str::<ExpandedScript>(&j).unwrap(), back);
        }

        #[test]
        fn response_round_trip(
            length in arb_template_form(),
            items in proptest::collection::vec(arb_response_item(), 0..5),
        ) {
            let s = ExpandedResponse { length, items };
            let b = s.encode();
            let back = ExpandedResponse::decode_exact(&b).unwrap();
            prop_assert_eq!(back.encode(), b);
            let j = serde_json::to_string(&back).unwrap();
            prop_assert_eq!(serde_json::from_str::<ExpandedResponse>(&j).unwrap(), back);
        }

        #[test]
        fn bytes_round_trip(
            b in proptest::collection::vec(any::<u8>(), 0..40),
            t in prop_oneof![Just(0xAAu8), Just(0xAE), Just(0xAB), Just(0xAF)],
        ) {
            let mut b = b;
            b.insert(0, t);
            if let Ok(s) = ExpandedScript::decode_exact(&b) {
                prop_assert_eq!(s.encode(), b.clone());
            }
            if let Ok(s) = ExpandedResponse::decode_exact(&b) {
                prop_assert_eq!(s.encode(), b);
            }
        }
    }
}

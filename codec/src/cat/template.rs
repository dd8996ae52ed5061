//! The lossless wire forms: proactive command `D0` (TS 102 223 §6.6), ENVELOPE templates `D1`–`DF` (§7) and
//! the TERMINAL RESPONSE data (§6.8), each a list of [`SimpleTlv`]s, plus their C-APDU wrappers; and
//! [`EnvelopeRef`], the zero-copy view of an ENVELOPE.

use serde::{Deserialize, Serialize};

use super::codes::EnvelopeTag;
use super::objects::{
    Address, AddressRef, Aid, AlphaIdentifier, CommandDetails, CommandResult, DeviceIdentities, Duration,
    FileList, SimpleTlv, SimpleTlvRef, SimpleTlvs, SimpleValue, SimpleValueRef, SmsTpdu, read_objects,
    write_objects,
};
use crate::apdu::{ApduError, Cla, CommandApdu};
use crate::error::{DecodeError, DecodeErrorKind, DecodeResult};
use crate::reader::{Decode, DecodeRef, Encode, Reader};
use crate::tlv::{LenForm, ReadLen, read_len};

/// Proactive UICC command tag (TS 101 220 Table 7.17).
pub const PROACTIVE_COMMAND_TAG: u8 = 0xD0;
/// INS of ENVELOPE (TS 102 221 §10.1.2).
pub const INS_ENVELOPE: u8 = 0xC2;
/// INS of TERMINAL RESPONSE (TS 102 221 §10.1.2).
pub const INS_TERMINAL_RESPONSE: u8 = 0x14;
/// INS of FETCH (TS 102 221 §10.1.2).
pub const INS_FETCH: u8 = 0x12;

fn is_minimal(f: &LenForm) -> bool {
    *f == LenForm::Minimal
}

/// One typed getter: the first object of variant `$variant`.
macro_rules! accessor {
    ($name:ident, $variant:ident, $ty:ty, $doc:literal) => {
        #[doc = $doc]
        #[must_use]
        pub fn $name(&self) -> Option<&$ty> {
            self.objects.iter().find_map(|o| match &o.value {
                SimpleValue::$variant(v) => Some(v),
                _ => None,
            })
        }
    };
}

/// Typed getters over a list of simple TLVs: each returns the first object of its kind.
macro_rules! object_accessors {
    ($t:ty) => {
        impl $t {
            accessor!(
                command_details,
                CommandDetails,
                CommandDetails,
                "The first command details object (TS 102 223 §8.6)."
            );
            accessor!(
                device_identities,
                DeviceIdentities,
                DeviceIdentities,
                "The first device identities object (§8.7)."
            );
            accessor!(result, Result, CommandResult, "The first result object (§8.12).");
            accessor!(duration, Duration, Duration, "The first duration object (§8.8).");
            accessor!(
                alpha_identifier,
                AlphaIdentifier,
                AlphaIdentifier,
                "The first alpha identifier (§8.2)."
            );
            accessor!(address, Address, Address, "The first address (§8.1).");
            accessor!(sms_tpdu, SmsTpdu, SmsTpdu, "The first SMS TPDU (TS 31.111 §8.13).");
            accessor!(file_list, FileList, FileList, "The first file list (§8.18).");
            accessor!(aid, Aid, Aid, "The first AID (§8.60).");
        }
    };
}

/// Reads a BER template whose value is a list of simple TLVs; `check_tag` vets the tag byte first.
fn read_template(
    r: &mut Reader<'_>,
    expected: &'static str,
    check_tag: fn(u8) -> bool,
) -> DecodeResult<(u8, LenForm, Vec<SimpleTlv>)> {
    let (tag, form, mut v) = read_template_header(r, expected, check_tag)?;
    Ok((tag, form, read_objects(&mut v)?))
}

/// Reads the tag and length of a BER template (`check_tag` vets the tag byte); returns a reader over its
/// value. Shared by the owned templates and [`EnvelopeRef`].
fn read_template_header<'a>(
    r: &mut Reader<'a>,
    expected: &'static str,
    check_tag: fn(u8) -> bool,
) -> DecodeResult<(u8, LenForm, Reader<'a>)> {
    let start = r.offset();
    let tag = r.u8("CAT template tag")?;
    if !check_tag(tag) {
        return Err(DecodeError::new(
            DecodeErrorKind::UnexpectedTag { expected, found: u32::from(tag) },
            start,
        ));
    }
    let len_start = r.offset();
    let (n, form) = match read_len(r, "CAT template length", 2, false)? {
        ReadLen::Definite(n, f) => (n, f),
        ReadLen::Indefinite => {
            return Err(DecodeError::invalid("CAT template length", "indefinite", len_start));
        }
    };
    let v = r.sub(n, r.offset() - len_start, "CAT template value")?;
    Ok((tag, form, v))
}

fn write_template(out: &mut Vec<u8>, tag: u8, form: LenForm, objects: &[SimpleTlv]) {
    out.push(tag);
    crate::tlv::write_len_prefixed(out, form, |o| write_objects(objects, o));
}

/// Decodes the data of `apdu` as `T`, checking the INS first; errors keep offsets within the APDU bytes.
fn from_apdu<T>(
    apdu: &CommandApdu,
    ins: u8,
    expected: &'static str,
    read: fn(&mut Reader<'_>) -> DecodeResult<T>,
) -> DecodeResult<T> {
    if apdu.ins != ins {
        return Err(DecodeError::new(
            DecodeErrorKind::UnexpectedTag { expected, found: u32::from(apdu.ins) },
            1,
        ));
    }
    let mut r = Reader::with_base(apdu.data(), apdu.data_offset());
    let v = read(&mut r)?;
    r.expect_end("C-APDU data")?;
    Ok(v)
}

/// A proactive UICC command (TS 102 223 §6.6): BER tag `D0`, its length (form kept) and the simple TLVs in
/// order (command details, device identities, then the command's own objects).
///
/// This is the lossless form: CR flags, tag formats, length forms, unknown objects and their order are all
/// kept. [`ProactiveCommand::interpret`] gives the typed view of the commands this crate knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProactiveCommand {
    /// How the `D0` length is written.
    #[serde(default, skip_serializing_if = "is_minimal")]
    pub len_form: LenForm,
    /// The objects.
    pub objects: Vec<SimpleTlv>,
}
object_accessors!(ProactiveCommand);

impl ProactiveCommand {
    /// A command of these objects with a minimal length.
    #[must_use]
    pub const fn new(objects: Vec<SimpleTlv>) -> Self {
        Self { len_form: LenForm::Minimal, objects }
    }
}

impl Decode for ProactiveCommand {
    const NAME: &'static str = "proactive command";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let (_, len_form, objects) =
            read_template(r, "proactive command tag D0", |t| t == PROACTIVE_COMMAND_TAG)?;
        Ok(Self { len_form, objects })
    }
}

impl Encode for ProactiveCommand {
    fn encode_to(&self, out: &mut Vec<u8>) {
        write_template(out, PROACTIVE_COMMAND_TAG, self.len_form, &self.objects);
    }
}

/// The data of an ENVELOPE command (TS 102 223 §7): a BER template `D1`–`DF` (SMS-PP download `D1`, …)
/// with its length form and simple TLVs, kept losslessly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The template tag.
    pub tag: EnvelopeTag,
    /// How the length is written.
    #[serde(default, skip_serializing_if = "is_minimal")]
    pub len_form: LenForm,
    /// The objects.
    pub objects: Vec<SimpleTlv>,
}
object_accessors!(Envelope);

impl Envelope {
    /// An envelope with a minimal length.
    #[must_use]
    pub const fn new(tag: EnvelopeTag, objects: Vec<SimpleTlv>) -> Self {
        Self { tag, len_form: LenForm::Minimal, objects }
    }

    /// The ENVELOPE command carrying this template: `80 C2 00 00 Lc <template>` (TS 102 221 §10.1.2,
    /// §11.2.2), case 3 as sent over T=0; the response comes with `61xx`/`9Fxx` or `91xx`.
    ///
    /// # Errors
    /// [`ApduError::DataTooLong`] beyond 65 535 bytes.
    pub fn to_apdu(&self) -> Result<CommandApdu, ApduError> {
        CommandApdu::new(Cla::UICC_PROPRIETARY, INS_ENVELOPE, 0, 0, self.encode(), None)
    }

    /// The template carried by an ENVELOPE command (any class, INS `C2`).
    ///
    /// # Errors
    /// Another INS (at byte 1), or a malformed template (offsets within the APDU).
    pub fn from_apdu(apdu: &CommandApdu) -> DecodeResult<Self> {
        from_apdu(apdu, INS_ENVELOPE, "ENVELOPE INS C2", Self::decode_from)
    }
}

/// What an ENVELOPE template's tag must be.
const ENVELOPE_TAG: &str = "ENVELOPE template tag D1-DF";

fn is_envelope_tag(t: u8) -> bool {
    (0xD1..=0xDF).contains(&t)
}

impl Decode for Envelope {
    const NAME: &'static str = "ENVELOPE template";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let (tag, len_form, objects) = read_template(r, ENVELOPE_TAG, is_envelope_tag)?;
        Ok(Self { tag: EnvelopeTag::from_u8(tag), len_form, objects })
    }
}

/// The data of an ENVELOPE command (TS 102 223 §7) as a borrowed view: the template tag, its length form
/// and the simple TLVs as the bytes they were read from ([`SimpleTlvs`], each object checked when decoding),
/// so reading one allocates nothing.
///
/// It reads the same bytes as [`Envelope`] through the same parsers (template header, then
/// [`SimpleTlvRef`] for each object), with the same errors; [`EnvelopeRef::to_owned`] gives the
/// [`Envelope`], and encoding writes the tag, the length in its form and the object bytes (for a decoded
/// view, the input). The typed getters return the first object of their kind, as [`Envelope`]'s do; the
/// three an SMS-PP download needs (device identities, address, SMS TPDU) are noted while the objects are
/// checked, so they cost no second pass.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnvelopeRef<'a> {
    /// The template tag.
    pub tag: EnvelopeTag,
    /// How the length is written.
    pub len_form: LenForm,
    /// The objects (private: `firsts` is derived from them).
    objects: SimpleTlvs<'a>,
    /// The first device identities, address and SMS TPDU among the objects.
    firsts: Firsts<'a>,
}

/// The first object of each kind the SMS-PP download reads, noted during the checking pass.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct Firsts<'a> {
    device_identities: Option<DeviceIdentities>,
    address: Option<AddressRef<'a>>,
    sms_tpdu: Option<&'a [u8]>,
}

impl<'a> Firsts<'a> {
    fn note(&mut self, o: SimpleTlvRef<'a>) {
        match o.value {
            SimpleValueRef::DeviceIdentities(d) if self.device_identities.is_none() => {
                self.device_identities = Some(d);
            }
            SimpleValueRef::Address(a) if self.address.is_none() => self.address = Some(a),
            SimpleValueRef::SmsTpdu(t) if self.sms_tpdu.is_none() => self.sms_tpdu = Some(t),
            _ => {}
        }
    }
}

impl<'a> EnvelopeRef<'a> {
    /// The owned envelope.
    #[must_use]
    pub fn to_owned(&self) -> Envelope {
        Envelope { tag: self.tag, len_form: self.len_form, objects: self.objects.to_owned() }
    }

    /// The objects, in order.
    #[must_use]
    pub const fn objects(&self) -> &SimpleTlvs<'a> {
        &self.objects
    }

    /// The first device identities object (TS 102 223 §8.7).
    #[must_use]
    pub const fn device_identities(&self) -> Option<DeviceIdentities> {
        self.firsts.device_identities
    }

    /// The first address (§8.1).
    #[must_use]
    pub fn address(&self) -> Option<AddressRef<'a>> {
        self.firsts.address.clone()
    }

    /// The first SMS TPDU (TS 31.111 §8.13).
    #[must_use]
    pub const fn sms_tpdu(&self) -> Option<&'a [u8]> {
        self.firsts.sms_tpdu
    }

    /// Encoded size.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        let n = self.objects.as_bytes().len();
        1 + crate::tlv::len_size(n, self.len_form) + n
    }
}

impl<'a> DecodeRef<'a> for EnvelopeRef<'a> {
    const NAME: &'static str = "ENVELOPE template";

    fn decode_from(r: &mut Reader<'a>) -> DecodeResult<Self> {
        let (tag, len_form, mut v) = read_template_header(r, ENVELOPE_TAG, is_envelope_tag)?;
        let mut firsts = Firsts::default();
        let objects = SimpleTlvs::read_with(&mut v, |o| firsts.note(o))?;
        Ok(Self { tag: EnvelopeTag::from_u8(tag), len_form, objects, firsts })
    }
}

impl Encode for EnvelopeRef<'_> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        let objects = self.objects.as_bytes();
        out.reserve(self.encoded_len());
        out.push(self.tag.to_u8());
        // As `write_len_prefixed`: an indefinite form is written as the minimal definite one.
        let form = if self.len_form == LenForm::Indefinite { LenForm::Minimal } else { self.len_form };
        crate::tlv::write_len(out, objects.len(), form);
        out.extend_from_slice(objects);
    }
}

impl Encode for Envelope {
    fn encode_to(&self, out: &mut Vec<u8>) {
        write_template(out, self.tag.to_u8(), self.len_form, &self.objects);
    }
}

/// The data of a TERMINAL RESPONSE (TS 102 223 §6.8): simple TLVs, starting with command details, device
/// identities (terminal → UICC) and the result, then command-specific objects; kept losslessly.
///
/// Decoding takes everything left in the reader and requires the three mandatory objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalResponse {
    /// The objects.
    pub objects: Vec<SimpleTlv>,
}
object_accessors!(TerminalResponse);

impl TerminalResponse {
    /// The canonical response to the command `command_details` with `result`: `81 03 <details>`,
    /// `82 02 82 81` (terminal → UICC), `83 <result>` (CR set on all three, as terminals send them).
    #[must_use]
    pub fn new(command_details: CommandDetails, result: CommandResult) -> Self {
        use super::codes::DeviceIdentity;
        Self {
            objects: vec![
                SimpleTlv::required(SimpleValue::CommandDetails(command_details)),
                SimpleTlv::required(SimpleValue::DeviceIdentities(DeviceIdentities::new(
                    DeviceIdentity::Terminal,
                    DeviceIdentity::Uicc,
                ))),
                SimpleTlv::required(SimpleValue::Result(result)),
            ],
        }
    }

    /// The TERMINAL RESPONSE command: `80 14 00 00 Lc <objects>` (TS 102 221 §10.1.2, §11.2.4).
    ///
    /// # Errors
    /// [`ApduError::DataTooLong`] beyond 65 535 bytes.
    pub fn to_apdu(&self) -> Result<CommandApdu, ApduError> {
        CommandApdu::new(Cla::UICC_PROPRIETARY, INS_TERMINAL_RESPONSE, 0, 0, self.encode(), None)
    }

    /// The response carried by a TERMINAL RESPONSE command (any class, INS `14`).
    ///
    /// # Errors
    /// Another INS (at byte 1), or malformed objects (offsets within the APDU).
    pub fn from_apdu(apdu: &CommandApdu) -> DecodeResult<Self> {
        from_apdu(apdu, INS_TERMINAL_RESPONSE, "TERMINAL RESPONSE INS 14", Self::decode_from)
    }
}

impl Decode for TerminalResponse {
    const NAME: &'static str = "TERMINAL RESPONSE";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let start = r.offset();
        let tr = Self { objects: read_objects(r)? };
        let missing = if tr.command_details().is_none() {
            Some("no command details object")
        } else if tr.device_identities().is_none() {
            Some("no device identities object")
        } else if tr.result().is_none() {
            Some("no result object")
        } else {
            None
        };
        match missing {
            Some(reason) => Err(DecodeError::invalid("TERMINAL RESPONSE", reason, start)),
            None => Ok(tr),
        }
    }
}

impl Encode for TerminalResponse {
    fn encode_to(&self, out: &mut Vec<u8>) {
        write_objects(&self.objects, out);
    }
}

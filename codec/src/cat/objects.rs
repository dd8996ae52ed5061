//! The simple TLV objects of TS 102 223 §8 that this crate types, and [`SimpleTlv`], one COMPREHENSION-TLV
//! (TS 101 220 §7.1.1) whose value is typed when its tag is known.

use serde::{Deserialize, Serialize};

use super::codes::{
    CommandType, DeviceIdentity, GeneralResult, NumberingPlan, RefreshMode, TimeUnit, TypeOfNumber,
};
use crate::apdu::hexbyte;
use crate::error::{DecodeError, DecodeResult};
use crate::reader::{Decode, DecodeRef, Encode, Reader};
use crate::sim::{DigitsError, bcd};
use crate::tlv::comprehension::CtlvTag;
use crate::tlv::{LenForm, ReadLen, read_len};

/// Tag values (CR bit excluded) of the objects typed here (TS 101 220 Table 7.23, TS 102 223 §9.3).
pub mod tag {
    /// Command details (§8.6).
    pub const COMMAND_DETAILS: u16 = 0x01;
    /// Device identities (§8.7).
    pub const DEVICE_IDENTITIES: u16 = 0x02;
    /// Result (§8.12).
    pub const RESULT: u16 = 0x03;
    /// Duration (§8.8).
    pub const DURATION: u16 = 0x04;
    /// Alpha identifier (§8.2).
    pub const ALPHA_IDENTIFIER: u16 = 0x05;
    /// Address (§8.1).
    pub const ADDRESS: u16 = 0x06;
    /// SMS TPDU (TS 31.111 §8.13).
    pub const SMS_TPDU: u16 = 0x0B;
    /// Response length (§8.11).
    pub const RESPONSE_LENGTH: u16 = 0x11;
    /// File list (§8.18).
    pub const FILE_LIST: u16 = 0x12;
    /// AID (§8.60).
    pub const AID: u16 = 0x2F;
}

/// Command details (TS 102 223 §8.6): command number, type of command and command qualifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CommandDetails {
    /// Command number (identifies this command within the proactive session, `01`–`FE`).
    pub number: u8,
    /// Type of command.
    pub type_of_command: CommandType,
    /// Command qualifier (its meaning depends on the type).
    pub qualifier: u8,
}

impl CommandDetails {
    /// Command details.
    #[must_use]
    pub const fn new(number: u8, type_of_command: CommandType, qualifier: u8) -> Self {
        Self { number, type_of_command, qualifier }
    }

    /// The qualifier of a REFRESH (TS 102 223 §8.6), if this is one.
    #[must_use]
    pub const fn refresh_mode(&self) -> Option<RefreshMode> {
        match self.type_of_command {
            CommandType::Refresh => Some(RefreshMode::from_u8(self.qualifier)),
            _ => None,
        }
    }

    /// What the qualifier means, for the command types whose qualifiers this crate names: REFRESH modes and
    /// SEND SHORT MESSAGE packing (bit 1: `1` = SMS packing by the terminal required).
    #[must_use]
    pub const fn qualifier_name(&self) -> Option<&'static str> {
        match self.type_of_command {
            CommandType::Refresh => RefreshMode::from_u8(self.qualifier).name(),
            CommandType::SendShortMessage => Some(if self.qualifier & 0x01 != 0 {
                "SMS packing by the terminal required"
            } else {
                "packing not required"
            }),
            _ => None,
        }
    }
}

/// Device identities (TS 102 223 §8.7): source and destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DeviceIdentities {
    /// Source device.
    pub source: DeviceIdentity,
    /// Destination device.
    pub destination: DeviceIdentity,
}

impl DeviceIdentities {
    /// Source and destination.
    #[must_use]
    pub const fn new(source: DeviceIdentity, destination: DeviceIdentity) -> Self {
        Self { source, destination }
    }
}

/// Result (TS 102 223 §8.12): the general result and additional information (kept as bytes; its meaning
/// depends on the general result, e.g. a cause byte for `20` "terminal currently unable").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandResult {
    /// General result.
    pub general: GeneralResult,
    /// Additional information on the result.
    #[serde(default, with = "crate::hexser", skip_serializing_if = "Vec::is_empty")]
    pub additional_info: Vec<u8>,
}

impl CommandResult {
    /// "Command performed successfully", no additional information.
    pub const SUCCESS: Self =
        Self { general: GeneralResult::PerformedSuccessfully, additional_info: Vec::new() };

    /// A result without additional information.
    #[must_use]
    pub const fn new(general: GeneralResult) -> Self {
        Self { general, additional_info: Vec::new() }
    }
}

/// Duration (TS 102 223 §8.8): time unit and time interval (`01`–`FF` units; `00` is reserved but kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Duration {
    /// Time unit.
    pub unit: TimeUnit,
    /// Number of units.
    pub interval: u8,
}

/// Alpha identifier (TS 102 223 §8.2): text for the user in the SMS default alphabet (8-bit) or UCS2
/// (`80`/`81`/`82` coding of TS 102 221 Annex A), kept as bytes; empty is the null alpha identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct AlphaIdentifier(#[serde(with = "crate::hexser")] pub Vec<u8>);

/// Address (TS 102 223 §8.1): the TON/NPI byte and a dialling number in swapped BCD.
///
/// The BCD bytes are kept as they are, so an odd number of digits keeps its last digit and `F` filler,
/// and an address that lost its last digit (the pySim bug noted in scp80.md §1) decodes as the digits it has.
/// [`Address::digits`] reads the number up to the first filler (see [`crate::sim::bcd`] for `*#,?E`).
/// Serialised with an output-only `digits` field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "AddressRepr", from = "AddressRepr")]
pub struct Address {
    /// TON/NPI: bit 8 extension (normally 1), bits 7–5 type of number, bits 4–1 numbering plan.
    pub ton_npi: u8,
    /// The dialling number, two digits per byte, low nibble first, `F`-filled.
    pub bcd: Vec<u8>,
}

impl Address {
    /// An address with the extension bit set: `ton_npi = 1 TTT NNNN`.
    ///
    /// # Errors
    /// A character outside `0-9*#,?E`.
    pub fn new(ton: TypeOfNumber, npi: NumberingPlan, digits: &str) -> Result<Self, DigitsError> {
        let ton_npi = 0x80 | ((ton.to_u8() & 0x07) << 4) | (npi.to_u8() & 0x0F);
        Ok(Self { ton_npi, bcd: bcd::encode(digits)? })
    }

    /// An international E.164 number (TON/NPI `91`).
    ///
    /// # Errors
    /// As [`Address::new`].
    pub fn international(digits: &str) -> Result<Self, DigitsError> {
        Self::new(TypeOfNumber::International, NumberingPlan::IsdnTelephony, digits)
    }

    /// The type of number.
    #[must_use]
    pub const fn type_of_number(&self) -> TypeOfNumber {
        TypeOfNumber::from_u8((self.ton_npi >> 4) & 0x07)
    }

    /// The numbering plan.
    #[must_use]
    pub const fn numbering_plan(&self) -> NumberingPlan {
        NumberingPlan::from_u8(self.ton_npi & 0x0F)
    }

    /// The dialling number up to the first filler nibble.
    #[must_use]
    pub fn digits(&self) -> String {
        bcd::decode(&self.bcd)
    }
}

#[derive(Serialize, Deserialize)]
struct AddressRepr {
    #[serde(with = "hexbyte")]
    ton_npi: u8,
    #[serde(with = "crate::hexser")]
    bcd: Vec<u8>,
    /// Output only.
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    digits: Option<String>,
}

impl From<Address> for AddressRepr {
    fn from(a: Address) -> Self {
        let digits = Some(a.digits());
        Self { ton_npi: a.ton_npi, bcd: a.bcd, digits }
    }
}

impl From<AddressRepr> for Address {
    fn from(r: AddressRepr) -> Self {
        Self { ton_npi: r.ton_npi, bcd: r.bcd }
    }
}

/// SMS TPDU (TS 31.111 §8.13): an SMS-DELIVER (in SMS-PP download) or SMS-SUBMIT (in SEND SHORT MESSAGE),
/// kept as bytes so the object round-trips whatever it holds; [`SmsTpdu::deliver`] / [`SmsTpdu::submit`] decode it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct SmsTpdu(#[serde(with = "crate::hexser")] pub Vec<u8>);

impl SmsTpdu {
    /// Decodes the TPDU as the SMS-DELIVER of an SMS-PP download (TS 31.111 §7.1.1: SC → MS direction).
    ///
    /// # Errors
    /// As [`crate::sms::tpdu::Deliver`]'s decoder; offsets are relative to the TPDU.
    pub fn deliver(&self) -> crate::DecodeResult<crate::sms::tpdu::Deliver> {
        <crate::sms::tpdu::Deliver as crate::Decode>::decode_exact(&self.0)
    }

    /// Decodes the TPDU as the SMS-SUBMIT of a SEND SHORT MESSAGE (TS 102 223 §6.4.10, MS → SC).
    ///
    /// # Errors
    /// As [`crate::sms::tpdu::Submit`]'s decoder; offsets are relative to the TPDU.
    pub fn submit(&self) -> crate::DecodeResult<crate::sms::tpdu::Submit> {
        <crate::sms::tpdu::Submit as crate::Decode>::decode_exact(&self.0)
    }

    /// The object carrying an SMS-DELIVER.
    #[must_use]
    pub fn from_deliver(d: &crate::sms::tpdu::Deliver) -> Self {
        Self(crate::Encode::encode(d))
    }

    /// The object carrying an SMS-SUBMIT.
    #[must_use]
    pub fn from_submit(s: &crate::sms::tpdu::Submit) -> Self {
        Self(crate::Encode::encode(s))
    }
}

/// Response length (TS 102 223 §8.11): minimum and maximum length of the expected response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResponseLength {
    /// Minimum length.
    pub min: u8,
    /// Maximum length.
    pub max: u8,
}

/// AID (TS 102 223 §8.60, TS 101 220 §4.2): the application identifier, up to 16 bytes, as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Aid(#[serde(with = "crate::hexser")] pub Vec<u8>);

/// One full path of a file list: file identifiers from the MF (`3F00`) down.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FilePath(#[serde(with = "crate::hexser")] pub Vec<u8>);

impl FilePath {
    /// A path from file identifiers.
    #[must_use]
    pub fn from_fids(fids: &[u16]) -> Self {
        Self(fids.iter().flat_map(|f| f.to_be_bytes()).collect())
    }

    /// The file identifiers (a trailing odd byte, which decoding never produces, is ignored).
    pub fn fids(&self) -> impl Iterator<Item = u16> + '_ {
        self.0.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]))
    }
}

/// File list (TS 102 223 §8.18), used by REFRESH: the number of files, then full paths, each starting with
/// the MF `3F00`.
///
/// The number-of-files byte is kept as read even where it disagrees with the paths; the paths are found by
/// splitting the concatenation at each `3F00` (the MF cannot appear inside a path).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileList {
    /// Number of files, as written.
    pub count: u8,
    /// The paths.
    pub paths: Vec<FilePath>,
}

impl FileList {
    /// A list of these paths with the matching count (at most 255 paths are counted).
    #[must_use]
    pub fn new(paths: Vec<FilePath>) -> Self {
        Self { count: u8::try_from(paths.len()).unwrap_or(u8::MAX), paths }
    }
}

/// The value of a [`SimpleTlv`], typed for the objects this crate knows (by tag value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimpleValue {
    /// `01` command details.
    CommandDetails(CommandDetails),
    /// `02` device identities.
    DeviceIdentities(DeviceIdentities),
    /// `03` result.
    Result(CommandResult),
    /// `04` duration.
    Duration(Duration),
    /// `05` alpha identifier.
    AlphaIdentifier(AlphaIdentifier),
    /// `06` address.
    Address(Address),
    /// `0B` SMS TPDU.
    SmsTpdu(SmsTpdu),
    /// `11` response length.
    ResponseLength(ResponseLength),
    /// `12` file list.
    FileList(FileList),
    /// `2F` AID.
    Aid(Aid),
    /// Any other object: its tag value (CR excluded) and value bytes.
    Unknown {
        /// Tag value without the CR bit.
        tag: u16,
        /// The value.
        #[serde(with = "crate::hexser")]
        value: Vec<u8>,
    },
}

impl SimpleValue {
    /// The tag value (CR excluded).
    #[must_use]
    pub const fn tag(&self) -> u16 {
        match self {
            Self::CommandDetails(_) => tag::COMMAND_DETAILS,
            Self::DeviceIdentities(_) => tag::DEVICE_IDENTITIES,
            Self::Result(_) => tag::RESULT,
            Self::Duration(_) => tag::DURATION,
            Self::AlphaIdentifier(_) => tag::ALPHA_IDENTIFIER,
            Self::Address(_) => tag::ADDRESS,
            Self::SmsTpdu(_) => tag::SMS_TPDU,
            Self::ResponseLength(_) => tag::RESPONSE_LENGTH,
            Self::FileList(_) => tag::FILE_LIST,
            Self::Aid(_) => tag::AID,
            Self::Unknown { tag, .. } => *tag,
        }
    }

    /// Appends the value bytes.
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Self::CommandDetails(c) => {
                out.extend_from_slice(&[c.number, c.type_of_command.to_u8(), c.qualifier])
            }
            Self::DeviceIdentities(d) => out.extend_from_slice(&[d.source.to_u8(), d.destination.to_u8()]),
            Self::Result(r) => {
                out.push(r.general.to_u8());
                out.extend_from_slice(&r.additional_info);
            }
            Self::Duration(d) => out.extend_from_slice(&[d.unit.to_u8(), d.interval]),
            Self::AlphaIdentifier(a) => out.extend_from_slice(&a.0),
            Self::Address(a) => {
                out.push(a.ton_npi);
                out.extend_from_slice(&a.bcd);
            }
            Self::SmsTpdu(t) => out.extend_from_slice(&t.0),
            Self::ResponseLength(r) => out.extend_from_slice(&[r.min, r.max]),
            Self::FileList(f) => {
                out.push(f.count);
                for p in &f.paths {
                    out.extend_from_slice(&p.0);
                }
            }
            Self::Aid(a) => out.extend_from_slice(&a.0),
            Self::Unknown { value, .. } => out.extend_from_slice(value),
        }
    }
}

/// Checks a file list value (`count`, then paths each starting with `3F00`); returns the count and the
/// path octets.
fn read_file_list<'a>(v: &mut Reader<'a>) -> DecodeResult<FileListRef<'a>> {
    let count = v.u8("file list: number of files")?;
    let paths = v.peek_rest();
    let mut first = true;
    while !v.is_empty() {
        let at = v.offset();
        let fid = v.array::<2>("file list: file identifier")?;
        if first && fid != [0x3F, 0x00] {
            return Err(DecodeError::invalid("file list", "a path must start with the MF 3F00", at));
        }
        first = false;
    }
    Ok(FileListRef { count, paths })
}

/// A file list as a borrowed view (TS 102 223 §8.18): the count as written and the path octets, checked to
/// be whole file identifiers starting with the MF `3F00`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileListRef<'a> {
    /// Number of files, as written.
    pub count: u8,
    /// The concatenated paths.
    paths: &'a [u8],
}

impl<'a> FileListRef<'a> {
    /// The concatenated path octets as on the wire.
    #[must_use]
    pub const fn path_bytes(&self) -> &'a [u8] {
        self.paths
    }

    /// The paths: the path octets split before each `3F00`.
    pub fn paths(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        let mut rest = self.paths;
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            // The next path starts at the next 3F00 after this one's (file identifiers are 2-octet aligned).
            let end = (2..rest.len())
                .step_by(2)
                .find(|&i| rest.get(i..i + 2) == Some(&[0x3F, 0x00][..]))
                .unwrap_or(rest.len());
            let (p, tail) = rest.split_at(end);
            rest = tail;
            Some(p)
        })
    }

    /// The owned file list.
    #[must_use]
    pub fn to_owned(&self) -> FileList {
        FileList { count: self.count, paths: self.paths().map(|p| FilePath(p.to_vec())).collect() }
    }
}

/// Address (TS 102 223 §8.1) as a borrowed view: the TON/NPI byte and the BCD bytes as read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AddressRef<'a> {
    /// TON/NPI: bit 8 extension (normally 1), bits 7–5 type of number, bits 4–1 numbering plan.
    pub ton_npi: u8,
    /// The dialling number, two digits per byte, low nibble first, `F`-filled.
    pub bcd: &'a [u8],
}

impl AddressRef<'_> {
    /// The owned address.
    #[must_use]
    pub fn to_owned(&self) -> Address {
        Address { ton_npi: self.ton_npi, bcd: self.bcd.to_vec() }
    }
}

/// Result (TS 102 223 §8.12) as a borrowed view.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CommandResultRef<'a> {
    /// General result.
    pub general: GeneralResult,
    /// Additional information on the result.
    pub additional_info: &'a [u8],
}

/// The value of a [`SimpleTlvRef`]: [`SimpleValue`] with its byte fields borrowed from the input.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SimpleValueRef<'a> {
    /// `01` command details.
    CommandDetails(CommandDetails),
    /// `02` device identities.
    DeviceIdentities(DeviceIdentities),
    /// `03` result.
    Result(CommandResultRef<'a>),
    /// `04` duration.
    Duration(Duration),
    /// `05` alpha identifier.
    AlphaIdentifier(&'a [u8]),
    /// `06` address.
    Address(AddressRef<'a>),
    /// `0B` SMS TPDU.
    SmsTpdu(&'a [u8]),
    /// `11` response length.
    ResponseLength(ResponseLength),
    /// `12` file list.
    FileList(FileListRef<'a>),
    /// `2F` AID.
    Aid(&'a [u8]),
    /// Any other object: its tag value (CR excluded) and value bytes.
    Unknown {
        /// Tag value without the CR bit.
        tag: u16,
        /// The value.
        value: &'a [u8],
    },
}

impl<'a> SimpleValueRef<'a> {
    /// Decodes the value of an object with tag value `tag` from `v` (which must be consumed entirely): the
    /// one value parser ([`SimpleValue`]'s is built on it).
    fn read(tag: u16, v: &mut Reader<'a>) -> DecodeResult<Self> {
        let value = match tag {
            tag::COMMAND_DETAILS => {
                let [number, t, qualifier] = v.array::<3>("command details")?;
                Self::CommandDetails(CommandDetails::new(number, CommandType::from_u8(t), qualifier))
            }
            tag::DEVICE_IDENTITIES => {
                let [s, d] = v.array::<2>("device identities")?;
                Self::DeviceIdentities(DeviceIdentities::new(
                    DeviceIdentity::from_u8(s),
                    DeviceIdentity::from_u8(d),
                ))
            }
            tag::RESULT => Self::Result(CommandResultRef {
                general: GeneralResult::from_u8(v.u8("general result")?),
                additional_info: v.rest(),
            }),
            tag::DURATION => {
                let [u, interval] = v.array::<2>("duration")?;
                Self::Duration(Duration { unit: TimeUnit::from_u8(u), interval })
            }
            tag::ALPHA_IDENTIFIER => Self::AlphaIdentifier(v.rest()),
            tag::ADDRESS => Self::Address(AddressRef { ton_npi: v.u8("address TON/NPI")?, bcd: v.rest() }),
            tag::SMS_TPDU => Self::SmsTpdu(v.rest()),
            tag::RESPONSE_LENGTH => {
                let [min, max] = v.array::<2>("response length")?;
                Self::ResponseLength(ResponseLength { min, max })
            }
            tag::FILE_LIST => Self::FileList(read_file_list(v)?),
            tag::AID => Self::Aid(v.rest()),
            _ => Self::Unknown { tag, value: v.rest() },
        };
        v.expect_end("simple TLV value")?;
        Ok(value)
    }

    /// The tag value (CR excluded).
    #[must_use]
    pub const fn tag(&self) -> u16 {
        match self {
            Self::CommandDetails(_) => tag::COMMAND_DETAILS,
            Self::DeviceIdentities(_) => tag::DEVICE_IDENTITIES,
            Self::Result(_) => tag::RESULT,
            Self::Duration(_) => tag::DURATION,
            Self::AlphaIdentifier(_) => tag::ALPHA_IDENTIFIER,
            Self::Address(_) => tag::ADDRESS,
            Self::SmsTpdu(_) => tag::SMS_TPDU,
            Self::ResponseLength(_) => tag::RESPONSE_LENGTH,
            Self::FileList(_) => tag::FILE_LIST,
            Self::Aid(_) => tag::AID,
            Self::Unknown { tag, .. } => *tag,
        }
    }

    /// Appends the value bytes (as [`SimpleValue`]'s encoder does).
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Self::CommandDetails(c) => {
                out.extend_from_slice(&[c.number, c.type_of_command.to_u8(), c.qualifier])
            }
            Self::DeviceIdentities(d) => out.extend_from_slice(&[d.source.to_u8(), d.destination.to_u8()]),
            Self::Result(r) => {
                out.push(r.general.to_u8());
                out.extend_from_slice(r.additional_info);
            }
            Self::Duration(d) => out.extend_from_slice(&[d.unit.to_u8(), d.interval]),
            Self::Address(a) => {
                out.push(a.ton_npi);
                out.extend_from_slice(a.bcd);
            }
            Self::ResponseLength(r) => out.extend_from_slice(&[r.min, r.max]),
            Self::FileList(f) => {
                out.push(f.count);
                out.extend_from_slice(f.paths);
            }
            Self::AlphaIdentifier(b) | Self::SmsTpdu(b) | Self::Aid(b) | Self::Unknown { value: b, .. } => {
                out.extend_from_slice(b)
            }
        }
    }

    /// The owned value.
    #[must_use]
    pub fn to_owned(&self) -> SimpleValue {
        match self {
            Self::CommandDetails(c) => SimpleValue::CommandDetails(*c),
            Self::DeviceIdentities(d) => SimpleValue::DeviceIdentities(*d),
            Self::Result(r) => SimpleValue::Result(CommandResult {
                general: r.general,
                additional_info: r.additional_info.to_vec(),
            }),
            Self::Duration(d) => SimpleValue::Duration(*d),
            Self::AlphaIdentifier(a) => SimpleValue::AlphaIdentifier(AlphaIdentifier(a.to_vec())),
            Self::Address(a) => SimpleValue::Address(a.to_owned()),
            Self::SmsTpdu(t) => SimpleValue::SmsTpdu(SmsTpdu(t.to_vec())),
            Self::ResponseLength(r) => SimpleValue::ResponseLength(*r),
            Self::FileList(f) => SimpleValue::FileList(f.to_owned()),
            Self::Aid(a) => SimpleValue::Aid(Aid(a.to_vec())),
            Self::Unknown { tag, value } => SimpleValue::Unknown { tag: *tag, value: value.to_vec() },
        }
    }
}

/// One COMPREHENSION-TLV object as a borrowed view: [`SimpleTlv`] with its value borrowed
/// ([`SimpleValueRef`]). Its decoder is the one simple-TLV parser ([`SimpleTlv`]'s is built on it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SimpleTlvRef<'a> {
    /// Comprehension required (bit 8 of a one-byte tag).
    pub cr: bool,
    /// The tag was written in the three-byte format `7F xx xx`.
    pub three_byte: bool,
    /// How the length is written.
    pub len_form: LenForm,
    /// The value.
    pub value: SimpleValueRef<'a>,
}

impl SimpleTlvRef<'_> {
    /// The owned object.
    #[must_use]
    pub fn to_owned(&self) -> SimpleTlv {
        SimpleTlv {
            cr: self.cr,
            three_byte: self.three_byte,
            len_form: self.len_form,
            value: self.value.to_owned(),
        }
    }
}

impl Encode for SimpleTlvRef<'_> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        CtlvTag { value: self.value.tag(), cr: self.cr, three_byte: self.three_byte }.write(out);
        crate::tlv::write_len_prefixed(out, self.len_form, |o| self.value.write(o));
    }
}

impl<'a> DecodeRef<'a> for SimpleTlvRef<'a> {
    const NAME: &'static str = "simple TLV";

    fn decode_from(r: &mut Reader<'a>) -> DecodeResult<Self> {
        let tag = CtlvTag::read(r)?;
        let len_start = r.offset();
        let (n, len_form) = match read_len(r, "simple TLV length", 2, false)? {
            ReadLen::Definite(n, f) => (n, f),
            ReadLen::Indefinite => {
                return Err(DecodeError::invalid("simple TLV length", "indefinite", len_start));
            }
        };
        let mut v = r.sub(n, r.offset() - len_start, "simple TLV value")?;
        let value = SimpleValueRef::read(tag.value, &mut v)?;
        Ok(Self { cr: tag.cr, three_byte: tag.three_byte, len_form, value })
    }
}

/// The simple TLVs of a template as a borrowed view: their octets, checked when decoding to be a whole
/// number of well-formed objects, read in order by [`SimpleTlvs::iter`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SimpleTlvs<'a> {
    bytes: &'a [u8],
}

impl<'a> SimpleTlvs<'a> {
    /// Checks that `r`'s remaining bytes are simple TLVs and takes them all (same errors as
    /// [`read_objects`]).
    ///
    /// # Errors
    /// As [`SimpleTlv::decode_from`].
    pub fn read(r: &mut Reader<'a>) -> DecodeResult<Self> {
        Self::read_with(r, |_| ())
    }

    /// As [`SimpleTlvs::read`], handing each object to `each` as it is checked.
    pub(crate) fn read_with(
        r: &mut Reader<'a>,
        mut each: impl FnMut(SimpleTlvRef<'a>),
    ) -> DecodeResult<Self> {
        let bytes = r.peek_rest();
        while !r.is_empty() {
            each(SimpleTlvRef::decode_from(r)?);
        }
        Ok(Self { bytes })
    }

    /// The objects in order.
    pub fn iter(&self) -> impl Iterator<Item = SimpleTlvRef<'a>> + use<'a> {
        let mut r = Reader::new(self.bytes);
        // Checked when decoding: every read succeeds; an error would only end the iteration.
        std::iter::from_fn(move || if r.is_empty() { None } else { SimpleTlvRef::decode_from(&mut r).ok() })
    }

    /// The octets of the objects as on the wire.
    #[must_use]
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The owned objects.
    #[must_use]
    pub fn to_owned(&self) -> Vec<SimpleTlv> {
        self.iter().map(|o| o.to_owned()).collect()
    }
}

/// One COMPREHENSION-TLV object of TS 102 223 (TS 101 220 §7.1.1), lossless: the CR flag, the tag format and
/// the length form as read, with the value typed by [`SimpleValue`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimpleTlv {
    /// Comprehension required (bit 8 of a one-byte tag).
    pub cr: bool,
    /// The tag was written in the three-byte format `7F xx xx`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub three_byte: bool,
    /// How the length is written.
    #[serde(default, skip_serializing_if = "is_minimal")]
    pub len_form: LenForm,
    /// The value.
    pub value: SimpleValue,
}

fn is_minimal(f: &LenForm) -> bool {
    *f == LenForm::Minimal
}

impl SimpleTlv {
    /// An object with the CR flag clear, a one-byte tag and a minimal length.
    #[must_use]
    pub const fn new(value: SimpleValue) -> Self {
        Self { cr: false, three_byte: false, len_form: LenForm::Minimal, value }
    }

    /// An object with the CR flag set (comprehension required), a one-byte tag and a minimal length.
    #[must_use]
    pub const fn required(value: SimpleValue) -> Self {
        Self { cr: true, three_byte: false, len_form: LenForm::Minimal, value }
    }

    /// The tag as written.
    #[must_use]
    pub const fn tag(&self) -> CtlvTag {
        CtlvTag { value: self.value.tag(), cr: self.cr, three_byte: self.three_byte }
    }
}

impl Decode for SimpleTlv {
    const NAME: &'static str = "simple TLV";

    /// Built on [`SimpleTlvRef`]'s decoder.
    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        SimpleTlvRef::decode_from(r).map(|o| o.to_owned())
    }
}

impl Encode for SimpleTlv {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.tag().write(out);
        crate::tlv::write_len_prefixed(out, self.len_form, |o| self.value.write(o));
    }
}

/// Reads simple TLVs until `r` is exhausted.
///
/// # Errors
/// As [`SimpleTlv::decode_from`].
pub fn read_objects(r: &mut Reader<'_>) -> DecodeResult<Vec<SimpleTlv>> {
    // Most templates hold 2–5 objects.
    let mut v = Vec::with_capacity(4);
    while !r.is_empty() {
        v.push(SimpleTlv::decode_from(r)?);
    }
    Ok(v)
}

/// Writes simple TLVs.
pub fn write_objects(objects: &[SimpleTlv], out: &mut Vec<u8>) {
    for o in objects {
        o.encode_to(out);
    }
}

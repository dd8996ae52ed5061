//! One-octet and fixed-size TPDU fields: [`Pid`] (TS 23.040 §9.2.3.9), [`Dcs`] (TS 23.038 §4), the time
//! stamp [`Scts`] (§9.2.3.11) and the [`ValidityPeriod`] (§9.2.3.12). All are stored raw with typed getters.

use std::fmt;

use serde::{Deserialize, Serialize};

/// TP-Protocol-Identifier (TS 23.040 §9.2.3.9), raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Pid(#[serde(with = "crate::hexser::byte")] pub u8);

/// What a [`Pid`] means (TS 23.040 §9.2.3.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PidKind {
    /// `00`: plain SME-to-SME short message.
    Default,
    /// `001xxxxx`: telematic interworking with the device type in bits 4..0.
    TelematicInterworking(u8),
    /// `000xxxxx` other than `00`: no interworking, SME-to-SME protocol `xxxxx`.
    SmeToSme(u8),
    /// `40`: short message type 0.
    ShortMessageType0,
    /// `41`–`47`: replace short message type 1..7.
    ReplaceShortMessage(u8),
    /// `5E`: device triggering short message.
    DeviceTriggering,
    /// `5F`: return call message.
    ReturnCall,
    /// `7C`: ANSI-136 R-DATA.
    AnsiR136Data,
    /// `7D`: ME data download.
    MeDataDownload,
    /// `7E`: ME de-personalization short message.
    MeDepersonalization,
    /// `7F`: (U)SIM data download, the PID of OTA command packets.
    SimDataDownload,
    /// `11xxxxxx`: SC-specific use.
    ScSpecific(u8),
    /// Any other value (reserved), kept.
    Reserved(u8),
}

impl Pid {
    /// `7F`: (U)SIM data download (TS 23.040 §9.2.3.9, TS 31.111 §7.1).
    pub const SIM_DATA_DOWNLOAD: Pid = Pid(0x7F);

    /// The typed meaning.
    #[must_use]
    pub const fn kind(&self) -> PidKind {
        let v = self.0;
        match v >> 6 {
            0 if v == 0 => PidKind::Default,
            0 if v & 0x20 != 0 => PidKind::TelematicInterworking(v & 0x1F),
            0 => PidKind::SmeToSme(v & 0x1F),
            1 => match v & 0x3F {
                0x00 => PidKind::ShortMessageType0,
                n @ 0x01..=0x07 => PidKind::ReplaceShortMessage(n),
                0x1E => PidKind::DeviceTriggering,
                0x1F => PidKind::ReturnCall,
                0x3C => PidKind::AnsiR136Data,
                0x3D => PidKind::MeDataDownload,
                0x3E => PidKind::MeDepersonalization,
                0x3F => PidKind::SimDataDownload,
                _ => PidKind::Reserved(v),
            },
            3 => PidKind::ScSpecific(v & 0x3F),
            _ => PidKind::Reserved(v),
        }
    }
}

/// Character set of the user data (TS 23.038 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Alphabet {
    /// GSM 7-bit default alphabet (also every reserved coding, as TS 23.038 asks a receiver to assume).
    Gsm7,
    /// 8-bit data.
    EightBit,
    /// UCS2 (UTF-16BE).
    Ucs2,
}

/// Message class (TS 23.038 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageClass {
    /// Class 0: flash.
    Class0,
    /// Class 1: ME specific.
    Class1,
    /// Class 2: (U)SIM specific (OTA packets are class 2).
    Class2,
    /// Class 3: TE specific.
    Class3,
}

impl MessageClass {
    const fn from_bits(b: u8) -> Self {
        match b & 3 {
            0 => Self::Class0,
            1 => Self::Class1,
            2 => Self::Class2,
            _ => Self::Class3,
        }
    }
}

/// TP-Data-Coding-Scheme (TS 23.038 §4), raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Dcs(#[serde(with = "crate::hexser::byte")] pub u8);

impl Dcs {
    /// `F6`: coding group 1111, 8-bit data, class 2 ((U)SIM specific): the DCS of OTA packets.
    pub const SIM_SPECIFIC_8BIT: Dcs = Dcs(0xF6);

    /// The alphabet (TS 23.038 §4). Reserved codings read as GSM 7-bit.
    #[must_use]
    pub const fn alphabet(&self) -> Alphabet {
        let v = self.0;
        match v >> 4 {
            // General data coding (00xx) and automatic deletion (01xx): bits 3..2.
            0x0..=0x7 => match (v >> 2) & 3 {
                1 => Alphabet::EightBit,
                2 => Alphabet::Ucs2,
                _ => Alphabet::Gsm7,
            },
            // Message waiting, store, UCS2.
            0xE => Alphabet::Ucs2,
            // Data coding / message class: bit 2.
            0xF => {
                if v & 0x04 != 0 {
                    Alphabet::EightBit
                } else {
                    Alphabet::Gsm7
                }
            }
            // 1000..1011 reserved, 1100/1101 message waiting (GSM 7-bit).
            _ => Alphabet::Gsm7,
        }
    }

    /// True when the text is compressed (general data coding groups, bit 5).
    #[must_use]
    pub const fn compressed(&self) -> bool {
        self.0 >> 6 <= 1 && self.0 & 0x20 != 0
    }

    /// The message class, if the DCS carries one.
    #[must_use]
    pub const fn message_class(&self) -> Option<MessageClass> {
        let v = self.0;
        match v >> 4 {
            0x0..=0x7 if v & 0x10 != 0 => Some(MessageClass::from_bits(v)),
            0xF => Some(MessageClass::from_bits(v)),
            _ => None,
        }
    }

    /// True when TP-UDL counts septets: uncompressed GSM 7-bit (TS 23.040 §9.2.3.16). Otherwise it counts
    /// octets.
    #[must_use]
    pub const fn udl_in_septets(&self) -> bool {
        matches!(self.alphabet(), Alphabet::Gsm7) && !self.compressed()
    }
}

/// A TS 23.040 time stamp (TP-SCTS, TP-DT, absolute TP-VP), 7 octets of swapped BCD, kept raw
/// (TS 23.040 §9.2.3.11): year, month, day, hour, minute, second, time zone in quarter hours with the sign
/// in bit 3 of the first (low) nibble.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Scts(#[serde(with = "crate::hexser::array")] pub [u8; 7]);

impl Scts {
    /// Builder: year (0..=99), month, day, hour, minute, second, time zone in quarter hours (−79..=79).
    /// `None` when a field has more than two digits.
    #[must_use]
    pub const fn new(
        year: u8,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
        tz_quarters: i8,
    ) -> Option<Self> {
        if year > 99 || month > 99 || day > 99 || hour > 99 || minute > 99 || second > 99 {
            return None;
        }
        let q = tz_quarters.unsigned_abs();
        if q > 79 {
            return None;
        }
        let tz = (q / 10) | ((q % 10) << 4) | if tz_quarters < 0 { 0x08 } else { 0 };
        Some(Self([swap(year), swap(month), swap(day), swap(hour), swap(minute), swap(second), tz]))
    }

    const fn field(&self, i: usize) -> Option<u8> {
        let b = self.0[i];
        let (lo, hi) = (b & 0x0F, b >> 4);
        if lo > 9 || hi > 9 { None } else { Some(lo * 10 + hi) }
    }

    /// Year within the century (0..=99); `None` when not BCD.
    #[must_use]
    pub const fn year(&self) -> Option<u8> {
        self.field(0)
    }

    /// Month; `None` when not BCD.
    #[must_use]
    pub const fn month(&self) -> Option<u8> {
        self.field(1)
    }

    /// Day; `None` when not BCD.
    #[must_use]
    pub const fn day(&self) -> Option<u8> {
        self.field(2)
    }

    /// Hour; `None` when not BCD.
    #[must_use]
    pub const fn hour(&self) -> Option<u8> {
        self.field(3)
    }

    /// Minute; `None` when not BCD.
    #[must_use]
    pub const fn minute(&self) -> Option<u8> {
        self.field(4)
    }

    /// Second; `None` when not BCD.
    #[must_use]
    pub const fn second(&self) -> Option<u8> {
        self.field(5)
    }

    /// Time zone in quarter hours east of GMT (negative west); `None` when not BCD.
    #[must_use]
    pub const fn tz_quarters(&self) -> Option<i8> {
        let b = self.0[6];
        let (tens, units) = (b & 0x07, b >> 4);
        if tens > 9 || units > 9 {
            return None;
        }
        let q = (tens * 10 + units) as i8;
        Some(if b & 0x08 != 0 { -q } else { q })
    }
}

const fn swap(v: u8) -> u8 {
    (v / 10) | ((v % 10) << 4)
}

impl fmt::Debug for Scts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scts({})", hex::encode(self.0))
    }
}

impl fmt::Display for Scts {
    /// `yy-mm-dd hh:mm:ss±q` when every field is BCD, else the hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (
            self.year(),
            self.month(),
            self.day(),
            self.hour(),
            self.minute(),
            self.second(),
            self.tz_quarters(),
        ) {
            (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s), Some(tz)) => {
                write!(f, "{y:02}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} {tz:+}q")
            }
            _ => f.write_str(&hex::encode(self.0)),
        }
    }
}

/// TP-Validity-Period of an SMS-SUBMIT (TS 23.040 §9.2.3.12), by TP-VPF (first octet bits 4..3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidityPeriod {
    /// VPF `00`: no field.
    None,
    /// VPF `10`: one octet, relative.
    Relative(u8),
    /// VPF `01`: enhanced format, 7 octets kept raw (TS 23.040 §9.2.3.12.3).
    Enhanced(#[serde(with = "crate::hexser::array")] [u8; 7]),
    /// VPF `11`: absolute, a time stamp.
    Absolute(Scts),
}

impl ValidityPeriod {
    /// The TP-VPF bits as they sit in the first octet (bits 4..3).
    #[must_use]
    pub const fn vpf_bits(&self) -> u8 {
        match self {
            Self::None => 0x00,
            Self::Enhanced(_) => 0x08,
            Self::Relative(_) => 0x10,
            Self::Absolute(_) => 0x18,
        }
    }

    /// Octets the field takes.
    #[must_use]
    pub const fn encoded_len(&self) -> usize {
        match self {
            Self::None => 0,
            Self::Relative(_) => 1,
            Self::Enhanced(_) | Self::Absolute(_) => 7,
        }
    }

    /// The duration of a relative period in minutes (TS 23.040 §9.2.3.12.1): 0–143: (v+1)×5 min;
    /// 144–167: 12 h + (v−143)×30 min; 168–196: (v−166) days; 197–255: (v−192) weeks.
    #[must_use]
    pub const fn relative_minutes(v: u8) -> u32 {
        let v = v as u32;
        match v {
            0..=143 => (v + 1) * 5,
            144..=167 => 12 * 60 + (v - 143) * 30,
            168..=196 => (v - 166) * 24 * 60,
            _ => (v - 192) * 7 * 24 * 60,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_kinds() {
        assert_eq!(Pid(0x7F).kind(), PidKind::SimDataDownload);
        assert_eq!(Pid(0x00).kind(), PidKind::Default);
        assert_eq!(Pid(0x41).kind(), PidKind::ReplaceShortMessage(1));
        assert_eq!(Pid(0x21).kind(), PidKind::TelematicInterworking(1));
        assert_eq!(Pid(0x7D).kind(), PidKind::MeDataDownload);
        assert_eq!(Pid(0xC5).kind(), PidKind::ScSpecific(5));
        assert_eq!(Pid(0x90).kind(), PidKind::Reserved(0x90));
        assert_eq!(Pid(0x50).kind(), PidKind::Reserved(0x50));
    }

    #[test]
    fn dcs_getters() {
        let f6 = Dcs::SIM_SPECIFIC_8BIT;
        assert_eq!(f6.alphabet(), Alphabet::EightBit);
        assert_eq!(f6.message_class(), Some(MessageClass::Class2));
        assert!(!f6.udl_in_septets());
        // 16: general group, 8-bit, class 2 (the equivalent coding).
        assert_eq!(Dcs(0x16).alphabet(), Alphabet::EightBit);
        assert_eq!(Dcs(0x16).message_class(), Some(MessageClass::Class2));
        assert_eq!(Dcs(0x00).alphabet(), Alphabet::Gsm7);
        assert!(Dcs(0x00).udl_in_septets());
        assert_eq!(Dcs(0x00).message_class(), None);
        assert_eq!(Dcs(0x08).alphabet(), Alphabet::Ucs2);
        assert_eq!(Dcs(0xF5).alphabet(), Alphabet::EightBit);
        assert_eq!(Dcs(0xF5).message_class(), Some(MessageClass::Class1));
        assert_eq!(Dcs(0xF0).alphabet(), Alphabet::Gsm7);
        assert!(Dcs(0xF0).udl_in_septets());
        // Compressed GSM 7-bit counts octets.
        assert!(Dcs(0x20).compressed());
        assert!(!Dcs(0x20).udl_in_septets());
        assert!(!Dcs(0x00).compressed());
        assert_eq!(Dcs(0xE0).alphabet(), Alphabet::Ucs2);
        assert_eq!(Dcs(0xC0).alphabet(), Alphabet::Gsm7);
        assert_eq!(Dcs(0x0C).alphabet(), Alphabet::Gsm7, "reserved alphabet reads as GSM 7-bit");
    }

    #[test]
    fn scts_fields() {
        // pySim vectors: 22 70 52 00 00 00 00 = 2022-07-25 00:00:00 +0
        let s = Scts(hex::decode("22705200000000").unwrap().try_into().unwrap());
        assert_eq!((s.year(), s.month(), s.day()), (Some(22), Some(7), Some(25)));
        assert_eq!(s.tz_quarters(), Some(0));
        assert_eq!(s.to_string(), "22-07-25 00:00:00 +0q");
        assert_eq!(Scts::new(22, 7, 25, 0, 0, 0, 0), Some(s));
        // asterix's Gemalto trace: read digit by digit as swapped BCD even though it is no valid date.
        let a = Scts(hex::decode("15112413582204").unwrap().try_into().unwrap());
        assert_eq!(
            (a.year(), a.month(), a.day(), a.hour(), a.minute(), a.second()),
            (Some(51), Some(11), Some(42), Some(31), Some(85), Some(22))
        );
        assert_eq!(a.tz_quarters(), Some(40));
        // Negative zone: -8 quarters (UTC-2) is 0x88.
        let n = Scts::new(24, 1, 2, 3, 4, 5, -8).unwrap();
        assert_eq!(n.0[6], 0x88);
        assert_eq!(n.tz_quarters(), Some(-8));
        assert_eq!(Scts::new(100, 1, 1, 0, 0, 0, 0), None);
        assert_eq!(Scts::new(1, 1, 1, 0, 0, 0, 80), None);
        let bad = Scts([0xFF; 7]);
        assert_eq!(bad.year(), None);
        assert_eq!(bad.to_string(), "ffffffffffffff");
    }

    #[test]
    fn validity_period_durations() {
        assert_eq!(ValidityPeriod::relative_minutes(0), 5);
        assert_eq!(ValidityPeriod::relative_minutes(143), 720);
        assert_eq!(ValidityPeriod::relative_minutes(167), 24 * 60);
        assert_eq!(ValidityPeriod::relative_minutes(168), 2 * 24 * 60);
        assert_eq!(ValidityPeriod::relative_minutes(0xA7), 24 * 60);
        assert_eq!(ValidityPeriod::relative_minutes(255), 63 * 7 * 24 * 60);
        assert_eq!(ValidityPeriod::Relative(0).vpf_bits(), 0x10);
        assert_eq!(ValidityPeriod::Absolute(Scts::default()).encoded_len(), 7);
    }
}

//! Status words SW1 SW2 (ISO/IEC 7816-4 §5.1.3, TS 102 221 §10.2, TS 51.011 §9.4, TS 102 226 §5.2).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};

/// The two status bytes SW1 SW2 that end every response APDU, kept as they are (unknown values included).
///
/// Names cover ISO/IEC 7816-4 §5.1.3, the UICC-specific values of TS 102 221 §10.2.1 and the GSM SIM values
/// of TS 51.011 §9.4; parametrised families (`61xx`, `6Cxx`, `91xx`, `9Fxx`, `63Cx` …) have getters for
/// their parameter. Serialised as four hex digits (`"9000"`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusWord(pub u16);

impl StatusWord {
    /// `9000`: normal ending of the command.
    pub const OK: Self = Self(0x9000);
    /// `6200`: warning, no information given, state of non-volatile memory unchanged.
    pub const WARNING_NO_INFO: Self = Self(0x6200);
    /// `62F1`: TS 102 221 "more data available"; in a TS 102 226 §5.2 expanded response it marks response
    /// data that was truncated, and that processing of the script stopped there.
    pub const MORE_DATA_AVAILABLE: Self = Self(0x62F1);
    /// `6400`: execution error, state of non-volatile memory unchanged.
    pub const EXECUTION_ERROR: Self = Self(0x6400);
    /// `6581`: memory problem.
    pub const MEMORY_PROBLEM: Self = Self(0x6581);
    /// `6700`: wrong length.
    pub const WRONG_LENGTH: Self = Self(0x6700);
    /// `6881`: logical channel not supported.
    pub const LOGICAL_CHANNEL_NOT_SUPPORTED: Self = Self(0x6881);
    /// `6882`: secure messaging not supported.
    pub const SECURE_MESSAGING_NOT_SUPPORTED: Self = Self(0x6882);
    /// `6981`: command incompatible with file structure.
    pub const INCOMPATIBLE_FILE_STRUCTURE: Self = Self(0x6981);
    /// `6982`: security status not satisfied.
    pub const SECURITY_STATUS_NOT_SATISFIED: Self = Self(0x6982);
    /// `6983`: authentication/PIN method blocked.
    pub const AUTHENTICATION_METHOD_BLOCKED: Self = Self(0x6983);
    /// `6984`: referenced data invalidated.
    pub const REFERENCED_DATA_INVALIDATED: Self = Self(0x6984);
    /// `6985`: conditions of use not satisfied.
    pub const CONDITIONS_NOT_SATISFIED: Self = Self(0x6985);
    /// `6986`: command not allowed (no EF selected).
    pub const NO_EF_SELECTED: Self = Self(0x6986);
    /// `6A80`: incorrect parameters in the data field.
    pub const WRONG_DATA: Self = Self(0x6A80);
    /// `6A81`: function not supported.
    pub const FUNCTION_NOT_SUPPORTED: Self = Self(0x6A81);
    /// `6A82`: file or application not found.
    pub const FILE_NOT_FOUND: Self = Self(0x6A82);
    /// `6A83`: record not found.
    pub const RECORD_NOT_FOUND: Self = Self(0x6A83);
    /// `6A84`: not enough memory space in the file.
    pub const NOT_ENOUGH_MEMORY: Self = Self(0x6A84);
    /// `6A86`: incorrect parameters P1 to P2.
    pub const WRONG_P1_P2: Self = Self(0x6A86);
    /// `6A87`: Lc inconsistent with P1 to P2.
    pub const LC_INCONSISTENT_WITH_P1_P2: Self = Self(0x6A87);
    /// `6A88`: referenced data not found.
    pub const REFERENCED_DATA_NOT_FOUND: Self = Self(0x6A88);
    /// `6B00`: wrong parameter(s) P1-P2.
    pub const WRONG_PARAMETERS: Self = Self(0x6B00);
    /// `6D00`: instruction code not supported or invalid.
    pub const INS_NOT_SUPPORTED: Self = Self(0x6D00);
    /// `6E00`: class not supported.
    pub const CLA_NOT_SUPPORTED: Self = Self(0x6E00);
    /// `6F00`: technical problem, no precise diagnosis.
    pub const TECHNICAL_PROBLEM: Self = Self(0x6F00);
    /// `9300`: SIM application toolkit busy (TS 102 221 §10.2.1.1, TS 51.011 §9.4.1).
    pub const TOOLKIT_BUSY: Self = Self(0x9300);

    /// A status word from SW1 and SW2.
    #[must_use]
    pub const fn new(sw1: u8, sw2: u8) -> Self {
        Self(((sw1 as u16) << 8) | sw2 as u16)
    }

    /// SW1.
    #[must_use]
    pub const fn sw1(self) -> u8 {
        (self.0 >> 8) as u8
    }

    /// SW2.
    #[must_use]
    pub const fn sw2(self) -> u8 {
        self.0 as u8
    }

    /// The two bytes as on the wire.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }

    /// SW2 as a count where `00` stands for 256 (as Le does, ISO/IEC 7816-3 §12.2.3).
    const fn count(self) -> usize {
        if self.sw2() == 0 { 256 } else { self.sw2() as usize }
    }

    /// `61xx` (ISO/IEC 7816-4), `9Fxx` (TS 51.011 §9.4.1) and `9Exx` (TS 51.011, after a SIM data download
    /// error): the number of response bytes waiting for GET RESPONSE (`xx = 00` counts as 256).
    #[must_use]
    pub const fn bytes_available(self) -> Option<usize> {
        match self.sw1() {
            0x61 | 0x9F | 0x9E => Some(self.count()),
            _ => None,
        }
    }

    /// `6Cxx`: wrong Le; `xx` is the exact length to ask for (`00` counts as 256).
    #[must_use]
    pub const fn exact_length(self) -> Option<usize> {
        match self.sw1() {
            0x6C => Some(self.count()),
            _ => None,
        }
    }

    /// `91xx` (TS 102 221 §10.2.1.1, TS 51.011 §9.4.1): normal ending, and a proactive command of `xx` bytes
    /// waits to be fetched (`00` counts as 256).
    #[must_use]
    pub const fn proactive_command_pending(self) -> Option<usize> {
        match self.sw1() {
            0x91 => Some(self.count()),
            _ => None,
        }
    }

    /// `63Cx`: verification failed, `x` retries left (ISO/IEC 7816-4, TS 102 221 §10.2.1.3).
    #[must_use]
    pub const fn retries_left(self) -> Option<u8> {
        if self.sw1() == 0x63 && self.sw2() & 0xF0 == 0xC0 { Some(self.sw2() & 0x0F) } else { None }
    }

    /// True for the normal-processing values: `9000`, `61xx`, `91xx` (TS 102 221 §10.2.1.1), `9Fxx` and
    /// `920x` ("successful after x internal retries", TS 51.011 §9.4.1).
    #[must_use]
    pub const fn is_success(self) -> bool {
        matches!(self.sw1(), 0x61 | 0x91 | 0x9F)
            || self.0 == 0x9000
            || (self.sw1() == 0x92 && self.sw2() < 0x10)
    }

    /// True for the warning-processing values `62xx` and `63xx` (ISO/IEC 7816-4 §5.1.3).
    #[must_use]
    pub const fn is_warning(self) -> bool {
        matches!(self.sw1(), 0x62 | 0x63)
    }

    /// True for everything that is neither success nor warning (checking and execution errors).
    #[must_use]
    pub const fn is_error(self) -> bool {
        !self.is_success() && !self.is_warning()
    }

    /// The name of this status word in ISO/IEC 7816-4, TS 102 221 or TS 51.011, if it has one.
    #[must_use]
    pub const fn name(self) -> Option<&'static str> {
        let (sw1, sw2) = (self.sw1(), self.sw2());
        Some(match (sw1, sw2) {
            (0x90, 0x00) => "normal ending of the command",
            (0x61, _) => "normal ending, response bytes still available (GET RESPONSE)",
            (0x91, _) => "normal ending, proactive command pending",
            (0x92, 0x00..=0x0F) => "command successful after internal update retries (TS 51.011)",
            (0x92, 0x40) => "memory problem (TS 51.011)",
            (0x93, 0x00) => "SIM application toolkit busy",
            (0x94, 0x00) => "no EF selected (TS 51.011)",
            (0x94, 0x02) => "out of range, invalid address (TS 51.011)",
            (0x94, 0x04) => "file ID or pattern not found (TS 51.011)",
            (0x94, 0x08) => "file inconsistent with the command (TS 51.011)",
            (0x98, 0x02) => "no CHV initialised (TS 51.011)",
            (0x98, 0x04) => "access condition not fulfilled, or CHV/authentication failed (TS 51.011)",
            (0x98, 0x08) => "in contradiction with CHV status (TS 51.011)",
            (0x98, 0x10) => "in contradiction with invalidation status (TS 51.011)",
            (0x98, 0x40) => "CHV blocked, no attempt left (TS 51.011)",
            (0x98, 0x50) => "INCREASE cannot be performed, maximum value reached (TS 51.011)",
            (0x98, 0x62) => "authentication error, application specific (TS 102 221)",
            (0x98, 0x64) => "authentication error, security context not supported (TS 102 221)",
            (0x98, 0x65) => "key freshness failure (TS 102 221)",
            (0x9E, _) => "SIM data download error, response bytes available (TS 51.011)",
            (0x9F, _) => "normal ending, response bytes available (TS 51.011)",
            (0x62, 0x00) => "warning: no information given, non-volatile memory unchanged",
            (0x62, 0x81) => "warning: part of returned data may be corrupted",
            (0x62, 0x82) => "warning: end of file or record reached before reading Le bytes",
            (0x62, 0x83) => "warning: selected file invalidated",
            (0x62, 0x85) => "warning: selected file in termination state",
            (0x62, 0xF1) => "warning: more data available (TS 102 226: response data truncated)",
            (0x62, 0xF2) => "warning: more data available and proactive command pending",
            (0x62, 0xF3) => "warning: response data available",
            (0x63, 0x00) => "warning: no information given, non-volatile memory changed",
            (0x63, 0x81) => "warning: file filled up by the last write",
            (0x63, 0xC0..=0xCF) => "warning: verification failed, retries left in SW2 low nibble",
            (0x63, 0xF1) => "warning: more data expected",
            (0x63, 0xF2) => "warning: more data expected and proactive command pending",
            (0x64, 0x00) => "execution error: no information given, non-volatile memory unchanged",
            (0x65, 0x00) => "execution error: no information given, non-volatile memory changed",
            (0x65, 0x81) => "execution error: memory problem",
            (0x67, 0x00) => "wrong length",
            (0x67, _) => "incorrect parameter P3 (TS 51.011)",
            (0x68, 0x00) => "functions in CLA not supported",
            (0x68, 0x81) => "logical channel not supported",
            (0x68, 0x82) => "secure messaging not supported",
            (0x69, 0x00) => "command not allowed, no information given",
            (0x69, 0x81) => "command incompatible with file structure",
            (0x69, 0x82) => "security status not satisfied",
            (0x69, 0x83) => "authentication/PIN method blocked",
            (0x69, 0x84) => "referenced data invalidated",
            (0x69, 0x85) => "conditions of use not satisfied",
            (0x69, 0x86) => "command not allowed (no EF selected)",
            (0x69, 0x89) => "command not allowed, secure channel security not satisfied",
            (0x6A, 0x80) => "incorrect parameters in the data field",
            (0x6A, 0x81) => "function not supported",
            (0x6A, 0x82) => "file or application not found",
            (0x6A, 0x83) => "record not found",
            (0x6A, 0x84) => "not enough memory space",
            (0x6A, 0x86) => "incorrect parameters P1 to P2",
            (0x6A, 0x87) => "Lc inconsistent with P1 to P2",
            (0x6A, 0x88) => "referenced data not found",
            (0x6B, 0x00) => "wrong parameter(s) P1-P2",
            (0x6B, _) => "incorrect parameter P1 or P2 (TS 51.011)",
            (0x6C, _) => "wrong length Le, SW2 gives the exact length",
            (0x6D, 0x00) => "instruction code not supported or invalid",
            (0x6D, _) => "unknown instruction code (TS 51.011)",
            (0x6E, 0x00) => "class not supported",
            (0x6E, _) => "wrong instruction class (TS 51.011)",
            (0x6F, 0x00) => "technical problem, no precise diagnosis",
            (0x6F, _) => "technical problem with no diagnostic given (TS 51.011)",
            _ => return None,
        })
    }
}

impl From<[u8; 2]> for StatusWord {
    fn from(b: [u8; 2]) -> Self {
        Self(u16::from_be_bytes(b))
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StatusWord({:04X})", self.0)
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{:04X} ({n})", self.0),
            None => write!(f, "{:04X}", self.0),
        }
    }
}

impl Serialize for StatusWord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:04x}", self.0))
    }
}

impl<'de> Deserialize<'de> for StatusWord {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = crate::hexser::deserialize(d)?;
        <[u8; 2]>::try_from(v.as_slice())
            .map(Self::from)
            .map_err(|_| D::Error::custom("expected two bytes of hex"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_parameters() {
        let sw = StatusWord::new(0x61, 0x1D);
        assert_eq!(sw.bytes_available(), Some(0x1D));
        assert!(sw.is_success());
        assert_eq!(StatusWord(0x6100).bytes_available(), Some(256));
        assert_eq!(StatusWord(0x9F16).bytes_available(), Some(0x16));
        assert_eq!(StatusWord(0x6C10).exact_length(), Some(0x10));
        assert_eq!(StatusWord(0x6C10).bytes_available(), None);
        assert!(StatusWord(0x6C10).is_error());
        assert_eq!(StatusWord(0x910B).proactive_command_pending(), Some(11));
        assert!(StatusWord(0x910B).is_success());
        assert_eq!(StatusWord(0x63C2).retries_left(), Some(2));
        assert_eq!(StatusWord(0x6381).retries_left(), None);
        assert!(StatusWord(0x63C2).is_warning());
        assert!(StatusWord::MORE_DATA_AVAILABLE.is_warning());
        assert!(StatusWord(0x9201).is_success());
        assert!(StatusWord(0x9240).is_error());
        assert!(StatusWord::TOOLKIT_BUSY.is_error());
        assert!(StatusWord(0x9804).is_error());
    }

    #[test]
    fn names() {
        assert_eq!(StatusWord::OK.name(), Some("normal ending of the command"));
        assert_eq!(StatusWord(0x6A82).name(), Some("file or application not found"));
        assert_eq!(StatusWord(0x9300).name(), Some("SIM application toolkit busy"));
        assert_eq!(StatusWord(0x9850).name().map(|n| n.starts_with("INCREASE")), Some(true));
        assert_eq!(StatusWord(0x62F1).name().map(|n| n.contains("truncated")), Some(true));
        assert_eq!(StatusWord(0x1234).name(), None);
        assert_eq!(StatusWord(0x1234).to_string(), "1234");
        assert_eq!(StatusWord(0x6E00).to_string(), "6E00 (class not supported)");
        // Every constant has a name.
        for sw in [
            StatusWord::OK,
            StatusWord::WARNING_NO_INFO,
            StatusWord::MORE_DATA_AVAILABLE,
            StatusWord::EXECUTION_ERROR,
            StatusWord::MEMORY_PROBLEM,
            StatusWord::WRONG_LENGTH,
            StatusWord::LOGICAL_CHANNEL_NOT_SUPPORTED,
            StatusWord::SECURE_MESSAGING_NOT_SUPPORTED,
            StatusWord::INCOMPATIBLE_FILE_STRUCTURE,
            StatusWord::SECURITY_STATUS_NOT_SATISFIED,
            StatusWord::AUTHENTICATION_METHOD_BLOCKED,
            StatusWord::REFERENCED_DATA_INVALIDATED,
            StatusWord::CONDITIONS_NOT_SATISFIED,
            StatusWord::NO_EF_SELECTED,
            StatusWord::WRONG_DATA,
            StatusWord::FUNCTION_NOT_SUPPORTED,
            StatusWord::FILE_NOT_FOUND,
            StatusWord::RECORD_NOT_FOUND,
            StatusWord::NOT_ENOUGH_MEMORY,
            StatusWord::WRONG_P1_P2,
            StatusWord::LC_INCONSISTENT_WITH_P1_P2,
            StatusWord::REFERENCED_DATA_NOT_FOUND,
            StatusWord::WRONG_PARAMETERS,
            StatusWord::INS_NOT_SUPPORTED,
            StatusWord::CLA_NOT_SUPPORTED,
            StatusWord::TECHNICAL_PROBLEM,
            StatusWord::TOOLKIT_BUSY,
        ] {
            assert!(sw.name().is_some(), "{sw:?}");
        }
    }

    #[test]
    fn bytes_and_serde() {
        let sw = StatusWord::from([0x98, 0x04]);
        assert_eq!((sw.sw1(), sw.sw2()), (0x98, 0x04));
        assert_eq!(sw.to_bytes(), [0x98, 0x04]);
        assert_eq!(serde_json::to_string(&sw).unwrap(), "\"9804\"");
        assert_eq!(serde_json::from_str::<StatusWord>("\"6A82\"").unwrap(), StatusWord(0x6A82));
        assert!(serde_json::from_str::<StatusWord>("\"6A\"").is_err());
    }
}

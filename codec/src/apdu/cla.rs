//! The class byte (ISO/IEC 7816-4 §5.4.1, TS 102 221 §10.1.1, TS 51.011 §9.2).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::hex_u8_newtype;

/// The class byte `CLA`, kept exactly as given; its meaning is read through the getters.
///
/// ISO/IEC 7816-4 §5.4.1 (Table 2): `000x xxxx` first interindustry values (b5 command chaining, b4 b3
/// secure messaging, b2 b1 logical channel 0–3), `001x xxxx` reserved, `01xx xxxx` further interindustry
/// values (b6 secure messaging, b5 command chaining, b4–b1 logical channel 4–19), `1xxx xxxx` proprietary and
/// `FF` invalid. TS 102 221 §10.1.1 (Tables 10.3, 10.4a) codes its proprietary classes `8X` like `0X` and
/// `CX`/`EX` like `4X`/`6X`; this type reads every proprietary class of the form `8X`/`9X` and `CX`–`FX` that
/// way (decision: `9X`, `DX`, `FX` are the same pattern with b5 set, which TS 102 221 leaves at 0). `A0` is the
/// class of TS 51.011 (GSM SIM) commands and has no channel or secure-messaging coding.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cla(pub u8);
hex_u8_newtype!(Cla);

/// What kind of class byte a [`Cla`] is (ISO/IEC 7816-4 §5.4.1 Table 2, TS 51.011 §9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaKind {
    /// `00`–`1F`: first interindustry values.
    Interindustry,
    /// `20`–`3F`: reserved for future use.
    Reserved,
    /// `40`–`7F`: further interindustry values (logical channels 4–19).
    FurtherInterindustry,
    /// `A0`: GSM SIM class (TS 51.011 §9.2).
    Gsm,
    /// `80`–`FE` except `A0`: proprietary (TS 102 221 UICC commands `8X`, GlobalPlatform `8X`, …).
    Proprietary,
    /// `FF`: invalid (reserved for PPS, ISO/IEC 7816-3).
    Invalid,
}

/// Secure messaging indication of the class byte (ISO/IEC 7816-4 §5.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecureMessaging {
    /// No secure messaging or no indication.
    None,
    /// Proprietary secure messaging format (first interindustry b4 b3 = 01).
    Proprietary,
    /// Secure messaging per ISO/IEC 7816-4 §6, command header not processed (not authenticated).
    HeaderNotProcessed,
    /// Secure messaging per ISO/IEC 7816-4 §6, command header authenticated (first interindustry only).
    HeaderAuthenticated,
}

/// How the low bits of a class byte are structured.
enum Coding {
    /// Like `0X`/`1X`: b5 chaining, b4 b3 SM, b2 b1 channel.
    First,
    /// Like `4X`–`7X`: b6 SM, b5 chaining, b4–b1 channel − 4.
    Further,
}

impl Cla {
    /// The class for interindustry commands on the basic channel (`00`).
    pub const ISO: Cla = Cla(0x00);
    /// The class of TS 51.011 (GSM SIM) commands (`A0`).
    pub const GSM: Cla = Cla(0xA0);
    /// The class of TS 102 221 UICC proprietary commands such as ENVELOPE and TERMINAL RESPONSE (`80`).
    pub const UICC_PROPRIETARY: Cla = Cla(0x80);

    /// The kind of class byte.
    #[must_use]
    pub const fn kind(self) -> ClaKind {
        match self.0 {
            0x00..=0x1F => ClaKind::Interindustry,
            0x20..=0x3F => ClaKind::Reserved,
            0x40..=0x7F => ClaKind::FurtherInterindustry,
            0xA0 => ClaKind::Gsm,
            0xFF => ClaKind::Invalid,
            _ => ClaKind::Proprietary,
        }
    }

    /// True for `A0`, the TS 51.011 GSM class.
    #[must_use]
    pub const fn is_gsm(self) -> bool {
        self.0 == 0xA0
    }

    const fn coding(self) -> Option<Coding> {
        match self.0 {
            0x00..=0x1F | 0x80..=0x9F => Some(Coding::First),
            0x40..=0x7F | 0xC0..=0xFE => Some(Coding::Further),
            _ => None,
        }
    }

    /// The logical channel the class addresses (0–3 for first-interindustry coding, 4–19 for further), or
    /// `None` where the class has no channel coding (`20`–`3F`, `A0`–`BF`, `FF`).
    #[must_use]
    pub const fn logical_channel(self) -> Option<u8> {
        match self.coding() {
            Some(Coding::First) => Some(self.0 & 0x03),
            Some(Coding::Further) => Some(4 + (self.0 & 0x0F)),
            None => None,
        }
    }

    /// The secure messaging indication, or `None` where the class has no such coding.
    #[must_use]
    pub const fn secure_messaging(self) -> Option<SecureMessaging> {
        match self.coding() {
            Some(Coding::First) => Some(match (self.0 >> 2) & 0x03 {
                0 => SecureMessaging::None,
                1 => SecureMessaging::Proprietary,
                2 => SecureMessaging::HeaderNotProcessed,
                _ => SecureMessaging::HeaderAuthenticated,
            }),
            Some(Coding::Further) => Some(if self.0 & 0x20 != 0 {
                SecureMessaging::HeaderNotProcessed
            } else {
                SecureMessaging::None
            }),
            None => None,
        }
    }

    /// The command chaining bit b5 ("not the last command of a chain"), or `None` where the class has no
    /// such coding.
    #[must_use]
    pub const fn command_chaining(self) -> Option<bool> {
        match self.coding() {
            Some(_) => Some(self.0 & 0x10 != 0),
            None => None,
        }
    }

    /// This class with its logical channel replaced by `channel`, keeping the other bits; `None` when the
    /// class has no channel coding or the channel does not fit it (0–3 first interindustry, 4–19 further).
    /// A first-interindustry class cannot address channels above 3 (the caller must switch to `4X`).
    #[must_use]
    pub const fn with_logical_channel(self, channel: u8) -> Option<Cla> {
        match self.coding() {
            Some(Coding::First) if channel <= 3 => Some(Cla((self.0 & !0x03) | channel)),
            Some(Coding::Further) if channel >= 4 && channel <= 19 => {
                Some(Cla((self.0 & !0x0F) | (channel - 4)))
            }
            _ => None,
        }
    }
}

impl fmt::Debug for Cla {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cla({:02X})", self.0)
    }
}

impl fmt::Display for Cla {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(Cla(0x00).kind(), ClaKind::Interindustry);
        assert_eq!(Cla(0x2F).kind(), ClaKind::Reserved);
        assert_eq!(Cla(0x41).kind(), ClaKind::FurtherInterindustry);
        assert_eq!(Cla(0xA0).kind(), ClaKind::Gsm);
        assert!(Cla::GSM.is_gsm());
        assert_eq!(Cla(0x80).kind(), ClaKind::Proprietary);
        assert_eq!(Cla(0x94).kind(), ClaKind::Proprietary);
        assert_eq!(Cla(0xFF).kind(), ClaKind::Invalid);
    }

    #[test]
    fn channels_and_secure_messaging() {
        // 0X: b2 b1 channel, b4 b3 SM (ISO/IEC 7816-4 Table 2, TS 102 221 Table 10.3).
        assert_eq!(Cla(0x03).logical_channel(), Some(3));
        assert_eq!(Cla(0x0C).secure_messaging(), Some(SecureMessaging::HeaderAuthenticated));
        assert_eq!(Cla(0x08).secure_messaging(), Some(SecureMessaging::HeaderNotProcessed));
        assert_eq!(Cla(0x04).secure_messaging(), Some(SecureMessaging::Proprietary));
        assert_eq!(Cla(0x10).command_chaining(), Some(true));
        // 8X like 0X: GlobalPlatform 84 = SM, channel 0.
        assert_eq!(Cla(0x84).secure_messaging(), Some(SecureMessaging::Proprietary));
        assert_eq!(Cla(0x81).logical_channel(), Some(1));
        // 4X: channels 4..19, b6 SM (TS 102 221 Table 10.4a).
        assert_eq!(Cla(0x40).logical_channel(), Some(4));
        assert_eq!(Cla(0x4F).logical_channel(), Some(19));
        assert_eq!(Cla(0x60).secure_messaging(), Some(SecureMessaging::HeaderNotProcessed));
        assert_eq!(Cla(0xC5).logical_channel(), Some(9));
        assert_eq!(Cla(0xE0).secure_messaging(), Some(SecureMessaging::HeaderNotProcessed));
        // No coding for A0, reserved and invalid classes.
        for c in [0xA0u8, 0x20, 0xFF, 0xB3] {
            assert_eq!(Cla(c).logical_channel(), None, "{c:02X}");
            assert_eq!(Cla(c).secure_messaging(), None);
            assert_eq!(Cla(c).command_chaining(), None);
        }
    }

    #[test]
    fn replacing_the_channel() {
        assert_eq!(Cla(0x00).with_logical_channel(2), Some(Cla(0x02)));
        assert_eq!(Cla(0x0C).with_logical_channel(1), Some(Cla(0x0D)));
        assert_eq!(Cla(0x00).with_logical_channel(4), None);
        assert_eq!(Cla(0x40).with_logical_channel(19), Some(Cla(0x4F)));
        assert_eq!(Cla(0x40).with_logical_channel(3), None);
        assert_eq!(Cla(0xA0).with_logical_channel(0), None);
    }

    #[test]
    fn serde_as_hex() {
        assert_eq!(serde_json::to_string(&Cla(0xA0)).unwrap(), "\"a0\"");
        assert_eq!(serde_json::from_str::<Cla>("\"80\"").unwrap(), Cla(0x80));
        assert!(serde_json::from_str::<Cla>("\"8000\"").is_err());
    }
}

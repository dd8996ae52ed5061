//! Small fixed fields of a secured packet: the Toolkit Application Reference [`Tar`], the replay counter
//! [`Cntr`] and the Proof-of-Receipt status code [`PorStatus`] (TS 102 225 §5.1.4, §5.1.5, §5.1.7 Table 5;
//! TS 31.115 §7 for `0B`/`0C`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Toolkit Application Reference, 3 octets (TS 102 225 §5.1.4; values in TS 101 220 Annex D, e.g.
/// `B0 00 10` RFM SIM, `00 00 00` the issuer security domain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct Tar(#[serde(with = "crate::hexser::array")] pub [u8; 3]);

impl Tar {
    /// The three octets.
    #[must_use]
    pub const fn bytes(&self) -> [u8; 3] {
        self.0
    }
}

impl fmt::Display for Tar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X}{:02X}{:02X}", self.0[0], self.0[1], self.0[2])
    }
}

/// The counter CNTR, 5 octets big-endian (TS 102 225 §5.1.5), so values 0..=2^40−1.
///
/// The all-ones value is the blocked state: a receiving entity whose counter reached it refuses every
/// further packet with [`PorStatus::CntrBlocked`]; [`Cntr::next`] therefore never wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct Cntr(#[serde(with = "crate::hexser::array")] pub [u8; 5]);

impl Cntr {
    /// The largest counter value, `FF FF FF FF FF`.
    pub const MAX: Cntr = Cntr([0xFF; 5]);

    /// The counter for `v`; `None` when `v` needs more than 40 bits.
    #[must_use]
    pub const fn from_u64(v: u64) -> Option<Self> {
        if v > 0xFF_FFFF_FFFF {
            return None;
        }
        let b = v.to_be_bytes();
        Some(Self([b[3], b[4], b[5], b[6], b[7]]))
    }

    /// The counter as an integer.
    #[must_use]
    pub const fn to_u64(&self) -> u64 {
        let b = self.0;
        u64::from_be_bytes([0, 0, 0, b[0], b[1], b[2], b[3], b[4]])
    }

    /// The next value, `None` at [`Cntr::MAX`] (counters never wrap).
    #[must_use]
    pub const fn next(&self) -> Option<Self> {
        Self::from_u64(self.to_u64() + 1)
    }

    /// True at [`Cntr::MAX`], the blocked state.
    #[must_use]
    pub const fn is_blocked(&self) -> bool {
        self.to_u64() == 0xFF_FFFF_FFFF
    }
}

impl From<[u8; 5]> for Cntr {
    fn from(b: [u8; 5]) -> Self {
        Self(b)
    }
}

impl fmt::Display for Cntr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

/// The PoR status code (TS 102 225 §5.1.7 Table 5; `0B` and `0C` from TS 31.115 §7).
///
/// Unknown codes are kept in [`PorStatus::Unknown`]; [`PorStatus::from_u8`] never produces `Unknown` for
/// a named code, and deserialising normalises `{"unknown": 1}` to the named variant so JSON round trips are
/// stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", from = "PorStatusRepr")]
pub enum PorStatus {
    /// `00` PoR OK.
    Ok,
    /// `01` RC/CC/DS failed.
    RcCcDsFailed,
    /// `02` CNTR low.
    CntrLow,
    /// `03` CNTR high.
    CntrHigh,
    /// `04` CNTR blocked.
    CntrBlocked,
    /// `05` ciphering error.
    CipheringError,
    /// `06` unidentified security error (also the answer of real cards to a replayed counter).
    UnidentifiedSecurityError,
    /// `07` insufficient memory to process the incoming message.
    InsufficientMemory,
    /// `08` more time needed (the full PoR follows later).
    MoreTime,
    /// `09` TAR unknown.
    TarUnknown,
    /// `0A` insufficient security level (SPI below the application's MSL).
    InsufficientSecurityLevel,
    /// `0B` (TS 31.115) actual response data will be sent using SMS-SUBMIT.
    ResponseBySmsSubmit,
    /// `0C` (TS 31.115) actual response data will be sent using a USSD ProcessUnstructuredSS-Request.
    ResponseByUssd,
    /// Any other code, kept.
    Unknown(u8),
}

/// Deserialisation shadow of [`PorStatus`] (normalises `Unknown` of a named code).
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum PorStatusRepr {
    Ok,
    RcCcDsFailed,
    CntrLow,
    CntrHigh,
    CntrBlocked,
    CipheringError,
    UnidentifiedSecurityError,
    InsufficientMemory,
    MoreTime,
    TarUnknown,
    InsufficientSecurityLevel,
    ResponseBySmsSubmit,
    ResponseByUssd,
    Unknown(u8),
}

impl From<PorStatusRepr> for PorStatus {
    fn from(r: PorStatusRepr) -> Self {
        use PorStatusRepr as R;
        Self::from_u8(match r {
            R::Ok => 0,
            R::RcCcDsFailed => 1,
            R::CntrLow => 2,
            R::CntrHigh => 3,
            R::CntrBlocked => 4,
            R::CipheringError => 5,
            R::UnidentifiedSecurityError => 6,
            R::InsufficientMemory => 7,
            R::MoreTime => 8,
            R::TarUnknown => 9,
            R::InsufficientSecurityLevel => 10,
            R::ResponseBySmsSubmit => 11,
            R::ResponseByUssd => 12,
            R::Unknown(c) => c,
        })
    }
}

impl PorStatus {
    /// The status for a code.
    #[must_use]
    pub const fn from_u8(c: u8) -> Self {
        match c {
            0x00 => Self::Ok,
            0x01 => Self::RcCcDsFailed,
            0x02 => Self::CntrLow,
            0x03 => Self::CntrHigh,
            0x04 => Self::CntrBlocked,
            0x05 => Self::CipheringError,
            0x06 => Self::UnidentifiedSecurityError,
            0x07 => Self::InsufficientMemory,
            0x08 => Self::MoreTime,
            0x09 => Self::TarUnknown,
            0x0A => Self::InsufficientSecurityLevel,
            0x0B => Self::ResponseBySmsSubmit,
            0x0C => Self::ResponseByUssd,
            c => Self::Unknown(c),
        }
    }

    /// The code.
    #[must_use]
    pub const fn code(&self) -> u8 {
        match self {
            Self::Ok => 0x00,
            Self::RcCcDsFailed => 0x01,
            Self::CntrLow => 0x02,
            Self::CntrHigh => 0x03,
            Self::CntrBlocked => 0x04,
            Self::CipheringError => 0x05,
            Self::UnidentifiedSecurityError => 0x06,
            Self::InsufficientMemory => 0x07,
            Self::MoreTime => 0x08,
            Self::TarUnknown => 0x09,
            Self::InsufficientSecurityLevel => 0x0A,
            Self::ResponseBySmsSubmit => 0x0B,
            Self::ResponseByUssd => 0x0C,
            Self::Unknown(c) => *c,
        }
    }

    /// The name used in the specification's table.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Ok => "PoR OK",
            Self::RcCcDsFailed => "RC/CC/DS failed",
            Self::CntrLow => "CNTR low",
            Self::CntrHigh => "CNTR high",
            Self::CntrBlocked => "CNTR blocked",
            Self::CipheringError => "Ciphering error",
            Self::UnidentifiedSecurityError => "Unidentified security error",
            Self::InsufficientMemory => "Insufficient memory to process incoming message",
            Self::MoreTime => "More time needed",
            Self::TarUnknown => "TAR unknown",
            Self::InsufficientSecurityLevel => "Insufficient security level",
            Self::ResponseBySmsSubmit => "Actual response data to be sent using SMS-SUBMIT",
            Self::ResponseByUssd => "Actual response data to be sent using USSD",
            Self::Unknown(_) => "unknown status",
        }
    }
}

impl fmt::Display for PorStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X} ({})", self.code(), self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cntr_conversions() {
        assert_eq!(Cntr::from_u64(100).unwrap().0, [0, 0, 0, 0, 0x64]);
        assert_eq!(Cntr([0, 0, 0, 0, 0x76]).to_u64(), 0x76);
        assert_eq!(Cntr::from_u64(0x01_0203_0405).unwrap().0, [1, 2, 3, 4, 5]);
        assert_eq!(Cntr::from_u64(1 << 40), None);
        assert_eq!(Cntr::from_u64((1 << 40) - 1), Some(Cntr::MAX));
        assert!(Cntr::MAX.is_blocked());
        assert_eq!(Cntr::MAX.next(), None);
        assert_eq!(Cntr([0, 0, 0, 0, 0xFF]).next(), Some(Cntr([0, 0, 0, 1, 0])));
        assert_eq!(Cntr::from_u64(0x42).unwrap().to_string(), "0000000042");
    }

    #[test]
    fn por_status_codes() {
        for c in 0..=255u8 {
            let s = PorStatus::from_u8(c);
            assert_eq!(s.code(), c);
            assert_eq!(matches!(s, PorStatus::Unknown(_)), c > 0x0C);
            let j = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<PorStatus>(&j).unwrap(), s);
        }
        assert_eq!(PorStatus::from_u8(6), PorStatus::UnidentifiedSecurityError);
        assert_eq!(PorStatus::from_u8(0x0A).to_string(), "0A (Insufficient security level)");
        assert_eq!(serde_json::to_string(&PorStatus::CntrLow).unwrap(), "\"cntr_low\"");
        // A hand-written Unknown of a named code is normalised.
        assert_eq!(serde_json::from_str::<PorStatus>("{\"unknown\":2}").unwrap(), PorStatus::CntrLow);
        assert_eq!(serde_json::to_string(&Tar([0xB0, 0, 0x10])).unwrap(), "\"b00010\"");
    }
}

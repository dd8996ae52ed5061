//! The PINs of the simulated UICC (TS 102 221 §9.5, VERIFY PIN §11.1.9, UNBLOCK PIN §11.1.13; the CHVs of
//! TS 51.011 §9.2.9 / §9.2.12 in the 2G view).
//!
//! - [`Pin`]: an 8-byte secret (digits in ASCII padded with `FF`, TS 102 221 §9.5.2), its attempt limit and
//!   the attempts left; compared in constant time, zeroized on drop, redacted in `Debug`.
//! - [`Pins`]: PIN1 (key reference `01`) with its unblock key PUK1, and ADM1 (key reference `0A`); plus the
//!   volatile "verified" flags of the current card session.
//!
//! Decision (2G view): TS 51.011 numbers CHV1 with P2 `01`; administrative codes are proprietary there, and
//! this card takes ADM1 with P2 `0A` in both classes.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// Length of a PIN value (TS 102 221 §9.5.2).
pub const PIN_LEN: usize = 8;

/// Key reference of PIN1 (TS 102 221 Table 9.3; CHV1 in TS 51.011).
pub const KEY_REF_PIN1: u8 = 0x01;
/// Key reference of ADM1 (TS 102 221 Table 9.3).
pub const KEY_REF_ADM1: u8 = 0x0A;

/// One PIN or unblock key.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin {
    value: [u8; PIN_LEN],
    /// Attempts allowed after a successful presentation (1..=15).
    pub max: u8,
    /// Attempts left (0 = blocked).
    pub left: u8,
}

impl Drop for Pin {
    fn drop(&mut self) {
        self.value.zeroize();
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pin")
            .field("value", &"<redacted>")
            .field("max", &self.max)
            .field("left", &self.left)
            .finish()
    }
}

/// Why a PIN value could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PinError {
    /// Not 4..=8 decimal digits (for a digit PIN) or not 8 bytes (for a hex value).
    #[error("a PIN is 4 to 8 decimal digits, or 8 bytes in hex")]
    Format,
    /// An attempt limit outside 1..=15 (the 2G status byte has four bits for it).
    #[error("attempt limits are 1..=15")]
    Attempts,
}

impl Pin {
    /// A PIN from its 8-byte value, with `max` attempts of which `left` remain.
    ///
    /// # Errors
    /// [`PinError::Attempts`] when `max` is outside 1..=15 or `left` above `max`.
    pub fn new(value: [u8; PIN_LEN], max: u8, left: u8) -> Result<Self, PinError> {
        if !(1..=15).contains(&max) || left > max {
            return Err(PinError::Attempts);
        }
        Ok(Self { value, max, left })
    }

    /// The 8-byte value of a digit PIN: ASCII digits padded with `FF` (TS 102 221 §9.5.2).
    ///
    /// # Errors
    /// [`PinError::Format`] unless 4..=8 decimal digits.
    pub fn value_from_digits(digits: &str) -> Result<[u8; PIN_LEN], PinError> {
        if !(4..=PIN_LEN).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PinError::Format);
        }
        let mut v = [0xFF; PIN_LEN];
        v[..digits.len()].copy_from_slice(digits.as_bytes());
        Ok(v)
    }

    /// The digits when the value is 4..=8 ASCII digits padded with `FF`, else `None`.
    #[must_use]
    pub fn digits(&self) -> Option<String> {
        let n = self.value.iter().position(|&b| b == 0xFF).unwrap_or(PIN_LEN);
        let (d, pad) = self.value.split_at(n);
        (n >= 4 && d.iter().all(u8::is_ascii_digit) && pad.iter().all(|&b| b == 0xFF))
            .then(|| d.iter().map(|&b| char::from(b)).collect())
    }

    /// The raw value (for the card file).
    #[must_use]
    pub const fn expose_value(&self) -> &[u8; PIN_LEN] {
        &self.value
    }

    /// True when no attempt is left.
    #[must_use]
    pub const fn blocked(&self) -> bool {
        self.left == 0
    }

    /// Presents `candidate`: resets the counter on a match, spends an attempt otherwise. A blocked PIN
    /// refuses every candidate without spending anything.
    pub fn present(&mut self, candidate: &[u8]) -> Presentation {
        if self.blocked() {
            return Presentation::Blocked;
        }
        if bool::from(self.value.as_slice().ct_eq(candidate)) {
            self.left = self.max;
            Presentation::Ok
        } else {
            self.left = self.left.saturating_sub(1);
            Presentation::Wrong { left: self.left }
        }
    }

    /// Replaces the value and resets the counter.
    pub fn replace(&mut self, value: [u8; PIN_LEN]) {
        self.value = value;
        self.left = self.max;
    }
}

/// The result of presenting a PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presentation {
    /// It matched.
    Ok,
    /// It did not match; `left` attempts remain (0: now blocked).
    Wrong {
        /// Attempts left.
        left: u8,
    },
    /// Blocked before this attempt.
    Blocked,
}

/// The card's PINs and their session state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pins {
    /// PIN1 (application PIN of the USIM, CHV1 of the SIM).
    pub pin1: Pin,
    /// PIN1 verification required (TS 102 221 §9.5.1: "PIN enabled").
    pub pin1_enabled: bool,
    /// The unblock key of PIN1.
    pub puk1: Pin,
    /// ADM1.
    pub adm1: Pin,
    /// PIN1 verified in this session.
    pub pin1_verified: bool,
    /// ADM1 verified in this session.
    pub adm1_verified: bool,
}

impl Pins {
    /// New PINs, none verified.
    #[must_use]
    pub const fn new(pin1: Pin, pin1_enabled: bool, puk1: Pin, adm1: Pin) -> Self {
        Self { pin1, pin1_enabled, puk1, adm1, pin1_verified: false, adm1_verified: false }
    }

    /// Clears the session flags (card reset, TS 102 221 §9.5).
    pub fn reset_session(&mut self) {
        self.pin1_verified = false;
        self.adm1_verified = false;
    }

    /// True when PIN1 conditions are met (verified, or verification disabled).
    #[must_use]
    pub const fn pin1_ok(&self) -> bool {
        self.pin1_verified || !self.pin1_enabled
    }

    /// The PIN and its session flag for a key reference.
    pub fn by_ref(&mut self, key_ref: u8) -> Option<(&mut Pin, &mut bool)> {
        match key_ref {
            KEY_REF_PIN1 => Some((&mut self.pin1, &mut self.pin1_verified)),
            KEY_REF_ADM1 => Some((&mut self.adm1, &mut self.adm1_verified)),
            _ => None,
        }
    }

    /// What the FCP and GSM responses show.
    #[must_use]
    pub const fn summary(&self) -> super::fs::PinSummary {
        super::fs::PinSummary {
            pin1_enabled: self.pin1_enabled,
            pin1_left: self.pin1.left,
            puk1_left: self.puk1.left,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_round_trip_and_counting() {
        let v = Pin::value_from_digits("1234").unwrap();
        assert_eq!(v, [0x31, 0x32, 0x33, 0x34, 0xFF, 0xFF, 0xFF, 0xFF]);
        let mut p = Pin::new(v, 3, 3).unwrap();
        assert_eq!(p.digits().as_deref(), Some("1234"));
        assert_eq!(p.present(&[0x31; 8]), Presentation::Wrong { left: 2 });
        assert_eq!(p.present(&v), Presentation::Ok);
        assert_eq!(p.left, 3);
        for left in [2, 1, 0] {
            assert_eq!(p.present(b"0000\xFF\xFF\xFF\xFF"), Presentation::Wrong { left });
        }
        assert_eq!(p.present(&v), Presentation::Blocked, "blocked even with the right value");
        assert!(format!("{p:?}").contains("redacted"));
        assert!(Pin::value_from_digits("123").is_err());
        assert!(Pin::value_from_digits("12a4").is_err());
        assert!(Pin::new(v, 16, 1).is_err());
        assert!(Pin::new(v, 3, 4).is_err());
        assert_eq!(Pin::new([0x38; 8], 3, 3).unwrap().digits().as_deref(), Some("88888888"));
        assert_eq!(Pin::new([0x01; 8], 3, 3).unwrap().digits(), None);
    }
}

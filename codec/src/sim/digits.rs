//! Checked decimal identities: [`Imsi`] and [`Iccid`], and the error of every digit-string builder.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a digit string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigitsError {
    /// A character outside the allowed alphabet.
    #[error("invalid digit {found:?} at position {position}")]
    InvalidDigit {
        /// The character.
        found: char,
        /// Its position (0-based).
        position: usize,
    },
    /// Too few or too many digits.
    #[error("{len} digit(s), expected {min}..={max}")]
    Length {
        /// Digits given.
        len: usize,
        /// Fewest allowed.
        min: usize,
        /// Most allowed.
        max: usize,
    },
}

/// Checks that `s` is `min..=max` decimal digits.
pub(crate) fn check_decimal(s: &str, min: usize, max: usize) -> Result<(), DigitsError> {
    if let Some((position, found)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        return Err(DigitsError::InvalidDigit { found, position });
    }
    if !(min..=max).contains(&s.len()) {
        return Err(DigitsError::Length { len: s.len(), min, max });
    }
    Ok(())
}

/// An IMSI: up to 15 decimal digits, MCC (3) + MNC (2 or 3) + MSIN (TS 23.003 §2.2).
///
/// Any count from 0 to 15 is accepted, because EF_IMSI can hold shorter strings (a blank file, test
/// identities); [`Imsi::mcc`] needs at least 3 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Imsi(String);

impl Imsi {
    /// Checks and wraps `digits`.
    ///
    /// # Errors
    /// A non-digit character or more than 15 digits.
    pub fn new(digits: &str) -> Result<Self, DigitsError> {
        check_decimal(digits, 0, 15)?;
        Ok(Self(digits.to_owned()))
    }

    /// The digits.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The mobile country code (first 3 digits), if there are that many.
    #[must_use]
    pub fn mcc(&self) -> Option<&str> {
        self.0.get(..3)
    }

    /// The mobile network code, given its length (2 or 3, from EF_AD; see [`super::EfAd::mnc_length`]).
    #[must_use]
    pub fn mnc(&self, mnc_len: usize) -> Option<&str> {
        if !(2..=3).contains(&mnc_len) {
            return None;
        }
        self.0.get(3..3 + mnc_len)
    }
}

impl TryFrom<String> for Imsi {
    type Error = DigitsError;
    fn try_from(s: String) -> Result<Self, DigitsError> {
        Self::new(&s)
    }
}

impl From<Imsi> for String {
    fn from(i: Imsi) -> String {
        i.0
    }
}

impl fmt::Display for Imsi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ICCID: up to 20 decimal digits (ITU-T E.118), the last one usually a Luhn check digit.
///
/// Zero digits are accepted (a blank EF_ICCID of `FF`s).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Iccid(String);

impl Iccid {
    /// Checks and wraps `digits`.
    ///
    /// # Errors
    /// A non-digit character or more than 20 digits.
    pub fn new(digits: &str) -> Result<Self, DigitsError> {
        check_decimal(digits, 0, 20)?;
        Ok(Self(digits.to_owned()))
    }

    /// The digits.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the last digit is the Luhn check digit of the others (ITU-T E.118 §4.5).
    #[must_use]
    pub fn luhn_valid(&self) -> bool {
        let mut sum = 0u32;
        for (i, c) in self.0.bytes().rev().enumerate() {
            let mut d = u32::from(c - b'0');
            if i % 2 == 1 {
                d *= 2;
                if d > 9 {
                    d -= 9;
                }
            }
            sum += d;
        }
        !self.0.is_empty() && sum.is_multiple_of(10)
    }
}

impl TryFrom<String> for Iccid {
    type Error = DigitsError;
    fn try_from(s: String) -> Result<Self, DigitsError> {
        Self::new(&s)
    }
}

impl From<Iccid> for String {
    fn from(i: Iccid) -> String {
        i.0
    }
}

impl fmt::Display for Iccid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imsi_parts() {
        let i = Imsi::new("001010123456789").unwrap();
        assert_eq!(i.mcc(), Some("001"));
        assert_eq!(i.mnc(2), Some("01"));
        assert_eq!(i.mnc(3), Some("010"));
        assert_eq!(i.mnc(4), None);
        assert_eq!(Imsi::new("0010101234567890"), Err(DigitsError::Length { len: 16, min: 0, max: 15 }));
        assert_eq!(Imsi::new("00101x"), Err(DigitsError::InvalidDigit { found: 'x', position: 5 }));
        assert!(serde_json::from_str::<Imsi>("\"12a\"").is_err());
        assert_eq!(serde_json::to_string(&i).unwrap(), "\"001010123456789\"");
    }

    #[test]
    fn iccid_luhn() {
        assert!(Iccid::new("8988211000000467285").unwrap().luhn_valid());
        assert!(!Iccid::new("8988211000000467284").unwrap().luhn_valid());
        assert!(Iccid::new("79927398713").unwrap().luhn_valid());
        assert!(!Iccid::new("").unwrap().luhn_valid());
        assert!(Iccid::new("123456789012345678901").is_err());
    }
}

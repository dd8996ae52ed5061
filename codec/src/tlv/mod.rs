//! Tag-length-value codings of the smart-card world.
//!
//! - [`ber`]: BER-TLV as profiled by ISO/IEC 7816-4 and TS 101 220 §7.1.2 (multi-byte tags, 1–5 byte lengths,
//!   the indefinite form of TS 102 226 expanded scripts).
//! - [`comprehension`]: COMPREHENSION-TLV of TS 101 220 §7.1.1 (CAT simple TLVs with the CR bit).
//!
//! Both keep the exact length encoding they were read with ([`LenForm`]), so that non-minimal lengths such as
//! `81 05` survive a decode → encode round trip.

pub mod ber;
pub mod comprehension;

use serde::{Deserialize, Serialize};

use crate::error::{DecodeErrorKind, DecodeResult};
use crate::reader::Reader;

/// How a definite length is written (ISO/IEC 8825-1 §8.1.3, TS 101 220 §7.1.2).
///
/// [`LenForm::Minimal`] is what builders use and what the decoder records when the bytes on the wire are
/// the minimal encoding; [`LenForm::Long`] records a non-minimal long form (`81 05`, `82 00 10`) so it is
/// written back unchanged. If a stored long form cannot hold the current value length (the value was
/// edited), the encoder falls back to the minimal form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LenForm {
    /// Short form below 128, otherwise `81`/`82`/`83`/`84` with the fewest octets.
    #[default]
    Minimal,
    /// Long form with this many subsequent length octets (1..=4), even where fewer would do.
    Long(u8),
    /// BER indefinite form `80 … 00 00` (constructed BER-TLVs only).
    Indefinite,
}

/// Number of subsequent octets the minimal long form needs for `len` (0 = short form).
#[must_use]
pub const fn minimal_len_octets(len: usize) -> u8 {
    if len < 0x80 {
        0
    } else if len <= 0xFF {
        1
    } else if len <= 0xFFFF {
        2
    } else if len <= 0xFF_FFFF {
        3
    } else {
        4
    }
}

/// Writes the definite length `len` in `form` (see [`LenForm`] for the fallback rule). `Indefinite` writes
/// `80`; the caller appends the end-of-contents octets.
pub fn write_len(out: &mut Vec<u8>, len: usize, form: LenForm) {
    let octets = match form {
        LenForm::Indefinite => {
            out.push(0x80);
            return;
        }
        LenForm::Long(n) if (1..=4).contains(&n) && minimal_len_octets(len).max(1) <= n => n,
        _ => minimal_len_octets(len),
    };
    if octets == 0 {
        // Truncation impossible: len < 0x80 here.
        out.push(len as u8);
    } else {
        out.push(0x80 | octets);
        let be = (len as u64).to_be_bytes();
        out.extend_from_slice(&be[8 - octets as usize..]);
    }
}

/// Writes a definite length in `form` in front of the bytes `body` appends, without a temporary buffer:
/// a one-octet placeholder is written first and widened in place when the body turns out to need a long form.
/// `Indefinite` is written as the minimal definite form (callers that keep indefinite forms write `80` and the
/// end-of-contents themselves).
pub fn write_len_prefixed(out: &mut Vec<u8>, form: LenForm, body: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.push(0);
    body(out);
    let len = out.len() - at - 1;
    let form = if form == LenForm::Indefinite { LenForm::Minimal } else { form };
    let mut buf = [0u8; 5];
    let n = len_size(len, form);
    let octets = n - 1;
    if octets == 0 {
        // Short form: len < 0x80.
        buf[0] = len as u8;
    } else {
        buf[0] = 0x80 | octets as u8;
        let be = (len as u64).to_be_bytes();
        buf[1..n].copy_from_slice(&be[8 - octets..]);
    }
    if n == 1 {
        out[at] = buf[0];
    } else {
        out.splice(at..=at, buf[..n].iter().copied());
    }
}

/// Encoded size of a length written in `form`.
#[must_use]
pub fn len_size(len: usize, form: LenForm) -> usize {
    match form {
        LenForm::Indefinite => 1,
        LenForm::Long(n) if (1..=4).contains(&n) && minimal_len_octets(len).max(1) <= n => 1 + n as usize,
        _ => 1 + minimal_len_octets(len) as usize,
    }
}

/// A length as read from the wire: definite with its value, or indefinite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadLen {
    /// Definite length and the form it was written in.
    Definite(usize, LenForm),
    /// `80`: indefinite.
    Indefinite,
}

/// Reads a BER length (`00`–`7F`, `81`–`84` + octets, or `80` when `allow_indefinite`), recording its form.
/// Lengths above `max_octets` subsequent octets are refused.
///
/// # Errors
/// Truncation, `80` where indefinite is not allowed, or a long form with more than `max_octets` octets.
#[inline]
pub fn read_len(
    r: &mut Reader<'_>,
    what: &'static str,
    max_octets: u8,
    allow_indefinite: bool,
) -> DecodeResult<ReadLen> {
    let start = r.offset();
    let first = r.u8(what)?;
    if first < 0x80 {
        return Ok(ReadLen::Definite(first as usize, LenForm::Minimal));
    }
    if first == 0x80 {
        return if allow_indefinite {
            Ok(ReadLen::Indefinite)
        } else {
            Err(crate::DecodeError::invalid(what, "indefinite length not allowed here", start))
        };
    }
    let n = first & 0x7F;
    if n > max_octets {
        return Err(crate::DecodeError::invalid(what, "too many length octets", start));
    }
    let mut len: u64 = 0;
    for _ in 0..n {
        len = (len << 8) | u64::from(r.u8(what)?);
    }
    let len = usize::try_from(len)
        .map_err(|_| r.error(DecodeErrorKind::Invalid { what, reason: "length too large" }))?;
    let form = if minimal_len_octets(len) == n { LenForm::Minimal } else { LenForm::Long(n) };
    Ok(ReadLen::Definite(len, form))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(len: usize, form: LenForm) -> Vec<u8> {
        let mut v = Vec::new();
        write_len(&mut v, len, form);
        assert_eq!(v.len(), len_size(len, form));
        v
    }

    #[test]
    fn length_forms() {
        assert_eq!(enc(5, LenForm::Minimal), [0x05]);
        assert_eq!(enc(0x7F, LenForm::Minimal), [0x7F]);
        assert_eq!(enc(0x80, LenForm::Minimal), [0x81, 0x80]);
        assert_eq!(enc(0x100, LenForm::Minimal), [0x82, 0x01, 0x00]);
        assert_eq!(enc(5, LenForm::Long(1)), [0x81, 0x05]);
        assert_eq!(enc(5, LenForm::Long(2)), [0x82, 0x00, 0x05]);
        // A long form too short for the value falls back to minimal.
        assert_eq!(enc(0x1234, LenForm::Long(1)), [0x82, 0x12, 0x34]);
        assert_eq!(enc(0, LenForm::Indefinite), [0x80]);
    }

    #[test]
    fn len_prefixed_matches_write_len() {
        for len in [0usize, 1, 0x7F, 0x80, 0xFF, 0x100, 0x1_0000] {
            for form in
                [LenForm::Minimal, LenForm::Long(1), LenForm::Long(2), LenForm::Long(3), LenForm::Indefinite]
            {
                let body = vec![0xA5u8; len];
                let mut want = vec![0xEE];
                let f = if form == LenForm::Indefinite { LenForm::Minimal } else { form };
                write_len(&mut want, len, f);
                want.extend_from_slice(&body);
                let mut got = vec![0xEE];
                write_len_prefixed(&mut got, form, |o| o.extend_from_slice(&body));
                assert_eq!(got, want, "len {len} form {form:?}");
            }
        }
    }

    #[test]
    fn read_records_form() {
        let mut r = Reader::new(&[0x81, 0x05]);
        assert_eq!(read_len(&mut r, "l", 4, false).unwrap(), ReadLen::Definite(5, LenForm::Long(1)));
        let mut r = Reader::new(&[0x81, 0x85]);
        assert_eq!(read_len(&mut r, "l", 4, false).unwrap(), ReadLen::Definite(0x85, LenForm::Minimal));
        let mut r = Reader::new(&[0x80]);
        assert!(read_len(&mut r, "l", 4, false).is_err());
        let mut r = Reader::new(&[0x85, 1, 2, 3, 4, 5]);
        assert_eq!(read_len(&mut r, "l", 4, false).unwrap_err().offset, 0);
    }
}

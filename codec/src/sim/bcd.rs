//! Swapped-nibble BCD digit strings (TS 31.102 §4.4.2.3 "extended BCD", TS 102 223 §8.1, TS 102 221 §13.2):
//! each byte holds two digits, the earlier one in the low nibble; `F` fills an unused nibble.
//!
//! The dialling alphabet maps the nibbles `A`–`E` to characters: `A` = `*`, `B` = `#`, `C` = `,`
//! (DTMF control digit separator / pause), `D` = `?` (wild value), `E` = `E` (RFU, expansion digit). Decision:
//! TS 31.102 gives the meaning of `C`, `D`, `E` but no characters; `,` and `?` follow common dial-string
//! practice and `E` has no established character, so it stands for itself.

use super::DigitsError;

/// The filler nibble.
pub const FILLER: u8 = 0xF;

/// The character for a dialling-alphabet nibble (`0`–`E`); `None` for the filler `F`.
#[must_use]
pub const fn nibble_char(n: u8) -> Option<char> {
    Some(match n {
        0..=9 => (b'0' + n) as char,
        0xA => '*',
        0xB => '#',
        0xC => ',',
        0xD => '?',
        0xE => 'E',
        _ => return None,
    })
}

/// The nibble for a dialling-alphabet character (inverse of [`nibble_char`]).
#[must_use]
pub const fn char_nibble(c: char) -> Option<u8> {
    Some(match c {
        '0'..='9' => c as u8 - b'0',
        '*' => 0xA,
        '#' => 0xB,
        ',' => 0xC,
        '?' => 0xD,
        'E' => 0xE,
        _ => return None,
    })
}

/// The nibbles of `bytes`, low nibble first.
pub fn nibbles(bytes: &[u8]) -> impl Iterator<Item = u8> + '_ {
    bytes.iter().flat_map(|b| [b & 0x0F, b >> 4])
}

/// The dialling string in `bytes`, up to the first filler nibble (what follows a filler is not part of the
/// number; callers that must be lossless keep the bytes themselves).
#[must_use]
pub fn decode(bytes: &[u8]) -> String {
    nibbles(bytes).map_while(nibble_char).collect()
}

/// Encodes a dialling string, filling the last high nibble with `F` when the count is odd.
///
/// # Errors
/// [`DigitsError::InvalidDigit`] for a character outside the dialling alphabet.
pub fn encode(digits: &str) -> Result<Vec<u8>, DigitsError> {
    let ns = digits
        .chars()
        .enumerate()
        .map(|(position, c)| char_nibble(c).ok_or(DigitsError::InvalidDigit { found: c, position }))
        .collect::<Result<Vec<u8>, _>>()?;
    Ok(pack(&ns))
}

/// Packs nibbles two per byte, low nibble first, filling an odd count with `F`.
#[must_use]
pub fn pack(ns: &[u8]) -> Vec<u8> {
    ns.chunks(2).map(|c| (c.get(1).copied().unwrap_or(FILLER) << 4) | (c[0] & 0x0F)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn odd_and_even_counts() {
        assert_eq!(encode("0123456").unwrap(), [0x10, 0x32, 0x54, 0xF6]);
        assert_eq!(encode("012345").unwrap(), [0x10, 0x32, 0x54]);
        assert_eq!(decode(&[0x10, 0x32, 0x54, 0xF6]), "0123456");
        // The pySim address of scp80_vectors.json (odd last digit dropped) decodes as the six digits it has.
        assert_eq!(decode(&[0x10, 0x32, 0x54]), "012345");
        assert_eq!(encode("*#,?E9").unwrap(), [0xBA, 0xDC, 0x9E]);
        assert_eq!(decode(&[0xBA, 0xDC, 0x9E]), "*#,?E9");
        assert_eq!(encode("12a"), Err(DigitsError::InvalidDigit { found: 'a', position: 2 }));
        assert_eq!(decode(&[0xF1, 0x32]), "1");
        assert_eq!(encode("").unwrap(), Vec::<u8>::new());
    }

    proptest! {
        #[test]
        fn round_trip(s in "[0-9*#,?E]{0,30}") {
            let b = encode(&s).unwrap();
            prop_assert_eq!(b.len(), s.len().div_ceil(2));
            prop_assert_eq!(decode(&b), s);
        }
    }
}

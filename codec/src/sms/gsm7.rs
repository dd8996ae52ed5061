//! The GSM 7-bit default alphabet and its packing (TS 23.038 §6.1.2.1 and §6.2.1).
//!
//! - [`pack_septets`] / [`unpack_septets`]: septets packed little-endian into octets, starting after
//!   `fill_bits` padding bits (the fill that aligns the text after a user-data header, TS 23.040
//!   §9.2.3.24).
//! - [`decode_text`] / [`encode_text`]: septets ↔ text with the default alphabet and its extension table
//!   (escape `1B`).

/// Octets needed for `count` septets after `fill_bits` fill bits.
#[must_use]
pub const fn packed_len(count: usize, fill_bits: u8) -> usize {
    (fill_bits as usize + 7 * count).div_ceil(8)
}

/// Packs `septets` (the low 7 bits of each byte) after `fill_bits` (0..=6) zero fill bits, appending the
/// octets to `out`.
pub fn pack_septets(septets: &[u8], fill_bits: u8, out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + packed_len(septets.len(), fill_bits), 0);
    let buf = &mut out[start..];
    let mut bit = fill_bits as usize;
    for &s in septets {
        let s = u16::from(s & 0x7F) << (bit % 8);
        let i = bit / 8;
        if let Some(b) = buf.get_mut(i) {
            *b |= s as u8;
        }
        if let Some(b) = buf.get_mut(i + 1) {
            *b |= (s >> 8) as u8;
        }
        bit += 7;
    }
}

/// Unpacks `count` septets starting after `fill_bits` bits of `packed`; `None` when `packed` is too short.
#[must_use]
pub fn unpack_septets(packed: &[u8], fill_bits: u8, count: usize) -> Option<Vec<u8>> {
    if packed.len() < packed_len(count, fill_bits) {
        return None;
    }
    let mut out = Vec::with_capacity(count);
    let mut bit = fill_bits as usize;
    for _ in 0..count {
        let i = bit / 8;
        let lo = u16::from(*packed.get(i)?);
        let hi = u16::from(packed.get(i + 1).copied().unwrap_or(0));
        out.push((((hi << 8) | lo) >> (bit % 8)) as u8 & 0x7F);
        bit += 7;
    }
    Some(out)
}

/// The default alphabet (TS 23.038 §6.2.1), indexed by septet. `1B` is the escape to the extension table.
const BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1B}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The extension table (TS 23.038 §6.2.1.1): septet after `1B` → character.
const EXTENSION: [(u8, char); 10] = [
    (0x0A, '\u{0C}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

/// Septets → text. An escape followed by a septet outside the extension table gives the basic character
/// (the fallback TS 23.038 asks for); a trailing escape gives a space.
#[must_use]
pub fn decode_text(septets: &[u8]) -> String {
    let mut s = String::with_capacity(septets.len());
    let mut it = septets.iter().map(|b| b & 0x7F);
    while let Some(c) = it.next() {
        if c == 0x1B {
            match it.next() {
                Some(e) => match EXTENSION.iter().find(|(k, _)| *k == e) {
                    Some((_, ch)) => s.push(*ch),
                    None => s.push(BASIC[e as usize]),
                },
                None => s.push(' '),
            }
        } else {
            s.push(BASIC[c as usize]);
        }
    }
    s
}

/// Text → septets (basic table first, then the extension table with an escape); `Err` with the first
/// character the alphabet cannot express.
///
/// # Errors
/// The first character outside the default alphabet and its extension.
pub fn encode_text(text: &str) -> Result<Vec<u8>, char> {
    let mut out = Vec::with_capacity(text.len());
    for ch in text.chars() {
        if ch != '\u{1B}'
            && let Some(i) = BASIC.iter().position(|c| *c == ch)
        {
            // < 128
            out.push(i as u8);
        } else if let Some((e, _)) = EXTENSION.iter().find(|(_, c)| *c == ch) {
            out.push(0x1B);
            out.push(*e);
        } else {
            return Err(ch);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ts_23_038_packing_example() {
        // "hellohello" packs to E8 32 9B FD 46 97 D9 EC 37 (the classic TS 23.038 example).
        let s = encode_text("hellohello").unwrap();
        let mut out = Vec::new();
        pack_septets(&s, 0, &mut out);
        assert_eq!(hex::encode(&out), "e8329bfd4697d9ec37");
        assert_eq!(decode_text(&unpack_septets(&out, 0, 10).unwrap()), "hellohello");
        // 8 septets fill exactly 7 octets.
        let mut out = Vec::new();
        pack_septets(&encode_text("12345678").unwrap(), 0, &mut out);
        assert_eq!(hex::encode(&out), "31d98c56b3dd70");
        assert_eq!(unpack_septets(&out, 0, 9), None);
    }

    #[test]
    fn fill_bits_after_a_header() {
        // After a 6-octet UDH (48 bits) one fill bit aligns to septet 7: "A" then lands in bits 1..7.
        let mut out = Vec::new();
        pack_septets(&[0x41], 1, &mut out);
        assert_eq!(out, vec![0x82]);
        assert_eq!(unpack_septets(&out, 1, 1).unwrap(), vec![0x41]);
        assert_eq!(packed_len(2, 6), 3);
    }

    #[test]
    fn extension_table_and_errors() {
        assert_eq!(encode_text("€[").unwrap(), vec![0x1B, 0x65, 0x1B, 0x3C]);
        assert_eq!(decode_text(&[0x1B, 0x65, 0x1B, 0x41, 0x1B]), "€A ");
        assert_eq!(encode_text("a\u{1B}"), Err('\u{1B}'));
        assert_eq!(encode_text("日"), Err('日'));
    }

    proptest! {
        #[test]
        fn pack_unpack(septets in proptest::collection::vec(0u8..0x80, 0..200), fill in 0u8..7) {
            let mut out = Vec::new();
            pack_septets(&septets, fill, &mut out);
            prop_assert_eq!(out.len(), packed_len(septets.len(), fill));
            prop_assert_eq!(unpack_septets(&out, fill, septets.len()).unwrap(), septets);
        }

        #[test]
        fn text_round_trip(s in "[ -~äöüÄÖÜ€£¥]{0,40}") {
            if let Ok(septets) = encode_text(&s) {
                prop_assert_eq!(decode_text(&septets), s);
            }
        }
    }
}

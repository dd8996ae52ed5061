//! TP-UDL and TP-UD (TS 23.040 §9.2.3.16 and §9.2.3.24): the user data with its optional header.
//!
//! TP-UDL counts septets for uncompressed GSM 7-bit data and octets otherwise ([`Dcs::udl_in_septets`]);
//! with a header and GSM 7-bit text, fill bits align the first septet after the header.
//!
//! Lossless rule: [`UserData`] keeps the UDL as read, the header as typed IEs, and every octet after the
//! header as [`UserData::body`], up to the end of the TPDU (the UD is always its last field). A TPDU whose
//! UDL announces fewer octets than follow (pySim's test TPDU with UDL = 3 counting only `02 70 00`) therefore
//! decodes and re-encodes byte for byte; [`UserData::payload`] gives what the UDL covers and
//! [`UserData::excess`] the rest. A UDL announcing more octets than remain is an error.

use serde::{Deserialize, Serialize};

use super::fields::{Alphabet, Dcs};
use super::udh::{Udh, UdhRef};
use super::{BuildError, gsm7};
use crate::error::{DecodeErrorKind, DecodeResult};
use crate::reader::{DecodeRef, Encode, Reader};

/// Most octets of TP-UD (TS 23.040 §9.2.3.24).
pub const MAX_UD_OCTETS: usize = 140;

/// Most septets of TP-UD (160 × 7 bits = 140 octets).
pub const MAX_UD_SEPTETS: usize = 160;

/// TP-UDL + TP-UD, lossless (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct UserData {
    /// TP-UDL as read (septets or octets, by DCS).
    pub udl: u8,
    /// The user-data header, when TP-UDHI is set and the UD is not empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<Udh>,
    /// Every octet after the header: 8-bit data, UCS2, or fill bits + packed septets.
    #[serde(with = "crate::hexser")]
    pub body: Vec<u8>,
}

impl UserData {
    /// Builder: 8-bit (or UCS2) user data with an optional header; UDL = header + data octets.
    ///
    /// # Errors
    /// [`BuildError::UserDataTooLong`] above 140 octets.
    pub fn octets(header: Option<Udh>, data: Vec<u8>) -> Result<Self, BuildError> {
        let h = header.as_ref().map_or(0, Udh::encoded_len);
        let len = h + data.len();
        if len > MAX_UD_OCTETS {
            return Err(BuildError::UserDataTooLong { len, max: MAX_UD_OCTETS });
        }
        // <= 140
        Ok(Self { udl: len as u8, header, body: data })
    }

    /// Builder: GSM 7-bit user data from septets, packed after the header's fill bits; UDL counts septets.
    ///
    /// # Errors
    /// [`BuildError::UserDataTooLong`] above 160 septets.
    pub fn septets(header: Option<Udh>, septets: &[u8]) -> Result<Self, BuildError> {
        let h = header.as_ref().map_or(0, Udh::encoded_len);
        let (fill, hs) = fill_and_header_septets(h);
        let len = hs + septets.len();
        if len > MAX_UD_SEPTETS {
            return Err(BuildError::UserDataTooLong { len, max: MAX_UD_SEPTETS });
        }
        let mut body = Vec::with_capacity(gsm7::packed_len(septets.len(), fill));
        gsm7::pack_septets(septets, fill, &mut body);
        // <= 160
        Ok(Self { udl: len as u8, header, body })
    }

    /// Builder: GSM 7-bit text (default alphabet and extension table).
    ///
    /// # Errors
    /// [`BuildError::NotGsm7`], [`BuildError::UserDataTooLong`].
    pub fn gsm7_text(header: Option<Udh>, text: &str) -> Result<Self, BuildError> {
        let s = gsm7::encode_text(text).map_err(|ch| BuildError::NotGsm7 { ch })?;
        Self::septets(header, &s)
    }

    /// Reads TP-UDL and TP-UD up to the end of `r` (built on [`UserDataRef::read`]). `udhi` is the TPDU's
    /// TP-UDHI bit; `dcs` says how the UDL counts.
    ///
    /// # Errors
    /// A UDL announcing more octets than remain (reported at the UDL), or a header that overflows.
    pub fn read(r: &mut Reader<'_>, udhi: bool, dcs: Dcs) -> DecodeResult<Self> {
        UserDataRef::read(r, udhi, dcs).map(|u| u.to_owned())
    }

    /// Octets of the encoded header (UDHL included), 0 without one.
    #[must_use]
    pub fn header_len(&self) -> usize {
        self.header.as_ref().map_or(0, Udh::encoded_len)
    }

    /// Fill bits between the header and the first septet (0 unless GSM 7-bit with a header).
    #[must_use]
    pub fn fill_bits(&self, dcs: Dcs) -> u8 {
        if dcs.udl_in_septets() { fill_and_header_septets(self.header_len()).0 } else { 0 }
    }

    /// The part of [`UserData::body`] the UDL covers: for octet DCSs `UDL − header` octets, for GSM 7-bit
    /// the octets holding fill bits and `UDL − header septets` septets (clamped to the body).
    #[must_use]
    pub fn payload(&self, dcs: Dcs) -> &[u8] {
        payload_of(self.udl, self.header_len(), &self.body, dcs)
    }

    /// Body octets beyond what the UDL covers (empty for a conformant TPDU).
    #[must_use]
    pub fn excess(&self, dcs: Dcs) -> &[u8] {
        &self.body[self.payload(dcs).len()..]
    }

    /// True when the UDL matches the header and body exactly (no excess, header counted).
    #[must_use]
    pub fn udl_consistent(&self, dcs: Dcs) -> bool {
        let units = if dcs.udl_in_septets() {
            let (fill, hs) = fill_and_header_septets(self.header_len());
            let udl = self.udl as usize;
            udl >= hs && gsm7::packed_len(udl - hs, fill) == self.body.len()
        } else {
            self.udl as usize == self.header_len() + self.body.len()
        };
        units && self.excess(dcs).is_empty()
    }

    /// The septets of GSM 7-bit user data (after the header), `None` for other DCSs or a short body.
    #[must_use]
    pub fn septets_of(&self, dcs: Dcs) -> Option<Vec<u8>> {
        if !dcs.udl_in_septets() {
            return None;
        }
        let (fill, hs) = fill_and_header_septets(self.header_len());
        gsm7::unpack_septets(&self.body, fill, (self.udl as usize).checked_sub(hs)?)
    }

    /// The text of GSM 7-bit or UCS2 user data; `None` for 8-bit data, compressed text or a bad body.
    #[must_use]
    pub fn text(&self, dcs: Dcs) -> Option<String> {
        match dcs.alphabet() {
            _ if dcs.compressed() => None,
            Alphabet::Gsm7 => self.septets_of(dcs).map(|s| gsm7::decode_text(&s)),
            Alphabet::Ucs2 => {
                let p = self.payload(dcs);
                let units: Vec<u16> = p.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
                String::from_utf16(&units).ok()
            }
            Alphabet::EightBit => None,
        }
    }

    /// The TP-UD octets without the UDL: header (if any) then body. For an SMS-PP PoR this is the
    /// `02 71 00 …` form [`crate::ota::ResponseUserData`] reads, whether or not TP-UDHI was set.
    #[must_use]
    pub fn ud_octets(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.header_len() + self.body.len());
        if let Some(h) = &self.header {
            h.encode_to(&mut out);
        }
        out.extend_from_slice(&self.body);
        out
    }

    /// Encoded size (UDL octet included).
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        1 + self.header_len() + self.body.len()
    }
}

/// The part of `body` a UDL of `udl` covers after a header of `header_len` octets (see
/// [`UserData::payload`]).
fn payload_of(udl: u8, header_len: usize, body: &[u8], dcs: Dcs) -> &[u8] {
    let n = if dcs.udl_in_septets() {
        let (fill, hs) = fill_and_header_septets(header_len);
        gsm7::packed_len((udl as usize).saturating_sub(hs), fill)
    } else {
        (udl as usize).saturating_sub(header_len)
    };
    &body[..n.min(body.len())]
}

/// TP-UDL + TP-UD as a borrowed view (TS 23.040 §9.2.3.16, §9.2.3.24): the fields of [`UserData`] with the
/// header and body borrowed from the TPDU. [`UserDataRef::read`] is the one user-data parser
/// ([`UserData::read`] is built on it); [`UserDataRef::to_owned`] gives the owned value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserDataRef<'a> {
    /// TP-UDL as read (septets or octets, by DCS).
    pub udl: u8,
    /// The user-data header, when TP-UDHI is set and the UD is not empty.
    pub header: Option<UdhRef<'a>>,
    /// Every octet after the header: 8-bit data, UCS2, or fill bits + packed septets.
    pub body: &'a [u8],
}

impl<'a> UserDataRef<'a> {
    /// Reads TP-UDL and TP-UD up to the end of `r`. `udhi` is the TPDU's TP-UDHI bit; `dcs` says how the
    /// UDL counts.
    ///
    /// # Errors
    /// A UDL announcing more octets than remain (reported at the UDL), or a header that overflows.
    pub fn read(r: &mut Reader<'a>, udhi: bool, dcs: Dcs) -> DecodeResult<Self> {
        let at = r.offset();
        let udl = r.u8("TP-UDL")?;
        let needed = if dcs.udl_in_septets() { (udl as usize * 7).div_ceil(8) } else { udl as usize };
        if needed > r.remaining() {
            return Err(crate::DecodeError::new(
                DecodeErrorKind::LengthOverflow {
                    what: "TP-UD (TP-UDL)",
                    length: needed,
                    remaining: r.remaining(),
                },
                at,
            ));
        }
        let header = if udhi && !r.is_empty() { Some(UdhRef::decode_from(r)?) } else { None };
        Ok(Self { udl, header, body: r.rest() })
    }

    /// The owned user data.
    #[must_use]
    pub fn to_owned(&self) -> UserData {
        UserData {
            udl: self.udl,
            header: self.header.as_ref().map(UdhRef::to_owned),
            body: self.body.to_vec(),
        }
    }

    /// Octets of the encoded header (UDHL included), 0 without one.
    #[must_use]
    pub fn header_len(&self) -> usize {
        self.header.as_ref().map_or(0, UdhRef::encoded_len)
    }

    /// The part of [`UserDataRef::body`] the UDL covers (see [`UserData::payload`]).
    #[must_use]
    pub fn payload(&self, dcs: Dcs) -> &'a [u8] {
        payload_of(self.udl, self.header_len(), self.body, dcs)
    }

    /// Body octets beyond what the UDL covers (empty for a conformant TPDU).
    #[must_use]
    pub fn excess(&self, dcs: Dcs) -> &'a [u8] {
        &self.body[self.payload(dcs).len()..]
    }

    /// Encoded size (UDL octet included).
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        1 + self.header_len() + self.body.len()
    }
}

impl Encode for UserDataRef<'_> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(self.udl);
        if let Some(h) = &self.header {
            h.encode_to(out);
        }
        out.extend_from_slice(self.body);
    }
}

/// Fill bits and header septets for a header of `h` octets (TS 23.040 §9.2.3.24).
fn fill_and_header_septets(h: usize) -> (u8, usize) {
    let bits = h * 8;
    let fill = (7 - bits % 7) % 7;
    // < 7
    (fill as u8, (bits + fill) / 7)
}

impl Encode for UserData {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(self.udl);
        if let Some(h) = &self.header {
            h.encode_to(out);
        }
        out.extend_from_slice(&self.body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::udh::Ie;

    fn read(hex_ud: &str, udhi: bool, dcs: u8) -> UserData {
        let b = hex::decode(hex_ud).unwrap();
        let mut r = Reader::new(&b);
        let u = UserData::read(&mut r, udhi, Dcs(dcs)).unwrap();
        assert_eq!(u.encode(), b);
        assert_eq!(u.encoded_len(), b.len());
        u
    }

    #[test]
    fn octet_user_data() {
        let u = read("05027000aabb", true, 0xF6);
        assert_eq!(u.header, Some(Udh(vec![Ie::CommandPacket])));
        assert_eq!(u.payload(Dcs(0xF6)), &[0xAA, 0xBB]);
        assert!(u.udl_consistent(Dcs(0xF6)));
        assert_eq!(UserData::octets(Some(Udh(vec![Ie::CommandPacket])), vec![0xAA, 0xBB]).unwrap(), u);
        assert_eq!(hex::encode(u.ud_octets()), "027000aabb");
        // UDL counting only the header (pySim's test TPDU): payload empty, the rest is excess.
        let u = read("03027000aabb", true, 0xF6);
        assert!(u.payload(Dcs(0xF6)).is_empty());
        assert_eq!(u.excess(Dcs(0xF6)), &[0xAA, 0xBB]);
        assert!(!u.udl_consistent(Dcs(0xF6)));
        // UDHI without any UD octet: no header.
        let u = read("00", true, 0xF6);
        assert_eq!(u.header, None);
        assert!(UserData::octets(None, vec![0; 141]).is_err());
    }

    #[test]
    fn septet_user_data_with_fill_bits() {
        // "hellohello" without header
        let u = read("0ae8329bfd4697d9ec37", false, 0x00);
        assert_eq!(u.text(Dcs(0)).unwrap(), "hellohello");
        assert!(u.udl_consistent(Dcs(0)));
        // With a 6-octet concat header (UDHL 5): 1 fill bit, header = 7 septets.
        let h = Udh(vec![Ie::Concat8 { reference: 1, total: 2, seq: 1 }]);
        let u = UserData::gsm7_text(Some(h.clone()), "Hi").unwrap();
        assert_eq!(u.udl, 9);
        assert_eq!(u.fill_bits(Dcs(0)), 1);
        // 'H' (48) shifted past the fill bit, then 'i' (69).
        assert_eq!(hex::encode(&u.body), "9069");
        let b = u.encode();
        let back = UserData::read(&mut Reader::new(&b), true, Dcs(0)).unwrap();
        assert_eq!(back, u);
        assert_eq!(back.text(Dcs(0)).unwrap(), "Hi");
        assert!(UserData::gsm7_text(None, &"a".repeat(161)).is_err());
        assert!(UserData::gsm7_text(None, &"a".repeat(160)).is_ok());
    }

    #[test]
    fn ucs2_text() {
        let u = read("0400480069", false, 0x08);
        assert_eq!(u.text(Dcs(0x08)).unwrap(), "Hi");
        assert_eq!(u.text(Dcs(0xF6)), None);
    }

    #[test]
    fn udl_overflow_is_reported_at_the_udl() {
        let b = [3u8, 2, 0x70];
        let e = UserData::read(&mut Reader::with_base(&b, 20), true, Dcs(0xF6)).unwrap_err();
        assert_eq!(e.offset, 20);
        assert!(matches!(e.kind, DecodeErrorKind::LengthOverflow { length: 3, remaining: 2, .. }));
        // 10 septets need 9 octets.
        let b = hex::decode("0ae8329bfd4697d9ec").unwrap();
        assert!(UserData::read(&mut Reader::new(&b), false, Dcs(0)).is_err());
        // A header overflowing the UD.
        let b = hex::decode("0305000301").unwrap();
        let e = UserData::read(&mut Reader::new(&b), true, Dcs(0xF6)).unwrap_err();
        assert_eq!(e.offset, 1);
    }
}

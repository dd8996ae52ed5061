//! Response APDU (ISO/IEC 7816-4 §5.1): response data followed by SW1 SW2.

use serde::{Deserialize, Serialize};

use super::StatusWord;
use crate::error::DecodeResult;
use crate::reader::{Decode, Encode, Reader};

/// A response APDU: the response data field (possibly empty) and the trailer SW1 SW2
/// (ISO/IEC 7816-4 §5.1, TS 102 221 §10.2).
///
/// A response is not self-delimiting: [`Decode::decode_from`] takes everything left in the reader, the last
/// two bytes being the status word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseApdu {
    /// The response data field.
    #[serde(with = "crate::hexser")]
    pub data: Vec<u8>,
    /// SW1 SW2.
    pub sw: StatusWord,
}

impl ResponseApdu {
    /// A response with data and status word.
    #[must_use]
    pub fn new(data: impl Into<Vec<u8>>, sw: StatusWord) -> Self {
        Self { data: data.into(), sw }
    }

    /// A response with no data.
    #[must_use]
    pub const fn status(sw: StatusWord) -> Self {
        Self { data: Vec::new(), sw }
    }
}

impl Decode for ResponseApdu {
    const NAME: &'static str = "response APDU";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let n = r.remaining().saturating_sub(2);
        let data = r.take(n, "response data")?.to_vec();
        let sw = StatusWord::from(r.array::<2>("status word SW1 SW2")?);
        Ok(Self { data, sw })
    }
}

impl Encode for ResponseApdu {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.to_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DecodeErrorKind;
    use proptest::prelude::*;

    #[test]
    fn data_and_status() {
        let b = hex::decode("0000ffff7f20029000").unwrap();
        let r = ResponseApdu::decode_exact(&b).unwrap();
        assert_eq!(r.sw, StatusWord::OK);
        assert_eq!(r.data, hex::decode("0000ffff7f2002").unwrap());
        assert_eq!(r.encode(), b);
        let r = ResponseApdu::decode_exact(&[0x6A, 0x82]).unwrap();
        assert!(r.data.is_empty());
        assert_eq!(r, ResponseApdu::status(StatusWord::FILE_NOT_FOUND));
    }

    #[test]
    fn too_short() {
        let e = ResponseApdu::decode_exact(&[0x90]).unwrap_err();
        assert_eq!(e.offset, 0);
        assert_eq!(
            e.kind,
            DecodeErrorKind::Truncated { expected: "status word SW1 SW2", needed: 1, remaining: 1 }
        );
        assert_eq!(ResponseApdu::decode_exact(&[]).unwrap_err().offset, 0);
    }

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(any::<u8>(), 0..300), sw in any::<u16>()) {
            let r = ResponseApdu::new(data, StatusWord(sw));
            let b = r.encode();
            prop_assert_eq!(ResponseApdu::decode_exact(&b).unwrap(), r);
        }
    }
}

//! Package 0 over SMS: the WSP push PDU (WAP-230-WSP §8.2.4.1) carried as a WDP datagram in SMS (WAP-259-WDP
//! §6.5, TS 23.040 §9.2.3.24.4), as OMA DM 1.2.1 Notification §5 prescribes for the server-alert
//! notification.
//!
//! ```text
//! SMS-DELIVER  UDH: 05 04 0B84 23F0 (ports 2948 ← 9200) [00 03 ref n i when concatenated]
//!   WSP push:  TID | 06 (Push) | HeadersLen (uintvar) | ContentType | Headers | Data
//!              ContentType C4 = short-integer 0x44 application/vnd.syncml.notification
//!              Headers     AF 87 = X-Wap-Application-Id (0x2F) : x-wap-application:syncml.dm (0x07)
//!              Data        the package 0 (`super::pkg0::Package0`)
//! ```
//! [`WspPush`] is lossless: the content type and the headers are kept as the bytes they were (typed getters read
//! them), the HeadersLen keeps a non-minimal uintvar. A single SMS carries 133 octets of WSP PDU; longer ones are
//! concatenated with the port IE in every segment (128 octets each), see [`crate::sms::concat`].

use serde::{Deserialize, Serialize};

use crate::error::{DecodeError, DecodeResult};
use crate::reader::{Decode, Encode, Reader};
use crate::sms::BuildError;
use crate::sms::address::Address;
use crate::sms::concat::{ConcatRef, PacketKind, Progress, Reassembler, ReassemblyError, split_kind};
use crate::sms::fields::{Dcs, Pid, Scts};
use crate::sms::tpdu::Deliver;
use crate::wbxml::MbUint32;

/// WDP destination port of WAP connectionless push (WAP-259-WDP Annex B: 2948).
pub const PORT_WAP_PUSH: u16 = 2948;
/// WDP originator port of the WAP connectionless session service (9200).
pub const PORT_WAP_WSP: u16 = 9200;
/// WSP PDU type Push (WAP-230-WSP Table 34).
pub const PDU_PUSH: u8 = 0x06;
/// WSP PDU type ConfirmedPush.
pub const PDU_CONFIRMED_PUSH: u8 = 0x07;
/// Well-known content type 0x44 as a short-integer: `application/vnd.syncml.notification` (WINA).
pub const CONTENT_TYPE_SYNCML_NOTIFICATION: u8 = 0xC4;
/// Header field `X-Wap-Application-Id` (0x2F) as a short-integer.
pub const HEADER_X_WAP_APPLICATION_ID: u8 = 0xAF;
/// Application id 0x07 `x-wap-application:syncml.dm` as a short-integer.
pub const APP_ID_SYNCML_DM: u8 = 0x87;

/// A WSP push PDU as it travels in a WDP datagram (connectionless: with its TID).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WspPush {
    /// Transaction id.
    pub tid: u8,
    /// PDU type: `06` Push or `07` ConfirmedPush.
    pub pdu_type: u8,
    /// Redundant leading `0x80` octets of the HeadersLen uintvar (0 when minimal).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub headers_len_pad: u8,
    /// The encoded Content-Type value (short-integer, text, or value-length general form).
    #[serde(with = "crate::hexser")]
    pub content_type: Vec<u8>,
    /// The encoded headers after the content type.
    #[serde(with = "crate::hexser")]
    pub headers: Vec<u8>,
    /// The pushed data.
    #[serde(with = "crate::hexser")]
    pub data: Vec<u8>,
}

fn is_zero(v: &u8) -> bool {
    *v == 0
}

impl WspPush {
    /// The push an OMA DM server sends: content type `application/vnd.syncml.notification`, application id
    /// `x-wap-application:syncml.dm`, the package 0 as data.
    #[must_use]
    pub fn syncml_dm_notification(tid: u8, package0: Vec<u8>) -> Self {
        Self {
            tid,
            pdu_type: PDU_PUSH,
            headers_len_pad: 0,
            content_type: vec![CONTENT_TYPE_SYNCML_NOTIFICATION],
            headers: vec![HEADER_X_WAP_APPLICATION_ID, APP_ID_SYNCML_DM],
            data: package0,
        }
    }

    /// True when the content type is `application/vnd.syncml.notification` (as short-integer 0x44 or as text).
    #[must_use]
    pub fn is_syncml_notification(&self) -> bool {
        match self.content_type.as_slice() {
            [CONTENT_TYPE_SYNCML_NOTIFICATION] => true,
            t => t
                .strip_suffix(&[0])
                .is_some_and(|s| s.eq_ignore_ascii_case(b"application/vnd.syncml.notification")),
        }
    }

    /// The X-Wap-Application-Id, when the headers carry one: `Ok(n)` for a well-known short-integer id, `Err(text)`
    /// for a textual one (e.g. `x-wap-application:syncml.dm`).
    #[must_use]
    pub fn application_id(&self) -> Option<Result<u8, String>> {
        let h = &self.headers;
        let at = h.iter().position(|&b| b == HEADER_X_WAP_APPLICATION_ID)?;
        let value = h.get(at + 1..)?;
        match value.first()? {
            &b if b >= 0x80 => Some(Ok(b & 0x7F)),
            _ => {
                let end = value.iter().position(|&b| b == 0)?;
                Some(Err(String::from_utf8_lossy(&value[..end]).into_owned()))
            }
        }
    }

    /// True when this push is for the OMA DM client (application id 0x07 or `x-wap-application:syncml.dm`).
    #[must_use]
    pub fn is_for_syncml_dm(&self) -> bool {
        match self.application_id() {
            Some(Ok(7)) => true,
            Some(Err(t)) => t.eq_ignore_ascii_case("x-wap-application:syncml.dm"),
            _ => false,
        }
    }

    /// The package 0 it carries, when it is a SyncML DM notification.
    ///
    /// # Errors
    /// Not a DM notification (offset 0), or the package 0 does not decode (offsets inside the data).
    pub fn package0(&self) -> DecodeResult<super::pkg0::Package0> {
        if !self.is_syncml_notification() {
            return Err(DecodeError::invalid(
                "WSP push",
                "content type is not application/vnd.syncml.notification",
                0,
            ));
        }
        super::pkg0::Package0::decode_exact(&self.data)
    }
}

/// Reads a WSP Content-Type value (WAP-230-WSP §8.4.2.24): a short-integer (one octet ≥ 0x80), a
/// value-length general form (`00`–`1E` length octet, or `1F` + uintvar), or a NUL-terminated text string.
fn read_content_type<'a>(r: &mut Reader<'a>) -> DecodeResult<&'a [u8]> {
    let all = r.peek_rest();
    let start = r.offset();
    let first = r.u8("WSP content type")?;
    match first {
        0x80..=0xFF => {}
        0x00..=0x1E => {
            r.take_len(usize::from(first), 1, "WSP content type value")?;
        }
        0x1F => {
            let at = r.offset();
            let n = MbUint32::read(r, "WSP content type length")?;
            r.take_len(n.value as usize, r.offset() - at, "WSP content type value")?;
        }
        _ => match r.peek_rest().iter().position(|&b| b == 0) {
            Some(nul) => {
                r.take(nul + 1, "WSP content type text")?;
            }
            None => return Err(DecodeError::invalid("WSP content type", "text not NUL-terminated", start)),
        },
    }
    Ok(&all[..r.offset() - start])
}

impl Decode for WspPush {
    const NAME: &'static str = "WSP push PDU";

    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let tid = r.u8("WSP TID")?;
        let pdu_type = r.u8("WSP PDU type")?;
        if pdu_type != PDU_PUSH && pdu_type != PDU_CONFIRMED_PUSH {
            return Err(r.invalid_at(1, "WSP PDU type", "not Push (06) or ConfirmedPush (07)"));
        }
        let len_at = r.offset();
        let headers_len = MbUint32::read(r, "WSP HeadersLen")?;
        let mut h = r.sub(headers_len.value as usize, r.offset() - len_at, "WSP headers")?;
        let content_type = read_content_type(&mut h)?.to_vec();
        let headers = h.rest().to_vec();
        let data = r.rest().to_vec();
        Ok(Self { tid, pdu_type, headers_len_pad: headers_len.pad, content_type, headers, data })
    }
}

impl Encode for WspPush {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(self.tid);
        out.push(self.pdu_type);
        // Content types and headers are bounded by what was read or built (far below u32::MAX).
        let len = (self.content_type.len() + self.headers.len()) as u32;
        MbUint32 { value: len, pad: self.headers_len_pad }.write(out);
        out.extend_from_slice(&self.content_type);
        out.extend_from_slice(&self.headers);
        out.extend_from_slice(&self.data);
    }
}

/// The WDP kind of a push datagram.
pub const PUSH_DATAGRAM: PacketKind =
    PacketKind::Datagram { destination: PORT_WAP_PUSH, originator: PORT_WAP_WSP };

/// The SMS-DELIVERs that carry `push` to a device: ports 2948 ← 9200 in every segment, PID 00, DCS 04 (8-bit
/// data, no message class), concatenated with `reference` when it does not fit one SMS.
///
/// # Errors
/// [`BuildError::TooManySegments`] beyond 255 segments.
pub fn push_delivers(
    push: &WspPush,
    originator: Address,
    scts: Scts,
    reference: ConcatRef,
) -> Result<Vec<Deliver>, BuildError> {
    Ok(split_kind(&push.encode(), reference, PUSH_DATAGRAM)?
        .into_iter()
        .map(|ud| Deliver::new(originator, Pid(0x00), Dcs(0x04), scts, ud))
        .collect())
}

/// The device side: SMS-DELIVERs in (any order, duplicates dropped), package 0 notifications out.
#[derive(Debug)]
pub struct PushReceiver {
    reassembler: Reassembler,
}

/// What a delivered SMS amounted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushEvent {
    /// A complete WSP push for the DM client.
    Notification(WspPush),
    /// A segment was stored; more are missing.
    Pending,
    /// A segment seen before.
    Duplicate,
}

/// Why a delivered SMS was not a DM notification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// Not a push datagram, or the segments do not fit together.
    #[error("SMS reassembly: {0}")]
    Reassembly(#[from] ReassemblyError),
    /// The datagram is not a WSP push PDU.
    #[error("WSP push: {0}")]
    Decode(#[from] DecodeError),
    /// A push for another application or of another content type.
    #[error("WSP push not for the OMA DM client")]
    NotForDm,
}

impl Default for PushReceiver {
    fn default() -> Self {
        Self::new()
    }
}

impl PushReceiver {
    /// A receiver with the reassembler's default bounds.
    #[must_use]
    pub fn new() -> Self {
        Self { reassembler: Reassembler::new(PUSH_DATAGRAM) }
    }

    /// Feeds one SMS-DELIVER.
    ///
    /// # Errors
    /// [`PushError`] when the SMS is not (part of) a WAP push for the DM client.
    pub fn push_deliver(&mut self, d: &Deliver) -> Result<PushEvent, PushError> {
        match self.reassembler.push_deliver(d)? {
            Progress::Pending { .. } => Ok(PushEvent::Pending),
            Progress::Duplicate => Ok(PushEvent::Duplicate),
            Progress::Complete(bytes) => {
                let p = WspPush::decode_exact(&bytes)?;
                if p.is_syncml_notification() && p.is_for_syncml_dm() {
                    Ok(PushEvent::Notification(p))
                } else {
                    Err(PushError::NotForDm)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dm::pkg0::{Initiator, Package0, Package0Params, UiMode};
    use crate::sms::udh::Ie;
    use proptest::prelude::*;

    fn pkg0(body_len: usize) -> Package0 {
        Package0::build(
            &Package0Params {
                version: 11,
                ui_mode: UiMode::Background,
                initiator: Initiator::Server,
                session_id: 0x0102,
                server_id: b"com.example.dm",
                body: &vec![0x5A; body_len],
            },
            b"srvpw",
            b"nonce",
        )
    }

    #[test]
    fn canonical_push_bytes() {
        let p = WspPush::syncml_dm_notification(0x01, vec![0xAA, 0xBB]);
        // TID 01, Push 06, HeadersLen 03, C4 (notification), AF 87 (X-Wap-Application-Id: syncml.dm), data
        assert_eq!(p.encode(), hex::decode("010603c4af87aabb").unwrap());
        let q = WspPush::decode_exact(&p.encode()).unwrap();
        assert_eq!(q, p);
        assert!(q.is_syncml_notification() && q.is_for_syncml_dm());
        assert_eq!(q.application_id(), Some(Ok(7)));
    }

    #[test]
    fn textual_and_general_forms_round_trip() {
        // Content type as text, application id as text, non-minimal HeadersLen.
        let mut b = vec![0x05, 0x06, 0x80];
        let ct = b"application/vnd.syncml.notification\0";
        let hdr: Vec<u8> = [&[HEADER_X_WAP_APPLICATION_ID][..], b"x-wap-application:syncml.dm\0"].concat();
        b.push((ct.len() + hdr.len()) as u8);
        b.extend_from_slice(ct);
        b.extend_from_slice(&hdr);
        b.extend_from_slice(b"DATA");
        let p = WspPush::decode_exact(&b).unwrap();
        assert_eq!(p.headers_len_pad, 1);
        assert!(p.is_syncml_notification() && p.is_for_syncml_dm());
        assert_eq!(p.encode(), b);
        // General form: value-length 02, 0xC4 0x81 (a parameter)
        let g = hex::decode("0106050 2c481af87ff".replace(' ', "")).unwrap();
        let p = WspPush::decode_exact(&g).unwrap();
        assert_eq!(p.content_type, vec![0x02, 0xC4, 0x81]);
        assert_eq!(p.encode(), g);
    }

    #[test]
    fn errors_have_offsets() {
        let e = WspPush::decode_exact(&hex::decode("0108").unwrap()).unwrap_err();
        assert_eq!(e.offset, 1);
        let e = WspPush::decode_exact(&hex::decode("010609c4af87").unwrap()).unwrap_err();
        assert_eq!(e.offset, 2); // HeadersLen overflows
        let e = WspPush::decode_exact(&hex::decode("01060361626364").unwrap()).unwrap_err(); // text without NUL in 3
        assert_eq!(e.offset, 3);
        let full = WspPush::syncml_dm_notification(9, pkg0(0).encode()).encode();
        for i in 0..6 {
            assert!(WspPush::decode_exact(&full[..i]).is_err(), "prefix {i}");
        }
    }

    #[test]
    fn single_sms_and_back() {
        let p0 = pkg0(0);
        let push = WspPush::syncml_dm_notification(1, p0.encode());
        let oa = Address::international("4479").unwrap();
        let ds = push_delivers(&push, oa, Scts([0; 7]), ConcatRef::Eight(7)).unwrap();
        assert_eq!(ds.len(), 1);
        let hdr = ds[0].user_data.header.as_ref().unwrap();
        assert_eq!(hdr.0, vec![Ie::Ports16 { destination: 2948, originator: 9200 }]);
        assert_eq!(&ds[0].user_data.ud_octets()[..7], &hex::decode("0605040b8423f0").unwrap()[..]);
        let mut rx = PushReceiver::new();
        let PushEvent::Notification(got) = rx.push_deliver(&ds[0]).unwrap() else { panic!() };
        assert_eq!(got.package0().unwrap(), p0);
        assert!(got.package0().unwrap().verify(b"srvpw", b"nonce"));
    }

    #[test]
    fn concatenated_any_order_with_duplicates() {
        let p0 = pkg0(400); // vendor body makes it span 4 SMS
        let push = WspPush::syncml_dm_notification(2, p0.encode());
        let oa = Address::international("4479").unwrap();
        let mut ds = push_delivers(&push, oa, Scts([0; 7]), ConcatRef::Eight(42)).unwrap();
        assert_eq!(ds.len(), (push.encode().len()).div_ceil(128));
        for d in &ds {
            let h = d.user_data.header.as_ref().unwrap();
            assert!(
                h.0.contains(&Ie::Ports16 { destination: 2948, originator: 9200 }),
                "port IE in every segment"
            );
            assert!(d.user_data.ud_octets().len() <= 140);
        }
        ds.reverse();
        let dup = ds[1].clone();
        ds.insert(2, dup);
        let mut rx = PushReceiver::new();
        let mut got = None;
        for d in &ds {
            match rx.push_deliver(d).unwrap() {
                PushEvent::Notification(p) => got = Some(p),
                PushEvent::Pending | PushEvent::Duplicate => {}
            }
        }
        assert_eq!(got.unwrap().package0().unwrap(), p0);
        // A segment without the port IE is refused.
        let mut bare = ds[0].clone();
        bare.user_data.header.as_mut().unwrap().0.retain(|ie| !matches!(ie, Ie::Ports16 { .. }));
        assert!(matches!(PushReceiver::new().push_deliver(&bare), Err(PushError::Reassembly(_))));
    }

    #[test]
    fn other_applications_are_refused() {
        let mut push = WspPush::syncml_dm_notification(1, vec![1, 2, 3]);
        push.headers = vec![HEADER_X_WAP_APPLICATION_ID, 0x84]; // another application id
        let oa = Address::international("4479").unwrap();
        let ds = push_delivers(&push, oa, Scts([0; 7]), ConcatRef::Eight(1)).unwrap();
        assert_eq!(PushReceiver::new().push_deliver(&ds[0]), Err(PushError::NotForDm));
    }

    proptest! {
        #[test]
        fn bytes_round_trip(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(p) = WspPush::decode_exact(&b) {
                prop_assert_eq!(p.encode(), b);
            }
        }

        #[test]
        fn split_reassemble(len in 0usize..1500, reference in any::<u8>(), seed in any::<u64>()) {
            let push = WspPush::syncml_dm_notification(3, (0..len).map(|i| (i as u64 ^ seed) as u8).collect());
            let oa = Address::international("4479").unwrap();
            let mut ds = push_delivers(&push, oa, Scts([0; 7]), ConcatRef::Eight(reference)).unwrap();
            let n = ds.len();
            ds.rotate_left((seed as usize) % n);
            let mut rx = PushReceiver::new();
            let mut got = None;
            for d in &ds {
                if let PushEvent::Notification(p) = rx.push_deliver(d).unwrap() { got = Some(p); }
            }
            prop_assert_eq!(got, Some(push));
        }
    }
}

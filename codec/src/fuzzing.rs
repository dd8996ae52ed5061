//! Fuzz bodies: one function per decoder, called by the three-line targets of the `fuzz/` crate and replayed
//! over the committed corpora by `cargo test` (as rustls and quinn keep theirs in the library).
//!
//! Each body feeds arbitrary bytes to a decoder and asserts the lossless property: when the bytes decode,
//! encoding the value gives the same bytes back, and the value survives its JSON form. A panic here is a bug.
//! Compiled for `cfg(fuzzing)` (cargo-fuzz), for tests, and with the `fuzzing` feature.

use crate::apdu::{CommandApdu, ResponseApdu};
use crate::cat::{Envelope, ProactiveCommand, TerminalResponse};
use crate::dm::pkg0::Package0;
use crate::ota::{
    CommandPacket, IdentificationPacket, ResponsePacket, ResponseUserData, SecuredCommand, SecuredResponse,
    Transport,
};
use crate::rfm::{CompactResponse, CompactScript, ExpandedResponse, ExpandedScript, P3Rule};
use crate::sim::{EfAd, EfEpsloci, EfIccid, EfImsi, EfLoci, EfPsloci, PlmnId};
use crate::sms::concat::{PacketKind, Reassembler};
use crate::sms::tpdu::{DeliverReport, RpKind, Tpdu};
use crate::sms::udh::Udh;
use crate::tlv::ber::BerTlv;
use crate::tlv::comprehension::Ctlv;
use crate::{Decode, Encode};

/// The transports, indexed by a fuzz input's first byte.
const TRANSPORTS: [Transport; 5] =
    [Transport::SmsPp, Transport::SmsCb, Transport::CatTp, Transport::TcpIp, Transport::Ussd];

/// Asserts decode → encode reproduces `data` and that the value's JSON form (what `m2mcodec` prints) reads
/// back to the same value.
fn lossless<T>(data: &[u8], decode: impl FnOnce(&[u8]) -> crate::DecodeResult<T>)
where
    T: Encode + serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    if let Ok(v) = decode(data) {
        assert_eq!(v.encode(), data, "decode → encode changed the bytes of {v:?}");
        let json = serde_json::to_value(&v).expect("a decoded value serialises");
        let back: T = serde_json::from_value(json).expect("the JSON of a decoded value reads back");
        assert_eq!(back, v, "JSON round trip changed the value");
    }
}

/// Splits off the first byte as a selector.
fn split(data: &[u8]) -> Option<(u8, &[u8])> {
    data.split_first().map(|(s, rest)| (*s, rest))
}

/// Command and response APDUs (ISO/IEC 7816-4).
pub fn apdu(data: &[u8]) {
    lossless(data, CommandApdu::decode_exact);
    lossless(data, ResponseApdu::decode_exact);
}

/// BER-TLV and COMPREHENSION-TLV (TS 101 220 §7.1).
pub fn tlv(data: &[u8]) {
    lossless(data, BerTlv::decode_exact);
    lossless(data, Ctlv::decode_exact);
}

/// Secured packets of every transport (first byte picks the transport), their plaintext views, the SMS PoR
/// user data and the TCP/IP identification packet (TS 102 225, TS 31.115).
pub fn ota(data: &[u8]) {
    let Some((sel, rest)) = split(data) else { return };
    let t = TRANSPORTS[usize::from(sel) % TRANSPORTS.len()];
    lossless(rest, |b| CommandPacket::decode_for(t, b));
    if t != Transport::SmsCb {
        lossless(rest, |b| ResponsePacket::decode_for(t, b));
    }
    lossless(rest, ResponseUserData::decode_exact);
    lossless(rest, IdentificationPacket::decode_exact);
    // Plaintext secured parts with the header length taken from the selector.
    if let Ok(s) = SecuredCommand::parse(sel, rest) {
        assert_eq!(s.encode(), rest);
    }
    if let Ok(s) = SecuredResponse::parse(sel, rest) {
        assert_eq!(s.encode(), rest);
    }
}

/// SMS TPDUs in both directions and the user-data header (TS 23.040).
pub fn sms(data: &[u8]) {
    lossless(data, Tpdu::decode_sc_to_ms);
    lossless(data, |b| Tpdu::decode_ms_to_sc(b, RpKind::Ack));
    lossless(data, |b| Tpdu::decode_ms_to_sc(b, RpKind::Error));
    lossless(data, DeliverReport::decode_ack);
    lossless(data, Udh::decode_exact);
}

/// The concatenation reassembler fed a sequence of SMS-DELIVERs (each prefixed by a one-byte length) under small
/// limits: it must never panic, never exceed its memory bounds, and only complete packets whose segments it saw.
pub fn sms_reassembly(data: &[u8]) {
    let mut r = Reassembler::with_limits(PacketKind::Command, 4, 2048);
    let mut rest = data;
    while let Some((&n, tail)) = rest.split_first() {
        let n = usize::from(n).min(tail.len());
        let (tpdu, tail) = tail.split_at(n);
        rest = tail;
        if let Ok(Tpdu::Deliver(d)) = Tpdu::decode_sc_to_ms(tpdu) {
            let _ = r.push_deliver(&d);
            assert!(r.pending_count() <= 4 && r.pending_bytes() <= 2048, "reassembler bounds exceeded");
        }
    }
}

/// CAT templates: ENVELOPE, proactive command, TERMINAL RESPONSE (TS 102 223), and their typed views.
pub fn cat(data: &[u8]) {
    lossless(data, Envelope::decode_exact);
    lossless(data, ProactiveCommand::decode_exact);
    lossless(data, TerminalResponse::decode_exact);
    if let Ok(e) = Envelope::decode_exact(data)
        && let Ok(dl) = crate::cat::SmsPpDownload::from_envelope(&e)
    {
        let _ = dl.tpdu.deliver();
    }
    if let Ok(p) = ProactiveCommand::decode_exact(data) {
        let _ = p.interpret();
    }
}

/// TS 102 226 scripts and responses, compact (both P3 rules) and expanded.
pub fn rfm(data: &[u8]) {
    lossless(data, |b| CompactScript::decode_with(b, &P3Rule::FILE_SYSTEM));
    lossless(data, |b| CompactScript::decode_with(b, &P3Rule::GLOBAL_PLATFORM));
    lossless(data, CompactResponse::decode_exact);
    lossless(data, ExpandedScript::decode_exact);
    lossless(data, ExpandedResponse::decode_exact);
}

/// Elementary file contents (TS 31.102, TS 51.011, TS 102 221).
pub fn sim(data: &[u8]) {
    lossless(data, EfImsi::decode_exact);
    lossless(data, EfIccid::decode_exact);
    lossless(data, EfAd::decode_exact);
    lossless(data, EfLoci::decode_exact);
    lossless(data, EfPsloci::decode_exact);
    lossless(data, EfEpsloci::decode_exact);
    lossless(data, PlmnId::decode_exact);
}

/// OMA DM package 0, its WSP push carriage, and the `x-syncml-hmac` header.
pub fn dm(data: &[u8]) {
    lossless(data, Package0::decode_exact);
    lossless(data, crate::dm::push::WspPush::decode_exact);
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(h) = crate::dm::auth::HmacHeader::parse(s)
    {
        assert_eq!(crate::dm::auth::HmacHeader::parse(&h.to_string()).as_ref(), Ok(&h));
    }
}

/// SyncML DM messages through the typed model (XML or WBXML by the first byte, strict and lenient) and
/// DDF/TNDS documents: what decodes is written as RTK WBXML and reads back to the same typed value, and its
/// JSON form reads back too. (The typed layer is semantic: the property is typed → bytes → typed.)
pub fn syncml(data: &[u8]) {
    use crate::syncml::SyncMl;
    use crate::syncml::tree::Profile;
    use crate::xml::Mode;
    for mode in [Mode::Strict, Mode::Lenient] {
        if let Ok(d) = SyncMl::decode(data, mode) {
            // Writing may fail (an element without a token in the document's language); reading what was
            // written may not.
            if let Ok(w) = d.message.to_wbxml(&Profile::rtk()) {
                let back = SyncMl::decode(&w, mode).expect("the model's own WBXML reads back");
                assert_eq!(back.message, d.message, "typed → WBXML → typed changed the message");
            }
            let json = serde_json::to_value(&d).expect("a decoded message serialises");
            let back: crate::syncml::Decoded = serde_json::from_value(json).expect("its JSON reads back");
            assert_eq!(back, d, "JSON round trip changed the message");
        }
        if let Ok(t) = crate::dm::ddf::MgmtTree::decode(data, mode)
            && let Ok(w) = t.to_wbxml(&Profile::rtk())
        {
            let back = crate::dm::ddf::MgmtTree::decode(&w, mode).expect("the DDF writer's WBXML reads back");
            assert_eq!(back, t, "DDF → WBXML → DDF changed the document");
        }
    }
}

/// A fuzz body: takes arbitrary bytes, panics only on a bug.
pub type Body = fn(&[u8]);

/// Every body by name (the cargo-fuzz target of the same name calls it), for the corpus replay test and the
/// campaign runner.
pub const BODIES: &[(&str, Body)] = &[
    ("apdu", apdu),
    ("tlv", tlv),
    ("ota", ota),
    ("sms", sms),
    ("sms_reassembly", sms_reassembly),
    ("cat", cat),
    ("rfm", rfm),
    ("sim", sim),
    ("dm", dm),
    ("syncml", syncml),
];

#[cfg(test)]
mod tests {
    use super::BODIES;
    use proptest::prelude::*;

    /// The typed SyncML body on real inputs: the corpus messages and DDFs and single-byte tampers of them.
    #[test]
    fn syncml_body_on_the_corpus() {
        let Some(dir) = crate::testdata::shared_dir() else { return };
        for sub in ["wbxml", "xml", "ddf"] {
            let Ok(entries) = std::fs::read_dir(dir.join("corpus/omadm").join(sub)) else { return };
            for e in entries {
                let b = std::fs::read(e.unwrap().path()).unwrap();
                super::syncml(&b);
                for i in (0..b.len()).step_by(if sub == "wbxml" { 5 } else { 97 }) {
                    let mut t = b.clone();
                    t[i] ^= 0x41;
                    super::syncml(&t);
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
        /// Random bytes through every body: no panic (the corpus replay test feeds the meaningful inputs).
        #[test]
        fn bodies_never_panic(sel in 0..BODIES.len(), data in proptest::collection::vec(any::<u8>(), 0..300)) {
            (BODIES[sel].1)(&data);
        }
    }
}

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
    CommandPacket, CommandPacketRef, IdentificationPacket, ResponsePacket, ResponseUserData, SecuredCommand,
    SecuredResponse, Transport,
};
use crate::rfm::{CompactResponse, CompactScript, ExpandedResponse, ExpandedScript, P3Rule};
use crate::sim::{EfAd, EfEpsloci, EfIccid, EfImsi, EfLoci, EfPsloci, PlmnId};
use crate::sms::concat::{PacketKind, Reassembler};
use crate::sms::tpdu::{DeliverReport, RpKind, Tpdu};
use crate::sms::udh::Udh;
use crate::tlv::ber::BerTlv;
use crate::tlv::comprehension::Ctlv;
use crate::{Decode, Encode};

mod seeds;
mod typed;
pub use seeds::{Seed, seeds};
pub use typed::{typed_apdu, typed_ota, typed_sms, typed_tlv};

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

/// Asserts that a zero-copy view decoder and its owned decoder agree on `data`: both succeed with the same
/// value (the view's `to_owned`) and the same encoding, or both fail with the same error (kind and offset).
/// Returns the view when it decoded.
///
/// # Panics
/// When they disagree (a bug).
pub fn agree<'a, V, O>(
    data: &'a [u8],
    view: impl FnOnce(&'a [u8]) -> crate::DecodeResult<V>,
    owned: impl FnOnce(&'a [u8]) -> crate::DecodeResult<O>,
    to_owned: impl FnOnce(&V) -> O,
) -> Option<V>
where
    V: Encode + std::fmt::Debug,
    O: Encode + PartialEq + std::fmt::Debug,
{
    match (view(data), owned(data)) {
        (Ok(v), Ok(o)) => {
            assert_eq!(to_owned(&v), o, "the view's to_owned differs from the owned decoder's value");
            assert_eq!(v.encode(), o.encode(), "the view encodes differently from the owned value {o:?}");
            Some(v)
        }
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "the view and owned decoders fail differently");
            None
        }
        (v, o) => panic!("the view decoder gave {v:?}, the owned one {o:?}"),
    }
}

/// The zero-copy views against the owned decoders (see [`agree`]): the receive chain ENVELOPE
/// ([`EnvelopeRef`]) → SMS-PP download → SMS-DELIVER ([`DeliverRef`]) → command packet
/// ([`CommandPacketRef`], on the body and on the payload) over the whole input, with every decoded view
/// re-encoding to its input; then each layer on its own (SMS-DELIVER, SMS-SUBMIT, UDH, simple TLV on the
/// whole input; a command packet of the transport and user data with TP-UDHI/DCS picked by the first
/// byte on the rest).
pub fn views(data: &[u8]) {
    use crate::cat::{EnvelopeRef, SimpleTlv, SimpleTlvRef, SmsPpDownload, SmsPpDownloadRef};
    use crate::sms::{Dcs, Deliver, DeliverRef, Submit, SubmitRef, UdhRef, UserData, UserDataRef};
    use crate::{DecodeRef, Reader};

    if let Some(env) = agree(data, EnvelopeRef::decode_exact, Envelope::decode_exact, EnvelopeRef::to_owned) {
        assert_eq!(env.encode(), data, "an ENVELOPE view does not re-encode to its input");
        let owned = env.to_owned();
        let dl = match (SmsPpDownloadRef::from_envelope(&env), SmsPpDownload::from_envelope(&owned)) {
            (Ok(v), Ok(o)) => {
                assert_eq!(v.to_owned(), o, "SMS-PP download views differ");
                Some(v)
            }
            (Err(a), Err(b)) => {
                assert_eq!(a, b, "SMS-PP download errors differ");
                None
            }
            (v, o) => panic!("SMS-PP download: the view gave {v:?}, the owned one {o:?}"),
        };
        if let Some(dl) = dl
            && let Some(d) =
                agree(dl.tpdu, DeliverRef::decode_exact, Deliver::decode_exact, DeliverRef::to_owned)
        {
            assert_eq!(dl.deliver().as_ref(), Ok(&d), "SmsPpDownloadRef::deliver differs");
            assert_eq!(d.encode(), dl.tpdu, "an SMS-DELIVER view does not re-encode to its input");
            for part in [d.user_data.body, d.user_data.payload(d.dcs)] {
                if let Some(p) = agree(
                    part,
                    |b| CommandPacketRef::decode_for(Transport::SmsPp, b),
                    |b| CommandPacket::decode_for(Transport::SmsPp, b),
                    CommandPacketRef::to_owned,
                ) {
                    assert_eq!(p.encode(), part, "a command packet view does not re-encode to its input");
                }
            }
        }
    }
    agree(data, DeliverRef::decode_exact, Deliver::decode_exact, DeliverRef::to_owned);
    agree(data, SubmitRef::decode_exact, Submit::decode_exact, SubmitRef::to_owned);
    agree(data, UdhRef::decode_exact, Udh::decode_exact, UdhRef::to_owned);
    agree(data, SimpleTlvRef::decode_exact, SimpleTlv::decode_exact, SimpleTlvRef::to_owned);
    if let Some((sel, rest)) = split(data) {
        let t = TRANSPORTS[usize::from(sel) % TRANSPORTS.len()];
        agree(
            rest,
            |b| CommandPacketRef::decode_for(t, b),
            |b| CommandPacket::decode_for(t, b),
            CommandPacketRef::to_owned,
        );
        let (udhi, dcs) = (sel & 0x01 != 0, Dcs(sel & 0xFE));
        agree(
            rest,
            |b| UserDataRef::read(&mut Reader::new(b), udhi, dcs),
            |b| UserData::read(&mut Reader::new(b), udhi, dcs),
            UserDataRef::to_owned,
        );
    }
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

/// SyncML DM messages through the typed model (XML or WBXML by the first byte, strict and lenient; the
/// bootstrap message of TR 33.812 is one of these): what decodes is written as RTK WBXML and reads back to
/// the same typed value, and its JSON form reads back too. (The typed layer is semantic: the property is
/// typed → bytes → typed.)
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
    }
}

/// The `libwbxml` profile with and without kept white space: the profiles whose conversions have
/// single-pass fast paths.
fn libwbxml_profiles() -> [crate::syncml::tree::Profile; 2] {
    use crate::syncml::tree::Profile;
    [Profile::libwbxml(), Profile { keep_whitespace: true, ..Profile::libwbxml() }]
}

/// WBXML documents (WAP-192-WBXML): lossless at the token layer; what converts to the element tree
/// converts back through the RTK WBXML and XML writers to the same tree; the single-pass WBXML → XML
/// conversion of the `libwbxml` profile answers what the token-stream conversion does.
pub fn wbxml(data: &[u8]) {
    use crate::syncml::tree::{self, Profile};
    lossless(data, crate::wbxml::Document::decode_exact);
    let doc = crate::wbxml::Document::decode_exact(data);
    if let Ok(doc) = &doc
        && let Ok(t) = tree::Document::from_wbxml(doc)
    {
        tree_round_trips(&t, &Profile::rtk());
    }
    for p in libwbxml_profiles() {
        let fast = tree::wbxml_bytes_to_xml(data, &p).ok();
        let slow = doc.as_ref().ok().and_then(|d| tree::wbxml_to_xml(d, &p).ok());
        assert_eq!(fast, slow, "WBXML → XML: the fast path and the token-stream path differ");
    }
}

/// XML documents, strict and lenient: lossless at the document layer (and through the JSON form, which
/// re-parses the text); what converts to the element tree converts back through the writers.
pub fn xml(data: &[u8]) {
    use crate::syncml::tree::{self, Profile};
    use crate::xml::{Document, Mode};
    for mode in [Mode::Strict, Mode::Lenient] {
        lossless(data, |b| Document::parse_bytes(b, mode));
        let doc = Document::parse_bytes(data, mode);
        if let Ok(doc) = &doc
            && let Ok(t) = tree::Document::from_xml(doc)
        {
            tree_round_trips(&t, &Profile::rtk());
        }
        // The single-pass XML → WBXML conversion answers what the tree conversion does.
        if let Ok(text) = std::str::from_utf8(data) {
            for p in libwbxml_profiles() {
                let fast = tree::xml_text_to_wbxml(text, mode, &p).ok();
                let slow = doc.as_ref().ok().and_then(|d| tree::xml_to_wbxml(d, &p).ok()).map(|w| w.encode());
                assert_eq!(fast, slow, "XML → WBXML: the fast path and the tree path differ");
            }
        }
    }
}

/// The semantic property of the element tree: what a writer produces reads back to the same tree (a
/// writer may refuse an element without a token in the document's code pages; a reader may not refuse what
/// a writer produced).
fn tree_round_trips(t: &crate::syncml::tree::Document, profile: &crate::syncml::tree::Profile) {
    use crate::syncml::tree;
    if let Ok(w) = t.to_wbxml(profile) {
        let back = tree::Document::from_wbxml(&w).expect("the tree's own WBXML converts back");
        // Unless the profile keeps white space, the writer drops blank text between child elements
        // (documented in `syncml::tree`); the token reader keeps whatever text tokens it is given. An empty
        // text is not significant (the model's decision): the RTK writer gives an empty `Data` its `STR_I ""`
        // (`4F 03 00 01`, as the Reference Toolkit does), which reads back as an empty text. CDATA comes
        // back as text (see `wbxml_form`).
        let expected = if profile.keep_whitespace { t.clone() } else { without_ignorable_space(t) };
        assert_eq!(wbxml_form(&back), wbxml_form(&expected), "tree → WBXML → tree changed the tree");
    }
    if let Ok(x) = t.to_xml(profile) {
        let doc = crate::xml::Document::parse(&x, crate::xml::Mode::Strict).expect("the tree's XML parses");
        let back = tree::Document::from_xml(&doc).expect("the tree's own XML converts back");
        // XML has no boundaries between adjacent character data (two WBXML STR_I in a row are one text),
        // and the XML reader drops blank text between child elements (`Whitespace` default) whatever the
        // writer kept.
        assert_eq!(
            without_ignorable_space(&merged_text(&back)),
            without_ignorable_space(&merged_text(t)),
            "tree → XML → tree changed the tree"
        );
    }
}

/// `d` with `f` applied to the child list of every element (nested documents included).
fn rewrite(
    d: &crate::syncml::tree::Document,
    f: fn(Vec<crate::syncml::tree::Node>) -> Vec<crate::syncml::tree::Node>,
) -> crate::syncml::tree::Document {
    use crate::syncml::tree::{Element, Node};
    fn element(e: &Element, f: fn(Vec<Node>) -> Vec<Node>) -> Element {
        let children = e
            .children
            .iter()
            .map(|c| match c {
                Node::Element(x) => Node::Element(element(x, f)),
                Node::Document(x) => Node::Document(Box::new(rewrite(x, f))),
                other => other.clone(),
            })
            .collect();
        Element { ns: e.ns, name: e.name.clone(), children: f(children) }
    }
    crate::syncml::tree::Document { language: d.language, root: element(&d.root, f) }
}

/// The tree as a writer that drops ignorable white space writes it: blank texts (empty ones included) in an
/// element that has child elements removed.
fn without_ignorable_space(d: &crate::syncml::tree::Document) -> crate::syncml::tree::Document {
    use crate::syncml::tree::Node;
    rewrite(d, |mut nodes| {
        if nodes.iter().any(|c| matches!(c, Node::Element(_) | Node::Document(_))) {
            let blank = |t: &str| t.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
            nodes.retain(|c| !matches!(c, Node::Text(t) | Node::CData(t) if blank(t)));
        }
        nodes
    })
}

/// The tree as the WBXML token reader gives it back: CDATA sections as text (WBXML has no CDATA: the writer
/// writes an inline string), empty text nodes dropped (not significant).
fn wbxml_form(d: &crate::syncml::tree::Document) -> crate::syncml::tree::Document {
    use crate::syncml::tree::Node;
    rewrite(d, |nodes| {
        nodes
            .into_iter()
            .filter(|c| !matches!(c, Node::Text(t) | Node::CData(t) if t.is_empty()))
            .map(|c| match c {
                Node::CData(t) => Node::Text(t),
                other => other,
            })
            .collect()
    })
}

/// The tree as XML can carry it: opaque data as the text the writer gives it (UTF-8 as it is, other bytes
/// in base64, DM TND §8.3.7.2), adjacent text nodes joined, empty ones dropped (XML has no boundary
/// between adjacent character data and no empty text node; the model's decision that an empty text is
/// not significant, see `syncml::model::decode::canon`).
fn merged_text(d: &crate::syncml::tree::Document) -> crate::syncml::tree::Document {
    use crate::syncml::tree::Node;
    use base64::Engine as _;
    rewrite(d, |nodes| {
        let mut out: Vec<Node> = Vec::with_capacity(nodes.len());
        for c in nodes {
            let c = match c {
                Node::Opaque(b) => Node::Text(
                    String::from_utf8(b)
                        .unwrap_or_else(|e| base64::engine::general_purpose::STANDARD.encode(e.as_bytes())),
                ),
                other => other,
            };
            match (out.last_mut(), c) {
                (Some(Node::Text(a)), Node::Text(b)) => a.push_str(&b),
                (_, other) => out.push(other),
            }
        }
        out.retain(|c| !matches!(c, Node::Text(t) if t.is_empty()));
        out
    })
}

/// DDF / TNDS documents (OMA-TS-DM_TND, XML or WBXML by the first byte, strict and lenient): what decodes
/// is written as RTK WBXML and as XML and reads back to the same model.
pub fn ddf(data: &[u8]) {
    use crate::dm::ddf::MgmtTree;
    use crate::syncml::tree::Profile;
    use crate::xml::Mode;
    for mode in [Mode::Strict, Mode::Lenient] {
        let Ok(t) = MgmtTree::decode(data, mode) else { continue };
        if let Ok(w) = t.to_wbxml(&Profile::rtk()) {
            let back = MgmtTree::decode(&w, mode).expect("the DDF writer's WBXML reads back");
            assert_eq!(back, t, "DDF → WBXML → DDF changed the document");
        }
        if let Ok(x) = t.to_xml(&Profile::rtk()) {
            let back = MgmtTree::decode(x.as_bytes(), mode).expect("the DDF writer's XML reads back");
            assert_eq!(back, t, "DDF → XML → DDF changed the document");
        }
    }
}

/// The WAP push path of package 0 (WAP-230-WSP, OMA DM Notification §7): a sequence of SMS-DELIVERs (each
/// prefixed by a one-byte length) through the device's [`PushReceiver`](crate::dm::push::PushReceiver);
/// every notification it completes is a WSP push that re-encodes to its datagram, whose package 0 is
/// lossless too.
pub fn push(data: &[u8]) {
    use crate::dm::push::{PushEvent, PushReceiver};
    let mut rx = PushReceiver::new();
    let mut rest = data;
    while let Some((&n, tail)) = rest.split_first() {
        let n = usize::from(n).min(tail.len());
        let (tpdu, tail) = tail.split_at(n);
        rest = tail;
        if let Ok(Tpdu::Deliver(d)) = Tpdu::decode_sc_to_ms(tpdu)
            && let Ok(PushEvent::Notification(p)) = rx.push_deliver(&d)
        {
            assert!(p.is_syncml_notification() && p.is_for_syncml_dm());
            let bytes = p.encode();
            assert_eq!(crate::dm::push::WspPush::decode_exact(&bytes).as_ref(), Ok(&p));
            let _ = p.application_id();
            if let Ok(p0) = p.package0() {
                assert_eq!(p0.encode(), p.data, "package 0 in the push is not lossless");
            }
        }
    }
}

/// The byte formats of the M2MSIMMobj (TR 33.812, S3-090905; `codec::mo`): the protected MCIM package,
/// the MCIM plaintext, the TRE's validation data and a measurement, the MCIM provisioning context of the
/// bootstrap; and the text views (MCIM URIs, State and Result node values).
pub fn mo(data: &[u8]) {
    use crate::mo::m2msimmobj::{McimTarget, ResultCode, State};
    use crate::mo::mcim::{McimPlaintext, ProtectedPackage};
    use crate::mo::prov_ctx::McimProvCtx;
    use crate::mo::validation::{Measurement, ValidationData};
    lossless(data, ProtectedPackage::decode_exact);
    lossless(data, McimPlaintext::decode_exact);
    lossless(data, ValidationData::decode_exact);
    lossless(data, Measurement::decode_exact);
    lossless(data, McimProvCtx::decode_exact);
    if let Ok(p) = ProtectedPackage::decode_exact(data) {
        let _ = (p.aad(), p.signed_data());
    }
    if let Ok(v) = ValidationData::decode_exact(data) {
        let _ = v.signed_data();
    }
    if let Ok(p) = McimPlaintext::decode_exact(data) {
        let _ = p.msisdn_digits();
    }
    let _ = State::from_node_value(data);
    if let Some(c) = ResultCode::from_text(data) {
        assert_eq!(ResultCode::from_code(c.code()), c, "result code → number → result code");
    }
    if let Ok(s) = std::str::from_utf8(data)
        && let Some(t) = McimTarget::parse(s)
    {
        let p = t.paths();
        assert_eq!(McimTarget::parse(p.node()).map(|n| n.name), Some(t.name.clone()));
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
    ("views", views),
    ("rfm", rfm),
    ("sim", sim),
    ("dm", dm),
    ("syncml", syncml),
    ("wbxml", wbxml),
    ("xml", xml),
    ("ddf", ddf),
    ("push", push),
    ("mo", mo),
    ("typed_apdu", typed_apdu),
    ("typed_tlv", typed_tlv),
    ("typed_sms", typed_sms),
    ("typed_ota", typed_ota),
];

#[cfg(test)]
mod tests {
    use super::BODIES;
    use proptest::prelude::*;

    /// The tree round-trip property on the shapes a WBXML document can give the tree and the writers
    /// normalise (each was, or could have been, a fuzzing finding): blank and empty text between elements,
    /// empty and text-only leaves, adjacent texts, CR, opaque data, with and without kept white space.
    #[test]
    fn tree_round_trip_property_on_normalised_shapes() {
        use crate::syncml::tree::{Document, Element, Language, Namespace, Node, Profile};
        let el = |name: &'static str, children: Vec<Node>| {
            Node::Element(Element { ns: Namespace::SyncMl, name: name.into(), children })
        };
        let text = |t: &str| Node::Text(t.to_owned());
        let hdr = el(
            "SyncHdr",
            vec![
                text("  "),
                el("VerDTD", vec![text("1.2")]),
                text(""),
                el("VerProto", vec![text("DM/"), text("1.2")]),
                el("SessionID", vec![text("")]),
                text("\r\n\t"),
                el("MsgID", vec![]),
            ],
        );
        let body = el(
            "SyncBody",
            vec![el(
                "Alert",
                vec![
                    el("CmdID", vec![text("1")]),
                    el("Data", vec![]),
                    el("Data", vec![text("a\rb")]),
                    el("Data", vec![Node::Opaque(vec![0, 1, 0xFF])]),
                    el("Data", vec![Node::CData("c<d".into()), text("e")]),
                    el("Data", vec![text(" x "), el("Data", vec![text("")])]),
                ],
            )],
        );
        let Node::Element(root) = el("SyncML", vec![hdr, text(" "), body]) else { unreachable!() };
        let t = Document { language: Language::SyncMl12, root };
        for p in [Profile::rtk(), Profile { keep_whitespace: true, ..Profile::rtk() }] {
            super::tree_round_trips(&t, &p);
        }
    }

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

    /// Every seed reaches a decoder: its body runs, and the byte-format seeds decode (checked through the
    /// body's own property, which only holds what decodes, by decoding here too for the plain targets).
    #[test]
    fn seeds_run() {
        let seeds = super::seeds();
        for (name, _) in BODIES {
            assert!(seeds.iter().any(|s| s.0 == *name), "no seed for {name}");
        }
        for (target, name, bytes) in &seeds {
            let body = BODIES.iter().find(|b| b.0 == *target).unwrap().1;
            body(bytes);
            assert!(!bytes.is_empty(), "{target}/{name} is empty");
        }
    }

    /// Every committed corpus file and regression under `fuzz/` through its body.
    #[test]
    fn corpus_replay() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
        let n = crate::testdata::replay_fuzz_dirs(&root, BODIES);
        assert!(n >= BODIES.len(), "only {n} corpus files under {}", root.display());
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

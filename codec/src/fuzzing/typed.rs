//! Structure-aware fuzz bodies: the input bytes drive [`arbitrary::Unstructured`] to build a typed value
//! through the public builders; the value is encoded, decoded again and must come back equal (and
//! re-encode to the same bytes). Where a builder refuses the value (a length out of range), the body
//! checks nothing more: refusing is the builder's job.

use arbitrary::{Arbitrary, Unstructured};

use crate::apdu::{Cla, CommandApdu, ResponseApdu, StatusWord};
use crate::ota::{Cntr, CommandHeader, CommandPacket, Kic, Kid, SecuredCommand, Spi, Tar, Transport};
use crate::sms::ValidityPeriod;
use crate::sms::address::Address;
use crate::sms::fields::{Dcs, Pid, Scts};
use crate::sms::tpdu::{Deliver, RpKind, Submit, Tpdu};
use crate::sms::udh::{Ie, Udh};
use crate::sms::user_data::UserData;
use crate::tlv::ber::{BerTlv, Tag};
use crate::{Decode, Encode};

/// The fields of a command APDU (ISO/IEC 7816-4 §5.1).
#[derive(Debug, Arbitrary)]
struct ApduFields {
    cla: u8,
    ins: u8,
    p1: u8,
    p2: u8,
    data: Vec<u8>,
    ne: Option<u32>,
    extended: bool,
    sw: u16,
}

/// A command APDU from its builder (short or extended form) and a response APDU: typed → bytes → typed.
pub fn typed_apdu(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(f) = ApduFields::arbitrary(&mut u) else { return };
    let ne = f.ne.map(|n| n % 65_537);
    if let Ok(c) = CommandApdu::new(Cla(f.cla), f.ins, f.p1, f.p2, f.data.clone(), ne) {
        let c = if f.extended { c.with_extended_lengths() } else { c };
        let bytes = c.encode();
        let back = CommandApdu::decode_exact(&bytes).expect("a built command APDU decodes");
        assert_eq!(back, c, "command APDU typed → bytes → typed");
        assert_eq!(back.encode(), bytes);
    }
    let r = ResponseApdu::new(f.data, StatusWord(f.sw));
    let bytes = r.encode();
    assert_eq!(ResponseApdu::decode_exact(&bytes).as_ref(), Ok(&r), "response APDU typed → bytes → typed");
}

/// Builds a BER-TLV of nesting at most `depth` from the input.
fn ber(u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<BerTlv> {
    let tag_len = u.int_in_range(1..=3usize)?;
    let mut tag = Vec::with_capacity(tag_len);
    for i in 0..tag_len {
        let b: u8 = u.arbitrary()?;
        tag.push(match (i, tag_len) {
            // A multi-byte tag: first byte low five bits all set, then continuation bits as needed.
            (0, 1) => b,
            (0, _) => b | 0x1F,
            (i, n) if i + 1 < n => b | 0x80,
            _ => b & 0x7F,
        });
    }
    let Some(tag) = Tag::from_bytes(&tag) else { return Err(arbitrary::Error::IncorrectFormat) };
    if depth > 0 && tag.is_constructed() && u.arbitrary()? {
        let n = u.int_in_range(0..=4usize)?;
        let mut children = Vec::with_capacity(n);
        for _ in 0..n {
            children.push(ber(u, depth - 1)?);
        }
        Ok(BerTlv::constructed(tag, children))
    } else {
        let len = u.int_in_range(0..=300usize)?;
        Ok(BerTlv::primitive(tag, u.bytes(len)?.to_vec()))
    }
}

/// A BER-TLV tree from the builders (TS 101 220 §7.1): typed → bytes → typed.
pub fn typed_tlv(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(t) = ber(&mut u, 4) else { return };
    let bytes = t.encode();
    let back = BerTlv::decode_exact(&bytes).expect("a built BER-TLV decodes");
    // A constructed-looking primitive whose value happens to be a TLV list reads back as constructed:
    // the property is on the bytes and on the re-decoded value.
    assert_eq!(back.encode(), bytes, "BER-TLV typed → bytes → bytes");
    assert_eq!(BerTlv::decode_exact(&back.encode()).as_ref(), Ok(&back));
}

/// The fields of an SMS-DELIVER / SMS-SUBMIT (TS 23.040 §9.2.2.1, §9.2.2.2).
#[derive(Debug, Arbitrary)]
struct SmsFields {
    submit: bool,
    digits: u64,
    mr: u8,
    pid: u8,
    dcs: u8,
    scts: [u8; 6],
    tz: i8,
    vp: Option<u8>,
    ies: Vec<(u8, u16, u8, u8)>,
    payload: Vec<u8>,
}

/// An information element from four numbers: concatenation, ports, command/response packet, other.
fn ie((kind, a, b, c): (u8, u16, u8, u8)) -> Ie {
    let [hi, lo] = a.to_be_bytes();
    match kind % 6 {
        0 => Ie::Concat8 { reference: lo, total: b, seq: c },
        1 => Ie::Concat16 { reference: a, total: b, seq: c },
        2 => Ie::Ports16 { destination: a, originator: u16::from(b) << 8 | u16::from(c) },
        3 => Ie::CommandPacket,
        4 => Ie::Ports8 { destination: hi, originator: lo },
        _ => Ie::ResponsePacket,
    }
}

/// An SMS-DELIVER or SMS-SUBMIT from the builders, 8-bit or 7-bit user data with a header: typed → bytes →
/// typed.
pub fn typed_sms(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(f) = SmsFields::arbitrary(&mut u) else { return };
    let Ok(addr) = Address::international(&(f.digits % 1_000_000_000_000_000).to_string()) else { return };
    let header = (!f.ies.is_empty()).then(|| Udh(f.ies.iter().take(6).copied().map(ie).collect()));
    let dcs = Dcs(f.dcs);
    let seven_bit = dcs.udl_in_septets();
    let ud = if seven_bit {
        let septets: Vec<u8> = f.payload.iter().map(|b| b & 0x7F).collect();
        UserData::septets(header, &septets)
    } else {
        UserData::octets(header, f.payload)
    };
    let Ok(ud) = ud else { return };
    let [y, mo, d, h, mi, s] = f.scts.map(|v| v % 100);
    let tz = f.tz.clamp(-79, 79);
    let Some(scts) = Scts::new(y, mo, d, h, mi, s, tz) else { return };
    let tpdu = if f.submit {
        let vp = f.vp.map_or(ValidityPeriod::None, ValidityPeriod::Relative);
        Tpdu::Submit(Submit::new(f.mr, addr, Pid(f.pid), dcs, vp, ud))
    } else {
        Tpdu::Deliver(Deliver::new(addr, Pid(f.pid), dcs, scts, ud))
    };
    let bytes = tpdu.encode();
    let back =
        if f.submit { Tpdu::decode_ms_to_sc(&bytes, RpKind::Ack) } else { Tpdu::decode_sc_to_ms(&bytes) }
            .expect("a built TPDU decodes");
    assert_eq!(back, tpdu, "TPDU typed → bytes → typed");
    assert_eq!(back.encode(), bytes);
}

/// The fields of a command packet (TS 102 225 §5.1.1).
#[derive(Debug, Arbitrary)]
struct PacketFields {
    transport: u8,
    spi: [u8; 2],
    kic: u8,
    kid: u8,
    tar: [u8; 3],
    cntr: [u8; 5],
    rc_cc_ds_len: u8,
    block: bool,
    payload: Vec<u8>,
}

/// A command packet from its header and a padded plaintext secured part, for every transport: typed →
/// bytes → typed, and the secured part parses back from the packet's CHL.
pub fn typed_ota(data: &[u8]) {
    const TRANSPORTS: [Transport; 5] =
        [Transport::SmsPp, Transport::SmsCb, Transport::CatTp, Transport::TcpIp, Transport::Ussd];
    let mut u = Unstructured::new(data);
    let Ok(f) = PacketFields::arbitrary(&mut u) else { return };
    let t = TRANSPORTS[usize::from(f.transport) % TRANSPORTS.len()];
    let header = CommandHeader { spi: Spi(f.spi), kic: Kic(f.kic), kid: Kid(f.kid), tar: Tar(f.tar) };
    let sec = SecuredCommand::padded(
        Cntr(f.cntr),
        usize::from(f.rc_cc_ds_len % 33),
        &f.payload,
        if f.block { 16 } else { 0 },
    );
    let Ok(p) = CommandPacket::from_plain(t, header, &sec) else { return };
    let bytes = p.encode();
    let back = CommandPacket::decode_for(t, &bytes).expect("a built command packet decodes");
    assert_eq!(back, p, "command packet typed → bytes → typed");
    assert_eq!(back.encode(), bytes);
    let chl = sec.chl().expect("a built secured part has a CHL");
    assert_eq!(SecuredCommand::parse(chl, &sec.encode()).as_ref(), Ok(&sec));
}

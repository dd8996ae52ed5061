//! Unit and property tests of the sending side: the RC/CC covers exactly the octets the codec's
//! `command_checksum_input` / `response_checksum_input` name (for every transport, padding and length),
//! length limits, the SMS forms and key resolution.

use std::sync::Mutex;

use m2msim_codec::ota::{PorStatus, PorUdh, ResponsePacket, ResponseUserData, Spi, response_checksum_input};
use m2msim_codec::{Decode as _, Encode as _};
use proptest::prelude::*;

use super::*;
use crate::crypto::{ChecksumValue, CipherAlgorithm, NullProvider, RustCryptoProvider};
use crate::keys::{ChecksumKeySpec, CipherKeySpec, KeysetSpec};

/// A checksum that records its input and returns a fixed pattern.
#[derive(Debug)]
struct Recording {
    len: usize,
    kind: ChecksumKind,
    seen: Mutex<Vec<u8>>,
}

impl ExpandedChecksum for Recording {
    fn algorithm(&self) -> ChecksumAlgorithm {
        match self.kind {
            ChecksumKind::RedundancyCheck if self.len == 2 => ChecksumAlgorithm::Crc16,
            ChecksumKind::RedundancyCheck => ChecksumAlgorithm::Crc32,
            _ => ChecksumAlgorithm::TdesMac2,
        }
    }
    fn field_len(&self) -> usize {
        self.len
    }
    fn compute(&self, parts: &[&[u8]]) -> ChecksumValue {
        let mut seen = self.seen.lock().unwrap();
        seen.clear();
        for p in parts {
            seen.extend_from_slice(p);
        }
        ChecksumValue::new(&[0xA5; 8], self.len)
    }
}

/// An identity cipher of the given block length and a recording checksum.
struct RecordingKeys {
    cipher: Option<Box<dyn ExpandedCipher>>,
    checksum: Recording,
}

impl RecordingKeys {
    fn new(block: usize, len: usize, kind: ChecksumKind) -> Self {
        let cipher = match block {
            8 => Some(
                NullProvider.expand_cipher(CipherAlgorithm::DesCbc, &SecretKey::from_slice(&[1; 8]).unwrap()),
            ),
            16 => Some(
                NullProvider
                    .expand_cipher(CipherAlgorithm::AesCbc, &SecretKey::from_slice(&[1; 16]).unwrap()),
            ),
            _ => None,
        };
        Self {
            cipher: cipher.map(Result::unwrap),
            checksum: Recording { len, kind, seen: Mutex::new(Vec::new()) },
        }
    }
}

impl PacketKeys for RecordingKeys {
    fn cipher(&self, _kic: Kic) -> Result<&dyn ExpandedCipher, PacketError> {
        self.cipher.as_deref().ok_or(PacketError::NotSmsPp { what: "no cipher in this test" })
    }
    fn checksum(&self, _kid: Kid, _kind: ChecksumKind) -> Result<&dyn ExpandedChecksum, PacketError> {
        Ok(&self.checksum)
    }
}

fn arb_transport() -> impl Strategy<Value = Transport> {
    prop_oneof![
        Just(Transport::SmsPp),
        Just(Transport::SmsCb),
        Just(Transport::CatTp),
        Just(Transport::TcpIp),
        Just(Transport::Ussd)
    ]
}

proptest! {
    /// The RC/CC of a command covers exactly what the codec's `command_checksum_input` names, the PCNTR
    /// pads the ciphered part to whole blocks, and the packet decodes to its parts.
    #[test]
    fn command_checksum_covers_the_spec_octets(
        t in arb_transport(),
        block in prop_oneof![Just(0usize), Just(8), Just(16)],
        (len, cc) in prop_oneof![Just((2usize, false)), Just((4, false)), Just((8, true)), Just((4, true))],
        counter in any::<[u8; 5]>(),
        tar in any::<[u8; 3]>(),
        spi2 in any::<u8>(),
        data in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        let kind = if cc { ChecksumKind::CryptographicChecksum } else { ChecksumKind::RedundancyCheck };
        let keys = RecordingKeys::new(block, len, kind);
        let spi = Spi([if cc { 0x02 } else { 0x01 } | if block > 0 { 0x04 } else { 0 }, spi2]);
        let h = CommandHeader { spi, kic: Kic(0x15), kid: Kid(0x15), tar: Tar(tar) };
        let mut out = vec![0x99; 3];
        let n = secure_command_into(&keys, t, &h, Cntr(counter), &data, &mut out).unwrap();
        prop_assert_eq!(n, out.len() - 3);
        let p = CommandPacket::decode_for(t, &out[3..]).unwrap();
        prop_assert_eq!(p.header, h);
        prop_assert_eq!(p.rc_cc_ds_len(), Some(len));
        if block > 0 {
            prop_assert_eq!(p.secured.len() % block, 0);
        }
        let s = p.parse_secured().unwrap();
        prop_assert_eq!(s.cntr, Cntr(counter));
        prop_assert_eq!(s.data_without_padding(), Some(&data[..]));
        prop_assert_eq!(&s.rc_cc_ds[..], &[0xA5; 8][..len]);
        prop_assert!(s.data[data.len()..].iter().all(|b| *b == 0));
        let mut expected = Vec::new();
        p.checksum_input(&s, &mut expected).unwrap();
        prop_assert_eq!(&*keys.checksum.seen.lock().unwrap(), &expected);
    }

    /// The same for a response packet built by `secure_response_into`.
    #[test]
    fn response_checksum_covers_the_spec_octets(
        t in prop_oneof![Just(Transport::SmsPp), Just(Transport::CatTp), Just(Transport::TcpIp), Just(Transport::Ussd)],
        block in prop_oneof![Just(0usize), Just(8), Just(16)],
        len in prop_oneof![Just(2usize), Just(4), Just(8)],
        counter in any::<[u8; 5]>(),
        status in any::<u8>(),
        tar in any::<[u8; 3]>(),
        data in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        let keys = RecordingKeys::new(block, len, ChecksumKind::CryptographicChecksum);
        let mut out = Vec::new();
        let cipher = keys.cipher.as_deref();
        secure_response_into(
            t, PorUdh::ResponsePacket, Tar(tar), Cntr(counter), PorStatus::from_u8(status), &data, cipher,
            Some(&keys.checksum), &mut out,
        ).unwrap();
        let (packet, plain) = if t == Transport::SmsPp {
            let ud = ResponseUserData::decode_exact(&out).unwrap();
            let s = ud.parse_secured().unwrap();
            let mut input = Vec::new();
            ud.checksum_input(&s, &mut input).unwrap();
            prop_assert_eq!(&*keys.checksum.seen.lock().unwrap(), &input);
            (ud.packet, s)
        } else {
            let p = ResponsePacket::decode_for(t, &out).unwrap();
            let s = p.parse_secured().unwrap();
            let mut input = Vec::new();
            response_checksum_input(t, LenForm::Minimal, PorUdh::ResponsePacket, Tar(tar), &s, &mut input).unwrap();
            prop_assert_eq!(&*keys.checksum.seen.lock().unwrap(), &input);
            (p, s)
        };
        prop_assert_eq!(packet.tar, Tar(tar));
        prop_assert_eq!(plain.status.code(), status);
        prop_assert_eq!(plain.data_without_padding(), Some(&data[..]));
        if block > 0 {
            prop_assert_eq!(packet.secured.len() % block, 0);
        }
    }

    /// Arbitrary bytes given as a PoR never panic the verifier.
    #[test]
    fn arbitrary_por_bytes_never_panic(t in arb_transport(), spi in any::<[u8; 2]>(), b in proptest::collection::vec(any::<u8>(), 0..80)) {
        let keys = sample_keysets();
        let h = CommandHeader { spi: Spi(spi), kic: Kic(0x15), kid: Kid(0x15), tar: Tar([0xB0, 0, 0x10]) };
        let _ = verify_por(&keys, &h, None, t, &b, ResponseFormat::Auto);
        let mut ud = vec![0x02, 0x71, 0x00];
        ud.extend_from_slice(&b);
        let _ = verify_por(&keys, &h, Some(Cntr::default()), Transport::SmsPp, &ud, ResponseFormat::Auto);
    }
}

fn sample_keysets() -> Keysets {
    let mut k = Keysets::new();
    let spec = KeysetSpec {
        kvn: Kvn::new(1).unwrap(),
        kic: CipherKeySpec::new(CipherAlgorithm::TripleDes2Cbc, SecretKey::from_slice(&[7; 16]).unwrap())
            .unwrap(),
        kid: ChecksumKeySpec::new(
            ChecksumAlgorithm::TdesMac2,
            Some(SecretKey::from_slice(&[9; 16]).unwrap()),
        )
        .unwrap(),
        kik: None,
    };
    k.insert(Keyset::new(&RustCryptoProvider, spec).unwrap());
    k
}

#[test]
fn key_resolution_errors() {
    let k = sample_keysets();
    assert!(matches!(k.cipher(Kic(0x25)), Err(PacketError::NoKeyset { field: "KIc", kvn: 2 })));
    assert!(matches!(k.cipher(Kic(0x12)), Err(PacketError::Crypto(CryptoError::AlgorithmMismatch { .. }))));
    assert!(k.cipher(Kic(0x15)).is_ok());
    assert!(k.cipher(Kic(0x10)).is_ok(), "implicit: the keyset's algorithm");
    assert!(matches!(
        k.checksum(Kid(0x15), ChecksumKind::DigitalSignature),
        Err(PacketError::DigitalSignature)
    ));
    // CRCs need no keyset; a CC does.
    assert_eq!(
        k.checksum(Kid(0x95), ChecksumKind::RedundancyCheck).unwrap().algorithm(),
        ChecksumAlgorithm::Crc32
    );
    assert_eq!(
        k.checksum(Kid(0x01), ChecksumKind::RedundancyCheck).unwrap().algorithm(),
        ChecksumAlgorithm::Crc16
    );
    assert!(matches!(
        k.checksum(Kid(0x95), ChecksumKind::CryptographicChecksum),
        Err(PacketError::NoKeyset { .. })
    ));
    assert!(matches!(
        k.checksum(Kid(0x90), ChecksumKind::RedundancyCheck),
        Err(PacketError::NoKeyset { .. })
    ));
    // Explicit keys: no cipher given; a CC asked of a CRC.
    let e = ExplicitKeys::new(&RustCryptoProvider, None, Some((ChecksumAlgorithm::Crc32, None))).unwrap();
    assert!(matches!(e.cipher(Kic(0x15)), Err(PacketError::Crypto(CryptoError::MissingKey { .. }))));
    assert!(matches!(
        e.checksum(Kid(0x15), ChecksumKind::CryptographicChecksum),
        Err(PacketError::Crypto(CryptoError::AlgorithmMismatch { .. }))
    ));
    assert_eq!(
        e.checksum(Kid(0x00), ChecksumKind::RedundancyCheck).unwrap().algorithm(),
        ChecksumAlgorithm::Crc32
    );
    // Reserved KID codings for an RC.
    assert!(matches!(
        k.checksum(Kid(0x12), ChecksumKind::RedundancyCheck),
        Err(PacketError::Crypto(CryptoError::ReservedCoding { field: "KID", value: 0x12, .. }))
    ));
}

#[test]
fn length_limits_and_sms_forms() {
    let k = sample_keysets();
    let h =
        CommandHeader { spi: Spi([0x16, 0x39]), kic: Kic(0x15), kid: Kid(0x15), tar: Tar([0xB0, 0, 0x10]) };
    // SMS: the CPL is 2 octets.
    assert!(matches!(
        CommandPlan::new(&k, Transport::SmsPp, &h, 70_000),
        Err(PacketError::Build(BuildError::PacketTooLong { max: 0xFFFF, .. }))
    ));
    assert!(CommandPlan::new(&k, Transport::CatTp, &h, 70_000).is_ok());
    // The largest single-SMS packet for 3DES + CC: 106 data octets (spec digest §2).
    let plan = CommandPlan::new(&k, Transport::SmsPp, &h, 106).unwrap();
    assert_eq!(plan.cpl() + 2, 130);
    assert_eq!(CommandPlan::new(&k, Transport::SmsPp, &h, 107).unwrap().cpl() + 2, 138);
    let sent = SentCommand {
        transport: Transport::SmsPp,
        header: h,
        cntr: Cntr::default(),
        packet: secure_command(&k, Transport::SmsPp, &h, Cntr::default(), &[0; 106]).unwrap().encode(),
    };
    assert_eq!(sent.user_data().unwrap().len(), 133);
    assert_eq!(sent.segments(ConcatRef::Eight(1)).unwrap().len(), 1);
    let long = SentCommand {
        packet: secure_command(&k, Transport::SmsPp, &h, Cntr::default(), &[0; 120]).unwrap().encode(),
        ..sent.clone()
    };
    assert!(matches!(long.user_data(), Err(PacketError::TooLongForSms { len: 146, max: 137 })));
    assert_eq!(long.segments(ConcatRef::Eight(1)).unwrap().len(), 2);
    let cat = SentCommand { transport: Transport::CatTp, ..sent.clone() };
    assert!(matches!(cat.user_data(), Err(PacketError::NotSmsPp { .. })));
    assert!(cat.segments(ConcatRef::Eight(0)).is_err());
    // A PoR on SMS-CB cannot be built.
    assert!(matches!(
        secure_response_into(
            Transport::SmsCb,
            PorUdh::ResponsePacket,
            Tar::default(),
            Cntr::default(),
            PorStatus::Ok,
            &[],
            None,
            None,
            &mut Vec::new()
        ),
        Err(PacketError::Build(BuildError::NoResponseOnTransport))
    ));
    // A plan written with other data writes nothing.
    assert_eq!(plan.write(Cntr::default(), &[0; 5], &mut Vec::new()), 0);
}

#[test]
fn counter_kvn_rule() {
    let h = |spi1: u8, kic: u8, kid: u8| CommandHeader {
        spi: Spi([spi1, 0]),
        kic: Kic(kic),
        kid: Kid(kid),
        tar: Tar::default(),
    };
    assert_eq!(counter_kvn(&h(0x16, 0x15, 0x25)), Kvn::new(1).ok());
    assert_eq!(counter_kvn(&h(0x12, 0x15, 0x25)), Kvn::new(2).ok());
    assert_eq!(counter_kvn(&h(0x11, 0x05, 0x35)), Kvn::new(3).ok());
    assert_eq!(counter_kvn(&h(0x11, 0x45, 0x35)), Kvn::new(4).ok());
    assert_eq!(counter_kvn(&h(0x11, 0x05, 0x05)), None);
}

#[test]
fn sms_cb_packets_are_framed_like_sms_pp() {
    let k = sample_keysets();
    let h =
        CommandHeader { spi: Spi([0x06, 0x00]), kic: Kic(0x15), kid: Kid(0x15), tar: Tar([0xB0, 0, 0x10]) };
    let pp = secure_command(&k, Transport::SmsPp, &h, Cntr::default(), &[1, 2, 3]).unwrap().encode();
    let cb = secure_command(&k, Transport::SmsCb, &h, Cntr::default(), &[1, 2, 3]).unwrap().encode();
    assert_eq!(pp, cb);
}

/// A well-formed command packet with a few bytes changed, or arbitrary bytes.
fn near_packet() -> impl Strategy<Value = (Transport, Vec<u8>)> {
    (
        arb_transport(),
        any::<[u8; 2]>(),
        0usize..=9,
        proptest::collection::vec(any::<u8>(), 6..60),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
        proptest::collection::vec(any::<u8>(), 0..24),
        any::<bool>(),
    )
        .prop_map(|(t, spi, rc, mut secured, edits, junk, use_junk)| {
            if use_junk {
                return (t, junk);
            }
            secured.resize(secured.len().max(6 + rc), 0);
            let h = CommandHeader { spi: Spi(spi), kic: Kic(0x15), kid: Kid(0x25), tar: Tar([1, 2, 3]) };
            let mut b = CommandPacket::new(t, h, rc, secured).unwrap().encode();
            for (at, v) in edits {
                let i = at.index(b.len());
                b[i] = v;
            }
            (t, b)
        })
}

proptest! {
    /// The card's slice framing accepts exactly what the codec's decoder accepts, with the same parts.
    #[test]
    fn command_framing_matches_the_codec((t, b) in near_packet()) {
        let ours = frame_command(&b, t);
        match CommandPacket::decode_for(t, &b) {
            Ok(p) => {
                let f = ours.unwrap();
                prop_assert_eq!(f.header, p.header);
                prop_assert_eq!(Some(f.rc_len), p.rc_cc_ds_len());
                prop_assert_eq!(f.secured_at, p.secured_offset());
                prop_assert_eq!(&b[f.secured_at..], &p.secured[..]);
            }
            Err(_) => prop_assert!(ours.is_err()),
        }
    }

    /// The same for PoRs.
    #[test]
    fn response_framing_matches_the_codec(
        t in arb_transport(),
        rc in 0usize..=9,
        mut secured in proptest::collection::vec(any::<u8>(), 7..40),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
        seven_f in any::<bool>(),
    ) {
        secured.resize(secured.len().max(7 + rc), 0);
        let t_ok = if t == Transport::SmsCb { Transport::SmsPp } else { t };
        let p = ResponsePacket::new(t_ok, Tar([4, 5, 6]), rc, secured).unwrap();
        let mut b = if t_ok == Transport::SmsPp {
            let udh = if seven_f { PorUdh::Proprietary7F } else { PorUdh::ResponsePacket };
            ResponseUserData { udh, packet: p }.encode()
        } else {
            p.encode()
        };
        for (at, v) in edits {
            let i = at.index(b.len());
            b[i] = v;
        }
        let ours = frame_response(&b, t);
        let theirs = match t {
            Transport::SmsPp => ResponseUserData::decode_exact(&b).map(|u| (Some(u.udh), 3 + u.packet.secured_offset(), u.packet)),
            _ => ResponsePacket::decode_for(t, &b).map(|p| (None, p.secured_offset(), p)),
        };
        match theirs {
            Ok((udh, at, p)) => {
                let f = ours.unwrap();
                prop_assert_eq!(f.udh, udh);
                prop_assert_eq!(f.tar, p.tar);
                prop_assert_eq!(Some(f.rc_len), p.rc_cc_ds_len());
                prop_assert_eq!(f.secured_at, at);
            }
            Err(_) => prop_assert!(ours.is_none()),
        }
    }
}

#[test]
fn checksum_parts_cover_the_same_octets() {
    // Joined into one block (10 + 6, 9 + 7) or not (any other split): the concatenation is the same.
    let bytes: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(29) ^ 0x5A).collect();
    for (h, f) in [(10, 6), (9, 7), (8, 6), (11, 6), (10, 7), (0, 6), (16, 0), (3, 7)] {
        for rest in [0, 1, 15, 16, 33] {
            let (head, tail) = bytes.split_at(h);
            let (fixed, tail) = tail.split_at(f);
            let padded = &tail[..rest];
            let mut first = [0xEE; 16];
            let parts = super::checksum_parts(&mut first, head, fixed, padded);
            assert_eq!(parts.concat(), [head, fixed, padded].concat(), "split {h} + {f} + {rest}");
        }
    }
}

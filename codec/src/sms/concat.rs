//! Secured packets in concatenated short messages (TS 31.115 §4.1, formerly TS 23.048 §6.3; TS 23.040
//! §9.2.3.24.1 and §9.2.3.24.8): [`split`] a command packet into SMS user data and a bounded
//! [`Reassembler`] for the way back.
//!
//! Layout (one byte stream, from the CPL, cut into segments):
//! - a packet of at most 137 octets travels in a single SMS with the UDH `02 70 00`;
//! - otherwise the first segment's UDH is `UDHL | 00 03 ref n 1 | 70 00` (8 octets: 132 packet octets fit)
//!   and every later one `UDHL | 00 03 ref n i` (6 octets: 134); with a 16-bit reference (IEI `08`) the
//!   sizes are 131 and 133. Only the first segment holds IE `70`. The CPL counts the whole packet and the
//!   RC/CC/cipher apply to the reassembled packet.
//!
//! The same rules with IE `71` serve a concatenated PoR sent by SMS-SUBMIT ([`PacketKind::Response`]).
//!
//! WDP datagrams over SMS (WAP-259-WDP §6.5; TS 23.040 §9.2.3.24.4) — e.g. the WAP push that carries an OMA DM
//! package 0 — use [`PacketKind::Datagram`]: the 16-bit application-port IE `05` is in *every* segment, so a
//! single SMS carries 133 octets and each segment of a concatenated one 128 (127 with a 16-bit reference).

use serde::{Deserialize, Serialize};

use super::BuildError;
use super::address::Address;
use super::fields::{Dcs, Pid, Scts};
use super::tpdu::Deliver;
use super::udh::{Ie, Udh};
use super::user_data::{MAX_UD_OCTETS, UserData};
use crate::ota::SINGLE_SMS_PACKET_MAX;

/// The concatenation reference and its size (TS 23.040 §9.2.3.24.1 / .8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConcatRef {
    /// IEI `00`, 8-bit reference.
    Eight(u8),
    /// IEI `08`, 16-bit reference.
    Sixteen(u16),
}

impl ConcatRef {
    /// The IE for segment `seq` of `total`.
    #[must_use]
    pub const fn ie(self, total: u8, seq: u8) -> Ie {
        match self {
            Self::Eight(reference) => Ie::Concat8 { reference, total, seq },
            Self::Sixteen(reference) => Ie::Concat16 { reference, total, seq },
        }
    }

    /// Octets of the concatenation IE (IEI, IEDL, data).
    #[must_use]
    pub const fn ie_len(self) -> usize {
        match self {
            Self::Eight(_) => 5,
            Self::Sixteen(_) => 6,
        }
    }

    /// Packet octets in the first segment: 140 − (UDHL + concat IE + `70 00`) = 132 or 131.
    #[must_use]
    pub const fn first_capacity(self) -> usize {
        MAX_UD_OCTETS - 1 - self.ie_len() - 2
    }

    /// Packet octets in every later segment: 140 − (UDHL + concat IE) = 134 or 133.
    #[must_use]
    pub const fn later_capacity(self) -> usize {
        MAX_UD_OCTETS - 1 - self.ie_len()
    }
}

/// What identifies the reassembled payload in the user-data header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PacketKind {
    /// IE `70`: command packet, in the first segment only.
    Command,
    /// IE `71`: response packet, in the first segment only.
    Response,
    /// IE `05` (16-bit application ports), in every segment: a WDP datagram (WAP-259-WDP §6.5). Reassembly
    /// matches the destination port; the originator port is what [`split_kind`] writes.
    Datagram {
        /// Destination port (2948 = WAP connectionless push).
        destination: u16,
        /// Originator port (9200 = WAP connectionless session service).
        originator: u16,
    },
}

impl PacketKind {
    const fn ie(self) -> Ie {
        match self {
            Self::Command => Ie::CommandPacket,
            Self::Response => Ie::ResponsePacket,
            Self::Datagram { destination, originator } => Ie::Ports16 { destination, originator },
        }
    }

    /// Whether `udh` carries this kind's identifier.
    fn identified_by(self, udh: &Udh) -> bool {
        match self {
            Self::Datagram { destination, .. } => {
                udh.0.iter().any(|ie| matches!(ie, Ie::Ports16 { destination: d, .. } if *d == destination))
            }
            other => udh.0.contains(&other.ie()),
        }
    }

    /// True when the identifier repeats in every segment (datagrams), not only in the first (packets).
    const fn in_every_segment(self) -> bool {
        matches!(self, Self::Datagram { .. })
    }
}

/// Number of SMS a packet of `len` octets needs: 1 up to 137, else `1 + ceil((len − first) / later)`.
#[must_use]
pub const fn segment_count(len: usize, reference: ConcatRef) -> usize {
    if len <= SINGLE_SMS_PACKET_MAX {
        1
    } else {
        1 + (len - reference.first_capacity()).div_ceil(reference.later_capacity())
    }
}

/// Splits a command packet (its bytes from the CPL) into the user data of one or more SMS-DELIVERs.
///
/// # Errors
/// [`BuildError::TooManySegments`] beyond 255 segments.
pub fn split(packet: &[u8], reference: ConcatRef) -> Result<Vec<UserData>, BuildError> {
    split_kind(packet, reference, PacketKind::Command)
}

/// As [`split`], for a command or a response packet, or a datagram (the port IE then goes into every
/// segment).
///
/// # Errors
/// [`BuildError::TooManySegments`] beyond 255 segments.
pub fn split_kind(
    packet: &[u8],
    reference: ConcatRef,
    kind: PacketKind,
) -> Result<Vec<UserData>, BuildError> {
    if kind.in_every_segment() {
        return split_every(packet, reference, kind.ie());
    }
    if packet.len() <= SINGLE_SMS_PACKET_MAX {
        return Ok(vec![UserData::octets(Some(Udh(vec![kind.ie()])), packet.to_vec())?]);
    }
    let n = segment_count(packet.len(), reference);
    let total = u8::try_from(n).map_err(|_| BuildError::TooManySegments { needed: n, max: 255 })?;
    let mut out = Vec::with_capacity(n);
    let (first, rest) = packet.split_at(reference.first_capacity());
    out.push(UserData::octets(Some(Udh(vec![reference.ie(total, 1), kind.ie()])), first.to_vec())?);
    for (i, chunk) in rest.chunks(reference.later_capacity()).enumerate() {
        // i + 2 <= total <= 255
        let seq = (i + 2) as u8;
        out.push(UserData::octets(Some(Udh(vec![reference.ie(total, seq)])), chunk.to_vec())?);
    }
    Ok(out)
}

/// Splits `payload` with `id` in every segment's header: 140 − (UDHL + `id`) octets in a single SMS, 140 − (UDHL +
/// concatenation IE + `id`) in each segment of a concatenated one.
fn split_every(payload: &[u8], reference: ConcatRef, id: Ie) -> Result<Vec<UserData>, BuildError> {
    let single = MAX_UD_OCTETS - 1 - id.encoded_len();
    if payload.len() <= single {
        return Ok(vec![UserData::octets(Some(Udh(vec![id])), payload.to_vec())?]);
    }
    let each = single - reference.ie_len();
    let n = payload.len().div_ceil(each);
    let total = u8::try_from(n).map_err(|_| BuildError::TooManySegments { needed: n, max: 255 })?;
    payload
        .chunks(each)
        .enumerate()
        // i + 1 <= total <= 255
        .map(|(i, chunk)| {
            UserData::octets(Some(Udh(vec![reference.ie(total, (i + 1) as u8), id.clone()])), chunk.to_vec())
        })
        .collect()
}

/// Splits a command packet into complete SMS-DELIVER TPDUs: PID `7F` ((U)SIM data download), DCS `F6`
/// (8-bit, class 2), TP-UDHI set, from `originator`, time-stamped `scts`.
///
/// # Errors
/// As [`split`].
pub fn deliver_tpdus(
    packet: &[u8],
    reference: ConcatRef,
    originator: Address,
    scts: Scts,
) -> Result<Vec<Deliver>, BuildError> {
    Ok(split(packet, reference)?
        .into_iter()
        .map(|ud| Deliver::new(originator, Pid::SIM_DATA_DOWNLOAD, Dcs::SIM_SPECIFIC_8BIT, scts, ud))
        .collect())
}

/// What [`Reassembler::push`] did with a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The packet is complete: its bytes from the CPL.
    Complete(Vec<u8>),
    /// Stored; more segments are missing.
    Pending {
        /// Segments held.
        received: u8,
        /// Segments expected.
        total: u8,
    },
    /// The same segment again (same index, same content): dropped.
    Duplicate,
}

/// Why a segment was refused. The reassembler's state is unchanged unless stated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReassemblyError {
    /// No user-data header, or one with neither a packet identifier nor a concatenation IE.
    #[error("not a secured packet: no IE 70/71 and no concatenation IE")]
    NotAPacket,
    /// The DCS counts septets: secured packets are 8-bit data.
    #[error("the DCS is GSM 7-bit; secured packets are 8-bit data")]
    NotEightBit,
    /// More than one concatenation IE.
    #[error("more than one concatenation IE")]
    AmbiguousConcatenation,
    /// Segment number 0, above the total, or a total of 0.
    #[error("segment {index} of {total} is out of range")]
    BadIndex {
        /// The segment number.
        index: u8,
        /// The announced total.
        total: u8,
    },
    /// The segment announces another total than the segments already held.
    #[error("segment announces {found} segments, earlier ones {expected}")]
    TotalMismatch {
        /// Total held.
        expected: u8,
        /// Total in this segment.
        found: u8,
    },
    /// The packet identifier (IE 70/71) appears in a segment other than the first.
    #[error("packet identifier in segment {index}, allowed only in segment 1")]
    IdentifierNotInFirst {
        /// The segment number.
        index: u8,
    },
    /// Segment 1 lacks the packet identifier (IE 70/71), or a datagram segment lacks its port IE.
    #[error("segment lacks the packet identifier (IE 70/71 in segment 1, or the port IE of a datagram)")]
    IdentifierMissing,
    /// Same segment number with different content than the one held.
    #[error("segment {index} received twice with different content")]
    Conflict {
        /// The segment number.
        index: u8,
    },
    /// The message alone exceeds the reassembler's byte budget.
    #[error("message of at least {bytes} octets exceeds the budget of {max}")]
    TooLarge {
        /// Octets it needs.
        bytes: usize,
        /// The budget.
        max: usize,
    },
}

#[derive(Debug)]
struct Pending {
    originator: Address,
    reference: ConcatRef,
    total: u8,
    received: u8,
    bytes: usize,
    parts: Vec<Option<Vec<u8>>>,
}

/// Reassembles concatenated secured packets, segments in any order, keyed by (originator, reference).
///
/// Memory is bounded: at most `max_pending` messages and `max_bytes` payload octets are held. When a new
/// segment would exceed either, the oldest pending messages are evicted (counted in
/// [`Reassembler::evicted`]); a single message larger than the byte budget is refused. The reassembler
/// holds no clock: call [`Reassembler::discard`] for messages that waited too long.
///
/// Decision: completed messages are forgotten, so a duplicate segment arriving after its message completed
/// starts a new message (references are reused after 256 messages, so remembering them would drop real
/// traffic); replay of a whole packet is what the CNTR protects against.
#[derive(Debug)]
pub struct Reassembler {
    kind: PacketKind,
    max_pending: usize,
    max_bytes: usize,
    pending: Vec<Pending>,
    bytes: usize,
    evicted: u64,
}

impl Reassembler {
    /// Default cap on pending messages.
    pub const DEFAULT_MAX_PENDING: usize = 16;
    /// Default byte budget: two maximal (255-segment) packets.
    pub const DEFAULT_MAX_BYTES: usize = 2 * (132 + 254 * 134);

    /// A reassembler for `kind` packets with the default limits.
    #[must_use]
    pub fn new(kind: PacketKind) -> Self {
        Self::with_limits(kind, Self::DEFAULT_MAX_PENDING, Self::DEFAULT_MAX_BYTES)
    }

    /// A reassembler with explicit limits (`max_pending` at least 1).
    #[must_use]
    pub fn with_limits(kind: PacketKind, max_pending: usize, max_bytes: usize) -> Self {
        Self { kind, max_pending: max_pending.max(1), max_bytes, pending: Vec::new(), bytes: 0, evicted: 0 }
    }

    /// Messages waiting for segments.
    #[must_use]
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// Payload octets held.
    #[must_use]
    pub fn pending_bytes(&self) -> usize {
        self.bytes
    }

    /// Messages evicted so far to respect the limits.
    #[must_use]
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// The missing segment numbers of a pending message, `None` when nothing is pending for the key.
    #[must_use]
    pub fn missing(&self, originator: &Address, reference: ConcatRef) -> Option<Vec<u8>> {
        let p = self.find(originator, reference)?;
        // Indices < total <= 255
        Some(p.parts.iter().enumerate().filter(|(_, s)| s.is_none()).map(|(i, _)| (i + 1) as u8).collect())
    }

    /// Drops a pending message; true when there was one.
    pub fn discard(&mut self, originator: &Address, reference: ConcatRef) -> bool {
        match self.position(originator, reference) {
            Some(i) => {
                let p = self.pending.remove(i);
                self.bytes -= p.bytes;
                true
            }
            None => false,
        }
    }

    fn find(&self, originator: &Address, reference: ConcatRef) -> Option<&Pending> {
        self.pending.iter().find(|p| p.reference == reference && p.originator == *originator)
    }

    fn position(&self, originator: &Address, reference: ConcatRef) -> Option<usize> {
        self.pending.iter().position(|p| p.reference == reference && p.originator == *originator)
    }

    /// Feeds the user data of one SMS-DELIVER (or SMS-SUBMIT) from `originator`, whose DCS is `dcs`.
    ///
    /// # Errors
    /// See [`ReassemblyError`]; a refused segment leaves the state unchanged.
    pub fn push(
        &mut self,
        originator: &Address,
        ud: &UserData,
        dcs: Dcs,
    ) -> Result<Progress, ReassemblyError> {
        if dcs.udl_in_septets() {
            return Err(ReassemblyError::NotEightBit);
        }
        let header = ud.header.as_ref().ok_or(ReassemblyError::NotAPacket)?;
        let has_id = self.kind.identified_by(header);
        let mut concat = header.concat_ies();
        let first = concat.next();
        if concat.next().is_some() {
            return Err(ReassemblyError::AmbiguousConcatenation);
        }
        let payload = ud.payload(dcs);
        let (reference, total, seq) = match first {
            Some(Ie::Concat8 { reference, total, seq }) => (ConcatRef::Eight(*reference), *total, *seq),
            Some(Ie::Concat16 { reference, total, seq }) => (ConcatRef::Sixteen(*reference), *total, *seq),
            _ if has_id => return Ok(Progress::Complete(payload.to_vec())),
            _ => return Err(ReassemblyError::NotAPacket),
        };
        if total == 0 || seq == 0 || seq > total {
            return Err(ReassemblyError::BadIndex { index: seq, total });
        }
        if (seq == 1 || self.kind.in_every_segment()) && !has_id {
            return Err(ReassemblyError::IdentifierMissing);
        }
        if seq != 1 && has_id && !self.kind.in_every_segment() {
            return Err(ReassemblyError::IdentifierNotInFirst { index: seq });
        }
        if total == 1 {
            return Ok(Progress::Complete(payload.to_vec()));
        }
        let slot = seq as usize - 1;
        let idx = match self.position(originator, reference) {
            Some(i) => {
                let p = &self.pending[i];
                if p.total != total {
                    return Err(ReassemblyError::TotalMismatch { expected: p.total, found: total });
                }
                if let Some(held) = &p.parts[slot] {
                    return if held.as_slice() == payload {
                        Ok(Progress::Duplicate)
                    } else {
                        Err(ReassemblyError::Conflict { index: seq })
                    };
                }
                if p.bytes + payload.len() > self.max_bytes {
                    return Err(ReassemblyError::TooLarge {
                        bytes: p.bytes + payload.len(),
                        max: self.max_bytes,
                    });
                }
                i
            }
            None => {
                if payload.len() > self.max_bytes {
                    return Err(ReassemblyError::TooLarge { bytes: payload.len(), max: self.max_bytes });
                }
                if self.pending.len() >= self.max_pending {
                    self.evict_at(0);
                }
                self.pending.push(Pending {
                    originator: *originator,
                    reference,
                    total,
                    received: 0,
                    bytes: 0,
                    parts: vec![None; total as usize],
                });
                self.pending.len() - 1
            }
        };
        let idx = self.make_room(idx, payload.len());
        let p = &mut self.pending[idx];
        p.parts[slot] = Some(payload.to_vec());
        p.received += 1;
        p.bytes += payload.len();
        self.bytes += payload.len();
        if p.received < p.total {
            return Ok(Progress::Pending { received: p.received, total: p.total });
        }
        let p = self.pending.remove(idx);
        self.bytes -= p.bytes;
        let mut packet = Vec::with_capacity(p.bytes);
        for part in p.parts.into_iter().flatten() {
            packet.extend_from_slice(&part);
        }
        Ok(Progress::Complete(packet))
    }

    /// Feeds an SMS-DELIVER.
    ///
    /// # Errors
    /// As [`Reassembler::push`].
    pub fn push_deliver(&mut self, d: &Deliver) -> Result<Progress, ReassemblyError> {
        self.push(&d.originator, &d.user_data, d.dcs)
    }

    /// Evicts the oldest messages other than `keep` until `extra` more octets fit; returns `keep`'s new
    /// index.
    fn make_room(&mut self, mut keep: usize, extra: usize) -> usize {
        while self.bytes + extra > self.max_bytes && self.pending.len() > 1 {
            let victim = usize::from(keep == 0);
            self.evict_at(victim);
            if victim < keep {
                keep -= 1;
            }
        }
        keep
    }

    fn evict_at(&mut self, i: usize) {
        let p = self.pending.remove(i);
        self.bytes -= p.bytes;
        self.evicted += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::{Decode, Encode};

    fn packet(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + len) as u8).collect()
    }

    fn shuffle<T>(v: &mut [T], seed: u64) {
        // Small xorshift so the test is deterministic without a rand dependency.
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        for i in (1..v.len()).rev() {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            v.swap(i, (s % (i as u64 + 1)) as usize);
        }
    }

    #[test]
    fn single_sms_up_to_137() {
        for len in [0, 1, 136, 137] {
            let uds = split(&packet(len), ConcatRef::Eight(9)).unwrap();
            assert_eq!(uds.len(), 1);
            let b = uds[0].encode();
            assert_eq!(&b[1..4], &[0x02, 0x70, 0x00]);
            assert_eq!(b[0] as usize, 3 + len);
            assert!(b.len() <= 141);
        }
        assert_eq!(split(&packet(138), ConcatRef::Eight(9)).unwrap().len(), 2);
    }

    #[test]
    fn segment_layout() {
        let p = packet(300);
        let uds = split(&p, ConcatRef::Eight(0x42)).unwrap();
        assert_eq!(uds.len(), 3);
        // First: 07 | 00 03 42 03 01 | 70 00 | 132 octets
        let b0 = uds[0].encode();
        assert_eq!(hex::encode(&b0[..9]), "8c0700034203017000");
        assert_eq!(b0.len() - 9, 132);
        assert_eq!(uds[0].udl, 140);
        let b1 = uds[1].encode();
        assert_eq!(hex::encode(&b1[..7]), "8c050003420302");
        assert_eq!(b1.len() - 7, 134);
        let b2 = uds[2].encode();
        assert_eq!(hex::encode(&b2[..7]), "28050003420303");
        assert_eq!(b2.len() - 7, 300 - 132 - 134);
        assert!(!uds[1].header.as_ref().unwrap().has_command_packet());
        // 16-bit reference: 131 / 133.
        let uds = split(&p, ConcatRef::Sixteen(0x1234)).unwrap();
        assert_eq!(hex::encode(&uds[0].encode()[..10]), "8c080804123403017000");
        assert_eq!(uds[0].body.len(), 131);
        assert_eq!(uds[1].body.len(), 133);
        assert_eq!(uds.iter().map(|u| u.body.len()).sum::<usize>(), 300);
        for u in &uds {
            assert!(u.encoded_len() <= 141);
        }
    }

    #[test]
    fn segment_counts_around_every_boundary() {
        let r8 = ConcatRef::Eight(1);
        let r16 = ConcatRef::Sixteen(1);
        assert_eq!(segment_count(137, r8), 1);
        assert_eq!(segment_count(138, r8), 2);
        for k in 1..5 {
            let edge = 132 + 134 * k;
            assert_eq!(segment_count(edge, r8), k + 1);
            assert_eq!(segment_count(edge + 1, r8), k + 2);
            let edge = 131 + 133 * k;
            assert_eq!(segment_count(edge, r16), k + 1);
            assert_eq!(segment_count(edge + 1, r16), k + 2);
        }
        let max = 132 + 134 * 254;
        assert_eq!(split(&packet(max), r8).unwrap().len(), 255);
        assert_eq!(split(&packet(max + 1), r8), Err(BuildError::TooManySegments { needed: 256, max: 255 }));
    }

    #[test]
    fn split_reassemble_shuffled_with_duplicates() {
        let oa = Address::international("4912345").unwrap();
        let sizes: Vec<usize> = {
            let mut s = vec![0, 1, 100, 136, 137, 138, 139];
            for k in 0..4 {
                for base in [132 + 134 * k, 131 + 133 * k] {
                    s.extend([base - 1, base, base + 1]);
                }
            }
            s
        };
        for (n, len) in sizes.into_iter().enumerate() {
            for reference in [ConcatRef::Eight(n as u8), ConcatRef::Sixteen(0x100 + n as u16)] {
                let p = packet(len);
                let mut segs = split(&p, reference).unwrap();
                let count = segs.len();
                shuffle(&mut segs, len as u64 * 31 + n as u64);
                // Feed in shuffled order with duplicates of already-sent segments before the last one.
                let mut feed = segs.clone();
                if count > 1 {
                    feed.insert(1, segs[0].clone());
                    let k = (count - 1) / 2;
                    feed.insert(k + 2, segs[k].clone());
                }
                let mut r = Reassembler::new(PacketKind::Command);
                let mut dups = 0;
                for (i, s) in feed.iter().enumerate() {
                    match r.push(&oa, s, Dcs::SIM_SPECIFIC_8BIT).unwrap() {
                        Progress::Complete(b) => {
                            assert_eq!(i, feed.len() - 1, "len {len}: completes on the last segment");
                            assert_eq!(b, p, "len {len} {reference:?}");
                        }
                        Progress::Duplicate => dups += 1,
                        Progress::Pending { total, .. } => {
                            assert_eq!(total as usize, count);
                            assert_ne!(i, feed.len() - 1);
                        }
                    }
                }
                assert_eq!(dups, if count > 1 { 2 } else { 0 }, "len {len}");
                assert_eq!((r.pending_count(), r.pending_bytes()), (0, 0));
            }
        }
    }

    #[test]
    fn full_delivers_decode_and_reassemble() {
        let oa = Address::from_digits(0x81, "12345678").unwrap();
        let scts = Scts::new(22, 7, 25, 0, 0, 0, 0).unwrap();
        let p = packet(400);
        let tpdus = deliver_tpdus(&p, ConcatRef::Eight(7), oa, scts).unwrap();
        assert_eq!(tpdus.len(), 3);
        let mut r = Reassembler::new(PacketKind::Command);
        let mut out = None;
        for t in tpdus.iter().rev() {
            let b = t.encode();
            assert_eq!(b[0], 0x40, "TP-UDHI");
            let d = Deliver::decode_exact(&b).unwrap();
            assert_eq!(&d, t);
            assert_eq!(d.pid, Pid(0x7F));
            assert_eq!(d.dcs, Dcs(0xF6));
            if let Progress::Complete(x) = r.push_deliver(&d).unwrap() {
                out = Some(x);
            }
        }
        assert_eq!(out.unwrap(), p);
    }

    #[test]
    fn inconsistent_segments_are_reported() {
        let oa = Address::international("1").unwrap();
        let dcs = Dcs::SIM_SPECIFIC_8BIT;
        let ud = |ies: Vec<Ie>, data: &[u8]| UserData::octets(Some(Udh(ies)), data.to_vec()).unwrap();
        let mut r = Reassembler::new(PacketKind::Command);
        let c = |total, seq| Ie::Concat8 { reference: 5, total, seq };
        assert_eq!(
            r.push(&oa, &ud(vec![c(3, 0)], b"x"), dcs),
            Err(ReassemblyError::BadIndex { index: 0, total: 3 })
        );
        assert_eq!(
            r.push(&oa, &ud(vec![c(3, 4)], b"x"), dcs),
            Err(ReassemblyError::BadIndex { index: 4, total: 3 })
        );
        assert_eq!(
            r.push(&oa, &ud(vec![c(0, 0)], b"x"), dcs),
            Err(ReassemblyError::BadIndex { index: 0, total: 0 })
        );
        assert_eq!(r.push(&oa, &ud(vec![c(3, 1)], b"x"), dcs), Err(ReassemblyError::IdentifierMissing));
        assert_eq!(
            r.push(&oa, &ud(vec![c(3, 2), Ie::CommandPacket], b"x"), dcs),
            Err(ReassemblyError::IdentifierNotInFirst { index: 2 })
        );
        assert_eq!(
            r.push(&oa, &ud(vec![c(3, 2)], b"two"), dcs),
            Ok(Progress::Pending { received: 1, total: 3 })
        );
        assert_eq!(
            r.push(&oa, &ud(vec![c(4, 3)], b"x"), dcs),
            Err(ReassemblyError::TotalMismatch { expected: 3, found: 4 })
        );
        assert_eq!(r.push(&oa, &ud(vec![c(3, 2)], b"two"), dcs), Ok(Progress::Duplicate));
        assert_eq!(r.push(&oa, &ud(vec![c(3, 2)], b"TWO"), dcs), Err(ReassemblyError::Conflict { index: 2 }));
        assert_eq!(r.missing(&oa, ConcatRef::Eight(5)), Some(vec![1, 3]));
        // Another originator with the same reference is another message.
        let ob = Address::international("2").unwrap();
        assert_eq!(
            r.push(&ob, &ud(vec![c(2, 2)], b"b"), dcs),
            Ok(Progress::Pending { received: 1, total: 2 })
        );
        assert_eq!(r.pending_count(), 2);
        assert_eq!(
            r.push(&oa, &ud(vec![c(3, 3)], b"3"), dcs),
            Ok(Progress::Pending { received: 2, total: 3 })
        );
        assert_eq!(
            r.push(&oa, &ud(vec![c(3, 1), Ie::CommandPacket], b"one"), dcs),
            Ok(Progress::Complete(b"onetwo3".to_vec()))
        );
        assert_eq!(r.missing(&oa, ConcatRef::Eight(5)), None);
        assert!(r.discard(&ob, ConcatRef::Eight(5)));
        assert_eq!((r.pending_count(), r.pending_bytes()), (0, 0));
        // Not a packet at all, two concat IEs, GSM 7-bit.
        assert_eq!(
            r.push(&oa, &UserData::octets(None, vec![1]).unwrap(), dcs),
            Err(ReassemblyError::NotAPacket)
        );
        assert_eq!(
            r.push(&oa, &ud(vec![Ie::Ports8 { destination: 1, originator: 2 }], b"x"), dcs),
            Err(ReassemblyError::NotAPacket)
        );
        assert_eq!(
            r.push(&oa, &ud(vec![c(2, 1), Ie::Concat16 { reference: 1, total: 2, seq: 1 }], b"x"), dcs),
            Err(ReassemblyError::AmbiguousConcatenation)
        );
        assert_eq!(
            r.push(&oa, &ud(vec![Ie::CommandPacket], b"x"), Dcs(0)),
            Err(ReassemblyError::NotEightBit)
        );
        // A response reassembler wants IE 71.
        let mut rr = Reassembler::new(PacketKind::Response);
        assert_eq!(rr.push(&oa, &ud(vec![Ie::CommandPacket], b"x"), dcs), Err(ReassemblyError::NotAPacket));
        assert_eq!(
            rr.push(&oa, &ud(vec![Ie::ResponsePacket], b"x"), dcs),
            Ok(Progress::Complete(b"x".to_vec()))
        );
        let segs = split_kind(&packet(200), ConcatRef::Eight(3), PacketKind::Response).unwrap();
        assert!(segs[0].header.as_ref().unwrap().has_response_packet());
        assert!(matches!(rr.push(&oa, &segs[1], dcs), Ok(Progress::Pending { .. })));
        assert_eq!(rr.push(&oa, &segs[0], dcs), Ok(Progress::Complete(packet(200))));
    }

    #[test]
    fn memory_is_bounded() {
        let dcs = Dcs::SIM_SPECIFIC_8BIT;
        let mut r = Reassembler::with_limits(PacketKind::Command, 3, 1000);
        // Five messages from five originators, each waiting for its first segment: only 3 stay.
        for i in 0..5u8 {
            let oa = Address::from_digits(0x81, &i.to_string()).unwrap();
            let segs = split(&packet(300), ConcatRef::Eight(i)).unwrap();
            r.push(&oa, &segs[1], dcs).unwrap();
            assert!(r.pending_count() <= 3);
        }
        assert_eq!(r.evicted(), 2);
        assert_eq!(r.pending_count(), 3);
        assert_eq!(r.pending_bytes(), 3 * 134);
        // The byte budget evicts old messages to make room for the current one.
        let oa = Address::from_digits(0x81, "9").unwrap();
        let segs = split(&packet(700), ConcatRef::Eight(9)).unwrap();
        for s in &segs[1..4] {
            r.push(&oa, s, dcs).unwrap();
            assert!(r.pending_bytes() <= 1000);
        }
        assert!(r.evicted() > 2);
        // A message larger than the whole budget is refused.
        let mut small = Reassembler::with_limits(PacketKind::Command, 3, 100);
        assert!(matches!(small.push(&oa, &segs[1], dcs), Err(ReassemblyError::TooLarge { .. })));
        assert_eq!(small.pending_bytes(), 0);
    }
}

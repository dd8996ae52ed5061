//! The key-slot applet of S3-090907 Alternative 3b: a card personalised with an indexed list of
//! (K/OPc, OTA keyset) pairs that an operator moves to the next pair, and a new IMSI, over the air.
//!
//! No standard exists (m2m.md §4.5 [P]). Of the two designs the digest proposes we adopt (b), the
//! command-based one, because the switch is atomic: one command carries the new IMSI, the index and a
//! check of the card's identity, and the card commits all of it at once at the next reset, where the
//! file-based design (a) needs two UPDATE BINARYs that can be half applied.
//!
//! # The command
//!
//! GlobalPlatform STORE DATA (GP 2.2 §11.11) to the applet's own TAR (`C0 00 01` in the example profile;
//! configurable like every TAR), carried in SCP80 like RFM, compact script format:
//!
//! ```text
//! 80 E2 90 00 Lc  A0 L { 80 09 <new EF_IMSI, 9 bytes, TS 31.102 §4.2.2>
//!                        81 01 <new index>
//!                        82 0A <EF_ICCID of the card, 10 bytes: a check that the command is for this card>
//!                        83 01 <flags: b1 = issue REFRESH (UICC reset) after the command; b8..b2 RFU = 0>
//!                        84 01 <MNC length 2 or 3 for EF_AD byte 4>                    (optional) }
//! ```
//!
//! P1 must have b8 set (last block; `90` = last block, BER-TLV); P2 `00`. Improvement over the proposal:
//! the MNC length travels as its own TLV `84` instead of a flag bit, because the card cannot derive it
//! from the IMSI digits.
//!
//! Response data (`9000`): `80 01 <index> 81 01 <pairs left after it> 82 03 <KCV of the new KIc> 83 03 <KCV
//! of the new KID>`. The KCVs are GlobalPlatform's (as PUT KEY's: [`kcv`]); they let MNO B check that
//! the pair it obtained from the manufacturer is the one the card will use,
//! without revealing anything about the key. `83` is absent when the KID is a keyless CRC.
//!
//! Status words, checked in this order:
//!
//! | SW | meaning |
//! |---|---|
//! | `6E00` / `6D00` / `6A86` | CLA not `80` / INS not `E2` / P1 without b8, or P2 not `00` |
//! | `6982` | the packet was not secured with the keyset of the active pair (only the current operator may move the card) |
//! | `6A80` | the data is not the template above, an unknown tag, an EF_IMSI that does not decode, RFU flag bits, an MNC length other than 2/3, or an ICCID that is not this card's |
//! | `6A84` | the list is exhausted: the active pair is the last one |
//! | `6985` | the index is not the active one + 1 (no roll-back, no skipping) |
//!
//! # The switch
//!
//! The command only records the switch (it is "pending"; a repeat of the same command replaces it, so an
//! OTA server retrying after a lost PoR is harmless); its PoR is still secured with the old keyset. At the
//! next reset or power-on the card commits it: EF_IMSI in ADF.USIM (and so in DF_GSM, which links to it)
//! gets the new IMSI, EF_AD the MNC length when given, EF_LOCI/EF_PSLOCI/EF_EPSLOCI are invalidated (TMSI,
//! P-TMSI and GUTI deleted, LAC/TAC `FFFE`, status "not updated": the device attaches with its IMSI), K and
//! OPc of the new pair replace the old (with a fresh SQN array), the pair's OTA keyset replaces the old one
//! (its receive counter starting at zero), and the consumed pairs are erased (zeroised). After that, the
//! previous operator's keys are unknown to the card.

use std::collections::BTreeMap;
use std::fmt;

use m2msim_codec::apdu::{CommandApdu, ResponseApdu, StatusWord};
use m2msim_codec::cat::RefreshMode;
use m2msim_codec::rfm::P3Rule;
use m2msim_codec::sim::fid;
use m2msim_codec::sim::{EfAd, EfEpsloci, EfImsi, EfLoci, EfPsloci};
use m2msim_codec::tlv::ber::BerTlv;
use m2msim_codec::{Decode, Encode};
use zeroize::Zeroizing;

use super::Uicc;
use super::applet::{Applet, AppletContext, INS_STORE_DATA, KeysetUpdate};
use super::fs::{EfBody, FileSystem};
use crate::crypto::{ChecksumAlgorithm, SecurityProvider};
use crate::keys::{Keyset, Kvn};

/// Flag b1 of tag `83`: issue REFRESH (UICC reset) once the command is recorded.
pub const FLAG_REFRESH: u8 = 0x01;

/// One pair of the list: K/OPc for AKA and the OTA keyset that goes with it.
pub struct KeySlot {
    /// The index (2.. for the pairs after the initial one).
    pub index: u8,
    k: Zeroizing<[u8; 16]>,
    opc: Zeroizing<[u8; 16]>,
    /// The OTA keyset of the pair.
    pub keyset: Keyset,
}

impl fmt::Debug for KeySlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySlot")
            .field("index", &self.index)
            .field("k", &"<redacted>")
            .field("opc", &"<redacted>")
            .field("kvn", &self.keyset.kvn())
            .finish()
    }
}

impl KeySlot {
    /// A pair.
    #[must_use]
    pub fn new(index: u8, k: [u8; 16], opc: [u8; 16], keyset: Keyset) -> Self {
        Self { index, k: Zeroizing::new(k), opc: Zeroizing::new(opc), keyset }
    }

    /// K (for the card file).
    #[must_use]
    pub fn expose_k(&self) -> &[u8; 16] {
        &self.k
    }

    /// OPc (for the card file).
    #[must_use]
    pub fn expose_opc(&self) -> &[u8; 16] {
        &self.opc
    }
}

/// A switch recorded by the command, committed at the next reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSwitch {
    /// The index moved to.
    pub index: u8,
    /// The new EF_IMSI contents.
    pub ef_imsi: EfImsi,
    /// The MNC length for EF_AD, when given.
    pub mnc_length: Option<u8>,
}

/// The card's list of pairs and where it stands (see the module docs).
#[derive(Debug)]
pub struct KeySlots {
    /// The index of the active pair (1 = the initial one).
    pub active: u8,
    /// The KVN of the active pair's OTA keyset.
    pub active_kvn: Kvn,
    /// The last index of the list.
    pub last: u8,
    /// The pairs not used yet, by index (all above `active`).
    pub slots: BTreeMap<u8, KeySlot>,
    /// The recorded switch, if any.
    pub pending: Option<PendingSwitch>,
}

impl KeySlots {
    /// How many pairs remain after `index`.
    #[must_use]
    pub const fn left_after(&self, index: u8) -> u8 {
        self.last.saturating_sub(index)
    }
}

/// The key check value of one key of a keyset, as GlobalPlatform computes it for PUT KEY
/// ([`super::isd::kcv`]: DES family, the first 3 bytes of 8 zero bytes enciphered; AES, of 16 bytes
/// `01`), so that MNO B checks the pair it obtained with the same function it uses for its own keys.
/// `None` for a keyless algorithm.
#[must_use]
pub fn kcv(provider: &dyn SecurityProvider, keyset: &Keyset, which: KcvOf) -> Option<[u8; 3]> {
    match which {
        KcvOf::Kic => {
            let spec = keyset.kic().spec();
            super::isd::kcv(provider, !spec.algorithm().is_des(), spec.key()).ok()
        }
        KcvOf::Kid => {
            let spec = keyset.kid().spec();
            let aes = matches!(spec.algorithm(), ChecksumAlgorithm::AesCmac { .. });
            super::isd::kcv(provider, aes, spec.key()?).ok()
        }
    }
}

/// Which key of a keyset a KCV is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KcvOf {
    /// The ciphering key.
    Kic,
    /// The RC/CC key.
    Kid,
}

/// The key-slot applet (see the module docs). Its state is the card's [`KeySlots`], lent to it in the
/// [`AppletContext`].
#[derive(Debug, Clone, Default)]
pub struct KeySlotApplet;

struct Request {
    ef_imsi: EfImsi,
    index: u8,
    iccid: Vec<u8>,
    flags: u8,
    mnc_length: Option<u8>,
}

fn parse(data: &[u8]) -> Option<Request> {
    let t = BerTlv::decode_exact(data).ok()?;
    if t.tag.value() != 0xA0 {
        return None;
    }
    let (mut imsi, mut index, mut iccid, mut flags, mut mnc) = (None, None, None, None, None);
    for c in t.children()? {
        let v = c.primitive_value()?;
        let slot = match c.tag.value() {
            0x80 => &mut imsi,
            0x81 => &mut index,
            0x82 => &mut iccid,
            0x83 => &mut flags,
            0x84 => &mut mnc,
            _ => return None,
        };
        if slot.replace(v.to_vec()).is_some() {
            return None;
        }
    }
    let one = |v: Option<Vec<u8>>| match v.as_deref() {
        Some([b]) => Some(*b),
        _ => None,
    };
    let ef_imsi = EfImsi::decode_exact(&imsi?).ok()?;
    let iccid = iccid.filter(|i| i.len() == 10)?;
    let flags = one(flags)?;
    if flags & !FLAG_REFRESH != 0 {
        return None;
    }
    let mnc_length = match mnc {
        None => None,
        Some(m) => Some(one(Some(m)).filter(|n| matches!(n, 2 | 3))?),
    };
    Some(Request { ef_imsi, index: one(index)?, iccid, flags, mnc_length })
}

fn card_iccid(fs: &FileSystem) -> Option<&[u8]> {
    match fs.ef_at(fs.mf(), &[fid::EF_ICCID])? {
        EfBody::Transparent(d) => Some(d),
        EfBody::LinearFixed { .. } => None,
    }
}

impl Applet for KeySlotApplet {
    fn kind(&self) -> &'static str {
        "keyslot"
    }

    fn p3_rule(&self) -> P3Rule {
        P3Rule::GLOBAL_PLATFORM
    }

    fn process(&mut self, apdu: &CommandApdu, ctx: &mut AppletContext<'_>) -> ResponseApdu {
        let sw = ResponseApdu::status;
        if apdu.cla.0 != 0x80 {
            return sw(StatusWord::CLA_NOT_SUPPORTED);
        }
        if apdu.ins != INS_STORE_DATA {
            return sw(StatusWord::INS_NOT_SUPPORTED);
        }
        if apdu.p1 & 0x80 == 0 || apdu.p2 != 0 {
            return sw(StatusWord::WRONG_P1_P2);
        }
        let Some(slots) = ctx.keyslots.as_deref_mut() else {
            // A card without a list: nothing to refer to.
            return sw(StatusWord::REFERENCED_DATA_NOT_FOUND);
        };
        if ctx.packet.kvn() != Some(slots.active_kvn) {
            return sw(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        let Some(req) = parse(apdu.data()) else { return sw(StatusWord::WRONG_DATA) };
        if card_iccid(ctx.fs) != Some(req.iccid.as_slice()) {
            return sw(StatusWord::WRONG_DATA);
        }
        if slots.active >= slots.last {
            return sw(StatusWord::NOT_ENOUGH_MEMORY);
        }
        let Some(next) = slots.active.checked_add(1).filter(|n| *n == req.index) else {
            return sw(StatusWord::CONDITIONS_NOT_SATISFIED);
        };
        let Some(slot) = slots.slots.get(&next) else {
            // The pair was erased: the card cannot go there.
            return sw(StatusWord::NOT_ENOUGH_MEMORY);
        };
        let mut data = vec![0x80, 0x01, next, 0x81, 0x01, slots.left_after(next)];
        if let Some(k) = kcv(ctx.provider, &slot.keyset, KcvOf::Kic) {
            data.extend_from_slice(&[0x82, 0x03]);
            data.extend_from_slice(&k);
        }
        if let Some(k) = kcv(ctx.provider, &slot.keyset, KcvOf::Kid) {
            data.extend_from_slice(&[0x83, 0x03]);
            data.extend_from_slice(&k);
        }
        slots.pending = Some(PendingSwitch { index: next, ef_imsi: req.ef_imsi, mnc_length: req.mnc_length });
        if req.flags & FLAG_REFRESH != 0 && ctx.proactive.push_refresh(RefreshMode::UiccReset).is_err() {
            return sw(StatusWord::NOT_ENOUGH_MEMORY);
        }
        ResponseApdu { data, sw: StatusWord::OK }
    }
}

fn write_transparent(fs: &mut FileSystem, root: super::fs::NodeId, fid: u16, f: impl FnOnce(&mut Vec<u8>)) {
    if let Some(id) = fs.child_by_fid(root, fid)
        && let Some(EfBody::Transparent(d)) = fs.body_mut(id)
    {
        f(d);
    }
}

fn rewrite<T: Decode + Encode>(d: &mut Vec<u8>, change: impl FnOnce(&mut T)) {
    if let Ok(mut v) = T::decode_exact(d) {
        change(&mut v);
        let bytes = v.encode();
        if bytes.len() == d.len() {
            *d = bytes;
        }
    }
}

impl Uicc {
    /// The Alt 3b list of pairs, if the card has one.
    #[must_use]
    pub const fn key_slots(&self) -> Option<&KeySlots> {
        self.keyslots.as_ref()
    }

    /// Commits a pending key-slot switch (at power-on / reset; see the module docs).
    pub(super) fn commit_key_slot(&mut self) {
        let Some(slots) = self.keyslots.as_mut() else { return };
        let Some(p) = slots.pending.take() else { return };
        let Some(slot) = slots.slots.remove(&p.index) else { return };
        let old_kvn = slots.active_kvn;
        slots.active = p.index;
        slots.active_kvn = slot.keyset.kvn();
        slots.slots.retain(|&i, _| i > p.index);
        if let Some(adf) = self.fs.adf_by_label("USIM") {
            let fs = &mut self.fs;
            write_transparent(fs, adf, fid::EF_IMSI, |d| {
                let bytes = p.ef_imsi.encode();
                if bytes.len() <= d.len() {
                    d[..bytes.len()].copy_from_slice(&bytes);
                    d[bytes.len()..].fill(0xFF);
                }
            });
            if let Some(n) = p.mnc_length {
                write_transparent(fs, adf, fid::EF_AD, |d| {
                    rewrite::<EfAd>(d, |ad| *ad = ad.clone().with_mnc_length(n))
                });
            }
            write_transparent(fs, adf, fid::EF_LOCI, |d| rewrite::<EfLoci>(d, EfLoci::invalidate));
            write_transparent(fs, adf, fid::EF_PSLOCI, |d| rewrite::<EfPsloci>(d, EfPsloci::invalidate));
            write_transparent(fs, adf, fid::EF_EPSLOCI, |d| rewrite::<EfEpsloci>(d, EfEpsloci::invalidate));
        }
        if let Some(sub) = self.subscriber.as_mut() {
            sub.replace_keys(*slot.k, *slot.opc);
        }
        let KeySlot { keyset, .. } = slot;
        self.apply(vec![KeysetUpdate { replaces: Some(old_kvn), keyset }]);
    }
}

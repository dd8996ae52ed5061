//! The card profile: a TOML file that describes a simulated card ([`CardProfile`]), and the card file, the
//! same format with a `[state]` section, that persists a card between runs ([`Uicc::save`], written
//! atomically: temporary file, fsync, rename, fsync of the directory).
//!
//! # Format
//!
//! ```toml
//! [card]
//! label = "m2msim test USIM"                   # optional
//! atr = "3B9F96801FC78031A073BE21136743200718000001A5"   # optional (hex); the default is DEFAULT_ATR
//!
//! [pins]
//! pin1 = { digits = "1234", attempts = 3 }     # or value = "<8 bytes hex>"
//! pin1_enabled = true                          # default true
//! puk1 = { digits = "12345678", attempts = 10 }
//! adm1 = { digits = "88888888", attempts = 10 }
//!
//! [subscriber]                                 # optional: AKA (Milenage)
//! k = "465b5ce8b199b49faa5f0a2ee238a6bc"
//! opc = "cd63cb71954a9f4e48a5994e37a02baf"     # or op = "…" (OPc is computed and written back)
//! sqn_ind_bits = 5                             # optional: TS 33.102 Annex C parameters
//! sqn_delta = 268435456
//! sqn_age_limit = 32                           # 0 = no age limit
//! include_kc = true                            # Kc in the 3G AUTHENTICATE response
//!
//! [[ota.keyset]]                               # the key file format of `crate::keys`
//! kvn = 1
//! kic = { algorithm = "3des2", key = "…" }
//! kid = { algorithm = "3des2-mac", key = "…" }
//! kik = { algorithm = "3des2", key = "…" }
//!
//! [[ota.application]]                          # one per TAR
//! tar = "b00011"
//! kind = "rfm"                                 # rfm | ram | refresh | keyslot
//! root = "adf:USIM"                            # rfm only: mf | df_gsm | adf:<label>
//! format = "compact"                           # rfm only: compact | expanded
//! access = "full"                              # rfm only: full | pin1
//! msl = "16"                                   # minimum SPI1 (hex byte)
//!
//! [ota]                                        # (written before the arrays above in a real file)
//! replay_status = "06"                         # PoR status for a replayed counter: 02 (default) or 06
//!
//! [keyslots]                                   # optional: the Alt 3b list (uicc::keyslot)
//! active = 1                                   # the active pair: [subscriber] and the keyset of KVN kvn
//! kvn = 1
//! last = 3                                     # the last index
//! [[keyslots.slot]]                            # the pairs after the active one
//! index = 2
//! k = "…"
//! opc = "…"
//! keyset = { kvn = 1, kic = { … }, kid = { … }, kik = { … } }
//! # [keyslots.pending] index = 2, ef_imsi = "…", mnc_length = 2: a switch to commit at the next reset
//!
//! [[file]]                                     # in order: parents before children
//! path = "3F00/2FE2"                           # from 3F00, or from ADF.<label>
//! name = "EF_ICCID"                            # optional
//! type = "transparent"                         # df | adf | transparent | linear_fixed | link
//! sfi = 2                                      # optional, EFs
//! read = "always"                              # always | pin1 | adm1 | never (default always)
//! update = "adm1"                              # (default adm1)
//! data = "98101032547698103254"                # transparent: contents (hex)
//! size = 10                                    # optional: pad data with FF to this size
//! # linear_fixed: record_len = 32, records = ["…", "…"], record_count = 4 (pads with FF records)
//! # adf: aid = "A0000000871002FF49FF0589"; link: target = "ADF.USIM/6F07"; any: arr = "6F0603" (FCP 8B)
//!
//! [state]                                      # written by the card; optional in a profile
//! pin1_left = 3
//! puk1_left = 10
//! adm1_left = 10
//! sqn = [0, 0, …]                              # SEQ_MS(i), 2^sqn_ind_bits entries
//! counters = { "1" = "0000000005" }            # receive CNTR per KVN (hex)
//! ```
//!
//! The MF exists without an entry. A file's type must fit its path: `adf` entries are `ADF.<label>`
//! alone; everything else lives under `3F00` or an ADF. Unknown fields are errors. Applets installed by
//! code ([`Uicc::install_applet`]) are not part of the file.
//!
//! The card file holds every key of the card in the clear (it *is* the card): it is created with mode
//! 0600 on Unix; keep it so. Errors never quote key values.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use m2msim_codec::hexser;
use m2msim_codec::ota::{PorStatus, Tar};
use m2msim_codec::sms::concat::{PacketKind, Reassembler};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::applet::{Applet, RefreshApplet, RfmApplet, RfmRoot, ScriptFormat};
use super::auth::Subscriber;
use super::commands::{Channel, Rights};
use super::fs::{AccessCondition, EfBody, FileSystem, FsError, NewFile, NodeId, NodeKind};
use super::isd::IsdApplet;
use super::keyslot::{KeySlot, KeySlotApplet, KeySlots, PendingSwitch};
use super::pin::{Pin, PinError, Pins};
use super::proactive::ProactiveQueue;
use super::{Application, DEFAULT_ATR, Uicc};
use crate::card::{CardPolicy, CardSecurity, Msl, TarTable};
use crate::counter::{CardId, Counter, CounterStore, MemoryCounterStore};
use crate::crypto::{RustCryptoProvider, SecurityProvider};
use crate::keys::{self, Keyset, Keysets, Kvn};
use crate::milenage::{SqnParams, opc_from_op};

/// Errors building a card from a profile, or reading and writing card files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The file could not be read or written.
    #[error("card file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not TOML, or not the profile's shape (unknown field, wrong type, missing field).
    #[error("profile: {0}")]
    Syntax(String),
    /// A field has a value the card cannot use.
    #[error("profile: {field}: {reason}")]
    Invalid {
        /// The field (`pins.pin1`, `file 3F00/2FE2`, `ota.application b00011` …).
        field: String,
        /// Why.
        reason: &'static str,
    },
    /// A file entry breaks a rule of the file system.
    #[error("profile: file: {0}")]
    File(#[from] FsError),
    /// A keyset entry is invalid.
    #[error("profile: ota.keyset: {0}")]
    Keys(#[from] keys::KeyFileError),
}

fn invalid(field: impl Into<String>, reason: &'static str) -> ProfileError {
    ProfileError::Invalid { field: field.into(), reason }
}

/// Key bytes read from hex, zeroized on drop, redacted in `Debug`, written back as hex.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHex(Zeroizing<Vec<u8>>);

impl SecretHex {
    /// Wraps bytes.
    #[must_use]
    pub fn new(bytes: &[u8]) -> Self {
        Self(Zeroizing::new(bytes.to_vec()))
    }

    /// The bytes.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretHex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for SecretHex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = Zeroizing::new(hex::encode(self.0.as_slice()));
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for SecretHex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Zeroizing::new(String::deserialize(d)?);
        hexser::parse_hex(&text).map(|v| Self(Zeroizing::new(v))).map_err(serde::de::Error::custom)
    }
}

/// Serde for `Option<u8>` as two hex digits.
mod opt_byte {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(b: &Option<u8>, s: S) -> Result<S::Ok, S::Error> {
        match b {
            Some(b) => m2msim_codec::hexser::byte::serialize(b, s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u8>, D::Error> {
        #[derive(Deserialize)]
        struct Hex(#[serde(with = "m2msim_codec::hexser::byte")] u8);
        Ok(Option::<Hex>::deserialize(d)?.map(|h| h.0))
    }
}

/// Bytes written as hex (non-secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HexBytes(#[serde(with = "m2msim_codec::hexser")] pub Vec<u8>);

/// `[card]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardSection {
    /// A name for listings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The ATR (default [`DEFAULT_ATR`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atr: Option<HexBytes>,
}

/// One PIN: `digits` (4..=8 decimal digits, stored as ASCII padded with `FF`) or `value` (8 bytes hex),
/// and its attempt limit.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinSpec {
    /// Decimal digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digits: Option<String>,
    /// Raw value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<SecretHex>,
    /// Attempts (1..=15).
    pub attempts: u8,
}

impl fmt::Debug for PinSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinSpec").field("value", &"<redacted>").field("attempts", &self.attempts).finish()
    }
}

impl PinSpec {
    fn build(&self, field: &str, left: Option<u8>) -> Result<Pin, ProfileError> {
        let value = match (&self.digits, &self.value) {
            (Some(d), None) => {
                Pin::value_from_digits(d).map_err(|_| invalid(field, "digits: 4 to 8 decimal digits"))?
            }
            (None, Some(v)) => {
                <[u8; 8]>::try_from(v.expose()).map_err(|_| invalid(field, "value: 8 bytes"))?
            }
            _ => return Err(invalid(field, "give exactly one of digits and value")),
        };
        Pin::new(value, self.attempts, left.unwrap_or(self.attempts)).map_err(|e| match e {
            PinError::Attempts => invalid(field, "attempts 1..=15, attempts left at most attempts"),
            PinError::Format => invalid(field, "bad value"),
        })
    }

    fn of(pin: &Pin) -> Self {
        match pin.digits() {
            Some(d) => Self { digits: Some(d), value: None, attempts: pin.max },
            None => Self { digits: None, value: Some(SecretHex::new(pin.expose_value())), attempts: pin.max },
        }
    }
}

const fn yes() -> bool {
    true
}

/// `[pins]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinsSpec {
    /// PIN1.
    pub pin1: PinSpec,
    /// PIN1 verification enabled.
    #[serde(default = "yes")]
    pub pin1_enabled: bool,
    /// PUK1.
    pub puk1: PinSpec,
    /// ADM1.
    pub adm1: PinSpec,
}

/// `[subscriber]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriberSpec {
    /// K (16 bytes).
    pub k: SecretHex,
    /// OPc (16 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opc: Option<SecretHex>,
    /// OP (16 bytes), when OPc is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<SecretHex>,
    /// IND length in bits (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqn_ind_bits: Option<u8>,
    /// Δ (default 2^28).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqn_delta: Option<u64>,
    /// L, 0 for none (default 32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqn_age_limit: Option<u64>,
    /// Kc in the 3G AUTHENTICATE response (default true).
    #[serde(default = "yes")]
    pub include_kc: bool,
}

impl SubscriberSpec {
    fn params(&self) -> SqnParams {
        let d = SqnParams::default();
        SqnParams {
            ind_bits: self.sqn_ind_bits.unwrap_or(d.ind_bits),
            delta: self.sqn_delta.unwrap_or(d.delta),
            age_limit: match self.sqn_age_limit {
                None => d.age_limit,
                Some(0) => None,
                Some(l) => Some(l),
            },
        }
    }
}

/// What an application is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationKind {
    /// Remote file management.
    Rfm,
    /// Remote application management on the ISD (PUT KEY).
    Ram,
    /// The REFRESH applet.
    Refresh,
    /// The Alt 3b key-slot applet (its list in `[keyslots]`; see [`super::keyslot`]).
    #[serde(rename = "keyslot")]
    KeySlot,
}

/// The access domain of an RFM application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessDomain {
    /// Every access condition but NEVER (TS 102 226 §7: "full access").
    #[default]
    Full,
    /// Only what PIN1 grants.
    Pin1,
}

/// `[[ota.application]]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationSpec {
    /// The TAR.
    pub tar: Tar,
    /// What it is.
    pub kind: ApplicationKind,
    /// RFM: `mf`, `df_gsm` or `adf:<label>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// RFM: script format (default compact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<ScriptFormat>,
    /// RFM: access domain (default full).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<AccessDomain>,
    /// Minimum security level, an SPI first byte.
    #[serde(with = "m2msim_codec::hexser::byte")]
    pub msl: u8,
}

impl ApplicationSpec {
    fn applet(&self) -> Result<Box<dyn Applet>, ProfileError> {
        let field = || format!("ota.application {}", self.tar);
        let rfm_only = self.root.is_some() || self.format.is_some() || self.access.is_some();
        Ok(match self.kind {
            ApplicationKind::Rfm => {
                let root = match self.root.as_deref() {
                    Some("mf") => RfmRoot::Mf,
                    Some("df_gsm") => RfmRoot::DfGsm,
                    Some(r) => match r.strip_prefix("adf:") {
                        Some(label) if !label.is_empty() => RfmRoot::Adf(label.to_owned()),
                        _ => return Err(invalid(field(), "root: mf, df_gsm or adf:<label>")),
                    },
                    None => return Err(invalid(field(), "an rfm application needs a root")),
                };
                let rights = match self.access.unwrap_or_default() {
                    AccessDomain::Full => Rights::FULL,
                    AccessDomain::Pin1 => Rights { pin1: true, adm1: false },
                };
                Box::new(RfmApplet::new(root, self.format.unwrap_or_default(), rights))
            }
            ApplicationKind::Ram if !rfm_only => Box::new(IsdApplet),
            ApplicationKind::Refresh if !rfm_only => Box::new(RefreshApplet),
            ApplicationKind::KeySlot if !rfm_only => Box::new(KeySlotApplet),
            _ => return Err(invalid(field(), "root, format and access apply to rfm applications only")),
        })
    }
}

/// `[ota]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtaSpec {
    /// Keysets in the key file format (see [`crate::keys`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keyset: Vec<toml::Table>,
    /// Applications by TAR.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub application: Vec<ApplicationSpec>,
    /// The PoR status for a replayed counter (equal to the stored one): `02` (default) or `06` as real
    /// cards answer (see [`crate::card::CardPolicy`]).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_byte")]
    pub replay_status: Option<u8>,
}

/// The type of a `[[file]]` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileType {
    /// A DF.
    Df,
    /// An ADF.
    Adf,
    /// A transparent EF.
    Transparent,
    /// A linear-fixed EF.
    LinearFixed,
    /// An EF sharing another EF's contents.
    Link,
}

/// `[[file]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// `3F00/…` or `ADF.<label>[/…]`.
    pub path: String,
    /// A name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What it is.
    #[serde(rename = "type")]
    pub kind: FileType,
    /// ADF: the AID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aid: Option<HexBytes>,
    /// EF: short file identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sfi: Option<u8>,
    /// EF: read condition (default always).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<AccessCondition>,
    /// EF: update condition (default adm1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<AccessCondition>,
    /// Transparent: contents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<HexBytes>,
    /// Transparent: size (pads `data` with `FF`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<usize>,
    /// Linear fixed: record length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_len: Option<u8>,
    /// Linear fixed: records (each padded with `FF` to the record length).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<Vec<HexBytes>>,
    /// Linear fixed: number of records (pads with `FF` records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_count: Option<usize>,
    /// Link: the target path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// FCP tag `8B` value (EF_ARR FID and record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arr: Option<HexBytes>,
}

/// `[keyslots]`: the indexed list of (K/OPc, OTA keyset) pairs of S3-090907 Alt 3b ([`super::keyslot`]).
/// The active pair is the card's `[subscriber]` and the `[[ota.keyset]]` with KVN `kvn`; the list holds
/// the pairs after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySlotsSpec {
    /// The index of the active pair (1 on a new card).
    pub active: u8,
    /// The KVN of the active pair's OTA keyset.
    pub kvn: u8,
    /// The last index of the list.
    pub last: u8,
    /// The pairs after the active one.
    #[serde(default, rename = "slot", skip_serializing_if = "Vec::is_empty")]
    pub slots: Vec<KeySlotSpec>,
    /// A switch recorded and not committed yet (card state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingSpec>,
}

/// `[[keyslots.slot]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySlotSpec {
    /// Its index.
    pub index: u8,
    /// K (16 bytes).
    pub k: SecretHex,
    /// OPc (16 bytes).
    pub opc: SecretHex,
    /// Its OTA keyset, in the key file format.
    pub keyset: toml::Table,
}

/// `[keyslots.pending]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingSpec {
    /// The index moved to.
    pub index: u8,
    /// The new EF_IMSI (hex).
    #[serde(with = "hexser")]
    pub ef_imsi: Vec<u8>,
    /// The MNC length for EF_AD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mnc_length: Option<u8>,
}

fn build_key_slots(spec: &KeySlotsSpec, provider: &dyn SecurityProvider) -> Result<KeySlots, ProfileError> {
    use m2msim_codec::Decode as _;
    let bad = |reason| invalid("keyslots", reason);
    let active_kvn = Kvn::new(spec.kvn).map_err(|_| bad("kvn: 1..=15"))?;
    if spec.active == 0 || spec.last < spec.active {
        return Err(bad("need 1 <= active <= last"));
    }
    let mut slots = BTreeMap::new();
    for s in &spec.slots {
        if s.index <= spec.active || s.index > spec.last {
            return Err(bad("slot indices lie after active, up to last"));
        }
        let k = <[u8; 16]>::try_from(s.k.expose()).map_err(|_| bad("slot k: 16 bytes"))?;
        let opc = <[u8; 16]>::try_from(s.opc.expose()).map_err(|_| bad("slot opc: 16 bytes"))?;
        let mut set = build_keysets(std::slice::from_ref(&s.keyset), provider)?;
        let kvn = set.iter().next().map(Keyset::kvn).ok_or_else(|| bad("slot keyset"))?;
        let keyset = set.remove(kvn).ok_or_else(|| bad("slot keyset"))?;
        if slots.insert(s.index, KeySlot::new(s.index, k, opc, keyset)).is_some() {
            return Err(bad("slot index used twice"));
        }
    }
    let pending = spec
        .pending
        .as_ref()
        .map(|p| {
            Ok::<_, ProfileError>(PendingSwitch {
                index: p.index,
                ef_imsi: m2msim_codec::sim::EfImsi::decode_exact(&p.ef_imsi)
                    .map_err(|_| bad("pending.ef_imsi"))?,
                mnc_length: p.mnc_length,
            })
        })
        .transpose()?;
    Ok(KeySlots { active: spec.active, active_kvn, last: spec.last, slots, pending })
}

fn key_slots_spec(k: &KeySlots) -> KeySlotsSpec {
    use m2msim_codec::Encode as _;
    KeySlotsSpec {
        active: k.active,
        kvn: k.active_kvn.get(),
        last: k.last,
        slots: k
            .slots
            .values()
            .map(|s| KeySlotSpec {
                index: s.index,
                k: SecretHex::new(s.expose_k()),
                opc: SecretHex::new(s.expose_opc()),
                keyset: keyset_table(&s.keyset),
            })
            .collect(),
        pending: k.pending.as_ref().map(|p| PendingSpec {
            index: p.index,
            ef_imsi: p.ef_imsi.encode(),
            mnc_length: p.mnc_length,
        }),
    }
}

/// `[state]`: what changes while the card is used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateSpec {
    /// PIN1 attempts left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin1_left: Option<u8>,
    /// PUK1 attempts left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub puk1_left: Option<u8>,
    /// ADM1 attempts left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adm1_left: Option<u8>,
    /// The SQN array SEQ_MS(i).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sqn: Vec<u64>,
    /// Receive counters per KVN (decimal KVN → 10 hex digits).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counters: BTreeMap<String, String>,
}

/// A card profile / card file (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardProfile {
    /// `[card]`.
    #[serde(default)]
    pub card: CardSection,
    /// `[pins]`.
    pub pins: PinsSpec,
    /// `[subscriber]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscriber: Option<SubscriberSpec>,
    /// `[ota]`.
    #[serde(default)]
    pub ota: OtaSpec,
    /// `[keyslots]`: the Alt 3b list of pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyslots: Option<KeySlotsSpec>,
    /// `[[file]]`.
    #[serde(default, rename = "file")]
    pub files: Vec<FileSpec>,
    /// `[state]`.
    #[serde(default)]
    pub state: StateSpec,
}

/// The example profile shipped with the crate (`scp80/profiles/usim.toml`): a USIM with DF_GSM, EF_DIR,
/// the files of an IMSI change, two OTA keysets and the applications of m2m.md §4.2 plus the REFRESH
/// applet.
pub const EXAMPLE_PROFILE: &str = include_str!("../../profiles/usim.toml");

impl CardProfile {
    /// Parses a profile.
    ///
    /// # Errors
    /// [`ProfileError::Syntax`] (the message quotes no values: they could be keys).
    pub fn from_toml(text: &str) -> Result<Self, ProfileError> {
        toml::from_str(text).map_err(|e| {
            let where_ = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
            ProfileError::Syntax(format!("line {where_}: {}", redact_quoted(e.message())))
        })
    }

    /// Writes the profile as TOML.
    ///
    /// # Errors
    /// [`ProfileError::Syntax`] if the value cannot be written (it always can for profiles built here).
    pub fn to_toml(&self) -> Result<Zeroizing<String>, ProfileError> {
        toml::to_string(self).map(Zeroizing::new).map_err(|e| ProfileError::Syntax(e.to_string()))
    }

    /// The example profile, parsed.
    ///
    /// # Errors
    /// None in practice (the file is tested).
    pub fn example() -> Result<Self, ProfileError> {
        Self::from_toml(EXAMPLE_PROFILE)
    }

    /// The card's OTA keysets (`[[ota.keyset]]`) under `provider`: the keys a sending entity needs for
    /// this card (TS 102 225 §5.1 KIc/KID by KVN), the same the card itself loads.
    ///
    /// # Errors
    /// [`ProfileError`] for a keyset the key file format refuses.
    pub fn keysets(&self, provider: &dyn SecurityProvider) -> Result<Keysets, ProfileError> {
        build_keysets(&self.ota.keyset, provider)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

/// Replaces double-quoted text in a parser message (it may be a key).
fn redact_quoted(message: &str) -> String {
    message
        .split('"')
        .enumerate()
        .map(|(i, p)| if i % 2 == 1 { "…" } else { p })
        .collect::<Vec<_>>()
        .join("\"")
}

/// Splits `3F00/7F20/6F07` or `ADF.USIM/6F07` into the root and the FIDs.
fn parse_path(path: &str) -> Result<(Root, Vec<u16>), ProfileError> {
    let mut parts = path.split('/');
    let first = parts.next().unwrap_or_default();
    let root = if first.eq_ignore_ascii_case("3F00") {
        Root::Mf
    } else if let Some(label) = first.strip_prefix("ADF.").filter(|l| !l.is_empty()) {
        Root::Adf(label.to_owned())
    } else {
        return Err(invalid(format!("file {path}"), "a path starts with 3F00 or ADF.<label>"));
    };
    let fids = parts
        .map(|p| {
            (p.len() == 4)
                .then(|| u16::from_str_radix(p, 16).ok())
                .flatten()
                .ok_or_else(|| invalid(format!("file {path}"), "path elements are 4 hex digits"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((root, fids))
}

enum Root {
    Mf,
    Adf(String),
}

fn resolve(fs: &FileSystem, path: &str) -> Result<(Option<NodeId>, u16, Option<NodeId>), ProfileError> {
    let (root, fids) = parse_path(path)?;
    let start = match root {
        Root::Mf => fs.mf(),
        Root::Adf(label) => {
            fs.adf_by_label(&label).ok_or_else(|| invalid(format!("file {path}"), "no such ADF"))?
        }
    };
    let Some((&last, init)) = fids.split_last() else { return Ok((None, 0, Some(start))) };
    let parent =
        fs.walk(start, init, None).ok_or_else(|| invalid(format!("file {path}"), "parent missing"))?;
    Ok((Some(parent), last, fs.child_by_fid(parent, last)))
}

fn build_fs(files: &[FileSpec]) -> Result<FileSystem, ProfileError> {
    let mut fs = FileSystem::new();
    for f in files {
        let field = || format!("file {}", f.path);
        if f.kind == FileType::Adf {
            let label = f
                .path
                .strip_prefix("ADF.")
                .filter(|l| !l.is_empty() && !l.contains('/'))
                .ok_or_else(|| invalid(field(), "an adf entry is ADF.<label>"))?;
            let aid = f.aid.as_ref().ok_or_else(|| invalid(field(), "an adf needs an aid"))?;
            let id = fs.add_adf(label, aid.0.clone())?;
            fs.set_arr(id, f.arr.as_ref().map(|a| a.0.clone()));
            continue;
        }
        let (parent, fid, existing) = resolve(&fs, &f.path)?;
        let Some(parent) = parent else {
            // `3F00` alone: the MF exists already; only its ARR can be set.
            if f.kind != FileType::Df || f.path.contains("ADF.") {
                return Err(invalid(field(), "3F00 is the MF (type df)"));
            }
            fs.set_arr(fs.mf(), f.arr.as_ref().map(|a| a.0.clone()));
            continue;
        };
        if existing.is_some() {
            return Err(FsError::Duplicate { path: f.path.clone() }.into());
        }
        let kind = match f.kind {
            FileType::Df => NodeKind::Df,
            FileType::Adf => return Err(invalid(field(), "adf entries are roots")),
            FileType::Transparent => {
                let mut data = f.data.as_ref().map(|d| d.0.clone()).unwrap_or_default();
                if let Some(size) = f.size {
                    if size < data.len() || size > super::fs::MAX_EF_SIZE {
                        return Err(invalid(field(), "size below the data length or above 32767"));
                    }
                    data.resize(size, 0xFF);
                }
                if data.is_empty() {
                    return Err(invalid(field(), "a transparent EF needs data or a size"));
                }
                NodeKind::Ef(EfBody::Transparent(data))
            }
            FileType::LinearFixed => {
                let rl =
                    f.record_len.filter(|&r| r > 0).ok_or_else(|| invalid(field(), "record_len 1..=255"))?;
                let mut records = Vec::new();
                for r in f.records.iter().flatten() {
                    if r.0.len() > usize::from(rl) {
                        return Err(invalid(field(), "a record longer than record_len"));
                    }
                    let mut v = r.0.clone();
                    v.resize(usize::from(rl), 0xFF);
                    records.push(v);
                }
                if let Some(n) = f.record_count {
                    if n < records.len() || n > super::fs::MAX_RECORDS {
                        return Err(invalid(field(), "record_count below the records given or above 254"));
                    }
                    records.resize(n, vec![0xFF; usize::from(rl)]);
                }
                NodeKind::Ef(EfBody::LinearFixed { record_len: rl, records })
            }
            FileType::Link => {
                let target = f.target.as_deref().ok_or_else(|| invalid(field(), "a link needs a target"))?;
                let (_, _, t) = resolve(&fs, target)?;
                NodeKind::Link(t.ok_or_else(|| invalid(field(), "link target missing"))?)
            }
        };
        let is_ef = !matches!(kind, NodeKind::Df);
        if !is_ef && (f.sfi.is_some() || f.read.is_some() || f.update.is_some()) {
            return Err(invalid(field(), "sfi, read and update apply to EFs"));
        }
        let id = fs.add(
            parent,
            NewFile {
                fid,
                label: f.name.clone(),
                kind,
                sfi: f.sfi,
                read: f.read.unwrap_or(AccessCondition::Always),
                update: f.update.unwrap_or(AccessCondition::Adm1),
            },
        )?;
        fs.set_arr(id, f.arr.as_ref().map(|a| a.0.clone()));
    }
    Ok(fs)
}

fn file_specs(fs: &FileSystem) -> Vec<FileSpec> {
    let mut out = Vec::new();
    for (id, n) in fs.nodes() {
        let mut spec = FileSpec {
            path: fs.path_of(id),
            name: None,
            kind: FileType::Df,
            aid: None,
            sfi: n.sfi,
            read: None,
            update: None,
            data: None,
            size: None,
            record_len: None,
            records: None,
            record_count: None,
            target: None,
            arr: n.arr.clone().map(HexBytes),
        };
        let ef = !n.is_directory();
        if ef {
            spec.name.clone_from(&n.label);
            spec.read = Some(n.read);
            spec.update = Some(n.update);
        }
        match &n.kind {
            NodeKind::Mf => {
                if n.arr.is_none() {
                    continue;
                }
            }
            NodeKind::Df => spec.name.clone_from(&n.label),
            NodeKind::Adf { aid } => {
                spec.kind = FileType::Adf;
                spec.aid = Some(HexBytes(aid.clone()));
            }
            NodeKind::Ef(EfBody::Transparent(d)) => {
                spec.kind = FileType::Transparent;
                spec.data = Some(HexBytes(d.clone()));
            }
            NodeKind::Ef(EfBody::LinearFixed { record_len, records }) => {
                spec.kind = FileType::LinearFixed;
                spec.record_len = Some(*record_len);
                spec.records = Some(records.iter().cloned().map(HexBytes).collect());
            }
            NodeKind::Link(t) => {
                spec.kind = FileType::Link;
                spec.target = Some(fs.path_of(*t));
            }
        }
        out.push(spec);
    }
    out
}

/// The keyset entries of a card in the key file format (keys in the clear: for the card file only).
fn keyset_tables(keysets: &Keysets) -> Vec<toml::Table> {
    keysets.iter().map(keyset_table).collect()
}

/// One keyset in the key file format (keys in the clear: for the card file only).
fn keyset_table(ks: &Keyset) -> toml::Table {
    use crate::crypto::ChecksumAlgorithm;
    let key_table = |alg: Option<&str>, key: Option<&[u8]>| {
        let mut t = toml::Table::new();
        t.insert("algorithm".into(), toml::Value::String(alg.unwrap_or("unknown").into()));
        if let Some(k) = key {
            t.insert("key".into(), toml::Value::String(hex::encode(k)));
        }
        t
    };
    let mut t = toml::Table::new();
    t.insert("kvn".into(), toml::Value::Integer(i64::from(ks.kvn().get())));
    let kic = ks.kic().spec();
    t.insert(
        "kic".into(),
        toml::Value::Table(key_table(
            keys::cipher_file_name(kic.algorithm()),
            Some(kic.key().expose_secret()),
        )),
    );
    let kid = ks.kid().spec();
    let mut kid_t =
        key_table(keys::checksum_file_name(kid.algorithm()), kid.key().map(|k| k.expose_secret()));
    if let ChecksumAlgorithm::AesCmac { len } = kid.algorithm() {
        kid_t.insert("mac_len".into(), toml::Value::Integer(i64::from(u8::from(len))));
    }
    t.insert("kid".into(), toml::Value::Table(kid_t));
    if let Some(kik) = ks.kik() {
        let s = kik.spec();
        t.insert(
            "kik".into(),
            toml::Value::Table(key_table(
                keys::cipher_file_name(s.algorithm()),
                Some(s.key().expose_secret()),
            )),
        );
    }
    t
}

fn build_keysets(tables: &[toml::Table], provider: &dyn SecurityProvider) -> Result<Keysets, ProfileError> {
    if tables.is_empty() {
        return Ok(Keysets::new());
    }
    let mut root = toml::Table::new();
    root.insert(
        "keyset".into(),
        toml::Value::Array(tables.iter().cloned().map(toml::Value::Table).collect()),
    );
    let text = Zeroizing::new(toml::to_string(&root).map_err(|e| ProfileError::Syntax(e.to_string()))?);
    Ok(Keysets::from_toml(&text, provider)?)
}

impl Uicc {
    /// Builds a card from a profile, with the RustCrypto provider. The card is powered on.
    ///
    /// # Errors
    /// [`ProfileError`] naming the field.
    pub fn from_profile(profile: &CardProfile) -> Result<Self, ProfileError> {
        Self::from_profile_with(profile, Arc::new(RustCryptoProvider::new()))
    }

    /// Builds a card from a profile, expanding keys with `provider`.
    ///
    /// # Errors
    /// [`ProfileError`] naming the field.
    pub fn from_profile_with(
        profile: &CardProfile,
        provider: Arc<dyn SecurityProvider>,
    ) -> Result<Self, ProfileError> {
        let st = &profile.state;
        let p = &profile.pins;
        let pins = Pins::new(
            p.pin1.build("pins.pin1", st.pin1_left)?,
            p.pin1_enabled,
            p.puk1.build("pins.puk1", st.puk1_left)?,
            p.adm1.build("pins.adm1", st.adm1_left)?,
        );
        let fs = build_fs(&profile.files)?;
        let subscriber = profile
            .subscriber
            .as_ref()
            .map(|s| {
                let k =
                    <[u8; 16]>::try_from(s.k.expose()).map_err(|_| invalid("subscriber.k", "16 bytes"))?;
                let opc = match (&s.opc, &s.op) {
                    (Some(opc), None) => <[u8; 16]>::try_from(opc.expose())
                        .map_err(|_| invalid("subscriber.opc", "16 bytes"))?,
                    (None, Some(op)) => {
                        let op = <[u8; 16]>::try_from(op.expose())
                            .map_err(|_| invalid("subscriber.op", "16 bytes"))?;
                        opc_from_op(&k, &op)
                    }
                    _ => return Err(invalid("subscriber", "give exactly one of opc and op")),
                };
                let mut sub = Subscriber::new(k, opc, s.params(), &st.sqn)
                    .map_err(|_| invalid("subscriber", "SQN parameters or state.sqn length"))?;
                sub.include_kc = s.include_kc;
                Ok(sub)
            })
            .transpose()?;
        let keysets = build_keysets(&profile.ota.keyset, provider.as_ref())?;
        let card_id = CardId::new("uicc").map_err(|_| invalid("card", "card id"))?;
        let store: Arc<dyn CounterStore> = Arc::new(MemoryCounterStore::new());
        for (kvn, value) in &st.counters {
            let kvn = kvn
                .parse::<u8>()
                .ok()
                .and_then(|k| Kvn::new(k).ok())
                .ok_or_else(|| invalid("state.counters", "keys are KVNs 1..=15"))?;
            let v = (value.len() == 10)
                .then(|| u64::from_str_radix(value, 16).ok())
                .flatten()
                .and_then(Counter::new)
                .ok_or_else(|| invalid("state.counters", "values are 10 hex digits"))?;
            store.set(&card_id, kvn, v).map_err(|_| invalid("state.counters", "counter store"))?;
        }
        let mut apps = BTreeMap::new();
        let mut tars = TarTable::new();
        for a in &profile.ota.application {
            if apps.contains_key(&a.tar.0) {
                return Err(invalid(format!("ota.application {}", a.tar), "TAR used twice"));
            }
            tars.insert(a.tar, Msl(a.msl), ());
            apps.insert(
                a.tar.0,
                Application { tar: a.tar, msl: a.msl, config: Some(a.clone()), applet: a.applet()? },
            );
        }
        let atr = profile.card.atr.as_ref().map_or_else(|| DEFAULT_ATR.to_vec(), |a| a.0.clone());
        if atr.len() < 2 || atr.len() > 33 {
            return Err(invalid("card.atr", "an ATR has 2 to 33 bytes"));
        }
        let policy = match profile.ota.replay_status {
            None => CardPolicy::default(),
            Some(code @ (0x02 | 0x06)) => CardPolicy { replay_status: PorStatus::from_u8(code) },
            Some(_) => return Err(invalid("ota.replay_status", "02 or 06")),
        };
        let keyslots =
            profile.keyslots.as_ref().map(|k| build_key_slots(k, provider.as_ref())).transpose()?;
        let channel = Channel::at(&fs, fs.mf());
        let mut card = Self {
            atr,
            label: profile.card.label.clone(),
            fs,
            pins,
            subscriber,
            keyslots,
            provider,
            security: CardSecurity::new(card_id.clone(), keysets, tars, store).with_policy(policy),
            card_id,
            apps,
            submit_reference: 0,
            powered: false,
            channel,
            terminal_profile: None,
            proactive: ProactiveQueue::new(),
            reassembler: Reassembler::new(PacketKind::Command),
        };
        card.power_on();
        Ok(card)
    }

    /// The profile that rebuilds this card with its current contents and state (the card file).
    #[must_use]
    pub fn to_profile(&self) -> CardProfile {
        let pins = &self.pins;
        let subscriber = self.subscriber.as_ref().map(|s| {
            let params = s.sqn().params();
            SubscriberSpec {
                k: SecretHex::new(s.expose_k()),
                opc: Some(SecretHex::new(s.expose_opc())),
                op: None,
                sqn_ind_bits: Some(params.ind_bits),
                sqn_delta: Some(params.delta),
                sqn_age_limit: Some(params.age_limit.unwrap_or(0)),
                include_kc: s.include_kc,
            }
        });
        CardProfile {
            card: CardSection {
                label: self.label.clone(),
                atr: (self.atr != DEFAULT_ATR).then(|| HexBytes(self.atr.clone())),
            },
            pins: PinsSpec {
                pin1: PinSpec::of(&pins.pin1),
                pin1_enabled: pins.pin1_enabled,
                puk1: PinSpec::of(&pins.puk1),
                adm1: PinSpec::of(&pins.adm1),
            },
            subscriber,
            ota: OtaSpec {
                keyset: keyset_tables(self.keysets()),
                application: self.apps.values().filter_map(|a| a.config.clone()).collect(),
                replay_status: (self.security.policy().replay_status != CardPolicy::default().replay_status)
                    .then(|| self.security.policy().replay_status.code()),
            },
            keyslots: self.keyslots.as_ref().map(key_slots_spec),
            files: file_specs(&self.fs),
            state: StateSpec {
                pin1_left: Some(pins.pin1.left),
                puk1_left: Some(pins.puk1.left),
                adm1_left: Some(pins.adm1.left),
                sqn: self.subscriber.as_ref().map(|s| s.sqn().entries().to_vec()).unwrap_or_default(),
                counters: self
                    .keysets()
                    .iter()
                    .map(|ks| (ks.kvn(), self.counter(ks.kvn())))
                    .filter(|(_, v)| *v != Counter::ZERO)
                    .map(|(k, v)| (k.get().to_string(), hex::encode(v.to_bytes())))
                    .collect(),
            },
        }
    }

    /// Reads a card file (or a profile).
    ///
    /// # Errors
    /// [`ProfileError::Io`] or as [`Uicc::from_profile`].
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|source| ProfileError::Io { path: path.to_owned(), source })?,
        );
        Self::from_profile(&CardProfile::from_toml(&text)?)
    }

    /// Writes the card file atomically: a temporary file beside `path` (mode 0600 on Unix), fsync, rename
    /// over `path`, fsync of the directory.
    ///
    /// # Errors
    /// [`ProfileError::Io`].
    pub fn save(&self, path: &Path) -> Result<(), ProfileError> {
        let text = self.to_profile().to_toml()?;
        write_atomic(path, text.as_bytes())
    }
}

/// Writes `bytes` to `path` through a temporary file, fsync and rename.
///
/// # Errors
/// [`ProfileError::Io`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ProfileError> {
    let io = |p: &Path| {
        let p = p.to_owned();
        move |source| ProfileError::Io { path: p, source }
    };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp_name = path.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))?;
    #[cfg(unix)]
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))?;
    Ok(())
}

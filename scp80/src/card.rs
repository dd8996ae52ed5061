//! The receiving entity of SCP80 (the card side of ETSI TS 102 225 §5.1 and 3GPP TS 31.115 §4):
//! [`CardSecurity`] checks and deciphers an incoming command packet and builds the Proof of Receipt its SPI
//! asks for. It executes nothing and does no I/O of its own beyond the [`CounterStore`] it is given: a card
//! model (the simulated UICC) calls [`CardSecurity::process`] with a packet, runs the secured data of the
//! [`Outcome`] on the application behind the TAR ([`CardSecurity::application`]), and gives the response
//! data (compact or expanded TS 102 226 format, as that application speaks) to [`CardSecurity::por`].
//!
//! Main types: [`CardSecurity`] (TAR table, keysets by KVN, counters per KVN, [`CardPolicy`]),
//! [`TarTable`] of [`TarEntry`] (minimum security level [`Msl`] and the application), [`Outcome`] (status,
//! header, counter, plaintext data, [`Rejection`] reason), [`Por`] (the PoR bytes and how they travel).
//! For a card model that handles many packets, [`CardSecurity::process_into`] writes the plaintext into
//! a buffer the caller reuses and gives a [`Verdict`] (the outcome without its data), and
//! [`CardSecurity::por_into`] appends the PoR to another: no allocation per packet.
//!
//! # Processing order
//!
//! The steps and the PoR status each one gives (TS 102 225 §5.1.7 Table 5; the order of the spec digest §3,
//! as a card-OS sample and onomondo-uicc do it):
//!
//! 1. Framing: the CPL/CHL must frame the packet exactly. A packet whose header can be read but whose
//!    framing is broken gives `06`; one whose header cannot be read gives no PoR at all.
//! 2. TAR lookup: `09` TAR unknown.
//! 3. Minimum security level of the TAR: SPI1 compared field by field with the MSL (RC/CC/DS b2b1 at least
//!    the MSL's, ciphering b3 if the MSL has it, counter mode b5b4 at least the MSL's): `0A`.
//! 4. Keys: the keyset the KIc/KID key version names must exist, the KIc/KID algorithm must be the
//!    keyset's, the KIc and KID key versions must agree when both keys are used (command or PoR), the CHL
//!    must announce the RC/CC length of the algorithm, a counter mode that checks needs a KVN: `06`. DS and
//!    reserved codings: `06`. The keys the PoR needs (SPI2) are checked here too, so that a PoR can always
//!    be built.
//! 5. Deciphering: a secured part that is not a whole number of blocks: `05`.
//! 6. Counter by SPI1 b5b4: `00` ignored; `01` carried, not checked and not stored (decision: storing an
//!    unchecked value could lower the counter and reopen replays); `10` must be higher than the stored
//!    value, `11` exactly one higher. Stored value `FF FF FF FF FF`: `04` blocked; lower: `02`; equal:
//!    [`CardPolicy::replay_status`] (`02` by default: an equal counter is not higher, i.e. a replay; real
//!    cards answer `06`, which the policy can select); more than one higher in mode `11`: `03`.
//! 7. RC/CC over the octets TS 102 225 §5.1.1 names: `01`.
//! 8. Padding: PCNTR larger than the data: `05` when ciphered, else `06`.
//!
//! Then the new counter is stored (persisted before the data is given out; a store failure gives `06`)
//! and the outcome is `00` with the plaintext secured data, padding removed. (Steps 7 and 8 have no side
//! effects and are computed before step 6, so that the counter is read, checked and stored in one
//! [`CounterStore::check_and_set`]; the statuses are those of the order above.)
//!
//! # The PoR
//!
//! SPI2 b2b1: none, always (also for the reserved `11`, decision: the more informative reading), or only
//! when the status is not `00`. The PoR copies the TAR and the command's counter (zeros when the counter
//! could not be read: a ciphered packet rejected before deciphering). It is secured as SPI2 asks (b5 cipher
//! with the KIc key, b4b3 RC/CC with the KID) once step 5 succeeded; before that (statuses `05` from
//! step 5, `06`, `09`, `0A`) it goes unciphered and without RC/CC, as real cards answer. Response data goes
//! only into a PoR OK. On SMS-PP the PoR is the user data `02 71 00 …`, to be sent in the
//! SMS-DELIVER-REPORT or, when SPI2 b6 says so, in an SMS-SUBMIT ([`Por::submit_tpdus`]); SMS-CB has no
//! PoR.
//!
//! # TAR file format
//!
//! The CLI (`scp80 card --tars FILE`) reads the TAR table from TOML ([`TarTable::from_toml`]): a list of
//! `[[tar]]` entries with the TAR (3 octets in hex), the MSL (1 octet in hex, SPI1 layout) and a
//! description. Unknown fields are errors.
//!
//! ```toml
//! [[tar]]
//! tar = "B00010"
//! msl = "16"            # CC, ciphering, counter higher
//! description = "RFM SIM (DF GSM)"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use m2msim_codec::Decode as _;
use m2msim_codec::ota::{
    Checksum, Cntr, CommandHeader, CounterMode, PorRequest, PorStatus, PorTransport, PorUdh, Spi, Tar,
    Transport,
};
use m2msim_codec::sms::address::Address;
use m2msim_codec::sms::concat::{self, ConcatRef, PacketKind};
use m2msim_codec::sms::fields::{Dcs, Pid, ValidityPeriod};
use m2msim_codec::sms::tpdu::Submit;
use m2msim_codec::sms::udh::Udh;
use serde::{Deserialize, Serialize};

use crate::counter::{CardCounters, CardId, Counter, CounterStore};
use crate::crypto::{CryptoError, ExpandedChecksum, ExpandedCipher};
use crate::keys::{Keysets, Kvn};
use crate::packet::{
    FittingLen, PacketError, PacketKeys as _, checksum_parts, counter_kvn, fitting_len, frame_command,
    resolve_checksum, secure_response_into, verify_field,
};

#[cfg(test)]
mod tests;

/// A minimum security level (TS 102 226 §8.2.1.3.2.4.2): one octet in the SPI1 layout (b5b4 counter mode,
/// b3 ciphering, b2b1 RC/CC/DS), set per TAR at install time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Msl(#[serde(with = "m2msim_codec::hexser::byte")] pub u8);

impl Msl {
    /// `00`: no security required.
    pub const NONE: Self = Self(0);

    /// True when `spi` is at least this level, field by field: RC/CC/DS (b2b1: none < RC < CC < DS),
    /// ciphering (b3), counter mode (b5b4: none < available < higher < one higher). Reserved bits are
    /// ignored.
    #[must_use]
    pub const fn admits(&self, spi: Spi) -> bool {
        let (m, s) = (self.0, spi.spi1());
        (s & 0x03) >= (m & 0x03) && (s & 0x04) >= (m & 0x04) && ((s >> 3) & 0x03) >= ((m >> 3) & 0x03)
    }
}

/// One TAR of the card: its minimum security level and the application behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarEntry<A> {
    /// Minimum security level.
    pub msl: Msl,
    /// The application (for the CLI: a description).
    pub app: A,
}

/// The card's TARs (TS 102 225 §5.1.4, TS 101 220 Annex D), each with its MSL and application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarTable<A> {
    entries: BTreeMap<Tar, TarEntry<A>>,
}

impl<A> Default for TarTable<A> {
    fn default() -> Self {
        Self { entries: BTreeMap::new() }
    }
}

impl<A> TarTable<A> {
    /// No TARs.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a TAR, returning the entry it replaces.
    pub fn insert(&mut self, tar: Tar, msl: Msl, app: A) -> Option<TarEntry<A>> {
        self.entries.insert(tar, TarEntry { msl, app })
    }

    /// The entry of a TAR.
    #[must_use]
    pub fn get(&self, tar: &Tar) -> Option<&TarEntry<A>> {
        self.entries.get(tar)
    }

    /// The entries in TAR order.
    pub fn iter(&self) -> impl Iterator<Item = (&Tar, &TarEntry<A>)> {
        self.entries.iter()
    }

    /// How many TARs.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Errors reading a TAR file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TarFileError {
    /// The file could not be read.
    #[error("cannot read TAR file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not TOML, or not the TAR file's shape.
    #[error("TAR file: {0}")]
    Syntax(String),
    /// A field is invalid.
    #[error("TAR file entry #{index}: {field}: {reason}")]
    Invalid {
        /// 1-based position of the entry.
        index: usize,
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TarFileDto {
    #[serde(default)]
    tar: Vec<TarDto>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TarDto {
    tar: String,
    msl: String,
    #[serde(default)]
    description: String,
}

impl TarTable<String> {
    /// Parses a TAR file (see the module docs); the application of each TAR is its description.
    ///
    /// # Errors
    /// [`TarFileError::Syntax`], [`TarFileError::Invalid`] (bad hex, wrong length, a TAR twice).
    pub fn from_toml(text: &str) -> Result<Self, TarFileError> {
        let file: TarFileDto = toml::from_str(text).map_err(|e| TarFileError::Syntax(e.to_string()))?;
        let mut table = Self::new();
        for (i, e) in file.tar.into_iter().enumerate() {
            let index = i + 1;
            let invalid = |field, reason| TarFileError::Invalid { index, field, reason };
            let tar = m2msim_codec::hexser::parse_hex(&e.tar)
                .map_err(|r| invalid("tar", r))?
                .try_into()
                .map_err(|_| invalid("tar", "must be 3 octets"))?;
            let msl = match m2msim_codec::hexser::parse_hex(&e.msl).map_err(|r| invalid("msl", r))?[..] {
                [b] => b,
                _ => return Err(invalid("msl", "must be 1 octet")),
            };
            if table.insert(Tar(tar), Msl(msl), e.description).is_some() {
                return Err(invalid("tar", "appears twice"));
            }
        }
        Ok(table)
    }

    /// Reads and parses a TAR file.
    ///
    /// # Errors
    /// [`TarFileError::Io`], else as [`TarTable::from_toml`].
    pub fn load(path: &Path) -> Result<Self, TarFileError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| TarFileError::Io { path: path.to_owned(), source })?;
        Self::from_toml(&text)
    }
}

/// Choices a card makes where the specification leaves room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardPolicy {
    /// The status for a counter equal to the stored one (a replay): `02` CNTR low by default; real cards
    /// (sysmoISIM) answer `06`.
    pub replay_status: PorStatus,
}

impl Default for CardPolicy {
    fn default() -> Self {
        Self { replay_status: PorStatus::CntrLow }
    }
}

/// Why a packet was refused (the detail behind the PoR status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rejection {
    /// The framing or the header does not decode (`06`).
    Malformed,
    /// No such TAR (`09`).
    TarUnknown,
    /// The SPI is below the TAR's minimum security level (`0A`).
    SecurityLevel,
    /// The KIc/KID key version names no keyset (`06`).
    NoKeyset,
    /// The KIc/KID names another algorithm than the keyset's, or KIc and KID key versions differ (`06`).
    KeyMismatch,
    /// A digital signature, or a reserved or proprietary coding (`06`).
    UnsupportedSecurity,
    /// The CHL does not announce the RC/CC length of the algorithm (`06`).
    ChecksumLength,
    /// The counter mode checks counters but no key version names one (`06`).
    NoCounterKvn,
    /// The secured part is not a whole number of cipher blocks (`05`).
    NotBlockAligned,
    /// The stored counter is `FF FF FF FF FF` (`04`).
    CounterBlocked,
    /// The counter is lower than the stored one (`02`).
    CounterLow,
    /// The counter equals the stored one: a replay ([`CardPolicy::replay_status`]).
    CounterReplay,
    /// The counter is more than one higher in "one higher" mode (`03`).
    CounterHigh,
    /// The RC/CC does not verify (`01`).
    ChecksumFailed,
    /// PCNTR exceeds the secured data (`05` ciphered, `06` else).
    PaddingTooLarge,
    /// The counter store failed (`06`).
    CounterStore,
}

/// The result of [`CardSecurity::process`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The PoR status (`00` when accepted).
    pub status: PorStatus,
    /// The bearer the packet came on.
    pub transport: Transport,
    /// SPI, KIc, KID, TAR; `None` when not even the header could be read (then there is no PoR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<CommandHeader>,
    /// The counter as received, once readable in plaintext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cntr: Option<Cntr>,
    /// The plaintext secured data without padding: present exactly when the status is `00`.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "m2msim_codec::hexser::opt")]
    pub data: Option<Vec<u8>>,
    /// Why the packet was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Rejection>,
    /// Whether the PoR is secured as SPI2 asks (false before deciphering succeeded; see the module docs).
    pub por_protected: bool,
}

impl Outcome {
    /// True when the packet was accepted (status `00`).
    #[must_use]
    pub fn accepted(&self) -> bool {
        self.status == PorStatus::Ok
    }

    /// The TAR the packet named (when its header could be read): the application to run the data on.
    #[must_use]
    pub fn tar(&self) -> Option<Tar> {
        self.header.map(|h| h.tar)
    }
}

/// The result of [`CardSecurity::process_into`]: an [`Outcome`] without its data, which stays in the
/// caller's buffer (no allocation per packet). It is what the PoR is built from
/// ([`CardSecurity::por_into`] takes either).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The PoR status (`00` when accepted).
    pub status: PorStatus,
    /// The bearer the packet came on.
    pub transport: Transport,
    /// SPI, KIc, KID, TAR; `None` when not even the header could be read (then there is no PoR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<CommandHeader>,
    /// The counter as received, once readable in plaintext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cntr: Option<Cntr>,
    /// Why the packet was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Rejection>,
    /// Whether the PoR is secured as SPI2 asks (false before deciphering succeeded; see the module docs).
    pub por_protected: bool,
}

impl Verdict {
    const fn refused(
        transport: Transport,
        header: Option<CommandHeader>,
        status: PorStatus,
        why: Rejection,
    ) -> Self {
        Self { status, transport, header, cntr: None, rejection: Some(why), por_protected: false }
    }

    /// True when the packet was accepted (status `00`).
    #[must_use]
    pub fn accepted(&self) -> bool {
        self.status == PorStatus::Ok
    }

    /// The TAR the packet named (when its header could be read).
    #[must_use]
    pub fn tar(&self) -> Option<Tar> {
        self.header.map(|h| h.tar)
    }

    /// The [`Outcome`] with `data` (the caller's plaintext buffer) as its data when accepted; `data` is
    /// dropped otherwise.
    #[must_use]
    pub fn into_outcome(self, data: Vec<u8>) -> Outcome {
        Outcome {
            status: self.status,
            transport: self.transport,
            header: self.header,
            cntr: self.cntr,
            data: self.accepted().then_some(data),
            rejection: self.rejection,
            por_protected: self.por_protected,
        }
    }
}

impl From<&Outcome> for Verdict {
    fn from(o: &Outcome) -> Self {
        Self {
            status: o.status,
            transport: o.transport,
            header: o.header,
            cntr: o.cntr,
            rejection: o.rejection,
            por_protected: o.por_protected,
        }
    }
}

impl From<&Verdict> for Verdict {
    fn from(v: &Verdict) -> Self {
        *v
    }
}

/// A PoR built by [`CardSecurity::por`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Por {
    /// The bearer.
    pub transport: Transport,
    /// SPI2 b6 (SMS-PP): in the SMS-DELIVER-REPORT or in an SMS-SUBMIT.
    pub delivery: PorTransport,
    /// The status it carries.
    pub status: PorStatus,
    /// SMS-PP: the user data `02 71 00 …`; CAT_TP, TCP/IP, USSD: the response packet from the RPI.
    #[serde(with = "m2msim_codec::hexser")]
    pub bytes: Vec<u8>,
}

impl Por {
    /// The SMS-SUBMIT TPDU(s) that carry this SMS-PP PoR to `destination` (the OTA server's address, the
    /// TP-OA of the command), as a card sends them with SEND SHORT MESSAGE (TS 31.115 §4.2): TP-PID `00`
    /// and TP-DCS `F6` as the asterix real-card trace shows, no validity period, TP-MR
    /// `message_reference`; concatenated with `reference` (IE `71` in the first segment only) when the
    /// user data exceeds 140 octets.
    ///
    /// # Errors
    /// [`PacketError::NotSmsPp`], [`PacketError::Sms`] (too many segments).
    pub fn submit_tpdus(
        &self,
        destination: Address,
        message_reference: u8,
        reference: ConcatRef,
    ) -> Result<Vec<Submit>, PacketError> {
        if self.transport != Transport::SmsPp {
            return Err(PacketError::NotSmsPp { what: "SMS-SUBMIT" });
        }
        let packet = self.bytes.get(3..).unwrap_or_default();
        Ok(concat::split_kind(packet, reference, PacketKind::Response)?
            .into_iter()
            .map(|ud| {
                Submit::new(
                    message_reference,
                    destination,
                    Pid(0x00),
                    Dcs::SIM_SPECIFIC_8BIT,
                    ValidityPeriod::None,
                    ud,
                )
            })
            .collect())
    }
}

/// The keys a packet resolved to in step 4.
struct Resolved<'k> {
    cipher: Option<&'k dyn ExpandedCipher>,
    /// The RC/CC with the length of its field, checked.
    checksum: Option<(&'k dyn ExpandedChecksum, FittingLen)>,
    counter_kvn: Option<Kvn>,
}

fn rejection_of(e: &PacketError) -> Rejection {
    match e {
        PacketError::NoKeyset { .. } => Rejection::NoKeyset,
        PacketError::DigitalSignature
        | PacketError::Crypto(CryptoError::ReservedCoding { .. } | CryptoError::Unsupported { .. }) => {
            Rejection::UnsupportedSecurity
        }
        _ => Rejection::KeyMismatch,
    }
}

/// The card's SCP80 security: TAR table, keysets by KVN, replay counters per KVN (see the module docs).
pub struct CardSecurity<A = String> {
    card: CardId,
    keysets: Keysets,
    tars: TarTable<A>,
    counters: Arc<dyn CounterStore>,
    /// The store's handle on this card's counters ([`CounterStore::card_counters`]), taken once.
    card_counters: Option<Arc<CardCounters>>,
    policy: CardPolicy,
}

impl<A> std::fmt::Debug for CardSecurity<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardSecurity")
            .field("card", &self.card)
            .field("keysets", &self.keysets.len())
            .field("tars", &self.tars.len())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<A> CardSecurity<A> {
    /// The card `card` (its id in the counter store) with its keysets, TARs and counter store.
    pub fn new(card: CardId, keysets: Keysets, tars: TarTable<A>, counters: Arc<dyn CounterStore>) -> Self {
        let card_counters = counters.card_counters(&card);
        Self { card, keysets, tars, counters, card_counters, policy: CardPolicy::default() }
    }

    /// Builder: another [`CardPolicy`].
    #[must_use]
    pub fn with_policy(mut self, policy: CardPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The policy.
    #[must_use]
    pub const fn policy(&self) -> &CardPolicy {
        &self.policy
    }

    /// The card's id in the counter store.
    #[must_use]
    pub const fn card_id(&self) -> &CardId {
        &self.card
    }

    /// The keysets.
    #[must_use]
    pub const fn keysets(&self) -> &Keysets {
        &self.keysets
    }

    /// The keysets, to change them (a card's RAM application replaces keysets with PUT KEY).
    pub fn keysets_mut(&mut self) -> &mut Keysets {
        &mut self.keysets
    }

    /// The TAR table.
    #[must_use]
    pub const fn tars(&self) -> &TarTable<A> {
        &self.tars
    }

    /// The TAR table, to change it (a card installing an application).
    pub fn tars_mut(&mut self) -> &mut TarTable<A> {
        &mut self.tars
    }

    /// The application behind a TAR.
    #[must_use]
    pub fn application(&self, tar: &Tar) -> Option<&A> {
        self.tars.get(tar).map(|e| &e.app)
    }

    /// The counter store.
    #[must_use]
    pub fn counters(&self) -> &dyn CounterStore {
        self.counters.as_ref()
    }

    /// Processes the TP-UD of one SMS-PP short message: its header must hold IE `70` (command packet) and no
    /// concatenation IE (reassemble concatenated packets with `m2msim_codec::sms::concat::Reassembler`
    /// and call [`CardSecurity::process`]). A user data without that header gives an outcome without header
    /// (no PoR).
    #[must_use]
    pub fn process_user_data(&self, ud: &[u8]) -> Outcome {
        let malformed = || {
            Verdict::refused(
                Transport::SmsPp,
                None,
                PorStatus::UnidentifiedSecurityError,
                Rejection::Malformed,
            )
            .into_outcome(Vec::new())
        };
        let Ok((udh, n)) = Udh::decode(ud) else { return malformed() };
        if !udh.has_command_packet() || udh.concat_ies().next().is_some() {
            return malformed();
        }
        self.process(ud.get(n..).unwrap_or_default(), Transport::SmsPp)
    }

    /// Processes one command packet (from the CPL on SMS-PP/SMS-CB, from the CPI on CAT_TP, TCP/IP and
    /// USSD) in the order of the module docs. Never panics; every refusal is an [`Outcome`].
    ///
    /// This is [`CardSecurity::process_into`] with a new buffer for the data.
    #[must_use]
    pub fn process(&self, packet: &[u8], transport: Transport) -> Outcome {
        let mut data = Vec::new();
        self.process_into(packet, transport, &mut data).into_outcome(data)
    }

    /// As [`CardSecurity::process`], with the plaintext secured data (padding removed) written into
    /// `data`, a buffer the caller reuses from packet to packet: it is cleared first, holds the data when
    /// the verdict is `00` and is left empty otherwise. Nothing is allocated once `data` has grown to the
    /// largest secured part seen.
    pub fn process_into(&self, packet: &[u8], transport: Transport, data: &mut Vec<u8>) -> Verdict {
        data.clear();
        let verdict = self.check_and_decipher(packet, transport, data);
        if !verdict.accepted() {
            data.clear();
        }
        verdict
    }

    /// [`CardSecurity::process_into`] without the final clearing of `plain` on a refusal.
    fn check_and_decipher(&self, packet: &[u8], transport: Transport, plain: &mut Vec<u8>) -> Verdict {
        // 1. Framing (the header is read at its place even when the framing is broken).
        let frame = match frame_command(packet, transport) {
            Ok(f) => f,
            Err(header) => {
                return Verdict::refused(
                    transport,
                    header,
                    PorStatus::UnidentifiedSecurityError,
                    Rejection::Malformed,
                );
            }
        };
        let header = frame.header;
        let refuse = |status, why| Verdict::refused(transport, Some(header), status, why);
        let (rc_len, secured_at) = (frame.rc_len, frame.secured_at);
        let spi = header.spi;
        // 2. TAR.
        let Some(entry) = self.tars.get(&header.tar) else {
            return refuse(PorStatus::TarUnknown, Rejection::TarUnknown);
        };
        // 3. Minimum security level.
        if !entry.msl.admits(spi) {
            return refuse(PorStatus::InsufficientSecurityLevel, Rejection::SecurityLevel);
        }
        // 4. Keys.
        let keys = match self.resolve(&header, rc_len) {
            Ok(k) => k,
            Err(why) => return refuse(PorStatus::UnidentifiedSecurityError, why),
        };
        // 5. Decipher (into the caller's buffer).
        let (head, secured) = packet.split_at(secured_at.min(packet.len()));
        plain.extend_from_slice(secured);
        // A secured part that is not a whole number of blocks is refused by the cipher (and left as is).
        if let Some(c) = keys.cipher
            && c.decrypt(plain).is_err()
        {
            return refuse(PorStatus::CipheringError, Rejection::NotBlockAligned);
        }
        let mut out = Verdict {
            status: PorStatus::Ok,
            transport,
            header: Some(header),
            cntr: None,
            rejection: None,
            por_protected: true,
        };
        let fail = |mut o: Verdict, status, why| {
            o.status = status;
            o.rejection = Some(why);
            o
        };
        // The framing guarantees CHL <= what follows, i.e. 6 + rc_len octets of secured part.
        let (Some(fixed), Some(rest)) = (plain.get(..6), plain.get(6..)) else {
            return fail(out, PorStatus::UnidentifiedSecurityError, Rejection::Malformed);
        };
        let mut cntr = Cntr::default();
        cntr.0.copy_from_slice(fixed.get(..5).unwrap_or(&[0; 5]));
        let pcntr = fixed.get(5).copied().unwrap_or(0) as usize;
        out.cntr = Some(cntr);
        let Some((received_rc, padded)) = rest.split_at_checked(rc_len) else {
            return fail(out, PorStatus::UnidentifiedSecurityError, Rejection::Malformed);
        };
        // 7. RC/CC and 8. padding are computed first (they have no side effects), so that step 6 reads,
        // checks and stores the counter in one call to the store; a counter verdict still comes first.
        let checksum_ok = match keys.checksum {
            Some((ck, fit)) => {
                let mut first = [0; 16];
                verify_field(ck, &checksum_parts(&mut first, head, fixed, padded), received_rc, fit)
            }
            None => true,
        };
        let keep = padded.len().checked_sub(pcntr);
        let late = if !checksum_ok {
            Some((PorStatus::RcCcDsFailed, Rejection::ChecksumFailed))
        } else if keep.is_none() {
            let status =
                if spi.ciphered() { PorStatus::CipheringError } else { PorStatus::UnidentifiedSecurityError };
            Some((status, Rejection::PaddingTooLarge))
        } else {
            None
        };
        // 6. Counter, then (once 7 and 8 passed) store it before giving the data out.
        let received = Counter::from_bytes(cntr.0);
        let mode = spi.counter_mode();
        let verdict = match (matches!(mode, CounterMode::Higher | CounterMode::OneHigher), keys.counter_kvn) {
            (true, Some(kvn)) => {
                let mut verdict = None;
                let mut accept = |stored: Counter| {
                    verdict = if stored == Counter::MAX {
                        Some((PorStatus::CntrBlocked, Rejection::CounterBlocked))
                    } else if received < stored {
                        Some((PorStatus::CntrLow, Rejection::CounterLow))
                    } else if received == stored {
                        Some((self.policy.replay_status, Rejection::CounterReplay))
                    } else if mode == CounterMode::OneHigher && stored.next() != Some(received) {
                        Some((PorStatus::CntrHigh, Rejection::CounterHigh))
                    } else {
                        late
                    };
                    verdict.is_none()
                };
                let result = match &self.card_counters {
                    Some(c) => Ok(c.check_and_set(kvn, received, &mut accept)),
                    None => self.counters.check_and_set(&self.card, kvn, received, &mut accept),
                };
                match result {
                    Ok(_) => verdict,
                    Err(_) => Some((PorStatus::UnidentifiedSecurityError, Rejection::CounterStore)),
                }
            }
            _ => late,
        };
        if let Some((status, why)) = verdict {
            return fail(out, status, why);
        }
        let Some(keep) = keep else {
            return fail(out, PorStatus::UnidentifiedSecurityError, Rejection::PaddingTooLarge);
        };
        // The data without padding, moved to the front of the buffer.
        let start = 6 + rc_len;
        plain.truncate(start + keep);
        let from = start.min(plain.len());
        plain.copy_within(from.., 0);
        plain.truncate(keep);
        out
    }

    /// Step 4: the keys the command and its PoR need (see the module docs).
    fn resolve(&self, header: &CommandHeader, rc_len: usize) -> Result<Resolved<'_>, Rejection> {
        let spi = header.spi;
        let por = spi.por() != PorRequest::None;
        let uses_kic = spi.ciphered() || (por && spi.por_ciphered());
        let uses_kid_key = spi.checksum() == Checksum::Cc || (por && spi.por_checksum() == Checksum::Cc);
        if uses_kic && uses_kid_key && header.kic.key_version() != header.kid.key_version() {
            return Err(Rejection::KeyMismatch);
        }
        let keys = &self.keysets;
        let cipher =
            if spi.ciphered() { Some(keys.cipher(header.kic).map_err(|e| rejection_of(&e))?) } else { None };
        let checksum = resolve_checksum(keys, spi.checksum(), header.kid).map_err(|e| rejection_of(&e))?;
        let checksum = match checksum {
            Some(ck) => Some((ck, fitting_len(ck, rc_len).ok_or(Rejection::ChecksumLength)?)),
            None if rc_len != 0 => return Err(Rejection::ChecksumLength),
            None => None,
        };
        // The PoR's keys, unless they are the command's, already resolved.
        if por {
            if spi.por_ciphered() && !spi.ciphered() {
                keys.cipher(header.kic).map_err(|e| rejection_of(&e))?;
            }
            if spi.por_checksum() != spi.checksum() {
                resolve_checksum(keys, spi.por_checksum(), header.kid).map_err(|e| rejection_of(&e))?;
            }
        }
        let counter_kvn = match spi.counter_mode() {
            CounterMode::Higher | CounterMode::OneHigher => {
                Some(counter_kvn(header).ok_or(Rejection::NoCounterKvn)?)
            }
            CounterMode::NoCounter | CounterMode::Available => None,
        };
        Ok(Resolved { cipher, checksum, counter_kvn })
    }

    /// The PoR for an outcome (see the module docs), with `response_data` as its additional response data
    /// when the status is `00` (ignored otherwise). `None` when SPI2 asks for no PoR (or only on error and
    /// there was none), on SMS-CB, and when the header could not be read.
    ///
    /// # Errors
    /// [`PacketError`] when the PoR cannot be built (its RPL too long for the transport; keys that no longer
    /// resolve).
    pub fn por(&self, outcome: &Outcome, response_data: &[u8]) -> Result<Option<Por>, PacketError> {
        let mut bytes = Vec::new();
        Ok(self.por_into(outcome, response_data, &mut bytes)?.map(|delivery| Por {
            transport: outcome.transport,
            delivery,
            status: outcome.status,
            bytes,
        }))
    }

    /// As [`CardSecurity::por`], appending the PoR bytes to `out` and returning how it travels (no
    /// allocation when `out` has room). `outcome` is an `&`[`Outcome`] or a [`Verdict`] (from
    /// [`CardSecurity::process_into`]).
    ///
    /// # Errors
    /// As [`CardSecurity::por`].
    pub fn por_into(
        &self,
        outcome: impl Into<Verdict>,
        response_data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Option<PorTransport>, PacketError> {
        let outcome: Verdict = outcome.into();
        let Some(header) = outcome.header else { return Ok(None) };
        if !outcome.transport.carries_responses() {
            return Ok(None);
        }
        let spi = header.spi;
        let wanted = match spi.por() {
            PorRequest::None => false,
            PorRequest::Always | PorRequest::Reserved => true,
            PorRequest::OnError => outcome.status != PorStatus::Ok,
        };
        if !wanted {
            return Ok(None);
        }
        let data = if outcome.status == PorStatus::Ok { response_data } else { &[] };
        let (cipher, checksum) = if outcome.por_protected {
            let cipher = if spi.por_ciphered() { Some(self.keysets.cipher(header.kic)?) } else { None };
            (cipher, resolve_checksum(&self.keysets, spi.por_checksum(), header.kid)?)
        } else {
            (None, None)
        };
        secure_response_into(
            outcome.transport,
            PorUdh::ResponsePacket,
            header.tar,
            outcome.cntr.unwrap_or_default(),
            outcome.status,
            data,
            cipher,
            checksum,
            out,
        )?;
        Ok(Some(spi.por_transport()))
    }
}

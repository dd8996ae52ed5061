//! S3-090907 end to end: remote subscription change of a UICC, Alternatives 3a and 3b, for a fleet of
//! M2M devices with simulated UICCs, step by step as the contribution numbers them.
//!
//! The parties ([`parties`]): the M2M operator (this module's [`Scenario`] plays it: it chooses the MNOs
//! and decides the changes), MNO A, B and C (IMSI range, subscriber database running AKA with Milenage,
//! an OTA server — the campaign engine of `m2msim_scp80::ota_server` — with per-card OTA keysets and
//! counters), the UICC manufacturer with its key escrow (3b), and the devices: each a simulated UICC in a
//! simulated terminal, reached through an in-memory SMSC (`m2msim_scp80::ota_server::Simulation`). What
//! passes between parties is a file of [`files`] (JSON; sealed with a transport key when it carries keys).
//!
//! # Alternative 3a (operator A → B, then B → C)
//!
//! 1. The M2M operator chooses MNO A: the cards carry A's IMSIs, K/OPc, and A's OTA keyset (KVN 1,
//!    AES-128); each device attaches (AKA with A's database).
//! 2. It decides to move to MNO B.
//! 3. MNO B sends MNO A an [`files::ImsiList`] (one new IMSI per device, with its MNC length).
//! 4. MNO A's OTA campaign, SPI `16 19` (CC, ciphered, counter higher; PoR CC'd and ciphered in the
//!    DELIVER-REPORT): on the USIM RFM TAR `B00011`, SELECT/UPDATE EF_IMSI, EF_AD's MNC length when it
//!    changes, invalidated EF_LOCI/EF_PSLOCI/EF_EPSLOCI; then STORE DATA to the REFRESH applet (TAR
//!    `B20000`) for a UICC reset; every PoR verified (status `00`, every command `9000`).
//! 5. MNO A hands MNO B a sealed [`files::HandoverList`]: ICCID, IMSI, K, OPc, the OTA keyset, the next
//!    counter.
//! 6. MNO B authenticates each device under the new IMSI (AKA; the card's SQN is ahead of B's network,
//!    so the first run resynchronises with AUTS, TS 33.102 §6.3.5), and rolls the OTA keys with PUT KEY on
//!    the ISD (TAR `000000`); MNO A's keys are then refused by the card (checked).
//! 7. The same again from B to C.
//!
//! # Alternative 3b (pairs 1 → 2 → 3, then exhausted)
//!
//! 1. The M2M operator chooses MNO A. 2. A acquires cards personalised by the manufacturer with A's first
//!    IMSI and a list of (K/OPc, OTA keyset) pairs; the manufacturer reveals pair 1 to A (sealed).
//! 3. The M2M operator decides to move to B and registers with the manufacturer that pair 2 of each card
//!    goes to B. 4. B sends A an [`files::ImsiList`]. 5. A's OTA campaign: STORE DATA to the key-slot applet
//!    (TAR `C00001`, `m2msim_scp80::uicc::keyslot`) with the new IMSI, index 2, the ICCID and "REFRESH
//!    after", PoR verified (its KCVs recorded); the card resets and activates pair 2. 6. A sends B an
//!    [`files::IndexNotice`] (ICCID, IMSI, index, KCVs). 7. B asks the manufacturer for each pair and checks
//!    the KCVs. 8. B authenticates each device with the new K and manages it with the new OTA keys (an RFM
//!    read of EF_IMSI); A's keys are refused. 9. Again from B to C (pair 3); a further change finds the list
//!    exhausted (`6A84`), which the summary reports.
//!
//! Failures do not stop a run: a device whose step fails stays with its operator and is counted in the
//! [`Summary`] under its cause.

pub mod files;
pub mod parties;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use m2msim_codec::apdu::{Cla, CommandApdu, StatusWord};
use m2msim_codec::ota::{Spi, Tar};
use m2msim_codec::rfm::CompactResponse;
use m2msim_codec::sim::{EfAd, EfImsi, PlmnId};
use m2msim_codec::sms::Address;
use m2msim_codec::{Decode, Encode};
use m2msim_scp80::crypto::{RustCryptoProvider, SecurityProvider};
use m2msim_scp80::keys::{Kvn, parse_key_file};
use m2msim_scp80::ota_server::{
    Faults, Fleet, JobOutcome, JobReport, NetworkConfig, Script, SimCard, SimEvent, Simulation,
};
use m2msim_scp80::packet::RemoteResponse;
use m2msim_scp80::terminal::{self, TerminalConfig};
use m2msim_scp80::uicc::Uicc;
use m2msim_scp80::uicc::fs::EfBody;
use m2msim_scp80::uicc::isd::put_key_command;
use m2msim_scp80::uicc::profile::{
    ApplicationKind, ApplicationSpec, CardProfile, KeySlotSpec, KeySlotsSpec, SecretHex, SubscriberSpec,
};
use serde::Serialize;

use self::files::{
    HANDOVER_LIST, HandoverEntry, HandoverList, ImsiEntry, ImsiList, IndexEntry, IndexNotice, KeysetRecord,
    TransportKey,
};
use self::parties::{AkaOutcome, Manufacturer, Mno};

/// Which alternative of S3-090907.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Alt {
    /// 3a: IMSI rewritten over the air, K and OTA keys handed to the new MNO.
    #[serde(rename = "3a")]
    A3a,
    /// 3b: the card's indexed list of K/OTA-key pairs.
    #[serde(rename = "3b")]
    A3b,
}

impl std::fmt::Display for Alt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::A3a => "3a",
            Self::A3b => "3b",
        })
    }
}

/// How to run the scenario.
#[derive(Debug, Clone)]
pub struct Options {
    /// The alternative.
    pub alt: Alt,
    /// The number of devices.
    pub devices: usize,
    /// The seed every key and RAND derives from.
    pub seed: u64,
    /// Devices (by index) whose terminal never answers an SMS: their jobs time out after the retries.
    pub silent: Vec<usize>,
    /// Devices (by index) to which every command SMS is delivered twice (a retransmission or a replay):
    /// the card must refuse the copy, and the OTA server must not mistake the copy's PoR for the job's.
    pub replayed: Vec<usize>,
    /// Devices (by index) whose PoRs are damaged on the way back: their CC no longer verifies.
    pub corrupt_por: Vec<usize>,
    /// Operator changes to run: 1 (A → B) or 2 (A → B → C, and for 3b the exhausted list after it).
    pub changes: u8,
    /// The SPI every OTA server uses ([`SPI`] by default; a weaker one shows the cards' MSL at work).
    pub spi: Spi,
    /// Report every TPDU, APDU and PoR as [`Event::Trace`] lines (slow for big fleets).
    pub trace: bool,
}

impl Options {
    /// `devices` devices for `alt`, seed 1, no faults, no trace.
    #[must_use]
    pub const fn new(alt: Alt, devices: usize) -> Self {
        Self {
            alt,
            devices,
            seed: 1,
            silent: Vec::new(),
            replayed: Vec::new(),
            corrupt_por: Vec::new(),
            spi: SPI,
            changes: 2,
            trace: false,
        }
    }
}

/// What the scenario reports as it runs.
#[derive(Debug, Clone)]
pub enum Event {
    /// A numbered step of S3-090907 starts.
    Step {
        /// The alternative.
        alt: Alt,
        /// The step number in the contribution.
        number: u8,
        /// Who acts.
        actors: String,
        /// What happens, with what crossed between the parties.
        text: String,
    },
    /// A detail line of the current step (a file's size, a PoR, a failure).
    Detail(String),
    /// A trace line (`--trace`): a TPDU, APDU or PoR in hex and decoded.
    Trace(String),
    /// Jobs finished in the current OTA campaign.
    Progress {
        /// Finished.
        done: usize,
        /// Submitted.
        total: usize,
    },
}

/// The outcome of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// The alternative.
    pub alt: Option<Alt>,
    /// Devices in the fleet.
    pub devices: usize,
    /// Per operator change (`MNO-A -> MNO-B`), the devices that completed it (attached to the new MNO
    /// with the new IMSI, the old MNO's OTA keys refused).
    pub moved: BTreeMap<String, usize>,
    /// Failures by cause (`step 4: timeout` …).
    pub failures: BTreeMap<String, usize>,
    /// Devices whose card reported its list of pairs exhausted (3b, step 9: SW `6A84`).
    pub exhausted: usize,
    /// AKA resynchronisations (3a: the new network's SQN starts behind the card's).
    pub resyncs: usize,
    /// OTA jobs run and their retries.
    pub ota_jobs: usize,
    /// Retries among them.
    pub ota_retries: usize,
    /// SMS the OTA servers could not match to a job in flight, by reason (`LatePor` for the PoR of a
    /// replayed command …).
    pub ota_unmatched: BTreeMap<String, usize>,
    /// Wall-clock time per phase, in order.
    pub phases: Vec<(String, Duration)>,
}

impl Summary {
    fn fail(&mut self, cause: impl Into<String>) {
        *self.failures.entry(cause.into()).or_default() += 1;
    }
}

/// SPI `16 19`: CC, ciphered, counter higher; PoR required, CC'd, ciphered, in the DELIVER-REPORT.
pub const SPI: Spi = Spi([0x16, 0x19]);
/// The USIM RFM TAR of the example profile.
pub const TAR_USIM_RFM: Tar = Tar([0xB0, 0x00, 0x11]);
/// The REFRESH applet.
pub const TAR_REFRESH: Tar = Tar([0xB2, 0x00, 0x00]);
/// The ISD (RAM, PUT KEY).
pub const TAR_ISD: Tar = Tar([0x00, 0x00, 0x00]);
/// The key-slot applet (3b).
pub const TAR_KEYSLOT: Tar = Tar([0xC0, 0x00, 0x01]);
/// The OTA keyset's KVN on every card.
pub const KVN: u8 = 1;
/// The number of pairs on a 3b card.
pub const PAIRS: u8 = 3;
/// PIN1 of the example profile.
const PIN1: &str = "1234";

fn kvn() -> Kvn {
    Kvn::new(KVN).unwrap_or_else(|_| unreachable!("1 is a KVN"))
}

fn iccid_of(i: usize) -> String {
    format!("89882110{:010}", i)
}

/// ICCID with its Luhn digit (19 digits).
fn iccid(i: usize) -> String {
    let body = iccid_of(i);
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(n, b)| {
            let d = u32::from(b - b'0');
            if n % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

fn msisdn(i: usize) -> Address {
    Address::international(&format!("4915{:09}", i)).unwrap_or_else(|_| unreachable!("13 digits"))
}

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|_| unreachable!("fixed hex"))
}

fn apdu(cla: Cla, ins: u8, p1: u8, p2: u8, data: Vec<u8>) -> CommandApdu {
    CommandApdu::new(cla, ins, p1, p2, data, None).unwrap_or_else(|_| unreachable!("short APDU"))
}

/// The Alt 3a IMSI-change script (m2m.md §4.4), for the USIM RFM TAR.
#[must_use]
pub fn imsi_change_script(imsi: &str, mnc_length: u8, old_mnc_length: u8) -> Vec<CommandApdu> {
    let sel = |fid: &str| apdu(Cla::ISO, 0xA4, 0x00, 0x0C, h(fid));
    let upd = |off: u8, d: Vec<u8>| apdu(Cla::ISO, 0xD6, 0x00, off, d);
    let ef = EfImsi::from_digits(imsi).unwrap_or_else(|_| unreachable!("IMSIs allocated by the MNOs"));
    let mnc_len = usize::from(mnc_length);
    let plmn = PlmnId::new(&imsi[..3], &imsi[3..3 + mnc_len]).unwrap_or_else(|_| unreachable!("digits"));
    let p = plmn.0.to_vec();
    let mut v = vec![sel("6F07"), upd(0, ef.encode())];
    if mnc_length != old_mnc_length {
        v.push(sel("6FAD"));
        v.push(upd(3, vec![mnc_length]));
    }
    v.push(sel("6F7E"));
    v.push(upd(0, [h("FFFFFFFF"), p.clone(), h("FFFEFF01")].concat()));
    v.push(sel("6F73"));
    v.push(upd(0, [h("FFFFFFFFFFFFFF"), p.clone(), h("FFFEFF01")].concat()));
    v.push(sel("6FE3"));
    v.push(upd(0, [h("FFFFFFFFFFFFFFFFFFFFFFFF"), p, h("FFFE01")].concat()));
    v
}

/// STORE DATA to the key-slot applet (3b; `m2msim_scp80::uicc::keyslot`): new IMSI, index, ICCID check,
/// REFRESH after, MNC length.
#[must_use]
pub fn keyslot_switch_apdu(imsi: &str, index: u8, iccid: &str, mnc_length: u8) -> CommandApdu {
    let ef = EfImsi::from_digits(imsi).unwrap_or_else(|_| unreachable!("IMSIs allocated by the MNOs"));
    let iccid_ef = m2msim_codec::sim::EfIccid::from_digits(iccid)
        .unwrap_or_else(|_| unreachable!("ICCIDs of the fleet"))
        .encode();
    let mut body = vec![0x80, 0x09];
    body.extend(ef.encode());
    body.extend([0x81, 0x01, index, 0x82, 0x0A]);
    body.extend(iccid_ef);
    body.extend([0x83, 0x01, 0x01, 0x84, 0x01, mnc_length]);
    let mut data = vec![0xA0, u8::try_from(body.len()).unwrap_or(0)];
    data.extend(body);
    apdu(Cla::UICC_PROPRIETARY, 0xE2, 0x90, 0x00, data)
}

fn compact(report: &JobReport) -> Option<&CompactResponse> {
    match report.por.as_ref()?.response.as_ref()? {
        RemoteResponse::Compact(c) => Some(c),
        RemoteResponse::Expanded(_) => None,
    }
}

/// Why a job did not do what it should, for the summary (`timeout`, `por 0a`, `sw 6985` …).
fn job_failure(report: &JobReport, expected_commands: Option<u8>) -> Option<String> {
    match &report.outcome {
        JobOutcome::Success | JobOutcome::Delivered => {}
        JobOutcome::CardStatus { por_status, .. } => {
            return Some(format!("PoR status {:02x}", por_status.code()));
        }
        other => return Some(other.name().replace('_', " ")),
    }
    let c = compact(report)?;
    if c.last_sw != StatusWord::OK {
        return Some(format!("SW {:04X}", c.last_sw.0));
    }
    match expected_commands {
        Some(n) if c.executed != n => Some(format!("{} of {n} commands", c.executed)),
        _ => None,
    }
}

/// The scenario: the fleet, the parties, what the M2M operator has decided (see the module docs).
pub struct Scenario {
    opts: Options,
    provider: Arc<dyn SecurityProvider>,
    mnos: Vec<Mno>,
    manufacturer: Manufacturer,
    fleet: Option<Fleet>,
    /// Index of the MNO each device is with.
    serving: Vec<usize>,
    observer: Box<dyn FnMut(&Event)>,
    summary: Summary,
    files_seq: u64,
}

impl std::fmt::Debug for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scenario").field("opts", &self.opts).field("mnos", &self.mnos).finish_non_exhaustive()
    }
}

/// Errors that stop a run (a broken set-up, not a device failing).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// A card could not be built.
    #[error("building the fleet: {0}")]
    Fleet(String),
    /// A file could not be written or read.
    #[error(transparent)]
    File(#[from] files::FileError),
}

const MNO_NAMES: [&str; 3] = ["MNO-A", "MNO-B", "MNO-C"];

impl Scenario {
    /// A scenario with `observer` receiving its events.
    #[must_use]
    pub fn new(opts: Options, observer: impl FnMut(&Event) + 'static) -> Self {
        let seed = opts.seed;
        let mnos = vec![
            Mno::new(MNO_NAMES[0], "001", "01", "491720000001", seed),
            Mno::new(MNO_NAMES[1], "001", "002", "491720000002", seed),
            Mno::new(MNO_NAMES[2], "001", "03", "491720000003", seed),
        ];
        Self {
            provider: Arc::new(RustCryptoProvider::new()),
            serving: vec![0; opts.devices],
            opts,
            mnos,
            manufacturer: Manufacturer::default(),
            fleet: None,
            observer: Box::new(observer),
            summary: Summary::default(),
            files_seq: 0,
        }
    }

    fn step(&mut self, number: u8, actors: &str, text: impl Into<String>) {
        let e = Event::Step { alt: self.opts.alt, number, actors: actors.into(), text: text.into() };
        (self.observer)(&e);
    }

    fn detail(&mut self, text: impl Into<String>) {
        (self.observer)(&Event::Detail(text.into()));
    }

    fn phase<T>(&mut self, name: &str, f: impl FnOnce(&mut Self) -> T) -> T {
        let t = Instant::now();
        let r = f(self);
        self.summary.phases.push((name.into(), t.elapsed()));
        r
    }

    /// The fleet (after [`Scenario::run`]).
    #[must_use]
    pub const fn fleet(&self) -> Option<&Fleet> {
        self.fleet.as_ref()
    }

    /// The MNOs (A, B, C).
    #[must_use]
    pub fn mnos(&self) -> &[Mno] {
        &self.mnos
    }

    /// The MNO each device is with now (0 = A, 1 = B, 2 = C).
    #[must_use]
    pub fn serving(&self) -> &[usize] {
        &self.serving
    }

    /// The manufacturer (3b).
    pub fn manufacturer_mut(&mut self) -> &mut Manufacturer {
        &mut self.manufacturer
    }

    /// Runs the whole flow and returns the summary.
    ///
    /// # Errors
    /// [`ScenarioError`] when the set-up fails.
    pub fn run(&mut self) -> Result<Summary, ScenarioError> {
        self.personalise()?;
        match self.opts.alt {
            Alt::A3a => {
                self.change_3a(0, 1)?;
                if self.opts.changes >= 2 {
                    self.change_3a(1, 2)?;
                }
            }
            Alt::A3b => {
                self.change_3b(0, 1, 2)?;
                if self.opts.changes >= 2 {
                    self.change_3b(1, 2, 3)?;
                    self.phase("a further change: the list is exhausted", |s| s.exhausted_3b(2));
                }
            }
        }
        Ok(self.summary.clone())
    }

    /// Steps 1 (3a) / 1–2 (3b): the fleet personalised for MNO A and attached to it. [`Scenario::run`]
    /// starts with it; a benchmark calls it alone, then [`Scenario::change_3a`].
    ///
    /// # Errors
    /// [`ScenarioError`] when a card cannot be built.
    pub fn personalise(&mut self) -> Result<(), ScenarioError> {
        self.summary = Summary { alt: Some(self.opts.alt), devices: self.opts.devices, ..Summary::default() };
        match self.opts.alt {
            Alt::A3a => self.phase("personalisation and first attach", Self::setup_3a),
            Alt::A3b => self.phase("personalisation and first attach", Self::setup_3b),
        }
    }

    /// The summary so far.
    #[must_use]
    pub const fn summary(&self) -> &Summary {
        &self.summary
    }

    // --- set-up ------------------------------------------------------------------------------------

    fn card_profile(base: &CardProfile, k: &[u8], opc: &[u8], ota: &KeysetRecord, alt: Alt) -> CardProfile {
        let mut p = base.clone();
        p.subscriber = Some(SubscriberSpec {
            k: SecretHex::new(k),
            opc: Some(SecretHex::new(opc)),
            op: None,
            sqn_ind_bits: None,
            sqn_delta: None,
            sqn_age_limit: None,
            include_kc: true,
        });
        p.ota.keyset = vec![ota.to_toml_table()];
        if alt == Alt::A3b {
            p.ota.application.push(ApplicationSpec {
                tar: TAR_KEYSLOT,
                kind: ApplicationKind::KeySlot,
                root: None,
                format: None,
                access: None,
                msl: 0x16,
            });
        }
        p
    }

    fn build_fleet(
        &mut self,
        mut profile_of: impl FnMut(&mut Self, usize, &str) -> CardProfile,
    ) -> Result<(), ScenarioError> {
        let mut fleet = Fleet::new();
        let term = TerminalConfig { pin1: Some(PIN1.into()), ..TerminalConfig::default() };
        let first_imsis: Vec<String> = (0..self.opts.devices).map(|_| self.mnos[0].allocate_imsi()).collect();
        for (i, imsi) in first_imsis.iter().enumerate() {
            let id = iccid(i);
            let profile = profile_of(self, i, &id);
            let mut uicc = Uicc::from_profile_with(&profile, self.provider.clone())
                .map_err(|e| ScenarioError::Fleet(e.to_string()))?;
            m2msim_scp80::ota_server::driver::write_iccid(&mut uicc, &id)
                .map_err(|e| ScenarioError::Fleet(e.to_string()))?;
            m2msim_scp80::ota_server::driver::write_imsi(&mut uicc, imsi)
                .map_err(|e| ScenarioError::Fleet(e.to_string()))?;
            set_mnc_length(&mut uicc, self.mnos[0].mnc_length());
            let card = SimCard::new(id, msisdn(i), uicc, term.clone())
                .map_err(|e| ScenarioError::Fleet(e.to_string()))?;
            fleet.push(card).map_err(|e| ScenarioError::Fleet(e.to_string()))?;
        }
        self.fleet = Some(fleet);
        Ok(())
    }

    fn setup_3a(&mut self) -> Result<(), ScenarioError> {
        let n = self.opts.devices;
        self.step(1, "M2M operator, MNO-A", format!("chooses MNO-A; {n} devices personalised with MNO-A's IMSIs, K/OPc and OTA keys (KVN 1, AES-128)"));
        let base = CardProfile::example().map_err(|e| ScenarioError::Fleet(e.to_string()))?;
        let provider = self.provider.clone();
        self.build_fleet(|s, i, id| {
            let k = parties::derive(&seed_key(s.opts.seed), "k", id);
            let opc = parties::derive(&seed_key(s.opts.seed), "opc", id);
            let ota = s.mnos[0].new_ota_keyset(kvn(), id);
            let imsi = format!("00101{:010}", i + 1);
            s.mnos[0].add_subscription(id, &imsi, &k, &opc);
            let _ = s.mnos[0].add_ota_keys(id, &ota, 1, provider.as_ref());
            Self::card_profile(&base, k.as_ref(), opc.as_ref(), &ota, Alt::A3a)
        })?;
        self.attach_all(0, "step 1");
        Ok(())
    }

    fn setup_3b(&mut self) -> Result<(), ScenarioError> {
        let n = self.opts.devices;
        self.step(1, "M2M operator", "chooses MNO-A for its M2M operations");
        self.step(
            2,
            "UICC manufacturer, MNO-A",
            format!("MNO-A acquires {n} UICCs personalised with MNO-A's first IMSI and a list of {PAIRS} Ki/OTA-key pairs; the manufacturer reveals pair 1 to MNO-A (sealed) and keeps pairs 2..{PAIRS}"),
        );
        for name in MNO_NAMES {
            let key = TransportKey::new(
                format!("MFR-{name}"),
                &parties::derive(&seed_key(self.opts.seed), "transport", name),
            );
            self.manufacturer.agree_transport_key(name, key);
        }
        let base = CardProfile::example().map_err(|e| ScenarioError::Fleet(e.to_string()))?;
        let provider = self.provider.clone();
        let mut revealed = Vec::new();
        self.build_fleet(|s, i, id| {
            let pairs = s.manufacturer.personalise(id, PAIRS, s.opts.seed, kvn());
            s.manufacturer.register(id, 1, MNO_NAMES[0]);
            let imsi = format!("00101{:010}", i + 1);
            let mut p = Self::card_profile(
                &base,
                pairs[0].k.expose(),
                pairs[0].opc.expose(),
                &pairs[0].ota,
                Alt::A3b,
            );
            p.keyslots = Some(KeySlotsSpec {
                active: 1,
                kvn: KVN,
                last: PAIRS,
                slots: pairs[1..]
                    .iter()
                    .zip(2u8..)
                    .map(|(pair, index)| KeySlotSpec {
                        index,
                        k: SecretHex::new(pair.k.expose()),
                        opc: SecretHex::new(pair.opc.expose()),
                        keyset: pair.ota.to_toml_table(),
                    })
                    .collect(),
                pending: None,
            });
            revealed.push((id.to_owned(), imsi, pair_request(s, MNO_NAMES[0], id, 1, provider.as_ref())));
            p
        })?;
        let mut ok = 0;
        for (id, imsi, pair) in revealed {
            match pair {
                Some((k, opc, ota)) => {
                    self.mnos[0].add_subscription(&id, &imsi, &k, &opc);
                    let _ = self.mnos[0].add_ota_keys(&id, &ota, 1, self.provider.as_ref());
                    ok += 1;
                }
                None => self.summary.fail("step 2: pair 1 not revealed"),
            }
        }
        self.detail(format!("MNO-A opened {ok} sealed escrow answers for pair 1"));
        self.attach_all(0, "step 2");
        Ok(())
    }

    /// Every device attaches to MNO `m` (AKA); failures are counted under `step`.
    fn attach_all(&mut self, m: usize, step: &str) -> usize {
        let mut ok = 0;
        for i in 0..self.opts.devices {
            if self.serving[i] != m {
                continue;
            }
            match self.attach(i, m) {
                AkaOutcome::Authenticated { resyncs } => {
                    self.summary.resyncs += usize::from(resyncs);
                    ok += 1;
                }
                AkaOutcome::Failed(why) => self.summary.fail(format!("{step}: AKA {why}")),
            }
        }
        let name = self.mnos[m].name.clone();
        self.detail(format!("{ok} devices attached to {name} (AKA: RES = XRES)"));
        ok
    }

    /// Runs AKA between device `i` and MNO `m`, resynchronising on AUTS (twice at most).
    pub fn attach(&mut self, i: usize, m: usize) -> AkaOutcome {
        let id = iccid(i);
        let Some(fleet) = self.fleet.as_mut() else { return AkaOutcome::Failed("no fleet") };
        let Some(card) = fleet.get_mut(i) else { return AkaOutcome::Failed("no such device") };
        if card.imsi() != self.mnos[m].imsi_of(&id) {
            return AkaOutcome::Failed("the device presents another IMSI");
        }
        for resyncs in 0..3u8 {
            let Some((rand, autn, xres)) = self.mnos[m].authentication_vector(&id) else {
                return AkaOutcome::Failed("unknown subscriber");
            };
            let out = card.terminal_input(terminal::Input::Authenticate { rand, autn });
            match out.first() {
                Some(terminal::Output::Authenticated(keys)) if keys.res == xres => {
                    return AkaOutcome::Authenticated { resyncs };
                }
                Some(terminal::Output::Authenticated(_)) => return AkaOutcome::Failed("RES != XRES"),
                Some(terminal::Output::SyncFailure { auts }) => {
                    if !self.mnos[m].resync(&id, &rand, auts) {
                        return AkaOutcome::Failed("AUTS does not verify");
                    }
                }
                _ => return AkaOutcome::Failed("MAC failure"),
            }
        }
        AkaOutcome::Failed("no synchronisation")
    }

    // --- OTA ---------------------------------------------------------------------------------------

    /// Runs one campaign of MNO `m`: one job per (device, script, TAR); returns the reports by device.
    fn campaign(
        &mut self,
        m: usize,
        jobs: Vec<(usize, Tar, Script)>,
        keys_of: impl Fn(&Mno, &str) -> Option<Arc<m2msim_scp80::keys::Keysets>>,
    ) -> Vec<Option<JobReport>> {
        let mut out = vec![None; self.opts.devices];
        let (Some(engine), Some(fleet)) = (self.mnos[m].engine.take(), self.fleet.take()) else { return out };
        let mut net = NetworkConfig { seed: self.opts.seed, ..NetworkConfig::default() };
        let addresses = |v: &[usize]| v.iter().map(|&i| msisdn(i)).collect();
        net.faults = Faults {
            silent: addresses(&self.opts.silent),
            duplicate: addresses(&self.opts.replayed),
            corrupt_mo: addresses(&self.opts.corrupt_por),
            ..Faults::default()
        };
        let mut sim = Simulation::new(engine, fleet, net);
        sim.set_trace_apdus(self.opts.trace);
        let mut by_job = std::collections::HashMap::new();
        let total = jobs.len();
        for (i, tar, script) in jobs {
            let id = iccid(i);
            let Some(keys) = keys_of(&self.mnos[m], &id) else {
                self.summary.fail("OTA: no keys for the card");
                continue;
            };
            let Some(card) = sim.fleet().get(i) else { continue };
            let job = card.job(tar, self.opts.spi, kvn(), keys, script);
            by_job.insert(sim.submit(job), i);
        }
        let trace = self.opts.trace;
        let observer = &mut self.observer;
        let mut done = 0usize;
        let step = (total / 100).max(1);
        let unmatched = &mut self.summary.ota_unmatched;
        let reports = sim.run_with(&mut |e| {
            if trace && let Some(line) = trace_line(e) {
                observer(&Event::Trace(line));
            }
            if let SimEvent::Unmatched { unmatched: u, .. } = e {
                let reason = format!("{:?}", u.reason);
                let name = reason.split([' ', '(', '{']).next().unwrap_or("?").to_owned();
                *unmatched.entry(name).or_default() += 1;
            }
            if let SimEvent::JobFinished { .. } = e {
                done += 1;
                if done.is_multiple_of(step) || done == total {
                    observer(&Event::Progress { done, total });
                }
            }
        });
        let (engine, fleet) = sim.into_parts();
        self.mnos[m].engine = Some(engine);
        self.fleet = Some(fleet);
        for r in reports {
            self.summary.ota_jobs += 1;
            self.summary.ota_retries += r.retries();
            if let Some(&i) = by_job.get(&r.job) {
                out[i] = Some(r);
            }
        }
        out
    }

    fn own_keys(mno: &Mno, id: &str) -> Option<Arc<m2msim_scp80::keys::Keysets>> {
        mno.ota_keys.get(id).cloned()
    }

    /// Records failures of a campaign; returns the devices whose job did what it should.
    fn check(
        &mut self,
        step: &str,
        reports: &[Option<JobReport>],
        devices: &[usize],
        expected: impl Fn(usize) -> Option<u8>,
    ) -> Vec<usize> {
        let mut ok = Vec::new();
        for &i in devices {
            match reports.get(i).and_then(Option::as_ref) {
                None => self.summary.fail(format!("{step}: not sent")),
                Some(r) => match job_failure(r, expected(i)) {
                    None => ok.push(i),
                    Some(why) => self.summary.fail(format!("{step}: {why}")),
                },
            }
        }
        ok
    }

    fn next_nonce(&mut self) -> [u8; 12] {
        self.files_seq += 1;
        let mut n = [0u8; 12];
        n[4..].copy_from_slice(&self.files_seq.to_be_bytes());
        n
    }

    fn imsi_list(&mut self, from: usize, to: usize, devices: &[usize]) -> ImsiList {
        let entries = devices
            .iter()
            .map(|&i| ImsiEntry {
                iccid: iccid(i),
                imsi: self.mnos[to].allocate_imsi(),
                mnc_length: self.mnos[to].mnc_length(),
            })
            .collect();
        ImsiList { from: self.mnos[to].name.clone(), to: self.mnos[from].name.clone(), entries }
    }

    fn show_file<T: Serialize>(&mut self, what: &str, value: &T) {
        let bytes = serde_json::to_vec(value).map(|v| v.len()).unwrap_or(0);
        self.detail(format!("{what}: {bytes} bytes of JSON"));
        if self.opts.trace
            && let Ok(text) = serde_json::to_string(value)
        {
            (self.observer)(&Event::Trace(format!("file {what}: {text}")));
        }
    }

    /// MNO `m` runs one OTA job on device `i` with the keys it holds for the card (for checks after a
    /// run: an old operator trying its keys, a roll-back attempt …); `None` when it holds no keys.
    pub fn ota(&mut self, m: usize, i: usize, tar: Tar, apdus: &[CommandApdu]) -> Option<JobReport> {
        let script = Script::compact(apdus).ok()?;
        self.campaign(m, vec![(i, tar, script)], Self::own_keys).into_iter().nth(i).flatten()
    }

    /// MNO `m` asks the manufacturer for pair `index` of device `i`'s card.
    ///
    /// # Errors
    /// [`parties::EscrowError`] as the manufacturer answers.
    pub fn escrow_request(
        &mut self,
        m: usize,
        i: usize,
        index: u8,
    ) -> Result<files::Sealed, parties::EscrowError> {
        let request = files::EscrowRequest { mno: self.mnos[m].name.clone(), iccid: iccid(i), index };
        self.manufacturer.request(&request)
    }

    // --- Alt 3a ------------------------------------------------------------------------------------

    /// Alt 3a steps 2–6 (7 when `from` is not MNO A) for every device served by MNO `from` (0 = A, 1 = B,
    /// 2 = C), moving them to `to`.
    ///
    /// # Errors
    /// [`ScenarioError`] when a file does not open (a set-up error, not a device failing).
    pub fn change_3a(&mut self, from: usize, to: usize) -> Result<(), ScenarioError> {
        let (a, b) = (self.mnos[from].name.clone(), self.mnos[to].name.clone());
        let devices: Vec<usize> = (0..self.opts.devices).filter(|&i| self.serving[i] == from).collect();
        let repeat = from > 0;
        let n0 = if repeat { 7 } else { 2 };
        self.step(n0, "M2M operator", format!("decides to move {} devices from {a} to {b}", devices.len()));
        let list = self.phase(&format!("{a}->{b} step 3: IMSI list"), |s| {
            s.step(3, &format!("{b} -> {a}"), format!("{b} delivers the list of new IMSIs"));
            let list = s.imsi_list(from, to, &devices);
            s.show_file("IMSI list", &list);
            list
        });
        // Step 4: the OTA campaign.
        let moved = self.phase(&format!("{a}->{b} step 4: OTA IMSI change + REFRESH"), |s| {
            s.step(4, &a, format!("OTA campaign: UPDATE EF_IMSI (+EF_AD MNC length, LOCI/PSLOCI/EPSLOCI invalidated) on TAR {TAR_USIM_RFM}, then REFRESH (UICC reset) on TAR {TAR_REFRESH}; PoRs verified"));
            let old_len = s.mnos[from].mnc_length();
            let mut expected = std::collections::HashMap::new();
            let jobs = list
                .entries
                .iter()
                .zip(&devices)
                .filter_map(|(e, &i)| {
                    let apdus = imsi_change_script(&e.imsi, e.mnc_length, old_len);
                    expected.insert(i, u8::try_from(apdus.len()).unwrap_or(0));
                    Script::compact(&apdus).ok().map(|sc| (i, TAR_USIM_RFM, sc))
                })
                .collect();
            let reports = s.campaign(from, jobs, Self::own_keys);
            let updated = s.check("step 4 (IMSI update)", &reports, &devices, |i| expected.get(&i).copied());
            let refresh = Script::compact(&[apdu(Cla::UICC_PROPRIETARY, 0xE2, 0x80, 0x00, h("800104"))])
                .unwrap_or_else(|_| unreachable!("a short APDU"));
            let jobs = updated.iter().map(|&i| (i, TAR_REFRESH, refresh.clone())).collect();
            let reports = s.campaign(from, jobs, Self::own_keys);
            let reset = s.check("step 4 (REFRESH)", &reports, &updated, |_| Some(1));
            let mut moved = Vec::new();
            for (e, &i) in list.entries.iter().zip(&devices) {
                if !reset.contains(&i) {
                    continue;
                }
                match s.fleet.as_ref().and_then(|f| f.get(i)).and_then(SimCard::imsi) {
                    Some(imsi) if imsi == e.imsi => moved.push((i, e.clone())),
                    _ => s.summary.fail("step 4: the device does not present the new IMSI after the reset"),
                }
            }
            s.detail(format!("{} of {} devices now present {b}'s IMSI", moved.len(), devices.len()));
            moved
        });
        // Step 5: the handover list, sealed.
        let transport = TransportKey::new(
            format!("{a}-{b}"),
            &parties::derive(&seed_key(self.opts.seed), "transport", &format!("{a}-{b}")),
        );
        let sealed = self.phase(&format!("{a}->{b} step 5: handover"), |s| {
            s.step(5, &format!("{a} -> {b}"), "delivers the list of devices with their new IMSI, K and OTA keys (sealed: AES-128-GCM under the A-B transport key)");
            let entries = moved
                .iter()
                .filter_map(|(i, e)| {
                    let id = iccid(*i);
                    let (k, opc) = s.mnos[from].export_keys(&id)?;
                    let ota = KeysetRecord::of(s.mnos[from].ota_keys.get(&id)?.get(kvn())?);
                    Some(HandoverEntry { iccid: id.clone(), imsi: e.imsi.clone(), k, opc, ota, next_counter: s.mnos[from].next_counter(&id, kvn()) })
                })
                .collect();
            let list = HandoverList { from: a.clone(), to: b.clone(), entries };
            let nonce = s.next_nonce();
            let sealed = transport.seal(HANDOVER_LIST, &list, nonce);
            if let Ok(sealed) = &sealed {
                s.show_file("sealed handover list", sealed);
            }
            sealed
        })?;
        // Step 6: MNO B takes over.
        self.phase(&format!("{a}->{b} step 6: AKA + PUT KEY"), |s| -> Result<(), ScenarioError> {
            s.step(6, &b, "opens the handover list, authenticates each device under its new IMSI (AKA), and rolls the OTA keys with PUT KEY; the old operator's keys no longer work");
            let list: HandoverList = transport.open(&sealed, HANDOVER_LIST)?;
            let provider = s.provider.clone();
            let mut attached = Vec::new();
            let index: std::collections::HashMap<String, usize> = devices.iter().map(|&i| (iccid(i), i)).collect();
            for e in &list.entries {
                let Some(&i) = index.get(&e.iccid) else { continue };
                let (Ok(k), Ok(opc)) = (e.k.expose16(), e.opc.expose16()) else { continue };
                s.mnos[to].add_subscription(&e.iccid, &e.imsi, &k, &opc);
                s.mnos[to].add_ota_keys(&e.iccid, &e.ota, e.next_counter, provider.as_ref())?;
                match s.attach(i, to) {
                    AkaOutcome::Authenticated { resyncs } => {
                        s.summary.resyncs += usize::from(resyncs);
                        attached.push(i);
                    }
                    AkaOutcome::Failed(why) => s.summary.fail(format!("step 6: AKA {why}")),
                }
            }
            s.detail(format!("{} devices attached to {b} (AKA: RES = XRES)", attached.len()));
            // PUT KEY: replace KVN 1 with b's own keys.
            let mut new_keys = std::collections::HashMap::new();
            let jobs = attached
                .iter()
                .filter_map(|&i| {
                    let id = iccid(i);
                    let record = s.mnos[to].new_ota_keyset(kvn(), &id);
                    let spec = parse_key_file(&record.to_key_file()).ok()?.pop()?.2;
                    let current = s.mnos[to].ota_keys.get(&id)?.clone();
                    let kik = current.get(kvn())?.kik()?;
                    let cmd = put_key_command(provider.as_ref(), kik.cipher(), Some(kvn()), &spec).ok()?;
                    new_keys.insert(i, record);
                    Script::compact(&[cmd]).ok().map(|sc| (i, TAR_ISD, sc))
                })
                .collect();
            let reports = s.campaign(to, jobs, Self::own_keys);
            let rolled = s.check("step 6 (PUT KEY)", &reports, &attached, |_| Some(1));
            for &i in &rolled {
                let id = iccid(i);
                let next = s.mnos[to].next_counter(&id, kvn());
                if let Some(r) = new_keys.get(&i) {
                    s.mnos[to].add_ota_keys(&id, r, next, provider.as_ref())?;
                }
            }
            // The old operator tries its keys: refused.
            let locked = s.lock_out_check("step 6", from, to, &rolled);
            s.detail(format!("{locked} devices refuse {a}'s OTA keys after the roll"));
            *s.summary.moved.entry(format!("{a} -> {b}")).or_default() += locked;
            Ok(())
        })
    }

    /// The old operator `old` tries its OTA keys on `devices` (an RFM SELECT of EF_IMSI): each device that
    /// refuses them now counts as served by `new`; one that accepts them is a failure of `step`. Returns the
    /// number locked out.
    fn lock_out_check(&mut self, step: &str, old: usize, new: usize, devices: &[usize]) -> usize {
        let select = Script::compact(&[apdu(Cla::ISO, 0xA4, 0x00, 0x0C, h("6F07"))])
            .unwrap_or_else(|_| unreachable!("a short APDU"));
        let jobs = devices.iter().map(|&i| (i, TAR_USIM_RFM, select.clone())).collect();
        let reports = self.campaign(old, jobs, Self::own_keys);
        let name = self.mnos[old].name.clone();
        let mut locked = 0;
        for &i in devices {
            match reports.get(i).and_then(Option::as_ref) {
                None => self.summary.fail(format!("{step}: the old operator's check was not sent")),
                Some(r) if r.outcome.is_success() => {
                    self.summary.fail(format!("{step}: {name}'s keys still work"))
                }
                Some(_) => {
                    locked += 1;
                    self.serving[i] = new;
                }
            }
        }
        locked
    }

    // --- Alt 3b ------------------------------------------------------------------------------------

    fn change_3b(&mut self, from: usize, to: usize, index: u8) -> Result<(), ScenarioError> {
        let (a, b) = (self.mnos[from].name.clone(), self.mnos[to].name.clone());
        let devices: Vec<usize> = (0..self.opts.devices).filter(|&i| self.serving[i] == from).collect();
        if from > 0 {
            self.step(
                9,
                "M2M operator",
                format!("a further change is required: from {a} to {b} (pair {index})"),
            );
        }
        self.step(3, "M2M operator, UICC manufacturer", format!("decides to move {} devices from {a} to {b}; registers pair {index} of each card for {b} with the manufacturer", devices.len()));
        for &i in &devices {
            self.manufacturer.register(&iccid(i), index, &b);
        }
        let list = self.phase(&format!("{a}->{b} step 4: IMSI list"), |s| {
            s.step(4, &format!("{b} -> {a}"), format!("{b} delivers the list of new IMSIs"));
            let list = s.imsi_list(from, to, &devices);
            s.show_file("IMSI list", &list);
            list
        });
        let switched = self.phase(&format!("{a}->{b} step 5: OTA key-slot switch"), |s| {
            s.step(5, &a, format!("OTA campaign: STORE DATA to the key-slot applet (TAR {TAR_KEYSLOT}): new IMSI, index {index}, ICCID check, REFRESH after; PoRs verified; the cards reset and activate pair {index}"));
            let jobs = list
                .entries
                .iter()
                .zip(&devices)
                .filter_map(|(e, &i)| {
                    let cmd = keyslot_switch_apdu(&e.imsi, index, &e.iccid, e.mnc_length);
                    Script::compact(&[cmd]).ok().map(|sc| (i, TAR_KEYSLOT, sc))
                })
                .collect();
            let reports = s.campaign(from, jobs, Self::own_keys);
            let ok = s.check("step 5 (switch)", &reports, &devices, |_| Some(1));
            let mut switched = Vec::new();
            for (e, &i) in list.entries.iter().zip(&devices) {
                if !ok.contains(&i) {
                    continue;
                }
                let kcvs = reports[i].as_ref().and_then(compact).map(|c| c.data.clone()).unwrap_or_default();
                match s.fleet.as_ref().and_then(|f| f.get(i)).and_then(SimCard::imsi) {
                    Some(imsi) if imsi == e.imsi => switched.push((i, e.clone(), kcvs)),
                    _ => s.summary.fail("step 5: the device does not present the new IMSI after the reset"),
                }
            }
            s.detail(format!("{} of {} devices now present {b}'s IMSI on pair {index}", switched.len(), devices.len()));
            switched
        });
        let notice = IndexNotice {
            from: a.clone(),
            to: b.clone(),
            entries: switched
                .iter()
                .map(|(i, e, _)| IndexEntry { iccid: iccid(*i), imsi: e.imsi.clone(), index })
                .collect(),
        };
        self.step(6, &format!("{a} -> {b}"), "delivers the UICC IDs with their new IMSI and index");
        self.show_file("index notice", &notice);
        let provider = self.provider.clone();
        let obtained = self.phase(&format!("{a}->{b} step 7: escrow"), |s| {
            s.step(7, &format!("{b} -> UICC manufacturer"), format!("obtains each pair by UICC ID and index (sealed to {b}'s transport key) and checks the KCVs the card reported"));
            let mut got = Vec::new();
            for ((i, _, kcvs), entry) in switched.iter().zip(&notice.entries) {
                match pair_request(s, &b, &entry.iccid, entry.index, provider.as_ref()) {
                    Some((k, opc, ota)) => {
                        let ks = ota.to_keysets(provider.as_ref()).ok();
                        let expected = ks.as_ref().and_then(|k| k.get(kvn())).map(|ks| {
                            let mut v = vec![0x80, 0x01, index, 0x81, 0x01, PAIRS - index];
                            for which in [m2msim_scp80::uicc::keyslot::KcvOf::Kic, m2msim_scp80::uicc::keyslot::KcvOf::Kid] {
                                if let Some(c) = m2msim_scp80::uicc::keyslot::kcv(provider.as_ref(), ks, which) {
                                    v.extend([if which == m2msim_scp80::uicc::keyslot::KcvOf::Kic { 0x82 } else { 0x83 }, 0x03]);
                                    v.extend(c);
                                }
                            }
                            v
                        });
                        if expected.as_ref() == Some(kcvs) {
                            got.push((*i, entry.imsi.clone(), k, opc, ota));
                        } else {
                            s.summary.fail("step 7: the KCVs of the escrowed pair differ from the card's");
                        }
                    }
                    None => s.summary.fail("step 7: the manufacturer refused"),
                }
            }
            s.detail(format!("{} pairs obtained and checked", got.len()));
            got
        });
        self.phase(&format!("{a}->{b} step 8: AKA + OTA"), |s| -> Result<(), ScenarioError> {
            s.step(8, &b, "authenticates each device with the new K and manages it with the new OTA keys; the old operator's keys no longer work");
            let mut ok = Vec::new();
            for (i, imsi, k, opc, ota) in &obtained {
                let id = iccid(*i);
                s.mnos[to].add_subscription(&id, imsi, k, opc);
                s.mnos[to].add_ota_keys(&id, ota, 1, provider.as_ref())?;
                match s.attach(*i, to) {
                    AkaOutcome::Authenticated { resyncs } => {
                        s.summary.resyncs += usize::from(resyncs);
                        ok.push(*i);
                    }
                    AkaOutcome::Failed(why) => s.summary.fail(format!("step 8: AKA {why}")),
                }
            }
            let read = Script::compact(&[apdu(Cla::ISO, 0xA4, 0x00, 0x0C, h("6F07")), apdu(Cla::ISO, 0xB0, 0x00, 0x00, vec![])])
                .unwrap_or_else(|_| unreachable!("short"));
            let jobs = ok.iter().map(|&i| (i, TAR_USIM_RFM, read.clone())).collect();
            let reports = s.campaign(to, jobs, Self::own_keys);
            let managed = s.check("step 8 (OTA with the new keys)", &reports, &ok, |_| Some(2));
            let locked = s.lock_out_check("step 8", from, to, &managed);
            s.detail(format!("{locked} devices attached to {b}, managed with its OTA keys, refusing {a}'s"));
            *s.summary.moved.entry(format!("{a} -> {b}")).or_default() += locked;
            Ok(())
        })
    }

    /// A change beyond the last pair: the card answers `6A84` (list exhausted), counted in
    /// [`Summary::exhausted`]; any other answer is a failure.
    fn exhausted_3b(&mut self, from: usize) {
        let devices: Vec<usize> = (0..self.opts.devices).filter(|&i| self.serving[i] == from).collect();
        self.step(
            9,
            "M2M operator",
            format!("a further change is required, but the cards have used all {PAIRS} pairs"),
        );
        let jobs = devices
            .iter()
            .filter_map(|&i| {
                let cmd = keyslot_switch_apdu("001019999999999", PAIRS + 1, &iccid(i), 2);
                Script::compact(&[cmd]).ok().map(|sc| (i, TAR_KEYSLOT, sc))
            })
            .collect();
        let reports = self.campaign(from, jobs, Self::own_keys);
        let mut exhausted = 0;
        for &i in &devices {
            if reports[i]
                .as_ref()
                .and_then(compact)
                .is_some_and(|c| c.last_sw == StatusWord::NOT_ENOUGH_MEMORY)
            {
                exhausted += 1;
            }
        }
        self.detail(format!("{exhausted} of {} devices report an exhausted list (SW 6A84)", devices.len()));
        self.summary.exhausted += exhausted;
    }
}

fn seed_key(seed: u64) -> [u8; 16] {
    let mut k = [0x5Au8; 16];
    k[..8].copy_from_slice(&seed.to_be_bytes());
    k
}

/// MNO `mno` asks the manufacturer for pair `index` of `iccid` and opens the sealed answer.
fn pair_request(
    s: &mut Scenario,
    mno: &str,
    iccid: &str,
    index: u8,
    provider: &dyn SecurityProvider,
) -> Option<([u8; 16], [u8; 16], KeysetRecord)> {
    let request = files::EscrowRequest { mno: mno.into(), iccid: iccid.into(), index };
    let sealed = s.manufacturer.request(&request).ok()?;
    let key =
        TransportKey::new(format!("MFR-{mno}"), &parties::derive(&seed_key(s.opts.seed), "transport", mno));
    let answer: files::EscrowAnswer = key.open(&sealed, files::ESCROW_ANSWER).ok()?;
    answer.ota.to_keysets(provider).ok()?;
    Some((answer.k.expose16().ok()?, answer.opc.expose16().ok()?, answer.ota))
}

fn set_mnc_length(uicc: &mut Uicc, n: u8) {
    let fs = uicc.fs_mut();
    let Some(usim) = fs.adf_by_label("USIM") else { return };
    let Some(node) = fs.child_by_fid(usim, m2msim_codec::sim::fid::EF_AD) else { return };
    if let Some(EfBody::Transparent(d)) = fs.body_mut(node)
        && let Ok(ad) = EfAd::decode_exact(d)
    {
        *d = ad.with_mnc_length(n).encode();
    }
}

/// One trace line for a simulation event: hex and the decoded value (JSON of the codec's types).
fn trace_line(e: &SimEvent<'_>) -> Option<String> {
    use m2msim_codec::sms::{Deliver, Submit};
    let json = |v: Result<String, serde_json::Error>| v.unwrap_or_else(|_| "?".into());
    Some(match e {
        SimEvent::SmsDeliver { at, to, tpdu, fate, .. } => {
            let decoded =
                Deliver::decode_exact(tpdu).map(|d| json(serde_json::to_string(&d))).unwrap_or_default();
            format!(
                "[{at:>7} ms] SMSC -> {} SMS-DELIVER ({fate:?}) {} {decoded}",
                to.digits().collect::<String>(),
                hex::encode_upper(tpdu)
            )
        }
        SimEvent::Apdu { at, card, command, response } => {
            let decoded = CommandApdu::decode_exact(command)
                .map(|c| json(serde_json::to_string(&c)))
                .unwrap_or_default();
            format!(
                "[{at:>7} ms] device {card} APDU {} -> {} {decoded}",
                hex::encode_upper(command),
                hex::encode_upper(response)
            )
        }
        SimEvent::DeliverReport { at, from, tpdu, rp, .. } => {
            format!(
                "[{at:>7} ms] {} -> SMSC SMS-DELIVER-REPORT ({rp:?}) {}",
                from.digits().collect::<String>(),
                hex::encode_upper(tpdu)
            )
        }
        SimEvent::SmsSubmit { at, from, tpdu, .. } => {
            let decoded =
                Submit::decode_exact(tpdu).map(|d| json(serde_json::to_string(&d))).unwrap_or_default();
            format!(
                "[{at:>7} ms] {} -> SMSC SMS-SUBMIT {} {decoded}",
                from.digits().collect::<String>(),
                hex::encode_upper(tpdu)
            )
        }
        SimEvent::JobFinished { at, report } => {
            format!(
                "[{at:>7} ms] PoR for {}: {}",
                report.card.as_str(),
                json(serde_json::to_string(&report.por))
            )
        }
        SimEvent::Retrying { at, job, attempt, reason } => {
            format!("[{at:>7} ms] {job} retry {attempt}: {reason:?}")
        }
        _ => return None,
    })
}

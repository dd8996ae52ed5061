//! S3-090905 end to end: initial provisioning of an MCIM to an M2ME with a TRE (TR 33.812 §5.1.3.7.3,
//! Alternative 1a), the 21 steps of the contribution in order, each reported as it happens.
//!
//! The parties: the M2ME (a [`DmClient`] whose tree holds `./DevInfo`, `./DMAcc` and `./M2MSIMMobj` with
//! the simulated TRE's plugin, `m2msim_dm_client::tre`), and the roles of `m2msim_m2m`: CCIF, ICF, VNO,
//! DRF, DPF (the DM server, fed by the staged job plan [`dm::DpfJobs`]), SHO and PVA.
//!
//! By default every exchange is real loopback HTTP: each role that receives messages is an endpoint of
//! its own ([`roles`]) on a listener on 127.0.0.1 ([`net::Network`]: an ephemeral port each, every listener
//! a tokio task), with JSON bodies and the existing byte formats (the bootstrap, the MCIM package), as
//! `docs/m2msimmobj.md` §7 lists them; the DM leg is a real OMA DM 1.2 session (XML or WBXML) carried by a
//! [`dm::DmLink`] to an `m2msim-dm-server` on 127.0.0.1 with a SQLite store ([`dm::HttpDpf`]; the
//! bootstrap's DMAcc `Addr` is its URL). With [`Options::in_process`] the same handlers are called directly
//! and the DPF's engine is hosted in-process, with the same results. A role answers what is asked of it and
//! asks the roles it needs (the VNO asks the ICF for an AV while the attach waits); the scenario plays the
//! M2ME, and sends the messages that start from an event rather than a request (steps 12, 13's report
//! from the DPF, 21) for the role whose turn it is. After AKA the M2ME's IP requests go through a bearer
//! that reaches only what the VNO's grant lists (the DRF and the DPF's DM endpoint). Every step is reported
//! with the exchange that carried it; [`Options::down`] takes a role down to see the run stop at its step.
//!
//! 1–6. The M2ME attaches to a VNO with its PCID (from the CCIF at manufacture); the VNO gets an AV from the
//!    ICF, runs AKA with the TRE (RES = XRES), and grants provisional connectivity that reaches only the RO.
//! 7–11. The M2ME connects to the DRF; the ICF passes the PCID, the IP address the VNO reported and K_boot to
//!    the DRF (which asks for them), which finds the DPF and the SHO and answers with the bootstrap: an OMA DM plain-profile message of Adds on `./DMAcc/DPF`
//!    (address, and the credentials both ways, see [`m2msim_m2m::BootCredential`]) and
//!    `./M2MSIMMobj/Boot/*` (PCID, DPF and SHO addresses, the MCIM provisioning context with the SHO's
//!    signature key), MAC'd under K_boot from the PCID's AKA run. The TRE checks the MAC, the M2ME applies
//!    it (`m2msim_dm_client::provision::apply_bootstrap_with`, restricted to Adds under `./DMAcc` and
//!    `./M2MSIMMobj/Boot`) and can now open a management session with the DPF.
//! 12. The DRF registers the M2ME with the SHO (PCID, TREID, DPF).
//! 13. The SHO retrieves the PfC and a fresh validation report from the M2ME through the DPF (DM session 1:
//!    Replace `TRE/ValidationNonce`, Get `TRE/PfC`, Get `TRE/ValidationData`), and sends them with the M2ME's
//!    identity to the PVA. 14–15. The PVA checks the report (attestation signature, PfCRef, nonce,
//!    measurements against its reference values) and answers.
//! 16–17. The SHO generates the MCIM, encrypts it to the PfC (ECIES P-256 / HKDF-SHA256 / AES-128-GCM,
//!    signed), builds the M2MSIMMobj object and hands it to the DPF.
//! 18–20. The DPF downloads it (DM session 2, client-initiated: a PCID device has no MSISDN for a package 0):
//!    Add `MCIMs/<x>` and its `Data` (as a large object in chunks when it exceeds the client's MaxMsgSize),
//!    then Exec `Install`, then Exec `Activate`, each released when the previous one succeeded. The TRE
//!    answers each Exec 202, decrypts with its platform key and installs, and reports each result by a
//!    Generic Alert 1226 carrying the Exec's Correlator.
//! 21. The DPF reports the final status to the SHO. Proof: the M2ME attaches to the SHO's network with the
//!    installed MCIM (AKA against the SHO's authentication vector: RES = XRES).
//!
//! [`Fault`]s inject what a user would want to see fail; the [`Summary`] reports the outcome and its cause.

pub mod dm;
pub mod net;
pub mod roles;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

use m2msim_codec::mo::m2msimmobj::{self as mobj, McimLeaf, McimPaths, ResultCode, State, path};
use m2msim_codec::mo::prov_ctx::McimProvCtx;
use m2msim_codec::mo::validation::{ValidationData, ValidationMode};
use m2msim_codec::reader::{Decode, Encode};
use m2msim_codec::sim::PlmnId;
use m2msim_codec::syncml::tree::Profile;
use m2msim_codec::syncml::{Command, Data, SyncMl, Wire};
use m2msim_codec::xml::Mode;
use m2msim_dm_client::mo::devinfo::DevInfo;
use m2msim_dm_client::mo::dmacc::{self, Layout};
use m2msim_dm_client::provision::{self, BootstrapPolicy};
use m2msim_dm_client::session::{self as client, ClientConfig, DmClient, Outcome as ClientOutcome, Transmit};
use m2msim_dm_client::tre::{AkaResponse, Tre, TreConfig};
use m2msim_dm_client::tree::{DmTime, DmTree};
use m2msim_dm_server::directory::{DeviceRecord, InMemoryDirectory};
use m2msim_dm_server::session::SessionConfig;
use m2msim_dm_server::store::{SqliteStore, Store};
use m2msim_m2m::wire::{
    AttachRequest, AuthResponse, BOOTSTRAP_MEDIA_TYPE, Challenge, Grant, PcidRequest, ProvisioningAnswer,
    ShoRegistration, StatusReport, ValidationReport,
};
use m2msim_m2m::{Bootstrap, Ccif, ConnectivityPolicy, Dpf, Drf, Pva, Registration, Sho};
use m2msim_scp80::mcim::p256::ecdsa::{SigningKey, VerifyingKey};
use m2msim_scp80::mcim::p256::{PublicKey, SecretKey};
use m2msim_scp80::mcim::{pfc_der, pfc_ref};
use rand_core::{TryCryptoRng, TryRng};
use serde::Serialize;
use sha2::{Digest, Sha256};

use self::dm::{
    Delivery, Direction, DmLink, DmResponse, DpfJobs, Hop, HttpDpf, InProcessDpf, LinkError, SessionRun,
    StagedStore,
};
use self::net::{CallError, Network, Request, Response, Role};
use self::roles::{
    CcifEndpoint, DpfApi, DrfEndpoint, DrfRecord, IcfEndpoint, PvaEndpoint, ShoEndpoint, ShoFaults,
    VnoEndpoint,
};

/// The M2ME's device identifier (`./DevInfo/DevId`, the DPF's device record).
pub const DEV_ID: &str = "IMEI:356938035643809";
/// The TRE identity.
pub const TRE_ID: &str = "TRE-356938035643809";
/// The DPF's Server Identifier (the DMAcc's ServerID and the ACLs' principal).
pub const DPF_SERVER_ID: &str = "dpf.ro.example";
/// The DPF's address.
pub const DPF_ADDR: &str = "https://dpf.ro.example/dm";
/// The DRF's host (reachable under provisional connectivity).
pub const DRF_HOST: &str = "drf.ro.example";
/// The DM account the bootstrap creates.
pub const ACCOUNT: &str = "DPF";
/// The MCIM node name the DPF uses (`./M2MSIMMobj/MCIMs/<x>`).
pub const MCIM_NODE: &str = "mcim1";

/// What to break (the negative scenarios).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The M2ME's OS image differs from the PVA's reference: the PVA refuses, no MCIM is released.
    TamperedMeasurement,
    /// The SHO encrypts the MCIM to another TRE's PfC: Install reports Result 403.
    ForeignPfc,
    /// A byte of the package's ciphertext is flipped between the SHO and the DPF: Result 402 (or 404).
    FlippedCiphertext,
    /// The DPF sends Exec Activate before Install: Result 409, no state change.
    ExecWrongState,
    /// The bootstrap's MCIM provisioning context names another SHO than the one sending the MCIM:
    /// Install reports Result 405 (rejected by policy), nothing is decrypted.
    OtherSho,
    /// The connection breaks after the Add's status and before the Exec reaches the M2ME: the DPF resumes
    /// in the M2ME's next session.
    BreakAfterAdd,
}

/// How to run the scenario.
#[derive(Debug, Clone)]
pub struct Options {
    /// Run the DM leg in WBXML (else XML).
    pub wbxml: bool,
    /// Report every DM message in full ([`Event::Trace`]).
    pub trace: bool,
    /// The seed of every key, RAND and nonce.
    pub seed: u64,
    /// What to break, if anything.
    pub fault: Option<Fault>,
    /// PLMN-list entries the SHO puts in the MCIM (3 bytes each): a long list makes the package a large
    /// object.
    pub plmn_list: usize,
    /// The client's MaxMsgSize.
    pub max_msg_size: u64,
    /// Run the DPF in-process (engines joined directly, virtual clock) instead of as a DM server over
    /// loopback HTTP.
    pub in_process: bool,
    /// Where the HTTP DPF keeps its SQLite store (`None`: in memory).
    pub data_dir: Option<PathBuf>,
    /// A role that is down (its endpoint does not answer: connection refused over HTTP).
    pub down: Option<Role>,
}

impl Default for Options {
    /// XML, no trace, seed 1, no fault, 4 PLMNs, 16 KiB messages, over HTTP with the store in memory.
    fn default() -> Self {
        Self {
            wbxml: false,
            trace: false,
            seed: 1,
            fault: None,
            plmn_list: 4,
            max_msg_size: 16 * 1024,
            in_process: false,
            data_dir: None,
            down: None,
        }
    }
}

impl Options {
    /// The default with a fault.
    #[must_use]
    pub fn with_fault(fault: Fault) -> Self {
        Self { fault: Some(fault), ..Self::default() }
    }

    /// A package far larger than the client's messages: 2000 PLMNs (6 kB) and MaxMsgSize 2 KiB.
    #[must_use]
    pub fn large_object() -> Self {
        Self { plmn_list: 2000, max_msg_size: 2048, ..Self::default() }
    }
}

/// What the scenario reports as it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A numbered step of S3-090905.
    Step {
        /// The step number in the contribution (1–21).
        number: u8,
        /// Who acts.
        actors: String,
        /// What happens and what crossed between the parties.
        text: String,
        /// The exchange that carried it (`POST http://127.0.0.1:<port>/drf/bootstrap  200`), when one did.
        via: Option<String>,
    },
    /// A detail line of the current step (a DM message in one line, a value).
    Detail(String),
    /// A trace line (with [`Options::trace`]): a message in full.
    Trace(String),
    /// The proof at the end: the M2ME's attach to the SHO's network with the MCIM.
    Proof(String),
}

/// The outcome of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// `xml` or `wbxml`.
    pub encoding: String,
    /// What carried the DM leg.
    pub transport: String,
    /// What carried the messages between the other roles.
    pub role_link: String,
    /// Each role's endpoint (base URL; the nominal host in-process).
    pub endpoints: BTreeMap<String, String>,
    /// What each role's endpoint received, in order (`POST /icf/av 200`).
    pub received: BTreeMap<String, Vec<String>>,
    /// The role that was down, if any.
    pub down: Option<Role>,
    /// The DPF's address (the DMAcc `Addr` the bootstrap gave the M2ME): the HTTP server's URL, or the
    /// nominal address in-process.
    pub dpf_addr: String,
    /// The fault injected.
    pub fault: Option<Fault>,
    /// The step numbers reported, in order.
    pub steps: Vec<u8>,
    /// The PVA's verdict (`valid`, `compromised: os`, …).
    pub verdict: Option<String>,
    /// The MCIM the SHO issued: MCIMID and IMSI.
    pub mcim_id: Option<String>,
    /// Its IMSI.
    pub imsi: Option<String>,
    /// The protected package's size in bytes.
    pub package_bytes: usize,
    /// The Result codes the M2ME reported by Generic Alert, per operation (`install`, `activate`).
    pub results: BTreeMap<String, u16>,
    /// The final status the SHO received (step 21).
    pub sho_status: Option<u16>,
    /// The MCIM's State in the TRE at the end.
    pub state: Option<u16>,
    /// The proof: the M2ME authenticated to the SHO's network with the MCIM (RES = XRES).
    pub attached: bool,
    /// DM sessions run.
    pub dm_sessions: usize,
    /// DM messages sent by the client.
    pub dm_messages: u32,
    /// Large objects the client received in chunks (target, size).
    pub large_objects: Vec<(String, u64)>,
    /// A session broke and the DPF resumed its plan in the next one.
    pub resumed: bool,
    /// Why the MCIM was not provisioned (`step 15: PVA refused …`); empty on success.
    pub failures: Vec<String>,
}

impl Summary {
    /// True when the MCIM is active and the M2ME attached with it.
    #[must_use]
    pub fn provisioned(&self) -> bool {
        self.attached && self.failures.is_empty()
    }
}

/// Errors that stop a run (a broken set-up, not a provisioning failure).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// Building the M2ME or the roles failed.
    #[error("set-up: {0}")]
    Setup(&'static str),
    /// The DM client engine was misused.
    #[error("DM client: {0}")]
    Client(#[from] client::SessionError),
    /// The DPF (its server or store) could not start.
    #[error("DPF: {0}")]
    Dpf(String),
    /// The roles' network could not start.
    #[error("roles: {0}")]
    Roles(String),
}

/// A deterministic random source: SHA-256 in counter mode over the seed (test and demo use only).
#[derive(Debug, Clone)]
pub struct SeededRng {
    seed: u64,
    counter: u64,
    buf: Vec<u8>,
}

impl SeededRng {
    /// A source for `seed`.
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Self { seed, counter: 0, buf: Vec::new() }
    }

    /// A source of its own for one party (`seed` and `label`).
    #[must_use]
    pub fn labelled(seed: u64, label: &str) -> Self {
        let d = derive(seed, label);
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[..8]);
        Self::new(u64::from_be_bytes(b))
    }

    fn fill(&mut self, out: &mut [u8]) {
        for b in out {
            if self.buf.is_empty() {
                self.counter += 1;
                let mut h = Sha256::new();
                h.update(self.seed.to_be_bytes());
                h.update(self.counter.to_be_bytes());
                self.buf = h.finalize().to_vec();
            }
            *b = self.buf.pop().unwrap_or(0);
        }
    }
}

impl TryRng for SeededRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.fill(&mut b);
        Ok(u32::from_be_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.fill(&mut b);
        Ok(u64::from_be_bytes(b))
    }
    fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), Infallible> {
        self.fill(d);
        Ok(())
    }
}

impl TryCryptoRng for SeededRng {}

fn derive(seed: u64, label: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(seed.to_be_bytes());
    h.update(label.as_bytes());
    h.finalize().into()
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

fn plmn(mcc: &str, mnc: &str) -> Result<PlmnId, ScenarioError> {
    PlmnId::new(mcc, mnc).map_err(|_| ScenarioError::Setup("PLMN digits"))
}

fn secret_key(seed: u64, label: &str) -> Result<SecretKey, ScenarioError> {
    SecretKey::from_slice(&derive(seed, label)).map_err(|_| ScenarioError::Setup("a P-256 scalar"))
}

fn signing_key(seed: u64, label: &str) -> Result<SigningKey, ScenarioError> {
    SigningKey::from_slice(&derive(seed, label)).map_err(|_| ScenarioError::Setup("a P-256 scalar"))
}

/// The SPKI DER of an ECDSA key (the provisioning context's SHO key).
fn spki(key: &VerifyingKey) -> Vec<u8> {
    pfc_der(&PublicKey::from(key))
}

/// The scenario (see the module docs).
pub struct Scenario {
    opts: Options,
    observer: Box<dyn FnMut(&Event)>,
    summary: Summary,
    /// The roles' network of the run under way.
    net: Option<Rc<Network>>,
    /// The transcript entries already reported.
    shown: BTreeSet<usize>,
}

impl std::fmt::Debug for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scenario").field("opts", &self.opts).finish_non_exhaustive()
    }
}

/// Where the DPF's device records go (the DRF shares the bootstrap's credentials with the DPF: the RO's
/// device directory).
pub enum DeviceRegistry {
    /// The in-process DPF's directory.
    Memory(InMemoryDirectory),
    /// The DM server's store.
    Store(Arc<dyn Store>),
}

impl DeviceRegistry {
    /// Adds or replaces a device record.
    ///
    /// # Errors
    /// The store refused it.
    pub fn put(&self, record: DeviceRecord) -> Result<(), ScenarioError> {
        match self {
            Self::Memory(d) => {
                d.insert(record);
                Ok(())
            }
            Self::Store(s) => s.put_device(&record).map_err(|e| ScenarioError::Dpf(e.to_string())),
        }
    }
}

/// The host (and port) of a URL: `http://127.0.0.1:8080/dm` → `127.0.0.1:8080`.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// The M2ME's IP bearer under provisional connectivity: it reaches only the destinations of the VNO's grant
/// (URL authorities); a request elsewhere is refused before anything goes on the wire.
struct Bearer<'a> {
    net: &'a Network,
    policy: &'a ConnectivityPolicy,
}

impl Bearer<'_> {
    fn post(&self, step: u8, to: Role, req: Request) -> Result<Response, CallError> {
        let dest = self.net.authority(to);
        if !self.policy.allows(&dest) {
            let why =
                format!("{dest} is not in the VNO's grant (reaches only {})", self.policy.allowed.join(", "));
            self.net.record_blocked(step, to, &req.path, &why);
            return Err(CallError::Blocked(why));
        }
        self.net.call(step, Role::M2me, to, req)
    }
}

/// The DM leg over the same bearer: a message to a DPF address outside the grant is refused.
struct DmBearer<'a> {
    link: &'a mut dyn DmLink,
    policy: &'a ConnectivityPolicy,
}

impl DmLink for DmBearer<'_> {
    fn name(&self) -> String {
        self.link.name()
    }
    fn address(&self) -> String {
        self.link.address()
    }
    fn route(&self, t: &Transmit) -> Option<String> {
        self.link.route(t)
    }
    fn post(&mut self, t: &Transmit) -> Result<Option<DmResponse>, LinkError> {
        let host = host_of(&t.uri);
        if !self.policy.allows(host) {
            return Err(LinkError::Transport(format!("blocked: {host} is not in the VNO's grant")));
        }
        self.link.post(t)
    }
    fn end_session(&mut self) {
        self.link.end_session();
    }
}

/// The measured components of the M2ME (name, what is measured).
const COMPONENTS: [(&str, &str); 3] =
    [("boot", "bootloader 2.1"), ("os", "m2m-os 4.7"), ("mcim-app", "mcim application 1.0")];

impl Scenario {
    /// A scenario with `observer` receiving its events.
    #[must_use]
    pub fn new(opts: Options, observer: impl FnMut(&Event) + 'static) -> Self {
        Self {
            opts,
            observer: Box::new(observer),
            summary: Summary::default(),
            net: None,
            shown: BTreeSet::new(),
        }
    }

    fn step(&mut self, number: u8, actors: &str, text: impl Into<String>) {
        self.step_via(number, actors, text, None);
    }

    fn step_via(&mut self, number: u8, actors: &str, text: impl Into<String>, via: Option<String>) {
        self.summary.steps.push(number);
        (self.observer)(&Event::Step { number, actors: actors.into(), text: text.into(), via });
    }

    /// Reports step `number`; `principal` picks the exchange shown on its line: the first not yet shown
    /// exchange of step `.0` to role `.1`, or (with `.2`) the answer to that exchange. The other exchanges
    /// of the step follow as details.
    fn show(
        &mut self,
        net: &Network,
        number: u8,
        actors: &str,
        text: impl Into<String>,
        principal: Option<(u8, Role, bool)>,
    ) {
        let mut via = None;
        if let Some((label, to, answer)) = principal {
            let t = net.transcript(0);
            let found = t
                .iter()
                .enumerate()
                .find(|(i, x)| x.step == label && x.to == to && (answer || !self.shown.contains(i)));
            if let Some((i, x)) = found {
                self.shown.insert(i);
                via = Some(if answer {
                    format!("answer to {}", x.request_line())
                } else if actors == format!("{} -> {}", x.from, x.to) {
                    x.request_line()
                } else {
                    x.line()
                });
            }
        }
        self.step_via(number, actors, text, via);
        self.flush(net, number);
    }

    /// Reports the exchanges of step `number` not yet shown, as details.
    fn flush(&mut self, net: &Network, number: u8) {
        for (i, x) in net.transcript(0).into_iter().enumerate() {
            if x.step == number && self.shown.insert(i) {
                self.detail(x.line());
            }
        }
    }

    /// Sends a request for `from` (the M2ME, or a role whose turn it is) and checks the answer.
    fn exchange(&mut self, net: &Network, step: u8, from: Role, to: Role, req: Request) -> Option<Response> {
        let mark = net.exchanges();
        let r = net.call(step, from, to, req);
        self.outcome(net, mark, r)
    }

    /// A 2xx answer, or `None` after reporting the failure at the step where it happened: the innermost
    /// failed exchange from transcript entry `mark` on (a role that is down fails the call that reached
    /// for it, and every call waiting on that one).
    fn outcome(&mut self, net: &Network, mark: usize, r: Result<Response, CallError>) -> Option<Response> {
        let why = match r {
            Ok(x) if x.ok() => return Some(x),
            Ok(x) => x.why(),
            Err(e) => e.to_string(),
        };
        let failed: Vec<(usize, net::Exchange)> =
            net.transcript(mark).into_iter().enumerate().filter(|(_, x)| x.failed()).collect();
        for (i, x) in &failed {
            self.shown.insert(mark + i);
            if self.summary.steps.contains(&x.step) {
                self.detail(x.line());
                continue;
            }
            let text = match &x.outcome {
                Some(Err(_)) => format!("the {} is unreachable: the run stops here", x.to),
                _ if *i == 0 => format!("refused: {why}"),
                _ => format!("the {} refused it", x.to),
            };
            self.step_via(x.step, &format!("{} -> {}", x.from, x.to), text, Some(x.request_line()));
        }
        let cause = match failed.last() {
            Some((_, x)) if matches!(x.outcome, Some(Err(_))) => format!("step {}: {}", x.step, x.line()),
            Some((_, x)) => format!("step {}: {} ({why})", x.step, x.line()),
            None => why,
        };
        self.fail(cause);
        None
    }

    fn detail(&mut self, text: impl Into<String>) {
        (self.observer)(&Event::Detail(text.into()));
    }

    fn trace(&mut self, lines: impl IntoIterator<Item = String>) {
        if self.opts.trace {
            for l in lines {
                (self.observer)(&Event::Trace(l));
            }
        }
    }

    fn fail(&mut self, cause: impl Into<String>) {
        self.summary.failures.push(cause.into());
    }

    /// Runs the 21 steps and returns the summary.
    ///
    /// # Errors
    /// [`ScenarioError`] when the set-up fails (not when provisioning fails: that is in the summary).
    #[allow(clippy::too_many_lines)] // the 21 steps read best in one place
    pub fn run(&mut self) -> Result<Summary, ScenarioError> {
        let seed = self.opts.seed;
        let fault = self.opts.fault;
        self.summary = Summary {
            encoding: if self.opts.wbxml { "wbxml" } else { "xml" }.into(),
            fault,
            down: self.opts.down,
            ..Summary::default()
        };
        self.shown.clear();
        let rng = &mut SeededRng::new(seed);
        let now = &mut DmTime(1_700_000_000);

        // --- manufacture: TRE, PCID (CCIF), attestation key and references (PVA) ------------------------
        let reference: Vec<(String, [u8; 32])> =
            COMPONENTS.iter().map(|(n, img)| ((*n).to_owned(), digest(img))).collect();
        let mut measured = reference.clone();
        if fault == Some(Fault::TamperedMeasurement) {
            measured[1].1 = digest("m2m-os 4.7 with a patched network stack");
        }
        let tre = Tre::new(
            TreConfig {
                tre_id: TRE_ID.into(),
                mode: ValidationMode::Remote,
                measurements: measured,
                reference: reference.clone(),
                require_signature: true,
            },
            secret_key(seed, "tre-pfc")?,
            signing_key(seed, "tre-attestation")?,
        );
        let ro_plmn = plmn("001", "01")?;
        let mut ccif = Ccif::new(ro_plmn, 1);
        let pcid = ccif.issue(rng);
        tre.set_provisional(&pcid.imsi, &pcid.k, &pcid.opc);
        let mut ccif_ep = CcifEndpoint::default();
        ccif_ep.keep(pcid.clone());
        let mut pva = Pva::default();
        pva.register_tre(TRE_ID, tre.attestation_key());
        for (c, d) in &reference {
            pva.set_reference(c, *d);
        }
        let mut tree = DmTree::default();
        let info = DevInfo {
            dev_id: DEV_ID.into(),
            man: "m2msim".into(),
            model: "M2ME-TRE".into(),
            dm_v: "1.2".into(),
            lang: "en-US".into(),
        };
        info.install(&mut tree, *now).map_err(|_| ScenarioError::Setup("DevInfo"))?;
        dmacc::install(&mut tree, Layout::Dm12, *now).map_err(|_| ScenarioError::Setup("DMAcc"))?;
        tre.install(&mut tree, *now).map_err(|_| ScenarioError::Setup("M2MSIMMobj"))?;
        let wire = if self.opts.wbxml { Wire::wbxml(Profile::rtk()) } else { ClientConfig::default().wire };
        let config = ClientConfig { wire, max_msg_size: self.opts.max_msg_size, ..ClientConfig::default() };
        let mut m2me = DmClient::new(tree, config, client::SeededNonces::new(seed));
        let mut sho = Sho::new(plmn("001", "02")?, 100, Some(signing_key(seed, "sho-signature")?));
        if self.opts.plmn_list > 0 {
            let list = (0..self.opts.plmn_list)
                .map(|i| plmn(&format!("{:03}", 200 + i % 700), &format!("{:02}", i / 700 + 1)))
                .collect::<Result<Vec<_>, _>>()?;
            sho.plmn_list = Some(list);
        }

        // --- the RO's DPF (a DM server on loopback, or in-process), and every role on its endpoint ------
        let (mut link, jobs, registry) = self.start_dpf(seed)?;
        let dpf_addr = link.address();
        self.summary.transport = link.name();
        self.summary.dpf_addr = dpf_addr.clone();
        let down: Vec<Role> = self.opts.down.into_iter().collect();
        let mut network = if self.opts.in_process {
            Network::in_process(&down)
        } else {
            Network::http(&down).map_err(ScenarioError::Roles)?
        };
        let net = &mut network;
        self.summary.role_link = if net.is_http() {
            "HTTP on loopback: one listener per role on 127.0.0.1, JSON and the bootstrap / MCIM byte formats"
                .into()
        } else {
            "in-process: the roles' handlers called directly, the same bodies".into()
        };
        self.summary.endpoints = net.urls().into_iter().map(|(r, u)| (r.name().to_owned(), u)).collect();
        // The contract data of the RO: where the PCID is provisioned, and the SHO's provisioning context.
        // With the OtherSho fault, the M2ME is registered with another SHO than the one that will send it an
        // MCIM (its key is still the issuing SHO's, so only the SHOID check can catch it).
        let sho_key = sho.verifying_key().ok_or(ScenarioError::Setup("SHO key"))?;
        let registered_sho = if fault == Some(Fault::OtherSho) { plmn("001", "03")? } else { sho.plmn };
        let mut ctx = McimProvCtx::new(registered_sho);
        ctx.sho_key = Some(spki(&sho_key));
        ctx.transaction_id = Some(derive(seed, "transaction")[..8].to_vec());
        let registration = Registration {
            dpf_addr: dpf_addr.clone(),
            dpf_server_id: DPF_SERVER_ID.into(),
            sho: sho.plmn,
            sho_addr: sho.plmn.to_string(),
        };
        let mut drf = Drf::default();
        drf.register(&pcid.imsi, registration.clone());
        let records = BTreeMap::from([(
            pcid.imsi.clone(),
            DrfRecord { dev_id: DEV_ID.into(), dpf_server_id: DPF_SERVER_ID.into(), prov_ctx: ctx.encode() },
        )]);
        let ro_destinations = vec![net.authority(Role::Drf), host_of(&dpf_addr).to_owned()];
        let mut dpf_api = DpfApi::new(jobs.clone(), DEV_ID);
        dpf_api.activate_first = fault == Some(Fault::ExecWrongState);
        let sho_faults = ShoFaults {
            foreign_pfc: if fault == Some(Fault::ForeignPfc) {
                Some(pfc_der(&secret_key(seed, "another-tre-pfc")?.public_key()))
            } else {
                None
            },
            flip_ciphertext: fault == Some(Fault::FlippedCiphertext),
        };
        let role_rng = |label: &str| SeededRng::labelled(seed, label);
        net.start(vec![
            (Role::Ccif, Box::new(ccif_ep)),
            (Role::Icf, Box::new(IcfEndpoint::new(role_rng("icf")))),
            (Role::Vno, Box::new(VnoEndpoint::new(ro_destinations))),
            (Role::Drf, Box::new(DrfEndpoint::new(drf, records, registry, ACCOUNT, role_rng("drf")))),
            (Role::Dpf, Box::new(dpf_api)),
            (Role::Sho, Box::new(ShoEndpoint::new(sho, role_rng("sho"), MCIM_NODE, sho_faults))),
            (Role::Pva, Box::new(PvaEndpoint::new(pva))),
        ]);
        let network = Rc::new(network);
        self.net = Some(network.clone());
        let net = &*network;

        // --- 1–6: initial attach with the PCID ------------------------------------------------------
        let attach = AttachRequest { imsi: pcid.imsi.clone() };
        let Some(r) = self.exchange(net, 1, Role::M2me, Role::Vno, Request::json("/vno/attach", &attach))
        else {
            return Ok(self.finish());
        };
        self.show(
            net,
            1,
            "M2ME -> VNO",
            format!("attach with PCID {} (IMSI format; MCC/MNC {ro_plmn} route to the RO)", pcid.imsi),
            Some((1, Role::Vno, false)),
        );
        self.show(
            net,
            2,
            "VNO -> ICF",
            format!("PCID {}: authentication vectors requested from the RO", pcid.imsi),
            Some((2, Role::Icf, false)),
        );
        self.show(
            net,
            3,
            "ICF",
            "fetches the PCID's temporary-access credential from the CCIF (it does not hold it yet: S3-090905 step 3 NOTE) and makes an AV (Milenage)",
            Some((3, Role::Ccif, false)),
        );
        let Ok(challenge) = r.parse::<Challenge>() else {
            self.fail("step 4: the VNO's answer is not an AKA challenge");
            return Ok(self.finish());
        };
        self.show(
            net,
            4,
            "ICF -> VNO",
            format!(
                "AV: RAND {} AUTN {} (with XRES, CK, IK)",
                hex::encode(challenge.rand),
                hex::encode(challenge.autn)
            ),
            Some((2, Role::Icf, true)),
        );
        let res = match tre.authenticate(&challenge.rand, &challenge.autn) {
            AkaResponse::Res { res, .. } => res,
            other => {
                self.step(5, "VNO <-> M2ME", format!("AKA fails: {other:?}"));
                self.fail("step 5: AKA with the PCID failed");
                return Ok(self.finish());
            }
        };
        let auth = AuthResponse { imsi: pcid.imsi.clone(), res: res.to_vec() };
        let Some(r) = self.exchange(net, 5, Role::M2me, Role::Vno, Request::json("/vno/attach/auth", &auth))
        else {
            return Ok(self.finish());
        };
        self.show(
            net,
            5,
            "VNO <-> M2ME",
            format!(
                "AKA: RAND/AUTN to the TRE (the attach's answer), RES {} back; the VNO finds RES = XRES",
                hex::encode(res)
            ),
            Some((5, Role::Vno, false)),
        );
        let Some((ip, policy)) = r.parse::<Grant>().ok().and_then(|g| Some((g.ip, g.policy?))) else {
            self.fail("step 6: the VNO granted no provisional connectivity");
            return Ok(self.finish());
        };
        self.show(
            net,
            6,
            "VNO -> M2ME",
            format!(
                "provisional IP connectivity: address {ip}, reaches only {} (the VNO reports the attach and the address to the ICF)",
                policy.allowed.join(", ")
            ),
            Some((5, Role::Vno, true)),
        );

        // --- 7–12: discovery and registration ---------------------------------------------------------
        let bearer = Bearer { net, policy: &policy };
        let probe = ShoRegistration {
            pcid: pcid.imsi.clone(),
            dev_id: DEV_ID.into(),
            tre_id: TRE_ID.into(),
            dpf_server_id: String::new(),
        };
        // The grant is enforced by the M2ME's bearer: a request to anything but the RO is refused.
        if bearer.post(7, Role::Sho, Request::json("/sho/registrations", &probe)).is_ok() {
            self.fail("step 7: the provisional bearer reached the SHO");
            return Ok(self.finish());
        }
        let q = PcidRequest { pcid: pcid.imsi.clone() };
        let mark = net.exchanges();
        let r = bearer.post(7, Role::Drf, Request::json("/drf/bootstrap", &q));
        let Some(r) = self.outcome(net, mark, r) else { return Ok(self.finish()) };
        self.show(
            net,
            7,
            "M2ME -> DRF",
            format!("connects to the RO's DRF over the provisional connection with its PCID {}", pcid.imsi),
            Some((7, Role::Drf, false)),
        );
        self.show(
            net,
            8,
            "ICF -> DRF",
            format!(
                "bootstrap context for PCID {}: IP address {ip}, RAND and K_boot of the PCID's AKA run (asked for when the M2ME connects)",
                pcid.imsi
            ),
            Some((8, Role::Icf, false)),
        );
        self.show(
            net,
            9,
            "DRF",
            format!(
                "PCID {} -> DPF {} ({}), SHO {}; builds the bootstrap (DMAcc with DIGEST credentials both ways, Boot nodes, MCIM provisioning context) and gives the credentials to the DPF's device directory",
                pcid.imsi, registration.dpf_server_id, registration.dpf_addr, registration.sho_addr
            ),
            None,
        );
        let boot = match Bootstrap::from_http(&r.content_type, r.body) {
            Ok(b) => b,
            Err(e) => {
                self.fail(format!("step 10: the DRF's answer is not a bootstrap: {e}"));
                return Ok(self.finish());
            }
        };
        let adds =
            SyncMl::decode(&boot.message, Mode::Strict).map(|d| d.message.body.commands.len()).unwrap_or(0);
        self.show(
            net,
            10,
            "DRF -> M2ME",
            format!(
                "bootstrap: OMA DM plain profile, {adds} Add commands, {} B, Content-Type {BOOTSTRAP_MEDIA_TYPE} with RAND {} and MAC (HMAC-SHA256 under K_boot) = {}",
                boot.message.len(),
                hex::encode(boot.rand),
                hex::encode(&boot.mac[..8])
            ),
            Some((7, Role::Drf, true)),
        );
        self.trace(String::from_utf8_lossy(&boot.message).lines().map(str::to_owned).collect::<Vec<_>>());
        if !tre.verify_bootstrap(&boot.rand, &boot.message, &boot.mac) {
            self.fail("step 11: the bootstrap MAC does not verify");
            return Ok(self.finish());
        }
        // Only Adds, only under ./DMAcc and ./M2MSIMMobj/Boot, all checked before anything is written.
        let boot_policy = BootstrapPolicy::restricted(["./DMAcc", path::BOOT]);
        let accounts =
            match provision::apply_bootstrap_with(m2me.tree_mut(), &boot.message, *now, &boot_policy) {
                Ok(a) => a,
                Err(e) => {
                    self.fail(format!("step 11: bootstrap refused: {e}"));
                    return Ok(self.finish());
                }
            };
        // The TRE takes the MCIM provisioning context from its Boot node: the SHO's signature key, and the
        // SHOID (and MCIMID, when announced) every package must carry.
        let prov_ctx = m2me
            .tree()
            .text(path::BOOT_MCIM_PROV_CTX)
            .and_then(|h| hex::decode(h).ok())
            .and_then(|b| McimProvCtx::decode_exact(&b).ok());
        if prov_ctx.is_none() {
            self.fail("step 11: the bootstrap carries no MCIM provisioning context");
            return Ok(self.finish());
        }
        tre.set_prov_ctx(prov_ctx);
        if tre.grant_server(m2me.tree_mut(), DPF_SERVER_ID, *now).is_err() {
            return Err(ScenarioError::Setup("M2MSIMMobj ACLs"));
        }
        self.step(
            11,
            "M2ME",
            format!(
                "the TRE verifies the MAC (K_boot from the PCID's AKA); {adds} Adds applied (only ./DMAcc and ./M2MSIMMobj/Boot allowed): account ./DMAcc/{ACCOUNT} for {} at {}, and ./M2MSIMMobj/Boot/*; SHO signature key from MCIMProvCtx; ./M2MSIMMobj opened to the DPF",
                accounts.first().map_or("?", |a| a.server_id.as_str()),
                accounts.first().map_or("?", |a| a.addr.as_str())
            ),
        );
        let reg = ShoRegistration {
            pcid: pcid.imsi.clone(),
            dev_id: DEV_ID.into(),
            tre_id: TRE_ID.into(),
            dpf_server_id: DPF_SERVER_ID.into(),
        };
        let Some(_) = self.exchange(net, 12, Role::Drf, Role::Sho, Request::json("/sho/registrations", &reg))
        else {
            return Ok(self.finish());
        };
        self.show(
            net,
            12,
            "DRF -> SHO",
            format!("registers the M2ME: PCID {}, TREID {TRE_ID}, DPF {DPF_SERVER_ID}", pcid.imsi),
            Some((12, Role::Sho, false)),
        );

        // --- 13–15: validation ----------------------------------------------------------------------
        self.show(
            net,
            13,
            "SHO -> PVA (via DPF <-> M2ME)",
            format!("the SHO asks the DPF for the PfC and a validation report for a fresh nonce (DM session 1, client-initiated after the bootstrap: Replace TRE/ValidationNonce, Get TRE/PfC, Get TRE/ValidationData); the DPF returns them, and the SHO sends them with the M2ME's identity ({TRE_ID}) to the PVA"),
            None,
        );
        let run = {
            let mut dm_bearer = DmBearer { link: link.as_mut(), policy: &policy };
            self.session(&mut m2me, &mut dm_bearer, now, false)?
        };
        if run.outcome != ClientOutcome::Completed {
            self.fail(format!("step 13: DM session failed: {:?}", run.outcome));
            return Ok(self.finish());
        }
        let result_of = |label: &str| {
            let (id, _) = jobs.released().into_iter().rev().find(|(_, l)| l == label)?;
            jobs.outcome(id)?.results.first()?.data.as_ref()?.as_bytes().map(<[u8]>::to_vec)
        };
        let (Some(pfc), Some(report_bytes)) = (result_of("Get PfC"), result_of("Get ValidationData")) else {
            self.fail("step 13: the M2ME did not return its PfC and validation data");
            return Ok(self.finish());
        };
        if let Ok(report) = ValidationData::decode_exact(&report_bytes) {
            self.detail(format!(
                "PfC: {} B SubjectPublicKeyInfo, PfCRef {}",
                pfc.len(),
                hex::encode(&pfc_ref(&pfc)[..8])
            ));
            self.detail(format!(
                "validation report: {:?} mode, {} measurements, nonce {}, signed by the TRE's attestation key",
                report.mode,
                report.measurements.as_ref().map_or(0, Vec::len),
                hex::encode(&report.nonce)
            ));
        }
        let v = ValidationReport { pfc, report: report_bytes };
        let path = format!("/sho/devices/{DEV_ID}/validation");
        let Some(r) = self.exchange(net, 13, Role::Dpf, Role::Sho, Request::json(path, &v)) else {
            return Ok(self.finish());
        };
        self.flush(net, 13);
        let Ok(answer) = r.parse::<ProvisioningAnswer>() else {
            self.fail("step 15: the SHO's answer does not parse");
            return Ok(self.finish());
        };
        self.step(14, "PVA", "checks the attestation signature (key registered at manufacture), PfCRef, nonce, and each measurement against its reference value");
        let verdict_text = answer.verdict.to_string();
        self.summary.verdict = Some(verdict_text.clone());
        self.show(
            net,
            15,
            "PVA -> SHO",
            format!("validation result: {verdict_text}"),
            Some((13, Role::Pva, true)),
        );

        // --- 16–17: the SHO builds the object -------------------------------------------------------
        let (Some(mcim_id), Some(imsi)) = (answer.mcim_id.clone(), answer.imsi.clone()) else {
            self.step(16, "SHO", format!("releases no MCIM: the PVA found the M2ME {verdict_text}"));
            self.fail(format!("step 15: PVA refused the M2ME ({verdict_text}); no MCIM released"));
            return Ok(self.finish());
        };
        self.summary.mcim_id = Some(mcim_id.clone());
        self.summary.imsi = Some(imsi.clone());
        self.summary.package_bytes = answer.package_bytes;
        self.step(
            16,
            "SHO",
            format!(
                "generates MCIM {mcim_id} (IMSI {imsi}, K, OPc, {} PLMNs), encrypts it to the PfC (ECIES P-256, HKDF-SHA256, AES-128-GCM), signs it: package {} B; builds ./M2MSIMMobj/MCIMs/{MCIM_NODE}",
                self.opts.plmn_list, answer.package_bytes
            ),
        );
        for n in &answer.notes {
            self.detail(n.clone());
        }
        self.show(
            net,
            17,
            "SHO -> DPF",
            format!(
                "the M2MSIMMobj object for {DEV_ID} (the {} B package as {}) and the authorisation to provision it",
                answer.package_bytes,
                mobj::MCIM_MIME_TYPE
            ),
            Some((17, Role::Dpf, false)),
        );

        // --- 18–20: download, install, report ------------------------------------------------------
        let paths = McimPaths::new(MCIM_NODE);
        let first_new = jobs.released().iter().position(|(_, l)| l == "Add MCIM node").unwrap_or(0);
        self.step(
            18,
            "DPF -> M2ME",
            format!(
                "downloads the MCIM object (DM session 2): Add {}, Add {} (Format bin, Type {}), then Exec Install and Exec Activate, each once the previous one succeeded",
                paths.node(),
                paths.leaf(McimLeaf::Data),
                mobj::MCIM_MIME_TYPE
            ),
        );
        let mut sessions = 0;
        loop {
            sessions += 1;
            let lose = fault == Some(Fault::BreakAfterAdd) && sessions == 1;
            let run = {
                let mut dm_bearer = DmBearer { link: link.as_mut(), policy: &policy };
                self.session(&mut m2me, &mut dm_bearer, now, lose)?
            };
            self.summary.large_objects.extend(run.large_objects.iter().cloned());
            if jobs.finished() || jobs.halted().is_some() {
                break;
            }
            if sessions >= 3 {
                self.fail("step 18: the DPF's plan did not complete in 3 sessions");
                break;
            }
            self.detail(format!("session ended ({:?}) with the DPF's plan unfinished: the M2ME connects again and the DPF resumes", run.outcome));
            self.summary.resumed = true;
        }
        // What the DPF learned from the Generic Alerts.
        let mut dpf = Dpf::default();
        for (id, _) in jobs.released().iter().skip(first_new) {
            let Some(o) = jobs.outcome(*id) else { continue };
            let Some(a) = o.alert.as_ref() else { continue };
            for item in &a.items {
                let ty = item.meta.as_ref().and_then(|m| m.type_.as_deref()).unwrap_or_default();
                let data = item.data.as_ref().and_then(Data::as_bytes).unwrap_or_default();
                if let Some((op, r)) = dpf.alert(MCIM_NODE, ty, data) {
                    self.summary.results.insert(op.node_name().to_lowercase(), r.code());
                }
            }
        }
        if let Some((label, why)) = jobs.halted() {
            self.fail(format!("step 19/20: {label} -> {why}"));
        }
        self.summary.state = tre.state(MCIM_NODE).map(State::code);

        // --- 21: report to the SHO, and the proof -----------------------------------------------------
        let Some((_, op, result)) = dpf.reports.last().cloned() else {
            self.step(21, "DPF -> SHO", "no result to report: the M2ME sent no Generic Alert");
            self.fail("step 20: no Generic Alert from the M2ME");
            return Ok(self.finish());
        };
        let status = StatusReport {
            results: dpf.reports.iter().map(|(_, op, r)| (op.node_name().to_lowercase(), r.code())).collect(),
        };
        let path = format!("/sho/mcims/{mcim_id}/status");
        let Some(_) = self.exchange(net, 21, Role::Dpf, Role::Sho, Request::json(path, &status)) else {
            return Ok(self.finish());
        };
        self.summary.sho_status = Some(result.code());
        let reports: Vec<String> =
            dpf.reports.iter().map(|(_, op, r)| format!("{} {}", op.node_name(), r.code())).collect();
        self.show(
            net,
            21,
            "DPF -> SHO",
            format!(
                "provisioning status of MCIM {mcim_id}: {} (final: {} {})",
                reports.join(", "),
                op.node_name(),
                result.code()
            ),
            Some((21, Role::Sho, false)),
        );
        if tre.current_imsi().as_deref() != Some(imsi.as_str()) {
            let state =
                tre.state(MCIM_NODE).map_or("absent".to_owned(), |s| format!("{} {}", s.code(), s.name()));
            (self.observer)(&Event::Proof(format!(
                "the M2ME cannot attach to the SHO's network: the MCIM is not active (State {state})"
            )));
            if self.summary.failures.is_empty() {
                self.fail("proof: the MCIM is not active");
            }
            return Ok(self.finish());
        }
        // The proof: an attach to the SHO's own network with the MCIM (the radio leg, outside the
        // provisional bearer).
        let attach = AttachRequest { imsi: imsi.clone() };
        let Some(r) = self.exchange(net, 0, Role::M2me, Role::Sho, Request::json("/sho/attach", &attach))
        else {
            return Ok(self.finish());
        };
        let Ok(challenge) = r.parse::<Challenge>() else {
            self.fail("proof: the SHO's answer is not an AKA challenge");
            return Ok(self.finish());
        };
        let res = match tre.authenticate(&challenge.rand, &challenge.autn) {
            AkaResponse::Res { res, .. } => res.to_vec(),
            other => {
                self.fail(format!("proof: AKA with the MCIM failed in the TRE: {other:?}"));
                return Ok(self.finish());
            }
        };
        let auth = AuthResponse { imsi: imsi.clone(), res };
        let attached = net
            .call(0, Role::M2me, Role::Sho, Request::json("/sho/attach/auth", &auth))
            .is_ok_and(|r| r.parse::<Grant>().is_ok());
        self.flush(net, 0);
        self.summary.attached = attached;
        (self.observer)(&Event::Proof(if attached {
            format!(
                "the M2ME attaches to the SHO's network {} with IMSI {imsi}: AKA with the installed MCIM, RES = XRES",
                registration.sho
            )
        } else {
            "AKA with the installed MCIM failed: the SHO found RES different from XRES".to_owned()
        }));
        if !attached {
            self.fail("proof: AKA with the MCIM failed");
        }
        Ok(self.finish())
    }

    fn finish(&mut self) -> Summary {
        if let Some(net) = self.net.take() {
            self.summary.received =
                net.received().into_iter().map(|(r, v)| (r.name().to_owned(), v)).collect();
        }
        self.summary.clone()
    }

    /// Starts the DPF: over HTTP (a DM server on loopback on a SQLite store, the staged plan served
    /// through [`StagedStore`]) or in-process.
    fn start_dpf(&self, seed: u64) -> Result<(Box<dyn DmLink>, DpfJobs, DeviceRegistry), ScenarioError> {
        let session_config = SessionConfig::default();
        if self.opts.in_process {
            let directory = InMemoryDirectory::new();
            let jobs = DpfJobs::new(DEV_ID);
            let link = InProcessDpf::new(DPF_ADDR, directory.clone(), jobs.clone(), session_config, seed);
            return Ok((Box::new(link), jobs, DeviceRegistry::Memory(directory)));
        }
        let (store, note) = match &self.opts.data_dir {
            Some(dir) => (SqliteStore::open(dir), format!("SQLite store in {}", dir.display())),
            None => (SqliteStore::in_memory(), "SQLite store in memory".to_owned()),
        };
        let store: Arc<dyn Store> = Arc::new(store.map_err(|e| ScenarioError::Dpf(e.to_string()))?);
        let jobs = DpfJobs::on_store(DEV_ID, store.clone());
        let staged = Arc::new(StagedStore::new(store.clone(), jobs.clone()));
        let link =
            HttpDpf::start(staged, session_config, &note).map_err(|e| ScenarioError::Dpf(e.to_string()))?;
        Ok((Box::new(link), jobs, DeviceRegistry::Store(store)))
    }

    /// One DM session, every message reported as it crosses; with `break_on_exec`, the first DPF message
    /// carrying an Exec is lost (the connection breaks).
    fn session(
        &mut self,
        m2me: &mut DmClient,
        link: &mut dyn DmLink,
        now: &mut DmTime,
        break_on_exec: bool,
    ) -> Result<SessionRun, ScenarioError> {
        self.summary.dm_sessions += 1;
        let session_id = self.summary.dm_sessions.to_string();
        let mut broken = !break_on_exec;
        let trace = self.opts.trace;
        let observer = RefCell::new(&mut self.observer);
        let summary = &mut self.summary;
        let mut tap = |hop: Hop<'_>| {
            let arrow = if hop.direction == Direction::Up { "M2ME -> DPF" } else { "DPF -> M2ME" };
            let line = dm::summarize(hop.body);
            let mut guard = observer.borrow_mut();
            let observer: &mut dyn FnMut(&Event) = &mut **guard;
            if hop.direction == Direction::Up {
                cue_alert_steps(observer, summary, &line);
            }
            let via = hop.via.map(|v| format!("{v}  ")).unwrap_or_default();
            observer(&Event::Detail(format!("{arrow}  {via}{line}")));
            if trace {
                for l in dm::render(hop.body) {
                    observer(&Event::Trace(l));
                }
            }
            if hop.direction == Direction::Down && !broken {
                let has_exec = SyncMl::decode(hop.body, Mode::Lenient)
                    .is_ok_and(|d| d.message.body.commands.iter().any(|c| matches!(c, Command::Exec(_))));
                if has_exec {
                    broken = true;
                    observer(&Event::Detail(
                        "fault: the connection breaks (the exchange is aborted after the DPF answered); this message never reaches the M2ME".into(),
                    ));
                    return Delivery::Lose;
                }
            }
            Delivery::Deliver
        };
        let mut failed = |e: &LinkError| {
            let mut guard = observer.borrow_mut();
            let observer: &mut dyn FnMut(&Event) = &mut **guard;
            observer(&Event::Detail(format!("M2ME -> DPF  exchange failed: {e}")));
        };
        let run = dm::run_session(m2me, link, DPF_SERVER_ID, &session_id, now, &mut tap, &mut failed)?;
        self.summary.dm_messages += run.messages;
        Ok(run)
    }
}

/// Reports steps 19 and 20 when the M2ME's first Generic Alert for Install crosses the wire (before the
/// message's own line).
fn cue_alert_steps(observer: &mut dyn FnMut(&Event), summary: &mut Summary, line: &str) {
    if !line.contains("Alert 1226") || summary.steps.contains(&20) {
        return;
    }
    let mut step = |number: u8, actors: &str, text: String| {
        summary.steps.push(number);
        observer(&Event::Step { number, actors: actors.into(), text, via: None });
    };
    let Some(code) = line.split("install=").nth(1).and_then(|r| r.split(' ').next()) else {
        step(20, "M2ME -> DPF", "Generic Alert 1226 with the Exec's Correlator".into());
        return;
    };
    let r = code.parse().ok().map(ResultCode::from_code);
    let name = r.and_then(ResultCode::name).unwrap_or("?");
    let text = if r.is_some_and(ResultCode::is_success) {
        "Exec Install answered 202; the TRE checks PfCRef and the SHO signature, decrypts the MCIM with its \
         platform key and stores it (State 20 -> 30)"
            .to_owned()
    } else {
        format!("Exec Install answered 202; the TRE refuses the package: Result {code} ({name}), State 60")
    };
    step(19, "M2ME (TRE)", text);
    step(
        20,
        "M2ME -> DPF",
        format!(
            "Generic Alert 1226 {}install with the Exec's Correlator: Result {code}",
            mobj::ALERT_TYPE_PREFIX
        ),
    );
}

/// Runs the scenario with `opts`, collecting its events.
///
/// # Errors
/// As [`Scenario::run`].
pub fn run_collect(opts: Options) -> Result<(Summary, Vec<Event>), ScenarioError> {
    let events = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let sink = events.clone();
    let mut s = Scenario::new(opts, move |e| sink.borrow_mut().push(e.clone()));
    let summary = s.run()?;
    let ev = events.borrow().clone();
    Ok((summary, ev))
}

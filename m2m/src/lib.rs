//! # m2msim-m2m
//!
//! The network roles of TR 33.812 §5.1.3.5 / S3-090905 (initial provisioning of an MCIM) as sans-IO logic:
//! plain structs with methods, no transport, randomness passed in. The scenarios crate (`m2msim-scenarios`,
//! module `mcim`) hosts each on an HTTP endpoint of its own and carries the [`wire`] messages between them;
//! here the integration test `tests/steps.rs` runs the 21 steps with direct calls.
//!
//! - [`Ccif`]: issues the PCID (IMSI format, MCC/MNC of the RO) and its temporary K / OPc at manufacture.
//! - [`Icf`]: holds the provisional credentials, makes authentication vectors (Milenage, SQN of TS 33.102
//!   Annex C).
//! - [`Vno`]: runs AKA against an AV and grants provisional connectivity restricted to the RO
//!   ([`ConnectivityPolicy`]).
//! - [`Drf`]: finds the DPF and SHO for a PCID and builds the bootstrap: an OMA DM plain-profile message of
//!   Add commands on `./DMAcc/<x>` and `./M2MSIMMobj/Boot/*` with its MAC under K_boot (m2m.md §3.4).
//! - [`Dpf`]: the operations it queues on the DM server for one MCIM ([`DmOp`]).
//! - [`Sho`]: generates the MCIM, asks the PVA, encrypts to the PfC, and then serves AVs as home network.
//! - [`Pva`]: checks a validation report (signature, PfCRef, nonce, measurements against references).
//! - [`wire`]: the messages the roles exchange over HTTP (JSON bodies, and the bootstrap's Content-Type with
//!   its RAND and MAC), as `docs/m2msimmobj.md` §7 "The wire between roles" documents them.

pub mod wire;

use std::collections::BTreeMap;

use m2msim_codec::mo::m2msimmobj::{self as mobj, McimPaths, Operation, ResultCode, path};
use m2msim_codec::mo::mcim::{McimPlaintext, ProtectedPackage, SecretBytes};
use m2msim_codec::mo::validation::{ValidationData, ValidationMode};
use m2msim_codec::reader::Encode;
use m2msim_codec::sim::{EfIccid, EfImsi, PlmnId};
use m2msim_codec::syncml::model::{
    Command, Data, DmVersion, Item, ItemCommand, Meta, SyncBody, SyncHdr, SyncMl,
};
use m2msim_scp80::mcim::p256::ecdsa::{SigningKey, VerifyingKey};
use m2msim_scp80::mcim::{self as prot, ProtectError};
use m2msim_scp80::milenage::{AuthenticationVector, Milenage, SqnGenerator, SqnParams};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

/// A subscription credential (PCID or MCIM IMSI with K and OPc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The IMSI digits.
    pub imsi: String,
    /// K (16 bytes).
    pub k: SecretBytes,
    /// OPc (16 bytes).
    pub opc: SecretBytes,
}

fn random16<R: CryptoRng + ?Sized>(rng: &mut R) -> [u8; 16] {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    b
}

fn imsi(plmn: &PlmnId, msin: u64) -> String {
    // MCC + MNC + MSIN, 15 digits.
    let p = plmn.to_string().replace('-', "");
    let width = 15usize.saturating_sub(p.len());
    format!("{p}{msin:0width$}")
}

/// The CCIF (Common Connectivity ID Function): issues PCIDs at manufacture (step 1 precondition).
#[derive(Debug, Clone)]
pub struct Ccif {
    /// The RO's PLMN (MCC/MNC of every PCID).
    pub ro_plmn: PlmnId,
    next_msin: u64,
}

impl Ccif {
    /// A CCIF for the RO `ro_plmn`, numbering MSINs from `first_msin`.
    #[must_use]
    pub fn new(ro_plmn: PlmnId, first_msin: u64) -> Self {
        Self { ro_plmn, next_msin: first_msin }
    }

    /// Issues a PCID with a fresh K and OPc (shared with the ICF and loaded into the M2ME's TRE).
    pub fn issue<R: CryptoRng + ?Sized>(&mut self, rng: &mut R) -> Credential {
        let pcid = imsi(&self.ro_plmn, self.next_msin);
        self.next_msin += 1;
        Credential { imsi: pcid, k: SecretBytes::new(random16(rng)), opc: SecretBytes::new(random16(rng)) }
    }
}

/// An AuC: Milenage and an SQN generator per IMSI (the ICF for PCIDs, the SHO for MCIMs).
struct Auc {
    subs: BTreeMap<String, (Milenage, SqnGenerator)>,
}

impl Auc {
    fn add(&mut self, c: &Credential) -> bool {
        let (Ok(k), Ok(opc)) = (<[u8; 16]>::try_from(c.k.expose()), <[u8; 16]>::try_from(c.opc.expose()))
        else {
            return false;
        };
        let Ok(gen_) = SqnGenerator::new(SqnParams::default(), 1) else { return false };
        self.subs.insert(c.imsi.clone(), (Milenage::new(&k, &opc), gen_));
        true
    }

    fn av<R: CryptoRng + ?Sized>(&mut self, imsi: &str, rng: &mut R) -> Option<AuthenticationVector> {
        let (m, g) = self.subs.get_mut(imsi)?;
        let sqn = g.next_sqn().ok()?;
        Some(m.generate_av(&random16(rng), sqn, [0x80, 0x00]))
    }

    fn resync(&mut self, imsi: &str, rand: &[u8; 16], auts: &[u8; 14]) -> bool {
        let Some((m, g)) = self.subs.get_mut(imsi) else { return false };
        m.process_auts(rand, auts).map(|s| g.resync(s)).is_ok()
    }
}

/// What the ICF forwards to the DRF for a PCID that attached (step 8, "the RO forwards the PCID and the IP
/// address of the M2ME from its ICF to its DRF"): the address the VNO assigned, and the bootstrap key of the
/// AKA run that authenticated it.
///
/// Decision: the ICF derives K_boot = HMAC-SHA256(CK ‖ IK, "M2M-BOOT" ‖ RAND) itself and hands the DRF only
/// K_boot and RAND, never CK/IK (the DRF needs a key bound to the bootstrap, not the radio keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootContext {
    /// The PCID.
    pub pcid: String,
    /// The IP address the VNO assigned (step 6).
    pub ip: String,
    /// The RAND of the AKA run.
    #[serde(with = "m2msim_codec::hexser::array")]
    pub rand: [u8; 16],
    /// K_boot (32 bytes).
    pub k_boot: SecretBytes,
}

/// How many AVs the ICF remembers per PCID (to find the one a VNO reports as used).
const ISSUED_PER_PCID: usize = 4;

/// The ICF (Initial Connectivity Function, in the RO): authentication vectors for PCIDs (step 3).
pub struct Icf {
    auc: Auc,
    issued: BTreeMap<String, Vec<AuthenticationVector>>,
    attached: BTreeMap<String, BootContext>,
}

impl Icf {
    /// An empty ICF.
    #[must_use]
    pub fn new() -> Self {
        Self { auc: Auc { subs: BTreeMap::new() }, issued: BTreeMap::new(), attached: BTreeMap::new() }
    }

    /// Registers a PCID the CCIF issued; false if K/OPc are not 16 bytes.
    pub fn register(&mut self, c: &Credential) -> bool {
        self.auc.add(c)
    }

    /// True when the ICF holds the temporary-access credential of `pcid` (else it asks the CCIF: S3-090905
    /// step 3, NOTE).
    #[must_use]
    pub fn knows(&self, pcid: &str) -> bool {
        self.auc.subs.contains_key(pcid)
    }

    /// A fresh AV for `pcid` (RAND from `rng`, next SQN of Annex C), `None` for an unknown PCID. The ICF
    /// keeps the last few AVs of each PCID to derive K_boot when a VNO reports which one it used.
    pub fn av<R: CryptoRng + ?Sized>(&mut self, pcid: &str, rng: &mut R) -> Option<AuthenticationVector> {
        let av = self.auc.av(pcid, rng)?;
        let kept = self.issued.entry(pcid.to_owned()).or_default();
        if kept.len() >= ISSUED_PER_PCID {
            kept.remove(0);
        }
        kept.push(av.clone());
        Some(av)
    }

    /// Resynchronises after AUTS; false when AUTS does not verify.
    pub fn resync(&mut self, pcid: &str, rand: &[u8; 16], auts: &[u8; 14]) -> bool {
        self.auc.resync(pcid, rand, auts)
    }

    /// The VNO reports that `pcid` authenticated with the AV of `rand` and was given `ip` (step 6, the
    /// analogue of a VLR's Update Location); false when the ICF issued no such AV.
    pub fn attached(&mut self, pcid: &str, rand: &[u8; 16], ip: &str) -> bool {
        let Some(av) = self.issued.get(pcid).and_then(|v| v.iter().find(|a| &a.rand == rand)) else {
            return false;
        };
        let k = prot::boot_key(&av.ck, &av.ik, &av.rand);
        let ctx = BootContext {
            pcid: pcid.to_owned(),
            ip: ip.to_owned(),
            rand: *rand,
            k_boot: SecretBytes::new(k.to_vec()),
        };
        self.attached.insert(pcid.to_owned(), ctx);
        true
    }

    /// What the DRF needs to bootstrap `pcid` (step 8), once the VNO reported its attach.
    #[must_use]
    pub fn boot_context(&self, pcid: &str) -> Option<&BootContext> {
        self.attached.get(pcid)
    }
}

impl Default for Icf {
    fn default() -> Self {
        Self::new()
    }
}

/// What provisional connectivity allows (steps 4–5): only the RO's functions.
///
/// Destinations are compared as written: in the scenarios they are URL authorities (`host:port`), so two
/// services on one host are told apart by their ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectivityPolicy {
    /// The PCID it was granted to.
    pub pcid: String,
    /// The reachable destinations (host names of the DRF, DPF, SHO registration).
    pub allowed: Vec<String>,
}

impl ConnectivityPolicy {
    /// True when `destination` may be reached.
    #[must_use]
    pub fn allows(&self, destination: &str) -> bool {
        self.allowed.iter().any(|a| a == destination)
    }
}

/// The VNO: runs AKA with the M2ME and grants provisional connectivity (steps 2–5).
#[derive(Debug, Clone)]
pub struct Vno {
    /// The destinations a provisional subscriber may reach.
    pub ro_destinations: Vec<String>,
}

impl Vno {
    /// Checks the M2ME's RES against the AV's XRES; grants the RO-restricted policy on success.
    #[must_use]
    pub fn authenticate(
        &self,
        pcid: &str,
        av: &AuthenticationVector,
        res: &[u8],
    ) -> Option<ConnectivityPolicy> {
        (res == av.xres)
            .then(|| ConnectivityPolicy { pcid: pcid.to_owned(), allowed: self.ro_destinations.clone() })
    }
}

/// The registration of an M2ME with the DRF: where its DPF and SHO are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// DPF (DM server) URI.
    pub dpf_addr: String,
    /// DPF Server Identifier (the DMAcc's ServerID).
    pub dpf_server_id: String,
    /// The SHO's PLMN.
    pub sho: PlmnId,
    /// The SHO's address.
    pub sho_addr: String,
}

/// DM credentials the bootstrap gives the M2ME in its DPF account: one `AppAuth/<x>` of `./DMAcc/<x>`
/// (OMA DM 1.2.1 StdObj §7.1.3.1.17–.22).
///
/// Decision: the bootstrap carries the credentials themselves (the DRF makes them and shares them with the
/// DPF), as OMA DM Bootstrap's plain profile does: without them the M2ME could not authenticate to the DPF
/// in step 11, nor check that the server it talks to is the DPF. The message is integrity-protected by its
/// K_boot MAC; its confidentiality rests on the connection to the RO (TLS in step 7, m2m.md §3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootCredential {
    /// `AAuthLevel`: `CLCRED` (the M2ME to the DPF) or `SRVCRED` (the DPF to the M2ME).
    pub level: String,
    /// `AAuthType`: `BASIC`, `DIGEST` or `HMAC`.
    pub auth_type: String,
    /// `AAuthName`.
    pub name: String,
    /// `AAuthSecret`.
    pub secret: SecretBytes,
    /// `AAuthData`: the first nonce (sent as `b64`).
    pub nonce: Vec<u8>,
}

/// A bootstrap message with its MAC (step 10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootstrap {
    /// The SyncML message (XML, DM 1.2) of Add commands.
    pub message: Vec<u8>,
    /// HMAC-SHA256 under K_boot: sent as the Content-Type `MAC` parameter (hex).
    pub mac: [u8; 32],
    /// The RAND of the AKA run K_boot comes from.
    pub rand: [u8; 16],
}

/// The DRF (Discovery and Registration Function, steps 6–11).
#[derive(Debug, Clone, Default)]
pub struct Drf {
    registrations: BTreeMap<String, Registration>,
}

impl Drf {
    /// Records where the M2ME with `pcid` is to be provisioned (the RO's contract with the SHO).
    pub fn register(&mut self, pcid: &str, r: Registration) {
        self.registrations.insert(pcid.to_owned(), r);
    }

    /// The DPF and SHO of a PCID.
    #[must_use]
    pub fn lookup(&self, pcid: &str) -> Option<&Registration> {
        self.registrations.get(pcid)
    }

    /// The bootstrap message for `pcid` (account `./DMAcc/<acc>` for the DPF, `Boot/*`), MAC'd with
    /// K_boot = HMAC-SHA256(CK ‖ IK, "M2M-BOOT" ‖ RAND) of the AV the VNO used.
    #[must_use]
    pub fn bootstrap(
        &self,
        pcid: &str,
        av: &AuthenticationVector,
        acc: &str,
        prov_ctx: &[u8],
    ) -> Option<Bootstrap> {
        self.bootstrap_with_auth(pcid, av, acc, prov_ctx, &[])
    }

    /// [`Drf::bootstrap`] with the account's credentials: `AAuthPref` (the first credential's type) and one
    /// `AppAuth/<n>` per [`BootCredential`], numbered from 1.
    #[must_use]
    pub fn bootstrap_with_auth(
        &self,
        pcid: &str,
        av: &AuthenticationVector,
        acc: &str,
        prov_ctx: &[u8],
        auth: &[BootCredential],
    ) -> Option<Bootstrap> {
        let k = prot::boot_key(&av.ck, &av.ik, &av.rand);
        self.build(pcid, &k, av.rand, acc, prov_ctx, auth)
    }

    /// [`Drf::bootstrap_with_auth`] keyed by what the ICF forwarded (step 8): K_boot and RAND of the
    /// PCID's AKA run, without the AV itself.
    #[must_use]
    pub fn bootstrap_for(
        &self,
        ctx: &BootContext,
        acc: &str,
        prov_ctx: &[u8],
        auth: &[BootCredential],
    ) -> Option<Bootstrap> {
        let k: [u8; 32] = ctx.k_boot.expose().try_into().ok()?;
        let k = zeroize::Zeroizing::new(k);
        self.build(&ctx.pcid, &k, ctx.rand, acc, prov_ctx, auth)
    }

    fn build(
        &self,
        pcid: &str,
        k_boot: &[u8; 32],
        rand: [u8; 16],
        acc: &str,
        prov_ctx: &[u8],
        auth: &[BootCredential],
    ) -> Option<Bootstrap> {
        let r = self.registrations.get(pcid)?;
        let acc_root = format!("./DMAcc/{acc}");
        let mut leaves: Vec<(String, Option<Data>, &str)> = vec![
            (acc_root.clone(), None, "node"),
            (format!("{acc_root}/AppID"), Some("w7".into()), "chr"),
            (format!("{acc_root}/ServerID"), Some(r.dpf_server_id.as_str().into()), "chr"),
            (format!("{acc_root}/Name"), Some("DPF".into()), "chr"),
            (format!("{acc_root}/AppAddr"), None, "node"),
            (format!("{acc_root}/AppAddr/1"), None, "node"),
            (format!("{acc_root}/AppAddr/1/Addr"), Some(r.dpf_addr.as_str().into()), "chr"),
            (format!("{acc_root}/AppAddr/1/AddrType"), Some("URI".into()), "chr"),
        ];
        if let Some(first) = auth.first() {
            leaves.push((format!("{acc_root}/AAuthPref"), Some(first.auth_type.as_str().into()), "chr"));
            leaves.push((format!("{acc_root}/AppAuth"), None, "node"));
        }
        for (n, c) in auth.iter().enumerate() {
            let base = format!("{acc_root}/AppAuth/{}", n + 1);
            leaves.push((base.clone(), None, "node"));
            leaves.push((format!("{base}/AAuthLevel"), Some(c.level.as_str().into()), "chr"));
            leaves.push((format!("{base}/AAuthType"), Some(c.auth_type.as_str().into()), "chr"));
            leaves.push((format!("{base}/AAuthName"), Some(c.name.as_str().into()), "chr"));
            let secret = String::from_utf8_lossy(c.secret.expose()).into_owned();
            leaves.push((format!("{base}/AAuthSecret"), Some(Data::Text(secret)), "chr"));
            leaves.push((format!("{base}/AAuthData"), Some(Data::Bytes(c.nonce.clone())), "b64"));
        }
        leaves.extend([
            (path::BOOT_PCID.to_owned(), Some(pcid.into()), "chr"),
            (path::BOOT_DPF_ADDR.to_owned(), Some(r.dpf_addr.as_str().into()), "chr"),
            (path::BOOT_SHO_ADDR.to_owned(), Some(r.sho_addr.as_str().into()), "chr"),
            (path::BOOT_MCIM_PROV_CTX.to_owned(), Some(Data::from(hex::encode(prov_ctx))), "chr"),
        ]);
        let mut commands = Vec::new();
        for (i, (uri, data, fmt)) in leaves.into_iter().enumerate() {
            let mut item = Item::default().with_target(uri);
            if let Some(d) = data {
                item = item.with_data(d);
            }
            let meta = Meta { format: Some(fmt.to_owned()), ..Meta::default() };
            let id = u32::try_from(i + 1).unwrap_or(u32::MAX);
            commands.push(Command::Add(ItemCommand::new(id).with_item(item.with_meta(meta))));
        }
        let msg = SyncMl {
            hdr: SyncHdr::new(DmVersion::V1_2, "0", 1, pcid, "drf"),
            body: SyncBody { commands, final_: true, ..SyncBody::default() },
            extra: Vec::new(),
        };
        let message = msg.to_xml(&m2msim_codec::syncml::tree::Profile::rtk()).ok()?.into_bytes();
        let mac = prot::boot_mac(k_boot, &message);
        Some(Bootstrap { message, mac, rand })
    }
}

/// One operation the DPF queues on its DM server for an M2ME (steps 18–19).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DmOp {
    /// Add an interior node.
    AddNode(String),
    /// Add a leaf with binary data.
    AddData(String, Vec<u8>),
    /// Replace a leaf (e.g. `TRE/ValidationNonce`).
    Replace(String, Vec<u8>),
    /// Get a node.
    Get(String),
    /// Exec with a Correlator.
    Exec(String, String),
}

/// The DPF (Download and Provisioning Function).
#[derive(Debug, Clone, Default)]
pub struct Dpf {
    /// Status reports sent to the SHO: (MCIM name, operation, result).
    pub reports: Vec<(String, Operation, ResultCode)>,
}

impl Dpf {
    /// Reads the TRE (step 12): Replace the nonce, then Get the PfC and the validation data.
    #[must_use]
    pub fn validation_ops(nonce: &[u8]) -> Vec<DmOp> {
        vec![
            DmOp::Replace(path::VALIDATION_NONCE.to_owned(), nonce.to_vec()),
            DmOp::Get(path::PFC.to_owned()),
            DmOp::Get(path::VALIDATION_DATA.to_owned()),
        ]
    }

    /// Downloads and installs an MCIM (step 18): Add node, Add Data, Exec Install, Exec Activate.
    /// Correlators are `<name>-install` and `<name>-activate`.
    #[must_use]
    pub fn provisioning_ops(name: &str, package: &[u8]) -> Vec<DmOp> {
        let p = McimPaths::new(name);
        vec![
            DmOp::AddNode(p.node().to_owned()),
            DmOp::AddData(p.leaf(mobj::McimLeaf::Data), package.to_vec()),
            DmOp::Exec(p.operation(Operation::Install), format!("{name}-install")),
            DmOp::Exec(p.operation(Operation::Activate), format!("{name}-activate")),
        ]
    }

    /// Takes a Generic Alert's content (type, data) for MCIM `name` and records it for the SHO (step 20).
    pub fn alert(&mut self, name: &str, alert_type: &str, data: &[u8]) -> Option<(Operation, ResultCode)> {
        let op = Operation::from_alert_type(alert_type)?;
        let r = ResultCode::from_text(data)?;
        self.reports.push((name.to_owned(), op, r));
        Some((op, r))
    }
}

/// What the PVA concluded (step 15).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The M2ME is trustworthy.
    Valid,
    /// The report's signature does not verify with the TRE's registered key, or the TRE is unknown.
    BadSignature,
    /// The report is for another PfC or another nonce.
    NotFresh,
    /// These components do not match their reference values.
    Compromised(Vec<String>),
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Valid => f.write_str("valid"),
            Self::BadSignature => f.write_str("bad signature"),
            Self::NotFresh => f.write_str("not fresh"),
            Self::Compromised(c) => write!(f, "compromised: {}", c.join(", ")),
        }
    }
}

/// The PVA (Platform Validation Authority): knows each TRE's attestation key and the reference values.
#[derive(Debug, Clone, Default)]
pub struct Pva {
    tres: BTreeMap<String, VerifyingKey>,
    reference: BTreeMap<String, [u8; 32]>,
}

impl Pva {
    /// Registers a TRE's attestation key (at manufacture).
    pub fn register_tre(&mut self, tre_id: &str, key: VerifyingKey) {
        self.tres.insert(tre_id.to_owned(), key);
    }

    /// Sets a component's reference digest.
    pub fn set_reference(&mut self, component: &str, digest: [u8; 32]) {
        self.reference.insert(component.to_owned(), digest);
    }

    /// Validates a report against the PfC the SHO read and the nonce it wrote.
    #[must_use]
    pub fn validate(&self, report: &ValidationData, pfc: &[u8], nonce: &[u8]) -> Verdict {
        let Some(key) = self.tres.get(&report.tre_id) else { return Verdict::BadSignature };
        if !prot::verify_validation(report, key) {
            return Verdict::BadSignature;
        }
        if report.pfc_ref != prot::pfc_ref(pfc) || report.nonce != nonce {
            return Verdict::NotFresh;
        }
        let bad: Vec<String> = match (report.mode, &report.measurements) {
            (ValidationMode::Autonomous, _) => Vec::new(),
            (ValidationMode::SemiAutonomous, Some(failed)) => {
                failed.iter().map(|m| m.component.clone()).collect()
            }
            (_, Some(all)) => all
                .iter()
                .filter(|m| self.reference.get(&m.component) != Some(&m.digest))
                .map(|m| m.component.clone())
                .collect(),
            (_, None) => vec!["<no measurements>".to_owned()],
        };
        if bad.is_empty() { Verdict::Valid } else { Verdict::Compromised(bad) }
    }
}

/// The SHO (Selected Home Operator, steps 12–21).
pub struct Sho {
    /// Its PLMN (MCC/MNC of the MCIM IMSIs).
    pub plmn: PlmnId,
    signer: Option<SigningKey>,
    next_msin: u64,
    auc: Auc,
    /// Final statuses received from the DPF: MCIMID → result.
    pub statuses: BTreeMap<String, ResultCode>,
    /// The HPLMN / equivalent HPLMN list put in every MCIM it issues (plaintext item `8A`), if any.
    pub plmn_list: Option<Vec<PlmnId>>,
}

/// An MCIM the SHO generated: its identity and the protected package.
#[derive(Debug, Clone)]
pub struct IssuedMcim {
    /// The IMSI.
    pub imsi: String,
    /// The MCIMID (ICCID digits).
    pub mcim_id: String,
    /// The package for `MCIMs/<x>/Data`.
    pub package: ProtectedPackage,
}

impl Sho {
    /// An SHO numbering MSINs from `first_msin`, signing packages if `signer` is given.
    #[must_use]
    pub fn new(plmn: PlmnId, first_msin: u64, signer: Option<SigningKey>) -> Self {
        Self {
            plmn,
            signer,
            next_msin: first_msin,
            auc: Auc { subs: BTreeMap::new() },
            statuses: BTreeMap::new(),
            plmn_list: None,
        }
    }

    /// The key a TRE verifies this SHO's signatures with.
    #[must_use]
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        self.signer.as_ref().map(VerifyingKey::from)
    }

    /// Generates an MCIM (IMSI, K, OPc), registers it in its AuC and encrypts it to `pfc` (step 16), only
    /// when the PVA's verdict is [`Verdict::Valid`].
    ///
    /// # Errors
    /// [`ProtectError::InvalidPfc`]; `Ok(None)` when the verdict refuses the M2ME.
    pub fn issue<R: CryptoRng + ?Sized>(
        &mut self,
        verdict: &Verdict,
        pfc: &[u8],
        rng: &mut R,
    ) -> Result<Option<IssuedMcim>, ProtectError> {
        if *verdict != Verdict::Valid {
            return Ok(None);
        }
        let imsi_digits = imsi(&self.plmn, self.next_msin);
        let mcim_id = format!("89{}{:013}", &imsi_digits[..3], self.next_msin);
        self.next_msin += 1;
        let cred = Credential {
            imsi: imsi_digits.clone(),
            k: SecretBytes::new(random16(rng)),
            opc: SecretBytes::new(random16(rng)),
        };
        let ef_imsi = EfImsi::from_digits(&imsi_digits).map_err(|_| ProtectError::InvalidPfc)?;
        let mut plain = McimPlaintext::milenage(ef_imsi, cred.k.clone(), cred.opc.clone());
        plain.plmn_list.clone_from(&self.plmn_list);
        let id = EfIccid::from_digits(&mcim_id).map_err(|_| ProtectError::InvalidPfc)?;
        let package = prot::protect(&plain, pfc, id, self.plmn, self.signer.as_ref(), rng)?;
        self.auc.add(&cred);
        Ok(Some(IssuedMcim { imsi: imsi_digits, mcim_id, package }))
    }

    /// Records the final status the DPF reported (step 21).
    pub fn status(&mut self, mcim_id: &str, result: ResultCode) {
        self.statuses.insert(mcim_id.to_owned(), result);
    }

    /// As home network: an AV for an MCIM IMSI.
    pub fn av<R: CryptoRng + ?Sized>(&mut self, imsi: &str, rng: &mut R) -> Option<AuthenticationVector> {
        self.auc.av(imsi, rng)
    }

    /// The encoded package (helper for the DPF).
    #[must_use]
    pub fn package_bytes(m: &IssuedMcim) -> Vec<u8> {
        m.package.encode()
    }
}

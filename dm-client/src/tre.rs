//! A simulated trusted environment (TRE) of an M2ME (TR 33.812 §5.1.2, S3-090905 steps 13–20): the
//! platform credential the SHO encrypts MCIMs to, integrity measurements and signed validation reports for
//! the PVA, a protected MCIM store with the Install / Activate / Deactivate / Remove state machine of the
//! M2MSIMMobj object, and AKA (Milenage) with the active MCIM (or, before one is active, the provisional
//! credential of the CCIF) as a soft USIM.
//!
//! Main types: [`Tre`] (a cloneable handle on the TRE, for the application: AKA, bootstrap check, state),
//! [`TreConfig`], [`TrePlugin`] (the [`MoPlugin`] of `./M2MSIMMobj`, installed by [`Tre::install`]),
//! [`AkaResponse`].
//!
//! Decisions:
//! - **PfC**: DER `SubjectPublicKeyInfo` of a P-256 key-agreement key (no certificate; see
//!   `m2msim_scp80::mcim`). Validation reports are signed with a *separate* attestation key (ECDSA P-256)
//!   whose public key the PVA holds from manufacture (a key read from the tree could not vouch for it).
//! - **Exec** on `Operations/*` always answers 202; the outcome goes to `State`, `Result` and a Generic
//!   Alert 1226 (type `urn:oma:at:ext-3gpp-m2msim:1.0:<op>`, source the MCIM node, data the Result code as
//!   text, the Exec's Correlator). Install runs in [`MoPlugin::poll`] (State 20 meanwhile); the others
//!   finish at once and their alert is queued at once. An Exec in the wrong state sets Result 409, changes
//!   no state, and is reported the same way (uniform for a server: every Exec is answered by an alert).
//! - Transitions: Install 10/60 → 20 → 30 or 60; Activate 30/50 → 40 (the previously active MCIM → 50);
//!   Deactivate 40 → 50; Remove from 10/30/50/60 (not 20, not 40: deactivate first) zeroises the MCIM and
//!   deletes the subtree (the alert's source is the removed node).
//! - `Data` is write-only (no Get in the DDF, so the tree treats it as a secret); a Replace of `Data` is
//!   refused (405) unless the MCIM is Delivered or Failed. When `Data` arrives the TRE fills `MCIMID`,
//!   `SHOID` and `Version` from the package header (when it decodes) and sets State 10.
//! - Validation: writing `TRE/ValidationNonce` regenerates `TRE/ValidationData` for that nonce. In
//!   autonomous mode the TRE refuses to produce a report (and to run AKA) when its own check fails.
//! - The MCIM provisioning context of the bootstrap ([`Tre::set_prov_ctx`], `Boot/MCIMProvCtx`) binds
//!   Install to the SHO the M2ME was registered with: its SHO key (when present) must have signed the
//!   package, and a package whose SHOID differs from the context's, or whose MCIMID differs from the one
//!   the context announces, is refused with Result 405 (rejected by policy). Order: after the header checks
//!   (400/408) and PfCRef (403), before the signature and decryption (402/404): a package for this TRE from
//!   the wrong SHO is a policy matter, and nothing of it is decrypted.
//! - K and OPc stay inside the TRE (in [`McimPlaintext`]'s redacted, zeroizing [`SecretBytes`]); no node
//!   holds them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use m2msim_codec::dm::ddf::Format;
use m2msim_codec::mo::m2msimmobj::{
    self as mobj, McimItem, McimLeaf, McimPaths, McimTarget, Operation, ResultCode, State, path,
};
use m2msim_codec::mo::mcim::{McimPlaintext, ProtectedPackage, SecretBytes};
use m2msim_codec::mo::prov_ctx::McimProvCtx;
use m2msim_codec::mo::validation::{Measurement, ValidationData, ValidationMode};
use m2msim_codec::reader::Decode;
use m2msim_codec::syncml::codes::StatusCode;
use m2msim_scp80::mcim::p256::SecretKey;
use m2msim_scp80::mcim::p256::ecdsa::{SigningKey, VerifyingKey};
use m2msim_scp80::mcim::{self as prot, Verifier};
use m2msim_scp80::milenage::{AutnOutcome, Milenage, SqnArray, SqnParams};

use crate::tree::{
    Acl, AclCommand, DmTime, DmTree, ExecOutcome, ExecRequest, GenericAlert, MoPlugin, TreeResult,
    WriteEvent, WriteKind,
};

/// The most MCIMs the store holds (an Add of one more is refused with 420, reported as Result 501).
pub const MAX_MCIMS: usize = 8;

/// How a TRE is made.
#[derive(Debug, Clone)]
pub struct TreConfig {
    /// The TRE identity (TREID node), known to the PVA.
    pub tre_id: String,
    /// The validation mode the TRE reports in.
    pub mode: ValidationMode,
    /// The measured components: name and SHA-256 of the image as measured at boot.
    pub measurements: Vec<(String, [u8; 32])>,
    /// The TRE's own reference values (autonomous and semi-autonomous validation).
    pub reference: Vec<(String, [u8; 32])>,
    /// Require the SHO signature on packages.
    pub require_signature: bool,
}

/// A response to AUTHENTICATE (TS 31.102 §7.1.2): RES with CK and IK, or a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AkaResponse {
    /// Success: RES, CK, IK.
    Res {
        /// RES (64 bits).
        res: [u8; 8],
        /// CK.
        ck: [u8; 16],
        /// IK.
        ik: [u8; 16],
    },
    /// Synchronisation failure with AUTS.
    SyncFailure([u8; 14]),
    /// MAC failure.
    MacFailure,
    /// No usable credential (no active MCIM and no provisional credential, or the TRE failed its own
    /// integrity check in autonomous mode).
    NoCredential,
}

struct Subscription {
    imsi: String,
    milenage: Milenage,
    sqns: SqnArray,
}

impl Subscription {
    fn new(imsi: String, k: &SecretBytes, opc: &SecretBytes) -> Option<Self> {
        let k: [u8; 16] = k.expose().try_into().ok()?;
        let opc: [u8; 16] = opc.expose().try_into().ok()?;
        let sqns = SqnArray::new(SqnParams::default()).ok()?;
        Some(Self { imsi, milenage: Milenage::new(&k, &opc), sqns })
    }
}

struct McimSlot {
    state: State,
    result: Option<ResultCode>,
    package: Option<Vec<u8>>,
    plaintext: Option<McimPlaintext>,
    sqns: Option<SqnArray>,
}

struct Pending {
    name: String,
    correlator: Option<String>,
}

struct Core {
    config: TreConfig,
    pfc_key: SecretKey,
    attestation: SigningKey,
    sho_key: Option<VerifyingKey>,
    prov_ctx: Option<McimProvCtx>,
    provisional: Option<Subscription>,
    mcims: BTreeMap<String, McimSlot>,
    active: Option<(String, Subscription)>,
    pending: Vec<Pending>,
}

impl Core {
    fn self_check_ok(&self) -> bool {
        self.failed_components().is_empty()
    }

    fn failed_components(&self) -> Vec<Measurement> {
        self.config
            .measurements
            .iter()
            .filter(|(name, d)| !self.config.reference.iter().any(|(n, r)| n == name && r == d))
            .map(|(n, d)| Measurement::new(n.clone(), *d))
            .collect()
    }
}

/// A handle on a simulated TRE (cloneable; the [`TrePlugin`] in the tree shares it).
#[derive(Clone)]
pub struct Tre {
    core: Arc<Mutex<Core>>,
}

impl std::fmt::Debug for Tre {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tre").field("tre_id", &self.lock().config.tre_id).finish_non_exhaustive()
    }
}

impl Tre {
    /// A TRE with the given PfC key-agreement key and attestation key (both generated at manufacture).
    #[must_use]
    pub fn new(config: TreConfig, pfc_key: SecretKey, attestation: SigningKey) -> Self {
        let core = Core {
            config,
            pfc_key,
            attestation,
            sho_key: None,
            prov_ctx: None,
            provisional: None,
            mcims: BTreeMap::new(),
            active: None,
            pending: Vec::new(),
        };
        Self { core: Arc::new(Mutex::new(core)) }
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The PfC (DER SubjectPublicKeyInfo).
    #[must_use]
    pub fn pfc(&self) -> Vec<u8> {
        prot::pfc_der(&self.lock().pfc_key.public_key())
    }

    /// The PfCRef (SHA-256 of the PfC).
    #[must_use]
    pub fn pfc_ref(&self) -> [u8; 32] {
        prot::pfc_ref(&self.pfc())
    }

    /// The attestation public key (registered with the PVA at manufacture).
    #[must_use]
    pub fn attestation_key(&self) -> VerifyingKey {
        VerifyingKey::from(&self.lock().attestation)
    }

    /// The TRE identity.
    #[must_use]
    pub fn tre_id(&self) -> String {
        self.lock().config.tre_id.clone()
    }

    /// Stores the provisional credential of the CCIF (PCID and its K / OPc, S3-090905 step 1).
    pub fn set_provisional(&self, pcid: &str, k: &SecretBytes, opc: &SecretBytes) {
        self.lock().provisional = Subscription::new(pcid.to_owned(), k, opc);
    }

    /// Sets the SHO key that verifies package signatures (from the MCIM provisioning context).
    pub fn set_sho_key(&self, key: Option<VerifyingKey>) {
        self.lock().sho_key = key;
    }

    /// Sets the MCIM provisioning context of the bootstrap (`Boot/MCIMProvCtx`, S3-090905 step 10): its
    /// SHO key (when present and a P-256 key) becomes the key that verifies package signatures, and
    /// Install refuses with Result 405 a package whose SHOID or MCIMID differs from the context's (see the
    /// module docs). `None` clears both.
    pub fn set_prov_ctx(&self, ctx: Option<McimProvCtx>) {
        let key = ctx.as_ref().and_then(|c| c.sho_key.as_deref()).and_then(prot::pfc_public_key);
        let mut c = self.lock();
        c.sho_key = key.map(VerifyingKey::from);
        c.prov_ctx = ctx;
    }

    /// The State of an MCIM.
    #[must_use]
    pub fn state(&self, name: &str) -> Option<State> {
        self.lock().mcims.get(name).map(|m| m.state)
    }

    /// The Result of the last operation on an MCIM.
    #[must_use]
    pub fn result(&self, name: &str) -> Option<ResultCode> {
        self.lock().mcims.get(name).and_then(|m| m.result)
    }

    /// The IMSI the TRE authenticates with: the active MCIM's, else the PCID.
    #[must_use]
    pub fn current_imsi(&self) -> Option<String> {
        let c = self.lock();
        c.active
            .as_ref()
            .map(|(_, s)| s.imsi.clone())
            .or_else(|| c.provisional.as_ref().map(|s| s.imsi.clone()))
    }

    /// AUTHENTICATE with the active MCIM (else the provisional credential): RAND and AUTN → RES, CK, IK or
    /// AUTS (TS 33.102 §6.3.3).
    #[must_use]
    pub fn authenticate(&self, rand: &[u8; 16], autn: &[u8; 16]) -> AkaResponse {
        let mut c = self.lock();
        if c.config.mode == ValidationMode::Autonomous && !c.self_check_ok() {
            return AkaResponse::NoCredential;
        }
        let c = &mut *c;
        let sub = match (c.active.as_mut(), c.provisional.as_mut()) {
            (Some((_, s)), _) => s,
            (None, Some(s)) => s,
            (None, None) => return AkaResponse::NoCredential,
        };
        match sub.milenage.check_autn(rand, autn, &mut sub.sqns) {
            AutnOutcome::Success { keys, .. } => AkaResponse::Res { res: keys.res, ck: keys.ck, ik: keys.ik },
            AutnOutcome::MacFailure => AkaResponse::MacFailure,
            AutnOutcome::SyncFailure { auts, .. } => AkaResponse::SyncFailure(auts),
        }
    }

    /// Checks the DRF's bootstrap MAC with K_boot derived from the provisional credential and the RAND of
    /// its AKA run (m2m.md §3.4; `m2msim_scp80::mcim::boot_key`).
    #[must_use]
    pub fn verify_bootstrap(&self, rand: &[u8; 16], message: &[u8], mac: &[u8]) -> bool {
        let c = self.lock();
        let Some(p) = c.provisional.as_ref() else { return false };
        let f = p.milenage.f2345(rand);
        let k = prot::boot_key(&f.ck, &f.ik, rand);
        prot::verify_boot_mac(&k, message, mac)
    }

    /// A signed validation report for `nonce` in the configured mode; `None` in autonomous mode when the
    /// TRE's own check fails.
    #[must_use]
    pub fn validation_report(&self, nonce: &[u8]) -> Option<ValidationData> {
        let c = self.lock();
        let measurements = match c.config.mode {
            ValidationMode::Autonomous if !c.self_check_ok() => return None,
            ValidationMode::Autonomous => None,
            ValidationMode::SemiAutonomous => Some(c.failed_components()),
            _ => Some(c.config.measurements.iter().map(|(n, d)| Measurement::new(n.clone(), *d)).collect()),
        };
        let pfc_ref = prot::pfc_ref(&prot::pfc_der(&c.pfc_key.public_key()));
        let mut r = ValidationData::new(
            c.config.mode,
            c.config.tre_id.clone(),
            pfc_ref,
            nonce.to_vec(),
            measurements,
        );
        prot::sign_validation(&mut r, &c.attestation);
        Some(r)
    }

    /// Registers the M2MSIMMobj object with its plugin and creates the fixed nodes (`TRE/*`, `MCIMs`).
    /// The root's ACL is `Get=*`; [`Tre::grant_server`] opens the object to a DM server.
    ///
    /// # Errors
    /// The tree's status if it refuses a node.
    pub fn install(&self, tree: &mut DmTree, now: DmTime) -> TreeResult<()> {
        tree.register_mo(
            mobj::ROOT,
            Arc::new(mobj::root_ddf()),
            Some(Box::new(TrePlugin { tre: self.clone() })),
        )?;
        let pfc = self.pfc();
        let pfc_ref = hex::encode(prot::pfc_ref(&pfc));
        let tre_id = self.tre_id();
        let mut l = tree.local(now);
        l.ensure_interior(mobj::ROOT)?;
        l.set_acl(mobj::ROOT, Acl::empty().grant(AclCommand::Get, "*"))?;
        l.set_text(path::TRE_ID, &tre_id)?;
        l.set_value(path::PFC, pfc, Format::Bin)?;
        l.set_text(path::PFC_REF, &pfc_ref)?;
        l.set_text(path::ALGS, "1")?;
        l.ensure_interior(path::MCIMS)?;
        self.refresh_validation(tree, now, &[])
    }

    /// Grants a DM server (the DPF after the bootstrap) Add, Delete, Exec, Get and Replace on `MCIMs` and
    /// `Boot`, and Replace on `TRE/ValidationNonce`.
    ///
    /// # Errors
    /// The tree's status.
    pub fn grant_server(&self, tree: &mut DmTree, server_id: &str, now: DmTime) -> TreeResult<()> {
        let all = |a: Acl| {
            [AclCommand::Add, AclCommand::Delete, AclCommand::Exec, AclCommand::Get, AclCommand::Replace]
                .into_iter()
                .fold(a, |a, c| a.grant(c, server_id))
        };
        let mut l = tree.local(now);
        l.set_acl(path::MCIMS, all(Acl::empty()))?;
        l.ensure_interior(path::BOOT)?;
        l.set_acl(path::BOOT, all(Acl::empty()))?;
        l.set_value(path::VALIDATION_NONCE, Vec::new(), Format::Bin)?;
        l.set_acl(
            path::VALIDATION_NONCE,
            Acl::empty().grant(AclCommand::Get, "*").grant(AclCommand::Replace, server_id),
        )
    }

    fn refresh_validation(&self, tree: &mut DmTree, now: DmTime, nonce: &[u8]) -> TreeResult<()> {
        use m2msim_codec::reader::Encode as _;
        let exists = tree.node(path::VALIDATION_DATA).is_some();
        let mut l = tree.local(now);
        match self.validation_report(nonce) {
            Some(r) => l.set_value(path::VALIDATION_DATA, r.encode(), Format::Bin),
            None if exists => l.delete(path::VALIDATION_DATA),
            None => Ok(()),
        }
    }
}

/// The [`MoPlugin`] of `./M2MSIMMobj` (see the [module docs](self)).
pub struct TrePlugin {
    tre: Tre,
}

fn set_state(tree: &mut DmTree, paths: &McimPaths, state: State, result: Option<ResultCode>, now: DmTime) {
    let mut l = tree.local(now);
    let _ = l.set_value(&paths.leaf(McimLeaf::State), state.code().to_string(), Format::Int);
    if let Some(r) = result {
        let _ = l.set_value(&paths.leaf(McimLeaf::Result), r.code().to_string(), Format::Int);
    }
}

fn alert(op: Operation, paths: &McimPaths, result: ResultCode, correlator: Option<String>) -> GenericAlert {
    GenericAlert {
        source_uri: Some(paths.node().to_owned()),
        alert_type: op.alert_type(),
        format: Format::Int,
        mark: (!result.is_success()).then_some(crate::tree::Mark::Critical),
        data: result.code().to_string().into_bytes(),
        correlator,
    }
}

impl TrePlugin {
    fn finish(
        &self,
        tree: &mut DmTree,
        op: Operation,
        name: &str,
        (state, result): (Option<State>, ResultCode),
        correlator: Option<String>,
        now: DmTime,
    ) {
        let paths = McimPaths::new(name);
        {
            let mut c = self.tre.lock();
            if let Some(m) = c.mcims.get_mut(name) {
                if let Some(s) = state {
                    m.state = s;
                }
                m.result = Some(result);
            }
        }
        if let Some(s) = self.tre.state(name) {
            set_state(tree, &paths, s, Some(result), now);
        }
        tree.queue_alert(alert(op, &paths, result, correlator));
    }

    fn install_now(&self, name: &str) -> Result<(), ResultCode> {
        let mut c = self.tre.lock();
        let c = &mut *c;
        let verifier = Verifier {
            sho_key: c.sho_key.as_ref(),
            require_signature: c.config.require_signature,
            prov_ctx: c.prov_ctx.as_ref(),
        };
        let slot = c.mcims.get_mut(name).ok_or(ResultCode::InstallFailure)?;
        let bytes = slot.package.as_deref().ok_or(ResultCode::MalformedPackage)?;
        let plain = prot::unprotect_bytes(bytes, &c.pfc_key, verifier).map_err(|e| e.result_code())?;
        if plain.k.len() != 16 || plain.opc.len() != 16 {
            return Err(ResultCode::NotImplemented);
        }
        slot.plaintext = Some(plain);
        slot.package = None;
        Ok(())
    }
}

impl MoPlugin for TrePlugin {
    fn exec(&mut self, tree: &mut DmTree, req: &ExecRequest<'_>) -> ExecOutcome {
        let Some(McimTarget { name, item: McimItem::Operation(op) }) = McimTarget::parse(req.path) else {
            return ExecOutcome::Done { status: StatusCode::COMMAND_NOT_ALLOWED, results: None };
        };
        let correlator = req.correlator.map(str::to_owned);
        let state = self.tre.state(&name);
        let allowed = match (op, state) {
            (Operation::Install, Some(State::Delivered | State::Failed)) => true,
            (Operation::Activate, Some(State::Installed | State::Inactive)) => true,
            (Operation::Deactivate, Some(State::Active)) => true,
            (Operation::Remove, Some(s)) => !matches!(s, State::Installing | State::Active),
            _ => false,
        };
        if !allowed {
            self.finish(tree, op, &name, (None, ResultCode::WrongState), correlator, req.now);
            return ExecOutcome::Accepted;
        }
        match op {
            Operation::Install => {
                if let Some(m) = self.tre.lock().mcims.get_mut(&name) {
                    m.state = State::Installing;
                }
                set_state(tree, &McimPaths::new(&name), State::Installing, None, req.now);
                self.tre.lock().pending.push(Pending { name, correlator });
            }
            Operation::Activate => {
                let result = {
                    let mut c = self.tre.lock();
                    let c = &mut *c;
                    let sub = c.mcims.get(&name).and_then(|m| {
                        let p = m.plaintext.as_ref()?;
                        Subscription::new(p.imsi.imsi.to_string(), &p.k, &p.opc)
                    });
                    sub.map(|mut s| {
                        if let Some(sq) = c.mcims.get_mut(&name).and_then(|m| m.sqns.take()) {
                            s.sqns = sq;
                        }
                        c.active.replace((name.clone(), s))
                    })
                };
                match result {
                    Some(previous) => {
                        if let Some((prev, sub)) = previous {
                            if let Some(m) = self.tre.lock().mcims.get_mut(&prev) {
                                m.state = State::Inactive;
                                m.sqns = Some(sub.sqns);
                            }
                            set_state(tree, &McimPaths::new(&prev), State::Inactive, None, req.now);
                        }
                        self.finish(
                            tree,
                            op,
                            &name,
                            (Some(State::Active), ResultCode::Success),
                            correlator,
                            req.now,
                        );
                    }
                    None => self.finish(
                        tree,
                        op,
                        &name,
                        (None, ResultCode::ActivationFailure),
                        correlator,
                        req.now,
                    ),
                }
            }
            Operation::Deactivate => {
                {
                    let mut c = self.tre.lock();
                    if let Some((_, sub)) = c.active.take_if(|(n, _)| *n == name)
                        && let Some(m) = c.mcims.get_mut(&name)
                    {
                        m.sqns = Some(sub.sqns);
                    }
                }
                self.finish(
                    tree,
                    op,
                    &name,
                    (Some(State::Inactive), ResultCode::Success),
                    correlator,
                    req.now,
                );
            }
            Operation::Remove => {
                let paths = McimPaths::new(&name);
                // Dropping the slot zeroises K and OPc (SecretBytes).
                self.tre.lock().mcims.remove(&name);
                let _ = tree.local(req.now).delete(paths.node());
                tree.queue_alert(alert(op, &paths, ResultCode::Success, correlator));
            }
        }
        ExecOutcome::Accepted
    }

    fn check_write(&mut self, _tree: &DmTree, event: &WriteEvent) -> Result<(), StatusCode> {
        let Some(t) = McimTarget::parse(&event.path) else { return Ok(()) };
        let c = self.tre.lock();
        match (t.item, event.kind) {
            (McimItem::Node, WriteKind::Add)
                if !c.mcims.contains_key(&t.name) && c.mcims.len() >= MAX_MCIMS =>
            {
                Err(StatusCode::DEVICE_FULL)
            }
            (McimItem::Leaf(McimLeaf::Data), WriteKind::Replace | WriteKind::Add | WriteKind::Copy) => {
                match c.mcims.get(&t.name).map(|m| m.state) {
                    None | Some(State::Delivered | State::Failed) => Ok(()),
                    Some(_) => Err(StatusCode::COMMAND_NOT_ALLOWED),
                }
            }
            _ => Ok(()),
        }
    }

    fn written(&mut self, tree: &mut DmTree, event: &WriteEvent) {
        if event.path == path::VALIDATION_NONCE.trim_start_matches("./") && event.kind == WriteKind::Replace {
            let nonce = event.value.clone().unwrap_or_default();
            let _ = self.tre.refresh_validation(tree, event.now, &nonce);
            return;
        }
        let Some(t) = McimTarget::parse(&event.path) else { return };
        let paths = t.paths();
        match (&t.item, event.kind) {
            (McimItem::Node, WriteKind::Add) | (McimItem::Leaf(McimLeaf::Data), WriteKind::Add) => {
                let mut l = tree.local(event.now);
                for op in Operation::ALL {
                    let _ = l.set_value(&paths.operation(op), Vec::new(), Format::Null);
                }
            }
            (McimItem::Node, WriteKind::Delete) => {
                let mut c = self.tre.lock();
                c.mcims.remove(&t.name);
                if c.active.as_ref().is_some_and(|(n, _)| *n == t.name) {
                    c.active = None;
                }
                return;
            }
            _ => {}
        }
        if let (McimItem::Leaf(McimLeaf::Data), WriteKind::Add | WriteKind::Replace | WriteKind::Copy) =
            (&t.item, event.kind)
        {
            let data = event.value.clone().unwrap_or_default();
            let header = ProtectedPackage::decode_exact(&data).ok();
            self.tre.lock().mcims.insert(
                t.name.clone(),
                McimSlot {
                    state: State::Delivered,
                    result: None,
                    package: Some(data),
                    plaintext: None,
                    sqns: None,
                },
            );
            let mut l = tree.local(event.now);
            if let Some(h) = header {
                let _ = l.set_text(&paths.leaf(McimLeaf::McimId), &h.mcim_id.iccid.to_string());
                let _ = l.set_text(&paths.leaf(McimLeaf::ShoId), &h.sho_id.to_string());
                let _ = l.set_text(&paths.leaf(McimLeaf::Version), &h.version.to_string());
            }
            set_state(tree, &paths, State::Delivered, None, event.now);
        }
    }

    fn poll(&mut self, tree: &mut DmTree, now: DmTime) {
        let pending = std::mem::take(&mut self.tre.lock().pending);
        for p in pending {
            let (state, result) = match self.install_now(&p.name) {
                Ok(()) => (State::Installed, ResultCode::Success),
                Err(r) => (State::Failed, r),
            };
            self.finish(tree, Operation::Install, &p.name, (Some(state), result), p.correlator, now);
        }
    }
}

#[cfg(test)]
mod tests;

//! The roles' endpoints: each wraps the sans-IO role of `m2msim_m2m` (its state, its randomness) behind the
//! paths it serves, and calls the roles it needs through the [`Net`] it is handed. `docs/m2msimmobj.md` §7
//! lists the endpoints with their bodies and errors.
//!
//! - [`CcifEndpoint`]: `POST /ccif/credentials` (the ICF fetches a PCID's credential, step 3 NOTE).
//! - [`IcfEndpoint`]: `POST /icf/av` (step 2–4), `/icf/attached` (step 6), `/icf/boot-context` (step 8).
//! - [`VnoEndpoint`]: `POST /vno/attach` (step 1, asks the ICF), `/vno/attach/auth` (step 5–6: RES, grant).
//! - [`DrfEndpoint`]: `POST /drf/bootstrap` (step 7, asks the ICF, builds and answers the bootstrap: 8–10).
//! - [`DpfApi`]: `POST /dpf/devices/{dev}/validation` (step 13), `/dpf/devices/{dev}/mcims/{node}` (17).
//! - [`ShoEndpoint`]: `POST /sho/registrations` (12), `/sho/devices/{dev}/validation` (13–17),
//!   `/sho/mcims/{id}/status` (21), `/sho/attach` and `/sho/attach/auth` (the proof).
//! - [`PvaEndpoint`]: `POST /pva/validations` (13–15).

use std::collections::{BTreeMap, BTreeSet};

use m2msim_codec::dm::ddf::Format;
use m2msim_codec::mo::m2msimmobj::{self as mobj, McimLeaf, McimPaths, Operation, ResultCode, path};
use m2msim_codec::mo::mcim::{ProtectedPackage, SecretBytes};
use m2msim_codec::mo::validation::ValidationData;
use m2msim_codec::reader::{Decode, Encode};
use m2msim_dm_server::directory::{AuthScheme, Credentials, DeviceRecord};
use m2msim_dm_server::operation::cmd;
use m2msim_m2m::wire::{
    AttachReport, AttachRequest, AuthResponse, AvAnswer, Challenge, CredentialAnswer, Grant, PcidRequest,
    ProvisioningAnswer, ShoRegistration, StatusReport, ValidationReads, ValidationReport, ValidationRequest,
};
use m2msim_m2m::{BootContext, BootCredential, Credential, Drf, Icf, Pva, Sho, Verdict, Vno};
use m2msim_scp80::milenage::AuthenticationVector;

use super::dm::{DpfJobs, Planned};
use super::net::{Endpoint, Net, Request, Response, Role};
use super::{DeviceRegistry, SeededRng};

/// An AV from its wire form (`None` when CK or IK is not 16 bytes).
fn av_of(a: &AvAnswer) -> Option<AuthenticationVector> {
    Some(AuthenticationVector {
        rand: a.rand,
        xres: a.xres,
        ck: a.ck.expose().try_into().ok()?,
        ik: a.ik.expose().try_into().ok()?,
        autn: a.autn,
    })
}

/// Calls `to` and parses its JSON answer; any failure becomes the 502 Problem the caller answers with,
/// keeping the step of the innermost failure.
fn ask<T: serde::de::DeserializeOwned>(
    net: &dyn Net,
    step: u8,
    from: Role,
    to: Role,
    req: Request,
) -> Result<T, Response> {
    let r = net.call(step, from, to, req).map_err(|e| Response::problem(502, step, format!("{to}: {e}")))?;
    if !r.ok() {
        let inner = r.problem_body().map_or(step, |p| if p.step == 0 { step } else { p.step });
        return Err(Response::problem(502, inner, format!("{to} answered {}", r.why())));
    }
    r.parse().map_err(|e| Response::problem(502, step, format!("{to}: {e}")))
}

/// The CCIF's endpoint: the credentials it issued at manufacture.
#[derive(Debug, Default)]
pub struct CcifEndpoint {
    issued: BTreeMap<String, Credential>,
}

impl CcifEndpoint {
    /// Keeps a credential the CCIF issued.
    pub fn keep(&mut self, c: Credential) {
        self.issued.insert(c.imsi.clone(), c);
    }
}

impl Endpoint for CcifEndpoint {
    fn handle(&mut self, req: &Request, _: &dyn Net) -> Response {
        if req.path != "/ccif/credentials" {
            return Response::not_found(Role::Ccif, &req.path);
        }
        let q: PcidRequest = match req.parse(3) {
            Ok(q) => q,
            Err(r) => return r,
        };
        match self.issued.get(&q.pcid) {
            Some(c) => Response::json(200, &CredentialAnswer::from(c)),
            None => Response::problem(404, 3, format!("the CCIF issued no PCID {}", q.pcid)),
        }
    }
}

/// The ICF's endpoint.
pub struct IcfEndpoint {
    icf: Icf,
    rng: SeededRng,
}

impl IcfEndpoint {
    /// An ICF without credentials (it fetches them from the CCIF).
    #[must_use]
    pub fn new(rng: SeededRng) -> Self {
        Self { icf: Icf::new(), rng }
    }

    fn av(&mut self, req: &Request, net: &dyn Net) -> Response {
        let q: PcidRequest = match req.parse(2) {
            Ok(q) => q,
            Err(r) => return r,
        };
        if !self.icf.knows(&q.pcid) {
            let c: CredentialAnswer =
                match ask(net, 3, Role::Icf, Role::Ccif, Request::json("/ccif/credentials", &q)) {
                    Ok(c) => c,
                    Err(r) => return r,
                };
            if !self.icf.register(&c.into()) {
                return Response::problem(502, 3, "the CCIF's credential is not 16-byte K and OPc");
            }
        }
        match self.icf.av(&q.pcid, &mut self.rng) {
            Some(av) => Response::json(200, &AvAnswer::from(&av)),
            None => Response::problem(404, 3, format!("no credential for PCID {}", q.pcid)),
        }
    }
}

impl Endpoint for IcfEndpoint {
    fn handle(&mut self, req: &Request, net: &dyn Net) -> Response {
        match req.path.as_str() {
            "/icf/av" => self.av(req, net),
            "/icf/attached" => {
                let a: AttachReport = match req.parse(6) {
                    Ok(a) => a,
                    Err(r) => return r,
                };
                if self.icf.attached(&a.pcid, &a.rand, &a.ip) {
                    Response::empty(204)
                } else {
                    Response::problem(404, 6, format!("the ICF issued no AV with that RAND for {}", a.pcid))
                }
            }
            "/icf/boot-context" => {
                let q: PcidRequest = match req.parse(8) {
                    Ok(q) => q,
                    Err(r) => return r,
                };
                match self.icf.boot_context(&q.pcid) {
                    Some(c) => Response::json(200, c),
                    None => Response::problem(404, 8, format!("no attach of PCID {} was reported", q.pcid)),
                }
            }
            p => Response::not_found(Role::Icf, p),
        }
    }
}

/// An attach under way (the AV the network checks RES against).
type Pending = BTreeMap<String, AuthenticationVector>;

/// The VNO's endpoint: the radio attach (modelled as HTTP) and the grant.
pub struct VnoEndpoint {
    vno: Vno,
    pending: Pending,
    next_host: u8,
}

impl VnoEndpoint {
    /// A VNO whose provisional grant reaches `ro_destinations` (the RO's authorities).
    #[must_use]
    pub fn new(ro_destinations: Vec<String>) -> Self {
        Self { vno: Vno { ro_destinations }, pending: Pending::new(), next_host: 17 }
    }
}

impl Endpoint for VnoEndpoint {
    fn handle(&mut self, req: &Request, net: &dyn Net) -> Response {
        match req.path.as_str() {
            "/vno/attach" => {
                let a: AttachRequest = match req.parse(1) {
                    Ok(a) => a,
                    Err(r) => return r,
                };
                let q = PcidRequest { pcid: a.imsi.clone() };
                let answer: AvAnswer = match ask(net, 2, Role::Vno, Role::Icf, Request::json("/icf/av", &q)) {
                    Ok(x) => x,
                    Err(r) => return r,
                };
                let Some(av) = av_of(&answer) else {
                    return Response::problem(502, 4, "the ICF's AV has no 16-byte CK/IK");
                };
                let c = Challenge { rand: av.rand, autn: av.autn };
                self.pending.insert(a.imsi, av);
                Response::json(200, &c)
            }
            "/vno/attach/auth" => {
                let a: AuthResponse = match req.parse(5) {
                    Ok(a) => a,
                    Err(r) => return r,
                };
                let Some(av) = self.pending.remove(&a.imsi) else {
                    return Response::problem(409, 5, format!("no attach of {} under way", a.imsi));
                };
                let Some(policy) = self.vno.authenticate(&a.imsi, &av, &a.res) else {
                    return Response::problem(403, 5, "RES differs from XRES: attach refused");
                };
                let ip = format!("10.45.0.{}", self.next_host);
                self.next_host = self.next_host.wrapping_add(1);
                let report = AttachReport { pcid: a.imsi, rand: av.rand, ip: ip.clone() };
                let r = net.call(6, Role::Vno, Role::Icf, Request::json("/icf/attached", &report));
                match r {
                    Ok(r) if r.ok() => Response::json(200, &Grant { ip, policy: Some(policy) }),
                    Ok(r) => Response::problem(502, 6, format!("ICF answered {}", r.why())),
                    Err(e) => Response::problem(502, 6, format!("ICF: {e}")),
                }
            }
            p => Response::not_found(Role::Vno, p),
        }
    }
}

/// What the RO's database holds for a PCID: where to provision it and the SHO's provisioning context.
#[derive(Debug, Clone)]
pub struct DrfRecord {
    /// The M2ME's device identifier (the DPF's device record).
    pub dev_id: String,
    /// The DPF's Server Identifier.
    pub dpf_server_id: String,
    /// The encoded `McimProvCtx` for `Boot/MCIMProvCtx`.
    pub prov_ctx: Vec<u8>,
}

/// The DRF's endpoint: it makes the DM credentials and shares them with the DPF (the RO's device
/// directory).
pub struct DrfEndpoint {
    drf: Drf,
    records: BTreeMap<String, DrfRecord>,
    registry: DeviceRegistry,
    account: String,
    rng: SeededRng,
}

impl DrfEndpoint {
    /// A DRF with its registrations (`drf`), the records per PCID, and the DPF's device directory;
    /// bootstraps create `./DMAcc/<account>`.
    #[must_use]
    pub fn new(
        drf: Drf,
        records: BTreeMap<String, DrfRecord>,
        registry: DeviceRegistry,
        account: &str,
        rng: SeededRng,
    ) -> Self {
        Self { drf, records, registry, account: account.into(), rng }
    }

    fn secret(&mut self, label: &str) -> String {
        let mut b = [0u8; 12];
        self.rng.fill(&mut b);
        format!("{label}-{}", hex::encode(b))
    }

    fn bootstrap(&mut self, ctx: &BootContext) -> Response {
        let (Some(reg), Some(rec)) =
            (self.drf.lookup(&ctx.pcid).cloned(), self.records.get(&ctx.pcid).cloned())
        else {
            return Response::problem(404, 9, format!("the DRF has no registration for PCID {}", ctx.pcid));
        };
        let (client_pw, server_pw) = (self.secret("m2me"), self.secret("dpf"));
        let mut nonces = [[0u8; 8]; 2];
        for n in &mut nonces {
            self.rng.fill(n);
        }
        let creds = [
            BootCredential {
                level: "CLCRED".into(),
                auth_type: "DIGEST".into(),
                name: ctx.pcid.clone(),
                secret: SecretBytes::new(client_pw.as_bytes().to_vec()),
                nonce: nonces[0].to_vec(),
            },
            BootCredential {
                level: "SRVCRED".into(),
                auth_type: "DIGEST".into(),
                name: reg.dpf_server_id.clone(),
                secret: SecretBytes::new(server_pw.as_bytes().to_vec()),
                nonce: nonces[1].to_vec(),
            },
        ];
        let Some(boot) = self.drf.bootstrap_for(ctx, &self.account, &rec.prov_ctx, &creds) else {
            return Response::problem(500, 9, "the DRF could not build the bootstrap");
        };
        let record = DeviceRecord {
            device_id: rec.dev_id.clone(),
            client: Credentials::new(AuthScheme::Md5, ctx.pcid.clone(), client_pw, nonces[0].to_vec()),
            server: Some(Credentials::new(AuthScheme::Md5, reg.dpf_server_id, server_pw, nonces[1].to_vec())),
        };
        if let Err(e) = self.registry.put(record) {
            return Response::problem(500, 9, format!("the DPF's device directory: {e}"));
        }
        Response { status: 200, content_type: boot.content_type(), body: boot.message }
    }
}

impl Endpoint for DrfEndpoint {
    fn handle(&mut self, req: &Request, net: &dyn Net) -> Response {
        if req.path != "/drf/bootstrap" {
            return Response::not_found(Role::Drf, &req.path);
        }
        let q: PcidRequest = match req.parse(7) {
            Ok(q) => q,
            Err(r) => return r,
        };
        let ctx: BootContext = match ask(net, 8, Role::Drf, Role::Icf, Request::json("/icf/boot-context", &q))
        {
            Ok(c) => c,
            Err(r) => return r,
        };
        self.bootstrap(&ctx)
    }
}

/// The DPF's provisioning interface toward the SHO: it turns requests into the staged plan its DM server
/// runs in the M2ME's next session.
pub struct DpfApi {
    jobs: DpfJobs,
    dev_id: String,
    /// Send Exec Activate before Install (the negative scenario).
    pub activate_first: bool,
}

impl DpfApi {
    /// The API for the device `dev_id` whose plan is `jobs`.
    #[must_use]
    pub fn new(jobs: DpfJobs, dev_id: &str) -> Self {
        Self { jobs, dev_id: dev_id.into(), activate_first: false }
    }

    fn mcim(&self, node: &str, req: &Request) -> Response {
        if req.content_type != mobj::MCIM_MIME_TYPE {
            return Response::problem(415, 17, format!("expected {}", mobj::MCIM_MIME_TYPE));
        }
        if ProtectedPackage::decode_exact(&req.body).is_err() {
            return Response::problem(400, 17, "the body is not a protected MCIM package");
        }
        let paths = McimPaths::new(node);
        let exec = |op: Operation| Planned {
            label: format!("Exec {}", op.node_name()),
            command: cmd::exec(
                &paths.operation(op),
                None,
                Some(&format!("{node}-{}", op.node_name().to_lowercase())),
            ),
        };
        let add = vec![
            Planned { label: "Add MCIM node".into(), command: cmd::add_interior(paths.node()) },
            Planned {
                label: "Add Data".into(),
                command: cmd::add_typed(
                    &paths.leaf(McimLeaf::Data),
                    Format::Bin,
                    mobj::MCIM_MIME_TYPE,
                    req.body.clone(),
                ),
            },
        ];
        let stages = if self.activate_first {
            vec![add, vec![exec(Operation::Activate)], vec![exec(Operation::Install)]]
        } else {
            vec![add, vec![exec(Operation::Install)], vec![exec(Operation::Activate)]]
        };
        self.jobs.plan(stages);
        Response::empty(202)
    }
}

impl Endpoint for DpfApi {
    fn handle(&mut self, req: &Request, _: &dyn Net) -> Response {
        let parts: Vec<&str> = req.path.split('/').collect();
        match parts.as_slice() {
            ["", "dpf", "devices", dev, rest @ ..] if *dev != self.dev_id => {
                let step = if rest.first() == Some(&"mcims") { 17 } else { 13 };
                Response::problem(404, step, format!("the DPF serves no device {dev}"))
            }
            ["", "dpf", "devices", _, "validation"] => {
                let q: ValidationReads = match req.parse(13) {
                    Ok(q) => q,
                    Err(r) => return r,
                };
                self.jobs.plan(vec![vec![
                    Planned {
                        label: "Replace ValidationNonce".into(),
                        command: cmd::replace(path::VALIDATION_NONCE, Format::Bin, q.nonce),
                    },
                    Planned { label: "Get PfC".into(), command: cmd::get(path::PFC) },
                    Planned { label: "Get ValidationData".into(), command: cmd::get(path::VALIDATION_DATA) },
                ]]);
                Response::empty(202)
            }
            ["", "dpf", "devices", _, "mcims", node] => self.mcim(node, req),
            _ => Response::not_found(Role::Dpf, &req.path),
        }
    }
}

/// What the SHO injects on its side (the negative scenarios).
#[derive(Debug, Clone, Default)]
pub struct ShoFaults {
    /// Encrypt to this PfC instead of the M2ME's.
    pub foreign_pfc: Option<Vec<u8>>,
    /// Flip a byte of the ciphertext on the way to the DPF.
    pub flip_ciphertext: bool,
}

/// The SHO's endpoint.
pub struct ShoEndpoint {
    sho: Sho,
    rng: SeededRng,
    node: String,
    faults: ShoFaults,
    /// Registered devices: DevId → (registration, the nonce sent for validation).
    registered: BTreeMap<String, (ShoRegistration, Vec<u8>)>,
    issued: BTreeSet<String>,
    pending: Pending,
    next_host: u8,
}

impl ShoEndpoint {
    /// The SHO `sho`, installing MCIMs under `./M2MSIMMobj/MCIMs/<node>`.
    #[must_use]
    pub fn new(sho: Sho, rng: SeededRng, node: &str, faults: ShoFaults) -> Self {
        Self {
            sho,
            rng,
            node: node.into(),
            faults,
            registered: BTreeMap::new(),
            issued: BTreeSet::new(),
            pending: Pending::new(),
            next_host: 5,
        }
    }

    fn register(&mut self, req: &Request, net: &dyn Net) -> Response {
        let reg: ShoRegistration = match req.parse(12) {
            Ok(r) => r,
            Err(r) => return r,
        };
        let mut nonce = vec![0u8; 16];
        self.rng.fill(&mut nonce);
        let path = format!("/dpf/devices/{}/validation", reg.dev_id);
        let r = net.call(
            13,
            Role::Sho,
            Role::Dpf,
            Request::json(path, &ValidationReads { nonce: nonce.clone() }),
        );
        match r {
            Ok(r) if r.ok() => {}
            Ok(r) => return Response::problem(502, 13, format!("DPF answered {}", r.why())),
            Err(e) => return Response::problem(502, 13, format!("DPF: {e}")),
        }
        self.registered.insert(reg.dev_id.clone(), (reg, nonce));
        Response::empty(201)
    }

    fn validation(&mut self, dev: &str, req: &Request, net: &dyn Net) -> Response {
        let v: ValidationReport = match req.parse(13) {
            Ok(v) => v,
            Err(r) => return r,
        };
        let Some((reg, nonce)) = self.registered.get(dev).cloned() else {
            return Response::problem(404, 13, format!("no M2ME {dev} was registered with the SHO"));
        };
        let q = ValidationRequest { tre_id: reg.tre_id, pfc: v.pfc.clone(), nonce, report: v.report };
        let verdict: Verdict = match ask(net, 13, Role::Sho, Role::Pva, Request::json("/pva/validations", &q))
        {
            Ok(x) => x,
            Err(r) => return r,
        };
        let mut answer = ProvisioningAnswer {
            verdict: verdict.clone(),
            mcim_id: None,
            imsi: None,
            node: None,
            package_bytes: 0,
            notes: Vec::new(),
        };
        let target = self.faults.foreign_pfc.clone().unwrap_or(v.pfc);
        let issued = match self.sho.issue(&verdict, &target, &mut self.rng) {
            Ok(Some(m)) => m,
            Ok(None) => return Response::json(200, &answer),
            Err(e) => return Response::problem(500, 16, format!("the SHO could not protect the MCIM: {e}")),
        };
        let mut package = issued.package.encode();
        answer.package_bytes = package.len();
        if self.faults.flip_ciphertext {
            let mut p = issued.package.clone();
            let at = p.ciphertext.len() / 2;
            if let Some(b) = p.ciphertext.get_mut(at) {
                *b ^= 0x01;
            }
            package = p.encode();
            answer
                .notes
                .push(format!("fault: byte {at} of the ciphertext (87) flipped on the way to the DPF"));
        }
        let path = format!("/dpf/devices/{dev}/mcims/{}", self.node);
        let r = net.call(17, Role::Sho, Role::Dpf, Request::bytes(path, mobj::MCIM_MIME_TYPE, package));
        match r {
            Ok(r) if r.ok() => {}
            Ok(r) => return Response::problem(502, 17, format!("DPF answered {}", r.why())),
            Err(e) => return Response::problem(502, 17, format!("DPF: {e}")),
        }
        self.issued.insert(issued.mcim_id.clone());
        answer.mcim_id = Some(issued.mcim_id);
        answer.imsi = Some(issued.imsi);
        answer.node = Some(self.node.clone());
        Response::json(200, &answer)
    }

    fn status(&mut self, mcim_id: &str, req: &Request) -> Response {
        let s: StatusReport = match req.parse(21) {
            Ok(s) => s,
            Err(r) => return r,
        };
        if !self.issued.contains(mcim_id) {
            return Response::problem(404, 21, format!("the SHO issued no MCIM {mcim_id}"));
        }
        let Some((_, code)) = s.results.last() else {
            return Response::problem(400, 21, "a status report without results");
        };
        self.sho.status(mcim_id, ResultCode::from_code(*code));
        Response::empty(204)
    }
}

impl Endpoint for ShoEndpoint {
    fn handle(&mut self, req: &Request, net: &dyn Net) -> Response {
        let parts: Vec<&str> = req.path.split('/').collect();
        match parts.as_slice() {
            ["", "sho", "registrations"] => self.register(req, net),
            ["", "sho", "devices", dev, "validation"] => self.validation(dev, req, net),
            ["", "sho", "mcims", id, "status"] => self.status(id, req),
            ["", "sho", "attach"] => {
                let a: AttachRequest = match req.parse(0) {
                    Ok(a) => a,
                    Err(r) => return r,
                };
                let Some(av) = self.sho.av(&a.imsi, &mut self.rng) else {
                    return Response::problem(404, 0, format!("{} is not a subscriber of the SHO", a.imsi));
                };
                let c = Challenge { rand: av.rand, autn: av.autn };
                self.pending.insert(a.imsi, av);
                Response::json(200, &c)
            }
            ["", "sho", "attach", "auth"] => {
                let a: AuthResponse = match req.parse(0) {
                    Ok(a) => a,
                    Err(r) => return r,
                };
                match self.pending.remove(&a.imsi) {
                    Some(av) if av.xres.as_slice() == a.res.as_slice() => {
                        let ip = format!("10.99.0.{}", self.next_host);
                        self.next_host = self.next_host.wrapping_add(1);
                        Response::json(200, &Grant { ip, policy: None })
                    }
                    Some(_) => Response::problem(403, 0, "RES differs from XRES: attach refused"),
                    None => Response::problem(409, 0, format!("no attach of {} under way", a.imsi)),
                }
            }
            _ => Response::not_found(Role::Sho, &req.path),
        }
    }
}

/// The PVA's endpoint.
pub struct PvaEndpoint {
    pva: Pva,
}

impl PvaEndpoint {
    /// The PVA `pva` (its TREs' attestation keys and reference values).
    #[must_use]
    pub fn new(pva: Pva) -> Self {
        Self { pva }
    }
}

impl Endpoint for PvaEndpoint {
    fn handle(&mut self, req: &Request, _: &dyn Net) -> Response {
        if req.path != "/pva/validations" {
            return Response::not_found(Role::Pva, &req.path);
        }
        let q: ValidationRequest = match req.parse(13) {
            Ok(q) => q,
            Err(r) => return r,
        };
        let Ok(report) = ValidationData::decode_exact(&q.report) else {
            return Response::problem(400, 14, "the validation data does not decode");
        };
        // Decision: a report signed as another TRE than the one the SHO asks about does not vouch for that
        // TRE: the verdict is the one for a signature that does not verify.
        if report.tre_id != q.tre_id {
            return Response::json(200, &Verdict::BadSignature);
        }
        Response::json(200, &self.pva.validate(&report, &q.pfc, &q.nonce))
    }
}

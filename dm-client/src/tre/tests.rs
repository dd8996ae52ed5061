use std::convert::Infallible;

use m2msim_codec::mo::mcim::{McimPlaintext, ProtectedPackage, SecretBytes};
use m2msim_codec::mo::prov_ctx::McimProvCtx;
use m2msim_codec::reader::Encode;
use m2msim_codec::sim::{EfIccid, EfImsi, PlmnId};
use m2msim_scp80::milenage::Sqn;
use rand_core::{TryCryptoRng, TryRng};

use super::*;
use crate::tree::{CommandCtx, ItemValue, TreeLimits};

const NOW: DmTime = DmTime(1_700_000_000);
const DPF: &str = "dpf.example";

struct Counter(u8);
impl TryRng for Counter {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        self.0 = self.0.wrapping_add(1);
        Ok(u32::from(self.0))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        self.0 = self.0.wrapping_add(1);
        Ok(u64::from(self.0))
    }
    fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), Infallible> {
        for b in d {
            self.0 = self.0.wrapping_add(1);
            *b = self.0;
        }
        Ok(())
    }
}
impl TryCryptoRng for Counter {}

fn digest(s: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes()).into()
}

fn tre(mode: ValidationMode, tampered: bool) -> Tre {
    let reference = vec![("boot".to_owned(), digest("boot v1")), ("os".to_owned(), digest("os v1"))];
    let mut measurements = reference.clone();
    if tampered {
        measurements[1].1 = digest("os evil");
    }
    Tre::new(
        TreConfig { tre_id: "TRE-0001".into(), mode, measurements, reference, require_signature: false },
        SecretKey::from_slice(&[0x11; 32]).unwrap(),
        SigningKey::from_slice(&[0x12; 32]).unwrap(),
    )
}

const K: &str = "465b5ce8b199b49faa5f0a2ee238a6bc";
const OPC: &str = "cd63cb71954a9f4e48a5994e37a02baf";

fn package_for(t: &Tre) -> Vec<u8> {
    let plain = McimPlaintext::milenage(
        EfImsi::from_digits("001019876543210").unwrap(),
        SecretBytes::new(hex::decode(K).unwrap()),
        SecretBytes::new(hex::decode(OPC).unwrap()),
    );
    prot::protect(
        &plain,
        &t.pfc(),
        EfIccid::from_digits("8900101000000000123").unwrap(),
        PlmnId::new("001", "01").unwrap(),
        None,
        &mut Counter(0),
    )
    .unwrap()
    .encode()
}

fn setup(t: &Tre) -> DmTree {
    let mut tree = DmTree::new(TreeLimits::default());
    t.install(&mut tree, NOW).unwrap();
    t.grant_server(&mut tree, DPF, NOW).unwrap();
    tree
}

fn ctx() -> CommandCtx<'static> {
    CommandCtx { server_id: DPF, now: NOW }
}

fn deliver(tree: &mut DmTree, name: &str, data: Vec<u8>) {
    let p = McimPaths::new(name);
    tree.add(&ctx(), p.node(), &ItemValue::interior()).unwrap();
    tree.add(&ctx(), &p.leaf(McimLeaf::Data), &ItemValue::with_format(data, Format::Bin)).unwrap();
}

fn exec(tree: &mut DmTree, name: &str, op: Operation, corr: &str) -> GenericAlert {
    let out = tree.exec(&ctx(), &McimPaths::new(name).operation(op), b"", Some(corr)).unwrap();
    assert_eq!(out, ExecOutcome::Accepted);
    tree.poll_plugins(NOW);
    let mut alerts = tree.take_alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = alerts.remove(0);
    assert_eq!(a.correlator.as_deref(), Some(corr));
    assert_eq!(a.alert_type, op.alert_type());
    a
}

fn tree_state(tree: &DmTree, name: &str) -> (Option<String>, Option<String>) {
    let p = McimPaths::new(name);
    (
        tree.text(&p.leaf(McimLeaf::State)).map(str::to_owned),
        tree.text(&p.leaf(McimLeaf::Result)).map(str::to_owned),
    )
}

#[test]
fn tre_nodes() {
    let t = tre(ValidationMode::Remote, false);
    let tree = setup(&t);
    assert_eq!(tree.value(path::PFC), Some(&t.pfc()[..]));
    assert_eq!(tree.text(path::PFC_REF), Some(hex::encode(t.pfc_ref()).as_str()));
    assert_eq!(tree.text(path::TRE_ID), Some("TRE-0001"));
    assert_eq!(tree.text(path::ALGS), Some("1"));
    let vd = ValidationData::decode_exact(tree.value(path::VALIDATION_DATA).unwrap()).unwrap();
    assert!(prot::verify_validation(&vd, &t.attestation_key()));
    assert_eq!(vd.measurements.as_ref().map(Vec::len), Some(2));
}

#[test]
fn validation_nonce_and_modes() {
    let t = tre(ValidationMode::Remote, false);
    let mut tree = setup(&t);
    tree.replace(&ctx(), path::VALIDATION_NONCE, &ItemValue::with_format(vec![9, 8, 7], Format::Bin))
        .unwrap();
    let vd = ValidationData::decode_exact(tree.value(path::VALIDATION_DATA).unwrap()).unwrap();
    assert_eq!(vd.nonce, vec![9, 8, 7]);
    assert!(prot::verify_validation(&vd, &t.attestation_key()));
    // Semi-autonomous: only the failed component.
    let s = tre(ValidationMode::SemiAutonomous, true).validation_report(b"n").unwrap();
    assert_eq!(s.measurements.unwrap().iter().map(|m| m.component.as_str()).collect::<Vec<_>>(), ["os"]);
    assert_eq!(
        tre(ValidationMode::SemiAutonomous, false).validation_report(b"n").unwrap().measurements,
        Some(vec![])
    );
    // Autonomous: no list; nothing at all when the self-check fails, and no AKA.
    assert_eq!(tre(ValidationMode::Autonomous, false).validation_report(b"n").unwrap().measurements, None);
    let bad = tre(ValidationMode::Autonomous, true);
    assert!(bad.validation_report(b"n").is_none());
    bad.set_provisional("001010000000001", &SecretBytes::new([1; 16]), &SecretBytes::new([2; 16]));
    assert_eq!(bad.authenticate(&[0; 16], &[0; 16]), AkaResponse::NoCredential);
}

#[test]
fn install_activate_deactivate_remove_and_aka() {
    let t = tre(ValidationMode::Remote, false);
    let mut tree = setup(&t);
    deliver(&mut tree, "m1", package_for(&t));
    let p = McimPaths::new("m1");
    assert_eq!(tree_state(&tree, "m1").0.as_deref(), Some("10"));
    assert_eq!(tree.text(&p.leaf(McimLeaf::McimId)), Some("8900101000000000123"));
    assert_eq!(tree.text(&p.leaf(McimLeaf::ShoId)), Some("001-01"));
    // Data is write-only.
    assert!(tree.get(&ctx(), &p.leaf(McimLeaf::Data)).is_err());
    // Wrong state: Activate before Install → 409, no change.
    let a = exec(&mut tree, "m1", Operation::Activate, "c0");
    assert_eq!(a.data, b"409");
    assert_eq!(tree_state(&tree, "m1"), (Some("10".into()), Some("409".into())));
    // Install: 202, State 20 until poll, then 30 and an alert 200.
    tree.exec(&ctx(), &p.operation(Operation::Install), b"", Some("c1")).unwrap();
    assert_eq!(t.state("m1"), Some(State::Installing));
    assert_eq!(tree_state(&tree, "m1").0.as_deref(), Some("20"));
    tree.poll_plugins(NOW);
    let a = tree.take_alerts().remove(0);
    assert_eq!(
        (a.data.as_slice(), a.correlator.as_deref(), a.source_uri.as_deref()),
        (&b"200"[..], Some("c1"), Some(p.node()))
    );
    assert_eq!(tree_state(&tree, "m1"), (Some("30".into()), Some("200".into())));
    // Replacing Data now is refused.
    assert_eq!(
        tree.replace(&ctx(), &p.leaf(McimLeaf::Data), &ItemValue::with_format(vec![1], Format::Bin)),
        Err(StatusCode::COMMAND_NOT_ALLOWED)
    );
    assert_eq!(exec(&mut tree, "m1", Operation::Activate, "c2").data, b"200");
    assert_eq!(t.state("m1"), Some(State::Active));
    assert_eq!(t.current_imsi().as_deref(), Some("001019876543210"));
    // AKA with the MCIM: the network's AV.
    let net = Milenage::new(
        &hex::decode(K).unwrap().try_into().unwrap(),
        &hex::decode(OPC).unwrap().try_into().unwrap(),
    );
    let av = net.generate_av(&[0x5A; 16], Sqn::new(32).unwrap(), [0x80, 0]);
    match t.authenticate(&av.rand, &av.autn) {
        AkaResponse::Res { res, ck, ik } => assert_eq!((res, ck, ik), (av.xres, av.ck, av.ik)),
        other => panic!("{other:?}"),
    }
    // Replay → sync failure with AUTS.
    assert!(matches!(t.authenticate(&av.rand, &av.autn), AkaResponse::SyncFailure(_)));
    let mut bad = av.autn;
    bad[15] ^= 1;
    assert_eq!(t.authenticate(&av.rand, &bad), AkaResponse::MacFailure);
    // Remove while active → 409; deactivate, then remove.
    assert_eq!(exec(&mut tree, "m1", Operation::Remove, "c3").data, b"409");
    assert_eq!(exec(&mut tree, "m1", Operation::Deactivate, "c4").data, b"200");
    assert_eq!(t.state("m1"), Some(State::Inactive));
    assert_eq!(t.current_imsi(), None);
    assert_eq!(exec(&mut tree, "m1", Operation::Deactivate, "c5").data, b"409");
    assert_eq!(exec(&mut tree, "m1", Operation::Remove, "c6").data, b"200");
    assert!(tree.node(p.node()).is_none());
    assert_eq!(t.state("m1"), None);
}

#[test]
fn install_failures_map_to_result_codes() {
    let t = tre(ValidationMode::Remote, false);
    let other = tre(ValidationMode::Remote, false);
    let other = Tre::new(
        other.lock().config.clone(),
        SecretKey::from_slice(&[0x13; 32]).unwrap(),
        SigningKey::from_slice(&[0x12; 32]).unwrap(),
    );
    let good = package_for(&t);
    let mut tampered = good.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1; // the GCM tag
    let cases: [(Vec<u8>, &[u8]); 3] =
        [(vec![0x30, 0x00], b"400"), (package_for(&other), b"403"), (tampered, b"402")];
    for (i, (data, want)) in cases.into_iter().enumerate() {
        let mut tree = setup(&t);
        let name = format!("m{i}");
        deliver(&mut tree, &name, data);
        let a = exec(&mut tree, &name, Operation::Install, "c");
        assert_eq!(a.data, want);
        assert_eq!(t.state(&name), Some(State::Failed));
        // Failed → Install may be retried with new Data.
        tree.replace(
            &ctx(),
            &McimPaths::new(&name).leaf(McimLeaf::Data),
            &ItemValue::with_format(good.clone(), Format::Bin),
        )
        .unwrap();
        assert_eq!(exec(&mut tree, &name, Operation::Install, "d").data, b"200");
    }
}

#[test]
fn activate_switches_the_active_mcim_and_store_is_bounded() {
    let t = tre(ValidationMode::Remote, false);
    let mut tree = setup(&t);
    for n in ["a", "b"] {
        deliver(&mut tree, n, package_for(&t));
        exec(&mut tree, n, Operation::Install, "i");
        exec(&mut tree, n, Operation::Activate, "a");
    }
    assert_eq!((t.state("a"), t.state("b")), (Some(State::Inactive), Some(State::Active)));
    assert_eq!(tree_state(&tree, "a").0.as_deref(), Some("50"));
    for i in 2..MAX_MCIMS {
        deliver(&mut tree, &format!("x{i}"), vec![0x30, 0]);
    }
    assert_eq!(
        tree.add(&ctx(), McimPaths::new("full").node(), &ItemValue::interior()),
        Err(StatusCode::DEVICE_FULL)
    );
    // An unauthorised server cannot deliver.
    let other = CommandCtx { server_id: "evil", now: NOW };
    assert!(tree.add(&other, McimPaths::new("z").node(), &ItemValue::interior()).is_err());
}

#[test]
fn bootstrap_mac_with_the_provisional_credential() {
    let t = tre(ValidationMode::Remote, false);
    let (k, opc) = ([7u8; 16], [8u8; 16]);
    t.set_provisional("001010000000001", &SecretBytes::new(k), &SecretBytes::new(opc));
    let f = Milenage::new(&k, &opc).f2345(&[3; 16]);
    let kb = prot::boot_key(&f.ck, &f.ik, &[3; 16]);
    let mac = prot::boot_mac(&kb, b"bootstrap");
    assert!(t.verify_bootstrap(&[3; 16], b"bootstrap", &mac));
    assert!(!t.verify_bootstrap(&[4; 16], b"bootstrap", &mac));
    let _ = ProtectedPackage::header; // the type is part of the TRE's API surface
}

#[test]
fn install_checks_the_provisioning_context() {
    let t = tre(ValidationMode::Remote, false);
    let package = package_for(&t); // SHOID 001-01, MCIMID 8900101000000000123
    let mut ctx = McimProvCtx::new(PlmnId::new("001", "02").unwrap());
    let run = |ctx: Option<McimProvCtx>, name: &str| {
        t.set_prov_ctx(ctx);
        let mut tree = setup(&t);
        deliver(&mut tree, name, package.clone());
        exec(&mut tree, name, Operation::Install, "c").data
    };
    assert_eq!(run(Some(ctx.clone()), "m1"), b"405", "another SHO");
    assert_eq!(t.state("m1"), Some(State::Failed));
    assert_eq!(t.result("m1"), Some(ResultCode::RejectedByPolicy));
    ctx.sho_id = PlmnId::new("001", "01").unwrap();
    ctx.mcim_id = Some(EfIccid::from_digits("8900101000000000999").unwrap());
    assert_eq!(run(Some(ctx.clone()), "m2"), b"405", "another MCIM than announced");
    ctx.mcim_id = Some(EfIccid::from_digits("8900101000000000123").unwrap());
    assert_eq!(run(Some(ctx), "m3"), b"200", "the SHO and MCIM announced");
    assert_eq!(run(None, "m4"), b"200", "no context: no policy");
}

#![allow(clippy::unwrap_used)] // test code
//! The 21 steps of S3-090905 with direct calls (no DM, no HTTP).

use std::convert::Infallible;

use m2msim_codec::dm::ddf::Format;
use m2msim_codec::mo::m2msimmobj::{McimLeaf, McimPaths, ResultCode, State, path};
use m2msim_codec::mo::validation::{ValidationData, ValidationMode};
use m2msim_codec::reader::Decode;
use m2msim_codec::sim::PlmnId;
use m2msim_dm_client::tre::{AkaResponse, Tre, TreConfig};
use m2msim_dm_client::tree::{CommandCtx, DmTime, DmTree, ItemValue, TreeLimits};
use m2msim_m2m::*;
use m2msim_scp80::mcim::p256::SecretKey;
use m2msim_scp80::mcim::p256::ecdsa::SigningKey;
use rand_core::{TryCryptoRng, TryRng};

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
            self.0 = self.0.wrapping_add(7);
            *b = self.0;
        }
        Ok(())
    }
}
impl TryCryptoRng for Counter {}

const NOW: DmTime = DmTime(1_700_000_000);

#[test]
fn twenty_one_steps() {
    let rng = &mut Counter(1);
    let d = |s: &str| -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(s).into()
    };
    let comps = vec![("boot".to_owned(), d("boot")), ("os".to_owned(), d("os"))];
    // Manufacture: TRE, PCID from the CCIF shared with the ICF, attestation key with the PVA.
    let tre = Tre::new(
        TreConfig {
            tre_id: "TRE-1".into(),
            mode: ValidationMode::Remote,
            measurements: comps.clone(),
            reference: comps.clone(),
            require_signature: true,
        },
        SecretKey::from_slice(&[0x21; 32]).unwrap(),
        SigningKey::from_slice(&[0x22; 32]).unwrap(),
    );
    let mut ccif = Ccif::new(PlmnId::new("001", "01").unwrap(), 1);
    let pcid = ccif.issue(rng);
    assert_eq!(pcid.imsi, "001010000000001");
    tre.set_provisional(&pcid.imsi, &pcid.k, &pcid.opc);
    let mut icf = Icf::new();
    assert!(icf.register(&pcid));
    let mut pva = Pva::default();
    pva.register_tre("TRE-1", tre.attestation_key());
    for (c, v) in &comps {
        pva.set_reference(c, *v);
    }
    let mut tree = DmTree::new(TreeLimits::default());
    tre.install(&mut tree, NOW).unwrap();
    // 1–5: attach with the PCID; the VNO gets an AV from the ICF, AKA, provisional connectivity.
    let av = icf.av(&pcid.imsi, rng).unwrap();
    let AkaResponse::Res { res, .. } = tre.authenticate(&av.rand, &av.autn) else { panic!() };
    let vno = Vno { ro_destinations: vec!["drf.ro".into(), "dpf.sho".into()] };
    let policy = vno.authenticate(&pcid.imsi, &av, &res).unwrap();
    assert!(policy.allows("drf.ro") && !policy.allows("example.com"));
    // 6–11: DRF finds DPF/SHO, builds the bootstrap MAC'd with K_boot, the M2ME checks it.
    let mut sho =
        Sho::new(PlmnId::new("001", "02").unwrap(), 100, Some(SigningKey::from_slice(&[0x23; 32]).unwrap()));
    let mut drf = Drf::default();
    drf.register(
        &pcid.imsi,
        Registration {
            dpf_addr: "https://dpf.sho/dm".into(),
            dpf_server_id: "dpf.sho".into(),
            sho: sho.plmn,
            sho_addr: "001-02".into(),
        },
    );
    let boot = drf.bootstrap(&pcid.imsi, &av, "DPF", b"ctx").unwrap();
    assert!(tre.verify_bootstrap(&boot.rand, &boot.message, &boot.mac));
    // Step 6/8 as the roles carry it: the VNO reports the attach, the ICF hands the DRF K_boot and RAND
    // (never CK/IK), and the DRF's bootstrap keyed by them is the same message with the same MAC.
    assert!(icf.boot_context(&pcid.imsi).is_none(), "no attach reported yet");
    assert!(!icf.attached(&pcid.imsi, &[0u8; 16], "10.0.0.1"), "the ICF issued no AV with that RAND");
    assert!(icf.attached(&pcid.imsi, &av.rand, "10.0.0.1"));
    let boot_ctx = icf.boot_context(&pcid.imsi).unwrap().clone();
    assert_eq!((boot_ctx.ip.as_str(), boot_ctx.rand), ("10.0.0.1", av.rand));
    assert_eq!(boot_ctx.k_boot.expose(), &m2msim_scp80::mcim::boot_key(&av.ck, &av.ik, &av.rand)[..]);
    assert_eq!(drf.bootstrap_for(&boot_ctx, "DPF", b"ctx", &[]), Some(boot.clone()));
    let json = serde_json::to_string(&boot_ctx).unwrap();
    assert!(!json.contains(&hex::encode(av.ck)) && !json.contains(&hex::encode(av.ik)), "{json}");
    assert_eq!(serde_json::from_str::<BootContext>(&json).unwrap(), boot_ctx);
    let wire = Bootstrap::from_http(&boot.content_type(), boot.message.clone()).unwrap();
    assert!(tre.verify_bootstrap(&wire.rand, &wire.message, &wire.mac));
    let text = String::from_utf8(boot.message.clone()).unwrap();
    assert!(text.contains("./M2MSIMMobj/Boot/DPFAddr") && text.contains("./DMAcc/DPF/ServerID"), "{text}");
    tre.grant_server(&mut tree, "dpf.sho", NOW).unwrap();
    tre.set_sho_key(sho.verifying_key());
    // 12–15: the DPF reads PfC and validation data for a nonce; the PVA validates.
    let ctx = CommandCtx { server_id: "dpf.sho", now: NOW };
    let nonce = b"nonce-1".to_vec();
    for op in Dpf::validation_ops(&nonce) {
        if let DmOp::Replace(u, v) = op {
            tree.replace(&ctx, &u, &ItemValue::with_format(v, Format::Bin)).unwrap();
        }
    }
    let pfc = tree.value(path::PFC).unwrap().to_vec();
    let report = ValidationData::decode_exact(tree.value(path::VALIDATION_DATA).unwrap()).unwrap();
    let verdict = pva.validate(&report, &pfc, &nonce);
    assert_eq!(verdict, Verdict::Valid);
    assert_eq!(pva.validate(&report, &pfc, b"old"), Verdict::NotFresh);
    // 16–17: the SHO generates and protects the MCIM.
    let mcim = sho.issue(&verdict, &pfc, rng).unwrap().unwrap();
    // 18–19: the DPF downloads it and runs Install, Activate.
    let name = "m1";
    let mut dpf = Dpf::default();
    for op in Dpf::provisioning_ops(name, &Sho::package_bytes(&mcim)) {
        match op {
            DmOp::AddNode(u) => tree.add(&ctx, &u, &ItemValue::interior()).unwrap(),
            DmOp::AddData(u, v) => tree.add(&ctx, &u, &ItemValue::with_format(v, Format::Bin)).unwrap(),
            DmOp::Exec(u, c) => {
                tree.exec(&ctx, &u, b"", Some(&c)).unwrap();
                tree.poll_plugins(NOW);
                for a in tree.take_alerts() {
                    assert_eq!(a.correlator.as_deref(), Some(c.as_str()));
                    assert_eq!(dpf.alert(name, &a.alert_type, &a.data).unwrap().1, ResultCode::Success);
                }
            }
            _ => {}
        }
    }
    assert_eq!(tre.state(name), Some(State::Active));
    assert_eq!(tree.text(&McimPaths::new(name).leaf(McimLeaf::State)), Some("40"));
    // 20–21: status to the SHO; the M2ME authenticates with the MCIM against the SHO's AV.
    sho.status(&mcim.mcim_id, dpf.reports.last().unwrap().2);
    assert_eq!(sho.statuses.get(&mcim.mcim_id), Some(&ResultCode::Success));
    assert_eq!(tre.current_imsi().as_deref(), Some(mcim.imsi.as_str()));
    let av2 = sho.av(&mcim.imsi, rng).unwrap();
    let AkaResponse::Res { res, .. } = tre.authenticate(&av2.rand, &av2.autn) else { panic!() };
    assert_eq!(res, av2.xres);
}

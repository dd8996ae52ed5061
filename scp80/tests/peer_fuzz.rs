//! `scp80 fuzz` against the simulated card over its TCP socket (issue 10 §2): the card survives every
//! mutation, the TAR scan finds exactly its TARs, the keyset scan its keysets, and the MSL probe reports the
//! configured minimum security levels.
#![allow(clippy::unwrap_used)] // test code

use std::collections::BTreeSet;
use std::time::Duration;

use m2msim_codec::ota::Tar;
use m2msim_scp80::RustCryptoProvider;
use m2msim_scp80::peerfuzz::{FuzzConfig, FuzzReport, Fuzzer, TcpCard};
use m2msim_scp80::uicc::Uicc;
use m2msim_scp80::uicc::profile::{CardProfile, EXAMPLE_PROFILE};
use m2msim_scp80::uicc::server::{self, Protocol, SharedCard};

/// The example card plus an RFM application whose MSL asks only a CC (02).
fn profile() -> String {
    format!(
        "{EXAMPLE_PROFILE}\n[[ota.application]]\ntar = \"b00001\"\nkind = \"rfm\"\nroot = \"mf\"\n\
         format = \"compact\"\nmsl = \"02\"\n"
    )
}

/// Serves the card on a loopback port from a thread of its own; returns the address.
fn serve_card() -> String {
    let card = Uicc::from_profile(&CardProfile::from_toml(&profile()).unwrap()).unwrap();
    let shared = SharedCard::new(card, |_, _| {});
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap().to_string()).unwrap();
            let _ = server::serve(l, shared, Protocol::Auto, |e| panic!("card connection failed: {e}")).await;
        });
    });
    rx.recv().unwrap()
}

fn tar(s: &str) -> Tar {
    let b = hex::decode(s).unwrap();
    Tar([b[0], b[1], b[2]])
}

#[test]
fn scans_probes_and_mutations_against_the_simulated_card() {
    let addr = serve_card();
    let link = TcpCard::connect(&addr, Duration::from_secs(5)).unwrap();
    let keys = CardProfile::example().unwrap().keysets(&RustCryptoProvider).unwrap();
    let config = FuzzConfig { seed: 3, mutations: 160, ..FuzzConfig::default() };
    let mut f = Fuzzer::new(link, Some(keys), config, &addr);

    // TAR scan: exactly the card's applications (ISD/RAM, the RFMs, REFRESH) answer, all with 0A
    // (their MSLs refuse an unsecured packet); every other TAR says 09.
    let found: BTreeSet<Tar> = f.tar_scan().into_iter().collect();
    let expected: BTreeSet<Tar> = ["000000", "B00000", "B00001", "B00010", "B00011", "B00012", "B20000"]
        .iter()
        .map(|t| tar(t))
        .collect();
    assert_eq!(found, expected);
    for r in &f.report.tar_scan {
        assert_eq!(r.status, Some(if r.answered { 0x0A } else { 0x09 }), "{r:?}");
    }

    // Keyset scan: KVN 1 3DES-2key and KVN 2 AES, nothing else.
    f.keyset_scan(tar("B00010"));
    let present: BTreeSet<(u8, String)> =
        f.report.keysets.iter().filter(|k| k.present).map(|k| (k.kvn, k.algorithm.clone())).collect();
    let want: BTreeSet<(u8, String)> =
        [(1, "3des-2key".to_owned()), (2, "aes".to_owned())].into_iter().collect();
    assert_eq!(present, want, "{:#?}", f.report.keysets);

    // MSL probe: 16 as configured for the RFM SIM, 02 for the added application.
    assert_eq!(f.msl_probe(tar("B00010")).unwrap().inferred_msl, Some(0x16), "{:?}", f.report.msl);
    assert_eq!(f.msl_probe(tar("B00001")).unwrap().inferred_msl, Some(0x02), "{:?}", f.report.msl);

    // Mutations: the card survives every one, and no valid-looking PoR answers garbage.
    let before = f.report.probes.len();
    let tars: Vec<Tar> = expected.into_iter().collect();
    f.mutations(&tars);
    assert_eq!(f.report.probes.len() - before, 160);
    assert_eq!(f.report.crash_like(), 0, "{}", f.report.markdown());
    assert!(f.report.probes.iter().all(|p| p.alive));
    assert_eq!(f.link().failures, 0);
    // The protected PoRs of the card verify (no unsigned PoR OK, no failed CC).
    let counts = f.report.finding_counts();
    for bad in
        ["por_unsigned", "por_checksum_failed", "accepted_garbage", "malformed_por", "por_tar_mismatch"]
    {
        assert!(!counts.contains_key(bad), "{bad}: {counts:?}\n{}", f.report.markdown());
    }
    // Mutated headers do produce error PoRs, some in plaintext although ciphering was asked (as real cards).
    assert!(f.report.probes.iter().any(|p| p.status.is_some_and(|s| s != 0)));

    let dir = tempfile::tempdir().unwrap();
    f.report.write(dir.path()).unwrap();
    let back: FuzzReport =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(back, f.report);
    assert!(std::fs::read_to_string(dir.path().join("report.md")).unwrap().contains("## TAR scan"));
}

#[test]
fn same_seed_same_mutations() {
    let run = || {
        let addr = serve_card();
        let link = TcpCard::connect(&addr, Duration::from_secs(5)).unwrap();
        let config = FuzzConfig { seed: 9, mutations: 40, ..FuzzConfig::default() };
        let mut f = Fuzzer::new(link, None, config, "card");
        f.mutations(&[tar("B00010"), tar("000000")]);
        assert_eq!(f.report.crash_like(), 0, "{}", f.report.markdown());
        f.report.probes.iter().map(|p| (p.description.clone(), p.tpdus.clone(), p.status)).collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

#[test]
fn cli_fuzzes_a_served_card_file() {
    use std::io::BufRead as _;
    use std::process::{Command, Stdio};
    let bin = env!("CARGO_BIN_EXE_scp80");
    let dir = tempfile::tempdir().unwrap();
    let card = dir.path().join("card.toml");
    let st = Command::new(bin).args(["uicc", "new", "--example", "--out"]).arg(&card).status().unwrap();
    assert!(st.success());
    let mut serve = Command::new(bin)
        .args(["uicc", "serve", "--no-save", "--listen", "127.0.0.1:0", "--card"])
        .arg(&card)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(serve.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on ").unwrap().to_owned();
    let report = dir.path().join("report");
    let out = Command::new(bin)
        .args(["fuzz", "--card", &addr, "--mode", "tar-scan,mutate", "--tars", "000000,B00010,B0FFF0-B0FFF3"])
        .args(["--mutations", "12", "--report"])
        .arg(&report)
        .output()
        .unwrap();
    serve.kill().unwrap();
    let _ = serve.wait();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.join("report.json")).unwrap()).unwrap();
    assert_eq!(v["answering_tars"], serde_json::json!(["000000", "b00010"]));
    assert_eq!(v["summary"]["probes"], 6 + 12);
    assert_eq!(v["summary"]["crash_like"], 0);
    // Bad input: exit 2 with one line.
    let out = Command::new(bin)
        .args(["fuzz", "--card", &addr, "--tars", "B0001", "--report"])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tars"));
}

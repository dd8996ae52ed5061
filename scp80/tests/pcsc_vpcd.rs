//! `scp80 fuzz` over PC/SC (features `pcsc` and `cli`, issue 10 §2) through a real pcsc-lite stack: pcscd with the
//! vsmartcard `vpcd` reader driver (Debian `pcscd`, `vsmartcard-vpcd`), and the simulated card connected to
//! vpcd as its virtual card. The path under test is the one a real card in a reader takes: `SCardConnect`,
//! `SCardTransmit` of every probe, `SCardReconnect` with a reset, the ATR through `SCardStatus`.
//!
//! The peer is pcscd serving vpcd's first reader (`Virtual PCD 00 00`, port 35963 on loopback), which
//! `.ci/run` installs and starts. Without it the test says so and passes, unless `M2MSIM_REQUIRE_PEERS=1`
//! (as in CI), where it fails.
#![allow(clippy::unwrap_used)] // test code

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use m2msim_codec::ota::Tar;
use m2msim_scp80::RustCryptoProvider;
use m2msim_scp80::peerfuzz::link::PcscCard;
use m2msim_scp80::peerfuzz::{FuzzConfig, Fuzzer};
use m2msim_scp80::terminal::CardLink as _;
use m2msim_scp80::uicc::Uicc;
use m2msim_scp80::uicc::profile::CardProfile;
use m2msim_scp80::uicc::server::{self, SharedCard};

/// vpcd's first reader listens here for its virtual card.
const VPCD: &str = "127.0.0.1:35963";
/// The PC/SC name of that reader contains this.
const READER: &str = "Virtual PCD 00 00";

fn tar(s: &str) -> Tar {
    let b = hex::decode(s).unwrap();
    Tar([b[0], b[1], b[2]])
}

/// True when pcscd runs with vpcd's reader (asked through PC/SC: connecting to vpcd's port would look like
/// a card); false, or a failure under `M2MSIM_REQUIRE_PEERS=1`, when not.
fn vpcd_present() -> bool {
    let readers = pcsc::Context::establish(pcsc::Scope::User).and_then(|ctx| {
        let mut buf = vec![0u8; 4096];
        Ok(ctx.list_readers(&mut buf)?.map(|r| r.to_string_lossy().into_owned()).collect::<Vec<_>>())
    });
    let found = readers.as_ref().is_ok_and(|r| r.iter().any(|n| n.contains(READER)));
    if found {
        return true;
    }
    assert!(
        std::env::var("M2MSIM_REQUIRE_PEERS").as_deref() != Ok("1"),
        "M2MSIM_REQUIRE_PEERS=1 but pcscd has no {READER:?} reader ({readers:?}): \
         apt-get install pcscd vsmartcard-vpcd, then start pcscd"
    );
    eprintln!("skipped: pcscd has no {READER:?} reader ({readers:?})");
    false
}

/// Connects the example card to vpcd from a thread of its own.
fn plug_card() {
    let card = Uicc::from_profile(&CardProfile::example().unwrap()).unwrap();
    let shared = SharedCard::new(card, |_, _| {});
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
        // vpcd closes the connection when pcscd shuts down; the test is over by then.
        let _ = rt.block_on(server::connect_vpcd(VPCD, &shared));
    });
}

/// Waits until the reader reports the card (pcscd polls vpcd) and connects.
fn connect() -> PcscCard {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        match PcscCard::connect(READER) {
            Ok(c) => return c,
            Err(e) if Instant::now() < until => {
                eprintln!("waiting for the card in {READER:?}: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("no card in {READER:?} after 20 s: {e}"),
        }
    }
}

#[test]
fn tar_scan_keyset_scan_and_mutations_over_pcsc() {
    if !vpcd_present() {
        return;
    }
    plug_card();
    let mut link = connect();
    // A reset through SCardReconnect, the ATR through SCardStatus: the card's.
    let atr = Uicc::from_profile(&CardProfile::example().unwrap()).unwrap().atr().to_vec();
    assert_eq!(link.reset(), atr);
    // SELECT MF over SCardTransmit: the card's FCP and 9000 (or 61xx), as over the TCP framing.
    let r = link.transmit(&[0x00, 0xA4, 0x00, 0x04, 0x02, 0x3F, 0x00]);
    assert!(r.len() >= 2 && matches!(r[r.len() - 2], 0x90 | 0x61), "{r:02X?}");

    let keys = CardProfile::example().unwrap().keysets(&RustCryptoProvider).unwrap();
    let config = FuzzConfig {
        seed: 5,
        mutations: 40,
        tars: ["000000", "B00000", "B00010", "B0FFF0", "B20000"].iter().map(|t| tar(t)).collect(),
        ..FuzzConfig::default()
    };
    let mut f = Fuzzer::new(link, Some(keys), config, &format!("pcsc:{READER}"));
    let found: BTreeSet<Tar> = f.tar_scan().into_iter().collect();
    let want: BTreeSet<Tar> = ["000000", "B00000", "B00010", "B20000"].iter().map(|t| tar(t)).collect();
    assert_eq!(found, want, "{}", f.report.markdown());
    f.keyset_scan(tar("B00010"));
    let present: BTreeSet<u8> = f.report.keysets.iter().filter(|k| k.present).map(|k| k.kvn).collect();
    assert_eq!(present, BTreeSet::from([1, 2]), "{:#?}", f.report.keysets);
    assert_eq!(f.msl_probe(tar("B00010")).unwrap().inferred_msl, Some(0x16), "{:?}", f.report.msl);
    let tars: Vec<Tar> = want.into_iter().collect();
    f.mutations(&tars);
    assert_eq!(f.report.crash_like(), 0, "{}", f.report.markdown());
    assert!(f.report.probes.iter().all(|p| p.alive));
    assert_eq!(f.link().failures, 0);
}

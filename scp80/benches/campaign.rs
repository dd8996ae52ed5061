//! OTA campaign throughput in cards per second: the campaign engine (`ota_server::Engine`) runs the IMSI
//! change of m2m.md §4.4 (8 APDUs, compact, TAR B00011) on N simulated cards through the in-process driver
//! (`ota_server::Simulation`: in-memory SMSC, one simulated terminal per card, ENVELOPE SMS-PP download,
//! card-side SCP80, PoR in the DELIVER-REPORT, PoR verified). AES-128 (CBC + AES-CMAC-64, KVN 2),
//! SPI `16 19` (counter higher, ciphered, CC; PoR always, ciphered, with CC). The server's counters are
//! persisted in a `FileCounterStore` in a temporary directory with block reservation (blocks of 1,000),
//! so that each card's counter costs one file write per 1,000 packets; all jobs in one window.
//!
//! Building the fleet (cards from the profile, power-on) is set-up and not measured; each iteration runs
//! the whole campaign on fresh cards (the server's counters keep rising, as across real campaigns).
//!
//! `cargo bench -p m2msim-scp80 --bench campaign -- --warm-up-time 1 --measurement-time 3`

use std::num::NonZeroU64;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use m2msim_codec::Encode as _;
use m2msim_codec::apdu::{Cla, CommandApdu};
use m2msim_codec::ota::{Spi, Tar};
use m2msim_codec::sim::EfImsi;
use m2msim_codec::sms::Address;
use m2msim_scp80::counter::FileCounterStore;
use m2msim_scp80::crypto::RustCryptoProvider;
use m2msim_scp80::keys::{Keysets, Kvn};
use m2msim_scp80::ota_server::driver::default_provider;
use m2msim_scp80::ota_server::{
    Engine, EngineConfig, Fleet, JobOutcome, NetworkConfig, Numbering, Script, Simulation,
};
use m2msim_scp80::terminal::TerminalConfig;
use m2msim_scp80::uicc::profile::{CardProfile, EXAMPLE_PROFILE};

const CARDS: usize = 1000;

const AES_KEYS: &str = r#"
[[keyset]]
kvn = 2
kic = { algorithm = "aes", key = "000102030405060708090a0b0c0d0e0f" }
kid = { algorithm = "aes-cmac", key = "101112131415161718191a1b1c1d1e1f" }
"#;

fn h(s: &str) -> Vec<u8> {
    m2msim_codec::hexser::parse_hex(s).expect("hex")
}

fn imsi_change() -> Script {
    let sel = |f: &str| CommandApdu::new(Cla::ISO, 0xA4, 0x00, 0x0C, h(f), None).expect("apdu");
    let upd = |d: Vec<u8>| CommandApdu::new(Cla::ISO, 0xD6, 0x00, 0x00, d, None).expect("apdu");
    Script::compact(&[
        sel("6F07"),
        upd(EfImsi::from_digits("001019876543210").expect("imsi").encode()),
        sel("6F7E"),
        upd(h("FFFFFFFF 00F110 FFFE FF 01")),
        sel("6F73"),
        upd(h("FFFFFFFF FFFFFF 00F110 FFFE FF 01")),
        sel("6FE3"),
        upd(h("FFFFFFFFFFFFFFFFFFFFFFFF 00F110 FFFE 01")),
    ])
    .expect("script")
}

fn campaign(c: &mut Criterion) {
    let profile = CardProfile::from_toml(EXAMPLE_PROFILE).expect("profile");
    let keys = Arc::new(Keysets::from_toml(AES_KEYS, &RustCryptoProvider::new()).expect("keys"));
    let dir = tempfile::tempdir().expect("temp dir");
    let block = NonZeroU64::new(1000).expect("block");
    let counters = Arc::new(FileCounterStore::with_block(dir.path(), block).expect("store"));
    let script = imsi_change();
    let numbering = Numbering {
        iccid: "8988211000000000000".into(),
        msisdn: "491700000000".into(),
        imsi: Some("001010000000000".into()),
    };
    let terminal = TerminalConfig { pin1: Some("1234".into()), ..TerminalConfig::default() };
    let server = Address::international("4912345678").expect("address");
    let mut group = c.benchmark_group("campaign");
    group.sample_size(10);
    group.throughput(Throughput::Elements(CARDS as u64));
    group.bench_function("imsi_change_aes128_1000_cards", |b| {
        b.iter_batched(
            || {
                let fleet = Fleet::from_profile(&profile, CARDS, &numbering, &terminal, default_provider())
                    .expect("fleet");
                let mut config = EngineConfig::new(server);
                config.window = CARDS;
                let sim =
                    Simulation::new(Engine::new(config, counters.clone()), fleet, NetworkConfig::default());
                let jobs: Vec<_> = sim
                    .fleet()
                    .iter()
                    .map(|card| {
                        card.job(
                            Tar([0xB0, 0x00, 0x11]),
                            Spi::from_bytes([0x16, 0x19]),
                            Kvn::new(2).expect("kvn"),
                            keys.clone(),
                            script.clone(),
                        )
                    })
                    .collect();
                (sim, jobs)
            },
            |(mut sim, jobs)| {
                for j in jobs {
                    sim.submit(j);
                }
                let reports = sim.run();
                assert!(reports.len() == CARDS && reports.iter().all(|r| r.outcome == JobOutcome::Success));
                sim
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, campaign);
criterion_main!(benches);

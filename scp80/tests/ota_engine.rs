//! The OTA campaign engine end to end: `ota_server::Engine` → in-memory SMSC → `terminal::Terminal` →
//! `uicc::Uicc` (card-side SCP80) → PoR → engine, through the in-process driver (`ota_server::Simulation`)
//! or wired by hand where a test tampers with a PoR.
//!
//! Covered: the IMSI change of m2m.md §4.4 (compact 3DES with the PoR in the DELIVER-REPORT; expanded AES
//! with the PoR by SMS-SUBMIT), REFRESH (UICC reset, the terminal reads the new IMSI) and AKA afterwards;
//! refusals reported as card statuses (09, 0A, 02/06 replay, wrong KIc, unknown KVN); a script error;
//! a silent card (retried with fresh counters, then timeout); lost messages recovered by retries; a PoR
//! with a wrong CC; a trusted PoR with a counter the job never sent; a concatenated command with a
//! concatenated PoR by SMS-SUBMIT; 1,000 cards in flight with losses and a file counter store.
#![allow(clippy::unwrap_used)] // test code

use std::sync::Arc;

use m2msim_codec::apdu::{Cla, CommandApdu, StatusWord};
use m2msim_codec::ota::{CommandHeader, Kic, Kid, PorStatus, Spi, Tar, Transport};
use m2msim_codec::rfm::CompactResponse;
use m2msim_codec::sim::{EfImsi, EfLoci, LocationUpdateStatus};
use m2msim_codec::sms::concat::ConcatRef;
use m2msim_codec::sms::{Address, Scts};
use m2msim_codec::{Decode, Encode};
use m2msim_scp80::counter::{CardId, Counter, CounterStore, FileCounterStore, MemoryCounterStore};
use m2msim_scp80::crypto::RustCryptoProvider;
use m2msim_scp80::keys::{Keysets, Kvn};
use m2msim_scp80::milenage::{Milenage, Sqn};
use m2msim_scp80::ota_server::driver::{default_provider, read_imsi};
use m2msim_scp80::ota_server::{
    Engine, EngineConfig, Faults, Fleet, Input, Job, JobOutcome, JobReport, NetworkConfig, Numbering, Output,
    RetryPolicy, Script, SecurityProblem, SimCard, SimEvent, Simulation, Summary, UnmatchedReason,
};
use m2msim_scp80::packet::{
    CommandSender, RemoteResponse, ResponseFormat, por_user_data_from_deliver_report, verify_por,
};
use m2msim_scp80::terminal::{self, TerminalConfig};
use m2msim_scp80::uicc::Uicc;
use m2msim_scp80::uicc::fs::EfBody;
use m2msim_scp80::uicc::profile::{CardProfile, EXAMPLE_PROFILE};

const NEW_IMSI: &str = "001019876543210";

/// The keys of the example profile, as the OTA server holds them.
const SERVER_KEYS: &str = r#"
[[keyset]]
kvn = 1
kic = { algorithm = "3des2", key = "300102030405060708090a0b0c0d0e0f" }
kid = { algorithm = "3des2-mac", key = "301102030405060708090a0b0c0d0e0f" }
kik = { algorithm = "3des2", key = "302102030405060708090a0b0c0d0e0f" }

[[keyset]]
kvn = 2
kic = { algorithm = "aes", key = "000102030405060708090a0b0c0d0e0f" }
kid = { algorithm = "aes-cmac", key = "101112131415161718191a1b1c1d1e1f" }
kik = { algorithm = "aes", key = "202122232425262728292a2b2c2d2e2f" }
"#;

const RFM_COMPACT: Tar = Tar([0xB0, 0x00, 0x11]);
const RFM_EXPANDED: Tar = Tar([0xB0, 0x00, 0x12]);
const REFRESH: Tar = Tar([0xB2, 0x00, 0x00]);
/// SPI 16 19: CC, ciphered, counter higher; PoR always, CC, ciphered, in the DELIVER-REPORT.
const SPI_REPORT: [u8; 2] = [0x16, 0x19];
/// SPI 16 39: the same with the PoR by SMS-SUBMIT.
const SPI_SUBMIT: [u8; 2] = [0x16, 0x39];

fn h(s: &str) -> Vec<u8> {
    m2msim_codec::hexser::parse_hex(s).unwrap()
}

fn keys(text: &str) -> Arc<Keysets> {
    Arc::new(Keysets::from_toml(text, &RustCryptoProvider::new()).unwrap())
}

fn kvn(n: u8) -> Kvn {
    Kvn::new(n).unwrap()
}

fn server() -> Address {
    Address::international("4912345678").unwrap()
}

fn sel(f: &str) -> CommandApdu {
    CommandApdu::new(Cla::ISO, 0xA4, 0x00, 0x0C, h(f), None).unwrap()
}

fn upd(d: Vec<u8>) -> CommandApdu {
    CommandApdu::new(Cla::ISO, 0xD6, 0x00, 0x00, d, None).unwrap()
}

/// m2m.md §4.4: the new IMSI, then LOCI, PSLOCI and EPSLOCI invalidated.
fn imsi_change_apdus() -> Vec<CommandApdu> {
    vec![
        sel("6F07"),
        upd(EfImsi::from_digits(NEW_IMSI).unwrap().encode()),
        sel("6F7E"),
        upd(h("FFFFFFFF 00F110 FFFE FF 01")),
        sel("6F73"),
        upd(h("FFFFFFFF FFFFFF 00F110 FFFE FF 01")),
        sel("6FE3"),
        upd(h("FFFFFFFFFFFFFFFFFFFFFFFF 00F110 FFFE 01")),
    ]
}

fn fleet_of(profile: &str, count: usize) -> Fleet {
    let numbering = Numbering {
        iccid: "8988211000000000011".into(),
        msisdn: "491700000000".into(),
        imsi: Some("001010000000000".into()),
    };
    let terminal = TerminalConfig { pin1: Some("1234".into()), ..TerminalConfig::default() };
    Fleet::from_profile(
        &CardProfile::from_toml(profile).unwrap(),
        count,
        &numbering,
        &terminal,
        default_provider(),
    )
    .unwrap()
}

fn engine(counters: Arc<dyn CounterStore>, window: usize, retry: RetryPolicy) -> Engine {
    let mut config = EngineConfig::new(server());
    config.window = window;
    config.retry = retry;
    Engine::new(config, counters)
}

fn net() -> NetworkConfig {
    NetworkConfig { mt_delay_ms: 200, mo_delay_ms: 300, ..NetworkConfig::default() }
}

fn simulation(profile: &str, cards: usize) -> Simulation {
    let retry = RetryPolicy { max_retries: 2, timeout_ms: 10_000 };
    Simulation::new(engine(Arc::new(MemoryCounterStore::new()), 100, retry), fleet_of(profile, cards), net())
}

fn job(sim: &Simulation, card: usize, tar: Tar, spi: [u8; 2], k: u8, keys: &Arc<Keysets>, s: Script) -> Job {
    sim.fleet().get(card).unwrap().job(tar, Spi::from_bytes(spi), kvn(k), keys.clone(), s)
}

fn ef(uicc: &Uicc, fid: u16) -> Vec<u8> {
    let usim = uicc.fs().adf_by_label("USIM").unwrap();
    match uicc.fs().ef_at(usim, &[fid]) {
        Some(EfBody::Transparent(d)) => d.clone(),
        other => panic!("{other:?}"),
    }
}

fn assert_locations_invalidated(uicc: &Uicc) {
    let loci = EfLoci::decode_exact(&ef(uicc, 0x6F7E)).unwrap();
    assert_eq!((loci.tmsi, loci.lai.lac, loci.status), ([0xFF; 4], 0xFFFE, LocationUpdateStatus::NotUpdated));
    assert_eq!(ef(uicc, 0x6F73), h("FFFFFFFF FFFFFF 00F110 FFFE FF 01"));
    assert_eq!(ef(uicc, 0x6FE3), h("FFFFFFFFFFFFFFFFFFFFFFFF 00F110 FFFE 01"));
}

fn compact(r: &JobReport) -> CompactResponse {
    match r.response() {
        Some(RemoteResponse::Compact(c)) => c.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn imsi_change_then_refresh_then_aka_through_the_engine() {
    let k = keys(SERVER_KEYS);
    let mut sim = simulation(EXAMPLE_PROFILE, 2);
    for card in 0..2 {
        let j =
            job(&sim, card, RFM_COMPACT, SPI_REPORT, 1, &k, Script::compact(&imsi_change_apdus()).unwrap());
        sim.submit(j);
    }
    let reports = sim.run();
    assert_eq!(reports.len(), 2);
    for r in &reports {
        assert_eq!(r.outcome, JobOutcome::Success, "{r:?}");
        assert_eq!(r.por_status(), Some(PorStatus::Ok));
        assert!(r.por.as_ref().unwrap().trusted() && r.por.as_ref().unwrap().deciphered);
        assert_eq!(compact(r), CompactResponse::new(8, StatusWord::OK, vec![]));
        assert_eq!((r.retries(), r.attempts[0].segments), (0, 1));
        // MT 200 ms + MO 300 ms on the virtual clock.
        assert_eq!(r.duration_ms(), 500);
        assert_eq!(r.attempts[0].cntr.0, [0, 0, 0, 0, 1]);
    }
    for card in sim.fleet().iter() {
        assert_eq!(read_imsi(&card.uicc).as_deref(), Some(NEW_IMSI));
        assert_eq!(card.uicc.counter(kvn(1)).get(), 1);
        assert_locations_invalidated(&card.uicc);
        // The terminal still has the IMSI it read at power-on.
        assert_ne!(card.imsi(), Some(NEW_IMSI));
    }
    // REFRESH (UICC reset) through the applet: the PoR, then the terminal resets and reads the new IMSI.
    let refresh = Script::compact(&[CommandApdu::decode_exact(&h("80E2800003800104")).unwrap()]).unwrap();
    let j = job(&sim, 0, REFRESH, SPI_REPORT, 1, &k, refresh);
    sim.submit(j);
    let mut resets = Vec::new();
    let reports = sim.run_with(&mut |e| {
        if let SimEvent::Terminal { output: terminal::Output::Reset { imsi, .. }, card, .. } = e {
            resets.push((*card, imsi.clone()));
        }
    });
    assert_eq!(reports[0].outcome, JobOutcome::Success, "{:?}", reports[0]);
    assert_eq!(compact(&reports[0]), CompactResponse::new(1, StatusWord::OK, vec![]));
    assert_eq!(reports[0].attempts[0].cntr.0, [0, 0, 0, 0, 2]);
    assert_eq!(resets, vec![(0, Some(NEW_IMSI.to_owned()))]);
    let card = sim.fleet_mut().get_mut(0).unwrap();
    assert_eq!(card.imsi(), Some(NEW_IMSI));
    // AKA with the card's unchanged K / OPc.
    let milenage = Milenage::new(
        &<[u8; 16]>::try_from(h("465b5ce8b199b49faa5f0a2ee238a6bc")).unwrap(),
        &<[u8; 16]>::try_from(h("cd63cb71954a9f4e48a5994e37a02baf")).unwrap(),
    );
    let av = milenage.generate_av(&[7; 16], Sqn::new(0x40).unwrap(), [0x80, 0]);
    let out = card.terminal_input(terminal::Input::Authenticate { rand: [7; 16], autn: av.autn });
    assert!(
        matches!(out.first(), Some(terminal::Output::Authenticated(keys)) if keys.res == av.xres),
        "{out:?}"
    );
}

#[test]
fn imsi_change_expanded_under_aes_with_por_by_submit() {
    let k = keys(SERVER_KEYS);
    let mut sim = simulation(EXAMPLE_PROFILE, 1);
    let j = job(&sim, 0, RFM_EXPANDED, SPI_SUBMIT, 2, &k, Script::expanded(&imsi_change_apdus()));
    sim.submit(j);
    let mut submits = 0;
    let reports = sim.run_with(&mut |e| submits += usize::from(matches!(e, SimEvent::SmsSubmit { .. })));
    assert_eq!(submits, 1);
    let r = &reports[0];
    assert_eq!(r.outcome, JobOutcome::Success, "{r:?}");
    let Some(RemoteResponse::Expanded(e)) = r.response() else { panic!("{r:?}") };
    assert_eq!(e.executed(), Some(8));
    assert!(e.responses().all(|x| x.sw == StatusWord::OK));
    let card = sim.fleet().get(0).unwrap();
    assert_eq!(read_imsi(&card.uicc).as_deref(), Some(NEW_IMSI));
    assert_eq!(card.uicc.counter(kvn(2)).get(), 1);
    assert_locations_invalidated(&card.uicc);
}

#[test]
fn refusals_are_reported_as_card_statuses() {
    let k = keys(SERVER_KEYS);
    let read = || Script::compact(&[sel("6F07")]).unwrap();
    let wrong_kic = keys(&SERVER_KEYS.replacen(
        "300102030405060708090a0b0c0d0e0f",
        "ffffffffffffffffffffffffffffffff",
        1,
    ));
    let unknown_kvn = keys(&SERVER_KEYS.replacen("kvn = 1", "kvn = 9", 1));
    let mut sim = simulation(EXAMPLE_PROFILE, 4);
    let jobs = [
        job(&sim, 0, Tar([0xB0, 0xFF, 0xFF]), SPI_REPORT, 1, &k, read()),
        // Below the MSL 16 of B00011: CC only, no ciphering, no counter.
        job(&sim, 1, RFM_COMPACT, [0x02, 0x19], 1, &k, read()),
        // A wrong KIc with the PoR not ciphered (SPI2 09): the card's answer is readable.
        job(&sim, 2, RFM_COMPACT, [0x16, 0x09], 1, &wrong_kic, read()),
        job(&sim, 3, RFM_COMPACT, SPI_REPORT, 9, &unknown_kvn, read()),
    ];
    for j in jobs {
        sim.submit(j);
    }
    let mut reports = sim.run();
    reports.sort_by_key(|r| r.job);
    let statuses: Vec<PorStatus> = reports
        .iter()
        .map(|r| match r.outcome {
            JobOutcome::CardStatus { por_status, .. } => por_status,
            ref other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(statuses[0], PorStatus::TarUnknown);
    assert_eq!(statuses[1], PorStatus::InsufficientSecurityLevel);
    assert!(
        matches!(
            statuses[2],
            PorStatus::RcCcDsFailed | PorStatus::CipheringError | PorStatus::UnidentifiedSecurityError
        ),
        "{statuses:?}"
    );
    assert_eq!(statuses[3], PorStatus::UnidentifiedSecurityError);
    // A refusal is one answer: no retries.
    assert!(reports.iter().all(|r| r.retries() == 0));
    // With a ciphered PoR the server holding the wrong KIc cannot read the card's answer: it deciphers
    // to garbage and fails its CC.
    let j = job(&sim, 2, RFM_COMPACT, SPI_REPORT, 1, &wrong_kic, read());
    sim.submit(j);
    let r = &sim.run()[0];
    assert_eq!(r.outcome, JobOutcome::SecurityFailure { problem: SecurityProblem::ChecksumFailed }, "{r:?}");

    // A replay: a second server whose counter store forgot what was sent sends counter 1 again.
    let mut sim = simulation(EXAMPLE_PROFILE, 1);
    let j = job(&sim, 0, RFM_COMPACT, SPI_REPORT, 1, &k, Script::compact(&imsi_change_apdus()).unwrap());
    sim.submit(j.clone());
    assert_eq!(sim.run()[0].outcome, JobOutcome::Success);
    let (_, mut fleet) = sim.into_parts();
    let card = fleet.get_mut(0).unwrap();
    let imsi_ef = card.uicc.fs().walk(card.uicc.fs().adf_by_label("USIM").unwrap(), &[0x6F07], None).unwrap();
    *card.uicc.fs_mut().body_mut(imsi_ef).unwrap() =
        EfBody::Transparent(EfImsi::from_digits("001010000000000").unwrap().encode());
    let retry = RetryPolicy { max_retries: 2, timeout_ms: 10_000 };
    let mut sim = Simulation::new(engine(Arc::new(MemoryCounterStore::new()), 10, retry), fleet, net());
    sim.submit(j);
    let r = &sim.run()[0];
    assert!(
        matches!(
            r.outcome,
            JobOutcome::CardStatus {
                por_status: PorStatus::CntrLow | PorStatus::UnidentifiedSecurityError,
                ..
            }
        ),
        "{r:?}"
    );
    assert_eq!(r.attempts[0].cntr.0, [0, 0, 0, 0, 1]);
    assert_eq!(read_imsi(&sim.fleet().get(0).unwrap().uicc).as_deref(), Some("001010000000000"));
}

#[test]
fn a_script_error_stops_and_reports_the_failing_sw() {
    let k = keys(SERVER_KEYS);
    let mut sim = simulation(EXAMPLE_PROFILE, 1);
    let before = ef(&sim.fleet().get(0).unwrap().uicc, 0x6F07);
    // The second SELECT names a file that does not exist: the script stops there.
    let apdus =
        vec![sel("6F7E"), sel("6F99"), sel("6F07"), upd(EfImsi::from_digits(NEW_IMSI).unwrap().encode())];
    let j = job(&sim, 0, RFM_COMPACT, SPI_REPORT, 1, &k, Script::compact(&apdus).unwrap());
    sim.submit(j);
    let r = &sim.run()[0];
    assert_eq!(r.por_status(), Some(PorStatus::Ok));
    assert_eq!(
        r.outcome,
        JobOutcome::ScriptError { executed: Some(2), sw: Some(StatusWord(0x6A82)) },
        "{r:?}"
    );
    assert_eq!(r.last_sw(), Some(StatusWord(0x6A82)));
    assert_eq!(ef(&sim.fleet().get(0).unwrap().uicc, 0x6F07), before);
    // The same in the expanded format.
    let j = job(&sim, 0, RFM_EXPANDED, SPI_REPORT, 1, &k, Script::expanded(&apdus));
    sim.submit(j);
    let r = &sim.run()[0];
    assert!(
        matches!(r.outcome, JobOutcome::ScriptError { executed: Some(2), sw: Some(StatusWord(0x6A82)) }),
        "{r:?}"
    );
}

#[test]
fn silent_cards_are_retried_with_fresh_counters_then_time_out() {
    let k = keys(SERVER_KEYS);
    let counters = Arc::new(MemoryCounterStore::new());
    let retry = RetryPolicy { max_retries: 2, timeout_ms: 5_000 };
    let mut faults = Faults::default();
    let fleet = fleet_of(EXAMPLE_PROFILE, 3);
    let silent = fleet.get(0).unwrap().msisdn;
    let lossy = fleet.get(1).unwrap().msisdn;
    faults.silent.insert(silent);
    // The first SMS-DELIVER to card 1 is lost: the retry (counter 2, higher than the card's 0) succeeds.
    faults.drop_first.insert(lossy, 1);
    let net = NetworkConfig { faults, ..net() };
    let mut sim = Simulation::new(engine(counters.clone(), 10, retry), fleet, net);
    for card in 0..3 {
        let j =
            job(&sim, card, RFM_COMPACT, SPI_REPORT, 1, &k, Script::compact(&imsi_change_apdus()).unwrap());
        sim.submit(j);
    }
    let mut retrying = Vec::new();
    let mut reports = sim.run_with(&mut |e| {
        if let SimEvent::Retrying { job, attempt, at, .. } = e {
            retrying.push((job.0, *attempt, *at));
        }
    });
    reports.sort_by_key(|r| r.job);
    assert_eq!(reports[0].outcome, JobOutcome::Timeout);
    let cntrs: Vec<[u8; 5]> = reports[0].attempts.iter().map(|a| a.cntr.0).collect();
    assert_eq!(cntrs, vec![[0, 0, 0, 0, 1], [0, 0, 0, 0, 2], [0, 0, 0, 0, 3]]);
    assert_eq!(reports[0].finished_at, 15_000);
    assert_eq!(reports[1].outcome, JobOutcome::Success, "{:?}", reports[1]);
    assert_eq!(reports[1].attempts.len(), 2);
    assert_eq!(reports[1].por.as_ref().unwrap().cntr.0, [0, 0, 0, 0, 2]);
    assert_eq!((reports[2].outcome.clone(), reports[2].retries()), (JobOutcome::Success, 0));
    assert_eq!(retrying, vec![(0, 1, 5_000), (1, 1, 5_000), (0, 2, 10_000)]);
    // Every counter sent was reserved in the store first.
    let id = sim.fleet().get(0).unwrap().card_id.clone();
    assert_eq!(counters.current(&id, kvn(1)).unwrap().get(), 3);
    let summary = Summary::of(&reports);
    assert_eq!((summary.success, summary.timeout, summary.retries), (2, 1, 3));
}

/// Runs one job by hand: each SMS-DELIVER to the card's terminal, each DELIVER-REPORT through `tamper`
/// back to the engine; returns the job's report.
fn by_hand(e: &mut Engine, card: &mut SimCard, mut tamper: impl FnMut(&mut Vec<u8>)) -> JobReport {
    let mut now = 0;
    loop {
        let mut reports = Vec::new();
        let mut back = Vec::new();
        while let Some(o) = e.poll_output() {
            match o {
                Output::SmsDeliver { tpdu, .. } => {
                    card.terminal
                        .handle_input(&mut card.uicc, terminal::Input::SmsDeliver { tpdu, sc_address: None });
                    while let Some(t) = card.terminal.poll_output() {
                        if let terminal::Output::DeliverReport { mut tpdu, rp } = t {
                            tamper(&mut tpdu);
                            back.push(Input::DeliverReport { from: card.msisdn, tpdu, rp });
                        }
                    }
                }
                Output::JobFinished(r) => reports.push(*r),
                _ => {}
            }
        }
        if let Some(r) = reports.pop() {
            return r;
        }
        if back.is_empty() {
            now += 1000;
            e.handle_input(Input::Tick(now));
        }
        for i in back {
            e.handle_input(i);
        }
        assert!(now < 1_000_000, "no end");
    }
}

#[test]
fn a_por_with_a_wrong_cc_is_a_security_failure() {
    let k = keys(SERVER_KEYS);
    let mut fleet = fleet_of(EXAMPLE_PROFILE, 1);
    let card = fleet.get_mut(0).unwrap();
    let mut e = engine(Arc::new(MemoryCounterStore::new()), 10, RetryPolicy::default());
    // SPI2 09: PoR always with a CC, not ciphered, in the DELIVER-REPORT: the CC is the last 8 octets.
    let s = Script::compact(&imsi_change_apdus()).unwrap();
    e.submit(card.job(RFM_COMPACT, Spi::from_bytes([0x16, 0x09]), kvn(1), k.clone(), s.clone()));
    // The PoR ends with its CC (8 octets) and the compact response `08 90 00`: flip the CC's last octet.
    let r = by_hand(&mut e, card, |tpdu| {
        let n = tpdu.len();
        tpdu[n - 4] ^= 0x01;
    });
    assert_eq!(r.outcome, JobOutcome::SecurityFailure { problem: SecurityProblem::ChecksumFailed }, "{r:?}");
    assert_eq!(r.por.as_ref().map(|p| p.status), Some(PorStatus::Ok));
    // The untouched PoR of the next job verifies.
    e.submit(card.job(RFM_COMPACT, Spi::from_bytes([0x16, 0x09]), kvn(1), k, s));
    assert_eq!(by_hand(&mut e, card, |_| {}).outcome, JobOutcome::Success);
}

#[test]
fn a_trusted_por_with_another_counter_is_flagged() {
    let k = keys(SERVER_KEYS);
    let mut fleet = fleet_of(EXAMPLE_PROFILE, 1);
    let card = fleet.get_mut(0).unwrap();
    let mut e = engine(Arc::new(MemoryCounterStore::new()), 10, RetryPolicy::default());
    let script = Script::compact(&[sel("6F07")]).unwrap();
    e.submit(card.job(RFM_COMPACT, Spi::from_bytes(SPI_REPORT), kvn(1), k.clone(), script.clone()));
    let sent: Vec<Output> = std::iter::from_fn(|| e.poll_output()).collect();
    assert!(matches!(&sent[..], [Output::SmsDeliver { .. }]), "{sent:?}");
    // The engine's packet (counter 1) is lost; another sender with the same keys sends counter 42, and its
    // PoR reaches the engine.
    let rogue_counters = MemoryCounterStore::new();
    let id = CardId::new("rogue").unwrap();
    rogue_counters.set(&id, kvn(1), Counter::new(41).unwrap()).unwrap();
    let header =
        CommandHeader { spi: Spi::from_bytes(SPI_REPORT), kic: Kic(0x15), kid: Kid(0x15), tar: RFM_COMPACT };
    let rogue = CommandSender::new(k.as_ref(), &rogue_counters, id)
        .send(Transport::SmsPp, header, script.data())
        .unwrap();
    for d in rogue.deliver_tpdus(ConcatRef::Eight(1), server(), Scts([0; 7])).unwrap() {
        let input = terminal::Input::SmsDeliver { tpdu: d.encode(), sc_address: None };
        card.terminal.handle_input(&mut card.uicc, input);
    }
    let reports: Vec<terminal::Output> = std::iter::from_fn(|| card.terminal.poll_output()).collect();
    let Some(terminal::Output::DeliverReport { tpdu, rp }) = reports.last() else { panic!("{reports:?}") };
    e.handle_input(Input::DeliverReport { from: card.msisdn, tpdu: tpdu.clone(), rp: *rp });
    let out: Vec<Output> = std::iter::from_fn(|| e.poll_output()).collect();
    let Some(Output::JobFinished(r)) = out.first() else { panic!("{out:?}") };
    let received = m2msim_codec::ota::Cntr([0, 0, 0, 0, 42]);
    assert_eq!(
        r.outcome,
        JobOutcome::SecurityFailure { problem: SecurityProblem::UnexpectedCounter { received } }
    );
    assert!(r.por.as_ref().unwrap().trusted());
}

#[test]
fn concatenated_command_and_concatenated_por_by_sms_submit() {
    // A 240-octet EF: UPDATE BINARY of all of it, then READ BINARY of all of it (the PoR's response data).
    let profile = format!(
        "{EXAMPLE_PROFILE}\n[[file]]\npath = \"ADF.USIM/6F99\"\ntype = \"transparent\"\nread = \"always\"\n\
         update = \"always\"\nsize = 240\n"
    );
    let k = keys(SERVER_KEYS);
    let mut sim = simulation(&profile, 1);
    let content: Vec<u8> = (0..240u32).map(|i| (i * 7) as u8).collect();
    let apdus = vec![sel("6F99"), upd(content.clone()), CommandApdu::decode_exact(&h("00B00000F0")).unwrap()];
    let j = job(&sim, 0, RFM_COMPACT, SPI_SUBMIT, 2, &k, Script::compact(&apdus).unwrap());
    sim.submit(j);
    let (mut delivers, mut submits) = (0, 0);
    let reports = sim.run_with(&mut |e| match e {
        SimEvent::SmsDeliver { .. } => delivers += 1,
        SimEvent::SmsSubmit { .. } => submits += 1,
        _ => {}
    });
    let r = &reports[0];
    assert_eq!(r.outcome, JobOutcome::Success, "{r:?}");
    assert!(delivers >= 2 && submits >= 2, "{delivers} {submits}");
    assert_eq!(usize::from(r.attempts[0].segments), delivers);
    assert_eq!(compact(r), CompactResponse::new(3, StatusWord::OK, content.clone()));
    assert_eq!(ef(&sim.fleet().get(0).unwrap().uicc, 0x6F99), content);
}

#[test]
fn a_thousand_cards_in_flight_with_losses_and_a_file_counter_store() {
    let k = keys(SERVER_KEYS);
    let dir = tempfile::tempdir().unwrap();
    let counters =
        Arc::new(FileCounterStore::with_block(dir.path(), std::num::NonZeroU64::new(16).unwrap()).unwrap());
    let retry = RetryPolicy { max_retries: 6, timeout_ms: 5_000 };
    let faults = Faults { drop_mt_per_mille: 30, drop_mo_per_mille: 30, ..Faults::default() };
    let net = NetworkConfig { mt_delay_ms: 200, mo_delay_ms: 300, jitter_ms: 500, faults, seed: 7 };
    let n = 1000;
    let mut sim = Simulation::new(engine(counters.clone(), n, retry), fleet_of(EXAMPLE_PROFILE, n), net);
    let script = Script::compact(&imsi_change_apdus()).unwrap();
    for card in 0..n {
        let j = job(&sim, card, RFM_COMPACT, SPI_REPORT, 1, &k, script.clone());
        sim.submit(j);
    }
    let mut peak = 0;
    let reports = sim.run_with(&mut |_| {});
    // All 1,000 were in flight at once: every first attempt went out at time 0.
    for r in &reports {
        peak += u64::from(r.attempts[0].sent_at == 0);
    }
    assert_eq!(peak, n as u64);
    let summary = Summary::of(&reports);
    assert_eq!((summary.total, summary.success), (n as u64, n as u64), "{summary:?}");
    assert!(summary.retries > 0, "the losses caused retries");
    assert!(sim.fleet().iter().all(|c| read_imsi(&c.uicc).as_deref() == Some(NEW_IMSI)));
    // Each card's counters are distinct per attempt and persisted (the store continues above them).
    let again = FileCounterStore::with_block(dir.path(), std::num::NonZeroU64::new(16).unwrap()).unwrap();
    for r in &reports {
        let last = r.attempts.last().unwrap().cntr;
        assert_eq!(last.0[4] as usize, r.attempts.len());
        assert!(again.current(&r.card, kvn(1)).unwrap().get() >= r.attempts.len() as u64);
    }
}

#[test]
fn duplicated_commands_are_refused_as_replays_and_damaged_pors_fail_verification() {
    let k = keys(SERVER_KEYS);
    let mut faults = Faults::default();
    let fleet = fleet_of(EXAMPLE_PROFILE, 3);
    let twice = fleet.get(0).unwrap().msisdn;
    let damaged = fleet.get(1).unwrap().msisdn;
    faults.duplicate.insert(twice);
    faults.corrupt_mo.insert(damaged);
    let net = NetworkConfig { faults, ..net() };
    let retry = RetryPolicy { max_retries: 0, timeout_ms: 5_000 };
    let mut sim = Simulation::new(engine(Arc::new(MemoryCounterStore::new()), 10, retry), fleet, net);
    for card in 0..3 {
        let j =
            job(&sim, card, RFM_COMPACT, SPI_REPORT, 1, &k, Script::compact(&imsi_change_apdus()).unwrap());
        sim.submit(j);
    }
    let mut unmatched = Vec::new();
    let mut copies = Vec::new();
    let mut reports = sim.run_with(&mut |e| match e {
        SimEvent::Unmatched { unmatched: u, .. } => unmatched.push(u.reason.clone()),
        SimEvent::DeliverReport { from, tpdu, rp, .. } if **from == twice => {
            copies.push((tpdu.to_vec(), *rp))
        }
        _ => {}
    });
    reports.sort_by_key(|r| r.job);
    // The original succeeds; the copy reaches the card, which refuses it as a replay (PoR 02, secured with
    // the keyset), and its PoR is not taken for the job's.
    assert_eq!(reports[0].outcome, JobOutcome::Success, "{:?}", reports[0]);
    assert_eq!(copies.len(), 2);
    assert!(
        matches!(unmatched.as_slice(), [UnmatchedReason::NoJobInFlight | UnmatchedReason::LatePor { .. }]),
        "{unmatched:?}"
    );
    let header =
        CommandHeader { spi: Spi::from_bytes(SPI_REPORT), kic: Kic(0x15), kid: Kid(0x15), tar: RFM_COMPACT };
    let copy = por_user_data_from_deliver_report(&copies[1].0, copies[1].1).unwrap();
    let por = verify_por(k.as_ref(), &header, None, Transport::SmsPp, &copy, ResponseFormat::Auto).unwrap();
    assert_eq!(por.status, PorStatus::CntrLow, "{por:?}");
    // The damaged PoR does not verify.
    assert!(matches!(reports[1].outcome, JobOutcome::SecurityFailure { .. }), "{:?}", reports[1]);
    assert_eq!(reports[2].outcome, JobOutcome::Success);
}

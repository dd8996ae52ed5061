//! Unit tests of the campaign engine alone: PoRs built here with the sender's keys (the card side and the
//! simulated fleet are exercised in `tests/ota_engine.rs`).

use std::sync::{Arc, Mutex};

use m2msim_codec::apdu::{Cla, CommandApdu, StatusWord};
use m2msim_codec::ota::{Checksum, Cntr, CommandHeader, Kic, Kid, PorStatus, PorUdh, Spi, Tar, Transport};
use m2msim_codec::rfm::CompactResponse;
use m2msim_codec::sms::concat::{self, ConcatRef, PacketKind};
use m2msim_codec::sms::{
    Address, Dcs, Deliver, DeliverReport, Pid, RpKind, Submit, UserData, ValidityPeriod,
};
use m2msim_codec::{Decode, Encode, Reader};

use super::*;
use crate::counter::{CardId, Counter, CounterError, CounterStore, MemoryCounterStore};
use crate::crypto::{ChecksumKind, RustCryptoProvider};
use crate::keys::{Keysets, Kvn};
use crate::packet::{PacketKeys, RemoteResponse, secure_response_into};

const KEYS: &str = r#"
[[keyset]]
kvn = 1
kic = { algorithm = "3des2", key = "300102030405060708090a0b0c0d0e0f" }
kid = { algorithm = "3des2-mac", key = "301102030405060708090a0b0c0d0e0f" }

[[keyset]]
kvn = 2
kic = { algorithm = "aes", key = "000102030405060708090a0b0c0d0e0f" }
kid = { algorithm = "aes-cmac", key = "101112131415161718191a1b1c1d1e1f" }
"#;

const TAR: Tar = Tar([0xB0, 0x00, 0x11]);
/// CC, ciphered, counter higher; PoR always, CC, ciphered, in the DELIVER-REPORT.
const SPI: [u8; 2] = [0x16, 0x19];

fn keys() -> Arc<Keysets> {
    Arc::new(Keysets::from_toml(KEYS, &RustCryptoProvider::new()).unwrap())
}

fn msisdn(i: u32) -> Address {
    Address::international(&format!("4917000{i:05}")).unwrap()
}

fn server() -> Address {
    Address::international("4912345678").unwrap()
}

fn apdus() -> Vec<CommandApdu> {
    vec![
        CommandApdu::new(Cla::ISO, 0xA4, 0x00, 0x0C, vec![0x6F, 0x07], None).unwrap(),
        CommandApdu::new(Cla::ISO, 0xB0, 0x00, 0x00, vec![], Some(9)).unwrap(),
    ]
}

fn job(keys: &Arc<Keysets>, i: u32, spi: [u8; 2]) -> Job {
    Job::new(
        CardId::new(format!("card{i}")).unwrap(),
        msisdn(i),
        TAR,
        Spi::from_bytes(spi),
        Kvn::new(1).unwrap(),
        keys.clone(),
        Script::compact(&apdus()).unwrap(),
    )
}

fn engine_with(counters: Arc<dyn CounterStore>, window: usize) -> Engine {
    let mut config = EngineConfig::new(server());
    config.window = window;
    config.retry = RetryPolicy { max_retries: 2, timeout_ms: 1000 };
    Engine::new(config, counters)
}

fn engine() -> Engine {
    engine_with(Arc::new(MemoryCounterStore::new()), 100)
}

fn drain(e: &mut Engine) -> Vec<Output> {
    std::iter::from_fn(|| e.poll_output()).collect()
}

fn delivers(out: &[Output]) -> Vec<(SmsId, Address, Vec<u8>)> {
    out.iter()
        .filter_map(|o| match o {
            Output::SmsDeliver { sms, to, tpdu } => Some((*sms, *to, tpdu.clone())),
            _ => None,
        })
        .collect()
}

fn finished(out: &[Output]) -> Vec<JobReport> {
    out.iter()
        .filter_map(|o| match o {
            Output::JobFinished(r) => Some((**r).clone()),
            _ => None,
        })
        .collect()
}

fn header(keys: &Keysets, spi: [u8; 2]) -> CommandHeader {
    let ks = keys.get(Kvn::new(1).unwrap()).unwrap();
    CommandHeader { spi: Spi::from_bytes(spi), kic: Kic(ks.kic_byte()), kid: Kid(ks.kid_byte()), tar: TAR }
}

/// The PoR user data (`02 71 00 …`) a card would send, secured as SPI2 of `spi` asks.
fn por(keys: &Keysets, spi: [u8; 2], tar: Tar, cntr: u64, status: PorStatus, data: &[u8]) -> Vec<u8> {
    let h = header(keys, spi);
    let cipher = h.spi.por_ciphered().then(|| keys.cipher(h.kic).unwrap());
    let checksum = match h.spi.por_checksum() {
        Checksum::Cc => Some(keys.checksum(h.kid, ChecksumKind::CryptographicChecksum).unwrap()),
        Checksum::None => None,
        other => panic!("{other:?}"),
    };
    let mut out = Vec::new();
    let cntr = Cntr::from_u64(cntr).unwrap();
    secure_response_into(
        Transport::SmsPp,
        PorUdh::ResponsePacket,
        tar,
        cntr,
        status,
        data,
        cipher,
        checksum,
        &mut out,
    )
    .unwrap();
    out
}

/// An RP-ACK SMS-DELIVER-REPORT carrying `ud`.
fn ack_with(ud: &[u8]) -> Vec<u8> {
    let mut udl = vec![u8::try_from(ud.len()).unwrap()];
    udl.extend_from_slice(ud);
    let user_data = UserData::read(&mut Reader::new(&udl), true, Dcs::SIM_SPECIFIC_8BIT).unwrap();
    DeliverReport::ack(Pid::SIM_DATA_DOWNLOAD, Dcs::SIM_SPECIFIC_8BIT, user_data).encode()
}

fn plain_ack() -> Vec<u8> {
    vec![0x00, 0x00]
}

fn report_input(from: Address, tpdu: Vec<u8>) -> Input {
    Input::DeliverReport { from, tpdu, rp: RpKind::Ack }
}

const OK_DATA: [u8; 3] = [0x02, 0x90, 0x00];

#[test]
fn one_job_sms_deliver_and_success() {
    let k = keys();
    let mut e = engine();
    let id = e.submit(job(&k, 1, SPI));
    assert_eq!(id, JobId(0));
    let out = drain(&mut e);
    let sent = delivers(&out);
    assert_eq!(sent.len(), 1);
    let (sms, to, tpdu) = &sent[0];
    assert_eq!((*sms, *to), (SmsId { job: id, attempt: 0, segment: 0 }, msisdn(1)));
    // An SMS-DELIVER from the server, PID 7F, DCS F6, UDH 02 70 00 and the packet.
    let d = Deliver::decode_exact(tpdu).unwrap();
    assert_eq!((d.originator, d.pid, d.dcs), (server(), Pid::SIM_DATA_DOWNLOAD, Dcs::SIM_SPECIFIC_8BIT));
    assert!(d.udhi());
    assert_eq!(&d.user_data.ud_octets()[..3], &[0x02, 0x70, 0x00]);
    assert_eq!(e.stats(), EngineStats { submitted: 1, finished: 0, queued: 0, in_flight: 1 });

    e.handle_input(report_input(msisdn(1), ack_with(&por(&k, SPI, TAR, 1, PorStatus::Ok, &OK_DATA))));
    let done = finished(&drain(&mut e));
    assert_eq!(done.len(), 1);
    let r = &done[0];
    assert_eq!(r.outcome, JobOutcome::Success, "{r:?}");
    assert_eq!(r.por_status(), Some(PorStatus::Ok));
    assert_eq!(r.response(), Some(&RemoteResponse::Compact(CompactResponse::new(2, StatusWord::OK, vec![]))));
    assert_eq!(r.attempts.len(), 1);
    assert_eq!(r.attempts[0].cntr, Cntr::from_u64(1).unwrap());
    assert!(e.is_idle());
    // The JSON form reads back as the same report.
    let json = serde_json::to_string(r).unwrap();
    assert_eq!(&serde_json::from_str::<JobReport>(&json).unwrap(), r);
    assert!(json.contains(r#""status":"success""#), "{json}");
}

#[test]
fn script_error_and_card_status() {
    let k = keys();
    let mut e = engine();
    e.submit(job(&k, 1, SPI));
    e.submit(job(&k, 2, SPI));
    e.submit(job(&k, 3, SPI));
    drain(&mut e);
    // Stopped at the first command with 6A82.
    e.handle_input(report_input(msisdn(1), ack_with(&por(&k, SPI, TAR, 1, PorStatus::Ok, &[1, 0x6A, 0x82]))));
    // All commands ran but the last one ended in a warning: not an error.
    e.handle_input(report_input(msisdn(2), ack_with(&por(&k, SPI, TAR, 1, PorStatus::Ok, &[2, 0x62, 0x82]))));
    // The card refused: status 02, protected.
    e.handle_input(report_input(msisdn(3), ack_with(&por(&k, SPI, TAR, 1, PorStatus::CntrLow, &[]))));
    let done = finished(&drain(&mut e));
    let outcomes: Vec<_> = done.iter().map(|r| r.outcome.clone()).collect();
    assert_eq!(
        outcomes,
        vec![
            JobOutcome::ScriptError { executed: Some(1), sw: Some(StatusWord(0x6A82)) },
            JobOutcome::Success,
            JobOutcome::CardStatus {
                por_status: PorStatus::CntrLow,
                unprotected: false,
                unexpected_counter: None
            },
        ]
    );
}

#[test]
fn unprotected_error_por_is_the_cards_answer() {
    let k = keys();
    let mut e = engine();
    e.submit(job(&k, 1, SPI));
    drain(&mut e);
    // What a sysmoISIM answers to a replay: no RC/CC, counter zero, status 06.
    let mut ud = vec![0x02, 0x71, 0x00, 0x00, 0x0B, 0x0A];
    ud.extend_from_slice(&TAR.0);
    ud.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0x06]);
    e.handle_input(report_input(msisdn(1), ack_with(&ud)));
    let done = finished(&drain(&mut e));
    assert_eq!(
        done[0].outcome,
        JobOutcome::CardStatus {
            por_status: PorStatus::UnidentifiedSecurityError,
            unprotected: true,
            unexpected_counter: Some(Cntr::default())
        }
    );
    // A protected refusal with a counter the job never sent (a card that deciphered garbage) is the
    // card's answer too, flagged.
    e.submit(job(&k, 2, SPI));
    drain(&mut e);
    e.handle_input(report_input(msisdn(2), ack_with(&por(&k, SPI, TAR, 99, PorStatus::RcCcDsFailed, &[]))));
    let done = finished(&drain(&mut e));
    assert_eq!(
        done[0].outcome,
        JobOutcome::CardStatus {
            por_status: PorStatus::RcCcDsFailed,
            unprotected: false,
            unexpected_counter: Some(Cntr::from_u64(99).unwrap())
        }
    );
    let json = serde_json::to_string(&done[0]).unwrap();
    assert!(json.contains(r#""unexpected_counter":"0000000063""#), "{json}");
    assert_eq!(serde_json::from_str::<JobReport>(&json).unwrap(), done[0]);
}

#[test]
fn security_failures() {
    let k = keys();
    let mut e = engine();
    for i in 1..=4 {
        e.submit(job(&k, i, SPI));
    }
    drain(&mut e);
    // A wrong CC: every bit of the last byte flipped (the last cipher block deciphers to garbage).
    let mut bad = por(&k, SPI, TAR, 1, PorStatus::Ok, &OK_DATA);
    *bad.last_mut().unwrap() ^= 0xFF;
    e.handle_input(report_input(msisdn(1), ack_with(&bad)));
    // A verified PoR with a counter that job never sent.
    e.handle_input(report_input(msisdn(2), ack_with(&por(&k, SPI, TAR, 7, PorStatus::Ok, &OK_DATA))));
    // Not a PoR at all.
    e.handle_input(report_input(msisdn(3), ack_with(&[0x02, 0x71, 0x00, 0x00, 0x03])));
    // A PoR OK without the CC SPI2 asks for.
    let plain = por(&k, [0x16, 0x01], TAR, 1, PorStatus::Ok, &OK_DATA);
    e.handle_input(report_input(msisdn(4), ack_with(&plain)));
    let done = finished(&drain(&mut e));
    let problems: Vec<_> = done
        .iter()
        .map(|r| match &r.outcome {
            JobOutcome::SecurityFailure { problem } => problem.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        problems,
        vec![
            SecurityProblem::ChecksumFailed,
            SecurityProblem::UnexpectedCounter { received: Cntr::from_u64(7).unwrap() },
            // RPL (`00 03`, at offset 3) promises 3 octets, none follow: the error points at the length.
            SecurityProblem::Malformed { offset: 3 },
            SecurityProblem::ChecksumMissing,
        ]
    );
    // The PoR is in the report when it decoded.
    assert!(done[0].por.is_some() && done[1].por.is_some() && done[2].por.is_none());
    let json = serde_json::to_string(&done[1]).unwrap();
    assert!(json.contains(r#""problem":{"unexpected_counter":{"received":"0000000007"}}"#), "{json}");
    assert_eq!(serde_json::from_str::<JobReport>(&json).unwrap(), done[1]);
}

#[test]
fn unmatched_inputs_leave_the_job_alone() {
    let k = keys();
    let mut e = engine();
    e.submit(job(&k, 1, SPI));
    drain(&mut e);
    // From a card with no job.
    e.handle_input(report_input(msisdn(9), ack_with(&por(&k, SPI, TAR, 1, PorStatus::Ok, &OK_DATA))));
    // Another TAR.
    let other = Tar([0xB0, 0x00, 0x10]);
    e.handle_input(report_input(msisdn(1), ack_with(&por(&k, SPI, other, 1, PorStatus::Ok, &OK_DATA))));
    // A TPDU that does not decode.
    e.handle_input(report_input(msisdn(1), vec![0x00]));
    // A transport error for a message that does not exist.
    e.handle_input(Input::TransportError { sms: SmsId { job: JobId(5), attempt: 0, segment: 0 } });
    let out = drain(&mut e);
    let reasons: Vec<_> = out
        .iter()
        .map(|o| match o {
            Output::Unmatched(u) => u.reason.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(matches!(reasons[0], UnmatchedReason::NoJobInFlight));
    assert_eq!(reasons[1], UnmatchedReason::TarMismatch { expected: TAR, received: other });
    assert!(matches!(reasons[2], UnmatchedReason::Undecodable(_)));
    assert!(matches!(reasons[3], UnmatchedReason::StaleSms(_)));
    // The job still takes its real PoR.
    e.handle_input(report_input(msisdn(1), ack_with(&por(&k, SPI, TAR, 1, PorStatus::Ok, &OK_DATA))));
    assert_eq!(finished(&drain(&mut e))[0].outcome, JobOutcome::Success);
}

#[test]
fn timeouts_retry_with_fresh_counters_then_give_up() {
    let k = keys();
    let counters = Arc::new(MemoryCounterStore::new());
    let mut e = engine_with(counters.clone(), 10);
    e.submit(job(&k, 1, SPI));
    assert_eq!(delivers(&drain(&mut e)).len(), 1);
    assert_eq!(e.poll_timeout(), Some(1000));
    e.handle_input(Input::Tick(999));
    assert!(drain(&mut e).is_empty());
    for (attempts, t) in [(1, 1000), (2, 2000)] {
        e.handle_input(Input::Tick(t));
        let out = drain(&mut e);
        assert!(
            matches!(out[0], Output::Retrying { attempt, reason: RetryReason::Timeout, .. } if attempt == attempts)
        );
        let sent = delivers(&out);
        assert_eq!(sent[0].0.attempt, attempts);
    }
    e.handle_input(Input::Tick(3000));
    let done = finished(&drain(&mut e));
    assert_eq!(done[0].outcome, JobOutcome::Timeout);
    let cntrs: Vec<u64> = done[0].attempts.iter().map(|a| a.cntr.to_u64()).collect();
    assert_eq!(cntrs, vec![1, 2, 3], "a fresh counter per attempt");
    assert_eq!(done[0].retries(), 2);
    assert_eq!(done[0].duration_ms(), 3000);
    assert_eq!(counters.current(&CardId::new("card1").unwrap(), Kvn::new(1).unwrap()).unwrap().get(), 3);
    assert!(e.is_idle());
}

#[test]
fn a_late_por_of_an_earlier_attempt_answers_the_job() {
    let k = keys();
    let mut e = engine();
    e.submit(job(&k, 1, SPI));
    drain(&mut e);
    e.handle_input(Input::Tick(1000));
    drain(&mut e);
    // Attempt 2 (counter 2) is out; the PoR of attempt 1 arrives.
    e.handle_input(report_input(msisdn(1), ack_with(&por(&k, SPI, TAR, 1, PorStatus::Ok, &OK_DATA))));
    let done = finished(&drain(&mut e));
    assert_eq!(done[0].outcome, JobOutcome::Success);
    assert_eq!(done[0].attempts.len(), 2);
    // Then the PoR of attempt 2, while the card's next job is in flight: a late PoR of the first job.
    e.submit(job(&k, 1, SPI));
    drain(&mut e);
    e.handle_input(report_input(msisdn(1), ack_with(&por(&k, SPI, TAR, 2, PorStatus::Ok, &OK_DATA))));
    let out = drain(&mut e);
    assert!(
        matches!(
            &out[..],
            [Output::Unmatched(Unmatched {
                reason: UnmatchedReason::LatePor { job: JobId(0) },
                job: Some(JobId(1)),
                ..
            })]
        ),
        "{out:?}"
    );
    e.handle_input(report_input(msisdn(1), ack_with(&por(&k, SPI, TAR, 3, PorStatus::Ok, &OK_DATA))));
    assert_eq!(finished(&drain(&mut e))[0].outcome, JobOutcome::Success);
}

#[test]
fn transport_errors_and_rp_errors_retry_then_undeliverable() {
    let k = keys();
    let mut e = engine();
    e.submit(job(&k, 1, SPI));
    let sms = delivers(&drain(&mut e))[0].0;
    e.handle_input(Input::TransportError { sms });
    let out = drain(&mut e);
    assert!(matches!(out[0], Output::Retrying { reason: RetryReason::TransportError, attempt: 1, .. }));
    // The old message failing again changes nothing.
    e.handle_input(Input::TransportError { sms });
    assert!(matches!(drain(&mut e)[..], [Output::Unmatched(_)]));
    // RP-ERROR "toolkit busy".
    let busy = DeliverReport::error(0xD3, None, None, None).encode();
    e.handle_input(Input::DeliverReport { from: msisdn(1), tpdu: busy.clone(), rp: RpKind::Error });
    let out = drain(&mut e);
    assert!(matches!(out[0], Output::Retrying { reason: RetryReason::RpError { cause: Some(0xD3) }, .. }));
    e.handle_input(Input::DeliverReport { from: msisdn(1), tpdu: busy, rp: RpKind::Error });
    let done = finished(&drain(&mut e));
    assert_eq!(done[0].outcome, JobOutcome::Undeliverable { cause: Some(0xD3) });
    assert_eq!(done[0].attempts.len(), 3);
}

#[test]
fn window_and_per_card_serialisation() {
    let k = keys();
    let mut e = engine_with(Arc::new(MemoryCounterStore::new()), 3);
    // Two jobs for card 1, then cards 2..=5.
    let ids: Vec<JobId> = [1, 1, 2, 3, 4, 5].iter().map(|&i| e.submit(job(&k, i, SPI))).collect();
    let first = delivers(&drain(&mut e));
    // Three in flight: job 0 (card 1), job 2 (card 2), job 3 (card 3); job 1 waits for card 1.
    let jobs: Vec<JobId> = first.iter().map(|(s, _, _)| s.job).collect();
    assert_eq!(jobs, vec![ids[0], ids[2], ids[3]]);
    assert_eq!(e.stats(), EngineStats { submitted: 6, finished: 0, queued: 3, in_flight: 3 });
    // Card 1 answers: its second job is next, but behind card 4 in the window's queue.
    e.handle_input(report_input(msisdn(1), ack_with(&por(&k, SPI, TAR, 1, PorStatus::Ok, &OK_DATA))));
    let out = drain(&mut e);
    assert_eq!(finished(&out).len(), 1);
    assert_eq!(delivers(&out).iter().map(|(s, _, _)| s.job).collect::<Vec<_>>(), vec![ids[4]]);
    e.handle_input(report_input(msisdn(2), ack_with(&por(&k, SPI, TAR, 1, PorStatus::Ok, &OK_DATA))));
    let out = drain(&mut e);
    assert_eq!(delivers(&out).iter().map(|(s, _, _)| s.job).collect::<Vec<_>>(), vec![ids[5]]);
    e.handle_input(report_input(msisdn(3), ack_with(&por(&k, SPI, TAR, 1, PorStatus::Ok, &OK_DATA))));
    let out = drain(&mut e);
    // Card 1's second job, with the card's next counter.
    assert_eq!(delivers(&out).iter().map(|(s, _, _)| s.job).collect::<Vec<_>>(), vec![ids[1]]);
    e.handle_input(report_input(msisdn(1), ack_with(&por(&k, SPI, TAR, 2, PorStatus::Ok, &OK_DATA))));
    assert_eq!(finished(&drain(&mut e))[0].job, ids[1]);
}

/// A store that records the batches it is asked for.
#[derive(Default)]
struct CountingStore {
    inner: MemoryCounterStore,
    batches: Mutex<Vec<usize>>,
}

impl CounterStore for CountingStore {
    fn reserve(&self, card: &CardId, kvn: Kvn) -> Result<Counter, CounterError> {
        self.batches.lock().unwrap().push(1);
        self.inner.reserve(card, kvn)
    }
    fn reserve_many(&self, requests: &[(&CardId, Kvn)]) -> Vec<Result<Counter, CounterError>> {
        self.batches.lock().unwrap().push(requests.len());
        requests.iter().map(|(c, k)| self.inner.reserve(c, *k)).collect()
    }
    fn current(&self, card: &CardId, kvn: Kvn) -> Result<Counter, CounterError> {
        self.inner.current(card, kvn)
    }
    fn set(&self, card: &CardId, kvn: Kvn, value: Counter) -> Result<(), CounterError> {
        self.inner.set(card, kvn, value)
    }
}

#[test]
fn counters_of_jobs_starting_together_are_reserved_in_one_batch() {
    let k = keys();
    let store = Arc::new(CountingStore::default());
    let mut e = engine_with(store.clone(), 50);
    for i in 0..80 {
        e.submit(job(&k, i, SPI));
    }
    assert_eq!(delivers(&drain(&mut e)).len(), 50);
    assert_eq!(*store.batches.lock().unwrap(), vec![50]);
    // Ten answers, then one poll: the ten next jobs start in one batch.
    for i in 0..10 {
        e.handle_input(report_input(msisdn(i), ack_with(&por(&k, SPI, TAR, 1, PorStatus::Ok, &OK_DATA))));
    }
    assert_eq!(delivers(&drain(&mut e)).len(), 10);
    assert_eq!(*store.batches.lock().unwrap(), vec![50, 10]);
}

#[test]
fn send_failures_are_reported_without_sending() {
    let k = keys();
    let mut e = engine();
    // KVN 5 is not among the keys.
    let mut j = job(&k, 1, SPI);
    j.kvn = Kvn::new(5).unwrap();
    e.submit(j);
    // A digital signature.
    e.submit(job(&k, 2, [0x17, 0x19]));
    let out = drain(&mut e);
    assert!(delivers(&out).is_empty());
    let done = finished(&out);
    assert_eq!(done[0].outcome, JobOutcome::SendFailed { error: SendError::NoKeyset { kvn: 5 } });
    assert_eq!(done[1].outcome, JobOutcome::SendFailed { error: SendError::DigitalSignature });
    assert!(e.is_idle());
}

#[test]
fn no_por_and_por_on_error() {
    let k = keys();
    let mut e = engine();
    // SPI2 00: no PoR. SPI2 1A: PoR on error, by DELIVER-REPORT. SPI2 3A: on error, by SMS-SUBMIT.
    e.submit(job(&k, 1, [0x16, 0x00]));
    e.submit(job(&k, 2, [0x16, 0x1A]));
    e.submit(job(&k, 3, [0x16, 0x3A]));
    drain(&mut e);
    for i in 1..=3 {
        e.handle_input(report_input(msisdn(i), plain_ack()));
    }
    let done = finished(&drain(&mut e));
    assert_eq!(done.iter().map(|r| r.job).collect::<Vec<_>>(), vec![JobId(0), JobId(1)]);
    assert!(done.iter().all(|r| r.outcome == JobOutcome::Delivered));
    // The SMS-SUBMIT case waits for the PoR timeout.
    e.handle_input(Input::Tick(1000));
    let done = finished(&drain(&mut e));
    assert_eq!((done[0].job, &done[0].outcome), (JobId(2), &JobOutcome::Delivered));
}

#[test]
fn interim_por_waits_for_the_real_one() {
    let k = keys();
    let mut e = engine();
    e.submit(job(&k, 1, SPI));
    drain(&mut e);
    e.handle_input(report_input(msisdn(1), ack_with(&por(&k, SPI, TAR, 1, PorStatus::MoreTime, &[]))));
    assert!(drain(&mut e).is_empty());
    e.handle_input(report_input(msisdn(1), ack_with(&por(&k, SPI, TAR, 1, PorStatus::Ok, &OK_DATA))));
    assert_eq!(finished(&drain(&mut e))[0].outcome, JobOutcome::Success);
}

#[test]
fn concatenated_command_and_concatenated_por_by_sms_submit() {
    let k = keys();
    let mut e = engine();
    // A 300-octet UPDATE BINARY script: 3 segments.
    let big: Vec<CommandApdu> =
        (0..2).map(|_| CommandApdu::new(Cla::ISO, 0xD6, 0, 0, vec![0x55; 140], None).unwrap()).collect();
    let spi = [0x16, 0x39];
    let mut j = job(&k, 1, spi);
    j.script = Script::compact(&big).unwrap();
    e.submit(j);
    let sent = delivers(&drain(&mut e));
    assert_eq!(sent.len(), 3);
    let uds: Vec<Vec<u8>> =
        sent.iter().map(|(_, _, t)| Deliver::decode_exact(t).unwrap().user_data.ud_octets()).collect();
    // IE 00 (concatenation) in every segment, IE 70 in the first only.
    assert_eq!(&uds[0][..9], &[0x07, 0x00, 0x03, uds[0][3], 3, 1, 0x70, 0x00, 0x01]);
    assert_eq!(&uds[1][..6], &[0x05, 0x00, 0x03, uds[0][3], 3, 2]);
    assert_eq!(&uds[2][..6], &[0x05, 0x00, 0x03, uds[0][3], 3, 3]);
    // The card acknowledges each segment; the PoR comes by SMS-SUBMIT, in two segments, the second first.
    for _ in 0..3 {
        e.handle_input(report_input(msisdn(1), plain_ack()));
    }
    let data: Vec<u8> = [2, 0x90, 0x00].into_iter().chain(std::iter::repeat_n(0xAB, 150)).collect();
    let ud = por(&k, spi, TAR, 1, PorStatus::Ok, &data);
    let parts = concat::split_kind(&ud[3..], ConcatRef::Eight(42), PacketKind::Response).unwrap();
    assert_eq!(parts.len(), 2);
    let submits: Vec<Vec<u8>> = parts
        .into_iter()
        .map(|p| Submit::new(0, server(), Pid(0), Dcs::SIM_SPECIFIC_8BIT, ValidityPeriod::None, p).encode())
        .collect();
    e.handle_input(Input::SmsSubmit { from: msisdn(1), tpdu: submits[1].clone() });
    assert!(drain(&mut e).is_empty());
    e.handle_input(Input::SmsSubmit { from: msisdn(1), tpdu: submits[0].clone() });
    let done = finished(&drain(&mut e));
    assert_eq!(done[0].outcome, JobOutcome::Success, "{:?}", done[0]);
    assert_eq!(done[0].attempts[0].segments, 3);
    assert_eq!(done[0].por.as_ref().unwrap().data, data);
}

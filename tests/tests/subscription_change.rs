//! S3-090907 end to end for a small fleet: both alternatives, and the negative cases a user would try.
#![allow(clippy::unwrap_used)] // test code

use std::cell::RefCell;
use std::rc::Rc;

use m2msim_scenarios::subscription_change::{Alt, Event, Options, Scenario};

fn run(opts: Options) -> (m2msim_scenarios::subscription_change::Summary, Vec<Event>, Scenario) {
    let events = Rc::new(RefCell::new(Vec::new()));
    let sink = events.clone();
    let mut s = Scenario::new(opts, move |e| sink.borrow_mut().push(e.clone()));
    let summary = s.run().unwrap();
    let events = events.borrow().clone();
    (summary, events, s)
}

fn steps(events: &[Event]) -> Vec<u8> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Step { number, .. } => Some(*number),
            _ => None,
        })
        .collect()
}

#[test]
fn alt_3a_moves_every_device_a_to_b_to_c() {
    let (summary, events, s) = run(Options::new(Alt::A3a, 5));
    assert_eq!(summary.failures, Default::default(), "{summary:#?}");
    assert_eq!(summary.moved.get("MNO-A -> MNO-B"), Some(&5));
    assert_eq!(summary.moved.get("MNO-B -> MNO-C"), Some(&5));
    assert_eq!(steps(&events), vec![1, 2, 3, 4, 5, 6, 7, 3, 4, 5, 6]);
    // K moved with the subscription, so the new networks started behind the card's SQN: resyncs.
    assert!(summary.resyncs >= 5, "{summary:#?}");
    assert!(s.serving().iter().all(|&m| m == 2));
    let fleet = s.fleet().unwrap();
    for card in fleet.iter() {
        assert_eq!(card.imsi().unwrap(), s.mnos()[2].imsi_of(&card.iccid).unwrap());
        assert!(card.imsi().unwrap().starts_with("00103"));
    }
}

#[test]
fn alt_3b_walks_the_pairs_and_reports_the_exhausted_list() {
    let (summary, events, s) = run(Options::new(Alt::A3b, 4));
    assert_eq!(summary.moved.get("MNO-A -> MNO-B"), Some(&4), "{summary:#?}");
    assert_eq!(summary.moved.get("MNO-B -> MNO-C"), Some(&4), "{summary:#?}");
    assert_eq!(summary.failures, Default::default(), "{summary:#?}");
    assert_eq!(summary.exhausted, 4);
    assert_eq!(steps(&events), vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 3, 4, 5, 6, 7, 8, 9]);
    // New K per pair: the card's SQN array restarts, so no resync is needed.
    assert_eq!(summary.resyncs, 0);
    for card in s.fleet().unwrap().iter() {
        assert_eq!(card.uicc.key_slots().unwrap().active, 3);
    }
}

use m2msim_codec::apdu::{Cla, CommandApdu, StatusWord};
use m2msim_scenarios::subscription_change::{
    TAR_KEYSLOT, TAR_USIM_RFM, keyslot_switch_apdu, parties::EscrowError,
};
use m2msim_scp80::ota_server::JobOutcome;

fn select_imsi() -> CommandApdu {
    CommandApdu::new(Cla::ISO, 0xA4, 0x00, 0x0C, vec![0x6F, 0x07], None).unwrap()
}

#[test]
fn a_silent_device_is_retried_then_reported_and_stays_with_its_operator() {
    let mut opts = Options::new(Alt::A3a, 4);
    opts.silent = vec![2];
    let (summary, _, s) = run(opts);
    assert_eq!(summary.failures.get("step 4 (IMSI update): timeout"), Some(&1), "{summary:#?}");
    assert_eq!(summary.failures.len(), 1, "{summary:#?}");
    assert_eq!(summary.moved.get("MNO-A -> MNO-B"), Some(&3));
    assert_eq!(summary.moved.get("MNO-B -> MNO-C"), Some(&3));
    // Two retries (the default policy), each with a fresh counter.
    assert!(summary.ota_retries >= 2, "{summary:#?}");
    assert_eq!(s.serving(), &[2, 2, 0, 2]);
    assert!(s.fleet().unwrap().get(2).unwrap().imsi().unwrap().starts_with("00101"));
}

#[test]
fn a_damaged_por_is_a_security_failure_not_a_success() {
    let mut opts = Options::new(Alt::A3a, 3);
    opts.corrupt_por = vec![1];
    let (summary, _, s) = run(opts);
    let failure = summary.failures.keys().next().cloned().unwrap_or_default();
    assert_eq!(summary.failures.len(), 1, "{summary:#?}");
    assert!(failure.starts_with("step 4 (IMSI update): security failure"), "{summary:#?}");
    assert_eq!(s.serving(), &[2, 0, 2]);
}

#[test]
fn a_replayed_command_is_refused_by_the_card_and_not_taken_for_the_por() {
    let mut opts = Options::new(Alt::A3b, 3);
    opts.replayed = vec![0];
    let (summary, _, s) = run(opts);
    assert_eq!(summary.failures, Default::default(), "{summary:#?}");
    assert_eq!(summary.moved.get("MNO-B -> MNO-C"), Some(&3));
    // Every command to device 0 came twice; each copy's PoR was refused as late.
    let jobs_to_device_0 = 7;
    let late = summary.ota_unmatched.get("NoJobInFlight").unwrap_or(&0)
        + summary.ota_unmatched.get("LatePor").unwrap_or(&0);
    assert_eq!(late, jobs_to_device_0, "{summary:#?}");
    assert_eq!(s.fleet().unwrap().get(0).unwrap().uicc.key_slots().unwrap().active, 3);
}

#[test]
fn too_low_a_security_level_is_refused_with_por_0a() {
    let mut opts = Options::new(Alt::A3a, 2);
    // CC and counter but no ciphering: below the TARs' MSL 16.
    opts.spi = m2msim_codec::ota::Spi([0x12, 0x19]);
    let (summary, _, s) = run(opts);
    assert_eq!(summary.failures.get("step 4 (IMSI update): PoR status 0a"), Some(&2), "{summary:#?}");
    assert!(summary.moved.values().all(|&n| n == 0));
    assert_eq!(s.serving(), &[0, 0]);
}

#[test]
fn old_operators_keys_rollback_and_escrow_to_the_wrong_mno_are_refused() {
    let (_, _, mut s) = run(Options::new(Alt::A3b, 2));
    // MNO-A and MNO-B still hold keys for the cards, but the cards refuse them.
    for m in [0, 1] {
        let r = s.ota(m, 0, TAR_USIM_RFM, &[select_imsi()]).unwrap();
        assert!(!r.outcome.is_success(), "MNO {m}: {r:?}");
    }
    // The current operator's keys work.
    let r = s.ota(2, 0, TAR_USIM_RFM, &[select_imsi()]).unwrap();
    assert_eq!(r.outcome, JobOutcome::Success);
    // Roll-back to pair 2 by the current operator: 6A84 (the list is used up) — and on a card with a
    // pair left, 6985 (tested in scp80's uicc_scp80 keyslot tests).
    let iccid = s.fleet().unwrap().get(0).unwrap().iccid.clone();
    let r = s.ota(2, 0, TAR_KEYSLOT, &[keyslot_switch_apdu("001020000000001", 2, &iccid, 2)]).unwrap();
    assert_eq!(r.last_sw(), Some(StatusWord::NOT_ENOUGH_MEMORY), "{r:?}");
    // The manufacturer gives pair 3 only to MNO-C, pair 2 only to MNO-B.
    assert!(matches!(s.escrow_request(0, 0, 3), Err(EscrowError::NotRegistered { .. })));
    assert!(matches!(s.escrow_request(2, 0, 2), Err(EscrowError::NotRegistered { .. })));
    assert!(s.escrow_request(2, 0, 3).is_ok());
    assert!(matches!(s.escrow_request(2, 0, 9), Err(EscrowError::Unknown { .. })));
}

#[test]
fn rollback_on_a_card_mid_list_is_refused_with_6985() {
    // One change (A -> B): the card is on pair 2 with pair 3 left. B tries to move it back to pair 1,
    // or to skip to 4: 6985; the state does not change.
    let mut opts = Options::new(Alt::A3b, 1);
    opts.changes = 1;
    let (summary, _, mut s) = run(opts);
    assert_eq!(summary.moved.get("MNO-A -> MNO-B"), Some(&1), "{summary:#?}");
    let iccid = s.fleet().unwrap().get(0).unwrap().iccid.clone();
    for idx in [1, 2, 4] {
        let r = s.ota(1, 0, TAR_KEYSLOT, &[keyslot_switch_apdu("001030000000009", idx, &iccid, 2)]).unwrap();
        assert_eq!(r.last_sw(), Some(StatusWord::CONDITIONS_NOT_SATISFIED), "index {idx}: {r:?}");
    }
    let slots = s.fleet().unwrap().get(0).unwrap().uicc.key_slots().unwrap();
    assert_eq!((slots.active, slots.pending.is_none()), (2, true));
}

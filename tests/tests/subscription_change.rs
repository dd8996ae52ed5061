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

use super::*;

fn a16(s: &str) -> [u8; 16] {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn a6(s: &str) -> [u8; 6] {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn a2(s: &str) -> [u8; 2] {
    hex::decode(s).unwrap().try_into().unwrap()
}

/// One test set of 3GPP TS 35.207 §4.3 / TS 35.208 §4.3 (inputs and outputs).
struct TestSet {
    k: &'static str,
    rand: &'static str,
    sqn: &'static str,
    amf: &'static str,
    op: &'static str,
    opc: &'static str,
    f1: &'static str,
    f1_star: &'static str,
    f2: &'static str,
    f3: &'static str,
    f4: &'static str,
    f5: &'static str,
    f5_star: &'static str,
}

const TEST_SETS: [TestSet; 4] = [
    // Test set 1.
    TestSet {
        k: "465b5ce8b199b49faa5f0a2ee238a6bc",
        rand: "23553cbe9637a89d218ae64dae47bf35",
        sqn: "ff9bb4d0b607",
        amf: "b9b9",
        op: "cdc202d5123e20f62b6d676ac72cb318",
        opc: "cd63cb71954a9f4e48a5994e37a02baf",
        f1: "4a9ffac354dfafb3",
        f1_star: "01cfaf9ec4e871e9",
        f2: "a54211d5e3ba50bf",
        f3: "b40ba9a3c58b2a05bbf0d987b21bf8cb",
        f4: "f769bcd751044604127672711c6d3441",
        f5: "aa689c648370",
        f5_star: "451e8beca43b",
    },
    // Test set 2.
    TestSet {
        k: "0396eb317b6d1c36f19c1c84cd6ffd16",
        rand: "c00d603103dcee52c4478119494202e8",
        sqn: "fd8eef40df7d",
        amf: "af17",
        op: "ff53bade17df5d4e793073ce9d7579fa",
        opc: "53c15671c60a4b731c55b4a441c0bde2",
        f1: "5df5b31807e258b0",
        f1_star: "a8c016e51ef4a343",
        f2: "d3a628ed988620f0",
        f3: "58c433ff7a7082acd424220f2b67c556",
        f4: "21a8c1f929702adb3e738488b9f5c5da",
        f5: "c47783995f72",
        f5_star: "30f1197061c1",
    },
    // Test set 3.
    TestSet {
        k: "fec86ba6eb707ed08905757b1bb44b8f",
        rand: "9f7c8d021accf4db213ccff0c7f71a6a",
        sqn: "9d0277595ffc",
        amf: "725c",
        op: "dbc59adcb6f9a0ef735477b7fadf8374",
        opc: "1006020f0a478bf6b699f15c062e42b3",
        f1: "9cabc3e99baf7281",
        f1_star: "95814ba2b3044324",
        f2: "8011c48c0c214ed2",
        f3: "5dbdbb2954e8f3cde665b046179a5098",
        f4: "59a92d3b476a0443487055cf88b2307b",
        f5: "33484dc2136b",
        f5_star: "deacdd848cc6",
    },
    // Test set 4.
    TestSet {
        k: "9e5944aea94b81165c82fbf9f32db751",
        rand: "ce83dbc54ac0274a157c17f80d017bd6",
        sqn: "0b604a81eca8",
        amf: "9e09",
        op: "223014c5806694c007ca1eeef57f004f",
        opc: "a64a507ae1a2a98bb88eb4210135dc87",
        f1: "74a58220cba84c49",
        f1_star: "ac2cc74a96871837",
        f2: "f365cd683cd92e96",
        f3: "e203edb3971574f5a94b0d61b816345d",
        f4: "0c4524adeac041c4dd830d20854fc46b",
        f5: "f0b9c08ad02e",
        f5_star: "6085a86c6f63",
    },
];

#[test]
fn ts_35_207_test_sets() {
    for (i, t) in TEST_SETS.iter().enumerate() {
        let set = i + 1;
        let (k, op, rand, sqn, amf) = (a16(t.k), a16(t.op), a16(t.rand), a6(t.sqn), a2(t.amf));
        assert_eq!(hex::encode(opc_from_op(&k, &op)), t.opc, "set {set} OPc");
        let m = Milenage::new(&k, &a16(t.opc));
        assert_eq!(hex::encode(m.f1(&rand, &sqn, &amf)), t.f1, "set {set} f1");
        assert_eq!(hex::encode(m.f1_star(&rand, &sqn, &amf)), t.f1_star, "set {set} f1*");
        let out = m.f2345(&rand);
        assert_eq!(hex::encode(out.res), t.f2, "set {set} f2");
        assert_eq!(hex::encode(out.ck), t.f3, "set {set} f3");
        assert_eq!(hex::encode(out.ik), t.f4, "set {set} f4");
        assert_eq!(hex::encode(out.ak), t.f5, "set {set} f5");
        assert_eq!(hex::encode(m.f5_star(&rand)), t.f5_star, "set {set} f5*");
        // From OP directly: the same results.
        let from_op = Milenage::with_op(&k, &op);
        assert_eq!(from_op.f1(&rand, &sqn, &amf), m.f1(&rand, &sqn, &amf));
        assert_eq!(from_op.f2345(&rand).ck, out.ck);
    }
}

fn set1() -> (Milenage, [u8; 16]) {
    let t = &TEST_SETS[0];
    (Milenage::new(&a16(t.k), &a16(t.opc)), a16(t.rand))
}

#[test]
fn authentication_vector_layout() {
    let (m, rand) = set1();
    let t = &TEST_SETS[0];
    let sqn = Sqn::from_bytes(a6(t.sqn));
    let av = m.generate_av(&rand, sqn, a2(t.amf));
    assert_eq!(av.rand, rand);
    assert_eq!(hex::encode(av.xres), t.f2);
    assert_eq!(hex::encode(av.ck), t.f3);
    assert_eq!(hex::encode(av.ik), t.f4);
    // AUTN = SQN ⊕ AK ‖ AMF ‖ MAC-A: ff9bb4d0b607 ⊕ aa689c648370 = 55f328b43577.
    assert_eq!(hex::encode(av.autn), format!("55f328b43577{}{}", t.amf, t.f1));
    let text = format!("{av:?}");
    assert!(!text.contains(t.f3) && !text.contains(t.f4) && text.contains("redacted"), "{text}");
    assert_eq!(format!("{m:?}"), "Milenage(<redacted>)");
    assert!(!format!("{:?}", m.f2345(&rand)).contains(t.f3));
}

#[test]
fn card_accepts_a_fresh_vector_then_detects_the_replay() {
    let (m, rand) = set1();
    let params = SqnParams::default();
    let mut he = SqnGenerator::new(params, 0).unwrap();
    let mut usim = SqnArray::new(params).unwrap();
    let sqn = he.next_sqn().unwrap();
    assert_eq!((params.seq(sqn), params.ind(sqn)), (1, 0));
    let av = m.generate_av(&rand, sqn, [0x80, 0x00]);
    let AutnOutcome::Success { keys, sqn: got, amf } = m.check_autn(&rand, &av.autn, &mut usim) else {
        panic!("fresh vector refused")
    };
    assert_eq!((keys.res, keys.ck, keys.ik, got, amf), (av.xres, av.ck, av.ik, sqn, [0x80, 0x00]));
    assert_eq!(usim.entries()[0], 1);
    assert_eq!(usim.sqn_ms(), sqn);

    // The same vector again: synchronisation failure; the network recovers SQN_MS from AUTS.
    let AutnOutcome::SyncFailure { auts, reason } = m.check_autn(&rand, &av.autn, &mut usim) else {
        panic!("replay accepted")
    };
    assert_eq!(reason, SqnReject::NotFresh);
    // AUTS = SQN_MS ⊕ AK* ‖ f1*(SQN_MS, RAND, AMF 0000).
    let ak_star = m.f5_star(&rand);
    let conc: Vec<u8> = sqn.to_bytes().iter().zip(ak_star).map(|(a, b)| a ^ b).collect();
    assert_eq!(&auts[..6], conc.as_slice());
    assert_eq!(auts[6..], m.f1_star(&rand, &sqn.to_bytes(), &[0, 0]));
    assert_eq!(m.process_auts(&rand, &auts).unwrap(), sqn);
    let mut bad = auts;
    bad[13] ^= 1;
    assert_eq!(m.process_auts(&rand, &bad), Err(AkaError::AutsMacFailure));
    bad = auts;
    bad[0] ^= 1;
    assert_eq!(m.process_auts(&rand, &bad), Err(AkaError::AutsMacFailure));
}

#[test]
fn resynchronisation_brings_the_network_ahead_of_the_card() {
    let (m, rand) = set1();
    let params = SqnParams::default();
    let mut usim = SqnArray::new(params).unwrap();
    // The card has seen SEQ 1000 (e.g. from another network element).
    usim.accept(params.sqn(1000, 3));
    let mut he = SqnGenerator::new(params, 5).unwrap();
    let av = m.generate_av(&rand, he.next_sqn().unwrap(), [0, 0]);
    let AutnOutcome::SyncFailure { auts, reason } = m.check_autn(&rand, &av.autn, &mut usim) else {
        panic!("stale vector accepted")
    };
    assert_eq!(reason, SqnReject::TooOld);
    let sqn_ms = m.process_auts(&rand, &auts).unwrap();
    assert_eq!(sqn_ms, params.sqn(1000, 3));
    he.resync(sqn_ms);
    let av = m.generate_av(&rand, he.next_sqn().unwrap(), [0, 0]);
    assert!(matches!(m.check_autn(&rand, &av.autn, &mut usim), AutnOutcome::Success { .. }));
    assert_eq!(params.seq(usim.sqn_ms()), 1001);
}

#[test]
fn tampered_autn_is_a_mac_failure_and_changes_nothing() {
    let (m, rand) = set1();
    let mut usim = SqnArray::new(SqnParams::default()).unwrap();
    let av = m.generate_av(&rand, SqnParams::default().sqn(1, 0), [0, 0]);
    for i in 0..16 {
        let mut autn = av.autn;
        autn[i] ^= 0x01;
        assert!(matches!(m.check_autn(&rand, &autn, &mut usim), AutnOutcome::MacFailure), "byte {i}");
    }
    let mut other_rand = rand;
    other_rand[0] ^= 1;
    assert!(matches!(m.check_autn(&other_rand, &av.autn, &mut usim), AutnOutcome::MacFailure));
    assert_eq!(usim, SqnArray::new(SqnParams::default()).unwrap());
}

#[test]
fn sqn_array_rules() {
    let params = SqnParams::default();
    let mut usim = SqnArray::new(params).unwrap();
    assert_eq!(usim.entries().len(), 32);
    assert_eq!(usim.sqn_ms(), Sqn::default());
    // Out of order within the array: IND 1 then IND 0, both fresh.
    usim.check(params.sqn(6, 1)).unwrap();
    usim.accept(params.sqn(6, 1));
    usim.check(params.sqn(5, 0)).unwrap();
    usim.accept(params.sqn(5, 0));
    assert_eq!(usim.sqn_ms(), params.sqn(6, 1));
    assert_eq!(usim.check(params.sqn(5, 0)), Err(SqnReject::NotFresh));
    assert_eq!(usim.check(params.sqn(4, 0)), Err(SqnReject::NotFresh));
    // Δ: at most 2^28 ahead of the highest accepted SEQ.
    usim.check(params.sqn(6 + (1 << 28), 2)).unwrap();
    assert_eq!(usim.check(params.sqn(6 + (1 << 28) + 1, 2)), Err(SqnReject::TooFarAhead));
    // L: less than 32 below the highest.
    usim.accept(params.sqn(100, 3));
    usim.check(params.sqn(69, 4)).unwrap();
    assert_eq!(usim.check(params.sqn(68, 4)), Err(SqnReject::TooOld));
    // Without L, only the array entry counts.
    let mut no_l = SqnArray::new(SqnParams { age_limit: None, ..params }).unwrap();
    no_l.accept(params.sqn(100, 3));
    no_l.check(params.sqn(1, 4)).unwrap();
    // Bad parameters.
    assert!(SqnArray::new(SqnParams { ind_bits: 17, ..params }).is_err());
    assert!(SqnArray::new(SqnParams { delta: 0, ..params }).is_err());
    assert!(SqnGenerator::new(SqnParams { age_limit: Some(0), ..params }, 0).is_err());
}

#[test]
fn generator_cycles_ind_and_stops_at_the_end() {
    let params = SqnParams { ind_bits: 2, ..SqnParams::default() };
    let mut he = SqnGenerator::new(params, 0).unwrap();
    let got: Vec<(u64, u64)> =
        (0..6).map(|_| he.next_sqn().unwrap()).map(|s| (params.seq(s), params.ind(s))).collect();
    assert_eq!(got, [(1, 0), (2, 1), (3, 2), (4, 3), (5, 0), (6, 1)]);
    let mut he = SqnGenerator::new(params, params.seq_max() - 1).unwrap();
    assert_eq!(params.seq(he.next_sqn().unwrap()), params.seq_max());
    assert_eq!(he.next_sqn(), Err(AkaError::SqnExhausted));
    assert_eq!(Sqn::from_bytes([0xff; 6]), Sqn::MAX);
    assert_eq!(Sqn::MAX.to_bytes(), [0xff; 6]);
    assert_eq!(Sqn::new(1 << 48), None);
    assert_eq!(Sqn::new(0x0102).unwrap().to_string(), "000000000102");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn generated_vectors_authenticate(
            k in any::<[u8; 16]>(),
            op in any::<[u8; 16]>(),
            rand in any::<[u8; 16]>(),
            seq in 1u64..1_000_000,
            amf in any::<[u8; 2]>(),
            flip in any::<prop::sample::Index>(),
        ) {
            let params = SqnParams::default();
            let m = Milenage::with_op(&k, &op);
            let sqn = params.sqn(seq, seq % 32);
            let av = m.generate_av(&rand, sqn, amf);
            let mut usim = SqnArray::new(params).unwrap();
            let AutnOutcome::Success { keys, sqn: got, amf: got_amf } = m.check_autn(&rand, &av.autn, &mut usim) else {
                return Err(TestCaseError::fail("fresh vector refused"));
            };
            prop_assert_eq!((keys.res, keys.ck, keys.ik, got, got_amf), (av.xres, av.ck, av.ik, sqn, amf));
            // Replay: synchronisation failure whose AUTS gives back the SQN just accepted.
            let AutnOutcome::SyncFailure { auts, .. } = m.check_autn(&rand, &av.autn, &mut usim) else {
                return Err(TestCaseError::fail("replay accepted"));
            };
            prop_assert_eq!(m.process_auts(&rand, &auts), Ok(sqn));
            // Any single-bit change of AUTN is a MAC failure.
            let bit = flip.index(128);
            let mut autn = av.autn;
            autn[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(matches!(m.check_autn(&rand, &autn, &mut usim), AutnOutcome::MacFailure));
        }
    }
}

//! Milenage (3GPP TS 35.206) and the UMTS AKA procedures built on it (3GPP TS 33.102 §6.3, Annex C).
//!
//! - [`Milenage`]: K (expanded once as an AES-128 key schedule) and OPc, both zeroized on drop; the
//!   functions f1, f1*, f2, f3, f4, f5, f5* ([`Milenage::f1`], [`Milenage::f2345`] …) and OPc from OP
//!   ([`opc_from_op`]).
//! - Network side: [`Milenage::generate_av`] builds an [`AuthenticationVector`] (RAND, XRES, CK, IK, AUTN
//!   with AUTN = SQN ⊕ AK ‖ AMF ‖ MAC-A) from a RAND the caller draws (no randomness inside);
//!   [`Milenage::process_auts`] checks a resynchronisation token and recovers SQN_MS; [`SqnGenerator`]
//!   hands out SQNs.
//! - Card side: [`Milenage::check_autn`] tells a MAC failure from a synchronisation failure (and then
//!   builds AUTS = SQN_MS ⊕ AK* ‖ MAC-S, with MAC-S = f1* over AMF `0000`), using an [`SqnArray`].
//!
//! # Sequence numbers (TS 33.102 Annex C)
//!
//! SQN (48 bits) = SEQ ‖ IND, IND being the low [`SqnParams::ind_bits`] bits. The USIM keeps an array of
//! a = 2^ind_bits accepted SEQ values, all 0 at first. An SQN is accepted when (C.2.1) SEQ − SEQ_MS ≤ Δ,
//! SEQ_MS being the highest SEQ accepted anywhere in the array; (C.2.2, optional) SEQ_MS − SEQ < L; and
//! SEQ > SEQ_MS(IND). Otherwise the USIM answers a synchronisation failure carrying SQN_MS, the highest
//! accepted SQN (its SEQ with the IND it was accepted under). The network then sets SEQ_HE to SEQ_MS.
//!
//! Parameters chosen here ([`SqnParams::default`]): IND of 5 bits (a = 32), Δ = 2^28, L = 2^5 (applied).
//! These are the values of the example profile in TS 33.102 Annex C.3 as remembered (C.3 is not at hand):
//! **\[M\]** check them against the spec text; every one can be changed through [`SqnParams`].
//! [`SqnGenerator`] follows the simplest Annex C scheme: SEQ_HE grows by one for every vector and IND
//! cycles through 0..a.

use std::fmt;

use aes::Aes128;
use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// Errors of the AKA procedures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AkaError {
    /// The MAC-S of an AUTS does not verify (TS 33.102 §6.3.5: the HLR ignores the resynchronisation).
    #[error("AUTS MAC-S does not verify")]
    AutsMacFailure,
    /// A sequence-number parameter set that cannot work.
    #[error("invalid SQN parameters: {reason}")]
    Params {
        /// Why.
        reason: &'static str,
    },
    /// The network's SEQ reached its maximum (the SQN space is exhausted).
    #[error("SQN space exhausted: SEQ cannot grow further")]
    SqnExhausted,
}

/// The 48-bit sequence number SQN (TS 33.102 §6.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Sqn(u64);

impl Sqn {
    /// The largest SQN.
    pub const MAX: Self = Self((1 << 48) - 1);

    /// The SQN with this value, or `None` above 2^48 − 1.
    #[must_use]
    pub const fn new(value: u64) -> Option<Self> {
        if value <= Self::MAX.0 { Some(Self(value)) } else { None }
    }

    /// The value.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }

    /// From its 6 bytes (big-endian).
    #[must_use]
    pub const fn from_bytes(b: [u8; 6]) -> Self {
        Self(u64::from_be_bytes([0, 0, b[0], b[1], b[2], b[3], b[4], b[5]]))
    }

    /// Its 6 bytes (big-endian).
    #[must_use]
    pub const fn to_bytes(self) -> [u8; 6] {
        let b = self.0.to_be_bytes();
        [b[2], b[3], b[4], b[5], b[6], b[7]]
    }
}

impl fmt::Display for Sqn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012x}", self.0)
    }
}

/// Computes OPc = AES_K(OP) ⊕ OP (TS 35.206 §4.1).
#[must_use]
pub fn opc_from_op(k: &[u8; 16], op: &[u8; 16]) -> [u8; 16] {
    let aes = Aes128::new(&Array::from(*k));
    let mut block = Array::from(*op);
    aes.encrypt_block(&mut block);
    let mut out: [u8; 16] = block.into();
    xor16(&mut out, op);
    out
}

fn xor16(a: &mut [u8; 16], b: &[u8; 16]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x ^= *y;
    }
}

/// The outputs of f2, f3, f4 and f5 for one RAND (TS 35.206 §4.1).
#[derive(Clone)]
pub struct F2345 {
    /// f2: RES / XRES (64 bits).
    pub res: [u8; 8],
    /// f3: the cipher key CK.
    pub ck: [u8; 16],
    /// f4: the integrity key IK.
    pub ik: [u8; 16],
    /// f5: the anonymity key AK (48 bits).
    pub ak: [u8; 6],
}

impl Drop for F2345 {
    fn drop(&mut self) {
        self.ck.zeroize();
        self.ik.zeroize();
        self.ak.zeroize();
    }
}

impl fmt::Debug for F2345 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("F2345")
            .field("res", &hex::encode(self.res))
            .field("ck", &"<redacted>")
            .field("ik", &"<redacted>")
            .field("ak", &"<redacted>")
            .finish()
    }
}

/// An authentication vector (TS 33.102 §6.3.2): RAND, XRES, CK, IK, AUTN. CK and IK are keys: the vector
/// zeroizes them on drop, redacts them in `Debug` and has no `Serialize`.
#[derive(Clone)]
pub struct AuthenticationVector {
    /// The challenge.
    pub rand: [u8; 16],
    /// The expected response (f2).
    pub xres: [u8; 8],
    /// The cipher key (f3).
    pub ck: [u8; 16],
    /// The integrity key (f4).
    pub ik: [u8; 16],
    /// SQN ⊕ AK ‖ AMF ‖ MAC-A.
    pub autn: [u8; 16],
}

impl Drop for AuthenticationVector {
    fn drop(&mut self) {
        self.ck.zeroize();
        self.ik.zeroize();
    }
}

impl fmt::Debug for AuthenticationVector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticationVector")
            .field("rand", &hex::encode(self.rand))
            .field("xres", &hex::encode(self.xres))
            .field("ck", &"<redacted>")
            .field("ik", &"<redacted>")
            .field("autn", &hex::encode(self.autn))
            .finish()
    }
}

/// What the card concludes from a RAND and AUTN (TS 33.102 §6.3.3).
#[derive(Debug, Clone)]
pub enum AutnOutcome {
    /// MAC-A verified and the SQN is fresh (and now recorded): answer RES, use CK and IK.
    Success {
        /// RES, CK, IK (and AK).
        keys: F2345,
        /// The SQN recovered from AUTN.
        sqn: Sqn,
        /// The AMF of AUTN.
        amf: [u8; 2],
    },
    /// MAC-A does not verify: the card answers "MAC failure" (and changes no state).
    MacFailure,
    /// MAC-A verifies but the SQN is not acceptable: the card answers "synchronisation failure" with AUTS.
    SyncFailure {
        /// SQN_MS ⊕ AK* ‖ MAC-S.
        auts: [u8; 14],
        /// Which check refused the SQN.
        reason: SqnReject,
    },
}

/// Milenage with a subscriber's K and OPc (TS 35.206). The AES key schedule of K is computed once; K is not
/// kept otherwise, and OPc is zeroized on drop.
pub struct Milenage {
    aes: Aes128,
    opc: [u8; 16],
}

impl fmt::Debug for Milenage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Milenage(<redacted>)")
    }
}

impl Drop for Milenage {
    fn drop(&mut self) {
        self.opc.zeroize();
    }
}

/// The rotation (in bytes) and constant (last byte) of f1/f1*, f2/f5, f3, f4, f5* (TS 35.206 §4.1:
/// r1 = 64, r2 = 0, r3 = 32, r4 = 64, r5 = 96 bits; c1 = 0, c2 = 1, c3 = 2, c4 = 4, c5 = 8).
const R: [usize; 5] = [8, 0, 4, 8, 12];
const C: [u8; 5] = [0, 1, 2, 4, 8];

impl Milenage {
    /// From K and OPc.
    #[must_use]
    pub fn new(k: &[u8; 16], opc: &[u8; 16]) -> Self {
        Self { aes: Aes128::new(&Array::from(*k)), opc: *opc }
    }

    /// From K and OP (computes OPc).
    #[must_use]
    pub fn with_op(k: &[u8; 16], op: &[u8; 16]) -> Self {
        let mut opc = opc_from_op(k, op);
        let m = Self::new(k, &opc);
        opc.zeroize();
        m
    }

    fn enc(&self, x: [u8; 16]) -> [u8; 16] {
        let mut b = Array::from(x);
        self.aes.encrypt_block(&mut b);
        b.into()
    }

    /// TEMP = E_K(RAND ⊕ OPc).
    fn temp(&self, rand: &[u8; 16]) -> [u8; 16] {
        let mut x = *rand;
        xor16(&mut x, &self.opc);
        self.enc(x)
    }

    /// OUT_i = E_K(rot(input ⊕ OPc, r_i) ⊕ c_i) ⊕ OPc, where `input` is TEMP (i = 2..5); for i = 1 the
    /// caller passes IN1 and TEMP is added after the rotation.
    fn out(&self, i: usize, input: &[u8; 16], temp: Option<&[u8; 16]>) -> [u8; 16] {
        let mut x = *input;
        xor16(&mut x, &self.opc);
        let r = R.get(i).copied().unwrap_or(0);
        x.rotate_left(r);
        if let Some(t) = temp {
            xor16(&mut x, t);
        }
        x[15] ^= C.get(i).copied().unwrap_or(0);
        let mut out = self.enc(x);
        xor16(&mut out, &self.opc);
        out
    }

    fn out1(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> [u8; 16] {
        let temp = self.temp(rand);
        let mut in1 = [0u8; 16];
        in1[..6].copy_from_slice(sqn);
        in1[6..8].copy_from_slice(amf);
        in1[8..14].copy_from_slice(sqn);
        in1[14..].copy_from_slice(amf);
        self.out(0, &in1, Some(&temp))
    }

    /// f1: the network authentication code MAC-A (TS 35.206 §4.1).
    #[must_use]
    pub fn f1(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> [u8; 8] {
        let out = self.out1(rand, sqn, amf);
        let mut mac = [0; 8];
        mac.copy_from_slice(&out[..8]);
        mac
    }

    /// f1*: the resynchronisation code MAC-S (TS 35.206 §4.1).
    #[must_use]
    pub fn f1_star(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> [u8; 8] {
        let out = self.out1(rand, sqn, amf);
        let mut mac = [0; 8];
        mac.copy_from_slice(&out[8..]);
        mac
    }

    /// f2 (RES), f3 (CK), f4 (IK) and f5 (AK) for one RAND (TS 35.206 §4.1).
    #[must_use]
    pub fn f2345(&self, rand: &[u8; 16]) -> F2345 {
        let temp = self.temp(rand);
        let out2 = self.out(1, &temp, None);
        let mut keys =
            F2345 { res: [0; 8], ck: self.out(2, &temp, None), ik: self.out(3, &temp, None), ak: [0; 6] };
        keys.res.copy_from_slice(&out2[8..]);
        keys.ak.copy_from_slice(&out2[..6]);
        keys
    }

    /// f5*: the anonymity key AK used in resynchronisation (TS 35.206 §4.1).
    #[must_use]
    pub fn f5_star(&self, rand: &[u8; 16]) -> [u8; 6] {
        let out5 = self.out(4, &self.temp(rand), None);
        let mut ak = [0; 6];
        ak.copy_from_slice(&out5[..6]);
        ak
    }

    /// Network side: the authentication vector for `rand` (drawn by the caller), `sqn` and `amf`
    /// (TS 33.102 §6.3.2).
    #[must_use]
    pub fn generate_av(&self, rand: &[u8; 16], sqn: Sqn, amf: [u8; 2]) -> AuthenticationVector {
        let sqn_b = sqn.to_bytes();
        let mac_a = self.f1(rand, &sqn_b, &amf);
        let keys = self.f2345(rand);
        let mut autn = [0u8; 16];
        for (i, (s, a)) in sqn_b.iter().zip(keys.ak).enumerate() {
            autn[i] = s ^ a;
        }
        autn[6..8].copy_from_slice(&amf);
        autn[8..].copy_from_slice(&mac_a);
        AuthenticationVector { rand: *rand, xres: keys.res, ck: keys.ck, ik: keys.ik, autn }
    }

    /// Card side: AUTS = (SQN_MS ⊕ AK*) ‖ MAC-S, MAC-S = f1*(SQN_MS, RAND, AMF = 0000) (TS 33.102 §6.3.3).
    #[must_use]
    pub fn auts(&self, rand: &[u8; 16], sqn_ms: Sqn) -> [u8; 14] {
        let sqn_b = sqn_ms.to_bytes();
        let ak_star = self.f5_star(rand);
        let mac_s = self.f1_star(rand, &sqn_b, &[0, 0]);
        let mut auts = [0u8; 14];
        for (i, (s, a)) in sqn_b.iter().zip(ak_star).enumerate() {
            auts[i] = s ^ a;
        }
        auts[6..].copy_from_slice(&mac_s);
        auts
    }

    /// Card side: checks AUTN for `rand` against the USIM's SQN state (TS 33.102 §6.3.3). On success the
    /// SQN is recorded in `sqns`; on a MAC failure nothing changes; on a synchronisation failure the AUTS
    /// carries the highest accepted SQN. MAC-A is compared in constant time.
    pub fn check_autn(&self, rand: &[u8; 16], autn: &[u8; 16], sqns: &mut SqnArray) -> AutnOutcome {
        let keys = self.f2345(rand);
        let mut sqn_b = [0u8; 6];
        for (i, (c, a)) in autn.iter().zip(keys.ak).enumerate() {
            sqn_b[i] = c ^ a;
        }
        let amf = [autn[6], autn[7]];
        let xmac = self.f1(rand, &sqn_b, &amf);
        if !bool::from(xmac.ct_eq(&autn[8..])) {
            return AutnOutcome::MacFailure;
        }
        let sqn = Sqn::from_bytes(sqn_b);
        match sqns.check(sqn) {
            Ok(()) => {
                sqns.accept(sqn);
                AutnOutcome::Success { keys, sqn, amf }
            }
            Err(reason) => AutnOutcome::SyncFailure { auts: self.auts(rand, sqns.sqn_ms()), reason },
        }
    }

    /// Network side: checks an AUTS for `rand` and returns SQN_MS (TS 33.102 §6.3.5). MAC-S is compared in
    /// constant time.
    ///
    /// # Errors
    /// [`AkaError::AutsMacFailure`].
    pub fn process_auts(&self, rand: &[u8; 16], auts: &[u8; 14]) -> Result<Sqn, AkaError> {
        let ak_star = self.f5_star(rand);
        let mut sqn_b = [0u8; 6];
        for (i, (c, a)) in auts.iter().zip(ak_star).enumerate() {
            sqn_b[i] = c ^ a;
        }
        let mac_s = self.f1_star(rand, &sqn_b, &[0, 0]);
        if bool::from(mac_s.ct_eq(&auts[6..])) {
            Ok(Sqn::from_bytes(sqn_b))
        } else {
            Err(AkaError::AutsMacFailure)
        }
    }
}

/// Sequence-number parameters (TS 33.102 Annex C); see the module docs for the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqnParams {
    /// Length of IND in bits (the array has 2^ind_bits entries), 0..=16.
    pub ind_bits: u8,
    /// Δ: the largest accepted step of SEQ over SEQ_MS (C.2.1).
    pub delta: u64,
    /// L: when set, SEQ must be within L below SEQ_MS (C.2.2).
    pub age_limit: Option<u64>,
}

impl Default for SqnParams {
    fn default() -> Self {
        Self { ind_bits: 5, delta: 1 << 28, age_limit: Some(1 << 5) }
    }
}

impl SqnParams {
    fn check(&self) -> Result<(), AkaError> {
        if self.ind_bits > 16 {
            return Err(AkaError::Params { reason: "IND longer than 16 bits" });
        }
        if self.delta == 0 {
            return Err(AkaError::Params { reason: "delta must be at least 1" });
        }
        if self.age_limit == Some(0) {
            return Err(AkaError::Params { reason: "L must be at least 1" });
        }
        Ok(())
    }

    /// SEQ of an SQN.
    #[must_use]
    pub const fn seq(&self, sqn: Sqn) -> u64 {
        sqn.0 >> self.ind_bits
    }

    /// IND of an SQN.
    #[must_use]
    pub const fn ind(&self, sqn: Sqn) -> u64 {
        sqn.0 & ((1 << self.ind_bits) - 1)
    }

    /// The largest SEQ.
    #[must_use]
    pub const fn seq_max(&self) -> u64 {
        Sqn::MAX.0 >> self.ind_bits
    }

    /// SEQ ‖ IND (both taken modulo their widths).
    #[must_use]
    pub const fn sqn(&self, seq: u64, ind: u64) -> Sqn {
        let ind_mask = (1u64 << self.ind_bits) - 1;
        Sqn((((seq & self.seq_max()) << self.ind_bits) | (ind & ind_mask)) & Sqn::MAX.0)
    }
}

/// Why the USIM refused an SQN (each leads to a synchronisation failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqnReject {
    /// SEQ − SEQ_MS > Δ (C.2.1: a jump too far ahead).
    TooFarAhead,
    /// SEQ_MS − SEQ ≥ L (C.2.2: too old).
    TooOld,
    /// SEQ ≤ SEQ_MS(IND) (C.2.2: already used or older than the array entry).
    NotFresh,
}

/// The USIM's sequence-number state (TS 33.102 Annex C.2): the array SEQ_MS(0..a).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqnArray {
    params: SqnParams,
    seq: Vec<u64>,
}

impl SqnArray {
    /// A fresh array (all entries 0).
    ///
    /// # Errors
    /// [`AkaError::Params`] for unusable parameters.
    pub fn new(params: SqnParams) -> Result<Self, AkaError> {
        params.check()?;
        Ok(Self { params, seq: vec![0; 1 << params.ind_bits] })
    }

    /// The parameters.
    #[must_use]
    pub const fn params(&self) -> &SqnParams {
        &self.params
    }

    /// The array entries SEQ_MS(i).
    #[must_use]
    pub fn entries(&self) -> &[u64] {
        &self.seq
    }

    /// SQN_MS: the highest accepted SEQ with the IND it was accepted under (0 when none).
    #[must_use]
    pub fn sqn_ms(&self) -> Sqn {
        let (ind, seq) =
            self.seq.iter().enumerate().fold((0, 0), |best, (i, &s)| if s > best.1 { (i, s) } else { best });
        self.params.sqn(seq, ind as u64)
    }

    /// Whether `sqn` would be accepted (C.2.1, C.2.2).
    ///
    /// # Errors
    /// The [`SqnReject`] reason.
    pub fn check(&self, sqn: Sqn) -> Result<(), SqnReject> {
        let seq = self.params.seq(sqn);
        let seq_ms = self.seq.iter().copied().max().unwrap_or(0);
        if seq > seq_ms && seq - seq_ms > self.params.delta {
            return Err(SqnReject::TooFarAhead);
        }
        if let Some(l) = self.params.age_limit
            && seq_ms > seq
            && seq_ms - seq >= l
        {
            return Err(SqnReject::TooOld);
        }
        let ind = usize::try_from(self.params.ind(sqn)).unwrap_or(usize::MAX);
        match self.seq.get(ind) {
            Some(&entry) if seq > entry => Ok(()),
            _ => Err(SqnReject::NotFresh),
        }
    }

    /// Records an accepted SQN: SEQ_MS(IND) = SEQ.
    pub fn accept(&mut self, sqn: Sqn) {
        let seq = self.params.seq(sqn);
        let ind = usize::try_from(self.params.ind(sqn)).unwrap_or(usize::MAX);
        if let Some(entry) = self.seq.get_mut(ind) {
            *entry = seq;
        }
    }
}

/// The network's SQN source (TS 33.102 Annex C.1): SEQ_HE grows by one per vector, IND cycles over the
/// array size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqnGenerator {
    params: SqnParams,
    seq_he: u64,
    next_ind: u64,
}

impl SqnGenerator {
    /// A generator whose first SQN has SEQ = `seq_he` + 1 and IND = 0.
    ///
    /// # Errors
    /// [`AkaError::Params`] for unusable parameters.
    pub fn new(params: SqnParams, seq_he: u64) -> Result<Self, AkaError> {
        params.check()?;
        Ok(Self { params, seq_he, next_ind: 0 })
    }

    /// The last SEQ handed out.
    #[must_use]
    pub const fn seq_he(&self) -> u64 {
        self.seq_he
    }

    /// The next SQN.
    ///
    /// # Errors
    /// [`AkaError::SqnExhausted`] when SEQ would pass its maximum.
    pub fn next_sqn(&mut self) -> Result<Sqn, AkaError> {
        let seq = self
            .seq_he
            .checked_add(1)
            .filter(|s| *s <= self.params.seq_max())
            .ok_or(AkaError::SqnExhausted)?;
        self.seq_he = seq;
        let sqn = self.params.sqn(seq, self.next_ind);
        self.next_ind = (self.next_ind + 1) % (1u64 << self.params.ind_bits);
        Ok(sqn)
    }

    /// After a verified AUTS: SEQ_HE = SEQ_MS, so that the next SQN is above everything the USIM accepted
    /// (TS 33.102 §6.3.5).
    pub fn resync(&mut self, sqn_ms: Sqn) {
        self.seq_he = self.params.seq(sqn_ms);
    }
}

#[cfg(test)]
mod tests;

//! Network authentication on the simulated card: AUTHENTICATE in the 3G and GSM security contexts
//! (TS 31.102 §7.1.2, TS 102 221 §11.1.16) and RUN GSM ALGORITHM of the 2G view (TS 51.011 §9.2.16), over
//! Milenage (3GPP TS 35.206) with the sequence-number management of TS 33.102 Annex C
//! ([`crate::milenage::SqnArray`]).
//!
//! - [`Subscriber`]: K and OPc (zeroized, redacted), the expanded [`Milenage`] and the SQN array.
//! - [`Subscriber::authenticate`]: `10 RAND 10 AUTN` → `DB 08 RES 10 CK 10 IK 08 Kc` on success, `DC 0E AUTS`
//!   on a synchronisation failure, status `9862` on a MAC failure; `10 RAND` in the GSM context →
//!   `04 SRES 08 Kc`.
//!
//! The GSM context values come from the conversion functions of TS 33.102 §6.8.1.2: SRES = c2(RES), the
//! XOR of the 32-bit words of RES; Kc = c3(CK, IK) = CK1 ⊕ CK2 ⊕ IK1 ⊕ IK2 (64-bit halves). Kc is part of
//! the 3G-context success response when the profile says so (service n°27, "GSM access"; on by default).

use std::fmt;

use m2msim_codec::apdu::StatusWord;
use zeroize::Zeroize;

use crate::milenage::{AkaError, AutnOutcome, Milenage, SqnArray, SqnParams};

/// The card's subscription keys and AKA state.
pub struct Subscriber {
    k: [u8; 16],
    opc: [u8; 16],
    milenage: Milenage,
    sqn: SqnArray,
    /// Put Kc (c3) in the 3G-context success response.
    pub include_kc: bool,
}

impl fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber")
            .field("k", &"<redacted>")
            .field("opc", &"<redacted>")
            .field("sqn", &self.sqn)
            .field("include_kc", &self.include_kc)
            .finish()
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.k.zeroize();
        self.opc.zeroize();
    }
}

impl Clone for Subscriber {
    fn clone(&self) -> Self {
        Self {
            k: self.k,
            opc: self.opc,
            milenage: Milenage::new(&self.k, &self.opc),
            sqn: self.sqn.clone(),
            include_kc: self.include_kc,
        }
    }
}

/// The outcome of AUTHENTICATE / RUN GSM ALGORITHM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthResult {
    /// Response data (`DB …`, `DC …` or `04 SRES 08 Kc`; bare `SRES Kc` for RUN GSM ALGORITHM).
    Data(Vec<u8>),
    /// A status word and no data (`9862` MAC failure, `6700`, `6A80`, `6A86`, `9864` …).
    Sw(StatusWord),
}

impl Subscriber {
    /// From K and OPc with an SQN array in `params` whose entries are `entries` (all 0 for a new card).
    ///
    /// # Errors
    /// [`AkaError::Params`] for unusable parameters or a wrong number of entries.
    pub fn new(k: [u8; 16], opc: [u8; 16], params: SqnParams, entries: &[u64]) -> Result<Self, AkaError> {
        let mut sqn = SqnArray::new(params)?;
        if !entries.is_empty() {
            if entries.len() != sqn.entries().len() {
                return Err(AkaError::Params { reason: "the SQN array needs 2^ind_bits entries" });
            }
            for (i, &seq) in entries.iter().enumerate() {
                if seq > 0 {
                    sqn.accept(params.sqn(seq, i as u64));
                }
            }
        }
        Ok(Self { milenage: Milenage::new(&k, &opc), k, opc, sqn, include_kc: true })
    }

    /// Replaces K and OPc (a subscription switch, m2m.md §4.5) and starts a fresh SQN array: the new
    /// subscription's network has its own sequence numbers.
    pub fn replace_keys(&mut self, k: [u8; 16], opc: [u8; 16]) {
        let params = *self.sqn.params();
        self.k = k;
        self.opc = opc;
        self.milenage = Milenage::new(&k, &opc);
        if let Ok(fresh) = SqnArray::new(params) {
            self.sqn = fresh;
        }
    }

    /// K (for the card file).
    #[must_use]
    pub const fn expose_k(&self) -> &[u8; 16] {
        &self.k
    }

    /// OPc (for the card file).
    #[must_use]
    pub const fn expose_opc(&self) -> &[u8; 16] {
        &self.opc
    }

    /// The SQN array.
    #[must_use]
    pub const fn sqn(&self) -> &SqnArray {
        &self.sqn
    }

    /// The Milenage instance (for tests and the terminal's network side).
    #[must_use]
    pub const fn milenage(&self) -> &Milenage {
        &self.milenage
    }

    /// AUTHENTICATE data in context `p2` (`80` GSM, `81` 3G; TS 31.102 §7.1.2.1). The length-prefixed
    /// RAND (and AUTN) must fill the data exactly.
    #[must_use]
    pub fn authenticate(&mut self, p2: u8, data: &[u8]) -> AuthResult {
        match p2 {
            0x81 => {
                let Some((rand, autn)) = parse_3g(data) else {
                    return AuthResult::Sw(StatusWord::WRONG_DATA);
                };
                match self.milenage.check_autn(&rand, &autn, &mut self.sqn) {
                    AutnOutcome::Success { keys, .. } => {
                        let mut v = Vec::with_capacity(2 + 8 + 2 * 17 + 9);
                        v.extend_from_slice(&[0xDB, 0x08]);
                        v.extend_from_slice(&keys.res);
                        v.push(0x10);
                        v.extend_from_slice(&keys.ck);
                        v.push(0x10);
                        v.extend_from_slice(&keys.ik);
                        if self.include_kc {
                            v.push(0x08);
                            v.extend_from_slice(&c3(&keys.ck, &keys.ik));
                        }
                        AuthResult::Data(v)
                    }
                    AutnOutcome::SyncFailure { auts, .. } => {
                        let mut v = vec![0xDC, 0x0E];
                        v.extend_from_slice(&auts);
                        AuthResult::Data(v)
                    }
                    AutnOutcome::MacFailure => AuthResult::Sw(StatusWord(0x9862)),
                }
            }
            0x80 => {
                let [0x10, rand @ ..] = data else { return AuthResult::Sw(StatusWord::WRONG_DATA) };
                let Ok(rand) = <[u8; 16]>::try_from(rand) else {
                    return AuthResult::Sw(StatusWord::WRONG_DATA);
                };
                let (sres, kc) = self.gsm(&rand);
                let mut v = vec![0x04];
                v.extend_from_slice(&sres);
                v.push(0x08);
                v.extend_from_slice(&kc);
                AuthResult::Data(v)
            }
            p2 if p2 & 0x80 != 0 => AuthResult::Sw(StatusWord(0x9864)),
            _ => AuthResult::Sw(StatusWord::WRONG_P1_P2),
        }
    }

    /// SRES and Kc for a RAND through the conversion functions c2 and c3 (TS 33.102 §6.8.1.2).
    #[must_use]
    pub fn gsm(&self, rand: &[u8; 16]) -> ([u8; 4], [u8; 8]) {
        let keys = self.milenage.f2345(rand);
        (c2(&keys.res), c3(&keys.ck, &keys.ik))
    }
}

/// `10 RAND 10 AUTN`.
fn parse_3g(data: &[u8]) -> Option<([u8; 16], [u8; 16])> {
    match data {
        [0x10, rest @ ..] if rest.len() == 33 && rest[16] == 0x10 => {
            let rand = <[u8; 16]>::try_from(&rest[..16]).ok()?;
            let autn = <[u8; 16]>::try_from(&rest[17..]).ok()?;
            Some((rand, autn))
        }
        _ => None,
    }
}

/// c2 (TS 33.102 §6.8.1.2) for a 64-bit RES: RES1 ⊕ RES2.
#[must_use]
pub fn c2(res: &[u8; 8]) -> [u8; 4] {
    [res[0] ^ res[4], res[1] ^ res[5], res[2] ^ res[6], res[3] ^ res[7]]
}

/// c3 (TS 33.102 §6.8.1.2): Kc = CK1 ⊕ CK2 ⊕ IK1 ⊕ IK2.
#[must_use]
pub fn c3(ck: &[u8; 16], ik: &[u8; 16]) -> [u8; 8] {
    let mut kc = [0u8; 8];
    for (i, b) in kc.iter_mut().enumerate() {
        *b = ck[i] ^ ck[i + 8] ^ ik[i] ^ ik[i + 8];
    }
    kc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::milenage::Sqn;

    // TS 35.207 test set 1 (a single fact from the spec).
    const K: &str = "465b5ce8b199b49faa5f0a2ee238a6bc";
    const OPC: &str = "cd63cb71954a9f4e48a5994e37a02baf";
    const RAND: &str = "23553cbe9637a89d218ae64dae47bf35";

    fn sub() -> Subscriber {
        let k = <[u8; 16]>::try_from(hex::decode(K).unwrap()).unwrap();
        let opc = <[u8; 16]>::try_from(hex::decode(OPC).unwrap()).unwrap();
        Subscriber::new(k, opc, SqnParams::default(), &[]).unwrap()
    }

    fn auth_data(rand: &[u8; 16], autn: &[u8; 16]) -> Vec<u8> {
        let mut d = vec![0x10];
        d.extend_from_slice(rand);
        d.push(0x10);
        d.extend_from_slice(autn);
        d
    }

    #[test]
    fn success_sync_failure_mac_failure() {
        let mut s = sub();
        let rand = <[u8; 16]>::try_from(hex::decode(RAND).unwrap()).unwrap();
        let av = s.milenage().generate_av(&rand, Sqn::new(32).unwrap(), [0x80, 0x00]);
        let AuthResult::Data(d) = s.authenticate(0x81, &auth_data(&rand, &av.autn)) else { panic!() };
        // Test set 1: RES a54211d5e3ba50bf, CK b40ba9a3c58b2a05bbf0d987b21bf8cb.
        assert_eq!(hex::encode(&d[..10]), "db08a54211d5e3ba50bf");
        assert_eq!(hex::encode(&d[11..27]), "b40ba9a3c58b2a05bbf0d987b21bf8cb");
        assert_eq!(d.len(), 2 + 8 + 17 + 17 + 9);
        assert_eq!(&d[d.len() - 9..d.len() - 8], &[0x08]);
        // The same AUTN again: the SQN is no longer fresh.
        let AuthResult::Data(d) = s.authenticate(0x81, &auth_data(&rand, &av.autn)) else { panic!() };
        assert_eq!(&d[..2], &[0xDC, 0x0E]);
        let auts = <[u8; 14]>::try_from(&d[2..]).unwrap();
        assert_eq!(s.milenage().process_auts(&rand, &auts), Ok(Sqn::new(32).unwrap()));
        // A flipped MAC bit.
        let mut bad = av.autn;
        bad[15] ^= 1;
        assert_eq!(s.authenticate(0x81, &auth_data(&rand, &bad)), AuthResult::Sw(StatusWord(0x9862)));
        // Malformed data and contexts.
        assert_eq!(s.authenticate(0x81, &[0x10; 20]), AuthResult::Sw(StatusWord::WRONG_DATA));
        assert_eq!(s.authenticate(0x82, &[]), AuthResult::Sw(StatusWord(0x9864)));
        assert_eq!(s.authenticate(0x01, &[]), AuthResult::Sw(StatusWord::WRONG_P1_P2));
    }

    #[test]
    fn gsm_context_uses_c2_c3() {
        let mut s = sub();
        let rand = <[u8; 16]>::try_from(hex::decode(RAND).unwrap()).unwrap();
        let mut d = vec![0x10];
        d.extend_from_slice(&rand);
        let AuthResult::Data(r) = s.authenticate(0x80, &d) else { panic!() };
        // RES a54211d5e3ba50bf → SRES = a54211d5 ^ e3ba50bf.
        assert_eq!(hex::encode(&r[..5]), "0446f8416a");
        assert_eq!(r[5], 0x08);
        let keys = s.milenage().f2345(&rand);
        assert_eq!(&r[6..], &c3(&keys.ck, &keys.ik));
    }

    #[test]
    fn state_round_trip() {
        let mut s = sub();
        let rand = [7u8; 16];
        let av = s.milenage().generate_av(&rand, Sqn::new(0x41).unwrap(), [0, 0]);
        assert!(matches!(s.authenticate(0x81, &auth_data(&rand, &av.autn)), AuthResult::Data(_)));
        let entries = s.sqn().entries().to_vec();
        let again = Subscriber::new(*s.expose_k(), *s.expose_opc(), SqnParams::default(), &entries).unwrap();
        assert_eq!(again.sqn(), s.sqn());
        assert!(Subscriber::new([0; 16], [0; 16], SqnParams::default(), &[1, 2]).is_err());
        // A switch to other keys: the old vector no longer verifies, and the SQN array starts over.
        let mut switched = again.clone();
        switched.replace_keys([1; 16], [2; 16]);
        assert_eq!(switched.sqn().entries().iter().max(), Some(&0));
        assert_eq!(
            switched.authenticate(0x81, &auth_data(&rand, &av.autn)),
            AuthResult::Sw(StatusWord(0x9862))
        );
        let av2 = Milenage::new(&[1; 16], &[2; 16]).generate_av(&rand, Sqn::new(0x41).unwrap(), [0, 0]);
        assert!(matches!(switched.authenticate(0x81, &auth_data(&rand, &av2.autn)), AuthResult::Data(_)));
        assert!(!format!("{s:?}").contains("465b"));
    }
}

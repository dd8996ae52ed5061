//! The parties of S3-090907 other than the devices: the MNOs (IMSI range, subscriber database with AKA,
//! OTA server with its per-card keysets and counters) and the UICC manufacturer with its key escrow.
//!
//! Keys are generated per card from a per-party secret with AES-CMAC (NIST SP 800-38B used as a PRF,
//! label ‖ ICCID as input), so that a run is reproducible from its seed; a real party would draw them from
//! an HSM. Nothing here prints a key.

use std::collections::HashMap;
use std::sync::Arc;

use aes::Aes128;
use cmac::{Cmac, KeyInit, Mac};
use m2msim_codec::sms::Address;
use m2msim_scp80::counter::{CardId, CounterStore, MemoryCounterStore};
use m2msim_scp80::crypto::SecurityProvider;
use m2msim_scp80::keys::{Keysets, Kvn};
use m2msim_scp80::milenage::{Milenage, SqnGenerator, SqnParams};
use m2msim_scp80::ota_server::{Engine, EngineConfig};
use zeroize::Zeroizing;

use super::files::{
    ESCROW_ANSWER, EscrowAnswer, EscrowRequest, FileError, KeyRecord, KeysetRecord, Sealed, Secret,
    TransportKey,
};

/// A 16-byte value derived from `secret` for `label` and `id` (see the module docs).
#[must_use]
pub fn derive(secret: &[u8; 16], label: &str, id: &str) -> Zeroizing<[u8; 16]> {
    let mut mac = <Cmac<Aes128> as KeyInit>::new(secret.into());
    mac.update(label.as_bytes());
    mac.update(&[0]);
    mac.update(id.as_bytes());
    Zeroizing::new(mac.finalize().into_bytes().into())
}

/// An AES-128 OTA keyset (KIc AES-CBC, KID AES-CMAC 8, KIK AES) derived for a card.
#[must_use]
pub fn aes_keyset(secret: &[u8; 16], kvn: Kvn, label: &str, iccid: &str) -> KeysetRecord {
    let key = |what: &str| Secret::new(derive(secret, &format!("{label}/{what}"), iccid).as_ref());
    KeysetRecord {
        kvn: kvn.get(),
        kic: KeyRecord { algorithm: "aes".into(), key: key("kic"), mac_len: None },
        kid: KeyRecord { algorithm: "aes-cmac".into(), key: key("kid"), mac_len: Some(8) },
        kik: Some(KeyRecord { algorithm: "aes".into(), key: key("kik"), mac_len: None }),
    }
}

/// One subscription in an MNO's database.
pub struct Subscription {
    /// The IMSI.
    pub imsi: String,
    k: Secret,
    opc: Secret,
    milenage: Milenage,
    sqn: SqnGenerator,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").field("imsi", &self.imsi).finish_non_exhaustive()
    }
}

/// The outcome of an AKA run (TS 33.102 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AkaOutcome {
    /// RES = XRES.
    Authenticated {
        /// Resynchronisations needed first (the card's SQN was ahead of this network's).
        resyncs: u8,
    },
    /// RES ≠ XRES, a MAC failure, or no answer.
    Failed(&'static str),
}

/// An MNO: its name, PLMN, IMSI range, subscriber database, OTA server and transport keys.
#[derive(Debug)]
pub struct Mno {
    /// Its name (`MNO-A` …).
    pub name: String,
    /// MCC.
    pub mcc: String,
    /// MNC (2 or 3 digits).
    pub mnc: String,
    next_msin: u64,
    /// The subscriber database by ICCID.
    pub hss: HashMap<String, Subscription>,
    /// The OTA keys it holds, by ICCID.
    pub ota_keys: HashMap<String, Arc<Keysets>>,
    /// Its OTA server's counters.
    pub counters: Arc<MemoryCounterStore>,
    /// Its OTA server (taken while a campaign runs).
    pub engine: Option<Engine>,
    /// The OTA server's address (the originator of its SMS).
    pub address: Address,
    secret: Zeroizing<[u8; 16]>,
    rand_counter: u64,
}

impl Mno {
    /// An MNO with PLMN `mcc`/`mnc`, its OTA server at `address` (international digits).
    ///
    /// # Panics
    /// Never for the digits the scenario uses (checked by its tests).
    #[must_use]
    pub fn new(name: &str, mcc: &str, mnc: &str, address: &str, seed: u64) -> Self {
        let address = Address::international(address).unwrap_or_else(|_| unreachable!("fixed digits"));
        let counters = Arc::new(MemoryCounterStore::new());
        let mut config = EngineConfig::new(address);
        config.retry.timeout_ms = 30_000;
        let engine = Engine::new(config, counters.clone());
        let mut secret = [0u8; 16];
        secret[..8].copy_from_slice(&seed.to_be_bytes());
        secret[8..8 + name.len().min(8)].copy_from_slice(&name.as_bytes()[..name.len().min(8)]);
        Self {
            name: name.into(),
            mcc: mcc.into(),
            mnc: mnc.into(),
            next_msin: 1,
            hss: HashMap::new(),
            ota_keys: HashMap::new(),
            counters,
            engine: Some(engine),
            address,
            secret: Zeroizing::new(secret),
            rand_counter: 0,
        }
    }

    /// The MNC length.
    #[must_use]
    pub fn mnc_length(&self) -> u8 {
        u8::try_from(self.mnc.len()).unwrap_or(2)
    }

    /// Allocates the next IMSI of its range (MCC ‖ MNC ‖ MSIN, 15 digits).
    pub fn allocate_imsi(&mut self) -> String {
        let msin_len = 15 - self.mcc.len() - self.mnc.len();
        let imsi = format!("{}{}{:0msin_len$}", self.mcc, self.mnc, self.next_msin);
        self.next_msin += 1;
        imsi
    }

    /// A fresh OTA keyset for a card (for PUT KEY).
    #[must_use]
    pub fn new_ota_keyset(&self, kvn: Kvn, iccid: &str) -> KeysetRecord {
        aes_keyset(&self.secret, kvn, &format!("{}/ota", self.name), iccid)
    }

    /// Records a subscription: the IMSI with K and OPc. The network's SQN starts at SEQ 1.
    pub fn add_subscription(&mut self, iccid: &str, imsi: &str, k: &[u8; 16], opc: &[u8; 16]) {
        let sqn = SqnGenerator::new(SqnParams::default(), 1)
            .unwrap_or_else(|_| unreachable!("the default parameters are valid"));
        self.hss.insert(
            iccid.into(),
            Subscription {
                imsi: imsi.into(),
                k: Secret::new(k),
                opc: Secret::new(opc),
                milenage: Milenage::new(k, opc),
                sqn,
            },
        );
    }

    /// Records the OTA keys of a card, and the next counter its OTA server must use for `kvn` (the
    /// counter store keeps the last one used).
    ///
    /// # Errors
    /// [`FileError::Keyset`] for a record that is not a keyset.
    pub fn add_ota_keys(
        &mut self,
        iccid: &str,
        record: &KeysetRecord,
        next_counter: u64,
        provider: &dyn SecurityProvider,
    ) -> Result<(), FileError> {
        let keysets = record.to_keysets(provider)?;
        if next_counter > 1
            && let (Ok(card), Ok(kvn), Some(last)) = (
                CardId::new(iccid),
                Kvn::new(record.kvn),
                m2msim_scp80::counter::Counter::new(next_counter - 1),
            )
        {
            let _ = self.counters.set(&card, kvn, last);
        }
        self.ota_keys.insert(iccid.into(), Arc::new(keysets));
        Ok(())
    }

    /// The next counter this OTA server would use towards `iccid` with `kvn`.
    #[must_use]
    pub fn next_counter(&self, iccid: &str, kvn: Kvn) -> u64 {
        CardId::new(iccid).ok().and_then(|c| self.counters.current(&c, kvn).ok()).map_or(1, |c| c.get() + 1)
    }

    /// An authentication vector for the card's subscription: (RAND, AUTN, XRES), RAND derived from the
    /// MNO's secret and a counter.
    pub fn authentication_vector(&mut self, iccid: &str) -> Option<([u8; 16], [u8; 16], Vec<u8>)> {
        self.rand_counter += 1;
        let rand = *derive(&self.secret, "rand", &self.rand_counter.to_string());
        let sub = self.hss.get_mut(iccid)?;
        let sqn = sub.sqn.next_sqn().ok()?;
        let av = sub.milenage.generate_av(&rand, sqn, [0x80, 0x00]);
        Some((rand, av.autn, av.xres.to_vec()))
    }

    /// Resynchronises the network's SQN for the card from an AUTS (TS 33.102 §6.3.5).
    pub fn resync(&mut self, iccid: &str, rand: &[u8; 16], auts: &[u8; 14]) -> bool {
        let Some(sub) = self.hss.get_mut(iccid) else { return false };
        match sub.milenage.process_auts(rand, auts) {
            Ok(sqn_ms) => {
                sub.sqn.resync(sqn_ms);
                true
            }
            Err(_) => false,
        }
    }

    /// The IMSI it has for a card.
    #[must_use]
    pub fn imsi_of(&self, iccid: &str) -> Option<&str> {
        self.hss.get(iccid).map(|s| s.imsi.as_str())
    }

    /// K and OPc for the handover (3a step 5).
    #[must_use]
    pub fn export_keys(&self, iccid: &str) -> Option<(Secret, Secret)> {
        let s = self.hss.get(iccid)?;
        Some((s.k.clone(), s.opc.clone()))
    }
}

/// A pair of the card's list (3b): K, OPc and the OTA keyset.
#[derive(Debug, Clone)]
pub struct Pair {
    /// K.
    pub k: Secret,
    /// OPc.
    pub opc: Secret,
    /// The OTA keyset.
    pub ota: KeysetRecord,
}

/// Why the manufacturer refuses a request.
#[derive(Debug, thiserror::Error)]
pub enum EscrowError {
    /// No such card or index.
    #[error("no pair {index} for card {iccid}")]
    Unknown {
        /// The card.
        iccid: String,
        /// The index.
        index: u8,
    },
    /// The change to that pair was registered for another MNO (or for none).
    #[error("pair {index} of card {iccid} is not registered for {mno}")]
    NotRegistered {
        /// The card.
        iccid: String,
        /// The index.
        index: u8,
        /// Who asked.
        mno: String,
    },
    /// No transport key agreed with that MNO.
    #[error("no transport key agreed with {0}")]
    NoTransportKey(String),
    /// Sealing failed.
    #[error(transparent)]
    File(#[from] FileError),
}

/// The UICC manufacturer of Alt 3b: personalises the cards with their lists and keeps them in escrow,
/// revealing each pair only to the MNO the change to it was registered for (by the M2M operator).
#[derive(Debug, Default)]
pub struct Manufacturer {
    pairs: HashMap<String, Vec<Pair>>,
    registered: HashMap<(String, u8), String>,
    transport: HashMap<String, TransportKey>,
    nonce: u64,
}

impl Manufacturer {
    /// Generates the list of `count` pairs for a card (index 1 = the first).
    pub fn personalise(&mut self, iccid: &str, count: u8, seed: u64, kvn: Kvn) -> Vec<Pair> {
        let mut secret = [0x4Du8; 16];
        secret[..8].copy_from_slice(&seed.to_be_bytes());
        let list: Vec<Pair> = (1..=count)
            .map(|i| Pair {
                k: Secret::new(derive(&secret, &format!("k/{i}"), iccid).as_ref()),
                opc: Secret::new(derive(&secret, &format!("opc/{i}"), iccid).as_ref()),
                ota: aes_keyset(&secret, kvn, &format!("ota/{i}"), iccid),
            })
            .collect();
        self.pairs.insert(iccid.into(), list.clone());
        list
    }

    /// Agrees a transport key with an MNO.
    pub fn agree_transport_key(&mut self, mno: &str, key: TransportKey) {
        self.transport.insert(mno.into(), key);
    }

    /// Registers that pair `index` of `iccid` goes to `mno` (the M2M operator's instruction).
    pub fn register(&mut self, iccid: &str, index: u8, mno: &str) {
        self.registered.insert((iccid.into(), index), mno.into());
    }

    /// Answers a request: the pair, sealed to the asking MNO's transport key.
    ///
    /// # Errors
    /// [`EscrowError`].
    pub fn request(&mut self, req: &EscrowRequest) -> Result<Sealed, EscrowError> {
        let pair = self
            .pairs
            .get(&req.iccid)
            .and_then(|l| l.get(usize::from(req.index).wrapping_sub(1)))
            .ok_or_else(|| EscrowError::Unknown { iccid: req.iccid.clone(), index: req.index })?;
        if self.registered.get(&(req.iccid.clone(), req.index)) != Some(&req.mno) {
            return Err(EscrowError::NotRegistered {
                iccid: req.iccid.clone(),
                index: req.index,
                mno: req.mno.clone(),
            });
        }
        let key = self.transport.get(&req.mno).ok_or_else(|| EscrowError::NoTransportKey(req.mno.clone()))?;
        let answer = EscrowAnswer {
            iccid: req.iccid.clone(),
            index: req.index,
            k: pair.k.clone(),
            opc: pair.opc.clone(),
            ota: pair.ota.clone(),
        };
        self.nonce += 1;
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&self.nonce.to_be_bytes());
        Ok(key.seal(ESCROW_ANSWER, &answer, nonce)?)
    }
}

//! The files the parties of S3-090907 exchange, as JSON documents, and the transport-key envelope that
//! protects those that carry keys.
//!
//! | file | from → to | step (3a / 3b) | protected |
//! |---|---|---|---|
//! | [`ImsiList`]: ICCID, new IMSI, MNC length per device | MNO B → MNO A | 3 / 4 | no (no keys) |
//! | [`HandoverList`]: ICCID, new IMSI, K, OPc, the OTA keyset (KVN, KIc/KID/KIK), the next counter | MNO A → MNO B | 5 / — | sealed |
//! | [`IndexNotice`]: ICCID, new IMSI, index of the pair now active | MNO A → MNO B | — / 6 | no (no keys) |
//! | [`EscrowRequest`]: requesting MNO, ICCID, index | MNO B → manufacturer | — / 7 | no |
//! | [`EscrowAnswer`]: ICCID, index, K, OPc, the pair's OTA keyset | manufacturer → MNO B | — / 7 | sealed |
//!
//! The contribution does not say how these travel; in the field they are files exchanged under a
//! bilateral agreement, keys wrapped with a transport key agreed beforehand (as SIM vendors' "output
//! files" are). Decision: JSON with hex strings (the key file names of `m2msim_scp80::keys` for the
//! algorithms), and a [`Sealed`] envelope for the files with keys: AES-128-GCM (NIST SP 800-38D) under a
//! [`TransportKey`] shared by the two parties, the 96-bit nonce unique per file, the AAD binding the
//! envelope's own header fields (format, algorithm, key id, content type), so a handover list cannot be
//! replayed as an escrow answer or opened under another key id. A tampered byte anywhere fails the open.
//!
//! Secrets ([`Secret`]) print as `<redacted>` and are zeroised on drop; the JSON text of a sealed file's
//! plaintext is zeroised after use.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Nonce};
use m2msim_scp80::crypto::{ChecksumAlgorithm, SecurityProvider};
use m2msim_scp80::keys::{self, Keyset, Keysets};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::{Zeroize, Zeroizing};

/// Errors reading the files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The envelope does not open: wrong key, tampered header or ciphertext.
    #[error("the sealed file does not open under transport key {key_id:?} (wrong key, or tampered)")]
    Unsealed {
        /// The key id tried.
        key_id: String,
    },
    /// The envelope's header is not what was expected.
    #[error("sealed file: {0}")]
    Header(&'static str),
    /// The JSON does not describe the document.
    #[error("JSON: {0}")]
    Json(String),
    /// A keyset record is not a valid keyset.
    #[error("keyset record: {0}")]
    Keyset(String),
}

/// Key bytes in a file: hex in JSON, `<redacted>` in Debug, zeroised on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Wraps key bytes.
    #[must_use]
    pub fn new(bytes: &[u8]) -> Self {
        Self(Zeroizing::new(bytes.to_vec()))
    }

    /// The bytes.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The bytes as a 16-byte key (K, OPc).
    ///
    /// # Errors
    /// [`FileError::Keyset`] when the length is not 16.
    pub fn expose16(&self) -> Result<[u8; 16], FileError> {
        <[u8; 16]>::try_from(self.expose()).map_err(|_| FileError::Keyset("a 16-byte key".into()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&Zeroizing::new(hex::encode(self.expose())))
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Zeroizing::new(String::deserialize(d)?);
        hex::decode(text.as_str())
            .map(|mut v| {
                let s = Self::new(&v);
                v.zeroize();
                s
            })
            .map_err(|_| serde::de::Error::custom("a key in hex"))
    }
}

/// One key of a keyset record: the algorithm as in the key file format of `m2msim_scp80::keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRecord {
    /// `3des2`, `aes`, `3des2-mac`, `aes-cmac` …
    pub algorithm: String,
    /// The key.
    pub key: Secret,
    /// The CMAC length (4 or 8) for `aes-cmac`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_len: Option<u8>,
}

/// An OTA keyset (TS 102 225 Annex A: KVN, KIc, KID, KIK) in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysetRecord {
    /// The key version number.
    pub kvn: u8,
    /// The ciphering key.
    pub kic: KeyRecord,
    /// The RC/CC key.
    pub kid: KeyRecord,
    /// The key-encryption key (PUT KEY).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kik: Option<KeyRecord>,
}

impl KeysetRecord {
    /// The record of a keyset.
    #[must_use]
    pub fn of(ks: &Keyset) -> Self {
        let kic = ks.kic().spec();
        let kid = ks.kid().spec();
        Self {
            kvn: ks.kvn().get(),
            kic: KeyRecord {
                algorithm: keys::cipher_file_name(kic.algorithm()).unwrap_or("unknown").into(),
                key: Secret::new(kic.key().expose_secret()),
                mac_len: None,
            },
            kid: KeyRecord {
                algorithm: keys::checksum_file_name(kid.algorithm()).unwrap_or("unknown").into(),
                key: Secret::new(kid.key().map(|k| k.expose_secret()).unwrap_or_default()),
                mac_len: match kid.algorithm() {
                    ChecksumAlgorithm::AesCmac { len } => Some(u8::from(len)),
                    _ => None,
                },
            },
            kik: ks.kik().map(|k| KeyRecord {
                algorithm: keys::cipher_file_name(k.spec().algorithm()).unwrap_or("unknown").into(),
                key: Secret::new(k.spec().key().expose_secret()),
                mac_len: None,
            }),
        }
    }

    /// The record as a key file (`m2msim_scp80::keys` format), for [`Keysets::from_toml`].
    #[must_use]
    pub fn to_key_file(&self) -> Zeroizing<String> {
        let key = |k: &KeyRecord| {
            let mac = k.mac_len.map(|n| format!(", mac_len = {n}")).unwrap_or_default();
            format!("{{ algorithm = \"{}\", key = \"{}\"{mac} }}", k.algorithm, hex::encode(k.key.expose()))
        };
        let mut s =
            format!("[[keyset]]\nkvn = {}\nkic = {}\nkid = {}\n", self.kvn, key(&self.kic), key(&self.kid));
        if let Some(kik) = &self.kik {
            s.push_str(&format!("kik = {}\n", key(kik)));
        }
        Zeroizing::new(s)
    }

    /// The record as one `[[keyset]]` table of a key file (for card profiles).
    #[must_use]
    pub fn to_toml_table(&self) -> toml::Table {
        let text = self.to_key_file();
        toml::from_str::<toml::Table>(&text)
            .ok()
            .and_then(|t| t.get("keyset")?.as_array()?.first()?.as_table().cloned())
            .unwrap_or_default()
    }

    /// The keyset, expanded with `provider`.
    ///
    /// # Errors
    /// [`FileError::Keyset`] for unknown algorithms or key lengths that do not fit.
    pub fn to_keysets(&self, provider: &dyn SecurityProvider) -> Result<Keysets, FileError> {
        Keysets::from_toml(&self.to_key_file(), provider).map_err(|e| FileError::Keyset(e.to_string()))
    }
}

/// Steps 3 (3a) / 4 (3b): the IMSIs MNO B allocated for the devices that move to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImsiList {
    /// The operator that allocated them.
    pub from: String,
    /// The operator that will write them.
    pub to: String,
    /// One entry per device.
    pub entries: Vec<ImsiEntry>,
}

/// One device of an [`ImsiList`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImsiEntry {
    /// The card (EF_ICCID digits).
    pub iccid: String,
    /// The new IMSI.
    pub imsi: String,
    /// The MNC length of the new IMSI (2 or 3), for EF_AD.
    pub mnc_length: u8,
}

/// Step 5 (3a): what MNO B needs to serve a device: sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoverList {
    /// The operator handing over.
    pub from: String,
    /// The operator taking over.
    pub to: String,
    /// One entry per device moved.
    pub entries: Vec<HandoverEntry>,
}

/// One device of a [`HandoverList`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoverEntry {
    /// The card.
    pub iccid: String,
    /// Its IMSI now.
    pub imsi: String,
    /// The subscriber key (unchanged by 3a).
    pub k: Secret,
    /// OPc.
    pub opc: Secret,
    /// The OTA keyset the card holds.
    pub ota: KeysetRecord,
    /// The next counter value the card accepts for that keyset (the last one it saw + 1).
    pub next_counter: u64,
}

/// Step 6 (3b): which pair each device now uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexNotice {
    /// The operator that switched the cards.
    pub from: String,
    /// The operator now serving them.
    pub to: String,
    /// One entry per device.
    pub entries: Vec<IndexEntry>,
}

/// One device of an [`IndexNotice`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexEntry {
    /// The card (the "UICC ID").
    pub iccid: String,
    /// Its IMSI now.
    pub imsi: String,
    /// The index of the active pair.
    pub index: u8,
}

/// Step 7 (3b): an operator asks the manufacturer for a pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscrowRequest {
    /// The operator asking.
    pub mno: String,
    /// The card.
    pub iccid: String,
    /// The pair.
    pub index: u8,
}

/// Step 7 (3b): the manufacturer's answer: sealed to the asking operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscrowAnswer {
    /// The card.
    pub iccid: String,
    /// The pair.
    pub index: u8,
    /// K of the pair.
    pub k: Secret,
    /// OPc of the pair.
    pub opc: Secret,
    /// The OTA keyset of the pair.
    pub ota: KeysetRecord,
}

/// The envelope format name.
pub const SEALED_FORMAT: &str = "m2msim-sealed/1";
/// The only algorithm.
pub const SEALED_ALG: &str = "A128GCM";

/// A document sealed under a [`TransportKey`] (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sealed {
    /// [`SEALED_FORMAT`].
    pub format: String,
    /// [`SEALED_ALG`].
    pub alg: String,
    /// The transport key's id.
    pub key_id: String,
    /// What the plaintext is (`handover-list`, `escrow-answer`).
    pub content_type: String,
    /// The 12-byte nonce (hex).
    #[serde(with = "m2msim_codec::hexser")]
    pub nonce: Vec<u8>,
    /// Ciphertext ‖ 16-byte tag (hex).
    #[serde(with = "m2msim_codec::hexser")]
    pub ciphertext: Vec<u8>,
}

impl Sealed {
    fn aad(&self) -> String {
        format!("{}\n{}\n{}\n{}", self.format, self.alg, self.key_id, self.content_type)
    }
}

/// A transport key agreed between two parties (AES-128).
pub struct TransportKey {
    id: String,
    cipher: Aes128Gcm,
}

impl fmt::Debug for TransportKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportKey").field("id", &self.id).field("key", &"<redacted>").finish()
    }
}

impl TransportKey {
    /// A key with its id.
    #[must_use]
    pub fn new(id: impl Into<String>, key: &[u8; 16]) -> Self {
        Self { id: id.into(), cipher: Aes128Gcm::new(key.into()) }
    }

    /// Its id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Seals `value` as `content_type` with `nonce` (unique per file under this key: the caller's sequence
    /// number or random bytes).
    ///
    /// # Errors
    /// [`FileError::Json`] if the value does not serialise.
    pub fn seal<T: Serialize>(
        &self,
        content_type: &str,
        value: &T,
        nonce: [u8; 12],
    ) -> Result<Sealed, FileError> {
        let plain = Zeroizing::new(serde_json::to_vec(value).map_err(|e| FileError::Json(e.to_string()))?);
        let mut sealed = Sealed {
            format: SEALED_FORMAT.into(),
            alg: SEALED_ALG.into(),
            key_id: self.id.clone(),
            content_type: content_type.into(),
            nonce: nonce.to_vec(),
            ciphertext: Vec::new(),
        };
        let aad = sealed.aad();
        sealed.ciphertext = self
            .cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: &plain, aad: aad.as_bytes() })
            .map_err(|_| FileError::Header("encryption failed"))?;
        Ok(sealed)
    }

    /// Opens a sealed `content_type` document.
    ///
    /// # Errors
    /// [`FileError::Header`] for another format, algorithm, key id or content type, or a nonce that is not
    /// 12 bytes; [`FileError::Unsealed`] when the tag does not verify; [`FileError::Json`].
    pub fn open<T: DeserializeOwned>(&self, sealed: &Sealed, content_type: &str) -> Result<T, FileError> {
        if sealed.format != SEALED_FORMAT || sealed.alg != SEALED_ALG {
            return Err(FileError::Header("unknown format or algorithm"));
        }
        if sealed.key_id != self.id {
            return Err(FileError::Header("sealed under another transport key"));
        }
        if sealed.content_type != content_type {
            return Err(FileError::Header("another kind of document"));
        }
        let aad = sealed.aad();
        let nonce = <[u8; 12]>::try_from(sealed.nonce.as_slice())
            .map_err(|_| FileError::Header("the nonce has 12 bytes"))?;
        let plain = Zeroizing::new(
            self.cipher
                .decrypt(&Nonce::from(nonce), Payload { msg: &sealed.ciphertext, aad: aad.as_bytes() })
                .map_err(|_| FileError::Unsealed { key_id: self.id.clone() })?,
        );
        serde_json::from_slice(&plain).map_err(|e| FileError::Json(e.to_string()))
    }
}

/// Content type of a sealed [`HandoverList`].
pub const HANDOVER_LIST: &str = "handover-list";
/// Content type of a sealed [`EscrowAnswer`].
pub const ESCROW_ANSWER: &str = "escrow-answer";

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> KeysetRecord {
        KeysetRecord {
            kvn: 1,
            kic: KeyRecord { algorithm: "aes".into(), key: Secret::new(&[1; 16]), mac_len: None },
            kid: KeyRecord { algorithm: "aes-cmac".into(), key: Secret::new(&[2; 16]), mac_len: Some(8) },
            kik: Some(KeyRecord { algorithm: "aes".into(), key: Secret::new(&[3; 16]), mac_len: None }),
        }
    }

    fn list() -> HandoverList {
        HandoverList {
            from: "MNO-A".into(),
            to: "MNO-B".into(),
            entries: vec![HandoverEntry {
                iccid: "8988211000000000011".into(),
                imsi: "001019876543210".into(),
                k: Secret::new(&[4; 16]),
                opc: Secret::new(&[5; 16]),
                ota: record(),
                next_counter: 7,
            }],
        }
    }

    #[test]
    fn sealed_round_trip_and_every_tamper_fails() {
        let key = TransportKey::new("A-B-2026", &[9; 16]);
        let sealed = key.seal(HANDOVER_LIST, &list(), [1; 12]).unwrap();
        let text = serde_json::to_string(&sealed).unwrap();
        assert!(!text.contains(&hex::encode([4u8; 16])), "K in the clear: {text}");
        let opened: HandoverList = key.open(&serde_json::from_str(&text).unwrap(), HANDOVER_LIST).unwrap();
        assert_eq!(opened, list());
        for i in 0..sealed.ciphertext.len() {
            let mut t = sealed.clone();
            t.ciphertext[i] ^= 0x01;
            assert!(matches!(key.open::<HandoverList>(&t, HANDOVER_LIST), Err(FileError::Unsealed { .. })));
        }
        let mut t = sealed.clone();
        t.nonce[0] ^= 1;
        assert!(key.open::<HandoverList>(&t, HANDOVER_LIST).is_err());
        // Another content type, another key id, another key with the same id.
        assert!(matches!(key.open::<HandoverList>(&sealed, ESCROW_ANSWER), Err(FileError::Header(_))));
        let mut t = sealed.clone();
        t.content_type = ESCROW_ANSWER.into();
        assert!(matches!(key.open::<HandoverList>(&t, ESCROW_ANSWER), Err(FileError::Unsealed { .. })));
        assert!(TransportKey::new("other", &[9; 16]).open::<HandoverList>(&sealed, HANDOVER_LIST).is_err());
        assert!(
            TransportKey::new("A-B-2026", &[8; 16]).open::<HandoverList>(&sealed, HANDOVER_LIST).is_err()
        );
    }

    #[test]
    fn keyset_record_builds_the_keyset_and_back() {
        let r = record();
        let ks = r.to_keysets(&m2msim_scp80::crypto::RustCryptoProvider::new()).unwrap();
        let back = KeysetRecord::of(ks.iter().next().unwrap());
        assert_eq!(back, r);
        assert!(!format!("{r:?}").contains("0101"));
        let mut bad = r;
        bad.kic.key = Secret::new(&[1; 5]);
        assert!(bad.to_keysets(&m2msim_scp80::crypto::RustCryptoProvider::new()).is_err());
    }
}

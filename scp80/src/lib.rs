//! # m2msim-scp80
//!
//! SIM-side security for SCP80 OTA (GSM 03.48 → ETSI TS 102 225 / 3GPP TS 31.115) and the AKA functions
//! of the subscription it provisions: the primitives, and securing / verifying whole packets on both sides on
//! top of the framing in `m2msim_codec::ota`.
//!
//! - [`crypto`]: the KIc ciphers (DES, 3DES 2/3-key, AES, CBC with a zero IV; DES-ECB) and the KID checks
//!   (CRC16/CRC32 redundancy checks, DES/3DES CBC-MAC, AES-CMAC) behind the [`crypto::SecurityProvider`]
//!   trait, with key schedules expanded once ([`crypto::ExpandedCipher`], [`crypto::ExpandedChecksum`]).
//! - [`keys`]: [`keys::SecretKey`] (zeroized, redacted, compared in constant time), [`keys::Keyset`]
//!   (KVN with KIc, KID and KIK, TS 102 225 Annex A) and the TOML key file format ([`keys::Keysets`]).
//! - [`counter`]: replay counters (CNTR, 5 bytes) per card and KVN behind [`counter::CounterStore`], with
//!   an in-memory and a crash-safe file-backed store.
//! - [`packet`]: the sending side of secured packets: [`packet::secure_command`] for every transport and
//!   SPI, [`packet::CommandSender`] (counter reserved first), PoR verification ([`packet::verify_por`]).
//! - [`card`]: the receiving side: [`card::CardSecurity`] checks and deciphers command packets in the
//!   order of the spec and builds the PoR the SPI asks for.
//! - [`mcim`]: protection of the MCIM package of S3-090905 (ECIES P-256 / HKDF-SHA256 / AES-128-GCM, the
//!   SHO's ECDSA signature), the TRE's validation report signature, the DRF's bootstrap key and MAC.
//! - [`milenage`]: Milenage f1–f5* (3GPP TS 35.206), authentication vectors, AUTN checks, AUTS and the
//!   sequence number management of TS 33.102 Annex C.
//! - [`uicc`]: a simulated UICC (sans-IO, APDU in / APDU out): file system with the USIM and the 2G view,
//!   PINs, AUTHENTICATE, the toolkit side (ENVELOPE, FETCH, TERMINAL RESPONSE), RFM / RAM (PUT KEY) / REFRESH
//!   applets by TAR behind [`card::CardSecurity`], TOML profiles and card files; with the feature `cli`, a
//!   TCP server (`uicc::server`: APDU framing and vsmartcard vpcd).
//! - [`terminal`]: a simulated terminal (ME) driving a card: SMS-PP download, PoR in the DELIVER-REPORT or
//!   from SEND SHORT MESSAGE, REFRESH, AKA.
//! - [`peerfuzz`]: fuzzing a card (`scp80 fuzz`), SIMTester-style: TAR scan, keyset scan, minimum
//!   security level, PoR anomalies, mutated packets and TPDUs; over the simulated card's TCP socket or PC/SC.
//! - [`ota_server`]: the OTA server's campaign engine (sans-IO: jobs in, SMS-DELIVERs out, PoRs in,
//!   reports out; counters persisted before sending; retries; thousands of jobs in flight) and an
//!   in-process driver that runs it against a fleet of simulated cards and terminals.
//!
//! Nothing here reads a clock or draws randomness (the CLI's TCP server aside): RAND values and counters are passed
//! in, so that every function can be called from a CLI or a test with fixed inputs.

pub mod card;
pub mod counter;
pub mod crypto;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod keys;
pub mod mcim;
pub mod milenage;
pub mod ota_server;
pub mod packet;
pub mod peerfuzz;
pub mod terminal;
pub mod uicc;

pub use crypto::{
    ChecksumAlgorithm, ChecksumKind, CipherAlgorithm, CmacLen, CryptoError, ExpandedChecksum, ExpandedCipher,
    RustCryptoProvider, SecurityProvider,
};
pub use keys::{Keyset, Keysets, Kvn, SecretKey};

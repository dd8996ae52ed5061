//! # m2msim-codec
//!
//! Byte-exact codecs for every format m2msim speaks. The crate is pure: no I/O, no clock, no randomness and
//! no ciphers (those live in `m2msim-scp80`).
//!
//! SIM side:
//! - [`apdu`]: command and response APDUs and status words (ISO/IEC 7816-4, TS 102 221, TS 51.011).
//! - [`tlv`]: BER-TLV and COMPREHENSION-TLV (TS 101 220 §7.1).
//! - [`ota`]: secured packet framing of TS 102 225 / TS 31.115 (SPI, KIc, KID, TAR, CNTR, PoR status) for
//!   SMS-PP, SMS-CB, CAT_TP, TCP/IP and USSD, with the exact bytes an RC/CC covers.
//! - [`sms`]: SMS TPDUs of TS 23.040 (DELIVER, SUBMIT, DELIVER-REPORT, STATUS-REPORT), the user-data header
//!   and concatenation.
//! - [`cat`]: card application toolkit objects of TS 102 223 / TS 31.111 (ENVELOPE SMS-PP download, SEND
//!   SHORT MESSAGE, REFRESH, TERMINAL RESPONSE).
//! - [`rfm`]: remote command scripts of TS 102 226 (compact and expanded) and their responses.
//! - [`sim`]: contents of elementary files (EF_IMSI, EF_ICCID, EF_AD, EF_LOCI, EF_PSLOCI, EF_EPSLOCI, PLMN ids).
//!
//! OMA DM side:
//! - [`wbxml`]: WBXML 1.0–1.3 documents (WAP-192-WBXML), lossless, with the SyncML, MetInf, DM DDF and
//!   DevInf code pages.
//! - [`xml`]: XML documents, lossless, on `quick-xml` (strict and a documented lenient mode).
//! - [`syncml`]: SyncML DM messages: the typed message model (`SyncMl`, commands, items, meta, data) with
//!   builders and size helpers; status and alert codes; the element tree both encodings convert to and
//!   from, with reference profiles that write it byte for byte like libwbxml and the OMA SyncML RTK.
//! - [`dm`]: authentication (basic, MD5 digest, `x-syncml-hmac`), package 0, and the DDF / TNDS model and
//!   codec.
//! - [`mo`]: the M2MSIMMobj object of TR 33.812 / S3-090905 (DDF, State and Result codes) and its byte
//!   formats: the protected MCIM package, the MCIM plaintext, the TRE's validation data, the MCIM
//!   provisioning context.
//!
//! Every binary format implements [`Decode`] and [`Encode`]; for every input that decodes,
//! `encode(decode(b)) == b`. On the OTA receive path (ENVELOPE SMS-PP download → SMS-DELIVER → UDH →
//! command packet) borrowed zero-copy views ([`DecodeRef`]: `cat::EnvelopeRef`, `cat::SmsPpDownloadRef`,
//! `sms::DeliverRef`, `sms::UserDataRef`, `sms::UdhRef`, `ota::CommandPacketRef`) decode without
//! allocating; the owned decoders are built on their parsing code. Decoders return a [`DecodeError`] with the absolute byte offset of the problem
//! and never panic.

pub mod apdu;
pub mod cat;
pub mod dm;
pub mod error;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod hexser;
pub mod mo;
pub mod ota;
pub mod reader;
pub mod rfm;
pub mod sim;
pub mod sms;
pub mod syncml;
pub mod testdata;
pub mod tlv;
pub mod wbxml;
pub mod xml;

pub use error::{DecodeError, DecodeErrorKind, DecodeResult};
pub use reader::{Decode, DecodeRef, Encode, Reader, decode_exact};

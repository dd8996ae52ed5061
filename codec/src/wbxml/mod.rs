//! WBXML 1.0–1.3 documents (WAP-192-WBXML-20010725 "Binary XML Content Format"), lossless.
//!
//! A [`Document`] is the header (version, public identifier, charset, string table) and the body as a flat
//! [`Token`] stream checked against the WBXML grammar (§5.3): tags with their attribute/content bits,
//! `END`, `SWITCH_PAGE`, `STR_I`, `STR_T`, `OPAQUE`, `ENTITY`, `EXT_I_*`, `EXT_T_*`, `EXT_*`, `PI`, `LITERAL`,
//! `LITERAL_C`, `LITERAL_A`, `LITERAL_AC`, attribute starts and values. Every choice the encoder made is kept
//! in the value, so that `encode(decode(b)) == b` for every input that decodes: non-minimal `mb_u_int32`
//! ([`MbUint32::pad`]), the raw string table (unused entries, missing terminators), `STR_I` vs `STR_T` vs
//! `OPAQUE`, redundant `SWITCH_PAGE`s and the three empty-`Data` forms (`0F`, `4F 01`, `4F 03 00 01`).
//!
//! Documents nested in `OPAQUE` (DM TNDS/DDF, DevInf) are decoded as [`OpaqueData::Document`] when the
//! enclosing `Meta`/`Type` says `…+wbxml` or when the bytes decode as a complete DDF or DevInf document, and
//! re-encoded byte for byte.
//!
//! The tag tables of the SyncML languages are in [`codepage`].
//!
//! Bounds: element nesting is capped at [`MAX_DEPTH`], nested documents at [`MAX_NESTED_DOCUMENTS`]; every
//! length (string table, `OPAQUE`) is checked against what remains before anything is allocated, and string
//! table lookups are `O(log n)` ([`StringTable`]).

pub mod codepage;
mod document;

pub(crate) use document::is_wbxml_type;
pub use document::{
    Document, Header, MAX_DEPTH, MAX_NESTED_DOCUMENTS, MbUint32, OpaqueData, PublicId, StringTable, Token,
    TokenRef, TokenSink, global, str_t_expansion_limit,
};

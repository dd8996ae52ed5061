//! `m2mcodec`: decode and encode every m2msim byte format from the command line.
//!
//! ```text
//! m2mcodec decode KIND HEX [--pretty]    bytes → JSON
//! m2mcodec encode KIND < JSON            JSON → hex (JSON → hex → JSON is stable)
//! m2mcodec kinds                         the KINDs, one per line with what they are
//! ```
//! Bad input exits with code 2 and one line naming the byte offset and what was expected.

use std::io::Read as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use m2msim_codec::tlv::ber::BerTlv;
use m2msim_codec::tlv::comprehension::Ctlv;
use m2msim_codec::{Decode, Encode};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Decode and encode SIM OTA, SMS, CAT, APDU, RFM, EF and SyncML DM bytes.
///
/// Hex input may contain spaces, colons and a 0x prefix. Output JSON shows byte fields as hex; feeding that
/// JSON back to `encode` gives the same bytes, including non-minimal lengths and unknown fields.
#[derive(Parser)]
#[command(name = "m2mcodec", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Decode HEX as KIND and print it as JSON.
    ///
    /// Example: m2mcodec decode ber-tlv 'AA 07 22 05 80E2900000'
    Decode {
        /// What the bytes are (see `m2mcodec kinds`).
        kind: String,
        /// The bytes, in hex.
        hex: String,
        /// Indent the JSON.
        #[arg(long)]
        pretty: bool,
    },
    /// Read KIND as JSON on stdin (as printed by `decode`) and print its bytes in hex.
    Encode {
        /// What the JSON describes (see `m2mcodec kinds`).
        kind: String,
    },
    /// List the KINDs that decode and encode understand.
    Kinds,
}

/// One decodable/encodable format.
struct Kind {
    name: &'static str,
    about: &'static str,
    decode: fn(&[u8]) -> Result<serde_json::Value, String>,
    encode: fn(serde_json::Value) -> Result<Vec<u8>, String>,
}

fn dec<T: Decode + Serialize>(b: &[u8]) -> Result<serde_json::Value, String> {
    let v = T::decode_exact(b).map_err(|e| e.to_string())?;
    serde_json::to_value(v).map_err(|e| e.to_string())
}

fn enc<T: Encode + DeserializeOwned>(j: serde_json::Value) -> Result<Vec<u8>, String> {
    let v: T = serde_json::from_value(j).map_err(|e| format!("bad JSON: {e}"))?;
    Ok(v.encode())
}

macro_rules! kind {
    ($name:literal, $about:literal, $t:ty) => {
        Kind { name: $name, about: $about, decode: dec::<$t>, encode: enc::<$t> }
    };
}

const KINDS: &[Kind] = &[
    kind!(
        "ber-tlv",
        "one BER-TLV object (ISO/IEC 7816-4, TS 101 220 §7.1.2), definite or indefinite",
        BerTlv
    ),
    kind!("ctlv", "one COMPREHENSION-TLV object (TS 101 220 §7.1.1)", Ctlv),
];

fn find_kind(name: &str) -> Result<&'static Kind, String> {
    KINDS.iter().find(|k| k.name == name).ok_or_else(|| {
        let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        format!("unknown kind `{name}`; kinds: {}", names.join(", "))
    })
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.cmd {
        Cmd::Decode { kind, hex, pretty } => {
            let k = find_kind(&kind)?;
            let bytes = m2msim_codec::hexser::parse_hex(&hex).map_err(|e| format!("bad hex: {e}"))?;
            let v = (k.decode)(&bytes)?;
            let s = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) };
            println!("{}", s.map_err(|e| e.to_string())?);
        }
        Cmd::Encode { kind } => {
            let k = find_kind(&kind)?;
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input).map_err(|e| format!("reading stdin: {e}"))?;
            let j: serde_json::Value = serde_json::from_str(&input).map_err(|e| format!("bad JSON: {e}"))?;
            println!("{}", hex::encode((k.encode)(j)?));
        }
        Cmd::Kinds => {
            for k in KINDS {
                println!("{:<20} {}", k.name, k.about);
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("m2mcodec: {e}");
            ExitCode::from(2)
        }
    }
}

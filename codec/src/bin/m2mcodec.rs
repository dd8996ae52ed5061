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
use m2msim_codec::dm::pkg0::Package0;
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
    /// Build or verify an OMA DM package 0 (server-alert notification, DM 1.2.1 Notification §6.2).
    #[command(subcommand)]
    Pkg0(Pkg0Cmd),
    /// Compute SyncML DM credentials (DM 1.2.1 Security §5.1.3–5.1.4).
    #[command(subcommand)]
    Auth(AuthCmd),
}

#[derive(Subcommand)]
enum Pkg0Cmd {
    /// Build a package 0 and print it in hex.
    ///
    /// Example: m2mcodec pkg0 build --server-id com.example.dm --password srvpw --nonce 00112233
    ///          --session-id 0x1A2B --ui-mode background --initiator server
    Build {
        /// Server identifier (DMAcc ServerID).
        #[arg(long)]
        server_id: String,
        /// The server password as the client knows it (AppAuth SRVCRED AAuthSecret).
        #[arg(long)]
        password: String,
        /// The server nonce in hex (AppAuth SRVCRED AAuthData).
        #[arg(long)]
        nonce: String,
        /// Session id, decimal or 0x-prefixed hex (1..65535).
        #[arg(long, value_parser = parse_u16)]
        session_id: u16,
        /// UI mode.
        #[arg(long, value_enum, default_value = "not-specified")]
        ui_mode: UiModeArg,
        /// Who initiates.
        #[arg(long, value_enum, default_value = "server")]
        initiator: InitiatorArg,
        /// Notification version ×10 (10, 11 or 12); 11 is what every known client accepts.
        #[arg(long, default_value_t = m2msim_codec::dm::pkg0::DEFAULT_VERSION)]
        version: u16,
        /// Vendor-specific trigger body, hex.
        #[arg(long, default_value = "")]
        body: String,
    },
    /// Verify the digest of a package 0: exit 0 if it holds, 1 if not.
    Verify {
        /// Server identifier the package must name.
        #[arg(long)]
        server_id: String,
        /// The server password.
        #[arg(long)]
        password: String,
        /// The server nonce in hex.
        #[arg(long)]
        nonce: String,
        /// The package 0, hex.
        hex: String,
    },
}

#[derive(Subcommand)]
enum AuthCmd {
    /// The syncml:auth-basic credential B64(user:password).
    Basic {
        /// User name (Source/LocName).
        #[arg(long)]
        user: String,
        /// Password.
        #[arg(long)]
        password: String,
    },
    /// The syncml:auth-md5 credential B64(H(B64(H(user:password)):nonce)).
    Md5 {
        /// User name (Source/LocName).
        #[arg(long)]
        user: String,
        /// Password.
        #[arg(long)]
        password: String,
        #[command(flatten)]
        nonce: NonceArg,
    },
    /// The value of the x-syncml-hmac header for a message body.
    Hmac {
        /// User name.
        #[arg(long)]
        user: String,
        /// Password.
        #[arg(long)]
        password: String,
        #[command(flatten)]
        nonce: NonceArg,
        /// File holding the message body exactly as sent (XML or WBXML).
        #[arg(long)]
        body_file: std::path::PathBuf,
    },
}

#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct NonceArg {
    /// The nonce as the NextNonce text (base64), decoded before use.
    #[arg(long)]
    nonce_b64: Option<String>,
    /// The nonce bytes in hex.
    #[arg(long)]
    nonce_hex: Option<String>,
}

impl NonceArg {
    fn bytes(&self) -> Result<Vec<u8>, String> {
        match (&self.nonce_b64, &self.nonce_hex) {
            (Some(b), _) => {
                m2msim_codec::dm::auth::decode_b64(b).ok_or_else(|| "bad --nonce-b64: not base64".into())
            }
            (_, Some(h)) => hex_arg("--nonce-hex", h),
            _ => Err("give --nonce-b64 or --nonce-hex".into()),
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum UiModeArg {
    NotSpecified,
    Background,
    Informative,
    UserInteraction,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum InitiatorArg {
    Client,
    Server,
}

fn parse_u16(s: &str) -> Result<u16, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u16::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|e| format!("{s}: {e}"))
}

fn hex_arg(name: &str, s: &str) -> Result<Vec<u8>, String> {
    m2msim_codec::hexser::parse_hex(s).map_err(|e| format!("bad {name}: {e}"))
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
    kind!("pkg0", "OMA DM package 0 server-alert notification (DM 1.2.1 Notification §6.2)", Package0),
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
        Cmd::Pkg0(c) => return pkg0(c),
        Cmd::Auth(c) => auth(c)?,
    }
    Ok(())
}

fn pkg0(c: Pkg0Cmd) -> Result<(), String> {
    use m2msim_codec::dm::pkg0::{Initiator, Package0, Package0Params, UiMode};
    match c {
        Pkg0Cmd::Build { server_id, password, nonce, session_id, ui_mode, initiator, version, body } => {
            if !(10..=12).contains(&version) {
                return Err(format!("--version {version}: must be 10, 11 or 12"));
            }
            if server_id.len() > 255 {
                return Err("--server-id: longer than 255 bytes".into());
            }
            let body = hex_arg("--body", &body)?;
            let p = Package0::build(
                &Package0Params {
                    version,
                    ui_mode: match ui_mode {
                        UiModeArg::NotSpecified => UiMode::NotSpecified,
                        UiModeArg::Background => UiMode::Background,
                        UiModeArg::Informative => UiMode::Informative,
                        UiModeArg::UserInteraction => UiMode::UserInteraction,
                    },
                    initiator: match initiator {
                        InitiatorArg::Client => Initiator::Client,
                        InitiatorArg::Server => Initiator::Server,
                    },
                    session_id,
                    server_id: server_id.as_bytes(),
                    body: &body,
                },
                password.as_bytes(),
                &hex_arg("--nonce", &nonce)?,
            );
            println!("{}", hex::encode(p.encode()));
            Ok(())
        }
        Pkg0Cmd::Verify { server_id, password, nonce, hex } => {
            let p = Package0::decode_exact(&hex_arg("package", &hex)?).map_err(|e| e.to_string())?;
            if p.server_id != server_id.as_bytes() {
                println!("digest: not checked (package names server `{}`)", p.server_id_text());
                std::process::exit(1);
            }
            if p.verify(password.as_bytes(), &hex_arg("--nonce", &nonce)?) {
                println!("digest: ok");
                Ok(())
            } else {
                println!("digest: MISMATCH");
                std::process::exit(1);
            }
        }
    }
}

fn auth(c: AuthCmd) -> Result<(), String> {
    use m2msim_codec::dm::auth;
    match c {
        AuthCmd::Basic { user, password } => println!("{}", auth::basic_credential(&user, &password)),
        AuthCmd::Md5 { user, password, nonce } => {
            println!("{}", auth::md5_credential(user.as_bytes(), password.as_bytes(), &nonce.bytes()?));
        }
        AuthCmd::Hmac { user, password, nonce, body_file } => {
            let body = std::fs::read(&body_file).map_err(|e| format!("{}: {e}", body_file.display()))?;
            println!("{}", auth::HmacHeader::compute(&user, password.as_bytes(), &nonce.bytes()?, &body));
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

//! `m2mcodec`: decode and encode every m2msim byte format from the command line.
//!
//! ```text
//! m2mcodec decode KIND HEX [--pretty]    bytes → JSON
//! m2mcodec encode KIND < JSON            JSON → hex (JSON → hex → JSON is stable)
//! m2mcodec kinds                         the KINDs, one per line with what they are
//! m2mcodec decode syncml FILE            a SyncML DM message (XML or WBXML) → typed JSON
//! m2mcodec decode ddf FILE               a DDF / TNDS document (XML or WBXML) → typed JSON
//! m2mcodec xml2wbxml [OPTIONS] IN OUT    SyncML / DDF XML → WBXML (`-` = stdin / stdout)
//! m2mcodec wbxml2xml [OPTIONS] IN OUT    WBXML → XML
//! ```
//! Bad input exits with code 2 and one line naming the byte offset (or element path) and what was expected.

use std::io::{Read as _, Write as _};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use m2msim_codec::apdu::{CommandApdu, ResponseApdu};
use m2msim_codec::cat::{Envelope, ProactiveCommand, TerminalResponse};
use m2msim_codec::dm::ddf::MgmtTree;
use m2msim_codec::dm::pkg0::Package0;
use m2msim_codec::dm::push::WspPush;
use m2msim_codec::ota::{CommandPacket, ResponsePacket, ResponseUserData, Transport};
use m2msim_codec::rfm::{CompactResponse, CompactScript, ExpandedResponse, ExpandedScript, P3Rule};
use m2msim_codec::sim::{EfAd, EfEpsloci, EfIccid, EfImsi, EfLoci, EfPsloci, PlmnId};
use m2msim_codec::sms::tpdu::{Deliver, DeliverReport, StatusReport, Submit};
use m2msim_codec::sms::udh::Udh;
use m2msim_codec::syncml::SyncMl;
use m2msim_codec::syncml::tree::{self, Profile, PublicIdForm, XmlStyle};
use m2msim_codec::tlv::ber::BerTlv;
use m2msim_codec::tlv::comprehension::Ctlv;
use m2msim_codec::{Decode, DecodeResult, Encode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Decode and encode SIM OTA, SMS, CAT, APDU, RFM, EF and SyncML DM bytes; convert SyncML XML ↔ WBXML.
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
    ///
    /// The kinds `syncml` and `ddf` take a FILE (or `-` for stdin) instead of hex: a SyncML DM message or a
    /// DDF/TNDS document in XML or WBXML (told apart by the first byte), printed as the typed model. For
    /// `syncml` the JSON holds `wire` (the encoding and the dialect it was written in: `rtk`, `libwbxml`)
    /// and `message`.
    ///
    /// Example: m2mcodec decode syncml --pretty pkg2.wbxml
    Decode {
        /// What the bytes are (see `m2mcodec kinds`).
        kind: String,
        /// The bytes, in hex (a file name or `-` for `syncml` and `ddf`).
        hex: String,
        /// Indent the JSON.
        #[arg(long)]
        pretty: bool,
        /// `syncml`, `ddf`: read what real devices send (raw `&` in XML, missing required elements filled
        /// with zero values, stray text ignored).
        #[arg(long)]
        lenient: bool,
        #[command(flatten)]
        opts: Opts,
    },
    /// Convert SyncML, DDF or DevInf XML to WBXML, as libwbxml's `xml2wbxml` or a device's RTK would.
    ///
    /// The libwbxml profile (default) gives the bytes of `xml2wbxml -n -v 1.2` (with --string-table,
    /// `xml2wbxml -v 1.2`); the rtk profile what the OMA SyncML RTK in devices sends (FPI in the string
    /// table, STR_I text).
    ///
    /// Example: m2mcodec xml2wbxml --profile rtk pkg1.xml pkg1.wbxml
    Xml2wbxml {
        #[command(flatten)]
        profile: ProfileArgs,
        /// WBXML version: 1.1, 1.2 (what devices send) or 1.3 (libwbxml's own default).
        #[arg(long, value_parser = parse_wbxml_version, default_value = "1.2")]
        wbxml_version: u8,
        /// Public identifier: numeric (`A4 01`) or string (the FPI in the string table; NUL-terminated for
        /// libwbxml, without NUL for rtk). Default: the profile's (libwbxml numeric, rtk string).
        #[arg(long, value_enum)]
        public_id: Option<PublicIdArg>,
        /// Put repeated strings in a string table (libwbxml's default without -n).
        #[arg(long)]
        string_table: bool,
        /// Keep whitespace-only text (xml2wbxml -k).
        #[arg(long)]
        keep_whitespace: bool,
        /// Accept what real devices send (raw `&`, undeclared entities, unknown namespaces).
        #[arg(long)]
        lenient: bool,
        /// XML input file, `-` for stdin.
        input: String,
        /// WBXML output file, `-` for stdout.
        output: String,
    },
    /// Convert WBXML (SyncML, DDF, DevInf) to XML, as libwbxml's `wbxml2xml` or a device's RTK would.
    ///
    /// The libwbxml profile (default) gives the text of `wbxml2xml -m 0` (with --indent N, `-m 1 -i N`);
    /// the rtk profile the RTK's compact XML without DOCTYPE.
    ///
    /// Example: m2mcodec wbxml2xml --indent 2 pkg2.wbxml -
    Wbxml2xml {
        #[command(flatten)]
        profile: ProfileArgs,
        /// Indent by N spaces per level (default: compact).
        #[arg(long)]
        indent: Option<u8>,
        /// WBXML input file, `-` for stdin.
        input: String,
        /// XML output file, `-` for stdout.
        output: String,
    },
    /// Read KIND as JSON on stdin (as printed by `decode`) and print its bytes in hex.
    Encode {
        /// What the JSON describes (see `m2mcodec kinds`).
        kind: String,
        #[command(flatten)]
        opts: Opts,
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

/// The reference encoder to imitate.
#[derive(clap::Args, Clone, Copy)]
struct ProfileArgs {
    /// libwbxml (byte for byte like libwbxml 0.11.8's tools) or rtk (like the OMA SyncML RTK in devices).
    #[arg(long, value_enum, default_value = "libwbxml")]
    profile: ProfileArg,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ProfileArg {
    Libwbxml,
    Rtk,
}

impl ProfileArgs {
    fn profile(self) -> Profile {
        match self.profile {
            ProfileArg::Libwbxml => Profile::libwbxml(),
            ProfileArg::Rtk => Profile::rtk(),
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PublicIdArg {
    Numeric,
    String,
}

fn parse_wbxml_version(s: &str) -> Result<u8, String> {
    match s {
        "1.1" => Ok(1),
        "1.2" => Ok(2),
        "1.3" => Ok(3),
        _ => Err(format!("{s}: expected 1.1, 1.2 or 1.3")),
    }
}

/// Reads a file, or stdin for `-`.
fn read_input(path: &str) -> Result<Vec<u8>, String> {
    if path == "-" {
        let mut b = Vec::new();
        std::io::stdin().read_to_end(&mut b).map_err(|e| format!("reading stdin: {e}"))?;
        Ok(b)
    } else {
        std::fs::read(path).map_err(|e| format!("{path}: {e}"))
    }
}

/// Writes a file, or stdout for `-`.
fn write_output(path: &str, bytes: &[u8]) -> Result<(), String> {
    if path == "-" {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes).and_then(|()| out.flush()).map_err(|e| format!("writing stdout: {e}"))
    } else {
        std::fs::write(path, bytes).map_err(|e| format!("{path}: {e}"))
    }
}

fn xml_mode(lenient: bool) -> m2msim_codec::xml::Mode {
    if lenient { m2msim_codec::xml::Mode::Lenient } else { m2msim_codec::xml::Mode::Strict }
}

/// The kinds read from a file as typed documents (not hex), with what they are.
const DOCUMENT_KINDS: [(&str, &str); 2] = [
    ("syncml", "SyncML DM message, XML or WBXML, from FILE (RepPro 1.2, DM 1.2.1): typed model + dialect"),
    ("ddf", "DDF or TNDS document, XML or WBXML, from FILE (DM 1.2.1 TND §8, TNDS §9)"),
];

fn decode_document(kind: &str, file: &str, lenient: bool) -> Result<serde_json::Value, String> {
    let bytes = read_input(file)?;
    let mode = xml_mode(lenient);
    let v = match kind {
        "syncml" => serde_json::to_value(SyncMl::decode(&bytes, mode).map_err(|e| e.to_string())?),
        _ => serde_json::to_value(MgmtTree::decode(&bytes, mode).map_err(|e| e.to_string())?),
    };
    v.map_err(|e| e.to_string())
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

/// Options that some KINDs need to read their bytes.
#[derive(clap::Args, Clone, Copy)]
struct Opts {
    /// Framing of ota-command / ota-response: sms-pp and sms-cb packets start at the CPL (an sms-pp PoR may
    /// also be the TP-UD from `02 71 00`); cat-tp, tcp-ip and ussd packets start at the CPI/RPI.
    #[arg(long, value_enum, default_value = "sms-pp")]
    transport: TransportArg,
    /// rfm-script / rfm-response format; auto = expanded when the first byte is AA/AE (AB/AF), else compact.
    #[arg(long, value_enum, default_value = "auto")]
    format: ScriptFormat,
    /// How a compact script's P3 is read (TS 102 226 §5.1.1 and the T=0 rule): file-system (RFM: P3 is Le for
    /// B0, B2, C0, F2, 12, 70, 84, CA) or global-platform (RAM: only C0 and CA).
    #[arg(long, value_enum, default_value = "file-system")]
    p3: P3Arg,
    /// sms-deliver-report: the RP-ERROR form (with TP-FCS) instead of RP-ACK.
    #[arg(long)]
    rp_error: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum TransportArg {
    SmsPp,
    SmsCb,
    CatTp,
    TcpIp,
    Ussd,
}

impl TransportArg {
    fn transport(self) -> Transport {
        match self {
            Self::SmsPp => Transport::SmsPp,
            Self::SmsCb => Transport::SmsCb,
            Self::CatTp => Transport::CatTp,
            Self::TcpIp => Transport::TcpIp,
            Self::Ussd => Transport::Ussd,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ScriptFormat {
    Auto,
    Compact,
    Expanded,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum P3Arg {
    FileSystem,
    GlobalPlatform,
}

impl P3Arg {
    fn rule(self) -> P3Rule {
        match self {
            Self::FileSystem => P3Rule::FILE_SYSTEM,
            Self::GlobalPlatform => P3Rule::GLOBAL_PLATFORM,
        }
    }
}

/// Decoded inner layers by name.
type Layers = serde_json::Map<String, serde_json::Value>;

/// One decodable/encodable format.
struct Kind {
    name: &'static str,
    about: &'static str,
    decode: fn(&[u8], &Opts) -> Result<serde_json::Value, String>,
    encode: fn(serde_json::Value, &Opts) -> Result<Vec<u8>, String>,
    /// The layers inside, decoded for reading (printed under `"decoded"`, ignored by `encode`).
    inner: Option<fn(&[u8], &Opts) -> Layers>,
}

/// Adds `key: value` to `m` when `value` decoded, or `key_error: reason` when it did not.
fn layer<T: Serialize>(
    m: &mut serde_json::Map<String, serde_json::Value>,
    key: &str,
    v: DecodeResult<T>,
) -> bool {
    match v {
        Ok(v) => {
            m.insert(key.into(), serde_json::to_value(v).unwrap_or_default());
            true
        }
        Err(e) => {
            m.insert(format!("{key}_error"), e.to_string().into());
            false
        }
    }
}

/// The command header read out field by field (TS 102 225 §5.1.1: SPI, KIc, KID).
fn header_view(h: &m2msim_codec::ota::CommandHeader) -> serde_json::Value {
    let spi = h.spi;
    let v = |x: &dyn erased::Ser| x.json();
    serde_json::json!({
        "spi": {
            "counter": v(&spi.counter_mode()),
            "ciphered": spi.ciphered(),
            "checksum": v(&spi.checksum()),
            "por": v(&spi.por()),
            "por_checksum": v(&spi.por_checksum()),
            "por_ciphered": spi.por_ciphered(),
            "por_via": v(&spi.por_transport()),
        },
        "kic": { "kvn": h.kic.key_version(), "algorithm": v(&h.kic.cipher()) },
        "kid": { "kvn": h.kid.key_version(), "algorithm": v(&h.kid.algorithm(spi.checksum())) },
        "tar": hex::encode(h.tar.0),
    })
}

/// Object-safe serialisation, so header_view can list fields of different types.
mod erased {
    pub trait Ser {
        fn json(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or_default()
        }
    }
}

fn command_packet_layers(p: DecodeResult<CommandPacket>, m: &mut Layers) {
    if let Ok(p) = &p {
        m.insert("command_header".into(), header_view(&p.header));
        if !p.header.spi.ciphered() {
            layer(m, "secured_data", p.parse_secured());
        }
    }
    layer(m, "command_packet", p);
}

/// SMS-DELIVER → the secured command packet it carries (UDH IE 70).
fn deliver_layers(d: &Deliver, m: &mut Layers) {
    if d.user_data.header.as_ref().is_some_and(|h| h.has_command_packet()) {
        command_packet_layers(CommandPacket::decode_for(Transport::SmsPp, &d.user_data.body), m);
    }
}

fn push_inner(b: &[u8], _: &Opts) -> Layers {
    let mut m = Layers::new();
    if let Ok(p) = WspPush::decode_exact(b)
        && p.is_syncml_notification()
    {
        layer(&mut m, "package0", p.package0());
    }
    m
}

fn ota_command_inner(b: &[u8], o: &Opts) -> Layers {
    let mut m = serde_json::Map::new();
    if let Ok(p) = CommandPacket::decode_for(o.transport.transport(), b) {
        m.insert("command_header".into(), header_view(&p.header));
        if !p.header.spi.ciphered() {
            layer(&mut m, "secured_data", p.parse_secured());
        }
    }
    m
}

fn envelope_inner(b: &[u8], _: &Opts) -> Layers {
    let mut m = serde_json::Map::new();
    if let Some(t) = Envelope::decode_exact(b).ok().as_ref().and_then(Envelope::sms_tpdu) {
        let d = t.deliver();
        if let Ok(d) = &d {
            deliver_layers(d, &mut m);
        }
        layer(&mut m, "sms_deliver", d);
    }
    m
}

fn deliver_inner(b: &[u8], _: &Opts) -> Layers {
    let mut m = serde_json::Map::new();
    if let Ok(d) = Deliver::decode_exact(b) {
        deliver_layers(&d, &mut m);
    }
    m
}

fn proactive_inner(b: &[u8], _: &Opts) -> Layers {
    let mut m = serde_json::Map::new();
    let Ok(p) = ProactiveCommand::decode_exact(b) else { return m };
    let tpdu = p.objects.iter().find_map(|o| match &o.value {
        m2msim_codec::cat::SimpleValue::SmsTpdu(t) => Some(t.clone()),
        _ => None,
    });
    if let Some(t) = tpdu {
        let s = t.submit();
        if let Ok(s) = &s
            && s.user_data.header.as_ref().is_some_and(|h| h.has_response_packet())
        {
            layer(&mut m, "por", ResponseUserData::decode_exact(&s.user_data.ud_octets()));
        }
        layer(&mut m, "sms_submit", s);
    }
    m
}

/// Decoding with a parameter: the parameter comes from the options, the value's JSON records it where the
/// encoding needs it back.
trait DecodeWith: Sized {
    fn decode_with(b: &[u8], o: &Opts) -> DecodeResult<Self>;
}

macro_rules! plain_decode {
    ($($t:ty),*) => {$(
        impl DecodeWith for $t {
            fn decode_with(b: &[u8], _: &Opts) -> DecodeResult<Self> {
                <$t as Decode>::decode_exact(b)
            }
        }
    )*};
}
plain_decode!(
    WspPush,
    BerTlv,
    Ctlv,
    Package0,
    CommandApdu,
    ResponseApdu,
    Envelope,
    ProactiveCommand,
    TerminalResponse,
    Deliver,
    Submit,
    StatusReport,
    Udh,
    EfImsi,
    EfIccid,
    EfAd,
    EfLoci,
    EfPsloci,
    EfEpsloci,
    PlmnId
);

impl DecodeWith for CommandPacket {
    fn decode_with(b: &[u8], o: &Opts) -> DecodeResult<Self> {
        CommandPacket::decode_for(o.transport.transport(), b)
    }
}

impl DecodeWith for DeliverReport {
    fn decode_with(b: &[u8], o: &Opts) -> DecodeResult<Self> {
        if o.rp_error { DeliverReport::decode_error(b) } else { DeliverReport::decode_ack(b) }
    }
}

/// A PoR as the TP-UD of an SMS (`02 71 00 …`) or as a packet from its RPL/RPI.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum OtaResponse {
    UserData(ResponseUserData),
    Packet(ResponsePacket),
}

impl DecodeWith for OtaResponse {
    fn decode_with(b: &[u8], o: &Opts) -> DecodeResult<Self> {
        let t = o.transport.transport();
        if t == Transport::SmsPp && b.len() >= 3 && b[0] == 0x02 && matches!(b[1], 0x71 | 0x7F) && b[2] == 0 {
            ResponseUserData::decode_exact(b).map(Self::UserData)
        } else {
            ResponsePacket::decode_for(t, b).map(Self::Packet)
        }
    }
}

impl Encode for OtaResponse {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            Self::UserData(u) => u.encode_to(out),
            Self::Packet(p) => p.encode_to(out),
        }
    }
}

/// A TS 102 226 remote command script, compact or expanded.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RfmScript {
    Compact(CompactScript),
    Expanded(ExpandedScript),
}

impl DecodeWith for RfmScript {
    fn decode_with(b: &[u8], o: &Opts) -> DecodeResult<Self> {
        let expanded = match o.format {
            ScriptFormat::Auto => matches!(b.first(), Some(0xAA | 0xAE)),
            f => f == ScriptFormat::Expanded,
        };
        if expanded {
            ExpandedScript::decode_exact(b).map(Self::Expanded)
        } else {
            CompactScript::decode_with(b, &o.p3.rule()).map(Self::Compact)
        }
    }
}

impl Encode for RfmScript {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            Self::Compact(s) => s.encode_to(out),
            Self::Expanded(s) => s.encode_to(out),
        }
    }
}

/// A TS 102 226 response, compact or expanded.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RfmResponse {
    Compact(CompactResponse),
    Expanded(ExpandedResponse),
}

impl DecodeWith for RfmResponse {
    fn decode_with(b: &[u8], o: &Opts) -> DecodeResult<Self> {
        let expanded = match o.format {
            ScriptFormat::Auto => matches!(b.first(), Some(0xAB | 0xAF)),
            f => f == ScriptFormat::Expanded,
        };
        if expanded {
            ExpandedResponse::decode_exact(b).map(Self::Expanded)
        } else {
            CompactResponse::decode_exact(b).map(Self::Compact)
        }
    }
}

impl Encode for RfmResponse {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            Self::Compact(s) => s.encode_to(out),
            Self::Expanded(s) => s.encode_to(out),
        }
    }
}

fn dec<T: DecodeWith + Serialize>(b: &[u8], o: &Opts) -> Result<serde_json::Value, String> {
    let v = T::decode_with(b, o).map_err(|e| e.to_string())?;
    serde_json::to_value(v).map_err(|e| e.to_string())
}

fn enc<T: Encode + DeserializeOwned>(j: serde_json::Value, _: &Opts) -> Result<Vec<u8>, String> {
    let v: T = serde_json::from_value(j).map_err(|e| format!("bad JSON: {e}"))?;
    Ok(v.encode())
}

macro_rules! kind {
    ($name:literal, $about:literal, $t:ty) => {
        Kind { name: $name, about: $about, decode: dec::<$t>, encode: enc::<$t>, inner: None }
    };
    ($name:literal, $about:literal, $t:ty, $inner:expr) => {
        Kind { name: $name, about: $about, decode: dec::<$t>, encode: enc::<$t>, inner: Some($inner) }
    };
}

const KINDS: &[Kind] = &[
    kind!("capdu", "command APDU, cases 1-4, short or extended (ISO/IEC 7816-4 §5.1)", CommandApdu),
    kind!("rapdu", "response APDU: data and SW1 SW2 (ISO/IEC 7816-4 §5.1)", ResponseApdu),
    kind!(
        "ber-tlv",
        "one BER-TLV object (ISO/IEC 7816-4, TS 101 220 §7.1.2), definite or indefinite",
        BerTlv
    ),
    kind!("ctlv", "one COMPREHENSION-TLV object (TS 101 220 §7.1.1)", Ctlv),
    kind!(
        "ota-command",
        "secured command packet (TS 102 225 §5.1, TS 31.115), --transport",
        CommandPacket,
        ota_command_inner
    ),
    kind!(
        "ota-response",
        "PoR response packet or SMS TP-UD from 02 71 00 (TS 102 225 §5.1.2), --transport",
        OtaResponse
    ),
    kind!("sms-deliver", "SMS-DELIVER TPDU (TS 23.040 §9.2.2.1)", Deliver, deliver_inner),
    kind!("sms-submit", "SMS-SUBMIT TPDU (TS 23.040 §9.2.2.2)", Submit),
    kind!(
        "sms-deliver-report",
        "SMS-DELIVER-REPORT MS→SC, RP-ACK or --rp-error (TS 23.040 §9.2.2.1a)",
        DeliverReport
    ),
    kind!("sms-status-report", "SMS-STATUS-REPORT TPDU (TS 23.040 §9.2.2.3)", StatusReport),
    kind!("udh", "user-data header with its length octet (TS 23.040 §9.2.3.24)", Udh),
    kind!(
        "envelope",
        "ENVELOPE data object D1..DF, e.g. SMS-PP download (TS 102 223 §7, TS 31.111)",
        Envelope,
        envelope_inner
    ),
    kind!(
        "proactive",
        "proactive command D0, e.g. SEND SHORT MESSAGE, REFRESH (TS 102 223 §6)",
        ProactiveCommand,
        proactive_inner
    ),
    kind!("terminal-response", "TERMINAL RESPONSE data (TS 102 223 §6.8)", TerminalResponse),
    kind!(
        "rfm-script",
        "remote command script, compact or expanded AA/AE (TS 102 226 §5), --format --p3",
        RfmScript
    ),
    kind!(
        "rfm-response",
        "remote response, compact or expanded AB/AF (TS 102 226 §5), --format",
        RfmResponse
    ),
    kind!("ef-imsi", "EF_IMSI contents (TS 31.102 §4.2.2)", EfImsi),
    kind!("ef-iccid", "EF_ICCID contents (TS 102 221 §13.2)", EfIccid),
    kind!("ef-ad", "EF_AD contents (TS 31.102 §4.2.18)", EfAd),
    kind!("ef-loci", "EF_LOCI contents (TS 31.102 §4.2.17)", EfLoci),
    kind!("ef-psloci", "EF_PSLOCI contents (TS 31.102 §4.2.23)", EfPsloci),
    kind!("ef-epsloci", "EF_EPSLOCI contents (TS 31.102 §4.2.91)", EfEpsloci),
    kind!("plmn", "PLMN identity, 3 bytes (TS 24.008 §10.5.1.3)", PlmnId),
    kind!("pkg0", "OMA DM package 0 server-alert notification (DM 1.2.1 Notification §6.2)", Package0),
    kind!(
        "wsp-push",
        "WSP push PDU carrying a package 0 over WDP/SMS (WAP-230-WSP §8.2.4.1)",
        WspPush,
        push_inner
    ),
];

fn find_kind(name: &str) -> Result<&'static Kind, String> {
    KINDS.iter().find(|k| k.name == name).ok_or_else(|| {
        let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        format!("unknown kind `{name}`; kinds: {}", names.join(", "))
    })
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.cmd {
        Cmd::Decode { kind, hex, pretty, lenient, opts } => {
            if DOCUMENT_KINDS.iter().any(|(k, _)| *k == kind) {
                let v = decode_document(&kind, &hex, lenient)?;
                let s = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) };
                println!("{}", s.map_err(|e| e.to_string())?);
                return Ok(());
            }
            let k = find_kind(&kind)?;
            let bytes = m2msim_codec::hexser::parse_hex(&hex).map_err(|e| format!("bad hex: {e}"))?;
            let mut v = (k.decode)(&bytes, &opts)?;
            if let (Some(inner), Some(obj)) = (k.inner, v.as_object_mut()) {
                let layers = inner(&bytes, &opts);
                if !layers.is_empty() {
                    obj.insert("decoded".into(), layers.into());
                }
            }
            let s = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) };
            println!("{}", s.map_err(|e| e.to_string())?);
        }
        Cmd::Encode { kind, opts } => {
            let k = find_kind(&kind)?;
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input).map_err(|e| format!("reading stdin: {e}"))?;
            let mut j: serde_json::Value =
                serde_json::from_str(&input).map_err(|e| format!("bad JSON: {e}"))?;
            if let Some(obj) = j.as_object_mut() {
                obj.remove("decoded"); // the read-only view of inner layers
            }
            println!("{}", hex::encode((k.encode)(j, &opts)?));
        }
        Cmd::Kinds => {
            for k in KINDS {
                println!("{:<20} {}", k.name, k.about);
            }
            for (name, about) in DOCUMENT_KINDS {
                println!("{name:<20} {about}");
            }
        }
        Cmd::Xml2wbxml {
            profile,
            wbxml_version,
            public_id,
            string_table,
            keep_whitespace,
            lenient,
            input,
            output,
        } => {
            let mut p = profile.profile();
            p.wbxml_version = wbxml_version;
            p.string_table = string_table;
            p.keep_whitespace = keep_whitespace;
            p.public_id = match (public_id, profile.profile) {
                (None, _) => p.public_id,
                (Some(PublicIdArg::Numeric), _) => PublicIdForm::Numeric,
                (Some(PublicIdArg::String), ProfileArg::Libwbxml) => PublicIdForm::StringTable,
                (Some(PublicIdArg::String), ProfileArg::Rtk) => PublicIdForm::StringTableUnterminated,
            };
            let bytes = read_input(&input)?;
            let text = std::str::from_utf8(&bytes)
                .map_err(|e| format!("at byte {}: invalid XML: not UTF-8", e.valid_up_to()))?;
            let w = tree::xml_text_to_wbxml(text, xml_mode(lenient), &p).map_err(|e| e.to_string())?;
            write_output(&output, &w)?;
        }
        Cmd::Wbxml2xml { profile, indent, input, output } => {
            let mut p = profile.profile();
            p.xml_style = indent.map_or(XmlStyle::Compact, XmlStyle::Indent);
            let x = tree::wbxml_bytes_to_xml(&read_input(&input)?, &p).map_err(|e| e.to_string())?;
            write_output(&output, x.as_bytes())?;
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

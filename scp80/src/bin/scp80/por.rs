//! `scp80 por`: verify a Proof of Receipt as the sending entity (TS 102 225 §5.1.7, TS 31.115 §4.2).

use std::process::ExitCode;

use m2msim_codec::Decode as _;
use m2msim_codec::ota::{
    Cntr, CommandHeader, Kic, Kid, PorStatus, ResponsePacket, ResponseUserData, Spi, Tar,
};
use m2msim_codec::sms::tpdu::RpKind;
use m2msim_scp80::packet::{
    PorReport, ResponseFormat, por_user_data_from_deliver_report, por_user_data_from_submit, verify_por,
};
use serde_json::{Value, json};

use crate::shared::{CliResult, KeyArgs, TransportArg, bad, hex, hex_n};

const EXAMPLES: &str = "\
Examples:
  # A real sysmoISIM PoR (pySim docs): 2 commands run, last SW 9000, SELECT response data
  scp80 por --spi 0619 --kic 15 --kid 15 --kic-key f09c43ee1a0391665cc9f05af4e0bd10 \\
      --kid-key 01981f4a20999f62af99988107baf6ca \\
      --ud 027100002c12b000107ddf58d1780f771638b3975759f4296cf5c31efc87a16a1b61921426baa16da1b5ba1a9951d59a39
  # Check it against the command that was sent (TAR and counter mismatches become findings)
  scp80 por ... --tar b00010 --cntr 0000000000
  # An unprotected error PoR (a replay): accepted and flagged although SPI2 asked for CC and ciphering
  scp80 por --spi 1619 --kic 15 --kid 15 --kic-key ... --kid-key ... --ud 027100000b0ab0001000000000000006
  # The PoR inside the SMS-SUBMIT a card sent with SEND SHORT MESSAGE
  scp80 por ... --submit 4100038119f000f631027100002c0e...

Output (JSON): status {code, name}, tar, cntr, pcntr, deciphered, rc_cc_ds, checksum (verified, failed,
missing, not_requested, unrequested, unsupported), data, response (compact or expanded TS 102 226), findings,
trusted, accepted. Exit code 0 when the PoR is accepted (verified, or an unprotected error PoR), 1 when
it is printed but not accepted, 2 on bad input.";

/// Verify a PoR and print it as JSON.
#[derive(clap::Args, Debug)]
#[command(after_long_help = EXAMPLES)]
pub(crate) struct Args {
    /// SPI of the command the PoR answers (SPI2 says how the PoR is protected).
    #[arg(long)]
    spi: String,
    /// KIc of the command (its key ciphers the PoR).
    #[arg(long)]
    kic: String,
    /// KID of the command (its key, or its CRC, protects the PoR).
    #[arg(long)]
    kid: String,
    #[command(flatten)]
    keys: KeyArgs,
    /// The PoR as SMS user data from 02 71 00 (or 02 7F 00).
    #[arg(long, group = "input")]
    ud: Option<String>,
    /// The PoR as a response packet from the RPI (with --transport cat-tp, tcp or ussd).
    #[arg(long, group = "input")]
    packet: Option<String>,
    /// An SMS-SUBMIT TPDU carrying the PoR (SEND SHORT MESSAGE, SPI2 b6 = 1).
    #[arg(long, group = "input")]
    submit: Option<String>,
    /// An SMS-DELIVER-REPORT TPDU (RP-ACK) carrying the PoR.
    #[arg(long, group = "input")]
    deliver_report: Option<String>,
    /// The bearer.
    #[arg(long, value_enum, default_value = "sms")]
    transport: TransportArg,
    /// The TAR the command was sent to (default: the PoR's, unchecked).
    #[arg(long)]
    tar: Option<String>,
    /// The counter the command carried (default: unchecked).
    #[arg(long)]
    cntr: Option<String>,
    /// How to read the response data (TS 102 226): auto = expanded when it starts AB/AF and decodes so.
    #[arg(long, value_enum, default_value = "auto")]
    format: FormatArg,
}

/// `--format`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub(crate) enum FormatArg {
    /// Expanded when the data starts AB/AF and decodes as such, else compact.
    Auto,
    /// Compact (executed commands, last SW, last data).
    Compact,
    /// Expanded (AB / AF template).
    Expanded,
    /// Not decoded.
    Raw,
}

/// A status as `{code, name}`.
pub(crate) fn status_json(s: PorStatus) -> Value {
    json!({ "code": format!("{:02x}", s.code()), "name": s.name() })
}

/// The report as JSON: its fields, the status as {code, name}, and trusted / accepted.
fn report_json(r: &PorReport) -> CliResult<Value> {
    let mut v = serde_json::to_value(r).map_err(bad)?;
    if let Value::Object(m) = &mut v {
        m.insert("status".into(), status_json(r.status));
        m.insert("trusted".into(), Value::Bool(r.trusted()));
        m.insert("accepted".into(), Value::Bool(r.accepted()));
    }
    Ok(v)
}

pub(crate) fn run(a: &Args) -> CliResult<ExitCode> {
    let t = a.transport.transport();
    let sms = matches!(a.transport, TransportArg::Sms | TransportArg::SmsConcat);
    let bytes = match (&a.ud, &a.packet, &a.submit, &a.deliver_report) {
        (Some(ud), None, None, None) if sms => hex("ud", ud)?,
        (None, Some(p), None, None) if !sms => hex("packet", p)?,
        (None, None, Some(s), None) if sms => {
            por_user_data_from_submit(&hex("submit", s)?).map_err(|e| bad(format!("--submit: {e}")))?
        }
        (None, None, None, Some(d)) if sms => {
            por_user_data_from_deliver_report(&hex("deliver-report", d)?, RpKind::Ack)
                .map_err(|e| bad(format!("--deliver-report: {e}")))?
        }
        (None, None, None, None) => {
            return Err(bad("give the PoR: --ud, --submit, --deliver-report or --packet"));
        }
        _ if sms => return Err(bad("--packet is for --transport cat-tp, tcp or ussd")),
        _ => return Err(bad("--ud, --submit and --deliver-report are for --transport sms")),
    };
    let spi = Spi(hex_n("spi", &a.spi)?);
    let kic = Kic(hex_n::<1>("kic", &a.kic)?[0]);
    let kid = Kid(hex_n::<1>("kid", &a.kid)?[0]);
    let tar = match &a.tar {
        Some(t) => Tar(hex_n("tar", t)?),
        None if sms => {
            ResponseUserData::decode_exact(&bytes).map_err(|e| bad(format!("PoR: {e}")))?.packet.tar
        }
        None => ResponsePacket::decode_for(t, &bytes).map_err(|e| bad(format!("PoR: {e}")))?.tar,
    };
    let cntr = a.cntr.as_deref().map(|c| hex_n("cntr", c).map(Cntr)).transpose()?;
    let keys = a.keys.load(kic, kid, spi.por_ciphered(), spi.por_checksum())?;
    let format = match a.format {
        FormatArg::Auto => ResponseFormat::Auto,
        FormatArg::Compact => ResponseFormat::Compact,
        FormatArg::Expanded => ResponseFormat::Expanded,
        FormatArg::Raw => ResponseFormat::Raw,
    };
    let header = CommandHeader { spi, kic, kid, tar };
    let r =
        verify_por(keys.as_ref(), &header, cntr, t, &bytes, format).map_err(|e| bad(format!("PoR: {e}")))?;
    println!("{}", report_json(&r)?);
    Ok(if r.accepted() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

//! `scp80 command`: secure a command packet as the sending entity (TS 102 225 §5.1.1, TS 31.115 §4).

use std::process::ExitCode;

use m2msim_codec::Encode as _;
use m2msim_codec::ota::{Cntr, CommandHeader, Kic, Kid, Spi, Tar, Transport};
use m2msim_codec::sms::address::Address;
use m2msim_codec::sms::concat::ConcatRef;
use m2msim_codec::sms::fields::Scts;
use m2msim_scp80::packet::{SentCommand, secure_command_into};

use crate::shared::{CliResult, KeyArgs, TransportArg, bad, hex, hex_n};

const EXAMPLES: &str = "\
Examples:
  # pySim's AES-128 test vector: SPI 06 19, KIc/KID 22, TAR B00011, CNTR 0, SELECT MF
  scp80 command --spi 0619 --kic 22 --kid 22 --tar b00011 --cntr 0000000000 \\
      --kic-key 200102030405060708090a0b0c0d0e0f --kid-key 201102030405060708090a0b0c0d0e0f \\
      --data 00a40004023f00
  # The same as SMS user data (02 70 00 ...), or as SMS-DELIVER TPDUs from +12345678
  scp80 command ... --form ud
  scp80 command ... --form tpdu --originator 12345678 --scts 22705200000000
  # A long script over several short messages, keys from a key file
  scp80 command --spi 1639 --kic 15 --kid 15 --tar b00010 --cntr 0000000064 --keys card.toml \\
      --transport sms-concat --form ud --data <300 octets>
  # CAT_TP framing (CPI 01, BER length)
  scp80 command --transport cat-tp --spi 0621 --kic 12 --kid 12 --tar 010203 --cntr 0000000000 \\
      --kic-key 11223344556677889910111213141516 --kid-key 11223344556677889910111213141516 --data aabb

The RC/CC covers the CPL (CPI) through the padding with the final PCNTR, then CNTR..end is ciphered from a
zero IV. The CPL is always written. The counter is used as given (the library's CommandSender reserves
counters in a store).";

/// What to print.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    /// The packet from the CPL (SMS) or the CPI (CAT_TP, TCP/IP, USSD).
    Packet,
    /// SMS user data with its header (02 70 00 ...), one short message per line.
    Ud,
    /// SMS-DELIVER TPDUs (PID 7F, DCS F6), one per line.
    Tpdu,
}

/// Secure a command packet and print it in hex.
#[derive(clap::Args, Debug)]
#[command(after_long_help = EXAMPLES)]
pub(crate) struct Args {
    /// SPI, 2 octets (TS 102 225 §5.1.1): e.g. 1639 = counter higher, ciphered, CC; PoR always, by
    /// SMS-SUBMIT, ciphered, with CC.
    #[arg(long)]
    spi: String,
    /// KIc, 1 octet: key version (high nibble) and cipher (low nibble: 1 DES, 5 3DES-2key, 9 3DES-3key,
    /// 2 AES).
    #[arg(long)]
    kic: String,
    /// KID, 1 octet: key version and RC/CC (for a CC as the KIc; for an RC: 1 CRC16, 5 CRC32).
    #[arg(long)]
    kid: String,
    /// TAR, 3 octets (e.g. B00010 RFM SIM, 000000 the issuer security domain).
    #[arg(long)]
    tar: String,
    /// Counter, 5 octets.
    #[arg(long)]
    cntr: String,
    #[command(flatten)]
    keys: KeyArgs,
    /// The bearer (it fixes the framing).
    #[arg(long, value_enum, default_value = "sms")]
    transport: TransportArg,
    /// What to print.
    #[arg(long, value_enum, default_value = "packet")]
    form: Form,
    /// The secured data (e.g. a TS 102 226 command script), hex.
    #[arg(long)]
    data: String,
    /// TP-OA digits of the SMS-DELIVER (--form tpdu).
    #[arg(long)]
    originator: Option<String>,
    /// TP-OA type of address (TON/NPI octet), hex: 81 unknown/ISDN, 91 international.
    #[arg(long, default_value = "81")]
    toa: String,
    /// TP-SCTS, 7 octets as on the wire (semi-octets), hex.
    #[arg(long, default_value = "00000000000000")]
    scts: String,
    /// Concatenation reference: 0..=255 uses the 8-bit IE 00, 256..=65535 the 16-bit IE 08.
    #[arg(long, default_value_t = 0)]
    concat_ref: u32,
}

pub(crate) fn run(a: &Args) -> CliResult<ExitCode> {
    let header = CommandHeader {
        spi: Spi(hex_n("spi", &a.spi)?),
        kic: Kic(hex_n::<1>("kic", &a.kic)?[0]),
        kid: Kid(hex_n::<1>("kid", &a.kid)?[0]),
        tar: Tar(hex_n("tar", &a.tar)?),
    };
    let cntr = Cntr(hex_n("cntr", &a.cntr)?);
    let data = hex("data", &a.data)?;
    let t = a.transport.transport();
    let sms = matches!(a.transport, TransportArg::Sms | TransportArg::SmsConcat);
    if a.form != Form::Packet && !sms {
        return Err(bad("--form ud and tpdu apply to --transport sms or sms-concat"));
    }
    let keys = a.keys.load(header.kic, header.kid, header.spi.ciphered(), header.spi.checksum())?;
    let mut packet = Vec::new();
    secure_command_into(keys.as_ref(), t, &header, cntr, &data, &mut packet).map_err(bad)?;
    let sent = SentCommand { transport: t, header, cntr, packet };
    let reference = match u8::try_from(a.concat_ref) {
        Ok(r) => ConcatRef::Eight(r),
        Err(_) => {
            ConcatRef::Sixteen(u16::try_from(a.concat_ref).map_err(|_| bad("--concat-ref: at most 65535"))?)
        }
    };
    if a.form != Form::Packet && a.transport == TransportArg::Sms && t == Transport::SmsPp {
        // One short message only: refuse what needs concatenation.
        sent.user_data().map_err(bad)?;
    }
    match a.form {
        Form::Packet => println!("{}", hex::encode(&sent.packet)),
        Form::Ud => {
            for ud in sent.segments(reference).map_err(bad)? {
                println!("{}", hex::encode(ud.ud_octets()));
            }
        }
        Form::Tpdu => {
            let digits = a.originator.as_deref().ok_or_else(|| bad("--form tpdu needs --originator"))?;
            let toa = hex_n::<1>("toa", &a.toa)?[0];
            let originator =
                Address::from_digits(toa, digits).map_err(|e| bad(format!("--originator: {e}")))?;
            let scts = Scts(hex_n("scts", &a.scts)?);
            for d in sent.deliver_tpdus(reference, originator, scts).map_err(bad)? {
                println!("{}", hex::encode(d.encode()));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

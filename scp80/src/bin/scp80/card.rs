//! `scp80 card`: run the receiving entity (the card side of TS 102 225 §5.1) on one packet.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use m2msim_codec::ota::{PorStatus, Transport};
use m2msim_scp80::card::{CardPolicy, CardSecurity, TarTable};
use m2msim_scp80::counter::{CardId, FileCounterStore};
use m2msim_scp80::crypto::RustCryptoProvider;
use m2msim_scp80::keys::Keysets;
use serde_json::{Value, json};

use crate::por::status_json;
use crate::shared::{CliResult, TransportArg, bad, hex};

const EXAMPLES: &str = "\
Examples:
  # card.toml: the card's keysets; tars.toml: its TARs; counters/: its replay counters
  scp80 card --keys card.toml --tars tars.toml --counters counters \\
      --ud 02700000281516191515b000103a4f599e94f2b5dcfbbda984761b7977df6514c57a580fb4844787c436d2eade \\
      --response 01612f
  # The same packet again: a replay (status 02, or 06 with --replay-status 06)

tars.toml:
  [[tar]]
  tar = \"B00010\"        # 3 octets
  msl = \"06\"            # minimum security level, SPI1 layout (here: CC and ciphering)
  description = \"RFM SIM\"

The counters directory holds one file per (card, KVN), <card-id>.kvnNN.cntr, with the last accepted counter
as 10 hex digits; it is updated (durably) when a packet is accepted under counter mode 10 or 11.
Output (JSON): status {code, name}, rejection, tar, cntr, data (the plaintext secured data when accepted),
por {delivery, ud} (the PoR user data from 02 71 00, or the response packet elsewhere; null when none).
Exit code 0 when a result is printed (whatever the status), 2 on bad input.";

/// Run the card side on one packet and print the outcome and its PoR as JSON.
#[derive(clap::Args, Debug)]
#[command(after_long_help = EXAMPLES)]
pub(crate) struct Args {
    /// The card's key file (TOML: [[keyset]] kvn, kic, kid; see the README).
    #[arg(long)]
    keys: PathBuf,
    /// The card's TAR file (TOML: [[tar]] tar, msl, description).
    #[arg(long)]
    tars: PathBuf,
    /// The card's counter directory (created if missing; one file per KVN).
    #[arg(long)]
    counters: PathBuf,
    /// The card's id in the counter directory.
    #[arg(long, default_value = "card")]
    card_id: String,
    /// The packet as SMS user data with its header (02 70 00 ...).
    #[arg(long, group = "input")]
    ud: Option<String>,
    /// The packet from the CPL (SMS) or the CPI (--transport cat-tp, tcp, ussd), without any header.
    #[arg(long, group = "input")]
    packet: Option<String>,
    /// The bearer of --packet.
    #[arg(long, value_enum, default_value = "sms")]
    transport: TransportArg,
    /// The response data to put in a PoR OK (what the application answered), hex.
    #[arg(long, default_value = "")]
    response: String,
    /// The status a replayed (equal) counter gets: 02 (CNTR low) or 06 (as real cards answer).
    #[arg(long, default_value = "02")]
    replay_status: String,
}

pub(crate) fn run(a: &Args) -> CliResult<ExitCode> {
    let keysets = Keysets::load(&a.keys, &RustCryptoProvider).map_err(bad)?;
    let tars = TarTable::load(&a.tars).map_err(bad)?;
    let store = FileCounterStore::open(&a.counters).map_err(bad)?;
    let card_id = CardId::new(a.card_id.clone()).map_err(|e| bad(format!("--card-id: {e}")))?;
    let replay_status = match a.replay_status.as_str() {
        "02" | "2" => PorStatus::CntrLow,
        "06" | "6" => PorStatus::UnidentifiedSecurityError,
        other => return Err(bad(format!("--replay-status: `{other}`, expected 02 or 06"))),
    };
    let response = hex("response", &a.response)?;
    let card =
        CardSecurity::new(card_id, keysets, tars, Arc::new(store)).with_policy(CardPolicy { replay_status });
    let outcome = match (&a.ud, &a.packet) {
        (Some(ud), None) => {
            if a.transport != TransportArg::Sms && a.transport != TransportArg::SmsConcat {
                return Err(bad("--ud is SMS user data: use --packet for other transports"));
            }
            let ud = hex("ud", ud)?;
            if ud.get(..3) != Some(&[0x02, 0x70, 0x00][..]) {
                return Err(bad("--ud must start with the command packet header 02 70 00"));
            }
            card.process_user_data(&ud)
        }
        (None, Some(p)) => card.process(&hex("packet", p)?, a.transport.transport()),
        _ => return Err(bad("give the packet: --ud or --packet")),
    };
    let por = card.por(&outcome, &response).map_err(|e| bad(format!("PoR: {e}")))?;
    let por = por.map(|p| {
        let key = if p.transport == Transport::SmsPp { "ud" } else { "packet" };
        json!({ "delivery": p.delivery, key: hex::encode(&p.bytes) })
    });
    let header = outcome.header;
    let out = json!({
        "status": status_json(outcome.status),
        "rejection": outcome.rejection,
        "tar": header.map(|h| h.tar),
        "spi": header.map(|h| h.spi),
        "cntr": outcome.cntr,
        "data": outcome.data.as_ref().map(hex::encode),
        "por": por.unwrap_or(Value::Null),
    });
    println!("{out}");
    Ok(ExitCode::SUCCESS)
}

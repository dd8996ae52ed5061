//! `scp80 uicc`: create, drive and serve simulated UICC card files (`m2msim_scp80::uicc`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use m2msim_codec::apdu::StatusWord;
use m2msim_scp80::uicc::Uicc;
use m2msim_scp80::uicc::profile::{CardProfile, EXAMPLE_PROFILE};
use m2msim_scp80::uicc::server::{self, Event, Protocol, SharedCard};
use serde_json::json;

use crate::shared::{CliResult, bad, hex};

const NEW_EXAMPLES: &str = "\
Examples:
  scp80 uicc new --example --out card.toml       # the built-in example USIM (keys are test values)
  scp80 uicc new --profile my-profile.toml --out card.toml
  scp80 uicc new --example > profile.toml        # print it, to edit it as a profile

The profile format is documented in the crate (m2msim_scp80::uicc::profile) and shown by the example. The
card file is the profile with a [state] section; it holds every key in the clear and is written with mode
0600. An existing --out file is not overwritten without --force.";

const APDU_EXAMPLES: &str = "\
Examples:
  scp80 uicc apdu --card card.toml 00A40004023F00 00C0000000
  scp80 uicc apdu --card card.toml 0020000108 31323334FFFFFFFF  00A4040C0CA0000000871002FF49FF0589 \\
      00B0870009

Every invocation is one card session: the card is powered on, the APDUs run in order, and the card file
is saved (atomically) unless --no-save. PIN verification does not outlive the invocation. Each APDU is
one argument; spaces inside an argument are ignored, so quote an APDU written with spaces.
Output: per APDU, `> command` and `< data SW (name)`; with --json, an array of {command, data, sw, name}.";

const SERVE_EXAMPLES: &str = "\
Examples:
  scp80 uicc serve --card card.toml --listen 127.0.0.1:35963
  scp80 uicc serve --card card.toml --connect 127.0.0.1:35963     # vpcd (pcscd) listening

Framings (the first two bytes of a connection pick one with --protocol auto):
  m2msim APDU framing: 4-byte big-endian length + C-APDU -> 4-byte length + R-APDU; an empty message
    resets the card and is answered with the ATR.
  vsmartcard vpcd: 2-byte big-endian length + message; 1-byte messages are control: 00 power off,
    01 power on, 02 reset (no answer), 04 get ATR (answered); other messages are APDUs.
For pcsc tools: run vpcd (vsmartcard) and either let this card connect to it (--connect) or configure vpcd
to connect here (reversed mode). Connections are served one at a time. The card file is saved after every
message unless --no-save. Prints `listening on ADDR` once listening.";

/// The subcommands.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum Cmd {
    /// Create a card file from a profile.
    #[command(after_long_help = NEW_EXAMPLES)]
    New(NewArgs),
    /// Send APDUs to a card file and print the responses (hex and status word names).
    #[command(after_long_help = APDU_EXAMPLES)]
    Apdu(ApduArgs),
    /// Run a card file behind a TCP socket (m2msim APDU framing and vsmartcard vpcd).
    #[command(after_long_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
}

/// `uicc new`.
#[derive(clap::Args, Debug)]
pub(crate) struct NewArgs {
    /// The profile (TOML).
    #[arg(long, required_unless_present = "example", conflicts_with = "example")]
    profile: Option<PathBuf>,
    /// Use the built-in example profile.
    #[arg(long)]
    example: bool,
    /// The card file to write (default: print it).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Overwrite --out if it exists.
    #[arg(long)]
    force: bool,
}

/// `uicc apdu`.
#[derive(clap::Args, Debug)]
pub(crate) struct ApduArgs {
    /// The card file.
    #[arg(long)]
    card: PathBuf,
    /// C-APDUs in hex, one per argument.
    #[arg(required = true)]
    apdus: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Do not save the card file.
    #[arg(long)]
    no_save: bool,
}

/// `--protocol`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProtocolArg {
    /// Decide per connection from its first two bytes.
    Auto,
    /// The m2msim APDU framing.
    Apdu,
    /// vsmartcard vpcd.
    Vpcd,
}

/// `uicc serve`.
#[derive(clap::Args, Debug)]
pub(crate) struct ServeArgs {
    /// The card file.
    #[arg(long)]
    card: PathBuf,
    /// Listen on this address (e.g. 127.0.0.1:35963; port 0 picks one).
    #[arg(long, required_unless_present = "connect")]
    listen: Option<String>,
    /// Connect to vpcd at this address and serve it.
    #[arg(long)]
    connect: Option<String>,
    /// The framing on --listen.
    #[arg(long, value_enum, default_value_t = ProtocolArg::Auto)]
    protocol: ProtocolArg,
    /// Do not save the card file.
    #[arg(long)]
    no_save: bool,
}

pub(crate) fn run(c: &Cmd) -> CliResult<ExitCode> {
    match c {
        Cmd::New(a) => new(a),
        Cmd::Apdu(a) => apdu(a),
        Cmd::Serve(a) => serve(a),
    }
}

fn load(path: &Path) -> CliResult<Uicc> {
    Uicc::load(path).map_err(|e| bad(format!("--card {}: {e}", path.display())))
}

fn new(a: &NewArgs) -> CliResult<ExitCode> {
    let text = match &a.profile {
        Some(p) => std::fs::read_to_string(p).map_err(|e| bad(format!("--profile {}: {e}", p.display())))?,
        None => EXAMPLE_PROFILE.to_owned(),
    };
    let profile = CardProfile::from_toml(&text).map_err(|e| bad(format!("profile: {e}")))?;
    let card = Uicc::from_profile(&profile).map_err(|e| bad(format!("profile: {e}")))?;
    match &a.out {
        Some(out) => {
            if out.exists() && !a.force {
                return Err(bad(format!("--out {}: exists (use --force to overwrite)", out.display())));
            }
            card.save(out).map_err(|e| bad(e.to_string()))?;
            eprintln!("scp80: wrote {}", out.display());
        }
        None => {
            let text = card.to_profile().to_toml().map_err(|e| bad(e.to_string()))?;
            print!("{}", text.as_str());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn apdu(a: &ApduArgs) -> CliResult<ExitCode> {
    let apdus = a.apdus.iter().map(|s| hex("apdus", s)).collect::<CliResult<Vec<_>>>()?;
    let mut card = load(&a.card)?;
    let mut results = Vec::new();
    for c in &apdus {
        let r = card.handle_apdu(c);
        let (data, sw) = r.split_at(r.len().saturating_sub(2));
        let sw = match sw {
            [a, b] => StatusWord::new(*a, *b),
            _ => StatusWord(0),
        };
        results.push((c, data.to_vec(), sw));
    }
    if !a.no_save {
        card.save(&a.card).map_err(|e| bad(e.to_string()))?;
    }
    let mut out = std::io::stdout().lock();
    if a.json {
        let v: Vec<_> = results
            .iter()
            .map(|(c, d, sw)| {
                json!({
                    "command": hex::encode_upper(c),
                    "data": hex::encode_upper(d),
                    "sw": format!("{:04X}", sw.0),
                    "name": sw.name(),
                })
            })
            .collect();
        writeln!(out, "{:#}", serde_json::Value::Array(v)).map_err(bad)?;
    } else {
        for (c, d, sw) in &results {
            writeln!(out, "> {}", hex::encode_upper(c)).map_err(bad)?;
            let data = if d.is_empty() { String::new() } else { format!("{} ", hex::encode_upper(d)) };
            writeln!(out, "< {data}{sw}").map_err(bad)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn serve(a: &ServeArgs) -> CliResult<ExitCode> {
    let card = load(&a.card)?;
    let path = a.card.clone();
    let save = !a.no_save;
    let shared = SharedCard::new(card, move |card: &Uicc, event: Event<'_>| {
        if !save || matches!(event, Event::Control(0x04)) {
            return;
        }
        if let Err(e) = card.save(&path) {
            eprintln!("scp80: saving the card: {e}");
        }
    });
    let protocol = match a.protocol {
        ProtocolArg::Auto => Protocol::Auto,
        ProtocolArg::Apdu => Protocol::Apdu,
        ProtocolArg::Vpcd => Protocol::Vpcd,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|e| bad(format!("runtime: {e}")))?;
    rt.block_on(async {
        let listener = match &a.listen {
            Some(addr) => {
                let l = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| bad(format!("--listen {addr}: {e}")))?;
                let local = l.local_addr().map_err(|e| bad(format!("--listen {addr}: {e}")))?;
                println!("listening on {local}");
                let _ = std::io::stdout().flush();
                Some(l)
            }
            None => None,
        };
        let report = |e: std::io::Error| eprintln!("scp80: connection: {e}");
        match (listener, &a.connect) {
            (Some(l), None) => server::serve(l, shared, protocol, report).await.map_err(bad)?,
            (None, Some(addr)) => {
                server::connect_vpcd(addr, &shared)
                    .await
                    .map_err(|e| bad(format!("--connect {addr}: {e}")))?;
            }
            (Some(l), Some(addr)) => {
                let (listen, connect) = tokio::join!(
                    server::serve(l, shared.clone(), protocol, report),
                    server::connect_vpcd(addr, &shared)
                );
                connect.map_err(|e| bad(format!("--connect {addr}: {e}")))?;
                listen.map_err(bad)?;
            }
            (None, None) => return Err(bad("give --listen or --connect")),
        }
        Ok(ExitCode::SUCCESS)
    })
}

//! `scp80 fuzz`: fuzz a card over SCP80 (`m2msim_scp80::peerfuzz`): TAR scan, keyset scan, minimum
//! security level, mutated packets; a JSON and a Markdown report.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use m2msim_scp80::RustCryptoProvider;
use m2msim_scp80::keys::Keysets;
use m2msim_scp80::peerfuzz::{self, FuzzConfig, Fuzzer, TcpCard};
use m2msim_scp80::terminal::CardLink;

use crate::shared::{CliResult, bad};

const EXAMPLES: &str = "\
Examples:
  scp80 uicc serve --card card.toml --listen 127.0.0.1:35963 --no-save &
  scp80 fuzz --card 127.0.0.1:35963 --report fuzz-out                       # TAR and keyset scans, mutations
  scp80 fuzz --card 127.0.0.1:35963 --keys keys.toml --kvn 1 --mode msl,mutate --mutations 500 --report out
  scp80 fuzz --pcsc \"\" --mode tar-scan --tars B00000-B0001F --report out     # a real card (feature pcsc)

Modes (--mode, comma-separated; default all): tar-scan (unsecured packets to every TAR: which answer, with
which PoR status), keyset-scan (KVN 1..15 x DES, 3DES-2/3, DES-ECB, AES with dummy keys on the first
answering TAR: which keysets exist), msl (with --keys: the minimum security level of each answering TAR,
each SPI field lowered alone), mutate (random mutations of valid packets, TPDUs and envelopes; the card
is polled after each). Every PoR is checked: unsigned although asked, counter or TAR other than sent,
plaintext error PoRs, PoR OK for garbage. Counter-wrap mutations only with --allow-counter-wrap: an
accepted FFFFFFFFFF blocks the key version of a real card for good.";

/// `scp80 fuzz`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = EXAMPLES)]
pub(crate) struct Args {
    /// The simulated card's socket (`scp80 uicc serve --listen`), m2msim APDU framing.
    #[arg(long, required_unless_present = "pcsc", conflicts_with = "pcsc")]
    card: Option<String>,
    /// A real card: the PC/SC reader whose name contains this text (feature `pcsc`).
    #[arg(long)]
    pcsc: Option<String>,
    /// Modes: tar-scan, keyset-scan, msl, mutate, all.
    #[arg(long, default_value = "all")]
    mode: String,
    /// The card's keys (key file, TOML) for the MSL probe and keyed mutations.
    #[arg(long)]
    keys: Option<PathBuf>,
    /// The key version of --keys to use.
    #[arg(long, default_value_t = 1)]
    kvn: u8,
    /// TARs to scan (hex, ranges: B00000-B0001F,000000); default: the well-known ranges.
    #[arg(long)]
    tars: Option<String>,
    /// Seed of the mutations.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of mutated packets.
    #[arg(long, default_value_t = 200)]
    mutations: u32,
    /// First counter value of counter-checked packets.
    #[arg(long, default_value_t = 1)]
    counter_start: u64,
    /// Allow counter values near FFFFFFFFFF in mutations.
    #[arg(long)]
    allow_counter_wrap: bool,
    /// Seconds to wait for each answer of the card.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Report directory.
    #[arg(long)]
    report: PathBuf,
}

pub(crate) fn run(a: &Args) -> CliResult<ExitCode> {
    let mut config = FuzzConfig {
        seed: a.seed,
        kvn: a.kvn,
        counter_start: a.counter_start,
        allow_counter_wrap: a.allow_counter_wrap,
        mutations: a.mutations,
        ..FuzzConfig::default()
    };
    if let Some(t) = &a.tars {
        config.tars = peerfuzz::parse_tars(t).map_err(|e| bad(format!("--tars: {e}")))?;
    }
    let modes: Vec<&str> = a.mode.split(',').map(str::trim).collect();
    for m in &modes {
        if !matches!(*m, "all" | "tar-scan" | "keyset-scan" | "msl" | "mutate") {
            return Err(bad(format!("--mode: unknown mode {m:?} (tar-scan, keyset-scan, msl, mutate, all)")));
        }
    }
    let keys = match &a.keys {
        Some(p) => Some(
            Keysets::load(p, &RustCryptoProvider).map_err(|e| bad(format!("--keys {}: {e}", p.display())))?,
        ),
        None => None,
    };
    match (&a.card, &a.pcsc) {
        (Some(addr), _) => {
            let link = TcpCard::connect(addr, Duration::from_secs(a.timeout))
                .map_err(|e| bad(format!("--card {addr}: {e}")))?;
            drive(Fuzzer::new(link, keys, config, addr), &modes, a)
        }
        (None, Some(reader)) => pcsc(reader, keys, config, &modes, a),
        (None, None) => Err(bad("give --card or --pcsc")),
    }
}

#[cfg(feature = "pcsc")]
fn pcsc(
    reader: &str,
    keys: Option<Keysets>,
    config: FuzzConfig,
    modes: &[&str],
    a: &Args,
) -> CliResult<ExitCode> {
    let link =
        peerfuzz::link::PcscCard::connect(reader).map_err(|e| bad(format!("--pcsc {reader:?}: {e}")))?;
    drive(Fuzzer::new(link, keys, config, &format!("pcsc:{reader}")), modes, a)
}

#[cfg(not(feature = "pcsc"))]
fn pcsc(_: &str, _: Option<Keysets>, _: FuzzConfig, _: &[&str], _: &Args) -> CliResult<ExitCode> {
    Err(bad("--pcsc needs scp80 built with the `pcsc` feature"))
}

fn drive<L: CardLink>(mut f: Fuzzer<L>, modes: &[&str], a: &Args) -> CliResult<ExitCode> {
    let on = |m: &str| modes.contains(&"all") || modes.contains(&m);
    let mut tars = Vec::new();
    if on("tar-scan") {
        tars = f.tar_scan();
        eprintln!("scp80 fuzz: {} answering TARs", tars.len());
    }
    if tars.is_empty() {
        // Without a scan, the TARs given are taken as the card's.
        if let Some(t) = &a.tars {
            tars = peerfuzz::parse_tars(t).map_err(|e| bad(format!("--tars: {e}")))?;
        }
    }
    if on("keyset-scan")
        && let Some(t) = tars.first()
    {
        f.keyset_scan(*t);
    }
    if on("msl") && a.keys.is_some() {
        for t in tars.clone() {
            f.msl_probe(t);
        }
    }
    if on("mutate") {
        f.mutations(&tars);
    }
    f.report.write(&a.report).map_err(|e| bad(format!("--report {}: {e}", a.report.display())))?;
    println!(
        "{} probes, {} crash-like; report in {}",
        f.report.probes.len(),
        f.report.crash_like(),
        a.report.display()
    );
    Ok(ExitCode::SUCCESS)
}

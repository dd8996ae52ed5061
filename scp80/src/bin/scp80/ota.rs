//! `scp80 ota run`: an OTA campaign against simulated cards, in-process (`ota_server::Simulation`): the
//! campaign engine secures the script for every card, the simulated SMSC carries the SMS-DELIVERs to each
//! card's terminal, the PoRs come back and are verified; a JSON (or text) report per card and a summary.

use std::io::IsTerminal as _;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use m2msim_codec::Decode as _;
use m2msim_codec::apdu::CommandApdu;
use m2msim_codec::cat::{Envelope, SmsPpDownload};
use m2msim_codec::ota::{PorStatus, Spi, Tar};
use m2msim_codec::sms::{Address, Deliver, DeliverReport, RpKind, Submit};
use m2msim_scp80::counter::{CounterStore, FileCounterStore, MemoryCounterStore};
use m2msim_scp80::crypto::RustCryptoProvider;
use m2msim_scp80::keys::{Keysets, Kvn};
use m2msim_scp80::ota_server::driver::default_provider;
use m2msim_scp80::ota_server::files::{CardsFile, ScriptFile};
use m2msim_scp80::ota_server::{
    Engine, EngineConfig, Faults, JobReport, NetworkConfig, RetryPolicy, SimEvent, Simulation, Summary,
};
use serde_json::json;

use crate::shared::{CliResult, bad, hex_n};

/// `scp80 ota …`.
#[derive(clap::Subcommand)]
pub(crate) enum Cmd {
    /// Run a campaign: one script for every card of a cards file, through simulated terminals and SMS.
    Run(RunArgs),
}

/// `scp80 ota run`.
#[derive(clap::Args, Debug)]
pub(crate) struct RunArgs {
    /// The cards file (TOML: [[card]] file, msisdn, count …; see the README).
    #[arg(long)]
    cards: PathBuf,
    /// The script file: hex APDUs one per line, or TOML (see the README).
    #[arg(long)]
    script: PathBuf,
    /// The OTA server's key file (TOML [[keyset]], as for `scp80 command --keys`).
    #[arg(long)]
    keys: PathBuf,
    /// TAR in hex (default: the script file's, else B00011, RFM of ADF.USIM).
    #[arg(long)]
    tar: Option<String>,
    /// SPI in hex (default: the script file's, else 1619: CC, ciphered, counter higher; PoR with CC,
    /// ciphered, in the DELIVER-REPORT).
    #[arg(long)]
    spi: Option<String>,
    /// The keyset (KVN 1–15; default: the script file's, else 1).
    #[arg(long)]
    kvn: Option<u8>,
    /// Send the APDUs as an expanded script (TS 102 226 §5.2) instead of compact.
    #[arg(long)]
    expanded: bool,
    /// Print every TPDU, ENVELOPE and PoR (hex and decoded JSON) to stderr.
    #[arg(long)]
    trace: bool,
    /// Print the report as JSON (else one line per card and a summary).
    #[arg(long)]
    json: bool,
    /// Jobs in flight at once.
    #[arg(long, default_value_t = 1000)]
    window: usize,
    /// Retries per card after the first attempt (each with a fresh counter).
    #[arg(long, default_value_t = 2)]
    retries: u16,
    /// How long to wait for a PoR (ms of the simulated clock).
    #[arg(long, default_value_t = 30_000)]
    timeout_ms: u64,
    /// Keep the server's counters in this directory (default: in memory, starting at 1).
    #[arg(long)]
    counters: Option<PathBuf>,
    /// Lose this many SMS-DELIVERs per mille (to exercise retries).
    #[arg(long, default_value_t = 0)]
    drop_per_mille: u32,
    /// Write the cards of single-card entries back to their files afterwards.
    #[arg(long)]
    save: bool,
}

pub(crate) fn run(c: &Cmd) -> CliResult<ExitCode> {
    match c {
        Cmd::Run(a) => run_campaign(a),
    }
}

fn load_keys(path: &Path) -> CliResult<Arc<Keysets>> {
    Keysets::load(path, &RustCryptoProvider)
        .map(Arc::new)
        .map_err(|e| bad(format!("--keys {}: {e}", path.display())))
}

fn run_campaign(a: &RunArgs) -> CliResult<ExitCode> {
    let script_file = ScriptFile::load(&a.script).map_err(|e| bad(format!("--script: {e}")))?;
    let script = script_file.script(a.expanded).map_err(|e| bad(format!("--script: {e}")))?;
    let tar = match &a.tar {
        Some(t) => Tar(hex_n::<3>("tar", t)?),
        None => script_file.tar.unwrap_or(Tar([0xB0, 0x00, 0x11])),
    };
    let spi = match &a.spi {
        Some(s) => Spi::from_bytes(hex_n::<2>("spi", s)?),
        None => script_file.spi.unwrap_or_else(|| Spi::from_bytes([0x16, 0x19])),
    };
    let kvn = a.kvn.or(script_file.kvn).unwrap_or(1);
    let kvn = Kvn::new(kvn).map_err(|e| bad(format!("--kvn: {e}")))?;
    let keys = load_keys(&a.keys)?;
    let cards = CardsFile::load(&a.cards).map_err(|e| bad(format!("--cards: {e}")))?;
    let loaded = cards.build(&default_provider()).map_err(|e| bad(format!("--cards: {e}")))?;
    let counters: Arc<dyn CounterStore> = match &a.counters {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| bad(format!("--counters {}: {e}", dir.display())))?;
            let block = NonZeroU64::MIN;
            Arc::new(FileCounterStore::with_block(dir, block).map_err(|e| bad(format!("--counters: {e}")))?)
        }
        None => Arc::new(MemoryCounterStore::new()),
    };
    let originator = Address::international("4912345678").map_err(bad)?;
    let mut config = EngineConfig::new(originator);
    config.window = a.window;
    config.retry = RetryPolicy { max_retries: a.retries, timeout_ms: a.timeout_ms };
    let net = NetworkConfig {
        mt_delay_ms: 500,
        mo_delay_ms: 500,
        faults: Faults { drop_mt_per_mille: a.drop_per_mille, ..Faults::default() },
        ..NetworkConfig::default()
    };
    let total = loaded.fleet.len();
    let mut sim = Simulation::new(Engine::new(config, counters), loaded.fleet, net);
    sim.set_trace_apdus(a.trace);
    let jobs: Vec<_> =
        sim.fleet().iter().map(|c| c.job(tar, spi, kvn, keys.clone(), script.clone())).collect();
    for j in jobs {
        sim.submit(j);
    }
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} cards {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let started = std::time::Instant::now();
    let mut reports = sim.run_with(&mut |e| {
        if a.trace {
            let line = trace_line(e);
            match &bar {
                Some(b) => b.suspend(|| eprintln!("{line}")),
                None => eprintln!("{line}"),
            }
        }
        if let (Some(b), SimEvent::JobFinished { .. }) = (&bar, e) {
            b.inc(1);
        }
    });
    let elapsed = started.elapsed();
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    reports.sort_by_key(|r| r.job);
    if a.save {
        for (card, path) in sim.fleet().iter().zip(&loaded.files) {
            if let Some(path) = path {
                card.uicc.save(path).map_err(|e| bad(format!("--save {}: {e}", path.display())))?;
            }
        }
    }
    let summary = Summary::of(&reports);
    if a.json {
        let cards: Vec<_> = sim.fleet().iter().zip(&reports).map(|(c, r)| card_json(&c.iccid, r)).collect();
        let out = json!({
            "cards": cards,
            "summary": summary,
            "simulated_ms": sim.now(),
            "wall_ms": elapsed.as_millis() as u64,
        });
        println!("{}", serde_json::to_string_pretty(&out).map_err(bad)?);
    } else {
        for (c, r) in sim.fleet().iter().zip(&reports) {
            println!("{}", card_line(&c.iccid, r));
        }
        println!(
            "{} cards: {} succeeded, {} card status, {} script error, {} security failure, {} timeout, \
             {} undeliverable, {} send failed; {} retries; {} ms simulated, {} ms wall",
            summary.total,
            summary.succeeded(),
            summary.card_status,
            summary.script_error,
            summary.security_failure,
            summary.timeout,
            summary.undeliverable,
            summary.send_failed,
            summary.retries,
            sim.now(),
            elapsed.as_millis()
        );
    }
    Ok(if summary.succeeded() == summary.total { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn por_status_hex(s: PorStatus) -> String {
    format!("{:02X}", s.code())
}

/// A card's entry of the JSON report.
fn card_json(iccid: &str, r: &JobReport) -> serde_json::Value {
    json!({
        "iccid": iccid,
        "msisdn": r.msisdn.to_string(),
        "status": r.outcome.name(),
        "outcome": r.outcome,
        "por_status": r.por_status().map(por_status_hex),
        "last_sw": r.last_sw().map(|sw| format!("{:04X}", sw.0)),
        "response_data": r.por.as_ref().map(|p| hex::encode_upper(&p.data)),
        "response": r.response(),
        "retries": r.retries(),
        "duration_ms": r.duration_ms(),
        "counters": r.attempts.iter().map(|a| hex::encode_upper(a.cntr.0)).collect::<Vec<_>>(),
    })
}

/// A card's line of the text report.
fn card_line(iccid: &str, r: &JobReport) -> String {
    let mut line = format!("{iccid} {} {}", r.msisdn, r.outcome.name());
    if let Some(s) = r.por_status() {
        line.push_str(&format!(" por {}", por_status_hex(s)));
    }
    if let Some(sw) = r.last_sw() {
        line.push_str(&format!(" sw {:04X}", sw.0));
    }
    line.push_str(&format!(" retries {} {} ms", r.retries(), r.duration_ms()));
    line
}

fn to_json<T: serde::Serialize, E: std::fmt::Display>(decoded: Result<T, E>) -> String {
    match decoded {
        Ok(v) => serde_json::to_string(&v).unwrap_or_else(|e| format!("(unprintable: {e})")),
        Err(e) => format!("(does not decode: {e})"),
    }
}

/// One line of `--trace`: what happened, the bytes in hex, the decoded value as JSON.
fn trace_line(e: &SimEvent<'_>) -> String {
    match e {
        SimEvent::SmsDeliver { at, sms, to, tpdu, fate } => format!(
            "{at:>8} ms  SMS-DELIVER  -> {to} ({sms}, {fate:?}) {}  {}",
            hex::encode_upper(tpdu),
            to_json(Deliver::decode_exact(tpdu))
        ),
        SimEvent::Apdu { at, card, command, response } => {
            let decoded = match CommandApdu::decode_exact(command) {
                Ok(c) if c.ins == 0xC2 => to_json(
                    Envelope::decode_exact(c.data())
                        .and_then(|env| SmsPpDownload::from_envelope(&env))
                        .map(|d| json!({ "envelope_sms_pp_download": d })),
                ),
                Ok(c) => to_json::<_, std::convert::Infallible>(Ok(c)),
                Err(e) => format!("(does not decode: {e})"),
            };
            format!(
                "{at:>8} ms  APDU card {card}  {} -> {}  {decoded}",
                hex::encode_upper(command),
                hex::encode_upper(response)
            )
        }
        SimEvent::DeliverReport { at, from, tpdu, rp, dropped } => {
            let decoded = match rp {
                RpKind::Ack => DeliverReport::decode_ack(tpdu),
                RpKind::Error => DeliverReport::decode_error(tpdu),
            };
            format!(
                "{at:>8} ms  DELIVER-REPORT ({rp:?}{}) <- {from} {}  {}",
                if *dropped { ", lost" } else { "" },
                hex::encode_upper(tpdu),
                to_json(decoded)
            )
        }
        SimEvent::SmsSubmit { at, from, tpdu, dropped } => format!(
            "{at:>8} ms  SMS-SUBMIT{} <- {from} {}  {}",
            if *dropped { " (lost)" } else { "" },
            hex::encode_upper(tpdu),
            to_json(Submit::decode_exact(tpdu))
        ),
        SimEvent::Terminal { at, card, output } => format!("{at:>8} ms  terminal card {card}: {output:?}"),
        SimEvent::Retrying { at, job, attempt, reason } => {
            format!("{at:>8} ms  {job}: attempt {attempt} ({reason:?})")
        }
        SimEvent::Unmatched { at, unmatched } => format!("{at:>8} ms  unmatched: {unmatched:?}"),
        SimEvent::JobFinished { at, report } => format!(
            "{at:>8} ms  {} {}: {}  PoR {}",
            report.job,
            report.card.as_str(),
            report.outcome.name(),
            to_json::<_, std::convert::Infallible>(Ok(&report.por))
        ),
    }
}

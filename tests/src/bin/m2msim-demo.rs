//! `m2msim-demo`: the flows of TR 33.812 end to end on m2msim.
//!
//! With no subcommand it runs every flow on an embedded default (a handful of devices).

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use m2msim_scenarios::subscription_change::{Alt, Event, Options, Scenario, Summary};

/// The flows of TR 33.812 (S3-090907 remote subscription change) run end to end on m2msim's engines,
/// printing each numbered step of the contribution.
#[derive(Debug, Parser)]
#[command(
    name = "m2msim-demo",
    version,
    after_help = "Examples:\n  m2msim-demo\n  m2msim-demo subscription-change --alt 3a --devices 10000\n  m2msim-demo subscription-change --alt 3b --devices 2 --trace"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// S3-090907: remote subscription change of a UICC (Alt 3a: IMSI rewrite and key handover; Alt 3b:
    /// indexed K/OTA-key pairs on the card).
    SubscriptionChange(ChangeArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum AltArg {
    #[value(name = "3a")]
    A3a,
    #[value(name = "3b")]
    A3b,
}

#[derive(Debug, clap::Args)]
struct ChangeArgs {
    /// The alternative.
    #[arg(long, value_enum, default_value = "3a")]
    alt: AltArg,
    /// The number of devices (up to 100000).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    devices: u32,
    /// Every TPDU, APDU, PoR and file as hex and decoded.
    #[arg(long)]
    trace: bool,
    /// The seed of every key and RAND.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The summary as JSON on stdout (steps go to stderr).
    #[arg(long)]
    json: bool,
}

fn print_event(e: &Event, to_stderr: bool, progress: bool) {
    let line = match e {
        Event::Step { alt, number, actors, text } => {
            format!("\n[{alt}] step {number:>2}  {actors}\n          {text}")
        }
        Event::Detail(t) => format!("          - {t}"),
        Event::Trace(t) => format!("          | {t}"),
        Event::Progress { done, total } => {
            if progress {
                eprint!("\r          {done}/{total} OTA jobs finished");
                if done == total {
                    eprint!("\r\x1b[2K");
                }
                let _ = std::io::stderr().flush();
            }
            return;
        }
    };
    if to_stderr {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
}

fn print_summary(s: &Summary, wall: std::time::Duration) {
    let alt = s.alt.map(|a| a.to_string()).unwrap_or_default();
    println!("\n== summary (Alt {alt}): {} devices, {:.2} s", s.devices, wall.as_secs_f64());
    for (change, n) in &s.moved {
        println!("   moved {change}: {n}");
    }
    if s.failures.is_empty() {
        println!("   failures: none");
    }
    for (cause, n) in &s.failures {
        println!("   failure {cause}: {n}");
    }
    println!(
        "   OTA jobs: {} ({} retries); AKA resynchronisations: {}",
        s.ota_jobs, s.ota_retries, s.resyncs
    );
    for (phase, d) in &s.phases {
        println!("   {:>9.1} ms  {phase}", d.as_secs_f64() * 1e3);
    }
}

fn change(args: &ChangeArgs) -> Result<Summary, String> {
    let alt = match args.alt {
        AltArg::A3a => Alt::A3a,
        AltArg::A3b => Alt::A3b,
    };
    let mut opts = Options::new(alt, args.devices as usize);
    opts.trace = args.trace;
    opts.seed = args.seed;
    let json = args.json;
    let progress = std::io::stderr().is_terminal() && args.devices >= 1000;
    let t = Instant::now();
    let mut scenario = Scenario::new(opts, move |e| print_event(e, json, progress));
    let summary = scenario.run().map_err(|e| e.to_string())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())?);
    } else {
        print_summary(&summary, t.elapsed());
    }
    Ok(summary)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runs: Vec<ChangeArgs> = match cli.cmd {
        Some(Cmd::SubscriptionChange(a)) => vec![a],
        None => [AltArg::A3a, AltArg::A3b]
            .into_iter()
            .map(|alt| ChangeArgs { alt, devices: 5, trace: false, seed: 1, json: false })
            .collect(),
    };
    for args in &runs {
        match change(args) {
            Ok(s) if s.failures.is_empty() => {}
            Ok(_) => return ExitCode::from(1),
            Err(e) => {
                eprintln!("m2msim-demo: {e}");
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::SUCCESS
}

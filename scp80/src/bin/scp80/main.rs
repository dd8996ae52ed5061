//! `scp80`: SCP80 secured packets (ETSI TS 102 225 / 3GPP TS 31.115), the simulated UICC and Milenage from
//! the command line.
//!
//! ```text
//! scp80 command …    secure a command packet and print it (packet, SMS user data or SMS-DELIVER TPDUs)
//! scp80 por …        verify and decipher a Proof of Receipt and print it as JSON
//! scp80 card …       run the card side on one packet and print the outcome and its PoR as JSON
//! scp80 milenage …   Milenage f1–f5* for one RAND/SQN (JSON)
//! scp80 uicc new …   create a card file from a profile
//! scp80 uicc apdu …  send APDUs to a card file (and save it)
//! scp80 uicc serve … run a card file behind TCP (m2msim APDU framing and vsmartcard vpcd)
//! scp80 ota run …    run an OTA campaign against simulated cards (engine, SMSC, terminals) and report
//! scp80 fuzz …       fuzz a card (TAR/keyset scans, minimum security level, mutations) and report
//! ```
//! Hex in and out. Bad input exits with code 2 and one line saying what was wrong.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod card;
mod command;
mod fuzz;
mod milenage;
mod ota;
mod por;
mod shared;
mod uicc;

/// SCP80 secured packets (build them as the OTA server, check them as the card, verify the PoR), the
/// simulated UICC and Milenage.
///
/// Hex arguments may contain spaces and colons and start with 0x. Keys come either as --kic-key/--kid-key
/// (the algorithms follow from the KIc/KID bytes) or from a key file (--keys, TOML: see the README).
#[derive(Parser)]
#[command(name = "scp80", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Secure a command packet (the sending entity) and print it in hex.
    Command(command::Args),
    /// Verify (and decipher) a PoR against the command it answers; print it as JSON.
    Por(por::Args),
    /// Run the card side (receiving entity) on one packet: checks, deciphering, counters, PoR; print JSON.
    Card(card::Args),
    /// Compute Milenage (3GPP TS 35.206) f1, f1*, f2–f5, f5* and AUTN for one RAND and SQN; print JSON.
    Milenage(milenage::Args),
    /// The simulated UICC: create card files, send APDUs, serve a card over TCP.
    #[command(subcommand)]
    Uicc(uicc::Cmd),
    /// The OTA server: run a campaign against simulated cards.
    #[command(subcommand)]
    Ota(ota::Cmd),
    /// Fuzz a card over SCP80, SIMTester-style: TAR scan, keyset scan, minimum security level, mutated
    /// packets and TPDUs; JSON and Markdown report.
    Fuzz(fuzz::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            let text = e.to_string();
            let line = text.lines().next().unwrap_or("bad arguments");
            eprintln!("scp80: {}", line.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    let result = match &cli.cmd {
        Cmd::Command(a) => command::run(a),
        Cmd::Por(a) => por::run(a),
        Cmd::Card(a) => card::run(a),
        Cmd::Milenage(a) => milenage::run(a),
        Cmd::Uicc(c) => uicc::run(c),
        Cmd::Ota(c) => ota::run(c),
        Cmd::Fuzz(a) => fuzz::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("scp80: {e}");
            ExitCode::from(2)
        }
    }
}

//! `scp80 milenage`: the Milenage functions (3GPP TS 35.206 §4.1) for one RAND, SQN and AMF.

use std::process::ExitCode;

use m2msim_scp80::milenage::{Milenage, opc_from_op};
use serde_json::json;

use crate::shared::{CliResult, bad, hex_n};

const EXAMPLES: &str = "\
Example (TS 35.207 test set 1):
  scp80 milenage --k 465b5ce8b199b49faa5f0a2ee238a6bc --op cdc202d5123e20f62b6d676ac72cb318 \\
      --rand 23553cbe9637a89d218ae64dae47bf35 --sqn ff9bb4d0b607 --amf b9b9

Output (JSON, hex): opc, mac_a (f1), mac_s (f1*), res (f2), ck (f3), ik (f4), ak (f5), ak_star (f5*) and
autn = SQN xor AK || AMF || MAC-A. The output holds keys (CK, IK): it is for test data.";

/// Compute Milenage f1–f5* and AUTN.
#[derive(clap::Args, Debug)]
#[command(after_long_help = EXAMPLES)]
pub(crate) struct Args {
    /// The subscriber key K (16 octets, hex).
    #[arg(long)]
    k: String,
    /// The operator variant OP (16 octets); OPc is computed from it.
    #[arg(long, conflicts_with = "opc", required_unless_present = "opc")]
    op: Option<String>,
    /// OPc (16 octets).
    #[arg(long)]
    opc: Option<String>,
    /// RAND (16 octets).
    #[arg(long)]
    rand: String,
    /// SQN (6 octets).
    #[arg(long)]
    sqn: String,
    /// AMF (2 octets).
    #[arg(long)]
    amf: String,
}

pub(crate) fn run(a: &Args) -> CliResult<ExitCode> {
    let k = hex_n::<16>("k", &a.k)?;
    let opc = match (&a.op, &a.opc) {
        (Some(op), None) => opc_from_op(&k, &hex_n::<16>("op", op)?),
        (None, Some(opc)) => hex_n::<16>("opc", opc)?,
        _ => return Err(bad("give exactly one of --op and --opc")),
    };
    let rand = hex_n::<16>("rand", &a.rand)?;
    let sqn = hex_n::<6>("sqn", &a.sqn)?;
    let amf = hex_n::<2>("amf", &a.amf)?;
    let m = Milenage::new(&k, &opc);
    let mac_a = m.f1(&rand, &sqn, &amf);
    let keys = m.f2345(&rand);
    let mut autn = [0u8; 16];
    for (i, (s, k)) in sqn.iter().zip(keys.ak).enumerate() {
        autn[i] = s ^ k;
    }
    autn[6..8].copy_from_slice(&amf);
    autn[8..].copy_from_slice(&mac_a);
    let out = json!({
        "opc": hex::encode(opc),
        "mac_a": hex::encode(mac_a),
        "mac_s": hex::encode(m.f1_star(&rand, &sqn, &amf)),
        "res": hex::encode(keys.res),
        "ck": hex::encode(keys.ck),
        "ik": hex::encode(keys.ik),
        "ak": hex::encode(keys.ak),
        "ak_star": hex::encode(m.f5_star(&rand)),
        "autn": hex::encode(autn),
    });
    println!("{out:#}");
    Ok(ExitCode::SUCCESS)
}

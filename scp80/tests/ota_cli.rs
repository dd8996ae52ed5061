//! `scp80 ota run`, run as a process on a small fleet: a single card file and a profile counted up to
//! three cards; the IMSI change in compact and expanded form; the JSON and text reports, `--trace`,
//! `--save`, a refusal (exit code 1) and bad input (exit code 2).
#![allow(clippy::unwrap_used)] // test code

use std::path::Path;
use std::process::{Command, Output};

use m2msim_scp80::ota_server::driver::read_imsi;
use m2msim_scp80::uicc::Uicc;
use m2msim_scp80::uicc::profile::EXAMPLE_PROFILE;

const SERVER_KEYS: &str = r#"
[[keyset]]
kvn = 1
kic = { algorithm = "3des2", key = "300102030405060708090a0b0c0d0e0f" }
kid = { algorithm = "3des2-mac", key = "301102030405060708090a0b0c0d0e0f" }

[[keyset]]
kvn = 2
kic = { algorithm = "aes", key = "000102030405060708090a0b0c0d0e0f" }
kid = { algorithm = "aes-cmac", key = "101112131415161718191a1b1c1d1e1f" }
"#;

const CARDS: &str = r#"
[[card]]
file = "card1.toml"
msisdn = "491700000001"

[[card]]
file = "usim.toml"
msisdn = "491710000000"
count = 3
iccid = "8988211000000100000"
imsi = "001010000100000"
"#;

/// m2m.md §4.4: new IMSI 001019876543210, LOCI / PSLOCI / EPSLOCI invalidated.
const SCRIPT: &str = "# IMSI change\n\
    00A4000C026F07\n\
    00D6000009 080910108967452301   # UPDATE BINARY EF_IMSI\n\
    00A4000C026F7E\n\
    00D600000B FFFFFFFF00F110FFFEFF01\n\
    00A4000C026F73\n\
    00D600000E FFFFFFFFFFFFFF00F110FFFEFF01\n\
    00A4000C026FE3\n\
    00D6000012 FFFFFFFFFFFFFFFFFFFFFFFF00F110FFFE01\n";

fn scp80(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scp80")).current_dir(dir).args(args).output().unwrap()
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("card1.toml"), EXAMPLE_PROFILE).unwrap();
    std::fs::write(dir.path().join("usim.toml"), EXAMPLE_PROFILE).unwrap();
    std::fs::write(dir.path().join("cards.toml"), CARDS).unwrap();
    std::fs::write(dir.path().join("keys.toml"), SERVER_KEYS).unwrap();
    std::fs::write(dir.path().join("imsi.txt"), SCRIPT).unwrap();
    dir
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

#[test]
fn imsi_change_campaign_with_json_trace_and_save() {
    let dir = setup();
    let args = [
        "ota",
        "run",
        "--cards",
        "cards.toml",
        "--script",
        "imsi.txt",
        "--keys",
        "keys.toml",
        "--json",
        "--trace",
        "--save",
    ];
    let o = scp80(dir.path(), &args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&o);
    let cards = v["cards"].as_array().unwrap();
    let iccids: Vec<&str> = cards.iter().map(|c| c["iccid"].as_str().unwrap()).collect();
    assert_eq!(
        iccids,
        ["8988211000000000011", "8988211000000100000", "8988211000000100001", "8988211000000100002"]
    );
    for c in cards {
        assert_eq!(c["status"], "success", "{c}");
        assert_eq!(c["por_status"], "00");
        assert_eq!(c["last_sw"], "9000");
        assert_eq!(c["response_data"], "089000");
        assert_eq!(c["retries"], 0);
        assert_eq!(c["counters"], serde_json::json!(["0000000001"]));
    }
    assert_eq!(cards[3]["msisdn"], "491710000002");
    assert_eq!((v["summary"]["total"].as_u64(), v["summary"]["success"].as_u64()), (Some(4), Some(4)));
    // The trace: TPDUs, the ENVELOPE decoded, the PoR.
    let trace = String::from_utf8_lossy(&o.stderr);
    assert_eq!(trace.matches("SMS-DELIVER ").count(), 4, "{trace}");
    assert_eq!(trace.matches("envelope_sms_pp_download").count(), 4, "{trace}");
    assert!(trace.contains("DELIVER-REPORT (Ack)") && trace.contains(r#""status":"ok""#), "{trace}");
    // --save wrote the single card back with its new IMSI and counter.
    let card = Uicc::load(&dir.path().join("card1.toml")).unwrap();
    assert_eq!(read_imsi(&card).as_deref(), Some("001019876543210"));
    assert_eq!(card.counter(m2msim_scp80::keys::Kvn::new(1).unwrap()).get(), 1);
    // The profile was not touched.
    assert_eq!(std::fs::read_to_string(dir.path().join("usim.toml")).unwrap(), EXAMPLE_PROFILE);
}

#[test]
fn expanded_script_from_toml_and_a_refusal() {
    let dir = setup();
    let toml = format!(
        "format = \"expanded\"\ntar = \"B00012\"\nspi = \"1639\"\nkvn = 2\napdus = [{}]\n",
        SCRIPT
            .lines()
            .skip(1)
            .map(|l| format!("\"{}\"", l.split('#').next().unwrap().trim()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    std::fs::write(dir.path().join("imsi.toml"), toml).unwrap();
    let args = ["ota", "run", "--cards", "cards.toml", "--script", "imsi.toml", "--keys", "keys.toml"];
    let o = scp80(dir.path(), &args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(text.lines().filter(|l| l.contains(" success por 00 sw 9000 retries 0")).count(), 4, "{text}");
    assert!(text.lines().last().unwrap().starts_with("4 cards: 4 succeeded"), "{text}");
    // An unknown TAR: every card answers 09; exit code 1.
    let mut args = args.to_vec();
    args.extend(["--tar", "B0FFFF", "--json"]);
    let o = scp80(dir.path(), &args);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    for c in v["cards"].as_array().unwrap() {
        assert_eq!(
            (c["status"].as_str(), c["por_status"].as_str()),
            (Some("card_status"), Some("09")),
            "{c}"
        );
    }
    assert_eq!(v["summary"]["card_status"], 4);
}

#[test]
fn bad_input_is_one_line_and_exit_code_2() {
    let dir = setup();
    std::fs::write(dir.path().join("bad.txt"), "00A4000C03 6F07\n").unwrap();
    for (script, needle) in [("missing.txt", "missing.txt"), ("bad.txt", "script line 1")] {
        let args = ["ota", "run", "--cards", "cards.toml", "--script", script, "--keys", "keys.toml"];
        let o = scp80(dir.path(), &args);
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err}");
    }
}

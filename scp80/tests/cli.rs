//! The `scp80` binary as a user runs it: every command and response vector of
//! `../shared/vectors/scp80_vectors.json` (third-party vectors from pySim, asterix and gsm0348; see each
//! vector's `source` and `license`), the card side on files, exit codes and help.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::process::{Command, Output};

use m2msim_codec::testdata::shared_file;
use serde_json::Value;

fn scp80(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scp80")).args(args).output().expect("run scp80")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap().trim().to_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn vectors() -> Option<Vec<Value>> {
    let path = shared_file("vectors/scp80_vectors.json")?;
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    Some(v["vectors"].as_array().unwrap().clone())
}

fn s(v: &Value) -> String {
    v.as_str().unwrap().to_owned()
}

fn note(v: &Value) -> String {
    v["note"].as_str().unwrap_or("").to_owned()
}

/// The key options a vector needs.
fn key_args(v: &Value) -> Vec<String> {
    let mut a = Vec::new();
    if let Some(k) = v["kic_key"].as_str() {
        a.extend(["--kic-key".to_owned(), k.to_owned()]);
        if note(v).contains("cipher=DESede/ECB") {
            let alg = if k.len() == 32 { "3des2-ecb" } else { "3des3-ecb" };
            a.extend(["--kic-algorithm".to_owned(), alg.to_owned()]);
        }
    }
    if let Some(k) = v["kid_key"].as_str() {
        a.extend(["--kid-key".to_owned(), k.to_owned()]);
    }
    if note(v).contains("rc=CRC32") {
        a.extend(["--kid-algorithm".to_owned(), "crc32".to_owned()]);
    }
    if note(v).contains("cmac_len=4") {
        a.extend(["--mac-len".to_owned(), "4".to_owned()]);
    }
    a
}

fn command_args(v: &Value) -> Vec<String> {
    let mut a: Vec<String> = ["command", "--spi"].iter().map(|s| (*s).to_owned()).collect();
    a.push(s(&v["spi"]));
    for f in ["kic", "kid", "tar", "cntr"] {
        a.push(format!("--{f}"));
        a.push(s(&v[f]));
    }
    a.extend(["--data".to_owned(), s(&v["apdu"])]);
    if v["transport"] == "cat_tp" {
        a.extend(["--transport".to_owned(), "cat-tp".to_owned()]);
    }
    a.extend(key_args(v));
    a
}

fn run(args: &[String]) -> Output {
    scp80(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn every_command_vector_through_the_cli() {
    let Some(vs) = vectors() else { return };
    let mut n = 0;
    for v in vs.iter().filter(|v| v["direction"] == "command") {
        if v["verified_by_independent_impl"].as_str().is_some_and(|s| s.contains("proprietary XOR")) {
            continue; // optional proprietary RC
        }
        let args = command_args(v);
        let o = run(&args);
        assert!(o.status.success(), "{}: {}", v["name"], stderr(&o));
        assert_eq!(stdout(&o), s(&v["expected"]), "{}", v["name"]);
        // The SMS forms of single-SMS packets.
        let expected = s(&v["expected"]);
        if v["transport"] == "sms" && expected.len() / 2 <= 137 {
            let mut ud = args.clone();
            ud.extend(["--form".to_owned(), "ud".to_owned()]);
            let o = run(&ud);
            assert_eq!(stdout(&o), format!("027000{expected}"), "{}", v["name"]);
        }
        if let Some(tpdu) = v["sms_deliver_tpdu_spec_udl"].as_str() {
            let mut t = args.clone();
            t.extend(
                ["--form", "tpdu", "--originator", "12345678", "--scts", "22705200000000"].map(String::from),
            );
            let o = run(&t);
            assert!(o.status.success(), "{}", stderr(&o));
            assert_eq!(stdout(&o), tpdu, "{}", v["name"]);
        }
        n += 1;
    }
    assert_eq!(n, 59);
}

#[test]
fn every_response_vector_through_the_cli() {
    let Some(vs) = vectors() else { return };
    let mut n = 0;
    for v in vs.iter().filter(|v| v["direction"] == "response") {
        let name = s(&v["name"]);
        let mut args: Vec<String> = vec!["por".into(), "--spi".into(), s(&v["spi"])];
        args.extend(["--kic".into(), s(&v["kic"]), "--kid".into(), s(&v["kid"])]);
        args.extend(["--ud".into(), s(&v["input_user_data"])]);
        args.extend(key_args(v));
        let o = run(&args);
        let j: Value =
            serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{name}: {e}: {}", stderr(&o)));
        let e = &v["expected"];
        let ind = &v["decoded_by_independent_impl"];
        assert_eq!(j["status"]["code"], format!("{:02x}", e["status"].as_u64().unwrap()), "{name}");
        assert!(j["status"]["name"].is_string());
        assert_eq!(j["tar"], e["tar"], "{name}");
        assert_eq!(j["cntr"], ind["cntr"], "{name}");
        assert_eq!(j["pcntr"], ind["pcntr"], "{name}");
        assert_eq!(j["data"], ind["data"], "{name}");
        assert_eq!(j["rc_cc_ds"], ind["sig"], "{name}");
        let check = match ind["sig_ok"].as_bool() {
            Some(true) => "verified",
            Some(false) => "failed",
            None => "not_requested",
        };
        assert_eq!(j["checksum"], check, "{name}");
        assert_eq!(o.status.code(), Some(if check == "failed" { 1 } else { 0 }), "{name}");
        if let Some(c) = e["number_of_commands"].as_u64() {
            let r = &j["response"]["compact"];
            assert_eq!(r["executed"], c, "{name}");
            assert_eq!(r["last_sw"], e["last_status_word"], "{name}");
            assert_eq!(r["data"], e["last_response_data"], "{name}");
        }
        n += 1;
    }
    assert_eq!(n, 22);
}

#[test]
fn por_options_submit_tar_counter_and_lenient_error_por() {
    let Some(vs) = vectors() else { return };
    let v = vs.iter().find(|v| v["name"] == "asterix/test_SPI1531/real-card-PoR").unwrap();
    let pc = s(&v["proactive_command"]);
    let submit = &pc[pc.find("8b3a").unwrap() + 4..];
    let base = [
        "por",
        "--spi",
        "1535",
        "--kic",
        "15",
        "--kid",
        "15",
        "--kic-key",
        "263b48dbcbc1c21c0aa13e4d4516c446",
    ];
    let mut a: Vec<&str> = base.to_vec();
    a.extend(["--submit", submit, "--tar", "c00000", "--cntr", "0000000076"]);
    let o = scp80(&a);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["checksum"], "verified");
    assert_eq!(j["trusted"], true);
    assert_eq!(j["deciphered"], true);
    // Sent with another counter: flagged, not trusted, exit 1.
    let mut a: Vec<&str> = base.to_vec();
    a.extend(["--submit", submit, "--cntr", "0000000077"]);
    let o = scp80(&a);
    assert_eq!(o.status.code(), Some(1));
    let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["findings"][0]["cntr_mismatch"]["sent"], "0000000077");
    // The real-card replay answer under the SPI the command had (16 19): accepted and flagged.
    let o = scp80(&[
        "por",
        "--spi",
        "1619",
        "--kic",
        "15",
        "--kid",
        "15",
        "--kic-key",
        "f09c43ee1a0391665cc9f05af4e0bd10",
        "--kid-key",
        "01981f4a20999f62af99988107baf6ca",
        "--ud",
        "027100000b0ab0001000000000000006",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["status"]["code"], "06");
    assert_eq!(j["checksum"], "missing");
    assert_eq!(j["findings"][0], "unprotected_error_por");
    assert_eq!((j["trusted"].as_bool(), j["accepted"].as_bool()), (Some(false), Some(true)));
}

const KEYS: &str = r#"
[[keyset]]
kvn = 1
kic = { algorithm = "3des2", key = "f09c43ee1a0391665cc9f05af4e0bd10" }
kid = { algorithm = "3des2-mac", key = "01981f4a20999f62af99988107baf6ca" }
"#;

const TARS: &str = r#"
[[tar]]
tar = "B00010"
msl = "16"
description = "RFM SIM"
"#;

#[test]
fn command_card_por_through_files() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("card.toml");
    let tars = dir.path().join("tars.toml");
    let counters = dir.path().join("counters");
    std::fs::write(&keys, KEYS).unwrap();
    std::fs::write(&tars, TARS).unwrap();
    let (k, t, c) = (keys.to_str().unwrap(), tars.to_str().unwrap(), counters.to_str().unwrap());
    // The OTA server secures with the key file ...
    let o = scp80(&[
        "command",
        "--spi",
        "1639",
        "--kic",
        "15",
        "--kid",
        "15",
        "--tar",
        "b00010",
        "--cntr",
        "0000000064",
        "--keys",
        k,
        "--form",
        "ud",
        "--data",
        "a0a40000027f20a0c0000016",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ud = stdout(&o);
    // ... the card accepts it, stores the counter and answers with a ciphered, signed PoR by SMS-SUBMIT ...
    let card = |ud: &str, extra: &[&str]| {
        let mut a =
            vec!["card", "--keys", k, "--tars", t, "--counters", c, "--ud", ud, "--response", "01612f"];
        a.extend_from_slice(extra);
        let o = scp80(&a);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_str::<Value>(&stdout(&o)).unwrap()
    };
    let j = card(&ud, &[]);
    assert_eq!(j["status"]["code"], "00", "{j}");
    assert_eq!(j["data"], "a0a40000027f20a0c0000016");
    assert_eq!(j["cntr"], "0000000064");
    assert_eq!(j["por"]["delivery"], "sms_submit");
    assert_eq!(std::fs::read_to_string(counters.join("card.kvn01.cntr")).unwrap(), "0000000064\n");
    // ... and the server verifies the PoR.
    let por_ud = s(&j["por"]["ud"]);
    let o = scp80(&[
        "por",
        "--spi",
        "1639",
        "--kic",
        "15",
        "--kid",
        "15",
        "--keys",
        k,
        "--ud",
        &por_ud,
        "--tar",
        "b00010",
        "--cntr",
        "0000000064",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(r["trusted"], true);
    assert_eq!(r["response"]["compact"]["last_sw"], "612f");
    // The same packet again is a replay: 02, or 06 with the real-card policy; the PoR is still protected.
    let j = card(&ud, &[]);
    assert_eq!((j["status"]["code"].as_str(), j["rejection"].as_str()), (Some("02"), Some("counter_replay")));
    assert_eq!(j["data"], Value::Null);
    let j = card(&ud, &["--replay-status", "06"]);
    assert_eq!(j["status"]["code"], "06");
    // Too low a security level for the TAR (MSL 16): 0A, answered unprotected.
    let o = scp80(&[
        "command",
        "--spi",
        "0621",
        "--kic",
        "15",
        "--kid",
        "15",
        "--tar",
        "b00010",
        "--cntr",
        "0000000065",
        "--keys",
        k,
        "--form",
        "ud",
        "--data",
        "00",
    ]);
    let j = card(&stdout(&o), &[]);
    assert_eq!(j["status"]["code"], "0a");
    assert_eq!(j["por"]["ud"], "027100000b0ab000100000000000000a");
}

#[test]
fn bad_input_exits_2_with_one_line() {
    for args in [
        vec![
            "command",
            "--spi",
            "16",
            "--kic",
            "15",
            "--kid",
            "15",
            "--tar",
            "b00010",
            "--cntr",
            "0000000000",
            "--data",
            "00",
        ],
        vec![
            "command", "--spi", "1639", "--kic", "15", "--kid", "15", "--tar", "b00010", "--cntr", "00",
            "--data", "00",
        ],
        vec![
            "command",
            "--spi",
            "1639",
            "--kic",
            "15",
            "--kid",
            "15",
            "--tar",
            "b00010",
            "--cntr",
            "0000000000",
            "--data",
            "0",
        ],
        vec![
            "command",
            "--spi",
            "1639",
            "--kic",
            "15",
            "--kid",
            "15",
            "--tar",
            "b00010",
            "--cntr",
            "0000000000",
            "--data",
            "00",
        ],
        vec![
            "command",
            "--spi",
            "1639",
            "--kic",
            "15",
            "--kid",
            "15",
            "--tar",
            "b00010",
            "--cntr",
            "0000000000",
            "--data",
            "00",
            "--kic-key",
            "0011",
            "--kid-key",
            "0011223344556677",
        ],
        vec![
            "command",
            "--spi",
            "0000",
            "--kic",
            "15",
            "--kid",
            "15",
            "--tar",
            "b00010",
            "--cntr",
            "0000000000",
            "--data",
            "00",
            "--transport",
            "cat-tp",
            "--form",
            "ud",
        ],
        vec![
            "command",
            "--spi",
            "0000",
            "--kic",
            "15",
            "--kid",
            "15",
            "--tar",
            "b00010",
            "--cntr",
            "0000000000",
            "--data",
            "00",
            "--form",
            "tpdu",
        ],
        vec![
            "command",
            "--spi",
            "0400",
            "--kic",
            "10",
            "--kid",
            "15",
            "--tar",
            "b00010",
            "--cntr",
            "0000000000",
            "--data",
            "00",
            "--kic-key",
            "00112233445566778899aabbccddeeff",
        ],
        vec!["por", "--spi", "0001", "--kic", "15", "--kid", "15", "--ud", "0271"],
        vec!["por", "--spi", "0001", "--kic", "15", "--kid", "15"],
        vec!["por", "--spi", "0001", "--kic", "15", "--kid", "15", "--packet", "020e0a"],
        vec![
            "card",
            "--keys",
            "/nonexistent/k.toml",
            "--tars",
            "/nonexistent/t.toml",
            "--counters",
            "/tmp",
            "--ud",
            "027000",
        ],
        vec!["frobnicate"],
        vec!["command", "--no-such-flag"],
    ] {
        let o = scp80(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("scp80: "), "{err}");
        assert!(stdout(&o).is_empty());
    }
    // A too-long packet for one SMS names the way out.
    let data = "00".repeat(130);
    let o = scp80(&[
        "command",
        "--spi",
        "0000",
        "--kic",
        "15",
        "--kid",
        "15",
        "--tar",
        "b00010",
        "--cntr",
        "0000000000",
        "--data",
        &data,
        "--form",
        "ud",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("concatenate"), "{}", stderr(&o));
    let o = scp80(&[
        "command",
        "--spi",
        "0000",
        "--kic",
        "15",
        "--kid",
        "15",
        "--tar",
        "b00010",
        "--cntr",
        "0000000000",
        "--data",
        &data,
        "--form",
        "ud",
        "--transport",
        "sms-concat",
    ]);
    assert!(o.status.success());
    let lines: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("0700030002017000"), "{}", lines[0]);
    assert!(lines[1].starts_with("050003000202"), "{}", lines[1]);
}

#[test]
fn help_teaches_with_examples() {
    for sub in ["command", "por", "card"] {
        let o = scp80(&[sub, "--help"]);
        assert!(o.status.success());
        let h = stdout(&o);
        assert!(h.contains("Examples:"), "{sub}: {h}");
        assert!(h.contains(&format!("scp80 {sub}")), "{sub}");
    }
    let o = scp80(&["--help"]);
    assert!(stdout(&o).contains("command") && stdout(&o).contains("card"));
}

//! The `m2mcodec` binary as a user runs it: decode → JSON, JSON → encode, exit codes.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

fn m2mcodec(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_m2mcodec"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn m2mcodec");
    let mut sin = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        sin.write_all(s.as_bytes()).unwrap();
    }
    drop(sin);
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap().trim().to_owned()
}

/// decode → JSON → encode gives the input bytes, and decoding again gives the same JSON.
fn assert_round_trip(kind: &str, hex_in: &str) -> String {
    assert_round_trip_with(kind, hex_in, &[])
}

fn assert_round_trip_with(kind: &str, hex_in: &str, opts: &[&str]) -> String {
    fn args<'a>(a: &[&'a str], opts: &[&'a str]) -> Vec<&'a str> {
        a.iter().chain(opts).copied().collect()
    }
    let d = m2mcodec(&args(&["decode", kind, hex_in], opts), None);
    assert!(d.status.success(), "{kind} {hex_in}: {}", String::from_utf8_lossy(&d.stderr));
    let json = stdout(&d);
    let e = m2mcodec(&args(&["encode", kind], opts), Some(&json));
    assert!(e.status.success(), "{kind}: {}", String::from_utf8_lossy(&e.stderr));
    let hex_out = stdout(&e);
    assert_eq!(hex_out, hex_in.replace(' ', "").to_lowercase(), "{kind}: JSON {json}");
    let d2 = m2mcodec(&args(&["decode", kind, &hex_out], opts), None);
    assert_eq!(stdout(&d2), json, "{kind}: JSON → hex → JSON is stable");
    json
}

#[test]
fn tlv_kinds_round_trip() {
    let j = assert_round_trip("ber-tlv", "ae80220580e29000000000");
    assert!(j.contains("\"indefinite\""), "{j}");
    assert_round_trip("ber-tlv", "8081050102030405");
    assert_round_trip("ctlv", "82028381");
    assert_round_trip("ctlv", "7f80620100");
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let o = m2mcodec(&["decode", "ber-tlv", "8005010203"], None);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("at byte 1") && err.contains("length 5"), "{err}");

    let o = m2mcodec(&["decode", "ber-tlv", "zz"], None);
    assert_eq!(o.status.code(), Some(2));
    let o = m2mcodec(&["decode", "no-such-kind", "00"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8(o.stderr).unwrap().contains("kinds:"));
    let o = m2mcodec(&["encode", "ctlv"], Some("{\"not\": 1}"));
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn pkg0_build_decode_verify() {
    let o = m2mcodec(
        &[
            "pkg0",
            "build",
            "--server-id",
            "com.example.dm",
            "--password",
            "srvpw",
            "--nonce",
            "0a0b0c",
            "--session-id",
            "0x1A2B",
            "--ui-mode",
            "background",
            "--initiator",
            "server",
            "--version",
            "12",
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let hex_pkg = stdout(&o);
    assert_eq!(&hex_pkg[32..36], "0318", "v12 / background / server");
    let json = assert_round_trip("pkg0", &hex_pkg);
    assert!(json.contains("\"session_id\":6699") && json.contains("\"ui_mode\":\"background\""), "{json}");
    let ok = m2mcodec(
        &[
            "pkg0",
            "verify",
            "--server-id",
            "com.example.dm",
            "--password",
            "srvpw",
            "--nonce",
            "0a0b0c",
            &hex_pkg,
        ],
        None,
    );
    assert_eq!(ok.status.code(), Some(0));
    let bad = m2mcodec(
        &[
            "pkg0",
            "verify",
            "--server-id",
            "com.example.dm",
            "--password",
            "wrong",
            "--nonce",
            "0a0b0c",
            &hex_pkg,
        ],
        None,
    );
    assert_eq!(bad.status.code(), Some(1));
    let garbage =
        m2mcodec(&["pkg0", "verify", "--server-id", "x", "--password", "p", "--nonce", "00", "0011"], None);
    assert_eq!(garbage.status.code(), Some(2));
}

#[test]
fn auth_credentials() {
    let o = m2mcodec(
        &["auth", "md5", "--user", "Bruce2", "--password", "OhBehave", "--nonce-b64", "Tm9uY2U="],
        None,
    );
    assert_eq!(stdout(&o), "Zz6EivR3yeaaENcRN6lpAQ==");
    let o = m2mcodec(&["auth", "basic", "--user", "Scts", "--password", "SampleClient"], None);
    assert_eq!(stdout(&o), "U2N0czpTYW1wbGVDbGllbnQ=");
    let dir = std::env::temp_dir().join(format!("m2mcodec-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let body = dir.join("body.xml");
    std::fs::write(&body, "<SyncML/>").unwrap();
    let o = m2mcodec(
        &[
            "auth",
            "hmac",
            "--user",
            "u",
            "--password",
            "p",
            "--nonce-hex",
            "00010203",
            "--body-file",
            body.to_str().unwrap(),
        ],
        None,
    );
    let v = stdout(&o);
    let h = m2msim_codec::dm::auth::HmacHeader::parse(&v).unwrap();
    assert!(h.verify(b"p", &[0, 1, 2, 3], b"<SyncML/>").unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every SIM-side kind, on real or spec bytes (TS 102 225 vectors, a real Gemalto SEND SHORT MESSAGE, the
/// m2m.md REFRESH / TERMINAL RESPONSE examples, the TS 31.102 EF examples).
#[test]
fn sim_side_kinds_round_trip() {
    let env = "d147820283818604001032548b3b400290217ff6227052000000002d02700000281516191212b0000127fa28a5\
               bac69d3c5e9df2c7155dfdde449c826b236215566530787b30e8be5d";
    let env = env.replace(['\\', ' ', '\n'], "");
    let j = assert_round_trip("envelope", &env);
    assert!(
        j.contains("\"command_header\"")
            && j.contains("\"counter\":\"higher\"")
            && j.contains("\"tar\":\"b00001\""),
        "{j}"
    );
    let deliver = &env[env.find("8b3b").unwrap() + 4..];
    let j = assert_round_trip("sms-deliver", deliver);
    assert!(j.contains("\"command_packet\""), "{j}");
    let ssm = "d04781030113008202818305008b3a4100038119f000f631027100002c0ec00000888b39c361c66d5f3dc4efcef5\
               08cc228021dd34e577b147e54eff18b3922c9176644e2e8aa9a695"
        .replace(['\\', ' ', '\n'], "");
    let j = assert_round_trip("proactive", &ssm);
    assert!(j.contains("\"por\"") && j.contains("\"c00000\""), "{j}");
    assert_round_trip("sms-submit", &ssm[ssm.find("8b3a").unwrap() + 4..]);
    assert_round_trip("proactive", "d009810301010482028182");
    assert_round_trip("terminal-response", "810301010482028281830100");
    let j = assert_round_trip(
        "ota-command",
        "00201506193535b00011ae733256918d050b87c94fbfe12e4dc402f262c41cf67f2f",
    );
    assert!(j.contains("\"triple_des_cbc2_key\""), "{j}");
    assert_round_trip_with(
        "ota-command",
        "01181506211212010203e66898201308da27d2a8f23145a6f7c3",
        &["--transport", "cat-tp"],
    );
    assert_round_trip(
        "ota-response",
        "027100002412b00011ebc6b497e2cad7aedf36ace0e3a29b38853f0fe9ccde81913be5702b73abce1f",
    );
    assert_round_trip("ota-response", "027100000b0ab0001000000000000006");
    assert_round_trip("capdu", "00a40004023f00");
    assert_round_trip("capdu", "00b000000000ff"); // extended Le kept
    assert_round_trip("rapdu", "6f0a9000");
    let j = assert_round_trip("rfm-script", "00a4000c026f0700d600000908091010103254769800a4000c026fad");
    assert!(j.contains("\"compact\""), "{j}");
    assert_round_trip("rfm-script", "a0a40000023f00a0c0000016");
    let j = assert_round_trip("rfm-script", "ae80220580e29000000000");
    assert!(j.contains("\"expanded\""), "{j}");
    assert_round_trip("rfm-response", "029000");
    assert_round_trip("rfm-response", "ab0780010123029000");
    assert_round_trip("udh", "027000");
    assert_round_trip("sms-deliver-report", "0000");
    assert_round_trip("sms-deliver-report", "00077ff610027100000b0ab0001000000000000006"); // a PoR in RP-ACK
    assert_round_trip_with("sms-deliver-report", "00d000", &["--rp-error"]);
    let j = assert_round_trip("ef-imsi", "080910101032547698");
    assert!(j.contains("001010123456789"), "{j}");
    assert_round_trip("ef-iccid", "98881201000040768 2f5");
    assert_round_trip("ef-ad", "00000002");
    assert_round_trip("ef-loci", "ffffffff00f110fffeff01");
    assert_round_trip("plmn", "00f110");
}

/// Wrong input says where and what: offsets inside nested layers are absolute.
#[test]
fn errors_name_offset_and_expectation() {
    for (kind, hex_in, want) in [
        ("envelope", "d1058202838180", "at byte"),
        ("ota-command", "0020150619", "at byte"),
        ("ef-imsi", "0809101010325476", "at byte"),
        ("capdu", "00a4", "at byte"),
    ] {
        let o = m2mcodec(&["decode", kind, hex_in], None);
        assert_eq!(o.status.code(), Some(2), "{kind}");
        let e = String::from_utf8(o.stderr).unwrap();
        assert!(e.contains(want) && e.lines().count() == 1, "{kind}: {e}");
    }
}

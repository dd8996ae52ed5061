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
    let d = m2mcodec(&["decode", kind, hex_in], None);
    assert!(d.status.success(), "{kind} {hex_in}: {}", String::from_utf8_lossy(&d.stderr));
    let json = stdout(&d);
    let e = m2mcodec(&["encode", kind], Some(&json));
    assert!(e.status.success(), "{kind}: {}", String::from_utf8_lossy(&e.stderr));
    let hex_out = stdout(&e);
    assert_eq!(hex_out, hex_in.replace(' ', "").to_lowercase(), "{kind}: JSON {json}");
    let d2 = m2mcodec(&["decode", kind, &hex_out], None);
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

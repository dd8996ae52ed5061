//! The `m2mcodec` binary as a user runs it: decode → JSON, JSON → encode, exit codes.

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

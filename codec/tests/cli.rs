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

fn run_bytes(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_m2mcodec"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn m2mcodec");
    let mut sin = child.stdin.take().unwrap();
    sin.write_all(stdin).unwrap();
    drop(sin);
    child.wait_with_output().unwrap()
}

fn one_line_error(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stdout));
    let e = String::from_utf8(o.stderr.clone()).unwrap();
    assert_eq!(e.lines().count(), 1, "{e}");
    e
}

/// xml2wbxml / wbxml2xml on corpus files, through files and through stdin/stdout, against the library.
#[test]
fn syncml_conversions() {
    use m2msim_codec::syncml::tree::{self, Profile, PublicIdForm, XmlStyle};
    let Some(xml_path) =
        m2msim_codec::testdata::shared_file("corpus/omadm/xml/omadm121spec_pro_examples_01.xml")
    else {
        return;
    };
    let Some(wbxml_path) =
        m2msim_codec::testdata::shared_file("corpus/omadm/wbxml/aosp_dm12_get_response.wbxml")
    else {
        return;
    };
    let text = std::fs::read_to_string(&xml_path).unwrap();
    let dir = std::env::temp_dir().join(format!("m2mcodec-conv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out.wbxml");
    let (xp, op) = (xml_path.to_str().unwrap(), out.to_str().unwrap());

    // Default: libwbxml, WBXML 1.2, numeric public id (xml2wbxml -n -v 1.2).
    let o = m2mcodec(&["xml2wbxml", xp, op], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lib = tree::xml_text_to_wbxml(&text, m2msim_codec::xml::Mode::Strict, &Profile::libwbxml()).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), lib);
    assert_eq!(lib[..5], [0x02, 0xA4, 0x01, 0x6A, 0x00]);

    // rtk, string public id, WBXML 1.3, string table; stdin → stdout.
    let o = run_bytes(
        &[
            "xml2wbxml",
            "--profile",
            "rtk",
            "--wbxml-version",
            "1.3",
            "--public-id",
            "string",
            "--string-table",
            "-",
            "-",
        ],
        text.as_bytes(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let p = Profile {
        wbxml_version: 3,
        public_id: PublicIdForm::StringTableUnterminated,
        string_table: true,
        ..Profile::rtk()
    };
    assert_eq!(o.stdout, tree::xml_text_to_wbxml(&text, m2msim_codec::xml::Mode::Strict, &p).unwrap());
    assert_eq!(o.stdout[0], 0x03);

    // wbxml2xml: compact and indented, file → stdout.
    let wp = wbxml_path.to_str().unwrap();
    let bytes = std::fs::read(&wbxml_path).unwrap();
    for (args, profile) in [
        (vec!["wbxml2xml", wp, "-"], Profile::libwbxml()),
        (
            vec!["wbxml2xml", "--indent", "2", wp, "-"],
            Profile { xml_style: XmlStyle::Indent(2), ..Profile::libwbxml() },
        ),
        (vec!["wbxml2xml", "--profile", "rtk", wp, "-"], Profile::rtk()),
    ] {
        let o = m2mcodec(&args, None);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8(o.stdout).unwrap(), tree::wbxml_bytes_to_xml(&bytes, &profile).unwrap());
    }

    // Bad input: one line, exit 2, with the offset.
    // Tag 0x30 is reserved: the RTK profile refuses it (libwbxml, and its profile, print `<unknown/>`).
    let e = one_line_error(&run_bytes(
        &["wbxml2xml", "--profile", "rtk", "-", "-"],
        b"\x02\xa4\x01\x6a\x00\x6d\x30\x01",
    ));
    assert!(e.contains("at byte 6"), "{e}");
    let e = one_line_error(&run_bytes(&["wbxml2xml", "-", "-"], b"\x02\xa4\x01\x6a\x00\x6d\x45"));
    assert!(e.contains("at byte"), "{e}");
    let e = one_line_error(&run_bytes(&["xml2wbxml", "-", "-"], b"<SyncML><Data>a&b</Data></SyncML>"));
    assert!(e.contains("at byte 15"), "{e}");
    assert!(
        run_bytes(&["xml2wbxml", "--lenient", "-", "-"], b"<SyncML><Data>a&b</Data></SyncML>")
            .status
            .success()
    );
    // A bad option is clap's usage error (exit 2 too, with a hint).
    assert_eq!(m2mcodec(&["xml2wbxml", "--wbxml-version", "2.0", xp, op], None).status.code(), Some(2));
    one_line_error(&m2mcodec(&["wbxml2xml", "/nonexistent/file.wbxml", "-"], None));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// decode syncml / ddf FILE prints the typed model; bad messages name the element.
#[test]
fn decode_typed_documents() {
    let Some(w) = m2msim_codec::testdata::shared_file("corpus/omadm/wbxml/aosp_dm12_get_response.wbxml")
    else {
        return;
    };
    let o = m2mcodec(&["decode", "syncml", w.to_str().unwrap()], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["wire"]["encoding"], "wbxml");
    assert_eq!(v["wire"]["profile"]["flavor"], "rtk");
    assert_eq!(v["message"]["hdr"]["ver_dtd"], "1.2");
    let d: m2msim_codec::syncml::Decoded = serde_json::from_value(v).unwrap();
    assert_eq!(
        d,
        m2msim_codec::syncml::SyncMl::decode(&std::fs::read(&w).unwrap(), m2msim_codec::xml::Mode::Strict)
            .unwrap()
    );

    // XML from stdin; the missing CmdRef is named, --lenient reads it.
    let msg = "<SyncML><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID>\
               <MsgID>2</MsgID><Target><LocURI>t</LocURI></Target><Source><LocURI>s</LocURI></Source></SyncHdr>\
               <SyncBody><Status><CmdID>1</CmdID><MsgRef>1</MsgRef><Cmd>SyncHdr</Cmd><Data>212</Data></Status>\
               <Final/></SyncBody></SyncML>";
    let e = one_line_error(&m2mcodec(&["decode", "syncml", "-"], Some(msg)));
    assert!(e.contains("SyncML/SyncBody/Status/CmdRef: missing"), "{e}");
    let o = m2mcodec(&["decode", "syncml", "--lenient", "--pretty", "-"], Some(msg));
    assert!(o.status.success());
    assert!(stdout(&o).contains("\"cmd_ref\": 0"), "{}", stdout(&o));
    let e = one_line_error(&m2mcodec(&["decode", "syncml", "-"], Some("\u{2}\u{0}")));
    assert!(e.contains("at byte"), "{e}");

    let Some(ddf) = m2msim_codec::testdata::shared_file("corpus/omadm/ddf/libwbxml_ddf-001.ddf") else {
        return;
    };
    let o = m2mcodec(&["decode", "ddf", ddf.to_str().unwrap()], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).contains("\"value\":\"mail.Operatorx.com\""), "{}", stdout(&o));
    let kinds = stdout(&m2mcodec(&["kinds"], None));
    assert!(kinds.contains("syncml") && kinds.contains("ddf"), "{kinds}");
}

/// A package 0 in a WSP push: the push decodes with the notification read out, and round-trips.
#[test]
fn wsp_push_kind() {
    let o = m2mcodec(
        &["pkg0", "build", "--server-id", "srv", "--password", "pw", "--nonce", "00", "--session-id", "7"],
        None,
    );
    let pkg = stdout(&o);
    let push = format!("010603c4af87{pkg}");
    let j = assert_round_trip("wsp-push", &push);
    assert!(j.contains("\"package0\"") && j.contains("\"session_id\":7"), "{j}");
}

//! The `scp80 milenage` and `scp80 uicc` commands, run as a process; `uicc serve` over real loopback TCP
//! in both framings, and the card connecting to a vpcd.
#![allow(clippy::unwrap_used)] // test code

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use m2msim_scp80::uicc::Uicc;
use m2msim_scp80::uicc::profile::CardProfile;
use m2msim_scp80::uicc::server::{self, SharedCard};

fn scp80(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scp80")).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Exit code 2 and one line on stderr.
#[track_caller]
fn fails(o: &Output, needle: &str) {
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(needle), "{err}");
}

#[test]
fn milenage_test_set_1() {
    // TS 35.207 test set 1.
    let args = [
        "milenage",
        "--k",
        "465b5ce8b199b49faa5f0a2ee238a6bc",
        "--op",
        "cdc202d5123e20f62b6d676ac72cb318",
        "--rand",
        "23553cbe9637a89d218ae64dae47bf35",
        "--sqn",
        "ff9bb4d0b607",
        "--amf",
        "b9b9",
    ];
    let v: serde_json::Value = serde_json::from_str(&stdout(&scp80(&args))).unwrap();
    let expect = [
        ("opc", "cd63cb71954a9f4e48a5994e37a02baf"),
        ("mac_a", "4a9ffac354dfafb3"),
        ("mac_s", "01cfaf9ec4e871e9"),
        ("res", "a54211d5e3ba50bf"),
        ("ck", "b40ba9a3c58b2a05bbf0d987b21bf8cb"),
        ("ik", "f769bcd751044604127672711c6d3441"),
        ("ak", "aa689c648370"),
        ("ak_star", "451e8beca43b"),
        ("autn", "55f328b43577b9b94a9ffac354dfafb3"),
    ];
    for (k, want) in expect {
        assert_eq!(v[k], want, "{k}");
    }
    // --opc gives the same; bad input: exit 2, one line.
    let mut with_opc = args;
    with_opc[3] = "--opc";
    with_opc[4] = "cd63cb71954a9f4e48a5994e37a02baf";
    let w: serde_json::Value = serde_json::from_str(&stdout(&scp80(&with_opc))).unwrap();
    assert_eq!(w, v);
    let mut short = args;
    short[2] = "465b";
    fails(&scp80(&short), "--k: 2 octet(s), expected 16");
    fails(&scp80(&["milenage", "--k", "00"]), "required");
}

fn new_card(dir: &Path) -> String {
    let card = dir.join("card.toml").to_str().unwrap().to_owned();
    let o = scp80(&["uicc", "new", "--example", "--out", &card]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    card
}

#[test]
fn uicc_new_and_apdu() {
    let dir = tempfile::tempdir().unwrap();
    let card = new_card(dir.path());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&card).unwrap().permissions().mode() & 0o777, 0o600);
    }
    fails(&scp80(&["uicc", "new", "--example", "--out", &card]), "exists");
    let profile = dir.path().join("p.toml");
    std::fs::write(&profile, "[pins]\n").unwrap();
    fails(&scp80(&["uicc", "new", "--profile", profile.to_str().unwrap()]), "profile");
    // Printed to stdout without --out: a card file that loads.
    let text = stdout(&scp80(&["uicc", "new", "--example"]));
    Uicc::from_profile(&CardProfile::from_toml(&text).unwrap()).unwrap();

    let out = stdout(&scp80(&[
        "uicc",
        "apdu",
        "--card",
        &card,
        "0020000108 31323334FFFFFFFF",
        "00A4040C0CA0000000871002FF49FF0589",
        "00B0870009",
        "00A40004023F00",
        "00C0000000",
    ]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "> 002000010831323334FFFFFFFF");
    assert_eq!(lines[1], "< 9000 (normal ending of the command)");
    assert_eq!(lines[5], "< 080910101032547698 9000 (normal ending of the command)");
    assert!(lines[7].starts_with("< 61"), "{}", lines[7]);
    assert!(lines[9].starts_with("< 62"), "{}", lines[9]);
    // A wrong PIN is remembered by the card file; --json output.
    stdout(&scp80(&["uicc", "apdu", "--card", &card, "002000010830303030FFFFFFFF"]));
    let v: serde_json::Value =
        serde_json::from_str(&stdout(&scp80(&["uicc", "apdu", "--card", &card, "--json", "00200001"])))
            .unwrap();
    assert_eq!(v[0]["sw"], "63C2");
    assert_eq!(v[0]["name"], "warning: verification failed, retries left in SW2 low nibble");
    // --no-save forgets.
    stdout(&scp80(&["uicc", "apdu", "--card", &card, "--no-save", "002000010830303030FFFFFFFF"]));
    assert_eq!(Uicc::load(Path::new(&card)).unwrap().pins().pin1.left, 2);
    fails(&scp80(&["uicc", "apdu", "--card", &card, "00A4zz"]), "--apdus");
    fails(&scp80(&["uicc", "apdu", "--card", "/nonexistent/card.toml", "00A4"]), "--card");
}

/// Sends one m2msim-framed message and reads the answer.
fn apdu_framed(s: &mut TcpStream, msg: &[u8]) -> Vec<u8> {
    s.write_all(&u32::try_from(msg.len()).unwrap().to_be_bytes()).unwrap();
    s.write_all(msg).unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut out = vec![0; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut out).unwrap();
    out
}

fn vpcd_send(s: &mut TcpStream, msg: &[u8]) {
    s.write_all(&u16::try_from(msg.len()).unwrap().to_be_bytes()).unwrap();
    s.write_all(msg).unwrap();
}

fn vpcd_recv(s: &mut TcpStream) -> Vec<u8> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).unwrap();
    let mut out = vec![0; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut out).unwrap();
    out
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn uicc_serve_over_loopback_in_both_framings() {
    let dir = tempfile::tempdir().unwrap();
    let card = new_card(dir.path());
    let atr = Uicc::load(Path::new(&card)).unwrap().atr().to_vec();
    let mut child = Command::new(env!("CARGO_BIN_EXE_scp80"))
        .args(["uicc", "serve", "--card", &card, "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let _server = Server(child);
    let addr = line.trim().strip_prefix("listening on ").unwrap().to_owned();

    // The m2msim APDU framing: empty message = reset → ATR; APDUs.
    let mut s = TcpStream::connect(&addr).unwrap();
    assert_eq!(apdu_framed(&mut s, &[]), atr);
    assert_eq!(apdu_framed(&mut s, &hex::decode("002000010830303030FFFFFFFF").unwrap()), [0x63, 0xC2]);
    let r = apdu_framed(&mut s, &hex::decode("00A40004023F00").unwrap());
    assert_eq!(r[0], 0x61);
    let fcp = apdu_framed(&mut s, &[0x00, 0xC0, 0x00, 0x00, r[1]]);
    assert_eq!((fcp[0], &fcp[fcp.len() - 2..]), (0x62, &[0x90, 0x00][..]));
    drop(s);

    // vpcd: 2-byte lengths, control messages.
    let mut s = TcpStream::connect(&addr).unwrap();
    vpcd_send(&mut s, &[0x04]);
    assert_eq!(vpcd_recv(&mut s), atr);
    vpcd_send(&mut s, &[0x00]); // power off: no answer
    vpcd_send(&mut s, &hex::decode("00A4000C023F00").unwrap());
    assert_eq!(vpcd_recv(&mut s), [0x6F, 0x00]);
    vpcd_send(&mut s, &[0x01]); // power on
    vpcd_send(&mut s, &hex::decode("00200001").unwrap());
    assert_eq!(vpcd_recv(&mut s), [0x63, 0xC2], "the wrong PIN of the first connection was kept");
    vpcd_send(&mut s, &hex::decode("002000010831323334FFFFFFFF").unwrap());
    assert_eq!(vpcd_recv(&mut s), [0x90, 0x00]);
    vpcd_send(&mut s, &[0x02]); // reset: PIN1 no longer verified
    vpcd_send(&mut s, &hex::decode("00200001").unwrap());
    assert_eq!(vpcd_recv(&mut s), [0x63, 0xC3]);
    drop(s);
    // The card file was saved after every message.
    assert_eq!(Uicc::load(Path::new(&card)).unwrap().pins().pin1.left, 3);
}

#[test]
fn the_card_connects_to_vpcd() {
    // A stand-in vpcd: it listens, the card connects.
    let vpcd = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = vpcd.local_addr().unwrap().to_string();
    let card = Uicc::from_profile(&CardProfile::example().unwrap()).unwrap();
    let atr = card.atr().to_vec();
    let shared = SharedCard::new(card, |_, _| {});
    let worker = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
        rt.block_on(server::connect_vpcd(&addr, &shared)).unwrap();
        shared.with(|c| c.pins().pin1_verified)
    });
    let (mut s, _) = vpcd.accept().unwrap();
    vpcd_send(&mut s, &[0x01]);
    vpcd_send(&mut s, &[0x04]);
    assert_eq!(vpcd_recv(&mut s), atr);
    vpcd_send(&mut s, &hex::decode("002000010831323334FFFFFFFF").unwrap());
    assert_eq!(vpcd_recv(&mut s), [0x90, 0x00]);
    drop(s);
    assert!(worker.join().unwrap(), "the APDU reached the shared card");
}

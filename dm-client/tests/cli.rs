//! The `dm-client` binary end to end: provisioning by a plain-profile bootstrap message, `notify --tpdu`
//! (a package 0 in WAP-push SMS-DELIVERs) against a loopback server, and `tree get|set|list|ddf --json`.
#![allow(clippy::unwrap_used)] // test code

mod common;

use std::process::{Command, Output, Stdio};

use common::*;
use m2msim_codec::dm::pkg0::UiMode;
use m2msim_codec::reader::Encode as _;
use m2msim_codec::sms::address::Address;
use m2msim_codec::sms::concat::ConcatRef;
use m2msim_codec::sms::fields::Scts;
use m2msim_dm_server::directory::AuthScheme;
use m2msim_dm_server::operation::cmd;

fn run(tree: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dm-client"))
        .arg("--tree")
        .arg(tree)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A plain-profile bootstrap (DM 1.2 DMAcc) for `url`: client md5 `dev`/`devpw`/nonce `c0`, server md5
/// `srv.example`/`srvpw`/nonce `s0` (AAuthData `bin`, base64 in XML).
fn bootstrap(url: &str) -> String {
    let add = |id: u32, uri: &str, format: &str, data: &str| {
        format!(
            "<Add><CmdID>{id}</CmdID><Item><Target><LocURI>{uri}</LocURI></Target><Meta><Format \
             xmlns=\"syncml:metinf\">{format}</Format></Meta><Data>{data}</Data></Item></Add>"
        )
    };
    let a = "./DMAcc/boot";
    let mut cmds = vec![
        add(2, a, "node", ""),
        add(3, &format!("{a}/AppID"), "chr", "w7"),
        add(4, &format!("{a}/ServerID"), "chr", SERVER_ID),
        add(5, &format!("{a}/AppAddr"), "node", ""),
        add(6, &format!("{a}/AppAddr/1"), "node", ""),
        add(7, &format!("{a}/AppAddr/1/Addr"), "chr", url),
        add(8, &format!("{a}/AppAuth"), "node", ""),
    ];
    let mut id = 9;
    for (x, level, name, pw, nonce) in
        [("c", "CLCRED", "dev", "devpw", "YzA="), ("s", "SRVCRED", SERVER_ID, "srvpw", "czA=")]
    {
        for (leaf, format, data) in [
            ("", "node", ""),
            ("/AAuthLevel", "chr", level),
            ("/AAuthType", "chr", "DIGEST"),
            ("/AAuthName", "chr", name),
            ("/AAuthSecret", "chr", pw),
            ("/AAuthData", "bin", nonce),
        ] {
            cmds.push(add(id, &format!("{a}/AppAuth/{x}{leaf}"), format, data));
            id += 1;
        }
    }
    format!(
        "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>\
         <SessionID>0</SessionID><MsgID>1</MsgID><Target><LocURI>{DEV}</LocURI></Target><Source><LocURI>\
         {SERVER_ID}</LocURI></Source></SyncHdr><SyncBody>{}<Final/></SyncBody></SyncML>",
        cmds.concat()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_notify_by_tpdu_and_tree_commands() {
    let server = TestServer::start(None, AuthScheme::Md5).await;
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree.json");
    let boot = dir.path().join("boot.xml");
    std::fs::write(&boot, bootstrap(&server.url())).unwrap();
    let v = json(&run(&tree, &["--json", "init", "--bootstrap", boot.to_str().unwrap(), "--dev-id", DEV]));
    assert_eq!(v["accounts"][0]["server_id"], SERVER_ID);
    // A second init does not overwrite the tree.
    assert_eq!(run(&tree, &["init", "--bootstrap", boot.to_str().unwrap()]).status.code(), Some(2));

    let v = json(&run(&tree, &["--json", "tree", "get", "./DMAcc/boot/AppAddr/1/Addr"]));
    assert_eq!(v["value"], server.url());
    let v = json(&run(&tree, &["--json", "tree", "get", "./DMAcc/boot/AppAuth/c/AAuthSecret"]));
    assert_eq!(v["value"], "<secret>", "secrets are not printed");

    // The server queues a Get and an Add and notifies by SMS (WAP push of package 0).
    let get = server.jobs.push(DEV, cmd::get("./DevInfo/DevId"));
    let add = server.jobs.push(DEV, cmd::add("./DMAcc/boot/Name", m2msim_codec::dm::ddf::Format::Chr, "lab"));
    let n = server.package0(0x00AB, UiMode::Background);
    let sms = n.sms(3, Address::international("4479").unwrap(), Scts([0; 7]), ConcatRef::Eight(1)).unwrap();
    let lines: Vec<String> = sms.iter().map(|d| hex::encode(d.encode())).collect();
    let tpdu = dir.path().join("push.hex");
    std::fs::write(&tpdu, lines.join("\n")).unwrap();
    let v = json(&run(&tree, &["--json", "notify", "--tpdu", tpdu.to_str().unwrap()]));
    assert_eq!(v["completed"], true, "{v:#}");
    assert!(v["transcript"][0]["xml"].as_str().unwrap().contains("<SessionID>AB</SessionID>"));
    assert!(server.jobs.outcome(get).unwrap().succeeded());
    assert!(server.jobs.outcome(add).unwrap().succeeded());
    let v = json(&run(&tree, &["--json", "tree", "get", "./DMAcc/boot/Name"]));
    assert_eq!(v["value"], "lab", "the Add was saved");

    // A tampered package 0 is refused with exit code 2.
    let mut bad = n.bytes.clone();
    bad[0] ^= 1;
    assert_eq!(run(&tree, &["notify", "--pkg0", &hex::encode(bad)]).status.code(), Some(2));

    // Local edits and listings.
    assert!(run(&tree, &["tree", "set", "./Vendor/x", "42"]).status.success());
    let v = json(&run(&tree, &["--json", "tree", "list", "./Vendor"]));
    assert_eq!(v[1]["uri"], "./Vendor/x");
    assert_eq!(v[1]["value"], "42");
    let v = json(&run(&tree, &["--json", "tree", "ddf"]));
    let ddf = v["ddf"].as_str().unwrap();
    assert!(ddf.contains("<MgmtTree") && ddf.contains("DevInfo") && ddf.contains("DMAcc"), "{ddf}");
}

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

/// One admin API call to `h`: the status and the JSON answer.
async fn admin(
    h: &m2msim_dm_server::net::ServerHandle,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let url = format!("{}{path}", h.admin_url().unwrap());
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let (st, out) =
        m2msim_dm_server::http::request(method, &url, Some(&h.admin_token), "application/json", body)
            .await
            .unwrap();
    (st, serde_json::from_slice(&out).unwrap_or(serde_json::Value::Null))
}

/// The real server (SQLite store, admin API) with notifications going to `sink`.
async fn real_server(
    data: &std::path::Path,
    sink: m2msim_dm_server::admin::NotifySink,
) -> m2msim_dm_server::net::ServerHandle {
    use m2msim_dm_server::net::{self, ServerConfig};
    use m2msim_dm_server::store::{SqliteStore, Store};
    let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(SqliteStore::open(data).unwrap());
    let config = ServerConfig {
        admin_listen: Some("127.0.0.1:0".parse().unwrap()),
        notify: sink,
        ..ServerConfig::default()
    };
    let h = net::spawn(config, store).await.unwrap();
    let (st, _) =
        admin(&h, "POST", "/devices", Some(serde_json::to_value(record(AuthScheme::Md5)).unwrap())).await;
    assert_eq!(st, 201);
    h
}

/// Queues a Get and an Add through the admin API; returns their ids.
async fn queue_two(h: &m2msim_dm_server::net::ServerHandle) -> [u64; 2] {
    let p = format!("/devices/{DEV}/operations");
    let (_, g) = admin(h, "POST", &p, Some(serde_json::json!({"op": "get", "uri": "./DevInfo/DevId"}))).await;
    let body = serde_json::json!({"op": "add", "uri": "./DMAcc/boot/Name", "data": "lab"});
    let (_, a) = admin(h, "POST", &p, Some(body)).await;
    [g["op_id"].as_u64().unwrap(), a["op_id"].as_u64().unwrap()]
}

async fn op_state(h: &m2msim_dm_server::net::ServerHandle, id: u64) -> serde_json::Value {
    admin(h, "GET", &format!("/operations/{id}"), None).await.1["state"].clone()
}

/// `POST /devices/{DEV}/notify` with SessionID `sid` to a spooling server: the TPDU files written.
async fn notify(h: &m2msim_dm_server::net::ServerHandle, spool: &std::path::Path, sid: u16) -> Vec<String> {
    let (st, v) =
        admin(h, "POST", &format!("/devices/{DEV}/notify"), Some(serde_json::json!({"session_id": sid})))
            .await;
    assert_eq!(st, 200, "{v}");
    let files: Vec<String> =
        v["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_owned()).collect();
    assert!(!files.is_empty());
    assert!(files.iter().all(|f| std::path::Path::new(f).starts_with(spool)));
    assert_eq!(v["session_id"], format!("{sid:X}"));
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_notify_spool_then_client_notify_tpdu_files() {
    // dm-server's notify (admin API) → spool directory of binary WAP-push TPDU files → `dm-client notify
    // --tpdu FILE…` → the server-initiated session completes; a stale package 0 (an older SessionID) is
    // refused by the server.
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let h = real_server(&dir.path().join("data"), m2msim_dm_server::admin::NotifySink::Spool(spool.clone()))
        .await;
    let tree = dir.path().join("tree.json");
    let boot = dir.path().join("boot.xml");
    std::fs::write(&boot, bootstrap(&h.url())).unwrap();
    assert!(run(&tree, &["init", "--bootstrap", boot.to_str().unwrap(), "--dev-id", DEV]).status.success());
    let ops = queue_two(&h).await;

    let stale = notify(&h, &spool, 0x11).await;
    let _newer = notify(&h, &spool, 0x22).await;
    let mut args = vec!["--json", "notify", "--tpdu"];
    args.extend(stale.iter().map(String::as_str));
    let o = run(&tree, &args);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["completed"], false);
    for id in ops {
        assert_eq!(op_state(&h, id).await, "queued", "nothing ran in the refused session");
    }

    let fresh = notify(&h, &spool, 0x33).await;
    let mut args = vec!["--json", "notify", "--tpdu"];
    args.extend(fresh.iter().map(String::as_str));
    let v = json(&run(&tree, &args));
    assert_eq!(v["completed"], true, "{v:#}");
    assert!(v["transcript"][0]["xml"].as_str().unwrap().contains("<SessionID>33</SessionID>"));
    for id in ops {
        assert_eq!(op_state(&h, id).await, "done");
    }
    let v = json(&run(&tree, &["--json", "tree", "get", "./DMAcc/boot/Name"]));
    assert_eq!(v["value"], "lab");
    let (_, sessions) = admin(&h, "GET", &format!("/sessions?device={DEV}"), None).await;
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_notify_webhook_then_client_session() {
    use http_body_util::BodyExt as _;
    // A tiny webhook (the lab's SMS gateway) that keeps what it is sent.
    let got: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>> = std::sync::Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/sms", listener.local_addr().unwrap());
    let kept = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let kept = kept.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let kept = kept.clone();
                    async move {
                        assert_eq!(req.method(), hyper::Method::POST);
                        assert_eq!(req.uri().path(), "/sms");
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        kept.lock().unwrap().push(serde_json::from_slice(&body).unwrap());
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(http_body_util::Full::new(
                            bytes::Bytes::from_static(b"ok"),
                        )))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let h = real_server(&dir.path().join("data"), m2msim_dm_server::admin::NotifySink::Webhook(hook)).await;
    let tree = dir.path().join("tree.json");
    let boot = dir.path().join("boot.xml");
    std::fs::write(&boot, bootstrap(&h.url())).unwrap();
    assert!(run(&tree, &["init", "--bootstrap", boot.to_str().unwrap(), "--dev-id", DEV]).status.success());
    let ops = queue_two(&h).await;
    let (st, v) =
        admin(&h, "POST", &format!("/devices/{DEV}/notify"), Some(serde_json::json!({"session_id": 0x4D2})))
            .await;
    assert_eq!(st, 200, "{v}");
    let posted = got.lock().unwrap().clone();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0]["device_id"], DEV);
    assert_eq!(posted[0]["session_id"], "4D2");
    assert_eq!(posted[0]["tpdus"], v["tpdus"]);
    // The gateway "delivers" the hex TPDUs: one per line.
    let lines: Vec<&str> =
        posted[0]["tpdus"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    let file = dir.path().join("sms.hex");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let v = json(&run(&tree, &["--json", "notify", "--tpdu", file.to_str().unwrap()]));
    assert_eq!(v["completed"], true, "{v:#}");
    for id in ops {
        assert_eq!(op_state(&h, id).await, "done");
    }
    h.shutdown().await;
}

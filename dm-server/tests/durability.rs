//! Durability (issue 7 §4): the `dm-server` binary as a real child process, killed with SIGKILL in the
//! middle of a session with queued operations, restarted on the same data directory and port: the next
//! session completes them; nothing is lost and nothing that completed runs again. Also drives the admin
//! API through the `dm-server` CLI.
#![allow(clippy::unwrap_used)] // test code

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use common::{client_with, run_session, run_session_with};
use m2msim_codec::syncml::Wire;
use m2msim_codec::syncml::tree::Profile;
use m2msim_dm_client::session::Outcome as ClientOutcome;
use m2msim_dm_server::directory::AuthScheme;

const DEV: &str = "IMEI:490154203237518";

struct Server {
    child: Child,
    url: String,
    admin: String,
}

fn start(dir: &std::path::Path, listen: &str, admin: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dm-server"))
        .args(["--data-dir", dir.to_str().unwrap(), "serve", "--listen", listen, "--admin-listen", admin])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    // "dm-server listening on {url} admin {admin}"
    let mut w = line.split_whitespace();
    let url = w.nth(3).unwrap().to_owned();
    let admin = w.nth(1).unwrap().to_owned();
    Server { child, url, admin }
}

fn cli(dir: &std::path::Path, admin: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_dm-server"))
        .args(["--data-dir", dir.to_str().unwrap(), "--admin", admin, "--json"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn op_ids(dir: &std::path::Path, admin: &str) -> Vec<(u64, String, u64)> {
    let v = cli(dir, admin, &["op", "list", DEV]);
    v.as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["op_id"].as_u64().unwrap(),
                o["state"].as_str().unwrap().to_owned(),
                o["attempts"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_session_loses_nothing_and_runs_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut s = start(d, "127.0.0.1:0", "127.0.0.1:0");
    cli(
        d,
        &s.admin,
        &[
            "device",
            "add",
            DEV,
            "--user",
            "dev",
            "--password",
            "devpw",
            "--server-id",
            common::SERVER_ID,
            "--server-password",
            "srvpw",
        ],
    );
    // The client's nonces must match the server's: set the initial ones as the test client holds them.
    // Both directions authenticate (md5): the kill below comes after the client gave the server a new
    // nonce for its next credential and before the server stored it, so in session 3 the server's
    // credentials are stale: the client refuses them (401 for the header and each command) and the server
    // sends them again over the Chal's nonce; those 401s must not become the operations' outcomes.
    let rec = common::record(DEV, AuthScheme::Md5);
    let (st, _) = m2msim_dm_server::http::request(
        "POST",
        &format!("{}/devices", s.admin),
        Some(std::fs::read_to_string(d.join("admin-token")).unwrap().trim()),
        "application/json",
        serde_json::to_vec(&rec).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(st, 201);
    let mut c = client_with(DEV, &s.url, AuthScheme::Md5, Wire::xml(Profile::rtk()), true);

    // Session 1 completes one operation.
    cli(d, &s.admin, &["op", "get", DEV, "./DevInfo/Man"]);
    assert_eq!(run_session(&mut c, "1", None).await.0, ClientOutcome::Completed);
    assert_eq!(op_ids(d, &s.admin), vec![(1, "done".into(), 1)]);

    // Session 2: two more operations; the server dies after sending them, before the client's statuses.
    cli(d, &s.admin, &["op", "get", DEV, "./DevInfo/Mod"]);
    cli(
        d,
        &s.admin,
        &["op", "queue", DEV, r#"{"op":"sequence","ops":[{"op":"get","uri":"./DevInfo/Lang"}]}"#],
    );
    let mut child = Some(s.child);
    let (outcome, _) = run_session_with(&mut c, "2", None, &mut |n| {
        if n == 2 {
            let mut ch = child.take().unwrap();
            ch.kill().unwrap(); // SIGKILL
            ch.wait().unwrap();
        }
    })
    .await;
    assert_ne!(outcome, ClientOutcome::Completed);

    // Restart on the same port and data directory.
    let listen = s.url.trim_start_matches("http://").trim_end_matches("/dm").to_owned();
    s = start(d, &listen, "127.0.0.1:0");
    let ops = op_ids(d, &s.admin);
    assert_eq!(ops, vec![(1, "done".into(), 1), (2, "sent".into(), 1), (3, "sent".into(), 1)]);
    assert_eq!(run_session(&mut c, "3", None).await.0, ClientOutcome::Completed);
    // Nothing lost; the completed one not run again; the interrupted ones sent again and done
    // (`attempts` counts queued → sent; the re-send after the crash is not counted).
    assert_eq!(
        op_ids(d, &s.admin),
        vec![(1, "done".into(), 1), (2, "done".into(), 1), (3, "done".into(), 1)]
    );
    let show = cli(d, &s.admin, &["op", "show", "3"]);
    assert_eq!(show["outcome"]["results"].as_array().map(Vec::len), Some(1), "{show}");
    let sessions = cli(d, &s.admin, &["session", "list", "--device", DEV]);
    let outcomes: Vec<_> = sessions.as_array().unwrap().iter().map(|s| s["outcome"].clone()).collect();
    // Newest first: completed, interrupted (no outcome recorded), completed.
    assert_eq!(
        outcomes,
        vec![serde_json::json!("completed"), serde_json::Value::Null, serde_json::json!("completed")]
    );
    // Session 3 went through the client's refusal of the stale server credentials (401 with a Chal).
    let id = sessions[0]["id"].as_i64().unwrap();
    let (st, xml) = m2msim_dm_server::http::request(
        "GET",
        &format!("{}/sessions/{id}/transcript", s.admin),
        Some(std::fs::read_to_string(d.join("admin-token")).unwrap().trim()),
        "text/plain",
        Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(st, 200);
    let xml = String::from_utf8(xml).unwrap();
    assert!(xml.contains("<Data>401</Data>"), "{xml}");
    s.child.kill().unwrap();
    s.child.wait().unwrap();
}

//! Crash safety of the client's tree (issue 7 §4): the real `dm-client` binary, killed with SIGKILL while it
//! applies a large Atomic from a loopback server, leaves a tree that is all old or all new.
#![allow(clippy::unwrap_used)] // test code

mod common;

use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use m2msim_codec::dm::ddf::Format;
use m2msim_dm_client::mo::dmacc::DmAccount;
use m2msim_dm_client::provision::AccountFile;
use m2msim_dm_client::store::TreeStore;
use m2msim_dm_server::directory::AuthScheme;
use m2msim_dm_server::operation::cmd;

const N: usize = 2000;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dm-client"))
}

/// Creates the tree with the `dm-client init` command from an account file.
fn init(dir: &std::path::Path, url: &str) -> std::path::PathBuf {
    let tree = client_tree(url, AuthScheme::Md5, false);
    let account = DmAccount::all(&tree).remove(0);
    let file = AccountFile { dev_info: m2msim_dm_client::mo::devinfo::DevInfo::read(&tree), account };
    let acc = dir.join("account.json");
    std::fs::write(&acc, serde_json::to_vec(&file).unwrap()).unwrap();
    let tree_path = dir.join("tree.json");
    let st = bin()
        .args(["--tree", tree_path.to_str().unwrap(), "init", "--force", "--account", acc.to_str().unwrap()])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    tree_path
}

/// How many of the Atomic's nodes the tree file holds.
fn landed(path: &std::path::Path) -> usize {
    let t = TreeStore::new(path).open().unwrap().unwrap();
    (0..N).filter(|i| t.node(&format!("./Vendor/n{i}")).is_some()).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_an_atomic_leaves_all_old_or_all_new() {
    let dir = tempfile::tempdir().unwrap();
    let (mut old, mut new) = (0, 0);
    for delay_ms in [0u64, 5, 20, 50, 100, 150, 200, 250, 300, 400, 550, 750, 1000, 3000] {
        let server = TestServer::start(None, AuthScheme::Md5).await;
        server.config.lock().unwrap().max_msg_size = 4 * 1024 * 1024;
        let tree_path = init(dir.path(), &server.url());
        server.jobs.push(
            DEV,
            cmd::atomic(
                std::iter::once(cmd::add_interior("./Vendor"))
                    .chain((0..N).map(|i| cmd::add(&format!("./Vendor/n{i}"), Format::Chr, "v")))
                    .collect(),
            ),
        );
        let mut child = bin()
            .args([
                "--tree",
                tree_path.to_str().unwrap(),
                "session",
                "--no-prompt",
                "--max-msg-size",
                "8388608",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the server has answered package 1 with the Atomic, then kill after `delay_ms`.
        let t0 = Instant::now();
        while server.responses.load(Ordering::SeqCst) == 0 {
            assert!(t0.elapsed() < Duration::from_secs(60), "the client never reached the server");
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let n = landed(&tree_path);
        assert!(n == 0 || n == N, "delay {delay_ms} ms: {n} of {N} nodes of the Atomic landed");
        if n == 0 {
            old += 1
        } else {
            new += 1
        }
        // A file written whole always parses; no stale temporary file is mistaken for the tree.
        if delay_ms == 3000 {
            assert_eq!(n, N, "after 3 s the Atomic has landed");
        }
    }
    println!("killed runs: {old} all-old, {new} all-new");
}

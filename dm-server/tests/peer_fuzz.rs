//! `dm-server fuzz` against our own dm-client (issue 10 §2): the client runs sessions in a loop over real
//! loopback HTTP (dm-client's hyper transport), the fuzzer serves a mutant per session; the client must
//! survive every mutation, and the report must classify what it did.
#![allow(clippy::unwrap_used)] // test code

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use common::{SERVER_ID, client_for, record};
use m2msim_codec::syncml::tree::Profile;
use m2msim_codec::syncml::{Encoding, Wire};
use m2msim_dm_client::net::{self as client_net, Start, Transport};
use m2msim_dm_server::directory::AuthScheme;
use m2msim_dm_server::peerfuzz::{self, Class, DeviceSource, FuzzConfig, FuzzReport, MutationKind, Response};

const DEV: &str = "IMEI:490154203237519";

/// Runs a fuzz campaign of `config` against a dm-client looping sessions in `wire`; returns the report.
async fn campaign(config: FuzzConfig, wire: Wire) -> FuzzReport {
    let handle = peerfuzz::spawn(config).await.unwrap();
    let url = handle.url().to_owned();
    let stop = Rc::new(Cell::new(false));
    let sessions = Rc::new(Cell::new(0u32));
    let local = tokio::task::LocalSet::new();
    let (s, n) = (stop.clone(), sessions.clone());
    local.spawn_local(async move {
        let mut c = client_for(DEV, &url, AuthScheme::Md5, wire);
        let transport = Transport { request_timeout: Duration::from_secs(5), ..Transport::default() };
        while !s.get() {
            let start = Start::Connect { server_id: SERVER_ID.into(), session_id: None };
            // A session the client could not even start would be a bug of the client, not a finding.
            let _report = client_net::run_session(&mut c, start, &transport, None).await.unwrap();
            n.set(n.get() + 1);
        }
    });
    let report = local.run_until(handle.finish()).await.unwrap();
    stop.set(true);
    // One session per case at least (the last one may still be closing).
    assert!(
        sessions.get() + 1 >= report.cases.len() as u32,
        "{} sessions, {} cases",
        sessions.get(),
        report.cases.len()
    );
    report
}

fn config(seed: u64, cases: u32) -> FuzzConfig {
    let mut c = FuzzConfig::new(DeviceSource::Record(record(DEV, AuthScheme::Md5)));
    c.seed = seed;
    c.cases = cases;
    c.reply_timeout = Duration::from_secs(4);
    c.device_wait = Duration::from_secs(20);
    c
}

fn consistent(r: &FuzzReport, cases: u32) {
    assert_eq!(r.cases.len(), cases as usize, "the client came back for every case: {:?}", r.notes);
    let t = &r.summary.total;
    assert_eq!(t.cases, r.cases.len());
    assert_eq!(t.ok + t.crash_like + t.protocol, t.cases);
    assert_eq!(r.summary.by_kind.values().map(|c| c.cases).sum::<usize>(), t.cases);
    assert_eq!(r.summary.by_response.values().sum::<usize>(), t.cases);
    for (i, c) in r.cases.iter().enumerate() {
        assert_eq!(c.index as usize, i);
        assert_eq!(c.class == Class::Ok, c.anomalies.is_empty(), "case {i}: {c:?}");
    }
    // Case 0 is the unmutated package: the client answers it normally.
    let control = &r.cases[0];
    assert_eq!(control.mutant.kind, MutationKind::Control);
    assert!(matches!(control.response, Response::Reply { .. }), "{:?}", control.response);
    assert_eq!(control.class, Class::Ok, "{:?}", control.anomalies);
    // Our client never crashes or hangs.
    assert_eq!(t.crash_like, 0, "{}", r.markdown());
}

#[tokio::test(flavor = "current_thread")]
async fn every_kind_against_dm_client_over_xml() {
    let cases = 3 * MutationKind::ALL.len() as u32;
    let r = campaign(config(7, cases), Wire::xml(Profile::rtk())).await;
    consistent(&r, cases);
    if std::env::var_os("M2MSIM_FUZZ_SHOW").is_some() {
        println!("{}", r.markdown());
    }
    // Messages that must not be processed were not: a truncated body, broken markup, a NUL byte or
    // invalid UTF-8 between elements (the client's lenient XML accepts NUL only inside leaf text).
    let broken = ["removed", "renamed", "stray", "unclosed", "cut to", "NUL byte", "invalid UTF-8"];
    for c in &r.cases {
        if matches!(c.mutant.kind, MutationKind::Truncate | MutationKind::XmlMalformed)
            && broken.iter().any(|b| c.mutant.description.contains(b))
        {
            assert!(
                matches!(c.response, Response::Abort { .. } | Response::NewSession),
                "case {}: {} → {:?}",
                c.index,
                c.mutant.description,
                c.response
            );
            assert_eq!(c.class, Class::Ok, "case {}: {:?}", c.index, c.anomalies);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let mut written = r.clone();
    written.write(dir.path()).unwrap();
    let back: FuzzReport =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(back, written);
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.starts_with("# dm-server fuzz report"));
    let repro = written.cases[0].reproducer.as_deref().unwrap();
    let bytes = std::fs::read(dir.path().join(repro)).unwrap();
    assert!(bytes.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(bytes.ends_with(&written.cases[0].mutant.body));
}

#[tokio::test(flavor = "current_thread")]
async fn wbxml_token_damage_is_refused() {
    let mut c = config(11, 9);
    c.wire = Some(Encoding::Wbxml);
    c.kinds = vec![
        MutationKind::Truncate,
        MutationKind::WbxmlEnd,
        MutationKind::WbxmlMbUint32,
        MutationKind::WbxmlStrT,
    ];
    // The client speaks XML; the fuzzer serves WBXML (the client answers in the server's encoding).
    let r = campaign(c, Wire::xml(Profile::rtk())).await;
    consistent(&r, 9);
    for c in &r.cases[1..] {
        assert_eq!(c.mutant.content_type.as_deref(), Some(Encoding::Wbxml.content_type()));
        assert!(
            matches!(c.response, Response::Abort { .. } | Response::NewSession),
            "case {}: {} → {:?}",
            c.index,
            c.mutant.description,
            c.response
        );
        assert_eq!(c.class, Class::Ok);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn cli_runs_a_campaign_against_dm_client() {
    use tokio::io::AsyncBufReadExt as _;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_dm-server"))
        .args(["fuzz", "--device", DEV, "--user", "dev", "--password", "devpw", "--server-id", SERVER_ID])
        .args(["--server-password", "srvpw", "--listen", "127.0.0.1:0", "--cases", "5", "--seed", "3"])
        .args(["--reply-timeout", "4", "--device-wait", "20", "--report"])
        .arg(&report)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().unwrap();
    let url = first.rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");
    let local = tokio::task::LocalSet::new();
    local.spawn_local(async move {
        let mut c = client_for(DEV, &url, AuthScheme::Md5, Wire::xml(Profile::rtk()));
        let transport = Transport { request_timeout: Duration::from_secs(5), ..Transport::default() };
        loop {
            let start = Start::Connect { server_id: SERVER_ID.into(), session_id: None };
            if client_net::run_session(&mut c, start, &transport, None).await.is_err() {
                break;
            }
        }
    });
    let status = local.run_until(child.wait()).await.unwrap();
    assert!(status.success());
    let last = lines.next_line().await.unwrap().unwrap_or_default();
    assert!(last.starts_with("5 cases:"), "{last}");
    let r: FuzzReport = serde_json::from_slice(&std::fs::read(report.join("report.json")).unwrap()).unwrap();
    assert_eq!(r.cases.len(), 5);
    assert_eq!(r.seed, 3);
    assert!(report.join("report.md").exists());
    assert!(report.join("reproducers/case-0000.http").exists());
}

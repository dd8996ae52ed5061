//! Real HTTP(S) on loopback: the dm-client engine driven by a tiny hyper client against `net::spawn`, with
//! the SQLite store (issue 7 §4).
#![allow(clippy::unwrap_used)] // test code

use std::sync::Arc;

mod common;

use common::{client_for, record, run_session};
use m2msim_codec::dm::ddf::Format;
use m2msim_codec::syncml::tree::Profile;
use m2msim_codec::syncml::{Data, Wire};
use m2msim_dm_client::session::Outcome as ClientOutcome;
use m2msim_dm_server::directory::AuthScheme;
use m2msim_dm_server::http;
use m2msim_dm_server::net::{self, ServerConfig, ServerHandle, TlsConfig};
use m2msim_dm_server::store::{Direction, OpState, SqliteStore, Store};

async fn server(dir: &std::path::Path, tls: Option<TlsConfig>) -> (ServerHandle, Arc<dyn Store>) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir).unwrap());
    let config =
        ServerConfig { tls, admin_listen: Some("127.0.0.1:0".parse().unwrap()), ..ServerConfig::default() };
    let h = net::spawn(config, store.clone()).await.unwrap();
    (h, store)
}

async fn full_session(wire: Wire, scheme: AuthScheme, tls: bool) {
    let dir = tempfile::tempdir().unwrap();
    let tls_config =
        tls.then(|| TlsConfig::SelfSigned { names: vec!["localhost".into(), "127.0.0.1".into()] });
    let (h, store) = server(dir.path(), tls_config).await;
    let client_tls = h.cert_pem.as_deref().map(|p| http::client_config_trusting(p).unwrap());
    let url = if tls { h.url().replace("127.0.0.1", "localhost") } else { h.url() };
    let dev = "IMEI:490154203237518";
    store.put_device(&record(dev, scheme)).unwrap();
    let q = |c| store.enqueue(dev, &c).unwrap();
    use m2msim_dm_server::operation::cmd;
    let get = q(cmd::get("./DevInfo/Man"));
    let node = q(cmd::add_interior("./Vendor"));
    let add = q(cmd::add("./Vendor/x", Format::Chr, "1"));
    let replace = q(cmd::replace("./Vendor/x", Format::Chr, "two"));
    let get2 = q(cmd::get("./Vendor/x"));
    let mut c = client_for(dev, &url, scheme, wire);
    let (outcome, msgs) = run_session(&mut c, "1", client_tls).await;
    assert_eq!(outcome, ClientOutcome::Completed);
    assert!(msgs >= 2);
    for id in [get, node, add, replace, get2] {
        let o = store.operation(id).unwrap().unwrap();
        assert_eq!(o.state, OpState::Done, "{o:?}");
        assert!(o.outcome.unwrap().succeeded());
    }
    let r = store.operation(get).unwrap().unwrap().outcome.unwrap();
    assert_eq!(r.results[0].data.as_ref().and_then(Data::as_bytes), Some(&b"m2msim"[..]));
    let r = store.operation(get2).unwrap().unwrap().outcome.unwrap();
    assert_eq!(r.results[0].data.as_ref().and_then(Data::as_bytes), Some(&b"two"[..]));
    assert_eq!(c.tree().value("./Vendor/x"), Some(&b"two"[..]));
    let sessions = store.sessions(Some(dev)).unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].outcome.as_deref(), Some("completed"));
    let t = store.transcript(sessions[0].id).unwrap();
    assert_eq!(t.len() as u32, 2 * msgs);
    assert!(
        t.iter().all(|e| e.xml.as_deref().is_some_and(|x| x.contains("<SyncML"))),
        "decoded even from WBXML"
    );
    assert_eq!(t[0].direction, Direction::In);
    let d = store.device(dev).unwrap().unwrap();
    assert_eq!(d.wire.map(|w| w.encoding), Some(wire.encoding));
    assert!(d.dev_info.is_some());
    assert_eq!(h.open_sessions(), 0);
    // The admin API shows the transcript as XML.
    let admin = h.admin_url().unwrap();
    let (s, body) = http::request(
        "GET",
        &format!("{admin}/sessions/{}/transcript", sessions[0].id),
        Some(&h.admin_token),
        "text/plain",
        Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(s, 200);
    assert!(String::from_utf8(body).unwrap().contains("<SyncML"));
    // A second session finds nothing to do and no operation runs twice.
    let (outcome, _) =
        run_session(&mut c, "2", h.cert_pem.as_deref().map(|p| http::client_config_trusting(p).unwrap()))
            .await;
    assert_eq!(outcome, ClientOutcome::Completed);
    assert!(store.operations(Some(dev)).unwrap().iter().all(|o| o.attempts == 1));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_session_xml_md5() {
    full_session(Wire::xml(Profile::rtk()), AuthScheme::Md5, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_session_wbxml_md5() {
    full_session(Wire::wbxml(Profile::rtk()), AuthScheme::Md5, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_session_wbxml_hmac() {
    full_session(Wire::wbxml(Profile::rtk()), AuthScheme::Hmac, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_session_https_self_signed() {
    full_session(Wire::xml(Profile::rtk()), AuthScheme::Md5, true).await;
}

/// Issue 7 §4 bad input: 1,000 malformed requests each get a 4xx while a good session runs beside them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_4xx_while_a_good_session_completes() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let config = ServerConfig { max_body: 64 * 1024, ..ServerConfig::default() };
    let h = net::spawn(config, store.clone()).await.unwrap();
    let dev = "IMEI:490154203237518";
    store.put_device(&record(dev, AuthScheme::Md5)).unwrap();
    let good = store.enqueue(dev, &m2msim_dm_server::operation::cmd::get("./DevInfo/Man")).unwrap();
    let url = h.url();
    // A valid WBXML package 1 to truncate: the client's first message.
    let mut c = client_for("IMEI:1", &url, AuthScheme::Md5, Wire::wbxml(Profile::rtk()));
    c.handle_input(m2msim_dm_client::session::Input::Connect {
        server_id: common::SERVER_ID.into(),
        session_id: Some("1".into()),
        now: common::now(),
    })
    .unwrap();
    let pkg1 = loop {
        if let Some(m2msim_dm_client::session::Output::Transmit(t)) = c.poll_output() {
            break t.body;
        }
    };
    let wb = "application/vnd.syncml.dm+wbxml";
    let xml = "application/vnd.syncml.dm+xml";
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE SyncML [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><SyncML><SyncHdr>&b;</SyncHdr></SyncML>"#;
    let mut cases: Vec<(String, &str, Vec<u8>)> = Vec::new();
    for i in 0..1000usize {
        let case = match i % 8 {
            0 => (url.clone(), wb, (0..(rnd() % 300) as usize).map(|_| rnd() as u8).collect()),
            1 => (url.clone(), wb, pkg1[..(i / 8) % pkg1.len()].to_vec()),
            2 => (url.clone(), xml, b"<html><body>not SyncML</body></html>".to_vec()),
            3 => (url.clone(), xml, bomb.as_bytes().to_vec()),
            4 => (url.clone(), "text/plain", pkg1.clone()),
            5 => (url.clone(), wb, vec![0u8; 64 * 1024 + 1]),
            6 => (format!("{url}/s/{:032x}", rnd()), wb, pkg1.clone()),
            // An unknown device (rejected by default).
            _ => (url.clone(), wb, pkg1.clone()),
        };
        cases.push(case);
    }
    let mut tasks = Vec::new();
    for chunk in cases.chunks(100) {
        let chunk = chunk.to_vec();
        tasks.push(tokio::spawn(async move {
            for (u, ct, body) in chunk {
                let r = http::send("POST", &u, &[("content-type", ct)], body, None).await.unwrap();
                assert!((400..500).contains(&r.status), "{u} {ct}: {}", r.status);
            }
        }));
    }
    // The good session runs while the bad requests are in flight.
    let mut good_client = client_for(dev, &url, AuthScheme::Md5, Wire::wbxml(Profile::rtk()));
    assert_eq!(run_session(&mut good_client, "7", None).await.0, ClientOutcome::Completed);
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(store.operation(good).unwrap().unwrap().state, OpState::Done);
    // Rejected bodies are kept, with the reason: all but the 125 oversize ones (413 before reading them).
    let rejected = store
        .sessions(None)
        .unwrap()
        .into_iter()
        .filter(|s| s.outcome.as_deref().is_some_and(|o| o.starts_with("rejected")))
        .count();
    assert_eq!(rejected, 875);
    h.shutdown().await;
}

/// Issue 7 §4 large object: a 300 KB value goes to the client in chunks (an `Add` with `MoreData`, within
/// the client's 16 KiB `MaxMsgSize`) and comes back in chunks (the `Results` of a `Get`, within the
/// server's 64 KiB), over HTTP.
async fn large_object(wire: Wire) {
    let dir = tempfile::tempdir().unwrap();
    let (h, store) = server(dir.path(), None).await;
    let dev = "IMEI:490154203237518";
    store.put_device(&record(dev, AuthScheme::Md5)).unwrap();
    let big: String = (0..300_000u32).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    use m2msim_dm_server::operation::cmd;
    let node = store.enqueue(dev, &cmd::add_interior("./Vendor")).unwrap();
    let add = store.enqueue(dev, &cmd::add("./Vendor/big", Format::Chr, big.as_str())).unwrap();
    let get = store.enqueue(dev, &cmd::get("./Vendor/big")).unwrap();
    let mut c = client_for(dev, &h.url(), AuthScheme::Md5, wire);
    let (outcome, msgs) = run_session(&mut c, "1", None).await;
    assert_eq!(outcome, ClientOutcome::Completed);
    // In chunks both ways: to the client within its 16 KiB MaxMsgSize, back within the server's 64 KiB.
    assert!(msgs >= 300_000 / (16 * 1024) + 300_000 / 65_536, "{msgs} messages");
    assert_eq!(c.tree().value("./Vendor/big"), Some(big.as_bytes()), "the client got it whole");
    for id in [node, add, get] {
        let o = store.operation(id).unwrap().unwrap();
        assert_eq!(o.state, OpState::Done, "{o:?}");
        assert!(o.outcome.as_ref().unwrap().succeeded(), "{o:?}");
    }
    let r = store.operation(get).unwrap().unwrap().outcome.unwrap();
    assert_eq!(r.results.len(), 1);
    assert!(!r.results_incomplete);
    assert_eq!(r.results[0].data.as_ref().and_then(Data::as_bytes), Some(big.as_bytes()), "the server too");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_object_both_directions_xml() {
    large_object(Wire::xml(Profile::rtk())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_object_both_directions_wbxml() {
    large_object(Wire::wbxml(Profile::rtk())).await;
}

/// Issue 7 §4: 200 concurrent clients (each its own device, md5 both ways, XML or WBXML) against one
/// server complete their sessions: a Get and a Replace each, all done, none twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_clients_complete() {
    const N: usize = 200;
    let dir = tempfile::tempdir().unwrap();
    let (h, store) = server(dir.path(), None).await;
    use m2msim_dm_server::operation::cmd;
    let mut ops = Vec::new();
    let devs: Vec<String> = (0..N).map(|i| format!("IMEI:35{i:013}")).collect();
    for d in &devs {
        store.put_device(&record(d, AuthScheme::Md5)).unwrap();
        ops.push(store.enqueue(d, &cmd::get("./DevInfo/Mod")).unwrap());
        ops.push(store.enqueue(d, &cmd::replace("./DevInfo/Lang", Format::Chr, "fr")).unwrap());
    }
    let url = h.url();
    // The client engine need not be `Send`: all clients run on one thread (a LocalSet), concurrently.
    let local = tokio::task::LocalSet::new();
    let outcomes = local
        .run_until(async {
            let mut tasks = Vec::new();
            for (i, d) in devs.iter().enumerate() {
                let wire = if i % 2 == 0 { Wire::xml(Profile::rtk()) } else { Wire::wbxml(Profile::rtk()) };
                let mut c = client_for(d, &url, AuthScheme::Md5, wire);
                tasks.push(tokio::task::spawn_local(async move { run_session(&mut c, "1", None).await.0 }));
            }
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.unwrap());
            }
            out
        })
        .await;
    assert!(outcomes.iter().all(|o| *o == ClientOutcome::Completed), "{outcomes:?}");
    for id in ops {
        let o = store.operation(id).unwrap().unwrap();
        assert_eq!((o.state, o.attempts), (OpState::Done, 1), "{o:?}");
    }
    let sessions = store.sessions(None).unwrap();
    assert_eq!(sessions.len(), N);
    assert!(sessions.iter().all(|s| s.outcome.as_deref() == Some("completed")));
    assert_eq!(h.open_sessions(), 0);
    h.shutdown().await;
}

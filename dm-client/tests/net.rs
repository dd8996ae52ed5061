//! The HTTP(S) adapter over real loopback sockets: a tiny hyper server in the test runs the server engine
//! (`m2msim_dm_server::session::ServerSession`) and the client runs whole sessions against its URL with
//! [`m2msim_dm_client::net::run_session`].
#![allow(clippy::unwrap_used)] // test code

mod common;

use common::*;
use m2msim_codec::dm::ddf::Format;
use m2msim_codec::dm::pkg0::UiMode;
use m2msim_codec::syncml::tree::Profile;
use m2msim_codec::syncml::{Data, StatusCode, Wire};
use m2msim_dm_client::net::{self, Direction, Start, Transport, Trust};
use m2msim_dm_client::session::Outcome;
use m2msim_dm_client::store::TreeStore;
use m2msim_dm_server::directory::AuthScheme;
use m2msim_dm_server::operation::cmd;
use m2msim_dm_server::session::SessionOutcome;

async fn full_session(wire: Wire, scheme: AuthScheme) {
    let server = TestServer::start(None, scheme).await;
    let mut client = client(&server.url(), wire, scheme, false);
    let q = &server.jobs;
    let get = q.push(DEV, cmd::get("./DevInfo/Man"));
    q.push(DEV, cmd::add_interior("./Vendor"));
    let add = q.push(DEV, cmd::add("./Vendor/x", Format::Chr, "1"));
    let replace = q.push(DEV, cmd::replace("./Vendor/x", Format::Chr, "2"));
    let start = Start::Connect { server_id: SERVER_ID.into(), session_id: None };
    let report = net::run_session(&mut client, start, &Transport::default(), None).await.unwrap();
    assert_eq!(report.outcome, Outcome::Completed, "{report:#?}");
    assert!(report.transport_errors.is_empty(), "{:?}", report.transport_errors);
    assert_eq!(server.outcomes(), vec![SessionOutcome::Completed]);
    let o = |id| q.outcome(id).unwrap();
    assert_eq!(o(get).results[0].data.as_ref().and_then(Data::as_bytes), Some(&b"m2msim"[..]));
    assert!(o(add).succeeded());
    assert!(o(replace).succeeded());
    assert_eq!(client.tree().text("./Vendor/x"), Some("2"));
    // The transcript alternates request / response, in the wire's encoding, with HTTP 200s.
    assert!(report.transcript.len() >= 4, "{}", report.transcript.len());
    for (i, x) in report.transcript.iter().enumerate() {
        let want = if i % 2 == 0 { Direction::Sent } else { Direction::Received };
        assert_eq!(x.direction, want);
        let ct = x.content_type.as_deref().unwrap();
        let xml = wire.encoding == m2msim_codec::syncml::Encoding::Xml;
        assert_eq!(ct.ends_with("+xml"), xml, "{ct}");
        assert_eq!(x.body.first() == Some(&b'<'), xml);
        assert!(x.xml().unwrap().contains("SyncHdr"));
        if x.direction == Direction::Received {
            assert_eq!(x.http_status, Some(200));
        }
        assert_eq!(x.hmac.is_some(), scheme == AuthScheme::Hmac, "message {i}");
    }
}

#[tokio::test]
async fn full_session_xml_md5() {
    full_session(Wire::xml(Profile::rtk()), AuthScheme::Md5).await;
}

#[tokio::test]
async fn full_session_wbxml_md5() {
    full_session(Wire::wbxml(Profile::rtk()), AuthScheme::Md5).await;
}

#[tokio::test]
async fn full_session_xml_hmac() {
    full_session(Wire::xml(Profile::rtk()), AuthScheme::Hmac).await;
}

#[tokio::test]
async fn full_session_wbxml_hmac_libwbxml_profile() {
    full_session(Wire::wbxml(Profile::libwbxml()), AuthScheme::Hmac).await;
}

#[tokio::test]
async fn large_object_both_ways_over_http() {
    let server = TestServer::start(None, AuthScheme::Md5).await;
    let mut client = client(&server.url(), Wire::wbxml(Profile::rtk()), AuthScheme::Md5, false);
    let q = &server.jobs;
    let data: Vec<u8> = (0..200_000usize).map(|i| (i * 31 % 253) as u8).collect();
    q.push(DEV, cmd::add_interior("./Vendor"));
    let put = q.push(DEV, cmd::add("./Vendor/big", Format::Bin, data.clone()));
    let get = q.push(DEV, cmd::get("./Vendor/big"));
    let start = Start::Connect { server_id: SERVER_ID.into(), session_id: None };
    let report = net::run_session(&mut client, start, &Transport::default(), None).await.unwrap();
    assert!(report.completed(), "{:?}", report.outcome);
    assert!(q.outcome(put).unwrap().succeeded());
    let o = q.outcome(get).unwrap();
    assert_eq!(o.results[0].data.as_ref().and_then(Data::as_bytes), Some(data.as_slice()));
    assert_eq!(client.tree().value("./Vendor/big"), Some(data.as_slice()));
    // Chunked both ways: many more messages than commands (8 KiB client / 6 KiB server messages).
    assert!(report.transcript.len() > 2 * 200_000 / 8192, "{}", report.transcript.len());
}

#[tokio::test]
async fn server_initiated_session_from_package0() {
    let server = TestServer::start(None, AuthScheme::Md5).await;
    let mut client = client(&server.url(), Wire::xml(Profile::rtk()), AuthScheme::Md5, true);
    let op = server.jobs.push(DEV, cmd::get("./DevInfo/Mod"));
    let n = server.package0(0x1234, UiMode::Background);
    // A package 0 with a wrong digest starts nothing.
    let mut bad = n.bytes.clone();
    bad[0] ^= 1;
    let e = net::run_session(&mut client, Start::Notification { package0: bad }, &Transport::default(), None)
        .await;
    assert!(matches!(e, Err(net::NetError::Session(_))), "{e:?}");
    let report =
        net::run_session(&mut client, Start::Notification { package0: n.bytes }, &Transport::default(), None)
            .await
            .unwrap();
    assert!(report.completed(), "{report:#?}");
    assert!(report.transcript[0].xml().unwrap().contains("<SessionID>1234</SessionID>"));
    assert!(server.jobs.outcome(op).unwrap().succeeded());
}

#[tokio::test]
async fn https_with_a_ca_file_and_insecure() {
    let (tls, ca_pem) = self_signed();
    let server = TestServer::start(Some(tls), AuthScheme::Md5).await;
    let url = server.url().replace("127.0.0.1", "localhost");
    assert!(url.starts_with("https://"));
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &ca_pem).unwrap();
    let trusted = Transport { trust: Trust::from_pem_file(&ca).unwrap(), ..Transport::default() };
    let start = || Start::Connect { server_id: SERVER_ID.into(), session_id: None };

    server.jobs.push(DEV, cmd::get("./DevInfo/Man"));
    let mut c = client(&url, Wire::xml(Profile::rtk()), AuthScheme::Md5, false);
    let report = net::run_session(&mut c, start(), &trusted, None).await.unwrap();
    assert!(report.completed(), "{report:#?}");

    // Without the CA the handshake fails: the session ends as a transport failure.
    let mut c = client(&url, Wire::xml(Profile::rtk()), AuthScheme::Md5, false);
    let report = net::run_session(&mut c, start(), &Transport::default(), None).await.unwrap();
    assert!(matches!(report.outcome, Outcome::Failed(_)), "{:?}", report.outcome);
    assert!(report.transport_errors[0].contains("TLS"), "{:?}", report.transport_errors);

    // --insecure accepts it.
    let insecure = Transport { trust: Trust::InsecureAcceptAny, ..Transport::default() };
    let mut c = client(&url, Wire::wbxml(Profile::rtk()), AuthScheme::Md5, false);
    let report = net::run_session(&mut c, start(), &insecure, None).await.unwrap();
    assert!(report.completed(), "{report:#?}");
}

#[tokio::test]
async fn connection_refused_and_http_errors_end_the_session() {
    // A port nobody listens on.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/dm", l.local_addr().unwrap());
    drop(l);
    let mut c = client(&url, Wire::xml(Profile::rtk()), AuthScheme::Md5, false);
    let start = Start::Connect { server_id: SERVER_ID.into(), session_id: None };
    let report = net::run_session(&mut c, start.clone(), &Transport::default(), None).await.unwrap();
    assert!(matches!(report.outcome, Outcome::Failed(_)), "{:?}", report.outcome);
    assert!(report.transport_errors[0].contains("connect"), "{:?}", report.transport_errors);

    // A server answering 404 to everything.
    let server = TestServer::start(None, AuthScheme::Md5).await;
    let mut c =
        client(&format!("{}/nowhere", server.url()), Wire::xml(Profile::rtk()), AuthScheme::Md5, false);
    let report = net::run_session(&mut c, start, &Transport::default(), None).await.unwrap();
    assert!(matches!(report.outcome, Outcome::Failed(_)));
    assert!(report.transport_errors[0].contains("404"), "{:?}", report.transport_errors);
}

#[tokio::test]
async fn the_store_holds_the_tree_after_the_session_and_atomic_lands_whole() {
    let server = TestServer::start(None, AuthScheme::Md5).await;
    let mut client = client(&server.url(), Wire::xml(Profile::rtk()), AuthScheme::Md5, false);
    let dir = tempfile::tempdir().unwrap();
    let store = TreeStore::new(dir.path().join("tree.json"));
    let q = &server.jobs;
    q.push(DEV, cmd::add_interior("./Vendor"));
    let ok = q.push(
        DEV,
        cmd::atomic(vec![cmd::add("./Vendor/a", Format::Chr, "1"), cmd::add("./Vendor/b", Format::Chr, "2")]),
    );
    let bad = q.push(
        DEV,
        cmd::atomic(vec![cmd::add("./Vendor/c", Format::Chr, "3"), cmd::delete("./Vendor/missing")]),
    );
    let start = Start::Connect { server_id: SERVER_ID.into(), session_id: None };
    let report = net::run_session(&mut client, start, &Transport::default(), Some(&store)).await.unwrap();
    assert!(report.completed());
    assert!(q.outcome(ok).unwrap().succeeded());
    assert_eq!(q.outcome(bad).unwrap().status, Some(StatusCode::ATOMIC_FAILED));
    let saved = store.open().unwrap().unwrap();
    assert_eq!(saved.text("./Vendor/a"), Some("1"));
    assert_eq!(saved.text("./Vendor/b"), Some("2"));
    assert!(saved.node("./Vendor/c").is_none());
    // The nonce the server gave for the next session was stored too.
    assert_eq!(saved.snapshot(), client.tree().snapshot());
}

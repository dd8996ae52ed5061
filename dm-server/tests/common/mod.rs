//! Helpers of the HTTP tests: the dm-client engine with a small tree, driven over real HTTP(S).
#![allow(clippy::unwrap_used, dead_code)] // test code

use std::sync::Arc;

use m2msim_codec::syncml::Wire;
use m2msim_dm_client::mo::devinfo::DevInfo as ClientDevInfo;
use m2msim_dm_client::mo::dmacc::{self, Credentials as ClientCreds, DmAccount, Layout, Secret};
use m2msim_dm_client::session::{self as client, ClientConfig, DmClient, Outcome as ClientOutcome};
use m2msim_dm_client::tree::{Acl, DmTime, DmTree};
use m2msim_dm_server::directory::{AuthScheme, Credentials, DeviceRecord};
use m2msim_dm_server::http;

pub const SERVER_ID: &str = "srv.example";

pub fn now() -> DmTime {
    DmTime(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs())
}

pub fn record(dev: &str, scheme: AuthScheme) -> DeviceRecord {
    DeviceRecord {
        device_id: dev.into(),
        client: Credentials::new(scheme, "dev", "devpw", b"n0".to_vec()),
        server: Some(Credentials::new(scheme, SERVER_ID, "srvpw", b"s0".to_vec())),
    }
}

pub fn client_for(dev: &str, url: &str, scheme: AuthScheme, wire: Wire) -> DmClient {
    client_with(dev, url, scheme, wire, true)
}

/// A client whose DMAcc holds server credentials only when `server_creds`.
pub fn client_with(dev: &str, url: &str, scheme: AuthScheme, wire: Wire, server_creds: bool) -> DmClient {
    let t0 = now();
    let mut t = DmTree::default();
    let info = ClientDevInfo {
        dev_id: dev.into(),
        man: "m2msim".into(),
        model: "sim".into(),
        dm_v: "1.2".into(),
        lang: "en-US".into(),
    };
    info.install(&mut t, t0).unwrap();
    dmacc::install(&mut t, Layout::Dm12, t0).unwrap();
    let creds = |name: &str, secret: &str, nonce: &[u8]| ClientCreds {
        auth_type: scheme.auth_type(),
        name: name.into(),
        secret: Secret::new(secret),
        nonce: nonce.to_vec(),
    };
    let acc = DmAccount {
        layout: Layout::Dm12,
        account: "acc".into(),
        server_id: SERVER_ID.into(),
        name: None,
        addr: url.into(),
        addr_type: None,
        port: None,
        con_ref: None,
        auth_pref: None,
        client: Some(creds("dev", "devpw", b"n0")),
        server: server_creds.then(|| creds(SERVER_ID, "srvpw", b"s0")),
    };
    acc.write(&mut t, t0).unwrap();
    t.local(t0).set_acl(".", Acl::parse("Add=*&Get=*&Replace=*&Delete=*&Exec=*").unwrap()).unwrap();
    let config = ClientConfig { wire, ..ClientConfig::default() };
    DmClient::new(t, config, client::SeededNonces::new(dev.len() as u64))
}

/// Runs one client-initiated session over HTTP(S); returns the client's outcome and message count.
pub async fn run_session(
    c: &mut DmClient,
    session_id: &str,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> (ClientOutcome, u32) {
    run_session_with(c, session_id, tls, &mut |_| {}).await
}

/// As [`run_session`], calling `before_send(n)` before the client's n-th message (1-based) goes out.
pub async fn run_session_with(
    c: &mut DmClient,
    session_id: &str,
    tls: Option<Arc<rustls::ClientConfig>>,
    before_send: &mut dyn FnMut(u32),
) -> (ClientOutcome, u32) {
    c.handle_input(client::Input::Connect {
        server_id: SERVER_ID.into(),
        session_id: Some(session_id.into()),
        now: now(),
    })
    .unwrap();
    let mut sent = 0;
    loop {
        let Some(out) = c.poll_output() else { panic!("client idle with nothing to send") };
        match out {
            client::Output::Transmit(t) => {
                sent += 1;
                before_send(sent);
                let mut h = vec![("content-type", t.content_type)];
                if let Some(x) = &t.hmac {
                    h.push(("x-syncml-hmac", x.as_str()));
                }
                let r = http::send("POST", &t.uri, &h, t.body.clone(), tls.clone()).await;
                if !t.expects_reply {
                    continue;
                }
                let input = match r {
                    Ok(r) if r.status == 200 => {
                        assert_eq!(
                            r.header("content-type"),
                            Some(t.content_type),
                            "answered in the client's encoding"
                        );
                        let hmac = r.header("x-syncml-hmac").map(str::to_owned);
                        client::Input::Response { body: r.body, hmac, now: now() }
                    }
                    _ => client::Input::TransportFailed { now: now() },
                };
                c.handle_input(input).unwrap();
            }
            client::Output::Event(_) => {}
            client::Output::Ended { outcome } => return (outcome, sent),
        }
    }
}

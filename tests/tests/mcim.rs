//! S3-090905 end to end: the 21 steps over real loopback HTTP (every role on a listener of its own, the DPF
//! an `m2msim-dm-server` on 127.0.0.1 with a SQLite store; XML and WBXML), and the negative scenarios a user
//! would try, each with the outcome visible in the summary: a role that is down, the VNO's grant refusing a
//! request, the faults; the same run in-process.
#![allow(clippy::unwrap_used)] // test code

use std::collections::BTreeMap;

use m2msim_codec::mo::m2msimmobj::{ResultCode, State};
use m2msim_scenarios::mcim::net::Role;
use m2msim_scenarios::mcim::{DEV_ID, Event, Fault, Options, Summary, run_collect};

fn run(opts: Options) -> (Summary, Vec<Event>) {
    run_collect(opts).unwrap()
}

fn details(events: &[Event]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Detail(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// Each step's exchange line (`via`).
fn vias(events: &[Event]) -> Vec<(u8, &str)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Step { number, via: Some(v), .. } => Some((*number, v.as_str())),
            _ => None,
        })
        .collect()
}

/// What every role's endpoint must have received in a provisioning run, in order.
fn expected_received(s: &Summary) -> BTreeMap<String, Vec<String>> {
    let id = s.mcim_id.as_deref().unwrap();
    let dev = DEV_ID;
    let m = |role: &str, paths: &[String]| (role.to_owned(), paths.to_vec());
    BTreeMap::from([
        m("CCIF", &["POST /ccif/credentials 200".into()]),
        m(
            "ICF",
            &[
                "POST /icf/av 200".into(),
                "POST /icf/attached 204".into(),
                "POST /icf/boot-context 200".into(),
            ],
        ),
        m("VNO", &["POST /vno/attach 200".into(), "POST /vno/attach/auth 200".into()]),
        m("DRF", &["POST /drf/bootstrap 200".into()]),
        m(
            "DPF",
            &[
                format!("POST /dpf/devices/{dev}/validation 202"),
                format!("POST /dpf/devices/{dev}/mcims/mcim1 202"),
            ],
        ),
        m(
            "SHO",
            &[
                "POST /sho/registrations 201".into(),
                format!("POST /sho/devices/{dev}/validation 200"),
                format!("POST /sho/mcims/{id}/status 204"),
                "POST /sho/attach 200".into(),
                "POST /sho/attach/auth 200".into(),
            ],
        ),
        m("PVA", &["POST /pva/validations 200".into()]),
    ])
}

fn all_steps() -> Vec<u8> {
    (1..=21).collect()
}

fn happy(opts: Options) -> (Summary, Vec<Event>) {
    let (s, events) = run(opts);
    assert!(s.provisioned(), "{s:#?}");
    assert_eq!(s.steps, all_steps(), "{s:#?}");
    assert_eq!(s.verdict.as_deref(), Some("valid"));
    assert_eq!(s.results.get("install"), Some(&200));
    assert_eq!(s.results.get("activate"), Some(&200));
    assert_eq!(s.sho_status, Some(200));
    assert_eq!(s.state, Some(State::Active.code()));
    assert!(s.imsi.as_deref().unwrap().starts_with("00102"), "{s:#?}");
    assert!(events.iter().any(|e| matches!(e, Event::Proof(t) if t.contains("RES = XRES"))));
    (s, events)
}

#[test]
fn happy_path_xml() {
    let (s, events) = happy(Options::default());
    assert_eq!(s.encoding, "xml");
    assert_eq!(s.dm_sessions, 2, "validation, then provisioning");
    assert!(!s.resumed);
    assert!(s.dpf_addr.starts_with("http://127.0.0.1:") && s.dpf_addr.ends_with("/dm"), "{s:#?}");
    assert!(s.transport.contains(&s.dpf_addr) && s.transport.contains("SQLite"), "{s:#?}");
    let d = details(&events);
    // Over HTTP: every client message POSTed (the account's Addr first, then the server's RespURI), every
    // answer an HTTP 200.
    let ups: Vec<&&str> = d.iter().filter(|t| t.starts_with("M2ME -> DPF")).collect();
    let downs: Vec<&&str> = d.iter().filter(|t| t.starts_with("DPF -> M2ME")).collect();
    assert!(ups[0].starts_with(&format!("M2ME -> DPF  POST {} ", s.dpf_addr)), "{ups:#?}");
    assert!(ups[1].contains(&format!("POST {}/s/", s.dpf_addr)), "RespURI: {ups:#?}");
    assert!(ups.iter().all(|t| t.contains("POST http://127.0.0.1:")), "{ups:#?}");
    assert!(
        !downs.is_empty() && downs.iter().all(|t| t.starts_with("DPF -> M2ME  HTTP 200  MsgID")),
        "{downs:#?}"
    );
    assert_eq!(ups.len() as u32, s.dm_messages);
    // The DM leg as it crossed the wire: package 1, the validation Gets, the Adds, the Execs, the alerts.
    assert!(d.iter().any(|t| t.starts_with("M2ME -> DPF") && t.contains("Alert 1201")), "{d:#?}");
    assert!(d.iter().any(|t| t.contains("Get ./M2MSIMMobj/TRE/ValidationData")), "{d:#?}");
    assert!(d.iter().any(|t| t.contains("Results ./M2MSIMMobj/TRE/PfC")), "{d:#?}");
    assert!(d.iter().any(|t| t.contains("Add ./M2MSIMMobj/MCIMs/mcim1/Data")), "{d:#?}");
    assert!(d.iter().any(|t| t.contains("Exec ./M2MSIMMobj/MCIMs/mcim1/Operations/Install Correlator")));
    assert!(d.iter().any(|t| t.contains("Alert 1226 install=200 (Correlator mcim1-install")), "{d:#?}");
    assert!(d.iter().any(|t| t.contains("Alert 1226 activate=200 (Correlator mcim1-activate")), "{d:#?}");
    assert!(d.iter().all(|t| !t.contains("(WBXML")));
    // Steps 19 and 20 come when the alert crosses, before the DPF's Exec Activate.
    let pos = |pred: &dyn Fn(&Event) -> bool| events.iter().position(pred).unwrap();
    let s19 = pos(&|e| matches!(e, Event::Step { number: 19, .. }));
    let activate = pos(&|e| matches!(e, Event::Detail(t) if t.contains("Operations/Activate")));
    assert!(s19 < activate);
    // Every role on a loopback listener of its own, and each received what the flow sends it.
    assert_eq!(s.endpoints.len(), 7, "{s:#?}");
    let ports: std::collections::BTreeSet<&String> = s.endpoints.values().collect();
    assert_eq!(ports.len(), 7);
    assert!(s.endpoints.values().all(|u| u.starts_with("http://127.0.0.1:")), "{s:#?}");
    assert!(
        !s.endpoints.values().any(|u| s.dpf_addr.starts_with(u.as_str())),
        "the DM server is another listener"
    );
    assert_eq!(s.received, expected_received(&s), "{s:#?}");
    // Each step's line names the exchange that carried it, with its endpoint and status.
    let url = |role: &str| s.endpoints[role].clone();
    let v: BTreeMap<u8, &str> = vias(&events).into_iter().collect();
    assert_eq!(v[&1], format!("POST {}/vno/attach  200", url("VNO")));
    assert_eq!(v[&2], format!("POST {}/icf/av  200", url("ICF")));
    assert_eq!(v[&3], format!("ICF -> CCIF  POST {}/ccif/credentials  200", url("CCIF")));
    assert_eq!(v[&4], format!("answer to POST {}/icf/av  200", url("ICF")));
    assert_eq!(v[&5], format!("M2ME -> VNO  POST {}/vno/attach/auth  200", url("VNO")));
    assert_eq!(v[&7], format!("POST {}/drf/bootstrap  200", url("DRF")));
    assert_eq!(v[&8], format!("DRF -> ICF  POST {}/icf/boot-context  200", url("ICF")));
    assert_eq!(v[&10], format!("answer to POST {}/drf/bootstrap  200", url("DRF")));
    assert_eq!(v[&12], format!("POST {}/sho/registrations  201", url("SHO")));
    assert_eq!(v[&15], format!("answer to POST {}/pva/validations  200", url("PVA")));
    assert_eq!(v[&17], format!("POST {}/dpf/devices/{DEV_ID}/mcims/mcim1  202", url("DPF")));
    assert_eq!(
        v[&21],
        format!("POST {}/sho/mcims/{}/status  204", url("SHO"), s.mcim_id.as_deref().unwrap())
    );
    assert!(d.contains(&format!("VNO -> ICF  POST {}/icf/attached  204", url("ICF")).as_str()), "{d:#?}");
    assert!(
        d.contains(&format!("SHO -> DPF  POST {}/dpf/devices/{DEV_ID}/validation  202", url("DPF")).as_str())
    );
    assert!(d.contains(&format!("SHO -> PVA  POST {}/pva/validations  200", url("PVA")).as_str()));
}

#[test]
fn the_vno_grant_lets_the_m2me_reach_only_the_ro() {
    let (s, events) = happy(Options::default());
    let d = details(&events);
    // The M2ME's request to the SHO under provisional connectivity never leaves: the SHO's listener gets
    // its first request from the DRF (step 12).
    let sho = s.endpoints["SHO"].trim_start_matches("http://").to_owned();
    let blocked = format!(
        "M2ME -> SHO  POST http://{sho}/sho/registrations  failed: blocked: {sho} is not in the VNO's grant"
    );
    assert!(d.iter().any(|t| t.starts_with(&blocked)), "{d:#?}");
    assert_eq!(s.received["SHO"][0], "POST /sho/registrations 201");
    assert_eq!(s.received["SHO"].iter().filter(|t| t.contains("registrations")).count(), 1);
    // The grant names exactly the DRF and the DPF's DM endpoint.
    let drf = s.endpoints["DRF"].trim_start_matches("http://");
    let dm = s.dpf_addr.trim_start_matches("http://").trim_end_matches("/dm");
    let step6 = events.iter().find_map(|e| match e {
        Event::Step { number: 6, text, .. } => Some(text.clone()),
        _ => None,
    });
    assert!(step6.unwrap().contains(&format!("reaches only {drf}, {dm} ")), "{s:#?}");
}

#[test]
fn a_role_that_is_down_stops_the_run_at_its_step() {
    let cases = [
        (Role::Vno, 1, "M2ME -> VNO"),
        (Role::Icf, 2, "VNO -> ICF"),
        (Role::Ccif, 3, "ICF -> CCIF"),
        (Role::Drf, 7, "M2ME -> DRF"),
        (Role::Sho, 12, "DRF -> SHO"),
        (Role::Dpf, 13, "SHO -> DPF"),
        (Role::Pva, 13, "SHO -> PVA"),
    ];
    for (role, step, actors) in cases {
        for in_process in [false, true] {
            let (s, events) = run(Options { down: Some(role), in_process, ..Options::default() });
            assert!(!s.provisioned(), "{role:?}: {s:#?}");
            assert_eq!(s.mcim_id, None, "{role:?}");
            assert_eq!(s.failures.len(), 1, "{s:#?}");
            let url = &s.endpoints[role.name()];
            let f = &s.failures[0];
            assert!(f.starts_with(&format!("step {step}: {actors}  ")), "{role:?}: {f}");
            if in_process {
                assert!(f.ends_with(&format!("failed: the {} is down (not started)", role.name())), "{f}");
            } else {
                let refused = format!("failed: the {} does not answer: ", role.name());
                assert!(f.contains(&format!("POST {url}/")) && f.contains(&refused), "{f}");
            }
            assert_eq!(s.steps.last(), Some(&step), "{role:?}: {:?}", s.steps);
            assert!(!s.received.contains_key(role.name()), "nothing reached the {role:?}");
            // The step where it failed is reported with the exchange that failed.
            let failed = events.iter().any(|e| match e {
                Event::Step { number, via: Some(v), .. } => *number == step && v.contains("failed: "),
                Event::Detail(t) => t.starts_with(actors) && t.contains("failed: "),
                _ => false,
            });
            assert!(failed, "{role:?}: {events:#?}");
        }
    }
}

#[test]
fn http_and_in_process_links_give_the_same_result() {
    for opts in [
        Options::default(),
        Options::with_fault(Fault::ForeignPfc),
        Options::with_fault(Fault::TamperedMeasurement),
    ] {
        let (h, eh) = run(opts.clone());
        let (p, ep) = run(Options { in_process: true, ..opts });
        let key = |s: &Summary| {
            (
                s.steps.clone(),
                s.verdict.clone(),
                s.mcim_id.clone(),
                s.imsi.clone(),
                s.package_bytes,
                s.results.clone(),
            )
        };
        assert_eq!(key(&h), key(&p));
        assert_eq!(
            (h.sho_status, h.state, h.attached, h.dm_messages),
            (p.sho_status, p.state, p.attached, p.dm_messages)
        );
        assert_eq!(h.received, p.received, "the same requests reached the same endpoints");
        assert_eq!(h.failures.len(), p.failures.len());
        let steps = |e: &[Event]| -> Vec<(u8, String)> {
            e.iter()
                .filter_map(|e| match e {
                    Event::Step { number, actors, .. } => Some((*number, actors.clone())),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(steps(&eh), steps(&ep));
    }
}

#[test]
fn happy_path_wbxml_with_trace() {
    let (s, events) = happy(Options { wbxml: true, trace: true, ..Options::default() });
    assert_eq!(s.encoding, "wbxml");
    let d = details(&events);
    assert!(
        d.iter()
            .filter(|t| t.contains("M2ME -> DPF") || t.contains("DPF -> M2ME"))
            .all(|t| t.contains("(WBXML"))
    );
    let traces: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Trace(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert!(traces.iter().any(|t| t.contains("<SyncML")), "rendered XML");
    assert!(traces.contains(&"hex:"), "and the WBXML bytes");
}

#[test]
fn pva_rejects_a_tampered_measurement_and_no_mcim_is_released() {
    let (s, events) = run(Options::with_fault(Fault::TamperedMeasurement));
    assert!(!s.provisioned());
    assert_eq!(s.verdict.as_deref(), Some("compromised: os"));
    assert_eq!(s.mcim_id, None, "no MCIM issued");
    assert_eq!(s.package_bytes, 0);
    assert_eq!(s.steps, (1..=16).collect::<Vec<_>>());
    assert_eq!(s.dm_sessions, 1, "only the validation session");
    assert!(s.failures[0].contains("PVA refused"), "{s:#?}");
    assert!(!details(&events).iter().any(|t| t.contains("MCIMs/")));
}

#[test]
fn package_for_another_tre_is_refused_with_403() {
    let (s, _) = run(Options::with_fault(Fault::ForeignPfc));
    assert!(!s.provisioned());
    assert_eq!(s.results.get("install"), Some(&ResultCode::NotForThisTre.code()), "{s:#?}");
    assert_eq!(s.results.get("activate"), None, "the DPF stops after the failed Install");
    assert_eq!(s.sho_status, Some(403));
    assert_eq!(s.state, Some(State::Failed.code()));
    assert!(s.failures[0].contains("Exec Install -> Result 403"), "{s:#?}");
    assert_eq!(s.steps, all_steps());
}

#[test]
fn flipped_ciphertext_byte_is_refused_with_402_or_404() {
    let (s, _) = run(Options::with_fault(Fault::FlippedCiphertext));
    assert!(!s.provisioned());
    let r = *s.results.get("install").unwrap();
    assert!(r == 402 || r == 404, "{s:#?}");
    assert_eq!(s.sho_status, Some(r));
    assert_eq!(s.state, Some(State::Failed.code()));
}

#[test]
fn exec_in_the_wrong_state_is_refused_with_409() {
    let (s, _) = run(Options::with_fault(Fault::ExecWrongState));
    assert!(!s.provisioned());
    assert_eq!(s.results.get("activate"), Some(&409), "{s:#?}");
    assert_eq!(s.results.get("install"), None);
    assert_eq!(s.state, Some(State::Delivered.code()), "no state change");
    assert_eq!(s.sho_status, Some(409));
    assert!(s.failures[0].contains("Exec Activate -> Result 409"), "{s:#?}");
}

#[test]
fn large_mcim_object_is_delivered_in_chunks() {
    for wbxml in [false, true] {
        let (s, events) = happy(Options { wbxml, ..Options::large_object() });
        assert!(s.package_bytes > 3 * 2048, "{}", s.package_bytes);
        assert_eq!(s.large_objects.len(), 1, "{s:#?}");
        assert_eq!(s.large_objects[0].0, "./M2MSIMMobj/MCIMs/mcim1/Data");
        assert_eq!(s.large_objects[0].1, s.package_bytes as u64);
        let chunks =
            details(&events).iter().filter(|t| t.contains("mcim1/Data") && t.contains("DPF -> M2ME")).count();
        assert!(chunks >= 3, "{chunks} messages carried the Data");
        assert!(details(&events).iter().any(|t| t.contains("[MoreData]")));
    }
}

#[test]
fn session_breaks_after_the_add_and_the_dpf_resumes() {
    let (s, events) = happy(Options::with_fault(Fault::BreakAfterAdd));
    assert!(s.resumed);
    assert_eq!(s.dm_sessions, 3, "validation, broken provisioning, resumed provisioning");
    let d = details(&events);
    let broke = d.iter().position(|t| t.contains("connection breaks")).unwrap();
    let resumed = d.iter().position(|t| t.contains("DPF resumes")).unwrap();
    assert!(broke < resumed);
    // The Add went out once; the Exec Install twice (lost, then resent).
    let adds = d
        .iter()
        .filter(|t| t.starts_with("DPF -> M2ME") && t.contains("Add ./M2MSIMMobj/MCIMs/mcim1/Data"))
        .count();
    let installs =
        d.iter().filter(|t| t.starts_with("DPF -> M2ME") && t.contains("Operations/Install")).count();
    assert_eq!((adds, installs), (1, 2), "{d:#?}");
}

/// A run's summary and events with what differs between two HTTP servers (the address and port, the
/// RespURI tokens, the bootstrap's MAC over the address) replaced by placeholders.
fn normalised(s: &Summary, events: &[Event]) -> (String, Vec<String>) {
    let scrub = |t: &str| {
        let host = s.dpf_addr.trim_start_matches("http://").trim_end_matches("/dm");
        let mut t = t.replace(&s.dpf_addr, "<dpf>").replace(host, "<dpf-host>");
        for (role, url) in &s.endpoints {
            t = t.replace(url.trim_start_matches("http://"), &format!("<{role}>"));
        }
        // The bootstrap's MAC covers the DPF's address.
        if let Some(i) = t.find("under K_boot").and_then(|k| t[k..].find(") = ").map(|j| k + j + 4)) {
            t.replace_range(i..i + 16, "<mac>");
        }
        // `<dpf>/s/<32 hex digits>`
        let mut out = String::new();
        let mut rest = t.as_str();
        while let Some(i) = rest.find("<dpf>/s/") {
            let (head, tail) = rest.split_at(i + "<dpf>/s/".len());
            out.push_str(head);
            let token = tail.chars().take_while(char::is_ascii_hexdigit).count();
            assert_eq!(token, 32, "{t}");
            out.push_str("<token>");
            rest = &tail[token..];
        }
        out.push_str(rest);
        out
    };
    let summary = scrub(&serde_json::to_string(s).unwrap());
    (summary, events.iter().map(|e| scrub(&format!("{e:?}"))).collect())
}

#[test]
fn same_seed_same_run() {
    let (a, ea) = run(Options::default());
    let (b, eb) = run(Options::default());
    assert_ne!(a.dpf_addr, b.dpf_addr, "two servers, two ports");
    let ((sa, ea), (sb, eb)) = (normalised(&a, &ea), normalised(&b, &eb));
    assert_eq!(sa, sb);
    for (i, (x, y)) in ea.iter().zip(&eb).enumerate() {
        assert_eq!(x, y, "event {i}");
    }
    assert_eq!(ea.len(), eb.len());
    let (c, _) = run(Options { seed: 2, ..Options::default() });
    assert!(c.provisioned());
}

#[test]
fn in_process_dpf_runs_the_same_steps_deterministically() {
    let opts = || Options { in_process: true, ..Options::default() };
    let (s, events) = happy(opts());
    assert!(s.transport.starts_with("in-process"), "{s:#?}");
    assert_eq!(s.dpf_addr, "https://dpf.ro.example/dm");
    assert!(details(&events).iter().all(|t| !t.contains("http://127.0.0.1") && !t.contains("HTTP 200")));
    assert!(vias(&events).iter().all(|(_, v)| v.contains("direct call POST /")), "{:#?}", vias(&events));
    assert_eq!(s.received, expected_received(&s), "{s:#?}");
    let (b, eb) = run(opts());
    assert_eq!(serde_json::to_string(&s).unwrap(), serde_json::to_string(&b).unwrap());
    assert_eq!(events, eb);
    // The same flow as over HTTP: the same steps and DM commands, message for message.
    let (h, eh) = happy(Options::default());
    let commands = |events: &[Event]| -> Vec<String> {
        details(events).iter().filter_map(|t| t.split_once(" B): ").map(|(_, r)| r.to_owned())).collect()
    };
    assert_eq!((s.steps, s.results, s.dm_messages), (h.steps, h.results, h.dm_messages));
    assert_eq!(commands(&events), commands(&eh));
}

#[test]
fn package_from_another_sho_than_the_bootstrap_named_is_refused_with_405() {
    let (s, _) = run(Options::with_fault(Fault::OtherSho));
    assert!(!s.provisioned());
    assert_eq!(s.results.get("install"), Some(&ResultCode::RejectedByPolicy.code()), "{s:#?}");
    assert_eq!(s.results.get("activate"), None, "the DPF stops after the failed Install");
    assert_eq!(s.sho_status, Some(405));
    assert_eq!(s.state, Some(State::Failed.code()));
    assert!(s.failures[0].contains("Exec Install -> Result 405"), "{s:#?}");
}

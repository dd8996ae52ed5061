//! The roles' endpoints on their own (docs/m2msimmobj.md §7): the answers and errors of each, over loopback
//! HTTP and in-process alike, with the step each error names.
#![allow(clippy::unwrap_used)] // test code

use m2msim_codec::mo::mcim::SecretBytes;
use m2msim_m2m::wire::{
    AttachReport, AttachRequest, AuthResponse, AvAnswer, Challenge, Grant, PcidRequest, Problem,
    ValidationReads, ValidationRequest,
};
use m2msim_m2m::{Credential, Pva};
use m2msim_scenarios::mcim::SeededRng;
use m2msim_scenarios::mcim::dm::DpfJobs;
use m2msim_scenarios::mcim::net::{CallError, Endpoint, Network, Request, Response, Role};
use m2msim_scenarios::mcim::roles::{CcifEndpoint, DpfApi, IcfEndpoint, PvaEndpoint, VnoEndpoint};

const PCID: &str = "001010000000001";

fn network(http: bool) -> Network {
    let mut net = if http { Network::http(&[Role::Sho]).unwrap() } else { Network::in_process(&[Role::Sho]) };
    let mut ccif = CcifEndpoint::default();
    ccif.keep(Credential {
        imsi: PCID.into(),
        k: SecretBytes::new([0x46; 16].to_vec()),
        opc: SecretBytes::new([0xcd; 16].to_vec()),
    });
    let drf = net.authority(Role::Drf);
    let endpoints: Vec<(Role, Box<dyn Endpoint>)> = vec![
        (Role::Ccif, Box::new(ccif)),
        (Role::Icf, Box::new(IcfEndpoint::new(SeededRng::new(7)))),
        (Role::Vno, Box::new(VnoEndpoint::new(vec![drf]))),
        (Role::Dpf, Box::new(DpfApi::new(DpfJobs::new("dev-1"), "dev-1"))),
        (Role::Pva, Box::new(PvaEndpoint::new(Pva::default()))),
    ];
    net.start(endpoints);
    net
}

fn problem(r: &Response) -> Problem {
    r.problem_body().unwrap_or_else(|| panic!("no problem body: {r:?}"))
}

#[test]
fn endpoints_answer_and_refuse_with_the_step() {
    for http in [true, false] {
        let net = network(http);
        let call = |to: Role, req: Request| net.call(0, Role::M2me, to, req).unwrap();
        // The ICF has no credential for the PCID yet: it fetches it from the CCIF (step 3) and makes an AV.
        let av: AvAnswer =
            call(Role::Icf, Request::json("/icf/av", &PcidRequest { pcid: PCID.into() })).parse().unwrap();
        assert_eq!((av.ck.len(), av.ik.len()), (16, 16));
        // An unknown PCID: the CCIF's 404 surfaces as the ICF's 502 at step 3.
        let r = call(Role::Icf, Request::json("/icf/av", &PcidRequest { pcid: "001019999999999".into() }));
        assert_eq!((r.status, problem(&r).step), (502, 3), "{r:?}");
        assert!(problem(&r).error.contains("CCIF answered HTTP 404"), "{r:?}");
        // No attach reported yet: no bootstrap context (step 8); a RAND the ICF never issued (step 6).
        let r = call(Role::Icf, Request::json("/icf/boot-context", &PcidRequest { pcid: PCID.into() }));
        assert_eq!((r.status, problem(&r).step), (404, 8));
        let report = AttachReport { pcid: PCID.into(), rand: [0; 16], ip: "10.0.0.1".into() };
        let r = call(Role::Icf, Request::json("/icf/attached", &report));
        assert_eq!((r.status, problem(&r).step), (404, 6));
        // A body that is not JSON, and JSON of the wrong shape.
        let r = call(Role::Icf, Request::bytes("/icf/av", "text/plain", b"001010000000001".to_vec()));
        assert_eq!((r.status, problem(&r).step), (415, 2));
        let r = call(Role::Icf, Request::bytes("/icf/av", "application/json", b"{\"imsi\":1}".to_vec()));
        assert_eq!((r.status, problem(&r).step), (400, 2));
        // A path no role serves.
        assert_eq!(call(Role::Icf, Request::json("/icf/nothing", &())).status, 404);

        // The VNO: an answer without an attach (409), a wrong RES (403, and the attach is over).
        let auth = AuthResponse { imsi: PCID.into(), res: vec![0; 8] };
        let r = call(Role::Vno, Request::json("/vno/attach/auth", &auth));
        assert_eq!((r.status, problem(&r).step), (409, 5));
        let c: Challenge =
            call(Role::Vno, Request::json("/vno/attach", &AttachRequest { imsi: PCID.into() }))
                .parse()
                .unwrap();
        assert_ne!(c.rand, av.rand, "a fresh AV");
        let r = call(Role::Vno, Request::json("/vno/attach/auth", &auth));
        assert_eq!((r.status, problem(&r).step), (403, 5));
        assert!(r.parse::<Grant>().is_err());

        // The DPF's interface: an unknown device, a package of the wrong type or not a package.
        let reads = ValidationReads { nonce: vec![1; 16] };
        assert_eq!(call(Role::Dpf, Request::json("/dpf/devices/dev-1/validation", &reads)).status, 202);
        let r = call(Role::Dpf, Request::json("/dpf/devices/dev-2/validation", &reads));
        assert_eq!((r.status, problem(&r).step), (404, 13));
        let r = call(
            Role::Dpf,
            Request::bytes("/dpf/devices/dev-1/mcims/m1", "application/octet-stream", vec![0x30, 0]),
        );
        assert_eq!((r.status, problem(&r).step), (415, 17));
        let r = call(
            Role::Dpf,
            Request::bytes(
                "/dpf/devices/dev-1/mcims/m1",
                "application/vnd.3gpp.m2msim-mcim",
                vec![0x30, 0x05],
            ),
        );
        assert_eq!((r.status, problem(&r).step), (400, 17));

        // The PVA: a report that does not decode (step 14).
        let q = ValidationRequest {
            tre_id: "TRE-1".into(),
            pfc: vec![],
            nonce: vec![],
            report: vec![0x30, 0x01],
        };
        let r = call(Role::Pva, Request::json("/pva/validations", &q));
        assert_eq!((r.status, problem(&r).step), (400, 14));

        // The SHO is down: no answer, and nothing recorded as received.
        let e = net.call(12, Role::Drf, Role::Sho, Request::json("/sho/registrations", &())).unwrap_err();
        assert!(matches!(e, CallError::Transport(_)), "{e}");
        let received = net.received();
        assert!(!received.contains_key(&Role::Sho));
        assert_eq!(received[&Role::Ccif], ["POST /ccif/credentials 200", "POST /ccif/credentials 404"]);
        // Every exchange is in the transcript, the nested ones (ICF -> CCIF) included, with its step.
        let t = net.transcript(0);
        assert!(
            t.iter().any(|x| x.from == Role::Icf
                && x.to == Role::Ccif
                && x.step == 3
                && x.outcome == Some(Ok(404)))
        );
        assert!(t.iter().any(|x| x.from == Role::Vno && x.to == Role::Icf && x.step == 2));
        assert!(t.last().unwrap().failed());
    }
}

#[test]
fn a_role_listener_answers_only_post() {
    let net = network(true);
    let url = format!("{}/icf/av", net.url(Role::Icf));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let r = rt.block_on(m2msim_dm_server::http::send("GET", &url, &[], Vec::new(), None)).unwrap();
    assert_eq!(r.status, 405);
    assert_eq!(net.received()[&Role::Icf], ["GET /icf/av 405"]);
}

//! Seed inputs for the codec's fuzz targets, made by our own encoders (never copied from the shared
//! corpus): the `fuzz_seeds` example writes them under `fuzz/corpus/<target>/`, and a test checks that each
//! decodes as intended, so a seed that stops reaching its decoder is noticed.

use crate::Encode;
use crate::apdu::{Cla, CommandApdu, ResponseApdu, StatusWord};
use crate::cat::SendShortMessage;
use crate::cat::SmsPpDownload;
use crate::dm::pkg0::{Initiator, Package0, Package0Params, UiMode};
use crate::dm::push::{WspPush, push_delivers};
use crate::mo::mcim::{McimPlaintext, ProtectedPackage, ProtectionAlg, SecretBytes};
use crate::mo::prov_ctx::McimProvCtx;
use crate::mo::validation::{Measurement, ValidationData, ValidationMode};
use crate::ota::{Cntr, CommandHeader, CommandPacket, Kic, Kid, SecuredCommand, Spi, Tar, Transport};
use crate::rfm::{CompactResponse, ExpandedResponse, ExpandedScript};
use crate::sim::{EfIccid, EfImsi, PlmnId};
use crate::sms::concat::ConcatRef;
use crate::sms::{Address, Dcs, Deliver, Ie, Pid, Scts, Submit, Udh, UserData, ValidityPeriod};
use crate::syncml::tree::Profile;
use crate::syncml::{AlertCode, DevInfo, DmVersion, SyncHdr, SyncMl};
use crate::tlv::ber::{BerTlv, Tag};
use crate::tlv::comprehension::{Ctlv, CtlvTag};

/// A seed: target, file name, bytes.
pub type Seed = (&'static str, String, Vec<u8>);

/// Prefixes each item with its one-byte length (the record format of the reassembly bodies).
fn length_prefixed(items: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for i in items {
        out.push(u8::try_from(i.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(i.get(..255).unwrap_or(i));
    }
    out
}

/// The seeds of every codec target.
#[must_use]
pub fn seeds() -> Vec<Seed> {
    let mut s: Vec<Seed> = Vec::new();
    let mut add = |t: &'static str, n: &str, b: Vec<u8>| s.push((t, n.to_owned(), b));

    // APDUs.
    let select = CommandApdu::new(Cla::ISO, 0xA4, 0x04, 0x04, vec![0xA0, 0, 0, 0, 0x87, 0x10, 0x02], None);
    let read = CommandApdu::new(Cla::ISO, 0xB0, 0x00, 0x00, Vec::new(), Some(256));
    let ext = CommandApdu::new(Cla::UICC_PROPRIETARY, 0xC2, 0, 0, vec![0xD1; 300], Some(65_536));
    for (n, a) in [("select", select), ("read", read), ("extended", ext)] {
        if let Ok(a) = a {
            add("apdu", n, a.encode());
        }
    }
    add("apdu", "response", ResponseApdu::new(vec![0x62, 0x00], StatusWord(0x9000)).encode());

    // TLVs.
    let fcp = BerTlv::constructed(
        Tag::one(0x62),
        vec![
            BerTlv::primitive(Tag::one(0x82), vec![0x41, 0x21]),
            BerTlv::primitive(Tag::one(0x83), vec![0x6F, 0x07]),
        ],
    );
    add("tlv", "fcp", fcp.encode());
    add("tlv", "ctlv", Ctlv::new(CtlvTag::new(0x82), vec![0x83, 0x81]).encode());

    // OTA packets for every transport (selector byte first), an SMS-PP one carried in a DELIVER.
    let header =
        CommandHeader { spi: Spi([0x16, 0x19]), kic: Kic(0x15), kid: Kid(0x15), tar: Tar([0xB0, 0, 0x11]) };
    let script = [0x00, 0xA4, 0x00, 0x0C, 0x02, 0x6F, 0x07, 0x00, 0xB0, 0x00, 0x00, 0x09];
    let sec = SecuredCommand::padded(Cntr([0, 0, 0, 0, 1]), 8, &script, 8);
    let mut sms_pp_packet = Vec::new();
    for (i, t) in [Transport::SmsPp, Transport::SmsCb, Transport::CatTp, Transport::TcpIp, Transport::Ussd]
        .into_iter()
        .enumerate()
    {
        if let Ok(p) = CommandPacket::from_plain(t, header, &sec) {
            let mut b = vec![u8::try_from(i).unwrap_or(0)];
            b.extend(p.encode());
            if i == 0 {
                sms_pp_packet = p.encode();
            }
            add("ota", &format!("command-{i}"), b);
        }
    }
    let Ok(from) = Address::international("4912345678") else { return s };
    let scts = Scts::new(24, 5, 17, 12, 0, 0, 4).unwrap_or_default();
    let deliver = |ud: UserData| Deliver::new(from, Pid(0x7F), Dcs::SIM_SPECIFIC_8BIT, scts, ud);
    if let Ok(ud) = UserData::octets(Some(Udh(vec![Ie::CommandPacket])), sms_pp_packet) {
        let d = deliver(ud);
        let tpdu = d.encode();
        add("sms", "deliver-70", tpdu.clone());
        add("sms_reassembly", "single", length_prefixed(std::slice::from_ref(&tpdu)));
        let dl = SmsPpDownload::new(None, tpdu.clone());
        add("cat", "sms-pp-download", dl.to_envelope().encode());
        add("views", "sms-pp-download", dl.to_envelope().encode());
        if let Ok(sc) = crate::cat::Address::international("447785016005") {
            add(
                "views",
                "sms-pp-download-sc",
                SmsPpDownload::new(Some(sc), tpdu.clone()).to_envelope().encode(),
            );
        }
        add("views", "deliver-70", tpdu.clone());
        if let Ok(sub) =
            UserData::octets(Some(Udh(vec![Ie::ResponsePacket])), vec![0x0C, 0, 0, 0, 0, 1, 0, 0])
            && let Ok(a) = Address::international("4912345678")
        {
            let submit = Submit::new(1, a, Pid(0x7F), Dcs::SIM_SPECIFIC_8BIT, ValidityPeriod::None, sub);
            add("sms", "submit-71", submit.encode());
            add("cat", "send-short-message", SendShortMessage::new(1, submit.encode()).to_command().encode());
        }
    }
    if let Ok(ud) = UserData::gsm7_text(None, "hello") {
        add("sms", "deliver-text", Deliver::new(from, Pid(0), Dcs(0), scts, ud).encode());
    }
    // A concatenated command packet in three segments.
    let long = vec![0x5A; 300];
    if let Ok(uds) =
        crate::sms::concat::split_kind(&long, ConcatRef::Eight(7), crate::sms::concat::PacketKind::Command)
    {
        let tpdus: Vec<Vec<u8>> = uds.into_iter().map(|ud| deliver(ud).encode()).collect();
        add("sms_reassembly", "three", length_prefixed(&tpdus));
    }

    // RFM scripts and responses.
    let apdus: Vec<CommandApdu> = [
        CommandApdu::new(Cla::ISO, 0xA4, 0x00, 0x0C, vec![0x6F, 0x07], None),
        CommandApdu::new(Cla::ISO, 0xB0, 0x00, 0x00, Vec::new(), Some(9)),
    ]
    .into_iter()
    .flatten()
    .collect();
    add("rfm", "compact-script", apdus.iter().flat_map(Encode::encode).collect());
    add("rfm", "expanded-script", ExpandedScript::definite(apdus.clone()).encode());
    add("rfm", "expanded-indefinite", ExpandedScript::indefinite(apdus).encode());
    add("rfm", "compact-response", CompactResponse::new(2, StatusWord(0x9000), vec![0x08, 0x09]).encode());
    let rs = [ResponseApdu::new(vec![0x01], StatusWord(0x9000))];
    add("rfm", "expanded-response", ExpandedResponse::definite(1, rs).encode());

    // EF contents.
    if let Ok(i) = EfImsi::from_digits("001010123456789") {
        add("sim", "imsi", i.encode());
    }
    if let Ok(i) = EfIccid::from_digits("8988211000000000011") {
        add("sim", "iccid", i.encode());
    }
    if let Ok(p) = PlmnId::new("001", "01") {
        add("sim", "plmn", p.encode());
    }

    // Package 0, its WSP push, and the push as SMS-DELIVERs.
    let p0 = Package0::build(
        &Package0Params {
            version: 12,
            ui_mode: UiMode::Background,
            initiator: Initiator::Server,
            session_id: 0x1234,
            server_id: b"srv.example",
            body: b"",
        },
        b"pw",
        b"nonce",
    );
    add("dm", "package0", p0.encode());
    let push = WspPush::syncml_dm_notification(1, p0.encode());
    add("dm", "wsp-push", push.encode());
    add("dm", "hmac-header", b"algorithm=MD5, username=\"dev\", mac=AAAAAAAAAAAAAAAAAAAAAA==".to_vec());
    if let Ok(a) = Address::international("4912345678")
        && let Ok(ds) = push_delivers(&push, a, scts, ConcatRef::Eight(3))
    {
        add("push", "notification", length_prefixed(&ds.iter().map(Encode::encode).collect::<Vec<_>>()));
    }

    // SyncML: package 1 in XML and WBXML (also the WBXML and XML document targets), the DDF of M2MSIMMobj.
    let dev = DevInfo {
        dev_id: "IMEI:490154203237518".into(),
        man: "m2msim".into(),
        model: "sim".into(),
        dm_v: "1.2".into(),
        lang: "en".into(),
    };
    let p1 = SyncMl::package1(
        SyncHdr::new(DmVersion::V1_2, "1", 1, "https://dm.example/dm", "IMEI:490154203237518"),
        AlertCode::CLIENT_INITIATED_MGMT,
        &dev,
    );
    if let Ok(x) = p1.to_xml(&Profile::rtk()) {
        add("syncml", "package1-xml", x.clone().into_bytes());
        add("xml", "package1", x.into_bytes());
    }
    if let Ok(w) = p1.to_wbxml(&Profile::rtk()) {
        add("syncml", "package1-wbxml", w.clone());
        add("wbxml", "package1", w);
    }
    add("ddf", "m2msimmobj-xml", crate::mo::m2msimmobj::ddf_xml().into_bytes());
    if let Ok(w) = crate::mo::m2msimmobj::ddf_wbxml() {
        add("ddf", "m2msimmobj-wbxml", w.clone());
        add("wbxml", "m2msimmobj-ddf", w);
    }
    add(
        "xml",
        "doctype-comment",
        b"<?xml version=\"1.0\"?>\n<!DOCTYPE a>\n<!-- c --><a b='1'>&amp;<c/></a>".to_vec(),
    );

    // M2MSIMMobj byte formats.
    let Ok(mcc) = PlmnId::new("001", "01") else { return s };
    add("mo", "prov-ctx", McimProvCtx::new(mcc).encode());
    if let Ok(iccid) = EfIccid::from_digits("8988211000000000011") {
        let mut p = ProtectedPackage::header(ProtectionAlg::EciesP256Aes128Gcm, [7; 32], iccid, mcc);
        p.ciphertext = vec![0xC7; 48];
        add("mo", "protected-package", p.encode());
    }
    if let Ok(imsi) = EfImsi::from_digits("001010123456789") {
        let m = McimPlaintext::milenage(imsi, SecretBytes::new([0x11; 16]), SecretBytes::new([0x22; 16]));
        add("mo", "mcim-plaintext", m.encode());
    }
    let v = ValidationData::new(
        ValidationMode::Remote,
        "tre-1",
        [9; 32],
        vec![1, 2, 3, 4],
        Some(vec![Measurement::new("boot", [5; 32])]),
    );
    add("mo", "validation-data", v.encode());
    add("mo", "mcim-uri", b"./M2MSIMMobj/MCIMs/m1/Operations/Install".to_vec());

    // Structure-aware targets: bytes that drive the builders.
    for t in ["typed_apdu", "typed_tlv", "typed_sms", "typed_ota"] {
        add(t, "ramp", (0..=255u8).collect());
        add(t, "sparse", [1u8, 0, 0, 0, 2, 0, 0, 0].repeat(8));
    }
    s
}

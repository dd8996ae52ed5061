use super::*;
use crate::reader::Decode;
use crate::syncml::tree::Element;
use crate::testdata::peer_tool;
use crate::{wbxml, xml};

#[test]
fn operations_and_alert_types() {
    assert_eq!(Operation::Install.alert_type(), "urn:oma:at:ext-3gpp-m2msim:1.0:install");
    assert_eq!(Operation::Deactivate.alert_type(), "urn:oma:at:ext-3gpp-m2msim:1.0:deactivate");
    for op in Operation::ALL {
        assert_eq!(Operation::from_alert_type(&op.alert_type()), Some(op));
        assert_eq!(Operation::from_node_name(op.node_name()), Some(op));
    }
    assert_eq!(Operation::from_alert_type("urn:oma:at:ext-3gpp-m2msim:1.0:frob"), None);
    assert_eq!(Operation::from_alert_type("org.openmobilealliance.dm.firmwareupdate.update"), None);
}

#[test]
fn state_codes() {
    let codes: Vec<u16> = State::ALL.iter().map(|s| s.code()).collect();
    assert_eq!(codes, [10, 20, 30, 40, 50, 60]);
    assert_eq!(State::from_node_value(b"40"), Some(State::Active));
    assert_eq!(State::from_node_value(b" 60 "), Some(State::Failed));
    assert_eq!(State::from_node_value(b"15"), None);
    assert_eq!(State::from_node_value(&[0xFF]), None);
    assert_eq!(State::Installed.to_string(), "30 Installed");
    assert_eq!(serde_json::to_string(&State::Inactive).unwrap(), "\"inactive\"");
}

#[test]
fn result_codes() {
    let named = [200, 400, 402, 403, 404, 405, 408, 409, 410, 411, 501];
    for c in named {
        let r = ResultCode::from_code(c);
        assert!(!matches!(r, ResultCode::Other(_)), "{c}");
        assert_eq!(r.code(), c);
        assert!(r.name().is_some());
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.starts_with('"'), "{json}");
        assert_eq!(serde_json::from_str::<ResultCode>(&json).unwrap(), r);
        // A number is accepted too (what a peer might send).
        assert_eq!(serde_json::from_str::<ResultCode>(&c.to_string()).unwrap(), r);
    }
    assert_eq!(ResultCode::from_code(250), ResultCode::Other(250));
    assert_eq!(serde_json::to_string(&ResultCode::Other(250)).unwrap(), "250");
    assert_eq!(serde_json::from_str::<ResultCode>("250").unwrap(), ResultCode::Other(250));
    assert!(serde_json::from_str::<ResultCode>("\"frob\"").is_err());
    assert_eq!(ResultCode::from_text(b"409"), Some(ResultCode::WrongState));
    assert_eq!(ResultCode::WrongState.to_string(), "409 Wrong State for this operation");
    assert!(ResultCode::Success.is_success() && !ResultCode::IntegrityFailure.is_success());
}

#[test]
fn mcim_paths_and_targets() {
    let p = McimPaths::new("8949001000000000017");
    assert_eq!(p.node(), "./M2MSIMMobj/MCIMs/8949001000000000017");
    assert_eq!(p.leaf(McimLeaf::Data), "./M2MSIMMobj/MCIMs/8949001000000000017/Data");
    assert_eq!(p.operation(Operation::Install), "./M2MSIMMobj/MCIMs/8949001000000000017/Operations/Install");
    let t = McimTarget::parse("M2MSIMMobj/MCIMs/m1/Operations/Activate").unwrap();
    assert_eq!((t.name.as_str(), &t.item), ("m1", &McimItem::Operation(Operation::Activate)));
    assert_eq!(t.paths().node(), "./M2MSIMMobj/MCIMs/m1");
    for (uri, item) in [
        ("./M2MSIMMobj/MCIMs/m1", McimItem::Node),
        ("./M2MSIMMobj/MCIMs/m1/State", McimItem::Leaf(McimLeaf::State)),
        ("./M2MSIMMobj/MCIMs/m1/Operations", McimItem::Operations),
        ("./M2MSIMMobj/MCIMs/m1/Operations/Frob", McimItem::Other),
        ("./M2MSIMMobj/MCIMs/m1/Ext/a/b", McimItem::Other),
    ] {
        assert_eq!(McimTarget::parse(uri).unwrap().item, item, "{uri}");
    }
    for uri in ["./M2MSIMMobj/MCIMs", "./M2MSIMMobj/MCIMs/", "./M2MSIMMobj/TRE/PfC", "./DMAcc/x"] {
        assert_eq!(McimTarget::parse(uri), None, "{uri}");
    }
}

fn find<'a>(n: &'a DdfNode, path: &str) -> &'a DdfNode {
    path.split('/').filter(|s| !s.is_empty()).fold(n, |n, seg| {
        n.children.iter().find(|c| c.name == seg || (seg == "<x>" && c.is_placeholder())).unwrap()
    })
}

#[test]
fn ddf_structure() {
    let t = ddf();
    assert_eq!(t.ver_dtd, "1.2");
    let root = &t.nodes[0];
    assert_eq!((root.name.as_str(), root.path.as_deref()), (ROOT_NAME, Some(".")));
    assert_eq!(root.props().df_type, Some(DfType::DdfName(MO_ID.into())));
    assert_eq!(root.props().scope, Some(Scope::Permanent));
    let names: Vec<&str> = root.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["TRE", "Boot", "MCIMs", "Ext"]);
    // Data is write-only and typed; K/OPc have no node.
    let data = find(root, "MCIMs/<x>/Data");
    assert!(
        !data.props().access_type.get && data.props().access_type.add && data.props().access_type.replace
    );
    assert_eq!(data.props().df_type, Some(DfType::Mime(MCIM_MIME_TYPE.into())));
    assert_eq!(data.props().format, Format::Bin);
    let mcim = find(root, "MCIMs/<x>");
    assert_eq!(mcim.props().occurrence, Occurrence::ZeroOrMore);
    assert!(
        mcim.props().access_type.add && mcim.props().access_type.delete && !mcim.props().access_type.replace
    );
    for op in Operation::ALL {
        let n = find(root, &format!("MCIMs/<x>/Operations/{}", op.node_name()));
        assert_eq!((n.props().format, n.props().access_type), (Format::Null, AccessTypes::EXEC));
    }
    assert_eq!(find(root, "MCIMs/<x>/State").props().format, Format::Int);
    assert_eq!(find(root, "TRE/ValidationNonce").props().access_type, AccessTypes::GET_REPLACE);
    // Every leaf the paths module names is described.
    for p in [
        path::TRE_ID,
        path::PFC,
        path::PFC_REF,
        path::ALGS,
        path::VALIDATION_NONCE,
        path::VALIDATION_DATA,
        path::BOOT_PCID,
        path::BOOT_DPF_ADDR,
        path::BOOT_SHO_ADDR,
        path::BOOT_MCIM_PROV_CTX,
        path::BOOT_M2M_APP_PROV_CTX,
    ] {
        let rel = p.strip_prefix("./M2MSIMMobj/").unwrap();
        assert_ne!(find(root, rel).props().format, Format::Node, "{p}");
    }
    // No node name repeats among siblings.
    fn unique(n: &DdfNode) {
        let mut names: Vec<&str> = n.children.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        let len = names.len();
        names.dedup();
        assert_eq!(names.len(), len, "{}", n.name);
        n.children.iter().for_each(unique);
    }
    unique(root);
}

fn node_names(e: &Element, out: &mut Vec<String>) {
    if e.name == "NodeName" {
        out.push(e.text().map(|t| t.into_owned()).unwrap_or_default());
    }
    for c in e.elements() {
        node_names(c, out);
    }
}

fn ddf_names(n: &DdfNode, out: &mut Vec<String>) {
    out.push(n.name.clone());
    n.children.iter().for_each(|c| ddf_names(c, out));
}

#[test]
fn xml_reads_back_as_the_same_tree() {
    let text = ddf_xml();
    assert!(
        text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE MgmtTree PUBLIC"),
        "{text}"
    );
    assert!(text.contains("\n  <VerDTD>1.2</VerDTD>"), "{text}");
    let doc = xml::Document::parse(&text, xml::Mode::Strict).unwrap();
    let back = st::Document::from_xml(&doc).unwrap();
    assert_eq!(back, ddf_document());
    assert_eq!(MgmtTree::from_xml_str(&text).unwrap(), ddf());
    let mut got = Vec::new();
    node_names(&back.root, &mut got);
    let mut want = Vec::new();
    ddf_names(&ddf().nodes[0], &mut want);
    assert_eq!(got, want);
}

#[test]
fn wbxml_reads_back_as_the_same_tree() {
    let b = ddf_wbxml().unwrap();
    // WBXML 1.2, no numeric public id (DDF has none), UTF-8.
    assert_eq!(&b[..4], &[0x02, 0x00, 0x00, 0x6A]);
    let doc = wbxml::Document::decode_exact(&b).unwrap();
    assert_eq!(st::Document::from_wbxml(&doc).unwrap(), ddf_document());
    assert_eq!(MgmtTree::decode(&b, xml::Mode::Strict).unwrap(), ddf());
}

/// `codec/mo/M2MSIMMobj.ddf` is this module's output; regenerate it with `M2MSIM_BLESS=1`.
#[test]
fn shipped_ddf_file_is_current() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("mo/M2MSIMMobj.ddf");
    let want = ddf_xml();
    if std::env::var("M2MSIM_BLESS").as_deref() == Ok("1") {
        std::fs::write(&file, &want).unwrap();
    }
    let have = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        have == want,
        "{} differs from m2msimmobj::ddf_xml(): review the change and regenerate it with \
         M2MSIM_BLESS=1 cargo test -p m2msim-codec shipped_ddf_file_is_current",
        file.display()
    );
}

/// libwbxml reads our DDF in both encodings.
#[test]
fn libwbxml_reads_the_ddf() {
    let (Some(x2w), Some(w2x)) = (peer_tool("xml2wbxml"), peer_tool("wbxml2xml")) else { return };
    let dir = std::env::temp_dir().join(format!("m2msim-ddf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let xml_in = dir.join("m.ddf");
    let wbxml_out = dir.join("m.wbxml");
    let ours = dir.join("ours.wbxml");
    let xml_back = dir.join("ours.xml");
    std::fs::write(&xml_in, ddf_xml()).unwrap();
    std::fs::write(&ours, ddf_wbxml().unwrap()).unwrap();
    let st = std::process::Command::new(x2w).arg("-o").arg(&wbxml_out).arg(&xml_in).status().unwrap();
    assert!(st.success(), "xml2wbxml failed on our DDF XML");
    let st = std::process::Command::new(w2x)
        .arg("-m")
        .arg("0")
        .arg("-o")
        .arg(&xml_back)
        .arg(&ours)
        .status()
        .unwrap();
    assert!(st.success(), "wbxml2xml failed on our DDF WBXML");
    let text = std::fs::read_to_string(&xml_back).unwrap();
    // libwbxml's XML of our WBXML, and our reading of libwbxml's WBXML of our XML, are the same DDF.
    assert_eq!(MgmtTree::decode(text.as_bytes(), xml::Mode::Strict).unwrap(), ddf());
    let theirs = std::fs::read(&wbxml_out).unwrap();
    assert_eq!(MgmtTree::decode(&theirs, xml::Mode::Strict).unwrap(), ddf());
    std::fs::remove_dir_all(&dir).unwrap();
}

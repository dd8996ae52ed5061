use proptest::prelude::*;

use super::*;
use crate::syncml::tree::{EmptyData, Flavor, Namespace, Profile, PublicIdForm, XmlStyle};

fn hex(s: &str) -> Vec<u8> {
    crate::hexser::parse_hex(s).unwrap()
}

/// DM 1.2.1 Protocol §2.4.4 (the spec's MD5 example, `omadm121spec_pro_auth_05`), shortened.
const AUTH_MD5: &str = "<SyncML xmlns='SYNCML:SYNCML1.2'>
  <SyncHdr>
    <VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>2</MsgID>
    <Target><LocURI>http://www.syncml.org/mgmt-server</LocURI></Target>
    <Source><LocURI>IMEI:493005100592800</LocURI><LocName>Bruce2</LocName></Source>
    <Cred>
      <Meta><Type xmlns='syncml:metinf'>syncml:auth-md5</Type><Format xmlns='syncml:metinf'>b64</Format></Meta>
      <Data>Zz6EivR3yeaaENcRN6lpAQ==</Data>
    </Cred>
    <Meta><MaxMsgSize xmlns='syncml:metinf'>5000</MaxMsgSize></Meta>
  </SyncHdr>
  <SyncBody>
    <Status>
      <CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd>
      <TargetRef>IMEI:493005100592800</TargetRef><SourceRef>http://www.syncml.org/mgmt-server</SourceRef>
      <Chal><Meta><Type xmlns='syncml:metinf'>syncml:auth-md5</Type><Format xmlns='syncml:metinf'>b64</Format>
        <NextNonce xmlns='syncml:metinf'>Tm9uY2U=</NextNonce></Meta></Chal>
      <Data>401</Data>
    </Status>
    <Final/>
  </SyncBody>
</SyncML>";

#[test]
fn spec_auth_example_reads_typed() {
    let m = SyncMl::from_xml_str(AUTH_MD5).unwrap();
    assert_eq!(m.dm_version(), Some(DmVersion::V1_2));
    assert_eq!(m.hdr.msg_id, 2);
    assert_eq!(m.hdr.source.loc_name.as_deref(), Some("Bruce2"));
    assert_eq!(m.hdr.max_msg_size(), Some(5000));
    let cred = m.hdr.cred.as_ref().unwrap();
    assert_eq!(cred.auth_type(), crate::dm::auth::AuthType::Md5);
    // The spec's MD5 vector: Bruce2 / OhBehave / nonce "Nonce".
    assert_eq!(
        cred.data,
        Data::Bytes(crate::dm::auth::md5_digest(b"Bruce2", b"OhBehave", b"Nonce").to_vec())
    );
    assert_eq!(*cred, Cred::md5(b"Bruce2", b"OhBehave", b"Nonce"));
    let st = m.header_status().unwrap();
    assert_eq!((st.cmd_ref, st.code), (0, StatusCode::INVALID_CREDENTIALS));
    let chal = st.chal.as_ref().unwrap();
    assert_eq!(chal.meta.next_nonce, Some(NextNonce::Bytes(b"Nonce".to_vec())));
    assert_eq!(chal.auth_type(), crate::dm::auth::AuthType::Md5);
    assert!(m.body.final_);
    // Written canonically (MetInf order Format, Type, …) and read back equal.
    let x = m.to_xml(&Profile::rtk()).unwrap();
    assert!(
        x.contains("<Meta><Format xmlns='syncml:metinf'>b64</Format><Type xmlns='syncml:metinf'>"),
        "{x}"
    );
    assert!(x.contains("<Data>Zz6EivR3yeaaENcRN6lpAQ==</Data>"), "{x}");
    assert_eq!(SyncMl::from_xml_str(&x).unwrap(), m);
}

#[test]
fn package1_is_what_the_spec_example_sends() {
    let hdr =
        SyncHdr::new(DmVersion::V1_2, "1", 1, "http://www.syncml.org/mgmt-server", "IMEI:493005100592800")
            .with_max_msg_size(5000);
    let info = DevInfo {
        dev_id: "IMEI:493005100592800".into(),
        man: "Device Factory, Inc.".into(),
        model: "SmartPhone2000".into(),
        dm_v: "1.0.0.1".into(),
        lang: "en-US".into(),
    };
    let m = SyncMl::package1(hdr, AlertCode::SERVER_INITIATED_MGMT, &info);
    let x = m.to_xml(&Profile::rtk()).unwrap();
    assert_eq!(
        x,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr><VerDTD>1.2</VerDTD>\
         <VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>\
         <Target><LocURI>http://www.syncml.org/mgmt-server</LocURI></Target>\
         <Source><LocURI>IMEI:493005100592800</LocURI></Source>\
         <Meta><MaxMsgSize xmlns='syncml:metinf'>5000</MaxMsgSize></Meta></SyncHdr><SyncBody>\
         <Alert><CmdID>1</CmdID><Data>1200</Data></Alert><Replace><CmdID>2</CmdID>\
         <Item><Source><LocURI>./DevInfo/DevId</LocURI></Source><Meta><Format xmlns='syncml:metinf'>chr</Format>\
         <Type xmlns='syncml:metinf'>text/plain</Type></Meta><Data>IMEI:493005100592800</Data></Item>\
         <Item><Source><LocURI>./DevInfo/Man</LocURI></Source><Meta><Format xmlns='syncml:metinf'>chr</Format>\
         <Type xmlns='syncml:metinf'>text/plain</Type></Meta><Data>Device Factory, Inc.</Data></Item>\
         <Item><Source><LocURI>./DevInfo/Mod</LocURI></Source><Meta><Format xmlns='syncml:metinf'>chr</Format>\
         <Type xmlns='syncml:metinf'>text/plain</Type></Meta><Data>SmartPhone2000</Data></Item>\
         <Item><Source><LocURI>./DevInfo/DmV</LocURI></Source><Meta><Format xmlns='syncml:metinf'>chr</Format>\
         <Type xmlns='syncml:metinf'>text/plain</Type></Meta><Data>1.0.0.1</Data></Item>\
         <Item><Source><LocURI>./DevInfo/Lang</LocURI></Source><Meta><Format xmlns='syncml:metinf'>chr</Format>\
         <Type xmlns='syncml:metinf'>text/plain</Type></Meta><Data>en-US</Data></Item></Replace><Final/>\
         </SyncBody></SyncML>"
    );
    // WBXML: omadm.md §2.1 header of a numeric-id SyncML 1.2 document, §2.5 lazy page switch.
    let w = m.to_wbxml(&Profile::libwbxml()).unwrap();
    assert_eq!(w[..7], hex("02a4016a006d6c"));
    assert_eq!(SyncMl::from_wbxml(&w).unwrap(), m);
}

#[test]
fn status_and_results_builders() {
    let req = SyncMl::from_xml_str(AUTH_MD5).unwrap();
    let s =
        Status::for_header(1, &req.hdr, StatusCode::AUTHENTICATION_ACCEPTED).with_chal(Chal::md5(*b"next"));
    assert_eq!(s.msg_ref, 2);
    assert_eq!(s.target_refs, ["http://www.syncml.org/mgmt-server"]);
    assert_eq!(s.source_refs, ["IMEI:493005100592800"]);
    let get =
        Command::Get(ItemCommand::new(7).with_item(Item::default().with_target("./DevDetail/URI/MaxDepth")));
    let st = Status::for_command(2, 1, &get, StatusCode::OK);
    assert_eq!(
        (st.cmd_ref, st.cmd.as_str(), st.target_refs.as_slice()),
        (7, "Get", &["./DevDetail/URI/MaxDepth".to_owned()][..])
    );
    let r = Results::new(
        3,
        Some(1),
        7,
        vec![Item::result("./DevDetail/URI/MaxDepth", Format::Int, Some("text/plain"), "20".into())],
    );
    let msg = SyncMl::new(req.hdr.reply(2)).with(s).with(st).with(r);
    // The AOSP client's answer to this Get has Meta Format int, Type text/plain, Size 2 (omadm README).
    let x = msg.to_xml(&Profile::rtk()).unwrap();
    assert!(x.contains(
        "<Results><CmdID>3</CmdID><MsgRef>1</MsgRef><CmdRef>7</CmdRef><Item><Source><LocURI>./DevDetail/URI/MaxDepth\
         </LocURI></Source><Meta><Format xmlns='syncml:metinf'>int</Format><Type xmlns='syncml:metinf'>text/plain\
         </Type><Size xmlns='syncml:metinf'>2</Size></Meta><Data>20</Data></Item></Results>"
    ), "{x}");
    assert!(x.contains("<NextNonce xmlns='syncml:metinf'>bmV4dA==</NextNonce>"), "{x}");
    assert_eq!(msg.hdr.target.loc_uri, "IMEI:493005100592800");
    for p in [Profile::rtk(), Profile::libwbxml()] {
        assert_eq!(SyncMl::from_wbxml(&msg.to_wbxml(&p).unwrap()).unwrap(), msg);
    }
    // Size of bytes is the base64 length under b64.
    let it = Item::result("./x", Format::B64, None, Data::Bytes(vec![1, 2, 3, 4]));
    assert_eq!(it.meta.unwrap().size, Some(8));
}

#[test]
fn generic_alert_and_session_alerts() {
    let a = Alert::generic(
        4,
        Some("abc123".into()),
        vec![Item::generic_alert(
            Some("./FwUpdate/x/DownloadAndUpdate"),
            "org.openmobilealliance.dm.firmwareupdate.downloadandupdate",
            Format::Int,
            Some("critical"),
            "200",
        )],
    );
    let x = SyncMl::new(SyncHdr::new(DmVersion::V1_2, "1", 1, "s", "c"))
        .with(a.clone())
        .to_xml(&Profile::rtk())
        .unwrap();
    assert!(
        x.contains(
            "<Alert><CmdID>4</CmdID><Data>1226</Data><Correlator>abc123</Correlator><Item><Source><LocURI>\
         ./FwUpdate/x/DownloadAndUpdate</LocURI></Source><Meta><Format xmlns='syncml:metinf'>int</Format>\
         <Type xmlns='syncml:metinf'>org.openmobilealliance.dm.firmwareupdate.downloadandupdate</Type>\
         <Mark xmlns='syncml:metinf'>critical</Mark></Meta><Data>200</Data></Item></Alert>"
        ),
        "{x}"
    );
    assert_eq!(Alert::next_message(2).code, AlertCode(1222));
    assert_eq!(Alert::session_abort(2).code, AlertCode(1223));
    // Correlator has no token in SyncML 1.1.
    let old = SyncMl::new(SyncHdr::new(DmVersion::V1_1, "1", 1, "s", "c")).with(a);
    assert_eq!(old.language(), Language::SyncMl11);
    assert!(matches!(old.to_wbxml(&Profile::rtk()), Err(ModelError::Convert(ConvertError::NoToken { .. }))));
    assert!(old.to_xml(&Profile::rtk()).unwrap().contains("xmlns='SYNCML:SYNCML1.1'"));
}

fn body(cmds: &str) -> String {
    format!(
        "<SyncML><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>\
         <Target><LocURI>t</LocURI></Target><Source><LocURI>s</LocURI></Source></SyncHdr><SyncBody>{cmds}</SyncBody>\
         </SyncML>"
    )
}

fn invalid(xml: &str) -> (String, &'static str) {
    match SyncMl::from_xml_str(xml) {
        Err(ModelError::Invalid { path, reason }) => (path, reason),
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_content_names_the_element() {
    let st = "<Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>200</Data></Status>";
    let no_ref = "<Status><CmdID>2</CmdID><MsgRef>1</MsgRef><Cmd>SyncHdr</Cmd><Data>200</Data></Status>";
    let (p, r) = invalid(&body(&format!("{st}{no_ref}")));
    assert_eq!((p.as_str(), r), ("SyncML/SyncBody/Status[2]/CmdRef", "missing (required here)"));
    // Lenient: the zero value, 0 = the header, which is what a SyncHdr status means.
    let m = SyncMl::decode(body(no_ref).as_bytes(), Mode::Lenient).unwrap().message;
    assert_eq!(m.statuses().next().unwrap().cmd_ref, 0);

    let (p, r) = invalid(&body("<Alert><CmdID>1</CmdID><Item><Data>x</Data></Item></Alert>"));
    assert_eq!((p.as_str(), r), ("SyncML/SyncBody/Alert/Data", "missing (required here)"));
    let (p, r) = invalid(&body(&st.replace("<Data>200</Data>", "<Data>OK</Data>")));
    assert_eq!((p.as_str(), r), ("SyncML/SyncBody/Status/Data", "not a status code (a number)"));
    let (p, r) = invalid(&body("<Alert><CmdID>1</CmdID><Data>12x1</Data></Alert>"));
    assert_eq!((p.as_str(), r), ("SyncML/SyncBody/Alert/Data", "not an alert code (a number)"));
    let (p, r) = invalid(&body("<Alert><CmdID>1</CmdID><Data>99999</Data></Alert>"));
    assert_eq!((p.as_str(), r), ("SyncML/SyncBody/Alert/Data", "not an alert code (a number)"));
    let (p, r) = invalid(&body(
        "<Replace><CmdID>3</CmdID><Item><Target><LocURI>./a</LocURI></Target></Item><Item><Meta>\
         <Size xmlns='syncml:metinf'>12 bytes</Size></Meta><Data>x</Data></Item></Replace>",
    ));
    assert_eq!(
        (p.as_str(), r),
        ("SyncML/SyncBody/Replace/Item[2]/Meta/Size", "not a number (decimal digits expected)")
    );
    let (p, r) = invalid(&body("<Get><CmdID>one</CmdID><Item/></Get>"));
    assert_eq!((p.as_str(), r), ("SyncML/SyncBody/Get/CmdID", "not a number (decimal digits expected)"));
    let (p, r) = invalid(&body("<Get><CmdID>1</CmdID></Get>"));
    assert_eq!((p.as_str(), r), ("SyncML/SyncBody/Get/Item", "missing (required here)"));
    let (p, r) = invalid(&body("<Exec><CmdID>1</CmdID><Item/><Item/></Exec>"));
    assert_eq!((p.as_str(), r), ("SyncML/SyncBody/Exec/Item[2]", "repeated (may occur once)"));
    let (p, r) = invalid(&body("<Final>x</Final>"));
    assert_eq!((p.as_str(), r), ("SyncML/SyncBody/Final", "must be empty"));
    let (p, r) = invalid(&body("...blah..."));
    assert_eq!((p.as_str(), r), ("SyncML/SyncBody", "has text or data where only elements may be"));
    let (p, r) = invalid(&body(st).replace("<MsgID>1</MsgID>", ""));
    assert_eq!((p.as_str(), r), ("SyncML/SyncHdr/MsgID", "missing (required here)"));
    let (p, r) = invalid("<SyncML><SyncBody/></SyncML>");
    assert_eq!((p.as_str(), r), ("SyncML/SyncHdr", "missing (required here)"));
    // Lenient: stray text ignored, a repeated element kept in extra.
    let m = SyncMl::decode(body("...<Exec><CmdID>1</CmdID><Item/><Item/></Exec>").as_bytes(), Mode::Lenient)
        .unwrap()
        .message;
    let Command::Exec(x) = &m.body.commands[0] else { panic!() };
    assert_eq!(x.extra.len(), 1);
    // Lenient: NUL in leaf text (an RTK terminator) is kept, NUL between elements is refused.
    let nul_leaf = body("<Exec><CmdID>1</CmdID><Item><Data>x\0</Data></Item></Exec>");
    let m = SyncMl::decode(nul_leaf.as_bytes(), Mode::Lenient).unwrap().message;
    let Command::Exec(x) = &m.body.commands[0] else { panic!() };
    assert_eq!(x.item.data, Some(Data::Text("x\0".into())));
    let nul_between = body("\0<Exec><CmdID>1</CmdID><Item/></Exec>");
    let e = SyncMl::decode(nul_between.as_bytes(), Mode::Lenient).unwrap_err().to_string();
    assert!(
        e.contains("SyncML/SyncBody") && e.contains("outside XML `Char` where only elements may be"),
        "{e}"
    );
    // Other document types.
    let e = SyncMl::from_xml_str("<MgmtTree xmlns='syncml:dmddf1.2'><VerDTD>1.2</VerDTD></MgmtTree>");
    assert!(matches!(e, Err(ModelError::WrongDocument { found: Language::DmDdf12, .. })), "{e:?}");
    assert_eq!(e.unwrap_err().to_string(), "expected a SyncML document, found DmDdf12");
    // The error text is one line with the path.
    let e = SyncMl::from_xml_str(&body(no_ref)).unwrap_err().to_string();
    assert_eq!(e, "SyncML/SyncBody/Status/CmdRef: missing (required here)");
    // Malformed XML keeps its byte offset.
    let e = SyncMl::from_xml_str("<SyncML><SyncHdr></SyncML>").unwrap_err();
    assert!(matches!(&e, ModelError::Convert(ConvertError::Decode(d)) if d.offset > 0), "{e:?}");
}

#[test]
fn data_follows_its_format() {
    let x = body(
        "<Replace><CmdID>1</CmdID><Meta><Format xmlns='syncml:metinf'>b64</Format></Meta>\
         <Item><Target><LocURI>./a</LocURI></Target><Data>AAEC\n/w==</Data></Item>\
         <Item><Target><LocURI>./b</LocURI></Target><Meta><Format xmlns='syncml:metinf'>chr</Format></Meta>\
         <Data>AAEC</Data></Item>\
         <Item><Target><LocURI>./c</LocURI></Target><Data>not base64!</Data></Item>\
         <Item><Target><LocURI>./d</LocURI></Target><Meta><Format xmlns='syncml:metinf'>node</Format></Meta>\
         <Data>  two\nlines  </Data></Item></Replace>",
    );
    let m = SyncMl::from_xml_str(&x).unwrap();
    let Command::Replace(r) = &m.body.commands[0] else { panic!() };
    assert_eq!(r.items[0].data, Some(Data::Bytes(vec![0, 1, 2, 0xFF])), "inherited b64, line break inside");
    assert_eq!(r.items[1].data, Some(Data::text("AAEC")), "the item's own Format wins");
    assert_eq!(r.items[2].data, Some(Data::text("not base64!")));
    assert_eq!(r.items[3].data, Some(Data::text("  two\nlines  ")), "Data keeps its text exactly");
    assert_eq!(m.body.commands[0].format_of(&r.items[0]), Some("b64"));

    // bin: raw OPAQUE in WBXML (RTK), base64 in XML; both read back as the same bytes.
    let bin = SyncMl::new(SyncHdr::new(DmVersion::V1_2, "1", 1, "t", "s")).with(Command::Add(
        ItemCommand::new(1).with_item(
            Item::default()
                .with_target("./bin")
                .with_meta(Meta::new().with_format(Format::Bin))
                .with_data(vec![0u8, 0x0A, 0xFF]),
        ),
    ));
    let w = bin.to_wbxml(&Profile::rtk()).unwrap();
    assert!(w.windows(5).any(|x| x == hex("c303000aff")), "{}", ::hex::encode(&w));
    assert_eq!(SyncMl::from_wbxml(&w).unwrap(), bin);
    let x = bin.to_xml(&Profile::rtk()).unwrap();
    assert!(x.contains("<Data>AAr/</Data>"), "{x}");
    assert_eq!(SyncMl::from_xml_str(&x).unwrap(), bin);
    // libwbxml has no binary Data.
    assert!(matches!(bin.to_wbxml(&Profile::libwbxml()), Err(ModelError::Unsupported(_))));
    assert!(bin.to_xml(&Profile::libwbxml()).is_ok());
}

#[test]
fn nested_tnds_and_unknown_elements_survive() {
    let x = body(
        "<Add><CmdID>4</CmdID><Item><Target><LocURI>/OperatorX</LocURI></Target><Meta>\
         <Format xmlns='syncml:metinf'>xml</Format></Meta><Data><MgmtTree xmlns='syncml:dmddf1.2'><VerDTD>1.2</VerDTD><Node><NodeName>E-Mail</NodeName>\
         </Node></MgmtTree></Data><Field/></Item></Add>\
         <Sync><CmdID>5</CmdID><Target><LocURI>./dev</LocURI></Target></Sync>\
         <Status><CmdID>6</CmdID><MsgRef>1</MsgRef><CmdRef>3</CmdRef><Cmd>Sync</Cmd><Data>200</Data><NoResults/></Status>",
    );
    let m = SyncMl::from_xml_str(&x).unwrap();
    let Command::Add(a) = &m.body.commands[0] else { panic!() };
    let doc = a.items[0].data.as_ref().and_then(Data::as_document).unwrap();
    assert_eq!(doc.language, Language::DmDdf12);
    let tnds = crate::dm::ddf::MgmtTree::from_tree(doc, Mode::Strict).unwrap();
    assert_eq!(tnds.nodes[0].name, "E-Mail");
    assert_eq!(a.items[0].extra[0].name, "Field");
    assert!(matches!(&m.body.commands[1], Command::Other(e) if e.name == "Sync"));
    let Command::Status(s) = &m.body.commands[2] else { panic!() };
    assert_eq!(s.extra[0].name, "NoResults");
    let p = Profile::rtk();
    assert_eq!(SyncMl::from_wbxml(&m.to_wbxml(&p).unwrap()).unwrap(), m);
    let xx = m.to_xml(&p).unwrap();
    assert_eq!(SyncMl::from_xml_str(&xx).unwrap(), m, "{xx}");
    assert_eq!(m.all_commands().count(), 3);
    // libwbxml nests the document only under the TNDS Type, which it rewrites to `+wbxml` in WBXML
    // (omadm.md §1): the data survives, the Type does not.
    let mut typed = m.clone();
    if let Command::Add(a) = &mut typed.body.commands[0] {
        a.items[0].meta = Some(Meta::new().with_format(Format::Xml).with_type(Encoding::Xml.tnds_type()));
    }
    let back = SyncMl::from_wbxml(&typed.to_wbxml(&Profile::libwbxml()).unwrap()).unwrap();
    let Command::Add(b) = &back.body.commands[0] else { panic!() };
    assert_eq!(b.items[0].data, typed.body.commands[0].items()[0].data);
    assert_eq!(b.items[0].meta.as_ref().unwrap().type_.as_deref(), Some(Encoding::Wbxml.tnds_type()));
}

#[test]
fn next_nonce_forms() {
    let meta = |nn: &str| {
        let m = SyncMl::from_xml_str(&body(&format!(
            "<Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Chal><Meta>\
             <NextNonce xmlns='syncml:metinf'>{nn}</NextNonce></Meta></Chal><Data>407</Data></Status>"
        )))
        .unwrap();
        m.header_status().unwrap().chal.clone().unwrap().meta.next_nonce.unwrap()
    };
    assert_eq!(meta("AAAAAA=="), NextNonce::Bytes(vec![0; 4]));
    assert_eq!(meta("0x00000000"), NextNonce::Text("0x00000000".into()));
    assert_eq!(meta("0x00000000").bytes(), b"0x00000000");
    // WBXML: a raw OPAQUE nonce (libwbxml shows it in base64).
    let m = SyncMl::new(SyncHdr::new(DmVersion::V1_2, "1", 1, "t", "s")).with(
        Status::for_header(1, &SyncHdr::default(), StatusCode::MISSING_CREDENTIALS)
            .with_chal(Chal::md5([1u8, 2])),
    );
    let mut tree = m.to_tree(Encoding::Wbxml).unwrap();
    fn replace_nonce(e: &mut tree::Element) {
        if e.name == "NextNonce" {
            e.children = vec![Node::Opaque(vec![9, 8, 7])];
        }
        for c in &mut e.children {
            if let Node::Element(x) = c {
                replace_nonce(x);
            }
        }
    }
    replace_nonce(&mut tree.root);
    let back = SyncMl::from_tree(&tree, Mode::Strict).unwrap();
    assert_eq!(
        back.header_status().unwrap().chal.as_ref().unwrap().meta.next_nonce,
        Some(NextNonce::Bytes(vec![9, 8, 7]))
    );
}

#[test]
fn wire_dialects() {
    let m = SyncMl::from_xml_str(AUTH_MD5).unwrap();
    // RTK: FPI in the string table without NUL, STR_I for everything.
    let rtk = m.to_wbxml(&Profile::rtk()).unwrap();
    let d = SyncMl::decode(&rtk, Mode::Strict).unwrap();
    assert_eq!(d.wire, Wire::wbxml(Profile::rtk()));
    assert_eq!(d.message, m);
    assert_eq!(d.message.encode(&d.wire).unwrap(), rtk);
    // libwbxml with a string table and WBXML 1.3.
    let p = Profile {
        string_table: true,
        wbxml_version: 3,
        public_id: PublicIdForm::StringTable,
        ..Profile::libwbxml()
    };
    let d = SyncMl::decode(&m.to_wbxml(&p).unwrap(), Mode::Strict).unwrap();
    assert_eq!(d.wire.profile.flavor, Flavor::Libwbxml);
    assert_eq!((d.wire.profile.wbxml_version, d.wire.profile.string_table), (3, true));
    // A numeric public id with text data in STR_I: the newer RTK.
    let p = Profile { public_id: PublicIdForm::Numeric, ..Profile::rtk() };
    assert_eq!(SyncMl::decode(&m.to_wbxml(&p).unwrap(), Mode::Strict).unwrap().wire, Wire::wbxml(p));
    // libwbxml's OPAQUE Data under Replace.
    let pkg1 = SyncMl::package1(m.hdr.reply(1), AlertCode::CLIENT_INITIATED_MGMT, &DevInfo::default());
    let mut with_data = pkg1.clone();
    if let Command::Replace(r) = &mut with_data.body.commands[1] {
        r.items[0].data = Some(Data::text("x"));
    }
    let d = SyncMl::decode(&with_data.to_wbxml(&Profile::libwbxml()).unwrap(), Mode::Strict).unwrap();
    assert_eq!(d.wire, Wire::wbxml(Profile::libwbxml()));
    // RTK empty Data 4F 03 00 01 is seen as such.
    let d = SyncMl::decode(&pkg1.to_wbxml(&Profile::rtk()).unwrap(), Mode::Strict).unwrap();
    assert_eq!(d.wire.profile.empty_data, EmptyData::EmptyString);
    // XML.
    let d = SyncMl::decode(m.to_xml(&Profile::libwbxml()).unwrap().as_bytes(), Mode::Strict).unwrap();
    assert_eq!(d.wire, Wire::xml(Profile::libwbxml()));
    let d = SyncMl::decode(AUTH_MD5.as_bytes(), Mode::Strict).unwrap();
    assert_eq!(d.wire, Wire::xml(Profile::rtk()));
    assert_eq!(
        Encoding::from_content_type("application/vnd.syncml.dm+WBXML; charset=x"),
        Some(Encoding::Wbxml)
    );
    assert_eq!(Encoding::from_content_type("text/xml"), None);
    assert_eq!(Encoding::Xml.content_type(), "application/vnd.syncml.dm+xml");
}

#[test]
fn command_lengths_add_up() {
    let m = SyncMl::from_xml_str(AUTH_MD5).unwrap();
    let cmds: Vec<Command> = vec![
        Status::for_header(1, &m.hdr, StatusCode::OK).with_chal(Chal::md5(*b"n")).into(),
        Command::Replace(
            ItemCommand::new(2).with_item(
                Item::default()
                    .with_target("./a")
                    .with_meta(Meta::new().with_format(Format::Chr))
                    .with_data("v & w\r\n"),
            ),
        ),
        Alert::new(3, AlertCode::DISPLAY).with_item(Item::default().with_data("hello")).into(),
        // Ends in MetInf: the switch back to page 0 before the next tag belongs to it.
        Command::Get(
            ItemCommand::new(4)
                .with_item(Item::default().with_target("./x").with_meta(Meta::new().with_type("text/plain"))),
        ),
        Command::Delete(ItemCommand::new(5).with_item(Item::default().with_target("./y"))),
    ];
    let empty = SyncMl::new(m.hdr.clone());
    for wire in [
        Wire::wbxml(Profile::rtk()),
        Wire::wbxml(Profile { public_id: PublicIdForm::Numeric, ..Profile::rtk() }),
        Wire::wbxml(Profile::libwbxml()),
        Wire::xml(Profile::rtk()),
        Wire::xml(Profile { xml_style: XmlStyle::Indent(2), ..Profile::rtk() }),
        Wire::xml(Profile::libwbxml()),
    ] {
        let mut total = empty.encoded_len(&wire).unwrap();
        let mut full = empty.clone();
        for c in &cmds {
            total += empty.command_len(c, &wire).unwrap();
            full.body.commands.push(c.clone());
            assert_eq!(full.encoded_len(&wire).unwrap(), total, "{wire:?} after {}", c.name());
        }
    }
}

#[test]
fn json_round_trip_is_stable() {
    let m = SyncMl::from_xml_str(AUTH_MD5).unwrap();
    let j = serde_json::to_string(&m).unwrap();
    let back: SyncMl = serde_json::from_str(&j).unwrap();
    assert_eq!(back, m);
    assert_eq!(serde_json::to_string(&back).unwrap(), j);
    assert!(j.contains("\"type\":\"syncml:auth-md5\""), "{j}");
    assert!(j.contains("\"code\":401"), "{j}");
    let d = SyncMl::decode(&m.to_wbxml(&Profile::rtk()).unwrap(), Mode::Strict).unwrap();
    let j = serde_json::to_string(&d).unwrap();
    assert_eq!(serde_json::from_str::<Decoded>(&j).unwrap(), d);
}

// ---- property tests ----------------------------------------------------------------------------

/// Which reference encoder the values must survive: libwbxml strips leading and trailing blanks, turns LF
/// into CRLF in the `Data` of `Add`/`Replace`, cuts text at NUL and has no binary `Data`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum For {
    Any,
    Libwbxml,
}

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9./:_&<>'\"-]{0,10}"
}

fn data_text(f: For) -> BoxedStrategy<String> {
    match f {
        For::Any => "[ a-zA-Z0-9\t\n\r&<>'\"=\u{e9}\u{20ac}-]{0,16}".boxed(),
        For::Libwbxml => "[a-zA-Z0-9&<>'\"=\u{e9}\u{20ac}-]([ a-zA-Z0-9&<>=-]{0,12}[a-zA-Z0-9])?".boxed(),
    }
}

fn location() -> impl Strategy<Value = Location> {
    (token(), proptest::option::of(token())).prop_map(|(u, n)| Location {
        loc_uri: u,
        loc_name: n,
        extra: Vec::new(),
    })
}

fn format() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(
        proptest::sample::select(vec!["chr", "int", "b64", "bin", "node", "xml", "bool"])
            .prop_map(str::to_owned),
    )
}

fn meta() -> impl Strategy<Value = Meta> {
    (
        (
            format(),
            proptest::option::of("[a-z/.+-]{1,12}"),
            proptest::option::of(token()),
            proptest::option::of(any::<u64>()),
        ),
        (
            proptest::option::of(prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..8).prop_map(NextNonce::Bytes),
                "[a-z]{0,6}".prop_map(|s| NextNonce::Text(format!("{s}!"))),
            ]),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
            proptest::collection::vec(token(), 0..2),
            any::<bool>(),
        ),
        (
            proptest::option::of((proptest::option::of(token()), token())),
            proptest::option::of((any::<bool>(), any::<u64>(), any::<u64>())),
            proptest::option::of(token()),
        ),
    )
        .prop_map(|((format, type_, mark, size), (nn, mms, mos, emi, fl), (anchor, mem, version))| {
            Meta {
                format,
                type_,
                mark,
                size,
                anchor: anchor.map(|(last, next)| Anchor { last, next, extra: Vec::new() }),
                version,
                next_nonce: nn,
                max_msg_size: mms,
                max_obj_size: mos,
                emi,
                mem: mem.map(|(shared_mem, free_mem, free_id)| Mem {
                    shared_mem,
                    free_mem,
                    free_id,
                    extra: Vec::new(),
                }),
                field_level: fl,
                extra: Vec::new(),
            }
        })
}

fn small_ddf() -> Data {
    Data::Document(Box::new(tree::Document {
        language: Language::DmDdf12,
        root: tree::Element::new(Namespace::DmDdf, "MgmtTree")
            .with(tree::Element::new(Namespace::DmDdf, "VerDTD").with_text("1.2")),
    }))
}

/// libwbxml writes a nested document as a document only under a `Type` it then rewrites (`…+xml` →
/// `…+wbxml`), so its values have none.
fn data(f: For) -> impl Strategy<Value = Option<Data>> {
    proptest::option::of(prop_oneof![
        4 => data_text(f).prop_map(Data::Text),
        2 => proptest::collection::vec(any::<u8>(), 0..12).prop_map(Data::Bytes),
        if f == For::Any { 1 } else { 0 } => Just(small_ddf()),
        1 => "[a-z]{1,6}".prop_map(|t| Data::Nodes(vec![Node::Element(
            tree::Element::new(Namespace::MetInf, "Anchor").with(tree::Element::new(Namespace::MetInf, "Next").with_text(t)),
        )])),
    ])
}

fn item(f: For) -> impl Strategy<Value = Item> {
    (
        proptest::option::of(location()),
        proptest::option::of(location()),
        proptest::option::of(location()),
        proptest::option::of(location()),
        proptest::option::of(meta()),
        data(f),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(target, source, sp, tp, meta, data, more_data, extra)| Item {
            target,
            source,
            source_parent: sp,
            target_parent: tp,
            meta,
            data,
            more_data,
            extra: if extra { vec![tree::Element::new(Namespace::SyncMl, "Field")] } else { Vec::new() },
        })
}

/// Makes `Data` agree with the `Format` that applies to it (bytes exactly under b64/bin), as decoding does.
fn fix(it: &mut Item, inherited: Option<&Meta>, f: For) {
    if f == For::Libwbxml
        && it.data.is_some()
        && binary_format(effective_format(it.meta.as_ref(), inherited)) == Some(true)
    {
        it.meta.get_or_insert_with(Meta::default).format = Some("b64".into());
    }
    let binary = binary_format(effective_format(it.meta.as_ref(), inherited));
    if let Some(d) = &mut it.data {
        match (binary, &*d) {
            (Some(_), Data::Text(t)) => *d = Data::Bytes(t.clone().into_bytes()),
            (None, Data::Bytes(b)) => *d = Data::Text(::hex::encode(b)),
            _ => {}
        }
    }
}

fn fix_items(items: &mut [Item], inherited: Option<&Meta>, f: For) {
    for it in items {
        fix(it, inherited, f);
    }
}

fn cred(f: For) -> impl Strategy<Value = Cred> {
    (proptest::option::of(meta()), data(f)).prop_map(move |(meta, d)| {
        let mut it = Item { meta, data: Some(d.unwrap_or_default()), ..Item::default() };
        fix(&mut it, None, f);
        Cred { meta: it.meta, data: it.data.unwrap_or_default(), extra: Vec::new() }
    })
}

fn leaf_command(f: For) -> impl Strategy<Value = Command> {
    let items = || proptest::collection::vec(item(f), 1..3);
    prop_oneof![
        (
            0usize..5,
            any::<u32>(),
            any::<[bool; 3]>(),
            proptest::option::of(token()),
            proptest::option::of(cred(f)),
            proptest::option::of(meta()),
            items()
        )
            .prop_map(
                move |(k, cmd_id, [no_resp, archive, sft_del], lang, cred, meta, mut items)| {
                    fix_items(&mut items, meta.as_ref(), f);
                    let c = ItemCommand {
                        cmd_id,
                        no_resp,
                        archive,
                        sft_del,
                        lang,
                        cred,
                        meta,
                        items,
                        extra: Vec::new(),
                    };
                    [Command::Add, Command::Copy, Command::Delete, Command::Get, Command::Replace][k](c)
                }
            ),
        (
            any::<u32>(),
            any::<bool>(),
            proptest::option::of(cred(f)),
            any::<u16>(),
            proptest::option::of(token()),
            proptest::collection::vec(item(f), 0..3)
        )
            .prop_map(move |(cmd_id, no_resp, cred, code, correlator, mut items)| {
                fix_items(&mut items, None, f);
                Command::Alert(Alert {
                    cmd_id,
                    no_resp,
                    cred,
                    code: AlertCode(code),
                    correlator,
                    items,
                    extra: Vec::new(),
                })
            }),
        (
            any::<u32>(),
            any::<bool>(),
            proptest::option::of(cred(f)),
            proptest::option::of(meta()),
            proptest::option::of(token()),
            item(f)
        )
            .prop_map(move |(cmd_id, no_resp, cred, meta, correlator, mut item)| {
                fix(&mut item, meta.as_ref(), f);
                Command::Exec(Exec { cmd_id, no_resp, cred, meta, correlator, item, extra: Vec::new() })
            }),
        (
            any::<u32>(),
            proptest::option::of(any::<u32>()),
            any::<u32>(),
            proptest::option::of(meta()),
            proptest::collection::vec(token(), 0..2),
            proptest::collection::vec(token(), 0..2),
            items()
        )
            .prop_map(
                move |(cmd_id, msg_ref, cmd_ref, meta, target_refs, source_refs, mut items)| {
                    fix_items(&mut items, meta.as_ref(), f);
                    Command::Results(Results {
                        cmd_id,
                        msg_ref,
                        cmd_ref,
                        meta,
                        target_refs,
                        source_refs,
                        items,
                        extra: Vec::new(),
                    })
                }
            ),
        (
            (
                any::<u32>(),
                any::<u32>(),
                any::<u32>(),
                token(),
                proptest::collection::vec(token(), 0..2),
                proptest::collection::vec(token(), 0..2)
            ),
            (
                proptest::option::of(cred(f)),
                proptest::option::of(meta()),
                any::<u16>(),
                proptest::collection::vec(item(f), 0..2)
            ),
        )
            .prop_map(
                move |(
                    (cmd_id, msg_ref, cmd_ref, cmd, target_refs, source_refs),
                    (cred, chal, code, mut items),
                )| {
                    fix_items(&mut items, None, f);
                    Command::Status(Status {
                        cmd_id,
                        msg_ref,
                        cmd_ref,
                        cmd,
                        target_refs,
                        source_refs,
                        cred,
                        chal: chal.map(|meta| Chal { meta, extra: Vec::new() }),
                        code: StatusCode(code),
                        items,
                        extra: Vec::new(),
                    })
                }
            ),
        "[a-z0-9]{1,6}".prop_map(|t| Command::Other(
            tree::Element::new(Namespace::SyncMl, "Map")
                .with(tree::Element::new(Namespace::SyncMl, "CmdID").with_text(t))
        )),
    ]
}

fn command(f: For) -> impl Strategy<Value = Command> {
    leaf_command(f).prop_recursive(2, 12, 3, move |inner| {
        (
            any::<bool>(),
            any::<u32>(),
            any::<bool>(),
            proptest::option::of(meta()),
            proptest::collection::vec(inner, 1..3),
        )
            .prop_map(|(atomic, cmd_id, no_resp, meta, commands)| {
                let g = CommandGroup { cmd_id, no_resp, meta, commands, extra: Vec::new() };
                if atomic { Command::Atomic(g) } else { Command::Sequence(g) }
            })
    })
}

fn message(f: For) -> impl Strategy<Value = SyncMl> {
    (
        (
            token(),
            token(),
            any::<u32>(),
            location(),
            location(),
            proptest::option::of(token()),
            any::<bool>(),
        ),
        (proptest::option::of(cred(f)), proptest::option::of(meta())),
        proptest::collection::vec(command(f), 0..4),
        any::<bool>(),
    )
        .prop_map(
            |(
                (ver_proto, session_id, msg_id, target, source, resp_uri, no_resp),
                (cred, meta),
                commands,
                final_,
            )| SyncMl {
                hdr: SyncHdr {
                    ver_dtd: "1.2".into(),
                    ver_proto,
                    session_id,
                    msg_id,
                    target,
                    source,
                    resp_uri,
                    no_resp,
                    cred,
                    meta,
                    extra: Vec::new(),
                },
                body: SyncBody { commands, final_, extra: Vec::new() },
                extra: Vec::new(),
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn typed_xml_typed(m in message(For::Any)) {
        for style in [XmlStyle::Compact, XmlStyle::Indent(2)] {
            let x = m.to_xml(&Profile { xml_style: style, ..Profile::rtk() }).unwrap();
            prop_assert_eq!(&SyncMl::from_xml_str(&x).unwrap(), &m, "{}", x);
        }
    }

    #[test]
    fn typed_wbxml_typed_rtk(m in message(For::Any), numeric in any::<bool>(), bare in any::<bool>()) {
        let p = Profile {
            public_id: if numeric { PublicIdForm::Numeric } else { PublicIdForm::StringTableUnterminated },
            empty_data: if bare { EmptyData::Bare } else { EmptyData::EmptyString },
            ..Profile::rtk()
        };
        let w = m.to_wbxml(&p).unwrap();
        let d = SyncMl::decode(&w, Mode::Strict).unwrap();
        prop_assert_eq!(&d.message, &m);
        prop_assert_eq!(d.message.encode(&d.wire).unwrap(), w);
    }

    #[test]
    fn typed_libwbxml_typed(m in message(For::Libwbxml), table in any::<bool>()) {
        let p = Profile { string_table: table, ..Profile::libwbxml() };
        let w = m.to_wbxml(&p).unwrap();
        prop_assert_eq!(&SyncMl::from_wbxml(&w).unwrap(), &m);
        let x = m.to_xml(&p).unwrap();
        prop_assert_eq!(&SyncMl::from_xml_str(&x).unwrap(), &m, "{}", x);
    }

    /// Random trees never panic the typed decoder, and what decodes re-encodes to the same typed value.
    #[test]
    fn arbitrary_wbxml_never_panics(body in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut b = hex("02a4016a00");
        b.extend_from_slice(&body);
        for mode in [Mode::Strict, Mode::Lenient] {
            if let Ok(d) = SyncMl::decode(&b, mode) {
                let again = d.message.to_wbxml(&Profile::rtk());
                if let Ok(again) = again {
                    prop_assert_eq!(SyncMl::decode(&again, mode).unwrap().message, d.message);
                }
            }
        }
    }
}

/// `Atomic`/`Sequence` nest up to [`MAX_GROUP_DEPTH`]; deeper is an error naming the element, in both
/// directions, and the walk stays within a test thread's stack.
#[test]
fn group_nesting_is_capped() {
    let nested = |depth: usize| {
        let mut cmds = String::new();
        for _ in 0..depth {
            cmds.push_str("<Atomic><CmdID>1</CmdID>");
        }
        cmds.push_str("<Get><CmdID>2</CmdID><Item/></Get>");
        for _ in 0..depth {
            cmds.push_str("</Atomic>");
        }
        body(&cmds)
    };
    let m = SyncMl::from_xml_str(&nested(MAX_GROUP_DEPTH)).unwrap();
    assert_eq!(m.all_commands().count(), MAX_GROUP_DEPTH + 1);
    assert_eq!(SyncMl::from_wbxml(&m.to_wbxml(&Profile::rtk()).unwrap()).unwrap(), m);
    for mode in [Mode::Strict, Mode::Lenient] {
        let e = SyncMl::decode(nested(MAX_GROUP_DEPTH + 1).as_bytes(), mode).unwrap_err();
        let ModelError::Invalid { path, .. } = e else { panic!("{e:?}") };
        assert_eq!(path.matches("Atomic").count(), MAX_GROUP_DEPTH + 1, "{path}");
    }
    // As deep as the XML layer allows: the cap answers first.
    assert!(SyncMl::from_xml_str(&nested(crate::xml::MAX_DEPTH - 8)).is_err());
    let mut deep = m.clone();
    if let Command::Atomic(g) = &mut deep.body.commands[0] {
        let inner = std::mem::take(&mut g.commands);
        g.commands =
            vec![Command::Atomic(CommandGroup { cmd_id: 9, commands: inner, ..CommandGroup::default() })];
    }
    assert!(matches!(deep.to_wbxml(&Profile::rtk()), Err(ModelError::Unsupported(_))));
}

/// Raw elements (an unknown command) as deep as the XML layer allows are kept and written back.
#[test]
fn deep_raw_elements_are_kept() {
    let depth = crate::xml::MAX_DEPTH - 8;
    let x = body(&format!("{}x{}", "<Map>".repeat(depth), "</Map>".repeat(depth)));
    let m = SyncMl::from_xml_str(&x).unwrap();
    assert!(matches!(&m.body.commands[0], Command::Other(e) if e.name == "Map"));
    for p in [Profile::rtk(), Profile::libwbxml()] {
        assert_eq!(SyncMl::from_wbxml(&m.to_wbxml(&p).unwrap()).unwrap(), m);
    }
    assert_eq!(SyncMl::from_xml_str(&m.to_xml(&Profile::rtk()).unwrap()).unwrap(), m);
}

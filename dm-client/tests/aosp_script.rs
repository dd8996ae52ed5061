//! Runs the management commands of a real server script from the AOSP DM engine's test suite
//! (`corpus/omadm/xml/aosp_dm12_testnewdatatype_request.xml`: Add, Replace, Get, Delete of DM 1.2 `float`,
//! `date` and `time` leaves) against the tree, and checks the outcome of every command against the tree's own
//! rules: Adds and Deletes succeed, each Get returns the value of the last write that succeeded, with its
//! Format, and only the implicitly created parent remains.
#![allow(clippy::unwrap_used)] // test code

use m2msim_codec::dm::ddf::Format;
use m2msim_codec::syncml::codes::StatusCode;
use m2msim_codec::testdata::shared_file;
use m2msim_dm_client::tree::{Acl, CommandCtx, DmTime, DmTree, ItemValue};
use quick_xml::events::Event;

#[derive(Debug, Default)]
struct Command {
    name: String,
    target: String,
    format: Option<String>,
    data: Option<String>,
}

/// The commands of the SyncBody and the SyncHdr's Source LocURI (the server), read with quick-xml.
fn read_script(xml: &str) -> (String, Vec<Command>) {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut server = String::new();
    let mut commands = Vec::new();
    let mut current: Option<Command> = None;
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => {
                let name = e.name().as_ref().to_owned();
                if path.last().map(String::as_str) == Some("SyncBody")
                    && ["Add", "Replace", "Get", "Delete"].contains(&name.as_str())
                {
                    current = Some(Command { name: name.clone(), ..Command::default() });
                }
                path.push(name);
            }
            Event::Text(t) => {
                let text = t.into_inner().trim().to_owned();
                let here: Vec<&str> = path.iter().map(String::as_str).collect();
                match (here.as_slice(), current.as_mut()) {
                    ([.., "SyncHdr", "Source", "LocURI"], _) => server = text,
                    ([.., "Target", "LocURI"], Some(c)) => c.target = text,
                    ([.., "Meta", "Format"], Some(c)) => c.format = Some(text),
                    ([.., "Item", "Data"], Some(c)) => c.data = Some(text),
                    _ => {}
                }
            }
            Event::End(e) => {
                path.pop();
                if current.as_ref().is_some_and(|c| c.name == e.name().as_ref()) {
                    commands.push(current.take().unwrap());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (server, commands)
}

#[test]
fn aosp_new_data_types_script() {
    let Some(path) = shared_file("corpus/omadm/xml/aosp_dm12_testnewdatatype_request.xml") else { return };
    let xml = std::fs::read_to_string(path).unwrap();
    let (server, commands) = read_script(&xml);
    assert_eq!(server, "http://10.72.35.166/Manage");
    assert_eq!(commands.len(), 14);

    let mut tree = DmTree::default();
    let acl = format!("Add=*&Get=*&Delete={server}&Replace={server}");
    tree.local(DmTime(0)).set_acl(".", Acl::parse(&acl).unwrap()).unwrap();
    let before = tree.snapshot();
    let ctx = CommandCtx { server_id: &server, now: DmTime(1_129_676_303) };
    // The value and Format each leaf should hold, from the writes that succeeded.
    let mut expected: std::collections::BTreeMap<String, (String, Format)> = Default::default();
    for c in &commands {
        let format = c.format.as_deref().map(|f| Format::parse(f).unwrap());
        let item =
            ItemValue { data: c.data.clone().unwrap_or_default().into_bytes(), format, node_type: None };
        match c.name.as_str() {
            "Add" => {
                assert_eq!(tree.add(&ctx, &c.target, &item), Ok(()), "{c:?}");
                if format != Some(Format::Node) {
                    expected.insert(c.target.clone(), (c.data.clone().unwrap(), format.unwrap()));
                }
            }
            "Replace" => {
                let status = tree.replace(&ctx, &c.target, &item);
                let f = format.unwrap();
                // The tree accepts exactly the values its Format accepts.
                if f.accepts(&item.data) {
                    assert_eq!(status, Ok(()), "{c:?}");
                    expected.insert(c.target.clone(), (c.data.clone().unwrap(), f));
                } else {
                    assert_eq!(status, Err(StatusCode::UNSUPPORTED_MEDIA_TYPE), "{c:?}");
                }
            }
            "Get" => {
                let r = tree.get(&ctx, &c.target).unwrap();
                let (value, format) = &expected[&c.target];
                assert_eq!(r[0].data.as_deref(), Some(value.as_bytes()), "{c:?}");
                assert_eq!(r[0].format, *format, "{c:?}");
            }
            "Delete" => assert_eq!(tree.delete(&ctx, &c.target), Ok(()), "{c:?}"),
            other => panic!("unexpected command {other}"),
        }
    }
    // Everything added was deleted but `./Test`, the parent the first Add created implicitly.
    let after = tree.snapshot();
    assert_eq!(before.nodes.keys().collect::<Vec<_>>(), [""]);
    assert_eq!(after.nodes.keys().collect::<Vec<_>>(), ["", "Test"]);
}

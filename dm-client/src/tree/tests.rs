//! Tests of the tree's rules: each status of the table in the module docs, ACL inheritance, implicit
//! parents, Atomic, Copy, `?list=`, `?prop=`, plugins, snapshots, and property tests of Atomic rollback.

use std::sync::{Arc, Mutex};

use m2msim_codec::dm::ddf::{AccessTypes, DdfNode, DfProperties, DfType, Format, Occurrence, Scope};
use m2msim_codec::syncml::codes::StatusCode;
use proptest::prelude::*;

use super::*;

const T0: DmTime = DmTime(1_000_000);
const NOW: DmTime = DmTime(1_234_567);

fn ctx(server_id: &str) -> CommandCtx<'_> {
    CommandCtx { server_id, now: NOW }
}

fn chr(s: &str) -> ItemValue {
    ItemValue::with_format(s.as_bytes().to_vec(), Format::Chr)
}

fn d_leaf(name: &str, format: Format, access: AccessTypes, occurrence: Occurrence) -> DdfNode {
    DdfNode {
        name: name.into(),
        df_properties: Some(DfProperties {
            access_type: access,
            format,
            occurrence,
            ..DfProperties::default()
        }),
        children: Vec::new(),
        ..DdfNode::default()
    }
}

fn d_node(name: &str, access: AccessTypes, occurrence: Occurrence, children: Vec<DdfNode>) -> DdfNode {
    DdfNode {
        name: name.into(),
        df_properties: Some(DfProperties {
            access_type: access,
            format: Format::Node,
            occurrence,
            ..DfProperties::default()
        }),
        children,
        ..DdfNode::default()
    }
}

const ADGR: AccessTypes = AccessTypes::ADD_DELETE_GET_REPLACE;

/// `./Test`: an MO exercising every DDF rule.
fn test_ddf() -> DdfNode {
    let mut val = d_leaf("Val", Format::Chr, ADGR, Occurrence::One);
    val.props_mut().df_type = Some(DfType::Mime("text/plain".into()));
    let mut perm = d_leaf("Perm", Format::Chr, ADGR, Occurrence::One);
    perm.props_mut().scope = Some(Scope::Permanent);
    let mut root = d_node(
        "Test",
        AccessTypes { add: true, ..AccessTypes::GET },
        Occurrence::One,
        vec![
            d_leaf("Int", Format::Int, ADGR, Occurrence::One),
            d_leaf("Flag", Format::Bool, AccessTypes::GET_REPLACE, Occurrence::One),
            d_leaf("RO", Format::Chr, AccessTypes::GET, Occurrence::One),
            d_node("Items", ADGR, Occurrence::One, vec![d_node("", ADGR, Occurrence::ZeroOrN(2), vec![val])]),
            d_node(
                "Fixed",
                AccessTypes::GET,
                Occurrence::ZeroOrOne,
                vec![d_leaf("Leaf", Format::Chr, ADGR, Occurrence::One)],
            ),
            d_leaf("Run", Format::Chr, AccessTypes { exec: true, ..AccessTypes::GET }, Occurrence::One),
            d_leaf(
                "Secret",
                Format::Chr,
                AccessTypes { add: true, delete: true, replace: true, ..AccessTypes::default() },
                Occurrence::ZeroOrOne,
            ),
            perm,
            d_node("Open", ADGR, Occurrence::ZeroOrOne, Vec::new()),
        ],
    );
    root.props_mut().df_type = Some(DfType::DdfName("urn:test:mo:1.0".into()));
    root
}

/// A tree with `./Test` filled in and free nodes `./P/q`, both with ACLs granting everything to `*`.
fn test_tree() -> DmTree {
    let mut t = DmTree::default();
    t.register_mo("./Test", Arc::new(test_ddf()), None).unwrap();
    let mut l = t.local(T0);
    l.ensure_interior("./Test").unwrap();
    l.set_acl("./Test", Acl::parse("Add=*&Delete=*&Exec=*&Get=*&Replace=*").unwrap()).unwrap();
    l.set_value("./Test/Int", "42", Format::Int).unwrap();
    l.set_value("./Test/Flag", "true", Format::Bool).unwrap();
    l.set_text("./Test/RO", "fixed").unwrap();
    l.set_text("./Test/Items/a/Val", "first").unwrap();
    l.set_text("./Test/Run", "").unwrap();
    l.set_text("./Test/Secret", "hunter2").unwrap();
    l.set_text("./Test/Perm", "stay").unwrap();
    l.set_text("./P/q", "free").unwrap();
    l.set_acl("./P", Acl::parse("Add=*&Delete=*&Exec=*&Get=*&Replace=*").unwrap()).unwrap();
    t
}

fn data(items: &[ResultItem]) -> String {
    String::from_utf8(items[0].data.clone().unwrap()).unwrap()
}

fn get_text(t: &mut DmTree, uri: &str) -> String {
    data(&t.get(&ctx("s1"), uri).unwrap())
}

// ----- Get ----------------------------------------------------------------------------------------------

#[test]
fn get_interior_lists_children_with_format_node() {
    let mut t = test_tree();
    let r = t.get(&ctx("s1"), "./Test/Items").unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].format, Format::Node);
    assert_eq!(r[0].source, "./Test/Items");
    assert_eq!(data(&r), "a");
    assert_eq!(get_text(&mut t, "."), "P/Test");
    assert_eq!(get_text(&mut t, "Test"), "Flag/Int/Items/Perm/RO/Run/Secret");
    // An interior node without children: empty data, 200 (TND §8.2.2.2).
    t.local(T0).ensure_interior("./P/empty").unwrap();
    assert_eq!(get_text(&mut t, "./P/empty"), "");
    // The MO root's Type is its MO identifier.
    assert_eq!(t.get(&ctx("s1"), "./Test").unwrap()[0].node_type.as_deref(), Some("urn:test:mo:1.0"));
}

#[test]
fn get_leaf_gives_value_format_and_type() {
    let mut t = test_tree();
    let r = t.get(&ctx("s1"), "Test/Int").unwrap();
    assert_eq!((r[0].format, data(&r).as_str()), (Format::Int, "42"));
    let r = t.get(&ctx("s1"), "./Test/Items/a/Val").unwrap();
    assert_eq!(r[0].node_type.as_deref(), Some("text/plain"));
    assert_eq!(t.get(&ctx("s1"), "./Test/Nope"), Err(StatusCode::NOT_FOUND));
    assert_eq!(t.get(&ctx("s1"), "./Test/Int/x"), Err(StatusCode::NOT_FOUND));
}

#[test]
fn get_of_a_node_whose_ddf_denies_get_is_405() {
    let mut t = test_tree();
    assert_eq!(t.get(&ctx("s1"), "./Test/Secret"), Err(StatusCode::COMMAND_NOT_ALLOWED));
    assert_eq!(t.get(&ctx("s1"), "./Test/Secret?prop=Size"), Err(StatusCode::COMMAND_NOT_ALLOWED));
    // Its ACL property is still readable (the ACL governs properties).
    assert_eq!(get_text(&mut t, "./Test/Secret?prop=ACL"), "");
}

// ----- URIs -------------------------------------------------------------------------------------------

#[test]
fn uri_errors_reach_every_command() {
    let mut t = test_tree();
    let c = ctx("s1");
    for bad in ["", "a//b", "./Test/", "/Test", "Test/../P"] {
        assert_eq!(t.get(&c, bad), Err(StatusCode::BAD_REQUEST), "{bad:?}");
        assert_eq!(t.add(&c, bad, &chr("x")), Err(StatusCode::BAD_REQUEST), "{bad:?}");
        assert_eq!(t.replace(&c, bad, &chr("x")), Err(StatusCode::BAD_REQUEST), "{bad:?}");
        assert_eq!(t.delete(&c, bad), Err(StatusCode::BAD_REQUEST), "{bad:?}");
        assert_eq!(t.exec(&c, bad, b"", None), Err(StatusCode::BAD_REQUEST), "{bad:?}");
        assert_eq!(t.copy(&c, bad, "./P/q"), Err(StatusCode::BAD_REQUEST), "{bad:?}");
    }
    assert_eq!(t.get(&c, "./Test?list=Tree"), Err(StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED));
    assert_eq!(t.get(&c, "./Test?prop=Colour"), Err(StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED));
}

#[test]
fn uri_limits_are_414_and_configurable() {
    let limits =
        TreeLimits { uri: UriLimits { max_depth: 3, max_tot_len: 30, max_seg_len: 8 }, max_nodes: 100 };
    let mut t = DmTree::new(limits);
    let c = ctx("s1");
    assert_eq!(t.add(&c, "./a/b/c", &chr("x")), Ok(()));
    assert_eq!(t.add(&c, "./a/b/c2/d", &chr("x")), Err(StatusCode::URI_TOO_LONG));
    assert_eq!(t.add(&c, "./a/toolongname", &chr("x")), Err(StatusCode::URI_TOO_LONG));
    assert_eq!(t.get(&c, "./a/b/c?prop=Format&padding=xxxxxxxx"), Err(StatusCode::URI_TOO_LONG));
    assert_eq!(t.get(&c, "./a/b/c/d"), Err(StatusCode::URI_TOO_LONG));
    // A Copy whose new nodes would be too deep.
    assert_eq!(t.copy(&c, "./a/b/x", "./a"), Err(StatusCode::URI_TOO_LONG));
    assert_eq!(t.node("./a/b/x"), None);
}

// ----- ACL --------------------------------------------------------------------------------------------

#[test]
fn root_acl_defaults_to_add_get_for_everyone() {
    let mut t = DmTree::default();
    assert_eq!(t.node(".").unwrap().props.acl.to_string(), DEFAULT_ROOT_ACL);
    assert_eq!(get_text(&mut t, ".?prop=ACL"), "Add=*&Get=*");
    // Get and Add are granted to any server, Replace and Delete are not.
    assert_eq!(t.add(&ctx("anyone"), "./x", &chr("1")), Ok(()));
    assert_eq!(t.get(&ctx("other"), "./x").map(|r| data(&r)), Ok("1".into()));
    assert_eq!(t.replace(&ctx("anyone"), "./x", &chr("2")), Err(StatusCode::PERMISSION_DENIED));
    assert_eq!(t.delete(&ctx("anyone"), "./x"), Err(StatusCode::PERMISSION_DENIED));
}

#[test]
fn acl_is_inherited_from_the_nearest_ancestor_with_a_value() {
    let mut t = DmTree::default();
    let mut l = t.local(T0);
    l.set_text("./A/B/C/leaf", "v").unwrap();
    l.set_acl("./A", Acl::parse("Get=s1&Replace=s1").unwrap()).unwrap();
    l.set_acl("./A/B/C", Acl::parse("Get=s2").unwrap()).unwrap();
    // A/B has no ACL: it inherits A's.
    assert!(t.get(&ctx("s1"), "./A/B").is_ok());
    assert_eq!(t.get(&ctx("s2"), "./A/B"), Err(StatusCode::PERMISSION_DENIED));
    // A/B/C/leaf inherits C's ACL only: no concatenation with A's (TND §8.3.7.1.1).
    assert!(t.get(&ctx("s2"), "./A/B/C/leaf").is_ok());
    assert_eq!(t.get(&ctx("s1"), "./A/B/C/leaf"), Err(StatusCode::PERMISSION_DENIED));
    assert_eq!(t.replace(&ctx("s1"), "./A/B/C/leaf", &chr("w")), Err(StatusCode::PERMISSION_DENIED));
    // A node without an ACL value answers an empty ?prop=ACL, not the inherited one.
    assert_eq!(get_text(&mut t, "./A/B?prop=ACL"), "");
    assert_eq!(get_text(&mut t, "./A?prop=ACL"), "Get=s1&Replace=s1");
}

#[test]
fn each_command_checks_its_acl_permission() {
    let mut t = test_tree();
    t.local(T0).set_acl("./Test", Acl::parse("Get=s1&Add=s2&Replace=s3&Delete=s4&Exec=s5").unwrap()).unwrap();
    let denied = StatusCode::PERMISSION_DENIED;
    assert_eq!(t.get(&ctx("s2"), "./Test/Int"), Err(denied));
    assert!(t.get(&ctx("s1"), "./Test/Int").is_ok());
    assert_eq!(t.add(&ctx("s1"), "./Test/Items/b", &ItemValue::interior()), Err(denied));
    assert_eq!(t.add(&ctx("s2"), "./Test/Items/b", &ItemValue::interior()), Ok(()));
    assert_eq!(t.replace(&ctx("s1"), "./Test/Int", &chr("1")), Err(denied));
    assert_eq!(t.replace(&ctx("s3"), "./Test/Int", &ItemValue::with_format("1", Format::Int)), Ok(()));
    assert_eq!(t.exec(&ctx("s1"), "./Test/Run", b"", None), Err(StatusCode::PERMISSION_DENIED));
    assert_eq!(t.delete(&ctx("s1"), "./Test/Items/a"), Err(StatusCode::PERMISSION_DENIED));
    assert_eq!(t.delete(&ctx("s4"), "./Test/Items/a"), Ok(()));
    // Property Gets need Get on the node.
    assert_eq!(t.get(&ctx("s2"), "./Test/Int?prop=VerNo"), Err(StatusCode::PERMISSION_DENIED));
}

#[test]
fn server_added_interior_node_is_given_to_its_creator() {
    let mut t = DmTree::default();
    // The root grants Add=*&Get=*, not Replace: the new interior node gets an ACL for its creator.
    assert_eq!(t.add(&ctx("s1"), "./Vendor", &ItemValue::interior()), Ok(()));
    assert_eq!(t.node("./Vendor").unwrap().props.acl.to_string(), "Add=s1&Delete=s1&Get=s1&Replace=s1");
    assert_eq!(t.delete(&ctx("s2"), "./Vendor"), Err(StatusCode::PERMISSION_DENIED));
    // A leaf inherits.
    assert_eq!(t.add(&ctx("s1"), "./Vendor/x", &chr("1")), Ok(()));
    assert!(t.node("./Vendor/x").unwrap().props.acl.is_empty());
    // With Replace on the parent, the new node's ACL is empty (inherited).
    t.local(T0).set_acl(".", Acl::parse("Add=*&Get=*&Replace=s3").unwrap()).unwrap();
    assert_eq!(t.add(&ctx("s3"), "./Other", &ItemValue::interior()), Ok(()));
    assert!(t.node("./Other").unwrap().props.acl.is_empty());
    assert_eq!(t.delete(&ctx("s1"), "./Vendor"), Ok(()));
}

#[test]
fn replacing_the_acl_property() {
    let mut t = DmTree::default();
    let mut l = t.local(T0);
    l.set_text("./A/leaf", "v").unwrap();
    l.ensure_interior("./A/sub").unwrap();
    l.set_acl("./A", Acl::parse("Get=*&Replace=boss").unwrap()).unwrap();
    l.set_acl("./A/leaf", Acl::parse("Get=*&Replace=owner").unwrap()).unwrap();
    l.set_acl("./A/sub", Acl::parse("Get=*&Replace=owner").unwrap()).unwrap();
    let acl = |s: &str| ItemValue::new(s.as_bytes().to_vec());
    // A leaf's ACL: Replace on the parent only (TND §8.3.7.1.3).
    assert_eq!(
        t.replace(&ctx("owner"), "./A/leaf?prop=ACL", &acl("Get=owner")),
        Err(StatusCode::PERMISSION_DENIED)
    );
    assert_eq!(t.replace(&ctx("boss"), "./A/leaf?prop=ACL", &acl("Get=owner")), Ok(()));
    assert_eq!(t.node("./A/leaf").unwrap().props.acl.to_string(), "Get=owner");
    // An interior node's ACL: its own Replace suffices, as does the parent's.
    assert_eq!(t.replace(&ctx("owner"), "./A/sub?prop=ACL", &acl("Get=*&Replace=owner+x")), Ok(()));
    assert_eq!(t.replace(&ctx("boss"), "./A/sub?prop=ACL", &acl("")), Ok(()));
    assert!(t.node("./A/sub").unwrap().props.acl.is_empty());
    // Malformed ACL text: 415; not UTF-8: 415.
    assert_eq!(
        t.replace(&ctx("boss"), "./A/leaf?prop=ACL", &acl("Get")),
        Err(StatusCode::UNSUPPORTED_MEDIA_TYPE)
    );
    let bad = ItemValue::new(vec![0xff]);
    assert_eq!(t.replace(&ctx("boss"), "./A/leaf?prop=ACL", &bad), Err(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    // The root ACL: Replace on the root, and it must keep Add=* and Get=*.
    assert_eq!(
        t.replace(&ctx("boss"), ".?prop=ACL", &acl("Add=*&Get=*&Replace=boss")),
        Err(StatusCode::PERMISSION_DENIED)
    );
    t.local(T0).set_acl(".", Acl::parse("Add=*&Get=*&Replace=boss").unwrap()).unwrap();
    assert_eq!(
        t.replace(&ctx("boss"), ".?prop=ACL", &acl("Get=*&Replace=boss")),
        Err(StatusCode::COMMAND_NOT_ALLOWED)
    );
    assert_eq!(
        t.replace(&ctx("boss"), ".?prop=ACL", &acl("Add=boss&Get=*")),
        Err(StatusCode::COMMAND_NOT_ALLOWED)
    );
    assert_eq!(t.replace(&ctx("boss"), ".?prop=ACL", &acl("")), Err(StatusCode::COMMAND_NOT_ALLOWED));
    assert_eq!(t.replace(&ctx("boss"), ".?prop=ACL", &acl("Add=*&Get=*&Replace=boss+deputy")), Ok(()));
    assert!(t.acl_permits("", AclCommand::Replace, "deputy"));
    // The device cannot empty the root ACL either.
    assert_eq!(t.local(T0).set_acl(".", Acl::empty()), Err(StatusCode::COMMAND_NOT_ALLOWED));
}

// ----- properties ---------------------------------------------------------------------------------------

#[test]
fn property_gets() {
    let mut t = test_tree();
    let c = ctx("s1");
    assert_eq!(t.replace(&c, "./Test/Items/a/Val", &chr("second")), Ok(()));
    let prop = |t: &mut DmTree, u: &str| get_text(t, u);
    assert_eq!(prop(&mut t, "./Test/Items/a/Val?prop=Format"), "chr");
    assert_eq!(prop(&mut t, "./Test/Items/a/Val?prop=Name"), "Val");
    assert_eq!(prop(&mut t, "./Test/Items/a/Val?prop=Size"), "6");
    assert_eq!(prop(&mut t, "./Test/Items/a/Val?prop=Title"), "");
    assert_eq!(prop(&mut t, "./Test/Items/a/Val?prop=TStamp"), NOW.tstamp());
    assert_eq!(prop(&mut t, "./Test/Items/a/Val?prop=Type"), "text/plain");
    assert_eq!(prop(&mut t, "./Test/Items/a/Val?prop=VerNo"), "1");
    assert_eq!(prop(&mut t, "./Test/Items?prop=Format"), "node");
    assert_eq!(prop(&mut t, "./Test?prop=Type"), "urn:test:mo:1.0");
    assert_eq!(prop(&mut t, "./P?prop=Type"), "");
    let r = t.get(&c, "./Test/Int?prop=Format").unwrap();
    assert_eq!((r[0].source.as_str(), r[0].format), ("./Test/Int?prop=Format", Format::Chr));
    // Size is not supported on interior nodes (TND §8.3.2).
    assert_eq!(t.get(&c, "./Test/Items?prop=Size"), Err(StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED));
    assert_eq!(t.get(&c, "./Test/Nope?prop=Size"), Err(StatusCode::NOT_FOUND));
}

#[test]
fn verno_and_tstamp_follow_changes() {
    let mut t = test_tree();
    let before = t.node("./Test/Int").unwrap().props.clone();
    assert_eq!(before.tstamp, Some(T0));
    assert_eq!(t.replace(&ctx("s1"), "./Test/Int", &ItemValue::with_format("7", Format::Int)), Ok(()));
    let after = &t.node("./Test/Int").unwrap().props;
    assert_eq!((after.ver_no, after.tstamp), (before.ver_no + 1, Some(NOW)));
    // Adding a child changes the parent.
    let items = t.node("./Test/Items").unwrap().props.ver_no;
    assert_eq!(t.add(&ctx("s1"), "./Test/Items/b", &ItemValue::interior()), Ok(()));
    assert_eq!(t.node("./Test/Items").unwrap().props.ver_no, items + 1);
    // A property change too.
    assert_eq!(t.replace(&ctx("s1"), "./Test/Int?prop=Title", &ItemValue::new("Answer")), Ok(()));
    assert_eq!(t.node("./Test/Int").unwrap().props.ver_no, before.ver_no + 2);
}

#[test]
fn replace_title_and_read_only_properties() {
    let mut t = test_tree();
    let c = ctx("s1");
    assert_eq!(t.replace(&c, "./Test/Int?prop=Title", &ItemValue::new("The answer")), Ok(()));
    assert_eq!(get_text(&mut t, "./Test/Int?prop=Title"), "The answer");
    for p in ["Format", "Size", "TStamp", "Type", "VerNo"] {
        assert_eq!(
            t.replace(&c, &format!("./Test/Int?prop={p}"), &ItemValue::new("x")),
            Err(StatusCode::COMMAND_NOT_ALLOWED),
            "{p}"
        );
    }
    assert_eq!(t.replace(&c, "./Test/Nope?prop=Title", &ItemValue::new("x")), Err(StatusCode::NOT_FOUND));
    assert_eq!(
        t.replace(&c, "./Test?list=Struct", &ItemValue::new("x")),
        Err(StatusCode::COMMAND_NOT_ALLOWED)
    );
    // Properties do not support Add or Delete (TND §8.3.5).
    assert_eq!(
        t.add(&c, "./Test/Int?prop=Title", &ItemValue::new("x")),
        Err(StatusCode::COMMAND_NOT_ALLOWED)
    );
    assert_eq!(t.delete(&c, "./Test/Int?prop=Title"), Err(StatusCode::COMMAND_NOT_ALLOWED));
    // Title needs Replace on the node.
    t.local(T0).set_acl("./P", Acl::parse("Get=*").unwrap()).unwrap();
    assert_eq!(t.replace(&c, "./P/q?prop=Title", &ItemValue::new("x")), Err(StatusCode::PERMISSION_DENIED));
}

#[test]
fn rename_moves_the_subtree() {
    let mut t = test_tree();
    let c = ctx("s1");
    t.local(T0).set_text("./Test/Items/a/Val", "v").unwrap();
    assert_eq!(t.replace(&c, "./Test/Items/a?prop=Name", &ItemValue::new("z")), Ok(()));
    assert_eq!(t.node("./Test/Items/a"), None);
    assert_eq!(t.text("./Test/Items/z/Val"), Some("v"));
    assert_eq!(get_text(&mut t, "./Test/Items/z?prop=Name"), "z");
    // Onto an existing sibling: 418; a bad name: 400; too long: 414.
    t.local(T0).set_text("./Test/Items/y/Val", "w").unwrap();
    assert_eq!(
        t.replace(&c, "./Test/Items/z?prop=Name", &ItemValue::new("y")),
        Err(StatusCode::ALREADY_EXISTS)
    );
    for bad in ["", ".", "..", "a/b", "q?x"] {
        assert_eq!(
            t.replace(&c, "./Test/Items/z?prop=Name", &ItemValue::new(bad)),
            Err(StatusCode::BAD_REQUEST)
        );
    }
    let long = "n".repeat(65);
    assert_eq!(
        t.replace(&c, "./Test/Items/z?prop=Name", &ItemValue::new(long)),
        Err(StatusCode::URI_TOO_LONG)
    );
    // Permanent nodes, the root and MO roots are not renamed (TND §8.3.5.1).
    assert_eq!(
        t.replace(&c, "./Test/Perm?prop=Name", &ItemValue::new("x")),
        Err(StatusCode::COMMAND_NOT_ALLOWED)
    );
    assert_eq!(t.replace(&c, ".?prop=Name", &ItemValue::new("x")), Err(StatusCode::COMMAND_NOT_ALLOWED));
    t.local(T0).set_acl(".", Acl::parse("Add=*&Get=*&Replace=*").unwrap()).unwrap();
    assert_eq!(t.replace(&c, "./Test?prop=Name", &ItemValue::new("X")), Err(StatusCode::COMMAND_NOT_ALLOWED));
    // A named node cannot take a name the DDF describes differently.
    assert_eq!(
        t.replace(&c, "./Test/Int?prop=Name", &ItemValue::new("Other")),
        Err(StatusCode::COMMAND_NOT_ALLOWED)
    );
    // Free nodes rename freely.
    assert_eq!(t.replace(&c, "./P/q?prop=Name", &ItemValue::new("r")), Ok(()));
    assert_eq!(t.text("./P/r"), Some("free"));
}

// ----- Add ----------------------------------------------------------------------------------------------

#[test]
fn add_statuses() {
    let mut t = test_tree();
    let c = ctx("s1");
    // Exists: 418; root: 418.
    assert_eq!(
        t.add(&c, "./Test/Int", &ItemValue::with_format("1", Format::Int)),
        Err(StatusCode::ALREADY_EXISTS)
    );
    assert_eq!(t.add(&c, ".", &ItemValue::interior()), Err(StatusCode::ALREADY_EXISTS));
    // Not described: 406.
    assert_eq!(t.add(&c, "./Test/Unknown", &chr("x")), Err(StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED));
    assert_eq!(t.add(&c, "./Test/Int/child", &chr("x")), Err(StatusCode::COMMAND_NOT_ALLOWED));
    // Access type without Add: 405.
    t.local(T0).delete("./Test/RO").unwrap();
    assert_eq!(t.add(&c, "./Test/RO", &chr("x")), Err(StatusCode::COMMAND_NOT_ALLOWED));
    // Occurrence ZeroOrN(2): a and b fit, c does not.
    assert_eq!(t.add(&c, "./Test/Items/b", &ItemValue::interior()), Ok(()));
    assert_eq!(t.add(&c, "./Test/Items/c", &ItemValue::interior()), Err(StatusCode::ALREADY_EXISTS));
    // Values: 415 for a bad int, the wrong Format, the wrong Meta Type.
    t.local(T0).delete("./Test/Int").unwrap();
    assert_eq!(t.add(&c, "./Test/Int", &chr("12")), Err(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    assert_eq!(
        t.add(&c, "./Test/Int", &ItemValue::with_format("x1", Format::Int)),
        Err(StatusCode::UNSUPPORTED_MEDIA_TYPE)
    );
    let mut typed = chr("v");
    typed.node_type = Some("application/octet-stream".into());
    assert_eq!(t.add(&c, "./Test/Items/b/Val", &typed), Err(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    typed.node_type = Some("text/plain".into());
    assert_eq!(t.add(&c, "./Test/Items/b/Val", &typed), Ok(()));
    // A missing Meta Format takes the DDF's.
    assert_eq!(t.add(&c, "./Test/Int", &ItemValue::new("12")), Ok(()));
    assert_eq!(t.node("./Test/Int").unwrap().props.format, Format::Int);
    // Interior node with data: 415.
    assert_eq!(
        t.add(&c, "./P/i", &ItemValue::with_format("x", Format::Node)),
        Err(StatusCode::UNSUPPORTED_MEDIA_TYPE)
    );
    // Under a leaf: 405.
    assert_eq!(t.add(&c, "./P/q/x", &chr("x")), Err(StatusCode::COMMAND_NOT_ALLOWED));
    // Free nodes: no Format means chr; success.
    assert_eq!(t.add(&c, "./P/n", &ItemValue::new("hello")), Ok(()));
    assert_eq!(t.node("./P/n").unwrap().props.format, Format::Chr);
    assert!(!t.node("./P/n").unwrap().is_permanent());
}

#[test]
fn add_creates_missing_parents_when_the_ddf_allows() {
    let mut t = test_tree();
    let c = ctx("s1");
    // Items/<x> is an addable interior placeholder: created implicitly.
    assert_eq!(t.add(&c, "./Test/Items/new/Val", &chr("v")), Ok(()));
    assert!(t.node("./Test/Items/new").unwrap().is_interior());
    assert_eq!(get_text(&mut t, "./Test/Items/new"), "Val");
    // Fixed is interior but not addable: 404.
    assert_eq!(t.add(&c, "./Test/Fixed/Leaf", &chr("v")), Err(StatusCode::NOT_FOUND));
    // Outside any MO: created freely.
    assert_eq!(t.add(&c, "./Free/a/b/leaf", &chr("v")), Ok(()));
    assert!(t.node("./Free/a/b").unwrap().is_interior());
    // The top created interior node belongs to its creator (no Replace on the root); the others inherit.
    assert_eq!(t.node("./Free").unwrap().props.acl.to_string(), "Add=s1&Delete=s1&Get=s1&Replace=s1");
    assert!(t.node("./Free/a").unwrap().props.acl.is_empty());
    // An undescribed parent: 406. An occurrence limit on an implicit parent: 418.
    assert_eq!(t.add(&c, "./Test/Nope/x", &chr("v")), Err(StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED));
    assert_eq!(t.add(&c, "./Test/Items/third/Val", &chr("v")), Err(StatusCode::ALREADY_EXISTS));
    assert_eq!(t.node("./Test/Items/third"), None);
    // Open extension points accept anything below them.
    assert_eq!(t.add(&c, "./Test/Open/vendor/x", &ItemValue::with_format("1", Format::Int)), Ok(()));
}

#[test]
fn a_full_tree_answers_420() {
    let mut t = DmTree::new(TreeLimits { max_nodes: 4, ..TreeLimits::default() });
    let c = ctx("s1");
    assert_eq!(t.add(&c, "./a", &chr("1")), Ok(()));
    assert_eq!(t.add(&c, "./b/c", &chr("1")), Ok(()));
    assert_eq!(t.len(), 4);
    assert_eq!(t.add(&c, "./d", &chr("1")), Err(StatusCode::DEVICE_FULL));
    assert_eq!(t.copy(&c, "./e", "./a"), Err(StatusCode::DEVICE_FULL));
}

// ----- Replace, Delete -------------------------------------------------------------------------------

#[test]
fn replace_statuses() {
    let mut t = test_tree();
    let c = ctx("s1");
    assert_eq!(t.replace(&c, "./Test/Nope", &chr("x")), Err(StatusCode::NOT_FOUND));
    assert_eq!(t.replace(&c, "./Test/Items", &ItemValue::interior()), Err(StatusCode::COMMAND_NOT_ALLOWED));
    assert_eq!(t.replace(&c, "./P", &chr("x")), Err(StatusCode::COMMAND_NOT_ALLOWED));
    assert_eq!(t.replace(&c, "./Test/RO", &chr("x")), Err(StatusCode::COMMAND_NOT_ALLOWED));
    assert_eq!(t.replace(&c, "./Test/Flag", &ItemValue::new("yes")), Err(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    assert_eq!(t.replace(&c, "./Test/Flag", &ItemValue::new("false")), Ok(()));
    assert_eq!(t.text("./Test/Flag"), Some("false"));
    // A free leaf cannot become interior through Replace.
    assert_eq!(t.replace(&c, "./P/q", &ItemValue::interior()), Err(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    // A free leaf changes Format with the Meta.
    assert_eq!(t.replace(&c, "./P/q", &ItemValue::with_format("5", Format::Int)), Ok(()));
    assert_eq!(t.node("./P/q").unwrap().props.format, Format::Int);
    // A secret can be replaced although it cannot be read.
    assert_eq!(t.replace(&c, "./Test/Secret", &chr("new")), Ok(()));
    assert_eq!(t.value("./Test/Secret"), Some(&b"new"[..]));
}

#[test]
fn delete_statuses() {
    let mut t = test_tree();
    let c = ctx("s1");
    assert_eq!(t.delete(&c, "."), Err(StatusCode::COMMAND_NOT_ALLOWED));
    assert_eq!(t.delete(&c, "./Test/Nope"), Err(StatusCode::NOT_FOUND));
    assert_eq!(t.delete(&c, "./Test/Perm"), Err(StatusCode::COMMAND_NOT_ALLOWED));
    assert_eq!(t.delete(&c, "./Test/Flag"), Err(StatusCode::COMMAND_NOT_ALLOWED), "no Delete access type");
    // A subtree holding a permanent node.
    t.local(T0).set_scope("./P/q", Scope::Permanent).unwrap();
    t.local(T0).set_acl("./P", Acl::parse("Delete=*&Get=*").unwrap()).unwrap();
    assert_eq!(t.delete(&c, "./P"), Err(StatusCode::COMMAND_NOT_ALLOWED));
    // A whole subtree goes.
    assert_eq!(t.delete(&c, "./Test/Items/a"), Ok(()));
    assert_eq!(t.node("./Test/Items/a/Val"), None);
    assert_eq!(get_text(&mut t, "./Test/Items"), "");
}

// ----- Copy ---------------------------------------------------------------------------------------------

#[test]
fn copy_of_a_subtree() {
    let mut t = test_tree();
    let c = ctx("s1");
    t.local(T0).set_title("./Test/Items/a/Val", Some("label".into())).unwrap();
    assert_eq!(t.copy(&c, "./Test/Items/b", "./Test/Items/a"), Ok(()));
    assert_eq!(t.text("./Test/Items/b/Val"), Some("first"));
    assert!(t.node("./Test/Items/b").unwrap().is_interior());
    assert_eq!(t.node("./Test/Items/b/Val").unwrap().props.title.as_deref(), Some("label"));
    // The source is unchanged; a third instance is over the occurrence limit.
    assert_eq!(t.text("./Test/Items/a/Val"), Some("first"));
    assert_eq!(t.copy(&c, "./Test/Items/c", "./Test/Items/a"), Err(StatusCode::ALREADY_EXISTS));
    // Onto an existing leaf: the value is replaced.
    assert_eq!(t.copy(&c, "./Test/Items/b/Val", "./P/q"), Ok(()));
    assert_eq!(t.text("./Test/Items/b/Val"), Some("free"));
    // Onto an existing interior node: 405; a missing source: 404; the root as source: 405.
    assert_eq!(t.copy(&c, "./Test/Items/b", "./Test/Items/a"), Err(StatusCode::COMMAND_NOT_ALLOWED));
    assert_eq!(t.copy(&c, "./P/x", "./P/none"), Err(StatusCode::NOT_FOUND));
    assert_eq!(t.copy(&c, "./P/x", "."), Err(StatusCode::COMMAND_NOT_ALLOWED));
    // Values are checked against the target's description.
    assert_eq!(t.copy(&c, "./Test/Int", "./P/q"), Err(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    // A secret cannot be copied out.
    assert_eq!(t.copy(&c, "./P/leak", "./Test/Secret"), Err(StatusCode::COMMAND_NOT_ALLOWED));
    assert_eq!(t.copy(&c, "./P/leak", "./Test"), Err(StatusCode::COMMAND_NOT_ALLOWED));
    // Into a free area with implicit parents.
    assert_eq!(t.copy(&c, "./Backup/items", "./Test/Items"), Ok(()));
    assert_eq!(t.text("./Backup/items/a/Val"), Some("first"));
}

#[test]
fn copy_acl_rules() {
    let mut t = test_tree();
    let mut l = t.local(T0);
    l.set_acl("./P/q", Acl::parse("Get=reader").unwrap()).unwrap();
    l.set_text("./Q/t", "target").unwrap();
    l.set_acl("./Q", Acl::parse("Get=*&Add=adder&Replace=replacer").unwrap()).unwrap();
    // Get on the source.
    assert_eq!(t.copy(&ctx("adder"), "./Q/new", "./P/q"), Err(StatusCode::PERMISSION_DENIED));
    t.local(T0).set_acl("./P/q", Acl::parse("Get=reader+adder+replacer").unwrap()).unwrap();
    // Add on the target's parent.
    assert_eq!(t.copy(&ctx("replacer"), "./Q/new", "./P/q"), Err(StatusCode::PERMISSION_DENIED));
    assert_eq!(t.copy(&ctx("adder"), "./Q/new", "./P/q"), Ok(()));
    // Replace on an existing target.
    assert_eq!(t.copy(&ctx("adder"), "./Q/t", "./P/q"), Err(StatusCode::PERMISSION_DENIED));
    assert_eq!(t.copy(&ctx("replacer"), "./Q/t", "./P/q"), Ok(()));
    assert_eq!(t.text("./Q/t"), Some("free"));
}

// ----- ?list= -------------------------------------------------------------------------------------------

#[test]
fn list_struct_and_structdata() {
    let mut t = test_tree();
    let c = ctx("s1");
    t.local(T0).set_acl("./Test/Items", Acl::parse("Get=s2").unwrap()).unwrap();
    let r = t.get(&c, "./Test?list=Struct").unwrap();
    let uris: Vec<&str> = r.iter().map(|i| i.source.as_str()).collect();
    // Items (no Get for s1) is left out with its subtree; Secret (DDF: no Get) is left out.
    assert_eq!(uris, ["./Test", "./Test/Flag", "./Test/Int", "./Test/Perm", "./Test/RO", "./Test/Run"]);
    assert!(r.iter().all(|i| i.data.is_none()));
    assert_eq!(r[2].format, Format::Int);
    let r = t.get(&c, "./Test?list=StructData").unwrap();
    assert_eq!(r[2].data.as_deref(), Some(&b"42"[..]));
    assert_eq!(r[0].data.as_deref(), Some(&b"Flag/Int/Items/Perm/RO/Run/Secret"[..]));
    let r = t.get(&ctx("s2"), "./Test/Items?list=StructData").unwrap();
    assert_eq!(
        r.iter().map(|i| i.source.as_str()).collect::<Vec<_>>(),
        ["./Test/Items", "./Test/Items/a", "./Test/Items/a/Val"]
    );
    assert_eq!(r[2].data.as_deref(), Some(&b"first"[..]));
    // The listed node itself needs Get.
    assert_eq!(t.get(&c, "./Test/Items?list=Struct"), Err(StatusCode::PERMISSION_DENIED));
    // The whole tree.
    let all = t.get(&c, ".?list=Struct").unwrap();
    assert_eq!(all[0].source, ".");
    assert!(all.iter().any(|i| i.source == "./P/q"));
}

#[test]
fn listing_hides_whole_subtrees_even_when_keys_interleave() {
    // Key order puts `L/--` between `L/-` and `L/-/A` ('-' sorts before '/'): the listing must still leave
    // out all of `L/-` when the server may not Get it, even a descendant with its own ACL.
    let mut t = DmTree::default();
    let mut l = t.local(T0);
    l.set_text("./L/-/A", "a").unwrap();
    l.set_text("./L/--", "b").unwrap();
    l.set_acl("./L/-", Acl::parse("Get=other").unwrap()).unwrap();
    l.set_acl("./L/-/A", Acl::parse("Get=*").unwrap()).unwrap();
    l.set_acl("./L/--", Acl::parse("Get=other").unwrap()).unwrap();
    let r = t.get(&ctx("s1"), "./L?list=Struct").unwrap();
    assert_eq!(r.iter().map(|i| i.source.as_str()).collect::<Vec<_>>(), ["./L"]);
    let r = t.get(&ctx("other"), "./L?list=Struct").unwrap();
    assert_eq!(
        r.iter().map(|i| i.source.as_str()).collect::<Vec<_>>(),
        ["./L", "./L/-", "./L/-/A", "./L/--"]
    );
}

#[test]
fn list_tnds() {
    let mut t = test_tree();
    let r = t.get(&ctx("s1"), "./Test/Items?list=TNDS").unwrap();
    assert_eq!((r[0].format, r[0].node_type.as_deref()), (Format::Xml, Some(tnds::TNDS_XML_TYPE)));
    assert_eq!(r[0].source, "./Test/Items?list=TNDS");
    assert_eq!(
        data(&r),
        "<MgmtTree xmlns='syncml:dmddf1.2'><VerDTD>1.2</VerDTD>\
         <Node><NodeName>Items</NodeName><Path>./Test</Path><RTProperties><Format><node/></Format>\
         <Type><DDFName></DDFName></Type></RTProperties>\
         <Node><NodeName>a</NodeName><RTProperties><Format><node/></Format><Type><DDFName></DDFName></Type>\
         </RTProperties><Node><NodeName>Val</NodeName><RTProperties><Format><chr/></Format>\
         <Type><MIME>text/plain</MIME></Type></RTProperties><Value>first</Value></Node></Node></Node>\
         </MgmtTree>"
    );
    // With fields: ACL and VerNo, no Value.
    let xml = data(&t.get(&ctx("s1"), "./Test?list=TNDS+ACL+VerNo").unwrap());
    assert!(xml.contains("<ACL>Add=*&amp;Delete=*&amp;Exec=*&amp;Get=*&amp;Replace=*</ACL>"), "{xml}");
    assert!(xml.contains("<VerNo>") && !xml.contains("<Value>") && !xml.contains("hunter2"), "{xml}");
    // The root: its children are the top-level nodes.
    let xml = data(&t.get(&ctx("s1"), ".?list=TNDS").unwrap());
    assert!(xml.contains("<Node><NodeName>P</NodeName><Path>.</Path>"), "{xml}");
    assert!(xml.contains("<Node><NodeName>Test</NodeName><Path>.</Path>"), "{xml}");
}

// ----- Atomic -------------------------------------------------------------------------------------------

#[test]
fn atomic_rollback_restores_values_and_deleted_subtrees() {
    let mut t = test_tree();
    let before = t.snapshot();
    let c = ctx("s1");
    t.begin_atomic().unwrap();
    assert_eq!(t.begin_atomic(), Err(StatusCode::COMMAND_FAILED), "no Atomic in Atomic");
    t.replace(&c, "./Test/Int", &ItemValue::new("7")).unwrap();
    t.delete(&c, "./Test/Items/a").unwrap();
    t.add(&c, "./Test/Items/b/Val", &chr("x")).unwrap();
    t.replace(&c, "./Test/Items/b?prop=Name", &ItemValue::new("renamed")).unwrap();
    t.replace(&c, "./Test/Int?prop=Title", &ItemValue::new("T")).unwrap();
    t.local(NOW).set_text("./Device/x", "y").unwrap();
    // The snapshot while open is the committed state.
    assert_eq!(t.snapshot(), before);
    assert_eq!(t.text("./Test/Int"), Some("7"));
    t.rollback().unwrap();
    assert_eq!(t.snapshot(), before);
    assert_eq!(t.text("./Test/Items/a/Val"), Some("first"));
    assert!(!t.in_atomic());
    assert_eq!(t.rollback(), Err(StatusCode::COMMAND_FAILED));
    assert_eq!(t.commit(), Err(StatusCode::COMMAND_FAILED));
}

#[test]
fn atomic_commit_keeps_changes() {
    let mut t = test_tree();
    t.begin_atomic().unwrap();
    t.replace(&ctx("s1"), "./Test/Int", &ItemValue::new("7")).unwrap();
    t.commit().unwrap();
    assert_eq!(t.text("./Test/Int"), Some("7"));
    assert_eq!(t.snapshot().nodes.get("Test/Int").and_then(Node::value), Some(&b"7"[..]));
    // A new Atomic can follow.
    t.begin_atomic().unwrap();
    t.rollback().unwrap();
    assert_eq!(t.text("./Test/Int"), Some("7"));
}

// ----- plugins ------------------------------------------------------------------------------------------

#[derive(Default)]
struct Log {
    written: Vec<(WriteKind, String)>,
    pending: Vec<Option<String>>,
}

struct TestPlugin {
    log: Arc<Mutex<Log>>,
}

impl MoPlugin for TestPlugin {
    fn exec(&mut self, tree: &mut DmTree, req: &ExecRequest<'_>) -> ExecOutcome {
        match req.data {
            b"sync" => {
                // The plugin may use the tree: it records the run.
                tree.local(req.now).set_text("./Test/RO", "ran").unwrap();
                ExecOutcome::Done {
                    status: StatusCode::OK,
                    results: Some(ResultItem {
                        source: uri::absolute(req.path),
                        format: Format::Chr,
                        node_type: None,
                        data: Some(b"done".to_vec()),
                    }),
                }
            }
            b"async" => {
                self.log.lock().unwrap().pending.push(req.correlator.map(str::to_owned));
                ExecOutcome::Accepted
            }
            _ => ExecOutcome::Done { status: StatusCode::BAD_REQUEST, results: None },
        }
    }

    fn value(&mut self, _tree: &DmTree, path: &str) -> Option<Vec<u8>> {
        (path == "Test/Flag").then(|| b"false".to_vec())
    }

    fn check_write(&mut self, _tree: &DmTree, event: &WriteEvent) -> Result<(), StatusCode> {
        if event.value.as_deref() == Some(b"13") { Err(StatusCode::COMMAND_FAILED) } else { Ok(()) }
    }

    fn written(&mut self, _tree: &mut DmTree, event: &WriteEvent) {
        self.log.lock().unwrap().written.push((event.kind, event.path.clone()));
    }

    fn poll(&mut self, tree: &mut DmTree, _now: DmTime) {
        let pending = std::mem::take(&mut self.log.lock().unwrap().pending);
        for correlator in pending {
            tree.queue_alert(GenericAlert {
                source_uri: Some("./Test/Run".into()),
                alert_type: "org.example.test.result".into(),
                format: Format::Int,
                mark: Some(Mark::Critical),
                data: b"200".to_vec(),
                correlator,
            });
        }
    }
}

fn plugin_tree() -> (DmTree, Arc<Mutex<Log>>) {
    let mut t = test_tree();
    let log = Arc::new(Mutex::new(Log::default()));
    t.set_plugin("./Test", Some(Box::new(TestPlugin { log: Arc::clone(&log) }))).unwrap();
    (t, log)
}

#[test]
fn plugin_exec_sync_and_async_with_correlator() {
    let (mut t, _log) = plugin_tree();
    let c = ctx("s1");
    let out = t.exec(&c, "./Test/Run", b"sync", None).unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    let ExecOutcome::Done { results: Some(r), .. } = out else { panic!("no results") };
    assert_eq!(r.data.as_deref(), Some(&b"done"[..]));
    assert_eq!(t.text("./Test/RO"), Some("ran"));
    // A handler's failure comes back as its status.
    assert_eq!(t.exec(&c, "./Test/Run", b"bad", None).unwrap().status(), StatusCode::BAD_REQUEST);
    // Asynchronous: 202 now, a Generic Alert with the Correlator later.
    let out = t.exec(&c, "./Test/Run", b"async", Some("corr-42")).unwrap();
    assert_eq!((out.clone(), out.status()), (ExecOutcome::Accepted, StatusCode::ACCEPTED));
    assert!(t.alerts().is_empty());
    // The application can also drive one plugin directly.
    assert_eq!(t.with_plugin("./Test", |p, t| p.poll(t, NOW)), Some(()));
    assert_eq!(t.with_plugin("./P", |p, t| p.poll(t, NOW)), None);
    assert_eq!(t.alerts().len(), 1);
    t.poll_plugins(NOW);
    assert_eq!(t.alerts().len(), 1, "the work was reported once");
    let alerts = t.take_alerts();
    assert_eq!(alerts[0].correlator.as_deref(), Some("corr-42"));
    assert_eq!(
        (alerts[0].mark.map(Mark::as_str), alerts[0].data.as_slice()),
        (Some("critical"), &b"200"[..])
    );
    assert!(t.alerts().is_empty());
    // Exec where the DDF has no Exec: 405; with no plugin: 405; missing: 404.
    assert_eq!(t.exec(&c, "./Test/Int", b"", None), Err(StatusCode::COMMAND_NOT_ALLOWED));
    assert_eq!(t.exec(&c, "./P/q", b"", None), Err(StatusCode::COMMAND_NOT_ALLOWED));
    assert_eq!(t.exec(&c, "./Test/None", b"", None), Err(StatusCode::NOT_FOUND));
    assert_eq!(t.exec(&c, "./Test/Run?prop=ACL", b"", None), Err(StatusCode::COMMAND_NOT_ALLOWED));
}

#[test]
fn plugin_exec_without_handler_is_405() {
    let mut t = test_tree();
    struct Nothing;
    impl MoPlugin for Nothing {}
    t.set_plugin("./Test", Some(Box::new(Nothing))).unwrap();
    assert_eq!(
        t.exec(&ctx("s1"), "./Test/Run", b"", None).unwrap().status(),
        StatusCode::COMMAND_NOT_ALLOWED
    );
    assert_eq!(t.set_plugin("./Nowhere", None), Err(StatusCode::NOT_FOUND));
}

#[test]
fn plugin_computes_values_vetoes_and_is_notified() {
    let (mut t, log) = plugin_tree();
    let c = ctx("s1");
    // Computed on Get (stored "true").
    assert_eq!(get_text(&mut t, "./Test/Flag"), "false");
    assert_eq!(get_text(&mut t, "./Test/Flag?prop=Size"), "5");
    assert_eq!(t.text("./Test/Flag"), Some("true"));
    // Veto: the command fails with the plugin's status and nothing changes.
    let before = t.snapshot();
    assert_eq!(t.replace(&c, "./Test/Int", &ItemValue::new("13")), Err(StatusCode::COMMAND_FAILED));
    assert_eq!(t.snapshot(), before);
    // Notified after writes.
    t.replace(&c, "./Test/Int", &ItemValue::new("12")).unwrap();
    t.delete(&c, "./Test/Items/a").unwrap();
    assert_eq!(
        log.lock().unwrap().written,
        [(WriteKind::Replace, "Test/Int".to_owned()), (WriteKind::Delete, "Test/Items/a".to_owned())]
    );
    // Inside an Atomic: held back until the commit, dropped on rollback.
    log.lock().unwrap().written.clear();
    t.begin_atomic().unwrap();
    t.replace(&c, "./Test/Int", &ItemValue::new("1")).unwrap();
    assert!(log.lock().unwrap().written.is_empty());
    t.rollback().unwrap();
    assert!(log.lock().unwrap().written.is_empty());
    t.begin_atomic().unwrap();
    t.add(&c, "./Test/Items/b", &ItemValue::interior()).unwrap();
    t.commit().unwrap();
    assert_eq!(log.lock().unwrap().written, [(WriteKind::Add, "Test/Items/b".to_owned())]);
    // Free nodes have no plugin.
    t.replace(&c, "./P/q", &ItemValue::new("13")).unwrap();
}

// ----- snapshots ----------------------------------------------------------------------------------------

#[test]
fn snapshot_restore_round_trip() {
    let (mut t, _log) = plugin_tree();
    t.queue_alert(GenericAlert {
        source_uri: None,
        alert_type: "org.example".into(),
        format: Format::Chr,
        mark: None,
        data: b"x".to_vec(),
        correlator: None,
    });
    t.replace(&ctx("s1"), "./Test/Int?prop=Title", &ItemValue::new("T")).unwrap();
    let snap = t.snapshot();
    let json = serde_json::to_string(&snap).unwrap();
    let back: TreeSnapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, snap);
    assert_eq!(serde_json::to_string(&back).unwrap(), json, "JSON → value → JSON is stable");
    // Restore into a freshly configured tree: same data, and the MO rules apply again.
    let mut fresh = DmTree::default();
    fresh.register_mo("./Test", Arc::new(test_ddf()), None).unwrap();
    fresh.restore(back).unwrap();
    assert_eq!(fresh.snapshot(), snap);
    assert_eq!(fresh.alerts().len(), 1);
    assert_eq!(
        fresh.add(&ctx("s1"), "./Test/Unknown", &chr("x")),
        Err(StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED)
    );
    // DmTree itself serialises as its snapshot.
    let tree_json = serde_json::to_string(&t).unwrap();
    let t2: DmTree = serde_json::from_str(&tree_json).unwrap();
    assert_eq!(t2.snapshot(), snap);
    assert_eq!(t2.mo_roots().count(), 0);
    // No restore inside an Atomic.
    fresh.begin_atomic().unwrap();
    assert!(fresh.restore(snap).is_err());
}

#[test]
fn restore_rejects_inconsistent_snapshots() {
    let good = test_tree().snapshot();
    let broken = |f: &dyn Fn(&mut TreeSnapshot)| {
        let mut s = good.clone();
        f(&mut s);
        DmTree::from_snapshot(s).unwrap_err()
    };
    assert_eq!(broken(&|s| s.version = 2).reason, "unknown snapshot version");
    assert_eq!(broken(&|s| drop(s.nodes.remove(""))).path, "");
    assert_eq!(broken(&|s| drop(s.nodes.remove("Test/Items/a"))).path, "Test/Items/a/Val");
    assert_eq!(
        broken(&|s| drop(s.nodes.insert("Test/Int/x".into(), Node::leaf(vec![], Format::Chr)))).path,
        "Test/Int/x"
    );
    assert_eq!(broken(&|s| drop(s.nodes.insert("Test//x".into(), Node::interior()))).path, "Test//x");
    assert_eq!(
        broken(&|s| drop(s.nodes.insert("P/bad".into(), Node::leaf(vec![], Format::Node)))).path,
        "P/bad"
    );
    assert_eq!(broken(&|s| s.limits.max_nodes = 3).reason, "more nodes than max_nodes");
    assert_eq!(
        broken(&|s| s.nodes.get_mut("").unwrap().props.acl = Acl::empty()).reason,
        "the root must exist, be interior and have an ACL value"
    );
    let mut t = test_tree();
    let before = t.snapshot();
    let mut bad = before.clone();
    bad.version = 9;
    assert!(t.restore(bad).is_err());
    assert_eq!(t.snapshot(), before, "a failed restore changes nothing");
}

#[test]
fn debug_output_hides_secrets() {
    let t = test_tree();
    let d = format!("{t:?}");
    assert!(!d.contains("hunter2") && d.contains("<redacted>"), "{d}");
    assert!(d.contains("fixed"));
}

#[test]
fn command_types_round_trip_through_json() {
    let item =
        ItemValue { data: b"x".to_vec(), format: Some(Format::Int), node_type: Some("text/plain".into()) };
    let json = serde_json::to_string(&item).unwrap();
    assert_eq!(serde_json::from_str::<ItemValue>(&json).unwrap(), item);
    let r = ResultItem { source: "./a".into(), format: Format::Node, node_type: None, data: None };
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(json, r#"{"source":"./a","format":"node"}"#);
    assert_eq!(serde_json::from_str::<ResultItem>(&json).unwrap(), r);
    let r = ResultItem { data: Some(vec![0xab]), ..r };
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(serde_json::from_str::<ResultItem>(&json).unwrap(), r);
    assert_eq!(serde_json::to_string(&serde_json::from_str::<ResultItem>(&json).unwrap()).unwrap(), json);
}

#[test]
fn the_tree_can_move_between_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<DmTree>();
}

// ----- property tests -----------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Add(String, Option<Format>, String),
    Replace(String, String),
    Delete(String),
    Copy(String, String),
    Acl(String, String),
    Rename(String, String),
    Title(String, String),
    LocalSet(String, String),
    LocalDelete(String),
    Exec(String),
}

/// Mostly paths that exist or can be made in the base tree, some random ones.
fn path_strategy() -> impl Strategy<Value = String> {
    let known = prop::sample::select(vec![
        "./Test/Int",
        "./Test/Flag",
        "./Test/Run",
        "./Test/Secret",
        "./Test/Items",
        "./Test/Items/a",
        "./Test/Items/a/Val",
        "./Test/Items/b",
        "./Test/Items/b/Val",
        "./Test/Open/x",
        "./P",
        "./P/q",
        "./P/r/s",
    ])
    .prop_map(str::to_owned);
    let seg = prop::sample::select(vec!["Test", "P", "q", "Items", "a", "b", "Val", "Int", "x", "Open"]);
    let random = prop::collection::vec(seg, 1..5).prop_map(|s| format!("./{}", s.join("/")));
    prop_oneof![3 => known, 1 => random]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let p = path_strategy;
    let v = prop::sample::select(vec!["1", "13", "true", "text", ""]).prop_map(str::to_owned);
    let f =
        prop::option::of(prop::sample::select(vec![Format::Chr, Format::Int, Format::Node, Format::Bool]));
    let acl = prop::sample::select(vec!["Get=*", "Add=*&Get=*&Replace=*&Delete=*", "", "Get="])
        .prop_map(str::to_owned);
    let name = prop::sample::select(vec!["a", "b", "z", ".."]).prop_map(str::to_owned);
    prop_oneof![
        (p(), f, v.clone()).prop_map(|(p, f, v)| Op::Add(p, f, v)),
        (p(), v.clone()).prop_map(|(p, v)| Op::Replace(p, v)),
        p().prop_map(Op::Delete),
        (p(), p()).prop_map(|(a, b)| Op::Copy(a, b)),
        (p(), acl).prop_map(|(p, a)| Op::Acl(p, a)),
        (p(), name).prop_map(|(p, n)| Op::Rename(p, n)),
        (p(), v.clone()).prop_map(|(p, v)| Op::Title(p, v)),
        (p(), v).prop_map(|(p, v)| Op::LocalSet(p, v)),
        p().prop_map(Op::LocalDelete),
        p().prop_map(Op::Exec),
    ]
}

fn apply(t: &mut DmTree, op: &Op, server: &str) {
    let c = CommandCtx { server_id: server, now: NOW };
    let _ = match op {
        Op::Add(p, f, v) => {
            t.add(&c, p, &ItemValue { data: v.as_bytes().to_vec(), format: *f, node_type: None })
        }
        Op::Replace(p, v) => t.replace(&c, p, &ItemValue::new(v.as_bytes().to_vec())),
        Op::Delete(p) => t.delete(&c, p),
        Op::Copy(a, b) => t.copy(&c, a, b),
        Op::Acl(p, a) => t.replace(&c, &format!("{p}?prop=ACL"), &ItemValue::new(a.as_bytes().to_vec())),
        Op::Rename(p, n) => t.replace(&c, &format!("{p}?prop=Name"), &ItemValue::new(n.as_bytes().to_vec())),
        Op::Title(p, v) => t.replace(&c, &format!("{p}?prop=Title"), &ItemValue::new(v.as_bytes().to_vec())),
        Op::LocalSet(p, v) => t.local(NOW).set_text(p, v),
        Op::LocalDelete(p) => t.local(NOW).delete(p),
        Op::Exec(p) => t.exec(&c, p, b"sync", Some("c")).map(|_| ()),
    };
}

fn base_tree() -> DmTree {
    let (mut t, _) = plugin_tree();
    t.local(T0).set_acl(".", Acl::parse("Add=*&Get=*&Replace=s1&Delete=s1").unwrap()).unwrap();
    t
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn rollback_restores_the_tree(ops in prop::collection::vec((op_strategy(), prop::bool::ANY), 1..24)) {
        let mut t = base_tree();
        let before = t.snapshot();
        t.begin_atomic().unwrap();
        for (op, first) in &ops {
            apply(&mut t, op, if *first { "s1" } else { "s2" });
        }
        t.rollback().unwrap();
        prop_assert_eq!(t.snapshot(), before);
    }

    #[test]
    fn commit_equals_running_without_atomic(ops in prop::collection::vec(op_strategy(), 1..24)) {
        let mut plain = base_tree();
        let mut atomic = base_tree();
        atomic.begin_atomic().unwrap();
        for op in &ops {
            apply(&mut plain, op, "s1");
            apply(&mut atomic, op, "s1");
        }
        atomic.commit().unwrap();
        prop_assert_eq!(atomic.snapshot(), plain.snapshot());
    }

    #[test]
    fn arbitrary_uris_never_panic(uri in "\\PC{0,40}", q in prop::option::of("[a-zA-Z=+]{0,20}")) {
        let mut t = base_tree();
        let uri = match q { Some(q) => format!("{uri}?{q}"), None => uri };
        let c = ctx("s1");
        let _ = t.get(&c, &uri);
        let _ = t.add(&c, &uri, &ItemValue::new("1"));
        let _ = t.replace(&c, &uri, &ItemValue::new("1"));
        let _ = t.copy(&c, &uri, "./P/q");
        let _ = t.exec(&c, &uri, b"", None);
        let _ = t.delete(&c, &uri);
        prop_assert!(t.node(".").is_some());
    }
}

/// The text a TNDS `Value` should carry for a leaf value (the emitter's documented rule, restated).
fn tnds_value_text(v: &[u8], format: Format) -> String {
    let xml_safe = |t: &str| !t.chars().any(|c| u32::from(c) < 0x20 && !matches!(c, '\t' | '\n' | '\r'));
    match std::str::from_utf8(v) {
        Ok(text) if format != Format::Bin && xml_safe(text) => text.to_owned(),
        _ => m2msim_codec::dm::auth::encode_b64(v),
    }
}

/// Reads a TNDS document back with an independent XML parser: (normalised path, Format name, Value text) of
/// every `Node`, sorted by path.
fn parse_tnds(xml: &str) -> Vec<(String, String, Option<String>)> {
    use quick_xml::events::Event;
    #[derive(Default)]
    struct Open {
        name: String,
        base: Option<String>,
        path: String,
        format: String,
        value: Option<String>,
    }
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<Open> = Vec::new();
    let mut out = Vec::new();
    let mut in_format = false;
    let mut text = String::new();
    let name_of = |n: quick_xml::name::QName<'_>| n.as_ref().to_owned();
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => {
                text.clear();
                match name_of(e.name()).as_str() {
                    "Node" => stack.push(Open::default()),
                    "Format" => in_format = true,
                    "RTProperties" => {
                        // NodeName and Path are known: fix the node's path.
                        let parent = match &stack.last().unwrap().base {
                            Some(base) if base == "." => String::new(),
                            Some(base) => base.strip_prefix("./").unwrap().to_owned(),
                            None => stack[stack.len() - 2].path.clone(),
                        };
                        let top = stack.last_mut().unwrap();
                        top.path = uri::join(&parent, &top.name);
                    }
                    _ => {}
                }
            }
            Event::Empty(e) if in_format => stack.last_mut().unwrap().format = name_of(e.name()),
            // `<Value/>`, `<NodeName/>`, `<Path/>`: empty text.
            Event::Empty(e) => {
                if let Some(top) = stack.last_mut() {
                    match name_of(e.name()).as_str() {
                        "NodeName" => top.name = String::new(),
                        "Path" => top.base = Some(String::new()),
                        "Value" => top.value = Some(String::new()),
                        _ => {}
                    }
                }
            }
            Event::Text(t) => text.push_str(&t.into_inner()),
            Event::GeneralRef(r) => match r.resolve_char_ref().unwrap() {
                Some(c) => text.push(c),
                None => text.push(match &*r.into_inner() {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    other => panic!("unexpected entity {other}"),
                }),
            },
            Event::End(e) => {
                let top = stack.last_mut();
                match (name_of(e.name()).as_str(), top) {
                    ("NodeName", Some(top)) => top.name = std::mem::take(&mut text),
                    ("Path", Some(top)) => top.base = Some(std::mem::take(&mut text)),
                    ("Value", Some(top)) => top.value = Some(std::mem::take(&mut text)),
                    ("Format", _) => in_format = false,
                    ("Node", Some(_)) => {
                        let done = stack.pop().unwrap();
                        out.push((done.path, done.format, done.value));
                    }
                    _ => {}
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out.sort();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Any tree's `?list=TNDS` is well-formed XML that gives back every node with its Format and value.
    #[test]
    fn tnds_reads_back_with_an_xml_parser(
        leaves in prop::collection::vec(
            (
                prop::collection::vec("[A-Za-z0-9_-]{1,6}", 1..4),
                prop_oneof![
                    "[ -~\t\r\n&<>]{0,12}".prop_map(|s| (s.into_bytes(), Format::Chr)),
                    prop::collection::vec(any::<u8>(), 0..12).prop_map(|b| (b, Format::Bin)),
                    prop::collection::vec(any::<u8>(), 0..12).prop_map(|b| (b, Format::Chr)),
                ],
            ),
            1..12,
        )
    ) {
        let mut t = DmTree::default();
        for (segs, (value, format)) in &leaves {
            let _ = t.local(T0).set_value(&format!("./R/{}", segs.join("/")), value.clone(), *format);
        }
        let xml = data(&t.get(&ctx("s1"), "./R?list=TNDS").unwrap());
        let parsed = parse_tnds(&xml);
        let mut expected: Vec<(String, String, Option<String>)> = t
            .iter()
            .filter(|(p, _)| uri::is_within(p, "R"))
            .map(|(p, n)| {
                let value = n.value().map(|v| tnds_value_text(v, n.props.format));
                (p.to_owned(), n.props.format.as_str().to_owned(), value)
            })
            .collect();
        expected.sort();
        prop_assert_eq!(parsed, expected);
    }
}

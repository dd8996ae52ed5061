//! Grammar-aware mutations of a valid server package (issue 10 §2): [`mutate`] turns the bytes the real
//! engine wrote into a [`Mutant`] of one [`MutationKind`], with what a conforming client should do with
//! it ([`Expect`]).
//!
//! Three levels, each where it is most precise:
//! - the SyncML element tree (fields, codes, `Meta`, nesting, repeated or missing elements), written back
//!   in the package's own encoding and dialect, so that only the intended field differs;
//! - the WBXML token stream (`mb_u_int32` overflows, `STR_T` offsets, code pages, `OPAQUE` lengths, `END`
//!   balance, unusual global tokens) and the XML text (broken markup, entities, charsets), on the bytes;
//! - the HTTP exchange (truncation, oversize, content type, `x-syncml-hmac`, nonces and credentials).
//!
//! Everything is drawn from a [`Rng`] seeded by the caller: the same seed gives the same mutants.

use std::borrow::Cow;

use m2msim_codec::syncml::tree::{self, Element, Namespace, Node};
use m2msim_codec::syncml::{Encoding, Wire};
use m2msim_codec::wbxml::{self, MbUint32, Token};
use m2msim_codec::xml::{self, Mode};
use m2msim_codec::{Decode as _, Encode as _};
use serde::{Deserialize, Serialize};

/// A small deterministic generator (SplitMix64): the fuzzer's only source of choices, so that a seed
/// reproduces a run.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Self(seed ^ 0x6A09_E667_F3BC_C908)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { usize::try_from(self.next_u64() % n as u64).unwrap_or(0) }
    }

    /// One of `items` (`None` when empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }
}

/// What a mutation changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MutationKind {
    /// No mutation: the valid package as the engine wrote it (checks the harness and the client's normal
    /// answer).
    Control,
    /// A command's target `LocURI` made invalid (empty, `..`, empty segments, 4 KiB long, bad escapes).
    LocUri,
    /// A command's `CmdID` (0, negative, not a number, beyond 32 bits, a duplicate).
    CmdId,
    /// A `Status`'s `MsgRef`.
    MsgRef,
    /// A `Status`'s `CmdRef`.
    CmdRef,
    /// A `Status` code (unknown, not a number, empty).
    StatusCode,
    /// An `Alert` code.
    AlertCode,
    /// `Meta` `Format` of an item.
    MetaFormat,
    /// `Meta` `Type`.
    MetaType,
    /// `Meta` `Size` (negative, beyond 32 bits, not a number).
    MetaSize,
    /// `MaxMsgSize` in the `SyncHdr` (0, 1, not a number, beyond 64 bits).
    MaxMsgSize,
    /// The `SessionID` changed in the middle of the session.
    SessionId,
    /// A required element left out (`VerDTD`, `SessionID`, `MsgID`, `Target`, `CmdID`, `Final`).
    DropElement,
    /// An element repeated (a command 2–500 times, an item, the `SyncHdr`, `Final`).
    RepeatElement,
    /// A command wrapped in nested `Atomic`/`Sequence` up to beyond the codec's depth limit.
    DeepNesting,
    /// A WBXML `mb_u_int32` (string-table length, `OPAQUE` length, `STR_T` offset, public id) overflowing.
    WbxmlMbUint32,
    /// A `STR_T` reference past the string table.
    WbxmlStrT,
    /// `SWITCH_PAGE` to an undefined or another code page before a tag.
    WbxmlCodePage,
    /// An `OPAQUE` length beyond the document.
    WbxmlOpaqueLength,
    /// `END` tokens missing or extra.
    WbxmlEnd,
    /// Global tokens SyncML does not use (`EXT_*`, `PI`, `LITERAL`, `ENTITY`).
    WbxmlUnknownToken,
    /// Broken XML markup (unclosed or mismatched tags, stray `<`, NUL, invalid UTF-8).
    XmlMalformed,
    /// XML entities: internal DTD with nested entities, external entities, undefined and invalid
    /// character references. Real devices send undeclared entities and raw `&`, so a lenient client may
    /// process the message; what it must not do is expand them (a hang, a crash, or file content in its
    /// answer would show it did): [`Expect::Any`].
    XmlEntity,
    /// The body cut short (down to empty).
    Truncate,
    /// A body over the client's `MaxMsgSize`, or of several MiB.
    Oversize,
    /// A `Content-Type` that does not match the body (the other encoding, another type, none).
    ContentType,
    /// A charset that does not match the bytes (XML declaration, WBXML charset, `Content-Type` parameter).
    Charset,
    /// The `x-syncml-hmac` header wrong, missing or malformed.
    Hmac,
    /// A `NextNonce` that is not base64, empty or 10 KB long.
    Nonce,
    /// This server's `Cred` wrong (data, type) or a bogus one added.
    Cred,
}

impl MutationKind {
    /// Every kind, in the order a run cycles through them.
    pub const ALL: [Self; 30] = [
        Self::Control,
        Self::LocUri,
        Self::CmdId,
        Self::MsgRef,
        Self::CmdRef,
        Self::StatusCode,
        Self::AlertCode,
        Self::MetaFormat,
        Self::MetaType,
        Self::MetaSize,
        Self::MaxMsgSize,
        Self::SessionId,
        Self::DropElement,
        Self::RepeatElement,
        Self::DeepNesting,
        Self::WbxmlMbUint32,
        Self::WbxmlStrT,
        Self::WbxmlCodePage,
        Self::WbxmlOpaqueLength,
        Self::WbxmlEnd,
        Self::WbxmlUnknownToken,
        Self::XmlMalformed,
        Self::XmlEntity,
        Self::Truncate,
        Self::Oversize,
        Self::ContentType,
        Self::Charset,
        Self::Hmac,
        Self::Nonce,
        Self::Cred,
    ];

    /// The snake_case name (as in the JSON report).
    #[must_use]
    pub fn name(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    }
}

/// What a conforming client does with a mutant (DM 1.2.1 RepPro §6, Protocol §2, Security §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "expect")]
pub enum Expect {
    /// A valid message: every command gets its `Status`, with the right `MsgRef`/`CmdRef`.
    Accept,
    /// A valid message whose commands with these `CmdID`s are invalid: they must not get a 2xx status.
    RejectCommands {
        /// The `CmdID`s (as written).
        cmd_ids: Vec<String>,
    },
    /// The message must not be processed: no 2xx status for any of its commands (an abort, an error
    /// status, or no answer are all fine).
    RejectMessage,
    /// Anything but a crash (the specifications leave the answer open).
    Any,
}

/// One mutated package, ready to serve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mutant {
    /// The kind actually applied.
    pub kind: MutationKind,
    /// What was changed, in words.
    pub description: String,
    /// The HTTP body.
    #[serde(with = "m2msim_codec::hexser")]
    pub body: Vec<u8>,
    /// The `Content-Type` header (`None`: left out).
    pub content_type: Option<String>,
    /// The `x-syncml-hmac` header as the mutation left it (see [`Mutant::recompute_hmac`]).
    pub hmac: Option<String>,
    /// True when the sender must compute the `x-syncml-hmac` afresh over [`Mutant::body`] (every mutation
    /// but [`MutationKind::Hmac`]: the client must see a correctly authenticated message so that it parses
    /// the mutation instead of refusing the MAC).
    pub recompute_hmac: bool,
    /// What a conforming client does with it.
    pub expect: Expect,
}

/// A valid package as the engine wrote it, and what the mutations need to know about the session.
#[derive(Debug, Clone)]
pub struct Package<'a> {
    /// The body.
    pub body: &'a [u8],
    /// Its `Content-Type`.
    pub content_type: &'a str,
    /// Its `x-syncml-hmac` header, if any.
    pub hmac: Option<&'a str>,
    /// How it is written.
    pub wire: Wire,
    /// The client's `MaxMsgSize` (from its package 1), if it gave one.
    pub client_max_msg_size: Option<u64>,
}

/// Applies `kind` to `pkg`. A kind that does not apply to this package (a WBXML token mutation of an XML
/// message, an `Alert` code when there is no `Alert`, …) falls back to another kind that does; the
/// [`Mutant::kind`] says which one was applied and the description names the fallback.
#[must_use]
pub fn mutate(kind: MutationKind, pkg: &Package<'_>, rng: &mut Rng) -> Mutant {
    if let Some(m) = try_kind(kind, pkg, rng) {
        return m;
    }
    let fallback = match (kind, pkg.wire.encoding) {
        (MutationKind::WbxmlEnd | MutationKind::WbxmlCodePage | MutationKind::WbxmlStrT, Encoding::Xml) => {
            MutationKind::XmlMalformed
        }
        (
            MutationKind::WbxmlMbUint32 | MutationKind::WbxmlOpaqueLength | MutationKind::WbxmlUnknownToken,
            Encoding::Xml,
        ) => MutationKind::XmlEntity,
        (MutationKind::XmlMalformed, Encoding::Wbxml) => MutationKind::WbxmlEnd,
        (MutationKind::XmlEntity, Encoding::Wbxml) => MutationKind::WbxmlStrT,
        _ => MutationKind::RepeatElement,
    };
    let mut m = try_kind(fallback, pkg, rng).unwrap_or_else(|| truncate(pkg, rng));
    m.description = format!("{} (fallback: {} does not apply)", m.description, kind.name());
    m
}

fn try_kind(kind: MutationKind, pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    use MutationKind as K;
    match kind {
        K::Control => Some(base(pkg, K::Control, "the valid package, unchanged".into(), Expect::Accept)),
        K::LocUri => loc_uri(pkg, rng),
        K::CmdId => cmd_id(pkg, rng),
        K::MsgRef => status_field(pkg, rng, K::MsgRef, "MsgRef"),
        K::CmdRef => status_field(pkg, rng, K::CmdRef, "CmdRef"),
        K::StatusCode => status_field(pkg, rng, K::StatusCode, "Data"),
        K::AlertCode => alert_code(pkg, rng),
        K::MetaFormat => meta_format(pkg, rng),
        K::MetaType => meta_type(pkg, rng),
        K::MetaSize => meta_size(pkg, rng),
        K::MaxMsgSize => max_msg_size(pkg, rng),
        K::SessionId => session_id(pkg, rng),
        K::DropElement => drop_element(pkg, rng),
        K::RepeatElement => repeat_element(pkg, rng),
        K::DeepNesting => deep_nesting(pkg, rng),
        K::WbxmlMbUint32 => wbxml_mb_u_int32(pkg, rng),
        K::WbxmlStrT => wbxml_str_t(pkg, rng),
        K::WbxmlCodePage => wbxml_code_page(pkg, rng),
        K::WbxmlOpaqueLength => wbxml_opaque(pkg, rng),
        K::WbxmlEnd => wbxml_end(pkg, rng),
        K::WbxmlUnknownToken => wbxml_unknown(pkg, rng),
        K::XmlMalformed => xml_malformed(pkg, rng),
        K::XmlEntity => xml_entity(pkg, rng),
        K::Truncate => Some(truncate(pkg, rng)),
        K::Oversize => oversize(pkg, rng),
        K::ContentType => Some(content_type(pkg, rng)),
        K::Charset => charset(pkg, rng),
        K::Hmac => Some(hmac(pkg, rng)),
        K::Nonce => nonce(pkg, rng),
        K::Cred => cred(pkg, rng),
    }
}

fn base(pkg: &Package<'_>, kind: MutationKind, description: String, expect: Expect) -> Mutant {
    Mutant {
        kind,
        description,
        body: pkg.body.to_vec(),
        content_type: Some(pkg.content_type.to_owned()),
        hmac: pkg.hmac.map(str::to_owned),
        recompute_hmac: true,
        expect,
    }
}

fn with_body(pkg: &Package<'_>, kind: MutationKind, description: String, body: Vec<u8>, e: Expect) -> Mutant {
    Mutant { body, ..base(pkg, kind, description, e) }
}

// ---------------------------------------------------------------------------------------------------------
// The element tree.

/// The commands a server sends (their elements), `Atomic`/`Sequence` included.
const COMMANDS: [&str; 9] =
    ["Add", "Alert", "Atomic", "Copy", "Delete", "Exec", "Get", "Replace", "Sequence"];

fn tree_of(pkg: &Package<'_>) -> Option<tree::Document> {
    match pkg.wire.encoding {
        Encoding::Wbxml => {
            let d = wbxml::Document::decode_exact(pkg.body).ok()?;
            tree::Document::from_wbxml(&d).ok()
        }
        Encoding::Xml => {
            let d = xml::Document::parse_bytes(pkg.body, Mode::Lenient).ok()?;
            tree::Document::from_xml(&d).ok()
        }
    }
}

fn write_tree(doc: &tree::Document, wire: &Wire) -> Option<Vec<u8>> {
    match wire.encoding {
        Encoding::Wbxml => doc.to_wbxml(&wire.profile).ok().map(|d| d.encode()),
        Encoding::Xml => doc.to_xml(&wire.profile).ok().map(String::into_bytes),
    }
}

fn child_index(e: &Element, name: &str) -> Option<usize> {
    e.children.iter().position(|n| matches!(n, Node::Element(c) if c.name == name))
}

fn child_mut<'a>(e: &'a mut Element, name: &str) -> Option<&'a mut Element> {
    e.children.iter_mut().find_map(|n| match n {
        Node::Element(c) if c.name == name => Some(c),
        _ => None,
    })
}

/// The first element called `name` at or below `e`, depth first.
fn find_mut<'a>(e: &'a mut Element, name: &str) -> Option<&'a mut Element> {
    if e.name == name {
        return Some(e);
    }
    e.children.iter_mut().find_map(|n| match n {
        Node::Element(c) => find_mut(c, name),
        _ => None,
    })
}

fn contains(e: &Element, name: &str) -> bool {
    e.name == name || e.elements().any(|c| contains(c, name))
}

fn text(e: &Element, child: &str) -> Option<String> {
    e.child(child).and_then(Element::text).map(Cow::into_owned)
}

fn set_text(e: &mut Element, value: impl Into<String>) {
    e.children = vec![Node::Text(value.into())];
}

fn at_path<'a>(mut e: &'a mut Element, path: &[usize]) -> Option<&'a mut Element> {
    for &i in path {
        e = match e.children.get_mut(i)? {
            Node::Element(c) => c,
            _ => return None,
        };
    }
    Some(e)
}

fn at_path_ref<'a>(mut e: &'a Element, path: &[usize]) -> Option<&'a Element> {
    for &i in path {
        e = match e.children.get(i)? {
            Node::Element(c) => c,
            _ => return None,
        };
    }
    Some(e)
}

/// Paths (child indices from the root) of every element below `SyncBody` whose name is in `names`,
/// looking inside `Atomic` and `Sequence`.
fn paths(root: &Element, names: &[&str]) -> Vec<Vec<usize>> {
    fn walk(e: &Element, names: &[&str], prefix: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        for (i, n) in e.children.iter().enumerate() {
            let Node::Element(c) = n else { continue };
            prefix.push(i);
            if names.contains(&&*c.name) {
                out.push(prefix.clone());
            }
            if c.name == "Atomic" || c.name == "Sequence" {
                walk(c, names, prefix, out);
            }
            prefix.pop();
        }
    }
    let mut out = Vec::new();
    if let Some(b) = child_index(root, "SyncBody") {
        let mut prefix = vec![b];
        if let Some(Node::Element(body)) = root.children.get(b) {
            walk(body, names, &mut prefix, &mut out);
        }
    }
    out
}

/// Runs `f` on the tree of `pkg` and writes it back; `f` returns the description and the expectation, or
/// `None` when the mutation does not apply.
fn on_tree(
    pkg: &Package<'_>,
    kind: MutationKind,
    f: impl FnOnce(&mut Element) -> Option<(String, Expect)>,
) -> Option<Mutant> {
    let mut doc = tree_of(pkg)?;
    let (description, expect) = f(&mut doc.root)?;
    let body = write_tree(&doc, &pkg.wire)?;
    // A value drawn equal to the one there changes nothing: let the caller fall back.
    (body != pkg.body).then(|| with_body(pkg, kind, description, body, expect))
}

const BAD_URIS: [&str; 8] =
    ["", "/", "./a//b", "../escape", "./DevInfo/../../x", "./%ZZ", "./x\u{7F}y", "LONG"];

fn loc_uri(pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    on_tree(pkg, MutationKind::LocUri, |root| {
        let cands: Vec<_> = paths(root, &["Add", "Copy", "Delete", "Exec", "Get", "Replace"])
            .into_iter()
            .filter(|p| at_path_ref(root, p).is_some_and(|c| contains(c, "LocURI")))
            .collect();
        let path = rng.pick(&cands)?.clone();
        let bad = match *rng.pick(&BAD_URIS)? {
            "LONG" => format!("./{}", "A".repeat(4096)),
            s => s.to_owned(),
        };
        let cmd = at_path(root, &path)?;
        let id = text(cmd, "CmdID").unwrap_or_default();
        let name = cmd.name.to_string();
        let item = child_mut(cmd, "Item")?;
        let loc = find_mut(item, "LocURI")?;
        let old = loc.text().map(Cow::into_owned).unwrap_or_default();
        set_text(loc, bad.clone());
        let shown: String = bad.chars().take(40).collect();
        Some((
            format!("{name} CmdID {id}: LocURI {old:?} → {shown:?} ({} chars)", bad.chars().count()),
            Expect::RejectCommands { cmd_ids: vec![id] },
        ))
    })
}

fn cmd_id(pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    on_tree(pkg, MutationKind::CmdId, |root| {
        let cands = paths(root, &COMMANDS);
        let path = rng.pick(&cands)?.clone();
        let other = cands
            .iter()
            .filter(|p| **p != path)
            .find_map(|p| at_path_ref(root, p).and_then(|c| text(c, "CmdID")))
            .unwrap_or_else(|| "1".into());
        let values = ["0", "-1", "abc", "", "4294967296", "99999999999999999999", " 7 ", "DUP"];
        let v = match *rng.pick(&values)? {
            "DUP" => other,
            v => v.to_owned(),
        };
        let cmd = at_path(root, &path)?;
        let name = cmd.name.to_string();
        let id = child_mut(cmd, "CmdID")?;
        let old = id.text().map(Cow::into_owned).unwrap_or_default();
        set_text(id, v.clone());
        Some((format!("{name}: CmdID {old:?} → {v:?}"), Expect::Any))
    })
}

fn status_field(pkg: &Package<'_>, rng: &mut Rng, kind: MutationKind, field: &'static str) -> Option<Mutant> {
    on_tree(pkg, kind, |root| {
        let cands = paths(root, &["Status"]);
        let path = rng.pick(&cands)?.clone();
        let values: &[&str] = match field {
            "Data" => &["999", "abc", "", "0", "200000", "212", "401", "-200"],
            _ => &["0", "999", "abc", "", "-1", "4294967296"],
        };
        let st = at_path(root, &path)?;
        let cmd = text(st, "Cmd").unwrap_or_default();
        let f = child_mut(st, field)?;
        let old = f.text().map(Cow::into_owned).unwrap_or_default();
        let others: Vec<&str> = values.iter().copied().filter(|v| *v != old).collect();
        let v = (*rng.pick(&others)?).to_owned();
        set_text(f, v.clone());
        Some((format!("Status for {cmd}: {field} {old:?} → {v:?}"), Expect::Any))
    })
}

fn alert_code(pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    on_tree(pkg, MutationKind::AlertCode, |root| {
        let cands = paths(root, &["Alert"]);
        let path = rng.pick(&cands)?.clone();
        let values = ["9999", "abc", "", "-1", "1223", "1201", "1226"];
        let v = (*rng.pick(&values)?).to_owned();
        let alert = at_path(root, &path)?;
        let id = text(alert, "CmdID").unwrap_or_default();
        let data = child_mut(alert, "Data")?;
        let old = data.text().map(Cow::into_owned).unwrap_or_default();
        set_text(data, v.clone());
        // 1223 (session abort) and 1201 are meaningful codes a client may act on; the others are garbage,
        // and 1226 is a client-only alert.
        let expect = match v.as_str() {
            "1223" | "1201" => Expect::Any,
            _ => Expect::RejectCommands { cmd_ids: vec![id.clone()] },
        };
        Some((format!("Alert CmdID {id}: code {old:?} → {v:?}"), expect))
    })
}

fn meta_format(pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    on_tree(pkg, MutationKind::MetaFormat, |root| {
        let cands: Vec<_> = paths(root, &["Add", "Replace"])
            .into_iter()
            .filter(|p| at_path_ref(root, p).is_some_and(|c| contains(c, "Format") && contains(c, "Data")))
            .collect();
        let path = rng.pick(&cands)?.clone();
        let values = ["bogus", "", "b64", "node", "int"];
        let v = (*rng.pick(&values)?).to_owned();
        let cmd = at_path(root, &path)?;
        let id = text(cmd, "CmdID").unwrap_or_default();
        let name = cmd.name.to_string();
        let f = find_mut(cmd, "Format")?;
        let old = f.text().map(Cow::into_owned).unwrap_or_default();
        set_text(f, v.clone());
        let expect = match v.as_str() {
            "bogus" | "" => Expect::RejectCommands { cmd_ids: vec![id.clone()] },
            _ => Expect::Any,
        };
        Some((format!("{name} CmdID {id}: Meta Format {old:?} → {v:?}"), expect))
    })
}

fn meta_type(pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    on_tree(pkg, MutationKind::MetaType, |root| {
        let cands: Vec<_> = paths(root, &COMMANDS)
            .into_iter()
            .filter(|p| at_path_ref(root, p).is_some_and(|c| contains(c, "Type")))
            .collect();
        let path = rng.pick(&cands)?.clone();
        let values = ["", "application/x-bogus", "LONG", "text/plain; charset=utf-32", "*/*"];
        let v = match *rng.pick(&values)? {
            "LONG" => "a".repeat(2048),
            v => v.to_owned(),
        };
        let cmd = at_path(root, &path)?;
        let name = cmd.name.to_string();
        let t = find_mut(cmd, "Type")?;
        set_text(t, v.clone());
        Some((format!("{name}: Meta Type → {:?} ({} chars)", truncated(&v), v.len()), Expect::Any))
    })
}

fn meta_size(pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    on_tree(pkg, MutationKind::MetaSize, |root| {
        let cands: Vec<_> = paths(root, &["Add", "Replace"])
            .into_iter()
            .filter(|p| at_path_ref(root, p).is_some_and(|c| contains(c, "Data")))
            .collect();
        let path = rng.pick(&cands)?.clone();
        let values = ["-1", "abc", "4294967296", "0", "99999999999999", ""];
        let v = (*rng.pick(&values)?).to_owned();
        let cmd = at_path(root, &path)?;
        let name = cmd.name.to_string();
        if let Some(s) = find_mut(cmd, "Size") {
            set_text(s, v.clone());
        } else {
            let item = child_mut(cmd, "Item")?;
            let size = Element::new(Namespace::MetInf, "Size").with_text(v.clone());
            match child_mut(item, "Meta") {
                Some(meta) => meta.children.push(Node::Element(size)),
                None => {
                    let at = child_index(item, "Data").unwrap_or(item.children.len());
                    item.children
                        .insert(at, Node::Element(Element::new(Namespace::SyncMl, "Meta").with(size)));
                }
            }
        }
        Some((format!("{name}: Meta Size → {v:?}"), Expect::Any))
    })
}

fn max_msg_size(pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    on_tree(pkg, MutationKind::MaxMsgSize, |root| {
        let values = ["0", "1", "abc", "-1", "18446744073709551616", "100", ""];
        let v = (*rng.pick(&values)?).to_owned();
        let hdr = child_mut(root, "SyncHdr")?;
        if let Some(m) = find_mut(hdr, "MaxMsgSize") {
            set_text(m, v.clone());
        } else {
            let m = Element::new(Namespace::MetInf, "MaxMsgSize").with_text(v.clone());
            match child_mut(hdr, "Meta") {
                Some(meta) => meta.children.push(Node::Element(m)),
                None => hdr.children.push(Node::Element(Element::new(Namespace::SyncMl, "Meta").with(m))),
            }
        }
        Some((format!("SyncHdr MaxMsgSize → {v:?}"), Expect::Any))
    })
}

fn session_id(pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    on_tree(pkg, MutationKind::SessionId, |root| {
        let hdr = child_mut(root, "SyncHdr")?;
        let s = child_mut(hdr, "SessionID")?;
        let old = s.text().map(Cow::into_owned).unwrap_or_default();
        let values = [String::new(), "0".into(), "FFFFFFFF".into(), "x".repeat(300), format!("{old}1")];
        let v = rng.pick(&values)?.clone();
        set_text(s, v.clone());
        Some((format!("SyncHdr SessionID {old:?} → {:?}", truncated(&v)), Expect::RejectMessage))
    })
}

fn drop_element(pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    on_tree(pkg, MutationKind::DropElement, |root| {
        let choice = rng.below(7);
        let remove = |e: &mut Element, name: &str| -> Option<()> {
            let i = child_index(e, name)?;
            e.children.remove(i);
            Some(())
        };
        match choice {
            0..=3 => {
                let name = ["VerDTD", "SessionID", "MsgID", "Target"][choice];
                remove(child_mut(root, "SyncHdr")?, name)?;
                Some((format!("SyncHdr without {name}"), Expect::RejectMessage))
            }
            4 => {
                let cands = paths(root, &COMMANDS);
                let path = rng.pick(&cands)?.clone();
                let cmd = at_path(root, &path)?;
                let name = cmd.name.to_string();
                remove(cmd, "CmdID")?;
                Some((format!("{name} without CmdID"), Expect::Any))
            }
            5 => {
                let cands: Vec<_> = paths(root, &["Add", "Delete", "Exec", "Get", "Replace"])
                    .into_iter()
                    .filter(|p| {
                        at_path_ref(root, p)
                            .and_then(|c| c.child("Item"))
                            .is_some_and(|i| i.child("Target").is_some())
                    })
                    .collect();
                let path = rng.pick(&cands)?.clone();
                let cmd = at_path(root, &path)?;
                let id = text(cmd, "CmdID").unwrap_or_default();
                let name = cmd.name.to_string();
                remove(child_mut(cmd, "Item")?, "Target")?;
                Some((
                    format!("{name} CmdID {id}: Item without Target"),
                    Expect::RejectCommands { cmd_ids: vec![id] },
                ))
            }
            _ => {
                remove(child_mut(root, "SyncBody")?, "Final")?;
                Some(("SyncBody without Final".into(), Expect::Any))
            }
        }
    })
}

fn repeat_element(pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    on_tree(pkg, MutationKind::RepeatElement, |root| {
        let n = *rng.pick(&[2usize, 50, 500])?;
        match rng.below(4) {
            0 => {
                let cands = paths(root, &COMMANDS);
                let path = rng.pick(&cands)?.clone();
                let (last, parent_path) = path.split_last()?;
                let parent = at_path(root, parent_path)?;
                let node = parent.children.get(*last)?.clone();
                let name = match &node {
                    Node::Element(e) => e.name.to_string(),
                    _ => String::new(),
                };
                for _ in 1..n {
                    parent.children.insert(*last, node.clone());
                }
                Some((format!("{name} repeated {n} times (same CmdID)"), Expect::Any))
            }
            1 => {
                let cands: Vec<_> = paths(root, &COMMANDS)
                    .into_iter()
                    .filter(|p| at_path_ref(root, p).is_some_and(|c| c.child("Item").is_some()))
                    .collect();
                let path = rng.pick(&cands)?.clone();
                let cmd = at_path(root, &path)?;
                let name = cmd.name.to_string();
                let i = child_index(cmd, "Item")?;
                let item = cmd.children.get(i)?.clone();
                for _ in 1..n {
                    cmd.children.insert(i, item.clone());
                }
                Some((format!("{name}: Item repeated {n} times"), Expect::Any))
            }
            2 => {
                let i = child_index(root, "SyncHdr")?;
                let hdr = root.children.get(i)?.clone();
                root.children.insert(i, hdr);
                Some(("SyncHdr twice".into(), Expect::RejectMessage))
            }
            _ => {
                let body = child_mut(root, "SyncBody")?;
                for _ in 1..n {
                    body.children.push(Node::Element(Element::new(Namespace::SyncMl, "Final")));
                }
                Some((format!("Final repeated {n} times"), Expect::Any))
            }
        }
    })
}

fn deep_nesting(pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    let depth = *rng.pick(&[2usize, 20, 100, 300])?;
    let mut doc = tree_of(pkg)?;
    let cands = paths(&doc.root, &["Add", "Delete", "Exec", "Get", "Replace"]);
    let path = rng.pick(&cands)?.clone();
    let (last, parent_path) = path.split_last()?;
    let parent = at_path(&mut doc.root, parent_path)?;
    let mut node = parent.children.get(*last)?.clone();
    for d in 0..depth {
        let name = if d % 2 == 0 { "Sequence" } else { "Atomic" };
        let id = Element::new(Namespace::SyncMl, "CmdID").with_text((1000 + depth - d).to_string());
        node = Node::Element(Element::new(Namespace::SyncMl, name).with(id).with(node));
    }
    *parent.children.get_mut(*last)? = node;
    let body = write_tree(&doc, &pkg.wire)?;
    // Beyond the decoders' depth limit (WBXML 256) a client must refuse the message; Atomic inside Atomic
    // is refused per command (500), which the statuses show.
    let expect = if depth > 200 { Expect::RejectMessage } else { Expect::Any };
    Some(with_body(
        pkg,
        MutationKind::DeepNesting,
        format!("a command wrapped in {depth} nested Sequence/Atomic"),
        body,
        expect,
    ))
}

fn truncated(s: &str) -> String {
    s.chars().take(40).collect()
}

// ---------------------------------------------------------------------------------------------------------
// WBXML tokens.

/// A WBXML document with the byte offset of each body token.
struct Tokens {
    doc: wbxml::Document,
    bytes: Vec<u8>,
    /// Offset of each token of `doc.body` in `bytes`.
    at: Vec<usize>,
    /// Where the body starts.
    body_start: usize,
}

fn tokens(pkg: &Package<'_>) -> Option<Tokens> {
    if pkg.wire.encoding != Encoding::Wbxml {
        return None;
    }
    let doc = wbxml::Document::decode_exact(pkg.body).ok()?;
    let bytes = pkg.body.to_vec();
    let total: usize = doc.body.iter().map(Token::encoded_len).sum();
    let body_start = bytes.len().checked_sub(total)?;
    let mut at = Vec::with_capacity(doc.body.len());
    let mut o = body_start;
    for t in &doc.body {
        at.push(o);
        o += t.encoded_len();
    }
    Some(Tokens { doc, bytes, at, body_start })
}

fn splice(bytes: &[u8], at: usize, remove: usize, insert: &[u8]) -> Option<Vec<u8>> {
    let end = at.checked_add(remove)?;
    let mut out = bytes.get(..at)?.to_vec();
    out.extend_from_slice(insert);
    out.extend_from_slice(bytes.get(end..)?);
    Some(out)
}

fn wbxml_mutant(pkg: &Package<'_>, kind: MutationKind, description: String, body: Vec<u8>) -> Mutant {
    with_body(pkg, kind, description, body, Expect::RejectMessage)
}

/// `mb_u_int32` encodings no decoder may accept as a small number.
const MB_OVERFLOWS: [(&[u8], &str); 3] = [
    (&[0xFF, 0xFF, 0xFF, 0xFF, 0x7F], "beyond 32 bits"),
    (&[0x8F, 0xFF, 0xFF, 0xFF, 0x7F], "u32::MAX"),
    (&[0x81, 0x80, 0x80, 0x80, 0x80, 0x00], "6 bytes long"),
];

fn wbxml_mb_u_int32(pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    let t = tokens(pkg)?;
    let (enc, what) = *rng.pick(&MB_OVERFLOWS)?;
    // Candidate fields: the string-table length (always there), OPAQUE lengths, STR_T offsets.
    let st_len = t.doc.string_table.len();
    let st_len_field = MbUint32 { value: u32::try_from(st_len).ok()?, pad: t.doc.string_table_len_pad };
    let st_field_at = t.body_start.checked_sub(st_len + st_len_field.encoded_len())?;
    let mut fields = vec![("string-table length", st_field_at, st_len_field.encoded_len())];
    for (tok, &at) in t.doc.body.iter().zip(&t.at) {
        match tok {
            Token::Opaque { len_pad, data } => {
                let n = u32::try_from(data.to_bytes().len()).ok()?;
                fields.push(("OPAQUE length", at + 1, MbUint32 { value: n, pad: *len_pad }.encoded_len()));
            }
            Token::StrT { index } => fields.push(("STR_T offset", at + 1, index.encoded_len())),
            _ => {}
        }
    }
    let &(field, at, len) = rng.pick(&fields)?;
    let body = splice(&t.bytes, at, len, enc)?;
    Some(wbxml_mutant(
        pkg,
        MutationKind::WbxmlMbUint32,
        format!("{field} at byte {at} → mb_u_int32 {what}"),
        body,
    ))
}

fn wbxml_str_t(pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    let t = tokens(pkg)?;
    let strs: Vec<usize> =
        (0..t.doc.body.len()).filter(|&i| matches!(t.doc.body[i], Token::StrI { .. })).collect();
    let i = *rng.pick(&strs)?;
    let st = u32::try_from(t.doc.string_table.len()).ok()?;
    let offset = *rng.pick(&[st, st.saturating_add(1000), 0x0FFF_FFFF])?;
    let mut insert = vec![wbxml::global::STR_T];
    MbUint32::new(offset).write(&mut insert);
    let at = *t.at.get(i)?;
    let body = splice(&t.bytes, at, t.doc.body.get(i)?.encoded_len(), &insert)?;
    Some(wbxml_mutant(
        pkg,
        MutationKind::WbxmlStrT,
        format!("STR_I at byte {at} → STR_T offset {offset} (string table: {st} bytes)"),
        body,
    ))
}

fn wbxml_code_page(pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    let t = tokens(pkg)?;
    let tags: Vec<usize> =
        (0..t.doc.body.len()).filter(|&i| matches!(t.doc.body[i], Token::Tag { .. })).skip(1).collect();
    let i = *rng.pick(&tags)?;
    let page = *rng.pick(&[0x7Fu8, 0xFF, 0x01, 0x02])?;
    let at = *t.at.get(i)?;
    let body = splice(&t.bytes, at, 0, &[wbxml::global::SWITCH_PAGE, page])?;
    let mut m = wbxml_mutant(
        pkg,
        MutationKind::WbxmlCodePage,
        format!("SWITCH_PAGE {page:#04x} inserted before the tag at byte {at}"),
        body,
    );
    if page <= 2 {
        // A defined page: the tag now names another element, which may or may not be valid there.
        m.expect = Expect::Any;
    }
    Some(m)
}

fn wbxml_opaque(pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    let t = tokens(pkg)?;
    let opaques: Vec<usize> =
        (0..t.doc.body.len()).filter(|&i| matches!(t.doc.body[i], Token::Opaque { .. })).collect();
    if let Some(&i) = rng.pick(&opaques) {
        let Token::Opaque { len_pad, data } = t.doc.body.get(i)? else { return None };
        let n = u32::try_from(data.to_bytes().len()).ok()?;
        let old = MbUint32 { value: n, pad: *len_pad };
        let new = *rng.pick(&[n.saturating_add(1), n.saturating_add(1000), 0x0FFF_FFFF])?;
        let mut enc = Vec::new();
        MbUint32::new(new).write(&mut enc);
        let at = *t.at.get(i)? + 1;
        let body = splice(&t.bytes, at, old.encoded_len(), &enc)?;
        return Some(wbxml_mutant(
            pkg,
            MutationKind::WbxmlOpaqueLength,
            format!("OPAQUE at byte {} length {n} → {new}", at - 1),
            body,
        ));
    }
    // No OPAQUE: a STR_I becomes an OPAQUE whose length runs past the end.
    let strs: Vec<usize> =
        (0..t.doc.body.len()).filter(|&i| matches!(t.doc.body[i], Token::StrI { .. })).collect();
    let i = *rng.pick(&strs)?;
    let Token::StrI { bytes } = t.doc.body.get(i)? else { return None };
    let at = *t.at.get(i)?;
    let declared = u32::try_from(t.bytes.len()).ok()?.saturating_add(100);
    let mut insert = vec![wbxml::global::OPAQUE];
    MbUint32::new(declared).write(&mut insert);
    insert.extend_from_slice(bytes);
    let body = splice(&t.bytes, at, bytes.len() + 2, &insert)?;
    Some(wbxml_mutant(
        pkg,
        MutationKind::WbxmlOpaqueLength,
        format!("STR_I at byte {at} → OPAQUE declaring {declared} bytes"),
        body,
    ))
}

fn wbxml_end(pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    let t = tokens(pkg)?;
    let ends: Vec<usize> = (0..t.doc.body.len()).filter(|&i| matches!(t.doc.body[i], Token::End)).collect();
    let (description, body) = match rng.below(4) {
        0 => ("the last END removed".to_owned(), t.bytes.get(..t.bytes.len().checked_sub(1)?)?.to_vec()),
        1 => {
            let i = *rng.pick(&ends)?;
            let at = *t.at.get(i)?;
            (format!("the END at byte {at} removed"), splice(&t.bytes, at, 1, &[])?)
        }
        2 => {
            let i = rng.below(t.at.len());
            let at = *t.at.get(i)?;
            (format!("an extra END inserted at byte {at}"), splice(&t.bytes, at, 0, &[wbxml::global::END])?)
        }
        _ => {
            let mut b = t.bytes.clone();
            b.extend_from_slice(&[wbxml::global::END, wbxml::global::END]);
            ("two extra END after the root".to_owned(), b)
        }
    };
    Some(wbxml_mutant(pkg, MutationKind::WbxmlEnd, description, body))
}

fn wbxml_unknown(pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    let t = tokens(pkg)?;
    // Inside content: after a tag with content, before its first child.
    let spots: Vec<usize> = (0..t.doc.body.len())
        .filter(|&i| matches!(t.doc.body[i], Token::Tag { byte } if byte & wbxml::global::HAS_CONTENT != 0))
        .collect();
    let i = *rng.pick(&spots)?;
    let at = *t.at.get(i)? + 1;
    let choices: [(&[u8], &str); 6] = [
        (&[0x40, b'x', 0x00], "EXT_I_0 \"x\""),
        (&[0x80, 0x05], "EXT_T_0 5"),
        (&[0xC0], "EXT_0"),
        (&[0x43, 0x04, 0x00, 0x01], "PI"),
        (&[0x04, 0x00], "LITERAL"),
        (&[0x02, 0x81, 0x00], "ENTITY 128"),
    ];
    let (insert, name) = *rng.pick(&choices)?;
    let body = splice(&t.bytes, at, 0, insert)?;
    Some(with_body(
        pkg,
        MutationKind::WbxmlUnknownToken,
        format!("{name} inserted at byte {at}"),
        body,
        Expect::Any,
    ))
}

// ---------------------------------------------------------------------------------------------------------
// XML text.

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len().max(1)).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len().max(1)).rposition(|w| w == needle)
}

fn xml_malformed(pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    if pkg.wire.encoding != Encoding::Xml {
        return None;
    }
    let b = pkg.body;
    let (description, body) = match rng.below(6) {
        0 => {
            let at = rfind(b, b"</SyncML>")?;
            ("closing </SyncML> removed".to_owned(), splice(b, at, 9, &[])?)
        }
        1 => {
            let at = rfind(b, b"</SyncBody>")?;
            ("</SyncBody> renamed </SyncBodx>".to_owned(), splice(b, at, 11, b"</SyncBodx>")?)
        }
        2 => {
            let at = find(b, b"<SyncBody>")? + 10;
            (format!("a stray '<' at byte {at}"), splice(b, at, 0, b"<")?)
        }
        3 => {
            let at = find(b, b"<SyncBody>")? + 10;
            (format!("a NUL byte at byte {at}"), splice(b, at, 0, &[0])?)
        }
        4 => {
            let at = find(b, b"<SyncBody>")? + 10;
            (format!("invalid UTF-8 (FF FE) at byte {at}"), splice(b, at, 0, &[0xFF, 0xFE])?)
        }
        _ => {
            let at = find(b, b"<SyncHdr>")? + 9;
            ("an unclosed <Bogus> in the SyncHdr".to_owned(), splice(b, at, 0, b"<Bogus>")?)
        }
    };
    Some(with_body(pkg, MutationKind::XmlMalformed, description, body, Expect::RejectMessage))
}

fn xml_entity(pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    if pkg.wire.encoding != Encoding::Xml {
        return None;
    }
    let b = pkg.body;
    let root = find(b, b"<SyncML")?;
    let after_body = find(b, b"<SyncBody>")? + 10;
    let (description, body) = match rng.below(4) {
        0 => {
            let mut dtd = String::from("<!DOCTYPE SyncML [<!ENTITY a0 \"aaaaaaaaaa\">");
            for i in 1..10 {
                let p = format!("&a{};", i - 1);
                dtd.push_str(&format!("<!ENTITY a{i} \"{}\">", p.repeat(10)));
            }
            dtd.push_str("]>");
            let with_dtd = splice(b, root, 0, dtd.as_bytes())?;
            let at = find(&with_dtd, b"<SyncBody>")? + 10;
            (
                "internal DTD with 10^10-fold nested entities, &a9; in the body".to_owned(),
                splice(&with_dtd, at, 0, b"&a9;")?,
            )
        }
        1 => {
            let dtd = b"<!DOCTYPE SyncML [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>";
            let with_dtd = splice(b, root, 0, dtd)?;
            let at = find(&with_dtd, b"<SyncBody>")? + 10;
            (
                "external entity (file:///etc/passwd) referenced in the body".to_owned(),
                splice(&with_dtd, at, 0, b"&x;")?,
            )
        }
        2 => ("undefined entity &bogus; in the body".to_owned(), splice(b, after_body, 0, b"&bogus;")?),
        _ => {
            let r = *rng.pick(&["&#0;", "&#xD800;", "&#x110000;", "&#;"])?;
            (format!("invalid character reference {r} in the body"), splice(b, after_body, 0, r.as_bytes())?)
        }
    };
    Some(with_body(pkg, MutationKind::XmlEntity, description, body, Expect::Any))
}

// ---------------------------------------------------------------------------------------------------------
// The exchange.

fn truncate(pkg: &Package<'_>, rng: &mut Rng) -> Mutant {
    let n = pkg.body.len();
    let cut = if rng.below(8) == 0 { 0 } else { 1 + rng.below(n.saturating_sub(1)) };
    let body = pkg.body.get(..cut).unwrap_or_default().to_vec();
    with_body(pkg, MutationKind::Truncate, format!("cut to {cut} of {n} bytes"), body, Expect::RejectMessage)
}

fn oversize(pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    let limit = usize::try_from(pkg.client_max_msg_size.unwrap_or(16_384)).unwrap_or(16_384);
    if rng.below(3) == 0 {
        // Several MiB: beyond any sane transport limit.
        let mut body = pkg.body.to_vec();
        body.resize(body.len() + 8 * 1024 * 1024, b' ');
        return Some(with_body(
            pkg,
            MutationKind::Oversize,
            format!("{} bytes (8 MiB of padding appended)", body.len()),
            body,
            Expect::RejectMessage,
        ));
    }
    let pad = limit + 1024;
    let body = match pkg.wire.encoding {
        Encoding::Xml => {
            let at = rfind(pkg.body, b"</SyncML>")?;
            let comment = format!("<!--{}-->", "p".repeat(pad));
            splice(pkg.body, at, 0, comment.as_bytes())?
        }
        Encoding::Wbxml => {
            // Unused string-table entries: valid WBXML, only longer. A NUL first ends an unterminated last
            // entry (the RTK's FPI) where it ended.
            let mut doc = wbxml::Document::decode_exact(pkg.body).ok()?;
            doc.string_table.push(0);
            doc.string_table.extend(std::iter::repeat_n(b'p', pad));
            doc.string_table.push(0);
            doc.encode()
        }
    };
    Some(with_body(
        pkg,
        MutationKind::Oversize,
        format!("{} bytes: a well-formed message over the client's MaxMsgSize {limit}", body.len()),
        body,
        Expect::RejectMessage,
    ))
}

fn content_type(pkg: &Package<'_>, rng: &mut Rng) -> Mutant {
    let other = match pkg.wire.encoding {
        Encoding::Xml => Encoding::Wbxml.content_type(),
        Encoding::Wbxml => Encoding::Xml.content_type(),
    };
    let values = [Some(other), Some("text/html"), None, Some("application/vnd.syncml+xml"), Some("")];
    let v = rng.pick(&values).copied().flatten();
    let mut m = base(
        pkg,
        MutationKind::ContentType,
        format!("Content-Type {:?} → {v:?}", pkg.content_type),
        Expect::Any,
    );
    m.content_type = v.map(str::to_owned);
    m
}

fn charset(pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    let mut m = match pkg.wire.encoding {
        Encoding::Xml => {
            if rng.below(2) == 0 {
                let ct = format!("{}; charset=utf-16", pkg.content_type);
                let mut m = base(
                    pkg,
                    MutationKind::Charset,
                    format!("Content-Type {ct:?} on UTF-8 bytes"),
                    Expect::Any,
                );
                m.content_type = Some(ct);
                return Some(m);
            }
            let enc = *rng.pick(&["UTF-16", "ISO-8859-1", "EBCDIC-US", "bogus"])?;
            let body = match find(pkg.body, b"encoding=") {
                Some(at) => {
                    let q = *pkg.body.get(at + 9)?;
                    let end = pkg.body.get(at + 10..)?.iter().position(|&c| c == q)? + at + 10;
                    splice(pkg.body, at + 10, end - at - 10, enc.as_bytes())?
                }
                None => {
                    let decl = format!("<?xml version=\"1.0\" encoding=\"{enc}\"?>");
                    splice(pkg.body, 0, 0, decl.as_bytes())?
                }
            };
            with_body(
                pkg,
                MutationKind::Charset,
                format!("XML declaration encoding → {enc}"),
                body,
                Expect::Any,
            )
        }
        Encoding::Wbxml => {
            let t = tokens(pkg)?;
            let cs = t.doc.charset?;
            let st_len = MbUint32 {
                value: u32::try_from(t.doc.string_table.len()).ok()?,
                pad: t.doc.string_table_len_pad,
            };
            let at = t
                .body_start
                .checked_sub(t.doc.string_table.len() + st_len.encoded_len() + cs.encoded_len())?;
            let (enc, name): (&[u8], &str) = *rng.pick(&[
                (&[0x03][..], "3 (US-ASCII)"),
                (&[0x87, 0x68][..], "1000 (UTF-16)"),
                (&[0x00][..], "0 (unknown)"),
                (&[0x04][..], "4 (ISO-8859-1)"),
            ])?;
            let body = splice(&t.bytes, at, cs.encoded_len(), enc)?;
            with_body(pkg, MutationKind::Charset, format!("WBXML charset → {name}"), body, Expect::Any)
        }
    };
    m.kind = MutationKind::Charset;
    Some(m)
}

fn hmac(pkg: &Package<'_>, rng: &mut Rng) -> Mutant {
    let mut m = base(pkg, MutationKind::Hmac, String::new(), Expect::RejectMessage);
    m.recompute_hmac = false;
    match pkg.hmac {
        Some(h) => match rng.below(4) {
            0 => {
                // Flip one character of the MAC.
                let at = h.rfind("mac=").map_or(h.len().saturating_sub(2), |i| i + 4);
                let mut chars: Vec<char> = h.chars().collect();
                if let Some(c) = chars.get_mut(at) {
                    *c = if *c == 'A' { 'B' } else { 'A' };
                }
                m.hmac = Some(chars.into_iter().collect());
                m.description = "x-syncml-hmac: one character of the MAC changed".into();
            }
            1 => {
                m.hmac = None;
                m.description = "x-syncml-hmac left out".into();
            }
            2 => {
                m.hmac = Some("algorithm=SHA9, username=, mac".into());
                m.description = "x-syncml-hmac malformed".into();
            }
            _ => {
                m.hmac = Some(format!("algorithm=MD5, username=\"{}\", mac=AAAA", "u".repeat(8192)));
                m.description = "x-syncml-hmac with an 8 KiB user name".into();
            }
        },
        None => {
            m.hmac = Some("algorithm=MD5, username=\"fuzz\", mac=AAAAAAAAAAAAAAAAAAAAAA==".into());
            m.description = "a bogus x-syncml-hmac on a session without HMAC".into();
            m.expect = Expect::Any;
        }
    }
    m
}

fn nonce(pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    on_tree(pkg, MutationKind::Nonce, |root| {
        let n = find_mut(root, "NextNonce")?;
        let values = ["!!!!", "", "LONG", "AAAAAA==", "=="];
        let v = match *rng.pick(&values)? {
            "LONG" => "QUFB".repeat(2500),
            v => v.to_owned(),
        };
        set_text(n, v.clone());
        Some((format!("NextNonce → {:?} ({} chars)", truncated(&v), v.len()), Expect::Any))
    })
}

fn cred(pkg: &Package<'_>, rng: &mut Rng) -> Option<Mutant> {
    on_tree(pkg, MutationKind::Cred, |root| {
        let hdr = child_mut(root, "SyncHdr")?;
        match child_mut(hdr, "Cred") {
            Some(c) => {
                if rng.below(2) == 0 {
                    let d = child_mut(c, "Data")?;
                    let v = *rng.pick(&["", "AAAA", "not base64!", "Zm9vOmJhcg=="])?;
                    set_text(d, v);
                    Some((format!("this server's Cred Data → {v:?}"), Expect::RejectMessage))
                } else {
                    let t = find_mut(c, "Type")?;
                    set_text(t, "syncml:auth-bogus");
                    Some(("this server's Cred Type → syncml:auth-bogus".into(), Expect::RejectMessage))
                }
            }
            None => {
                let meta = Element::new(Namespace::SyncMl, "Meta")
                    .with(Element::new(Namespace::MetInf, "Format").with_text("b64"))
                    .with(Element::new(Namespace::MetInf, "Type").with_text("syncml:auth-basic"));
                let cred = Element::new(Namespace::SyncMl, "Cred")
                    .with(meta)
                    .with(Element::new(Namespace::SyncMl, "Data").with_text("Zm9vOmJhcg=="));
                let at = child_index(hdr, "Meta").unwrap_or(hdr.children.len());
                hdr.children.insert(at, Node::Element(cred));
                Some(("a Cred (basic foo:bar) added to this server's SyncHdr".into(), Expect::Any))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use m2msim_codec::dm::ddf::Format;
    use m2msim_codec::syncml::tree::Profile;
    use m2msim_codec::syncml::{DmVersion, StatusCode, SyncHdr, SyncMl};

    use super::*;
    use crate::operation::cmd;

    /// A server package: SyncHdr status, a Get, a Replace, an Exec, a display alert, an Atomic.
    fn package(wire: Wire) -> Vec<u8> {
        let client = SyncHdr::new(DmVersion::V1_2, "7", 1, "http://s/dm", "IMEI:1");
        let hdr = SyncHdr::new(DmVersion::V1_2, "7", 1, "IMEI:1", "http://s/dm").with_max_msg_size(65536);
        let mut m =
            SyncMl::new(hdr).with(m2msim_codec::syncml::Status::for_header(1, &client, StatusCode(212)));
        for (id, mut c) in (2..).zip([
            cmd::get("./DevInfo/Mod"),
            cmd::replace("./DevInfo/Lang", Format::Chr, "en"),
            cmd::exec("./X/Op", Some("go".into()), Some("9")),
            cmd::ui_alert(
                m2msim_codec::syncml::AlertCode::DISPLAY,
                &crate::operation::UiOptions::default(),
                "hi",
                &[],
            ),
            cmd::atomic(vec![cmd::get("./DevInfo/Man")]),
        ]) {
            c.set_cmd_id(id);
            m = m.with(c);
        }
        m.body.final_ = true;
        m.encode(&wire).unwrap()
    }

    fn pkg(body: &[u8], wire: Wire) -> Package<'_> {
        Package {
            body,
            content_type: wire.encoding.content_type(),
            hmac: Some("algorithm=MD5, username=\"s\", mac=QUJDREVGR0hJSktMTU5PUA=="),
            wire,
            client_max_msg_size: Some(4096),
        }
    }

    #[test]
    fn every_kind_applies_or_falls_back_deterministically() {
        for wire in [Wire::xml(Profile::rtk()), Wire::wbxml(Profile::rtk())] {
            let body = package(wire);
            let p = pkg(&body, wire);
            for kind in MutationKind::ALL {
                for seed in 0..6 {
                    let a = mutate(kind, &p, &mut Rng::new(seed));
                    let b = mutate(kind, &p, &mut Rng::new(seed));
                    assert_eq!(a, b, "{kind:?} seed {seed}: same seed, same mutant");
                    if kind == MutationKind::Control {
                        assert_eq!(a.body, body);
                        assert_eq!(a.expect, Expect::Accept);
                        continue;
                    }
                    let changed = a.body != body
                        || a.content_type.as_deref() != Some(p.content_type)
                        || a.hmac.as_deref() != p.hmac;
                    assert!(
                        changed,
                        "{kind:?} seed {seed} ({:?}) changed nothing: {}",
                        wire.encoding, a.description
                    );
                    assert!(!a.description.is_empty());
                    assert_eq!(a.recompute_hmac, a.kind != MutationKind::Hmac);
                }
            }
        }
    }

    #[test]
    fn token_mutations_break_wbxml_and_xml_mutations_break_xml() {
        let wire = Wire::wbxml(Profile::rtk());
        let body = package(wire);
        let p = pkg(&body, wire);
        for kind in [
            MutationKind::WbxmlMbUint32,
            MutationKind::WbxmlStrT,
            MutationKind::WbxmlOpaqueLength,
            MutationKind::WbxmlEnd,
            MutationKind::Truncate,
        ] {
            for seed in 0..8 {
                let m = mutate(kind, &p, &mut Rng::new(seed));
                assert_eq!(m.kind, kind, "applies to WBXML");
                assert!(SyncMl::decode(&m.body, Mode::Lenient).is_err(), "{kind:?} {}", m.description);
                assert_eq!(m.expect, Expect::RejectMessage);
            }
        }
        let wire = Wire::xml(Profile::rtk());
        let body = package(wire);
        let p = pkg(&body, wire);
        for seed in 0..8 {
            let m = mutate(MutationKind::XmlMalformed, &p, &mut Rng::new(seed));
            assert!(SyncMl::decode(&m.body, Mode::Strict).is_err(), "{}", m.description);
            // A WBXML token kind falls back to an XML one on an XML package.
            let m = mutate(MutationKind::WbxmlEnd, &p, &mut Rng::new(seed));
            assert_eq!(m.kind, MutationKind::XmlMalformed);
            assert!(m.description.contains("fallback"));
        }
    }

    #[test]
    fn field_mutations_name_the_command_they_spoil() {
        let wire = Wire::xml(Profile::rtk());
        let body = package(wire);
        let p = pkg(&body, wire);
        for seed in 0..10 {
            let m = mutate(MutationKind::LocUri, &p, &mut Rng::new(seed));
            let Expect::RejectCommands { cmd_ids } = &m.expect else { panic!("{:?}", m.expect) };
            assert!(["0", "2", "3", "4"].contains(&cmd_ids[0].as_str()), "{cmd_ids:?} {}", m.description);
            // Still a well-formed message: only the field changed.
            assert!(SyncMl::decode(&m.body, Mode::Lenient).is_ok(), "{}", m.description);
        }
    }
}

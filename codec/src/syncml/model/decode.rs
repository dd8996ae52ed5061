//! Element tree → typed message.
//!
//! The walk keeps the path from the root (parent element and child index per level) so that an error can
//! name the element (`SyncML/SyncBody/Status[2]/CmdRef`) without any bookkeeping on the good path.

use super::{
    Alert, AlertCode, Anchor, Chal, Command, CommandGroup, Cred, Data, Exec, Item, ItemCommand, Location,
    Mem, Meta, Mode, ModelError, NextNonce, Results, Status, StatusCode, SyncBody, SyncHdr, SyncMl,
    binary_format, effective_format,
};
use crate::dm::auth::decode_b64;
use crate::syncml::tree::{Document, Element, Node};

type Result<T> = std::result::Result<T, ModelError>;

/// How deep `Atomic` and `Sequence` may nest (decision: the DTD sets no limit, real sessions nest one or two
/// levels, and a cap keeps the recursive walk within a small stack whatever the input).
pub const MAX_GROUP_DEPTH: usize = 16;

/// XML white space (§2.3 `S`).
pub(crate) fn is_space(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// Trims XML white space.
pub(crate) fn trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\r', '\n'])
}

/// Base64 text with any XML white space inside (line breaks) removed, decoded; `None` if it is not base64.
pub(crate) fn decode_b64_text(s: &str) -> Option<Vec<u8>> {
    if s.bytes().any(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')) {
        let compact: String = s.chars().filter(|c| !matches!(c, ' ' | '\t' | '\r' | '\n')).collect();
        decode_b64(&compact)
    } else {
        decode_b64(s)
    }
}

/// The canonical form of an element the model keeps as it is (`extra`, [`Command::Other`], [`Data::Nodes`]):
/// CDATA and UTF-8 `OPAQUE` become text, adjacent texts merge, empty texts are dropped, and white space between
/// child elements is dropped — so that the element reads back the same from either encoding. Binary `OPAQUE`
/// stays.
///
/// Decision (found by fuzzing): an empty text child is not significant. XML cannot tell `<X></X>` from `<X/>`
/// (the infoset has no empty text node), and in WBXML an element with content `STR_I ""` and one without
/// content mean the same empty PCDATA; the writers choose the form per profile (`EmptyData`), so keeping the
/// distinction in the model would make typed → WBXML → typed depend on the profile.
pub(crate) fn canon(e: &Element) -> Element {
    Element { ns: e.ns, name: e.name.clone(), children: canon_nodes(e.children.clone()) }
}

fn canon_nodes(nodes: Vec<Node>) -> Vec<Node> {
    let structured = nodes.iter().any(|n| matches!(n, Node::Element(_) | Node::Document(_)));
    let mut out: Vec<Node> = Vec::with_capacity(nodes.len());
    for n in nodes {
        let n = match n {
            Node::CData(t) => Node::Text(t),
            Node::Opaque(b) => match String::from_utf8(b) {
                Ok(t) => Node::Text(t),
                Err(e) => Node::Opaque(e.into_bytes()),
            },
            Node::Element(x) => Node::Element(canon(&x)),
            Node::Document(mut d) => {
                d.root = canon(&d.root);
                Node::Document(d)
            }
            t @ Node::Text(_) => t,
        };
        match (out.last_mut(), n) {
            (Some(Node::Text(prev)), Node::Text(t)) => prev.push_str(&t),
            (_, n) => out.push(n),
        }
    }
    if structured {
        out.retain(|n| !matches!(n, Node::Text(t) if is_space(t)));
    } else {
        out.retain(|n| !matches!(n, Node::Text(t) if t.is_empty()));
    }
    out
}

/// The decoding context: mode and the path from the root.
pub(crate) struct Ctx<'a> {
    mode: Mode,
    root: &'a Element,
    /// `(parent, index of the child in parent.children)` for every level below the root.
    stack: Vec<(&'a Element, usize)>,
    /// `Atomic`/`Sequence` levels open.
    groups: usize,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(root: &'a Element, mode: Mode) -> Self {
        Self { mode, root, stack: Vec::with_capacity(16), groups: 0 }
    }

    pub(crate) fn strict(&self) -> bool {
        self.mode == Mode::Strict
    }

    /// The path of the current element.
    fn path(&self) -> String {
        let mut p = String::from(self.root.name.as_ref());
        for &(parent, i) in &self.stack {
            let Some(Node::Element(e)) = parent.children.get(i) else { continue };
            p.push('/');
            p.push_str(&e.name);
            let same = |n: &Node| matches!(n, Node::Element(x) if x.name == e.name);
            if parent.children.iter().filter(|n| same(n)).count() > 1 {
                let k = parent.children.iter().take(i).filter(|n| same(n)).count() + 1;
                p.push_str(&format!("[{k}]"));
            }
        }
        p
    }

    /// An error about the current element.
    pub(crate) fn err(&self, reason: &'static str) -> ModelError {
        ModelError::Invalid { path: self.path(), reason }
    }

    /// An error about a child `name` of the current element that is not there.
    pub(crate) fn missing(&self, name: &str) -> ModelError {
        let mut path = self.path();
        path.push('/');
        path.push_str(name);
        ModelError::Invalid { path, reason: "missing (required here)" }
    }

    /// Runs `f` on child `i` of `parent` (which must be the current element) with the path extended.
    pub(crate) fn child<T>(
        &mut self,
        parent: &'a Element,
        i: usize,
        f: impl FnOnce(&mut Self, &'a Element) -> Result<T>,
    ) -> Result<T> {
        let Some(Node::Element(e)) = parent.children.get(i) else {
            return Err(self.err("internal: not an element child"));
        };
        self.stack.push((parent, i));
        let r = f(self, e);
        self.stack.pop();
        r
    }

    /// The value of a required child: the zero value in lenient mode, an error in strict mode.
    pub(crate) fn required<T: Default>(&self, v: Option<T>, name: &str) -> Result<T> {
        match v {
            Some(v) => Ok(v),
            None if self.strict() => Err(self.missing(name)),
            None => Ok(T::default()),
        }
    }

    /// Stores the value of a child that may occur once; a repeat is an error (strict) or kept in `extra`.
    pub(crate) fn once<T>(
        &mut self,
        parent: &'a Element,
        i: usize,
        e: &Element,
        slot: &mut Option<T>,
        extra: &mut Vec<Element>,
        f: impl FnOnce(&mut Self, &'a Element) -> Result<T>,
    ) -> Result<()> {
        if slot.is_some() {
            if self.strict() {
                return self.child(parent, i, |c, _| Err(c.err("repeated (may occur once)")));
            }
            extra.push(canon(e));
            return Ok(());
        }
        *slot = Some(self.child(parent, i, f)?);
        Ok(())
    }

    /// A flag element (`NoResp`, `Final`, …): present means true; content is an error in strict mode.
    pub(crate) fn flag(&mut self, parent: &'a Element, i: usize, slot: &mut bool) -> Result<()> {
        let strict = self.strict();
        self.child(parent, i, |c, e| {
            if strict && e.children.iter().any(|n| !matches!(n, Node::Text(t) if is_space(t))) {
                return Err(c.err("must be empty"));
            }
            Ok(())
        })?;
        *slot = true;
        Ok(())
    }

    /// Text where only elements may be: an error in strict mode, ignored in lenient mode unless it holds a
    /// character outside the XML `Char` production.
    ///
    /// Decision (found by the dm-server peer fuzzer against our client): lenient XML accepts non-`Char`
    /// characters in character data because Reference-Toolkit stacks end strings with NUL inside leaf
    /// elements; a NUL or other control character *between* elements is no such terminator but a broken
    /// message, so it is refused in both modes.
    pub(crate) fn stray(&self, n: &Node) -> Result<()> {
        match n {
            Node::Text(t) | Node::CData(t) if is_space(t) => Ok(()),
            Node::Element(_) => Ok(()),
            _ if self.strict() => Err(self.err("has text or data where only elements may be")),
            Node::Text(t) | Node::CData(t) if !t.chars().all(crate::xml::is_xml_char) => {
                Err(self.err("has a character outside XML `Char` where only elements may be"))
            }
            _ => Ok(()),
        }
    }

    /// The character data of a leaf element (text, CDATA and UTF-8 `OPAQUE` concatenated).
    pub(crate) fn text(&self, e: &Element) -> Result<String> {
        let mut s = String::new();
        for n in &e.children {
            match n {
                Node::Text(t) | Node::CData(t) => s.push_str(t),
                Node::Opaque(b) => match std::str::from_utf8(b) {
                    Ok(t) => s.push_str(t),
                    Err(_) => return Err(self.err("binary data where text was expected")),
                },
                Node::Element(_) | Node::Document(_) if self.strict() => {
                    return Err(self.err("has child elements where text was expected"));
                }
                Node::Element(_) | Node::Document(_) => {}
            }
        }
        Ok(s)
    }

    /// Trimmed text of a token element.
    pub(crate) fn token(&self, e: &Element) -> Result<String> {
        let t = self.text(e)?;
        let trimmed = trim(&t);
        Ok(if trimmed.len() == t.len() { t } else { trimmed.to_owned() })
    }

    /// A decimal number.
    pub(crate) fn number<T: std::str::FromStr>(&self, e: &Element) -> Result<T> {
        let t = self.text(e)?;
        let t = trim(&t);
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.err("not a number (decimal digits expected)"));
        }
        t.parse().map_err(|_| self.err("number out of range"))
    }
}

// ---- message ------------------------------------------------------------------------------------

pub(super) fn message(doc: &Document, mode: Mode) -> Result<SyncMl> {
    if !doc.language.is_syncml() {
        return Err(ModelError::WrongDocument { expected: "SyncML", found: doc.language });
    }
    let root = &doc.root;
    let mut c = Ctx::new(root, mode);
    if root.name != "SyncML" {
        return Err(c.err("the root element must be SyncML"));
    }
    let (mut hdr, mut body, mut extra) = (None, None, Vec::new());
    for (i, n) in root.children.iter().enumerate() {
        let Node::Element(e) = n else {
            c.stray(n)?;
            continue;
        };
        match e.name.as_ref() {
            "SyncHdr" => c.once(root, i, e, &mut hdr, &mut extra, sync_hdr)?,
            "SyncBody" => c.once(root, i, e, &mut body, &mut extra, sync_body)?,
            _ => extra.push(canon(e)),
        }
    }
    let hdr = c.required(hdr, "SyncHdr")?;
    let body = c.required(body, "SyncBody")?;
    Ok(SyncMl { hdr, body, extra })
}

fn sync_hdr<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<SyncHdr> {
    let (mut ver_dtd, mut ver_proto, mut session_id, mut msg_id) = (None, None, None, None);
    let (mut target, mut source, mut resp_uri, mut cred, mut meta) = (None, None, None, None, None);
    let mut no_resp = false;
    let mut extra = Vec::new();
    for (i, n) in el.children.iter().enumerate() {
        let Node::Element(e) = n else {
            c.stray(n)?;
            continue;
        };
        match e.name.as_ref() {
            "VerDTD" => c.once(el, i, e, &mut ver_dtd, &mut extra, |c, e| c.token(e))?,
            "VerProto" => c.once(el, i, e, &mut ver_proto, &mut extra, |c, e| c.token(e))?,
            "SessionID" => c.once(el, i, e, &mut session_id, &mut extra, |c, e| c.token(e))?,
            "MsgID" => c.once(el, i, e, &mut msg_id, &mut extra, |c, e| c.number(e))?,
            "Target" => c.once(el, i, e, &mut target, &mut extra, location)?,
            "Source" => c.once(el, i, e, &mut source, &mut extra, location)?,
            "RespURI" => c.once(el, i, e, &mut resp_uri, &mut extra, |c, e| c.token(e))?,
            "NoResp" => c.flag(el, i, &mut no_resp)?,
            "Cred" => c.once(el, i, e, &mut cred, &mut extra, self::cred)?,
            "Meta" => c.once(el, i, e, &mut meta, &mut extra, self::meta)?,
            _ => extra.push(canon(e)),
        }
    }
    Ok(SyncHdr {
        ver_dtd: c.required(ver_dtd, "VerDTD")?,
        ver_proto: c.required(ver_proto, "VerProto")?,
        session_id: c.required(session_id, "SessionID")?,
        msg_id: c.required(msg_id, "MsgID")?,
        target: c.required(target, "Target")?,
        source: c.required(source, "Source")?,
        resp_uri,
        no_resp,
        cred,
        meta,
        extra,
    })
}

fn sync_body<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<SyncBody> {
    let mut body = SyncBody::default();
    for (i, n) in el.children.iter().enumerate() {
        let Node::Element(e) = n else {
            c.stray(n)?;
            continue;
        };
        if e.name == "Final" {
            if body.final_ && !c.strict() {
                body.extra.push(canon(e));
            } else if body.final_ {
                return c.child(el, i, |c, _| Err(c.err("repeated (may occur once)")));
            } else {
                c.flag(el, i, &mut body.final_)?;
            }
            continue;
        }
        body.commands.push(c.child(el, i, command)?);
    }
    Ok(body)
}

/// A command element (any element of `SyncBody`, `Atomic` or `Sequence`).
fn command<'a>(c: &mut Ctx<'a>, e: &'a Element) -> Result<Command> {
    Ok(match e.name.as_ref() {
        "Add" => Command::Add(item_command(c, e)?),
        "Copy" => Command::Copy(item_command(c, e)?),
        "Delete" => Command::Delete(item_command(c, e)?),
        "Get" => Command::Get(item_command(c, e)?),
        "Replace" => Command::Replace(item_command(c, e)?),
        "Alert" => Command::Alert(alert(c, e)?),
        "Atomic" => Command::Atomic(group(c, e)?),
        "Sequence" => Command::Sequence(group(c, e)?),
        "Exec" => Command::Exec(exec(c, e)?),
        "Results" => Command::Results(results(c, e)?),
        "Status" => Command::Status(status(c, e)?),
        _ => Command::Other(canon(e)),
    })
}

/// Decodes the items (collected as child indices) once the command's `Meta` is known.
fn items<'a>(c: &mut Ctx<'a>, el: &'a Element, at: &[usize], inherited: Option<&Meta>) -> Result<Vec<Item>> {
    let fmt = inherited.and_then(|m| m.format.clone());
    at.iter().map(|&i| c.child(el, i, |c, e| item(c, e, fmt.as_deref()))).collect()
}

fn item_command<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<ItemCommand> {
    let (mut cmd_id, mut lang, mut cred, mut meta) = (None, None, None, None);
    let mut cmd = ItemCommand::default();
    let mut at = Vec::new();
    let mut extra = Vec::new();
    for (i, n) in el.children.iter().enumerate() {
        let Node::Element(e) = n else {
            c.stray(n)?;
            continue;
        };
        match e.name.as_ref() {
            "CmdID" => c.once(el, i, e, &mut cmd_id, &mut extra, |c, e| c.number(e))?,
            "NoResp" => c.flag(el, i, &mut cmd.no_resp)?,
            "Archive" => c.flag(el, i, &mut cmd.archive)?,
            "SftDel" => c.flag(el, i, &mut cmd.sft_del)?,
            "Lang" => c.once(el, i, e, &mut lang, &mut extra, |c, e| c.token(e))?,
            "Cred" => c.once(el, i, e, &mut cred, &mut extra, self::cred)?,
            "Meta" => c.once(el, i, e, &mut meta, &mut extra, self::meta)?,
            "Item" => at.push(i),
            _ => extra.push(canon(e)),
        }
    }
    cmd.cmd_id = c.required(cmd_id, "CmdID")?;
    if at.is_empty() && c.strict() {
        return Err(c.missing("Item"));
    }
    cmd.items = items(c, el, &at, meta.as_ref())?;
    cmd.lang = lang;
    cmd.cred = cred;
    cmd.meta = meta;
    cmd.extra = extra;
    Ok(cmd)
}

fn alert<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<Alert> {
    let (mut cmd_id, mut cred, mut code, mut correlator) = (None, None, None, None);
    let mut no_resp = false;
    let mut at = Vec::new();
    let mut extra = Vec::new();
    for (i, n) in el.children.iter().enumerate() {
        let Node::Element(e) = n else {
            c.stray(n)?;
            continue;
        };
        match e.name.as_ref() {
            "CmdID" => c.once(el, i, e, &mut cmd_id, &mut extra, |c, e| c.number(e))?,
            "NoResp" => c.flag(el, i, &mut no_resp)?,
            "Cred" => c.once(el, i, e, &mut cred, &mut extra, self::cred)?,
            "Data" => {
                c.once(el, i, e, &mut code, &mut extra, |c, e| c.code("not an alert code (a number)", e))?
            }
            "Correlator" => c.once(el, i, e, &mut correlator, &mut extra, |c, e| c.token(e))?,
            "Item" => at.push(i),
            _ => extra.push(canon(e)),
        }
    }
    Ok(Alert {
        cmd_id: c.required(cmd_id, "CmdID")?,
        no_resp,
        cred,
        code: AlertCode(c.required(code, "Data")?),
        correlator,
        items: items(c, el, &at, None)?,
        extra,
    })
}

fn group<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<CommandGroup> {
    c.groups += 1;
    if c.groups > MAX_GROUP_DEPTH {
        return Err(c.err("Atomic/Sequence nested deeper than the model allows (MAX_GROUP_DEPTH)"));
    }
    let g = group_content(c, el);
    c.groups -= 1;
    g
}

fn group_content<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<CommandGroup> {
    let (mut cmd_id, mut meta) = (None, None);
    let mut g = CommandGroup::default();
    for (i, n) in el.children.iter().enumerate() {
        let Node::Element(e) = n else {
            c.stray(n)?;
            continue;
        };
        match e.name.as_ref() {
            "CmdID" => c.once(el, i, e, &mut cmd_id, &mut g.extra, |c, e| c.number(e))?,
            "NoResp" => c.flag(el, i, &mut g.no_resp)?,
            "Meta" => c.once(el, i, e, &mut meta, &mut g.extra, self::meta)?,
            _ => g.commands.push(c.child(el, i, command)?),
        }
    }
    g.cmd_id = c.required(cmd_id, "CmdID")?;
    g.meta = meta;
    Ok(g)
}

fn exec<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<Exec> {
    let (mut cmd_id, mut cred, mut meta, mut correlator) = (None, None, None, None);
    let mut no_resp = false;
    let mut at: Option<usize> = None;
    let mut extra = Vec::new();
    for (i, n) in el.children.iter().enumerate() {
        let Node::Element(e) = n else {
            c.stray(n)?;
            continue;
        };
        match e.name.as_ref() {
            "CmdID" => c.once(el, i, e, &mut cmd_id, &mut extra, |c, e| c.number(e))?,
            "NoResp" => c.flag(el, i, &mut no_resp)?,
            "Cred" => c.once(el, i, e, &mut cred, &mut extra, self::cred)?,
            "Meta" => c.once(el, i, e, &mut meta, &mut extra, self::meta)?,
            "Correlator" => c.once(el, i, e, &mut correlator, &mut extra, |c, e| c.token(e))?,
            "Item" => c.once(el, i, e, &mut at, &mut extra, move |_, _| Ok(i))?,
            _ => extra.push(canon(e)),
        }
    }
    let item = match at {
        Some(i) => items(c, el, &[i], meta.as_ref())?.pop().unwrap_or_default(),
        None => c.required(None, "Item")?,
    };
    Ok(Exec { cmd_id: c.required(cmd_id, "CmdID")?, no_resp, cred, meta, correlator, item, extra })
}

fn results<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<Results> {
    let (mut cmd_id, mut msg_ref, mut cmd_ref, mut meta) = (None, None, None, None);
    let mut r = Results::default();
    let mut at = Vec::new();
    for (i, n) in el.children.iter().enumerate() {
        let Node::Element(e) = n else {
            c.stray(n)?;
            continue;
        };
        match e.name.as_ref() {
            "CmdID" => c.once(el, i, e, &mut cmd_id, &mut r.extra, |c, e| c.number(e))?,
            "MsgRef" => c.once(el, i, e, &mut msg_ref, &mut r.extra, |c, e| c.number(e))?,
            "CmdRef" => c.once(el, i, e, &mut cmd_ref, &mut r.extra, |c, e| c.number(e))?,
            "Meta" => c.once(el, i, e, &mut meta, &mut r.extra, self::meta)?,
            "TargetRef" => r.target_refs.push(c.child(el, i, |c, e| c.token(e))?),
            "SourceRef" => r.source_refs.push(c.child(el, i, |c, e| c.token(e))?),
            "Item" => at.push(i),
            _ => r.extra.push(canon(e)),
        }
    }
    r.cmd_id = c.required(cmd_id, "CmdID")?;
    r.msg_ref = msg_ref;
    r.cmd_ref = c.required(cmd_ref, "CmdRef")?;
    if at.is_empty() && c.strict() {
        return Err(c.missing("Item"));
    }
    r.items = items(c, el, &at, meta.as_ref())?;
    r.meta = meta;
    Ok(r)
}

fn status<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<Status> {
    let (mut cmd_id, mut msg_ref, mut cmd_ref, mut cmd) = (None, None, None, None);
    let (mut cred, mut chal, mut code) = (None, None, None);
    let (mut target_refs, mut source_refs) = (Vec::new(), Vec::new());
    let mut at = Vec::new();
    let mut extra = Vec::new();
    for (i, n) in el.children.iter().enumerate() {
        let Node::Element(e) = n else {
            c.stray(n)?;
            continue;
        };
        match e.name.as_ref() {
            "CmdID" => c.once(el, i, e, &mut cmd_id, &mut extra, |c, e| c.number(e))?,
            "MsgRef" => c.once(el, i, e, &mut msg_ref, &mut extra, |c, e| c.number(e))?,
            "CmdRef" => c.once(el, i, e, &mut cmd_ref, &mut extra, |c, e| c.number(e))?,
            "Cmd" => c.once(el, i, e, &mut cmd, &mut extra, |c, e| c.token(e))?,
            "TargetRef" => target_refs.push(c.child(el, i, |c, e| c.token(e))?),
            "SourceRef" => source_refs.push(c.child(el, i, |c, e| c.token(e))?),
            "Cred" => c.once(el, i, e, &mut cred, &mut extra, self::cred)?,
            "Chal" => c.once(el, i, e, &mut chal, &mut extra, self::chal)?,
            "Data" => {
                c.once(el, i, e, &mut code, &mut extra, |c, e| c.code("not a status code (a number)", e))?;
            }
            "Item" => at.push(i),
            _ => extra.push(canon(e)),
        }
    }
    Ok(Status {
        cmd_id: c.required(cmd_id, "CmdID")?,
        msg_ref: c.required(msg_ref, "MsgRef")?,
        cmd_ref: c.required(cmd_ref, "CmdRef")?,
        cmd: c.required(cmd, "Cmd")?,
        target_refs,
        source_refs,
        cred,
        chal,
        code: StatusCode(c.required(code, "Data")?),
        items: items(c, el, &at, None)?,
        extra,
    })
}

impl Ctx<'_> {
    /// A status or alert code: a number that fits 16 bits.
    fn code(&self, reason: &'static str, e: &Element) -> Result<u16> {
        let t = self.text(e)?;
        let t = trim(&t);
        if t.is_empty() || t.len() > 5 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.err(reason));
        }
        t.parse().map_err(|_| self.err(reason))
    }
}

// ---- items, data, meta ------------------------------------------------------------------------

fn item<'a>(c: &mut Ctx<'a>, el: &'a Element, inherited: Option<&str>) -> Result<Item> {
    let (mut target, mut source, mut source_parent, mut target_parent, mut meta) =
        (None, None, None, None, None);
    let mut data_at: Option<usize> = None;
    let mut it = Item::default();
    for (i, n) in el.children.iter().enumerate() {
        let Node::Element(e) = n else {
            c.stray(n)?;
            continue;
        };
        match e.name.as_ref() {
            "Target" => c.once(el, i, e, &mut target, &mut it.extra, location)?,
            "Source" => c.once(el, i, e, &mut source, &mut it.extra, location)?,
            "SourceParent" => c.once(el, i, e, &mut source_parent, &mut it.extra, location)?,
            "TargetParent" => c.once(el, i, e, &mut target_parent, &mut it.extra, location)?,
            "Meta" => c.once(el, i, e, &mut meta, &mut it.extra, self::meta)?,
            "Data" => c.once(el, i, e, &mut data_at, &mut it.extra, move |_, _| Ok(i))?,
            "MoreData" => c.flag(el, i, &mut it.more_data)?,
            _ => it.extra.push(canon(e)),
        }
    }
    let format = effective_format(meta.as_ref(), None).or(inherited).map(str::to_owned);
    if let Some(i) = data_at {
        it.data = Some(c.child(el, i, |_, e| data(e, format.as_deref()))?);
    }
    it.target = target;
    it.source = source;
    it.source_parent = source_parent;
    it.target_parent = target_parent;
    it.meta = meta;
    Ok(it)
}

fn location<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<Location> {
    let (mut loc_uri, mut loc_name) = (None, None);
    let mut extra = Vec::new();
    for (i, n) in el.children.iter().enumerate() {
        let Node::Element(e) = n else {
            c.stray(n)?;
            continue;
        };
        match e.name.as_ref() {
            "LocURI" => c.once(el, i, e, &mut loc_uri, &mut extra, |c, e| c.token(e))?,
            "LocName" => c.once(el, i, e, &mut loc_name, &mut extra, |c, e| c.token(e))?,
            _ => extra.push(canon(e)),
        }
    }
    Ok(Location { loc_uri: c.required(loc_uri, "LocURI")?, loc_name, extra })
}

fn cred<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<Cred> {
    let mut meta = None;
    let mut data_at: Option<usize> = None;
    let mut extra = Vec::new();
    for (i, n) in el.children.iter().enumerate() {
        let Node::Element(e) = n else {
            c.stray(n)?;
            continue;
        };
        match e.name.as_ref() {
            "Meta" => c.once(el, i, e, &mut meta, &mut extra, self::meta)?,
            "Data" => c.once(el, i, e, &mut data_at, &mut extra, move |_, _| Ok(i))?,
            _ => extra.push(canon(e)),
        }
    }
    let format = meta.as_ref().and_then(|m: &Meta| m.format.clone());
    let data = match data_at {
        Some(i) => c.child(el, i, |_, e| data(e, format.as_deref()))?,
        None if c.strict() => return Err(c.missing("Data")),
        None => Data::Text(String::new()),
    };
    Ok(Cred { meta, data, extra })
}

fn chal<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<Chal> {
    let mut meta = None;
    let mut extra = Vec::new();
    for (i, n) in el.children.iter().enumerate() {
        let Node::Element(e) = n else {
            c.stray(n)?;
            continue;
        };
        match e.name.as_ref() {
            "Meta" => c.once(el, i, e, &mut meta, &mut extra, self::meta)?,
            _ => extra.push(canon(e)),
        }
    }
    Ok(Chal { meta: c.required(meta, "Meta")?, extra })
}

/// `Data` under the `Format` that applies to it (see the module documentation of the model).
pub(crate) fn data(el: &Element, format: Option<&str>) -> Result<Data> {
    let binary = binary_format(format);
    let structured = el.children.iter().any(|n| matches!(n, Node::Element(_) | Node::Document(_)));
    if structured {
        let blank = |n: &&Node| match n {
            Node::Text(t) | Node::CData(t) => is_space(t),
            Node::Opaque(b) => std::str::from_utf8(b).is_ok_and(is_space),
            _ => false,
        };
        let significant: Vec<&Node> = el.children.iter().filter(|n| !blank(n)).collect();
        return Ok(match significant.as_slice() {
            [Node::Document(d)] => Data::Document(d.clone()),
            _ => Data::Nodes(canon_nodes(significant.into_iter().cloned().collect())),
        });
    }
    if let (Some(raw), [Node::Opaque(b)]) = (binary, el.children.as_slice()) {
        // bin: raw bytes; b64: the bytes are base64 text, or raw bytes if they are not.
        let decoded = if raw { None } else { std::str::from_utf8(b).ok().and_then(decode_b64_text) };
        return Ok(Data::Bytes(decoded.unwrap_or_else(|| b.clone())));
    }
    let mut text = String::new();
    for n in &el.children {
        match n {
            Node::Text(t) | Node::CData(t) => text.push_str(t),
            Node::Opaque(b) => match std::str::from_utf8(b) {
                Ok(t) => text.push_str(t),
                Err(_) => return Ok(Data::Nodes(canon_nodes(el.children.clone()))),
            },
            Node::Element(_) | Node::Document(_) => {}
        }
    }
    if binary.is_some() {
        if let Some(b) = decode_b64_text(&text) {
            return Ok(Data::Bytes(b));
        }
        if is_space(&text) {
            return Ok(Data::Bytes(Vec::new()));
        }
    }
    Ok(Data::Text(text))
}

pub(crate) fn meta<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<Meta> {
    let mut m = Meta::default();
    let (mut format, mut type_, mut mark, mut size, mut anchor, mut version) =
        (None, None, None, None, None, None);
    let (mut next_nonce, mut max_msg_size, mut max_obj_size, mut mem) = (None, None, None, None);
    let mut extra = Vec::new();
    for (i, n) in el.children.iter().enumerate() {
        let Node::Element(e) = n else {
            c.stray(n)?;
            continue;
        };
        match e.name.as_ref() {
            "Format" => c.once(el, i, e, &mut format, &mut extra, |c, e| c.token(e))?,
            "Type" => c.once(el, i, e, &mut type_, &mut extra, |c, e| c.token(e))?,
            "Mark" => c.once(el, i, e, &mut mark, &mut extra, |c, e| c.token(e))?,
            "Size" => c.once(el, i, e, &mut size, &mut extra, |c, e| c.number(e))?,
            "Anchor" => c.once(el, i, e, &mut anchor, &mut extra, self::anchor)?,
            "Version" => c.once(el, i, e, &mut version, &mut extra, |c, e| c.token(e))?,
            "NextNonce" => c.once(el, i, e, &mut next_nonce, &mut extra, self::next_nonce)?,
            "MaxMsgSize" => c.once(el, i, e, &mut max_msg_size, &mut extra, |c, e| c.number(e))?,
            "MaxObjSize" => c.once(el, i, e, &mut max_obj_size, &mut extra, |c, e| c.number(e))?,
            "EMI" => m.emi.push(c.child(el, i, |c, e| c.token(e))?),
            "Mem" => c.once(el, i, e, &mut mem, &mut extra, self::mem)?,
            "FieldLevel" => c.flag(el, i, &mut m.field_level)?,
            _ => extra.push(canon(e)),
        }
    }
    m.format = format;
    m.type_ = type_;
    m.mark = mark;
    m.size = size;
    m.anchor = anchor;
    m.version = version;
    m.next_nonce = next_nonce;
    m.max_msg_size = max_msg_size;
    m.max_obj_size = max_obj_size;
    m.mem = mem;
    m.extra = extra;
    Ok(m)
}

fn next_nonce<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<NextNonce> {
    if let [Node::Opaque(b)] = el.children.as_slice() {
        return Ok(NextNonce::Bytes(b.clone()));
    }
    let t = c.token(el)?;
    Ok(match decode_b64_text(&t) {
        Some(b) => NextNonce::Bytes(b),
        None => NextNonce::Text(t),
    })
}

fn anchor<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<Anchor> {
    let (mut last, mut next) = (None, None);
    let mut extra = Vec::new();
    for (i, n) in el.children.iter().enumerate() {
        let Node::Element(e) = n else {
            c.stray(n)?;
            continue;
        };
        match e.name.as_ref() {
            "Last" => c.once(el, i, e, &mut last, &mut extra, |c, e| c.token(e))?,
            "Next" => c.once(el, i, e, &mut next, &mut extra, |c, e| c.token(e))?,
            _ => extra.push(canon(e)),
        }
    }
    Ok(Anchor { last, next: c.required(next, "Next")?, extra })
}

fn mem<'a>(c: &mut Ctx<'a>, el: &'a Element) -> Result<Mem> {
    let (mut free_mem, mut free_id) = (None, None);
    let mut m = Mem::default();
    let mut extra = Vec::new();
    for (i, n) in el.children.iter().enumerate() {
        let Node::Element(e) = n else {
            c.stray(n)?;
            continue;
        };
        match e.name.as_ref() {
            "SharedMem" => c.flag(el, i, &mut m.shared_mem)?,
            "FreeMem" => c.once(el, i, e, &mut free_mem, &mut extra, |c, e| c.number(e))?,
            "FreeID" => c.once(el, i, e, &mut free_id, &mut extra, |c, e| c.number(e))?,
            _ => extra.push(canon(e)),
        }
    }
    m.free_mem = c.required(free_mem, "FreeMem")?;
    m.free_id = c.required(free_id, "FreeID")?;
    m.extra = extra;
    Ok(m)
}

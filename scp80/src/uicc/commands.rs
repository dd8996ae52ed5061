//! The file-system commands of the simulated UICC, shared by the terminal's session and by RFM sessions
//! (TS 102 221 §11.1: SELECT, STATUS, READ/UPDATE BINARY, READ/UPDATE RECORD, GET RESPONSE; TS 51.011 §9.2
//! for the `A0` class).
//!
//! A command runs against a [`Channel`] (the selection and the GET RESPONSE buffer of one session) with
//! [`Rights`] (which access conditions are met) and a [`Scope`] (which roots the session may reach), and
//! returns a [`Reply`]; [`finish`] turns the reply into the response APDU with the status-word dance of
//! the class (see the `uicc` module docs).

use m2msim_codec::apdu::{CommandApdu, ResponseApdu, StatusWord};
use m2msim_codec::sim::fid;

use super::fs::{AccessCondition, EfBody, FileSystem, NodeId, NodeKind, PinSummary, Selection};

/// The command class a C-APDU was sent in: the UICC's (TS 102 221, CLA `0X`/`8X`) or the 2G SIM's
/// (TS 51.011, CLA `A0`). It picks the status words and the select response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// TS 102 221.
    Uicc,
    /// TS 51.011.
    Gsm,
}

/// The failures of the commands, each with its status word in both classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fail {
    /// `6A82` / `9404`.
    FileNotFound,
    /// `6982` / `9804`.
    Security,
    /// `6986` / `9400`.
    NoEfSelected,
    /// `6981` / `9408`.
    Incompatible,
    /// `6A83` / `9402`.
    RecordNotFound,
    /// `6B00` / `9402`: an offset outside the EF.
    OutOfRange,
    /// `6700` / `6700`.
    WrongLength,
    /// `6A86` / `6B00`.
    WrongP1P2,
    /// `6985` / `9808`.
    ConditionsOfUse,
    /// `6A80` / `6B00`.
    WrongData,
    /// `6D00`.
    Ins,
    /// `6E00`.
    Cla,
    /// `6983` / `9840`.
    Blocked,
    /// `6F00`.
    Technical,
}

impl Fail {
    /// The status word in `class`.
    #[must_use]
    pub const fn sw(self, class: Class) -> StatusWord {
        let uicc = matches!(class, Class::Uicc);
        StatusWord(match self {
            Self::FileNotFound => {
                if uicc {
                    0x6A82
                } else {
                    0x9404
                }
            }
            Self::Security => {
                if uicc {
                    0x6982
                } else {
                    0x9804
                }
            }
            Self::NoEfSelected => {
                if uicc {
                    0x6986
                } else {
                    0x9400
                }
            }
            Self::Incompatible => {
                if uicc {
                    0x6981
                } else {
                    0x9408
                }
            }
            Self::RecordNotFound => {
                if uicc {
                    0x6A83
                } else {
                    0x9402
                }
            }
            Self::OutOfRange => {
                if uicc {
                    0x6B00
                } else {
                    0x9402
                }
            }
            Self::WrongLength => 0x6700,
            Self::WrongP1P2 => {
                if uicc {
                    0x6A86
                } else {
                    0x6B00
                }
            }
            Self::ConditionsOfUse => {
                if uicc {
                    0x6985
                } else {
                    0x9808
                }
            }
            Self::WrongData => {
                if uicc {
                    0x6A80
                } else {
                    0x6B00
                }
            }
            Self::Ins => 0x6D00,
            Self::Cla => 0x6E00,
            Self::Blocked => {
                if uicc {
                    0x6983
                } else {
                    0x9840
                }
            }
            Self::Technical => 0x6F00,
        })
    }
}

/// What a command produced, before the class-specific shaping of [`finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A status word and no data.
    Sw(StatusWord),
    /// A failure.
    Fail(Fail),
    /// Data an outgoing command (case 2: READ, STATUS, GET RESPONSE, FETCH) asked for, already cut to
    /// what it asked, with its status word.
    Data(Vec<u8>, StatusWord),
    /// Response data of a command that may carry command data (SELECT, AUTHENTICATE, ENVELOPE …): sent
    /// at once when the C-APDU has an Le, otherwise kept for GET RESPONSE behind `61xx` / `9Fxx`.
    Produced(Vec<u8>),
}

impl From<Fail> for Reply {
    fn from(f: Fail) -> Self {
        Self::Fail(f)
    }
}

/// The state of one session: its selection and the data waiting for GET RESPONSE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Current files.
    pub sel: Selection,
    /// Response data not yet fetched by GET RESPONSE.
    pub pending: Option<Vec<u8>>,
}

impl Channel {
    /// A channel with `root` as current DF (and as current ADF when it is one).
    #[must_use]
    pub fn at(fs: &FileSystem, root: NodeId) -> Self {
        let mut sel = Selection::at(root);
        if matches!(fs.node(root).map(|n| &n.kind), Some(NodeKind::Adf { .. })) {
            sel.adf = Some(root);
        }
        Self { sel, pending: None }
    }
}

/// Which access conditions a session meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rights {
    /// PIN1 verified or disabled.
    pub pin1: bool,
    /// ADM1 verified (or an RFM session with full access).
    pub adm1: bool,
}

impl Rights {
    /// Full access (an RFM session's default access domain): everything but `NEV`.
    pub const FULL: Self = Self { pin1: true, adm1: true };

    /// True when `ac` is met.
    #[must_use]
    pub const fn allows(self, ac: AccessCondition) -> bool {
        match ac {
            AccessCondition::Always => true,
            AccessCondition::Pin1 => self.pin1,
            AccessCondition::Adm1 => self.adm1,
            AccessCondition::Never => false,
        }
    }
}

/// Which part of the file system a session reaches (TS 102 226 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The terminal: everything, any ADF by AID.
    Card,
    /// UICC shared file system RFM: the MF tree only (no ADF, `7FFF` names nothing).
    Shared,
    /// ADF RFM: the MF tree and this ADF (selectable by AID and as `7FFF`).
    Adf(NodeId),
}

/// What a command needs besides the APDU.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The files.
    pub fs: &'a mut FileSystem,
    /// The session.
    pub ch: &'a mut Channel,
    /// Access conditions met.
    pub rights: Rights,
    /// Reachable roots.
    pub scope: Scope,
    /// For the FCP and GSM responses.
    pub pins: PinSummary,
    /// The class of the command.
    pub class: Class,
}

/// Runs one file-system command: SELECT `A4`, STATUS `F2`, READ BINARY `B0`, UPDATE BINARY `D6`, READ
/// RECORD `B2`, UPDATE RECORD `DC`, GET RESPONSE `C0`. `None` for any other instruction.
pub fn run(ctx: &mut Ctx<'_>, apdu: &CommandApdu) -> Option<Reply> {
    Some(match apdu.ins {
        0xA4 => select(ctx, apdu),
        0xF2 => status(ctx, apdu),
        0xB0 => read_binary(ctx, apdu),
        0xD6 => update_binary(ctx, apdu),
        0xB2 => read_record(ctx, apdu),
        0xDC => update_record(ctx, apdu),
        0xC0 => {
            let r = get_response(ctx.ch, ctx.class, apdu);
            Reply::Data(r.data, r.sw)
        }
        _ => return None,
    })
}

/// Shapes a reply into the response APDU (see the `uicc` module docs): `Produced` data goes out at once
/// when the C-APDU carries an Le (served as GET RESPONSE would serve it), else waits behind `61xx`
/// (UICC) or `9Fxx` (2G).
#[must_use]
pub fn finish(ch: &mut Channel, class: Class, apdu: &CommandApdu, reply: Reply) -> ResponseApdu {
    match reply {
        Reply::Sw(sw) => ResponseApdu::status(sw),
        Reply::Fail(f) => ResponseApdu::status(f.sw(class)),
        Reply::Data(d, sw) => ResponseApdu::new(d, sw),
        Reply::Produced(d) if d.is_empty() => ResponseApdu::status(StatusWord::OK),
        Reply::Produced(d) => match apdu.ne() {
            Some(ne) => serve(ch, class, d, ne),
            None => {
                let sw = more_data(class, d.len());
                ch.pending = Some(d);
                ResponseApdu::status(sw)
            }
        },
    }
}

/// `61xx` (UICC) or `9Fxx` (2G) for `n` bytes waiting (`xx` = 00 for 256 or more).
fn more_data(class: Class, n: usize) -> StatusWord {
    let xx = u8::try_from(n).unwrap_or(0);
    match class {
        Class::Uicc => StatusWord::new(0x61, xx),
        Class::Gsm => StatusWord::new(0x9F, xx),
    }
}

/// `6Cxx` (UICC) or `67xx` (2G): wrong Le, `xx` the exact length.
fn wrong_le(class: Class, n: usize) -> StatusWord {
    let xx = u8::try_from(n).unwrap_or(0);
    match class {
        Class::Uicc => StatusWord::new(0x6C, xx),
        Class::Gsm => StatusWord::new(0x67, xx),
    }
}

/// Serves `data` to a command with `ne`: all of it when Ne is 256 (Le `00`: "as much as available",
/// decision) or matches; the first Ne bytes when fewer are asked (UICC: the rest stays behind `61xx`;
/// 2G: the rest is dropped, TS 51.011 §9.2.18); `6Cxx` / `67xx` when more are asked (data kept).
fn serve(ch: &mut Channel, class: Class, mut data: Vec<u8>, ne: u32) -> ResponseApdu {
    let ne = usize::try_from(ne).unwrap_or(usize::MAX);
    let len = data.len();
    if ne == 256 && len <= 256 || ne == len {
        return ResponseApdu::new(data, StatusWord::OK);
    }
    if ne > len {
        let sw = wrong_le(class, len);
        ch.pending = Some(data);
        return ResponseApdu::status(sw);
    }
    let rest = data.split_off(ne);
    match class {
        Class::Uicc => {
            let sw = more_data(class, rest.len());
            ch.pending = Some(rest);
            ResponseApdu::new(data, sw)
        }
        Class::Gsm => ResponseApdu::new(data, StatusWord::OK),
    }
}

/// GET RESPONSE `C0` (TS 102 221 §11.1.13, TS 51.011 §9.2.18).
pub fn get_response(ch: &mut Channel, class: Class, apdu: &CommandApdu) -> ResponseApdu {
    if apdu.p1 != 0 || apdu.p2 != 0 {
        ch.pending = None;
        return ResponseApdu::status(Fail::WrongP1P2.sw(class));
    }
    match ch.pending.take() {
        Some(d) => serve(ch, class, d, apdu.ne().unwrap_or(256)),
        None => ResponseApdu::status(match class {
            Class::Uicc => Fail::ConditionsOfUse.sw(class),
            Class::Gsm => Fail::Technical.sw(class),
        }),
    }
}

fn fid_of(data: &[u8]) -> Option<u16> {
    match data {
        [a, b] => Some(u16::from_be_bytes([*a, *b])),
        _ => None,
    }
}

fn path_of(data: &[u8]) -> Option<Vec<u16>> {
    if data.is_empty() || !data.len().is_multiple_of(2) {
        return None;
    }
    Some(data.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect())
}

/// SELECT `A4` (TS 102 221 §11.1.1, TS 51.011 §9.2.1).
fn select(ctx: &mut Ctx<'_>, apdu: &CommandApdu) -> Reply {
    let data = apdu.data();
    let sel = ctx.ch.sel;
    let target = match ctx.class {
        Class::Gsm => {
            if apdu.p1 != 0 || apdu.p2 != 0 {
                return Fail::WrongP1P2.into();
            }
            let Some(f) = fid_of(data) else { return Fail::WrongLength.into() };
            ctx.fs.select_fid(&sel, f)
        }
        Class::Uicc => {
            if apdu.p2 != 0x04 && apdu.p2 != 0x0C {
                return Fail::WrongP1P2.into();
            }
            match apdu.p1 {
                0x00 if data.is_empty() => Some(ctx.fs.mf()),
                0x00 => match fid_of(data) {
                    Some(f) => ctx.fs.select_fid(&sel, f),
                    None => return Fail::WrongLength.into(),
                },
                0x01 | 0x02 => {
                    let Some(f) = fid_of(data) else { return Fail::WrongLength.into() };
                    let want_dir = apdu.p1 == 0x01;
                    ctx.fs
                        .child_by_fid(sel.df, f)
                        .filter(|&c| ctx.fs.node(c).is_some_and(|n| n.is_directory() == want_dir))
                }
                0x03 if data.is_empty() => ctx.fs.parent_dir(sel.df),
                0x03 => return Fail::WrongLength.into(),
                0x04 => {
                    if data.is_empty() || data.len() > 16 {
                        return Fail::WrongLength.into();
                    }
                    match ctx.fs.adf_by_aid(data) {
                        Some(a) if ctx.scope == Scope::Card || ctx.scope == Scope::Adf(a) => Some(a),
                        _ => None,
                    }
                }
                0x08 | 0x09 => {
                    let Some(path) = path_of(data) else { return Fail::WrongLength.into() };
                    let start = if apdu.p1 == 0x08 { ctx.fs.mf() } else { sel.df };
                    ctx.fs.walk(start, &path, sel.adf)
                }
                _ => return Fail::WrongP1P2.into(),
            }
        }
    };
    let Some(target) = target else { return Fail::FileNotFound.into() };
    let Some(node) = ctx.fs.node(target) else { return Fail::FileNotFound.into() };
    let is_adf = matches!(node.kind, NodeKind::Adf { .. });
    if is_adf && ctx.scope == Scope::Shared {
        return Fail::FileNotFound.into();
    }
    let sel = &mut ctx.ch.sel;
    if node.is_directory() {
        sel.df = target;
        sel.ef = None;
        if is_adf {
            sel.adf = Some(target);
        }
    } else {
        sel.df = ctx.fs.parent_dir(target).unwrap_or(sel.df);
        sel.ef = Some(target);
    }
    sel.record = None;
    match ctx.class {
        Class::Gsm => Reply::Produced(ctx.fs.gsm_response(target, ctx.pins)),
        Class::Uicc if apdu.p2 == 0x04 => Reply::Produced(ctx.fs.fcp(target, ctx.pins)),
        Class::Uicc => Reply::Sw(StatusWord::OK),
    }
}

/// STATUS `F2` (TS 102 221 §11.1.2, TS 51.011 §9.2.2): the FCP (P2 `00`), the DF name (P2 `01`) or
/// nothing (P2 `0C`) of the current directory.
fn status(ctx: &mut Ctx<'_>, apdu: &CommandApdu) -> Reply {
    let df = ctx.ch.sel.df;
    let data = match ctx.class {
        Class::Gsm => {
            if apdu.p1 != 0 || apdu.p2 != 0 {
                return Fail::WrongP1P2.into();
            }
            ctx.fs.gsm_response(df, ctx.pins)
        }
        Class::Uicc => {
            if apdu.p1 > 0x02 {
                return Fail::WrongP1P2.into();
            }
            match apdu.p2 {
                0x00 => ctx.fs.fcp(df, ctx.pins),
                0x01 => match ctx.ch.sel.adf.and_then(|a| ctx.fs.node(a)).map(|n| &n.kind) {
                    Some(NodeKind::Adf { aid }) => {
                        let mut v = vec![0x84, aid.len() as u8];
                        v.extend_from_slice(aid);
                        v
                    }
                    _ => return Fail::FileNotFound.into(),
                },
                0x0C => return Reply::Sw(StatusWord::OK),
                _ => return Fail::WrongP1P2.into(),
            }
        }
    };
    let resp = serve(ctx.ch, ctx.class, data, apdu.ne().unwrap_or(256));
    Reply::Data(resp.data, resp.sw)
}

/// Resolves the EF a binary/record command works on: by SFI (selecting it) or the current EF, and checks
/// the access condition picked by `cond`.
fn target_ef(
    ctx: &mut Ctx<'_>,
    sfi: Option<u8>,
    cond: fn(&super::fs::Node) -> AccessCondition,
) -> Result<NodeId, Fail> {
    let ef = match sfi {
        Some(s) => {
            let ef = ctx.fs.ef_by_sfi(ctx.ch.sel.df, s).ok_or(Fail::FileNotFound)?;
            if ctx.ch.sel.ef != Some(ef) {
                ctx.ch.sel.ef = Some(ef);
                ctx.ch.sel.record = None;
            }
            ef
        }
        None => ctx.ch.sel.ef.ok_or(Fail::NoEfSelected)?,
    };
    let node = ctx.fs.node(ef).ok_or(Fail::NoEfSelected)?;
    if !ctx.rights.allows(cond(node)) {
        return Err(Fail::Security);
    }
    Ok(ef)
}

/// P1/P2 of READ/UPDATE BINARY: (SFI, offset). In the 2G class there is no SFI.
fn binary_params(class: Class, apdu: &CommandApdu) -> (Option<u8>, usize) {
    if class == Class::Uicc && apdu.p1 & 0x80 != 0 {
        (Some(apdu.p1 & 0x1F), usize::from(apdu.p2))
    } else {
        (None, usize::from(u16::from_be_bytes([apdu.p1 & 0x7F, apdu.p2])))
    }
}

/// READ BINARY `B0` (TS 102 221 §11.1.3, TS 51.011 §9.2.3).
fn read_binary(ctx: &mut Ctx<'_>, apdu: &CommandApdu) -> Reply {
    let (sfi, offset) = binary_params(ctx.class, apdu);
    if sfi == Some(0) {
        return Fail::WrongP1P2.into();
    }
    let ef = match target_ef(ctx, sfi, |n| n.read) {
        Ok(ef) => ef,
        Err(f) => return f.into(),
    };
    let Some(EfBody::Transparent(body)) = ctx.fs.body(ef) else { return Fail::Incompatible.into() };
    if offset >= body.len() {
        return Fail::OutOfRange.into();
    }
    let rest = &body[offset..];
    let ne = apdu.ne().map_or(256, |n| n as usize);
    if ne == 256 && rest.len() <= 256 {
        return Reply::Data(rest.to_vec(), StatusWord::OK);
    }
    if ne <= rest.len() {
        return Reply::Data(rest[..ne].to_vec(), StatusWord::OK);
    }
    match ctx.class {
        Class::Uicc => Reply::Data(rest.to_vec(), StatusWord(0x6282)),
        Class::Gsm => Fail::OutOfRange.into(),
    }
}

/// UPDATE BINARY `D6` (TS 102 221 §11.1.4, TS 51.011 §9.2.4).
fn update_binary(ctx: &mut Ctx<'_>, apdu: &CommandApdu) -> Reply {
    let (sfi, offset) = binary_params(ctx.class, apdu);
    if sfi == Some(0) {
        return Fail::WrongP1P2.into();
    }
    let data = apdu.data();
    if data.is_empty() {
        return Fail::WrongLength.into();
    }
    let ef = match target_ef(ctx, sfi, |n| n.update) {
        Ok(ef) => ef,
        Err(f) => return f.into(),
    };
    let Some(EfBody::Transparent(body)) = ctx.fs.body_mut(ef) else { return Fail::Incompatible.into() };
    if offset >= body.len() {
        return Fail::OutOfRange.into();
    }
    let Some(dst) = body.get_mut(offset..offset + data.len()) else {
        return match ctx.class {
            Class::Uicc => Fail::WrongLength.into(),
            Class::Gsm => Fail::OutOfRange.into(),
        };
    };
    dst.copy_from_slice(data);
    Reply::Sw(StatusWord::OK)
}

/// Which record a READ/UPDATE RECORD addresses (TS 102 221 §11.1.5: modes `02` next, `03` previous, `04`
/// absolute/current) and whether the record pointer moves to it.
///
/// Decision: absolute mode leaves the record pointer where it was (TS 51.011 §9.2.5 says so for the 2G
/// SIM, and TS 102 221 is read the same way); next/previous move it. Next from no pointer is record 1,
/// previous from no pointer the last record; past either end is "record not found".
fn record_index(sel: &Selection, mode: u8, p1: u8, count: usize) -> Result<(usize, bool), Fail> {
    match mode {
        0x04 if p1 == 0 => sel.record.map(|r| (r, false)).ok_or(Fail::RecordNotFound),
        0x04 => {
            let i = usize::from(p1) - 1;
            if i < count { Ok((i, false)) } else { Err(Fail::RecordNotFound) }
        }
        0x02 => {
            let i = sel.record.map_or(0, |r| r + 1);
            if i < count { Ok((i, true)) } else { Err(Fail::RecordNotFound) }
        }
        0x03 => match sel.record {
            None if count > 0 => Ok((count - 1, true)),
            Some(r) if r > 0 => Ok((r - 1, true)),
            _ => Err(Fail::RecordNotFound),
        },
        _ => Err(Fail::WrongP1P2),
    }
}

/// P2 of READ/UPDATE RECORD: (SFI, mode). In the 2G class P2 is the mode alone.
fn record_params(class: Class, p2: u8) -> (Option<u8>, u8) {
    match class {
        Class::Uicc => {
            let sfi = p2 >> 3;
            ((sfi != 0).then_some(sfi), p2 & 0x07)
        }
        Class::Gsm => (None, p2),
    }
}

/// READ RECORD `B2` (TS 102 221 §11.1.5, TS 51.011 §9.2.5).
fn read_record(ctx: &mut Ctx<'_>, apdu: &CommandApdu) -> Reply {
    let (sfi, mode) = record_params(ctx.class, apdu.p2);
    if sfi == Some(31) || !matches!(mode, 0x02..=0x04) {
        return Fail::WrongP1P2.into();
    }
    let ef = match target_ef(ctx, sfi, |n| n.read) {
        Ok(ef) => ef,
        Err(f) => return f.into(),
    };
    let Some(EfBody::LinearFixed { record_len, records }) = ctx.fs.body(ef) else {
        return Fail::Incompatible.into();
    };
    let (i, moves) = match record_index(&ctx.ch.sel, mode, apdu.p1, records.len()) {
        Ok(x) => x,
        Err(f) => return f.into(),
    };
    let rl = usize::from(*record_len);
    let ne = apdu.ne().map_or(256, |n| n as usize);
    if ne != 256 && ne != rl {
        return Reply::Sw(wrong_le(ctx.class, rl));
    }
    let data = records.get(i).cloned().unwrap_or_default();
    if moves {
        ctx.ch.sel.record = Some(i);
    }
    Reply::Data(data, StatusWord::OK)
}

/// UPDATE RECORD `DC` (TS 102 221 §11.1.6, TS 51.011 §9.2.6).
fn update_record(ctx: &mut Ctx<'_>, apdu: &CommandApdu) -> Reply {
    let (sfi, mode) = record_params(ctx.class, apdu.p2);
    if sfi == Some(31) || !matches!(mode, 0x02..=0x04) {
        return Fail::WrongP1P2.into();
    }
    let ef = match target_ef(ctx, sfi, |n| n.update) {
        Ok(ef) => ef,
        Err(f) => return f.into(),
    };
    let sel = ctx.ch.sel;
    let Some(EfBody::LinearFixed { record_len, records }) = ctx.fs.body_mut(ef) else {
        return Fail::Incompatible.into();
    };
    if apdu.data().len() != usize::from(*record_len) {
        return Fail::WrongLength.into();
    }
    let (i, moves) = match record_index(&sel, mode, apdu.p1, records.len()) {
        Ok(x) => x,
        Err(f) => return f.into(),
    };
    if let Some(r) = records.get_mut(i) {
        r.copy_from_slice(apdu.data());
    }
    if moves {
        ctx.ch.sel.record = Some(i);
    }
    Reply::Sw(StatusWord::OK)
}

/// True when `id` is `7F20` directly under the MF (DF_GSM).
#[must_use]
pub fn is_df_gsm(fs: &FileSystem, id: NodeId) -> bool {
    fs.node(id).is_some_and(|n| n.fid == fid::DF_GSM && n.parent == Some(fs.mf()))
}

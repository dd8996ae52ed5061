//! Toolkit applications behind TARs (TS 102 225 §5.1.1 TAR, TS 102 226 §5–§8): the [`Applet`] trait, the
//! remote-command script runner, and the built-in applets.
//!
//! A command packet that passes the secured-packet checks reaches the applet registered for its TAR. The
//! secured data is a remote command script (TS 102 226 §5): compact or expanded, chosen per TAR
//! ([`ScriptFormat`]). [`run_script`] decodes it command by command, hands each C-APDU to
//! [`Applet::process`] with an [`AppletContext`] (the card's file system, OTA keysets, proactive queue and
//! the packet's security parameters), stops at the first error, and builds the response data of §5.1.2 /
//! §5.2.2 that goes into the PoR.
//!
//! Built-in applets:
//! - [`RfmApplet`]: remote file management (TS 102 226 §7) on the MF (UICC shared file system), on an ADF
//!   (e.g. ADF.USIM) or on DF_GSM. At the start of each command packet its session selects its root
//!   implicitly (the MF, the ADF, DF_GSM) with no current EF; commands in class `00` or `A0` run against
//!   the card's files with the access domain of the TAR ([`Rights`]), in a selection of their own that
//!   never disturbs the terminal's.
//! - [`RefreshApplet`]: a toolkit applet (TAR `B2 00 00` in the example profile, configurable) that issues
//!   the proactive REFRESH with the qualifier its command carries: STORE DATA `80 E2 80 00 03 80 01 <qq>`,
//!   `qq` = `04` for a UICC reset. TS 102 226 has no remote refresh, and S3-090907 step 4 ("reset the
//!   USIM") needs one; see [`RefreshApplet`] for why STORE DATA.
//! - [`super::isd::IsdApplet`]: the issuer security domain for RAM (GlobalPlatform PUT KEY, GET DATA).
//! - [`super::keyslot::KeySlotApplet`]: the Alt 3b key-slot applet (STORE DATA `80 E2 90 00 A0 {…}`),
//!   which moves the card to the next pair of its indexed K/OTA-key list.
//!
//! Another applet is a type implementing [`Applet`], installed with [`super::Uicc::install_applet`] under
//! its own TAR (or, to be part of card files, a new [`super::profile::ApplicationKind`] with its settings).

use std::fmt;

use m2msim_codec::apdu::{Cla, CommandApdu, CommandTpdu, ResponseApdu, StatusWord};
use m2msim_codec::cat::RefreshMode;
use m2msim_codec::ota::{Cntr, Kic, Kid, Spi, Tar};
use m2msim_codec::reader::Reader;
use m2msim_codec::rfm::{
    CommandItem, CompactResponse, ExpandedResponse, ExpandedScript, P3Rule, ResponseItem,
};
use m2msim_codec::tlv::LenForm;
use m2msim_codec::tlv::ber::BerTlv;
use m2msim_codec::{Decode, DecodeErrorKind, Encode};
use serde::{Deserialize, Serialize};

use super::commands::{self, Channel, Class, Ctx, Fail, Rights, Scope};
use super::fs::{FileSystem, NodeId, PinSummary};
use super::proactive::ProactiveQueue;
use crate::crypto::SecurityProvider;
use crate::keys::{Keysets, Kvn};

/// The remote command structure a TAR takes (TS 102 226 §5; the TAR decides, §7.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptFormat {
    /// §5.1: concatenated C-APDUs in the T=0 shape.
    #[default]
    Compact,
    /// §5.2: a command scripting template `AA` / `AE` of C-APDU TLVs.
    Expanded,
}

/// The security parameters of the command packet being processed (TS 102 225 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInfo {
    /// The TAR.
    pub tar: Tar,
    /// The SPI.
    pub spi: Spi,
    /// The KIc byte.
    pub kic: Kic,
    /// The KID byte.
    pub kid: Kid,
    /// The counter.
    pub cntr: Cntr,
}

impl PacketInfo {
    /// The keyset that secured the packet: the KVN of the KIc when ciphered, else of the KID when it
    /// carries a cryptographic checksum; `None` for an unsecured packet.
    #[must_use]
    pub fn kvn(&self) -> Option<Kvn> {
        use m2msim_codec::ota::Checksum;
        if self.spi.ciphered() {
            return Kvn::of_key_byte(self.kic.0).ok();
        }
        if self.spi.checksum() == Checksum::Cc {
            return Kvn::of_key_byte(self.kid.0).ok();
        }
        None
    }
}

/// A keyset change an applet asks for: `keyset` is added, replacing the keyset `replaces` (when given);
/// both KVNs' receive counters restart at zero.
#[derive(Debug)]
pub struct KeysetUpdate {
    /// The KVN of the keyset it replaces, if any.
    pub replaces: Option<Kvn>,
    /// The new keyset.
    pub keyset: crate::keys::Keyset,
}

/// What an applet may use while it processes a command (the card lends it for one command packet).
#[derive(Debug)]
pub struct AppletContext<'a> {
    /// The card's files.
    pub fs: &'a mut FileSystem,
    /// The PIN state shown in select responses.
    pub pins: PinSummary,
    /// The card's OTA keysets as they were when the packet arrived.
    pub keysets: &'a Keysets,
    /// Keyset changes to make once the PoR is built (PUT KEY; see the `ota` module).
    pub keyset_updates: &'a mut Vec<KeysetUpdate>,
    /// The crypto provider the card expands keys with.
    pub provider: &'a dyn SecurityProvider,
    /// Proactive commands to queue (REFRESH, SEND SHORT MESSAGE …).
    pub proactive: &'a mut ProactiveQueue,
    /// The subscription keys (K, OPc, SQN state), when the card has them: an applet that switches the
    /// subscription (Alt 3b) replaces them with [`super::auth::Subscriber::replace_keys`].
    pub subscriber: Option<&'a mut super::auth::Subscriber>,
    /// The Alt 3b list of pairs, when the card has one (the key-slot applet's state; see
    /// [`super::keyslot`]).
    pub keyslots: Option<&'a mut super::keyslot::KeySlots>,
    /// The packet being processed.
    pub packet: PacketInfo,
}

/// A toolkit application reached by TAR.
pub trait Applet: fmt::Debug + Send {
    /// A short name for listings and the card file (`rfm`, `ram`, `refresh` …).
    fn kind(&self) -> &'static str;

    /// The script format its TAR takes.
    fn script_format(&self) -> ScriptFormat {
        ScriptFormat::Compact
    }

    /// How P3 is read in a compact script for this applet (TS 102 226 §5.1.1).
    fn p3_rule(&self) -> P3Rule {
        P3Rule::FILE_SYSTEM
    }

    /// Called before the first command of each command packet.
    fn begin(&mut self, _ctx: &mut AppletContext<'_>) {}

    /// Processes one C-APDU of the script.
    fn process(&mut self, apdu: &CommandApdu, ctx: &mut AppletContext<'_>) -> ResponseApdu;
}

/// True when `sw` stops a remote command script (TS 102 226 §5.1.1 / §5.2.1): anything but normal
/// processing (`9000`, `61xx`, `9Fxx`, `91xx`) and the warnings `62xx` / `63xx`.
///
/// Decision: warnings do not stop the script; `62F1` (response truncated) is the card's own signal and
/// does.
#[must_use]
pub fn stops_script(sw: StatusWord) -> bool {
    sw.is_error() || sw == StatusWord::MORE_DATA_AVAILABLE
}

/// Runs the script in `data` on `applet` and returns the response data for the PoR (TS 102 226 §5.1.2 /
/// §5.2.2).
///
/// Compact: commands are read one at a time with the applet's [`P3Rule`]; a command cut short ends the
/// script and is reported as executed with status `6700` (decision: TS 102 226 has no bad-format report in
/// the compact format). Expanded: the template must decode; a template that does not is answered with a
/// bad-format TLV `90` (`01` unknown tag, `02` wrong length, `03` length missing) and no command runs.
/// Immediate-action and error-action TLVs are skipped; a script-chaining TLV is answered with `83 01 02`
/// (script chaining not supported).
pub fn run_script(applet: &mut dyn Applet, data: &[u8], ctx: &mut AppletContext<'_>) -> Vec<u8> {
    applet.begin(ctx);
    match applet.script_format() {
        ScriptFormat::Compact => run_compact(applet, data, ctx).encode(),
        ScriptFormat::Expanded => run_expanded(applet, data, ctx).encode(),
    }
}

fn run_compact(applet: &mut dyn Applet, data: &[u8], ctx: &mut AppletContext<'_>) -> CompactResponse {
    let rule = applet.p3_rule();
    let mut r = Reader::new(data);
    let mut executed: u8 = 0;
    let mut last = CompactResponse::new(0, StatusWord::OK, Vec::new());
    while !r.is_empty() {
        executed = executed.saturating_add(1);
        let tpdu = match CommandTpdu::read(&mut r, |_: Cla, ins| rule.direction(ins)) {
            Ok(t) => t,
            Err(_) => return CompactResponse::new(executed, StatusWord::WRONG_LENGTH, Vec::new()),
        };
        let resp = applet.process(&tpdu.to_apdu(), ctx);
        last = CompactResponse::new(executed, resp.sw, resp.data);
        if stops_script(resp.sw) {
            break;
        }
    }
    last
}

fn bad_format(code: u8) -> ExpandedResponse {
    ExpandedResponse {
        length: LenForm::Minimal,
        items: vec![
            ResponseItem::executed(0),
            ResponseItem::BadFormat { value: vec![code], len_form: LenForm::Minimal },
        ],
    }
}

fn run_expanded(applet: &mut dyn Applet, data: &[u8], ctx: &mut AppletContext<'_>) -> ExpandedResponse {
    let script = match ExpandedScript::decode_exact(data) {
        Ok(s) => s,
        Err(e) => {
            return bad_format(match e.kind {
                DecodeErrorKind::UnexpectedTag { .. } => 0x01,
                DecodeErrorKind::LengthOverflow { .. } => 0x02,
                _ => 0x03,
            });
        }
    };
    let mut executed: u8 = 0;
    let mut items = Vec::new();
    for item in &script.items {
        match item {
            CommandItem::CApdu { apdu, .. } => {
                executed = executed.saturating_add(1);
                let resp = applet.process(apdu, ctx);
                let stop = stops_script(resp.sw);
                items.push(ResponseItem::r_apdu(resp));
                if stop {
                    break;
                }
            }
            CommandItem::ScriptChaining { .. } => items
                .push(ResponseItem::ScriptChainingResponse { value: vec![0x02], len_form: LenForm::Minimal }),
            CommandItem::ImmediateAction { .. } | CommandItem::ErrorAction { .. } => {}
            CommandItem::Unknown(_) => {
                items.push(ResponseItem::BadFormat { value: vec![0x01], len_form: LenForm::Minimal });
                break;
            }
        }
    }
    if script.length == LenForm::Indefinite {
        ExpandedResponse { length: LenForm::Indefinite, items }
    } else {
        items.insert(0, ResponseItem::executed(executed));
        ExpandedResponse { length: LenForm::Minimal, items }
    }
}

/// The root of an RFM applet (TS 102 226 §7.1–§7.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RfmRoot {
    /// UICC shared file system RFM: the MF.
    Mf,
    /// ADF RFM: the ADF with this label (`USIM`).
    Adf(String),
    /// SIM RFM: DF_GSM (`3F00/7F20`).
    DfGsm,
}

/// Remote file management (TS 102 226 §7) on one root (see the module docs).
#[derive(Debug, Clone)]
pub struct RfmApplet {
    root: RfmRoot,
    format: ScriptFormat,
    rights: Rights,
    channel: Option<(Channel, Scope)>,
}

impl RfmApplet {
    /// An RFM applet on `root` taking `format` scripts with the access domain `rights`.
    #[must_use]
    pub const fn new(root: RfmRoot, format: ScriptFormat, rights: Rights) -> Self {
        Self { root, format, rights, channel: None }
    }

    /// The root.
    #[must_use]
    pub const fn root(&self) -> &RfmRoot {
        &self.root
    }

    fn start(&self, fs: &FileSystem) -> Option<(NodeId, Scope)> {
        match &self.root {
            RfmRoot::Mf => Some((fs.mf(), Scope::Shared)),
            RfmRoot::Adf(label) => fs.adf_by_label(label).map(|a| (a, Scope::Adf(a))),
            RfmRoot::DfGsm => {
                fs.child_by_fid(fs.mf(), m2msim_codec::sim::fid::DF_GSM).map(|d| (d, Scope::Shared))
            }
        }
    }
}

impl Applet for RfmApplet {
    fn kind(&self) -> &'static str {
        "rfm"
    }

    fn script_format(&self) -> ScriptFormat {
        self.format
    }

    fn begin(&mut self, ctx: &mut AppletContext<'_>) {
        self.channel = self.start(ctx.fs).map(|(root, scope)| (Channel::at(ctx.fs, root), scope));
    }

    fn process(&mut self, apdu: &CommandApdu, ctx: &mut AppletContext<'_>) -> ResponseApdu {
        let class = match apdu.cla.0 {
            0xA0 => Class::Gsm,
            0x00 => Class::Uicc,
            _ => return ResponseApdu::status(Fail::Cla.sw(Class::Uicc)),
        };
        let Some((ch, scope)) = self.channel.as_mut() else {
            // The root named by the profile does not exist on this card.
            return ResponseApdu::status(Fail::FileNotFound.sw(class));
        };
        if apdu.ins != 0xC0 {
            ch.pending = None;
        }
        let mut c = Ctx { fs: ctx.fs, ch, rights: self.rights, scope: *scope, pins: ctx.pins, class };
        match commands::run(&mut c, apdu) {
            Some(reply) => commands::finish(ch, class, apdu, reply),
            None => ResponseApdu::status(Fail::Ins.sw(class)),
        }
    }
}

/// The REFRESH applet: a toolkit applet with its own TAR (default `B2 00 00`) whose one command makes the
/// card issue the proactive REFRESH (TS 102 223 §6.4.7) with the qualifier it carries.
///
/// TS 102 226 has no remote refresh, and S3-090907 step 4 ("reset the USIM") needs one; in the field
/// a vendor applet does it (m2m.md §4.4). Its command is GlobalPlatform STORE DATA (GP 2.2 §11.11),
/// `80 E2 P1 00 Lc 80 01 <qualifier>`: P1 with b8 set (last block; b5–b4 `10` for BER-TLV is accepted
/// but not required), P2 `00` (block 0), data a TLV `80 01` holding the REFRESH qualifier (`04` = UICC
/// reset). Decision, and why STORE DATA: it is the GP command for handing data to an application through
/// its security domain, it has no file-system meaning that an RFM P3 rule could misread, and the Alt 3b
/// key-slot applet (m2m.md §4.5 (b)) uses the same command, so one OTA server path serves both.
///
/// Status words: `9000` (REFRESH queued), `6A80` (data not `80 01 qq`, or a qualifier above `0A`), `6A86`
/// (P1/P2), `6D00` (another INS), `6E00` (CLA other than `80`), `6A84` (proactive queue full).
#[derive(Debug, Clone, Default)]
pub struct RefreshApplet;

/// INS of STORE DATA (GP 2.2 §11.11).
pub const INS_STORE_DATA: u8 = 0xE2;

impl Applet for RefreshApplet {
    fn kind(&self) -> &'static str {
        "refresh"
    }

    fn p3_rule(&self) -> P3Rule {
        P3Rule::GLOBAL_PLATFORM
    }

    fn process(&mut self, apdu: &CommandApdu, ctx: &mut AppletContext<'_>) -> ResponseApdu {
        if apdu.cla.0 != 0x80 {
            return ResponseApdu::status(StatusWord::CLA_NOT_SUPPORTED);
        }
        if apdu.ins != INS_STORE_DATA {
            return ResponseApdu::status(StatusWord::INS_NOT_SUPPORTED);
        }
        if apdu.p1 & 0x80 == 0 || apdu.p2 != 0 {
            return ResponseApdu::status(StatusWord::WRONG_P1_P2);
        }
        let qualifier = match BerTlv::decode_exact(apdu.data()) {
            Ok(t) if t.tag.value() == 0x80 => match t.primitive_value() {
                Some([q]) if *q <= 0x0A => *q,
                _ => return ResponseApdu::status(StatusWord::WRONG_DATA),
            },
            _ => return ResponseApdu::status(StatusWord::WRONG_DATA),
        };
        match ctx.proactive.push_refresh(RefreshMode::from_u8(qualifier)) {
            Ok(_) => ResponseApdu::status(StatusWord::OK),
            Err(_) => ResponseApdu::status(StatusWord::NOT_ENOUGH_MEMORY),
        }
    }
}

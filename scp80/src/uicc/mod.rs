//! A simulated UICC with a USIM and the 2G SIM view (TS 102 221, TS 31.102, TS 51.011), its toolkit side
//! (TS 102 223 / TS 31.111) and remote management over SCP80 (TS 102 225, TS 31.115, TS 102 226). Sans-IO:
//! APDU in, APDU out ([`Uicc::handle_apdu`] on bytes, [`Uicc::handle`] typed), no clock, no files except
//! through [`Uicc::load`] / [`Uicc::save`].
//!
//! Main types: [`Uicc`]; its [`profile::CardProfile`] (the documented TOML that describes a card and, with
//! its `[state]` section, persists it); the file system ([`fs::FileSystem`]); PINs ([`pin::Pins`]); AKA
//! ([`auth::Subscriber`]); the toolkit applications by TAR ([`applet::Applet`]: RFM, RAM on the ISD with
//! PUT KEY, the REFRESH applet, the Alt 3b key-slot applet of [`keyslot`]); the proactive queue
//! ([`proactive::ProactiveQueue`]); the OTA path ([`ota`]), whose secured-packet checks and PoRs are [`crate::card::CardSecurity`]'s (it holds the
//! card's keysets, TAR table with MSLs and receive counters).
//!
//! # Commands
//!
//! | INS | command | classes |
//! |---|---|---|
//! | `A4` | SELECT by FID (P1 `00`–`03`), AID (`04`), path (`08`, `09`); P2 `04` FCP, `0C` none (`00` in 2G) | `00`, `A0` |
//! | `F2` | STATUS (P2 `00` FCP, `01` AID, `0C` none) | `80`, `A0` |
//! | `B0` / `D6` | READ / UPDATE BINARY, offset or SFI in P1 | `00`, `A0` |
//! | `B2` / `DC` | READ / UPDATE RECORD, modes `02` next, `03` previous, `04` absolute, SFI in P2 | `00`, `A0` |
//! | `C0` | GET RESPONSE | `00`, `A0` |
//! | `20` / `2C` | VERIFY PIN / UNBLOCK PIN (key references `01` PIN1, `0A` ADM1) | `00`, `A0` |
//! | `88` | AUTHENTICATE (3G `81`, GSM `80`) / RUN GSM ALGORITHM | `00`, `A0` |
//! | `10` | TERMINAL PROFILE | `80`, `A0` |
//! | `C2` | ENVELOPE (SMS-PP download `D1` → OTA) | `80`, `A0` |
//! | `12` / `14` | FETCH / TERMINAL RESPONSE | `80`, `A0` |
//!
//! A known INS in the wrong class (e.g. `80 A4`) answers `6E00`; an unknown one `6D00`; a logical channel
//! other than 0 `6881`; secure messaging `6882`; any other class byte `6E00`.
//!
//! # Response data and the status-word dance
//!
//! The card is modelled on T=0 (its ATR offers T=0 only) and also answers APDUs that carry an Le:
//! - Commands that may carry data and produce a response (SELECT with FCP, AUTHENTICATE, RUN GSM
//!   ALGORITHM, ENVELOPE with a PoR) keep the response for GET RESPONSE and answer `61xx` (UICC) or `9Fxx`
//!   (2G) when the C-APDU has no Le (a T=0 case 3/4 command); with an Le (an ISO case 4 APDU, as PC/SC
//!   sends over T=1) the data comes back at once. Decision: one card serves both transports.
//! - Outgoing data (READ BINARY/RECORD, STATUS, GET RESPONSE, FETCH) is served against Le: Le `00` means
//!   "all available, up to 256"; an exact Le gets the data; a larger Le `6Cxx` (UICC) or `67xx` (2G) with
//!   the right length, the data staying available; a smaller Le the first bytes (GET RESPONSE: the rest
//!   behind `61xx` in the UICC class). READ BINARY past the end answers `6282` with what there is (UICC).
//! - Any command other than GET RESPONSE discards data waiting for GET RESPONSE.
//! - After the terminal sent TERMINAL PROFILE, a `9000` turns into `91xx` while a proactive command waits
//!   (TS 102 221 §14.7); FETCH takes it (FETCH with no command waiting, or TERMINAL RESPONSE with none in
//!   progress: `6985`), TERMINAL RESPONSE closes it (details not matching: `6A80`).
//! - A card that is powered off answers `6F00` (a real one would not answer at all).
//!
//! # Access
//!
//! READ needs the EF's read condition, UPDATE its update condition (profile: `always`, `pin1`, `adm1`,
//! `never`). VERIFY of PIN1 (or disabling it in the profile) meets `pin1`, VERIFY of ADM1 meets `adm1`;
//! AUTHENTICATE needs PIN1 and an active ADF (`6985` without one). Wrong PIN: `63Cx` with the attempts left,
//! `6983` once blocked (2G: `9804`, `9840`).

pub mod applet;
pub mod auth;
pub mod commands;
pub mod fs;
pub mod isd;
pub mod keyslot;
pub mod ota;
pub mod pin;
pub mod proactive;
pub mod profile;
#[cfg(feature = "cli")]
pub mod server;

use std::collections::BTreeMap;
use std::sync::Arc;

use m2msim_codec::apdu::{CommandApdu, ResponseApdu, StatusWord};
use m2msim_codec::cat::TerminalResponse;
use m2msim_codec::ota::Tar;
use m2msim_codec::sms::concat::{PacketKind, Reassembler};
use m2msim_codec::{Decode, Encode};

use self::applet::Applet;
use self::auth::{AuthResult, Subscriber};
use self::commands::{Channel, Class, Ctx, Fail, Reply, Rights, Scope};
use self::fs::FileSystem;
use self::pin::{KEY_REF_PIN1, PIN_LEN, Pins, Presentation};
use self::proactive::{ProactiveError, ProactiveQueue};
use crate::card::{CardSecurity, Msl};
use crate::counter::{CardId, Counter};
use crate::crypto::SecurityProvider;
use crate::keys::{Keysets, Kvn};

/// The ATR of the simulated card when the profile gives none: T=0 and T=15 (TA3 `C7`: clock stop
/// allowed, classes A, B and C), with the historical bytes of a commercial USIM
/// (`3B 9F 96 80 1F C7 80 31 A0 73 BE 21 13 67 43 20 07 18 00 00 01 A5`).
pub const DEFAULT_ATR: [u8; 22] = [
    0x3B, 0x9F, 0x96, 0x80, 0x1F, 0xC7, 0x80, 0x31, 0xA0, 0x73, 0xBE, 0x21, 0x13, 0x67, 0x43, 0x20, 0x07,
    0x18, 0x00, 0x00, 0x01, 0xA5,
];

/// A toolkit application registered under a TAR.
#[derive(Debug)]
pub struct Application {
    /// Its TAR.
    pub tar: Tar,
    /// The minimum security level: an SPI first byte (TS 102 226 §8.2.1.3.2.4.2) the packets' SPI1 must
    /// reach field by field (see the `ota` module).
    pub msl: u8,
    /// Where it came from in the profile (`None` for an applet installed by code; it is not saved).
    pub config: Option<profile::ApplicationSpec>,
    /// The applet.
    pub applet: Box<dyn Applet>,
}

/// The simulated card (see the module docs).
#[derive(Debug)]
pub struct Uicc {
    atr: Vec<u8>,
    label: Option<String>,
    fs: FileSystem,
    pins: Pins,
    subscriber: Option<Subscriber>,
    keyslots: Option<keyslot::KeySlots>,
    provider: Arc<dyn SecurityProvider>,
    /// Keysets, TARs with their MSLs, receive counters: the secured-packet layer.
    security: CardSecurity<()>,
    card_id: CardId,
    apps: BTreeMap<[u8; 3], Application>,
    submit_reference: u8,
    powered: bool,
    channel: Channel,
    terminal_profile: Option<Vec<u8>>,
    proactive: ProactiveQueue,
    reassembler: Reassembler,
}

impl Uicc {
    /// The ATR.
    #[must_use]
    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// The label the profile gives the card, if any.
    #[must_use]
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The files.
    #[must_use]
    pub const fn fs(&self) -> &FileSystem {
        &self.fs
    }

    /// The files, to change them directly (tests, tools).
    pub fn fs_mut(&mut self) -> &mut FileSystem {
        &mut self.fs
    }

    /// The PINs.
    #[must_use]
    pub const fn pins(&self) -> &Pins {
        &self.pins
    }

    /// The subscription keys and SQN state, if the profile has them.
    #[must_use]
    pub const fn subscriber(&self) -> Option<&Subscriber> {
        self.subscriber.as_ref()
    }

    /// The OTA keysets.
    #[must_use]
    pub const fn keysets(&self) -> &Keysets {
        self.security.keysets()
    }

    /// The secured-packet layer: keysets, TAR table, counters, policy.
    #[must_use]
    pub const fn security(&self) -> &CardSecurity<()> {
        &self.security
    }

    /// The receive counter (the RE's CNTR) of a keyset: zero when never used.
    #[must_use]
    pub fn counter(&self, kvn: Kvn) -> Counter {
        self.security.counters().current(&self.card_id, kvn).unwrap_or(Counter::ZERO)
    }

    /// The applications by TAR.
    pub fn applications(&self) -> impl Iterator<Item = &Application> {
        self.apps.values()
    }

    /// The proactive queue.
    #[must_use]
    pub const fn proactive(&self) -> &ProactiveQueue {
        &self.proactive
    }

    /// The terminal profile received since the last reset.
    #[must_use]
    pub fn terminal_profile(&self) -> Option<&[u8]> {
        self.terminal_profile.as_deref()
    }

    /// The crypto provider keys are expanded with.
    #[must_use]
    pub fn provider(&self) -> &dyn SecurityProvider {
        self.provider.as_ref()
    }

    /// Registers `applet` under `tar` with the minimum security level `msl` (an SPI first byte), replacing
    /// what was there. Applets installed this way are not written to the card file.
    pub fn install_applet(&mut self, tar: Tar, msl: u8, applet: Box<dyn Applet>) {
        self.security.tars_mut().insert(tar, Msl(msl), ());
        self.apps.insert(tar.0, Application { tar, msl, config: None, applet });
    }

    /// Powers the card on (cold reset) and returns the ATR.
    pub fn power_on(&mut self) -> Vec<u8> {
        self.powered = true;
        self.reset_session();
        self.commit_key_slot();
        self.atr.clone()
    }

    /// Powers the card off: the session state is lost.
    pub fn power_off(&mut self) {
        self.powered = false;
        self.reset_session();
    }

    /// Warm reset: same as a power cycle for this card; returns the ATR.
    pub fn reset(&mut self) -> Vec<u8> {
        self.power_on()
    }

    /// True while powered.
    #[must_use]
    pub const fn is_powered(&self) -> bool {
        self.powered
    }

    fn reset_session(&mut self) {
        self.channel = Channel::at(&self.fs, self.fs.mf());
        self.pins.reset_session();
        self.terminal_profile = None;
        self.proactive.clear();
        self.reassembler = Reassembler::new(PacketKind::Command);
    }

    /// Handles one C-APDU in bytes and returns the R-APDU in bytes (data then SW1 SW2). Bytes that are
    /// not a C-APDU get `6700`.
    pub fn handle_apdu(&mut self, apdu: &[u8]) -> Vec<u8> {
        let resp = match CommandApdu::decode_exact(apdu) {
            Ok(a) => self.handle(&a),
            Err(_) => ResponseApdu::status(StatusWord::WRONG_LENGTH),
        };
        resp.encode()
    }

    /// Handles one C-APDU.
    pub fn handle(&mut self, apdu: &CommandApdu) -> ResponseApdu {
        if !self.powered {
            return ResponseApdu::status(StatusWord::TECHNICAL_PROBLEM);
        }
        let (class, proprietary) = match classify(apdu.cla.0) {
            Ok(c) => c,
            Err(sw) => return ResponseApdu::status(sw),
        };
        if apdu.ins != 0xC0 {
            self.channel.pending = None;
        }
        let mut resp = match self.dispatch(class, proprietary, apdu) {
            Ok(reply) => commands::finish(&mut self.channel, class, apdu, reply),
            Err(resp) => resp,
        };
        if resp.sw == StatusWord::OK
            && self.terminal_profile.is_some()
            && let Some(n) = self.proactive.announce()
        {
            resp.sw = StatusWord::new(0x91, u8::try_from(n).unwrap_or(0));
        }
        resp
    }

    /// Checks the INS against the class and runs it. `Err` carries a finished response (GET RESPONSE).
    fn dispatch(
        &mut self,
        class: Class,
        proprietary: bool,
        apdu: &CommandApdu,
    ) -> Result<Reply, ResponseApdu> {
        // Which INS live in the interindustry (00) and which in the proprietary (80) UICC class.
        let wants_proprietary = match apdu.ins {
            0xA4 | 0xB0 | 0xD6 | 0xB2 | 0xDC | 0xC0 | 0x20 | 0x2C | 0x88 => false,
            0xF2 | 0x10 | 0xC2 | 0x12 | 0x14 => true,
            _ => return Ok(Fail::Ins.into()),
        };
        if class == Class::Uicc && proprietary != wants_proprietary {
            return Ok(Fail::Cla.into());
        }
        Ok(match apdu.ins {
            0xC0 => return Err(commands::get_response(&mut self.channel, class, apdu)),
            0x20 => self.verify(class, apdu),
            0x2C => self.unblock(class, apdu),
            0x88 => self.authenticate(class, apdu),
            0x10 => {
                if apdu.p1 != 0 || apdu.p2 != 0 {
                    return Ok(Fail::WrongP1P2.into());
                }
                if apdu.data().is_empty() {
                    return Ok(Fail::WrongLength.into());
                }
                self.terminal_profile = Some(apdu.data().to_vec());
                Reply::Sw(StatusWord::OK)
            }
            0xC2 => {
                if apdu.p1 != 0 || apdu.p2 != 0 {
                    return Ok(Fail::WrongP1P2.into());
                }
                self.envelope(apdu.data())
            }
            0x12 => self.fetch(class, apdu),
            0x14 => self.terminal_response(class, apdu),
            _ => {
                let rights = Rights { pin1: self.pins.pin1_ok(), adm1: self.pins.adm1_verified };
                let mut ctx = Ctx {
                    fs: &mut self.fs,
                    ch: &mut self.channel,
                    rights,
                    scope: Scope::Card,
                    pins: self.pins.summary(),
                    class,
                };
                commands::run(&mut ctx, apdu).unwrap_or(Fail::Ins.into())
            }
        })
    }

    /// VERIFY PIN `20` (TS 102 221 §11.1.9, TS 51.011 §9.2.9).
    fn verify(&mut self, class: Class, apdu: &CommandApdu) -> Reply {
        if apdu.p1 != 0 {
            return Fail::WrongP1P2.into();
        }
        let pin1_enabled = self.pins.pin1_enabled;
        let Some((pin, verified)) = self.pins.by_ref(apdu.p2) else {
            return match class {
                Class::Uicc => Reply::Sw(StatusWord::REFERENCED_DATA_NOT_FOUND),
                Class::Gsm => Fail::WrongP1P2.into(),
            };
        };
        let data = apdu.data();
        if data.is_empty() && class == Class::Uicc {
            return if pin.blocked() {
                Fail::Blocked.into()
            } else if *verified || (apdu.p2 == KEY_REF_PIN1 && !pin1_enabled) {
                Reply::Sw(StatusWord::OK)
            } else {
                Reply::Sw(StatusWord::new(0x63, 0xC0 | pin.left))
            };
        }
        if data.len() != PIN_LEN {
            return Fail::WrongLength.into();
        }
        let outcome = pin.present(data);
        *verified = outcome == Presentation::Ok;
        presentation_reply(class, outcome)
    }

    /// UNBLOCK PIN `2C` (TS 102 221 §11.1.13, TS 51.011 §9.2.12 UNBLOCK CHV with P2 `00` for CHV1).
    fn unblock(&mut self, class: Class, apdu: &CommandApdu) -> Reply {
        let pin1 = match class {
            Class::Uicc => apdu.p2 == KEY_REF_PIN1,
            Class::Gsm => apdu.p2 == 0x00,
        };
        if apdu.p1 != 0 {
            return Fail::WrongP1P2.into();
        }
        if !pin1 {
            return match class {
                Class::Uicc => Reply::Sw(StatusWord::REFERENCED_DATA_NOT_FOUND),
                Class::Gsm => Fail::WrongP1P2.into(),
            };
        }
        let data = apdu.data();
        if data.is_empty() && class == Class::Uicc {
            let puk = &self.pins.puk1;
            return if puk.blocked() {
                Fail::Blocked.into()
            } else {
                Reply::Sw(StatusWord::new(0x63, 0xC0 | puk.left))
            };
        }
        if data.len() != 2 * PIN_LEN {
            return Fail::WrongLength.into();
        }
        let (puk, new) = data.split_at(PIN_LEN);
        let outcome = self.pins.puk1.present(puk);
        if outcome == Presentation::Ok {
            let mut value = [0u8; PIN_LEN];
            value.copy_from_slice(new);
            self.pins.pin1.replace(value);
            self.pins.pin1_verified = true;
        }
        presentation_reply(class, outcome)
    }

    /// AUTHENTICATE `88` (TS 31.102 §7.1.2) / RUN GSM ALGORITHM (TS 51.011 §9.2.16).
    fn authenticate(&mut self, class: Class, apdu: &CommandApdu) -> Reply {
        if !self.pins.pin1_ok() {
            return Fail::Security.into();
        }
        let Some(sub) = self.subscriber.as_mut() else { return Fail::ConditionsOfUse.into() };
        match class {
            Class::Gsm => {
                if apdu.p1 != 0 || apdu.p2 != 0 {
                    return Fail::WrongP1P2.into();
                }
                let Ok(rand) = <[u8; 16]>::try_from(apdu.data()) else { return Fail::WrongLength.into() };
                let (sres, kc) = sub.gsm(&rand);
                let mut v = sres.to_vec();
                v.extend_from_slice(&kc);
                Reply::Produced(v)
            }
            Class::Uicc => {
                if apdu.p1 != 0 {
                    return Fail::WrongP1P2.into();
                }
                if self.channel.sel.adf.is_none() {
                    return Fail::ConditionsOfUse.into();
                }
                match sub.authenticate(apdu.p2, apdu.data()) {
                    AuthResult::Data(d) => Reply::Produced(d),
                    AuthResult::Sw(sw) => Reply::Sw(sw),
                }
            }
        }
    }

    /// FETCH `12` (TS 102 221 §11.2.3).
    fn fetch(&mut self, class: Class, apdu: &CommandApdu) -> Reply {
        if apdu.p1 != 0 || apdu.p2 != 0 {
            return Fail::WrongP1P2.into();
        }
        let Some(len) = self.proactive.announce() else {
            return match class {
                Class::Uicc => Fail::ConditionsOfUse.into(),
                Class::Gsm => Fail::Technical.into(),
            };
        };
        let ne = apdu.ne().map_or(256, |n| n as usize);
        if ne != 256 && ne != len {
            return Reply::Sw(match class {
                Class::Uicc => StatusWord::new(0x6C, u8::try_from(len).unwrap_or(0)),
                Class::Gsm => StatusWord::new(0x67, u8::try_from(len).unwrap_or(0)),
            });
        }
        match self.proactive.fetch() {
            Some(c) => Reply::Data(c.encode(), StatusWord::OK),
            None => Fail::Technical.into(),
        }
    }

    /// TERMINAL RESPONSE `14` (TS 102 221 §11.2.4).
    fn terminal_response(&mut self, class: Class, apdu: &CommandApdu) -> Reply {
        if apdu.p1 != 0 || apdu.p2 != 0 {
            return Fail::WrongP1P2.into();
        }
        let Ok(tr) = TerminalResponse::from_apdu(apdu) else { return Fail::WrongData.into() };
        match self.proactive.answer(&tr) {
            Ok(_) => Reply::Sw(StatusWord::OK),
            Err(ProactiveError::NoneInProgress) => match class {
                Class::Uicc => Fail::ConditionsOfUse.into(),
                Class::Gsm => Fail::Technical.into(),
            },
            Err(_) => Fail::WrongData.into(),
        }
    }
}

/// The reply to a PIN presentation: `9000`, `63Cx` / `9804` (wrong), `6983` / `9840` (blocked).
fn presentation_reply(class: Class, outcome: Presentation) -> Reply {
    match (class, outcome) {
        (_, Presentation::Ok) => Reply::Sw(StatusWord::OK),
        (Class::Uicc, Presentation::Wrong { left }) => Reply::Sw(StatusWord::new(0x63, 0xC0 | (left & 0x0F))),
        (Class::Gsm, Presentation::Wrong { left: 0 }) => Fail::Blocked.into(),
        (Class::Gsm, Presentation::Wrong { .. }) => Reply::Sw(StatusWord(0x9804)),
        (_, Presentation::Blocked) => Fail::Blocked.into(),
    }
}

/// The class of a CLA byte and whether it is the proprietary (`8X`) UICC class; `Err` with the status
/// word for a class this card does not serve.
fn classify(cla: u8) -> Result<(Class, bool), StatusWord> {
    if cla == 0xA0 {
        return Ok((Class::Gsm, false));
    }
    match cla & 0xF0 {
        0x00 | 0x80 => {
            if cla & 0x03 != 0 {
                Err(StatusWord::LOGICAL_CHANNEL_NOT_SUPPORTED)
            } else if cla & 0x0C != 0 {
                Err(StatusWord::SECURE_MESSAGING_NOT_SUPPORTED)
            } else {
                Ok((Class::Uicc, cla & 0x80 != 0))
            }
        }
        0x40..=0x70 | 0xC0..=0xF0 if cla != 0xFF => Err(StatusWord::LOGICAL_CHANNEL_NOT_SUPPORTED),
        _ => Err(StatusWord::CLA_NOT_SUPPORTED),
    }
}

#[cfg(test)]
mod tests;

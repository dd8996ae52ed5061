//! Typed views of the proactive commands this crate knows: SEND SHORT MESSAGE (TS 102 223 §6.6.9,
//! TS 31.111 §6.6.9) and REFRESH (TS 102 223 §6.6.13).
//!
//! A view holds the objects the command is defined with; [`ProactiveCommand`] keeps the bytes. The views'
//! `to_command` builds the canonical wire form; `from_command` reads a decoded command (objects the view does
//! not model, such as icon identifiers or frame identifiers, stay in the [`ProactiveCommand`]).

use serde::{Deserialize, Serialize};

use super::codes::{CommandType, DeviceIdentity, RefreshMode};
use super::objects::{
    Address, Aid, AlphaIdentifier, CommandDetails, DeviceIdentities, FileList, SimpleTlv, SimpleValue,
    SmsTpdu,
};
use super::template::ProactiveCommand;
use crate::error::{DecodeError, DecodeResult};

/// A proactive command read as the typed view of its type, or kept generic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Proactive {
    /// Type `13`.
    SendShortMessage(SendShortMessage),
    /// Type `01`.
    Refresh(Refresh),
    /// Any other type (or one of the above that could not be viewed), as decoded.
    Other(ProactiveCommand),
}

impl ProactiveCommand {
    /// The typed view of this command.
    ///
    /// # Errors
    /// A command without command details, or a SEND SHORT MESSAGE / REFRESH missing a mandatory object
    /// (offset 0: the start of the command).
    pub fn interpret(&self) -> DecodeResult<Proactive> {
        let details =
            self.command_details().ok_or_else(|| missing("proactive command", "no command details"))?;
        Ok(match details.type_of_command {
            CommandType::SendShortMessage => {
                Proactive::SendShortMessage(SendShortMessage::from_command(self)?)
            }
            CommandType::Refresh => Proactive::Refresh(Refresh::from_command(self)?),
            _ => Proactive::Other(self.clone()),
        })
    }
}

fn missing(what: &'static str, reason: &'static str) -> DecodeError {
    DecodeError::invalid(what, reason, 0)
}

/// The objects every canonical proactive command starts with: `81` command details, `82` device identities
/// (CR set), then the alpha identifier `05` (CR clear) when there is one.
fn canonical_head(
    details: CommandDetails,
    identities: DeviceIdentities,
    alpha: Option<&AlphaIdentifier>,
) -> Vec<SimpleTlv> {
    let mut objects = vec![
        SimpleTlv::required(SimpleValue::CommandDetails(details)),
        SimpleTlv::required(SimpleValue::DeviceIdentities(identities)),
    ];
    if let Some(a) = alpha {
        objects.push(SimpleTlv::new(SimpleValue::AlphaIdentifier(a.clone())));
    }
    objects
}

/// SEND SHORT MESSAGE (TS 102 223 §6.6.9, TS 31.111 §6.6.9): command details (type `13`), device identities
/// (UICC → network), an optional alpha identifier, an optional address (the service centre) and the SMS TPDU
/// (an SMS-SUBMIT, kept as bytes here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendShortMessage {
    /// Command details; the qualifier's bit 1 asks the terminal to pack the SMS.
    pub command_details: CommandDetails,
    /// Normally UICC → network.
    pub device_identities: DeviceIdentities,
    /// Text to show the user while sending (empty: the null alpha identifier, send silently).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha_identifier: Option<AlphaIdentifier>,
    /// RP destination address (the service centre).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// The SMS-SUBMIT TPDU.
    pub tpdu: SmsTpdu,
}

impl SendShortMessage {
    /// Command number `number`, no packing, UICC → network, no alpha identifier or address.
    #[must_use]
    pub fn new(number: u8, tpdu: Vec<u8>) -> Self {
        Self {
            command_details: CommandDetails::new(number, CommandType::SendShortMessage, 0),
            device_identities: DeviceIdentities::new(DeviceIdentity::Uicc, DeviceIdentity::Network),
            alpha_identifier: None,
            address: None,
            tpdu: SmsTpdu(tpdu),
        }
    }

    /// Bit 1 of the qualifier: the terminal shall pack the SMS (TS 31.111 §8.6).
    #[must_use]
    pub const fn packing_required(&self) -> bool {
        self.command_details.qualifier & 0x01 != 0
    }

    /// The canonical command: `81` details, `82` identities, `05` alpha identifier, `86` address, `8B` TPDU
    /// (decision: CR set on all but the alpha identifier, as in the real-card command of scp80_vectors.json).
    #[must_use]
    pub fn to_command(&self) -> ProactiveCommand {
        let mut objects =
            canonical_head(self.command_details, self.device_identities, self.alpha_identifier.as_ref());
        if let Some(a) = &self.address {
            objects.push(SimpleTlv::required(SimpleValue::Address(a.clone())));
        }
        objects.push(SimpleTlv::required(SimpleValue::SmsTpdu(self.tpdu.clone())));
        ProactiveCommand::new(objects)
    }

    /// The view of a decoded command.
    ///
    /// # Errors
    /// Not type `13`, or no device identities or SMS TPDU.
    pub fn from_command(c: &ProactiveCommand) -> DecodeResult<Self> {
        let command_details =
            *c.command_details().ok_or_else(|| missing("SEND SHORT MESSAGE", "no command details"))?;
        if command_details.type_of_command != CommandType::SendShortMessage {
            return Err(missing("SEND SHORT MESSAGE", "type of command is not 13"));
        }
        Ok(Self {
            command_details,
            device_identities: *c
                .device_identities()
                .ok_or_else(|| missing("SEND SHORT MESSAGE", "no device identities"))?,
            alpha_identifier: c.alpha_identifier().cloned(),
            address: c.address().cloned(),
            tpdu: c.sms_tpdu().cloned().ok_or_else(|| missing("SEND SHORT MESSAGE", "no SMS TPDU"))?,
        })
    }
}

/// REFRESH (TS 102 223 §6.6.13): command details (type `01`, the qualifier is the [`RefreshMode`]), device
/// identities (UICC → terminal), and optionally an alpha identifier, the file list (for the file change
/// modes) and the AID of the application concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refresh {
    /// Command details.
    pub command_details: CommandDetails,
    /// Normally UICC → terminal.
    pub device_identities: DeviceIdentities,
    /// Alpha identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha_identifier: Option<AlphaIdentifier>,
    /// Files that changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_list: Option<FileList>,
    /// The application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aid: Option<Aid>,
}

impl Refresh {
    /// Command number `number` in `mode`, UICC → terminal, nothing else (`D0 09 81 03 nn 01 mm 82 02 81 82`).
    #[must_use]
    pub const fn new(number: u8, mode: RefreshMode) -> Self {
        Self {
            command_details: CommandDetails::new(number, CommandType::Refresh, mode.to_u8()),
            device_identities: DeviceIdentities::new(DeviceIdentity::Uicc, DeviceIdentity::Terminal),
            alpha_identifier: None,
            file_list: None,
            aid: None,
        }
    }

    /// The refresh mode (the qualifier).
    #[must_use]
    pub const fn mode(&self) -> RefreshMode {
        RefreshMode::from_u8(self.command_details.qualifier)
    }

    /// The canonical command: `81` details, `82` identities, `05` alpha identifier, `92` file list, `AF` AID
    /// (decision: CR set on all but the alpha identifier).
    #[must_use]
    pub fn to_command(&self) -> ProactiveCommand {
        let mut objects =
            canonical_head(self.command_details, self.device_identities, self.alpha_identifier.as_ref());
        if let Some(f) = &self.file_list {
            objects.push(SimpleTlv::required(SimpleValue::FileList(f.clone())));
        }
        if let Some(a) = &self.aid {
            objects.push(SimpleTlv::required(SimpleValue::Aid(a.clone())));
        }
        ProactiveCommand::new(objects)
    }

    /// The view of a decoded command.
    ///
    /// # Errors
    /// Not type `01`, or no device identities.
    pub fn from_command(c: &ProactiveCommand) -> DecodeResult<Self> {
        let command_details = *c.command_details().ok_or_else(|| missing("REFRESH", "no command details"))?;
        if command_details.type_of_command != CommandType::Refresh {
            return Err(missing("REFRESH", "type of command is not 01"));
        }
        Ok(Self {
            command_details,
            device_identities: *c
                .device_identities()
                .ok_or_else(|| missing("REFRESH", "no device identities"))?,
            alpha_identifier: c.alpha_identifier().cloned(),
            file_list: c.file_list().cloned(),
            aid: c.aid().cloned(),
        })
    }
}

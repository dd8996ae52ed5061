//! The files of `scp80 ota run`: the script file ([`ScriptFile`]) and the cards file ([`CardsFile`]).
//!
//! # Script file
//!
//! Either hex APDUs, one per line (spaces inside a line are ignored, `#` starts a comment):
//!
//! ```text
//! # IMSI change (m2m.md §4.4)
//! 00A4000C026F07                       # SELECT EF_IMSI
//! 00D6000009 080910101032547698        # UPDATE BINARY
//! ```
//!
//! or TOML, which can also carry the defaults of the command-line options:
//!
//! ```toml
//! format = "compact"                   # compact | expanded (default compact; --expanded wins)
//! tar = "B00011"                       # default of --tar
//! spi = "1619"                         # default of --spi
//! kvn = 1                              # default of --kvn
//! apdus = ["00A4000C026F07", "00D6000009 080910101032547698"]
//! # data = "…"                         # instead of apdus: the secured data as it is (raw)
//! ```
//!
//! A file is read as TOML when a line (outside comments) holds `=`. Unknown TOML fields are errors.
//!
//! # Cards file
//!
//! TOML, one `[[card]]` per card file (or profile) as `scp80 uicc` uses them; relative paths are relative
//! to the cards file:
//!
//! ```toml
//! [[card]]
//! file = "card1.toml"                  # a card file (scp80 uicc new) or a profile
//! msisdn = "491700000001"              # the card's MSISDN (international digits)
//! # iccid = "8988211000000000011"      # default: read from the card's EF_ICCID
//!
//! [[card]]
//! file = "profile.toml"
//! msisdn = "491710000000"              # card i gets msisdn + i
//! count = 1000                         # 1,000 cards from this profile
//! iccid = "8988211000000100000"        # card i gets iccid + i (default: EF_ICCID + i)
//! imsi = "001010000100000"             # card i gets imsi + i (default: EF_IMSI + i)
//! # pin1 = "1234"                      # what the terminal presents (default: the profile's digits)
//! ```
//!
//! With `count` (default 1) above 1, EF_ICCID and EF_IMSI are rewritten per card; with `count = 1` the
//! card is used as the file has it (and `scp80 ota run --save` writes it back).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use m2msim_codec::Decode as _;
use m2msim_codec::apdu::CommandApdu;
use m2msim_codec::ota::{Spi, Tar};
use m2msim_codec::sms::Address;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::driver::{Fleet, FleetError, Numbering, SimCard, nth_number, read_iccid, read_imsi};
use super::job::{Script, ScriptKind};
use crate::crypto::SecurityProvider;
use crate::terminal::TerminalConfig;
use crate::uicc::Uicc;
use crate::uicc::profile::CardProfile;

/// Errors reading the files of `scp80 ota run`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not TOML, or not the file's shape.
    #[error("{what}: {message}")]
    Syntax {
        /// Which file.
        what: &'static str,
        /// The parser's message.
        message: String,
    },
    /// A value is invalid.
    #[error("{what}: {field}: {reason}")]
    Invalid {
        /// Where (`script line 3`, `card #2` …).
        what: String,
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// A card could not be built.
    #[error("{what}: {source}")]
    Fleet {
        /// Which entry.
        what: String,
        /// Why.
        source: FleetError,
    },
}

fn invalid(what: impl Into<String>, field: &'static str, reason: impl Into<String>) -> FileError {
    FileError::Invalid { what: what.into(), field, reason: reason.into() }
}

/// A script file (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScriptFile {
    /// `format`: compact or expanded (`None`: not given).
    pub format: Option<ScriptKind>,
    /// The commands.
    pub apdus: Vec<CommandApdu>,
    /// `data`: raw secured data instead of commands.
    pub data: Option<Vec<u8>>,
    /// `tar`.
    pub tar: Option<Tar>,
    /// `spi`.
    pub spi: Option<Spi>,
    /// `kvn`.
    pub kvn: Option<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptToml {
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    tar: Option<String>,
    #[serde(default)]
    spi: Option<String>,
    #[serde(default)]
    kvn: Option<u8>,
    #[serde(default)]
    apdus: Vec<String>,
    #[serde(default)]
    data: Option<String>,
}

fn strip_comment(line: &str) -> &str {
    line.split('#').next().unwrap_or_default().trim()
}

fn apdu(what: String, text: &str) -> Result<CommandApdu, FileError> {
    let bytes = m2msim_codec::hexser::parse_hex(text).map_err(|e| invalid(what.clone(), "apdu", e))?;
    CommandApdu::decode_exact(&bytes).map_err(|e| invalid(what, "apdu", e.to_string()))
}

impl ScriptFile {
    /// Parses a script file (hex lines or TOML, see the module docs).
    ///
    /// # Errors
    /// [`FileError::Syntax`], [`FileError::Invalid`] naming the line or field.
    pub fn parse(text: &str) -> Result<Self, FileError> {
        if text.lines().any(|l| strip_comment(l).contains('=')) {
            return Self::parse_toml(text);
        }
        let mut apdus = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = strip_comment(line);
            if !line.is_empty() {
                apdus.push(apdu(format!("script line {}", i + 1), line)?);
            }
        }
        if apdus.is_empty() {
            return Err(invalid("script", "apdus", "no APDU in the file"));
        }
        Ok(Self { apdus, ..Self::default() })
    }

    fn parse_toml(text: &str) -> Result<Self, FileError> {
        let t: ScriptToml =
            toml::from_str(text).map_err(|e| FileError::Syntax { what: "script", message: e.to_string() })?;
        let format = match t.format.as_deref() {
            None => None,
            Some("compact") => Some(ScriptKind::Compact),
            Some("expanded") => Some(ScriptKind::Expanded),
            Some(other) => {
                return Err(invalid("script", "format", format!("`{other}`: compact or expanded")));
            }
        };
        let hex_n =
            |field: &'static str, v: &Option<String>, n: usize| -> Result<Option<Vec<u8>>, FileError> {
                v.as_deref()
                    .map(|s| {
                        let b =
                            m2msim_codec::hexser::parse_hex(s).map_err(|e| invalid("script", field, e))?;
                        if b.len() == n {
                            Ok(b)
                        } else {
                            Err(invalid("script", field, format!("must be {n} octets")))
                        }
                    })
                    .transpose()
            };
        let tar = hex_n("tar", &t.tar, 3)?.map(|b| Tar([b[0], b[1], b[2]]));
        let spi = hex_n("spi", &t.spi, 2)?.map(|b| Spi::from_bytes([b[0], b[1]]));
        let data = t
            .data
            .as_deref()
            .map(|d| m2msim_codec::hexser::parse_hex(d).map_err(|e| invalid("script", "data", e)))
            .transpose()?;
        let apdus = t
            .apdus
            .iter()
            .enumerate()
            .map(|(i, a)| apdu(format!("script apdus[{i}]"), a))
            .collect::<Result<Vec<_>, _>>()?;
        match (apdus.is_empty(), data.is_some()) {
            (true, false) => return Err(invalid("script", "apdus", "give apdus or data")),
            (false, true) => return Err(invalid("script", "data", "give apdus or data, not both")),
            _ => {}
        }
        Ok(Self { format, apdus, data, tar, spi, kvn: t.kvn })
    }

    /// Reads and parses a script file.
    ///
    /// # Errors
    /// [`FileError::Io`], else as [`ScriptFile::parse`].
    pub fn load(path: &Path) -> Result<Self, FileError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| FileError::Io { path: path.to_owned(), source })?;
        Self::parse(&text)
    }

    /// The script to send: the raw data, else the APDUs in the expanded format when `expanded` (or the
    /// file says so), else compact.
    ///
    /// # Errors
    /// [`FileError::Invalid`] for an APDU that cannot go into a compact script (extended lengths).
    pub fn script(&self, expanded: bool) -> Result<Script, FileError> {
        if let Some(d) = &self.data {
            return Ok(Script::raw(d.clone()));
        }
        if expanded || self.format == Some(ScriptKind::Expanded) {
            return Ok(Script::expanded(&self.apdus));
        }
        Script::compact(&self.apdus).map_err(|e| invalid("script", "apdus", e.to_string()))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CardsToml {
    #[serde(default)]
    card: Vec<CardEntry>,
}

/// One `[[card]]` of a cards file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardEntry {
    /// The card file or profile (relative to the cards file).
    pub file: PathBuf,
    /// The (first) MSISDN.
    pub msisdn: String,
    /// The (first) ICCID; default: EF_ICCID.
    #[serde(default)]
    pub iccid: Option<String>,
    /// How many cards (default 1).
    #[serde(default)]
    pub count: Option<usize>,
    /// The first IMSI when `count` > 1; default: EF_IMSI.
    #[serde(default)]
    pub imsi: Option<String>,
    /// PIN1 digits for the terminal; default: the profile's.
    #[serde(default)]
    pub pin1: Option<String>,
}

/// A cards file (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardsFile {
    /// The entries.
    pub cards: Vec<CardEntry>,
    /// The directory relative paths start from.
    pub base: PathBuf,
}

/// A fleet built from a cards file, and where each single card came from.
#[derive(Debug)]
pub struct LoadedFleet {
    /// The cards.
    pub fleet: Fleet,
    /// Per card: its file when the entry made one card (so it can be saved), else `None`.
    pub files: Vec<Option<PathBuf>>,
}

impl CardsFile {
    /// Parses a cards file; relative paths will be taken from `base`.
    ///
    /// # Errors
    /// [`FileError::Syntax`].
    pub fn parse(text: &str, base: impl Into<PathBuf>) -> Result<Self, FileError> {
        let t: CardsToml = toml::from_str(text)
            .map_err(|e| FileError::Syntax { what: "cards file", message: e.to_string() })?;
        if t.card.is_empty() {
            return Err(invalid("cards file", "card", "no [[card]] entry"));
        }
        Ok(Self { cards: t.card, base: base.into() })
    }

    /// Reads and parses a cards file.
    ///
    /// # Errors
    /// [`FileError::Io`], else as [`CardsFile::parse`].
    pub fn load(path: &Path) -> Result<Self, FileError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| FileError::Io { path: path.to_owned(), source })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(&text, base)
    }

    /// Builds the cards (each powered on in a terminal), expanding keys with `provider`.
    ///
    /// # Errors
    /// [`FileError`] naming the entry.
    pub fn build(&self, provider: &Arc<dyn SecurityProvider>) -> Result<LoadedFleet, FileError> {
        let mut fleet = Fleet::new();
        let mut files = Vec::new();
        for (i, e) in self.cards.iter().enumerate() {
            let what = format!("card #{} ({})", i + 1, e.file.display());
            let fleet_err = |source| FileError::Fleet { what: what.clone(), source };
            let path = self.base.join(&e.file);
            let text = Zeroizing::new(
                std::fs::read_to_string(&path)
                    .map_err(|source| FileError::Io { path: path.clone(), source })?,
            );
            let profile = CardProfile::from_toml(&text).map_err(|e| fleet_err(FleetError::Profile(e)))?;
            let terminal = TerminalConfig {
                pin1: e.pin1.clone().or_else(|| {
                    profile.pins.pin1_enabled.then(|| profile.pins.pin1.digits.clone()).flatten()
                }),
                ..TerminalConfig::default()
            };
            let count = e.count.unwrap_or(1);
            if count == 0 {
                return Err(invalid(what, "count", "at least 1"));
            }
            if count == 1 {
                let uicc = Uicc::from_profile_with(&profile, provider.clone())
                    .map_err(|e| fleet_err(FleetError::Profile(e)))?;
                let iccid = match &e.iccid {
                    Some(i) => i.clone(),
                    None => read_iccid(&uicc)
                        .ok_or_else(|| invalid(what.clone(), "iccid", "EF_ICCID unreadable"))?,
                };
                let msisdn = Address::international(&e.msisdn)
                    .map_err(|err| invalid(what.clone(), "msisdn", err.to_string()))?;
                let card = SimCard::new(iccid, msisdn, uicc, terminal).map_err(fleet_err)?;
                fleet.push(card).map_err(fleet_err)?;
                files.push(Some(path));
                continue;
            }
            let probe = Uicc::from_profile_with(&profile, provider.clone())
                .map_err(|e| fleet_err(FleetError::Profile(e)))?;
            let iccid = match &e.iccid {
                Some(i) => i.clone(),
                None => {
                    read_iccid(&probe).ok_or_else(|| invalid(what.clone(), "iccid", "EF_ICCID unreadable"))?
                }
            };
            let imsi = e.imsi.clone().or_else(|| read_imsi(&probe));
            // Check the numbering of the last card before building any.
            let last = count as u64 - 1;
            nth_number("ICCID", &iccid, last).map_err(fleet_err)?;
            nth_number("MSISDN", &e.msisdn, last).map_err(fleet_err)?;
            let numbering = Numbering { iccid, msisdn: e.msisdn.clone(), imsi };
            fleet
                .extend_from_profile(&profile, count, &numbering, &terminal, provider.clone())
                .map_err(fleet_err)?;
            files.extend(std::iter::repeat_n(None, count));
        }
        Ok(LoadedFleet { fleet, files })
    }
}

//! The report of `scp80 fuzz`: every probe with its TPDUs (the reproducers), the card's answer and the
//! findings; the results of each mode; JSON ([`FuzzReport::to_json`]) and Markdown
//! ([`FuzzReport::markdown`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use m2msim_codec::ota::{Cntr, Kic, Kid, PorStatus, Spi, Tar};
use serde::{Deserialize, Serialize};

use super::Delivery;

/// Which mode sent a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// TAR scan.
    TarScan,
    /// Keyset scan.
    KeysetScan,
    /// Minimum-security-level probe.
    MslProbe,
    /// Random mutation.
    Mutation,
}

/// Something wrong or noteworthy about an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "finding")]
pub enum Finding {
    /// SPI2 asked for a PoR always, none came.
    NoPor,
    /// SPI2 asked for no PoR, one came.
    UnexpectedPor,
    /// The PoR names another TAR.
    PorTarMismatch {
        /// The command's.
        sent: Tar,
        /// The PoR's.
        received: Tar,
    },
    /// The PoR's counter is not the command's (zeros are not counted: error PoRs carry them).
    PorCntrMismatch {
        /// The command's.
        sent: Cntr,
        /// The PoR's.
        received: Cntr,
    },
    /// A PoR without the RC/CC SPI2 asked for.
    PorUnsigned {
        /// Its status.
        status: u8,
    },
    /// An error PoR in plaintext and unsigned although SPI2 asked for protection (real cards do this).
    PorPlaintextError {
        /// Its status.
        status: u8,
    },
    /// The PoR's RC/CC does not verify.
    PorChecksumFailed,
    /// The PoR does not decode.
    MalformedPor,
    /// A PoR OK for a packet that should have been refused.
    AcceptedGarbage,
    /// The link failed (crash-like).
    LinkFailure,
    /// The card did not answer STATUS with `90xx`/`91xx` afterwards (crash-like).
    CardDead,
}

impl Finding {
    /// True for the crash-like findings.
    #[must_use]
    pub const fn crash_like(&self) -> bool {
        matches!(self, Self::LinkFailure | Self::CardDead)
    }

    /// The snake_case name.
    #[must_use]
    pub fn name(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("finding").and_then(|f| f.as_str().map(str::to_owned)))
            .unwrap_or_default()
    }
}

/// One packet sent and what came of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// Its number in the run.
    pub index: usize,
    /// The mode.
    pub mode: Mode,
    /// What it is.
    pub description: String,
    /// The TAR.
    pub tar: Tar,
    /// The SPI (as sent, mutations included).
    pub spi: Spi,
    /// KIc.
    pub kic: Kic,
    /// KID.
    pub kid: Kid,
    /// The counter.
    pub cntr: Cntr,
    /// The SMS-DELIVER TPDUs sent (or the raw ENVELOPE APDU): the reproducer.
    #[serde(with = "hex_list")]
    pub tpdus: Vec<Vec<u8>>,
    /// What came back.
    pub delivery: Delivery,
    /// The PoR status, when a PoR came and could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u8>,
    /// Findings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// The card answered STATUS afterwards.
    pub alive: bool,
}

mod hex_list {
    use serde::{Deserialize as _, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(hex::encode_upper))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| hex::decode(s).map_err(serde::de::Error::custom))
            .collect()
    }
}

/// One TAR of the scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TarResult {
    /// The TAR.
    pub tar: Tar,
    /// The PoR status (`None`: no PoR).
    pub status: Option<u8>,
    /// An application answers (a PoR other than `09`).
    pub answered: bool,
    /// The probe.
    pub probe: usize,
}

/// One key version × algorithm of the keyset scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysetResult {
    /// The TAR probed.
    pub tar: Tar,
    /// The key version.
    pub kvn: u8,
    /// The algorithm family.
    pub algorithm: String,
    /// The PoR status.
    pub status: Option<u8>,
    /// The card has a keyset of this version and algorithm (the packet got past the key check).
    pub present: bool,
    /// The probe.
    pub probe: usize,
}

/// The minimum-security-level probe of one TAR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MslResult {
    /// The TAR.
    pub tar: Tar,
    /// SPI1 sent and the PoR status.
    pub probes: Vec<(u8, Option<u8>)>,
    /// The MSL octet inferred (SPI1 layout), `None` when the baseline was refused.
    pub inferred_msl: Option<u8>,
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FuzzReport {
    /// The card (its address or reader).
    pub card: String,
    /// The seed.
    pub seed: u64,
    /// The TAR scan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tar_scan: Vec<TarResult>,
    /// The TARs that answered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answering_tars: Vec<Tar>,
    /// The keyset scan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keysets: Vec<KeysetResult>,
    /// The MSL probes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub msl: Vec<MslResult>,
    /// Every probe.
    pub probes: Vec<Probe>,
}

impl FuzzReport {
    /// An empty report.
    #[must_use]
    pub fn new(card: &str, seed: u64) -> Self {
        Self {
            card: card.to_owned(),
            seed,
            tar_scan: Vec::new(),
            answering_tars: Vec::new(),
            keysets: Vec::new(),
            msl: Vec::new(),
            probes: Vec::new(),
        }
    }

    /// How many probes had each finding.
    #[must_use]
    pub fn finding_counts(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for p in &self.probes {
            for f in &p.findings {
                *m.entry(f.name()).or_default() += 1;
            }
        }
        m
    }

    /// Probes with a crash-like finding.
    #[must_use]
    pub fn crash_like(&self) -> usize {
        self.probes.iter().filter(|p| p.findings.iter().any(Finding::crash_like)).count()
    }

    /// The report as JSON (with a `summary`: probes per mode, findings, crash-like count).
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        let mut modes: BTreeMap<String, usize> = BTreeMap::new();
        for p in &self.probes {
            let name = serde_json::to_value(p.mode)
                .ok()
                .and_then(|m| m.as_str().map(str::to_owned))
                .unwrap_or_default();
            *modes.entry(name).or_default() += 1;
        }
        if let Some(o) = v.as_object_mut() {
            o.insert(
                "summary".into(),
                serde_json::json!({
                    "probes": self.probes.len(),
                    "probes_by_mode": modes,
                    "findings": self.finding_counts(),
                    "crash_like": self.crash_like(),
                }),
            );
        }
        v
    }

    /// Writes `report.json` and `report.md` into `dir`.
    ///
    /// # Errors
    /// File system errors.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let json = serde_json::to_string_pretty(&self.to_json()).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("report.json"), json)?;
        std::fs::write(dir.join("report.md"), self.markdown())
    }

    /// The human-readable report.
    #[must_use]
    pub fn markdown(&self) -> String {
        let mut m = String::new();
        let tar = |t: &Tar| hex::encode_upper(t.0);
        let st = |s: Option<u8>| {
            s.map_or_else(|| "no PoR".to_owned(), |c| format!("{c:02X} {}", PorStatus::from_u8(c).name()))
        };
        let _ = writeln!(
            m,
            "# scp80 fuzz report\n\n- card: `{}`\n- seed: {}\n- probes: {}",
            self.card,
            self.seed,
            self.probes.len()
        );
        let _ = writeln!(m, "- crash-like: {}\n", self.crash_like());
        if !self.tar_scan.is_empty() {
            let _ = writeln!(m, "## TAR scan\n\n{} TARs scanned; answering:\n", self.tar_scan.len());
            let _ = writeln!(m, "| TAR | PoR status |\n|---|---|");
            for r in self.tar_scan.iter().filter(|r| r.answered) {
                let _ = writeln!(m, "| {} | {} |", tar(&r.tar), st(r.status));
            }
            let silent = self.tar_scan.iter().filter(|r| r.status.is_none()).count();
            let _ = writeln!(m, "\n{silent} TARs gave no PoR.\n");
        }
        if !self.keysets.is_empty() {
            let _ =
                writeln!(m, "## Keyset scan\n\n| TAR | KVN | algorithm | PoR status |\n|---|---|---|---|");
            for r in self.keysets.iter().filter(|r| r.present) {
                let _ = writeln!(m, "| {} | {} | {} | {} |", tar(&r.tar), r.kvn, r.algorithm, st(r.status));
            }
            let _ = writeln!(m);
        }
        if !self.msl.is_empty() {
            let _ = writeln!(
                m,
                "## Minimum security level\n\n| TAR | inferred MSL | SPI1 → status |\n|---|---|---|"
            );
            for r in &self.msl {
                let probes: Vec<_> = r
                    .probes
                    .iter()
                    .map(|(s, c)| format!("{s:02X}→{}", c.map_or("-".into(), |c| format!("{c:02X}"))))
                    .collect();
                let msl = r.inferred_msl.map_or("?".into(), |v| format!("{v:02X}"));
                let _ = writeln!(m, "| {} | {msl} | {} |", tar(&r.tar), probes.join(" "));
            }
            let _ = writeln!(m);
        }
        let _ = writeln!(m, "## Findings\n\n| finding | probes |\n|---|---|");
        for (f, n) in self.finding_counts() {
            let _ = writeln!(m, "| {f} | {n} |");
        }
        let _ = writeln!(m, "\n## Probes with findings (reproducer: the TPDUs)\n");
        for p in self.probes.iter().filter(|p| !p.findings.is_empty()) {
            let names: Vec<_> = p.findings.iter().map(Finding::name).collect();
            let tpdus: Vec<_> = p.tpdus.iter().map(hex::encode_upper).collect();
            let _ = writeln!(
                m,
                "- #{} {}: {} → SW {}, {}; TPDU `{}`",
                p.index,
                p.description,
                names.join(", "),
                p.delivery.envelope_sw.as_deref().unwrap_or("-"),
                st(p.status),
                tpdus.join(" ")
            );
        }
        m
    }
}

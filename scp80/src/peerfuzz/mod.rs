//! Fuzzing a card over SCP80 (issue 10 §2, `scp80 fuzz`), SIMTester-style: secured packets and SMS-PP
//! TPDUs sent to a card through a terminal, and its answers classified.
//!
//! Main items: [`Fuzzer`] (a card behind a [`CardLink`] and the simulated [`Terminal`] in front of it),
//! its modes [`Fuzzer::tar_scan`], [`Fuzzer::keyset_scan`], [`Fuzzer::msl_probe`] and
//! [`Fuzzer::mutations`], and the [`FuzzReport`] (JSON and Markdown) they fill. The links are in [`link`]:
//! the simulated card over its TCP socket ([`link::TcpCard`]: `scp80 uicc serve --listen ADDR`, the m2msim
//! APDU framing of [`crate::uicc`]'s server: 4-byte big-endian length + C-APDU, answered by 4-byte length +
//! R-APDU, an empty message resets), or a real card over PC/SC (`link::PcscCard`, feature `pcsc`).
//!
//! Every packet goes as an SMS-DELIVER (PID `7F`, DCS `F6`, UDH `70 00`) in ENVELOPE (SMS-PP download),
//! driven by [`Terminal`]: the PoR comes back in the ENVELOPE response (the SMS-DELIVER-REPORT) or in a
//! SEND SHORT MESSAGE. After every mutated packet the card is polled (STATUS); a link failure or a
//! status word other than `90xx`/`91xx` is a crash-like finding.
//!
//! # Modes
//!
//! - **TAR scan**: for every TAR of the list, a packet without security (SPI `00 01`: no RC/CC, no
//!   ciphering, no counter, PoR required and unprotected) and no data. `09` (TAR unknown) means no
//!   application; anything else — `0A` (insufficient security level), `00` (an MSL-0 application: it ran
//!   the empty script), `06` — means the TAR answers. A card that sends no PoR is recorded as silent.
//! - **Keyset scan**: for each answering TAR (or the ones given), key version 1..15 × the algorithm families
//!   (DES-CBC, 3DES 2 and 3 keys, DES-ECB, AES), packets ciphered and signed with dummy keys under the
//!   strongest SPI (`1E 01`, which every MSL admits). `06` (unidentified security error: no such keyset or
//!   algorithm) means absent; the later checks (`05` ciphering, `02`/`03` counter, `01` RC/CC) mean the card
//!   has a keyset of that version and algorithm.
//! - **Minimum security level**: with the real keys (a key file), per TAR, a baseline (counter higher,
//!   ciphered, CC; PoR with CC, ciphered) and each field lowered alone (RC, no RC/CC; no ciphering; counter
//!   without check, no counter): `0A` refuses, anything else admits; the lowest admitted value of each
//!   field gives the MSL octet (SPI1 layout). The counter starts at [`FuzzConfig::counter_start`] and grows
//!   (doubling while the card answers `02` counter low).
//! - **Mutations**: random changes of valid packets (with the real keys when given, else unsecured) and of
//!   their TPDU and ENVELOPE: CPL and CHL off by one or extreme, SPI reserved bits and reserved codings,
//!   KIc/KID key versions and algorithms, TAR, counter (replays; counter wrap values only with
//!   [`FuzzConfig::allow_counter_wrap`], since an accepted `FF FF FF FF FF` blocks the key version for
//!   good), PCNTR, bytes of the secured part, truncation and extension, TP-UDL, UDHL and IEI, PID and DCS,
//!   concatenation headers, BER lengths of the envelope. Deterministic from [`FuzzConfig::seed`].
//!
//! # PoR anomalies (every mode)
//!
//! A PoR is read against what its command asked ([`Finding`]): a PoR when none was asked, none when one
//! was, a TAR or counter other than the command's, a PoR OK unsigned although SPI2 asked an RC/CC, an
//! error PoR in plaintext although ciphering was asked (real cards do it; noted), a PoR OK for a mutated
//! packet that should have been refused, a PoR that does not decode, an RC/CC that does not verify.

pub mod link;
pub mod report;

use m2msim_codec::apdu::StatusWord;
use m2msim_codec::ota::{
    Checksum, Cntr, CommandHeader, CounterMode, Kic, Kid, PorRequest, ResponseUserData, Spi, Tar, Transport,
};
use m2msim_codec::sms::concat::{self, ConcatRef};
use m2msim_codec::sms::{Address, RpKind, Scts};
use m2msim_codec::{Decode as _, Encode as _};

pub use link::{Recorder, TcpCard};
pub use report::{Finding, FuzzReport, KeysetResult, MslResult, Probe, TarResult};

use crate::crypto::{ChecksumAlgorithm, CipherAlgorithm, CmacLen, RustCryptoProvider};
use crate::keys::{Keysets, SecretKey};
use crate::packet::por::{
    ChecksumCheck, PorFinding, ResponseFormat, por_user_data_from_deliver_report, por_user_data_from_submit,
    verify_por,
};
use crate::packet::{ExplicitKeys, PacketKeys, secure_command_into};
use crate::terminal::{CardLink, Input, Output, Terminal, TerminalConfig};

/// A small deterministic generator (SplitMix64): the fuzzer's only source of choices.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Self(seed ^ 0x243F_6A88_85A3_08D3)
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

    /// A byte.
    pub fn byte(&mut self) -> u8 {
        self.next_u64().to_le_bytes()[0]
    }
}

/// The TARs scanned by default: the ISD (RAM) and its neighbours, the RFM ranges of TS 101 220 Annex D
/// (UICC `B00000`–`B0001F`, `B00100`–`B0010F`, the `B00120` of eUICC test profiles), the `B2xxxx` and
/// `C0xxxx` vendor ranges' first TARs, and `BFFFFF`.
#[must_use]
pub fn default_tars() -> Vec<Tar> {
    let mut v = Vec::new();
    let mut range = |from: u32, to: u32| {
        for t in from..=to {
            let b = t.to_be_bytes();
            v.push(Tar([b[1], b[2], b[3]]));
        }
    };
    range(0x00_0000, 0x00_0003);
    range(0xB0_0000, 0xB0_001F);
    range(0xB0_0100, 0xB0_010F);
    range(0xB0_0120, 0xB0_0120);
    range(0xB2_0000, 0xB2_000F);
    range(0xC0_0000, 0xC0_000F);
    range(0xBF_FFFF, 0xBF_FFFF);
    v
}

/// Parses a TAR list: `B00010,000000,B00000-B0001F` (hex, ranges inclusive, at most 65 536 TARs).
///
/// # Errors
/// A reason when an element is not 6 hex digits or a range is reversed or too large.
pub fn parse_tars(s: &str) -> Result<Vec<Tar>, &'static str> {
    let one = |t: &str| -> Result<u32, &'static str> {
        let t = t.trim();
        if t.len() != 6 {
            return Err("a TAR is 6 hex digits");
        }
        u32::from_str_radix(t, 16).map_err(|_| "a TAR is 6 hex digits")
    };
    let mut v = Vec::new();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (one(a)?, one(b)?),
            None => (one(part)?, one(part)?),
        };
        if b < a || b - a >= 65_536 || v.len() + usize::try_from(b - a).unwrap_or(usize::MAX) >= 65_536 {
            return Err("a TAR range must be ascending and hold at most 65 536 TARs");
        }
        for t in a..=b {
            let x = t.to_be_bytes();
            v.push(Tar([x[1], x[2], x[3]]));
        }
    }
    Ok(v)
}

/// The settings of a run.
#[derive(Debug, Clone)]
pub struct FuzzConfig {
    /// The seed of the mutations.
    pub seed: u64,
    /// The TARs of the TAR scan.
    pub tars: Vec<Tar>,
    /// The key version of the real keys (MSL probe, mutations), when keys are given.
    pub kvn: u8,
    /// The first counter value of counter-checked packets.
    pub counter_start: u64,
    /// Mutations may send counter values near `FF FF FF FF FF` (blocks the key version on a real card).
    pub allow_counter_wrap: bool,
    /// How many mutated packets.
    pub mutations: u32,
}

impl Default for FuzzConfig {
    /// Seed 1, [`default_tars`], KVN 1, counter from 1, no counter wrap, 200 mutations.
    fn default() -> Self {
        Self {
            seed: 1,
            tars: default_tars(),
            kvn: 1,
            counter_start: 1,
            allow_counter_wrap: false,
            mutations: 200,
        }
    }
}

/// How a PoR came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PorVia {
    /// In the SMS-DELIVER-REPORT (the ENVELOPE response).
    DeliverReport,
    /// In an SMS-SUBMIT (proactive SEND SHORT MESSAGE).
    SmsSubmit,
}

/// What one delivery came to at the terminal.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Delivery {
    /// The ENVELOPE's status word (of the last segment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope_sw: Option<String>,
    /// The PoR user data (`02 71 00 …`), if one came.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "m2msim_codec::hexser::opt")]
    pub por: Option<Vec<u8>>,
    /// How it came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub por_via: Option<PorVia>,
    /// The RP-ERROR cause of the DELIVER-REPORT, if it was an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rp_error: Option<u8>,
    /// The link failed during the delivery.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub link_failure: bool,
}

/// What to check in the answer to a probe.
#[derive(Debug, Clone, Copy)]
struct Check {
    /// Verify the PoR with the real keys.
    keys: bool,
    /// The packet must be refused: a PoR OK is [`Finding::AcceptedGarbage`].
    refuse: bool,
    /// The PoR must carry the counter sent (not after changes inside the ciphered part, where the card
    /// reads another counter).
    cntr: bool,
}

/// The fuzzer: a card behind `L`, the terminal in front of it, the real keys if known.
#[derive(Debug)]
pub struct Fuzzer<L: CardLink> {
    link: Recorder<L>,
    terminal: Terminal,
    keys: Option<Keysets>,
    config: FuzzConfig,
    cntr: u64,
    /// The last counter the card accepted in a counter-checked packet (a replay of it must be refused).
    accepted_cntr: Option<Cntr>,
    clock: u64,
    /// The report being filled.
    pub report: FuzzReport,
}

const OA_DIGITS: &str = "1234";

impl<L: CardLink> Fuzzer<L> {
    /// Powers the card on through the terminal (ATR, EF_DIR, TERMINAL PROFILE, ADF.USIM, EF_IMSI).
    pub fn new(link: L, keys: Option<Keysets>, config: FuzzConfig, card: &str) -> Self {
        let terminal = Terminal::new(TerminalConfig { poll_interval_ms: 1, ..TerminalConfig::default() });
        let cntr = config.counter_start;
        let mut f = Self {
            link: Recorder::new(link),
            terminal,
            keys,
            report: FuzzReport::new(card, config.seed),
            config,
            cntr,
            accepted_cntr: None,
            clock: 0,
        };
        f.terminal.handle_input(&mut f.link, Input::PowerOn);
        while f.terminal.poll_output().is_some() {}
        f.link.take();
        f
    }

    /// The link (to read its failure count).
    pub fn link(&self) -> &L {
        &self.link.inner
    }

    /// Secures `data` for `header` with `keys` (none: an empty [`ExplicitKeys`], enough for SPIs without
    /// security) and returns the packet from the CPL.
    fn packet(
        keys: Option<&dyn PacketKeys>,
        header: &CommandHeader,
        cntr: Cntr,
        data: &[u8],
    ) -> Option<Vec<u8>> {
        let empty = ExplicitKeys::default();
        let keys = keys.unwrap_or(&empty);
        let mut out = Vec::new();
        secure_command_into(keys, Transport::SmsPp, header, cntr, data, &mut out).ok()?;
        Some(out)
    }

    /// The SMS-DELIVER TPDUs carrying `packet`.
    fn tpdus(packet: &[u8], reference: u8) -> Vec<Vec<u8>> {
        let Ok(oa) = Address::from_digits(0x81, OA_DIGITS) else { return Vec::new() };
        concat::deliver_tpdus(packet, ConcatRef::Eight(reference), oa, Scts([0; 7]))
            .map(|v| v.iter().map(|d| d.encode()).collect())
            .unwrap_or_default()
    }

    /// Sends TPDUs through the terminal and collects the PoR.
    fn deliver(&mut self, tpdus: &[Vec<u8>]) -> Delivery {
        let mut d = Delivery::default();
        for tpdu in tpdus {
            self.terminal
                .handle_input(&mut self.link, Input::SmsDeliver { tpdu: tpdu.clone(), sc_address: None });
            self.collect(&mut d);
        }
        // A PoR by SMS-SUBMIT waits behind 91xx: one STATUS poll lets the terminal fetch it.
        if d.por.is_none() {
            self.poll();
            self.collect(&mut d);
        }
        d
    }

    /// Sends a raw ENVELOPE (or any APDU) straight to the card, bypassing the terminal.
    fn raw(&mut self, apdu: &[u8]) -> Delivery {
        let r = self.link.transmit(apdu);
        let mut d = Delivery { envelope_sw: sw_of(&r), link_failure: r.len() < 2, ..Delivery::default() };
        self.poll();
        self.collect(&mut d);
        d
    }

    fn poll(&mut self) {
        self.clock += 1000;
        self.terminal.handle_timeout(&mut self.link, self.clock);
    }

    fn collect(&mut self, d: &mut Delivery) {
        while let Some(o) = self.terminal.poll_output() {
            match o {
                Output::DeliverReport { tpdu, rp } => match rp {
                    RpKind::Ack => {
                        if let Ok(ud) = por_user_data_from_deliver_report(&tpdu, rp)
                            && !ud.is_empty()
                        {
                            d.por = Some(ud);
                            d.por_via = Some(PorVia::DeliverReport);
                        }
                    }
                    RpKind::Error => d.rp_error = tpdu.get(1).copied(),
                },
                Output::SmsSubmit { tpdu, .. } => {
                    if let Ok(ud) = por_user_data_from_submit(&tpdu) {
                        d.por = Some(ud);
                        d.por_via = Some(PorVia::SmsSubmit);
                    }
                }
                _ => {}
            }
        }
        for (c, r) in self.link.take() {
            if c.get(1) == Some(&0xC2) {
                d.envelope_sw = sw_of(&r);
            }
            if r.len() < 2 {
                d.link_failure = true;
            }
        }
    }

    /// Polls the card (STATUS through the terminal): alive when it answers `90xx` or `91xx`.
    fn alive(&mut self) -> bool {
        self.poll();
        while self.terminal.poll_output().is_some() {}
        let log = self.link.take();
        log.last()
            .is_some_and(|(_, r)| sw_of(r).is_some_and(|sw| sw.starts_with("90") || sw.starts_with("91")))
    }

    /// Reads a PoR without keys (plaintext) for its TAR, counter and status.
    fn plain(por: &[u8]) -> Option<(Tar, Cntr, u8, usize)> {
        let ud = ResponseUserData::decode_exact(por).ok()?;
        let s = ud.parse_secured().ok()?;
        Some((ud.packet.tar, s.cntr, s.status.code(), s.rc_cc_ds.len()))
    }

    /// Sends one packet and records the probe with its findings.
    fn probe(
        &mut self,
        mode: report::Mode,
        description: String,
        header: CommandHeader,
        cntr: Cntr,
        tpdus: Vec<Vec<u8>>,
        check: Check,
    ) -> usize {
        let Check { keys: verify_keys, refuse: must_refuse, cntr: check_cntr } = check;
        let delivery = self.deliver(&tpdus);
        let mut findings = Vec::new();
        let mut status = None;
        let asked = header.spi.por() != PorRequest::None;
        match &delivery.por {
            None if asked && delivery.envelope_sw.as_deref() != Some("9000") && !delivery.link_failure => {}
            None if asked && header.spi.por() == PorRequest::Always && !must_refuse => {
                findings.push(Finding::NoPor)
            }
            None => {}
            Some(por) => {
                if !asked {
                    findings.push(Finding::UnexpectedPor);
                }
                match (verify_keys, self.keys.as_ref()) {
                    (true, Some(k)) => {
                        match verify_por(k, &header, Some(cntr), Transport::SmsPp, por, ResponseFormat::Auto)
                        {
                            Ok(r) => {
                                status = Some(r.status.code());
                                por_findings(&r.findings, r.checksum, r.status.code(), &mut findings);
                                if r.status.code() == 0
                                    && matches!(
                                        header.spi.counter_mode(),
                                        CounterMode::Higher | CounterMode::OneHigher
                                    )
                                {
                                    self.accepted_cntr = Some(cntr);
                                }
                            }
                            Err(_) => findings.push(Finding::MalformedPor),
                        }
                    }
                    _ => match Self::plain(por) {
                        Some((tar, c, st, rc_len)) => {
                            status = Some(st);
                            if tar != header.tar {
                                findings.push(Finding::PorTarMismatch { sent: header.tar, received: tar });
                            }
                            if check_cntr && c != cntr && c != Cntr::default() {
                                findings.push(Finding::PorCntrMismatch { sent: cntr, received: c });
                            }
                            if st == 0 && rc_len == 0 && header.spi.por_checksum() != Checksum::None {
                                findings.push(Finding::PorUnsigned { status: st });
                            }
                        }
                        None => findings.push(Finding::MalformedPor),
                    },
                }
                if must_refuse && status == Some(0) {
                    findings.push(Finding::AcceptedGarbage);
                }
            }
        }
        if !check_cntr {
            findings.retain(|f| !matches!(f, Finding::PorCntrMismatch { .. }));
        }
        if delivery.link_failure {
            findings.push(Finding::LinkFailure);
        }
        let alive = self.alive();
        if !alive {
            findings.push(Finding::CardDead);
            // Power the card on again, so that the run can go on if it comes back.
            self.terminal.handle_input(&mut self.link, Input::PowerOn);
            while self.terminal.poll_output().is_some() {}
            self.link.take();
        }
        self.report.probes.push(Probe {
            index: self.report.probes.len(),
            mode,
            description,
            tar: header.tar,
            spi: header.spi,
            kic: header.kic,
            kid: header.kid,
            cntr,
            tpdus,
            delivery,
            status,
            findings,
            alive,
        });
        self.report.probes.len() - 1
    }

    /// The TAR scan (see the module docs); fills [`FuzzReport::tar_scan`] and returns the answering TARs.
    pub fn tar_scan(&mut self) -> Vec<Tar> {
        let spi = Spi::new().with_por(PorRequest::Always);
        let tars = self.config.tars.clone();
        let mut found = Vec::new();
        for (i, tar) in tars.into_iter().enumerate() {
            let header = CommandHeader { spi, kic: Kic(0), kid: Kid(0), tar };
            let Some(packet) = Self::packet(None, &header, Cntr::default(), &[]) else { continue };
            let tpdus = Self::tpdus(&packet, u8::try_from(i % 256).unwrap_or(0));
            let p = self.probe(
                report::Mode::TarScan,
                format!("TAR {} without security", hex::encode_upper(tar.0)),
                header,
                Cntr::default(),
                tpdus,
                Check { keys: false, refuse: false, cntr: true },
            );
            let status = self.report.probes.get(p).and_then(|p| p.status);
            let answered = status.is_some_and(|s| s != 0x09);
            if answered {
                found.push(tar);
            }
            self.report.tar_scan.push(TarResult { tar, status, answered, probe: p });
        }
        self.report.answering_tars.clone_from(&found);
        found
    }

    /// The keyset scan on `tar` (see the module docs).
    pub fn keyset_scan(&mut self, tar: Tar) {
        let spi = Spi::from_bytes([0x1E, 0x01]);
        let families: [(&str, u8, CipherAlgorithm, ChecksumAlgorithm, usize); 5] = [
            ("des-cbc", 0x01, CipherAlgorithm::DesCbc, ChecksumAlgorithm::DesMac, 8),
            ("3des-2key", 0x05, CipherAlgorithm::TripleDes2Cbc, ChecksumAlgorithm::TdesMac2, 16),
            ("3des-3key", 0x09, CipherAlgorithm::TripleDes3Cbc, ChecksumAlgorithm::TdesMac3, 24),
            ("des-ecb", 0x0D, CipherAlgorithm::DesEcb, ChecksumAlgorithm::DesMac, 8),
            ("aes", 0x02, CipherAlgorithm::AesCbc, ChecksumAlgorithm::AesCmac { len: CmacLen::Eight }, 16),
        ];
        for kvn in 1..=15u8 {
            for (name, low, cipher, cc, key_len) in families {
                let dummy: Vec<u8> = (0..key_len)
                    .map(|i| u8::try_from(i).unwrap_or(0).wrapping_mul(0x3B).wrapping_add(0x11))
                    .collect();
                let Ok(key) = SecretKey::from_slice(&dummy) else { continue };
                let cc_low = if low == 0x0D { 0x01 } else { low };
                let Ok(keys) =
                    ExplicitKeys::new(&RustCryptoProvider, Some((cipher, &key)), Some((cc, Some(&key))))
                else {
                    continue;
                };
                let header =
                    CommandHeader { spi, kic: Kic(kvn << 4 | low), kid: Kid(kvn << 4 | cc_low), tar };
                let cntr = Cntr::from_u64(1).unwrap_or_default();
                let Some(packet) = Self::packet(Some(&keys), &header, cntr, &[]) else { continue };
                let tpdus = Self::tpdus(&packet, kvn);
                let p = self.probe(
                    report::Mode::KeysetScan,
                    format!("TAR {} KVN {kvn} {name} with dummy keys", hex::encode_upper(tar.0)),
                    header,
                    cntr,
                    tpdus,
                    // The card deciphers with its own key: the counter it reads is not ours.
                    Check { keys: false, refuse: true, cntr: false },
                );
                let status = self.report.probes.get(p).and_then(|p| p.status);
                let present = status.is_some_and(|s| !matches!(s, 0x06 | 0x09 | 0x0A));
                self.report.keysets.push(KeysetResult {
                    tar,
                    kvn,
                    algorithm: name.into(),
                    status,
                    present,
                    probe: p,
                });
            }
        }
    }

    fn next_cntr(&mut self) -> Cntr {
        let c = Cntr::from_u64(self.cntr).unwrap_or_default();
        self.cntr = self.cntr.saturating_add(1);
        c
    }

    /// Sends a packet with the real keys under `spi1` (SPI2 `19`: PoR always, with CC, ciphered) to `tar`;
    /// returns the PoR status.
    fn keyed(
        &mut self,
        mode: report::Mode,
        tar: Tar,
        spi1: u8,
        spi2: u8,
        data: &[u8],
        description: String,
    ) -> Option<u8> {
        let kvn = self.config.kvn & 0x0F;
        let (kic_byte, kid_byte) = {
            let ks = self.keys.as_ref()?.get(crate::keys::Kvn::new(kvn).ok()?)?;
            (ks.kic_byte(), ks.kid_byte())
        };
        let checksum = Spi::from_bytes([spi1, spi2]).checksum();
        let kid = match checksum {
            // An explicit CRC32 under key version 0 needs no key (the card may refuse the mixed versions
            // with 06, which still shows the MSL admitted the SPI).
            Checksum::Rc => Kid(0x05),
            _ => Kid(kid_byte),
        };
        let header = CommandHeader { spi: Spi::from_bytes([spi1, spi2]), kic: Kic(kic_byte), kid, tar };
        let cntr = if header.spi.counter_mode() == CounterMode::NoCounter {
            Cntr::default()
        } else {
            self.next_cntr()
        };
        let keys = self.keys.as_ref()?;
        let packet = Self::packet(Some(keys), &header, cntr, data)?;
        let tpdus = Self::tpdus(&packet, spi1);
        let p = self.probe(
            mode,
            description,
            header,
            cntr,
            tpdus,
            Check { keys: true, refuse: false, cntr: true },
        );
        self.report.probes.get(p).and_then(|p| p.status)
    }

    /// The minimum-security-level probe on `tar` (needs the real keys; see the module docs).
    pub fn msl_probe(&mut self, tar: Tar) -> Option<MslResult> {
        self.keys.as_ref()?;
        let t = hex::encode_upper(tar.0);
        // Baseline, resynchronising the counter while the card says it is low.
        let mut base = None;
        for _ in 0..40 {
            let s = self.keyed(
                report::Mode::MslProbe,
                tar,
                0x16,
                0x19,
                &[],
                format!("TAR {t} baseline SPI 16 19"),
            );
            if matches!(s, Some(0x02 | 0x06)) && self.cntr < (1 << 39) {
                self.cntr = self.cntr.saturating_mul(2);
                base = s;
                continue;
            }
            base = s;
            break;
        }
        let mut probes = vec![(0x16u8, base)];
        let variants: [(u8, &str); 5] = [
            (0x15, "RC instead of CC"),
            (0x14, "no RC/CC"),
            (0x12, "no ciphering"),
            (0x0E, "counter not checked"),
            (0x06, "no counter"),
        ];
        for (spi1, what) in variants {
            let s = self.keyed(
                report::Mode::MslProbe,
                tar,
                spi1,
                0x19,
                &[],
                format!("TAR {t} SPI1 {spi1:02X}: {what}"),
            );
            probes.push((spi1, s));
        }
        let admitted = |spi1: u8| probes.iter().any(|(s, st)| *s == spi1 && st.is_some_and(|c| c != 0x0A));
        let refused = |spi1: u8| probes.iter().any(|(s, st)| *s == spi1 && *st == Some(0x0A));
        let inferred = if refused(0x16) || !admitted(0x16) {
            None
        } else {
            let cks = if admitted(0x14) {
                0
            } else if admitted(0x15) {
                1
            } else {
                2
            };
            let ciph = if admitted(0x12) { 0 } else { 1 };
            let cnt = if admitted(0x06) {
                0
            } else if admitted(0x0E) {
                1
            } else {
                2
            };
            Some(cnt << 3 | ciph << 2 | cks)
        };
        let r = MslResult {
            tar,
            probes: probes.iter().map(|(s, st)| (*s, *st)).collect(),
            inferred_msl: inferred,
        };
        self.report.msl.push(r.clone());
        Some(r)
    }

    /// `n` random mutations of packets to the answering `tars` (see the module docs).
    pub fn mutations(&mut self, tars: &[Tar]) {
        let mut rng = Rng::new(self.config.seed);
        let fallback = [Tar([0xB0, 0x00, 0x10])];
        let tars = if tars.is_empty() { &fallback[..] } else { tars };
        for i in 0..self.config.mutations {
            let tar = tars.get(rng.below(tars.len())).copied().unwrap_or(Tar([0xB0, 0x00, 0x10]));
            self.mutation(i, tar, &mut rng);
        }
    }

    fn mutation(&mut self, i: u32, tar: Tar, rng: &mut Rng) {
        // The valid packet: with the real keys when known (SPI 16 19), else unsecured (SPI 00 01). Data: a
        // harmless compact script (SELECT MF) half of the time, else none.
        let data: &[u8] = if rng.below(2) == 0 { &[0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00] } else { &[] };
        let keyed = self.keys.is_some();
        let (header, cntr) = match self.keys.as_ref().and_then(|k| {
            let kvn = self.config.kvn & 0x0F;
            k.get(crate::keys::Kvn::new(kvn).ok()?).map(|ks| (ks.kic_byte(), ks.kid_byte()))
        }) {
            Some((kic, kid)) => {
                let h =
                    CommandHeader { spi: Spi::from_bytes([0x16, 0x19]), kic: Kic(kic), kid: Kid(kid), tar };
                (h, self.next_cntr())
            }
            None => (
                CommandHeader { spi: Spi::from_bytes([0x00, 0x01]), kic: Kic(0), kid: Kid(0), tar },
                Cntr::default(),
            ),
        };
        let keys: Option<&dyn PacketKeys> = self.keys.as_ref().map(|k| k as &dyn PacketKeys);
        let Some(mut packet) = Self::packet(keys, &header, cntr, data) else { return };
        let mut header = header;
        let mut cntr = cntr;
        let reference = u8::try_from(i % 256).unwrap_or(0);
        let mut refuse = true;
        let mut secured_changed = false;
        let kind = rng.below(16);
        let description = match kind {
            0 => {
                let d = *[1i32, -1, 100, -100].get(rng.below(4)).unwrap_or(&1);
                let cpl = u16::from_be_bytes([packet[0], packet[1]]);
                let new = u16::try_from(i32::from(cpl) + d).unwrap_or(0);
                packet[..2].copy_from_slice(&new.to_be_bytes());
                format!("CPL {cpl} → {new}")
            }
            1 => {
                let v = *[0u16, 0xFFFF, 1].get(rng.below(3)).unwrap_or(&0);
                packet[..2].copy_from_slice(&v.to_be_bytes());
                format!("CPL → {v}")
            }
            2 => {
                let old = packet[2];
                let new = *[0u8, 0xFF, old.wrapping_add(1), old.wrapping_sub(1), 12]
                    .get(rng.below(5))
                    .unwrap_or(&0);
                packet[2] = new;
                format!("CHL {old} → {new}")
            }
            3 => {
                let bits = [0x20u8, 0x40, 0x80, 0xE0][rng.below(4)];
                packet[3] |= bits;
                header.spi = Spi::from_bytes([packet[3], packet[4]]);
                refuse = false;
                format!("SPI1 reserved bits {bits:02X} set")
            }
            4 => {
                let bits = [0x40u8, 0x80, 0xC0, 0x03][rng.below(4)];
                packet[4] |= bits;
                header.spi = Spi::from_bytes([packet[3], packet[4]]);
                refuse = false;
                format!("SPI2 bits {bits:02X} set (reserved / PoR coding 11)")
            }
            5 => {
                let v = rng.byte();
                packet[5] = v;
                format!("KIc → {v:02X}")
            }
            6 => {
                let v = rng.byte();
                packet[6] = v;
                format!("KID → {v:02X}")
            }
            7 => {
                let at = 7 + rng.below(3);
                packet[at] ^= 1 << rng.below(8);
                // The PoR names the TAR the card read.
                header.tar = Tar([packet[7], packet[8], packet[9]]);
                format!("TAR byte {} flipped", at - 7)
            }
            8 => {
                // Counter: a replay (the value just used) or, when allowed, values at the top.
                // A replay: the last counter the card accepted (or 0 before any).
                let v = if self.config.allow_counter_wrap && rng.below(2) == 0 {
                    *[0xFF_FFFF_FFFFu64, 0xFF_FFFF_FFFE][..].get(rng.below(2)).unwrap_or(&0)
                } else {
                    self.accepted_cntr.map_or(0, |c| c.to_u64())
                };
                let c = Cntr::from_u64(v).unwrap_or_default();
                let header2 = header;
                let keys: Option<&dyn PacketKeys> = self.keys.as_ref().map(|k| k as &dyn PacketKeys);
                if let Some(p) = Self::packet(keys, &header2, c, data) {
                    packet = p;
                    cntr = c;
                }
                refuse = keyed;
                format!("counter {:010X} (replay or wrap)", c.to_u64())
            }
            9 => {
                let at = 15 + rng.below(packet.len().saturating_sub(15).max(1));
                if let Some(b) = packet.get_mut(at) {
                    *b ^= rng.byte() | 1;
                }
                refuse = keyed;
                secured_changed = true;
                format!("secured-part byte {at} changed")
            }
            10 => {
                let n = 1 + rng.below(packet.len().saturating_sub(1).max(1));
                packet.truncate(n);
                secured_changed = true;
                format!("packet cut to {n} bytes (CPL kept)")
            }
            11 => {
                let n = [1usize, 8, 200][rng.below(3)];
                packet.extend(std::iter::repeat_n(0xAA, n));
                secured_changed = true;
                format!("{n} bytes appended (CPL kept)")
            }
            12 => {
                secured_changed = true;
                // PCNTR (unciphered packets only: it is in the clear at byte 15).
                if !header.spi.ciphered() {
                    let v = [1u8, 7, 0xFF][rng.below(3)];
                    if let Some(b) = packet.get_mut(15) {
                        *b = v;
                    }
                    format!("PCNTR → {v}")
                } else {
                    let v = rng.byte();
                    if let Some(b) = packet.last_mut() {
                        *b = v;
                    }
                    format!("last ciphered byte → {v:02X} (padding)")
                }
            }
            13 => return self.tpdu_mutation(i, header, cntr, &packet, reference, rng),
            14 => return self.envelope_mutation(i, header, cntr, &packet, reference, rng),
            _ => {
                let v = rng.byte();
                if let Some(b) = packet.get_mut(3) {
                    *b = v;
                }
                header.spi = Spi::from_bytes([v, packet.get(4).copied().unwrap_or(0)]);
                refuse = false;
                format!("SPI1 → {v:02X}")
            }
        };
        let tpdus = Self::tpdus(&packet, reference);
        self.probe(
            report::Mode::Mutation,
            format!("#{i} TAR {}: {description}", hex::encode_upper(tar.0)),
            header,
            cntr,
            tpdus,
            Check { keys: keyed, refuse, cntr: !secured_changed },
        );
    }

    fn tpdu_mutation(
        &mut self,
        i: u32,
        header: CommandHeader,
        cntr: Cntr,
        packet: &[u8],
        reference: u8,
        rng: &mut Rng,
    ) {
        let mut tpdus = Self::tpdus(packet, reference);
        let Some(t) = tpdus.first_mut() else { return };
        // SMS-DELIVER: first octet, OA (len, toa, digits), PID, DCS, SCTS(7), UDL, UD.
        let oa_len = usize::from(t.get(1).copied().unwrap_or(0)).div_ceil(2);
        let pid_at = 3 + oa_len;
        let udl_at = pid_at + 2 + 7;
        // TS 31.111 routes by PID at the terminal; a card need not look at PID or DCS again, so a PoR OK
        // for those is noted, not counted as garbage.
        let mut refuse = true;
        let description = match rng.below(8) {
            0 => {
                let v = [0u8, 0xFF, 1][rng.below(3)];
                if let Some(b) = t.get_mut(udl_at) {
                    *b = v;
                }
                format!("TP-UDL → {v}")
            }
            1 => {
                if let Some(b) = t.get_mut(udl_at + 1) {
                    *b = [0u8, 0xFF, 5][rng.below(3)];
                }
                "UDHL changed".to_owned()
            }
            2 => {
                let v = [0x71u8, 0x7F, 0x00, 0x08][rng.below(4)];
                if let Some(b) = t.get_mut(udl_at + 2) {
                    *b = v;
                }
                format!("IEI 70 → {v:02X}")
            }
            3 => {
                if let Some(b) = t.get_mut(udl_at + 3) {
                    *b = 0x05;
                }
                "IEI 70 length 0 → 5".to_owned()
            }
            4 => {
                let v = [0x00u8, 0x7E, 0x41][rng.below(3)];
                if let Some(b) = t.get_mut(pid_at) {
                    *b = v;
                }
                refuse = false;
                format!("TP-PID 7F → {v:02X}")
            }
            5 => {
                let v = [0x00u8, 0x08, 0xF2][rng.below(3)];
                if let Some(b) = t.get_mut(pid_at + 1) {
                    *b = v;
                }
                refuse = false;
                format!("TP-DCS F6 → {v:02X}")
            }
            6 => {
                if let Some(b) = t.get_mut(0) {
                    *b &= !0x40;
                }
                "TP-UDHI cleared".to_owned()
            }
            _ => {
                if let Some(b) = t.get_mut(1) {
                    *b = 0xFF;
                }
                "TP-OA length → 255".to_owned()
            }
        };
        self.probe(
            report::Mode::Mutation,
            format!("#{i} TAR {}: {description}", hex::encode_upper(header.tar.0)),
            header,
            cntr,
            tpdus,
            Check { keys: self.keys.is_some(), refuse, cntr: true },
        );
    }

    fn envelope_mutation(
        &mut self,
        i: u32,
        header: CommandHeader,
        cntr: Cntr,
        packet: &[u8],
        reference: u8,
        rng: &mut Rng,
    ) {
        let tpdus = Self::tpdus(packet, reference);
        let Some(t) = tpdus.first() else { return };
        let tl = u8::try_from(t.len()).unwrap_or(0);
        // D1 L | 82 02 83 81 | 8B L tpdu, with one length wrong or an element missing.
        let (description, body) = match rng.below(4) {
            0 => (
                "D1 length too long",
                [vec![0xD1, tl.saturating_add(20), 0x82, 0x02, 0x83, 0x81, 0x8B, tl], t.clone()].concat(),
            ),
            1 => (
                "8B length too long",
                [
                    vec![0xD1, tl.saturating_add(6), 0x82, 0x02, 0x83, 0x81, 0x8B, tl.saturating_add(9)],
                    t.clone(),
                ]
                .concat(),
            ),
            2 => ("no device identities", [vec![0xD1, tl.saturating_add(2), 0x8B, tl], t.clone()].concat()),
            _ => (
                "BER length 81 FF on 8B",
                [vec![0xD1, 0x81, 0xFF, 0x82, 0x02, 0x83, 0x81, 0x8B, 0x81, 0xFF], t.clone()].concat(),
            ),
        };
        let Ok(lc) = u8::try_from(body.len()) else { return };
        let apdu = [vec![0x80, 0xC2, 0x00, 0x00, lc], body].concat();
        let delivery = self.raw(&apdu);
        let mut findings = Vec::new();
        if delivery.por.as_deref().and_then(Self::plain).is_some_and(|(_, _, s, _)| s == 0) {
            findings.push(Finding::AcceptedGarbage);
        }
        if delivery.link_failure {
            findings.push(Finding::LinkFailure);
        }
        let alive = self.alive();
        if !alive {
            findings.push(Finding::CardDead);
        }
        self.report.probes.push(Probe {
            index: self.report.probes.len(),
            mode: report::Mode::Mutation,
            description: format!(
                "#{i} TAR {}: ENVELOPE {description} (raw APDU {})",
                hex::encode_upper(header.tar.0),
                hex::encode_upper(&apdu)
            ),
            tar: header.tar,
            spi: header.spi,
            kic: header.kic,
            kid: header.kid,
            cntr,
            tpdus: vec![apdu],
            delivery,
            status: None,
            findings,
            alive,
        });
    }
}

fn sw_of(r: &[u8]) -> Option<String> {
    match r {
        [.., a, b] => Some(format!("{:04X}", StatusWord::new(*a, *b).0)),
        _ => None,
    }
}

/// Maps what [`verify_por`] found to the fuzzer's findings.
fn por_findings(found: &[PorFinding], checksum: ChecksumCheck, status: u8, out: &mut Vec<Finding>) {
    for f in found {
        match f {
            PorFinding::CntrMismatch { sent, received } if *received != Cntr::default() => {
                out.push(Finding::PorCntrMismatch { sent: *sent, received: *received });
            }
            PorFinding::TarMismatch { sent, received } => {
                out.push(Finding::PorTarMismatch { sent: *sent, received: *received });
            }
            PorFinding::UnprotectedErrorPor => out.push(Finding::PorPlaintextError { status }),
            _ => {}
        }
    }
    match checksum {
        ChecksumCheck::Failed => out.push(Finding::PorChecksumFailed),
        ChecksumCheck::Missing if status == 0 => out.push(Finding::PorUnsigned { status }),
        _ => {}
    }
}

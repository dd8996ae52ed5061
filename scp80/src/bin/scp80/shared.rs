//! What the `command`, `por` and `card` subcommands share: the one-line error, hex arguments, the
//! transport choice and the key options.

use std::fmt;
use std::path::PathBuf;

use m2msim_codec::ota::{Checksum, Kic, Kid, Transport};
use m2msim_scp80::crypto::{ChecksumAlgorithm, ChecksumKind, CipherAlgorithm, CmacLen, RustCryptoProvider};
use m2msim_scp80::keys::{
    CHECKSUM_NAMES, CIPHER_NAMES, Keysets, SecretKey, checksum_from_name, cipher_from_name,
};
use m2msim_scp80::packet::{ExplicitKeys, PacketKeys};

/// Bad input: printed as one line, exit code 2.
#[derive(Debug)]
pub(crate) struct CliError(pub(crate) String);

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever the inner message holds.
        f.write_str(&self.0.replace('\n', " "))
    }
}

pub(crate) type CliResult<T> = Result<T, CliError>;

/// A [`CliError`] from anything printable.
pub(crate) fn bad(msg: impl fmt::Display) -> CliError {
    CliError(msg.to_string())
}

/// Hex text as bytes.
pub(crate) fn hex(name: &str, s: &str) -> CliResult<Vec<u8>> {
    m2msim_codec::hexser::parse_hex(s).map_err(|e| bad(format!("--{name}: {e}")))
}

/// Hex text of exactly `N` octets.
pub(crate) fn hex_n<const N: usize>(name: &str, s: &str) -> CliResult<[u8; N]> {
    let v = hex(name, s)?;
    let n = v.len();
    v.try_into().map_err(|_| bad(format!("--{name}: {n} octet(s), expected {N}")))
}

/// `--transport`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TransportArg {
    /// SMS point to point, one short message (packet at most 137 octets).
    Sms,
    /// SMS point to point, concatenated short messages as needed.
    SmsConcat,
    /// SMS cell broadcast (framed like SMS-PP; no PoR).
    SmsCb,
    /// CAT_TP (CPI 01, BER-coded CPL).
    CatTp,
    /// TCP/IP (framed like CAT_TP).
    Tcp,
    /// USSD (CPI 03).
    Ussd,
}

impl TransportArg {
    pub(crate) const fn transport(self) -> Transport {
        match self {
            Self::Sms | Self::SmsConcat => Transport::SmsPp,
            Self::SmsCb => Transport::SmsCb,
            Self::CatTp => Transport::CatTp,
            Self::Tcp => Transport::TcpIp,
            Self::Ussd => Transport::Ussd,
        }
    }
}

/// The key options: explicit keys, or a key file.
#[derive(clap::Args, Debug)]
pub(crate) struct KeyArgs {
    /// The ciphering key (KIc key) in hex; its algorithm is the one the KIc byte names.
    #[arg(long, conflicts_with = "keys")]
    pub(crate) kic_key: Option<String>,
    /// The RC/CC key (KID key) in hex; its algorithm is the one the KID byte names. CRCs need none.
    #[arg(long, conflicts_with = "keys")]
    pub(crate) kid_key: Option<String>,
    /// The cipher when the KIc says "implicit" (b2b1 = 00): des, des-ecb, 3des2, 3des3, 3des2-ecb,
    /// 3des3-ecb, aes.
    #[arg(long, conflicts_with = "keys")]
    pub(crate) kic_algorithm: Option<String>,
    /// The RC/CC when the KID says "implicit": des-mac, 3des2-mac, 3des3-mac, aes-cmac, crc16, crc32.
    #[arg(long, conflicts_with = "keys")]
    pub(crate) kid_algorithm: Option<String>,
    /// AES-CMAC length in octets: 8 (AES-CMAC-64) or 4 (AES-CMAC-32).
    #[arg(long, default_value_t = 8, conflicts_with = "keys")]
    pub(crate) mac_len: u8,
    /// A key file (TOML: [[keyset]] kvn, kic, kid; see the README); the key version in the KIc/KID
    /// picks the keyset.
    #[arg(long)]
    pub(crate) keys: Option<PathBuf>,
}

impl KeyArgs {
    /// The keys for a packet with this KIc/KID, that is ciphered when `ciphered` and carries `checksum`.
    pub(crate) fn load(
        &self,
        kic: Kic,
        kid: Kid,
        ciphered: bool,
        checksum: Checksum,
    ) -> CliResult<Box<dyn PacketKeys>> {
        if let Some(path) = &self.keys {
            return Ok(Box::new(Keysets::load(path, &RustCryptoProvider).map_err(bad)?));
        }
        let mac_len = CmacLen::try_from(self.mac_len).map_err(|e| bad(format!("--mac-len: {e}")))?;
        let kic_key = self
            .kic_key
            .as_deref()
            .map(|k| SecretKey::from_hex(k).map_err(|e| bad(format!("--kic-key: {e}"))));
        let kic_key = kic_key.transpose()?;
        let kid_key = self
            .kid_key
            .as_deref()
            .map(|k| SecretKey::from_hex(k).map_err(|e| bad(format!("--kid-key: {e}"))));
        let kid_key = kid_key.transpose()?;
        let cipher = if ciphered {
            let alg = match (&self.kic_algorithm, CipherAlgorithm::from_kic(kic.0).map_err(bad)?) {
                (Some(name), _) => cipher_from_name(name).ok_or_else(|| {
                    bad(format!("--kic-algorithm: unknown `{name}`, expected one of {CIPHER_NAMES}"))
                })?,
                (None, Some(a)) => a,
                (None, None) => {
                    return Err(bad(format!(
                        "KIc {:02X} names an implicit cipher: give --kic-algorithm",
                        kic.0
                    )));
                }
            };
            let key = kic_key
                .as_ref()
                .ok_or_else(|| bad("the SPI asks for ciphering: give --kic-key or --keys"))?;
            Some((alg, key))
        } else {
            None
        };
        let named = |kind| -> CliResult<Option<ChecksumAlgorithm>> {
            match &self.kid_algorithm {
                Some(name) => checksum_from_name(name, mac_len).map(Some).ok_or_else(|| {
                    bad(format!("--kid-algorithm: unknown `{name}`, expected one of {CHECKSUM_NAMES}"))
                }),
                None => ChecksumAlgorithm::from_kid(kid.0, kind, mac_len).map_err(bad),
            }
        };
        let checksum = match checksum {
            Checksum::None => None,
            Checksum::Ds => {
                return Err(bad("the SPI asks for a digital signature, which TS 102 225 leaves undefined"));
            }
            Checksum::Rc => match named(ChecksumKind::RedundancyCheck)? {
                // The KID names the CRC: nothing to configure (it is keyless).
                Some(alg @ (ChecksumAlgorithm::Crc16 | ChecksumAlgorithm::Crc32))
                    if self.kid_algorithm.is_some() =>
                {
                    Some((alg, None))
                }
                Some(ChecksumAlgorithm::Crc16 | ChecksumAlgorithm::Crc32) => None,
                Some(other) => return Err(bad(format!("the SPI asks for an RC but the KID names {other}"))),
                None => {
                    return Err(bad(format!(
                        "KID {:02X} names an implicit RC: give --kid-algorithm crc16|crc32",
                        kid.0
                    )));
                }
            },
            Checksum::Cc => {
                let alg = named(ChecksumKind::CryptographicChecksum)?.ok_or_else(|| {
                    bad(format!("KID {:02X} names an implicit CC: give --kid-algorithm", kid.0))
                })?;
                let key =
                    kid_key.as_ref().ok_or_else(|| bad("the SPI asks for a CC: give --kid-key or --keys"))?;
                Some((alg, Some(key)))
            }
        };
        Ok(Box::new(ExplicitKeys::new(&RustCryptoProvider, cipher, checksum).map_err(bad)?))
    }
}

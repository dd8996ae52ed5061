//! What the subcommands share: the one-line error and hex arguments.

use std::fmt;

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

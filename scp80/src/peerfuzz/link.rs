//! Card links for the fuzzer: the simulated card over TCP ([`TcpCard`], the m2msim APDU framing of
//! [`crate::uicc`]'s server: a 4-byte big-endian length and the C-APDU, answered by a 4-byte length and
//! the R-APDU; an empty message resets the card and is answered with the ATR), a real card over PC/SC
//! ([`PcscCard`], feature `pcsc`), and [`Recorder`], which logs every exchange.
//!
//! A link that fails answers an empty R-APDU ([`crate::terminal::CardLink`]: fewer than 2 bytes is a
//! link failure) and counts the failure; [`TcpCard`] reconnects once on the next exchange.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _};
use std::time::Duration;

use crate::terminal::CardLink;

/// Largest R-APDU accepted from a link (65 536 data bytes and SW1 SW2).
pub const MAX_RESPONSE: usize = 65_538;

/// The simulated card (`scp80 uicc serve --listen ADDR`) over TCP, m2msim APDU framing.
#[derive(Debug)]
pub struct TcpCard {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    timeout: Duration,
    /// Exchanges that failed (I/O error, a closed connection, an oversized answer).
    pub failures: u32,
}

impl TcpCard {
    /// Connects to `addr` with `timeout` for connecting and for each answer.
    ///
    /// # Errors
    /// The address does not resolve, or the connection fails.
    pub fn connect(addr: &str, timeout: Duration) -> std::io::Result<Self> {
        let addr = addr.to_socket_addrs()?.next().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "the address resolves to nothing")
        })?;
        let mut c = Self { addr, stream: None, timeout, failures: 0 };
        c.stream = Some(c.open()?);
        Ok(c)
    }

    fn open(&self) -> std::io::Result<TcpStream> {
        let s = TcpStream::connect_timeout(&self.addr, self.timeout)?;
        s.set_read_timeout(Some(self.timeout))?;
        s.set_write_timeout(Some(self.timeout))?;
        let _ = s.set_nodelay(true);
        Ok(s)
    }

    fn exchange(&mut self, msg: &[u8]) -> std::io::Result<Vec<u8>> {
        if self.stream.is_none() {
            self.stream = Some(self.open()?);
        }
        let Some(s) = self.stream.as_mut() else { return Ok(Vec::new()) };
        let len = u32::try_from(msg.len()).map_err(std::io::Error::other)?;
        s.write_all(&len.to_be_bytes())?;
        s.write_all(msg)?;
        let mut l = [0u8; 4];
        s.read_exact(&mut l)?;
        let n = usize::try_from(u32::from_be_bytes(l)).map_err(std::io::Error::other)?;
        if n > MAX_RESPONSE {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "answer longer than an R-APDU"));
        }
        let mut r = vec![0u8; n];
        s.read_exact(&mut r)?;
        Ok(r)
    }

    fn checked(&mut self, msg: &[u8]) -> Vec<u8> {
        match self.exchange(msg) {
            Ok(r) => r,
            Err(_) => {
                self.failures += 1;
                self.stream = None;
                Vec::new()
            }
        }
    }
}

impl CardLink for TcpCard {
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        if apdu.is_empty() {
            // An empty message would reset the card: never send one as an APDU.
            return vec![0x67, 0x00];
        }
        self.checked(apdu)
    }

    fn reset(&mut self) -> Vec<u8> {
        self.checked(&[])
    }
}

/// A real card in a PC/SC reader (feature `pcsc`; pcsc-lite on Linux).
#[cfg(feature = "pcsc")]
pub struct PcscCard {
    card: pcsc::Card,
    /// Exchanges that failed.
    pub failures: u32,
}

#[cfg(feature = "pcsc")]
impl std::fmt::Debug for PcscCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcscCard").field("failures", &self.failures).finish_non_exhaustive()
    }
}

#[cfg(feature = "pcsc")]
impl PcscCard {
    /// Connects to the card in the reader whose name contains `reader` (the first reader when empty),
    /// shared mode, T=0 or T=1.
    ///
    /// # Errors
    /// PC/SC errors; no matching reader.
    pub fn connect(reader: &str) -> Result<Self, pcsc::Error> {
        let ctx = pcsc::Context::establish(pcsc::Scope::User)?;
        let mut buf = vec![0u8; 4096];
        let name = ctx
            .list_readers(&mut buf)?
            .find(|r| r.to_string_lossy().contains(reader))
            .map(std::ffi::CStr::to_owned)
            .ok_or(pcsc::Error::ReaderUnavailable)?;
        let card = ctx.connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)?;
        Ok(Self { card, failures: 0 })
    }
}

#[cfg(feature = "pcsc")]
impl CardLink for PcscCard {
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        let mut buf = vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
        match self.card.transmit(apdu, &mut buf) {
            Ok(r) => r.to_vec(),
            Err(_) => {
                self.failures += 1;
                Vec::new()
            }
        }
    }

    fn reset(&mut self) -> Vec<u8> {
        if self
            .card
            .reconnect(pcsc::ShareMode::Shared, pcsc::Protocols::ANY, pcsc::Disposition::ResetCard)
            .is_err()
        {
            self.failures += 1;
            return Vec::new();
        }
        let mut names = vec![0u8; 2048];
        let mut atr = vec![0u8; pcsc::MAX_ATR_SIZE];
        match self.card.status2(&mut names, &mut atr) {
            Ok(s) => s.atr().to_vec(),
            Err(_) => Vec::new(),
        }
    }
}

/// A link that records every exchange (C-APDU, R-APDU; a reset as an empty command).
#[derive(Debug)]
pub struct Recorder<L> {
    /// The link.
    pub inner: L,
    /// The exchanges since the last [`Recorder::take`].
    pub log: Vec<(Vec<u8>, Vec<u8>)>,
}

impl<L: CardLink> Recorder<L> {
    /// Records `inner`.
    pub const fn new(inner: L) -> Self {
        Self { inner, log: Vec::new() }
    }

    /// The exchanges so far, clearing the log.
    pub fn take(&mut self) -> Vec<(Vec<u8>, Vec<u8>)> {
        std::mem::take(&mut self.log)
    }
}

impl<L: CardLink> CardLink for Recorder<L> {
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        let r = self.inner.transmit(apdu);
        self.log.push((apdu.to_vec(), r.clone()));
        r
    }

    fn reset(&mut self) -> Vec<u8> {
        let r = self.inner.reset();
        self.log.push((Vec::new(), r.clone()));
        r
    }
}

//! The simulated card behind a TCP socket (feature `cli`): the thin I/O adapter around [`Uicc`], on tokio
//! and tokio-util framing. Two framings, both length-prefixed:
//!
//! - **m2msim APDU framing** ([`Protocol::Apdu`]): every message is a 4-byte big-endian length and that
//!   many bytes. The client sends a C-APDU and receives the R-APDU (data, SW1, SW2). An empty message
//!   resets the card and is answered with the ATR.
//! - **vsmartcard vpcd** ([`Protocol::Vpcd`], the protocol between `vpcd` in pcscd and a virtual card):
//!   every message is a 2-byte big-endian length and that many bytes. A 1-byte message is a control
//!   message: `00` power off, `01` power on, `02` reset (none of them answered), `04` get ATR (answered
//!   with the ATR); any other 1-byte message is ignored. Longer messages are C-APDUs, answered with the
//!   R-APDU. PC/SC tools reach the card through vpcd: either vpcd connects to this listener ("reversed"
//!   mode, `DEVICENAME host:port` in vpcd's reader.conf), or the card connects to vpcd's port (35963 by
//!   default; `scp80 uicc serve --connect`).
//!
//! [`Protocol::Auto`] tells them apart by the first two bytes a client sends: `00 00` (the high half of a
//! 4-byte length) is the APDU framing; vpcd never sends a zero-length message, so anything else is vpcd.
//!
//! Connections are served one at a time, in order: the card has one interface, and a second client waits
//! until the first disconnects. After every message the `after` hook of [`SharedCard`] runs (the CLI saves
//! the card file there). [`respond`] is the whole protocol logic, without I/O.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::AsyncReadExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{Framed, FramedParts, LengthDelimitedCodec};

use super::Uicc;

/// Largest message: an extended-length C-APDU (4 + 3 + 65 535 + 2 bytes) or R-APDU (65 536 + 2).
pub const MAX_MESSAGE: usize = 65_544;

/// The framing of a connection (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Decide from the first two bytes.
    Auto,
    /// 4-byte length + C-APDU / R-APDU; empty = reset.
    Apdu,
    /// vsmartcard vpcd: 2-byte length; 1-byte control messages.
    Vpcd,
}

/// What a vpcd control message or an empty APDU-framing message did, for the `after` hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A C-APDU was handled.
    Apdu(&'a [u8]),
    /// Power on, off, reset, or the ATR was read.
    Control(u8),
}

/// The hook run after every message (the CLI saves the card file there).
pub type AfterHook = Box<dyn Fn(&Uicc, Event<'_>) + Send + Sync>;

/// The card shared by the connections, and a hook run after every message.
pub struct SharedCard {
    card: Mutex<Uicc>,
    after: AfterHook,
}

impl std::fmt::Debug for SharedCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedCard").finish_non_exhaustive()
    }
}

impl SharedCard {
    /// Shares `card`; `after` runs after every message with the card and what happened.
    #[must_use]
    pub fn new(card: Uicc, after: impl Fn(&Uicc, Event<'_>) + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Self { card: Mutex::new(card), after: Box::new(after) })
    }

    /// Runs `f` on the card.
    pub fn with<T>(&self, f: impl FnOnce(&mut Uicc) -> T) -> T {
        let mut card = self.card.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut card)
    }

    /// Handles one message in `protocol` ([`Protocol::Apdu`] or [`Protocol::Vpcd`]) and returns the answer.
    pub fn message(&self, protocol: Protocol, msg: &[u8]) -> Option<Vec<u8>> {
        self.with(|card| {
            let out = respond(card, protocol, msg);
            let event = match (protocol, msg) {
                (Protocol::Vpcd, [c]) => Event::Control(*c),
                (Protocol::Apdu, []) => Event::Control(0x02),
                _ => Event::Apdu(msg),
            };
            (self.after)(card, event);
            out
        })
    }
}

/// The protocol logic without I/O: the answer to one message (see the module docs); `None` when the
/// message is not answered. [`Protocol::Auto`] is read as the APDU framing.
pub fn respond(card: &mut Uicc, protocol: Protocol, msg: &[u8]) -> Option<Vec<u8>> {
    match (protocol, msg) {
        (Protocol::Vpcd, [0x00]) => {
            card.power_off();
            None
        }
        (Protocol::Vpcd, [0x01]) => {
            card.power_on();
            None
        }
        (Protocol::Vpcd, [0x02]) => {
            card.reset();
            None
        }
        (Protocol::Vpcd, [0x04]) => Some(card.atr().to_vec()),
        (Protocol::Vpcd, [_]) => None,
        (Protocol::Apdu | Protocol::Auto, []) => Some(card.reset()),
        (_, apdu) => Some(card.handle_apdu(apdu)),
    }
}

fn codec(protocol: Protocol) -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(if protocol == Protocol::Vpcd { 2 } else { 4 })
        .max_frame_length(MAX_MESSAGE)
        .new_codec()
}

/// Serves one connection until the peer closes it (or sends something that is not framed).
///
/// # Errors
/// I/O errors and framing errors (a length above [`MAX_MESSAGE`]).
pub async fn serve_connection(
    mut stream: TcpStream,
    card: &SharedCard,
    protocol: Protocol,
) -> io::Result<()> {
    let (protocol, prefix) = match protocol {
        Protocol::Auto => {
            let mut first = [0u8; 2];
            match stream.read_exact(&mut first).await {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(e),
            }
            (if first == [0, 0] { Protocol::Apdu } else { Protocol::Vpcd }, BytesMut::from(&first[..]))
        }
        p => (p, BytesMut::new()),
    };
    let mut parts = FramedParts::new::<Bytes>(stream, codec(protocol));
    parts.read_buf = prefix;
    let mut framed = Framed::from_parts(parts);
    while let Some(msg) = framed.next().await {
        let msg = msg?;
        if let Some(answer) = card.message(protocol, &msg) {
            framed.send(Bytes::from(answer)).await?;
        }
    }
    Ok(())
}

/// Accepts connections on `listener` and serves them one after the other, forever. A connection that
/// fails is reported through `on_error` and the next one is served.
///
/// # Errors
/// Errors of `accept`.
pub async fn serve(
    listener: TcpListener,
    card: Arc<SharedCard>,
    protocol: Protocol,
    on_error: impl Fn(io::Error),
) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        if let Err(e) = serve_connection(stream, &card, protocol).await {
            on_error(e);
        }
    }
}

/// Connects to vpcd at `addr` (the usual vsmartcard setup: vpcd listens on port 35963) and serves that
/// connection in the vpcd protocol until vpcd closes it.
///
/// # Errors
/// Connection, I/O and framing errors.
pub async fn connect_vpcd(addr: &str, card: &SharedCard) -> io::Result<()> {
    let stream = TcpStream::connect(addr).await?;
    serve_connection(stream, card, Protocol::Vpcd).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uicc::profile::CardProfile;

    #[test]
    fn protocol_logic() {
        let mut c = Uicc::from_profile(&CardProfile::example().unwrap()).unwrap();
        let atr = c.atr().to_vec();
        assert_eq!(respond(&mut c, Protocol::Vpcd, &[0x04]), Some(atr.clone()));
        assert_eq!(respond(&mut c, Protocol::Vpcd, &[0x00]), None);
        assert_eq!(
            respond(&mut c, Protocol::Vpcd, &hex::decode("00A4000C023F00").unwrap()),
            Some(vec![0x6F, 0x00])
        );
        assert_eq!(respond(&mut c, Protocol::Vpcd, &[0x01]), None);
        assert_eq!(
            respond(&mut c, Protocol::Vpcd, &hex::decode("00A4000C023F00").unwrap()),
            Some(vec![0x90, 0x00])
        );
        assert_eq!(respond(&mut c, Protocol::Vpcd, &[0x02]), None);
        assert_eq!(respond(&mut c, Protocol::Vpcd, &[0x07]), None);
        assert_eq!(respond(&mut c, Protocol::Apdu, &[]), Some(atr));
        assert_eq!(respond(&mut c, Protocol::Apdu, &[0x00]), Some(vec![0x67, 0x00]));
    }
}

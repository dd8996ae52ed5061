//! The Security Parameter Indicator (TS 102 225 §5.1.1, TS 31.115 §5.1): two octets that say how a command
//! packet is secured and how the Proof of Receipt must come back.
//!
//! [`Spi`] stores the two octets exactly as read, so reserved bits survive a round trip; the typed getters
//! ([`Spi::counter_mode`], [`Spi::checksum`], [`Spi::por`] …) read the fields and the `with_*` methods
//! are the builder (each returns a copy with one field changed and every other bit kept).

use serde::{Deserialize, Serialize};

/// First SPI octet b5b4: counter management (TS 102 225 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterMode {
    /// `00`: no counter (the CNTR field is present but ignored).
    NoCounter,
    /// `01`: counter available, no replay or sequence checking.
    Available,
    /// `10`: process only if the counter is higher than the one in the receiving entity.
    Higher,
    /// `11`: process only if the counter is exactly one higher than the one in the receiving entity.
    OneHigher,
}

impl CounterMode {
    const fn from_bits(b: u8) -> Self {
        match b & 0b11 {
            0 => Self::NoCounter,
            1 => Self::Available,
            2 => Self::Higher,
            _ => Self::OneHigher,
        }
    }

    const fn bits(self) -> u8 {
        match self {
            Self::NoCounter => 0,
            Self::Available => 1,
            Self::Higher => 2,
            Self::OneHigher => 3,
        }
    }
}

/// Which integrity field a packet carries: first SPI octet b2b1 for the command, second SPI octet b4b3
/// for the PoR (TS 102 225 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Checksum {
    /// `00`: no RC, CC or DS.
    None,
    /// `01`: redundancy check (CRC, KID coded as for RC).
    Rc,
    /// `10`: cryptographic checksum (KID coded as for CC).
    Cc,
    /// `11`: digital signature.
    Ds,
}

impl Checksum {
    const fn from_bits(b: u8) -> Self {
        match b & 0b11 {
            0 => Self::None,
            1 => Self::Rc,
            2 => Self::Cc,
            _ => Self::Ds,
        }
    }

    const fn bits(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Rc => 1,
            Self::Cc => 2,
            Self::Ds => 3,
        }
    }
}

/// Second SPI octet b2b1: whether a Proof of Receipt is wanted (TS 102 225 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PorRequest {
    /// `00`: no PoR reply to the sending entity.
    None,
    /// `01`: PoR required.
    Always,
    /// `10`: PoR required only when an error occurred.
    OnError,
    /// `11`: reserved.
    Reserved,
}

impl PorRequest {
    const fn from_bits(b: u8) -> Self {
        match b & 0b11 {
            0 => Self::None,
            1 => Self::Always,
            2 => Self::OnError,
            _ => Self::Reserved,
        }
    }

    const fn bits(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Always => 1,
            Self::OnError => 2,
            Self::Reserved => 3,
        }
    }
}

/// Second SPI octet b6: how an SMS-PP PoR is sent (TS 31.115 §5.1; reserved in TS 102 225, where it must
/// be 0, which reads as [`PorTransport::DeliverReport`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PorTransport {
    /// `0`: in the SMS-DELIVER-REPORT.
    DeliverReport,
    /// `1`: in an SMS-SUBMIT (proactive SEND SHORT MESSAGE).
    SmsSubmit,
}

/// The two SPI octets (TS 102 225 §5.1.1 and TS 31.115 §5.1), stored as read.
///
/// First octet: b8..b6 reserved, b5b4 [`CounterMode`], b3 ciphering, b2b1 [`Checksum`].
/// Second octet: b8b7 reserved, b6 [`PorTransport`] (TS 31.115), b5 PoR ciphered, b4b3 PoR [`Checksum`],
/// b2b1 [`PorRequest`].
///
/// ```
/// use m2msim_codec::ota::{Checksum, CounterMode, PorRequest, Spi};
/// // pySim's default: CC + ciphering, PoR always, PoR with CC, PoR ciphered.
/// let spi = Spi::new()
///     .with_checksum(Checksum::Cc)
///     .with_ciphered(true)
///     .with_por(PorRequest::Always)
///     .with_por_checksum(Checksum::Cc)
///     .with_por_ciphered(true);
/// assert_eq!(spi.bytes(), [0x06, 0x19]);
/// assert_eq!(spi.with_counter_mode(CounterMode::Higher).bytes(), [0x16, 0x19]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Spi(#[serde(with = "crate::hexser::array")] pub [u8; 2]);

impl Spi {
    /// `00 00`: no security, no PoR (the builder's starting point).
    #[must_use]
    pub const fn new() -> Self {
        Self([0, 0])
    }

    /// The SPI from its two octets.
    #[must_use]
    pub const fn from_bytes(b: [u8; 2]) -> Self {
        Self(b)
    }

    /// The two octets.
    #[must_use]
    pub const fn bytes(&self) -> [u8; 2] {
        self.0
    }

    /// First octet.
    #[must_use]
    pub const fn spi1(&self) -> u8 {
        self.0[0]
    }

    /// Second octet.
    #[must_use]
    pub const fn spi2(&self) -> u8 {
        self.0[1]
    }

    /// SPI1 b5b4: counter management.
    #[must_use]
    pub const fn counter_mode(&self) -> CounterMode {
        CounterMode::from_bits(self.0[0] >> 3)
    }

    /// SPI1 b3: the secured part (CNTR..end) is ciphered.
    #[must_use]
    pub const fn ciphered(&self) -> bool {
        self.0[0] & 0x04 != 0
    }

    /// SPI1 b2b1: the command's RC/CC/DS.
    #[must_use]
    pub const fn checksum(&self) -> Checksum {
        Checksum::from_bits(self.0[0])
    }

    /// SPI1 b8..b6 (reserved, 0 in every current release), shifted down to 0..=7.
    #[must_use]
    pub const fn spi1_reserved(&self) -> u8 {
        self.0[0] >> 5
    }

    /// SPI2 b2b1: PoR requirement.
    #[must_use]
    pub const fn por(&self) -> PorRequest {
        PorRequest::from_bits(self.0[1])
    }

    /// SPI2 b4b3: the PoR's RC/CC/DS.
    #[must_use]
    pub const fn por_checksum(&self) -> Checksum {
        Checksum::from_bits(self.0[1] >> 2)
    }

    /// SPI2 b5: the PoR shall be ciphered.
    #[must_use]
    pub const fn por_ciphered(&self) -> bool {
        self.0[1] & 0x10 != 0
    }

    /// SPI2 b6: PoR via SMS-SUBMIT or in the SMS-DELIVER-REPORT (TS 31.115 only).
    #[must_use]
    pub const fn por_transport(&self) -> PorTransport {
        if self.0[1] & 0x20 != 0 { PorTransport::SmsSubmit } else { PorTransport::DeliverReport }
    }

    /// SPI2 b8b7 (reserved), shifted down to 0..=3.
    #[must_use]
    pub const fn spi2_reserved(&self) -> u8 {
        self.0[1] >> 6
    }

    const fn set(self, octet: usize, mask: u8, value: u8) -> Self {
        let mut b = self.0;
        b[octet] = (b[octet] & !mask) | (value & mask);
        Self(b)
    }

    /// Builder: sets SPI1 b5b4.
    #[must_use]
    pub const fn with_counter_mode(self, m: CounterMode) -> Self {
        self.set(0, 0x18, m.bits() << 3)
    }

    /// Builder: sets SPI1 b3.
    #[must_use]
    pub const fn with_ciphered(self, on: bool) -> Self {
        self.set(0, 0x04, if on { 0x04 } else { 0 })
    }

    /// Builder: sets SPI1 b2b1.
    #[must_use]
    pub const fn with_checksum(self, c: Checksum) -> Self {
        self.set(0, 0x03, c.bits())
    }

    /// Builder: sets SPI2 b2b1.
    #[must_use]
    pub const fn with_por(self, p: PorRequest) -> Self {
        self.set(1, 0x03, p.bits())
    }

    /// Builder: sets SPI2 b4b3.
    #[must_use]
    pub const fn with_por_checksum(self, c: Checksum) -> Self {
        self.set(1, 0x0C, c.bits() << 2)
    }

    /// Builder: sets SPI2 b5.
    #[must_use]
    pub const fn with_por_ciphered(self, on: bool) -> Self {
        self.set(1, 0x10, if on { 0x10 } else { 0 })
    }

    /// Builder: sets SPI2 b6 (TS 31.115).
    #[must_use]
    pub const fn with_por_transport(self, t: PorTransport) -> Self {
        self.set(1, 0x20, if matches!(t, PorTransport::SmsSubmit) { 0x20 } else { 0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_values_from_the_digest() {
        // 06 19: CC + cipher, PoR always, PoR with CC, PoR ciphered.
        let s = Spi::from_bytes([0x06, 0x19]);
        assert_eq!(s.counter_mode(), CounterMode::NoCounter);
        assert!(s.ciphered());
        assert_eq!(s.checksum(), Checksum::Cc);
        assert_eq!(s.por(), PorRequest::Always);
        assert_eq!(s.por_checksum(), Checksum::Cc);
        assert!(s.por_ciphered());
        assert_eq!(s.por_transport(), PorTransport::DeliverReport);
        // 16 39: plus counter higher and PoR via SMS-SUBMIT.
        let s = Spi::from_bytes([0x16, 0x39]);
        assert_eq!(s.counter_mode(), CounterMode::Higher);
        assert_eq!(s.por_transport(), PorTransport::SmsSubmit);
        // 12 21: CC, counter higher, no cipher, PoR via SUBMIT, no PoR checksum.
        let s = Spi::from_bytes([0x12, 0x21]);
        assert!(!s.ciphered());
        assert_eq!(s.checksum(), Checksum::Cc);
        assert_eq!(s.por_checksum(), Checksum::None);
        // 15 35 (asterix real card): RC, cipher, counter higher; PoR RC, ciphered, via SUBMIT.
        let s = Spi::from_bytes([0x15, 0x35]);
        assert_eq!(s.checksum(), Checksum::Rc);
        assert_eq!(s.por_checksum(), Checksum::Rc);
        assert!(s.por_ciphered());
        assert_eq!(s.por_transport(), PorTransport::SmsSubmit);
        // 1E ..: counter one higher, DS in the command's b2b1
        let s = Spi::from_bytes([0x1B, 0x0E]);
        assert_eq!(s.counter_mode(), CounterMode::OneHigher);
        assert_eq!(s.checksum(), Checksum::Ds);
        assert_eq!(s.por(), PorRequest::OnError);
        assert_eq!(s.por_checksum(), Checksum::Ds);
    }

    #[test]
    fn builder_keeps_reserved_bits() {
        let s = Spi::from_bytes([0xE0, 0xC3]);
        assert_eq!(s.spi1_reserved(), 7);
        assert_eq!(s.spi2_reserved(), 3);
        assert_eq!(s.por(), PorRequest::Reserved);
        let t = s
            .with_checksum(Checksum::Rc)
            .with_por(PorRequest::None)
            .with_counter_mode(CounterMode::OneHigher);
        assert_eq!(t.bytes(), [0xF9, 0xC0]);
        assert_eq!(
            t.with_counter_mode(CounterMode::NoCounter).with_checksum(Checksum::None).bytes(),
            [0xE0, 0xC0]
        );
    }

    #[test]
    fn every_byte_pair_round_trips_through_the_builder() {
        for b1 in 0..=255u8 {
            for b2 in [0u8, 0x01, 0x16, 0x39, 0xFF, 0x2A] {
                let s = Spi::from_bytes([b1, b2]);
                let rebuilt = Spi::from_bytes([b1 & 0xE0, b2 & 0xC0])
                    .with_counter_mode(s.counter_mode())
                    .with_ciphered(s.ciphered())
                    .with_checksum(s.checksum())
                    .with_por(s.por())
                    .with_por_checksum(s.por_checksum())
                    .with_por_ciphered(s.por_ciphered())
                    .with_por_transport(s.por_transport());
                assert_eq!(rebuilt, s);
            }
        }
    }

    #[test]
    fn serde_is_hex() {
        let s = Spi::from_bytes([0x16, 0x39]);
        let j = serde_json::to_string(&s).unwrap();
        assert_eq!(j, "\"1639\"");
        assert_eq!(serde_json::from_str::<Spi>(&j).unwrap(), s);
    }
}

//! Typed view of the ENVELOPE (SMS-PP DOWNLOAD) of TS 102 223 §7.1 / TS 31.111 §7.1.1.

use serde::{Deserialize, Serialize};

use super::codes::{DeviceIdentity, EnvelopeTag};
use super::objects::{Address, DeviceIdentities, SimpleTlv, SimpleValue, SmsTpdu};
use super::template::Envelope;
use crate::apdu::{ApduError, CommandApdu};
use crate::error::{DecodeError, DecodeErrorKind, DecodeResult};

/// SMS-PP download (TS 31.111 §7.1.1.2): the terminal hands an SMS-DELIVER addressed to the (U)SIM to the
/// card. Device identities (network → UICC), optionally the address of the service centre, and the TPDU
/// (kept as bytes here).
///
/// [`Envelope`] keeps the bytes; this view holds the objects the download is defined with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsPpDownload {
    /// Normally network → UICC.
    pub device_identities: DeviceIdentities,
    /// Address of the service centre (TP-SCA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// The SMS-DELIVER TPDU.
    pub tpdu: SmsTpdu,
}

impl SmsPpDownload {
    /// Network → UICC, with an optional service-centre address.
    #[must_use]
    pub fn new(address: Option<Address>, tpdu: Vec<u8>) -> Self {
        Self {
            device_identities: DeviceIdentities::new(DeviceIdentity::Network, DeviceIdentity::Uicc),
            address,
            tpdu: SmsTpdu(tpdu),
        }
    }

    /// The canonical template: `D1 L | 82 02 83 81 | 86 L address | 8B L TPDU` (CR set, as terminals send it).
    #[must_use]
    pub fn to_envelope(&self) -> Envelope {
        let mut objects = vec![SimpleTlv::required(SimpleValue::DeviceIdentities(self.device_identities))];
        if let Some(a) = &self.address {
            objects.push(SimpleTlv::required(SimpleValue::Address(a.clone())));
        }
        objects.push(SimpleTlv::required(SimpleValue::SmsTpdu(self.tpdu.clone())));
        Envelope::new(EnvelopeTag::SmsPpDownload, objects)
    }

    /// The ENVELOPE command `80 C2 00 00 Lc D1 …`.
    ///
    /// # Errors
    /// [`ApduError::DataTooLong`] beyond 65 535 bytes.
    pub fn to_apdu(&self) -> Result<CommandApdu, ApduError> {
        self.to_envelope().to_apdu()
    }

    /// The view of a decoded envelope.
    ///
    /// # Errors
    /// A tag other than `D1`, or no device identities or SMS TPDU (offset 0: the start of the template).
    pub fn from_envelope(e: &Envelope) -> DecodeResult<Self> {
        if e.tag != EnvelopeTag::SmsPpDownload {
            return Err(DecodeError::new(
                DecodeErrorKind::UnexpectedTag {
                    expected: "SMS-PP download tag D1",
                    found: u32::from(e.tag.to_u8()),
                },
                0,
            ));
        }
        let missing = |reason| DecodeError::invalid("SMS-PP download", reason, 0);
        Ok(Self {
            device_identities: *e.device_identities().ok_or_else(|| missing("no device identities"))?,
            address: e.address().cloned(),
            tpdu: e.sms_tpdu().cloned().ok_or_else(|| missing("no SMS TPDU"))?,
        })
    }
}

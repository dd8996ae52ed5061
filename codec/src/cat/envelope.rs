//! Typed view of the ENVELOPE (SMS-PP DOWNLOAD) of TS 102 223 §7.1 / TS 31.111 §7.1.1, owned
//! ([`SmsPpDownload`]) and borrowed ([`SmsPpDownloadRef`], over an [`EnvelopeRef`]).

use serde::{Deserialize, Serialize};

use super::codes::{DeviceIdentity, EnvelopeTag};
use super::objects::{Address, AddressRef, DeviceIdentities, SimpleTlv, SimpleValue, SmsTpdu};
use super::template::{Envelope, EnvelopeRef};
use crate::apdu::{ApduError, CommandApdu};
use crate::error::{DecodeError, DecodeErrorKind, DecodeResult};
use crate::reader::DecodeRef;
use crate::sms::tpdu::DeliverRef;

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
        let (device_identities, tpdu) =
            download_parts(e.tag, || e.device_identities().copied(), || e.sms_tpdu())?;
        Ok(Self { device_identities, address: e.address().cloned(), tpdu: tpdu.clone() })
    }
}

/// The checks of an SMS-PP download, shared by [`SmsPpDownload`] and [`SmsPpDownloadRef`]: the tag, then
/// the first device identities and the first SMS TPDU must exist (errors at offset 0, the template).
fn download_parts<T>(
    tag: EnvelopeTag,
    device_identities: impl FnOnce() -> Option<DeviceIdentities>,
    tpdu: impl FnOnce() -> Option<T>,
) -> DecodeResult<(DeviceIdentities, T)> {
    if tag != EnvelopeTag::SmsPpDownload {
        return Err(DecodeError::new(
            DecodeErrorKind::UnexpectedTag {
                expected: "SMS-PP download tag D1",
                found: u32::from(tag.to_u8()),
            },
            0,
        ));
    }
    let missing = |reason| DecodeError::invalid("SMS-PP download", reason, 0);
    let d = device_identities().ok_or_else(|| missing("no device identities"))?;
    Ok((d, tpdu().ok_or_else(|| missing("no SMS TPDU"))?))
}

/// SMS-PP download (TS 31.111 §7.1.1.2) as a borrowed view of an [`EnvelopeRef`]: the first device
/// identities, the first address and the first SMS TPDU, borrowed. Same checks and errors as
/// [`SmsPpDownload::from_envelope`]; [`SmsPpDownloadRef::to_owned`] gives the owned view.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SmsPpDownloadRef<'a> {
    /// Normally network → UICC.
    pub device_identities: DeviceIdentities,
    /// Address of the service centre (TP-SCA).
    pub address: Option<AddressRef<'a>>,
    /// The SMS-DELIVER TPDU, as bytes.
    pub tpdu: &'a [u8],
}

impl<'a> SmsPpDownloadRef<'a> {
    /// The view of a decoded envelope view.
    ///
    /// # Errors
    /// A tag other than `D1`, or no device identities or SMS TPDU (offset 0: the start of the template).
    pub fn from_envelope(e: &EnvelopeRef<'a>) -> DecodeResult<Self> {
        let (device_identities, tpdu) = download_parts(e.tag, || e.device_identities(), || e.sms_tpdu())?;
        Ok(Self { device_identities, address: e.address(), tpdu })
    }

    /// Decodes the TPDU as the SMS-DELIVER of the download, borrowed (as [`SmsTpdu::deliver`]: offsets
    /// are relative to the TPDU).
    ///
    /// # Errors
    /// As [`crate::sms::tpdu::Deliver`]'s decoder.
    pub fn deliver(&self) -> DecodeResult<DeliverRef<'a>> {
        DeliverRef::decode_exact(self.tpdu)
    }

    /// The owned view.
    #[must_use]
    pub fn to_owned(&self) -> SmsPpDownload {
        SmsPpDownload {
            device_identities: self.device_identities,
            address: self.address.as_ref().map(AddressRef::to_owned),
            tpdu: SmsTpdu(self.tpdu.to_vec()),
        }
    }
}

//! Contents of the (U)SIM elementary files a subscription change touches (TS 31.102 §4.2, TS 51.011 §10,
//! TS 102 221 §13).
//!
//! - [`EfImsi`] (TS 31.102 §4.2.2 / TS 51.011 §10.3.2) holding an [`Imsi`].
//! - [`EfIccid`] (TS 102 221 §13.2) holding an [`Iccid`].
//! - [`EfAd`] (TS 31.102 §4.2.18): UE operation mode, additional information, MNC length.
//! - [`EfLoci`], [`EfPsloci`], [`EfEpsloci`] (TS 31.102 §4.2.17, §4.2.23, §4.2.91) with the invalidation an
//!   IMSI change needs (identity `FF…`, LAC/TAC `FFFE`, status "not updated"), and the location identities
//!   [`Lai`], [`Rai`], [`Tai`] built on [`PlmnId`] (TS 24.008 §10.5.1.3).
//! - [`bcd`]: the swapped-nibble BCD digit strings these files (and CAT addresses) use.
//!
//! Every file decodes from its full contents and encodes back to the same bytes, fillers, RFU bytes and
//! unused trailing bytes included; the constructors give the canonical content.

pub mod bcd;
mod digits;
mod ef_ad;
mod ef_iccid;
mod ef_imsi;
mod loci;
mod plmn;

pub use digits::{DigitsError, Iccid, Imsi};
pub use ef_ad::{EfAd, UeOperationMode};
pub use ef_iccid::EfIccid;
pub use ef_imsi::EfImsi;
pub use loci::{
    EfEpsloci, EfLoci, EfPsloci, EpsUpdateStatus, Lai, LocationUpdateStatus, Rai, RoutingAreaUpdateStatus,
    Tai,
};
pub use plmn::PlmnId;

/// File identifiers of the files in this module (TS 31.102 §4.2, TS 102 221 §13, TS 51.011 §10).
pub mod fid {
    /// EF_ICCID under the MF (TS 102 221 §13.2).
    pub const EF_ICCID: u16 = 0x2FE2;
    /// EF_IMSI (ADF.USIM, and DF.GSM `7F20` on a SIM).
    pub const EF_IMSI: u16 = 0x6F07;
    /// EF_AD, administrative data.
    pub const EF_AD: u16 = 0x6FAD;
    /// EF_LOCI, location information.
    pub const EF_LOCI: u16 = 0x6F7E;
    /// EF_PSLOCI, packet-switched location information.
    pub const EF_PSLOCI: u16 = 0x6F73;
    /// EF_EPSLOCI, EPS location information.
    pub const EF_EPSLOCI: u16 = 0x6FE3;
    /// The MF.
    pub const MF: u16 = 0x3F00;
    /// DF.GSM on a SIM (TS 51.011 §10.7).
    pub const DF_GSM: u16 = 0x7F20;
    /// The currently selected ADF, as a path element (TS 102 221 §8.4.2).
    pub const CURRENT_ADF: u16 = 0x7FFF;
}

//! The M2MSIMMobj management object of TR 33.812 / S3-090905 and the byte formats it carries.
//!
//! - [`m2msimmobj`]: the object: DDF ([`m2msimmobj::ddf`], shipped as `codec/mo/M2MSIMMobj.ddf`), node
//!   paths, MIME and Generic Alert types, [`m2msimmobj::State`] and [`m2msimmobj::ResultCode`].
//! - [`mcim`]: the protected MCIM package (`Data`) and the MCIM plaintext it encrypts.
//! - [`validation`]: the TRE's signed validation data (`TRE/ValidationData`).
//! - [`prov_ctx`]: the MCIM provisioning context of the bootstrap (`Boot/MCIMProvCtx`).
//! - [`layout`]: the lossless layout (length forms, unknown items) the BER-TLV formats above share.
//!
//! These are codecs only: the protection (ECIES, AES-GCM, ECDSA) is in `m2msim_scp80::mcim`, the TRE
//! that installs MCIMs in `m2msim_dm_client::tre`, the network roles in `m2msim_m2m`.

pub mod layout;
pub mod m2msimmobj;
pub mod mcim;
pub mod prov_ctx;
pub mod validation;

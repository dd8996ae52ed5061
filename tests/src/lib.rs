//! m2msim scenarios: the two flows of TR 33.812 run end to end on m2msim's engines, step by step as
//! the SA3 contributions number them, and the `m2msim-demo` binary that shows them.
//!
//! - [`subscription_change`]: S3-090907, remote subscription change of a UICC, Alternative 3a (the old
//!   operator rewrites the IMSI over the air and hands K and the OTA keys to the new one) and 3b (the card
//!   holds an indexed list of K/OTA-key pairs and moves to the next one). Its parties (M2M operator, MNOs
//!   with OTA servers and subscriber databases, the UICC manufacturer's escrow, the fleet of devices with
//!   simulated UICCs behind an SMS path) and the files they exchange ([`subscription_change::files`]).
//! - [`mcim`]: S3-090905, initial provisioning of an MCIM to an M2ME with a TRE (Alternative 1a): the
//!   21 steps over the OMA DM client and server engines (the DPF's DM session with the M2ME, the bootstrap
//!   from the DRF, the TRE's install and Generic Alerts), ending with AKA on the SHO's network.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod mcim;
pub mod subscription_change;

//! S3-090907: remote subscription change of a UICC, Alternatives 3a and 3b.

pub mod files;

//! Two small macros shared by the APDU, CAT, RFM and SIM modules.
//!
//! - `code_enum!`: a one-byte code with named values and an `Other(u8)` variant that keeps every unnamed
//!   value, so decoding a code never fails and never loses it. Serialised as the snake_case name of a named
//!   value, or as the plain number for `Other`.
//! - `hex_u8_newtype!`: serde for a `struct X(pub u8)` as a two-digit hex string (`"a0"`).

/// Declares a one-byte code enum: `Variant = 0x01 => "text",` lines, plus `Other(u8)`.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $variant:ident = $value:literal => $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        $vis enum $name {
            $(
                #[doc = concat!("`", stringify!($value), "`: ", $text, ".")]
                $variant,
            )*
            /// A value without a name here, kept as it is.
            #[serde(untagged)]
            Other(u8),
        }

        impl $name {
            /// The code for a byte (named when known, otherwise [`Self::Other`]).
            #[must_use]
            pub const fn from_u8(b: u8) -> Self {
                match b {
                    $( $value => Self::$variant, )*
                    _ => Self::Other(b),
                }
            }

            /// The byte.
            #[must_use]
            pub const fn to_u8(self) -> u8 {
                match self {
                    $( Self::$variant => $value, )*
                    Self::Other(b) => b,
                }
            }

            /// The name the specification gives this value, if it has one.
            #[must_use]
            pub const fn name(self) -> Option<&'static str> {
                match self {
                    $( Self::$variant => Some($text), )*
                    Self::Other(_) => None,
                }
            }
        }

        impl From<u8> for $name {
            fn from(b: u8) -> Self {
                Self::from_u8(b)
            }
        }

        impl From<$name> for u8 {
            fn from(c: $name) -> u8 {
                c.to_u8()
            }
        }
    };
}
pub(crate) use code_enum;

/// Implements serde for a `struct X(pub u8)` as a two-digit hex string.
macro_rules! hex_u8_newtype {
    ($name:ident) => {
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&format!("{:02x}", self.0))
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = crate::hexser::deserialize(d)?;
                match v.as_slice() {
                    [b] => Ok(Self(*b)),
                    _ => Err(<D::Error as serde::de::Error>::custom("expected one byte of hex")),
                }
            }
        }
    };
}
pub(crate) use hex_u8_newtype;

/// Serde helpers for a plain `u8` field written as two hex digits (`#[serde(with = "crate::apdu::hexbyte")]`).
pub(crate) mod hexbyte {
    use serde::{Deserializer, Serializer, de::Error as _};

    /// Serialises a byte as two hex digits.
    pub(crate) fn serialize<S: Serializer>(b: &u8, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{b:02x}"))
    }

    /// Deserialises exactly one byte of hex.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
        let v = crate::hexser::deserialize(d)?;
        match v.as_slice() {
            [b] => Ok(*b),
            _ => Err(D::Error::custom("expected one byte of hex")),
        }
    }
}

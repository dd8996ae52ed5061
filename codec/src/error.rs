//! The one error type of every decoder in this crate.
//!
//! A decoder never panics on input: it returns a [`DecodeError`] that says *what* was expected and at
//! *which byte* (counted from the start of the outermost buffer handed to the decoder, so nested
//! decoders report absolute offsets).

/// A decoding failure: what went wrong ([`DecodeErrorKind`]) and the byte offset where it was found.
///
/// The offset is absolute: a decoder called on a slice nested inside a larger message (a TPDU inside an
/// ENVELOPE, a packet inside a TPDU) reports the position inside the outermost buffer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset}: {kind}")]
pub struct DecodeError {
    /// What was wrong.
    pub kind: DecodeErrorKind,
    /// Absolute byte offset of the failure.
    pub offset: usize,
}

impl DecodeError {
    /// Builds an error at `offset`.
    #[must_use]
    pub const fn new(kind: DecodeErrorKind, offset: usize) -> Self {
        Self { kind, offset }
    }

    /// Shortcut for [`DecodeErrorKind::Invalid`].
    #[must_use]
    pub const fn invalid(what: &'static str, reason: &'static str, offset: usize) -> Self {
        Self::new(DecodeErrorKind::Invalid { what, reason }, offset)
    }

    /// Shifts the offset by `base` (used when a nested buffer was decoded on its own).
    #[must_use]
    pub const fn shifted(mut self, base: usize) -> Self {
        self.offset += base;
        self
    }
}

/// The kinds of decoding failure. Every variant names what the decoder expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended before `expected` was complete.
    #[error("truncated {expected}: needs {needed} more byte(s), {remaining} left")]
    Truncated {
        /// The field that could not be read.
        expected: &'static str,
        /// Bytes it needed.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A length field announces more bytes than remain in the enclosing object.
    #[error("length {length} of {what} exceeds the {remaining} byte(s) that remain")]
    LengthOverflow {
        /// The object whose length overflows.
        what: &'static str,
        /// The announced length.
        length: usize,
        /// What actually remains.
        remaining: usize,
    },
    /// Bytes were left after a complete object (`decode_exact`).
    #[error("{count} trailing byte(s) after {what}")]
    TrailingBytes {
        /// The object that was complete.
        what: &'static str,
        /// How many bytes followed it.
        count: usize,
    },
    /// A tag or identifier other than the expected one.
    #[error("unexpected tag {found:#04x}, expected {expected}")]
    UnexpectedTag {
        /// What was expected.
        expected: &'static str,
        /// The tag found.
        found: u32,
    },
    /// A field holds a value the format does not allow.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The field.
        what: &'static str,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// Nesting deeper than the decoder's cap.
    #[error("nesting deeper than {max} levels")]
    TooDeep {
        /// The cap.
        max: usize,
    },
    /// More elements than the decoder's cap (bounded allocation).
    #[error("more than {max} {what}")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// The cap.
        max: usize,
    },
}

/// Result alias for decoders.
pub type DecodeResult<T> = Result<T, DecodeError>;

//! A bounds-checked byte reader and the [`Decode`]/[`Encode`] traits every binary codec implements.
//!
//! Modelled on rustls' `Reader`: every read checks what remains, sub-readers keep absolute offsets so that
//! errors point at the byte in the outermost buffer, and [`decode_exact`] rejects trailing bytes.

use crate::error::{DecodeError, DecodeErrorKind, DecodeResult};

/// A cursor over a byte slice that never reads past its end.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Absolute offset of `buf[0]` in the outermost buffer.
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, whose first byte is at absolute offset 0.
    #[must_use]
    pub const fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0, base: 0 }
    }

    /// A reader over `buf`, whose first byte is at absolute offset `base`.
    #[must_use]
    pub const fn with_base(buf: &'a [u8], base: usize) -> Self {
        Self { buf, pos: 0, base }
    }

    /// Absolute offset of the next byte to read.
    #[must_use]
    pub const fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Bytes left to read.
    #[must_use]
    pub const fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True when everything was read.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.pos == self.buf.len()
    }

    /// An error of `kind` at the current offset.
    #[must_use]
    pub const fn error(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError::new(kind, self.offset())
    }

    /// An [`DecodeErrorKind::Invalid`] error at the current offset.
    #[must_use]
    pub const fn invalid(&self, what: &'static str, reason: &'static str) -> DecodeError {
        DecodeError::invalid(what, reason, self.offset())
    }

    /// An [`DecodeErrorKind::Invalid`] error at `back` bytes before the current offset (the start of a field
    /// that was just read).
    #[must_use]
    pub const fn invalid_at(&self, back: usize, what: &'static str, reason: &'static str) -> DecodeError {
        DecodeError::invalid(what, reason, self.offset().saturating_sub(back))
    }

    fn truncated(&self, expected: &'static str, needed: usize) -> DecodeError {
        self.error(DecodeErrorKind::Truncated {
            expected,
            needed: needed - self.remaining(),
            remaining: self.remaining(),
        })
    }

    /// Reads one byte.
    ///
    /// # Errors
    /// [`DecodeErrorKind::Truncated`] when the input is exhausted.
    #[inline]
    pub fn u8(&mut self, what: &'static str) -> DecodeResult<u8> {
        match self.buf.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(self.truncated(what, 1)),
        }
    }

    /// Looks at the next byte without consuming it.
    #[must_use]
    #[inline]
    pub fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// Reads a big-endian `u16`.
    ///
    /// # Errors
    /// [`DecodeErrorKind::Truncated`] when fewer than 2 bytes remain.
    #[inline]
    pub fn u16(&mut self, what: &'static str) -> DecodeResult<u16> {
        let b = self.array::<2>(what)?;
        Ok(u16::from_be_bytes(b))
    }

    /// Reads exactly `N` bytes into an array.
    ///
    /// # Errors
    /// [`DecodeErrorKind::Truncated`] when fewer than `N` bytes remain.
    #[inline]
    pub fn array<const N: usize>(&mut self, what: &'static str) -> DecodeResult<[u8; N]> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// Reads `n` bytes.
    ///
    /// # Errors
    /// [`DecodeErrorKind::Truncated`] when fewer than `n` bytes remain.
    #[inline]
    pub fn take(&mut self, n: usize, what: &'static str) -> DecodeResult<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.truncated(what, n));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Reads `n` bytes announced by a length field: like [`Reader::take`] but the error says the length
    /// overflows what remains, and points at `len_field_back` bytes before the current offset (the length
    /// field itself).
    ///
    /// # Errors
    /// [`DecodeErrorKind::LengthOverflow`] when fewer than `n` bytes remain.
    #[inline]
    pub fn take_len(
        &mut self,
        n: usize,
        len_field_back: usize,
        what: &'static str,
    ) -> DecodeResult<&'a [u8]> {
        if n > self.remaining() {
            return Err(DecodeError::new(
                DecodeErrorKind::LengthOverflow { what, length: n, remaining: self.remaining() },
                self.offset().saturating_sub(len_field_back),
            ));
        }
        self.take(n, what)
    }

    /// A sub-reader over the next `n` bytes (see [`Reader::take_len`] for the error), keeping absolute offsets.
    ///
    /// # Errors
    /// [`DecodeErrorKind::LengthOverflow`] when fewer than `n` bytes remain.
    #[inline]
    pub fn sub(&mut self, n: usize, len_field_back: usize, what: &'static str) -> DecodeResult<Reader<'a>> {
        let base = self.offset();
        let s = self.take_len(n, len_field_back, what)?;
        Ok(Reader::with_base(s, base))
    }

    /// Reads everything that is left.
    #[inline]
    pub fn rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }

    /// What is left, without consuming it.
    #[must_use]
    #[inline]
    pub fn peek_rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Fails unless everything was read.
    ///
    /// # Errors
    /// [`DecodeErrorKind::TrailingBytes`] naming `what` when bytes are left.
    #[inline]
    pub fn expect_end(&self, what: &'static str) -> DecodeResult<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.error(DecodeErrorKind::TrailingBytes { what, count: self.remaining() }))
        }
    }
}

/// A value that can be read off the wire.
pub trait Decode: Sized {
    /// What the value is called in error messages.
    const NAME: &'static str;

    /// Reads one value from `r`, leaving `r` after it.
    ///
    /// # Errors
    /// A [`DecodeError`] with the absolute offset of the first malformed byte.
    fn decode_from(r: &mut Reader<'_>) -> DecodeResult<Self>;

    /// Decodes one value from the start of `bytes`; returns it and the number of bytes it used.
    ///
    /// # Errors
    /// As [`Decode::decode_from`].
    fn decode(bytes: &[u8]) -> DecodeResult<(Self, usize)> {
        let mut r = Reader::new(bytes);
        let v = Self::decode_from(&mut r)?;
        Ok((v, r.offset()))
    }

    /// Decodes a value that must fill `bytes` exactly.
    ///
    /// # Errors
    /// As [`Decode::decode_from`], and [`DecodeErrorKind::TrailingBytes`] when bytes are left over.
    fn decode_exact(bytes: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes);
        let v = Self::decode_from(&mut r)?;
        r.expect_end(Self::NAME)?;
        Ok(v)
    }
}

/// A borrowed view that can be read off the wire without copying: like [`Decode`], but the value keeps
/// `&'a [u8]` slices of the input instead of owned vectors (`cat::EnvelopeRef`, `sms::DeliverRef`,
/// `ota::CommandPacketRef`, …).
///
/// A view validates exactly what its owned type validates, with the same errors at the same offsets (the
/// owned decoders are built on the views' parsing code), and `to_owned()` gives the owned value.
pub trait DecodeRef<'a>: Sized {
    /// What the value is called in error messages (the owned type's name).
    const NAME: &'static str;

    /// Reads one view from `r`, leaving `r` after it.
    ///
    /// # Errors
    /// A [`DecodeError`] with the absolute offset of the first malformed byte.
    fn decode_from(r: &mut Reader<'a>) -> DecodeResult<Self>;

    /// Decodes one view from the start of `bytes`; returns it and the number of bytes it used.
    ///
    /// # Errors
    /// As [`DecodeRef::decode_from`].
    fn decode(bytes: &'a [u8]) -> DecodeResult<(Self, usize)> {
        let mut r = Reader::new(bytes);
        let v = Self::decode_from(&mut r)?;
        Ok((v, r.offset()))
    }

    /// Decodes a view that must fill `bytes` exactly.
    ///
    /// # Errors
    /// As [`DecodeRef::decode_from`], and [`DecodeErrorKind::TrailingBytes`] when bytes are left over.
    fn decode_exact(bytes: &'a [u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes);
        let v = Self::decode_from(&mut r)?;
        r.expect_end(Self::NAME)?;
        Ok(v)
    }
}

/// A value that can be written to the wire.
///
/// For every value obtained by decoding, `encode` reproduces the decoded bytes exactly (the lossless rule).
pub trait Encode {
    /// Appends the encoding to `out`.
    fn encode_to(&self, out: &mut Vec<u8>);

    /// The encoding as a new vector.
    #[must_use]
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode_to(&mut v);
        v
    }
}

/// Decodes a value that must fill `bytes` exactly (free-function form of [`Decode::decode_exact`]).
///
/// # Errors
/// As [`Decode::decode_exact`].
pub fn decode_exact<T: Decode>(bytes: &[u8]) -> DecodeResult<T> {
    T::decode_exact(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_reader_keeps_absolute_offsets() {
        let data = [1u8, 2, 3, 4, 5];
        let mut r = Reader::new(&data);
        r.u8("a").unwrap();
        let mut s = r.sub(2, 1, "inner").unwrap();
        assert_eq!(s.offset(), 1);
        s.u16("x").unwrap();
        let e = s.u8("y").unwrap_err();
        assert_eq!(e.offset, 3);
        assert!(matches!(e.kind, DecodeErrorKind::Truncated { expected: "y", needed: 1, remaining: 0 }));
        assert_eq!(r.offset(), 3);
    }

    #[test]
    fn length_overflow_points_at_length_field() {
        let data = [0x05u8, 1, 2];
        let mut r = Reader::new(&data);
        let n = r.u8("len").unwrap() as usize;
        let e = r.take_len(n, 1, "value").unwrap_err();
        assert_eq!(e.offset, 0);
        assert_eq!(e.kind, DecodeErrorKind::LengthOverflow { what: "value", length: 5, remaining: 2 });
        assert_eq!(e.to_string(), "at byte 0: length 5 of value exceeds the 2 byte(s) that remain");
    }

    #[test]
    fn expect_end_reports_trailing() {
        let r = Reader::with_base(&[9, 9], 10);
        let e = r.expect_end("thing").unwrap_err();
        assert_eq!(e.offset, 10);
        assert_eq!(e.kind, DecodeErrorKind::TrailingBytes { what: "thing", count: 2 });
    }
}

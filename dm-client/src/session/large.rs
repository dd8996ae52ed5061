//! Large objects (OMA DM 1.2.1 Protocol §2.2) in both directions: [`IncomingObject`] buffers the chunks of
//! an Add or Replace from the server, [`OutgoingObject`] cuts a Results item into chunks that fit the
//! server's MaxMsgSize.
//!
//! Sizes "as sent" follow the codec's [`Item::result`] convention: text counts its UTF-8 bytes, binary data
//! under `b64` its base64 characters, raw binary (`bin`, or binary under another Format) its bytes.

use m2msim_codec::dm::auth::{decode_b64, encode_b64};
use m2msim_codec::dm::ddf::Format;
use m2msim_codec::syncml::{Data, Item, Results, StatusCode};

/// The size of `data` as sent under `format`.
pub(crate) fn sent_len(data: &Data, format: Option<Format>) -> u64 {
    match data {
        Data::Text(t) => t.len() as u64,
        Data::Bytes(b) if format == Some(Format::B64) => b64_len(b.len()),
        Data::Bytes(b) => b.len() as u64,
        Data::Document(_) | Data::Nodes(_) => 0,
    }
}

fn b64_len(n: usize) -> u64 {
    n.div_ceil(3) as u64 * 4
}

/// How the chunks of a binary object arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Decoded bytes (base64 that decoded chunk by chunk, raw `OPAQUE`) or text of a text Format.
    Raw,
    /// Base64 text that did not decode on its own (cut at any character): decoded at the end.
    Base64Text,
}

/// A large object being received (Protocol §2.2): the first chunk's command, target and Meta, the
/// announced Size, and the data so far.
#[derive(Debug)]
pub(crate) struct IncomingObject {
    /// `Add` or `Replace`.
    pub cmd: String,
    /// The target URI.
    pub target: String,
    /// The source URI, if any (for Alert 1225).
    pub source: Option<String>,
    /// The Meta Format that applies (the first chunk's).
    pub format: Option<String>,
    /// The Meta Type that applies (the first chunk's).
    pub type_: Option<String>,
    /// Meta Size of the first chunk.
    pub declared: u64,
    /// A status the object was refused with; its remaining chunks get it too and are not buffered.
    pub rejected: Option<StatusCode>,
    sent: u64,
    raw: Vec<u8>,
    text: String,
    mode: Option<Mode>,
}

impl IncomingObject {
    /// An object announced with `declared` bytes.
    pub fn new(
        cmd: &str,
        target: &str,
        source: Option<&str>,
        format: Option<&str>,
        type_: Option<&str>,
        declared: u64,
    ) -> Self {
        Self {
            cmd: cmd.to_owned(),
            target: target.to_owned(),
            source: source.map(str::to_owned),
            format: format.map(str::to_owned),
            type_: type_.map(str::to_owned),
            declared,
            rejected: None,
            sent: 0,
            raw: Vec::new(),
            text: String::new(),
            mode: None,
        }
    }

    /// An object refused on its first chunk with `status`.
    pub fn refused(cmd: &str, target: &str, status: StatusCode) -> Self {
        let mut o = Self::new(cmd, target, None, None, None, 0);
        o.rejected = Some(status);
        o
    }

    fn parsed_format(&self) -> Option<Format> {
        self.format.as_deref().and_then(Format::parse)
    }

    fn binary(&self) -> bool {
        matches!(self.parsed_format(), Some(Format::B64 | Format::Bin))
    }

    /// Whether an item of `cmd` on `target` continues this object.
    pub fn continued_by(&self, cmd: &str, target: Option<&str>) -> bool {
        self.cmd == cmd && target == Some(self.target.as_str())
    }

    /// The bytes buffered so far (decoded length for base64 text, approximately).
    fn value_len(&self) -> u64 {
        match self.mode {
            Some(Mode::Base64Text) => self.text.len() as u64 / 4 * 3,
            _ => self.raw.len() as u64,
        }
    }

    /// Appends a chunk's data.
    ///
    /// # Errors
    /// 415 for data that is a document or does not suit the Format; 424 when the data overruns the
    /// announced Size (checked on every chunk, which bounds the buffer).
    pub fn push(&mut self, data: Option<&Data>) -> Result<(), StatusCode> {
        let format = self.parsed_format();
        let binary = self.binary();
        match data {
            None => {}
            Some(d @ Data::Text(t)) => {
                self.sent += sent_len(d, format);
                if binary {
                    if self.mode == Some(Mode::Raw) && !self.raw.is_empty() {
                        return Err(StatusCode::UNSUPPORTED_MEDIA_TYPE);
                    }
                    self.mode = Some(Mode::Base64Text);
                    self.text.push_str(t);
                } else {
                    self.mode = Some(Mode::Raw);
                    self.raw.extend_from_slice(t.as_bytes());
                }
            }
            Some(d @ Data::Bytes(b)) => {
                self.sent += sent_len(d, format);
                if self.mode == Some(Mode::Base64Text) {
                    self.text.push_str(&encode_b64(b));
                } else {
                    self.mode = Some(Mode::Raw);
                    self.raw.extend_from_slice(b);
                }
            }
            Some(Data::Document(_) | Data::Nodes(_)) => return Err(StatusCode::UNSUPPORTED_MEDIA_TYPE),
        }
        if self.sent.min(self.value_len()) > self.declared {
            return Err(StatusCode::SIZE_MISMATCH);
        }
        Ok(())
    }

    /// The assembled value as the tree stores it (base64 text for `b64`, raw bytes otherwise).
    ///
    /// # Errors
    /// 424 when neither the size as sent nor the decoded size is the announced Size; 415 when base64
    /// text does not decode.
    pub fn finish(self) -> Result<Vec<u8>, StatusCode> {
        if let Some(s) = self.rejected {
            return Err(s);
        }
        let format = self.parsed_format();
        let value = match (format, self.mode) {
            (Some(Format::B64), Some(Mode::Base64Text)) => self.text.into_bytes(),
            (Some(Format::B64), _) => encode_b64(&self.raw).into_bytes(),
            (_, Some(Mode::Base64Text)) => {
                decode_b64(&self.text).ok_or(StatusCode::UNSUPPORTED_MEDIA_TYPE)?
            }
            _ => self.raw,
        };
        let decoded_len = match format {
            Some(Format::B64) => decode_b64(std::str::from_utf8(&value).unwrap_or_default()).map(|v| v.len()),
            _ => Some(value.len()),
        };
        if self.sent != self.declared && decoded_len.map(|l| l as u64) != Some(self.declared) {
            return Err(StatusCode::SIZE_MISMATCH);
        }
        Ok(value)
    }
}

/// The data of an item being sent in chunks.
#[derive(Debug)]
enum Payload {
    Text(String),
    Bytes(Vec<u8>),
}

/// A Results item being sent in chunks (Protocol §2.2): `MoreData` on every chunk but the last, Meta
/// `Size` (the whole object as sent) on the first only, Meta Format and Type repeated on each.
#[derive(Debug)]
pub(crate) struct OutgoingObject {
    template: Results,
    item: Item,
    payload: Payload,
    /// Base64 is sent for the bytes: cut them at multiples of 3 so that each chunk encodes alone.
    b64: bool,
    total: u64,
    offset: usize,
}

impl OutgoingObject {
    /// Takes a Results of one item with text or bytes (`None` otherwise). `raw_bin`: bytes under `bin`
    /// travel raw (WBXML); otherwise bytes travel as base64 text.
    pub fn new(mut results: Results, raw_bin: bool) -> Option<Self> {
        if results.items.len() != 1 {
            return None;
        }
        let mut item = results.items.pop()?;
        let format = item.meta.as_ref().and_then(|m| m.format.as_deref()).and_then(Format::parse);
        let data = item.data.take()?;
        let total = item.meta.as_mut().and_then(|m| m.size.take()).unwrap_or_else(|| sent_len(&data, format));
        let (payload, b64) = match data {
            Data::Text(t) => (Payload::Text(t), false),
            Data::Bytes(b) => (Payload::Bytes(b), !(raw_bin && format == Some(Format::Bin))),
            Data::Document(_) | Data::Nodes(_) => return None,
        };
        Some(Self { template: results, item, payload, b64, total, offset: 0 })
    }

    fn len(&self) -> usize {
        match &self.payload {
            Payload::Text(t) => t.len(),
            Payload::Bytes(b) => b.len(),
        }
    }

    /// Bytes not sent yet.
    pub fn remaining(&self) -> usize {
        self.len().saturating_sub(self.offset)
    }

    /// Whether the data units travel as base64 (4 characters per 3 bytes).
    pub fn expands(&self) -> bool {
        self.b64 && matches!(self.payload, Payload::Bytes(_))
    }

    /// The largest count ≤ `n` that ends a chunk on a valid boundary (a character boundary for text, a
    /// multiple of 3 bytes for base64, anything for the last chunk).
    pub fn fit(&self, n: usize) -> usize {
        let n = n.min(self.remaining());
        if n == self.remaining() {
            return n;
        }
        match &self.payload {
            Payload::Text(t) => {
                let mut end = self.offset + n;
                while end > self.offset && !t.is_char_boundary(end) {
                    end -= 1;
                }
                end - self.offset
            }
            Payload::Bytes(_) if self.b64 => n - n % 3,
            Payload::Bytes(_) => n,
        }
    }

    /// The Results carrying the next `n` bytes (`n` from [`Self::fit`]).
    pub fn chunk(&self, n: usize) -> Results {
        let end = (self.offset + n).min(self.len());
        let data = match &self.payload {
            Payload::Text(t) => Data::Text(t.get(self.offset..end).unwrap_or_default().to_owned()),
            Payload::Bytes(b) => Data::Bytes(b.get(self.offset..end).unwrap_or_default().to_vec()),
        };
        let mut item = self.item.clone();
        if self.offset == 0 {
            item.meta.get_or_insert_with(Default::default).size = Some(self.total);
        }
        item.more_data = end < self.len();
        item.data = Some(data);
        Results { items: vec![item], ..self.template.clone() }
    }

    /// Takes back the last `n` bytes marked sent (the chunk did not fit after all).
    pub fn retreat(&mut self, n: usize) {
        self.offset = self.offset.saturating_sub(n);
    }

    /// Marks `n` more bytes as sent.
    pub fn advance(&mut self, n: usize) {
        self.offset = (self.offset + n).min(self.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(format: &str, declared: u64) -> IncomingObject {
        IncomingObject::new("Replace", "./X", None, Some(format), None, declared)
    }

    #[test]
    fn incoming_text_and_bytes() {
        let mut o = obj("chr", 6);
        o.push(Some(&Data::text("abc"))).unwrap();
        assert!(o.continued_by("Replace", Some("./X")) && !o.continued_by("Add", Some("./X")));
        o.push(Some(&Data::text("def"))).unwrap();
        assert_eq!(o.finish(), Ok(b"abcdef".to_vec()));
        // bin, raw chunks of any length
        let mut o = obj("bin", 5);
        o.push(Some(&Data::bytes([1, 2]))).unwrap();
        o.push(Some(&Data::bytes([3, 4, 5]))).unwrap();
        assert_eq!(o.finish(), Ok(vec![1, 2, 3, 4, 5]));
        // b64 decoded chunk by chunk: Size counts base64 characters (8) or decoded bytes (6)
        for declared in [8, 6] {
            let mut o = obj("b64", declared);
            o.push(Some(&Data::bytes(*b"abc"))).unwrap();
            o.push(Some(&Data::bytes(*b"def"))).unwrap();
            assert_eq!(o.finish(), Ok(b"YWJjZGVm".to_vec()), "stored as base64 text");
        }
        // base64 cut in the middle of a quantum arrives as text
        let mut o = obj("bin", 6);
        o.push(Some(&Data::text("YWJjZ"))).unwrap();
        o.push(Some(&Data::text("GVm"))).unwrap();
        assert_eq!(o.finish(), Ok(b"abcdef".to_vec()));
    }

    #[test]
    fn incoming_size_errors() {
        let mut o = obj("chr", 4);
        o.push(Some(&Data::text("abc"))).unwrap();
        assert_eq!(o.push(Some(&Data::text("de"))), Err(StatusCode::SIZE_MISMATCH), "overrun");
        let mut o = obj("chr", 4);
        o.push(Some(&Data::text("abc"))).unwrap();
        assert_eq!(o.finish(), Err(StatusCode::SIZE_MISMATCH), "short");
        let mut o = obj("bin", 4);
        o.push(Some(&Data::text("!!!!"))).unwrap();
        assert_eq!(o.finish(), Err(StatusCode::UNSUPPORTED_MEDIA_TYPE));
        let mut o = obj("bin", 9);
        o.push(Some(&Data::bytes([1]))).unwrap();
        assert_eq!(o.push(Some(&Data::text("AAAA"))), Err(StatusCode::UNSUPPORTED_MEDIA_TYPE), "mixed");
        assert_eq!(IncomingObject::refused("Add", "./X", StatusCode(416)).finish(), Err(StatusCode(416)));
        assert_eq!(sent_len(&Data::bytes([0; 4]), Some(Format::B64)), 8);
        assert_eq!(sent_len(&Data::bytes([0; 4]), Some(Format::Bin)), 4);
    }

    #[test]
    fn outgoing_chunks() {
        let r =
            Results::new(1, Some(1), 2, vec![Item::result("./T", Format::Chr, None, Data::text("héllo"))]);
        let mut o = OutgoingObject::new(r, false).unwrap();
        assert_eq!(o.fit(2), 1, "é is two bytes: stop before it");
        let first = o.chunk(1);
        assert!(first.items[0].more_data);
        assert_eq!(first.items[0].meta.as_ref().unwrap().size, Some(6));
        o.advance(1);
        let rest = o.fit(100);
        let last = o.chunk(rest);
        assert!(!last.items[0].more_data && last.items[0].meta.as_ref().unwrap().size.is_none());
        assert_eq!(last.items[0].data, Some(Data::text("éllo")));
        o.advance(rest);
        assert_eq!(o.remaining(), 0);
        // bytes as base64: multiples of 3, except the last chunk
        let r = Results::new(1, None, 2, vec![Item::result("./B", Format::B64, None, Data::bytes([0; 7]))]);
        let o = OutgoingObject::new(r, true).unwrap();
        assert!(o.expands());
        assert_eq!((o.fit(5), o.fit(7), o.fit(9)), (3, 7, 7));
        // raw bin in WBXML
        let r = Results::new(1, None, 2, vec![Item::result("./B", Format::Bin, None, Data::bytes([0; 7]))]);
        let o = OutgoingObject::new(r, true).unwrap();
        assert!(!o.expands() && o.fit(5) == 5);
        assert!(OutgoingObject::new(Results::new(1, None, 2, vec![]), true).is_none());
    }
}

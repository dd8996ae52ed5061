//! Large objects (OMA DM 1.2.1 Protocol §2.2): splitting an outbound `Add`/`Replace` item into chunks, and
//! the size of data "as sent" that `Meta` `Size` counts.
//!
//! Decisions:
//! - Only a single-item `Add` or `Replace` whose `Data` is text, or bytes under `Format` `b64` or `bin`, is
//!   chunked (the protocol's large objects; a command with several items, or a group, must fit in one
//!   message, Protocol §2.2).
//! - Byte chunks other than the last are a multiple of 3 bytes long, so that under base64 (`b64`, and
//!   `bin` written as XML) each chunk's text has no padding and the chunks' texts join into the object's
//!   text. Text chunks end on a character boundary.
//! - `Size` (on the first chunk only) follows the codec's rule of [`Item::result`]: the UTF-8 length of
//!   text, the raw length of bytes under `bin`, the base64 length of bytes otherwise.
//!
//! [`Item::result`]: m2msim_codec::syncml::Item::result

use std::sync::Arc;

use m2msim_codec::syncml::{Command, Data, Meta};

/// The data of a chunked object, shared between the queue and the requeue copies.
#[derive(Debug, Clone)]
pub(super) enum ChunkData {
    /// Bytes (`Format` `b64` or `bin`).
    Bytes(Arc<[u8]>),
    /// Text.
    Text(Arc<str>),
}

impl ChunkData {
    pub(super) fn len(&self) -> usize {
        match self {
            Self::Bytes(b) => b.len(),
            Self::Text(t) => t.len(),
        }
    }
}

/// Where an outbound object stands.
#[derive(Debug, Clone)]
pub(super) struct ChunkCursor {
    /// The whole object.
    pub(super) data: ChunkData,
    /// Bytes already sent.
    pub(super) offset: usize,
    /// The `Size` of the whole object.
    pub(super) total: u64,
}

/// Whether a `Format` makes bytes travel raw (`bin`) rather than as base64.
pub(super) fn is_bin(format: Option<&str>) -> bool {
    format.map(str::trim) == Some("bin")
}

/// The size of `data` as sent under `format` (see the module documentation); `None` for documents and
/// element lists.
pub(super) fn size_as_sent(data: &Data, format: Option<&str>) -> Option<u64> {
    let n = match data {
        Data::Text(t) => t.len(),
        Data::Bytes(b) if is_bin(format) => b.len(),
        Data::Bytes(b) => b.len().div_ceil(3) * 4,
        Data::Document(_) | Data::Nodes(_) => return None,
    };
    Some(n as u64)
}

/// The one item's data of a chunkable command, with its `Format`.
fn chunkable(command: &Command) -> Option<(&Data, Option<&str>)> {
    let (Command::Add(c) | Command::Replace(c)) = command else { return None };
    let [item] = c.items.as_slice() else { return None };
    let format = command.format_of(item);
    match &item.data {
        Some(d @ Data::Text(_)) => Some((d, format)),
        Some(d @ Data::Bytes(_)) if matches!(format.map(str::trim), Some("b64" | "bin")) => Some((d, format)),
        _ => None,
    }
}

/// The `Size` of a chunkable command's object, `None` when the command is not chunkable.
pub(super) fn object_size(command: &Command) -> Option<u64> {
    chunkable(command).and_then(|(d, f)| size_as_sent(d, f))
}

/// Splits a chunkable command into a template (its item's data emptied) and a cursor at the start.
pub(super) fn split(command: &Command) -> Option<(Command, ChunkCursor)> {
    let (data, format) = chunkable(command)?;
    let total = size_as_sent(data, format)?;
    let data = match data {
        Data::Text(t) => ChunkData::Text(Arc::from(t.as_str())),
        Data::Bytes(b) => ChunkData::Bytes(Arc::from(b.as_slice())),
        Data::Document(_) | Data::Nodes(_) => return None,
    };
    let mut template = command.clone();
    if let Command::Add(c) | Command::Replace(c) = &mut template
        && let Some(i) = c.items.first_mut()
    {
        i.data = Some(Data::Text(String::new()));
    }
    Some((template, ChunkCursor { data, offset: 0, total }))
}

/// The largest length ≤ `n` that may end a chunk starting at `offset`: a multiple of 3 for bytes and a
/// character boundary for text, unless it reaches the end.
pub(super) fn align(cur: &ChunkCursor, n: usize) -> usize {
    let remaining = cur.data.len().saturating_sub(cur.offset);
    if n >= remaining {
        return remaining;
    }
    match &cur.data {
        ChunkData::Bytes(_) => n - n % 3,
        ChunkData::Text(t) => {
            let mut end = cur.offset + n;
            while end > cur.offset && !t.is_char_boundary(end) {
                end -= 1;
            }
            end - cur.offset
        }
    }
}

/// The chunk of `n` bytes at the cursor: the template with that data, `MoreData` unless it is the last,
/// and on the first chunk `Meta` `Size` of the whole object in the item's `Meta`.
pub(super) fn make_chunk(template: &Command, cur: &ChunkCursor, n: usize) -> Command {
    let end = (cur.offset + n).min(cur.data.len());
    let data = match &cur.data {
        ChunkData::Bytes(b) => Data::Bytes(b.get(cur.offset..end).unwrap_or_default().to_vec()),
        ChunkData::Text(t) => Data::Text(t.get(cur.offset..end).unwrap_or_default().to_owned()),
    };
    let mut c = template.clone();
    if let Command::Add(ic) | Command::Replace(ic) = &mut c
        && let Some(i) = ic.items.first_mut()
    {
        i.data = Some(data);
        i.more_data = end < cur.data.len();
        if cur.offset == 0 {
            i.meta.get_or_insert_with(Meta::new).size = Some(cur.total);
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operation::cmd;
    use m2msim_codec::dm::ddf::Format;

    #[test]
    fn sizes_as_sent() {
        assert_eq!(size_as_sent(&Data::text("héllo"), Some("chr")), Some(6));
        assert_eq!(size_as_sent(&Data::bytes(vec![0; 10]), Some("bin")), Some(10));
        assert_eq!(size_as_sent(&Data::bytes(vec![0; 10]), Some("b64")), Some(16));
        assert_eq!(size_as_sent(&Data::Nodes(Vec::new()), None), None);
    }

    #[test]
    fn split_and_reassemble_bytes() {
        let data: Vec<u8> = (0..100u8).collect();
        let c = cmd::replace("./big", Format::Bin, data.clone());
        let (template, mut cur) = split(&c).unwrap();
        assert_eq!(cur.total, 100);
        let mut got = Vec::new();
        let mut first = true;
        while cur.offset < cur.data.len() {
            let n = align(&cur, 16);
            assert!(n == 15 || cur.offset + n == 100, "{n}");
            let Command::Replace(ch) = make_chunk(&template, &cur, n) else { panic!() };
            let it = &ch.items[0];
            assert_eq!(it.meta.as_ref().unwrap().size, first.then_some(100));
            assert_eq!(it.more_data, cur.offset + n < 100);
            got.extend_from_slice(it.data.as_ref().unwrap().as_bytes().unwrap());
            cur.offset += n;
            first = false;
        }
        assert_eq!(got, data);
    }

    #[test]
    fn text_chunks_end_on_char_boundaries() {
        let c = cmd::add("./t", Format::Chr, "aéé€b");
        let (template, mut cur) = split(&c).unwrap();
        let mut got = String::new();
        while cur.offset < cur.data.len() {
            let n = align(&cur, 2).max(align(&cur, 4));
            assert!(n > 0);
            let Command::Add(ch) = make_chunk(&template, &cur, n) else { panic!() };
            got.push_str(ch.items[0].data.as_ref().unwrap().as_text().unwrap());
            cur.offset += n;
        }
        assert_eq!(got, "aéé€b");
    }

    #[test]
    fn what_is_chunkable() {
        assert!(split(&cmd::get("./x")).is_none());
        assert!(split(&cmd::exec("./x", Some(Data::text("a")), None)).is_none());
        assert!(split(&cmd::add_interior("./x")).is_none());
        assert!(split(&cmd::replace("./x", Format::Int, Data::bytes(vec![1]))).is_none());
        assert_eq!(object_size(&cmd::replace("./x", Format::B64, Data::bytes(vec![1, 2]))), Some(4));
    }
}

//! Malformed and hostile input through the WBXML, XML and tree layers: every failure is an error with an
//! offset, never a panic, and memory stays bounded.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use m2msim_codec::syncml::tree::{self, Document, Profile};
use m2msim_codec::testdata::shared_dir;
use m2msim_codec::{Decode, DecodeErrorKind, Encode, wbxml, xml};

fn corpus_wbxml() -> Vec<(String, Vec<u8>)> {
    let Some(d) = shared_dir() else { return Vec::new() };
    let mut v: Vec<_> = std::fs::read_dir(d.join("corpus/omadm/wbxml"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wbxml"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    v.sort();
    v
}

fn all_readers(b: &[u8]) {
    for p in [Profile::libwbxml(), Profile::rtk()] {
        let _ = tree::wbxml_bytes_to_xml(b, &p);
    }
    if let Ok(d) = wbxml::Document::decode_exact(b) {
        assert_eq!(d.encode(), b);
        if let Ok(t) = Document::from_wbxml(&d) {
            let _ = t.to_xml(&Profile::libwbxml());
            let _ = t.to_wbxml(&Profile::rtk());
        }
        let _ = tree::wbxml_to_xml(&d, &Profile::libwbxml());
    }
}

#[test]
fn truncated_corpus_wbxml_is_an_error_everywhere() {
    for (name, b) in corpus_wbxml() {
        for n in 0..b.len() {
            let cut = &b[..n];
            let e = wbxml::Document::decode_exact(cut).expect_err(&name);
            assert!(e.offset <= n, "{name} cut at {n}: {e}");
            assert!(tree::wbxml_bytes_to_xml(cut, &Profile::libwbxml()).is_err(), "{name} cut at {n}");
            assert!(tree::wbxml_bytes_to_xml(cut, &Profile::rtk()).is_err(), "{name} cut at {n}");
        }
    }
}

#[test]
fn every_single_byte_tamper_is_handled() {
    for (_, b) in corpus_wbxml() {
        for i in 0..b.len() {
            for v in [0x00, 0x01, 0x03, 0x83, 0xC3, 0xFF, b[i] ^ 0x40] {
                let mut t = b.clone();
                t[i] = v;
                all_readers(&t);
            }
        }
    }
}

#[test]
fn huge_lengths_point_at_their_length_field() {
    // String table length 2^32-1.
    let e = wbxml::Document::decode_exact(&[0x02, 0xA4, 0x01, 0x6A, 0x8F, 0xFF, 0xFF, 0xFF, 0x7F, 0x6D])
        .unwrap_err();
    assert_eq!(e.offset, 4);
    assert!(matches!(
        e.kind,
        DecodeErrorKind::LengthOverflow { what: "string table", length: 0xFFFF_FFFF, .. }
    ));
    // OPAQUE length 2^32-1 inside Data.
    let b = [0x02, 0xA4, 0x01, 0x6A, 0x00, 0x6D, 0x4F, 0xC3, 0x8F, 0xFF, 0xFF, 0xFF, 0x7F, 0x01, 0x01];
    let e = wbxml::Document::decode_exact(&b).unwrap_err();
    assert_eq!(e.offset, 8);
    assert!(matches!(e.kind, DecodeErrorKind::LengthOverflow { what: "OPAQUE data", .. }));
    assert!(tree::wbxml_bytes_to_xml(&b, &Profile::libwbxml()).is_err());
    // mb_u_int32 of 6 bytes.
    let e = wbxml::Document::decode_exact(&[0x02, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]).unwrap_err();
    assert_eq!(e.offset, 1);
}

#[test]
fn string_table_references_past_the_end() {
    // Table "ab\0" (3 bytes): STR_T 3, LITERAL 7, publicid index 3.
    let cases: [(&[u8], usize); 3] = [
        (&[0x02, 0xA4, 0x01, 0x6A, 0x03, b'a', b'b', 0, 0x6D, 0x83, 0x03, 0x01], 9),
        (&[0x02, 0xA4, 0x01, 0x6A, 0x03, b'a', b'b', 0, 0x6D, 0x04, 0x07, 0x01], 9),
        (&[0x02, 0x00, 0x03, 0x6A, 0x03, b'a', b'b', 0, 0x2D], 1),
    ];
    for (b, at) in cases {
        let e = wbxml::Document::decode_exact(b).unwrap_err();
        assert_eq!(e.offset, at, "{e}");
        assert!(matches!(e.kind, DecodeErrorKind::Invalid { .. }));
        assert!(tree::wbxml_bytes_to_xml(b, &Profile::libwbxml()).is_err());
    }
}

#[test]
fn deep_nesting_is_refused_in_both_encodings() {
    let mut b = vec![0x02, 0xA4, 0x01, 0x6A, 0x00];
    b.extend(std::iter::repeat_n(0x6D, 10_000));
    let e = wbxml::Document::decode_exact(&b).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::TooDeep { max: wbxml::MAX_DEPTH });
    assert!(tree::wbxml_bytes_to_xml(&b, &Profile::libwbxml()).is_err());
    let x = "<SyncML>".repeat(10_000);
    let e = xml::Document::parse(&x, xml::Mode::Strict).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::TooDeep { max: xml::MAX_DEPTH });
    assert_eq!(e.offset, 8 * xml::MAX_DEPTH);
    assert!(tree::xml_text_to_wbxml(&x, xml::Mode::Lenient, &Profile::libwbxml()).is_err());
}

#[test]
fn entity_bomb_does_not_expand() {
    let mut decl = String::from("<!DOCTYPE SyncML [<!ENTITY a0 \"ha\">");
    for i in 1..10 {
        decl.push_str(&format!("<!ENTITY a{i} \"{}\">", format!("&a{};", i - 1).repeat(10)));
    }
    decl.push_str("]>");
    let text = format!("{decl}<SyncML><Status><Data>&a9;&a9;</Data></Status></SyncML>");
    let e = xml::Document::parse(&text, xml::Mode::Strict).unwrap_err();
    assert_eq!(e.offset, text.find("&a9;").unwrap());
    assert!(tree::xml_text_to_wbxml(&text, xml::Mode::Strict, &Profile::libwbxml()).is_err());
    // Lenient: the references stay as they are, in every layer.
    let d = xml::Document::parse(&text, xml::Mode::Lenient).unwrap();
    assert_eq!(d.to_string(), text);
    let t = Document::from_xml(&d).unwrap();
    let data = t.root.child("Status").unwrap().child("Data").unwrap();
    assert_eq!(data.text().unwrap(), "&a9;&a9;");
    let w = tree::xml_text_to_wbxml(&text, xml::Mode::Lenient, &Profile::libwbxml()).unwrap();
    assert!(w.len() < 64, "{} bytes", w.len());
}

#[test]
fn string_table_references_cannot_amplify_without_bound() {
    // 20 000 STR_T to offset 0 of a 20 000-byte string without NUL: 400 MB of text from 60 KB. Lookups are
    // O(log n), the document itself stays small (references are kept), and resolving the text stops at
    // `str_t_expansion_limit` with an error instead of allocating the lot.
    let n = 20_000usize;
    let mut b = vec![0x02, 0xA4, 0x01, 0x6A];
    wbxml::MbUint32::new(u32::try_from(n).unwrap()).write(&mut b);
    b.extend(std::iter::repeat_n(b'x', n));
    b.extend([0x6D, 0x69, 0x4F]);
    for _ in 0..n {
        b.extend([0x83, 0x00]);
    }
    b.extend([0x01, 0x01, 0x01]);
    let d = wbxml::Document::decode_exact(&b).unwrap();
    assert_eq!(d.encode(), b);
    let limit = wbxml::str_t_expansion_limit(b.len());
    let e = Document::from_wbxml(&d).unwrap_err();
    let tree::ConvertError::Decode(e) = e else { panic!("{e}") };
    assert_eq!(
        e.kind,
        DecodeErrorKind::TooMany { what: "bytes of string-table text (STR_T expansion)", max: limit }
    );
    // The reference that crosses the limit: the 27th (27 × 20 000 > 8 × 60 k + 64 Ki).
    let first_ref = b.len() - 3 - 2 * n;
    assert_eq!(e.offset, first_ref + 2 * (limit / n));
    assert!(tree::wbxml_bytes_to_xml(&b, &Profile::libwbxml()).is_err());
    assert!(tree::wbxml_to_xml(&d, &Profile::libwbxml()).is_err());
    // A handful of references is fine.
    let mut small = b[..b.len() - 3 - 2 * n].to_vec();
    small.extend([0x83, 0x00, 0x83, 0x00, 0x01, 0x01, 0x01]);
    let x = tree::wbxml_bytes_to_xml(&small, &Profile::libwbxml()).unwrap();
    assert!(x.contains(&"x".repeat(2 * n)));
}

#[test]
fn nested_documents_are_followed_to_a_bounded_depth() {
    // A DDF document nested in OPAQUE, nested again, six levels: decoded as documents down to the cap,
    // bytes below it, re-encoded identically.
    let mut inner = vec![0x02, 0x00, 0x00, 0x6A, 0x1B];
    inner.extend_from_slice(b"-//OMA//DTD-DM-DDF 1.2//EN\0");
    inner.extend([0x00, 0x02, 0x60, 0x01]);
    for _ in 0..6 {
        let mut outer = vec![0x02, 0x00, 0x00, 0x6A, 0x1B];
        outer.extend_from_slice(b"-//OMA//DTD-DM-DDF 1.2//EN\0");
        outer.extend([0x00, 0x02, 0x76, 0xC3]);
        wbxml::MbUint32::new(u32::try_from(inner.len()).unwrap()).write(&mut outer);
        outer.extend_from_slice(&inner);
        outer.push(0x01);
        inner = outer;
    }
    let d = wbxml::Document::decode_exact(&inner).unwrap();
    assert_eq!(d.encode(), inner);
    let mut depth = 0;
    let mut cur = &d;
    while let Some(n) = cur.body.iter().find_map(|t| match t {
        wbxml::Token::Opaque { data: wbxml::OpaqueData::Document(n), .. } => Some(n),
        _ => None,
    }) {
        depth += 1;
        cur = n;
    }
    assert_eq!(depth, wbxml::MAX_NESTED_DOCUMENTS - 1);
}

#[test]
fn string_table_emulation_is_bounded() {
    // 3000 distinct repeated strings: libwbxml's algorithm would search every text for every entry.
    let mut text = String::from("<SyncML><SyncBody>");
    for i in 0..3000 {
        text.push_str(&format!("<Status><Data>v{i:05}</Data><Cmd>v{i:05}</Cmd></Status>"));
    }
    text.push_str("</SyncBody></SyncML>");
    let p = Profile { string_table: true, ..Profile::libwbxml() };
    let e = tree::xml_text_to_wbxml(&text, xml::Mode::Strict, &p).unwrap_err();
    assert_eq!(e, tree::ConvertError::TooMany { what: "string-table entries", max: 1024 });
    // Without the table it is just a big message.
    assert!(tree::xml_text_to_wbxml(&text, xml::Mode::Strict, &Profile::libwbxml()).is_ok());
}

//! The OMA DM corpus (`../shared/corpus/omadm`) through the WBXML, XML and tree layers, and differential
//! tests against libwbxml 0.11.8's `xml2wbxml` / `wbxml2xml` (run through `testdata::peer_tool`).

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::path::{Path, PathBuf};
use std::process::Command;

use m2msim_codec::syncml::tree::{self, Document, EmptyData, Profile, XmlStyle};
use m2msim_codec::testdata::{peer_tool, shared_dir};
use m2msim_codec::{Decode, Encode, wbxml, xml};

/// The AOSP UI-alert server scripts: raw `&` in `Data`, not well-formed XML (libwbxml cannot read them).
const NOT_WELL_FORMED: [&str; 8] = [
    "aosp_dm11_testalertconfirm_request.xml",
    "aosp_dm11_testalertmultiplechoice_request.xml",
    "aosp_dm11_testalertsinglechoice_request.xml",
    "aosp_dm11_testalerttextinput_request.xml",
    "aosp_dm12_testalertconfirm_request.xml",
    "aosp_dm12_testalertmultiplechoice_request.xml",
    "aosp_dm12_testalertsinglechoice_request.xml",
    "aosp_dm12_testalerttextinput_request.xml",
];

/// Well-formed, but the spec's `xmlns='syncml :metinf'` typo needs lenient namespace lookup.
const LENIENT_NAMESPACE: [&str; 1] = ["omadm121spec_pro_auth_05.xml"];

fn corpus() -> Option<PathBuf> {
    shared_dir().map(|d| d.join("corpus/omadm"))
}

fn files(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()).is_some_and(|e| exts.contains(&e)))
        .collect();
    v.sort();
    v
}

fn name(p: &Path) -> &str {
    p.file_name().and_then(|n| n.to_str()).unwrap()
}

/// Every XML-ish corpus file (messages and DDF).
fn xml_files(c: &Path) -> Vec<PathBuf> {
    let mut v = files(&c.join("xml"), &["xml"]);
    v.extend(files(&c.join("ddf"), &["xml", "ddf"]));
    v
}

fn mode_for(p: &Path) -> xml::Mode {
    if NOT_WELL_FORMED.contains(&name(p)) || LENIENT_NAMESPACE.contains(&name(p)) {
        xml::Mode::Lenient
    } else {
        xml::Mode::Strict
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("m2msim-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run_tool(tool: &Path, args: &[&str], input: &Path, out: &Path) -> Option<Vec<u8>> {
    let _ = std::fs::remove_file(out);
    let status = Command::new(tool).args(args).arg("-o").arg(out).arg(input).output().unwrap();
    if !status.status.success() {
        return None;
    }
    std::fs::read(out).ok()
}

#[test]
fn every_xml_file_round_trips_losslessly() {
    let Some(c) = corpus() else { return };
    let all = xml_files(&c);
    assert!(all.len() >= 60, "corpus has {} XML files", all.len());
    for p in &all {
        let text = std::fs::read_to_string(p).unwrap();
        let strict = xml::Document::parse(&text, xml::Mode::Strict);
        if NOT_WELL_FORMED.contains(&name(p)) {
            let e = strict.expect_err(name(p));
            assert_eq!(&text[e.offset..e.offset + 1], "&", "{}: {e}", name(p));
        } else {
            let d = strict.unwrap_or_else(|e| panic!("{}: {e}", name(p)));
            assert_eq!(d.encode(), text.as_bytes(), "{}", name(p));
        }
        let d = xml::Document::parse(&text, xml::Mode::Lenient).unwrap();
        assert_eq!(d.to_string(), text, "{}", name(p));
    }
}

#[test]
fn every_wbxml_file_round_trips_losslessly() {
    let Some(c) = corpus() else { return };
    let all = files(&c.join("wbxml"), &["wbxml"]);
    assert_eq!(all.len(), 16);
    for p in &all {
        let b = std::fs::read(p).unwrap();
        let d = wbxml::Document::decode_exact(&b).unwrap_or_else(|e| panic!("{}: {e}", name(p)));
        assert_eq!(d.encode(), b, "{}", name(p));
        assert!(d.language().is_some(), "{}", name(p));
        let j = serde_json::to_string(&d).unwrap();
        let back: wbxml::Document = serde_json::from_str(&j).unwrap();
        assert_eq!(back, d);
        assert_eq!(serde_json::to_string(&back).unwrap(), j);
    }
}

#[test]
fn truncation_at_every_byte_is_an_error() {
    let Some(c) = corpus() else { return };
    for p in files(&c.join("wbxml"), &["wbxml"]) {
        let b = std::fs::read(&p).unwrap();
        for n in 0..b.len() {
            let e = wbxml::Document::decode_exact(&b[..n]).expect_err(name(&p));
            assert!(e.offset <= n, "{} cut at {n}: offset {}", name(&p), e.offset);
        }
    }
}

/// A profile under which XML → tree → WBXML → tree keeps the tree: RTK, but an empty `Data` stays bare.
fn neutral() -> Profile {
    Profile { empty_data: EmptyData::Bare, ..Profile::rtk() }
}

#[test]
fn xml_tree_wbxml_tree_xml_keeps_the_tree() {
    let Some(c) = corpus() else { return };
    for p in xml_files(&c) {
        let text = std::fs::read_to_string(&p).unwrap();
        let x = xml::Document::parse(&text, mode_for(&p)).unwrap();
        let t1 = Document::from_xml(&x).unwrap_or_else(|e| panic!("{}: {e}", name(&p)));
        let w = t1.to_wbxml(&neutral()).unwrap_or_else(|e| panic!("{}: {e}", name(&p)));
        let bytes = w.encode();
        let w2 = wbxml::Document::decode_exact(&bytes).unwrap();
        assert_eq!(w2.encode(), bytes);
        let t2 = Document::from_wbxml(&w2).unwrap_or_else(|e| panic!("{}: {e}", name(&p)));
        assert_eq!(t2, t1, "{}", name(&p));
        for style in [XmlStyle::Compact, XmlStyle::Indent(2)] {
            let out = t2.to_xml(&Profile { xml_style: style, ..neutral() }).unwrap();
            let x3 = xml::Document::parse(&out, xml::Mode::Strict)
                .unwrap_or_else(|e| panic!("{}: {e}\n{out}", name(&p)));
            assert_eq!(Document::from_xml(&x3).unwrap(), t1, "{} {style:?}", name(&p));
        }
    }
}

#[test]
fn strict_tree_rejects_the_namespace_typo() {
    let Some(c) = corpus() else { return };
    let text = std::fs::read_to_string(c.join("xml").join(LENIENT_NAMESPACE[0])).unwrap();
    let x = xml::Document::parse(&text, xml::Mode::Strict).unwrap();
    let e = Document::from_xml(&x).unwrap_err();
    let tree::ConvertError::Decode(e) = e else { panic!("{e}") };
    assert_eq!(e.offset, text.find("<Format xmlns='syncml :metinf'>").unwrap(), "{e}");
}

/// Files where `xml2wbxml` with a string table writes a corrupt document and we intentionally differ.
///
/// libwbxml's string-table entry for a repeated text is that text's own buffer, which the encoder strips of
/// blanks in place later; it then writes the stripped strings under the unstripped table length (here
/// `"\n  *"` twice → length 5, bytes `2A 00`), so its output is not valid WBXML. We emit the same body tokens
/// (`STR_T` where libwbxml has them) with the table as declared, which is valid.
const CORRUPT_STRING_TABLE: [&str; 1] = ["omadm121spec_reppro_markup_04.xml"];

/// What libwbxml writes instead of our valid document: every string-table entry stripped of blanks, the
/// declared length unchanged.
fn libwbxml_corrupt_table(ours: &wbxml::Document) -> Vec<u8> {
    let bytes = ours.encode();
    let table_at = ours.header_len() - ours.string_table.len();
    let mut stripped = Vec::new();
    for entry in ours.string_table.split_inclusive(|&b| b == 0) {
        let s = entry.strip_suffix(&[0]).unwrap_or(entry);
        let start = s.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(s.len());
        let end = s.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(start, |e| e + 1);
        stripped.extend_from_slice(&s[start..end]);
        stripped.push(0);
    }
    [&bytes[..table_at], &stripped[..], &bytes[ours.header_len()..]].concat()
}

/// Our libwbxml profile against `xml2wbxml` for every well-formed corpus XML file.
fn xml2wbxml_differential(args: &[&str], profile: &Profile, tag: &str) {
    let Some(c) = corpus() else { return };
    let Some(tool) = peer_tool("xml2wbxml") else { return };
    let tmp = TempDir::new(tag);
    let out = tmp.0.join("out.wbxml");
    let mut checked = 0;
    let mut differ = Vec::new();
    for p in xml_files(&c) {
        if NOT_WELL_FORMED.contains(&name(&p)) {
            // libwbxml cannot parse them either.
            assert!(run_tool(&tool, args, &p, &out).is_none(), "{}", name(&p));
            continue;
        }
        let want =
            run_tool(&tool, args, &p, &out).unwrap_or_else(|| panic!("xml2wbxml failed on {}", name(&p)));
        let text = std::fs::read_to_string(&p).unwrap();
        let x = xml::Document::parse(&text, mode_for(&p)).unwrap();
        let doc = tree::xml_to_wbxml(&x, profile).unwrap_or_else(|e| panic!("{}: {e}", name(&p)));
        let got = doc.encode();
        assert_eq!(tree::xml_to_wbxml_bytes(&x, profile).unwrap(), got, "{}: bytes", name(&p));
        assert_eq!(
            tree::xml_text_to_wbxml(&text, mode_for(&p), profile).unwrap(),
            got,
            "{}: fast path",
            name(&p)
        );
        if profile.string_table && CORRUPT_STRING_TABLE.contains(&name(&p)) {
            assert_ne!(got, want, "{}: libwbxml fixed?", name(&p));
            assert_eq!(libwbxml_corrupt_table(&doc), want, "{}", name(&p));
            assert!(wbxml::Document::decode_exact(&want).is_err());
            assert_eq!(wbxml::Document::decode_exact(&got).unwrap(), doc);
            checked += 1;
            continue;
        }
        if got != want {
            eprintln!(
                "DIFF {} {args:?}\n ours   {}\n theirs {}",
                name(&p),
                hex::encode(&got),
                hex::encode(&want)
            );
            differ.push(name(&p).to_owned());
        }
        checked += 1;
    }
    assert!(checked >= 55, "{checked}");
    assert!(differ.is_empty(), "{differ:?}");
}

#[test]
fn libwbxml_profile_equals_xml2wbxml_n_v12() {
    xml2wbxml_differential(&["-n", "-v", "1.2"], &Profile::libwbxml(), "x2w-n");
}

#[test]
fn libwbxml_profile_with_string_table_equals_xml2wbxml_v12() {
    xml2wbxml_differential(&["-v", "1.2"], &Profile { string_table: true, ..Profile::libwbxml() }, "x2w-t");
}

#[test]
fn libwbxml_profile_keep_whitespace_equals_xml2wbxml_k() {
    xml2wbxml_differential(
        &["-k", "-n", "-v", "1.3"],
        &Profile { keep_whitespace: true, wbxml_version: 3, ..Profile::libwbxml() },
        "x2w-k",
    );
}

/// Our libwbxml profile against `wbxml2xml` for the corpus WBXML and for libwbxml's own encodings of the
/// corpus XML (those carry nested DDF documents, OPAQUE data and string tables).
fn wbxml2xml_differential(args: &[&str], profile: &Profile, tag: &str) {
    let Some(c) = corpus() else { return };
    let Some(to_xml) = peer_tool("wbxml2xml") else { return };
    let Some(to_wbxml) = peer_tool("xml2wbxml") else { return };
    let tmp = TempDir::new(tag);
    let mut inputs: Vec<(String, Vec<u8>)> = files(&c.join("wbxml"), &["wbxml"])
        .iter()
        .map(|p| (name(p).to_owned(), std::fs::read(p).unwrap()))
        .collect();
    for p in xml_files(&c) {
        for enc in [&["-n", "-v", "1.2"][..], &["-v", "1.3"][..]] {
            if let Some(b) = run_tool(&to_wbxml, enc, &p, &tmp.0.join("in.wbxml")) {
                inputs.push((format!("{} {enc:?}", name(&p)), b));
            }
        }
    }
    assert!(inputs.len() > 100);
    let input = tmp.0.join("in.wbxml");
    let out = tmp.0.join("out.xml");
    let mut differ = Vec::new();
    for (n, b) in inputs {
        std::fs::write(&input, &b).unwrap();
        let want = run_tool(&to_xml, args, &input, &out).unwrap_or_else(|| panic!("wbxml2xml failed on {n}"));
        let d = match wbxml::Document::decode_exact(&b) {
            Ok(d) => d,
            Err(e) => {
                // Only libwbxml's own corrupt string-table encodings (see CORRUPT_STRING_TABLE) do not decode.
                assert!(
                    CORRUPT_STRING_TABLE.iter().any(|c| n.starts_with(c)) && n.ends_with("[\"-v\", \"1.3\"]"),
                    "{n}: {e}"
                );
                continue;
            }
        };
        assert_eq!(d.encode(), b, "{n}: lossless");
        let got = tree::wbxml_to_xml(&d, profile).unwrap_or_else(|e| panic!("{n}: {e}"));
        assert_eq!(tree::wbxml_bytes_to_xml(&b, profile).unwrap(), got, "{n}: fast path");
        if got.as_bytes() != want {
            eprintln!("DIFF {n} {args:?}\n ours   {got}\n theirs {}", String::from_utf8_lossy(&want));
            differ.push(n);
        }
    }
    assert!(differ.is_empty(), "{differ:?}");
}

#[test]
fn libwbxml_profile_equals_wbxml2xml_m0() {
    wbxml2xml_differential(&["-m", "0"], &Profile::libwbxml(), "w2x-0");
}

#[test]
fn libwbxml_profile_indent_equals_wbxml2xml_m1() {
    wbxml2xml_differential(
        &["-m", "1", "-i", "2"],
        &Profile { xml_style: XmlStyle::Indent(2), ..Profile::libwbxml() },
        "w2x-1",
    );
}

/// AOSP WBXML files the RTK profile does not reproduce: the DM 1.1 server test scripts were written by a
/// tool that put repeated strings (and an unused `syncml:metinf`) in a string table with `STR_T` references;
/// that table layout is not the RTK's and not reproducible from the content.
const NOT_RTK_STRING_TABLE: [&str; 4] = [
    "aosp_dm11_add_request.wbxml",
    "aosp_dm11_delete_request.wbxml",
    "aosp_dm11_get_request.wbxml",
    "aosp_dm11_replace_request.wbxml",
];

#[test]
fn rtk_profile_reproduces_the_real_aosp_wbxml() {
    let Some(c) = corpus() else { return };
    let mut reproduced = 0;
    for p in files(&c.join("wbxml"), &["wbxml"]) {
        let b = std::fs::read(&p).unwrap();
        let d = wbxml::Document::decode_exact(&b).unwrap();
        let t = Document::from_wbxml(&d).unwrap_or_else(|e| panic!("{}: {e}", name(&p)));
        let form = match d.public_id {
            wbxml::PublicId::Numeric(_) => tree::PublicIdForm::Numeric,
            wbxml::PublicId::StringTable { .. } if d.string_table.last() == Some(&0) => {
                tree::PublicIdForm::StringTable
            }
            wbxml::PublicId::StringTable { .. } => tree::PublicIdForm::StringTableUnterminated,
        };
        let profile = Profile { wbxml_version: d.version, public_id: form, ..Profile::rtk() };
        let ours = t.to_wbxml(&profile).unwrap().encode();
        if NOT_RTK_STRING_TABLE.contains(&name(&p)) {
            assert_ne!(ours, b, "{}", name(&p));
            // The same tree all the same (that tool wrote an empty `Data` bare, `0F`).
            let bare = t.to_wbxml(&Profile { empty_data: EmptyData::Bare, ..profile }).unwrap().encode();
            assert_eq!(Document::from_wbxml(&wbxml::Document::decode_exact(&bare).unwrap()).unwrap(), t);
        } else {
            assert_eq!(hex::encode(&ours), hex::encode(&b), "{}", name(&p));
            reproduced += 1;
        }
    }
    assert_eq!(reproduced, 12);
}

#[test]
fn rtk_profile_defaults_match_the_aosp_client_header() {
    let Some(c) = corpus() else { return };
    // The client's packets (responses) use the RTK defaults: WBXML 1.2, unterminated FPI, no other strings.
    for p in files(&c.join("wbxml"), &["wbxml"]).iter().filter(|p| name(p).contains("_response")) {
        let b = std::fs::read(p).unwrap();
        let t = Document::from_wbxml(&wbxml::Document::decode_exact(&b).unwrap()).unwrap();
        assert_eq!(t.to_wbxml(&Profile::rtk()).unwrap().encode(), b, "{}", name(p));
    }
}

#[test]
fn rtk_profile_reproduces_the_real_aosp_xml_responses() {
    let Some(c) = corpus() else { return };
    let mut n = 0;
    for p in files(&c.join("xml"), &["xml"])
        .iter()
        .filter(|p| name(p).starts_with("aosp") && name(p).contains("_response"))
    {
        let text = std::fs::read_to_string(p).unwrap();
        let t = Document::from_xml(&xml::Document::parse(&text, xml::Mode::Strict).unwrap()).unwrap();
        // The corpus copies end with the newline of the log line they were cut from.
        assert_eq!(t.to_xml(&Profile::rtk()).unwrap(), text.strip_suffix('\n').unwrap(), "{}", name(p));
        n += 1;
    }
    assert_eq!(n, 19);
}

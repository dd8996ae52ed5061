//! Runs the corpus WBXML ↔ XML conversions (libwbxml profile) in a loop, for instruction counts under
//! callgrind (deterministic, unlike timings on a shared machine):
//!
//! `valgrind --tool=callgrind --toggle-collect='*wbxml_convert_loop::run*' \
//!    target/release/examples/wbxml_convert_loop w2x 100`
//!
//! Arguments: `w2x` (WBXML → XML), `x2w` (XML → WBXML) or `both`, then the number of rounds over the 16
//! packets, then `rtk` for the RTK profile (default: libwbxml). Prints the number of messages converted and the output bytes (so the work is not optimised out).

#![allow(clippy::unwrap_used, clippy::expect_used)] // example code over known-good corpus files

use m2msim_codec::syncml::tree::{self, Profile};
use m2msim_codec::testdata::shared_dir;
use m2msim_codec::xml;

fn packets() -> Vec<Vec<u8>> {
    let Some(dir) = shared_dir() else { return Vec::new() };
    let mut files: Vec<_> = std::fs::read_dir(dir.join("corpus/omadm/wbxml"))
        .expect("corpus dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wbxml"))
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).expect("corpus file")).collect()
}

#[inline(never)]
fn run_w2x(wbxml_in: &[Vec<u8>], rounds: usize, p: &Profile) -> (usize, usize) {
    let (mut n, mut bytes) = (0, 0);
    for _ in 0..rounds {
        for w in wbxml_in {
            bytes += std::hint::black_box(tree::wbxml_bytes_to_xml(w, p).expect("convert")).len();
            n += 1;
        }
    }
    (n, bytes)
}

#[inline(never)]
fn run_x2w(xml_in: &[String], rounds: usize, p: &Profile) -> (usize, usize) {
    let (mut n, mut bytes) = (0, 0);
    for _ in 0..rounds {
        for x in xml_in {
            bytes += std::hint::black_box(tree::xml_text_to_wbxml(x, xml::Mode::Strict, p).expect("convert"))
                .len();
            n += 1;
        }
    }
    (n, bytes)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "both".into());
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100);
    let wbxml_in = packets();
    let p = if args.next().as_deref() == Some("rtk") { Profile::rtk() } else { Profile::libwbxml() };
    let xml_in: Vec<String> =
        wbxml_in.iter().map(|w| tree::wbxml_bytes_to_xml(w, &p).expect("convert")).collect();
    if dir == "w2x" || dir == "both" {
        let (n, b) = run_w2x(&wbxml_in, rounds, &p);
        println!("w2x: {n} messages, {b} bytes out");
    }
    if dir == "x2w" || dir == "both" {
        let (n, b) = run_x2w(&xml_in, rounds, &p);
        println!("x2w: {n} messages, {b} bytes out");
    }
}

//! WBXML ↔ XML conversion speed on the 16 real AOSP WBXML packets of the corpus (libwbxml and RTK profiles),
//! and the typed model on the same packets (WBXML → typed → WBXML; command sizes).
//!
//! `cargo bench -p m2msim-codec --bench wbxml -- --warm-up-time 1 --measurement-time 3`

#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use m2msim_codec::syncml::tree::{self, Document, Profile};
use m2msim_codec::syncml::{SyncMl, Wire};
use m2msim_codec::testdata::shared_dir;
use m2msim_codec::{Decode, Encode, wbxml, xml};

fn packets() -> Vec<Vec<u8>> {
    let Some(dir) = shared_dir() else { return Vec::new() };
    let mut files: Vec<_> = std::fs::read_dir(dir.join("corpus/omadm/wbxml"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wbxml"))
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn bench(c: &mut Criterion) {
    let wbxml_in = packets();
    if wbxml_in.is_empty() {
        return;
    }
    let n = wbxml_in.len() as u64;
    let lw = Profile::libwbxml();
    let xml_in: Vec<String> = wbxml_in
        .iter()
        .map(|b| tree::wbxml_to_xml(&wbxml::Document::decode_exact(b).unwrap(), &lw).unwrap())
        .collect();

    let mut g = c.benchmark_group("corpus16");
    g.throughput(Throughput::Elements(n));
    g.bench_function("wbxml_to_xml/libwbxml", |b| {
        b.iter(|| {
            for w in &wbxml_in {
                std::hint::black_box(tree::wbxml_bytes_to_xml(w, &lw).unwrap());
            }
        });
    });
    g.bench_function("xml_to_wbxml/libwbxml", |b| {
        b.iter(|| {
            for x in &xml_in {
                std::hint::black_box(tree::xml_text_to_wbxml(x, xml::Mode::Strict, &lw).unwrap());
            }
        });
    });
    let rtk = Profile::rtk();
    g.bench_function("wbxml_to_xml/rtk", |b| {
        b.iter(|| {
            for w in &wbxml_in {
                let d = wbxml::Document::decode_exact(w).unwrap();
                std::hint::black_box(tree::wbxml_to_xml(&d, &rtk).unwrap());
            }
        });
    });
    g.bench_function("xml_to_wbxml/rtk", |b| {
        b.iter(|| {
            for x in &xml_in {
                let d = xml::Document::parse(x, xml::Mode::Strict).unwrap();
                std::hint::black_box(Document::from_xml(&d).unwrap().to_wbxml(&rtk).unwrap().encode());
            }
        });
    });
    // The typed model: WBXML bytes → typed message (with its dialect) → WBXML bytes in that dialect.
    g.bench_function("typed/wbxml_to_typed_to_wbxml", |b| {
        b.iter(|| {
            for w in &wbxml_in {
                let d = SyncMl::decode(w, xml::Mode::Strict).unwrap();
                std::hint::black_box(d.message.encode(&d.wire).unwrap());
            }
        });
    });
    let typed: Vec<(SyncMl, Wire)> = wbxml_in
        .iter()
        .map(|w| {
            let d = SyncMl::decode(w, xml::Mode::Strict).unwrap();
            (d.message, d.wire)
        })
        .collect();
    g.bench_function("typed/command_len", |b| {
        b.iter(|| {
            for (m, wire) in &typed {
                for c in &m.body.commands {
                    std::hint::black_box(m.command_len(c, wire).unwrap());
                }
            }
        });
    });
    g.bench_function("wbxml_decode_encode", |b| {
        b.iter(|| {
            for w in &wbxml_in {
                std::hint::black_box(wbxml::Document::decode_exact(w).unwrap().encode());
            }
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

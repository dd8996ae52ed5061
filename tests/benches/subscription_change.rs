//! The S3-090907 Alt 3a change A -> B over 10,000 simulated devices: IMSI list, MNO A's OTA campaign
//! (IMSI change + REFRESH, every PoR verified), the sealed handover, MNO B's AKA with resynchronisation,
//! the PUT KEY roll and the check that A's keys are refused. Personalisation is set-up, not measured.
//! Reported as devices/s (criterion's elements/s).
//!
//! `cargo bench -p m2msim-scenarios --bench subscription_change`
#![allow(clippy::unwrap_used)] // bench code

use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use m2msim_scenarios::subscription_change::{Alt, Options, Scenario};

const DEVICES: usize = 10_000;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("subscription_change");
    g.sample_size(10).measurement_time(Duration::from_secs(20)).warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Elements(DEVICES as u64));
    g.bench_function("alt_3a_a_to_b_10k_devices", |b| {
        b.iter_batched(
            || {
                let mut s = Scenario::new(Options::new(Alt::A3a, DEVICES), |_| {});
                s.personalise().unwrap();
                s
            },
            |mut s| {
                s.change_3a(0, 1).unwrap();
                assert_eq!(s.summary().moved.get("MNO-A -> MNO-B"), Some(&DEVICES));
                s
            },
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

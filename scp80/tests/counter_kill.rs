//! Kill test of [`FileCounterStore`]: a child process (this same test binary, started with
//! `M2MSIM_COUNTER_KILL_CHILD` set) reserves replay counters in a loop and prints each value after it got
//! it; the parent SIGKILLs it at a random moment, starts it again on the same directory, and checks that no
//! value is ever printed twice and that values only grow across runs. Runs with a block of 1 and of 8.
//!
//! The random moments come from a seed printed at the start; set `M2MSIM_COUNTER_KILL_SEED` to replay one.

// A test binary with its own `main` (harness = false): clippy does not see it as a test, but panicking on any
// unexpected error is exactly what it should do.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::num::NonZeroU64;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use m2msim_scp80::counter::{CardId, CounterStore as _, FileCounterStore};
use m2msim_scp80::keys::Kvn;

const CHILD_ENV: &str = "M2MSIM_COUNTER_KILL_CHILD";
const BLOCK_ENV: &str = "M2MSIM_COUNTER_KILL_BLOCK";
const SEED_ENV: &str = "M2MSIM_COUNTER_KILL_SEED";
const CARD: &str = "89490200001234567890";
const ROUNDS: usize = 8;

fn main() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir);
    } else {
        parent();
    }
}

/// Reserves on KVN 1 and 2 in turn, forever, printing `kvn value` after each reservation returned.
fn child(dir: &str) {
    let block: u64 = std::env::var(BLOCK_ENV).ok().and_then(|b| b.parse().ok()).unwrap_or(1);
    let store = FileCounterStore::with_block(dir, NonZeroU64::new(block).unwrap()).unwrap();
    let card = CardId::new(CARD).unwrap();
    let kvns = [Kvn::new(1).unwrap(), Kvn::new(2).unwrap()];
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for i in 0usize.. {
        let kvn = kvns[i % 2];
        let value = store.reserve(&card, kvn).unwrap();
        writeln!(out, "{} {}", kvn.get(), value.get()).unwrap();
        out.flush().unwrap();
    }
}

/// xorshift64*: enough to pick kill moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Kills the child if the parent panics half-way.
struct Guard(Option<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn parent() {
    let seed = std::env::var(SEED_ENV).ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
        (t.as_nanos() as u64) ^ u64::from(std::process::id()) | 1
    });
    println!("counter kill test: seed {seed} (set {SEED_ENV} to replay)");
    let mut rng = Rng(seed);
    let exe = std::env::current_exe().unwrap();
    for block in [1u64, 8] {
        let dir = tempfile::tempdir().unwrap();
        let mut last: HashMap<u8, u64> = HashMap::new();
        let mut total = 0usize;
        for round in 0..ROUNDS {
            let child = Command::new(&exe)
                .env(CHILD_ENV, dir.path())
                .env(BLOCK_ENV, block.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap();
            let mut guard = Guard(Some(child));
            let stdout = guard.0.as_mut().unwrap().stdout.take().unwrap();
            let mut lines = BufReader::new(stdout).lines();
            // Let it hand out 1..=120 values, then kill it 0..3 ms later, wherever it is.
            let target = 1 + rng.below(120) as usize;
            let mut got = Vec::new();
            for line in lines.by_ref() {
                got.push(line.unwrap());
                if got.len() == target {
                    break;
                }
            }
            assert_eq!(got.len(), target, "block {block} round {round}: the child stopped by itself");
            std::thread::sleep(Duration::from_micros(rng.below(3000)));
            let mut child = guard.0.take().unwrap();
            child.kill().unwrap(); // SIGKILL on Unix
            // What it printed before dying was handed out too.
            got.extend(lines.map_while(Result::ok));
            let status = child.wait().unwrap();
            assert!(!status.success(), "block {block} round {round}: child exited normally");
            for line in &got {
                let (k, v) = line.split_once(' ').unwrap_or_else(|| panic!("bad line {line:?}"));
                let (k, v): (u8, u64) = (k.parse().unwrap(), v.parse().unwrap());
                let prev = last.insert(k, v).unwrap_or(0);
                assert!(
                    v > prev,
                    "block {block} round {round}: KVN {k} value {v} handed out after {prev} (duplicate or backwards)"
                );
                total += 1;
            }
        }
        // A store opened afterwards continues above everything that was handed out.
        let store = FileCounterStore::with_block(dir.path(), NonZeroU64::new(block).unwrap()).unwrap();
        let card = CardId::new(CARD).unwrap();
        for (k, v) in &last {
            let next = store.reserve(&card, Kvn::new(*k).unwrap()).unwrap().get();
            assert!(next > *v, "block {block}: KVN {k} restarted at {next} after {v}");
        }
        println!("block {block}: {ROUNDS} kills, {total} values handed out, none twice; last {last:?}");
    }
    println!("counter kill test: ok");
}

//! Replay counters (CNTR) of SCP80 secured packets: ETSI TS 102 225 §5.1.1 (the 5-byte CNTR field) and the
//! counter management of the SPI (b5b4: no counter, counter without check, counter higher than the RE's,
//! counter one higher than the RE's).
//!
//! - [`Counter`]: a 40-bit counter value (`00 00 00 00 00` ..= `FF FF FF FF FF`), big-endian on the wire.
//! - [`CardId`]: the card a counter belongs to (an ICCID, or any short id; see its rules).
//! - [`CounterStore`]: counters per (card, KVN). The sending entity calls [`CounterStore::reserve`], which
//!   never hands out the same value twice and refuses to go past `FF FF FF FF FF` (the counter must never
//!   wrap: a card whose counter reached the maximum answers "CNTR blocked"). The receiving entity (a card
//!   simulator) uses [`CounterStore::current`] and [`CounterStore::set`].
//! - [`MemoryCounterStore`]: in memory, for tests and simulations.
//! - [`FileCounterStore`]: one small file per (card, KVN), replaced atomically and durably (temporary file,
//!   fsync, rename, fsync of the directory) BEFORE a value is returned, so that a crash or a kill never
//!   makes it hand out a value twice.
//!
//! # Counter file format
//!
//! `<dir>/<card>.kvn<NN>.cntr` (NN = KVN in two decimal digits) holds exactly 10 hex digits (written in lower
//! case, read in either) and a newline: the highest value that may have been handed out (or, on the card
//! side, the value last set). A missing file means 0 (never used), so the first reserved value is `00 00 00 00 01`. A file with any
//! other content is reported as corrupt, never silently reset. `*.tmp` files are leftovers of an
//! interrupted write and are ignored (overwritten by the next write).
//!
//! # Reserving in blocks
//!
//! [`FileCounterStore::with_block`] persists a high-water mark `block` values ahead and then hands out the
//! values below it from memory, so that only one write in `block` reserves touches the disk. After a
//! restart the store continues above the persisted mark: values that were reserved in memory but never
//! handed out are skipped. Gaps are harmless when the card checks "counter higher than the RE's" (SPI
//! b5b4 = 10) but break "counter one higher" (b5b4 = 11): use a block of 1 (the default) for such cards.
//!
//! # Batches
//!
//! [`CounterStore::reserve_many`] on a [`FileCounterStore`] writes the temporary files of every counter
//! the batch moves past its mark, then syncs them, renames them and syncs the directory once: the same
//! durability as one [`CounterStore::reserve`] per counter (nothing is handed out before its mark is on
//! disk) at a fraction of the flushes.
//!
//! One directory must be used by one store in one process at a time; the store serialises its own threads
//! but takes no lock against other processes.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read as _, Write as _};
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::keys::Kvn;

/// A replay counter value: 5 bytes, big-endian (TS 102 225 §5.1.1 CNTR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Counter(u64);

impl Counter {
    /// `00 00 00 00 00`.
    pub const ZERO: Self = Self(0);
    /// `FF FF FF FF FF`.
    pub const MAX: Self = Self(0xFF_FFFF_FFFF);

    /// The counter with this value, or `None` above [`Counter::MAX`].
    #[must_use]
    pub const fn new(value: u64) -> Option<Self> {
        if value <= Self::MAX.0 { Some(Self(value)) } else { None }
    }

    /// The value.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }

    /// From the 5 CNTR bytes.
    #[must_use]
    pub const fn from_bytes(b: [u8; 5]) -> Self {
        Self(u64::from_be_bytes([0, 0, 0, b[0], b[1], b[2], b[3], b[4]]))
    }

    /// The 5 CNTR bytes.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; 5] {
        let b = self.0.to_be_bytes();
        [b[3], b[4], b[5], b[6], b[7]]
    }

    /// The next value, or `None` after [`Counter::MAX`] (counters never wrap).
    #[must_use]
    pub const fn next(self) -> Option<Self> {
        Self::new(self.0 + 1)
    }
}

impl fmt::Display for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:010x}", self.0)
    }
}

/// Serialised as the 5 bytes in hex (`"0000000001"`).
impl Serialize for Counter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        m2msim_codec::hexser::serialize(&self.to_bytes(), s)
    }
}

impl<'de> Deserialize<'de> for Counter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        m2msim_codec::hexser::array::deserialize::<D, 5>(d).map(Self::from_bytes)
    }
}

/// The card a counter belongs to: 1 to 64 characters from `0-9 A-Z a-z - _ .`, not starting with `.`
/// (so that it is a safe file name). An ICCID in digits is the usual choice.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CardId(String);

impl CardId {
    /// Checks the rules.
    ///
    /// # Errors
    /// [`CounterError::InvalidCardId`].
    pub fn new(id: impl Into<String>) -> Result<Self, CounterError> {
        let id = id.into();
        if id.is_empty() || id.len() > 64 {
            return Err(CounterError::InvalidCardId { reason: "must be 1 to 64 characters" });
        }
        if id.starts_with('.') {
            return Err(CounterError::InvalidCardId { reason: "must not start with '.'" });
        }
        if !id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
            return Err(CounterError::InvalidCardId {
                reason: "only 0-9, A-Z, a-z, '-', '_' and '.' are allowed",
            });
        }
        Ok(Self(id))
    }

    /// The id.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CardId {
    type Error = CounterError;
    fn try_from(s: String) -> Result<Self, CounterError> {
        Self::new(s)
    }
}

impl From<CardId> for String {
    fn from(c: CardId) -> String {
        c.0
    }
}

impl fmt::Display for CardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Errors of the counter stores.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CounterError {
    /// `FF FF FF FF FF` was already handed out: the counter cannot go further (it never wraps).
    #[error("the replay counter of card {card} KVN {kvn} is exhausted (FF FF FF FF FF was reached)")]
    Exhausted {
        /// The card.
        card: CardId,
        /// The key version.
        kvn: Kvn,
    },
    /// A card id that breaks the [`CardId`] rules.
    #[error("invalid card id: {reason}")]
    InvalidCardId {
        /// Which rule.
        reason: &'static str,
    },
    /// A counter file could not be read, written or synced.
    #[error("counter file {}: {source}", path.display())]
    Io {
        /// The file (or directory).
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A counter file holds something other than 10 hex digits and a newline.
    #[error("counter file {} is corrupt: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Replay counters per (card, KVN).
///
/// Implementations are shared between threads (`&self` methods) and must never return the same value
/// twice from [`reserve`](Self::reserve), across restarts included when they persist.
pub trait CounterStore: Send + Sync {
    /// Sending side: the next counter value for a packet to `card` with keyset `kvn`, persisted (where the
    /// store persists) before it is returned. The first value is `00 00 00 00 01`.
    ///
    /// # Errors
    /// [`CounterError::Exhausted`] once `FF FF FF FF FF` has been handed out; I/O errors (then no value was
    /// handed out).
    fn reserve(&self, card: &CardId, kvn: Kvn) -> Result<Counter, CounterError>;

    /// Sending side, many packets at once: for each (card, KVN) of `requests`, in order, the value
    /// [`reserve`](Self::reserve) would give (a pair named twice gets two successive values), each persisted
    /// before this returns. One result per request; a failed request hands out nothing.
    ///
    /// The default reserves one by one. [`FileCounterStore`] writes every file the batch needs before it
    /// syncs them, so that a batch costs about one disk flush instead of one per card (the OTA campaign
    /// engine reserves the counters of all the packets it is about to send in one call).
    fn reserve_many(&self, requests: &[(&CardId, Kvn)]) -> Vec<Result<Counter, CounterError>> {
        requests.iter().map(|(card, kvn)| self.reserve(card, *kvn)).collect()
    }

    /// The highest value handed out or set so far ([`Counter::ZERO`] when never used). For a file store
    /// with blocks, after a restart this is the persisted high-water mark.
    ///
    /// # Errors
    /// I/O or corrupt-file errors.
    fn current(&self, card: &CardId, kvn: Kvn) -> Result<Counter, CounterError>;

    /// Receiving side (the card's RE value): stores `value` as the current counter, persisted before it
    /// returns. It may lower the counter; on the sending side that would break the uniqueness of
    /// [`reserve`](Self::reserve), so use it there only to move forward (e.g. after a PoR "CNTR low").
    ///
    /// # Errors
    /// I/O errors.
    fn set(&self, card: &CardId, kvn: Kvn, value: Counter) -> Result<(), CounterError>;

    /// Receiving side, in one step: reads the current counter of (`card`, `kvn`) as
    /// [`current`](Self::current) does, gives it to `accept`, and when `accept` returns true stores `value`
    /// as [`set`](Self::set) does (persisted before this returns). Returns whether `value` was stored.
    ///
    /// The default calls [`current`](Self::current) then [`set`](Self::set); [`MemoryCounterStore`] does
    /// both under one lock and one lookup (the card checks and stores a counter for every packet).
    ///
    /// # Errors
    /// As [`current`](Self::current) (then `accept` is not called) and [`set`](Self::set).
    fn check_and_set(
        &self,
        card: &CardId,
        kvn: Kvn,
        value: Counter,
        accept: &mut dyn FnMut(Counter) -> bool,
    ) -> Result<bool, CounterError> {
        if !accept(self.current(card, kvn)?) {
            return Ok(false);
        }
        self.set(card, kvn, value)?;
        Ok(true)
    }

    /// A handle on the counters of `card` that a receiving entity keeps and uses instead of
    /// [`check_and_set`](Self::check_and_set) for every packet (no lookup by card id, no store-wide lock);
    /// `None` (the default) when the store has none, e.g. because it persists. Whatever goes through the
    /// handle is what the store's own methods see for `card`, and the other way round.
    fn card_counters(&self, card: &CardId) -> Option<Arc<CardCounters>> {
        let _ = card;
        None
    }
}

/// The in-memory replay counters of one card, KVN 1..=15 (index 0 unused), shared by a
/// [`MemoryCounterStore`] and the handles [`CounterStore::card_counters`] gives out. Lock-free: every
/// operation is one atomic read-modify-write on the counter's own word.
#[derive(Debug, Default)]
pub struct CardCounters {
    values: [AtomicU64; 16],
}

impl CardCounters {
    fn slot(&self, kvn: Kvn) -> Option<&AtomicU64> {
        self.values.get(usize::from(kvn.get()))
    }

    /// The next value for `kvn` ([`CounterStore::reserve`]); `None` once `FF FF FF FF FF` was handed out.
    fn reserve(&self, kvn: Kvn) -> Option<Counter> {
        let slot = self.slot(kvn)?;
        let before =
            slot.fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| Counter(v).next().map(|n| n.0));
        before.ok().and_then(|v| Counter(v).next())
    }

    /// The current value of `kvn` ([`CounterStore::current`]).
    #[must_use]
    pub fn current(&self, kvn: Kvn) -> Counter {
        Counter(self.slot(kvn).map_or(0, |s| s.load(Ordering::Acquire)))
    }

    /// Stores `value` as the counter of `kvn` ([`CounterStore::set`]).
    pub fn set(&self, kvn: Kvn, value: Counter) {
        if let Some(s) = self.slot(kvn) {
            s.store(value.0, Ordering::Release);
        }
    }

    /// [`CounterStore::check_and_set`] on this card: gives the current value of `kvn` to `accept` and
    /// stores `value` when it returns true, atomically (a compare-and-swap: when another thread changed the
    /// counter in between, `accept` is asked again with the new value, so that it always judged the value
    /// that is replaced). Returns whether `value` was stored.
    pub fn check_and_set(&self, kvn: Kvn, value: Counter, accept: &mut dyn FnMut(Counter) -> bool) -> bool {
        let Some(slot) = self.slot(kvn) else { return false };
        let mut current = slot.load(Ordering::Acquire);
        loop {
            if !accept(Counter(current)) {
                return false;
            }
            match slot.compare_exchange_weak(current, value.0, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The state is only changed after a successful write, so a panic elsewhere cannot leave it half-done.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Counters in memory (tests, simulations): lost when dropped.
///
/// Per card, the counters of KVN 1..=15 sit in one shared [`CardCounters`], so that a lookup compares the
/// card id once and clones nothing, and a card simulator can keep the handle
/// ([`CounterStore::card_counters`]) and skip the lookup altogether (it checks and stores a counter for
/// every packet).
#[derive(Debug, Default)]
pub struct MemoryCounterStore {
    values: Mutex<BTreeMap<CardId, Arc<CardCounters>>>,
}

impl MemoryCounterStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The counters of `card`, created (all zero) on first use.
    fn card(&self, card: &CardId) -> Arc<CardCounters> {
        let mut values = lock(&self.values);
        if let Some(c) = values.get(card) {
            return Arc::clone(c);
        }
        Arc::clone(values.entry(card.clone()).or_default())
    }
}

impl CounterStore for MemoryCounterStore {
    fn reserve(&self, card: &CardId, kvn: Kvn) -> Result<Counter, CounterError> {
        self.card(card).reserve(kvn).ok_or_else(|| CounterError::Exhausted { card: card.clone(), kvn })
    }

    fn current(&self, card: &CardId, kvn: Kvn) -> Result<Counter, CounterError> {
        let values = lock(&self.values);
        Ok(values.get(card).map_or(Counter::ZERO, |c| c.current(kvn)))
    }

    fn set(&self, card: &CardId, kvn: Kvn, value: Counter) -> Result<(), CounterError> {
        self.card(card).set(kvn, value);
        Ok(())
    }

    fn check_and_set(
        &self,
        card: &CardId,
        kvn: Kvn,
        value: Counter,
        accept: &mut dyn FnMut(Counter) -> bool,
    ) -> Result<bool, CounterError> {
        // One atomic compare-and-swap on the card's counter (created at zero on first use).
        Ok(self.card(card).check_and_set(kvn, value, accept))
    }

    fn card_counters(&self, card: &CardId) -> Option<Arc<CardCounters>> {
        Some(self.card(card))
    }
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The last value handed out (or set).
    last: u64,
    /// The value persisted on disk: every value up to it may have been handed out.
    mark: u64,
}

/// Counters in files, one per (card, KVN), written crash-safely before a value is returned. See the module
/// docs for the file format and block reservation.
#[derive(Debug)]
pub struct FileCounterStore {
    dir: PathBuf,
    block: u64,
    slots: Mutex<HashMap<(CardId, Kvn), Slot>>,
}

impl FileCounterStore {
    /// A store in `dir` (created if missing) that persists every reserved value (block of 1).
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, CounterError> {
        Self::with_block(dir, NonZeroU64::MIN)
    }

    /// A store in `dir` that persists a high-water mark `block` values ahead (see the module docs).
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn with_block(dir: impl Into<PathBuf>, block: NonZeroU64) -> Result<Self, CounterError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|source| CounterError::Io { path: dir.clone(), source })?;
        Ok(Self { dir, block: block.get(), slots: Mutex::new(HashMap::new()) })
    }

    /// The directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds the counter of (`card`, `kvn`).
    #[must_use]
    pub fn path_for(&self, card: &CardId, kvn: Kvn) -> PathBuf {
        self.dir.join(format!("{}.kvn{:02}.cntr", card.as_str(), kvn.get()))
    }

    fn read(&self, card: &CardId, kvn: Kvn) -> Result<u64, CounterError> {
        let path = self.path_for(card, kvn);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(source) => return Err(CounterError::Io { path, source }),
        };
        // Read at most one byte more than a valid file holds.
        let mut buf = Vec::with_capacity(12);
        file.take(12)
            .read_to_end(&mut buf)
            .map_err(|source| CounterError::Io { path: path.clone(), source })?;
        let digits = match buf.as_slice() {
            [d @ .., b'\n'] if d.len() == 10 => d,
            _ => return Err(CounterError::Corrupt { path, reason: "expected 10 hex digits and a newline" }),
        };
        let text = std::str::from_utf8(digits)
            .map_err(|_| CounterError::Corrupt { path: path.clone(), reason: "not text" })?;
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CounterError::Corrupt { path, reason: "not hex" });
        }
        u64::from_str_radix(text, 16).map_err(|_| CounterError::Corrupt { path, reason: "not hex" })
    }

    fn write(&self, card: &CardId, kvn: Kvn, value: u64) -> Result<(), CounterError> {
        let path = self.path_for(card, kvn);
        let mut tmp_name = path.clone().into_os_string();
        tmp_name.push(".tmp");
        let tmp = PathBuf::from(tmp_name);
        let io_err = |p: &Path| {
            let p = p.to_owned();
            move |source| CounterError::Io { path: p, source }
        };
        {
            let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
            f.write_all(format!("{value:010x}\n").as_bytes()).map_err(io_err(&tmp))?;
            f.sync_all().map_err(io_err(&tmp))?;
        }
        fs::rename(&tmp, &path).map_err(io_err(&path))?;
        sync_dir(&self.dir).map_err(io_err(&self.dir))
    }

    fn slot<'a>(
        &self,
        slots: &'a mut HashMap<(CardId, Kvn), Slot>,
        card: &CardId,
        kvn: Kvn,
    ) -> Result<&'a mut Slot, CounterError> {
        let key = (card.clone(), kvn);
        if !slots.contains_key(&key) {
            let v = self.read(card, kvn)?;
            slots.insert(key.clone(), Slot { last: v, mark: v });
        }
        slots
            .get_mut(&key)
            .ok_or(CounterError::Corrupt { path: self.path_for(card, kvn), reason: "lost slot" })
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    // Directories cannot be opened for syncing here; the rename is still atomic.
    Ok(())
}

/// One counter a batch moves past its persisted mark.
struct MarkWrite {
    key: (CardId, Kvn),
    /// The slot as it was before the batch.
    before: Slot,
    /// The slot after the batch, if the write succeeds.
    after: Slot,
    /// The outcome of the write (`None` while pending).
    error: Option<CounterError>,
}

impl FileCounterStore {
    /// Writes the marks of `writes` (temporary files first, then sync, rename, one directory sync),
    /// recording per write whether it failed.
    fn persist_marks(&self, writes: &mut [MarkWrite]) {
        let mut staged: Vec<(usize, File, PathBuf, PathBuf)> = Vec::with_capacity(writes.len());
        for (i, w) in writes.iter_mut().enumerate() {
            if w.after.mark == w.before.mark {
                continue;
            }
            let path = self.path_for(&w.key.0, w.key.1);
            let tmp = tmp_path(&path);
            let created = File::create(&tmp).and_then(|mut f| {
                f.write_all(format!("{:010x}\n", w.after.mark).as_bytes())?;
                Ok(f)
            });
            match created {
                Ok(f) => staged.push((i, f, tmp, path)),
                Err(source) => w.error = Some(CounterError::Io { path: tmp, source }),
            }
        }
        let mut renamed = Vec::with_capacity(staged.len());
        for (i, f, tmp, path) in staged {
            let done = f.sync_all().map_err(|source| CounterError::Io { path: tmp.clone(), source });
            let done = done.and_then(|()| {
                fs::rename(&tmp, &path).map_err(|source| CounterError::Io { path: path.clone(), source })
            });
            match (done, writes.get_mut(i)) {
                (Ok(()), _) => renamed.push(i),
                (Err(e), Some(w)) => w.error = Some(e),
                (Err(_), None) => {}
            }
        }
        if renamed.is_empty() {
            return;
        }
        if let Err(e) = sync_dir(&self.dir) {
            // Without the directory sync no rename is known to be durable.
            for i in renamed {
                if let Some(w) = writes.get_mut(i) {
                    w.error = Some(CounterError::Io {
                        path: self.dir.clone(),
                        source: io::Error::new(e.kind(), e.to_string()),
                    });
                }
            }
        }
    }
}

/// The same error again (I/O errors cannot be cloned): path, kind and message.
fn copy_error(e: &CounterError) -> CounterError {
    match e {
        CounterError::Io { path, source } => {
            CounterError::Io { path: path.clone(), source: io::Error::new(source.kind(), source.to_string()) }
        }
        CounterError::Corrupt { path, reason } => CounterError::Corrupt { path: path.clone(), reason },
        CounterError::Exhausted { card, kvn } => CounterError::Exhausted { card: card.clone(), kvn: *kvn },
        CounterError::InvalidCardId { reason } => CounterError::InvalidCardId { reason },
    }
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

impl CounterStore for FileCounterStore {
    /// See the module docs ("Batches"). Requests are served in order; a request whose counter could not
    /// be persisted fails with the I/O error, and so do the later requests of the same counter that needed
    /// the same write.
    fn reserve_many(&self, requests: &[(&CardId, Kvn)]) -> Vec<Result<Counter, CounterError>> {
        let mut slots = lock(&self.slots);
        // Phase 1: the values, on copies of the slots, and the one mark per counter to persist.
        let mut touched: HashMap<(CardId, Kvn), usize> = HashMap::new();
        let mut writes: Vec<MarkWrite> = Vec::new();
        // Per request: the value and the index of its counter in `writes`, or the error.
        let mut planned: Vec<Result<(u64, usize), CounterError>> = Vec::with_capacity(requests.len());
        for &(card, kvn) in requests {
            let key = (card.clone(), kvn);
            let w = match touched.get(&key) {
                Some(&w) => w,
                None => match self.slot(&mut slots, card, kvn) {
                    Ok(slot) => {
                        let before = *slot;
                        writes.push(MarkWrite { key: key.clone(), before, after: before, error: None });
                        touched.insert(key, writes.len() - 1);
                        writes.len() - 1
                    }
                    Err(e) => {
                        planned.push(Err(e));
                        continue;
                    }
                },
            };
            let Some(write) = writes.get_mut(w) else { continue };
            let Some(next) = Counter(write.after.last).next() else {
                planned.push(Err(CounterError::Exhausted { card: card.clone(), kvn }));
                continue;
            };
            if next.0 > write.after.mark {
                write.after.mark = write.after.last.saturating_add(self.block).min(Counter::MAX.0);
            }
            write.after.last = next.0;
            planned.push(Ok((next.0, w)));
        }
        // Phase 2: persist the marks that moved.
        self.persist_marks(&mut writes);
        // Phase 3: commit the slots and answer.
        for w in &writes {
            let slot = if w.error.is_some() {
                // The values up to the old mark were covered by it and are handed out; none beyond.
                Slot { last: w.after.last.min(w.before.mark), mark: w.before.mark }
            } else {
                w.after
            };
            slots.insert(w.key.clone(), slot);
        }
        planned
            .into_iter()
            .map(|p| {
                let (value, w) = p?;
                match writes.get(w).and_then(|w| w.error.as_ref().map(|e| (w, e))) {
                    Some((w, e)) if value > w.before.mark => Err(copy_error(e)),
                    _ => Ok(Counter(value)),
                }
            })
            .collect()
    }

    fn reserve(&self, card: &CardId, kvn: Kvn) -> Result<Counter, CounterError> {
        let mut slots = lock(&self.slots);
        let slot = self.slot(&mut slots, card, kvn)?;
        let next =
            Counter(slot.last).next().ok_or_else(|| CounterError::Exhausted { card: card.clone(), kvn })?;
        if next.0 > slot.mark {
            let mark = slot.last.saturating_add(self.block).min(Counter::MAX.0);
            self.write(card, kvn, mark)?;
            slot.mark = mark;
        }
        slot.last = next.0;
        Ok(next)
    }

    fn current(&self, card: &CardId, kvn: Kvn) -> Result<Counter, CounterError> {
        let mut slots = lock(&self.slots);
        Ok(Counter(self.slot(&mut slots, card, kvn)?.last))
    }

    fn set(&self, card: &CardId, kvn: Kvn, value: Counter) -> Result<(), CounterError> {
        let mut slots = lock(&self.slots);
        self.write(card, kvn, value.0)?;
        slots.insert((card.clone(), kvn), Slot { last: value.0, mark: value.0 });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(s: &str) -> CardId {
        CardId::new(s).unwrap()
    }

    fn kvn(n: u8) -> Kvn {
        Kvn::new(n).unwrap()
    }

    #[test]
    fn counter_bytes_round_trip_and_limits() {
        let c = Counter::from_bytes([0x01, 0x02, 0x03, 0x04, 0x05]);
        assert_eq!(c.get(), 0x01_0203_0405);
        assert_eq!(c.to_bytes(), [1, 2, 3, 4, 5]);
        assert_eq!(Counter::MAX.to_bytes(), [0xFF; 5]);
        assert_eq!(Counter::MAX.next(), None);
        assert_eq!(Counter::new(0x100_0000_0000), None);
        assert_eq!(Counter::ZERO.next(), Counter::new(1));
        assert_eq!(c.to_string(), "0102030405");
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, "\"0102030405\"");
        assert_eq!(serde_json::from_str::<Counter>(&json).unwrap(), c);
        assert!(serde_json::from_str::<Counter>("\"01020304\"").is_err());
    }

    #[test]
    fn card_id_rules() {
        assert!(CardId::new("8949000000000000001").is_ok());
        assert!(CardId::new("test-card_1.a").is_ok());
        assert!(CardId::new("").is_err());
        assert!(CardId::new(".hidden").is_err());
        assert!(CardId::new("../etc").is_err());
        assert!(CardId::new("a/b").is_err());
        assert!(CardId::new("x".repeat(65)).is_err());
        assert!(serde_json::from_str::<CardId>("\"a/b\"").is_err());
    }

    #[test]
    fn memory_card_handle_is_the_store_s_counters() {
        let store = MemoryCounterStore::new();
        let a = card("A");
        let h = store.card_counters(&a).unwrap();
        // Both ways: what the store sets the handle sees, and the other way round.
        store.set(&a, kvn(2), Counter(7)).unwrap();
        assert_eq!(h.current(kvn(2)), Counter(7));
        assert!(h.check_and_set(kvn(2), Counter(9), &mut |c| c == Counter(7)));
        assert_eq!(store.current(&a, kvn(2)).unwrap(), Counter(9));
        // A refusal stores nothing; the value judged is the stored one.
        assert!(!h.check_and_set(kvn(2), Counter(3), &mut |c| c < Counter(3)));
        assert_eq!(store.current(&a, kvn(2)).unwrap(), Counter(9));
        assert_eq!(store.reserve(&a, kvn(2)).unwrap(), Counter(10));
        assert_eq!(h.current(kvn(2)), Counter(10));
        // Other cards and KVNs are untouched; a second handle is the same counters.
        assert_eq!(store.current(&card("B"), kvn(2)).unwrap(), Counter::ZERO);
        assert_eq!(h.current(kvn(1)), Counter::ZERO);
        assert_eq!(store.card_counters(&a).unwrap().current(kvn(2)), Counter(10));
        // Exhaustion still refuses to wrap.
        h.set(kvn(3), Counter::MAX);
        assert!(matches!(store.reserve(&a, kvn(3)), Err(CounterError::Exhausted { .. })));
        assert_eq!(h.current(kvn(3)), Counter::MAX);
        // The file store has no handle (it persists).
        let dir = tempfile::tempdir().unwrap();
        assert!(FileCounterStore::open(dir.path()).unwrap().card_counters(&a).is_none());
    }

    #[test]
    fn memory_check_and_set_is_atomic_across_threads() {
        // Eight threads each try to move the counter from every value v to v + 1 ("one higher" rule):
        // every value is accepted exactly once overall, whatever the interleaving.
        let store = MemoryCounterStore::new();
        let a = card("A");
        let accepted = std::sync::atomic::AtomicU64::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for v in 1..=500u64 {
                        let mut ok = |stored: Counter| stored.0 + 1 == v;
                        if store.check_and_set(&a, kvn(1), Counter(v), &mut ok).unwrap() {
                            accepted.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        assert_eq!(store.current(&a, kvn(1)).unwrap(), Counter(500));
        assert_eq!(accepted.load(Ordering::Relaxed), 500);
    }

    fn exercise(store: &dyn CounterStore) {
        let (a, b) = (card("A"), card("B"));
        assert_eq!(store.current(&a, kvn(1)).unwrap(), Counter::ZERO);
        assert_eq!(store.reserve(&a, kvn(1)).unwrap().get(), 1);
        assert_eq!(store.reserve(&a, kvn(1)).unwrap().get(), 2);
        // Independent per card and per KVN.
        assert_eq!(store.reserve(&a, kvn(2)).unwrap().get(), 1);
        assert_eq!(store.reserve(&b, kvn(1)).unwrap().get(), 1);
        assert_eq!(store.current(&a, kvn(1)).unwrap().get(), 2);
        // Card side: set, then current.
        store.set(&b, kvn(3), Counter::new(0x42).unwrap()).unwrap();
        assert_eq!(store.current(&b, kvn(3)).unwrap().get(), 0x42);
        assert_eq!(store.reserve(&b, kvn(3)).unwrap().get(), 0x43);
        // Never past FF FF FF FF FF: the maximum itself is handed out once, then refused.
        store.set(&a, kvn(4), Counter::new(Counter::MAX.get() - 1).unwrap()).unwrap();
        assert_eq!(store.reserve(&a, kvn(4)).unwrap(), Counter::MAX);
        for _ in 0..2 {
            assert!(matches!(store.reserve(&a, kvn(4)), Err(CounterError::Exhausted { .. })));
        }
        assert_eq!(store.current(&a, kvn(4)).unwrap(), Counter::MAX);
        // Card side in one step: `accept` sees the current value; refused stores nothing (a card never
        // seen included), accepted stores the value.
        let c = card("C");
        let mut seen = Vec::new();
        let v = |n| Counter::new(n).unwrap();
        assert!(
            !store
                .check_and_set(&c, kvn(5), v(9), &mut |s| {
                    seen.push(s.get());
                    false
                })
                .unwrap()
        );
        assert_eq!(store.current(&c, kvn(5)).unwrap(), Counter::ZERO);
        assert!(
            store
                .check_and_set(&c, kvn(5), v(9), &mut |s| {
                    seen.push(s.get());
                    true
                })
                .unwrap()
        );
        assert_eq!(store.current(&c, kvn(5)).unwrap().get(), 9);
        assert!(
            !store
                .check_and_set(&c, kvn(5), v(20), &mut |s| {
                    seen.push(s.get());
                    false
                })
                .unwrap()
        );
        assert!(
            store
                .check_and_set(&c, kvn(5), v(7), &mut |s| {
                    seen.push(s.get());
                    true
                })
                .unwrap()
        );
        assert_eq!(seen, [0, 0, 9, 9]);
        assert_eq!(store.current(&c, kvn(5)).unwrap().get(), 7);
        // Other KVNs of the card untouched.
        assert_eq!(store.current(&c, kvn(6)).unwrap(), Counter::ZERO);
    }

    #[test]
    fn memory_store() {
        exercise(&MemoryCounterStore::new());
    }

    #[test]
    fn file_store() {
        let dir = tempfile::tempdir().unwrap();
        exercise(&FileCounterStore::open(dir.path()).unwrap());
        // Every value was persisted: a new store continues where the old one stopped.
        let again = FileCounterStore::open(dir.path()).unwrap();
        assert_eq!(again.reserve(&card("A"), kvn(1)).unwrap().get(), 3);
        assert!(matches!(again.reserve(&card("A"), kvn(4)), Err(CounterError::Exhausted { .. })));
        let text = fs::read_to_string(again.path_for(&card("A"), kvn(1))).unwrap();
        assert_eq!(text, "0000000003\n");
    }

    #[test]
    fn file_store_with_blocks_persists_the_mark_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileCounterStore::with_block(dir.path(), NonZeroU64::new(10).unwrap()).unwrap();
        exercise(&store);
        let path = store.path_for(&card("A"), kvn(1));
        // Two values handed out, mark 10 on disk.
        assert_eq!(fs::read_to_string(&path).unwrap(), "000000000a\n");
        for want in 3..=10 {
            assert_eq!(store.reserve(&card("A"), kvn(1)).unwrap().get(), want);
        }
        assert_eq!(fs::read_to_string(&path).unwrap(), "000000000a\n");
        assert_eq!(store.reserve(&card("A"), kvn(1)).unwrap().get(), 11);
        assert_eq!(fs::read_to_string(&path).unwrap(), "0000000014\n");
        // After a "restart" the store continues above the mark (12..=20 are skipped).
        drop(store);
        let store = FileCounterStore::with_block(dir.path(), NonZeroU64::new(10).unwrap()).unwrap();
        assert_eq!(store.current(&card("A"), kvn(1)).unwrap().get(), 20);
        assert_eq!(store.reserve(&card("A"), kvn(1)).unwrap().get(), 21);
    }

    #[test]
    fn corrupt_files_are_reported_not_reset() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileCounterStore::open(dir.path()).unwrap();
        let path = store.path_for(&card("C"), kvn(1));
        for bad in
            ["", "12\n", "000000000g\n", "0000000001", "00000000010\n", "0000000001\n\n", "\u{e9}00000000\n"]
        {
            fs::write(&path, bad).unwrap();
            let fresh = FileCounterStore::open(dir.path()).unwrap();
            let err = fresh.reserve(&card("C"), kvn(1)).unwrap_err();
            assert!(matches!(err, CounterError::Corrupt { .. }), "{bad:?}: {err}");
            assert!(err.to_string().contains("C.kvn01.cntr"), "{err}");
        }
        // A leftover temporary file does not matter.
        fs::write(&path, "0000000007\n").unwrap();
        fs::write(dir.path().join("C.kvn01.cntr.tmp"), "garbage").unwrap();
        let fresh = FileCounterStore::open(dir.path()).unwrap();
        assert_eq!(fresh.reserve(&card("C"), kvn(1)).unwrap().get(), 8);
    }

    #[test]
    fn write_failure_hands_out_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileCounterStore::open(dir.path()).unwrap();
        assert_eq!(store.reserve(&card("D"), kvn(1)).unwrap().get(), 1);
        // Make the temporary file path a directory: creating the file fails.
        fs::create_dir(dir.path().join("D.kvn01.cntr.tmp")).unwrap();
        assert!(matches!(store.reserve(&card("D"), kvn(1)), Err(CounterError::Io { .. })));
        assert_eq!(store.current(&card("D"), kvn(1)).unwrap().get(), 1);
        fs::remove_dir(dir.path().join("D.kvn01.cntr.tmp")).unwrap();
        assert_eq!(store.reserve(&card("D"), kvn(1)).unwrap().get(), 2);
    }

    #[test]
    fn reserve_many_matches_one_by_one_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileCounterStore::open(dir.path()).unwrap();
        let memory = MemoryCounterStore::new();
        let (a, b, e) = (card("A"), card("B"), card("E"));
        assert_eq!(store.reserve(&a, kvn(1)).unwrap().get(), 1);
        memory.reserve(&a, kvn(1)).unwrap();
        let requests = [(&a, kvn(1)), (&b, kvn(1)), (&a, kvn(1)), (&a, kvn(2)), (&b, kvn(1))];
        let got: Vec<u64> = store.reserve_many(&requests).into_iter().map(|r| r.unwrap().get()).collect();
        assert_eq!(got, vec![2, 1, 3, 1, 2]);
        let want: Vec<u64> = memory.reserve_many(&requests).into_iter().map(|r| r.unwrap().get()).collect();
        assert_eq!(got, want);
        // Every value is on disk: a new store continues above it.
        let again = FileCounterStore::open(dir.path()).unwrap();
        assert_eq!(again.current(&a, kvn(1)).unwrap().get(), 3);
        assert_eq!(again.current(&b, kvn(1)).unwrap().get(), 2);
        // A counter whose file cannot be written fails (with every request of it), the others go on.
        fs::create_dir(dir.path().join("E.kvn01.cntr.tmp")).unwrap();
        let r = again.reserve_many(&[(&e, kvn(1)), (&a, kvn(1)), (&e, kvn(1))]);
        assert!(matches!(r[0], Err(CounterError::Io { .. })) && matches!(r[2], Err(CounterError::Io { .. })));
        assert_eq!(r[1].as_ref().unwrap().get(), 4);
        assert_eq!(again.current(&e, kvn(1)).unwrap(), Counter::ZERO);
        // With blocks of 10 from mark 2: the batch moves the mark twice (12, then 22) and writes it once.
        let blocks = FileCounterStore::with_block(dir.path(), NonZeroU64::new(10).unwrap()).unwrap();
        let r = blocks.reserve_many(&[(&b, kvn(1)); 12]);
        let values: Vec<u64> = r.into_iter().map(|r| r.unwrap().get()).collect();
        assert_eq!(values, (3..=14).collect::<Vec<_>>());
        assert_eq!(fs::read_to_string(blocks.path_for(&b, kvn(1))).unwrap(), "0000000016\n");
    }

    proptest::proptest! {
        #[test]
        fn any_file_content_reads_as_a_value_or_corrupt(content in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..24)) {
            let dir = tempfile::tempdir().unwrap();
            let store = FileCounterStore::open(dir.path()).unwrap();
            fs::write(store.path_for(&card("F"), kvn(1)), &content).unwrap();
            match store.current(&card("F"), kvn(1)) {
                Ok(v) => {
                    let text = format!("{:010x}\n", v.get());
                    proptest::prop_assert_eq!(text.to_ascii_lowercase(), String::from_utf8_lossy(&content).to_ascii_lowercase());
                }
                Err(e) => proptest::prop_assert!(matches!(e, CounterError::Corrupt { .. }), "{}", e),
            }
        }
    }

    #[test]
    fn threads_never_share_a_value() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(
            FileCounterStore::with_block(dir.path(), NonZeroU64::new(7).unwrap()).unwrap(),
        );
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let s = store.clone();
                std::thread::spawn(move || {
                    (0..50).map(|_| s.reserve(&card("T"), kvn(1)).unwrap().get()).collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<u64> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
        all.sort_unstable();
        assert_eq!(all, (1..=200).collect::<Vec<_>>());
    }
}

//! The server's persistent state behind one trait, [`Store`], with the embedded SQLite implementation
//! [`SqliteStore`] (issue 7 §1 "Store"): devices and their credentials for both directions, nonces, the DM
//! version and encoding each device was seen with, queued operations and their state, results and Generic
//! Alerts, sessions with the transcript of every message in and out (raw bytes and decoded XML).
//!
//! [`StoreDirectory`] and [`StoreJobs`] put a store behind the engine's [`DeviceDirectory`] and
//! [`OperationSource`] traits, so the engine itself does not know about persistence.
//!
//! # Operation states and crash safety
//!
//! An operation is `queued` when enqueued, `sent` once the engine took it for a package (it may be on the
//! wire), `accepted` when the client answered 202 to its `Exec` (a Generic Alert will finish it), and
//! `done` (or `not_sent`) only in the same SQLite transaction that stores the client's Status and Results.
//! [`Store::next_operations`] hands out `queued` and `sent` operations: after a crash mid-session the
//! operations whose Status was not stored are sent again in the next session, and an operation whose
//! Status was stored is never sent again.
//!
//! Decision: WAL with `synchronous=NORMAL`: a committed transaction survives the process being killed
//! (SIGKILL) — the WAL is in the OS page cache — though the last transactions may be lost on a power cut.
//! That is the right cost for a lab server that writes on every message; `FULL` is a pragma away.
//!
//! # Writes of a message: [`Store::apply`]
//!
//! The HTTP layer gathers every change one client message causes (the transcript of the message and of
//! the answer, nonces, DevInfo, operations taken or completed, alerts, the session record) into one list
//! of [`Write`]s and stores it with [`Store::apply`], in one transaction, **before** the answer is sent:
//! whatever the client sees was stored first, and a server killed before the commit is as if the message
//! never arrived (the client's retry finds the state of before).
//!
//! [`SqliteStore`] commits concurrent batches together (group commit): a request that finds the writer
//! busy leaves its batch in a queue, and whoever holds the writer next commits every queued batch in one
//! transaction; each caller returns once its own batch is committed. Reads run on a small pool of
//! read-only connections (WAL lets them proceed while the writer commits) with cached prepared statements.
//!
//! Transcripts keep the raw bytes and content type; the decoded XML is rendered when a transcript is read
//! ([`Store::transcript`]), not on the hot path (a row written with its XML keeps it).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use m2msim_codec::syncml::tree::Profile;
use m2msim_codec::syncml::{Command, DevInfo, SyncMl, Wire};
use m2msim_codec::xml::Mode;
use rusqlite::{Connection, OptionalExtension as _, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::directory::{Credentials, DeviceDirectory, DeviceRecord};
use crate::jobs::OperationSource;
use crate::operation::{OpId, Operation, OperationOutcome, OutcomeState, ReceivedAlert};

/// A store failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The SQLite database failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored JSON value did not (de)serialise.
    #[error("stored value: {0}")]
    Json(#[from] serde_json::Error),
    /// The data directory could not be created.
    #[error("data directory: {0}")]
    Io(#[from] std::io::Error),
    /// A referenced record does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A batch committed by another request's group commit failed (the error as text: SQLite errors are
    /// not `Clone`).
    #[error("commit: {0}")]
    Commit(String),
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// The state of a stored operation (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpState {
    /// Waiting for the device's next session.
    Queued,
    /// Taken by a session; no Status stored yet.
    Sent,
    /// `Exec` accepted (202); waiting for the Generic Alert.
    Accepted,
    /// The client's answer is stored.
    Done,
    /// The engine could not send it (e.g. too large); never reached the client.
    NotSent,
}

impl OpState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Accepted => "accepted",
            Self::Done => "done",
            Self::NotSent => "not_sent",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "queued" => Self::Queued,
            "sent" => Self::Sent,
            "accepted" => Self::Accepted,
            "not_sent" => Self::NotSent,
            _ => Self::Done,
        }
    }
}

/// A stored operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationRecord {
    /// Its id.
    pub op_id: OpId,
    /// The device it is for.
    pub device_id: String,
    /// The command.
    pub command: Command,
    /// Where it is.
    pub state: OpState,
    /// How many times it moved from `queued` to `sent` (a re-send of a `sent` operation after a crashed
    /// session is not counted).
    pub attempts: u32,
    /// The client's answer, once stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<OperationOutcome>,
}

/// A device as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceSummary {
    /// The record (credentials redacted when printed with `Debug`).
    pub record: DeviceRecord,
    /// The DM version of its last session (`1.2`, `1.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dm_version: Option<String>,
    /// The wire (encoding and dialect) of its last session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire: Option<Wire>,
    /// Its last DevInfo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev_info: Option<DevInfo>,
}

/// A session as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Its row id.
    pub id: i64,
    /// The device (empty for a rejected request that named none).
    pub device_id: String,
    /// The client's `SessionID`.
    pub session_id: String,
    /// Unix seconds it started.
    pub started: i64,
    /// How it ended (`None` while open, or when the server died during it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// The direction of a transcript message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Client to server.
    In,
    /// Server to client.
    Out,
}

/// One message of a session's transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptEntry {
    /// Which way.
    pub direction: Direction,
    /// Its `Content-Type`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The bytes as on the wire.
    #[serde(with = "m2msim_codec::hexser")]
    pub raw: Vec<u8>,
    /// The message as XML (RTK profile) when it decodes, whatever its wire encoding. Filled when the
    /// transcript is read ([`Store::transcript`], [`TranscriptEntry::with_xml`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xml: Option<String>,
    /// Why it was rejected, for a request the server refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl TranscriptEntry {
    /// An entry for `raw`, not decoded yet (see [`TranscriptEntry::with_xml`]).
    #[must_use]
    pub fn new(direction: Direction, content_type: Option<&str>, raw: &[u8]) -> Self {
        Self {
            direction,
            content_type: content_type.map(str::to_owned),
            raw: raw.to_vec(),
            xml: None,
            note: None,
        }
    }

    /// The entry with [`TranscriptEntry::xml`] filled when it is empty and the raw bytes are a SyncML
    /// message (XML or WBXML, read leniently), written as XML in the RTK profile.
    #[must_use]
    pub fn with_xml(mut self) -> Self {
        if self.xml.is_none() {
            self.xml = SyncMl::decode(&self.raw, Mode::Lenient)
                .ok()
                .and_then(|d| d.message.to_xml(&Profile::rtk()).ok());
        }
        self
    }
}

/// One change of a batch stored by [`Store::apply`]. Each has the meaning of the single-write method of
/// the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Write {
    /// A session record, with an id from [`Store::reserve_session_id`] ([`Store::open_session`]).
    OpenSession {
        /// The reserved id.
        id: i64,
        /// The device (empty for a rejected request that named none).
        device_id: String,
        /// The client's `SessionID`.
        session_id: String,
    },
    /// How a session ended ([`Store::close_session`]).
    CloseSession {
        /// The session.
        id: i64,
        /// Its outcome.
        outcome: String,
    },
    /// A transcript message ([`Store::append_message`]).
    Message {
        /// The session.
        session: i64,
        /// The message.
        entry: TranscriptEntry,
    },
    /// The nonce the client must use next ([`Store::set_client_nonce`]).
    ClientNonce {
        /// The device.
        device_id: String,
        /// The nonce.
        nonce: Vec<u8>,
    },
    /// The nonce this server must use next ([`Store::set_server_nonce`]).
    ServerNonce {
        /// The device.
        device_id: String,
        /// The nonce.
        nonce: Vec<u8>,
    },
    /// The DevInfo of package 1 ([`Store::record_dev_info`]).
    DevInfo {
        /// The device.
        device_id: String,
        /// Its DevInfo.
        info: DevInfo,
    },
    /// The DM version and wire of a session ([`Store::record_wire`]).
    Wire {
        /// The device.
        device_id: String,
        /// `VerDTD` as the client wrote it.
        dm_version: String,
        /// Encoding and dialect.
        wire: Wire,
    },
    /// Operations a session took: `queued` ones become `sent` (their attempt counted); others are left
    /// as they are (the second half of [`Store::next_operations`], after [`Store::pending_operations`]).
    MarkSent {
        /// The operations.
        op_ids: Vec<OpId>,
    },
    /// An outcome ([`Store::complete`]).
    Complete {
        /// The device.
        device_id: String,
        /// The outcome.
        outcome: OperationOutcome,
    },
    /// A client alert that completed no operation ([`Store::record_alert`]).
    Alert {
        /// The device.
        device_id: String,
        /// The session it came in.
        session: Option<i64>,
        /// The alert.
        alert: ReceivedAlert,
    },
}

/// The server's persistent state (see the module documentation). Implementations are shared between
/// sessions and threads; every method is one transaction.
pub trait Store: Send + Sync {
    /// Adds or replaces a device and its credentials.
    ///
    /// # Errors
    /// The store failed.
    fn put_device(&self, record: &DeviceRecord) -> StoreResult<()>;
    /// A device.
    ///
    /// # Errors
    /// The store failed.
    fn device(&self, device_id: &str) -> StoreResult<Option<DeviceSummary>>;
    /// Every device.
    ///
    /// # Errors
    /// The store failed.
    fn devices(&self) -> StoreResult<Vec<DeviceSummary>>;
    /// Stores the nonce the client must use next (Security §5.1.2).
    ///
    /// # Errors
    /// The store failed.
    fn set_client_nonce(&self, device_id: &str, nonce: &[u8]) -> StoreResult<()>;
    /// Stores the nonce this server must use next toward the client.
    ///
    /// # Errors
    /// The store failed.
    fn set_server_nonce(&self, device_id: &str, nonce: &[u8]) -> StoreResult<()>;
    /// Records the DevInfo of package 1.
    ///
    /// # Errors
    /// The store failed.
    fn record_dev_info(&self, device_id: &str, info: &DevInfo) -> StoreResult<()>;
    /// Records the DM version and wire a device's session used.
    ///
    /// # Errors
    /// The store failed.
    fn record_wire(&self, device_id: &str, dm_version: &str, wire: &Wire) -> StoreResult<()>;

    /// Queues a command for a device.
    ///
    /// # Errors
    /// The store failed.
    fn enqueue(&self, device_id: &str, command: &Command) -> StoreResult<OpId>;
    /// The device's operations to send (`queued` and `sent`), marked `sent`.
    ///
    /// # Errors
    /// The store failed.
    fn next_operations(&self, device_id: &str) -> StoreResult<Vec<Operation>>;
    /// Stores an outcome and moves the operation to `done`/`not_sent`/`accepted`, in one transaction.
    ///
    /// # Errors
    /// The store failed.
    fn complete(&self, device_id: &str, outcome: &OperationOutcome) -> StoreResult<()>;
    /// The accepted operation of a device waiting for the Generic Alert with `correlator`.
    ///
    /// # Errors
    /// The store failed.
    fn find_accepted(&self, device_id: &str, correlator: &str) -> StoreResult<Option<OperationOutcome>>;
    /// An operation.
    ///
    /// # Errors
    /// The store failed.
    fn operation(&self, op_id: OpId) -> StoreResult<Option<OperationRecord>>;
    /// The operations of a device (all devices: `None`), oldest first.
    ///
    /// # Errors
    /// The store failed.
    fn operations(&self, device_id: Option<&str>) -> StoreResult<Vec<OperationRecord>>;

    /// Stores a client alert that completed no operation (a Generic Alert without a known `Correlator`…).
    ///
    /// # Errors
    /// The store failed.
    fn record_alert(&self, device_id: &str, session: Option<i64>, alert: &ReceivedAlert) -> StoreResult<()>;
    /// A device's stored alerts, oldest first.
    ///
    /// # Errors
    /// The store failed.
    fn alerts(&self, device_id: &str) -> StoreResult<Vec<ReceivedAlert>>;

    /// Opens a session record; returns its id.
    ///
    /// # Errors
    /// The store failed.
    fn open_session(&self, device_id: &str, session_id: &str) -> StoreResult<i64>;
    /// Records how a session ended.
    ///
    /// # Errors
    /// The store failed.
    fn close_session(&self, id: i64, outcome: &str) -> StoreResult<()>;
    /// Appends a message to a session's transcript.
    ///
    /// # Errors
    /// The store failed.
    fn append_message(&self, id: i64, entry: &TranscriptEntry) -> StoreResult<()>;
    /// The sessions, newest first (a device's only: `Some`).
    ///
    /// # Errors
    /// The store failed.
    fn sessions(&self, device_id: Option<&str>) -> StoreResult<Vec<SessionRecord>>;
    /// A session's transcript in order, each message's XML rendered ([`TranscriptEntry::with_xml`]).
    ///
    /// # Errors
    /// The store failed.
    fn transcript(&self, id: i64) -> StoreResult<Vec<TranscriptEntry>>;

    /// A new session id, never handed out before; the session's row is written by
    /// [`Write::OpenSession`] (an id reserved and never written leaves a gap).
    ///
    /// # Errors
    /// The store failed.
    fn reserve_session_id(&self) -> StoreResult<i64>;
    /// The device's operations to send (`queued` and `sent`), oldest first, without changing them; a
    /// session that takes them records that with [`Write::MarkSent`] in its next [`Store::apply`].
    ///
    /// # Errors
    /// The store failed.
    fn pending_operations(&self, device_id: &str) -> StoreResult<Vec<Operation>>;
    /// Stores `writes` in order, in one transaction: all of them or, on an error, none. A write whose
    /// record is missing (an unknown device or operation: [`StoreError::NotFound`] from its single-write
    /// method) is skipped with a warning and the others land. Returns once the batch is durable as the
    /// store's durability goes (see the module documentation).
    ///
    /// # Errors
    /// The store failed; nothing of the batch was stored.
    fn apply(&self, writes: &[Write]) -> StoreResult<()>;
}

/// The schema, one migration per entry; `schema_migrations` records which ran.
const MIGRATIONS: &[&str] = &[r"
CREATE TABLE devices (
    device_id TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    dm_version TEXT,
    wire TEXT,
    dev_info TEXT
);
CREATE TABLE operations (
    op_id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    command TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    correlator TEXT,
    outcome TEXT,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
);
CREATE INDEX operations_device ON operations(device_id, state);
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    session INTEGER,
    alert TEXT NOT NULL,
    received INTEGER NOT NULL
);
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    started INTEGER NOT NULL,
    outcome TEXT
);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session INTEGER NOT NULL REFERENCES sessions(id),
    direction TEXT NOT NULL,
    content_type TEXT,
    raw BLOB NOT NULL,
    xml TEXT,
    note TEXT,
    at INTEGER NOT NULL
);
CREATE INDEX messages_session ON messages(session, id);
"];

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The embedded SQLite store: one database file `m2msim-dm-server.sqlite3` in a data directory, created
/// with its schema on first use, in WAL mode (see the module documentation): one writer connection with
/// group commit, a pool of read-only connections, cached prepared statements.
pub struct SqliteStore {
    writer: Mutex<Connection>,
    /// The database file for read connections (`None` in memory: reads use the writer).
    path: Option<PathBuf>,
    readers: Mutex<Vec<Connection>>,
    group: Mutex<Group>,
    next_session: AtomicI64,
}

/// Batches waiting for the writer (group commit).
#[derive(Default)]
struct Group {
    next_ticket: u64,
    queue: Vec<(u64, Vec<Write>)>,
    /// Every ticket up to this one was committed or failed.
    done_upto: u64,
    /// Tickets whose batch failed, with the error.
    failed: HashMap<u64, String>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore { .. }")
    }
}

/// The database file name inside the data directory.
pub const DB_FILE: &str = "m2msim-dm-server.sqlite3";

/// Idle read connections kept open.
const MAX_IDLE_READERS: usize = 8;

/// Bytes of the database file read through a memory map: a reader's page cache is dropped whenever
/// another connection commits, so with a busy writer most reads would go through `pread` again.
/// (Reads only; writes still go through the WAL.)
const MMAP_SIZE: i64 = 256 * 1024 * 1024;

/// Page cache of a read connection (negative: KiB), smaller than the writer's 2 MiB default.
const READER_CACHE_KIB: i64 = -512;

/// Prepared statements each connection keeps (the store uses about thirty).
const STATEMENT_CACHE: usize = 64;

impl SqliteStore {
    /// Opens (creating when needed) the store in `data_dir`.
    ///
    /// # Errors
    /// The directory or database cannot be created or migrated.
    pub fn open(data_dir: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join(DB_FILE);
        let conn = Connection::open(&path)?;
        Self::init(conn, Some(path))
    }

    /// A store in memory (tests, throw-away servers): one connection for reads and writes.
    ///
    /// # Errors
    /// SQLite fails.
    pub fn in_memory() -> StoreResult<Self> {
        Self::init(Connection::open_in_memory()?, None)
    }

    fn init(mut conn: Connection, path: Option<PathBuf>) -> StoreResult<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.pragma_update(None, "mmap_size", MMAP_SIZE)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let tx = conn.transaction()?;
        tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)")?;
        let done: i64 =
            tx.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0))?;
        for (i, sql) in MIGRATIONS.iter().enumerate() {
            let version = i64::try_from(i).unwrap_or(i64::MAX) + 1;
            if version > done {
                tx.execute_batch(sql)?;
                tx.execute("INSERT INTO schema_migrations (version) VALUES (?1)", [version])?;
            }
        }
        tx.commit()?;
        // AUTOINCREMENT never reuses an id: start after the highest one ever handed out.
        let last: i64 = conn.query_row(
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'sessions'), 0),
                        COALESCE((SELECT MAX(id) FROM sessions), 0))",
            [],
            |r| r.get(0),
        )?;
        Ok(Self {
            writer: Mutex::new(conn),
            path,
            readers: Mutex::new(Vec::new()),
            group: Mutex::new(Group::default()),
            next_session: AtomicI64::new(last + 1),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn group(&self) -> MutexGuard<'_, Group> {
        self.group.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on a read connection (from the pool, or a new one; in memory: the writer).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let Some(path) = &self.path else { return f(&self.conn()) };
        let pooled = self.readers.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open(path)?;
                c.busy_timeout(std::time::Duration::from_secs(10))?;
                c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
                c.pragma_update(None, "query_only", "ON")?;
                c.pragma_update(None, "mmap_size", MMAP_SIZE)?;
                c.pragma_update(None, "cache_size", READER_CACHE_KIB)?;
                c
            }
        };
        let r = f(&conn);
        let mut idle = self.readers.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        r
    }

    /// Runs `f` in one write transaction.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let r = f(&tx)?;
        tx.commit()?;
        Ok(r)
    }
}

/// Reads, changes and writes back a device's record.
fn update_record(
    tx: &Transaction<'_>,
    device_id: &str,
    f: impl FnOnce(&mut DeviceRecord),
) -> StoreResult<()> {
    let rec: Option<String> = tx
        .prepare_cached("SELECT record FROM devices WHERE device_id = ?1")?
        .query_row([device_id], |r| r.get(0))
        .optional()?;
    let Some(rec) = rec else { return Err(StoreError::NotFound("device")) };
    let mut rec: DeviceRecord = serde_json::from_str(&rec)?;
    f(&mut rec);
    tx.prepare_cached("UPDATE devices SET record = ?2 WHERE device_id = ?1")?
        .execute(params![device_id, serde_json::to_string(&rec)?])?;
    Ok(())
}

/// One write inside a transaction.
fn exec_write(tx: &Transaction<'_>, w: &Write) -> StoreResult<()> {
    match w {
        Write::OpenSession { id, device_id, session_id } => {
            tx.prepare_cached(
                "INSERT INTO sessions (id, device_id, session_id, started) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![id, device_id, session_id, unix_now()])?;
        }
        Write::CloseSession { id, outcome } => {
            tx.prepare_cached("UPDATE sessions SET outcome = ?2 WHERE id = ?1")?
                .execute(params![id, outcome])?;
        }
        Write::Message { session, entry: e } => {
            let dir = match e.direction {
                Direction::In => "in",
                Direction::Out => "out",
            };
            tx.prepare_cached(
                "INSERT INTO messages (session, direction, content_type, raw, xml, note, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![session, dir, e.content_type, e.raw, e.xml, e.note, unix_now()])?;
        }
        Write::ClientNonce { device_id, nonce } => {
            update_record(tx, device_id, |r| r.client.nonce.clone_from(nonce))?;
        }
        Write::ServerNonce { device_id, nonce } => update_record(tx, device_id, |r| {
            if let Some(s) = r.server.as_mut() {
                s.nonce.clone_from(nonce);
            }
        })?,
        Write::DevInfo { device_id, info } => {
            tx.prepare_cached("UPDATE devices SET dev_info = ?2 WHERE device_id = ?1")?
                .execute(params![device_id, serde_json::to_string(info)?])?;
        }
        Write::Wire { device_id, dm_version, wire } => {
            tx.prepare_cached("UPDATE devices SET dm_version = ?2, wire = ?3 WHERE device_id = ?1")?
                .execute(params![device_id, dm_version, serde_json::to_string(wire)?])?;
        }
        Write::MarkSent { op_ids } => {
            let mut st = tx.prepare_cached(
                "UPDATE operations SET state = 'sent', attempts = attempts + 1, updated = ?2
                 WHERE op_id = ?1 AND state = 'queued'",
            )?;
            let now = unix_now();
            for id in op_ids {
                st.execute(params![op_key(*id), now])?;
            }
        }
        Write::Complete { device_id, outcome } => {
            let (state, correlator) = match &outcome.state {
                OutcomeState::Done => (OpState::Done, None),
                OutcomeState::Accepted { correlator } => (OpState::Accepted, Some(correlator.as_str())),
                OutcomeState::NotSent { .. } => (OpState::NotSent, None),
            };
            let n = tx
                .prepare_cached(
                    "UPDATE operations SET state = ?3, correlator = ?4, outcome = ?5, updated = ?6
                     WHERE op_id = ?1 AND device_id = ?2",
                )?
                .execute(params![
                    op_key(outcome.op_id),
                    device_id,
                    state.as_str(),
                    correlator,
                    serde_json::to_string(outcome)?,
                    unix_now()
                ])?;
            if n == 0 {
                return Err(StoreError::NotFound("operation"));
            }
        }
        Write::Alert { device_id, session, alert } => {
            tx.prepare_cached(
                "INSERT INTO alerts (device_id, session, alert, received) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![device_id, session, serde_json::to_string(alert)?, unix_now()])?;
        }
    }
    Ok(())
}

/// The writes of a batch in one transaction (missing records skipped with a warning).
fn exec_batch(tx: &Transaction<'_>, writes: &[Write]) -> StoreResult<()> {
    for w in writes {
        match exec_write(tx, w) {
            Err(StoreError::NotFound(what)) => {
                tracing::warn!("store: {what} not found; write skipped: {w:?}")
            }
            r => r?,
        }
    }
    Ok(())
}

/// `record, dm_version, wire, dev_info` of a device row.
type DeviceRow = (String, Option<String>, Option<String>, Option<String>);

fn device_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn to_summary((rec, dm_version, wire, dev_info): DeviceRow) -> StoreResult<DeviceSummary> {
    Ok(DeviceSummary {
        record: serde_json::from_str(&rec)?,
        dm_version,
        wire: wire.map(|w| serde_json::from_str(&w)).transpose()?,
        dev_info: dev_info.map(|d| serde_json::from_str(&d)).transpose()?,
    })
}

type OpRow = (i64, String, String, String, i64, Option<String>);

fn op_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OpRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
}

fn to_op((id, device_id, command, state, attempts, outcome): OpRow) -> StoreResult<OperationRecord> {
    Ok(OperationRecord {
        op_id: OpId(u64::try_from(id).unwrap_or(0)),
        device_id,
        command: serde_json::from_str(&command)?,
        state: OpState::parse(&state),
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        outcome: outcome.map(|o| serde_json::from_str(&o)).transpose()?,
    })
}

fn op_key(id: OpId) -> i64 {
    i64::try_from(id.0).unwrap_or(i64::MAX)
}

const OP_COLS: &str = "op_id, device_id, command, state, attempts, outcome";

/// The operations of a device to send (`queued`, `sent`), oldest first.
fn pending_ops(conn: &Connection, device_id: &str) -> StoreResult<Vec<OperationRecord>> {
    let rows = conn
        .prepare_cached(
            "SELECT op_id, device_id, command, state, attempts, outcome FROM operations
             WHERE device_id = ?1 AND state IN ('queued', 'sent') ORDER BY op_id",
        )?
        .query_map([device_id], op_row)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(to_op).collect()
}

impl Store for SqliteStore {
    fn put_device(&self, record: &DeviceRecord) -> StoreResult<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO devices (device_id, record) VALUES (?1, ?2)
                 ON CONFLICT(device_id) DO UPDATE SET record = excluded.record",
            )?
            .execute(params![record.device_id, serde_json::to_string(record)?])?;
        Ok(())
    }

    fn device(&self, device_id: &str) -> StoreResult<Option<DeviceSummary>> {
        let row = self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT record, dm_version, wire, dev_info FROM devices WHERE device_id = ?1",
            )?
            .query_row([device_id], device_row)
            .optional()?)
        })?;
        row.map(to_summary).transpose()
    }

    fn devices(&self) -> StoreResult<Vec<DeviceSummary>> {
        let rows = self.read(|c| {
            Ok(c.prepare_cached("SELECT record, dm_version, wire, dev_info FROM devices ORDER BY device_id")?
                .query_map([], device_row)?
                .collect::<Result<Vec<_>, _>>()?)
        })?;
        rows.into_iter().map(to_summary).collect()
    }

    fn set_client_nonce(&self, device_id: &str, nonce: &[u8]) -> StoreResult<()> {
        let w = Write::ClientNonce { device_id: device_id.to_owned(), nonce: nonce.to_vec() };
        self.write(|tx| exec_write(tx, &w))
    }

    fn set_server_nonce(&self, device_id: &str, nonce: &[u8]) -> StoreResult<()> {
        let w = Write::ServerNonce { device_id: device_id.to_owned(), nonce: nonce.to_vec() };
        self.write(|tx| exec_write(tx, &w))
    }

    fn record_dev_info(&self, device_id: &str, info: &DevInfo) -> StoreResult<()> {
        let w = Write::DevInfo { device_id: device_id.to_owned(), info: info.clone() };
        self.write(|tx| exec_write(tx, &w))
    }

    fn record_wire(&self, device_id: &str, dm_version: &str, wire: &Wire) -> StoreResult<()> {
        let w =
            Write::Wire { device_id: device_id.to_owned(), dm_version: dm_version.to_owned(), wire: *wire };
        self.write(|tx| exec_write(tx, &w))
    }

    fn enqueue(&self, device_id: &str, command: &Command) -> StoreResult<OpId> {
        let conn = self.conn();
        let now = unix_now();
        conn.prepare_cached(
            "INSERT INTO operations (device_id, command, state, created, updated) VALUES (?1, ?2, 'queued', ?3, ?3)",
        )?
        .execute(params![device_id, serde_json::to_string(command)?, now])?;
        Ok(OpId(u64::try_from(conn.last_insert_rowid()).unwrap_or(0)))
    }

    fn next_operations(&self, device_id: &str) -> StoreResult<Vec<Operation>> {
        self.write(|tx| {
            let recs = pending_ops(tx, device_id)?;
            let op_ids = recs.iter().map(|r| r.op_id).collect();
            exec_write(tx, &Write::MarkSent { op_ids })?;
            Ok(recs.into_iter().map(|r| Operation::new(r.op_id, r.command)).collect())
        })
    }

    fn complete(&self, device_id: &str, outcome: &OperationOutcome) -> StoreResult<()> {
        let w = Write::Complete { device_id: device_id.to_owned(), outcome: outcome.clone() };
        self.write(|tx| exec_write(tx, &w))
    }

    fn find_accepted(&self, device_id: &str, correlator: &str) -> StoreResult<Option<OperationOutcome>> {
        let o: Option<String> = self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT outcome FROM operations WHERE device_id = ?1 AND state = 'accepted' AND correlator = ?2
                 ORDER BY op_id LIMIT 1",
            )?
            .query_row([device_id, correlator], |r| r.get(0))
            .optional()?)
        })?;
        Ok(o.map(|o| serde_json::from_str(&o)).transpose()?)
    }

    fn operation(&self, op_id: OpId) -> StoreResult<Option<OperationRecord>> {
        let row = self.read(|c| {
            Ok(c.prepare_cached(&format!("SELECT {OP_COLS} FROM operations WHERE op_id = ?1"))?
                .query_row([op_key(op_id)], op_row)
                .optional()?)
        })?;
        row.map(to_op).transpose()
    }

    fn operations(&self, device_id: Option<&str>) -> StoreResult<Vec<OperationRecord>> {
        let rows = self.read(|c| {
            Ok(match device_id {
                Some(d) => c
                    .prepare_cached(&format!(
                        "SELECT {OP_COLS} FROM operations WHERE device_id = ?1 ORDER BY op_id"
                    ))?
                    .query_map([d], op_row)?
                    .collect::<Result<Vec<_>, _>>()?,
                None => c
                    .prepare_cached(&format!("SELECT {OP_COLS} FROM operations ORDER BY op_id"))?
                    .query_map([], op_row)?
                    .collect::<Result<Vec<_>, _>>()?,
            })
        })?;
        rows.into_iter().map(to_op).collect()
    }

    fn record_alert(&self, device_id: &str, session: Option<i64>, alert: &ReceivedAlert) -> StoreResult<()> {
        let w = Write::Alert { device_id: device_id.to_owned(), session, alert: alert.clone() };
        self.write(|tx| exec_write(tx, &w))
    }

    fn alerts(&self, device_id: &str) -> StoreResult<Vec<ReceivedAlert>> {
        let rows = self.read(|c| {
            Ok(c.prepare_cached("SELECT alert FROM alerts WHERE device_id = ?1 ORDER BY id")?
                .query_map([device_id], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?)
        })?;
        rows.iter().map(|a| Ok(serde_json::from_str(a)?)).collect()
    }

    fn open_session(&self, device_id: &str, session_id: &str) -> StoreResult<i64> {
        let id = self.reserve_session_id()?;
        let w = Write::OpenSession { id, device_id: device_id.to_owned(), session_id: session_id.to_owned() };
        self.write(|tx| exec_write(tx, &w))?;
        Ok(id)
    }

    fn close_session(&self, id: i64, outcome: &str) -> StoreResult<()> {
        let w = Write::CloseSession { id, outcome: outcome.to_owned() };
        self.write(|tx| exec_write(tx, &w))
    }

    fn append_message(&self, id: i64, e: &TranscriptEntry) -> StoreResult<()> {
        let w = Write::Message { session: id, entry: e.clone() };
        self.write(|tx| exec_write(tx, &w))
    }

    fn sessions(&self, device_id: Option<&str>) -> StoreResult<Vec<SessionRecord>> {
        let map = |r: &rusqlite::Row<'_>| {
            Ok(SessionRecord {
                id: r.get(0)?,
                device_id: r.get(1)?,
                session_id: r.get(2)?,
                started: r.get(3)?,
                outcome: r.get(4)?,
            })
        };
        let cols = "SELECT id, device_id, session_id, started, outcome FROM sessions";
        self.read(|c| {
            Ok(match device_id {
                Some(d) => c
                    .prepare_cached(&format!("{cols} WHERE device_id = ?1 ORDER BY id DESC"))?
                    .query_map([d], map)?
                    .collect::<Result<Vec<_>, _>>()?,
                None => c
                    .prepare_cached(&format!("{cols} ORDER BY id DESC"))?
                    .query_map([], map)?
                    .collect::<Result<Vec<_>, _>>()?,
            })
        })
    }

    fn transcript(&self, id: i64) -> StoreResult<Vec<TranscriptEntry>> {
        let rows = self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT direction, content_type, raw, xml, note FROM messages WHERE session = ?1 ORDER BY id",
            )?
            .query_map([id], |r| {
                let dir: String = r.get(0)?;
                Ok(TranscriptEntry {
                    direction: if dir == "out" { Direction::Out } else { Direction::In },
                    content_type: r.get(1)?,
                    raw: r.get(2)?,
                    xml: r.get(3)?,
                    note: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?)
        })?;
        Ok(rows.into_iter().map(TranscriptEntry::with_xml).collect())
    }

    fn reserve_session_id(&self) -> StoreResult<i64> {
        Ok(self.next_session.fetch_add(1, Ordering::Relaxed))
    }

    fn pending_operations(&self, device_id: &str) -> StoreResult<Vec<Operation>> {
        let recs = self.read(|c| pending_ops(c, device_id))?;
        Ok(recs.into_iter().map(|r| Operation::new(r.op_id, r.command)).collect())
    }

    /// Group commit: the batch joins the queue; the first caller to get the writer commits every queued
    /// batch in one transaction. Should that transaction fail, each of its batches is tried alone, so one
    /// bad batch does not take the others with it.
    fn apply(&self, writes: &[Write]) -> StoreResult<()> {
        if writes.is_empty() {
            return Ok(());
        }
        let ticket = {
            let mut g = self.group();
            g.next_ticket += 1;
            let t = g.next_ticket;
            g.queue.push((t, writes.to_vec()));
            t
        };
        let mut conn = self.conn();
        let batches = {
            let mut g = self.group();
            if ticket <= g.done_upto {
                // Another caller committed it with its own.
                return match g.failed.remove(&ticket) {
                    Some(e) => Err(StoreError::Commit(e)),
                    None => Ok(()),
                };
            }
            std::mem::take(&mut g.queue)
        };
        let upto = batches.iter().map(|(t, _)| *t).max().unwrap_or(ticket);
        let together = (|| {
            let tx = conn.transaction()?;
            for (_, b) in &batches {
                exec_batch(&tx, b)?;
            }
            tx.commit()?;
            StoreResult::Ok(())
        })();
        let mut mine = Ok(());
        let mut failed = Vec::new();
        match together {
            Ok(()) => {}
            Err(e) if batches.len() == 1 => mine = Err(e),
            Err(_) => {
                for (t, b) in &batches {
                    let alone = (|| {
                        let tx = conn.transaction()?;
                        exec_batch(&tx, b)?;
                        tx.commit()?;
                        StoreResult::Ok(())
                    })();
                    match alone {
                        Ok(()) => {}
                        Err(e) if *t == ticket => mine = Err(e),
                        Err(e) => failed.push((*t, e.to_string())),
                    }
                }
            }
        }
        let mut g = self.group();
        g.done_upto = g.done_upto.max(upto);
        g.failed.extend(failed);
        mine
    }
}

/// A [`Store`] as the engine's [`DeviceDirectory`]. Store failures are logged; a device that cannot be
/// read is unknown (the session fails authentication rather than running on stale credentials).
#[derive(Clone)]
pub struct StoreDirectory(pub std::sync::Arc<dyn Store>);

impl std::fmt::Debug for StoreDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreDirectory { .. }")
    }
}

fn logged<T>(what: &str, r: StoreResult<T>) -> Option<T> {
    r.map_err(|e| tracing::error!("store: {what}: {e}")).ok()
}

impl DeviceDirectory for StoreDirectory {
    fn device(&mut self, device_id: &str) -> Option<DeviceRecord> {
        logged("device", self.0.device(device_id)).flatten().map(|s| s.record)
    }

    fn set_client_nonce(&mut self, device_id: &str, nonce: &[u8]) {
        logged("client nonce", self.0.set_client_nonce(device_id, nonce));
    }

    fn set_server_nonce(&mut self, device_id: &str, nonce: &[u8]) {
        logged("server nonce", self.0.set_server_nonce(device_id, nonce));
    }

    fn record_dev_info(&mut self, device_id: &str, info: &DevInfo) {
        logged("dev info", self.0.record_dev_info(device_id, info));
    }
}

/// A [`Store`] as the engine's [`OperationSource`]. Store failures are logged: an outcome that cannot be
/// stored leaves its operation `sent`, so it is sent again next session (never lost).
#[derive(Clone)]
pub struct StoreJobs(pub std::sync::Arc<dyn Store>);

impl std::fmt::Debug for StoreJobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreJobs { .. }")
    }
}

impl OperationSource for StoreJobs {
    fn next_operations(&mut self, device_id: &str) -> Vec<Operation> {
        logged("next operations", self.0.next_operations(device_id)).unwrap_or_default()
    }

    fn completed(&mut self, device_id: &str, outcome: OperationOutcome) {
        logged("complete", self.0.complete(device_id, &outcome));
    }

    fn find_accepted(&mut self, device_id: &str, correlator: &str) -> Option<OperationOutcome> {
        logged("find accepted", self.0.find_accepted(device_id, correlator)).flatten()
    }
}

/// The writes of one client message, gathered while the engine handles it and stored with one
/// [`Store::apply`] before the answer goes out (see the module documentation).
pub type PendingWrites = std::sync::Arc<Mutex<Vec<Write>>>;

/// A [`Store`] as the engine's [`DeviceDirectory`] and [`OperationSource`], with the writes held back in
/// a [`PendingWrites`] list instead of being stored one by one: reads go to the store, writes to the list
/// (operations taken are handed out by [`Store::pending_operations`] and marked `sent` by a
/// [`Write::MarkSent`] in the list). Whoever drives the engine stores the list before sending its answer.
#[derive(Clone)]
pub struct BatchedStore {
    /// The store read from.
    pub store: std::sync::Arc<dyn Store>,
    /// Where the writes go.
    pub writes: PendingWrites,
}

impl std::fmt::Debug for BatchedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BatchedStore { .. }")
    }
}

impl BatchedStore {
    fn push(&self, w: Write) {
        self.writes.lock().unwrap_or_else(PoisonError::into_inner).push(w);
    }
}

impl DeviceDirectory for BatchedStore {
    fn device(&mut self, device_id: &str) -> Option<DeviceRecord> {
        logged("device", self.store.device(device_id)).flatten().map(|s| s.record)
    }

    fn set_client_nonce(&mut self, device_id: &str, nonce: &[u8]) {
        self.push(Write::ClientNonce { device_id: device_id.to_owned(), nonce: nonce.to_vec() });
    }

    fn set_server_nonce(&mut self, device_id: &str, nonce: &[u8]) {
        self.push(Write::ServerNonce { device_id: device_id.to_owned(), nonce: nonce.to_vec() });
    }

    fn record_dev_info(&mut self, device_id: &str, info: &DevInfo) {
        self.push(Write::DevInfo { device_id: device_id.to_owned(), info: info.clone() });
    }
}

impl OperationSource for BatchedStore {
    /// Outcomes held back in the list are stored first (their own [`Store::apply`]): whatever queues
    /// work on outcomes (an admin, a plan of stages) sees them before the next package's operations are
    /// read, as it would with immediate writes.
    fn next_operations(&mut self, device_id: &str) -> Vec<Operation> {
        let flush = {
            let mut w = self.writes.lock().unwrap_or_else(PoisonError::into_inner);
            if w.iter().any(|w| matches!(w, Write::Complete { .. })) {
                std::mem::take(&mut *w)
            } else {
                Vec::new()
            }
        };
        if !flush.is_empty() && logged("outcomes", self.store.apply(&flush)).is_none() {
            // Not stored: put them back for the message's own apply (which reports the failure).
            let mut w = self.writes.lock().unwrap_or_else(PoisonError::into_inner);
            let rest = std::mem::replace(&mut *w, flush);
            w.extend(rest);
        }
        let ops = logged("next operations", self.store.pending_operations(device_id)).unwrap_or_default();
        if !ops.is_empty() {
            self.push(Write::MarkSent { op_ids: ops.iter().map(|o| o.op_id).collect() });
        }
        ops
    }

    fn completed(&mut self, device_id: &str, outcome: OperationOutcome) {
        self.push(Write::Complete { device_id: device_id.to_owned(), outcome });
    }

    fn find_accepted(&mut self, device_id: &str, correlator: &str) -> Option<OperationOutcome> {
        logged("find accepted", self.store.find_accepted(device_id, correlator)).flatten()
    }
}

/// Credentials with a fresh secret for an auto-registered device: `template` with the device's name.
#[must_use]
pub fn auto_record(device_id: &str, template: &Credentials) -> DeviceRecord {
    DeviceRecord { device_id: device_id.to_owned(), client: template.clone(), server: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::AuthScheme;
    use crate::operation::{NotSentReason, cmd};
    use m2msim_codec::syncml::AlertCode;

    fn rec(id: &str) -> DeviceRecord {
        DeviceRecord {
            device_id: id.into(),
            client: Credentials::new(AuthScheme::Md5, "u", "p", b"n0".to_vec()),
            server: Some(Credentials::new(AuthScheme::Md5, "srv", "sp", b"s0".to_vec())),
        }
    }

    #[test]
    fn devices_and_nonces_persist_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = SqliteStore::open(dir.path()).unwrap();
            s.put_device(&rec("d1")).unwrap();
            s.set_client_nonce("d1", b"c1").unwrap();
            s.set_server_nonce("d1", b"s1").unwrap();
            s.record_wire("d1", "1.2", &Wire::xml(Profile::rtk())).unwrap();
            assert!(matches!(s.set_client_nonce("nobody", b"x"), Err(StoreError::NotFound("device"))));
        }
        let s = SqliteStore::open(dir.path()).unwrap();
        let d = s.device("d1").unwrap().unwrap();
        assert_eq!(d.record.client.nonce, b"c1");
        assert_eq!(d.record.server.unwrap().nonce, b"s1");
        assert_eq!(d.dm_version.as_deref(), Some("1.2"));
        assert_eq!(s.devices().unwrap().len(), 1);
        assert!(s.device("d2").unwrap().is_none());
    }

    #[test]
    fn operation_lifecycle_queued_sent_done() {
        let s = SqliteStore::in_memory().unwrap();
        let a = s.enqueue("d1", &cmd::get("./DevInfo/Mod")).unwrap();
        let b = s.enqueue("d1", &cmd::exec("./X", None, Some("c9"))).unwrap();
        let c = s.enqueue("d2", &cmd::delete("./y")).unwrap();
        assert_eq!(s.operation(a).unwrap().unwrap().state, OpState::Queued);
        let ops = s.next_operations("d1").unwrap();
        assert_eq!(ops.iter().map(|o| o.op_id).collect::<Vec<_>>(), vec![a, b]);
        assert_eq!(s.operation(a).unwrap().unwrap().state, OpState::Sent);
        // Not answered yet: handed out again (a crashed session), attempts not double counted.
        assert_eq!(s.next_operations("d1").unwrap().len(), 2);
        assert_eq!(s.operation(a).unwrap().unwrap().attempts, 1);
        s.complete("d1", &OperationOutcome::new(a)).unwrap();
        let mut acc = OperationOutcome::new(b);
        acc.state = OutcomeState::Accepted { correlator: "c9".into() };
        s.complete("d1", &acc).unwrap();
        assert!(s.next_operations("d1").unwrap().is_empty());
        assert_eq!(s.find_accepted("d1", "c9").unwrap(), Some(acc));
        assert_eq!(s.find_accepted("d2", "c9").unwrap(), None);
        s.complete("d2", &OperationOutcome::not_sent(c, NotSentReason::TooLarge)).unwrap();
        assert_eq!(s.operation(c).unwrap().unwrap().state, OpState::NotSent);
        assert_eq!(s.operations(Some("d1")).unwrap().len(), 2);
        assert_eq!(s.operations(None).unwrap().len(), 3);
        assert!(matches!(s.complete("d2", &OperationOutcome::new(a)), Err(StoreError::NotFound(_))));
    }

    fn open_with_message(id: i64, device: &str, raw: &[u8]) -> Vec<Write> {
        vec![
            Write::OpenSession { id, device_id: device.into(), session_id: "1".into() },
            Write::Message { session: id, entry: TranscriptEntry::new(Direction::In, None, raw) },
        ]
    }

    #[test]
    fn a_batch_lands_whole_or_not_at_all() {
        let s = SqliteStore::in_memory().unwrap();
        s.put_device(&rec("d1")).unwrap();
        let a = s.enqueue("d1", &cmd::get("./DevInfo/Mod")).unwrap();
        let id = s.reserve_session_id().unwrap();
        let mut w = open_with_message(id, "d1", b"m1");
        w.push(Write::ClientNonce { device_id: "d1".into(), nonce: b"c2".to_vec() });
        // Missing records are skipped, the rest lands.
        w.push(Write::ClientNonce { device_id: "nobody".into(), nonce: b"x".to_vec() });
        w.push(Write::MarkSent { op_ids: vec![a] });
        w.push(Write::MarkSent { op_ids: vec![a] });
        s.apply(&w).unwrap();
        assert_eq!(s.device("d1").unwrap().unwrap().record.client.nonce, b"c2");
        let op = s.operation(a).unwrap().unwrap();
        assert_eq!((op.state, op.attempts), (OpState::Sent, 1));
        assert_eq!(s.pending_operations("d1").unwrap().len(), 1);
        // A failing write (a message for a session that does not exist) takes the batch with it.
        let id2 = s.reserve_session_id().unwrap();
        assert!(id2 > id);
        let mut bad = open_with_message(id2, "d1", b"m2");
        bad.push(Write::Complete { device_id: "d1".into(), outcome: OperationOutcome::new(a) });
        bad.push(Write::Message {
            session: id2 + 1000,
            entry: TranscriptEntry::new(Direction::Out, None, b"x"),
        });
        assert!(s.apply(&bad).is_err());
        assert_eq!(s.sessions(None).unwrap().len(), 1);
        assert_eq!(s.operation(a).unwrap().unwrap().state, OpState::Sent);
        assert!(s.apply(&[]).is_ok());
    }

    #[test]
    fn concurrent_batches_all_land_and_ids_stay_unique() {
        let dir = tempfile::tempdir().unwrap();
        let s = std::sync::Arc::new(SqliteStore::open(dir.path()).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for i in 0..40 {
                        let id = s.reserve_session_id().unwrap();
                        let mut w = open_with_message(id, &format!("d{t}"), format!("{t}/{i}").as_bytes());
                        if i % 10 == 9 {
                            // One bad batch now and then must not take the others with it.
                            w.push(Write::Message {
                                session: -1,
                                entry: TranscriptEntry::new(Direction::In, None, b""),
                            });
                            assert!(s.apply(&w).is_err());
                        } else {
                            s.apply(&w).unwrap();
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let sessions = s.sessions(None).unwrap();
        assert_eq!(sessions.len(), 8 * 36);
        for r in &sessions {
            let t = s.transcript(r.id).unwrap();
            assert_eq!(t.len(), 1);
            assert!(t[0].raw.starts_with(&r.device_id.as_bytes()[1..]));
        }
        drop(s);
        // Ids are not handed out again after a restart (the bad batches' ids included).
        let s = SqliteStore::open(dir.path()).unwrap();
        assert!(s.reserve_session_id().unwrap() > sessions.iter().map(|r| r.id).max().unwrap());
    }

    #[test]
    fn transcript_xml_is_rendered_when_read() {
        use m2msim_codec::syncml::{DmVersion, SyncHdr};
        let s = SqliteStore::in_memory().unwrap();
        let m = SyncMl::new(SyncHdr::new(DmVersion::V1_2, "1", 1, "http://srv/dm", "IMEI:1"));
        let wbxml = m.encode(&Wire::wbxml(Profile::rtk())).unwrap();
        let id = s.open_session("IMEI:1", "1").unwrap();
        let e = TranscriptEntry::new(Direction::In, Some("application/vnd.syncml.dm+wbxml"), &wbxml);
        assert_eq!(e.xml, None);
        s.append_message(id, &e).unwrap();
        let t = s.transcript(id).unwrap();
        assert_eq!(t[0].raw, wbxml);
        assert_eq!(t[0].xml.as_deref(), Some(m.to_xml(&Profile::rtk()).unwrap().as_str()));
    }

    #[test]
    fn sessions_transcripts_and_alerts() {
        let s = SqliteStore::in_memory().unwrap();
        let id = s.open_session("d1", "1").unwrap();
        let e = TranscriptEntry::new(Direction::In, Some("text/plain"), b"not syncml");
        assert_eq!(e.xml, None);
        s.append_message(id, &e).unwrap();
        s.close_session(id, "completed").unwrap();
        assert_eq!(s.transcript(id).unwrap(), vec![e]);
        let list = s.sessions(Some("d1")).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].outcome.as_deref(), Some("completed"));
        let alert = ReceivedAlert { code: AlertCode::GENERIC_ALERT, correlator: None, items: Vec::new() };
        s.record_alert("d1", Some(id), &alert).unwrap();
        assert_eq!(s.alerts("d1").unwrap(), vec![alert]);
    }
}

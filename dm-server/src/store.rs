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

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use m2msim_codec::syncml::tree::Profile;
use m2msim_codec::syncml::{Command, DevInfo, SyncMl, Wire};
use m2msim_codec::xml::Mode;
use rusqlite::{Connection, OptionalExtension as _, params};
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
    /// The message as XML (RTK profile) when it decodes, whatever its wire encoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xml: Option<String>,
    /// Why it was rejected, for a request the server refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl TranscriptEntry {
    /// An entry for `raw`, decoded to XML when it is a SyncML message.
    #[must_use]
    pub fn new(direction: Direction, content_type: Option<&str>, raw: &[u8]) -> Self {
        let xml =
            SyncMl::decode(raw, Mode::Lenient).ok().and_then(|d| d.message.to_xml(&Profile::rtk()).ok());
        Self { direction, content_type: content_type.map(str::to_owned), raw: raw.to_vec(), xml, note: None }
    }
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
    /// A session's transcript in order.
    ///
    /// # Errors
    /// The store failed.
    fn transcript(&self, id: i64) -> StoreResult<Vec<TranscriptEntry>>;
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
/// with its schema on first use, in WAL mode (see the module documentation).
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore { .. }")
    }
}

/// The database file name inside the data directory.
pub const DB_FILE: &str = "m2msim-dm-server.sqlite3";

impl SqliteStore {
    /// Opens (creating when needed) the store in `data_dir`.
    ///
    /// # Errors
    /// The directory or database cannot be created or migrated.
    pub fn open(data_dir: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(data_dir)?;
        let conn = Connection::open(data_dir.join(DB_FILE))?;
        Self::init(conn)
    }

    /// A store in memory (tests, throw-away servers).
    ///
    /// # Errors
    /// SQLite fails.
    pub fn in_memory() -> StoreResult<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> StoreResult<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
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
        Ok(Self { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn update_record(&self, device_id: &str, f: impl FnOnce(&mut DeviceRecord)) -> StoreResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let rec: Option<String> = tx
            .query_row("SELECT record FROM devices WHERE device_id = ?1", [device_id], |r| r.get(0))
            .optional()?;
        let Some(rec) = rec else { return Err(StoreError::NotFound("device")) };
        let mut rec: DeviceRecord = serde_json::from_str(&rec)?;
        f(&mut rec);
        tx.execute(
            "UPDATE devices SET record = ?2 WHERE device_id = ?1",
            params![device_id, serde_json::to_string(&rec)?],
        )?;
        tx.commit()?;
        Ok(())
    }
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

impl Store for SqliteStore {
    fn put_device(&self, record: &DeviceRecord) -> StoreResult<()> {
        self.conn().execute(
            "INSERT INTO devices (device_id, record) VALUES (?1, ?2)
             ON CONFLICT(device_id) DO UPDATE SET record = excluded.record",
            params![record.device_id, serde_json::to_string(record)?],
        )?;
        Ok(())
    }

    fn device(&self, device_id: &str) -> StoreResult<Option<DeviceSummary>> {
        let row = self
            .conn()
            .query_row(
                "SELECT record, dm_version, wire, dev_info FROM devices WHERE device_id = ?1",
                [device_id],
                device_row,
            )
            .optional()?;
        row.map(to_summary).transpose()
    }

    fn devices(&self) -> StoreResult<Vec<DeviceSummary>> {
        let conn = self.conn();
        let mut st =
            conn.prepare("SELECT record, dm_version, wire, dev_info FROM devices ORDER BY device_id")?;
        let rows = st.query_map([], device_row)?.collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(to_summary).collect()
    }

    fn set_client_nonce(&self, device_id: &str, nonce: &[u8]) -> StoreResult<()> {
        self.update_record(device_id, |r| r.client.nonce = nonce.to_vec())
    }

    fn set_server_nonce(&self, device_id: &str, nonce: &[u8]) -> StoreResult<()> {
        self.update_record(device_id, |r| {
            if let Some(s) = r.server.as_mut() {
                s.nonce = nonce.to_vec();
            }
        })
    }

    fn record_dev_info(&self, device_id: &str, info: &DevInfo) -> StoreResult<()> {
        self.conn().execute(
            "UPDATE devices SET dev_info = ?2 WHERE device_id = ?1",
            params![device_id, serde_json::to_string(info)?],
        )?;
        Ok(())
    }

    fn record_wire(&self, device_id: &str, dm_version: &str, wire: &Wire) -> StoreResult<()> {
        self.conn().execute(
            "UPDATE devices SET dm_version = ?2, wire = ?3 WHERE device_id = ?1",
            params![device_id, dm_version, serde_json::to_string(wire)?],
        )?;
        Ok(())
    }

    fn enqueue(&self, device_id: &str, command: &Command) -> StoreResult<OpId> {
        let conn = self.conn();
        let now = unix_now();
        conn.execute(
            "INSERT INTO operations (device_id, command, state, created, updated) VALUES (?1, ?2, 'queued', ?3, ?3)",
            params![device_id, serde_json::to_string(command)?, now],
        )?;
        Ok(OpId(u64::try_from(conn.last_insert_rowid()).unwrap_or(0)))
    }

    fn next_operations(&self, device_id: &str) -> StoreResult<Vec<Operation>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let rows = {
            let mut st = tx.prepare(&format!(
                "SELECT {OP_COLS} FROM operations WHERE device_id = ?1 AND state IN ('queued', 'sent') ORDER BY op_id"
            ))?;
            st.query_map([device_id], op_row)?.collect::<Result<Vec<_>, _>>()?
        };
        let mut ops = Vec::with_capacity(rows.len());
        for row in rows {
            let rec = to_op(row)?;
            if rec.state == OpState::Queued {
                tx.execute(
                    "UPDATE operations SET state = 'sent', attempts = attempts + 1, updated = ?2 WHERE op_id = ?1",
                    params![op_key(rec.op_id), unix_now()],
                )?;
            }
            ops.push(Operation::new(rec.op_id, rec.command));
        }
        tx.commit()?;
        Ok(ops)
    }

    fn complete(&self, device_id: &str, outcome: &OperationOutcome) -> StoreResult<()> {
        let (state, correlator) = match &outcome.state {
            OutcomeState::Done => (OpState::Done, None),
            OutcomeState::Accepted { correlator } => (OpState::Accepted, Some(correlator.as_str())),
            OutcomeState::NotSent { .. } => (OpState::NotSent, None),
        };
        let n = self.conn().execute(
            "UPDATE operations SET state = ?3, correlator = ?4, outcome = ?5, updated = ?6
             WHERE op_id = ?1 AND device_id = ?2",
            params![
                op_key(outcome.op_id),
                device_id,
                state.as_str(),
                correlator,
                serde_json::to_string(outcome)?,
                unix_now()
            ],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound("operation"));
        }
        Ok(())
    }

    fn find_accepted(&self, device_id: &str, correlator: &str) -> StoreResult<Option<OperationOutcome>> {
        let o: Option<String> = self
            .conn()
            .query_row(
                "SELECT outcome FROM operations WHERE device_id = ?1 AND state = 'accepted' AND correlator = ?2
                 ORDER BY op_id LIMIT 1",
                [device_id, correlator],
                |r| r.get(0),
            )
            .optional()?;
        Ok(o.map(|o| serde_json::from_str(&o)).transpose()?)
    }

    fn operation(&self, op_id: OpId) -> StoreResult<Option<OperationRecord>> {
        let row = self
            .conn()
            .query_row(&format!("SELECT {OP_COLS} FROM operations WHERE op_id = ?1"), [op_key(op_id)], op_row)
            .optional()?;
        row.map(to_op).transpose()
    }

    fn operations(&self, device_id: Option<&str>) -> StoreResult<Vec<OperationRecord>> {
        let conn = self.conn();
        let rows = match device_id {
            Some(d) => {
                let mut st = conn.prepare(&format!(
                    "SELECT {OP_COLS} FROM operations WHERE device_id = ?1 ORDER BY op_id"
                ))?;
                st.query_map([d], op_row)?.collect::<Result<Vec<_>, _>>()?
            }
            None => {
                let mut st = conn.prepare(&format!("SELECT {OP_COLS} FROM operations ORDER BY op_id"))?;
                st.query_map([], op_row)?.collect::<Result<Vec<_>, _>>()?
            }
        };
        rows.into_iter().map(to_op).collect()
    }

    fn record_alert(&self, device_id: &str, session: Option<i64>, alert: &ReceivedAlert) -> StoreResult<()> {
        self.conn().execute(
            "INSERT INTO alerts (device_id, session, alert, received) VALUES (?1, ?2, ?3, ?4)",
            params![device_id, session, serde_json::to_string(alert)?, unix_now()],
        )?;
        Ok(())
    }

    fn alerts(&self, device_id: &str) -> StoreResult<Vec<ReceivedAlert>> {
        let conn = self.conn();
        let mut st = conn.prepare("SELECT alert FROM alerts WHERE device_id = ?1 ORDER BY id")?;
        let rows = st.query_map([device_id], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
        rows.iter().map(|a| Ok(serde_json::from_str(a)?)).collect()
    }

    fn open_session(&self, device_id: &str, session_id: &str) -> StoreResult<i64> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO sessions (device_id, session_id, started) VALUES (?1, ?2, ?3)",
            params![device_id, session_id, unix_now()],
        )?;
        Ok(conn.last_insert_rowid())
    }

    fn close_session(&self, id: i64, outcome: &str) -> StoreResult<()> {
        self.conn().execute("UPDATE sessions SET outcome = ?2 WHERE id = ?1", params![id, outcome])?;
        Ok(())
    }

    fn append_message(&self, id: i64, e: &TranscriptEntry) -> StoreResult<()> {
        let dir = match e.direction {
            Direction::In => "in",
            Direction::Out => "out",
        };
        self.conn().execute(
            "INSERT INTO messages (session, direction, content_type, raw, xml, note, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![id, dir, e.content_type, e.raw, e.xml, e.note, unix_now()],
        )?;
        Ok(())
    }

    fn sessions(&self, device_id: Option<&str>) -> StoreResult<Vec<SessionRecord>> {
        let conn = self.conn();
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
        Ok(match device_id {
            Some(d) => conn
                .prepare(&format!("{cols} WHERE device_id = ?1 ORDER BY id DESC"))?
                .query_map([d], map)?
                .collect::<Result<Vec<_>, _>>()?,
            None => conn
                .prepare(&format!("{cols} ORDER BY id DESC"))?
                .query_map([], map)?
                .collect::<Result<Vec<_>, _>>()?,
        })
    }

    fn transcript(&self, id: i64) -> StoreResult<Vec<TranscriptEntry>> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT direction, content_type, raw, xml, note FROM messages WHERE session = ?1 ORDER BY id",
        )?;
        let rows = st
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
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
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

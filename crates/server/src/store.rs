//! Saved scenarios and the audit table in SQLite (WAL mode). A saved scenario that answered
//! 2xx is on disk (`synchronous=FULL`: it survives `kill -9` and a power cut); an audit row
//! is committed before its answer (`synchronous=NORMAL`: it survives `kill -9`, not a power
//! cut, and costs no fsync on every simulation).

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};

use crate::wire::{ChangeBody, SavedScenario};

/// The database; one connection behind a mutex (writes are rare and short next to an
/// evaluation), used from blocking threads only.
#[derive(Debug, Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    /// The audit table's own connection, synced less often.
    audit: Arc<Mutex<Connection>>,
}

/// One audited call: never payout data, never a token.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub role: String,
    pub endpoint: String,
    pub plan_hash: Option<String>,
    pub scenario_hash: Option<String>,
    pub status: u16,
    pub duration_ms: u64,
}

/// A scenario to save (the id and time come from the database).
#[derive(Debug, Clone)]
pub struct NewScenario {
    pub name: String,
    pub plan: String,
    pub data: String,
    pub plan_hash: String,
    pub data_hash: String,
    pub scenario_hash: String,
    pub changes: Vec<ChangeBody>,
    pub top: Option<u64>,
    pub saved_by: String,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS scenarios (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    plan TEXT NOT NULL,
    data TEXT NOT NULL,
    plan_hash TEXT NOT NULL,
    data_hash TEXT NOT NULL,
    scenario_hash TEXT NOT NULL,
    changes TEXT NOT NULL,
    top INTEGER,
    saved_by TEXT NOT NULL,
    saved_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    role TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    plan_hash TEXT,
    scenario_hash TEXT,
    status INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL
);
";

impl Store {
    /// Opens (or creates) the database file.
    pub fn open(path: &Path) -> anyhow::Result<Store> {
        let open = || Connection::open(path).with_context(|| format!("cannot open the database {}", path.display()));
        Store::init(open()?, open()?)
    }

    /// A database in memory (tests; the audit rows in a second one).
    pub fn in_memory() -> anyhow::Result<Store> {
        Store::init(Connection::open_in_memory()?, Connection::open_in_memory()?)
    }

    fn init(conn: Connection, audit: Connection) -> anyhow::Result<Store> {
        // WAL lets readers go on while a write commits. FULL syncs the WAL at every commit:
        // NORMAL already survives `kill -9` (the WAL is in the OS's cache), but not a power
        // cut, and a saved scenario is rare enough that one fsync per save is nothing next to
        // the evaluation it follows. Audit rows come with every simulation: NORMAL keeps
        // them through a crash of the server without an fsync per request.
        for (conn, synchronous) in [(&conn, "FULL"), (&audit, "NORMAL")] {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", synchronous)?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            conn.execute_batch(SCHEMA)?;
        }
        Ok(Store { conn: Arc::new(Mutex::new(conn)), audit: Arc::new(Mutex::new(audit)) })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection usable: SQLite rolled back.
        self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn audit_conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.audit.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn save(&self, s: &NewScenario) -> anyhow::Result<SavedScenario> {
        let changes = serde_json::to_string(&s.changes)?;
        let conn = self.conn();
        conn.execute(
            "INSERT INTO scenarios (name, plan, data, plan_hash, data_hash, scenario_hash, changes, top, saved_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                s.name,
                s.plan,
                s.data,
                s.plan_hash,
                s.data_hash,
                s.scenario_hash,
                changes,
                s.top.map(|t| t as i64),
                s.saved_by
            ],
        )?;
        let id = conn.last_insert_rowid();
        drop(conn);
        self.get(id)?.context("the saved scenario is not in the database")
    }

    pub fn get(&self, id: i64) -> anyhow::Result<Option<SavedScenario>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(&format!("{SELECT} WHERE id = ?1"))?;
        Ok(statement.query_row(params![id], row).optional()?.transpose()?)
    }

    pub fn list(&self) -> anyhow::Result<Vec<SavedScenario>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(&format!("{SELECT} ORDER BY id"))?;
        let rows = statement.query_map([], row)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    pub fn audit(&self, entry: &AuditEntry) -> anyhow::Result<()> {
        self.audit_conn().execute(
            "INSERT INTO audit (role, endpoint, plan_hash, scenario_hash, status, duration_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                entry.role,
                entry.endpoint,
                entry.plan_hash,
                entry.scenario_hash,
                entry.status,
                entry.duration_ms as i64
            ],
        )?;
        Ok(())
    }

    /// How many audit rows there are (tests and operators).
    pub fn audit_count(&self) -> anyhow::Result<u64> {
        let n: i64 = self.audit_conn().query_row("SELECT count(*) FROM audit", [], |r| r.get(0))?;
        Ok(n as u64)
    }
}

const SELECT: &str =
    "SELECT id, name, plan, data, plan_hash, data_hash, scenario_hash, changes, top, saved_by, saved_at FROM scenarios";

type Row = Result<SavedScenario, serde_json::Error>;

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let changes: String = r.get(7)?;
    let top: Option<i64> = r.get(8)?;
    let saved = SavedScenario {
        id: r.get(0)?,
        name: r.get(1)?,
        plan: r.get(2)?,
        data: r.get(3)?,
        plan_hash: r.get(4)?,
        data_hash: r.get(5)?,
        scenario_hash: r.get(6)?,
        changes: Vec::new(),
        top: top.map(|t| t as u64),
        saved_by: r.get(9)?,
        saved_at: r.get(10)?,
    };
    Ok(serde_json::from_str::<Vec<ChangeBody>>(&changes).map(|changes| SavedScenario { changes, ..saved }))
}

/// Writes audit rows on one thread of its own, fed by a channel: a burst of requests makes
/// no burst of blocking threads (each with its allocator's caches, the memory the load
/// benchmark saw grow with the thread count), and rows are written one after another as the
/// audit connection's mutex would have had them anyway.
#[derive(Debug, Clone)]
pub struct AuditWriter {
    queue: std::sync::mpsc::Sender<(AuditEntry, tokio::sync::oneshot::Sender<anyhow::Result<()>>)>,
}

impl AuditWriter {
    /// Starts the writer thread; it ends when the last clone of the writer is dropped.
    pub fn start(store: Store) -> anyhow::Result<AuditWriter> {
        let (queue, rows) =
            std::sync::mpsc::channel::<(AuditEntry, tokio::sync::oneshot::Sender<anyhow::Result<()>>)>();
        std::thread::Builder::new()
            .name("accrue-audit".into())
            .spawn(move || {
                for (entry, done) in rows {
                    // The caller may have gone (its request was dropped): nothing to tell.
                    let _ = done.send(store.audit(&entry));
                }
            })
            .context("cannot start the audit writer")?;
        Ok(AuditWriter { queue })
    }

    /// Appends `entry` and waits until it is committed.
    pub async fn write(&self, entry: AuditEntry) -> anyhow::Result<()> {
        let (done, written) = tokio::sync::oneshot::channel();
        self.queue.send((entry, done)).map_err(|_| anyhow::anyhow!("the audit writer has stopped"))?;
        written.await.map_err(|_| anyhow::anyhow!("the audit writer has stopped"))?
    }
}

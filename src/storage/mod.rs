//! Storage through sqlx: SQLite in the conf dir by default, PostgreSQL when `DATABASE_URL` says
//! `postgres://...`, so several gateway instances can share one database. One set of migrations and one
//! set of queries serve both (the `Any` driver; `$n` placeholders, which both accept).

mod clob;
mod idempotency;
mod ledger;
mod pools;
mod quotes;
mod tokens;
mod wallets;

use std::collections::HashMap;
use std::hash::Hash;
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use clob::{BookSync, StoredFill, StoredOrder};
pub use idempotency::{Claim, IDEMPOTENCY_WINDOW_MS, KEPT_ANSWER_MAX_BYTES, MAX_IDEMPOTENCY_KEYS, this_process};
pub use ledger::SenderGuard;
pub use quotes::{MAX_STORED_QUOTES, Taken};
pub use tokens::TokenRow;
pub use wallets::WalletRow;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0} already exists")]
    Duplicate(String),
    #[error("the transaction ledger: {0}")]
    Ledger(#[from] chains::tx::LedgerError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct Storage {
    pool: AnyPool,
    /// SQLite: the connection whose commits wait for the disk, for the ledger's write-ahead records (the pool's
    /// do not: a process killed loses none of them, a power cut may lose the last few).
    durable: Option<AnyPool>,
    backend: Backend,
    lists: Arc<ListCache>,
    quotes: quotes::QuoteWriter,
    /// PostgreSQL: the connection holding this process's liveness lock, for as long as the process runs.
    _alive: Option<Arc<Mutex<sqlx::AnyConnection>>>,
}

/// Token and pool additions are read on every quote: they are kept in memory, dropped on this instance's own
/// writes and re-read after a few seconds, so additions through another instance show up soon too.
#[derive(Debug, Default)]
struct ListCache {
    tokens: Held<String, TokenRow>,
    /// By (connector, network).
    pools: Held<(String, String), crate::config::ListedPool>,
    /// Counts every change to the lists held, so what was computed from them can tell it is still current.
    epoch: AtomicU64,
}

impl ListCache {
    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Holds a list just read, unless the lists changed since the read began (`since`): a read that raced an
    /// own write may predate it, so it is answered but not held. Only a list that differs from the one held
    /// before moves the epoch: re-reading an unchanged list every few seconds invalidates nothing, and a list
    /// read where none was held is either the first or follows `forget`, which moved it already.
    fn keep<K: Hash + Eq, T: PartialEq>(&self, map: &Held<K, T>, key: K, read: Vec<T>, since: u64) -> Arc<Vec<T>> {
        let mut map = map.lock().expect("list cache");
        if self.epoch() != since {
            return Arc::new(read);
        }
        if let Some((at, held)) = map.get_mut(&key)
            && **held == read
        {
            *at = Instant::now();
            return held.clone();
        }
        let list = Arc::new(read);
        if map.insert(key, (Instant::now(), list.clone())).is_some() {
            self.epoch.fetch_add(1, Ordering::SeqCst);
        }
        list
    }

    fn forget<K: Hash + Eq, V>(&self, map: &Mutex<HashMap<K, (Instant, V)>>, key: &K) {
        map.lock().expect("list cache").remove(key);
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }
}

/// Lists by key, each with when it was read.
type Held<K, T> = Mutex<HashMap<K, (Instant, Arc<Vec<T>>)>>;

/// How long a list read from the database is used before it is read again.
pub const LIST_TTL: Duration = Duration::from_secs(3);

fn cached<K: Hash + Eq + std::borrow::Borrow<Q>, Q: Hash + Eq + ?Sized, V: Clone>(
    map: &Mutex<HashMap<K, (Instant, V)>>,
    key: &Q,
) -> Option<V> {
    map.lock().expect("list cache").get(key).filter(|(at, _)| at.elapsed() < LIST_TTL).map(|(_, v)| v.clone())
}

/// The database a conf dir uses when `DATABASE_URL` is not set.
pub fn default_url(conf_dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", conf_dir.join("gateway.sqlite").display())
}

/// Creates a SQLite database file that does not exist yet readable by its owner only: it holds the wallets'
/// keystores (encrypted, but a guessable passphrase should not be helped), and SQLite gives its journal files the
/// same permissions. An existing file keeps the permissions its owner chose.
fn create_owner_only(url: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(':') {
        return;
    }
    // Already there, or not creatable here: sqlx says what is wrong when it opens it.
    let _ = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path);
}

impl Storage {
    /// Connects with the default pool size and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Storage, StorageError> {
        Storage::connect_with(url, crate::config::DEFAULT_DATABASE_MAX_CONNECTIONS).await
    }

    /// Connects, with at most `max_connections` to PostgreSQL, and brings the schema up to date.
    pub async fn connect_with(url: &str, max_connections: u32) -> Result<Storage, StorageError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        if backend == Backend::Sqlite {
            create_owner_only(url);
        }
        let options = AnyConnectOptions::from_str(url)?;
        // SQLite takes one writer at a time whatever the pool; PostgreSQL as many as configured.
        let connections = if backend == Backend::Sqlite { 4 } else { max_connections };
        let pool = sqlite_tuned(AnyPoolOptions::new().max_connections(connections), backend, "NORMAL")
            .connect_with(options.clone())
            .await?;
        if backend == Backend::Sqlite {
            pool.execute("PRAGMA journal_mode = WAL").await?;
            reclaim_space_as_rows_go(&pool).await?;
        }
        let durable = match backend {
            Backend::Sqlite => Some(
                sqlite_tuned(AnyPoolOptions::new().max_connections(1), backend, "FULL").connect_with(options).await?,
            ),
            Backend::Postgres => None,
        };
        sqlx::migrate!("src/storage/migrations").run(&pool).await?;
        let quotes = quotes::QuoteWriter::start(pool.clone(), backend);
        let alive = match backend {
            Backend::Postgres => idempotency::hold_liveness(&pool).await?.map(|conn| Arc::new(Mutex::new(conn))),
            Backend::Sqlite => None,
        };
        Ok(Storage { pool, durable, backend, lists: Arc::default(), quotes, _alive: alive })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Changes with every change to the token and pool lists this instance holds in memory.
    pub fn lists_epoch(&self) -> u64 {
        self.lists.epoch()
    }

    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(durable) = &self.durable {
            durable.close().await;
        }
    }
}

/// A pool whose SQLite connections wait for busy writers, keep foreign keys, and commit with `synchronous`. They
/// are not pinged before each use, as connections to a server are: one to a file does not go stale, and the ping
/// is a trip to its worker thread on the way of every write-ahead record.
fn sqlite_tuned(options: AnyPoolOptions, backend: Backend, synchronous: &'static str) -> AnyPoolOptions {
    options.test_before_acquire(backend != Backend::Sqlite).after_connect(move |conn, _| {
        Box::pin(async move {
            if backend == Backend::Sqlite {
                conn.execute("PRAGMA busy_timeout = 10000").await?;
                conn.execute("PRAGMA foreign_keys = ON").await?;
                conn.execute(sqlx::AssertSqlSafe(format!("PRAGMA synchronous = {synchronous}"))).await?;
            }
            Ok(())
        })
    })
}

/// SQLite keeps the pages of deleted rows in its file unless told otherwise: with incremental auto-vacuum the
/// sweeps give them back ([`sweep`]). A database made before this is rewritten once to turn it on.
async fn reclaim_space_as_rows_go(pool: &AnyPool) -> Result<(), sqlx::Error> {
    const INCREMENTAL: i64 = 2;
    let mode: i64 = sqlx::query_scalar("PRAGMA auto_vacuum").fetch_one(pool).await?;
    if mode != INCREMENTAL {
        // Set and applied on one connection: the setting is that connection's until VACUUM writes it in the file.
        let mut connection = pool.acquire().await?;
        connection.execute("PRAGMA auto_vacuum = INCREMENTAL").await?;
        connection.execute("VACUUM").await?;
    }
    Ok(())
}

/// Rows one sweep statement deletes at most, so a sweep never holds the database for long.
const SWEEP_BATCH: i64 = 500;

/// Runs `delete` (which deletes at most `$2` rows, with `$1` bound to `bound`) until it deletes fewer, then gives
/// SQLite's freed pages back to the file system; how many rows went.
async fn sweep(pool: &AnyPool, backend: Backend, delete: &'static str, bound: i64) -> Result<u64, sqlx::Error> {
    let mut deleted = 0;
    loop {
        let done = sqlx::query(delete).bind(bound).bind(SWEEP_BATCH).execute(pool).await?.rows_affected();
        deleted += done;
        if done < SWEEP_BATCH as u64 {
            break;
        }
    }
    if backend == Backend::Sqlite && deleted > 0 {
        pool.execute("PRAGMA incremental_vacuum").await?;
    }
    Ok(deleted)
}

/// A unique-constraint violation becomes `Duplicate(what)`; anything else stays a database error.
fn duplicate_as(what: impl Into<String>) -> impl FnOnce(sqlx::Error) -> StorageError {
    move |error| match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StorageError::Duplicate(what.into()),
        _ => StorageError::Database(error),
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

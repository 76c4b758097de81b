//! Storage through sqlx: SQLite in the conf dir by default, PostgreSQL when `DATABASE_URL` says
//! `postgres://...`, so several gateway instances can share one database. One set of migrations and one
//! set of queries serve both (the `Any` driver; `$n` placeholders, which both accept).

mod clob;
mod ledger;
mod pools;
mod quotes;
mod tokens;
mod wallets;

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use clob::{StoredFill, StoredOrder};
pub use ledger::SenderGuard;
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct Storage {
    pool: AnyPool,
    backend: Backend,
    lists: Arc<ListCache>,
    quotes: quotes::QuoteWriter,
}

/// Token and pool additions are read on every quote: they are kept in memory, dropped on this instance's own
/// writes and re-read after a few seconds, so additions through another instance show up soon too.
#[derive(Debug, Default)]
struct ListCache {
    tokens: Mutex<HashMap<String, TokensAt>>,
    /// By (connector, network).
    pools: Mutex<HashMap<(String, String), PoolsAt>>,
}

type TokensAt = (Instant, Arc<Vec<TokenRow>>);
type PoolsAt = (Instant, Arc<Vec<crate::config::ListedPool>>);

const LIST_TTL: Duration = Duration::from_secs(3);

fn cached<K: std::hash::Hash + Eq, V: Clone>(map: &Mutex<HashMap<K, (Instant, V)>>, key: &K) -> Option<V> {
    map.lock().expect("list cache").get(key).filter(|(at, _)| at.elapsed() < LIST_TTL).map(|(_, v)| v.clone())
}

/// The database a conf dir uses when `DATABASE_URL` is not set.
pub fn default_url(conf_dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", conf_dir.join("gateway.sqlite").display())
}

impl Storage {
    /// Connects and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Storage, StorageError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        let options = AnyConnectOptions::from_str(url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 10 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        if backend == Backend::Sqlite {
            pool.execute("PRAGMA journal_mode = WAL").await?;
        }
        sqlx::migrate!("src/storage/migrations").run(&pool).await?;
        let quotes = quotes::QuoteWriter::start(pool.clone());
        Ok(Storage { pool, backend, lists: Arc::default(), quotes })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
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

//! Idempotency keys: the first request with a key claims it, and its answer is kept for every retry.

use sqlx::{AnyPool, Row};

use super::{Backend, Storage, StorageError, now_ms};

/// How long a key and its answer are kept.
pub const IDEMPOTENCY_WINDOW_MS: i64 = 24 * 3_600_000;

/// Answers kept for retries are at most this long (a swap's is about 1 kB); a longer one keeps its status only.
pub const KEPT_ANSWER_MAX_BYTES: usize = 4 * 1024;
/// Keys kept at most: a flood of requests with new keys cannot fill the disk. A retry comes within minutes; the
/// oldest keys go first.
pub const MAX_IDEMPOTENCY_KEYS: i64 = 20_000;

/// What a claim on a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is this request's now.
    Claimed,
    /// An earlier request holds it: its fingerprint, the process serving it, and its answer once it has one
    /// (status, and the body unless it was too large to keep).
    Held { fingerprint: String, owner: String, answer: Option<(u16, Option<String>)>, claimed_at: i64 },
}

/// This process, as the owner of the keys it claims: a key held by another process on SQLite (one gateway per
/// file) was left by a run that stopped.
pub fn this_process() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| uuid::Uuid::new_v4().simple().to_string())
}

/// The advisory lock key standing for a process's liveness on PostgreSQL.
fn liveness_key(process: &str) -> i64 {
    let hash = alloy::primitives::keccak256([b"gateway instance ".as_slice(), process.as_bytes()].concat());
    i64::from_be_bytes(hash[..8].try_into().expect("8 bytes"))
}

/// PostgreSQL: takes this process's liveness lock on a connection of its own, out of the pool, held for the
/// process's lifetime. PostgreSQL frees a session lock when its connection ends, so a process that dies (killed,
/// crashed, its machine gone) stops holding it at once, and another instance can tell. `None` when another
/// `Storage` of this process holds it already.
pub(super) async fn hold_liveness(pool: &AnyPool) -> Result<Option<sqlx::AnyConnection>, StorageError> {
    let mut conn = pool.acquire().await?.detach();
    let row = sqlx::query("SELECT pg_try_advisory_lock($1) AS locked")
        .bind(liveness_key(this_process()))
        .fetch_one(&mut conn)
        .await?;
    Ok(row.try_get::<bool, _>("locked")?.then_some(conn))
}

impl Storage {
    /// Whether the process `owner` (a key's holder) still runs: this one does; on SQLite (one gateway per file) no
    /// other does; on PostgreSQL, whether its liveness lock is still held.
    pub async fn process_alive(&self, owner: &str) -> Result<bool, StorageError> {
        if owner == this_process() {
            return Ok(true);
        }
        if self.backend == Backend::Sqlite {
            return Ok(false);
        }
        // Taken for this transaction only: free means nobody holds it, so the owner is gone.
        let mut transaction = self.pool.begin().await?;
        let row = sqlx::query("SELECT pg_try_advisory_xact_lock($1) AS free")
            .bind(liveness_key(owner))
            .fetch_one(&mut *transaction)
            .await?;
        let free: bool = row.try_get("free")?;
        transaction.rollback().await?;
        Ok(!free)
    }

    /// Claims `key` for a request with `fingerprint`, or tells who holds it. A key older than the window is
    /// free again.
    pub async fn claim_idempotency_key(&self, key: &str, fingerprint: &str) -> Result<Claim, StorageError> {
        let now = now_ms();
        sqlx::query("DELETE FROM idempotency_keys WHERE key = $1 AND created_at < $2")
            .bind(key)
            .bind(now - IDEMPOTENCY_WINDOW_MS)
            .execute(&self.pool)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (key, fingerprint, owner, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(fingerprint)
        .bind(this_process())
        .bind(now)
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 1 {
            self.forget_expired_idempotency_keys(now).await?;
            return Ok(Claim::Claimed);
        }
        match self.idempotency_key(key).await? {
            Some(held) => Ok(held),
            // Released between the insert and the read: try once more.
            None => Box::pin(self.claim_idempotency_key(key, fingerprint)).await,
        }
    }

    /// Who holds `key`, and its answer if there is one.
    pub async fn idempotency_key(&self, key: &str) -> Result<Option<Claim>, StorageError> {
        let row = sqlx::query(
            "SELECT fingerprint, owner, status_code, body, created_at FROM idempotency_keys WHERE key = $1",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let status = row.try_get::<Option<i64>, _>("status_code")?;
        let body = row.try_get::<Option<String>, _>("body")?;
        Ok(Some(Claim::Held {
            fingerprint: row.try_get("fingerprint")?,
            owner: row.try_get("owner")?,
            answer: status.map(|status| (status as u16, body)),
            claimed_at: row.try_get("created_at")?,
        }))
    }

    /// Keeps the answer to the request holding `key`: its status, and its body unless that is over
    /// [`KEPT_ANSWER_MAX_BYTES`] (a retry of such a request is answered from its transactions instead).
    pub async fn answer_idempotency_key(&self, key: &str, status: u16, body: &str) -> Result<(), StorageError> {
        sqlx::query("UPDATE idempotency_keys SET status_code = $1, body = $2 WHERE key = $3")
            .bind(status as i64)
            .bind((body.len() <= KEPT_ANSWER_MAX_BYTES).then_some(body))
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Keeps, with `key`, what its route needs to build its answer from its transactions' receipts.
    pub async fn keep_recipe(&self, key: &str, recipe: &str) -> Result<(), StorageError> {
        sqlx::query("UPDATE idempotency_keys SET recipe = $1 WHERE key = $2")
            .bind(recipe)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// What the route of the request holding `key` kept to build its answer, if it kept anything.
    pub async fn recipe(&self, key: &str) -> Result<Option<String>, StorageError> {
        let row = sqlx::query("SELECT recipe FROM idempotency_keys WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| row.try_get::<Option<String>, _>("recipe")).transpose()?.flatten())
    }

    /// Takes over `key`, held without an answer by the process `owner` that stopped having sent nothing, for a
    /// retry to run afresh; `false` when another retry took it first.
    pub async fn take_over_idempotency_key(&self, key: &str, owner: &str) -> Result<bool, StorageError> {
        let taken = sqlx::query(
            "UPDATE idempotency_keys SET owner = $1, created_at = $2, recipe = NULL
             WHERE key = $3 AND owner = $4 AND status_code IS NULL",
        )
        .bind(this_process())
        .bind(now_ms())
        .bind(key)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(taken.rows_affected() == 1)
    }

    /// Frees `key`: its request did nothing a retry could repeat.
    pub async fn release_idempotency_key(&self, key: &str) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE key = $1").bind(key).execute(&self.pool).await?;
        Ok(())
    }

    /// Deletes keys past the window, then the oldest beyond [`MAX_IDEMPOTENCY_KEYS`], at most once a minute per
    /// instance.
    async fn forget_expired_idempotency_keys(&self, now: i64) -> Result<(), StorageError> {
        use std::sync::atomic::{AtomicI64, Ordering};
        static LAST: AtomicI64 = AtomicI64::new(0);
        let last = LAST.load(Ordering::Relaxed);
        if now - last < 60_000 || LAST.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_err() {
            return Ok(());
        }
        let expired = "DELETE FROM idempotency_keys WHERE key IN \
                       (SELECT key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)";
        super::sweep(&self.pool, self.backend, expired, now - IDEMPOTENCY_WINDOW_MS).await?;
        let beyond = "DELETE FROM idempotency_keys WHERE key IN \
                      (SELECT key FROM idempotency_keys ORDER BY created_at DESC LIMIT $2 OFFSET $1)";
        super::sweep(&self.pool, self.backend, beyond, MAX_IDEMPOTENCY_KEYS).await?;
        Ok(())
    }
}

//! Router quotes, executable by id until they expire. A quote is answered before it is in the database: it is
//! kept in memory at once and written by one background task in batches (one commit for all quotes waiting), so
//! quoting costs no database round trip. Instances sharing the database see it once that batch commits, a
//! millisecond or so later. A quote lost to a crash before its batch commits is only a quote to ask for again.
//! The queue is bounded: when quotes arrive faster than the database takes them, quoting waits for room, so
//! memory stays flat under any load. The table is bounded too: expired quotes are swept, and past
//! [`MAX_STORED_QUOTES`] the oldest go first, so a flood of quotes cannot fill the disk.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::{AnyPool, Row};
use tokio::sync::mpsc;

use super::{Backend, Storage, StorageError, now_ms, sweep};

/// Quotes expired longer ago than this are deleted (until then, executing one says it expired).
const KEEP_EXPIRED_MS: i64 = 300_000;
const PURGE_EVERY: Duration = Duration::from_secs(60);
/// Quotes kept at most, from every instance on the database; past it the oldest are deleted, each time another
/// quarter of it was written here. About 2 kB each: 40 MB at most, plus a quarter.
pub const MAX_STORED_QUOTES: i64 = 20_000;
const MAX_BATCH: usize = 512;
/// Quotes waiting for the writer, at most.
const QUEUE_LIMIT: usize = 4 * MAX_BATCH;

struct Quote {
    id: String,
    payload: Arc<str>,
    expires_at_ms: i64,
}

/// Quotes not yet committed, by id.
type Unwritten = Arc<Mutex<HashMap<String, (Arc<str>, i64)>>>;

#[derive(Debug, Clone)]
pub(super) struct QuoteWriter {
    unwritten: Unwritten,
    queue: mpsc::Sender<Quote>,
}

impl QuoteWriter {
    /// Starts the writer task; it ends when the last `Storage` clone is dropped.
    pub(super) fn start(pool: AnyPool, backend: Backend) -> QuoteWriter {
        let unwritten = Unwritten::default();
        let (queue, receiver) = mpsc::channel(QUEUE_LIMIT);
        tokio::spawn(write_batches(pool, backend, receiver, unwritten.clone()));
        QuoteWriter { unwritten, queue }
    }
}

async fn write_batches(pool: AnyPool, backend: Backend, mut receiver: mpsc::Receiver<Quote>, unwritten: Unwritten) {
    let mut last_purge = Instant::now();
    let mut written_since_trim = 0;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut sweeping: Option<tokio::task::JoinHandle<()>> = None;
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match insert(&pool, &batch).await {
            Ok(()) => {
                let mut unwritten = unwritten.lock().expect("unwritten quotes");
                for quote in &batch {
                    unwritten.remove(&quote.id);
                }
                written_since_trim += batch.len() as i64;
            }
            // They stay answerable from memory on this instance until they expire.
            Err(error) => tracing::warn!(%error, quotes = batch.len(), "cannot store router quotes"),
        }
        batch.clear();
        let purge = last_purge.elapsed() >= PURGE_EVERY;
        if purge {
            last_purge = Instant::now();
            unwritten.lock().expect("unwritten quotes").retain(|_, (_, expires_at)| *expires_at >= now_ms());
        }
        if (purge || written_since_trim >= MAX_STORED_QUOTES / 4) && sweeping.as_ref().is_none_or(|s| s.is_finished()) {
            written_since_trim = 0;
            sweeping = Some(tokio::spawn(sweep_quotes_apart(pool.clone(), backend)));
        }
    }
}

/// A sweep beside the writer, not in its loop: a sweep of a quarter of [`MAX_STORED_QUOTES`] takes tens of
/// milliseconds, long enough for the queue to fill at 20,000 quotes/s and quoting to wait (router quotes' p99 at
/// 64 connections was 15-20× their p50). Apart, the batches go on between its statements.
async fn sweep_quotes_apart(pool: AnyPool, backend: Backend) {
    if let Err(error) = sweep_quotes(&pool, backend, MAX_STORED_QUOTES).await {
        tracing::warn!(%error, "cannot delete old quotes");
    }
}

/// Deletes the quotes expired past [`KEEP_EXPIRED_MS`], then the oldest beyond `cap`.
async fn sweep_quotes(pool: &AnyPool, backend: Backend, cap: i64) -> Result<(), sqlx::Error> {
    let expired = "DELETE FROM quotes WHERE id IN (SELECT id FROM quotes WHERE expires_at < $1 LIMIT $2)";
    sweep(pool, backend, expired, now_ms() - KEEP_EXPIRED_MS).await?;
    let beyond = "DELETE FROM quotes WHERE id IN (SELECT id FROM quotes ORDER BY expires_at DESC LIMIT $2 OFFSET $1)";
    sweep(pool, backend, beyond, cap).await?;
    Ok(())
}

async fn insert(pool: &AnyPool, batch: &[Quote]) -> Result<(), sqlx::Error> {
    let mut transaction = pool.begin().await?;
    for rows in batch.chunks(ROWS_PER_INSERT) {
        // Only placeholders are formatted into it; the values are bound.
        let mut insert = sqlx::query(sqlx::AssertSqlSafe(insert_rows(rows.len())));
        for quote in rows {
            insert = insert.bind(&quote.id).bind(&*quote.payload).bind(quote.expires_at_ms);
        }
        insert.execute(&mut *transaction).await?;
    }
    transaction.commit().await
}

/// Quotes inserted by one statement: a statement per quote made the writer the router's bottleneck (at 12,000
/// quotes/s the queue filled and quoting waited for it). Its parameters stay far under SQLite's 32,766 and
/// PostgreSQL's 65,535.
const ROWS_PER_INSERT: usize = 128;

/// The statement inserting `rows` quotes; a quote executed before its batch committed is in already
/// (`take_quote`).
fn insert_rows(rows: usize) -> String {
    let values: Vec<String> =
        (0..rows).map(|row| format!("(${}, ${}, ${})", 3 * row + 1, 3 * row + 2, 3 * row + 3)).collect();
    format!("INSERT INTO quotes (id, payload, expires_at) VALUES {} ON CONFLICT (id) DO NOTHING", values.join(", "))
}

impl Storage {
    /// Stores a quote; it can be read back at once, from this instance, and from others once written.
    pub async fn insert_quote(&self, id: &str, payload: &str, expires_at_ms: i64) {
        let payload: Arc<str> = payload.into();
        let quote = Quote { id: id.into(), payload: payload.clone(), expires_at_ms };
        // Room in the queue first, so the map of unwritten quotes is bounded by it too. The writer lives as
        // long as any Storage does, so the queue is open while `self` exists.
        let Ok(permit) = self.quotes.queue.reserve().await else { return };
        self.quotes.unwritten.lock().expect("unwritten quotes").insert(id.into(), (payload, expires_at_ms));
        permit.send(quote);
    }

    /// A stored quote's payload and expiry (unix ms).
    pub async fn quote(&self, id: &str) -> Result<Option<(String, i64)>, StorageError> {
        if let Some((payload, expires_at)) = self.quotes.unwritten.lock().expect("unwritten quotes").get(id) {
            return Ok(Some((payload.to_string(), *expires_at)));
        }
        let row = sqlx::query("SELECT payload, expires_at FROM quotes WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Ok((row.try_get("payload")?, row.try_get("expires_at")?))).transpose()
    }

    /// Takes a quote for its one execution, atomically across instances: `Taken::Now` for the first caller;
    /// `Taken::Before` (with the transaction it sent, once known) for every other, but the request with
    /// Idempotency-Key `request` taking again a quote it took and sent nothing for (it ran again after its
    /// gateway stopped).
    pub async fn take_quote(
        &self,
        id: &str,
        payload: &str,
        expires_at_ms: i64,
        request: Option<&str>,
    ) -> Result<Taken, StorageError> {
        // One not yet written by the batch writer is written now, so the take below sees it.
        sqlx::query("INSERT INTO quotes (id, payload, expires_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING")
            .bind(id)
            .bind(payload)
            .bind(expires_at_ms)
            .execute(&self.pool)
            .await?;
        let taken = sqlx::query(
            "UPDATE quotes SET taken_at = $1, taken_for = $3
             WHERE id = $2 AND (taken_at IS NULL OR (taken_by IS NULL AND taken_for = $3))",
        )
        .bind(now_ms())
        .bind(id)
        .bind(request)
        .execute(&self.pool)
        .await?;
        if taken.rows_affected() == 1 {
            return Ok(Taken::Now);
        }
        let row = sqlx::query("SELECT taken_by FROM quotes WHERE id = $1").bind(id).fetch_one(&self.pool).await?;
        Ok(Taken::Before(row.try_get("taken_by")?))
    }

    /// Records what a taken quote's execution sent: the transaction, or nothing (the quote is free again).
    pub async fn settle_quote(&self, id: &str, sent: Option<&str>) -> Result<(), StorageError> {
        let query = match sent {
            Some(hash) => sqlx::query("UPDATE quotes SET taken_by = $1 WHERE id = $2").bind(hash),
            None => sqlx::query("UPDATE quotes SET taken_at = NULL WHERE id = $1"),
        };
        query.bind(id).execute(&self.pool).await?;
        Ok(())
    }
}

/// Whether a quote was free to execute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    Now,
    /// Executed already, by the transaction named once it is known.
    Before(Option<String>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_statement_inserts_many_quotes_each_row_with_its_own_three_parameters() {
        assert_eq!(
            insert_rows(2),
            "INSERT INTO quotes (id, payload, expires_at) VALUES ($1, $2, $3), ($4, $5, $6) ON CONFLICT (id) DO NOTHING"
        );
        assert!(
            insert_rows(ROWS_PER_INSERT).ends_with(&format!("${}) ON CONFLICT (id) DO NOTHING", 3 * ROWS_PER_INSERT))
        );
    }

    #[tokio::test]
    async fn a_sweep_keeps_the_newest_quotes_up_to_the_cap_and_gives_sqlite_the_space_back() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::connect(&super::super::default_url(dir.path())).await.unwrap();
        let pool = &storage.pool;
        let now = now_ms();
        let quote = |id: String, expires_at_ms: i64| Quote { id, payload: "x".repeat(2000).into(), expires_at_ms };
        let mut quotes: Vec<Quote> = (0..1200).map(|i| quote(format!("q{i:04}"), now + i)).collect();
        quotes.extend((0..50).map(|i| quote(format!("expired{i}"), now - KEEP_EXPIRED_MS - 1)));
        insert(pool, &quotes).await.unwrap();
        let pages =
            |pragma: &'static str| async move { sqlx::query_scalar::<_, i64>(pragma).fetch_one(pool).await.unwrap() };
        let before = pages("PRAGMA page_count").await;

        sweep_quotes(pool, Backend::Sqlite, 1000).await.unwrap();
        let kept: Vec<String> = sqlx::query_scalar("SELECT id FROM quotes ORDER BY id").fetch_all(pool).await.unwrap();
        assert_eq!(kept.len(), 1000);
        assert_eq!((kept[0].as_str(), kept[999].as_str()), ("q0200", "q1199"), "the oldest went first");
        assert_eq!(pages("PRAGMA auto_vacuum").await, 2, "incremental");
        assert_eq!(pages("PRAGMA freelist_count").await, 0, "freed pages given back");
        assert!(pages("PRAGMA page_count").await < before, "the file shrank");
    }
}

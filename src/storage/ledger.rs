//! The transaction ledger over the database, as the chain layer's [`Ledger`] needs it.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes, U256};
use chains::tx::lifecycle::{Event, InclusionChange};
use chains::tx::{Inclusion, Ledger, LedgerError, LedgerTx, SenderSession, TxKind, TxStatus};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Row};

use super::{Backend, Storage, now_ms};

const COLUMNS: &str = "hash, chain_id, network, sender, nonce, raw, status, kind, label, block_number, block_hash, \
                       fee_wei, replaces, request_key, created_at";

/// The database failed.
fn failed(error: sqlx::Error) -> LedgerError {
    LedgerError::Database(error.to_string())
}

/// A column that does not read back as what was stored.
fn corrupt(column: &'static str) -> impl Fn(String) -> LedgerError {
    move |reason| LedgerError::Corrupt { column, reason }
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<LedgerTx, LedgerError> {
    let read = |column: &'static str, e: sqlx::Error| corrupt(column)(e.to_string());
    let text = |column: &'static str| row.try_get::<String, _>(column).map_err(|e| read(column, e));
    let optional_text = |column: &'static str| row.try_get::<Option<String>, _>(column).map_err(|e| read(column, e));
    let number = |column: &'static str| row.try_get::<Option<i64>, _>(column).map_err(|e| read(column, e));
    let hash = |column: &'static str, text: String| {
        text.parse::<B256>().map_err(|e: alloy::hex::FromHexError| corrupt(column)(e.to_string()))
    };
    let status = text("status")?;
    let kind = text("kind")?;
    // Rows recorded before block hashes were have none: the tracker records them again from their receipts.
    let inclusion = match (number("block_number")?, optional_text("block_hash")?, optional_text("fee_wei")?) {
        (Some(block), Some(block_hash), Some(fee)) => Some(Inclusion {
            block_number: block as u64,
            block_hash: hash("block_hash", block_hash)?,
            fee_wei: fee.parse::<U256>().map_err(|e| corrupt("fee_wei")(e.to_string()))?,
        }),
        _ => None,
    };
    Ok(LedgerTx {
        hash: hash("hash", text("hash")?)?,
        chain_id: number("chain_id")?.unwrap_or_default() as u64,
        network: text("network")?,
        sender: text("sender")?.parse().map_err(|e: alloy::hex::FromHexError| corrupt("sender")(e.to_string()))?,
        nonce: number("nonce")?.unwrap_or_default() as u64,
        raw: text("raw")?.parse::<Bytes>().map_err(|e| corrupt("raw")(e.to_string()))?,
        status: TxStatus::parse(&status).ok_or_else(|| corrupt("status")(format!("unknown status '{status}'")))?,
        kind: TxKind::parse(&kind).ok_or_else(|| corrupt("kind")(format!("unknown kind '{kind}'")))?,
        label: text("label")?,
        inclusion,
        replaces: optional_text("replaces")?.map(|text| hash("replaces", text)).transpose()?,
        request_key: optional_text("request_key")?,
        recorded_at: number("created_at")?.unwrap_or_default(),
    })
}

/// The statuses of a transaction with a receipt.
const MINED: [TxStatus; 2] = [TxStatus::Confirmed, TxStatus::Failed];

/// The statuses the `transactions_unsettled` index holds (migration 0010), in its order: a query whose condition
/// includes `status_in(&UNSETTLED)` reads that index.
const UNSETTLED: [TxStatus; 2] = [TxStatus::Signed, TxStatus::Pending];

/// `status IN ('a', 'b')` for statuses of ours (constants, never input).
fn status_in(statuses: &[TxStatus]) -> String {
    let names: Vec<String> = statuses.iter().map(|status| format!("'{}'", status.as_str())).collect();
    format!("status IN ({})", names.join(", "))
}

/// A connection from the pool, or the one a sender's lock holds.
enum Conn<'a> {
    Held(&'a mut PoolConnection<Any>),
    Pooled(PoolConnection<Any>),
}

impl Deref for Conn<'_> {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            Conn::Held(conn) => conn,
            Conn::Pooled(conn) => conn,
        }
    }
}

impl DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Conn::Held(conn) => conn,
            Conn::Pooled(conn) => conn,
        }
    }
}

/// The ledger's queries, each on one connection.
mod queries {
    use super::*;

    pub async fn record(conn: &mut AnyConnection, tx: &LedgerTx) -> Result<(), LedgerError> {
        let now = now_ms();
        // The same signed bytes again (a retry after the node refused them) are the same transaction: its row is
        // signed again rather than refused as a duplicate.
        let again = status_in(Event::SignedAgain.transition().from);
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO transactions (hash, chain_id, network, sender, nonce, raw, status, label, replaces, request_key,
             created_at, updated_at, kind)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (hash) DO UPDATE SET status = excluded.status, replaces = excluded.replaces,
             request_key = excluded.request_key, created_at = excluded.created_at, updated_at = excluded.updated_at
             WHERE transactions.{again}"
        )))
        .bind(tx.hash.to_string())
        .bind(tx.chain_id as i64)
        .bind(&tx.network)
        .bind(tx.sender.to_string())
        .bind(tx.nonce as i64)
        .bind(tx.raw.to_string())
        .bind(tx.status.as_str())
        .bind(&tx.label)
        .bind(tx.replaces.map(|hash| hash.to_string()))
        .bind(tx.request_key.clone())
        .bind(now)
        .bind(now)
        .bind(tx.kind.as_str())
        .execute(conn)
        .await
        .map_err(failed)?;
        Ok(())
    }

    /// What `event` does to `hash`, as the lifecycle's table says: one conditional update, so of two racing
    /// events only one that the table allows from the status it meets takes effect.
    pub async fn apply(conn: &mut AnyConnection, hash: B256, event: Event) -> Result<bool, LedgerError> {
        let change = event.transition();
        let from = status_in(change.from);
        let set = match change.inclusion {
            InclusionChange::Keep => "",
            InclusionChange::Clear => ", block_number = NULL, block_hash = NULL, fee_wei = NULL",
            InclusionChange::Set(_) => ", block_number = $4, block_hash = $5, fee_wei = $6",
        };
        let sql = format!("UPDATE transactions SET status = $1, updated_at = $2{set} WHERE hash = $3 AND {from}");
        let mut query =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(change.to.as_str()).bind(now_ms()).bind(hash.to_string());
        if let InclusionChange::Set(inclusion) = change.inclusion {
            query = query
                .bind(inclusion.block_number as i64)
                .bind(inclusion.block_hash.to_string())
                .bind(inclusion.fee_wei.to_string());
        }
        let result = query.execute(conn).await;
        Ok(result.map_err(failed)?.rows_affected() > 0)
    }

    pub async fn take_back(conn: &mut AnyConnection, hash: B256) -> Result<(), LedgerError> {
        let signed = status_in(&[TxStatus::Signed]);
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM transactions WHERE hash = $1 AND {signed}")))
            .bind(hash.to_string())
            .execute(conn)
            .await
            .map_err(failed)?;
        Ok(())
    }

    pub async fn select(
        conn: &mut AnyConnection,
        condition: &str,
        binds: Vec<Bind>,
    ) -> Result<Vec<LedgerTx>, LedgerError> {
        let sql = format!("SELECT {COLUMNS} FROM transactions WHERE {condition}");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for bind in binds {
            query = match bind {
                Bind::Text(text) => query.bind(text),
                Bind::Number(number) => query.bind(number),
            };
        }
        let rows = query.fetch_all(conn).await.map_err(failed)?;
        rows.iter().map(from_row).collect()
    }

    /// A value for a `$n` placeholder.
    pub enum Bind {
        Text(String),
        Number(i64),
    }

    /// A sender's rows on a network that match `condition`, in which `$4` is `nonce`.
    async fn of_sender(
        conn: &mut AnyConnection,
        (network, chain_id, sender): (&str, u64, Address),
        nonce: u64,
        condition: &str,
    ) -> Result<Vec<LedgerTx>, LedgerError> {
        let binds = vec![
            Bind::Text(network.to_string()),
            Bind::Number(chain_id as i64),
            Bind::Text(sender.to_string()),
            Bind::Number(nonce as i64),
        ];
        select(conn, &of_sender_condition(condition), binds).await
    }

    /// A sender's rows on a network matching `condition`: `$1` network, `$2` chain id, `$3` sender, `$4` nonce.
    pub(super) fn of_sender_condition(condition: &str) -> String {
        format!("network = $1 AND chain_id = $2 AND sender = $3 AND {condition}")
    }

    /// Signed at any nonce, pending at `$4` or above: stated over the unsettled index's own condition.
    pub(super) fn unsettled_condition() -> String {
        format!("{} AND (status = 'signed' OR nonce >= $4) ORDER BY nonce, created_at", status_in(&UNSETTLED))
    }

    /// Signed or pending at nonce `$4`.
    pub(super) fn at_nonce_condition() -> String {
        format!("nonce = $4 AND {} ORDER BY created_at", status_in(&UNSETTLED))
    }

    pub async fn unsettled(
        conn: &mut AnyConnection,
        network: &str,
        chain_id: u64,
        sender: Address,
        nonce: u64,
    ) -> Result<Vec<LedgerTx>, LedgerError> {
        of_sender(conn, (network, chain_id, sender), nonce, &unsettled_condition()).await
    }

    pub async fn at_nonce(
        conn: &mut AnyConnection,
        network: &str,
        chain_id: u64,
        sender: Address,
        nonce: u64,
    ) -> Result<Vec<LedgerTx>, LedgerError> {
        of_sender(conn, (network, chain_id, sender), nonce, &at_nonce_condition()).await
    }
}

use queries::Bind;

/// A sender's lock. PostgreSQL: a session advisory lock on a connection held until release, on which the
/// send's ledger work also runs. SQLite: nothing (one gateway per SQLite file; the process-wide lock in the
/// chain layer is enough), each operation on a pooled connection.
pub struct SenderGuard {
    storage: Storage,
    held: Option<(PoolConnection<Any>, i64)>,
}

impl SenderGuard {
    async fn conn(&mut self) -> Result<Conn<'_>, LedgerError> {
        match &mut self.held {
            Some((conn, _)) => Ok(Conn::Held(conn)),
            None => Ok(Conn::Pooled(self.storage.pool.acquire().await.map_err(failed)?)),
        }
    }
}

impl SenderSession for SenderGuard {
    async fn unsettled(
        &mut self,
        network: &str,
        chain_id: u64,
        sender: Address,
        nonce: u64,
    ) -> Result<Vec<LedgerTx>, LedgerError> {
        queries::unsettled(&mut *self.conn().await?, network, chain_id, sender, nonce).await
    }

    async fn at_nonce(
        &mut self,
        network: &str,
        chain_id: u64,
        sender: Address,
        nonce: u64,
    ) -> Result<Vec<LedgerTx>, LedgerError> {
        queries::at_nonce(&mut *self.conn().await?, network, chain_id, sender, nonce).await
    }

    /// The write-ahead record of a transaction about to be sent: on disk before it is sent, so that not even a
    /// power cut forgets it (SQLite commits of everything else do not wait for the disk; this one takes them with
    /// it, as the WAL is written in order).
    async fn record(&mut self, tx: &LedgerTx) -> Result<(), LedgerError> {
        match &self.storage.durable {
            Some(durable) => queries::record(&mut *durable.acquire().await.map_err(failed)?, tx).await,
            None => queries::record(&mut *self.conn().await?, tx).await,
        }
    }

    async fn apply(&mut self, hash: B256, event: Event) -> Result<bool, LedgerError> {
        queries::apply(&mut *self.conn().await?, hash, event).await
    }

    async fn take_back(&mut self, hash: B256) -> Result<(), LedgerError> {
        queries::take_back(&mut *self.conn().await?, hash).await
    }

    async fn release(mut self) {
        if let Some((mut conn, key)) = self.held.take()
            && let Err(e) = sqlx::query("SELECT pg_advisory_unlock($1)").bind(key).execute(&mut *conn).await
        {
            tracing::warn!(error = %e, "could not release a sender lock; closing its connection instead");
            conn.close_on_drop();
        }
    }
}

impl Drop for SenderGuard {
    fn drop(&mut self) {
        // Dropped without release (the process is stopping): closing the session frees the lock.
        if let Some((mut conn, _)) = self.held.take() {
            conn.close_on_drop();
        }
    }
}

fn lock_key(chain_id: u64, sender: Address) -> i64 {
    let hash = alloy::primitives::keccak256([&chain_id.to_be_bytes()[..], sender.as_slice()].concat());
    i64::from_be_bytes(hash[..8].try_into().expect("8 bytes"))
}

impl Storage {
    async fn pooled(&self) -> Result<PoolConnection<Any>, LedgerError> {
        self.pool.acquire().await.map_err(failed)
    }

    async fn select(&self, condition: &str, binds: Vec<Bind>) -> Result<Vec<LedgerTx>, LedgerError> {
        queries::select(&mut *self.pooled().await?, condition, binds).await
    }

    /// Rows recorded before networks were (chain id only) go to the network of that chain id first by name.
    pub async fn claim_unnamed_transactions(&self, network: &str, chain_id: u64) -> Result<u64, LedgerError> {
        let result = sqlx::query("UPDATE transactions SET network = $1 WHERE network = '' AND chain_id = $2")
            .bind(network)
            .bind(chain_id as i64)
            .execute(&self.pool)
            .await
            .map_err(failed)?;
        Ok(result.rows_affected())
    }

    /// The networks the ledger holds transactions of.
    pub async fn ledger_networks(&self) -> Result<Vec<String>, LedgerError> {
        let rows =
            sqlx::query("SELECT DISTINCT network FROM transactions").fetch_all(&self.pool).await.map_err(failed)?;
        rows.iter()
            .map(|row| row.try_get::<String, _>("network").map_err(|e| corrupt("network")(e.to_string())))
            .collect()
    }

    /// The transactions sent on behalf of the request with Idempotency-Key `key`, oldest first.
    pub async fn transactions_of_request(&self, key: &str) -> Result<Vec<LedgerTx>, LedgerError> {
        self.select("request_key = $1 ORDER BY created_at", vec![Bind::Text(key.to_string())]).await
    }
}

impl Ledger for Storage {
    type Session = SenderGuard;

    async fn lock_sender(&self, chain_id: u64, sender: Address) -> Result<SenderGuard, LedgerError> {
        if self.backend != Backend::Postgres {
            return Ok(SenderGuard { storage: self.clone(), held: None });
        }
        let key = lock_key(chain_id, sender);
        // Tried, not waited on: a connection is held only while the lock is, so sends waiting for a wallet another
        // instance is sending from never starve the pool (this instance's own sends already queue in the chain
        // layer). Each try is made through a guard that closes the connection if it is dropped mid-way.
        let mut pause = Duration::from_millis(1);
        loop {
            let mut guard = SenderGuard { storage: self.clone(), held: Some((self.pooled().await?, key)) };
            let (conn, _) = guard.held.as_mut().expect("just set");
            let row = sqlx::query("SELECT pg_try_advisory_lock($1) AS locked")
                .bind(key)
                .fetch_one(&mut **conn)
                .await
                .map_err(failed)?;
            if row.try_get::<bool, _>("locked").map_err(failed)? {
                return Ok(guard);
            }
            // Not taken: the connection holds nothing and goes back to the pool.
            drop(guard.held.take());
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    async fn apply(&self, hash: B256, event: Event) -> Result<bool, LedgerError> {
        queries::apply(&mut *self.pooled().await?, hash, event).await
    }

    async fn find(&self, hash: B256) -> Result<Option<LedgerTx>, LedgerError> {
        Ok(self.select("hash = $1", vec![Bind::Text(hash.to_string())]).await?.pop())
    }

    async fn replacements(&self, hash: B256) -> Result<Vec<LedgerTx>, LedgerError> {
        self.select("replaces = $1 ORDER BY created_at DESC", vec![Bind::Text(hash.to_string())]).await
    }

    async fn same_nonce(&self, hash: B256) -> Result<Vec<LedgerTx>, LedgerError> {
        self.select(
            "(network, chain_id, sender, nonce) = (SELECT network, chain_id, sender, nonce FROM transactions WHERE hash = $1)
             ORDER BY created_at",
            vec![Bind::Text(hash.to_string())],
        )
        .await
    }

    async fn pending(&self, network: &str, chain_id: u64, limit: u32) -> Result<Vec<LedgerTx>, LedgerError> {
        self.select(
            "network = $1 AND chain_id = $2 AND status = 'pending' ORDER BY created_at LIMIT $3",
            vec![Bind::Text(network.to_string()), Bind::Number(chain_id as i64), Bind::Number(limit as i64)],
        )
        .await
    }

    async fn closed_since(
        &self,
        network: &str,
        chain_id: u64,
        since: i64,
        limit: u32,
    ) -> Result<Vec<LedgerTx>, LedgerError> {
        let condition = format!(
            "network = $1 AND chain_id = $2 AND {} AND updated_at >= $3 ORDER BY updated_at DESC LIMIT $4",
            status_in(&[TxStatus::Dropped, TxStatus::Abandoned])
        );
        let binds = vec![
            Bind::Text(network.to_string()),
            Bind::Number(chain_id as i64),
            Bind::Number(since),
            Bind::Number(limit as i64),
        ];
        self.select(&condition, binds).await
    }

    async fn unsent_senders(&self, network: &str, chain_id: u64) -> Result<Vec<Address>, LedgerError> {
        let rows = sqlx::query(
            "SELECT DISTINCT sender FROM transactions WHERE network = $1 AND chain_id = $2 AND status = 'signed'",
        )
        .bind(network)
        .bind(chain_id as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(failed)?;
        rows.iter()
            .map(|row| {
                let text = row.try_get::<String, _>("sender").map_err(|e| corrupt("sender")(e.to_string()))?;
                text.parse().map_err(|e: alloy::hex::FromHexError| corrupt("sender")(e.to_string()))
            })
            .collect()
    }

    async fn mined_blocks(
        &self,
        network: &str,
        chain_id: u64,
        below: Option<u64>,
        limit: u32,
    ) -> Result<Vec<(u64, B256)>, LedgerError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT DISTINCT block_number, block_hash FROM transactions
             WHERE network = $1 AND chain_id = $2 AND {} AND block_hash IS NOT NULL AND block_number < $3
             ORDER BY block_number DESC LIMIT $4",
            status_in(&MINED)
        )))
        .bind(network)
        .bind(chain_id as i64)
        .bind(below.map_or(i64::MAX, |below| below as i64))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(failed)?;
        rows.iter()
            .map(|row| {
                let number =
                    row.try_get::<i64, _>("block_number").map_err(|e| corrupt("block_number")(e.to_string()))? as u64;
                let hash = row.try_get::<String, _>("block_hash").map_err(|e| corrupt("block_hash")(e.to_string()))?;
                Ok((number, hash.parse().map_err(|e: alloy::hex::FromHexError| corrupt("block_hash")(e.to_string()))?))
            })
            .collect()
    }

    async fn mined_since(&self, network: &str, chain_id: u64, from: Option<u64>) -> Result<Vec<LedgerTx>, LedgerError> {
        let condition = format!(
            "network = $1 AND chain_id = $2 AND {} AND (block_hash IS NULL OR block_number >= $3) ORDER BY block_number",
            status_in(&MINED)
        );
        let from = from.map_or(i64::MAX, |from| from as i64);
        self.select(
            &condition,
            vec![Bind::Text(network.to_string()), Bind::Number(chain_id as i64), Bind::Number(from)],
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, B256, Bytes};
    use chains::tx::lifecycle::Event;
    use chains::tx::{Ledger, LedgerTx, SenderSession, TxKind, TxStatus};

    use super::queries::{at_nonce_condition, of_sender_condition, unsettled_condition};
    use crate::storage::Storage;

    #[tokio::test]
    async fn only_a_transaction_still_signed_is_taken_back() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::connect(&super::super::default_url(dir.path())).await.unwrap();
        let sender = Address::repeat_byte(7);
        // Signed at `nonce`, its hash and bytes that nonce over and over: what the test looks at first.
        let row = |nonce: u8| LedgerTx {
            status: TxStatus::Signed,
            nonce: nonce.into(),
            hash: B256::repeat_byte(nonce),
            raw: Bytes::from(vec![nonce]),
            sender,
            chain_id: 31337,
            network: "devnet".into(),
            kind: TxKind::Call,
            label: "swap".into(),
            replaces: None,
            request_key: None,
            inclusion: None,
            recorded_at: 0,
        };
        let mut session = storage.lock_sender(31337, sender).await.unwrap();
        session.record(&row(1)).await.unwrap();
        session.record(&row(2)).await.unwrap();
        assert!(session.apply(B256::repeat_byte(2), Event::Accepted).await.unwrap());
        session.take_back(B256::repeat_byte(1)).await.unwrap();
        session.take_back(B256::repeat_byte(2)).await.unwrap();
        session.release().await;
        assert_eq!(storage.find(B256::repeat_byte(1)).await.unwrap(), None, "never sent: nothing of it is left");
        let sent = storage.find(B256::repeat_byte(2)).await.unwrap().expect("a node may have it: it stays");
        assert_eq!(sent.status, TxStatus::Pending);
    }

    /// Each send reads its wallet's unsettled rows: through the partial index, not the wallet's whole history.
    #[tokio::test]
    async fn a_send_reads_its_wallets_unsettled_rows_through_their_own_index() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::connect(&super::super::default_url(dir.path())).await.unwrap();
        for condition in [unsettled_condition(), at_nonce_condition()] {
            let sql =
                format!("EXPLAIN QUERY PLAN SELECT hash FROM transactions WHERE {}", of_sender_condition(&condition));
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind("devnet")
                .bind(31337_i64)
                .bind("0x0000000000000000000000000000000000000001")
                .bind(0_i64)
                .fetch_all(&storage.pool)
                .await
                .unwrap();
            let details: Vec<String> =
                rows.iter().map(|row| sqlx::Row::try_get::<String, _>(row, "detail").unwrap()).collect();
            assert!(
                details.iter().any(|detail| detail.contains("USING INDEX transactions_unsettled")),
                "{condition}: {details:?}"
            );
        }
    }
}

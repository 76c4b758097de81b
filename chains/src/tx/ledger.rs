//! The interface to the transaction ledger, which the server implements over its database. Every signed
//! transaction is recorded before it is sent. The chain is the truth: the ledger follows what the node says, and
//! a status only moves by an [`Event`] of the lifecycle's table.

use std::future::Future;

use alloy::primitives::{Address, B256, Bytes};

use super::lifecycle::{Event, Inclusion, TxKind, TxStatus};

/// A transaction as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerTx {
    pub hash: B256,
    pub chain_id: u64,
    /// The configured network it was sent on: two networks may share a chain id (a local fork of mainnet).
    pub network: String,
    pub sender: Address,
    pub nonce: u64,
    /// The signed transaction (EIP-2718 encoding): what a speed-up re-signs with higher fees.
    pub raw: Bytes,
    pub status: TxStatus,
    pub kind: TxKind,
    /// What it did, as logs and metrics name it (`swap`, `approve`; a speed-up keeps its call's).
    pub label: String,
    pub inclusion: Option<Inclusion>,
    /// The transaction this one replaces at the same nonce (a speed-up or a cancel).
    pub replaces: Option<B256>,
    /// The Idempotency-Key of the request that sent it, if it had one.
    pub request_key: Option<String>,
    /// Unix milliseconds when it was recorded.
    pub recorded_at: i64,
}

/// Unix milliseconds now: when a row is recorded.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// The ledger could not be read or written; a transaction may not have been recorded, so it was not sent.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The database failed (unreachable, locked, a query refused).
    #[error("the ledger's database failed: {0}")]
    Database(String),
    /// A stored row does not read back as a transaction.
    #[error("a ledger row is unreadable ({column}: {reason})")]
    Corrupt { column: &'static str, reason: String },
}

/// The ledger operations a send makes while it holds the wallet's lock. With PostgreSQL they run on the
/// connection that holds the lock, so a send never waits for a second pooled connection while holding one.
pub trait SenderSession: Send {
    /// The sender's rows a nonce choice must look at: every `Signed` one, and the `Pending` ones at `nonce` or above
    /// (those the node's pending count does not cover).
    fn unsettled(
        &mut self,
        network: &str,
        chain_id: u64,
        sender: Address,
        nonce: u64,
    ) -> impl Future<Output = Result<Vec<LedgerTx>, LedgerError>> + Send;
    /// The sender's open rows at exactly `nonce` (the transaction and its replacements).
    fn at_nonce(
        &mut self,
        network: &str,
        chain_id: u64,
        sender: Address,
        nonce: u64,
    ) -> impl Future<Output = Result<Vec<LedgerTx>, LedgerError>> + Send;
    /// Records a signed transaction; recording the same signed bytes again is [`Event::SignedAgain`], not an error.
    fn record(&mut self, tx: &LedgerTx) -> impl Future<Output = Result<(), LedgerError>> + Send;
    /// Applies what happened to `hash` as the lifecycle's table says; whether its status moved.
    fn apply(&mut self, hash: B256, event: Event) -> impl Future<Output = Result<bool, LedgerError>> + Send;
    /// Takes back the record of `hash` while it is still `Signed`: it was written ahead of a send that did not
    /// happen, so no node ever had it, and the ledger holds nothing of it (a request that sent nothing left none).
    fn take_back(&mut self, hash: B256) -> impl Future<Output = Result<(), LedgerError>> + Send;
    fn release(self) -> impl Future<Output = ()> + Send;
}

pub trait Ledger: Send + Sync + 'static {
    type Session: SenderSession;

    /// Waits until no other send (in this process or another instance sharing the database) is choosing a
    /// nonce for this sender, and holds that until released.
    fn lock_sender(
        &self,
        chain_id: u64,
        sender: Address,
    ) -> impl Future<Output = Result<Self::Session, LedgerError>> + Send;
    /// Applies what happened to `hash` as the lifecycle's table says; whether its status moved.
    fn apply(&self, hash: B256, event: Event) -> impl Future<Output = Result<bool, LedgerError>> + Send;
    fn find(&self, hash: B256) -> impl Future<Output = Result<Option<LedgerTx>, LedgerError>> + Send;
    /// The transactions recorded as replacing `hash`, newest first.
    fn replacements(&self, hash: B256) -> impl Future<Output = Result<Vec<LedgerTx>, LedgerError>> + Send;
    /// The transaction `hash` and every other its sender recorded at its nonce on its network (a speed-up, a cancel,
    /// another send that took the nonce), oldest first.
    fn same_nonce(&self, hash: B256) -> impl Future<Output = Result<Vec<LedgerTx>, LedgerError>> + Send;
    /// Every `Pending` transaction of a network, oldest first, at most `limit`.
    fn pending(
        &self,
        network: &str,
        chain_id: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LedgerTx>, LedgerError>> + Send;
    /// Transactions of a network `Dropped` or `Abandoned` at `since` (unix ms) or later, newest first, at most
    /// `limit`: a node may have had them after all.
    fn closed_since(
        &self,
        network: &str,
        chain_id: u64,
        since: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LedgerTx>, LedgerError>> + Send;
    /// Senders with `Signed` transactions on a network: sends that did not finish.
    fn unsent_senders(
        &self,
        network: &str,
        chain_id: u64,
    ) -> impl Future<Output = Result<Vec<Address>, LedgerError>> + Send;
    /// The (block number, block hash) pairs the ledger recorded mined transactions in, below `below` (all when
    /// `None`), highest first, at most `limit`.
    fn mined_blocks(
        &self,
        network: &str,
        chain_id: u64,
        below: Option<u64>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<(u64, B256)>, LedgerError>> + Send;
    /// Mined transactions recorded in block `from` or later, and those recorded with no block hash.
    fn mined_since(
        &self,
        network: &str,
        chain_id: u64,
        from: Option<u64>,
    ) -> impl Future<Output = Result<Vec<LedgerTx>, LedgerError>> + Send;
}

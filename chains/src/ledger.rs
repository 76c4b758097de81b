//! The interface to the transaction ledger, which the server implements over its database. Every signed
//! transaction is recorded before it is sent. The chain is the truth: the ledger follows what the node says,
//! and a status only moves along the transitions below, so a late or repeated update never overwrites a
//! truer one (a receipt always wins).

use std::future::Future;

use alloy::primitives::{Address, B256, Bytes, U256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxStatus {
    /// Signed and recorded; no node has accepted it yet. Seen by the next send from the wallet (which holds the
    /// wallet's lock, so no send is in flight), it is either found on the node (`Pending`) or `Abandoned`.
    Signed,
    /// Accepted by a node, no receipt yet.
    Pending,
    Confirmed,
    /// Mined and reverted.
    Failed,
    /// Was accepted by a node, which no longer knows it, and its nonce was taken by another transaction or the
    /// network's `dropAfterSeconds` passed (or the chain it was mined on was reset). Never sent again.
    Dropped,
    /// Signed but never broadcast (the gateway stopped between signing and sending); never sent later. Its
    /// nonce is free again.
    Abandoned,
    /// The node refused it when it was sent (funds, fees, nonce); its nonce is free again.
    Rejected,
    /// A replacement at the same nonce (speed-up or cancel) was mined instead.
    Replaced,
}

impl TxStatus {
    pub const ALL: [TxStatus; 8] = [
        TxStatus::Signed,
        TxStatus::Pending,
        TxStatus::Confirmed,
        TxStatus::Failed,
        TxStatus::Dropped,
        TxStatus::Abandoned,
        TxStatus::Rejected,
        TxStatus::Replaced,
    ];

    /// The name stored in the ledger and shown in answers.
    pub fn as_str(self) -> &'static str {
        match self {
            TxStatus::Signed => "signed",
            TxStatus::Pending => "pending",
            TxStatus::Confirmed => "confirmed",
            TxStatus::Failed => "failed",
            TxStatus::Dropped => "dropped",
            TxStatus::Abandoned => "abandoned",
            TxStatus::Rejected => "rejected",
            TxStatus::Replaced => "replaced",
        }
    }

    pub fn parse(text: &str) -> Option<TxStatus> {
        TxStatus::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// Not settled yet: it may still be mined.
    pub fn is_open(self) -> bool {
        matches!(self, TxStatus::Signed | TxStatus::Pending)
    }

    /// Mined, with a receipt.
    pub fn is_mined(self) -> bool {
        matches!(self, TxStatus::Confirmed | TxStatus::Failed)
    }
}

/// Where a mined transaction is and what it cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inclusion {
    pub block_number: u64,
    pub block_hash: B256,
    /// Gas used × effective gas price.
    pub fee_wei: U256,
}

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
    pub label: String,
    pub inclusion: Option<Inclusion>,
    /// The transaction this one replaces at the same nonce (a speed-up or a cancel).
    pub replaces: Option<B256>,
    /// The Idempotency-Key of the request that sent it, if it had one.
    pub request_key: Option<String>,
    /// Unix milliseconds when it was recorded.
    pub recorded_at: i64,
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
    ) -> impl Future<Output = Result<Vec<LedgerTx>, String>> + Send;
    /// The sender's open rows at exactly `nonce` (the transaction and its replacements).
    fn at_nonce(
        &mut self,
        network: &str,
        chain_id: u64,
        sender: Address,
        nonce: u64,
    ) -> impl Future<Output = Result<Vec<LedgerTx>, String>> + Send;
    /// Records a signed transaction; recording the same signed bytes again is not an error.
    fn record(&mut self, tx: &LedgerTx) -> impl Future<Output = Result<(), String>> + Send;
    /// Moves `hash` to `to` if its status is one of `from`; whether it moved.
    fn transition(
        &mut self,
        hash: B256,
        to: TxStatus,
        from: &[TxStatus],
    ) -> impl Future<Output = Result<bool, String>> + Send;
    fn release(self) -> impl Future<Output = ()> + Send;
}

pub trait Ledger: Send + Sync + 'static {
    type Session: SenderSession;

    /// Waits until no other send (in this process or another instance sharing the database) is choosing a
    /// nonce for this sender, and holds that until released.
    fn lock_sender(&self, chain_id: u64, sender: Address)
    -> impl Future<Output = Result<Self::Session, String>> + Send;
    /// Moves `hash` to `to` if its status is one of `from`; whether it moved.
    fn transition(
        &self,
        hash: B256,
        to: TxStatus,
        from: &[TxStatus],
    ) -> impl Future<Output = Result<bool, String>> + Send;
    /// Records a receipt: `Confirmed` or `Failed` with where it was mined. A receipt is the chain's word and
    /// overrides any status.
    fn settle(
        &self,
        hash: B256,
        status: TxStatus,
        inclusion: Inclusion,
    ) -> impl Future<Output = Result<(), String>> + Send;
    /// A mined transaction whose block the chain no longer has: back to `to` (`Pending` or `Dropped`), without
    /// its inclusion. Whether it was recorded mined.
    fn unsettle(&self, hash: B256, to: TxStatus) -> impl Future<Output = Result<bool, String>> + Send;
    fn find(&self, hash: B256) -> impl Future<Output = Result<Option<LedgerTx>, String>> + Send;
    /// The transactions recorded as replacing `hash`, newest first.
    fn replacements(&self, hash: B256) -> impl Future<Output = Result<Vec<LedgerTx>, String>> + Send;
    /// The transaction `hash` and every other its sender recorded at its nonce on its network (a speed-up, a cancel,
    /// another send that took the nonce), oldest first.
    fn same_nonce(&self, hash: B256) -> impl Future<Output = Result<Vec<LedgerTx>, String>> + Send;
    /// Every `Pending` transaction of a network, oldest first, at most `limit`.
    fn pending(
        &self,
        network: &str,
        chain_id: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LedgerTx>, String>> + Send;
    /// Transactions of a network `Dropped` or `Abandoned` at `since` (unix ms) or later, newest first, at most
    /// `limit`: a node may have had them after all.
    fn closed_since(
        &self,
        network: &str,
        chain_id: u64,
        since: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LedgerTx>, String>> + Send;
    /// Senders with `Signed` transactions on a network: sends that did not finish.
    fn unsent_senders(&self, network: &str, chain_id: u64)
    -> impl Future<Output = Result<Vec<Address>, String>> + Send;
    /// The (block number, block hash) pairs the ledger recorded mined transactions in, below `below` (all when
    /// `None`), highest first, at most `limit`.
    fn mined_blocks(
        &self,
        network: &str,
        chain_id: u64,
        below: Option<u64>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<(u64, B256)>, String>> + Send;
    /// Mined transactions recorded in block `from` or later, and those recorded with no block hash.
    fn mined_since(
        &self,
        network: &str,
        chain_id: u64,
        from: Option<u64>,
    ) -> impl Future<Output = Result<Vec<LedgerTx>, String>> + Send;
}

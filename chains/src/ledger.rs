//! The interface to the transaction ledger, which the server implements over its database. Every signed
//! transaction is recorded before it is sent; the ledger also keeps nonces consistent across restarts and,
//! with a shared database, across gateway instances.

use std::future::Future;

use alloy::primitives::{Address, B256, Bytes, U256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxStatus {
    /// Signed and recorded, not yet accepted by a node.
    Signed,
    /// Accepted by a node, no receipt yet.
    Sent,
    Confirmed,
    /// Mined and reverted.
    Failed,
    /// Never accepted by a node; its nonce is free again.
    Dropped,
}

/// A transaction as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerTx {
    pub hash: B256,
    pub chain_id: u64,
    pub sender: Address,
    pub nonce: u64,
    /// The signed transaction (EIP-2718 encoding), so it can be sent again.
    pub raw: Bytes,
    pub status: TxStatus,
    pub label: String,
    pub block_number: Option<u64>,
    pub fee_wei: Option<U256>,
}

/// Held while one sender's nonce is chosen and its transaction sent; other instances wait on it.
pub trait SenderLock: Send {
    fn release(self) -> impl Future<Output = ()> + Send;
}

pub trait Ledger: Send + Sync + 'static {
    type Lock: SenderLock;

    /// Waits until no other gateway instance is sending for this sender.
    fn lock_sender(&self, chain_id: u64, sender: Address) -> impl Future<Output = Result<Self::Lock, String>> + Send;
    fn record(&self, tx: &LedgerTx) -> impl Future<Output = Result<(), String>> + Send;
    fn set_status(
        &self,
        hash: B256,
        status: TxStatus,
        block_number: Option<u64>,
        fee_wei: Option<U256>,
    ) -> impl Future<Output = Result<(), String>> + Send;
    fn find(&self, hash: B256) -> impl Future<Output = Result<Option<LedgerTx>, String>> + Send;
    /// The highest nonce held by a transaction that is not dropped.
    fn highest_nonce(&self, chain_id: u64, sender: Address)
    -> impl Future<Output = Result<Option<u64>, String>> + Send;
    /// Transactions of a sender at `nonce` or above that are signed or sent but have no receipt yet.
    fn unsettled_from(
        &self,
        chain_id: u64,
        sender: Address,
        nonce: u64,
    ) -> impl Future<Output = Result<Vec<LedgerTx>, String>> + Send;
}

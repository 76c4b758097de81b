//! Follows every pending transaction of a network to its end, whether or not anyone polls. Per new block, one
//! batched request asks the node for all their receipts and their senders' mined nonce counts; receipts are
//! recorded, a transaction whose nonce another one took is dropped, one the node has lost for `dropAfterSeconds`
//! is dropped, and one stuck under the market's fees for `replaceAfterSeconds` is replaced with higher fees.
//!
//! It also brings the ledger into line with the chain: at start and every half minute it checks that the blocks
//! the ledger recorded transactions in are still the chain's (a devnet restarted from its snapshot, a reorg), and
//! settles sends a crash left half-done. One tracker runs per network value; it stops when the network is
//! dropped (a config change builds a new one, with its own tracker).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, U64};
use alloy::providers::Provider;
use alloy::rpc::types::{Block, TransactionReceipt};

use crate::error::ChainError;
use crate::gas::{self, MarketFees};
use crate::ledger::{Ledger, LedgerTx, TxStatus};
use crate::network::Network;
use crate::tx::{CANCEL_LABEL, Replacement, TxSender, count_transaction, decode, now_ms};
use crate::wallet::Signers;

/// How often the ledger is looked at while nothing is pending.
const IDLE: Duration = Duration::from_secs(1);
/// How often the recorded blocks are checked against the chain.
const RESET_CHECK: Duration = Duration::from_secs(30);
/// Calls per JSON-RPC batch: providers refuse larger ones.
const BATCH: usize = 100;
/// Pending transactions looked at per block.
const TRACKED: u32 = 1000;

/// Starts the tracker of `network`.
pub fn spawn<L: Ledger>(network: &Arc<Network>, sender: Arc<TxSender<L>>, signers: Arc<Signers>) {
    tokio::spawn(run(Arc::downgrade(network), sender, signers));
}

async fn run<L: Ledger>(network: Weak<Network>, sender: Arc<TxSender<L>>, signers: Arc<Signers>) {
    let mut reconciled: Option<Instant> = None;
    let mut last_step: Option<(u64, Instant)> = None;
    loop {
        let Some(strong) = network.upgrade() else { return };
        if reconciled.is_none_or(|at| at.elapsed() >= RESET_CHECK) {
            match reconcile(&strong, &sender).await {
                Ok(()) => reconciled = Some(Instant::now()),
                Err(error) => {
                    tracing::warn!(network = strong.name(), %error, "could not reconcile the ledger with the chain; trying again")
                }
            }
        }
        let blocks = match step(&strong, &sender, &signers, &mut last_step).await {
            Ok(true) => strong.blocks(),
            Ok(false) => None,
            Err(error) => {
                tracing::warn!(network = strong.name(), %error, "tracking pending transactions failed; trying again");
                None
            }
        };
        // Not holding the network while waiting: a network no longer configured is dropped, and this ends.
        drop(strong);
        match blocks {
            Some(mut blocks) => {
                let _ = tokio::time::timeout(IDLE, blocks.changed()).await;
            }
            None => tokio::time::sleep(IDLE).await,
        }
    }
}

/// Brings the ledger into line with the chain: re-checks what was recorded mined in blocks the chain no longer
/// has, and settles sends left `signed`.
pub async fn reconcile<L: Ledger>(network: &Network, sender: &TxSender<L>) -> Result<(), ChainError> {
    let ledger = sender.ledger();
    let (name, chain_id) = (network.name(), network.chain_id());
    let stale_from = reset_since(network, ledger).await?;
    if let Some(from) = stale_from {
        tracing::warn!(
            network = name,
            from_block = from,
            "the chain no longer has blocks the ledger recorded; checking those transactions again"
        );
    }
    let rows = ledger.mined_since(name, chain_id, stale_from).await.map_err(ChainError::Ledger)?;
    for chunk in rows.chunks(BATCH) {
        let receipts = receipts(network, chunk).await?;
        for (row, receipt) in chunk.iter().zip(receipts) {
            match receipt {
                Some(receipt) => sender.record_receipt(network, &receipt).await?,
                None => {
                    let known =
                        network.provider().get_transaction_by_hash(row.hash).await.map_err(|e| network.rpc_error(e))?;
                    let to = if known.is_some() { TxStatus::Pending } else { TxStatus::Dropped };
                    ledger.unsettle(row.hash, to).await.map_err(ChainError::Ledger)?;
                    count_transaction(to);
                    tracing::warn!(hash = %row.hash, status = to.as_str(), "a transaction recorded as mined is not on the chain any more");
                }
            }
        }
    }
    for from in ledger.unsent_senders(name, chain_id).await.map_err(ChainError::Ledger)? {
        sender.settle_unsent(network, from).await?;
    }
    Ok(())
}

/// The lowest recorded block the chain no longer has (or has another block at), if any: walks the recorded
/// blocks from the highest down to the first the chain still has.
async fn reset_since<L: Ledger>(network: &Network, ledger: &L) -> Result<Option<u64>, ChainError> {
    let (name, chain_id) = (network.name(), network.chain_id());
    let head = network.provider().get_block_number().await.map_err(|e| network.rpc_error(e))?;
    let mut stale_from = None;
    let mut below = None;
    loop {
        let recorded = ledger.mined_blocks(name, chain_id, below, BATCH as u32).await.map_err(ChainError::Ledger)?;
        let Some(&(lowest, _)) = recorded.last() else { return Ok(stale_from) };
        let heights: Vec<u64> = recorded.iter().map(|(number, _)| *number).filter(|n| *n <= head).collect();
        let hashes = block_hashes(network, &heights).await?;
        let mut by_height: BTreeMap<u64, bool> = BTreeMap::new();
        for (number, hash) in &recorded {
            let same = *number <= head && hashes.get(number) == Some(hash);
            *by_height.entry(*number).or_insert(true) &= same;
        }
        for (&number, &same) in by_height.iter().rev() {
            if same {
                return Ok(stale_from);
            }
            stale_from = Some(number);
        }
        below = Some(lowest);
    }
}

/// The chain's hash of each block in `heights`, in batches.
async fn block_hashes(network: &Network, heights: &[u64]) -> Result<HashMap<u64, B256>, ChainError> {
    let mut hashes = HashMap::new();
    for chunk in heights.chunks(BATCH) {
        let mut batch = alloy::rpc::client::BatchRequest::new(network.provider().client());
        let mut waiters = Vec::new();
        for &height in chunk {
            let waiter = batch
                .add_call::<_, Option<Block>>("eth_getBlockByNumber", &(U64::from(height), false))
                .map_err(|e| network.rpc_error(e))?;
            waiters.push((height, waiter));
        }
        batch.send().await.map_err(|e| network.rpc_error(e))?;
        for (height, waiter) in waiters {
            if let Some(block) = waiter.await.map_err(|e| network.rpc_error(e))? {
                hashes.insert(height, block.header.hash);
            }
        }
    }
    Ok(hashes)
}

/// Each row's receipt, if mined, in one round trip.
async fn receipts(network: &Network, rows: &[LedgerTx]) -> Result<Vec<Option<TransactionReceipt>>, ChainError> {
    let mut batch = alloy::rpc::client::BatchRequest::new(network.provider().client());
    let mut waiters = Vec::new();
    for row in rows {
        waiters.push(
            batch
                .add_call::<_, Option<TransactionReceipt>>("eth_getTransactionReceipt", &(row.hash,))
                .map_err(|e| network.rpc_error(e))?,
        );
    }
    batch.send().await.map_err(|e| network.rpc_error(e))?;
    let mut receipts = Vec::with_capacity(waiters.len());
    for waiter in waiters {
        receipts.push(waiter.await.map_err(|e| network.rpc_error(e))?);
    }
    Ok(receipts)
}

/// One look at the network's pending transactions; whether there were any. Acts once per new block, and once a
/// second for the rules that go by time.
async fn step<L: Ledger>(
    network: &Arc<Network>,
    sender: &Arc<TxSender<L>>,
    signers: &Signers,
    last_step: &mut Option<(u64, Instant)>,
) -> Result<bool, ChainError> {
    let ledger = sender.ledger();
    let rows = ledger.pending(network.name(), network.chain_id(), TRACKED).await.map_err(ChainError::Ledger)?;
    if rows.is_empty() {
        return Ok(false);
    }
    let block = network.latest_block().await?;
    if last_step.is_some_and(|(seen, at)| seen == block && at.elapsed() < IDLE) {
        return Ok(true);
    }
    *last_step = Some((block, Instant::now()));
    let mut unmined = Vec::new();
    for chunk in rows.chunks(BATCH) {
        let (receipts, mined_counts) = receipts_and_counts(network, chunk).await?;
        for (row, receipt) in chunk.iter().zip(receipts) {
            match receipt {
                Some(receipt) => sender.record_receipt(network, &receipt).await?,
                None => unmined.push((row.clone(), mined_counts[&row.sender])),
            }
        }
    }
    let settings = network.settings();
    let now = now_ms();
    let mut waiting = Vec::new();
    for (row, mined_count) in unmined {
        // A receipt found above for another transaction at this nonce already settled this one.
        let current = ledger.find(row.hash).await.map_err(ChainError::Ledger)?;
        if current.is_none_or(|current| current.status != TxStatus::Pending) {
            continue;
        }
        if mined_count > row.nonce {
            drop_row(ledger, &row, "its nonce was used by another transaction").await?;
            continue;
        }
        if now - row.recorded_at >= settings.drop_after.as_millis() as i64 {
            let known = network.provider().get_transaction_by_hash(row.hash).await.map_err(|e| network.rpc_error(e))?;
            if known.is_none() {
                drop_row(ledger, &row, "the node no longer knows it").await?;
                continue;
            }
        }
        waiting.push(row);
    }
    if let Some(after) = settings.replace_after {
        replace_stuck(network, sender, signers, waiting, after).await?;
    }
    Ok(true)
}

async fn drop_row<L: Ledger>(ledger: &L, row: &LedgerTx, why: &str) -> Result<(), ChainError> {
    if ledger.transition(row.hash, TxStatus::Dropped, &[TxStatus::Pending]).await.map_err(ChainError::Ledger)? {
        count_transaction(TxStatus::Dropped);
        tracing::warn!(hash = %row.hash, nonce = row.nonce, network = %row.network, "transaction dropped: {why}");
    }
    Ok(())
}

/// Re-sends, with fees over the market's, the newest transaction at each nonce that has waited `after` with
/// fees under what inclusion needs now.
async fn replace_stuck<L: Ledger>(
    network: &Arc<Network>,
    sender: &Arc<TxSender<L>>,
    signers: &Signers,
    waiting: Vec<LedgerTx>,
    after: Duration,
) -> Result<(), ChainError> {
    let mut newest: BTreeMap<(Address, u64), LedgerTx> = BTreeMap::new();
    for row in waiting {
        let key = (row.sender, row.nonce);
        if newest.get(&key).is_none_or(|held| held.recorded_at < row.recorded_at) {
            newest.insert(key, row);
        }
    }
    let now = now_ms();
    let mut market: Option<MarketFees> = None;
    for ((from, nonce), row) in newest {
        if now - row.recorded_at < after.as_millis() as i64 {
            continue;
        }
        let market = match market {
            Some(market) => market,
            None => *market.insert(gas::market_fees(network).await?),
        };
        if !gas::below_market(decode(&row.raw)?.fees, &market) {
            continue;
        }
        let Ok(signer) = signers.get(from) else {
            tracing::warn!(%from, "a stuck transaction cannot be replaced: its wallet is no longer loaded");
            continue;
        };
        let how = if row.label == CANCEL_LABEL { Replacement::Cancel } else { Replacement::SpeedUp };
        match sender.replace(network, &signer, nonce, how, Some(&row)).await {
            Ok(replacement) => tracing::info!(
                replaced = %row.hash, by = %replacement.hash, nonce, network = network.name(),
                "a transaction stuck under the market's fees was re-sent with higher fees"
            ),
            Err(error) => tracing::warn!(hash = %row.hash, nonce, %error, "a stuck transaction could not be replaced"),
        }
    }
    Ok(())
}

/// Each row's receipt, and the mined nonce count of each of their senders, in one round trip.
async fn receipts_and_counts(
    network: &Network,
    rows: &[LedgerTx],
) -> Result<(Vec<Option<TransactionReceipt>>, HashMap<Address, u64>), ChainError> {
    let rpc = |e| network.rpc_error(e);
    let mut batch = alloy::rpc::client::BatchRequest::new(network.provider().client());
    let mut receipt_waiters = Vec::new();
    for row in rows {
        receipt_waiters.push(
            batch.add_call::<_, Option<TransactionReceipt>>("eth_getTransactionReceipt", &(row.hash,)).map_err(rpc)?,
        );
    }
    let mut senders: Vec<Address> = rows.iter().map(|row| row.sender).collect();
    senders.sort();
    senders.dedup();
    let mut count_waiters = Vec::new();
    for &sender in &senders {
        count_waiters
            .push((sender, batch.add_call::<_, U64>("eth_getTransactionCount", &(sender, "latest")).map_err(rpc)?));
    }
    batch.send().await.map_err(rpc)?;
    let mut receipts = Vec::with_capacity(rows.len());
    for waiter in receipt_waiters {
        receipts.push(waiter.await.map_err(rpc)?);
    }
    let mut counts = HashMap::new();
    for (sender, waiter) in count_waiters {
        counts.insert(sender, waiter.await.map_err(rpc)?.to::<u64>());
    }
    Ok((receipts, counts))
}

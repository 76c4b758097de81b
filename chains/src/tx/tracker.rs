//! Follows every pending transaction of a network to its end, whether or not anyone polls. Per new block, one
//! batched request asks the node for their receipts and their senders' mined nonce counts; receipts are recorded,
//! a transaction whose nonce another one took is dropped, one the node has lost for `dropAfterSeconds` is dropped,
//! and one stuck under the market's fees for `replaceAfterSeconds` is replaced with higher fees. Transactions
//! dropped or abandoned lately are still asked for: one that a node had after all and mined is recorded mined.
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
use alloy::rpc::client::BatchRequest;
use alloy::rpc::types::{Block, TransactionReceipt};

use super::call::decode;
use super::inquiry::{Held, held, record_receipt};
use super::ledger::{Ledger, LedgerTx, now_ms};
use super::lifecycle::{Event, TxKind, TxStatus, count_transaction};
use super::pipeline::{Replacement, TxSender};
use super::receipt::Mined;
use crate::error::ChainError;
use crate::gas::{self, MarketFees};
use crate::network::Network;
use crate::wallet::Signers;

/// How often the ledger is looked at while nothing is pending.
const IDLE: Duration = Duration::from_secs(1);
/// How often the recorded blocks are checked against the chain.
const RESET_CHECK: Duration = Duration::from_secs(30);
/// Calls per JSON-RPC batch: providers refuse larger ones.
const BATCH: usize = 100;
/// Pending transactions looked at per block.
const TRACKED: u32 = 1000;
/// Transactions lately dropped or abandoned still asked for, at most.
const WATCHED: u32 = 100;

/// Starts the tracker of `network`.
pub fn spawn<L: Ledger>(network: &Arc<Network>, sender: Arc<TxSender<L>>, signers: Arc<Signers>) {
    tokio::spawn(run(Arc::downgrade(network), sender, signers));
}

/// What the tracker remembers between looks.
#[derive(Default)]
struct Tracking {
    reconciled: Option<Instant>,
    /// The block of the last look, and when it was.
    last_look: Option<(u64, Instant)>,
    /// Stuck transactions a replacement failed for (it would revert, a cap is in the way), and when: tried
    /// again after `replaceAfterSeconds`, not every block.
    failed_replacements: HashMap<B256, Instant>,
    /// Whether the last look failed.
    failing: bool,
    /// Whether the last reconciliation failed.
    reconcile_failing: bool,
}

async fn run<L: Ledger>(network: Weak<Network>, sender: Arc<TxSender<L>>, signers: Arc<Signers>) {
    let mut tracking = Tracking::default();
    loop {
        let Some(strong) = network.upgrade() else { return };
        if tracking.reconciled.is_none_or(|at| at.elapsed() >= RESET_CHECK) {
            // Said once when it starts failing (a node down fails it every second) and once when it works again.
            match (reconcile(&strong, &sender).await, tracking.reconcile_failing) {
                (Ok(()), failing) => {
                    if failing {
                        tracing::info!(network = strong.name(), "reconciling the ledger with the chain works again");
                    }
                    tracking.reconciled = Some(Instant::now());
                    tracking.reconcile_failing = false;
                }
                (Err(error), false) => {
                    tracing::warn!(network = strong.name(), %error, "could not reconcile the ledger with the chain; trying again");
                    tracking.reconcile_failing = true;
                }
                (Err(_), true) => {}
            }
        }
        let looked = step(&strong, &sender, &signers, &mut tracking).await;
        // Said once when it starts failing (a node down fails every second) and once when it works again.
        match (&looked, tracking.failing) {
            (Err(error), false) => {
                tracing::warn!(network = strong.name(), %error, "tracking pending transactions failed; trying again every second")
            }
            (Ok(_), true) => tracing::info!(network = strong.name(), "tracking pending transactions works again"),
            _ => {}
        }
        tracking.failing = looked.is_err();
        let blocks = match looked {
            Ok(true) => strong.blocks(),
            _ => None,
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
    let rows = ledger.mined_since(name, chain_id, stale_from).await?;
    let mut gone = 0;
    for chunk in rows.chunks(BATCH) {
        let (receipts, _) = receipts_and_counts(network, chunk, false).await?;
        for (row, receipt) in chunk.iter().zip(receipts) {
            if let Some(receipt) = receipt {
                record_receipt(ledger, network, &Mined::of(network, receipt).await).await?;
                continue;
            }
            let reorged = match held(network, row.hash).await? {
                // Mined, its receipt not served by this node yet: the next check reads it.
                Held::Mined => continue,
                Held::InPool => Event::Reorged { in_pool: true },
                Held::Unknown => Event::Reorged { in_pool: false },
            };
            if ledger.apply(row.hash, reorged).await? {
                count_transaction(reorged.transition().to);
                gone += 1;
            }
        }
    }
    if gone > 0 {
        tracing::warn!(
            network = name,
            transactions = gone,
            "transactions recorded as mined are not on the chain any more: pending again if the node still has them, dropped if not"
        );
    }
    for from in ledger.unsent_senders(name, chain_id).await? {
        sender.settle_unsent(network, from).await?;
    }
    Ok(())
}

/// The lowest recorded block the chain no longer has (or has another block at), if any: walks the recorded
/// blocks from the highest down to the first the chain still has. Mostly the highest is, and that is one call.
async fn reset_since<L: Ledger>(network: &Network, ledger: &L) -> Result<Option<u64>, ChainError> {
    let (name, chain_id) = (network.name(), network.chain_id());
    let head = network.provider().get_block_number().await.map_err(|e| network.rpc_error(e))?;
    // Blocks past every head seen are gone (the chain was reset); those past only this node's head may just be
    // ahead of it (it lags behind the others of a load balancer), and tell nothing.
    let highest = network.known_block().unwrap_or_default().max(head);
    let mut stale_from = None;
    let mut below = None;
    let mut page = 1;
    loop {
        let recorded = ledger.mined_blocks(name, chain_id, below, page).await?;
        let Some(&(lowest, _)) = recorded.last() else { return Ok(stale_from) };
        let heights: Vec<u64> = recorded.iter().map(|(number, _)| *number).filter(|n| *n <= head).collect();
        let hashes = block_hashes(network, &heights).await?;
        if walk_page(&recorded, &hashes, highest, &mut stale_from) {
            return Ok(stale_from);
        }
        below = Some(lowest);
        page = BATCH as u32;
    }
}

/// Reads one page of recorded blocks (highest first) against the hashes a node served at them, lowering
/// `stale_from` to each height the chain has replaced; true at the first height the chain still has (nothing
/// below it needs a look).
fn walk_page(
    recorded: &[(u64, B256)],
    served: &HashMap<u64, B256>,
    highest: u64,
    stale_from: &mut Option<u64>,
) -> bool {
    let mut kept_at: BTreeMap<u64, bool> = BTreeMap::new();
    for (number, hash) in recorded {
        let kept = match served.get(number) {
            Some(served) => served == hash,
            // Past every head seen: the chain was reset.
            None if *number > highest => false,
            // Not served now (past this node's head, or a node of a load balancer behind the one that told the
            // head): this tells nothing.
            None => continue,
        };
        *kept_at.entry(*number).or_insert(true) &= kept;
    }
    for (&number, &kept) in kept_at.iter().rev() {
        if kept {
            return true;
        }
        *stale_from = Some(number);
    }
    false
}

/// The chain's hash of each block in `heights`, in batches.
async fn block_hashes(network: &Network, heights: &[u64]) -> Result<HashMap<u64, B256>, ChainError> {
    let rpc = |e| network.rpc_error(e);
    let mut hashes = HashMap::new();
    for chunk in heights.chunks(BATCH) {
        let mut batch = BatchRequest::new(network.provider().client());
        let mut waiters = Vec::new();
        for &height in chunk {
            let waiter =
                batch.add_call::<_, Option<Block>>("eth_getBlockByNumber", &(U64::from(height), false)).map_err(rpc)?;
            waiters.push((height, waiter));
        }
        batch.send().await.map_err(rpc)?;
        for (height, waiter) in waiters {
            if let Some(block) = waiter.await.map_err(rpc)? {
                hashes.insert(height, block.header.hash);
            }
        }
    }
    Ok(hashes)
}

/// One look at the network's pending transactions (and those lately dropped or abandoned); whether there were
/// any. Acts once per new block, and once a second for the rules that go by time.
async fn step<L: Ledger>(
    network: &Arc<Network>,
    sender: &Arc<TxSender<L>>,
    signers: &Signers,
    tracking: &mut Tracking,
) -> Result<bool, ChainError> {
    let ledger = sender.ledger();
    let (name, chain_id) = (network.name(), network.chain_id());
    let settings = network.settings();
    let now = now_ms();
    let pending = ledger.pending(name, chain_id, TRACKED).await?;
    let closed_since = now - settings.drop_after.as_millis() as i64;
    let watched = ledger.closed_since(name, chain_id, closed_since, WATCHED).await?;
    if pending.is_empty() && watched.is_empty() {
        tracking.failed_replacements.clear();
        return Ok(false);
    }
    let block = network.latest_block().await?;
    if tracking.last_look.is_some_and(|(seen, at)| seen == block && at.elapsed() < IDLE) {
        return Ok(true);
    }
    tracking.last_look = Some((block, Instant::now()));
    let mut unmined = Vec::new();
    for chunk in pending.chunks(BATCH) {
        let (receipts, mined_counts) = receipts_and_counts(network, chunk, true).await?;
        for (row, receipt) in chunk.iter().zip(receipts) {
            match (receipt, mined_counts.get(&row.sender)) {
                (Some(receipt), _) => {
                    record_receipt(ledger, network, &Mined::of(network, receipt).await).await?;
                }
                (None, Some(&mined_count)) => unmined.push((row.clone(), mined_count)),
                (None, None) => {}
            }
        }
    }
    for chunk in watched.chunks(BATCH) {
        let (receipts, _) = receipts_and_counts(network, chunk, false).await?;
        for (row, receipt) in chunk.iter().zip(receipts) {
            if let Some(receipt) = receipt {
                tracing::warn!(hash = %row.hash, status = row.status.as_str(), "a transaction taken for lost was mined");
                record_receipt(ledger, network, &Mined::of(network, receipt).await).await?;
            }
        }
    }
    let mut waiting = Vec::new();
    for (row, mined_count) in unmined {
        // A receipt found above for another transaction at this nonce already settled this one.
        let current = ledger.find(row.hash).await?;
        if current.is_none_or(|current| current.status != TxStatus::Pending) {
            continue;
        }
        if mined_count > row.nonce {
            // Asked once more alone: a node may answer a batch's calls at different blocks.
            let receipt = network.provider().get_transaction_receipt(row.hash).await;
            match receipt.map_err(|e| network.rpc_error(e))? {
                Some(receipt) => {
                    record_receipt(ledger, network, &Mined::of(network, receipt).await).await?;
                }
                // Its receipt not served yet: the next look reads it.
                None if held(network, row.hash).await? == Held::Mined => {}
                None => drop_row(ledger, &row, "its nonce was used by another transaction").await?,
            }
            continue;
        }
        if now - row.recorded_at >= settings.drop_after.as_millis() as i64
            && held(network, row.hash).await? == Held::Unknown
        {
            drop_row(ledger, &row, "the node no longer knows it").await?;
            continue;
        }
        waiting.push(row);
    }
    if let Some(after) = settings.replace_after {
        replace_stuck(network, sender, signers, waiting, after, &mut tracking.failed_replacements).await?;
    }
    Ok(true)
}

async fn drop_row<L: Ledger>(ledger: &L, row: &LedgerTx, why: &str) -> Result<(), ChainError> {
    if ledger.apply(row.hash, Event::Lost).await? {
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
    failed: &mut HashMap<B256, Instant>,
) -> Result<(), ChainError> {
    let mut newest: BTreeMap<(Address, u64), LedgerTx> = BTreeMap::new();
    for row in waiting {
        let key = (row.sender, row.nonce);
        if newest.get(&key).is_none_or(|held| held.recorded_at < row.recorded_at) {
            newest.insert(key, row);
        }
    }
    failed.retain(|hash, at| at.elapsed() < after && newest.values().any(|row| row.hash == *hash));
    let now = now_ms();
    let mut market: Option<MarketFees> = None;
    for ((from, nonce), row) in newest {
        if now - row.recorded_at < after.as_millis() as i64 || failed.contains_key(&row.hash) {
            continue;
        }
        let market = match market {
            Some(market) => market,
            None => *market.insert(crate::fee_market::read_market_fees(network).await?),
        };
        if !gas::below_market(decode(&row.raw)?.fees, &market) {
            continue;
        }
        let Ok(signer) = signers.get(from) else {
            tracing::warn!(%from, "a stuck transaction cannot be replaced: its wallet is no longer loaded");
            failed.insert(row.hash, Instant::now());
            continue;
        };
        let how = if row.kind == TxKind::Cancel { Replacement::Cancel } else { Replacement::SpeedUp(&row) };
        match sender.replace(network, &signer, nonce, how, Some(row.hash)).await {
            Ok(replacement) => tracing::info!(
                replaced = %row.hash, by = %replacement.hash, nonce, network = network.name(),
                "a transaction stuck under the market's fees was re-sent with higher fees"
            ),
            Err(error) => {
                tracing::warn!(hash = %row.hash, nonce, %error, "a stuck transaction could not be replaced; trying again later");
                failed.insert(row.hash, Instant::now());
            }
        }
    }
    Ok(())
}

/// Each row's receipt and, when `counts`, the mined nonce count of each of their senders, in one round trip.
async fn receipts_and_counts(
    network: &Network,
    rows: &[LedgerTx],
    counts: bool,
) -> Result<(Vec<Option<TransactionReceipt>>, HashMap<Address, u64>), ChainError> {
    let rpc = |e| network.rpc_error(e);
    let mut batch = BatchRequest::new(network.provider().client());
    let mut senders: Vec<Address> = if counts { rows.iter().map(|row| row.sender).collect() } else { vec![] };
    senders.sort();
    senders.dedup();
    let mut count_waiters = Vec::new();
    for &sender in &senders {
        count_waiters
            .push((sender, batch.add_call::<_, U64>("eth_getTransactionCount", &(sender, "latest")).map_err(rpc)?));
    }
    let mut receipt_waiters = Vec::new();
    for row in rows {
        receipt_waiters.push(
            batch.add_call::<_, Option<TransactionReceipt>>("eth_getTransactionReceipt", &(row.hash,)).map_err(rpc)?,
        );
    }
    batch.send().await.map_err(rpc)?;
    let mut mined_counts = HashMap::new();
    for (sender, waiter) in count_waiters {
        mined_counts.insert(sender, waiter.await.map_err(rpc)?.to::<u64>());
    }
    let mut receipts = Vec::with_capacity(rows.len());
    for waiter in receipt_waiters {
        receipts.push(waiter.await.map_err(rpc)?);
    }
    Ok((receipts, mined_counts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(byte: u8) -> B256 {
        B256::repeat_byte(byte)
    }

    fn walked(recorded: &[(u64, B256)], served: &[(u64, B256)], highest: u64) -> (bool, Option<u64>) {
        let mut stale_from = None;
        let served: HashMap<u64, B256> = served.iter().copied().collect();
        (walk_page(recorded, &served, highest, &mut stale_from), stale_from)
    }

    #[test]
    fn a_block_the_node_does_not_serve_below_its_head_tells_nothing() {
        // A load balancer's node behind answers null at 12 and 11; 10 is the chain's: nothing is stale.
        let recorded = [(12, hash(12)), (11, hash(11)), (10, hash(10))];
        assert_eq!(walked(&recorded, &[(10, hash(10))], 12), (true, None));
    }

    #[test]
    fn blocks_the_chain_replaced_are_stale_down_to_the_first_it_kept() {
        let recorded = [(12, hash(12)), (11, hash(11)), (11, hash(0x11)), (10, hash(10))];
        let served = [(12, hash(0xee)), (11, hash(11)), (10, hash(10))];
        // 11 holds one row the chain has and one it does not: that block was replaced too.
        assert_eq!(walked(&recorded, &served, 12), (true, Some(11)));
    }

    #[test]
    fn blocks_past_every_head_seen_are_stale_and_those_past_this_nodes_head_alone_are_not() {
        let recorded = [(20, hash(20)), (15, hash(15)), (10, hash(10))];
        // Seen up to 16: 20 is gone (a chain reset), 15 is past this node's head only.
        assert_eq!(walked(&recorded, &[(10, hash(10))], 16), (true, Some(20)));
        // Nothing the chain still has on this page: the walk goes on below it.
        assert_eq!(walked(&recorded, &[(10, hash(0xaa))], 16), (false, Some(10)));
    }
}
